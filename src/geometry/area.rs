//! Planar and ellipsoidal areas of polygons in a CGCS2000 Gauss–Krüger plane.
//!
//! Every area that reaches a report is given twice (BRIEF §5.2): planar, in the GK plane, and
//! ellipsoidal (图斑椭球面积) on the CGCS2000 ellipsoid (GRS80). The ellipsoidal area runs on every
//! conflict piece of a district, so it is computed from the plane coordinates directly, without
//! inverse-projecting vertices.
//!
//! # Method
//!
//! The transverse Mercator is conformal, so an area element on the ellipsoid is `dA / k²` with `k`
//! the point scale factor. With `x` the easting from the central meridian and `y` the northing,
//! `1/k²` is even in `x`:
//!
//! ```text
//! 1/k² = 1 + c₁(y)·x² + c₂(y)·x⁴ + c₃(y)·x⁶ + …
//! c₁ = −1/(ρν)
//! c₂ = (2 + η² − η⁴ + 6t²η⁴) / (3(1 + η²)) / (ρν)²
//! c₃ = −(17 + 17η² − 6η⁴ + 5η⁶ + 11η⁸
//!        + t²(−9η² + 48η⁴ − 147η⁶ − 204η⁸) + t⁴(15η⁴ + 120η⁶ + 240η⁸)) / (45(1 + η²)²) / (ρν)³
//! ```
//!
//! with ρ, ν the meridian and prime-vertical radii, `t = tan φ₁` and `η² = e′²cos²φ₁` at the
//! footpoint latitude φ₁ of `y`. Derivation: with isometric latitude `q` and longitude `λ`, the
//! map is `y + ix = G(q + iλ)` where `G′ = ν cos φ` along the central meridian, so
//! `1/k² = r(Re H)²·|H′|²` with `H = G⁻¹` and `r = ν cos φ`; expanding `H(y + ix)` in `x` (all
//! derivatives of `H` are polynomials in `sin φ₁` over powers of `r`) gives the coefficients
//! above. On a sphere they reduce to `sech²(x/R) = 1 − X² + ⅔X⁴ − 17⁄45·X⁶ + …`, which checks
//! them. The next term, `62⁄315·X⁸`, is below 1e-13 at the edge of a 3° zone and 1e-11 at the edge
//! of a 6° zone.
//!
//! The integral of that polynomial over a polygon is exact from its moments `∬ξ^p η^q dA`
//! (Green's theorem, triangle fan from the ring's first vertex, so the planar part is the
//! shoelace sum itself). The coefficients are taken at the ring's centroid northing, with the
//! linear variation of `c₁` along the meridian kept (it moves 50 km polygons by up to 3e-10);
//! the dropped `c₁″` and `c₂′` terms are of the size of what is left there, ≤ 2e-10.
//!
//! **Edges.** A polygon's edges are taken to be geodesics between its vertices, as in
//! geographiclib, PostGIS `geography` and ArcGIS `AREA_GEODESIC`, so the result can be checked
//! with any of them. A geodesic's image in the GK plane is not the straight chord: it is concave
//! toward the central meridian (bulges away from it) with plane curvature `∂ln k/∂n`, which adds
//! `(∂ln k/∂n)·L³/12` of area beyond the chord (L = edge length, n the outward normal). Each edge adds that sliver
//! (divided by k²). Over a closed ring these mostly cancel; what is left is about
//! `L²/(12ρν)` of the area for a square of side L: 2e-9 at 1 km, 5e-6 at 50 km with four
//! vertices. Without it the result would be the area of the region with straight edges in the
//! plane; the two agree to that order, so either is a faithful 椭球面积 for real parcels.

use geo::{Area, Coord, MultiPolygon, Polygon};

use crate::crs::gk::{CGCS2000_A, CGCS2000_F, GkZone};

/// Planar (GK plane) and ellipsoidal (GRS80) area of one geometry, in m².
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Areas {
    pub planar_m2: f64,
    pub ellipsoidal_m2: f64,
}

const ZERO: Areas = Areas {
    planar_m2: 0.0,
    ellipsoidal_m2: 0.0,
};

/// Unsigned planar area in the GK plane, holes subtracted.
pub fn planar_area(mp: &MultiPolygon<f64>) -> f64 {
    mp.unsigned_area()
}

