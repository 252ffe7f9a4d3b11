//! Differential test: kvdb against a real redis-server (7.0, the oracle).
//!
//! Random command sequences (see `generate`) run through kvdb's [`Session::execute`] and through
//! Redis over one connection; every reply must be the same. Where the two servers cannot agree
//! byte for byte, the comparison is narrowed, never dropped:
//!
//! * TTL and EXPIRETIME may differ by 1 s, PTTL and PEXPIRETIME by 100 ms: the servers run
//!   each command at slightly different instants.
//! * KEYS is compared as a sorted list; a single SCAN call only by the shape of its reply
//!   (cursors are implementation details), while a whole SCAN iteration must find the same set
//!   of keys.
//! * RANDOMKEY must agree on nil / not nil, and kvdb's key must exist in kvdb.
//! * TIME is checked for its shape only.
//! * After `SET ... EXAT/PXAT` (possibly in the past), an EXISTS on the key (itself compared)
//!   settles Redis's lazy deletion before DBSIZE can see the difference: see [`settle`].
//!
//! Each sequence ends by comparing every database's full contents (keys, values, PTTLs).
//!
//! The same sequences also run through the network (see `network`): against `kvdb server` and
//! redis-server, over redis-rs and over raw sockets, in RESP2 and RESP3.
//!
//! A failure names the seed and the command index; `KVDB_DIFF_SEED=n` replays one seed, and
//! `KVDB_DIFF_RUNS=n` runs seeds 1..=n. `KVDB_REDIS_PORT=p` uses a running Redis (whose data
//! the test erases) instead of starting one.

mod cases;
#[allow(
    dead_code,
    reason = "the helpers are shared by several test binaries, each using a part"
)]
#[path = "../common/mod.rs"]
mod common;
mod generate;
mod hash;
mod list;
mod network;
mod oracle;
mod set;
mod zset;
mod zset_algebra;

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

use kvdb::{Db, Fsync, Options, Reply, Session};

use generate::Step;
use oracle::Server;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Sequences run by default, and the commands in each.
const RUNS: u64 = 60;
const STEPS: usize = 300;
/// Databases the generator uses (SELECT, MOVE and COPY ... DB pick 0..4).
const DBS: usize = 4;
/// Bound on the calls of one full SCAN iteration.
const MAX_SCAN_CALLS: usize = 100_000;

/// Tests share one Redis when `KVDB_REDIS_PORT` is set, and each starts with FLUSHALL, so they
/// take turns.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Something that runs one command and returns its reply: an in-process [`Session`], or a
/// connection to a server.
trait Execute {
    /// Runs `argv`.
    fn run(&mut self, argv: &[Vec<u8>]) -> Reply;
}

impl Execute for Session {
    /// Runs `argv` and returns the reply as a RESP2 client sees it (maps and sets as arrays,
    /// doubles as bulk strings), the form Redis's replies take on the other side.
    fn run(&mut self, argv: &[Vec<u8>]) -> Reply {
        let reply = self.execute(argv);
        let mut wire = Vec::new();
        kvdb::resp::encode(&reply, kvdb::resp::Protocol::Resp2, &mut wire);
        network::decode(&wire).unwrap_or_else(|e| Reply::Error(format!("undecodable reply: {e}")))
    }
}

/// One side of a comparison.
struct Side(Box<dyn Execute>);

impl Side {
    fn new(side: impl Execute + 'static) -> Side {
        Side(Box::new(side))
    }

    fn execute<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> Reply {
        let argv: Vec<Vec<u8>> = argv.iter().map(|a| a.as_ref().to_vec()).collect();
        self.0.run(&argv)
    }
}

/// kvdb and Redis, both emptied, with database 0 selected.
struct Pair {
    kvdb: Side,
    redis: Side,
    /// Holds kvdb's data directory, when kvdb runs in process.
    _dir: Option<tempfile::TempDir>,
}

