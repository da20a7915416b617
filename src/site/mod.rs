//! Site check: one candidate site against every layer of a loaded blueprint.
//!
//! Polygon layers give exact overlaps (the reconcile kernel, planar and ellipsoidal area, share
//! of the site), grouped by class; point and line layers give distance hits (a tree's protection
//! radius, a hazardous site's safety distance, a heritage site's protection range and 建设控制地带,
//! a pipeline crossing the site or within its clearance); assessment layers give coverage with
//! validity. The checklist turns this analysis into verdicts and items.
//!
//! Semantic fields come from each layer's `[layer.fields]` mapping: `radius_m`, `control_m`,
//! `safety_m`, `clearance_m`, `name`, `kind`, `level`, `diameter_mm`, `voltage_kv`, `pressure`,
//! `valid_until`, `report_no`, `approver`, `approval_date`, `conclusion`, `indicator_name`,
//! `indicator_value`, and the 控规 indicators `far_min`, `far_max`, `density_max`, `green_min`,
//! `height_max`.

pub mod input;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use geo::{
    Area, BooleanOps, Contains, Coord, Distance, Euclidean, Intersects, LineString,
    MultiLineString, MultiPolygon, Point,
};
use serde::{Deserialize, Serialize};

use crate::blueprint::{Blueprint, LoadedLayer};
use crate::geometry::area;
use crate::layer::{Geom, GeomKind, LayerRole, Value};
use crate::overlay::convex::{ClipScratch, ConvexSite};
use crate::overlay::prepared::PreparedLayer;
use crate::overlay::{self, IntPoly};

/// A candidate site in the working CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub geometry: MultiPolygon<f64>,
}

/// Run parameters of a site check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SiteParams {
    /// Distance within which a pipeline is reported when no `clearance_m` field says otherwise.
    pub pipeline_clearance_m: f64,
    /// Overlaps smaller than this are boundary noise between independently drawn lines.
    pub min_overlap_m2: f64,
    /// The date validity is judged on (YYYY-MM-DD).
    pub today: chrono::NaiveDate,
}

impl SiteParams {
    pub fn new(today: chrono::NaiveDate) -> SiteParams {
        SiteParams {
            pipeline_clearance_m: 5.0,
            min_overlap_m2: 0.01,
            today,
        }
    }
}

/// One feature a site overlaps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureOverlap {
    pub feature_id: String,
    /// Shared with the layer's class table (a site meets a handful of classes).
    pub class_code: Arc<str>,
    pub class_name: Arc<str>,
    pub area_m2: f64,
    pub ellipsoidal_area_m2: f64,
    /// Share of the site's area, 0–1.
    pub share_of_site: f64,
    /// Share of the feature's own area, 0–1.
    pub share_of_feature: f64,
    /// The feature's semantic fields (name, kind, indicators …) by semantic key.
    pub fields: BTreeMap<String, Value>,
}

/// Area of a class within the site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassArea {
    pub code: String,
    pub name: String,
    pub area_m2: f64,
    pub ellipsoidal_area_m2: f64,
    pub share_of_site: f64,
}

/// Everything one polygon layer says about the site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerOverlap {
    pub layer: String,
    pub title: String,
    pub role: LayerRole,
    pub version: i64,
    pub hash: String,
    pub area_m2: f64,
    pub ellipsoidal_area_m2: f64,
    pub share_of_site: f64,
    pub by_class: Vec<ClassArea>,
    pub features: Vec<FeatureOverlap>,
}

/// A point or line feature near the site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProximityHit {
    pub layer: String,
    pub title: String,
    pub feature_id: String,
    /// 0 when the feature lies inside or crosses the site.
    pub distance_m: f64,
    /// The distance rule that applies (`radius_m`, `control_m`, `safety_m`, `clearance_m`) and its
    /// value for this feature.
    pub rule: String,
    pub limit_m: f64,
    /// Length of a line inside the site (pipelines crossing it).
    pub length_inside_m: f64,
    pub fields: BTreeMap<String, Value>,
}

