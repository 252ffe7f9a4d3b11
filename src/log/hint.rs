//! Hint files: a compact snapshot of a sealed segment's live records, read at start-up instead
//! of scanning the segment (Bitcask's hint files).
//!
//! ```text
//! header, 72 bytes
//!  0  8  magic          b"KVDBHINT"
//!  8  4  version        1
//! 12  4  reserved       0
//! 16 32  segment header first 32 bytes of the segment file described, verbatim (zero-padded
//!                       when the segment header is shorter: 16 bytes in segment format v1/v2)
//! 48  8  segment_len    length in bytes of the segment file described
//! 56  8  count          number of entries
//! 64  8  max_seq        highest sequence number in the segment, entries or not (so that an
//!                       open from hints never reuses a sequence number)
//! 72     entries, back to back
//! end-4 4 crc32         crc32fast of every byte before it
//!
//! entry, 36 bytes + key + sub + inline value
//!  0  8  seq            the record's sequence number
//!  8  8  expires_at
//! 16  4  offset         of the record in the segment
//! 20  4  len            whole record length (record::HEADER_LEN + key + sub + stored value)
//! 24  1  db
//! 25  1  kind           record::Kind byte
//! 26  1  flags          the record's flags byte
//! 27  1  inline_len     0..=8: length of the inline value that follows key and sub
//! 28  4  key_len
//! 32  4  sub_len
//! 36     key, sub, inline value
//! ```
//!
//! All integers are little-endian; `docs/FORMAT.md` is the reference.
//!
//! An entry carries everything replay needs except long values: the value is inlined exactly
//! when it is stored uncompressed and is at most [`MAX_INLINE_LEN`] bytes (a `Meta` record's type
//! byte, a sorted-set score). So a yielded record's `value` is the stored value if and only if
//! `value.len() == header.value_len`; otherwise it is empty and lives in the segment.
//!
//! Trust: a hint is only a cache of its segment. The header copies the segment's header and
//! length so that the engine can tell a hint that describes another file (a segment rewritten
//! by compaction under the same id, a segment cut after the hint was written) and fall back to
//! scanning. [`HintFile::read`] checks everything once, CRC first, then every entry's lengths
//! against the remaining bytes; after that [`HintFile::entries`] cannot fail. The CRC is
//! checked once per load, never again per entry (Bitcask's start-up time was dominated by
//! checking hint CRCs twice).
//!
//! Durability: [`HintWriter::write`] writes `{id}.hint.tmp`, fsyncs it, renames it over
//! `{id}.hint` and fsyncs the directory, so a crash leaves either no hint, the old one or the
//! new one, plus at worst a stale `.tmp` file ([`is_temp_name`]) for the caller to delete.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use byteorder::{ByteOrder, LittleEndian as LE};

use crate::error::{Error, Result};
use crate::log::observer::IoObserver;
use crate::log::record::{
    self, FLAG_ZSTD, Header, KNOWN_FLAGS, Kind, MAX_FIELD_LEN, NUM_DBS, RecordRef, SeqNo,
};
use crate::log::segment::SegmentId;
use crate::log::writer::{sync_dir, sync_file};

/// Magic bytes at the start of every hint file.
pub const HINT_MAGIC: [u8; 8] = *b"KVDBHINT";
/// Hint format version written and read by this build.
pub const HINT_VERSION: u32 = 1;
/// Length of the segment header copy in a hint header.
pub const IDENTITY_LEN: usize = 32;
/// Hint header: magic 8 + version 4 + reserved 4 + segment header 32 + segment_len 8 + count 8
/// + max_seq 8.
pub const HINT_HEADER_LEN: usize = 8 + 4 + 4 + IDENTITY_LEN + 8 + 8 + 8;
/// Fixed part of an entry: seq 8 + expires_at 8 + offset 4 + len 4 + db 1 + kind 1 + flags 1 +
/// inline_len 1 + key_len 4 + sub_len 4.
pub const HINT_ENTRY_LEN: usize = 8 + 8 + 4 + 4 + 1 + 1 + 1 + 1 + 4 + 4;
/// Length of the trailing CRC.
const CRC_LEN: usize = 4;
/// Longest value stored inline in an entry.
pub const MAX_INLINE_LEN: usize = 8;
/// File name extension of hint files.
const HINT_EXT: &str = "hint";
/// Suffix of a hint file being written.
const TEMP_SUFFIX: &str = ".tmp";

