//! DXF import of the real ezdxf sample drawings: hatches, closed polylines and loose LINE/ARC
//! pieces become polygons, TEXT labels land in the polygon holding them.
//!
//! The drawings are read from the shared real-data folder (`LANTU_DATA_REAL`, by default
//! `/work/shared/data-real`), never copied into the repository. Their coordinates are small
//! drawing units, not Gauss–Krüger values; they are declared EPSG:4546 and imported into
//! EPSG:4546, so PROJ passes them through unchanged.
//!
//! Expected values come from GDAL 3.6.2 with SpatiaLite 5.0.1 / GEOS 3.11.1 (`ogrinfo -dialect
//! SQLite`), or from the DXF group codes themselves; the queries are quoted at each test.

use std::path::PathBuf;

use geo::{Area, Contains, Point, Validation};
use lantu::blueprint::spec::LayerSpec;
use lantu::crs::Crs;
use lantu::import::{ImportedLayer, import_path};
use lantu::layer::{Geom, LayerRole, Value};

fn sample(name: &str) -> PathBuf {
    let root = std::env::var("LANTU_DATA_REAL").unwrap_or_else(|_| "/work/shared/data-real".into());
    let path = PathBuf::from(root).join("ezdxf-polygon-samples").join(name);
    assert!(path.is_file(), "real sample {} is missing", path.display());
    path
}

fn import(name: &str) -> ImportedLayer {
    let mut spec = LayerSpec::new("kg", LayerRole::UrbanPlan);
    spec.crs = Some("EPSG:4546".to_string());
    import_path(&spec, &sample(name), &Crs::Epsg(4546)).expect("the sample imports")
}

/// Every feature's polygons, after checking each is valid.
fn polygons(layer: &ImportedLayer) -> Vec<&geo::MultiPolygon<f64>> {
    layer
        .data
        .features
        .iter()
        .map(|f| {
            let mp = f.geom.as_polygons().expect("a polygon layer");
            assert!(mp.is_valid(), "feature {} is invalid", f.id);
            mp
        })
        .collect()
}

fn total_area(layer: &ImportedLayer) -> f64 {
    polygons(layer).iter().map(|mp| mp.unsigned_area()).sum()
}

fn text_attr<'a>(layer: &'a ImportedLayer, name: &str, i: usize) -> Option<&'a str> {
    let pos = layer
        .data
        .fields
        .iter()
        .position(|f| f.name == name)
        .expect("field exists");
    layer.data.features[i]
        .attrs
        .get(pos)
        .and_then(Value::as_text)
}

fn sorted_areas(layer: &ImportedLayer) -> Vec<f64> {
    let mut a: Vec<f64> = polygons(layer)
        .iter()
        .map(|mp| mp.unsigned_area())
        .collect();
    a.sort_by(|x, y| y.total_cmp(x));
    a
}

