//! Connection and server commands that need no network: PING, ECHO, SELECT, TIME.

use super::args::{CmdResult, int32};
use super::{Ctx, Reply};
use crate::error::Error;
use crate::log::record::NUM_DBS;

pub(super) fn ping(_ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    match argv {
        [_] => Ok(Reply::Status("PONG".to_owned())),
        [_, message] => Ok(Reply::bulk(message)),
        _ => Err(Reply::err("wrong number of arguments for 'ping' command")),
    }
}

pub(super) fn echo(_ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::bulk(argv[1]))
}

pub(super) fn select(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let index = int32(argv[1])?;
    let index = u8::try_from(index)
        .ok()
        .filter(|&i| i < NUM_DBS)
        .ok_or(Error::DbIndexOutOfRange)?;
    ctx.tx.set_db(index);
    Ok(Reply::ok())
}

pub(super) fn time(ctx: &mut Ctx<'_, '_>, _argv: &[&[u8]]) -> CmdResult {
    let now = ctx.tx.now();
    Ok(Reply::Array(vec![
        Reply::Bulk((now / 1000).to_string().into_bytes()),
        Reply::Bulk(((now % 1000) * 1000).to_string().into_bytes()),
    ]))
}
