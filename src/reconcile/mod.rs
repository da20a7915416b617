//! Reconciliation (图斑对比分析): rules × layers → conflict pieces (差异图斑), exact areas,
//! statistics, and the persistent ledger.
//!
//! The layers come from the store's flat indexes ([`crate::store::flat`]): boxes, classes and a
//! packed R-tree in memory, a feature's geometry read only when a pair needs it. Per rule: both
//! sides go through the class prefilter; the smaller side searches the other's R-tree for
//! candidate pairs; subjects are processed in id order, in chunks, each chunk in parallel
//! (rayon); each pair goes through the exact kernel ([`crate::overlay`]); pieces pass the
//! sliver policy; the survivors get ellipsoidal area, town, ledger flags and a stable id, and are
//! streamed — in deterministic order — to the sinks (GeoPackage, ledger, statistics) on the
//! calling thread while the next chunk is computed. Nothing holds all pieces in memory.

pub mod ledger;
pub mod output;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use geo::algorithm::indexed::IntervalTreeMultiPolygon;
use geo::{Buffer, Centroid, Contains, MultiPolygon};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::blueprint::{Blueprint, LoadedLayer};
use crate::codes::{Classification, CodeTables};
use crate::geometry::area;
use crate::layer::LayerRole;
use crate::overlay::{self, Grid, IntPoly, Path, Piece};
use crate::rules::{ClassPredicate, Clause, Rule, RuleSet, SliverPolicy};
use crate::store::{BlueprintVersion, FlatLayer, LayerVersion, Store, StoreError};

#[derive(Debug, Error)]
pub enum ReconcileError {
    #[error("no rule of the rule set can run on this blueprint: {0}")]
    NothingToRun(String),
    #[error("blueprint has no polygon data to reconcile")]
    Empty,
    #[error("writing results: {0}")]
    Output(String),
    #[error("the run was cancelled")]
    Cancelled,
}

/// Run parameters, echoed in every output.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub sliver: SliverPolicy,
    /// Subject features per parallel chunk (memory bound of the pipeline).
    pub chunk: usize,
}

impl Params {
    pub fn new(sliver: SliverPolicy) -> Params {
        Params {
            sliver,
            chunk: 4096,
        }
    }
}

/// Ledger flags of a piece (JBNT, STHX, KFBJ); `None` when not computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PieceFlags {
    /// 细碎: smaller than the fine-area threshold.
    pub fine: bool,
    pub farmland: Option<bool>,
    pub red_line: Option<bool>,
    pub outside_boundary: Option<bool>,
}

impl PieceFlags {
    /// Short text for exports: `细碎;JBNT;STHX;KFBJ外`.
    pub fn label(&self) -> String {
        let mut v = Vec::new();
        if self.fine {
            v.push("细碎");
        }
        if self.farmland == Some(true) {
            v.push("JBNT");
        }
        if self.red_line == Some(true) {
            v.push("STHX");
        }
        if self.outside_boundary == Some(true) {
            v.push("KFBJ外");
        }
        v.join(";")
    }
}

/// One conflict piece (差异图斑).
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictPiece {
    /// Stable id: same rule, source features and geometry give the same id on every run.
    pub conflict_id: String,
    /// rule | subject layer | subject id | other layer | other id: identifies "the same"
    /// conflict across runs when its geometry changed.
    pub key: String,
    pub rule_id: String,
    pub diff_type: String,
    pub category: String,
    pub subject_layer: String,
    pub subject_id: String,
    pub subject_class: String,
    pub other_layer: String,
    /// `None` for `outside` rules (the piece lies outside all features of the other layer).
    pub other_id: Option<String>,
    pub other_class: String,
    pub town_code: String,
    pub town: String,
    pub area_m2: f64,
    pub ellipsoidal_area_m2: f64,
    pub flags: PieceFlags,
    pub geometry: MultiPolygon<f64>,
}

/// A pair the kernel could not process; the run goes on without it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairError {
    pub rule_id: String,
    pub subject_id: String,
    pub other_id: Option<String>,
    pub message: String,
}

/// Count and area of a class of pieces.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Tally {
    pub count: u64,
    pub area_m2: f64,
    pub ellipsoidal_area_m2: f64,
}

