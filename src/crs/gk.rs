//! CGCS2000 Gauss–Krüger zones by EPSG code.
//!
//! The EPSG ranges are regular: 4491–4501 are 6° zones 13–23 with the zone number prefixed to the
//! easting, 4502–4512 the same zones by central meridian (75°E–135°E, no prefix), 4513–4533 are
//! 3° zones 25–45 prefixed, 4534–4554 the same by central meridian. 阳东 lies in 3° zone 37
//! (CM 111°E): EPSG:4525 with the prefix, EPSG:4546 without.

use serde::Serialize;

/// GRS80 / CGCS2000 semi-major axis (m).
pub const CGCS2000_A: f64 = 6_378_137.0;
/// CGCS2000 flattening.
pub const CGCS2000_F: f64 = 1.0 / 298.257_222_101;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GkZone {
    pub epsg: u32,
    /// Central meridian in degrees east.
    pub central_meridian: f64,
    pub false_easting: f64,
    /// The zone number written in front of the easting, when the CRS carries it.
    pub zone_prefix: Option<u32>,
    /// 3 or 6 degrees.
    pub zone_width: u8,
}

impl GkZone {
    pub fn from_epsg(code: u32) -> Option<GkZone> {
        let (zone_width, cm, prefix) = match code {
            4491..=4501 => {
                let zone = code - 4491 + 13;
                (6u8, 6.0 * f64::from(zone) - 3.0, Some(zone))
            }
            4502..=4512 => (6, 75.0 + 6.0 * f64::from(code - 4502), None),
            4513..=4533 => {
                let zone = code - 4513 + 25;
                (3, 3.0 * f64::from(zone), Some(zone))
            }
            4534..=4554 => (3, 75.0 + 3.0 * f64::from(code - 4534), None),
            _ => return None,
        };
        let false_easting = match prefix {
            Some(z) => f64::from(z) * 1_000_000.0 + 500_000.0,
            None => 500_000.0,
        };
        Some(GkZone {
            epsg: code,
            central_meridian: cm,
            false_easting,
            zone_prefix: prefix,
            zone_width,
        })
    }

    /// The same projection without the zone prefix (4525 → 4546); identity for unprefixed zones.
    pub fn unprefixed_epsg(&self) -> u32 {
        match (self.zone_width, self.zone_prefix) {
            (3, Some(_)) => 4534 + ((self.central_meridian - 75.0) / 3.0).round() as u32,
            (6, Some(_)) => 4502 + ((self.central_meridian - 75.0) / 6.0).round() as u32,
            _ => self.epsg,
        }
    }

    /// The prefixed CRS for a zone number as written in front of an easting (3° zones 25–45,
    /// 6° zones 13–23).
    pub fn from_prefix(zone: u32, zone_width: u8) -> Option<GkZone> {
        match (zone_width, zone) {
            (3, 25..=45) => GkZone::from_epsg(4513 + zone - 25),
            (6, 13..=23) => GkZone::from_epsg(4491 + zone - 13),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yangdong_zone_codes() {
        let z = GkZone::from_epsg(4525).expect("4525 is a GK zone");
        assert_eq!(z.central_meridian, 111.0);
        assert_eq!(z.false_easting, 37_500_000.0);
        assert_eq!(z.unprefixed_epsg(), 4546);
        let u = GkZone::from_epsg(4546).expect("4546 is a GK zone");
        assert_eq!(u.central_meridian, 111.0);
        assert_eq!(u.false_easting, 500_000.0);
        assert_eq!(u.zone_prefix, None);
        // 4547 is CM 114E, 4524 zone 36 (CM 108E): the BRIEF's pattern checks.
        assert_eq!(
            GkZone::from_epsg(4547).map(|z| z.central_meridian),
            Some(114.0)
        );
        assert_eq!(
            GkZone::from_epsg(4524).map(|z| z.central_meridian),
            Some(108.0)
        );
        assert_eq!(
            GkZone::from_epsg(4497).map(|z| z.false_easting),
            Some(19_500_000.0)
        );
        assert_eq!(
            GkZone::from_epsg(4497).map(|z| z.central_meridian),
            Some(111.0)
        );
        assert_eq!(GkZone::from_prefix(37, 3).map(|z| z.epsg), Some(4525));
        assert!(GkZone::from_epsg(4326).is_none());
    }
}
