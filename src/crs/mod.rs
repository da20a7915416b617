//! Coordinate reference systems: what a source declares, what its coordinates reveal, and the
//! reprojection of everything into the blueprint's working CRS.
//!
//! Policy (BRIEF §5.1): a CRS comes from the file, from the user, or from an unambiguous reading of
//! the coordinates (a zone-prefixed Gauss–Krüger easting names its zone; an unprefixed one is taken
//! to be the district's own zone; northing-first files are swapped). Longitude/latitude without a
//! declaration is refused: in China it may be CGCS2000, WGS84 or the GCJ-02 of web maps (≈ 600 m
//! apart), and guessing would put every boundary in the wrong place. GCJ-02 is accepted only when
//! declared, and is converted before reprojection.

pub mod gcj02;
pub mod gk;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use geo::{Coord, Rect};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::layer::Geom;
pub use gk::GkZone;

/// The default working CRS: CGCS2000 3° Gauss–Krüger, CM 111°E, no zone prefix.
pub const DEFAULT_WORKING_EPSG: u32 = 4546;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum CrsError {
    #[error(
        "unrecognised CRS `{0}` (use EPSG:<code>, CGCS2000, WGS84 or GCJ02, or WKT from a .prj)"
    )]
    Unrecognised(String),
    #[error(
        "coordinates look like longitude/latitude ({x_min:.4}..{x_max:.4}, {y_min:.4}..{y_max:.4}) \
         but no CRS is declared: declare it (EPSG:4490 for CGCS2000, EPSG:4326 for WGS84, GCJ02 for \
         web-map coordinates); lantu does not guess between them"
    )]
    AmbiguousLonLat {
        x_min: f64,
        x_max: f64,
        y_min: f64,
        y_max: f64,
    },
    #[error(
        "no CRS declared and the coordinates ({x_min:.1}..{x_max:.1}, {y_min:.1}..{y_max:.1}) are \
         not recognisable Gauss–Krüger values: declare the CRS with --crs"
    )]
    Undetectable {
        x_min: f64,
        x_max: f64,
        y_min: f64,
        y_max: f64,
    },
    #[error(
        "coordinates are unprefixed Gauss–Krüger values but the working CRS {working} is not an \
         unprefixed CGCS2000 GK zone, so their central meridian is unknown: declare the CRS"
    )]
    UnknownZone { working: String },
    #[error(
        "the working CRS must be a projected CGCS2000 Gauss–Krüger CRS (EPSG:4491–4554), not {0}"
    )]
    WorkingNotProjected(String),
    #[error("PROJ cannot build a transformation from {from} to {to}: {reason}")]
    Transform {
        from: String,
        to: String,
        reason: String,
    },
    #[error("PROJ failed to transform coordinate ({x}, {y}) from {from}: {reason}")]
    Point {
        from: String,
        x: f64,
        y: f64,
        reason: String,
    },
}

/// A coordinate reference system as lantu understands it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Crs {
    /// An EPSG code; projected CRSs are always used easting-first.
    Epsg(u32),
    /// GCJ-02 longitude/latitude (web maps in China).
    Gcj02,
    /// A definition PROJ understands (WKT from a `.prj`, PROJJSON) with no EPSG code found.
    Definition(String),
}

impl Crs {
    pub fn working_default() -> Crs {
        Crs::Epsg(DEFAULT_WORKING_EPSG)
    }

    /// The Gauss–Krüger zone, when this is a CGCS2000 GK CRS.
    pub fn gk_zone(&self) -> Option<GkZone> {
        match self {
            Crs::Epsg(code) => GkZone::from_epsg(*code),
            _ => None,
        }
    }

    /// Geographic (degrees) CRSs lantu knows by code.
    pub fn is_geographic(&self) -> bool {
        matches!(self, Crs::Gcj02 | Crs::Epsg(4490 | 4326 | 4610 | 4214))
    }

