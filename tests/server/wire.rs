//! Exact bytes on the wire, as Redis 7.0 sends them: inline commands typed in telnet,
//! pipelines in one write, requests split across writes, and the encodings of each reply type.

use crate::common::TestResult;
use crate::common::raw::request;
use crate::common::server::Server;

#[test]
fn inline_commands_as_telnet_sends_them_get_resp_replies() -> TestResult {
    let server = Server::start(&[])?;
    let mut raw = server.raw()?;
    raw.send(b"PING\r\n")?;
    assert_eq!(raw.frame_text()?, "+PONG\r\n");
    raw.send(b"SET greeting \"hello world\"\r\n")?;
    assert_eq!(raw.frame_text()?, "+OK\r\n");
    // netcat sends a bare "\n"; blank lines are skipped without a reply.
    raw.send(b"\r\n\n   \r\nGET greeting\n")?;
    assert_eq!(raw.frame_text()?, "$11\r\nhello world\r\n");
    raw.send(b"set k 'it\\'s' \r\nget   k\r\n")?;
    assert_eq!(raw.frame_text()?, "+OK\r\n");
    assert_eq!(raw.frame_text()?, "$4\r\nit's\r\n");
    raw.send(b"ECHO \"\\x41\\tb\"\r\n")?;
    assert_eq!(raw.frame_text()?, "$3\r\nA\tb\r\n");
    raw.send(b"INCR n\r\nnosuch a b\r\n")?;
    assert_eq!(raw.frame_text()?, ":1\r\n");
    assert_eq!(
        raw.frame_text()?,
        "-ERR unknown command 'nosuch', with args beginning with: 'a' 'b' \r\n"
    );
    // An inline command split across writes waits for its newline.
    raw.send(b"GE")?;
    std::thread::sleep(std::time::Duration::from_millis(20));
    raw.send(b"T n\r\n")?;
    assert_eq!(raw.frame_text()?, "$1\r\n1\r\n");
    // Unbalanced quotes are a protocol error: the reply, then the connection closes.
    raw.send(b"SET k \"open\r\n")?;
    assert_eq!(
        raw.until_closed(crate::CLOSE_TIMEOUT)?,
        b"-ERR Protocol error: unbalanced quotes in request\r\n"
    );
    Ok(())
}

#[test]
fn pipelined_requests_in_one_write_get_replies_in_order() -> TestResult {
    let server = Server::start(&[])?;
    let mut raw = server.raw()?;
    let mut batch = Vec::new();
    batch.extend(request(&["SET", "a", "1"]));
    batch.extend(request(&["INCR", "a"]));
    batch.extend(b"GET a\r\n");
    batch.extend(request(&["GET", "missing"]));
    batch.extend(request(&["MGET", "a", "missing"]));
    batch.extend(b"*0\r\n");
    batch.extend(request(&["INCR", "nope", "extra"]));
    batch.extend(request(&["DEL", "a"]));
    batch.extend(request(&["PING"]));
    raw.send(&batch)?;
    let expected = [
        "+OK\r\n",
        ":2\r\n",
        "$1\r\n2\r\n",
        "$-1\r\n",
        "*2\r\n$1\r\n2\r\n$-1\r\n",
        "-ERR wrong number of arguments for 'incr' command\r\n",
        ":1\r\n",
        "+PONG\r\n",
    ];
    for want in expected {
        assert_eq!(raw.frame_text()?, want);
    }
    Ok(())
}

#[test]
fn a_request_split_at_every_byte_is_answered_once() -> TestResult {
    let server = Server::start(&[])?;
    let mut raw = server.raw()?;
    let bytes = request(&["SET", "split", "v\r\nv"]);
    for byte in &bytes {
        raw.send(std::slice::from_ref(byte))?;
    }
    assert_eq!(raw.frame_text()?, "+OK\r\n");
    assert_eq!(raw.call_text(&["GET", "split"])?, "$4\r\nv\r\nv\r\n");
    Ok(())
}

#[test]
fn replies_of_each_type_are_encoded_as_redis_does() -> TestResult {
    let server = Server::start(&[])?;
    let mut raw = server.raw()?;
    let cases: &[(&[&str], &str)] = &[
        (&["SET", "k", ""], "+OK\r\n"),
        (&["GET", "k"], "$0\r\n\r\n"),
        (&["STRLEN", "k"], ":0\r\n"),
        (&["INCRBYFLOAT", "f", "1.5"], "$3\r\n1.5\r\n"),
        (&["TTL", "nope"], ":-2\r\n"),
        (&["SET", "x", "v", "NX", "GET"], "$-1\r\n"),
        (&["KEYS", "zzz*"], "*0\r\n"),
        (&["SCAN", "0", "MATCH", "zzz*"], "*2\r\n$1\r\n0\r\n*0\r\n"),
        (
            &["HELLO", "2", "SETNAME", "a b"],
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
        ),
        (&["EXEC"], "-ERR EXEC without MULTI\r\n"),
        (
            &["INCR", "x"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &["SET", "k", "v", "EX", "0"],
            "-ERR invalid expire time in 'set' command\r\n",
        ),
    ];
    for (argv, want) in cases {
        assert_eq!(&raw.call_text(argv)?, want, "{argv:?}");
    }
    // An aborted EXEC is the null array.
    let mut other = server.raw()?;
    assert_eq!(raw.call_text(&["WATCH", "w"])?, "+OK\r\n");
    assert_eq!(other.call_text(&["SET", "w", "1"])?, "+OK\r\n");
    assert_eq!(raw.call_text(&["MULTI"])?, "+OK\r\n");
    assert_eq!(raw.call_text(&["GET", "w"])?, "+QUEUED\r\n");
    assert_eq!(raw.call_text(&["EXEC"])?, "*-1\r\n");
    Ok(())
}
