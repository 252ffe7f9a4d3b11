//! Redis sorted sets: the single-key commands and the pops (ZMPOP, and the blocking BZPOPMIN,
//! BZPOPMAX and BZMPOP), over the collection records (see [`crate::collection`]). The
//! commands that combine several keys (ZUNION, ZINTER, ZDIFF and their STORE forms) are in
//! [`super::zset_algebra`].
//!
//! A sorted set lives in RAM twice ([`ZSet`]): a member → score table, for ZSCORE, ZMSCORE and
//! the checks of ZADD, and an order-statistic index of (score, member), for everything that
//! has a rank or a range. Every rank and range below is found in O(log n) on the index:
//! a score bound or a lex bound is a monotonic predicate over the index's order, so
//! [`SortedIndex::partition_point`] finds where a range starts and ends, and
//! [`SortedIndex::range`] walks only the members returned. ZCOUNT and ZLEXCOUNT subtract two
//! positions without visiting anything.
//!
//! Lex ranges (ZRANGEBYLEX, ZLEXCOUNT...) assume, as Redis documents, that every member has the
//! same score, so that the (score, member) order is the members' byte order. On a sorted set
//! with several scores the result is unspecified, and differs from Redis's (whose listpack and
//! skiplist encodings already disagree with each other there).
//!
//! Writing: a new or changed score is one `Element` record (the score, see
//! [`crate::collection::encode_score`]); a removed member one `ElementDelete`, or one `Delete`
//! of the key when the last members go (ZREM, ZPOP*, ZREMRANGEBY*), as in Redis an emptied
//! sorted set disappears. A score that does not change writes nothing. Scores are never NaN.
//!
//! Pops of several keys take from the first key that exists, as Redis's `genericZpopCommand`
//! does: a key of another type there is WRONGTYPE even if a sorted set follows it. When every
//! key is missing, the blocking pops block (see [`crate::blocking`]): a client's pop then runs
//! in the transaction of the command that filled one of its keys, on that key alone.
//!
//! `-0`: Redis 7.0 keeps a sorted set of at most 128 members of at most 64 bytes in a listpack,
//! which writes an integral score as an integer and so stores `-0` as `0`; a larger one is a
//! skiplist, which keeps `-0` (it never converts back when it shrinks). kvdb has one encoding,
//! so `Encoding` tells which of the two Redis would be using when a score is stored, and
//! `-0` is stored as Redis would store it: judged by the set as it is now (exact unless a set
//! that once exceeded the limits shrank below them and holds no `-0`), then member by member
//! through the command, converting where Redis converts. A reply that echoes a computed score
//! (ZINCRBY, ZADD INCR) shows `-0` either way, as Redis's does.

use std::collections::{HashMap, HashSet};

use crate::collection::{SortedIndex, ZSet, encode_score};
use crate::db::Tx;
use crate::error::{Error, Result};
use crate::glob::glob_match;
use crate::keydir::ValueType;

/// Most picks one `ZRANDMEMBER key -count` returns: larger negative counts are refused
/// ([`Error::NotInteger`]) on a non-empty sorted set. Redis 7.0 streams any number of picks,
/// up to 2^63, which kvdb cannot build as one reply; 2^20 short members with their scores make
/// a reply of about 100 MB in RAM (the same cap as SRANDMEMBER's).
pub const MAX_RANDOM_PICKS: u64 = 1 << 20;

/// A member and its score, as the range commands return them.
pub type ScoredMember = (Vec<u8>, f64);

/// What ZMPOP and BZMPOP pop: the key popped from, and its members with their scores, in the
/// order they were popped.
pub type KeyPop = (Vec<u8>, Vec<ScoredMember>);

/// What BZPOPMIN and BZPOPMAX pop: the key, the member and its score.
pub type KeyScoredMember = (Vec<u8>, Vec<u8>, f64);

/// The end of a sorted set a pop takes from (ZMPOP's and BZMPOP's `MIN | MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZPopEnd {
    /// The lowest scores first.
    Min,
    /// The highest scores first.
    Max,
}

/// ZADD's conditions. Any combination is accepted here and means what Redis's `zsetAdd` makes
/// of it; the command refuses the incompatible ones (NX with XX, GT or LT; GT with LT).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZAddOptions {
    /// NX: only add new members, never update existing ones.
    pub nx: bool,
    /// XX: only update existing members, never add new ones.
    pub xx: bool,
    /// GT: only update an existing member if its new score is greater.
    pub gt: bool,
    /// LT: only update an existing member if its new score is less.
    pub lt: bool,
}

/// What [`Tx::zadd`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZAddOutcome {
    /// Members added.
    pub added: u64,
    /// Existing members whose score changed (ZADD CH answers `added + updated`). A member
    /// given twice counts once per change, as in Redis.
    pub updated: u64,
}

/// What an increment (ZINCRBY, ZADD INCR) did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZIncrOutcome {
    /// The member's score is now this, as computed: a `-0` stays `-0` here even where it is
    /// stored as `0` (see the module comment).
    Score(f64),
    /// NX, XX, GT or LT prevented the change (ZADD answers nil).
    Aborted,
    /// The sum is not a number (`inf` plus `-inf`): nothing was written (Redis answers `ERR
    /// resulting score is not a number (NaN)`).
    NotANumber,
}

/// A score interval, as ZRANGEBYSCORE's `min` and `max` give it (`(` makes a bound exclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    /// Lower bound.
    pub min: f64,
    /// Whether `min` itself is excluded.
    pub min_exclusive: bool,
    /// Upper bound.
    pub max: f64,
    /// Whether `max` itself is excluded.
    pub max_exclusive: bool,
}

impl ScoreRange {
    /// Every score: `-inf` to `+inf`, inclusive.
    pub fn all() -> ScoreRange {
        ScoreRange {
            min: f64::NEG_INFINITY,
            min_exclusive: false,
            max: f64::INFINITY,
            max_exclusive: false,
        }
    }

    /// The positions `start..end` of `order` whose scores are in the range (`start == end`
    /// when none is, including when `min > max`).
    fn span(&self, order: &SortedIndex) -> (usize, usize) {
        let start = order.partition_point(|score, _| {
            if self.min_exclusive {
                score <= self.min
            } else {
                score < self.min
            }
        });
        let end = order.partition_point(|score, _| {
            if self.max_exclusive {
                score < self.max
            } else {
                score <= self.max
            }
        });
        (start, end.max(start))
    }
}