/// Area on the CGCS2000 (GRS80) ellipsoid of the polygons whose vertices are `mp`'s coordinates
/// in `zone`, with geodesic edges, holes subtracted.
pub fn ellipsoidal_area(mp: &MultiPolygon<f64>, zone: &GkZone) -> f64 {
    areas(mp, zone).ellipsoidal_m2
}

/// Planar and ellipsoidal area in one pass over the vertices.
pub fn areas(mp: &MultiPolygon<f64>, zone: &GkZone) -> Areas {
    mp.0.iter().fold(ZERO, |acc, p| {
        let a = polygon_areas(p, zone);
        Areas {
            planar_m2: acc.planar_m2 + a.planar_m2,
            ellipsoidal_m2: acc.ellipsoidal_m2 + a.ellipsoidal_m2,
        }
    })
}

/// m² → hectares.
pub fn hectares(m2: f64) -> f64 {
    m2 / 10_000.0
}

/// m² → 亩 (1 亩 = 2000/3 m²).
pub fn mu(m2: f64) -> f64 {
    m2 * 3.0 / 2000.0
}

/// Same conventions as `geo::Area` for a polygon: holes are subtracted whatever their
/// orientation, and the sign is dropped at the end.
fn polygon_areas(p: &Polygon<f64>, zone: &GkZone) -> Areas {
    let ext = ring_areas(&p.exterior().0, zone);
    let sign = ext.planar_m2.signum();
    let mut planar = ext.planar_m2.abs();
    let mut ellipsoidal = ext.ellipsoidal_m2 * sign;
    for hole in p.interiors() {
        let h = ring_areas(&hole.0, zone);
        let s = h.planar_m2.signum();
        planar -= h.planar_m2.abs();
        ellipsoidal -= h.ellipsoidal_m2 * s;
    }
    if planar < 0.0 {
        Areas {
            planar_m2: -planar,
            ellipsoidal_m2: -ellipsoidal,
        }
    } else {
        Areas {
            planar_m2: planar,
            ellipsoidal_m2: ellipsoidal,
        }
    }
}

/// The scale series of one neighbourhood (a site and the pieces clipped to it), evaluated once
/// at `northing` instead of at each ring's centroid. A ring `d` metres from it moves by the
/// neglected `c₁″` term, about `(d/R)²·(x/R)²` of its area: 5e-13 at 300 m.
#[derive(Debug, Clone, Copy)]
pub struct LocalScale {
    northing: f64,
    series: ScaleSeries,
}

impl LocalScale {
    pub fn at(northing: f64) -> LocalScale {
        LocalScale {
            northing,
            series: ScaleSeries::at_northing(northing),
        }
    }
}

/// Signed planar and ellipsoidal area of one ring near `scale`'s northing, open or closed
/// (positive when counter-clockwise). Both are sums over edges, so rings of one polygon may be
/// summed with their signs, and an edge walked both ways (the bridges of a Sutherland–Hodgman
/// clip) cancels.
pub fn signed_ring_areas_near(ring: &[Coord<f64>], zone: &GkZone, scale: &LocalScale) -> Areas {
    let (Some(&origin), true) = (ring.first(), ring.len() >= 3) else {
        return ZERO;
    };
    ring_sums(ring, origin, zone).finish_with(scale.northing - origin.y, &scale.series)
}

fn ring_areas(pts: &[Coord<f64>], zone: &GkZone) -> Areas {
    let (Some(&origin), true) = (pts.first(), pts.len() >= 3) else {
        return ZERO;
    };
    ring_sums(pts, origin, zone).finish(origin.y)
}

fn ring_sums(pts: &[Coord<f64>], origin: Coord<f64>, zone: &GkZone) -> RingSums {
    let x0 = origin.x - zone.false_easting;
    let mut acc = RingSums::new(x0);
    let zero = Coord { x: 0.0, y: 0.0 };
    let mut prev = zero;
    for &c in &pts[1..] {
        let c = c - origin;
        acc.edge(prev, c);
        prev = c;
    }
    // Back to the first vertex: closes an open ring, and is empty for a closed one.
    acc.edge(prev, zero);
    acc
}

