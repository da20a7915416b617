//! The `lantu` command. This front end links neither GDAL nor PROJ: their ~110 shared
//! libraries take ~50 ms to load, which is most of a district-scale `lantu reconcile` run on
//! the store's flat indexes. It runs `reconcile` itself unless the run imports a manifest or
//! writes GeoJSON or Shapefile output, and replaces itself with `lantu-full` (installed next
//! to it) for every other command, so both behave as one program.

// The front end compiles the whole CLI but calls only the batch job; the linker drops the rest
// (and with it every reference to GDAL and PROJ).
#[allow(dead_code)]
mod cli;

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FULL: &str = "lantu-full";

/// The one command the front end runs. Parsing only it (not the whole CLI, whose definition
/// takes ~1 ms to build) is part of what keeps a batch run short; anything it does not accept
/// goes to `lantu-full`, which gives the help and the errors.
#[derive(Debug, Parser)]
#[command(name = "lantu")]
struct FrontEnd {
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: FrontCommand,
}

#[derive(Debug, clap::Subcommand)]
enum FrontCommand {
    Reconcile(cli::reconcile::ReconcileArgs),
}

fn main() -> ExitCode {
    // The first word that is not a flag (`lantu -v reconcile …` is a reconcile too).
    let command = std::env::args_os()
        .skip(1)
        .find(|a| !a.to_string_lossy().starts_with('-'));
    if command.is_some_and(|a| a == "reconcile")
        && let Ok(args) = FrontEnd::try_parse()
        && let FrontCommand::Reconcile(a) = args.command
        && !a.needs_gis()
    {
        cli::init_logging(args.verbose);
        return match cli::reconcile::reconcile(a, cli::reconcile::Gis::default()) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    // Everything else, including help and argument errors, is the full binary's to answer.
    let full = std::env::current_exe()
        .map(|exe| exe.with_file_name(FULL))
        .unwrap_or_else(|_| FULL.into());
    // argv[0] stays what the user typed, so help and errors say `lantu`, not `lantu-full`.
    let err = Command::new(&full)
        .arg0(std::env::args_os().next().unwrap_or_else(|| "lantu".into()))
        .args(std::env::args_os().skip(1))
        .exec();
    eprintln!(
        "error: cannot run {} ({err}); install it next to lantu",
        full.display()
    );
    ExitCode::FAILURE
}
