//! Random command sequences over a small key space, biased towards edge cases.
//!
//! Everything is drawn from one seeded RNG, so a seed names a sequence. The only other input
//! is the wall clock, read for absolute expiry times (EXPIREAT, SET ... PXAT).
//!
//! Timing rule: the two servers run each command a few milliseconds apart, so no generated
//! expiry may land near "now". Relative expiries are either at least 1000 s away or not
//! positive; absolute ones are at least 1000 s in the past or in the future. Relative ones are
//! drawn from a wide range so that two of them practically never coincide (EXPIRE ... GT with
//! two equal relative times would compare instants that differ between the servers).

use std::time::{SystemTime, UNIX_EPOCH};

use fastrand::Rng;

/// One step of a sequence.
#[derive(Debug, Clone)]
pub enum Step {
    /// A command run once on each side; its replies are compared.
    Command(Vec<Vec<u8>>),
    /// A whole SCAN iteration (from cursor 0 until it returns 0) on each side, with these
    /// options after the cursor; the sets of keys found are compared.
    FullScan(Vec<Vec<u8>>),
}

/// The keys most commands work on; `k0`..`k5`, plus the empty key and a binary one.
pub fn key(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..4 => Vec::new(),
        4..8 => b"b\x00\xff\r\nk".to_vec(),
        _ => format!("k{}", rng.u32(0..6)).into_bytes(),
    }
}

pub fn pick<T: Clone>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(0..items.len())].clone()
}

pub fn text(s: impl AsRef<str>) -> Vec<u8> {
    s.as_ref().as_bytes().to_vec()
}

/// Numbers as the float parser sees them, including spellings only some parsers accept.
const FLOATS: &[&str] = &[
    "0.1",
    "0.2",
    "1e3",
    "-0",
    "5.",
    ".5",
    "3.14",
    "-2.5",
    "1.5e-3",
    "10.50",
    "3.0e0",
    "inf",
    "-inf",
    "nan",
    "+1",
    "00",
    "0x10",
    " 1",
    "1 ",
    "1e308",
    "1e4932",
    "-1.1e4932",
    "1e-4950",
    "-1e308",
    "1e-320",
    "123456789.125",
    "7.0",
    "-0.0",
    "1.7976931348623157e308",
    "2.5E2",
    "1_000",
];

/// Integers near every boundary the commands check.
const INTEGERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "42",
    "-42",
    "9223372036854775807",
    "9223372036854775806",
    "-9223372036854775808",
    "-9223372036854775807",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967296",
];

/// Text that must be rejected where an integer is expected.
const NOT_INTEGERS: &[&str] = &[
    "abc",
    "",
    "1.5",
    " 1",
    "1 ",
    "+1",
    "01",
    "-0",
    "1e3",
    "0x1",
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999",
    "-",
];

/// A value to store: numbers, floats, text, empty, binary, sometimes 10 KB.
pub fn value(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..12 => text(pick(rng, INTEGERS)),
        12..25 => rng.i64(-1000..1000).to_string().into_bytes(),
        25..40 => text(pick(rng, FLOATS)),
        40..65 => {
            let len = rng.usize(1..8);
            (0..len).map(|_| pick(rng, b"abcxyz:-")).collect()
        }
        65..73 => Vec::new(),
        73..85 => {
            let len = rng.usize(1..8);
            (0..len)
                .map(|_| pick(rng, &[0u8, 0xff, b'\r', b'\n', b' ', 0x80, b'a']))
                .collect()
        }
        85..90 => {
            // 10 KB: compressible (kvdb stores it zstd-compressed) or not.
            if rng.bool() {
                b"0123456789abcdef".repeat(640)
            } else {
                (0..10 * 1024).map(|_| rng.u8(..)).collect()
            }
        }
        _ => text(pick(rng, &["10", "100", "-5", "1", "0"])),
    }
}

/// A GETRANGE index.
pub fn index(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..70 => rng.i64(-30..30).to_string().into_bytes(),
        70..80 => rng.i64(-12000..12000).to_string().into_bytes(),
        80..95 => text(pick(rng, INTEGERS)),
        _ => text(pick(rng, NOT_INTEGERS)),
    }
}

/// A SETRANGE offset: small, near the end of a 10 KB value, negative, or beyond 512 MB.
fn offset(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..60 => rng.i64(0..20).to_string().into_bytes(),
        60..70 => rng.i64(10_000..10_300).to_string().into_bytes(),
        70..78 => rng.i64(-3..0).to_string().into_bytes(),
        78..86 => text(pick(
            rng,
            // The first two are beyond 512 MB with any non-empty value (the largest offset
            // that fits, 536870911, would make both servers allocate 512 MB).
            &["536870912", "536870913", "9223372036854775807"],
        )),
        86..94 => text(pick(rng, INTEGERS)),
        _ => text(pick(rng, NOT_INTEGERS)),
    }
}

