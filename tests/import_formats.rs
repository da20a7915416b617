//! Each office format imports with known counts, areas and Chinese attribute text.

use geo::{Area, Coord};
use geographiclib_rs::{Geodesic, PolygonArea, Winding};
use lantu::blueprint::ClassSpec;
use lantu::crs::{Crs, CrsError, CrsSource};
use lantu::export::{self, ExportFormat, ExportOptions};
use lantu::import::{ImportError, import_path};
use lantu::layer::{GeomKind, LayerRole, Value};

use crate::support::{data_real, geojson_4546, rect, spec};

/// Geodesic area on GRS80 of lon/lat rings (exterior minus holes), the independent oracle for
/// ellipsoidal areas.
fn geodesic_area(rings: &[Vec<(f64, f64)>]) -> f64 {
    let g = Geodesic::new(6_378_137.0, 1.0 / 298.257_222_101);
    let mut total = 0.0;
    for (i, ring) in rings.iter().enumerate() {
        // Feed every ring counter-clockwise (shapefile shells are clockwise), else geographiclib
        // returns the rest of the ellipsoid.
        let shoelace: f64 = ring
            .windows(2)
            .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
            .sum();
        let mut ring = ring.clone();
        if shoelace < 0.0 {
            ring.reverse();
        }
        let mut pa = PolygonArea::new(&g, Winding::CounterClockwise);
        for (lon, lat) in ring.iter().take(ring.len().saturating_sub(1)) {
            pa.add_point(*lat, *lon);
        }
        let (_, area, _) = pa.compute(false);
        let a = area.abs();
        total += if i == 0 { a } else { -a };
    }
    total
}

#[test]
fn gbk_shapefile_without_cpg_reads_as_heilongjiang() {
    let path = data_real("geotools-chinese-poly-gbk/chinese_poly.shp");
    let mut s = spec("hlj", LayerRole::Boundary);
    s.id_field = Some("ADCODE99".into());
    // CM 129°E: the zone through Heilongjiang, so planar and ellipsoidal areas stay comparable.
    let working = Crs::Epsg(4552);
    let layer = import_path(&s, &path, &working).expect("import");
    assert_eq!(layer.data.features.len(), 1);
    let f = &layer.data.features[0];
    assert_eq!(f.id, "230000");
    assert_eq!(layer.data.attr(0, "NAME"), &Value::Text("黑龙江省".into()));
    assert_eq!(layer.report.encoding.as_deref(), Some("GBK"));
    assert!(
        layer.report.warnings.iter().any(|w| w.contains("GBK")),
        "{:?}",
        layer.report.warnings
    );
    assert_eq!(layer.report.crs.source, CrsSource::File);
    assert_eq!(layer.report.crs.crs, Crs::Epsg(4326));

    // Oracle: the geodesic area of the source lon/lat ring, read independently with GDAL.
    let ds = gdal::Dataset::open(&path).expect("gdal open");
    let lyr = ds.layer(0).expect("layer");
    use gdal::vector::LayerAccess;
    let mut lyr = lyr;
    let feat = lyr.features().next().expect("feature");
    let g = feat.geometry().expect("geometry");
    let ring = g.get_geometry(0);
    let mut pts = Vec::new();
    ring.get_points(&mut pts);
    let lonlat: Vec<(f64, f64)> = pts.iter().map(|(x, y, _)| (*x, *y)).collect();
    let expected = geodesic_area(&[lonlat]);
    let got = layer.report.ellipsoidal_area_m2;
    let rel = (got - expected).abs() / expected;
    // A 14°-wide province in one 3° zone, outlined by ~50 km edges: a geodesic edge, a straight
    // edge in lon/lat and a straight edge in the Gauss–Krüger plane enclose areas differing by
    // ~1e-4 of the total, so the oracle can only hold the result to 1e-3 here (the KML test
    // below holds a 1 km parcel to 1e-6).
    assert!(
        rel < 1e-3,
        "ellipsoidal {got} vs geodesic {expected} (rel {rel:e})"
    );
}

#[test]
fn declared_encoding_skips_the_guess() {
    let path = data_real("geotools-chinese-poly-gbk/chinese_poly.shp");
    let mut s = spec("hlj", LayerRole::Boundary);
    s.encoding = Some("GBK".into());
    let layer = import_path(&s, &path, &Crs::Epsg(4552)).expect("import");
    assert_eq!(layer.data.attr(0, "NAME"), &Value::Text("黑龙江省".into()));
    assert!(layer.report.warnings.iter().all(|w| !w.contains("GBK")));
}

