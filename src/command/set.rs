//! Commands for sets: argument parsing and reply shapes. Semantics live in `types::set`.
//!
//! Reply shapes are Redis 7.0's in RESP3: SMEMBERS, SINTER, SUNION, SDIFF and SPOP with a
//! count answer a set (`~`), SRANDMEMBER with a count and SMISMEMBER an array; RESP2 clients
//! see arrays for all of them. Errors come in Redis's order: a count argument is parsed before
//! the key is looked up, and SSCAN's options only once the key is known to hold a set.

use super::args::{CmdResult, int, is, parse_cursor, scan_options, syntax_error};
use super::{ALL_KEYS, Ctx, FAST, KEY1, KEY12, NO_KEYS, RO, RW, Reply, commands};
use crate::error::Error;
use crate::keydir::ValueType;
use crate::types::set::MAX_RANDOM_PICKS;

commands! {
    SET;
    "sadd", -3, RW | FAST, KEY1, "set", "SADD key member [member ...]", "Adds one or more members to a set. Creates the key if it doesn't exist.", sadd;
    "srem", -3, RW | FAST, KEY1, "set", "SREM key member [member ...]", "Removes one or more members from a set. Deletes the set if the last member was removed.", srem;
    "smembers", 2, RO, KEY1, "set", "SMEMBERS key", "Returns all members of a set.", smembers;
    "sismember", 3, RO | FAST, KEY1, "set", "SISMEMBER key member", "Determines whether a member belongs to a set.", sismember;
    "smismember", -3, RO | FAST, KEY1, "set", "SMISMEMBER key member [member ...]", "Determines whether multiple members belong to a set.", smismember;
    "scard", 2, RO | FAST, KEY1, "set", "SCARD key", "Returns the number of members in a set.", scard;
    "spop", -2, RW | FAST, KEY1, "set", "SPOP key [count]", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", spop;
    "srandmember", -2, RO, KEY1, "set", "SRANDMEMBER key [count]", "Get one or multiple random members from a set", srandmember;
    "smove", 4, RW | FAST, KEY12, "set", "SMOVE source destination member", "Moves a member from one set to another.", smove;
    "sinter", -2, RO, ALL_KEYS, "set", "SINTER key [key ...]", "Returns the intersect of multiple sets.", sinter;
    "sintercard", -3, RO, NO_KEYS, "set", "SINTERCARD numkeys key [key ...] [LIMIT limit]", "Returns the number of members of the intersect of multiple sets.", sintercard;
    "sunion", -2, RO, ALL_KEYS, "set", "SUNION key [key ...]", "Returns the union of multiple sets.", sunion;
    "sdiff", -2, RO, ALL_KEYS, "set", "SDIFF key [key ...]", "Returns the difference of multiple sets.", sdiff;
    "sinterstore", -3, RW, ALL_KEYS, "set", "SINTERSTORE destination key [key ...]", "Stores the intersect of multiple sets in a key.", sinterstore;
    "sunionstore", -3, RW, ALL_KEYS, "set", "SUNIONSTORE destination key [key ...]", "Stores the union of multiple sets in a key.", sunionstore;
    "sdiffstore", -3, RW, ALL_KEYS, "set", "SDIFFSTORE destination key [key ...]", "Stores the difference of multiple sets in a key.", sdiffstore;
    "sscan", -3, RO, KEY1, "set", "SSCAN key cursor [MATCH pattern] [COUNT count]", "Iterates over members of a set.", sscan;
}

/// Members as bulk strings.
fn bulks(members: Vec<Vec<u8>>) -> Vec<Reply> {
    members.into_iter().map(Reply::Bulk).collect()
}

/// Redis's range error for a count outside `min..=max` (getRangeLongFromObjectOrReply).
fn out_of_range(min: i64, max: i64) -> Reply {
    Reply::err(format!(
        "value is out of range, value must between {min} and {max}"
    ))
}

/// Parses a count that must be a non-negative integer, with the error text Redis gives for
/// both a non-integer and a negative value (getPositiveLongFromObjectOrReply).
fn positive(arg: &[u8], message: &str) -> Result<u64, Reply> {
    int(arg)
        .ok()
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| Reply::err(message))
}

/// `SADD key member [member ...]`
pub(super) fn sadd(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.sadd(argv[1], &argv[2..])? as i64))
}

/// `SREM key member [member ...]`
pub(super) fn srem(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.srem(argv[1], &argv[2..])? as i64))
}

/// `SMEMBERS key`
pub(super) fn smembers(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Set(bulks(ctx.tx.smembers(argv[1])?)))
}

