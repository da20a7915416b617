//! The routes, assembled with their OpenAPI description and per-route limits.

pub mod checklists;
pub mod conflicts;
pub mod jobs;
pub mod layers;
pub mod meta;
pub mod ogc;
pub mod sites;
pub mod upload;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "lantu 蓝图 API",
        description = "多规合一 / 一张蓝图: layers, site checks, the 土地资源和技术控制指标清单, \
                       reconciliation runs, the conflict ledger. Errors are application/problem+json. \
                       Authenticate with `Authorization: Bearer <key>` (keys: `lantu keys create`)."
    ),
    tags(
        (name = "blueprint", description = "Layers, versions, blueprints"),
        (name = "sites", description = "Site checks"),
        (name = "checklists", description = "土地资源和技术控制指标清单"),
        (name = "reconcile", description = "Reconciliation runs and the conflict ledger"),
        (name = "admin", description = "Audit log")
    )
)]
struct ApiDoc;

/// Bodies a route accepts: JSON routes are small, upload routes large, and the limit is the
/// only one in force (axum's 2 MB default is lifted where a larger limit is set).
fn limited<S: Clone + Send + Sync + 'static>(
    r: OpenApiRouter<S>,
    bytes: usize,
) -> OpenApiRouter<S> {
    r.layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(bytes))
}

pub fn router(state: AppState) -> Router {
    let cfg = state.config.clone();
    let json_routes = OpenApiRouter::new()
        .routes(routes!(sites::site_check))
        .routes(routes!(checklists::create_checklist))
        .routes(routes!(checklists::verify_checklist))
        .routes(routes!(jobs::start, jobs::list))
        .routes(routes!(conflicts::transition))
        .routes(routes!(layers::activate));
    let upload_routes = OpenApiRouter::new()
        .routes(routes!(sites::site_check_upload))
        .routes(routes!(checklists::create_checklist_upload));
    let layer_upload = OpenApiRouter::new().routes(routes!(layers::upload_version));
    let read_routes = OpenApiRouter::new()
        .routes(routes!(meta::healthz))
        .routes(routes!(layers::current_blueprint))
        .routes(routes!(layers::blueprints))
        .routes(routes!(layers::layers))
        .routes(routes!(layers::layer))
        .routes(routes!(layers::version_report))
        .routes(routes!(checklists::get_checklist))
        .routes(routes!(jobs::status, jobs::cancel))
        .routes(routes!(jobs::summary))
        .routes(routes!(jobs::result_geojson))
        .routes(routes!(jobs::result_gpkg))
        .routes(routes!(conflicts::list))
        .routes(routes!(conflicts::get))
        .routes(routes!(meta::audit));
    let (api, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(limited(json_routes, cfg.json_limit))
        .merge(limited(upload_routes, cfg.upload_limit))
        .merge(limited(layer_upload, cfg.layer_upload_limit))
        .merge(limited(read_routes, 64 << 10))
        .split_for_parts();
    let doc_json = doc.to_pretty_json().unwrap_or_else(|_| "{}".to_string());
    let mut app = Router::new()
        .merge(api)
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let body = doc_json.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                }
            }),
        )
        .route("/metrics", axum::routing::get(meta::metrics))
        .merge(super::tiles::router())
        .merge(ogc::router());
    if let Some(dir) = cfg
        .web_dir
        .as_ref()
        .filter(|d| d.join("index.html").exists())
    {
        app = app.fallback_service(
            ServeDir::new(dir).not_found_service(ServeFile::new(dir.join("index.html"))),
        );
    }
    app.layer(middleware::from_fn_with_state(
        state.clone(),
        super::metrics::track,
    ))
    .layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        cfg.request_timeout,
    ))
    .layer(CatchPanicLayer::new())
    .with_state(state)
}