/// Moments `∬ξ^p η^q dA` of a ring, in coordinates relative to its first vertex, as sums over
/// the triangles (origin, a, b) of each edge, plus the sums the geodesic-edge correction needs.
struct RingSums {
    /// Easting of the ring's first vertex from the central meridian.
    x0: f64,
    /// `Σ cross·h_p(xa, xb)`, with `h_p` the complete homogeneous polynomial of degree p;
    /// `∬ξ^p dA` is this over (p+1)(p+2).
    m0: [f64; 7],
    /// The `∬ξ^p η dA` sums, to be divided by (p+1)(p+2)(p+3).
    m1: [f64; 3],
    /// Edge sums `Σ x·Δy·L²`, `Σ x³·Δy·L²`, `Σ x²·Δx·L²` at edge midpoints.
    e1: f64,
    e3: f64,
    f2: f64,
    y_min: f64,
    y_max: f64,
}

impl RingSums {
    fn new(x0: f64) -> Self {
        RingSums {
            x0,
            m0: [0.0; 7],
            m1: [0.0; 3],
            e1: 0.0,
            e3: 0.0,
            f2: 0.0,
            y_min: 0.0,
            y_max: 0.0,
        }
    }

    fn edge(&mut self, a: Coord<f64>, b: Coord<f64>) {
        let cross = a.x * b.y - b.x * a.y;
        // ∬_T x^p dA over the triangle (0, a, b) is cross·p!/(p+2)!·Σ_i a.x^i b.x^(p−i).
        let mut h = 1.0;
        let mut a_pow = 1.0;
        self.m0[0] += cross;
        for p in 1..7 {
            a_pow *= a.x;
            h = b.x * h + a_pow;
            self.m0[p] += cross * h;
        }
        // ∬_T x^p y dA = cross·p!/(p+3)!·Σ_i a.x^i b.x^(p−i)·((p+1−i)·b.y + (i+1)·a.y).
        self.m1[0] += cross * (a.y + b.y);
        self.m1[1] += cross * (b.x * (2.0 * b.y + a.y) + a.x * (b.y + 2.0 * a.y));
        self.m1[2] += cross
            * (b.x * b.x * (3.0 * b.y + a.y)
                + 2.0 * a.x * b.x * (a.y + b.y)
                + a.x * a.x * (b.y + 3.0 * a.y));

        let xm = self.x0 + 0.5 * (a.x + b.x);
        let dx = b.x - a.x;
        let dy = b.y - a.y;
        let l2 = dx * dx + dy * dy;
        let xm2 = xm * xm;
        self.e1 += xm * dy * l2;
        self.e3 += xm2 * xm * dy * l2;
        self.f2 += xm2 * dx * l2;
        self.y_min = self.y_min.min(b.y);
        self.y_max = self.y_max.max(b.y);
    }

    fn finish(&self, y_origin: f64) -> Areas {
        let area = self.m0[0] / 2.0;
        // Expanding about the centroid northing makes the neglected c₁″ term second order in the
        // ring's extent; clamping keeps a self-cancelling (zero-area) ring's expansion point on it.
        let eta_c = if area != 0.0 {
            (self.m1[0] / 6.0 / area).max(self.y_min).min(self.y_max)
        } else {
            0.0
        };
        self.finish_with(eta_c, &ScaleSeries::at_northing(y_origin + eta_c))
    }

