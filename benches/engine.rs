//! Benchmarks of a whole database through its typed API (`Db::set`, `get`, `del`, `incr`), one
//! comparison with the argv front end (`Db::execute`), group commit under `appendfsync always`,
//! sealed-segment reads through mmap vs `pread`, and reopening a database of 1M keys.
//!
//! Conditions, so the numbers can be read right:
//!
//! * Keys are 16 bytes (`key:000000000042`, the shape `redis-benchmark -r` uses). Values are
//!   random bytes, so they do not compress: a 4 KiB value is above the default 1 KiB
//!   compression threshold, and its put pays for a zstd attempt whose result is thrown away
//!   (`4KiB_no_compression` turns the attempt off to show what it costs).
//! * Throughput benches use `Fsync::No`: a write is a `pwrite` into the page cache, and what is
//!   measured is kvdb, not the disk. Sealing a full segment still fsyncs it, and that cost is
//!   included. `engine/fsync_always` shows what durability costs per write on this disk, with 1
//!   and with 8 writer threads (group commit: the 8 share fsyncs; the count is printed).
//! * Databases live in a fresh temporary directory (`TMPDIR` decides the disk) and every read
//!   is served from a warm page cache: these are CPU and syscall costs, not disk latency.
//! * Fixtures are built lazily inside the benchmark closure, so a filtered run
//!   (`cargo bench --bench engine -- reopen`) builds only what it runs.
//!
//! Run: `cargo bench --bench engine -- --warm-up-time 1 --measurement-time 3`.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::cell::OnceCell;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kvdb::log::IoObserver;
use kvdb::{Db, Fsync, Options, SetOptions};
use tempfile::TempDir;

mod common;
use common::key;

/// Keys preloaded for the read, overwrite, INCR and execute benches.
const KEYS: u64 = 100_000;
/// Keys preloaded for the 4 KiB read benches (about 82 MB of log).
const KEYS_4K: u64 = 20_000;
/// Keys in the reopen bench.
const REOPEN_KEYS: u64 = 1_000_000;
/// Writer threads in the group-commit bench.
const THREADS: u64 = 8;

/// `len` random (incompressible) bytes.
fn value(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    fastrand::fill(&mut v);
    v
}

fn options(fsync: Fsync) -> Options {
    Options {
        fsync,
        ..Options::default()
    }
}

/// An open database and the directory it lives in (removed on drop, after the database).
struct Fixture {
    db: Db,
    _dir: TempDir,
}

impl Fixture {
    fn new(options: Options) -> Fixture {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        Fixture::open(dir, options)
    }

    fn open(dir: TempDir, options: Options) -> Fixture {
        let db = Db::open_with(dir.path(), options).expect("open the bench database");
        Fixture { db, _dir: dir }
    }

    /// Sets keys `0..n` to `value`.
    fn fill(self, n: u64, value: &[u8]) -> Fixture {
        fill(&self.db, n, value);
        self
    }
}

fn fill(db: &Db, n: u64, value: &[u8]) {
    for i in 0..n {
        db.set(&key(i), value, SetOptions::default())
            .expect("fill the bench database");
    }
}

fn set(db: &Db, i: u64, value: &[u8]) {
    db.set(&key(i), value, SetOptions::default())
        .expect("SET in a bench");
}

/// Counts fsyncs, to show how many writes each one covered.
#[derive(Debug, Default)]
struct SyncCounter {
    syncs: AtomicU64,
}

impl IoObserver for SyncCounter {
    fn created(&self, _: &Path) {}
    fn written(&self, _: &Path, _: u64) {}
    fn truncated(&self, _: &Path, _: u64) {}
    fn synced(&self, _: &Path) {
        self.syncs.fetch_add(1, Ordering::Relaxed);
    }
    fn removed(&self, _: &Path) {}
    fn dir_synced(&self, _: &Path) {}
}

