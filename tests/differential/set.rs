//! Differential test generator and comparison rules for sets.
//!
//! [`COMMANDS`] lists the commands with their weights; [`command`] draws the arguments of one.
//! Keys come from [`crate::generate::key`], shared with the string commands, so WRONGTYPE and
//! the keyspace commands meet these types, or from keys of this family's own (`set:0`, `set:1`,
//! and `set:2` mostly written by the STORE commands), where sets grow large enough for the
//! algebra and SSCAN to have something to work on.
//!
//! Randomness: SRANDMEMBER only reads, so its replies are compared by shape (and as wholes
//! when they must be the whole set). SPOP also *removes* its random picks, after which the two
//! servers would hold different sets; so the random sequences pop only from [`POP_KEY`], a key
//! no other generator touches and whose only possible member is [`POP_MEMBER`], where every
//! pop is deterministic. (The member is `extra` because the sequence's arity mutation appends
//! that argument: `SADD` to the key with it stays a one-member set.) Popping from sets of many
//! members is checked by the scripted test at the end, which resynchronizes the servers after
//! each random pop.

use fastrand::Rng;
use kvdb::Reply;

use crate::generate::{element_scan_options, key, pick, text, value};

/// Commands of this family and their relative weights.
#[rustfmt::skip]
pub const COMMANDS: &[(&str, u32)] = &[
    ("SADD", 20), ("SREM", 4), ("SMEMBERS", 3), ("SISMEMBER", 2), ("SMISMEMBER", 2),
    ("SCARD", 2), ("SPOP", 4), ("SRANDMEMBER", 4), ("SMOVE", 4), ("SINTER", 2),
    ("SINTERCARD", 3), ("SUNION", 2), ("SDIFF", 2), ("SINTERSTORE", 2), ("SUNIONSTORE", 2),
    ("SDIFFSTORE", 2), ("SSCAN", 4),
];

/// The only key SPOP pops from in the random sequences (see the module comment).
const POP_KEY: &str = "set:pop";
/// The only member [`POP_KEY`] can hold.
const POP_MEMBER: &str = "extra";
/// A key nothing ever writes: SRANDMEMBER's extreme counts are safe on it (Redis would build
/// 2^63 picks for an existing set).
const NEVER_WRITTEN: &str = "set:never";
/// An SSCAN COUNT above any set's size in a sequence: the first call returns everything on
/// both servers, which makes the page comparable as a whole.
const WHOLE_SCAN_COUNT: u64 = 100_000;

/// A key for a set command to write: a shared key (where strings and the other families
/// meet sets), or one of a few keys only this family uses, so that sets live long enough to
/// grow and overlap instead of mostly meeting WRONGTYPE.
fn set_key(rng: &mut Rng) -> Vec<u8> {
    if rng.u32(0..100) < 35 {
        key(rng)
    } else {
        format!("set:{}", rng.u32(0..2)).into_bytes()
    }
}

/// A destination for the STORE commands: their results are often empty, which deletes the
/// destination, so they mostly write to shared keys and to a key of their own, and only
/// sometimes to the keys where sets are grown.
fn store_key(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..50 => key(rng),
        50..80 => text("set:2"),
        _ => set_key(rng),
    }
}

/// A key to read from or to remove from: a [`set_key`], sometimes [`POP_KEY`] or the STORE
/// commands' own destination.
fn source(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..12 => text(POP_KEY),
        12..22 => text("set:2"),
        _ => set_key(rng),
    }
}

/// A set member: mostly from a small pool (so sets overlap and members repeat), integers
/// (Redis encodes all-integer sets as intsets), empty and binary members, or any value.
fn member(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..65 => text(pick(
            rng,
            &["a", "b", "c", "d", "e", "1", "2", "3", "10", "-5", "extra"],
        )),
        65..77 => rng.i64(-5..5).to_string().into_bytes(),
        77..82 => text(pick(
            rng,
            &["", " ", "0", "-0", "01", "9223372036854775808", "1.5"],
        )),
        82..86 => pick(rng, &[b"\x00\xff".to_vec(), b"a\r\nb".to_vec()]),
        _ => value(rng),
    }
}