/// Segment header bytes as stored in a hint (zero-padded).
pub type SegmentIdentity = [u8; IDENTITY_LEN];

/// The path of the hint file of segment `id` in `dir`: `{id:010}.hint`, beside `{id:010}.seg`.
pub fn hint_path(dir: &Path, id: SegmentId) -> PathBuf {
    dir.join(format!("{id:010}.{HINT_EXT}"))
}

/// The path a hint is written to before it is renamed into place.
fn temp_path(dir: &Path, id: SegmentId) -> PathBuf {
    dir.join(format!("{id:010}.{HINT_EXT}{TEMP_SUFFIX}"))
}

/// Parses a hint file name back into its segment id. Temporary names are not hint files.
pub fn parse_hint_name(name: &str) -> Option<SegmentId> {
    let stem = name.strip_suffix(HINT_EXT)?.strip_suffix('.')?;
    if stem.len() != 10 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// Whether `name` is what an interrupted write leaves behind (ends in `.tmp`); such files are
/// never read and may be deleted.
pub fn is_temp_name(name: &str) -> bool {
    name.ends_with(TEMP_SUFFIX)
}

/// The identity of a segment as a hint stores it: the first `min(32, len)` bytes of its
/// header, zero-padded.
pub fn identity(segment_header: &[u8]) -> SegmentIdentity {
    let mut id = [0u8; IDENTITY_LEN];
    let n = segment_header.len().min(IDENTITY_LEN);
    id[..n].copy_from_slice(&segment_header[..n]);
    id
}

/// Builds a hint in memory, then encodes or writes it.
///
/// Entries are kept encoded, so memory is the file's size, not one allocation per entry.
#[derive(Debug, Clone)]
pub struct HintWriter {
    /// Header of the segment described, checked against the segment at load.
    identity: SegmentIdentity,
    /// Length of the segment described; every entry lies within it.
    segment_len: u64,
    /// Number of entries pushed.
    count: u64,
    /// Highest sequence number in the segment.
    max_seq: SeqNo,
    /// The entries, encoded back to back.
    entries: Vec<u8>,
}

impl HintWriter {
    /// An empty hint for the segment with header `identity`, length `segment_len` and highest
    /// sequence number `max_seq`.
    pub fn new(identity: SegmentIdentity, segment_len: u64, max_seq: SeqNo) -> HintWriter {
        HintWriter {
            identity,
            segment_len,
            count: 0,
            max_seq,
            entries: Vec::new(),
        }
    }

    /// Sets the highest sequence number of the segment described.
    pub fn set_max_seq(&mut self, max_seq: SeqNo) {
        self.max_seq = max_seq;
    }

    /// Sets the length of the segment described (a segment still being written).
    pub fn set_segment_len(&mut self, segment_len: u64) {
        self.segment_len = segment_len;
    }

    /// Adds the record at `offset` of the segment.
    ///
    /// As in [`record::encode_into`], the lengths come from the slices, not from the header's
    /// length fields: pass the record as decoded, with its whole stored value. The caller
    /// guarantees each slice is at most [`MAX_FIELD_LEN`] bytes and that the record lies within
    /// `segment_len` (else the hint will not read back).
    pub fn push(&mut self, offset: u32, rec: &RecordRef<'_>) {
        let h = &rec.header;
        let inline: &[u8] = if !h.is_compressed() && rec.value.len() <= MAX_INLINE_LEN {
            rec.value
        } else {
            &[]
        };
        let len = record::HEADER_LEN as u64
            + rec.key.len() as u64
            + rec.sub.len() as u64
            + rec.value.len() as u64;
        let mut head = [0u8; HINT_ENTRY_LEN];
        head[0..8].copy_from_slice(&h.seq.to_le_bytes());
        head[8..16].copy_from_slice(&h.expires_at.to_le_bytes());
        head[16..20].copy_from_slice(&offset.to_le_bytes());
        head[20..24].copy_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
        head[24] = h.db;
        head[25] = h.kind as u8;
        head[26] = h.flags;
        head[27] = inline.len() as u8;
        head[28..32].copy_from_slice(&(rec.key.len() as u32).to_le_bytes());
        head[32..36].copy_from_slice(&(rec.sub.len() as u32).to_le_bytes());
        self.entries
            .reserve(HINT_ENTRY_LEN + rec.key.len() + rec.sub.len() + inline.len());
        self.entries.extend_from_slice(&head);
        self.entries.extend_from_slice(rec.key);
        self.entries.extend_from_slice(rec.sub);
        self.entries.extend_from_slice(inline);
        self.count += 1;
    }

    /// Number of entries pushed.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether no entry was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The 64-byte file header.
    fn header(&self) -> [u8; HINT_HEADER_LEN] {
        let mut head = [0u8; HINT_HEADER_LEN];
        head[0..8].copy_from_slice(&HINT_MAGIC);
        head[8..12].copy_from_slice(&HINT_VERSION.to_le_bytes());
        head[16..48].copy_from_slice(&self.identity);
        head[48..56].copy_from_slice(&self.segment_len.to_le_bytes());
        head[56..64].copy_from_slice(&self.count.to_le_bytes());
        head[64..72].copy_from_slice(&self.max_seq.to_le_bytes());
        head
    }

    /// The CRC of header and entries.
    fn crc(&self, header: &[u8]) -> [u8; CRC_LEN] {
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(header);
        hasher.update(&self.entries);
        hasher.finalize().to_le_bytes()
    }

    /// The encoded file bytes (header, entries, CRC).
    pub fn encode(&self) -> Vec<u8> {
        let header = self.header();
        let crc = self.crc(&header);
        let mut out = Vec::with_capacity(HINT_HEADER_LEN + self.entries.len() + CRC_LEN);
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.entries);
        out.extend_from_slice(&crc);
        out
    }

    /// Writes `{id}.hint.tmp`, fsyncs it, renames it to `{id}.hint` (replacing an older hint)
    /// and fsyncs the directory. Reports each step to `observer` (created, written, synced,
    /// renamed, dir_synced).
    ///
    /// A stale `.tmp` file is overwritten. On failure the `.tmp` file is removed if possible.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if any step fails; the previous hint, if any, is then still in place
    /// unless the failure came after the rename.
    pub fn write(
        &self,
        dir: &Path,
        id: SegmentId,
        observer: Option<&Arc<dyn IoObserver>>,
    ) -> Result<()> {
        let tmp = temp_path(dir, id);
        let result = self.write_temp(&tmp, observer);
        if result.is_err() {
            if std::fs::remove_file(&tmp).is_ok()
                && let Some(obs) = observer
            {
                obs.removed(&tmp);
            }
            return result;
        }
        let path = hint_path(dir, id);
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        if let Some(obs) = observer {
            obs.renamed(&tmp, &path);
        }
        sync_dir(dir, observer)
    }

    /// Creates `tmp`, writes the whole hint to it and fsyncs it.
    fn write_temp(&self, tmp: &Path, observer: Option<&Arc<dyn IoObserver>>) -> Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)
            .map_err(|e| Error::io(tmp, e))?;
        if let Some(obs) = observer {
            obs.created(tmp);
        }
        let header = self.header();
        let crc = self.crc(&header);
        // Three writes instead of `encode`: no second copy of a hint that may be large.
        for part in [&header[..], &self.entries, &crc] {
            file.write_all(part).map_err(|e| Error::io(tmp, e))?;
        }
        if let Some(obs) = observer {
            obs.written(tmp, (HINT_HEADER_LEN + self.entries.len() + CRC_LEN) as u64);
        }
        sync_file(&file, tmp, observer)
    }
}

