//! Differential test generator and comparison rules for lists.
//!
//! [`COMMANDS`] lists the commands with their weights; [`command`] draws the arguments of one.
//! Keys come from [`crate::generate::key`], shared with the string commands, so WRONGTYPE and
//! the keyspace commands meet these types, or from keys of this family's own (`list:0`,
//! `list:1`), where lists live long enough to grow instead of mostly meeting
//! WRONGTYPE.
//!
//! Lists are ordered and nothing about them is random, so every reply is compared byte for
//! byte ([`compare`] leaves them all to the exact rule).
//!
//! Elements come mostly from a small pool, so that LINSERT's pivots, LREM and LPOS find
//! matches. Indexes include negative and out-of-range ones and every integer boundary; counts
//! include 0, negative and huge ones. The blocking commands get only timeouts that end at once
//! on both sides: a short one (10 ms or less; Redis answers after its ~100 ms timer tick, kvdb
//! after the timeout, both with the null array), or a malformed or negative one (an error).
//! On a key that holds a list they pop at once, exactly as their non-blocking forms. A timeout
//! of 0 (forever) is never generated: on an empty key it would hang the sequence.

use fastrand::Rng;
use kvdb::Reply;

use crate::generate::{index, key, pick, text, value};

/// Commands of this family and their relative weights.
#[rustfmt::skip]
pub const COMMANDS: &[(&str, u32)] = &[
    ("LPUSH", 12), ("RPUSH", 12), ("LPUSHX", 3), ("RPUSHX", 3), ("LPOP", 5), ("RPOP", 5),
    ("LLEN", 2), ("LRANGE", 5), ("LINDEX", 3), ("LSET", 4), ("LINSERT", 5), ("LREM", 4),
    ("LTRIM", 3), ("LPOS", 5), ("LMOVE", 4), ("RPOPLPUSH", 2), ("LMPOP", 4),
    ("BLPOP", 1), ("BRPOP", 1), ("BLMOVE", 1), ("BRPOPLPUSH", 1), ("BLMPOP", 1),
];

/// A key for a list command: a shared key (where strings and the other families meet lists),
/// or one of a few keys only this family uses.
fn list_key(rng: &mut Rng) -> Vec<u8> {
    if rng.u32(0..100) < 35 {
        key(rng)
    } else {
        format!("list:{}", rng.u32(0..2)).into_bytes()
    }
}

/// Integers that must be refused where an integer is expected.
const NOT_INTEGERS: &[&str] = &[
    "abc",
    "",
    "1.5",
    " 1",
    "1 ",
    "+1",
    "01",
    "-0",
    "0x1",
    "9223372036854775808",
    "-",
];

/// An element: mostly from a small pool (pivots, LREM and LPOS then find matches), sometimes
/// any value (empty, binary, 10 KB...).
fn element(rng: &mut Rng) -> Vec<u8> {
    if rng.u32(0..100) < 75 {
        text(pick(rng, &["a", "b", "c", "1", "2", "10", "-5", "", "x y"]))
    } else {
        value(rng)
    }
}

/// One to `max` elements.
fn elements(rng: &mut Rng, max: usize) -> Vec<Vec<u8>> {
    (0..rng.usize(1..=max)).map(|_| element(rng)).collect()
}

/// An index for LINDEX and LSET: mostly within a few elements of either end.
fn list_index(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..75 => rng.i64(-6..6).to_string().into_bytes(),
        75..85 => text(pick(
            rng,
            &[
                "9223372036854775807",
                "-9223372036854775808",
                "2147483648",
                "-2147483649",
                "100",
                "-100",
            ],
        )),
        _ => text(pick(rng, NOT_INTEGERS)),
    }
}

/// A range bound for LRANGE and LTRIM.
fn bound(rng: &mut Rng) -> Vec<u8> {
    if rng.u32(0..100) < 70 {
        rng.i64(-8..8).to_string().into_bytes()
    } else {
        index(rng)
    }
}

/// A count for LPOP / RPOP (0 and above are valid), LMPOP's COUNT (1 and above): mostly
/// small, so that lists live on.
fn count(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..70 => rng.i64(0..4).to_string().into_bytes(),
        70..80 => text(pick(
            rng,
            &["9223372036854775807", "100", "-1", "-9223372036854775808"],
        )),
        _ => text(pick(rng, NOT_INTEGERS)),
    }
}

