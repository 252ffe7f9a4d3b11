//! The `kvdb` binary: one-shot commands, stdin mode, output formats, exit codes, and the
//! lesson's scenarios run through it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn kvdb(dir: &Path, args: &[&str]) -> std::io::Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_kvdb"))
        .arg("-d")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn piped(dir: &Path, args: &[&str], input: &str) -> std::io::Result<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kvdb"))
        .arg("-d")
        .arg(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or(std::io::ErrorKind::BrokenPipe)?
        .write_all(input.as_bytes())?;
    child.wait_with_output()
}

#[test]
fn set_then_get_prints_raw_replies_when_piped() -> TestResult {
    let dir = tempfile::tempdir()?;
    let set = kvdb(dir.path(), &["SET", "k", "v"])?;
    assert!(set.status.success());
    assert_eq!(stdout(&set), "OK\n");
    let get = kvdb(dir.path(), &["GET", "k"])?;
    assert_eq!(stdout(&get), "v\n");
    let missing = kvdb(dir.path(), &["GET", "nope"])?;
    assert_eq!(stdout(&missing), "\n");
    assert!(missing.status.success());
    Ok(())
}

#[test]
fn no_raw_prints_like_redis_cli_on_a_terminal() -> TestResult {
    let dir = tempfile::tempdir()?;
    kvdb(dir.path(), &["MSET", "a", "1", "b", "two words"])?;
    let out = kvdb(dir.path(), &["--no-raw", "MGET", "a", "b", "c"])?;
    assert_eq!(stdout(&out), "1) \"1\"\n2) \"two words\"\n3) (nil)\n");
    let out = kvdb(dir.path(), &["--no-raw", "INCR", "a"])?;
    assert_eq!(stdout(&out), "(integer) 2\n");
    Ok(())
}

#[test]
fn an_error_reply_exits_non_zero() -> TestResult {
    let dir = tempfile::tempdir()?;
    kvdb(dir.path(), &["SET", "k", "text"])?;
    let out = kvdb(dir.path(), &["INCR", "k"])?;
    assert!(!out.status.success());
    // redis-cli prints an error line followed by an empty line when not on a terminal.
    assert_eq!(
        stdout(&out),
        "ERR value is not an integer or out of range\n\n"
    );
    let out = kvdb(dir.path(), &["NOSUCHCOMMAND"])?;
    assert!(!out.status.success());
    Ok(())
}

#[test]
fn stdin_runs_one_command_per_line_keeping_the_selected_db() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = piped(
        dir.path(),
        &[],
        "SET a 1\nINCR a\nSELECT 3\nSET \"key with space\" x\nDBSIZE\nSELECT 0\nGET a\n",
    )?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout(&out), "OK\n2\nOK\nOK\n1\nOK\n2\n");
    let out = kvdb(dir.path(), &["-n", "3", "GET", "key with space"])?;
    assert_eq!(stdout(&out), "x\n");
    Ok(())
}

#[test]
fn a_second_process_on_the_same_directory_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let _db = kvdb::Db::open(dir.path())?;
    let out = kvdb(dir.path(), &["GET", "k"])?;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[test]
fn help_documents_the_modes() -> TestResult {
    let out = Command::new(env!("CARGO_BIN_EXE_kvdb"))
        .arg("--help")
        .output()?;
    let text = stdout(&out);
    assert!(text.contains("--dir"), "{text}");
    assert!(text.contains("interactive shell"), "{text}");
    Ok(())
}

