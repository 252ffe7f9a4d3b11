//! Removing a whole collection costs one record, whatever its size, and what it removed stays
//! removed after a reopen: DEL of a hash of 1M fields, EXPIRE of a big set (by the clock
//! passing its deadline, and by an instant already past), and SET over a big sorted set.
//!
//! Each element is its own record in the log (see `src/collection/mod.rs`), so a naive design
//! would write one tombstone per element; kvdb writes one record for the key, and the elements
//! of the dead version are skipped at replay. The tests measure the bytes appended with
//! `Db::log_position` (a bound, not a time: timings are printed, never asserted), then reopen
//! and check that no element comes back, not even into a new collection of the same name.

use std::sync::Arc;
use std::time::Instant;

use kvdb::clock::ManualClock;
use kvdb::{Db, Fsync, Options, Reply};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Fields of the hash that DEL removes. In a debug build on 2 shared vCPUs, building it took
/// 13-20 s and the reopen over its dead records 5-10 s; the whole file runs in 25-40 s.
const HASH_FIELDS: usize = 1_000_000;
/// Members of the sets and the sorted set. Fewer than the hash's fields: what is tested does
/// not depend on the size (the hash shows it at 1M), and three more collections of 1M would
/// about double this file's debug-build run time.
const MEMBERS: usize = 200_000;
/// Elements per HSET / SADD / ZADD while building.
const BATCH: usize = 1_000;
/// Bound on the bytes appended by a change that must be one record of the key (a tombstone,
/// an expiry, a string: about 40 bytes with these names); element by element, the smallest
/// collection here would take megabytes.
const ONE_RECORD: u64 = 200;
/// Start of the manual clock (Unix ms): 2026-11-18 11:06:40 UTC.
const NOW_MS: u64 = 1_795_000_000_000;