impl Tally {
    fn add(&mut self, area: f64, ellipsoidal: f64) {
        self.count += 1;
        self.area_m2 += area;
        self.ellipsoidal_area_m2 += ellipsoidal;
    }
}

/// Statistics of one rule.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RuleStats {
    pub id: String,
    pub name: String,
    pub category: String,
    pub diff_type: String,
    pub severity: String,
    pub subject_layer: String,
    pub other_layer: String,
    pub clause: String,
    pub subject_features: u64,
    pub candidate_pairs: u64,
    pub overlays: u64,
    pub contained: u64,
    /// Kept pieces.
    pub kept: Tally,
    /// Kept pieces flagged 细碎 (a subset of `kept`).
    pub fine: Tally,
    /// Dropped as numerical noise (< min area).
    pub dropped_noise: Tally,
    /// Dropped as boundary slivers (width test).
    pub dropped_sliver: Tally,
    pub errors: u64,
    pub seconds: f64,
}

/// Everything a run reports besides the pieces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub blueprint: String,
    pub params: Params,
    pub grid_exact: bool,
    pub rules: Vec<RuleStats>,
    pub skipped_rules: BTreeMap<String, String>,
    /// (town code, town name) → rule id → tally.
    pub by_town: BTreeMap<String, BTreeMap<String, Tally>>,
    pub town_names: BTreeMap<String, String>,
    /// rule id → "subject class × other class" → tally.
    pub crosstab: BTreeMap<String, BTreeMap<String, Tally>>,
    pub errors: Vec<PairError>,
    /// Ids of the layers the run read: the rules' layers and the town boundaries.
    #[serde(default)]
    pub layers_read: Vec<String>,
    pub seconds: f64,
}

/// Receives the kept pieces in deterministic order, on a thread of its own (hence `Send`).
pub trait Sink: Send {
    fn piece(&mut self, piece: &ConflictPiece) -> Result<(), ReconcileError>;
}

/// Progress callback: (rule id, subjects done, subjects to process). Subjects that meet no
/// feature of an `overlaps` rule's other side are not counted: they have nothing to process.
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

/// A layer as reconciliation reads it: its version and flat index, with the class of every
/// distinct code evaluated once.
#[derive(Debug)]
pub struct Source {
    pub version: LayerVersion,
    pub flat: FlatLayer,
    /// Indexed like the flat index's class table.
    classes: Vec<Option<Arc<Classification>>>,
    /// Feature indices in id order, made when an `outside` rule first takes the layer as its
    /// subject.
    id_order: OnceLock<Vec<usize>>,
}

impl Source {
    pub fn new(version: LayerVersion, flat: FlatLayer) -> Source {
        let sys = version
            .spec
            .class
            .as_ref()
            .and_then(|c| CodeTables::builtin().system(&c.system).ok());
        let classes = flat
            .class_table()
            .iter()
            .map(|raw| sys.map(|s| Arc::new(s.classify(raw))))
            .collect();
        Source {
            version,
            flat,
            classes,
            id_order: OnceLock::new(),
        }
    }

    /// Feature indices in id order, by inverting the ranks (a sort would cost more than a
    /// rule's whole search).
    fn id_order(&self) -> &[usize] {
        self.id_order.get_or_init(|| {
            let mut order = vec![0usize; self.flat.len()];
            for i in 0..self.flat.len() {
                order[self.flat.rank(i) as usize] = i;
            }
            order
        })
    }

    pub fn id(&self) -> &str {
        &self.version.layer_id
    }

    fn classification(&self, i: usize) -> Option<&Classification> {
        self.flat
            .class_of(i)
            .and_then(|c| self.classes[c].as_deref())
    }

    fn mask(&self, p: &ClassPredicate) -> Vec<bool> {
        let per_class: Vec<bool> = self
            .classes
            .iter()
            .map(|c| p.matches(c.as_deref()))
            .collect();
        let unclassed = p.matches(None);
        (0..self.flat.len())
            .map(|i| match self.flat.class_of(i) {
                Some(c) => per_class[c],
                None => unclassed,
            })
            .collect()
    }

    /// `代码 名称` of feature `i`'s class, or its raw code when the code table does not name it.
    fn class_text(&self, i: usize) -> String {
        let raw = self
            .flat
            .class_of(i)
            .map(|c| self.flat.class_table()[c].as_str());
        match (self.classification(i), raw) {
            (Some(cl), _) if !cl.name.is_empty() => format!("{} {}", cl.raw.trim(), cl.name),
            (_, Some(raw)) => raw.to_string(),
            _ => String::new(),
        }
    }
}

