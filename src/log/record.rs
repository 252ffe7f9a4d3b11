//! One log record: header, CRC, encode and decode. No I/O here.
//!
//! ```text
//! offset size field
//!  0     4    crc32      CRC-32 (IEEE, crc32fast) of bytes 4..end of the record
//!  4     8    seq        sequence number: the order of all writes, never reused
//! 12     1    db         database index, 0..=15
//! 13     1    kind       see `Kind`
//! 14     8    expires_at absolute Unix time in milliseconds, 0 = no expiry
//! 22     1    flags      bit 0: value is zstd-compressed; bit 1: batch continues
//! 23     4    key_len
//! 27     4    sub_len    sub-key length (hash field, set member, ...; 0 for strings)
//! 31     4    value_len  length of the value as stored (compressed length if bit 0)
//! 35          key, sub-key, value
//! ```
//!
//! All integers are little-endian. `docs/FORMAT.md` is the reference; keep them in step.

use byteorder::{ByteOrder, LittleEndian as LE};

/// Sequence number of a record: strictly increasing over the life of a database.
pub type SeqNo = u64;
/// Absolute Unix time in milliseconds.
pub type Timestamp = u64;

/// Size of the fixed record header: crc 4 + seq 8 + db 1 + kind 1 + expires_at 8 + flags 1 +
/// key_len 4 + sub_len 4 + value_len 4.
pub const HEADER_LEN: usize = 4 + 8 + 1 + 1 + 8 + 1 + 4 + 4 + 4;

/// Largest key, sub-key or value a record may carry (Redis's proto-max-bulk-len).
pub const MAX_FIELD_LEN: u32 = 512 * 1024 * 1024;

/// Number of databases; a record's `db` is below this.
pub const NUM_DBS: u8 = 16;

/// Flag bit: the value is a zstd frame.
pub const FLAG_ZSTD: u8 = 1 << 0;
/// Flag bit: more records of the same atomic batch follow this one. The last record of a batch
/// has it clear; recovery applies a batch only once it has seen that last record.
pub const FLAG_BATCH_MORE: u8 = 1 << 1;
/// Every flag bit this version knows; a record with another bit set is invalid.
pub const KNOWN_FLAGS: u8 = FLAG_ZSTD | FLAG_BATCH_MORE;

/// What a record means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A string value for `key` (replacing whatever the key held).
    Put = 1,
    /// A tombstone: `key` is deleted (whatever its type).
    Delete = 2,
    /// Sets the expiry of an existing `key` to `expires_at` (0 removes it). No value.
    Expire = 3,
    /// Every key of database `db` written before this record is deleted (FLUSHDB). No key.
    Flush = 4,
    /// `key` becomes a new, empty collection (replacing whatever it held); the value is one
    /// type byte, `expires_at` the key's expiry. The record's `seq` is the collection's version.
    Meta = 5,
    /// One element of a collection: `sub` is the version (u64) then the element's name; the
    /// value is the element's value. Dead unless the key's version is the one in `sub`.
    Element = 6,
    /// Removes one element of a collection; `sub` as for `Element`, no value.
    ElementDelete = 7,
}

impl Kind {
    /// The kind a record's kind byte names.
    pub fn from_u8(byte: u8) -> Option<Kind> {
        Some(match byte {
            1 => Kind::Put,
            2 => Kind::Delete,
            3 => Kind::Expire,
            4 => Kind::Flush,
            5 => Kind::Meta,
            6 => Kind::Element,
            7 => Kind::ElementDelete,
            _ => return None,
        })
    }
}

/// The fixed-size part of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Sequence number.
    pub seq: SeqNo,
    /// Database index.
    pub db: u8,
    /// Record kind.
    pub kind: Kind,
    /// Absolute expiry in Unix ms, 0 = none.
    pub expires_at: Timestamp,
    /// `FLAG_*` bits.
    pub flags: u8,
    /// Key length.
    pub key_len: u32,
    /// Sub-key length.
    pub sub_len: u32,
    /// Stored value length.
    pub value_len: u32,
}

impl Header {
    /// Total encoded length of the record this header starts.
    pub fn record_len(&self) -> u64 {
        HEADER_LEN as u64
            + u64::from(self.key_len)
            + u64::from(self.sub_len)
            + u64::from(self.value_len)
    }

    /// Whether the stored value is zstd-compressed.
    pub fn is_compressed(&self) -> bool {
        self.flags & FLAG_ZSTD != 0
    }

    /// Whether more records of the same batch follow.
    pub fn batch_continues(&self) -> bool {
        self.flags & FLAG_BATCH_MORE != 0
    }

