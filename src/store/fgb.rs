//! A layer version as a FlatGeobuf file: the immutable, content-addressed unit of the store.
//!
//! Columns: `_id` (the source id), `_class` (the raw class code, nullable), then the source
//! attributes. Features keep their import order (no Hilbert sort) so the same content always
//! gives the same bytes and the same hash. Reading decodes the flatbuffer coordinate arrays and
//! property bytes directly: this is the path that loads a 100 000-parcel layer in a fraction of a
//! second.

use std::io::{Read, Write};

use flatgeobuf::{
    ColumnType, FallibleStreamingIterator, FgbCrs, FgbReader, FgbWriter, FgbWriterOptions,
    GeometryType,
};
use geo::{Coord, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};
use geozero::{ColumnValue, PropertyProcessor};
use thiserror::Error;

use crate::layer::{Feature, Field, FieldType, Geom, GeomKind, LayerData, Value};

#[derive(Debug, Error)]
pub enum FgbError {
    #[error("FlatGeobuf: {0}")]
    Format(String),
    #[error("FlatGeobuf I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("FlatGeobuf feature {index}: {reason}")]
    Feature { index: usize, reason: String },
}

impl From<flatgeobuf::Error> for FgbError {
    fn from(e: flatgeobuf::Error) -> Self {
        FgbError::Format(e.to_string())
    }
}

impl From<geozero::error::GeozeroError> for FgbError {
    fn from(e: geozero::error::GeozeroError) -> Self {
        FgbError::Format(e.to_string())
    }
}

const ID_COLUMN: &str = "_id";
const CLASS_COLUMN: &str = "_class";

fn column_type(ty: FieldType) -> ColumnType {
    match ty {
        FieldType::Text => ColumnType::String,
        FieldType::Int => ColumnType::Long,
        FieldType::Real => ColumnType::Double,
        FieldType::Date => ColumnType::DateTime,
    }
}

fn field_type(ty: ColumnType) -> Option<FieldType> {
    match ty {
        ColumnType::String | ColumnType::Json => Some(FieldType::Text),
        ColumnType::Byte
        | ColumnType::UByte
        | ColumnType::Bool
        | ColumnType::Short
        | ColumnType::UShort
        | ColumnType::Int
        | ColumnType::UInt
        | ColumnType::Long
        | ColumnType::ULong => Some(FieldType::Int),
        ColumnType::Float | ColumnType::Double => Some(FieldType::Real),
        ColumnType::DateTime => Some(FieldType::Date),
        _ => None,
    }
}

fn to_geo(geom: &Geom) -> geo::Geometry<f64> {
    match geom {
        Geom::Polygon(p) => geo::Geometry::MultiPolygon(p.clone()),
        Geom::Line(l) => geo::Geometry::MultiLineString(l.clone()),
        Geom::Point(p) => geo::Geometry::MultiPoint(p.clone()),
    }
}

/// Serialises a layer to FlatGeobuf bytes. `epsg` is written into the header.
pub fn write_layer(layer: &LayerData, epsg: u32, out: impl Write) -> Result<(), FgbError> {
    let geometry_type = match layer.kind {
        GeomKind::Polygon => GeometryType::MultiPolygon,
        GeomKind::Line => GeometryType::MultiLineString,
        GeomKind::Point => GeometryType::MultiPoint,
    };
    let options = FgbWriterOptions {
        write_index: false,
        detect_type: false,
        promote_to_multi: true,
        crs: FgbCrs {
            code: i32::try_from(epsg).unwrap_or(0),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut writer = FgbWriter::create_with_options("layer", geometry_type, options)?;
    writer.add_column(ID_COLUMN, ColumnType::String, |_, col| col.nullable = false);
    writer.add_column(CLASS_COLUMN, ColumnType::String, |_, col| {
        col.nullable = true
    });
    for field in &layer.fields {
        writer.add_column(&field.name, column_type(field.ty), |_, col| {
            col.nullable = true
        });
    }
    for (index, feature) in layer.features.iter().enumerate() {
        let geometry = to_geo(&feature.geom);
        let mut failure: Option<String> = None;
        writer.add_feature_geom(geometry, |w| {
            let mut put = |i: usize, name: &str, v: &ColumnValue| {
                if let Err(e) = w.property(i, name, v) {
                    failure.get_or_insert_with(|| e.to_string());
                }
            };
            put(0, ID_COLUMN, &ColumnValue::String(&feature.id));
            if let Some(class) = &feature.class {
                put(1, CLASS_COLUMN, &ColumnValue::String(class));
            }
            for (fi, (field, value)) in layer.fields.iter().zip(&feature.attrs).enumerate() {
                let col = fi + 2;
                match (value, field.ty) {
                    (Value::Null, _) => {}
                    (Value::Int(v), _) => put(col, &field.name, &ColumnValue::Long(*v)),
                    (Value::Real(v), _) => put(col, &field.name, &ColumnValue::Double(*v)),
                    (Value::Text(s), FieldType::Date) => {
                        put(col, &field.name, &ColumnValue::DateTime(s))
                    }
                    (Value::Text(s), _) => put(col, &field.name, &ColumnValue::String(s)),
                }
            }
        })?;
        if let Some(reason) = failure {
            return Err(FgbError::Feature { index, reason });
        }
    }
    writer.write(out)?;
    Ok(())
}

/// Little-endian reader over a feature's property bytes.
struct Props<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Props<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn fixed<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).and_then(|b| b.try_into().ok())
    }
}