fn options(clock: Option<Arc<ManualClock>>) -> Options {
    let mut options = Options {
        fsync: Fsync::No,
        // Expiry happens when the test reads the key, not in the background.
        active_expiry: None,
        ..Options::default()
    };
    if let Some(clock) = clock {
        options.clock = clock;
    }
    options
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

/// Runs `argv` and fails the test unless the reply is `expected`.
fn expect(db: &Db, argv: &[&str], expected: Reply) {
    let reply = db.execute(argv);
    assert_eq!(reply, expected, "{argv:?}");
}

/// Element `i`'s name: 16 bytes, as redis-benchmark's keys.
fn name(i: usize) -> String {
    format!("elem:{i:011}")
}

/// Adds elements `0..n` (named by [`name`]) to `key` with `command`, `BATCH` per call: HSET
/// with a 10-byte value per field, SADD, or ZADD with score `i`.
fn build(db: &Db, command: &str, key: &str, n: usize) -> Result<(), String> {
    let started = Instant::now();
    let mut argv: Vec<String> = Vec::with_capacity(2 + 2 * BATCH);
    for first in (0..n).step_by(BATCH) {
        argv.clear();
        argv.push(command.to_owned());
        argv.push(key.to_owned());
        let last = (first + BATCH).min(n);
        for i in first..last {
            match command {
                // A 10-byte value per field.
                "HSET" => argv.extend([name(i), format!("value:{i:04}")]),
                "SADD" => argv.push(name(i)),
                // Score, then member.
                "ZADD" => argv.extend([i.to_string(), name(i)]),
                other => return Err(format!("no builder for {other}")),
            }
        }
        let added = (last - first) as i64;
        match db.execute(&argv) {
            Reply::Integer(got) if got == added => {}
            other => {
                return Err(format!(
                    "{command} {key} (elements {first}..{last}): {other:?}"
                ));
            }
        }
    }
    eprintln!(
        "built {key}: {n} elements with {command} in {:.1?}",
        started.elapsed()
    );
    Ok(())
}

/// Bytes appended to the log by `f`; the segment must not change meanwhile (the default
/// 128 MiB segments are larger than any log written here).
fn appended(db: &Db, what: &str, f: impl FnOnce()) -> u64 {
    let (segment, before) = db.log_position();
    let started = Instant::now();
    f();
    let elapsed = started.elapsed();
    let (segment_after, after) = db.log_position();
    assert_eq!(segment, segment_after, "{what} started a new segment");
    let bytes = after - before;
    eprintln!("{what}: {bytes} bytes appended, {elapsed:.1?}");
    bytes
}

#[test]
fn deleting_a_hash_of_a_million_fields_writes_one_record_and_nothing_comes_back() -> TestResult {
    let dir = tempfile::tempdir()?;
    {
        let db = Db::open_with(dir.path(), options(None))?;
        build(&db, "HSET", "big", HASH_FIELDS)?;
        expect(&db, &["HLEN", "big"], Reply::Integer(HASH_FIELDS as i64));
        expect(&db, &["HGET", "big", &name(123_456)], bulk("value:123456"));
        let bytes = appended(&db, "DEL of a 1M-field hash", || {
            expect(&db, &["DEL", "big"], Reply::Integer(1));
        });
        assert!(bytes < ONE_RECORD, "DEL wrote {bytes} bytes");
        expect(&db, &["EXISTS", "big"], Reply::Integer(0));
        expect(&db, &["HLEN", "big"], Reply::Integer(0));
    }
    let started = Instant::now();
    let db = Db::open_with(dir.path(), options(None))?;
    eprintln!(
        "reopen over {HASH_FIELDS} dead field records: {:.1?}",
        started.elapsed()
    );
    expect(&db, &["EXISTS", "big"], Reply::Integer(0));
    expect(&db, &["HLEN", "big"], Reply::Integer(0));
    expect(&db, &["HGET", "big", &name(0)], Reply::Nil);
    expect(&db, &["DBSIZE"], Reply::Integer(0));
    // A new hash of the same name holds only its own field, now and after another reopen
    // (the old version's records are still in the log).
    expect(&db, &["HSET", "big", &name(7), "new"], Reply::Integer(1));
    expect(&db, &["HLEN", "big"], Reply::Integer(1));
    drop(db);
    let db = Db::open_with(dir.path(), options(None))?;
    expect(&db, &["HLEN", "big"], Reply::Integer(1));
    expect(&db, &["HGET", "big", &name(7)], bulk("new"));
    expect(&db, &["HGET", "big", &name(8)], Reply::Nil);
    Ok(())
}

#[test]
fn expiring_a_big_set_writes_one_record_and_nothing_comes_back() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(NOW_MS);
    {
        let db = Db::open_with(dir.path(), options(Some(Arc::clone(&clock))))?;
        build(&db, "SADD", "later", MEMBERS)?;
        build(&db, "SADD", "past", MEMBERS)?;

        // A deadline that the clock then passes: the EXPIRE is one record, and so is the
        // deletion when the key is found expired.
        let bytes = appended(&db, "PEXPIRE of a big set", || {
            expect(&db, &["PEXPIRE", "later", "1000"], Reply::Integer(1));
        });
        assert!(bytes < ONE_RECORD, "PEXPIRE wrote {bytes} bytes");
        expect(&db, &["SCARD", "later"], Reply::Integer(MEMBERS as i64));
        clock.advance(1_001);
        let bytes = appended(&db, "lazy expiry of a big set", || {
            expect(&db, &["SCARD", "later"], Reply::Integer(0));
        });
        assert!(bytes < ONE_RECORD, "the expiry wrote {bytes} bytes");
        expect(&db, &["EXISTS", "later"], Reply::Integer(0));

        // An instant already past deletes at once.
        let past = (NOW_MS - 60_000).to_string();
        let bytes = appended(&db, "PEXPIREAT in the past of a big set", || {
            expect(&db, &["PEXPIREAT", "past", &past], Reply::Integer(1));
        });
        assert!(bytes < ONE_RECORD, "PEXPIREAT wrote {bytes} bytes");
        expect(&db, &["EXISTS", "past"], Reply::Integer(0));
        expect(&db, &["SISMEMBER", "past", &name(1)], Reply::Integer(0));
    }
    let db = Db::open_with(dir.path(), options(Some(Arc::clone(&clock))))?;
    for key in ["later", "past"] {
        expect(&db, &["EXISTS", key], Reply::Integer(0));
        expect(&db, &["SCARD", key], Reply::Integer(0));
        expect(&db, &["SISMEMBER", key, &name(5)], Reply::Integer(0));
        expect(&db, &["SADD", key, "fresh"], Reply::Integer(1));
        expect(&db, &["SCARD", key], Reply::Integer(1));
        expect(&db, &["TTL", key], Reply::Integer(-1));
    }
    drop(db);
    let db = Db::open_with(dir.path(), options(Some(clock)))?;
    for key in ["later", "past"] {
        expect(&db, &["SCARD", key], Reply::Integer(1));
        expect(&db, &["SISMEMBER", key, "fresh"], Reply::Integer(1));
        expect(&db, &["SISMEMBER", key, &name(5)], Reply::Integer(0));
    }
    Ok(())
}

#[test]
fn a_set_over_a_big_sorted_set_writes_one_record_and_nothing_comes_back() -> TestResult {
    let dir = tempfile::tempdir()?;
    {
        let db = Db::open_with(dir.path(), options(None))?;
        build(&db, "ZADD", "board", MEMBERS)?;
        expect(&db, &["ZCARD", "board"], Reply::Integer(MEMBERS as i64));
        let bytes = appended(&db, "SET over a big sorted set", || {
            expect(&db, &["SET", "board", "closed"], Reply::ok());
        });
        assert!(bytes < ONE_RECORD, "SET wrote {bytes} bytes");
        expect(&db, &["GET", "board"], bulk("closed"));
    }
    let db = Db::open_with(dir.path(), options(None))?;
    expect(&db, &["TYPE", "board"], Reply::Status("string".into()));
    expect(&db, &["GET", "board"], bulk("closed"));
    expect(
        &db,
        &["ZSCORE", "board", &name(9)],
        Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into()),
    );
    expect(&db, &["DEL", "board"], Reply::Integer(1));
    expect(&db, &["ZADD", "board", "1", "only"], Reply::Integer(1));
    drop(db);
    let db = Db::open_with(dir.path(), options(None))?;
    expect(&db, &["ZCARD", "board"], Reply::Integer(1));
    expect(&db, &["ZSCORE", "board", &name(9)], Reply::Nil);
    expect(
        &db,
        &["ZRANGE", "board", "0", "-1"],
        Reply::Array(vec![bulk("only")]),
    );
    Ok(())
}
