//! Differential test generator and comparison rules for sorted sets, the single-key commands.
//!
//! [`COMMANDS`] lists the commands with their weights; [`command`] draws the arguments of one.
//! Keys come from [`crate::generate::key`], shared with the string commands, so WRONGTYPE and
//! the keyspace commands meet these types.
//!
//! Lex ranges: Redis answers a lex range over members of different scores with whatever its
//! encoding's walk finds (the listpack's linear scan and the skiplist's descent disagree), and
//! kvdb's binary search finds something else again. So lex commands with a real range target
//! dedicated keys ([`LEX_KEYS`]) whose members all have the score 0; on the shared keys they
//! only use the whole range (`-` `+`, `+` `-`...), on which every walk agrees, or invalid
//! bounds (an error before the key is read).
//!
//! Members are a small pool of short names (so that commands meet the same members), and sorted
//! sets stay within Redis's small encoding (at most 128 members of at most 64 bytes). `-0` is
//! a score here too: a small set stores it as `0` on both sides.
//!
//! ZRANK and ZREVRANK are never sent `WITHSCORE`: kvdb accepts it as Redis 7.2 does, the
//! 7.0 oracle answers a wrong-arity error.
//!
//! Pops: ZMPOP on any keys; the blocking BZPOPMIN, BZPOPMAX and BZMPOP always with a tiny
//! timeout (or a refused one), so that on missing keys both sides answer nil after a few
//! milliseconds instead of blocking the sequence. Their replies are compared exactly.
//!
//! Random replies: ZRANDMEMBER is compared by shape (count, distinct members for a positive
//! count), and in full when the count covers the whole set; a single ZSCAN call is compared by
//! shape, and its members must be among Redis's when Redis returned the whole set (a small
//! Redis set answers everything in one call, kvdb pages by COUNT).

use std::collections::BTreeMap;

use fastrand::Rng;
use kvdb::Reply;

use crate::generate::{cursor, key, pick, text};

/// Commands of this family and their relative weights.
pub const COMMANDS: &[(&str, u32)] = &[
    ("ZADD", 24),
    ("ZINCRBY", 5),
    ("ZREM", 5),
    ("ZSCORE", 4),
    ("ZMSCORE", 3),
    ("ZCARD", 3),
    ("ZCOUNT", 4),
    ("ZLEXCOUNT", 3),
    ("ZRANK", 4),
    ("ZREVRANK", 3),
    ("ZRANGE", 10),
    ("ZRANGESTORE", 4),
    ("ZREVRANGE", 3),
    ("ZRANGEBYSCORE", 4),
    ("ZREVRANGEBYSCORE", 3),
    ("ZRANGEBYLEX", 3),
    ("ZREVRANGEBYLEX", 3),
    ("ZREMRANGEBYRANK", 3),
    ("ZREMRANGEBYSCORE", 3),
    ("ZREMRANGEBYLEX", 3),
    ("ZPOPMIN", 3),
    ("ZPOPMAX", 3),
    ("ZRANDMEMBER", 5),
    ("ZSCAN", 4),
    ("ZMPOP", 4),
    ("BZPOPMIN", 2),
    ("BZPOPMAX", 2),
    ("BZMPOP", 3),
];

/// Timeouts of the blocking pops: a few milliseconds at most (a missing key is waited on).
const TIMEOUTS: &[&str] = &["0.01", "0.01", "0.005", "0.001", "1e-3", ".002"];

/// Timeouts that must be refused: not a number, negative, or out of range.
const BAD_TIMEOUTS: &[&str] = &["abc", "", "-1", "-0.5", "1e400", "inf", "nan", "1s"];

/// Keys whose members all have the score 0, for lex ranges.
const LEX_KEYS: &[&str] = &["zlex0", "zlex1"];

/// The member pool: short, overlapping prefixes (for lex ranges), the empty member, binary.
const MEMBERS: &[&str] = &[
    "a", "b", "c", "d", "e", "f", "g", "aa", "ab", "A", "zz", "", "m\u{0}n", "\u{ff}",
];

