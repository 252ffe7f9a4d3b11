//! Differential test generator and comparison rules for hashes.
//!
//! [`COMMANDS`] lists the commands with their weights; [`command`] draws the arguments of one.
//! Keys come from [`crate::generate::key`], shared with the string commands, so WRONGTYPE and
//! the keyspace commands meet these types.
//!
//! Order: Redis keeps small hashes in insertion order and large ones in its dict's order;
//! kvdb answers in slot order. HGETALL, HKEYS and HVALS are compared as multisets (HGETALL as
//! a multiset of field-value pairs).
//!
//! Randomness: HRANDFIELD only reads, so its replies are compared by shape: the same number
//! of picks, distinct picks for a positive count, the same value wherever kvdb repeats a
//! field, and the whole hash on both sides when a positive count exceeds it. A negative count
//! makes Redis build that many picks, so the huge ones only go to [`NEVER_WRITTEN`].
//!
//! HSCAN pages depend on each server's layout: one page is checked for its shape and MATCH,
//! and a first call with a COUNT above any hash's size returns the whole hash on both
//! servers, which is compared as such.

use fastrand::Rng;
use kvdb::Reply;

use crate::generate::{element_scan_options, float_increment, increment, key, pick, text, value};

/// Commands of this family and their relative weights.
#[rustfmt::skip]
pub const COMMANDS: &[(&str, u32)] = &[
    ("HSET", 12), ("HSETNX", 3), ("HGET", 4), ("HMSET", 3), ("HMGET", 3), ("HGETALL", 3),
    ("HDEL", 6), ("HEXISTS", 2), ("HLEN", 2), ("HSTRLEN", 2), ("HKEYS", 2), ("HVALS", 2),
    ("HINCRBY", 5), ("HINCRBYFLOAT", 5), ("HRANDFIELD", 5), ("HSCAN", 4),
];

/// A key nothing ever writes: HRANDFIELD's huge negative counts are safe on it (Redis would
/// build that many picks for an existing hash).
const NEVER_WRITTEN: &str = "hash:never";
/// An HSCAN COUNT above any hash's size in a sequence: the first call returns everything on
/// both servers, which makes the page comparable as a whole.
const WHOLE_SCAN_COUNT: u64 = 100_000;

/// A field: mostly from a small pool (so fields are overwritten and deleted), counters, empty
/// and binary fields, one longer than kvdb's inline names, or any value.
fn field(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..55 => text(pick(
            rng,
            &[
                "a", "b", "c", "d", "e", "n", "f", "1", "2", "10", "-5", "extra",
            ],
        )),
        55..70 => rng.i64(-10..10).to_string().into_bytes(),
        70..80 => text(pick(
            rng,
            &[
                "",
                " ",
                "0",
                "01",
                "1.5",
                "a field name longer than twenty-two bytes",
            ],
        )),
        80..85 => pick(rng, &[b"\x00\xff".to_vec(), b"a\r\nb".to_vec()]),
        _ => value(rng),
    }
}

fn fields(rng: &mut Rng, max: usize) -> Vec<Vec<u8>> {
    (0..rng.usize(1..=max)).map(|_| field(rng)).collect()
}

/// A field for the counters: mostly the ones HINCRBY and HINCRBYFLOAT keep numeric.
fn counter_field(rng: &mut Rng) -> Vec<u8> {
    if rng.u32(0..100) < 60 {
        text(pick(rng, &["n", "1", "f"]))
    } else {
        field(rng)
    }
}

/// Field-value pairs for HSET / HMSET; now and then one value short (an arity error).
fn pairs(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..rng.usize(1..5) {
        out.push(field(rng));
        out.push(value(rng));
    }
    if rng.u32(0..100) < 5 {
        out.pop();
    }
    out
}

