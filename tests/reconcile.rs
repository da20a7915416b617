//! Reconciliation on hand-built plans whose answers are known exactly.
//!
//! 控规 (`kg`): a 6 × 6 grid of 100 m parcels; 土规 管制区 (`gzq`): the same grid digitised
//! independently, shifted 0.5 m east. Classes are chosen so each rule has a known set of pieces:
//! every main piece is 99.5 m × 100 m (9 950 m²) or 0.5 m × 100 m (a 50 m² boundary sliver).

use std::collections::BTreeMap;
use std::path::Path;

use lantu::blueprint::{Blueprint, ClassSpec, LayerSpec};
use lantu::crs::Crs;
use lantu::import::import_path;
use lantu::layer::LayerRole;
use lantu::reconcile::output::{FileSink, Formats, GisWriters, Tee, summarise};
use lantu::reconcile::{self, ConflictPiece, Params, ReconcileError, Sink, ledger};
use lantu::rules::{RuleSet, SliverPolicy};
use lantu::store::{NewVersion, Store};

const X0: f64 = 600_000.0;
const Y0: f64 = 2_420_000.0;
const N: usize = 6;

/// Codes per cell (row-major, row 0 at the bottom).
fn kg_code(r: usize, c: usize) -> &'static str {
    match (r, c) {
        (0, _) => "E2",    // farmland row in the urban plan
        (5, 5) => "R2/B1", // composite code
        (4, 4) => "R2a",   // local suffix → R2
        _ => "R2",
    }
}

fn gzq_code(r: usize, c: usize) -> &'static str {
    match (r, c) {
        (2, 2) | (2, 3) => "030", // 限制建设区 under urban construction
        (3, 2) => "040",          // 禁止建设区
        (3, 3) => "021",          // 有条件建设区 sub-code → 020
        (0, 1) => "010",          // 允许建设区 where the urban plan says E2
        (0, _) => "030",
        _ => "010",
    }
}

fn layer_json(shift: f64, code: fn(usize, usize) -> &'static str, field: &str) -> String {
    let mut features = Vec::new();
    for r in 0..N {
        for c in 0..N {
            let (x, y) = (X0 + shift + c as f64 * 100.0, Y0 + r as f64 * 100.0);
            features.push(serde_json::json!({
                "type": "Feature",
                "properties": {"BH": format!("{r}{c}"), field: code(r, c)},
                "geometry": {"type": "Polygon", "coordinates": [[
                    [x, y], [x + 100.0, y], [x + 100.0, y + 100.0], [x, y + 100.0], [x, y]
                ]]}
            }));
        }
    }
    serde_json::json!({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4546"}},
        "features": features,
    })
    .to_string()
}

fn store_with_plans(dir: &Path, shift: f64) -> Store {
    let store = Store::open(dir.join("store")).expect("store");
    let mut versions = Vec::new();
    for (id, role, json, field, system) in [
        (
            "kg",
            LayerRole::UrbanPlan,
            layer_json(0.0, kg_code, "YDXZDM"),
            "YDXZDM",
            "GB50137-2011",
        ),
        (
            "gzq",
            LayerRole::LandusePlan,
            layer_json(shift, gzq_code, "GZQLXDM"),
            "GZQLXDM",
            "TDGH-GZQ",
        ),
    ] {
        let path = dir.join(format!("{id}.geojson"));
        std::fs::write(&path, json).expect("write");
        let mut spec = LayerSpec::new(id, role);
        spec.id_field = Some("BH".into());
        spec.class = Some(ClassSpec {
            field: field.into(),
            system: system.into(),
        });
        let layer = import_path(&spec, &path, &Crs::Epsg(4546)).expect("import");
        let obj = store.put_layer(&layer.data, 4546).expect("put");
        versions.push(NewVersion {
            hash: obj.hash,
            spec,
            source: layer.source,
            working_crs: "EPSG:4546".into(),
            feature_count: layer.data.features.len(),
            planar_area_m2: layer.report.planar_area_m2,
            ellipsoidal_area_m2: layer.report.ellipsoidal_area_m2,
            repaired: 0,
            rejected: 0,
            report: serde_json::json!({}),
        });
    }
    store
        .commit_import("t", "EPSG:4546", None, &versions, "test", "plans", true)
        .expect("commit");
    store
}

