//! A `kvdb server` child process for tests: started with `--port 0` on 127.0.0.1, its port read
//! from the `ready to accept connections on 127.0.0.1:PORT` log line, its stderr kept (and
//! drained, so that a chatty server never blocks on a full pipe), and killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::raw::Raw;

/// How long a server gets to print its ready line, and a stopping one to exit.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
/// Read and write timeout of every test connection: a server that stops answering fails the
/// test instead of hanging it.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

const READY: &str = "ready to accept connections on ";

/// A server that did not come up: how it exited (if it did) and what it logged.
#[derive(Debug)]
pub struct NotStarted {
    /// The exit status, if the process exited.
    pub status: Option<ExitStatus>,
    /// Everything it wrote to stderr.
    pub log: String,
}

impl std::fmt::Display for NotStarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(status) => write!(f, "kvdb server exited with {status}: {}", self.log),
            None => write!(
                f,
                "kvdb server did not get ready within {STARTUP_TIMEOUT:?}: {}",
                self.log
            ),
        }
    }
}

impl std::error::Error for NotStarted {}

/// A running `kvdb server`, killed (SIGKILL) on drop unless it already exited.
pub struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
    log: Arc<Mutex<String>>,
    /// The thread copying stderr into `log`; it ends when the process does.
    reader: Option<std::thread::JoinHandle<()>>,
    /// Holds the data directory when the server owns it.
    _temp: Option<tempfile::TempDir>,
}

impl Server {
    /// A server on a new temporary directory, with `args` after `kvdb server --port 0 --dir
    /// DIR`.
    pub fn start(args: &[&str]) -> Result<Server, Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        let mut server = Server::start_in(temp.path(), args)?;
        server._temp = Some(temp);
        Ok(server)
    }

    /// A server on `dir`, which the caller keeps (to reopen it afterwards).
    pub fn start_in(dir: &Path, args: &[&str]) -> Result<Server, NotStarted> {
        let mut all = vec!["server", "--port", "0", "--dir"];
        let dir_text = dir.to_string_lossy().into_owned();
        all.push(&dir_text);
        all.extend_from_slice(args);
        Server::spawn(&all, dir)
    }

    /// `kvdb ARGS` (which must run `server`), waiting for its ready line.
    pub fn spawn(args: &[&str], dir: &Path) -> Result<Server, NotStarted> {
        let not_started = |e: std::io::Error| NotStarted {
            status: None,
            log: format!("cannot run kvdb: {e}"),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_kvdb"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(not_started)?;
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| not_started(std::io::Error::other("the child's stderr is not piped")))?;
        let sink = Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                // Logged first, so that the log has the ready line once the port is known.
                {
                    let mut log = sink
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    log.push_str(&line);
                    log.push('\n');
                }
                if let Some(port) = line
                    .split(READY)
                    .nth(1)
                    .and_then(|addr| addr.rsplit(':').next())
                    .and_then(|port| port.trim().parse::<u16>().ok())
                {
                    let _ = ready_tx.send(port);
                }
            }
        });
        match ready_rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(port) => Ok(Server {
                child,
                port,
                dir: dir.to_path_buf(),
                log,
                reader: Some(reader),
                _temp: None,
            }),
            Err(_) => {
                // Either it exited (the channel closed with stderr) or it hangs.
                let status = match child.try_wait() {
                    Ok(Some(status)) => Some(status),
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        None
                    }
                };
                // The reader thread may still be appending the last lines.
                std::thread::sleep(Duration::from_millis(50));
                let log = log
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                Err(NotStarted { status, log })
            }
        }
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A `redis://` URL for this server; `query` is appended (e.g. `?protocol=resp3`).
    pub fn url(&self, query: &str) -> String {
        format!("redis://127.0.0.1:{}/{query}", self.port)
    }

    /// A redis-rs connection, with timeouts.
    pub fn connect(&self) -> redis::RedisResult<redis::Connection> {
        self.connect_url(&self.url(""))
    }

    /// A redis-rs connection to `url` (built with [`Server::url`]), with timeouts.
    pub fn connect_url(&self, url: &str) -> redis::RedisResult<redis::Connection> {
        let con = redis::Client::open(url)?.get_connection_with_timeout(IO_TIMEOUT)?;
        con.set_read_timeout(Some(IO_TIMEOUT))?;
        con.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(con)
    }

    /// A raw RESP connection.
    pub fn raw(&self) -> std::io::Result<Raw> {
        Raw::connect(self.port)
    }

    /// What the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Sends a signal (`TERM`, `INT`, ...) with kill(1).
    pub fn signal(&self, name: &str) -> std::io::Result<()> {
        let status = Command::new("kill")
            .args(["-s", name, &self.pid().to_string()])
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "kill -s {name} failed: {status}"
            )))
        }
    }

    /// Waits for the process to exit, at most [`STARTUP_TIMEOUT`]; its log is then complete.
    pub fn wait(&mut self) -> Result<ExitStatus, Box<dyn std::error::Error>> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                if let Some(reader) = self.reader.take() {
                    reader.join().map_err(|_| "the log reader panicked")?;
                }
                return Ok(status);
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                return Err(format!(
                    "kvdb server still running {STARTUP_TIMEOUT:?} after being asked to stop; log:\n{}",
                    self.log()
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The resident set size (VmRSS in /proc/PID/status), in bytes.
    pub fn rss_bytes(&self) -> Result<u64, Box<dyn std::error::Error>> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .ok_or("no VmRSS line in /proc/PID/status")?;
        Ok(kib * 1024)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Runs `kvdb ARGS` to completion, killing it after [`STARTUP_TIMEOUT`]: its status, stdout and
/// stderr.
pub fn run_kvdb(args: &[&str]) -> Result<Output, Box<dyn std::error::Error>> {
    run(
        Command::new(env!("CARGO_BIN_EXE_kvdb")).args(args),
        STARTUP_TIMEOUT,
    )
}

/// Runs `command` to completion with no input, killing it after `timeout`: its status, stdout
/// and stderr (read as they come, so that a talkative program never blocks on a full pipe).
pub fn run(command: &mut Command, timeout: Duration) -> Result<Output, Box<dyn std::error::Error>> {
    run_with_input(command, None, timeout)
}

/// Like [`run`], with `input` (if any) written to the program's stdin, which is then closed.
pub fn run_with_input(
    command: &mut Command,
    input: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<Output, Box<dyn std::error::Error>> {
    let mut child = command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    }
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr.join().unwrap_or_default();
            return Err(format!(
                "{command:?} still running after {timeout:?}; stderr: {}",
                String::from_utf8_lossy(&stderr)
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(Output {
        status,
        stdout: stdout.join().map_err(|_| "the stdout reader panicked")?,
        stderr: stderr.join().map_err(|_| "the stderr reader panicked")?,
    })
}
