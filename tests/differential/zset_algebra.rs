//! Differential test generator and comparison rules for ZUNION, ZINTER, ZDIFF (and their STORE forms) and ZINTERCARD.
//!
//! [`COMMANDS`] lists the commands with their weights; [`command`] draws the arguments of one.
//! Keys come from [`crate::generate::key`], shared with the string commands, so WRONGTYPE and
//! the keyspace commands meet these types.
//!
//! The inputs are built here too, with ZADD and SADD on the same keys (and on three keys
//! only this family writes, so that fewer commands stop at WRONGTYPE), from a small pool of
//! members so that inputs overlap, with scores chosen for the arithmetic's edge cases: sums
//! whose last digit depends on the order of addition (0.1 + 0.2 + 0.3), infinities (inf *
//! 0, inf + -inf), zeros that become -0 under a negative weight, and now and then a sorted
//! set of 130 members or a member of 65 bytes, past which Redis keeps a stored -0.
//!
//! Every reply of these commands is ordered by (score, member), so all are compared exactly.

use fastrand::Rng;
use kvdb::Reply;

use crate::generate::{key, pick, text};

/// Commands of this family and their relative weights, with ZADD and SADD to fill the inputs.
pub const COMMANDS: &[(&str, u32)] = &[
    ("ZADD", 30),
    ("SADD", 12),
    ("ZUNION", 10),
    ("ZINTER", 10),
    ("ZDIFF", 7),
    ("ZUNIONSTORE", 10),
    ("ZINTERSTORE", 10),
    ("ZDIFFSTORE", 7),
    ("ZINTERCARD", 7),
];

/// Members of the inputs: few, so that they overlap.
const MEMBERS: &[&str] = &["a", "b", "c", "d", "e", "f", "", "m\u{0}n"];

/// Scores for ZADD: where floating-point addition shows its order, infinities, zeros.
const SCORES: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-0",
    "0.1",
    "0.2",
    "0.3",
    "1.5",
    "-2.5",
    "3.14",
    "10",
    "inf",
    "-inf",
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "123456789.125",
    "7",
];

/// Weights: valid ones (many produce inf, NaN or -0) and some that are not floats.
const WEIGHTS: &[&str] = &[
    "1", "1", "2", "0", "-1", "-0", "0.5", "inf", "-inf", "1e308", "-2.5", "3", "0.1",
];
const BAD_WEIGHTS: &[&str] = &["abc", "nan", "", " 1", "1x", "--1", "1e400"];

/// A key of an input or a destination: mostly the shared keys, sometimes one that only this
/// family writes (so that fewer commands end in WRONGTYPE and the inputs grow).
fn input_key(rng: &mut Rng) -> Vec<u8> {
    if rng.u32(0..4) == 0 {
        return format!("zalg{}", rng.u32(0..3)).into_bytes();
    }
    key(rng)
}

fn member(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..3 => vec![b'x'; 65],
        3..5 => vec![b'y'; 64],
        5..60 => text(pick(rng, &MEMBERS[..3])),
        _ => text(pick(rng, MEMBERS)),
    }
}

/// ZADD's arguments: a key and score-member pairs (now and then 130 of them).
fn zadd(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = vec![input_key(rng)];
    if rng.u32(0..40) == 0 {
        for i in 0..130 {
            out.push(((i * 7) % 11 - 5).to_string().into_bytes());
            out.push(format!("m{i}").into_bytes());
        }
        return out;
    }
    for _ in 0..rng.usize(1..5) {
        out.push(text(pick(rng, SCORES)));
        out.push(member(rng));
    }
    out
}

/// SADD's arguments.
fn sadd(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = vec![input_key(rng)];
    for _ in 0..rng.usize(1..5) {
        out.push(member(rng));
    }
    out
}

/// numkeys and the keys: usually consistent, sometimes 0, negative, not a number, more keys
/// than arguments, or fewer than the keys that follow (which then read as options).
fn numkeys_and_keys(rng: &mut Rng) -> (usize, Vec<Vec<u8>>) {
    let n = match rng.u32(0..100) {
        0..35 => 1,
        35..75 => 2,
        75..93 => 3,
        _ => 4,
    };
    let keys: Vec<Vec<u8>> = (0..n).map(|_| input_key(rng)).collect();
    let numkeys = match rng.u32(0..100) {
        0..92 => n.to_string(),
        92..94 => pick(rng, &["0", "-1", "-9223372036854775808"]).to_owned(),
        94..96 => pick(rng, &["abc", "", "1.5", "+1", "9223372036854775808"]).to_owned(),
        96..98 => pick(rng, &["9223372036854775807", "2147483648"]).to_owned(),
        _ => (n + rng.usize(1..3)).to_string(),
    };
    let mut out = vec![numkeys.into_bytes()];
    out.extend(keys);
    // A numkeys smaller than the keys given leaves the rest as (bad) options.
    if rng.u32(0..30) == 0 {
        out.push(key(rng));
    }
    (n, out)
}

