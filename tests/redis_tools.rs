//! Debian's redis-tools against `kvdb server` on a free port: redis-cli driven
//! non-interactively (arguments, stdin, `--pipe` mass insertion, `--scan`, `-a`, `-3`), and
//! `redis-benchmark -t set,get,incr -n 20000 -q` completing without errors, plain and
//! pipelined. The benchmark's numbers are printed (`--nocapture` shows them).
//!
//! redis-cli and redis-benchmark are required (scripts/test.sh installs redis-tools); a
//! machine without them fails here rather than skipping.

#[allow(
    dead_code,
    reason = "the helpers are shared by several test binaries, each using a part"
)]
mod common;

use std::process::{Command, Output};
use std::time::Duration;

use common::TestResult;
use common::server::{Server, run_with_input};

const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs a redis-tools program, with `stdin` as its input if given.
///
/// # Panics
/// If the program is missing, saying how to install it.
fn tool(
    program: &str,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> Result<Output, Box<dyn std::error::Error>> {
    if Command::new(program).arg("--version").output().is_err() {
        panic!(
            "{program} is not installed: the redis-tools tests need it \
             (apt-get install redis-tools, as scripts/test.sh does)"
        );
    }
    run_with_input(
        Command::new(program).args(args),
        stdin.map(<[u8]>::to_vec),
        TOOL_TIMEOUT,
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `redis-cli -p PORT ARGS`: its stdout (raw format, as it is not a terminal).
fn cli(server: &Server, args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let port = server.port().to_string();
    let mut all = vec!["-h", "127.0.0.1", "-p", &port];
    all.extend_from_slice(args);
    let output = tool("redis-cli", &all, None)?;
    assert!(
        output.status.success(),
        "redis-cli {args:?}: {}",
        text(&output.stderr)
    );
    Ok(text(&output.stdout))
}

#[test]
fn redis_cli_drives_the_server_non_interactively() -> TestResult {
    let server = Server::start(&[])?;
    assert_eq!(cli(&server, &["PING"])?, "PONG\n");
    assert_eq!(cli(&server, &["SET", "greeting", "hello world"])?, "OK\n");
    assert_eq!(cli(&server, &["GET", "greeting"])?, "hello world\n");
    assert_eq!(
        cli(&server, &["--no-raw", "GET", "greeting"])?,
        "\"hello world\"\n"
    );
    assert_eq!(cli(&server, &["INCR", "n"])?, "1\n");
    assert_eq!(cli(&server, &["--no-raw", "INCR", "n"])?, "(integer) 2\n");
    assert_eq!(
        cli(&server, &["MGET", "greeting", "nope"])?,
        "hello world\n\n"
    );
    assert_eq!(cli(&server, &["SET", "t", "v", "EX", "100"])?, "OK\n");
    let ttl: i64 = cli(&server, &["TTL", "t"])?.trim().parse()?;
    assert!((99..=100).contains(&ttl));
    assert_eq!(
        cli(&server, &["INCR", "greeting"])?,
        "ERR value is not an integer or out of range\n\n"
    );
    assert_eq!(cli(&server, &["-n", "3", "SET", "in3", "x"])?, "OK\n");
    assert_eq!(cli(&server, &["-n", "3", "DBSIZE"])?, "1\n");
    let hello = cli(&server, &["-3", "HELLO", "3"])?;
    assert!(
        hello.starts_with("server redis\nversion 7.0.15\nproto 3\n"),
        "{hello}"
    );

    // Commands from stdin, one per line.
    let port = server.port().to_string();
    let output = tool(
        "redis-cli",
        &["-h", "127.0.0.1", "-p", &port],
        Some(b"SET a 1\nINCRBY a 41\nGET a\n"),
    )?;
    assert_eq!(text(&output.stdout), "OK\n42\n42\n");

    // Mass insertion with --pipe: raw RESP on stdin, all replies counted.
    let mut protocol = Vec::new();
    for i in 0..5000 {
        protocol.extend(common::raw::request(&[
            "SET",
            &format!("bulk:{i}"),
            &i.to_string(),
        ]));
    }
    let output = tool(
        "redis-cli",
        &["-h", "127.0.0.1", "-p", &port, "--pipe"],
        Some(&protocol),
    )?;
    let report = text(&output.stdout);
    assert!(output.status.success(), "{report}{}", text(&output.stderr));
    assert!(report.contains("errors: 0, replies: 5000"), "{report}");
    assert_eq!(cli(&server, &["GET", "bulk:4999"])?, "4999\n");

    let mut scanned: Vec<String> = cli(&server, &["--scan", "--pattern", "bulk:499*"])?
        .lines()
        .map(str::to_owned)
        .collect();
    scanned.sort();
    assert_eq!(scanned.len(), 11, "{scanned:?}");
    Ok(())
}

#[test]
fn redis_cli_authenticates_with_a_password() -> TestResult {
    let server = Server::start(&["--requirepass", "s3cret"])?;
    assert_eq!(
        cli(&server, &["PING"])?,
        "NOAUTH Authentication required.\n\n"
    );
    assert_eq!(
        cli(&server, &["-a", "s3cret", "--no-auth-warning", "PING"])?,
        "PONG\n"
    );
    let port = server.port().to_string();
    let wrong = tool(
        "redis-cli",
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-a",
            "nope",
            "--no-auth-warning",
            "PING",
        ],
        None,
    )?;
    assert!(
        text(&wrong.stderr).contains("WRONGPASS invalid username-password pair"),
        "{}",
        text(&wrong.stderr)
    );
    Ok(())
}

/// The `TEST: N requests per second` lines of `redis-benchmark -q`.
fn benchmark_results(output: &str) -> Vec<(String, f64)> {
    output
        .split(['\r', '\n'])
        .filter_map(|line| {
            let (test, rest) = line.trim().split_once(": ")?;
            let rps = rest
                .strip_suffix(" requests per second")
                .or_else(|| rest.split_once(" requests per second,").map(|(n, _)| n))?;
            Some((test.to_owned(), rps.trim().parse().ok()?))
        })
        .collect()
}

#[test]
fn redis_benchmark_completes_without_errors() -> TestResult {
    let server = Server::start(&[])?;
    let port = server.port().to_string();
    for extra in [&[][..], &["-P", "16"][..]] {
        let mut args = vec![
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "set,get,incr",
            "-n",
            "20000",
            "-q",
        ];
        args.extend_from_slice(extra);
        let output = tool("redis-benchmark", &args, None)?;
        let stdout = text(&output.stdout);
        let stderr = text(&output.stderr);
        assert!(output.status.success(), "{stdout}{stderr}");
        let results = benchmark_results(&stdout);
        let tests: Vec<&str> = results.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(tests, ["SET", "GET", "INCR"], "{stdout}");
        assert!(results.iter().all(|(_, rps)| *rps > 0.0), "{stdout}");
        for text in [&stdout, &stderr] {
            assert!(!text.contains("ERR"), "{text}");
            assert!(!text.to_ascii_lowercase().contains("error"), "{text}");
        }
        eprintln!("redis-benchmark {extra:?} against a debug build: {results:?}");
    }
    // Every INCR counted: 20,000 from each run.
    assert_eq!(cli(&server, &["GET", "counter:__rand_int__"])?, "40000\n");
    Ok(())
}
