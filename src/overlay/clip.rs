//! Pre-clipping a polygon to a rectangle on the integer grid (Sutherland–Hodgman per ring).
//!
//! Before A ∩ B, A is clipped to B's bounding box grown by a margin (and B to A's). The new edges
//! lie on the rectangle, outside the other polygon, so the overlay result is unchanged — but a
//! 5 000-vertex control line meets a 20-vertex parcel as a handful of edges. The per-ring
//! Sutherland–Hodgman output may run back and forth along the rectangle; those degenerate edges
//! lie outside the other polygon and cancel under the fill rule. Winding numbers inside the
//! rectangle are preserved, so the signed area of the clipped rings is the area of A inside the
//! rectangle, which gives an exact containment test for free.

use i_overlay::i_float::int::point::IntPoint;

pub type Ring = Vec<IntPoint<i64>>;

/// An axis-aligned rectangle in grid units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IRect {
    pub min_x: i64,
    pub min_y: i64,
    pub max_x: i64,
    pub max_y: i64,
}

impl IRect {
    pub fn of_rings(rings: &[Ring]) -> Option<IRect> {
        let mut it = rings.iter().flatten();
        let first = it.next()?;
        let mut r = IRect {
            min_x: first.x,
            min_y: first.y,
            max_x: first.x,
            max_y: first.y,
        };
        for p in it {
            r.min_x = r.min_x.min(p.x);
            r.min_y = r.min_y.min(p.y);
            r.max_x = r.max_x.max(p.x);
            r.max_y = r.max_y.max(p.y);
        }
        Some(r)
    }

    pub fn intersects(&self, o: &IRect) -> bool {
        self.min_x <= o.max_x
            && o.min_x <= self.max_x
            && self.min_y <= o.max_y
            && o.min_y <= self.max_y
    }

    pub fn contains(&self, o: &IRect) -> bool {
        self.min_x <= o.min_x
            && o.max_x <= self.max_x
            && self.min_y <= o.min_y
            && o.max_y <= self.max_y
    }

    pub fn grow(&self, dx: i64, dy: i64) -> IRect {
        IRect {
            min_x: self.min_x.saturating_sub(dx),
            min_y: self.min_y.saturating_sub(dy),
            max_x: self.max_x.saturating_add(dx),
            max_y: self.max_y.saturating_add(dy),
        }
    }

    /// Twice the area, in grid units².
    pub fn twice_area(&self) -> i128 {
        2 * i128::from(self.max_x - self.min_x) * i128::from(self.max_y - self.min_y)
    }
}

/// Twice the signed area of a ring (open or closed), exact.
pub fn twice_signed_area(ring: &[IntPoint<i64>]) -> i128 {
    let Some(o) = ring.first() else { return 0 };
    let mut sum: i128 = 0;
    let n = ring.len();
    for i in 0..n {
        let a = ring[i];
        let b = ring[(i + 1) % n];
        // Relative to the first vertex: differences stay small, products fit easily.
        let (ax, ay) = (i128::from(a.x - o.x), i128::from(a.y - o.y));
        let (bx, by) = (i128::from(b.x - o.x), i128::from(b.y - o.y));
        sum += ax * by - bx * ay;
    }
    sum
}

#[derive(Clone, Copy)]
enum Edge {
    Left(i64),
    Right(i64),
    Bottom(i64),
    Top(i64),
}

impl Edge {
    #[inline]
    fn inside(self, p: IntPoint<i64>) -> bool {
        match self {
            Edge::Left(x) => p.x >= x,
            Edge::Right(x) => p.x <= x,
            Edge::Bottom(y) => p.y >= y,
            Edge::Top(y) => p.y <= y,
        }
    }

    /// Where segment a→b crosses this edge's line, rounded to the grid.
    #[inline]
    fn cross(self, a: IntPoint<i64>, b: IntPoint<i64>) -> IntPoint<i64> {
        let lerp = |a0: i64, a1: i64, b0: i64, b1: i64, at: i64| -> i64 {
            // Value of the other coordinate at `at` along a0→a1 (b0→b1 is the other axis).
            let num = i128::from(b1 - b0) * i128::from(at - a0);
            let den = i128::from(a1 - a0);
            let q = num / den;
            let r = num % den;
            // Round half away from zero.
            let adj = if 2 * r.abs() >= den.abs() {
                if (r < 0) != (den < 0) { -1 } else { 1 }
            } else {
                0
            };
            (i128::from(b0) + q + adj) as i64
        };
        match self {
            Edge::Left(x) | Edge::Right(x) => IntPoint::new(x, lerp(a.x, b.x, a.y, b.y, x)),
            Edge::Bottom(y) | Edge::Top(y) => IntPoint::new(lerp(a.y, b.y, a.x, b.x, y), y),
        }
    }
}