    /// Parses and sanity-checks a header (not the CRC, which covers the body too).
    pub fn parse(buf: &[u8; HEADER_LEN]) -> Result<Header, &'static str> {
        let db = buf[12];
        if db >= NUM_DBS {
            return Err("database index out of range");
        }
        let kind = Kind::from_u8(buf[13]).ok_or("unknown record kind")?;
        let flags = buf[22];
        if flags & !KNOWN_FLAGS != 0 {
            return Err("unknown flag bits");
        }
        let header = Header {
            seq: LE::read_u64(&buf[4..12]),
            db,
            kind,
            expires_at: LE::read_u64(&buf[14..22]),
            flags,
            key_len: LE::read_u32(&buf[23..27]),
            sub_len: LE::read_u32(&buf[27..31]),
            value_len: LE::read_u32(&buf[31..35]),
        };
        // Both are at most i64::MAX: commands cannot create larger ones, and a larger sequence
        // number would leave no room for the next.
        if header.seq > i64::MAX as u64 {
            return Err("sequence number out of range");
        }
        if header.expires_at > i64::MAX as u64 {
            return Err("expiry out of range");
        }
        if header.key_len > MAX_FIELD_LEN
            || header.sub_len > MAX_FIELD_LEN
            || header.value_len > MAX_FIELD_LEN
        {
            return Err("field length above 512 MiB");
        }
        Ok(header)
    }
}

/// A decoded record borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// The header.
    pub header: Header,
    /// The key.
    pub key: &'a [u8],
    /// The sub-key.
    pub sub: &'a [u8],
    /// The value as stored (still compressed if the header says so).
    pub value: &'a [u8],
}

/// Why bytes could not be decoded as a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The buffer ends before the record does; `needed` is the record's full length if the
    /// header was readable.
    Incomplete {
        /// Full length of the record, when known.
        needed: Option<u64>,
    },
    /// The bytes are not a valid record.
    Invalid(&'static str),
}

/// Decodes the record at the start of `buf`, checking its CRC.
pub fn decode(buf: &[u8]) -> Result<RecordRef<'_>, DecodeError> {
    let Some(head) = buf.first_chunk::<HEADER_LEN>() else {
        return Err(DecodeError::Incomplete { needed: None });
    };
    let header = Header::parse(head).map_err(DecodeError::Invalid)?;
    let len = header.record_len();
    if (buf.len() as u64) < len {
        return Err(DecodeError::Incomplete { needed: Some(len) });
    }
    let record = &buf[..len as usize];
    let stored_crc = LE::read_u32(&record[0..4]);
    if crc32fast::hash(&record[4..]) != stored_crc {
        return Err(DecodeError::Invalid("checksum mismatch"));
    }
    let key_end = HEADER_LEN + header.key_len as usize;
    let sub_end = key_end + header.sub_len as usize;
    Ok(RecordRef {
        header,
        key: &record[HEADER_LEN..key_end],
        sub: &record[key_end..sub_end],
        value: &record[sub_end..],
    })
}

/// Appends one encoded record to `out`. `header`'s length fields are ignored and taken from the
/// slices.
///
/// The caller guarantees each slice is at most [`MAX_FIELD_LEN`] bytes.
pub fn encode_into(out: &mut Vec<u8>, header: &Header, key: &[u8], sub: &[u8], value: &[u8]) {
    let start = out.len();
    let mut head = [0u8; HEADER_LEN];
    LE::write_u64(&mut head[4..12], header.seq);
    head[12] = header.db;
    head[13] = header.kind as u8;
    LE::write_u64(&mut head[14..22], header.expires_at);
    head[22] = header.flags;
    LE::write_u32(&mut head[23..27], key.len() as u32);
    LE::write_u32(&mut head[27..31], sub.len() as u32);
    LE::write_u32(&mut head[31..35], value.len() as u32);
    out.reserve(HEADER_LEN + key.len() + sub.len() + value.len());
    out.extend_from_slice(&head);
    out.extend_from_slice(key);
    out.extend_from_slice(sub);
    out.extend_from_slice(value);
    let crc = crc32fast::hash(&out[start + 4..]);
    LE::write_u32(&mut out[start..start + 4], crc);
}

/// Clears the flag bits `flags` of `record` (exactly one encoded record) and updates its CRC.
pub fn clear_flags(record: &mut [u8], flags: u8) {
    if record.len() < HEADER_LEN || record[22] & flags == 0 {
        return;
    }
    record[22] &= !flags;
    let crc = crc32fast::hash(&record[4..]);
    LE::write_u32(&mut record[0..4], crc);
}

