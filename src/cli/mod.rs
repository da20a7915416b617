//! Command-line interface. `anyhow` lives here, at the binary's edge; the library's errors are
//! typed.

mod check;
mod import;
mod inspect;
pub mod reconcile;
mod sample;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "lantu",
    version,
    about = "蓝图 — one blueprint for all plans of a district: import, reconcile, check sites, issue checklists"
)]
pub struct Cli {
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import a blueprint manifest, or one file as a layer, into a store.
    Import(import::ImportArgs),
    /// Write a stored layer version out as GeoPackage, GBK Shapefile or GeoJSON (EPSG:4490).
    Export(inspect::ExportArgs),
    /// Summarise a blueprint: layers, versions, feature counts, areas, repairs.
    Summary(inspect::SummaryArgs),
    /// List the versions of a layer, or every layer.
    Layers(inspect::LayersArgs),
    /// List blueprints, or make an earlier version of one active.
    Blueprints(inspect::BlueprintsArgs),
    /// Show the audit log.
    Audit(inspect::AuditArgs),
    /// Load a blueprint from the store into memory with its R-trees and report the time.
    Load(inspect::LoadArgs),
    /// Re-hash every layer object of a blueprint and compare with the catalog; or, with
    /// --checklist / --sha256, verify an issued checklist.
    Verify(inspect::VerifyArgs),
    /// Check a site (or every site of a file) and issue the 土地资源和技术控制指标清单.
    Check(check::CheckArgs),
    /// Reconcile the plans of a blueprint: conflict parcels (差异图斑), statistics, ledger.
    Reconcile(reconcile::ReconcileArgs),
    /// The conflict ledger: list, show, move parcels through the lifecycle.
    Conflicts(reconcile::ConflictsArgs),
    /// Serve the API, vector tiles, OGC API – Features and the web map.
    Serve(serve::ServeArgs),
    /// API keys: create, list, revoke.
    Keys(serve::KeysArgs),
    /// Generate the synthetic sample district (office formats, manifest, expected answers).
    Sample(sample::SampleArgs),
}

pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LANTU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Who the audit log names for CLI actions: `--actor`, else `$USER@host`.
pub fn actor(explicit: Option<&str>) -> String {
    if let Some(a) = explicit {
        return a.to_string();
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_string());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    if host.is_empty() {
        format!("cli:{user}")
    } else {
        format!("cli:{user}@{host}")
    }
}

/// The store directory: `--store`, else `$LANTU_STORE`, else `./store`.
pub fn store_dir(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| std::env::var_os("LANTU_STORE").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("store"))
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Import(a) => import::run(a),
        Command::Export(a) => inspect::export(a),
        Command::Summary(a) => inspect::summary(a),
        Command::Layers(a) => inspect::layers(a),
        Command::Blueprints(a) => inspect::blueprints(a),
        Command::Audit(a) => inspect::audit(a),
        Command::Load(a) => inspect::load(a),
        Command::Verify(a) => inspect::verify(a),
        Command::Check(a) => check::check(a),
        Command::Reconcile(a) => reconcile::reconcile(a, reconcile::Gis::full()),
        Command::Conflicts(a) => reconcile::conflicts(a),
        Command::Serve(a) => serve::serve(a),
        Command::Keys(a) => serve::keys(a),
        Command::Sample(a) => sample::run(a),
    }
}
