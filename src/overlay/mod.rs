//! The exact overlay kernel: polygon intersection and difference on a fixed integer grid.
//!
//! Polygons are converted once per layer into [`IntPoly`] (rings on the [`grid::Grid`], exact for
//! Gauss–Krüger data). A pair is overlaid by i_overlay's i64 engine after both sides are
//! pre-clipped to the other's bounding box plus a margin ([`clip`]); when the pre-clip shows the
//! other polygon covers the subject's whole bounding box, the overlay is skipped (containment
//! shortcut); a pair whose boundaries provably do not meet is not overlaid at all ([`disjoint`]).
//! Results keep only polygonal parts (i_overlay emits nothing of lower dimension), are
//! OGC-valid, and carry their area from exact integer arithmetic.
//!
//! The engine runs per rayon worker with its buffers reused; a panic inside it is caught and
//! returned as an error so one bad pair never stops a run.

pub mod clip;
pub mod convex;
pub mod disjoint;
pub mod grid;
pub mod prepared;

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use geo::{Coord, LineString, MultiPolygon, Polygon};
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay::{IntOverlayOptions, Overlay};
use i_overlay::core::overlay_rule::OverlayRule;
use i_overlay::i_shape::int::shape::IntShapes;

pub use clip::{IRect, Ring};
pub use grid::Grid;

/// Margin of the pre-clip rectangle, in metres. Any positive value keeps the clip exact; 1 m
/// keeps the new edges well clear of rounding.
pub const CLIP_MARGIN_M: f64 = 1.0;

/// A polygon (or multipolygon) on the integer grid: open rings, shells counter-clockwise and
/// holes clockwise, as the importer normalised them.
#[derive(Debug, Clone, PartialEq)]
pub struct IntPoly {
    pub rings: Vec<Ring>,
    pub bbox: IRect,
    /// Twice the area, in grid units².
    pub twice_area: i128,
}

impl IntPoly {
    pub fn from_multipolygon(mp: &MultiPolygon<f64>, grid: &Grid) -> Option<IntPoly> {
        let mut rings = Vec::new();
        for poly in &mp.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                let mut r: Ring = ring.0.iter().map(|c| grid.to_int(*c)).collect();
                if r.len() > 1 && r.first() == r.last() {
                    r.pop();
                }
                r.dedup();
                if r.len() >= 3 {
                    rings.push(r);
                }
            }
        }
        let bbox = IRect::of_rings(&rings)?;
        let twice_area = rings.iter().map(|r| clip::twice_signed_area(r)).sum();
        Some(IntPoly {
            rings,
            bbox,
            twice_area,
        })
    }

    pub fn area_m2(&self, grid: &Grid) -> f64 {
        grid.area_m2(self.twice_area)
    }

    pub fn vertex_count(&self) -> usize {
        self.rings.iter().map(Vec::len).sum()
    }
}

/// The polygonal result of one overlay.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// Shapes: outer contour counter-clockwise, then its holes clockwise.
    pub shapes: IntShapes<i64>,
    pub twice_area: i128,
}

impl Piece {
    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty() || self.twice_area <= 0
    }

    fn from_shapes(shapes: IntShapes<i64>) -> Piece {
        let twice_area = shapes
            .iter()
            .flatten()
            .map(|r| clip::twice_signed_area(r))
            .sum();
        Piece { shapes, twice_area }
    }

    fn whole(p: &IntPoly) -> Piece {
        // The subject's own rings, grouped into shapes: each shell followed by its holes.
        let mut shapes: IntShapes<i64> = Vec::new();
        for r in &p.rings {
            if clip::twice_signed_area(r) > 0 || shapes.is_empty() {
                shapes.push(vec![r.clone()]);
            } else if let Some(last) = shapes.last_mut() {
                last.push(r.clone());
            }
        }
        Piece {
            shapes,
            twice_area: p.twice_area,
        }
    }

    pub fn area_m2(&self, grid: &Grid) -> f64 {
        grid.area_m2(self.twice_area)
    }

    pub fn to_multipolygon(&self, grid: &Grid) -> MultiPolygon<f64> {
        let ring = |r: &Ring| -> LineString<f64> {
            let mut coords: Vec<Coord<f64>> = r.iter().map(|p| grid.to_f64(*p)).collect();
            if let Some(first) = coords.first().copied() {
                coords.push(first);
            }
            LineString(coords)
        };
        MultiPolygon(
            self.shapes
                .iter()
                .filter_map(|shape| {
                    let mut it = shape.iter();
                    let outer = it.next()?;
                    Some(Polygon::new(ring(outer), it.map(ring).collect()))
                })
                .collect(),
        )
    }

    /// Perimeter in metres (for the sliver width test).
    pub fn perimeter_m(&self, grid: &Grid) -> f64 {
        let mut total = 0.0;
        for r in self.shapes.iter().flatten() {
            for i in 0..r.len() {
                let a = grid.to_f64(r[i]);
                let b = grid.to_f64(r[(i + 1) % r.len()]);
                total += (b.x - a.x).hypot(b.y - a.y);
            }
        }
        total
    }
}