/// LEFT or RIGHT in some spelling, or now and then something else.
fn direction(rng: &mut Rng) -> Vec<u8> {
    if rng.u32(0..100) < 95 {
        text(pick(rng, &["LEFT", "RIGHT", "left", "Right"]))
    } else {
        text(pick(rng, &["UP", "", "LEFTX"]))
    }
}

/// A blocking command's timeout: one that ends at once on an empty key (never 0, forever), or
/// a refused one.
fn timeout(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..65 => text(pick(rng, &["0.01", "0.001", "0.005", "1e-3", "0x1p-10"])),
        _ => text(pick(
            rng,
            &[
                "-1", "-0.5", "abc", "", "1e400", "inf", "-inf", "nan", "0x", "1 ",
            ],
        )),
    }
}

/// LPOS's options: RANK, COUNT and MAXLEN with valid or refused values, repeated, without a
/// value, or unknown.
fn lpos_options(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..rng.usize(0..4) {
        match rng.u32(0..20) {
            0..6 => {
                out.push(text(pick(rng, &["RANK", "rank"])));
                out.push(match rng.u32(0..10) {
                    0..7 => text(pick(rng, &["1", "2", "3", "-1", "-2", "-3"])),
                    7 => text("0"),
                    8 => text(pick(
                        rng,
                        &[
                            "-9223372036854775808",
                            "-9223372036854775807",
                            "9223372036854775807",
                        ],
                    )),
                    _ => text(pick(rng, NOT_INTEGERS)),
                });
            }
            6..12 => {
                out.push(text(pick(rng, &["COUNT", "count"])));
                out.push(match rng.u32(0..10) {
                    0..8 => rng.i64(0..4).to_string().into_bytes(),
                    8 => text(pick(rng, &["-1", "9223372036854775807"])),
                    _ => text(pick(rng, NOT_INTEGERS)),
                });
            }
            12..18 => {
                out.push(text(pick(rng, &["MAXLEN", "maxlen"])));
                out.push(match rng.u32(0..10) {
                    0..8 => rng.i64(0..6).to_string().into_bytes(),
                    8 => text(pick(rng, &["-1", "9223372036854775807"])),
                    _ => text(pick(rng, NOT_INTEGERS)),
                });
            }
            18 => out.push(text(pick(rng, &["RANK", "COUNT", "MAXLEN"]))),
            _ => out.push(text("FOO")),
        }
    }
    out
}

/// LMPOP's and BLMPOP's arguments from numkeys on: usually a numkeys that matches the keys,
/// sometimes one that does not, or a refused one.
fn multi_pop(rng: &mut Rng) -> Vec<Vec<u8>> {
    let keys: Vec<Vec<u8>> = (0..rng.usize(1..4)).map(|_| list_key(rng)).collect();
    let numkeys = match rng.u32(0..100) {
        0..85 => keys.len().to_string().into_bytes(),
        85..92 => (keys.len() + rng.usize(1..3)).to_string().into_bytes(),
        92..95 => (keys.len() - 1).to_string().into_bytes(),
        // Not LONG_MAX: Redis's `numkeys_idx + numkeys + 1` would overflow.
        95..97 => text(pick(rng, &["-1", "4294967296", "2147483648"])),
        _ => text(pick(rng, NOT_INTEGERS)),
    };
    let mut out = vec![numkeys];
    out.extend(keys);
    out.push(direction(rng));
    match rng.u32(0..10) {
        0..5 => {}
        5..9 => {
            out.push(text(pick(rng, &["COUNT", "count"])));
            out.push(count(rng));
        }
        _ => out.push(text(pick(rng, &["COUNT", "FOO"]))),
    }
    out
}

