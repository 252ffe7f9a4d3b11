//! The server's limits: bulk strings over 512 MB, multibulk counts over 1,048,576 and a query
//! buffer over 1 GiB are protocol errors that close the connection; a client past maxclients
//! is turned away; `--timeout` closes idle clients; the default bind is 127.0.0.1 only.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::common::TestResult;
use crate::common::raw::Raw;
use crate::common::server::Server;

const MAX_CLIENTS: &str = "-ERR max number of clients reached\r\n";

#[test]
fn oversized_bulk_and_multibulk_lengths_close_the_connection() -> TestResult {
    let server = Server::start(&[])?;
    let cases: &[(&[u8], &str)] = &[
        (
            b"*2\r\n$4\r\nECHO\r\n$536870913\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1048577\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*9223372036854775807\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n$99999999999999999999\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
    ];
    for (bytes, want) in cases {
        let mut raw = server.raw()?;
        raw.send(bytes)?;
        let got = raw.until_closed(crate::CLOSE_TIMEOUT)?;
        assert_eq!(String::from_utf8_lossy(&got), *want, "{bytes:?}");
    }
    // The largest allowed lengths are waited for, not refused.
    let mut raw = server.raw()?;
    raw.send(b"*1048576\r\n")?;
    let mut waiting = server.raw()?;
    waiting.send(b"*2\r\n$4\r\nECHO\r\n$536870912\r\nabc")?;
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.raw()?.call_text(&["PING"])?, "+PONG\r\n");
    for client in [&mut raw, &mut waiting] {
        assert!(
            client.until_closed(Duration::from_millis(100)).is_err(),
            "a request within the limits must be left open"
        );
    }
    Ok(())
}

#[test]
fn a_query_buffer_over_1_gib_is_refused() -> TestResult {
    // MSET a <512 MiB> b <512 MiB>: the first value is whole, the second is not when the
    // buffered request passes 1 GiB; nothing is sent past that point, so the server has read
    // everything when it answers and closes.
    const GIB: usize = 1 << 30;
    const HALF: usize = 512 << 20;
    let server = Server::start(&[])?;
    let mut raw = server.raw()?;
    let header = format!("*5\r\n$4\r\nMSET\r\n$1\r\na\r\n${HALF}\r\n");
    let middle = format!("\r\n$1\r\nb\r\n${HALF}\r\n");
    let started = Instant::now();
    let mut writer = raw.stream().try_clone()?;
    let sender = std::thread::spawn(move || -> std::io::Result<()> {
        let chunk = vec![b'x'; 1 << 20];
        let mut sent = 0;
        writer.write_all(header.as_bytes())?;
        sent += header.len();
        for _ in 0..HALF / chunk.len() {
            writer.write_all(&chunk)?;
        }
        sent += HALF;
        writer.write_all(middle.as_bytes())?;
        sent += middle.len();
        while sent <= GIB {
            let n = chunk.len().min(GIB + 1 - sent);
            writer.write_all(&chunk[..n])?;
            sent += n;
        }
        Ok(())
    });
    let got = raw.until_closed(Duration::from_secs(60))?;
    sender.join().map_err(|_| "the sender panicked")??;
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR Protocol error: query buffer limit (1 GiB) exceeded\r\n"
    );
    eprintln!("1 GiB query buffer refused after {:?}", started.elapsed());
    assert_eq!(server.raw()?.call_text(&["PING"])?, "+PONG\r\n");
    Ok(())
}

/// Connects and tells whether the server serves this connection (PING answers) or turns it
/// away (the maxclients error, then closed).
fn admitted(server: &Server) -> Result<(bool, Raw), Box<dyn std::error::Error>> {
    let mut raw = server.raw()?;
    raw.send(b"PING\r\n")?;
    let reply = raw.frame_text()?;
    match reply.as_str() {
        "+PONG\r\n" => Ok((true, raw)),
        MAX_CLIENTS => {
            assert_eq!(raw.until_closed(crate::CLOSE_TIMEOUT)?, b"");
            Ok((false, raw))
        }
        other => Err(format!("unexpected reply {other:?}").into()),
    }
}

#[test]
fn clients_past_maxclients_are_turned_away() -> TestResult {
    let server = Server::start(&["--maxclients", "3"])?;
    let mut kept = Vec::new();
    for _ in 0..3 {
        let (ok, raw) = admitted(&server)?;
        assert!(ok);
        kept.push(raw);
    }
    assert!(!admitted(&server)?.0, "the 4th client");
    assert!(!admitted(&server)?.0, "the 5th client");
    // A slot frees when a client leaves (the server notices shortly after).
    drop(kept.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (ok, raw) = admitted(&server)?;
        if ok {
            kept.push(raw);
            break;
        }
        assert!(Instant::now() < deadline, "the freed slot was never reused");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!admitted(&server)?.0);
    Ok(())
}

#[test]
fn a_burst_of_connections_cannot_exceed_maxclients() -> TestResult {
    const MAX: usize = 5;
    const BURST: usize = 200;
    let server = Server::start(&["--maxclients", &MAX.to_string()])?;
    // Connect all before any request: the server accepts them in a burst.
    let mut clients: Vec<Raw> = (0..BURST)
        .map(|_| server.raw())
        .collect::<std::io::Result<_>>()?;
    let mut served = 0;
    for client in &mut clients {
        // A refused client may be closed before the PING arrives.
        let _ = client.send(b"PING\r\n");
        match client.frame_text() {
            Ok(reply) if reply == "+PONG\r\n" => served += 1,
            Ok(reply) => assert_eq!(reply, MAX_CLIENTS),
            Err(e) => return Err(format!("no reply: {e}").into()),
        }
    }
    assert_eq!(
        served, MAX,
        "clients served at once with --maxclients {MAX}"
    );
    Ok(())
}

#[test]
fn idle_clients_are_closed_after_the_timeout() -> TestResult {
    let server = Server::start(&["--timeout", "1"])?;
    let mut idle = server.raw()?;
    let mut busy = server.raw()?;
    let started = Instant::now();
    // The busy client sends a command every 200 ms for 2 s and stays connected.
    for _ in 0..10 {
        assert_eq!(busy.call_text(&["PING"])?, "+PONG\r\n");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(idle.until_closed(Duration::from_secs(10))?, b"");
    let closed_after = started.elapsed();
    assert!(
        closed_after >= Duration::from_secs(1),
        "closed after {closed_after:?}"
    );
    assert_eq!(busy.call_text(&["PING"])?, "+PONG\r\n");
    Ok(())
}

#[test]
fn the_server_listens_on_loopback_only_by_default() -> TestResult {
    let server = Server::start(&[])?;
    let log = server.log();
    assert!(
        log.contains(&format!(
            "ready to accept connections on 127.0.0.1:{}",
            server.port()
        )),
        "{log}"
    );
    // The kernel's view: the listening socket's local address is 127.0.0.1 (0100007F),
    // not 0.0.0.0, and there is none on IPv6.
    let port = format!(":{:04X}", server.port());
    let listening = |table: &str| -> Result<Vec<String>, std::io::Error> {
        Ok(std::fs::read_to_string(table)?
            .lines()
            .skip(1)
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                (fields.len() > 3 && fields[1].ends_with(&port) && fields[3] == "0A")
                    .then(|| fields[1].to_owned())
            })
            .collect())
    };
    assert_eq!(listening("/proc/net/tcp")?, [format!("0100007F{port}")]);
    if let Ok(v6) = listening("/proc/net/tcp6") {
        assert!(v6.is_empty(), "{v6:?}");
    }
    Ok(())
}
