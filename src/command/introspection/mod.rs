//! COMMAND: what the command table says about each command, in Redis 7.0's reply shapes, and
//! the subcommands of the container commands (CLIENT, CONFIG, COMMAND).
//!
//! Clients read this at start. redis-cli 7.0 sends `COMMAND DOCS` and builds its completion
//! and its hints from the `arguments` there (it falls back to its built-in help, and `COMMAND`,
//! only if COMMAND DOCS fails), so the arguments are derived from each syntax line: [`syntax`]
//! parses Redis's documentation notation. Cluster clients read COMMAND's key positions.
//!
//! What the table does not model is derived or left empty, as Redis allows: flags and ACL
//! categories come from the table's flag bits and group plus a few name-based exceptions
//! (checked against redis-server 7.0.15 for the commands we have), key specs are one `range`
//! spec built from the key positions, and COMMAND DOCS has no `complexity` or `history`.
//!
//! Container commands have a [`Subcommand`] entry per subcommand here, as Redis 7 has: their
//! arity is checked by [`subcommand`], HELP is generated from them, and INFO commandstats and
//! CLIENT LIST name calls by their full name (`client|list`, see [`full_name`]).

use super::args::{CmdResult, is, syntax_error, text};
use super::{
    COMMANDS, CommandSpec, Ctx, FAST, NO_MULTI, READONLY, Reply, WRITE, lookup, lookup_index,
};
use crate::glob::glob_match;
use syntax::parse_syntax;

mod syntax;

/// A subcommand of a container command.
#[derive(Debug)]
pub struct Subcommand {
    /// Full name, `parent|sub`, lower-case.
    pub name: &'static str,
    /// Arity counted over the whole argv (`CLIENT LIST` is 2), as Redis reports it.
    pub arity: i32,
    /// Redis's command flags (`admin`, `noscript`, `loading`, `stale`...).
    pub flags: &'static [&'static str],
    /// ACL categories.
    pub acl: &'static [&'static str],
    /// Syntax line without the parent, as HELP shows it (`LIST [TYPE <NORMAL | ...>]`): the
    /// same notation as [`CommandSpec::syntax`], from which COMMAND DOCS builds `arguments`.
    pub syntax: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// The Redis version that introduced it.
    pub since: &'static str,
}

const CONN: &[&str] = &["noscript", "loading", "stale"];
const CONN_ACL: &[&str] = &["@slow", "@connection"];
const ADMIN: &[&str] = &["admin", "noscript", "loading", "stale"];
const ADMIN_CONN_ACL: &[&str] = &["@admin", "@slow", "@dangerous", "@connection"];
const ADMIN_ACL: &[&str] = &["@admin", "@slow", "@dangerous"];
const INFO_FLAGS: &[&str] = &["loading", "stale"];

macro_rules! subcommands {
    ($( $name:literal, $arity:expr, $flags:expr, $acl:expr, $syntax:literal, $summary:literal, $since:literal; )*) => {
        /// Every subcommand of the container commands, grouped by parent.
        pub static SUBCOMMANDS: &[Subcommand] = &[
            $( Subcommand {
                name: $name, arity: $arity, flags: $flags, acl: $acl, syntax: $syntax,
                summary: $summary, since: $since,
            }, )*
        ];
    };
}

