//! Intersection with a convex site by Sutherland–Hodgman clipping: the fast path of the site
//! check. Most candidate sites are convex (rectangles, quadrilaterals); against a convex clip
//! polygon, clipping each ring of the other polygon gives rings whose signed areas sum to the
//! exact intersection area — a concave ring leaves zero-area bridges along the site's edges,
//! walked once each way, which cancel in every edge-sum area (planar and ellipsoidal). One pass
//! per site edge over the other polygon's vertices replaces a general overlay.
//!
//! Coordinates are the grid's exact f64 values taken relative to the site's first vertex, so
//! the new vertices on the site's edges carry errors of ~1e-11 m and areas of ~1e-9 m².

use geo::Coord;
use i_overlay::i_float::int::point::IntPoint;

use super::{Grid, IntPoly};

/// A convex site, counter-clockwise, in coordinates relative to `origin`.
#[derive(Debug, Clone)]
pub struct ConvexSite {
    origin: Coord<f64>,
    pts: Vec<Coord<f64>>,
}

fn cross(o: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x)
}

impl ConvexSite {
    /// The site as a convex clip polygon, or `None` when it is not one convex ring (holes,
    /// several parts, a reflex vertex): those go through the general overlay.
    pub fn new(site: &IntPoly, grid: &Grid) -> Option<ConvexSite> {
        let [ring] = site.rings.as_slice() else {
            return None;
        };
        let n = ring.len();
        if n < 3 || site.twice_area == 0 {
            return None;
        }
        // A site drawn clockwise is the same site.
        let mut ring = ring.clone();
        if site.twice_area < 0 {
            ring.reverse();
        }
        // Exact integer orientation test of every corner: all left turns or straight.
        for i in 0..n {
            let (a, b, c) = (ring[i], ring[(i + 1) % n], ring[(i + 2) % n]);
            let t = i128::from(b.x - a.x) * i128::from(c.y - b.y)
                - i128::from(b.y - a.y) * i128::from(c.x - b.x);
            if t < 0 {
                return None;
            }
        }
        let origin = grid.to_f64(ring[0]);
        let pts = ring.iter().map(|p| grid.to_f64(*p) - origin).collect();
        Some(ConvexSite { origin, pts })
    }

    /// Whether the rectangle `r` (on the grid) lies inside the site: then so does everything
    /// in it, and a polygon with this bounding box is its own intersection with the site.
    pub fn contains_rect(&self, r: &super::IRect, grid: &Grid) -> bool {
        let corners = self.corners(r, grid);
        self.edges()
            .all(|(e0, e1)| corners_inside(e0, e1, &corners) == 4)
    }

