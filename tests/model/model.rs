//! The operations of the model test and the in-memory model they are checked against.
//!
//! The model is a `BTreeMap` from (database, key) to (value, expiry), written from the Redis
//! command reference, not from kvdb's code. Expiry is applied on every step: a key whose
//! expiry is at or before the model's clock is gone, which is what Redis guarantees to clients
//! whether the key was removed lazily, actively, or not yet at all.

use std::collections::BTreeMap;

use kvdb::Reply;

use crate::crashfs::Crash;

/// The key space: few keys, so commands collide; one longer than the keydir's inline limit.
pub const KEYS: [&str; 4] = ["a", "b", "c", "key-with-a-name-longer-than-inline"];
/// Databases the operations use; the others must stay empty.
pub const DBS: u8 = 3;

/// (database, key) -> value.
pub type Data = BTreeMap<(u8, Vec<u8>), Value>;

/// A string value and its absolute expiry (Unix ms, 0 = none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The string.
    pub bytes: Vec<u8>,
    /// Absolute expiry in Unix ms, 0 = none.
    pub expires_at: u64,
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
    /// FLUSHDB
    FlushDb { db: u8 },
    /// FLUSHALL
    FlushAll,
    /// Moves the manual clock forward.
    Advance(u64),
    /// Drops the database and opens it again.
    Reopen,
    /// Simulates a crash, reopens the image, continues on it.
    Crash { crash: Crash, seed: u64 },
    /// Plans a power cut at the `events`-th file event from now, usually inside a later
    /// command; the test reopens its image once that command returns.
    PowerCutDuring { events: u32, seed: u64 },
}

fn key(i: usize) -> Vec<u8> {
    KEYS[i].as_bytes().to_vec()
}

fn ok() -> Reply {
    Reply::Status("OK".into())
}

fn err(text: &str) -> Reply {
    Reply::Error(format!("ERR {text}"))
}

fn bulk_or_nil(v: Option<Vec<u8>>) -> Reply {
    v.map_or(Reply::Nil, Reply::Bulk)
}

/// Whether `s` is an integer as Redis's `string2ll` accepts it: exactly the canonical decimal
/// form of an `i64`.
fn as_i64(s: &[u8]) -> Option<i64> {
    let n: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    (n.to_string().as_bytes() == s).then_some(n)
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
            Op::FlushDb { db } => (*db, vec![s("FLUSHDB")]),
            Op::FlushAll => (0, vec![s("FLUSHALL")]),
            Op::Advance(_) | Op::Reopen | Op::Crash { .. } | Op::PowerCutDuring { .. } => {
                return None;
            }
        })
    }
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

    /// Stores `bytes` with `expires_at`; an expiry already past deletes the key instead.
    fn put(&mut self, db: u8, k: usize, bytes: Vec<u8>, expires_at: u64) {
        if expires_at != 0 && expires_at <= self.now {
            self.data.remove(&(db, key(k)));
        } else {
            self.data.insert((db, key(k)), Value { bytes, expires_at });
        }
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
        match op {
            Op::Set {
                db,
                key: k,
                value,
                cond,
                get,
                ttl,
            } => {
                let current = self.get(*db, *k).cloned();
                let old = current.as_ref().map(|v| v.bytes.clone());
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
            Op::Get { db, key: k } => bulk_or_nil(self.get(*db, *k).map(|v| v.bytes.clone())),
            Op::Append { db, key: k, value } => {
                let (mut bytes, at) = self
                    .get(*db, *k)
                    .map_or((Vec::new(), 0), |v| (v.bytes.clone(), v.expires_at));
                bytes.extend_from_slice(value);
                let len = bytes.len() as i64;
                self.put(*db, *k, bytes, at);
                Reply::Integer(len)
            }
            Op::IncrBy { db, key: k, delta } => {
                let (n, at) = match self.get(*db, *k) {
                    Some(v) => match as_i64(&v.bytes) {
                        Some(n) => (n, v.expires_at),
                        None => return err("value is not an integer or out of range"),
                    },
                    None => (0, 0),
                };
                let Some(next) = n.checked_add(*delta) else {
                    return err("increment or decrement would overflow");
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
                let current = self.get(*db, *k).cloned();
                if patch.is_empty() {
                    return Reply::Integer(current.map_or(0, |v| v.bytes.len() as i64));
                }
                let (mut bytes, at) = current.map_or((Vec::new(), 0), |v| (v.bytes, v.expires_at));
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
                    return err("no such key");
                };
                if src == dst {
                    return if *nx { Reply::Integer(0) } else { ok() };
                }
                if *nx && self.get(*db, *dst).is_some() {
                    return Reply::Integer(0);
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
                    return err("source and destination objects are the same");
                }
                let Some(value) = self.get(*db, *src).cloned() else {
                    return Reply::Integer(0);
                };
                if !replace && self.get(to, *dst).is_some() {
                    return Reply::Integer(0);
                }
                self.data.insert((to, key(*dst)), value);
                Reply::Integer(1)
            }
            Op::Move { db, key: k, dst_db } => {
                if db == dst_db {
                    return err("source and destination objects are the same");
                }
                let Some(value) = self.get(*db, *k).cloned() else {
                    return Reply::Integer(0);
                };
                if self.get(*dst_db, *k).is_some() {
                    return Reply::Integer(0);
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
                bulk_or_nil(self.data.remove(&(*db, key(*k))).map(|v| v.bytes))
            }
            Op::GetEx { db, key: k, ttl } => {
                let Some(value) = self.get(*db, *k).cloned() else {
                    return Reply::Nil;
                };
                match ttl {
                    TtlArg::None => {}
                    TtlArg::Keep => self.put(*db, *k, value.bytes.clone(), 0),
                    other => {
                        let at = self.resolve(*other).unwrap_or(0);
                        self.put(*db, *k, value.bytes.clone(), at);
                    }
                }
                Reply::Bulk(value.bytes)
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
                    return Reply::Integer(0);
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
                    return Reply::Integer(0);
                }
                if at <= self.now as i64 {
                    self.data.remove(&(*db, key(*k)));
                } else {
                    self.put(*db, *k, value.bytes, at as u64);
                }
                Reply::Integer(1)
            }
            Op::Persist { db, key: k } => match self.get(*db, *k).cloned() {
                Some(v) if v.expires_at != 0 => {
                    self.put(*db, *k, v.bytes, 0);
                    Reply::Integer(1)
                }
                _ => Reply::Integer(0),
            },
            Op::FlushDb { db } => {
                self.data.retain(|(d, _), _| d != db);
                ok()
            }
            Op::FlushAll => {
                self.data.clear();
                ok()
            }
            Op::Advance(_) | Op::Reopen | Op::Crash { .. } | Op::PowerCutDuring { .. } => {
                unreachable!("harness steps are not commands")
            }
        }
    }
}