fn members(rng: &mut Rng, max: usize) -> Vec<Vec<u8>> {
    (0..rng.usize(1..=max)).map(|_| member(rng)).collect()
}

/// A count for SPOP on [`POP_KEY`]: valid, zero, beyond the size, or invalid.
fn pop_count(rng: &mut Rng) -> Vec<u8> {
    text(pick(
        rng,
        &[
            "0",
            "1",
            "2",
            "5",
            "100000",
            "9223372036854775807",
            "-1",
            "abc",
            "",
            "1.5",
            "+1",
            "9223372036854775808",
            "-9223372036854775808",
        ],
    ))
}

/// SPOP counts that pop nothing or everything (from the sets of a sequence), or are
/// rejected: the only ones used on shared keys.
const SAFE_POP_COUNTS: &[&str] = &["0", "100000", "9223372036854775807", "-1", "abc", ""];

/// A count for SRANDMEMBER on a key that may hold a set: bounded negative counts only.
fn random_count(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..40 => rng.i64(0..12).to_string().into_bytes(),
        40..70 => rng.i64(-12..0).to_string().into_bytes(),
        70..80 => text(pick(rng, &["100", "-100", "100000", "9223372036854775807"])),
        _ => text(pick(
            rng,
            &[
                "abc",
                "",
                "1.5",
                "+1",
                "01",
                "-0",
                "9223372036854775808",
                "-9223372036854775808",
                "-9223372036854775809",
            ],
        )),
    }
}

/// A MATCH pattern over members.
fn member_pattern(rng: &mut Rng) -> Vec<u8> {
    text(pick(
        rng,
        &[
            "*", "**", "a*", "?", "[a-c]", "[c-a]", "1*", "*0", "", "[", "e*", "\\a", "*e*",
            "[^a]*", "-*", "?0", "[0-9]", "*\\",
        ],
    ))
}

/// SINTERCARD's arguments: numkeys, keys, options.
fn sintercard(rng: &mut Rng) -> Vec<Vec<u8>> {
    let keys: Vec<Vec<u8>> = (0..rng.usize(1..4)).map(|_| source(rng)).collect();
    let numkeys = match rng.u32(0..100) {
        0..80 => keys.len().to_string().into_bytes(),
        80..86 => (keys.len() + 1).to_string().into_bytes(),
        // Fewer than given: the rest are read as options.
        86..90 => keys.len().saturating_sub(1).to_string().into_bytes(),
        _ => text(pick(
            rng,
            &[
                "0",
                "-1",
                "abc",
                "",
                "9223372036854775807",
                "9223372036854775808",
            ],
        )),
    };
    let mut out = vec![numkeys];
    out.extend(keys);
    for _ in 0..rng.usize(0..3) {
        match rng.u32(0..10) {
            0..7 => {
                out.push(text(pick(rng, &["LIMIT", "limit"])));
                out.push(text(pick(
                    rng,
                    &[
                        "0",
                        "1",
                        "2",
                        "3",
                        "100",
                        "-1",
                        "abc",
                        "9223372036854775808",
                    ],
                )));
            }
            7 => out.push(text("LIMIT")),
            _ => out.push(text("FOO")),
        }
    }
    out
}

