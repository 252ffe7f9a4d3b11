//! Commands for sorted sets, the single-key ones and the pops (ZMPOP, BZPOPMIN, BZPOPMAX,
//! BZMPOP): argument parsing and reply shapes. Semantics live in `types::zset`.
//!
//! Errors come in Redis 7.0's order: every argument (options, scores, ranges, counts) is
//! parsed before the key is looked up, so a bad argument wins over WRONGTYPE; ZSCAN alone reads
//! its options only once the key is known to hold a sorted set. The range commands share
//! Redis's one parser (`zrangeGenericCommand`), [`parse_range`], which each spelling enters
//! with its range type and direction already fixed or still open.
//!
//! Reply shapes are Redis 7.0's: a score is a RESP3 double (a bulk string in RESP2); members
//! with scores are `[member, score]` pairs in RESP3 and a flat array in RESP2 (ZRANGE ...
//! WITHSCORES, ZRANDMEMBER ... WITHSCORES, ZPOPMIN/ZPOPMAX with a count, whose reply without a
//! count stays flat); ZSCAN's scores are bulk strings in both.
//!
//! The pops of several keys parse as Redis 7.0 does: ZMPOP and BZMPOP read numkeys, the keys,
//! `MIN | MAX` and `COUNT` (`zmpopGenericCommand`), then BZMPOP its timeout; BZPOPMIN and
//! BZPOPMAX read their timeout first. ZMPOP and BZMPOP answer `[key, [[member, score], ...]]`
//! (nested in both protocols), BZPOPMIN and BZPOPMAX `[key, member, score]`; nothing to pop,
//! or a timeout, is a nil array. A client that blocks is served by [`super::blocking`].
//!
//! ZRANK and ZREVRANK accept Redis 7.2's `WITHSCORE` (answering `[rank, score]`); any other
//! fourth argument gets the arity error Redis 7.0 gives to every fourth argument.

use super::args::{
    CmdResult, float, int, is, lenient_float, parse_cursor, scan_options, syntax_error,
};
use super::blocking::{block, timeout};
use super::{Ctx, FAST, KEY1, KEY12, NO_KEYS, RO, RW, Reply, commands};
use crate::resp::{Protocol, format_double};
use crate::types::zset::{
    LexBound, LexRange, ScoreRange, ScoredMember, ZAddOptions, ZIncrOutcome, ZPopEnd, ZRangeBy,
    ZRangeSpec,
};

/// Key positions of BZPOPMIN and BZPOPMAX: every argument but the last (the timeout).
const KEYS_THEN_TIMEOUT: (i32, i32, i32) = (1, -2, 1);