    /// What PROJ is given for this CRS.
    fn proj_definition(&self) -> String {
        match self {
            Crs::Epsg(code) => format!("EPSG:{code}"),
            // Converted to WGS84 by `gcj02` before PROJ sees the coordinates.
            Crs::Gcj02 => "EPSG:4326".to_string(),
            Crs::Definition(d) => d.clone(),
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Crs::Epsg(code) => write!(f, "EPSG:{code}"),
            Crs::Gcj02 => f.write_str("GCJ-02"),
            Crs::Definition(d) => {
                let short: String = d.chars().take(60).collect();
                write!(f, "{short}")
            }
        }
    }
}

impl FromStr for Crs {
    type Err = CrsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let upper = t.to_ascii_uppercase().replace(['-', '_', ' '], "");
        let named = match upper.as_str() {
            "GCJ02" | "GCJ" | "MARS" => Some(Crs::Gcj02),
            "CGCS2000" | "CGCS" => Some(Crs::Epsg(4490)),
            "WGS84" | "CRS84" | "URN:OGC:DEF:CRS:OGC:1.3:CRS84" | "URN:OGC:DEF:CRS:OGC::CRS84" => {
                Some(Crs::Epsg(4326))
            }
            _ => None,
        };
        if let Some(c) = named {
            return Ok(c);
        }
        // EPSG:4546, epsg:4546, 4546, urn:ogc:def:crs:EPSG::4546, EPSG:4546 with spaces.
        let digits = upper
            .strip_prefix("EPSG:")
            .or_else(|| upper.strip_prefix("URN:OGC:DEF:CRS:EPSG::"))
            .or_else(|| upper.strip_prefix("URN:OGC:DEF:CRS:EPSG:"))
            .unwrap_or(&upper);
        if let Ok(code) = digits.parse::<u32>() {
            return Ok(Crs::Epsg(code));
        }
        if t.starts_with("PROJCS[")
            || t.starts_with("GEOGCS[")
            || t.starts_with("PROJCRS[")
            || t.starts_with("GEOGCRS[")
            || t.starts_with('{')
            || t.starts_with("+proj")
        {
            return Ok(Crs::Definition(t.to_string()));
        }
        Err(CrsError::Unrecognised(s.to_string()))
    }
}

/// How the CRS of a source was established; recorded in the provenance of every layer version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "source")]
pub enum CrsSource {
    /// The user declared it (`--crs`, manifest `crs`).
    Declared,
    /// The file carries it (`.prj`, GeoPackage SRS, TXT header).
    File,
    /// Read from the coordinates' magnitudes; `reason` says how.
    Detected { reason: String },
}

/// The CRS a source will be read in, and whether its first coordinate is the northing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedCrs {
    pub crs: Crs,
    /// X holds northings and Y eastings (the Chinese survey convention written naively).
    pub swapped: bool,
    pub source: CrsSource,
}

fn within(v: f64, lo: f64, hi: f64) -> bool {
    v >= lo && v <= hi
}

/// A Gauss–Krüger easting with a zone prefix: returns the zone number.
fn prefixed_zone(min: f64, max: f64) -> Option<u32> {
    if !within(min, 13.0e6, 46.0e6) || !within(max, 13.0e6, 46.0e6) {
        return None;
    }
    let zone = (min / 1.0e6).floor();
    if (max / 1.0e6).floor() != zone {
        return None;
    }
    let rest_min = min - zone * 1.0e6;
    let rest_max = max - zone * 1.0e6;
    if within(rest_min, 1.0e5, 9.0e5) && within(rest_max, 1.0e5, 9.0e5) {
        Some(zone as u32)
    } else {
        None
    }
}

fn plain_easting(min: f64, max: f64) -> bool {
    within(min, 1.0e5, 9.0e5) && within(max, 1.0e5, 9.0e5)
}