    /// The areas with the scale series `s` taken `eta_c` north of the ring's first vertex.
    fn finish_with(&self, eta_c: f64, s: &ScaleSeries) -> Areas {
        let m = |p: usize| self.m0[p] / ((p + 1) * (p + 2)) as f64;
        let m1 = |p: usize| self.m1[p] / ((p + 1) * (p + 2) * (p + 3)) as f64;
        let area = m(0);

        let mut x0_pow = [1.0; 7];
        for i in 1..7 {
            x0_pow[i] = x0_pow[i - 1] * self.x0;
        }
        // ∬x^n dA with x = x0 + ξ, by the binomial theorem over the moments ∬ξ^i dA.
        let x_moment = |n: usize| -> f64 {
            let mut sum = 0.0;
            let mut binom = 1.0;
            for i in 0..=n {
                sum += binom * x0_pow[n - i] * m(i);
                binom = binom * (n - i) as f64 / (i + 1) as f64;
            }
            sum
        };
        let x2 = x_moment(2);
        let x4 = x_moment(4);
        let x6 = x_moment(6);
        // ∬x²·(y − y_ref) dA.
        let x2_eta = x0_pow[2] * m1(0) + 2.0 * self.x0 * m1(1) + m1(2) - eta_c * x2;

        let interior = area + s.c1 * x2 + s.dc1 * x2_eta + s.c2 * x4 + s.c3 * x6;
        // Geodesic bulge (∂ln k/∂n)·L³/12 over k², with ln k = −½ln(1/k²): the x-gradient over k²
        // is −c₁x − 2c₂x³ and the y-gradient −½c₁′x².
        let bulge = (-s.c1 * self.e1 - 2.0 * s.c2 * self.e3 + 0.5 * s.dc1 * self.f2) / 12.0;
        Areas {
            planar_m2: area,
            ellipsoidal_m2: interior + bulge,
        }
    }
}

const E2: f64 = CGCS2000_F * (2.0 - CGCS2000_F);
/// Third flattening.
const N: f64 = CGCS2000_F / (2.0 - CGCS2000_F);
/// Radius of the rectifying sphere: meridian arc = RECT_RADIUS × rectifying latitude.
const RECT_RADIUS: f64 = CGCS2000_A / (1.0 + N) * (1.0 + N * N / 4.0 + N * N * N * N / 64.0);
/// Rectifying → geodetic latitude series (Helmert), truncated after n⁴ (error < 1e-13 rad).
const FOOT_1: f64 = 1.5 * N - 27.0 / 32.0 * N * N * N;
const FOOT_2: f64 = 21.0 / 16.0 * N * N - 55.0 / 32.0 * N * N * N * N;
const FOOT_3: f64 = 151.0 / 96.0 * N * N * N;
const FOOT_4: f64 = 1097.0 / 512.0 * N * N * N * N;

/// Footpoint latitude (radians) of a GK northing (k₀ = 1, no false northing).
fn footpoint_latitude(y: f64) -> f64 {
    let mu = y / RECT_RADIUS;
    let (s2, c2) = (2.0 * mu).sin_cos();
    let (s4, c4) = (2.0 * s2 * c2, c2 * c2 - s2 * s2);
    let s6 = s4 * c2 + c4 * s2;
    let s8 = 2.0 * s4 * c4;
    mu + FOOT_1 * s2 + FOOT_2 * s4 + FOOT_3 * s6 + FOOT_4 * s8
}

/// Coefficients of `1/k² = 1 + c₁x² + c₂x⁴ + c₃x⁶` at one northing, and `dc₁/dy`.
#[derive(Debug, Clone, Copy)]
struct ScaleSeries {
    c1: f64,
    dc1: f64,
    c2: f64,
    c3: f64,
}

