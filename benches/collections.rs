//! Benchmarks of the collection commands through the argv front end (`Db::execute`): one
//! command per iteration, on hashes, sets, sorted sets and lists.
//!
//! Conditions, so the numbers can be read right:
//!
//! * Element names are redis-benchmark's: `element:` and 12 zero-padded digits (20 bytes, short
//!   enough to be stored inline in an element slot). Hash values and list elements are 100
//!   random bytes.
//! * Reads and overwrites pick a random element of a collection of 100k elements (ZRANGE: the
//!   first 100 of a 10k-member sorted set); `*_new_*` benches add a new element each time, to a
//!   collection that grows during the bench. Every fixture is one key in its own database.
//! * Lists: LPUSH pushes onto a list that grows during the bench; RPOP pops from a list of up
//!   to 100k elements, refilled (untimed) with RPUSH whenever the bench has popped it empty;
//!   LRANGE reads the first 100 elements of a 10k-element list and LINDEX the middle one of a
//!   100k-element list.
//! * `Fsync::No`, in-process, warm page cache: as in `benches/engine.rs`, these are kvdb's CPU
//!   and system-call costs, with no network and no RESP encoding of the reply.
//! * Fixtures are built lazily inside the benchmark closure, so a filtered run
//!   (`cargo bench --bench collections -- zset`) builds only what it runs.
//!
//! Run: `cargo bench --bench collections -- --warm-up-time 1 --measurement-time 3`.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::cell::OnceCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kvdb::{Db, Fsync, Options, Reply};
use tempfile::TempDir;

/// Elements of the collections that reads and overwrites pick from.
const ELEMENTS: u64 = 100_000;
/// Members of the sorted set ZRANGE reads from.
const ZRANGE_MEMBERS: u64 = 10_000;
/// Elements per command while filling a fixture.
const BATCH: u64 = 1_000;
/// Hash value length.
const VALUE_LEN: usize = 100;

/// Element `i`'s name: `element:000000000042`, the shape of redis-benchmark's
/// `element:__rand_int__`.
fn element(i: u64) -> [u8; 20] {
    let mut out = *b"element:000000000000";
    let mut n = i;
    for byte in out[8..].iter_mut().rev() {
        *byte = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out
}

/// An open database and the directory it lives in (removed on drop, after the database).
struct Fixture {
    db: Db,
    _dir: TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let options = Options {
            fsync: Fsync::No,
            ..Options::default()
        };
        let db = Db::open_with(dir.path(), options).expect("open the bench database");
        Fixture { db, _dir: dir }
    }

    /// Runs `command key <args of element 0..n>` in batches of `BATCH` elements; `args(i)`
    /// gives element `i`'s arguments (e.g. field and value).
    fn fill(self, command: &str, key: &str, n: u64, args: impl Fn(u64) -> Vec<Vec<u8>>) -> Self {
        for first in (0..n).step_by(BATCH as usize) {
            let mut argv: Vec<Vec<u8>> = vec![command.into(), key.into()];
            for i in first..(first + BATCH).min(n) {
                argv.extend(args(i));
            }
            let reply = self.db.execute(&argv);
            assert!(
                matches!(reply, Reply::Integer(_)),
                "{command} while filling: {reply:?}"
            );
        }
        self
    }

    /// Runs `argv` once, untimed, and checks that the reply is not an error, so that no bench
    /// measures an error reply.
    fn check(&self, argv: &[&[u8]]) {
        let reply = self.db.execute(argv);
        assert!(
            !matches!(reply, Reply::Error(_)),
            "{:?}: {reply:?}",
            String::from_utf8_lossy(argv[0])
        );
    }
}

/// `len` random (incompressible) bytes.
fn value(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    fastrand::fill(&mut v);
    v
}

fn random_element(n: u64) -> [u8; 20] {
    element(fastrand::u64(..n))
}

