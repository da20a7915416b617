//! `lantu reconcile` (the batch job) and `lantu conflicts` (the ledger).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use lantu::blueprint::Blueprint;
use lantu::geometry::area::{hectares, mu};
use lantu::reconcile::ledger::{self, Filter, LedgerSink};
use lantu::reconcile::output::{FileSink, Formats, GisWriters, Tee, summarise};
use lantu::reconcile::{self, Params, Sink, Sources};
use lantu::rules::RuleSet;
use lantu::store::{Store, now_rfc3339};

use super::inspect::StoreArg;

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Import this manifest first, then reconcile the blueprint it describes.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Output directory (created; must not hold earlier results).
    #[arg(long)]
    pub out: PathBuf,
    /// Rule set (TOML); default: the manifest's, else data/rules/default.toml (embedded).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Pieces smaller than this are numerical noise and dropped (m²).
    #[arg(long)]
    pub min_area_m2: Option<f64>,
    /// Pieces vanishing under a negative buffer of half this width are boundary slivers and
    /// dropped (m); 0 disables the width test.
    #[arg(long)]
    pub min_width_m: Option<f64>,
    /// Pieces smaller than this are flagged 细碎 (m²).
    #[arg(long)]
    pub fine_area_m2: Option<f64>,
    /// Also write conflicts.geojson (EPSG:4490 lon/lat).
    #[arg(long)]
    pub geojson: bool,
    /// Also write conflicts.shp (GBK, with .cpg).
    #[arg(long)]
    pub shp: bool,
    /// Skip the XLSX ledger.
    #[arg(long)]
    pub no_xlsx: bool,
    /// Do not record the run in the store's conflict ledger.
    #[arg(long)]
    pub no_ledger: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long)]
    pub actor: Option<String>,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Imports a manifest into the store named by the arguments (as `actor`), then opens it.
pub type ImportFn = fn(&StoreArg, &Path, &str) -> anyhow::Result<Store>;

/// What the GDAL-linked binary adds to the batch job. The front end `lantu` runs the job with
/// none of it (see src/main.rs) and hands runs that need it to `lantu-full`.
#[derive(Clone, Copy, Default)]
pub struct Gis {
    /// Imports a manifest into the store, then opens it (`--manifest`).
    pub import: Option<ImportFn>,
    pub writers: GisWriters,
}

impl Gis {
    pub fn full() -> Gis {
        Gis {
            import: Some(|store, manifest, actor| store.open_or_import(Some(manifest), actor)),
            writers: GisWriters::all(),
        }
    }
}

impl ReconcileArgs {
    /// Whether the run imports a manifest or writes GeoJSON or Shapefile output (asked by the
    /// front end only).
    #[allow(dead_code)]
    pub fn needs_gis(&self) -> bool {
        self.manifest.is_some() || self.geojson || self.shp
    }
}

