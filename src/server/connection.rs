//! One client connection: read, parse every complete request, run them in order, make their
//! writes durable once, reply to all of them at once.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::sync::Syncer;
use super::{ClientSnapshot, ServerState, lock};
use crate::command::{BlockedCall, Execution, ServerContext, full_name};
use crate::log::SeqNo;
use crate::resp::{Limits, Protocol, Reply, encode, parse_request};
use crate::{Db, Fsync, Session};

/// Most unparsed bytes a client may have pending (Redis's client-query-buffer-limit): 1 GiB.
const QUERY_BUFFER_LIMIT: usize = 1024 * 1024 * 1024;
/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;

/// Tells a client over the limit why it is turned away.
pub(super) async fn refuse(mut stream: TcpStream) {
    let _ = stream
        .write_all(b"-ERR max number of clients reached\r\n")
        .await;
}

/// Serves one client until it quits, disconnects, is killed, idles out, or the server stops.
pub(super) async fn run(
    mut stream: TcpStream,
    peer: SocketAddr,
    db: Db,
    state: Arc<ServerState>,
    syncer: Arc<Syncer>,
) {
    // The slot is taken here, atomically: the accept loop's check runs before the connections
    // it spawned have counted themselves, so a burst of connects would all pass it.
    let maxclients = lock(&state.config).maxclients;
    let before = state.stats.connected_clients.fetch_add(1, Ordering::SeqCst);
    if before >= maxclients {
        state.stats.connected_clients.fetch_sub(1, Ordering::SeqCst);
        state
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        refuse(stream).await;
        return;
    }
    let _ = stream.set_nodelay(true);
    let context: Arc<dyn ServerContext> = state.clone();
    let mut session = Session::for_server(db, context);
    let id = session.client().id;
    let (snapshot, kill) = state.register(ClientSnapshot {
        id,
        addr: peer.to_string(),
        laddr: stream
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default(),
        fd: i64::from(stream.as_raw_fd()),
        resp: 2,
        multi: -1,
        connected: Some(Instant::now()),
        last_active: Some(Instant::now()),
        ..ClientSnapshot::default()
    });
    let mut client = Client {
        stream: &mut stream,
        syncer: &syncer,
        session: &mut session,
        state: &state,
        snapshot: &snapshot,
        input: Vec::new(),
        output: Vec::new(),
    };
    let result = client.serve(&kill, state.shutdown_signal()).await;
    if let Err(e) = result {
        ::log::debug!("client {peer}: {e}");
    }
    drop(session);
    state.unregister(id);
    state
        .stats
        .connected_clients
        .fetch_sub(1, Ordering::Relaxed);
}

struct Client<'a> {
    stream: &'a mut TcpStream,
    syncer: &'a Syncer,
    session: &'a mut Session,
    state: &'a ServerState,
    snapshot: &'a Mutex<ClientSnapshot>,
    input: Vec<u8>,
    output: Vec<u8>,
}

