//! Bad input gets a named error and leaves the store exactly as it was.

use std::fs;
use std::path::Path;

use lantu::blueprint::LayerSpec;
use lantu::crs::Crs;
use lantu::export::{self, ExportFormat, ExportOptions};
use lantu::geometry::validate::{Repair, RepairPolicy};
use lantu::import::{ImportError, import_path};
use lantu::layer::LayerRole;
use lantu::store::{NewVersion, Store};

use crate::support::{geojson_4546, rect, spec};

/// A store holding one blueprint version with one layer, for "nothing changed" checks.
fn seeded_store(dir: &Path) -> Store {
    let store = Store::open(dir.join("store")).expect("store");
    let src = dir.join("seed.geojson");
    fs::write(
        &src,
        geojson_4546(&[("S1", vec![rect(590_000.0, 2_420_000.0, 10.0, 10.0)])]),
    )
    .expect("write");
    let mut s = spec("seed", LayerRole::Sector);
    s.id_field = Some("BH".into());
    let layer = import_path(&s, &src, &Crs::Epsg(4546)).expect("seed import");
    let obj = store.put_layer(&layer.data, 4546).expect("put");
    store
        .commit_import(
            "test",
            "EPSG:4546",
            None,
            &[NewVersion {
                hash: obj.hash,
                spec: s,
                source: layer.source,
                working_crs: "EPSG:4546".into(),
                feature_count: 1,
                planar_area_m2: 100.0,
                ellipsoidal_area_m2: 100.0,
                repaired: 0,
                rejected: 0,
                report: serde_json::json!({}),
            }],
            "test",
            "seed",
            true,
        )
        .expect("commit");
    store
}

/// What must not change: blueprint heads, versions, audit length, layer objects.
fn snapshot(store: &Store) -> (Vec<(String, i64, i64)>, usize, Vec<String>) {
    let bps = store.blueprints().expect("blueprints");
    let audit = store.audit_log(None, 10_000).expect("audit").len();
    let mut objects: Vec<String> = fs::read_dir(store.root().join("layers"))
        .expect("layers dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    objects.sort();
    (bps, audit, objects)
}

/// Runs an import through the same path the CLI uses; only a success may touch the store.
fn try_import(store: &Store, s: &LayerSpec, path: &Path) -> Result<(), ImportError> {
    let layer = import_path(s, path, &Crs::Epsg(4546))?;
    let obj = store.put_layer(&layer.data, 4546).expect("put");
    store
        .commit_import(
            "test",
            "EPSG:4546",
            None,
            &[NewVersion {
                hash: obj.hash,
                spec: s.clone(),
                source: layer.source,
                working_crs: "EPSG:4546".into(),
                feature_count: layer.data.features.len(),
                planar_area_m2: layer.report.planar_area_m2,
                ellipsoidal_area_m2: layer.report.ellipsoidal_area_m2,
                repaired: 0,
                rejected: 0,
                report: serde_json::json!({}),
            }],
            "test",
            "import",
            false,
        )
        .expect("commit");
    Ok(())
}

fn assert_refused(store: &Store, s: &LayerSpec, path: &Path, expect: &[&str]) -> ImportError {
    let before = snapshot(store);
    let err = try_import(store, s, path).expect_err("must be refused");
    let msg = err.to_string();
    for e in expect {
        assert!(msg.contains(e), "error `{msg}` should mention `{e}`");
    }
    assert_eq!(snapshot(store), before, "the store changed after: {msg}");
    err
}

fn write_shapefile(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("two.geojson");
    fs::write(
        &src,
        geojson_4546(&[
            ("A", vec![rect(590_000.0, 2_420_000.0, 50.0, 50.0)]),
            ("B", vec![rect(590_100.0, 2_420_000.0, 50.0, 50.0)]),
        ]),
    )
    .expect("write");
    let mut s = spec("two", LayerRole::Sector);
    s.id_field = Some("BH".into());
    let layer = import_path(&s, &src, &Crs::Epsg(4546)).expect("import");
    let shp = dir.join("two.shp");
    export::write(
        &layer.data,
        &Crs::Epsg(4546),
        ExportFormat::Shapefile,
        &shp,
        "two",
        &ExportOptions::default(),
    )
    .expect("export");
    shp
}

#[test]
fn truncated_shp_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path());
    let shp = write_shapefile(dir.path());
    let bytes = fs::read(&shp).expect("read");
    fs::write(&shp, &bytes[..bytes.len() - 40]).expect("truncate");
    assert_refused(
        &store,
        &spec("two", LayerRole::Sector),
        &shp,
        &["two.shp", "header declares", "truncated"],
    );
}

