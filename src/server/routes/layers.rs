//! Layers, versions and blueprints: read for everyone, upload and activation for admins.

use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::blueprint::{Blueprint, LayerSpec};
use crate::import::{ImportError, ImportReport, import_path};
use crate::layer::LayerRole;
use crate::server::{ApiError, AppState, Caller, Permission};
use crate::store::{LayerVersion, NewVersion};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LayerInfo {
    pub id: String,
    pub title: String,
    pub role: String,
    pub kind: String,
    pub version: i64,
    pub hash: String,
    pub feature_count: usize,
    pub planar_area_m2: f64,
    pub ellipsoidal_area_m2: f64,
    pub class_field: Option<String>,
    pub class_system: Option<String>,
    #[schema(value_type = Object)]
    pub provenance: crate::blueprint::Provenance,
    /// Bounding box in EPSG:4490 lon/lat [west, south, east, north].
    pub bbox: Option<[f64; 4]>,
}

fn lonlat_bbox(bp: &Blueprint, r: geo::Rect<f64>) -> Option<[f64; 4]> {
    let t = crate::export::to_lonlat(&bp.crs).ok()?;
    let a = t.point(r.min()).ok()?;
    let b = t.point(r.max()).ok()?;
    Some([a.x, a.y, b.x, b.y])
}

pub fn info(bp: &Blueprint) -> Vec<LayerInfo> {
    bp.layers
        .iter()
        .map(|l| {
            let v = &l.version;
            LayerInfo {
                id: l.id().to_string(),
                title: l.spec().display_title().to_string(),
                role: l.role().as_str().to_string(),
                kind: l.data.kind.as_str().to_string(),
                version: v.seq,
                hash: v.hash.clone(),
                feature_count: v.feature_count,
                planar_area_m2: v.planar_area_m2,
                ellipsoidal_area_m2: v.ellipsoidal_area_m2,
                class_field: l.spec().class.as_ref().map(|c| c.field.clone()),
                class_system: l.spec().class.as_ref().map(|c| c.system.clone()),
                provenance: l.spec().provenance.clone(),
                bbox: l.data.bounding_rect().and_then(|r| lonlat_bbox(bp, r)),
            }
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BlueprintInfo {
    pub name: String,
    pub version: i64,
    pub crs: String,
    pub created_at: String,
    pub district: Option<String>,
    pub bbox: Option<[f64; 4]>,
    pub layers: Vec<LayerInfo>,
}

/// The active blueprint with its layers.
#[utoipa::path(get, path = "/api/blueprint", tag = "blueprint", responses((status = 200, body = BlueprintInfo)))]
pub async fn current_blueprint(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<BlueprintInfo>, ApiError> {
    caller.require(Permission::Read)?;
    let bp = state.blueprint();
    Ok(Json(BlueprintInfo {
        name: bp.meta.name.clone(),
        version: bp.meta.version,
        crs: bp.meta.crs.clone(),
        created_at: bp.meta.created_at.clone(),
        district: bp
            .meta
            .settings
            .get("district")
            .and_then(|d| d.as_str())
            .map(str::to_string),
        bbox: bp.extent.and_then(|r| lonlat_bbox(&bp, r)),
        layers: info(&bp),
    }))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BlueprintEntry {
    pub name: String,
    pub active_version: i64,
    pub versions: i64,
    pub default: bool,
}

/// All blueprints in the store.
#[utoipa::path(get, path = "/api/blueprints", tag = "blueprint", responses((status = 200, body = [BlueprintEntry])))]
pub async fn blueprints(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<BlueprintEntry>>, ApiError> {
    caller.require(Permission::Read)?;
    let store = state.store.clone();
    let list = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let default = store.default_blueprint()?;
        Ok(store
            .blueprints()?
            .into_iter()
            .map(|(name, v, n)| BlueprintEntry {
                default: Some(&name) == default.as_ref(),
                name,
                active_version: v,
                versions: n,
            })
            .collect())
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(list))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ActivateRequest {
    pub version: i64,
}

/// Make a blueprint version active (admins): loaded, then swapped in atomically; requests in
/// flight finish on the version they started with.
#[utoipa::path(post, path = "/api/blueprints/{name}/activate", tag = "blueprint", params(("name" = String, Path)),
    request_body = ActivateRequest,
    responses((status = 200, body = BlueprintInfo), (status = 403, body = crate::server::error::Problem), (status = 404, body = crate::server::error::Problem)))]
pub async fn activate(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<BlueprintInfo>, ApiError> {
    caller.require(Permission::Activate)?;
    let req: ActivateRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")).with_input("version"))?;
    let store = state.store.clone();
    let actor = caller.actor();
    let loaded = state
        .cpu(move || -> Result<Blueprint, ApiError> {
            let meta = store.blueprint(&name, Some(req.version))?;
            let bp =
                Blueprint::load(&store, meta).map_err(|e| ApiError::internal(e.to_string()))?;
            store.activate(&name, req.version, &actor)?;
            Ok(bp)
        })
        .await??;
    state.swap_blueprint(loaded);
    state.tiles.clear();
    current_blueprint(State(state), caller).await
}

/// Layers of the active blueprint.
#[utoipa::path(get, path = "/api/layers", tag = "blueprint", responses((status = 200, body = [LayerInfo])))]
pub async fn layers(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<LayerInfo>>, ApiError> {
    caller.require(Permission::Read)?;
    Ok(Json(info(&state.blueprint())))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LayerDetail {
    pub current: Option<LayerInfo>,
    #[schema(value_type = Vec<Object>)]
    pub versions: Vec<LayerVersion>,
}

/// One layer: its active version and every stored version with provenance.
#[utoipa::path(get, path = "/api/layers/{id}", tag = "blueprint", params(("id" = String, Path)),
    responses((status = 200, body = LayerDetail), (status = 404, body = crate::server::error::Problem)))]
pub async fn layer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<LayerDetail>, ApiError> {
    caller.require(Permission::Read)?;
    let bp = state.blueprint();
    let current = info(&bp).into_iter().find(|l| l.id == id);
    let store = state.store.clone();
    let versions = tokio::task::spawn_blocking(move || store.layer_versions(&id))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(LayerDetail { current, versions }))
}

/// The import report of a layer version.
#[utoipa::path(get, path = "/api/layers/{id}/versions/{hash}/report", tag = "blueprint",
    params(("id" = String, Path), ("hash" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = crate::server::error::Problem)))]
pub async fn version_report(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, hash)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::Read)?;
    let store = state.store.clone();
    let report = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let v = store.layer_version(&hash)?;
        if v.layer_id != id {
            return Err(ApiError::not_found(format!(
                "version {hash} is not a version of layer {id}"
            )));
        }
        Ok(store.import_report(&hash)?)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(report))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UploadResult {
    pub blueprint: BlueprintInfo,
    #[schema(value_type = Object)]
    pub report: ImportReport,
}

