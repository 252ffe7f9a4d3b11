//! Connection and server commands that need no network: PING, ECHO, SELECT, TIME.

use super::args::{CmdResult, int32, is, syntax_error};
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

pub(super) fn shutdown(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    for arg in &argv[1..] {
        if is(arg, "ABORT") {
            return Err(Reply::err("No shutdown in progress."));
        }
        if !["NOSAVE", "SAVE", "NOW", "FORCE"]
            .iter()
            .any(|o| is(arg, o))
        {
            return Err(syntax_error());
        }
    }
    let Some(server) = ctx.client.server.clone() else {
        return Err(Reply::err(
            "SHUTDOWN stops a kvdb server; this session has none",
        ));
    };
    // As Redis: no reply; the connection closes and the server stops after finishing what
    // its clients had sent. The log is fsync'd when the store closes.
    server.shutdown();
    ctx.client.silent = true;
    Ok(Reply::ok())
}
