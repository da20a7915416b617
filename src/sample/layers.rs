//! The layers cut from the world: each plan family is its own digitisation of the true cells
//! (控规 and the city lines with field A, 土规 with field B, the three control lines with field
//! C), so shared boundaries agree within a layer and disagree by a bounded offset across layers.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::f64::consts::PI;

use geo::{Area, Coord, LineString, MultiLineString, MultiPoint, MultiPolygon, Point};

use super::SampleError;
use super::mesh::{Half, Mesh, NONE};
use super::names;
use super::rng::{Displacement, Rng, Waves};
use super::world::{Land, RESERVOIR, RIVERS, Special, TOWNS, World, c, seat};
use crate::crs::gk::GkZone;
use crate::geometry::area::ellipsoidal_area;
use crate::layer::{Feature, Field, FieldType, Geom, GeomKind, LayerData, Value};

const TAG_A: u64 = 100;
const TAG_B: u64 = 110;
const TAG_C: u64 = 120;
const TAG_PRIME: u64 = 130;
const TAG_ATTR: u64 = 140;
const TAG_PICK: u64 = 150;
const TAG_ROUTE: u64 = 160;
const TAG_PIPE: u64 = 170;
const TAG_ZONE: u64 = 180;

/// The three digitisations.
#[derive(Debug, Clone)]
pub struct Fields {
    /// 控规 and the city lines drawn on it.
    pub a: Displacement,
    /// 土规.
    pub b: Displacement,
    /// 三线.
    pub c: Displacement,
}

impl Fields {
    pub fn new(seed: u64) -> Fields {
        let a = Displacement::base(seed, TAG_A, 1.0);
        let b = a.with_offset(seed, TAG_B, 0.3, 2.5);
        let c = a.with_offset(seed, TAG_C, 0.2, 1.2);
        Fields { a, b, c }
    }
}

/// Pipe network position: inter-town trunk, radial street, ring street.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PipeClass {
    Ring = 1,
    Radial = 2,
    Trunk = 3,
}

/// One pipe section as written, with what the site designer needs to know about it.
#[derive(Debug, Clone)]
pub struct PipeSection {
    pub layer: &'static str,
    pub id: String,
    pub class: PipeClass,
    pub town: u32,
    pub line: LineString<f64>,
}

/// All layers plus the lookups the seeded answers need.
#[derive(Debug)]
pub struct Built {
    pub fields: Fields,
    /// Layers by id, in manifest order.
    pub layers: Vec<(&'static str, LayerData)>,
    /// DKBH of each 控规 cell ("" elsewhere).
    pub kg_id: Vec<String>,
    /// BSM of the 土规 管制区 zone of each district cell (0 outside).
    pub gzq_id: Vec<i64>,
    pub gzq_code: Vec<&'static str>,
    /// BSM of the 永久基本农田 polygon of each cell (0 when none).
    pub yj_id: Vec<i64>,
    pub pipes: Vec<PipeSection>,
    /// The 区域评估 coverage each 控规 cell lies in (0 none, 1 park, 2 new district).
    pub qypg_area: Vec<u8>,
}

impl Built {
    pub fn layer(&self, id: &str) -> Option<&LayerData> {
        self.layers.iter().find(|(i, _)| *i == id).map(|(_, l)| l)
    }

    pub fn layer_mut(&mut self, id: &str) -> Option<&mut LayerData> {
        self.layers
            .iter_mut()
            .find(|(i, _)| *i == id)
            .map(|(_, l)| l)
    }
}

pub fn schema(kind: GeomKind, fields: &[(&str, FieldType)]) -> LayerData {
    LayerData::new(
        kind,
        fields
            .iter()
            .map(|(n, ty)| Field {
                name: (*n).to_string(),
                ty: *ty,
            })
            .collect(),
    )
}

pub fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

pub fn real(x: f64, dp: i32) -> Value {
    let k = 10f64.powi(dp);
    Value::Real((x * k).round() / k)
}

fn opt(x: Option<f64>) -> Value {
    x.map(|v| real(v, 2)).unwrap_or(Value::Null)
}

pub fn zone() -> Result<GkZone, SampleError> {
    GkZone::from_epsg(4546).ok_or_else(|| SampleError::Mesh("EPSG:4546 is not a GK zone".into()))
}

/// Groups of connected cells sharing a key, each at most `cap` cells, grown breadth-first from
/// the lowest unassigned cell.
fn group<K: Copy + Eq>(
    w: &World,
    key: impl Fn(usize) -> Option<K>,
    cap: usize,
) -> (Vec<u32>, Vec<(K, Vec<u32>)>) {
    let n = w.n();
    let mut label = vec![NONE; n];
    let mut groups: Vec<(K, Vec<u32>)> = Vec::new();
    for s in 0..n {
        if label[s] != NONE {
            continue;
        }
        let Some(k) = key(s) else { continue };
        let g = groups.len() as u32;
        label[s] = g;
        let mut members = vec![s as u32];
        let mut queue = VecDeque::from([s]);
        'grow: while let Some(u) = queue.pop_front() {
            for &v in &w.mesh.adj[u] {
                if members.len() >= cap {
                    break 'grow;
                }
                let v = v as usize;
                if label[v] == NONE && key(v) == Some(k) {
                    label[v] = g;
                    members.push(v as u32);
                    queue.push_back(v);
                }
            }
        }
        groups.push((k, members));
    }
    (label, groups)
}

/// Zones of about `size` connected cells sharing a key: seed cells drawn with probability
/// 1/`size` grow together breadth-first (a Voronoi diagram on the cell graph), so zones come out
/// near the requested size; cells no seed reaches start zones of their own.
fn zones<K: Copy + Eq>(
    w: &World,
    key: impl Fn(usize) -> Option<K>,
    size: usize,
    tag: u64,
) -> (Vec<u32>, Vec<(K, Vec<u32>)>) {
    let n = w.n();
    let keys: Vec<Option<K>> = (0..n).map(&key).collect();
    let mut label = vec![NONE; n];
    let mut groups: Vec<(K, Vec<u32>)> = Vec::new();
    let p = 1.0 / size.max(1) as f64;
    let mut queue = VecDeque::new();
    let grow =
        |label: &mut Vec<u32>, groups: &mut Vec<(K, Vec<u32>)>, queue: &mut VecDeque<usize>| {
            while let Some(u) = queue.pop_front() {
                let g = label[u];
                for &v in &w.mesh.adj[u] {
                    let v = v as usize;
                    if label[v] == NONE && keys[v].is_some() && keys[v] == keys[u] {
                        label[v] = g;
                        groups[g as usize].1.push(v as u32);
                        queue.push_back(v);
                    }
                }
            }
        };
    for s in 0..n {
        let Some(k) = keys[s] else { continue };
        if size <= 1 || Rng::new(w.seed, TAG_ZONE, &[tag, s as u64]).f64() < p {
            label[s] = groups.len() as u32;
            groups.push((k, vec![s as u32]));
            queue.push_back(s);
        }
    }
    grow(&mut label, &mut groups, &mut queue);
    for s in 0..n {
        let Some(k) = keys[s] else { continue };
        if label[s] == NONE {
            label[s] = groups.len() as u32;
            groups.push((k, vec![s as u32]));
            queue.push_back(s);
            grow(&mut label, &mut groups, &mut queue);
        }
    }
    (label, groups)
}

