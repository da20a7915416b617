//! Reconciliation runs as jobs: 202 + id, progress, cancel, summary and result parcels.
//!
//! A run works on its own low-priority threads so that interactive site checks keep their
//! latency while it goes on; its outputs go to `<store>/runs/<job>/` and its parcels into the
//! ledger.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::reconcile::ledger::LedgerSink;
use crate::reconcile::output::{FileSink, Formats, GisWriters, Tee, summarise};
use crate::reconcile::{self, Params, Sink};
use crate::rules::RuleSet;
use crate::server::{ApiError, AppState, Caller, Permission};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Done,
    Failed,
    Cancelled,
}

/// The low-priority pool every reconcile job runs in: built once, so runs do not each leave a
/// pool's worth of thread stacks and malloc arenas behind.
fn reconcile_pool() -> Result<&'static rayon::ThreadPool, String> {
    static POOL: std::sync::OnceLock<Result<rayon::ThreadPool, String>> =
        std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("reconcile-{i}"))
            .start_handler(|_| lower_priority())
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// What a client sees of a job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobStatus {
    pub id: String,
    pub state: JobState,
    pub blueprint: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub actor: String,
    /// Rule id → (subject features done, total).
    pub progress: BTreeMap<String, (u64, u64)>,
    pub pieces: Option<u64>,
    pub error: Option<String>,
}

struct Job {
    status: Mutex<JobStatus>,
    cancel: AtomicBool,
    dir: PathBuf,
}

/// The jobs of this server process.
#[derive(Default)]
pub struct Jobs {
    jobs: Mutex<HashMap<String, Arc<Job>>>,
}

impl Jobs {
    fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.jobs.lock().ok().and_then(|j| j.get(id).cloned())
    }

    fn running(&self) -> usize {
        self.jobs
            .lock()
            .map(|j| {
                j.values()
                    .filter(|job| {
                        job.status
                            .lock()
                            .map(|s| s.state == JobState::Running)
                            .unwrap_or(false)
                    })
                    .count()
            })
            .unwrap_or(0)
    }
}

fn snapshot(job: &Job) -> JobStatus {
    job.status
        .lock()
        .map(|s| s.clone())
        .unwrap_or_else(|p| p.into_inner().clone())
}

fn update(job: &Job, f: impl FnOnce(&mut JobStatus)) {
    match job.status.lock() {
        Ok(mut s) => f(&mut s),
        Err(p) => f(&mut p.into_inner()),
    }
}

/// Parameters of a run (all optional; the rule set's sliver policy applies otherwise).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct StartRequest {
    /// A rule set (TOML text); default: the blueprint's rules, else the built-in default.
    pub rules: Option<String>,
    pub min_area_m2: Option<f64>,
    pub min_width_m: Option<f64>,
    pub fine_area_m2: Option<f64>,
}

/// Lowers the calling thread's scheduling priority (Linux `SCHED_IDLE`, else `nice` 19) so
/// interactive work on the other threads preempts it.
fn lower_priority() {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    // SCHED_IDLE: a site check that wakes up preempts the run at once, where nice 19 still let
    // it finish its time slice (p99 of site checks at 64 clients: 11 ms with nice 19 while runs
    // went on, 3.5 ms without runs). Threads the run spawns inherit the policy.
    let idle = set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    );
    if idle.is_err() {
        let _ = thread_priority::set_current_thread_priority(ThreadPriority::Min);
    }
}

/// Start a reconciliation run (planners and admins); returns 202 with the job.
#[utoipa::path(post, path = "/api/reconcile", tag = "reconcile",
    request_body(content = StartRequest, content_type = "application/json"),
    responses((status = 202, body = JobStatus), (status = 403, body = crate::server::error::Problem), (status = 409, body = crate::server::error::Problem)))]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        Json<JobStatus>,
    ),
    ApiError,
