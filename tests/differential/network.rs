//! The differential test through the network: the random sequences run against `kvdb server`
//! (a child process on a free loopback port) and against redis-server, reply for reply, four
//! ways:
//!
//! * redis-rs in RESP2 and in RESP3 (`?protocol=resp3`, which sends `HELLO 3`): what a real
//!   client decodes must be the same;
//! * raw sockets in RESP2 and in RESP3: every reply is decoded without losing a distinction
//!   the wire makes (null bulk string vs null array, status vs bulk, a double's spelling), so
//!   agreeing replies are the same bytes. redis-rs folds some of these away.
//!
//! A hand-written script adds what the random sequences lack: MULTI/EXEC/WATCH across two
//! connections per server, HELLO, CLIENT, RESET and QUIT, compared byte for byte in both
//! protocols.

use std::fmt;

use kvdb::Reply;
use kvdb::resp::format_double;

use crate::common::raw::Raw;
use crate::common::server::Server as KvdbServer;
use crate::oracle::{Client, Server};
use crate::{Execute, Pair, Side, TestResult, run_sequence, seeds, serial, show};

/// Sequences per network mode by default (`KVDB_DIFF_RUNS` overrides it, as for the others).
const NETWORK_RUNS: u64 = crate::RUNS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Resp2,
    Resp3,
}

#[derive(Debug, Clone, Copy)]
enum Transport {
    RedisRs,
    Raw,
}

/// A raw connection whose replies are decoded faithfully (see [`decode`]).
struct Wire {
    raw: Raw,
}

impl Wire {
    /// Connects to 127.0.0.1:`port`; in RESP3, sends `HELLO 3` first.
    fn connect(port: u16, protocol: Protocol) -> Result<Wire, Box<dyn std::error::Error>> {
        let mut wire = Wire {
            raw: Raw::connect(port)?,
        };
        if protocol == Protocol::Resp3 {
            let hello = wire.raw.call(&["HELLO", "3"])?;
            if !hello.starts_with(b"%") {
                return Err(
                    format!("HELLO 3 answered {:?}", String::from_utf8_lossy(&hello)).into(),
                );
            }
        }
        Ok(wire)
    }
}

impl Execute for Wire {
    fn run(&mut self, argv: &[Vec<u8>]) -> Reply {
        let bytes = self
            .raw
            .call(argv)
            .unwrap_or_else(|e| panic!("connection failed: {e}"));
        decode(&bytes).unwrap_or_else(|e| {
            panic!(
                "undecodable reply ({e}): {:?}",
                String::from_utf8_lossy(&bytes)
            )
        })
    }
}

/// One connection to a server on `port`.
fn connect(
    port: u16,
    transport: Transport,
    protocol: Protocol,
) -> Result<Side, Box<dyn std::error::Error>> {
    Ok(match transport {
        Transport::RedisRs => {
            let query = match protocol {
                Protocol::Resp2 => "",
                Protocol::Resp3 => "?protocol=resp3",
            };
            Side::new(Client::open(&format!("redis://127.0.0.1:{port}/{query}"))?)
        }
        Transport::Raw => Side::new(Wire::connect(port, protocol)?),
    })
}

/// Runs the random sequences over the network with this transport and protocol.
fn sequences_over_the_network(transport: Transport, protocol: Protocol) -> TestResult {
    let _serial = serial();
    let redis = Server::start()?;
    let kvdb = KvdbServer::start(&["--appendfsync", "no"])?;
    for seed in seeds(NETWORK_RUNS)? {
        let mut pair = Pair::of(
            connect(kvdb.port(), transport, protocol)?,
            connect(redis.port(), transport, protocol)?,
        )?;
        run_sequence(&mut pair, seed)
            .map_err(|e| format!("{transport:?} {protocol:?}, seed {seed}: {e}"))?;
    }
    Ok(())
}

