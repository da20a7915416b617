//! CAD drawings (DXF) to polygons.
//!
//! GDAL's DXF driver (3.6) gives HATCHes as polygons but closed LWPOLYLINEs as line strings, and
//! parcel outlines drawn as loose LINE/ARC pieces as many small lines. Here: hatches stay
//! polygons, closed line strings become polygons, and the remaining lines are polygonised
//! ([`super::polygonize`]). A hatch's island inside an island is filled again (odd parity), so
//! it becomes a polygon of its own rather than a second hole. TEXT entities inside a polygon
//! become its `label` (a drawing's 地块编码), so `id_field = "label"` keeps the CAD numbering.
//! DXF carries no CRS: it must be declared, or the coordinates must be recognisable
//! Gauss–Krüger values.

use std::path::Path;

use geo::algorithm::coordinate_position::{CoordPos, coord_pos_relative_to_ring};
use geo::{Area, BoundingRect, Contains, Coord, LineString, Point, Polygon, Rect};

use super::polygonize::{Polygonized, polygonize};
use super::{ImportError, RawFeature, RawLayer, gdal_reader};
use crate::blueprint::spec::LayerSpec;
use crate::geometry::validate::RawGeom;
use crate::layer::{Field, FieldType, Value};

/// Reads a DXF into polygons with `cad_layer`, `entity` and `label` fields.
pub fn read(path: &Path, spec: &LayerSpec) -> Result<RawLayer, ImportError> {
    let raw = gdal_reader::read(path, "DXF", None, spec.encoding.as_deref())?;
    let idx = |name: &str| raw.fields.iter().position(|f| f.name == name);
    let (layer_i, class_i, text_i, handle_i) = (
        idx("Layer"),
        idx("SubClasses"),
        idx("Text"),
        idx("EntityHandle"),
    );
    let text_of = |f: &RawFeature, i: Option<usize>| -> String {
        i.and_then(|i| f.attrs.get(i))
            .and_then(Value::as_text)
            .unwrap_or_default()
            .to_string()
    };
    let wanted = |f: &RawFeature| {
        spec.cad_layers.is_empty() || spec.cad_layers.iter().any(|l| *l == text_of(f, layer_i))
    };

    struct Shape {
        /// One entity's polygons (several for a hatch with an island in an island).
        parts: Vec<Polygon<f64>>,
        cad_layer: String,
        entity: String,
    }
    let mut shapes: Vec<Shape> = Vec::new();
    let mut loose: Vec<(Vec<Coord<f64>>, String)> = Vec::new();
    let mut labels: Vec<(Point<f64>, String)> = Vec::new();
    let mut warnings = raw.warnings.clone();

    for f in raw.features.iter().filter(|f| wanted(f)) {
        let cad_layer = text_of(f, layer_i);
        let subclass = text_of(f, class_i);
        let entity = format!(
            "{}{}",
            subclass.rsplit(':').next().unwrap_or_default(),
            match text_of(f, handle_i) {
                h if h.is_empty() => String::new(),
                h => format!("#{h}"),
            }
        );
        match &f.geom {
            Some(RawGeom::Polygons(parts)) => {
                for rings in parts {
                    let parts = match nest_islands(rings) {
                        Some(nested) => nested,
                        None => {
                            let mut rings = rings.iter().map(|r| LineString(r.clone()));
                            let Some(ext) = rings.next() else { continue };
                            vec![Polygon::new(ext, rings.collect())]
                        }
                    };
                    shapes.push(Shape {
                        parts,
                        cad_layer: cad_layer.clone(),
                        entity: entity.clone(),
                    });
                }
            }
            Some(RawGeom::Lines(lines)) => {
                for line in lines {
                    let closed = line.len() >= 4 && line.first() == line.last();
                    if closed {
                        shapes.push(Shape {
                            parts: vec![Polygon::new(LineString(line.clone()), vec![])],
                            cad_layer: cad_layer.clone(),
                            entity: entity.clone(),
                        });
                    } else if line.len() >= 2 {
                        loose.push((line.clone(), cad_layer.clone()));
                    }
                }
            }
            Some(RawGeom::Points(points)) => {
                let text = text_of(f, text_i);
                if !text.trim().is_empty() {
                    for p in points {
                        labels.push((Point(*p), text.trim().to_string()));
                    }
                }
            }
            None => {}
        }
    }

    if !loose.is_empty() {
        let lines: Vec<Vec<Coord<f64>>> = loose.iter().map(|(l, _)| l.clone()).collect();
        let Polygonized { polygons, dangles } = polygonize(&lines);
        if dangles > 0 {
            warnings.push(format!(
                "{dangles} loose line pieces close no loop and were left out"
            ));
        }
        // A polygonised face takes the CAD layer of the lines that drew it, when unanimous.
        let layer_name = {
            let mut names: Vec<&str> = loose.iter().map(|(_, n)| n.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            if names.len() == 1 {
                names[0].to_string()
            } else {
                String::new()
            }
        };
        for polygon in polygons {
            shapes.push(Shape {
                parts: vec![polygon],
                cad_layer: layer_name.clone(),
                entity: "polygonised lines".to_string(),
            });
        }
    }

    let fields = vec![
        Field {
            name: "cad_layer".into(),
            ty: FieldType::Text,
        },
        Field {
            name: "entity".into(),
            ty: FieldType::Text,
        },
        Field {
            name: "label".into(),
            ty: FieldType::Text,
        },
    ];
    let features = shapes
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let label: Vec<&str> = labels
                .iter()
                .filter(|(p, _)| s.parts.iter().any(|g| g.contains(p)))
                .map(|(_, t)| t.as_str())
                .collect();
            let geom = RawGeom::Polygons(
                s.parts
                    .iter()
                    .map(|g| {
                        std::iter::once(g.exterior())
                            .chain(g.interiors())
                            .map(|r| r.0.clone())
                            .collect()
                    })
                    .collect(),
            );
            RawFeature {
                fid: i as i64 + 1,
                geom: Some(geom),
                attrs: vec![
                    Value::Text(s.cad_layer),
                    Value::Text(s.entity),
                    if label.is_empty() {
                        Value::Null
                    } else {
                        Value::Text(label.join(" "))
                    },
                ],
                problem: None,
            }
        })
        .collect::<Vec<_>>();
    if features.is_empty() {
        return Err(ImportError::NoFeatures {
            layer: spec.id.clone(),
        });
    }
    Ok(RawLayer {
        format: "DXF".to_string(),
        fields,
        features,
        crs: None,
        encoding: raw.encoding,
        warnings,
    })
}

