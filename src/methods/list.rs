//! `Db`'s typed methods for lists.
//!
//! LSET, which Redis can refuse for a reason [`crate::Error`] has no variant for, returns
//! `Result<Result<(), ListError>>`: the outer error is the store's (I/O, WRONGTYPE, no such
//! key), the inner one the command's refusal.
//!
//! The blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) block the calling thread
//! until a push from another thread or handle lets them pop, or until `timeout` passes (`None`:
//! wait forever; a zero duration tries once). They are served in the order they blocked, in
//! the batch of the command that filled the key (see [`crate::blocking`]), and return `None`
//! on timeout.

use std::time::Duration;

use super::delegate;
use crate::db::{Db, Tx};
use crate::error::{Error, Result};
use crate::types::list::{End, KeyValues, ListError, Pivot};

delegate! {
    /// `LPUSH key element [element ...]`: the new length (the last element given ends up
    /// first).
    fn lpush(key: &[u8], values: &[&[u8]]) -> u64;
    /// `RPUSH key element [element ...]`: the new length.
    fn rpush(key: &[u8], values: &[&[u8]]) -> u64;
    /// `LPUSHX key element [element ...]`: the new length, 0 (and nothing pushed) if the key
    /// does not exist.
    fn lpushx(key: &[u8], values: &[&[u8]]) -> u64;
    /// `RPUSHX key element [element ...]`: the new length, 0 if the key does not exist.
    fn rpushx(key: &[u8], values: &[&[u8]]) -> u64;
    /// `LPOP key`: the head, removed; `None` if the key does not exist.
    fn lpop(key: &[u8]) -> Option<Vec<u8>>;
    /// `RPOP key`: the tail, removed; `None` if the key does not exist.
    fn rpop(key: &[u8]) -> Option<Vec<u8>>;
    /// `LPOP key count`: up to `count` elements from the head; `None` if the key does not
    /// exist.
    fn lpop_count(key: &[u8], count: u64) -> Option<Vec<Vec<u8>>>;
    /// `RPOP key count`: up to `count` elements from the tail, the last first; `None` if the
    /// key does not exist.
    fn rpop_count(key: &[u8], count: u64) -> Option<Vec<Vec<u8>>>;
    /// `LLEN key`: the number of elements.
    fn llen(key: &[u8]) -> u64;
    /// `LRANGE key start stop`: the elements from `start` to `stop` inclusive (negative
    /// indexes count from the tail).
    fn lrange(key: &[u8], start: i64, stop: i64) -> Vec<Vec<u8>>;
    /// `LINDEX key index`: the element at `index`, `None` if out of range.
    fn lindex(key: &[u8], index: i64) -> Option<Vec<u8>>;
    /// `LSET key index element`: `Err(NoSuchKey)` if the key does not exist, the inner error
    /// if the index is out of range.
    fn lset(key: &[u8], index: i64, value: &[u8]) -> std::result::Result<(), ListError>;
    /// `LINSERT key BEFORE|AFTER pivot element`: the new length, -1 without the pivot, 0
    /// without the key.
    fn linsert(key: &[u8], place: Pivot, pivot: &[u8], value: &[u8]) -> i64;
    /// `LREM key count element`: how many elements equal to `value` were removed (the first
    /// `count`, the last `-count`, or all for 0).
    fn lrem(key: &[u8], count: i64, value: &[u8]) -> u64;
    /// `LTRIM key start stop`: keeps only the elements from `start` to `stop`.
    fn ltrim(key: &[u8], start: i64, stop: i64) -> ();
    /// `LPOS key element [RANK rank] [MAXLEN len]`: the index of the |rank|-th match (from
    /// the tail for a negative rank), within the first `maxlen` elements looked at (0: all).
    fn lpos(key: &[u8], value: &[u8], rank: i64, maxlen: u64) -> Option<u64>;
    /// `LPOS key element [RANK rank] COUNT num-matches [MAXLEN len]`: up to `count` indexes
    /// (0: all) of matches from the |rank|-th on.
    fn lpos_count(key: &[u8], value: &[u8], rank: i64, count: u64, maxlen: u64) -> Vec<u64>;
    /// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`: the element moved, `None` if the
    /// source does not exist.
    fn lmove(src: &[u8], dst: &[u8], from: End, to: End) -> Option<Vec<u8>>;
    /// `RPOPLPUSH source destination`: the element moved from the tail of `src` to the head of
    /// `dst`, `None` if the source does not exist.
    fn rpoplpush(src: &[u8], dst: &[u8]) -> Option<Vec<u8>>;
    /// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`: the first key holding a list
    /// and up to `count` elements popped from it.
    fn lmpop(keys: &[&[u8]], end: End, count: u64) -> Option<KeyValues>;
}

