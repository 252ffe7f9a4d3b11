//! A hook that sees every durability-relevant file operation.
//!
//! Tests use it to build the directory image a power cut would leave behind: only bytes that
//! were fsync'd survive, and only files whose directory entry was fsync'd exist (the approach of
//! redb's crash tests and leveldb's fault injection). Production code passes no observer.

use std::fmt::Debug;
use std::path::Path;

/// Receives file-system events from the log layer, in the order they happen.
pub trait IoObserver: Send + Sync + Debug {
    /// A file was created (its directory entry is not yet durable).
    fn created(&self, path: &Path);
    /// Bytes were written so that the file is now `len` bytes long (not yet durable).
    fn written(&self, path: &Path, len: u64);
    /// The file was truncated to `len` bytes (not yet durable).
    fn truncated(&self, path: &Path, len: u64);
    /// The file's data and length are now durable (fdatasync returned).
    fn synced(&self, path: &Path);
    /// The file was removed (not yet durable).
    fn removed(&self, path: &Path);
    /// `from` was renamed to `to`, replacing any file `to` named (not yet durable: the rename
    /// is atomic, but only a directory fsync makes it survive a power cut). The default does
    /// nothing, for observers that only count.
    fn renamed(&self, from: &Path, to: &Path) {
        let _ = (from, to);
    }
    /// The directory's entries (creations and removals so far) are now durable.
    fn dir_synced(&self, dir: &Path);
}