/// `SISMEMBER key member`
pub(super) fn sismember(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(i64::from(
        ctx.tx.sismember(argv[1], argv[2])?,
    )))
}

/// `SMISMEMBER key member [member ...]`
pub(super) fn smismember(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let found = ctx.tx.smismember(argv[1], &argv[2..])?;
    Ok(Reply::Array(
        found
            .into_iter()
            .map(|f| Reply::Integer(i64::from(f)))
            .collect(),
    ))
}

/// `SCARD key`
pub(super) fn scard(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.scard(argv[1])? as i64))
}

/// `SPOP key [count]`
pub(super) fn spop(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    match argv {
        [_, key] => Ok(Reply::bulk_or_nil(ctx.tx.spop(key)?)),
        [_, key, count] => {
            let count = positive(count, "value is out of range, must be positive")?;
            Ok(Reply::Set(bulks(ctx.tx.spop_count(key, count)?)))
        }
        _ => Err(syntax_error()),
    }
}

/// `SRANDMEMBER key [count]`
pub(super) fn srandmember(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    match argv {
        [_, key] => Ok(Reply::bulk_or_nil(ctx.tx.srandmember(key)?)),
        [_, key, count] => {
            let count = int(count)?;
            if count == i64::MIN {
                return Err(out_of_range(-i64::MAX, i64::MAX));
            }
            match ctx.tx.srandmember_count(key, count) {
                Ok(members) => Ok(Reply::Array(bulks(members))),
                // The cap on picks that may repeat (see `MAX_RANDOM_PICKS`), told as the
                // range the count must be in.
                Err(Error::NotInteger) => Err(out_of_range(
                    -i64::try_from(MAX_RANDOM_PICKS).unwrap_or(i64::MAX),
                    i64::MAX,
                )),
                Err(e) => Err(e.into()),
            }
        }
        _ => Err(syntax_error()),
    }
}

/// `SMOVE source destination member`
pub(super) fn smove(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(i64::from(
        ctx.tx.smove(argv[1], argv[2], argv[3])?,
    )))
}

/// `SINTER key [key ...]`
pub(super) fn sinter(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Set(bulks(ctx.tx.sinter(&argv[1..])?)))
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`
pub(super) fn sintercard(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let numkeys = int(argv[1])
        .ok()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| Reply::err("numkeys should be greater than 0"))?;
    let Some(keys) = argv.get(2..).and_then(|rest| rest.get(..numkeys)) else {
        return Err(Reply::err(
            "Number of keys can't be greater than number of args",
        ));
    };
    let mut limit = 0;
    let mut options = argv.get(2 + numkeys..).unwrap_or_default().iter();
    while let Some(option) = options.next() {
        match options.next() {
            Some(value) if is(option, "LIMIT") => {
                limit = positive(value, "LIMIT can't be negative")?;
            }
            _ => return Err(syntax_error()),
        }
    }
    Ok(Reply::Integer(ctx.tx.sintercard(keys, limit)? as i64))
}

/// `SUNION key [key ...]`
pub(super) fn sunion(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Set(bulks(ctx.tx.sunion(&argv[1..])?)))
}

/// `SDIFF key [key ...]`
pub(super) fn sdiff(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Set(bulks(ctx.tx.sdiff(&argv[1..])?)))
}

/// `SINTERSTORE destination key [key ...]`
pub(super) fn sinterstore(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(
        ctx.tx.sinterstore(argv[1], &argv[2..])? as i64
    ))
}

/// `SUNIONSTORE destination key [key ...]`
pub(super) fn sunionstore(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(
        ctx.tx.sunionstore(argv[1], &argv[2..])? as i64
    ))
}

/// `SDIFFSTORE destination key [key ...]`
pub(super) fn sdiffstore(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(
        ctx.tx.sdiffstore(argv[1], &argv[2..])? as i64
    ))
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]`
pub(super) fn sscan(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(argv[2]).ok_or_else(|| Reply::err("invalid cursor"))?;
    let scan_reply = |cursor: u64, members: Vec<Vec<u8>>| {
        Reply::Array(vec![
            Reply::Bulk(cursor.to_string().into_bytes()),
            Reply::Array(bulks(members)),
        ])
    };
    // As Redis, a missing key answers an empty page before the options are even read.
    if ctx.tx.typed_entry(argv[1], ValueType::Set)?.is_none() {
        return Ok(scan_reply(0, Vec::new()));
    }
    let (pattern, count) = scan_options(&argv[3..])?;
    let page = ctx.tx.sscan(argv[1], cursor, pattern, count)?;
    Ok(scan_reply(page.cursor, page.keys))
}