/// Scores: integers, fractions, infinities, zeros, extremes.
const SCORES: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-2.5",
    "1.5",
    "0.1",
    "0.2",
    "0.3",
    "3.14",
    "10",
    "100",
    "-0",
    "inf",
    "-inf",
    "+inf",
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "123456789.125",
    "1e-320",
    "0x10",
    "5.",
    ".5",
    "1E3",
];

/// Scores that must be refused.
const BAD_SCORES: &[&str] = &[
    "nan", "abc", "", " 1", "1 ", "1e400", "-1e400", "1e-400", "--1", "1x", "0x", "(1", "inf1",
];

/// Score-range bounds: inclusive, exclusive, infinite, and the odd spellings `strtod` takes.
const SCORE_BOUNDS: &[&str] = &[
    "-inf", "+inf", "inf", "0", "1", "2", "3", "-1", "1.5", "10", "(0", "(1", "(2", "(-1", "(1.5",
    "(inf", "(-inf", "-0", "(-0", "1e400", "", "(", " 1", "\t2", "0x1", "1e-400",
];

/// Score-range bounds that must be refused.
const BAD_SCORE_BOUNDS: &[&str] = &["nan", "(nan", "abc", "1 ", "(1 ", " ", "((1", "1e"];

/// Lex bounds for the equal-score keys.
const LEX_BOUNDS: &[&str] = &[
    "-", "+", "[a", "(a", "[b", "(b", "[c", "(d", "[aa", "(ab", "[zz", "(zz", "[", "(", "[A", "[m",
    "(\u{ff}",
];

/// Lex bounds that must be refused.
const BAD_LEX_BOUNDS: &[&str] = &["a", "", "+a", "-a", "1", "*"];

/// Ranks and counts near the edges.
const INDEXES: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-2",
    "-3",
    "5",
    "-10",
    "100",
    "9223372036854775807",
    "-9223372036854775808",
];

/// Text that is not an integer.
const NOT_INTEGERS: &[&str] = &[
    "abc",
    "",
    "1.5",
    " 1",
    "+1",
    "01",
    "-0",
    "9223372036854775808",
];

fn member(rng: &mut Rng) -> Vec<u8> {
    text(pick(rng, MEMBERS))
}

fn members(rng: &mut Rng, max: usize) -> Vec<Vec<u8>> {
    (0..rng.usize(1..=max)).map(|_| member(rng)).collect()
}

fn score(rng: &mut Rng) -> Vec<u8> {
    text(if rng.u32(0..25) == 0 {
        pick(rng, BAD_SCORES)
    } else {
        pick(rng, SCORES)
    })
}

fn index(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..70 => rng.i64(-6..6).to_string().into_bytes(),
        70..95 => text(pick(rng, INDEXES)),
        _ => text(pick(rng, NOT_INTEGERS)),
    }
}

fn score_bound(rng: &mut Rng) -> Vec<u8> {
    text(if rng.u32(0..25) == 0 {
        pick(rng, BAD_SCORE_BOUNDS)
    } else {
        pick(rng, SCORE_BOUNDS)
    })
}

/// A key for a lex range, with its two bounds: mostly an equal-score key with any bounds;
/// otherwise a shared key with only whole-range (or invalid) bounds.
fn lex_target(rng: &mut Rng) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let bad = |rng: &mut Rng| text(pick(rng, BAD_LEX_BOUNDS));
    if rng.u32(0..4) != 0 {
        let bound = |rng: &mut Rng| {
            if rng.u32(0..25) == 0 {
                bad(rng)
            } else {
                text(pick(rng, LEX_BOUNDS))
            }
        };
        let key = text(pick(rng, LEX_KEYS));
        return (key, bound(rng), bound(rng));
    }
    let bound = |rng: &mut Rng| {
        if rng.u32(0..10) == 0 {
            bad(rng)
        } else {
            text(pick(rng, &["-", "+"]))
        }
    };
    (key(rng), bound(rng), bound(rng))
}

/// `LIMIT offset count`, usually valid, sometimes not.
fn limit(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = vec![text(pick(rng, &["LIMIT", "limit"]))];
    let offset = pick(rng, &["0", "0", "1", "2", "5", "-1", "100", "abc"]);
    let count = pick(rng, &["1", "2", "3", "0", "-1", "-1", "-2", "10", "x"]);
    out.push(text(offset));
    if rng.u32(0..15) != 0 {
        out.push(text(count));
    }
    out
}

