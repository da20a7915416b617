//! Reading office formats into layers: GeoPackage, Shapefile (GBK with or without `.cpg`),
//! FileGDB, GeoJSON (FeatureCollection, Feature, geometry, bare arrays), DXF, KML and the
//! 界址点 coordinate TXT; zipped Shapefiles and FileGDBs are unpacked safely first.
//!
//! Every import goes the same way: read raw rings and attributes ([`RawLayer`]) → establish the
//! CRS (declared, from the file, or detected; never guessed for lon/lat) → reproject to the
//! working CRS → validate and repair each feature ([`crate::geometry::validate`]) → map the id and
//! class fields → an [`ImportReport`] that names every repaired or rejected feature. Nothing is
//! dropped silently: with rejections the import fails unless the layer allows them.

pub mod archive;
pub mod dxf;
pub mod gdal_reader;
pub mod geojson_reader;
pub mod jzd_txt;
pub mod polygonize;
pub mod shapefile_check;
pub mod txt_reader;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use geo::{Coord, Rect};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::blueprint::spec::LayerSpec;
use crate::crs::{Crs, CrsError, CrsSource, ResolvedCrs, Transformer};
use crate::geometry::area;
use crate::geometry::validate::{RawGeom, Rejection, Repair, validate};
use crate::layer::{Feature, Field, GeomKind, LayerData, Value};
use crate::store::SourceInfo;

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{path}: file not found")]
    NotFound { path: PathBuf },
    #[error("{path}: the file is empty")]
    Empty { path: PathBuf },
    #[error("{path}: cannot read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path}: unsupported format: {reason}")]
    UnsupportedFormat { path: PathBuf, reason: String },
    #[error("{path}: shapefile is missing its {missing} sidecar file")]
    MissingSidecar { path: PathBuf, missing: String },
    #[error("{path}: {reason}")]
    Truncated { path: PathBuf, reason: String },
    #[error("{path}: no layer `{layer}` (available: {})", available.join(", "))]
    NoSuchLayer {
        path: PathBuf,
        layer: String,
        available: Vec<String>,
    },
    #[error("{path}: holds several layers ({}); name one with `source_layer`", available.join(", "))]
    AmbiguousLayer {
        path: PathBuf,
        available: Vec<String>,
    },
    #[error("{path}: field `{field}` (the {role}) is not in the source; its fields are: {}", available.join(", "))]
    NoSuchField {
        path: PathBuf,
        field: String,
        role: String,
        available: Vec<String>,
    },
    #[error("layer `{layer}`: {source}")]
    Crs {
        layer: String,
        #[source]
        source: CrsError,
    },
    #[error("layer `{layer}`: the source mixes geometry kinds ({kinds}); set `kind`")]
    MixedKinds { layer: String, kinds: String },
    #[error("layer `{layer}`: no features to import")]
    NoFeatures { layer: String },
    #[error("layer `{layer}`: duplicate feature ids in `{field}`: {}", ids.join(", "))]
    DuplicateIds {
        layer: String,
        field: String,
        ids: Vec<String>,
    },
    #[error(
        "layer `{layer}`: {count} features rejected (first: {first}); nothing was imported. Fix the source or set allow_rejects"
    )]
    Rejected {
        layer: String,
        count: usize,
        first: String,
        report: Box<ImportReport>,
    },
    #[error("archive {path}: {source}")]
    Archive {
        path: PathBuf,
        #[source]
        source: archive::ArchiveError,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// A feature as read, before CRS, validation and field mapping.
#[derive(Debug, Clone)]
pub struct RawFeature {
    /// The source's feature id (GDAL FID) or 1-based position.
    pub fid: i64,
    pub geom: Option<RawGeom>,
    pub attrs: Vec<Value>,
    /// A reader-level problem with this feature (a corrupt record, an unsupported geometry).
    pub problem: Option<String>,
}

/// A source layer as read.
#[derive(Debug, Clone)]
pub struct RawLayer {
    pub format: String,
    pub fields: Vec<Field>,
    pub features: Vec<RawFeature>,
    /// The CRS the file declares.
    pub crs: Option<Crs>,
    /// The text encoding used to decode attributes, when it had to be chosen.
    pub encoding: Option<String>,
    pub warnings: Vec<String>,
}

impl RawLayer {
    pub fn has_replacement_chars(&self) -> bool {
        self.features.iter().any(|f| {
            f.attrs
                .iter()
                .any(|v| v.as_text().is_some_and(|s| s.contains('\u{FFFD}')))
        })
    }

    fn bbox(&self) -> Option<Rect<f64>> {
        let mut it = self
            .features
            .iter()
            .filter_map(|f| f.geom.as_ref())
            .flat_map(|g| g.coords())
            .filter(|c| c.x.is_finite() && c.y.is_finite());
        let first = *it.next()?;
        let (mut x0, mut y0, mut x1, mut y1) = (first.x, first.y, first.x, first.y);
        for c in it {
            x0 = x0.min(c.x);
            y0 = y0.min(c.y);
            x1 = x1.max(c.x);
            y1 = y1.max(c.y);
        }
        Some(Rect::new(Coord { x: x0, y: y0 }, Coord { x: x1, y: y1 }))
    }
}

/// One repaired feature in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureRepairs {
    pub id: String,
    pub repairs: Vec<Repair>,
}

