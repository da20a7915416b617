//! Commands that read the store: summary, layers, blueprints, audit, export, load, verify.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use lantu::blueprint::Blueprint;
use lantu::export::{self, ExportFormat, ExportOptions};
use lantu::geometry::area::{hectares, mu};
use lantu::store::{BlueprintVersion, Store};

#[derive(Debug, Args)]
pub struct StoreArg {
    /// The store directory (default $LANTU_STORE or ./store).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Blueprint name (default: the store's default blueprint).
    #[arg(long)]
    pub blueprint: Option<String>,
    /// Blueprint version (default: the active one).
    #[arg(long)]
    pub version: Option<i64>,
}

impl StoreArg {
    pub fn open(&self) -> anyhow::Result<Store> {
        let dir = super::store_dir(self.store.clone());
        if !dir.join("catalog.sqlite").exists() {
            bail!(
                "no store at {} (import a manifest first: lantu import --manifest …)",
                dir.display()
            );
        }
        Store::open(&dir).with_context(|| format!("opening store {}", dir.display()))
    }

    /// Opens the store, importing `manifest` into it first when one is given (the store is
    /// created then if it does not exist yet).
    pub fn open_or_import(
        &self,
        manifest: Option<&std::path::Path>,
        actor: &str,
    ) -> anyhow::Result<Store> {
        let Some(m) = manifest else {
            return self.open();
        };
        let dir = super::store_dir(self.store.clone());
        let store =
            Store::open(&dir).with_context(|| format!("opening store {}", dir.display()))?;
        let progress = |line: &str| eprintln!("  imported {line}");
        lantu::blueprint::import_manifest(&store, m, actor, &progress)
            .with_context(|| format!("importing {}", m.display()))?;
        Ok(store)
    }

    pub fn blueprint(&self, store: &Store) -> anyhow::Result<BlueprintVersion> {
        let name = match &self.blueprint {
            Some(n) => n.clone(),
            None => store
                .default_blueprint()?
                .context("the store has no blueprint yet")?,
        };
        Ok(store.blueprint(&name, self.version)?)
    }
}

