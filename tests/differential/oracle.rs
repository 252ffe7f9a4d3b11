//! The oracle: a real redis-server on 127.0.0.1, and a client whose replies are [`Reply`]s.
//!
//! The test starts its own server on a free loopback port and kills it when the guard drops
//! (also on a panic). `KVDB_REDIS_PORT` points the test at a server that is already running
//! instead; the test then owns that server's data (it starts with FLUSHALL).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kvdb::Reply;
use redis::ConnectionLike;

/// How long a freshly started server gets to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at starting a server: another process may take the free port before it binds.
const START_ATTEMPTS: usize = 3;
/// The version the expected replies were taken from.
const ORACLE_VERSION: &str = "7.0.";

/// A redis-server child process, killed on drop.
pub struct Server {
    child: Option<Child>,
    /// Holds the server's working directory (no dump files land in the repository).
    _dir: Option<tempfile::TempDir>,
    port: u16,
}

impl Server {
    /// The server named by `KVDB_REDIS_PORT`, or a new one on a free port.
    ///
    /// # Panics
    /// If redis-server is not installed (CI installs it: a missing oracle must not pass
    /// silently), or is not Redis 7.0 (unless `KVDB_REDIS_ANY_VERSION` is set).
    pub fn start() -> Result<Server, Box<dyn std::error::Error>> {
        let server = match std::env::var("KVDB_REDIS_PORT") {
            Ok(port) => Server {
                child: None,
                _dir: None,
                port: port
                    .parse()
                    .map_err(|e| format!("KVDB_REDIS_PORT={port:?} is not a port: {e}"))?,
            },
            Err(_) => Server::spawn()?,
        };
        server.check_version()?;
        Ok(server)
    }