/// An HRANDFIELD count for a key that may hold a hash: bounded negative counts only (and
/// out-of-range ones that Redis refuses before looking at the key).
fn random_count(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..40 => rng.i64(0..12).to_string().into_bytes(),
        40..70 => rng.i64(-12..0).to_string().into_bytes(),
        70..80 => text(pick(
            rng,
            &[
                "100",
                "-100",
                "100000",
                "9223372036854775807",
                "4611686018427387904",
            ],
        )),
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

/// A MATCH pattern over fields.
fn field_pattern(rng: &mut Rng) -> Vec<u8> {
    text(pick(
        rng,
        &[
            "*", "**", "a*", "?", "[a-c]", "[c-a]", "1*", "*0", "", "[", "e*", "\\a", "*e*",
            "[^a]*", "-*", "?0", "[0-9]", "*\\", "a field*",
        ],
    ))
}

/// The arguments (after the name) of command `name`.
pub fn command(rng: &mut Rng, name: &str) -> Vec<Vec<u8>> {
    let mut out = vec![key(rng)];
    match name {
        "HSET" | "HMSET" => out.extend(pairs(rng)),
        "HSETNX" => {
            out.push(field(rng));
            out.push(value(rng));
        }
        "HGET" | "HEXISTS" | "HSTRLEN" => out.push(field(rng)),
        "HMGET" | "HDEL" => out.extend(fields(rng, 4)),
        "HINCRBY" => {
            out.push(counter_field(rng));
            out.push(increment(rng));
        }
        "HINCRBYFLOAT" => {
            out.push(counter_field(rng));
            out.push(float_increment(rng));
        }
        "HRANDFIELD" => {
            if rng.u32(0..100) < 5 {
                out = vec![
                    text(NEVER_WRITTEN),
                    text(pick(
                        rng,
                        &[
                            "-9223372036854775807",
                            "-4611686018427387903",
                            "-4294967296",
                        ],
                    )),
                ];
                if rng.bool() {
                    out.push(text("WITHVALUES"));
                }
            } else if rng.u32(0..100) < 80 {
                out.push(random_count(rng));
                match rng.u32(0..10) {
                    0..5 => out.push(text(pick(rng, &["WITHVALUES", "withvalues"]))),
                    5 => out.push(text(pick(rng, &["WITHVALUE", "FOO"]))),
                    _ => {}
                }
            }
        }
        "HSCAN" => {
            out.push(if rng.u32(0..100) < 60 {
                text("0")
            } else {
                crate::generate::cursor(rng)
            });
            out.extend(element_scan_options(
                rng,
                field_pattern,
                &[("TYPE", "hash"), ("NOVALUES", "hash")],
            ));
        }
        // HLEN, HKEYS, HVALS, HGETALL: the key only.
        _ => {}
    }
    out
}

fn order(a: &Reply, b: &Reply) -> std::cmp::Ordering {
    match (a, b) {
        (Reply::Bulk(a), Reply::Bulk(b)) => a.cmp(b),
        _ => format!("{a:?}").cmp(&format!("{b:?}")),
    }
}

/// An array or set reply with its items sorted, or the reply itself.
fn sorted(reply: &Reply) -> Reply {
    match reply {
        Reply::Array(items) | Reply::Set(items) => {
            let mut items = items.clone();
            items.sort_by(order);
            Reply::Array(items)
        }
        other => other.clone(),
    }
}

/// The field-value pairs of an HGETALL-like reply: a map (RESP3), or a flat array of fields
/// and values (RESP2); sorted.
fn sorted_pairs(reply: &Reply) -> Option<Vec<(Reply, Reply)>> {
    let mut pairs: Vec<(Reply, Reply)> = match reply {
        Reply::Map(entries) => entries.clone(),
        Reply::Array(items) if items.len() % 2 == 0 => items
            .chunks_exact(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect(),
        _ => return None,
    };
    pairs.sort_by(|a, b| order(&a.0, &b.0).then_with(|| order(&a.1, &b.1)));
    Some(pairs)
}

/// HGETALL: the same kind of reply with the same pairs, in any order.
fn same_pairs(kvdb: &Reply, redis: &Reply) -> Result<(), String> {
    if std::mem::discriminant(kvdb) != std::mem::discriminant(redis) {
        return Err("different reply kinds".into());
    }
    match (sorted_pairs(kvdb), sorted_pairs(redis)) {
        (Some(k), Some(r)) if k == r => Ok(()),
        (Some(_), Some(_)) => Err("replies differ (compared as unordered pairs)".into()),
        _ => Err("not a map or a flat array of pairs".into()),
    }
}

/// HKEYS, HVALS: equal as multisets.
fn same_items(kvdb: &Reply, redis: &Reply) -> Result<(), String> {
    if sorted(kvdb) == sorted(redis) {
        Ok(())
    } else {
        Err("replies differ (compared as unordered)".into())
    }
}

/// One HRANDFIELD pick: the field, and its value with WITHVALUES.
type Pick = (Vec<u8>, Option<Vec<u8>>);

/// The picks of an HRANDFIELD reply with a count: bulk fields, flat field-value pairs
/// (RESP2), or `[field, value]` arrays (RESP3).
fn picks(reply: &Reply, with_values: bool) -> Result<Vec<Pick>, String> {
    let Reply::Array(items) = reply else {
        return Err("not an array".into());
    };
    let bulk = |r: &Reply| match r {
        Reply::Bulk(b) => Ok(b.clone()),
        _ => Err("an item is not a bulk string".to_owned()),
    };
    if !with_values {
        return items.iter().map(|i| Ok((bulk(i)?, None))).collect();
    }
    let nested = items.iter().all(|i| matches!(i, Reply::Array(_)));
    if nested && !items.is_empty() {
        return items
            .iter()
            .map(|i| match i {
                Reply::Array(pair) if pair.len() == 2 => {
                    Ok((bulk(&pair[0])?, Some(bulk(&pair[1])?)))
                }
                _ => Err("a pick is not [field, value]".to_owned()),
            })
            .collect();
    }
    if items.len() % 2 != 0 {
        return Err("an odd number of items for field-value pairs".into());
    }
    items
        .chunks_exact(2)
        .map(|p| Ok((bulk(&p[0])?, Some(bulk(&p[1])?))))
        .collect()
}

/// HRANDFIELD: a single pick may differ; with a count, the numbers of picks and their shape
/// must agree, picks must be distinct for a positive count, a field kvdb picks twice must
/// carry the same value, and a positive count not met must have returned the whole hash.
fn hrandfield(argv: &[Vec<u8>], kvdb: &Reply, redis: &Reply) -> Result<(), String> {
    if argv.len() < 3 {
        return match (kvdb, redis) {
            (Reply::Bulk(_), Reply::Bulk(_)) => Ok(()),
            _ if kvdb == redis => Ok(()),
            _ => Err("replies differ".into()),
        };
    }
    let with_values = argv.len() == 4;
    let k = picks(kvdb, with_values).map_err(|e| format!("kvdb's HRANDFIELD: {e}"))?;
    let r = picks(redis, with_values).map_err(|e| format!("redis's HRANDFIELD: {e}"))?;
    if k.len() != r.len() {
        return Err("different numbers of picks".into());
    }
    // Nested pairs in one reply and flat ones in the other would be a different shape.
    if let (Reply::Array(a), Reply::Array(b)) = (kvdb, redis)
        && a.len() != b.len()
    {
        return Err("different reply shapes".into());
    }
    let mut values = std::collections::HashMap::new();
    for (field, value) in &k {
        if values
            .insert(field, value)
            .is_some_and(|seen| seen != value)
        {
            return Err("kvdb gave one field two values".into());
        }
    }
    let count = std::str::from_utf8(&argv[2])
        .ok()
        .and_then(|c| c.parse::<i64>().ok())
        .unwrap_or(0);
    if count >= 0 {
        if values.len() != k.len() {
            return Err("kvdb repeated a field for a positive count".into());
        }
        if (k.len() as u64) < count.unsigned_abs() {
            let (mut k, mut r) = (k, r);
            k.sort();
            r.sort();
            if k != r {
                return Err("a count above the size did not return the same whole hash".into());
            }
        }
    }
    Ok(())
}

/// The last value of option `name` in HSCAN's options.
fn hscan_option<'a>(argv: &'a [Vec<u8>], name: &str) -> Option<&'a [u8]> {
    argv.get(3..)?
        .chunks(2)
        .filter(|pair| pair.len() == 2 && pair[0].eq_ignore_ascii_case(name.as_bytes()))
        .map(|pair| pair[1].as_slice())
        .next_back()
}