/// The layers a run reads, by id.
#[derive(Debug, Default)]
pub struct Sources {
    layers: HashMap<String, Arc<Source>>,
}

impl Sources {
    /// Opens the flat indexes of the layers `rules` read (those the blueprint has), building any
    /// that is missing.
    pub fn open(
        store: &Store,
        meta: &BlueprintVersion,
        rules: &RuleSet,
    ) -> Result<Sources, StoreError> {
        let needed = rules.layers();
        let layers = meta
            .layers
            .par_iter()
            .filter(|v| needed.contains(&v.layer_id))
            .map(|v| {
                let flat = store.flat_layer(&v.hash)?;
                Ok((v.layer_id.clone(), Arc::new(Source::new(v.clone(), flat))))
            })
            .collect::<Result<HashMap<_, _>, StoreError>>()?;
        Ok(Sources { layers })
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Source>> {
        self.layers.get(id)
    }

    fn extent(&self) -> Option<geo::Rect<f64>> {
        self.layers
            .values()
            .filter_map(|s| s.flat.extent())
            .reduce(crate::layer::union_rect)
    }
}

/// A feature read for this run: its id and its polygons on the run's grid.
struct Loaded {
    id: String,
    poly: Option<IntPoly>,
}

/// A source with the features this run has read so far (each read once, on first use).
struct RunLayer {
    source: Arc<Source>,
    grid: Grid,
    /// Boxed: a run reads a few thousand of a layer's 10⁵ features, and empty slots stay small.
    loaded: Vec<OnceLock<Box<Result<Loaded, String>>>>,
}

impl RunLayer {
    fn new(source: &Arc<Source>, grid: Grid) -> RunLayer {
        RunLayer {
            source: source.clone(),
            grid,
            loaded: (0..source.flat.len()).map(|_| OnceLock::new()).collect(),
        }
    }

    fn get(&self, i: usize) -> Result<&Loaded, &str> {
        self.loaded[i]
            .get_or_init(|| {
                Box::new(
                    self.source
                        .flat
                        .feature(i)
                        .map(|f| Loaded {
                            poly: IntPoly::from_multipolygon(&f.polygons, &self.grid),
                            id: f.id,
                        })
                        .map_err(|e| e.to_string()),
                )
            })
            .as_ref()
            .as_ref()
            .map_err(String::as_str)
    }

    /// Features whose box meets the grid box of `piece`.
    fn candidates(&self, piece: &IntPoly) -> Vec<usize> {
        let r = rect_of(&self.grid, piece);
        let mut out = Vec::new();
        self.source
            .flat
            .search(&[r.min().x, r.min().y, r.max().x, r.max().y], |j| {
                out.push(j)
            });
        out
    }
}

/// Shared, read-only state of a run.
struct Context<'a> {
    bp: &'a Blueprint,
    grid: Grid,
    params: Params,
    layers: HashMap<String, Arc<RunLayer>>,
    towns: Option<Towns>,
    flags: FlagSources,
}

struct Towns {
    layer: Arc<LoadedLayer>,
    code_field: Option<usize>,
    name_field: Option<usize>,
    /// Each town's polygons indexed for point location, made when a piece first falls in its
    /// box: a town boundary has thousands of vertices and every kept piece asks.
    located: Vec<OnceLock<Option<IntervalTreeMultiPolygon<f64>>>>,
}

impl Towns {
    fn find(bp: &Blueprint) -> Option<Towns> {
        let layer = bp.by_role(LayerRole::Boundary).next()?.clone();
        let pick = |key: &str, defaults: &[&str]| {
            layer
                .spec()
                .field(key)
                .and_then(|f| layer.data.field_index(f))
                .or_else(|| defaults.iter().find_map(|d| layer.data.field_index(d)))
        };
        let code_field = pick("code", &["XZQDM", "ZLDWDM", "code"]);
        let name_field = pick("name", &["XZQMC", "ZLDWMC", "name"]);
        let located = (0..layer.data.features.len())
            .map(|_| OnceLock::new())
            .collect();
        Some(Towns {
            layer,
            code_field,
            name_field,
            located,
        })
    }