/// The arguments (after the name) of command `name`.
pub fn command(rng: &mut Rng, name: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    match name {
        "SADD" => {
            if rng.u32(0..100) < 15 {
                out.push(text(POP_KEY));
                out.extend((0..rng.usize(1..3)).map(|_| text(POP_MEMBER)));
            } else {
                out.push(set_key(rng));
                out.extend(members(rng, 8));
            }
        }
        "SREM" | "SMISMEMBER" => {
            out.push(source(rng));
            out.extend(members(rng, 4));
        }
        "SMEMBERS" | "SCARD" => out.push(source(rng)),
        "SISMEMBER" => {
            out.push(source(rng));
            out.push(member(rng));
        }
        "SPOP" => {
            // Any SPOP on the one-member key. On shared keys a syntax error whose arity
            // mutation (dropping the last argument) pops nothing or everything: the sequence
            // never drops two arguments, so a shared set is never popped at random.
            if rng.u32(0..100) < 80 {
                out.push(text(POP_KEY));
                if rng.bool() {
                    out.push(pop_count(rng));
                }
            } else {
                out.push(set_key(rng));
                out.push(text(pick(rng, SAFE_POP_COUNTS)));
                out.push(text("extra"));
            }
        }
        "SRANDMEMBER" => {
            if rng.u32(0..100) < 5 {
                out.push(text(NEVER_WRITTEN));
                out.push(text(pick(
                    rng,
                    &["-9223372036854775807", "-2147483649", "-4294967296"],
                )));
            } else {
                out.push(source(rng));
                if rng.u32(0..100) < 75 {
                    out.push(random_count(rng));
                }
            }
        }
        "SMOVE" => {
            out.push(source(rng));
            // Into the pop key, only its one member.
            if rng.u32(0..100) < 10 {
                out.push(text(POP_KEY));
                out.push(text(POP_MEMBER));
            } else {
                out.push(set_key(rng));
                out.push(member(rng));
            }
        }
        "SINTER" | "SUNION" | "SDIFF" => {
            out.extend((0..rng.usize(1..5)).map(|_| source(rng)));
        }
        "SINTERSTORE" | "SUNIONSTORE" | "SDIFFSTORE" => {
            out.push(store_key(rng));
            out.extend((0..rng.usize(1..5)).map(|_| source(rng)));
        }
        "SINTERCARD" => out = sintercard(rng),
        "SSCAN" => {
            out.push(source(rng));
            out.push(if rng.u32(0..100) < 60 {
                text("0")
            } else {
                crate::generate::cursor(rng)
            });
            out.extend(element_scan_options(
                rng,
                member_pattern,
                &[("TYPE", "set")],
            ));
        }
        _ => {}
    }
    out
}

/// The items of an aggregate reply, and how to make another of the same kind.
type Aggregate<'a> = (&'a [Reply], fn(Vec<Reply>) -> Reply);

/// The items of an array or set reply, with a constructor for the same kind.
fn items(reply: &Reply) -> Option<Aggregate<'_>> {
    match reply {
        Reply::Array(items) => Some((items, Reply::Array)),
        Reply::Set(items) => Some((items, Reply::Set)),
        _ => None,
    }
}

/// The reply with its items sorted (same kind of aggregate), or the reply itself.
fn sorted(reply: &Reply) -> Reply {
    match items(reply) {
        Some((items, make)) => {
            let mut items = items.to_vec();
            items.sort_by(order);
            make(items)
        }
        None => reply.clone(),
    }
}

fn order(a: &Reply, b: &Reply) -> std::cmp::Ordering {
    match (a, b) {
        (Reply::Bulk(a), Reply::Bulk(b)) => a.cmp(b),
        _ => format!("{a:?}").cmp(&format!("{b:?}")),
    }
}

/// Equal as multisets, and of the same kind.
fn same_members(kvdb: &Reply, redis: &Reply) -> Result<(), String> {
    if sorted(kvdb) == sorted(redis) {
        Ok(())
    } else {
        Err("replies differ (compared as unordered)".into())
    }
}

/// Whether every item of an aggregate reply is distinct.
fn distinct(items: &[Reply]) -> bool {
    let mut seen = std::collections::HashSet::new();
    items.iter().all(|item| seen.insert(format!("{item:?}")))
}

