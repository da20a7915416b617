//! Reading GeoPackage, Shapefile, FileGDB, DXF and KML through the system GDAL.
//!
//! GDAL objects are not `Send`: everything here runs on the calling thread and hands back plain
//! Rust data ([`RawLayer`]). Text attributes are decoded by GDAL; a Shapefile without `.cpg`
//! whose bytes are not UTF-8 comes back with U+FFFD, and is then re-read as GBK (CP936), the
//! encoding of Chinese office data, with a note in the report.

use std::cell::RefCell;
use std::path::Path;
use std::sync::Once;

use gdal::vector::{FieldValue, Geometry, LayerAccess, OGRFieldType, OGRwkbGeometryType};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use geo::Coord;

use super::{ImportError, RawFeature, RawLayer};
use crate::crs::Crs;
use crate::crs::gk::GkZone;
use crate::geometry::validate::RawGeom;
use crate::layer::{Field, FieldType, Value};

thread_local! {
    // GDAL reports data errors (a corrupt .shp record, a bad DXF entity) through its error
    // handler rather than through return values; they are collected here per thread.
    static GDAL_ERRORS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

static INIT: Once = Once::new();

/// Routes GDAL's error messages into the thread's collector and the log instead of stderr.
pub fn init_gdal() {
    INIT.call_once(|| {
        gdal::config::set_error_handler(|class, _code, msg| {
            use gdal::errors::CplErrType;
            let msg = msg.trim().to_string();
            match class {
                CplErrType::Failure | CplErrType::Fatal | CplErrType::Warning => {
                    tracing::debug!(target: "gdal", "{msg}");
                    GDAL_ERRORS.with(|e| e.borrow_mut().push(msg));
                }
                _ => tracing::trace!(target: "gdal", "{msg}"),
            }
        });
    });
}

fn take_gdal_errors() -> Vec<String> {
    GDAL_ERRORS.with(|e| std::mem::take(&mut *e.borrow_mut()))
}

/// GDAL driver short names lantu reads, by format name used in reports.
pub fn driver_for(format: &str) -> Option<&'static str> {
    Some(match format {
        "GeoPackage" => "GPKG",
        "Shapefile" => "ESRI Shapefile",
        "FileGDB" => "OpenFileGDB",
        "DXF" => "DXF",
        "KML" => "KML",
        "GeoJSON" => "GeoJSON",
        "FlatGeobuf" => "FlatGeobuf",
        _ => return None,
    })
}

fn open(path: &Path, driver: &str, options: &[&str]) -> Result<Dataset, ImportError> {
    init_gdal();
    take_gdal_errors();
    let drivers = [driver];
    Dataset::open_ex(
        path,
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
            allowed_drivers: Some(&drivers),
            open_options: if options.is_empty() {
                None
            } else {
                Some(options)
            },
            sibling_files: None,
        },
    )
    .map_err(|e| {
        let detail = take_gdal_errors().join("; ");
        ImportError::Unreadable {
            path: path.to_path_buf(),
            reason: if detail.is_empty() {
                e.to_string()
            } else {
                format!("{e} ({detail})")
            },
        }
    })
}

/// The CRS a GDAL layer declares: an EPSG code when GDAL knows one, a CGCS2000 Gauss–Krüger
/// zone recognised from its parameters (ESRI `.prj` files carry no code), otherwise the WKT.
pub fn crs_of(srs: &gdal::spatial_ref::SpatialRef) -> Option<Crs> {
    if let (Some(name), Ok(code)) = (srs.auth_name(), srs.auth_code())
        && name.eq_ignore_ascii_case("EPSG")
        && let Ok(code) = u32::try_from(code)
    {
        return Some(Crs::Epsg(code));
    }
    let mut probe = srs.clone();
    if probe.auto_identify_epsg().is_ok()
        && let (Some(name), Ok(code)) = (probe.auth_name(), probe.auth_code())
        && name.eq_ignore_ascii_case("EPSG")
        && let Ok(code) = u32::try_from(code)
    {
        return Some(Crs::Epsg(code));
    }
    if srs.is_projected()
        && let Some(code) = cgcs2000_gk_code(srs)
    {
        return Some(Crs::Epsg(code));
    }
    if srs.is_geographic()
        && let Some(code) = geographic_code(srs)
    {
        return Some(Crs::Epsg(code));
    }
    srs.to_wkt().ok().map(Crs::Definition)
}