/// Upload a new version of a layer (admins; multipart: `file`, and optionally `spec` as JSON
/// overriding the current layer's spec — role, id_field, class, crs, encoding, provenance).
/// The new blueprint version becomes active; nothing changes if the import fails.
#[utoipa::path(post, path = "/api/layers/{id}/versions", tag = "blueprint", params(("id" = String, Path)),
    request_body(content = Object, content_type = "multipart/form-data"),
    responses((status = 201, body = UploadResult), (status = 403, body = crate::server::error::Problem), (status = 422, body = crate::server::error::Problem)))]
pub async fn upload_version(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    mp: Multipart,
) -> Result<(StatusCode, Json<UploadResult>), ApiError> {
    caller.require(Permission::UploadLayer)?;
    crate::blueprint::spec::check_layer_id(&id)
        .map_err(|e| ApiError::bad_request(e).with_input("id"))?;
    let upload = super::upload::read(
        mp,
        &state.store.root().join("tmp"),
        state.config.layer_upload_limit,
    )
    .await?;
    let file = upload
        .file
        .clone()
        .ok_or_else(|| ApiError::bad_request("no `file` part in the upload").with_input("file"))?;
    let bp = state.blueprint();
    let mut spec: LayerSpec = match bp.layer(&id) {
        Some(l) => l.spec().clone(),
        None => LayerSpec::new(&id, LayerRole::Sector),
    };
    if let Some(json) = upload.fields.get("spec").filter(|s| !s.trim().is_empty()) {
        let mut v = serde_json::to_value(&spec).map_err(|e| ApiError::internal(e.to_string()))?;
        let patch: serde_json::Value = serde_json::from_str(json).map_err(|e| {
            ApiError::bad_request(format!("`spec` is not JSON: {e}")).with_input("spec")
        })?;
        if let (Some(obj), Some(p)) = (v.as_object_mut(), patch.as_object()) {
            for (k, val) in p {
                obj.insert(k.clone(), val.clone());
            }
        }
        spec = serde_json::from_value(v)
            .map_err(|e| ApiError::unprocessable(format!("`spec`: {e}")).with_input("spec"))?;
        spec.id = id.clone();
    }
    if let Some(name) = file.file_name() {
        spec.source = name.to_string_lossy().into_owned();
    }
    let store = state.store.clone();
    let actor = caller.actor();
    let (loaded, report) = state
        .cpu(move || -> Result<(Blueprint, ImportReport), ApiError> {
            let epsg = match &bp.crs {
                crate::crs::Crs::Epsg(c) => *c,
                other => {
                    return Err(ApiError::internal(format!(
                        "working CRS {other} has no EPSG code"
                    )));
                }
            };
            let layer = match import_path(&spec, &file, &bp.crs) {
                Ok(l) => l,
                Err(e @ ImportError::Rejected { .. }) => return Err(e.into()),
                Err(e) => return Err(e.into()),
            };
            let object = store.put_layer(&layer.data, epsg)?;
            let version = NewVersion {
                hash: object.hash,
                spec: spec.clone(),
                source: layer.source.clone(),
                working_crs: bp.crs.to_string(),
                feature_count: layer.data.features.len(),
                planar_area_m2: layer.report.planar_area_m2,
                ellipsoidal_area_m2: layer.report.ellipsoidal_area_m2,
                repaired: layer.report.substantive_repairs(),
                rejected: layer.report.rejected.len(),
                report: serde_json::to_value(&layer.report).unwrap_or_default(),
            };
            let meta = store.commit_import(
                &bp.meta.name,
                &bp.meta.crs,
                None,
                &[version],
                &actor,
                &format!("upload {}", spec.source),
                false,
            )?;
            let loaded =
                Blueprint::load(&store, meta).map_err(|e| ApiError::internal(e.to_string()))?;
            drop(upload);
            Ok((loaded, layer.report))
        })
        .await??;
    state.swap_blueprint(loaded);
    state.tiles.clear();
    let Json(blueprint) = current_blueprint(State(state), caller).await?;
    Ok((
        StatusCode::CREATED,
        Json(UploadResult { blueprint, report }),
    ))
}
