//! `lantu check` and `lantu verify` end to end, through the binary, on the committed sample
//! district (`data/sample`): the batch of candidate sites in `sites.txt` against the answers the
//! generator recorded in `expected.json`, every document format read back (PDF with pdftotext,
//! XLSX with calamine, the 界址点 TXT through the importer), a JSON snapshot, the hash verified
//! and refused after a one-character edit, and each bad site input refused with its reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use calamine::{Reader, Xlsx, open_workbook};

const ISSUED_AT: &str = "2024-06-01T09:00:00+08:00";
const DATE: &str = "2024-06-01";

fn lantu() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lantu"))
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample")
}

fn tmp(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("check-cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("tmp dir");
    p
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("lantu runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The sample district imported once into a store.
fn store() -> &'static Path {
    static S: OnceLock<PathBuf> = OnceLock::new();
    S.get_or_init(|| {
        let dir = tmp("store");
        let o = run(lantu()
            .args(["import", "--manifest"])
            .arg(sample().join("blueprint.toml"))
            .arg("--store")
            .arg(&dir));
        assert!(o.status.success(), "import: {}", text(&o));
        dir
    })
}

fn check(site: &Path, format: &str, out: &Path, extra: &[&str]) -> Output {
    run(lantu()
        .arg("check")
        .arg("--store")
        .arg(store())
        .arg("--site")
        .arg(site)
        .args(["--format", format, "--date", DATE, "--issued-at", ISSUED_AT])
        .arg("--out")
        .arg(out)
        .args(extra))
}

/// The batch over every candidate site, run once.
fn batch() -> &'static Path {
    static B: OnceLock<PathBuf> = OnceLock::new();
    B.get_or_init(|| {
        let out = tmp("batch");
        let o = check(&sample().join("sites.txt"), "json,txt,xlsx", &out, &[]);
        assert!(o.status.success(), "check: {}", text(&o));
        out
    })
}

fn expected() -> serde_json::Value {
    let text = std::fs::read_to_string(sample().join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json parses")
}

/// overlaps.csv as (site, layer, feature) → (class, area_m2, share).
fn overlaps(dir: &Path) -> BTreeMap<(String, String, String), (String, f64, f64)> {
    let mut r = csv::Reader::from_path(dir.join("overlaps.csv")).expect("overlaps.csv");
    assert_eq!(
        r.headers().expect("header").iter().collect::<Vec<_>>(),
        [
            "site_id",
            "layer",
            "feature_id",
            "class",
            "area_m2",
            "ellipsoidal_area_m2",
            "share_of_site"
        ]
    );
    r.records()
        .map(|rec| {
            let rec = rec.expect("row");
            let num = |i: usize| rec[i].parse::<f64>().expect("number");
            assert!(
                num(4) > 0.0 && num(5) > 0.0,
                "only positive overlaps: {rec:?}"
            );
            // The ellipsoidal area on CGCS2000 is within 0.02 % of the planar one here.
            assert!((num(5) / num(4) - 1.0).abs() < 2e-4, "{rec:?}");
            (
                (rec[0].to_string(), rec[1].to_string(), rec[2].to_string()),
                (rec[3].to_string(), num(4), num(6)),
            )
        })
        .collect()
}

#[test]
fn batch_overlaps_are_the_recorded_answers() {
    let rows = overlaps(batch());
    let exp = expected();
    let sites = exp["sites"].as_array().expect("sites");
    assert_eq!(sites.len(), 5);
    for want in sites {
        let id = want["id"].as_str().expect("id");
        let area = want["area_m2"].as_f64().expect("area");
        for layer in ["kg", "gzq", "ytq"] {
            let mut got: Vec<(String, String, f64)> = rows
                .iter()
                .filter(|((s, l, _), _)| s == id && l == layer)
                .map(|((_, _, f), (c, a, _))| (f.clone(), c.clone(), *a))
                .collect();
            got.sort_by(|a, b| a.0.cmp(&b.0));
            let mut wanted: Vec<(String, String, f64)> = want[layer]
                .as_array()
                .expect("list")
                .iter()
                .map(|h| {
                    (
                        h["id"].as_str().expect("id").to_string(),
                        h["code"].as_str().expect("code").to_string(),
                        h["overlap_m2"].as_f64().expect("m2"),
                    )
                })
                .collect();
            wanted.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(got.len(), wanted.len(), "{id} on {layer}: {got:?}");
            for (g, w) in got.iter().zip(&wanted) {
                assert_eq!((&g.0, &g.1), (&w.0, &w.1), "{id} on {layer}");
                assert!((g.2 - w.2).abs() < 0.01, "{id} on {layer}: {g:?} vs {w:?}");
            }
        }
        for (layer, key) in [("yjjbnt", "yjjbnt_m2"), ("sthx", "sthx_m2")] {
            let got: f64 = rows
                .iter()
                .filter(|((s, l, _), _)| s == id && l == layer)
                .map(|(_, (_, a, _))| a)
                .sum();
            let w = want[key].as_f64().expect("m2");
            assert!((got - w).abs() < 0.01, "{id} on {layer}: {got} vs {w}");
        }
        // Shares of one plan layer add up to the part of the site it covers.
        let kg_share: f64 = rows
            .iter()
            .filter(|((s, l, _), _)| s == id && l == "kg")
            .map(|(_, (_, _, sh))| sh)
            .sum();
        let kg_area: f64 = want["kg"]
            .as_array()
            .expect("kg")
            .iter()
            .map(|h| h["overlap_m2"].as_f64().expect("m2"))
            .sum();
        assert!((kg_share - kg_area / area).abs() < 1e-5, "{id}: {kg_share}");
    }
}

fn checklist_json(dir: &Path, id: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join(format!("{id}.json"))).expect("checklist json");
    serde_json::from_str(&text).expect("parses")
}

fn verdict<'a>(c: &'a serde_json::Value, line: &str) -> &'a serde_json::Value {
    c["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .find(|v| v["line"] == line)
        .unwrap_or_else(|| panic!("no verdict for {line}"))
}