subcommands! {
    "client|id", 2, CONN, CONN_ACL, "ID", "Returns the unique client ID of the connection.", "5.0.0";
    "client|getname", 2, CONN, CONN_ACL, "GETNAME", "Returns the name of the connection.", "2.6.9";
    "client|setname", 3, CONN, CONN_ACL, "SETNAME connection-name", "Sets the connection name.", "2.6.9";
    "client|setinfo", 4, CONN, CONN_ACL, "SETINFO <LIB-NAME libname | LIB-VER libver>", "Sets information specific to the client or connection.", "7.2.0";
    "client|list", -2, ADMIN, ADMIN_CONN_ACL, "LIST [TYPE <NORMAL | MASTER | REPLICA | PUBSUB>] [ID client-id [client-id ...]]", "Lists open connections.", "2.4.0";
    "client|info", 2, CONN, CONN_ACL, "INFO", "Returns information about the connection.", "6.2.0";
    "client|kill", -3, ADMIN, ADMIN_CONN_ACL, "KILL <ip:port | <[ID client-id] | [TYPE <NORMAL | MASTER | SLAVE | REPLICA | PUBSUB>] | [USER username] | [ADDR ip:port] | [LADDR ip:port] | [SKIPME <YES | NO>]> [...]>", "Terminates open connections.", "2.4.0";
    "client|no-evict", 3, ADMIN, ADMIN_CONN_ACL, "NO-EVICT <ON | OFF>", "Sets the client eviction mode of the connection (a no-op: kvdb does not evict).", "7.0.0";
    "client|help", 2, INFO_FLAGS, CONN_ACL, "HELP", "Returns helpful text about the different subcommands.", "5.0.0";
    "config|get", -3, ADMIN, ADMIN_ACL, "GET parameter [parameter ...]", "Returns the effective values of configuration parameters.", "2.0.0";
    "config|set", -4, ADMIN, ADMIN_ACL, "SET parameter value [parameter value ...]", "Sets configuration parameters in-flight.", "2.0.0";
    "config|resetstat", 2, ADMIN, ADMIN_ACL, "RESETSTAT", "Resets the server's statistics.", "2.0.0";
    "config|rewrite", 2, ADMIN, ADMIN_ACL, "REWRITE", "Persists the effective configuration to file.", "2.8.0";
    "config|help", 2, INFO_FLAGS, &["@slow"], "HELP", "Returns helpful text about the different subcommands.", "5.0.0";
    "command|count", 2, INFO_FLAGS, CONN_ACL, "COUNT", "Returns a count of commands.", "2.8.13";
    "command|info", -2, INFO_FLAGS, CONN_ACL, "INFO [command-name [command-name ...]]", "Returns information about one, multiple or all commands.", "2.8.13";
    "command|docs", -2, INFO_FLAGS, CONN_ACL, "DOCS [command-name [command-name ...]]", "Returns documentary information about one, multiple or all commands.", "7.0.0";
    "command|list", -2, INFO_FLAGS, CONN_ACL, "LIST [FILTERBY <MODULE module-name | ACLCAT category | PATTERN pattern>]", "Returns a list of command names.", "7.0.0";
    "command|getkeys", -3, INFO_FLAGS, CONN_ACL, "GETKEYS command [arg [arg ...]]", "Extracts the key names from an arbitrary command.", "2.8.13";
    "command|help", 2, INFO_FLAGS, CONN_ACL, "HELP", "Returns helpful text about the different subcommands.", "5.0.0";
}

/// The subcommands of `parent` (empty for a command without any).
fn subcommands_of(parent: &str) -> impl Iterator<Item = &'static Subcommand> + '_ {
    SUBCOMMANDS
        .iter()
        .filter(move |s| s.name.split_once('|').is_some_and(|(p, _)| p == parent))
}

fn has_subcommands(parent: &str) -> bool {
    subcommands_of(parent).next().is_some()
}

/// The subcommand `argv[1]` of container command `argv[0]`, its arity checked, with Redis's
/// errors: `unknown subcommand 'x'. Try CLIENT HELP.` and `wrong number of arguments for
/// 'client|kill' command`.
pub(super) fn subcommand(argv: &[&[u8]]) -> Result<&'static Subcommand, Reply> {
    let parent = lookup(argv[0]).map_or("", |spec| spec.name);
    let found = subcommands_of(parent).find(|s| {
        s.name
            .split_once('|')
            .is_some_and(|(_, sub)| is(argv[1], sub))
    });
    let Some(sub) = found else {
        let shown: String = text(argv[1]).chars().take(128).collect();
        return Err(Reply::err(format!(
            "unknown subcommand '{shown}'. Try {} HELP.",
            parent.to_ascii_uppercase()
        )));
    };
    let n = argv.len() as i32;
    if (sub.arity > 0 && n != sub.arity) || n < sub.arity.abs() {
        return Err(Reply::err(format!(
            "wrong number of arguments for '{}' command",
            sub.name
        )));
    }
    Ok(sub)
}

