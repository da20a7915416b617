//! Blueprints: the manifest that describes one (TOML), importing it atomically into the store,
//! and loading a stored blueprint version into memory with one bulk-loaded R-tree per layer.

pub mod spec;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::crs::{Crs, CrsError, GkZone};
use crate::import::{ImportError, ImportReport, import_layer};
use crate::layer::{LayerData, LayerIndex, LayerRole};
use crate::overlay::Grid;
use crate::overlay::prepared::PreparedLayer;
use crate::store::{BlueprintVersion, LayerVersion, NewVersion, Store, StoreError};
pub use spec::{ClassSpec, LayerSpec, Provenance};

#[derive(Debug, Error)]
pub enum BlueprintError {
    #[error("manifest {path}: {reason}")]
    Manifest { path: PathBuf, reason: String },
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("working CRS: {0}")]
    Crs(#[from] CrsError),
    #[error("blueprint has no layer `{0}`")]
    NoLayer(String),
}

/// The declarative description of a blueprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    /// The working CRS every layer is reprojected to (a CGCS2000 Gauss–Krüger zone).
    #[serde(default = "default_crs")]
    pub crs: String,
    /// GB/T 2260 code of the district (e.g. `441704` for 阳东区).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    #[serde(rename = "layer", default)]
    pub layers: Vec<LayerSpec>,
    /// Reconciliation rules and checklist template (paths relative to the manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checklist: Option<String>,
}

fn default_crs() -> String {
    format!("EPSG:{}", crate::crs::DEFAULT_WORKING_EPSG)
}