    fn spawn() -> Result<Server, Box<dyn std::error::Error>> {
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            let dir = tempfile::tempdir()?;
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot start redis-server ({e}): the differential test needs Redis 7.0 \
                         as its oracle; install it (apt-get install redis-server, as \
                         scripts/test.sh does) or point KVDB_REDIS_PORT at a running server"
                    )
                });
            let mut server = Server {
                child: Some(child),
                _dir: Some(dir),
                port,
            };
            match server.wait_until_ready() {
                Ok(()) => return Ok(server),
                Err(e) => failures.push(e),
            }
        }
        Err(format!("redis-server did not start: {}", failures.join("; ")).into())
    }

    /// Waits until the server answers PING; fails if it exits or does not answer in time.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Ok(mut client) = self.connect()
                && let Ok(Reply::Status(pong)) = client.try_execute(&["PING"])
                && pong == "PONG"
            {
                return Ok(());
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("on port {} it exited with {status}", self.port));
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                return Err(format!(
                    "on port {} it did not answer within {STARTUP_TIMEOUT:?}",
                    self.port
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The expected texts and behaviours are Redis 7.0's; a later version differs in places
    /// (error texts, SCAN TYPE checks), which would read as kvdb bugs.
    fn check_version(&self) -> Result<(), Box<dyn std::error::Error>> {
        let info = match self.connect()?.execute(&["INFO", "server"]) {
            Reply::Bulk(info) => String::from_utf8_lossy(&info).into_owned(),
            other => return Err(format!("INFO server answered {other:?}").into()),
        };
        let version = info
            .lines()
            .find_map(|line| line.strip_prefix("redis_version:"))
            .unwrap_or("unknown")
            .trim()
            .to_owned();
        if !version.starts_with(ORACLE_VERSION)
            && std::env::var_os("KVDB_REDIS_ANY_VERSION").is_none()
        {
            panic!(
                "the differential test compares with Redis {ORACLE_VERSION}x, but the server on \
                 port {} is {version}; set KVDB_REDIS_ANY_VERSION=1 to compare anyway",
                self.port
            );
        }
        Ok(())
    }

    /// A new connection to the server (database 0 selected).
    pub fn connect(&self) -> redis::RedisResult<Client> {
        Client::open(&format!("redis://127.0.0.1:{}/", self.port))
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One connection: its SELECTed database persists across commands, as a kvdb `Session`'s.
pub struct Client {
    con: redis::Connection,
}

impl Client {
    /// A new connection to the server at `url` (`redis://127.0.0.1:PORT/`, with
    /// `?protocol=resp3` for RESP3).
    pub fn open(url: &str) -> redis::RedisResult<Client> {
        let client = redis::Client::open(url)?;
        let con = client.get_connection_with_timeout(Duration::from_secs(10))?;
        // A server that stops answering fails the test instead of hanging it.
        con.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Client { con })
    }

    /// Sends one command and returns Redis's reply as a kvdb [`Reply`].
    ///
    /// # Panics
    /// On I/O or protocol failures: those are not replies to compare.
    pub fn execute<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> Reply {
        self.try_execute(argv)
            .unwrap_or_else(|e| panic!("redis connection failed: {e}"))
    }

    fn try_execute<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> redis::RedisResult<Reply> {
        let mut cmd = redis::Cmd::new();
        for arg in argv {
            cmd.arg(arg.as_ref());
        }
        // `req_command` hands error replies back as `Value::ServerError`, code and detail
        // intact; `query` would fold them into a `RedisError`.
        self.con.req_command(&cmd).map(to_reply)
    }
}

impl crate::Execute for Client {
    fn run(&mut self, argv: &[Vec<u8>]) -> Reply {
        self.execute(argv)
    }
}

/// Maps a redis-rs value to the kvdb reply the same bytes would decode to. redis-rs folds some
/// distinctions away (RESP2's null array and null bulk string are both `Nil`); the raw
/// transport of the network tests keeps them.
fn to_reply(value: redis::Value) -> Reply {
    use redis::Value;
    match value {
        Value::Nil => Reply::Nil,
        Value::Int(n) => Reply::Integer(n),
        Value::BulkString(bytes) => Reply::Bulk(bytes),
        Value::Array(items) => Reply::Array(items.into_iter().map(to_reply).collect()),
        // The crate turns the status `+OK` into `Okay` and keeps other statuses as text.
        Value::Okay => Reply::Status("OK".to_owned()),
        Value::SimpleString(s) => Reply::Status(s),
        Value::ServerError(e) => Reply::Error(match e.details() {
            Some(detail) => format!("{} {detail}", e.code()),
            None => e.code().to_owned(),
        }),
        Value::Double(d) => Reply::Double(d),
        Value::Boolean(b) => Reply::Boolean(b),
        Value::Set(items) => Reply::Set(items.into_iter().map(to_reply).collect()),
        Value::Map(pairs) => Reply::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (to_reply(k), to_reply(v)))
                .collect(),
        ),
        Value::VerbatimString { text, .. } => Reply::Verbatim(text),
        Value::Push { data, .. } => Reply::Push(data.into_iter().map(to_reply).collect()),
        other => panic!("unexpected RESP3 value from redis: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(wire: &[u8]) -> Reply {
        to_reply(redis::parse_redis_value(wire).expect("valid RESP"))
    }

    #[test]
    fn error_replies_keep_their_code_and_detail() {
        assert_eq!(
            decode(b"-ERR syntax error\r\n"),
            Reply::Error("ERR syntax error".into())
        );
        assert_eq!(
            decode(b"-WRONGTYPE Operation against a key\r\n"),
            Reply::Error("WRONGTYPE Operation against a key".into())
        );
        assert_eq!(decode(b"-NOPE\r\n"), Reply::Error("NOPE".into()));
    }

    #[test]
    fn ok_and_other_statuses_become_status_replies() {
        assert_eq!(decode(b"+OK\r\n"), Reply::ok());
        assert_eq!(decode(b"+PONG\r\n"), Reply::Status("PONG".into()));
    }
}