/// `[cursor, [field, value, ...]]`, checked for shape.
fn scan_page(reply: &Reply) -> Result<(&[u8], &[Reply]), String> {
    let Reply::Array(parts) = reply else {
        return Err("not an array".into());
    };
    let [Reply::Bulk(cursor), Reply::Array(items)] = parts.as_slice() else {
        return Err("not [cursor, [fields and values]]".into());
    };
    if cursor.is_empty() || !cursor.iter().all(u8::is_ascii_digit) {
        return Err("the cursor is not a decimal number".into());
    }
    if items.len() % 2 != 0 || !items.iter().all(|m| matches!(m, Reply::Bulk(_))) {
        return Err("not a flat list of field-value bulk strings".into());
    }
    Ok((cursor, items))
}

/// HSCAN: one page is checked for its shape and MATCH; a first call whose COUNT exceeds any
/// hash returns the whole (filtered) hash on both servers, and is compared as such.
fn hscan(argv: &[Vec<u8>], kvdb: &Reply, redis: &Reply) -> Result<(), String> {
    let (k_cursor, k_items) = scan_page(kvdb).map_err(|e| format!("kvdb's HSCAN: {e}"))?;
    let (_, r_items) = scan_page(redis).map_err(|e| format!("redis's HSCAN: {e}"))?;
    let k_fields: Vec<&[u8]> = k_items
        .iter()
        .step_by(2)
        .filter_map(|f| match f {
            Reply::Bulk(f) => Some(f.as_slice()),
            _ => None,
        })
        .collect();
    if let Some(pattern) = hscan_option(argv, "MATCH") {
        let matches = |f: &&[u8]| pattern == b"*" || kvdb::glob::glob_match(pattern, f, false);
        if !k_fields.iter().all(matches) {
            return Err("kvdb returned a field that does not match".into());
        }
    }
    let distinct: std::collections::HashSet<&[u8]> = k_fields.iter().copied().collect();
    if distinct.len() != k_fields.len() {
        return Err("kvdb returned a field twice in one page".into());
    }
    let count =
        hscan_option(argv, "COUNT").and_then(|c| std::str::from_utf8(c).ok()?.parse::<u64>().ok());
    let whole =
        argv.get(2).is_some_and(|c| c == b"0") && count.is_some_and(|c| c >= WHOLE_SCAN_COUNT);
    if whole {
        if k_cursor != b"0" {
            return Err("kvdb did not finish a scan with a huge COUNT".into());
        }
        return same_pairs(
            &Reply::Array(k_items.to_vec()),
            &Reply::Array(r_items.to_vec()),
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
        "HGETALL" => Some(same_pairs(kvdb, redis)),
        "HKEYS" | "HVALS" => Some(same_items(kvdb, redis)),
        "HRANDFIELD" => Some(hrandfield(argv, kvdb, redis)),
        "HSCAN" => Some(hscan(argv, kvdb, redis)),
        _ => None,
    }
}

mod scripted {
    //! What the random sequences cannot show: exact error texts in Redis's order of checks,
    //! and HRANDFIELD over hashes larger than the sequences build.

    use kvdb::Reply;

    use crate::oracle::Server;
    use crate::{Pair, TestResult, serial};

    #[test]
    fn hash_error_texts_match_redis() -> TestResult {
        let _serial = serial();
        let server = Server::start()?;
        let mut p = Pair::new(&server)?;
        let err = |text: &str| Reply::Error(format!("ERR {text}"));
        let wrongtype = Reply::Error(
            "WRONGTYPE Operation against a key holding the wrong kind of value".into(),
        );
        let arity = |name: &str| err(&format!("wrong number of arguments for '{name}' command"));
        p.expect(
            &["HSET", "h", "a", "1", "n", "9223372036854775807"],
            Reply::Integer(2),
        );
        p.expect(&["HSET", "h", "s", " 1", "x", "abc"], Reply::Integer(2));
        p.expect(&["SET", "str", "v"], Reply::ok());
        p.expect(&["HSET", "h", "a"], arity("hset"));
        p.expect(&["HSET", "h", "a", "1", "b"], arity("hset"));
        p.expect(&["hmset", "h", "a", "1", "b"], arity("hmset"));
        p.expect(&["HSET", "str", "a", "1", "b"], arity("hset"));
        p.expect(&["HSET", "str", "a", "1"], wrongtype.clone());
        p.expect(
            &["HINCRBY", "h", "n", "1"],
            err("increment or decrement would overflow"),
        );
        p.expect(
            &["HINCRBY", "h", "s", "1"],
            err("hash value is not an integer"),
        );
        p.expect(
            &["HINCRBY", "h", "x", "1"],
            err("hash value is not an integer"),
        );
        p.expect(
            &["HINCRBY", "str", "a", "x"],
            err("value is not an integer or out of range"),
        );
        p.expect(&["HINCRBY", "str", "a", "1"], wrongtype.clone());
        p.expect(
            &["HINCRBYFLOAT", "h", "x", "1"],
            err("hash value is not a float"),
        );
        p.expect(
            &["HINCRBYFLOAT", "h", "s", "1"],
            err("hash value is not a float"),
        );
        p.expect(
            &["HINCRBYFLOAT", "str", "a", "x"],
            err("value is not a valid float"),
        );
        p.expect(
            &["HINCRBYFLOAT", "str", "a", "inf"],
            err("value is NaN or Infinity"),
        );
        p.expect(
            &["HINCRBYFLOAT", "h", "a", "nan"],
            err("value is not a valid float"),
        );
        p.expect(&["HINCRBYFLOAT", "str", "a", "1"], wrongtype.clone());
        p.expect(&["HSET", "h", "big", "1e4932"], Reply::Integer(1));
        p.expect(
            &["HINCRBYFLOAT", "h", "big", "1e4932"],
            err("increment would produce NaN or Infinity"),
        );
        p.expect(
            &["HINCRBYFLOAT", "h", "a", "0.1"],
            Reply::Bulk(b"1.1".to_vec()),
        );
        p.expect(
            &["HRANDFIELD", "str", "-9223372036854775808", "x"],
            err("value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
        );
        p.expect(
            &["HRANDFIELD", "str", "x", "x"],
            err("value is not an integer or out of range"),
        );
        p.expect(&["HRANDFIELD", "str", "1", "x"], err("syntax error"));
        p.expect(
            &["HRANDFIELD", "h", "1", "WITHVALUES", "x"],
            err("syntax error"),
        );
        for count in [
            "4611686018427387904",
            "-4611686018427387904",
            "-9223372036854775807",
        ] {
            p.expect(
                &["HRANDFIELD", "str", count, "WITHVALUES"],
                err("value is out of range"),
            );
        }
        p.expect(&["HRANDFIELD", "str", "0"], wrongtype.clone());
        p.expect(&["HRANDFIELD", "str"], wrongtype.clone());
        p.expect(&["HRANDFIELD", "nokey"], Reply::Nil);
        p.expect(
            &["HRANDFIELD", "nokey", "-5", "WITHVALUES"],
            Reply::Array(vec![]),
        );
        p.expect(&["HSCAN", "str", "abc"], err("invalid cursor"));
        p.expect(&["HSCAN", "str", "0", "FOO"], wrongtype.clone());
        p.agree(&["HSCAN", "nokey", "0", "COUNT", "0"]);
        p.expect(&["HSCAN", "h", "0", "COUNT", "0"], err("syntax error"));
        p.expect(&["HSCAN", "h", "0", "COUNT"], err("syntax error"));
        p.expect(&["HSCAN", "h", "0", "TYPE", "hash"], err("syntax error"));
        p.expect(&["HSCAN", "h", "0", "NOVALUES"], err("syntax error"));
        p.expect(
            &["HSCAN", "h", "0", "COUNT", "abc"],
            err("value is not an integer or out of range"),
        );
        for argv in [
            &["HGET", "str", "a"][..],
            &["HMGET", "str", "a"],
            &["HGETALL", "str"],
            &["HKEYS", "str"],
            &["HVALS", "str"],
            &["HLEN", "str"],
            &["HSTRLEN", "str", "a"],
            &["HEXISTS", "str", "a"],
            &["HDEL", "str", "a"],
            &["HSETNX", "str", "a", "1"],
        ] {
            p.expect(argv, wrongtype.clone());
        }
        p.agree(&["HGETALL", "h"]);
        p.agree(&["HGETALL", "nokey"]);
        p.expect(
            &["HMGET", "nokey", "a", "b"],
            Reply::Array(vec![Reply::Nil, Reply::Nil]),
        );
        p.expect(
            &["HDEL", "h", "a", "a", "n", "s", "x", "big", "zz"],
            Reply::Integer(5),
        );
        p.expect(&["EXISTS", "h"], Reply::Integer(0));
        p.expect(&["TYPE", "h"], Reply::Status("none".into()));
        Ok(())
    }

    #[test]
    fn random_fields_of_large_hashes_match_redis_in_shape() -> TestResult {
        let _serial = serial();
        let server = Server::start()?;
        let mut p = Pair::new(&server)?;
        // 200 fields: past Redis's listpack limit (128), so both of its encodings are seen.
        for size in [20, 200] {
            let mut hset = vec!["HSET".to_owned(), "h".to_owned()];
            for i in 0..size {
                hset.push(format!("f{i}"));
                hset.push(format!("v{i}"));
            }
            let hset: Vec<&str> = hset.iter().map(String::as_str).collect();
            p.expect(&["DEL", "h"], Reply::Integer(i64::from(size != 20)));
            p.expect(&hset, Reply::Integer(size));
            for count in [
                "1", "5", "15", "19", "20", "150", "199", "200", "1000", "-1", "-7", "-500",
            ] {
                p.agree(&["HRANDFIELD", "h", count]);
                p.agree(&["HRANDFIELD", "h", count, "WITHVALUES"]);
            }
            p.agree(&["HSCAN", "h", "0", "COUNT", "100000"]);
            p.agree(&["HSCAN", "h", "0", "MATCH", "f1*", "COUNT", "100000"]);
            p.agree(&["HGETALL", "h"]);
        }
        Ok(())
    }
}
