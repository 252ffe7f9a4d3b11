//! `kvdb server`: serve the data directory to Redis clients over TCP.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use kvdb::command::ServerContext;
use kvdb::server::{ServerConfig, ServerState, serve};
use kvdb::{Db, Fsync, Options};

use crate::Cli;

/// Options of `kvdb server`; each overrides the same option of `--config`.
#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// Data directory [default: ./kvdb-data, or the top-level -d].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// TCP port (0 picks a free one) [default: 6379].
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to listen on [default: 127.0.0.1].
    #[arg(long)]
    pub bind: Option<String>,
    /// Durability: always, everysec or no [default: everysec].
    #[arg(long = "appendfsync", value_name = "POLICY")]
    pub appendfsync: Option<Fsync>,
    /// Password clients must give with AUTH or HELLO.
    #[arg(long)]
    pub requirepass: Option<String>,
    /// Most simultaneous clients [default: 10000].
    #[arg(long)]
    pub maxclients: Option<usize>,
    /// Close clients idle for this many seconds; 0 never [default: 0].
    #[arg(long)]
    pub timeout: Option<u64>,
    /// A redis.conf-style file (`port 6380`, `appendfsync always`, ...).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ServerArgs {
    fn to_config(&self, cli: &Cli) -> anyhow::Result<ServerConfig> {
        let mut config = ServerConfig {
            dir: cli.dir.clone(),
            appendfsync: cli.appendfsync,
            ..ServerConfig::default()
        };
        if let Some(size) = cli.segment_size {
            config.segment_size = size;
        }
        if let Some(path) = &self.config {
            config.apply_file(path).map_err(anyhow::Error::msg)?;
        }
        if let Some(dir) = &self.dir {
            config.dir.clone_from(dir);
        }
        if let Some(port) = self.port {
            config.port = port;
        }
        if let Some(bind) = &self.bind {
            config.bind.clone_from(bind);
        }
        if let Some(policy) = self.appendfsync {
            config.appendfsync = policy;
        }
        if let Some(password) = &self.requirepass {
            config.requirepass = Some(password.clone()).filter(|p| !p.is_empty());
        }
        if let Some(max) = self.maxclients {
            config.maxclients = max.max(1);
        }
        if let Some(timeout) = self.timeout {
            config.timeout = timeout;
        }
        Ok(config)
    }
}

/// Opens the store, listens, serves until SIGINT, SIGTERM or SHUTDOWN, then closes cleanly.
pub fn run(cli: &Cli, args: &ServerArgs) -> anyhow::Result<ExitCode> {
    let config = args.to_config(cli)?;
    let started = Instant::now();
    let options = Options {
        fsync: config.appendfsync,
        segment_size: config.segment_size,
        auto_compaction: config.auto_compaction,
        compaction_dead_ratio: config.compaction_dead_percentage as f64 / 100.0,
        compaction_min_dead_bytes: config.compaction_min_dead_bytes,
        compaction_rate_limit: Some(config.compaction_rate_limit).filter(|&r| r > 0),
        compaction_max_amplification: config.compaction_max_amplification_percentage as f64 / 100.0,
        ..Options::default()
    };
    let db = Db::open_with(&config.dir, options)
        .with_context(|| format!("cannot open {}", config.dir.display()))?;
    let keys = db.recovery_report().keys;
    // Every command takes the store's one lock, so workers beyond half the cores mostly contend
    // for it and for the CPU with the clients: one worker per two cores measured best here
    // (docs/PERFORMANCE.md). TOKIO_WORKER_THREADS overrides it.
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        runtime.worker_threads((cores / 2).max(1));
    }
    let runtime = runtime
        .enable_all()
        .thread_name("kvdb-io")
        .build()
        .context("cannot start the I/O runtime")?;
    runtime.block_on(async {
        let address = format!("{}:{}", config.bind, config.port);
        let listener = tokio::net::TcpListener::bind(&address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        let local = listener.local_addr()?;
        let state = ServerState::new(config.clone(), local.port());
        log::info!(
            "kvdb {} (Redis {} compatible), pid {}, data dir {}, appendfsync {}: {keys} keys loaded in {:.3} s",
            env!("CARGO_PKG_VERSION"),
            kvdb::command::REDIS_VERSION,
            std::process::id(),
            config.dir.display(),
            config.appendfsync,
            started.elapsed().as_secs_f64(),
        );
        log::info!("ready to accept connections on {local}");
        let signals = Arc::clone(&state);
        tokio::spawn(async move {
            wait_for_signal().await;
            log::info!("signal received: shutting down");
            signals.shutdown();
        });
        serve(listener, db.clone(), Arc::clone(&state)).await?;
        anyhow::Ok(())
    })?;
    drop(runtime);
    db.sync().context("final fsync failed")?;
    drop(db);
    log::info!("kvdb is now ready to exit, bye bye...");
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
