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
mod sync;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

pub use crate::command::ClientSnapshot;
pub use config::ServerConfig;

use crate::Db;
use crate::command::{
    CommandStats, ConfigError, Reply, ServerContext, ServerInfo, name_count, name_of,
};

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
    /// Error replies sent.
    pub error_replies: AtomicU64,
}

/// One command's counters (INFO commandstats): atomics in an array indexed by the command's
/// number ([`crate::command::full_name`]), so that counting a call takes no lock.
#[derive(Debug, Default)]
struct CommandCounters {
    calls: AtomicU64,
    usec: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
}

/// Samples for INFO's instantaneous rates, as Redis keeps them: every 100 ms the rate since
/// the previous sample goes into a ring of 16, and INFO shows the ring's average.
#[derive(Debug, Default)]
struct Rates {
    /// Commands, input bytes and output bytes per second, per sample.
    ring: [[f64; 3]; 16],
    next: usize,
    /// When the last sample was taken, and the totals then.
    last: Option<(Instant, [u64; 3])>,
}

/// Whether an error reply means the command was refused before it ran (Redis counts those as
/// rejected calls, the others as failed calls).
fn is_rejection(error: &str) -> bool {
    ["ERR wrong number of arguments", "NOAUTH", "EXECABORT"]
        .iter()
        .any(|prefix| error.starts_with(prefix))
}