/// `ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member ...`: on a shared key with any
/// scores, or on an equal-score key with the score 0.
fn zadd(rng: &mut Rng) -> Vec<Vec<u8>> {
    let lex = rng.u32(0..4) == 0;
    let mut out = vec![if lex {
        text(pick(rng, LEX_KEYS))
    } else {
        key(rng)
    }];
    let flags = match rng.u32(0..10) {
        0..5 => 0,
        5..8 => 1,
        8..9 => 2,
        _ => 3,
    };
    let mut incr = false;
    for _ in 0..flags {
        let flag = pick(
            rng,
            &[
                "NX", "XX", "GT", "LT", "CH", "INCR", "nx", "xx", "ch", "incr", "gt",
            ],
        );
        incr |= flag.eq_ignore_ascii_case("INCR");
        out.push(text(flag));
    }
    let pairs = if incr && rng.u32(0..6) != 0 {
        1
    } else {
        rng.usize(1..5)
    };
    for _ in 0..pairs {
        out.push(if lex {
            text(pick(rng, &["0", "0", "0.0", "-0"]))
        } else {
            score(rng)
        });
        out.push(member(rng));
    }
    // An odd number of arguments after the flags, or an option after a score.
    match rng.u32(0..30) {
        0 => {
            out.pop();
        }
        1 => out.insert(out.len() - 1, text("NX")),
        _ => {}
    }
    out
}

/// The options of ZRANGE-like commands, in random order: the allowed ones mostly, with
/// repeats, conflicts and junk now and then.
fn range_options(rng: &mut Rng, allowed: &[&str]) -> Vec<Vec<Vec<u8>>> {
    let mut groups = Vec::new();
    for _ in 0..rng.usize(0..4) {
        let option = if rng.u32(0..12) == 0 {
            pick(
                rng,
                &["WITHSCORES", "REV", "BYSCORE", "BYLEX", "LIMIT", "FOO"],
            )
        } else if allowed.is_empty() {
            continue;
        } else {
            pick(rng, allowed)
        };
        groups.push(if option == "LIMIT" && rng.u32(0..8) != 0 {
            limit(rng)
        } else {
            vec![text(option)]
        });
    }
    groups
}

/// `ZRANGE`/`ZRANGESTORE`'s range and options after the key, for a range type drawn here.
fn zrange_args(rng: &mut Rng, store: bool) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut groups: Vec<Vec<Vec<u8>>> = Vec::new();
    let (key, min, max) = match rng.u32(0..3) {
        0 => {
            groups.push(vec![text(pick(rng, &["BYSCORE", "byscore"]))]);
            (key(rng), score_bound(rng), score_bound(rng))
        }
        1 => {
            groups.push(vec![text(pick(rng, &["BYLEX", "bylex"]))]);
            lex_target(rng)
        }
        _ => (key(rng), index(rng), index(rng)),
    };
    let allowed: &[&str] = if store {
        &["REV", "LIMIT"]
    } else {
        &["REV", "LIMIT", "WITHSCORES", "WITHSCORES"]
    };
    groups.extend(range_options(rng, allowed));
    rng.shuffle(&mut groups);
    let mut rest = vec![min, max];
    rest.extend(groups.into_iter().flatten());
    (key, rest)
}

/// The arguments of the fixed-type range commands (ZREVRANGE, Z[REV]RANGEBY{SCORE,LEX}).
fn fixed_range(rng: &mut Rng, name: &str) -> Vec<Vec<u8>> {
    let (key, min, max) = if name.ends_with("LEX") {
        lex_target(rng)
    } else if name.ends_with("SCORE") {
        (key(rng), score_bound(rng), score_bound(rng))
    } else {
        (key(rng), index(rng), index(rng))
    };
    let allowed: &[&str] = match name {
        "ZREVRANGE" => &["WITHSCORES"],
        "ZRANGEBYLEX" | "ZREVRANGEBYLEX" => &["LIMIT"],
        _ => &["WITHSCORES", "LIMIT"],
    };
    let mut out = vec![key, min, max];
    out.extend(range_options(rng, allowed).into_iter().flatten());
    out
}