    /// Clips the rings of a part (shells counter-clockwise, holes clockwise) whose bounding box
    /// is `bbox` to the site and returns the signed area of the intersection in m². Each
    /// clipped ring is handed to `each_ring` in absolute coordinates, open (for the ellipsoidal
    /// area). `scratch` is reused across calls.
    ///
    /// The part's bounding box decides per site edge first: a box wholly inside an edge's
    /// half-plane cannot be cut by it (the usual case: a parcel on the site's border crosses one
    /// or two of its edges), and a box wholly outside one edge leaves nothing.
    pub fn clip<'r>(
        &self,
        rings: impl IntoIterator<Item = &'r [IntPoint<i64>]>,
        bbox: &super::IRect,
        grid: &Grid,
        scratch: &mut ClipScratch,
        mut each_ring: impl FnMut(&[Coord<f64>]),
    ) -> f64 {
        let ClipScratch { a, b, cutting } = scratch;
        let corners = self.corners(bbox, grid);
        cutting.clear();
        for (e0, e1) in self.edges() {
            match corners_inside(e0, e1, &corners) {
                0 => return 0.0,
                4 => {}
                _ => cutting.push((e0, e1)),
            }
        }
        let mut total = 0.0;
        for ring in rings {
            a.clear();
            a.extend(ring.iter().map(|p| grid.to_f64(*p) - self.origin));
            for &(e0, e1) in cutting.iter() {
                b.clear();
                let Some(&last) = a.last() else { break };
                let mut prev = last;
                let mut prev_in = cross(e0, e1, prev) >= 0.0;
                for &cur in a.iter() {
                    let cur_in = cross(e0, e1, cur) >= 0.0;
                    if cur_in != prev_in {
                        b.push(crossing(e0, e1, prev, cur));
                    }
                    if cur_in {
                        b.push(cur);
                    }
                    prev = cur;
                    prev_in = cur_in;
                }
                std::mem::swap(a, b);
            }
            if a.len() < 3 {
                continue;
            }
            let mut twice = 0.0;
            for i in 0..a.len() {
                let (p, q) = (a[i], a[(i + 1) % a.len()]);
                twice += p.x * q.y - q.x * p.y;
            }
            if twice == 0.0 {
                continue;
            }
            total += twice / 2.0;
            for c in a.iter_mut() {
                *c = *c + self.origin;
            }
            each_ring(a);
        }
        total
    }

    /// The site's edges, counter-clockwise, relative to its origin.
    fn edges(&self) -> impl Iterator<Item = (Coord<f64>, Coord<f64>)> + '_ {
        let n = self.pts.len();
        (0..n).map(move |i| (self.pts[i], self.pts[(i + 1) % n]))
    }

    /// The corners of `r`, relative to the site's origin, counter-clockwise.
    fn corners(&self, r: &super::IRect, grid: &Grid) -> [Coord<f64>; 4] {
        let lo = grid.to_f64(IntPoint::new(r.min_x, r.min_y)) - self.origin;
        let hi = grid.to_f64(IntPoint::new(r.max_x, r.max_y)) - self.origin;
        [
            lo,
            Coord { x: hi.x, y: lo.y },
            hi,
            Coord { x: lo.x, y: hi.y },
        ]
    }
}

/// How many of a rectangle's corners lie on the inner side of (or on) the edge e0→e1.
fn corners_inside(e0: Coord<f64>, e1: Coord<f64>, corners: &[Coord<f64>; 4]) -> usize {
    corners.iter().filter(|c| cross(e0, e1, **c) >= 0.0).count()
}

/// Buffers of [`ConvexSite::clip`], kept by the caller across pairs.
#[derive(Debug, Default)]
pub struct ClipScratch {
    a: Vec<Coord<f64>>,
    b: Vec<Coord<f64>>,
    /// The site edges that cut the current part.
    cutting: Vec<(Coord<f64>, Coord<f64>)>,
}