/// SRANDMEMBER: a single pick may differ; with a count, the kinds and lengths must agree,
/// picks must be distinct for a positive count, and a positive count not met must have
/// returned the whole set on both sides.
fn srandmember(argv: &[Vec<u8>], kvdb: &Reply, redis: &Reply) -> Result<(), String> {
    let (Some((k, _)), Some((r, _))) = (items(kvdb), items(redis)) else {
        return match (kvdb, redis) {
            (Reply::Bulk(_), Reply::Bulk(_)) => Ok(()),
            _ => (kvdb == redis)
                .then_some(())
                .ok_or_else(|| "replies differ".to_owned()),
        };
    };
    if std::mem::discriminant(kvdb) != std::mem::discriminant(redis) {
        return Err("different aggregate kinds".into());
    }
    if k.len() != r.len() {
        return Err("different numbers of members".into());
    }
    let count = argv
        .get(2)
        .and_then(|c| std::str::from_utf8(c).ok())
        .and_then(|c| c.parse::<i64>().ok())
        .unwrap_or(0);
    if count >= 0 {
        if !distinct(k) {
            return Err("kvdb repeated a member for a positive count".into());
        }
        if (k.len() as u64) < count.unsigned_abs() {
            return same_members(kvdb, redis);
        }
    }
    Ok(())
}

/// The last COUNT option of an SSCAN, if well formed.
fn sscan_count(argv: &[Vec<u8>]) -> Option<u64> {
    let options = argv.get(3..)?;
    options
        .chunks(2)
        .filter(|pair| pair.len() == 2 && pair[0].eq_ignore_ascii_case(b"COUNT"))
        .filter_map(|pair| std::str::from_utf8(&pair[1]).ok()?.parse().ok())
        .next_back()
}

/// The MATCH pattern of an SSCAN, if any.
fn sscan_pattern(argv: &[Vec<u8>]) -> Option<&[u8]> {
    argv.get(3..)?
        .chunks(2)
        .filter(|pair| pair.len() == 2 && pair[0].eq_ignore_ascii_case(b"MATCH"))
        .map(|pair| pair[1].as_slice())
        .next_back()
}

/// `[cursor, [members]]`, checked for shape.
fn scan_page(reply: &Reply) -> Result<(&[u8], &[Reply]), String> {
    let Reply::Array(parts) = reply else {
        return Err("not an array".into());
    };
    let [Reply::Bulk(cursor), Reply::Array(members)] = parts.as_slice() else {
        return Err("not [cursor, [members]]".into());
    };
    if cursor.is_empty() || !cursor.iter().all(u8::is_ascii_digit) {
        return Err("the cursor is not a decimal number".into());
    }
    if !members.iter().all(|m| matches!(m, Reply::Bulk(_))) {
        return Err("a member is not a bulk string".into());
    }
    Ok((cursor, members))
}

/// SSCAN: cursors are implementation details, so one page is checked for its shape and for
/// MATCH; a first call whose COUNT exceeds any set returns the whole (filtered) set on both
/// servers, and is compared as such.
fn sscan(argv: &[Vec<u8>], kvdb: &Reply, redis: &Reply) -> Result<(), String> {
    let (k_cursor, k_members) = scan_page(kvdb).map_err(|e| format!("kvdb's SSCAN: {e}"))?;
    let (r_cursor, _) = scan_page(redis).map_err(|e| format!("redis's SSCAN: {e}"))?;
    if let Some(pattern) = sscan_pattern(argv) {
        let matches = |m: &Reply| match m {
            Reply::Bulk(m) => pattern == b"*" || kvdb::glob::glob_match(pattern, m, false),
            _ => false,
        };
        if !k_members.iter().all(matches) {
            return Err("kvdb returned a member that does not match".into());
        }
    }
    if !distinct(k_members) {
        return Err("kvdb returned a member twice in one page".into());
    }
    let whole = argv.get(2).is_some_and(|c| c == b"0")
        && sscan_count(argv).is_some_and(|c| c >= WHOLE_SCAN_COUNT);
    if whole {
        if k_cursor != b"0" || r_cursor != b"0" {
            return Err("a scan with a huge COUNT did not finish at once".into());
        }
        let (_, r_members) = scan_page(redis)?;
        return same_members(
            &Reply::Array(k_members.to_vec()),
            &Reply::Array(r_members.to_vec()),
        );
    }
    Ok(())
}