/// Writes of every kind with `Fsync::No`.
fn writes(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/write_fsync_no");
    group.throughput(Throughput::Elements(1));

    for (name, len, compression_threshold) in [
        ("100B", 100, Options::default().compression_threshold),
        ("4KiB", 4096, Options::default().compression_threshold),
        ("4KiB_no_compression", 4096, usize::MAX),
    ] {
        let fixture = OnceCell::new();
        let v = value(len);
        let mut next = 0;
        group.bench_function(format!("set_new_key/{name}"), |b| {
            let f = fixture.get_or_init(|| {
                Fixture::new(Options {
                    compression_threshold,
                    ..options(Fsync::No)
                })
            });
            b.iter(|| {
                set(&f.db, next, &v);
                next += 1;
            });
        });
    }

    let fixture = OnceCell::new();
    let v = value(100);
    let init = || Fixture::new(options(Fsync::No)).fill(KEYS, &v);
    group.bench_function("set_overwrite/100B", |b| {
        let f = fixture.get_or_init(init);
        b.iter(|| set(&f.db, fastrand::u64(..KEYS), &v));
    });
    // The SET that creates each key runs in the untimed setup.
    let mut next = KEYS;
    group.bench_function("del_existing/100B", |b| {
        let f = fixture.get_or_init(init);
        b.iter_batched(
            || {
                next += 1;
                set(&f.db, next, &v);
                key(next)
            },
            |k| f.db.del(&[&k]).expect("DEL in a bench"),
            BatchSize::SmallInput,
        );
    });
    let counters = OnceCell::new();
    group.bench_function("incr", |b| {
        let f = counters.get_or_init(|| {
            let f = Fixture::new(options(Fsync::No));
            for i in 0..KEYS {
                f.db.incr(&key(i)).expect("create a counter");
            }
            f
        });
        b.iter(|| {
            f.db.incr(&key(fastrand::u64(..KEYS)))
                .expect("INCR in a bench")
        });
    });
    group.finish();
}

/// GET from the active segment (always `pread`) and from sealed ones (mmap or `pread`).
fn reads(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/get");
    group.throughput(Throughput::Elements(1));
    for (name, len, n) in [("100B", 100, KEYS), ("4KiB", 4096, KEYS_4K)] {
        let v = value(len);
        let active = OnceCell::new();
        group.bench_function(format!("{name}/active_segment"), |b| {
            let f = active.get_or_init(|| Fixture::new(options(Fsync::No)).fill(n, &v));
            b.iter(|| f.db.get(&key(fastrand::u64(..n))).expect("GET in a bench"));
        });
        drop(active);

        // Built once, then opened once per read path; only one is open at a time (the
        // directory lock).
        let sealed_dir = OnceCell::new();
        for mmap in [true, false] {
            let fixture: OnceCell<Db> = OnceCell::new();
            let path = if mmap { "mmap" } else { "pread" };
            group.bench_function(format!("{name}/sealed_segment_{path}"), |b| {
                let db = fixture.get_or_init(|| {
                    let dir: &TempDir = sealed_dir.get_or_init(|| sealed_only(n, &v));
                    Db::open_with(
                        dir.path(),
                        Options {
                            mmap,
                            ..options(Fsync::No)
                        },
                    )
                    .expect("reopen the sealed database")
                });
                b.iter(|| db.get(&key(fastrand::u64(..n))).expect("GET in a bench"));
            });
        }
    }
    group.finish();
}

/// A directory whose keys `0..n` (set to `value`) all sit in sealed 4 MiB segments: a filler
/// record that does not fit the last one forces it to be sealed.
fn sealed_only(n: u64, value: &[u8]) -> TempDir {
    const SEGMENT_SIZE: u64 = 4 * 1024 * 1024;
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let opts = Options {
        segment_size: SEGMENT_SIZE,
        ..options(Fsync::No)
    };
    let db = Db::open_with(dir.path(), opts).expect("open the bench database");
    fill(&db, n, value);
    let filler = vec![0u8; SEGMENT_SIZE as usize];
    db.set(b"filler", &filler, SetOptions::default())
        .expect("write the filler");
    assert!(
        db.segment_count() > 2,
        "the keys should span sealed segments"
    );
    dir
}

