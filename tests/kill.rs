//! Killing a writer process at a random moment loses no acknowledged write and never leaves a
//! database that fails to open (as sled's `test_crash_recovery.rs`).
//!
//! The child is this test binary run again with [`CHILD_ENV`] set to the data directory: it
//! opens the store with `appendfsync always` and small segments, then loops over SET, INCR and
//! a two-key MSET, printing one line per acknowledged command. The parent reads those lines,
//! sends SIGKILL after a random delay, reopens the directory and checks that every
//! acknowledged write is there, that the one in flight is there whole or not at all, and that
//! the next round can write on top of the recovered log. A second thread of the child compacts
//! all the while (the automatic policy, and now and then a full compaction), so kills also land
//! in the middle of compactions.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kvdb::{Db, Fsync, Options, SetOptions};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Set in the child: the data directory to write to.
const CHILD_ENV: &str = "KVDB_KILL_CHILD_DIR";
/// Set in the child: the round number, which prefixes its keys.
const ROUND_ENV: &str = "KVDB_KILL_CHILD_ROUND";
/// Rounds of spawn, write, kill, check.
const ROUNDS: u32 = 10;
/// Stop starting rounds after this long.
const BUDGET: Duration = Duration::from_secs(12);

fn options() -> Options {
    Options {
        fsync: Fsync::Always,
        segment_size: 4096,
        compaction_dead_ratio: 0.2,
        compaction_min_dead_bytes: 0,
        ..Options::default()
    }
}

fn value(round: u32, i: u64) -> Vec<u8> {
    format!("round {round} write {i} ").repeat(3).into_bytes()
}

/// The child: writes until killed, acknowledging each command on stdout.
fn child(dir: &Path, round: u32) -> TestResult {
    let db = Db::open_with(dir, options())?;
    let compactor = db.clone();
    std::thread::spawn(move || {
        for i in 0u64.. {
            let result = if i % 8 == 7 {
                compactor.compact(|_, _| {}).map(|_| ())
            } else {
                compactor.compact_if_needed()
            };
            if let Err(e) = result {
                eprintln!("compaction failed: {e}");
                std::process::exit(3);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let mut out = std::io::stdout().lock();
    // After a newline: the test harness has already printed the start of its own line.
    writeln!(out, "\nready")?;
    out.flush()?;
    for i in 0u64.. {
        db.set(
            format!("r{round}:k{i}").as_bytes(),
            &value(round, i),
            SetOptions::default(),
        )?;
        writeln!(out, "set {i}")?;
        out.flush()?;
        let n = db.incr(b"counter")?;
        writeln!(out, "incr {n}")?;
        out.flush()?;
        let (a, b) = (format!("r{round}:a{i}"), format!("r{round}:b{i}"));
        db.mset(&[(a.as_bytes(), b"pair"), (b.as_bytes(), b"pair")])?;
        writeln!(out, "mset {i}")?;
        out.flush()?;
    }
    Ok(())
}

/// What one child acknowledged.
#[derive(Debug, Default)]
struct Acks {
    ready: bool,
    sets: Option<u64>,
    incr: Option<i64>,
    msets: Option<u64>,
}

fn parse_acks(stdout: &str) -> TestResult<Acks> {
    let mut acks = Acks::default();
    // A line without its newline was cut by the kill: not an acknowledgement.
    for line in stdout.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("ready"), None) => acks.ready = true,
            (Some("set"), Some(n)) => acks.sets = Some(n.parse()?),
            (Some("incr"), Some(n)) => acks.incr = Some(n.parse()?),
            (Some("mset"), Some(n)) => acks.msets = Some(n.parse()?),
            _ => {} // the test harness's own output
        }
    }
    Ok(acks)
}

/// Runs one child, kills it after `delay` from its "ready", and returns what it acknowledged.
fn run_child(dir: &Path, round: u32, delay: Duration) -> TestResult<Acks> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args([
            "killed_writers_lose_no_acknowledged_write",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .env(ROUND_ENV, round.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut all = String::new();
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            all.push_str(&line);
            if line == "ready\n" {
                let _ = lines_tx.send(line.clone());
            }
            line.clear();
        }
        all.push_str(&line);
        all
    });
    // Wait for the child to open the store (bounded), then let it write for `delay`.
    let ready = lines_rx.recv_timeout(Duration::from_secs(10)).is_ok();
    if ready {
        std::thread::sleep(delay);
    }
    child.kill()?;
    let status = child.wait()?;
    let stdout = reader.join().map_err(|_| "reader panicked")?;
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut stderr)?;
    }
    use std::os::unix::process::ExitStatusExt;
    if !ready || status.signal() != Some(9) {
        let mut start = stdout.len().saturating_sub(2000);
        while !stdout.is_char_boundary(start) {
            start += 1;
        }
        let tail = &stdout[start..];
        return Err(format!(
            "round {round}: the child was not killed while writing ({status}); \
             stdout ends with:\n{tail}\nstderr:\n{stderr}"
        )
        .into());
    }
    parse_acks(&stdout)
}

