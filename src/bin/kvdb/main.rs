//! The `kvdb` command-line tool: run database commands on a local directory, one-shot or in an
//! interactive shell. Each subcommand lives in `cmd/`; this file only parses arguments.

mod cmd;
mod format;
mod split;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "kvdb",
    version,
    about = "kvdb: a persistent, Redis-compatible key-value store",
    long_about = "kvdb: a persistent, Redis-compatible key-value store built as a Bitcask.\n\n\
        Anything that is not a kvdb subcommand is a database command, run on the database in DIR:\n\
        \n    kvdb -d DIR SET greeting hello\n    kvdb -d DIR GET greeting\n\n\
        With no command, kvdb opens an interactive shell on DIR (line editing, history, `help`),\n\
        or, when standard input is not a terminal, runs one command per line from it, as\n\
        redis-cli does. Replies print like redis-cli's: quoted and typed on a terminal, raw when\n\
        stdout is not a terminal. The exit status is 1 if a command replied with an error.",
    after_help = "Examples:\n  kvdb                                 shell on ./kvdb-data\n  \
        kvdb -d /tmp/db SET lock:order:1 worker-1 NX EX 30\n  \
        printf 'INCR hits\\nGET hits\\n' | kvdb -d /tmp/db\n  \
        kvdb -d /tmp/db -n 2 KEYS 'user:*'\n  \
        kvdb server --port 6380 --appendfsync always      Redis clients connect to it"
)]
pub struct Cli {
    /// Data directory (created if missing).
    #[arg(
        short = 'd',
        long = "dir",
        value_name = "DIR",
        default_value = "./kvdb-data"
    )]
    pub dir: PathBuf,
    /// Numbered database (0-15) to run commands in, like redis-cli's -n.
    #[arg(short = 'n', long = "db", value_name = "DB", default_value_t = 0)]
    pub db: u8,
    /// Print replies raw even on a terminal.
    #[arg(long, conflicts_with = "no_raw")]
    pub raw: bool,
    /// Print replies in the terminal format even when stdout is not a terminal.
    #[arg(long)]
    pub no_raw: bool,
    /// Durability policy: always, everysec or no.
    #[arg(long, value_name = "POLICY", default_value = "everysec")]
    pub appendfsync: kvdb::Fsync,
    /// Size at which a segment file is sealed, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub segment_size: Option<u64>,
    /// A kvdb subcommand, or a database command and its arguments.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Redis-compatible server (RESP2/RESP3 over TCP) on the data directory.
    Server(cmd::server::ServerArgs),
    /// Verify every segment and hint file of a closed database, like redis-check-aof.
    Check(cmd::check::CheckArgs),
    /// Compact the whole log of a closed database now, with a progress bar.
    Compact(cmd::maint::CompactArgs),
    /// Print segments, live and dead bytes and hint coverage of a closed database.
    Stats,
    /// Any database command, e.g. `SET key value`.
    #[command(external_subcommand)]
    Db(Vec<OsString>),
}

fn main() -> ExitCode {
    cmd::init_logging();
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Db(argv)) => cmd::exec::run(&cli, argv),
        Some(Command::Server(args)) => cmd::server::run(&cli, args),
        Some(Command::Check(args)) => cmd::check::run(&cli, args),
        Some(Command::Compact(args)) => cmd::maint::compact(&cli, args),
        Some(Command::Stats) => cmd::maint::stats(&cli),
        None => cmd::shell::run(&cli),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("kvdb: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