#[test]
fn control_line_verdicts_and_spgl_fields() {
    let dir = batch();
    let c2 = checklist_json(dir, "YD2024-002");
    let farmland = verdict(&c2, "永久基本农田");
    assert_eq!(farmland["status"], "warning");
    // Verdict areas are ellipsoidal: the 50 × 50 m seeded overlap is 2 499.59 m² on CGCS2000.
    assert!((farmland["area_m2"].as_f64().expect("m2") - 2499.59).abs() < 0.01);
    assert!(
        farmland["text"]
            .as_str()
            .expect("text")
            .contains("压占永久基本农田")
    );
    assert_eq!(verdict(&c2, "城镇开发边界")["status"], "warning");
    assert_eq!(c2["site"]["name"], "农田边缘地块");
    assert_eq!(c2["site"]["town"], "合山镇");
    assert_eq!(c2["spgl"]["jsddxzqh"], "441704107");
    assert!((c2["spgl"]["ydmj"].as_f64().expect("ydmj") - 3999.34).abs() < 1e-9);

    let c3 = checklist_json(dir, "YD2024-003");
    assert_eq!(verdict(&c3, "生态保护红线")["status"], "warning");
    let red = verdict(&c3, "生态保护红线")["area_m2"]
        .as_f64()
        .expect("m2");
    assert!((red - 3999.34).abs() < 0.01, "{red}");
    assert_eq!(verdict(&c3, "永久基本农田")["status"], "ok");

    let c1 = checklist_json(dir, "YD2024-001");
    assert_eq!(verdict(&c1, "城镇开发边界")["status"], "ok");
    assert_eq!(verdict(&c1, "永久基本农田")["status"], "ok");
    // A 48 × 48 m square with a 16 × 16 m hole: 2 304 − 256 = 2 048 m² in the plane.
    assert!((c1["site"]["area_m2"].as_f64().expect("m2") - 2048.0).abs() < 1e-6);
    let rings: Vec<u64> = c1["site"]["boundary"]
        .as_array()
        .expect("boundary")
        .iter()
        .map(|p| p["ring"].as_u64().expect("ring"))
        .collect();
    assert_eq!(rings, [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
    // Every checklist names the exact layer versions it came from.
    let layers = c1["blueprint"]["layers"].as_array().expect("layers");
    assert!(layers.len() >= 20, "{}", layers.len());
    assert!(
        layers
            .iter()
            .all(|l| l["hash"].as_str().is_some_and(|h| h.len() == 64))
    );
}

/// The checklist JSON of one site against a committed snapshot (`LANTU_UPDATE_SNAPSHOTS=1`
/// rewrites it after a deliberate change). Re-issuing with the same inputs and time of issue
/// gives the same bytes.
#[test]
fn checklist_json_matches_the_snapshot_and_is_reproducible() {
    let got = std::fs::read_to_string(batch().join("YD2024-005.json")).expect("json");
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/YD2024-005.json");
    if std::env::var_os("LANTU_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(snapshot.parent().expect("dir")).expect("snapshots dir");
        std::fs::write(&snapshot, &got).expect("write snapshot");
    }
    let want = std::fs::read_to_string(&snapshot).expect("snapshot (LANTU_UPDATE_SNAPSHOTS=1)");
    assert!(
        got == want,
        "YD2024-005.json differs from {}",
        snapshot.display()
    );

    let again = tmp("again.json");
    let site = tmp("YD2024-005.txt");
    std::fs::copy(batch().join("YD2024-005.txt"), &site).expect("copy txt");
    let o = check(&site, "json", &again, &["--no-record"]);
    assert!(o.status.success(), "{}", text(&o));
    // Read back from the 界址点 TXT the checklist wrote, the site is the same site: same
    // identity, same boundary, same answers, so the same hash.
    assert_eq!(
        std::fs::read_to_string(&again).expect("again"),
        want,
        "the TXT round trip changed the checklist"
    );
}

#[test]
fn txt_round_trips_through_the_importer() {
    let dir = batch();
    for id in ["YD2024-001", "YD2024-003"] {
        let c = checklist_json(dir, id);
        let o = run(lantu()
            .args(["check", "--no-record", "--store"])
            .arg(store())
            .arg("--site")
            .arg(dir.join(format!("{id}.txt")))
            .args(["--format", "json", "--date", DATE, "--issued-at", ISSUED_AT])
            .arg("--out")
            .arg(tmp(&format!("rt-{id}.json"))));
        assert!(o.status.success(), "{}", text(&o));
        let back: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(tmp_path(&format!("rt-{id}.json"))).expect("json"),
        )
        .expect("parses");
        assert_eq!(back["site"]["boundary"], c["site"]["boundary"], "{id}");
        assert_eq!(back["site"]["id"], id);
        assert_eq!(back["sha256"], c["sha256"], "{id}");
    }
}

fn tmp_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("check-cli")
        .join(name)
}

