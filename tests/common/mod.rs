//! What the server tests share: a `kvdb server` child process on a free loopback port
//! ([`server`]), a client that speaks raw RESP over a `TcpStream` for exact bytes ([`raw`]),
//! and room for thousands of descriptors ([`fds`]).
//!
//! Each test binary uses a different part of it, hence the `dead_code` allowances where it is
//! included.

pub mod fds;
pub mod raw;
pub mod server;

/// What the tests return.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;
