//! Commands for lists: argument parsing and reply shapes. Semantics live in `types::list`.
//!
//! Errors come in Redis's order: LPOP's count, LRANGE's, LTRIM's and LREM's integers, LPOS's
//! options, LMPOP's numkeys, direction and COUNT, LINSERT's BEFORE|AFTER, LMOVE's directions
//! and every blocking command's timeout are parsed before the key is looked up; LINDEX's and
//! LSET's index only after the key's type is checked. Replies have the same shapes in RESP2
//! and RESP3 (arrays), except the nulls: a missing key gives LPOP with a count, LMPOP and a
//! timed-out BLPOP / BRPOP / BLMPOP / BLMOVE / BRPOPLPUSH the null *array* (RESP2 `*-1`).
//!
//! The blocking commands try to pop exactly as their non-blocking forms; when every key is
//! empty they block the client ([`super::blocking::block`]) with a closure that performs the
//! same pop on the key that a later command fills. Inside EXEC they answer at once: the null
//! array, except BLMOVE and BRPOPLPUSH, which answer a plain null there as Redis does.

use super::args::{CmdResult, int, is, syntax_error};
use super::{Ctx, FAST, KEY1, KEY12, NO_KEYS, RO, RW, Reply, commands};
use crate::error::Error;
use crate::types::list::{End, ListError, Pivot};

commands! {
    LIST;
    "lpush", -3, RW | FAST, KEY1, "list", "LPUSH key element [element ...]", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", lpush;
    "rpush", -3, RW | FAST, KEY1, "list", "RPUSH key element [element ...]", "Appends one or more elements to a list. Creates the key if it doesn't exist.", rpush;
    "lpushx", -3, RW | FAST, KEY1, "list", "LPUSHX key element [element ...]", "Prepends one or more elements to a list only when the list exists.", lpushx;
    "rpushx", -3, RW | FAST, KEY1, "list", "RPUSHX key element [element ...]", "Appends an element to a list only when the list exists.", rpushx;
    "lpop", -2, RW | FAST, KEY1, "list", "LPOP key [count]", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", lpop;
    "rpop", -2, RW | FAST, KEY1, "list", "RPOP key [count]", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", rpop;
    "llen", 2, RO | FAST, KEY1, "list", "LLEN key", "Returns the length of a list.", llen;
    "lrange", 4, RO, KEY1, "list", "LRANGE key start stop", "Returns a range of elements from a list.", lrange;
    "lindex", 3, RO, KEY1, "list", "LINDEX key index", "Returns an element from a list by its index.", lindex;
    "lset", 4, RW, KEY1, "list", "LSET key index element", "Sets the value of an element in a list by its index.", lset;
    "linsert", 5, RW, KEY1, "list", "LINSERT key <BEFORE | AFTER> pivot element", "Inserts an element before or after another element in a list.", linsert;
    "lrem", 4, RW, KEY1, "list", "LREM key count element", "Removes elements from a list. Deletes the list if the last element was removed.", lrem;
    "ltrim", 4, RW, KEY1, "list", "LTRIM key start stop", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", ltrim;
    "lpos", -3, RO, KEY1, "list", "LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]", "Returns the index of matching elements in a list.", lpos;
    "lmove", 5, RW, KEY12, "list", "LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT>", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", lmove;
    "rpoplpush", 3, RW, KEY12, "list", "RPOPLPUSH source destination", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", rpoplpush;
    "lmpop", -4, RW, NO_KEYS, "list", "LMPOP numkeys key [key ...] <LEFT | RIGHT> [COUNT count]", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", lmpop;
    "blpop", -3, RW, (1, -2, 1), "list", "BLPOP key [key ...] timeout", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", blpop;
    "brpop", -3, RW, (1, -2, 1), "list", "BRPOP key [key ...] timeout", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", brpop;
    "blmove", 6, RW, KEY12, "list", "BLMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", blmove;
    "brpoplpush", 4, RW, KEY12, "list", "BRPOPLPUSH source destination timeout", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", brpoplpush;
    "blmpop", -5, RW, NO_KEYS, "list", "BLMPOP timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", blmpop;
}

