//! The on-disk log: records, segment files, appending and reading. This layer knows bytes and
//! files, not Redis: it never interprets a key or a value.
//!
//! A database directory holds numbered segment files (`0000000001.seg`, ...). Each starts with
//! a [`segment::SEGMENT_HEADER_LEN`]-byte header, then records back to back ([`record`]). One
//! segment, the newest, is *active* and appended to by the [`Writer`]; the others are *sealed*:
//! immutable, fsync'd, and read through a memory map or `pread` ([`Segment`]).

pub mod hint;
pub mod mmap;
pub mod observer;
pub mod record;
pub mod segment;
pub mod writer;

pub use observer::IoObserver;
pub use record::{Kind, SeqNo, Timestamp};
pub use segment::{Segment, SegmentId};
pub use writer::Writer;