/// How a pair was resolved, for statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Bounding boxes disjoint after all.
    Disjoint,
    /// The other polygon covers the subject's bounding box: the piece is the subject.
    Contained,
    /// Exact overlay.
    Overlay,
}

thread_local! {
    static ENGINE: RefCell<Option<Overlay<i64>>> = const { RefCell::new(None) };
}

fn options() -> IntOverlayOptions<u128> {
    IntOverlayOptions {
        ogc: true,
        ..IntOverlayOptions::default()
    }
}

/// Runs one boolean operation with the thread's engine; a panic inside i_overlay is caught and
/// the engine rebuilt.
fn run(subject: &[Ring], clip: &[Ring], rule: OverlayRule) -> Result<Piece, String> {
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let result = catch_unwind(AssertUnwindSafe(|| {
            let engine =
                slot.get_or_insert_with(|| Overlay::new_custom(64, options(), Default::default()));
            engine.reinit_with_subj_and_clip(subject, clip);
            engine.overlay(rule, FillRule::NonZero)
        }));
        match result {
            Ok(shapes) => Ok(Piece::from_shapes(shapes)),
            Err(panic) => {
                *slot = None;
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic in the overlay engine".to_string());
                Err(msg)
            }
        }
    })
}

/// `subject ∩ other`.
pub fn intersection(
    subject: &IntPoly,
    other: &IntPoly,
    grid: &Grid,
) -> Result<(Piece, Path), String> {
    // Neighbours along a shared boundary meet by box but not by area: proving that is cheaper
    // than clipping and overlaying them.
    if disjoint::interiors_disjoint(subject, other) {
        return Ok((Piece::from_shapes(Vec::new()), Path::Disjoint));
    }
    let (mx, my) = (grid.dx(CLIP_MARGIN_M), grid.dy(CLIP_MARGIN_M));
    let around_subject = subject.bbox.grow(mx, my);
    let (other_rings, other_area) = if around_subject.contains(&other.bbox) {
        (None, other.twice_area)
    } else {
        let (rings, area) = clip::clip_rings(&other.rings, &around_subject);
        (Some(rings), area)
    };
    if other_area == around_subject.twice_area() {
        return Ok((Piece::whole(subject), Path::Contained));
    }
    if other_area <= 0 {
        return Ok((Piece::from_shapes(Vec::new()), Path::Disjoint));
    }
    let around_other = other.bbox.grow(mx, my);
    let subject_rings = if around_other.contains(&subject.bbox) {
        None
    } else {
        Some(clip::clip_rings(&subject.rings, &around_other).0)
    };
    let s = subject_rings.as_deref().unwrap_or(&subject.rings);
    let o = other_rings.as_deref().unwrap_or(&other.rings);
    let piece = run(s, o, OverlayRule::Intersect)?;
    Ok((piece, Path::Overlay))
}

/// `subject − ∪ others` (the part of the subject outside every other polygon).
pub fn difference(
    subject: &IntPoly,
    others: &[&IntPoly],
    grid: &Grid,
) -> Result<(Piece, Path), String> {
    let (mx, my) = (grid.dx(CLIP_MARGIN_M), grid.dy(CLIP_MARGIN_M));
    let around_subject = subject.bbox.grow(mx, my);
    let mut clip_rings: Vec<Ring> = Vec::new();
    for o in others {
        if !o.bbox.intersects(&subject.bbox) {
            continue;
        }
        let (rings, area) = clip::clip_rings(&o.rings, &around_subject);
        if area == around_subject.twice_area() {
            return Ok((Piece::from_shapes(Vec::new()), Path::Contained));
        }
        if area > 0 {
            clip_rings.extend(rings);
        }
    }
    if clip_rings.is_empty() {
        return Ok((Piece::whole(subject), Path::Disjoint));
    }
    let piece = run(&subject.rings, &clip_rings, OverlayRule::Difference)?;
    Ok((piece, Path::Overlay))
}

/// The boolean operations of the kernel, for callers that need the general case (the conformance
/// suite, dissolves); reconciliation uses [`intersection`] and [`difference`] with their
/// shortcuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoolOp {
    Intersection,
    Difference,
    Union,
    SymDifference,
}