/// WGS84 and CGCS2000 longitude/latitude written without an authority (ESRI `.prj`).
fn geographic_code(srs: &gdal::spatial_ref::SpatialRef) -> Option<u32> {
    let wkt = srs.to_wkt().ok()?.to_ascii_uppercase();
    let a = srs.semi_major().ok()?;
    let inv_f = {
        let b = srs.semi_minor().ok()?;
        a / (a - b)
    };
    if (a - 6_378_137.0).abs() > 1e-3 {
        return None;
    }
    let named = |names: &[&str]| names.iter().any(|n| wkt.contains(n));
    if named(&["WGS_1984", "WGS 84", "WGS84"]) && (inv_f - 298.257_223_563).abs() < 1e-6 {
        Some(4326)
    } else if named(&["CGCS", "CHINA_2000", "CHINA 2000"]) && (inv_f - 298.257_222_101).abs() < 1e-6
    {
        Some(4490)
    } else {
        None
    }
}

/// Recognises a CGCS2000 transverse Mercator by its parameters.
fn cgcs2000_gk_code(srs: &gdal::spatial_ref::SpatialRef) -> Option<u32> {
    let wkt = srs.to_wkt().ok()?.to_ascii_uppercase();
    let cgcs = wkt.contains("CGCS") || wkt.contains("CHINA_2000") || wkt.contains("CHINA 2000");
    let tm = wkt.contains("TRANSVERSE_MERCATOR")
        || wkt.contains("TRANSVERSE MERCATOR")
        || wkt.contains("GAUSS");
    if !cgcs || !tm {
        return None;
    }
    let cm = srs.get_proj_param("central_meridian").ok()??;
    let fe = srs.get_proj_param("false_easting").ok()??;
    let scale = srs
        .get_proj_param("scale_factor")
        .ok()
        .flatten()
        .unwrap_or(1.0);
    if (scale - 1.0).abs() > 1e-9 {
        return None;
    }
    let codes = (4491..=4554).filter_map(GkZone::from_epsg);
    let matching: Vec<GkZone> = codes
        .filter(|z| (z.central_meridian - cm).abs() < 1e-9 && (z.false_easting - fe).abs() < 1e-3)
        .collect();
    // A 3° and a 6° zone can share CM and FE (e.g. CM 111°E unprefixed): the same projection.
    matching.first().map(|z| z.epsg)
}

fn ring_coords(g: &gdal::vector::GeometryRef<'_>) -> Vec<Coord<f64>> {
    let mut pts = Vec::with_capacity(g.point_count());
    g.get_points(&mut pts);
    pts.into_iter().map(|(x, y, _)| Coord { x, y }).collect()
}

fn owned_ring_coords(g: &Geometry) -> Vec<Coord<f64>> {
    let mut pts = Vec::with_capacity(g.point_count());
    g.get_points(&mut pts);
    pts.into_iter().map(|(x, y, _)| Coord { x, y }).collect()
}

fn polygon_rings(g: &gdal::vector::GeometryRef<'_>) -> Vec<Vec<Coord<f64>>> {
    (0..g.geometry_count())
        .map(|i| ring_coords(&g.get_geometry(i)))
        .collect()
}

