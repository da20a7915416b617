//! The HTTP service: the blueprint, site checks, checklists, reconciliation jobs, the conflict
//! ledger, vector tiles, OGC API – Features and the web page, behind API keys with roles.
//!
//! CPU work (overlays, renders) runs on the rayon pool and comes back through a oneshot channel,
//! under a semaphore that caps how much runs at once; the async workers only move bytes. The
//! blueprint is an `Arc` swapped atomically on activation: a request keeps the version it
//! started with.

pub mod auth;
pub mod error;
pub mod metrics;
pub mod routes;
pub mod tiles;

use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use tokio::sync::{Semaphore, oneshot};

use crate::blueprint::Blueprint;
use crate::checklist::Template;
use crate::store::Store;
pub use auth::{Caller, Permission, Role};
pub use error::ApiError;

/// Limits and settings of a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Role of requests without a key (`None`: a key is required for everything).
    pub anonymous: Option<Role>,
    /// JSON bodies (GeoJSON site, transitions …).
    pub json_limit: usize,
    /// Uploaded site files (zipped Shapefile, DXF, KML, TXT).
    pub upload_limit: usize,
    /// Uploaded layer versions.
    pub layer_upload_limit: usize,
    pub request_timeout: Duration,
    /// CPU tasks that may run at once; more wait up to `cpu_wait`, then get 503.
    pub cpu_slots: usize,
    pub cpu_wait: Duration,
    pub max_site_vertices: usize,
    /// The built web page (`web/dist`).
    pub web_dir: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        ServerConfig {
            anonymous: Some(Role::Viewer),
            json_limit: 4 << 20,
            upload_limit: 64 << 20,
            layer_upload_limit: 1 << 30,
            request_timeout: Duration::from_secs(60),
            cpu_slots: cores * 4,
            cpu_wait: Duration::from_secs(10),
            max_site_vertices: crate::site::input::MAX_SITE_VERTICES,
            web_dir: None,
        }
    }
}

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    blueprint: Arc<RwLock<Arc<Blueprint>>>,
    pub config: Arc<ServerConfig>,
    pub cpu: Arc<Semaphore>,
    pub jobs: Arc<routes::jobs::Jobs>,
    pub tiles: Arc<tiles::TileCache>,
    pub metrics: Arc<metrics::Metrics>,
    pub template: Arc<Template>,
    /// API keys already checked (see [`auth::KEY_CACHE_TTL`]).
    pub keys: Arc<auth::KeyCache>,
}

impl AppState {
    pub fn new(
        store: Arc<Store>,
        blueprint: Blueprint,
        config: ServerConfig,
    ) -> Result<AppState, ApiError> {
        auth::ensure_schema(&store)?;
        crate::reconcile::ledger::ensure_schema(&store.conn()).map_err(ApiError::from)?;
        crate::checklist::registry::ensure_schema(&store)?;
        let template = Template::for_blueprint(&blueprint.meta)?;
        Ok(AppState {
            store,
            blueprint: Arc::new(RwLock::new(Arc::new(blueprint))),
            cpu: Arc::new(Semaphore::new(config.cpu_slots.max(1))),
            config: Arc::new(config),
            jobs: Arc::new(routes::jobs::Jobs::default()),
            tiles: Arc::new(tiles::TileCache::new(20_000)),
            metrics: Arc::new(metrics::Metrics::default()),
            template: Arc::new(template),
            keys: Arc::new(auth::KeyCache::default()),
        })
    }

    /// The blueprint a request works on (it keeps this version even if another is activated).
    pub fn blueprint(&self) -> Arc<Blueprint> {
        self.blueprint
            .read()
            .map(|b| b.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Swaps in another loaded blueprint.
    pub fn swap_blueprint(&self, bp: Blueprint) {
        let new = Arc::new(bp);
        match self.blueprint.write() {
            Ok(mut g) => *g = new,
            Err(p) => *p.into_inner() = new,
        }
    }

    /// Runs CPU work on the rayon pool under the concurrency cap.
    pub async fn cpu<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = tokio::time::timeout(self.config.cpu_wait, self.cpu.clone().acquire_owned())
            .await
            .map_err(|_| {
                ApiError::busy(format!(
                    "all {} analysis slots are busy for more than {} s; retry",
                    self.config.cpu_slots,
                    self.config.cpu_wait.as_secs()
                ))
            })?
            .map_err(|_| ApiError::busy("the server is shutting down"))?;
        let (tx, rx) = oneshot::channel();
        rayon::spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(f));
            drop(permit);
            let _ = tx.send(result);
        });
        match rx.await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(ApiError::internal(
                "the analysis panicked; it was contained",
            )),
            Err(_) => Err(ApiError::internal("the analysis was dropped")),
        }
    }
}

/// The whole application (API, tiles, OGC API, web page) for a state.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// Serves until Ctrl-C / SIGTERM, then finishes in-flight requests.
pub async fn serve(state: AppState, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tracing::info!(%local, "listening");
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
