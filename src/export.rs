//! Writing layers back out in the formats desktop GIS and offices open: GeoPackage (working CRS),
//! Shapefile with GBK attributes and a `.cpg` (working CRS), GeoJSON in CGCS2000 lon/lat
//! (EPSG:4490, declared with a `crs` member so lantu and QGIS read it back without guessing).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use gdal::vector::{Feature as GdalFeature, LayerAccess, LayerOptions, OGRFieldType, ToGdal};
use gdal::{DriverManager, spatial_ref::SpatialRef};
use serde_json::{Map, Value as Json, json};
use thiserror::Error;

use crate::crs::{Crs, CrsError, CrsSource, ResolvedCrs, Transformer};
use crate::layer::{FieldType, Geom, GeomKind, LayerData, Value};

#[derive(Debug, Error)]
pub enum ExportError {
    #[error("GDAL while writing {path}: {reason}")]
    Gdal { path: PathBuf, reason: String },
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Crs(#[from] CrsError),
    #[error("unknown export format `{0}` (gpkg, shp, geojson)")]
    Format(String),
    #[error("{path} exists; refusing to overwrite")]
    Exists { path: PathBuf },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    GeoPackage,
    Shapefile,
    GeoJson,
}

impl FromStr for ExportFormat {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "gpkg" | "geopackage" => Ok(ExportFormat::GeoPackage),
            "shp" | "shapefile" => Ok(ExportFormat::Shapefile),
            "geojson" | "json" => Ok(ExportFormat::GeoJson),
            other => Err(ExportError::Format(other.to_string())),
        }
    }
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::GeoPackage => "gpkg",
            ExportFormat::Shapefile => "shp",
            ExportFormat::GeoJson => "geojson",
        }
    }
}

/// Extra columns written before the layer's own attributes.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Write the feature id as this column when it is not already an attribute.
    pub id_column: Option<String>,
    /// Write the raw class code as this column when it is not already an attribute.
    pub class_column: Option<String>,
    /// Append `cls_name` and `cls_cons` (construction: yes / no / conditional / unknown), the
    /// class as lantu's code tables read it in this system — for desktop GIS and for the PostGIS
    /// comparison, which must prefilter classes exactly as the reconcile rules do.
    pub class_flags: Option<String>,
}

fn gdal_err(path: &Path) -> impl Fn(gdal::errors::GdalError) -> ExportError + '_ {
    move |e| ExportError::Gdal {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Writes `layer` (in `working`) to `path` in `format`.
pub fn write(
    layer: &LayerData,
    working: &Crs,
    format: ExportFormat,
    path: &Path,
    layer_name: &str,
    options: &ExportOptions,
) -> Result<(), ExportError> {
    if path.exists() {
        return Err(ExportError::Exists {
            path: path.to_path_buf(),
        });
    }
    match format {
        ExportFormat::GeoJson => write_geojson(layer, working, path, options),
        ExportFormat::GeoPackage => write_gdal(layer, working, path, "GPKG", layer_name, options),
        ExportFormat::Shapefile => {
            write_gdal(layer, working, path, "ESRI Shapefile", layer_name, options)
        }
    }
}

fn ogr_type(ty: FieldType) -> OGRFieldType::Type {
    match ty {
        FieldType::Text => OGRFieldType::OFTString,
        FieldType::Int => OGRFieldType::OFTInteger64,
        FieldType::Real => OGRFieldType::OFTReal,
        FieldType::Date => OGRFieldType::OFTDate,
    }
}

fn to_geo(g: &Geom) -> geo::Geometry<f64> {
    match g {
        Geom::Polygon(p) => geo::Geometry::MultiPolygon(p.clone()),
        Geom::Line(l) => geo::Geometry::MultiLineString(l.clone()),
        Geom::Point(p) => geo::Geometry::MultiPoint(p.clone()),
    }
}

/// Columns to write: (name, type, source) where source picks id, class or attribute `i`.
enum Column {
    Id,
    Class,
    Attr(usize),
    ClassName,
    ClassConstruction,
}

fn columns(layer: &LayerData, options: &ExportOptions) -> Vec<(String, FieldType, Column)> {
    let mut cols = Vec::new();
    if let Some(name) = &options.id_column
        && layer.field_index(name).is_none()
    {
        cols.push((name.clone(), FieldType::Text, Column::Id));
    }
    if let Some(name) = &options.class_column
        && layer.field_index(name).is_none()
    {
        cols.push((name.clone(), FieldType::Text, Column::Class));
    }
    for (i, f) in layer.fields.iter().enumerate() {
        cols.push((f.name.clone(), f.ty, Column::Attr(i)));
    }
    if options.class_flags.is_some() {
        cols.push(("cls_name".to_string(), FieldType::Text, Column::ClassName));
        cols.push((
            "cls_cons".to_string(),
            FieldType::Text,
            Column::ClassConstruction,
        ));
    }
    cols
}

/// The value of a column for a feature.
fn cell(
    f: &crate::layer::Feature,
    col: &Column,
    system: Option<&crate::codes::CodeSystem>,
) -> Value {
    let classify = || match (system, f.class.as_deref()) {
        (Some(s), Some(c)) => Some(s.classify(c)),
        _ => None,
    };
    match col {
        Column::Id => Value::Text(f.id.clone()),
        Column::Class => f.class.clone().map(Value::Text).unwrap_or(Value::Null),
        Column::Attr(a) => f.attrs.get(*a).cloned().unwrap_or(Value::Null),
        Column::ClassName => classify()
            .map(|c| Value::Text(c.name))
            .unwrap_or(Value::Null),
        Column::ClassConstruction => Value::Text(
            match classify().map(|c| c.flags.construction) {
                Some(crate::codes::Construction::Yes) => "yes",
                Some(crate::codes::Construction::No) => "no",
                Some(crate::codes::Construction::Conditional) => "conditional",
                _ => "unknown",
            }
            .to_string(),
        ),
    }
}

fn system_of(options: &ExportOptions) -> Option<&'static crate::codes::CodeSystem> {
    options
        .class_flags
        .as_deref()
        .and_then(|s| crate::codes::CodeTables::builtin().system(s).ok())
}