/// Cells picked by a filter in a seeded order.
fn pick_cells(w: &World, tag: u64, k: usize, filter: impl Fn(usize) -> bool) -> Vec<usize> {
    let mut v: Vec<(u64, usize)> = (0..w.n())
        .filter(|s| w.district[*s] && filter(*s))
        .map(|s| (super::rng::key(w.seed, TAG_PICK + tag, &[s as u64]), s))
        .collect();
    v.sort_unstable();
    v.into_iter().take(k).map(|(_, s)| s).collect()
}

/// Planning indicators of a 控规 code: RJLSX, RJLXX, JZMDZ, LDLLX, JZXG.
fn indicators(code: &str, r: &mut Rng) -> [Option<f64>; 5] {
    let mut pick = |v: &[f64]| r.pick(v).copied();
    if code.starts_with('E') {
        return [None; 5];
    }
    if code == "R2/B1" {
        return [
            pick(&[3.0, 3.5, 4.0, 4.5]),
            Some(1.5),
            pick(&[35.0, 40.0]),
            Some(25.0),
            pick(&[80.0, 100.0]),
        ];
    }
    if code == "A7" {
        return [Some(0.8), None, Some(30.0), Some(30.0), Some(12.0)];
    }
    match code.get(..1) {
        Some("R") => {
            let lower = pick(&[1.0, 1.2, 0.0, 1.0]).filter(|v| *v > 0.0);
            [
                pick(&[2.0, 2.2, 2.5, 2.8, 3.0, 3.2, 3.5]),
                lower,
                pick(&[22.0, 25.0, 28.0, 30.0]),
                pick(&[30.0, 35.0]),
                pick(&[45.0, 54.0, 60.0, 80.0, 100.0]),
            ]
        }
        Some("B") => {
            let lower = pick(&[1.5, 0.0]).filter(|v| *v > 0.0);
            [
                pick(&[2.5, 3.0, 3.5, 4.0, 5.0]),
                lower,
                pick(&[40.0, 45.0, 50.0]),
                pick(&[20.0, 25.0]),
                pick(&[60.0, 80.0, 100.0, 150.0]),
            ]
        }
        Some("A") => [
            pick(&[0.8, 1.0, 1.2, 1.5, 2.0]),
            None,
            pick(&[25.0, 30.0, 35.0]),
            Some(35.0),
            pick(&[24.0, 30.0, 50.0]),
        ],
        Some("M") => [
            pick(&[1.2, 1.5, 2.0, 2.5, 3.0]),
            Some(1.0),
            pick(&[50.0, 55.0, 60.0]),
            pick(&[10.0, 15.0]),
            pick(&[24.0, 30.0, 40.0]),
        ],
        Some("W") => [
            pick(&[1.0, 1.5, 2.0]),
            Some(0.8),
            pick(&[50.0, 60.0]),
            pick(&[10.0, 15.0]),
            pick(&[24.0, 30.0]),
        ],
        Some("U") => [
            pick(&[0.5, 1.0, 1.5]),
            None,
            pick(&[30.0, 35.0, 40.0]),
            pick(&[25.0, 30.0]),
            Some(24.0),
        ],
        Some("S") => [
            pick(&[0.5, 0.8, 1.0]),
            None,
            pick(&[20.0, 25.0, 30.0]),
            pick(&[15.0, 20.0]),
            Some(24.0),
        ],
        Some("H") => [Some(1.5), None, Some(40.0), Some(20.0), Some(15.0)],
        _ if code == "G1" => [Some(0.1), None, Some(5.0), Some(70.0), Some(12.0)],
        _ => [None, None, None, Some(80.0), None],
    }
}

/// The 三线 cell sets.
struct Sanxian {
    yj: Vec<bool>,
    st: Vec<bool>,
    cz: Vec<bool>,
}

fn sanxian(w: &World) -> Result<Sanxian, SampleError> {
    let prime = Waves::new(w.seed, TAG_PRIME, 4, 2_000.0, 6_000.0);
    let farmland: BTreeSet<u32> = w.seeds.on_farmland.iter().copied().collect();
    let reservoir = c(RESERVOIR.0.0, RESERVOIR.0.1);
    let n = w.n();
    let mut yj = vec![false; n];
    let mut st = vec![false; n];
    let mut cz = vec![false; n];
    for s in 0..n {
        if !w.district[s] {
            continue;
        }
        let p = w.site(s);
        yj[s] = (w.land[s] == Land::Farm && w.beyond[s] > 800.0 && prime.unit(p) > 0.4)
            || farmland.contains(&(s as u32));
        let near_reservoir = (p.x - reservoir.x).hypot(p.y - reservoir.y) < 2_500.0;
        st[s] = w.land[s] == Land::Reservoir
            || (w.land[s] == Land::Forest
                && w.beyond[s] > 1_500.0
                && (w.hill[s] > 0.66 || near_reservoir));
        cz[s] = w.plan[s] && w.dn[s] < 0.9 && !farmland.contains(&(s as u32));
        if u8::from(yj[s]) + u8::from(st[s]) + u8::from(cz[s]) > 1 {
            return Err(SampleError::Placement(format!(
                "cell {s} falls in two control lines"
            )));
        }
    }
    Ok(Sanxian { yj, st, cz })
}

fn gzq_code(w: &World, sx: &Sanxian, s: usize) -> &'static str {
    let seeds = &w.seeds;
    let is = |v: &Vec<u32>| v.binary_search(&(s as u32)).is_ok();
    let sub = TOWNS.get(w.town[s] as usize).is_some_and(|t| t.subcodes);
    let base = if is(&seeds.on_030) {
        "030"
    } else if is(&seeds.on_040) {
        "040"
    } else if is(&seeds.on_020) {
        "020"
    } else if is(&seeds.e2_on_010) {
        "010"
    } else {
        match w.land[s] {
            Land::Urban if World::is_construction(w.code[s]) => "010",
            Land::Urban => "020",
            Land::Water | Land::Farm => "030",
            Land::Reservoir => "040",
            Land::Forest if sx.st[s] => "040",
            Land::Forest => "030",
            Land::Village | Land::Mining => "010",
        }
    };
    match (sub, base, w.land[s]) {
        (true, "010", Land::Village | Land::Mining) => "012",
        (true, "010", _) => "011",
        (true, "020", _) => "021",
        _ => base,
    }
}

fn ytq_code(w: &World, sx: &Sanxian, s: usize) -> &'static str {
    let seeds = &w.seeds;
    let is = |v: &Vec<u32>| v.binary_search(&(s as u32)).is_ok();
    if is(&seeds.on_030) || is(&seeds.on_020) {
        return "020";
    }
    if is(&seeds.on_040) {
        return "070";
    }
    if is(&seeds.e2_on_010) || is(&seeds.outside_boundary) {
        return "030";
    }
    if is(&seeds.on_farmland) {
        return "010";
    }
    let reservoir = c(RESERVOIR.0.0, RESERVOIR.0.1);
    let p = w.site(s);
    match w.land[s] {
        Land::Urban if w.special[s] == Special::HistoricCore => "080",
        Land::Urban if World::is_construction(w.code[s]) => "030",
        Land::Urban => "020",
        Land::Water | Land::Reservoir => "070",
        Land::Farm if sx.yj[s] => "010",
        Land::Farm => "020",
        Land::Forest if sx.st[s] => "070",
        Land::Forest if (p.x - reservoir.x).hypot(p.y - reservoir.y) < 3_500.0 => "060",
        Land::Forest => "090",
        Land::Village => "040",
        Land::Mining => "050",
    }
}

