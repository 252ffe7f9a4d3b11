//! Connection commands: AUTH, HELLO, QUIT, RESET, CLIENT. They change the client's state, not
//! the data; CLIENT LIST and CLIENT KILL also see the other connections, through the
//! [`ServerContext`](super::ServerContext) (an embedded session sees only itself).

use std::time::Instant;

use super::args::{CmdResult, int, is, syntax_error, text};
use super::introspection::{help, subcommand};
use super::{ClientSnapshot, Ctx, Reply};
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

/// `CLIENT <ID | GETNAME | SETNAME | SETINFO | LIST | INFO | KILL | NO-EVICT | HELP> ...`
pub(super) fn client(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let sub = subcommand(argv)?;
    match sub.name {
        "client|id" => Ok(Reply::Integer(ctx.client.id as i64)),
        "client|getname" => Ok(Reply::bulk_or_nil(ctx.client.name.clone())),
        "client|setname" => {
            set_name(ctx, argv[2])?;
            Ok(Reply::ok())
        }
        "client|setinfo" => {
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
        // kvdb never evicts clients: accepted and ignored.
        "client|no-evict" if is(argv[2], "ON") || is(argv[2], "OFF") => Ok(Reply::ok()),
        "client|no-evict" => Err(syntax_error()),
        "client|list" => client_list(ctx, argv),
        "client|info" => {
            let me = ctx.client.id;
            let own = snapshots(ctx, "client|info")
                .into_iter()
                .find(|c| c.id == me);
            let mut line = own.map_or_else(String::new, |c| client_line(&c, Instant::now()));
            line.push('\n');
            Ok(Reply::Verbatim(line))
        }
        "client|kill" => client_kill(ctx, argv),
        _ => Ok(help("client")),
    }
}

/// Every client's snapshot, the caller's own refreshed from its live state (the server's copy
/// dates from the end of its previous batch) and showing `command` running. Without a server,
/// only the caller.
fn snapshots(ctx: &Ctx<'_, '_>, command: &'static str) -> Vec<ClientSnapshot> {
    let client = &*ctx.client;
    let mut all = client
        .server
        .as_ref()
        .map(|s| s.clients())
        .unwrap_or_default();
    let position = match all.iter().position(|c| c.id == client.id) {
        Some(i) => i,
        None => {
            all.push(ClientSnapshot {
                id: client.id,
                fd: -1,
                multi: -1,
                ..ClientSnapshot::default()
            });
            all.len() - 1
        }
    };
    let own = &mut all[position];
    own.name = client
        .name
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default()
        .into_owned();
    own.db = ctx.tx.db();
    own.resp = if client.protocol == Protocol::Resp3 {
        3
    } else {
        2
    };
    own.lib_name.clone_from(&client.lib.0);
    own.lib_ver.clone_from(&client.lib.1);
    own.last_command = command;
    own.last_active = Some(Instant::now());
    all
}

/// One CLIENT LIST line, in Redis 7.0's field order plus 7.2's `lib-name` and `lib-ver`
/// (kvdb has CLIENT SETINFO). Buffer and memory fields are constants: kvdb does not track
/// them per client. No trailing newline.
pub fn client_line(c: &ClientSnapshot, now: Instant) -> String {
    let since = |t: Option<Instant>| t.map_or(0, |t| now.saturating_duration_since(t).as_secs());
    let flags = if c.multi >= 0 { "x" } else { "N" };
    let cmd = if c.last_command.is_empty() {
        "NULL"
    } else {
        c.last_command
    };
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={flags} db={} sub=0 psub=0 \
         ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 \
         omem=0 tot-mem=0 events=r cmd={cmd} user=default redir=-1 resp={} lib-name={} \
         lib-ver={}",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        c.name,
        since(c.connected),
        since(c.last_active),
        c.db,
        c.multi,
        c.resp,
        c.lib_name,
        c.lib_ver,
    )
}

/// Whether a client type name is known, and whether kvdb's clients (all `normal`) are of it.
fn client_type(name: &[u8]) -> Result<bool, Reply> {
    if is(name, "normal") {
        Ok(true)
    } else if ["master", "slave", "replica", "pubsub"]
        .iter()
        .any(|t| is(name, t))
    {
        Ok(false)
    } else {
        Err(Reply::err(format!("Unknown client type '{}'", text(name))))
    }
}

