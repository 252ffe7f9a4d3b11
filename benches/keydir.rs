//! Benchmarks of the keydir alone: the in-RAM index, without the log or any I/O.
//!
//! Keys are 16 bytes (`key:000000000042`, the shape `redis-benchmark -r` uses), so they are
//! stored inline in the slot. Lookups go over a keydir of 1M keys in random order, which is
//! what a cache-unfriendly workload sees; building the 1M-key keydir is timed on its own.
//! RAM per key is measured (not timed) by `benches/memory.rs`.
//!
//! Run: `cargo bench --bench keydir -- --warm-up-time 1 --measurement-time 3`.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kvdb::ValueType;
use kvdb::keydir::{Entry, KeyDir, Location};

mod common;
use common::key;

/// Keys in the keydir the lookups run against.
const KEYS: u64 = 1_000_000;

/// An entry as the engine would store it for key `i` (100-byte values, 151-byte records).
fn entry(i: u64) -> Entry {
    Entry {
        loc: Location {
            segment: 1 + (i / 800_000) as u32,
            offset: (16 + (i % 800_000) * 151) as u32,
            len: 151,
        },
        expires_at: 0,
        vtype: ValueType::String,
    }
}

fn filled(n: u64) -> KeyDir {
    let mut kd = KeyDir::new();
    for i in 0..n {
        kd.insert(&key(i), entry(i));
    }
    kd
}

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("keydir/build");
    group.sample_size(10);
    group.throughput(Throughput::Elements(KEYS));
    group.bench_function("insert_1M_new_keys", |b| {
        let keys: Vec<[u8; 16]> = (0..KEYS).map(key).collect();
        b.iter_batched(
            KeyDir::new,
            |mut kd| {
                for (i, k) in keys.iter().enumerate() {
                    kd.insert(k, entry(i as u64));
                }
                kd
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

fn ops(c: &mut Criterion) {
    let mut kd = filled(KEYS);
    let mut group = c.benchmark_group("keydir/1M_keys");
    group.throughput(Throughput::Elements(1));
    group.bench_function("get_hit", |b| {
        b.iter(|| black_box(kd.get(&key(fastrand::u64(..KEYS)))).is_some());
    });
    group.bench_function("get_miss", |b| {
        b.iter(|| black_box(kd.get(&key(KEYS + fastrand::u64(..KEYS)))).is_some());
    });
    group.bench_function("overwrite", |b| {
        b.iter(|| {
            let i = fastrand::u64(..KEYS);
            black_box(kd.insert(&key(i), entry(i + 1)))
        });
    });
    group.bench_function("set_expiry", |b| {
        b.iter(|| black_box(kd.set_expiry(&key(fastrand::u64(..KEYS)), 0)));
    });
    // Remove and put back, so the keydir stays at 1M keys (and the freed slot is reused).
    group.bench_function("remove_then_insert", |b| {
        b.iter(|| {
            let i = fastrand::u64(..KEYS);
            let k = key(i);
            let old = kd.remove(&k);
            kd.insert(&k, entry(i));
            black_box(old)
        });
    });
    group.finish();
}

criterion_group!(benches, build, ops);
criterion_main!(benches);