/// Builds every layer except the seeded rectangles and the candidate sites.
pub fn build(w: &World) -> Result<Built, SampleError> {
    let fields = Fields::new(w.seed);
    let zone = zone()?;
    let sx = sanxian(w)?;
    let n = w.n();
    let mut built = Built {
        fields: fields.clone(),
        layers: Vec::new(),
        kg_id: vec![String::new(); n],
        gzq_id: vec![0; n],
        gzq_code: vec![""; n],
        yj_id: vec![0; n],
        pipes: Vec::new(),
        qypg_area: vec![0; n],
    };

    let ma = w.mesh.displaced(|p| fields.a.apply(p));
    let mb = w.mesh.displaced(|p| fields.b.apply(p));
    let mc = w.mesh.displaced(|p| fields.c.apply(p));
    let kg = kg_layer(w, &ma, &mut built)?;
    built.layers.push(("kg", kg));
    let (gzq, ytq) = tugui_layers(w, &mb, &sx, &zone, &mut built);
    built.layers.push(("gzq", gzq));
    built.layers.push(("ytq", ytq));
    let (yjjbnt, sthx, czkfbj) = sanxian_layers(w, &mc, &sx, &zone, &mut built);
    built.layers.push(("yjjbnt", yjjbnt));
    built.layers.push(("sthx", sthx));
    built.layers.push(("czkfbj", czkfbj));
    for (id, layer) in sixian_layers(w, &ma) {
        built.layers.push((id, layer));
    }
    let qypg = qypg_layer(w, &ma, &mut built);
    built.layers.push(("qypg", qypg));
    built.layers.push(("towns", towns_layer(w, &zone)));
    for (id, layer) in point_layers(w) {
        built.layers.push((id, layer));
    }
    let pipes = pipe_layers(w, &ma, &mut built)?;
    for (id, layer) in pipes {
        built.layers.push((id, layer));
    }
    Ok(built)
}

fn kg_layer(w: &World, ma: &Mesh, built: &mut Built) -> Result<LayerData, SampleError> {
    let mut data = schema(
        GeomKind::Polygon,
        &[
            ("DKBH", FieldType::Text),
            ("YDXZDM", FieldType::Text),
            ("YDXZMC", FieldType::Text),
            ("YDMJ", FieldType::Real),
            ("RJLSX", FieldType::Real),
            ("RJLXX", FieldType::Real),
            ("JZMDZ", FieldType::Real),
            ("LDLLX", FieldType::Real),
            ("JZXG", FieldType::Real),
            ("SUOSZQ", FieldType::Text),
            ("ZQCODE", FieldType::Text),
            ("PFNAME", FieldType::Text),
            ("PFDATE", FieldType::Date),
        ],
    );
    let mut cells: Vec<(u32, u32, usize)> = (0..w.n())
        .filter(|s| w.plan[*s])
        .map(|s| {
            let t = w.town[s];
            let st = seat(t as usize);
            let p = w.site(s);
            let theta = (p.y - st.y).atan2(p.x - st.x);
            let sector = (((theta + PI) / (2.0 * PI) * 8.0).floor() as u32).min(7);
            let unit = sector * 2 + u32::from(w.dn[s] >= 0.5) + 1;
            (t, unit, s)
        })
        .collect();
    cells.sort_unstable();
    let mut serial: BTreeMap<(u32, u32), u32> = BTreeMap::new();
    for (t, unit, s) in cells {
        let town = &TOWNS[t as usize];
        let k = serial.entry((t, unit)).or_insert(0);
        *k += 1;
        let id = format!("{}{:02}-{:03}", town.abbr, unit, k);
        let code = w.code[s];
        let mp = MultiPolygon::new(vec![ma.cell_polygon(s)]);
        let mut r = Rng::new(w.seed, TAG_ATTR, &[1, s as u64]);
        let ind = indicators(code, &mut r);
        let attrs = vec![
            text(id.clone()),
            text(code),
            text(names::gb50137_name(code)),
            real(mp.unsigned_area(), 2),
            opt(ind[0]),
            opt(ind[1]),
            opt(ind[2]),
            opt(ind[3]),
            opt(ind[4]),
            text(town.name),
            text(town.code),
            text(town.approval.0),
            text(town.approval.1),
        ];
        built.kg_id[s] = id.clone();
        data.features.push(Feature {
            id,
            class: Some(code.to_string()),
            geom: Geom::Polygon(mp),
            attrs,
        });
    }
    Ok(data)
}

fn tugui_layers(
    w: &World,
    mb: &Mesh,
    sx: &Sanxian,
    zone: &GkZone,
    built: &mut Built,
) -> (LayerData, LayerData) {
    let area_fields = [
        ("BSM", FieldType::Int),
        ("GZQLXDM", FieldType::Text),
        ("GZQMC", FieldType::Text),
        ("XZQDM", FieldType::Text),
        ("XZQMC", FieldType::Text),
        ("MJ", FieldType::Real),
    ];
    let mut gzq = schema(GeomKind::Polygon, &area_fields);
    for s in 0..w.n() {
        if w.district[s] {
            built.gzq_code[s] = gzq_code(w, sx, s);
        }
    }
    let codes = built.gzq_code.clone();
    let (label, groups) = zones(
        w,
        |s| w.district[s].then(|| (w.town[s], codes[s])),
        w.merge,
        1,
    );
    let polys = mb.dissolve(&label, groups.len());
    for (g, ((t, code), members)) in groups.iter().enumerate() {
        let bsm = g as i64 + 1;
        for m in members {
            built.gzq_id[*m as usize] = bsm;
        }
        let mp = polys[g].clone();
        let town = &TOWNS[*t as usize];
        gzq.features.push(Feature {
            id: bsm.to_string(),
            class: Some(code.to_string()),
            attrs: vec![
                Value::Int(bsm),
                text(*code),
                text(names::gzq_name(code)),
                text(town.code),
                text(town.name),
                real(ellipsoidal_area(&mp, zone), 2),
            ],
            geom: Geom::Polygon(mp),
        });
    }

    let mut ytq = schema(
        GeomKind::Polygon,
        &[
            ("BSM", FieldType::Int),
            ("TDYTQLXDM", FieldType::Text),
            ("TDYTQMC", FieldType::Text),
            ("XZQDM", FieldType::Text),
            ("XZQMC", FieldType::Text),
            ("MJ", FieldType::Real),
        ],
    );
    let (label, groups) = zones(
        w,
        |s| w.district[s].then(|| (w.town[s], ytq_code(w, sx, s))),
        80,
        2,
    );
    let polys = mb.dissolve(&label, groups.len());
    for (g, ((t, code), _)) in groups.iter().enumerate() {
        let bsm = g as i64 + 1;
        let mp = polys[g].clone();
        let town = &TOWNS[*t as usize];
        ytq.features.push(Feature {
            id: bsm.to_string(),
            class: Some(code.to_string()),
            attrs: vec![
                Value::Int(bsm),
                text(*code),
                text(names::ytq_name(code)),
                text(town.code),
                text(town.name),
                real(ellipsoidal_area(&mp, zone), 2),
            ],
            geom: Geom::Polygon(mp),
        });
    }
    (gzq, ytq)
}

