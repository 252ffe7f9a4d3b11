//! The argv front end: maps a command given as byte strings to a typed call and its result to
//! a [`Reply`]. The CLI and the server both go through [`Session::execute`].
//!
//! Every command is described once in [`COMMANDS`] (name, arity, key positions, syntax, summary,
//! handler); dispatch checks the arity there, so handlers only parse options. Handlers run
//! inside one [`Db::tx`], which makes each command atomic. One file per family holds the
//! handlers: `string`, `keys` (keyspace and TTL), `server` (INFO, CONFIG and other server
//! commands), `connection` (AUTH, HELLO, CLIENT...), `introspection` (COMMAND).
//!
//! Commands about the server reach it through the [`ServerContext`] trait, which the network
//! server implements: this layer defines what it needs ([`ClientSnapshot`], [`ServerInfo`],
//! [`ConfigError`]) so that it does not depend on the server layer above it.

pub mod args;
mod blocking;
mod connection;
mod hash;
mod introspection;
mod keys;
mod list;
mod server;
mod session;
mod set;
mod string;
mod zset;
mod zset_algebra;

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};
use std::time::{Duration, Instant};

pub use crate::resp::Reply;
pub use connection::{REDIS_VERSION, client_line};
pub use introspection::{SUBCOMMANDS, Subcommand, full_name, name_count, name_of};
pub use session::{BlockedCall, ClientState, Execution, Session};

use crate::db::{Db, Tx};
use args::CmdResult;

/// The command writes to the keyspace.
pub const WRITE: u32 = 1 << 0;
/// The command only reads.
pub const READONLY: u32 = 1 << 1;
/// The command runs in O(1) or O(log n).
pub const FAST: u32 = 1 << 2;
/// The command concerns the connection, not the data.
pub const CONNECTION: u32 = 1 << 3;
/// The command is refused inside MULTI (Redis's `no-multi`).
pub const NO_MULTI: u32 = 1 << 4;

/// What the command table knows about a command.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis's arity: `n` exactly n arguments (name included), `-n` at least n.
    pub arity: i32,
    /// `WRITE`, `READONLY`, `FAST`, `CONNECTION` bits.
    pub flags: u32,
    /// Position of the first key argument (0 = none), of the last (-1 = the last argument), and
    /// the step between keys: as COMMAND INFO reports them.
    pub keys: (i32, i32, i32),
    /// The command's group, as in Redis's documentation (`string`, `generic`, ...).
    pub group: &'static str,
    /// Syntax line, e.g. `GET key`.
    pub syntax: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    handler: Handler,
}

/// A command handler: the context and the full argv (name included).
type Handler = fn(&mut Ctx<'_, '_>, &[&[u8]]) -> CmdResult;

/// What a handler sees: the transaction and the client state it may change.
pub struct Ctx<'t, 'e> {
    /// The atomic view of the store.
    pub tx: &'t mut Tx<'e>,
    /// The client: protocol, name, authentication, the server if any.
    pub client: &'t mut ClientState,
}