impl Client<'_> {
    /// The read-run-reply loop. A kill, a shutdown or the idle timeout is noticed only while
    /// waiting for input, so a batch that was read always runs to its replies.
    async fn serve(
        &mut self,
        kill: &tokio::sync::Notify,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        let mut config_changes = self.state.config_changes();
        let mut last_input = Instant::now();
        // Input that arrived while the client was blocked, not yet run.
        let mut pending = false;
        loop {
            // Read each time round, so that CONFIG SET timeout applies to idle clients too.
            let timeout = lock(&self.state.config).timeout;
            let idle = async {
                if timeout > 0 {
                    tokio::time::sleep_until((last_input + Duration::from_secs(timeout)).into())
                        .await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            // `read_buf`, not `try_read_buf`: after a read that does not fill the buffer, tokio
            // knows the socket is drained and waits for epoll, where `try_read_buf` learns it
            // only from one more `recvfrom` failing with EAGAIN: a system call per batch, a third
            // of them for a client that does not pipeline. The buffer is reserved once input is
            // there, so an idle client holds none. Cancel safe: when another branch wins,
            // nothing was read.
            if !std::mem::take(&mut pending) {
                let n = tokio::select! {
                    // A kill or a shutdown that arrives with more input wins: checked first.
                    biased;
                    _ = kill.notified() => return Ok(()),
                    _ = shutdown.wait_for(|&stop| stop) => return Ok(()),
                    read = self.read() => read?,
                    _ = idle => return Ok(()),
                    Ok(()) = config_changes.changed() => continue,
                };
                if n == 0 {
                    return Ok(());
                }
                last_input = Instant::now();
            }
            let (close, blocked) = self.run_batch();
            let mut close = self.make_durable().await || close;
            if let Some(call) = blocked {
                // Replies so far go out before the client waits, as Redis sends them.
                self.write_output().await?;
                let Some((reply, seq)) = self.wait_blocked(call, kill, &mut shutdown).await? else {
                    return Ok(());
                };
                encode(&reply, self.session.client().protocol, &mut self.output);
                // The pop made for this client was written in the batch of the command that
                // served it, maybe still held by that connection: write it, and under
                // `always` wait for its fsync, before the reply goes out.
                let durable = match seq {
                    Some(seq) => match self.session.db().flush() {
                        Ok(()) if self.session.db().fsync_policy() == Fsync::Always => {
                            self.syncer.wait(seq).await
                        }
                        other => other,
                    },
                    None => Ok(()),
                };
                if let Err(e) = durable {
                    ::log::error!("writing to the log failed: {e}");
                    self.output.clear();
                    encode(&Reply::from(e), Protocol::Resp2, &mut self.output);
                    close = true;
                }
                // What the client sent meanwhile (or after the blocking command) runs next.
                pending = !self.input.is_empty();
            }
            self.write_output().await?;
            self.refresh_snapshot();
            if close {
                let _ = self.stream.shutdown().await;
                return Ok(());
            }
            if self.input.is_empty() && self.input.capacity() > 4 * READ_CHUNK {
                self.input = Vec::new();
            }
            if self.output.capacity() > 4 * READ_CHUNK {
                self.output = Vec::new();
            }
        }
    }

    /// Reads what the socket has into the input buffer; 0 at end of stream.
    async fn read(&mut self) -> std::io::Result<usize> {
        self.stream.readable().await?;
        self.input.reserve(READ_CHUNK);
        let n = self.stream.read_buf(&mut self.input).await?;
        self.state
            .stats
            .net_input_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    /// Sends the encoded replies, if any.
    async fn write_output(&mut self) -> std::io::Result<()> {
        if !self.output.is_empty() {
            self.stream.write_all(&self.output).await?;
            self.state
                .stats
                .net_output_bytes
                .fetch_add(self.output.len() as u64, Ordering::Relaxed);
            self.output.clear();
        }
        Ok(())
    }

    /// Waits for a blocked command (BLPOP...) to be served or to time out, holding no thread:
    /// its reply, whose writes [`Client::make_durable`] must still cover. `None` if the client
    /// went away, was killed or the server stops: the waiter is unregistered (a result that
    /// arrived at that instant is dropped with the client, as Redis drops it).
    async fn wait_blocked(
        &mut self,
        call: BlockedCall,
        kill: &tokio::sync::Notify,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> std::io::Result<Option<(Reply, Option<SeqNo>)>> {
        let deadline = call.deadline();
        let timeout = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::pin!(timeout);
        // `Some(served)`: served; `Some(None)`: timed out; `None`: the client is gone.
        let outcome = loop {
            tokio::select! {
                biased;
                served = call.served() => break Some(Some(served)),
                _ = &mut timeout => break Some(None),
                _ = kill.notified() => break None,
                _ = shutdown.wait_for(|&stop| stop) => break None,
                // Input is kept for after the reply; end of stream means the client is gone.
                read = self.read() => {
                    if read? == 0 {
                        break None;
                    }
                }
            }
        };
        match outcome {
            Some(served) => Ok(Some(self.session.finish_blocked(call, served))),
            None => {
                self.session.finish_blocked(call, None);
                Ok(None)
            }
        }
    }

    /// Runs every complete request in the input, encoding the replies, up to the end or to a
    /// command that blocks. Returns whether the connection must close afterwards (QUIT,
    /// SHUTDOWN, a protocol error) and the blocked command, if one blocked.
    fn run_batch(&mut self) -> (bool, Option<BlockedCall>) {
        let limits = Limits::default();
        let mut pos = 0;
        let mut close = false;
        let mut blocked = None;
        loop {
            match parse_request(
                &self.input[pos..],
                &limits,
                self.session.client().authenticated,
            ) {
                Ok(Some((argv, used))) => {
                    pos += used;
                    if argv.is_empty() {
                        continue;
                    }
                    self.state
                        .stats
                        .commands_processed
                        .fetch_add(1, Ordering::Relaxed);
                    let started = Instant::now();
                    let reply = match self.session.start(&argv) {
                        Execution::Done(reply) => reply,
                        Execution::Blocked(call) => {
                            blocked = Some(call);
                            Reply::Nil
                        }
                    };
                    let name = full_name(&argv);
                    self.state
                        .record_command(name.map(|n| n.0), started.elapsed(), &reply);
                    if let Some((_, name)) = name {
                        lock(self.snapshot).last_command = name;
                    }
                    if blocked.is_some() {
                        break;
                    }
                    let client = self.session.client();
                    if client.silent {
                        close = true;
                        break;
                    }
                    encode(&reply, client.protocol, &mut self.output);
                    if client.quit {
                        close = true;
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    ::log::warn!("client {}: {e}; closing the connection", self.peer());
                    encode(
                        &Reply::Error(e.to_string()),
                        self.session.client().protocol,
                        &mut self.output,
                    );
                    close = true;
                    break;
                }
            }
        }
        self.input.drain(..pos);
        if self.input.len() > QUERY_BUFFER_LIMIT {
            ::log::warn!(
                "client {}: query buffer over 1 GiB; closing the connection",
                self.peer()
            );
            let error = Reply::err("Protocol error: query buffer limit (1 GiB) exceeded");
            encode(&error, self.session.client().protocol, &mut self.output);
            close = true;
        }
        (close, blocked)
    }

    /// Writes the batch's held records (one write) and, under `appendfsync always`, waits for
    /// one shared fsync on the blocking pool. If either fails, the replies (which may claim
    /// writes) are replaced by one error and the connection closes.
    async fn make_durable(&mut self) -> bool {
        let outcome = match self.session.flush() {
            Ok(Some(seq)) if self.session.db().fsync_policy() == Fsync::Always => {
                self.syncer.wait(seq).await
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => false,
            Err(e) => {
                ::log::error!("writing to the log failed: {e}");
                self.output.clear();
                encode(&Reply::from(e), Protocol::Resp2, &mut self.output);
                true
            }
        }
    }

    fn peer(&self) -> String {
        lock(self.snapshot).addr.clone()
    }

    fn refresh_snapshot(&self) {
        let client = self.session.client();
        let mut snapshot = lock(self.snapshot);
        snapshot.db = self.session.db_index();
        snapshot.name = client
            .name
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default()
            .into_owned();
        snapshot.resp = if client.protocol == Protocol::Resp3 {
            3
        } else {
            2
        };
        snapshot.lib_name.clone_from(&client.lib.0);
        snapshot.lib_ver.clone_from(&client.lib.1);
        snapshot.multi = self.session.queued().map_or(-1, |n| n as i64);
        snapshot.last_active = Some(Instant::now());
    }
}