/// One rejected feature in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureRejection {
    pub id: String,
    pub reason: String,
}

/// A class code the code table does not know, with the features that carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnknownCode {
    pub code: String,
    pub count: usize,
    pub features: Vec<String>,
}

/// What an import did, feature by feature where it matters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub layer: String,
    pub source: String,
    pub format: String,
    pub crs: ResolvedCrs,
    pub working_crs: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    pub read: usize,
    pub imported: usize,
    pub kind: GeomKind,
    pub planar_area_m2: f64,
    pub ellipsoidal_area_m2: f64,
    pub repaired: Vec<FeatureRepairs>,
    pub rejected: Vec<FeatureRejection>,
    pub unknown_codes: Vec<UnknownCode>,
    pub warnings: Vec<String>,
}

impl ImportReport {
    /// Number of features whose geometry needed more than a ring reorientation.
    pub fn substantive_repairs(&self) -> usize {
        self.repaired
            .iter()
            .filter(|r| {
                r.repairs
                    .iter()
                    .any(|x| !matches!(x, Repair::Reoriented { .. }))
            })
            .count()
    }
}

/// A layer ready for the store.
#[derive(Debug, Clone)]
pub struct ImportedLayer {
    pub data: LayerData,
    pub report: ImportReport,
    pub source: SourceInfo,
}

/// Formats recognised by file name (and, for JSON and TXT, by content).
pub fn detect_format(path: &Path) -> Result<&'static str, ImportError> {
    if path.is_dir() {
        let name = path.to_string_lossy().to_ascii_lowercase();
        if name.trim_end_matches('/').ends_with(".gdb") {
            return Ok("FileGDB");
        }
        return Err(ImportError::UnsupportedFormat {
            path: path.to_path_buf(),
            reason: "a directory that is not a .gdb".to_string(),
        });
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    Ok(match ext.as_str() {
        "gpkg" => "GeoPackage",
        "shp" => "Shapefile",
        "geojson" | "json" => "GeoJSON",
        "dxf" => "DXF",
        "kml" => "KML",
        "txt" => "界址点TXT",
        "zip" => "ZIP",
        "fgb" => "FlatGeobuf",
        other => {
            return Err(ImportError::UnsupportedFormat {
                path: path.to_path_buf(),
                reason: format!(
                    "unknown extension `.{other}` (expected .gpkg, .shp, .gdb, .geojson/.json, \
                     .dxf, .kml, .txt, .zip)"
                ),
            });
        }
    })
}

