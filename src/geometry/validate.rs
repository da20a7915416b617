//! Validation and repair of features as they enter a blueprint.
//!
//! The exact overlay kernel is garbage-in/garbage-out (a bowtie gives a wrong area, a NaN a
//! silently wrong one), so every feature passes through here first. Readers hand over rings
//! exactly as the file wrote them ([`RawGeom`]), before any library closes or reorients them,
//! so an unclosed ring or a duplicated vertex can be named in the import report.
//!
//! Policy: non-finite coordinates and empty or degenerate features are always rejected.
//! Under [`RepairPolicy::Repair`] (the default) unclosed rings are closed, repeated vertices
//! dropped, rings reoriented (exterior counter-clockwise) and self-intersecting polygons rebuilt
//! with geo's `MakeValid` (odd-even rule), each step logged; under [`RepairPolicy::Strict`] any
//! of those defects rejects the feature instead.

use std::fmt;

use geo::algorithm::sweep::Intersections;
use geo::{
    Area, Coord, Line, LineIntersection, LineString, MakeValid, MultiLineString, MultiPoint,
    MultiPolygon, Point, Polygon, Validation,
};
use serde::{Deserialize, Serialize};

use crate::layer::{Geom, GeomKind};

/// Rings and points exactly as a reader found them (parts → rings → coordinates).
#[derive(Debug, Clone, PartialEq)]
pub enum RawGeom {
    Polygons(Vec<Vec<Vec<Coord<f64>>>>),
    Lines(Vec<Vec<Coord<f64>>>),
    Points(Vec<Coord<f64>>),
}

impl RawGeom {
    pub fn kind(&self) -> GeomKind {
        match self {
            RawGeom::Polygons(_) => GeomKind::Polygon,
            RawGeom::Lines(_) => GeomKind::Line,
            RawGeom::Points(_) => GeomKind::Point,
        }
    }

    pub fn coords(&self) -> Box<dyn Iterator<Item = &Coord<f64>> + '_> {
        match self {
            RawGeom::Polygons(p) => Box::new(p.iter().flatten().flatten()),
            RawGeom::Lines(l) => Box::new(l.iter().flatten()),
            RawGeom::Points(p) => Box::new(p.iter()),
        }
    }

    pub fn coords_mut(&mut self) -> Box<dyn Iterator<Item = &mut Coord<f64>> + '_> {
        match self {
            RawGeom::Polygons(p) => Box::new(p.iter_mut().flatten().flatten()),
            RawGeom::Lines(l) => Box::new(l.iter_mut().flatten()),
            RawGeom::Points(p) => Box::new(p.iter_mut()),
        }
    }

    pub fn from_multipolygon(mp: &MultiPolygon<f64>) -> RawGeom {
        RawGeom::Polygons(
            mp.0.iter()
                .map(|p| {
                    std::iter::once(p.exterior())
                        .chain(p.interiors())
                        .map(|r| r.0.clone())
                        .collect()
                })
                .collect(),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RepairPolicy {
    /// Close, deduplicate, reorient and rebuild invalid polygons, logging each repair.
    #[default]
    Repair,
    /// Reject any feature that would need a repair.
    Strict,
}

/// One repair applied to a feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Repair {
    ClosedRing {
        part: usize,
        ring: usize,
    },
    RemovedRepeatedPoints {
        count: usize,
    },
    Reoriented {
        rings: usize,
    },
    DroppedDegenerateRing {
        part: usize,
        ring: usize,
        points: usize,
    },
    MadeValid {
        reason: String,
        area_before_m2: f64,
        area_after_m2: f64,
        parts_after: usize,
    },
}

impl fmt::Display for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Repair::ClosedRing { part, ring } => {
                write!(f, "closed ring {ring} of part {part}")
            }
            Repair::RemovedRepeatedPoints { count } => {
                write!(f, "removed {count} repeated vertices")
            }
            Repair::Reoriented { rings } => write!(f, "reoriented {rings} rings"),
            Repair::DroppedDegenerateRing { part, ring, points } => write!(
                f,
                "dropped degenerate ring {ring} of part {part} ({points} distinct points)"
            ),
            Repair::MadeValid {
                reason,
                area_before_m2,
                area_after_m2,
                parts_after,
            } => write!(
                f,
                "rebuilt invalid polygon ({reason}): area {area_before_m2:.2} → {area_after_m2:.2}, \
                 {parts_after} parts"
            ),
        }
    }
}

