//! Commands for hashes: argument parsing and reply shapes. Semantics live in `types::hash`.
//!
//! Reply shapes are Redis 7.0's: HGETALL answers a map (`%` in RESP3, a flat array of fields
//! and values in RESP2); HRANDFIELD ... WITHVALUES an array of `[field, value]` pairs in RESP3
//! and a flat array in RESP2; HSCAN a flat array of fields and values in both. Errors come in
//! Redis's order: the numeric argument (HINCRBY's increment, HINCRBYFLOAT's, HRANDFIELD's
//! count) before the key's type, and HSCAN's cursor before the key but its options only once
//! the key is known to hold a hash.

use super::args::{CmdResult, int, is, parse_cursor, scan_options, syntax_error};
use super::{Ctx, FAST, KEY1, RO, RW, Reply, commands};
use crate::keydir::ValueType;
use crate::resp::Protocol;
use crate::types::hash::HashError;

commands! {
    HASH;
    "hset", -4, RW | FAST, KEY1, "hash", "HSET key field value [field value ...]", "Creates or modifies the value of a field in a hash.", hset;
    "hsetnx", 4, RW | FAST, KEY1, "hash", "HSETNX key field value", "Sets the value of a field in a hash only when the field doesn't exist.", hsetnx;
    "hget", 3, RO | FAST, KEY1, "hash", "HGET key field", "Returns the value of a field in a hash.", hget;
    "hmset", -4, RW | FAST, KEY1, "hash", "HMSET key field value [field value ...]", "Sets the values of multiple fields.", hmset;
    "hmget", -3, RO | FAST, KEY1, "hash", "HMGET key field [field ...]", "Returns the values of all fields in a hash.", hmget;
    "hincrby", 4, RW | FAST, KEY1, "hash", "HINCRBY key field increment", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", hincrby;
    "hincrbyfloat", 4, RW | FAST, KEY1, "hash", "HINCRBYFLOAT key field increment", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", hincrbyfloat;
    "hdel", -3, RW | FAST, KEY1, "hash", "HDEL key field [field ...]", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", hdel;
    "hlen", 2, RO | FAST, KEY1, "hash", "HLEN key", "Returns the number of fields in a hash.", hlen;
    "hstrlen", 3, RO | FAST, KEY1, "hash", "HSTRLEN key field", "Returns the length of the value of a field.", hstrlen;
    "hkeys", 2, RO, KEY1, "hash", "HKEYS key", "Returns all fields in a hash.", hkeys;
    "hvals", 2, RO, KEY1, "hash", "HVALS key", "Returns all values in a hash.", hvals;
    "hgetall", 2, RO, KEY1, "hash", "HGETALL key", "Returns all fields and values in a hash.", hgetall;
    "hexists", 3, RO | FAST, KEY1, "hash", "HEXISTS key field", "Determines whether a field exists in a hash.", hexists;
    "hrandfield", -2, RO, KEY1, "hash", "HRANDFIELD key [count [WITHVALUES]]", "Returns one or more random fields from a hash.", hrandfield;
    "hscan", -3, RO, KEY1, "hash", "HSCAN key cursor [MATCH pattern] [COUNT count]", "Iterates over fields and values of a hash.", hscan;
}

/// A field and its value, as HSET takes them.
type Pair<'a> = (&'a [u8], &'a [u8]);

/// The field-value pairs after the key; an odd number of them is Redis's arity error, which
/// names the command as the client spelled it in lower case.
fn pairs<'a>(argv: &[&'a [u8]], command: &str) -> Result<Vec<Pair<'a>>, Reply> {
    if argv.len() % 2 == 1 {
        return Err(Reply::err(format!(
            "wrong number of arguments for '{command}' command"
        )));
    }
    Ok(argv[2..].chunks_exact(2).map(|p| (p[0], p[1])).collect())
}

/// Values as bulk strings, missing ones as nil.
fn optional_bulks(values: Vec<Option<Vec<u8>>>) -> Reply {
    Reply::Array(values.into_iter().map(Reply::bulk_or_nil).collect())
}

/// Byte strings as bulk strings.
fn bulks(items: Vec<Vec<u8>>) -> Reply {
    Reply::Array(items.into_iter().map(Reply::Bulk).collect())
}

/// A refusal of the command, as Redis words it.
fn refused(error: HashError) -> Reply {
    Reply::err(error)
}

/// `HSET key field value [field value ...]`
pub(super) fn hset(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let pairs = pairs(argv, "hset")?;
    Ok(Reply::Integer(ctx.tx.hset(argv[1], &pairs)? as i64))
}

/// `HMSET key field value [field value ...]`
pub(super) fn hmset(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let pairs = pairs(argv, "hmset")?;
    ctx.tx.hmset(argv[1], &pairs)?;
    Ok(Reply::ok())
}