/// Converts a GDAL geometry to raw rings/lines/points, keeping rings exactly as stored.
pub fn raw_geom(g: &Geometry) -> Result<Option<RawGeom>, String> {
    if g.is_empty() {
        return Ok(None);
    }
    let ty = gdal::vector::geometry_type_flatten(g.geometry_type());
    Ok(Some(match ty {
        OGRwkbGeometryType::wkbPolygon => RawGeom::Polygons(vec![
            (0..g.geometry_count())
                .map(|i| ring_coords(&g.get_geometry(i)))
                .collect(),
        ]),
        OGRwkbGeometryType::wkbMultiPolygon => RawGeom::Polygons(
            (0..g.geometry_count())
                .map(|i| polygon_rings(&g.get_geometry(i)))
                .collect(),
        ),
        OGRwkbGeometryType::wkbLineString | OGRwkbGeometryType::wkbLinearRing => {
            RawGeom::Lines(vec![owned_ring_coords(g)])
        }
        OGRwkbGeometryType::wkbMultiLineString => RawGeom::Lines(
            (0..g.geometry_count())
                .map(|i| ring_coords(&g.get_geometry(i)))
                .collect(),
        ),
        OGRwkbGeometryType::wkbPoint => {
            let (x, y, _) = g.get_point(0);
            RawGeom::Points(vec![Coord { x, y }])
        }
        OGRwkbGeometryType::wkbMultiPoint => RawGeom::Points(
            (0..g.geometry_count())
                .map(|i| {
                    let (x, y, _) = g.get_geometry(i).get_point(0);
                    Coord { x, y }
                })
                .collect(),
        ),
        OGRwkbGeometryType::wkbGeometryCollection => {
            // Mixed collections (KML MultiGeometry, DXF blocks): keep the polygons if any,
            // else the lines, else the points.
            let mut polys = Vec::new();
            let mut lines = Vec::new();
            let mut points = Vec::new();
            for i in 0..g.geometry_count() {
                let part = g.get_geometry(i);
                let owned = part.to_owned();
                match raw_geom(&owned)? {
                    Some(RawGeom::Polygons(p)) => polys.extend(p),
                    Some(RawGeom::Lines(l)) => lines.extend(l),
                    Some(RawGeom::Points(p)) => points.extend(p),
                    None => {}
                }
            }
            if !polys.is_empty() {
                RawGeom::Polygons(polys)
            } else if !lines.is_empty() {
                RawGeom::Lines(lines)
            } else if !points.is_empty() {
                RawGeom::Points(points)
            } else {
                return Ok(None);
            }
        }
        other => {
            return Err(format!(
                "geometry type {} is not supported (curves must be converted to lines first)",
                gdal::vector::geometry_type_to_name(other)
            ));
        }
    }))
}

fn field_type(ty: OGRFieldType::Type) -> FieldType {
    match ty {
        OGRFieldType::OFTInteger | OGRFieldType::OFTInteger64 => FieldType::Int,
        OGRFieldType::OFTReal => FieldType::Real,
        OGRFieldType::OFTDate | OGRFieldType::OFTDateTime => FieldType::Date,
        _ => FieldType::Text,
    }
}

fn value(v: Option<FieldValue>) -> Value {
    match v {
        None => Value::Null,
        Some(FieldValue::IntegerValue(i)) => Value::Int(i64::from(i)),
        Some(FieldValue::Integer64Value(i)) => Value::Int(i),
        Some(FieldValue::RealValue(r)) => Value::Real(r),
        Some(FieldValue::StringValue(s)) => Value::Text(s),
        Some(FieldValue::DateValue(d)) => Value::Text(d.format("%Y-%m-%d").to_string()),
        Some(FieldValue::DateTimeValue(d)) => Value::Text(d.format("%Y-%m-%d").to_string()),
        Some(FieldValue::IntegerListValue(l)) => Value::Text(format!("{l:?}")),
        Some(FieldValue::Integer64ListValue(l)) => Value::Text(format!("{l:?}")),
        Some(FieldValue::RealListValue(l)) => Value::Text(format!("{l:?}")),
        Some(FieldValue::StringListValue(l)) => Value::Text(l.join(",")),
    }
}

/// Layer names of a multi-layer source.
pub fn layer_names(path: &Path, format: &str) -> Result<Vec<String>, ImportError> {
    let driver = driver_for(format).ok_or_else(|| ImportError::UnsupportedFormat {
        path: path.to_path_buf(),
        reason: format!("{format} is not read through GDAL"),
    })?;
    let ds = open(path, driver, &[])?;
    Ok(ds.layers().map(|l| l.name()).collect())
}