#[test]
fn random_sequences_match_redis_through_redis_rs_in_resp2() -> TestResult {
    sequences_over_the_network(Transport::RedisRs, Protocol::Resp2)
}

#[test]
fn random_sequences_match_redis_through_redis_rs_in_resp3() -> TestResult {
    sequences_over_the_network(Transport::RedisRs, Protocol::Resp3)
}

#[test]
fn random_sequences_match_redis_on_the_wire_in_resp2() -> TestResult {
    sequences_over_the_network(Transport::Raw, Protocol::Resp2)
}

#[test]
fn random_sequences_match_redis_on_the_wire_in_resp3() -> TestResult {
    sequences_over_the_network(Transport::Raw, Protocol::Resp3)
}

/// Two connections to one server.
struct Connections {
    a: Wire,
    b: Wire,
}

/// Which connection a scripted command goes to.
#[derive(Clone, Copy)]
enum On {
    A,
    B,
}

impl fmt::Debug for On {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            On::A => "connection A",
            On::B => "connection B",
        })
    }
}

/// The script: transactions across two connections, and connection commands.
#[rustfmt::skip]
const SCRIPT: &[(On, &[&str])] = &[
    (On::A, &["FLUSHALL", "SYNC"]),
    (On::A, &["SET", "k", "1"]),
    // A rejected command voids the transaction; runtime errors are per command.
    (On::A, &["MULTI"]), (On::A, &["INCR", "k"]), (On::A, &["INCR", "k", "extra"]),
    (On::A, &["NOSUCH", "x"]), (On::A, &["EXEC"]),
    (On::A, &["GET", "k"]),
    (On::A, &["MULTI"]), (On::A, &["INCR", "k"]), (On::A, &["SET", "s", "text"]),
    (On::A, &["INCR", "s"]), (On::A, &["MGET", "k", "s", "none"]), (On::A, &["EXEC"]),
    // MULTI and WATCH inside MULTI are refused without voiding it.
    (On::A, &["MULTI"]), (On::A, &["MULTI"]), (On::A, &["WATCH", "k"]), (On::A, &["GET", "k"]),
    (On::A, &["EXEC"]),
    (On::A, &["EXEC"]), (On::A, &["DISCARD"]),
    (On::A, &["MULTI"]), (On::A, &["SET", "d", "1"]), (On::A, &["DISCARD"]), (On::A, &["EXISTS", "d"]),
    // SHUTDOWN cannot be queued (kvdb used to queue it, and EXEC stopped the server unanswered).
    (On::A, &["MULTI"]), (On::A, &["SHUTDOWN"]), (On::A, &["EXEC"]), (On::A, &["PING"]),
    // WATCH against the other connection.
    (On::A, &["WATCH", "k"]), (On::B, &["SET", "k", "5"]), (On::A, &["MULTI"]),
    (On::A, &["GET", "k"]), (On::A, &["EXEC"]),
    (On::A, &["WATCH", "k"]), (On::B, &["GET", "k"]), (On::A, &["MULTI"]),
    (On::A, &["GET", "k"]), (On::A, &["EXEC"]),
    (On::A, &["WATCH", "k", "other"]), (On::B, &["SET", "other", "x"]), (On::A, &["MULTI"]),
    (On::A, &["EXEC"]),
    (On::A, &["WATCH", "k"]), (On::B, &["FLUSHDB"]), (On::A, &["MULTI"]), (On::A, &["EXEC"]),
    (On::A, &["WATCH", "w"]), (On::A, &["UNWATCH"]), (On::B, &["SET", "w", "1"]),
    (On::A, &["MULTI"]), (On::A, &["INCR", "w"]), (On::A, &["EXEC"]),
    (On::A, &["WATCH", "w"]), (On::B, &["SELECT", "1"]), (On::B, &["SET", "w", "in db 1"]),
    (On::A, &["MULTI"]), (On::A, &["EXEC"]),
    (On::A, &["WATCH", "w"]), (On::B, &["SELECT", "0"]), (On::B, &["RENAME", "w", "w2"]),
    (On::A, &["MULTI"]), (On::A, &["EXEC"]),
    // Connection commands.
    (On::A, &["HELLO"]), (On::A, &["HELLO", "2"]), (On::A, &["HELLO", "3", "SETNAME", "app"]),
    (On::A, &["CLIENT", "GETNAME"]), (On::A, &["HELLO", "4"]), (On::A, &["HELLO", "x"]),
    (On::A, &["HELLO", "3", "AUTH", "default", "pw"]), (On::A, &["HELLO", "3", "FOO"]),
    (On::A, &["AUTH", "pw"]), (On::A, &["CLIENT", "SETNAME", "a b"]),
    (On::A, &["CLIENT", "SETNAME", ""]), (On::A, &["CLIENT", "GETNAME"]),
    (On::A, &["CLIENT", "NOSUCH"]), (On::A, &["GET", "missing"]), (On::A, &["MGET", "missing"]),
    (On::A, &["PING"]), (On::A, &["PING", "hi"]), (On::A, &["ECHO", ""]),
    (On::A, &["SELECT", "2"]), (On::A, &["SET", "in2", "x"]), (On::A, &["RESET"]),
    (On::A, &["EXISTS", "in2"]), (On::A, &["GET", "missing"]),
    (On::A, &["QUIT"]),
];

