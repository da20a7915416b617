//! Planar and ellipsoidal areas of polygons in a Gauss–Krüger plane.

use geo::{Area, Centroid, MultiPolygon};

use crate::crs::gk::{CGCS2000_A, GkZone};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Areas {
    pub planar_m2: f64,
    pub ellipsoidal_m2: f64,
}

pub fn planar_area(mp: &MultiPolygon<f64>) -> f64 {
    mp.unsigned_area()
}

/// Area on the ellipsoid: the planar area divided by the squared point scale factor of the
/// transverse Mercator at the centroid.
pub fn ellipsoidal_area(mp: &MultiPolygon<f64>, zone: &GkZone) -> f64 {
    let planar = planar_area(mp);
    let Some(c) = mp.centroid() else {
        return planar;
    };
    let x = c.x() - zone.false_easting;
    let k = 1.0 + x * x / (2.0 * CGCS2000_A * CGCS2000_A);
    planar / (k * k)
}

pub fn areas(mp: &MultiPolygon<f64>, zone: &GkZone) -> Areas {
    Areas {
        planar_m2: planar_area(mp),
        ellipsoidal_m2: ellipsoidal_area(mp, zone),
    }
}

pub fn hectares(m2: f64) -> f64 {
    m2 / 10_000.0
}

pub fn mu(m2: f64) -> f64 {
    m2 * 3.0 / 2000.0
}