fn decode_value(p: &mut Props<'_>, ty: ColumnType) -> Option<Value> {
    Some(match ty {
        ColumnType::Bool | ColumnType::UByte => Value::Int(i64::from(p.fixed::<1>()?[0])),
        ColumnType::Byte => Value::Int(i64::from(i8::from_le_bytes(p.fixed::<1>()?))),
        ColumnType::Short => Value::Int(i64::from(i16::from_le_bytes(p.fixed::<2>()?))),
        ColumnType::UShort => Value::Int(i64::from(u16::from_le_bytes(p.fixed::<2>()?))),
        ColumnType::Int => Value::Int(i64::from(i32::from_le_bytes(p.fixed::<4>()?))),
        ColumnType::UInt => Value::Int(i64::from(u32::from_le_bytes(p.fixed::<4>()?))),
        ColumnType::Long => Value::Int(i64::from_le_bytes(p.fixed::<8>()?)),
        ColumnType::ULong => Value::Int(i64::try_from(u64::from_le_bytes(p.fixed::<8>()?)).ok()?),
        ColumnType::Float => Value::Real(f64::from(f32::from_le_bytes(p.fixed::<4>()?))),
        ColumnType::Double => Value::Real(f64::from_le_bytes(p.fixed::<8>()?)),
        ColumnType::String | ColumnType::Json | ColumnType::DateTime => {
            let len = p.u32()? as usize;
            Value::Text(String::from_utf8_lossy(p.take(len)?).into_owned())
        }
        ColumnType::Binary => {
            let len = p.u32()? as usize;
            p.take(len)?;
            Value::Null
        }
        _ => return None,
    })
}

fn coords(xy: &flatbuffers::Vector<'_, f64>, from: usize, to: usize) -> Vec<Coord<f64>> {
    (from..to)
        .map(|i| Coord {
            x: xy.get(2 * i),
            y: xy.get(2 * i + 1),
        })
        .collect()
}

fn decode_polygon(g: &flatgeobuf::Geometry<'_>) -> Option<Polygon<f64>> {
    let xy = g.xy()?;
    let n = xy.len() / 2;
    let ends: Vec<usize> = match g.ends() {
        Some(e) => e.iter().map(|v| v as usize).collect(),
        None => vec![n],
    };
    let mut rings = Vec::with_capacity(ends.len());
    let mut start = 0;
    for end in ends {
        if end > n || end < start {
            return None;
        }
        rings.push(LineString(coords(&xy, start, end)));
        start = end;
    }
    let mut rings = rings.into_iter();
    let exterior = rings.next()?;
    Some(Polygon::new(exterior, rings.collect()))
}

fn decode_lines(g: &flatgeobuf::Geometry<'_>) -> Option<Vec<LineString<f64>>> {
    let xy = g.xy()?;
    let n = xy.len() / 2;
    let ends: Vec<usize> = match g.ends() {
        Some(e) => e.iter().map(|v| v as usize).collect(),
        None => vec![n],
    };
    let mut out = Vec::with_capacity(ends.len());
    let mut start = 0;
    for end in ends {
        if end > n || end < start {
            return None;
        }
        out.push(LineString(coords(&xy, start, end)));
        start = end;
    }
    Some(out)
}

fn decode_geom(kind: GeomKind, g: &flatgeobuf::Geometry<'_>) -> Option<Geom> {
    match kind {
        GeomKind::Polygon => {
            let polys = match g.parts() {
                Some(parts) => parts
                    .iter()
                    .map(|p| decode_polygon(&p))
                    .collect::<Option<_>>()?,
                None => vec![decode_polygon(g)?],
            };
            Some(Geom::Polygon(MultiPolygon(polys)))
        }
        GeomKind::Line => {
            let lines = match g.parts() {
                Some(parts) => {
                    let mut all = Vec::new();
                    for p in parts.iter() {
                        all.extend(decode_lines(&p)?);
                    }
                    all
                }
                None => decode_lines(g)?,
            };
            Some(Geom::Line(MultiLineString(lines)))
        }
        GeomKind::Point => {
            let xy = g.xy()?;
            let n = xy.len() / 2;
            Some(Geom::Point(MultiPoint(
                coords(&xy, 0, n).into_iter().map(Point).collect(),
            )))
        }
    }
}