/// HSET (overwrite and new field) and HGET.
fn hash(c: &mut Criterion) {
    let mut group = c.benchmark_group("collections/hash");
    group.throughput(Throughput::Elements(1));
    let v = value(VALUE_LEN);
    let fixture = OnceCell::new();
    let init = || {
        Fixture::new().fill("HSET", "myhash", ELEMENTS, |i| {
            vec![element(i).to_vec(), v.clone()]
        })
    };
    group.bench_function("hset_overwrite/100k_fields", |b| {
        let f = fixture.get_or_init(init);
        f.check(&[b"HSET", b"myhash", &element(0), &v]);
        b.iter(|| {
            black_box(f.db.execute(&[&b"HSET"[..], b"myhash", &random_element(ELEMENTS), &v]))
        });
    });
    group.bench_function("hget/100k_fields", |b| {
        let f = fixture.get_or_init(init);
        f.check(&[b"HGET", b"myhash", &element(0)]);
        b.iter(|| black_box(f.db.execute(&[&b"HGET"[..], b"myhash", &random_element(ELEMENTS)])));
    });
    let growing = OnceCell::new();
    let mut next = 0;
    group.bench_function("hset_new_field", |b| {
        let f = growing.get_or_init(Fixture::new);
        b.iter(|| {
            next += 1;
            black_box(f.db.execute(&[&b"HSET"[..], b"newhash", &element(next), &v]))
        });
    });
    group.finish();
}

/// SADD (new and existing member) and SISMEMBER.
fn set(c: &mut Criterion) {
    let mut group = c.benchmark_group("collections/set");
    group.throughput(Throughput::Elements(1));
    let fixture = OnceCell::new();
    let init = || Fixture::new().fill("SADD", "myset", ELEMENTS, |i| vec![element(i).to_vec()]);
    group.bench_function("sadd_existing/100k_members", |b| {
        let f = fixture.get_or_init(init);
        f.check(&[b"SADD", b"myset", &element(0)]);
        b.iter(|| black_box(f.db.execute(&[&b"SADD"[..], b"myset", &random_element(ELEMENTS)])));
    });
    group.bench_function("sismember/100k_members", |b| {
        let f = fixture.get_or_init(init);
        f.check(&[b"SISMEMBER", b"myset", &element(0)]);
        b.iter(|| {
            black_box(f.db.execute(&[&b"SISMEMBER"[..], b"myset", &random_element(ELEMENTS)]))
        });
    });
    let growing = OnceCell::new();
    let mut next = 0;
    group.bench_function("sadd_new_member", |b| {
        let f = growing.get_or_init(Fixture::new);
        b.iter(|| {
            next += 1;
            black_box(f.db.execute(&[&b"SADD"[..], b"newset", &element(next)]))
        });
    });
    group.finish();
}

/// ZADD (new member, new score for an existing one), ZINCRBY and ZRANGE of 100.
fn zset(c: &mut Criterion) {
    let mut group = c.benchmark_group("collections/zset");
    group.throughput(Throughput::Elements(1));
    let score = |i: u64| i.to_string().into_bytes();
    let fixture = OnceCell::new();
    let init = || {
        Fixture::new().fill("ZADD", "myzset", ELEMENTS, |i| {
            vec![score(i), element(i).to_vec()]
        })
    };
    group.bench_function("zadd_update/100k_members", |b| {
        let f = fixture.get_or_init(init);
        f.check(&[b"ZADD", b"myzset", b"1", &element(0)]);
        b.iter(|| {
            let s = score(fastrand::u64(..ELEMENTS));
            black_box(f.db.execute(&[&b"ZADD"[..], b"myzset", &s, &random_element(ELEMENTS)]))
        });
    });
    group.bench_function("zincrby/100k_members", |b| {
        let f = fixture.get_or_init(init);
        f.check(&[b"ZINCRBY", b"myzset", b"1", &element(0)]);
        b.iter(|| {
            black_box(f.db.execute(&[&b"ZINCRBY"[..], b"myzset", b"1", &random_element(ELEMENTS)]))
        });
    });
    let growing = OnceCell::new();
    let mut next = 0;
    group.bench_function("zadd_new_member", |b| {
        let f = growing.get_or_init(Fixture::new);
        b.iter(|| {
            next += 1;
            let s = score(fastrand::u64(..ELEMENTS));
            black_box(f.db.execute(&[&b"ZADD"[..], b"newzset", &s, &element(next)]))
        });
    });
    drop(fixture);
    let small = OnceCell::new();
    group.bench_function("zrange_0_99/10k_members", |b| {
        let f = small.get_or_init(|| {
            Fixture::new().fill("ZADD", "myzset", ZRANGE_MEMBERS, |i| {
                vec![score(i), element(i).to_vec()]
            })
        });
        match f.db.execute(&[&b"ZRANGE"[..], b"myzset", b"0", b"99"]) {
            Reply::Array(members) => assert_eq!(members.len(), 100),
            other => panic!("ZRANGE myzset 0 99: {other:?}"),
        }
        b.iter(|| black_box(f.db.execute(&[&b"ZRANGE"[..], b"myzset", b"0", b"99"])));
    });
    group.finish();
}

