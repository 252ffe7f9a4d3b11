//! Keyspace and TTL commands: argument parsing and reply shapes. Semantics live in
//! `types::keys`.

use super::args::{CmdResult, int, int32, is, parse_cursor, syntax_error, text};
use super::{Ctx, Reply};
use crate::error::Error;
use crate::types::ExpireCondition;
use crate::types::keys::Ttl;

pub(super) fn del(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.del(&argv[1..])? as i64))
}

pub(super) fn exists(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.exists(&argv[1..])? as i64))
}

pub(super) fn touch(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.touch(&argv[1..])? as i64))
}

pub(super) fn type_(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let name = ctx.tx.value_type(argv[1])?.map_or("none", |t| t.name());
    Ok(Reply::Status(name.to_owned()))
}

pub(super) fn rename(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    ctx.tx.rename(argv[1], argv[2], false)?;
    Ok(Reply::ok())
}

pub(super) fn renamenx(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(i64::from(
        ctx.tx.rename(argv[1], argv[2], true)?,
    )))
}

/// Parses a database index argument: an `int`, then 0..16.
fn db_index(arg: &[u8]) -> Result<u8, Reply> {
    let index = int32(arg)?;
    u8::try_from(index)
        .ok()
        .filter(|&i| i < crate::log::record::NUM_DBS)
        .ok_or_else(|| Error::DbIndexOutOfRange.into())
}

pub(super) fn copy(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let mut dst_db = None;
    let mut replace = false;
    let mut i = 3;
    while i < argv.len() {
        if is(argv[i], "REPLACE") {
            replace = true;
        } else if is(argv[i], "DB") && i + 1 < argv.len() {
            dst_db = Some(db_index(argv[i + 1])?);
            i += 1;
        } else {
            return Err(syntax_error());
        }
        i += 1;
    }
    Ok(Reply::Integer(i64::from(
        ctx.tx.copy(argv[1], argv[2], dst_db, replace)?,
    )))
}

pub(super) fn move_(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let dst = db_index(argv[2])?;
    Ok(Reply::Integer(i64::from(ctx.tx.move_key(argv[1], dst)?)))
}

pub(super) fn keys(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let keys = ctx.tx.keys(argv[1])?;
    Ok(Reply::Array(keys.into_iter().map(Reply::Bulk).collect()))
}

pub(super) fn scan(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(argv[1]).ok_or_else(|| Reply::err("invalid cursor"))?;
    let mut pattern = None;
    let mut count = 10usize;
    let mut vtype = None;
    let mut i = 2;
    while i < argv.len() {
        let value = argv.get(i + 1).copied().ok_or_else(syntax_error)?;
        if is(argv[i], "MATCH") {
            pattern = Some(value).filter(|p| *p != b"*");
        } else if is(argv[i], "COUNT") {
            count = usize::try_from(int(value)?)
                .ok()
                .filter(|&c| c >= 1)
                .ok_or_else(syntax_error)?;
        } else if is(argv[i], "TYPE") {
            vtype = Some(text(value));
        } else {
            return Err(syntax_error());
        }
        i += 2;
    }
    let page = ctx.tx.scan(cursor, pattern, count, vtype.as_deref())?;
    Ok(Reply::Array(vec![
        Reply::Bulk(page.cursor.to_string().into_bytes()),
        Reply::Array(page.keys.into_iter().map(Reply::Bulk).collect()),
    ]))
}

pub(super) fn dbsize(ctx: &mut Ctx<'_, '_>, _argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.dbsize() as i64))
}

/// FLUSHDB/FLUSHALL take an optional ASYNC or SYNC (both run synchronously here: one record).
fn flush_mode(argv: &[&[u8]]) -> Result<(), Reply> {
    match argv {
        [_] => Ok(()),
        [_, mode] if is(mode, "ASYNC") || is(mode, "SYNC") => Ok(()),
        _ => Err(syntax_error()),
    }
}

pub(super) fn flushdb(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    flush_mode(argv)?;
    ctx.tx.flushdb()?;
    Ok(Reply::ok())
}

pub(super) fn flushall(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    flush_mode(argv)?;
    ctx.tx.flushall()?;
    Ok(Reply::ok())
}

pub(super) fn randomkey(ctx: &mut Ctx<'_, '_>, _argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::bulk_or_nil(ctx.tx.randomkey()?))
}