/// The DataV boundaries are GCJ-02 in bare JSON arrays with clockwise shells.
#[test]
fn gcj02_bare_array_is_refused_without_declaration() {
    let path = data_real("datav-yangjiang-admin/441704.json");
    let s = spec("yd", LayerRole::Boundary);
    let err = import_path(&s, &path, &Crs::Epsg(4546)).expect_err("must refuse");
    match &err {
        ImportError::Crs {
            source: CrsError::AmbiguousLonLat { .. },
            ..
        } => {}
        other => panic!("expected AmbiguousLonLat, got {other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("GCJ02") && msg.contains("EPSG:4490"), "{msg}");
}

#[test]
fn gcj02_declared_lands_where_it_belongs() {
    let path = data_real("datav-yangjiang-admin/441704.json");
    let mut s = spec("yd", LayerRole::Boundary);
    s.crs = Some("GCJ02".into());
    s.id_field = Some("adcode".into());
    let gcj = import_path(&s, &path, &Crs::Epsg(4546)).expect("import as GCJ-02");
    assert_eq!(gcj.data.features.len(), 1);
    assert_eq!(gcj.data.features[0].id, "441704");
    assert_eq!(gcj.data.attr(0, "name"), &Value::Text("阳东区".into()));
    // Every shell was clockwise in the file: all were reoriented, nothing else was needed.
    assert_eq!(
        gcj.report.substantive_repairs(),
        0,
        "{:?}",
        gcj.report.repaired
    );

    // The same file taken (wrongly) as WGS84: the difference must be the GCJ-02 offset,
    // ≈ 530 m east and 300 m south around 阳东 (≈ 610 m), nearly uniform over the district.
    let mut w = spec("yd", LayerRole::Boundary);
    w.crs = Some("EPSG:4326".into());
    let wgs = import_path(&w, &path, &Crs::Epsg(4546)).expect("import as WGS84");
    let a = gcj.data.features[0].geom.as_polygons().expect("polygons");
    let b = wgs.data.features[0].geom.as_polygons().expect("polygons");
    let coords = |mp: &geo::MultiPolygon<f64>| -> Vec<Coord<f64>> {
        mp.0.iter().flat_map(|p| p.exterior().0.clone()).collect()
    };
    let (ca, cb) = (coords(a), coords(b));
    assert_eq!(ca.len(), cb.len());
    for (p, q) in ca.iter().zip(&cb) {
        let (dx, dy) = (q.x - p.x, q.y - p.y);
        let d = dx.hypot(dy);
        assert!((450.0..=750.0).contains(&d), "offset {d} m at {p:?}");
        assert!(dx > 350.0 && dy < -150.0, "direction ({dx}, {dy}) at {p:?}");
    }
    // Nearly a shift: GCJ-02's offset varies by a few metres across a 50 km district, so the
    // areas differ by ~1e-5 (measured 1.25e-5), never by the 1e-3 a wrong datum or zone gives.
    let rel = (a.unsigned_area() - b.unsigned_area()).abs() / a.unsigned_area();
    assert!(rel < 5e-5, "{rel}");
    // And the district sits in the zone of CM 111°E where 阳东 is (21.7°–22.3°N): measured
    // x 578.8–641.1 km, y 2.4007–2.4634 Mm.
    let r = gcj.data.bounding_rect().expect("bbox");
    assert!(r.min().x > 570_000.0 && r.max().x < 650_000.0, "{r:?}");
    assert!(r.min().y > 2_395_000.0 && r.max().y < 2_470_000.0, "{r:?}");
}

#[test]
fn datav_multi_feature_array_tiles_exactly() {
    let path = data_real("datav-yangjiang-admin/441700.json");
    let mut s = spec("yj", LayerRole::Boundary);
    s.crs = Some("GCJ02".into());
    s.id_field = Some("adcode".into());
    let layer = import_path(&s, &path, &Crs::Epsg(4546)).expect("import");
    let ids: Vec<&str> = layer.data.features.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, vec!["441702", "441704", "441721", "441781"]);
    let names: Vec<String> = (0..4)
        .map(|i| layer.data.attr(i, "name").to_string())
        .collect();
    assert_eq!(names, vec!["江城区", "阳东区", "阳西县", "阳春市"]);
}

#[test]
fn geojson_in_gk_with_crs_member_has_exact_areas() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("parcels.geojson");
    let text = geojson_4546(&[
        ("A", vec![rect(590_000.0, 2_420_000.0, 100.0, 50.0)]),
        (
            "B",
            vec![
                rect(590_200.0, 2_420_000.0, 100.0, 100.0),
                // a 20 × 10 hole, written clockwise as RFC 7946 asks
                vec![
                    (590_210.0, 2_420_010.0),
                    (590_210.0, 2_420_020.0),
                    (590_230.0, 2_420_020.0),
                    (590_230.0, 2_420_010.0),
                    (590_210.0, 2_420_010.0),
                ],
            ],
        ),
    ]);
    std::fs::write(&path, text).expect("write");
    let mut s = spec("p", LayerRole::UrbanPlan);
    s.id_field = Some("BH".into());
    let layer = import_path(&s, &path, &Crs::Epsg(4546)).expect("import");
    assert_eq!(layer.report.crs.source, CrsSource::File);
    assert_eq!(layer.data.features.len(), 2);
    assert!((layer.report.planar_area_m2 - (5_000.0 + 10_000.0 - 200.0)).abs() < 1e-6);
    assert!(
        layer.report.repaired.is_empty(),
        "{:?}",
        layer.report.repaired
    );
}