fn sanxian_layers(
    w: &World,
    mc: &Mesh,
    sx: &Sanxian,
    zone: &GkZone,
    built: &mut Built,
) -> (LayerData, LayerData, LayerData) {
    let mut yjjbnt = schema(
        GeomKind::Polygon,
        &[
            ("BSM", FieldType::Int),
            ("DLBM", FieldType::Text),
            ("DLMC", FieldType::Text),
            ("TBMJ", FieldType::Real),
            ("KCXS", FieldType::Real),
            ("TBDLMJ", FieldType::Real),
            ("XZQDM", FieldType::Text),
            ("XZQMC", FieldType::Text),
        ],
    );
    let (label, groups) = zones(w, |s| sx.yj[s].then_some(w.town[s]), 6, 3);
    let polys = mc.dissolve(&label, groups.len());
    for (g, (t, members)) in groups.iter().enumerate() {
        let bsm = g as i64 + 1;
        for m in members {
            built.yj_id[*m as usize] = bsm;
        }
        let mp = polys[g].clone();
        let mut r = Rng::new(w.seed, TAG_ATTR, &[2, g as u64]);
        let (dlbm, dlmc) = if r.chance(0.7) {
            ("0101", "水田")
        } else {
            ("0103", "旱地")
        };
        let kcxs = f64::from(5 + r.below(8) as u32) / 100.0;
        let tbmj = (ellipsoidal_area(&mp, zone) * 100.0).round() / 100.0;
        let town = &TOWNS[*t as usize];
        yjjbnt.features.push(Feature {
            id: bsm.to_string(),
            class: Some(dlbm.to_string()),
            attrs: vec![
                Value::Int(bsm),
                text(dlbm),
                text(dlmc),
                real(tbmj, 2),
                real(kcxs, 2),
                real(tbmj * (1.0 - kcxs), 2),
                text(town.code),
                text(town.name),
            ],
            geom: Geom::Polygon(mp),
        });
    }

    let mut sthx = schema(
        GeomKind::Polygon,
        &[
            ("BSM", FieldType::Int),
            ("HXMC", FieldType::Text),
            ("HXLX", FieldType::Text),
            ("MJ", FieldType::Real),
            ("PZWH", FieldType::Text),
        ],
    );
    let reservoir = c(RESERVOIR.0.0, RESERVOIR.0.1);
    let kind = |s: usize| {
        let p = w.site(s);
        if w.land[s] == Land::Reservoir || (p.x - reservoir.x).hypot(p.y - reservoir.y) < 2_500.0 {
            "水源涵养"
        } else if p.y > 2_430_000.0 {
            "生物多样性维护"
        } else {
            "水土保持"
        }
    };
    let (label, groups) = zones(w, |s| sx.st[s].then(|| kind(s)), 30, 4);
    let polys = mc.dissolve(&label, groups.len());
    for (g, (k, _)) in groups.iter().enumerate() {
        let bsm = g as i64 + 1;
        let mp = polys[g].clone();
        sthx.features.push(Feature {
            id: bsm.to_string(),
            class: None,
            attrs: vec![
                Value::Int(bsm),
                text(format!("阳东区{k}生态保护红线")),
                text(*k),
                real(ellipsoidal_area(&mp, zone), 2),
                text("粤府函〔2018〕248号（样例）"),
            ],
            geom: Geom::Polygon(mp),
        });
    }

    let mut czkfbj = schema(
        GeomKind::Polygon,
        &[
            ("BSM", FieldType::Int),
            ("XZQDM", FieldType::Text),
            ("XZQMC", FieldType::Text),
            ("LX", FieldType::Text),
            ("MJ", FieldType::Real),
        ],
    );
    let label: Vec<u32> = (0..w.n())
        .map(|s| if sx.cz[s] { w.town[s] } else { NONE })
        .collect();
    let polys = mc.dissolve(&label, TOWNS.len());
    for (t, poly) in polys.iter().enumerate() {
        if poly.0.is_empty() {
            continue;
        }
        let bsm = czkfbj.features.len() as i64 + 1;
        let mp = poly.clone();
        czkfbj.features.push(Feature {
            id: bsm.to_string(),
            class: None,
            attrs: vec![
                Value::Int(bsm),
                text(TOWNS[t].code),
                text(TOWNS[t].name),
                text("城镇集中建设区"),
                real(ellipsoidal_area(&mp, zone), 2),
            ],
            geom: Geom::Polygon(mp),
        });
    }
    (yjjbnt, sthx, czkfbj)
}

fn line_layer(extra: &[(&str, FieldType)]) -> LayerData {
    let mut f = vec![
        ("BSM", FieldType::Int),
        ("MC", FieldType::Text),
        ("LX", FieldType::Text),
    ];
    f.extend_from_slice(extra);
    schema(GeomKind::Polygon, &f)
}

fn sixian_layers(w: &World, ma: &Mesh) -> Vec<(&'static str, LayerData)> {
    // 蓝线: water cells, one feature per connected stretch of a river or the reservoir.
    let mut lanxian = line_layer(&[("GLYQ", FieldType::Text)]);
    let water_key = |s: usize| match w.land[s] {
        Land::Reservoir => Some(RIVERS.len()),
        Land::Water => {
            let p = w.site(s);
            (0..w.rivers.len()).min_by(|a, b| {
                w.rivers[*a]
                    .distance(p)
                    .total_cmp(&w.rivers[*b].distance(p))
            })
        }
        _ => None,
    };
    let (label, groups) = group(
        w,
        |s| if w.district[s] { water_key(s) } else { None },
        usize::MAX,
    );
    let polys = ma.dissolve(&label, groups.len());
    let mut stretch: BTreeMap<usize, usize> = BTreeMap::new();
    for (g, (k, _)) in groups.iter().enumerate() {
        let bsm = g as i64 + 1;
        let (name, lx, rule) = if *k == RIVERS.len() {
            (
                "合山水库".to_string(),
                "水库",
                "水库管理范围内禁止新建与供水、防洪无关的建筑物",
            )
        } else {
            let i = stretch.entry(*k).or_insert(0);
            *i += 1;
            (
                format!("{}第{}段", RIVERS[*k].0, i),
                "河道",
                "蓝线内不得占用河道行洪断面，新建建筑后退蓝线不少于10米",
            )
        };
        lanxian.features.push(Feature {
            id: bsm.to_string(),
            class: None,
            attrs: vec![
                Value::Int(bsm),
                text(format!("{name}蓝线")),
                text(lx),
                text(rule),
            ],
            geom: Geom::Polygon(polys[g].clone()),
        });
    }

    // 紫线: the historic district of 东城镇, core and construction-control belt.
    let mut zixian = line_layer(&[("PZWH", FieldType::Text)]);
    let label: Vec<u32> = (0..w.n())
        .map(|s| match (w.special[s], w.land[s]) {
            (Special::HistoricCore, Land::Urban) => 0,
            (Special::HistoricBuffer, Land::Urban) => 1,
            _ => NONE,
        })
        .collect();
    let polys = ma.dissolve(&label, 2);
    for (g, lx) in ["核心保护范围", "建设控制地带"].iter().enumerate() {
        if polys[g].0.is_empty() {
            continue;
        }
        let bsm = g as i64 + 1;
        zixian.features.push(Feature {
            id: bsm.to_string(),
            class: None,
            attrs: vec![
                Value::Int(bsm),
                text("东城镇东安历史文化街区"),
                text(*lx),
                text("阳府函〔2016〕77号（样例）"),
            ],
            geom: Geom::Polygon(polys[g].clone()),
        });
    }

    // 绿线 and 黄线: connected parks, green belts and facility parcels of the 控规.
    let mut lvxian = line_layer(&[]);
    let (label, groups) = group(
        w,
        |s| (w.plan[s] && w.code[s].starts_with('G')).then(|| (w.town[s], w.code[s])),
        usize::MAX,
    );
    let polys = ma.dissolve(&label, groups.len());
    let mut count: BTreeMap<(u32, &str), usize> = BTreeMap::new();
    for (g, ((t, code), members)) in groups.iter().enumerate() {
        // Scattered single green-belt parcels are not designated; belts of three and more are.
        if *code == "G2" && members.len() < 3 {
            continue;
        }
        let i = count.entry((*t, code)).or_insert(0);
        *i += 1;
        let (mc, lx) = if *code == "G1" {
            (
                format!("{}{}号公园", TOWNS[*t as usize].name, i),
                "公园绿地",
            )
        } else {
            (
                format!("{}防护绿地{}", TOWNS[*t as usize].name, i),
                "防护绿地",
            )
        };
        let bsm = lvxian.features.len() as i64 + 1;
        lvxian.features.push(Feature {
            id: bsm.to_string(),
            class: None,
            attrs: vec![Value::Int(bsm), text(mc), text(lx)],
            geom: Geom::Polygon(polys[g].clone()),
        });
    }
    let mut huangxian = line_layer(&[]);
    // 黄线 bounds city-wide infrastructure: utilities and transport hubs, not every bus depot.
    let facility = |code: &str| code.starts_with('U') || code == "S3";
    let (label, groups) = group(
        w,
        |s| (w.plan[s] && facility(w.code[s])).then(|| (w.town[s], w.code[s])),
        usize::MAX,
    );
    let polys = ma.dissolve(&label, groups.len());
    let mut count: BTreeMap<(u32, &str), usize> = BTreeMap::new();
    for (g, ((t, code), _)) in groups.iter().enumerate() {
        let i = count.entry((*t, code)).or_insert(0);
        *i += 1;
        let lx = names::facility_name(code);
        let bsm = g as i64 + 1;
        huangxian.features.push(Feature {
            id: bsm.to_string(),
            class: None,
            attrs: vec![
                Value::Int(bsm),
                text(format!("{}{}{}", TOWNS[*t as usize].name, lx, i)),
                text(lx),
            ],
            geom: Geom::Polygon(polys[g].clone()),
        });
    }
    vec![
        ("lanxian", lanxian),
        ("zixian", zixian),
        ("lvxian", lvxian),
        ("huangxian", huangxian),
    ]
}