pub fn reconcile(a: ReconcileArgs, gis: Gis) -> anyhow::Result<ExitCode> {
    if let Some(n) = a.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("setting the thread count")?;
    }
    let actor = super::actor(a.actor.as_deref());
    let store = match (&a.manifest, gis.import) {
        (None, _) => a.store.open()?,
        (Some(m), Some(import)) => import(&a.store, m, &actor)?,
        (Some(_), None) => bail!("--manifest needs the GDAL build of lantu (lantu-full)"),
    };
    let meta = a.store.blueprint(&store)?;
    let rules = match &a.rules {
        Some(p) => RuleSet::load(p)?,
        None => RuleSet::for_blueprint(&meta)?,
    };
    let mut policy = rules.sliver;
    if let Some(v) = a.min_area_m2 {
        policy.min_area_m2 = v;
    }
    if let Some(v) = a.min_width_m {
        policy.min_width_m = v;
    }
    if let Some(v) = a.fine_area_m2 {
        policy.fine_area_m2 = v;
    }
    if !(policy.min_area_m2 >= 0.0 && policy.min_width_m >= 0.0 && policy.fine_area_m2 >= 0.0) {
        bail!("sliver thresholds must be non-negative numbers");
    }
    let started_at = now_rfc3339();
    // The rules' layers are read through their flat indexes (geometry on demand); only the
    // town boundaries pieces are attributed to are decoded.
    let bp = Blueprint::load_only(&store, meta, |v| {
        v.spec.role == lantu::layer::LayerRole::Boundary
    })?;
    let run_id = format!(
        "RUN-{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ"),
        std::process::id()
    );
    let rule_names: HashMap<String, String> = rules
        .rules
        .iter()
        .map(|r| (r.id.clone(), r.name.clone()))
        .collect();
    let formats = Formats {
        xlsx: !a.no_xlsx,
        geojson: a.geojson,
        shapefile: a.shp,
    };
    // The output files are set up while the flat indexes are read.
    let (sources, files) = std::thread::scope(|scope| {
        let files = scope.spawn(|| FileSink::create(&a.out, &bp, rule_names, formats, gis.writers));
        let sources = Sources::open(&store, &bp.meta, &rules);
        (sources, files.join())
    });
    let mut files = files.map_err(|_| anyhow::anyhow!("creating the output files panicked"))??;
    let sources = match sources {
        Ok(s) => s,
        Err(e) => {
            // Leave --out as it was, so the run can simply be repeated.
            files.discard();
            return Err(e.into());
        }
    };
    let srs = match &bp.crs {
        lantu::crs::Crs::Epsg(c) => *c as i32,
        _ => 0,
    };
    let mut ledger_sink = if a.no_ledger {
        None
    } else {
        Some(LedgerSink::begin(&store, &bp.meta.name, &run_id, srs)?)
    };
    let multi = MultiProgress::new();
    if a.quiet {
        multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let bars: Mutex<HashMap<String, ProgressBar>> = Mutex::new(HashMap::new());
    let style =
        ProgressStyle::with_template("{prefix:>14} [{bar:30}] {pos}/{len} {elapsed_precise}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    let progress = |rule: &str, done: u64, total: u64| {
        if a.quiet {
            return;
        }
        let mut bars = bars.lock().unwrap_or_else(|p| p.into_inner());
        let bar = bars.entry(rule.to_string()).or_insert_with(|| {
            let b = multi.add(ProgressBar::new(total));
            b.set_style(style.clone());
            b.set_prefix(rule.to_string());
            b
        });
        bar.set_position(done);
        if done >= total {
            bar.finish();
        }
    };
    let params = Params::new(policy);
    let report = {
        let mut sinks: Vec<&mut dyn Sink> = vec![&mut files];
        if let Some(l) = ledger_sink.as_mut() {
            sinks.push(l);
        }
        let mut tee = Tee { sinks };
        reconcile::reconcile(&bp, &sources, &rules, params, &mut tee, &progress, &|| {
            false
        })?
    };
    let pieces = files.pieces;
    let mut summary = summarise(&run_id, &bp, &report, None);
    if let Some(l) = ledger_sink.take() {
        let ran: Vec<String> = report.rules.iter().map(|r| r.id.clone()).collect();
        let diff = l.finish(
            &ran,
            bp.meta.version,
            &started_at,
            &actor,
            &serde_json::to_value(&summary)?,
        )?;
        summary.ledger = Some(diff);
    }
    files.finish(&summary)?;
    print_summary(&summary, pieces);
    println!("wrote {}", a.out.display());
    // The process ends here: freeing a district's worth of geometry feature by feature would
    // only add to the wall time (measured ~10 % of a run).
    std::mem::forget(bp);
    Ok(ExitCode::SUCCESS)
}