/// The server's shared state; the command layer reaches it through [`ServerContext`].
#[derive(Debug)]
pub struct ServerState {
    config: Mutex<ServerConfig>,
    shutdown: watch::Sender<bool>,
    clients: Mutex<BTreeMap<u64, ClientEntry>>,
    /// Counters for INFO.
    pub stats: Stats,
    commands: Box<[CommandCounters]>,
    rates: Mutex<Rates>,
    /// Bumped by CONFIG SET, so that idle connections recompute their timeout.
    config_changed: watch::Sender<u64>,
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
            commands: (0..name_count())
                .map(|_| CommandCounters::default())
                .collect(),
            rates: Mutex::new(Rates::default()),
            config_changed: watch::channel(0).0,
            started: Instant::now(),
            port,
        })
    }

    /// A receiver that changes when CONFIG SET changes the configuration.
    pub fn config_changes(&self) -> watch::Receiver<u64> {
        self.config_changed.subscribe()
    }

    /// Counts one command for INFO: `slot` is its number from
    /// [`crate::command::full_name`] (`None` for an unknown command), `elapsed` the time it
    /// took, `reply` what it answered. A command MULTI queues is not counted (Redis counts it
    /// when EXEC runs it; kvdb counts only the EXEC).
    pub fn record_command(&self, slot: Option<usize>, elapsed: Duration, reply: &Reply) {
        let error = match reply {
            Reply::Error(text) => {
                self.stats.error_replies.fetch_add(1, Ordering::Relaxed);
                Some(text.as_str())
            }
            Reply::Status(text) if text == "QUEUED" => return,
            _ => None,
        };
        // An unknown subcommand is not a call of its container, for Redis.
        let unknown = error.is_some_and(|e| e.starts_with("ERR unknown subcommand"));
        let Some(counters) = slot.and_then(|s| self.commands.get(s)).filter(|_| !unknown) else {
            return;
        };
        if error.is_some_and(is_rejection) {
            counters.rejected.fetch_add(1, Ordering::Relaxed);
            return;
        }
        counters.calls.fetch_add(1, Ordering::Relaxed);
        counters
            .usec
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        if error.is_some() {
            counters.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes one sample of the command and byte rates (every 100 ms, from [`serve`]).
    fn sample_rates(&self) {
        let now = Instant::now();
        let totals = [
            self.stats.commands_processed.load(Ordering::Relaxed),
            self.stats.net_input_bytes.load(Ordering::Relaxed),
            self.stats.net_output_bytes.load(Ordering::Relaxed),
        ];
        let mut rates = lock(&self.rates);
        if let Some((then, before)) = rates.last {
            let secs = now.duration_since(then).as_secs_f64();
            if secs > 0.0 {
                let next = rates.next;
                for i in 0..3 {
                    // A CONFIG RESETSTAT in between makes the total smaller: count 0.
                    rates.ring[next][i] = totals[i].saturating_sub(before[i]) as f64 / secs;
                }
                rates.next = (next + 1) % rates.ring.len();
            }
        }
        rates.last = Some((now, totals));
    }

    /// The average of the sampled rates: commands, input bytes, output bytes per second.
    fn rates(&self) -> [f64; 3] {
        let rates = lock(&self.rates);
        let mut sum = [0.0; 3];
        for sample in &rates.ring {
            for i in 0..3 {
                sum[i] += sample[i];
            }
        }
        sum.map(|s| s / rates.ring.len() as f64)
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

    fn clients(&self) -> Vec<ClientSnapshot> {
        self.client_snapshots()
    }

    fn kill_client(&self, id: u64) -> bool {
        ServerState::kill_client(self, id)
    }

    fn config(&self) -> Vec<(&'static str, String)> {
        let config = lock(&self.config);
        config::OPTION_NAMES
            .iter()
            .filter_map(|name| match *name {
                // The port bound, which differs from the configured one for `--port 0`.
                "port" => Some((*name, self.port.to_string())),
                _ => config.get(name).map(|value| (*name, value)),
            })
            .collect()
    }

    fn set_config(&self, changes: &[(String, String)]) -> Result<(), ConfigError> {
        // As Redis: the first unknown, fixed or repeated option is the error; then every value
        // is applied to a copy, and the copy replaces the configuration only if all were valid.
        let mut seen: Vec<String> = Vec::new();
        for (name, _) in changes {
            let lower = name.to_ascii_lowercase();
            if !config::OPTION_NAMES.contains(&lower.as_str()) {
                return Err(ConfigError::Unknown(name.clone()));
            }
            let refused = |reason: &str| ConfigError::Refused {
                option: name.clone(),
                reason: reason.to_owned(),
            };
            if let Some((_, reason)) = config::FIXED_AT_RUNTIME.iter().find(|(o, _)| *o == lower) {
                return Err(refused(reason));
            }
            if seen.contains(&lower) {
                return Err(refused("duplicate parameter"));
            }
            seen.push(lower);
        }
        let mut config = lock(&self.config);
        let mut changed = config.clone();
        for (name, value) in changes {
            changed
                .set(name, value)
                .map_err(|reason| ConfigError::Refused {
                    option: name.clone(),
                    reason,
                })?;
        }
        *config = changed;
        drop(config);
        self.config_changed.send_modify(|version| *version += 1);
        Ok(())
    }

    fn rewrite_config(&self) -> Result<(), String> {
        lock(&self.config).rewrite()
    }

    fn info(&self) -> ServerInfo {
        let config = lock(&self.config).clone();
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let [ops, input, output] = self.rates();
        let commandstats = self
            .commands
            .iter()
            .enumerate()
            .map(|(slot, c)| {
                let stats = CommandStats {
                    calls: load(&c.calls),
                    usec: load(&c.usec),
                    rejected_calls: load(&c.rejected),
                    failed_calls: load(&c.failed),
                };
                (name_of(slot), stats)
            })
            .filter(|(_, s)| s.calls + s.rejected_calls > 0)
            .collect();
        ServerInfo {
            port: self.port,
            uptime: self.uptime(),
            config_file: config
                .config_file
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            connected_clients: self.stats.connected_clients.load(Ordering::Relaxed),
            maxclients: config.maxclients,
            connections_received: load(&self.stats.connections_received),
            rejected_connections: load(&self.stats.rejected_connections),
            commands_processed: load(&self.stats.commands_processed),
            net_input_bytes: load(&self.stats.net_input_bytes),
            net_output_bytes: load(&self.stats.net_output_bytes),
            error_replies: load(&self.stats.error_replies),
            ops_per_sec: ops.round() as u64,
            input_kbps: input / 1024.0,
            output_kbps: output / 1024.0,
            commandstats,
        }
    }

    fn reset_stats(&self) {
        let stats = &self.stats;
        for counter in [
            &stats.connections_received,
            &stats.rejected_connections,
            &stats.commands_processed,
            &stats.net_input_bytes,
            &stats.net_output_bytes,
            &stats.error_replies,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        for c in &self.commands {
            for counter in [&c.calls, &c.usec, &c.rejected, &c.failed] {
                counter.store(0, Ordering::Relaxed);
            }
        }
        *lock(&self.rates) = Rates::default();
    }
}

/// Serves clients on `listener` until a shutdown is asked for (SHUTDOWN, or
/// [`ServerContext::shutdown`] from a signal handler), then lets every connection finish the
/// commands it has read and returns. The caller drops `db` afterwards, which fsyncs the log and
/// releases the directory lock.
///
/// # Errors
/// The fsync thread could not be started.
pub async fn serve(listener: TcpListener, db: Db, state: Arc<ServerState>) -> crate::Result<()> {
    let syncer = Arc::new(sync::Syncer::start(db.clone())?);
    let mut shutdown = state.shutdown_signal();
    let mut tasks = tokio::task::JoinSet::new();
    let sampler = {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                state.sample_rates();
            }
        })
    };
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
                tasks.spawn(connection::run(stream, peer, db.clone(), Arc::clone(&state), Arc::clone(&syncer)));
            }
            _ = shutdown.changed() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    sampler.abort();
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
    Ok(())
}