/// Hides what differs between two servers in HELLO's reply: the client id and the version.
fn mask_hello(reply: Reply) -> Reply {
    let mask = |entries: Vec<(Reply, Reply)>| {
        entries
            .into_iter()
            .map(|(key, value)| match &key {
                Reply::Bulk(k) if k == b"id" || k == b"version" => (key, Reply::Nil),
                _ => (key, value),
            })
            .collect::<Vec<_>>()
    };
    match reply {
        Reply::Map(entries) => Reply::Map(mask(entries)),
        Reply::Array(items) if items.len() == 14 => {
            let mut pairs = Vec::new();
            let mut items = items.into_iter();
            while let (Some(k), Some(v)) = (items.next(), items.next()) {
                pairs.push((k, v));
            }
            Reply::Array(mask(pairs).into_iter().flat_map(|(k, v)| [k, v]).collect())
        }
        other => other,
    }
}

/// Runs `script` on two connections to each server, in both protocols, comparing every
/// reply; the script must end with QUIT on connection A.
fn run_script(script: &[(On, &[&str])]) -> TestResult {
    let _serial = serial();
    let redis = Server::start()?;
    let kvdb = KvdbServer::start(&["--appendfsync", "no"])?;
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let open = |port| -> Result<Connections, Box<dyn std::error::Error>> {
            Ok(Connections {
                a: Wire::connect(port, protocol)?,
                b: Wire::connect(port, protocol)?,
            })
        };
        let mut sides = [open(kvdb.port())?, open(redis.port())?];
        for (index, &(on, argv)) in script.iter().enumerate() {
            let argv: Vec<Vec<u8>> = argv.iter().map(|a| a.as_bytes().to_vec()).collect();
            let [kvdb_reply, redis_reply] = [0, 1].map(|i| {
                let conn = match on {
                    On::A => &mut sides[i].a,
                    On::B => &mut sides[i].b,
                };
                let reply = conn.run(&argv);
                if argv[0] == b"HELLO" {
                    mask_hello(reply)
                } else {
                    reply
                }
            });
            assert!(
                kvdb_reply == redis_reply,
                "{protocol:?}, step #{index} on {on:?}: {}\n  kvdb  {}\n  redis {}",
                crate::show_command(&argv),
                show(&kvdb_reply),
                show(&redis_reply)
            );
        }
        // QUIT closed both.
        for side in &mut sides {
            let rest = side
                .a
                .raw
                .until_closed(std::time::Duration::from_secs(10))?;
            assert!(rest.is_empty(), "{protocol:?}: after QUIT: {rest:?}");
        }
    }
    Ok(())
}