#[test]
fn dbf_header_promising_more_records_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path());
    let shp = write_shapefile(dir.path());
    let dbf = shp.with_extension("dbf");
    let mut bytes = fs::read(&dbf).expect("read");
    bytes[4..8].copy_from_slice(&1_000_000u32.to_le_bytes());
    fs::write(&dbf, bytes).expect("write");
    assert_refused(
        &store,
        &spec("two", LayerRole::Sector),
        &shp,
        &["two.dbf", "1000000 records"],
    );
}

#[test]
fn missing_dbf_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path());
    let shp = write_shapefile(dir.path());
    fs::remove_file(shp.with_extension("dbf")).expect("rm");
    assert_refused(&store, &spec("two", LayerRole::Sector), &shp, &[".dbf"]);
}

#[test]
fn empty_file_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path());
    let p = dir.path().join("empty.geojson");
    fs::write(&p, b"").expect("write");
    assert_refused(
        &store,
        &spec("e", LayerRole::Sector),
        &p,
        &["empty.geojson", "empty"],
    );
    let p = dir.path().join("empty.shp");
    fs::write(&p, b"").expect("write");
    assert_refused(&store, &spec("e", LayerRole::Sector), &p, &["empty"]);
}

#[test]
fn malformed_json_names_line_and_column() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path());
    let p = dir.path().join("bad.geojson");
    fs::write(
        &p,
        "{\"type\": \"FeatureCollection\",\n \"features\": [ {\"type\": }",
    )
    .expect("w");
    assert_refused(
        &store,
        &spec("b", LayerRole::Sector),
        &p,
        &["bad.geojson", "line 2"],
    );
}

#[test]
fn nan_coordinates_are_rejected_by_feature() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path());
    // JSON has no NaN: write a GeoPackage with a NaN vertex through GDAL.
    let gpkg = dir.path().join("nan.gpkg");
    {
        use gdal::vector::{Geometry, LayerAccess, LayerOptions, OGRwkbGeometryType};
        let drv = gdal::DriverManager::get_driver_by_name("GPKG").expect("driver");
        let mut ds = drv.create_vector_only(&gpkg).expect("create");
        let srs = gdal::spatial_ref::SpatialRef::from_epsg(4546).expect("srs");
        let mut lyr = ds
            .create_layer(LayerOptions {
                name: "nan",
                srs: Some(&srs),
                ty: OGRwkbGeometryType::wkbPolygon,
                options: None,
            })
            .expect("layer");
        let mut ring = Geometry::empty(OGRwkbGeometryType::wkbLinearRing).expect("ring");
        for (x, y) in [
            (590_000.0, 2_420_000.0),
            (590_010.0, 2_420_000.0),
            (f64::NAN, 2_420_010.0),
            (590_000.0, 2_420_000.0),
        ] {
            ring.add_point_2d((x, y));
        }
        let mut poly = Geometry::empty(OGRwkbGeometryType::wkbPolygon).expect("poly");
        poly.add_geometry(ring).expect("add");
        lyr.create_feature(poly).expect("feature");
    }
    let err = assert_refused(
        &store,
        &spec("nan", LayerRole::Sector),
        &gpkg,
        &["1 features rejected", "non-finite"],
    );
    match err {
        ImportError::Rejected { report, .. } => {
            assert_eq!(report.rejected.len(), 1);
            assert!(
                report.rejected[0].reason.contains("vertex 2"),
                "{:?}",
                report.rejected
            );
        }
        other => panic!("{other}"),
    }
}

fn bowtie_file(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("bowtie.geojson");
    fs::write(
        &p,
        geojson_4546(&[
            (
                "X1",
                vec![vec![
                    (590_000.0, 2_420_000.0),
                    (590_100.0, 2_420_100.0),
                    (590_100.0, 2_420_000.0),
                    (590_000.0, 2_420_100.0),
                    (590_000.0, 2_420_000.0),
                ]],
            ),
            ("X2", vec![rect(590_200.0, 2_420_000.0, 10.0, 10.0)]),
        ]),
    )
    .expect("write");
    p
}

#[test]
fn bowtie_is_repaired_and_logged() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = bowtie_file(dir.path());
    let mut s = spec("b", LayerRole::Sector);
    s.id_field = Some("BH".into());
    let layer = import_path(&s, &p, &Crs::Epsg(4546)).expect("repaired");
    let x1 = layer
        .report
        .repaired
        .iter()
        .find(|r| r.id == "X1")
        .expect("X1 logged");
    let made_valid = x1.repairs.iter().find_map(|r| match r {
        Repair::MadeValid {
            reason,
            area_after_m2,
            parts_after,
            ..
        } => Some((reason.clone(), *area_after_m2, *parts_after)),
        _ => None,
    });
    let (reason, area, parts) = made_valid.expect("MadeValid");
    assert!(reason.contains("(590050.000, 2420050.000)"), "{reason}");
    // Two triangles of ½ · 100 · 50 each.
    assert!((area - 5_000.0).abs() < 1e-6, "{area}");
    assert_eq!(parts, 2);
    assert!((layer.report.planar_area_m2 - 5_100.0).abs() < 1e-6);
}