    /// The town containing the piece's centroid (by code and name).
    fn locate(&self, mp: &MultiPolygon<f64>) -> (String, String) {
        let Some(c) = mp.centroid() else {
            return (String::new(), String::new());
        };
        let rect = geo::Rect::new(c.0, c.0);
        for i in self.layer.index.candidates(&rect) {
            let f = &self.layer.data.features[i];
            let town = self.located[i]
                .get_or_init(|| f.geom.as_polygons().map(IntervalTreeMultiPolygon::new));
            if town.as_ref().is_some_and(|t| t.contains(&c)) {
                let text = |field: Option<usize>| {
                    field
                        .and_then(|k| f.attrs.get(k))
                        .map(|v| v.to_string())
                        .unwrap_or_default()
                };
                let code = match self.code_field {
                    Some(_) => text(self.code_field),
                    None => f.id.clone(),
                };
                return (code, text(self.name_field));
            }
        }
        (String::new(), "（辖区外）".to_string())
    }
}

/// The layers behind the ledger flags.
struct FlagSources {
    farmland: Option<Arc<RunLayer>>,
    red_line: Option<Arc<RunLayer>>,
    boundary: Option<Arc<RunLayer>>,
}

impl Context<'_> {
    /// The polygons of `layer` whose boxes meet the piece's; `None` when one cannot be read
    /// (the flag is then left unset rather than guessed).
    fn flag_candidates<'l>(
        &self,
        piece: &IntPoly,
        layer: &'l RunLayer,
    ) -> Option<Vec<&'l IntPoly>> {
        let mut out = Vec::new();
        for j in layer.candidates(piece) {
            if let Some(p) = layer.get(j).ok()?.poly.as_ref() {
                out.push(p);
            }
        }
        Some(out)
    }

    /// Whether a piece overlaps (by ≥ the noise floor) any feature of `layer`.
    fn overlaps_layer(&self, piece: &IntPoly, layer: &RunLayer) -> Option<bool> {
        let floor = self.params.sliver.min_area_m2;
        let others = self.flag_candidates(piece, layer)?;
        Some(others.into_iter().any(|o| {
            overlay::intersection(piece, o, &self.grid)
                .map(|(p, _)| p.area_m2(&self.grid) >= floor)
                .unwrap_or(false)
        }))
    }

    /// Whether part of the piece (≥ the noise floor) lies outside every feature of `layer`.
    fn outside_layer(&self, piece: &IntPoly, layer: &RunLayer) -> Option<bool> {
        let others = self.flag_candidates(piece, layer)?;
        Some(
            overlay::difference(piece, &others, &self.grid)
                .map(|(p, _)| p.area_m2(&self.grid) >= self.params.sliver.min_area_m2)
                .unwrap_or(false),
        )
    }
}

fn rect_of(grid: &Grid, p: &IntPoly) -> geo::Rect<f64> {
    let a = grid.to_f64(i_overlay::i_float::int::point::IntPoint::new(
        p.bbox.min_x,
        p.bbox.min_y,
    ));
    let b = grid.to_f64(i_overlay::i_float::int::point::IntPoint::new(
        p.bbox.max_x,
        p.bbox.max_y,
    ));
    geo::Rect::new(a, b)
}

fn piece_int(piece: &Piece, grid: &Grid) -> Option<IntPoly> {
    let rings: Vec<Vec<_>> = piece.shapes.iter().flatten().cloned().collect();
    let bbox = overlay::IRect::of_rings(&rings)?;
    let _ = grid;
    Some(IntPoly {
        rings,
        bbox,
        twice_area: piece.twice_area,
    })
}

/// Stable identity of a piece: sha256 over the rule, both source features and the geometry at
/// millimetre resolution.
fn conflict_id(key: &str, mp: &MultiPolygon<f64>) -> String {
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    for poly in &mp.0 {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            h.update(b"|");
            for c in &ring.0 {
                h.update(((c.x * 1000.0).round() as i64).to_le_bytes());
                h.update(((c.y * 1000.0).round() as i64).to_le_bytes());
            }
        }
    }
    let digest = h.finalize();
    format!("CT{}", hex::encode(&digest[..8]).to_uppercase())
}

/// The sliver verdict of a piece.
enum Verdict {
    Noise,
    Sliver,
    Keep { fine: bool },
}