impl Pair {
    /// kvdb in process, on a new directory.
    fn new(server: &Server) -> Result<Pair, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let options = Options {
            fsync: Fsync::No,
            ..Options::default()
        };
        let kvdb = Side::new(Session::new(Db::open_with(dir.path(), options)?));
        let mut pair = Pair::of(kvdb, Side::new(server.connect()?))?;
        pair._dir = Some(dir);
        Ok(pair)
    }

    /// Two sides, emptied (FLUSHALL) and on database 0.
    fn of(kvdb: Side, redis: Side) -> Result<Pair, Box<dyn std::error::Error>> {
        let mut pair = Pair {
            kvdb,
            redis,
            _dir: None,
        };
        for argv in [["SELECT", "0"], ["FLUSHALL", "SYNC"]] {
            let (k, r) = pair.both(&argv);
            if k != Reply::ok() || r != Reply::ok() {
                return Err(format!("{argv:?}: kvdb {k:?}, redis {r:?}").into());
            }
        }
        Ok(pair)
    }

    /// Runs `argv` on kvdb, then on Redis.
    fn both<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> (Reply, Reply) {
        let kvdb = self.kvdb.execute(argv);
        let redis = self.redis.execute(argv);
        (kvdb, redis)
    }

    /// Runs `argv` on both sides and fails unless the replies agree as in the random sequences
    /// (exactly, or within the tolerance of its command).
    fn agree(&mut self, argv: &[&str]) {
        let (kvdb, redis) = self.both(argv);
        let argv: Vec<Vec<u8>> = argv.iter().map(|a| a.as_bytes().to_vec()).collect();
        if let Err(why) = compare(&argv, &kvdb, &redis) {
            panic!(
                "{} ({why})\n  kvdb  {}\n  redis {}",
                show_command(&argv),
                show(&kvdb),
                show(&redis)
            );
        }
    }

    /// Runs `argv` on both sides and fails unless both replies are `expected`.
    fn expect(&mut self, argv: &[&str], expected: Reply) {
        let (kvdb, redis) = self.both(argv);
        assert!(
            kvdb == expected && redis == expected,
            "{}\n  expected {}\n  kvdb     {}\n  redis    {}",
            show_command(argv),
            show(&expected),
            show(&kvdb),
            show(&redis)
        );
    }
}

/// The seeds to run: `KVDB_DIFF_SEED`, or 1..=`KVDB_DIFF_RUNS` (default `runs`).
fn seeds(runs: u64) -> Result<Vec<u64>, Box<dyn std::error::Error>> {
    Ok(match std::env::var("KVDB_DIFF_SEED") {
        Ok(seed) => vec![seed.parse()?],
        Err(_) => {
            let runs = match std::env::var("KVDB_DIFF_RUNS") {
                Ok(runs) => runs.parse()?,
                Err(_) => runs,
            };
            (1..=runs).collect()
        }
    })
}

#[test]
fn random_command_sequences_match_redis() -> TestResult {
    let _serial = serial();
    let server = Server::start()?;
    for seed in seeds(RUNS)? {
        run_sequence(&mut Pair::new(&server)?, seed)?;
    }
    Ok(())
}

/// One executed step, kept for the failure report.
struct Done {
    argv: Vec<Vec<u8>>,
    kvdb: Reply,
    redis: Reply,
}