/// The same SET and GET through the typed API and through `Db::execute` (argv parsing,
/// command lookup, reply building).
fn front_ends(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/typed_vs_execute");
    group.throughput(Throughput::Elements(1));
    let v = value(100);
    let fixture = OnceCell::new();
    let init = || Fixture::new(options(Fsync::No)).fill(KEYS, &v);
    group.bench_function("set_overwrite/typed", |b| {
        let f = fixture.get_or_init(init);
        b.iter(|| set(&f.db, fastrand::u64(..KEYS), &v));
    });
    group.bench_function("set_overwrite/execute", |b| {
        let f = fixture.get_or_init(init);
        b.iter(|| {
            let k = key(fastrand::u64(..KEYS));
            f.db.execute(&[&b"SET"[..], &k, &v])
        });
    });
    group.bench_function("get/typed", |b| {
        let f = fixture.get_or_init(init);
        b.iter(|| {
            f.db.get(&key(fastrand::u64(..KEYS)))
                .expect("GET in a bench")
        });
    });
    group.bench_function("get/execute", |b| {
        let f = fixture.get_or_init(init);
        b.iter(|| {
            let k = key(fastrand::u64(..KEYS));
            f.db.execute(&[&b"GET"[..], &k])
        });
    });
    group.finish();
}

/// `Fsync::Always`: each SET returns only once durable. With 8 threads, writers that queue
/// behind an fsync in progress are covered by the next one (group commit).
fn fsync_always(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/fsync_always");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    let v = value(100);
    for threads in [1, THREADS] {
        let counter = Arc::new(SyncCounter::default());
        let fixture = OnceCell::new();
        let next = AtomicU64::new(0);
        group.bench_function(format!("set_new_key_100B/{threads}_threads"), |b| {
            let f = fixture.get_or_init(|| {
                Fixture::new(Options {
                    observer: Some(Arc::clone(&counter) as Arc<dyn IoObserver>),
                    ..options(Fsync::Always)
                })
            });
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for t in 0..threads {
                        let n = iters / threads + u64::from(t < iters % threads);
                        let (db, v, next) = (&f.db, &v, &next);
                        s.spawn(move || {
                            for _ in 0..n {
                                set(db, next.fetch_add(1, Ordering::Relaxed), v);
                            }
                        });
                    }
                });
                start.elapsed()
            });
        });
        let writes = next.load(Ordering::Relaxed);
        let syncs = counter.syncs.load(Ordering::Relaxed);
        if writes > 0 {
            println!(
                "engine/fsync_always/{threads}_threads: {writes} writes, {syncs} fsyncs, \
                 {:.2} writes per fsync",
                writes as f64 / syncs.max(1) as f64
            );
        }
    }
    group.finish();
}

/// `Db::open` + drop of a database of 1M keys with 100-byte values (one full replay of the
/// log, about 151 MB in two segments; no hint files yet).
fn reopen(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/reopen");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(REOPEN_KEYS));
    let dir = OnceCell::new();
    group.bench_function("1M_keys_100B", |b| {
        let dir: &TempDir = dir.get_or_init(|| {
            let f = Fixture::new(options(Fsync::No)).fill(REOPEN_KEYS, &value(100));
            let Fixture { db, _dir: dir } = f;
            drop(db);
            dir
        });
        b.iter(|| {
            let db = Db::open_with(dir.path(), Options::default()).expect("reopen");
            assert_eq!(db.recovery_report().keys, REOPEN_KEYS as usize);
            black_box(db)
        });
    });
    group.finish();
}

criterion_group!(benches, writes, reads, front_ends, fsync_always, reopen);
criterion_main!(benches);
