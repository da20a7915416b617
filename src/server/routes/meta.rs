//! Health, metrics and the audit log.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use crate::server::{ApiError, AppState, Caller, Permission};
use crate::store::AuditEntry;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: String,
    pub blueprint: String,
    pub layers: usize,
}

/// Liveness: the server answers and a blueprint is loaded.
#[utoipa::path(get, path = "/healthz", tag = "admin", responses((status = 200, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    let bp = state.blueprint();
    Json(Health {
        status: "ok".to_string(),
        blueprint: bp.label(),
        layers: bp.layers.len(),
    })
}

/// Prometheus text metrics.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let bp = state.blueprint();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(&bp.meta.name, bp.meta.version),
    )
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub limit: Option<usize>,
}

/// The append-only audit log, newest first (admins).
#[utoipa::path(get, path = "/api/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = [Object]), (status = 403, body = crate::server::error::Problem)))]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    caller.require(Permission::ReadAudit)?;
    let store = state.store.clone();
    let entries = tokio::task::spawn_blocking(move || {
        store.audit_log(q.action.as_deref(), q.limit.unwrap_or(200).min(10_000))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(entries))
}
