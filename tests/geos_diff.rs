//! The exact kernel against GEOS (OverlayNG, through the `geos` crate on Debian's libgeos),
//! pair by pair on the sample district: every (控规 parcel, 土规 管制区 zone) pair whose bounding
//! boxes meet — the pairs a reconciliation run overlays — intersected by both. On the same pairs
//! the kernel's own invariants hold: A∩B ≤ min(A, B) and A = A∩B + (A − B).

use std::path::Path;

use geo::{Area, BoundingRect, MultiPolygon};
use geos::Geom;
use geozero::ToWkt;
use lantu::blueprint::Manifest;
use lantu::crs::Crs;
use lantu::import::import_path;
use lantu::overlay::{self, Grid, IntPoly};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

fn layer(manifest: &Manifest, dir: &Path, id: &str) -> Vec<(String, MultiPolygon<f64>)> {
    let spec = manifest
        .layers
        .iter()
        .find(|l| l.id == id)
        .unwrap_or_else(|| panic!("no layer {id}"));
    let working: Crs = manifest.crs.parse().expect("crs");
    let imported = import_path(spec, &dir.join(&spec.source), &working).expect("import");
    imported
        .data
        .features
        .into_iter()
        .filter_map(|f| f.geom.as_polygons().cloned().map(|p| (f.id, p)))
        .collect()
}

fn to_geos(mp: &MultiPolygon<f64>) -> geos::Geometry {
    let wkt = geo::Geometry::MultiPolygon(mp.clone())
        .to_wkt()
        .expect("wkt");
    geos::Geometry::new_from_wkt(&wkt).expect("GEOS reads the WKT")
}

#[test]
fn kernel_agrees_with_geos_pair_by_pair() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    let manifest = Manifest::load(&dir.join("blueprint.toml")).expect("manifest");
    let kg = layer(&manifest, &dir, "kg");
    let gzq = layer(&manifest, &dir, "gzq");
    assert_eq!((kg.len(), gzq.len()), (20_374, 3_101));

    let mut extent = kg[0].1.bounding_rect().expect("bbox");
    for (_, p) in kg.iter().chain(&gzq) {
        let r = p.bounding_rect().expect("bbox");
        extent = geo::Rect::new(
            geo::coord! {x: extent.min().x.min(r.min().x), y: extent.min().y.min(r.min().y)},
            geo::coord! {x: extent.max().x.max(r.max().x), y: extent.max().y.max(r.max().y)},
        );
    }
    let grid = Grid::for_bbox(&extent);
    let tree = RTree::bulk_load(
        gzq.iter()
            .enumerate()
            .map(|(i, (_, p))| {
                let r = p.bounding_rect().expect("bbox");
                GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                )
            })
            .collect(),
    );
    let gzq_int: Vec<IntPoly> = gzq
        .iter()
        .map(|(_, p)| IntPoly::from_multipolygon(p, &grid).expect("int"))
        .collect();
    let gzq_geos: Vec<geos::Geometry> = gzq.iter().map(|(_, p)| to_geos(p)).collect();

    // Every third parcel keeps the debug-build test to a few seconds; all towns are covered.
    let (mut pairs, mut nonempty, mut worst_abs, mut worst_rel) = (0usize, 0usize, 0f64, 0f64);
    let (mut kernel_total, mut geos_total) = (0f64, 0f64);
    for (id, p) in kg.iter().step_by(3) {
        let a = IntPoly::from_multipolygon(p, &grid).expect("int");
        let a_area = a.area_m2(&grid);
        // Planar area from the integer rings equals geo's f64 area to rounding.
        assert!((a_area - p.unsigned_area()).abs() < 1e-6, "{id}");
        let ga = to_geos(p);
        let r = p.bounding_rect().expect("bbox");
        let query = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
        for hit in tree.locate_in_envelope_intersecting(query) {
            let j = hit.data;
            pairs += 1;
            let b = &gzq_int[j];
            let (piece, _) = overlay::intersection(&a, b, &grid).expect("kernel");
            let k = piece.area_m2(&grid);
            let g = ga
                .intersection(&gzq_geos[j])
                .and_then(|x| x.area())
                .expect("GEOS intersection");
            let abs = (k - g).abs();
            worst_abs = worst_abs.max(abs);
            if g > 1.0 {
                nonempty += 1;
                worst_rel = worst_rel.max(abs / g);
            }
            kernel_total += k;
            geos_total += g;
            assert!(
                abs < 1e-6 + 1e-10 * g,
                "kg {id} ∩ gzq {}: kernel {k} m², GEOS {g} m²",
                gzq[j].0
            );

            // A∩B ≤ min(A, B) and A = A∩B + (A − B).
            let b_area = b.area_m2(&grid);
            assert!(k <= a_area.min(b_area) + 1e-9, "kg {id}: {k} > min");
            let (rest, _) = overlay::difference(&a, &[b], &grid).expect("kernel");
            let sum = k + rest.area_m2(&grid);
            assert!(
                (sum - a_area).abs() < 1e-6,
                "kg {id} vs gzq {}: {k} + {} ≠ {a_area}",
                gzq[j].0,
                rest.area_m2(&grid)
            );
        }
    }
    assert!(
        pairs > 15_000 && nonempty > 6_000,
        "{pairs} pairs, {nonempty} non-empty"
    );
    let total_rel = (kernel_total - geos_total).abs() / geos_total;
    assert!(total_rel < 1e-12, "total {kernel_total} vs {geos_total}");
    eprintln!(
        "{pairs} pairs ({nonempty} with ≥ 1 m²): worst |kernel − GEOS| {worst_abs:.3e} m², \
         worst relative {worst_rel:.3e}; totals {kernel_total:.3} / {geos_total:.3} m² \
         (relative {total_rel:.1e})"
    );
}
