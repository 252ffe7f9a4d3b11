//! Pipelining: redis-rs pipelines (plain and atomic), and batches large enough that the server
//! must stop writing replies while the client is still sending (backpressure); every reply
//! arrives, once, in order.

use std::io::Write;

use redis::Commands;

use crate::common::TestResult;
use crate::common::raw::request;
use crate::common::server::Server;

#[test]
fn redis_rs_pipelines_get_every_reply_in_order() -> TestResult {
    let server = Server::start(&[])?;
    let mut con = server.connect()?;
    let mut pipe = redis::pipe();
    for i in 0..1000 {
        pipe.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
        pipe.cmd("INCR").arg("counter");
    }
    pipe.cmd("MGET").arg(&["key:0", "key:999", "nope"]);
    let mut replies: Vec<redis::Value> = pipe.query(&mut con)?;
    let mget = replies.pop();
    let counts: Vec<i64> = redis::from_redis_value(&redis::Value::Array(replies))?;
    assert_eq!(counts, (1..=1000).collect::<Vec<_>>());
    let mget: Vec<Option<String>> = redis::from_redis_value(&mget.ok_or("no MGET reply")?)?;
    assert_eq!(mget, [Some("0".into()), Some("999".into()), None]);

    // An atomic pipeline is MULTI ... EXEC.
    let (a, b): (i64, i64) = redis::pipe()
        .atomic()
        .incr("x", 1)
        .incr("x", 10)
        .query(&mut con)?;
    assert_eq!((a, b), (1, 11));
    assert_eq!(con.get::<_, i64>("x")?, 11);
    Ok(())
}

#[test]
fn a_pipeline_larger_than_the_socket_buffers_is_answered_in_full() -> TestResult {
    const COMMANDS: usize = 20_000;
    let server = Server::start(&[])?;
    let mut raw = server.raw()?;
    let value = vec![b'v'; 1024];
    assert_eq!(
        raw.call_text(&[b"SET".as_slice(), b"big", &value])?,
        "+OK\r\n"
    );
    let mut batch = Vec::new();
    for _ in 0..COMMANDS {
        batch.extend(request(&["INCR", "n"]));
        batch.extend(request(&["GET", "big"]));
    }
    // ~20 MB of replies to ~1 MB of requests: the client must read while it writes.
    let mut writer = raw.stream().try_clone()?;
    let sender = std::thread::spawn(move || writer.write_all(&batch));
    let mut expected_get = format!("${}\r\n", value.len()).into_bytes();
    expected_get.extend_from_slice(&value);
    expected_get.extend_from_slice(b"\r\n");
    for i in 1..=COMMANDS {
        assert_eq!(raw.frame_text()?, format!(":{i}\r\n"));
        assert_eq!(raw.frame()?, expected_get, "GET #{i}");
    }
    sender.join().map_err(|_| "the sender panicked")??;
    assert_eq!(
        raw.call_text(&["GET", "n"])?,
        format!("$5\r\n{COMMANDS}\r\n")
    );
    Ok(())
}
