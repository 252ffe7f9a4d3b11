//! The operations of the model test and the in-memory model they are checked against.
//!
//! The model is a `BTreeMap` from (database, key) to (value, expiry), where a value is a string,
//! a hash, a set, a sorted set or a list, written from the Redis 7.0 command reference and source, not
//! from kvdb's code. Expiry is applied on every step: a key whose expiry is at or before the
//! model's clock is gone, which is what Redis guarantees to clients whether the key was removed
//! lazily, actively, or not yet at all. A collection never stays empty: the command that removes
//! its last element removes the key, as in Redis.
//!
//! Replies are built in their RESP2 shape (what a RESP2 client sees); the harness compares
//! encodings, so a `Double` and the bulk string Redis sends for it are the same reply.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use kvdb::Reply;

use crate::crashfs::Crash;

/// The key space: few keys, so commands collide; one longer than the keydir's inline limit.
pub const KEYS: [&str; 5] = ["a", "b", "c", "key-with-a-name-longer-than-inline", "d"];
/// Databases the operations use; the others must stay empty.
pub const DBS: u8 = 3;
/// Hash fields: few, so they collide; the empty one; one longer than the inline name limit.
pub const FIELDS: [&str; 4] = ["f", "g", "", "field-name-longer-than-the-inline-limit"];
/// Set and sorted-set members (shared, so ZUNIONSTORE mixes sets and sorted sets).
pub const MEMBERS: [&str; 4] = ["m", "n", "", "member-name-longer-than-the-inline-limit"];
/// List elements that pivots, LREM, LPOS and pushes share, so that they meet: few, the empty
/// one, one longer than the inline name limit. Pushes also add long elements that compress.
pub const ELEMENTS: [&str; 4] = ["x", "y", "", "element-longer-than-the-inline-limit"];
/// The timeout of the blocking commands (BLPOP...), in seconds: a single-threaded test has
/// nobody to push while it waits, so a command that finds nothing times out after it (in real
/// time) and answers a nil array, as Redis does.
pub const BLOCK_TIMEOUT: &str = "0.01";
/// Scores and increments as the client spells them. All finite ones are exact in binary except
/// 0.1, whose printing (`%.17g`) differs from the shortest form; `x` is not a float. Sums stay
/// exact or commutative, so the order Redis adds them in never matters (see `ZUnionStore`).
pub const SCORES: [&str; 10] = [
    "-2", "-0.5", "0", "0.1", "1", "1.5", "3", "+inf", "-inf", "x",
];

/// (database, key) -> value.
pub type Data = BTreeMap<(u8, Vec<u8>), Value>;

/// A key's value and its absolute expiry (Unix ms, 0 = none).
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The value.
    pub val: Val,
    /// Absolute expiry in Unix ms, 0 = none.
    pub expires_at: u64,
}

/// A value of one of the four types.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// A string.
    Str(Vec<u8>),
    /// A hash: field -> value (never empty).
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    /// A set (never empty).
    Set(BTreeSet<Vec<u8>>),
    /// A sorted set: member -> score (never empty, never NaN).
    ZSet(BTreeMap<Vec<u8>, f64>),
    /// A list, head first (never empty).
    List(Vec<Vec<u8>>),
}

impl Val {
    /// What TYPE answers.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Str(_) => "string",
            Val::Hash(_) => "hash",
            Val::Set(_) => "set",
            Val::ZSet(_) => "zset",
            Val::List(_) => "list",
        }
    }

    fn is_empty_collection(&self) -> bool {
        match self {
            Val::Str(_) => false,
            Val::Hash(h) => h.is_empty(),
            Val::Set(s) => s.is_empty(),
            Val::ZSet(z) => z.is_empty(),
            Val::List(l) => l.is_empty(),
        }
    }
}

/// The members of a sorted set in Redis's order: by score, then member bytes.
pub fn zset_order(z: &BTreeMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
    let mut items: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, &s)| (m.clone(), s)).collect();
    items.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    items
}

/// A flat `[member, score, ...]` array, as RESP2 sends WITHSCORES replies.
pub fn with_scores(items: &[(Vec<u8>, f64)]) -> Reply {
    Reply::Array(
        items
            .iter()
            .flat_map(|(m, s)| [Reply::Bulk(m.clone()), Reply::Double(*s)])
            .collect(),
    )
}

/// A flat `[field, value, ...]` array of a hash, in field order.
pub fn hash_pairs(h: &BTreeMap<Vec<u8>, Vec<u8>>) -> Reply {
    Reply::Array(
        h.iter()
            .flat_map(|(f, v)| [Reply::Bulk(f.clone()), Reply::Bulk(v.clone())])
            .collect(),
    )
}

/// The members of a set, in byte order.
pub fn set_members(s: &BTreeSet<Vec<u8>>) -> Reply {
    Reply::Array(s.iter().cloned().map(Reply::Bulk).collect())
}

/// SET's NX / XX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    /// No condition.
    Always,
    /// NX.
    Nx,
    /// XX.
    Xx,
}

/// The TTL option of SET or GETEX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlArg {
    /// No option: SET clears the TTL, GETEX leaves it.
    None,
    /// EX seconds (> 0).
    Ex(u64),
    /// PX milliseconds (> 0).
    Px(u64),
    /// PXAT now + delta (delta may be in the past).
    PxAt(i64),
    /// KEEPTTL (SET) or PERSIST (GETEX).
    Keep,
}

/// How EXPIRE's time is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireUnit {
    /// EXPIRE key seconds.
    Seconds,
    /// PEXPIRE key milliseconds.
    Millis,
    /// PEXPIREAT key (now + amount).
    AtMillis,
}

/// A read of a hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashRead {
    /// HGET key field
    Get(usize),
    /// HGETALL key (order unspecified: compared sorted)
    GetAll,
    /// HLEN key
    Len,
    /// HEXISTS key field
    Exists(usize),
}

/// A read of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetRead {
    /// SMEMBERS key (order unspecified: compared sorted)
    Members,
    /// SCARD key
    Card,
    /// SISMEMBER key member
    IsMember(usize),
}

/// A read of a sorted set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZSetRead {
    /// ZRANGE key start stop [WITHSCORES]
    Range { start: i64, stop: i64, scores: bool },
    /// ZSCORE key member
    Score(usize),
    /// ZCARD key
    Card,
    /// ZRANK key member
    Rank(usize),
}

/// A read of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListRead {
    /// LRANGE key start stop
    Range { start: i64, stop: i64 },
    /// LINDEX key index
    Index(i64),
    /// LLEN key
    Len,
    /// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len], element of [`ELEMENTS`]
    Pos {
        element: usize,
        rank: Option<i64>,
        count: Option<i64>,
        maxlen: Option<i64>,
    },
}

