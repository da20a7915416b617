//! Writing the sample in office formats: multi-layer GeoPackages, GBK Shapefiles (one without
//! `.cpg`, `.prj` or code page byte, as offices send them), GeoJSON in EPSG:4490, and the
//! blueprint manifest.

use std::fmt::Write as _;
use std::path::Path;

use gdal::DriverManager;
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{
    Feature as GdalFeature, FieldDefn, LayerAccess, LayerOptions, OGRFieldType, ToGdal,
};

use super::SampleError;
use crate::layer::{FieldType, Geom, GeomKind, LayerData, Value};

fn gdal_err(path: &Path) -> impl Fn(gdal::errors::GdalError) -> SampleError + '_ {
    move |e| SampleError::Gdal {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// The geometry as written: single-part when the whole layer is single-part (as most office
/// layers are typed), multi-part otherwise.
fn to_geo(g: &Geom, single: bool) -> geo::Geometry<f64> {
    match (g, single) {
        (Geom::Polygon(p), true) if p.0.len() == 1 => geo::Geometry::Polygon(p.0[0].clone()),
        (Geom::Line(l), true) if l.0.len() == 1 => geo::Geometry::LineString(l.0[0].clone()),
        (Geom::Point(p), true) if p.0.len() == 1 => geo::Geometry::Point(p.0[0]),
        (Geom::Polygon(p), _) => geo::Geometry::MultiPolygon(p.clone()),
        (Geom::Line(l), _) => geo::Geometry::MultiLineString(l.clone()),
        (Geom::Point(p), _) => geo::Geometry::MultiPoint(p.clone()),
    }
}

fn single_part(layer: &LayerData) -> bool {
    layer.features.iter().all(|f| match &f.geom {
        Geom::Polygon(p) => p.0.len() == 1,
        Geom::Line(l) => l.0.len() == 1,
        Geom::Point(p) => p.0.len() == 1,
    })
}

/// Writes several layers into one new GeoPackage in CRS `epsg`. No spatial index: the importer
/// reads sequentially and the index would double the file size.
pub fn gpkg(path: &Path, layers: &[(&str, &LayerData)], epsg: u32) -> Result<(), SampleError> {
    gdal_layers(path, "GPKG", layers, epsg)
}

/// Writes a GBK Shapefile (with `.cpg` and `.prj`; see [`strip_declarations`]) whose text fields
/// are as wide as their longest GBK value, as desktop GIS writes them.
pub fn shapefile(path: &Path, name: &str, layer: &LayerData, epsg: u32) -> Result<(), SampleError> {
    gdal_layers(path, "ESRI Shapefile", &[(name, layer)], epsg)
}

/// dBASE width and precision of a field from its values.
fn dbf_width(layer: &LayerData, i: usize) -> (i32, i32) {
    let values = layer.features.iter().filter_map(|f| f.attrs.get(i));
    match layer.fields[i].ty {
        FieldType::Text => {
            let w = values
                .filter_map(Value::as_text)
                .map(|s| encoding_rs::GBK.encode(s).0.len())
                .max()
                .unwrap_or(1);
            (w.clamp(1, 254) as i32, 0)
        }
        FieldType::Date => (8, 0),
        FieldType::Int => {
            let w = values
                .filter_map(Value::as_f64)
                .map(|v| format!("{v:.0}").len())
                .max()
                .unwrap_or(1);
            (w as i32 + 1, 0)
        }
        FieldType::Real => {
            let nums: Vec<f64> = values.filter_map(Value::as_f64).collect();
            let precision = (0..=3)
                .find(|p| {
                    let k = 10f64.powi(*p);
                    nums.iter().all(|v| ((v * k).round() - v * k).abs() < 1e-6)
                })
                .unwrap_or(3);
            let int = nums
                .iter()
                .map(|v| format!("{:.0}", v.abs().trunc()).len())
                .max()
                .unwrap_or(1);
            (int as i32 + precision + 2, precision)
        }
    }
}

fn gdal_layers(
    path: &Path,
    driver: &str,
    layers: &[(&str, &LayerData)],
    epsg: u32,
) -> Result<(), SampleError> {
    crate::import::gdal_reader::init_gdal();
    let err = gdal_err(path);
    if path.exists() {
        return Err(SampleError::Exists(path.to_path_buf()));
    }
    let shp = driver == "ESRI Shapefile";
    let drv = DriverManager::get_driver_by_name(driver).map_err(&err)?;
    let mut ds = drv.create_vector_only(path).map_err(&err)?;
    let srs = SpatialRef::from_epsg(epsg).map_err(&err)?;
    for (name, layer) in layers {
        use gdal::vector::OGRwkbGeometryType as T;
        let ty = match (layer.kind, single_part(layer)) {
            (GeomKind::Polygon, true) => T::wkbPolygon,
            (GeomKind::Line, true) => T::wkbLineString,
            (GeomKind::Point, true) => T::wkbPoint,
            (GeomKind::Polygon, false) => T::wkbMultiPolygon,
            (GeomKind::Line, false) => T::wkbMultiLineString,
            (GeomKind::Point, false) => T::wkbMultiPoint,
        };
        if shp {
            write_layer(&mut ds, path, name, layer, &srs, ty, true)?;
        } else {
            let mut txn = ds.start_transaction().map_err(&err)?;
            write_layer(&mut txn, path, name, layer, &srs, ty, false)?;
            txn.commit().map_err(&err)?;
        }
    }
    Ok(())
}

fn write_layer(
    target: &mut gdal::Dataset,
    path: &Path,
    name: &str,
    layer: &LayerData,
    srs: &SpatialRef,
    ty: gdal::vector::OGRwkbGeometryType::Type,
    shp: bool,
) -> Result<(), SampleError> {
    let err = gdal_err(path);
    let single = single_part(layer);
    let options: &[&str] = if shp {
        &["ENCODING=GBK"]
    } else {
        &["SPATIAL_INDEX=NO"]
    };
    {
        let out = target
            .create_layer(LayerOptions {
                name,
                srs: Some(srs),
                ty,
                options: Some(options),
            })
            .map_err(&err)?;
        for (i, f) in layer.fields.iter().enumerate() {
            let ty = match f.ty {
                FieldType::Text => OGRFieldType::OFTString,
                FieldType::Int => OGRFieldType::OFTInteger64,
                FieldType::Real => OGRFieldType::OFTReal,
                FieldType::Date => OGRFieldType::OFTDate,
            };
            let defn = FieldDefn::new(&f.name, ty).map_err(&err)?;
            if shp {
                let (w, p) = dbf_width(layer, i);
                defn.set_width(w);
                defn.set_precision(p);
            }
            defn.add_to_layer(&out).map_err(&err)?;
        }
        for f in &layer.features {
            let mut feature = GdalFeature::new(out.defn()).map_err(&err)?;
            feature
                .set_geometry(to_geo(&f.geom, single).to_gdal().map_err(&err)?)
                .map_err(&err)?;
            for (i, (v, field)) in f.attrs.iter().zip(&layer.fields).enumerate() {
                match (v, field.ty) {
                    (Value::Null, _) => feature.set_field_null(i).map_err(&err)?,
                    (Value::Int(x), _) => feature.set_field_integer64(i, *x).map_err(&err)?,
                    (Value::Real(x), _) => feature.set_field_double(i, *x).map_err(&err)?,
                    (Value::Text(s), FieldType::Date) => {
                        let date = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                            .ok()
                            .and_then(|d| d.and_hms_opt(0, 0, 0))
                            .map(|t| t.and_utc().fixed_offset());
                        match date {
                            Some(dt) => feature.set_field_datetime(i, dt).map_err(&err)?,
                            None => feature.set_field_string(i, s).map_err(&err)?,
                        }
                    }
                    (Value::Text(s), _) => feature.set_field_string(i, s).map_err(&err)?,
                }
            }
            feature.create(&out).map_err(&err)?;
        }
    }
    Ok(())
}

/// Strips a GBK Shapefile of every encoding and CRS declaration: no `.cpg`, no `.prj`, and a
/// zero code-page byte (offset 29 of the `.dbf`), as many office exports arrive.
pub fn strip_declarations(shp: &Path) -> Result<(), SampleError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SampleError::Io {
            path: path.clone(),
            source,
        }
    };
    for ext in ["cpg", "prj"] {
        let p = shp.with_extension(ext);
        if p.exists() {
            std::fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    let dbf = shp.with_extension("dbf");
    let mut bytes = std::fs::read(&dbf).map_err(io(&dbf))?;
    if let Some(b) = bytes.get_mut(29) {
        *b = 0;
    }
    std::fs::write(&dbf, bytes).map_err(io(&dbf))
}

/// The first line of a generated manifest: how the generator recognises its own output.
pub const MANIFEST_HEADER: &str =
    "# 阳东区 synthetic sample district, written by `lantu sample`. Do not edit: regenerate.";

/// One `[[layer]]` entry of the manifest.
pub struct ManifestLayer<'a> {
    pub id: &'a str,
    pub role: &'a str,
    pub title: &'a str,
    pub source: &'a str,
    pub source_layer: Option<&'a str>,
    pub id_field: Option<&'a str>,
    pub class: Option<(&'a str, &'a str)>,
    /// issuing_body, approval_no, approval_date, vintage.
    pub provenance: [Option<&'a str>; 4],
    pub fields: &'a [(&'a str, &'a str)],
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn inline(pairs: &[(&str, String)]) -> String {
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    format!("{{ {} }}", body.join(", "))
}

/// The manifest text: hand-laid TOML (inline tables, comments) that [`crate::blueprint::Manifest`]
/// parses.
pub fn manifest(name: &str, note: &str, layers: &[ManifestLayer]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MANIFEST_HEADER}");
    let _ = writeln!(
        out,
        "# Every name, number and approval reference is fictional (marked 样例); see README.md."
    );
    let _ = writeln!(out, "name = {}", q(name));
    let _ = writeln!(out, "crs = \"EPSG:4546\"");
    let _ = writeln!(out, "district = \"441704\"");
    let _ = writeln!(out, "note = {}", q(note));
    for l in layers {
        let _ = writeln!(out);
        let _ = writeln!(out, "[[layer]]");
        let _ = writeln!(out, "id = {}", q(l.id));
        let _ = writeln!(out, "role = {}", q(l.role));
        let _ = writeln!(out, "title = {}", q(l.title));
        let _ = writeln!(out, "source = {}", q(l.source));
        if let Some(s) = l.source_layer {
            let _ = writeln!(out, "source_layer = {}", q(s));
        }
        if let Some(s) = l.id_field {
            let _ = writeln!(out, "id_field = {}", q(s));
        }
        if let Some((field, system)) = l.class {
            let _ = writeln!(
                out,
                "class = {}",
                inline(&[("field", q(field)), ("system", q(system))])
            );
        }
        let keys = ["issuing_body", "approval_no", "approval_date", "vintage"];
        let prov: Vec<(&str, String)> = keys
            .iter()
            .zip(l.provenance.iter())
            .filter_map(|(k, v)| v.map(|v| (*k, q(v))))
            .collect();
        if !prov.is_empty() {
            let _ = writeln!(out, "provenance = {}", inline(&prov));
        }
        if !l.fields.is_empty() {
            let f: Vec<(&str, String)> = l.fields.iter().map(|(k, v)| (*k, q(v))).collect();
            let _ = writeln!(out, "fields = {}", inline(&f));
        }
    }
    out
}