/// The arguments (after the name) of command `name`.
pub fn command(rng: &mut Rng, name: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    match name {
        "LPUSH" | "RPUSH" | "LPUSHX" | "RPUSHX" => {
            out.push(list_key(rng));
            out.extend(elements(rng, 5));
        }
        "LPOP" | "RPOP" => {
            out.push(list_key(rng));
            if rng.bool() {
                out.push(count(rng));
            }
        }
        "LLEN" => out.push(list_key(rng)),
        "LRANGE" => {
            // Mostly most of the list, else any range.
            out.push(list_key(rng));
            if rng.u32(0..100) < 60 {
                out.push(rng.i64(-3..3).to_string().into_bytes());
                out.push(pick(rng, &[-1, -1, -2, 2, 5, 20]).to_string().into_bytes());
            } else {
                out.push(bound(rng));
                out.push(bound(rng));
            }
        }
        "LTRIM" => {
            // Mostly a trim of a few elements at the ends, else any range (which may empty the
            // list).
            out.push(list_key(rng));
            if rng.u32(0..100) < 70 {
                out.push(rng.i64(0..3).to_string().into_bytes());
                out.push(rng.i64(-3..20).to_string().into_bytes());
            } else {
                out.push(bound(rng));
                out.push(bound(rng));
            }
        }
        "LINDEX" => {
            out.push(list_key(rng));
            out.push(list_index(rng));
        }
        "LSET" => {
            out.push(list_key(rng));
            out.push(list_index(rng));
            out.push(element(rng));
        }
        "LINSERT" => {
            out.push(list_key(rng));
            out.push(if rng.u32(0..100) < 95 {
                text(pick(rng, &["BEFORE", "AFTER", "before", "After"]))
            } else {
                text(pick(rng, &["MIDDLE", ""]))
            });
            out.push(element(rng));
            out.push(element(rng));
        }
        "LREM" => {
            out.push(list_key(rng));
            out.push(match rng.u32(0..100) {
                0..80 => rng.i64(-3..4).to_string().into_bytes(),
                80..90 => text(pick(
                    rng,
                    &["-9223372036854775808", "9223372036854775807", "100"],
                )),
                _ => text(pick(rng, NOT_INTEGERS)),
            });
            out.push(element(rng));
        }
        "LPOS" => {
            out.push(list_key(rng));
            out.push(element(rng));
            out.extend(lpos_options(rng));
        }
        "LMOVE" | "BLMOVE" => {
            let src = list_key(rng);
            let dst = if rng.u32(0..4) == 0 {
                src.clone()
            } else {
                list_key(rng)
            };
            out.extend([src, dst, direction(rng), direction(rng)]);
            if name == "BLMOVE" {
                out.push(timeout(rng));
            }
        }
        "RPOPLPUSH" | "BRPOPLPUSH" => {
            let src = list_key(rng);
            let dst = if rng.u32(0..4) == 0 {
                src.clone()
            } else {
                list_key(rng)
            };
            out.extend([src, dst]);
            if name == "BRPOPLPUSH" {
                out.push(timeout(rng));
            }
        }
        "LMPOP" => out.extend(multi_pop(rng)),
        "BLPOP" | "BRPOP" => {
            for _ in 0..rng.usize(1..4) {
                out.push(list_key(rng));
            }
            out.push(timeout(rng));
        }
        "BLMPOP" => {
            out.push(timeout(rng));
            out.extend(multi_pop(rng));
        }
        _ => out.push(list_key(rng)),
    }
    out
}

/// Commands whose nulls are always the null *array* (RESP2 `*-1`): LPOP / RPOP with a count,
/// LMPOP, and the blocking commands timing out (outside MULTI). redis-rs reads `*-1` as the
/// same nil as `$-1`, so the in-process comparison sees Redis answer [`Reply::Nil`] where
/// kvdb's decoded reply keeps [`Reply::NilArray`]. The raw-wire comparisons keep the
/// difference, and there a `$-1` from Redis would be a bug of the oracle, not a tolerance.
fn null_array_command(name: &str, argv: &[Vec<u8>]) -> bool {
    match name {
        "LPOP" | "RPOP" => argv.len() == 3,
        "LMPOP" | "BLPOP" | "BRPOP" | "BLMPOP" | "BLMOVE" | "BRPOPLPUSH" => true,
        _ => false,
    }
}

/// How replies of `name` are compared, when not byte for byte (`None`: exactly). Lists are
/// ordered and deterministic: exactly, except that a null array from kvdb matches the nil
/// that redis-rs makes of Redis's null array (see [`null_array_command`]).
pub fn compare(
    name: &str,
    argv: &[Vec<u8>],
    kvdb: &Reply,
    redis: &Reply,
) -> Option<Result<(), String>> {
    (null_array_command(name, argv) && *kvdb == Reply::NilArray && *redis == Reply::Nil)
        .then_some(Ok(()))
}

mod scripted {
    //! What the random sequences cannot show: exact error texts in Redis's order of checks,
    //! the replies of blocking commands inside MULTI, and lists longer than the sequences
    //! build, changed until kvdb renumbers them. The first two run on raw connections to
    //! `kvdb server` and redis-server in RESP2, where a null array and a null bulk string
    //! differ (redis-rs reads both as nil).

