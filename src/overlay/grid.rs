//! The integer grid the exact kernel works on.
//!
//! Every f64 with binary exponent `e` is a multiple of `2^(e-52)`. Scaling one axis by
//! `2^(52 - e_max)`, where `e_max` is the largest exponent of that axis' coordinates, gives the
//! finest grid on which every grid point is itself an f64: results convert back without rounding,
//! so a valid integer result stays valid in f64. When the axis stays within one binade — a
//! district's Gauss–Krüger eastings (e.g. 560–620 km, all in [2^19, 2^20)) or northings — every
//! input coordinate also converts *exactly*; otherwise the smaller coordinates are rounded to
//! ~1e-10 m. Each axis gets its own scale: a single scale for both would throw away precision on
//! one of them, and the measured consequence of that was self-intersecting output. Intersection
//! points land on a grid of ~1e-10 m, areas come out of exact integer arithmetic, and per-piece
//! areas agree with GEOS to far below 1e-6 m².

use geo::{Coord, Rect};
use i_overlay::i_float::int::point::IntPoint;

/// i_overlay's conservative coordinate budget for the i64 engine.
const MAX_BITS: i32 = 61;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// log2 of the x and y scales.
    pub kx: i32,
    pub ky: i32,
    sx: f64,
    sy: f64,
    /// Whether every input coordinate converts without rounding.
    pub exact: bool,
}

fn exponent(v: f64) -> i32 {
    // floor(log2|v|) for normal numbers, read from the bits.
    let bits = v.abs().to_bits();
    ((bits >> 52) & 0x7ff) as i32 - 1023
}

/// The scale exponent for one axis spanning [lo, hi], and whether inputs convert exactly.
fn axis_scale(lo: f64, hi: f64) -> (i32, bool) {
    let max_abs = lo.abs().max(hi.abs()).max(f64::MIN_POSITIVE);
    let e_max = exponent(max_abs);
    // Representable in f64 (< 2^53 after scaling) and within i_overlay's budget.
    let k = (52 - e_max).min(MAX_BITS - 1 - e_max);
    let same_sign = lo > 0.0 || hi < 0.0;
    let exact = same_sign && exponent(lo.abs().min(hi.abs())) == e_max;
    (k, exact)
}

impl Grid {
    /// A grid for data inside `bbox` (both layers of an overlay).
    pub fn for_bbox(bbox: &Rect<f64>) -> Grid {
        let (kx, ex) = axis_scale(bbox.min().x, bbox.max().x);
        let (ky, ey) = axis_scale(bbox.min().y, bbox.max().y);
        Grid {
            kx,
            ky,
            sx: 2f64.powi(kx),
            sy: 2f64.powi(ky),
            exact: ex && ey,
        }
    }

    #[inline]
    pub fn to_int(&self, c: Coord<f64>) -> IntPoint<i64> {
        IntPoint::new(
            (c.x * self.sx).round() as i64,
            (c.y * self.sy).round() as i64,
        )
    }

    #[inline]
    pub fn to_f64(&self, p: IntPoint<i64>) -> Coord<f64> {
        Coord {
            x: p.x as f64 / self.sx,
            y: p.y as f64 / self.sy,
        }
    }

    /// A length along x (metres) in grid units, rounded up.
    pub fn dx(&self, metres: f64) -> i64 {
        (metres * self.sx).ceil() as i64
    }

    pub fn dy(&self, metres: f64) -> i64 {
        (metres * self.sy).ceil() as i64
    }

    /// Converts twice an integer area into m².
    pub fn area_m2(&self, twice_area: i128) -> f64 {
        // Split the exponent so neither factor under- or overflows.
        twice_area as f64 / 2.0 / self.sx / self.sy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::coord;
    use i_overlay::i_float::int::point::IntPoint;

    #[test]
    fn gauss_krueger_coordinates_convert_exactly() {
        let bbox = Rect::new(
            coord! {x: 560_000.123, y: 2_400_000.5},
            coord! {x: 620_000.987_654_321, y: 2_450_000.25},
        );
        let g = Grid::for_bbox(&bbox);
        assert!(g.exact);
        assert_eq!(g.kx, 33); // 2^19 ≤ x < 2^20
        assert_eq!(g.ky, 31); // 2^21 ≤ y < 2^22
        for c in [
            coord! {x: 560_000.123, y: 2_400_000.5},
            coord! {x: 612_345.678_901_234_5, y: 2_433_333.333_333_333},
            coord! {x: 620_000.987_654_321, y: 2_450_000.25},
        ] {
            let back = g.to_f64(g.to_int(c));
            assert_eq!(back, c, "round trip must be bit-exact");
        }
    }

    #[test]
    fn results_on_the_grid_are_exact_f64() {
        // Eastings across 2^19 = 524 288: inputs round, but every grid point is an f64.
        let bbox = Rect::new(
            coord! {x: 500_000.0, y: 2_400_000.0},
            coord! {x: 540_000.0, y: 2_401_000.0},
        );
        let g = Grid::for_bbox(&bbox);
        assert!(!g.exact);
        let p = IntPoint::new(539_999i64 * (1 << g.kx) + 1, 2_400_500i64 * (1 << g.ky) + 1);
        let c = g.to_f64(p);
        assert_eq!(g.to_int(c), p);
    }

    #[test]
    fn axes_spanning_too_many_binades_fall_back_to_rounding() {
        let bbox = Rect::new(coord! {x: -10.0, y: 0.001}, coord! {x: 10.0, y: 1e6});
        let g = Grid::for_bbox(&bbox);
        assert!(!g.exact);
        let c = coord! {x: 3.3, y: 12.5};
        let back = g.to_f64(g.to_int(c));
        assert!((back.x - c.x).abs() < 1e-12 && (back.y - c.y).abs() < 1e-12);
    }
}