/// ZRANDMEMBER's count: small of either sign, large positive, or refused; never a huge
/// negative count without WITHSCORES (Redis would stream 2^63 picks).
fn randmember_args(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = vec![key(rng)];
    if rng.u32(0..5) == 0 {
        return out;
    }
    let with_scores = rng.bool();
    let count = match rng.u32(0..100) {
        0..75 => rng.i64(-8..9).to_string(),
        75..85 => pick(rng, &["100", "-100", "9223372036854775807", "20"]).to_owned(),
        85..90 if with_scores => pick(
            rng,
            &[
                "-9223372036854775807",
                "4611686018427387904",
                "-4611686018427387904",
            ],
        )
        .to_owned(),
        85..90 => "-9223372036854775808".to_owned(),
        _ => pick(rng, NOT_INTEGERS).to_owned(),
    };
    out.push(count.into_bytes());
    if with_scores {
        out.push(text(pick(rng, &["WITHSCORES", "withscores", "WITHSCORE"])));
    }
    out
}

/// ZSCAN's options after the cursor.
fn zscan_options(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..rng.usize(0..3) {
        match rng.u32(0..10) {
            0..4 => {
                out.push(text(pick(rng, &["MATCH", "match"])));
                out.push(text(pick(
                    rng,
                    &["*", "a*", "?", "[ab]*", "*a", "", "m*", "[^a]", "\\a"],
                )));
            }
            4..8 => {
                out.push(text(pick(rng, &["COUNT", "count"])));
                out.push(text(pick(rng, &["1", "2", "5", "100", "0", "-1", "abc"])));
            }
            8 => out.push(text(pick(rng, &["MATCH", "COUNT"]))),
            _ => {
                out.push(text(pick(rng, &["TYPE", "FOO"])));
                out.push(text("string"));
            }
        }
    }
    out
}

fn timeout(rng: &mut Rng) -> Vec<u8> {
    text(if rng.u32(0..12) == 0 {
        pick(rng, BAD_TIMEOUTS)
    } else {
        pick(rng, TIMEOUTS)
    })
}

/// `numkeys key [key ...] <MIN | MAX> [COUNT count]` of ZMPOP and BZMPOP: mostly well formed,
/// sometimes with a numkeys that is refused or does not match the keys, a wrong end, a bad,
/// missing or repeated COUNT, or junk after it.
fn mpop_args(rng: &mut Rng) -> Vec<Vec<u8>> {
    let keys: Vec<Vec<u8>> = (0..rng.usize(1..4)).map(|_| key(rng)).collect();
    let numkeys = match rng.u32(0..20) {
        0 => text(pick(
            rng,
            &["0", "-1", "abc", "", "9223372036854775807", "01"],
        )),
        1 => (keys.len() + 1).to_string().into_bytes(),
        2 if keys.len() > 1 => (keys.len() - 1).to_string().into_bytes(),
        _ => keys.len().to_string().into_bytes(),
    };
    let mut out = vec![numkeys];
    out.extend(keys);
    out.push(text(if rng.u32(0..15) == 0 {
        pick(rng, &["foo", "LEFT", "MINN", ""])
    } else {
        pick(rng, &["MIN", "MAX", "min", "max", "Max"])
    }));
    match rng.u32(0..10) {
        0..4 => {}
        4..8 => {
            out.push(text(pick(rng, &["COUNT", "count"])));
            out.push(text(pick(
                rng,
                &[
                    "1",
                    "2",
                    "3",
                    "10",
                    "1",
                    "2",
                    "0",
                    "-1",
                    "abc",
                    "9223372036854775807",
                ],
            )));
        }
        8 => out.push(text("COUNT")),
        _ => {
            out.push(text(pick(rng, &["COUNT", "FOO"])));
            out.push(text("1"));
            out.push(text(pick(rng, &["COUNT", "x"])));
            out.push(text("2"));
        }
    }
    out
}

