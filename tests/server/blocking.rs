//! Blocking list pops over the network (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP), as Redis 7.0
//! serves them: clients blocked on a key are served first blocked, first served, by as many
//! pushes as there are elements; a timeout answers nil (`*-1` in RESP2 even for BLMOVE, `_` in
//! RESP3); BLMOVE's pop and push are one step; a client that goes away (disconnect, CLIENT
//! KILL, SHUTDOWN) leaves no waiter behind that would swallow a later push; inside MULTI
//! nothing blocks; commands pipelined after a blocking one wait for it; other clients are
//! served meanwhile; and under `appendfsync always` a served pop is on disk once its reply is
//! sent. The exact bytes were checked against redis-server 7.0.
//!
//! A test that needs clients blocked in a known order sends each blocking command, then waits
//! until INFO's `blocked_clients` counts it before sending the next. Every wait is bounded
//! ([`SETTLE`], or the harness's read timeout); timing assertions are lower bounds only.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use redis::Commands;

use crate::common::TestResult;
use crate::common::raw::{Raw, request};
use crate::common::server::{IO_TIMEOUT, Server};

/// Bound on waiting for the server to reach a state (a client blocked, or gone).
const SETTLE: Duration = Duration::from_secs(10);
/// How long a client that must stay blocked is watched for a reply that must not come.
const QUIET: Duration = Duration::from_millis(300);

/// `$len\r\nvalue\r\n`.
fn bulk(value: &str) -> String {
    format!("${}\r\n{value}\r\n", value.len())
}

/// BLPOP's and BRPOP's reply: the key and the value.
fn key_value(key: &str, value: &str) -> String {
    format!("*2\r\n{}{}", bulk(key), bulk(value))
}

/// INFO's `blocked_clients`.
fn blocked_clients(admin: &mut Raw) -> Result<usize, Box<dyn std::error::Error>> {
    let info = admin.call_text(&["INFO", "clients"])?;
    let value = info
        .lines()
        .find_map(|line| line.strip_prefix("blocked_clients:"))
        .ok_or_else(|| format!("no blocked_clients in INFO clients: {info:?}"))?;
    Ok(value.trim().parse()?)
}