/// One step of a test case.
#[derive(Debug, Clone)]
pub enum Op {
    /// SET key value [NX|XX] [GET] [ttl]
    Set {
        db: u8,
        key: usize,
        value: Vec<u8>,
        cond: Cond,
        get: bool,
        ttl: TtlArg,
    },
    /// GET key
    Get { db: u8, key: usize },
    /// APPEND key value
    Append { db: u8, key: usize, value: Vec<u8> },
    /// INCRBY key delta
    IncrBy { db: u8, key: usize, delta: i64 },
    /// SETRANGE key offset value
    SetRange {
        db: u8,
        key: usize,
        offset: u8,
        patch: Vec<u8>,
    },
    /// DEL key [key ...]
    Del { db: u8, keys: Vec<usize> },
    /// RENAME / RENAMENX
    Rename {
        db: u8,
        src: usize,
        dst: usize,
        nx: bool,
    },
    /// COPY src dst [DB db] [REPLACE]
    Copy {
        db: u8,
        src: usize,
        dst: usize,
        dst_db: Option<u8>,
        replace: bool,
    },
    /// MOVE key db
    Move { db: u8, key: usize, dst_db: u8 },
    /// MSET key value [key value ...]
    MSet {
        db: u8,
        pairs: Vec<(usize, Vec<u8>)>,
    },
    /// GETDEL key
    GetDel { db: u8, key: usize },
    /// GETEX key [EX|PX|PXAT|PERSIST]
    GetEx { db: u8, key: usize, ttl: TtlArg },
    /// EXPIRE / PEXPIRE / PEXPIREAT key amount [NX|XX|GT|LT]
    Expire {
        db: u8,
        key: usize,
        unit: ExpireUnit,
        amount: i64,
        cond: Option<&'static str>,
    },
    /// PERSIST key
    Persist { db: u8, key: usize },
    /// TYPE key
    Type { db: u8, key: usize },
    /// FLUSHDB
    FlushDb { db: u8 },
    /// FLUSHALL
    FlushAll,
    /// HSET key field value [field value ...]
    HSet {
        db: u8,
        key: usize,
        pairs: Vec<(usize, Vec<u8>)>,
    },
    /// HDEL key field [field ...]
    HDel {
        db: u8,
        key: usize,
        fields: Vec<usize>,
    },
    /// HINCRBY key field delta
    HIncrBy {
        db: u8,
        key: usize,
        field: usize,
        delta: i64,
    },
    /// HGET / HGETALL / HLEN / HEXISTS
    HRead { db: u8, key: usize, read: HashRead },
    /// SADD key member [member ...]
    SAdd {
        db: u8,
        key: usize,
        members: Vec<usize>,
    },
    /// SREM key member [member ...]
    SRem {
        db: u8,
        key: usize,
        members: Vec<usize>,
    },
    /// SMOVE source destination member
    SMove {
        db: u8,
        src: usize,
        dst: usize,
        member: usize,
    },
    /// SMEMBERS / SCARD / SISMEMBER
    SRead { db: u8, key: usize, read: SetRead },
    /// SINTERSTORE destination key [key ...]
    SInterStore {
        db: u8,
        dst: usize,
        keys: Vec<usize>,
    },
    /// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]; `opts` in the
    /// order given, possibly an invalid combination.
    ZAdd {
        db: u8,
        key: usize,
        opts: Vec<&'static str>,
        pairs: Vec<(&'static str, usize)>,
    },
    /// ZINCRBY key increment member
    ZIncrBy {
        db: u8,
        key: usize,
        incr: &'static str,
        member: usize,
    },
    /// ZREM key member [member ...]
    ZRem {
        db: u8,
        key: usize,
        members: Vec<usize>,
    },
    /// ZREMRANGEBYSCORE key min max (`(` marks an exclusive bound)
    ZRemRangeByScore {
        db: u8,
        key: usize,
        min: &'static str,
        max: &'static str,
    },
    /// ZREMRANGEBYRANK key start stop
    ZRemRangeByRank {
        db: u8,
        key: usize,
        start: i64,
        stop: i64,
    },
    /// ZPOPMIN key [count]
    ZPopMin {
        db: u8,
        key: usize,
        count: Option<i64>,
    },
    /// ZRANGE / ZSCORE / ZCARD / ZRANK
    ZRead { db: u8, key: usize, read: ZSetRead },
    /// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]
    ZUnionStore {
        db: u8,
        dst: usize,
        keys: Vec<usize>,
        weights: Option<Vec<&'static str>>,
        aggregate: Option<&'static str>,
    },
    /// LPUSH / RPUSH key element [element ...], or LPUSHX / RPUSHX (`only_if_exists`)
    Push {
        db: u8,
        key: usize,
        left: bool,
        only_if_exists: bool,
        elements: Vec<Vec<u8>>,
    },
    /// LPOP / RPOP key [count]
    Pop {
        db: u8,
        key: usize,
        left: bool,
        count: Option<i64>,
    },
    /// LINSERT key BEFORE|AFTER pivot element (pivot of [`ELEMENTS`])
    LInsert {
        db: u8,
        key: usize,
        before: bool,
        pivot: usize,
        element: Vec<u8>,
    },
    /// LSET key index element
    LSet {
        db: u8,
        key: usize,
        index: i64,
        element: Vec<u8>,
    },
    /// LREM key count element (element of [`ELEMENTS`])
    LRem {
        db: u8,
        key: usize,
        count: i64,
        element: usize,
    },
    /// LTRIM key start stop
    LTrim {
        db: u8,
        key: usize,
        start: i64,
        stop: i64,
    },
    /// LMOVE source destination LEFT|RIGHT LEFT|RIGHT; RPOPLPUSH source destination
    /// (`rpoplpush`, with `from_left` false and `to_left` true); BLMOVE ... timeout (`block`)
    LMove {
        db: u8,
        src: usize,
        dst: usize,
        from_left: bool,
        to_left: bool,
        rpoplpush: bool,
        block: bool,
    },
    /// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]; BLMPOP timeout ... (`block`)
    LMPop {
        db: u8,
        keys: Vec<usize>,
        left: bool,
        count: Option<i64>,
        block: bool,
    },
    /// BLPOP / BRPOP key [key ...] timeout
    BPop {
        db: u8,
        keys: Vec<usize>,
        left: bool,
    },
    /// LRANGE / LINDEX / LLEN / LPOS
    LRead { db: u8, key: usize, read: ListRead },
    /// Moves the manual clock forward.
    Advance(u64),
    /// Drops the database and opens it again.
    Reopen,
    /// Simulates a crash, reopens the image, continues on it.
    Crash { crash: Crash, seed: u64 },
    /// Plans a power cut at the `events`-th file event from now, usually inside a later
    /// command; the test reopens its image once that command returns.
    PowerCutDuring { events: u32, seed: u64 },
    /// Compacts: the whole log (`full`, as BGREWRITEAOF), or what the automatic policy picks.
    Compact { full: bool },
    /// Writes the missing hint files (SAVE).
    Save,
}

fn key(i: usize) -> Vec<u8> {
    KEYS[i].as_bytes().to_vec()
}

fn field(i: usize) -> Vec<u8> {
    FIELDS[i].as_bytes().to_vec()
}

fn member(i: usize) -> Vec<u8> {
    MEMBERS[i].as_bytes().to_vec()
}

fn element(i: usize) -> Vec<u8> {
    ELEMENTS[i].as_bytes().to_vec()
}

fn side(left: bool) -> Vec<u8> {
    (if left { "LEFT" } else { "RIGHT" }).as_bytes().to_vec()
}

/// Pops one element from the head (`left`) or the tail of a non-empty list.
fn pop(list: &mut Vec<Vec<u8>>, left: bool) -> Vec<u8> {
    if left {
        list.remove(0)
    } else {
        list.pop().expect("a list is never empty")
    }
}

/// Pops up to `n` elements from one end of `list`, in the order they are popped.
fn pop_n(list: &mut Vec<Vec<u8>>, left: bool, n: usize) -> Reply {
    let n = n.min(list.len());
    let mut popped: Vec<Vec<u8>> = if left {
        list.drain(..n).collect()
    } else {
        list.drain(list.len() - n..).collect()
    };
    if !left {
        popped.reverse();
    }
    Reply::Array(popped.into_iter().map(Reply::Bulk).collect())
}

fn ok() -> Reply {
    Reply::Status("OK".into())
}

fn err(text: &str) -> Reply {
    Reply::Error(format!("ERR {text}"))
}

fn wrongtype() -> Reply {
    Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into())
}

fn bulk_or_nil(v: Option<Vec<u8>>) -> Reply {
    v.map_or(Reply::Nil, Reply::Bulk)
}

fn int(n: usize) -> Reply {
    Reply::Integer(n as i64)
}

/// Whether `s` is an integer as Redis's `string2ll` accepts it: exactly the canonical decimal
/// form of an `i64`.
fn as_i64(s: &[u8]) -> Option<i64> {
    let n: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    (n.to_string().as_bytes() == s).then_some(n)
}

/// A score of [`SCORES`] as Redis's `strtod` reads it (`None`: not a float).
fn score(s: &str) -> Option<f64> {
    match s {
        "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok().filter(|x: &f64| x.is_finite()),
    }
}