const TWO_PLAN_RULES: &str = r#"
[[rule]]
id = "cgjs-tgfjs"
name = "城规建设、土规非建设"
diff_type = "04"
severity = "high"
subject = { layer = "kg", where = { construction = "yes" } }
overlaps = { layer = "gzq", where = { construction = "no" } }

[[rule]]
id = "cgjs-tgytj"
name = "城规建设、土规有条件建设区"
diff_type = "04C"
severity = "medium"
subject = { layer = "kg", where = { construction = "yes" } }
overlaps = { layer = "gzq", where = { construction = "conditional" } }

[[rule]]
id = "tgjs-cgfjs"
name = "土规建设、城规非建设"
diff_type = "03"
severity = "medium"
subject = { layer = "gzq", where = { construction = "yes" } }
overlaps = { layer = "kg", where = { construction = "no" } }
"#;

#[derive(Default)]
struct Collect(Vec<ConflictPiece>);

impl Sink for Collect {
    fn piece(&mut self, p: &ConflictPiece) -> Result<(), ReconcileError> {
        self.0.push(p.clone());
        Ok(())
    }
}

fn run(store: &Store, policy: SliverPolicy) -> (Vec<ConflictPiece>, reconcile::RunReport) {
    let bp = Blueprint::load_current(store).expect("load");
    let rules = RuleSet::parse(TWO_PLAN_RULES, "test").expect("rules");
    let sources = reconcile::Sources::open(store, &bp.meta, &rules).expect("sources");
    let mut sink = Collect::default();
    let report = reconcile::reconcile(
        &bp,
        &sources,
        &rules,
        Params::new(policy),
        &mut sink,
        &|_, _, _| {},
        &|| false,
    )
    .expect("reconcile");
    (sink.0, report)
}

fn by_rule(pieces: &[ConflictPiece]) -> BTreeMap<String, Vec<(String, String, f64)>> {
    let mut m: BTreeMap<String, Vec<(String, String, f64)>> = BTreeMap::new();
    for p in pieces {
        m.entry(p.rule_id.clone()).or_default().push((
            p.subject_id.clone(),
            p.other_id.clone().unwrap_or_default(),
            (p.area_m2 * 1e6).round() / 1e6,
        ));
    }
    m
}

#[test]
fn two_plan_classification_with_known_areas() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = store_with_plans(dir.path(), 0.5);
    // Plain run: keep every piece ≥ 1 m², no width test.
    let plain = SliverPolicy {
        min_area_m2: 1.0,
        min_width_m: 0.0,
        fine_area_m2: 200.0,
    };
    let (pieces, report) = run(&store, plain);
    let m = by_rule(&pieces);

    // 城规建设 (rows 1–5 R2…) on 土规 030/040: gzq cells 22, 23, 32 shifted 0.5 m east. Each
    // overlaps kg cell rc by 99.5 m × 100 m and kg cell r(c+1) by 0.5 m × 100 m.
    let expected_04 = vec![
        ("22".to_string(), "22".to_string(), 9_950.0),
        ("23".to_string(), "22".to_string(), 50.0),
        ("23".to_string(), "23".to_string(), 9_950.0),
        ("24".to_string(), "23".to_string(), 50.0),
        ("32".to_string(), "32".to_string(), 9_950.0),
        ("33".to_string(), "32".to_string(), 50.0),
    ];
    // Row 0 of gzq (030 except 01) lies under kg row 0 (E2, non-construction): no 04 pieces there.
    assert_eq!(m.get("cgjs-tgfjs"), Some(&expected_04));
    // 有条件建设区 (021 → 020) under kg 33 (R2) and 34.
    assert_eq!(
        m.get("cgjs-tgytj"),
        Some(&vec![
            ("33".to_string(), "33".to_string(), 9_950.0),
            ("34".to_string(), "33".to_string(), 50.0),
        ])
    );
    // 土规 010 over 城规 E2: gzq 01 (over kg 01 and 02), and every gzq cell of row 1 touches
    // nothing in row 0 (adjacent rows only share an edge).
    assert_eq!(
        m.get("tgjs-cgfjs"),
        Some(&vec![
            ("01".to_string(), "01".to_string(), 9_950.0),
            ("01".to_string(), "02".to_string(), 50.0),
        ])
    );
    let stats = |id: &str| {
        report
            .rules
            .iter()
            .find(|r| r.id == id)
            .expect("rule stats")
            .clone()
    };
    let s = stats("cgjs-tgfjs");
    assert_eq!(s.kept.count, 6);
    assert_eq!(s.fine.count, 3, "the 50 m² slivers are flagged 细碎");
    assert!((s.kept.area_m2 - (3.0 * 9_950.0 + 3.0 * 50.0)).abs() < 1e-6);
    // Ellipsoidal area at 100 km east of CM 111°E is ≈ 246 ppm smaller than planar.
    let ratio = s.kept.ellipsoidal_area_m2 / s.kept.area_m2;
    assert!((0.9997..0.9998).contains(&ratio), "{ratio}");

    // With the width test (1 m) the 0.5 m slivers go, and the dropped totals reconcile.
    let (pieces_w, report_w) = run(&store, SliverPolicy::default());
    let s_w = report_w
        .rules
        .iter()
        .find(|r| r.id == "cgjs-tgfjs")
        .expect("stats");
    assert_eq!(s_w.kept.count, 3);
    assert_eq!(s_w.dropped_sliver.count, 3);
    assert!((s_w.dropped_sliver.area_m2 - 150.0).abs() < 1e-6);
    assert!(
        (s_w.kept.area_m2 + s_w.dropped_sliver.area_m2 + s_w.dropped_noise.area_m2
            - s.kept.area_m2)
            .abs()
            < 1e-6
    );
    assert_eq!(pieces_w.len(), 3 + 1 + 1);
    // `--min-width-m 0 --min-area-m2 1` is the plain run: same pieces, same ids.
    let (again, _) = run(&store, plain);
    assert_eq!(
        again.iter().map(|p| &p.conflict_id).collect::<Vec<_>>(),
        pieces.iter().map(|p| &p.conflict_id).collect::<Vec<_>>()
    );
}

