//! The sample-district generator: determinism, clean coverages, bounded offsets between the two
//! plans, the exact seeded answers, and the committed `data/sample`.
//!
//! Expected values here are hand-computed from the design (rectangle sizes, site sizes), or
//! measured with geo's overlay and distance functions on the layers as read back from the files.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use geo::{
    Area, BooleanOps, BoundingRect, Contains, Coord, Distance, Euclidean, Intersects, Line,
    MultiPolygon, Point, Validation,
};
use lantu::blueprint::{Blueprint, Manifest, import_manifest};
use lantu::crs::Crs;
use lantu::import::import_layer;
use lantu::layer::{Geom, LayerData};
use lantu::reconcile::{self, ConflictPiece, Params, ReconcileError, Sink};
use lantu::rules::RuleSet;
use lantu::sample::{self, SampleParams};
use lantu::site::{Site, SiteParams, analyse};
use lantu::store::Store;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

const SMALL: usize = 3_000;

fn params(seed: u64) -> SampleParams {
    SampleParams {
        parcels: SMALL,
        seed,
        ..SampleParams::default()
    }
}

/// Two generations of the same small sample, one of another seed, kept under the target
/// directory (a static is never dropped, so a temporary directory would outlive the run).
struct Generated {
    a: PathBuf,
    b: PathBuf,
    other: PathBuf,
}

fn generated() -> &'static Generated {
    static G: OnceLock<Generated> = OnceLock::new();
    G.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sample-tests");
        let g = Generated {
            a: root.join("a"),
            b: root.join("b"),
            other: root.join("other"),
        };
        sample::generate(&params(7), &g.a).unwrap();
        sample::generate(&params(7), &g.b).unwrap();
        sample::generate(&params(8), &g.other).unwrap();
        g
    })
}

/// Every layer of a generated sample, read back through the importer.
fn read_layers(dir: &Path) -> BTreeMap<String, LayerData> {
    let manifest = Manifest::load(&dir.join("blueprint.toml")).unwrap();
    let working = Crs::Epsg(4546);
    manifest
        .layers
        .iter()
        .map(|spec| {
            (
                spec.id.clone(),
                import_layer(spec, dir, &working).unwrap().data,
            )
        })
        .collect()
}

fn layers_a() -> &'static BTreeMap<String, LayerData> {
    static L: OnceLock<BTreeMap<String, LayerData>> = OnceLock::new();
    L.get_or_init(|| read_layers(generated().a.as_path()))
}

fn expected(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap()
}

fn polygons(layer: &LayerData) -> Vec<(&str, &MultiPolygon<f64>)> {
    layer
        .features
        .iter()
        .filter_map(|f| f.geom.as_polygons().map(|g| (f.id.as_str(), g)))
        .collect()
}

fn feature<'a>(layer: &'a LayerData, id: &str) -> &'a MultiPolygon<f64> {
    layer
        .features
        .iter()
        .find(|f| f.id == id)
        .and_then(|f| f.geom.as_polygons())
        .expect("the feature named by expected.json exists")
}

fn rule<'a>(exp: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    exp["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == id)
        .unwrap()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn same_parameters_give_the_same_sample() {
    let g = generated();
    for file in [
        "qypg.geojson",
        "expected.json",
        "blueprint.toml",
        "sites.txt",
    ] {
        let (a, b) = (
            std::fs::read(g.a.as_path().join(file)).unwrap(),
            std::fs::read(g.b.as_path().join(file)).unwrap(),
        );
        assert!(
            a == b,
            "{file} differs between two runs with the same parameters"
        );
    }
    let b = read_layers(g.b.as_path());
    assert_eq!(
        layers_a().keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>()
    );
    for (id, layer) in layers_a() {
        assert!(
            layer == &b[id],
            "layer {id} differs between two runs with the same parameters"
        );
    }
    // Another seed is another district.
    let other = std::fs::read(g.other.as_path().join("qypg.geojson")).unwrap();
    assert!(other != std::fs::read(g.a.as_path().join("qypg.geojson")).unwrap());
}