#[test]
fn hash_verifies_and_a_one_character_edit_is_caught() {
    let dir = batch();
    let doc = dir.join("YD2024-002.json");
    let o = run(lantu().arg("verify").arg("--checklist").arg(&doc));
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).starts_with("ok"), "{}", text(&o));

    let original = std::fs::read_to_string(&doc).expect("json");
    let edited = original.replacen("农田边缘地块", "农田边缘地快", 1);
    assert_ne!(edited, original);
    let forged = tmp("forged.json");
    std::fs::write(&forged, &edited).expect("write");
    let o = run(lantu().arg("verify").arg("--checklist").arg(&forged));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("MODIFIED"), "{}", text(&o));

    // A digit of an area: still valid JSON, still caught.
    let edited = original.replacen("3999.34", "3999.35", 1);
    assert_ne!(edited, original);
    std::fs::write(&forged, &edited).expect("write");
    let o = run(lantu().arg("verify").arg("--checklist").arg(&forged));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));

    // The hash printed on the annex, looked up among the store's issued checklists.
    let c: serde_json::Value = serde_json::from_str(&original).expect("json");
    let sha = c["sha256"].as_str().expect("sha");
    let o = run(lantu()
        .args(["verify", "--store"])
        .arg(store())
        .args(["--sha256", sha]));
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("YD2024-002"), "{}", text(&o));
    let unknown = "0".repeat(64);
    let o = run(lantu()
        .args(["verify", "--store"])
        .arg(store())
        .args(["--sha256", &unknown]));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("UNKNOWN"), "{}", text(&o));
    // Every issued checklist is in the audit log.
    let o = run(lantu().args(["audit", "--store"]).arg(store()));
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("checklist.issue"), "{}", text(&o));
}