fn print_summary(s: &lantu::reconcile::output::Summary, pieces: u64) {
    println!(
        "\n{} · run {} · {} pieces · {:.2} s · min area {} m², min width {} m, 细碎 < {} m²",
        s.blueprint,
        s.run_id,
        pieces,
        s.seconds,
        s.params.sliver.min_area_m2,
        s.params.sliver.min_width_m,
        s.params.sliver.fine_area_m2
    );
    println!(
        "{:<14} {:>7} {:>16} {:>12} {:>12} {:>7} {:>9} {:>9}  name",
        "rule", "count", "ellipsoidal m²", "公顷", "亩", "细碎", "noise", "slivers"
    );
    for r in &s.rules {
        println!(
            "{:<14} {:>7} {:>16.2} {:>12.4} {:>12.2} {:>7} {:>9} {:>9}  {}",
            r.id,
            r.count,
            r.ellipsoidal_area_m2,
            r.area_ha,
            r.area_mu,
            r.fine.count,
            r.dropped_noise.count,
            r.dropped_sliver.count,
            r.name
        );
    }
    for (id, why) in &s.skipped_rules {
        println!("skipped {id}: {why}");
    }
    for e in s.errors.iter().take(10) {
        println!(
            "pair error in {}: {} × {}: {}",
            e.rule_id,
            e.subject_id,
            e.other_id.as_deref().unwrap_or("-"),
            e.message
        );
    }
    if let Some(l) = &s.ledger {
        println!(
            "ledger: {} appeared, {} unchanged, {} changed, {} reappeared, {} disappeared",
            l.appeared, l.unchanged, l.changed, l.reappeared, l.disappeared
        );
    }
    println!(
        "total {} pieces, {:.4} 公顷 ({:.2} 亩), {:.4} % of the district",
        s.total.count,
        hectares(s.total.ellipsoidal_area_m2),
        mu(s.total.ellipsoidal_area_m2),
        if s.district_area_m2 > 0.0 {
            100.0 * s.total.ellipsoidal_area_m2 / s.district_area_m2
        } else {
            0.0
        }
    );
}

#[derive(Debug, Args)]
pub struct ConflictsArgs {
    /// The store directory (default $LANTU_STORE or ./store).
    #[arg(long, global = true)]
    pub store: Option<PathBuf>,
    #[command(subcommand)]
    pub command: ConflictsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConflictsCommand {
    /// List ledger parcels, largest first.
    List {
        #[arg(long)]
        blueprint: Option<String>,
        #[arg(long)]
        rule: Option<String>,
        /// Town name or code.
        #[arg(long)]
        town: Option<String>,
        #[arg(long)]
        state: Option<String>,
        /// present (default), disappeared, superseded or all.
        #[arg(long, default_value = "present")]
        presence: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Show one parcel with its history.
    Show { id: String },
    /// Move a parcel to the next lifecycle state.
    Transition {
        id: String,
        /// 区级意见, 领导小组审议, 市级审定 or 已处理.
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "")]
        comment: String,
        /// Reference of the decision document (文号).
        #[arg(long, default_value = "")]
        document: String,
        #[arg(long)]
        actor: Option<String>,
    },
}

pub fn conflicts(a: ConflictsArgs) -> anyhow::Result<ExitCode> {
    let s = StoreArg {
        store: a.store.clone(),
        blueprint: None,
        version: None,
    };
    let store = s.open()?;
    match a.command {
        ConflictsCommand::List {
            blueprint,
            rule,
            town,
            state,
            presence,
            limit,
            json,
        } => {
            let f = Filter {
                blueprint,
                rule,
                town,
                state,
                presence: (presence != "all").then_some(presence),
                limit: Some(limit),
                offset: None,
            };
            let total = ledger::count(&store, &f)?;
            let rows = ledger::list(&store, &f)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("{total} parcels match; showing {}", rows.len());
                for r in rows {
                    println!(
                        "{} {:<12} {:<8} {:>12.2} m²  {:<10} {} {} × {} {}  [{}{}]",
                        r.id,
                        r.rule_id,
                        r.town,
                        r.ellipsoidal_area_m2,
                        r.state,
                        r.subject_layer,
                        r.subject_id,
                        r.other_layer,
                        r.other_id.as_deref().unwrap_or("-"),
                        r.change,
                        if r.flags.is_empty() {
                            String::new()
                        } else {
                            format!("; {}", r.flags)
                        }
                    );
                }
            }
        }
        ConflictsCommand::Show { id } => {
            let r = ledger::get(&store, &id)?;
            println!("{}", serde_json::to_string_pretty(&r)?);
            for e in ledger::events(&store, &id)? {
                println!(
                    "  {} {} {} → {}  {} {}",
                    e.at, e.actor, e.from_state, e.to_state, e.comment, e.document
                );
            }
        }
        ConflictsCommand::Transition {
            id,
            to,
            comment,
            document,
            actor,
        } => {
            let actor = super::actor(actor.as_deref());
            let r = ledger::transition(&store, &id, &to, &actor, &comment, &document)?;
            println!("{} is now {}", r.id, r.state);
        }
    }
    Ok(ExitCode::SUCCESS)
}