#[test]
fn flat_indexes_missing_damaged_or_stale_are_rebuilt_with_the_same_answer() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = store_with_plans(dir.path(), 0.5);
    let (before, _) = run(&store, SliverPolicy::default());
    assert!(!before.is_empty());
    let meta = store.current().expect("blueprint");
    let flats: Vec<std::path::PathBuf> = meta
        .layers
        .iter()
        .map(|v| store.flat_path(&v.hash))
        .collect();
    assert!(flats.iter().all(|p| p.exists()), "written at import");
    // One gone and one cut short; then, once rebuilt, one with another object's hash in its
    // header (the plans are two layers, so the third case takes a second run).
    std::fs::remove_file(&flats[0]).expect("remove");
    let bytes = std::fs::read(&flats[1]).expect("read");
    std::fs::write(&flats[1], &bytes[..bytes.len() / 2]).expect("truncate");
    let (after, _) = run(&store, SliverPolicy::default());
    assert_eq!(
        after.iter().map(|p| &p.conflict_id).collect::<Vec<_>>(),
        before.iter().map(|p| &p.conflict_id).collect::<Vec<_>>()
    );
    let mut b = std::fs::read(&flats[0]).expect("read");
    b[24] ^= 1;
    std::fs::write(&flats[0], b).expect("rewrite");
    let (after, _) = run(&store, SliverPolicy::default());
    assert_eq!(
        after.iter().map(|p| &p.conflict_id).collect::<Vec<_>>(),
        before.iter().map(|p| &p.conflict_id).collect::<Vec<_>>()
    );
    for (v, p) in meta.layers.iter().zip(&flats) {
        let flat = lantu::store::FlatLayer::open(p, &v.hash)
            .expect("readable")
            .expect("rebuilt");
        assert_eq!(flat.len(), v.feature_count, "{}", v.layer_id);
    }
}