/// What commands about the server (AUTH, CONFIG, CLIENT, INFO, SHUTDOWN...) need from it. The
/// network server implements it; an embedded [`Session`] has none.
///
/// Implementations must not lock the store: handlers call them inside a store transaction.
pub trait ServerContext: Send + Sync + std::fmt::Debug {
    /// The password clients must give (requirepass), if any.
    fn password(&self) -> Option<String>;
    /// Asks the server to stop gracefully (SHUTDOWN).
    fn shutdown(&self);
    /// What CLIENT LIST shows of every connection, by id. A connection's snapshot is as of the
    /// end of its last batch of commands: the calling client's own live values are in
    /// [`Ctx::client`].
    fn clients(&self) -> Vec<ClientSnapshot>;
    /// Closes connection `id` once it has finished the commands it has read (CLIENT KILL), and
    /// returns whether it existed. Not for the calling client, which closes itself after its
    /// reply ([`ClientState::quit`]).
    fn kill_client(&self, id: u64) -> bool;
    /// Every option CONFIG GET knows, with its current value as text, in a fixed order.
    fn config(&self) -> Vec<(&'static str, String)>;
    /// CONFIG SET: applies every `(option, value)` pair or none of them. Option names are as
    /// the client gave them (case-insensitive). Only the server's own settings change: a store
    /// setting (appendfsync) is applied to the store by the caller, through [`Tx`].
    ///
    /// # Errors
    /// [`ConfigError`] names the first unknown option, or the option that was refused and why.
    fn set_config(&self, changes: &[(String, String)]) -> Result<(), ConfigError>;
    /// CONFIG REWRITE: writes the running configuration back to the file the server was
    /// started with.
    ///
    /// # Errors
    /// Redis's error text (without `ERR `): no config file, or the I/O error.
    fn rewrite_config(&self) -> Result<(), String>;
    /// The counters and facts INFO reports about the server.
    fn info(&self) -> ServerInfo;
    /// CONFIG RESETSTAT: zeroes the counters of [`ServerInfo`] (not the connected clients).
    fn reset_stats(&self);
}

/// What CLIENT LIST shows of one connection; the server refreshes it after each batch of the
/// connection's commands.
#[derive(Debug, Clone, Default)]
pub struct ClientSnapshot {
    /// Client id.
    pub id: u64,
    /// Peer address, `ip:port`.
    pub addr: String,
    /// Local address, `ip:port`.
    pub laddr: String,
    /// The socket's file descriptor (-1 if none).
    pub fd: i64,
    /// CLIENT SETNAME.
    pub name: String,
    /// Selected database.
    pub db: u8,
    /// Protocol version, 2 or 3.
    pub resp: u8,
    /// Full name of the last command (`get`, `client|list`), as [`full_name`] gives it.
    pub last_command: &'static str,
    /// CLIENT SETINFO values.
    pub lib_name: String,
    /// CLIENT SETINFO values.
    pub lib_ver: String,
    /// Commands queued in an open MULTI, -1 if none.
    pub multi: i64,
    /// When the connection was accepted.
    pub connected: Option<Instant>,
    /// When the last command ran.
    pub last_active: Option<Instant>,
}

/// Calls of one command, for INFO commandstats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommandStats {
    /// Times it ran (rejected calls excluded).
    pub calls: u64,
    /// Microseconds spent running it, in total.
    pub usec: u64,
    /// Calls refused before running (wrong arity, not authenticated...).
    pub rejected_calls: u64,
    /// Calls that ran and answered an error.
    pub failed_calls: u64,
}

/// What INFO reports about the server (the store's part comes from the [`Tx`]).
#[derive(Debug, Clone, Default)]
pub struct ServerInfo {
    /// The port listened on.
    pub port: u16,
    /// Time since the server started.
    pub uptime: Duration,
    /// The config file given at start, or empty.
    pub config_file: String,
    /// Connections open now.
    pub connected_clients: usize,
    /// Most simultaneous clients.
    pub maxclients: usize,
    /// Connections accepted.
    pub connections_received: u64,
    /// Connections refused (maxclients).
    pub rejected_connections: u64,
    /// Commands run.
    pub commands_processed: u64,
    /// Bytes read from clients.
    pub net_input_bytes: u64,
    /// Bytes written to clients.
    pub net_output_bytes: u64,
    /// Error replies sent.
    pub error_replies: u64,
    /// Commands per second, averaged over the last 1.6 s.
    pub ops_per_sec: u64,
    /// Input KiB per second, averaged over the last 1.6 s.
    pub input_kbps: f64,
    /// Output KiB per second, averaged over the last 1.6 s.
    pub output_kbps: f64,
    /// Calls per command full name (`get`, `client|list`), for commands called at least once.
    pub commandstats: Vec<(&'static str, CommandStats)>,
}

/// Why CONFIG SET refused a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// No option has this name.
    Unknown(String),
    /// The option exists but the change is refused: the option and Redis's reason text
    /// (`argument couldn't be parsed into an integer`, `can't set immutable config`...).
    Refused {
        /// The option, as the client spelled it.
        option: String,
        /// Why.
        reason: String,
    },
}

/// Defines a table of commands: `commands! { TABLE; "name", arity, flags, keys, group, syntax,
/// summary, handler; ... }`. Each family file holds its own table; [`COMMANDS`] joins them.
macro_rules! commands {
    ($table:ident; $( $name:literal, $arity:expr, $flags:expr, $keys:expr, $group:literal, $syntax:literal, $summary:literal, $handler:path; )*) => {
        /// Commands of this family, as rows of [`crate::command::COMMANDS`].
        pub(super) static $table: &[$crate::command::CommandSpec] = &[
            $( $crate::command::CommandSpec {
                name: $name, arity: $arity, flags: $flags, keys: $keys, group: $group,
                syntax: $syntax, summary: $summary, handler: $handler,
            }, )*
        ];
    };
}
pub(crate) use commands;

