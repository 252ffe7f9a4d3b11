//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN...), served in the order they blocked.
//!
//! # How a blocked client is served
//!
//! A blocking command first tries to pop inside its transaction. If nothing is there, it
//! registers a *waiter* in the same transaction (so no push can slip in between the failed
//! attempt and the registration): the keys it waits on, in its database, and a `serve`
//! closure that performs its pop against a [`Tx`] and hands the result over.
//!
//! Every write goes through `Tx::commit`; when it creates or adds elements to a key that
//! some waiter waits on, the key is noted as *ready*. When the writing command's function
//! returns, still under the engine lock and in the same batch, `Tx::serve_blocked` walks the
//! ready keys: each key's waiters are tried in the order they blocked (Redis's FIFO), each
//! served waiter leaves every queue it was in, and the walk stops once the key is gone. A
//! push of n elements therefore wakes exactly as many waiters as it can serve. A pop made for
//! a waiter may itself make a key ready (BLMOVE pushes to its destination): the walk goes on
//! until no key is ready.
//!
//! The waiter itself only waits on its [`Handoff`]: a thread on a condition variable (the
//! library and the CLI), a task on a `tokio::sync::Notify` (the server, which holds no thread
//! per blocked client). On timeout or disconnect it unregisters under the engine lock; if it
//! was served meanwhile, the result is already in the handoff and is used instead.
//!
//! The records of a served pop belong to the batch of the command that made the key ready; the
//! waiter makes them durable (flush, and fsync under `always`) before it replies.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use crate::db::Tx;
use crate::error::Result;
use crate::log::SeqNo;

/// What a waiter's `serve` closure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// It got its result (and delivered it): the waiter leaves every queue.
    Done,
    /// Nothing for it on this key (empty, or the wrong type): it stays blocked.
    NotReady,
}

/// A waiter's pop: runs in the transaction of the command that made `key` ready, with the
/// transaction switched to the waiter's database.
pub type Serve = Box<dyn FnMut(&mut Tx<'_>, &[u8]) -> Result<Served> + Send>;

/// Identifies a registered waiter.
pub type WaiterId = u64;

struct Waiter {
    db: u8,
    keys: Vec<Vec<u8>>,
    /// Taken out while it runs.
    serve: Option<Serve>,
}

/// Every waiter, and each key's queue of waiters in blocking order.
#[derive(Default)]
pub(crate) struct Registry {
    next_id: WaiterId,
    queues: HashMap<(u8, Vec<u8>), VecDeque<WaiterId>>,
    waiters: HashMap<WaiterId, Waiter>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("waiters", &self.waiters.len())
            .field("keys", &self.queues.len())
            .finish()
    }
}

impl Registry {
    /// Registers a waiter on `keys` of database `db`.
    pub(crate) fn add(&mut self, db: u8, keys: Vec<Vec<u8>>, serve: Serve) -> WaiterId {
        self.next_id += 1;
        let id = self.next_id;
        for key in &keys {
            let queue = self.queues.entry((db, key.clone())).or_default();
            // A key named twice (BLPOP k k 0) queues the waiter once.
            if !queue.contains(&id) {
                queue.push_back(id);
            }
        }
        self.waiters.insert(
            id,
            Waiter {
                db,
                keys,
                serve: Some(serve),
            },
        );
        id
    }

    /// Unregisters waiter `id`; false if it is not registered (it was served).
    pub(crate) fn remove(&mut self, id: WaiterId) -> bool {
        let Some(waiter) = self.waiters.remove(&id) else {
            return false;
        };
        for key in waiter.keys {
            let slot = (waiter.db, key);
            if let Some(queue) = self.queues.get_mut(&slot) {
                queue.retain(|&w| w != id);
                if queue.is_empty() {
                    self.queues.remove(&slot);
                }
            }
        }
        true
    }

    /// Whether someone waits on `key` of `db`.
    pub(crate) fn is_waited(&self, db: u8, key: &[u8]) -> bool {
        // A lookup without building the owned key would need a borrowed form of the tuple;
        // pushes to waited keys are rare enough that the copy does not matter.
        self.queues.contains_key(&(db, key.to_vec()))
    }