/// Where segment p→q crosses the line through e0→e1 (p and q lie on opposite sides).
fn crossing(e0: Coord<f64>, e1: Coord<f64>, p: Coord<f64>, q: Coord<f64>) -> Coord<f64> {
    let (dp, dq) = (cross(e0, e1, p), cross(e0, e1, q));
    let t = dp / (dp - dq);
    Coord {
        x: p.x + (q.x - p.x) * t,
        y: p.y + (q.y - p.y) * t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlay::intersection;
    use crate::overlay::tests::grid;
    use geo::{MultiPolygon, coord, polygon};

    fn ip(p: geo::Polygon<f64>, g: &Grid) -> IntPoly {
        IntPoly::from_multipolygon(&MultiPolygon(vec![p]), g).expect("polygon")
    }

    /// A deterministic xorshift, so a failure reproduces.
    fn rng(s: &mut u64) -> f64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        (*s >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn concave_sites_and_holes_are_not_convex() {
        let g = grid();
        let l_shape = polygon![
            (x: 600_000.0, y: 2_420_000.0), (x: 600_100.0, y: 2_420_000.0),
            (x: 600_100.0, y: 2_420_050.0), (x: 600_050.0, y: 2_420_050.0),
            (x: 600_050.0, y: 2_420_100.0), (x: 600_000.0, y: 2_420_100.0),
        ];
        assert!(ConvexSite::new(&ip(l_shape, &g), &g).is_none());
        let square = polygon![
            (x: 600_000.0, y: 2_420_000.0), (x: 600_100.0, y: 2_420_000.0),
            (x: 600_100.0, y: 2_420_100.0), (x: 600_000.0, y: 2_420_100.0),
        ];
        let site = ConvexSite::new(&ip(square, &g), &g).expect("convex");
        let rect = |x0: f64, y0: f64, x1: f64, y1: f64| crate::overlay::IRect {
            min_x: g.to_int(coord! {x: x0, y: y0}).x,
            min_y: g.to_int(coord! {x: x0, y: y0}).y,
            max_x: g.to_int(coord! {x: x1, y: y1}).x,
            max_y: g.to_int(coord! {x: x1, y: y1}).y,
        };
        assert!(site.contains_rect(&rect(600_010.0, 2_420_010.0, 600_090.0, 2_420_090.0), &g));
        assert!(site.contains_rect(&rect(600_000.0, 2_420_000.0, 600_100.0, 2_420_100.0), &g));
        assert!(!site.contains_rect(&rect(600_010.0, 2_420_010.0, 600_100.5, 2_420_090.0), &g));
    }

    /// Against the overlay on random convex sites and random concave polygons with holes: the
    /// same area to 1e-7 m² (the overlay rounds the vertices it creates to the grid, ~1e-10 m,
    /// which moves areas of this size by ~1e-8 m²).
    #[test]
    fn agrees_with_the_exact_overlay() {
        let g = grid();
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let (cx, cy) = (600_000.0, 2_420_000.0);
        let mut compared = 0;
        for case in 0..300 {
            // A convex site: points on an ellipse at increasing angles.
            let k = 3 + (rng(&mut s) * 6.0) as usize;
            let (rx, ry) = (20.0 + 80.0 * rng(&mut s), 20.0 + 80.0 * rng(&mut s));
            let mut angles: Vec<f64> = (0..k)
                .map(|_| rng(&mut s) * std::f64::consts::TAU)
                .collect();
            angles.sort_by(f64::total_cmp);
            let site_ring: Vec<(f64, f64)> = angles
                .iter()
                .map(|a| (cx + rx * a.cos(), cy + ry * a.sin()))
                .collect();
            let site = ip(geo::Polygon::new(site_ring.into(), vec![]), &g);
            let Some(convex) = ConvexSite::new(&site, &g) else {
                continue;
            };
            // A star-shaped concave polygon with a square hole.
            let m = 5 + (rng(&mut s) * 20.0) as usize;
            let (ox, oy) = (
                cx + 120.0 * (rng(&mut s) - 0.5),
                cy + 120.0 * (rng(&mut s) - 0.5),
            );
            let shell: Vec<(f64, f64)> = (0..m)
                .map(|i| {
                    let a = std::f64::consts::TAU * i as f64 / m as f64;
                    let r = 30.0 + 90.0 * rng(&mut s);
                    (ox + r * a.cos(), oy + r * a.sin())
                })
                .collect();
            let hole: Vec<(f64, f64)> = vec![
                (ox - 10.0, oy - 10.0),
                (ox - 10.0, oy + 10.0),
                (ox + 10.0, oy + 10.0),
                (ox + 10.0, oy - 10.0),
            ];
            let other = ip(geo::Polygon::new(shell.into(), vec![hole.into()]), &g);
            let (piece, _) = intersection(&site, &other, &g).expect("overlay");
            let mut scratch = ClipScratch::default();
            let fast = convex.clip(
                other.rings.iter().map(Vec::as_slice),
                &other.bbox,
                &g,
                &mut scratch,
                |_| {},
            );
            let exact = piece.area_m2(&g);
            assert!(
                (fast - exact).abs() < 1e-7,
                "case {case}: convex clip {fast} vs overlay {exact}"
            );
            compared += 1;
        }
        // Points on an ellipse in angle order are convex: nearly every case must have run.
        assert!(compared > 250, "only {compared} convex sites");
    }
}