/// The reply to `PARENT HELP`: a usage line, then each subcommand's syntax and summary.
pub(super) fn help(parent: &str) -> Reply {
    let upper = parent.to_ascii_uppercase();
    let mut lines = vec![format!(
        "{upper} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    )];
    if parent == "command" {
        lines.push("(no subcommand)".into());
        lines.push("    Return details about all commands.".into());
    }
    for sub in subcommands_of(parent) {
        lines.push(sub.syntax.to_owned());
        lines.push(format!("    {}", sub.summary));
    }
    Reply::Array(lines.into_iter().map(Reply::Status).collect())
}

/// How many names [`full_name`] can return: the commands, then the subcommands.
pub fn name_count() -> usize {
    COMMANDS.len() + SUBCOMMANDS.len()
}

/// The name numbered `slot` by [`full_name`] (`""` if out of range).
pub fn name_of(slot: usize) -> &'static str {
    match slot.checked_sub(COMMANDS.len()) {
        None => COMMANDS[slot].name,
        Some(i) => SUBCOMMANDS.get(i).map_or("", |s| s.name),
    }
}

/// The full name of the command `argv` calls, as Redis names it in INFO commandstats and
/// CLIENT LIST (`get`, `client|list`; a container with an unknown subcommand keeps its own
/// name), and its number below [`name_count`], for counters kept in an array. `None` for an
/// unknown command.
pub fn full_name<A: AsRef<[u8]>>(argv: &[A]) -> Option<(usize, &'static str)> {
    let index = lookup_index(argv.first()?.as_ref())?;
    let name = COMMANDS[index].name;
    // Most commands have no subcommands: skip the table scan for them (this runs per command).
    static PARENTS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let parents = PARENTS.get_or_init(|| {
        let mut parents: Vec<&str> = SUBCOMMANDS
            .iter()
            .filter_map(|s| s.name.split_once('|').map(|p| p.0))
            .collect();
        parents.dedup();
        parents
    });
    if let Some(arg) = argv.get(1).filter(|_| parents.contains(&name)) {
        let arg = arg.as_ref();
        let sub = SUBCOMMANDS.iter().enumerate().find(|(_, s)| {
            s.name
                .split_once('|')
                .is_some_and(|(p, sub)| p == name && is(arg, sub))
        });
        if let Some((i, sub)) = sub {
            return Some((COMMANDS.len() + i, sub.name));
        }
    }
    Some((index, name))
}

/// A command or a subcommand, found by name (`get`, `CLIENT|LIST`).
#[derive(Clone, Copy)]
enum Found {
    Command(&'static CommandSpec),
    Sub(&'static Subcommand),
}

fn find(name: &[u8]) -> Option<Found> {
    if name.contains(&b'|') {
        return SUBCOMMANDS
            .iter()
            .find(|s| is(name, s.name))
            .map(Found::Sub);
    }
    lookup(name).map(Found::Command)
}

/// Redis's flag names in the order COMMAND INFO lists them.
const FLAG_ORDER: &[&str] = &[
    "write",
    "readonly",
    "denyoom",
    "admin",
    "pubsub",
    "noscript",
    "blocking",
    "loading",
    "stale",
    "skip_monitor",
    "skip_slowlog",
    "asking",
    "fast",
    "no_auth",
    "may_replicate",
    "no_mandatory_keys",
    "no_multi",
    "movablekeys",
    "allow_busy",
];

/// Redis's ACL categories in the order COMMAND INFO lists them.
const ACL_ORDER: &[&str] = &[
    "@keyspace",
    "@read",
    "@write",
    "@set",
    "@sortedset",
    "@list",
    "@hash",
    "@string",
    "@bitmap",
    "@hyperloglog",
    "@geo",
    "@stream",
    "@pubsub",
    "@admin",
    "@fast",
    "@slow",
    "@blocking",
    "@dangerous",
    "@connection",
    "@transaction",
    "@scripting",
];

/// Orders `names` as `order` does.
fn ordered(order: &[&'static str], names: &[&str]) -> Vec<&'static str> {
    order
        .iter()
        .copied()
        .filter(|o| names.contains(o))
        .collect()
}

/// A command's flags: write/readonly/fast from the table, the rest by name.
fn flags(spec: &CommandSpec) -> Vec<&'static str> {
    let mut names: Vec<&str> = match spec.name {
        "auth" | "hello" | "quit" | "reset" => {
            vec!["noscript", "loading", "stale", "no_auth", "allow_busy"]
        }
        "multi" | "discard" | "watch" | "unwatch" => {
            vec!["noscript", "loading", "stale", "allow_busy"]
        }
        "exec" => vec!["noscript", "loading", "stale", "skip_slowlog"],
        "shutdown" => vec!["admin", "noscript", "loading", "stale", "allow_busy"],
        "save" | "bgsave" | "bgrewriteaof" => vec!["admin", "noscript", "no_async_loading"],
        "select" | "time" | "lastsave" | "info" | "command" => vec!["loading", "stale"],
        "wait" => vec!["noscript"],
        "blpop" | "brpop" | "blmove" | "brpoplpush" | "bzpopmin" | "bzpopmax" => {
            vec!["noscript", "blocking"]
        }
        "blmpop" | "bzmpop" => vec!["blocking"],
        _ => Vec::new(),
    };
    if spec.flags & WRITE != 0 {
        names.push("write");
    }
    if spec.flags & READONLY != 0 {
        names.push("readonly");
    }
    if spec.flags & FAST != 0 {
        names.push("fast");
    }
    if spec.flags & NO_MULTI != 0 {
        names.push("no_multi");
    }
    if denies_oom(spec.name) {
        names.push("denyoom");
    }
    if numkeys_index(spec.name).is_some() {
        names.push("movablekeys");
    }
    ordered(FLAG_ORDER, &names)
}

/// Whether Redis refuses the command when out of memory (`denyoom`): writes that may add data.
fn denies_oom(name: &str) -> bool {
    matches!(
        name,
        "set"
            | "setnx"
            | "setex"
            | "psetex"
            | "mset"
            | "msetnx"
            | "append"
            | "setrange"
            | "incr"
            | "decr"
            | "incrby"
            | "decrby"
            | "incrbyfloat"
            | "getset"
            | "copy"
            | "hset"
            | "hsetnx"
            | "hmset"
            | "hincrby"
            | "hincrbyfloat"
            | "sadd"
            | "sinterstore"
            | "sunionstore"
            | "sdiffstore"
            | "zadd"
            | "zincrby"
            | "zrangestore"
            | "zunionstore"
            | "zinterstore"
            | "zdiffstore"
            | "lpush"
            | "rpush"
            | "lpushx"
            | "rpushx"
            | "linsert"
            | "lset"
            | "lmove"
            | "rpoplpush"
            | "blmove"
            | "brpoplpush"
    )
}

/// For a command whose keys are counted by a `numkeys` argument (Redis's `movablekeys`), the
/// position of that argument; the keys follow it. Keys before it come from the table's key
/// positions (the destination of ZUNIONSTORE...).
pub(crate) fn numkeys_index(name: &str) -> Option<usize> {
    match name {
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => Some(1),
        "zunionstore" | "zinterstore" | "zdiffstore" | "blmpop" | "bzmpop" => Some(2),
        _ => None,
    }
}

/// A command's ACL categories, from its flags and group plus a few names.
fn acl_categories(spec: &CommandSpec) -> Vec<&'static str> {
    if has_subcommands(spec.name) {
        return vec!["@slow"];
    }
    let mut names = Vec::new();
    if spec.flags & WRITE != 0 {
        names.push("@write");
    }
    if spec.flags & READONLY != 0 {
        names.push("@read");
    }
    names.push(if spec.flags & FAST != 0 {
        "@fast"
    } else {
        "@slow"
    });
    match (spec.group, spec.name) {
        (_, "wait" | "command") => names.push("@connection"),
        ("string", _) => names.push("@string"),
        ("hash", _) => names.push("@hash"),
        ("set", _) => names.push("@set"),
        ("sorted-set", _) => names.push("@sortedset"),
        ("list", _) => names.push("@list"),
        ("generic", _) | ("server", "dbsize" | "flushdb" | "flushall") => {
            names.push("@keyspace");
        }
        ("connection", _) => names.push("@connection"),
        ("transactions", _) => names.push("@transaction"),
        _ => {}
    }
    if matches!(
        spec.name,
        "shutdown" | "lastsave" | "save" | "bgsave" | "bgrewriteaof"
    ) {
        names.push("@admin");
    }
    if matches!(
        spec.name,
        "blpop" | "brpop" | "blmove" | "brpoplpush" | "blmpop" | "bzpopmin" | "bzpopmax" | "bzmpop"
    ) {
        names.push("@blocking");
    }
    if matches!(
        spec.name,
        "flushdb"
            | "flushall"
            | "keys"
            | "shutdown"
            | "info"
            | "lastsave"
            | "save"
            | "bgsave"
            | "bgrewriteaof"
    ) {
        names.push("@dangerous");
    }
    ordered(ACL_ORDER, &names)
}

/// Command tips (Redis 7): whether the output is nondeterministic.
fn tips(name: &str) -> Vec<Reply> {
    let tip = match name {
        "time" | "lastsave" | "info" | "randomkey" | "scan" | "client|list" | "client|info" => {
            "nondeterministic_output"
        }
        "keys" => "nondeterministic_output_order",
        _ => return Vec::new(),
    };
    vec![Reply::bulk(tip)]
}

/// A set of status replies, as Redis gives flags.
fn statuses(names: &[&str]) -> Reply {
    Reply::Set(
        names
            .iter()
            .map(|n| Reply::Status((*n).to_owned()))
            .collect(),
    )
}

/// A map entry with a bulk key.
fn pair(key: &str, value: Reply) -> (Reply, Reply) {
    (Reply::bulk(key), value)
}

/// The key specs of a command: one range spec from its key positions, or none.
fn key_specs(spec: &CommandSpec) -> Vec<Reply> {
    let mut specs = Vec::new();
    let (first, last, step) = spec.keys;
    let numkeys = numkeys_index(spec.name);
    if first != 0 {
        let access: &[&str] = match (numkeys.is_some(), spec.flags & WRITE != 0) {
            // The destination of a *STORE command is overwritten.
            (true, _) => &["OW", "update"],
            (false, true) => &["RW"],
            (false, false) => &["RO", "access"],
        };
        specs.push(range_key_spec(access, first, last, step));
    }
    if let Some(index) = numkeys {
        specs.push(Reply::Map(vec![
            pair("flags", statuses(&["RO", "access"])),
            pair(
                "begin_search",
                Reply::Map(vec![
                    pair("type", Reply::bulk("index")),
                    pair(
                        "spec",
                        Reply::Map(vec![pair("index", Reply::Integer(index as i64))]),
                    ),
                ]),
            ),
            pair(
                "find_keys",
                Reply::Map(vec![
                    pair("type", Reply::bulk("keynum")),
                    pair(
                        "spec",
                        Reply::Map(vec![
                            pair("keynumidx", Reply::Integer(0)),
                            pair("firstkey", Reply::Integer(1)),
                            pair("keystep", Reply::Integer(1)),
                        ]),
                    ),
                ]),
            ),
        ]));
    }
    specs
}

/// A key spec of keys at fixed positions `first..=last` (negative `last`: from the end).
fn range_key_spec(access: &[&str], first: i32, last: i32, step: i32) -> Reply {
    // In a key spec the last key is relative to the first (negative: from the end).
    let lastkey = if last < 0 { last } else { last - first };
    Reply::Map(vec![
        pair("flags", statuses(access)),
        pair(
            "begin_search",
            Reply::Map(vec![
                pair("type", Reply::bulk("index")),
                pair(
                    "spec",
                    Reply::Map(vec![pair("index", Reply::Integer(i64::from(first)))]),
                ),
            ]),
        ),
        pair(
            "find_keys",
            Reply::Map(vec![
                pair("type", Reply::bulk("range")),
                pair(
                    "spec",
                    Reply::Map(vec![
                        pair("lastkey", Reply::Integer(i64::from(lastkey))),
                        pair("keystep", Reply::Integer(i64::from(step))),
                        pair("limit", Reply::Integer(0)),
                    ]),
                ),
            ]),
        ),
    ])
}

/// One COMMAND INFO entry: name, arity, flags, first key, last key, step, ACL categories,
/// tips, key specs, subcommands (sets from the flags on, as Redis 7.0 replies in RESP3).
fn info_entry(found: Found) -> Reply {
    match found {
        Found::Command(spec) => {
            let (first, last, step) = spec.keys;
            Reply::Array(vec![
                Reply::bulk(spec.name),
                Reply::Integer(i64::from(spec.arity)),
                statuses(&flags(spec)),
                Reply::Integer(i64::from(first)),
                Reply::Integer(i64::from(last)),
                Reply::Integer(i64::from(step)),
                statuses(&acl_categories(spec)),
                Reply::Set(tips(spec.name)),
                Reply::Set(key_specs(spec)),
                Reply::Set(
                    subcommands_of(spec.name)
                        .map(|s| info_entry(Found::Sub(s)))
                        .collect(),
                ),
            ])
        }
        Found::Sub(sub) => Reply::Array(vec![
            Reply::bulk(sub.name),
            Reply::Integer(i64::from(sub.arity)),
            statuses(sub.flags),
            Reply::Integer(0),
            Reply::Integer(0),
            Reply::Integer(0),
            statuses(sub.acl),
            Reply::Set(tips(sub.name)),
            Reply::Set(Vec::new()),
            Reply::Set(Vec::new()),
        ]),
    }
}

/// The Redis version that introduced a command, for COMMAND DOCS.
fn since(name: &str) -> Option<&'static str> {
    Some(match name {
        "get" | "set" | "getset" | "setnx" | "mget" | "incr" | "decr" | "incrby" | "decrby"
        | "del" | "exists" | "type" | "rename" | "renamenx" | "move" | "keys" | "dbsize"
        | "flushdb" | "flushall" | "randomkey" | "expire" | "ttl" | "ping" | "echo" | "select"
        | "shutdown" | "auth" | "quit" | "info" | "lastsave" | "save" | "bgsave"
        | "bgrewriteaof" => "1.0.0",
        "mset" | "msetnx" => "1.0.1",
        "expireat" | "multi" | "exec" => "1.2.0",
        "setex" | "append" | "discard" | "config" => "2.0.0",
        "strlen" | "setrange" | "persist" | "watch" | "unwatch" => "2.2.0",
        "getrange" | "client" => "2.4.0",
        "psetex" | "incrbyfloat" | "pexpire" | "pexpireat" | "pttl" | "time" => "2.6.0",
        "scan" => "2.8.0",
        "command" => "2.8.13",
        "wait" => "3.0.0",
        "touch" => "3.2.1",
        "unlink" => "4.0.0",
        "hello" => "6.0.0",
        "getdel" | "getex" | "copy" | "reset" => "6.2.0",
        "expiretime" | "pexpiretime" => "7.0.0",
        // Collections.
        "lindex" | "llen" | "lpop" | "lpush" | "lrange" | "lrem" | "lset" | "ltrim" | "rpop"
        | "rpush" | "sadd" | "scard" | "sdiff" | "sdiffstore" | "sinter" | "sinterstore"
        | "sismember" | "smembers" | "smove" | "srem" | "sunion" | "sunionstore" | "spop"
        | "srandmember" => "1.0.0",
        "zrangebyscore" => "1.0.5",
        "rpoplpush" | "zadd" | "zcard" | "zincrby" | "zrange" | "zrem" | "zremrangebyscore"
        | "zrevrange" | "zscore" => "1.2.0",
        "blpop" | "brpop" | "hdel" | "hexists" | "hget" | "hgetall" | "hincrby" | "hkeys"
        | "hlen" | "hmget" | "hmset" | "hset" | "hsetnx" | "hvals" | "zcount" | "zinterstore"
        | "zrank" | "zremrangebyrank" | "zrevrank" | "zunionstore" => "2.0.0",
        "brpoplpush" | "linsert" | "lpushx" | "rpushx" | "zrevrangebyscore" => "2.2.0",
        "hincrbyfloat" => "2.6.0",
        "hscan" | "sscan" | "zscan" => "2.8.0",
        "zlexcount" | "zrangebylex" | "zremrangebylex" | "zrevrangebylex" => "2.8.9",
        "hstrlen" => "3.2.0",
        "bzpopmax" | "bzpopmin" | "zpopmax" | "zpopmin" => "5.0.0",
        "lpos" => "6.0.6",
        "blmove" | "hrandfield" | "lmove" | "smismember" | "zdiff" | "zdiffstore" | "zinter"
        | "zmscore" | "zrandmember" | "zrangestore" | "zunion" => "6.2.0",
        "blmpop" | "bzmpop" | "lmpop" | "sintercard" | "zintercard" | "zmpop" => "7.0.0",
        _ => return None,
    })
}

/// One COMMAND DOCS entry: summary, since, group, and the subcommands' docs.
fn docs_entry(found: Found) -> Reply {
    match found {
        Found::Command(spec) => {
            let mut fields = vec![pair("summary", Reply::bulk(spec.summary))];
            if let Some(since) = since(spec.name) {
                fields.push(pair("since", Reply::bulk(since)));
            }
            fields.push(pair("group", Reply::bulk(spec.group)));
            let subs: Vec<(Reply, Reply)> = subcommands_of(spec.name)
                .map(|s| (Reply::bulk(s.name), docs_entry(Found::Sub(s))))
                .collect();
            if subs.is_empty() {
                push_arguments(&mut fields, spec.syntax);
            } else {
                fields.push(pair("subcommands", Reply::Map(subs)));
            }
            Reply::Map(fields)
        }
        Found::Sub(sub) => {
            let parent = sub
                .name
                .split('|')
                .next()
                .and_then(|p| lookup(p.as_bytes()));
            let mut fields = vec![
                pair("summary", Reply::bulk(sub.summary)),
                pair("since", Reply::bulk(sub.since)),
                pair("group", Reply::bulk(parent.map_or("server", |p| p.group))),
            ];
            push_arguments(&mut fields, sub.syntax);
            Reply::Map(fields)
        }
    }
}

/// Adds COMMAND DOCS's `arguments`, parsed from a syntax line whose first word is the
/// (sub)command's name, if it has any and parses.
fn push_arguments(fields: &mut Vec<(Reply, Reply)>, syntax: &str) {
    if let Some(args) = parse_syntax(syntax).filter(|a| !a.is_empty()) {
        fields.push(pair(
            "arguments",
            Reply::Array(args.iter().map(syntax::Argument::to_reply).collect()),
        ));
    }
}

fn found_name(found: Found) -> &'static str {
    match found {
        Found::Command(spec) => spec.name,
        Found::Sub(sub) => sub.name,
    }
}

fn acl_of(found: Found) -> Vec<&'static str> {
    match found {
        Found::Command(spec) => acl_categories(spec),
        Found::Sub(sub) => sub.acl.to_vec(),
    }
}