    /// The waiters queued on `key` of `db`, first blocked first.
    pub(crate) fn queue(&self, db: u8, key: &[u8]) -> Vec<WaiterId> {
        self.queues
            .get(&(db, key.to_vec()))
            .map(|q| q.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Takes waiter `id`'s closure out to run it, with its database.
    pub(crate) fn take_serve(&mut self, id: WaiterId) -> Option<(u8, Serve)> {
        let waiter = self.waiters.get_mut(&id)?;
        Some((waiter.db, waiter.serve.take()?))
    }

    /// Puts back a closure taken by [`Registry::take_serve`] (the waiter was not served).
    pub(crate) fn put_serve(&mut self, id: WaiterId, serve: Serve) {
        if let Some(waiter) = self.waiters.get_mut(&id) {
            waiter.serve = Some(serve);
        }
    }
}

/// Where a served waiter finds its result: filled once, under the engine lock, by the `serve`
/// closure; read by the blocked thread or task.
#[derive(Debug)]
pub struct Handoff<T> {
    slot: Mutex<Option<(T, Option<SeqNo>)>>,
    filled: Condvar,
    notify: tokio::sync::Notify,
}

impl<T> Default for Handoff<T> {
    fn default() -> Self {
        Handoff {
            slot: Mutex::new(None),
            filled: Condvar::new(),
            notify: tokio::sync::Notify::new(),
        }
    }
}

impl<T> Handoff<T> {
    /// A new, empty handoff.
    pub fn new() -> Arc<Handoff<T>> {
        Arc::new(Handoff::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(T, Option<SeqNo>)>> {
        self.slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Delivers the result and the sequence number of the last record its pop wrote, which
    /// must be durable before the waiter replies.
    pub fn deliver(&self, value: T, seq: Option<SeqNo>) {
        *self.lock() = Some((value, seq));
        self.filled.notify_all();
        self.notify.notify_one();
    }

    /// Takes the result if it was delivered.
    pub fn take(&self) -> Option<(T, Option<SeqNo>)> {
        self.lock().take()
    }

    /// Blocks the calling thread until the result is delivered or `deadline` passes.
    pub fn wait(&self, deadline: Option<Instant>) -> Option<(T, Option<SeqNo>)> {
        let mut slot = self.lock();
        loop {
            if let Some(value) = slot.take() {
                return Some(value);
            }
            slot = match deadline {
                None => self
                    .filled
                    .wait(slot)
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.checked_duration_since(Instant::now())?;
                    self.filled
                        .wait_timeout(slot, left)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// Waits (asynchronously) until the result is delivered.
    pub async fn delivered(&self) -> (T, Option<SeqNo>) {
        loop {
            // Registered before checking, so a delivery in between still wakes us.
            let notified = self.notify.notified();
            if let Some(value) = self.take() {
                return value;
            }
            notified.await;
        }
    }
}

impl Tx<'_> {
    /// Blocks on `keys` of this operation's database with a typed handoff: when a later
    /// command fills one of them, `pop` runs for that key (in that command's transaction) and,
    /// if it yields a result, the result is delivered to `handoff` with the sequence number of
    /// the records it wrote.
    pub(crate) fn block_on<T: Send + 'static>(
        &mut self,
        keys: Vec<Vec<u8>>,
        handoff: &Arc<Handoff<T>>,
        mut pop: impl FnMut(&mut Tx<'_>, &[u8]) -> Result<Option<T>> + Send + 'static,
    ) -> WaiterId {
        let handoff = Arc::clone(handoff);
        self.block(
            keys,
            Box::new(move |tx, key| match pop(tx, key)? {
                Some(value) => {
                    handoff.deliver(value, tx.last_write());
                    Ok(Served::Done)
                }
                None => Ok(Served::NotReady),
            }),
        )
    }
}

impl crate::Db {
    /// The library's blocking pop: runs `first` (which tries every key, in order); if it
    /// yields nothing, blocks this thread on `keys` until a later command lets `pop` succeed on
    /// one of them, or `timeout` passes (`None`: wait forever). The result is durable (under
    /// `appendfsync always`) when this returns. `Ok(None)` on timeout.
    pub(crate) fn blocking_pop<T: Send + 'static>(
        &self,
        keys: &[&[u8]],
        timeout: Option<std::time::Duration>,
        first: impl FnOnce(&mut Tx<'_>) -> Result<Option<T>>,
        pop: impl FnMut(&mut Tx<'_>, &[u8]) -> Result<Option<T>> + Send + 'static,
    ) -> Result<Option<T>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let handoff = Handoff::new();
        let waiter = self.tx(|tx| {
            if let Some(found) = first(tx)? {
                return Ok(Err(found));
            }
            let keys = keys.iter().map(|k| k.to_vec()).collect();
            Ok(Ok(tx.block_on(keys, &handoff, pop)))
        })?;
        let id = match waiter {
            Err(found) => return Ok(Some(found)),
            Ok(id) => id,
        };
        let delivered = match handoff.wait(deadline) {
            Some(delivered) => Some(delivered),
            None => {
                // Timed out, unless it was served just now: then the result is in the handoff.
                if self.tx(|tx| Ok(tx.unblock(id)))? {
                    None
                } else {
                    handoff.take()
                }
            }
        };
        match delivered {
            Some((value, seq)) => {
                if let Some(seq) = seq {
                    self.flush()?;
                    self.wait_durable(seq)?;
                }
                Ok(Some(value))
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop() -> Serve {
        Box::new(|_, _| Ok(Served::NotReady))
    }

    #[test]
    fn queues_keep_blocking_order_and_removal_clears_every_queue() {
        let mut registry = Registry::default();
        let a = registry.add(0, vec![b"k".to_vec(), b"j".to_vec()], noop());
        let b = registry.add(0, vec![b"k".to_vec()], noop());
        let c = registry.add(1, vec![b"k".to_vec(), b"k".to_vec()], noop());
        assert_eq!(registry.queue(0, b"k"), [a, b]);
        assert_eq!(registry.queue(1, b"k"), [c]);
        assert!(registry.remove(a));
        assert!(!registry.remove(a));
        assert_eq!(registry.queue(0, b"k"), [b]);
        assert!(!registry.is_waited(0, b"j"));
        assert_eq!(registry.waiters.len(), 2);
    }

    #[test]
    fn a_handoff_wakes_a_waiting_thread_and_times_out_without_one() {
        let handoff: Arc<Handoff<u32>> = Handoff::new();
        let soon = Some(Instant::now() + std::time::Duration::from_millis(20));
        assert_eq!(handoff.wait(soon), None);
        let giver = Arc::clone(&handoff);
        let thread = std::thread::spawn(move || giver.deliver(7, Some(3)));
        assert_eq!(handoff.wait(None), Some((7, Some(3))));
        assert!(thread.join().is_ok());
    }
}
