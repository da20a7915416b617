//! GeoJSON in all the shapes offices and web maps produce: a FeatureCollection, a single
//! Feature, a bare geometry, and the bare JSON arrays of Features that DataV.GeoAtlas publishes.
//!
//! RFC 7946 says longitude/latitude WGS84, but Chinese web-map exports are routinely GCJ-02: the
//! reader reports a CRS only when the file declares one (the old `crs` member); otherwise the
//! importer's CRS policy applies and lon/lat without a declaration is refused.

use std::path::Path;

use geo::Coord;
use geojson::{Feature, GeometryValue, Position};
use serde_json::Value as Json;

use super::{ImportError, RawFeature, RawLayer};
use crate::crs::Crs;
use crate::geometry::validate::RawGeom;
use crate::layer::{Field, FieldType, Value};

fn coord(p: &Position) -> Coord<f64> {
    let s = p.as_slice();
    Coord {
        x: s.first().copied().unwrap_or(f64::NAN),
        y: s.get(1).copied().unwrap_or(f64::NAN),
    }
}

fn ring(r: &[Position]) -> Vec<Coord<f64>> {
    r.iter().map(coord).collect()
}

/// Converts a GeoJSON geometry to raw rings, lines or points.
pub fn raw_geom(g: &GeometryValue) -> Result<Option<RawGeom>, String> {
    Ok(Some(match g {
        GeometryValue::Point { coordinates } => RawGeom::Points(vec![coord(coordinates)]),
        GeometryValue::MultiPoint { coordinates } => {
            RawGeom::Points(coordinates.iter().map(coord).collect())
        }
        GeometryValue::LineString { coordinates } => RawGeom::Lines(vec![ring(coordinates)]),
        GeometryValue::MultiLineString { coordinates } => {
            RawGeom::Lines(coordinates.iter().map(|l| ring(l)).collect())
        }
        GeometryValue::Polygon { coordinates } => {
            RawGeom::Polygons(vec![coordinates.iter().map(|r| ring(r)).collect()])
        }
        GeometryValue::MultiPolygon { coordinates } => RawGeom::Polygons(
            coordinates
                .iter()
                .map(|p| p.iter().map(|r| ring(r)).collect())
                .collect(),
        ),
        GeometryValue::GeometryCollection { geometries } => {
            let mut polys = Vec::new();
            let mut lines = Vec::new();
            let mut points = Vec::new();
            for part in geometries {
                match raw_geom(&part.value)? {
                    Some(RawGeom::Polygons(p)) => polys.extend(p),
                    Some(RawGeom::Lines(l)) => lines.extend(l),
                    Some(RawGeom::Points(p)) => points.extend(p),
                    None => {}
                }
            }
            match (polys.is_empty(), lines.is_empty(), points.is_empty()) {
                (false, true, true) => RawGeom::Polygons(polys),
                (true, false, true) => RawGeom::Lines(lines),
                (true, true, false) => RawGeom::Points(points),
                (true, true, true) => return Ok(None),
                _ => return Err("a GeometryCollection mixing kinds".to_string()),
            }
        }
    }))
}

/// The old-style (GeoJSON 2008) `crs` member, e.g. `urn:ogc:def:crs:EPSG::4546`.
fn declared_crs(root: &Json) -> Result<Option<Crs>, String> {
    let Some(crs) = root.get("crs") else {
        return Ok(None);
    };
    let name = crs
        .get("properties")
        .and_then(|p| p.get("name"))
        .and_then(Json::as_str)
        .ok_or_else(|| "the `crs` member has no properties.name".to_string())?;
    name.parse::<Crs>()
        .map(Some)
        .map_err(|e| format!("the `crs` member: {e}"))
}

fn json_value(v: &Json) -> (Value, Option<FieldType>) {
    match v {
        Json::Null => (Value::Null, None),
        Json::Bool(b) => (Value::Int(i64::from(*b)), Some(FieldType::Int)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => (Value::Int(i), Some(FieldType::Int)),
            None => (
                Value::Real(n.as_f64().unwrap_or(f64::NAN)),
                Some(FieldType::Real),
            ),
        },
        Json::String(s) => (Value::Text(s.clone()), Some(FieldType::Text)),
        other => (Value::Text(other.to_string()), Some(FieldType::Text)),
    }
}

/// Widens a field type to hold both kinds of value seen (Int + Real → Real, else Text).
fn widen(a: FieldType, b: FieldType) -> FieldType {
    match (a, b) {
        (x, y) if x == y => x,
        (FieldType::Int, FieldType::Real) | (FieldType::Real, FieldType::Int) => FieldType::Real,
        _ => FieldType::Text,
    }
}

fn convert(value: Value, ty: FieldType) -> Value {
    match (value, ty) {
        (Value::Int(i), FieldType::Real) => Value::Real(i as f64),
        (Value::Int(i), FieldType::Text) => Value::Text(i.to_string()),
        (Value::Real(r), FieldType::Text) => Value::Text(r.to_string()),
        (v, _) => v,
    }
}

