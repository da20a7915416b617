//! API errors as `application/problem+json` (RFC 9457) naming the offending input.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A problem document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`about:blank` for plain HTTP semantics).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The input that caused it (a field, a feature id, a file), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

/// An error a handler returns.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub title: &'static str,
    pub detail: String,
    pub input: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            title,
            detail: detail.into(),
            input: None,
        }
    }

    pub fn with_input(mut self, input: impl Into<String>) -> Self {
        self.input = Some(input.into());
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "Bad request", detail)
    }

    pub fn unprocessable(detail: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The input cannot be processed",
            detail,
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "Not found", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "Authentication required", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "Not allowed for this role", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::CONFLICT,
            "Conflict with the current state",
            detail,
        )
    }

    pub fn too_large(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Payload too large", detail)
    }

    pub fn busy(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Busy", detail)
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error", detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), detail = %self.detail, "request failed");
        }
        let body = Problem {
            kind: "about:blank".to_string(),
            title: self.title.to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            input: self.input,
        };
        let mut resp = (self.status, Json(body)).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        resp
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError as S;
        match e {
            S::NoBlueprint(_) | S::NoVersion(_) | S::NoLayer(_) | S::NoBlueprintVersion { .. } => {
                ApiError::not_found(e.to_string())
            }
            S::Empty => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "No blueprint",
                e.to_string(),
            ),
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<crate::import::ImportError> for ApiError {
    fn from(e: crate::import::ImportError) -> Self {
        use crate::import::ImportError as I;
        let input = match &e {
            I::Rejected { report, .. } => report.rejected.first().map(|r| r.id.clone()),
            I::NoSuchField { field, .. } => Some(field.clone()),
            I::NoSuchLayer { layer, .. } => Some(layer.clone()),
            _ => None,
        };
        let err = ApiError::unprocessable(e.to_string());
        match input {
            Some(i) => err.with_input(i),
            None => err,
        }
    }
}

impl From<crate::site::input::SiteError> for ApiError {
    fn from(e: crate::site::input::SiteError) -> Self {
        use crate::site::input::SiteError as S;
        match e {
            S::Import(i) => i.into(),
            S::TooManyVertices { ref id, .. } => {
                let id = id.clone();
                ApiError::too_large(e.to_string()).with_input(id)
            }
            S::Invalid { ref id, .. } => {
                let id = id.clone();
                ApiError::unprocessable(e.to_string()).with_input(id)
            }
            S::OutsideDistrict { ref id, .. } => {
                let id = id.clone();
                ApiError::unprocessable(e.to_string()).with_input(id)
            }
            other => ApiError::unprocessable(other.to_string()),
        }
    }
}

impl From<crate::reconcile::ledger::LedgerError> for ApiError {
    fn from(e: crate::reconcile::ledger::LedgerError) -> Self {
        use crate::reconcile::ledger::LedgerError as L;
        match e {
            L::NotFound(ref id) => {
                let id = id.clone();
                ApiError::not_found(e.to_string()).with_input(id)
            }
            L::UnknownState(ref s) => {
                let s = s.clone();
                ApiError::bad_request(e.to_string()).with_input(s)
            }
            L::BadTransition { .. } | L::NotCurrent { .. } => ApiError::conflict(e.to_string()),
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<crate::checklist::ChecklistError> for ApiError {
    fn from(e: crate::checklist::ChecklistError) -> Self {
        use crate::checklist::ChecklistError as C;
        match e {
            C::ProjectCode { ref code, .. } => {
                let code = code.clone();
                ApiError::unprocessable(e.to_string()).with_input(code)
            }
            other => ApiError::internal(other.to_string()),
        }
    }
}