/// The arguments (after the name) of command `name`.
pub fn command(rng: &mut Rng, name: &str) -> Vec<Vec<u8>> {
    match name {
        "ZADD" => zadd(rng),
        "ZINCRBY" => vec![key(rng), score(rng), member(rng)],
        "ZREM" | "ZMSCORE" => {
            let mut out = vec![key(rng)];
            out.extend(members(rng, 4));
            out
        }
        "ZSCORE" | "ZRANK" | "ZREVRANK" => vec![key(rng), member(rng)],
        "ZCARD" => vec![key(rng)],
        "ZCOUNT" | "ZREMRANGEBYSCORE" => vec![key(rng), score_bound(rng), score_bound(rng)],
        "ZLEXCOUNT" | "ZREMRANGEBYLEX" => {
            let (key, min, max) = lex_target(rng);
            vec![key, min, max]
        }
        "ZREMRANGEBYRANK" => vec![key(rng), index(rng), index(rng)],
        "ZRANGE" => {
            let (key, rest) = zrange_args(rng, false);
            let mut out = vec![key];
            out.extend(rest);
            out
        }
        "ZRANGESTORE" => {
            let (src, rest) = zrange_args(rng, true);
            let mut out = vec![key(rng), src];
            out.extend(rest);
            out
        }
        "ZREVRANGE" | "ZRANGEBYSCORE" | "ZREVRANGEBYSCORE" | "ZRANGEBYLEX" | "ZREVRANGEBYLEX" => {
            fixed_range(rng, name)
        }
        "ZPOPMIN" | "ZPOPMAX" => {
            let mut out = vec![key(rng)];
            if rng.bool() {
                out.push(text(pick(
                    rng,
                    &["0", "1", "2", "3", "10", "-1", "abc", "9223372036854775807"],
                )));
            }
            out
        }
        "ZRANDMEMBER" => randmember_args(rng),
        "ZMPOP" => mpop_args(rng),
        "BZMPOP" => {
            let mut out = vec![timeout(rng)];
            out.extend(mpop_args(rng));
            out
        }
        "BZPOPMIN" | "BZPOPMAX" => {
            let mut out: Vec<Vec<u8>> = (0..rng.usize(1..4)).map(|_| key(rng)).collect();
            out.push(timeout(rng));
            out
        }
        "ZSCAN" => {
            let mut out = vec![key(rng), cursor(rng)];
            out.extend(zscan_options(rng));
            out
        }
        _ => Vec::new(),
    }
}

/// How replies of `name` are compared, when not byte for byte (`None`: exactly).
pub fn compare(
    name: &str,
    argv: &[Vec<u8>],
    kvdb: &Reply,
    redis: &Reply,
) -> Option<Result<(), String>> {
    match name {
        "ZRANDMEMBER" => Some(zrandmember(argv, kvdb, redis)),
        "ZSCAN" => Some(zscan(argv, kvdb, redis)),
        // Nothing popped is a null array (RESP2 `*-1`), which redis-rs reads as the same nil
        // as `$-1`: the in-process comparison sees Redis answer `Nil`. The raw-wire
        // comparisons keep the difference.
        "ZMPOP" | "BZMPOP" | "BZPOPMIN" | "BZPOPMAX"
            if *kvdb == Reply::NilArray && *redis == Reply::Nil =>
        {
            Some(Ok(()))
        }
        _ => None,
    }
}

/// A member and its score as the reply spelled it (`None` without scores).
type Pick = (Vec<u8>, Option<String>);