impl Db {
    /// The blocking form of [`Db::lmpop`]: pops up to `count` elements from `end` of the first
    /// of `keys` holding a list, or blocks until one is filled.
    fn blocking_multi_pop(
        &self,
        keys: &[&[u8]],
        end: End,
        count: u64,
        timeout: Option<Duration>,
    ) -> Result<Option<KeyValues>> {
        self.blocking_pop(
            keys,
            timeout,
            |tx| tx.lmpop(keys, end, count),
            move |tx: &mut Tx<'_>, key: &[u8]| {
                Ok(tx
                    .pop_list(key, end, count)?
                    .map(|values| (key.to_vec(), values)))
            },
        )
    }

    /// `BLPOP key [key ...] timeout`: the first key holding a list and its head, removed;
    /// blocks while every key is empty. `None` on timeout.
    ///
    /// # Errors
    /// `WrongType` for the first key of another type met before a list (before blocking).
    pub fn blpop(
        &self,
        keys: &[&[u8]],
        timeout: Option<Duration>,
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .blocking_multi_pop(keys, End::Left, 1, timeout)?
            .and_then(|(key, values)| Some((key, values.into_iter().next()?))))
    }

    /// `BRPOP key [key ...] timeout`: as [`Db::blpop`], from the tail.
    ///
    /// # Errors
    /// As [`Db::blpop`].
    pub fn brpop(
        &self,
        keys: &[&[u8]],
        timeout: Option<Duration>,
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .blocking_multi_pop(keys, End::Right, 1, timeout)?
            .and_then(|(key, values)| Some((key, values.into_iter().next()?))))
    }

    /// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`: as [`Db::lmpop`],
    /// blocking while every key is empty. `None` on timeout.
    ///
    /// # Errors
    /// As [`Db::blpop`].
    pub fn blmpop(
        &self,
        keys: &[&[u8]],
        end: End,
        count: u64,
        timeout: Option<Duration>,
    ) -> Result<Option<KeyValues>> {
        self.blocking_multi_pop(keys, end, count, timeout)
    }

    /// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`: as [`Db::lmove`], blocking
    /// while the source is empty. `None` on timeout.
    ///
    /// # Errors
    /// `WrongType` if the source holds another type, or if the destination does when the
    /// move happens (nothing is popped then: as in Redis, a blocked move whose destination
    /// has become another type fails when its source is filled).
    pub fn blmove(
        &self,
        src: &[u8],
        dst: &[u8],
        from: End,
        to: End,
        timeout: Option<Duration>,
    ) -> Result<Option<Vec<u8>>> {
        let target = dst.to_vec();
        let moved = self.blocking_pop(
            &[src],
            timeout,
            |tx| Ok(tx.lmove(src, dst, from, to)?.map(Ok)),
            move |tx: &mut Tx<'_>, key: &[u8]| {
                if !tx.holds_list(key)? {
                    return Ok(None);
                }
                match tx.lmove(key, &target, from, to) {
                    Ok(moved) => Ok(moved.map(Ok)),
                    // The source is a list: the destination is of another type. The waiter
                    // gets the error, the command that filled the source goes on.
                    Err(Error::WrongType) => Ok(Some(Err(Error::WrongType))),
                    Err(e) => Err(e),
                }
            },
        )?;
        moved.transpose()
    }

    /// `BRPOPLPUSH source destination timeout`: [`Db::blmove`] from the tail of `src` to the
    /// head of `dst`.
    ///
    /// # Errors
    /// As [`Db::blmove`].
    pub fn brpoplpush(
        &self,
        src: &[u8],
        dst: &[u8],
        timeout: Option<Duration>,
    ) -> Result<Option<Vec<u8>>> {
        self.blmove(src, dst, End::Right, End::Left, timeout)
    }
}