/// Why a feature cannot enter the blueprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Rejection {
    #[error("empty geometry")]
    Empty,
    #[error("non-finite coordinate ({x}, {y}) at vertex {index} of ring {ring} of part {part}")]
    NonFinite {
        part: usize,
        ring: usize,
        index: usize,
        x: f64,
        y: f64,
    },
    #[error("geometry is a {found} but the layer holds {expected} features")]
    WrongKind { expected: String, found: String },
    #[error("no ring with at least 3 distinct points")]
    TooFewPoints,
    #[error("ring {ring} of part {part} is not closed (first {first:?}, last {last:?})")]
    UnclosedRing {
        part: usize,
        ring: usize,
        first: (f64, f64),
        last: (f64, f64),
    },
    #[error("{count} repeated vertices")]
    RepeatedPoints { count: usize },
    #[error("invalid polygon: {reason}")]
    Invalid { reason: String },
    #[error("polygon has zero area")]
    ZeroArea,
    #[error("repair failed: {reason}")]
    RepairFailed { reason: String },
}

/// A validated feature geometry with the repairs it needed.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    pub geom: Geom,
    pub repairs: Vec<Repair>,
}

/// Checks (and under `Repair` fixes) one feature geometry of a layer of kind `kind`.
pub fn validate(
    raw: &RawGeom,
    kind: GeomKind,
    policy: RepairPolicy,
) -> Result<Validated, Rejection> {
    if raw.kind() != kind {
        return Err(Rejection::WrongKind {
            expected: kind.as_str().to_string(),
            found: raw.kind().as_str().to_string(),
        });
    }
    check_finite(raw)?;
    match raw {
        RawGeom::Polygons(parts) => validate_polygons(parts, policy),
        RawGeom::Lines(lines) => validate_lines(lines, policy),
        RawGeom::Points(points) => {
            if points.is_empty() {
                return Err(Rejection::Empty);
            }
            Ok(Validated {
                geom: Geom::Point(MultiPoint(points.iter().map(|c| Point(*c)).collect())),
                repairs: Vec::new(),
            })
        }
    }
}

pub fn check_finite(raw: &RawGeom) -> Result<(), Rejection> {
    let bad = |part: usize, ring: usize, index: usize, c: &Coord<f64>| Rejection::NonFinite {
        part,
        ring,
        index,
        x: c.x,
        y: c.y,
    };
    match raw {
        RawGeom::Polygons(parts) => {
            for (p, rings) in parts.iter().enumerate() {
                for (r, ring) in rings.iter().enumerate() {
                    if let Some((i, c)) = ring
                        .iter()
                        .enumerate()
                        .find(|(_, c)| !c.x.is_finite() || !c.y.is_finite())
                    {
                        return Err(bad(p, r, i, c));
                    }
                }
            }
        }
        RawGeom::Lines(lines) => {
            for (p, line) in lines.iter().enumerate() {
                if let Some((i, c)) = line
                    .iter()
                    .enumerate()
                    .find(|(_, c)| !c.x.is_finite() || !c.y.is_finite())
                {
                    return Err(bad(p, 0, i, c));
                }
            }
        }
        RawGeom::Points(points) => {
            if let Some((i, c)) = points
                .iter()
                .enumerate()
                .find(|(_, c)| !c.x.is_finite() || !c.y.is_finite())
            {
                return Err(bad(i, 0, 0, c));
            }
        }
    }
    Ok(())
}