commands! {
    ZSET;
    "zadd", -4, RW | FAST, KEY1, "sorted-set", "ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", zadd;
    "zincrby", 4, RW | FAST, KEY1, "sorted-set", "ZINCRBY key increment member", "Increments the score of a member in a sorted set.", zincrby;
    "zrem", -3, RW | FAST, KEY1, "sorted-set", "ZREM key member [member ...]", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", zrem;
    "zscore", 3, RO | FAST, KEY1, "sorted-set", "ZSCORE key member", "Returns the score of a member in a sorted set.", zscore;
    "zmscore", -3, RO | FAST, KEY1, "sorted-set", "ZMSCORE key member [member ...]", "Returns the score of one or more members in a sorted set.", zmscore;
    "zcard", 2, RO | FAST, KEY1, "sorted-set", "ZCARD key", "Returns the number of members in a sorted set.", zcard;
    "zcount", 4, RO | FAST, KEY1, "sorted-set", "ZCOUNT key min max", "Returns the count of members in a sorted set that have scores within a range.", zcount;
    "zlexcount", 4, RO | FAST, KEY1, "sorted-set", "ZLEXCOUNT key min max", "Returns the number of members in a sorted set within a lexicographical range.", zlexcount;
    "zrank", -3, RO | FAST, KEY1, "sorted-set", "ZRANK key member [WITHSCORE]", "Returns the index of a member in a sorted set ordered by ascending scores.", zrank;
    "zrevrank", -3, RO | FAST, KEY1, "sorted-set", "ZREVRANK key member [WITHSCORE]", "Returns the index of a member in a sorted set ordered by descending scores.", zrevrank;
    "zrange", -4, RO, KEY1, "sorted-set", "ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]", "Returns members in a sorted set within a range of indexes.", zrange;
    "zrangestore", -5, RW, KEY12, "sorted-set", "ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]", "Stores a range of members from sorted set in a key.", zrangestore;
    "zrevrange", -4, RO, KEY1, "sorted-set", "ZREVRANGE key start stop [WITHSCORES]", "Returns members in a sorted set within a range of indexes in reverse order.", zrevrange;
    "zrangebyscore", -4, RO, KEY1, "sorted-set", "ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]", "Returns members in a sorted set within a range of scores.", zrangebyscore;
    "zrevrangebyscore", -4, RO, KEY1, "sorted-set", "ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]", "Returns members in a sorted set within a range of scores in reverse order.", zrevrangebyscore;
    "zrangebylex", -4, RO, KEY1, "sorted-set", "ZRANGEBYLEX key min max [LIMIT offset count]", "Returns members in a sorted set within a lexicographical range.", zrangebylex;
    "zrevrangebylex", -4, RO, KEY1, "sorted-set", "ZREVRANGEBYLEX key max min [LIMIT offset count]", "Returns members in a sorted set within a lexicographical range in reverse order.", zrevrangebylex;
    "zremrangebyrank", 4, RW, KEY1, "sorted-set", "ZREMRANGEBYRANK key start stop", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", zremrangebyrank;
    "zremrangebyscore", 4, RW, KEY1, "sorted-set", "ZREMRANGEBYSCORE key min max", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", zremrangebyscore;
    "zremrangebylex", 4, RW, KEY1, "sorted-set", "ZREMRANGEBYLEX key min max", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", zremrangebylex;
    "zpopmin", -2, RW | FAST, KEY1, "sorted-set", "ZPOPMIN key [count]", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", zpopmin;
    "zpopmax", -2, RW | FAST, KEY1, "sorted-set", "ZPOPMAX key [count]", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", zpopmax;
    "zmpop", -4, RW, NO_KEYS, "sorted-set", "ZMPOP numkeys key [key ...] <MIN | MAX> [COUNT count]", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", zmpop;
    "bzpopmin", -3, RW | FAST, KEYS_THEN_TIMEOUT, "sorted-set", "BZPOPMIN key [key ...] timeout", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", bzpopmin;
    "bzpopmax", -3, RW | FAST, KEYS_THEN_TIMEOUT, "sorted-set", "BZPOPMAX key [key ...] timeout", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", bzpopmax;
    "bzmpop", -5, RW, NO_KEYS, "sorted-set", "BZMPOP timeout numkeys key [key ...] <MIN | MAX> [COUNT count]", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", bzmpop;
    "zrandmember", -2, RO, KEY1, "sorted-set", "ZRANDMEMBER key [count [WITHSCORES]]", "Returns one or more random members from a sorted set.", zrandmember;
    "zscan", -3, RO, KEY1, "sorted-set", "ZSCAN key cursor [MATCH pattern] [COUNT count]", "Iterates over members and scores of a sorted set.", zscan;
}

// ---------------------------------------------------------------------------------------------
// Parsing.

/// Whether C's `isspace` holds (`strtod` skips these before a number).
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// A score-range bound after its optional `(`, as `zslParseRange` reads it with `strtod`: the
/// argument ends at its first NUL byte (a C string); empty reads as 0; leading spaces are
/// skipped, but spaces alone are not a number.
fn range_float(arg: &[u8]) -> Option<f64> {
    let arg = arg.split(|&b| b == 0).next().unwrap_or_default();
    if arg.is_empty() {
        return Some(0.0);
    }
    let start = arg.iter().position(|&b| !is_c_space(b))?;
    lenient_float(arg.get(start..)?)
}

/// One bound of a score range: `(x` exclusive, `x` inclusive.
fn score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    match arg.split_first() {
        Some((b'(', rest)) => Some((range_float(rest)?, true)),
        _ => Some((range_float(arg)?, false)),
    }
}

/// `min max` of ZRANGEBYSCORE and friends.
fn score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, Reply> {
    match (score_bound(min), score_bound(max)) {
        (Some((min, min_exclusive)), Some((max, max_exclusive))) => Ok(ScoreRange {
            min,
            min_exclusive,
            max,
            max_exclusive,
        }),
        _ => Err(Reply::err("min or max is not a float")),
    }
}

/// One bound of a lex range: `-`, `+`, `[member` or `(member`. As Redis reads `-` and `+` as
/// C strings, a NUL byte may follow them.
fn lex_bound(arg: &[u8]) -> Option<LexBound<'_>> {
    let (&first, rest) = arg.split_first()?;
    let alone = rest.first().is_none_or(|&b| b == 0);
    match first {
        b'-' if alone => Some(LexBound::Min),
        b'+' if alone => Some(LexBound::Max),
        b'[' => Some(LexBound::Inclusive(rest)),
        b'(' => Some(LexBound::Exclusive(rest)),
        _ => None,
    }
}

