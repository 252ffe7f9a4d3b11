//! Many clients at once: 1,000 simultaneous connections each with a request in flight, INCR
//! from 50 connections (every reply distinct, none lost), and EXEC atomic against readers.

use std::time::{Duration, Instant};

use redis::Commands;

use crate::common::TestResult;
use crate::common::raw::{Raw, request};
use crate::common::server::Server;

/// Bound on each multi-threaded test.
const DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn a_thousand_connections_are_served_at_once() -> TestResult {
    const ROUNDS: usize = 5;
    // One descriptor per client here, and as many in the server, which inherits the limit.
    let clients_wanted = 1000;
    let clients_count = crate::common::fds::room_for(clients_wanted)?;
    let server = Server::start(&[])?;
    let mut clients: Vec<Raw> = (0..clients_count)
        .map(|_| server.raw())
        .collect::<std::io::Result<_>>()?;
    for round in 1..=ROUNDS {
        // Every client has a request in flight before any reply is read.
        for (i, client) in clients.iter_mut().enumerate() {
            let mut batch = request(&["INCR", "total"]);
            batch.extend(request(&[
                "SET",
                &format!("client:{i}"),
                &round.to_string(),
            ]));
            client.send(&batch)?;
        }
        for client in &mut clients {
            let incr = client.frame_text()?;
            assert!(incr.starts_with(':'), "INCR answered {incr:?}");
            assert_eq!(client.frame_text()?, "+OK\r\n");
        }
    }
    let mut con = server.connect()?;
    assert_eq!(con.get::<_, usize>("total")?, clients_count * ROUNDS);
    let values: Vec<String> = con.mget(
        (0..clients_count)
            .map(|i| format!("client:{i}"))
            .collect::<Vec<_>>(),
    )?;
    assert!(values.iter().all(|v| v == &ROUNDS.to_string()));
    Ok(())
}

#[test]
fn incr_from_fifty_connections_is_linearizable() -> TestResult {
    const CLIENTS: usize = 50;
    const PER_CLIENT: usize = 200;
    let server = Server::start(&[])?;
    let deadline = Instant::now() + DEADLINE;
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let mut con = server.connect()?;
            Ok(std::thread::spawn(move || -> Result<Vec<i64>, String> {
                let mut seen = Vec::with_capacity(PER_CLIENT);
                for _ in 0..PER_CLIENT {
                    if Instant::now() > deadline {
                        return Err("deadline passed".into());
                    }
                    seen.push(con.incr("visits", 1).map_err(|e| e.to_string())?);
                }
                Ok(seen)
            }))
        })
        .collect::<redis::RedisResult<_>>()?;
    let mut all = Vec::new();
    for worker in workers {
        let seen = worker.join().map_err(|_| "a worker panicked")??;
        // One client's increments are ordered.
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        all.extend(seen);
    }
    // Every INCR got its own value, and none was lost.
    all.sort_unstable();
    let total = (CLIENTS * PER_CLIENT) as i64;
    assert_eq!(all, (1..=total).collect::<Vec<_>>());
    assert_eq!(server.connect()?.get::<_, i64>("visits")?, total);
    Ok(())
}

#[test]
fn no_reader_sees_half_of_an_exec() -> TestResult {
    const WRITERS: usize = 8;
    const PER_WRITER: usize = 150;
    let server = Server::start(&[])?;
    let deadline = Instant::now() + DEADLINE;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let mut con = server.connect()?;
            Ok(std::thread::spawn(move || -> Result<(), String> {
                for _ in 0..PER_WRITER {
                    if Instant::now() > deadline {
                        return Err("deadline passed".into());
                    }
                    let (x, y): (i64, i64) = redis::pipe()
                        .atomic()
                        .incr("x", 1)
                        .incr("y", 1)
                        .query(&mut con)
                        .map_err(|e| e.to_string())?;
                    if x != y {
                        return Err(format!("EXEC gave x={x} y={y}"));
                    }
                }
                Ok(())
            }))
        })
        .collect::<redis::RedisResult<_>>()?;
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let mut con = server.connect()?;
            let stop = std::sync::Arc::clone(&stop);
            Ok(std::thread::spawn(move || -> Result<usize, String> {
                let mut reads = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < deadline {
                    let in_exec: (Option<i64>, Option<i64>) = redis::pipe()
                        .atomic()
                        .get("x")
                        .get("y")
                        .query(&mut con)
                        .map_err(|e| e.to_string())?;
                    let mget: Vec<Option<i64>> =
                        con.mget(&["x", "y"]).map_err(|e| e.to_string())?;
                    if in_exec.0 != in_exec.1 || mget[0] != mget[1] {
                        return Err(format!("saw {in_exec:?} and {mget:?}"));
                    }
                    reads += 1;
                }
                Ok(reads)
            }))
        })
        .collect::<redis::RedisResult<_>>()?;
    let mut failures = Vec::new();
    for writer in writers {
        if let Err(e) = writer.join().map_err(|_| "a writer panicked")? {
            failures.push(e);
        }
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for reader in readers {
        match reader.join().map_err(|_| "a reader panicked")? {
            Ok(reads) => assert!(reads > 0),
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
    let mut con = server.connect()?;
    let total = (WRITERS * PER_WRITER) as i64;
    let got: Vec<i64> = con.mget(&["x", "y"])?;
    assert_eq!(got, [total, total]);
    Ok(())
}
