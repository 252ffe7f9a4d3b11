//! String commands: argument parsing and reply shapes. Semantics live in `types::string`.

use super::Ctx;
use super::Reply;
use super::args::{CmdResult, int, is, syntax_error};
use crate::error::Error;
use crate::log::Timestamp;
use crate::types::{Expiry, SetCondition, SetOptions};

/// Which expiry option a SET/GETEX argument list carried.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// SET and GETEX options, parsed with Redis's compatibility rules (each option conflicts with
/// the others of its group, never with itself).
#[derive(Default)]
struct ExtendedArgs<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    expire: Option<(Unit, &'a [u8])>,
}

fn parse_extended<'a>(args: &[&'a [u8]], is_set: bool) -> Result<ExtendedArgs<'a>, Reply> {
    let mut out = ExtendedArgs::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        let next = args.get(i + 1).copied();
        let unit = out.expire.map(|(u, _)| u);
        let other_expiry = |u: Unit| unit.is_some_and(|have| have != u);
        if is_set && is(arg, "NX") && !out.xx {
            out.nx = true;
        } else if is_set && is(arg, "XX") && !out.nx {
            out.xx = true;
        } else if is_set && is(arg, "GET") {
            out.get = true;
        } else if is_set && is(arg, "KEEPTTL") && !out.persist && unit.is_none() {
            out.keep_ttl = true;
        } else if !is_set && is(arg, "PERSIST") && unit.is_none() && !out.keep_ttl {
            out.persist = true;
        } else if let (Some(u), Some(value)) = (expiry_unit(arg), next)
            && !out.keep_ttl
            && !out.persist
            && !other_expiry(u)
        {
            out.expire = Some((u, value));
            i += 1;
        } else {
            return Err(syntax_error());
        }
        i += 1;
    }
    Ok(out)
}

fn expiry_unit(arg: &[u8]) -> Option<Unit> {
    [
        ("EX", Unit::Ex),
        ("PX", Unit::Px),
        ("EXAT", Unit::ExAt),
        ("PXAT", Unit::PxAt),
    ]
    .into_iter()
    .find(|(name, _)| is(arg, name))
    .map(|(_, u)| u)
}

/// Converts an expiry argument to an absolute time, with Redis's checks and error texts.
fn absolute_expiry(
    command: &str,
    unit: Unit,
    arg: &[u8],
    now: Timestamp,
) -> Result<Timestamp, Reply> {
    let invalid = || Reply::from(Error::InvalidExpireTime(command.to_owned()));
    let value = int(arg)?;
    let seconds = matches!(unit, Unit::Ex | Unit::ExAt);
    if value <= 0 || (seconds && value > i64::MAX / 1000) {
        return Err(invalid());
    }
    let ms = if seconds { value * 1000 } else { value };
    let at = match unit {
        Unit::Ex | Unit::Px => ms.checked_add(now as i64).ok_or_else(invalid)?,
        Unit::ExAt | Unit::PxAt => ms,
    };
    Ok(at as Timestamp)
}

pub(super) fn get(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::bulk_or_nil(ctx.tx.get(argv[1])?))
}

pub(super) fn set(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let parsed = parse_extended(&argv[3..], true)?;
    let expiry = match parsed.expire {
        Some((unit, arg)) => Some(Expiry::At(absolute_expiry("set", unit, arg, ctx.tx.now())?)),
        None => None,
    };
    let opts = SetOptions {
        condition: match (parsed.nx, parsed.xx) {
            (true, _) => Some(SetCondition::IfAbsent),
            (_, true) => Some(SetCondition::IfPresent),
            _ => None,
        },
        get: parsed.get,
        expiry,
        keep_ttl: parsed.keep_ttl,
    };
    let outcome = ctx.tx.set(argv[1], argv[2], opts)?;
    Ok(if opts.get {
        Reply::bulk_or_nil(outcome.old)
    } else if outcome.written {
        Reply::ok()
    } else {
        Reply::Nil
    })
}

pub(super) fn getset(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let outcome = ctx.tx.set(argv[1], argv[2], SetOptions::default().get())?;
    Ok(Reply::bulk_or_nil(outcome.old))
}

