//! The one place that maps files into memory (and so the one place with `unsafe`).

use std::fs::File;

use memmap2::Mmap;

/// Maps a sealed segment read-only.
///
/// # Safety (the contract callers keep)
///
/// A mapped file must not change while mapped: only sealed segments are mapped, and a sealed
/// segment is never written again; the directory lock keeps other kvdb processes out; a segment
/// file is deleted only after the last `Arc` to its map is dropped. The remaining risk is another
/// program truncating the file under us, which would raise SIGBUS on access: do not let other
/// programs write into a kvdb data directory.
#[expect(unsafe_code, reason = "memmap2 cannot prove the file stays unchanged")]
pub fn map_sealed(file: &File) -> std::io::Result<Mmap> {
    // SAFETY: `file` is a sealed segment (immutable from here on, see the contract above), and
    // the directory lock excludes other kvdb processes that could modify it.
    unsafe { Mmap::map(file) }
}
