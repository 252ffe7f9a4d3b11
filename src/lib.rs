//! kvdb: a persistent, Redis-compatible key-value store built as a Bitcask.
//!
//! An append-only, segmented log on disk is the source of truth; an in-RAM hash index per
//! database, the *keydir*, maps every live key to the one record holding its value, so a read is
//! one lookup and one read. Strings, hashes, sets, sorted sets and lists, TTLs and the keyspace
//! commands behave as in Redis (the Redis command reference is the specification, a real
//! redis-server the oracle). Each hash field, set or sorted-set member and list element is its
//! own log record, so changing one never rewrites the collection.
//!
//! What it is not (yet): it keeps every key and every collection element's name in RAM (67
//! bytes per key for keys of up to 22 bytes; per element figures in docs/PERFORMANCE.md),
//! values stay on disk; it has no replication; compaction, hint files and streams arrive in
//! later versions.
//!
//! # Example
//!
//! ```
//! use kvdb::{Db, Reply, SetOptions};
//!
//! # fn main() -> kvdb::Result<()> {
//! let dir = tempfile::tempdir().map_err(|e| kvdb::Error::Io { path: "tmp".into(), source: e })?;
//! let db = Db::open(dir.path())?;
//! db.set(b"greeting", b"hello", SetOptions::default())?;
//! assert_eq!(db.get(b"greeting")?, Some(b"hello".to_vec()));
//! assert_eq!(db.execute(&["INCR", "visits"]), Reply::Integer(1));
//! # Ok(())
//! # }
//! ```
//!
//! # Modules, from the disk up
//!
//! * [`log`]: records, segment files, the writer. Bytes and files only.
//! * [`keydir`]: the in-RAM index of one database.
//! * [`collection`]: the in-RAM element index of a collection key.
//! * [`engine`]: log + keydirs: open/recovery, atomic batches, reads, active expiry.
//! * [`types`]: Redis semantics as typed methods on [`Tx`] (and on [`Db`]).
//! * [`blocking`]: clients blocked on keys (BLPOP...), served in FIFO order.
//! * [`command`]: argv to typed calls and back to [`Reply`]; the command table.
//! * [`server`]: `kvdb server`: connections, pipelining, shutdown (tokio).
//! * [`resp`]: the wire protocol: [`Reply`] encoding and the request parser (no I/O).

pub mod blocking;
pub mod check;
pub mod clock;
pub mod collection;
pub mod command;
mod db;
pub mod engine;
mod error;
pub mod glob;
pub mod keydir;
pub mod log;
mod methods;
mod options;
pub mod persistence;
pub mod resp;
pub mod server;
pub mod types;

pub use command::{Reply, Session};
pub use db::{Db, Tx};
pub use error::{Error, Result};
pub use keydir::ValueType;
pub use options::{Fsync, Options};
pub use types::keys::Ttl;
pub use types::string::SetOutcome;
pub use types::{ExpireCondition, Expiry, ScanPage, SetCondition, SetOptions};
