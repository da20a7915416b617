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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub name: String,
    pub role: crate::server::Role,
    /// What this caller may do: read, reconcile, transition_conflict, issue_checklist,
    /// upload_layer, activate, read_audit.
    pub permissions: Vec<String>,
}

/// Who the caller is (from the API key, or the anonymous role) and what it may do.
#[utoipa::path(get, path = "/api/me", tag = "admin", responses((status = 200, body = Me), (status = 401, body = crate::server::error::Problem)))]
pub async fn me(caller: Caller) -> Json<Me> {
    use crate::server::Permission as P;
    let permissions = [
        (P::Read, "read"),
        (P::Reconcile, "reconcile"),
        (P::TransitionConflict, "transition_conflict"),
        (P::IssueChecklist, "issue_checklist"),
        (P::UploadLayer, "upload_layer"),
        (P::Activate, "activate"),
        (P::ReadAudit, "read_audit"),
    ]
    .into_iter()
    .filter(|(p, _)| caller.role.allows(*p))
    .map(|(_, n)| n.to_string())
    .collect();
    Json(Me {
        name: caller.name.clone(),
        role: caller.role,
        permissions,
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleInfo {
    pub id: String,
    pub name: String,
    pub category: String,
    pub diff_type: String,
    pub severity: String,
    pub subject_layer: String,
    pub other_layer: String,
    pub clause: String,
}

/// The reconciliation rules of the active blueprint.
#[utoipa::path(get, path = "/api/rules", tag = "reconcile", responses((status = 200, body = [RuleInfo])))]
pub async fn rules(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<RuleInfo>>, ApiError> {
    caller.require(Permission::Read)?;
    let bp = state.blueprint();
    let set = crate::rules::RuleSet::for_blueprint(&bp.meta)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(
        set.rules
            .iter()
            .map(|r| RuleInfo {
                id: r.id.clone(),
                name: r.name.clone(),
                category: r.category.clone(),
                diff_type: r.diff_type.clone(),
                severity: r.severity.label().to_string(),
                subject_layer: r.subject.layer.clone(),
                other_layer: r.other().layer.clone(),
                clause: r.clause().label().to_string(),
            })
            .collect(),
    ))
}