#[test]
fn killed_writers_lose_no_acknowledged_write() -> TestResult {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let round = std::env::var(ROUND_ENV)?.parse()?;
        return child(Path::new(&dir), round);
    }
    let dir = tempfile::tempdir()?;
    let mut rng = fastrand::Rng::new();
    let started = Instant::now();
    // Per round: how many SETs and MSETs were acknowledged.
    let mut acked: BTreeMap<u32, (Option<u64>, Option<u64>)> = BTreeMap::new();
    let mut counter: i64 = 0;
    let mut writes = 0;
    for round in 0..ROUNDS {
        if started.elapsed() > BUDGET {
            break;
        }
        let delay = Duration::from_millis(rng.u64(20..400));
        let acks = run_child(dir.path(), round, delay)?;
        assert!(acks.ready);
        acked.insert(round, (acks.sets, acks.msets));
        writes += acks.sets.map_or(0, |n| n + 1);

        let db = Db::open_with(dir.path(), options())?;
        for (&r, &(sets, msets)) in &acked {
            let what = format!("after round {round}, round {r}");
            let acked_sets = sets.map_or(0, |n| n + 1);
            for i in 0..acked_sets {
                let got = db.get(format!("r{r}:k{i}").as_bytes())?;
                assert_eq!(
                    got,
                    Some(value(r, i)),
                    "{what}: acknowledged SET {i} is lost"
                );
            }
            // At most the one SET in flight at the kill made it without an acknowledgement.
            let unacked = db.get(format!("r{r}:k{}", acked_sets + 1).as_bytes())?;
            assert_eq!(unacked, None, "{what}: a SET that was never sent is there");
            let acked_msets = msets.map_or(0, |n| n + 1);
            for i in 0..=acked_msets {
                let a = db.get(format!("r{r}:a{i}").as_bytes())?;
                let b = db.get(format!("r{r}:b{i}").as_bytes())?;
                assert_eq!(a, b, "{what}: MSET {i} is half applied");
                if i < acked_msets {
                    assert_eq!(
                        a,
                        Some(b"pair".to_vec()),
                        "{what}: acknowledged MSET {i} lost"
                    );
                }
            }
        }
        let value = db.get(b"counter")?.unwrap_or_else(|| b"0".to_vec());
        let value: i64 = String::from_utf8(value)?.parse()?;
        let last_acked = acks.incr.unwrap_or(counter);
        assert!(
            value == last_acked || value == last_acked + 1,
            "round {round}: counter is {value}, the last acknowledged INCR returned {last_acked}"
        );
        counter = value;
        // The recovered log takes writes and closes cleanly before the next child opens it.
        db.set(
            b"parent",
            round.to_string().as_bytes(),
            SetOptions::default(),
        )?;
    }
    assert!(writes > 0, "no child got to acknowledge a write");
    // The children's compactions ran: some segment is a compaction output.
    let compacted = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".seg"))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter(|bytes| kvdb::log::segment::parse_header(bytes).is_ok_and(|h| h.is_compacted()))
        .count();
    assert!(compacted > 0, "no compaction output in the directory");
    Ok(())
}
