//! `hint_file`: arbitrary bytes as a hint file into `kvdb::log::hint::HintFile::from_bytes`.
//! No input may panic or allocate beyond its own size.
//!
//! A random checksum almost never matches, so the same bytes are also tried with their last
//! four bytes replaced by the right CRC: the entry parser then sees every input. Whatever it
//! accepts must hold what the checks promise: each entry's record length is its header's, lies
//! within the segment, and carries at most 8 inline value bytes.

#![no_main]

use std::path::Path;

use kvdb::log::hint::{HintFile, MAX_INLINE_LEN};
use libfuzzer_sys::fuzz_target;

fn check(bytes: Vec<u8>) {
    let Ok(hint) = HintFile::from_bytes(Path::new("fuzz.hint"), bytes) else {
        return;
    };
    let mut count = 0;
    for entry in hint.entries() {
        let rec = entry.record;
        let len = rec.header.record_len();
        assert!(u64::from(entry.offset) + len <= hint.segment_len());
        assert!(rec.value.len() <= MAX_INLINE_LEN);
        assert_eq!(rec.key.len(), rec.header.key_len as usize);
        assert_eq!(rec.sub.len(), rec.header.sub_len as usize);
        count += 1;
    }
    assert_eq!(count, hint.len(), "entries() yields every counted entry");
}

fuzz_target!(|data: &[u8]| {
    check(data.to_vec());
    if data.len() >= 4 {
        let mut fixed = data.to_vec();
        let body = fixed.len() - 4;
        let crc = crc32fast::hash(&fixed[..body]);
        fixed[body..].copy_from_slice(&crc.to_le_bytes());
        check(fixed);
    }
});
