//! Compaction and hint files through the library: space is reclaimed and stays bounded, nothing
//! is lost while clients write during a compaction, and hints are used at open, or skipped
//! with a warning when they are damaged.
//!
//! Crash safety of each compaction step is tested by the model test
//! (`tests/model`: `a_power_cut_at_every_step_of_a_compaction_loses_nothing`, and compactions
//! as random steps of every case).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kvdb::{Db, Options, Reply};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn options(segment_size: u64) -> Options {
    Options {
        segment_size,
        auto_compaction: false,
        compaction_min_dead_bytes: 0,
        active_expiry: None,
        ..Options::default()
    }
}

fn ok(reply: Reply) -> Result<Reply, String> {
    match reply {
        Reply::Error(e) => Err(e),
        other => Ok(other),
    }
}

/// Every key of database 0 with its type and whole value, as replies.
fn dump(db: &Db) -> Result<BTreeMap<Vec<u8>, Vec<Reply>>, String> {
    let Reply::Array(keys) = ok(db.execute(&["KEYS", "*"]))? else {
        return Err("KEYS did not return an array".into());
    };
    let mut out = BTreeMap::new();
    for key in keys {
        let Reply::Bulk(key) = key else {
            return Err("a key is not a bulk string".into());
        };
        let k = String::from_utf8_lossy(&key).into_owned();
        let kind = ok(db.execute(&["TYPE", &k]))?;
        let mut value = match &kind {
            Reply::Status(t) if t == "string" => vec![ok(db.execute(&["GET", &k]))?],
            Reply::Status(t) if t == "hash" => vec![sorted(ok(db.execute(&["HGETALL", &k]))?)],
            Reply::Status(t) if t == "set" => vec![sorted(ok(db.execute(&["SMEMBERS", &k]))?)],
            Reply::Status(t) if t == "zset" => {
                vec![ok(db.execute(&["ZRANGE", &k, "0", "-1", "WITHSCORES"]))?]
            }
            Reply::Status(t) if t == "list" => vec![ok(db.execute(&["LRANGE", &k, "0", "-1"]))?],
            other => return Err(format!("unexpected type {other:?}")),
        };
        value.insert(0, kind);
        value.push(ok(db.execute(&["PEXPIRETIME", &k]))?);
        out.insert(key, value);
    }
    Ok(out)
}

/// An array reply as one text with its items sorted (hash and set orders are unspecified).
fn sorted(reply: Reply) -> Reply {
    match reply {
        Reply::Array(items) | Reply::Set(items) => {
            let mut items: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
            items.sort();
            Reply::Bulk(items.join("\n").into_bytes())
        }
        Reply::Map(pairs) => {
            let mut items: Vec<String> = pairs.iter().map(|p| format!("{p:?}")).collect();
            items.sort();
            Reply::Bulk(items.join("\n").into_bytes())
        }
        other => other,
    }
}

/// A workload of every type: overwrites, deletes, element removals and expiries.
fn churn(db: &Db, rounds: usize, seed: u64) -> Result<(), String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    for i in 0..rounds {
        let k = format!("k{}", rng.usize(..200));
        let v = "v".repeat(rng.usize(1..120));
        let n = rng.usize(..30).to_string();
        let argv: Vec<String> = match rng.u8(..12) {
            0..=3 => vec!["SET".into(), k, format!("{v}{i}")],
            4 => vec!["DEL".into(), k],
            5 => vec!["HSET".into(), format!("h{}", rng.usize(..20)), n, v],
            6 => vec!["HDEL".into(), format!("h{}", rng.usize(..20)), n],
            7 => vec!["SADD".into(), format!("s{}", rng.usize(..20)), n],
            8 => vec![
                "ZADD".into(),
                format!("z{}", rng.usize(..20)),
                format!("{i}"),
                n,
            ],
            9 => vec!["RPUSH".into(), format!("l{}", rng.usize(..20)), v],
            10 => vec!["LPOP".into(), format!("l{}", rng.usize(..20))],
            _ => vec!["EXPIRE".into(), k, "100000".into()],
        };
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        ok(db.execute(&argv))?;
    }
    Ok(())
}

/// INFO's reply as text.
fn info_text(reply: Reply) -> Result<String, String> {
    match reply {
        Reply::Bulk(bytes) => String::from_utf8(bytes).map_err(|e| e.to_string()),
        Reply::Verbatim(text) => Ok(text),
        other => Err(format!("INFO replied {other:?}")),
    }
}

