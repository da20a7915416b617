//! Seeded control-line overlaps with exact areas, the candidate sites, and the answers both
//! must produce (`expected.json`).

use std::collections::BTreeMap;

use geo::{
    Area, BooleanOps, BoundingRect, Contains, Coord, Distance, Euclidean, Intersects, LineString,
    MultiPolygon, Point, Polygon, Rect,
};
use serde::Serialize;

use super::SampleError;
use super::layers::{Built, PipeClass, real, text, zone};
use super::world::{Land, Special, TOWNS, World, c};
use crate::geometry::area::ellipsoidal_area;
use crate::layer::{Feature, Geom, LayerData, Value};

const TAG_SPOT: u64 = 200;

/// Sizes (w, h) of the seeded overlaps: three 生态保护红线 × 永久基本农田, one 城镇开发边界 ×
/// 生态保护红线. Each pair is two 300 m × 200 m rectangles offset so they overlap by w × h.
pub const SANXIAN_OVERLAPS: [(f64, f64); 4] =
    [(120.0, 80.0), (150.0, 60.0), (90.0, 70.0), (100.0, 50.0)];

/// A seeded overlap between two control-line features.
#[derive(Debug, Clone, Serialize)]
pub struct SeededOverlap {
    pub layer_a: &'static str,
    pub id_a: String,
    pub layer_b: &'static str,
    pub id_b: String,
    /// [xmin, ymin, xmax, ymax] in EPSG:4546.
    pub rect_a: [f64; 4],
    pub rect_b: [f64; 4],
    pub area_m2: f64,
}

