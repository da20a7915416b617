//! 界址点坐标 TXT files (land-approval boundary coordinates) as a layer: one polygon feature per
//! parcel, with the parcel header's fields as attributes.

use std::path::Path;

use super::jzd_txt::{self, AxisOrder, Datum, JzdFile};
use super::{ImportError, RawFeature, RawLayer};
use crate::crs::Crs;
use crate::crs::gk::GkZone;
use crate::geometry::validate::RawGeom;
use crate::layer::{Field, FieldType, Value};

/// The CRS a TXT header declares, judged together with the coordinates it holds: the header's
/// 带号 says which zone, the eastings say whether they carry the prefix.
pub fn header_crs(file: &JzdFile) -> Result<Option<Crs>, String> {
    let swapped = file.looks_swapped();
    let eastings = file
        .parcels
        .iter()
        .flat_map(|p| p.rings.iter())
        .flat_map(|r| r.points.iter())
        .map(|p| if swapped { p.x } else { p.y });
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for e in eastings {
        min = min.min(e);
        max = max.max(e);
    }
    let Some(zone) = file.header.zone else {
        return Ok(None);
    };
    let width = file.header.zone_width.unwrap_or(3);
    let prefixed = min >= 1.0e6;
    match &file.header.datum {
        Datum::Cgcs2000 => {
            let z = GkZone::from_prefix(zone, width)
                .ok_or_else(|| format!("带号 {zone} is not a CGCS2000 {width}° zone near China"))?;
            if prefixed {
                let expected = f64::from(zone) * 1.0e6;
                if min < expected || max >= expected + 1.0e6 {
                    return Err(format!(
                        "the eastings ({min:.0}..{max:.0}) do not carry the header's 带号 {zone}"
                    ));
                }
                Ok(Some(Crs::Epsg(z.epsg)))
            } else {
                Ok(Some(Crs::Epsg(z.unprefixed_epsg())))
            }
        }
        Datum::Xian80 | Datum::Beijing54 => Err(format!(
            "the coordinates are in {}: converting them to CGCS2000 needs the office's \
             7-parameter transformation, which the file does not give; convert the file, or \
             declare its CRS explicitly to accept PROJ's approximate transformation",
            match file.header.datum {
                Datum::Xian80 => "80西安坐标系",
                _ => "54北京坐标系",
            }
        )),
        Datum::Unknown(name) if name.is_empty() => Ok(None),
        Datum::Unknown(name) => Err(format!("unknown 坐标系 `{name}` in the header")),
    }
}

fn text(s: &str) -> Value {
    if s.trim().is_empty() {
        Value::Null
    } else {
        Value::Text(s.trim().to_string())
    }
}

/// Converts a parsed TXT file into a raw layer; `declared` skips the header's CRS.
pub fn to_raw(file: &JzdFile, path: &Path, declared: bool) -> Result<RawLayer, ImportError> {
    let crs = if declared {
        None
    } else {
        header_crs(file).map_err(|reason| ImportError::Invalid {
            path: path.to_path_buf(),
            reason,
        })?
    };
    let order = if file.looks_swapped() {
        AxisOrder::EastNorth
    } else {
        AxisOrder::NorthEast
    };
    let fields = [
        ("地块编号", FieldType::Text),
        ("地块名称", FieldType::Text),
        ("图形属性", FieldType::Text),
        ("图幅号", FieldType::Text),
        ("地块用途", FieldType::Text),
        ("地类编码", FieldType::Text),
        ("点数", FieldType::Int),
        ("申报面积", FieldType::Real),
    ]
    .into_iter()
    .map(|(n, ty)| Field {
        name: n.to_string(),
        ty,
    })
    .collect();
    let mut warnings: Vec<String> = file.warnings.iter().map(|w| w.to_string()).collect();
    if order == AxisOrder::EastNorth {
        warnings.push("X holds eastings and Y northings (swapped columns): read as such".into());
    }
    let mut features = Vec::with_capacity(file.parcels.len());
    for (i, p) in file.parcels.iter().enumerate() {
        let (geom, problem) = match p.to_multipolygon(order) {
            Ok(mp) => (Some(RawGeom::from_multipolygon(&mp)), None),
            Err(e) => (None, Some(e.to_string())),
        };
        features.push(RawFeature {
            fid: i as i64 + 1,
            geom,
            attrs: vec![
                text(&p.id),
                text(&p.name),
                text(&p.shape),
                text(&p.sheet),
                text(&p.usage),
                text(&p.class_code),
                p.declared_points
                    .map(|n| Value::Int(n as i64))
                    .unwrap_or(Value::Null),
                p.declared_area.map(Value::Real).unwrap_or(Value::Null),
            ],
            problem,
        });
    }
    Ok(RawLayer {
        format: "界址点TXT".to_string(),
        fields,
        features,
        crs,
        encoding: None,
        warnings,
    })
}

pub fn read(path: &Path, declared: bool) -> Result<RawLayer, ImportError> {
    let bytes = std::fs::read(path).map_err(|e| ImportError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let file = jzd_txt::parse(&bytes).map_err(|e| ImportError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    to_raw(&file, path, declared)
}
