//! GCJ-02 ("Mars" coordinates of Chinese web maps) ↔ WGS84.
//!
//! GCJ-02 is WGS84 plus a deterministic, non-linear offset of a few hundred metres (≈ 610 m at
//! 阳东), applied inside a rough bounding box of China. The forward formula below is the one
//! published in many open implementations (Krasovsky constants, the `transformLat` /
//! `transformLon` polynomials). There is no closed-form inverse; the one-step approximation
//! `wgs ≈ gcj − offset(gcj)` used by many tools is off by 1–2 m, so [`gcj02_to_wgs84`] solves the
//! forward equation by fixed-point iteration instead.

use std::f64::consts::PI;

/// Semi-major axis and first eccentricity squared of the Krasovsky ellipsoid, as the formula
/// uses them.
const KRASOVSKY_A: f64 = 6_378_245.0;
// The published 0.00669342162296594323, rounded to what an f64 holds.
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;

/// Residual (degrees) below which the inverse stops: ~0.1 mm on the ground.
const INVERSE_TOLERANCE_DEG: f64 = 1e-9;
/// The offset changes by less than 1e-2 of a displacement, so each step gains at least two
/// digits; 30 steps are far more than any point needs.
const INVERSE_MAX_STEPS: usize = 30;

/// WGS84 → GCJ-02 (degrees). Identity outside mainland China's bounding box.
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (dlon, dlat) = offset(lon, lat);
    (lon + dlon, lat + dlat)
}

/// GCJ-02 → WGS84 (degrees): the point whose GCJ-02 coordinates are `(lon, lat)`, to better than
/// 1e-9°. Identity outside mainland China's bounding box.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    // Iterating on the offset itself rather than on `wgs84_to_gcj02` keeps the map continuous
    // for points whose WGS84 position lies just outside the box.
    let (mut wlon, mut wlat) = (lon, lat);
    for _ in 0..INVERSE_MAX_STEPS {
        let (dlon, dlat) = offset(wlon, wlat);
        let rlon = wlon + dlon - lon;
        let rlat = wlat + dlat - lat;
        wlon -= rlon;
        wlat -= rlat;
        if rlon.abs() < INVERSE_TOLERANCE_DEG && rlat.abs() < INVERSE_TOLERANCE_DEG {
            break;
        }
    }
    (wlon, wlat)
}

/// The rectangle the public formula uses for "in China" (it includes neighbouring countries and
/// sea; GCJ-02 data outside it is WGS84).
fn out_of_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

/// GCJ-02 minus WGS84 (degrees of longitude, latitude) at a WGS84 point.
fn offset(lon: f64, lat: f64) -> (f64, f64) {
    let x = lon - 105.0;
    let y = lat - 35.0;
    let dlat_m = transform_lat(x, y);
    let dlon_m = transform_lon(x, y);
    let rad_lat = lat.to_radians();
    let w2 = 1.0 - KRASOVSKY_EE * rad_lat.sin().powi(2);
    let w = w2.sqrt();
    let meridian_radius = KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (w2 * w);
    let parallel_radius = KRASOVSKY_A / w * rad_lat.cos();
    (
        dlon_m * 180.0 / (parallel_radius * PI),
        dlat_m * 180.0 / (meridian_radius * PI),
    )
}

/// The shared periodic part of both polynomials.
fn common(x: f64) -> f64 {
    (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0
}

fn transform_lat(x: f64, y: f64) -> f64 {
    -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * x.abs().sqrt()
        + common(x)
        + (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0
        + (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0
}

fn transform_lon(x: f64, y: f64) -> f64 {
    300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * x.abs().sqrt()
        + common(x)
        + (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0
        + (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use geographiclib_rs::{Geodesic, InverseGeodesic};

    #[test]
    fn published_forward_vectors() {
        // (WGS84 lat, lon) → (GCJ-02 lat, lon) from the eviltransform test suite
        // (github.com/googollee/eviltransform, go/transform_test.go).
        let vectors = [
            // Shanghai
            (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
            // Shenzhen
            (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
            // Beijing
            (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
        ];
        for (wlat, wlon, glat, glon) in vectors {
            let (lon, lat) = wgs84_to_gcj02(wlon, wlat);
            assert!((lon - glon).abs() < 1e-12, "{lon} vs {glon}");
            assert!((lat - glat).abs() < 1e-12, "{lat} vs {glat}");
            let (lon, lat) = gcj02_to_wgs84(glon, glat);
            assert!((lon - wlon).abs() < 1e-9 && (lat - wlat).abs() < 1e-9);
        }
    }

    #[test]
    fn round_trip_over_yangjiang() {
        let mut worst: f64 = 0.0;
        for i in 0..=44 {
            for j in 0..=48 {
                let lon = 111.3 + 1.1 * f64::from(i) / 44.0;
                let lat = 21.5 + 1.2 * f64::from(j) / 48.0;
                let (glon, glat) = wgs84_to_gcj02(lon, lat);
                let (wlon, wlat) = gcj02_to_wgs84(glon, glat);
                worst = worst.max((wlon - lon).abs()).max((wlat - lat).abs());
                // And the other way: a GCJ-02 point maps back onto itself.
                let (wlon, wlat) = gcj02_to_wgs84(lon, lat);
                let (glon, glat) = wgs84_to_gcj02(wlon, wlat);
                worst = worst.max((glon - lon).abs()).max((glat - lat).abs());
            }
        }
        assert!(worst < 1e-8, "{worst:e}");
    }

    #[test]
    fn offset_at_yangdong() {
        // BRIEF: at 阳东 GCJ-02 is ≈ 530 m east and 300 m south of WGS84 (≈ 610 m).
        let (lon, lat) = (112.0, 21.9);
        let (glon, glat) = wgs84_to_gcj02(lon, lat);
        let g = Geodesic::wgs84();
        let east: f64 = g.inverse(lat, lon, lat, glon);
        let north: f64 = g.inverse(lat, glon, glat, glon);
        let total: f64 = g.inverse(lat, lon, glat, glon);
        assert!(glon > lon && glat < lat);
        assert!((east - 530.0).abs() < 30.0, "{east}");
        assert!((north - 300.0).abs() < 30.0, "{north}");
        assert!((total - 610.0).abs() < 30.0, "{total}");
    }

    #[test]
    fn identity_outside_china() {
        for (lon, lat) in [
            (2.35, 48.85),
            (139.69, 35.69),
            (-74.0, 40.7),
            (112.0, -10.0),
        ] {
            assert_eq!(wgs84_to_gcj02(lon, lat), (lon, lat));
            assert_eq!(gcj02_to_wgs84(lon, lat), (lon, lat));
        }
    }

    #[test]
    fn inverse_beats_the_one_step_approximation() {
        // The one-step inverse (subtract the offset taken at the GCJ-02 point) misses by metres;
        // the iteration must not.
        let (glon, glat) = wgs84_to_gcj02(112.0, 21.9);
        let (dlon, dlat) = offset(glon, glat);
        let one_step = (glon - dlon, glat - dlat);
        let g = Geodesic::wgs84();
        let miss: f64 = g.inverse(21.9, 112.0, one_step.1, one_step.0);
        assert!(miss > 0.1, "{miss}");
        let (wlon, wlat) = gcj02_to_wgs84(glon, glat);
        let exact: f64 = g.inverse(21.9, 112.0, wlat, wlon);
        assert!(exact < 1e-4, "{exact}");
    }
}
