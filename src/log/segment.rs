//! Segment files: ids, names, the file header, and reading records back.
//!
//! ```text
//! offset size field
//!  0     8    magic        b"KVDBSEG\0"
//!  8     4    version      format version: 3 (1 and 2, with a 16-byte header, still read)
//! 12     4    header_crc   CRC-32 of bytes 16..32 (version 3; reserved, 0, before)
//! 16     4    covers_from  0 for a segment the writer appended; for a compaction output,
//!                          the position of the oldest segment it replaces (see below)
//! 20     4    position     0 for a segment the writer appended (its position is its id);
//!                          for a compaction output, the position of the newest segment it
//!                          replaces: where it sits in replay order
//! 24     8    filtered_seq 0 for an appended segment; for a compaction output, the sequence
//!                          number the engine was at when compaction chose what to keep
//! 32          records
//! ```
//!
//! Segments replay in the order of their *position*, then id. A compaction of the segments at
//! positions `a..=b` writes one new file with a fresh id, `covers_from` a and position b, and
//! publishes it with one rename; only then are the inputs deleted. An open that finds both (a
//! crash came in between) deletes every older segment whose position lies in `a..=b`. Versions
//! 1 and 2 had a 16-byte header (magic, version, reserved) and no compaction outputs.

use std::borrow::Cow;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use byteorder::{ByteOrder, LittleEndian as LE};
use memmap2::Mmap;

use crate::error::{Error, Result};
use crate::log::mmap::map_sealed;
use crate::log::record::{self, DecodeError, RecordRef};

/// Number of a segment file; later segments have larger ids.
pub type SegmentId = u32;

/// Magic bytes at the start of every segment.
pub const SEGMENT_MAGIC: [u8; 8] = *b"KVDBSEG\0";
/// Segment format version written by this build: 2 added the collection record kinds (`Meta`,
/// `Element`, `ElementDelete`), 3 the compaction fields of the header.
pub const FORMAT_VERSION: u32 = 3;
/// Oldest segment format version this build reads.
pub const MIN_FORMAT_VERSION: u32 = 1;
/// Segment header of the current version: magic 8 + version 4 + reserved 4 + covers_from 4 +
/// reserved 4 + filtered_seq 8.
pub const SEGMENT_HEADER_LEN: u64 = 32;
/// Segment header of versions 1 and 2: magic 8 + version 4 + reserved 4.
pub const LEGACY_HEADER_LEN: u64 = 16;

/// What a segment's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Format version.
    pub version: u32,
    /// Where records start: the header's length.
    pub len: u64,
    /// For a compaction output, the position of the oldest segment it replaces; 0 otherwise.
    pub covers_from: SegmentId,
    /// For a compaction output, its position in replay order; 0 otherwise (the id is the
    /// position).
    pub position: SegmentId,
    /// For a compaction output, the sequence number its liveness was decided at; 0 otherwise.
    pub filtered_seq: u64,
}

impl SegmentHeader {
    /// The header [`encode_header`] writes.
    pub fn appended() -> SegmentHeader {
        SegmentHeader {
            version: FORMAT_VERSION,
            len: SEGMENT_HEADER_LEN,
            covers_from: 0,
            position: 0,
            filtered_seq: 0,
        }
    }

    /// Whether compaction wrote this segment.
    pub fn is_compacted(&self) -> bool {
        self.position != 0
    }
}

/// Where segment `id` with header `header` sits in replay order: (position, id).
pub fn order_key(id: SegmentId, header: &SegmentHeader) -> (SegmentId, SegmentId) {
    if header.is_compacted() {
        (header.position, id)
    } else {
        (id, id)
    }
}
/// File name extension of segments.
const SEGMENT_EXT: &str = "seg";

/// The path of segment `id` in `dir`: ten zero-padded digits, so names sort like ids.
pub fn segment_path(dir: &Path, id: SegmentId) -> PathBuf {
    dir.join(format!("{id:010}.{SEGMENT_EXT}"))
}

