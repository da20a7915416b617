//! CAD drawings (DXF) to polygons.
//!
//! GDAL's DXF driver (3.6) gives HATCHes as polygons but closed LWPOLYLINEs as line strings, and
//! parcel outlines drawn as loose LINE/ARC pieces as many small lines. Here: hatches stay
//! polygons, closed line strings become polygons, and the remaining lines are polygonised
//! ([`super::polygonize`]). TEXT entities inside a polygon become its `label` (a drawing's
//! 地块编码), so `id_field = "label"` keeps the CAD numbering. DXF carries no CRS: it must be
//! declared, or the coordinates must be recognisable Gauss–Krüger values.

use std::path::Path;

use geo::{Contains, Coord, LineString, Point, Polygon};

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
        polygon: Polygon<f64>,
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
                    let mut rings = rings.iter().map(|r| LineString(r.clone()));
                    if let Some(ext) = rings.next() {
                        shapes.push(Shape {
                            polygon: Polygon::new(ext, rings.collect()),
                            cad_layer: cad_layer.clone(),
                            entity: entity.clone(),
                        });
                    }
                }
            }
            Some(RawGeom::Lines(lines)) => {
                for line in lines {
                    let closed = line.len() >= 4 && line.first() == line.last();
                    if closed {
                        shapes.push(Shape {
                            polygon: Polygon::new(LineString(line.clone()), vec![]),
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
                polygon,
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
                .filter(|(p, _)| s.polygon.contains(p))
                .map(|(_, t)| t.as_str())
                .collect();
            let geom = RawGeom::Polygons(vec![
                std::iter::once(s.polygon.exterior())
                    .chain(s.polygon.interiors())
                    .map(|r| r.0.clone())
                    .collect(),
            ]);
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
