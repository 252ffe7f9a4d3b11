//! `Db`'s typed methods for sorted sets: the single-key commands and the pops (ZMPOP, and
//! the blocking BZPOPMIN, BZPOPMAX and BZMPOP, which block the calling thread).
//!
//! ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX and ZREVRANGEBYLEX are spellings of
//! ZRANGE: their methods build the [`ZRangeSpec`] and run [`Tx::zrange`].

use std::time::Duration;

use super::delegate;
use crate::{
    db::{Db, Tx},
    error::Result,
    types::zset::{
        KeyPop, KeyScoredMember, LexRange, ScoreRange, ScoredMember, ZAddOptions, ZAddOutcome,
        ZIncrOutcome, ZPopEnd, ZRangeBy, ZRangeSpec, ZScanPage,
    },
};

delegate! {
    /// `ZADD key [NX | XX] [GT | LT] score member [score member ...]`: how many members were
    /// added and how many changed score (CH answers the sum).
    fn zadd(key: &[u8], options: ZAddOptions, pairs: &[(f64, &[u8])]) -> ZAddOutcome;
    /// `ZADD key [NX | XX] [GT | LT] INCR increment member`: the new score, or why there is
    /// none.
    fn zadd_incr(key: &[u8], options: ZAddOptions, increment: f64, member: &[u8]) -> ZIncrOutcome;
    /// `ZINCRBY key increment member`: the new score (or [`ZIncrOutcome::NotANumber`]).
    fn zincrby(key: &[u8], increment: f64, member: &[u8]) -> ZIncrOutcome;
    /// `ZREM key member [member ...]`: how many members were removed.
    fn zrem(key: &[u8], members: &[&[u8]]) -> u64;
    /// `ZSCORE key member`: the score, `None` if the member or the key is missing.
    fn zscore(key: &[u8], member: &[u8]) -> Option<f64>;
    /// `ZMSCORE key member [member ...]`: each member's score, `None` where missing.
    fn zmscore(key: &[u8], members: &[&[u8]]) -> Vec<Option<f64>>;
    /// `ZCARD key`: the number of members.
    fn zcard(key: &[u8]) -> u64;
    /// `ZCOUNT key min max`: how many members have a score in `range`.
    fn zcount(key: &[u8], range: ScoreRange) -> u64;
    /// `ZLEXCOUNT key min max`: how many members are in the lex `range`.
    fn zlexcount(key: &[u8], range: LexRange<'_>) -> u64;
    /// `ZRANK key member [WITHSCORE]`: the ascending rank and the score, `None` if missing.
    fn zrank(key: &[u8], member: &[u8]) -> Option<(u64, f64)>;
    /// `ZREVRANK key member [WITHSCORE]`: the descending rank and the score, `None` if missing.
    fn zrevrank(key: &[u8], member: &[u8]) -> Option<(u64, f64)>;
    /// `ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count]`: the members
    /// selected, with their scores, in order.
    fn zrange(key: &[u8], spec: &ZRangeSpec<'_>) -> Vec<ScoredMember>;
    /// `ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]`: how many
    /// members `dst` now holds (0 deletes it).
    fn zrangestore(dst: &[u8], src: &[u8], spec: &ZRangeSpec<'_>) -> u64;
    /// `ZREMRANGEBYRANK key start stop`: how many members were removed.
    fn zremrangebyrank(key: &[u8], start: i64, stop: i64) -> u64;
    /// `ZREMRANGEBYSCORE key min max`: how many members were removed.
    fn zremrangebyscore(key: &[u8], range: ScoreRange) -> u64;
    /// `ZREMRANGEBYLEX key min max`: how many members were removed.
    fn zremrangebylex(key: &[u8], range: LexRange<'_>) -> u64;
    /// `ZPOPMIN key [count]`: removes and returns up to `count` lowest members, lowest first.
    fn zpopmin(key: &[u8], count: u64) -> Vec<ScoredMember>;
    /// `ZPOPMAX key [count]`: removes and returns up to `count` highest members, highest first.
    fn zpopmax(key: &[u8], count: u64) -> Vec<ScoredMember>;
    /// `ZMPOP numkeys key [key ...] <MIN | MAX> [COUNT count]`: the first of `keys` that
    /// exists and up to `count` members popped from its `end`; `None` if no key exists.
    fn zmpop(keys: &[&[u8]], end: ZPopEnd, count: u64) -> Option<KeyPop>;
    /// `ZRANDMEMBER key`: a random member with its score; `None` if the key is missing.
    fn zrandmember(key: &[u8]) -> Option<ScoredMember>;
    /// `ZRANDMEMBER key count [WITHSCORES]`: up to `count` distinct random members, or for a
    /// negative count `-count` picks that may repeat (at most
    /// [`crate::types::zset::MAX_RANDOM_PICKS`]).
    fn zrandmember_count(key: &[u8], count: i64) -> Vec<ScoredMember>;
    /// `ZSCAN key cursor [MATCH pattern] [COUNT count]`: one page of members with scores.
    fn zscan(key: &[u8], cursor: u64, pattern: Option<&[u8]>, count: usize) -> ZScanPage;
}

impl Db {
    /// `BZMPOP timeout numkeys key [key ...] <MIN | MAX> [COUNT count]`: as [`Db::zmpop`], but
    /// while no key exists, blocks this thread until a command fills one of them (clients
    /// blocked on the same key are served in the order they blocked) or `timeout` passes
    /// (`None`: wait forever). `None` on timeout.
    ///
    /// # Errors
    /// `WrongType` if the first existing key holds another type (before blocking; a key
    /// that later receives another type leaves the caller blocked).
    pub fn bzmpop(
        &self,
        keys: &[&[u8]],
        end: ZPopEnd,
        count: u64,
        timeout: Option<Duration>,
    ) -> Result<Option<KeyPop>> {
        self.blocking_pop(
            keys,
            timeout,
            |tx| tx.zmpop(keys, end, count),
            move |tx: &mut Tx<'_>, key: &[u8]| {
                Ok(tx
                    .zpop_for_waiter(key, end, count)?
                    .map(|members| (key.to_vec(), members)))
            },
        )
    }

    /// `BZPOPMIN key [key ...] timeout`: the first of `keys` that exists, with its lowest
    /// member and score, removed; blocks while no key exists, as [`Db::bzmpop`]. `None` on
    /// timeout.
    ///
    /// # Errors
    /// As [`Db::bzmpop`].
    pub fn bzpopmin(
        &self,
        keys: &[&[u8]],
        timeout: Option<Duration>,
    ) -> Result<Option<KeyScoredMember>> {
        self.bzpop(keys, ZPopEnd::Min, timeout)
    }

    /// `BZPOPMAX key [key ...] timeout`: as [`Db::bzpopmin`], with the highest member.
    ///
    /// # Errors
    /// As [`Db::bzmpop`].
    pub fn bzpopmax(
        &self,
        keys: &[&[u8]],
        timeout: Option<Duration>,
    ) -> Result<Option<KeyScoredMember>> {
        self.bzpop(keys, ZPopEnd::Max, timeout)
    }

    fn bzpop(
        &self,
        keys: &[&[u8]],
        end: ZPopEnd,
        timeout: Option<Duration>,
    ) -> Result<Option<KeyScoredMember>> {
        Ok(self
            .bzmpop(keys, end, 1, timeout)?
            .and_then(|(key, members)| {
                let (member, score) = members.into_iter().next()?;
                Some((key, member, score))
            }))
    }

    /// `ZREVRANGE key start stop`: ranks counted from the highest score.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zrevrange(&self, key: &[u8], start: i64, stop: i64) -> Result<Vec<ScoredMember>> {
        let spec = ZRangeSpec {
            rev: true,
            ..ZRangeSpec::rank(start, stop)
        };
        self.zrange(key, &spec)
    }

    /// `ZRANGEBYSCORE key min max [LIMIT offset count]`, ascending.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zrangebyscore(
        &self,
        key: &[u8],
        range: ScoreRange,
        limit: Option<(i64, i64)>,
    ) -> Result<Vec<ScoredMember>> {
        self.zrange(key, &by(ZRangeBy::Score(range), false, limit))
    }

    /// `ZREVRANGEBYSCORE key max min [LIMIT offset count]`, descending.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zrevrangebyscore(
        &self,
        key: &[u8],
        range: ScoreRange,
        limit: Option<(i64, i64)>,
    ) -> Result<Vec<ScoredMember>> {
        self.zrange(key, &by(ZRangeBy::Score(range), true, limit))
    }

    /// `ZRANGEBYLEX key min max [LIMIT offset count]`: members only, ascending.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zrangebylex(
        &self,
        key: &[u8],
        range: LexRange<'_>,
        limit: Option<(i64, i64)>,
    ) -> Result<Vec<Vec<u8>>> {
        let members = self.zrange(key, &by(ZRangeBy::Lex(range), false, limit))?;
        Ok(members.into_iter().map(|(m, _)| m).collect())
    }

    /// `ZREVRANGEBYLEX key max min [LIMIT offset count]`: members only, descending.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zrevrangebylex(
        &self,
        key: &[u8],
        range: LexRange<'_>,
        limit: Option<(i64, i64)>,
    ) -> Result<Vec<Vec<u8>>> {
        let members = self.zrange(key, &by(ZRangeBy::Lex(range), true, limit))?;
        Ok(members.into_iter().map(|(m, _)| m).collect())
    }
}

fn by(by: ZRangeBy<'_>, rev: bool, limit: Option<(i64, i64)>) -> ZRangeSpec<'_> {
    ZRangeSpec { by, rev, limit }
}
