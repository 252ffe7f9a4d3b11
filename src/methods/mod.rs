//! `Db`'s typed methods: each runs the [`Tx`] method of the same name in its own atomic
//! operation (see [`Db::tx`] to combine several). Strings and the keyspace here, one file per
//! collection family.

mod hash;
mod list;
mod set;
mod zset;
mod zset_algebra;

use crate::db::{Db, Tx};
use crate::error::Result;
use crate::keydir::ValueType;
use crate::types::keys::Ttl;
use crate::types::string::SetOutcome;
use crate::types::{ExpireCondition, Expiry, ScanPage, SetOptions};

/// `delegate! { /// doc\n fn name(arg: Type, ...) -> Ret; ... }` defines `Db::name`, running
/// `Tx::name` in its own transaction.
macro_rules! delegate {
    ($( $(#[$doc:meta])* fn $name:ident( $($arg:ident : $ty:ty),* ) -> $ret:ty; )*) => {
        impl Db {
            $(
                $(#[$doc])*
                pub fn $name(&self, $($arg: $ty),*) -> Result<$ret> {
                    self.tx(|tx: &mut Tx<'_>| tx.$name($($arg),*))
                }
            )*
        }
    };
}
pub(crate) use delegate;

delegate! {
    /// `GET key`: the value, `None` if the key does not exist.
    fn get(key: &[u8]) -> Option<Vec<u8>>;
    /// `SET key value [options]`.
    fn set(key: &[u8], value: &[u8], options: SetOptions) -> SetOutcome;
    /// `GETDEL key`.
    fn getdel(key: &[u8]) -> Option<Vec<u8>>;
    /// `GETEX key [expiry]`: `None` leaves the TTL, `Some(None)` persists, `Some(Some(e))` sets.
    fn getex(key: &[u8], expiry: Option<Option<Expiry>>) -> Option<Vec<u8>>;
    /// `MSET key value [key value ...]`.
    fn mset(pairs: &[(&[u8], &[u8])]) -> ();
    /// `MSETNX key value [key value ...]`: true if all were set.
    fn msetnx(pairs: &[(&[u8], &[u8])]) -> bool;
    /// `MGET key [key ...]`.
    fn mget(keys: &[&[u8]]) -> Vec<Option<Vec<u8>>>;
    /// `APPEND key value`: the new length.
    fn append(key: &[u8], suffix: &[u8]) -> u64;
    /// `STRLEN key`.
    fn strlen(key: &[u8]) -> u64;
    /// `GETRANGE key start end`.
    fn getrange(key: &[u8], start: i64, end: i64) -> Vec<u8>;
    /// `SETRANGE key offset value`: the new length.
    fn setrange(key: &[u8], offset: i64, patch: &[u8]) -> u64;
    /// `INCRBY key delta` (INCR, DECR and DECRBY too): the new value.
    fn incr_by(key: &[u8], delta: i64) -> i64;
    /// `INCRBYFLOAT key delta`: the new value as Redis formats it.
    fn incr_by_float(key: &[u8], delta: &[u8]) -> Vec<u8>;
    /// `DEL key [key ...]`: how many existed.
    fn del(keys: &[&[u8]]) -> u64;
    /// `EXISTS key [key ...]`.
    fn exists(keys: &[&[u8]]) -> u64;
    /// `TOUCH key [key ...]`.
    fn touch(keys: &[&[u8]]) -> u64;
    /// `TYPE key`: `None` if missing.
    fn value_type(key: &[u8]) -> Option<ValueType>;
    /// `RENAME` (or `RENAMENX` with `only_if_absent`): false if NX prevented it.
    fn rename(src: &[u8], dst: &[u8], only_if_absent: bool) -> bool;
    /// `COPY source destination [DB db] [REPLACE]`.
    fn copy(src: &[u8], dst: &[u8], dst_db: Option<u8>, replace: bool) -> bool;
    /// `MOVE key db`.
    fn move_key(key: &[u8], dst_db: u8) -> bool;
    /// `KEYS pattern`.
    fn keys(pattern: &[u8]) -> Vec<Vec<u8>>;
    /// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`.
    fn scan(cursor: u64, pattern: Option<&[u8]>, count: usize, vtype: Option<&str>) -> ScanPage;
    /// `FLUSHDB`.
    fn flushdb() -> ();
    /// `FLUSHALL`.
    fn flushall() -> ();
    /// `RANDOMKEY`.
    fn randomkey() -> Option<Vec<u8>>;
    /// `PEXPIREAT key ms [NX|XX|GT|LT]`: whether the expiry was set (a past time deletes).
    fn expire_at(key: &[u8], at_ms: i64, condition: ExpireCondition) -> bool;
    /// The TTL of `key` (TTL, PTTL, EXPIRETIME, PEXPIRETIME).
    fn ttl(key: &[u8]) -> Ttl;
    /// `PERSIST key`.
    fn persist(key: &[u8]) -> bool;
}

impl Db {
    /// `INCR key`.
    pub fn incr(&self, key: &[u8]) -> Result<i64> {
        self.incr_by(key, 1)
    }

    /// `EXPIRE key` with a relative duration: whether it was set.
    pub fn expire(&self, key: &[u8], ttl: std::time::Duration) -> Result<bool> {
        self.tx(|tx| {
            let at = Expiry::In(ttl).resolve(tx.now());
            tx.expire_at(
                key,
                i64::try_from(at).unwrap_or(i64::MAX),
                ExpireCondition::Always,
            )
        })
    }

    /// `DBSIZE`.
    pub fn dbsize(&self) -> Result<u64> {
        self.tx(|tx| Ok(tx.dbsize()))
    }
}
