//! Malformed input: random bytes, truncated frames, huge announced lengths and broken headers.
//! Each gets RESP error replies (or nothing, for a request that never completes) and at worst a
//! closed connection, costs no more memory than the bytes sent, and the server keeps serving a
//! well-behaved client throughout.

use std::net::Shutdown;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::common::TestResult;
use crate::common::raw::{Raw, request, split_frames};
use crate::common::server::Server;

/// A client that INCRs a counter until stopped and checks every reply: the bystander that
/// malformed clients must not disturb.
struct Bystander {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<u64, String>>,
}

impl Bystander {
    fn start(server: &Server) -> std::io::Result<Bystander> {
        let mut raw = server.raw()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut n = 0u64;
            // Bounded: the test stops it; 1,000,000 calls is far beyond any test's length.
            while !flag.load(Ordering::SeqCst) && n < 1_000_000 {
                n += 1;
                let reply = raw
                    .call_text(&["INCR", "bystander"])
                    .map_err(|e| format!("bystander call #{n}: {e}"))?;
                if reply != format!(":{n}\r\n") {
                    return Err(format!("bystander call #{n}: {reply:?}"));
                }
            }
            Ok(n)
        });
        Ok(Bystander { stop, thread })
    }

    fn finish(self) -> Result<u64, Box<dyn std::error::Error>> {
        self.stop.store(true, Ordering::SeqCst);
        let calls = self.thread.join().map_err(|_| "the bystander panicked")??;
        assert!(calls > 0, "the bystander made no call");
        Ok(calls)
    }
}

/// Sends `bytes`, closes the sending side, and returns the reply frames up to the close.
fn send_and_close(raw: &mut Raw, bytes: &[u8]) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    // A server that closes early may reset the rest of the write: that is fine.
    let _ = raw.send(bytes);
    let _ = raw.stream().shutdown(Shutdown::Write);
    let received = raw.until_closed(crate::CLOSE_TIMEOUT)?;
    Ok(split_frames(&received)
        .map_err(|e| format!("{e}: {:?}", String::from_utf8_lossy(&received)))?
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect())
}

#[test]
fn random_bytes_get_error_replies_and_others_are_still_served() -> TestResult {
    let server = Server::start(&[])?;
    let bystander = Bystander::start(&server)?;
    let mut rng = fastrand::Rng::with_seed(7);
    for round in 0..200 {
        let len = rng.usize(1..2048);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        match round % 4 {
            // Looks like a multibulk request.
            0 => bytes.insert(0, b'*'),
            // Random text with newlines: inline garbage.
            1 => bytes.iter_mut().for_each(|b| {
                *b = if *b < 20 { b'\n' } else { b' ' + *b % 95 };
            }),
            // A valid request, then garbage.
            2 => {
                let mut valid = request(&["SET", "r", "v"]);
                valid.extend(bytes);
                bytes = valid;
            }
            _ => {}
        }
        let mut raw = server.raw()?;
        let replies = send_and_close(&mut raw, &bytes)
            .map_err(|e| format!("round {round}, bytes {bytes:?}: {e}"))?;
        for reply in &replies {
            assert!(
                reply.starts_with("-ERR ") || reply == "+OK\r\n",
                "round {round}: {reply:?} to {bytes:?}"
            );
        }
    }
    bystander.finish()?;
    assert_eq!(server.raw()?.call_text(&["PING"])?, "+PONG\r\n");
    Ok(())
}

#[test]
fn truncated_requests_get_no_reply_and_no_harm() -> TestResult {
    let server = Server::start(&[])?;
    let bystander = Bystander::start(&server)?;
    let whole = request(&["SET", "t", "value\r\nwith\r\nnewlines"]);
    for cut in 1..whole.len() {
        let mut raw = server.raw()?;
        let replies = send_and_close(&mut raw, &whole[..cut])?;
        assert!(replies.is_empty(), "cut at {cut}: {replies:?}");
    }
    bystander.finish()?;
    assert_eq!(server.raw()?.call_text(&["EXISTS", "t"])?, ":0\r\n");
    Ok(())
}

#[test]
fn broken_headers_get_redis_protocol_errors() -> TestResult {
    let server = Server::start(&[])?;
    let bystander = Bystander::start(&server)?;
    let long_line = vec![b'a'; 70 * 1024];
    let mut long_count = b"*".to_vec();
    long_count.extend(vec![b'1'; 70 * 1024]);
    let mut long_bulk_count = b"*1\r\n$".to_vec();
    long_bulk_count.extend(vec![b'1'; 70 * 1024]);
    let cases: Vec<(&[u8], Vec<&str>)> = vec![
        (
            b"*abc\r\n",
            vec!["-ERR Protocol error: invalid multibulk length\r\n"],
        ),
        (
            b"*1\r\n+OK\r\n",
            vec!["-ERR Protocol error: expected '$', got '+'\r\n"],
        ),
        (
            b"*1\r\n$-1\r\n",
            vec!["-ERR Protocol error: invalid bulk length\r\n"],
        ),
        (
            b"*1\r\n$x\r\n",
            vec!["-ERR Protocol error: invalid bulk length\r\n"],
        ),
        (b"*-1\r\n*0\r\nPING\r\n", vec!["+PONG\r\n"]),
        (
            b"$4\r\nabcd\r\n",
            vec![
                "-ERR unknown command '$4', with args beginning with: \r\n",
                "-ERR unknown command 'abcd', with args beginning with: \r\n",
            ],
        ),
        (
            &long_line,
            vec!["-ERR Protocol error: too big inline request\r\n"],
        ),
        (
            &long_count,
            vec!["-ERR Protocol error: too big mbulk count string\r\n"],
        ),
        (
            &long_bulk_count,
            vec!["-ERR Protocol error: too big bulk count string\r\n"],
        ),
    ];
    for (bytes, want) in cases {
        let mut raw = server.raw()?;
        let replies = send_and_close(&mut raw, bytes)?;
        assert_eq!(
            replies,
            want,
            "{:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
        );
    }
    bystander.finish()?;
    Ok(())
}

#[test]
fn huge_announced_lengths_cost_only_what_arrives() -> TestResult {
    const CLIENTS: usize = 40;
    let server = Server::start(&[])?;
    // Let the server settle before the baseline.
    assert_eq!(server.raw()?.call_text(&["PING"])?, "+PONG\r\n");
    let before = server.rss_bytes()?;
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let mut raw = server.raw()?;
        // Each announces 1M arguments or a 512 MB string, sends a few bytes, and waits.
        if i % 2 == 0 {
            raw.send(b"*1048576\r\n$3\r\nSET\r\n")?;
        } else {
            raw.send(b"*2\r\n$4\r\nECHO\r\n$536870912\r\nsome bytes")?;
        }
        clients.push(raw);
    }
    // Every announced request is pending: the server is still serving.
    assert_eq!(server.raw()?.call_text(&["PING"])?, "+PONG\r\n");
    std::thread::sleep(Duration::from_millis(100));
    let after = server.rss_bytes()?;
    let grown = after.saturating_sub(before);
    assert!(
        grown < 64 << 20,
        "RSS grew by {grown} bytes for {CLIENTS} clients announcing huge requests"
    );
    // Giving up on them closes them quietly.
    for mut raw in clients {
        assert!(send_and_close(&mut raw, b"")?.is_empty());
    }
    Ok(())
}
