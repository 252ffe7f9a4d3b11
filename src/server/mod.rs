//! `kvdb server`: RESP over TCP, on top of [`Session`](crate::Session). This layer only
//! carries bytes in and out: parsing and encoding are in [`crate::resp`], every command goes
//! through the command layer.
//!
//! # I/O model
//!
//! One tokio task per connection on a multi-threaded runtime (one worker per core). A task
//! reads what has arrived, parses every complete request in it, runs them in order (each one
//! atomic under the store's lock, its records held in memory), writes the held records with one
//! write, waits for one group-committed fsync under `appendfsync always` (on tokio's blocking
//! pool, so no worker thread waits for the disk), and writes all the replies at once. An idle
//! connection is a parked task and its buffers: a few KiB, so 10,000 idle clients cost tens of
//! MiB, where a thread per client would cost a stack each. See docs/ARCHITECTURE.md.

pub mod config;
mod connection;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

pub use config::ServerConfig;

use crate::Db;
use crate::command::ServerContext;

/// What CLIENT LIST shows of one connection, refreshed after each batch of its commands.
#[derive(Debug, Clone, Default)]
pub struct ClientSnapshot {
    /// Client id.
    pub id: u64,
    /// Peer address.
    pub addr: String,
    /// Local address.
    pub laddr: String,
    /// CLIENT SETNAME.
    pub name: String,
    /// Selected database.
    pub db: u8,
    /// Protocol version, 2 or 3.
    pub resp: u8,
    /// Name of the last command.
    pub last_command: String,
    /// CLIENT SETINFO values.
    pub lib_name: String,
    /// CLIENT SETINFO values.
    pub lib_ver: String,
    /// Commands queued in an open MULTI, -1 if none.
    pub multi: i64,
    /// When the connection was accepted.
    pub connected: Option<Instant>,
    /// When the last command ran.
    pub last_active: Option<Instant>,
}

/// One registered connection.
#[derive(Debug)]
struct ClientEntry {
    snapshot: Arc<Mutex<ClientSnapshot>>,
    kill: Arc<Notify>,
}

/// Counters INFO reports.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections_received: AtomicU64,
    /// Connections refused (maxclients).
    pub rejected_connections: AtomicU64,
    /// Commands run.
    pub commands_processed: AtomicU64,
    /// Bytes read from clients.
    pub net_input_bytes: AtomicU64,
    /// Bytes written to clients.
    pub net_output_bytes: AtomicU64,
    /// Connections open now.
    pub connected_clients: AtomicUsize,
}

/// The server's shared state; the command layer reaches it through [`ServerContext`].
#[derive(Debug)]
pub struct ServerState {
    config: Mutex<ServerConfig>,
    shutdown: watch::Sender<bool>,
    clients: Mutex<BTreeMap<u64, ClientEntry>>,
    /// Counters for INFO.
    pub stats: Stats,
    started: Instant,
    port: u16,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ServerState {
    /// State for a server listening on `port` with `config`.
    pub fn new(config: ServerConfig, port: u16) -> Arc<ServerState> {
        Arc::new(ServerState {
            config: Mutex::new(config),
            shutdown: watch::channel(false).0,
            clients: Mutex::new(BTreeMap::new()),
            stats: Stats::default(),
            started: Instant::now(),
            port,
        })
    }

    /// The current configuration.
    pub fn config(&self) -> ServerConfig {
        lock(&self.config).clone()
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Time since the server started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Whether a shutdown was asked for.
    pub fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// A receiver that changes when a shutdown is asked for.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    fn register(&self, snapshot: ClientSnapshot) -> (Arc<Mutex<ClientSnapshot>>, Arc<Notify>) {
        let id = snapshot.id;
        let snapshot = Arc::new(Mutex::new(snapshot));
        let kill = Arc::new(Notify::new());
        lock(&self.clients).insert(
            id,
            ClientEntry {
                snapshot: Arc::clone(&snapshot),
                kill: Arc::clone(&kill),
            },
        );
        (snapshot, kill)
    }

    fn unregister(&self, id: u64) {
        lock(&self.clients).remove(&id);
    }

    /// Snapshots of every connection, by id.
    pub fn client_snapshots(&self) -> Vec<ClientSnapshot> {
        lock(&self.clients)
            .values()
            .map(|c| lock(&c.snapshot).clone())
            .collect()
    }

    /// Closes the connection with this id; whether it existed.
    pub fn kill_client(&self, id: u64) -> bool {
        match lock(&self.clients).get(&id) {
            Some(entry) => {
                entry.kill.notify_one();
                true
            }
            None => false,
        }
    }
}

impl ServerContext for ServerState {
    fn password(&self) -> Option<String> {
        lock(&self.config).requirepass.clone()
    }

    fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}

/// Serves clients on `listener` until a shutdown is asked for (SHUTDOWN, or
/// [`ServerContext::shutdown`] from a signal handler), then lets every connection finish the
/// commands it has read and returns. The caller drops `db` afterwards, which fsyncs the log and
/// releases the directory lock.
pub async fn serve(listener: TcpListener, db: Db, state: Arc<ServerState>) {
    let mut shutdown = state.shutdown_signal();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        ::log::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                state.stats.connections_received.fetch_add(1, Ordering::Relaxed);
                let maxclients = lock(&state.config).maxclients;
                if state.stats.connected_clients.load(Ordering::Relaxed) >= maxclients {
                    state.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
                    tasks.spawn(connection::refuse(stream));
                    continue;
                }
                tasks.spawn(connection::run(stream, peer, db.clone(), Arc::clone(&state)));
            }
            _ = shutdown.changed() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    // Connections stop reading once they see the shutdown, finish what they read, and close.
    let deadline = tokio::time::sleep(Duration::from_secs(10));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = tasks.join_next() => if next.is_none() { break },
            _ = &mut deadline => {
                ::log::warn!("{} connections still busy after 10 s; closing them", tasks.len());
                tasks.abort_all();
                break;
            }
        }
    }
}
