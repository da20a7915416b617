//! Candidate sites from what planners upload: GeoJSON (geometry, Feature, FeatureCollection),
//! zipped Shapefile, DXF, KML or a 界址点 TXT with one or many parcels — through the importer,
//! with the site policy on top: no silent repair (a self-intersecting boundary is an error that
//! says where), a vertex cap, and the site must lie in the district.

use std::path::Path;

use geo::{BoundingRect, Intersects};
use thiserror::Error;

use super::Site;
use crate::blueprint::{Blueprint, LayerSpec};
use crate::geometry::validate::RepairPolicy;
use crate::import::{self, ImportError};
use crate::layer::{GeomKind, LayerData, LayerRole};

/// Default cap on the vertices of one site (a parcel boundary has tens to a few thousand).
pub const MAX_SITE_VERTICES: usize = 20_000;

#[derive(Debug, Error)]
pub enum SiteError {
    #[error("{0}")]
    Import(#[from] ImportError),
    #[error("site {id}: {vertices} vertices, more than the {max} a site may have")]
    TooManyVertices {
        id: String,
        vertices: usize,
        max: usize,
    },
    #[error(
        "site {id} lies outside the district of blueprint {blueprint} (its extent is \
         x {x0:.0}–{x1:.0}, y {y0:.0}–{y1:.0} in {crs}): check the CRS declaration"
    )]
    OutsideDistrict {
        id: String,
        blueprint: String,
        crs: String,
        x0: f64,
        y0: f64,
        x1: f64,
        y1: f64,
    },
    #[error("the upload holds no site polygon")]
    NoSite,
    #[error("site id field `{0}` is not in the upload")]
    NoIdField(String),
    #[error("site {id}: {reason}")]
    Invalid { id: String, reason: String },
}

/// Fields that commonly hold a site's own id, tried in order when none is named.
const ID_FIELDS: [&str; 6] = ["地块编号", "DKBH", "id", "BH", "BSM", "name"];

/// Picks the id field: the one asked for, else the first common one present.
fn id_field(raw: &import::RawLayer, options: &SiteOptions) -> Result<Option<String>, SiteError> {
    if let Some(f) = &options.id_field {
        return if raw.fields.iter().any(|x| x.name.eq_ignore_ascii_case(f)) {
            Ok(Some(f.clone()))
        } else {
            Err(SiteError::NoIdField(f.clone()))
        };
    }
    Ok(ID_FIELDS.iter().find_map(|c| {
        raw.fields
            .iter()
            .find(|x| x.name.eq_ignore_ascii_case(c))
            .map(|x| x.name.clone())
    }))
}

/// Reads, checks and reprojects an upload under the site policy.
fn normalise_site(
    raw: import::RawLayer,
    path: &Path,
    bp: &Blueprint,
    options: &SiteOptions,
) -> Result<LayerData, SiteError> {
    let mut spec = spec(options);
    spec.id_field = id_field(&raw, options)?;
    match import::normalise(raw, &spec, path, &bp.crs) {
        Ok((data, _)) => Ok(data),
        Err(ImportError::Rejected { report, .. }) => {
            let first = report.rejected.first();
            Err(SiteError::Invalid {
                id: first.map(|r| r.id.clone()).unwrap_or_default(),
                reason: first.map(|r| r.reason.clone()).unwrap_or_default(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// How to read an upload.
#[derive(Debug, Clone, Default)]
pub struct SiteOptions {
    /// CRS of the upload when it does not carry one (GCJ02 for web-map drawings).
    pub crs: Option<String>,
    /// Field holding each site's id (layers of many sites).
    pub id_field: Option<String>,
    /// Field holding each site's name.
    pub name_field: Option<String>,
    pub max_vertices: Option<usize>,
}

fn spec(options: &SiteOptions) -> LayerSpec {
    let mut spec = LayerSpec::new("site", LayerRole::Site);
    spec.kind = Some(GeomKind::Polygon);
    spec.crs = options.crs.clone();
    spec.id_field = options.id_field.clone();
    // A site boundary goes into a contract: nothing is repaired behind the user's back.
    spec.repair = RepairPolicy::Strict;
    spec
}

fn sites_from(
    layer: LayerData,
    bp: &Blueprint,
    options: &SiteOptions,
) -> Result<Vec<Site>, SiteError> {
    let max = options.max_vertices.unwrap_or(MAX_SITE_VERTICES);
    let name_field = options
        .name_field
        .as_deref()
        .or(Some("地块名称"))
        .and_then(|f| layer.field_index(f))
        .or_else(|| layer.field_index("name"))
        .or_else(|| layer.field_index("Name"));
    let mut out = Vec::with_capacity(layer.features.len());
    for f in layer.features {
        let vertices = f.geom.vertex_count();
        if vertices > max {
            return Err(SiteError::TooManyVertices {
                id: f.id,
                vertices,
                max,
            });
        }
        let Some(mp) = f.geom.as_polygons().cloned() else {
            continue;
        };
        if let Some(extent) = district_extent(bp) {
            let inside_extent = mp.bounding_rect().is_some_and(|r| r.intersects(&extent));
            let inside_boundary = match bp.by_role(LayerRole::Boundary).next() {
                Some(b) if inside_extent => b
                    .index
                    .candidates(&mp.bounding_rect().unwrap_or(extent))
                    .any(|i| {
                        b.data.features[i]
                            .geom
                            .as_polygons()
                            .is_some_and(|p| p.intersects(&mp))
                    }),
                _ => inside_extent,
            };
            if !inside_boundary {
                return Err(SiteError::OutsideDistrict {
                    id: f.id,
                    blueprint: bp.label(),
                    crs: bp.meta.crs.clone(),
                    x0: extent.min().x,
                    y0: extent.min().y,
                    x1: extent.max().x,
                    y1: extent.max().y,
                });
            }
        }
        let name = name_field
            .and_then(|i| f.attrs.get(i))
            .map(|v| v.to_string())
            .unwrap_or_default();
        out.push(Site {
            id: f.id,
            name,
            geometry: mp,
        });
    }
    if out.is_empty() {
        return Err(SiteError::NoSite);
    }
    Ok(out)
}

fn district_extent(bp: &Blueprint) -> Option<geo::Rect<f64>> {
    bp.by_role(LayerRole::Boundary)
        .next()
        .and_then(|b| b.data.bounding_rect())
        .or(bp.extent)
}

/// Reads sites from a file (GeoJSON, zip, DXF, KML, TXT, GPKG, SHP).
pub fn read_file(
    path: &Path,
    bp: &Blueprint,
    options: &SiteOptions,
) -> Result<Vec<Site>, SiteError> {
    let scratch = std::env::temp_dir();
    let (raw, _) = import::read_source(path, &spec(options), &scratch)?;
    let data = normalise_site(raw, path, bp, options)?;
    sites_from(data, bp, options)
}

/// Reads sites from GeoJSON bytes (a geometry, a Feature or a FeatureCollection).
pub fn read_geojson(
    bytes: &[u8],
    bp: &Blueprint,
    options: &SiteOptions,
) -> Result<Vec<Site>, SiteError> {
    let origin = Path::new("site.geojson");
    let raw = import::geojson_reader::parse(bytes, origin)?;
    let data = normalise_site(raw, origin, bp, options)?;
    sites_from(data, bp, options)
}