/// Coverage of the site by one regional-assessment polygon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentHit {
    pub layer: String,
    pub feature_id: String,
    pub kind: String,
    pub share_of_site: f64,
    pub valid_until: Option<String>,
    pub valid: bool,
    pub fields: BTreeMap<String, Value>,
}

/// The analysis of one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteAnalysis {
    pub site_id: String,
    pub site_name: String,
    pub blueprint: String,
    pub area_m2: f64,
    pub ellipsoidal_area_m2: f64,
    /// A point inside the site (the SPGL `xmjsddx/xmjsddy`), in the working CRS.
    pub point: (f64, f64),
    pub overlaps: Vec<LayerOverlap>,
    pub proximity: Vec<ProximityHit>,
    pub assessments: Vec<AssessmentHit>,
    pub params: SiteParams,
    pub micros: u64,
}

impl SiteAnalysis {
    pub fn layer(&self, id: &str) -> Option<&LayerOverlap> {
        self.overlaps.iter().find(|l| l.layer == id)
    }
}

fn semantic_fields(layer: &LoadedLayer, i: usize) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (key, field) in &layer.spec().fields {
        let v = layer.data.attr(i, field);
        if !v.is_null() {
            out.insert(key.clone(), v.clone());
        }
    }
    out
}

thread_local! {
    /// Buffers of the convex clip, reused by every pair a worker thread clips.
    static SCRATCH: std::cell::Cell<ClipScratch> = std::cell::Cell::new(ClipScratch::default());
    /// The candidate features of the layer being checked, reused across checks.
    static CANDIDATES: std::cell::Cell<Vec<usize>> = const { std::cell::Cell::new(Vec::new()) };
}

/// A site on the kernel's grid, made once per check and shared by every layer it meets.
pub struct SiteShape {
    pub poly: IntPoly,
    pub rect: geo::Rect<f64>,
    /// The site's area, denominator of every share.
    pub area_m2: f64,
    /// Convex sites (most are) are clipped directly; others go through the exact overlay.
    convex: Option<ConvexSite>,
    /// The ellipsoidal-area series at the site's centre, shared by every piece clipped to it.
    scale: area::LocalScale,
}

impl SiteShape {
    pub fn new(site: &MultiPolygon<f64>, grid: &overlay::Grid, area_m2: f64) -> Option<SiteShape> {
        let poly = IntPoly::from_multipolygon(site, grid)?;
        let rect = geo::BoundingRect::bounding_rect(site)?;
        let convex = ConvexSite::new(&poly, grid);
        Some(SiteShape {
            poly,
            scale: area::LocalScale::at(rect.center().y),
            rect,
            area_m2,
            convex,
        })
    }
}

