//! Redis's data types and keyspace semantics over the engine.
//!
//! Each file adds the typed operations of one family as methods of [`Tx`], the view of the
//! store inside one atomic operation. They know Redis's semantics (what SET NX does, how
//! GETRANGE clamps, when an expiry deletes) but not its wire protocol: arguments are already
//! parsed, results are Rust values, failures are [`crate::Error`]s. [`crate::Db`] exposes each
//! as a method running in its own transaction.

pub mod collection;
pub mod hash;
pub mod keys;
pub mod list;
pub mod long_double;
pub mod set;
pub mod string;
pub mod zset;
pub mod zset_algebra;

use std::time::Duration;

use crate::db::Tx;
use crate::error::{Error, Result};
use crate::keydir::{Entry, ValueType};
use crate::log::Timestamp;

pub use keys::{ExpireCondition, ScanPage};
pub use string::{SetCondition, SetOptions};

/// When a key should expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// After this long from now.
    In(Duration),
    /// At this absolute Unix time in milliseconds.
    At(Timestamp),
}

impl Expiry {
    /// The absolute time in Unix ms, given the current time.
    pub fn resolve(self, now: Timestamp) -> Timestamp {
        match self {
            Expiry::In(d) => now.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            Expiry::At(at) => at,
        }
    }
}

impl Tx<'_> {
    /// The entry of `key` if it holds a string; `WrongType` if another type.
    pub(crate) fn string_entry(&mut self, key: &[u8]) -> Result<Option<Entry>> {
        match self.entry(key)? {
            Some(e) if e.vtype != ValueType::String => Err(Error::WrongType),
            other => Ok(other),
        }
    }
}
