//! Checklists: issued from a site, stored with their hash, fetched in every format, verified.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::checklist::build::{BuildOptions, build};
use crate::checklist::map::map_data;
use crate::checklist::registry::{load, record};
use crate::checklist::{Checklist, Verification, verify_json};
use crate::server::{ApiError, AppState, Caller, Permission};
use crate::site::input::{self, SiteOptions};
use crate::store::now_rfc3339;

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ChecklistQuery {
    /// 投资项目统一代码 (YYYY-NNNNNN-NN-NN-NNNNNN).
    pub project_code: Option<String>,
    /// CRS of the coordinates when the body does not declare one.
    pub crs: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Issued {
    pub sha256: String,
    pub site_id: String,
    /// Links to every format of the checklist.
    pub links: std::collections::BTreeMap<String, String>,
    #[schema(value_type = Object)]
    pub checklist: Checklist,
}

fn links(sha: &str) -> std::collections::BTreeMap<String, String> {
    ["json", "html", "pdf", "xlsx", "txt"]
        .iter()
        .map(|f| (f.to_string(), format!("/api/checklists/{sha}?format={f}")))
        .collect()
}

async fn issue(
    state: &AppState,
    caller: &Caller,
    read: impl FnOnce(&crate::blueprint::Blueprint) -> Result<Vec<crate::site::Site>, ApiError>
    + Send
    + 'static,
    project_code: Option<String>,
) -> Result<Vec<Issued>, ApiError> {
    caller.require(Permission::IssueChecklist)?;
    let bp = state.blueprint();
    let template = state.template.clone();
    let store = state.store.clone();
    let actor = caller.actor();
    let issued = state
        .cpu(move || -> Result<Vec<Issued>, ApiError> {
            let sites = read(&bp)?;
            let params = crate::site::SiteParams::new(chrono::Local::now().date_naive());
            let mut out = Vec::new();
            for site in &sites {
                let analysis = crate::site::analyse(&bp, site, &params);
                let options = BuildOptions {
                    project_code: project_code.clone(),
                    issued_at: now_rfc3339(),
                };
                let c = build(&bp, site, &analysis, &template, &options)?;
                let map = map_data(&bp, site, &analysis);
                record(&store, &c, &map, &actor)?;
                out.push(Issued {
                    sha256: c.sha256.clone(),
                    site_id: c.site.id.clone(),
                    links: links(&c.sha256),
                    checklist: c,
                });
            }
            Ok(out)
        })
        .await??;
    state
        .metrics
        .checklists_issued
        .fetch_add(issued.len() as u64, Ordering::Relaxed);
    Ok(issued)
}

/// Issue the checklist of a site given as GeoJSON (land-sale staff and admins).
#[utoipa::path(post, path = "/api/checklists", tag = "checklists", params(ChecklistQuery),
    request_body(content = Object, description = "GeoJSON geometry, Feature or FeatureCollection", content_type = "application/json"),
    responses((status = 201, body = [Issued]), (status = 403, body = crate::server::error::Problem), (status = 422, body = crate::server::error::Problem)))]
pub async fn create_checklist(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ChecklistQuery>,
    body: Bytes,
) -> Result<(axum::http::StatusCode, Json<Vec<Issued>>), ApiError> {
    caller.require(Permission::IssueChecklist)?;
    let options = SiteOptions {
        crs: q.crs.clone(),
        id_field: None,
        name_field: None,
        max_vertices: Some(state.config.max_site_vertices),
    };
    let issued = issue(
        &state,
        &caller,
        move |bp| input::read_geojson(&body, bp, &options).map_err(ApiError::from),
        q.project_code.clone().filter(|s| !s.is_empty()),
    )
    .await?;
    Ok((axum::http::StatusCode::CREATED, Json(issued)))
}

/// Issue checklists for the sites of an uploaded file (multipart: `file`, optional `crs`,
/// `project_code`).
#[utoipa::path(post, path = "/api/checklists/upload", tag = "checklists",
    request_body(content = Object, content_type = "multipart/form-data"),
    responses((status = 201, body = [Issued]), (status = 403, body = crate::server::error::Problem), (status = 422, body = crate::server::error::Problem)))]