/// An increment for INCRBY/DECRBY.
pub fn increment(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..60 => rng.i64(-100..100).to_string().into_bytes(),
        60..85 => text(pick(rng, INTEGERS)),
        _ => text(pick(rng, NOT_INTEGERS)),
    }
}

/// An increment for INCRBYFLOAT.
pub fn float_increment(rng: &mut Rng) -> Vec<u8> {
    match rng.u32(0..100) {
        0..40 => text(pick(rng, FLOATS)),
        40..70 => rng.i64(-100..100).to_string().into_bytes(),
        70..85 => format!("{}.{}", rng.i32(-50..50), rng.u32(0..1000)).into_bytes(),
        85..95 => text(pick(rng, INTEGERS)),
        _ => text(pick(rng, &["abc", "", "1.5.5", "e", "--1"])),
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How an expiry argument is read.
#[derive(Clone, Copy)]
enum TimeUnit {
    Seconds,
    Millis,
}

/// A relative expiry: far enough ahead that nothing expires during the test, or not positive,
/// or out of range.
fn relative_time(rng: &mut Rng, unit: TimeUnit) -> Vec<u8> {
    let scale = match unit {
        TimeUnit::Seconds => 1,
        TimeUnit::Millis => 1000,
    };
    match rng.u32(0..100) {
        0..70 => (rng.i64(1000..100_000_000) * scale + rng.i64(0..scale))
            .to_string()
            .into_bytes(),
        70..78 => text(pick(rng, &["0", "-1", "-100", "-9999999"])),
        // Boundary integers, except the small positive ones (which would expire mid-test).
        78..86 => text(pick(
            rng,
            &INTEGERS[..]
                .iter()
                .filter(|n| n.parse::<i64>().is_ok_and(|n| !(1..1_000_000).contains(&n)))
                .collect::<Vec<_>>(),
        )),
        86..90 => text(pick(
            rng,
            &[
                "9223372036854775",
                "9223372036854776",
                "-9223372036854776",
                "9223372036854",
            ],
        )),
        _ => text(pick(rng, NOT_INTEGERS)),
    }
}

/// An absolute expiry: at least 1000 s in the future or the past, near zero, or out of range.
fn absolute_time(rng: &mut Rng, unit: TimeUnit) -> Vec<u8> {
    let now = match unit {
        TimeUnit::Seconds => now_ms() / 1000,
        TimeUnit::Millis => now_ms(),
    };
    let scale = match unit {
        TimeUnit::Seconds => 1,
        TimeUnit::Millis => 1000,
    };
    let far = rng.i64(1000..100_000_000) * scale;
    match rng.u32(0..100) {
        // Absolute times may repeat: equal ones compare equal on both sides.
        0..50 => (now + pick(rng, &[far, 5000 * scale, 7000 * scale]))
            .to_string()
            .into_bytes(),
        50..65 => (now - rng.i64(1000..1_000_000) * scale)
            .to_string()
            .into_bytes(),
        65..75 => text(pick(rng, &["1", "0", "-1", "100"])),
        75..85 => text(pick(rng, INTEGERS)),
        85..90 => text(pick(rng, &["9223372036854775", "9223372036854776"])),
        _ => text(pick(rng, NOT_INTEGERS)),
    }
}

/// A glob pattern for KEYS and SCAN MATCH.
pub fn pattern(rng: &mut Rng) -> Vec<u8> {
    const FIXED: &[&[u8]] = &[
        b"*", b"**", b"k*", b"k?", b"?", b"k[0-2]", b"k[^0]", b"k[2-0]", b"*1", b"", b"[", b"\\k*",
        b"k[", b"*\x00*", b"b*", b"K*", b"[kb]*", b"*[3-5]", b"k[!1]", b"k\\",
    ];
    if rng.u32(0..100) < 60 {
        return pick(rng, FIXED).to_vec();
    }
    let len = rng.usize(1..6);
    (0..len).map(|_| pick(rng, b"k0123*?[]^-\\b")).collect()
}

/// A database index: mostly 0..4, sometimes invalid.
pub fn db_index(rng: &mut Rng) -> Vec<u8> {
    if rng.u32(0..100) < 85 {
        return rng.u32(0..4).to_string().into_bytes();
    }
    text(pick(
        rng,
        &[
            "15",
            "16",
            "-1",
            "abc",
            "4294967296",
            "2147483648",
            "01",
            "+1",
            "",
            "1.0",
        ],
    ))
}

/// An option word for the expire family.
fn expire_option(rng: &mut Rng) -> Vec<u8> {
    text(pick(
        rng,
        &["NX", "XX", "GT", "LT", "nx", "xx", "gt", "lt", "FOO"],
    ))
}

/// The trailing options of SET (or GETEX when `getex`), in random order and combinations,
/// valid or conflicting.
fn string_options(rng: &mut Rng, getex: bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let n = match rng.u32(0..100) {
        0..35 => 0,
        35..75 => 1,
        75..93 => 2,
        _ => 3,
    };
    for _ in 0..n {
        let name = match rng.u32(0..12) {
            0 => "EX",
            1 => "PX",
            2 => "EXAT",
            3 => "PXAT",
            4 => "NX",
            5 => "XX",
            6 => "GET",
            7 => "KEEPTTL",
            8 => "PERSIST",
            9 => pick(
                rng,
                &[
                    "ex", "px", "exat", "pxat", "get", "keepttl", "nx", "Persist",
                ],
            ),
            10 if getex => "PERSIST",
            10 => "GET",
            _ => pick(rng, &["FOO", "EXX", "EX"]),
        };
        out.push(text(name));
        // A unit usually has its argument; one without it is a syntax error.
        let time = match name.to_ascii_uppercase().as_str() {
            "EX" => Some(relative_time(rng, TimeUnit::Seconds)),
            "PX" => Some(relative_time(rng, TimeUnit::Millis)),
            "EXAT" => Some(absolute_time(rng, TimeUnit::Seconds)),
            "PXAT" => Some(absolute_time(rng, TimeUnit::Millis)),
            _ => None,
        };
        if let Some(time) = time
            && rng.u32(0..12) != 0
        {
            out.push(time);
        }
    }
    out
}

/// A random SCAN cursor: valid, malformed, or one only a C `strtoul` accepts.
pub fn cursor(rng: &mut Rng) -> Vec<u8> {
    if rng.u32(0..100) < 50 {
        return rng.u32(0..64).to_string().into_bytes();
    }
    text(pick(
        rng,
        &[
            "0",
            "abc",
            "-1",
            "+0",
            "",
            " 1",
            "1 ",
            "007",
            "1.5",
            "18446744073709551615",
            "18446744073709551616",
            "-18446744073709551615",
        ],
    ))
}

/// SCAN's options after the cursor.
fn scan_options(rng: &mut Rng, valid_only: bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..rng.usize(0..3) {
        match rng.u32(0..if valid_only { 3 } else { 5 }) {
            0 => {
                out.push(text(pick(rng, &["MATCH", "match"])));
                out.push(pattern(rng));
            }
            1 => {
                out.push(text(pick(rng, &["COUNT", "count"])));
                out.push(if valid_only {
                    rng.u32(1..20).to_string().into_bytes()
                } else {
                    text(pick(
                        rng,
                        &[
                            "1",
                            "2",
                            "10",
                            "100",
                            "0",
                            "-1",
                            "abc",
                            "9223372036854775807",
                        ],
                    ))
                });
            }
            2 => {
                out.push(text(pick(rng, &["TYPE", "type"])));
                out.push(text(pick(
                    rng,
                    &["string", "STRING", "none", "list", "hash"],
                )));
            }
            3 => out.push(text(pick(rng, &["MATCH", "COUNT", "TYPE"]))),
            _ => out.push(text("FOO")),
        }
    }
    out
}

/// Spells a command name in a random case.
pub fn spell(rng: &mut Rng, name: &str) -> Vec<u8> {
    match rng.u32(0..4) {
        0 => name.to_ascii_lowercase().into_bytes(),
        1 => name
            .bytes()
            .map(|b| {
                if rng.bool() {
                    b.to_ascii_lowercase()
                } else {
                    b
                }
            })
            .collect(),
        _ => name.as_bytes().to_vec(),
    }
}

/// The next step of a sequence.
pub fn step(rng: &mut Rng) -> Step {
    let roll = rng.u32(0..1000);
    if roll < 15 {
        return Step::FullScan(scan_options(rng, true));
    }
    let mut argv = command(rng);
    if roll < 40 {
        // Wrong arity: drop the last argument, or add one.
        if argv.len() > 1 && rng.bool() {
            argv.pop();
        } else {
            argv.push(b"extra".to_vec());
        }
    } else if roll < 50 {
        let name = pick(rng, &["GETT", "nosuchcommand", "SETT", "EXPIRES"]);
        argv = vec![text(name), b"k0".to_vec(), b"some arg".to_vec()];
        argv.truncate(rng.usize(1..4));
    }
    Step::Command(argv)
}

/// Every command the generator knows, with its relative weight. Expiries weigh more: they are
/// where the two servers' clocks meet.
#[rustfmt::skip]
const COMMANDS: &[(&str, u32)] = &[
    ("SET", 8), ("GET", 4), ("GETSET", 2), ("GETDEL", 2), ("GETEX", 4), ("SETNX", 2),
    ("SETEX", 3), ("PSETEX", 3), ("MSET", 2), ("MSETNX", 2), ("MGET", 2), ("APPEND", 4),
    ("STRLEN", 2), ("GETRANGE", 4), ("SETRANGE", 4), ("INCR", 2), ("DECR", 2), ("INCRBY", 2),
    ("DECRBY", 2), ("INCRBYFLOAT", 4),
    ("DEL", 2), ("UNLINK", 2), ("EXISTS", 2), ("TYPE", 2), ("RENAME", 2), ("RENAMENX", 2),
    ("COPY", 4), ("KEYS", 2), ("SCAN", 2), ("DBSIZE", 2), ("FLUSHDB", 1), ("FLUSHALL", 1),
    ("RANDOMKEY", 2), ("SELECT", 4), ("MOVE", 4), ("TOUCH", 2),
    ("EXPIRE", 6), ("PEXPIRE", 4), ("EXPIREAT", 2), ("PEXPIREAT", 4), ("TTL", 4), ("PTTL", 5),
    ("PERSIST", 2), ("EXPIRETIME", 3), ("PEXPIRETIME", 3),
    ("PING", 2), ("ECHO", 2), ("TIME", 1),
];

/// The options of HSCAN, SSCAN or ZSCAN after the cursor, well formed or not: MATCH with a
/// pattern from `pattern`, COUNT with edge values, an option the command refuses (one of
/// `refused`, with its value), a dangling option name, or junk.
pub fn element_scan_options(
    rng: &mut Rng,
    pattern: fn(&mut Rng) -> Vec<u8>,
    refused: &[(&str, &str)],
) -> Vec<Vec<u8>> {
    const COUNTS: &[&str] = &[
        "1",
        "2",
        "3",
        "10",
        "100000",
        "100000",
        "0",
        "-1",
        "abc",
        "",
        "9223372036854775807",
    ];
    let mut out = Vec::new();
    for _ in 0..rng.usize(0..3) {
        match rng.u32(0..12) {
            0..4 => {
                out.push(text(pick(rng, &["MATCH", "match"])));
                out.push(pattern(rng));
            }
            4..9 => {
                out.push(text(pick(rng, &["COUNT", "count"])));
                out.push(text(pick(rng, COUNTS)));
            }
            9 if !refused.is_empty() => {
                let (option, value) = pick(rng, refused);
                out.push(text(option));
                out.push(text(value));
            }
            10 => out.push(text(pick(rng, &["MATCH", "COUNT"]))),
            _ => out.push(text("FOO")),
        }
    }
    out
}

/// A family's generator: the arguments (after the name) of command `name`.
type FamilyCommand = fn(&mut Rng, &str) -> Vec<Vec<u8>>;

/// Picks a name from `(name, weight)` pairs.
pub fn weighted(rng: &mut Rng, table: &[(&'static str, u32)]) -> &'static str {
    let total: u32 = table.iter().map(|&(_, w)| w).sum();
    let mut roll = rng.u32(0..total);
    for &(name, weight) in table {
        if roll < weight {
            return name;
        }
        roll -= weight;
    }
    table[0].0
}

/// A well-formed-looking command (which may still carry bad arguments): a string or keyspace
/// command, or one of a collection family, on keys shared by all of them (so that WRONGTYPE
/// and keyspace commands on collections come up).
fn command(rng: &mut Rng) -> Vec<Vec<u8>> {
    let family: [(&[(&'static str, u32)], FamilyCommand); 5] = [
        (crate::hash::COMMANDS, crate::hash::command),
        (crate::set::COMMANDS, crate::set::command),
        (crate::zset::COMMANDS, crate::zset::command),
        (crate::zset_algebra::COMMANDS, crate::zset_algebra::command),
        (crate::list::COMMANDS, crate::list::command),
    ];
    // Each collection family gets a sixth of the commands (the zset algebra a twelfth), the
    // rest are strings and keyspace.
    let roll = rng.u32(0..100);
    if roll < 75 {
        let index = match roll {
            0..16 => 0,
            16..32 => 1,
            32..48 => 2,
            48..56 => 3,
            _ => 4,
        };
        let (table, generate) = family[index];
        if !table.is_empty() {
            let name = weighted(rng, table);
            let mut argv = vec![spell(rng, name)];
            argv.extend(generate(rng, name));
            return argv;
        }
    }
    let name = weighted(rng, COMMANDS);
    // FLUSHDB and FLUSHALL empty the key space; keep them rare.
    if (name == "FLUSHDB" || name == "FLUSHALL") && rng.u32(0..4) != 0 {
        return vec![b"DBSIZE".to_vec()];
    }
    let mut argv = vec![spell(rng, name)];
    let mut push = |arg: Vec<u8>| argv.push(arg);
    match name {
        "GET" | "GETDEL" | "STRLEN" | "INCR" | "DECR" | "TYPE" | "TTL" | "PTTL" | "PERSIST"
        | "EXPIRETIME" | "PEXPIRETIME" => push(key(rng)),
        "SET" => {
            push(key(rng));
            push(value(rng));
            for opt in string_options(rng, false) {
                push(opt);
            }
        }
        "GETEX" => {
            push(key(rng));
            for opt in string_options(rng, true) {
                push(opt);
            }
        }
        "GETSET" | "SETNX" | "APPEND" => {
            push(key(rng));
            push(value(rng));
        }
        "SETEX" | "PSETEX" => {
            push(key(rng));
            let unit = if name == "SETEX" {
                TimeUnit::Seconds
            } else {
                TimeUnit::Millis
            };
            push(relative_time(rng, unit));
            push(value(rng));
        }
        "MSET" | "MSETNX" => {
            for _ in 0..rng.usize(1..4) {
                push(key(rng));
                push(value(rng));
            }
        }
        "MGET" | "DEL" | "UNLINK" | "EXISTS" | "TOUCH" => {
            for _ in 0..rng.usize(1..5) {
                push(key(rng));
            }
        }
        "GETRANGE" => {
            push(key(rng));
            push(index(rng));
            push(index(rng));
        }
        "SETRANGE" => {
            push(key(rng));
            push(offset(rng));
            push(value(rng));
        }
        "INCRBY" | "DECRBY" => {
            push(key(rng));
            push(increment(rng));
        }
        "INCRBYFLOAT" => {
            push(key(rng));
            push(float_increment(rng));
        }
        "RENAME" | "RENAMENX" => {
            push(key(rng));
            push(key(rng));
        }
        "COPY" => {
            push(key(rng));
            push(key(rng));
            let mut options: Vec<Vec<Vec<u8>>> = Vec::new();
            if rng.bool() {
                options.push(vec![text(pick(rng, &["DB", "db"])), db_index(rng)]);
            }
            if rng.bool() {
                options.push(vec![text(pick(rng, &["REPLACE", "replace"]))]);
            }
            if rng.u32(0..10) == 0 {
                options.push(vec![text(pick(rng, &["DB", "FOO", "REPLACE"]))]);
            }
            rng.shuffle(&mut options);
            for arg in options.into_iter().flatten() {
                push(arg);
            }
        }
        "KEYS" => push(pattern(rng)),
        "SCAN" => {
            push(cursor(rng));
            for opt in scan_options(rng, false) {
                push(opt);
            }
        }
        "FLUSHDB" | "FLUSHALL" if rng.bool() => {
            push(text(pick(rng, &["ASYNC", "SYNC", "sync", "FOO"])));
        }
        "SELECT" => push(db_index(rng)),
        "MOVE" => {
            push(key(rng));
            push(db_index(rng));
        }
        "EXPIRE" | "PEXPIRE" | "EXPIREAT" | "PEXPIREAT" => {
            push(key(rng));
            let unit = if name.starts_with('P') {
                TimeUnit::Millis
            } else {
                TimeUnit::Seconds
            };
            push(if name.ends_with("AT") {
                absolute_time(rng, unit)
            } else {
                relative_time(rng, unit)
            });
            let n = match rng.u32(0..10) {
                0..5 => 0,
                5..9 => 1,
                _ => 2,
            };
            for _ in 0..n {
                push(expire_option(rng));
            }
        }
        "PING" if rng.bool() => push(value(rng)),
        "ECHO" => push(value(rng)),
        // DBSIZE, RANDOMKEY, TIME, and FLUSHDB, FLUSHALL, PING without arguments.
        _ => {}
    }
    argv
}