/// How replies of `name` are compared, when not byte for byte (`None`: exactly).
pub fn compare(
    name: &str,
    argv: &[Vec<u8>],
    kvdb: &Reply,
    redis: &Reply,
) -> Option<Result<(), String>> {
    match name {
        // Unordered sets; SPOP's picks here are all deterministic (see the module comment).
        "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF" | "SPOP" => Some(same_members(kvdb, redis)),
        "SRANDMEMBER" => Some(srandmember(argv, kvdb, redis)),
        "SSCAN" => Some(sscan(argv, kvdb, redis)),
        _ => None,
    }
}

mod scripted {
    //! Sequences whose random effects (SPOP from sets of many members) the generator cannot
    //! produce: each random pop is checked for shape, then the servers are made equal again.

    use kvdb::Reply;

    use crate::oracle::Server;
    use crate::{Pair, TestResult, serial};

    fn bulks(reply: &Reply) -> Vec<Vec<u8>> {
        let (Reply::Array(items) | Reply::Set(items)) = reply else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|i| match i {
                Reply::Bulk(b) => Some(b.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn popping_from_sets_of_many_members_matches_redis() -> TestResult {
        let _serial = serial();
        let server = Server::start()?;
        let mut p = Pair::new(&server)?;
        let members: Vec<String> = (0..40).map(|i| format!("m{i}")).collect();
        let numbers: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        for (key, members) in [("s", &members), ("n", &numbers)] {
            for count in ["1", "3", "13", "20", "39"] {
                let mut sadd = vec!["SADD", key];
                sadd.extend(members.iter().map(String::as_str));
                p.expect(&["DEL", key], Reply::Integer(0));
                p.expect(&sadd, Reply::Integer(40));
                let (k, r) = p.both(&["SPOP", key, count]);
                let n: usize = count.parse()?;
                let (k, r) = (bulks(&k), bulks(&r));
                assert_eq!((k.len(), r.len()), (n, n), "SPOP {key} {count}");
                let mut unique = k.clone();
                unique.sort();
                unique.dedup();
                assert_eq!(unique.len(), n, "kvdb popped a member twice");
                for popped in &k {
                    assert!(members.iter().any(|m| m.as_bytes() == popped.as_slice()));
                }
                p.expect(&["SCARD", key], Reply::Integer(40 - n as i64));
                // kvdb's popped members are gone from kvdb.
                for popped in &k {
                    let reply = p.kvdb.execute(&[
                        b"SISMEMBER".as_slice(),
                        key.as_bytes(),
                        popped.as_slice(),
                    ]);
                    assert_eq!(reply, Reply::Integer(0));
                }
                p.expect(&["DEL", key], Reply::Integer(1));
            }
            // Popping as many as there are, or more, empties the set the same way.
            let mut sadd = vec!["SADD", key];
            sadd.extend(members.iter().map(String::as_str));
            p.expect(&sadd, Reply::Integer(40));
            p.agree(&["SPOP", key, "40"]);
            p.expect(&["EXISTS", key], Reply::Integer(0));
            p.expect(&sadd, Reply::Integer(40));
            p.agree(&["SPOP", key, "1000"]);
            p.expect(&["EXISTS", key], Reply::Integer(0));
            // One at a time until empty: replies differ, sizes agree.
            p.expect(&sadd[..5], Reply::Integer(3));
            for left in (0..3).rev() {
                let (k, r) = p.both(&["SPOP", key]);
                assert!(matches!((&k, &r), (Reply::Bulk(_), Reply::Bulk(_))));
                p.expect(&["SCARD", key], Reply::Integer(left));
            }
            p.expect(&["SPOP", key], Reply::Nil);
        }
        Ok(())
    }

    #[test]
    fn set_error_texts_match_redis() -> TestResult {
        let _serial = serial();
        let server = Server::start()?;
        let mut p = Pair::new(&server)?;
        let err = |text: &str| Reply::Error(format!("ERR {text}"));
        let wrongtype = Reply::Error(
            "WRONGTYPE Operation against a key holding the wrong kind of value".into(),
        );
        p.expect(&["SADD", "s", "a", "b", "c"], Reply::Integer(3));
        p.expect(&["SET", "str", "v"], Reply::ok());
        for argv in [
            &["SPOP", "s", "-1"][..],
            &["SPOP", "s", "abc"],
            &["SPOP", "nokey", "-1"],
            &["SPOP", "str", "-1"],
        ] {
            p.expect(argv, err("value is out of range, must be positive"));
        }
        p.expect(
            &["SRANDMEMBER", "str", "-9223372036854775808"],
            err("value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
        );
        p.expect(&["SRANDMEMBER", "s", "1", "2"], err("syntax error"));
        p.expect(&["SPOP", "str", "1", "2"], err("syntax error"));
        for numkeys in ["0", "-1", "abc", "9223372036854775808"] {
            p.expect(
                &["SINTERCARD", numkeys, "s"],
                err("numkeys should be greater than 0"),
            );
        }
        p.expect(
            &["SINTERCARD", "3", "s", "s"],
            err("Number of keys can't be greater than number of args"),
        );
        p.expect(&["SINTERCARD", "1", "s", "LIMIT"], err("syntax error"));
        p.expect(&["SINTERCARD", "1", "s", "s"], err("syntax error"));
        for limit in ["-1", "abc"] {
            p.expect(
                &["SINTERCARD", "1", "str", "LIMIT", limit],
                err("LIMIT can't be negative"),
            );
        }
        p.expect(&["SINTERCARD", "2", "nokey", "str"], wrongtype.clone());
        p.expect(
            &["SINTERCARD", "1", "s", "LIMIT", "2", "limit", "0"],
            Reply::Integer(3),
        );
        p.expect(&["SINTER", "nokey", "str"], wrongtype.clone());
        p.expect(&["SDIFF", "nokey", "str"], wrongtype.clone());
        p.expect(&["SINTERSTORE", "d", "nokey", "str"], wrongtype.clone());
        p.expect(&["SMOVE", "nokey", "str", "a"], Reply::Integer(0));
        p.expect(&["SMOVE", "s", "str", "zz"], wrongtype.clone());
        p.expect(&["SSCAN", "str", "abc"], err("invalid cursor"));
        p.expect(&["SSCAN", "str", "0", "FOO"], wrongtype);
        p.agree(&["SSCAN", "nokey", "0", "COUNT", "0"]);
        p.expect(&["SSCAN", "s", "0", "COUNT", "0"], err("syntax error"));
        p.expect(&["SSCAN", "s", "0", "TYPE", "set"], err("syntax error"));
        p.expect(
            &["SSCAN", "s", "0", "COUNT", "abc"],
            err("value is not an integer or out of range"),
        );
        // The destination loses its TTL; an empty result deletes it.
        p.expect(&["SET", "d", "v", "EX", "1000"], Reply::ok());
        p.expect(&["SUNIONSTORE", "d", "s", "nokey"], Reply::Integer(3));
        p.expect(&["TTL", "d"], Reply::Integer(-1));
        p.expect(&["SDIFFSTORE", "d", "d", "s"], Reply::Integer(0));
        p.expect(&["EXISTS", "d"], Reply::Integer(0));
        Ok(())
    }
}
