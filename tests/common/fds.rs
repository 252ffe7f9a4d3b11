//! File descriptors: tests that open thousands of connections make room for them first.

use std::process::Command;

/// Descriptors a test process needs besides its connections (the harness, pipes, ...).
const SPARE_FDS: u64 = 200;

/// The soft and hard limits on open files of this process.
pub fn nofile_limits() -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let limits = std::fs::read_to_string("/proc/self/limits")?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .ok_or("no 'Max open files' in /proc/self/limits")?;
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok().or((w == "unlimited").then_some(u64::MAX)))
        .collect();
    match numbers.as_slice() {
        [soft, hard, ..] => Ok((*soft, *hard)),
        _ => Err(format!("cannot read the limits in {line:?}").into()),
    }
}

/// Makes room for `wanted` descriptors in this process (and so in the server it spawns, which
/// inherits the limit): how many connections can be opened.
pub fn room_for(wanted: usize) -> Result<usize, Box<dyn std::error::Error>> {
    let needed = wanted as u64 + SPARE_FDS;
    let (soft, hard) = nofile_limits()?;
    if soft >= needed {
        return Ok(wanted);
    }
    let prlimit = |limits: String| {
        Command::new("prlimit")
            .arg("--pid")
            .arg(std::process::id().to_string())
            .arg(format!("--nofile={limits}"))
            .status()
            .is_ok_and(|s| s.success())
    };
    // Raising the hard limit needs root; the soft one may go up to the hard one.
    let raised = (hard < needed && prlimit(format!("{needed}:{needed}")))
        || prlimit(format!("{}:", needed.min(hard)));
    let (soft, _) = nofile_limits()?;
    let room = soft.saturating_sub(SPARE_FDS) as usize;
    if room < wanted {
        eprintln!(
            "note: ulimit -n is {soft} (raising it {}), so only {room} connections are opened \
             instead of {wanted}",
            if raised {
                "helped too little"
            } else {
                "failed"
            }
        );
    }
    Ok(room.min(wanted))
}
