//! RESP3: `HELLO 3` answers a map and switches the connection's encoding (null as `_`, maps as
//! `%`), `HELLO 2` switches back, and redis-rs in RESP3 mode works against the server.

use redis::{Commands, Value};

use crate::common::TestResult;
use crate::common::server::Server;

/// HELLO's reply for client `id` in `proto`, as Redis 7.0 encodes it.
fn hello_bytes(id: i64, proto: u8) -> String {
    let fields = [
        ("server", "$5\r\nredis\r\n".to_owned()),
        ("version", "$6\r\n7.0.15\r\n".to_owned()),
        ("proto", format!(":{proto}\r\n")),
        ("id", format!(":{id}\r\n")),
        ("mode", "$10\r\nstandalone\r\n".to_owned()),
        ("role", "$6\r\nmaster\r\n".to_owned()),
        ("modules", "*0\r\n".to_owned()),
    ];
    let mut out = if proto == 3 {
        "%7\r\n".to_owned()
    } else {
        "*14\r\n".to_owned()
    };
    for (key, value) in fields {
        out.push_str(&format!("${}\r\n{key}\r\n{value}", key.len()));
    }
    out
}

#[test]
fn hello_3_answers_a_map_and_switches_the_encoding() -> TestResult {
    let server = Server::start(&[])?;
    let mut raw = server.raw()?;
    let id: i64 = raw
        .call_text(&["CLIENT", "ID"])?
        .trim_start_matches(':')
        .trim_end()
        .parse()?;
    assert_eq!(raw.call_text(&["GET", "missing"])?, "$-1\r\n");
    assert_eq!(raw.call_text(&["HELLO", "3"])?, hello_bytes(id, 3));
    assert_eq!(raw.call_text(&["GET", "missing"])?, "_\r\n");
    assert_eq!(
        raw.call_text(&["MGET", "a", "missing"])?,
        "*2\r\n_\r\n_\r\n"
    );
    assert_eq!(raw.call_text(&["SET", "a", "1"])?, "+OK\r\n");
    assert_eq!(raw.call_text(&["INCR", "a"])?, ":2\r\n");
    // INCRBYFLOAT answers a bulk string in RESP3 too (as Redis 7.0).
    assert_eq!(
        raw.call_text(&["INCRBYFLOAT", "f", "1.5"])?,
        "$3\r\n1.5\r\n"
    );
    assert_eq!(raw.call_text(&["GETRANGE", "a", "0", "-1"])?, "$1\r\n2\r\n");
    assert_eq!(
        raw.call_text(&["INCR", "f"])?,
        "-ERR value is not an integer or out of range\r\n"
    );
    // HELLO without a version answers in the current protocol; an aborted EXEC is null.
    assert_eq!(raw.call_text(&["HELLO"])?, hello_bytes(id, 3));
    let mut other = server.raw()?;
    assert_eq!(raw.call_text(&["WATCH", "a"])?, "+OK\r\n");
    assert_eq!(other.call_text(&["INCR", "a"])?, ":3\r\n");
    assert_eq!(raw.call_text(&["MULTI"])?, "+OK\r\n");
    assert_eq!(raw.call_text(&["EXEC"])?, "_\r\n");
    // Unsupported versions are refused and leave the protocol as it was.
    assert_eq!(
        raw.call_text(&["HELLO", "4"])?,
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(raw.call_text(&["GET", "missing"])?, "_\r\n");
    assert_eq!(raw.call_text(&["HELLO", "2"])?, hello_bytes(id, 2));
    assert_eq!(raw.call_text(&["GET", "missing"])?, "$-1\r\n");
    // RESET goes back to RESP2 as well.
    assert_eq!(raw.call_text(&["HELLO", "3"])?, hello_bytes(id, 3));
    assert_eq!(raw.call_text(&["RESET"])?, "+RESET\r\n");
    assert_eq!(raw.call_text(&["GET", "missing"])?, "$-1\r\n");
    Ok(())
}

#[test]
fn redis_rs_in_resp3_mode_works() -> TestResult {
    let server = Server::start(&[])?;
    let mut con = server.connect_url(&server.url("?protocol=resp3"))?;
    let () = con.set("k", "v")?;
    assert_eq!(con.get::<_, String>("k")?, "v");
    assert_eq!(con.get::<_, Option<String>>("nope")?, None);
    let raw_nil: Value = redis::cmd("GET").arg("nope").query(&mut con)?;
    assert_eq!(raw_nil, Value::Nil);
    let hello: Value = redis::cmd("HELLO").query(&mut con)?;
    let Value::Map(fields) = hello else {
        panic!("HELLO in RESP3 must be a map: {hello:?}");
    };
    assert!(fields.contains(&(Value::BulkString(b"proto".to_vec()), Value::Int(3))));
    let (a, b): (i64, i64) = redis::pipe()
        .atomic()
        .incr("n", 1)
        .incr("n", 1)
        .query(&mut con)?;
    assert_eq!((a, b), (1, 2));
    let mut pipe = redis::pipe();
    for i in 0..100 {
        pipe.cmd("INCR")
            .arg("m")
            .cmd("GET")
            .arg(format!("missing{i}"));
    }
    let replies: Vec<Value> = pipe.query(&mut con)?;
    assert_eq!(replies.len(), 200);
    assert_eq!(replies[198], Value::Int(100));
    assert_eq!(replies[199], Value::Nil);
    Ok(())
}
