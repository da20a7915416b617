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

    /// The CRS as OGC WKT 1, exactly as GDAL writes it for this EPSG code: GeoPackage and
    /// Shapefile writers need it, and the batch binary does not link GDAL or PROJ to ask.
    pub fn wkt1(&self) -> String {
        let degrees = if self.zone_width == 3 {
            "3-degree "
        } else {
            ""
        };
        let name = match self.zone_prefix {
            Some(z) => format!("CGCS2000 / {degrees}Gauss-Kruger zone {z}"),
            None => format!(
                "CGCS2000 / {degrees}Gauss-Kruger CM {}E",
                self.central_meridian
            ),
        };
        format!(
            "PROJCS[\"{name}\",GEOGCS[\"China Geodetic Coordinate System 2000\",\
             DATUM[\"China_2000\",SPHEROID[\"CGCS2000\",6378137,298.257222101,\
             AUTHORITY[\"EPSG\",\"1024\"]],AUTHORITY[\"EPSG\",\"1043\"]],\
             PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],\
             UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],\
             AUTHORITY[\"EPSG\",\"4490\"]],PROJECTION[\"Transverse_Mercator\"],\
             PARAMETER[\"latitude_of_origin\",0],PARAMETER[\"central_meridian\",{cm}],\
             PARAMETER[\"scale_factor\",1],PARAMETER[\"false_easting\",{fe}],\
             PARAMETER[\"false_northing\",0],UNIT[\"metre\",1,AUTHORITY[\"EPSG\",\"9001\"]],\
             AXIS[\"Northing\",NORTH],AXIS[\"Easting\",EAST],AUTHORITY[\"EPSG\",\"{epsg}\"]]",
            cm = self.central_meridian,
            fe = self.false_easting,
            epsg = self.epsg,
        )
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
    fn wkt_is_what_gdal_writes_for_every_cgcs2000_zone() {
        for code in 4491..=4554 {
            let ours = GkZone::from_epsg(code).expect("a CGCS2000 GK code").wkt1();
            let gdal = gdal::spatial_ref::SpatialRef::from_epsg(code)
                .and_then(|s| s.to_wkt())
                .expect("GDAL knows the code");
            assert_eq!(ours, gdal, "EPSG:{code}");
        }
    }

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