#[test]
fn kml_is_wgs84_by_definition() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("site.kml");
    // A 0.01° × 0.01° square near 阳东 (111.90–111.91 E, 21.90–21.91 N).
    let kml = r#"<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>拟选址地块</name>
<Polygon><outerBoundaryIs><LinearRing><coordinates>
111.90,21.90 111.91,21.90 111.91,21.91 111.90,21.91 111.90,21.90
</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>"#;
    std::fs::write(&path, kml).expect("write");
    let s = spec("site", LayerRole::Site);
    let layer = import_path(&s, &path, &Crs::Epsg(4546)).expect("import");
    assert_eq!(layer.data.features.len(), 1);
    assert_eq!(
        layer.data.attr(0, "Name"),
        &Value::Text("拟选址地块".into())
    );
    let expected = geodesic_area(&[vec![
        (111.90, 21.90),
        (111.91, 21.90),
        (111.91, 21.91),
        (111.90, 21.91),
        (111.90, 21.90),
    ]]);
    let rel = (layer.report.ellipsoidal_area_m2 - expected).abs() / expected;
    assert!(
        rel < 1e-6,
        "{} vs {expected}",
        layer.report.ellipsoidal_area_m2
    );
}

fn small_layer() -> (tempfile::TempDir, lantu::import::ImportedLayer) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("kg.geojson");
    let doc = serde_json::json!({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4546"}},
        "features": [
            {"type": "Feature", "properties": {"DKBH": "DC-01", "YDXZDM": "R2", "YDXZMC": "二类居住用地", "RJLSX": 2.5, "CS": 18},
             "geometry": {"type": "Polygon", "coordinates": [[[590000.0, 2420000.0], [590120.5, 2420000.0], [590120.5, 2420080.25], [590000.0, 2420080.25], [590000.0, 2420000.0]]]}},
            {"type": "Feature", "properties": {"DKBH": "DC-02", "YDXZDM": "E2", "YDXZMC": "农林用地", "RJLSX": null, "CS": 0},
             "geometry": {"type": "MultiPolygon", "coordinates": [[[[590200.0, 2420000.0], [590300.0, 2420000.0], [590250.0, 2420060.0], [590200.0, 2420000.0]]], [[[590400.0, 2420000.0], [590450.0, 2420000.0], [590450.0, 2420050.0], [590400.0, 2420000.0]]]]}}
        ]
    });
    std::fs::write(&path, doc.to_string()).expect("write");
    let mut s = spec("kg", LayerRole::UrbanPlan);
    s.id_field = Some("DKBH".into());
    s.class = Some(ClassSpec {
        field: "YDXZDM".into(),
        system: "GB50137-2011".into(),
    });
    let layer = import_path(&s, &path, &Crs::Epsg(4546)).expect("import");
    (dir, layer)
}