fn dir_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().ends_with(".seg") {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

#[test]
fn a_full_compaction_reclaims_dead_space_and_keeps_every_value_across_reopens() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = Db::open_with(dir.path(), options(16 * 1024))?;
    churn(&db, 20_000, 1)?;
    let before = dump(&db)?;
    let info = db.persistence();
    assert!(
        info.dead_bytes() > info.live_bytes(),
        "the churn left little dead: {} dead, {} live",
        info.dead_bytes(),
        info.live_bytes()
    );
    let disk_before = dir_bytes(dir.path())?;

    let runs = db.compact(|_, _| {})?;
    assert!(!runs.is_empty());
    assert_eq!(dump(&db)?, before, "contents changed by the compaction");
    let info = db.persistence();
    let sealed_dead: u64 = info.segments.iter().map(|s| s.reclaimable()).sum();
    assert_eq!(sealed_dead, 0, "dead bytes left: {:?}", info.segments);
    let disk_after = dir_bytes(dir.path())?;
    assert!(
        disk_after * 3 < disk_before,
        "disk {disk_before} -> {disk_after} bytes"
    );
    // Space amplification right after a full compaction: about 1.
    let amplification = info.total_bytes() as f64 / info.live_bytes() as f64;
    assert!(amplification < 1.05, "amplification {amplification}");

    drop(db);
    let db = Db::open_with(dir.path(), options(16 * 1024))?;
    let report = db.recovery_report().clone();
    assert!(
        report.hinted > 0,
        "no segment loaded from a hint: {report:?}"
    );
    assert_eq!(report.hint_failures, 0);
    assert_eq!(dump(&db)?, before, "contents changed by the reopen");
    Ok(())
}

#[test]
fn endless_overwrites_keep_the_disk_bounded_under_the_automatic_policy() -> TestResult {
    // The background thread itself, with the default dead ratio and a small minimum.
    let dir = tempfile::tempdir()?;
    let db = Db::open_with(
        dir.path(),
        Options {
            segment_size: 64 * 1024,
            compaction_min_dead_bytes: 256 * 1024,
            active_expiry: None,
            ..Options::default()
        },
    )?;
    let value = "x".repeat(100);
    let mut peak = 0;
    for round in 0..40 {
        for i in 0..2000 {
            db.execute(&["SET", &format!("key:{i}"), &format!("{value}{round}")]);
        }
        peak = peak.max(dir_bytes(dir.path())?);
        // Give the once-a-second thread its chance, bounded.
        if round % 10 == 9 {
            std::thread::sleep(Duration::from_millis(1100));
        }
    }
    // Once the thread has had a tick after the writes stop, what is left is bounded by the
    // policy: live data, the dead bytes it tolerates, segments not yet worth compacting, and the
    // active segment.
    let deadline = Instant::now() + Duration::from_secs(10);
    let bound =
        |info: &kvdb::persistence::PersistenceInfo| 2 * info.live_bytes() + 256 * 1024 + 64 * 1024;
    let mut info = db.persistence();
    while info.total_bytes() > bound(&info) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        info = db.persistence();
    }
    assert!(info.compactions > 0, "no automatic compaction ran");
    let live = info.live_bytes();
    eprintln!(
        "peak {peak} bytes on disk, {} at rest, for {live} live; {} compactions",
        info.total_bytes(),
        info.compactions
    );
    // 11 MB were written over 2000 keys of ~140 bytes: without compaction the disk would hold
    // all of it. Between two ticks of the once-a-second thread the disk grows by what the
    // writer writes in a second.
    assert!(
        info.total_bytes() <= bound(&info),
        "{} bytes on disk at rest for {live} live",
        info.total_bytes()
    );
    assert!(peak < 11_000_000 / 2, "disk peaked at {peak} bytes");
    Ok(())
}

