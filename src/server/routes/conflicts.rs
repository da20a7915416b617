//! The conflict ledger over HTTP: list and filter, one parcel with its history and geometry,
//! lifecycle transitions.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use crate::reconcile::ledger::{self, ConflictRecord, Event, Filter};
use crate::server::{ApiError, AppState, Caller, Permission};

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    pub rule: Option<String>,
    /// Town name or code.
    pub town: Option<String>,
    pub state: Option<String>,
    /// present (default), disappeared, superseded, all.
    pub presence: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConflictPage {
    pub total: u64,
    pub offset: usize,
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<ConflictRecord>,
}

/// List ledger parcels, largest first.
#[utoipa::path(get, path = "/api/conflicts", tag = "reconcile", params(ListQuery),
    responses((status = 200, body = ConflictPage)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<ConflictPage>, ApiError> {
    caller.require(Permission::Read)?;
    let bp = state.blueprint();
    let presence = match q.presence.as_deref() {
        None | Some("") => Some("present".to_string()),
        Some("all") => None,
        Some(p @ ("present" | "disappeared" | "superseded")) => Some(p.to_string()),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "presence `{other}` (present, disappeared, superseded, all)"
            ))
            .with_input("presence"));
        }
    };
    let f = Filter {
        blueprint: Some(bp.meta.name.clone()),
        rule: q.rule.filter(|s| !s.is_empty()),
        town: q.town.filter(|s| !s.is_empty()),
        state: q.state.filter(|s| !s.is_empty()),
        presence,
        limit: Some(q.limit.unwrap_or(100).min(5_000)),
        offset: q.offset,
    };
    let store = state.store.clone();
    let page = tokio::task::spawn_blocking(move || -> Result<ConflictPage, ApiError> {
        Ok(ConflictPage {
            total: ledger::count(&store, &f)?,
            offset: f.offset.unwrap_or(0),
            items: ledger::list(&store, &f)?,
        })
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(page))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConflictDetail {
    #[schema(value_type = Object)]
    pub record: ConflictRecord,
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Event>,
    /// GeoJSON geometry in EPSG:4490 lon/lat.
    #[schema(value_type = Object)]
    pub geometry: serde_json::Value,
}

/// Decodes a GeoPackage geometry blob written by [`crate::gpkg::gpkg_blob`].
pub fn decode_blob(blob: &[u8]) -> Option<geo::MultiPolygon<f64>> {
    use geozero::ToGeo;
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return None;
    }
    let flags = blob[3];
    let envelope = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        _ => return None,
    };
    let wkb = blob.get(8 + envelope..)?;
    match geozero::wkb::Wkb(wkb.to_vec()).to_geo().ok()? {
        geo::Geometry::MultiPolygon(mp) => Some(mp),
        geo::Geometry::Polygon(p) => Some(geo::MultiPolygon(vec![p])),
        _ => None,
    }
}

/// One parcel with its lifecycle history and geometry.
#[utoipa::path(get, path = "/api/conflicts/{id}", tag = "reconcile", params(("id" = String, Path)),
    responses((status = 200, body = ConflictDetail), (status = 404, body = crate::server::error::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ConflictDetail>, ApiError> {
    caller.require(Permission::Read)?;
    let store = state.store.clone();
    let bp = state.blueprint();
    let detail = tokio::task::spawn_blocking(move || -> Result<ConflictDetail, ApiError> {
        let record = ledger::get(&store, &id)?;
        let events = ledger::events(&store, &id)?;
        let blob = ledger::geometry_blob(&store, &id)?;
        let geometry = match decode_blob(&blob) {
            Some(mp) => {
                let t = crate::export::to_lonlat(&bp.crs)
                    .map_err(|e| ApiError::internal(e.to_string()))?;
                crate::export::geometry_json(&crate::layer::Geom::Polygon(mp), &t)
                    .map_err(|e| ApiError::internal(e.to_string()))?
            }
            None => serde_json::Value::Null,
        };
        Ok(ConflictDetail {
            record,
            events,
            geometry,
        })
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(detail))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TransitionRequest {
    /// The next state: 区级意见, 领导小组审议, 市级审定 or 已处理.
    pub to: String,
    #[serde(default)]
    pub comment: String,
    /// The decision document (文号).
    #[serde(default)]
    pub document: String,
}

/// Move a parcel to the next lifecycle state (planners and admins); audited.
#[utoipa::path(post, path = "/api/conflicts/{id}/transition", tag = "reconcile", params(("id" = String, Path)),
    request_body = TransitionRequest,
    responses((status = 200, body = Object), (status = 403, body = crate::server::error::Problem), (status = 409, body = crate::server::error::Problem)))]
pub async fn transition(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<ConflictRecord>, ApiError> {
    caller.require(Permission::TransitionConflict)?;
    let req: TransitionRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "malformed JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    if req.comment.chars().count() > 2_000 || req.document.chars().count() > 200 {
        return Err(ApiError::unprocessable(
            "comment ≤ 2000 characters, document ≤ 200",
        ));
    }
    let store = state.store.clone();
    let actor = caller.actor();
    let record = tokio::task::spawn_blocking(move || {
        ledger::transition(&store, &id, &req.to, &actor, &req.comment, &req.document)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(record))
}