/// Elements of the list LRANGE reads from.
const LRANGE_ELEMENTS: u64 = 10_000;

/// LPUSH (a growing list), RPOP, LRANGE 0 99 and LINDEX of the middle element.
fn list(c: &mut Criterion) {
    let mut group = c.benchmark_group("collections/list");
    group.throughput(Throughput::Elements(1));
    let v = value(VALUE_LEN);
    let growing = OnceCell::new();
    group.bench_function("lpush_new_element", |b| {
        let f = growing.get_or_init(Fixture::new);
        b.iter(|| black_box(f.db.execute(&[&b"LPUSH"[..], b"newlist", &v])));
    });
    drop(growing);
    let queue = OnceCell::new();
    group.bench_function("rpop/100k_elements", |b| {
        let f = queue.get_or_init(Fixture::new);
        // Pops `iters` elements in rounds of at most ELEMENTS: each round fills the list
        // untimed, then times popping it empty (the last pop deletes the key).
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(ELEMENTS);
                for first in (0..n).step_by(BATCH as usize) {
                    let mut argv: Vec<&[u8]> = vec![b"RPUSH", b"queue"];
                    argv.extend((first..(first + BATCH).min(n)).map(|_| &v[..]));
                    assert!(matches!(f.db.execute(&argv), Reply::Integer(_)));
                }
                let start = Instant::now();
                for _ in 0..n {
                    black_box(f.db.execute(&[&b"RPOP"[..], b"queue"]));
                }
                timed += start.elapsed();
                left -= n;
            }
            assert_eq!(f.db.execute(&[&b"LLEN"[..], b"queue"]), Reply::Integer(0));
            timed
        });
    });
    drop(queue);
    let list = |n: u64| {
        Fixture::new().fill("RPUSH", "mylist", n, |i| {
            let mut element = v.clone();
            element[..8].copy_from_slice(&i.to_le_bytes());
            vec![element]
        })
    };
    let small = OnceCell::new();
    group.bench_function("lrange_0_99/10k_elements", |b| {
        let f = small.get_or_init(|| list(LRANGE_ELEMENTS));
        match f.db.execute(&[&b"LRANGE"[..], b"mylist", b"0", b"99"]) {
            Reply::Array(elements) => assert_eq!(elements.len(), 100),
            other => panic!("LRANGE mylist 0 99: {other:?}"),
        }
        b.iter(|| black_box(f.db.execute(&[&b"LRANGE"[..], b"mylist", b"0", b"99"])));
    });
    drop(small);
    let big = OnceCell::new();
    group.bench_function("lindex_middle/100k_elements", |b| {
        let f = big.get_or_init(|| list(ELEMENTS));
        let middle = (ELEMENTS / 2).to_string();
        match f
            .db
            .execute(&[&b"LINDEX"[..], b"mylist", middle.as_bytes()])
        {
            Reply::Bulk(element) => assert_eq!(element[..8], (ELEMENTS / 2).to_le_bytes()),
            other => panic!("LINDEX mylist {middle}: {other:?}"),
        }
        b.iter(|| black_box(f.db.execute(&[&b"LINDEX"[..], b"mylist", middle.as_bytes()])));
    });
    group.finish();
}

criterion_group!(benches, hash, set, zset, list);
criterion_main!(benches);