fn judge(piece: &Piece, grid: &Grid, policy: &SliverPolicy) -> Verdict {
    let area = piece.area_m2(grid);
    if area < policy.min_area_m2 || piece.is_empty() {
        return Verdict::Noise;
    }
    if policy.min_width_m > 0.0 {
        // A piece that vanishes under erosion by w/2 has all its area within w/2 of its
        // boundary, so A ≤ P·w/2. Only pieces with 2A/P ≤ w can be slivers; only they pay for
        // the buffer.
        let perimeter = piece.perimeter_m(grid);
        if perimeter > 0.0 && 2.0 * area / perimeter <= policy.min_width_m {
            let mp = piece.to_multipolygon(grid);
            let eroded = mp.buffer(-policy.min_width_m / 2.0);
            if eroded.0.is_empty() || geo::Area::unsigned_area(&eroded) <= 0.0 {
                return Verdict::Sliver;
            }
        }
    }
    Verdict::Keep {
        fine: area < policy.fine_area_m2,
    }
}

/// The raw result of one subject feature under one rule.
enum Outcome {
    Kept(Box<ConflictPiece>),
    Noise(f64, f64),
    Sliver(f64, f64),
    Error(PairError),
    Stats {
        pairs: u64,
        overlays: u64,
        contained: u64,
    },
}

struct RuleRun<'r> {
    rule: &'r Rule,
    policy: SliverPolicy,
    subject: Arc<RunLayer>,
    other: Arc<RunLayer>,
    /// The same layer on both sides: a feature is never paired with itself.
    same_layer: bool,
}

/// A subject feature to process and the other features whose boxes meet its box, both sides
/// already through the class prefilter; others in id order.
struct Work {
    subject: usize,
    others: Vec<usize>,
}

/// The indices where `mask` is set (sized once: growing a vector of 10⁵ indices by doubling
/// faulted in several fresh megabytes).
fn selected(mask: &[bool]) -> Vec<usize> {
    let mut out = Vec::with_capacity(mask.iter().filter(|&&m| m).count());
    out.extend((0..mask.len()).filter(|&i| mask[i]));
    out
}

/// The rule's work list in subject id order. The side with fewer features left by the class
/// prefilter walks its features and searches the other side's packed R-tree: a rule on 77 000
/// construction parcels against 13 000 non-construction zones makes 13 000 searches, not 77 000.
fn plan_work(
    run: &RuleRun<'_>,
    subject_mask: &[bool],
    other_mask: &[bool],
    subject_count: usize,
) -> Vec<Work> {
    let (s, o) = (&run.subject.source.flat, &run.other.source.flat);
    let others = selected(other_mask);
    // Features of `walked` whose boxes meet a feature of `searched` kept by `mask`, as
    // (walked, searched) pairs.
    let join = |walked: &[usize], from: &FlatLayer, searched: &FlatLayer, mask: &[bool]| {
        walked
            .par_iter()
            .flat_map_iter(|&w| {
                let mut found = Vec::new();
                searched.search(&from.bbox(w), |f| {
                    if mask[f] && !(run.same_layer && w == f) {
                        found.push((w, f));
                    }
                });
                found
            })
            .collect::<Vec<(usize, usize)>>()
    };
    // The pairs are sorted below, so either side is walked in index order.
    let mut pairs = if others.len() < subject_count {
        join(&others, o, s, subject_mask)
            .into_iter()
            .map(|(j, i)| (i, j))
            .collect()
    } else {
        join(&selected(subject_mask), s, o, other_mask)
    };
    pairs.par_sort_unstable_by_key(|&(i, j)| (s.rank(i), o.rank(j)));
    let mut work: Vec<Work> = Vec::new();
    for (i, j) in pairs {
        match work.last_mut() {
            Some(w) if w.subject == i => w.others.push(j),
            _ => work.push(Work {
                subject: i,
                others: vec![j],
            }),
        }
    }
    if run.rule.clause() == Clause::Outside {
        // Every subject counts, met by another feature or not: its whole area may lie outside.
        let mut met = work.into_iter().peekable();
        let mut all = Vec::with_capacity(subject_count);
        let subjects = run.subject.source.id_order().iter().copied();
        for i in subjects.filter(|&i| subject_mask[i]) {
            match met.peek() {
                Some(w) if w.subject == i => all.extend(met.next()),
                _ => all.push(Work {
                    subject: i,
                    others: Vec::new(),
                }),
            }
        }
        work = all;
    }
    work
}

