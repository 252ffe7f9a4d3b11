//! `segment_recovery`: arbitrary bytes written as one or two segment files, then `Db::open_with`.
//! No input may panic; an `Err` (corruption) is a fine answer.
//!
//! Input layout: byte 0 is a set of switches, bytes 1..3 a split point, the rest the contents.
//!
//! * bit 0 / bit 1: prefix the first / second segment with a valid segment header (without
//!   it, almost every input stops at the header check);
//! * bit 2: split the contents into two segments (the first sealed, the second active);
//! * bit 3: fix up the CRC of every record whose header parses, so the fuzzer reaches replay
//!   (batches, tombstones, flushes, expiry, torn tails) instead of stopping at checksums;
//! * bit 4: read sealed segments with `pread` instead of mmap;
//! * bit 5: number the second segment 3 rather than 2 (a gap in the ids).
//!
//! When the open succeeds it also reads every key (up to 64) in every database (GET, and TTL,
//! PTTL, EXPIRETIME, PEXPIRETIME and STRLEN through `Db::execute`), runs DBSIZE, writes one key, reopens, and checks that the key survived: a successful recovery must leave
//! a log that can be appended to and replayed again.

#![no_main]

use std::path::Path;

use kvdb::log::record::{HEADER_LEN, Header};
use kvdb::log::segment::{SEGMENT_HEADER_LEN, encode_header, segment_path};
use kvdb::{Db, Fsync, Options, SetOptions};
use libfuzzer_sys::fuzz_target;

/// Rewrites the CRC of each record in `records` whose header parses and that is complete.
fn fix_crcs(records: &mut [u8]) {
    let mut pos = 0;
    while let Some(head) = records[pos..].first_chunk::<HEADER_LEN>() {
        let Ok(header) = Header::parse(head) else {
            return;
        };
        let Some(end) = usize::try_from(header.record_len())
            .ok()
            .and_then(|len| pos.checked_add(len))
            .filter(|&end| end <= records.len())
        else {
            return;
        };
        let crc = crc32fast::hash(&records[pos + 4..end]);
        records[pos..pos + 4].copy_from_slice(&crc.to_le_bytes());
        pos = end;
    }
}

fn write_segment(dir: &Path, id: u32, body: &[u8], with_header: bool, fix: bool) {
    let mut bytes = Vec::with_capacity(body.len() + SEGMENT_HEADER_LEN as usize);
    if with_header {
        bytes.extend_from_slice(&encode_header());
    }
    let start = bytes.len();
    bytes.extend_from_slice(body);
    if fix && with_header {
        fix_crcs(&mut bytes[start..]);
    }
    std::fs::write(segment_path(dir, id), bytes).expect("write a segment");
}

fn options(mmap: bool) -> Options {
    Options {
        fsync: Fsync::No,
        active_expiry: None,
        mmap,
        ..Options::default()
    }
}

fn exercise(db: &Db) {
    for index in 0..16 {
        let Ok(db) = db.select(index) else { continue };
        let _ = db.dbsize();
        let _ = db.get(b"k");
        if let Ok(keys) = db.keys(b"*") {
            for key in keys.iter().take(64) {
                let _ = db.get(key);
                for command in [
                    &b"TTL"[..],
                    b"PTTL",
                    b"EXPIRETIME",
                    b"PEXPIRETIME",
                    b"STRLEN",
                ] {
                    let _ = db.execute(&[command, key]);
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [switches, s0, s1, contents @ ..] = data else {
        return;
    };
    let bit = |n: u8| switches & (1 << n) != 0;
    let split = usize::from(u16::from_le_bytes([*s0, *s1])) % (contents.len() + 1);
    let (first, second) = if bit(2) {
        contents.split_at(split)
    } else {
        (contents, &[][..])
    };

    let dir = tempfile::tempdir().expect("create a temporary directory");
    write_segment(dir.path(), 1, first, bit(0), bit(3));
    if bit(2) {
        let id = if bit(5) { 3 } else { 2 };
        write_segment(dir.path(), id, second, bit(1), bit(3));
    }

    let Ok(db) = Db::open_with(dir.path(), options(!bit(4))) else {
        return;
    };
    exercise(&db);
    if db
        .set(b"fuzz:written", b"after recovery", SetOptions::default())
        .is_err()
    {
        return;
    }
    drop(db);

    let db = match Db::open_with(dir.path(), options(!bit(4))) {
        Ok(db) => db,
        Err(e) => panic!("recovered once, then failed to reopen after one SET: {e}"),
    };
    assert_eq!(
        db.get(b"fuzz:written").ok().flatten().as_deref(),
        Some(&b"after recovery"[..]),
        "a SET made after recovery was lost on reopen"
    );
    exercise(&db);
});
