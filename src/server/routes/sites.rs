//! Site checks: a GeoJSON body or an uploaded file → the analysis of every site in it.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Multipart, Query, State};
use serde::{Deserialize, Serialize};

use crate::blueprint::Blueprint;
use crate::checklist::build::VERDICT_MIN_M2;
use crate::layer::LayerRole;
use crate::server::{ApiError, AppState, Caller, Permission};
use crate::site::input::{self, SiteOptions};
use crate::site::{Site, SiteAnalysis, SiteParams, analyse};

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct SiteQuery {
    /// CRS of the coordinates when the body does not declare one: EPSG:4490 (CGCS2000 lon/lat,
    /// what the web map sends), EPSG:4546, EPSG:4525, GCJ02 …
    pub crs: Option<String>,
    /// Field holding each site's id (FeatureCollections of several sites).
    pub id_field: Option<String>,
}

/// A control-line verdict line of the quick answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuickVerdict {
    pub layer: String,
    pub title: String,
    /// `ok`, `warning` or `no_data`.
    pub status: String,
    pub text: String,
    pub area_m2: f64,
}

/// The answer for one site: the full analysis plus the verdicts a planner reads first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SiteResult {
    #[schema(value_type = Object)]
    pub analysis: SiteAnalysis,
    pub verdicts: Vec<QuickVerdict>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SiteCheckResponse {
    pub blueprint: String,
    pub sites: Vec<SiteResult>,
}

/// The three control lines and the city lines, judged the way the checklist judges them.
pub fn verdicts(bp: &Blueprint, a: &SiteAnalysis) -> Vec<QuickVerdict> {
    let mut out = Vec::new();
    for o in &a.overlaps {
        if o.role != LayerRole::ControlLine {
            continue;
        }
        let is_boundary = o.layer == "czkfbj" || o.title.contains("开发边界");
        let (status, text) = if is_boundary {
            let outside = (a.area_m2 - o.area_m2).max(0.0);
            if outside < VERDICT_MIN_M2 {
                ("ok", format!("位于{}内", o.title))
            } else {
                ("warning", format!("有 {outside:.2} m² 位于{}外", o.title))
            }
        } else if o.area_m2 >= VERDICT_MIN_M2 {
            let warn = match o.layer.as_str() {
                "yjjbnt" => "压占永久基本农田，疑似违法用地，请核实".to_string(),
                "sthx" => "压占生态保护红线，请核实".to_string(),
                _ => format!("涉及{}", o.title),
            };
            (
                "warning",
                format!("{warn}（{:.2} m²）", o.ellipsoidal_area_m2),
            )
        } else {
            ("ok", format!("不涉及{}", o.title))
        };
        out.push(QuickVerdict {
            layer: o.layer.clone(),
            title: o.title.clone(),
            status: status.to_string(),
            text,
            area_m2: o.ellipsoidal_area_m2,
        });
    }
    let _ = bp;
    out
}

fn params() -> SiteParams {
    SiteParams::new(chrono::Local::now().date_naive())
}

/// Reads sites and analyses them on the CPU pool.
pub async fn check(
    state: &AppState,
    bp: std::sync::Arc<Blueprint>,
    read: impl FnOnce(&Blueprint) -> Result<Vec<Site>, ApiError> + Send + 'static,
) -> Result<(Vec<Site>, Vec<SiteAnalysis>), ApiError> {
    let result = state
        .cpu(move || -> Result<_, ApiError> {
            let sites = read(&bp)?;
            let p = params();
            let analyses = sites.iter().map(|s| analyse(&bp, s, &p)).collect();
            Ok((sites, analyses))
        })
        .await??;
    state
        .metrics
        .site_checks
        .fetch_add(result.0.len() as u64, Ordering::Relaxed);
    Ok(result)
}

fn respond(bp: &Blueprint, analyses: Vec<SiteAnalysis>) -> SiteCheckResponse {
    SiteCheckResponse {
        blueprint: bp.label(),
        sites: analyses
            .into_iter()
            .map(|a| SiteResult {
                verdicts: verdicts(bp, &a),
                analysis: a,
            })
            .collect(),
    }
}

/// Check a site given as GeoJSON (a geometry, a Feature or a FeatureCollection).
#[utoipa::path(post, path = "/api/site-check", tag = "sites",
    params(SiteQuery),
    request_body(content = Object, description = "GeoJSON geometry, Feature or FeatureCollection", content_type = "application/json"),
    responses((status = 200, body = SiteCheckResponse), (status = 422, description = "invalid site", body = crate::server::error::Problem)))]
pub async fn site_check(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SiteQuery>,
    body: Bytes,
) -> Result<Json<SiteCheckResponse>, ApiError> {
    caller.require(Permission::Read)?;
    let bp = state.blueprint();
    let options = SiteOptions {
        crs: q.crs.clone(),
        id_field: q.id_field.clone(),
        name_field: None,
        max_vertices: Some(state.config.max_site_vertices),
    };
    let (_, analyses) = check(&state, bp.clone(), move |bp| {
        input::read_geojson(&body, bp, &options).map_err(ApiError::from)
    })
    .await?;
    Ok(Json(respond(&bp, analyses)))
}

/// Check the sites of an uploaded file: zipped Shapefile, DXF, KML or 界址点 TXT
/// (multipart: `file`, optional `crs`, `id_field`).
#[utoipa::path(post, path = "/api/site-check/upload", tag = "sites",
    request_body(content = Object, description = "multipart/form-data with `file` and optional `crs`, `id_field`", content_type = "multipart/form-data"),
    responses((status = 200, body = SiteCheckResponse), (status = 413, body = crate::server::error::Problem), (status = 422, body = crate::server::error::Problem)))]
pub async fn site_check_upload(
    State(state): State<AppState>,
    caller: Caller,
    mp: Multipart,
) -> Result<Json<SiteCheckResponse>, ApiError> {
    caller.require(Permission::Read)?;
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
    let bp = state.blueprint();
    let (_, analyses) = check(&state, bp.clone(), move |bp| {
        let r = input::read_file(&file, bp, &options).map_err(ApiError::from);
        drop(upload);
        r
    })
    .await?;
    Ok(Json(respond(&bp, analyses)))
}