fn process_subject(ctx: &Context<'_>, run: &RuleRun<'_>, work: &Work) -> Vec<Outcome> {
    let mut out = Vec::new();
    let grid = &ctx.grid;
    let i = work.subject;
    let error = |subject_id: String, other_id: Option<String>, message: String| {
        Outcome::Error(PairError {
            rule_id: run.rule.id.clone(),
            subject_id,
            other_id,
            message,
        })
    };
    let sf = match run.subject.get(i) {
        Ok(l) => l,
        Err(e) => {
            out.push(error(String::new(), None, e.to_string()));
            return out;
        }
    };
    let Some(subject) = sf.poly.as_ref() else {
        return out;
    };
    let mut candidates: Vec<(usize, &Loaded, &IntPoly)> = Vec::with_capacity(work.others.len());
    let mut unreadable = false;
    for &j in &work.others {
        match run.other.get(j) {
            Ok(l) => {
                if let Some(p) = l.poly.as_ref() {
                    candidates.push((j, l, p));
                }
            }
            Err(e) => {
                unreadable = true;
                out.push(error(sf.id.clone(), None, e.to_string()));
            }
        }
    }
    // A difference against only the readable features would report area an unreadable one
    // covers: the subject is reported as an error instead.
    if unreadable && run.rule.clause() == Clause::Outside {
        return out;
    }
    let (mut overlays, mut contained) = (0u64, 0u64);
    // (the other feature, or None for a difference against all of them; the kernel's answer)
    type PairResult<'l> = (Option<(usize, &'l Loaded)>, Result<(Piece, Path), String>);
    let mut results: Vec<PairResult<'_>> = Vec::new();
    match run.rule.clause() {
        Clause::Overlaps => {
            for &(j, l, o) in &candidates {
                results.push((Some((j, l)), overlay::intersection(subject, o, grid)));
            }
        }
        Clause::Outside => {
            let others: Vec<&IntPoly> = candidates.iter().map(|c| c.2).collect();
            results.push((None, overlay::difference(subject, &others, grid)));
        }
    }
    out.push(Outcome::Stats {
        pairs: candidates.len() as u64,
        overlays: 0,
        contained: 0,
    });
    for (other, r) in results {
        let other_id = other.map(|(_, l)| l.id.clone());
        let (piece, path) = match r {
            Ok(x) => x,
            Err(message) => {
                out.push(error(sf.id.clone(), other_id, message));
                continue;
            }
        };
        match path {
            Path::Overlay => overlays += 1,
            Path::Contained => contained += 1,
            Path::Disjoint => {}
        }
        if piece.is_empty() {
            continue;
        }
        match judge(&piece, grid, &run.policy) {
            Verdict::Noise => {
                let a = piece.area_m2(grid);
                out.push(Outcome::Noise(a, a));
            }
            Verdict::Sliver => {
                let mp = piece.to_multipolygon(grid);
                let e = area::ellipsoidal_area(&mp, &ctx.bp.zone);
                out.push(Outcome::Sliver(piece.area_m2(grid), e));
            }
            Verdict::Keep { fine } => {
                let mp = piece.to_multipolygon(grid);
                let area_m2 = piece.area_m2(grid);
                let ellipsoidal_area_m2 = area::ellipsoidal_area(&mp, &ctx.bp.zone);
                let (town_code, town) = match &ctx.towns {
                    Some(t) => t.locate(&mp),
                    None => (String::new(), String::new()),
                };
                let mut flags = PieceFlags {
                    fine,
                    ..PieceFlags::default()
                };
                if run.rule.flags
                    && let Some(pi) = piece_int(&piece, grid)
                {
                    if let Some(l) = &ctx.flags.farmland {
                        flags.farmland = ctx.overlaps_layer(&pi, l);
                    }
                    if let Some(l) = &ctx.flags.red_line {
                        flags.red_line = ctx.overlaps_layer(&pi, l);
                    }
                    if let Some(l) = &ctx.flags.boundary {
                        flags.outside_boundary = ctx.outside_layer(&pi, l);
                    }
                }
                let subject_layer = run.subject.source.id();
                let other_layer = run.other.source.id().to_string();
                let key = format!(
                    "{}|{}|{}|{}|{}",
                    run.rule.id,
                    subject_layer,
                    sf.id,
                    other_layer,
                    other_id.as_deref().unwrap_or("")
                );
                let other_class = other
                    .map(|(j, _)| run.other.source.class_text(j))
                    .unwrap_or_default();
                out.push(Outcome::Kept(Box::new(ConflictPiece {
                    conflict_id: conflict_id(&key, &mp),
                    key,
                    rule_id: run.rule.id.clone(),
                    diff_type: run.rule.diff_type.clone(),
                    category: run.rule.category.clone(),
                    subject_layer: subject_layer.to_string(),
                    subject_id: sf.id.clone(),
                    subject_class: run.subject.source.class_text(i),
                    other_layer,
                    other_id,
                    other_class,
                    town_code,
                    town,
                    area_m2,
                    ellipsoidal_area_m2,
                    flags,
                    geometry: mp,
                })));
            }
        }
    }
    if let Some(Outcome::Stats {
        overlays: o,
        contained: c,
        ..
    }) = out.iter_mut().find(|o| matches!(o, Outcome::Stats { .. }))
    {
        *o = overlays;
        *c = contained;
    }
    out
}