#[test]
fn office_formats_as_promised() {
    let dir = generated().a.as_path();
    // gzq: GBK without any declaration (no .cpg, no .prj, code-page byte 0), Chinese text intact.
    assert!(!dir.join("gzq.cpg").exists() && !dir.join("gzq.prj").exists());
    let dbf = std::fs::read(dir.join("gzq.dbf")).unwrap();
    assert_eq!(dbf[29], 0);
    let gbk_name = encoding_rs::GBK.encode("限制建设区").0;
    assert!(
        dbf.windows(gbk_name.len()).any(|w| w == &gbk_name[..]),
        "GBK bytes of 限制建设区 in gzq.dbf"
    );
    let names: Vec<&str> = layers_a()["gzq"]
        .features
        .iter()
        .filter_map(|f| f.attrs.get(2).and_then(|v| v.as_text()))
        .collect();
    assert!(names.contains(&"限制建设区") && names.contains(&"允许建设区"));
    // towns: GBK with its .cpg.
    assert_eq!(
        std::fs::read_to_string(dir.join("towns.cpg"))
            .unwrap()
            .trim(),
        "GBK"
    );
    // ytq is stored with zone-prefixed eastings and comes back in the working CRS.
    let ytq_raw = std::process::Command::new("ogrinfo")
        .arg("-so")
        .arg("-al")
        .arg(dir.join("ytq.gpkg"))
        .output();
    if let Ok(out) = ytq_raw {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Extent: (375"),
            "ytq eastings carry the zone prefix: {text}"
        );
    }
    let ytq = layers_a()["ytq"].bounding_rect().unwrap();
    assert!(ytq.min().x > 560_000.0 && ytq.max().x < 620_000.0);
    // qypg declares EPSG:4490.
    let qypg = std::fs::read_to_string(dir.join("qypg.geojson")).unwrap();
    assert!(qypg.contains("urn:ogc:def:crs:EPSG::4490"));
    // The district lies inside 阳东's extent.
    let towns = layers_a()["towns"].bounding_rect().unwrap();
    assert!(towns.min().x >= 560_000.0 && towns.max().x <= 620_000.0);
    assert!(towns.min().y >= 2_400_000.0 && towns.max().y <= 2_450_000.0);
    let area: f64 = polygons(&layers_a()["towns"])
        .iter()
        .map(|(_, g)| g.unsigned_area())
        .sum();
    assert!((1.2e9..1.8e9).contains(&area), "district area {area}");
    assert_eq!(layers_a()["towns"].features.len(), 8);
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

fn bbox_tree(polys: &[(&str, &MultiPolygon<f64>)]) -> RTree<Entry> {
    RTree::bulk_load(
        polys
            .iter()
            .enumerate()
            .map(|(i, (_, g))| {
                let r = g.bounding_rect().unwrap();
                GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                )
            })
            .collect(),
    )
}

#[test]
fn plan_layers_are_clean_coverages() {
    for id in ["kg", "gzq"] {
        let layer = &layers_a()[id];
        let polys = polygons(layer);
        assert!(polys.len() > 500, "{id} has {} polygons", polys.len());
        for (fid, g) in &polys {
            assert!(g.is_valid(), "{id} {fid}: {:?}", g.validation_errors());
        }
        // Neighbours meet without overlapping: every 5th polygon against all its candidates.
        let tree = bbox_tree(&polys);
        let mut pairs = 0;
        for (i, (fid, g)) in polys.iter().enumerate().step_by(5) {
            let r = g.bounding_rect().unwrap();
            for e in tree.locate_in_envelope_intersecting(AABB::from_corners(
                [r.min().x, r.min().y],
                [r.max().x, r.max().y],
            )) {
                if e.data == i {
                    continue;
                }
                let (oid, other) = polys[e.data];
                let a = g.intersection(other).unsigned_area();
                assert!(a < 1e-6, "{id} {fid} overlaps {oid} by {a} m²");
                pairs += 1;
            }
        }
        assert!(pairs > 1_000, "{id}: only {pairs} neighbour pairs checked");
    }
    assert!(layers_a()["kg"].features.len() >= SMALL);
}

/// Distance from `p` to the nearest boundary segment in `tree`.
fn nearest_boundary(
    tree: &RTree<GeomWithData<Rectangle<[f64; 2]>, Line<f64>>>,
    p: Coord<f64>,
    reach: f64,
) -> Option<f64> {
    tree.locate_in_envelope_intersecting(AABB::from_corners(
        [p.x - reach, p.y - reach],
        [p.x + reach, p.y + reach],
    ))
    .map(|e| Euclidean.distance(&Point::from(p), &e.data))
    .min_by(|a, b| a.total_cmp(b))
}

