//! District-scale measurements (run with `cargo bench --bench district`):
//! import throughput from GeoPackage and Shapefile, loading a blueprint into memory with its
//! R-trees, per-site overlap latency (median / p99) against four polygon layers and a parallel
//! batch of sites, and the reconcile kernel on the two plan layers.
//!
//! The data is the generator's district-scale set (`lantu sample --parcels 100000`), made once
//! under `$LANTU_BENCH_DIR` (default `target/bench-district`). Medians and percentiles of repeated
//! runs are printed together with a JSON report (`bench-report.json` in that directory); the
//! machine is shared and noisy, so compare figures of one run only.

use std::path::PathBuf;
use std::time::Instant;

use lantu::blueprint::{self, Blueprint};
use lantu::crs::Crs;
use lantu::export::{self, ExportFormat, ExportOptions};
use lantu::import::import_path;
use lantu::reconcile::{self, ConflictPiece, Params, ReconcileError, Sink};
use lantu::rules::{RuleSet, SliverPolicy};
use lantu::sample::{self, SampleParams};
use lantu::site::{self, Site, SiteParams};
use lantu::store::Store;
use rayon::prelude::*;

/// The allocator of the `lantu` binary, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

/// splitmix64: deterministic site positions without a dependency.
fn rng(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

struct Null(u64);

impl Sink for Null {
    fn piece(&mut self, _: &ConflictPiece) -> Result<(), ReconcileError> {
        self.0 += 1;
        Ok(())
    }
}

pub const BENCH_RULES: &str = include_str!("bench_rules.toml");

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --benches` runs bench binaries with `--bench` absent: do nothing then.
    if !args.iter().any(|a| a == "--bench") {
        return Ok(());
    }
    let only: Option<&str> = args
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(String::as_str);
    let dir = std::env::var_os("LANTU_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/bench-district"));
    let parcels: usize = std::env::var("LANTU_BENCH_PARCELS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let data = dir.join("data");
    if !data.join("blueprint.toml").exists() {
        eprintln!(
            "generating the district set ({parcels} parcels) in {}",
            data.display()
        );
        let t = Instant::now();
        sample::generate(
            &SampleParams {
                parcels,
                ..SampleParams::default()
            },
            &data,
        )?;
        eprintln!("  {:.1} s", t.elapsed().as_secs_f64());
    }
    let manifest = blueprint::Manifest::load(&data.join("blueprint.toml"))?;
    let working: Crs = manifest.crs.parse()?;
    let kg_spec = manifest
        .layers
        .iter()
        .find(|l| l.id == "kg")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no kg layer"))?;
    let mut report = serde_json::Map::new();
    let run = |name: &str| only.is_none_or(|o| o == name);

    if run("import") {
        // Import throughput: the 控规 layer from GeoPackage, and from a Shapefile copy.
        let shp = dir.join("kg_copy.shp");
        if !shp.exists() {
            let layer = import_path(&kg_spec, &data.join(&kg_spec.source), &working)?;
            export::write(
                &layer.data,
                &working,
                ExportFormat::Shapefile,
                &shp,
                "kg",
                &ExportOptions::default(),
            )?;
        }
        for (label, path) in [("gpkg", data.join(&kg_spec.source)), ("shp", shp)] {
            let mut spec = kg_spec.clone();
            if label == "shp" {
                spec.source_layer = None;
            }
            let mut times = Vec::new();
            let mut n = 0;
            for _ in 0..3 {
                let t = Instant::now();
                let layer = import_path(&spec, &path, &working)?;
                times.push(t.elapsed().as_secs_f64());
                n = layer.data.features.len();
            }
            let m = median(&mut times);
            println!(
                "import {label:<5} {n} features: median {m:.3} s, {:.0} features/s",
                n as f64 / m
            );
            report.insert(format!("import_{label}_seconds"), m.into());
            report.insert(
                format!("import_{label}_features_per_s"),
                (n as f64 / m).into(),
            );
        }
    }

    let store_dir = dir.join("store");
    if !store_dir.join("catalog.sqlite").exists() {
        let store = Store::open(&store_dir)?;
        let t = Instant::now();
        blueprint::import_manifest(&store, &data.join("blueprint.toml"), "bench", &|_| {})?;
        eprintln!(
            "imported the manifest in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let store = Store::open(&store_dir)?;
    let meta = store.current()?;

    if run("load") {
        // One 100 000-parcel layer version, and the whole blueprint.
        let mut kg_only = meta.clone();
        kg_only.layers.retain(|l| l.layer_id == "kg");
        for (label, m) in [("kg", kg_only), ("blueprint", meta.clone())] {
            let mut times = Vec::new();
            let mut features = 0;
            for _ in 0..5 {
                let bp = Blueprint::load(&store, m.clone())?;
                times.push(bp.load_seconds);
                features = bp.layers.iter().map(|l| l.data.features.len()).sum();
            }
            let med = median(&mut times);
            println!("load {label:<10} {features} features with R-trees: median {med:.3} s");
            report.insert(format!("load_{label}_seconds"), med.into());
        }
    }

    let bp = Blueprint::load(&store, meta)?;
    if run("site") {
        let layers: Vec<&lantu::blueprint::LoadedLayer> = ["kg", "gzq", "yjjbnt", "czkfbj"]
            .iter()
            .filter_map(|id| bp.layer(id).map(|l| l.as_ref()))
            .collect();
        let kg = bp.require("kg")?;
        let extent = kg
            .data
            .bounding_rect()
            .ok_or_else(|| anyhow::anyhow!("empty kg"))?;
        let mut state = 2019u64;
        let sites: Vec<Site> = (0..3_000)
            .map(|i| {
                // Sites of 50–300 m on a side, centred on a random 控规 parcel.
                let f =
                    &kg.data.features[(rng(&mut state) * kg.data.features.len() as f64) as usize];
                let c = f
                    .geom
                    .bounding_rect()
                    .map(|r| r.center())
                    .unwrap_or(extent.center());
                let (w, h) = (
                    50.0 + 250.0 * rng(&mut state),
                    50.0 + 250.0 * rng(&mut state),
                );
                let r = geo::Rect::new(
                    geo::coord! { x: c.x - w / 2.0, y: c.y - h / 2.0 },
                    geo::coord! { x: c.x + w / 2.0, y: c.y + h / 2.0 },
                );
                Site {
                    id: format!("S{i}"),
                    name: String::new(),
                    geometry: geo::MultiPolygon(vec![r.to_polygon()]),
                }
            })
            .collect();
        // Warm caches, then time each site alone on one thread.
        for s in sites.iter().take(200) {
            site::overlaps(&bp, &s.geometry, &layers);
        }
        // LANTU_BENCH_SITE_REPEAT=N times the whole set N times (for a profiler); the figures
        // are of all N passes.
        let repeat: usize = std::env::var("LANTU_BENCH_SITE_REPEAT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let mut lat: Vec<f64> = std::iter::repeat_n(&sites, repeat)
            .flatten()
            .map(|s| {
                let t = Instant::now();
                let o = site::overlaps(&bp, &s.geometry, &layers);
                let dt = t.elapsed().as_secs_f64() * 1e3;
                std::hint::black_box(o);
                dt
            })
            .collect();
        let (med, p99) = (median(&mut lat.clone()), percentile(&mut lat, 0.99));
        println!(
            "site overlaps vs 4 layers (3000 sites, one thread): median {med:.4} ms, p99 {p99:.4} ms"
        );
        let t = Instant::now();
        let n: usize = sites
            .par_iter()
            .map(|s| site::overlaps(&bp, &s.geometry, &layers).len())
            .sum();
        let batch = t.elapsed().as_secs_f64();
        println!("batch of 3000 sites in parallel: {batch:.3} s ({n} layer answers)");
        let params =
            SiteParams::new(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default());
        let mut full: Vec<f64> = sites
            .iter()
            .take(500)
            .map(|s| {
                let t = Instant::now();
                std::hint::black_box(site::analyse(&bp, s, &params));
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let full_med = median(&mut full);
        println!("full site analysis vs every layer: median {full_med:.3} ms");
        report.insert("site_median_ms".into(), med.into());
        report.insert("site_p99_ms".into(), p99.into());
        report.insert("site_batch_3000_s".into(), batch.into());
        report.insert("site_full_analysis_median_ms".into(), full_med.into());
    }

    if run("reconcile") {
        let rules = RuleSet::parse(BENCH_RULES, "bench_rules.toml")?;
        let policy = SliverPolicy {
            min_area_m2: 1.0,
            min_width_m: 0.0,
            fine_area_m2: 200.0,
        };
        let mut times = Vec::new();
        let mut pieces = 0;
        let mut area = 0.0;
        for _ in 0..3 {
            let mut sink = Null(0);
            let t = Instant::now();
            let sources = reconcile::Sources::open(&store, &bp.meta, &rules)?;
            let r = reconcile::reconcile(
                &bp,
                &sources,
                &rules,
                Params::new(policy),
                &mut sink,
                &|_, _, _| {},
                &|| false,
            )?;
            times.push(t.elapsed().as_secs_f64());
            pieces = sink.0;
            area = r.rules.iter().map(|s| s.kept.area_m2).sum();
        }
        let m = median(&mut times);
        println!(
            "reconcile kernel (open flat indexes + run, no output): median {m:.3} s, {pieces} pieces, {area:.3} m²"
        );
        report.insert("reconcile_kernel_seconds".into(), m.into());
        report.insert("reconcile_pieces".into(), pieces.into());
    }

    let out = dir.join("bench-report.json");
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&serde_json::Value::Object(report))?,
    )?;
    println!("report: {}", out.display());
    Ok(())
}