impl Manifest {
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, BlueprintError> {
        let m: Manifest = toml::from_str(text).map_err(|e| BlueprintError::Manifest {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        m.check(path)?;
        Ok(m)
    }

    pub fn load(path: &Path) -> Result<Manifest, BlueprintError> {
        let text = std::fs::read_to_string(path).map_err(|e| BlueprintError::Manifest {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Manifest::parse(&text, path)
    }

    fn check(&self, path: &Path) -> Result<(), BlueprintError> {
        let bad = |reason: String| BlueprintError::Manifest {
            path: path.to_path_buf(),
            reason,
        };
        if self.name.trim().is_empty() {
            return Err(bad("`name` is empty".into()));
        }
        let crs: Crs = self.crs.parse().map_err(|e: CrsError| bad(e.to_string()))?;
        if crs.gk_zone().is_none() {
            return Err(bad(
                CrsError::WorkingNotProjected(self.crs.clone()).to_string()
            ));
        }
        if self.layers.is_empty() {
            return Err(bad("no [[layer]] entries".into()));
        }
        let mut seen = HashSet::new();
        for l in &self.layers {
            spec::check_layer_id(&l.id).map_err(&bad)?;
            if !seen.insert(l.id.as_str()) {
                return Err(bad(format!("layer id `{}` appears twice", l.id)));
            }
            if l.source.is_empty() {
                return Err(bad(format!("layer `{}` has no `source`", l.id)));
            }
        }
        Ok(())
    }

    pub fn working_crs(&self) -> Result<Crs, BlueprintError> {
        Ok(self.crs.parse()?)
    }

    /// Manifest-level settings stored with every blueprint version.
    pub fn settings(&self, base: &Path) -> serde_json::Value {
        let resolve = |p: &Option<String>| {
            p.as_ref()
                .map(|p| base.join(p).display().to_string())
                .unwrap_or_default()
        };
        serde_json::json!({
            "district": self.district,
            "note": self.note,
            "rules": resolve(&self.rules),
            "checklist": resolve(&self.checklist),
        })
    }
}

/// Outcome of importing a manifest.
#[derive(Debug, Clone)]
pub struct ManifestImport {
    pub blueprint: BlueprintVersion,
    pub reports: Vec<ImportReport>,
}

/// Imports every layer of a manifest, then records them as one new blueprint version. If any
/// layer fails, nothing is recorded.
pub fn import_manifest(
    store: &Store,
    manifest_path: &Path,
    actor: &str,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<ManifestImport, BlueprintError> {
    let manifest = Manifest::load(manifest_path)?;
    let base = manifest_path.parent().unwrap_or(Path::new("."));
    let working = manifest.working_crs()?;
    let epsg = match &working {
        Crs::Epsg(c) => *c,
        other => return Err(CrsError::WorkingNotProjected(other.to_string()).into()),
    };
    // Layers are independent: import them in parallel (each GDAL dataset stays on its thread).
    let imported: Vec<Result<_, BlueprintError>> = manifest
        .layers
        .par_iter()
        .map(|spec| {
            let started = Instant::now();
            let layer = import_layer(spec, base, &working)?;
            let object = store.put_layer(&layer.data, epsg)?;
            progress(&format!(
                "{:<10} {:>7} features  {:.2}s  {}",
                spec.id,
                layer.data.features.len(),
                started.elapsed().as_secs_f64(),
                spec.display_title()
            ));
            Ok((spec, layer, object))
        })
        .collect();
    let mut versions = Vec::with_capacity(imported.len());
    let mut reports = Vec::with_capacity(imported.len());
    for r in imported {
        let (spec, layer, object) = r?;
        versions.push(NewVersion {
            hash: object.hash,
            spec: spec.clone(),
            source: layer.source.clone(),
            working_crs: working.to_string(),
            feature_count: layer.data.features.len(),
            planar_area_m2: layer.report.planar_area_m2,
            ellipsoidal_area_m2: layer.report.ellipsoidal_area_m2,
            repaired: layer.report.substantive_repairs(),
            rejected: layer.report.rejected.len(),
            report: serde_json::to_value(&layer.report).unwrap_or_default(),
        });
        reports.push(layer.report);
    }
    let blueprint = store.commit_import(
        &manifest.name,
        &working.to_string(),
        Some(&manifest.settings(base)),
        &versions,
        actor,
        &format!("manifest {}", manifest_path.display()),
        true,
    )?;
    Ok(ManifestImport { blueprint, reports })
}

/// One layer version in memory, with its R-tree.
#[derive(Debug)]
pub struct LoadedLayer {
    pub version: LayerVersion,
    pub data: LayerData,
    pub index: LayerIndex,
    /// The polygons on the kernel's grid, made on first use by a site check.
    prepared: OnceLock<Option<PreparedLayer>>,
}

impl LoadedLayer {
    pub fn id(&self) -> &str {
        &self.version.layer_id
    }

    pub fn spec(&self) -> &LayerSpec {
        &self.version.spec
    }

    pub fn role(&self) -> LayerRole {
        self.version.spec.role
    }

    pub fn new(version: LayerVersion, data: LayerData) -> LoadedLayer {
        let index = LayerIndex::build(&data);
        LoadedLayer {
            version,
            data,
            index,
            prepared: OnceLock::new(),
        }
    }

    /// The name of a class code of this layer ("" when the layer has no class system or the
    /// code is unknown). The prepared layer asks once per distinct code and keeps the answer.
    pub fn class_name(&self, code: &str) -> String {
        self.spec()
            .class
            .as_ref()
            .and_then(|c| crate::codes::CodeTables::builtin().system(&c.system).ok())
            .map(|sys| sys.classify(code).name)
            .unwrap_or_default()
    }

    /// The layer's polygons prepared on `grid` (the grid of the blueprint that loaded it) for
    /// repeated overlays, made on first use. `None` for a layer too large for the records'
    /// 32-bit indices, or for another grid: callers then convert per query.
    pub fn prepared(&self, grid: &Grid) -> Option<&PreparedLayer> {
        self.prepared
            .get_or_init(|| PreparedLayer::new(&self.data.features, *grid, |c| self.class_name(c)))
            .as_ref()
            .filter(|p| p.grid == *grid)
    }
}

/// A blueprint version loaded for analysis. Cheap to share (`Arc` per layer).
#[derive(Debug, Clone)]
pub struct Blueprint {
    pub meta: BlueprintVersion,
    pub crs: Crs,
    pub zone: GkZone,
    pub layers: Vec<Arc<LoadedLayer>>,
    /// The exact integer grid of the overlay kernel for this blueprint's extent.
    pub grid: Grid,
    /// Union of the layers' bounding boxes.
    pub extent: Option<geo::Rect<f64>>,
    /// Wall time of the load, for reports and benchmarks.
    pub load_seconds: f64,
}

impl Blueprint {
    /// Loads a blueprint version from the store: layer objects read in parallel, one
    /// bulk-loaded R-tree each.
    pub fn load(store: &Store, meta: BlueprintVersion) -> Result<Blueprint, BlueprintError> {
        Blueprint::load_only(store, meta, |_| true)
    }

    /// Loads only the layers `keep` accepts (a batch job that needs two plans and the town
    /// boundaries need not read the other twenty layers).
    pub fn load_only(
        store: &Store,
        meta: BlueprintVersion,
        keep: impl Fn(&LayerVersion) -> bool + Sync,
    ) -> Result<Blueprint, BlueprintError> {
        let started = Instant::now();
        let crs: Crs = meta.crs.parse()?;
        let zone = crs
            .gk_zone()
            .ok_or_else(|| CrsError::WorkingNotProjected(meta.crs.clone()))?;
        let layers: Vec<Arc<LoadedLayer>> = meta
            .layers
            .par_iter()
            .filter(|v| keep(v))
            .map(|v| {
                let data = store.read_layer(&v.hash)?;
                Ok(Arc::new(LoadedLayer::new(v.clone(), data)))
            })
            .collect::<Result<_, StoreError>>()?;
        let extent = layers
            .iter()
            .filter_map(|l| l.data.bounding_rect())
            .reduce(crate::layer::union_rect);
        // Without data the grid is irrelevant; any extent in the zone gives a valid one.
        let grid = Grid::for_bbox(&extent.unwrap_or_else(|| {
            geo::Rect::new(
                geo::coord! { x: zone.false_easting - 1.0, y: 1.0 },
                geo::coord! { x: zone.false_easting + 1.0, y: 2.0 },
            )
        }));
        Ok(Blueprint {
            meta,
            crs,
            zone,
            layers,
            grid,
            extent,
            load_seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Loads the store's default blueprint head.
    pub fn load_current(store: &Store) -> Result<Blueprint, BlueprintError> {
        let meta = store.current()?;
        Blueprint::load(store, meta)
    }

    pub fn layer(&self, id: &str) -> Option<&Arc<LoadedLayer>> {
        self.layers.iter().find(|l| l.id() == id)
    }

    pub fn require(&self, id: &str) -> Result<&Arc<LoadedLayer>, BlueprintError> {
        self.layer(id)
            .ok_or_else(|| BlueprintError::NoLayer(id.to_string()))
    }

    pub fn by_role(&self, role: LayerRole) -> impl Iterator<Item = &Arc<LoadedLayer>> {
        self.layers.iter().filter(move |l| l.role() == role)
    }

    /// `name@version`, the identity quoted on every result.
    pub fn label(&self) -> String {
        format!("{}@{}", self.meta.name, self.meta.version)
    }
}