#[derive(Debug, Args)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn summary(a: SummaryArgs) -> anyhow::Result<ExitCode> {
    let store = a.store.open()?;
    let bp = a.store.blueprint(&store)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&bp)?);
    } else {
        print_summary(&bp, &store)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The blueprint summary: one line per layer with counts, areas and repairs.
pub fn print_summary(bp: &BlueprintVersion, store: &Store) -> anyhow::Result<()> {
    println!();
    println!(
        "blueprint {}@{} ({} layers, working CRS {}, created {})",
        bp.name,
        bp.version,
        bp.layers.len(),
        bp.crs,
        bp.created_at
    );
    println!(
        "{:<10} {:<13} {:<8} {:>8} {:>16} {:>16} {:>12} {:>8} {:>8}  title / source",
        "layer",
        "role",
        "version",
        "features",
        "planar m²",
        "ellipsoidal m²",
        "公顷",
        "repaired",
        "rejected"
    );
    for l in &bp.layers {
        let area = |v: f64| {
            if v > 0.0 {
                format!("{v:.2}")
            } else {
                "-".to_string()
            }
        };
        println!(
            "{:<10} {:<13} {:<8} {:>8} {:>16} {:>16} {:>12} {:>8} {:>8}  {} ({}, {})",
            l.layer_id,
            l.spec.role.as_str(),
            format!("v{} {}", l.seq, &l.hash[..6]),
            l.feature_count,
            area(l.planar_area_m2),
            area(l.ellipsoidal_area_m2),
            if l.planar_area_m2 > 0.0 {
                format!("{:.4}", hectares(l.ellipsoidal_area_m2))
            } else {
                "-".to_string()
            },
            l.repaired,
            l.rejected,
            l.spec.display_title(),
            l.source.name,
            l.source.crs.crs,
        );
    }
    let audit = store.audit_log(None, 1)?;
    if let Some(e) = audit.first() {
        println!(
            "last audit entry #{}: {} {} by {}",
            e.seq, e.action, e.target, e.actor
        );
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct LayersArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Show every version of this layer with provenance.
    #[arg(long)]
    pub layer: Option<String>,
}

pub fn layers(a: LayersArgs) -> anyhow::Result<ExitCode> {
    let store = a.store.open()?;
    match &a.layer {
        Some(id) => {
            for v in store.layer_versions(id)? {
                println!(
                    "{} v{} {} imported {} — {} features, {:.2} m² (椭球 {:.2} m², {:.2} 亩)",
                    v.layer_id,
                    v.seq,
                    v.hash,
                    v.imported_at,
                    v.feature_count,
                    v.planar_area_m2,
                    v.ellipsoidal_area_m2,
                    mu(v.ellipsoidal_area_m2)
                );
                println!(
                    "    source {} ({}, sha256 {}), CRS {}",
                    v.source.name, v.source.format, v.source.hash, v.source.crs.crs
                );
                let p = &v.spec.provenance;
                println!(
                    "    发布单位 {} · 批准文号 {} · 批准日期 {} · 数据年份 {}",
                    p.issuing_body.as_deref().unwrap_or("-"),
                    p.approval_no.as_deref().unwrap_or("-"),
                    p.approval_date.as_deref().unwrap_or("-"),
                    p.vintage.as_deref().unwrap_or("-")
                );
            }
        }
        None => {
            let bp = a.store.blueprint(&store)?;
            for l in &bp.layers {
                println!(
                    "{:<10} v{:<3} {}  {}",
                    l.layer_id,
                    l.seq,
                    l.hash,
                    l.spec.display_title()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct BlueprintsArgs {
    /// The store directory (default $LANTU_STORE or ./store).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Make VERSION of BLUEPRINT the active version (rollback or roll-forward).
    #[arg(long, requires = "version")]
    pub activate: Option<String>,
    #[arg(long)]
    pub version: Option<i64>,
    #[arg(long)]
    pub actor: Option<String>,
}

pub fn blueprints(a: BlueprintsArgs) -> anyhow::Result<ExitCode> {
    let s = StoreArg {
        store: a.store.clone(),
        blueprint: None,
        version: None,
    };
    let store = s.open()?;
    if let (Some(name), Some(version)) = (&a.activate, a.version) {
        store.activate(name, version, &super::actor(a.actor.as_deref()))?;
        println!("{name}@{version} is now active");
    }
    let default = store.default_blueprint()?;
    for (name, head, count) in store.blueprints()? {
        let mark = if Some(&name) == default.as_ref() {
            "*"
        } else {
            " "
        };
        println!("{mark} {name}  active v{head} of {count} versions");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The store directory (default $LANTU_STORE or ./store).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Only this action (import, activate, …).
    #[arg(long)]
    pub action: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

pub fn audit(a: AuditArgs) -> anyhow::Result<ExitCode> {
    let s = StoreArg {
        store: a.store.clone(),
        blueprint: None,
        version: None,
    };
    let store = s.open()?;
    for e in store.audit_log(a.action.as_deref(), a.limit)? {
        println!(
            "#{} {} {} {} {} [{}] {}",
            e.seq, e.at, e.actor, e.action, e.target, e.blueprint, e.detail
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Layer id.
    #[arg(long)]
    pub layer: String,
    /// A specific layer version (hash or unique prefix); default: the blueprint's.
    #[arg(long)]
    pub layer_version: Option<String>,
    /// gpkg, shp (GBK with .cpg) or geojson (EPSG:4490 lon/lat).
    #[arg(long)]
    pub format: String,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
    /// Append cls_name and cls_cons (construction yes/no/conditional/unknown) as lantu's code
    /// tables read the layer's classes.
    #[arg(long)]
    pub class_flags: bool,
}

pub fn export(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let store = a.store.open()?;
    let format: ExportFormat = a.format.parse()?;
    let version = match &a.layer_version {
        Some(prefix) => {
            let all = store.layer_versions(&a.layer)?;
            let hits: Vec<_> = all
                .into_iter()
                .filter(|v| v.hash.starts_with(prefix))
                .collect();
            match hits.len() {
                1 => hits.into_iter().next().context("version")?,
                0 => bail!("layer `{}` has no version {prefix}", a.layer),
                _ => bail!("version prefix {prefix} is ambiguous"),
            }
        }
        None => {
            let bp = a.store.blueprint(&store)?;
            bp.layer(&a.layer)
                .cloned()
                .with_context(|| format!("blueprint {} has no layer `{}`", bp.name, a.layer))?
        }
    };
    let data = store.read_layer(&version.hash)?;
    let working = version.working_crs.parse()?;
    let options = ExportOptions {
        id_column: if version.spec.id_field.is_some() {
            None
        } else {
            Some("src_fid".to_string())
        },
        class_column: None,
        class_flags: if a.class_flags {
            version.spec.class.as_ref().map(|c| c.system.clone())
        } else {
            None
        },
    };
    export::write(&data, &working, format, &a.out, &a.layer, &options)?;
    println!(
        "wrote {} features of {} v{} ({}) to {}",
        data.features.len(),
        version.layer_id,
        version.seq,
        &version.hash[..12],
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Repeat the load N times and report each time.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
}

pub fn load(a: LoadArgs) -> anyhow::Result<ExitCode> {
    let store = a.store.open()?;
    let meta = a.store.blueprint(&store)?;
    for i in 0..a.repeat.max(1) {
        let bp = Blueprint::load(&store, meta.clone())?;
        let features: usize = bp.layers.iter().map(|l| l.data.features.len()).sum();
        println!(
            "load {}: {} layers, {} features, R-trees built, {:.3} s",
            i + 1,
            bp.layers.len(),
            features,
            bp.load_seconds
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub checklist: super::check::VerifyChecklistArgs,
}

pub fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    if a.checklist.checklist.is_some() || a.checklist.sha256.is_some() {
        let store = match a.checklist.sha256 {
            Some(_) => Some(a.store.open()?),
            None => None,
        };
        let ok = super::check::verify_checklist(&a.checklist, store.as_ref())?;
        return Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let store = a.store.open()?;
    let bp = a.store.blueprint(&store)?;
    let mut bad = 0;
    for l in &bp.layers {
        match store.verify_object(&l.hash) {
            Ok(()) => println!("ok      {} {}", l.layer_id, l.hash),
            Err(e) => {
                bad += 1;
                println!("CORRUPT {} {}: {e}", l.layer_id, l.hash);
            }
        }
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
