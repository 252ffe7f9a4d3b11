//! Graceful stops: SIGTERM, SIGINT and SHUTDOWN make the server stop accepting, finish the
//! commands it has read, fsync the log and release the directory lock, then exit 0. Every reply
//! a client received is on disk when a new process opens the directory, and no command ran
//! without its reply being sent.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::TestResult;
use crate::common::raw::request;
use crate::common::server::{Server, run_kvdb};

/// `kvdb -d DIR GET key` in a new process: which also proves the directory lock is free.
fn get_offline(dir: &Path, key: &str) -> Result<String, Box<dyn std::error::Error>> {
    let dir = dir.to_string_lossy();
    let output = run_kvdb(&["-d", &dir, "GET", key])?;
    if !output.status.success() {
        return Err(format!(
            "kvdb GET failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_owned())
}

fn stops_gracefully_on(signal: &str) -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut server = Server::start_in(dir.path(), &[])?;
    let mut raw = server.raw()?;
    assert_eq!(raw.call_text(&["SET", "k", "v"])?, "+OK\r\n");
    assert_eq!(raw.call_text(&["INCRBY", "n", "41"])?, ":41\r\n");
    // An idle client must not hold the stop up.
    let mut idle = server.raw()?;
    let started = Instant::now();
    server.signal(signal)?;
    let status = server.wait()?;
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        server.log()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?} to stop",
        started.elapsed()
    );
    assert_eq!(idle.until_closed(crate::CLOSE_TIMEOUT)?, b"");
    let log = server.log();
    assert!(log.contains("signal received"), "{log}");
    assert!(log.contains("ready to exit"), "{log}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", server.port())).is_err(),
        "still accepting after the stop"
    );
    assert_eq!(get_offline(dir.path(), "k")?, "v");
    assert_eq!(get_offline(dir.path(), "n")?, "41");
    Ok(())
}

#[test]
fn sigterm_stops_the_server_and_the_data_is_there_on_reopen() -> TestResult {
    stops_gracefully_on("TERM")
}

#[test]
fn sigint_stops_the_server_and_the_data_is_there_on_reopen() -> TestResult {
    stops_gracefully_on("INT")
}

#[test]
fn shutdown_stops_the_server_without_a_reply() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut server = Server::start_in(dir.path(), &["--appendfsync", "no"])?;
    let mut raw = server.raw()?;
    assert_eq!(raw.call_text(&["SET", "k", "kept"])?, "+OK\r\n");
    assert_eq!(
        raw.call_text(&["SHUTDOWN", "ABORT"])?,
        "-ERR No shutdown in progress.\r\n"
    );
    raw.send(&request(&["SHUTDOWN", "NOSAVE"]))?;
    assert_eq!(raw.until_closed(crate::CLOSE_TIMEOUT)?, b"");
    let status = server.wait()?;
    assert!(status.success(), "exit status {status}");
    assert_eq!(get_offline(dir.path(), "k")?, "kept");
    // The server reopens the directory, data included.
    let server = Server::start_in(dir.path(), &[])?;
    assert_eq!(server.raw()?.call_text(&["GET", "k"])?, "$4\r\nkept\r\n");
    Ok(())
}

#[test]
fn commands_in_flight_finish_and_every_reply_sent_is_durable() -> TestResult {
    const BATCH: usize = 2000;
    for signal in ["TERM", "SHUTDOWN"] {
        let dir = tempfile::tempdir()?;
        let mut server = Server::start_in(dir.path(), &["--appendfsync", "everysec"])?;
        let mut raw = server.raw()?;
        let mut batch = Vec::new();
        for _ in 0..BATCH {
            batch.extend(request(&["INCR", "n"]));
        }
        // Several writes, so that the stop may land between two of the server's reads.
        for chunk in batch.chunks(batch.len() / 4) {
            raw.send(chunk)?;
        }
        assert_eq!(raw.frame_text()?, ":1\r\n");
        if signal == "SHUTDOWN" {
            server.raw()?.send(&request(&["SHUTDOWN"]))?;
        } else {
            server.signal(signal)?;
        }
        let received = raw.until_closed(crate::CLOSE_TIMEOUT)?;
        let frames = crate::common::raw::split_frames(&received)?;
        let replies = frames.len() + 1;
        for (i, frame) in frames.iter().enumerate() {
            assert_eq!(frame, format!(":{}\r\n", i + 2).as_bytes());
        }
        let status = server.wait()?;
        assert!(status.success(), "{signal}: exit status {status}");
        let stored: usize = get_offline(dir.path(), "n")?.parse()?;
        assert_eq!(
            stored, replies,
            "{signal}: {replies} replies were sent, {stored} increments are on disk"
        );
    }
    Ok(())
}
