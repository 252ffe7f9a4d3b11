//! The one error type of the crate.
//!
//! Two families live here. Storage errors (`Io`, `Corrupt`, `Locked`, `Poisoned`) say what went
//! wrong with which file and where. Command errors (`WrongType`, `NotInteger`, ...) are what the
//! typed methods of [`crate::Db`] return when Redis would answer with an error reply; their
//! `Display` text is Redis's message, byte for byte, without the `ERR ` prefix that the command
//! layer adds (see [`Error::reply_text`]).

use std::path::PathBuf;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in kvdb.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation on a file or directory failed.
    #[error("i/o error on {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A segment holds bytes that are not a valid record (and are not a torn tail).
    #[error("corrupt segment {path} at offset {offset}: {reason}")]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Byte offset of the first bad byte or record.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// Another process (or another `Db` in this one) holds the directory lock.
    #[error("database directory {path} is in use by another process")]
    Locked {
        /// The data directory.
        path: PathBuf,
    },
    /// An earlier write or fsync failed; the store refuses writes until it is reopened.
    #[error("the store is read-only after an earlier i/o failure; reopen it")]
    Poisoned,
    /// An option passed to [`crate::Options`] is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),

    /// The key holds a value of another type.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// The key does not exist (RENAME and friends).
    #[error("no such key")]
    NoSuchKey,
    /// The value (or an argument) is not an integer that fits in 64 bits.
    #[error("value is not an integer or out of range")]
    NotInteger,
    /// The value (or an argument) is not a valid float.
    #[error("value is not a valid float")]
    NotFloat,
    /// INCR/DECR would overflow a signed 64-bit integer.
    #[error("increment or decrement would overflow")]
    Overflow,
    /// INCRBYFLOAT would produce NaN or infinity.
    #[error("increment would produce NaN or Infinity")]
    NanOrInfinity,
    /// A string would grow beyond 512 MB.
    #[error("string exceeds maximum allowed size (proto-max-bulk-len)")]
    TooLarge,
    /// An expire time is negative or overflows when converted to milliseconds.
    #[error("invalid expire time in '{0}' command")]
    InvalidExpireTime(String),
    /// A database index outside 0..16.
    #[error("DB index is out of range")]
    DbIndexOutOfRange,
    /// An offset argument is out of range (SETRANGE).
    #[error("offset is out of range")]
    OffsetOutOfRange,
    /// Source and destination of MOVE/COPY are the same.
    #[error("source and destination objects are the same")]
    SameObject,
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The text of the Redis error reply for this error: `WRONGTYPE ...` keeps its own prefix,
    /// everything else gets `ERR `.
    pub fn reply_text(&self) -> String {
        match self {
            Error::WrongType => self.to_string(),
            Error::Io { .. } | Error::Corrupt { .. } | Error::Poisoned => {
                let mut text = format!("ERR {self}");
                let mut source = std::error::Error::source(self);
                while let Some(cause) = source {
                    text.push_str(": ");
                    text.push_str(&cause.to_string());
                    source = cause.source();
                }
                text.replace(['\r', '\n'], " ")
            }
            _ => format!("ERR {self}"),
        }
    }
}