/// Parses GeoJSON bytes into a raw layer.
pub fn parse(bytes: &[u8], origin: &Path) -> Result<RawLayer, ImportError> {
    let invalid = |reason: String| ImportError::Invalid {
        path: origin.to_path_buf(),
        reason,
    };
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|e| invalid(format!("GeoJSON must be UTF-8: {e}")))?;
    if text.trim().is_empty() {
        return Err(ImportError::Empty {
            path: origin.to_path_buf(),
        });
    }
    let root: Json = serde_json::from_str(text).map_err(|e| {
        invalid(format!(
            "malformed JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let crs = if root.is_object() {
        declared_crs(&root).map_err(invalid)?
    } else {
        None
    };
    // (position, feature JSON) pairs.
    let items: Vec<Json> = match &root {
        Json::Array(items) => items.clone(),
        Json::Object(o) => match o.get("type").and_then(Json::as_str) {
            Some("FeatureCollection") => match o.get("features") {
                Some(Json::Array(f)) => f.clone(),
                _ => return Err(invalid("a FeatureCollection without `features`".into())),
            },
            Some("Feature") => vec![root.clone()],
            Some(
                "Point" | "MultiPoint" | "LineString" | "MultiLineString" | "Polygon"
                | "MultiPolygon" | "GeometryCollection",
            ) => vec![serde_json::json!({"type": "Feature", "geometry": root, "properties": {}})],
            Some(other) => return Err(invalid(format!("unknown GeoJSON type `{other}`"))),
            None => return Err(invalid("a JSON object without a GeoJSON `type`".into())),
        },
        _ => return Err(invalid("not a GeoJSON object or array".into())),
    };
    if items.is_empty() {
        return Err(ImportError::Empty {
            path: origin.to_path_buf(),
        });
    }
    let mut fields: Vec<Field> = Vec::new();
    // (geometry, attributes by field index, the feature's own `id` member)
    type Parsed = (Option<RawGeom>, Vec<(usize, Value)>, Option<String>);
    let mut parsed: Vec<Parsed> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let item = if item.get("type").and_then(Json::as_str) == Some("Feature") {
            item
        } else if item.get("coordinates").is_some() || item.get("geometries").is_some() {
            serde_json::json!({"type": "Feature", "geometry": item, "properties": {}})
        } else {
            return Err(invalid(format!(
                "item {i} is neither a Feature nor a geometry"
            )));
        };
        let feature: Feature =
            serde_json::from_value(item).map_err(|e| invalid(format!("feature {i}: {e}")))?;
        let (geom, problem) = match &feature.geometry {
            Some(g) => match raw_geom(&g.value) {
                Ok(r) => (r, None),
                Err(e) => (None, Some(e)),
            },
            None => (None, None),
        };
        let mut values = Vec::new();
        if let Some(props) = &feature.properties {
            for (k, v) in props {
                let (value, ty) = json_value(v);
                let pos = match fields.iter().position(|f| f.name == *k) {
                    Some(p) => p,
                    None => {
                        fields.push(Field {
                            name: k.clone(),
                            ty: ty.unwrap_or(FieldType::Text),
                        });
                        fields.len() - 1
                    }
                };
                if let Some(ty) = ty {
                    fields[pos].ty = widen(fields[pos].ty, ty);
                }
                values.push((pos, value));
            }
        }
        if let Some(id) = &feature.id {
            let text = match id {
                geojson::feature::Id::String(s) => s.clone(),
                geojson::feature::Id::Number(n) => n.to_string(),
            };
            let pos = match fields.iter().position(|f| f.name == "id") {
                Some(p) => p,
                None => {
                    fields.push(Field {
                        name: "id".to_string(),
                        ty: FieldType::Text,
                    });
                    fields.len() - 1
                }
            };
            fields[pos].ty = widen(fields[pos].ty, FieldType::Text);
            values.push((pos, Value::Text(text)));
        }
        parsed.push((geom, values, problem));
    }
    let features = parsed
        .into_iter()
        .enumerate()
        .map(|(i, (geom, values, problem))| {
            let mut attrs = vec![Value::Null; fields.len()];
            for (pos, v) in values {
                attrs[pos] = convert(v, fields[pos].ty);
            }
            RawFeature {
                fid: i as i64 + 1,
                geom,
                attrs,
                problem,
            }
        })
        .collect();
    Ok(RawLayer {
        format: "GeoJSON".to_string(),
        fields,
        features,
        crs,
        encoding: None,
        warnings: Vec::new(),
    })
}

pub fn read(path: &Path) -> Result<RawLayer, ImportError> {
    let bytes = std::fs::read(path).map_err(|e| ImportError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    parse(&bytes, path)
}