/// Overlaps of the site with one polygon layer, through the exact kernel.
pub fn overlap_layer(
    bp: &Blueprint,
    layer: &LoadedLayer,
    shape: &SiteShape,
    min_overlap_m2: f64,
    detail: bool,
) -> LayerOverlap {
    let grid = &bp.grid;
    let prepared = layer.prepared(grid);
    let (site, site_area, convex) = (&shape.poly, shape.area_m2, &shape.convex);
    let mut features = Vec::new();
    // A layer `prepared` refused (too large for 32-bit indices) is prepared per feature, per query.
    let mut single = None;
    let mut scratch = SCRATCH.take();
    let mut candidates = CANDIDATES.take();
    candidates.clear();
    candidates.extend(layer.index.candidates(&shape.rect));
    if let Some(p) = prepared {
        p.warm(&candidates);
    }
    for &j in &candidates {
        let f = &layer.data.features[j];
        let (prepared, k) = match prepared {
            Some(p) => (p, j),
            None => {
                let one =
                    PreparedLayer::new(std::slice::from_ref(f), *grid, |c| layer.class_name(c));
                match one {
                    Some(one) => (&*single.insert(one), 0),
                    None => continue,
                }
            }
        };
        let Some(prep) = prepared.poly(k) else {
            continue;
        };
        let (mut a, mut e) = (0.0, 0.0);
        let inside = convex
            .as_ref()
            .is_some_and(|c| c.contains_rect(&prep.bbox, grid));
        if inside {
            let whole = prep.ellipsoidal_m2(|| {
                f.geom
                    .as_polygons()
                    .map_or(0.0, |mp| area::ellipsoidal_area(mp, &bp.zone))
            });
            (a, e) = (prep.area_m2, whole);
        }
        for part in prepared.parts(prep, site.bbox).filter(|_| !inside) {
            match &convex {
                Some(c) => {
                    a += c.clip(
                        prepared.rings(part),
                        &part.bbox,
                        grid,
                        &mut scratch,
                        |ring| {
                            e += area::signed_ring_areas_near(ring, &bp.zone, &shape.scale)
                                .ellipsoidal_m2;
                        },
                    );
                }
                None => {
                    let part = prepared.to_int_poly(part);
                    let Ok((piece, _)) = overlay::intersection(site, &part, grid) else {
                        continue;
                    };
                    let pa = piece.area_m2(grid);
                    if pa > 0.0 {
                        a += pa;
                        e += area::ellipsoidal_area(&piece.to_multipolygon(grid), &bp.zone);
                    }
                }
            }
        }
        if a < min_overlap_m2 {
            continue;
        }
        let (code, name) = prepared
            .class_index(prep)
            .and_then(|k| prepared.class(k))
            .cloned()
            .unwrap_or_else(|| (Arc::from(""), Arc::from("")));
        let feature_area = prep.area_m2;
        features.push(FeatureOverlap {
            feature_id: prepared.id(prep).to_string(),
            class_code: code,
            class_name: name,
            area_m2: a,
            ellipsoidal_area_m2: e,
            share_of_site: if site_area > 0.0 { a / site_area } else { 0.0 },
            share_of_feature: if feature_area > 0.0 {
                a / feature_area
            } else {
                0.0
            },
            fields: if detail {
                semantic_fields(layer, j)
            } else {
                BTreeMap::new()
            },
        });
    }
    CANDIDATES.set(candidates);
    SCRATCH.set(scratch);
    features.sort_by(|a, b| {
        b.area_m2
            .total_cmp(&a.area_m2)
            .then_with(|| a.feature_id.cmp(&b.feature_id))
    });
    // A site meets a handful of classes: a linear scan.
    // ((code, name), (planar, ellipsoidal))
    type ClassSums<'a> = ((&'a Arc<str>, &'a Arc<str>), (f64, f64));
    let mut by_class: Vec<ClassSums> = Vec::new();
    for f in &features {
        let key = (&f.class_code, &f.class_name);
        let i = match by_class.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                by_class.push((key, (0.0, 0.0)));
                by_class.len() - 1
            }
        };
        by_class[i].1.0 += f.area_m2;
        by_class[i].1.1 += f.ellipsoidal_area_m2;
    }
    by_class.sort_by(|a, b| a.0.cmp(&b.0));
    // A fold from +0.0: `Sum for f64` starts at -0.0, which would print as "-0.0" for no overlap.
    let area_m2 = features.iter().fold(0.0, |s, f| s + f.area_m2);
    let ellipsoidal = features.iter().fold(0.0, |s, f| s + f.ellipsoidal_area_m2);
    let mut classes: Vec<ClassArea> = by_class
        .into_iter()
        .map(|((code, name), (a, e))| ClassArea {
            code: code.to_string(),
            name: name.to_string(),
            area_m2: a,
            ellipsoidal_area_m2: e,
            share_of_site: if site_area > 0.0 { a / site_area } else { 0.0 },
        })
        .collect();
    classes.sort_by(|a, b| b.area_m2.total_cmp(&a.area_m2));
    LayerOverlap {
        layer: layer.id().to_string(),
        title: layer.spec().display_title().to_string(),
        role: layer.role(),
        version: layer.version.seq,
        hash: layer.version.hash.clone(),
        area_m2,
        ellipsoidal_area_m2: ellipsoidal,
        share_of_site: if site_area > 0.0 {
            area_m2 / site_area
        } else {
            0.0
        },
        by_class: classes,
        features,
    }
}