/// One end of a lex range, as ZRANGEBYLEX's `min` and `max` spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexBound<'a> {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    /// `[member`: this member included.
    Inclusive(&'a [u8]),
    /// `(member`: this member excluded.
    Exclusive(&'a [u8]),
}

/// A range of members in byte order (meaningful when all members have the same score).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LexRange<'a> {
    /// Lower bound.
    pub min: LexBound<'a>,
    /// Upper bound.
    pub max: LexBound<'a>,
}

impl LexRange<'_> {
    /// The positions `start..end` of `order` whose members are in the range.
    fn span(&self, order: &SortedIndex) -> (usize, usize) {
        let len = order.len();
        let start = match self.min {
            LexBound::Min => 0,
            LexBound::Max => len,
            LexBound::Inclusive(min) => order.partition_point(|_, m| m < min),
            LexBound::Exclusive(min) => order.partition_point(|_, m| m <= min),
        };
        let end = match self.max {
            LexBound::Min => 0,
            LexBound::Max => len,
            LexBound::Inclusive(max) => order.partition_point(|_, m| m <= max),
            LexBound::Exclusive(max) => order.partition_point(|_, m| m < max),
        };
        (start, end.max(start))
    }
}

/// What a ZRANGE selects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZRangeBy<'a> {
    /// Ranks `start..=stop`, negative ones counting from the end (ZRANGE's default).
    Rank {
        /// First rank.
        start: i64,
        /// Last rank, included.
        stop: i64,
    },
    /// Scores (BYSCORE).
    Score(ScoreRange),
    /// Members in byte order (BYLEX).
    Lex(LexRange<'a>),
}

/// A ZRANGE request: `ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count]`, and
/// through it ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX and
/// ZRANGESTORE.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZRangeSpec<'a> {
    /// The range.
    pub by: ZRangeBy<'a>,
    /// REV: from the highest (score, member) down. Ranks then count from the top, and a
    /// score or lex range still gives its lower bound in `by`.
    pub rev: bool,
    /// LIMIT offset count, for score and lex ranges (ignored for ranks, which ZRANGE
    /// refuses with LIMIT): skip `offset` members of the range (a negative offset selects
    /// nothing, as in Redis), then return up to `count` (a negative count means all).
    pub limit: Option<(i64, i64)>,
}

impl ZRangeSpec<'_> {
    /// Ranks `start..=stop` in ascending order.
    pub fn rank(start: i64, stop: i64) -> ZRangeSpec<'static> {
        ZRangeSpec {
            by: ZRangeBy::Rank { start, stop },
            rev: false,
            limit: None,
        }
    }

    /// The positions of the index this selects, ascending, given its length; `rev` then
    /// walks them from the end.
    fn positions(&self, order: &SortedIndex) -> (usize, usize) {
        let len = order.len();
        let (lo, hi) = match self.by {
            ZRangeBy::Rank { start, stop } => {
                let Some((first, last)) = clamp_ranks(start, stop, len) else {
                    return (0, 0);
                };
                return if self.rev {
                    (len - 1 - last, len - first)
                } else {
                    (first, last + 1)
                };
            }
            ZRangeBy::Score(range) => range.span(order),
            ZRangeBy::Lex(range) => range.span(order),
        };
        let Some((offset, count)) = self.limit else {
            return (lo, hi);
        };
        let Ok(offset) = usize::try_from(offset) else {
            return (0, 0);
        };
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        if self.rev {
            let end = hi.saturating_sub(offset).max(lo);
            (end.saturating_sub(count).max(lo), end)
        } else {
            let start = lo.saturating_add(offset).min(hi);
            (start, start.saturating_add(count).min(hi))
        }
    }
}

/// Redis's rank arithmetic (ZRANGE, ZREMRANGEBYRANK): negative ranks count from the end, the
/// start is clamped to 0 and the stop to the last rank; `None` if that leaves nothing.
fn clamp_ranks(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let n = i64::try_from(len).unwrap_or(i64::MAX);
    let start = if start < 0 { start + n } else { start }.max(0);
    let stop = if stop < 0 { stop + n } else { stop };
    if start > stop || start >= n {
        return None;
    }
    let stop = stop.min(n - 1);
    Some((usize::try_from(start).ok()?, usize::try_from(stop).ok()?))
}

/// One page of a ZSCAN.
#[derive(Debug, Clone, PartialEq)]
pub struct ZScanPage {
    /// Cursor for the next call; 0 when the scan is complete.
    pub cursor: u64,
    /// Members found in this page, with their scores.
    pub members: Vec<ScoredMember>,
}

/// What Redis's `zsetAdd` makes of one score for a member whose score is `current`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    /// Nothing (NX on an existing member, XX on a new one, GT or LT not met).
    Nop,
    /// A new member with this score.
    Added(f64),
    /// An existing member's score becomes this.
    Updated(f64),
    /// An existing member keeps its score (which the command computed as this: `-0` for `0`).
    Unchanged(f64),
    /// The increment made NaN.
    NotANumber,
}

fn change(current: Option<f64>, score: f64, incr: bool, options: ZAddOptions) -> Change {
    let Some(current) = current else {
        return if options.xx {
            Change::Nop
        } else {
            Change::Added(score)
        };
    };
    if options.nx {
        return Change::Nop;
    }
    let score = if incr { current + score } else { score };
    if score.is_nan() {
        return Change::NotANumber;
    }
    if (options.lt && score >= current) || (options.gt && score <= current) {
        Change::Nop
    } else if score != current {
        Change::Updated(score)
    } else {
        Change::Unchanged(score)
    }
}

/// Redis's `zset-max-listpack-entries` default: a sorted set with more members is a skiplist.
const LISTPACK_MAX_ENTRIES: usize = 128;
/// Redis's `zset-max-listpack-value` default: a longer member makes the set a skiplist.
const LISTPACK_MAX_VALUE: usize = 64;

/// Which encoding Redis would hold a sorted set in while a command writes it, which decides
/// whether a `-0` score is stored as `0` (listpack) or kept (skiplist).
#[derive(Debug, Clone, Copy)]
struct Encoding {
    skiplist: bool,
    len: usize,
}