fn clip_ring_edge(input: &[IntPoint<i64>], edge: Edge, out: &mut Ring) {
    out.clear();
    let n = input.len();
    if n == 0 {
        return;
    }
    let mut prev = input[n - 1];
    let mut prev_in = edge.inside(prev);
    for &cur in input {
        let cur_in = edge.inside(cur);
        if cur_in {
            if !prev_in {
                out.push(edge.cross(prev, cur));
            }
            out.push(cur);
        } else if prev_in {
            out.push(edge.cross(prev, cur));
        }
        prev = cur;
        prev_in = cur_in;
    }
}

/// Clips open rings to `r`. Rings entirely inside are kept as they are; rings that vanish are
/// dropped. Returns the clipped rings and twice their summed signed area.
pub fn clip_rings(rings: &[Ring], r: &IRect) -> (Vec<Ring>, i128) {
    let mut out = Vec::with_capacity(rings.len());
    let mut total: i128 = 0;
    let mut a: Ring = Vec::new();
    let mut b: Ring = Vec::new();
    for ring in rings {
        let Some(bb) = IRect::of_rings(std::slice::from_ref(ring)) else {
            continue;
        };
        if r.contains(&bb) {
            total += twice_signed_area(ring);
            out.push(ring.clone());
            continue;
        }
        if !r.intersects(&bb) {
            continue;
        }
        a.clear();
        a.extend_from_slice(ring);
        for edge in [
            Edge::Left(r.min_x),
            Edge::Right(r.max_x),
            Edge::Bottom(r.min_y),
            Edge::Top(r.max_y),
        ] {
            clip_ring_edge(&a, edge, &mut b);
            std::mem::swap(&mut a, &mut b);
            if a.is_empty() {
                break;
            }
        }
        a.dedup();
        if a.len() >= 3 {
            let area = twice_signed_area(&a);
            if area != 0 {
                total += area;
                out.push(a.clone());
            }
        }
    }
    (out, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: i64, y: i64) -> IntPoint<i64> {
        IntPoint::new(x, y)
    }

    #[test]
    fn square_clipped_by_rectangle() {
        let ring = vec![p(0, 0), p(10, 0), p(10, 10), p(0, 10)];
        let r = IRect {
            min_x: 5,
            min_y: -5,
            max_x: 20,
            max_y: 5,
        };
        let (rings, area2) = clip_rings(&[ring], &r);
        assert_eq!(rings.len(), 1);
        assert_eq!(area2, 2 * 25);
    }

    #[test]
    fn covering_polygon_yields_the_rectangle_area() {
        let shell = vec![p(-100, -100), p(100, -100), p(100, 100), p(-100, 100)];
        // A clockwise hole far from the rectangle.
        let hole = vec![p(50, 50), p(50, 60), p(60, 60), p(60, 50)];
        let r = IRect {
            min_x: -10,
            min_y: -10,
            max_x: 10,
            max_y: 10,
        };
        let (_, area2) = clip_rings(&[shell.clone(), hole], &r);
        assert_eq!(area2, r.twice_area());
        // A hole inside the rectangle is subtracted.
        let inner = vec![p(-1, -1), p(-1, 1), p(1, 1), p(1, -1)];
        let (_, area2) = clip_rings(&[shell, inner], &r);
        assert_eq!(area2, r.twice_area() - 2 * 4);
    }

    #[test]
    fn diagonal_edges_round_to_the_grid() {
        let tri = vec![p(0, 0), p(9, 0), p(0, 9)];
        let r = IRect {
            min_x: 0,
            min_y: 0,
            max_x: 4,
            max_y: 100,
        };
        let (rings, _) = clip_rings(&[tri], &r);
        assert!(rings[0].contains(&p(4, 5)), "{:?}", rings[0]);
    }
}
