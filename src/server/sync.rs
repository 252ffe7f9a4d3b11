//! The server's fsync thread, for `appendfsync always`.
//!
//! A connection that wrote asks this thread to make its last sequence number durable and
//! awaits the answer on a watch channel, so no tokio worker blocks on the disk. The thread
//! takes every request that queued while it was busy, fsyncs once for all of them (the store's
//! group commit), and publishes the new durable sequence number, which wakes every connection
//! it covers. One thread for the whole server, rather than a blocking-pool thread per waiting
//! connection: measured in docs/PERFORMANCE.md, that cut futex calls and context switches per
//! write several-fold.

use std::thread::JoinHandle;

use crossbeam::channel::{Receiver, Sender, unbounded};
use tokio::sync::watch;

use crate::log::SeqNo;
use crate::{Db, Error, Result};

/// What the fsync thread has made durable.
#[derive(Debug, Clone, Copy, Default)]
struct Durable {
    seq: SeqNo,
    /// An fsync failed: the store is poisoned and nothing more becomes durable.
    failed: bool,
}

/// Handle to the fsync thread; dropping it stops the thread.
#[derive(Debug)]
pub struct Syncer {
    requests: Option<Sender<SeqNo>>,
    durable: watch::Receiver<Durable>,
    thread: Option<JoinHandle<()>>,
}

impl Syncer {
    /// Starts the fsync thread for `db`.
    pub fn start(db: Db) -> Result<Syncer> {
        let (requests, received) = unbounded();
        let (publish, durable) = watch::channel(Durable::default());
        let thread = std::thread::Builder::new()
            .name("kvdb-sync".into())
            .spawn(move || run(&db, &received, &publish))
            .map_err(|e| Error::io("kvdb-sync thread", e))?;
        Ok(Syncer {
            requests: Some(requests),
            durable,
            thread: Some(thread),
        })
    }

    /// Returns once record `seq` (already written) is durable.
    pub async fn wait(&self, seq: SeqNo) -> Result<()> {
        if let Some(requests) = &self.requests {
            let _ = requests.send(seq);
        }
        let mut durable = self.durable.clone();
        let reached = durable.wait_for(|d| d.seq >= seq || d.failed).await;
        match reached {
            Ok(d) if !d.failed => Ok(()),
            _ => Err(Error::Poisoned),
        }
    }
}

fn run(db: &Db, requests: &Receiver<SeqNo>, publish: &watch::Sender<Durable>) {
    while let Ok(first) = requests.recv() {
        let upto = requests.try_iter().fold(first, SeqNo::max);
        match db.wait_durable(upto) {
            Ok(()) => publish.send_modify(|d| d.seq = d.seq.max(upto)),
            Err(e) => {
                ::log::error!("fsync failed, refusing writes: {e}");
                publish.send_modify(|d| d.failed = true);
            }
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
