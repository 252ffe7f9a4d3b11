//! The reply of a command, independent of any wire protocol.
//!
//! RESP2 and RESP3 encoders (the server) and the redis-cli style printer (the CLI) both render
//! this one type. Variants follow RESP3's types; RESP2 folds them into its five types.

/// A Redis-style reply value.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A status line such as `OK` (RESP `+`).
    Status(String),
    /// An error line, including its code word: `ERR syntax error`, `WRONGTYPE ...` (RESP `-`).
    Error(String),
    /// A signed 64-bit integer (RESP `:`).
    Integer(i64),
    /// A binary-safe string (RESP `$`).
    Bulk(Vec<u8>),
    /// The null reply (RESP2 `$-1` / `*-1`, RESP3 `_`).
    Nil,
    /// An array of replies (RESP `*`).
    Array(Vec<Reply>),
    /// A floating-point number (RESP3 `,`; a bulk string in RESP2).
    Double(f64),
    /// A map of key-value pairs (RESP3 `%`; a flat array in RESP2).
    Map(Vec<(Reply, Reply)>),
    /// A set (RESP3 `~`; an array in RESP2).
    Set(Vec<Reply>),
    /// A boolean (RESP3 `#`; the integer 0 or 1 in RESP2).
    Boolean(bool),
}

impl Reply {
    /// The `OK` status.
    pub fn ok() -> Reply {
        Reply::Status("OK".to_owned())
    }

    /// An error reply with Redis's `ERR ` prefix added to `message`.
    pub fn err(message: impl std::fmt::Display) -> Reply {
        Reply::Error(format!("ERR {message}"))
    }

    /// A bulk reply copied from bytes.
    pub fn bulk(bytes: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(bytes.as_ref().to_vec())
    }

    /// A bulk reply, or nil for `None`.
    pub fn bulk_or_nil(value: Option<Vec<u8>>) -> Reply {
        value.map_or(Reply::Nil, Reply::Bulk)
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

impl From<crate::Error> for Reply {
    fn from(error: crate::Error) -> Reply {
        Reply::Error(error.reply_text())
    }
}