/// The options after the keys of a command with `n` keys, in random order, sometimes
/// repeated, malformed, or not allowed for the command.
fn options(rng: &mut Rng, name: &str, n: usize) -> Vec<Vec<u8>> {
    let weighted = matches!(name, "ZUNION" | "ZINTER" | "ZUNIONSTORE" | "ZINTERSTORE");
    let withscores = matches!(name, "ZUNION" | "ZINTER" | "ZDIFF");
    let mut groups: Vec<Vec<Vec<u8>>> = Vec::new();
    let count = match rng.u32(0..10) {
        // ZDIFFSTORE takes no option at all.
        _ if name == "ZDIFFSTORE" && rng.u32(0..5) != 0 => 0,
        0..3 => 0,
        3..7 => 1,
        7..9 => 2,
        _ => 3,
    };
    for _ in 0..count {
        let group = match rng.u32(0..100) {
            // Mostly the options the command takes.
            0..85 if name == "ZINTERCARD" => limit(rng),
            0..35 if weighted => weights(rng, n),
            35..60 if weighted => aggregate(rng),
            60..85 if withscores => vec![text(pick(rng, &["WITHSCORES", "withscores"]))],
            0..85 if weighted => aggregate(rng),
            0..85 if withscores => vec![text(pick(rng, &["WITHSCORES", "withscores"]))],
            // Options of the siblings, and junk.
            0..88 => weights(rng, n),
            88..91 => aggregate(rng),
            91..94 => vec![text(pick(rng, &["WITHSCORES", "LIMIT", "WEIGHTS"]))],
            94..97 => limit(rng),
            _ => vec![text(pick(rng, &["FOO", "SUM", "1"]))],
        };
        groups.push(group);
    }
    rng.shuffle(&mut groups);
    groups.into_iter().flatten().collect()
}

/// `WEIGHTS w...`: usually one per key, valid; sometimes one short, or one not a float.
fn weights(rng: &mut Rng, n: usize) -> Vec<Vec<u8>> {
    let mut out = vec![text(pick(rng, &["WEIGHTS", "weights", "Weights"]))];
    let count = match rng.u32(0..20) {
        0 => n.saturating_sub(1),
        _ => n,
    };
    for _ in 0..count {
        out.push(text(if rng.u32(0..25) == 0 {
            pick(rng, BAD_WEIGHTS)
        } else {
            pick(rng, WEIGHTS)
        }));
    }
    out
}

/// `AGGREGATE SUM|MIN|MAX`, or a bad name, or the word alone.
fn aggregate(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = vec![text(pick(rng, &["AGGREGATE", "aggregate"]))];
    match rng.u32(0..40) {
        0 => {}
        1 => out.push(text(pick(rng, &["AVG", "sums", "", "MINIMUM"]))),
        _ => out.push(text(pick(rng, &["SUM", "MIN", "MAX", "sum", "min", "Max"]))),
    }
    out
}

/// `LIMIT n`: 0 (no limit), small, huge, negative, not a number, or missing.
fn limit(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = vec![text(pick(rng, &["LIMIT", "limit"]))];
    match rng.u32(0..40) {
        0 => {}
        1..6 => out.push(text(pick(
            rng,
            &["-1", "abc", "9223372036854775808", "1.0", ""],
        ))),
        _ => out.push(text(pick(
            rng,
            &["0", "1", "2", "3", "1", "9223372036854775807"],
        ))),
    }
    out
}

/// The arguments (after the name) of command `name`.
pub fn command(rng: &mut Rng, name: &str) -> Vec<Vec<u8>> {
    match name {
        "ZADD" => zadd(rng),
        "SADD" => sadd(rng),
        _ => {
            let mut out = Vec::new();
            if name.ends_with("STORE") {
                out.push(input_key(rng));
            }
            let (n, keys) = numkeys_and_keys(rng);
            out.extend(keys);
            out.extend(options(rng, name, n));
            out
        }
    }
}

/// How replies of `name` are compared, when not byte for byte (`None`: exactly). Every reply
/// of this family is ordered by (score, member) or is a count, so all compare exactly.
pub fn compare(
    _name: &str,
    _argv: &[Vec<u8>],
    _kvdb: &Reply,
    _redis: &Reply,
) -> Option<Result<(), String>> {
    None
}