fn write_gdal(
    layer: &LayerData,
    working: &Crs,
    path: &Path,
    driver: &str,
    layer_name: &str,
    options: &ExportOptions,
) -> Result<(), ExportError> {
    crate::import::gdal_reader::init_gdal();
    let err = gdal_err(path);
    let drv = DriverManager::get_driver_by_name(driver).map_err(&err)?;
    let mut ds = drv.create_vector_only(path).map_err(&err)?;
    let srs = match working {
        Crs::Epsg(code) => SpatialRef::from_epsg(*code).map_err(&err)?,
        Crs::Definition(d) => SpatialRef::from_definition(d).map_err(&err)?,
        Crs::Gcj02 => return Err(CrsError::WorkingNotProjected(working.to_string()).into()),
    };
    let ty = match layer.kind {
        GeomKind::Polygon => gdal::vector::OGRwkbGeometryType::wkbMultiPolygon,
        GeomKind::Line => gdal::vector::OGRwkbGeometryType::wkbMultiLineString,
        GeomKind::Point => gdal::vector::OGRwkbGeometryType::wkbMultiPoint,
    };
    let shp = driver == "ESRI Shapefile";
    let cols = columns(layer, options);
    let system = system_of(options);
    if shp {
        write_features(
            &mut ds, layer, &cols, system, &srs, ty, layer_name, true, path,
        )?;
    } else {
        // GeoPackage writes are orders of magnitude faster inside one transaction.
        let mut txn = ds.start_transaction().map_err(&err)?;
        write_features(
            &mut txn, layer, &cols, system, &srs, ty, layer_name, false, path,
        )?;
        txn.commit().map_err(&err)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn write_features(
    ds: &mut gdal::Dataset,
    layer: &LayerData,
    cols: &[(String, FieldType, Column)],
    system: Option<&crate::codes::CodeSystem>,
    srs: &SpatialRef,
    ty: gdal::vector::OGRwkbGeometryType::Type,
    layer_name: &str,
    gbk: bool,
    path: &Path,
) -> Result<(), ExportError> {
    let err = gdal_err(path);
    let shp_options = ["ENCODING=GBK"];
    let out = ds
        .create_layer(LayerOptions {
            name: layer_name,
            srs: Some(srs),
            ty,
            options: if gbk { Some(&shp_options) } else { None },
        })
        .map_err(&err)?;
    let defs: Vec<(&str, OGRFieldType::Type)> = cols
        .iter()
        .map(|(n, t, _)| (n.as_str(), ogr_type(*t)))
        .collect();
    out.create_defn_fields(&defs).map_err(&err)?;
    for f in &layer.features {
        let mut feature = GdalFeature::new(out.defn()).map_err(&err)?;
        feature
            .set_geometry(to_geo(&f.geom).to_gdal().map_err(&err)?)
            .map_err(&err)?;
        for (i, (_, ty, col)) in cols.iter().enumerate() {
            let v = cell(f, col, system);
            match (v, ty) {
                (Value::Null, _) => feature.set_field_null(i).map_err(&err)?,
                (Value::Int(x), _) => feature.set_field_integer64(i, x).map_err(&err)?,
                (Value::Real(x), _) => feature.set_field_double(i, x).map_err(&err)?,
                (Value::Text(s), FieldType::Date) => {
                    let date = chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|t| t.and_utc().fixed_offset());
                    match date {
                        Some(dt) => feature.set_field_datetime(i, dt).map_err(&err)?,
                        None => feature.set_field_string(i, &s).map_err(&err)?,
                    }
                }
                (Value::Text(s), _) => feature.set_field_string(i, &s).map_err(&err)?,
            }
        }
        feature.create(&out).map_err(&err)?;
    }
    Ok(())
}

fn json_value(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Int(i) => json!(i),
        Value::Real(r) => json!(r),
        Value::Text(s) => json!(s),
    }
}