/// A ZREMRANGEBYSCORE bound: the value and whether it is exclusive.
fn bound(s: &str) -> (f64, bool) {
    match s.strip_prefix('(') {
        Some(rest) => (score(rest).expect("a valid bound"), true),
        None => (score(s).expect("a valid bound"), false),
    }
}

/// Redis's rank range sanitizing (ZRANGE, ZREMRANGEBYRANK): the inclusive ranks, if any.
fn rank_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut stop = if stop < 0 { len + stop } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return None;
    }
    if stop >= len {
        stop = len - 1;
    }
    Some((start as usize, stop as usize))
}

impl Op {
    /// The command line of a data command, in its database (`None` for harness steps).
    pub fn argv(&self, now: u64) -> Option<(u8, Vec<Vec<u8>>)> {
        let s = |x: &str| x.as_bytes().to_vec();
        let ttl_args = |ttl: TtlArg, get_ex: bool| -> Vec<Vec<u8>> {
            match ttl {
                TtlArg::None => vec![],
                TtlArg::Ex(n) => vec![s("EX"), s(&n.to_string())],
                TtlArg::Px(n) => vec![s("PX"), s(&n.to_string())],
                TtlArg::PxAt(d) => vec![s("PXAT"), s(&(now as i64 + d).to_string())],
                TtlArg::Keep if get_ex => vec![s("PERSIST")],
                TtlArg::Keep => vec![s("KEEPTTL")],
            }
        };
        let with_members = |name: &str, k: usize, members: &[usize]| {
            let mut argv = vec![s(name), key(k)];
            argv.extend(members.iter().map(|&m| member(m)));
            argv
        };
        Some(match self {
            Op::Set {
                db,
                key: k,
                value,
                cond,
                get,
                ttl,
            } => {
                let mut argv = vec![s("SET"), key(*k), value.clone()];
                match cond {
                    Cond::Always => {}
                    Cond::Nx => argv.push(s("NX")),
                    Cond::Xx => argv.push(s("XX")),
                }
                if *get {
                    argv.push(s("GET"));
                }
                argv.extend(ttl_args(*ttl, false));
                (*db, argv)
            }
            Op::Get { db, key: k } => (*db, vec![s("GET"), key(*k)]),
            Op::Append { db, key: k, value } => (*db, vec![s("APPEND"), key(*k), value.clone()]),
            Op::IncrBy { db, key: k, delta } => {
                (*db, vec![s("INCRBY"), key(*k), s(&delta.to_string())])
            }
            Op::SetRange {
                db,
                key: k,
                offset,
                patch,
            } => (
                *db,
                vec![
                    s("SETRANGE"),
                    key(*k),
                    s(&offset.to_string()),
                    patch.clone(),
                ],
            ),
            Op::Del { db, keys } => {
                let mut argv = vec![s("DEL")];
                argv.extend(keys.iter().map(|&k| key(k)));
                (*db, argv)
            }
            Op::Rename { db, src, dst, nx } => {
                let name = if *nx { "RENAMENX" } else { "RENAME" };
                (*db, vec![s(name), key(*src), key(*dst)])
            }
            Op::Copy {
                db,
                src,
                dst,
                dst_db,
                replace,
            } => {
                let mut argv = vec![s("COPY"), key(*src), key(*dst)];
                if let Some(d) = dst_db {
                    argv.extend([s("DB"), s(&d.to_string())]);
                }
                if *replace {
                    argv.push(s("REPLACE"));
                }
                (*db, argv)
            }
            Op::Move { db, key: k, dst_db } => {
                (*db, vec![s("MOVE"), key(*k), s(&dst_db.to_string())])
            }
            Op::MSet { db, pairs } => {
                let mut argv = vec![s("MSET")];
                for (k, v) in pairs {
                    argv.extend([key(*k), v.clone()]);
                }
                (*db, argv)
            }
            Op::GetDel { db, key: k } => (*db, vec![s("GETDEL"), key(*k)]),
            Op::GetEx { db, key: k, ttl } => {
                let mut argv = vec![s("GETEX"), key(*k)];
                argv.extend(ttl_args(*ttl, true));
                (*db, argv)
            }
            Op::Expire {
                db,
                key: k,
                unit,
                amount,
                cond,
            } => {
                let (name, amount) = match unit {
                    ExpireUnit::Seconds => ("EXPIRE", *amount),
                    ExpireUnit::Millis => ("PEXPIRE", *amount),
                    ExpireUnit::AtMillis => ("PEXPIREAT", now as i64 + amount),
                };
                let mut argv = vec![s(name), key(*k), s(&amount.to_string())];
                argv.extend(cond.map(s));
                (*db, argv)
            }
            Op::Persist { db, key: k } => (*db, vec![s("PERSIST"), key(*k)]),
            Op::Type { db, key: k } => (*db, vec![s("TYPE"), key(*k)]),
            Op::FlushDb { db } => (*db, vec![s("FLUSHDB")]),
            Op::FlushAll => (0, vec![s("FLUSHALL")]),
            Op::HSet { db, key: k, pairs } => {
                let mut argv = vec![s("HSET"), key(*k)];
                for (f, v) in pairs {
                    argv.extend([field(*f), v.clone()]);
                }
                (*db, argv)
            }
            Op::HDel { db, key: k, fields } => {
                let mut argv = vec![s("HDEL"), key(*k)];
                argv.extend(fields.iter().map(|&f| field(f)));
                (*db, argv)
            }
            Op::HIncrBy {
                db,
                key: k,
                field: f,
                delta,
            } => (
                *db,
                vec![s("HINCRBY"), key(*k), field(*f), s(&delta.to_string())],
            ),
            Op::HRead { db, key: k, read } => (
                *db,
                match read {
                    HashRead::Get(f) => vec![s("HGET"), key(*k), field(*f)],
                    HashRead::GetAll => vec![s("HGETALL"), key(*k)],
                    HashRead::Len => vec![s("HLEN"), key(*k)],
                    HashRead::Exists(f) => vec![s("HEXISTS"), key(*k), field(*f)],
                },
            ),
            Op::SAdd {
                db,
                key: k,
                members,
            } => (*db, with_members("SADD", *k, members)),
            Op::SRem {
                db,
                key: k,
                members,
            } => (*db, with_members("SREM", *k, members)),
            Op::SMove {
                db,
                src,
                dst,
                member: m,
            } => (*db, vec![s("SMOVE"), key(*src), key(*dst), member(*m)]),
            Op::SRead { db, key: k, read } => (
                *db,
                match read {
                    SetRead::Members => vec![s("SMEMBERS"), key(*k)],
                    SetRead::Card => vec![s("SCARD"), key(*k)],
                    SetRead::IsMember(m) => vec![s("SISMEMBER"), key(*k), member(*m)],
                },
            ),
            Op::SInterStore { db, dst, keys } => {
                let mut argv = vec![s("SINTERSTORE"), key(*dst)];
                argv.extend(keys.iter().map(|&k| key(k)));
                (*db, argv)
            }
            Op::ZAdd {
                db,
                key: k,
                opts,
                pairs,
            } => {
                let mut argv = vec![s("ZADD"), key(*k)];
                argv.extend(opts.iter().map(|o| s(o)));
                for (sc, m) in pairs {
                    argv.extend([s(sc), member(*m)]);
                }
                (*db, argv)
            }
            Op::ZIncrBy {
                db,
                key: k,
                incr,
                member: m,
            } => (*db, vec![s("ZINCRBY"), key(*k), s(incr), member(*m)]),
            Op::ZRem {
                db,
                key: k,
                members,
            } => (*db, with_members("ZREM", *k, members)),
            Op::ZRemRangeByScore {
                db,
                key: k,
                min,
                max,
            } => (*db, vec![s("ZREMRANGEBYSCORE"), key(*k), s(min), s(max)]),
            Op::ZRemRangeByRank {
                db,
                key: k,
                start,
                stop,
            } => (
                *db,
                vec![
                    s("ZREMRANGEBYRANK"),
                    key(*k),
                    s(&start.to_string()),
                    s(&stop.to_string()),
                ],
            ),
            Op::ZPopMin { db, key: k, count } => {
                let mut argv = vec![s("ZPOPMIN"), key(*k)];
                argv.extend(count.map(|c| s(&c.to_string())));
                (*db, argv)
            }
            Op::ZRead { db, key: k, read } => (
                *db,
                match read {
                    ZSetRead::Range {
                        start,
                        stop,
                        scores,
                    } => {
                        let mut argv = vec![
                            s("ZRANGE"),
                            key(*k),
                            s(&start.to_string()),
                            s(&stop.to_string()),
                        ];
                        if *scores {
                            argv.push(s("WITHSCORES"));
                        }
                        argv
                    }
                    ZSetRead::Score(m) => vec![s("ZSCORE"), key(*k), member(*m)],
                    ZSetRead::Card => vec![s("ZCARD"), key(*k)],
                    ZSetRead::Rank(m) => vec![s("ZRANK"), key(*k), member(*m)],
                },
            ),
            Op::ZUnionStore {
                db,
                dst,
                keys,
                weights,
                aggregate,
            } => {
                let mut argv = vec![s("ZUNIONSTORE"), key(*dst), s(&keys.len().to_string())];
                argv.extend(keys.iter().map(|&k| key(k)));
                if let Some(w) = weights {
                    argv.push(s("WEIGHTS"));
                    argv.extend(w.iter().map(|w| s(w)));
                }
                if let Some(a) = aggregate {
                    argv.extend([s("AGGREGATE"), s(a)]);
                }
                (*db, argv)
            }
            Op::Push {
                db,
                key: k,
                left,
                only_if_exists,
                elements,
            } => {
                let name = match (left, only_if_exists) {
                    (true, false) => "LPUSH",
                    (false, false) => "RPUSH",
                    (true, true) => "LPUSHX",
                    (false, true) => "RPUSHX",
                };
                let mut argv = vec![s(name), key(*k)];
                argv.extend(elements.iter().cloned());
                (*db, argv)
            }
            Op::Pop {
                db,
                key: k,
                left,
                count,
            } => {
                let mut argv = vec![s(if *left { "LPOP" } else { "RPOP" }), key(*k)];
                argv.extend(count.map(|c| s(&c.to_string())));
                (*db, argv)
            }
            Op::LInsert {
                db,
                key: k,
                before,
                pivot,
                element: e,
            } => (
                *db,
                vec![
                    s("LINSERT"),
                    key(*k),
                    s(if *before { "BEFORE" } else { "AFTER" }),
                    element(*pivot),
                    e.clone(),
                ],
            ),
            Op::LSet {
                db,
                key: k,
                index,
                element: e,
            } => (
                *db,
                vec![s("LSET"), key(*k), s(&index.to_string()), e.clone()],
            ),
            Op::LRem {
                db,
                key: k,
                count,
                element: e,
            } => (
                *db,
                vec![s("LREM"), key(*k), s(&count.to_string()), element(*e)],
            ),
            Op::LTrim {
                db,
                key: k,
                start,
                stop,
            } => (
                *db,
                vec![
                    s("LTRIM"),
                    key(*k),
                    s(&start.to_string()),
                    s(&stop.to_string()),
                ],
            ),
            Op::LMove {
                db,
                src,
                dst,
                from_left,
                to_left,
                rpoplpush,
                block,
            } => {
                let mut argv = match (rpoplpush, block) {
                    (true, false) => vec![s("RPOPLPUSH"), key(*src), key(*dst)],
                    (true, true) => vec![s("BRPOPLPUSH"), key(*src), key(*dst)],
                    (false, false) => vec![
                        s("LMOVE"),
                        key(*src),
                        key(*dst),
                        side(*from_left),
                        side(*to_left),
                    ],
                    (false, true) => vec![
                        s("BLMOVE"),
                        key(*src),
                        key(*dst),
                        side(*from_left),
                        side(*to_left),
                    ],
                };
                if *block {
                    argv.push(s(BLOCK_TIMEOUT));
                }
                (*db, argv)
            }
            Op::LMPop {
                db,
                keys,
                left,
                count,
                block,
            } => {
                let mut argv = if *block {
                    vec![s("BLMPOP"), s(BLOCK_TIMEOUT)]
                } else {
                    vec![s("LMPOP")]
                };
                argv.push(s(&keys.len().to_string()));
                argv.extend(keys.iter().map(|&k| key(k)));
                argv.push(side(*left));
                if let Some(c) = count {
                    argv.extend([s("COUNT"), s(&c.to_string())]);
                }
                (*db, argv)
            }
            Op::BPop { db, keys, left } => {
                let mut argv = vec![s(if *left { "BLPOP" } else { "BRPOP" })];
                argv.extend(keys.iter().map(|&k| key(k)));
                argv.push(s(BLOCK_TIMEOUT));
                (*db, argv)
            }
            Op::LRead { db, key: k, read } => (
                *db,
                match read {
                    ListRead::Range { start, stop } => vec![
                        s("LRANGE"),
                        key(*k),
                        s(&start.to_string()),
                        s(&stop.to_string()),
                    ],
                    ListRead::Index(i) => vec![s("LINDEX"), key(*k), s(&i.to_string())],
                    ListRead::Len => vec![s("LLEN"), key(*k)],
                    ListRead::Pos {
                        element: e,
                        rank,
                        count,
                        maxlen,
                    } => {
                        let mut argv = vec![s("LPOS"), key(*k), element(*e)];
                        for (name, value) in [("RANK", rank), ("COUNT", count), ("MAXLEN", maxlen)]
                        {
                            if let Some(v) = value {
                                argv.extend([s(name), s(&v.to_string())]);
                            }
                        }
                        argv
                    }
                },
            ),
            Op::Advance(_)
            | Op::Reopen
            | Op::Crash { .. }
            | Op::PowerCutDuring { .. }
            | Op::Compact { .. }
            | Op::Save => {
                return None;
            }
        })
    }