#[test]
fn transactions_and_connection_commands_match_redis_byte_for_byte() -> TestResult {
    run_script(SCRIPT)
}

/// Redis 7.0 voids a WATCH on FLUSHDB or FLUSHALL only if the flush deleted the watched key
/// (multi.c, touchAllWatchedKeysInDb). Regression: kvdb voided every watch on the database.
#[test]
fn flushdb_voids_only_the_watches_of_keys_it_deleted() -> TestResult {
    run_script(&[
        (On::A, &["FLUSHALL", "SYNC"]),
        (On::A, &["WATCH", "gone"]),
        (On::B, &["SET", "other", "1"]),
        (On::B, &["FLUSHDB"]),
        (On::A, &["MULTI"]),
        (On::A, &["EXEC"]),
        (On::A, &["WATCH", "gone"]),
        (On::B, &["FLUSHALL"]),
        (On::A, &["MULTI"]),
        (On::A, &["EXEC"]),
        (On::A, &["QUIT"]),
    ])
}

/// Sends `bytes` on a new connection, closes the sending side, and returns everything the
/// server sent until it closed.
fn send_and_close(port: u16, bytes: &[u8]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut raw = Raw::connect(port)?;
    // A server that closes early may reset the rest of the write.
    let _ = raw.send(bytes);
    let _ = raw.stream().shutdown(std::net::Shutdown::Write);
    Ok(raw.until_closed(std::time::Duration::from_secs(10))?)
}

/// Malformed requests the parser must treat as Redis does, reply for reply.
const MALFORMED: &[&[u8]] = &[
    b"PING\r\n*abc\r\nPING\r\n",
    b"*1\r\n$0\r\n\r\n",
    b"PING\r\nQUIT\r\nPING\r\n",
    b"*2\r\n$4\r\nPING\r\n$1\r\nxyz\r\n",
    b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n",
    b"*1\r\n$04\r\nPING\r\n",
    b"*01\r\n$4\r\nPING\r\n",
    b"*+1\r\n",
    b"*1\n$4\r\nPING\r\n",
    b"*1\r\n$4\nPING\r\n",
    b"  \"PING\"  \r\n",
    b"PING \"unterminated\r\nPING\r\n",
    b"ECHO \"a\"b\r\n",
    b"*1\r\r\n$4\r\nPING\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$-0\r\n",
    b"*-0\r\n",
    b"*1\r\n$ 4\r\nPING\r\n",
    b"*1\r\n$4 \r\nPING\r\n",
    b"*1\r\n$+4\r\nPING\r\n",
    b"\n",
    b"\r\r\n",
    b"\tPING\t\r\n",
    b"PING\r\r\n",
    b"*\r\n",
    b"*-5\r\nPING\r\n",
    b"*2\r\n$4\r\nECHO\r\n*1\r\n",
    b"*1\r\n$-1\r\n",
    b"ECHO 'a\\'b'\r\n",
    b"ECHO \"\\x4\"\r\n",
    b"ECHO \"\\xzz\"\r\n",
    b"ECHO \"a\\\"\r\n",
    b"*1\r\n$9223372036854775807\r\n",
    b"*1\r\n$-9223372036854775808\r\n",
    b"*2147483648\r\n",
    b"*1\r\n$536870912\r\n",
    b"*1\r\n$4\r\nPING\rx",
    b"MULTI\r\nPING\r\nQUIT\r\nEXEC\r\n",
    b"*1\r\n+x\r\n",
];