/// One entry read back: the record as replay sees it.
///
/// `record.value` is the inline value when the stored value was inlined (then its length is
/// `record.header.value_len`), else empty. `record.header.record_len()` is the record's length
/// in the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintEntry<'a> {
    /// Offset of the record in the segment.
    pub offset: u32,
    /// The record, with its value only if inlined.
    pub record: RecordRef<'a>,
}

/// A hint file read whole and checked (magic, version, CRC, count, every entry's lengths).
#[derive(Debug, Clone)]
pub struct HintFile {
    /// Header of the segment described.
    identity: SegmentIdentity,
    /// Length of the segment described.
    segment_len: u64,
    /// Number of entries.
    count: u64,
    /// Highest sequence number in the segment.
    max_seq: SeqNo,
    /// The whole file; entries are decoded from it on demand, so loading allocates once.
    bytes: Vec<u8>,
}

impl HintFile {
    /// Reads and checks the hint at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be read; [`Error::Corrupt`] for anything wrong in it,
    /// with the offset of the problem (the CRC's offset when the CRC does not match).
    pub fn read(path: &Path) -> Result<HintFile> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(path, bytes)
    }

    /// Checks `bytes` as the content of the hint at `path` (used in errors only).
    ///
    /// # Errors
    ///
    /// As [`HintFile::read`], without the I/O.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<HintFile> {
        let corrupt = |offset: usize, reason: &str| Error::Corrupt {
            path: path.to_path_buf(),
            offset: offset as u64,
            reason: reason.to_owned(),
        };
        let Some((header, _)) = bytes.split_first_chunk::<HINT_HEADER_LEN>() else {
            return Err(corrupt(0, "file shorter than the hint header"));
        };
        if header[0..8] != HINT_MAGIC {
            return Err(corrupt(0, "bad magic: not a kvdb hint file"));
        }
        let version = LE::read_u32(&header[8..12]);
        if version != HINT_VERSION {
            return Err(corrupt(8, &format!("unsupported hint version {version}")));
        }
        let Some(crc_at) = bytes
            .len()
            .checked_sub(CRC_LEN)
            .filter(|&at| at >= HINT_HEADER_LEN)
        else {
            return Err(corrupt(bytes.len(), "file ends before the checksum"));
        };
        let (body, stored) = bytes.split_at(crc_at);
        if crc32fast::hash(body) != LE::read_u32(stored) {
            return Err(corrupt(crc_at, "checksum mismatch"));
        }
        if LE::read_u32(&header[12..16]) != 0 {
            return Err(corrupt(12, "reserved header bytes are not zero"));
        }
        let mut identity = [0u8; IDENTITY_LEN];
        identity.copy_from_slice(&header[16..48]);
        let segment_len = LE::read_u64(&header[48..56]);
        let count = LE::read_u64(&header[56..64]);
        let max_seq = LE::read_u64(&header[64..72]);

        // Every entry is at least HINT_ENTRY_LEN bytes; the loop stops at the first entry that
        // does not fit, so a huge count costs nothing.
        let mut at = HINT_HEADER_LEN;
        for _ in 0..count {
            let rest = body.get(at..).unwrap_or_default();
            match parse_entry(rest, segment_len) {
                Ok((_, used)) => at += used,
                Err(reason) => return Err(corrupt(at, reason)),
            }
        }
        if at != crc_at {
            return Err(corrupt(at, "bytes after the last entry"));
        }
        Ok(HintFile {
            identity,
            segment_len,
            count,
            max_seq,
            bytes,
        })
    }

    /// The header of the segment this hint describes (zero-padded to 32 bytes).
    pub fn identity(&self) -> &SegmentIdentity {
        &self.identity
    }

    /// The length of the segment this hint describes.
    pub fn segment_len(&self) -> u64 {
        self.segment_len
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// The highest sequence number in the segment described.
    pub fn max_seq(&self) -> SeqNo {
        self.max_seq
    }

    /// Whether the hint has no entry.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The entries in file order.
    pub fn entries(&self) -> impl Iterator<Item = HintEntry<'_>> + '_ {
        let end = self.bytes.len().saturating_sub(CRC_LEN);
        Entries {
            rest: self.bytes.get(HINT_HEADER_LEN..end).unwrap_or_default(),
            left: self.count,
            segment_len: self.segment_len,
        }
    }
}