impl ScaleSeries {
    fn at_northing(y: f64) -> Self {
        let phi = footpoint_latitude(y);
        let (sin, cos) = phi.sin_cos();
        let w2 = 1.0 - E2 * sin * sin;
        let w = w2.sqrt();
        let nu = CGCS2000_A / w;
        let rho = CGCS2000_A * (1.0 - E2) / (w2 * w);
        let inv_rn = 1.0 / (rho * nu);
        let ep2 = E2 / (1.0 - E2);
        // η² and t²η², written without tan so that no latitude divides by zero.
        let h = ep2 * cos * cos;
        let th = ep2 * sin * sin;
        let (h2, h3) = (h * h, h * h * h);

        let c1 = -inv_rn;
        // d(1/ρν)/dφ / ρ: 1/(ρν) ∝ W⁴, so d ln c₁/dy = −4e²·sinφ·cosφ / (W²ρ).
        let dc1 = c1 * (-4.0 * E2 * sin * cos / (w2 * rho));
        let c2 = (2.0 + h - h2 + 6.0 * th * h) / (3.0 * (1.0 + h)) * inv_rn * inv_rn;
        let p3 = 17.0 + 17.0 * h - 6.0 * h2
            + 5.0 * h3
            + 11.0 * h2 * h2
            + th * (-9.0 + 48.0 * h - 147.0 * h2 - 204.0 * h3)
            + th * th * (15.0 + 120.0 * h + 240.0 * h2);
        let c3 = -p3 / (45.0 * (1.0 + h) * (1.0 + h)) * inv_rn * inv_rn * inv_rn;
        ScaleSeries { c1, dc1, c2, c3 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Coord, LineString, Polygon};
    use geographiclib_rs::{Geodesic, PolygonArea, Winding};

    fn zone(epsg: u32) -> GkZone {
        GkZone::from_epsg(epsg).expect("a CGCS2000 GK code")
    }

    /// Reference: every vertex inverse-projected by PROJ, geodesic polygon area on GRS80 by
    /// geographiclib; holes subtracted.
    fn reference_area(mp: &MultiPolygon<f64>, epsg: u32) -> f64 {
        let proj = proj::Proj::new_known_crs(&format!("EPSG:{epsg}"), "EPSG:4490", None)
            .expect("PROJ knows the CGCS2000 GK zones");
        let geod = Geodesic::new(CGCS2000_A, CGCS2000_F);
        let ring_area = |ring: &LineString<f64>| -> f64 {
            let mut pa = PolygonArea::new(&geod, Winding::CounterClockwise);
            let n = ring.0.len() - usize::from(ring.is_closed());
            for c in &ring.0[..n] {
                let (lon, lat) = proj.convert((c.x, c.y)).expect("inverse projection");
                pa.add_point(lat, lon);
            }
            pa.compute(true).1.abs()
        };
        mp.0.iter()
            .map(|p| ring_area(p.exterior()) - p.interiors().iter().map(ring_area).sum::<f64>())
            .sum()
    }

    /// Deterministic xorshift, so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        fn range(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * self.next()
        }
    }

    /// A random star-shaped (so simple, usually concave) ring of `n` vertices around `c`, radii in
    /// [r/2, r]; counter-clockwise unless `cw`.
    fn star(rng: &mut Rng, c: Coord<f64>, r: f64, n: usize, cw: bool) -> LineString<f64> {
        let mut pts: Vec<Coord<f64>> = (0..n)
            .map(|i| {
                let th = (i as f64 + rng.range(0.0, 0.8)) / n as f64 * std::f64::consts::TAU;
                let rad = r * rng.range(0.5, 1.0);
                Coord {
                    x: c.x + rad * th.cos(),
                    y: c.y + rad * th.sin(),
                }
            })
            .collect();
        if cw {
            pts.reverse();
        }
        LineString::new(pts)
    }

    fn square(c: Coord<f64>, half: f64) -> LineString<f64> {
        LineString::from(vec![
            (c.x - half, c.y - half),
            (c.x + half, c.y - half),
            (c.x + half, c.y + half),
            (c.x - half, c.y + half),
        ])
    }

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    /// A mix of parcels 50 m–2 km across around (easting, northing): concave rings, rings with a
    /// hole (of either orientation), and two-part multipolygons.
    fn parcels(rng: &mut Rng, easting: f64, northing: f64, count: usize) -> Vec<MultiPolygon<f64>> {
        (0..count)
            .map(|i| {
                let r = rng.range(25.0, 1000.0);
                let c = Coord {
                    x: easting + rng.range(-5000.0, 5000.0),
                    y: northing + rng.range(-5000.0, 5000.0),
                };
                let n = 3 + (rng.next() * 40.0) as usize;
                match i % 3 {
                    0 => MultiPolygon::new(vec![Polygon::new(
                        star(rng, c, r, n, i % 2 == 0),
                        vec![],
                    )]),
                    1 => {
                        let cw = rng.next() < 0.5;
                        let hole = star(rng, c, 0.3 * r, 7, cw);
                        MultiPolygon::new(vec![Polygon::new(star(rng, c, r, n, false), vec![hole])])
                    }
                    _ => {
                        let c2 = Coord {
                            x: c.x + 2.5 * r,
                            y: c.y - 1.5 * r,
                        };
                        MultiPolygon::new(vec![
                            Polygon::new(star(rng, c, r, n, false), vec![]),
                            Polygon::new(star(rng, c2, 0.6 * r, 5, true), vec![]),
                        ])
                    }
                }
            })
            .collect()
    }

    /// (max |E − R| in m², max |E − R|/R over parcels of at least 0.5 km²).
    fn max_errors(polys: &[MultiPolygon<f64>], epsg: u32) -> (f64, f64) {
        let z = zone(epsg);
        polys.iter().fold((0.0, 0.0), |(abs, rel_big), mp| {
            let r = reference_area(mp, epsg);
            let d = (ellipsoidal_area(mp, &z) - r).abs();
            let rel_big = if r >= 5e5 {
                rel_big.max(d / r)
            } else {
                rel_big
            };
            (f64::max(abs, d), rel_big)
        })
    }

    #[test]
    fn moments_of_a_rectangle() {
        // [1,3]×[2,5] relative to the first vertex (1,2): ξ ∈ [0,2], η ∈ [0,3].
        let mut s = RingSums::new(0.0);
        let pts = [(0.0, 0.0), (2.0, 0.0), (2.0, 3.0), (0.0, 3.0), (0.0, 0.0)];
        for w in pts.windows(2) {
            s.edge(Coord::from(w[0]), Coord::from(w[1]));
        }
        for p in 0..7 {
            let exact = 2f64.powi(p as i32 + 1) / (p as f64 + 1.0) * 3.0;
            assert!(
                rel(s.m0[p] / ((p + 1) * (p + 2)) as f64, exact) < 1e-14,
                "p={p}"
            );
        }
        for p in 0..3 {
            let exact = 2f64.powi(p as i32 + 1) / (p as f64 + 1.0) * 4.5;
            let got = s.m1[p] / ((p + 1) * (p + 2) * (p + 3)) as f64;
            assert!(rel(got, exact) < 1e-14, "p={p}");
        }
    }

    #[test]
    fn footpoint_latitude_matches_proj() {
        let proj =
            proj::Proj::new_known_crs("EPSG:4546", "EPSG:4490", None).expect("PROJ knows 4546");
        for y in [0.0, 1_000_000.0, 2_423_000.0, 4_500_000.0, 6_000_000.0] {
            let (_, lat) = proj.convert((500_000.0, y)).expect("inverse projection");
            let got = footpoint_latitude(y).to_degrees();
            assert!((got - lat).abs() < 1e-11, "y={y}: {got} vs {lat}");
        }
    }

    #[test]
    fn planar_part_is_the_shoelace_area() {
        let mut rng = Rng(7);
        let z = zone(4546);
        for mp in parcels(&mut rng, 650_000.0, 2_430_000.0, 60) {
            let a = areas(&mp, &z);
            assert!(rel(a.planar_m2, mp.unsigned_area()) < 1e-12);
            assert_eq!(planar_area(&mp), mp.unsigned_area());
        }
    }

    #[test]
    fn parcels_match_geodesic_reference() {
        // The reference itself is only good to ~1e-4 m² absolute: geographiclib sums per-edge
        // areas measured from the equator (~1e9 m² each), and splitting every edge of the same
        // geodesic polygon at its geodesic midpoint moves the result by up to 1.9e-4 m². Hence an
        // absolute bound for all parcels, and a relative one where that noise is below 1e-9.
        // Measured (these seeds), max |E − R| / max |E − R|/R over R ≥ 0.5 km²:
        //   4546 at 500 000: 1.3e-4 m² / 2.3e-10    4546 at 600 000: 9.9e-5 m² / 1.1e-10
        //   4546 at 650 000: 9.9e-5 m² / 1.1e-10    4525 at 37 650 000: 1.3e-4 m² / 1.1e-10
        //   4497 at 19 800 000 (x = 300 km, edge of a 6° zone): 1.0e-4 m² / 7.1e-11
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for (epsg, easting) in [
            (4546, 500_000.0),
            (4546, 600_000.0),
            (4546, 650_000.0),
            (4525, 37_650_000.0),
            (4497, 19_800_000.0),
        ] {
            let polys = parcels(&mut rng, easting, 2_430_000.0, 60);
            let (abs, rel_big) = max_errors(&polys, epsg);
            eprintln!(
                "EPSG:{epsg} E={easting}: max abs {abs:.2e} m², max rel (≥0.5 km²) {rel_big:.2e}"
            );
            assert!(abs < 2e-4, "EPSG:{epsg} at {easting}: {abs:e} m²");
            assert!(rel_big < 3e-10, "EPSG:{epsg} at {easting}: {rel_big:e}");
        }
    }

    #[test]
    fn large_polygons_match_geodesic_reference() {
        // 50 km polygons with 4 to 12 vertices (edges up to ~40 km), so the geodesic-edge term
        // is ~1e-6 of the area here. Measured max relative differences: 4546 at 500 000 → 3.2e-11,
        // 600 000 → 3.5e-11, 640 000 → 1.4e-10; 4497 at 19 800 000 (x = 300 km) → 1.8e-10.
        let mut rng = Rng(42);
        for (epsg, easting) in [
            (4546, 500_000.0),
            (4546, 600_000.0),
            (4546, 640_000.0),
            (4497, 19_800_000.0),
        ] {
            let mut polys = vec![MultiPolygon::new(vec![Polygon::new(
                square(
                    Coord {
                        x: easting,
                        y: 2_430_000.0,
                    },
                    25_000.0,
                ),
                vec![],
            )])];
            for _ in 0..20 {
                let c = Coord {
                    x: easting + rng.range(-10_000.0, 10_000.0),
                    y: rng.range(2_300_000.0, 2_600_000.0),
                };
                let n = 4 + (rng.next() * 9.0) as usize;
                polys.push(MultiPolygon::new(vec![Polygon::new(
                    star(&mut rng, c, 25_000.0, n, false),
                    vec![],
                )]));
            }
            let z = zone(epsg);
            let worst = polys
                .iter()
                .map(|mp| rel(ellipsoidal_area(mp, &z), reference_area(mp, epsg)))
                .fold(0.0, f64::max);
            eprintln!("50 km, EPSG:{epsg} E={easting}: max rel {worst:.2e}");
            assert!(worst < 3e-10, "EPSG:{epsg} at {easting}: {worst:e}");
        }
    }

    #[test]
    fn central_meridian_square() {
        // On the central meridian k = 1 at every latitude, so there is no latitude effect: the
        // straight-edged square loses ∬x²/(ρν) = L²/(12ρν) of its area (8e-9 for L = 2 km) and its
        // geodesic edges, bulging away from the meridian by x/(ρν)·L³/12 each, give it back; what
        // remains is O(L⁴/(ρν)²).
        // Measured |E/P − 1|: ≤ 2.4e-16 for L ≤ 2 km, 1.9e-12 for L = 20 km.
        let z = zone(4546);
        for (half, northing, bound) in [
            (1000.0, 2_430_000.0, 1e-15),
            (1000.0, 4_000_000.0, 1e-15),
            (25.0, 2_430_000.0, 1e-15),
            (10_000.0, 2_430_000.0, 3e-12),
        ] {
            let mp = MultiPolygon::new(vec![Polygon::new(
                square(
                    Coord {
                        x: 500_000.0,
                        y: northing,
                    },
                    half,
                ),
                vec![],
            )]);
            let planar = planar_area(&mp);
            let e = ellipsoidal_area(&mp, &z);
            assert!(rel(e, planar) < bound, "{half}: {:e}", rel(e, planar));
            // The reference agrees within its own ~1e-4 m² noise.
            let r = reference_area(&mp, 4546);
            assert!(
                (r - planar).abs() < 2e-4 + bound * planar,
                "{half}: {:e}",
                r - planar
            );
        }
    }

    /// Rings up to 300 m from the series' northing (a site and its pieces), 93–180 km east of the
    /// central meridian: the shared series moves the ellipsoidal area by 2.6e-13 at most (measured).
    #[test]
    fn local_scale_agrees_with_the_per_ring_series() {
        let z = zone(4546);
        let scale = LocalScale::at(2_423_000.0);
        let mut worst: f64 = 0.0;
        for (east, north, half) in [
            (593_004.0, 2_423_000.0, 100.0),
            (593_004.0, 2_423_300.0, 20.0),
            (593_304.0, 2_422_700.0, 150.0),
            (680_000.0, 2_423_250.0, 50.0),
        ] {
            let ring = square(Coord { x: east, y: north }, half);
            let own = ring_areas(&ring.0, &z).ellipsoidal_m2;
            let near = signed_ring_areas_near(&ring.0, &z, &scale).ellipsoidal_m2;
            worst = worst.max(rel(near, own));
        }
        assert!(worst < 1e-12, "{worst:e}");
        assert!(worst > 0.0, "the two series are the same computation");
    }

    #[test]
    fn yangdong_scale_distortion() {
        // BRIEF §5.2: 93 km east of 111°E planar area overstates ellipsoidal area by ≈ 213 ppm.
        let z = zone(4546);
        let mp = MultiPolygon::new(vec![Polygon::new(
            square(
                Coord {
                    x: 593_004.0,
                    y: 2_423_000.0,
                },
                500.0,
            ),
            vec![],
        )]);
        let a = areas(&mp, &z);
        // Measured 213.68 ppm. By hand, 1/k² ≈ 1 − x²/(ρν) with ρν at the footpoint (≈ 21.9°N):
        // 93 004²/4.0484e13 = 213.66 ppm.
        let ppm = (a.planar_m2 / a.ellipsoidal_m2 - 1.0) * 1e6;
        assert!((ppm - 213.0).abs() < 1.0, "{ppm}");
        let phi = 21.9f64.to_radians();
        let e2 = CGCS2000_F * (2.0 - CGCS2000_F);
        let w2 = 1.0 - e2 * phi.sin().powi(2);
        let rho_nu = CGCS2000_A * CGCS2000_A * (1.0 - e2) / (w2 * w2);
        assert!(
            (ppm - 93_004f64.powi(2) / rho_nu * 1e6).abs() < 0.1,
            "{ppm}"
        );
        assert!(rel(a.ellipsoidal_m2, reference_area(&mp, 4546)) < 1e-11);
        // 4525 is the same projection with the zone number in front of the easting.
        let prefixed = MultiPolygon::new(vec![Polygon::new(
            square(
                Coord {
                    x: 37_593_004.0,
                    y: 2_423_000.0,
                },
                500.0,
            ),
            vec![],
        )]);
        let b = areas(&prefixed, &zone(4525));
        assert!(rel(b.ellipsoidal_m2, a.ellipsoidal_m2) < 1e-12);
    }

    #[test]
    fn holes_and_orientation() {
        let z = zone(4546);
        let c = Coord {
            x: 620_000.0,
            y: 2_440_000.0,
        };
        let outer = square(c, 1000.0);
        let hole = square(c, 400.0);
        let whole = MultiPolygon::new(vec![Polygon::new(outer.clone(), vec![])]);
        let inner = MultiPolygon::new(vec![Polygon::new(hole.clone(), vec![])]);
        let mut hole_cw = hole.clone();
        hole_cw.0.reverse();
        let mut outer_cw = outer.clone();
        outer_cw.0.reverse();
        for p in [
            Polygon::new(outer.clone(), vec![hole.clone()]),
            Polygon::new(outer.clone(), vec![hole_cw.clone()]),
            Polygon::new(outer_cw.clone(), vec![hole.clone()]),
        ] {
            let a = areas(&MultiPolygon::new(vec![p]), &z);
            assert!(rel(a.planar_m2, 2000.0 * 2000.0 - 800.0 * 800.0) < 1e-13);
            let expected = ellipsoidal_area(&whole, &z) - ellipsoidal_area(&inner, &z);
            assert!(rel(a.ellipsoidal_m2, expected) < 1e-13);
        }
        assert_eq!(ellipsoidal_area(&MultiPolygon::new(vec![]), &z), 0.0);
        // A collinear (zero-area) ring has no area on the ellipsoid either.
        let flat = LineString::from(vec![(600_000.0, 2_400_000.0), (601_000.0, 2_401_000.0)]);
        let flat = MultiPolygon::new(vec![Polygon::new(flat, vec![])]);
        assert_eq!(areas(&flat, &z).planar_m2, 0.0);
        assert!(areas(&flat, &z).ellipsoidal_m2.abs() < 1e-9);
    }

    #[test]
    fn unit_conversions() {
        assert_eq!(hectares(10_000.0), 1.0);
        assert!((mu(10_000.0) - 15.0).abs() < 1e-12);
        assert!((mu(2000.0 / 3.0) - 1.0).abs() < 1e-12);
        assert!((hectares(1e6) * 15.0 - mu(1e6)).abs() < 1e-9);
    }
}