/// pdftotext separates CJK characters and table cells as it likes: compare without whitespace.
fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(feature = "pdf")]
#[test]
fn pdf_has_the_sections_items_numbers_and_hash() {
    let pdf = tmp("YD2024-002.pdf");
    let site = sample().join("sites.txt");
    let o = check(
        &site,
        "pdf",
        &tmp("pdf-batch"),
        &["--no-record", "--project-code", "2024-441704-78-01-000123"],
    );
    assert!(o.status.success(), "{}", text(&o));
    std::fs::copy(tmp_path("pdf-batch/YD2024-002.pdf"), &pdf).expect("pdf");
    let bytes = std::fs::read(&pdf).expect("pdf");
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(bytes.len() < 2 * 1024 * 1024, "{} bytes", bytes.len());
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    assert!(out.status.success());
    let t = squeeze(&String::from_utf8_lossy(&out.stdout));
    let sha = checklist_json(batch(), "YD2024-002")["sha256"]
        .as_str()
        .expect("sha")
        .to_string();
    for want in [
        "土地资源和技术控制指标清单",
        "A.地块基本情况",
        "B.规划条件",
        "C.",
        "G.",
        "H.数据来源",
        "YD2024-002",
        "农田边缘地块",
        "2024-441704-78-01-000123",
        "永久基本农田",
        "压占永久基本农田",
        "2,499.59m²",
        "4,000.00m²",
        "0.4000公顷",
        "地震安全性评价",
        "地块及周边净距内无供水管线",
        "地块位置示意图",
        "校验码",
        "第1页/共",
    ] {
        assert!(t.contains(want), "PDF text lacks {want}");
    }
    // The project code changes the content, so this PDF carries its own hash, not the batch's.
    assert!(!t.contains(&sha));
    assert!(t.contains("J1") && t.contains("2438070.000") && t.contains("581470.000"));
}

#[test]
fn xlsx_reads_back() {
    let mut wb: Xlsx<_> = open_workbook(batch().join("YD2024-003.xlsx")).expect("xlsx");
    assert_eq!(wb.sheet_names(), ["清单", "界址点", "数据来源", "SPGL"]);
    let sheet = wb.worksheet_range("清单").expect("清单");
    let all: String = sheet
        .rows()
        .flat_map(|r| r.iter().map(|d| d.to_string()))
        .collect::<Vec<_>>()
        .join("\n");
    for want in [
        "YD2024-003",
        "山地旅游服务地块",
        "压占生态保护红线",
        "地震安全性评价",
    ] {
        assert!(all.contains(want), "清单 lacks {want}");
    }
    let points = wb.worksheet_range("界址点").expect("界址点");
    let cells: Vec<String> = points
        .rows()
        .flat_map(|r| r.iter().map(|d| d.to_string()))
        .collect();
    assert!(cells.iter().any(|c| c.starts_with("2438300")), "{cells:?}");
}

/// Writes `body` as a site file and runs the check; returns the failure text.
fn refused(name: &str, body: &str, extra: &[&str]) -> String {
    let site = tmp(name);
    std::fs::write(&site, body).expect("write site");
    let o = check(&site, "json", &tmp(&format!("{name}.out.json")), extra);
    assert!(!o.status.success(), "{name} was accepted: {}", text(&o));
    assert!(
        !tmp_path(&format!("{name}.out.json")).exists(),
        "{name}: a failed check wrote output"
    );
    text(&o)
}

fn feature_4546(id: &str, ring: &[(f64, f64)]) -> String {
    let coords: Vec<String> = ring.iter().map(|(x, y)| format!("[{x},{y}]")).collect();
    format!(
        r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::4546"}}}},
        "features":[{{"type":"Feature","properties":{{"地块编号":"{id}"}},"geometry":{{"type":"Polygon","coordinates":[[{}]]}}}}]}}"#,
        coords.join(",")
    )
}

