//! The lesson's Python code, run unchanged with redis-py against `kvdb server`: each script in
//! `tests/python/` talks to `localhost:$KVDB_PORT` (the lesson's 6379 by default) and asserts
//! what the lesson shows; this test starts a server on a free port, runs the script with
//! python3, and checks the outcome from Rust too.
//!
//! Python 3 and redis-py are required (CI installs them: see scripts/test.sh); a machine
//! without them fails here rather than skipping the lesson.

#[allow(
    dead_code,
    reason = "the helpers are shared by several test binaries, each using a part"
)]
mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use redis::Commands;

use common::TestResult;
use common::server::{Server, run};

/// Bound on one script.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

const INSTALL: &str = "the Python tests need python3 and redis-py: \
    apt-get install python3 python3-pip && pip install redis \
    (scripts/test.sh installs them)";

/// Fails the test (with how to fix it) unless `python3 -c 'import redis'` works.
fn require_redis_py() {
    let check = run(
        Command::new("python3").args(["-c", "import redis; print(redis.__version__)"]),
        Duration::from_secs(30),
    );
    match check {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "{INSTALL}\n(python3 -c 'import redis' failed: {})",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(e) => panic!("{INSTALL}\n({e})"),
    }
}

/// Runs `tests/python/<script>.py` against `server`: its stdout, or a failure with its output.
fn run_script(server: &Server, script: &str) -> Result<String, Box<dyn std::error::Error>> {
    require_redis_py();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(format!("{script}.py"));
    let output = run(
        Command::new("python3")
            .arg(&path)
            .env("KVDB_PORT", server.port().to_string()),
        SCRIPT_TIMEOUT,
    )?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!(
            "{script}.py exited with {}\nstdout:\n{stdout}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    assert!(stdout.trim_end().ends_with("ok"), "{script}.py: {stdout}");
    Ok(stdout)
}

#[test]
fn the_distributed_lock_lets_exactly_one_worker_in() -> TestResult {
    let server = Server::start(&[])?;
    let stdout = run_script(&server, "distributed_lock")?;
    assert_eq!(stdout.matches("acquired the lock").count(), 1, "{stdout}");
    assert_eq!(stdout.matches("skipping").count(), 1, "{stdout}");
    // The script released the lock and the loser took it.
    let mut con = server.connect()?;
    let holder: String = con.get("lock:order:ord_8821")?;
    assert!(holder.starts_with("worker-"), "{holder}");
    Ok(())
}

#[test]
fn the_ttl_toolkit_behaves_as_the_lesson_says() -> TestResult {
    let server = Server::start(&[])?;
    let stdout = run_script(&server, "ttl_toolkit")?;
    assert!(stdout.contains("session ttl after persist: -1"), "{stdout}");
    assert!(
        stdout.contains("promo ttl after expireat in the past: -2"),
        "{stdout}"
    );
    let mut con = server.connect()?;
    let ttl: i64 = con.ttl("otp:user:42")?;
    assert!((295..=300).contains(&ttl), "{ttl}");
    Ok(())
}

#[test]
fn five_processes_incrementing_a_thousand_times_reach_five_thousand() -> TestResult {
    let server = Server::start(&[])?;
    let stdout = run_script(&server, "visit_counter")?;
    assert!(stdout.contains("visit_count: 5000"), "{stdout}");
    let mut con = server.connect()?;
    assert_eq!(con.get::<_, i64>("visit_count")?, 5000);
    Ok(())
}

#[test]
fn the_user_profile_hash_and_a_leaderboard_scored_by_four_workers_match_the_lesson() -> TestResult {
    let server = Server::start(&[])?;
    let started = std::time::Instant::now();
    let stdout = run_script(&server, "test_hash_lesson")?;
    eprintln!("test_hash_lesson.py: {:.1?}\n{stdout}", started.elapsed());
    assert!(stdout.contains("plan: b'pro'"), "{stdout}");
    assert!(stdout.contains("leader: player:82321 24999.5"), "{stdout}");
    let mut con = server.connect()?;
    let profile: std::collections::HashMap<String, String> = con.hgetall("user:u_4421")?;
    assert_eq!(profile.len(), 4, "{profile:?}");
    assert_eq!(profile["login_count"], "143");
    assert_eq!(profile["plan"], "pro");
    // Player i ends with ((i * 7919) % 50000) / 2 points: the best score, 24999.5, is shared by
    // players 32321 and 82321, and ZREVRANGE lists the tie in reverse byte order.
    let top: Vec<(String, f64)> = con.zrevrange_withscores("leaderboard", 0, 1)?;
    assert_eq!(
        top,
        [
            ("player:82321".to_owned(), 24999.5),
            ("player:32321".to_owned(), 24999.5)
        ]
    );
    assert_eq!(con.zcard::<_, u64>("leaderboard")?, 100_000);
    Ok(())
}

#[test]
fn the_notification_queue_is_fifo_and_a_blocked_consumer_uses_no_cpu() -> TestResult {
    let server = Server::start(&[])?;
    let started = std::time::Instant::now();
    let stdout = run_script(&server, "test_queue_lesson")?;
    eprintln!("test_queue_lesson.py: {:.1?}\n{stdout}", started.elapsed());
    assert!(stdout.contains("fifo: 3 jobs in order"), "{stdout}");
    // The script measured this server's CPU time: INFO's process_id is the process we run.
    assert!(
        stdout.contains(&format!("server pid: {}\n", server.pid())),
        "{stdout}"
    );
    let mut con = server.connect()?;
    assert!(!con.exists::<_, bool>("queue:notifications")?);
    Ok(())
}

#[test]
fn a_hundred_thousand_jobs_from_four_producers_are_each_consumed_once_by_four_consumers()
-> TestResult {
    let server = Server::start(&[])?;
    let started = std::time::Instant::now();
    let stdout = run_script(&server, "queue_workers")?;
    eprintln!("queue_workers.py: {:.1?}\n{stdout}", started.elapsed());
    assert!(
        stdout.contains("consumed 100000 jobs exactly once"),
        "{stdout}"
    );
    let mut con = server.connect()?;
    assert!(!con.exists::<_, bool>("queue:jobs")?);
    Ok(())
}