/// SHA-256 over the source bytes; for a Shapefile, over all its sidecars in name order; for a
/// FileGDB directory, over its files in name order.
pub fn source_hash(path: &Path, format: &str) -> Result<String, ImportError> {
    let mut files: Vec<PathBuf> = Vec::new();
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = fs::read_dir(path)
            .map_err(|e| ImportError::Unreadable {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        entries.sort();
        files.extend(entries);
    } else if format == "Shapefile" {
        let stem = path.file_stem().map(|s| s.to_string_lossy().to_lowercase());
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut sidecars: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(|e| ImportError::Unreadable {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file() && p.file_stem().map(|s| s.to_string_lossy().to_lowercase()) == stem
            })
            .collect();
        sidecars.sort();
        files.extend(sidecars);
    } else {
        files.push(path.to_path_buf());
    }
    let mut hasher = Sha256::new();
    for f in files {
        let bytes = fs::read(&f).map_err(|e| ImportError::Unreadable {
            path: f.clone(),
            reason: e.to_string(),
        })?;
        if let Some(name) = f.file_name() {
            hasher.update(name.to_string_lossy().as_bytes());
        }
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Reads a source file into a raw layer, unpacking zips into `scratch`.
pub fn read_source(
    path: &Path,
    spec: &LayerSpec,
    scratch: &Path,
) -> Result<(RawLayer, String), ImportError> {
    if !path.exists() {
        return Err(ImportError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let format = detect_format(path)?;
    if path.is_file() {
        let len = fs::metadata(path)
            .map_err(|e| ImportError::Unreadable {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?
            .len();
        if len == 0 {
            return Err(ImportError::Empty {
                path: path.to_path_buf(),
            });
        }
    }
    let raw = match format {
        "ZIP" => {
            let dest = tempfile::tempdir_in(scratch).map_err(|e| ImportError::Unreadable {
                path: scratch.to_path_buf(),
                reason: e.to_string(),
            })?;
            let files = archive::extract_zip(path, dest.path(), archive::ArchiveLimits::default())
                .map_err(|source| ImportError::Archive {
                    path: path.to_path_buf(),
                    source,
                })?;
            let inner = pick_archive_member(path, dest.path(), &files)?;
            let (raw, fmt) = read_source(&inner, spec, scratch)?;
            // `dest` is removed here; the raw layer owns its data.
            return Ok((raw, format!("ZIP/{fmt}")));
        }
        "Shapefile" => {
            shapefile_check::check(path)?;
            gdal_reader::read(
                path,
                format,
                spec.source_layer.as_deref(),
                spec.encoding.as_deref(),
            )?
        }
        "GeoJSON" => geojson_reader::read(path)?,
        "DXF" => dxf::read(path, spec)?,
        "界址点TXT" => txt_reader::read(path, spec.crs.is_some())?,
        _ => gdal_reader::read(
            path,
            format,
            spec.source_layer.as_deref(),
            spec.encoding.as_deref(),
        )?,
    };
    Ok((raw, format.to_string()))
}

fn pick_archive_member(zip: &Path, root: &Path, files: &[PathBuf]) -> Result<PathBuf, ImportError> {
    let shps: Vec<&PathBuf> = files
        .iter()
        .filter(|f| {
            f.extension()
                .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("shp"))
        })
        .collect();
    let gdbs: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| {
            f.ancestors()
                .find(|a| a.to_string_lossy().to_ascii_lowercase().ends_with(".gdb"))
                .map(Path::to_path_buf)
        })
        .filter(|p| p.starts_with(root))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let others: Vec<&PathBuf> = files
        .iter()
        .filter(|f| {
            f.extension().is_some_and(|e| {
                matches!(
                    e.to_string_lossy().to_ascii_lowercase().as_str(),
                    "gpkg" | "geojson" | "json" | "dxf" | "kml" | "txt"
                )
            })
        })
        .collect();
    let candidates: Vec<PathBuf> = shps
        .into_iter()
        .cloned()
        .chain(gdbs)
        .chain(others.into_iter().cloned())
        .collect();
    match candidates.len() {
        1 => Ok(candidates.into_iter().next().unwrap_or_default()),
        0 => Err(ImportError::UnsupportedFormat {
            path: zip.to_path_buf(),
            reason: "the zip holds no .shp, .gdb, .gpkg, .geojson, .dxf, .kml or .txt".to_string(),
        }),
        _ => Err(ImportError::UnsupportedFormat {
            path: zip.to_path_buf(),
            reason: format!(
                "the zip holds several datasets ({}); zip one per layer",
                candidates
                    .iter()
                    .filter_map(|p| p.strip_prefix(root).ok())
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// Establishes the CRS of a raw layer: declared, from the file, or detected.
pub fn resolve_crs(
    raw: &RawLayer,
    declared: Option<&str>,
    working: &Crs,
    layer: &str,
) -> Result<(ResolvedCrs, Vec<String>), ImportError> {
    let crs_err = |source| ImportError::Crs {
        layer: layer.to_string(),
        source,
    };
    let mut warnings = Vec::new();
    let bbox = raw.bbox();
    let resolved = if let Some(d) = declared {
        let crs: Crs = d.parse().map_err(crs_err)?;
        if let Some(file) = &raw.crs
            && *file != crs
        {
            warnings.push(format!("declared CRS {crs} overrides the file's {file}"));
        }
        ResolvedCrs {
            crs,
            swapped: false,
            source: CrsSource::Declared,
        }
    } else if let Some(file) = &raw.crs {
        ResolvedCrs {
            crs: file.clone(),
            swapped: false,
            source: CrsSource::File,
        }
    } else {
        let bbox = bbox.ok_or_else(|| ImportError::NoFeatures {
            layer: layer.to_string(),
        })?;
        let r = crate::crs::detect(&bbox, working).map_err(crs_err)?;
        if let CrsSource::Detected { reason } = &r.source {
            warnings.push(format!("no CRS in the source: {reason}"));
        }
        r
    };
    let mut resolved = resolved;
    if !matches!(resolved.source, CrsSource::Detected { .. })
        && let Some(b) = &bbox
        && crate::crs::axes_look_swapped(b, &resolved.crs)
    {
        resolved.swapped = true;
        warnings.push(format!(
            "X holds northings and Y eastings although the CRS is {}: axes swapped",
            resolved.crs
        ));
    }
    Ok((resolved, warnings))
}

fn text_key(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Text(s) if s.trim().is_empty() => None,
        Value::Text(s) => Some(s.trim().to_string()),
        Value::Int(i) => Some(i.to_string()),
        // Ids and codes stored as reals (dBASE N fields) print without a trailing `.0`.
        Value::Real(r) if r.fract() == 0.0 && r.abs() < 1e15 => Some(format!("{}", *r as i64)),
        Value::Real(r) => Some(r.to_string()),
    }
}

fn field_pos(raw: &RawLayer, name: &str, role: &str, path: &Path) -> Result<usize, ImportError> {
    raw.fields
        .iter()
        .position(|f| f.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| ImportError::NoSuchField {
            path: path.to_path_buf(),
            field: name.to_string(),
            role: role.to_string(),
            available: raw.fields.iter().map(|f| f.name.clone()).collect(),
        })
}

/// Turns a raw layer into a validated layer in the working CRS, with its report.
pub fn normalise(
    raw: RawLayer,
    spec: &LayerSpec,
    path: &Path,
    working: &Crs,
) -> Result<(LayerData, ImportReport), ImportError> {
    let layer_id = spec.id.clone();
    let (resolved, mut warnings) = resolve_crs(&raw, spec.crs.as_deref(), working, &layer_id)?;
    warnings.extend(raw.warnings.iter().cloned());
    let transformer = Transformer::new(&resolved, working).map_err(|source| ImportError::Crs {
        layer: layer_id.clone(),
        source,
    })?;
    let zone = working.gk_zone().ok_or_else(|| ImportError::Crs {
        layer: layer_id.clone(),
        source: CrsError::WorkingNotProjected(working.to_string()),
    })?;

    let kind = match spec.kind {
        Some(k) => k,
        None => {
            let mut kinds: Vec<GeomKind> = raw
                .features
                .iter()
                .filter_map(|f| f.geom.as_ref().map(RawGeom::kind))
                .collect();
            kinds.sort_by_key(|k| *k as u8);
            kinds.dedup();
            match kinds.as_slice() {
                [] => {
                    return Err(ImportError::NoFeatures {
                        layer: layer_id.clone(),
                    });
                }
                [k] => *k,
                _ => {
                    return Err(ImportError::MixedKinds {
                        layer: layer_id.clone(),
                        kinds: kinds
                            .iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
            }
        }
    };

    let id_pos = spec
        .id_field
        .as_deref()
        .map(|f| field_pos(&raw, f, "id field", path))
        .transpose()?;
    let class_pos = spec
        .class
        .as_ref()
        .map(|c| field_pos(&raw, &c.field, "class field", path))
        .transpose()?;

    enum Outcome {
        Ok(Feature, Vec<Repair>),
        Rejected(String, String),
    }
    let outcomes: Vec<Outcome> = raw
        .features
        .par_iter()
        .map(|rf| {
            let id = match id_pos {
                Some(p) => rf.attrs.get(p).and_then(text_key),
                None => Some(rf.fid.to_string()),
            };
            let Some(id) = id else {
                return Outcome::Rejected(
                    format!("fid {}", rf.fid),
                    format!(
                        "empty id field `{}`",
                        spec.id_field.as_deref().unwrap_or_default()
                    ),
                );
            };
            if let Some(problem) = &rf.problem {
                return Outcome::Rejected(id, problem.clone());
            }
            let Some(geom) = &rf.geom else {
                return Outcome::Rejected(id, Rejection::Empty.to_string());
            };
            // Non-finite input must be caught before PROJ sees it.
            if let Err(rej) = crate::geometry::validate::check_finite(geom) {
                return Outcome::Rejected(id, rej.to_string());
            }
            let mut g = geom.clone();
            for c in g.coords_mut() {
                match transformer.point(*c) {
                    Ok(out) => *c = out,
                    Err(e) => return Outcome::Rejected(id, e.to_string()),
                }
            }
            match validate(&g, kind, spec.repair) {
                Ok(v) => {
                    let class = class_pos.and_then(|p| rf.attrs.get(p).and_then(text_key));
                    Outcome::Ok(
                        Feature {
                            id,
                            class,
                            geom: v.geom,
                            attrs: rf.attrs.clone(),
                        },
                        v.repairs,
                    )
                }
                Err(rej) => Outcome::Rejected(id, rej.to_string()),
            }
        })
        .collect();

    let mut data = LayerData::new(kind, raw.fields.clone());
    let mut repaired = Vec::new();
    let mut rejected = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Ok(f, repairs) => {
                if !repairs.is_empty() {
                    repaired.push(FeatureRepairs {
                        id: f.id.clone(),
                        repairs,
                    });
                }
                data.features.push(f);
            }
            Outcome::Rejected(id, reason) => rejected.push(FeatureRejection { id, reason }),
        }
    }

    if let (Some(field), Some(_)) = (spec.id_field.as_deref(), id_pos) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for f in &data.features {
            *seen.entry(f.id.as_str()).or_default() += 1;
        }
        let mut dups: Vec<String> = seen
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(id, n)| format!("{id} (×{n})"))
            .collect();
        if !dups.is_empty() {
            dups.sort();
            dups.truncate(10);
            return Err(ImportError::DuplicateIds {
                layer: layer_id,
                field: field.to_string(),
                ids: dups,
            });
        }
    }

    let unknown_codes = match &spec.class {
        Some(c) => unknown_codes(&data, &c.system, &mut warnings),
        None => Vec::new(),
    };

    let (planar, ellipsoidal) = match kind {
        GeomKind::Polygon => data
            .features
            .par_iter()
            .filter_map(|f| f.geom.as_polygons())
            .map(|p| {
                let a = area::areas(p, &zone);
                (a.planar_m2, a.ellipsoidal_m2)
            })
            .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1)),
        _ => (0.0, 0.0),
    };

    let report = ImportReport {
        layer: layer_id.clone(),
        source: path.display().to_string(),
        format: raw.format.clone(),
        crs: resolved,
        working_crs: working.to_string(),
        encoding: raw.encoding.clone(),
        read: raw.features.len(),
        imported: data.features.len(),
        kind,
        planar_area_m2: planar,
        ellipsoidal_area_m2: ellipsoidal,
        repaired,
        rejected,
        unknown_codes,
        warnings,
    };
    if data.features.is_empty() && report.rejected.is_empty() {
        return Err(ImportError::NoFeatures { layer: layer_id });
    }
    if !report.rejected.is_empty() && (!spec.allow_rejects || data.features.is_empty()) {
        let first = report
            .rejected
            .first()
            .map(|r| format!("feature {}: {}", r.id, r.reason))
            .unwrap_or_default();
        return Err(ImportError::Rejected {
            layer: layer_id,
            count: report.rejected.len(),
            first,
            report: Box::new(report),
        });
    }
    Ok((data, report))
}

/// Codes the layer's code system does not know, grouped by code.
fn unknown_codes(data: &LayerData, system: &str, warnings: &mut Vec<String>) -> Vec<UnknownCode> {
    let tables = crate::codes::CodeTables::builtin();
    let Ok(sys) = tables.system(system) else {
        warnings.push(format!(
            "class system `{system}` is not in the code tables: class codes were not checked"
        ));
        return Vec::new();
    };
    let mut unknown: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &data.features {
        let Some(code) = &f.class else { continue };
        let c = sys.classify(code);
        if c.status != crate::codes::ResolveStatus::Known {
            unknown.entry(code.clone()).or_default().push(f.id.clone());
        }
    }
    unknown
        .into_iter()
        .map(|(code, mut features)| {
            let count = features.len();
            features.truncate(20);
            UnknownCode {
                code,
                count,
                features,
            }
        })
        .collect()
}

/// Reads, validates and reprojects one layer of a blueprint.
pub fn import_layer(
    spec: &LayerSpec,
    base_dir: &Path,
    working: &Crs,
) -> Result<ImportedLayer, ImportError> {
    let path = base_dir.join(&spec.source);
    import_path(spec, &path, working)
}

/// Like [`import_layer`] with an explicit source path.
pub fn import_path(
    spec: &LayerSpec,
    path: &Path,
    working: &Crs,
) -> Result<ImportedLayer, ImportError> {
    let scratch = std::env::temp_dir();
    let (raw, format) = read_source(path, spec, &scratch)?;
    let inner_format = raw.format.clone();
    let encoding = raw.encoding.clone();
    let (data, mut report) = normalise(raw, spec, path, working)?;
    report.format = format.clone();
    let hash = source_hash(path, &inner_format)?;
    let name = if spec.source.is_empty() {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        spec.source.clone()
    };
    Ok(ImportedLayer {
        source: SourceInfo {
            name,
            hash,
            format,
            crs: report.crs.clone(),
            encoding,
        },
        data,
        report,
    })
}
