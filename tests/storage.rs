//! The storage engine through the library: binary-safe and large values, compression, segment
//! rotation, reads from sealed segments through mmap and pread, reopen, and the 16 databases.

use kvdb::{Db, Fsync, Options, Reply, SetOptions};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn small_segments(mmap: bool) -> Options {
    Options {
        segment_size: 4096,
        mmap,
        fsync: Fsync::No,
        ..Options::default()
    }
}

#[test]
fn binary_keys_and_values_round_trip_through_reopen() -> TestResult {
    let dir = tempfile::tempdir()?;
    let key: Vec<u8> = (0..=255u8).collect();
    let value: Vec<u8> = (0..=255u8).rev().cycle().take(5000).collect();
    {
        let db = Db::open(dir.path())?;
        db.set(&key, &value, SetOptions::default())?;
        db.set(b"", b"empty key", SetOptions::default())?;
        db.set(b"empty value", b"", SetOptions::default())?;
    }
    let db = Db::open(dir.path())?;
    assert_eq!(db.get(&key)?, Some(value));
    assert_eq!(db.get(b"")?, Some(b"empty key".to_vec()));
    assert_eq!(db.get(b"empty value")?, Some(Vec::new()));
    Ok(())
}

#[test]
fn compressible_values_are_stored_smaller_and_read_back_intact() -> TestResult {
    let dir = tempfile::tempdir()?;
    let value = b"abcdefgh".repeat(100_000);
    let db = Db::open(dir.path())?;
    db.set(b"big", &value, SetOptions::default())?;
    db.sync()?;
    let on_disk: u64 = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "seg"))
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    assert!(
        on_disk < value.len() as u64 / 10,
        "{on_disk} bytes on disk for {} bytes",
        value.len()
    );
    assert_eq!(db.get(b"big")?, Some(value.clone()));
    assert_eq!(db.strlen(b"big")?, value.len() as u64);
    drop(db);
    let db = Db::open(dir.path())?;
    assert_eq!(db.get(b"big")?, Some(value));
    Ok(())
}

#[test]
fn incompressible_large_values_are_stored_as_they_are() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut rng = fastrand::Rng::with_seed(1);
    let value: Vec<u8> = (0..20 * 1024 * 1024).map(|_| rng.u8(..)).collect();
    let db = Db::open(dir.path())?;
    db.set(b"noise", &value, SetOptions::default())?;
    assert_eq!(db.get(b"noise")?.as_deref(), Some(&value[..]));
    assert_eq!(
        db.execute(&[&b"APPEND"[..], b"noise", b"!"]),
        Reply::Integer(value.len() as i64 + 1)
    );
    Ok(())
}

fn rotation_keeps_every_value(mmap: bool) -> TestResult {
    let dir = tempfile::tempdir()?;
    let value = |i: usize| format!("value-{i}-{}", "x".repeat(i % 300)).into_bytes();
    {
        let db = Db::open_with(dir.path(), small_segments(mmap))?;
        for i in 0..2000 {
            db.set(
                format!("key:{i}").as_bytes(),
                &value(i),
                SetOptions::default(),
            )?;
        }
        assert!(
            db.segment_count() > 10,
            "only {} segments",
            db.segment_count()
        );
        // Reads from sealed segments while the database is open.
        for i in (0..2000).step_by(97) {
            assert_eq!(db.get(format!("key:{i}").as_bytes())?, Some(value(i)));
        }
    }
    let db = Db::open_with(dir.path(), small_segments(mmap))?;
    assert_eq!(db.dbsize()?, 2000);
    for i in 0..2000 {
        assert_eq!(
            db.get(format!("key:{i}").as_bytes())?,
            Some(value(i)),
            "key:{i}"
        );
    }
    Ok(())
}

#[test]
fn rotation_keeps_every_value_read_through_mmap() -> TestResult {
    rotation_keeps_every_value(true)
}

#[test]
fn rotation_keeps_every_value_read_through_pread() -> TestResult {
    rotation_keeps_every_value(false)
}

#[test]
fn a_value_larger_than_a_segment_gets_a_segment_of_its_own() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut rng = fastrand::Rng::with_seed(2);
    let big: Vec<u8> = (0..20_000).map(|_| rng.u8(..)).collect();
    let db = Db::open_with(dir.path(), small_segments(true))?;
    db.set(b"a", b"1", SetOptions::default())?;
    db.set(b"big", &big, SetOptions::default())?;
    db.set(b"b", b"2", SetOptions::default())?;
    drop(db);
    let db = Db::open_with(dir.path(), small_segments(true))?;
    assert_eq!(db.get(b"big")?, Some(big));
    assert_eq!(db.get(b"b")?, Some(b"2".to_vec()));
    Ok(())
}