#[test]
fn plan_boundaries_disagree_by_bounded_offsets() {
    let kg = &layers_a()["kg"];
    let gzq = &layers_a()["gzq"];
    let segments: Vec<GeomWithData<Rectangle<[f64; 2]>, Line<f64>>> = polygons(kg)
        .iter()
        .flat_map(|(_, g)| {
            g.0.iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        })
        .flat_map(|r| r.lines())
        .map(|l| {
            GeomWithData::new(
                Rectangle::from_corners(
                    [l.start.x.min(l.end.x), l.start.y.min(l.end.y)],
                    [l.start.x.max(l.end.x), l.start.y.max(l.end.y)],
                ),
                l,
            )
        })
        .collect();
    let tree = RTree::bulk_load(segments);
    // Inside the 控规 planning area every 土规 vertex is a digitisation of a 控规 vertex: take
    // the 土规 vertices that fall inside a 控规 parcel and measure how far they are from the
    // parcel boundaries.
    let kg_polys = polygons(kg);
    let kg_tree = bbox_tree(&kg_polys);
    let mut d: Vec<f64> = Vec::new();
    for (_, g) in polygons(gzq) {
        for p in &g.0 {
            for c in p
                .exterior()
                .0
                .iter()
                .chain(p.interiors().iter().flat_map(|r| r.0.iter()))
            {
                let inside = kg_tree
                    .locate_in_envelope_intersecting(AABB::from_point([c.x, c.y]))
                    .any(|e| kg_polys[e.data].1.contains(c));
                if inside {
                    d.push(nearest_boundary(&tree, *c, 50.0).unwrap_or(f64::INFINITY));
                }
            }
        }
    }
    assert!(
        d.len() > 1_000,
        "{} 土规 vertices on 控规 boundaries",
        d.len()
    );
    let max = d.iter().copied().fold(0.0, f64::max);
    assert!(
        max <= 3.0,
        "a 土规 vertex lies {max} m from the 控规 boundary"
    );
    // Only the part of the offset across the boundary shows; it is under 0.1 m only where the two
    // digitisations happen to move nearly along the boundary.
    let over = d.iter().filter(|x| **x >= 0.1).count() as f64 / d.len() as f64;
    assert!(
        over > 0.85,
        "only {:.1} % of the offsets are ≥ 0.1 m",
        over * 100.0
    );
    assert!(
        d.iter().all(|x| *x > 0.0),
        "the two plans never share a vertex exactly"
    );
}

#[test]
fn seeded_control_line_overlaps_have_exact_areas() {
    let exp = expected(generated().a.as_path());
    let yjjbnt = &layers_a()["yjjbnt"];
    let sthx = &layers_a()["sthx"];
    let czkfbj = &layers_a()["czkfbj"];
    // 120 × 80, 150 × 60, 90 × 70 (永久基本农田 × 生态保护红线) and 100 × 50 (城镇开发边界 × 红线).
    let designed = [9_600.0, 9_000.0, 6_300.0];
    let pieces = rule(&exp, "jbnt-sthx")["pieces"].as_array().unwrap();
    assert_eq!(pieces.len(), 3);
    for (p, want) in pieces.iter().zip(designed) {
        let a = feature(sthx, p["id_a"].as_str().unwrap());
        let b = feature(yjjbnt, p["id_b"].as_str().unwrap());
        let got = a.intersection(b).unsigned_area();
        assert!((got - want).abs() < 1e-6, "overlap {got} ≠ {want}");
    }
    let p = &rule(&exp, "sthx-kfbj")["pieces"][0];
    let got = feature(sthx, p["id_a"].as_str().unwrap())
        .intersection(feature(czkfbj, p["id_b"].as_str().unwrap()))
        .unsigned_area();
    assert!((got - 5_000.0).abs() < 1e-6);
    // Apart from these, the three control lines do not overlap at all.
    let seeded: Vec<&str> = pieces
        .iter()
        .chain(std::iter::once(p))
        .flat_map(|p| [p["id_a"].as_str().unwrap(), p["id_b"].as_str().unwrap()])
        .collect();
    let mut total = 0.0;
    for (la, lb) in [(yjjbnt, sthx), (yjjbnt, czkfbj), (sthx, czkfbj)] {
        let bp = polygons(lb);
        let tree = bbox_tree(&bp);
        for (ida, a) in polygons(la) {
            let r = a.bounding_rect().unwrap();
            for e in tree.locate_in_envelope_intersecting(AABB::from_corners(
                [r.min().x, r.min().y],
                [r.max().x, r.max().y],
            )) {
                let (idb, b) = bp[e.data];
                let area = a.intersection(b).unsigned_area();
                if !(seeded.contains(&ida) && seeded.contains(&idb)) {
                    assert!(area < 1e-6, "unseeded overlap {ida} × {idb}: {area} m²");
                }
                total += area;
            }
        }
    }
    assert!(
        (total - (9_600.0 + 9_000.0 + 6_300.0 + 5_000.0)).abs() < 1e-4,
        "total {total}"
    );
}