/// Report numbers, dates and validity of the 区域评估: (area, type) → (PFRQ, YXQZ).
fn assessment_dates(area: usize, kind: usize) -> (&'static str, &'static str) {
    match (area, kind) {
        // Expired on purpose: the park's 环评 and the new district's 节能评价.
        (0, 2) => ("2017-03-15", "2022-03-14"),
        (1, 3) => ("2018-06-30", "2021-06-29"),
        (0, _) => ("2020-05-18", "2030-05-17"),
        _ => ("2021-09-10", "2031-09-09"),
    }
}

pub const QYPG_AREAS: [&str; 2] = ["东城镇产业园", "东城新区"];

fn qypg_layer(w: &World, ma: &Mesh, built: &mut Built) -> LayerData {
    let mut data = schema(
        GeomKind::Polygon,
        &[
            ("BSM", FieldType::Int),
            ("PGLX", FieldType::Text),
            ("PGQY", FieldType::Text),
            ("BGBH", FieldType::Text),
            ("PFJG", FieldType::Text),
            ("PFRQ", FieldType::Date),
            ("YXQZ", FieldType::Date),
            ("JL", FieldType::Text),
            ("ZBMC", FieldType::Text),
            ("ZBZ", FieldType::Text),
        ],
    );
    let label: Vec<u32> = (0..w.n())
        .map(|s| match w.special[s] {
            Special::Park => 0,
            Special::NewDistrict => 1,
            _ => NONE,
        })
        .collect();
    for (s, l) in label.iter().enumerate() {
        if *l != NONE {
            built.qypg_area[s] = *l as u8 + 1;
        }
    }
    let polys = ma.dissolve(&label, 2);
    for (a, area) in QYPG_AREAS.iter().enumerate() {
        let mp = polys[a].clone();
        for (k, (kind, approver, ind, park, new, conclusion)) in
            names::ASSESSMENTS.iter().enumerate()
        {
            let bsm = (a * names::ASSESSMENTS.len() + k) as i64 + 1;
            let (pfrq, yxqz) = assessment_dates(a, k);
            data.features.push(Feature {
                id: bsm.to_string(),
                class: None,
                attrs: vec![
                    Value::Int(bsm),
                    text(*kind),
                    text(*area),
                    text(format!(
                        "YDQP-{}-{}-{:02}",
                        ["CYY", "XQ"][a],
                        &pfrq[..4],
                        k + 1
                    )),
                    text(*approver),
                    text(pfrq),
                    text(yxqz),
                    text(*conclusion),
                    text(*ind),
                    text(if a == 0 { *park } else { *new }),
                ],
                geom: Geom::Polygon(mp.clone()),
            });
        }
    }
    data
}

fn towns_layer(w: &World, zone: &GkZone) -> LayerData {
    let mut data = schema(
        GeomKind::Polygon,
        &[
            ("XZQDM", FieldType::Text),
            ("XZQMC", FieldType::Text),
            ("MJ", FieldType::Real),
        ],
    );
    let polys = w.mesh.dissolve(&w.town, TOWNS.len());
    for (t, mp) in polys.into_iter().enumerate() {
        data.features.push(Feature {
            id: TOWNS[t].code.to_string(),
            class: None,
            attrs: vec![
                text(TOWNS[t].code),
                text(TOWNS[t].name),
                real(ellipsoidal_area(&mp, zone), 2),
            ],
            geom: Geom::Polygon(mp),
        });
    }
    data
}

fn point(w: &World, s: usize, tag: u64) -> Geom {
    let mut r = Rng::new(w.seed, TAG_ATTR, &[tag, s as u64]);
    let p = w.site(s);
    // Survey points sit near, not exactly on, the cell's reference point; millimetre precision.
    let q = c(
        ((p.x + r.range(-8.0, 8.0)) * 1000.0).round() / 1000.0,
        ((p.y + r.range(-8.0, 8.0)) * 1000.0).round() / 1000.0,
    );
    Geom::Point(MultiPoint::new(vec![Point::from(q)]))
}