#[test]
fn outputs_and_ledger_across_reruns() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = store_with_plans(dir.path(), 0.5);
    let bp = Blueprint::load_current(&store).expect("load");
    let rules = RuleSet::parse(TWO_PLAN_RULES, "test").expect("rules");
    let policy = SliverPolicy::default();
    let run_once = |out: &Path, run_id: &str, bp: &Blueprint| {
        let mut files = FileSink::create(
            out,
            bp,
            Default::default(),
            Formats {
                xlsx: true,
                geojson: true,
                shapefile: true,
            },
            GisWriters::all(),
        )
        .expect("sink");
        let mut led =
            ledger::LedgerSink::begin(&store, &bp.meta.name, run_id, 4546).expect("ledger");
        let report = {
            let mut tee = Tee {
                sinks: vec![&mut files, &mut led],
            };
            let sources = reconcile::Sources::open(&store, &bp.meta, &rules).expect("sources");
            reconcile::reconcile(
                bp,
                &sources,
                &rules,
                Params::new(policy),
                &mut tee,
                &|_, _, _| {},
                &|| false,
            )
            .expect("run")
        };
        let mut summary = summarise(run_id, bp, &report, None);
        let ran: Vec<String> = report.rules.iter().map(|r| r.id.clone()).collect();
        let diff = led
            .finish(
                &ran,
                bp.meta.version,
                "t0",
                "tester",
                &serde_json::to_value(&summary).expect("json"),
            )
            .expect("finish");
        summary.ledger = Some(diff);
        files.finish(&summary).expect("files");
        diff
    };
    let d1 = run_once(&dir.path().join("out1"), "R1", &bp);
    assert_eq!(d1.appeared, 5);
    // The GeoPackage opens in GDAL with 5 features in EPSG:4546 and a spatial index.
    let out = std::process::Command::new("ogrinfo")
        .args(["-ro", "-so", "-al"])
        .arg(dir.path().join("out1/conflicts.gpkg"))
        .output()
        .expect("ogrinfo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Feature Count: 5"), "{text}");
    assert!(text.contains("4546"), "{text}");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out1/summary.json")).expect("summary"),
    )
    .expect("json");
    assert_eq!(summary["params"]["sliver"]["min_width_m"], 1.0);
    assert_eq!(summary["rules"][0]["dropped_sliver"]["count"], 3);
    assert!(dir.path().join("out1/conflicts.xlsx").exists());
    assert!(dir.path().join("out1/conflicts.cpg").exists());

    // Same sources again: every id is unchanged.
    let d2 = run_once(&dir.path().join("out2"), "R2", &bp);
    assert_eq!((d2.unchanged, d2.appeared, d2.disappeared), (5, 0, 0));

    // Walk one parcel through the lifecycle; skipping a step is refused.
    let first = ledger::list(&store, &ledger::Filter::default()).expect("list")[0].clone();
    let err = ledger::transition(&store, &first.id, "市级审定", "张三", "", "").expect_err("skip");
    assert!(err.to_string().contains("区级意见"), "{err}");
    // A run in progress holds no write lock on the catalog (its rows wait in temporary tables
    // until it finishes): the transition goes through at once, not after the busy timeout.
    let open_run = ledger::LedgerSink::begin(&store, "t", "R-open", 4546).expect("begin");
    let started = std::time::Instant::now();
    ledger::transition(
        &store,
        &first.id,
        "区级意见",
        "张三",
        "同意调整土规",
        "阳东府函〔2019〕12号",
    )
    .expect("step 1");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    drop(open_run);
    let audit = store
        .audit_log(Some("conflict.transition"), 10)
        .expect("audit");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor, "张三");
    assert_eq!(audit[0].detail["document"], "阳东府函〔2019〕12号");

    // A new 土规 version shifted 0.8 m: the pairs are the same, geometries differ → changed,
    // and the parcel keeps its state.
    let dir2 = tempfile::tempdir().expect("tmp");
    let moved = store_with_plans(dir2.path(), 0.8);
    let gzq = moved
        .current()
        .expect("bp")
        .layer("gzq")
        .cloned()
        .expect("gzq");
    let data = moved.read_layer(&gzq.hash).expect("read");
    let obj = store.put_layer(&data, 4546).expect("put");
    store
        .commit_import(
            "t",
            "EPSG:4546",
            None,
            &[NewVersion {
                hash: obj.hash,
                spec: gzq.spec.clone(),
                source: gzq.source.clone(),
                working_crs: "EPSG:4546".into(),
                feature_count: data.features.len(),
                planar_area_m2: gzq.planar_area_m2,
                ellipsoidal_area_m2: gzq.ellipsoidal_area_m2,
                repaired: 0,
                rejected: 0,
                report: serde_json::json!({}),
            }],
            "test",
            "gzq v2",
            false,
        )
        .expect("commit v2");
    let bp2 = Blueprint::load_current(&store).expect("load v2");
    let d3 = run_once(&dir.path().join("out3"), "R3", &bp2);
    assert_eq!((d3.changed, d3.appeared, d3.unchanged), (5, 0, 0), "{d3:?}");
    let successor = ledger::get(&store, &first.id)
        .expect("old")
        .replaced_by
        .expect("successor");
    assert_eq!(
        ledger::get(&store, &successor).expect("new").state,
        "区级意见"
    );
}