/// Iterator over the entries of a checked [`HintFile`].
struct Entries<'a> {
    /// The entries not yet yielded.
    rest: &'a [u8],
    /// How many remain.
    left: u64,
    /// The hint's segment length (`parse_entry` checks against it).
    segment_len: u64,
}

impl<'a> Iterator for Entries<'a> {
    type Item = HintEntry<'a>;

    fn next(&mut self) -> Option<HintEntry<'a>> {
        if self.left == 0 {
            return None;
        }
        // `HintFile::from_bytes` parsed these same bytes successfully, so this cannot fail.
        let (entry, used) = parse_entry(self.rest, self.segment_len).ok()?;
        self.rest = self.rest.get(used..)?;
        self.left -= 1;
        Some(entry)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.left).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

/// Decodes and checks the entry at the start of `buf`; returns it and its encoded length.
/// Every length is checked against the bytes that remain before it is used.
fn parse_entry(
    buf: &[u8],
    segment_len: u64,
) -> std::result::Result<(HintEntry<'_>, usize), &'static str> {
    let Some((head, body)) = buf.split_first_chunk::<HINT_ENTRY_LEN>() else {
        return Err("entry extends past the end of the file");
    };
    let seq = LE::read_u64(&head[0..8]);
    let expires_at = LE::read_u64(&head[8..16]);
    let offset = LE::read_u32(&head[16..20]);
    let len = LE::read_u32(&head[20..24]);
    let db = head[24];
    let kind = Kind::from_u8(head[25]).ok_or("unknown record kind")?;
    let flags = head[26];
    let inline_len = usize::from(head[27]);
    let key_len = LE::read_u32(&head[28..32]);
    let sub_len = LE::read_u32(&head[32..36]);

    // The same limits as `record::Header::parse`, so replay sees only headers a segment could
    // hold.
    if db >= NUM_DBS {
        return Err("database index out of range");
    }
    if flags & !KNOWN_FLAGS != 0 {
        return Err("unknown flag bits");
    }
    if seq > i64::MAX as u64 {
        return Err("sequence number out of range");
    }
    if expires_at > i64::MAX as u64 {
        return Err("expiry out of range");
    }
    let value_len = u64::from(len)
        .checked_sub(record::HEADER_LEN as u64 + u64::from(key_len) + u64::from(sub_len))
        .ok_or("record length shorter than its key and sub-key")?;
    if key_len > MAX_FIELD_LEN || sub_len > MAX_FIELD_LEN || value_len > u64::from(MAX_FIELD_LEN) {
        return Err("field length above 512 MiB");
    }
    if u64::from(offset) + u64::from(len) > segment_len {
        return Err("record extends past the end of the segment");
    }
    // Exactly one encoding is valid: the value is inline iff short and uncompressed.
    let expected_inline = if flags & FLAG_ZSTD == 0 && value_len <= MAX_INLINE_LEN as u64 {
        value_len as usize
    } else {
        0
    };
    if inline_len != expected_inline {
        return Err("inline value length does not match the record");
    }
    // Each term is at most 512 MiB, so the sum fits in a u64 and is compared before any use.
    let body_len = u64::from(key_len) + u64::from(sub_len) + inline_len as u64;
    if body_len > body.len() as u64 {
        return Err("entry extends past the end of the file");
    }
    let (key, body) = body.split_at(key_len as usize);
    let (sub, body) = body.split_at(sub_len as usize);
    let value = &body[..inline_len];
    let header = Header {
        seq,
        db,
        kind,
        expires_at,
        flags,
        key_len,
        sub_len,
        value_len: value_len as u32,
    };
    let entry = HintEntry {
        offset,
        record: RecordRef {
            header,
            key,
            sub,
            value,
        },
    };
    Ok((entry, HINT_ENTRY_LEN + body_len as usize))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::log::record::FLAG_BATCH_MORE;
    use crate::log::segment::encode_header;

    const SEGMENT_LEN: u64 = 1 << 20;

    fn header(kind: Kind, flags: u8, seq: u64, expires_at: u64) -> Header {
        Header {
            seq,
            db: 3,
            kind,
            expires_at,
            flags,
            key_len: 0,
            sub_len: 0,
            value_len: 0,
        }
    }

    /// A record as `record::decode` would give it: lengths in the header match the slices.
    fn rec<'a>(h: Header, key: &'a [u8], sub: &'a [u8], value: &'a [u8]) -> RecordRef<'a> {
        RecordRef {
            header: Header {
                key_len: key.len() as u32,
                sub_len: sub.len() as u32,
                value_len: value.len() as u32,
                ..h
            },
            key,
            sub,
            value,
        }
    }

    fn test_identity() -> SegmentIdentity {
        identity(&encode_header())
    }

    /// One record of every kind and value shape, with its offset.
    fn samples() -> Vec<(u32, RecordRef<'static>)> {
        let long = b"a value longer than eight bytes";
        vec![
            (
                16,
                rec(header(Kind::Put, 0, 1, 1_700_000_000_123), b"k", b"", b"v"),
            ),
            (100, rec(header(Kind::Delete, 0, 2, 0), b"gone", b"", b"")),
            (200, rec(header(Kind::Expire, 0, 3, 42), b"k", b"", b"")),
            (300, rec(header(Kind::Flush, 0, 4, 0), b"", b"", b"")),
            (400, rec(header(Kind::Meta, 0, 5, 7), b"zset", b"", &[3])),
            (
                500,
                rec(
                    header(Kind::Element, FLAG_BATCH_MORE, 6, 0),
                    b"zset",
                    b"\0\0\0\0\0\0\0\x05m",
                    &[1, 2, 3, 4, 5, 6, 7, 8],
                ),
            ),
            (
                600,
                rec(header(Kind::Element, 0, 7, 0), b"hash", b"v1field", long),
            ),
            (
                700,
                rec(header(Kind::Put, FLAG_ZSTD, 8, 0), b"z", b"", b"zstd"),
            ),
            (
                800,
                rec(
                    header(Kind::ElementDelete, 0, 9, 0),
                    b"hash",
                    b"v1field",
                    b"",
                ),
            ),
        ]
    }

    fn sample_writer() -> HintWriter {
        let mut w = HintWriter::new(test_identity(), SEGMENT_LEN, 99);
        for (offset, r) in samples() {
            w.push(offset, &r);
        }
        w
    }

    /// Fixes the CRC after a test edited the bytes, so the checks behind it are reached.
    fn reseal(bytes: &mut [u8]) {
        let at = bytes.len() - CRC_LEN;
        let crc = crc32fast::hash(&bytes[..at]);
        bytes[at..].copy_from_slice(&crc.to_le_bytes());
    }

    fn read(bytes: Vec<u8>) -> Result<HintFile> {
        HintFile::from_bytes(Path::new("test.hint"), bytes)
    }

    fn corrupt_reason(bytes: Vec<u8>) -> (u64, String) {
        match read(bytes) {
            Err(Error::Corrupt { offset, reason, .. }) => (offset, reason),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn every_kind_round_trips_with_short_uncompressed_values_inline() -> Result<()> {
        let w = sample_writer();
        assert_eq!(w.len(), 9);
        assert!(!w.is_empty());
        let hint = read(w.encode())?;
        assert_eq!(hint.identity(), &test_identity());
        assert_eq!(hint.segment_len(), SEGMENT_LEN);
        assert_eq!(hint.len(), 9);
        let entries: Vec<_> = hint.entries().collect();
        let samples = samples();
        assert_eq!(entries.len(), samples.len());
        for (entry, (offset, pushed)) in entries.iter().zip(&samples) {
            assert_eq!(entry.offset, *offset);
            let got = &entry.record;
            assert_eq!(got.header, pushed.header, "header of {:?}", pushed.key);
            assert_eq!((got.key, got.sub), (pushed.key, pushed.sub));
            assert_eq!(got.header.record_len(), pushed.header.record_len());
            let inline = !pushed.header.is_compressed() && pushed.value.len() <= MAX_INLINE_LEN;
            let want: &[u8] = if inline { pushed.value } else { b"" };
            assert_eq!(got.value, want, "value of {:?}", pushed.key);
        }
        // The long and the compressed value are not inline, and say so by their length.
        assert!(entries[6].record.value.is_empty() && entries[6].record.header.value_len > 8);
        assert!(entries[7].record.value.is_empty() && entries[7].record.header.is_compressed());
        assert_eq!(entries[5].record.value, &[1, 2, 3, 4, 5, 6, 7, 8]);
        Ok(())
    }

    #[test]
    fn an_empty_hint_round_trips() -> Result<()> {
        let w = HintWriter::new(identity(b"short"), 16, 0);
        assert!(w.is_empty());
        let bytes = w.encode();
        assert_eq!(bytes.len(), HINT_HEADER_LEN + CRC_LEN);
        let hint = read(bytes)?;
        assert!(hint.is_empty());
        assert_eq!(hint.entries().count(), 0);
        assert_eq!(&hint.identity()[..5], b"short");
        assert!(hint.identity()[5..].iter().all(|&b| b == 0));
        Ok(())
    }

    #[test]
    fn identity_keeps_the_first_32_bytes() {
        let long: Vec<u8> = (0..40).collect();
        assert_eq!(identity(&long)[..], long[..32]);
        assert_eq!(identity(b""), [0u8; 32]);
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        let mut w = HintWriter::new(test_identity(), SEGMENT_LEN, 99);
        for (offset, r) in samples().into_iter().take(5) {
            w.push(offset, &r);
        }
        let good = w.encode();
        for at in 0..good.len() {
            for mask in 1..=255u8 {
                let mut bad = good.clone();
                bad[at] ^= mask;
                assert!(
                    matches!(read(bad), Err(Error::Corrupt { .. })),
                    "flip {mask:#x} at byte {at} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn every_truncation_is_detected() {
        let good = sample_writer().encode();
        for len in 0..good.len() {
            assert!(
                matches!(read(good[..len].to_vec()), Err(Error::Corrupt { .. })),
                "truncation to {len} went unnoticed"
            );
        }
    }

    #[test]
    fn a_bad_checksum_is_reported_at_the_checksum() {
        let mut bytes = sample_writer().encode();
        let crc_at = bytes.len() - CRC_LEN;
        bytes[HINT_HEADER_LEN + 3] ^= 1;
        assert_eq!(
            corrupt_reason(bytes),
            (crc_at as u64, "checksum mismatch".to_owned())
        );
    }

    #[test]
    fn magic_and_version_are_checked() {
        let good = sample_writer().encode();
        let mut bad = good.clone();
        bad[0] = b'X';
        reseal(&mut bad);
        assert!(corrupt_reason(bad).1.contains("magic"));
        let mut bad = good;
        bad[8] = 2;
        reseal(&mut bad);
        assert_eq!(
            corrupt_reason(bad),
            (8, "unsupported hint version 2".to_owned())
        );
    }

    #[test]
    fn a_huge_count_or_key_len_neither_allocates_nor_panics() {
        let good = sample_writer().encode();
        for count in [10, u64::MAX / 2, u64::MAX] {
            let mut bad = good.clone();
            bad[56..64].copy_from_slice(&count.to_le_bytes());
            reseal(&mut bad);
            let (_, reason) = corrupt_reason(bad);
            assert_eq!(reason, "entry extends past the end of the file");
        }
        let mut bad = good.clone();
        bad[56..64].copy_from_slice(&1u64.to_le_bytes());
        reseal(&mut bad);
        assert_eq!(corrupt_reason(bad).1, "bytes after the last entry");

        // The first entry claims a key at the limit and a record length to match, in a
        // segment long enough to hold it.
        let e = HINT_HEADER_LEN;
        let mut bad = good;
        bad[48..56].copy_from_slice(&u64::MAX.to_le_bytes());
        let key_len = MAX_FIELD_LEN;
        bad[e + 20..e + 24].copy_from_slice(&(record::HEADER_LEN as u32 + key_len).to_le_bytes());
        bad[e + 27] = 0;
        bad[e + 28..e + 32].copy_from_slice(&key_len.to_le_bytes());
        bad[e + 16..e + 20].copy_from_slice(&0u32.to_le_bytes());
        reseal(&mut bad);
        assert_eq!(
            corrupt_reason(bad),
            (
                e as u64,
                "entry extends past the end of the file".to_owned()
            )
        );
    }

    #[test]
    fn inconsistent_entries_are_rejected_even_with_a_valid_checksum() {
        let good = sample_writer().encode();
        let e = HINT_HEADER_LEN; // the first entry: Put "k" -> "v", inline
        // (expected reason, where to patch, the bytes written there)
        let cases: [(&str, usize, &[u8]); 13] = [
            ("unknown record kind", e + 25, &[0]),
            ("unknown record kind", e + 25, &[8]),
            ("database index out of range", e + 24, &[NUM_DBS]),
            ("unknown flag bits", e + 26, &[0x80]),
            ("sequence number out of range", e + 7, &[0x80]),
            ("expiry out of range", e + 15, &[0x80]),
            (
                "record length shorter than its key and sub-key",
                e + 20,
                &10u32.to_le_bytes(),
            ),
            (
                "field length above 512 MiB",
                e + 20,
                &u32::MAX.to_le_bytes(),
            ),
            (
                "record extends past the end of the segment",
                e + 16,
                &(SEGMENT_LEN as u32).to_le_bytes(),
            ),
            (
                "inline value length does not match the record",
                e + 27,
                &[9],
            ),
            (
                "inline value length does not match the record",
                e + 27,
                &[0],
            ),
            (
                "inline value length does not match the record",
                e + 26,
                &[FLAG_ZSTD],
            ),
            ("reserved header bytes are not zero", 13, &[1]),
        ];
        for (want, at, patch) in cases {
            let mut bad = good.clone();
            bad[at..at + patch.len()].copy_from_slice(patch);
            reseal(&mut bad);
            assert_eq!(corrupt_reason(bad).1, want, "patch at {at}");
        }
        // An error inside a later entry points at that entry.
        let second = e + HINT_ENTRY_LEN + 1 + 1;
        let mut bad = good;
        bad[second + 25] = 0;
        reseal(&mut bad);
        assert_eq!(corrupt_reason(bad).0, second as u64);
    }

    /// Records the events it sees, as text.
    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Recorder {
        fn push(&self, event: String) {
            if let Ok(mut events) = self.0.lock() {
                events.push(event);
            }
        }
    }

    fn name(path: &Path) -> String {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    impl IoObserver for Recorder {
        fn created(&self, path: &Path) {
            self.push(format!("created {}", name(path)));
        }
        fn written(&self, path: &Path, len: u64) {
            self.push(format!("written {} {len}", name(path)));
        }
        fn truncated(&self, path: &Path, len: u64) {
            self.push(format!("truncated {} {len}", name(path)));
        }
        fn synced(&self, path: &Path) {
            self.push(format!("synced {}", name(path)));
        }
        fn removed(&self, path: &Path) {
            self.push(format!("removed {}", name(path)));
        }
        fn renamed(&self, from: &Path, to: &Path) {
            self.push(format!("renamed {} {}", name(from), name(to)));
        }
        fn dir_synced(&self, _dir: &Path) {
            self.push("dir_synced".to_owned());
        }
    }

    #[test]
    fn write_renames_into_place_leaves_no_temp_file_and_reads_back() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        // A stale temp file from an interrupted write is overwritten.
        std::fs::write(temp_path(dir.path(), 7), b"junk").map_err(|e| Error::io("tmp", e))?;
        let recorder = Arc::new(Recorder::default());
        let observer: Arc<dyn IoObserver> = recorder.clone();
        let w = sample_writer();
        w.write(dir.path(), 7, Some(&observer))?;

        let names: Vec<String> = std::fs::read_dir(dir.path())
            .map_err(|e| Error::io("dir", e))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        assert_eq!(names, ["0000000007.hint"]);
        let path = hint_path(dir.path(), 7);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        assert_eq!(bytes, w.encode());
        let hint = HintFile::read(&path)?;
        assert_eq!(hint.entries().count(), 9);

        let len = bytes.len();
        let events = recorder.0.lock().map(|e| e.clone()).unwrap_or_default();
        assert_eq!(
            events,
            [
                "created 0000000007.hint.tmp".to_owned(),
                format!("written 0000000007.hint.tmp {len}"),
                "synced 0000000007.hint.tmp".to_owned(),
                "renamed 0000000007.hint.tmp 0000000007.hint".to_owned(),
                "dir_synced".to_owned(),
            ]
        );

        // A second write replaces the first.
        HintWriter::new(test_identity(), 16, 0).write(dir.path(), 7, None)?;
        assert!(HintFile::read(&path)?.is_empty());
        Ok(())
    }

    #[test]
    fn reading_a_missing_hint_is_an_io_error() {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e));
        let Ok(dir) = dir else { panic!("no temp dir") };
        assert!(matches!(
            HintFile::read(&hint_path(dir.path(), 1)),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn names_round_trip_and_temp_names_are_not_hints() {
        let dir = Path::new("/data");
        let path = hint_path(dir, 42);
        assert_eq!(path, Path::new("/data/0000000042.hint"));
        assert_eq!(parse_hint_name("0000000042.hint"), Some(42));
        assert_eq!(parse_hint_name("0000000042.hint.tmp"), None);
        assert_eq!(parse_hint_name("0000000042.seg"), None);
        assert_eq!(parse_hint_name("42.hint"), None);
        assert_eq!(parse_hint_name("000000004x.hint"), None);
        assert!(is_temp_name("0000000042.hint.tmp"));
        assert!(!is_temp_name("0000000042.hint"));
        assert_eq!(name(&temp_path(dir, 42)), "0000000042.hint.tmp");
        assert!(hint_path(dir, 9) < hint_path(dir, 10));
    }
}
