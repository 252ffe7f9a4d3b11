//! `kvdb check -d DIR [--repair]`: verify every segment and hint file of a closed database, as
//! redis-check-aof verifies an AOF. The work is [`kvdb::check`]; this file prints its report
//! and picks the exit status: 0 nothing to repair, 1 something needs (or, after `--repair`,
//! still needs) repair, 2 the check itself failed (no such directory, the database is open).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::Cli;

/// Arguments of `kvdb check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Data directory [default: ./kvdb-data, or the top-level -d].
    #[arg(short = 'd', long = "dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Repair what can be repaired: truncate a torn tail, rewrite a damaged segment without its
    /// unreadable batches (reporting the keys lost), delete bad hints and leftovers.
    #[arg(long)]
    pub repair: bool,
}

/// Runs `kvdb check`.
pub fn run(cli: &Cli, args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let dir = args.dir.as_ref().unwrap_or(&cli.dir);
    let report = kvdb::check::check(dir, args.repair)
        .with_context(|| format!("cannot check {}", dir.display()))?;
    println!("{report}");
    if !report.needs_repair() {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.repair {
        println!("to repair: kvdb check -d {} --repair", dir.display());
    }
    Ok(ExitCode::from(1))
}
