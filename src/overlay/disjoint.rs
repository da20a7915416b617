//! A cheap exact proof that two polygons do not overlap, tried before the general overlay.
//!
//! Neighbouring parcels of two plans whose shared boundaries are a metre apart have meeting
//! bounding boxes but no common area: on the district set, 955 of the bench rule's 2 062 pairs
//! that reached the overlay engine and 290 000 of the full two-plan overlay's 720 000 came back
//! empty. If no edge of one polygon meets an edge of the other (not even touching), every ring
//! of each lies wholly inside or wholly outside the other polygon; if moreover one vertex of every
//! ring lies outside the other polygon, the interiors are disjoint (a common interior point would
//! sit in a component of one polygon's interior whose boundary the other's boundary must enter).
//! Only edges that meet the intersection of the two bounding boxes can meet at all, so a pair
//! along a shared boundary compares a handful of edges. Arithmetic is exact (i128 orientations on
//! the integer grid); anything short of a proof — touching or collinear edges included — leaves
//! the pair to the overlay engine.

use i_overlay::i_float::int::point::IntPoint;

use super::{IRect, IntPoly, Ring};

type Point = IntPoint<i64>;

/// Edge pairs compared at most before the proof is left to the overlay.
const MAX_EDGE_PAIRS: usize = 4096;

/// Sign of the turn a → b → c: 1 left, −1 right, 0 collinear.
fn orientation(a: Point, b: Point, c: Point) -> i8 {
    let d = |u: i64, v: i64| i128::from(u) - i128::from(v);
    let cross = d(b.x, a.x) * d(c.y, a.y) - d(b.y, a.y) * d(c.x, a.x);
    cross.signum() as i8
}

fn edge_box(p: Point, q: Point) -> IRect {
    IRect {
        min_x: p.x.min(q.x),
        min_y: p.y.min(q.y),
        max_x: p.x.max(q.x),
        max_y: p.y.max(q.y),
    }
}

/// Whether segments pq and rs may share a point: a proper crossing, or any collinear triple
/// within overlapping boxes (touching and collinear cases are not worth telling apart here).
fn segments_may_meet(p: Point, q: Point, r: Point, s: Point) -> bool {
    if !edge_box(p, q).intersects(&edge_box(r, s)) {
        return false;
    }
    let (o1, o2) = (orientation(p, q, r), orientation(p, q, s));
    let (o3, o4) = (orientation(r, s, p), orientation(r, s, q));
    if o1 == 0 || o2 == 0 || o3 == 0 || o4 == 0 {
        return true;
    }
    o1 != o2 && o3 != o4
}

/// The edges of `rings` (closing edges included) whose boxes meet `window`.
fn edges_meeting(rings: &[Ring], window: &IRect) -> Vec<(Point, Point)> {
    let mut out = Vec::new();
    for ring in rings {
        let n = ring.len();
        for k in 0..n {
            let (p, q) = (ring[k], ring[(k + 1) % n]);
            if edge_box(p, q).intersects(window) {
                out.push((p, q));
            }
        }
    }
    out
}

/// Whether `p`, which lies on no edge of `poly`, is inside it (crossing parity; for valid
/// polygons the same as the overlay's non-zero rule).
fn inside(p: Point, poly: &IntPoly) -> bool {
    if !poly.bbox.contains(&edge_box(p, p)) {
        return false;
    }
    let mut inside = false;
    for ring in &poly.rings {
        let n = ring.len();
        for k in 0..n {
            let (a, b) = (ring[k], ring[(k + 1) % n]);
            // Half-open in y, so a vertex at the ray's height counts once.
            if (a.y > p.y) != (b.y > p.y) {
                // The edge crosses the ray's line; is the crossing right of p?
                let o = orientation(a, b, p);
                let upward = b.y > a.y;
                if (upward && o > 0) || (!upward && o < 0) {
                    inside = !inside;
                }
            }
        }
    }
    inside
}