/// Key positions of a command without keys.
pub(crate) const NO_KEYS: (i32, i32, i32) = (0, 0, 0);
/// Key positions: the first argument.
pub(crate) const KEY1: (i32, i32, i32) = (1, 1, 1);
/// Key positions: the first two arguments.
pub(crate) const KEY12: (i32, i32, i32) = (1, 2, 1);
/// Key positions: every argument.
pub(crate) const ALL_KEYS: (i32, i32, i32) = (1, -1, 1);
/// Key positions: every other argument, from the first.
pub(crate) const PAIRS: (i32, i32, i32) = (1, -1, 2);
/// Flags of a writing command.
pub(crate) const RW: u32 = WRITE;
/// Flags of a read-only command.
pub(crate) const RO: u32 = READONLY;

/// Every supported command: the core table below, then each data type's.
pub static COMMANDS: LazyLock<Vec<CommandSpec>> = LazyLock::new(|| {
    [
        CORE,
        hash::HASH,
        list::LIST,
        set::SET,
        zset::ZSET,
        zset_algebra::ZSET_ALGEBRA,
    ]
    .concat()
});

commands! {
    CORE;
    // Strings.
    "get", 2, RO | FAST, KEY1, "string", "GET key", "Returns the string value of a key.", string::get;
    "set", -3, RW, KEY1, "string", "SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", string::set;
    "getset", 3, RW | FAST, KEY1, "string", "GETSET key value", "Returns the previous string value of a key after setting it to a new value.", string::getset;
    "getdel", 2, RW | FAST, KEY1, "string", "GETDEL key", "Returns the string value of a key after deleting the key.", string::getdel;
    "getex", -2, RW | FAST, KEY1, "string", "GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]", "Returns the string value of a key after setting its expiration time.", string::getex;
    "setnx", 3, RW | FAST, KEY1, "string", "SETNX key value", "Set the string value of a key only when the key doesn't exist.", string::setnx;
    "setex", 4, RW, KEY1, "string", "SETEX key seconds value", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", string::setex;
    "psetex", 4, RW, KEY1, "string", "PSETEX key milliseconds value", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", string::psetex;
    "mset", -3, RW, PAIRS, "string", "MSET key value [key value ...]", "Atomically creates or modifies the string values of one or more keys.", string::mset;
    "msetnx", -3, RW, PAIRS, "string", "MSETNX key value [key value ...]", "Atomically modifies the string values of one or more keys only when all keys don't exist.", string::msetnx;
    "mget", -2, RO | FAST, ALL_KEYS, "string", "MGET key [key ...]", "Atomically returns the string values of one or more keys.", string::mget;
    "append", 3, RW | FAST, KEY1, "string", "APPEND key value", "Appends a string to the value of a key. Creates the key if it doesn't exist.", string::append;
    "strlen", 2, RO | FAST, KEY1, "string", "STRLEN key", "Returns the length of a string value.", string::strlen;
    "getrange", 4, RO, KEY1, "string", "GETRANGE key start end", "Returns a substring of the string stored at a key.", string::getrange;
    "setrange", 4, RW, KEY1, "string", "SETRANGE key offset value", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", string::setrange;
    "incr", 2, RW | FAST, KEY1, "string", "INCR key", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", string::incr;
    "decr", 2, RW | FAST, KEY1, "string", "DECR key", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", string::decr;
    "incrby", 3, RW | FAST, KEY1, "string", "INCRBY key increment", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", string::incrby;
    "decrby", 3, RW | FAST, KEY1, "string", "DECRBY key decrement", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", string::decrby;
    "incrbyfloat", 3, RW | FAST, KEY1, "string", "INCRBYFLOAT key increment", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", string::incrbyfloat;
    // Keyspace.
    "del", -2, RW, ALL_KEYS, "generic", "DEL key [key ...]", "Deletes one or more keys.", keys::del;
    "unlink", -2, RW | FAST, ALL_KEYS, "generic", "UNLINK key [key ...]", "Asynchronously deletes one or more keys.", keys::del;
    "exists", -2, RO | FAST, ALL_KEYS, "generic", "EXISTS key [key ...]", "Determines whether one or more keys exist.", keys::exists;
    "touch", -2, RO | FAST, ALL_KEYS, "generic", "TOUCH key [key ...]", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", keys::touch;
    "type", 2, RO | FAST, KEY1, "generic", "TYPE key", "Determines the type of value stored at a key.", keys::type_;
    "rename", 3, RW, KEY12, "generic", "RENAME key newkey", "Renames a key and overwrites the destination.", keys::rename;
    "renamenx", 3, RW | FAST, KEY12, "generic", "RENAMENX key newkey", "Renames a key only when the target key name doesn't exist.", keys::renamenx;
    "copy", -3, RW, KEY12, "generic", "COPY source destination [DB destination-db] [REPLACE]", "Copies the value of a key to a new key.", keys::copy;
    "move", 3, RW | FAST, KEY1, "generic", "MOVE key db", "Moves a key to another database.", keys::move_;
    "keys", 2, RO, NO_KEYS, "generic", "KEYS pattern", "Returns all key names that match a pattern.", keys::keys;
    "scan", -2, RO, NO_KEYS, "generic", "SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]", "Iterates over the key names in the database.", keys::scan;
    "dbsize", 1, RO | FAST, NO_KEYS, "server", "DBSIZE", "Returns the number of keys in the database.", keys::dbsize;
    "flushdb", -1, RW, NO_KEYS, "server", "FLUSHDB [ASYNC | SYNC]", "Removes all keys from the current database.", keys::flushdb;
    "flushall", -1, RW, NO_KEYS, "server", "FLUSHALL [ASYNC | SYNC]", "Removes all keys from all databases.", keys::flushall;
    "randomkey", 1, RO, NO_KEYS, "generic", "RANDOMKEY", "Returns a random key name from the database.", keys::randomkey;
    "expire", -3, RW | FAST, KEY1, "generic", "EXPIRE key seconds [NX | XX | GT | LT]", "Sets the expiration time of a key in seconds.", keys::expire;
    "pexpire", -3, RW | FAST, KEY1, "generic", "PEXPIRE key milliseconds [NX | XX | GT | LT]", "Sets the expiration time of a key in milliseconds.", keys::pexpire;
    "expireat", -3, RW | FAST, KEY1, "generic", "EXPIREAT key unix-time-seconds [NX | XX | GT | LT]", "Sets the expiration time of a key to a Unix timestamp.", keys::expireat;
    "pexpireat", -3, RW | FAST, KEY1, "generic", "PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]", "Sets the expiration time of a key to a Unix milliseconds timestamp.", keys::pexpireat;
    "ttl", 2, RO | FAST, KEY1, "generic", "TTL key", "Returns the expiration time in seconds of a key.", keys::ttl;
    "pttl", 2, RO | FAST, KEY1, "generic", "PTTL key", "Returns the expiration time in milliseconds of a key.", keys::pttl;
    "expiretime", 2, RO | FAST, KEY1, "generic", "EXPIRETIME key", "Returns the expiration time of a key as a Unix timestamp.", keys::expiretime;
    "pexpiretime", 2, RO | FAST, KEY1, "generic", "PEXPIRETIME key", "Returns the expiration time of a key as a Unix milliseconds timestamp.", keys::pexpiretime;
    "persist", 2, RW | FAST, KEY1, "generic", "PERSIST key", "Removes the expiration time of a key.", keys::persist;
    // Connection and server.
    "ping", -1, FAST | CONNECTION, NO_KEYS, "connection", "PING [message]", "Returns the server's liveliness response.", server::ping;
    "echo", 2, FAST | CONNECTION, NO_KEYS, "connection", "ECHO message", "Returns the given string.", server::echo;
    "select", 2, FAST | CONNECTION, NO_KEYS, "connection", "SELECT index", "Changes the selected database.", server::select;
    "time", 1, FAST, NO_KEYS, "server", "TIME", "Returns the server time.", server::time;
    "shutdown", -1, NO_MULTI, NO_KEYS, "server", "SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]", "Synchronously saves the database(s) to disk and shuts down the Redis server.", server::shutdown;
    "auth", -2, FAST | CONNECTION, NO_KEYS, "connection", "AUTH [username] password", "Authenticates the connection.", connection::auth;
    "hello", -1, FAST | CONNECTION, NO_KEYS, "connection", "HELLO [protover [AUTH username password] [SETNAME clientname]]", "Handshakes with the Redis server.", connection::hello;
    "quit", -1, FAST | CONNECTION, NO_KEYS, "connection", "QUIT", "Closes the connection.", connection::quit;
    "reset", 1, FAST | CONNECTION, NO_KEYS, "connection", "RESET", "Resets the connection.", connection::reset;
    "client", -2, CONNECTION, NO_KEYS, "connection", "CLIENT <ID | GETNAME | SETNAME name | SETINFO <LIB-NAME | LIB-VER> value | LIST | INFO | KILL ... | NO-EVICT <ON | OFF> | HELP>", "A container for client connection commands.", connection::client;
    "command", -1, 0, NO_KEYS, "server", "COMMAND [COUNT | INFO [command-name ...] | DOCS [command-name ...] | LIST [FILTERBY <MODULE name | ACLCAT category | PATTERN pattern>] | GETKEYS command [arg ...] | HELP]", "Returns detailed information about all commands.", introspection::command;
    "info", -1, 0, NO_KEYS, "server", "INFO [section [section ...]]", "Returns information and statistics about the server.", server::info;
    "config", -2, 0, NO_KEYS, "server", "CONFIG <GET parameter [parameter ...] | SET parameter value [parameter value ...] | RESETSTAT | REWRITE | HELP>", "A container for server configuration commands.", server::config;
    "lastsave", 1, FAST, NO_KEYS, "server", "LASTSAVE", "Returns the Unix timestamp of the last successful save to disk.", server::lastsave;
    "save", 1, NO_MULTI, NO_KEYS, "server", "SAVE", "Synchronously saves the database(s) to disk.", server::save;
    "bgsave", -1, 0, NO_KEYS, "server", "BGSAVE [SCHEDULE]", "Asynchronously saves the database(s) to disk.", server::bgsave;
    "bgrewriteaof", 1, 0, NO_KEYS, "server", "BGREWRITEAOF", "Asynchronously rewrites the append-only file to disk.", server::bgrewriteaof;
    "wait", 3, 0, NO_KEYS, "generic", "WAIT numreplicas timeout", "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.", server::wait;
    // Transactions (run by the session, which owns their state).
    "multi", 1, FAST, NO_KEYS, "transactions", "MULTI", "Starts a transaction.", connection::session_only;
    "exec", 1, 0, NO_KEYS, "transactions", "EXEC", "Executes all commands in a transaction.", connection::session_only;
    "discard", 1, FAST, NO_KEYS, "transactions", "DISCARD", "Discards a transaction.", connection::session_only;
    "watch", -2, FAST, ALL_KEYS, "transactions", "WATCH key [key ...]", "Monitors changes to keys to determine the execution of a transaction.", connection::session_only;
    "unwatch", 1, FAST, NO_KEYS, "transactions", "UNWATCH", "Forgets about watched keys of a transaction.", connection::session_only;
}

