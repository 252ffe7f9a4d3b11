//! Segment files: ids, names, the file header, and reading records back.
//!
//! ```text
//! offset size field
//!  0     8    magic    b"KVDBSEG\0"
//!  8     4    version  format version: 2 (1 = before collection records; still read)
//! 12     4    reserved 0
//! 16          records
//! ```

use std::borrow::Cow;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
/// `Element`, `ElementDelete`).
pub const FORMAT_VERSION: u32 = 2;
/// Oldest segment format version this build reads.
pub const MIN_FORMAT_VERSION: u32 = 1;
/// Segment header: magic 8 + version 4 + reserved 4.
pub const SEGMENT_HEADER_LEN: u64 = 8 + 4 + 4;
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

/// The header bytes every segment starts with.
pub fn encode_header() -> [u8; SEGMENT_HEADER_LEN as usize] {
    let mut buf = [0u8; SEGMENT_HEADER_LEN as usize];
    buf[..8].copy_from_slice(&SEGMENT_MAGIC);
    LE::write_u32(&mut buf[8..12], FORMAT_VERSION);
    buf
}

/// Checks a segment header and returns its format version; `Err` holds the reason.
pub fn check_header(buf: &[u8]) -> std::result::Result<u32, String> {
    if buf.len() < SEGMENT_HEADER_LEN as usize {
        return Err("file shorter than the segment header".into());
    }
    if buf[..8] != SEGMENT_MAGIC {
        return Err("bad magic: not a kvdb segment".into());
    }
    let version = LE::read_u32(&buf[8..12]);
    if !(MIN_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(format!("unsupported format version {version}"));
    }
    Ok(version)
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
}

impl Segment {
    /// Opens a sealed segment, memory-mapped if `mmap` is set, else read with `pread`.
    pub fn open_sealed(dir: &Path, id: SegmentId, mmap: bool) -> Result<Segment> {
        let path = segment_path(dir, id);
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        Self::from_file(path, id, Arc::new(file), mmap)
    }

    /// Wraps an already open file (the writer's, when it is sealed).
    pub fn from_file(path: PathBuf, id: SegmentId, file: Arc<File>, mmap: bool) -> Result<Segment> {
        let source = if mmap {
            Source::Mapped(map_sealed(&file).map_err(|e| Error::io(&path, e))?)
        } else {
            Source::File(file)
        };
        Ok(Segment { id, path, source })
    }

    /// A segment read with `pread` through `file` (the active segment).
    pub fn active(path: PathBuf, id: SegmentId, file: Arc<File>) -> Segment {
        Segment {
            id,
            path,
            source: Source::File(file),
        }
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