fn field_f64(layer: &LoadedLayer, i: usize, key: &str) -> Option<f64> {
    let field = layer.spec().field(key)?;
    layer.data.attr(i, field).as_f64()
}

/// Distance rules of a point or line layer, in the order they are reported.
const DISTANCE_RULES: [&str; 4] = ["radius_m", "control_m", "safety_m", "clearance_m"];

fn proximity_layer(
    layer: &LoadedLayer,
    site: &MultiPolygon<f64>,
    site_rect: &geo::Rect<f64>,
    params: &SiteParams,
) -> Vec<ProximityHit> {
    let kind = layer.data.kind;
    let rules: Vec<&str> = DISTANCE_RULES
        .iter()
        .copied()
        .filter(|r| layer.spec().field(r).is_some())
        .collect();
    // Lines without a clearance field use the run's pipeline clearance.
    let default_clearance =
        (kind == GeomKind::Line && rules.is_empty()).then_some(params.pipeline_clearance_m);
    // Search as far as the largest limit any feature could carry: limits are per feature, so
    // first gather candidates with a generous envelope, then test each feature's own limit.
    let max_limit = layer
        .data
        .features
        .iter()
        .enumerate()
        .flat_map(|(i, _)| rules.iter().filter_map(move |r| field_f64(layer, i, r)))
        .chain(default_clearance)
        .fold(0.0f64, f64::max);
    let grow = max_limit.max(0.0);
    let search = geo::Rect::new(
        Coord {
            x: site_rect.min().x - grow,
            y: site_rect.min().y - grow,
        },
        Coord {
            x: site_rect.max().x + grow,
            y: site_rect.max().y + grow,
        },
    );
    let mut hits = Vec::new();
    for i in layer.index.candidates(&search) {
        let f = &layer.data.features[i];
        let (distance, inside_len) = match &f.geom {
            Geom::Point(mp) => {
                let d =
                    mp.0.iter()
                        .map(|p| {
                            if site.contains(p) {
                                0.0
                            } else {
                                Euclidean.distance(p, site)
                            }
                        })
                        .fold(f64::INFINITY, f64::min);
                (d, 0.0)
            }
            Geom::Line(ml) => {
                let crosses = ml.intersects(site);
                let d = if crosses {
                    0.0
                } else {
                    ml.0.iter()
                        .map(|l| Euclidean.distance(l, site))
                        .fold(f64::INFINITY, f64::min)
                };
                let inside = if crosses {
                    clipped_length(ml, site)
                } else {
                    0.0
                };
                (d, inside)
            }
            Geom::Polygon(_) => continue,
        };
        let mut limits: Vec<(String, f64)> = rules
            .iter()
            .filter_map(|r| field_f64(layer, i, r).map(|v| (r.to_string(), v)))
            .collect();
        if let Some(c) = default_clearance {
            limits.push(("clearance_m".to_string(), c));
        }
        // The tightest rule the site violates is reported (protection range before 建设控制地带).
        let hit = limits
            .iter()
            .filter(|(_, lim)| distance <= *lim)
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((rule, limit)) = hit {
            hits.push(ProximityHit {
                layer: layer.id().to_string(),
                title: layer.spec().display_title().to_string(),
                feature_id: f.id.clone(),
                distance_m: distance,
                rule: rule.clone(),
                limit_m: *limit,
                length_inside_m: inside_len,
                fields: semantic_fields(layer, i),
            });
        }
    }
    hits.sort_by(|a, b| {
        a.distance_m
            .total_cmp(&b.distance_m)
            .then_with(|| a.feature_id.cmp(&b.feature_id))
    });
    hits
}