#[test]
fn bad_sites_are_refused_with_their_reason() {
    // A bowtie: the two edges cross at (581550, 2438045).
    let e = refused(
        "bowtie.geojson",
        &feature_4546(
            "BOW",
            &[
                (581_500.0, 2_438_020.0),
                (581_600.0, 2_438_070.0),
                (581_600.0, 2_438_020.0),
                (581_500.0, 2_438_070.0),
                (581_500.0, 2_438_020.0),
            ],
        ),
        &[],
    );
    assert!(e.contains("BOW") && e.contains("self-intersect"), "{e}");
    assert!(e.contains("581550") || e.contains("581 550"), "{e}");

    let e = refused(
        "flat.geojson",
        &feature_4546(
            "FLAT",
            &[
                (581_500.0, 2_438_020.0),
                (581_600.0, 2_438_020.0),
                (581_700.0, 2_438_020.0),
                (581_500.0, 2_438_020.0),
            ],
        ),
        &[],
    );
    assert!(e.contains("FLAT"), "{e}");
    assert!(e.contains("area") || e.contains("empty"), "{e}");

    // 100 km east of the district.
    let e = refused(
        "far.geojson",
        &feature_4546(
            "FAR",
            &[
                (681_500.0, 2_438_020.0),
                (681_600.0, 2_438_020.0),
                (681_600.0, 2_438_070.0),
                (681_500.0, 2_438_070.0),
                (681_500.0, 2_438_020.0),
            ],
        ),
        &[],
    );
    assert!(
        e.contains("FAR") && e.contains("outside the district"),
        "{e}"
    );

    // Lon/lat from a web map without a declaration: GCJ-02 or WGS84 cannot be told apart.
    let lonlat = r#"{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[111.789,22.036],[111.790,22.036],[111.790,22.037],[111.789,22.037],[111.789,22.036]]]}}"#;
    let e = refused("web.geojson", lonlat, &[]);
    assert!(e.contains("GCJ02"), "{e}");

    let many: Vec<(f64, f64)> = (0..=400)
        .map(|i| {
            let a = std::f64::consts::TAU * f64::from(i % 400) / 400.0;
            (581_510.0 + 20.0 * a.cos(), 2_438_045.0 + 20.0 * a.sin())
        })
        .collect();
    let e = refused(
        "many.geojson",
        &feature_4546("MANY", &many),
        &["--max-vertices", "100"],
    );
    assert!(e.contains("MANY") && e.contains("401 vertices"), "{e}");

    let e = refused(
        "broken.geojson",
        r#"{"type":"FeatureCollection","features":[{"#,
        &[],
    );
    assert!(e.to_lowercase().contains("json"), "{e}");

    let ok_site = feature_4546(
        "OK",
        &[
            (581_500.0, 2_438_020.0),
            (581_600.0, 2_438_020.0),
            (581_600.0, 2_438_070.0),
            (581_500.0, 2_438_020.0),
        ],
    );
    let e = refused(
        "code.geojson",
        &ok_site,
        &["--project-code", "2024-999999-78-01-000123"],
    );
    assert!(e.contains("999999"), "{e}");
    let e = refused("format.geojson", &ok_site, &["--format", "docx"]);
    assert!(e.contains("docx"), "{e}");
}

/// `summary.json`'s per-rule lines without their timings.
fn rule_lines(out: &Path) -> Vec<serde_json::Value> {
    let s: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("summary.json")).expect("summary.json"),
    )
    .expect("summary is JSON");
    s["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().expect("rule line").remove("seconds");
            r
        })
        .collect()
}

