//! MULTI/EXEC/DISCARD and WATCH across connections: queueing errors abort EXEC, runtime errors
//! are per command, a watched key changed by another client, by expiry or by FLUSHDB makes EXEC
//! return nil, and optimistic check-and-set loops from two clients lose no update.

use std::time::{Duration, Instant};

use redis::{Commands, Value};

use crate::common::TestResult;
use crate::common::server::Server;

fn cmd(args: &[&str]) -> redis::Cmd {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd
}

fn query(con: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<Value> {
    // `req_command` returns error replies as values, which EXEC's array may hold.
    redis::ConnectionLike::req_command(con, &cmd(args))
}

fn ok() -> Value {
    Value::Okay
}

fn queued() -> Value {
    Value::SimpleString("QUEUED".into())
}

#[test]
fn exec_runs_the_queue_and_reports_runtime_errors_per_command() -> TestResult {
    let server = Server::start(&[])?;
    let mut con = server.connect()?;
    let () = con.set("text", "abc")?;
    assert_eq!(query(&mut con, &["MULTI"])?, ok());
    assert_eq!(query(&mut con, &["INCR", "n"])?, queued());
    assert_eq!(query(&mut con, &["INCR", "text"])?, queued());
    assert_eq!(query(&mut con, &["SET", "after", "1"])?, queued());
    let Value::Array(replies) = query(&mut con, &["EXEC"])? else {
        panic!("EXEC must answer an array");
    };
    assert_eq!(replies.len(), 3);
    assert_eq!(replies[0], Value::Int(1));
    let Value::ServerError(err) = &replies[1] else {
        panic!("INCR on text must fail inside EXEC: {:?}", replies[1]);
    };
    assert_eq!(
        err.details(),
        Some("value is not an integer or out of range")
    );
    assert_eq!(replies[2], ok());
    assert_eq!(con.get::<_, String>("after")?, "1");

    // DISCARD drops the queue.
    assert_eq!(query(&mut con, &["MULTI"])?, ok());
    assert_eq!(query(&mut con, &["INCR", "n"])?, queued());
    assert_eq!(query(&mut con, &["DISCARD"])?, ok());
    assert_eq!(con.get::<_, i64>("n")?, 1);
    Ok(())
}

#[test]
fn a_command_rejected_while_queueing_aborts_exec() -> TestResult {
    let server = Server::start(&[])?;
    let mut raw = server.raw()?;
    assert_eq!(raw.call_text(&["MULTI"])?, "+OK\r\n");
    assert_eq!(raw.call_text(&["SET", "k", "v"])?, "+QUEUED\r\n");
    assert_eq!(
        raw.call_text(&["NOSUCH"])?,
        "-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
    );
    assert_eq!(
        raw.call_text(&["GET"])?,
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        raw.call_text(&["EXEC"])?,
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(raw.call_text(&["EXISTS", "k"])?, ":0\r\n");
    assert_eq!(
        raw.call_text(&["MULTI"])?,
        "+OK\r\n",
        "the aborted MULTI is over"
    );
    assert_eq!(
        raw.call_text(&["MULTI"])?,
        "-ERR MULTI calls can not be nested\r\n"
    );
    assert_eq!(
        raw.call_text(&["WATCH", "k"])?,
        "-ERR WATCH inside MULTI is not allowed\r\n"
    );
    assert_eq!(raw.call_text(&["EXEC"])?, "*0\r\n");

    // Regression: SHUTDOWN was queued, and EXEC stopped the server without answering.
    assert_eq!(raw.call_text(&["MULTI"])?, "+OK\r\n");
    assert_eq!(
        raw.call_text(&["SHUTDOWN"])?,
        "-ERR Command not allowed inside a transaction\r\n"
    );
    assert_eq!(
        raw.call_text(&["EXEC"])?,
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(server.raw()?.call_text(&["PING"])?, "+PONG\r\n");
    Ok(())
}

/// WATCH `key` on `con`, let `change` run, then MULTI / SET / EXEC: whether EXEC ran.
fn watched_exec(
    con: &mut redis::Connection,
    key: &str,
    change: impl FnOnce() -> TestResult,
) -> Result<bool, Box<dyn std::error::Error>> {
    assert_eq!(query(con, &["WATCH", key])?, ok());
    change()?;
    assert_eq!(query(con, &["MULTI"])?, ok());
    assert_eq!(query(con, &["SET", "result", key])?, queued());
    match query(con, &["EXEC"])? {
        Value::Nil => Ok(false),
        Value::Array(replies) if replies == [ok()] => Ok(true),
        other => Err(format!("EXEC answered {other:?}").into()),
    }
}

#[test]
fn watch_aborts_exec_when_another_client_changes_the_key() -> TestResult {
    let server = Server::start(&[])?;
    let mut con = server.connect()?;
    let mut other = server.connect()?;
    let () = other.set("w", "0")?;
    let ran = watched_exec(&mut con, "w", || {
        let () = other.set("w", "1")?;
        Ok(())
    })?;
    assert!(!ran, "a SET by another client must abort EXEC");
    assert!(!con.exists::<_, bool>("result")?);

    // A change to another key, or a read, does not abort.
    let ran = watched_exec(&mut con, "w", || {
        let () = other.set("unrelated", "1")?;
        let _: String = other.get("w")?;
        Ok(())
    })?;
    assert!(ran);

    // Deleting, or creating a key that did not exist, aborts; so does a change by the
    // watching client itself before MULTI.
    let ran = watched_exec(&mut con, "w", || {
        let _: i64 = other.del("w")?;
        Ok(())
    })?;
    assert!(!ran, "DEL");
    let ran = watched_exec(&mut con, "fresh", || {
        let () = other.set("fresh", "1")?;
        Ok(())
    })?;
    assert!(!ran, "creating the key");
    assert_eq!(query(&mut con, &["WATCH", "own"])?, ok());
    assert_eq!(query(&mut con, &["SET", "own", "1"])?, ok());
    assert_eq!(query(&mut con, &["MULTI"])?, ok());
    assert_eq!(query(&mut con, &["PING"])?, queued());
    assert_eq!(query(&mut con, &["EXEC"])?, Value::Nil, "own change");

    // UNWATCH forgets, and EXEC or DISCARD end the watch.
    assert_eq!(query(&mut con, &["WATCH", "w"])?, ok());
    assert_eq!(query(&mut con, &["UNWATCH"])?, ok());
    let () = other.set("w", "2")?;
    assert_eq!(query(&mut con, &["MULTI"])?, ok());
    assert_eq!(query(&mut con, &["EXEC"])?, Value::Array(vec![]));
    Ok(())
}

#[test]
fn watch_aborts_exec_when_the_key_expires_or_is_flushed() -> TestResult {
    let server = Server::start(&[])?;
    let mut con = server.connect()?;
    let mut other = server.connect()?;

    let () = other.pset_ex("short", "v", 500)?;
    let ran = watched_exec(&mut con, "short", || {
        // The premise: the key was there when WATCH ran (a slow machine could miss it).
        let live: bool = other.exists("short")?;
        assert!(
            live,
            "the key expired before WATCH: the test ran too slowly"
        );
        std::thread::sleep(Duration::from_millis(1000));
        Ok(())
    })?;
    assert!(!ran, "the key expired between WATCH and EXEC");

    let () = other.set("f", "v")?;
    let ran = watched_exec(&mut con, "f", || {
        let () = cmd(&["FLUSHDB"]).query(&mut other)?;
        Ok(())
    })?;
    assert!(!ran, "FLUSHDB emptied the watched key");

    let () = other.set("g", "v")?;
    let ran = watched_exec(&mut con, "g", || {
        let () = cmd(&["FLUSHALL"]).query(&mut other)?;
        Ok(())
    })?;
    assert!(!ran, "FLUSHALL");

    // An expiry far away does not abort.
    let () = other.set_ex("long", "v", 1000)?;
    assert!(watched_exec(&mut con, "long", || Ok(()))?);
    Ok(())
}

#[test]
fn check_and_set_loops_on_two_connections_lose_no_update() -> TestResult {
    const PER_CLIENT: i64 = 150;
    let server = Server::start(&[])?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let mut con = server.connect()?;
            Ok(std::thread::spawn(move || -> Result<(i64, i64), String> {
                let (mut done, mut aborted) = (0, 0);
                while done < PER_CLIENT {
                    if Instant::now() > deadline {
                        return Err(format!("only {done} updates in 30 s"));
                    }
                    let mut run = || -> redis::RedisResult<Value> {
                        query(&mut con, &["WATCH", "cas"])?;
                        let current: Option<i64> = con.get("cas")?;
                        let next = (current.unwrap_or(0) + 1).to_string();
                        query(&mut con, &["MULTI"])?;
                        query(&mut con, &["SET", "cas", &next])?;
                        query(&mut con, &["EXEC"])
                    };
                    match run().map_err(|e| e.to_string())? {
                        Value::Nil => aborted += 1,
                        Value::Array(_) => done += 1,
                        other => return Err(format!("EXEC answered {other:?}")),
                    }
                }
                Ok((done, aborted))
            }))
        })
        .collect::<redis::RedisResult<_>>()?;
    let mut total = 0;
    for worker in workers {
        let (done, _aborted) = worker.join().map_err(|_| "a worker panicked")??;
        total += done;
    }
    let mut con = server.connect()?;
    assert_eq!(con.get::<_, i64>("cas")?, total);
    Ok(())
}