/// Runs the sequence of `seed` on both sides of `pair` (emptied beforehand).
fn run_sequence(pair: &mut Pair, seed: u64) -> TestResult {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut history: Vec<Done> = Vec::new();
    let fail = |history: &[Done], index: usize, what: String| -> ! {
        let mut report = format!(
            "kvdb and redis disagree: seed {seed}, command #{index} \
             (replay with KVDB_DIFF_SEED={seed})\n{what}\nlast commands before it:\n"
        );
        for (i, done) in history
            .iter()
            .enumerate()
            .skip(history.len().saturating_sub(15))
        {
            report.push_str(&format!(
                "  #{i} {}\n      kvdb {}  redis {}\n",
                show_command(&done.argv),
                show(&done.kvdb),
                show(&done.redis)
            ));
        }
        panic!("{report}");
    };
    for index in 0..STEPS {
        match generate::step(&mut rng) {
            Step::Command(argv) => {
                let (kvdb, redis) = pair.both(&argv);
                let verdict = compare(&argv, &kvdb, &redis)
                    .and_then(|()| check_random_key(&mut pair.kvdb, &argv, &kvdb));
                if let Err(why) = verdict {
                    fail(
                        &history,
                        index,
                        format!(
                            "  command {}\n  kvdb  {}\n  redis {}\n  ({why})",
                            show_command(&argv),
                            show(&kvdb),
                            show(&redis)
                        ),
                    );
                }
                let settled = settle(&argv);
                history.push(Done { argv, kvdb, redis });
                if let Some(argv) = settled {
                    let (kvdb, redis) = pair.both(&argv);
                    if let Err(why) = compare(&argv, &kvdb, &redis) {
                        fail(
                            &history,
                            index,
                            format!(
                                "  follow-up {}\n  kvdb  {}\n  redis {}\n  ({why})",
                                show_command(&argv),
                                show(&kvdb),
                                show(&redis)
                            ),
                        );
                    }
                    history.push(Done { argv, kvdb, redis });
                }
            }
            Step::FullScan(options) => {
                let kvdb = full_scan(&options, |argv| pair.kvdb.execute(argv));
                let redis = full_scan(&options, |argv| pair.redis.execute(argv));
                if kvdb != redis {
                    fail(
                        &history,
                        index,
                        format!(
                            "  full SCAN with options {}\n  kvdb  {}\n  redis {}",
                            show_command(&options),
                            show_scan(&kvdb),
                            show_scan(&redis)
                        ),
                    );
                }
            }
        }
    }
    compare_contents(pair).map_err(|why| {
        format!("seed {seed}: contents differ after the sequence (KVDB_DIFF_SEED={seed}): {why}")
    })?;
    Ok(())
}

/// The command that makes both sides agree on DBSIZE after `argv`, if it needs one.
///
/// `SET key value EXAT/PXAT <past>` leaves the key in Redis 7.0 as logically expired: no read
/// sees it, but DBSIZE counts it until active expiry reaps it, up to ~100 ms later (or an
/// access deletes it). kvdb deletes it at once. DBSIZE in that window depends on timing even
/// on Redis alone, so an EXISTS on the key (itself compared) settles both before going on.
fn settle(argv: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    let absolute = argv
        .iter()
        .skip(3)
        .any(|a| a.eq_ignore_ascii_case(b"EXAT") || a.eq_ignore_ascii_case(b"PXAT"));
    (argv.len() > 3 && argv[0].eq_ignore_ascii_case(b"SET") && absolute)
        .then(|| vec![b"EXISTS".to_vec(), argv[1].clone()])
}

/// Whether two replies to `argv` agree; `Err` says how they do not.
fn compare(argv: &[Vec<u8>], kvdb: &Reply, redis: &Reply) -> Result<(), String> {
    if kvdb.is_error() || redis.is_error() {
        return exact(kvdb, redis);
    }
    let name = String::from_utf8_lossy(&argv[0]).to_ascii_uppercase();
    if let Some(verdict) = hash::compare(&name, argv, kvdb, redis)
        .or_else(|| list::compare(&name, argv, kvdb, redis))
        .or_else(|| set::compare(&name, argv, kvdb, redis))
        .or_else(|| zset::compare(&name, argv, kvdb, redis))
        .or_else(|| zset_algebra::compare(&name, argv, kvdb, redis))
    {
        return verdict;
    }
    match (name.as_str(), kvdb, redis) {
        ("TTL" | "EXPIRETIME", Reply::Integer(a), Reply::Integer(b)) => within(*a, *b, 1),
        ("PTTL" | "PEXPIRETIME", Reply::Integer(a), Reply::Integer(b)) => within(*a, *b, 100),
        ("KEYS", Reply::Array(a), Reply::Array(b)) => {
            let (mut a, mut b) = (a.clone(), b.clone());
            a.sort_by(order);
            b.sort_by(order);
            exact(&Reply::Array(a), &Reply::Array(b))
        }
        ("SCAN", _, _) => {
            scan_page(kvdb).map_err(|e| format!("kvdb's SCAN reply: {e}"))?;
            scan_page(redis).map_err(|e| format!("redis's SCAN reply: {e}"))?;
            Ok(())
        }
        ("RANDOMKEY", Reply::Bulk(_), Reply::Bulk(_)) => Ok(()),
        ("TIME", _, _) => {
            time_shape(kvdb).map_err(|e| format!("kvdb's TIME reply: {e}"))?;
            time_shape(redis).map_err(|e| format!("redis's TIME reply: {e}"))
        }
        _ => exact(kvdb, redis),
    }
}