/// The members (and scores) of a ZRANDMEMBER reply: flat in RESP2, pairs in RESP3.
fn picks(reply: &Reply, with_scores: bool) -> Result<Vec<Pick>, String> {
    let Reply::Array(items) = reply else {
        return Err("not an array".into());
    };
    let spell = |score: &Reply| match score {
        Reply::Bulk(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        Reply::Double(d) => Ok(kvdb::resp::format_double(*d)),
        other => Err(format!("a score is {other:?}")),
    };
    let mut out = Vec::new();
    let mut items = items.iter();
    while let Some(item) = items.next() {
        match (item, with_scores) {
            (Reply::Array(pair), true) => match pair.as_slice() {
                [Reply::Bulk(m), score] => out.push((m.clone(), Some(spell(score)?))),
                _ => return Err("a pair is not [member, score]".into()),
            },
            (Reply::Bulk(m), true) => {
                let score = items.next().ok_or("a member without its score")?;
                out.push((m.clone(), Some(spell(score)?)));
            }
            (Reply::Bulk(m), false) => out.push((m.clone(), None)),
            _ => return Err(format!("unexpected item {item:?}")),
        }
    }
    Ok(out)
}

fn zrandmember(argv: &[Vec<u8>], kvdb: &Reply, redis: &Reply) -> Result<(), String> {
    let Some(count) = argv.get(2) else {
        return match (kvdb, redis) {
            (Reply::Nil, Reply::Nil) | (Reply::Bulk(_), Reply::Bulk(_)) => Ok(()),
            _ => Err("one has a member, the other not".into()),
        };
    };
    let count: i64 = String::from_utf8_lossy(count)
        .parse()
        .map_err(|_| "a count that is not a number was accepted")?;
    let with_scores = argv.len() > 3;
    let k = picks(kvdb, with_scores).map_err(|e| format!("kvdb: {e}"))?;
    let r = picks(redis, with_scores).map_err(|e| format!("redis: {e}"))?;
    if k.len() != r.len() {
        return Err(format!("{} picks against {}", k.len(), r.len()));
    }
    if count > 0 {
        let distinct: BTreeMap<&[u8], ()> = k.iter().map(|(m, _)| (m.as_slice(), ())).collect();
        if distinct.len() != k.len() {
            return Err("kvdb repeated a member for a positive count".into());
        }
        if (k.len() as i64) < count {
            // The whole set on both sides.
            let (mut k, mut r) = (k, r);
            k.sort();
            r.sort();
            if k != r {
                return Err("different sets".into());
            }
        }
    }
    Ok(())
}

/// The cursor and the (member, score) pairs of a ZSCAN reply.
fn scan_page(reply: &Reply) -> Result<(Vec<u8>, Vec<Pick>), String> {
    let Reply::Array(parts) = reply else {
        return Err("not an array".into());
    };
    let [Reply::Bulk(cursor), items] = parts.as_slice() else {
        return Err("not [cursor, items]".into());
    };
    if cursor.is_empty() || !cursor.iter().all(u8::is_ascii_digit) {
        return Err("the cursor is not a decimal number".into());
    }
    let Reply::Array(flat) = items else {
        return Err("the items are not an array".into());
    };
    if flat.iter().any(|i| !matches!(i, Reply::Bulk(_))) {
        return Err("an item is not a bulk string".into());
    }
    Ok((cursor.clone(), picks(items, true)?))
}

fn zscan(argv: &[Vec<u8>], kvdb: &Reply, redis: &Reply) -> Result<(), String> {
    let (k_cursor, mut k) = scan_page(kvdb).map_err(|e| format!("kvdb: {e}"))?;
    let (r_cursor, mut r) = scan_page(redis).map_err(|e| format!("redis: {e}"))?;
    // Redis returned the whole set only when it went from cursor 0 to the end in one call.
    let from_start = argv.get(2).is_some_and(|c| c == b"0");
    if !(from_start && r_cursor == b"0") {
        return Ok(());
    }
    k.sort();
    r.sort();
    if k_cursor == b"0" {
        return if k == r {
            Ok(())
        } else {
            Err("different members".into())
        };
    }
    if k.iter().all(|pick| r.binary_search(pick).is_ok()) {
        Ok(())
    } else {
        Err("kvdb returned a member Redis does not have".into())
    }
}

mod scripted {
    //! Hand-written sequences: Redis's error texts, and what the random sequences keep away
    //! from (sorted sets past Redis's small encoding, where `-0` survives).

    use kvdb::Reply;

    use crate::oracle::Server;
    use crate::{Pair, TestResult, serial};

    fn err(text: &str) -> Reply {
        Reply::Error(text.to_owned())
    }

    #[test]
    fn sorted_set_error_texts_match_redis() -> TestResult {
        let _serial = serial();
        let server = Server::start()?;
        let mut p = Pair::new(&server)?;
        let not_compatible = "ERR GT, LT, and/or NX options at the same time are not compatible";
        p.expect(&["ZADD", "z", "1", "a", "2", "b"], Reply::Integer(2));
        p.expect(
            &["ZADD", "z", "XX", "NX", "1", "a"],
            err("ERR XX and NX options at the same time are not compatible"),
        );
        p.expect(&["ZADD", "z", "GT", "LT", "1", "a"], err(not_compatible));
        p.expect(&["ZADD", "z", "NX", "GT", "1", "a"], err(not_compatible));
        p.expect(
            &["ZADD", "z", "INCR", "1", "a", "2", "b"],
            err("ERR INCR option supports a single increment-element pair"),
        );
        p.expect(&["ZADD", "z", "1", "NX", "a"], err("ERR syntax error"));
        p.expect(&["ZADD", "z", "CH", "1"], err("ERR syntax error"));
        p.expect(
            &["ZADD", "z", "nan", "a"],
            err("ERR value is not a valid float"),
        );
        p.expect(&["ZADD", "z", "NX", "INCR", "1", "a"], Reply::Nil);
        p.expect(&["ZADD", "z", "inf", "a"], Reply::Integer(0));
        p.expect(
            &["ZINCRBY", "z", "-inf", "a"],
            err("ERR resulting score is not a number (NaN)"),
        );
        p.expect(
            &["ZADD", "z", "INCR", "-inf", "a"],
            err("ERR resulting score is not a number (NaN)"),
        );
        p.expect(
            &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
            err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
        );
        p.expect(
            &["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"],
            err("ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
        );
        p.expect(
            &["ZRANGEBYSCORE", "z", "x", "1"],
            err("ERR min or max is not a float"),
        );
        p.expect(
            &["ZLEXCOUNT", "z", "a", "+"],
            err("ERR min or max not valid string range item"),
        );
        p.expect(
            &["ZPOPMIN", "z", "-1"],
            err("ERR value is out of range, must be positive"),
        );
        p.expect(
            &["ZRANDMEMBER", "z", "-9223372036854775808"],
            err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
        );
        p.expect(
            &["ZRANDMEMBER", "z", "-4611686018427387904", "WITHSCORES"],
            err("ERR value is out of range"),
        );
        p.expect(&["ZSCAN", "z", "x"], err("ERR invalid cursor"));
        p.expect(&["ZSCAN", "z", "0", "COUNT", "0"], err("ERR syntax error"));
        // A missing key answers before ZSCAN reads its options.
        p.agree(&["ZSCAN", "missing", "0", "COUNT", "0"]);
        p.expect(&["SET", "s", "x"], Reply::ok());
        // Arguments are checked before the key's type.
        p.expect(
            &["ZCOUNT", "s", "x", "1"],
            err("ERR min or max is not a float"),
        );
        p.expect(
            &["ZCOUNT", "s", "1", "2"],
            err("WRONGTYPE Operation against a key holding the wrong kind of value"),
        );
        Ok(())
    }

    #[test]
    fn pops_of_several_keys_match_redis() -> TestResult {
        let _serial = serial();
        let server = Server::start()?;
        let mut p = Pair::new(&server)?;
        let syntax = || err("ERR syntax error");
        let numkeys = || err("ERR numkeys should be greater than 0");
        let count = || err("ERR count should be greater than 0");
        let wrongtype = || err("WRONGTYPE Operation against a key holding the wrong kind of value");
        p.expect(
            &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
            Reply::Integer(4),
        );
        p.expect(&["SET", "s", "x"], Reply::ok());
        // Argument errors in zmpopGenericCommand's order, then BZMPOP's timeout.
        p.expect(&["ZMPOP", "0", "z", "MIN"], numkeys());
        p.expect(&["ZMPOP", "abc", "z", "MIN"], numkeys());
        p.expect(&["ZMPOP", "3", "z", "MIN"], syntax());
        p.expect(&["ZMPOP", "9223372036854775807", "z", "MIN"], syntax());
        p.expect(&["ZMPOP", "1", "z", "MIN", "COUNT"], syntax());
        p.expect(
            &["ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1"],
            syntax(),
        );
        p.expect(&["ZMPOP", "1", "s", "MIN", "COUNT", "0"], count());
        p.expect(&["BZMPOP", "abc", "0", "z", "MIN"], numkeys());
        p.expect(&["BZMPOP", "abc", "1", "z", "FOO"], syntax());
        p.expect(&["BZMPOP", "abc", "1", "z", "MIN", "COUNT", "-1"], count());
        p.expect(
            &["BZMPOP", "abc", "1", "z", "MIN"],
            err("ERR timeout is not a float or out of range"),
        );
        p.expect(
            &["BZMPOP", "-1", "1", "z", "MIN"],
            err("ERR timeout is negative"),
        );
        p.expect(&["BZPOPMIN", "s", "1e400"], err("ERR timeout is negative"));
        // The first existing key decides: WRONGTYPE before a sorted set, none after one.
        p.expect(&["ZMPOP", "2", "nokey", "s", "MIN"], wrongtype());
        p.expect(&["BZPOPMIN", "nokey", "s", "z", "0"], wrongtype());
        p.expect(&["BZMPOP", "0", "2", "s", "z", "MAX"], wrongtype());
        p.agree(&["BZPOPMIN", "nokey", "z", "s", "0"]);
        p.agree(&["BZPOPMAX", "z", "0"]);
        p.agree(&["ZMPOP", "2", "nokey", "z", "max", "count", "1"]);
        p.agree(&[
            "BZMPOP",
            "0",
            "1",
            "z",
            "MIN",
            "COUNT",
            "9223372036854775807",
        ]);
        p.agree(&["EXISTS", "z"]);
        // Nothing to pop: a nil array (seen here as redis-rs's nil, see [`super::compare`]),
        // after the timeout for the blocking ones.
        p.agree(&["ZMPOP", "1", "z", "MIN"]);
        p.agree(&["BZPOPMIN", "z", "nokey", "0.01"]);
        p.agree(&["BZMPOP", "0.01", "1", "z", "MIN"]);
        // Inside MULTI they never block.
        p.expect(&["MULTI"], Reply::ok());
        p.agree(&["BZPOPMAX", "z", "0"]);
        p.agree(&["ZADD", "z", "1", "a"]);
        p.agree(&["BZMPOP", "0", "1", "z", "MIN", "COUNT", "2"]);
        p.agree(&["BZMPOP", "0", "1", "z", "MIN", "COUNT", "2"]);
        let (kvdb, redis) = p.both(&["EXEC"]);
        assert_eq!(redis_rs_nils(kvdb), redis);
        Ok(())
    }

    /// `reply` with its null arrays turned into nils, as redis-rs reads them.
    fn redis_rs_nils(reply: Reply) -> Reply {
        match reply {
            Reply::NilArray => Reply::Nil,
            Reply::Array(items) => Reply::Array(items.into_iter().map(redis_rs_nils).collect()),
            other => other,
        }
    }

    #[test]
    fn negative_zero_survives_in_sorted_sets_past_the_small_encoding() -> TestResult {
        let _serial = serial();
        let server = Server::start()?;
        let mut p = Pair::new(&server)?;
        // 130 members: Redis converts to a skiplist at the 129th, which keeps -0 from then on.
        let mut zadd = vec!["ZADD".to_owned(), "big".to_owned()];
        for i in 0..130 {
            zadd.push("-0".to_owned());
            zadd.push(format!("m{i:03}"));
        }
        let zadd: Vec<&str> = zadd.iter().map(String::as_str).collect();
        p.expect(&zadd, Reply::Integer(130));
        p.agree(&["ZRANGE", "big", "0", "-1", "WITHSCORES"]);
        p.agree(&["ZADD", "big", "-0", "a", "5", "m000"]);
        p.agree(&["ZADD", "big", "-0", "m000"]);
        p.agree(&["ZINCRBY", "big", "-0", "new"]);
        p.agree(&["ZSCORE", "big", "new"]);
        // Stores: by rank the size is known up front; by score Redis converts on the way.
        for store in [
            &["ZRANGESTORE", "d1", "big", "0", "-1"][..],
            &["ZRANGESTORE", "d2", "big", "-inf", "+inf", "BYSCORE"],
            &["ZRANGESTORE", "d3", "big", "+inf", "-inf", "BYSCORE", "REV"],
            &["ZRANGESTORE", "d4", "big", "0", "10"],
        ] {
            p.agree(store);
            p.agree(&["ZRANGE", store[1], "0", "-1", "WITHSCORES"]);
        }
        // A member longer than 64 bytes.
        let long = "x".repeat(65);
        p.agree(&["ZADD", "long", "-0", "a", "-0", &long, "-0", "b"]);
        p.agree(&["ZRANGE", "long", "0", "-1", "WITHSCORES"]);
        Ok(())
    }
}