pub(super) fn getdel(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::bulk_or_nil(ctx.tx.getdel(argv[1])?))
}

pub(super) fn getex(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let parsed = parse_extended(&argv[2..], false)?;
    // As Redis, the expiry value is checked only once the key is known to hold a string: a
    // missing key answers nil whatever the value.
    if ctx.tx.string_entry(argv[1])?.is_none() {
        return Ok(Reply::Nil);
    }
    let expiry = match (parsed.expire, parsed.persist) {
        (Some((unit, arg)), _) => Some(Some(Expiry::At(absolute_expiry(
            "getex",
            unit,
            arg,
            ctx.tx.now(),
        )?))),
        (None, true) => Some(None),
        (None, false) => None,
    };
    Ok(Reply::bulk_or_nil(ctx.tx.getex(argv[1], expiry)?))
}

pub(super) fn setnx(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let outcome = ctx.tx.set(argv[1], argv[2], SetOptions::default().nx())?;
    Ok(Reply::Integer(i64::from(outcome.written)))
}

fn set_with_expiry(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]], command: &str, unit: Unit) -> CmdResult {
    let at = absolute_expiry(command, unit, argv[2], ctx.tx.now())?;
    let opts = SetOptions {
        expiry: Some(Expiry::At(at)),
        ..SetOptions::default()
    };
    ctx.tx.set(argv[1], argv[3], opts)?;
    Ok(Reply::ok())
}

pub(super) fn setex(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    set_with_expiry(ctx, argv, "setex", Unit::Ex)
}

pub(super) fn psetex(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    set_with_expiry(ctx, argv, "psetex", Unit::Px)
}

/// A key and its value, as MSET takes them.
type Pair<'a> = (&'a [u8], &'a [u8]);

fn pairs<'a>(argv: &[&'a [u8]], command: &str) -> Result<Vec<Pair<'a>>, Reply> {
    if argv.len() % 2 == 0 {
        return Err(Reply::err(format!(
            "wrong number of arguments for '{command}' command"
        )));
    }
    Ok(argv[1..].chunks_exact(2).map(|p| (p[0], p[1])).collect())
}

pub(super) fn mset(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    ctx.tx.mset(&pairs(argv, "mset")?)?;
    Ok(Reply::ok())
}

pub(super) fn msetnx(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let set = ctx.tx.msetnx(&pairs(argv, "msetnx")?)?;
    Ok(Reply::Integer(i64::from(set)))
}

pub(super) fn mget(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let values = ctx.tx.mget(&argv[1..])?;
    Ok(Reply::Array(
        values.into_iter().map(Reply::bulk_or_nil).collect(),
    ))
}

pub(super) fn append(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.append(argv[1], argv[2])? as i64))
}

pub(super) fn strlen(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.strlen(argv[1])? as i64))
}

pub(super) fn getrange(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (start, end) = (int(argv[2])?, int(argv[3])?);
    Ok(Reply::Bulk(ctx.tx.getrange(argv[1], start, end)?))
}

pub(super) fn setrange(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let offset = int(argv[2])?;
    Ok(Reply::Integer(
        ctx.tx.setrange(argv[1], offset, argv[3])? as i64
    ))
}

fn incr_reply(ctx: &mut Ctx<'_, '_>, key: &[u8], delta: i64) -> CmdResult {
    Ok(Reply::Integer(ctx.tx.incr_by(key, delta)?))
}

pub(super) fn incr(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    incr_reply(ctx, argv[1], 1)
}

pub(super) fn decr(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    incr_reply(ctx, argv[1], -1)
}

pub(super) fn incrby(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let delta = int(argv[2])?;
    incr_reply(ctx, argv[1], delta)
}

pub(super) fn decrby(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let delta = int(argv[2])?;
    if delta == i64::MIN {
        return Err(Reply::err("decrement would overflow"));
    }
    incr_reply(ctx, argv[1], -delta)
}

pub(super) fn incrbyfloat(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Bulk(ctx.tx.incr_by_float(argv[1], argv[2])?))
}