/// Every command, each followed by its subcommands.
fn everything() -> impl Iterator<Item = Found> {
    COMMANDS.iter().flat_map(|spec| {
        std::iter::once(Found::Command(spec)).chain(subcommands_of(spec.name).map(Found::Sub))
    })
}

/// `COMMAND [COUNT | INFO [name ...] | DOCS [name ...] | LIST [FILTERBY ...] | GETKEYS command
/// [arg ...] | HELP]`
pub(super) fn command(_ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let all = || COMMANDS.iter().map(|c| info_entry(Found::Command(c)));
    if argv.len() == 1 {
        return Ok(Reply::Array(all().collect()));
    }
    let sub = subcommand(argv)?;
    match sub.name {
        "command|count" => Ok(Reply::Integer(COMMANDS.len() as i64)),
        "command|info" if argv.len() == 2 => Ok(Reply::Array(all().collect())),
        "command|info" => Ok(Reply::Array(
            argv[2..]
                .iter()
                .map(|name| find(name).map_or(Reply::Nil, info_entry))
                .collect(),
        )),
        "command|docs" => {
            let entries = if argv.len() == 2 {
                COMMANDS
                    .iter()
                    .map(|c| (Reply::bulk(c.name), docs_entry(Found::Command(c))))
                    .collect()
            } else {
                argv[2..]
                    .iter()
                    .filter_map(|name| find(name))
                    .map(|f| (Reply::bulk(found_name(f)), docs_entry(f)))
                    .collect()
            };
            Ok(Reply::Map(entries))
        }
        "command|list" => list(argv),
        "command|getkeys" => getkeys(&argv[2..]),
        _ => Ok(help("command")),
    }
}