> {
    caller.require(Permission::Reconcile)?;
    let req: StartRequest = if body.is_empty() {
        StartRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "malformed JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ))
        })?
    };
    if state.jobs.running() > 0 {
        return Err(ApiError::conflict(
            "a reconciliation run is already in progress; wait or cancel it",
        ));
    }
    let bp = state.blueprint();
    let rules = match &req.rules {
        Some(text) => {
            RuleSet::parse(text, "request").map_err(|e| ApiError::unprocessable(e.to_string()))?
        }
        None => RuleSet::for_blueprint(&bp.meta).map_err(|e| ApiError::internal(e.to_string()))?,
    };
    let mut policy = rules.sliver;
    for (v, slot) in [
        (req.min_area_m2, &mut policy.min_area_m2),
        (req.min_width_m, &mut policy.min_width_m),
        (req.fine_area_m2, &mut policy.fine_area_m2),
    ] {
        if let Some(v) = v {
            if !(v.is_finite() && v >= 0.0) {
                return Err(ApiError::unprocessable(
                    "sliver thresholds must be non-negative numbers",
                ));
            }
            *slot = v;
        }
    }
    let id = format!(
        "RUN-{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ"),
        std::process::id()
    );
    let dir = state.store.root().join("runs").join(&id);
    let job = Arc::new(Job {
        status: Mutex::new(JobStatus {
            id: id.clone(),
            state: JobState::Running,
            blueprint: bp.label(),
            started_at: crate::store::now_rfc3339(),
            finished_at: None,
            actor: caller.actor(),
            progress: BTreeMap::new(),
            pieces: None,
            error: None,
        }),
        cancel: AtomicBool::new(false),
        dir: dir.clone(),
    });
    if let Ok(mut jobs) = state.jobs.jobs.lock() {
        jobs.insert(id.clone(), job.clone());
    }
    state.metrics.reconcile_runs.fetch_add(1, Ordering::Relaxed);
    let store = state.store.clone();
    let actor = caller.actor();
    let worker_job = job.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("reconcile-{id}"))
        .spawn(move || {
            let job = worker_job;
            lower_priority();
            let result = reconcile_pool().and_then(|pool| {
                pool.install(|| run(&store, &bp, &rules, Params::new(policy), &job, &actor))
            });
            update(&job, |s| {
                s.finished_at = Some(crate::store::now_rfc3339());
                match result {
                    Ok(pieces) => {
                        s.state = JobState::Done;
                        s.pieces = Some(pieces);
                    }
                    Err(e) if job.cancel.load(Ordering::Relaxed) => {
                        s.state = JobState::Cancelled;
                        s.error = Some(e);
                    }
                    Err(e) => {
                        s.state = JobState::Failed;
                        s.error = Some(e);
                    }
                }
            });
        });
    if let Err(e) = spawned {
        return Err(ApiError::internal(format!("cannot start the run: {e}")));
    }
    let status = snapshot(&job);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/api/reconcile/{id}"))],
        Json(status),
    ))
}

fn run(
    store: &crate::store::Store,
    bp: &crate::blueprint::Blueprint,
    rules: &RuleSet,
    params: Params,
    job: &Job,
    actor: &str,
) -> Result<u64, String> {
    let started = crate::store::now_rfc3339();
    let sources = reconcile::Sources::open(store, &bp.meta, rules).map_err(|e| e.to_string())?;
    let names = rules
        .rules
        .iter()
        .map(|r| (r.id.clone(), r.name.clone()))
        .collect();
    let mut files = FileSink::create(
        &job.dir,
        bp,
        names,
        Formats {
            xlsx: true,
            geojson: true,
            shapefile: false,
        },
        GisWriters::all(),
    )
    .map_err(|e| e.to_string())?;
    let srs = match &bp.crs {
        crate::crs::Crs::Epsg(c) => *c as i32,
        _ => 0,
    };
    let id = job
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut ledger =
        LedgerSink::begin(store, &bp.meta.name, &id, srs).map_err(|e| e.to_string())?;
    let progress = |rule: &str, done: u64, total: u64| {
        update(job, |s| {
            s.progress.insert(rule.to_string(), (done, total));
        });
    };
    let cancelled = || job.cancel.load(Ordering::Relaxed);
    let report = {
        let mut sinks: Vec<&mut dyn Sink> = vec![&mut files, &mut ledger];
        let mut tee = Tee {
            sinks: std::mem::take(&mut sinks),
        };
        reconcile::reconcile(bp, &sources, rules, params, &mut tee, &progress, &cancelled)
            .map_err(|e| e.to_string())?
    };
    let pieces = files.pieces;
    let mut summary = summarise(&id, bp, &report, None);
    let ran: Vec<String> = report.rules.iter().map(|r| r.id.clone()).collect();
    let diff = ledger
        .finish(
            &ran,
            bp.meta.version,
            &started,
            actor,
            &serde_json::to_value(&summary).unwrap_or_default(),
        )
        .map_err(|e| e.to_string())?;
    summary.ledger = Some(diff);
    files.finish(&summary).map_err(|e| e.to_string())?;
    Ok(pieces)
}