/// True only if the interiors of `a` and `b` certainly do not meet; `false` means not proven.
pub fn interiors_disjoint(a: &IntPoly, b: &IntPoly) -> bool {
    if !a.bbox.intersects(&b.bbox) {
        return true;
    }
    let window = IRect {
        min_x: a.bbox.min_x.max(b.bbox.min_x),
        min_y: a.bbox.min_y.max(b.bbox.min_y),
        max_x: a.bbox.max_x.min(b.bbox.max_x),
        max_y: a.bbox.max_y.min(b.bbox.max_y),
    };
    let a_edges = edges_meeting(&a.rings, &window);
    let b_edges = edges_meeting(&b.rings, &window);
    // Every pair is compared: past this many (two large zones whose boundaries run side by side)
    // the overlay's sweep is the cheaper way to the answer.
    if a_edges.len() * b_edges.len() > MAX_EDGE_PAIRS {
        return false;
    }
    for &(p, q) in &a_edges {
        if b_edges.iter().any(|&(r, s)| segments_may_meet(p, q, r, s)) {
            return false;
        }
    }
    // The boundaries do not meet: each ring is wholly inside or wholly outside the other
    // polygon, and one vertex tells which.
    let ring_outside =
        |ring: &Ring, other: &IntPoly| ring.first().is_none_or(|&v| !inside(v, other));
    a.rings.iter().all(|r| ring_outside(r, b)) && b.rings.iter().all(|r| ring_outside(r, a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlay::{Grid, intersection};
    use geo::orient::Direction;
    use geo::{MultiPolygon, Orient, polygon};

    fn ip(mp: MultiPolygon<f64>) -> IntPoly {
        let grid = crate::overlay::tests::grid();
        IntPoly::from_multipolygon(&mp, &grid).expect("polygon")
    }

    fn proven(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> bool {
        let (pa, pb) = (ip(a.clone()), ip(b.clone()));
        let one = interiors_disjoint(&pa, &pb);
        assert_eq!(one, interiors_disjoint(&pb, &pa), "symmetric");
        one
    }

    /// Whatever the test says, it never contradicts the exact overlay.
    fn agrees_with_overlay(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>, grid: &Grid) {
        let (pa, pb) = (ip(a.clone()), ip(b.clone()));
        if interiors_disjoint(&pa, &pb) {
            let (piece, _) = intersection(&pa, &pb, grid).expect("overlay");
            assert!(
                piece.is_empty(),
                "proved disjoint but they overlap: {a:?} {b:?}"
            );
        }
    }

    const X: f64 = 500_000.0;
    const Y: f64 = 2_500_000.0;

    fn square(x: f64, y: f64, s: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: X + x, y: Y + y), (x: X + x + s, y: Y + y), (x: X + x + s, y: Y + y + s), (x: X + x, y: Y + y + s)
        ]])
    }

    #[test]
    fn neighbours_a_gap_apart_are_proven_disjoint() {
        // Boxes meet (an L-shaped parcel's box covers its neighbour's corner), areas do not.
        let l = MultiPolygon(vec![polygon![
            (x: X, y: Y), (x: X + 10.0, y: Y), (x: X + 10.0, y: Y + 4.0), (x: X + 4.0, y: Y + 4.0),
            (x: X + 4.0, y: Y + 10.0), (x: X, y: Y + 10.0)
        ]]);
        assert!(proven(&l, &square(5.0, 5.0, 6.0)));
        assert!(proven(&square(0.0, 0.0, 10.0), &square(10.3, 0.0, 10.0)));
    }

    #[test]
    fn overlapping_touching_nested_and_holed_pairs_are_left_to_the_overlay() {
        assert!(!proven(&square(0.0, 0.0, 10.0), &square(9.7, 0.0, 10.0)));
        // Touching along an edge or at a corner: not proven (the overlay finds no area).
        assert!(!proven(&square(0.0, 0.0, 10.0), &square(10.0, 0.0, 10.0)));
        assert!(!proven(&square(0.0, 0.0, 10.0), &square(10.0, 10.0, 10.0)));
        // One inside the other, no boundary contact.
        assert!(!proven(&square(0.0, 0.0, 10.0), &square(2.0, 2.0, 3.0)));
        // Inside a hole: disjoint, and proven.
        let holed = MultiPolygon(vec![polygon!(
            exterior: [(x: X, y: Y), (x: X + 10.0, y: Y), (x: X + 10.0, y: Y + 10.0), (x: X, y: Y + 10.0)],
            interiors: [[(x: X + 2.0, y: Y + 2.0), (x: X + 2.0, y: Y + 8.0), (x: X + 8.0, y: Y + 8.0), (x: X + 8.0, y: Y + 2.0)]],
        )]);
        assert!(proven(&holed, &square(3.0, 3.0, 2.0)));
        // Covering the hole and the ring around it.
        assert!(!proven(&holed, &square(1.0, 1.0, 8.0)));
    }

    #[test]
    fn never_contradicts_the_overlay_on_jittered_neighbours() {
        let grid = crate::overlay::tests::grid();
        // Pseudo-random jagged pairs along a shared boundary, offset either way.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as f64) / f64::from(1u32 << 31)
        };
        let mut proved = 0;
        for _ in 0..400 {
            let offset = next() * 2.0 - 0.6;
            let jag: Vec<(f64, f64)> = (0..8)
                .map(|k| (10.0 + next() * 1.5, 1.25 * k as f64))
                .collect();
            let mut left = vec![(X, Y)];
            left.extend(jag.iter().map(|&(x, y)| (X + x, Y + y)));
            left.push((X, Y + 8.75));
            let mut right: Vec<(f64, f64)> = jag
                .iter()
                .rev()
                .map(|&(x, y)| (X + x + offset, Y + y))
                .collect();
            right.extend([(X + 25.0, Y), (X + 25.0, Y + 8.75)]);
            let poly = |pts: Vec<(f64, f64)>| {
                let mut ring: Vec<geo::Coord<f64>> =
                    pts.iter().map(|&(x, y)| geo::coord! {x: x, y: y}).collect();
                ring.push(ring[0]);
                let p = geo::Polygon::new(geo::LineString(ring), vec![]);
                // Orientation as the importer leaves it.
                MultiPolygon(vec![p.orient(Direction::Default)])
            };
            let (a, b) = (poly(left), poly(right));
            agrees_with_overlay(&a, &b, &grid);
            if proven(&a, &b) {
                proved += 1;
            }
        }
        assert!(
            proved > 50,
            "the test proved only {proved} of 400 pairs disjoint"
        );
    }
}