/// EXPIRE's trailing NX/XX/GT/LT options, with Redis's compatibility errors.
fn expire_condition(options: &[&[u8]]) -> Result<ExpireCondition, Reply> {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in options {
        if is(opt, "NX") {
            nx = true;
        } else if is(opt, "XX") {
            xx = true;
        } else if is(opt, "GT") {
            gt = true;
        } else if is(opt, "LT") {
            lt = true;
        } else {
            return Err(Reply::err(format!("Unsupported option {}", text(opt))));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(Reply::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(Reply::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    Ok(match (nx, xx, gt, lt) {
        (true, ..) => ExpireCondition::IfNone,
        (_, _, true, _) => ExpireCondition::IfGreater,
        (_, true, _, true) => ExpireCondition::IfSomeAndLess,
        (_, _, _, true) => ExpireCondition::IfLess,
        (_, true, ..) => ExpireCondition::IfSome,
        _ => ExpireCondition::Always,
    })
}

/// The shared body of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT.
fn expire_generic(
    ctx: &mut Ctx<'_, '_>,
    argv: &[&[u8]],
    command: &str,
    seconds: bool,
    relative: bool,
) -> CmdResult {
    let condition = expire_condition(&argv[3..])?;
    let invalid = || Reply::from(Error::InvalidExpireTime(command.to_owned()));
    let mut when = int(argv[2])?;
    if seconds {
        when = when.checked_mul(1000).ok_or_else(invalid)?;
    }
    if relative {
        when = when.checked_add(ctx.tx.now() as i64).ok_or_else(invalid)?;
    }
    let applied = ctx.tx.expire_at(argv[1], when, condition)?;
    Ok(Reply::Integer(i64::from(applied)))
}

pub(super) fn expire(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    expire_generic(ctx, argv, "expire", true, true)
}

pub(super) fn pexpire(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    expire_generic(ctx, argv, "pexpire", false, true)
}

pub(super) fn expireat(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    expire_generic(ctx, argv, "expireat", true, false)
}

pub(super) fn pexpireat(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    expire_generic(ctx, argv, "pexpireat", false, false)
}

/// The shared body of TTL, PTTL, EXPIRETIME and PEXPIRETIME.
fn ttl_generic(ctx: &mut Ctx<'_, '_>, key: &[u8], millis: bool, absolute: bool) -> CmdResult {
    let now = ctx.tx.now() as i64;
    Ok(Reply::Integer(match ctx.tx.ttl(key)? {
        Ttl::Missing => -2,
        Ttl::Persistent => -1,
        Ttl::At(at) => {
            let at = i64::try_from(at).unwrap_or(i64::MAX);
            let ms = if absolute { at } else { (at - now).max(0) };
            if millis { ms } else { round_to_seconds(ms) }
        }
    }))
}

/// Milliseconds (never negative) to the nearest second, half up, as Redis's `(ms + 500) / 1000`
/// but without overflowing for times within 500 ms of `i64::MAX`.
fn round_to_seconds(ms: i64) -> i64 {
    ms / 1000 + i64::from(ms % 1000 >= 500)
}

pub(super) fn ttl(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(ctx, argv[1], false, false)
}

pub(super) fn pttl(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(ctx, argv[1], true, false)
}

pub(super) fn expiretime(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(ctx, argv[1], false, true)
}

pub(super) fn pexpiretime(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(ctx, argv[1], true, true)
}

pub(super) fn persist(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(i64::from(ctx.tx.persist(argv[1])?)))
}

#[cfg(test)]
mod tests {
    use super::{ExpireCondition, expire_condition, parse_cursor, round_to_seconds};

    #[test]
    fn ttl_seconds_round_half_up_without_overflow() {
        assert_eq!(round_to_seconds(0), 0);
        assert_eq!(round_to_seconds(499), 0);
        assert_eq!(round_to_seconds(500), 1);
        assert_eq!(round_to_seconds(1499), 1);
        assert_eq!(round_to_seconds(i64::MAX), 9_223_372_036_854_776);
    }

    #[test]
    fn xx_with_lt_still_requires_an_expiry() {
        let parse = |opts: &[&[u8]]| expire_condition(opts).ok();
        assert_eq!(parse(&[b"XX", b"LT"]), Some(ExpireCondition::IfSomeAndLess));
        assert_eq!(parse(&[b"lt", b"xx"]), Some(ExpireCondition::IfSomeAndLess));
        assert_eq!(parse(&[b"LT"]), Some(ExpireCondition::IfLess));
        assert_eq!(parse(&[b"XX", b"GT"]), Some(ExpireCondition::IfGreater));
    }

    #[test]
    fn scan_cursor_parses_as_strtoul_does() {
        assert_eq!(parse_cursor(b"17"), Some(17));
        assert_eq!(parse_cursor(b"007"), Some(7));
        assert_eq!(parse_cursor(b"+3"), Some(3));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"-18446744073709551615"), Some(1));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"5\0junk"), Some(5));
        for bad in [
            &b"18446744073709551616"[..],
            b"-18446744073709551616",
            b"+",
            b"-",
            b" 1",
            b"1 ",
            b"1.5",
            b"abc",
        ] {
            assert_eq!(parse_cursor(bad), None, "{}", bad.escape_ascii());
        }
    }
}
