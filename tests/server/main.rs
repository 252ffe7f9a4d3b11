//! `kvdb server` over TCP, driven by real clients: each test starts the `kvdb` binary with
//! `server --port 0` on 127.0.0.1 (the OS picks the port; the test reads it from the log line)
//! and talks to it with redis-rs or with raw RESP bytes. One module per behaviour:
//!
//! * `commands`: every command family through redis-rs.
//! * `wire`: exact bytes: inline commands as telnet sends them, pipelines in one write, the
//!   encodings of errors and nils.
//! * `pipeline`: redis-rs pipelines and large pipelined batches, replies in order.
//! * `transactions`: MULTI/EXEC/DISCARD, EXECABORT, WATCH against other clients, expiry and
//!   FLUSHDB, and atomicity of EXEC across clients.
//! * `resp3`: HELLO 3 and RESP3 replies, raw and through redis-rs.
//! * `auth`: requirepass, NOAUTH, WRONGPASS, the stricter limits before AUTH.
//! * `limits`: bulk and multibulk limits, the 1 GiB query buffer, maxclients, the idle timeout,
//!   the loopback default bind.
//! * `malformed`: random bytes, truncated frames and huge lengths get an error, and the server
//!   keeps serving everyone else.
//! * `blocking`: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP: FIFO among waiters, timeouts in RESP2
//!   and RESP3, BLMOVE atomicity, waiters that disconnect or are killed, MULTI, pipelines,
//!   SHUTDOWN, and a served pop durable under `appendfsync always`.
//! * `concurrency`: 1,000 simultaneous clients, INCR from 50 connections, linearizable EXEC.
//! * `shutdown`: SIGTERM, SIGINT and SHUTDOWN stop it gracefully, the data is there on reopen.
//! * `config`: `--config FILE`, and its errors.
//!
//! 10,000 idle connections are in `tests/server_memory.rs`, which needs a process of its own
//! (file descriptors). Every loop here is bounded in count and time; every socket is on
//! 127.0.0.1.

#[allow(
    dead_code,
    reason = "the helpers are shared by several test binaries, each using a part"
)]
#[path = "../common/mod.rs"]
mod common;

mod auth;
mod blocking;
mod commands;
mod concurrency;
mod config;
mod limits;
mod malformed;
mod pipeline;
mod resp3;
mod shutdown;
mod transactions;
mod wire;

use std::time::Duration;

/// How long a test waits for the server to close a connection it must close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