/// `a op b` without pre-clipping or shortcuts.
pub fn boolean(a: &IntPoly, b: &IntPoly, op: BoolOp) -> Result<Piece, String> {
    let rule = match op {
        BoolOp::Intersection => OverlayRule::Intersect,
        BoolOp::Difference => OverlayRule::Difference,
        BoolOp::Union => OverlayRule::Union,
        BoolOp::SymDifference => OverlayRule::Xor,
    };
    run(&a.rings, &b.rings, rule)
}

/// The union of one polygon set (a dissolve); overlapping parts merge.
pub fn unary_union(a: &IntPoly) -> Result<Piece, String> {
    run(&a.rings, &[], OverlayRule::Subject)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use geo::{Area, BooleanOps, Rect, coord, polygon};

    /// A grid over the CM 111°E zone around 阳东, shared by the kernel's unit tests.
    pub(crate) fn grid() -> Grid {
        Grid::for_bbox(&Rect::new(
            coord! {x: 500_000.0, y: 2_400_000.0},
            coord! {x: 700_000.0, y: 2_500_000.0},
        ))
    }

    fn ip(mp: &MultiPolygon<f64>) -> IntPoly {
        IntPoly::from_multipolygon(mp, &grid()).expect("non-empty")
    }

    fn sq(x: f64, y: f64, s: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x, y: y), (x: x + s, y: y), (x: x + s, y: y + s), (x: x, y: y + s)
        ]])
    }

    #[test]
    fn overlapping_squares() {
        let g = grid();
        let a = sq(600_000.0, 2_420_000.0, 100.0);
        let b = sq(600_050.0, 2_420_025.0, 100.0);
        let (piece, path) = intersection(&ip(&a), &ip(&b), &g).expect("overlay");
        assert_eq!(path, Path::Overlay);
        assert_eq!(piece.area_m2(&g), 50.0 * 75.0);
        let (diff, _) = difference(&ip(&a), &[&ip(&b)], &g).expect("difference");
        assert_eq!(diff.area_m2(&g), 10_000.0 - 3_750.0);
    }

    #[test]
    fn containment_shortcut_returns_the_subject() {
        let g = grid();
        let big = sq(600_000.0, 2_420_000.0, 1_000.0);
        let small = sq(600_100.0, 2_420_100.0, 10.0);
        let (piece, path) = intersection(&ip(&small), &ip(&big), &g).expect("overlay");
        assert_eq!(path, Path::Contained);
        assert_eq!(piece.area_m2(&g), 100.0);
        assert_eq!(piece.to_multipolygon(&g).unsigned_area(), 100.0);
        let (diff, path) = difference(&ip(&small), &[&ip(&big)], &g).expect("difference");
        assert_eq!(path, Path::Contained);
        assert!(diff.is_empty());
    }

    #[test]
    fn touching_squares_share_no_area() {
        let g = grid();
        let a = sq(600_000.0, 2_420_000.0, 100.0);
        let b = sq(600_100.0, 2_420_000.0, 100.0);
        let (piece, _) = intersection(&ip(&a), &ip(&b), &g).expect("overlay");
        assert!(piece.is_empty());
    }

    #[test]
    fn irregular_polygons_match_exact_rational_arithmetic() {
        let g = grid();
        let a = MultiPolygon(vec![polygon![
            (x: 600_000.3, y: 2_420_000.1), (x: 600_180.7, y: 2_420_010.9),
            (x: 600_150.2, y: 2_420_090.4), (x: 600_090.0, y: 2_420_040.0),
            (x: 600_020.5, y: 2_420_120.8)
        ]]);
        let b = MultiPolygon(vec![polygon![
            (x: 600_050.0, y: 2_419_990.0), (x: 600_200.0, y: 2_420_050.0),
            (x: 600_060.0, y: 2_420_150.0)
        ]]);
        let (piece, _) = intersection(&ip(&a), &ip(&b), &g).expect("overlay");
        // Sutherland–Hodgman of `a` by the convex `b` in exact rational arithmetic (Python
        // fractions) gives 5523.249629710073 m²; geo's float overlay gives 5523.24964498 here.
        let exact = 5_523.249_629_710_073;
        assert!(
            (piece.area_m2(&g) - exact).abs() < 1e-7,
            "{}",
            piece.area_m2(&g)
        );
        assert!((a.intersection(&b).unsigned_area() - exact).abs() < 1e-4);
        let mp = piece.to_multipolygon(&g);
        assert!((mp.unsigned_area() - piece.area_m2(&g)).abs() < 1e-6);
    }
}