/// Waits until INFO says `n` clients are blocked, at most [`SETTLE`].
fn wait_for_blocked(admin: &mut Raw, n: usize) -> TestResult {
    let deadline = Instant::now() + SETTLE;
    loop {
        let now = blocked_clients(admin)?;
        if now == n {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("blocked_clients is {now} after {SETTLE:?}, expected {n}").into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Sends `argv` and waits until the server counts one more blocked client.
fn block(client: &mut Raw, admin: &mut Raw, argv: &[&str]) -> TestResult {
    let before = blocked_clients(admin)?;
    client.send(&request(argv))?;
    wait_for_blocked(admin, before + 1)
}

/// Fails if `client` receives anything within [`QUIET`]: it is still blocked.
fn assert_no_reply(client: &mut Raw, what: &str) -> TestResult {
    let stream = client.stream();
    stream.set_read_timeout(Some(QUIET))?;
    let mut byte = [0u8; 1];
    let outcome = stream.peek(&mut byte);
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    match outcome {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(()),
        Ok(0) => Err(format!("{what}: the connection closed").into()),
        Ok(_) => Err(format!(
            "{what}: got a reply ({:?}) instead of staying blocked",
            client.frame_text()?
        )
        .into()),
        Err(e) => Err(e.into()),
    }
}

#[test]
fn blpop_serves_three_blocked_clients_in_the_order_they_blocked() -> TestResult {
    let server = Server::start(&[])?;
    let mut admin = server.raw()?;
    let mut clients: Vec<Raw> = (0..3).map(|_| server.raw()).collect::<Result<_, _>>()?;
    for client in &mut clients {
        block(client, &mut admin, &["BLPOP", "jobs", "0"])?;
    }
    // RPUSH answers the length after its own push, before any waiter pops.
    assert_eq!(
        admin.call_text(&["RPUSH", "jobs", "v0", "v1", "v2"])?,
        ":3\r\n"
    );
    for (i, client) in clients.iter_mut().enumerate() {
        assert_eq!(
            client.frame_text()?,
            key_value("jobs", &format!("v{i}")),
            "client {i}"
        );
    }
    assert_eq!(admin.call_text(&["EXISTS", "jobs"])?, ":0\r\n");
    wait_for_blocked(&mut admin, 0)?;

    // The order is per key and survives a waiter leaving the queue: the second client of
    // three times out, the first and third are served in that order.
    block(&mut clients[0], &mut admin, &["BRPOP", "jobs", "0"])?;
    block(&mut clients[1], &mut admin, &["BRPOP", "jobs", "1"])?;
    block(
        &mut clients[2],
        &mut admin,
        &["BRPOP", "other", "jobs", "0"],
    )?;
    assert_eq!(clients[1].frame_text()?, "*-1\r\n");
    wait_for_blocked(&mut admin, 2)?;
    assert_eq!(admin.call_text(&["LPUSH", "jobs", "w1", "w0"])?, ":2\r\n");
    // BRPOP pops from the tail: w1 first.
    assert_eq!(clients[0].frame_text()?, key_value("jobs", "w1"));
    assert_eq!(clients[2].frame_text()?, key_value("jobs", "w0"));
    Ok(())
}

#[test]
fn a_push_of_one_element_wakes_exactly_one_of_two_waiters() -> TestResult {
    let server = Server::start(&[])?;
    let mut admin = server.raw()?;
    let mut first = server.raw()?;
    let mut second = server.raw()?;
    block(&mut first, &mut admin, &["BLPOP", "q", "0"])?;
    block(&mut second, &mut admin, &["BLPOP", "q", "0"])?;
    assert_eq!(admin.call_text(&["RPUSH", "q", "one"])?, ":1\r\n");
    assert_eq!(first.frame_text()?, key_value("q", "one"));
    assert_no_reply(&mut second, "the second waiter after one push")?;
    assert_eq!(blocked_clients(&mut admin)?, 1);
    assert_eq!(admin.call_text(&["EXISTS", "q"])?, ":0\r\n");
    assert_eq!(admin.call_text(&["RPUSH", "q", "two"])?, ":1\r\n");
    assert_eq!(second.frame_text()?, key_value("q", "two"));
    wait_for_blocked(&mut admin, 0)?;
    assert_eq!(admin.call_text(&["EXISTS", "q"])?, ":0\r\n");
    Ok(())
}

#[test]
fn a_waiter_is_served_once_the_pushing_command_or_transaction_is_whole() -> TestResult {
    let server = Server::start(&[])?;
    let mut admin = server.raw()?;
    let mut waiter = server.raw()?;
    // LPUSH a b c leaves c at the head: the waiter gets c, not a.
    block(&mut waiter, &mut admin, &["BLPOP", "q", "0"])?;
    assert_eq!(admin.call_text(&["LPUSH", "q", "a", "b", "c"])?, ":3\r\n");
    assert_eq!(waiter.frame_text()?, key_value("q", "c"));
    assert_eq!(
        admin.call_text(&["LRANGE", "q", "0", "-1"])?,
        "*2\r\n$1\r\nb\r\n$1\r\na\r\n"
    );
    assert_eq!(admin.call_text(&["DEL", "q"])?, ":1\r\n");
    // Pushes inside EXEC: the waiter is served after EXEC, so each RPUSH saw the other's
    // element.
    block(&mut waiter, &mut admin, &["BLPOP", "q", "0"])?;
    admin.send(
        &[
            request(&["MULTI"]),
            request(&["RPUSH", "q", "x"]),
            request(&["RPUSH", "q", "y"]),
            request(&["EXEC"]),
        ]
        .concat(),
    )?;
    for expected in [
        "+OK\r\n",
        "+QUEUED\r\n",
        "+QUEUED\r\n",
        "*2\r\n:1\r\n:2\r\n",
    ] {
        assert_eq!(admin.frame_text()?, expected);
    }
    assert_eq!(waiter.frame_text()?, key_value("q", "x"));
    assert_eq!(
        admin.call_text(&["LRANGE", "q", "0", "-1"])?,
        "*1\r\n$1\r\ny\r\n"
    );
    // Waiting on several keys: a push to any of them serves it, with that key's name.
    assert_eq!(admin.call_text(&["DEL", "q"])?, ":1\r\n");
    block(&mut waiter, &mut admin, &["BLPOP", "k1", "k2", "0"])?;
    assert_eq!(admin.call_text(&["RPUSH", "k2", "v"])?, ":1\r\n");
    assert_eq!(waiter.frame_text()?, key_value("k2", "v"));
    // With data there, the first non-empty key in argument order wins, at once.
    assert_eq!(admin.call_text(&["RPUSH", "k3", "3"])?, ":1\r\n");
    assert_eq!(admin.call_text(&["RPUSH", "k2", "2"])?, ":1\r\n");
    assert_eq!(
        waiter.call_text(&["BLPOP", "k1", "k2", "k3", "0"])?,
        key_value("k2", "2")
    );
    Ok(())
}

#[test]
fn a_key_of_another_type_keeps_the_waiter_blocked() -> TestResult {
    let server = Server::start(&[])?;
    let mut admin = server.raw()?;
    let mut waiter = server.raw()?;
    block(&mut waiter, &mut admin, &["BLPOP", "q", "0"])?;
    assert_eq!(admin.call_text(&["SET", "q", "text"])?, "+OK\r\n");
    assert_no_reply(&mut waiter, "after SET on the waited key")?;
    assert_eq!(admin.call_text(&["SADD", "s", "m"])?, ":1\r\n");
    assert_eq!(admin.call_text(&["RENAME", "s", "q"])?, "+OK\r\n");
    assert_no_reply(&mut waiter, "after a set was renamed onto the waited key")?;
    assert_eq!(blocked_clients(&mut admin)?, 1);
    assert_eq!(admin.call_text(&["DEL", "q"])?, ":1\r\n");
    assert_eq!(admin.call_text(&["RPUSH", "q", "z"])?, ":1\r\n");
    assert_eq!(waiter.frame_text()?, key_value("q", "z"));
    Ok(())
}

#[test]
fn a_timeout_replies_nil_in_resp2_and_resp3_not_before_it_expires() -> TestResult {
    let server = Server::start(&[])?;
    let mut admin = server.raw()?;
    let mut client = server.raw()?;
    let commands: [&[&str]; 5] = [
        &["BLPOP", "q", "0.2"],
        &["BRPOP", "q", "r", "0.2"],
        &["BLMOVE", "q", "d", "LEFT", "RIGHT", "0.2"],
        &["BRPOPLPUSH", "q", "d", "0.2"],
        &["BLMPOP", "0.2", "2", "q", "r", "LEFT", "COUNT", "3"],
    ];
    // Redis answers a null array on timeout for every one of them, BLMOVE included.
    for (protocol, nil) in [("2", "*-1\r\n"), ("3", "_\r\n")] {
        let hello = client.call_text(&["HELLO", protocol])?;
        assert!(
            hello.starts_with(if protocol == "3" { "%" } else { "*" }),
            "{hello}"
        );
        for argv in commands {
            let started = Instant::now();
            assert_eq!(client.call_text(argv)?, nil, "RESP{protocol} {argv:?}");
            let waited = started.elapsed();
            assert!(
                waited >= Duration::from_millis(200),
                "RESP{protocol} {argv:?} gave up after {waited:?}, before its 0.2 s"
            );
        }
    }
    wait_for_blocked(&mut admin, 0)?;
    assert_eq!(admin.call_text(&["EXISTS", "q", "r", "d"])?, ":0\r\n");
    // Bad timeouts are refused before anything blocks.
    assert_eq!(
        client.call_text(&["BLPOP", "q", "-1"])?,
        "-ERR timeout is negative\r\n"
    );
    assert_eq!(
        client.call_text(&["BLPOP", "q", "soon"])?,
        "-ERR timeout is not a float or out of range\r\n"
    );
    Ok(())
}

#[test]
fn timeout_zero_waits_until_a_push_arrives() -> TestResult {
    const PUSH_AFTER: Duration = Duration::from_millis(300);
    let server = Server::start(&[])?;
    let mut admin = server.raw()?;
    let mut client = server.raw()?;
    let started = Instant::now();
    client.send(&request(&["BLPOP", "q", "0"]))?;
    let mut pusher = server.connect()?;
    let push = std::thread::spawn(move || -> redis::RedisResult<i64> {
        std::thread::sleep(PUSH_AFTER);
        pusher.rpush("q", "late")
    });
    assert_eq!(client.frame_text()?, key_value("q", "late"));
    let waited = started.elapsed();
    assert_eq!(push.join().map_err(|_| "the pusher panicked")??, 1);
    assert!(waited >= PUSH_AFTER, "BLPOP 0 returned after {waited:?}");
    wait_for_blocked(&mut admin, 0)?;

    // Through redis-rs too, with a fractional timeout in an f64.
    let mut con = server.connect()?;
    let started = Instant::now();
    let nothing: Option<(String, String)> = con.blpop("q", 0.25)?;
    assert_eq!(nothing, None);
    assert!(started.elapsed() >= Duration::from_millis(250));
    let mut pusher = server.connect()?;
    let push = std::thread::spawn(move || -> redis::RedisResult<i64> {
        std::thread::sleep(PUSH_AFTER);
        pusher.rpush("q", "later")
    });
    let got: Option<(String, String)> = con.blpop("q", 0.0)?;
    assert_eq!(got, Some(("q".to_owned(), "later".to_owned())));
    assert_eq!(push.join().map_err(|_| "the pusher panicked")??, 1);
    Ok(())
}

#[test]
fn blmove_puts_the_element_in_the_destination_and_nowhere_else() -> TestResult {
    let server = Server::start(&[])?;
    let mut admin = server.raw()?;
    let mut mover = server.raw()?;
    assert_eq!(admin.call_text(&["RPUSH", "dst", "old"])?, ":1\r\n");
    block(
        &mut mover,
        &mut admin,
        &["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"],
    )?;
    assert_eq!(admin.call_text(&["RPUSH", "src", "job"])?, ":1\r\n");
    assert_eq!(mover.frame_text()?, bulk("job"));
    let (src, dst) = exec_lranges(&mut admin, "src", "dst")?;
    assert_eq!(src, "*0\r\n");
    assert_eq!(dst, format!("*2\r\n{}{}", bulk("job"), bulk("old")));

    // A client blocked on the destination is served with the moved element, whether it
    // blocked before or after the mover; the element is then in neither list.
    assert_eq!(admin.call_text(&["DEL", "dst"])?, ":1\r\n");
    for reader_first in [true, false] {
        let mut reader = server.raw()?;
        let reader_argv = ["BLPOP", "dst", "0"];
        let mover_argv = ["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"];
        if reader_first {
            block(&mut reader, &mut admin, &reader_argv)?;
            block(&mut mover, &mut admin, &mover_argv)?;
        } else {
            block(&mut mover, &mut admin, &mover_argv)?;
            block(&mut reader, &mut admin, &reader_argv)?;
        }
        let value = format!("moved-{reader_first}");
        assert_eq!(admin.call_text(&["RPUSH", "src", &value])?, ":1\r\n");
        assert_eq!(mover.frame_text()?, bulk(&value));
        assert_eq!(reader.frame_text()?, key_value("dst", &value));
        assert_eq!(admin.call_text(&["EXISTS", "src", "dst"])?, ":0\r\n");
        wait_for_blocked(&mut admin, 0)?;
    }

    // BRPOPLPUSH is BLMOVE RIGHT LEFT; BLMPOP pops up to COUNT from the first key filled.
    block(&mut mover, &mut admin, &["BRPOPLPUSH", "s", "d", "0"])?;
    assert_eq!(admin.call_text(&["RPUSH", "s", "m1", "m2"])?, ":2\r\n");
    assert_eq!(mover.frame_text()?, bulk("m2"));
    let (s, d) = exec_lranges(&mut admin, "s", "d")?;
    assert_eq!(
        (s, d),
        (
            format!("*1\r\n{}", bulk("m1")),
            format!("*1\r\n{}", bulk("m2"))
        )
    );
    block(
        &mut mover,
        &mut admin,
        &["BLMPOP", "0", "2", "e", "t", "RIGHT", "COUNT", "2"],
    )?;
    assert_eq!(admin.call_text(&["RPUSH", "t", "1", "2", "3"])?, ":3\r\n");
    assert_eq!(
        mover.frame_text()?,
        format!("*2\r\n{}*2\r\n{}{}", bulk("t"), bulk("3"), bulk("2"))
    );
    assert_eq!(
        admin.call_text(&["LRANGE", "t", "0", "-1"])?,
        format!("*1\r\n{}", bulk("1"))
    );
    Ok(())
}

/// `LRANGE a 0 -1` and `LRANGE b 0 -1` in one EXEC: both lists at the same instant.
fn exec_lranges(
    admin: &mut Raw,
    a: &str,
    b: &str,
) -> Result<(String, String), Box<dyn std::error::Error>> {
    admin.send(
        &[
            request(&["MULTI"]),
            request(&["LRANGE", a, "0", "-1"]),
            request(&["LRANGE", b, "0", "-1"]),
            request(&["EXEC"]),
        ]
        .concat(),
    )?;
    for expected in ["+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n"] {
        assert_eq!(admin.frame_text()?, expected);
    }
    let exec = admin.frame_text()?;
    let frames = crate::common::raw::split_frames(
        exec.strip_prefix("*2\r\n")
            .ok_or_else(|| format!("EXEC answered {exec:?}"))?
            .as_bytes(),
    )?;
    match frames.as_slice() {
        [a, b] => Ok((
            String::from_utf8_lossy(a).into_owned(),
            String::from_utf8_lossy(b).into_owned(),
        )),
        _ => Err(format!("EXEC answered {exec:?}").into()),
    }
}

#[test]
fn blmove_between_two_lists_never_shows_an_element_in_both_or_neither() -> TestResult {
    // A mover loops BLMOVE src dst while a pusher feeds src and an observer reads both
    // lengths in one EXEC: their sum only ever grows by the pushes, never dips (an element
    // in neither list) nor exceeds what was pushed (an element in both).
    const JOBS: usize = 300;
    let server = Server::start(&[])?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut mover = server.connect()?;
    let mover = std::thread::spawn(move || -> Result<usize, String> {
        let mut moved = 0;
        while moved < JOBS && Instant::now() < deadline {
            let got: Option<String> = redis::cmd("BLMOVE")
                .arg(&["src", "dst", "LEFT", "RIGHT", "5"])
                .query(&mut mover)
                .map_err(|e| e.to_string())?;
            match got {
                Some(job) if job == format!("job{moved}") => moved += 1,
                other => return Err(format!("move {moved} got {other:?}")),
            }
        }
        Ok(moved)
    });
    let mut pusher = server.connect()?;
    let mut observer = server.connect()?;
    for i in 0..JOBS {
        let _: i64 = pusher.rpush("src", format!("job{i}"))?;
        let (src, dst): (usize, usize) = redis::pipe()
            .atomic()
            .llen("src")
            .llen("dst")
            .query(&mut observer)?;
        assert!(
            src + dst == i + 1,
            "after {} pushes: src has {src}, dst has {dst}",
            i + 1
        );
    }
    assert_eq!(mover.join().map_err(|_| "the mover panicked")??, JOBS);
    let mut con = server.connect()?;
    let dst: Vec<String> = con.lrange("dst", 0, -1)?;
    assert_eq!(
        dst,
        (0..JOBS).map(|i| format!("job{i}")).collect::<Vec<_>>()
    );
    assert!(!con.exists::<_, bool>("src")?);
    Ok(())
}

#[test]
fn a_waiter_that_disconnects_is_removed_and_a_later_push_is_kept() -> TestResult {
    let server = Server::start(&[])?;
    let mut admin = server.raw()?;
    for argv in [
        &["BLPOP", "q", "0"][..],
        &["BLMOVE", "q", "d", "LEFT", "LEFT", "0"],
        &["BLMPOP", "0", "1", "q", "LEFT"],
    ] {
        let mut gone = server.raw()?;
        block(&mut gone, &mut admin, argv)?;
        gone.stream().shutdown(std::net::Shutdown::Both)?;
        drop(gone);
        wait_for_blocked(&mut admin, 0)?;
        assert_eq!(admin.call_text(&["RPUSH", "q", "kept"])?, ":1\r\n");
        assert_eq!(admin.call_text(&["LPOP", "q"])?, bulk("kept"), "{argv:?}");
        assert_eq!(admin.call_text(&["EXISTS", "q", "d"])?, ":0\r\n");
    }
    // One that half-closes (sends FIN, keeps reading) counts as gone too, as in Redis.
    let mut half = server.raw()?;
    block(&mut half, &mut admin, &["BLPOP", "q", "0"])?;
    half.stream().shutdown(std::net::Shutdown::Write)?;
    wait_for_blocked(&mut admin, 0)?;
    assert_eq!(admin.call_text(&["RPUSH", "q", "kept"])?, ":1\r\n");
    assert_eq!(half.until_closed(crate::CLOSE_TIMEOUT)?, b"");
    assert_eq!(admin.call_text(&["LLEN", "q"])?, ":1\r\n");
    Ok(())
}

#[test]
fn blocking_pops_inside_multi_never_block() -> TestResult {
    let server = Server::start(&[])?;
    let mut admin = server.raw()?;
    let mut client = server.raw()?;
    let queue = |argvs: &[&[&str]]| {
        let mut bytes = request(&["MULTI"]);
        for argv in argvs {
            bytes.extend(request(argv));
        }
        bytes.extend(request(&["EXEC"]));
        bytes
    };
    let blocking: [&[&str]; 5] = [
        &["BLPOP", "q", "0"],
        &["BRPOP", "q", "0"],
        &["BLMOVE", "q", "d", "LEFT", "LEFT", "0"],
        &["BRPOPLPUSH", "q", "d", "0"],
        &["BLMPOP", "0", "1", "q", "LEFT"],
    ];
    // Empty lists: nil at once, in each command's own nil (BLMOVE's is a null bulk here,
    // unlike its timeout reply).
    client.send(&queue(&blocking))?;
    assert_eq!(client.frame_text()?, "+OK\r\n");
    for _ in &blocking {
        assert_eq!(client.frame_text()?, "+QUEUED\r\n");
    }
    assert_eq!(
        client.frame_text()?,
        "*5\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n"
    );
    assert_eq!(blocked_clients(&mut admin)?, 0);
    // With elements there they pop as usual.
    assert_eq!(
        admin.call_text(&["RPUSH", "q", "1", "2", "3", "4"])?,
        ":4\r\n"
    );
    client.send(&queue(&[
        &["BLPOP", "q", "0"],
        &["BLMOVE", "q", "d", "LEFT", "LEFT", "0"],
        &["BLMPOP", "0", "1", "q", "RIGHT", "COUNT", "5"],
        &["BRPOP", "q", "0"],
    ]))?;
    for expected in [
        "+OK\r\n",
        "+QUEUED\r\n",
        "+QUEUED\r\n",
        "+QUEUED\r\n",
        "+QUEUED\r\n",
    ] {
        assert_eq!(client.frame_text()?, expected);
    }
    assert_eq!(
        client.frame_text()?,
        format!(
            "*4\r\n{}{}*2\r\n{}*2\r\n{}{}*-1\r\n",
            key_value("q", "1"),
            bulk("2"),
            bulk("q"),
            bulk("4"),
            bulk("3")
        )
    );
    assert_eq!(
        admin.call_text(&["LRANGE", "d", "0", "-1"])?,
        format!("*1\r\n{}", bulk("2"))
    );
    Ok(())
}

#[test]
fn commands_pipelined_after_a_blocking_pop_run_after_it_in_order() -> TestResult {
    let server = Server::start(&[])?;
    let mut admin = server.raw()?;
    let mut client = server.raw()?;
    let batch = [
        request(&["BLPOP", "q", "0"]),
        request(&["SET", "after", "1"]),
        request(&["INCR", "n"]),
        request(&["LPOP", "q"]),
        request(&["BLPOP", "q", "0"]),
        request(&["GET", "after"]),
    ]
    .concat();
    let before = blocked_clients(&mut admin)?;
    client.send(&batch)?;
    wait_for_blocked(&mut admin, before + 1)?;
    // Nothing after the blocked command has run.
    assert_eq!(admin.call_text(&["GET", "after"])?, "$-1\r\n");
    assert_eq!(admin.call_text(&["EXISTS", "n"])?, ":0\r\n");
    assert_no_reply(&mut client, "while BLPOP waits")?;
    // a serves the BLPOP, b the LPOP; the second BLPOP then blocks again.
    assert_eq!(admin.call_text(&["RPUSH", "q", "a", "b"])?, ":2\r\n");
    assert_eq!(client.frame_text()?, key_value("q", "a"));
    assert_eq!(client.frame_text()?, "+OK\r\n");
    assert_eq!(client.frame_text()?, ":1\r\n");
    assert_eq!(client.frame_text()?, bulk("b"));
    wait_for_blocked(&mut admin, 1)?;
    assert_no_reply(&mut client, "while the second BLPOP waits")?;
    // More input sent while blocked waits too, and runs after.
    client.send(&request(&["INCR", "n"]))?;
    assert_no_reply(&mut client, "input sent while blocked")?;
    assert_eq!(admin.call_text(&["GET", "n"])?, bulk("1"));
    assert_eq!(admin.call_text(&["RPUSH", "q", "c"])?, ":1\r\n");
    assert_eq!(client.frame_text()?, key_value("q", "c"));
    assert_eq!(client.frame_text()?, bulk("1"));
    assert_eq!(client.frame_text()?, ":2\r\n");
    Ok(())
}

#[test]
fn a_blocked_client_does_not_stop_others_being_served() -> TestResult {
    const WAITERS: usize = 20;
    const COMMANDS: usize = 500;
    let server = Server::start(&[])?;
    let mut admin = server.raw()?;
    let mut waiters: Vec<Raw> = (0..WAITERS)
        .map(|_| server.raw())
        .collect::<Result<_, _>>()?;
    for (i, waiter) in waiters.iter_mut().enumerate() {
        waiter.send(&request(&["BLPOP", &format!("wait:{i}"), "0"]))?;
    }
    wait_for_blocked(&mut admin, WAITERS)?;
    // Several clients, one at a time and pipelined, while every waiter waits.
    let mut con = server.connect()?;
    for i in 0..COMMANDS {
        let n: i64 = con.incr("n", 1)?;
        assert_eq!(n, i as i64 + 1);
    }
    let mut pipe = redis::pipe();
    for i in 0..COMMANDS {
        pipe.rpush("busy", i).ignore();
    }
    let () = pipe.query(&mut con)?;
    let mut raw = server.raw()?;
    assert_eq!(
        raw.call_text(&["LLEN", "busy"])?,
        format!(":{COMMANDS}\r\n")
    );
    assert_eq!(blocked_clients(&mut admin)?, WAITERS);
    // Each waiter is then served by its own key, in any order of pushes.
    for i in (0..WAITERS).rev() {
        let key = format!("wait:{i}");
        assert_eq!(raw.call_text(&["RPUSH", &key, "go"])?, ":1\r\n");
        assert_eq!(waiters[i].frame_text()?, key_value(&key, "go"));
    }
    wait_for_blocked(&mut admin, 0)?;
    Ok(())
}

#[test]
fn client_kill_ends_a_blocked_client_without_a_reply() -> TestResult {
    let server = Server::start(&[])?;
    let mut admin = server.raw()?;
    let mut victim = server.raw()?;
    let id = victim.call_text(&["CLIENT", "ID"])?;
    let id = id.trim_start_matches(':').trim_end().to_owned();
    block(&mut victim, &mut admin, &["BLPOP", "q", "0"])?;
    assert_eq!(admin.call_text(&["CLIENT", "KILL", "ID", &id])?, ":1\r\n");
    assert_eq!(victim.until_closed(crate::CLOSE_TIMEOUT)?, b"");
    wait_for_blocked(&mut admin, 0)?;
    assert_eq!(admin.call_text(&["RPUSH", "q", "kept"])?, ":1\r\n");
    assert_eq!(
        admin.call_text(&["LRANGE", "q", "0", "-1"])?,
        format!("*1\r\n{}", bulk("kept"))
    );
    // By address too, while blocked in BLMOVE.
    let mut victim = server.raw()?;
    let addr = victim.stream().local_addr()?.to_string();
    block(
        &mut victim,
        &mut admin,
        &["BLMOVE", "empty", "d", "LEFT", "LEFT", "0"],
    )?;
    assert_eq!(admin.call_text(&["CLIENT", "KILL", &addr])?, "+OK\r\n");
    assert_eq!(victim.until_closed(crate::CLOSE_TIMEOUT)?, b"");
    wait_for_blocked(&mut admin, 0)?;
    assert_eq!(admin.call_text(&["RPUSH", "empty", "x"])?, ":1\r\n");
    assert_eq!(admin.call_text(&["EXISTS", "d"])?, ":0\r\n");
    Ok(())
}

#[test]
fn shutdown_with_blocked_clients_exits_cleanly() -> TestResult {
    for stop in ["SHUTDOWN", "TERM"] {
        let dir = tempfile::tempdir()?;
        let mut server = Server::start_in(dir.path(), &[])?;
        let mut admin = server.raw()?;
        assert_eq!(admin.call_text(&["RPUSH", "kept", "a", "b"])?, ":2\r\n");
        let mut waiters: Vec<Raw> = (0..3).map(|_| server.raw()).collect::<Result<_, _>>()?;
        block(&mut waiters[0], &mut admin, &["BLPOP", "q", "0"])?;
        block(
            &mut waiters[1],
            &mut admin,
            &["BLMOVE", "q", "d", "LEFT", "LEFT", "0"],
        )?;
        block(&mut waiters[2], &mut admin, &["BRPOP", "q", "100"])?;
        let started = Instant::now();
        if stop == "SHUTDOWN" {
            admin.send(&request(&["SHUTDOWN"]))?;
        } else {
            server.signal(stop)?;
        }
        let status = server.wait()?;
        assert!(
            status.success(),
            "{stop}: exit status {status}; log:\n{}",
            server.log()
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{stop}: took {:?} with blocked clients",
            started.elapsed()
        );
        for waiter in &mut waiters {
            assert_eq!(waiter.until_closed(crate::CLOSE_TIMEOUT)?, b"", "{stop}");
        }
        let server = Server::start_in(dir.path(), &[])?;
        let mut raw = server.raw()?;
        assert_eq!(
            raw.call_text(&["LRANGE", "kept", "0", "-1"])?,
            format!("*2\r\n{}{}", bulk("a"), bulk("b")),
            "{stop}"
        );
        assert_eq!(raw.call_text(&["EXISTS", "q", "d"])?, ":0\r\n", "{stop}");
    }
    Ok(())
}

#[test]
fn a_served_pop_is_on_disk_when_its_reply_is_sent_under_appendfsync_always() -> TestResult {
    let dir = tempfile::tempdir()?;
    for round in 0..3 {
        let server = Server::start_in(dir.path(), &["--appendfsync", "always"])?;
        let mut admin = server.raw()?;
        let mut pusher = server.raw()?;
        let mut popper = server.raw()?;
        let mut mover = server.raw()?;
        let (a, b) = (format!("a{round}"), format!("b{round}"));
        block(&mut popper, &mut admin, &["BLPOP", "q", "0"])?;
        block(
            &mut mover,
            &mut admin,
            &["BLMOVE", "q", "moved", "LEFT", "RIGHT", "0"],
        )?;
        // One push serves both waiters; a third element stays. The pops are records of the
        // pusher's batch, which its own connection writes after its other commands: the waiters
        // must not count on it.
        let mut batch = request(&["RPUSH", "q", &a, &b, "rest"]);
        batch.extend(request(&["LRANGE", "q", "0", "-1"]));
        pusher.send(&batch)?;
        assert_eq!(popper.frame_text()?, key_value("q", &a));
        assert_eq!(mover.frame_text()?, bulk(&b));
        // SIGKILL (dropping the server sends it at once) right after the waiters' replies,
        // whether the pusher has its replies or not.
        drop(server);
        let server = Server::start_in(dir.path(), &["--appendfsync", "always"])?;
        let mut raw = server.raw()?;
        assert_eq!(
            raw.call_text(&["LRANGE", "q", "0", "-1"])?,
            format!("*1\r\n{}", bulk("rest")),
            "round {round}: the pops must be on disk"
        );
        let moved: String = (0..=round).map(|r| bulk(&format!("b{r}"))).collect();
        assert_eq!(
            raw.call_text(&["LRANGE", "moved", "0", "-1"])?,
            format!("*{}\r\n{moved}", round + 1),
            "round {round}"
        );
        assert_eq!(raw.call_text(&["DEL", "q"])?, ":1\r\n");
    }
    Ok(())
}
