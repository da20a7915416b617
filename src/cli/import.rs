//! `lantu import`: a whole manifest, or one file as a layer.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use lantu::blueprint::{self, ClassSpec, LayerSpec, Provenance};
use lantu::crs::Crs;
use lantu::geometry::validate::RepairPolicy;
use lantu::import::{ImportError, ImportReport, import_path};
use lantu::layer::{GeomKind, LayerRole};
use lantu::store::{NewVersion, Store};

use super::inspect::print_summary;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The store directory (default $LANTU_STORE or ./store).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// A blueprint manifest (TOML) to import as a whole.
    #[arg(long, conflicts_with = "file")]
    pub manifest: Option<PathBuf>,
    /// One source file (or .gdb directory, or .zip) to import as a layer.
    #[arg(long, requires_all = ["layer", "role"])]
    pub file: Option<PathBuf>,
    /// Layer id for --file.
    #[arg(long)]
    pub layer: Option<String>,
    /// Layer role for --file (urban_plan, landuse_plan, control_line, sector, assessment,
    /// survey, boundary, site, status).
    #[arg(long)]
    pub role: Option<String>,
    /// Chinese display name of the layer.
    #[arg(long)]
    pub title: Option<String>,
    /// Layer inside a multi-layer source (GeoPackage, FileGDB, KML).
    #[arg(long)]
    pub source_layer: Option<String>,
    /// CRS of the source when the file does not say (EPSG:4546, EPSG:4525, EPSG:4490, GCJ02 …).
    #[arg(long)]
    pub crs: Option<String>,
    /// The source's own feature id field.
    #[arg(long)]
    pub id_field: Option<String>,
    /// Class code field.
    #[arg(long, requires = "class_system")]
    pub class_field: Option<String>,
    /// Class code system of --class-field (GB50137-2011, GBT21010-2017, YDYH-2023, TDGH-GZQ …).
    #[arg(long)]
    pub class_system: Option<String>,
    /// Attribute encoding when the source does not declare it (GBK, UTF-8).
    #[arg(long)]
    pub encoding: Option<String>,
    /// Expected geometry kind (polygon, line, point).
    #[arg(long)]
    pub kind: Option<String>,
    /// Reject features that need repair instead of repairing them.
    #[arg(long)]
    pub strict: bool,
    /// Import the valid features even when some are rejected (all are listed).
    #[arg(long)]
    pub allow_rejects: bool,
    /// Blueprint to add the layer to (default: the store's default blueprint, or "default").
    #[arg(long)]
    pub blueprint: Option<String>,
    /// Working CRS for a new blueprint created by --file.
    #[arg(long, default_value = "EPSG:4546")]
    pub working_crs: String,
    /// 编制/发布单位.
    #[arg(long)]
    pub issuing_body: Option<String>,
    /// 批准文号.
    #[arg(long)]
    pub approval_no: Option<String>,
    /// 批准日期 (YYYY-MM-DD).
    #[arg(long)]
    pub approval_date: Option<String>,
    /// Data vintage (数据年份).
    #[arg(long)]
    pub vintage: Option<String>,
    /// Name recorded in the audit log (default: cli:$USER@host).
    #[arg(long)]
    pub actor: Option<String>,
    /// Print the full import report(s) as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: ImportArgs) -> anyhow::Result<ExitCode> {
    let store_dir = super::store_dir(a.store.clone());
    let store = Store::open(&store_dir)
        .with_context(|| format!("opening store {}", store_dir.display()))?;
    let actor = super::actor(a.actor.as_deref());
    if let Some(manifest) = &a.manifest {
        let progress = |line: &str| eprintln!("  imported {line}");
        let result = match blueprint::import_manifest(&store, manifest, &actor, &progress) {
            Ok(r) => r,
            Err(blueprint::BlueprintError::Import(e)) => return import_failed(e),
            Err(e) => return Err(e.into()),
        };
        if a.json {
            println!("{}", serde_json::to_string_pretty(&result.reports)?);
        } else {
            for r in &result.reports {
                print_report(r);
            }
            print_summary(&result.blueprint, &store)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(file) = &a.file else {
        bail!("give --manifest FILE, or --file PATH with --layer and --role");
    };
    let spec = single_spec(&a, file)?;
    blueprint::spec::check_layer_id(&spec.id).map_err(anyhow::Error::msg)?;
    let bp_name = match &a.blueprint {
        Some(n) => n.clone(),
        None => store
            .default_blueprint()?
            .unwrap_or_else(|| "default".to_string()),
    };
    let working: Crs = match store.blueprint(&bp_name, None) {
        Ok(b) => b.crs.parse()?,
        Err(_) => a.working_crs.parse()?,
    };
    let epsg = match working {
        Crs::Epsg(c) => c,
        ref other => bail!("the working CRS must be an EPSG code, not {other}"),
    };
    let layer = match import_path(&spec, file, &working) {
        Ok(l) => l,
        Err(e) => return import_failed(e),
    };
    let object = store.put_layer(&layer.data, epsg)?;
    // Test hook: lets the crash test kill the process between object write and catalog commit.
    if std::env::var("LANTU_FAILPOINT").as_deref() == Ok("before-commit") {
        std::thread::sleep(std::time::Duration::from_secs(600));
    }
    let version = NewVersion {
        hash: object.hash,
        spec: spec.clone(),
        source: layer.source.clone(),
        working_crs: working.to_string(),
        feature_count: layer.data.features.len(),
        planar_area_m2: layer.report.planar_area_m2,
        ellipsoidal_area_m2: layer.report.ellipsoidal_area_m2,
        repaired: layer.report.substantive_repairs(),
        rejected: layer.report.rejected.len(),
        report: serde_json::to_value(&layer.report)?,
    };
    let bp = store.commit_import(
        &bp_name,
        &working.to_string(),
        None,
        &[version],
        &actor,
        &format!("file {}", file.display()),
        false,
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&layer.report)?);
    } else {
        print_report(&layer.report);
        print_summary(&bp, &store)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn single_spec(a: &ImportArgs, file: &Path) -> anyhow::Result<LayerSpec> {
    let id = a.layer.clone().unwrap_or_default();
    let role: LayerRole = a
        .role
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(anyhow::Error::msg)?;
    let mut spec = LayerSpec::new(&id, role);
    spec.title = a.title.clone().unwrap_or_default();
    spec.source = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    spec.source_layer = a.source_layer.clone();
    spec.id_field = a.id_field.clone();
    spec.class = match (&a.class_field, &a.class_system) {
        (Some(field), Some(system)) => Some(ClassSpec {
            field: field.clone(),
            system: system.clone(),
        }),
        _ => None,
    };
    spec.encoding = a.encoding.clone();
    spec.crs = a.crs.clone();
    spec.kind = a
        .kind
        .as_deref()
        .map(str::parse::<GeomKind>)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    spec.repair = if a.strict {
        RepairPolicy::Strict
    } else {
        RepairPolicy::Repair
    };
    spec.allow_rejects = a.allow_rejects;
    spec.provenance = Provenance {
        issuing_body: a.issuing_body.clone(),
        approval_no: a.approval_no.clone(),
        approval_date: a.approval_date.clone(),
        vintage: a.vintage.clone(),
    };
    Ok(spec)
}

/// Prints a failed import with every rejected feature, then fails.
fn import_failed(e: ImportError) -> anyhow::Result<ExitCode> {
    if let ImportError::Rejected { report, .. } = &e {
        eprintln!("rejected features of layer `{}`:", report.layer);
        for r in &report.rejected {
            eprintln!("  {}  {}", r.id, r.reason);
        }
    }
    eprintln!("error: {e}");
    eprintln!("the store is unchanged");
    Ok(ExitCode::FAILURE)
}

pub fn print_report(r: &ImportReport) {
    println!(
        "layer {}: {} of {} features from {} ({}), CRS {} [{}{}]",
        r.layer,
        r.imported,
        r.read,
        r.source,
        r.format,
        r.crs.crs,
        match &r.crs.source {
            lantu::crs::CrsSource::Declared => "declared".to_string(),
            lantu::crs::CrsSource::File => "from file".to_string(),
            lantu::crs::CrsSource::Detected { reason } => format!("detected: {reason}"),
        },
        if r.crs.swapped { ", axes swapped" } else { "" }
    );
    if let Some(enc) = &r.encoding {
        println!("  text encoding: {enc}");
    }
    for w in &r.warnings {
        println!("  warning: {w}");
    }
    let substantive = r.substantive_repairs();
    if substantive > 0 {
        println!("  repaired {substantive} features:");
        for f in r
            .repaired
            .iter()
            .filter(|f| {
                f.repairs
                    .iter()
                    .any(|x| !matches!(x, lantu::geometry::validate::Repair::Reoriented { .. }))
            })
            .take(20)
        {
            let what: Vec<String> = f.repairs.iter().map(|x| x.to_string()).collect();
            println!("    {}: {}", f.id, what.join("; "));
        }
        if substantive > 20 {
            println!("    … and {} more (see --json)", substantive - 20);
        }
    }
    for rj in &r.rejected {
        println!("  rejected {}: {}", rj.id, rj.reason);
    }
    for u in &r.unknown_codes {
        println!(
            "  unknown class code `{}` on {} features (e.g. {})",
            u.code,
            u.count,
            u.features
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}