    /// Whether the reply's order is unspecified, and how to compare it: `Some(1)` a list of
    /// elements, `Some(2)` a list of pairs (sorted before comparing); `None`: order matters.
    pub fn unordered(&self) -> Option<usize> {
        match self {
            Op::SRead {
                read: SetRead::Members,
                ..
            } => Some(1),
            Op::HRead {
                read: HashRead::GetAll,
                ..
            } => Some(2),
            _ => None,
        }
    }
}

/// The reads that show all of key `key` of database `db` holding `val`: TYPE, then the whole
/// value through the command that lists it, its size, and every possible element looked up by
/// name (the element table and a sorted set's order index are separate structures, so both
/// are read).
pub fn full_reads(db: u8, key: usize, val: Option<&Val>) -> Vec<Op> {
    let list = |read| Op::LRead { db, key, read };
    let hash = |read| Op::HRead { db, key, read };
    let set = |read| Op::SRead { db, key, read };
    let zset = |read| Op::ZRead { db, key, read };
    let mut reads = vec![Op::Type { db, key }];
    match val {
        None => {}
        Some(Val::Str(_)) => reads.push(Op::Get { db, key }),
        Some(Val::Hash(_)) => {
            reads.extend([hash(HashRead::GetAll), hash(HashRead::Len)]);
            reads.extend((0..FIELDS.len()).map(|f| hash(HashRead::Get(f))));
        }
        Some(Val::Set(_)) => {
            reads.extend([set(SetRead::Members), set(SetRead::Card)]);
            reads.extend((0..MEMBERS.len()).map(|m| set(SetRead::IsMember(m))));
        }
        Some(Val::ZSet(_)) => {
            let all = ZSetRead::Range {
                start: 0,
                stop: -1,
                scores: true,
            };
            reads.extend([zset(all), zset(ZSetRead::Card)]);
            reads.extend((0..MEMBERS.len()).map(|m| zset(ZSetRead::Score(m))));
        }
        Some(Val::List(l)) => {
            // The whole list; single elements looked up by index from both ends (the head, the
            // middle, the tail); and where each element of the alphabet is.
            let middle = (l.len() / 2) as i64;
            reads.extend([
                list(ListRead::Range { start: 0, stop: -1 }),
                list(ListRead::Len),
                list(ListRead::Index(0)),
                list(ListRead::Index(middle)),
                list(ListRead::Index(-1 - middle)),
            ]);
            reads.extend((0..ELEMENTS.len()).map(|e| {
                list(ListRead::Pos {
                    element: e,
                    rank: None,
                    count: Some(0),
                    maxlen: None,
                })
            }));
        }
    }
    reads
}