fn point_layers(w: &World) -> Vec<(&'static str, LayerData)> {
    let village_of = |p: Coord<f64>| {
        w.villages
            .iter()
            .enumerate()
            .min_by(|a, b| {
                let (da, db) = (
                    (a.1.0.x - p.x).hypot(a.1.0.y - p.y),
                    (b.1.0.x - p.x).hypot(b.1.0.y - p.y),
                );
                da.total_cmp(&db)
            })
            .map(|(i, _)| names::village(i))
            .unwrap_or_default()
    };

    // 文物保护单位.
    let mut wenwu = schema(
        GeomKind::Point,
        &[
            ("BH", FieldType::Text),
            ("MC", FieldType::Text),
            ("JB", FieldType::Text),
            ("LB", FieldType::Text),
            ("ND", FieldType::Text),
            ("BHFW_M", FieldType::Real),
            ("JSKZDD_M", FieldType::Real),
        ],
    );
    let mut cells = pick_cells(w, 1, 3, |s| {
        w.special[s] == Special::HistoricCore && w.land[s] == Land::Urban
    });
    cells.extend(pick_cells(w, 2, 2, |s| {
        w.plan[s] && w.town[s] != 0 && w.land[s] == Land::Urban
    }));
    cells.extend(pick_cells(w, 3, 19, |s| w.land[s] == Land::Village));
    let levels = [
        "省级",
        "市级",
        "市级",
        "县级",
        "县级",
        "国家级",
        "省级",
        "省级",
        "市级",
        "市级",
        "市级",
        "市级",
    ];
    for (i, s) in cells.iter().enumerate() {
        let jb = levels.get(i).copied().unwrap_or("县级");
        let (radius, control) = match jb {
            "国家级" => (100.0, 300.0),
            "省级" => (50.0, 150.0),
            "市级" => (30.0, 80.0),
            _ => (20.0, 50.0),
        };
        let mut r = Rng::new(w.seed, TAG_ATTR, &[3, *s as u64]);
        let (suffix, lb) = *r.pick(&names::HERITAGE).unwrap_or(&names::HERITAGE[0]);
        let place = if w.plan[*s] {
            TOWNS[w.town[*s] as usize]
                .name
                .trim_end_matches('镇')
                .to_string()
        } else {
            village_of(w.site(*s))
        };
        let bh = format!("WW{:03}", i + 1);
        wenwu.features.push(Feature {
            id: bh.clone(),
            class: None,
            attrs: vec![
                text(bh),
                text(format!("{place}{suffix}")),
                text(jb),
                text(lb),
                text(*r.pick(&names::ERAS).unwrap_or(&"清")),
                real(radius, 1),
                real(control, 1),
            ],
            geom: point(w, *s, 30),
        });
    }

    // 历史建筑 in the historic district.
    let mut lsjz = schema(
        GeomKind::Point,
        &[
            ("BH", FieldType::Text),
            ("MC", FieldType::Text),
            ("ND", FieldType::Text),
            ("JZLX", FieldType::Text),
            ("BHFW_M", FieldType::Real),
        ],
    );
    let cells = pick_cells(w, 4, 30, |s| {
        matches!(
            w.special[s],
            Special::HistoricCore | Special::HistoricBuffer
        ) && w.land[s] == Land::Urban
    });
    for (i, s) in cells.iter().enumerate() {
        let mut r = Rng::new(w.seed, TAG_ATTR, &[4, *s as u64]);
        let kind = *r.pick(&names::BUILDING_KINDS).unwrap_or(&"民居");
        let bh = format!("LSJZ{:03}", i + 1);
        lsjz.features.push(Feature {
            id: bh.clone(),
            class: None,
            attrs: vec![
                text(bh),
                text(format!(
                    "{}{}号{kind}",
                    r.pick(&names::STREETS).unwrap_or(&"东安路"),
                    1 + r.below(120)
                )),
                text(
                    *r.pick(&["清末", "民国", "民国", "1950年代"])
                        .unwrap_or(&"民国"),
                ),
                text(kind),
                real(f64::from(5 + 5 * r.below(3) as u32), 1),
            ],
            geom: point(w, *s, 31),
        });
    }

    // 古树名木.
    let mut gsmm = schema(
        GeomKind::Point,
        &[
            ("BH", FieldType::Text),
            ("SZ", FieldType::Text),
            ("SL", FieldType::Int),
            ("JB", FieldType::Text),
            ("BHBJ_M", FieldType::Real),
            ("XZQMC", FieldType::Text),
        ],
    );
    let mut cells = pick_cells(w, 5, 50, |s| w.land[s] == Land::Village);
    cells.extend(pick_cells(w, 6, 40, |s| {
        w.plan[s] && w.land[s] == Land::Urban
    }));
    cells.extend(pick_cells(w, 7, 30, |s| {
        matches!(w.land[s], Land::Forest | Land::Farm)
    }));
    for (i, s) in cells.iter().enumerate() {
        let mut r = Rng::new(w.seed, TAG_ATTR, &[5, *s as u64]);
        let u = r.f64();
        let age = 100 + (700.0 * u * u) as i64;
        let (jb, radius) = tree_level(age);
        let bh = format!("441704{:05}", i + 1);
        gsmm.features.push(Feature {
            id: bh.clone(),
            class: None,
            attrs: vec![
                text(bh),
                text(*r.pick(&names::TREES).unwrap_or(&"榕树")),
                Value::Int(age),
                text(jb),
                real(radius, 1),
                text(TOWNS[w.town[*s] as usize].name),
            ],
            geom: point(w, *s, 32),
        });
    }

    // 危险化学品 sites.
    let mut whp = schema(
        GeomKind::Point,
        &[
            ("BH", FieldType::Text),
            ("QYMC", FieldType::Text),
            ("WHPLX", FieldType::Text),
            ("CCL_T", FieldType::Real),
            ("AQJL_M", FieldType::Real),
            ("ZDWXY", FieldType::Text),
        ],
    );
    let mut cells = pick_cells(w, 8, 10, |s| {
        w.special[s] == Special::Park && matches!(w.code[s], "M2" | "W1")
    });
    cells.extend(pick_cells(w, 9, 5, |s| {
        w.plan[s] && w.special[s] == Special::None && matches!(w.code[s], "M2" | "W1")
    }));
    let stations = pick_cells(w, 10, 5, |s| w.plan[s] && w.code[s] == "S4");
    for (i, s) in cells.iter().chain(&stations).enumerate() {
        let mut r = Rng::new(w.seed, TAG_ATTR, &[6, *s as u64]);
        let bh = format!("WHP{:03}", i + 1);
        let (name, kind, safety, storage) = if i >= cells.len() {
            let place = TOWNS[w.town[*s] as usize].name.trim_end_matches('镇');
            (
                format!("中国石化阳东{place}加油站{}", i - cells.len() + 1),
                "汽油、柴油".to_string(),
                50.0,
                r.range(30.0, 90.0),
            )
        } else {
            let (kind, (s0, s1), (t0, t1)) = *r.pick(&names::HAZARDS).unwrap_or(&names::HAZARDS[0]);
            let name = format!(
                "阳东{}{}有限公司",
                r.pick(&names::FIRMS_A).unwrap_or(&"华丰"),
                r.pick(&names::FIRMS_B).unwrap_or(&"化工")
            );
            (
                name,
                kind.to_string(),
                (r.range(s0, s1) / 10.0).round() * 10.0,
                r.range(t0, t1),
            )
        };
        let storage = storage.round();
        whp.features.push(Feature {
            id: bh.clone(),
            class: None,
            attrs: vec![
                text(bh),
                text(name),
                text(kind),
                real(storage, 1),
                real(safety, 1),
                text(if storage >= 50.0 { "是" } else { "否" }),
            ],
            geom: point(w, *s, 33),
        });
    }
    vec![
        ("wenwu", wenwu),
        ("lsjz", lsjz),
        ("gsmm", gsmm),
        ("whp", whp),
    ]
}

/// Level and protection radius of an old tree by age (一级 ≥ 500 a, 二级 300–499 a, 三级).
pub fn tree_level(age: i64) -> (&'static str, f64) {
    if age >= 500 {
        ("一级", 20.0)
    } else if age >= 300 {
        ("二级", 15.0)
    } else {
        ("三级", 10.0)
    }
}

/// Vertex graph of the partition edges inside the district.
struct Graph {
    adj: Vec<Vec<(u32, u32)>>,
}

#[derive(PartialEq)]
struct Cost(f64, u32);
impl Eq for Cost {}
impl PartialOrd for Cost {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Cost {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

impl Graph {
    fn new(w: &World) -> Graph {
        let mut adj = vec![Vec::new(); w.mesh.verts.len()];
        for (i, e) in w.mesh.edges.iter().enumerate() {
            if w.district[e.left as usize] && w.district[e.right as usize] {
                adj[e.from as usize].push((e.to, i as u32));
                adj[e.to as usize].push((e.from, i as u32));
            }
        }
        Graph { adj }
    }