#[test]
fn writes_and_deletes_during_compactions_are_never_lost() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = Db::open_with(dir.path(), options(8 * 1024))?;
    churn(&db, 5_000, 2)?;
    let done = Arc::new(AtomicBool::new(false));
    let compactor = {
        let db = db.clone();
        let done = Arc::clone(&done);
        std::thread::spawn(move || -> Result<usize, String> {
            let mut runs = 0;
            let deadline = Instant::now() + Duration::from_secs(60);
            while !done.load(Ordering::SeqCst) && Instant::now() < deadline {
                runs += db.compact(|_, _| {}).map_err(|e| e.to_string())?.len();
                db.compact_if_needed().map_err(|e| e.to_string())?;
            }
            Ok(runs)
        })
    };
    // One writer: the expected state is exact. The same keys are set, deleted and changed
    // while segments holding them are being rewritten.
    let mut expected: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut rng = fastrand::Rng::with_seed(3);
    for i in 0..30_000 {
        let key = format!("c{}", rng.usize(..300));
        if rng.u8(..4) == 0 {
            ok(db.execute(&["DEL", &key]))?;
            expected.insert(key, None);
        } else {
            let value = format!("{i}-{}", "y".repeat(rng.usize(..60)));
            ok(db.execute(&["SET", &key, &value]))?;
            expected.insert(key, Some(value));
        }
    }
    done.store(true, Ordering::SeqCst);
    let runs = compactor
        .join()
        .map_err(|_| "the compacting thread panicked")??;
    assert!(runs > 3, "only {runs} compactions ran alongside the writes");
    let check = |db: &Db| -> Result<(), String> {
        for (key, want) in &expected {
            let got = db.execute(&["GET", key]);
            let want = want
                .clone()
                .map_or(Reply::Nil, |v| Reply::Bulk(v.into_bytes()));
            if got != want {
                return Err(format!("{key}: got {got:?}, want {want:?}"));
            }
        }
        Ok(())
    };
    check(&db)?;
    drop(db);
    let db = Db::open_with(dir.path(), options(8 * 1024))?;
    check(&db)?;
    Ok(())
}

#[test]
fn damaged_or_stale_hints_fall_back_to_scanning_their_segment() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = Db::open_with(dir.path(), options(4 * 1024))?;
    churn(&db, 3_000, 4)?;
    let before = dump(&db)?;
    drop(db);
    let mut hints: Vec<_> = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "hint"))
        .collect();
    hints.sort();
    assert!(hints.len() >= 4, "{} hints", hints.len());

    // A flipped byte, a truncation, an empty file, and the hint of another segment.
    let mut bytes = std::fs::read(&hints[0])?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&hints[0], &bytes)?;
    let bytes = std::fs::read(&hints[1])?;
    std::fs::write(&hints[1], &bytes[..bytes.len() - 7])?;
    std::fs::write(&hints[2], b"")?;
    std::fs::copy(&hints[4.min(hints.len() - 1)], &hints[3])?;

    let db = Db::open_with(dir.path(), options(4 * 1024))?;
    let report = db.recovery_report().clone();
    assert_eq!(report.hint_failures, 4, "{report:?}");
    assert_eq!(report.hinted, hints.len() - 4, "{report:?}");
    assert_eq!(dump(&db)?, before);
    Ok(())
}

#[test]
fn save_writes_a_hint_for_every_sealed_segment_and_info_reports_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = Db::open_with(dir.path(), options(4 * 1024))?;
    churn(&db, 2_000, 5)?;
    let (sealed, hinted) = db.persistence().hint_coverage();
    assert!(sealed > 3);
    assert_eq!(
        hinted, 0,
        "auto_compaction is off: nothing writes hints before SAVE"
    );
    assert_eq!(db.execute(&["SAVE"]), Reply::Status("OK".into()));
    let info = db.persistence();
    assert_eq!(info.hint_coverage(), (sealed, sealed));
    let text = info_text(db.execute(&["INFO", "persistence"]))?;
    for field in [
        "aof_enabled:1",
        "aof_rewrite_in_progress:0",
        "rdb_saves:1",
        &format!("kvdb_hinted_segments:{sealed}"),
        &format!("kvdb_live_bytes:{}", info.live_bytes()),
        &format!("kvdb_dead_bytes:{}", info.dead_bytes()),
    ] {
        assert!(text.contains(field), "{field} missing from\n{text}");
    }
    Ok(())
}

#[test]
fn bgrewriteaof_compacts_in_the_background_and_says_so() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = Db::open_with(dir.path(), options(4 * 1024))?;
    churn(&db, 5_000, 6)?;
    let before = dump(&db)?;
    let dead = db.persistence().dead_bytes();
    assert_eq!(
        db.execute(&["BGREWRITEAOF"]),
        Reply::Status("Background append only file rewriting started".into())
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while db.persistence().rewrites == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let info = db.persistence();
    assert_eq!(info.rewrites, 1, "the rewrite did not finish in 30 s");
    assert!(
        info.dead_bytes() < dead / 10,
        "{} -> {}",
        dead,
        info.dead_bytes()
    );
    assert_eq!(dump(&db)?, before);
    let text = info_text(db.execute(&["INFO", "persistence"]))?;
    assert!(text.contains("aof_rewrites:1"), "{text}");
    assert!(text.contains("aof_last_bgrewrite_status:ok"), "{text}");
    assert_eq!(
        db.execute(&["BGSAVE", "now"]),
        Reply::Error("ERR syntax error".into())
    );
    Ok(())
}
