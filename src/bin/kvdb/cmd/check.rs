//! `kvdb check -d DIR [--repair]` (being written).

use std::process::ExitCode;

use crate::Cli;

/// Arguments of `kvdb check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Repair what can be repaired.
    #[arg(long)]
    pub repair: bool,
}

/// Runs `kvdb check`.
pub fn run(_cli: &Cli, _args: &CheckArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("kvdb check is not available yet")
}
