//! `--requirepass`: before authentication every command but AUTH, HELLO, QUIT (and RESET)
//! gets NOAUTH, a wrong password gets WRONGPASS, requests are limited to 10 arguments and 16 KiB
//! bulk strings, and a client that authenticates (AUTH, HELLO AUTH, a redis-rs URL) is served.

use redis::Commands;

use crate::common::TestResult;
use crate::common::raw::request;
use crate::common::server::Server;

const NOAUTH: &str = "-NOAUTH Authentication required.\r\n";
const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";

#[test]
fn commands_before_auth_get_noauth_and_a_wrong_password_wrongpass() -> TestResult {
    let server = Server::start(&["--requirepass", "s3cret"])?;
    let mut raw = server.raw()?;
    assert_eq!(raw.call_text(&["PING"])?, NOAUTH);
    assert_eq!(raw.call_text(&["SET", "k", "v"])?, NOAUTH);
    assert_eq!(raw.call_text(&["MULTI"])?, NOAUTH);
    raw.send(b"GET k\r\n")?;
    assert_eq!(raw.frame_text()?, NOAUTH, "inline");
    // As Redis: an unknown command or a wrong arity is reported before authentication.
    assert_eq!(
        raw.call_text(&["NOSUCH"])?,
        "-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
    );
    assert_eq!(raw.call_text(&["AUTH", "wrong"])?, WRONGPASS);
    assert_eq!(raw.call_text(&["AUTH", "default", "wrong"])?, WRONGPASS);
    assert_eq!(raw.call_text(&["AUTH", "alice", "s3cret"])?, WRONGPASS);
    assert_eq!(
        raw.call_text(&["HELLO", "3"])?,
        "-NOAUTH HELLO must be called with the client already authenticated, otherwise the \
         HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and \
         select the RESP protocol version at the same time\r\n"
    );
    assert_eq!(
        raw.call_text(&["GET", "k"])?,
        NOAUTH,
        "still not authenticated"
    );
    assert_eq!(raw.call_text(&["AUTH", "s3cret"])?, "+OK\r\n");
    assert_eq!(raw.call_text(&["SET", "k", "v"])?, "+OK\r\n");
    assert_eq!(raw.call_text(&["GET", "k"])?, "$1\r\nv\r\n");
    // A wrong AUTH later does not log the client out (as Redis).
    assert_eq!(raw.call_text(&["AUTH", "wrong"])?, WRONGPASS);
    assert_eq!(raw.call_text(&["PING"])?, "+PONG\r\n");
    // RESET does.
    assert_eq!(raw.call_text(&["RESET"])?, "+RESET\r\n");
    assert_eq!(raw.call_text(&["PING"])?, NOAUTH);

    // AUTH default PASSWORD and HELLO AUTH authenticate too.
    let mut raw = server.raw()?;
    assert_eq!(raw.call_text(&["AUTH", "default", "s3cret"])?, "+OK\r\n");
    assert_eq!(raw.call_text(&["PING"])?, "+PONG\r\n");
    let mut raw = server.raw()?;
    let hello = raw.call_text(&["HELLO", "3", "AUTH", "default", "s3cret"])?;
    assert!(hello.starts_with("%7\r\n$6\r\nserver\r\n"), "{hello}");
    assert_eq!(raw.call_text(&["GET", "k"])?, "$1\r\nv\r\n");

    // QUIT needs no password.
    let mut raw = server.raw()?;
    assert_eq!(raw.call_text(&["QUIT"])?, "+OK\r\n");
    assert_eq!(raw.until_closed(crate::CLOSE_TIMEOUT)?, b"");
    Ok(())
}

#[test]
fn redis_rs_authenticates_with_the_password_in_its_url() -> TestResult {
    let server = Server::start(&["--requirepass", "s3cret"])?;
    let mut con = server.connect_url(&format!("redis://:s3cret@127.0.0.1:{}/", server.port()))?;
    let () = con.set("k", "v")?;
    assert_eq!(con.get::<_, String>("k")?, "v");
    let mut resp3 = server.connect_url(&format!(
        "redis://default:s3cret@127.0.0.1:{}/?protocol=resp3",
        server.port()
    ))?;
    assert_eq!(resp3.get::<_, String>("k")?, "v");

    let mut anonymous = server.connect()?;
    let err = anonymous
        .get::<_, String>("k")
        .expect_err("no password given");
    assert_eq!(err.code(), Some("NOAUTH"));
    let wrong = redis::Client::open(format!("redis://:nope@127.0.0.1:{}/", server.port()))?
        .get_connection_with_timeout(crate::common::server::IO_TIMEOUT);
    let err = wrong
        .err()
        .ok_or("connecting with a wrong password must fail")?;
    assert_eq!(err.kind(), redis::ErrorKind::AuthenticationFailed, "{err}");
    Ok(())
}

#[test]
fn before_auth_requests_are_limited_to_ten_arguments_and_16_kib() -> TestResult {
    let server = Server::start(&["--requirepass", "s3cret"])?;
    let eleven: Vec<String> = std::iter::once("MSET".to_owned())
        .chain((0..10).map(|i| format!("a{i}")))
        .collect();
    let mut raw = server.raw()?;
    raw.send(&request(&eleven))?;
    assert_eq!(
        raw.until_closed(crate::CLOSE_TIMEOUT)?,
        b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    );

    let mut raw = server.raw()?;
    raw.send(b"*2\r\n$4\r\nAUTH\r\n$16385\r\n")?;
    assert_eq!(
        raw.until_closed(crate::CLOSE_TIMEOUT)?,
        b"-ERR Protocol error: unauthenticated bulk length\r\n"
    );

    // Ten arguments and 16 KiB are allowed (and get NOAUTH), and authenticated clients have
    // the normal limits.
    let mut raw = server.raw()?;
    let ten = &eleven[..10];
    assert_eq!(raw.call_text(ten)?, NOAUTH);
    let big = "x".repeat(16 * 1024);
    assert_eq!(raw.call_text(&["ECHO", &big])?, NOAUTH);
    assert_eq!(raw.call_text(&["AUTH", "s3cret"])?, "+OK\r\n");
    let mut pairs = vec!["MSET".to_owned()];
    for i in 0..20 {
        pairs.push(format!("k{i}"));
        pairs.push("x".repeat(20 * 1024));
    }
    assert_eq!(raw.call_text(&pairs)?, "+OK\r\n");
    assert_eq!(raw.call_text(&["STRLEN", "k19"])?, ":20480\r\n");
    Ok(())
}

#[test]
fn auth_without_a_configured_password_is_an_error() -> TestResult {
    let server = Server::start(&[])?;
    let mut raw = server.raw()?;
    assert_eq!(
        raw.call_text(&["AUTH", "x"])?,
        "-ERR AUTH <password> called without any password configured for the default user. \
         Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(raw.call_text(&["PING"])?, "+PONG\r\n");
    Ok(())
}