/// Parses a segment file name back into its id.
pub fn parse_segment_name(name: &str) -> Option<SegmentId> {
    let stem = name.strip_suffix(SEGMENT_EXT)?.strip_suffix('.')?;
    if stem.len() != 10 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// The ids of all segment files in `dir`, ascending.
pub fn list_segments(dir: &Path) -> Result<Vec<SegmentId>> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if let Some(id) = entry.file_name().to_str().and_then(parse_segment_name) {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// The header of a segment the writer appends to.
pub fn encode_header() -> [u8; SEGMENT_HEADER_LEN as usize] {
    encode_compacted_header(0, 0, 0)
}

/// The header of a compaction output replacing the segments at positions
/// `covers_from..=position`, whose records were chosen at sequence number `filtered_seq`.
pub fn encode_compacted_header(
    covers_from: SegmentId,
    position: SegmentId,
    filtered_seq: u64,
) -> [u8; SEGMENT_HEADER_LEN as usize] {
    let mut buf = [0u8; SEGMENT_HEADER_LEN as usize];
    buf[..8].copy_from_slice(&SEGMENT_MAGIC);
    LE::write_u32(&mut buf[8..12], FORMAT_VERSION);
    LE::write_u32(&mut buf[16..20], covers_from);
    LE::write_u32(&mut buf[20..24], position);
    LE::write_u64(&mut buf[24..32], filtered_seq);
    let crc = crc32fast::hash(&buf[16..32]);
    LE::write_u32(&mut buf[12..16], crc);
    buf
}

/// Checks a segment header and returns its format version; `Err` holds the reason.
pub fn check_header(buf: &[u8]) -> std::result::Result<u32, String> {
    parse_header(buf).map(|h| h.version)
}

/// Checks and decodes a segment header; `Err` holds the reason.
pub fn parse_header(buf: &[u8]) -> std::result::Result<SegmentHeader, String> {
    if buf.len() < LEGACY_HEADER_LEN as usize {
        return Err("file shorter than the segment header".into());
    }
    if buf[..8] != SEGMENT_MAGIC {
        return Err("bad magic: not a kvdb segment".into());
    }
    let version = LE::read_u32(&buf[8..12]);
    if !(MIN_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(format!("unsupported format version {version}"));
    }
    if version < 3 {
        return Ok(SegmentHeader {
            version,
            len: LEGACY_HEADER_LEN,
            covers_from: 0,
            position: 0,
            filtered_seq: 0,
        });
    }
    if buf.len() < SEGMENT_HEADER_LEN as usize {
        return Err("file shorter than the segment header".into());
    }
    if LE::read_u32(&buf[12..16]) != crc32fast::hash(&buf[16..32]) {
        return Err("segment header checksum mismatch".into());
    }
    Ok(SegmentHeader {
        version,
        len: SEGMENT_HEADER_LEN,
        covers_from: LE::read_u32(&buf[16..20]),
        position: LE::read_u32(&buf[20..24]),
        filtered_seq: LE::read_u64(&buf[24..32]),
    })
}

/// How a segment's bytes are read.
#[derive(Debug)]
enum Source {
    /// A sealed segment mapped into memory.
    Mapped(Mmap),
    /// Positional reads (`pread`) on an open file: the active segment, or any segment when
    /// mapping is turned off.
    File(Arc<File>),
}

/// A readable segment file. Reads are safe from many threads at once.
#[derive(Debug)]
pub struct Segment {
    id: SegmentId,
    path: PathBuf,
    source: Source,
    header: SegmentHeader,
    /// Whether a valid hint file describes it (loaded from one, or one was written for it).
    hinted: AtomicBool,
}

impl Segment {
    /// Opens a sealed segment, memory-mapped if `mmap` is set, else read with `pread`.
    pub fn open_sealed(dir: &Path, id: SegmentId, mmap: bool) -> Result<Segment> {
        let path = segment_path(dir, id);
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        Self::from_file(path, id, Arc::new(file), mmap)
    }

    /// Wraps an already open file (the writer's, when it is sealed), and checks its header.
    pub fn from_file(path: PathBuf, id: SegmentId, file: Arc<File>, mmap: bool) -> Result<Segment> {
        let source = if mmap {
            Source::Mapped(map_sealed(&file).map_err(|e| Error::io(&path, e))?)
        } else {
            Source::File(file)
        };
        let mut segment = Segment {
            id,
            path,
            source,
            header: SegmentHeader::appended(),
            hinted: AtomicBool::new(false),
        };
        let len = segment.len()?.min(SEGMENT_HEADER_LEN) as usize;
        let bytes = segment.read_at(0, len)?;
        segment.header = parse_header(&bytes).map_err(|reason| segment.corrupt(0, &reason))?;
        Ok(segment)
    }

    /// A segment read with `pread` through `file` (the active segment), whose header is
    /// `header`.
    pub fn active(path: PathBuf, id: SegmentId, file: Arc<File>, header: SegmentHeader) -> Segment {
        Segment {
            id,
            path,
            source: Source::File(file),
            header,
            hinted: AtomicBool::new(false),
        }
    }

    /// Whether a valid hint file describes the segment.
    pub fn is_hinted(&self) -> bool {
        self.hinted.load(Ordering::Relaxed)
    }

    /// Records that a valid hint file now describes the segment.
    pub fn set_hinted(&self) {
        self.hinted.store(true, Ordering::Relaxed);
    }

    /// What the segment's header says.
    pub fn header(&self) -> &SegmentHeader {
        &self.header
    }

    /// The segment's length in bytes now (an active segment grows).
    pub fn len(&self) -> Result<u64> {
        match &self.source {
            Source::Mapped(map) => Ok(map.len() as u64),
            Source::File(file) => Ok(file.metadata().map_err(|e| Error::io(&self.path, e))?.len()),
        }
    }

    /// Whether the segment holds no record (only its header).
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? <= self.header.len)
    }

    /// The first [`SEGMENT_HEADER_LEN`] bytes of the file (fewer if it is shorter): what a hint
    /// file names its segment by.
    pub fn header_bytes(&self) -> Result<Vec<u8>> {
        let len = self.len()?.min(SEGMENT_HEADER_LEN) as usize;
        Ok(self.read_at(0, len)?.into_owned())
    }

    /// The segment's id.
    pub fn id(&self) -> SegmentId {
        self.id
    }

    /// The segment's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads `len` bytes at `offset`: borrowed from the map, or freshly read.
    pub fn read_at(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>> {
        match &self.source {
            Source::Mapped(map) => {
                let start = usize::try_from(offset).ok().filter(|&s| s <= map.len());
                match start.and_then(|s| map.get(s..s.checked_add(len)?)) {
                    Some(bytes) => Ok(Cow::Borrowed(bytes)),
                    None => Err(self.corrupt(offset, "record extends past the end of the segment")),
                }
            }
            Source::File(file) => {
                let mut buf = vec![0u8; len];
                file.read_exact_at(&mut buf, offset).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        self.corrupt(offset, "record extends past the end of the segment")
                    } else {
                        Error::io(&self.path, e)
                    }
                })?;
                Ok(Cow::Owned(buf))
            }
        }
    }

    /// Reads and checks the record of `len` bytes at `offset`, calling `f` with it.
    pub fn with_record<T>(
        &self,
        offset: u64,
        len: usize,
        f: impl FnOnce(RecordRef<'_>) -> T,
    ) -> Result<T> {
        let bytes = self.read_at(offset, len)?;
        match record::decode(&bytes) {
            Ok(rec) if rec.header.record_len() == len as u64 => Ok(f(rec)),
            Ok(_) => Err(self.corrupt(offset, "record length differs from the index")),
            Err(DecodeError::Incomplete { .. }) => Err(self.corrupt(offset, "truncated record")),
            Err(DecodeError::Invalid(reason)) => Err(self.corrupt(offset, reason)),
        }
    }

    /// A `Corrupt` error for this segment.
    pub fn corrupt(&self, offset: u64, reason: &str) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            offset,
            reason: reason.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_like_ids() {
        let dir = Path::new("/data");
        let path = segment_path(dir, 42);
        assert_eq!(path, Path::new("/data/0000000042.seg"));
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name");
        assert_eq!(parse_segment_name(name), Some(42));
        assert_eq!(parse_segment_name("0000000042.seg.tmp"), None);
        assert_eq!(parse_segment_name("42.seg"), None);
        assert_eq!(parse_segment_name("LOCK"), None);
        assert!(segment_path(dir, 9) < segment_path(dir, 10));
    }

    #[test]
    fn header_checks_magic_and_version() {
        let good = encode_header();
        assert_eq!(check_header(&good), Ok(FORMAT_VERSION));
        assert!(check_header(&good[..10]).is_err());
        let mut bad = good;
        bad[0] = b'X';
        assert!(check_header(&bad).expect_err("bad magic").contains("magic"));
        let mut bad = good;
        bad[8] = 9;
        assert!(
            check_header(&bad)
                .expect_err("bad version")
                .contains("version 9")
        );
    }
}
