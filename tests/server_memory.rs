//! 10,000 idle connections must cost the server little memory: each is a parked task and its
//! buffers, a few KiB, not a thread stack. The test reads the server's RSS (VmRSS in
//! /proc/PID/status) before and after opening them (each has sent one PING, as a client that
//! connects and then idles would), and bounds the growth per connection generously.
//!
//! It has a test binary of its own because it needs ~10,000 file descriptors on each side. If
//! the soft `ulimit -n` is lower, it raises it with prlimit(1) (up to the hard limit); failing
//! that, it opens fewer connections and says so.

#[allow(
    dead_code,
    reason = "the helpers are shared by several test binaries, each using a part"
)]
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::TestResult;
use common::fds::room_for;
use common::server::{IO_TIMEOUT, Server};

/// Idle connections to open.
const IDLE: usize = 10_000;
/// The bound on the server's RSS growth per idle connection.
const MAX_BYTES_PER_CONNECTION: u64 = 64 * 1024;
/// Bound on opening them all.
const DEADLINE: Duration = Duration::from_secs(60);

/// Connects and completes one PING, so that the server has set the connection up.
fn connect_and_ping(port: u16) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.write_all(b"PING\r\n")?;
    let mut pong = [0u8; 7];
    stream.read_exact(&mut pong)?;
    if &pong != b"+PONG\r\n" {
        return Err(std::io::Error::other(format!("PING answered {pong:?}")));
    }
    Ok(stream)
}

#[test]
fn ten_thousand_idle_connections_cost_little_memory() -> TestResult {
    let count = room_for(IDLE)?;
    assert!(count >= 1000, "only {count} descriptors available");
    let maxclients = (count + 100).to_string();
    let server = Server::start(&["--maxclients", &maxclients])?;
    // Warm up the runtime's workers and allocator with some traffic before the baseline.
    let warm: Vec<TcpStream> = (0..50)
        .map(|_| connect_and_ping(server.port()))
        .collect::<std::io::Result<_>>()?;
    drop(warm);
    std::thread::sleep(Duration::from_millis(200));
    let before = server.rss_bytes()?;

    let started = Instant::now();
    let mut idle = Vec::with_capacity(count);
    for i in 0..count {
        assert!(
            started.elapsed() < DEADLINE,
            "only {i} connections in {DEADLINE:?}"
        );
        idle.push(connect_and_ping(server.port())?);
    }
    let opened_in = started.elapsed();
    std::thread::sleep(Duration::from_millis(200));
    let after = server.rss_bytes()?;
    // They are all still served.
    for stream in idle.iter_mut().step_by(count / 10) {
        stream.write_all(b"PING\r\n")?;
        let mut pong = [0u8; 7];
        stream.read_exact(&mut pong)?;
        assert_eq!(&pong, b"+PONG\r\n");
    }
    let per_connection = after.saturating_sub(before) / count as u64;
    eprintln!(
        "{count} idle connections opened in {opened_in:?}: server RSS {} KiB -> {} KiB, \
         {per_connection} bytes per connection",
        before / 1024,
        after / 1024
    );
    assert!(
        per_connection < MAX_BYTES_PER_CONNECTION,
        "{per_connection} bytes per idle connection"
    );
    drop(idle);
    Ok(())
}
