//! Connection commands: AUTH, HELLO, QUIT, RESET, CLIENT. They change the client's state, not
//! the data.

use super::args::{CmdResult, int, is, syntax_error, text};
use super::{Ctx, Reply};
use crate::resp::Protocol;

/// The Redis version kvdb reports: clients choose features by it (HELLO, INFO).
pub const REDIS_VERSION: &str = "7.0.15";

fn wrong_password() -> Reply {
    Reply::Error("WRONGPASS invalid username-password pair or user is disabled.".into())
}

/// Checks a username/password pair against the server's password.
fn check_password(
    ctx: &mut Ctx<'_, '_>,
    user: Option<&[u8]>,
    password: &[u8],
) -> Result<(), Reply> {
    let expected = ctx.client.server.as_ref().and_then(|s| s.password());
    let user_ok = user.is_none_or(|u| u == b"default");
    match expected {
        None if user.is_none() => Err(Reply::err(
            "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        )),
        None if user_ok => Ok(()),
        Some(expected) if user_ok && expected.as_bytes() == password => Ok(()),
        _ => Err(wrong_password()),
    }
}

pub(super) fn auth(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (user, password) = match argv {
        [_, password] => (None, *password),
        [_, user, password] => (Some(*user), *password),
        _ => return Err(syntax_error()),
    };
    check_password(ctx, user, password)?;
    ctx.client.authenticated = true;
    Ok(Reply::ok())
}

pub(super) fn hello(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let mut protocol = ctx.client.protocol;
    let mut i = 1;
    if let Some(version) = argv.get(1) {
        let version = int(version)
            .map_err(|_| Reply::err("Protocol version is not an integer or out of range"))?;
        protocol = match version {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Err(Reply::Error("NOPROTO unsupported protocol version".into())),
        };
        i = 2;
    }
    let mut name = None;
    let mut auth = None;
    while i < argv.len() {
        if is(argv[i], "AUTH") && i + 2 < argv.len() {
            auth = Some((argv[i + 1], argv[i + 2]));
            i += 3;
        } else if is(argv[i], "SETNAME") && i + 1 < argv.len() {
            name = Some(argv[i + 1]);
            i += 2;
        } else {
            return Err(Reply::err(format!(
                "Syntax error in HELLO option '{}'",
                text(argv[i])
            )));
        }
    }
    if let Some((user, password)) = auth {
        check_password(ctx, Some(user), password)?;
        ctx.client.authenticated = true;
    }
    if !ctx.client.authenticated {
        return Err(Reply::Error(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into(),
        ));
    }
    if let Some(name) = name {
        set_name(ctx, name)?;
    }
    ctx.client.protocol = protocol;
    let proto = if protocol == Protocol::Resp3 { 3 } else { 2 };
    Ok(Reply::Map(vec![
        (Reply::bulk("server"), Reply::bulk("redis")),
        (Reply::bulk("version"), Reply::bulk(REDIS_VERSION)),
        (Reply::bulk("proto"), Reply::Integer(proto)),
        (Reply::bulk("id"), Reply::Integer(ctx.client.id as i64)),
        (Reply::bulk("mode"), Reply::bulk("standalone")),
        (Reply::bulk("role"), Reply::bulk("master")),
        (Reply::bulk("modules"), Reply::Array(Vec::new())),
    ]))
}

pub(super) fn quit(ctx: &mut Ctx<'_, '_>, _argv: &[&[u8]]) -> CmdResult {
    ctx.client.quit = true;
    Ok(Reply::ok())
}

pub(super) fn reset(ctx: &mut Ctx<'_, '_>, _argv: &[&[u8]]) -> CmdResult {
    ctx.tx.set_db(0);
    ctx.client.select = Some(0);
    ctx.client.protocol = Protocol::Resp2;
    ctx.client.name = None;
    ctx.client.authenticated = ctx
        .client
        .server
        .as_ref()
        .is_none_or(|s| s.password().is_none());
    ctx.client.reset = true;
    Ok(Reply::Status("RESET".into()))
}

/// CLIENT SETNAME's rule: no spaces, newlines or other characters outside `!`..=`~`.
fn set_name(ctx: &mut Ctx<'_, '_>, name: &[u8]) -> Result<(), Reply> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(Reply::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    ctx.client.name = (!name.is_empty()).then(|| name.to_vec());
    Ok(())
}

pub(super) fn client(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let sub = text(argv[1]).to_ascii_lowercase();
    let wrong_args = || {
        Reply::err(format!(
            "wrong number of arguments for 'client|{sub}' command"
        ))
    };
    match (sub.as_str(), argv.len()) {
        ("id", 2) => Ok(Reply::Integer(ctx.client.id as i64)),
        ("getname", 2) => Ok(Reply::bulk_or_nil(ctx.client.name.clone())),
        ("setname", 3) => {
            set_name(ctx, argv[2])?;
            Ok(Reply::ok())
        }
        ("setinfo", 4) => {
            let value = text(argv[3]);
            if value.chars().any(|c| !('!'..='~').contains(&c)) {
                return Err(Reply::err(format!(
                    "{} cannot contain spaces, newlines or special characters.",
                    text(argv[2]).to_ascii_lowercase()
                )));
            }
            if is(argv[2], "LIB-NAME") {
                ctx.client.lib.0 = value;
            } else if is(argv[2], "LIB-VER") {
                ctx.client.lib.1 = value;
            } else {
                return Err(Reply::err(format!(
                    "Unrecognized option '{}'",
                    text(argv[2])
                )));
            }
            Ok(Reply::ok())
        }
        ("no-evict", 3) if is(argv[2], "ON") || is(argv[2], "OFF") => Ok(Reply::ok()),
        ("no-evict", 3) => Err(syntax_error()),
        ("id" | "getname" | "setname" | "setinfo" | "no-evict", _) => Err(wrong_args()),
        _ => Err(Reply::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            text(argv[1])
        ))),
    }
}

/// MULTI, EXEC, DISCARD, WATCH and UNWATCH are run by the session itself, which owns the
/// transaction state; the table's handler is never reached.
pub(super) fn session_only(_ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Err(Reply::err(format!(
        "'{}' must run through a session",
        text(argv[0])
    )))
}