#[test]
fn bowtie_is_rejected_under_strict_policy() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path());
    let p = bowtie_file(dir.path());
    let mut s = spec("b", LayerRole::Sector);
    s.id_field = Some("BH".into());
    s.repair = RepairPolicy::Strict;
    assert_refused(
        &store,
        &s,
        &p,
        &[
            "feature X1",
            "self-intersection",
            "(590050.000, 2420050.000)",
        ],
    );
    // With allow_rejects the valid feature goes in and the rejection stays in the report.
    s.allow_rejects = true;
    let layer = import_path(&s, &p, &Crs::Epsg(4546)).expect("partial import");
    assert_eq!(layer.data.features.len(), 1);
    assert_eq!(layer.report.rejected.len(), 1);
    assert_eq!(layer.report.rejected[0].id, "X1");
}

#[test]
fn unclosed_ring_is_closed_or_rejected() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path());
    let p = dir.path().join("open.geojson");
    let mut ring = rect(590_000.0, 2_420_000.0, 30.0, 20.0);
    ring.pop();
    fs::write(&p, geojson_4546(&[("U1", vec![ring])])).expect("write");
    let mut s = spec("u", LayerRole::Sector);
    s.id_field = Some("BH".into());
    let layer = import_path(&s, &p, &Crs::Epsg(4546)).expect("closed");
    assert_eq!(
        layer.report.repaired[0].repairs,
        vec![Repair::ClosedRing { part: 0, ring: 0 }]
    );
    assert!((layer.report.planar_area_m2 - 600.0).abs() < 1e-9);
    s.repair = RepairPolicy::Strict;
    assert_refused(&store, &s, &p, &["feature U1", "not closed"]);
}

#[test]
fn zip_with_parent_paths_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path());
    let p = dir.path().join("evil.zip");
    let mut w = zip::ZipWriter::new(fs::File::create(&p).expect("zip"));
    w.start_file(
        "../../outside.shp",
        zip::write::SimpleFileOptions::default(),
    )
    .expect("entry");
    std::io::Write::write_all(&mut w, b"x").expect("w");
    w.finish().expect("finish");
    assert_refused(
        &store,
        &spec("z", LayerRole::Sector),
        &p,
        &["evil.zip", "../../outside.shp", "escapes"],
    );
    assert!(!dir.path().join("../outside.shp").exists());
}

#[test]
fn zip_bomb_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path());
    let p = dir.path().join("bomb.zip");
    let mut w = zip::ZipWriter::new(fs::File::create(&p).expect("zip"));
    w.start_file(
        "big.dbf",
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated),
    )
    .expect("entry");
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        std::io::Write::write_all(&mut w, &zeros).expect("w");
    }
    w.finish().expect("finish");
    assert!(fs::metadata(&p).expect("meta").len() < 1 << 20);
    assert_refused(
        &store,
        &spec("z", LayerRole::Sector),
        &p,
        &["bomb.zip", "zip bomb"],
    );
}

#[test]
fn duplicate_ids_are_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path());
    let p = dir.path().join("dup.geojson");
    fs::write(
        &p,
        geojson_4546(&[
            ("D1", vec![rect(590_000.0, 2_420_000.0, 10.0, 10.0)]),
            ("D1", vec![rect(590_020.0, 2_420_000.0, 10.0, 10.0)]),
        ]),
    )
    .expect("write");
    let mut s = spec("d", LayerRole::Sector);
    s.id_field = Some("BH".into());
    assert_refused(&store, &s, &p, &["duplicate", "D1 (×2)"]);
}

#[test]
fn missing_id_field_lists_the_fields() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path());
    let p = dir.path().join("f.geojson");
    fs::write(
        &p,
        geojson_4546(&[("F1", vec![rect(590_000.0, 2_420_000.0, 10.0, 10.0)])]),
    )
    .expect("write");
    let mut s = spec("f", LayerRole::Sector);
    s.id_field = Some("DKBH".into());
    assert_refused(&store, &s, &p, &["DKBH", "BH"]);
}

#[test]
fn undetectable_coordinates_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = seeded_store(dir.path());
    let p = dir.path().join("local.geojson");
    // Local CAD coordinates with no CRS: neither lon/lat nor Gauss–Krüger.
    fs::write(
        &p,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},
        "geometry":{"type":"Polygon","coordinates":[[[1000,1000],[1100,1000],[1100,1100],[1000,1000]]]}}]}"#,
    )
    .expect("write");
    assert_refused(&store, &spec("l", LayerRole::Sector), &p, &["--crs"]);
}
