//! `lantu sample`: generate the synthetic sample district.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use lantu::sample::{self, SampleParams};

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// 控规 parcels; 100 000 or more gives the district-scale benchmark set.
    #[arg(long, default_value_t = 20_000)]
    pub parcels: usize,
    /// Random seed: the same seed and parcel count give the same features.
    #[arg(long, default_value_t = 2019)]
    pub seed: u64,
    /// True cells merged into one 土规 管制区 zone (default: 4, or 1 at ≥ 50 000 parcels).
    #[arg(long)]
    pub merge: Option<usize>,
    /// Most intermediate vertices per parcel edge (default: 1, or 7 at ≥ 50 000 parcels).
    #[arg(long)]
    pub edge_points: Option<usize>,
    /// Overwrite files of the generator's names in a directory it did not write.
    #[arg(long)]
    pub force: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: SampleArgs) -> anyhow::Result<ExitCode> {
    let params = SampleParams {
        parcels: a.parcels,
        seed: a.seed,
        merge: a.merge,
        edge_points: a.edge_points,
    };
    let summary = sample::generate_with(&params, &a.out, a.force)
        .with_context(|| format!("generating the sample into {}", a.out.display()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "sample district written to {} in {:.1} s",
        summary.out_dir.display(),
        summary.seconds
    );
    println!("{:<10} {:>9}", "layer", "features");
    for (id, n) in &summary.layers {
        println!("{id:<10} {n:>9}");
    }
    println!("{:<16} {:>12}", "file", "bytes");
    for f in &summary.files {
        println!("{:<16} {:>12}", f.name, f.bytes);
    }
    println!("{:<16} {:>12}", "total", summary.total_bytes);
    Ok(ExitCode::SUCCESS)
}