#[test]
fn export_and_reimport_round_trips_in_every_format() {
    let (dir, layer) = small_layer();
    assert_eq!(layer.data.features[0].class.as_deref(), Some("R2"));
    // 120.5 × 80.25 + ½·100·60 + ½·50·50
    let expected_area = 120.5 * 80.25 + 3_000.0 + 1_250.0;
    assert!((layer.report.planar_area_m2 - expected_area).abs() < 1e-6);
    for format in [
        ExportFormat::GeoPackage,
        ExportFormat::Shapefile,
        ExportFormat::GeoJson,
    ] {
        let out = dir.path().join(format!("out.{}", format.extension()));
        export::write(
            &layer.data,
            &Crs::Epsg(4546),
            format,
            &out,
            "kg",
            &ExportOptions::default(),
        )
        .expect("export");
        if format == ExportFormat::Shapefile {
            let cpg = std::fs::read_to_string(out.with_extension("cpg")).expect(".cpg written");
            assert!(
                cpg.trim().eq_ignore_ascii_case("GBK") || cpg.trim() == "936",
                "{cpg}"
            );
            // The bytes on disk are GBK: 二类居住用地 encodes to 12 bytes.
            let dbf = std::fs::read(out.with_extension("dbf")).expect("dbf");
            let (gbk, _, _) = encoding_rs::GBK.encode("二类居住用地");
            assert!(dbf.windows(gbk.len()).any(|w| w == &gbk[..]));
        }
        let mut s = spec("kg", LayerRole::UrbanPlan);
        s.id_field = Some("DKBH".into());
        s.class = Some(ClassSpec {
            field: "YDXZDM".into(),
            system: "GB50137-2011".into(),
        });
        let back = import_path(&s, &out, &Crs::Epsg(4546)).expect("re-import");
        assert_eq!(back.data.features.len(), 2, "{format:?}");
        assert_eq!(back.data.features[0].id, "DC-01");
        assert_eq!(
            back.data.attr(0, "YDXZMC"),
            &Value::Text("二类居住用地".into()),
            "{format:?}"
        );
        assert_eq!(back.data.attr(0, "RJLSX").as_f64(), Some(2.5), "{format:?}");
        let rel = (back.report.planar_area_m2 - expected_area).abs() / expected_area;
        // GeoJSON goes through EPSG:4490 lon/lat and back through PROJ.
        let tol = if format == ExportFormat::GeoJson {
            1e-9
        } else {
            1e-12
        };
        assert!(rel < tol, "{format:?}: {rel:e}");
        assert_eq!(back.data.kind, GeomKind::Polygon);
    }
}

#[test]
fn filegdb_reads_the_named_layer() {
    let (dir, layer) = small_layer();
    // Write a FileGDB with GDAL's OpenFileGDB driver (read and write in GDAL 3.6).
    let gdb = dir.path().join("tdgh.gdb");
    let gpkg = dir.path().join("src.gpkg");
    export::write(
        &layer.data,
        &Crs::Epsg(4546),
        ExportFormat::GeoPackage,
        &gpkg,
        "DLTB",
        &ExportOptions::default(),
    )
    .expect("gpkg");
    let status = std::process::Command::new("ogr2ogr")
        .args(["-f", "OpenFileGDB"])
        .arg(&gdb)
        .arg(&gpkg)
        .status()
        .expect("ogr2ogr (gdal-bin) must be installed");
    assert!(status.success());
    let mut s = spec("dltb", LayerRole::Status);
    s.source_layer = Some("DLTB".into());
    s.id_field = Some("DKBH".into());
    let back = import_path(&s, &gdb, &Crs::Epsg(4546)).expect("import gdb");
    assert_eq!(back.report.format, "FileGDB");
    assert_eq!(back.data.features.len(), 2);
    assert_eq!(back.data.attr(1, "YDXZMC"), &Value::Text("农林用地".into()));
    let mut wrong = s.clone();
    wrong.source_layer = Some("JSYDGZQ".into());
    let err = import_path(&wrong, &gdb, &Crs::Epsg(4546)).expect_err("no such layer");
    assert!(err.to_string().contains("DLTB"), "{err}");
}

#[test]
fn zipped_shapefile_imports() {
    let (dir, layer) = small_layer();
    let shp = dir.path().join("kg.shp");
    export::write(
        &layer.data,
        &Crs::Epsg(4546),
        ExportFormat::Shapefile,
        &shp,
        "kg",
        &ExportOptions::default(),
    )
    .expect("shp");
    let zip_path = dir.path().join("kg.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip_path).expect("zip"));
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        let p = shp.with_extension(ext);
        w.start_file(
            format!("规划/kg.{ext}"),
            zip::write::SimpleFileOptions::default(),
        )
        .expect("entry");
        std::io::Write::write_all(&mut w, &std::fs::read(p).expect("read")).expect("write");
    }
    w.finish().expect("finish");
    let mut s = spec("kg", LayerRole::UrbanPlan);
    s.id_field = Some("DKBH".into());
    let back = import_path(&s, &zip_path, &Crs::Epsg(4546)).expect("import zip");
    assert_eq!(back.report.format, "ZIP/Shapefile");
    assert_eq!(back.data.features.len(), 2);
    assert_eq!(
        back.data.attr(0, "YDXZMC"),
        &Value::Text("二类居住用地".into())
    );
}
