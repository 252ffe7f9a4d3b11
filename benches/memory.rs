//! RAM per key: reported, not timed.
//!
//! Three measurements of 1M keys of 16 bytes (`key:000000000042`), each in its own child
//! process so that one measurement's freed memory does not hide another's growth:
//!
//! * `keydir`: a bare [`KeyDir`] with 1M keys inserted.
//! * `db_fill`: a whole [`Db`] (`Fsync::No`) after 1M `SET`s of 100-byte values.
//! * `db_reopen`: the same directory opened again, so the keydir is rebuilt by recovery.
//!
//! Each reports the heap growth counted by a `#[global_allocator]` wrapper around the system
//! allocator (bytes requested, so malloc's own per-block overhead is not in it; the keydir's
//! blocks are large slabs and tables, where that overhead is negligible) and the growth of the
//! process's resident set from `/proc/self/status` (`VmRSS`, and `RssAnon`, which leaves out
//! file pages such as mapped segments). Values live on disk, so neither should grow with the
//! value size. Bytes per key = growth / 1M.
//!
//! Run: `cargo bench --bench memory` (or `benches/memory.sh`, which also measures Redis).
//! Lines starting with `kvdb.` are for the script; the table is for people.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use kvdb::keydir::{Entry, KeyDir, Location};
use kvdb::{Db, Fsync, Options, SetOptions, ValueType};

mod common;
use common::key;

/// Keys inserted by every measurement.
const KEYS: u64 = 1_000_000;
/// Value length in the `Db` measurements (the values are on disk, not in RAM).
const VALUE_LEN: usize = 100;

/// Bytes currently allocated through the global allocator.
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
/// Highest value `ALLOCATED` reached since the last [`reset_peak`].
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting the bytes requested.
struct Counting;

fn grew(by: usize) {
    let now = ALLOCATED.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

#[expect(
    unsafe_code,
    reason = "a global allocator is an unsafe trait; every call is forwarded to System"
)]
// SAFETY: each method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees hold; the counters are only bookkeeping and never affect the returned memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` and `layout` come from a matching `alloc` through this allocator.
        unsafe { System.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`, and the caller guarantees `new_size` is valid for `layout`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn reset_peak() {
    PEAK.store(ALLOCATED.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// A snapshot of the process's memory.
#[derive(Debug, Clone, Copy)]
struct Usage {
    heap: usize,
    vm_rss: usize,
    rss_anon: usize,
}

impl Usage {
    fn now() -> Usage {
        let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
        let kib = |field: &str| -> usize {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
                .map_or(0, |k: usize| k * 1024)
        };
        Usage {
            heap: ALLOCATED.load(Ordering::Relaxed),
            vm_rss: kib("VmRSS:"),
            rss_anon: kib("RssAnon:"),
        }
    }
}

/// Prints one measurement: a line per figure for scripts, then a readable summary.
fn report(name: &str, keys: u64, before: Usage, after: Usage) {
    let per_key = |a: usize, b: usize| (a as f64 - b as f64) / keys as f64;
    let peak = per_key(PEAK.load(Ordering::Relaxed), before.heap);
    let heap = per_key(after.heap, before.heap);
    let rss = per_key(after.vm_rss, before.vm_rss);
    let anon = per_key(after.rss_anon, before.rss_anon);
    println!("kvdb.{name}.keys={keys}");
    println!("kvdb.{name}.heap_bytes_per_key={heap:.1}");
    println!("kvdb.{name}.heap_peak_bytes_per_key={peak:.1}");
    println!("kvdb.{name}.rss_bytes_per_key={rss:.1}");
    println!("kvdb.{name}.rss_anon_bytes_per_key={anon:.1}");
    println!(
        "{name:>9}: heap {heap:6.1} B/key (peak while growing {peak:6.1}), \
         RSS {rss:6.1} B/key (anonymous {anon:6.1})"
    );
}

fn measure_keydir() {
    let before = Usage::now();
    reset_peak();
    let mut kd = KeyDir::new();
    for i in 0..KEYS {
        let entry = Entry {
            loc: Location {
                segment: 1,
                offset: (16 + i * 151) as u32,
                len: 151,
            },
            expires_at: 0,
            vtype: ValueType::String,
        };
        kd.insert(&key(i), entry);
    }
    let after = Usage::now();
    assert_eq!(kd.len(), KEYS as usize);
    report("keydir", KEYS, before, after);
}

fn options() -> Options {
    Options {
        fsync: Fsync::No,
        ..Options::default()
    }
}

fn measure_db_fill(dir: &Path) {
    let mut value = vec![0u8; VALUE_LEN];
    fastrand::fill(&mut value);
    let before = Usage::now();
    reset_peak();
    let db = Db::open_with(dir, options()).expect("open the database");
    for i in 0..KEYS {
        db.set(&key(i), &value, SetOptions::default())
            .expect("SET while filling");
    }
    let after = Usage::now();
    assert_eq!(db.dbsize().expect("DBSIZE"), KEYS);
    report("db_fill", KEYS, before, after);
}

fn measure_db_reopen(dir: &Path) {
    let before = Usage::now();
    reset_peak();
    let db = Db::open_with(dir, options()).expect("reopen the database");
    let after = Usage::now();
    assert_eq!(db.dbsize().expect("DBSIZE"), KEYS);
    report("db_reopen", KEYS, before, after);
}

/// Runs this program again as `--child NAME [DIR]` and passes its output through.
fn child(args: &[&str]) {
    let exe = std::env::current_exe().expect("find this program");
    let status = Command::new(exe)
        .arg("--child")
        .args(args)
        .status()
        .expect("run a measurement");
    assert!(status.success(), "measurement {args:?} failed: {status}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        let rest = &args[pos + 1..];
        match rest.first().map(String::as_str) {
            Some("keydir") => measure_keydir(),
            Some("db_fill") => measure_db_fill(Path::new(&rest[1])),
            Some("db_reopen") => measure_db_reopen(Path::new(&rest[1])),
            other => panic!("unknown measurement {other:?}"),
        }
        return;
    }
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().to_str().expect("a UTF-8 temporary path");
    println!(
        "RAM per key, {KEYS} keys of 16 bytes ({VALUE_LEN}-byte values in the Db runs; \
         target: at most 64 + 16 = 80 B/key)"
    );
    child(&["keydir"]);
    child(&["db_fill", path]);
    child(&["db_reopen", path]);
}