fn exact(kvdb: &Reply, redis: &Reply) -> Result<(), String> {
    if kvdb == redis {
        Ok(())
    } else {
        Err("replies differ".into())
    }
}

/// TTL-like integers: -2 and -1 exactly, times within `tolerance`.
fn within(kvdb: i64, redis: i64, tolerance: i64) -> Result<(), String> {
    let agree = if kvdb < 0 || redis < 0 {
        kvdb == redis
    } else {
        kvdb.abs_diff(redis) <= tolerance.unsigned_abs()
    };
    if agree {
        Ok(())
    } else {
        Err(format!("differ by more than {tolerance}"))
    }
}

fn order(a: &Reply, b: &Reply) -> std::cmp::Ordering {
    match (a, b) {
        (Reply::Bulk(a), Reply::Bulk(b)) => a.cmp(b),
        _ => format!("{a:?}").cmp(&format!("{b:?}")),
    }
}

/// The cursor and keys of a SCAN reply, if it has SCAN's shape.
fn scan_page(reply: &Reply) -> Result<(Vec<u8>, Vec<Vec<u8>>), String> {
    let Reply::Array(parts) = reply else {
        return Err("not an array".into());
    };
    let [Reply::Bulk(cursor), Reply::Array(keys)] = parts.as_slice() else {
        return Err("not [cursor, [keys]]".into());
    };
    if cursor.is_empty() || !cursor.iter().all(u8::is_ascii_digit) {
        return Err("the cursor is not a decimal number".into());
    }
    let keys = keys
        .iter()
        .map(|k| match k {
            Reply::Bulk(k) => Ok(k.clone()),
            _ => Err("a key is not a bulk string".to_owned()),
        })
        .collect::<Result<_, _>>()?;
    Ok((cursor.clone(), keys))
}

fn time_shape(reply: &Reply) -> Result<(), String> {
    match reply {
        Reply::Array(parts)
            if parts.len() == 2
                && parts.iter().all(|p| {
                    matches!(p, Reply::Bulk(d) if !d.is_empty() && d.iter().all(u8::is_ascii_digit))
                }) =>
        {
            Ok(())
        }
        _ => Err("not [seconds, microseconds]".into()),
    }
}

/// RANDOMKEY's key must exist where it came from.
fn check_random_key(kvdb: &mut Side, argv: &[Vec<u8>], reply: &Reply) -> Result<(), String> {
    if !argv[0].eq_ignore_ascii_case(b"RANDOMKEY") {
        return Ok(());
    }
    match reply {
        Reply::Bulk(key) => match kvdb.execute(&[b"EXISTS".as_slice(), key]) {
            Reply::Integer(1) => Ok(()),
            other => Err(format!("kvdb's random key: EXISTS says {}", show(&other))),
        },
        _ => Ok(()),
    }
}