#[test]
fn seeded_plan_conflicts_are_where_expected() {
    let exp = expected(generated().a.as_path());
    let kg = &layers_a()["kg"];
    let gzq = &layers_a()["gzq"];
    let code = |l: &LayerData, id: &str| {
        l.features
            .iter()
            .find(|f| f.id == id)
            .and_then(|f| f.class.clone())
            .unwrap()
    };
    // Each listed 控规 parcel lies (up to the boundary offset) in 土规 zones of the named class.
    for (rule_id, kg_construction, zone) in [
        ("cgjs-tgfjs", true, ["03", "04"]),
        ("cgjs-tgytj", true, ["02", "02"]),
        ("tgjs-cgfjs", false, ["01", "01"]),
    ] {
        let r = rule(&exp, rule_id);
        let parcels = if rule_id == "tgjs-cgfjs" {
            strings(&r["other_ids"])
        } else {
            strings(&r["subject_ids"])
        };
        assert!(parcels.len() >= 3, "{rule_id}: {parcels:?}");
        let zones: Vec<(&str, &MultiPolygon<f64>)> = polygons(gzq)
            .into_iter()
            .filter(|(id, _)| zone.iter().any(|z| code(gzq, id).starts_with(z)))
            .collect();
        let tree = bbox_tree(&zones);
        let mut inside = 0.0;
        let mut area = 0.0;
        for id in &parcels {
            let c = code(kg, id);
            assert_eq!(
                !c.starts_with('E'),
                kg_construction,
                "{rule_id}: {id} is {c}"
            );
            let g = feature(kg, id);
            area += g.unsigned_area();
            let r = g.bounding_rect().unwrap();
            for e in tree.locate_in_envelope_intersecting(AABB::from_corners(
                [r.min().x, r.min().y],
                [r.max().x, r.max().y],
            )) {
                inside += g.intersection(zones[e.data].1).unsigned_area();
            }
        }
        assert!(
            inside / area > 0.97,
            "{rule_id}: {:.2} % of the parcels in the zones",
            inside / area * 100.0
        );
        assert!((area - r["area_m2"].as_f64().unwrap()).abs() < 0.1);
    }
    // 永久基本农田 under 控规 construction, and construction outside 城镇开发边界.
    let yj = &layers_a()["yjjbnt"];
    let r = rule(&exp, "js-jbnt");
    for id in strings(&r["subject_ids"]) {
        let g = feature(kg, &id);
        let on: f64 = strings(&r["other_ids"])
            .iter()
            .map(|o| g.intersection(feature(yj, o)).unsigned_area())
            .sum();
        assert!(on / g.unsigned_area() > 0.9, "{id} on 永久基本农田: {on}");
    }
    let cz = &layers_a()["czkfbj"];
    let outside = strings(&rule(&exp, "js-kfbj-out")["subject_ids"]);
    assert!(outside.len() >= strings(&r["subject_ids"]).len() + 3);
    for id in &outside {
        let g = feature(kg, id);
        let inside: f64 = polygons(cz)
            .iter()
            .map(|(_, c)| g.intersection(*c).unsigned_area())
            .sum();
        assert!(
            inside / g.unsigned_area() < 0.1,
            "{id} is inside 城镇开发边界 by {inside} m²"
        );
    }
}

#[derive(Default)]
struct Collect(Vec<ConflictPiece>);

impl Sink for Collect {
    fn piece(&mut self, p: &ConflictPiece) -> Result<(), ReconcileError> {
        self.0.push(p.clone());
        Ok(())
    }
}