/// Removes consecutive repeated vertices; returns how many were removed.
fn dedup(coords: &mut Vec<Coord<f64>>) -> usize {
    let before = coords.len();
    coords.dedup();
    before - coords.len()
}

fn validate_polygons(
    parts: &[Vec<Vec<Coord<f64>>>],
    policy: RepairPolicy,
) -> Result<Validated, Rejection> {
    if parts.iter().all(|rings| rings.iter().all(|r| r.is_empty())) {
        return Err(Rejection::Empty);
    }
    let mut repairs = Vec::new();
    let mut repeated = 0usize;
    let mut polygons = Vec::with_capacity(parts.len());
    for (p, rings) in parts.iter().enumerate() {
        let mut kept: Vec<LineString<f64>> = Vec::with_capacity(rings.len());
        for (r, ring) in rings.iter().enumerate() {
            if ring.is_empty() {
                continue;
            }
            let mut coords = ring.clone();
            let (first, last) = (coords[0], coords[coords.len() - 1]);
            if first != last {
                if policy == RepairPolicy::Strict {
                    return Err(Rejection::UnclosedRing {
                        part: p,
                        ring: r,
                        first: (first.x, first.y),
                        last: (last.x, last.y),
                    });
                }
                coords.push(first);
                repairs.push(Repair::ClosedRing { part: p, ring: r });
            }
            repeated += dedup(&mut coords);
            // A closed ring needs 3 distinct points + the closing one.
            if coords.len() < 4 {
                if policy == RepairPolicy::Strict || r == 0 {
                    if r == 0 {
                        // Without its shell the part is gone; holes of it go too.
                        repairs.push(Repair::DroppedDegenerateRing {
                            part: p,
                            ring: r,
                            points: coords.len().saturating_sub(1),
                        });
                        kept.clear();
                        break;
                    }
                    return Err(Rejection::TooFewPoints);
                }
                repairs.push(Repair::DroppedDegenerateRing {
                    part: p,
                    ring: r,
                    points: coords.len().saturating_sub(1),
                });
                continue;
            }
            kept.push(LineString(coords));
        }
        if kept.is_empty() {
            continue;
        }
        let exterior = kept.remove(0);
        polygons.push(Polygon::new(exterior, kept));
    }
    if repeated > 0 {
        if policy == RepairPolicy::Strict {
            return Err(Rejection::RepeatedPoints { count: repeated });
        }
        repairs.push(Repair::RemovedRepeatedPoints { count: repeated });
    }
    if polygons.is_empty() {
        return Err(Rejection::TooFewPoints);
    }
    if policy == RepairPolicy::Strict
        && repairs
            .iter()
            .any(|r| matches!(r, Repair::DroppedDegenerateRing { .. }))
    {
        return Err(Rejection::TooFewPoints);
    }
    let mut mp = MultiPolygon(polygons);
    if let Some(reason) = first_invalidity(&mp) {
        if policy == RepairPolicy::Strict {
            return Err(Rejection::Invalid { reason });
        }
        let area_before = mp.0.iter().map(|p| p.signed_area().abs()).sum::<f64>();
        let fixed = mp.make_valid().map_err(|e| Rejection::RepairFailed {
            reason: e.to_string(),
        })?;
        let area_after = fixed.unsigned_area();
        repairs.push(Repair::MadeValid {
            reason,
            area_before_m2: area_before,
            area_after_m2: area_after,
            parts_after: fixed.0.len(),
        });
        mp = fixed;
    }
    let reoriented = orient_standard(&mut mp);
    if reoriented > 0 {
        repairs.push(Repair::Reoriented { rings: reoriented });
    }
    if mp.0.is_empty() || mp.unsigned_area() <= 0.0 {
        return Err(Rejection::ZeroArea);
    }
    Ok(Validated {
        geom: Geom::Polygon(mp),
        repairs,
    })
}