/// Sets the "batch continues" flag of `record` (exactly one encoded record) and updates its
/// CRC: a batch still in memory grows by another record this way.
pub fn set_batch_continues(record: &mut [u8]) {
    if record.len() < HEADER_LEN {
        return;
    }
    record[22] |= FLAG_BATCH_MORE;
    let crc = crc32fast::hash(&record[4..]);
    LE::write_u32(&mut record[0..4], crc);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(kind: Kind, flags: u8) -> Header {
        Header {
            seq: 42,
            db: 3,
            kind,
            expires_at: 1_700_000_000_123,
            flags,
            key_len: 0,
            sub_len: 0,
            value_len: 0,
        }
    }

    fn encoded(key: &[u8], sub: &[u8], value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_into(
            &mut out,
            &sample(Kind::Put, FLAG_BATCH_MORE),
            key,
            sub,
            value,
        );
        out
    }

    #[test]
    fn round_trip_keeps_every_field() {
        let buf = encoded(b"key", b"field", b"value bytes");
        assert_eq!(buf.len(), HEADER_LEN + 3 + 5 + 11);
        let rec = decode(&buf).expect("valid");
        assert_eq!(rec.header.seq, 42);
        assert_eq!(rec.header.db, 3);
        assert_eq!(rec.header.kind, Kind::Put);
        assert_eq!(rec.header.expires_at, 1_700_000_000_123);
        assert!(rec.header.batch_continues());
        assert!(!rec.header.is_compressed());
        assert_eq!(
            (rec.key, rec.sub, rec.value),
            (&b"key"[..], &b"field"[..], &b"value bytes"[..])
        );
        assert_eq!(rec.header.record_len(), buf.len() as u64);
    }

    #[test]
    fn setting_batch_continues_keeps_the_record_valid() {
        let mut buf = Vec::new();
        encode_into(&mut buf, &sample(Kind::Delete, 0), b"key", b"", b"");
        assert!(!decode(&buf).expect("valid").header.batch_continues());
        set_batch_continues(&mut buf);
        let rec = decode(&buf).expect("still valid");
        assert!(rec.header.batch_continues());
        assert_eq!((rec.header.seq, rec.key), (42, &b"key"[..]));
    }

    #[test]
    fn empty_fields_round_trip() {
        let buf = encoded(b"", b"", b"");
        let rec = decode(&buf).expect("valid");
        assert!(rec.key.is_empty() && rec.sub.is_empty() && rec.value.is_empty());
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let buf = encoded(b"k", b"", b"some value");
        for byte in 0..buf.len() {
            for bit in 0..8 {
                let mut bad = buf.clone();
                bad[byte] ^= 1 << bit;
                assert!(
                    decode(&bad).is_err(),
                    "flip at byte {byte} bit {bit} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn every_truncation_is_incomplete() {
        let buf = encoded(b"key", b"", b"value");
        for len in 0..buf.len() {
            match decode(&buf[..len]) {
                Err(DecodeError::Incomplete { .. }) => {}
                other => panic!("truncated to {len}: {other:?}"),
            }
        }
    }

    #[test]
    fn header_with_huge_length_is_invalid_not_incomplete() {
        let mut buf = encoded(b"key", b"", b"value");
        LE::write_u32(&mut buf[31..35], u32::MAX);
        assert_eq!(
            decode(&buf),
            Err(DecodeError::Invalid("field length above 512 MiB"))
        );
    }

    #[test]
    fn sequence_numbers_and_expiries_above_i64_max_are_invalid() {
        let mut buf = encoded(b"key", b"", b"value");
        buf[4..12].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(header_of(&buf), Err("sequence number out of range"));
        let mut buf = encoded(b"key", b"", b"value");
        buf[14..22].copy_from_slice(&(1u64 << 63).to_le_bytes());
        assert_eq!(header_of(&buf), Err("expiry out of range"));
    }

    fn header_of(buf: &[u8]) -> Result<Header, &'static str> {
        Header::parse(buf.first_chunk::<HEADER_LEN>().ok_or("short")?)
    }

    #[test]
    fn unknown_kind_db_and_flags_are_invalid() {
        let buf = encoded(b"key", b"", b"value");
        let mut bad = buf.clone();
        bad[13] = 99;
        assert_eq!(
            decode(&bad),
            Err(DecodeError::Invalid("unknown record kind"))
        );
        let mut bad = buf.clone();
        bad[12] = 16;
        assert_eq!(
            decode(&bad),
            Err(DecodeError::Invalid("database index out of range"))
        );
        let mut bad = buf;
        bad[22] = 0x80;
        assert_eq!(decode(&bad), Err(DecodeError::Invalid("unknown flag bits")));
    }
}