/// The plans of the small sample (without the candidate sites) in a store, loaded.
fn plans() -> &'static (Store, Blueprint) {
    static B: OnceLock<(Store, Blueprint)> = OnceLock::new();
    B.get_or_init(|| {
        let dir = generated().a.as_path();
        let mut m = Manifest::load(&dir.join("blueprint.toml")).unwrap();
        m.layers.retain(|l| l.id != "sites");
        let manifest = dir.join("plans.toml");
        std::fs::write(&manifest, toml::to_string(&m).unwrap()).unwrap();
        let store_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sample-tests/store");
        let _ = std::fs::remove_dir_all(&store_dir);
        let store = Store::open(&store_dir).unwrap();
        import_manifest(&store, &manifest, "test", &|_| {}).unwrap();
        let bp = Blueprint::load_current(&store).unwrap();
        (store, bp)
    })
}

#[test]
fn reconciliation_finds_exactly_the_seeded_conflicts() {
    let exp = expected(generated().a.as_path());
    let (store, bp) = plans();
    let rules = RuleSet::default_rules().unwrap();
    let sources = reconcile::Sources::open(store, &bp.meta, &rules).unwrap();
    let mut policy = rules.sliver;
    policy.min_width_m = exp["compare_with"]["min_width_m"].as_f64().unwrap();
    let mut sink = Collect::default();
    let report = reconcile::reconcile(
        bp,
        &sources,
        &rules,
        Params::new(policy),
        &mut sink,
        &|_, _, _| {},
        &|| false,
    )
    .unwrap();
    assert!(
        report.skipped_rules.is_empty(),
        "{:?}",
        report.skipped_rules
    );
    for r in exp["rules"].as_array().unwrap() {
        let id = r["rule"].as_str().unwrap();
        let pieces: Vec<&ConflictPiece> = sink.0.iter().filter(|p| p.rule_id == id).collect();
        let mut subjects: Vec<String> = pieces.iter().map(|p| p.subject_id.clone()).collect();
        subjects.sort();
        subjects.dedup();
        let mut others: Vec<String> = pieces.iter().filter_map(|p| p.other_id.clone()).collect();
        others.sort();
        others.dedup();
        assert_eq!(
            subjects,
            strings(&r["subject_ids"]),
            "rule {id}: subject features"
        );
        assert_eq!(
            others,
            strings(&r["other_ids"]),
            "rule {id}: other features"
        );
        let area: f64 = pieces.iter().map(|p| p.area_m2).sum();
        let want = r["area_m2"].as_f64().unwrap();
        if r["exact"].as_bool().unwrap() {
            assert!(
                (area - want).abs() < 0.01,
                "rule {id}: {area} m², expected {want}"
            );
        } else {
            assert!(
                (area - want).abs() <= 0.01 * want,
                "rule {id}: {area} m², expected about {want}"
            );
        }
    }
}

#[test]
fn site_check_gives_the_recorded_answers() {
    let exp = expected(generated().a.as_path());
    let (_, bp) = plans();
    let sites = &layers_a()["sites"];
    let today = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let params = SiteParams::new(today);
    let ids = |v: &serde_json::Value, key: &str| -> Vec<String> {
        let mut out: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h[key].as_str().unwrap().to_string())
            .collect();
        out.sort();
        out
    };
    for want in exp["sites"].as_array().unwrap() {
        let id = want["id"].as_str().unwrap();
        let site = Site {
            id: id.to_string(),
            name: String::new(),
            geometry: feature(sites, id).clone(),
        };
        let got = analyse(bp, &site, &params);
        assert!(
            (got.area_m2 - want["area_m2"].as_f64().unwrap()).abs() < 0.01,
            "{id} area"
        );
        for (layer, key) in [
            ("yjjbnt", "yjjbnt_m2"),
            ("sthx", "sthx_m2"),
            ("czkfbj", "czkfbj_m2"),
        ] {
            let area = got.layer(layer).map_or(0.0, |l| l.area_m2);
            assert!(
                (area - want[key].as_f64().unwrap()).abs() < 0.01,
                "{id} on {layer}: {area}"
            );
        }
        let mut kg: Vec<String> = got
            .layer("kg")
            .map(|l| l.features.iter().map(|f| f.feature_id.clone()).collect())
            .unwrap_or_default();
        kg.sort();
        assert_eq!(kg, ids(&want["kg"], "id"), "{id}: 控规 parcels");
        let mut covering: Vec<String> = got
            .assessments
            .iter()
            .filter(|a| a.share_of_site > 1.0 - 1e-9)
            .map(|a| a.feature_id.clone())
            .collect();
        covering.sort();
        let mut want_cov = strings(&want["qypg_covering"]);
        want_cov.sort();
        assert_eq!(covering, want_cov, "{id}: assessments covering it");
        let mut partly: Vec<String> = got
            .assessments
            .iter()
            .filter(|a| a.share_of_site <= 1.0 - 1e-9)
            .map(|a| a.feature_id.clone())
            .collect();
        partly.sort();
        let mut want_partly = strings(&want["qypg_partly"]);
        want_partly.sort();
        assert_eq!(partly, want_partly, "{id}: assessments covering part of it");
        let mut expired: Vec<String> = got
            .assessments
            .iter()
            .filter(|a| !a.valid)
            .map(|a| a.feature_id.clone())
            .collect();
        expired.sort();
        let mut want_expired = strings(&want["qypg_expired_before_2024"]);
        want_expired.sort();
        assert_eq!(expired, want_expired, "{id}: expired assessments");
        let mut trees: Vec<String> = got
            .proximity
            .iter()
            .filter(|h| h.layer == "gsmm" && h.distance_m <= h.limit_m)
            .map(|h| h.feature_id.clone())
            .collect();
        trees.sort();
        assert_eq!(
            trees,
            ids(&want["gsmm_within_radius"], "id"),
            "{id}: old trees"
        );
        for (layer, pipes) in want["pipes_crossing"].as_object().unwrap() {
            let mut crossing: Vec<String> = got
                .proximity
                .iter()
                .filter(|h| &h.layer == layer && h.distance_m == 0.0)
                .map(|h| h.feature_id.clone())
                .collect();
            crossing.sort();
            assert_eq!(crossing, strings(pipes), "{id}: {layer} crossing");
        }
    }
}

