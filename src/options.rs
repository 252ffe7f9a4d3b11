//! Options of a database, with their defaults and valid ranges.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::log::IoObserver;

/// When appended records are made durable, as Redis's `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fsync {
    /// A write returns only after its records are fdatasync'd. Concurrent writers share one
    /// fsync (group commit).
    Always,
    /// A background thread fsyncs once a second: a crash loses at most about a second of writes.
    #[default]
    EverySec,
    /// Never fsync explicitly; the operating system writes back when it likes (typically within
    /// 30 s). Segments are still fsync'd when sealed.
    No,
}

impl std::str::FromStr for Fsync {
    type Err = Error;
    fn from_str(s: &str) -> Result<Fsync> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Ok(Fsync::Always),
            "everysec" => Ok(Fsync::EverySec),
            "no" => Ok(Fsync::No),
            _ => Err(Error::InvalidOption(format!(
                "appendfsync must be always, everysec or no, not '{s}'"
            ))),
        }
    }
}

impl std::fmt::Display for Fsync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Fsync::Always => "always",
            Fsync::EverySec => "everysec",
            Fsync::No => "no",
        })
    }
}

/// Smallest allowed segment size.
pub const MIN_SEGMENT_SIZE: u64 = 1024;
/// Largest allowed segment size: record offsets are stored as `u32` in the keydir, and a
/// segment may overshoot its limit by one batch.
pub const MAX_SEGMENT_SIZE: u64 = 2 * 1024 * 1024 * 1024;

/// Options for [`crate::Db::open_with`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Size at which the active segment is sealed and a new one started.
    /// Default 128 MiB; valid range 1 KiB ..= 2 GiB.
    pub segment_size: u64,
    /// Durability policy. Default [`Fsync::EverySec`].
    pub fsync: Fsync,
    /// Values at least this long are zstd-compressed when that saves space. Default 1 KiB;
    /// `usize::MAX` turns compression off.
    pub compression_threshold: usize,
    /// zstd level used for values (1..=22). Default 1: fast, and most of the gain.
    pub compression_level: i32,
    /// Read sealed segments through a memory map (default `true`) rather than `pread`.
    pub mmap: bool,
    /// Run active expiry in a background thread every `Some(period)` (default 100 ms, as
    /// Redis's `hz 10`); `None` leaves expiry to lazy checks on access.
    pub active_expiry: Option<Duration>,
    /// The clock used for expiry. Default: the system clock.
    pub clock: Arc<dyn Clock>,
    /// Compact automatically in a background thread (default `true`), and write the hint files
    /// of sealed segments that lack one there. See `docs/ARCHITECTURE.md` for the policy.
    pub auto_compaction: bool,
    /// A sealed segment whose reclaimable share of bytes reaches this (0.0..=1.0) starts an
    /// automatic compaction. Default 0.5.
    pub compaction_dead_ratio: f64,
    /// No automatic compaction runs while the sealed segments' reclaimable bytes, all
    /// together, are fewer than this. Default 64 MiB, Redis's `auto-aof-rewrite-min-size`.
    pub compaction_min_dead_bytes: u64,
    /// While the log's records are more than this many times the live ones, the most
    /// reclaimable segment is compacted even below `compaction_dead_ratio` (the other
    /// thresholds still apply). Default 1.5; at least 1.0.
    pub compaction_max_amplification: f64,
    /// Compaction reads at most this many bytes of segments per second, or five times the
    /// rate at which clients write the log if that is more (so that it keeps up with them).
    /// Default 32 MiB/s (see docs/ARCHITECTURE.md); `None`: as fast as it can.
    pub compaction_rate_limit: Option<u64>,
    /// Test hook that observes file operations (crash simulation). Default none.
    #[doc(hidden)]
    pub observer: Option<Arc<dyn IoObserver>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            segment_size: 128 * 1024 * 1024,
            fsync: Fsync::default(),
            compression_threshold: 1024,
            compression_level: 1,
            mmap: true,
            active_expiry: Some(Duration::from_millis(100)),
            clock: Arc::new(SystemClock),
            auto_compaction: true,
            compaction_dead_ratio: 0.5,
            compaction_min_dead_bytes: 64 * 1024 * 1024,
            compaction_max_amplification: 1.5,
            compaction_rate_limit: Some(32 * 1024 * 1024),
            observer: None,
        }
    }
}

impl Options {
    /// Checks every option's range.
    pub fn validate(&self) -> Result<()> {
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&self.segment_size) {
            return Err(Error::InvalidOption(format!(
                "segment size {} is outside {MIN_SEGMENT_SIZE}..={MAX_SEGMENT_SIZE}",
                self.segment_size
            )));
        }
        if !(0.0..=1.0).contains(&self.compaction_dead_ratio) {
            return Err(Error::InvalidOption(format!(
                "compaction dead ratio {} is outside 0..=1",
                self.compaction_dead_ratio
            )));
        }
        if self.compaction_max_amplification.is_nan() || self.compaction_max_amplification < 1.0 {
            return Err(Error::InvalidOption(format!(
                "compaction max amplification {} is below 1",
                self.compaction_max_amplification
            )));
        }
        if self.compaction_rate_limit == Some(0) {
            return Err(Error::InvalidOption(
                "compaction rate limit must be positive".into(),
            ));
        }
        if !(1..=22).contains(&self.compression_level) {
            return Err(Error::InvalidOption(format!(
                "compression level {} is outside 1..=22",
                self.compression_level
            )));
        }
        Ok(())
    }
}