/// `HSETNX key field value`
pub(super) fn hsetnx(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let set = ctx.tx.hsetnx(argv[1], argv[2], argv[3])?;
    Ok(Reply::Integer(i64::from(set)))
}

/// `HGET key field`
pub(super) fn hget(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::bulk_or_nil(ctx.tx.hget(argv[1], argv[2])?))
}

/// `HMGET key field [field ...]`
pub(super) fn hmget(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(optional_bulks(ctx.tx.hmget(argv[1], &argv[2..])?))
}

/// `HGETALL key`
pub(super) fn hgetall(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let pairs = ctx.tx.hgetall(argv[1])?;
    Ok(Reply::Map(
        pairs
            .into_iter()
            .map(|(field, value)| (Reply::Bulk(field), Reply::Bulk(value)))
            .collect(),
    ))
}

/// `HKEYS key`
pub(super) fn hkeys(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(bulks(ctx.tx.hkeys(argv[1])?))
}

/// `HVALS key`
pub(super) fn hvals(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(bulks(ctx.tx.hvals(argv[1])?))
}

/// `HDEL key field [field ...]`
pub(super) fn hdel(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.hdel(argv[1], &argv[2..])? as i64))
}

/// `HEXISTS key field`
pub(super) fn hexists(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(i64::from(ctx.tx.hexists(argv[1], argv[2])?)))
}

/// `HLEN key`
pub(super) fn hlen(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.hlen(argv[1])? as i64))
}

/// `HSTRLEN key field`
pub(super) fn hstrlen(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.hstrlen(argv[1], argv[2])? as i64))
}

/// `HINCRBY key field increment`
pub(super) fn hincrby(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let delta = int(argv[3])?;
    match ctx.tx.hincrby(argv[1], argv[2], delta)? {
        Ok(value) => Ok(Reply::Integer(value)),
        Err(e) => Err(refused(e)),
    }
}

/// `HINCRBYFLOAT key field increment`
pub(super) fn hincrbyfloat(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    match ctx.tx.hincrbyfloat(argv[1], argv[2], argv[3])? {
        Ok(value) => Ok(Reply::Bulk(value)),
        Err(e) => Err(refused(e)),
    }
}

/// Largest |count| of HRANDFIELD ... WITHVALUES, whose reply has twice as many entries
/// (Redis: `LONG_MAX / 2`).
const MAX_COUNT_WITH_VALUES: i64 = i64::MAX / 2;

/// `HRANDFIELD key [count [WITHVALUES]]`
pub(super) fn hrandfield(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let Some(&count) = argv.get(2) else {
        return Ok(Reply::bulk_or_nil(ctx.tx.hrandfield(argv[1])?));
    };
    let count = int(count)?;
    if count == i64::MIN {
        return Err(Reply::err(format!(
            "value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )));
    }
    let with_values = match argv.get(3..).unwrap_or_default() {
        [] => false,
        [option] if is(option, "WITHVALUES") => true,
        _ => return Err(syntax_error()),
    };
    if !with_values {
        return match ctx.tx.hrandfield_count(argv[1], count)? {
            Ok(fields) => Ok(bulks(fields)),
            Err(e) => Err(refused(e)),
        };
    }
    if !(-MAX_COUNT_WITH_VALUES..=MAX_COUNT_WITH_VALUES).contains(&count) {
        return Err(refused(HashError::CountOutOfRange));
    }
    let pairs = match ctx.tx.hrandfield_with_values(argv[1], count)? {
        Ok(pairs) => pairs,
        Err(e) => return Err(refused(e)),
    };
    Ok(Reply::Array(if ctx.client.protocol == Protocol::Resp3 {
        pairs
            .into_iter()
            .map(|(field, value)| Reply::Array(vec![Reply::Bulk(field), Reply::Bulk(value)]))
            .collect()
    } else {
        pairs
            .into_iter()
            .flat_map(|(field, value)| [Reply::Bulk(field), Reply::Bulk(value)])
            .collect()
    }))
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count]`
pub(super) fn hscan(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(argv[2]).ok_or_else(|| Reply::err("invalid cursor"))?;
    let scan_reply = |cursor: u64, pairs: Vec<(Vec<u8>, Vec<u8>)>| {
        Reply::Array(vec![
            Reply::Bulk(cursor.to_string().into_bytes()),
            Reply::Array(
                pairs
                    .into_iter()
                    .flat_map(|(field, value)| [Reply::Bulk(field), Reply::Bulk(value)])
                    .collect(),
            ),
        ])
    };
    // As Redis, a missing key answers an empty page before the options are even read.
    if ctx.tx.typed_entry(argv[1], ValueType::Hash)?.is_none() {
        return Ok(scan_reply(0, Vec::new()));
    }
    let (pattern, count) = scan_options(&argv[3..])?;
    let page = ctx.tx.hscan(argv[1], cursor, pattern, count)?;
    Ok(scan_reply(page.cursor, page.pairs))
}
