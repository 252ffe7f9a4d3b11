//! `log_record`: arbitrary bytes into `kvdb::log::record::decode`. No input may panic.
//!
//! Beyond "no panic", it checks what decode promises: a decoded record lies within the input,
//! its slices have the header's lengths, and re-encoding it gives back exactly the input bytes
//! (every header byte is a field). Because a random CRC almost never matches, the same bytes
//! are also decoded with their CRC fixed up, which must then succeed whenever the header
//! parses and the whole record is present.

#![no_main]

use kvdb::log::record::{self, DecodeError, HEADER_LEN, Header};
use libfuzzer_sys::fuzz_target;

fn check(data: &[u8]) -> Result<(), DecodeError> {
    let rec = record::decode(data)?;
    let len = usize::try_from(rec.header.record_len()).expect("record length fits usize");
    assert!(len <= data.len(), "decoded record longer than its input");
    assert_eq!(rec.key.len(), rec.header.key_len as usize);
    assert_eq!(rec.sub.len(), rec.header.sub_len as usize);
    assert_eq!(rec.value.len(), rec.header.value_len as usize);
    let mut out = Vec::with_capacity(len);
    record::encode_into(&mut out, &rec.header, rec.key, rec.sub, rec.value);
    assert_eq!(out, &data[..len], "re-encoding changed the record");
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = check(data);

    let Some(head) = data.first_chunk::<HEADER_LEN>() else {
        return;
    };
    let Ok(header) = Header::parse(head) else {
        return;
    };
    let Ok(len) = usize::try_from(header.record_len()) else {
        return;
    };
    if len > data.len() {
        assert!(
            matches!(record::decode(data), Err(DecodeError::Incomplete { .. })),
            "a record cut short must be Incomplete"
        );
        return;
    }
    let mut fixed = data.to_vec();
    let crc = crc32fast::hash(&fixed[4..len]);
    fixed[..4].copy_from_slice(&crc.to_le_bytes());
    if let Err(e) = check(&fixed) {
        panic!("a whole record with a valid header and CRC was rejected: {e:?}");
    }
});