/// Length of the parts of `lines` inside `site`.
fn clipped_length(lines: &MultiLineString<f64>, site: &MultiPolygon<f64>) -> f64 {
    use geo::Length;
    let clipped = site.clip(lines, false);
    clipped
        .0
        .iter()
        .map(|l: &LineString<f64>| Euclidean.length(l))
        .fold(0.0, |s, x| s + x)
}

fn assessment_layer(
    bp: &Blueprint,
    layer: &LoadedLayer,
    shape: &SiteShape,
    params: &SiteParams,
) -> Vec<AssessmentHit> {
    let overlap = overlap_layer(bp, layer, shape, 0.01, true);
    overlap
        .features
        .into_iter()
        .map(|f| {
            let valid_until = f.fields.get("valid_until").map(|v| v.to_string());
            let valid = valid_until
                .as_deref()
                .and_then(|d| {
                    chrono::NaiveDate::parse_from_str(d.get(..10).unwrap_or(d), "%Y-%m-%d").ok()
                })
                .is_none_or(|d| d >= params.today);
            AssessmentHit {
                layer: layer.id().to_string(),
                feature_id: f.feature_id,
                kind: f
                    .fields
                    .get("kind")
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                share_of_site: f.share_of_site,
                valid_until,
                valid,
                fields: f.fields,
            }
        })
        .collect()
}

/// A point inside the site: the centroid when it is inside, else a vertex-based fallback.
pub fn interior_point(mp: &MultiPolygon<f64>) -> (f64, f64) {
    use geo::{Centroid, InteriorPoint};
    if let Some(c) = mp.centroid()
        && mp.contains(&c)
    {
        return (c.x(), c.y());
    }
    mp.interior_point()
        .map(|p: Point<f64>| (p.x(), p.y()))
        .unwrap_or_default()
}

/// The overlaps of a site with the given polygon layers only: the hot path the benchmark times.
pub fn overlaps(
    bp: &Blueprint,
    site: &MultiPolygon<f64>,
    layers: &[&LoadedLayer],
) -> Vec<LayerOverlap> {
    let Some(mut shape) = SiteShape::new(site, &bp.grid, 0.0) else {
        return Vec::new();
    };
    shape.area_m2 = shape.poly.area_m2(&bp.grid);
    layers
        .iter()
        .map(|l| overlap_layer(bp, l, &shape, 0.01, false))
        .collect()
}

/// Analyses a site against every layer of the blueprint.
pub fn analyse(bp: &Blueprint, site: &Site, params: &SiteParams) -> SiteAnalysis {
    let started = Instant::now();
    let site_area = site.geometry.unsigned_area();
    let mut overlaps = Vec::new();
    let mut proximity = Vec::new();
    let mut assessments = Vec::new();
    if let Some(shape) = SiteShape::new(&site.geometry, &bp.grid, site_area) {
        for layer in &bp.layers {
            if layer.role() == LayerRole::Site {
                continue;
            }
            match (layer.data.kind, layer.role()) {
                (GeomKind::Polygon, LayerRole::Assessment) => {
                    assessments.extend(assessment_layer(bp, layer, &shape, params));
                }
                (GeomKind::Polygon, _) => {
                    overlaps.push(overlap_layer(
                        bp,
                        layer,
                        &shape,
                        params.min_overlap_m2,
                        true,
                    ));
                }
                (GeomKind::Point | GeomKind::Line, _) => {
                    proximity.extend(proximity_layer(layer, &site.geometry, &shape.rect, params));
                }
            }
        }
    }
    SiteAnalysis {
        site_id: site.id.clone(),
        site_name: site.name.clone(),
        blueprint: bp.label(),
        area_m2: site_area,
        ellipsoidal_area_m2: area::ellipsoidal_area(&site.geometry, &bp.zone),
        point: interior_point(&site.geometry),
        overlaps,
        proximity,
        assessments,
        params: *params,
        micros: started.elapsed().as_micros() as u64,
    }
}