/// `COMMAND LIST [FILTERBY <MODULE name | ACLCAT category | PATTERN pattern>]`
fn list(argv: &[&[u8]]) -> CmdResult {
    let keep: Box<dyn Fn(Found) -> bool> = match argv {
        [_, _] => Box::new(|_| true),
        [_, _, filterby, kind, value] if is(filterby, "FILTERBY") => {
            if is(kind, "MODULE") {
                Box::new(|_| false)
            } else if is(kind, "ACLCAT") {
                let category = format!("@{}", text(value));
                Box::new(move |f| acl_of(f).iter().any(|c| c.eq_ignore_ascii_case(&category)))
            } else if is(kind, "PATTERN") {
                let pattern = value.to_vec();
                Box::new(move |f| glob_match(&pattern, found_name(f).as_bytes(), true))
            } else {
                return Err(syntax_error());
            }
        }
        _ => return Err(syntax_error()),
    };
    Ok(Reply::Array(
        everything()
            .filter(|&f| keep(f))
            .map(|f| Reply::bulk(found_name(f)))
            .collect(),
    ))
}

/// `COMMAND GETKEYS command [arg ...]`: the key arguments, by the table's key positions.
fn getkeys(call: &[&[u8]]) -> CmdResult {
    let spec = lookup(call[0]).ok_or_else(|| Reply::err("Invalid command specified"))?;
    let n = call.len() as i32;
    if (spec.arity > 0 && n != spec.arity) || n < spec.arity.abs() {
        return Err(Reply::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let (first, last, step) = spec.keys;
    let numkeys = numkeys_index(spec.name);
    if first == 0 && numkeys.is_none() {
        return Err(Reply::err("The command has no key arguments"));
    }
    let mut keys: Vec<Reply> = Vec::new();
    if first != 0 {
        let last = if last < 0 { n + last } else { last.min(n - 1) };
        keys.extend(
            (first..=last)
                .step_by(step.max(1) as usize)
                .filter_map(|i| call.get(i as usize))
                .map(Reply::bulk),
        );
    }
    if let Some(index) = numkeys {
        let invalid = || Reply::err("Invalid arguments specified for command");
        let count = call
            .get(index)
            .and_then(|arg| crate::types::string::parse_i64(arg))
            .filter(|&c| c > 0)
            .ok_or_else(invalid)?;
        let found = call
            .get(index + 1..)
            .filter(|rest| rest.len() as i64 >= count)
            .ok_or_else(invalid)?;
        keys.extend(found.iter().take(count as usize).map(Reply::bulk));
    }
    Ok(Reply::Array(keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> &'static CommandSpec {
        lookup(name.as_bytes()).expect("in the table")
    }

    #[test]
    fn flags_and_categories_match_redis_for_common_commands() {
        assert_eq!(flags(spec("get")), ["readonly", "fast"]);
        assert_eq!(acl_categories(spec("get")), ["@read", "@string", "@fast"]);
        assert_eq!(acl_categories(spec("set")), ["@write", "@string", "@slow"]);
        assert_eq!(
            acl_categories(spec("flushdb")),
            ["@keyspace", "@write", "@slow", "@dangerous"]
        );
        assert_eq!(acl_categories(spec("wait")), ["@slow", "@connection"]);
        assert_eq!(
            flags(spec("auth")),
            [
                "noscript",
                "loading",
                "stale",
                "fast",
                "no_auth",
                "allow_busy"
            ]
        );
        assert_eq!(acl_categories(spec("client")), ["@slow"]);
    }

    #[test]
    fn every_subcommand_has_a_parent_in_the_table() {
        for sub in SUBCOMMANDS {
            let (parent, name) = sub.name.split_once('|').expect("parent|sub");
            assert!(lookup(parent.as_bytes()).is_some(), "{}", sub.name);
            assert_eq!(name, name.to_ascii_lowercase());
            assert!(sub.arity.abs() >= 2);
        }
    }

    #[test]
    fn full_names_distinguish_subcommands() {
        assert_eq!(full_name(&["GET", "k"]).map(|f| f.1), Some("get"));
        assert_eq!(
            full_name(&["client", "LIST"]).map(|f| f.1),
            Some("client|list")
        );
        assert_eq!(
            full_name(&["client", "nosuch"]).map(|f| f.1),
            Some("client")
        );
        assert_eq!(full_name(&["nosuch"]), None);
        let (slot, name) = full_name(&["config", "get", "*"]).expect("known");
        assert_eq!(name_of(slot), name);
        assert!(slot < name_count());
    }

    #[test]
    fn getkeys_follows_the_key_positions() {
        let keys = |argv: &[&str]| {
            let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
            getkeys(&argv)
        };
        assert_eq!(
            keys(&["mset", "a", "1", "b", "2"]),
            Ok(Reply::Array(vec![Reply::bulk("a"), Reply::bulk("b")]))
        );
        assert_eq!(
            keys(&["rename", "a", "b"]),
            Ok(Reply::Array(vec![Reply::bulk("a"), Reply::bulk("b")]))
        );
        assert_eq!(
            keys(&["get", "a", "b"]),
            Err(Reply::err(
                "Invalid number of arguments specified for command"
            ))
        );
        assert_eq!(
            keys(&["ping"]),
            Err(Reply::err("The command has no key arguments"))
        );
    }

    #[test]
    fn key_specs_count_the_last_key_from_the_first() {
        let specs = key_specs(spec("mset"));
        let Some(Reply::Map(fields)) = specs.first() else {
            panic!("one spec");
        };
        let text = format!("{fields:?}");
        assert!(
            text.contains("Integer(-1)") && text.contains("Integer(2)"),
            "{text}"
        );
        assert!(key_specs(spec("ping")).is_empty());
    }
}