/// Reads a layer written by [`write_layer`] (or any FlatGeobuf with an `_id` column).
pub fn read_layer(reader: impl Read) -> Result<LayerData, FgbError> {
    let fgb = FgbReader::open(reader)?;
    let header = fgb.header();
    let kind = match header.geometry_type() {
        GeometryType::MultiPolygon | GeometryType::Polygon => GeomKind::Polygon,
        GeometryType::MultiLineString | GeometryType::LineString => GeomKind::Line,
        GeometryType::MultiPoint | GeometryType::Point => GeomKind::Point,
        other => {
            return Err(FgbError::Format(format!(
                "unsupported geometry type {other:?}"
            )));
        }
    };
    let columns: Vec<(String, ColumnType)> = header
        .columns()
        .map(|cols| {
            cols.iter()
                .map(|c| (c.name().to_string(), c.type_()))
                .collect()
        })
        .unwrap_or_default();
    let id_col = columns.iter().position(|(n, _)| n == ID_COLUMN);
    let class_col = columns.iter().position(|(n, _)| n == CLASS_COLUMN);
    // Attribute columns keep their order; `slot[col]` maps a column to its attribute position.
    let mut fields = Vec::new();
    let mut slot = vec![None; columns.len()];
    for (i, (name, ty)) in columns.iter().enumerate() {
        if Some(i) == id_col || Some(i) == class_col {
            continue;
        }
        let ty = field_type(*ty).ok_or_else(|| {
            FgbError::Format(format!("column `{name}` has unsupported type {ty:?}"))
        })?;
        slot[i] = Some(fields.len());
        fields.push(Field {
            name: name.clone(),
            ty,
        });
    }
    let count = header.features_count() as usize;
    let mut layer = LayerData::new(kind, fields);
    layer.features.reserve(count);
    let mut iter = fgb.select_all_seq()?;
    let mut index = 0usize;
    while let Some(feature) = iter.next()? {
        let fbs = feature.fbs_feature();
        let bad = |reason: &str| FgbError::Feature {
            index,
            reason: reason.to_string(),
        };
        let geometry = fbs.geometry().ok_or_else(|| bad("no geometry"))?;
        let geom = decode_geom(kind, &geometry).ok_or_else(|| bad("malformed geometry"))?;
        let mut attrs = vec![Value::Null; layer.fields.len()];
        let mut id = None;
        let mut class = None;
        if let Some(props) = fbs.properties() {
            let mut p = Props {
                buf: props.bytes(),
                pos: 0,
            };
            while p.pos < p.buf.len() {
                let col = p.u16().ok_or_else(|| bad("truncated properties"))? as usize;
                let (_, ty) = columns
                    .get(col)
                    .ok_or_else(|| bad("property of an unknown column"))?;
                let value = decode_value(&mut p, *ty).ok_or_else(|| bad("truncated property"))?;
                if Some(col) == id_col {
                    id = Some(value.to_string());
                } else if Some(col) == class_col {
                    class = value.as_text().map(str::to_string);
                } else if let Some(Some(s)) = slot.get(col) {
                    attrs[*s] = value;
                }
            }
        }
        layer.features.push(Feature {
            // Foreign files without `_id` get their 1-based position, like GDAL FIDs.
            id: id.unwrap_or_else(|| (index + 1).to_string()),
            class,
            geom,
            attrs,
        });
        index += 1;
    }
    Ok(layer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn sample() -> LayerData {
        let mut layer = LayerData::new(
            GeomKind::Polygon,
            vec![
                Field {
                    name: "DKMC".into(),
                    ty: FieldType::Text,
                },
                Field {
                    name: "RJL".into(),
                    ty: FieldType::Real,
                },
                Field {
                    name: "CS".into(),
                    ty: FieldType::Int,
                },
                Field {
                    name: "PFRQ".into(),
                    ty: FieldType::Date,
                },
            ],
        );
        let p1 =
            polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)];
        let p2 = polygon!(
            exterior: [(x: 20.0, y: 0.0), (x: 30.0, y: 0.0), (x: 30.0, y: 10.0), (x: 20.0, y: 10.0)],
            interiors: [[(x: 22.0, y: 2.0), (x: 22.0, y: 4.0), (x: 24.0, y: 4.0), (x: 24.0, y: 2.0)]],
        );
        layer.features.push(Feature {
            id: "A-01".into(),
            class: Some("R2".into()),
            geom: Geom::Polygon(MultiPolygon(vec![p1.clone()])),
            attrs: vec![
                Value::Text("东城一号地块".into()),
                Value::Real(2.5),
                Value::Int(18),
                Value::Text("2019-06-30".into()),
            ],
        });
        layer.features.push(Feature {
            id: "A-02".into(),
            class: None,
            geom: Geom::Polygon(MultiPolygon(vec![p1, p2])),
            attrs: vec![Value::Null, Value::Null, Value::Int(-3), Value::Null],
        });
        layer
    }

    #[test]
    fn round_trip_keeps_everything_and_is_deterministic() {
        let layer = sample();
        let mut a = Vec::new();
        write_layer(&layer, 4546, &mut a).expect("write");
        let mut b = Vec::new();
        write_layer(&layer, 4546, &mut b).expect("write again");
        assert_eq!(a, b, "same content must give the same bytes");
        let back = read_layer(a.as_slice()).expect("read");
        assert_eq!(back, layer);
    }
}