fn job_or_404(state: &AppState, id: &str) -> Result<Arc<Job>, ApiError> {
    state.jobs.get(id).ok_or_else(|| {
        ApiError::not_found(format!("no reconciliation run {id}")).with_input(id.to_string())
    })
}

/// The runs of this server process.
#[utoipa::path(get, path = "/api/reconcile", tag = "reconcile", responses((status = 200, body = [JobStatus])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<JobStatus>>, ApiError> {
    caller.require(Permission::Read)?;
    let mut all: Vec<JobStatus> = state
        .jobs
        .jobs
        .lock()
        .map(|j| j.values().map(|job| snapshot(job)).collect())
        .unwrap_or_default();
    all.sort_by(|a, b| b.started_at.cmp(&a.started_at));
    Ok(Json(all))
}

/// Progress of a run.
#[utoipa::path(get, path = "/api/reconcile/{id}", tag = "reconcile",
    params(("id" = String, Path)), responses((status = 200, body = JobStatus), (status = 404, body = crate::server::error::Problem)))]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobStatus>, ApiError> {
    caller.require(Permission::Read)?;
    let job = job_or_404(&state, &id)?;
    Ok(Json(snapshot(&job)))
}

/// Cancel a running run (planners and admins); nothing of it is recorded in the ledger.
#[utoipa::path(delete, path = "/api/reconcile/{id}", tag = "reconcile",
    params(("id" = String, Path)), responses((status = 202, body = JobStatus), (status = 404, body = crate::server::error::Problem)))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<JobStatus>), ApiError> {
    caller.require(Permission::Reconcile)?;
    let job = job_or_404(&state, &id)?;
    job.cancel.store(true, Ordering::Relaxed);
    let store = state.store.clone();
    let actor = caller.actor();
    let target = id.clone();
    tokio::task::spawn_blocking(move || {
        store.audit(
            &actor,
            "reconcile.cancel",
            &target,
            "",
            &serde_json::json!({}),
        )
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok((StatusCode::ACCEPTED, Json(snapshot(&job))))
}

fn finished_file(state: &AppState, id: &str, name: &str) -> Result<PathBuf, ApiError> {
    let job = job_or_404(state, id)?;
    let s = snapshot(&job);
    if s.state != JobState::Done {
        return Err(ApiError::conflict(format!(
            "run {id} is {:?}; results exist once it is done",
            s.state
        )));
    }
    Ok(job.dir.join(name))
}

async fn file_response(
    path: PathBuf,
    content_type: &'static str,
    download: &str,
) -> Result<Response, ApiError> {
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| ApiError::internal(format!("{}: {e}", path.display())))?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{download}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// summary.json of a finished run.
#[utoipa::path(get, path = "/api/reconcile/{id}/summary", tag = "reconcile",
    params(("id" = String, Path)), responses((status = 200, body = Object), (status = 409, body = crate::server::error::Problem)))]
pub async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let p = finished_file(&state, &id, "summary.json")?;
    file_response(p, "application/json", "summary.json").await
}

/// The result parcels of a finished run as GeoJSON (EPSG:4490).
#[utoipa::path(get, path = "/api/reconcile/{id}/conflicts.geojson", tag = "reconcile",
    params(("id" = String, Path)), responses((status = 200, body = Object), (status = 409, body = crate::server::error::Problem)))]
pub async fn result_geojson(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let p = finished_file(&state, &id, "conflicts.geojson")?;
    file_response(
        p,
        "application/geo+json",
        &format!("{id}-conflicts.geojson"),
    )
    .await
}

/// The result parcels of a finished run as GeoPackage.
#[utoipa::path(get, path = "/api/reconcile/{id}/conflicts.gpkg", tag = "reconcile",
    params(("id" = String, Path)), responses((status = 200, description = "GeoPackage"), (status = 409, body = crate::server::error::Problem)))]
pub async fn result_gpkg(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let p = finished_file(&state, &id, "conflicts.gpkg")?;
    file_response(
        p,
        "application/geopackage+sqlite3",
        &format!("{id}-conflicts.gpkg"),
    )
    .await
}