    /// Cheapest path by `cost` (None = not allowed) as edge traversals.
    fn path(
        &self,
        w: &World,
        from: u32,
        to: u32,
        cost: impl Fn(u32) -> Option<f64>,
    ) -> Option<Vec<Half>> {
        let n = self.adj.len();
        let mut best = vec![f64::INFINITY; n];
        let mut prev: Vec<Option<(u32, u32)>> = vec![None; n];
        let mut heap = BinaryHeap::new();
        best[from as usize] = 0.0;
        heap.push(Cost(0.0, from));
        while let Some(Cost(d, v)) = heap.pop() {
            if v == to {
                break;
            }
            if d > best[v as usize] {
                continue;
            }
            for &(u, e) in &self.adj[v as usize] {
                let Some(c) = cost(e) else { continue };
                let nd = d + c;
                if nd < best[u as usize] {
                    best[u as usize] = nd;
                    prev[u as usize] = Some((v, e));
                    heap.push(Cost(nd, u));
                }
            }
        }
        if !best[to as usize].is_finite() {
            return None;
        }
        let mut out = Vec::new();
        let mut v = to;
        while v != from {
            let (p, e) = prev[v as usize]?;
            out.push(Half {
                edge: e,
                forward: w.mesh.edges[e as usize].from == p,
            });
            v = p;
        }
        out.reverse();
        Some(out)
    }
}

/// The partition vertex nearest to `p` among the vertices of the district cell nearest to it.
fn vertex_near(w: &World, p: Coord<f64>) -> Option<u32> {
    let s = (0..w.n()).filter(|s| w.district[*s]).min_by(|a, b| {
        let (pa, pb) = (w.site(*a), w.site(*b));
        (pa.x - p.x)
            .hypot(pa.y - p.y)
            .total_cmp(&(pb.x - p.x).hypot(pb.y - p.y))
    })?;
    w.mesh.cells[s]
        .iter()
        .map(|h| w.mesh.start(*h))
        .min_by(|a, b| {
            let (va, vb) = (w.mesh.verts[*a as usize], w.mesh.verts[*b as usize]);
            (va.x - p.x)
                .hypot(va.y - p.y)
                .total_cmp(&(vb.x - p.x).hypot(vb.y - p.y))
        })
}

const PIPES: [(&str, f64, (f64, f64)); 6] = [
    ("js", 0.9, (3.0, 1.5)),
    ("ys", 0.8, (-2.0, 3.0)),
    ("ws", 0.8, (-3.0, -1.5)),
    ("rq", 0.7, (1.5, -3.0)),
    ("dl", 0.85, (4.0, -1.0)),
    ("tx", 0.85, (-1.0, 4.0)),
];

fn pipe_schema(id: &str) -> LayerData {
    let f: &[(&str, FieldType)] = match id {
        "rq" => &[
            ("BH", FieldType::Text),
            ("GJ", FieldType::Int),
            ("YLJB", FieldType::Text),
            ("CZ", FieldType::Text),
            ("QSDW", FieldType::Text),
        ],
        "dl" => &[
            ("BH", FieldType::Text),
            ("DY", FieldType::Int),
            ("FSFS", FieldType::Text),
            ("QSDW", FieldType::Text),
        ],
        "tx" => &[
            ("BH", FieldType::Text),
            ("GJ", FieldType::Int),
            ("KS", FieldType::Int),
            ("QSDW", FieldType::Text),
        ],
        _ => &[
            ("BH", FieldType::Text),
            ("GJ", FieldType::Int),
            ("CZ", FieldType::Text),
            ("MS", FieldType::Real),
            ("QSDW", FieldType::Text),
        ],
    };
    schema(GeomKind::Line, f)
}

fn pipe_attrs(id: &str, bh: &str, class: PipeClass, r: &mut Rng) -> Vec<Value> {
    let pick_i = |r: &mut Rng, v: &[i64]| Value::Int(*r.pick(v).unwrap_or(&v[0]));
    match (id, class) {
        ("js", PipeClass::Trunk) => vec![
            text(bh),
            pick_i(r, &[600, 800]),
            text("球墨铸铁"),
            real(r.range(1.5, 2.5), 1),
            text("阳东区供水有限公司"),
        ],
        ("js", PipeClass::Radial) => vec![
            text(bh),
            pick_i(r, &[300, 400]),
            text("球墨铸铁"),
            real(r.range(1.0, 1.8), 1),
            text("阳东区供水有限公司"),
        ],
        ("js", _) => vec![
            text(bh),
            pick_i(r, &[150, 200]),
            text("PE"),
            real(r.range(0.8, 1.4), 1),
            text("阳东区供水有限公司"),
        ],
        ("ys", PipeClass::Ring) => vec![
            text(bh),
            pick_i(r, &[600, 800]),
            text("钢筋混凝土"),
            real(r.range(1.5, 2.5), 1),
            text("阳东区市政管理所"),
        ],
        ("ys", _) => vec![
            text(bh),
            pick_i(r, &[1000, 1200, 1500]),
            text("钢筋混凝土"),
            real(r.range(2.0, 3.5), 1),
            text("阳东区市政管理所"),
        ],
        ("ws", PipeClass::Ring) => vec![
            text(bh),
            pick_i(r, &[300, 400]),
            text("HDPE"),
            real(r.range(1.5, 3.0), 1),
            text("阳东区市政管理所"),
        ],
        ("ws", _) => vec![
            text(bh),
            pick_i(r, &[500, 600, 800]),
            text("钢筋混凝土"),
            real(r.range(2.5, 4.0), 1),
            text("阳东区市政管理所"),
        ],
        ("rq", PipeClass::Trunk) => vec![
            text(bh),
            Value::Int(300),
            text("次高压"),
            text("钢"),
            text("阳东区燃气有限公司"),
        ],
        ("rq", PipeClass::Radial) => vec![
            text(bh),
            pick_i(r, &[200, 250]),
            text("中压A"),
            text("PE"),
            text("阳东区燃气有限公司"),
        ],
        ("rq", _) => vec![
            text(bh),
            pick_i(r, &[110, 160]),
            text("中压A"),
            text("PE"),
            text("阳东区燃气有限公司"),
        ],
        ("dl", PipeClass::Trunk) => vec![
            text(bh),
            Value::Int(110),
            text("架空"),
            text("广东电网阳江阳东供电局"),
        ],
        ("dl", _) => vec![
            text(bh),
            Value::Int(10),
            text(if class == PipeClass::Radial {
                "电缆沟"
            } else {
                "直埋"
            }),
            text("广东电网阳江阳东供电局"),
        ],
        (_, PipeClass::Trunk) => vec![
            text(bh),
            Value::Int(110),
            Value::Int(24),
            text("中国电信阳东分公司"),
        ],
        (_, PipeClass::Radial) => vec![
            text(bh),
            Value::Int(110),
            Value::Int(12),
            text("中国电信阳东分公司"),
        ],
        _ => vec![
            text(bh),
            Value::Int(110),
            Value::Int(6),
            text("中国电信阳东分公司"),
        ],
    }
}

/// Pipelines along the partition edges: trunks between town seats, radial and ring streets in
/// every planning area. Each pipe type takes its own subset of the streets and runs a few metres
/// beside them.
fn pipe_layers(
    w: &World,
    ma: &Mesh,
    built: &mut Built,
) -> Result<Vec<(&'static str, LayerData)>, SampleError> {
    let g = Graph::new(w);
    let water = |s: u32| matches!(w.land[s as usize], Land::Water | Land::Reservoir);
    let weights: Vec<f64> = w
        .mesh
        .edges
        .iter()
        .enumerate()
        .map(|(e, edge)| {
            let (a, b) = (
                w.mesh.verts[edge.from as usize],
                w.mesh.verts[edge.to as usize],
            );
            let mut r = Rng::new(w.seed, TAG_ROUTE, &[e as u64]);
            let bridge = if water(edge.left) || water(edge.right) {
                4.0
            } else {
                1.0
            };
            (a.x - b.x).hypot(a.y - b.y) * (1.0 + 0.6 * r.f64()) * bridge
        })
        .collect();
    let weight = |e: u32| weights[e as usize];
    // (class, town, path) in a fixed order.
    let mut paths: Vec<(PipeClass, u32, Vec<Half>)> = Vec::new();
    let seat_v: Vec<u32> = (0..TOWNS.len())
        .map(|t| {
            vertex_near(w, seat(t))
                .ok_or_else(|| SampleError::Placement("no vertex near a seat".into()))
        })
        .collect::<Result<_, _>>()?;
    for t in 1..TOWNS.len() {
        let p = g
            .path(w, seat_v[0], seat_v[t], |e| Some(weight(e)))
            .ok_or_else(|| {
                SampleError::Placement(format!("no trunk route to {}", TOWNS[t].name))
            })?;
        paths.push((PipeClass::Trunk, t as u32, p));
    }
    for (t, &seat_vertex) in seat_v.iter().enumerate() {
        let k = if t == 0 { 10 } else { 6 };
        let phase = Rng::new(w.seed, TAG_ROUTE, &[u64::MAX, t as u64]).range(0.0, 2.0 * PI);
        let in_town = |e: u32| {
            let edge = &w.mesh.edges[e as usize];
            let (l, r) = (edge.left as usize, edge.right as usize);
            (w.plan[l] && w.town[l] == t as u32) || (w.plan[r] && w.town[r] == t as u32)
        };
        let mut targets = Vec::new();
        for i in 0..k {
            let theta = phase + 2.0 * PI * i as f64 / k as f64;
            let r = 0.8 * w.plan_radius(t, theta);
            let st = seat(t);
            if let Some(v) = vertex_near(w, c(st.x + r * theta.cos(), st.y + r * theta.sin())) {
                targets.push(v);
            }
        }
        for v in &targets {
            if let Some(p) = g.path(w, seat_vertex, *v, |e| in_town(e).then(|| weight(e))) {
                paths.push((PipeClass::Radial, t as u32, p));
            }
        }
        for i in 0..targets.len() {
            let (a, b) = (targets[i], targets[(i + 1) % targets.len()]);
            if let Some(p) = g.path(w, a, b, |e| in_town(e).then(|| weight(e))) {
                paths.push((PipeClass::Ring, t as u32, p));
            }
        }
    }

    let mut out = Vec::new();
    for (pi, (id, share, offset)) in PIPES.iter().enumerate() {
        // Edge → (class, town) with the strongest class winning.
        let mut used: BTreeMap<u32, (PipeClass, u32)> = BTreeMap::new();
        let mut first_radial = BTreeSet::new();
        for (k, (class, town, path)) in paths.iter().enumerate() {
            let take = match class {
                PipeClass::Trunk => *id != "ys" && *id != "ws" && (*id != "rq" || *town <= 4),
                _ => {
                    // Every town gets at least its first radial street of every utility.
                    let first = *class == PipeClass::Radial && first_radial.insert(*town);
                    first || Rng::new(w.seed, TAG_PIPE, &[pi as u64, k as u64]).chance(*share)
                }
            };
            if !take {
                continue;
            }
            for h in path {
                let e = used.entry(h.edge).or_insert((*class, *town));
                if *class > e.0 {
                    *e = (*class, *town);
                }
            }
        }
        let mut data = pipe_schema(id);
        let prefix = id.to_ascii_uppercase();
        for (serial, (chain, class, town)) in chains(w, &used).into_iter().enumerate() {
            let mut coords = Vec::new();
            for (i, h) in chain.iter().enumerate() {
                let e = &ma.edges[h.edge as usize];
                if i == 0 {
                    coords.push(ma.verts[ma.start(*h) as usize]);
                }
                if h.forward {
                    coords.extend(e.pts.iter().copied());
                } else {
                    coords.extend(e.pts.iter().rev().copied());
                }
                coords.push(ma.verts[ma.end(*h) as usize]);
            }
            let line: LineString<f64> = coords
                .into_iter()
                .map(|q| c(q.x + offset.0, q.y + offset.1))
                .collect();
            let bh = format!("{prefix}{:05}", serial + 1);
            let mut r = Rng::new(w.seed, TAG_PIPE, &[pi as u64, 1_000_000 + serial as u64]);
            let attrs = pipe_attrs(id, &bh, class, &mut r);
            built.pipes.push(PipeSection {
                layer: id,
                id: bh.clone(),
                class,
                town,
                line: line.clone(),
            });
            data.features.push(Feature {
                id: bh,
                class: None,
                attrs,
                geom: Geom::Line(MultiLineString::new(vec![line])),
            });
        }
        out.push((*id, data));
    }
    Ok(out)
}

/// Splits a set of used edges into sections: maximal runs through vertices where exactly two
/// used edges of the same class meet, at most 12 edges each.
fn chains(w: &World, used: &BTreeMap<u32, (PipeClass, u32)>) -> Vec<(Vec<Half>, PipeClass, u32)> {
    let mut at: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for e in used.keys() {
        let edge = &w.mesh.edges[*e as usize];
        at.entry(edge.from).or_default().push(*e);
        at.entry(edge.to).or_default().push(*e);
    }
    let is_break = |v: u32| match at.get(&v).map(Vec::as_slice) {
        Some([a, b]) => used.get(a).map(|x| x.0) != used.get(b).map(|x| x.0),
        _ => true,
    };
    let mut done: BTreeSet<u32> = BTreeSet::new();
    let mut out = Vec::new();
    let walk = |start_v: u32,
                e0: u32,
                done: &mut BTreeSet<u32>,
                out: &mut Vec<(Vec<Half>, PipeClass, u32)>| {
        let (class, town) = used.get(&e0).copied().unwrap_or((PipeClass::Ring, 0));
        let mut chain = Vec::new();
        let mut v = start_v;
        let mut e = e0;
        loop {
            done.insert(e);
            let edge = &w.mesh.edges[e as usize];
            let forward = edge.from == v;
            chain.push(Half { edge: e, forward });
            v = if forward { edge.to } else { edge.from };
            if is_break(v) {
                break;
            }
            let next = at
                .get(&v)
                .and_then(|es| es.iter().copied().find(|x| !done.contains(x)));
            match next {
                Some(n) => e = n,
                None => break,
            }
        }
        for piece in chain.chunks(12) {
            out.push((piece.to_vec(), class, town));
        }
    };
    let breaks: Vec<u32> = at.keys().copied().filter(|v| is_break(*v)).collect();
    for v in breaks {
        let es = at.get(&v).cloned().unwrap_or_default();
        for e in es {
            if !done.contains(&e) {
                walk(v, e, &mut done, &mut out);
            }
        }
    }
    // Closed loops without a break vertex.
    let rest: Vec<u32> = used.keys().copied().filter(|e| !done.contains(e)).collect();
    for e in rest {
        if !done.contains(&e) {
            let v = w.mesh.edges[e as usize].from;
            walk(v, e, &mut done, &mut out);
        }
    }
    out
}