/// Coordinates in EPSG:4490, at full precision so a round trip through GeoJSON keeps areas.
fn lonlat(t: &Transformer, c: geo::Coord<f64>) -> Result<Json, CrsError> {
    let p = t.point(c)?;
    Ok(json!([p.x, p.y]))
}

fn ring_json(t: &Transformer, r: &geo::LineString<f64>) -> Result<Json, CrsError> {
    Ok(Json::Array(
        r.0.iter()
            .map(|c| lonlat(t, *c))
            .collect::<Result<_, _>>()?,
    ))
}

/// A geometry as a GeoJSON geometry object in EPSG:4490 lon/lat.
pub fn geometry_json(g: &Geom, t: &Transformer) -> Result<Json, CrsError> {
    Ok(match g {
        Geom::Polygon(mp) => json!({
            "type": "MultiPolygon",
            "coordinates": mp.0.iter().map(|p| {
                std::iter::once(p.exterior()).chain(p.interiors())
                    .map(|r| ring_json(t, r)).collect::<Result<Vec<_>, _>>()
            }).collect::<Result<Vec<_>, _>>()?,
        }),
        Geom::Line(ml) => json!({
            "type": "MultiLineString",
            "coordinates": ml.0.iter().map(|l| ring_json(t, l)).collect::<Result<Vec<_>, _>>()?,
        }),
        Geom::Point(mp) => json!({
            "type": "MultiPoint",
            "coordinates": mp.0.iter().map(|p| lonlat(t, p.0)).collect::<Result<Vec<_>, _>>()?,
        }),
    })
}

/// A transformer from the working CRS to CGCS2000 lon/lat.
pub fn to_lonlat(working: &Crs) -> Result<Transformer, CrsError> {
    Transformer::new(
        &ResolvedCrs {
            crs: working.clone(),
            swapped: false,
            source: CrsSource::Declared,
        },
        &Crs::Epsg(4490),
    )
}

fn write_geojson(
    layer: &LayerData,
    working: &Crs,
    path: &Path,
    options: &ExportOptions,
) -> Result<(), ExportError> {
    let t = to_lonlat(working)?;
    let cols = columns(layer, options);
    let system = system_of(options);
    let mut features = Vec::with_capacity(layer.features.len());
    for f in &layer.features {
        let mut props = Map::new();
        for (name, _, col) in &cols {
            props.insert(name.clone(), json_value(&cell(f, col, system)));
        }
        features.push(json!({
            "type": "Feature",
            "id": f.id,
            "properties": props,
            "geometry": geometry_json(&f.geom, &t)?,
        }));
    }
    let doc = json!({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
        "features": features,
    });
    let text = serde_json::to_string(&doc).map_err(|e| ExportError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(path, text).map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })
}
