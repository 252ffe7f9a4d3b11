//! `command_execute`: arbitrary bytes parsed into requests, each run through a `kvdb::Session`
//! over a fresh `Db`, as a server connection runs them. No input may panic, and every reply
//! must encode, in RESP2 and in RESP3, as exactly one well-formed RESP value.
//!
//! Input layout: byte 0 is a set of switches, the rest is the byte stream a client sends.
//!
//! * bits 0-1: the session. 0 or 3: an embedded `Session::new` (writes go to the log at once);
//!   1: a server session without a password, on a real `ServerState` (writes held until
//!   `flush`, as the server does after each read; CLIENT, SHUTDOWN... reach the server's
//!   state, which no listener serves); 2: the same with the password `pw` (NOAUTH until
//!   AUTH/HELLO, and the parser's unauthenticated limits);
//! * bit 2: 4 KiB segments, so that a few writes rotate the log and reads reach sealed
//!   segments;
//! * bit 3: read sealed segments with `pread` instead of mmap.
//!
//! A request whose name is a single byte runs the command `COMMANDS[byte % len]` instead: a
//! built-in dictionary, so the fuzzer reaches every handler without guessing its name first.
//! (Longer names are kept as they are, so unknown commands are fuzzed too.)
//!
//! The store uses a manual clock that moves 250 ms after each request, so TTLs expire within an
//! input and a crash replays identically. The data directory is in /dev/shm when it exists.
//! A blocking command that has to wait is timed out at once (nothing else would ever serve it).
//! `SETRANGE` with an offset above 1 MiB is skipped: it legitimately builds a string of up to
//! 512 MiB, which measures the allocator, not the code, and exceeds libFuzzer's RSS limit.

#![no_main]

use std::sync::Arc;

use kvdb::clock::ManualClock;
use kvdb::command::{COMMANDS, Execution, ServerContext};
use kvdb::resp::{Limits, Protocol, Reply, encode, parse_request};
use kvdb::server::{ServerConfig, ServerState};
use kvdb::{Db, Fsync, Options, Session};
use libfuzzer_sys::fuzz_target;

/// Reads one RESP value at `pos`; returns where it ends, or `None` if it is malformed.
fn skip_value(buf: &[u8], pos: usize) -> Option<usize> {
    let kind = *buf.get(pos)?;
    let cr = pos + 1 + buf.get(pos + 1..)?.iter().position(|&b| b == b'\r')?;
    if buf.get(cr + 1) != Some(&b'\n') {
        return None;
    }
    let line = std::str::from_utf8(&buf[pos + 1..cr]).ok()?;
    let next = cr + 2;
    let count = || line.parse::<usize>().ok();
    match kind {
        b'+' | b'-' | b':' | b',' | b'#' | b'_' => {
            if line.contains('\n') {
                return None;
            }
            match kind {
                b':' => line.parse::<i64>().ok().map(|_| next),
                b'#' => matches!(line, "t" | "f").then_some(next),
                b'_' => line.is_empty().then_some(next),
                _ => Some(next),
            }
        }
        b'$' | b'=' => {
            if kind == b'$' && line == "-1" {
                return Some(next);
            }
            let end = next.checked_add(count()?)?;
            (buf.get(end..end + 2)? == b"\r\n").then_some(end + 2)
        }
        b'*' | b'~' | b'>' | b'%' => {
            if kind == b'*' && line == "-1" {
                return Some(next);
            }
            let items = count()? * if kind == b'%' { 2 } else { 1 };
            let mut at = next;
            for _ in 0..items {
                at = skip_value(buf, at)?;
            }
            Some(at)
        }
        _ => None,
    }
}

fn check_encoding(reply: &Reply) {
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut out = Vec::new();
        encode(reply, protocol, &mut out);
        assert_eq!(
            skip_value(&out, 0),
            Some(out.len()),
            "{protocol:?} encoding of {reply:?} is not one RESP value: {:?}",
            String::from_utf8_lossy(&out)
        );
    }
}

fn data_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    };
    dir.expect("create a temporary directory")
}

fuzz_target!(|data: &[u8]| {
    let [switches, stream @ ..] = data else {
        return;
    };
    let bit = |n: u8| switches & (1 << n) != 0;
    let dir = data_dir();
    let clock = ManualClock::new(1_700_000_000_000);
    let options = Options {
        fsync: Fsync::No,
        active_expiry: None,
        mmap: !bit(3),
        segment_size: if bit(2) {
            4096
        } else {
            Options::default().segment_size
        },
        clock: clock.clone(),
        ..Options::default()
    };
    let db = Db::open_with(dir.path(), options).expect("open a new store");
    let server = |requirepass: Option<&str>| -> Arc<dyn ServerContext> {
        let config = ServerConfig {
            dir: dir.path().to_owned(),
            requirepass: requirepass.map(str::to_owned),
            ..ServerConfig::default()
        };
        ServerState::new(config, 6379)
    };
    let mut session = match switches & 3 {
        1 => Session::for_server(db.clone(), server(None)),
        2 => Session::for_server(db.clone(), server(Some("pw"))),
        _ => Session::new(db.clone()),
    };

    let limits = Limits::default();
    let mut pos = 0;
    while pos < stream.len() {
        let parsed = parse_request(&stream[pos..], &limits, session.client().authenticated);
        let Ok(Some((mut argv, used))) = parsed else {
            break;
        };
        pos += used;
        if argv.is_empty() {
            continue;
        }
        if let [byte] = argv[0][..] {
            argv[0] = COMMANDS[usize::from(byte) % COMMANDS.len()]
                .name
                .as_bytes()
                .to_vec();
        }
        if argv[0].eq_ignore_ascii_case(b"setrange")
            && argv.get(2).is_some_and(|offset| {
                std::str::from_utf8(offset)
                    .ok()
                    .and_then(|o| o.parse::<i64>().ok())
                    .is_some_and(|o| o > 1 << 20)
            })
        {
            continue;
        }
        // A blocking command (BLPOP...) with nothing to pop would wait for another client that
        // never comes: it is unblocked at once, as its timeout would.
        let reply = match session.start(&argv) {
            Execution::Done(reply) => reply,
            Execution::Blocked(call) => session.finish_blocked(call, None).0,
        };
        check_encoding(&reply);
        clock.advance(250);
        let client = session.client();
        if client.quit || client.silent {
            break;
        }
        // As the server does after each read: write what the session held.
        if let Ok(Some(seq)) = session.flush() {
            let _ = session.db().wait_durable(seq);
        }
    }
    drop(session);
    drop(db);
});