/// Pieces the random malformed inputs are made of: RESP's syntax, numbers near the limits,
/// quoting, and a few command names.
const PIECES: &[&[u8]] = &[
    b"*",
    b"$",
    b"\r\n",
    b"\r",
    b"\n",
    b"-",
    b"+",
    b"0",
    b"1",
    b"2",
    b"3",
    b"4",
    b"10",
    b"-1",
    b"1048577",
    b"536870913",
    b"99999999999999999999",
    b" ",
    b"\t",
    b"\"",
    b"'",
    b"\\",
    b"\\x41",
    b"PING",
    b"ECHO",
    b"GET",
    b"a",
    b"xyz",
];

/// Malformed input, made of RESP's pieces and of random ASCII (no NUL, no bytes past 0x7f:
/// see [`malformed_input_gets_the_same_bytes_as_from_redis`]).
fn malformed(rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut bytes = Vec::new();
    for _ in 0..rng.usize(1..40) {
        if rng.u8(0..4) == 0 {
            bytes.push(rng.u8(1..0x80));
        } else {
            bytes.extend_from_slice(PIECES[rng.usize(0..PIECES.len())]);
        }
    }
    bytes
}

/// Each input goes to a new connection to each server, which then closes its sending side: the
/// bytes received until the server closes must be the same.
///
/// Two known differences are left out of the random inputs: a NUL before a request's line end
/// (Redis looks for the line end with `strchr`, so it waits for more input where kvdb parses),
/// and bytes that are not UTF-8 quoted in an error (kvdb's error texts are UTF-8: such bytes
/// become U+FFFD).
#[test]
fn malformed_input_gets_the_same_bytes_as_from_redis() -> TestResult {
    let _serial = serial();
    let redis = Server::start()?;
    let kvdb = KvdbServer::start(&["--appendfsync", "no"])?;
    let mut rng = fastrand::Rng::with_seed(3);
    let random: Vec<Vec<u8>> = (0..400).map(|_| malformed(&mut rng)).collect();
    let inputs = MALFORMED.iter().map(|m| m.to_vec()).chain(random);
    for (index, bytes) in inputs.enumerate() {
        let from_kvdb = send_and_close(kvdb.port(), &bytes)?;
        let from_redis = send_and_close(redis.port(), &bytes)?;
        assert!(
            from_kvdb == from_redis,
            "input #{index} {:?}\n  kvdb  {:?}\n  redis {:?}",
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&from_kvdb),
            String::from_utf8_lossy(&from_redis)
        );
    }
    // Both still serve.
    for port in [kvdb.port(), redis.port()] {
        assert_eq!(Raw::connect(port)?.call_text(&["PING"])?, "+PONG\r\n");
    }
    Ok(())
}

/// Decodes one reply frame without folding anything the wire distinguishes: `$-1` is
/// [`Reply::Nil`] and `*-1` [`Reply::NilArray`], a double must be spelled as Redis spells it
/// ([`format_double`]), a verbatim string must be `txt`. Lengths and counts must match the
/// bytes exactly; nothing may follow the frame.
pub fn decode(bytes: &[u8]) -> Result<Reply, String> {
    let mut pos = 0;
    let reply = decode_at(bytes, &mut pos, 0)?;
    if pos == bytes.len() {
        Ok(reply)
    } else {
        Err(format!("{} bytes after the reply", bytes.len() - pos))
    }
}

/// Deepest nesting accepted: a bound for the decoder, not a RESP rule.
const MAX_DEPTH: usize = 32;