#[test]
fn deletes_overwrites_and_flushes_survive_reopen() -> TestResult {
    let dir = tempfile::tempdir()?;
    {
        let db = Db::open_with(dir.path(), small_segments(true))?;
        for i in 0..300 {
            db.execute(&["SET", &format!("k{i}"), &format!("v{i}")]);
        }
        for i in 0..300 {
            if i % 3 == 0 {
                db.execute(&["DEL", &format!("k{i}")]);
            } else if i % 3 == 1 {
                db.execute(&["SET", &format!("k{i}"), "new"]);
            }
        }
        let other = db.select(5)?;
        other.execute(&["SET", "only-in-5", "x"]);
        other.execute(&["FLUSHDB"]);
        other.execute(&["SET", "after-flush", "y"]);
    }
    let db = Db::open_with(dir.path(), small_segments(true))?;
    for i in 0..300 {
        let expected = match i % 3 {
            0 => Reply::Nil,
            1 => Reply::Bulk(b"new".to_vec()),
            _ => Reply::Bulk(format!("v{i}").into_bytes()),
        };
        assert_eq!(db.execute(&["GET", &format!("k{i}")]), expected, "k{i}");
    }
    let other = db.select(5)?;
    assert_eq!(other.execute(&["GET", "only-in-5"]), Reply::Nil);
    assert_eq!(
        other.execute(&["GET", "after-flush"]),
        Reply::Bulk(b"y".to_vec())
    );
    assert_eq!(other.dbsize()?, 1);
    Ok(())
}

#[test]
fn the_sixteen_databases_are_separate_and_the_seventeenth_does_not_exist() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = Db::open(dir.path())?;
    for i in 0..16 {
        db.select(i)?.execute(&["SET", "k", &i.to_string()]);
    }
    for i in 0..16 {
        assert_eq!(
            db.select(i)?.execute(&["GET", "k"]),
            Reply::Bulk(i.to_string().into_bytes())
        );
    }
    assert!(db.select(16).is_err());
    assert_eq!(db.execute(&["FLUSHALL"]), Reply::ok());
    for i in 0..16 {
        assert_eq!(db.select(i)?.dbsize()?, 0);
    }
    Ok(())
}

#[test]
fn writes_under_fsync_always_from_many_threads_all_land() -> TestResult {
    let dir = tempfile::tempdir()?;
    let options = Options {
        fsync: Fsync::Always,
        ..Options::default()
    };
    {
        let db = Db::open_with(dir.path(), options.clone())?;
        std::thread::scope(|scope| {
            for t in 0..8 {
                let db = db.clone();
                scope.spawn(move || {
                    for i in 0..50 {
                        assert_eq!(db.execute(&["SET", &format!("t{t}:{i}"), "v"]), Reply::ok());
                    }
                });
            }
        });
    }
    let db = Db::open_with(dir.path(), options)?;
    assert_eq!(db.dbsize()?, 400);
    Ok(())
}

#[test]
fn active_expiry_deletes_keys_nobody_reads() -> TestResult {
    let dir = tempfile::tempdir()?;
    let options = Options {
        active_expiry: Some(std::time::Duration::from_millis(10)),
        ..Options::default()
    };
    let db = Db::open_with(dir.path(), options)?;
    for i in 0..200 {
        db.execute(&["SET", &format!("short:{i}"), "v", "PX", "30"]);
    }
    db.execute(&["SET", "long", "v", "EX", "100"]);
    assert_eq!(db.dbsize()?, 201);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while db.dbsize()? > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} keys left",
            db.dbsize()?
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(db.execute(&["EXISTS", "long"]), Reply::Integer(1));
    Ok(())
}

/// Counts fsyncs of segment files, and makes each one slow, like a real disk's.
#[derive(Debug, Default)]
struct SlowSyncCounter {
    syncs: std::sync::atomic::AtomicUsize,
}

impl kvdb::log::IoObserver for SlowSyncCounter {
    fn created(&self, _: &std::path::Path) {}
    fn written(&self, _: &std::path::Path, _: u64) {}
    fn truncated(&self, _: &std::path::Path, _: u64) {}
    fn synced(&self, _: &std::path::Path) {
        self.syncs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    fn removed(&self, _: &std::path::Path) {}
    fn dir_synced(&self, _: &std::path::Path) {}
}

#[test]
fn concurrent_writers_under_fsync_always_share_fsyncs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let counter = std::sync::Arc::new(SlowSyncCounter::default());
    let options = Options {
        fsync: Fsync::Always,
        observer: Some(counter.clone()),
        ..Options::default()
    };
    let db = Db::open_with(dir.path(), options)?;
    let before = counter.syncs.load(std::sync::atomic::Ordering::SeqCst);
    let (threads, writes) = (8, 10);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let db = db.clone();
            scope.spawn(move || {
                for i in 0..writes {
                    assert_eq!(db.execute(&["SET", &format!("t{t}:{i}"), "v"]), Reply::ok());
                }
            });
        }
    });
    let syncs = counter.syncs.load(std::sync::atomic::Ordering::SeqCst) - before;
    // Without group commit every write would fsync once: 80 fsyncs. While one fsync is in
    // flight (20 ms), the other seven threads append and queue; the next fsync covers them all.
    assert!(
        syncs <= threads * writes / 2,
        "{syncs} fsyncs for {} writes",
        threads * writes
    );
    assert_eq!(db.dbsize()?, (threads * writes) as u64);
    Ok(())
}