#[test]
fn front_end_reconciles_without_gdal_and_agrees_with_the_full_binary() {
    let elf = run(Command::new("readelf")
        .arg("-d")
        .arg(env!("CARGO_BIN_EXE_lantu")));
    let needed = String::from_utf8_lossy(&elf.stdout);
    assert!(needed.contains("libsqlite3"), "readelf: {}", text(&elf));
    for lib in ["libgdal", "libproj"] {
        assert!(
            !needed.contains(lib),
            "the front end links {lib}:\n{needed}"
        );
    }
    let (front, full) = (tmp("reconcile-front"), tmp("reconcile-full"));
    let reconcile = |cmd: &mut Command, out: &Path, extra: &[&str]| {
        let o = run(cmd
            .args(["reconcile", "--quiet", "--no-ledger", "--store"])
            .arg(store())
            .arg("--out")
            .arg(out)
            .args(extra));
        assert!(o.status.success(), "reconcile: {}", text(&o));
    };
    reconcile(&mut lantu(), &front, &[]);
    reconcile(
        &mut Command::new(env!("CARGO_BIN_EXE_lantu-full")),
        &full,
        &[],
    );
    let lines = rule_lines(&front);
    assert!(
        lines.iter().any(|r| r["count"].as_u64() > Some(0)),
        "{lines:?}"
    );
    assert_eq!(lines, rule_lines(&full));
    // GeoJSON needs PROJ: the front end hands the run to lantu-full.
    let handed = tmp("reconcile-geojson");
    reconcile(&mut lantu(), &handed, &["--geojson"]);
    let gj: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(handed.join("conflicts.geojson")).expect("conflicts.geojson"),
    )
    .expect("GeoJSON");
    let total: u64 = lines.iter().filter_map(|r| r["count"].as_u64()).sum();
    assert_eq!(
        gj["features"].as_array().map(Vec::len),
        Some(total as usize)
    );
    spatial_index_is_sound(&front.join("conflicts.gpkg"), total);
}

/// The GeoPackage's R-tree (bulk-loaded into SQLite's shadow tables) passes SQLite's own
/// `rtreecheck`, holds one entry per piece, and GDAL's spatial filter — which goes through it —
/// finds exactly the pieces whose envelopes meet the window.
fn spatial_index_is_sound(gpkg: &Path, pieces: u64) {
    assert!(
        pieces > 51,
        "a one-node tree would not test much: {pieces} pieces"
    );
    let conn = rusqlite::Connection::open(gpkg).expect("open gpkg");
    let check: String = conn
        .query_row("SELECT rtreecheck('rtree_conflicts_geom')", [], |r| {
            r.get(0)
        })
        .expect("rtreecheck");
    assert_eq!(check, "ok");
    let entries: u64 = conn
        .query_row("SELECT count(*) FROM rtree_conflicts_geom", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert_eq!(entries, pieces);
    // Envelopes from the geometry blobs' headers ([min x, max x, min y, max y] after 8 bytes).
    let envelopes: Vec<[f64; 4]> = conn
        .prepare("SELECT geom FROM conflicts")
        .expect("select")
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .expect("rows")
        .map(|b| {
            let b = b.expect("blob");
            std::array::from_fn(|k| {
                f64::from_le_bytes(b[8 + 8 * k..16 + 8 * k].try_into().expect("8 bytes"))
            })
        })
        .collect();
    // A window across the whole district from about the first quartile of the pieces' west
    // edges to about the median, its x edges in gaps of at least 2 m between envelope edges: the
    // index holds boxes rounded outward to f32 (~6 cm here), and no piece may sit on the fence.
    let mut west: Vec<f64> = envelopes.iter().map(|e| e[0]).collect();
    west.sort_by(f64::total_cmp);
    let mut xs: Vec<f64> = envelopes.iter().flat_map(|e| [e[0], e[1]]).collect();
    xs.sort_by(f64::total_cmp);
    let gap_after = |from: f64| {
        xs.windows(2)
            .find(|g| g[0] >= from && g[1] - g[0] >= 2.0)
            .map(|g| (g[0] + g[1]) / 2.0)
            .expect("a 2 m gap between envelope edges")
    };
    let (min_y, max_y) = envelopes
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), e| (a.min(e[2]), b.max(e[3])));
    let w = [
        gap_after(west[west.len() / 4]),
        min_y,
        gap_after(west[west.len() / 2]),
        max_y,
    ];
    let want = envelopes
        .iter()
        .filter(|e| e[1] >= w[0] && e[0] <= w[2] && e[3] >= w[1] && e[2] <= w[3])
        .count();
    assert!(
        want > 0 && (want as u64) < pieces,
        "window meets {want} of {pieces}"
    );
    let o = run(Command::new("ogrinfo")
        .args(["-ro", "-so", "-spat"])
        .args(w.map(|v| v.to_string()))
        .arg(gpkg)
        .arg("conflicts"));
    let out = text(&o);
    assert!(
        out.contains(&format!("Feature Count: {want}")),
        "GDAL's spatial filter, window {w:?}, expected {want}: {out}"
    );
}