fn site(layer: &LayerData, id: &str) -> MultiPolygon<f64> {
    feature(layer, id).clone()
}

#[test]
fn candidate_sites_have_their_designed_answers() {
    let l = layers_a();
    let sites = &l["sites"];
    assert_eq!(sites.features.len(), 5);
    let overlap = |g: &MultiPolygon<f64>, layer: &str| -> f64 {
        polygons(&l[layer])
            .iter()
            .map(|(_, p)| g.intersection(*p).unsigned_area())
            .sum()
    };
    // S1: a square with a square hole (side ratio 3), inside one R2 parcel, the development
    // boundary and all eight assessments of the new district.
    let s1 = site(sites, "YD2024-001");
    let p = &s1.0[0];
    assert_eq!(p.interiors().len(), 1);
    let side = p.exterior().bounding_rect().unwrap().width();
    let hole = p.interiors()[0].bounding_rect().unwrap().width();
    assert!((side - 3.0 * hole).abs() < 1e-6);
    assert!((s1.unsigned_area() - (side * side - hole * hole)).abs() < 1e-3);
    let kg_hits: Vec<&str> = polygons(&l["kg"])
        .into_iter()
        .filter(|(_, g)| g.intersection(&s1).unsigned_area() > 1e-6)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(kg_hits.len(), 1);
    let parcel = l["kg"]
        .features
        .iter()
        .find(|f| f.id == kg_hits[0])
        .unwrap();
    assert_eq!(parcel.class.as_deref(), Some("R2"));
    assert!((overlap(&s1, "kg") - s1.unsigned_area()).abs() < 1e-3);
    assert!((overlap(&s1, "czkfbj") - s1.unsigned_area()).abs() < 1e-3);
    let covering = polygons(&l["qypg"])
        .iter()
        .filter(|(_, g)| (g.intersection(&s1).unsigned_area() - s1.unsigned_area()).abs() < 1e-3)
        .count();
    assert_eq!(covering, 8);
    // S2: 80 × 50 m, 50 × 50 m of it on 永久基本农田, none on 生态保护红线 or in the boundary.
    let s2 = site(sites, "YD2024-002");
    assert!((s2.unsigned_area() - 4_000.0).abs() < 1e-3);
    assert!((overlap(&s2, "yjjbnt") - 2_500.0).abs() < 1e-3);
    assert!(overlap(&s2, "sthx") < 1e-6 && overlap(&s2, "czkfbj") < 1e-6);
    // S3: 120 × 50 m, 80 × 50 m of it on 生态保护红线.
    let s3 = site(sites, "YD2024-003");
    assert!((s3.unsigned_area() - 6_000.0).abs() < 1e-3);
    assert!((overlap(&s3, "sthx") - 4_000.0).abs() < 1e-3);
    assert!(overlap(&s3, "yjjbnt") < 1e-6);
    // S4: 50 × 40 m outside the development boundary, touching no control line and no 控规.
    let s4 = site(sites, "YD2024-004");
    assert!((s4.unsigned_area() - 2_000.0).abs() < 1e-3);
    for layer in ["czkfbj", "yjjbnt", "sthx", "kg"] {
        assert!(overlap(&s4, layer) < 1e-6, "S4 meets {layer}");
    }
    // S5: 60 × 40 m, crossed by a gas pipe, 8 m from an old tree with a 15 m protection radius.
    let s5 = site(sites, "YD2024-005");
    assert!((s5.unsigned_area() - 2_400.0).abs() < 1e-3);
    assert!(
        l["rq"]
            .features
            .iter()
            .any(|f| matches!(&f.geom, Geom::Line(ml) if ml.intersects(&s5)))
    );
    let gsmm = &l["gsmm"];
    let near: Vec<(f64, f64)> = gsmm
        .features
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match &f.geom {
            Geom::Point(mp) => Some((
                Euclidean.distance(&mp.0[0], &s5.0[0]),
                gsmm.attr(i, "BHBJ_M").as_f64().unwrap(),
            )),
            _ => None,
        })
        .filter(|(d, r)| d <= r)
        .collect();
    assert!(
        near.iter()
            .any(|(d, r)| (d - 8.0).abs() < 1e-3 && *r == 15.0),
        "{near:?}"
    );
}

