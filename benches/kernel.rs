//! Criterion micro-benchmarks of the overlay kernel on parcel-sized polygons at Gauss–Krüger
//! coordinates: the exact integer-grid kernel (with its pre-clip) against geo's float
//! `BooleanOps`, for 16- and 64-vertex parcels, a containment and a large control-line polygon.

use criterion::{Criterion, criterion_group, criterion_main};
use geo::{BooleanOps, Coord, LineString, MultiPolygon, Polygon, Rect};
use lantu::overlay::{self, Grid, IntPoly};

/// A star-shaped parcel of `n` vertices around (cx, cy) with radius ~r.
fn star(cx: f64, cy: f64, r: f64, n: usize, phase: f64) -> MultiPolygon<f64> {
    let pts: Vec<Coord<f64>> = (0..=n)
        .map(|i| {
            let t = (i % n) as f64 / n as f64 * std::f64::consts::TAU;
            let rr = r * (0.8 + 0.2 * ((t * 5.0 + phase).sin()));
            Coord {
                x: cx + rr * t.cos(),
                y: cy + rr * t.sin(),
            }
        })
        .collect();
    MultiPolygon(vec![Polygon::new(LineString(pts), vec![])])
}

fn bench(c: &mut Criterion) {
    let grid = Grid::for_bbox(&Rect::new(
        Coord {
            x: 560_000.0,
            y: 2_400_000.0,
        },
        Coord {
            x: 620_000.0,
            y: 2_450_000.0,
        },
    ));
    for n in [16usize, 64] {
        let a = star(590_000.0, 2_425_000.0, 120.0, n, 0.0);
        let b = star(590_080.0, 2_425_030.0, 120.0, n, 1.3);
        let (ia, ib) = (
            IntPoly::from_multipolygon(&a, &grid).expect("a"),
            IntPoly::from_multipolygon(&b, &grid).expect("b"),
        );
        c.bench_function(&format!("kernel intersection {n} vertices"), |bench| {
            bench.iter(|| overlay::intersection(&ia, &ib, &grid))
        });
        c.bench_function(&format!("geo intersection {n} vertices"), |bench| {
            bench.iter(|| a.intersection(&b))
        });
    }
    // A 2 000-vertex control line containing a parcel: the pre-clip answers without an overlay.
    let big = star(590_000.0, 2_425_000.0, 5_000.0, 2_000, 0.0);
    let small = star(590_100.0, 2_425_100.0, 30.0, 16, 0.4);
    let (ibig, ismall) = (
        IntPoly::from_multipolygon(&big, &grid).expect("big"),
        IntPoly::from_multipolygon(&small, &grid).expect("small"),
    );
    c.bench_function("kernel parcel inside a 2000-vertex line", |bench| {
        bench.iter(|| overlay::intersection(&ismall, &ibig, &grid))
    });
    c.bench_function("geo parcel inside a 2000-vertex line", |bench| {
        bench.iter(|| small.intersection(&big))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