/// `1_polylines.dxf`: 52 LINE and 22 ARC pieces and 9 TEXT labels, no polygon entity.
///
/// The expected faces were established two ways. By hand from `ogrinfo -al 1_polylines.dxf`:
/// three closed outlines (left: 6 lines and 3 arcs; top right: 12 lines and 2 arcs; "closed
/// loop: circular arcs": 10 arcs), five overlapping rectangles of 4 lines each, and two open
/// polylines (6 lines; 8 lines and 7 arcs) that close nothing: 21 dangling pieces. The drawing's
/// own caption says "8 closed loops" (3 outlines + 5 rectangles); drawn as lines, the rectangles
/// cut each other into their overlay faces. GEOS counts those faces:
///
/// ```text
/// ogr2ogr -f GeoJSON faces.geojson 1_polylines.dxf -explodecollections -dialect SQLite -sql \
///   "SELECT ST_Polygonize(u) AS geometry FROM (SELECT ST_Union(ST_SnapToGrid(
///    CastToXY(geometry), 1e-6)) AS u FROM entities WHERE SubClasses NOT LIKE '%Text%')"
/// ```
///
/// gives 16 polygons (13 rectangle faces + 3 outlines), total area 13155.0525702649. (Without
/// the snapping GEOS finds only the 13 rectangle faces: GDAL's arc end points miss the line
/// ends by rounding noise, which is what the polygoniser's snap tolerance absorbs.)
#[test]
fn polylines_close_into_the_drawings_loops_and_rectangle_faces() {
    let layer = import("1_polylines.dxf");
    assert_eq!(layer.data.features.len(), 16);
    assert_eq!(layer.report.rejected.len(), 0);
    assert!(
        layer
            .report
            .warnings
            .iter()
            .any(|w| w.starts_with("21 loose line pieces")),
        "warnings: {:?}",
        layer.report.warnings
    );

    // GEOS face areas, largest first (same query, `SELECT ST_Area(geometry) FROM faces`).
    let expected = [
        3932.36328115905,
        2785.75149137536,
        2767.1677785892,
        968.262013540007,
        804.42272609526,
        519.728416638666,
        335.89468925705,
        306.567246735794,
        178.579170077856,
        142.837949618822,
        131.431879433223,
        125.576558619911,
        48.1880311949282,
        48.1880311949282,
        32.3143263662637,
        27.7789803686238,
    ];
    let got = sorted_areas(&layer);
    for (g, e) in got.iter().zip(expected) {
        // Snapping differs (GEOS: a 1e-6 grid; here nodes within 2.4e-5 merged).
        assert!((g - e).abs() < 1e-3, "areas {got:?}");
    }
    assert!((total_area(&layer) - 13155.0525702649).abs() < 1e-2);
    assert!((layer.report.planar_area_m2 - 13155.0525702649).abs() < 1e-2);
}

/// The TEXT entities inside an outline become its `label`; the others (captions beside the
/// drawing) label nothing. Which face holds which text, from the faces above:
///
/// ```text
/// SELECT t.Text, ST_Area(f.geom) FROM faces f, texts t WHERE ST_Contains(f.geom, t.geom)
/// ```
///
/// "closed loop: lines and cirular arcs" → 3932.36 and 2785.75; "closed loop: circular arcs"
/// → 2767.17 (the drawing's own spelling).
#[test]
fn text_labels_inside_a_polygon_become_its_label() {
    let layer = import("1_polylines.dxf");
    let mut labelled: Vec<(String, f64)> = (0..layer.data.features.len())
        .filter_map(|i| {
            text_attr(&layer, "label", i).map(|t| {
                let mp = layer.data.features[i].geom.as_polygons();
                (t.to_string(), mp.expect("a polygon").unsigned_area())
            })
        })
        .collect();
    labelled.sort_by(|a, b| b.1.total_cmp(&a.1));
    assert_eq!(labelled.len(), 3, "{labelled:?}");
    let expected = [
        ("closed loop: lines and cirular arcs", 3932.36328115905),
        ("closed loop: lines and cirular arcs", 2785.75149137536),
        ("closed loop: circular arcs", 2767.1677785892),
    ];
    for ((text, area), (want_text, want_area)) in labelled.iter().zip(expected) {
        assert_eq!(text, want_text);
        assert!((area - want_area).abs() < 1e-3);
    }
    // The label's insertion point (from `ogrinfo`) is inside the polygon that carries it.
    let circular = Point::new(201.230991107464, 173.222484412034);
    let holder = layer
        .data
        .features
        .iter()
        .position(|f| matches!(&f.geom, Geom::Polygon(mp) if mp.contains(&circular)))
        .expect("a polygon holds the caption point");
    assert_eq!(
        text_attr(&layer, "label", holder),
        Some("closed loop: circular arcs")
    );
    assert_eq!(
        text_attr(&layer, "entity", holder),
        Some("polygonised lines")
    );
}