impl Encoding {
    /// A new, empty sorted set: a listpack, unless created for more than 128 members.
    fn new(size_hint: usize) -> Encoding {
        Encoding {
            skiplist: size_hint > LISTPACK_MAX_ENTRIES,
            len: 0,
        }
    }

    /// An existing sorted set, judged by its members now (O(1) when it has more than 128):
    /// a skiplist if it is too large for a listpack, or holds a `-0` no listpack can hold.
    fn of(zset: Option<&ZSet>) -> Encoding {
        let Some(zset) = zset else {
            return Encoding::new(0);
        };
        let len = zset.len();
        let negative_zero = |s: f64| s == 0.0 && s.is_sign_negative();
        Encoding {
            skiplist: len > LISTPACK_MAX_ENTRIES
                || zset
                    .scores
                    .iter()
                    .any(|(m, &(s, _))| m.len() > LISTPACK_MAX_VALUE || negative_zero(s)),
            len,
        }
    }

    /// A new member arrives: Redis converts to a skiplist first if the listpack would hold
    /// too many members or too long a one.
    fn insert(&mut self, member: &[u8]) {
        self.len += 1;
        if self.len > LISTPACK_MAX_ENTRIES || member.len() > LISTPACK_MAX_VALUE {
            self.skiplist = true;
        }
    }

    /// The score as Redis stores it now: a listpack turns `-0` into `0`.
    fn store(self, score: f64) -> f64 {
        if score == 0.0 && !self.skiplist {
            0.0
        } else {
            score
        }
    }
}

/// Copies members and scores out of the index.
fn collect<'a>(items: impl Iterator<Item = (f64, &'a [u8])>) -> Vec<ScoredMember> {
    items
        .map(|(score, member)| (member.to_vec(), score))
        .collect()
}