fn decode_at(bytes: &[u8], pos: &mut usize, depth: usize) -> Result<Reply, String> {
    if depth > MAX_DEPTH {
        return Err("nested too deep".into());
    }
    let kind = *bytes.get(*pos).ok_or("truncated reply")?;
    let rest = &bytes[*pos + 1..];
    let end = rest
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or("a line without CRLF")?;
    let line = &rest[..end];
    *pos += 1 + end + 2;
    let text = || std::str::from_utf8(line).map_err(|e| format!("line not UTF-8: {e}"));
    let number = || -> Result<i64, String> {
        text()?
            .parse()
            .map_err(|e| format!("bad number {line:?}: {e}"))
    };
    let items = |count: i64, pos: &mut usize| -> Result<Vec<Reply>, String> {
        (0..count)
            .map(|_| decode_at(bytes, pos, depth + 1))
            .collect()
    };
    let blob = |len: i64, pos: &mut usize| -> Result<Vec<u8>, String> {
        let len = usize::try_from(len).map_err(|_| format!("bad length {len}"))?;
        let body = bytes
            .get(*pos..*pos + len)
            .ok_or("truncated bulk string")?
            .to_vec();
        if bytes.get(*pos + len..*pos + len + 2) != Some(b"\r\n") {
            return Err("bulk string not followed by CRLF".into());
        }
        *pos += len + 2;
        Ok(body)
    };
    Ok(match kind {
        b'+' => Reply::Status(text()?.to_owned()),
        b'-' => Reply::Error(text()?.to_owned()),
        b':' => Reply::Integer(number()?),
        b'$' => match number()? {
            -1 => Reply::Nil,
            len => Reply::Bulk(blob(len, pos)?),
        },
        b'*' => match number()? {
            -1 => Reply::NilArray,
            count => Reply::Array(items(count, pos)?),
        },
        b'_' if line.is_empty() => Reply::Nil,
        b',' => {
            let spelled = text()?;
            let value: f64 = match spelled {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                other => other.parse().map_err(|e| format!("bad double: {e}"))?,
            };
            if format_double(value) != spelled {
                return Err(format!("double spelled {spelled:?}, not as Redis does"));
            }
            Reply::Double(value)
        }
        b'#' if line == b"t" => Reply::Boolean(true),
        b'#' if line == b"f" => Reply::Boolean(false),
        b'%' => {
            let flat = items(number()? * 2, pos)?;
            let mut entries = Vec::with_capacity(flat.len() / 2);
            let mut flat = flat.into_iter();
            while let (Some(k), Some(v)) = (flat.next(), flat.next()) {
                entries.push((k, v));
            }
            Reply::Map(entries)
        }
        b'~' => Reply::Set(items(number()?, pos)?),
        b'>' => Reply::Push(items(number()?, pos)?),
        b'=' => {
            let body = blob(number()?, pos)?;
            let text = body
                .strip_prefix(b"txt:")
                .ok_or("a verbatim string not in txt format")?;
            Reply::Verbatim(String::from_utf8(text.to_vec()).map_err(|e| e.to_string())?)
        }
        other => return Err(format!("unexpected type byte {:?}", char::from(other))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoder_keeps_what_the_wire_distinguishes() {
        let cases: &[(&[u8], Reply)] = &[
            (b"$-1\r\n", Reply::Nil),
            (b"*-1\r\n", Reply::NilArray),
            (b"_\r\n", Reply::Nil),
            (b"+OK\r\n", Reply::ok()),
            (b"$2\r\nOK\r\n", Reply::bulk("OK")),
            (b"$4\r\na\r\nb\r\n", Reply::bulk("a\r\nb")),
            (b",1.5\r\n", Reply::Double(1.5)),
            (b"#t\r\n", Reply::Boolean(true)),
            (
                b"%1\r\n$1\r\nk\r\n:1\r\n",
                Reply::Map(vec![(Reply::bulk("k"), Reply::Integer(1))]),
            ),
            (b"=7\r\ntxt:abc\r\n", Reply::Verbatim("abc".into())),
            (
                b"*2\r\n$-1\r\n*0\r\n",
                Reply::Array(vec![Reply::Nil, Reply::Array(vec![])]),
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(decode(bytes).as_ref(), Ok(want), "{bytes:?}");
        }
        for bad in [
            &b",1.50\r\n"[..],
            b"$3\r\nab\r\n",
            b"+OK\r\n+OK\r\n",
            b"*2\r\n:1\r\n",
            b"=7\r\nmkd:abc\r\n",
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }
}