/// Reads one layer of a GDAL-readable source.
pub fn read(
    path: &Path,
    format: &str,
    source_layer: Option<&str>,
    encoding: Option<&str>,
) -> Result<RawLayer, ImportError> {
    let driver = driver_for(format).ok_or_else(|| ImportError::UnsupportedFormat {
        path: path.to_path_buf(),
        reason: format!("{format} is not read through GDAL"),
    })?;
    let is_shp = format == "Shapefile";
    let explicit = encoding.map(|e| format!("ENCODING={e}"));
    let mut options: Vec<&str> = Vec::new();
    if let (true, Some(opt)) = (is_shp, explicit.as_deref()) {
        options.push(opt);
    }
    let mut raw = read_once(path, driver, format, source_layer, &options)?;
    if is_shp {
        raw.encoding = encoding.map(str::to_string);
        let has_cpg = path.with_extension("cpg").exists() || path.with_extension("CPG").exists();
        if encoding.is_none() && raw.has_replacement_chars() {
            // No declaration, and the bytes are not UTF-8: Chinese office data is GBK.
            let retry = read_once(path, driver, format, source_layer, &["ENCODING=CP936"])?;
            if !retry.has_replacement_chars() {
                raw = retry;
                raw.encoding = Some("GBK".to_string());
                raw.warnings.push(if has_cpg {
                    "the .cpg declaration does not match the attribute bytes: read as GBK (CP936)"
                        .to_string()
                } else {
                    "no .cpg and the attribute text is not UTF-8: read as GBK (CP936)".to_string()
                });
            } else {
                raw.warnings.push(
                    "attribute text could not be decoded as UTF-8 or GBK: declare `encoding`"
                        .to_string(),
                );
            }
        }
    }
    Ok(raw)
}

fn read_once(
    path: &Path,
    driver: &str,
    format: &str,
    source_layer: Option<&str>,
    options: &[&str],
) -> Result<RawLayer, ImportError> {
    let ds = open(path, driver, options)?;
    let mut layer = match source_layer {
        Some(name) => ds.layer_by_name(name).map_err(|_| {
            let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
            ImportError::NoSuchLayer {
                path: path.to_path_buf(),
                layer: name.to_string(),
                available: names,
            }
        })?,
        None => {
            if ds.layer_count() == 0 {
                return Err(ImportError::Empty {
                    path: path.to_path_buf(),
                });
            }
            if ds.layer_count() > 1 && format != "DXF" && format != "KML" {
                let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
                return Err(ImportError::AmbiguousLayer {
                    path: path.to_path_buf(),
                    available: names,
                });
            }
            ds.layer(0).map_err(|e| ImportError::Unreadable {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?
        }
    };
    let crs = layer.spatial_ref().as_ref().and_then(crs_of);
    let fields: Vec<Field> = layer
        .defn()
        .fields()
        .map(|f| Field {
            name: f.name(),
            ty: field_type(f.field_type()),
        })
        .collect();
    let mut features = Vec::new();
    let mut warnings = Vec::new();
    for (pos, feature) in layer.features().enumerate() {
        let fid = feature
            .fid()
            .and_then(|f| i64::try_from(f).ok())
            .unwrap_or(pos as i64);
        let mut attrs = Vec::with_capacity(fields.len());
        for i in 0..fields.len() {
            attrs.push(value(feature.field(i).ok().flatten()));
        }
        let errors = take_gdal_errors();
        let (geom, geom_error) = match feature.geometry() {
            Some(g) => match raw_geom(g) {
                Ok(r) => (r, None),
                Err(e) => (None, Some(e)),
            },
            None => (None, None),
        };
        let problem = geom_error.or_else(|| {
            if errors.is_empty() {
                None
            } else {
                Some(errors.join("; "))
            }
        });
        features.push(RawFeature {
            fid,
            geom,
            attrs,
            problem,
        });
    }
    let trailing = take_gdal_errors();
    if !trailing.is_empty() {
        warnings.push(format!("GDAL: {}", trailing.join("; ")));
    }
    Ok(RawLayer {
        format: format.to_string(),
        fields,
        features,
        crs,
        encoding: None,
        warnings,
    })
}