/// `min max` of ZRANGEBYLEX and friends.
fn lex_range<'a>(min: &'a [u8], max: &'a [u8]) -> Result<LexRange<'a>, Reply> {
    match (lex_bound(min), lex_bound(max)) {
        (Some(min), Some(max)) => Ok(LexRange { min, max }),
        _ => Err(Reply::err("min or max not valid string range item")),
    }
}

/// The range type of a ZRANGE-like command: fixed by the command, or chosen by an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeType {
    /// Not yet chosen (ZRANGE, ZRANGESTORE): BYSCORE or BYLEX may choose; ranks otherwise.
    Auto,
    Rank,
    Score,
    Lex,
}

/// Parses `key min max [options]` (`args`, from the key on) as Redis's `zrangeGenericCommand`:
/// the options first (WITHSCORES unless `store`, LIMIT, and REV / BYSCORE / BYLEX while the
/// command leaves them open), then the conflicts between them, then the range. `rev` is `None`
/// while REV may still be given. Returns the request and whether WITHSCORES was given.
fn parse_range<'a>(
    args: &[&'a [u8]],
    store: bool,
    mut by: RangeType,
    mut rev: Option<bool>,
) -> Result<(ZRangeSpec<'a>, bool), Reply> {
    let [_, min, max, options @ ..] = args else {
        return Err(syntax_error());
    };
    let mut with_scores = false;
    let (mut offset, mut count) = (0i64, -1i64);
    let mut i = 0;
    while let Some(&option) = options.get(i) {
        if !store && is(option, "WITHSCORES") {
            with_scores = true;
        } else if let (true, Some(&o), Some(&c)) =
            (is(option, "LIMIT"), options.get(i + 1), options.get(i + 2))
        {
            offset = int(o)?;
            count = int(c)?;
            i += 2;
        } else if rev.is_none() && is(option, "REV") {
            rev = Some(true);
        } else if by == RangeType::Auto && is(option, "BYLEX") {
            by = RangeType::Lex;
        } else if by == RangeType::Auto && is(option, "BYSCORE") {
            by = RangeType::Score;
        } else {
            return Err(syntax_error());
        }
        i += 1;
    }
    let rev = rev.unwrap_or(false);
    // As Redis, a LIMIT whose count is -1 does not count as a LIMIT for ranks (and the offset
    // is then ignored); with scores or lex its offset still applies.
    let limit = Some((offset, count)).filter(|&l| l != (0, -1));
    if count != -1 && matches!(by, RangeType::Auto | RangeType::Rank) {
        return Err(Reply::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if with_scores && by == RangeType::Lex {
        return Err(Reply::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    // A reversed score or lex range is given as `max min`.
    let (min, max) = if rev && matches!(by, RangeType::Score | RangeType::Lex) {
        (*max, *min)
    } else {
        (*min, *max)
    };
    let by = match by {
        RangeType::Auto | RangeType::Rank => ZRangeBy::Rank {
            start: int(min)?,
            stop: int(max)?,
        },
        RangeType::Score => ZRangeBy::Score(score_range(min, max)?),
        RangeType::Lex => ZRangeBy::Lex(lex_range(min, max)?),
    };
    Ok((ZRangeSpec { by, rev, limit }, with_scores))
}

/// A count that must be a non-negative integer; `message` is Redis's error for anything else
/// (getPositiveLongFromObjectOrReply).
fn positive(arg: &[u8], message: &str) -> Result<u64, Reply> {
    int(arg)
        .ok()
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| Reply::err(message))
}

// ---------------------------------------------------------------------------------------------
// Replies.

/// Members, with their scores if `with_scores`: `[member, score]` pairs in RESP3, a flat
/// array in RESP2.
fn scored(ctx: &Ctx<'_, '_>, members: Vec<ScoredMember>, with_scores: bool) -> Reply {
    let pairs = with_scores && ctx.client.protocol == Protocol::Resp3;
    let mut items = Vec::with_capacity(members.len() * if with_scores { 2 } else { 1 });
    for (member, score) in members {
        if pairs {
            items.push(Reply::Array(vec![
                Reply::Bulk(member),
                Reply::Double(score),
            ]));
        } else {
            items.push(Reply::Bulk(member));
            if with_scores {
                items.push(Reply::Double(score));
            }
        }
    }
    Reply::Array(items)
}

fn score_or_nil(score: Option<f64>) -> Reply {
    score.map_or(Reply::Nil, Reply::Double)
}

fn nan_error() -> Reply {
    Reply::err("resulting score is not a number (NaN)")
}

fn count(n: u64) -> Reply {
    Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

// ---------------------------------------------------------------------------------------------
// Handlers.

/// `ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]`
pub(super) fn zadd(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let mut options = ZAddOptions::default();
    let (mut ch, mut incr) = (false, false);
    let mut first = 2;
    for &arg in &argv[2..] {
        if is(arg, "NX") {
            options.nx = true;
        } else if is(arg, "XX") {
            options.xx = true;
        } else if is(arg, "GT") {
            options.gt = true;
        } else if is(arg, "LT") {
            options.lt = true;
        } else if is(arg, "CH") {
            ch = true;
        } else if is(arg, "INCR") {
            incr = true;
        } else {
            break;
        }
        first += 1;
    }
    let rest = &argv[first..];
    if rest.is_empty() || rest.len() % 2 != 0 {
        return Err(syntax_error());
    }
    if options.nx && options.xx {
        return Err(Reply::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if (options.gt || options.lt) && options.nx || options.gt && options.lt {
        return Err(Reply::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && rest.len() > 2 {
        return Err(Reply::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let pairs = rest
        .chunks_exact(2)
        .map(|pair| Ok((float(pair[0])?, pair[1])))
        .collect::<Result<Vec<(f64, &[u8])>, Reply>>()?;
    let key = argv[1];
    if let [(increment, member)] = pairs[..]
        && incr
    {
        return match ctx.tx.zadd_incr(key, options, increment, member)? {
            ZIncrOutcome::Score(score) => Ok(Reply::Double(score)),
            ZIncrOutcome::Aborted => Ok(Reply::Nil),
            ZIncrOutcome::NotANumber => Err(nan_error()),
        };
    }
    let outcome = ctx.tx.zadd(key, options, &pairs)?;
    Ok(count(if ch {
        outcome.added + outcome.updated
    } else {
        outcome.added
    }))
}

/// `ZINCRBY key increment member`
pub(super) fn zincrby(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let increment = float(argv[2])?;
    match ctx.tx.zincrby(argv[1], increment, argv[3])? {
        ZIncrOutcome::Score(score) => Ok(Reply::Double(score)),
        ZIncrOutcome::Aborted => Ok(Reply::Nil),
        ZIncrOutcome::NotANumber => Err(nan_error()),
    }
}

/// `ZREM key member [member ...]`
pub(super) fn zrem(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(count(ctx.tx.zrem(argv[1], &argv[2..])?))
}

/// `ZSCORE key member`
pub(super) fn zscore(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(score_or_nil(ctx.tx.zscore(argv[1], argv[2])?))
}

/// `ZMSCORE key member [member ...]`
pub(super) fn zmscore(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let scores = ctx.tx.zmscore(argv[1], &argv[2..])?;
    Ok(Reply::Array(scores.into_iter().map(score_or_nil).collect()))
}

/// `ZCARD key`
pub(super) fn zcard(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(count(ctx.tx.zcard(argv[1])?))
}

/// `ZCOUNT key min max`
pub(super) fn zcount(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let range = score_range(argv[2], argv[3])?;
    Ok(count(ctx.tx.zcount(argv[1], range)?))
}

/// `ZLEXCOUNT key min max`
pub(super) fn zlexcount(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let range = lex_range(argv[2], argv[3])?;
    Ok(count(ctx.tx.zlexcount(argv[1], range)?))
}

/// ZRANK and ZREVRANK: `key member [WITHSCORE]`.
fn rank(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]], rev: bool) -> CmdResult {
    let with_score = match argv {
        [_, _, _] => false,
        [_, _, _, option] if is(option, "WITHSCORE") => true,
        _ => {
            let name = if rev { "zrevrank" } else { "zrank" };
            return Err(Reply::err(format!(
                "wrong number of arguments for '{name}' command"
            )));
        }
    };
    let found = if rev {
        ctx.tx.zrevrank(argv[1], argv[2])?
    } else {
        ctx.tx.zrank(argv[1], argv[2])?
    };
    Ok(match (found, with_score) {
        (Some((rank, _)), false) => count(rank),
        (Some((rank, score)), true) => Reply::Array(vec![count(rank), Reply::Double(score)]),
        (None, false) => Reply::Nil,
        (None, true) => Reply::NilArray,
    })
}

/// `ZRANK key member [WITHSCORE]`
pub(super) fn zrank(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    rank(ctx, argv, false)
}

/// `ZREVRANK key member [WITHSCORE]`
pub(super) fn zrevrank(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    rank(ctx, argv, true)
}

/// The reading range commands: parse from the key on, run, reply.
fn range(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]], by: RangeType, rev: Option<bool>) -> CmdResult {
    let (spec, with_scores) = parse_range(&argv[1..], false, by, rev)?;
    let members = ctx.tx.zrange(argv[1], &spec)?;
    Ok(scored(ctx, members, with_scores))
}

/// `ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
pub(super) fn zrange(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    range(ctx, argv, RangeType::Auto, None)
}

/// `ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]`
pub(super) fn zrangestore(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (spec, _) = parse_range(&argv[2..], true, RangeType::Auto, None)?;
    Ok(count(ctx.tx.zrangestore(argv[1], argv[2], &spec)?))
}

/// `ZREVRANGE key start stop [WITHSCORES]`
pub(super) fn zrevrange(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    range(ctx, argv, RangeType::Rank, Some(true))
}

/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`
pub(super) fn zrangebyscore(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    range(ctx, argv, RangeType::Score, Some(false))
}

/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`
pub(super) fn zrevrangebyscore(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    range(ctx, argv, RangeType::Score, Some(true))
}

/// `ZRANGEBYLEX key min max [LIMIT offset count]`
pub(super) fn zrangebylex(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    range(ctx, argv, RangeType::Lex, Some(false))
}

/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`
pub(super) fn zrevrangebylex(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    range(ctx, argv, RangeType::Lex, Some(true))
}

/// `ZREMRANGEBYRANK key start stop`
pub(super) fn zremrangebyrank(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (start, stop) = (int(argv[2])?, int(argv[3])?);
    Ok(count(ctx.tx.zremrangebyrank(argv[1], start, stop)?))
}

/// `ZREMRANGEBYSCORE key min max`
pub(super) fn zremrangebyscore(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let range = score_range(argv[2], argv[3])?;
    Ok(count(ctx.tx.zremrangebyscore(argv[1], range)?))
}

/// `ZREMRANGEBYLEX key min max`
pub(super) fn zremrangebylex(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let range = lex_range(argv[2], argv[3])?;
    Ok(count(ctx.tx.zremrangebylex(argv[1], range)?))
}

/// ZPOPMIN and ZPOPMAX: `key [count]`. Without a count the reply is flat `[member, score]`
/// in both protocols; with one, RESP3 nests the pairs.
fn pop(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]], max: bool) -> CmdResult {
    let n = match argv {
        [_, _] => None,
        [_, _, n] => Some(positive(n, "value is out of range, must be positive")?),
        _ => return Err(syntax_error()),
    };
    let key = argv[1];
    let popped = if max {
        ctx.tx.zpopmax(key, n.unwrap_or(1))?
    } else {
        ctx.tx.zpopmin(key, n.unwrap_or(1))?
    };
    if n.is_none() {
        let flat = popped
            .into_iter()
            .flat_map(|(member, score)| [Reply::Bulk(member), Reply::Double(score)])
            .collect();
        return Ok(Reply::Array(flat));
    }
    Ok(scored(ctx, popped, true))
}

/// `ZPOPMIN key [count]`
pub(super) fn zpopmin(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    pop(ctx, argv, false)
}

/// `ZPOPMAX key [count]`
pub(super) fn zpopmax(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    pop(ctx, argv, true)
}

/// `numkeys key [key ...] <MIN | MAX> [COUNT count]` of ZMPOP and BZMPOP (`args`, from
/// numkeys on), in `zmpopGenericCommand`'s order: numkeys (1 or more), the position of
/// `MIN | MAX` (a syntax error if numkeys goes past the arguments), then the options.
fn mpop_args<'a, 'b>(args: &'b [&'a [u8]]) -> Result<(&'b [&'a [u8]], ZPopEnd, u64), Reply> {
    let [numkeys, rest @ ..] = args else {
        return Err(syntax_error());
    };
    let numkeys = int(numkeys)
        .ok()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n >= 1)
        .ok_or_else(|| Reply::err("numkeys should be greater than 0"))?;
    let (Some(keys), Some(end)) = (rest.get(..numkeys), rest.get(numkeys)) else {
        return Err(syntax_error());
    };
    let end = if is(end, "MIN") {
        ZPopEnd::Min
    } else if is(end, "MAX") {
        ZPopEnd::Max
    } else {
        return Err(syntax_error());
    };
    let mut count = None;
    let mut options = rest.get(numkeys + 1..).unwrap_or_default().iter();
    while let Some(&option) = options.next() {
        match options.as_slice().first() {
            Some(&n) if count.is_none() && is(option, "COUNT") => {
                options.next();
                let n = int(n)
                    .ok()
                    .and_then(|n| u64::try_from(n).ok())
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| Reply::err("count should be greater than 0"))?;
                count = Some(n);
            }
            _ => return Err(syntax_error()),
        }
    }
    Ok((keys, end, count.unwrap_or(1)))
}

/// ZMPOP's and BZMPOP's reply: `[key, [[member, score], ...]]`.
fn key_pop(key: Vec<u8>, members: Vec<ScoredMember>) -> Reply {
    let pairs = members
        .into_iter()
        .map(|(member, score)| Reply::Array(vec![Reply::Bulk(member), Reply::Double(score)]))
        .collect();
    Reply::Array(vec![Reply::Bulk(key), Reply::Array(pairs)])
}

/// `ZMPOP numkeys key [key ...] <MIN | MAX> [COUNT count]`
pub(super) fn zmpop(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (keys, end, n) = mpop_args(&argv[1..])?;
    Ok(match ctx.tx.zmpop(keys, end, n)? {
        Some((key, members)) => key_pop(key, members),
        None => Reply::NilArray,
    })
}

/// `BZMPOP timeout numkeys key [key ...] <MIN | MAX> [COUNT count]`
pub(super) fn bzmpop(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (keys, end, n) = mpop_args(&argv[2..])?;
    let timeout = timeout(argv[1], ctx.tx.now())?;
    if let Some((key, members)) = ctx.tx.zmpop(keys, end, n)? {
        return Ok(key_pop(key, members));
    }
    let keys = keys.iter().map(|k| k.to_vec()).collect();
    block(ctx, keys, timeout, Reply::NilArray, move |tx, key| {
        Ok(tx
            .zpop_for_waiter(key, end, n)?
            .map(|members| key_pop(key.to_vec(), members)))
    })
}

/// BZPOPMIN's and BZPOPMAX's reply: `[key, member, score]`, if a member was popped.
fn key_member(key: &[u8], members: Vec<ScoredMember>) -> Option<Reply> {
    let (member, score) = members.into_iter().next()?;
    Some(Reply::Array(vec![
        Reply::Bulk(key.to_vec()),
        Reply::Bulk(member),
        Reply::Double(score),
    ]))
}

/// BZPOPMIN and BZPOPMAX: `key [key ...] timeout`.
fn bzpop(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]], end: ZPopEnd) -> CmdResult {
    let [_, keys @ .., last] = argv else {
        return Err(syntax_error());
    };
    let timeout = timeout(last, ctx.tx.now())?;
    if let Some(reply) = ctx
        .tx
        .zmpop(keys, end, 1)?
        .and_then(|(key, members)| key_member(&key, members))
    {
        return Ok(reply);
    }
    let keys = keys.iter().map(|k| k.to_vec()).collect();
    block(ctx, keys, timeout, Reply::NilArray, move |tx, key| {
        Ok(tx
            .zpop_for_waiter(key, end, 1)?
            .and_then(|members| key_member(key, members)))
    })
}

/// `BZPOPMIN key [key ...] timeout`
pub(super) fn bzpopmin(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    bzpop(ctx, argv, ZPopEnd::Min)
}

/// `BZPOPMAX key [key ...] timeout`
pub(super) fn bzpopmax(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    bzpop(ctx, argv, ZPopEnd::Max)
}

/// `ZRANDMEMBER key [count [WITHSCORES]]`
pub(super) fn zrandmember(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let [_, key, n, options @ ..] = argv else {
        let member = ctx.tx.zrandmember(argv[1])?;
        return Ok(member.map_or(Reply::Nil, |(m, _)| Reply::Bulk(m)));
    };
    let n = int(n)?;
    if n == i64::MIN {
        return Err(Reply::err(format!(
            "value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )));
    }
    let with_scores = match options {
        [] => false,
        [option] if is(option, "WITHSCORES") => true,
        _ => return Err(syntax_error()),
    };
    // Redis doubles the count for the reply's length, so it refuses what would overflow.
    if with_scores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
        return Err(Reply::err("value is out of range"));
    }
    let members = ctx.tx.zrandmember_count(key, n)?;
    Ok(scored(ctx, members, with_scores))
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`
pub(super) fn zscan(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(argv[2]).ok_or_else(|| Reply::err("invalid cursor"))?;
    let key = argv[1];
    // As Redis, a missing key answers an empty page before the options are even read.
    if ctx.tx.zcard(key)? == 0 {
        return Ok(Reply::Array(vec![
            Reply::bulk("0"),
            Reply::Array(Vec::new()),
        ]));
    }
    let (pattern, n) = scan_options(&argv[3..])?;
    let page = ctx.tx.zscan(key, cursor, pattern, n)?;
    let mut items = Vec::with_capacity(page.members.len() * 2);
    for (member, score) in page.members {
        items.push(Reply::Bulk(member));
        items.push(Reply::Bulk(format_double(score).into_bytes()));
    }
    Ok(Reply::Array(vec![
        Reply::Bulk(page.cursor.to_string().into_bytes()),
        Reply::Array(items),
    ]))
}

#[cfg(test)]
mod tests {
    use super::super::args::not_integer;
    use super::*;

    #[test]
    fn score_bounds_read_as_redis_strtod_does() {
        assert_eq!(score_bound(b"(1.5"), Some((1.5, true)));
        assert_eq!(score_bound(b""), Some((0.0, false)));
        assert_eq!(score_bound(b"("), Some((0.0, true)));
        assert_eq!(score_bound(b"\t1"), Some((1.0, false)));
        assert_eq!(score_bound(b"\x0b2"), Some((2.0, false)));
        assert_eq!(score_bound(b"1\0junk"), Some((1.0, false)));
        assert_eq!(score_bound(b"-inf"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(score_bound(b" "), None);
        assert_eq!(score_bound(b"( "), None);
        assert_eq!(score_bound(b"1e"), None);
        assert_eq!(score_bound(b"nan"), None);
    }

    #[test]
    fn lex_bounds_follow_redis_items() {
        assert_eq!(lex_bound(b"-"), Some(LexBound::Min));
        assert_eq!(lex_bound(b"+\0x"), Some(LexBound::Max));
        assert_eq!(lex_bound(b"+x"), None);
        assert_eq!(lex_bound(b"[a"), Some(LexBound::Inclusive(b"a")));
        assert_eq!(lex_bound(b"("), Some(LexBound::Exclusive(b"")));
        assert_eq!(lex_bound(b""), None);
        assert_eq!(lex_bound(b"a"), None);
    }

    #[test]
    fn range_options_conflict_as_in_redis() {
        fn parse<'a>(
            args: &[&'a str],
            store: bool,
            by: RangeType,
            rev: Option<bool>,
        ) -> Result<(ZRangeSpec<'a>, bool), Reply> {
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            parse_range(&args, store, by, rev)
        }
        let limit_error = Reply::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
        assert_eq!(
            parse(
                &["k", "0", "1", "LIMIT", "0", "1"],
                false,
                RangeType::Auto,
                None
            )
            .err(),
            Some(limit_error)
        );
        // By rank, a LIMIT with a count of -1 is no LIMIT.
        assert!(
            parse(
                &["k", "0", "1", "limit", "5", "-1"],
                false,
                RangeType::Auto,
                None
            )
            .is_ok()
        );
        assert_eq!(
            parse(&["k", "0", "1", "REV", "rev"], false, RangeType::Auto, None).err(),
            Some(syntax_error())
        );
        assert_eq!(
            parse(&["k", "0", "1", "WITHSCORES"], true, RangeType::Auto, None).err(),
            Some(syntax_error())
        );
        assert_eq!(
            parse(
                &["k", "-", "+", "WITHSCORES"],
                false,
                RangeType::Lex,
                Some(false)
            )
            .err(),
            Some(Reply::err(
                "syntax error, WITHSCORES not supported in combination with BYLEX"
            ))
        );
        assert_eq!(
            parse(
                &["k", "0", "1", "LIMIT", "x", "1"],
                false,
                RangeType::Auto,
                None
            )
            .err(),
            Some(not_integer())
        );
        let (spec, with_scores) = parse(
            &["k", "5", "(1", "byscore", "rev", "withscores"],
            false,
            RangeType::Auto,
            None,
        )
        .map_err(|e| format!("{e:?}"))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(with_scores && spec.rev);
        assert_eq!(
            spec.by,
            ZRangeBy::Score(ScoreRange {
                min: 1.0,
                min_exclusive: true,
                max: 5.0,
                max_exclusive: false
            })
        );
    }

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn bulk(s: &str) -> Reply {
        Reply::bulk(s)
    }

    fn pair(member: &str, score: f64) -> Reply {
        Reply::Array(vec![bulk(member), Reply::Double(score)])
    }

    #[test]
    fn resp3_pairs_members_with_their_scores_and_resp2_flattens_them() -> TestResult {
        let dir = tempfile::tempdir()?;
        let mut session = crate::command::Session::new(crate::Db::open(dir.path())?);
        assert_eq!(
            session.execute(&["ZADD", "z", "1", "a", "2.5", "b"]),
            Reply::Integer(2)
        );
        let flat = Reply::Array(vec![
            bulk("a"),
            Reply::Double(1.0),
            bulk("b"),
            Reply::Double(2.5),
        ]);
        assert_eq!(
            session.execute(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
            flat
        );
        assert!(!session.execute(&["HELLO", "3"]).is_error());
        let pairs = Reply::Array(vec![pair("a", 1.0), pair("b", 2.5)]);
        assert_eq!(
            session.execute(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
            pairs
        );
        assert_eq!(
            session.execute(&["ZRANDMEMBER", "z", "5", "WITHSCORES"]),
            pairs
        );
        assert_eq!(
            session.execute(&["ZSCAN", "z", "0"]),
            Reply::Array(vec![
                bulk("0"),
                Reply::Array(vec![bulk("a"), bulk("1"), bulk("b"), bulk("2.5")])
            ])
        );
        // ZPOPMIN without a count stays flat; with one, it pairs.
        assert_eq!(
            session.execute(&["ZPOPMIN", "z"]),
            Reply::Array(vec![bulk("a"), Reply::Double(1.0)])
        );
        assert_eq!(
            session.execute(&["ZPOPMAX", "z", "1"]),
            Reply::Array(vec![pair("b", 2.5)])
        );
        Ok(())
    }

    #[test]
    fn a_blocked_session_is_served_by_another_and_exec_never_blocks() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = crate::Db::open(dir.path())?;
        let mut waiter = crate::command::Session::new(db.clone());
        let thread = std::thread::spawn(move || waiter.execute(&["BZPOPMIN", "none", "z", "0"]));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while db.tx(|tx| Ok(tx.blocked_clients()))? == 0 {
            assert!(std::time::Instant::now() < deadline, "never blocked");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let mut session = crate::command::Session::new(db);
        session.execute(&["ZADD", "z", "1", "a", "2", "b"]);
        let served = thread.join().map_err(|_| "the waiter panicked")?;
        assert_eq!(
            served,
            Reply::Array(vec![bulk("z"), bulk("a"), Reply::Double(1.0)])
        );
        // Inside EXEC, an empty key answers the timeout reply at once, whatever the timeout.
        session.execute(&["MULTI"]);
        session.execute(&["BZPOPMIN", "none", "0"]);
        session.execute(&["BZMPOP", "0", "1", "none", "MIN"]);
        session.execute(&["BZMPOP", "0", "2", "none", "z", "MAX", "COUNT", "5"]);
        assert_eq!(
            session.execute(&["EXEC"]),
            Reply::Array(vec![
                Reply::NilArray,
                Reply::NilArray,
                Reply::Array(vec![bulk("z"), Reply::Array(vec![pair("b", 2.0)])])
            ])
        );
        Ok(())
    }

    #[test]
    fn zrank_accepts_redis_7_2_withscore() -> TestResult {
        let dir = tempfile::tempdir()?;
        let mut session = crate::command::Session::new(crate::Db::open(dir.path())?);
        session.execute(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
        assert_eq!(
            session.execute(&["ZRANK", "z", "b", "withscore"]),
            Reply::Array(vec![Reply::Integer(1), Reply::Double(2.0)])
        );
        assert_eq!(
            session.execute(&["ZREVRANK", "z", "c", "WITHSCORE"]),
            Reply::Array(vec![Reply::Integer(0), Reply::Double(3.0)])
        );
        assert_eq!(
            session.execute(&["ZRANK", "z", "x", "WITHSCORE"]),
            Reply::NilArray
        );
        assert_eq!(
            session.execute(&["ZRANK", "none", "x", "WITHSCORE"]),
            Reply::NilArray
        );
        assert_eq!(session.execute(&["ZRANK", "z", "x"]), Reply::Nil);
        // Any other extra argument is a wrong arity, as Redis 7.0 answers every one.
        let arity = Reply::err("wrong number of arguments for 'zrevrank' command");
        assert_eq!(session.execute(&["ZREVRANK", "z", "a", "foo"]), arity);
        assert_eq!(
            session.execute(&["ZREVRANK", "z", "a", "WITHSCORE", "x"]),
            arity
        );
        Ok(())
    }
}