/// Values as bulk strings.
fn bulks(values: Vec<Vec<u8>>) -> Reply {
    Reply::Array(values.into_iter().map(Reply::Bulk).collect())
}

/// `[key, value]`, as BLPOP answers.
fn key_value(key: Vec<u8>, value: Vec<u8>) -> Reply {
    Reply::Array(vec![Reply::Bulk(key), Reply::Bulk(value)])
}

/// `[key, [value ...]]`, as LMPOP answers.
fn key_values(key: Vec<u8>, values: Vec<Vec<u8>>) -> Reply {
    Reply::Array(vec![Reply::Bulk(key), bulks(values)])
}

/// A refusal of the command, as Redis words it.
fn refused(error: ListError) -> Reply {
    Reply::err(error)
}

/// LEFT or RIGHT (Redis's `getListPositionFromObjectOrReply`).
fn end(arg: &[u8]) -> Result<End, Reply> {
    if is(arg, "LEFT") {
        Ok(End::Left)
    } else if is(arg, "RIGHT") {
        Ok(End::Right)
    } else {
        Err(syntax_error())
    }
}

/// An integer in `min..=i64::MAX`; any other argument is refused with `message` (Redis's
/// `getRangeLongFromObjectOrReply` with its own message).
fn at_least(arg: &[u8], min: i64, message: &str) -> Result<u64, Reply> {
    int(arg)
        .ok()
        .filter(|&n| n >= min)
        .map(|n| n.unsigned_abs())
        .ok_or_else(|| Reply::err(message))
}

/// `LPUSH key element [element ...]`
pub(super) fn lpush(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.lpush(argv[1], &argv[2..])? as i64))
}

/// `RPUSH key element [element ...]`
pub(super) fn rpush(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.rpush(argv[1], &argv[2..])? as i64))
}

/// `LPUSHX key element [element ...]`
pub(super) fn lpushx(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.lpushx(argv[1], &argv[2..])? as i64))
}

/// `RPUSHX key element [element ...]`
pub(super) fn rpushx(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.rpushx(argv[1], &argv[2..])? as i64))
}

/// `LPOP key [count]` and `RPOP key [count]`.
fn pop(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]], end: End) -> CmdResult {
    match argv {
        [_, key] => {
            let value = match end {
                End::Left => ctx.tx.lpop(key)?,
                End::Right => ctx.tx.rpop(key)?,
            };
            Ok(Reply::bulk_or_nil(value))
        }
        [_, key, count] => {
            let count = at_least(count, 0, "value is out of range, must be positive")?;
            let values = match end {
                End::Left => ctx.tx.lpop_count(key, count)?,
                End::Right => ctx.tx.rpop_count(key, count)?,
            };
            Ok(values.map_or(Reply::NilArray, bulks))
        }
        _ => Err(Reply::err(format!(
            "wrong number of arguments for '{}' command",
            match end {
                End::Left => "lpop",
                End::Right => "rpop",
            }
        ))),
    }
}

/// `LPOP key [count]`
pub(super) fn lpop(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    pop(ctx, argv, End::Left)
}

/// `RPOP key [count]`
pub(super) fn rpop(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    pop(ctx, argv, End::Right)
}

/// `LLEN key`
pub(super) fn llen(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.llen(argv[1])? as i64))
}

/// `LRANGE key start stop`
pub(super) fn lrange(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (start, stop) = (int(argv[2])?, int(argv[3])?);
    Ok(bulks(ctx.tx.lrange(argv[1], start, stop)?))
}

/// `LINDEX key index`: the index is read only once the key holds a list.
pub(super) fn lindex(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    if ctx.tx.llen(argv[1])? == 0 {
        return Ok(Reply::Nil);
    }
    let index = int(argv[2])?;
    Ok(Reply::bulk_or_nil(ctx.tx.lindex(argv[1], index)?))
}

/// `LSET key index element`: the index is read only once the key holds a list.
pub(super) fn lset(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    if ctx.tx.llen(argv[1])? == 0 {
        return Err(Error::NoSuchKey.into());
    }
    let index = int(argv[2])?;
    match ctx.tx.lset(argv[1], index, argv[3])? {
        Ok(()) => Ok(Reply::ok()),
        Err(e) => Err(refused(e)),
    }
}