/// Runs every rule of `rules` that `sources` can serve, streaming pieces to `sink`. `bp` gives
/// the working CRS, the town boundaries and the blueprint's identity; `sources` the layers the
/// rules read (see [`Sources::open`]).
pub fn reconcile(
    bp: &Blueprint,
    sources: &Sources,
    rules: &RuleSet,
    params: Params,
    sink: &mut dyn Sink,
    progress: Progress<'_>,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<RunReport, ReconcileError> {
    let started = Instant::now();
    let (runnable, skipped) =
        rules.resolve(&|id| sources.get(id).map(|s| (s.flat.kind(), &s.version.spec)));
    if runnable.is_empty() {
        return Err(ReconcileError::NothingToRun(
            skipped
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("; "),
        ));
    }
    // One grid for every layer the run sees, so every feature converts once.
    let Some(extent) = [bp.extent, sources.extent()]
        .into_iter()
        .flatten()
        .reduce(crate::layer::union_rect)
    else {
        return Err(ReconcileError::Empty);
    };
    let grid = Grid::for_bbox(&extent);

    let layers: HashMap<String, Arc<RunLayer>> = sources
        .layers
        .iter()
        .map(|(id, s)| (id.clone(), Arc::new(RunLayer::new(s, grid))))
        .collect();
    let flag_layer = |id: &Option<String>| id.as_ref().and_then(|i| layers.get(i)).cloned();
    let flags = FlagSources {
        farmland: flag_layer(&rules.flags.farmland),
        red_line: flag_layer(&rules.flags.red_line),
        boundary: flag_layer(&rules.flags.boundary),
    };
    let ctx = Context {
        bp,
        grid,
        params,
        layers,
        towns: Towns::find(bp),
        flags,
    };

    let mut report = RunReport {
        blueprint: bp.label(),
        params,
        grid_exact: grid.exact,
        rules: Vec::new(),
        skipped_rules: skipped,
        by_town: BTreeMap::new(),
        town_names: BTreeMap::new(),
        crosstab: BTreeMap::new(),
        errors: Vec::new(),
        layers_read: {
            let mut ids: Vec<String> = ctx.layers.keys().cloned().collect();
            ids.extend(ctx.towns.as_ref().map(|t| t.layer.id().to_string()));
            ids.sort();
            ids
        },
        seconds: 0.0,
    };

    for rule in &runnable {
        let rule_started = Instant::now();
        let (Some(subject), Some(other)) = (
            ctx.layers.get(&rule.subject.layer),
            ctx.layers.get(&rule.other().layer),
        ) else {
            continue;
        };
        let run = RuleRun {
            rule,
            policy: rule.sliver.unwrap_or(params.sliver),
            subject: subject.clone(),
            other: other.clone(),
            same_layer: Arc::ptr_eq(subject, other),
        };
        let subject_mask = subject.source.mask(&rule.subject.predicate);
        let other_mask = other.source.mask(&rule.other().predicate);
        let subject_count = subject_mask.iter().filter(|&&m| m).count();
        let work = plan_work(&run, &subject_mask, &other_mask, subject_count);
        let mut stats = RuleStats {
            id: rule.id.clone(),
            name: rule.name.clone(),
            category: rule.category.clone(),
            diff_type: rule.diff_type.clone(),
            severity: rule.severity.label().to_string(),
            subject_layer: subject.source.id().to_string(),
            other_layer: other.source.id().to_string(),
            clause: rule.clause().label().to_string(),
            subject_features: subject_count as u64,
            ..RuleStats::default()
        };
        let total = work.len() as u64;
        // Several chunks even for a short list, so writing one overlaps computing the next.
        let chunk = params.chunk.min(work.len().div_ceil(32)).max(16);
        // Compute chunk k+1 while chunk k is written. The rayon work stays on this thread, so it
        // runs in whatever pool the caller installed (the server's low-priority pool for jobs);
        // a scoped thread consumes in order.
        let (tx, rx) = sync_channel::<Vec<Vec<Outcome>>>(2);
        let mut write_error: Option<ReconcileError> = None;
        std::thread::scope(|scope| {
            let stats = &mut stats;
            let report = &mut report;
            let write_error = &mut write_error;
            let sink = &mut *sink;
            scope.spawn(move || {
                let mut done = 0u64;
                progress(&rule.id, 0, total);
                for results in rx {
                    done += results.len() as u64;
                    for outcomes in results {
                        for o in outcomes {
                            match o {
                                Outcome::Stats {
                                    pairs,
                                    overlays,
                                    contained,
                                } => {
                                    stats.candidate_pairs += pairs;
                                    stats.overlays += overlays;
                                    stats.contained += contained;
                                }
                                Outcome::Noise(a, e) => stats.dropped_noise.add(a, e),
                                Outcome::Sliver(a, e) => stats.dropped_sliver.add(a, e),
                                Outcome::Error(e) => {
                                    stats.errors += 1;
                                    report.errors.push(e);
                                }
                                Outcome::Kept(p) => {
                                    stats.kept.add(p.area_m2, p.ellipsoidal_area_m2);
                                    if p.flags.fine {
                                        stats.fine.add(p.area_m2, p.ellipsoidal_area_m2);
                                    }
                                    report
                                        .by_town
                                        .entry(p.town_code.clone())
                                        .or_default()
                                        .entry(rule.id.clone())
                                        .or_default()
                                        .add(p.area_m2, p.ellipsoidal_area_m2);
                                    report
                                        .town_names
                                        .entry(p.town_code.clone())
                                        .or_insert_with(|| p.town.clone());
                                    if rule.crosstab {
                                        report
                                            .crosstab
                                            .entry(rule.id.clone())
                                            .or_default()
                                            .entry(format!(
                                                "{} × {}",
                                                p.subject_class, p.other_class
                                            ))
                                            .or_default()
                                            .add(p.area_m2, p.ellipsoidal_area_m2);
                                    }
                                    if write_error.is_none()
                                        && let Err(e) = sink.piece(&p)
                                    {
                                        *write_error = Some(e);
                                    }
                                }
                            }
                        }
                    }
                    progress(&rule.id, done, total);
                    if write_error.is_some() {
                        // Dropping the receiver stops the producer.
                        break;
                    }
                }
            });
            for slice in work.chunks(chunk) {
                if cancelled() {
                    break;
                }
                let results: Vec<Vec<Outcome>> = slice
                    .par_iter()
                    .map(|w| process_subject(&ctx, &run, w))
                    .collect();
                if tx.send(results).is_err() {
                    break;
                }
            }
            drop(tx);
        });
        if let Some(e) = write_error {
            return Err(e);
        }
        if cancelled() {
            return Err(ReconcileError::Cancelled);
        }
        stats.seconds = rule_started.elapsed().as_secs_f64();
        report.rules.push(stats);
    }
    report.seconds = started.elapsed().as_secs_f64();
    // Freeing the features read (one slot per feature of every layer, each one read a set of
    // rings) took ~2 % of a short run's instructions; nothing reads them any more, so a helper
    // thread frees them while the caller writes its outputs (if no thread can be started, the
    // closure and what it holds are dropped here). The thread only frees; it may still be
    // running when a short-lived CLI process exits, which is harmless.
    let Context { layers, flags, .. } = ctx;
    let _ = std::thread::Builder::new()
        .name("reconcile-free".into())
        .spawn(move || drop((layers, flags)));
    Ok(report)
}