/// Looks a command up by name, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    lookup_index(name).map(|i| &COMMANDS[i])
}

/// The position in [`COMMANDS`] of the command named `name` (case-insensitive).
fn lookup_index(name: &[u8]) -> Option<usize> {
    static INDEX: OnceLock<HashMap<&'static str, usize>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        COMMANDS
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name, i))
            .collect()
    });
    // Command names are short: lower-case them on the stack.
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    index.get(std::str::from_utf8(lower).ok()?).copied()
}

impl From<crate::Error> for Reply {
    fn from(error: crate::Error) -> Reply {
        Reply::Error(error.reply_text())
    }
}

/// Redis's reply to an unknown command, quoting the first arguments.
fn unknown_command(argv: &[&[u8]]) -> Reply {
    let mut quoted = String::new();
    for arg in &argv[1..] {
        if quoted.len() >= 128 {
            break;
        }
        let room = 128 - quoted.len();
        let arg = args::text(arg);
        let shown: String = arg.chars().take(room).collect();
        quoted.push_str(&format!("'{shown}' "));
    }
    let name: String = args::text(argv[0]).chars().take(128).collect();
    Reply::err(
        format!("unknown command '{name}', with args beginning with: {quoted}")
            .replace(['\r', '\n'], " "),
    )
}

impl Db {
    /// Runs one command on this handle's numbered database and returns its reply.
    ///
    /// Connection state lasts for this call only: a SELECT here answers OK but affects nothing
    /// after it. Use a [`Session`] to keep a selected database across commands.
    pub fn execute<A: AsRef<[u8]>>(&self, argv: &[A]) -> Reply {
        Session::new(self.clone()).execute(argv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_unique_lowercase_names_and_valid_arity() {
        let mut seen = std::collections::HashSet::new();
        for c in COMMANDS.iter() {
            assert!(seen.insert(c.name), "duplicate {}", c.name);
            assert_eq!(c.name, c.name.to_ascii_lowercase());
            assert!(c.arity != 0);
            assert!(c.syntax.to_ascii_lowercase().starts_with(c.name));
        }
    }

    #[test]
    fn unknown_command_quotes_its_arguments() {
        let reply = unknown_command(&[b"foo", b"a", b"b"]);
        assert_eq!(
            reply,
            Reply::Error("ERR unknown command 'foo', with args beginning with: 'a' 'b' ".into())
        );
    }
}
