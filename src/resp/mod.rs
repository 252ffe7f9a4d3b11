//! RESP, the Redis serialization protocol: the reply type, its encoding, and the request
//! parser. No I/O, and nothing from the rest of the crate: the command layer produces
//! [`Reply`] values, the server moves bytes.
//!
//! * [`frame`]: [`Reply`] and its RESP2/RESP3 encoding ([`encode`]).
//! * [`parse`]: requests as clients send them: multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`)
//!   and inline commands (`GET k\r\n`, as telnet sends). Streaming: given the bytes received so
//!   far it returns a command and the bytes it used, or that it needs more (not an error).

pub mod frame;
pub mod parse;

pub use frame::{Protocol, Reply, encode, format_double};
pub use parse::{Limits, ProtocolError, parse_request};