/// Northings of China (≈ 18°N–54°N).
fn northing(min: f64, max: f64) -> bool {
    within(min, 1.9e6, 6.1e6) && within(max, 1.9e6, 6.1e6)
}

fn lon_lat(r: &Rect<f64>) -> bool {
    within(r.min().x, -180.0, 180.0)
        && within(r.max().x, -180.0, 180.0)
        && within(r.min().y, -90.0, 90.0)
        && within(r.max().y, -90.0, 90.0)
}

/// Reads the CRS of an undeclared source from its bounding box. `working` is the blueprint's
/// CRS: an unprefixed GK easting carries no zone, so it is taken to be the working zone.
pub fn detect(bbox: &Rect<f64>, working: &Crs) -> Result<ResolvedCrs, CrsError> {
    let (x0, x1, y0, y1) = (bbox.min().x, bbox.max().x, bbox.min().y, bbox.max().y);
    let detected = |crs: Crs, swapped: bool, reason: String| ResolvedCrs {
        crs,
        swapped,
        source: CrsSource::Detected { reason },
    };
    for swapped in [false, true] {
        let (e0, e1, n0, n1) = if swapped {
            (y0, y1, x0, x1)
        } else {
            (x0, x1, y0, y1)
        };
        if !northing(n0, n1) {
            continue;
        }
        let order = if swapped {
            "; X holds northings, axes swapped"
        } else {
            ""
        };
        if let Some(zone) = prefixed_zone(e0, e1) {
            let width = if zone >= 25 { 3 } else { 6 };
            if let Some(z) = GkZone::from_prefix(zone, width) {
                return Ok(detected(
                    Crs::Epsg(z.epsg),
                    swapped,
                    format!(
                        "eastings carry zone prefix {zone} ({width}° zone, CM {}°E){order}",
                        z.central_meridian
                    ),
                ));
            }
        }
        if plain_easting(e0, e1) {
            return match working.gk_zone() {
                Some(z) if z.zone_prefix.is_none() => Ok(detected(
                    working.clone(),
                    swapped,
                    format!(
                        "unprefixed Gauss–Krüger eastings: taken as the blueprint's zone \
                         (CM {}°E, {}){order}",
                        z.central_meridian, working
                    ),
                )),
                _ => Err(CrsError::UnknownZone {
                    working: working.to_string(),
                }),
            };
        }
    }
    if lon_lat(bbox) {
        return Err(CrsError::AmbiguousLonLat {
            x_min: x0,
            x_max: x1,
            y_min: y0,
            y_max: y1,
        });
    }
    Err(CrsError::Undetectable {
        x_min: x0,
        x_max: x1,
        y_min: y0,
        y_max: y1,
    })
}

/// For a source whose projected GK CRS is known, tells whether its axes are swapped anyway
/// (files written northing-first despite their `.prj`).
pub fn axes_look_swapped(bbox: &Rect<f64>, crs: &Crs) -> bool {
    let Some(zone) = crs.gk_zone() else {
        return false;
    };
    let easting_ok = |lo: f64, hi: f64| match zone.zone_prefix {
        Some(_) => prefixed_zone(lo, hi).is_some(),
        None => plain_easting(lo, hi),
    };
    let (x0, x1, y0, y1) = (bbox.min().x, bbox.max().x, bbox.min().y, bbox.max().y);
    !(easting_ok(x0, x1) && northing(y0, y1)) && easting_ok(y0, y1) && northing(x0, x1)
}

thread_local! {
    // `Proj` is neither Send nor Sync: one per thread and (from, to) pair.
    static PROJ_CACHE: RefCell<HashMap<(String, String), proj::Proj>> = RefCell::new(HashMap::new());
}