pub async fn create_checklist_upload(
    State(state): State<AppState>,
    caller: Caller,
    mp: Multipart,
) -> Result<(axum::http::StatusCode, Json<Vec<Issued>>), ApiError> {
    caller.require(Permission::IssueChecklist)?;
    let upload = super::upload::read(
        mp,
        &state.store.root().join("tmp"),
        state.config.upload_limit,
    )
    .await?;
    let file = upload
        .file
        .clone()
        .ok_or_else(|| ApiError::bad_request("no `file` part in the upload").with_input("file"))?;
    let options = SiteOptions {
        crs: upload.fields.get("crs").cloned().filter(|s| !s.is_empty()),
        id_field: upload
            .fields
            .get("id_field")
            .cloned()
            .filter(|s| !s.is_empty()),
        name_field: None,
        max_vertices: Some(state.config.max_site_vertices),
    };
    let project_code = upload
        .fields
        .get("project_code")
        .cloned()
        .filter(|s| !s.is_empty());
    let issued = issue(
        &state,
        &caller,
        move |bp| {
            let r = input::read_file(&file, bp, &options).map_err(ApiError::from);
            drop(upload);
            r
        },
        project_code,
    )
    .await?;
    Ok((axum::http::StatusCode::CREATED, Json(issued)))
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
pub struct FormatQuery {
    /// json (default), html, pdf, xlsx or txt (界址点坐标).
    pub format: Option<String>,
}

/// Fetch an issued checklist in a format.
#[utoipa::path(get, path = "/api/checklists/{sha256}", tag = "checklists",
    params(("sha256" = String, Path, description = "The checklist's hash"), FormatQuery),
    responses((status = 200, description = "the checklist document"), (status = 404, body = crate::server::error::Problem)))]
pub async fn get_checklist(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
    Query(q): Query<FormatQuery>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let store = state.store.clone();
    let sha2 = sha.clone();
    let found = tokio::task::spawn_blocking(move || load(&store, &sha2))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    let (c, map) = found.ok_or_else(|| {
        ApiError::not_found(format!("no checklist {sha}")).with_input(sha.clone())
    })?;
    let format = q.format.unwrap_or_else(|| "json".to_string());
    let name = format!("checklist-{}-{}", c.site.id, &c.sha256[..12]);
    let rendered = state
        .cpu(move || crate::report::render(&format, &c, &map))
        .await?
        .map_err(|e| match e {
            crate::report::ReportError::UnknownFormat(f) => {
                ApiError::bad_request(format!("unknown format `{f}` (json, html, pdf, xlsx, txt)"))
                    .with_input(f)
            }
            other => ApiError::internal(other.to_string()),
        })?;
    let disposition = format!(
        "{}; filename=\"{name}.{}\"",
        if rendered.inline {
            "inline"
        } else {
            "attachment"
        },
        rendered.extension
    );
    Ok((
        [
            (header::CONTENT_TYPE, rendered.content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        rendered.bytes,
    )
        .into_response())
}

/// Verify a checklist document (the JSON as issued): recompute its SHA-256.
#[utoipa::path(post, path = "/api/checklists/verify", tag = "checklists",
    request_body(content = Object, description = "a checklist JSON as issued", content_type = "application/json"),
    responses((status = 200, body = Object), (status = 422, body = crate::server::error::Problem)))]
pub async fn verify_checklist(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::Read)?;
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::unprocessable("the checklist must be UTF-8 JSON"))?;
    let v: Verification = verify_json(&text).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let store = state.store.clone();
    let claimed = v.claimed.clone();
    let issued = tokio::task::spawn_blocking(move || load(&store, &claimed))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??
        .is_some();
    Ok(Json(serde_json::json!({
        "ok": v.ok,
        "claimed": v.claimed,
        "computed": v.computed,
        "issued_by_this_server": issued,
    })))
}