/// `hatches_1.dxf`: 10 HATCH (GDAL polygons), 14 closed LWPOLYLINE (GDAL counts 14 closed line
/// strings: the 12 closed rectangles and 2 pentagons whose last vertex repeats the first) and
/// 2 open L-shaped LWPOLYLINE that close with 6 ARC pieces into 2 loops: 26 polygons.
///
/// Areas, by part:
/// - hatches: `SELECT sum(ST_Area(ST_MakeValid(geometry))) FROM entities WHERE
///   ST_GeometryType(geometry) LIKE 'POLYGON%'` = 31.2300638460515 + 106.105997343233 +
///   69.0992742439961 + 76.1937920662446 + 7.09451782224834 + 98.0226862739558 +
///   27.8444917617026 + 152.224515747454 + 77.8568429950289 + 206.584120484342. GDAL writes
///   nested islands as sibling holes (invalid: "Holes are nested"); the hatch's odd-parity fill
///   is what `MakeValid` rebuilds, and what the importer's repair (odd–even rule) gives too;
/// - closed polylines: `SELECT sum(ST_Area(MakePolygon(CastToXY(geometry)))) ... WHERE
///   ST_IsClosed(geometry)` = 1332.41158103647;
/// - the two arc loops: `ST_Polygonize(ST_Union(ST_SnapToGrid(...open lines..., 1e-6)))` =
///   2 polygons, 55.6889835537285.
#[test]
fn hatches_polylines_and_arc_loops_all_become_polygons() {
    let layer = import("hatches_1.dxf");
    assert_eq!(layer.data.features.len(), 26);
    assert_eq!(layer.report.rejected.len(), 0);

    let entity = |i: usize| {
        text_attr(&layer, "entity", i)
            .unwrap_or_default()
            .to_string()
    };
    let count = |prefix: &str| {
        (0..layer.data.features.len())
            .filter(|&i| entity(i).starts_with(prefix))
            .count()
    };
    assert_eq!(count("AcDbHatch"), 10);
    assert_eq!(count("AcDbPolyline"), 14);
    assert_eq!(count("polygonised lines"), 2);

    let hatches = 31.2300638460515
        + 106.105997343233
        + 69.0992742439961
        + 76.1937920662446
        + 7.09451782224834
        + 98.0226862739558
        + 27.8444917617026
        + 152.224515747454
        + 77.8568429950289
        + 206.584120484342;
    let expected = hatches + 1332.41158103647 + 55.6889835537285;
    let total = total_area(&layer);
    assert!(
        (total - expected).abs() < 1e-3,
        "total {total}, expected {expected}"
    );

    // Each arc loop on its own: the same shape twice, half of the GEOS total.
    for i in (0..layer.data.features.len()).filter(|&i| entity(i) == "polygonised lines") {
        let mp = layer.data.features[i]
            .geom
            .as_polygons()
            .expect("a polygon");
        assert!((mp.unsigned_area() - 55.6889835537285 / 2.0).abs() < 1e-3);
    }
}

/// `clockwise_arcs_hatch.dxf`: one HATCH with two edge boundary paths (31 edges with 4
/// clockwise arcs; 6 edges) that meet along a shared arc.
///
/// Independent area from the DXF group codes (Green's theorem over the line and arc edges,
/// clockwise arcs taking their mirrored angles): the paths enclose 2090.907418650666 and
/// 729.5722385594763, together 2820.4796572101. GDAL 3.6 returns the second path as a hole of
/// the first (an invalid polygon, ST_Area 1362.60209187643); `ST_MakeValid` over it gives
/// 2820.63991944714, the densified arcs' version of the exact figure.
#[test]
fn an_edge_path_hatch_with_clockwise_arcs_keeps_its_area() {
    let layer = import("clockwise_arcs_hatch.dxf");
    assert_eq!(layer.data.features.len(), 1);
    let area = total_area(&layer);
    assert!((area - 2820.63991944714).abs() < 1e-3, "area {area}");
    // Densifying the arcs moves the area by less than 1e-4 of it.
    assert!(
        (area - 2820.4796572101).abs() < 2820.48 * 1e-4,
        "area {area}"
    );
    assert_eq!(layer.report.repaired.len(), 1);
}