/// The model: the clock and the data.
#[derive(Debug, Clone)]
pub struct Model {
    /// The time commands run at (Unix ms).
    pub now: u64,
    /// The live keys (expired ones are dropped on every step).
    pub data: Data,
}

/// `data` without the keys expired at `now`.
pub fn live(data: &Data, now: u64) -> Data {
    data.iter()
        .filter(|(_, v)| v.expires_at == 0 || v.expires_at > now)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The typed view of a key a collection command needs: its elements (empty if the key is
/// absent) and expiry, or the WRONGTYPE reply.
type Loaded<T> = Result<(T, u64), Reply>;

impl Model {
    /// An empty model at time `now`.
    pub fn new(now: u64) -> Model {
        Model {
            now,
            data: Data::new(),
        }
    }

    fn purge(&mut self) {
        self.data = live(&self.data, self.now);
    }

    fn get(&self, db: u8, k: usize) -> Option<&Value> {
        self.data.get(&(db, key(k)))
    }

    /// The string of `k` and its expiry; WRONGTYPE if it holds another type.
    fn string(&self, db: u8, k: usize) -> Result<Option<(Vec<u8>, u64)>, Reply> {
        match self.get(db, k) {
            None => Ok(None),
            Some(Value {
                val: Val::Str(b),
                expires_at,
            }) => Ok(Some((b.clone(), *expires_at))),
            Some(_) => Err(wrongtype()),
        }
    }

    fn hash(&self, db: u8, k: usize) -> Loaded<BTreeMap<Vec<u8>, Vec<u8>>> {
        match self.get(db, k) {
            None => Ok(Default::default()),
            Some(Value {
                val: Val::Hash(h),
                expires_at,
            }) => Ok((h.clone(), *expires_at)),
            Some(_) => Err(wrongtype()),
        }
    }

    fn set(&self, db: u8, k: usize) -> Loaded<BTreeSet<Vec<u8>>> {
        match self.get(db, k) {
            None => Ok(Default::default()),
            Some(Value {
                val: Val::Set(s),
                expires_at,
            }) => Ok((s.clone(), *expires_at)),
            Some(_) => Err(wrongtype()),
        }
    }

    fn list(&self, db: u8, k: usize) -> Loaded<Vec<Vec<u8>>> {
        match self.get(db, k) {
            None => Ok(Default::default()),
            Some(Value {
                val: Val::List(l),
                expires_at,
            }) => Ok((l.clone(), *expires_at)),
            Some(_) => Err(wrongtype()),
        }
    }

    /// The first of `keys` that holds a list (a non-empty one: lists never stay empty), as
    /// the multi-key pops look for it; WRONGTYPE for a key of another type met before it.
    fn first_list(&self, db: u8, keys: &[usize]) -> Result<Option<usize>, Reply> {
        for &k in keys {
            match self.get(db, k).map(|v| &v.val) {
                None => {}
                Some(Val::List(_)) => return Ok(Some(k)),
                Some(_) => return Err(wrongtype()),
            }
        }
        Ok(None)
    }

    fn zset(&self, db: u8, k: usize) -> Loaded<BTreeMap<Vec<u8>, f64>> {
        match self.get(db, k) {
            None => Ok(Default::default()),
            Some(Value {
                val: Val::ZSet(z),
                expires_at,
            }) => Ok((z.clone(), *expires_at)),
            Some(_) => Err(wrongtype()),
        }
    }

    /// Stores `val` with `expires_at`; an expiry already past, or an empty collection, deletes
    /// the key instead.
    fn store(&mut self, db: u8, k: usize, val: Val, expires_at: u64) {
        if (expires_at != 0 && expires_at <= self.now) || val.is_empty_collection() {
            self.data.remove(&(db, key(k)));
        } else {
            self.data.insert((db, key(k)), Value { val, expires_at });
        }
    }

    /// Stores the string `bytes` with `expires_at`.
    fn put(&mut self, db: u8, k: usize, bytes: Vec<u8>, expires_at: u64) {
        self.store(db, k, Val::Str(bytes), expires_at);
    }

    fn resolve(&self, ttl: TtlArg) -> Option<u64> {
        match ttl {
            TtlArg::Ex(s) => Some(self.now + s * 1000),
            TtlArg::Px(ms) => Some(self.now + ms),
            TtlArg::PxAt(d) => Some((self.now as i64 + d) as u64),
            TtlArg::None | TtlArg::Keep => None,
        }
    }

    /// Applies a data command and returns the reply Redis would give.
    pub fn apply(&mut self, op: &Op) -> Reply {
        self.purge();
        match self.apply_inner(op) {
            Ok(reply) | Err(reply) => reply,
        }
    }

    /// `Err` is an error reply (the command changed nothing).
    fn apply_inner(&mut self, op: &Op) -> Result<Reply, Reply> {
        Ok(match op {
            Op::Set {
                db,
                key: k,
                value,
                cond,
                get,
                ttl,
            } => {
                let current = self.get(*db, *k).cloned();
                // SET ... GET refuses a non-string before anything; plain SET overwrites any
                // type.
                let old = if *get {
                    self.string(*db, *k)?.map(|(b, _)| b)
                } else {
                    None
                };
                let allowed = match cond {
                    Cond::Always => true,
                    Cond::Nx => current.is_none(),
                    Cond::Xx => current.is_some(),
                };
                if allowed {
                    let expires_at = match ttl {
                        TtlArg::Keep => current.map_or(0, |v| v.expires_at),
                        other => self.resolve(*other).unwrap_or(0),
                    };
                    self.put(*db, *k, value.clone(), expires_at);
                }
                match (get, allowed) {
                    (true, _) => bulk_or_nil(old),
                    (false, true) => ok(),
                    (false, false) => Reply::Nil,
                }
            }
            Op::Get { db, key: k } => bulk_or_nil(self.string(*db, *k)?.map(|(b, _)| b)),
            Op::Append { db, key: k, value } => {
                let (mut bytes, at) = self.string(*db, *k)?.unwrap_or_default();
                bytes.extend_from_slice(value);
                let len = bytes.len() as i64;
                self.put(*db, *k, bytes, at);
                Reply::Integer(len)
            }
            Op::IncrBy { db, key: k, delta } => {
                let (n, at) = match self.string(*db, *k)? {
                    Some((b, at)) => match as_i64(&b) {
                        Some(n) => (n, at),
                        None => return Err(err("value is not an integer or out of range")),
                    },
                    None => (0, 0),
                };
                let Some(next) = n.checked_add(*delta) else {
                    return Err(err("increment or decrement would overflow"));
                };
                self.put(*db, *k, next.to_string().into_bytes(), at);
                Reply::Integer(next)
            }
            Op::SetRange {
                db,
                key: k,
                offset,
                patch,
            } => {
                let current = self.string(*db, *k)?;
                if patch.is_empty() {
                    return Ok(Reply::Integer(current.map_or(0, |(b, _)| b.len() as i64)));
                }
                let (mut bytes, at) = current.unwrap_or_default();
                let end = usize::from(*offset) + patch.len();
                if bytes.len() < end {
                    bytes.resize(end, 0);
                }
                bytes[usize::from(*offset)..end].copy_from_slice(patch);
                let len = bytes.len() as i64;
                self.put(*db, *k, bytes, at);
                Reply::Integer(len)
            }
            Op::Del { db, keys } => {
                let mut n = 0;
                for &k in keys {
                    if self.data.remove(&(*db, key(k))).is_some() {
                        n += 1;
                    }
                }
                Reply::Integer(n)
            }
            Op::Rename { db, src, dst, nx } => {
                let Some(value) = self.get(*db, *src).cloned() else {
                    return Err(err("no such key"));
                };
                if src == dst {
                    return Ok(if *nx { Reply::Integer(0) } else { ok() });
                }
                if *nx && self.get(*db, *dst).is_some() {
                    return Ok(Reply::Integer(0));
                }
                self.data.remove(&(*db, key(*src)));
                self.data.insert((*db, key(*dst)), value);
                if *nx { Reply::Integer(1) } else { ok() }
            }
            Op::Copy {
                db,
                src,
                dst,
                dst_db,
                replace,
            } => {
                let to = dst_db.unwrap_or(*db);
                if to == *db && src == dst {
                    return Err(err("source and destination objects are the same"));
                }
                let Some(value) = self.get(*db, *src).cloned() else {
                    return Ok(Reply::Integer(0));
                };
                if !replace && self.get(to, *dst).is_some() {
                    return Ok(Reply::Integer(0));
                }
                self.data.insert((to, key(*dst)), value);
                Reply::Integer(1)
            }
            Op::Move { db, key: k, dst_db } => {
                if db == dst_db {
                    return Err(err("source and destination objects are the same"));
                }
                let Some(value) = self.get(*db, *k).cloned() else {
                    return Ok(Reply::Integer(0));
                };
                if self.get(*dst_db, *k).is_some() {
                    return Ok(Reply::Integer(0));
                }
                self.data.remove(&(*db, key(*k)));
                self.data.insert((*dst_db, key(*k)), value);
                Reply::Integer(1)
            }
            Op::MSet { db, pairs } => {
                for (k, v) in pairs {
                    self.put(*db, *k, v.clone(), 0);
                }
                ok()
            }
            Op::GetDel { db, key: k } => {
                let old = self.string(*db, *k)?;
                self.data.remove(&(*db, key(*k)));
                bulk_or_nil(old.map(|(b, _)| b))
            }
            Op::GetEx { db, key: k, ttl } => {
                let Some((bytes, _)) = self.string(*db, *k)? else {
                    return Ok(Reply::Nil);
                };
                match ttl {
                    TtlArg::None => {}
                    TtlArg::Keep => self.put(*db, *k, bytes.clone(), 0),
                    other => {
                        let at = self.resolve(*other).unwrap_or(0);
                        self.put(*db, *k, bytes.clone(), at);
                    }
                }
                Reply::Bulk(bytes)
            }
            Op::Expire {
                db,
                key: k,
                unit,
                amount,
                cond,
            } => {
                let at = match unit {
                    ExpireUnit::Seconds => self.now as i64 + amount * 1000,
                    ExpireUnit::Millis | ExpireUnit::AtMillis => self.now as i64 + amount,
                };
                let Some(value) = self.get(*db, *k).cloned() else {
                    return Ok(Reply::Integer(0));
                };
                let current = value.expires_at as i64;
                let allowed = match *cond {
                    None => true,
                    Some("NX") => current == 0,
                    Some("XX") => current != 0,
                    Some("GT") => current != 0 && at > current,
                    Some("LT") => current == 0 || at < current,
                    Some(other) => panic!("unknown condition {other}"),
                };
                if !allowed {
                    return Ok(Reply::Integer(0));
                }
                if at <= self.now as i64 {
                    self.data.remove(&(*db, key(*k)));
                } else {
                    self.store(*db, *k, value.val, at as u64);
                }
                Reply::Integer(1)
            }
            Op::Persist { db, key: k } => match self.get(*db, *k).cloned() {
                Some(v) if v.expires_at != 0 => {
                    self.store(*db, *k, v.val, 0);
                    Reply::Integer(1)
                }
                _ => Reply::Integer(0),
            },
            Op::Type { db, key: k } => Reply::Status(
                self.get(*db, *k)
                    .map_or("none", |v| v.val.type_name())
                    .into(),
            ),
            Op::FlushDb { db } => {
                self.data.retain(|(d, _), _| d != db);
                ok()
            }
            Op::FlushAll => {
                self.data.clear();
                ok()
            }
            Op::HSet { db, key: k, pairs } => {
                let (mut h, at) = self.hash(*db, *k)?;
                let mut added = 0;
                for (f, v) in pairs {
                    if h.insert(field(*f), v.clone()).is_none() {
                        added += 1;
                    }
                }
                self.store(*db, *k, Val::Hash(h), at);
                int(added)
            }
            Op::HDel { db, key: k, fields } => {
                let (mut h, at) = self.hash(*db, *k)?;
                let removed = fields
                    .iter()
                    .filter(|&&f| h.remove(&field(f)).is_some())
                    .count();
                self.store(*db, *k, Val::Hash(h), at);
                int(removed)
            }
            Op::HIncrBy {
                db,
                key: k,
                field: f,
                delta,
            } => {
                let (mut h, at) = self.hash(*db, *k)?;
                let n = match h.get(&field(*f)) {
                    Some(v) => as_i64(v).ok_or_else(|| err("hash value is not an integer"))?,
                    None => 0,
                };
                let next = n
                    .checked_add(*delta)
                    .ok_or_else(|| err("increment or decrement would overflow"))?;
                h.insert(field(*f), next.to_string().into_bytes());
                self.store(*db, *k, Val::Hash(h), at);
                Reply::Integer(next)
            }
            Op::HRead { db, key: k, read } => {
                let (h, _) = self.hash(*db, *k)?;
                match read {
                    HashRead::Get(f) => bulk_or_nil(h.get(&field(*f)).cloned()),
                    HashRead::GetAll => hash_pairs(&h),
                    HashRead::Len => int(h.len()),
                    HashRead::Exists(f) => int(usize::from(h.contains_key(&field(*f)))),
                }
            }
            Op::SAdd {
                db,
                key: k,
                members,
            } => {
                let (mut s, at) = self.set(*db, *k)?;
                let added = members.iter().filter(|&&m| s.insert(member(m))).count();
                self.store(*db, *k, Val::Set(s), at);
                int(added)
            }
            Op::SRem {
                db,
                key: k,
                members,
            } => {
                let (mut s, at) = self.set(*db, *k)?;
                let removed = members.iter().filter(|&&m| s.remove(&member(m))).count();
                self.store(*db, *k, Val::Set(s), at);
                int(removed)
            }
            Op::SMove {
                db,
                src,
                dst,
                member: m,
            } => {
                // Redis: a missing source answers 0 before any type check; then both keys
                // must be sets (or the destination absent).
                if self.get(*db, *src).is_none() {
                    return Ok(Reply::Integer(0));
                }
                let (mut from, from_at) = self.set(*db, *src)?;
                let (mut to, to_at) = self.set(*db, *dst)?;
                if src == dst {
                    return Ok(int(usize::from(from.contains(&member(*m)))));
                }
                if !from.remove(&member(*m)) {
                    return Ok(Reply::Integer(0));
                }
                to.insert(member(*m));
                self.store(*db, *src, Val::Set(from), from_at);
                self.store(*db, *dst, Val::Set(to), to_at);
                Reply::Integer(1)
            }
            Op::SRead { db, key: k, read } => {
                let (s, _) = self.set(*db, *k)?;
                match read {
                    SetRead::Members => set_members(&s),
                    SetRead::Card => int(s.len()),
                    SetRead::IsMember(m) => int(usize::from(s.contains(&member(*m)))),
                }
            }
            Op::SInterStore { db, dst, keys } => {
                // Every source is type-checked, even after a missing one.
                let mut sets = Vec::new();
                for &k in keys {
                    let exists = self.get(*db, k).is_some();
                    let (s, _) = self.set(*db, k)?;
                    sets.push(exists.then_some(s));
                }
                let inter: BTreeSet<Vec<u8>> = match sets.into_iter().collect::<Option<Vec<_>>>() {
                    None => BTreeSet::new(),
                    Some(all) => all[0]
                        .iter()
                        .filter(|m| all[1..].iter().all(|s| s.contains(*m)))
                        .cloned()
                        .collect(),
                };
                let n = inter.len();
                self.store(*db, *dst, Val::Set(inter), 0);
                int(n)
            }
            Op::ZAdd {
                db,
                key: k,
                opts,
                pairs,
            } => {
                let has = |o: &str| opts.contains(&o);
                let (nx, xx, gt, lt, ch, incr) = (
                    has("NX"),
                    has("XX"),
                    has("GT"),
                    has("LT"),
                    has("CH"),
                    has("INCR"),
                );
                if nx && xx {
                    return Err(err("XX and NX options at the same time are not compatible"));
                }
                if ((gt || lt) && nx) || (gt && lt) {
                    return Err(err(
                        "GT, LT, and/or NX options at the same time are not compatible",
                    ));
                }
                if incr && pairs.len() > 1 {
                    return Err(err("INCR option supports a single increment-element pair"));
                }
                let scores = pairs
                    .iter()
                    .map(|(sc, _)| score(sc))
                    .collect::<Option<Vec<f64>>>()
                    .ok_or_else(|| err("value is not a valid float"))?;
                let exists = self.get(*db, *k).is_some();
                let (mut z, at) = self.zset(*db, *k)?;
                let none = if incr { Reply::Nil } else { Reply::Integer(0) };
                if !exists && xx {
                    return Ok(none);
                }
                let (mut added, mut updated, mut last) = (0, 0, None);
                for (&sc, (_, m)) in scores.iter().zip(pairs) {
                    let m = member(*m);
                    match z.get(&m).copied() {
                        Some(cur) => {
                            if nx {
                                continue;
                            }
                            let new = if incr { sc + cur } else { sc };
                            if new.is_nan() {
                                return Err(err("resulting score is not a number (NaN)"));
                            }
                            if (lt && new >= cur) || (gt && new <= cur) {
                                continue;
                            }
                            last = Some(new);
                            if new != cur {
                                z.insert(m, new);
                                updated += 1;
                            }
                        }
                        None if !xx => {
                            z.insert(m, sc);
                            added += 1;
                            last = Some(sc);
                        }
                        None => {}
                    }
                }
                self.store(*db, *k, Val::ZSet(z), at);
                if incr {
                    last.map_or(Reply::Nil, Reply::Double)
                } else {
                    int(if ch { added + updated } else { added })
                }
            }
            Op::ZIncrBy {
                db,
                key: k,
                incr,
                member: m,
            } => {
                let by = score(incr).ok_or_else(|| err("value is not a valid float"))?;
                let (mut z, at) = self.zset(*db, *k)?;
                let m = member(*m);
                let new = z.get(&m).map_or(by, |cur| cur + by);
                if new.is_nan() {
                    return Err(err("resulting score is not a number (NaN)"));
                }
                // A score equal to the current one changes nothing (as -0 for 0).
                if z.get(&m) != Some(&new) {
                    z.insert(m, new);
                }
                self.store(*db, *k, Val::ZSet(z), at);
                Reply::Double(new)
            }
            Op::ZRem {
                db,
                key: k,
                members,
            } => {
                let (mut z, at) = self.zset(*db, *k)?;
                let removed = members
                    .iter()
                    .filter(|&&m| z.remove(&member(m)).is_some())
                    .count();
                self.store(*db, *k, Val::ZSet(z), at);
                int(removed)
            }
            Op::ZRemRangeByScore {
                db,
                key: k,
                min,
                max,
            } => {
                let ((lo, lo_ex), (hi, hi_ex)) = (bound(min), bound(max));
                let (mut z, at) = self.zset(*db, *k)?;
                let before = z.len();
                z.retain(|_, &mut s| {
                    let above = if lo_ex { s > lo } else { s >= lo };
                    let below = if hi_ex { s < hi } else { s <= hi };
                    !(above && below)
                });
                let removed = before - z.len();
                self.store(*db, *k, Val::ZSet(z), at);
                int(removed)
            }
            Op::ZRemRangeByRank {
                db,
                key: k,
                start,
                stop,
            } => {
                let (mut z, at) = self.zset(*db, *k)?;
                let Some((first, last)) = rank_range(*start, *stop, z.len()) else {
                    return Ok(Reply::Integer(0));
                };
                for (m, _) in &zset_order(&z)[first..=last] {
                    z.remove(m);
                }
                self.store(*db, *k, Val::ZSet(z), at);
                int(last - first + 1)
            }
            Op::ZPopMin { db, key: k, count } => {
                if count.is_some_and(|c| c < 0) {
                    return Err(err("value is out of range, must be positive"));
                }
                let (mut z, at) = self.zset(*db, *k)?;
                let n = count.map_or(1, |c| c as usize);
                let popped: Vec<(Vec<u8>, f64)> = zset_order(&z).into_iter().take(n).collect();
                for (m, _) in &popped {
                    z.remove(m);
                }
                self.store(*db, *k, Val::ZSet(z), at);
                with_scores(&popped)
            }
            Op::ZRead { db, key: k, read } => {
                let (z, _) = self.zset(*db, *k)?;
                match read {
                    ZSetRead::Range {
                        start,
                        stop,
                        scores,
                    } => {
                        let order = zset_order(&z);
                        let items = match rank_range(*start, *stop, order.len()) {
                            Some((a, b)) => &order[a..=b],
                            None => &[][..],
                        };
                        if *scores {
                            with_scores(items)
                        } else {
                            Reply::Array(
                                items.iter().map(|(m, _)| Reply::Bulk(m.clone())).collect(),
                            )
                        }
                    }
                    ZSetRead::Score(m) => {
                        z.get(&member(*m)).map_or(Reply::Nil, |&s| Reply::Double(s))
                    }
                    ZSetRead::Card => int(z.len()),
                    ZSetRead::Rank(m) => {
                        let m = member(*m);
                        zset_order(&z)
                            .iter()
                            .position(|(x, _)| *x == m)
                            .map_or(Reply::Nil, int)
                    }
                }
            }
            Op::ZUnionStore {
                db,
                dst,
                keys,
                weights,
                aggregate,
            } => {
                // Sources are looked up (and type-checked) before the options are parsed; a
                // set counts as a sorted set whose scores are all 1.
                let mut sources = Vec::new();
                for &k in keys {
                    sources.push(match self.get(*db, k).map(|v| &v.val) {
                        None => BTreeMap::new(),
                        Some(Val::ZSet(z)) => z.clone(),
                        Some(Val::Set(s)) => s.iter().map(|m| (m.clone(), 1.0)).collect(),
                        Some(_) => return Err(wrongtype()),
                    });
                }
                let weights: Vec<f64> = match weights {
                    Some(w) => w
                        .iter()
                        .map(|w| score(w).ok_or_else(|| err("weight value is not a float")))
                        .collect::<Result<_, _>>()?,
                    None => vec![1.0; keys.len()],
                };
                // Redis adds the sources in an order of its choosing (by size); with at most two
                // sources, and no -0 score, SUM / MIN / MAX do not depend on it.
                let mut union: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
                for (src, w) in sources.iter().zip(&weights) {
                    for (m, &s) in src {
                        let mut v = w * s;
                        if v.is_nan() {
                            v = 0.0;
                        }
                        match union.get_mut(m) {
                            None => {
                                union.insert(m.clone(), v);
                            }
                            Some(t) => match aggregate.unwrap_or("SUM") {
                                "SUM" => {
                                    *t += v;
                                    if t.is_nan() {
                                        *t = 0.0;
                                    }
                                }
                                "MIN" => *t = if v < *t { v } else { *t },
                                "MAX" => *t = if v > *t { v } else { *t },
                                other => panic!("unknown aggregate {other}"),
                            },
                        }
                    }
                }
                let n = union.len();
                self.store(*db, *dst, Val::ZSet(union), 0);
                int(n)
            }
            Op::Push {
                db,
                key: k,
                left,
                only_if_exists,
                elements,
            } => {
                // The type is checked before LPUSHX looks at whether the key exists.
                let exists = self.get(*db, *k).is_some();
                let (mut l, at) = self.list(*db, *k)?;
                if *only_if_exists && !exists {
                    return Ok(Reply::Integer(0));
                }
                for e in elements {
                    if *left {
                        l.insert(0, e.clone());
                    } else {
                        l.push(e.clone());
                    }
                }
                let n = l.len();
                self.store(*db, *k, Val::List(l), at);
                int(n)
            }
            Op::Pop {
                db,
                key: k,
                left,
                count,
            } => {
                // The count is parsed before the key is looked up; a missing key answers a
                // nil array when a count is given (even 0), an existing one an empty array for 0.
                if count.is_some_and(|c| c < 0) {
                    return Err(err("value is out of range, must be positive"));
                }
                let exists = self.get(*db, *k).is_some();
                let (mut l, at) = self.list(*db, *k)?;
                if !exists {
                    return Ok(if count.is_some() {
                        Reply::NilArray
                    } else {
                        Reply::Nil
                    });
                }
                let reply = match count {
                    None => Reply::Bulk(pop(&mut l, *left)),
                    Some(c) => pop_n(&mut l, *left, *c as usize),
                };
                self.store(*db, *k, Val::List(l), at);
                reply
            }
            Op::LInsert {
                db,
                key: k,
                before,
                pivot,
                element: e,
            } => {
                // A missing key answers 0, a missing pivot -1; the first match from the head is
                // the pivot.
                let exists = self.get(*db, *k).is_some();
                let (mut l, at) = self.list(*db, *k)?;
                if !exists {
                    return Ok(Reply::Integer(0));
                }
                let Some(i) = l.iter().position(|x| *x == element(*pivot)) else {
                    return Ok(Reply::Integer(-1));
                };
                l.insert(if *before { i } else { i + 1 }, e.clone());
                let n = l.len();
                self.store(*db, *k, Val::List(l), at);
                int(n)
            }
            Op::LSet {
                db,
                key: k,
                index,
                element: e,
            } => {
                if self.get(*db, *k).is_none() {
                    return Err(err("no such key"));
                }
                let (mut l, at) = self.list(*db, *k)?;
                let len = l.len() as i64;
                let i = if *index < 0 { len + index } else { *index };
                if !(0..len).contains(&i) {
                    return Err(err("index out of range"));
                }
                l[i as usize] = e.clone();
                self.store(*db, *k, Val::List(l), at);
                ok()
            }
            Op::LRem {
                db,
                key: k,
                count,
                element: e,
            } => {
                // count > 0: the first `count` matches from the head; < 0: from the tail; 0: all.
                let (mut l, at) = self.list(*db, *k)?;
                let target = element(*e);
                let limit = if *count == 0 {
                    usize::MAX
                } else {
                    count.unsigned_abs() as usize
                };
                let mut matches: Vec<usize> = (0..l.len()).filter(|&i| l[i] == target).collect();
                if *count < 0 {
                    matches.reverse();
                }
                matches.truncate(limit);
                matches.sort_unstable();
                for &i in matches.iter().rev() {
                    l.remove(i);
                }
                self.store(*db, *k, Val::List(l), at);
                int(matches.len())
            }
            Op::LTrim {
                db,
                key: k,
                start,
                stop,
            } => {
                let (l, at) = self.list(*db, *k)?;
                let kept = match rank_range(*start, *stop, l.len()) {
                    Some((first, last)) => l[first..=last].to_vec(),
                    None => Vec::new(),
                };
                if !l.is_empty() {
                    self.store(*db, *k, Val::List(kept), at);
                }
                ok()
            }
            Op::LMove {
                db,
                src,
                dst,
                from_left,
                to_left,
                rpoplpush: _,
                block,
            } => {
                // The source is looked up and type-checked first: a missing one answers nil
                // (BLMOVE: times out, and answers a nil array) whatever the destination holds.
                let (mut from, from_at) = self.list(*db, *src)?;
                if from.is_empty() {
                    return Ok(if *block { Reply::NilArray } else { Reply::Nil });
                }
                let (mut to, to_at) = self.list(*db, *dst)?;
                let v = pop(&mut from, *from_left);
                let target = if src == dst { &mut from } else { &mut to };
                if *to_left {
                    target.insert(0, v.clone());
                } else {
                    target.push(v.clone());
                }
                self.store(*db, *src, Val::List(from), from_at);
                if src != dst {
                    self.store(*db, *dst, Val::List(to), to_at);
                }
                Reply::Bulk(v)
            }
            Op::LMPop {
                db,
                keys,
                left,
                count,
                block: _,
            } => {
                // Keys are tried in order: missing ones are skipped, the first list is popped
                // from, and a key of another type met before it is an error. Nothing: a nil
                // array (BLMPOP: after its timeout).
                if count.is_some_and(|c| c < 1) {
                    return Err(err("count should be greater than 0"));
                }
                let Some(k) = self.first_list(*db, keys)? else {
                    return Ok(Reply::NilArray);
                };
                let (mut l, at) = self.list(*db, k)?;
                let popped = pop_n(&mut l, *left, count.unwrap_or(1) as usize);
                self.store(*db, k, Val::List(l), at);
                Reply::Array(vec![Reply::Bulk(key(k)), popped])
            }
            Op::BPop { db, keys, left } => {
                let Some(k) = self.first_list(*db, keys)? else {
                    return Ok(Reply::NilArray);
                };
                let (mut l, at) = self.list(*db, k)?;
                let v = pop(&mut l, *left);
                self.store(*db, k, Val::List(l), at);
                Reply::Array(vec![Reply::Bulk(key(k)), Reply::Bulk(v)])
            }
            Op::LRead { db, key: k, read } => match *read {
                ListRead::Range { start, stop } => {
                    let (l, _) = self.list(*db, *k)?;
                    let items = match rank_range(start, stop, l.len()) {
                        Some((first, last)) => &l[first..=last],
                        None => &[][..],
                    };
                    Reply::Array(items.iter().cloned().map(Reply::Bulk).collect())
                }
                ListRead::Index(index) => {
                    let (l, _) = self.list(*db, *k)?;
                    let len = l.len() as i64;
                    let i = if index < 0 { len + index } else { index };
                    bulk_or_nil(usize::try_from(i).ok().and_then(|i| l.get(i)).cloned())
                }
                ListRead::Len => int(self.list(*db, *k)?.0.len()),
                ListRead::Pos {
                    element: e,
                    rank,
                    count,
                    maxlen,
                } => {
                    // Options first, in the order given; then the key (missing: nil, or an
                    // empty array with COUNT). A negative rank scans from the tail, MAXLEN
                    // bounds the elements compared (0: all), COUNT 0 returns every match.
                    if rank == Some(0) {
                        return Err(err(
                            "RANK can't be zero: use 1 to start from the first match, 2 from \
                             the second ... or use negative to start from the end of the list",
                        ));
                    }
                    if count.is_some_and(|c| c < 0) {
                        return Err(err("COUNT can't be negative"));
                    }
                    if maxlen.is_some_and(|m| m < 0) {
                        return Err(err("MAXLEN can't be negative"));
                    }
                    let (l, _) = self.list(*db, *k)?;
                    let rank = rank.unwrap_or(1);
                    let scanned = match maxlen {
                        Some(m) if m > 0 => m as usize,
                        _ => usize::MAX,
                    };
                    let mut order: Vec<usize> = (0..l.len()).collect();
                    if rank < 0 {
                        order.reverse();
                    }
                    let mut found = order
                        .into_iter()
                        .take(scanned)
                        .filter(|&i| l[i] == element(e))
                        .skip(rank.unsigned_abs() as usize - 1);
                    match count {
                        None => found.next().map_or(Reply::Nil, int),
                        Some(0) => Reply::Array(found.map(int).collect()),
                        Some(c) => Reply::Array(found.take(c as usize).map(int).collect()),
                    }
                }
            },
            Op::Advance(_)
            | Op::Reopen
            | Op::Crash { .. }
            | Op::PowerCutDuring { .. }
            | Op::Compact { .. }
            | Op::Save => {
                unreachable!("harness steps are not commands")
            }
        })
    }
}