/// The first reason a multipolygon is invalid, with a location for self-intersections.
pub fn first_invalidity(mp: &MultiPolygon<f64>) -> Option<String> {
    let err = mp.check_validation().err()?;
    let mut reason = err.to_string();
    if let Some(at) = self_intersection_point(mp) {
        reason.push_str(&format!(" at ({:.3}, {:.3})", at.x, at.y));
    }
    Some(reason)
}

/// A point where two non-adjacent edges of the same ring cross or touch.
pub fn self_intersection_point(mp: &MultiPolygon<f64>) -> Option<Coord<f64>> {
    for poly in &mp.0 {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            let lines: Vec<Line<f64>> = ring.lines().collect();
            let n = lines.len();
            let adjacent = |a: &Line<f64>, b: &Line<f64>| a.end == b.start || b.end == a.start;
            for (a, b, hit) in Intersections::from_iter(lines.iter().copied()) {
                if n > 2
                    && adjacent(&a, &b)
                    && let LineIntersection::SinglePoint { .. } = hit
                {
                    continue;
                }
                return Some(match hit {
                    LineIntersection::SinglePoint { intersection, .. } => intersection,
                    LineIntersection::Collinear { intersection } => intersection.start,
                });
            }
        }
    }
    None
}

/// Exterior rings counter-clockwise, holes clockwise (RFC 7946, and what geo's overlay emits).
/// Returns the number of rings turned.
fn orient_standard(mp: &mut MultiPolygon<f64>) -> usize {
    use geo::winding_order::Winding;
    let mut turned = 0;
    for poly in &mut mp.0 {
        let mut count = 0;
        poly.exterior_mut(|ext| {
            if ext.is_cw() {
                ext.make_ccw_winding();
                count += 1;
            }
        });
        poly.interiors_mut(|holes| {
            for h in holes {
                if h.is_ccw() {
                    h.make_cw_winding();
                    count += 1;
                }
            }
        });
        turned += count;
    }
    turned
}