/// Iterates SCAN with `options` from cursor 0 to the end: the set of keys, or the first error
/// or malformed reply.
fn full_scan(
    options: &[Vec<u8>],
    mut execute: impl FnMut(&[Vec<u8>]) -> Reply,
) -> Result<BTreeSet<Vec<u8>>, String> {
    let mut keys = BTreeSet::new();
    let mut cursor = b"0".to_vec();
    for _ in 0..MAX_SCAN_CALLS {
        let mut argv = vec![b"SCAN".to_vec(), cursor];
        argv.extend(options.iter().cloned());
        let reply = execute(&argv);
        if reply.is_error() {
            return Err(show(&reply));
        }
        let (next, page) = scan_page(&reply)?;
        keys.extend(page);
        if next == b"0" {
            return Ok(keys);
        }
        cursor = next;
    }
    Err(format!("no end after {MAX_SCAN_CALLS} calls"))
}

/// Compares every database: the key sets, and each key's value and PTTL.
fn compare_contents(pair: &mut Pair) -> Result<(), String> {
    for db in 0..DBS {
        let select = ["SELECT".to_owned(), db.to_string()];
        let (k, r) = pair.both(&select);
        exact(&k, &r)?;
        let (k, r) = pair.both(&["DBSIZE"]);
        exact(&k, &r).map_err(|_| format!("db {db}: DBSIZE {} vs {}", show(&k), show(&r)))?;
        let (kvdb, redis) = pair.both(&["KEYS", "*"]);
        compare(&[b"KEYS".to_vec()], &kvdb, &redis)
            .map_err(|_| format!("db {db}: KEYS * {} vs {}", show(&kvdb), show(&redis)))?;
        let Reply::Array(keys) = kvdb else {
            return Err(format!("db {db}: KEYS * gave {}", show(&kvdb)));
        };
        for key in keys {
            let Reply::Bulk(key) = key else {
                return Err(format!("db {db}: KEYS * gave {}", show(&key)));
            };
            let (k, r) = pair.both(&[b"TYPE".to_vec(), key.clone()]);
            exact(&k, &r).map_err(|_| format!("db {db}: TYPE {} vs {}", show(&k), show(&r)))?;
            // The whole value, in a form that does not depend on element order where Redis
            // leaves it unspecified.
            let read: &[&str] = match &k {
                Reply::Status(t) if t == "hash" => &["HGETALL"],
                Reply::Status(t) if t == "set" => &["SMEMBERS"],
                Reply::Status(t) if t == "zset" => &["ZRANGE", "0", "-1", "WITHSCORES"],
                Reply::Status(t) if t == "list" => &["LRANGE", "0", "-1"],
                _ => &["GET"],
            };
            let mut read: Vec<Vec<u8>> = read.iter().map(|a| a.as_bytes().to_vec()).collect();
            read.insert(1, key.clone());
            for argv in [read, vec![b"PTTL".to_vec(), key.clone()]] {
                let (k, r) = pair.both(&argv);
                compare(&argv, &k, &r).map_err(|_| {
                    format!(
                        "db {db}: {} {} vs {}",
                        show_command(&argv),
                        show(&k),
                        show(&r)
                    )
                })?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Rendering for failure reports.

fn show_bytes(bytes: &[u8]) -> String {
    const SHOWN: usize = 200;
    let escaped = bytes[..bytes.len().min(SHOWN)].escape_ascii().to_string();
    if bytes.len() > SHOWN {
        format!("\"{escaped}\"...({} bytes)", bytes.len())
    } else {
        format!("\"{escaped}\"")
    }
}

fn show_command<A: AsRef<[u8]>>(argv: &[A]) -> String {
    argv.iter()
        .map(|a| show_bytes(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn show(reply: &Reply) -> String {
    match reply {
        Reply::Bulk(bytes) => show_bytes(bytes),
        Reply::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(show).collect::<Vec<_>>().join(", ")
            )
        }
        Reply::Status(s) => format!("+{s}"),
        Reply::Error(e) => format!("-{e}"),
        Reply::Integer(n) => format!(":{n}"),
        Reply::Nil => "(nil)".into(),
        other => format!("{other:?}"),
    }
}

fn show_scan(result: &Result<BTreeSet<Vec<u8>>, String>) -> String {
    match result {
        Ok(keys) => format!(
            "{{{}}}",
            keys.iter()
                .map(|k| show_bytes(k))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(e) => format!("error: {e}"),
    }
}