/// GDAL writes a hatch's islands as holes of its outer boundary, also an island lying inside
/// another island (an invalid polygon: "holes are nested"). A hatch fills by odd parity, so
/// such an inner island is filled again: it becomes a polygon of its own, with the islands
/// inside it as its holes. `None` when no hole lies inside another, or when a hole is not
/// inside the exterior (then the rings are left as they are for the validator to judge).
fn nest_islands(rings: &[Vec<Coord<f64>>]) -> Option<Vec<Polygon<f64>>> {
    if rings.len() < 3 {
        return None;
    }
    let closed: Vec<LineString<f64>> = rings
        .iter()
        .map(|r| {
            let mut ring = LineString(r.clone());
            ring.close();
            ring
        })
        .collect();
    let boxes: Vec<Rect<f64>> = closed
        .iter()
        .map(|r| r.bounding_rect())
        .collect::<Option<_>>()?;
    let areas: Vec<f64> = closed
        .iter()
        .map(|r| Polygon::new(r.clone(), vec![]).unsigned_area())
        .collect();
    // Hatch boundaries do not cross, so the first vertex off the other ring decides.
    let inside = |i: usize, j: usize| {
        let (a, b) = (boxes[i], boxes[j]);
        a.min().x >= b.min().x
            && a.min().y >= b.min().y
            && a.max().x <= b.max().x
            && a.max().y <= b.max().y
            && closed[i]
                .0
                .iter()
                .map(|c| coord_pos_relative_to_ring(*c, &closed[j]))
                .find(|p| *p != CoordPos::OnBoundary)
                == Some(CoordPos::Inside)
    };
    let holes = 1..closed.len();
    if holes.clone().any(|h| !inside(h, 0)) {
        return None;
    }
    // Each hole's parent: the smallest other hole around it, else the exterior (0).
    let parent: Vec<usize> = (0..closed.len())
        .map(|i| {
            holes
                .clone()
                .filter(|&j| j != i && i != 0 && areas[j] > areas[i] && inside(i, j))
                .min_by(|&a, &b| areas[a].total_cmp(&areas[b]))
                .unwrap_or(0)
        })
        .collect();
    if parent.iter().skip(1).all(|&p| p == 0) {
        return None;
    }
    // Parents are strictly larger, so following them ends at the exterior.
    let depth = |mut i: usize| {
        let mut d = 0;
        while i != 0 && d < closed.len() {
            i = parent[i];
            d += 1;
        }
        d
    };
    let shells = (0..closed.len()).filter(|&i| depth(i).is_multiple_of(2));
    Some(
        shells
            .map(|s| {
                let own_holes = holes
                    .clone()
                    .filter(|&h| parent[h] == s)
                    .map(|h| closed[h].clone())
                    .collect();
                Polygon::new(closed[s].clone(), own_holes)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Validation;

    fn square(x: f64, y: f64, size: f64) -> Vec<Coord<f64>> {
        [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]
            .iter()
            .map(|&(dx, dy)| Coord {
                x: x + dx * size,
                y: y + dy * size,
            })
            .collect()
    }

    #[test]
    fn islands_in_islands_are_filled_by_odd_parity() {
        // Squares of side 10, 8, 6 and 2, each inside the previous, written by GDAL as an
        // exterior with three sibling holes.
        let rings = vec![
            square(0.0, 0.0, 10.0),
            square(1.0, 1.0, 8.0),
            square(2.0, 2.0, 6.0),
            square(4.0, 4.0, 2.0),
        ];
        let parts = nest_islands(&rings).expect("nested islands");
        assert_eq!(parts.len(), 2);
        // 100 − 64, then 36 − 4.
        assert!((parts[0].unsigned_area() - 36.0).abs() < 1e-9);
        assert!((parts[1].unsigned_area() - 32.0).abs() < 1e-9);
        assert!(
            parts
                .iter()
                .all(|p| p.is_valid() && p.interiors().len() == 1)
        );
    }

    #[test]
    fn sibling_islands_and_foreign_rings_are_left_alone() {
        let siblings = vec![
            square(0.0, 0.0, 10.0),
            square(1.0, 1.0, 2.0),
            square(5.0, 5.0, 2.0),
        ];
        assert!(nest_islands(&siblings).is_none());
        // A "hole" outside the exterior is the validator's business.
        let outside = vec![
            square(0.0, 0.0, 10.0),
            square(1.0, 1.0, 8.0),
            square(20.0, 0.0, 2.0),
        ];
        assert!(nest_islands(&outside).is_none());
    }
}
