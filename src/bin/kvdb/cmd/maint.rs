//! `kvdb compact` and `kvdb stats`: maintenance of a database no server has open.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use kvdb::persistence::PersistenceInfo;
use kvdb::{Db, Options};

use crate::Cli;

/// Arguments of `kvdb compact`.
#[derive(Debug, clap::Args)]
pub struct CompactArgs {
    /// Read and write at most this many bytes per second (default: no limit).
    #[arg(long, value_name = "BYTES")]
    pub rate_limit: Option<u64>,
}

/// Opens the database for maintenance: no automatic compaction or expiry of its own.
fn open(cli: &Cli, rate_limit: Option<u64>) -> anyhow::Result<Db> {
    let mut options = Options {
        fsync: cli.appendfsync,
        auto_compaction: false,
        active_expiry: None,
        compaction_rate_limit: rate_limit,
        ..Options::default()
    };
    if let Some(size) = cli.segment_size {
        options.segment_size = size;
    }
    Db::open_with(&cli.dir, options).with_context(|| format!("cannot open {}", cli.dir.display()))
}

/// `kvdb compact`: a full compaction, with a progress bar on a terminal.
pub fn compact(cli: &Cli, args: &CompactArgs) -> anyhow::Result<ExitCode> {
    let db = open(cli, args.rate_limit)?;
    let before = db.persistence();
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut last_draw = Instant::now() - Duration::from_secs(1);
    let runs = db
        .compact(|done, total| {
            if tty && (last_draw.elapsed() >= Duration::from_millis(100) || done >= total) {
                last_draw = Instant::now();
                draw(done, total, started.elapsed());
            }
        })
        .context("compaction failed")?;
    if tty {
        eprintln!();
    }
    let after = db.persistence();
    let reclaimed: u64 = runs.iter().map(|r| r.reclaimed()).sum();
    let read: u64 = runs.iter().map(|r| r.bytes_read).sum();
    let elapsed = started.elapsed();
    println!(
        "compacted {} segment(s) in {} run(s) in {:.2} s ({:.1} MiB/s)",
        runs.iter().map(|r| r.inputs).sum::<usize>(),
        runs.len(),
        elapsed.as_secs_f64(),
        read as f64 / (1 << 20) as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    println!(
        "disk: {} -> {} ({} reclaimed); live {}; segments {} -> {}",
        human(before.total_bytes()),
        human(after.total_bytes()),
        human(reclaimed),
        human(after.live_bytes()),
        before.segments.len(),
        after.segments.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Draws the progress bar on stderr.
fn draw(done: u64, total: u64, elapsed: Duration) {
    const WIDTH: usize = 30;
    let share = if total == 0 {
        1.0
    } else {
        done as f64 / total as f64
    };
    let filled = ((share * WIDTH as f64) as usize).min(WIDTH);
    let rate = done as f64 / (1 << 20) as f64 / elapsed.as_secs_f64().max(1e-9);
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r[{}{}] {:>3.0}% {} / {} {:.1} MiB/s ",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled),
        share * 100.0,
        human(done),
        human(total),
        rate
    );
    let _ = err.flush();
}

/// `kvdb stats`: what INFO persistence shows, and a line per segment.
pub fn stats(cli: &Cli) -> anyhow::Result<ExitCode> {
    let db = open(cli, None)?;
    let info = db.persistence();
    print!("{}", render(&info));
    Ok(ExitCode::SUCCESS)
}

/// The text `kvdb stats` prints.
fn render(info: &PersistenceInfo) -> String {
    let mut out = String::from("# Persistence\n");
    for line in info.kvdb_fields() {
        out.push_str(&line);
        out.push('\n');
    }
    let live = info.live_bytes();
    if live > 0 {
        out.push_str(&format!(
            "kvdb_space_amplification:{:.3}\n",
            info.total_bytes() as f64 / live as f64
        ));
    }
    out.push_str("\n# Segments\n");
    out.push_str("id          position    bytes         live          dead   dead%  hint  kind\n");
    for s in &info.segments {
        out.push_str(&format!(
            "{:<11} {:<11} {:>12} {:>12} {:>12} {:>6.1}  {:<4}  {}\n",
            s.id,
            s.position,
            s.bytes,
            s.live,
            s.dead(),
            if s.bytes == 0 {
                0.0
            } else {
                s.dead() as f64 * 100.0 / s.bytes as f64
            },
            if s.hinted { "yes" } else { "no" },
            if s.active {
                "active"
            } else if s.compacted {
                "compacted"
            } else {
                "sealed"
            }
        ));
    }
    out
}

/// Bytes in a human unit.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