fn data_sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample")
}

#[test]
fn committed_sample_is_what_the_generator_makes() {
    let dir = tempfile::tempdir().unwrap();
    sample::generate(&SampleParams::default(), dir.path()).unwrap();
    for file in [
        "qypg.geojson",
        "expected.json",
        "blueprint.toml",
        "sites.txt",
    ] {
        let (a, b) = (
            std::fs::read(dir.path().join(file)).unwrap(),
            std::fs::read(data_sample().join(file)).unwrap(),
        );
        assert!(
            a == b,
            "data/sample/{file} is not what `lantu sample` makes with the default parameters"
        );
    }
    let manifest = Manifest::load(&data_sample().join("blueprint.toml")).unwrap();
    let working = Crs::Epsg(4546);
    for id in ["kg", "gzq", "yjjbnt", "js"] {
        let spec = manifest.layers.iter().find(|l| l.id == id).unwrap();
        let committed = import_layer(spec, &data_sample(), &working).unwrap().data;
        let fresh = import_layer(spec, dir.path(), &working).unwrap().data;
        assert!(
            committed == fresh,
            "data/sample layer {id} differs from a fresh generation"
        );
    }
    let kg = manifest.layers.iter().find(|l| l.id == "kg").unwrap();
    assert!(
        import_layer(kg, &data_sample(), &working)
            .unwrap()
            .data
            .features
            .len()
            >= 20_000
    );
}

#[test]
fn committed_manifest_imports_every_layer() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = Store::open(store_dir.path()).unwrap();
    let done = import_manifest(
        &store,
        &data_sample().join("blueprint.toml"),
        "test",
        &|_| {},
    )
    .unwrap();
    let mut ids: Vec<&str> = done
        .blueprint
        .layers
        .iter()
        .map(|l| l.layer_id.as_str())
        .collect();
    ids.sort_unstable();
    let mut want = vec![
        "czkfbj",
        "dl",
        "gsmm",
        "gzq",
        "huangxian",
        "js",
        "kg",
        "lanxian",
        "lsjz",
        "lvxian",
        "qypg",
        "rq",
        "sites",
        "sthx",
        "towns",
        "tx",
        "wenwu",
        "whp",
        "ws",
        "yjjbnt",
        "ys",
        "ytq",
        "zixian",
    ];
    want.sort_unstable();
    assert_eq!(ids, want);
    let exp = expected(&data_sample());
    for l in &done.blueprint.layers {
        if let Some(n) = exp["layers"][&l.layer_id].as_u64() {
            assert_eq!(l.feature_count as u64, n, "layer {}", l.layer_id);
        }
    }
    for r in &done.reports {
        assert!(
            r.rejected.is_empty() && r.substantive_repairs() == 0,
            "layer {}: {:?} {:?}",
            r.layer,
            r.rejected,
            r.repaired
        );
    }
}