#[test]
fn lesson_lock_otp_persist_and_expireat_through_the_cli() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    assert_eq!(
        stdout(&kvdb(
            d,
            &["SET", "lock:order:ord_8821", "worker-1", "NX", "EX", "30"]
        )?),
        "OK\n"
    );
    assert_eq!(
        stdout(&kvdb(
            d,
            &["SET", "lock:order:ord_8821", "worker-2", "NX", "EX", "30"]
        )?),
        "\n"
    );
    assert_eq!(
        stdout(&kvdb(
            d,
            &[
                "--no-raw",
                "SET",
                "lock:order:ord_8821",
                "worker-2",
                "NX",
                "EX",
                "30"
            ]
        )?),
        "(nil)\n"
    );
    assert_eq!(
        stdout(&kvdb(d, &["GET", "lock:order:ord_8821"])?),
        "worker-1\n"
    );

    kvdb(d, &["SET", "otp:42", "918273", "EX", "300"])?;
    let ttl: i64 = stdout(&kvdb(d, &["TTL", "otp:42"])?).trim().parse()?;
    assert!((299..=300).contains(&ttl), "ttl {ttl}");
    kvdb(d, &["SET", "otp:43", "111222", "PX", "100"])?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while stdout(&kvdb(d, &["GET", "otp:43"])?) != "\n" {
        assert!(Instant::now() < deadline, "the OTP never expired");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(stdout(&kvdb(d, &["TTL", "otp:43"])?), "-2\n");

    assert_eq!(stdout(&kvdb(d, &["PERSIST", "otp:42"])?), "1\n");
    assert_eq!(stdout(&kvdb(d, &["TTL", "otp:42"])?), "-1\n");

    kvdb(d, &["SET", "promo", "on"])?;
    assert_eq!(
        stdout(&kvdb(d, &["EXPIREAT", "promo", "1000000000"])?),
        "1\n"
    );
    assert_eq!(stdout(&kvdb(d, &["EXISTS", "promo"])?), "0\n");
    Ok(())
}

#[test]
fn lesson_incr_from_eight_processes_counts_every_increment() -> TestResult {
    // Eight clients sharing one directory must take turns (the directory lock), so each process
    // runs 1,000 INCRs from stdin in one open; the total proves no increment was lost.
    let dir = tempfile::tempdir()?;
    let script = "INCR visit_count\n".repeat(1000);
    for _ in 0..8 {
        let out = piped(dir.path(), &[], &script)?;
        assert!(out.status.success());
    }
    assert_eq!(
        stdout(&kvdb(dir.path(), &["GET", "visit_count"])?),
        "8000\n"
    );
    Ok(())
}

#[test]
fn compact_and_stats_work_on_a_closed_directory() -> TestResult {
    let dir = tempfile::tempdir()?;
    // Overwrites in small segments: most of the log is dead.
    let mut script = String::new();
    for round in 0..30 {
        for key in 0..40 {
            script.push_str(&format!("SET key:{key} value-{round}-{}\n", "x".repeat(40)));
        }
    }
    script.push_str("DEL key:0\n");
    let out = piped(dir.path(), &["--segment-size", "2048"], &script)?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let field = |text: &str, name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .and_then(|v| v.trim().parse().ok())
    };
    let before = stdout(&kvdb(dir.path(), &["stats"])?);
    let dead = field(&before, "kvdb_dead_bytes").ok_or("no kvdb_dead_bytes")?;
    let live = field(&before, "kvdb_live_bytes").ok_or("no kvdb_live_bytes")?;
    assert!(dead > 5 * live, "{before}");
    assert!(before.contains("# Segments"), "{before}");

    let out = kvdb(dir.path(), &["compact"])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.starts_with("compacted "), "{text}");
    assert!(text.contains("reclaimed"), "{text}");

    let after = stdout(&kvdb(dir.path(), &["stats"])?);
    assert_eq!(field(&after, "kvdb_dead_bytes"), Some(0), "{after}");
    assert_eq!(field(&after, "kvdb_live_bytes"), Some(live), "{after}");
    let out = kvdb(dir.path(), &["GET", "key:7"])?;
    assert_eq!(stdout(&out), format!("value-29-{}\n", "x".repeat(40)));
    let out = kvdb(dir.path(), &["EXISTS", "key:0"])?;
    assert_eq!(stdout(&out), "0\n");
    let out = kvdb(dir.path(), &["check"])?;
    assert!(out.status.success(), "{}", stdout(&out));
    Ok(())
}