/// `CLIENT LIST [TYPE <NORMAL | MASTER | REPLICA | PUBSUB>] [ID client-id [client-id ...]]`
fn client_list(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let all = snapshots(ctx, "client|list");
    let chosen: Vec<&ClientSnapshot> = match argv {
        [_, _] => all.iter().collect(),
        [_, _, kind, name] if is(kind, "TYPE") => {
            if client_type(name)? {
                all.iter().collect()
            } else {
                Vec::new()
            }
        }
        [_, _, kind, ids @ ..] if is(kind, "ID") && !ids.is_empty() => {
            let mut chosen = Vec::new();
            for id in ids {
                let id = int(id).map_err(|_| Reply::err("Invalid client ID"))?;
                chosen.extend(all.iter().filter(|c| c.id as i64 == id));
            }
            chosen
        }
        _ => return Err(syntax_error()),
    };
    let now = Instant::now();
    let mut out = String::new();
    for c in chosen {
        out.push_str(&client_line(c, now));
        out.push('\n');
    }
    Ok(Reply::Verbatim(out))
}

/// `CLIENT KILL ip:port` (OK, or `No such client`) or `CLIENT KILL <ID id | TYPE type | USER
/// name | ADDR ip:port | LADDR ip:port | SKIPME yes/no> ...` (how many were killed; the caller
/// itself only with SKIPME no). A killed caller gets its reply, then the connection closes;
/// others close once they have finished the commands they had sent.
fn client_kill(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let mut addr = None;
    let mut laddr = None;
    let mut id = None;
    let mut normal = true;
    let mut skipme = true;
    if let [_, _, old] = argv {
        addr = Some(*old);
        skipme = false;
    } else {
        for option in argv[2..].chunks(2) {
            let [name, value] = option else {
                return Err(syntax_error());
            };
            if is(name, "ID") {
                let value = int(value)
                    .ok()
                    .filter(|&v| v > 0)
                    .ok_or_else(|| Reply::err("client-id should be greater than 0"))?;
                id = Some(value as u64);
            } else if is(name, "TYPE") {
                normal = client_type(value)?;
            } else if is(name, "ADDR") {
                addr = Some(*value);
            } else if is(name, "LADDR") {
                laddr = Some(*value);
            } else if is(name, "USER") {
                // kvdb has one user, `default`, which every client is.
                if *value != b"default" {
                    return Err(Reply::err(format!("No such user '{}'", text(value))));
                }
            } else if is(name, "SKIPME") {
                skipme = if is(value, "YES") {
                    true
                } else if is(value, "NO") {
                    false
                } else {
                    return Err(syntax_error());
                };
            } else {
                return Err(syntax_error());
            }
        }
    }
    let me = ctx.client.id;
    let mut killed = 0;
    for c in snapshots(ctx, "client|kill") {
        let matches = normal
            && addr.is_none_or(|a| a == c.addr.as_bytes())
            && laddr.is_none_or(|a| a == c.laddr.as_bytes())
            && id.is_none_or(|id| id == c.id);
        if !matches || (c.id == me && skipme) {
            continue;
        }
        if c.id == me {
            ctx.client.quit = true;
            killed += 1;
        } else if ctx
            .client
            .server
            .as_ref()
            .is_some_and(|s| s.kill_client(c.id))
        {
            killed += 1;
        }
    }
    match argv.len() {
        3 if killed == 0 => Err(Reply::err("No such client")),
        3 => Ok(Reply::ok()),
        _ => Ok(Reply::Integer(killed)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn client_line_has_redis_fields_in_order() {
        let now = Instant::now();
        let c = ClientSnapshot {
            id: 7,
            addr: "127.0.0.1:5000".into(),
            laddr: "127.0.0.1:6379".into(),
            fd: 9,
            name: "worker".into(),
            db: 3,
            resp: 3,
            last_command: "get",
            lib_name: "redis-py".into(),
            lib_ver: "5.0".into(),
            multi: -1,
            connected: now.checked_sub(Duration::from_secs(12)),
            last_active: now.checked_sub(Duration::from_secs(2)),
        };
        assert_eq!(
            client_line(&c, now),
            "id=7 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=9 name=worker age=12 idle=2 \
             flags=N db=3 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 \
             multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=get \
             user=default redir=-1 resp=3 lib-name=redis-py lib-ver=5.0"
        );
    }

    #[test]
    fn a_fresh_client_in_multi_shows_flag_x_and_no_command() {
        let c = ClientSnapshot {
            multi: 2,
            ..ClientSnapshot::default()
        };
        let line = client_line(&c, Instant::now());
        assert!(
            line.contains(" flags=x ") && line.contains(" multi=2 "),
            "{line}"
        );
        assert!(line.contains(" cmd=NULL "), "{line}");
    }

    #[test]
    fn client_types_are_redis_names() {
        assert_eq!(client_type(b"NORMAL"), Ok(true));
        assert_eq!(client_type(b"replica"), Ok(false));
        assert_eq!(
            client_type(b"foo"),
            Err(Reply::err("Unknown client type 'foo'"))
        );
    }
}
