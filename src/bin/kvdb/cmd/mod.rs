//! The subcommands, one file each, plus what they share: opening the database and printing.

pub mod check;
pub mod exec;
pub mod maint;
pub mod server;
pub mod shell;

use std::io::{IsTerminal, Write};

use anyhow::Context;
use kvdb::{Db, Options, Reply, Session};

use crate::Cli;
use crate::format::{format_raw, format_tty};

/// Opens the database named on the command line and a session on the chosen database.
pub fn open(cli: &Cli) -> anyhow::Result<Session> {
    let mut options = Options {
        fsync: cli.appendfsync,
        ..Options::default()
    };
    if let Some(size) = cli.segment_size {
        options.segment_size = size;
    }
    let db = Db::open_with(&cli.dir, options)
        .with_context(|| format!("cannot open {}", cli.dir.display()))?;
    let db = db.select(i64::from(cli.db)).context("invalid -n")?;
    Ok(Session::new(db))
}

/// Whether replies should be printed raw: `--raw`, or stdout is not a terminal (unless
/// `--no-raw`).
pub fn raw_output(cli: &Cli) -> bool {
    cli.raw || (!cli.no_raw && !std::io::stdout().is_terminal())
}

/// Prints one reply to stdout in the chosen format.
pub fn print_reply(out: &mut impl Write, reply: &Reply, raw: bool) -> std::io::Result<()> {
    if raw {
        out.write_all(&format_raw(reply))?;
    } else {
        out.write_all(format_tty(reply).as_bytes())?;
    }
    out.flush()
}

/// Sends the library's warnings (a torn tail truncated at open, ...) to stderr.
pub fn init_logging() {
    struct Stderr;
    impl log::Log for Stderr {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            metadata.level() <= log::Level::Info
        }
        fn log(&self, record: &log::Record<'_>) {
            if self.enabled(record.metadata()) {
                let level = record.level().as_str().to_ascii_lowercase();
                eprintln!("kvdb: {level}: {}", record.args());
            }
        }
        fn flush(&self) {}
    }
    static LOGGER: Stderr = Stderr;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}