fn with_proj<R>(from: &str, to: &str, f: impl FnOnce(&proj::Proj) -> R) -> Result<R, CrsError> {
    PROJ_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let key = (from.to_string(), to.to_string());
        if !cache.contains_key(&key) {
            let p = proj::Proj::new_known_crs(from, to, None).map_err(|e| CrsError::Transform {
                from: from.to_string(),
                to: to.to_string(),
                reason: e.to_string(),
            })?;
            cache.insert(key.clone(), p);
        }
        match cache.get(&key) {
            Some(p) => Ok(f(p)),
            None => Err(CrsError::Transform {
                from: from.to_string(),
                to: to.to_string(),
                reason: "transformation cache lost its entry".to_string(),
            }),
        }
    })
}

/// A reprojection from a source CRS (possibly swapped, possibly GCJ-02) to a target CRS.
/// Cheap to clone and `Send`: the PROJ objects live per thread.
#[derive(Debug, Clone)]
pub struct Transformer {
    from: Crs,
    to: Crs,
    swapped: bool,
    identity: bool,
    from_def: String,
    to_def: String,
}

impl Transformer {
    /// Checks that PROJ can build the transformation before any feature is touched.
    pub fn new(from: &ResolvedCrs, to: &Crs) -> Result<Self, CrsError> {
        let from_def = from.crs.proj_definition();
        let to_def = to.proj_definition();
        let identity = from.crs == *to;
        if !identity {
            with_proj(&from_def, &to_def, |_| ())?;
        }
        Ok(Transformer {
            from: from.crs.clone(),
            to: to.clone(),
            swapped: from.swapped,
            identity,
            from_def,
            to_def,
        })
    }

    pub fn target(&self) -> &Crs {
        &self.to
    }

    pub fn source(&self) -> &Crs {
        &self.from
    }

    /// Transforms one coordinate (x, y as the source wrote them).
    pub fn point(&self, c: Coord<f64>) -> Result<Coord<f64>, CrsError> {
        let mut c = if self.swapped {
            Coord { x: c.y, y: c.x }
        } else {
            c
        };
        if self.from == Crs::Gcj02 {
            let (lon, lat) = gcj02::gcj02_to_wgs84(c.x, c.y);
            c = Coord { x: lon, y: lat };
        }
        if self.identity {
            return Ok(c);
        }
        let out = with_proj(&self.from_def, &self.to_def, |p| p.convert((c.x, c.y)))?;
        match out {
            Ok((x, y)) if x.is_finite() && y.is_finite() => Ok(Coord { x, y }),
            Ok((x, y)) => Err(CrsError::Point {
                from: self.from.to_string(),
                x: c.x,
                y: c.y,
                reason: format!("result is not finite ({x}, {y})"),
            }),
            Err(e) => Err(CrsError::Point {
                from: self.from.to_string(),
                x: c.x,
                y: c.y,
                reason: e.to_string(),
            }),
        }
    }