/// `LINSERT key <BEFORE | AFTER> pivot element`
pub(super) fn linsert(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let place = if is(argv[2], "BEFORE") {
        Pivot::Before
    } else if is(argv[2], "AFTER") {
        Pivot::After
    } else {
        return Err(syntax_error());
    };
    Ok(Reply::Integer(
        ctx.tx.linsert(argv[1], place, argv[3], argv[4])?,
    ))
}

/// `LREM key count element`
pub(super) fn lrem(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let count = int(argv[2])?;
    Ok(Reply::Integer(ctx.tx.lrem(argv[1], count, argv[3])? as i64))
}

/// `LTRIM key start stop`
pub(super) fn ltrim(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (start, stop) = (int(argv[2])?, int(argv[3])?);
    ctx.tx.ltrim(argv[1], start, stop)?;
    Ok(Reply::ok())
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`: each option is checked
/// as it is read, a later one may repeat an earlier one (the last wins).
pub(super) fn lpos(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let mut rank = 1;
    let mut count = None;
    let mut maxlen = 0;
    let mut options = argv[3..].iter();
    while let Some(option) = options.next() {
        let value = || options.as_slice().first().copied().ok_or_else(syntax_error);
        if is(option, "RANK") {
            rank = int(value()?)?;
            if rank == 0 {
                return Err(Reply::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list",
                ));
            }
        } else if is(option, "COUNT") {
            count = Some(at_least(value()?, 0, "COUNT can't be negative")?);
        } else if is(option, "MAXLEN") {
            maxlen = at_least(value()?, 0, "MAXLEN can't be negative")?;
        } else {
            return Err(syntax_error());
        }
        options.next();
    }
    match count {
        None => Ok(match ctx.tx.lpos(argv[1], argv[2], rank, maxlen)? {
            Some(index) => Reply::Integer(index as i64),
            None => Reply::Nil,
        }),
        Some(count) => {
            let found = ctx.tx.lpos_count(argv[1], argv[2], rank, count, maxlen)?;
            Ok(Reply::Array(
                found
                    .into_iter()
                    .map(|i| Reply::Integer(i as i64))
                    .collect(),
            ))
        }
    }
}

/// `LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT>`
pub(super) fn lmove(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (from, to) = (end(argv[3])?, end(argv[4])?);
    Ok(Reply::bulk_or_nil(
        ctx.tx.lmove(argv[1], argv[2], from, to)?,
    ))
}

/// `RPOPLPUSH source destination`
pub(super) fn rpoplpush(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::bulk_or_nil(ctx.tx.rpoplpush(argv[1], argv[2])?))
}

/// The parsed arguments of LMPOP and BLMPOP from their numkeys on.
struct MultiPop<'a> {
    keys: &'a [&'a [u8]],
    end: End,
    count: u64,
}

/// Parses `numkeys key [key ...] <LEFT | RIGHT> [COUNT count]` starting at `argv[at]`, as
/// Redis's `lmpopGenericCommand` does.
fn multi_pop<'a>(argv: &'a [&'a [u8]], at: usize) -> Result<MultiPop<'a>, Reply> {
    let numkeys = at_least(argv[at], 1, "numkeys should be greater than 0")?;
    let where_at = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(at + 1))
        .filter(|&w| w < argv.len())
        .ok_or_else(syntax_error)?;
    let end = end(argv[where_at])?;
    // COUNT once, its value checked before anything after it.
    let mut count = None;
    let mut options = argv[where_at + 1..].iter();
    while let Some(option) = options.next() {
        match options.as_slice().first() {
            Some(value) if count.is_none() && is(option, "COUNT") => {
                count = Some(at_least(value, 1, "count should be greater than 0")?);
                options.next();
            }
            _ => return Err(syntax_error()),
        }
    }
    Ok(MultiPop {
        keys: &argv[at + 1..where_at],
        end,
        count: count.unwrap_or(1),
    })
}

/// `LMPOP numkeys key [key ...] <LEFT | RIGHT> [COUNT count]`
pub(super) fn lmpop(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let call = multi_pop(argv, 1)?;
    Ok(match ctx.tx.lmpop(call.keys, call.end, call.count)? {
        Some((key, values)) => key_values(key, values),
        None => Reply::NilArray,
    })
}

/// Parses a blocking command's timeout argument.
fn timeout(ctx: &Ctx<'_, '_>, arg: &[u8]) -> Result<Option<std::time::Duration>, Reply> {
    super::blocking::timeout(arg, ctx.tx.now())
}

/// BLPOP, BRPOP and BLMPOP: pops from the first key holding a list, or blocks on all of them.
/// `reply` shapes what was popped from a key.
fn blocking_pop(
    ctx: &mut Ctx<'_, '_>,
    keys: &[&[u8]],
    end: End,
    count: u64,
    timeout: Option<std::time::Duration>,
    reply: fn(Vec<u8>, Vec<Vec<u8>>) -> Reply,
) -> CmdResult {
    if let Some((key, values)) = ctx.tx.lmpop(keys, end, count)? {
        return Ok(reply(key, values));
    }
    let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
    super::blocking::block(ctx, keys, timeout, Reply::NilArray, move |tx, key| {
        Ok(tx
            .pop_list(key, end, count)?
            .map(|values| reply(key.to_vec(), values)))
    })
}

/// BLPOP's and BRPOP's reply: the key and the one value.
fn one_value(key: Vec<u8>, values: Vec<Vec<u8>>) -> Reply {
    key_value(key, values.into_iter().next().unwrap_or_default())
}

/// `BLPOP key [key ...] timeout`
pub(super) fn blpop(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (keys, last) = argv.split_at(argv.len() - 1);
    let timeout = timeout(ctx, last[0])?;
    blocking_pop(ctx, &keys[1..], End::Left, 1, timeout, one_value)
}

/// `BRPOP key [key ...] timeout`
pub(super) fn brpop(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (keys, last) = argv.split_at(argv.len() - 1);
    let timeout = timeout(ctx, last[0])?;
    blocking_pop(ctx, &keys[1..], End::Right, 1, timeout, one_value)
}

/// `BLMPOP timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]`: the timeout is read
/// after the other arguments, as Redis does.
pub(super) fn blmpop(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let call = multi_pop(argv, 2)?;
    let timeout = timeout(ctx, argv[1])?;
    blocking_pop(ctx, call.keys, call.end, call.count, timeout, key_values)
}

/// BLMOVE and BRPOPLPUSH: moves from `src` if it holds a list, or blocks on it.
fn blocking_move(
    ctx: &mut Ctx<'_, '_>,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
    timeout: Option<std::time::Duration>,
) -> CmdResult {
    if let Some(value) = ctx.tx.lmove(src, dst, from, to)? {
        return Ok(Reply::Bulk(value));
    }
    if !ctx.client.can_block() {
        // Inside EXEC Redis answers a plain null here, though a timeout answers a null array.
        return Ok(Reply::Nil);
    }
    let target = dst.to_vec();
    super::blocking::block(
        ctx,
        vec![src.to_vec()],
        timeout,
        Reply::NilArray,
        move |tx, key| {
            if !tx.holds_list(key)? {
                return Ok(None);
            }
            match tx.lmove(key, &target, from, to) {
                Ok(moved) => Ok(moved.map(Reply::Bulk)),
                // The source is a list, so the destination is of another type: the client
                // gets the error (as Redis does) and the command that filled the source goes
                // on.
                Err(Error::WrongType) => Ok(Some(Error::WrongType.into())),
                Err(e) => Err(e),
            }
        },
    )
}

/// `BLMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout`
pub(super) fn blmove(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (from, to) = (end(argv[3])?, end(argv[4])?);
    let timeout = timeout(ctx, argv[5])?;
    blocking_move(ctx, argv[1], argv[2], from, to, timeout)
}

/// `BRPOPLPUSH source destination timeout`
pub(super) fn brpoplpush(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let timeout = timeout(ctx, argv[3])?;
    blocking_move(ctx, argv[1], argv[2], End::Right, End::Left, timeout)
}