/// A candidate site as written to `sites.txt`.
#[derive(Debug, Clone)]
pub struct SiteDef {
    pub id: String,
    pub name: String,
    pub usage: String,
    pub class_code: String,
    pub geom: MultiPolygon<f64>,
    /// What the site was designed to test.
    pub purpose: String,
    /// Hand-designed exact values (m²).
    pub designed: BTreeMap<String, f64>,
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Rect<f64> {
    Rect::new(c(x0, y0), c(x1, y1))
}

fn rect_mp(r: Rect<f64>) -> MultiPolygon<f64> {
    MultiPolygon::new(vec![r.to_polygon()])
}

fn corners(r: &Rect<f64>) -> [f64; 4] {
    [r.min().x, r.min().y, r.max().x, r.max().y]
}

fn bbox_hits(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

/// The two rectangles of pair `k`, relative to the origin `o`: A = [0,300]×[0,200] and B shifted
/// so that A ∩ B is exactly w × h.
fn pair_rects(o: Coord<f64>, k: usize) -> (Rect<f64>, Rect<f64>) {
    let (w, h) = SANXIAN_OVERLAPS[k];
    (
        rect(o.x, o.y, o.x + 300.0, o.y + 200.0),
        rect(
            o.x + 300.0 - w,
            o.y + 200.0 - h,
            o.x + 600.0 - w,
            o.y + 400.0 - h,
        ),
    )
}

/// Sites S2 and S3 around pair 0: S2 overlaps its 永久基本农田 rectangle by 50 × 50 m, S3 its
/// 生态保护红线 rectangle by 80 × 50 m.
fn pair0_sites(o: Coord<f64>) -> (Rect<f64>, Rect<f64>) {
    (
        rect(o.x - 30.0, o.y + 20.0, o.x + 50.0, o.y + 70.0),
        rect(o.x + 400.0, o.y + 250.0, o.x + 520.0, o.y + 300.0),
    )
}

/// Finds a place for a set of rectangles (given relative to an origin) where no 控规 parcel and
/// no control line lies within 150 m, well inside the district, away from earlier placements.
fn find_spot(
    w: &World,
    built: &Built,
    template: &[Rect<f64>],
    taken: &[Rect<f64>],
    tag: u64,
) -> Result<Coord<f64>, SampleError> {
    let mut bb = template[0];
    for r in template {
        bb = rect(
            bb.min().x.min(r.min().x),
            bb.min().y.min(r.min().y),
            bb.max().x.max(r.max().x),
            bb.max().y.max(r.max().y),
        );
    }
    let obstacles: Vec<(Rect<f64>, &MultiPolygon<f64>)> = ["kg", "yjjbnt", "sthx", "czkfbj"]
        .iter()
        .filter_map(|id| built.layer(id))
        .flat_map(|l| l.features.iter())
        .filter_map(|f| match &f.geom {
            Geom::Polygon(mp) => mp.bounding_rect().map(|r| (r, mp)),
            _ => None,
        })
        .collect();
    let mut candidates = Vec::new();
    for j in 0..=176u64 {
        for i in 0..=200u64 {
            candidates.push((super::rng::key(w.seed, TAG_SPOT + tag, &[i, j]), i, j));
        }
    }
    candidates.sort_unstable();
    for (_, i, j) in candidates {
        let o = c(565_000.0 + 250.0 * i as f64, 2_403_000.0 + 250.0 * j as f64);
        let b = rect(
            o.x + bb.min().x - 150.0,
            o.y + bb.min().y - 150.0,
            o.x + bb.max().x + 150.0,
            o.y + bb.max().y + 150.0,
        );
        let inside = (0..=4).all(|a| {
            (0..=4).all(|k| {
                let p = c(
                    b.min().x - 900.0 + (b.width() + 1_800.0) * f64::from(a) / 4.0,
                    b.min().y - 900.0 + (b.height() + 1_800.0) * f64::from(k) / 4.0,
                );
                w.in_outline(p)
            })
        });
        if !inside || taken.iter().any(|t| bbox_hits(t, &b)) {
            continue;
        }
        let bp = b.to_polygon();
        if obstacles
            .iter()
            .any(|(r, mp)| bbox_hits(r, &b) && mp.intersects(&bp))
        {
            continue;
        }
        let cell = w.cell_at(c(o.x + 150.0, o.y + 100.0));
        if cell.is_none_or(|s| !w.district[s]) {
            continue;
        }
        return Ok(o);
    }
    Err(SampleError::Placement(
        "no empty place for the seeded control-line overlaps".into(),
    ))
}

fn town_of(w: &World, p: Coord<f64>) -> usize {
    w.cell_at(p)
        .map(|s| w.town[s] as usize)
        .filter(|t| *t < TOWNS.len())
        .unwrap_or(0)
}

fn next_bsm(l: &LayerData) -> i64 {
    l.features.len() as i64 + 1
}

/// Adds the seeded control-line rectangles to 永久基本农田, 生态保护红线 and 城镇开发边界.
/// Returns the overlaps and the origin of pair 0 (the candidate sites S2 and S3 sit beside it).
pub fn seed_rectangles(
    w: &World,
    built: &mut Built,
) -> Result<(Vec<SeededOverlap>, Coord<f64>), SampleError> {
    let zone = zone()?;
    let mut taken: Vec<Rect<f64>> = Vec::new();
    let mut overlaps = Vec::new();
    let mut origin0 = c(0.0, 0.0);
    for (k, &(ow, oh)) in SANXIAN_OVERLAPS.iter().enumerate() {
        let zero = c(0.0, 0.0);
        let (a, b) = pair_rects(zero, k);
        let mut template = vec![a, b];
        if k == 0 {
            let (s2, s3) = pair0_sites(zero);
            template.extend([s2, s3]);
        }
        let o = find_spot(w, built, &template, &taken, k as u64)?;
        if k == 0 {
            origin0 = o;
        }
        let (ra, rb) = pair_rects(o, k);
        let (s2, s3) = pair0_sites(o);
        taken.extend([ra, rb]);
        if k == 0 {
            taken.extend([s2, s3]);
        }
        let t = &TOWNS[town_of(w, c(o.x + 300.0, o.y + 200.0))];
        let (mpa, mpb) = (rect_mp(ra), rect_mp(rb));
        let area_a = ellipsoidal_area(&mpa, &zone);
        let area_b = ellipsoidal_area(&mpb, &zone);
        let layer_a = if k == 3 { "czkfbj" } else { "yjjbnt" };
        let id_a = {
            let l = built
                .layer_mut(layer_a)
                .ok_or_else(|| SampleError::Placement(format!("no layer {layer_a}")))?;
            let bsm = next_bsm(l);
            let attrs = if k == 3 {
                vec![
                    Value::Int(bsm),
                    text(t.code),
                    text(t.name),
                    text("特别用途区"),
                    real(area_a, 2),
                ]
            } else {
                let kcxs = 0.08;
                let tbmj = (area_a * 100.0).round() / 100.0;
                vec![
                    Value::Int(bsm),
                    text("0101"),
                    text("水田"),
                    real(tbmj, 2),
                    real(kcxs, 2),
                    real(tbmj * (1.0 - kcxs), 2),
                    text(t.code),
                    text(t.name),
                ]
            };
            l.features.push(Feature {
                id: bsm.to_string(),
                class: (k != 3).then(|| "0101".to_string()),
                geom: Geom::Polygon(mpa),
                attrs,
            });
            bsm.to_string()
        };
        let id_b = {
            let l = built
                .layer_mut("sthx")
                .ok_or_else(|| SampleError::Placement("no layer sthx".into()))?;
            let bsm = next_bsm(l);
            l.features.push(Feature {
                id: bsm.to_string(),
                class: None,
                geom: Geom::Polygon(mpb),
                attrs: vec![
                    Value::Int(bsm),
                    text("阳东区水土保持生态保护红线"),
                    text("水土保持"),
                    real(area_b, 2),
                    text("粤府函〔2018〕248号（样例）"),
                ],
            });
            bsm.to_string()
        };
        overlaps.push(SeededOverlap {
            layer_a: "sthx",
            id_a: id_b,
            layer_b: layer_a,
            id_b: id_a,
            rect_a: corners(&rb),
            rect_b: corners(&ra),
            area_m2: ow * oh,
        });
    }
    Ok((overlaps, origin0))
}

fn polys(built: &Built, id: &str) -> Vec<(String, MultiPolygon<f64>)> {
    built
        .layer(id)
        .map(|l| {
            l.features
                .iter()
                .filter_map(|f| f.geom.as_polygons().map(|g| (f.id.clone(), g.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// The candidate sites.
pub fn sites(w: &World, built: &Built, origin0: Coord<f64>) -> Result<Vec<SiteDef>, SampleError> {
    let mut out = Vec::new();
    let kg = polys(built, "kg");
    let kg_by_id: BTreeMap<&str, &MultiPolygon<f64>> =
        kg.iter().map(|(i, g)| (i.as_str(), g)).collect();
    let cz = polys(built, "czkfbj");
    let qypg = polys(built, "qypg");

    // S1: a square with a square hole, inside one R2 parcel of the new district, inside the
    // development boundary and every assessment of the new district.
    let mut best: Option<(f64, usize, Coord<f64>)> = None;
    for s in 0..w.n() {
        let deep = w.special[s] == Special::NewDistrict
            && w.code[s] == "R2"
            && w.mesh.adj[s]
                .iter()
                .all(|t| w.special[*t as usize] == Special::NewDistrict);
        if !deep {
            continue;
        }
        let Some(parcel) = kg_by_id.get(built.kg_id[s].as_str()) else {
            continue;
        };
        let p = w.site(s);
        let centre = c(p.x.round(), p.y.round());
        let Some(poly) = parcel.0.first() else {
            continue;
        };
        if !poly.contains(&Point::from(centre)) {
            continue;
        }
        let d = Euclidean.distance(&Point::from(centre), poly.exterior());
        if best.is_none_or(|(bd, _, _)| d > bd) {
            best = Some((d, s, centre));
        }
    }
    let (d, s1_cell, centre) =
        best.ok_or_else(|| SampleError::Placement("no R2 parcel deep in the new district".into()))?;
    // Half side: a multiple of 3 (so the hole's side 2h/3 is whole metres), the square well inside.
    let h = (((d - 1.0) / std::f64::consts::SQRT_2 / 3.0).floor() * 3.0).min(24.0);
    if h < 6.0 {
        return Err(SampleError::Placement(format!(
            "the new district's R2 parcels are too small for site S1 ({d:.1} m)"
        )));
    }
    let outer = rect(centre.x - h, centre.y - h, centre.x + h, centre.y + h);
    let hole = rect(
        centre.x - h / 3.0,
        centre.y - h / 3.0,
        centre.x + h / 3.0,
        centre.y + h / 3.0,
    );
    let s1 = MultiPolygon::new(vec![Polygon::new(
        outer.to_polygon().exterior().clone(),
        vec![hole.to_polygon().exterior().clone()],
    )]);
    let parcel = kg_by_id
        .get(built.kg_id[s1_cell].as_str())
        .copied()
        .cloned()
        .unwrap_or_else(|| MultiPolygon::new(vec![]));
    let covering = |layer: &[(String, MultiPolygon<f64>)], g: &MultiPolygon<f64>| {
        layer.iter().filter(|(_, p)| p.contains(g)).count()
    };
    if !parcel.contains(&s1)
        || covering(&cz, &s1) != 1
        || covering(&qypg, &s1) != super::names::ASSESSMENTS.len()
    {
        return Err(SampleError::Placement(
            "site S1 is not inside its parcel, the boundary and the assessments".into(),
        ));
    }
    out.push(SiteDef {
        id: "YD2024-001".into(),
        name: "东城新区住宅用地".into(),
        usage: "住宅用地".into(),
        class_code: "0701".into(),
        purpose: format!(
            "inside one R2 parcel ({}), inside 城镇开发边界 and every 区域评估 of 东城新区; a {side}×{side} m square with a {hole}×{hole} m hole",
            built.kg_id[s1_cell],
            side = 2.0 * h,
            hole = 2.0 * h / 3.0
        ),
        designed: BTreeMap::from([("area_m2".to_string(), 4.0 * h * h - (2.0 * h / 3.0).powi(2))]),
        geom: s1,
    });

    // S2 and S3 beside the seeded pair 0.
    let (s2, s3) = pair0_sites(origin0);
    out.push(SiteDef {
        id: "YD2024-002".into(),
        name: "农田边缘地块".into(),
        usage: "工业用地".into(),
        class_code: "1001".into(),
        purpose: "overlaps the seeded 永久基本农田 rectangle of overlap pair 1 by exactly 50 m × 50 m; outside 城镇开发边界".into(),
        designed: BTreeMap::from([("area_m2".to_string(), 4_000.0), ("yjjbnt_m2".to_string(), 2_500.0), ("sthx_m2".to_string(), 0.0)]),
        geom: rect_mp(s2),
    });
    out.push(SiteDef {
        id: "YD2024-003".into(),
        name: "山地旅游服务地块".into(),
        usage: "商业服务业用地".into(),
        class_code: "0901".into(),
        purpose: "overlaps the seeded 生态保护红线 rectangle of overlap pair 1 by exactly 80 m × 50 m; outside 城镇开发边界".into(),
        designed: BTreeMap::from([("area_m2".to_string(), 6_000.0), ("yjjbnt_m2".to_string(), 0.0), ("sthx_m2".to_string(), 4_000.0)]),
        geom: rect_mp(s3),
    });

    // S4: a village site, outside the development boundary, touching no control line and no
    // 控规 parcel (no 城规 coverage: "no data", not non-construction), with no survey point
    // within 320 m (beyond the largest protection or safety distance) and no pipeline within 30 m.
    let obstacles: Vec<(Rect<f64>, MultiPolygon<f64>)> = ["kg", "yjjbnt", "sthx", "czkfbj"]
        .iter()
        .flat_map(|id| polys(built, id))
        .filter_map(|(_, g)| g.bounding_rect().map(|r| (r, g)))
        .collect();
    let points: Vec<Coord<f64>> = ["wenwu", "lsjz", "gsmm", "whp"]
        .iter()
        .filter_map(|id| built.layer(id))
        .flat_map(|l| l.features.iter())
        .filter_map(|f| match &f.geom {
            Geom::Point(mp) => mp.0.first().map(|p| p.0),
            _ => None,
        })
        .collect();
    let clear = |r: &Rect<f64>| {
        let far = |p: &Coord<f64>| {
            let dx = (r.min().x - p.x).max(p.x - r.max().x).max(0.0);
            let dy = (r.min().y - p.y).max(p.y - r.max().y).max(0.0);
            dx.hypot(dy) > 320.0
        };
        let near = rect(
            r.min().x - 30.0,
            r.min().y - 30.0,
            r.max().x + 30.0,
            r.max().y + 30.0,
        )
        .to_polygon();
        points.iter().all(far) && !built.pipes.iter().any(|p| p.line.intersects(&near))
    };
    let mut villages: Vec<(u64, usize)> = (0..w.n())
        .filter(|s| w.district[*s] && w.land[*s] == Land::Village)
        .map(|s| (super::rng::key(w.seed, TAG_SPOT + 10, &[s as u64]), s))
        .collect();
    villages.sort_unstable();
    let s4 = villages
        .iter()
        .map(|(_, s)| {
            let p = w.site(*s);
            rect(
                p.x.round() - 25.0,
                p.y.round() - 20.0,
                p.x.round() + 25.0,
                p.y.round() + 20.0,
            )
        })
        .find(|r| {
            let near = rect(
                r.min().x - 30.0,
                r.min().y - 30.0,
                r.max().x + 30.0,
                r.max().y + 30.0,
            );
            let np = near.to_polygon();
            !obstacles
                .iter()
                .any(|(b, g)| bbox_hits(b, &near) && g.intersects(&np))
                && clear(r)
        })
        .ok_or_else(|| SampleError::Placement("no free village cell for site S4".into()))?;
    out.push(SiteDef {
        id: "YD2024-004".into(),
        name: "乡村产业用地".into(),
        usage: "工业用地".into(),
        class_code: "1001".into(),
        purpose:
            "a village site outside 城镇开发边界, no 控规 coverage, no 永久基本农田 or 生态保护红线, no survey point or pipeline near"
                .into(),
        designed: BTreeMap::from([
            ("area_m2".to_string(), 2_000.0),
            ("czkfbj_m2".to_string(), 0.0),
        ]),
        geom: rect_mp(s4),
    });

    // S5: across a gas pipe of 东城镇, 8 m from an old tree whose protection radius is 15 m.
    let s5 = built
        .pipes
        .iter()
        .filter(|p| p.layer == "rq" && p.class == PipeClass::Radial && p.town == 0)
        .flat_map(|p| p.line.lines())
        .find_map(|seg| {
            // Any point of the pipe will do: the site's centre is that point rounded to the metre,
            // so the pipe passes within 0.71 m of it and crosses the 60 × 40 m rectangle.
            let m = c(
                ((seg.start.x + seg.end.x) / 2.0).round(),
                ((seg.start.y + seg.end.y) / 2.0).round(),
            );
            let cell = w.cell_at(m)?;
            (w.plan[cell] && w.special[cell] == Special::None && w.dn[cell] < 0.7).then_some(m)
        })
        .ok_or_else(|| SampleError::Placement("no gas pipe segment for site S5".into()))?;
    out.push(SiteDef {
        id: "YD2024-005".into(),
        name: "东城镇商业地块".into(),
        usage: "商业服务业用地".into(),
        class_code: "0901".into(),
        purpose: "crossed by a 燃气 pipe; 古树 {tree} stands 8 m east of it, inside its 15 m protection radius".into(),
        designed: BTreeMap::from([("area_m2".to_string(), 2_400.0), ("tree_distance_m".to_string(), 8.0)]),
        geom: rect_mp(rect(s5.x - 30.0, s5.y - 20.0, s5.x + 30.0, s5.y + 20.0)),
    });
    Ok(out)
}

/// The seeded old tree beside site S5 (added to 古树名木).
pub fn seed_tree(w: &World, built: &mut Built, s5: &SiteDef) -> Result<String, SampleError> {
    let r = s5
        .geom
        .bounding_rect()
        .ok_or_else(|| SampleError::Placement("empty site S5".into()))?;
    let p = c(r.max().x + 8.0, (r.min().y + r.max().y) / 2.0);
    let town = TOWNS[town_of(w, p)].name;
    let l = built
        .layer_mut("gsmm")
        .ok_or_else(|| SampleError::Placement("no layer gsmm".into()))?;
    let bh = format!("441704{:05}", l.features.len() + 1);
    l.features.push(Feature {
        id: bh.clone(),
        class: None,
        attrs: vec![
            text(bh.clone()),
            text("榕树"),
            Value::Int(350),
            text("二级"),
            real(15.0, 1),
            text(town),
        ],
        geom: Geom::Point(geo::MultiPoint::new(vec![Point::from(p)])),
    });
    Ok(bh)
}

#[derive(Debug, Serialize)]
struct Hit {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    overlap_m2: f64,
}

#[derive(Debug, Serialize)]
struct Near {
    id: String,
    distance_m: f64,
    radius_m: f64,
}

#[derive(Debug, Serialize)]
struct SiteAnswer {
    id: String,
    name: String,
    purpose: String,
    designed: BTreeMap<String, f64>,
    area_m2: f64,
    ellipsoidal_area_m2: f64,
    towns: Vec<String>,
    kg: Vec<Hit>,
    gzq: Vec<Hit>,
    ytq: Vec<Hit>,
    yjjbnt_m2: f64,
    sthx_m2: f64,
    czkfbj_m2: f64,
    inside_czkfbj: bool,
    /// Assessments covering the whole site.
    qypg_covering: Vec<String>,
    /// Assessments covering part of it.
    qypg_partly: Vec<String>,
    /// Of both, those whose validity ended before 2024-01-01.
    qypg_expired_before_2024: Vec<String>,
    wenwu_within_control_zone: Vec<Near>,
    gsmm_within_radius: Vec<Near>,
    whp_within_safety_distance: Vec<Near>,
    pipes_crossing: BTreeMap<String, Vec<String>>,
}

fn round2(x: f64) -> f64 {
    // `+ 0.0` turns a negative zero (a rounded -0.001) into 0.
    (x * 100.0).round() / 100.0 + 0.0
}

fn hits(layer: &LayerData, site: &MultiPolygon<f64>) -> Vec<Hit> {
    let Some(sb) = site.bounding_rect() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for f in &layer.features {
        let Some(g) = f.geom.as_polygons() else {
            continue;
        };
        if !g.bounding_rect().is_some_and(|b| bbox_hits(&b, &sb)) {
            continue;
        }
        let a = g.intersection(site).unsigned_area();
        if a > 0.005 {
            out.push(Hit {
                id: f.id.clone(),
                code: f.class.clone(),
                overlap_m2: round2(a),
            });
        }
    }
    out
}

fn total(layer: Option<&LayerData>, site: &MultiPolygon<f64>) -> f64 {
    layer
        .map(|l| hits(l, site).iter().map(|h| h.overlap_m2).sum::<f64>())
        .map(round2)
        .unwrap_or(0.0)
}

fn near_points(
    layer: Option<&LayerData>,
    site: &MultiPolygon<f64>,
    radius_field: &str,
) -> Vec<Near> {
    let Some(l) = layer else { return Vec::new() };
    let mut out = Vec::new();
    for (i, f) in l.features.iter().enumerate() {
        let Geom::Point(mp) = &f.geom else { continue };
        let Some(radius) = l.attr(i, radius_field).as_f64() else {
            continue;
        };
        for p in &mp.0 {
            let d = site
                .0
                .iter()
                .map(|poly| Euclidean.distance(p, poly))
                .fold(f64::INFINITY, f64::min);
            if d <= radius {
                out.push(Near {
                    id: f.id.clone(),
                    distance_m: round2(d),
                    radius_m: radius,
                });
            }
        }
    }
    out
}

fn answer(built: &Built, site: &SiteDef) -> Result<SiteAnswer, SampleError> {
    let zone = zone()?;
    let g = &site.geom;
    let layer = |id: &str| built.layer(id);
    let cz_m2 = total(layer("czkfbj"), g);
    let area = g.unsigned_area();
    let qypg = layer("qypg");
    let mut covering = Vec::new();
    let mut partly = Vec::new();
    let mut expired = Vec::new();
    if let Some(l) = qypg {
        for (i, f) in l.features.iter().enumerate() {
            let Some(p) = f.geom.as_polygons() else {
                continue;
            };
            let a = p.intersection(g).unsigned_area();
            if a <= 0.01 {
                continue;
            }
            if p.contains(g) {
                covering.push(f.id.clone());
            } else {
                partly.push(f.id.clone());
            }
            if l.attr(i, "YXQZ")
                .as_text()
                .is_some_and(|d| d < "2024-01-01")
            {
                expired.push(f.id.clone());
            }
        }
    }
    let mut pipes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in &built.pipes {
        if p.line.intersects(g) {
            pipes
                .entry(p.layer.to_string())
                .or_default()
                .push(p.id.clone());
        }
    }
    Ok(SiteAnswer {
        id: site.id.clone(),
        name: site.name.clone(),
        purpose: site.purpose.clone(),
        designed: site.designed.clone(),
        area_m2: round2(area),
        ellipsoidal_area_m2: round2(ellipsoidal_area(g, &zone)),
        towns: layer("towns")
            .map(|l| hits(l, g).into_iter().map(|h| h.id).collect())
            .unwrap_or_default(),
        kg: layer("kg").map(|l| hits(l, g)).unwrap_or_default(),
        gzq: layer("gzq").map(|l| hits(l, g)).unwrap_or_default(),
        ytq: layer("ytq").map(|l| hits(l, g)).unwrap_or_default(),
        yjjbnt_m2: total(layer("yjjbnt"), g),
        sthx_m2: total(layer("sthx"), g),
        czkfbj_m2: cz_m2,
        inside_czkfbj: (cz_m2 - area).abs() < 0.01,
        qypg_covering: covering,
        qypg_partly: partly,
        qypg_expired_before_2024: expired,
        wenwu_within_control_zone: near_points(layer("wenwu"), g, "JSKZDD_M"),
        gsmm_within_radius: near_points(layer("gsmm"), g, "BHBJ_M"),
        whp_within_safety_distance: near_points(layer("whp"), g, "AQJL_M"),
        pipes_crossing: pipes,
    })
}

/// What one rule of `data/rules/default.toml` must report on the sample.
#[derive(Debug, Serialize)]
struct RuleAnswer {
    rule: &'static str,
    description: &'static str,
    subject_layer: &'static str,
    other_layer: &'static str,
    /// Subject features with a (non-sliver) piece.
    subject_ids: Vec<String>,
    /// The features they meet on the other layer (empty for an `outside` rule).
    other_ids: Vec<String>,
    /// Total area of the pieces: exact for the seeded rectangles and for layers drawn on one
    /// base, the subject parcels' own area otherwise (an overlay finds it up to slivers).
    area_m2: f64,
    exact: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pieces: Vec<SeededOverlap>,
}

fn ids(v: impl IntoIterator<Item = i64>) -> Vec<String> {
    let mut v: Vec<i64> = v.into_iter().filter(|b| *b > 0).collect();
    v.sort_unstable();
    v.dedup();
    v.into_iter().map(|b| b.to_string()).collect()
}

fn kg_answer(
    built: &Built,
    cells: &[u32],
    rule: &'static str,
    description: &'static str,
    other_layer: &'static str,
    other_ids: Vec<String>,
    exact: bool,
) -> RuleAnswer {
    let mut subject: Vec<String> = cells
        .iter()
        .map(|s| built.kg_id[*s as usize].clone())
        .collect();
    subject.sort();
    subject.dedup();
    let area: f64 = built
        .layer("kg")
        .map(|l| {
            l.features
                .iter()
                .filter(|f| subject.binary_search(&f.id).is_ok())
                .filter_map(|f| f.geom.as_polygons())
                .map(|g| g.unsigned_area())
                .sum()
        })
        .unwrap_or(0.0);
    RuleAnswer {
        rule,
        description,
        subject_layer: "kg",
        other_layer,
        subject_ids: subject,
        other_ids,
        area_m2: round2(area),
        exact,
        pieces: Vec::new(),
    }
}

fn none(
    rule: &'static str,
    description: &'static str,
    subject: &'static str,
    other: &'static str,
) -> RuleAnswer {
    RuleAnswer {
        rule,
        description,
        subject_layer: subject,
        other_layer: other,
        subject_ids: Vec::new(),
        other_ids: Vec::new(),
        area_m2: 0.0,
        exact: true,
        pieces: Vec::new(),
    }
}

fn overlap_answer(
    rule: &'static str,
    description: &'static str,
    subject: &'static str,
    other: &'static str,
    pieces: Vec<SeededOverlap>,
) -> RuleAnswer {
    let mut subject_ids: Vec<String> = pieces
        .iter()
        .map(|p| {
            if p.layer_a == subject {
                p.id_a.clone()
            } else {
                p.id_b.clone()
            }
        })
        .collect();
    let mut other_ids: Vec<String> = pieces
        .iter()
        .map(|p| {
            if p.layer_a == subject {
                p.id_b.clone()
            } else {
                p.id_a.clone()
            }
        })
        .collect();
    subject_ids.sort();
    other_ids.sort();
    RuleAnswer {
        rule,
        description,
        subject_layer: subject,
        other_layer: other,
        subject_ids,
        other_ids,
        area_m2: pieces.iter().map(|p| p.area_m2).sum(),
        exact: true,
        pieces,
    }
}

/// `expected.json`: what reconciliation (by rule of `data/rules/default.toml`) and site checks
/// must find in the sample.
pub fn expected(
    w: &World,
    built: &Built,
    overlaps: &[SeededOverlap],
    sites: &[SiteDef],
    params: serde_json::Value,
) -> Result<serde_json::Value, SampleError> {
    let s = &w.seeds;
    let cat = |a: &[u32], b: &[u32]| {
        let mut v: Vec<u32> = a.iter().chain(b).copied().collect();
        v.sort_unstable();
        v
    };
    let gzq_of = |cells: &[u32]| ids(cells.iter().map(|c| built.gzq_id[*c as usize]));
    let yj_of = |cells: &[u32]| ids(cells.iter().map(|c| built.yj_id[*c as usize]));
    let on_hard = cat(&s.on_030, &s.on_040);
    let outside = cat(&s.outside_boundary, &s.on_farmland);
    // 紫线: construction parcels of the historic district except 文物古迹 and green space, which
    // the rule exempts.
    let historic: Vec<u32> = (0..w.n())
        .filter(|c| {
            matches!(
                w.special[*c],
                Special::HistoricCore | Special::HistoricBuffer
            ) && w.land[*c] == Land::Urban
                && World::is_construction(w.code[*c])
                && !w.code[*c].starts_with("A7")
                && !w.code[*c].starts_with('G')
        })
        .map(|c| c as u32)
        .collect();
    let zixian_ids: Vec<String> = built
        .layer("zixian")
        .map(|l| l.features.iter().map(|f| f.id.clone()).collect())
        .unwrap_or_default();
    let pair = |k: &str| {
        overlaps
            .iter()
            .filter(|p| p.layer_b == k)
            .cloned()
            .collect::<Vec<_>>()
    };
    let rules = vec![
        kg_answer(
            built,
            &on_hard,
            "cgjs-tgfjs",
            "城规建设用地落在土规限制建设区 030（北惯镇）和禁止建设区 040（那龙镇）",
            "gzq",
            gzq_of(&on_hard),
            false,
        ),
        kg_answer(
            built,
            &s.on_020,
            "cgjs-tgytj",
            "城规建设用地落在土规有条件建设区 020（东平镇）",
            "gzq",
            gzq_of(&s.on_020),
            false,
        ),
        {
            // The subject here is the 土规 zone; the parcels are the 控规 E2 land inside it.
            let mut a = kg_answer(
                built,
                &s.e2_on_010,
                "tgjs-cgfjs",
                "土规允许建设区 010 上的城规 E2 农林用地（新洲镇）",
                "kg",
                Vec::new(),
                false,
            );
            a.other_ids = std::mem::take(&mut a.subject_ids);
            a.subject_layer = "gzq";
            a.subject_ids = gzq_of(&s.e2_on_010);
            a
        },
        kg_answer(
            built,
            &s.on_farmland,
            "js-jbnt",
            "控规建设用地压占永久基本农田（合山镇）",
            "yjjbnt",
            yj_of(&s.on_farmland),
            false,
        ),
        none("js-sthx", "控规建设用地不占生态保护红线", "kg", "sthx"),
        kg_answer(
            built,
            &outside,
            "js-kfbj-out",
            "城镇开发边界外的控规城镇建设用地：雅韶镇规划区边缘一组，加上合山镇压占永久基本农田的一组",
            "czkfbj",
            Vec::new(),
            false,
        ),
        overlap_answer(
            "jbnt-sthx",
            "永久基本农田与生态保护红线重叠：三对矩形，重叠面积精确",
            "yjjbnt",
            "sthx",
            pair("yjjbnt"),
        ),
        none(
            "jbnt-kfbj",
            "永久基本农田与城镇开发边界不重叠",
            "yjjbnt",
            "czkfbj",
        ),
        overlap_answer(
            "sthx-kfbj",
            "生态保护红线与城镇开发边界重叠：一对矩形，重叠面积精确",
            "sthx",
            "czkfbj",
            pair("czkfbj"),
        ),
        none(
            "js-lanxian",
            "蓝线只覆盖水域（E11），不压占建设用地",
            "kg",
            "lanxian",
        ),
        kg_answer(
            built,
            &historic,
            "js-zixian",
            "东城镇历史文化街区内的建设用地（A7、G 除外），紫线与控规同底图绘制，面积精确",
            "zixian",
            zixian_ids,
            true,
        ),
    ];
    let answers = sites
        .iter()
        .map(|site| answer(built, site))
        .collect::<Result<Vec<_>, _>>()?;
    let counts: BTreeMap<&str, usize> = built
        .layers
        .iter()
        .map(|(id, l)| (*id, l.features.len()))
        .collect();
    let kg_construction = (0..w.n())
        .filter(|c| w.plan[*c] && World::is_construction(w.code[*c]))
        .count();
    Ok(serde_json::json!({
        "note": "Answers the sample was built to produce, by rule of data/rules/default.toml. The plans' shared boundaries differ by 0.3–2.5 m, so every shared boundary also yields strips up to 2.5 m wide: compare after a sliver filter wider than that (`lantu reconcile --min-width-m 6`), which leaves exactly the listed features. Areas are planar (EPSG:4546); where `exact` is false the area is the subject parcels' own, which the overlay matches within 1 %. Control-line overlaps and designed site values are exact.",
        "compare_with": { "min_width_m": 6.0, "min_area_m2": 1.0, "area_tolerance": 0.01 },
        "params": params,
        "layers": counts,
        "kg_construction_parcels": kg_construction,
        "rules": rules,
        "sites": answers,
    }))
}

/// The ring coordinates of a site in writing order (exterior first, holes after).
pub fn rings(site: &SiteDef) -> Vec<Vec<Coord<f64>>> {
    site.geom
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .map(|r: &LineString<f64>| r.0.clone())
        .collect()
}