    /// Transforms a geometry in place; the first failing coordinate is reported.
    pub fn geom(&self, g: &mut Geom) -> Result<(), CrsError> {
        if self.identity && !self.swapped && self.from != Crs::Gcj02 {
            return Ok(());
        }
        let apply = |coords: &mut [Coord<f64>]| -> Result<(), CrsError> {
            for c in coords {
                *c = self.point(*c)?;
            }
            Ok(())
        };
        match g {
            Geom::Polygon(mp) => {
                for poly in &mut mp.0 {
                    let mut result = Ok(());
                    poly.exterior_mut(|r| result = apply(&mut r.0));
                    result?;
                    let mut result = Ok(());
                    poly.interiors_mut(|holes| {
                        for h in holes {
                            if result.is_ok() {
                                result = apply(&mut h.0);
                            }
                        }
                    });
                    result?;
                }
                Ok(())
            }
            Geom::Line(ml) => {
                for l in &mut ml.0 {
                    apply(&mut l.0)?;
                }
                Ok(())
            }
            Geom::Point(mp) => {
                for p in &mut mp.0 {
                    p.0 = self.point(p.0)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::coord;

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Rect<f64> {
        Rect::new(coord! {x: x0, y: y0}, coord! {x: x1, y: y1})
    }

    #[test]
    fn parses_declarations() {
        assert_eq!("EPSG:4546".parse::<Crs>(), Ok(Crs::Epsg(4546)));
        assert_eq!("epsg:4525".parse::<Crs>(), Ok(Crs::Epsg(4525)));
        assert_eq!("4490".parse::<Crs>(), Ok(Crs::Epsg(4490)));
        assert_eq!("GCJ-02".parse::<Crs>(), Ok(Crs::Gcj02));
        assert_eq!("gcj02".parse::<Crs>(), Ok(Crs::Gcj02));
        assert_eq!("CGCS2000".parse::<Crs>(), Ok(Crs::Epsg(4490)));
        assert_eq!(
            "urn:ogc:def:crs:EPSG::4490".parse::<Crs>(),
            Ok(Crs::Epsg(4490))
        );
        assert!("Mercator-ish".parse::<Crs>().is_err());
    }

    #[test]
    fn detects_zone_prefix_and_swaps() {
        let w = Crs::working_default();
        let r = detect(
            &rect(37_580_000.0, 2_410_000.0, 37_590_000.0, 2_420_000.0),
            &w,
        )
        .expect("prefixed zone 37");
        assert_eq!(r.crs, Crs::Epsg(4525));
        assert!(!r.swapped);
        let r = detect(
            &rect(2_410_000.0, 37_580_000.0, 2_420_000.0, 37_590_000.0),
            &w,
        )
        .expect("swapped prefixed zone 37");
        assert_eq!(r.crs, Crs::Epsg(4525));
        assert!(r.swapped);
        let r =
            detect(&rect(580_000.0, 2_410_000.0, 590_000.0, 2_420_000.0), &w).expect("unprefixed");
        assert_eq!(r.crs, Crs::Epsg(4546));
        let r = detect(&rect(2_410_000.0, 580_000.0, 2_420_000.0, 590_000.0), &w)
            .expect("unprefixed swapped");
        assert!(r.swapped);
        assert!(matches!(
            detect(&rect(111.8, 21.7, 112.3, 22.2), &w),
            Err(CrsError::AmbiguousLonLat { .. })
        ));
        assert!(matches!(
            detect(&rect(0.0, 0.0, 10.0, 5000.0), &w),
            Err(CrsError::Undetectable { .. })
        ));
        // An unprefixed easting cannot be placed when the working CRS has no single zone.
        assert!(matches!(
            detect(
                &rect(580_000.0, 2_410_000.0, 590_000.0, 2_420_000.0),
                &Crs::Epsg(4525)
            ),
            Err(CrsError::UnknownZone { .. })
        ));
    }

    #[test]
    fn reprojects_prefixed_zone_and_lonlat() {
        let from = ResolvedCrs {
            crs: Crs::Epsg(4525),
            swapped: false,
            source: CrsSource::Declared,
        };
        let t = Transformer::new(&from, &Crs::Epsg(4546)).expect("4525 → 4546");
        let c = t
            .point(coord! {x: 37_593_004.0, y: 2_423_000.0})
            .expect("transform");
        assert!((c.x - 593_004.0).abs() < 1e-3, "{c:?}");
        assert!((c.y - 2_423_000.0).abs() < 1e-3, "{c:?}");

        // BRIEF §5.1 sanity value: 111.9°E, 21.9°N → E ≈ 593 004 m, N ≈ 2 423 000 m.
        let from = ResolvedCrs {
            crs: Crs::Epsg(4490),
            swapped: false,
            source: CrsSource::Declared,
        };
        let t = Transformer::new(&from, &Crs::Epsg(4546)).expect("4490 → 4546");
        let c = t.point(coord! {x: 111.9, y: 21.9}).expect("transform");
        assert!((c.x - 593_004.0).abs() < 5.0, "{c:?}");
        assert!((c.y - 2_423_000.0).abs() < 500.0, "{c:?}");
    }
}
