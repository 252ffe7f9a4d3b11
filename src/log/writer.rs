//! Appending to the active segment.
//!
//! Contract: one `Writer` per directory (the engine owns it under its lock). Each `append` is
//! one `pwrite` of a whole batch, so a crash leaves a prefix of it at worst (a torn tail).
//! Nothing here decides *when* to sync; the engine does, according to the fsync policy.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::log::observer::IoObserver;
use crate::log::segment::{SEGMENT_HEADER_LEN, SegmentId, encode_header, segment_path};

/// The active segment, open for appending.
#[derive(Debug)]
pub struct Writer {
    id: SegmentId,
    path: PathBuf,
    file: Arc<File>,
    len: u64,
    observer: Option<Arc<dyn IoObserver>>,
}

/// Fsyncs a directory so that file creations and removals in it are durable.
pub fn sync_dir(dir: &Path, observer: Option<&Arc<dyn IoObserver>>) -> Result<()> {
    let handle = File::open(dir).map_err(|e| Error::io(dir, e))?;
    handle.sync_all().map_err(|e| Error::io(dir, e))?;
    if let Some(obs) = observer {
        obs.dir_synced(dir);
    }
    Ok(())
}

impl Writer {
    /// Creates segment `id` in `dir` with its header, and makes file and directory entry durable.
    pub fn create(
        dir: &Path,
        id: SegmentId,
        observer: Option<Arc<dyn IoObserver>>,
    ) -> Result<Writer> {
        let path = segment_path(dir, id);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        if let Some(obs) = &observer {
            obs.created(&path);
        }
        let mut writer = Writer {
            id,
            path,
            file: Arc::new(file),
            len: 0,
            observer,
        };
        writer.append(&encode_header())?;
        writer.sync()?;
        sync_dir(dir, writer.observer.as_ref())?;
        Ok(writer)
    }

    /// Reopens an existing segment for appending after recovery validated its first `len` bytes.
    /// Anything after `len` (a torn tail) is cut off and the cut made durable.
    pub fn reopen(
        dir: &Path,
        id: SegmentId,
        len: u64,
        observer: Option<Arc<dyn IoObserver>>,
    ) -> Result<Writer> {
        let path = segment_path(dir, id);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let on_disk = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        let mut writer = Writer {
            id,
            path,
            file: Arc::new(file),
            len: on_disk,
            observer,
        };
        if on_disk != len {
            writer.truncate(len)?;
        }
        if len < SEGMENT_HEADER_LEN {
            // A crash while the segment was being created: start it again.
            writer.truncate(0)?;
            writer.append(&encode_header())?;
            writer.sync()?;
        }
        Ok(writer)
    }

    fn truncate(&mut self, len: u64) -> Result<()> {
        self.file
            .set_len(len)
            .map_err(|e| Error::io(&self.path, e))?;
        self.len = len;
        if let Some(obs) = &self.observer {
            obs.truncated(&self.path, len);
        }
        self.sync()
    }

    /// Appends `bytes` in one positional write and returns the offset they start at.
    pub fn append(&mut self, bytes: &[u8]) -> Result<u64> {
        let offset = self.len;
        self.file
            .write_all_at(bytes, offset)
            .map_err(|e| Error::io(&self.path, e))?;
        self.len += bytes.len() as u64;
        if let Some(obs) = &self.observer {
            obs.written(&self.path, self.len);
        }
        Ok(offset)
    }

    /// Makes everything appended so far durable (fdatasync).
    pub fn sync(&self) -> Result<()> {
        sync_file(&self.file, &self.path, self.observer.as_ref())
    }

    /// The segment's id.
    pub fn id(&self) -> SegmentId {
        self.id
    }

    /// The segment's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Current length of the segment in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the segment holds no record yet (only its header).
    pub fn is_empty(&self) -> bool {
        self.len <= SEGMENT_HEADER_LEN
    }

    /// The open file, shared with readers of the active segment.
    pub fn file(&self) -> &Arc<File> {
        &self.file
    }
}

/// fdatasync `file` and tell the observer.
pub fn sync_file(file: &File, path: &Path, observer: Option<&Arc<dyn IoObserver>>) -> Result<()> {
    file.sync_data().map_err(|e| Error::io(path, e))?;
    if let Some(obs) = observer {
        obs.synced(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::segment::check_header;

    #[test]
    fn create_writes_header_and_append_returns_offsets() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let mut w = Writer::create(dir.path(), 7, None)?;
        assert_eq!(w.len(), SEGMENT_HEADER_LEN);
        assert!(w.is_empty());
        assert_eq!(w.append(b"abc")?, SEGMENT_HEADER_LEN);
        assert_eq!(w.append(b"de")?, SEGMENT_HEADER_LEN + 3);
        let bytes = std::fs::read(segment_path(dir.path(), 7)).map_err(|e| Error::io("seg", e))?;
        assert_eq!(
            check_header(&bytes),
            Ok(crate::log::segment::FORMAT_VERSION)
        );
        assert_eq!(&bytes[SEGMENT_HEADER_LEN as usize..], b"abcde");
        Ok(())
    }

    #[test]
    fn reopen_cuts_a_torn_tail_and_rewrites_a_torn_header() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let mut w = Writer::create(dir.path(), 1, None)?;
        w.append(b"keep-torn")?;
        drop(w);
        let w = Writer::reopen(dir.path(), 1, SEGMENT_HEADER_LEN + 4, None)?;
        assert_eq!(w.len(), SEGMENT_HEADER_LEN + 4);
        drop(w);
        let path = segment_path(dir.path(), 1);
        std::fs::write(&path, b"KVD").map_err(|e| Error::io("seg", e))?;
        let w = Writer::reopen(dir.path(), 1, 0, None)?;
        assert_eq!(w.len(), SEGMENT_HEADER_LEN);
        let bytes = std::fs::read(&path).map_err(|e| Error::io("seg", e))?;
        assert_eq!(
            check_header(&bytes),
            Ok(crate::log::segment::FORMAT_VERSION)
        );
        Ok(())
    }
}