fn validate_lines(lines: &[Vec<Coord<f64>>], policy: RepairPolicy) -> Result<Validated, Rejection> {
    if lines.iter().all(|l| l.is_empty()) {
        return Err(Rejection::Empty);
    }
    let mut repeated = 0;
    let mut kept = Vec::with_capacity(lines.len());
    for line in lines {
        let mut coords = line.clone();
        repeated += dedup(&mut coords);
        if coords.len() >= 2 {
            kept.push(LineString(coords));
        }
    }
    if kept.is_empty() {
        return Err(Rejection::TooFewPoints);
    }
    let mut repairs = Vec::new();
    if repeated > 0 {
        if policy == RepairPolicy::Strict {
            return Err(Rejection::RepeatedPoints { count: repeated });
        }
        repairs.push(Repair::RemovedRepeatedPoints { count: repeated });
    }
    Ok(Validated {
        geom: Geom::Line(MultiLineString(kept)),
        repairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::coord;

    fn ring(pts: &[(f64, f64)]) -> Vec<Coord<f64>> {
        pts.iter().map(|&(x, y)| coord! {x: x, y: y}).collect()
    }

    fn square(x: f64, y: f64, s: f64) -> Vec<Coord<f64>> {
        ring(&[(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)])
    }

    #[test]
    fn valid_square_passes_untouched() {
        let raw = RawGeom::Polygons(vec![vec![square(0.0, 0.0, 10.0)]]);
        let v = validate(&raw, GeomKind::Polygon, RepairPolicy::Repair).expect("valid");
        assert!(v.repairs.is_empty(), "{:?}", v.repairs);
        assert_eq!(v.geom.as_polygons().map(|p| p.unsigned_area()), Some(100.0));
    }

    #[test]
    fn bowtie_is_rebuilt_with_location_or_rejected_in_strict() {
        let bowtie = ring(&[
            (0.0, 0.0),
            (10.0, 10.0),
            (10.0, 0.0),
            (0.0, 10.0),
            (0.0, 0.0),
        ]);
        let raw = RawGeom::Polygons(vec![vec![bowtie]]);
        let v = validate(&raw, GeomKind::Polygon, RepairPolicy::Repair).expect("repaired");
        let made_valid = v
            .repairs
            .iter()
            .find_map(|r| match r {
                Repair::MadeValid {
                    reason,
                    area_after_m2,
                    parts_after,
                    ..
                } => Some((reason.clone(), *area_after_m2, *parts_after)),
                _ => None,
            })
            .expect("a MadeValid repair");
        assert!(made_valid.0.contains("(5.000, 5.000)"), "{}", made_valid.0);
        // Two triangles of 25 m² each.
        assert!((made_valid.1 - 50.0).abs() < 1e-9);
        assert_eq!(made_valid.2, 2);
        let strict = validate(&raw, GeomKind::Polygon, RepairPolicy::Strict);
        assert!(
            matches!(strict, Err(Rejection::Invalid { .. })),
            "{strict:?}"
        );
    }

    #[test]
    fn unclosed_ring_is_closed_and_logged() {
        let open = ring(&[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]);
        let raw = RawGeom::Polygons(vec![vec![open]]);
        let v = validate(&raw, GeomKind::Polygon, RepairPolicy::Repair).expect("closed");
        assert!(v.repairs.contains(&Repair::ClosedRing { part: 0, ring: 0 }));
        assert_eq!(v.geom.as_polygons().map(|p| p.unsigned_area()), Some(100.0));
        assert!(matches!(
            validate(&raw, GeomKind::Polygon, RepairPolicy::Strict),
            Err(Rejection::UnclosedRing { .. })
        ));
    }

    #[test]
    fn nan_and_empty_are_rejected() {
        let mut r = square(0.0, 0.0, 10.0);
        r[2].y = f64::NAN;
        let raw = RawGeom::Polygons(vec![vec![r]]);
        let e = validate(&raw, GeomKind::Polygon, RepairPolicy::Repair).expect_err("NaN");
        assert!(matches!(e, Rejection::NonFinite { index: 2, .. }), "{e:?}");
        assert!(e.to_string().contains("vertex 2"));
        let empty = RawGeom::Polygons(vec![]);
        assert_eq!(
            validate(&empty, GeomKind::Polygon, RepairPolicy::Repair),
            Err(Rejection::Empty)
        );
    }

    #[test]
    fn clockwise_shell_and_repeated_points_are_normalised() {
        let cw = ring(&[
            (0.0, 0.0),
            (0.0, 10.0),
            (0.0, 10.0),
            (10.0, 10.0),
            (10.0, 0.0),
            (0.0, 0.0),
        ]);
        let raw = RawGeom::Polygons(vec![vec![cw]]);
        let v = validate(&raw, GeomKind::Polygon, RepairPolicy::Repair).expect("ok");
        assert!(
            v.repairs
                .contains(&Repair::RemovedRepeatedPoints { count: 1 })
        );
        assert!(v.repairs.contains(&Repair::Reoriented { rings: 1 }));
    }

    #[test]
    fn degenerate_part_is_dropped_but_sole_degenerate_rejected() {
        let line_like = ring(&[(0.0, 0.0), (10.0, 0.0), (0.0, 0.0)]);
        let raw = RawGeom::Polygons(vec![vec![line_like.clone()], vec![square(20.0, 0.0, 5.0)]]);
        let v = validate(&raw, GeomKind::Polygon, RepairPolicy::Repair).expect("one part left");
        assert_eq!(v.geom.as_polygons().map(|p| p.0.len()), Some(1));
        let raw = RawGeom::Polygons(vec![vec![line_like]]);
        assert_eq!(
            validate(&raw, GeomKind::Polygon, RepairPolicy::Repair),
            Err(Rejection::TooFewPoints)
        );
    }
}