impl Tx<'_> {
    /// The sorted set of `key`, `None` if the key is missing; `WrongType` if it holds
    /// another type. Expires the key first if it is due.
    fn zset_of(&mut self, key: &[u8]) -> Result<Option<&ZSet>> {
        if self.typed_entry(key, ValueType::ZSet)?.is_none() {
            return Ok(None);
        }
        Ok(self.zset(key))
    }

    /// Writes `members` with these scores, as given (creating the key unless `exists`).
    fn put_scores(&mut self, key: &[u8], exists: bool, members: &[(&[u8], f64)]) -> Result<()> {
        let values: Vec<[u8; 8]> = members
            .iter()
            .map(|&(_, score)| encode_score(score))
            .collect();
        let elements: Vec<(&[u8], &[u8])> = members
            .iter()
            .zip(&values)
            .map(|(&(member, _), value)| (member, value.as_slice()))
            .collect();
        self.put_elements(key, ValueType::ZSet, exists, &elements)
    }

    /// Removes `members` (present, distinct) from `key`; the key goes with its last member.
    fn remove_members(&mut self, key: &[u8], members: &[ScoredMember]) -> Result<()> {
        let names: Vec<&[u8]> = members.iter().map(|(m, _)| m.as_slice()).collect();
        self.remove_elements(key, &names)
    }

    /// `ZADD key [NX | XX] [GT | LT] score member [score member ...]`: sets each member's
    /// score, in order (a member given twice ends with its last score). Writes one record per
    /// member whose score ends up changed.
    ///
    /// # Errors
    /// `NotFloat` if a score is NaN; `WrongType` if `key` holds another type.
    pub fn zadd(
        &mut self,
        key: &[u8],
        options: ZAddOptions,
        pairs: &[(f64, &[u8])],
    ) -> Result<ZAddOutcome> {
        if pairs.iter().any(|(score, _)| score.is_nan()) {
            return Err(Error::NotFloat);
        }
        let mut outcome = ZAddOutcome::default();
        let exists = self.typed_entry(key, ValueType::ZSet)?.is_some();
        if !exists && options.xx {
            return Ok(outcome);
        }
        // The members this command changes, in the order first touched: the score each had
        // before (None: new), the score computed last, and that score as stored.
        let mut changed: Vec<(&[u8], Option<f64>, f64, f64)> = Vec::new();
        let mut seen: HashMap<&[u8], usize> = HashMap::new();
        let zset = self.zset(key);
        let mut encoding = Encoding::of(zset);
        for &(score, member) in pairs {
            let slot = seen.get(member).copied();
            let current = match slot.and_then(|i| changed.get(i)) {
                Some(&(_, _, pending, _)) => Some(pending),
                None => zset.and_then(|z| z.score(member)),
            };
            let new = match change(current, score, false, options) {
                Change::Added(new) => {
                    outcome.added += 1;
                    encoding.insert(member);
                    new
                }
                Change::Updated(new) => {
                    outcome.updated += 1;
                    new
                }
                Change::Nop | Change::Unchanged(_) | Change::NotANumber => continue,
            };
            let stored = encoding.store(new);
            match slot.and_then(|i| changed.get_mut(i)) {
                Some(entry) => (entry.2, entry.3) = (new, stored),
                None => {
                    seen.insert(member, changed.len());
                    changed.push((member, current, new, stored));
                }
            }
        }
        // A member changed and changed back writes nothing. (Where Redis's skiplist would end
        // with `-0` for a `0`, or the reverse, kvdb keeps the old zero: the in-RAM index treats
        // the two as the same score, so the record could not change it.)
        let writes: Vec<(&[u8], f64)> = changed
            .into_iter()
            .filter(|&(_, before, _, stored)| before != Some(stored))
            .map(|(member, _, _, stored)| (member, stored))
            .collect();
        self.put_scores(key, exists, &writes)?;
        Ok(outcome)
    }

    /// `ZADD key [NX | XX] [GT | LT] INCR increment member`: adds `increment` to the member's
    /// score (a new member starts at 0), under ZADD's conditions.
    ///
    /// # Errors
    /// `NotFloat` if `increment` is NaN; `WrongType` if `key` holds another type. A NaN sum
    /// is not an error but [`ZIncrOutcome::NotANumber`].
    pub fn zadd_incr(
        &mut self,
        key: &[u8],
        options: ZAddOptions,
        increment: f64,
        member: &[u8],
    ) -> Result<ZIncrOutcome> {
        if increment.is_nan() {
            return Err(Error::NotFloat);
        }
        let exists = self.typed_entry(key, ValueType::ZSet)?.is_some();
        if !exists && options.xx {
            return Ok(ZIncrOutcome::Aborted);
        }
        let zset = self.zset(key);
        let mut encoding = Encoding::of(zset);
        let current = zset.and_then(|z| z.score(member));
        let score = match change(current, increment, true, options) {
            Change::Nop => return Ok(ZIncrOutcome::Aborted),
            Change::NotANumber => return Ok(ZIncrOutcome::NotANumber),
            Change::Unchanged(score) => return Ok(ZIncrOutcome::Score(score)),
            Change::Added(score) => {
                encoding.insert(member);
                score
            }
            Change::Updated(score) => score,
        };
        self.put_scores(key, exists, &[(member, encoding.store(score))])?;
        Ok(ZIncrOutcome::Score(score))
    }

    /// `ZINCRBY key increment member`: [`Tx::zadd_incr`] without conditions (never
    /// [`ZIncrOutcome::Aborted`]).
    ///
    /// # Errors
    /// As [`Tx::zadd_incr`].
    pub fn zincrby(&mut self, key: &[u8], increment: f64, member: &[u8]) -> Result<ZIncrOutcome> {
        self.zadd_incr(key, ZAddOptions::default(), increment, member)
    }

    /// `ZREM key member [member ...]`: how many of the members were removed.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zrem(&mut self, key: &[u8], members: &[&[u8]]) -> Result<u64> {
        let Some(zset) = self.zset_of(key)? else {
            return Ok(0);
        };
        let mut gone: HashSet<&[u8]> = HashSet::new();
        let present: Vec<&[u8]> = members
            .iter()
            .copied()
            .filter(|m| zset.scores.contains(m) && gone.insert(m))
            .collect();
        self.remove_elements(key, &present)?;
        Ok(present.len() as u64)
    }

    /// `ZSCORE key member`.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zscore(&mut self, key: &[u8], member: &[u8]) -> Result<Option<f64>> {
        Ok(self.zset_of(key)?.and_then(|z| z.score(member)))
    }

    /// `ZMSCORE key member [member ...]`: each member's score, `None` where absent.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zmscore(&mut self, key: &[u8], members: &[&[u8]]) -> Result<Vec<Option<f64>>> {
        let zset = self.zset_of(key)?;
        Ok(members
            .iter()
            .map(|m| zset.and_then(|z| z.score(m)))
            .collect())
    }

    /// `ZCARD key`.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zcard(&mut self, key: &[u8]) -> Result<u64> {
        Ok(self.zset_of(key)?.map_or(0, |z| z.len() as u64))
    }

    /// `ZCOUNT key min max`: members with a score in `range`, in O(log n).
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zcount(&mut self, key: &[u8], range: ScoreRange) -> Result<u64> {
        Ok(self.zset_of(key)?.map_or(0, |z| {
            let (start, end) = range.span(&z.order);
            (end - start) as u64
        }))
    }

    /// `ZLEXCOUNT key min max`: members in `range`, in O(log n).
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zlexcount(&mut self, key: &[u8], range: LexRange<'_>) -> Result<u64> {
        Ok(self.zset_of(key)?.map_or(0, |z| {
            let (start, end) = range.span(&z.order);
            (end - start) as u64
        }))
    }

    /// `ZRANK key member [WITHSCORE]`: the member's 0-based rank by ascending score, and its
    /// score; `None` if absent.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zrank(&mut self, key: &[u8], member: &[u8]) -> Result<Option<(u64, f64)>> {
        Ok(self.zset_of(key)?.and_then(|z| {
            let score = z.score(member)?;
            Some((z.order.rank(score, member)? as u64, score))
        }))
    }

    /// `ZREVRANK key member [WITHSCORE]`: the member's 0-based rank by descending score, and
    /// its score; `None` if absent.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zrevrank(&mut self, key: &[u8], member: &[u8]) -> Result<Option<(u64, f64)>> {
        Ok(self.zset_of(key)?.and_then(|z| {
            let score = z.score(member)?;
            let rank = z.order.rank(score, member)?;
            Some(((z.len() - 1 - rank) as u64, score))
        }))
    }

    /// `ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count]`: the members
    /// `spec` selects with their scores, in order (descending with REV). O(log n + m).
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zrange(&mut self, key: &[u8], spec: &ZRangeSpec<'_>) -> Result<Vec<ScoredMember>> {
        let Some(zset) = self.zset_of(key)? else {
            return Ok(Vec::new());
        };
        let (start, end) = spec.positions(&zset.order);
        let items = zset.order.range(start, end);
        Ok(if spec.rev {
            collect(items.rev())
        } else {
            collect(items)
        })
    }

    /// `ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]`: replaces
    /// `dst` (whatever it holds, its TTL dropped) with the range of `src`; an empty range
    /// deletes `dst`. Returns the number of members stored.
    ///
    /// A `-0` is stored as Redis 7.0 stores it: Redis creates the destination as a skiplist
    /// when it knows the result has more than 128 members (a range of ranks), as a listpack
    /// otherwise, and adds the members in the order of the range, converting at the 129th or
    /// at a member longer than 64 bytes.
    ///
    /// # Errors
    /// `WrongType` if `src` holds another type (`dst` is then left alone).
    pub fn zrangestore(&mut self, dst: &[u8], src: &[u8], spec: &ZRangeSpec<'_>) -> Result<u64> {
        let members = self.zrange(src, spec)?;
        let by_rank = matches!(spec.by, ZRangeBy::Rank { .. });
        let mut encoding = Encoding::new(if by_rank { members.len() } else { 0 });
        let values: Vec<[u8; 8]> = members
            .iter()
            .map(|(member, score)| {
                encoding.insert(member);
                encode_score(encoding.store(*score))
            })
            .collect();
        let elements: Vec<(&[u8], &[u8])> = members
            .iter()
            .zip(&values)
            .map(|((member, _), value)| (member.as_slice(), value.as_slice()))
            .collect();
        let db = self.db();
        self.replace_collection(db, dst, ValueType::ZSet, 0, &elements)?;
        Ok(members.len() as u64)
    }

    /// Removes the members at positions `start..end` of `key`'s index.
    fn remove_span(
        &mut self,
        key: &[u8],
        span: impl FnOnce(&ZSet) -> (usize, usize),
    ) -> Result<u64> {
        let Some(zset) = self.zset_of(key)? else {
            return Ok(0);
        };
        let (start, end) = span(zset);
        let members = collect(zset.order.range(start, end));
        self.remove_members(key, &members)?;
        Ok(members.len() as u64)
    }

    /// `ZREMRANGEBYRANK key start stop`: removes ranks `start..=stop` (negative from the end);
    /// returns how many.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zremrangebyrank(&mut self, key: &[u8], start: i64, stop: i64) -> Result<u64> {
        self.remove_span(key, |z| {
            clamp_ranks(start, stop, z.len()).map_or((0, 0), |(first, last)| (first, last + 1))
        })
    }

    /// `ZREMRANGEBYSCORE key min max`: removes the members with a score in `range`; returns
    /// how many.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zremrangebyscore(&mut self, key: &[u8], range: ScoreRange) -> Result<u64> {
        self.remove_span(key, |z| range.span(&z.order))
    }

    /// `ZREMRANGEBYLEX key min max`: removes the members in `range`; returns how many.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zremrangebylex(&mut self, key: &[u8], range: LexRange<'_>) -> Result<u64> {
        self.remove_span(key, |z| range.span(&z.order))
    }

    /// `ZPOPMIN key [count]`: removes and returns the `count` members with the lowest scores,
    /// lowest first.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zpopmin(&mut self, key: &[u8], count: u64) -> Result<Vec<ScoredMember>> {
        self.zpop(key, count, false)
    }

    /// `ZPOPMAX key [count]`: removes and returns the `count` members with the highest
    /// scores, highest first.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zpopmax(&mut self, key: &[u8], count: u64) -> Result<Vec<ScoredMember>> {
        self.zpop(key, count, true)
    }

    fn zpop(&mut self, key: &[u8], count: u64, max: bool) -> Result<Vec<ScoredMember>> {
        let Some(zset) = self.zset_of(key)? else {
            return Ok(Vec::new());
        };
        let len = zset.len();
        let n = usize::try_from(count).unwrap_or(usize::MAX).min(len);
        let members = if max {
            collect(zset.order.range(len - n, len).rev())
        } else {
            collect(zset.order.range(0, n))
        };
        self.remove_members(key, &members)?;
        Ok(members)
    }

    /// `ZMPOP numkeys key [key ...] <MIN | MAX> [COUNT count]`: pops up to `count` members
    /// from `end` of the first of `keys` that exists (a sorted set is never empty), in pop
    /// order; `None` if none exists. A `count` of 0 pops nothing but still names the key.
    ///
    /// # Errors
    /// `WrongType` if the first existing key holds another type (as in Redis, a sorted set
    /// after it is not looked at).
    pub fn zmpop(&mut self, keys: &[&[u8]], end: ZPopEnd, count: u64) -> Result<Option<KeyPop>> {
        for &key in keys {
            if self.typed_entry(key, ValueType::ZSet)?.is_some() {
                let members = self.zpop(key, count, end == ZPopEnd::Max)?;
                return Ok(Some((key.to_vec(), members)));
            }
        }
        Ok(None)
    }

    /// The pop of a client blocked by BZPOPMIN, BZPOPMAX or BZMPOP, once a command may have
    /// filled `key`: up to `count` members from `end`, or `None` if `key` is missing or holds
    /// another type (the client then stays blocked, as Redis leaves a client blocked on a key
    /// that receives another type).
    pub(crate) fn zpop_for_waiter(
        &mut self,
        key: &[u8],
        end: ZPopEnd,
        count: u64,
    ) -> Result<Option<Vec<ScoredMember>>> {
        match self.entry(key)? {
            Some(entry) if entry.vtype == ValueType::ZSet => {
                Ok(Some(self.zpop(key, count, end == ZPopEnd::Max)?))
            }
            _ => Ok(None),
        }
    }

    /// `ZRANDMEMBER key`: a member chosen uniformly at random, with its score.
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zrandmember(&mut self, key: &[u8]) -> Result<Option<ScoredMember>> {
        Ok(self.zset_of(key)?.and_then(|z| {
            let (score, member) = z.order.get(fastrand::usize(..z.len().max(1)))?;
            Some((member.to_vec(), score))
        }))
    }

    /// `ZRANDMEMBER key count`: with `count >= 0`, up to `count` distinct members at random
    /// (the whole set, in order, if `count` reaches its size); with `count < 0`, exactly
    /// `-count` independent picks, which may repeat.
    ///
    /// # Errors
    /// [`Error::NotInteger`] (out of range) for a negative `count` below
    /// `-`[`MAX_RANDOM_PICKS`] on a non-empty sorted set; `WrongType` if `key` holds another
    /// type.
    pub fn zrandmember_count(&mut self, key: &[u8], count: i64) -> Result<Vec<ScoredMember>> {
        let Some(zset) = self.zset_of(key)? else {
            return Ok(Vec::new());
        };
        let order = &zset.order;
        let len = order.len();
        let pick = |rank: usize| order.get(rank).map(|(s, m)| (m.to_vec(), s));
        if len == 0 {
            return Ok(Vec::new());
        }
        if count < 0 {
            let picks = count.unsigned_abs();
            if picks > MAX_RANDOM_PICKS {
                return Err(Error::NotInteger);
            }
            return Ok((0..picks)
                .filter_map(|_| pick(fastrand::usize(..len)))
                .collect());
        }
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        if n >= len {
            return Ok(collect(order.range(0, len)));
        }
        let ranks: Vec<usize> = if n * 3 > len {
            // A large share: a partial Fisher-Yates shuffle of all the ranks.
            let mut ranks: Vec<usize> = (0..len).collect();
            for i in 0..n {
                ranks.swap(i, fastrand::usize(i..len));
            }
            ranks.truncate(n);
            ranks
        } else {
            // A small share: draw until `n` distinct ranks came up (at most a third of the
            // draws repeat, so this ends quickly).
            let mut seen = HashSet::with_capacity(n);
            let mut ranks = Vec::with_capacity(n);
            while ranks.len() < n {
                let rank = fastrand::usize(..len);
                if seen.insert(rank) {
                    ranks.push(rank);
                }
            }
            ranks
        };
        Ok(ranks.into_iter().filter_map(pick).collect())
    }

    /// `ZSCAN key cursor [MATCH pattern] [COUNT count]`: visits the member table from
    /// `cursor` until `count` members were seen, and returns those matching `pattern`. A
    /// member present for the whole scan is returned exactly once (the cursor is a stable
    /// slot index, see [`crate::collection::ElementTable::scan`]).
    ///
    /// # Errors
    /// `WrongType` if `key` holds another type.
    pub fn zscan(
        &mut self,
        key: &[u8],
        cursor: u64,
        pattern: Option<&[u8]>,
        count: usize,
    ) -> Result<ZScanPage> {
        let Some(zset) = self.zset_of(key)? else {
            return Ok(ZScanPage {
                cursor: 0,
                members: Vec::new(),
            });
        };
        let (found, cursor) = zset.scores.scan(cursor, count);
        let members = found
            .into_iter()
            .filter(|(member, _)| pattern.is_none_or(|p| glob_match(p, member, false)))
            .map(|(member, &(score, _))| (member.to_vec(), score))
            .collect();
        Ok(ZScanPage { cursor, members })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Db;
    use std::collections::BTreeMap;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    fn everything() -> ZRangeSpec<'static> {
        ZRangeSpec::rank(0, -1)
    }

    #[test]
    fn a_sorted_set_of_ten_thousand_members_survives_a_reopen() -> TestResult {
        let dir = tempfile::tempdir()?;
        let before = {
            let db = Db::open(dir.path())?;
            let mut rng = fastrand::Rng::with_seed(7);
            let members: Vec<Vec<u8>> = (0..10_000)
                .map(|i| format!("member:{i}").into_bytes())
                .collect();
            // Added in batches; then some scores changed, some members removed and re-added,
            // so the log holds creations, updates and tombstones.
            for chunk in members.chunks(500) {
                let scores: Vec<f64> = chunk
                    .iter()
                    .map(|_| f64::from(rng.i32(-1000..1000)) / 8.0)
                    .collect();
                let pairs: Vec<(f64, &[u8])> = scores
                    .iter()
                    .zip(chunk)
                    .map(|(&s, m)| (s, m.as_slice()))
                    .collect();
                db.zadd(b"z", ZAddOptions::default(), &pairs)?;
            }
            for member in members.iter().step_by(7) {
                db.zincrby(b"z", 0.5, member)?;
            }
            let removed: Vec<&[u8]> = members.iter().step_by(13).map(Vec::as_slice).collect();
            assert_eq!(db.zrem(b"z", &removed)?, removed.len() as u64);
            let readded: Vec<(f64, &[u8])> = removed.iter().map(|&m| (1e9, m)).collect();
            assert_eq!(
                db.zadd(b"z", ZAddOptions::default(), &readded)?.added,
                readded.len() as u64
            );
            assert_eq!(db.zcard(b"z")?, 10_000);
            db.zrange(b"z", &everything())?
        };
        let db = Db::open(dir.path())?;
        assert_eq!(db.zcard(b"z")?, 10_000);
        assert_eq!(db.zrange(b"z", &everything())?, before);
        Ok(())
    }

    #[test]
    fn ranks_agree_with_a_sorted_model_under_random_changes() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
        let mut rng = fastrand::Rng::with_seed(11);
        for step in 0..4000 {
            let member = format!("m{}", rng.u32(..300)).into_bytes();
            let score = f64::from(rng.i32(-50..50)) / 4.0;
            match rng.u32(..10) {
                0..5 => {
                    db.zadd(b"z", ZAddOptions::default(), &[(score, &member)])?;
                    model.insert(member.clone(), score);
                }
                5..8 => {
                    let out = db.zincrby(b"z", score, &member)?;
                    let new = model.get(&member).copied().unwrap_or(0.0) + score;
                    assert_eq!(out, ZIncrOutcome::Score(new));
                    model.insert(member.clone(), new);
                }
                _ => {
                    let removed = db.zrem(b"z", &[&member])?;
                    assert_eq!(removed, u64::from(model.remove(&member).is_some()));
                }
            }
            let mut order: Vec<(f64, &[u8])> =
                model.iter().map(|(m, &s)| (s, m.as_slice())).collect();
            order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
            let len = order.len() as u64;
            let probes = [member.clone(), format!("m{}", rng.u32(..300)).into_bytes()];
            for probe in &probes {
                let want = order
                    .iter()
                    .position(|(_, m)| *m == probe.as_slice())
                    .map(|r| (r as u64, model[probe]));
                assert_eq!(db.zrank(b"z", probe)?, want, "step {step}");
                assert_eq!(
                    db.zrevrank(b"z", probe)?,
                    want.map(|(r, s)| (len - 1 - r, s)),
                    "step {step}"
                );
            }
            if step % 500 == 0 {
                let all: Vec<ScoredMember> = order.iter().map(|&(s, m)| (m.to_vec(), s)).collect();
                assert_eq!(db.zrange(b"z", &everything())?, all);
            }
        }
        Ok(())
    }

    #[test]
    fn an_unchanged_score_writes_nothing_and_negative_zero_is_stored_as_zero() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        db.zadd(b"z", ZAddOptions::default(), &[(-0.0, b"m")])?;
        let score = db.zscore(b"z", b"m")?.ok_or("missing")?;
        assert!(score == 0.0 && score.is_sign_positive());
        // The computed score is echoed as Redis does, -0 included.
        let out = db.zincrby(b"z", -0.0, b"n")?;
        assert!(matches!(out, ZIncrOutcome::Score(s) if s == 0.0 && s.is_sign_negative()));
        let position = db.log_position();
        let out = db.zadd(b"z", ZAddOptions::default(), &[(0.0, b"m"), (-0.0, b"n")])?;
        assert_eq!(out, ZAddOutcome::default());
        // 3 to 2 and back: two changes, no record.
        let out = db.zadd(b"z", ZAddOptions::default(), &[(3.0, b"m"), (0.0, b"m")])?;
        assert_eq!(out.updated, 2);
        assert_eq!(db.zincrby(b"z", 0.0, b"m")?, ZIncrOutcome::Score(0.0));
        assert_eq!(db.log_position(), position);
        Ok(())
    }

    #[test]
    fn negative_zero_survives_where_redis_would_hold_a_skiplist() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let negative = |s: Option<f64>| s.is_some_and(|s| s == 0.0 && s.is_sign_negative());
        // A member longer than 64 bytes: a skiplist from then on.
        let long = [b'x'; 65];
        db.zadd(
            b"long",
            ZAddOptions::default(),
            &[(-0.0, b"a"), (-0.0, &long), (-0.0, b"b")],
        )?;
        assert!(!negative(db.zscore(b"long", b"a")?));
        assert!(negative(db.zscore(b"long", &long)?));
        assert!(negative(db.zscore(b"long", b"b")?));
        // 130 members: converted when the 129th arrives.
        let members: Vec<Vec<u8>> = (0..130).map(|i| format!("m{i:03}").into_bytes()).collect();
        let pairs: Vec<(f64, &[u8])> = members.iter().map(|m| (-0.0, m.as_slice())).collect();
        db.zadd(b"big", ZAddOptions::default(), &pairs)?;
        assert!(!negative(db.zscore(b"big", b"m127")?));
        assert!(negative(db.zscore(b"big", b"m128")?));
        assert_eq!(db.zincrby(b"big", -0.0, b"new")?, ZIncrOutcome::Score(-0.0));
        assert!(negative(db.zscore(b"big", b"new")?));
        // A store by rank knows its size up front; by score it converts on the way, after
        // the first member ("a") was stored.
        db.zadd(b"big", ZAddOptions::default(), &[(-0.0, b"a")])?;
        assert_eq!(db.zrangestore(b"d", b"big", &everything())?, 132);
        assert!(negative(db.zscore(b"d", b"a")?));
        let by_score = ZRangeSpec {
            by: ZRangeBy::Score(ScoreRange::all()),
            rev: false,
            limit: None,
        };
        assert_eq!(db.zrangestore(b"d", b"big", &by_score)?, 132);
        assert!(!negative(db.zscore(b"d", b"a")?));
        assert!(negative(db.zscore(b"d", b"new")?));
        Ok(())
    }

    #[test]
    fn an_increment_to_nan_is_refused_without_writing() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        db.zadd(b"z", ZAddOptions::default(), &[(f64::INFINITY, b"m")])?;
        assert_eq!(
            db.zincrby(b"z", f64::NEG_INFINITY, b"m")?,
            ZIncrOutcome::NotANumber
        );
        assert_eq!(db.zscore(b"z", b"m")?, Some(f64::INFINITY));
        assert!(matches!(
            db.zadd(b"z", ZAddOptions::default(), &[(f64::NAN, b"x")]),
            Err(Error::NotFloat)
        ));
        Ok(())
    }

    #[test]
    fn popping_or_removing_every_member_deletes_the_key() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let pairs: Vec<(f64, &[u8])> = vec![(1.0, b"a"), (2.0, b"b"), (3.0, b"c")];
        db.zadd(b"z", ZAddOptions::default(), &pairs)?;
        assert_eq!(db.zpopmax(b"z", 1)?, vec![(b"c".to_vec(), 3.0)]);
        assert_eq!(
            db.zpopmin(b"z", u64::MAX)?,
            vec![(b"a".to_vec(), 1.0), (b"b".to_vec(), 2.0)]
        );
        assert_eq!(db.value_type(b"z")?, None);
        db.zadd(b"z", ZAddOptions::default(), &pairs)?;
        assert_eq!(db.zremrangebyscore(b"z", ScoreRange::all())?, 3);
        assert_eq!(db.value_type(b"z")?, None);
        Ok(())
    }

    #[test]
    fn score_and_lex_ranges_with_limits_select_like_redis() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let pairs: Vec<(f64, &[u8])> = vec![
            (0.0, b"a"),
            (0.0, b"b"),
            (0.0, b"c"),
            (0.0, b"d"),
            (0.0, b"e"),
        ];
        db.zadd(b"z", ZAddOptions::default(), &pairs)?;
        let names = |items: Vec<ScoredMember>| -> Vec<Vec<u8>> {
            items.into_iter().map(|(m, _)| m).collect()
        };
        let lex = |min, max| ZRangeBy::Lex(LexRange { min, max });
        let spec = |by, rev, limit| ZRangeSpec { by, rev, limit };
        let b_to_d = lex(LexBound::Inclusive(b"b"), LexBound::Exclusive(b"e"));
        assert_eq!(
            names(db.zrange(b"z", &spec(b_to_d, false, None))?),
            [b"b", b"c", b"d"]
        );
        assert_eq!(
            names(db.zrange(b"z", &spec(b_to_d, true, Some((1, 5))))?),
            [b"c", b"b"]
        );
        assert_eq!(db.zrange(b"z", &spec(b_to_d, false, Some((-1, 5))))?, []);
        assert_eq!(
            names(db.zrange(b"z", &spec(b_to_d, false, Some((1, -1))))?),
            [b"c", b"d"]
        );
        let all = lex(LexBound::Min, LexBound::Max);
        assert_eq!(
            db.zlexcount(
                b"z",
                LexRange {
                    min: LexBound::Max,
                    max: LexBound::Min
                }
            )?,
            0
        );
        assert_eq!(
            names(db.zrange(b"z", &spec(all, true, Some((4, 9))))?),
            [b"a"]
        );
        let open = ZRangeBy::Score(ScoreRange {
            min: 0.0,
            min_exclusive: true,
            max: 0.0,
            max_exclusive: false,
        });
        assert_eq!(db.zrange(b"z", &spec(open, false, None))?, []);
        assert_eq!(
            db.zremrangebylex(
                b"z",
                LexRange {
                    min: LexBound::Exclusive(b"a"),
                    max: LexBound::Inclusive(b"c")
                }
            )?,
            2
        );
        assert_eq!(db.zremrangebyrank(b"z", -1, 100)?, 1);
        assert_eq!(names(db.zrange(b"z", &everything())?), [b"a", b"d"]);
        Ok(())
    }

    /// Waits until `n` clients are blocked on `db`'s keys (a thread that was just spawned
    /// blocks soon, not at once).
    fn wait_for_blocked(db: &Db, n: usize) -> TestResult {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while db.tx(|tx| Ok(tx.blocked_clients()))? != n {
            if std::time::Instant::now() > deadline {
                return Err(format!("{n} blocked clients never showed up").into());
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        Ok(())
    }

    fn join<T>(thread: std::thread::JoinHandle<Result<T>>) -> std::result::Result<T, String> {
        thread
            .join()
            .map_err(|_| "the thread panicked".to_owned())?
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_thread_blocked_in_bzpopmin_is_woken_by_a_zadd_from_another_thread() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let waiter = {
            let db = db.clone();
            std::thread::spawn(move || db.bzpopmin(&[b"none", b"z"], None))
        };
        wait_for_blocked(&db, 1)?;
        db.zadd(b"z", ZAddOptions::default(), &[(2.0, b"b"), (1.0, b"a")])?;
        assert_eq!(join(waiter)?, Some((b"z".to_vec(), b"a".to_vec(), 1.0)));
        assert_eq!(db.zrange(b"z", &everything())?, [(b"b".to_vec(), 2.0)]);
        assert_eq!(db.tx(|tx| Ok(tx.blocked_clients()))?, 0);
        Ok(())
    }

    #[test]
    fn clients_blocked_on_one_key_are_served_in_the_order_they_blocked() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let spawn = |db: &Db| {
            let db = db.clone();
            std::thread::spawn(move || db.bzpopmax(&[b"z"], None))
        };
        let first = spawn(&db);
        wait_for_blocked(&db, 1)?;
        let second = spawn(&db);
        wait_for_blocked(&db, 2)?;
        // One member: only the first waiter gets it, the second stays blocked.
        db.zadd(b"z", ZAddOptions::default(), &[(1.0, b"a")])?;
        assert_eq!(join(first)?, Some((b"z".to_vec(), b"a".to_vec(), 1.0)));
        assert_eq!(db.tx(|tx| Ok(tx.blocked_clients()))?, 1);
        assert!(!second.is_finished());
        db.zadd(b"z", ZAddOptions::default(), &[(2.0, b"b"), (3.0, b"c")])?;
        assert_eq!(join(second)?, Some((b"z".to_vec(), b"c".to_vec(), 3.0)));
        assert_eq!(db.zrange(b"z", &everything())?, [(b"b".to_vec(), 2.0)]);
        Ok(())
    }

    #[test]
    fn a_blocking_pop_that_times_out_returns_none() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let timeout = std::time::Duration::from_millis(50);
        let start = std::time::Instant::now();
        assert_eq!(db.bzpopmin(&[b"z"], Some(timeout))?, None);
        assert!(start.elapsed() >= timeout);
        assert_eq!(db.bzmpop(&[b"z"], ZPopEnd::Max, 3, Some(timeout))?, None);
        assert_eq!(db.tx(|tx| Ok(tx.blocked_clients()))?, 0);
        Ok(())
    }

    #[test]
    fn a_waiter_ignores_another_type_and_bzmpop_takes_its_count() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let waiter = {
            let db = db.clone();
            std::thread::spawn(move || db.bzmpop(&[b"z"], ZPopEnd::Max, 2, None))
        };
        wait_for_blocked(&db, 1)?;
        // A hash on the key wakes nobody, and fails nothing.
        db.hset(b"z", &[(b"f", b"v")])?;
        assert_eq!(db.tx(|tx| Ok(tx.blocked_clients()))?, 1);
        db.del(&[b"z"])?;
        let pairs: Vec<(f64, &[u8])> = vec![(1.0, b"a"), (2.0, b"b"), (3.0, b"c")];
        db.zadd(b"z", ZAddOptions::default(), &pairs)?;
        assert_eq!(
            join(waiter)?,
            Some((
                b"z".to_vec(),
                vec![(b"c".to_vec(), 3.0), (b"b".to_vec(), 2.0)]
            ))
        );
        assert_eq!(db.zrange(b"z", &everything())?, [(b"a".to_vec(), 1.0)]);
        Ok(())
    }

    #[test]
    fn zmpop_pops_from_the_first_existing_key_and_refuses_another_type_there() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let pairs: Vec<(f64, &[u8])> = vec![(1.0, b"a"), (2.0, b"b")];
        db.zadd(b"z", ZAddOptions::default(), &pairs)?;
        db.set(b"s", b"x", crate::SetOptions::default())?;
        assert_eq!(db.zmpop(&[b"none"], ZPopEnd::Min, 1)?, None);
        assert!(matches!(
            db.zmpop(&[b"none", b"s", b"z"], ZPopEnd::Min, 1),
            Err(Error::WrongType)
        ));
        // A sorted set before the string is popped, the string never looked at.
        assert_eq!(
            db.zmpop(&[b"z", b"s"], ZPopEnd::Min, 10)?,
            Some((
                b"z".to_vec(),
                pairs.iter().map(|&(s, m)| (m.to_vec(), s)).collect()
            ))
        );
        assert_eq!(db.value_type(b"z")?, None);
        // It does not block either: a blocking pop finds the same error at once.
        assert!(matches!(db.bzpopmin(&[b"s"], None), Err(Error::WrongType)));
        Ok(())
    }

    #[test]
    fn random_members_are_distinct_for_a_positive_count() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let members: Vec<Vec<u8>> = (0..100).map(|i| format!("m{i}").into_bytes()).collect();
        let pairs: Vec<(f64, &[u8])> = members
            .iter()
            .enumerate()
            .map(|(i, m)| (i as f64, m.as_slice()))
            .collect();
        db.zadd(b"z", ZAddOptions::default(), &pairs)?;
        for count in [1, 10, 40, 99, 100, 1000] {
            let picked = db.zrandmember_count(b"z", count)?;
            let distinct: HashSet<&[u8]> = picked.iter().map(|(m, _)| m.as_slice()).collect();
            assert_eq!(picked.len(), count.min(100) as usize);
            assert_eq!(distinct.len(), picked.len());
            for (member, score) in &picked {
                assert_eq!(db.zscore(b"z", member)?, Some(*score));
            }
        }
        assert_eq!(db.zrandmember_count(b"z", -300)?.len(), 300);
        assert!(matches!(
            db.zrandmember_count(b"z", i64::MIN + 1),
            Err(Error::NotInteger)
        ));
        assert_eq!(db.zrandmember_count(b"missing", i64::MIN + 1)?, []);
        Ok(())
    }
}