    use kvdb::Reply;

    use crate::common::raw::Raw;
    use crate::common::server::Server as KvdbServer;
    use crate::network::decode;
    use crate::oracle::Server;
    use crate::{Execute, Pair, Side, TestResult, serial};

    /// A raw RESP2 connection, each reply decoded without folding anything.
    struct Wire(Raw);

    impl Execute for Wire {
        fn run(&mut self, argv: &[Vec<u8>]) -> Reply {
            let bytes = self
                .0
                .call(argv)
                .unwrap_or_else(|e| panic!("connection failed: {e}"));
            decode(&bytes).unwrap_or_else(|e| panic!("undecodable reply: {e}"))
        }
    }

    /// Raw connections to a new `kvdb server` and to `redis`, both emptied.
    fn wire_pair(redis: &Server) -> Result<(Pair, KvdbServer), Box<dyn std::error::Error>> {
        let kvdb = KvdbServer::start(&["--appendfsync", "no"])?;
        let pair = Pair::of(
            Side::new(Wire(Raw::connect(kvdb.port())?)),
            Side::new(Wire(Raw::connect(redis.port())?)),
        )?;
        Ok((pair, kvdb))
    }

    #[test]
    fn list_error_texts_match_redis() -> TestResult {
        let _serial = serial();
        let server = Server::start()?;
        let (mut p, _kvdb) = wire_pair(&server)?;
        let err = |text: &str| Reply::Error(format!("ERR {text}"));
        let wrongtype = Reply::Error(
            "WRONGTYPE Operation against a key holding the wrong kind of value".into(),
        );
        let arity = |name: &str| err(&format!("wrong number of arguments for '{name}' command"));
        let positive = err("value is out of range, must be positive");
        let syntax = err("syntax error");
        let not_integer = err("value is not an integer or out of range");
        p.expect(&["RPUSH", "l", "a", "b", "c", "a"], Reply::Integer(4));
        p.expect(&["SET", "s", "v"], Reply::ok());
        // LPOP / RPOP: the count before the key.
        p.expect(&["LPOP", "l", "1", "2"], arity("lpop"));
        p.expect(&["rpop", "nokey", "1", "2"], arity("rpop"));
        p.expect(&["LPOP", "s", "-1"], positive.clone());
        p.expect(&["RPOP", "nokey", "x"], positive.clone());
        p.expect(&["LPOP", "s", "1"], wrongtype.clone());
        p.expect(&["LPOP", "nokey", "0"], Reply::NilArray);
        p.expect(&["LPOP", "nokey"], Reply::Nil);
        p.expect(&["LPOP", "l", "0"], Reply::Array(vec![]));
        // The index after the type, the range after nothing.
        p.expect(&["LINDEX", "nokey", "x"], Reply::Nil);
        p.expect(&["LINDEX", "s", "x"], wrongtype.clone());
        p.expect(&["LINDEX", "l", "x"], not_integer.clone());
        p.expect(&["LSET", "nokey", "x", "v"], err("no such key"));
        p.expect(&["LSET", "s", "x", "v"], wrongtype.clone());
        p.expect(&["LSET", "l", "x", "v"], not_integer.clone());
        p.expect(&["LSET", "l", "4", "v"], err("index out of range"));
        p.expect(&["LSET", "l", "-5", "v"], err("index out of range"));
        p.expect(&["LRANGE", "nokey", "x", "0"], not_integer.clone());
        p.expect(&["LTRIM", "s", "0", "x"], not_integer.clone());
        p.expect(&["LTRIM", "nokey", "0", "0"], Reply::ok());
        p.expect(&["LREM", "nokey", "x", "a"], not_integer.clone());
        p.expect(&["LREM", "s", "0", "a"], wrongtype.clone());
        p.expect(&["LINSERT", "s", "MIDDLE", "a", "x"], syntax.clone());
        p.expect(&["LINSERT", "nokey", "BEFORE", "a", "x"], Reply::Integer(0));
        p.expect(&["LINSERT", "s", "BEFORE", "a", "x"], wrongtype.clone());
        p.expect(&["LINSERT", "l", "AFTER", "zz", "x"], Reply::Integer(-1));
        p.expect(&["LPUSHX", "nokey", "a"], Reply::Integer(0));
        p.expect(&["RPUSHX", "s", "a"], wrongtype.clone());
        // LPOS: options in order, each checked as read, before the key.
        let rank_zero = err(
            "RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
             or use negative to start from the end of the list",
        );
        p.expect(&["LPOS", "s", "a", "RANK", "0"], rank_zero.clone());
        p.expect(&["LPOS", "l", "a", "RANK", "0", "COUNT", "-1"], rank_zero);
        p.expect(
            &["LPOS", "l", "a", "COUNT", "-1", "RANK", "0"],
            err("COUNT can't be negative"),
        );
        p.expect(
            &["LPOS", "l", "a", "COUNT", "x"],
            err("COUNT can't be negative"),
        );
        p.expect(
            &["LPOS", "l", "a", "MAXLEN", "-1"],
            err("MAXLEN can't be negative"),
        );
        p.expect(&["LPOS", "l", "a", "RANK", "x"], not_integer.clone());
        p.expect(&["LPOS", "l", "a", "RANK"], syntax.clone());
        p.expect(&["LPOS", "l", "a", "FOO", "1"], syntax.clone());
        p.expect(&["LPOS", "s", "a"], wrongtype.clone());
        p.expect(&["LPOS", "nokey", "a"], Reply::Nil);
        p.expect(&["LPOS", "nokey", "a", "COUNT", "0"], Reply::Array(vec![]));
        p.agree(&[
            "LPOS",
            "l",
            "a",
            "RANK",
            "-9223372036854775808",
            "COUNT",
            "1",
        ]);
        p.agree(&[
            "LPOS",
            "l",
            "a",
            "RANK",
            "-9223372036854775807",
            "COUNT",
            "1",
        ]);
        p.agree(&["LPOS", "l", "a", "RANK", "2", "COUNT", "0", "MAXLEN", "3"]);
        // LMOVE: directions first; the destination's type only when there is something to
        // move.
        p.expect(&["LMOVE", "nokey", "s", "UP", "LEFT"], syntax.clone());
        p.expect(&["LMOVE", "nokey", "s", "LEFT", "LEFT"], Reply::Nil);
        p.expect(&["LMOVE", "s", "l", "LEFT", "LEFT"], wrongtype.clone());
        p.expect(&["LMOVE", "l", "s", "LEFT", "LEFT"], wrongtype.clone());
        p.expect(&["RPOPLPUSH", "l", "s"], wrongtype.clone());
        p.expect(&["RPOPLPUSH", "nokey", "s"], Reply::Nil);
        // LMPOP.
        let numkeys = err("numkeys should be greater than 0");
        let count = err("count should be greater than 0");
        p.expect(&["LMPOP", "0", "l", "LEFT"], numkeys.clone());
        p.expect(&["LMPOP", "x", "l", "LEFT"], numkeys.clone());
        p.expect(&["LMPOP", "2", "l", "LEFT"], syntax.clone());
        p.expect(&["LMPOP", "1", "l", "MIDDLE"], syntax.clone());
        p.expect(&["LMPOP", "1", "l", "LEFT", "COUNT", "0"], count.clone());
        p.expect(&["LMPOP", "1", "l", "LEFT", "COUNT"], syntax.clone());
        p.expect(
            &["LMPOP", "1", "l", "LEFT", "COUNT", "0", "COUNT", "1"],
            count.clone(),
        );
        p.expect(
            &["LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "1"],
            syntax.clone(),
        );
        p.expect(&["LMPOP", "2", "nokey", "s", "LEFT"], wrongtype.clone());
        p.expect(&["LMPOP", "2", "nokey", "nokey2", "LEFT"], Reply::NilArray);
        p.agree(&["LMPOP", "3", "nokey", "l", "s", "RIGHT", "COUNT", "3"]);
        // Blocking commands: the timeout first (BLMPOP: after its other arguments).
        let not_float = err("timeout is not a float or out of range");
        let negative = err("timeout is negative");
        p.expect(&["BLPOP", "s", "x"], not_float.clone());
        p.expect(&["BLPOP", "nokey", "-1"], negative.clone());
        p.expect(&["BRPOP", "nokey", "1e400"], negative.clone());
        p.expect(&["BLPOP", "nokey", "s", "0.01"], wrongtype.clone());
        p.expect(&["BLPOP", "nokey", "0.01"], Reply::NilArray);
        p.expect(&["BLMOVE", "s", "d", "UP", "LEFT", "-1"], syntax.clone());
        p.expect(
            &["BLMOVE", "s", "d", "LEFT", "LEFT", "-1"],
            negative.clone(),
        );
        p.expect(
            &["BLMOVE", "s", "d", "LEFT", "LEFT", "0.01"],
            wrongtype.clone(),
        );
        p.expect(
            &["BLMOVE", "nokey", "s", "LEFT", "LEFT", "0.01"],
            Reply::NilArray,
        );
        p.expect(&["BRPOPLPUSH", "nokey", "d", "x"], not_float);
        p.expect(&["BRPOPLPUSH", "nokey", "d", "0.01"], Reply::NilArray);
        p.expect(&["BLMPOP", "-1", "1", "nokey", "UP"], syntax.clone());
        p.expect(&["BLMPOP", "-1", "0", "nokey", "LEFT"], numkeys);
        p.expect(&["BLMPOP", "-1", "1", "nokey", "LEFT"], negative);
        p.expect(
            &["BLMPOP", "0.01", "2", "nokey", "s", "LEFT", "COUNT", "0"],
            count,
        );
        p.expect(&["BLMPOP", "0.01", "2", "nokey", "s", "LEFT"], wrongtype);
        p.expect(&["BLMPOP", "0.01", "1", "nokey", "LEFT"], Reply::NilArray);
        p.agree(&["BLMPOP", "0.01", "2", "nokey", "l", "RIGHT", "COUNT", "10"]);
        p.expect(&["EXISTS", "l"], Reply::Integer(0));
        Ok(())
    }

    #[test]
    fn blocking_commands_inside_multi_answer_at_once_as_redis_does() -> TestResult {
        let _serial = serial();
        let server = Server::start()?;
        let (mut p, _kvdb) = wire_pair(&server)?;
        p.expect(&["MULTI"], Reply::ok());
        for argv in [
            &["BLMOVE", "nokey", "d", "LEFT", "RIGHT", "0"][..],
            &["BRPOPLPUSH", "nokey", "d", "0"],
            &["BLPOP", "nokey", "0"],
            &["BRPOP", "nokey", "0"],
            &["BLMPOP", "0", "1", "nokey", "LEFT"],
            &["RPUSH", "l", "a", "b"],
            &["BLPOP", "nokey", "l", "0"],
            &["BLMOVE", "l", "d", "LEFT", "RIGHT", "0"],
        ] {
            p.expect(argv, Reply::Status("QUEUED".into()));
        }
        let nil = Reply::Nil;
        let bulk = |s: &str| Reply::Bulk(s.as_bytes().to_vec());
        p.expect(
            &["EXEC"],
            Reply::Array(vec![
                nil.clone(),
                nil,
                Reply::NilArray,
                Reply::NilArray,
                Reply::NilArray,
                Reply::Integer(2),
                Reply::Array(vec![bulk("l"), bulk("a")]),
                bulk("b"),
            ]),
        );
        p.agree(&["LRANGE", "d", "0", "-1"]);
        Ok(())
    }

    #[test]
    fn long_lists_changed_in_one_spot_until_kvdb_renumbers_match_redis() -> TestResult {
        let _serial = serial();
        let server = Server::start()?;
        let mut p = Pair::new(&server)?;
        let mut rpush = vec!["RPUSH".to_owned(), "l".to_owned()];
        rpush.extend((0..300).map(|i| format!("e{i}")));
        let rpush: Vec<&str> = rpush.iter().map(String::as_str).collect();
        p.expect(&rpush, Reply::Integer(300));
        p.expect(&["EXPIRE", "l", "100000"], Reply::Integer(1));
        for i in 0..80 {
            let value = format!("b{i}");
            p.agree(&["LINSERT", "l", "BEFORE", "e150", &value]);
            let value = format!("a{i}");
            p.agree(&["LINSERT", "l", "AFTER", "e10", &value]);
            p.agree(&["LMOVE", "l", "l", "RIGHT", "LEFT"]);
        }
        p.agree(&["LRANGE", "l", "0", "-1"]);
        p.agree(&["TTL", "l"]);
        p.agree(&["LPOS", "l", "b3", "RANK", "-1", "COUNT", "0"]);
        p.agree(&["LREM", "l", "-2", "e5"]);
        p.agree(&["LTRIM", "l", "20", "-30"]);
        p.agree(&["LRANGE", "l", "0", "-1"]);
        p.agree(&["LPOP", "l", "100"]);
        p.agree(&["RPOP", "l", "100"]);
        p.agree(&["LRANGE", "l", "0", "-1"]);
        Ok(())
    }
}
