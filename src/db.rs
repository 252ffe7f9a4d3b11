//! `Db`: the thread-safe handle to an open database.
//!
//! # Threads and locks
//!
//! * One mutex guards the [`Engine`] (log writer + keydirs). Every command runs start to end
//!   under it, which makes each command atomic and linearizable, as Redis's single thread does.
//! * Durability waits happen *outside* that mutex. With `appendfsync always`, a writer releases
//!   the engine lock and then calls [`Shared::sync_through`]: if no fsync is running it becomes
//!   the leader and fdatasyncs the active segment, which covers every record written before it
//!   started; writers that arrive meanwhile wait for it to end, then find their sequence number
//!   already durable and return without a second fsync (group commit). Readers never wait for
//!   an fsync.
//! * A background thread wakes once a second and fsyncs if the policy is `everysec`; it always
//!   runs, because the policy can change at runtime ([`Db::set_fsync_policy`], CONFIG SET
//!   appendfsync). Another runs active expiry every 100 ms. Both stop when the last `Db` handle
//!   is dropped, after which the log is fsync'd a final time and the directory lock released.

use std::path::Path;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::{Receiver, Sender};

use crate::blocking::{Registry, Serve, Served, WaiterId};
use crate::engine::compact::{CompactionStats, Held};
use crate::engine::{Engine, Op, RecoveryReport, expiry};
use crate::error::{Error, Result};
use crate::keydir::Entry;
use crate::log::record::NUM_DBS;
use crate::log::{SeqNo, Timestamp};
use crate::options::{Fsync, Options};
use crate::persistence::{Job, Maintenance, PersistenceInfo};

/// State shared by all handles and the background threads.
#[derive(Debug)]
pub(crate) struct Shared {
    engine: Mutex<Engine>,
    /// Group commit: what is durable, and whether an fsync is running.
    sync: Mutex<SyncState>,
    /// Signalled when an fsync ends.
    synced: Condvar,
    /// The durability policy, an [`Fsync`] as a `u8`: atomic because CONFIG SET appendfsync
    /// changes it while commands run. A writer reads it once, after its batch is written.
    fsync: AtomicU8,
    /// When (Unix ms, by `clock`) the last fsync that covered the whole log started: every
    /// record written before then is durable. Starts at the open, when everything replayed is
    /// on disk. LASTSAVE and INFO's rdb_last_save_time report it.
    last_save: AtomicU64,
    /// When the store was opened (Unix ms, by `clock`).
    opened_at: Timestamp,
    /// Keys deleted because their TTL passed, lazily or by active expiry (INFO expired_keys).
    expired_keys: AtomicU64,
    /// Clients blocked on keys (BLPOP...). Locked only under the engine lock, never the other
    /// way round.
    blocked: Mutex<Registry>,
    /// How many waiters `blocked` holds, so that a write need not lock it when none do.
    waiting: AtomicUsize,
    clock: Arc<dyn crate::clock::Clock>,
    /// Compactions and hint files.
    maint: Maintenance,
    /// Wakes the maintenance thread at once (BGREWRITEAOF, BGSAVE).
    wake: Sender<()>,
}

fn fsync_to_u8(policy: Fsync) -> u8 {
    match policy {
        Fsync::Always => 0,
        Fsync::EverySec => 1,
        Fsync::No => 2,
    }
}

fn fsync_from_u8(value: u8) -> Fsync {
    match value {
        0 => Fsync::Always,
        1 => Fsync::EverySec,
        _ => Fsync::No,
    }
}

/// The group-commit state.
#[derive(Debug, Default)]
struct SyncState {
    /// Highest sequence number known to be on stable storage.
    durable: SeqNo,
    /// An fsync is in flight; others wait for it instead of starting their own.
    syncing: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the engine half-updated in a way that
    // matters more than refusing service would: keydir updates follow a completed append.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn engine(&self) -> MutexGuard<'_, Engine> {
        lock(&self.engine)
    }

    /// Returns once every record up to `seq` is durable.
    ///
    /// Group commit: if no fsync is running, this caller becomes the leader and fsyncs the
    /// active segment, which covers every record appended before it started. Callers arriving
    /// meanwhile wait on the condition variable; when the fsync ends they all wake, those
    /// covered return at once, and one of the rest leads the next fsync for everything written
    /// during the previous one. A covered waiter never waits behind a later fsync.
    fn sync_through(&self, seq: SeqNo) -> Result<()> {
        let mut state = lock(&self.sync);
        while state.durable < seq && state.syncing {
            state = self
                .synced
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        if state.durable >= seq {
            return Ok(());
        }
        state.syncing = true;
        drop(state);

        let result = self.fsync_active();
        let mut state = lock(&self.sync);
        state.syncing = false;
        if let Ok((upto, started)) = result {
            state.durable = state.durable.max(upto);
            self.last_save.fetch_max(started, Ordering::Relaxed);
        }
        self.synced.notify_all();
        result.map(drop)
    }

    /// Fsyncs the active segment without holding the engine lock; returns the last sequence
    /// number it covers (everything written when it started) and that start time. After a
    /// failed fsync the engine is poisoned and this keeps failing: the kernel may have dropped
    /// the dirty pages, so a later fsync "succeeding" proves nothing.
    fn fsync_active(&self) -> Result<(SeqNo, Timestamp)> {
        let (upto, file, path, observer, started) = {
            let engine = self.engine();
            if engine.is_poisoned() {
                return Err(Error::Poisoned);
            }
            let (upto, file, path) = engine.sync_handle();
            let started = self.clock.now_ms();
            (upto, file, path, engine.options().observer.clone(), started)
        };
        if let Err(e) = crate::log::writer::sync_file(&file, &path, observer.as_ref()) {
            self.engine().poison();
            return Err(e);
        }
        Ok((upto, started))
    }

    fn fsync_policy(&self) -> Fsync {
        fsync_from_u8(self.fsync.load(Ordering::Relaxed))
    }

    fn sync_all(&self) -> Result<()> {
        let upto = self.engine().sync_handle().0;
        self.sync_through(upto)
    }
}

/// Owns the background threads; dropping it stops them and closes the database.
#[derive(Debug)]
struct Core {
    shared: Arc<Shared>,
    stop: Option<Sender<()>>,
    threads: Vec<JoinHandle<()>>,
    report: RecoveryReport,
}

impl Drop for Core {
    fn drop(&mut self) {
        // A running compaction stops; its temporary file is removed.
        self.shared.maint.stop.store(true, Ordering::SeqCst);
        drop(self.stop.take());
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        self.shared.maint.stop.store(false, Ordering::SeqCst);
        // A graceful close: the next open loads every sealed segment from its hint.
        if let Err(e) = self.shared.maint.write_hints(&self.shared.engine) {
            ::log::error!("writing hint files at close failed: {e}");
        }
        if let Err(e) = self.shared.engine().sync() {
            ::log::error!("final fsync failed: {e}");
        }
    }
}

/// A handle to an open database, bound to one of its 16 numbered databases (0 by default).
///
/// Cloning is cheap and every clone shares the same store; `Db` is `Send + Sync`. The store
/// closes (final fsync, lock released) when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Db {
    core: Arc<Core>,
    index: u8,
}

impl Db {
    /// Opens the database in `path` with default options, creating it if needed.
    ///
    /// # Errors
    /// [`Error::Locked`] if another process has it open; [`Error::Corrupt`] if a segment is
    /// damaged other than by a torn tail; [`Error::Io`] for file-system failures.
    pub fn open(path: impl AsRef<Path>) -> Result<Db> {
        Db::open_with(path, Options::default())
    }

    /// Opens the database in `path` with `options`.
    ///
    /// # Errors
    /// As [`Db::open`], plus [`Error::InvalidOption`].
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Db> {
        let fsync = options.fsync;
        let clock = Arc::clone(&options.clock);
        let expiry_period = options.active_expiry;
        let auto_compaction = options.auto_compaction;
        let (engine, report) = Engine::open(path.as_ref(), options)?;
        let durable = engine.next_seq().saturating_sub(1);
        let opened_at = clock.now_ms();
        let (wake_tx, wake_rx) = crossbeam::channel::bounded::<()>(1);
        let shared = Arc::new(Shared {
            engine: Mutex::new(engine),
            sync: Mutex::new(SyncState {
                durable,
                syncing: false,
            }),
            synced: Condvar::new(),
            fsync: AtomicU8::new(fsync_to_u8(fsync)),
            last_save: AtomicU64::new(opened_at),
            opened_at,
            expired_keys: AtomicU64::new(0),
            blocked: Mutex::new(Registry::default()),
            waiting: AtomicUsize::new(0),
            clock,
            maint: Maintenance::default(),
            wake: wake_tx,
        });
        let (stop, stopped) = crossbeam::channel::bounded::<()>(0);
        let maintenance = spawn_maintenance(
            stopped.clone(),
            wake_rx,
            Arc::clone(&shared),
            auto_compaction,
        )?;
        // Runs under every policy, and fsyncs only while it is `everysec`: the policy may
        // change at runtime. An idle tick costs one atomic load.
        let mut threads = vec![spawn_ticker(
            "kvdb-fsync",
            Duration::from_secs(1),
            stopped.clone(),
            Arc::clone(&shared),
            |s| {
                if s.fsync_policy() == Fsync::EverySec
                    && let Err(e) = s.sync_all()
                {
                    ::log::error!("background fsync failed, refusing writes: {e}");
                }
            },
        )?];
        threads.push(maintenance);
        if let Some(period) = expiry_period {
            threads.push(spawn_ticker(
                "kvdb-expire",
                period,
                stopped,
                Arc::clone(&shared),
                move |s| {
                    let now = s.clock.now_ms();
                    // A quarter of the period, as Redis's 25% CPU budget per tick.
                    match expiry::active_expire_cycle(&mut s.engine(), now, period / 4) {
                        Ok(n) => {
                            s.expired_keys.fetch_add(n as u64, Ordering::Relaxed);
                        }
                        Err(e) => ::log::error!("active expiry failed: {e}"),
                    }
                },
            )?);
        }
        Ok(Db {
            core: Arc::new(Core {
                shared,
                stop: Some(stop),
                threads,
                report,
            }),
            index: 0,
        })
    }

    /// What opening the database found (records replayed, torn tail cut, time taken).
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.core.report
    }

    /// The numbered database this handle works on.
    pub fn index(&self) -> u8 {
        self.index
    }

    /// A handle on numbered database `index` (0..16) of the same store.
    ///
    /// # Errors
    /// [`Error::DbIndexOutOfRange`] for 16 and above.
    pub fn select(&self, index: i64) -> Result<Db> {
        let index = u8::try_from(index)
            .ok()
            .filter(|&i| i < NUM_DBS)
            .ok_or(Error::DbIndexOutOfRange)?;
        Ok(Db {
            core: Arc::clone(&self.core),
            index,
        })
    }

    /// Runs `f` atomically: no other command runs between its reads and writes, and its writes
    /// reach the log as one batch, so a crash keeps all of them or none. Writes made by `f` are
    /// durable when this returns if the fsync policy is `always`.
    pub fn tx<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let (result, wrote) = self.run(f, true);
        if let Some(seq) = wrote {
            self.wait_durable(seq)?;
        }
        result
    }

    /// Runs `f` atomically as [`Db::tx`] does, but holds its batch in memory instead of
    /// writing it: a pipeline of commands then costs one write ([`Db::flush`]) and one fsync
    /// ([`Db::wait_durable`]). Returns the sequence number of the last record `f` wrote, which
    /// must be flushed and made durable before anyone is told the write happened.
    pub fn tx_held<T>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T>,
    ) -> (Result<T>, Option<SeqNo>) {
        self.run(f, false)
    }

    fn run<T>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T>,
        write: bool,
    ) -> (Result<T>, Option<SeqNo>) {
        let shared = &self.core.shared;
        let mut engine = shared.engine();
        // Everything `f` writes becomes one batch: a crash keeps all of it or none (DEL of
        // several keys commits once per key).
        engine.begin();
        let mut tx = Tx {
            now: shared.clock.now_ms(),
            shared,
            engine: &mut engine,
            db: self.index,
            wrote: None,
            ready: Vec::new(),
        };
        let mut result = f(&mut tx);
        // Clients blocked on keys this command filled are served now, in its batch.
        if result.is_ok()
            && let Err(e) = tx.serve_blocked()
        {
            result = Err(e);
        }
        let wrote = tx.wrote;
        let ended = if write {
            engine.finish()
        } else {
            engine.end_batch()
        };
        (ended.and(result), wrote)
    }

    /// Writes every batch held by [`Db::tx_held`] (of any handle) with one write.
    pub fn flush(&self) -> Result<()> {
        self.core.shared.engine().flush()
    }

    /// Returns once the record `seq` is durable, if the fsync policy is `always` (otherwise at
    /// once: the background fsync or the OS takes care of it). Held batches must have been
    /// flushed. Concurrent callers share fsyncs.
    pub fn wait_durable(&self, seq: SeqNo) -> Result<()> {
        let shared = &self.core.shared;
        if shared.fsync_policy() == Fsync::Always {
            shared.sync_through(seq)?;
        }
        Ok(())
    }

    /// The durability policy now in force.
    pub fn fsync_policy(&self) -> Fsync {
        self.core.shared.fsync_policy()
    }

    /// Changes the durability policy of the running store (CONFIG SET appendfsync). It applies
    /// to writes acknowledged from now on: under `always` each waits for an fsync (group
    /// commit as usual), under `everysec` the background thread fsyncs from its next tick.
    /// Records written before the change keep the guarantee they were given.
    pub fn set_fsync_policy(&self, policy: Fsync) {
        self.core
            .shared
            .fsync
            .store(fsync_to_u8(policy), Ordering::Relaxed);
    }

    /// When (Unix ms) the last fsync covering the whole log started, or the store was opened
    /// if none has since: everything written before then is durable (LASTSAVE).
    pub fn last_save(&self) -> Timestamp {
        self.core.shared.last_save.load(Ordering::Relaxed)
    }

    /// Makes everything written so far durable now, whatever the fsync policy.
    pub fn sync(&self) -> Result<()> {
        self.core.shared.sync_all()
    }

    /// The current end of the log (active segment id and length): a test hook for crash tests.
    #[doc(hidden)]
    pub fn log_position(&self) -> (u32, u64) {
        self.core.shared.engine().log_position()
    }

    /// Number of segment files.
    pub fn segment_count(&self) -> usize {
        self.core.shared.engine().segment_count()
    }

    /// Compacts the whole log now, in the calling thread (what `kvdb compact` and
    /// BGREWRITEAOF do): seals the active segment, then rewrites every sealed segment's live
    /// records, run by run. Clients keep reading and writing meanwhile. `progress(done,
    /// total)` gets bytes read. Returns what each run did.
    ///
    /// # Errors
    /// I/O errors, or [`Error::Corrupt`] for a damaged segment; the store is unchanged by a
    /// run that failed.
    pub fn compact(&self, mut progress: impl FnMut(u64, u64)) -> Result<Vec<CompactionStats>> {
        let shared = &self.core.shared;
        shared.maint.rewrite(&shared.engine, &mut progress)
    }

    /// Runs the automatic compaction policy now, as the background thread does every second.
    pub fn compact_if_needed(&self) -> Result<()> {
        let shared = &self.core.shared;
        shared.maint.auto_compact(&shared.engine)
    }

    /// Starts a full compaction in the background (BGREWRITEAOF); false if one is already
    /// running or waiting.
    pub fn compact_in_background(&self) -> bool {
        self.core.shared.request(Job::Rewrite)
    }

    /// Writes the hint file of every sealed segment that lacks one, after an fsync of
    /// everything written (SAVE).
    pub fn save(&self) -> Result<()> {
        let shared = &self.core.shared;
        let started = shared.clock.now_ms();
        shared.maint.save(&shared.engine, false)?;
        shared.last_save.fetch_max(started, Ordering::Relaxed);
        Ok(())
    }

    /// As [`Db::save`], in the background (BGSAVE); false if a save is already running or
    /// waiting.
    pub fn save_in_background(&self) -> bool {
        self.core.shared.request(Job::Save)
    }

    /// Segments, live and dead bytes, compactions and saves (INFO persistence).
    pub fn persistence(&self) -> PersistenceInfo {
        let shared = &self.core.shared;
        shared.maint.info(&shared.engine())
    }
}

impl Shared {
    /// Asks the maintenance thread for `job` and wakes it.
    fn request(&self, job: Job) -> bool {
        let asked = self.maint.request(job);
        if asked {
            let _ = self.wake.try_send(());
        }
        asked
    }
}

/// The maintenance thread: compactions and hint files, every second and when woken.
fn spawn_maintenance(
    stopped: Receiver<()>,
    wake: Receiver<()>,
    shared: Arc<Shared>,
    auto: bool,
) -> Result<JoinHandle<()>> {
    let ticks = crossbeam::channel::tick(Duration::from_secs(1));
    std::thread::Builder::new()
        .name("kvdb-compact".to_owned())
        .spawn(move || {
            loop {
                crossbeam::channel::select! {
                    recv(stopped) -> _ => break,
                    recv(wake) -> _ => shared.maint.tick(&shared.engine, false),
                    recv(ticks) -> _ => shared.maint.tick(&shared.engine, auto),
                }
            }
        })
        .map_err(|e| Error::io("thread", e))
}

fn spawn_ticker(
    name: &str,
    period: Duration,
    stopped: Receiver<()>,
    shared: Arc<Shared>,
    mut work: impl FnMut(&Shared) + Send + 'static,
) -> Result<JoinHandle<()>> {
    let ticks = crossbeam::channel::tick(period);
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            loop {
                crossbeam::channel::select! {
                    recv(stopped) -> _ => break,
                    recv(ticks) -> _ => work(&shared),
                }
            }
        })
        .map_err(|e| Error::io("thread", e))
}

/// The store seen from inside one atomic operation ([`Db::tx`]) on one numbered database.
///
/// The typed command methods (in [`crate::types`]) are defined on `Tx`, so several of them can
/// be combined atomically; `Db`'s own typed methods each run one of them in its own `tx`.
#[derive(Debug)]
pub struct Tx<'a> {
    /// The state shared by the handles: only its atomics may be touched here (its engine
    /// mutex is the one this operation holds, through `engine`).
    shared: &'a Shared,
    engine: &'a mut Engine,
    db: u8,
    now: Timestamp,
    /// Sequence number of the last record this operation wrote, if any.
    wrote: Option<SeqNo>,
    /// Keys that blocked clients wait on and that this operation filled: served at its end.
    ready: Vec<(u8, Vec<u8>)>,
}

impl<'a> Tx<'a> {
    /// The numbered database this operation works on.
    pub fn db(&self) -> u8 {
        self.db
    }

    /// Switches this operation to database `db` (already validated to be < 16).
    pub(crate) fn set_db(&mut self, db: u8) {
        self.db = db;
    }

    /// The time the operation runs at (Unix ms); constant for its whole duration.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The live entry of `key` in database `db`, expiring it first if it is due.
    pub(crate) fn entry_in(&mut self, db: u8, key: &[u8]) -> Result<Option<Entry>> {
        if self.engine.expire_if_due(db, key, self.now)? {
            self.shared.expired_keys.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        }
        Ok(self.engine.keydir(db).get(key).copied())
    }

    /// The live entry of `key` in this operation's database.
    pub(crate) fn entry(&mut self, key: &[u8]) -> Result<Option<Entry>> {
        self.entry_in(self.db, key)
    }

    /// Reads the value an entry points at.
    pub(crate) fn read(&self, entry: &Entry) -> Result<Vec<u8>> {
        self.engine.read_value(entry)
    }

    /// Adds `ops` to this operation's batch (written when the operation ends).
    pub(crate) fn commit(&mut self, ops: &[Op<'_>]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        self.wrote = Some(self.engine.commit(ops)?);
        if self.shared.waiting.load(Ordering::SeqCst) > 0 {
            let registry = lock(&self.shared.blocked);
            for op in ops {
                if let Op::Create { db, key, .. } | Op::SetElement { db, key, .. } = *op
                    && registry.is_waited(db, key)
                    && !self.ready.iter().any(|(d, k)| *d == db && k == key)
                {
                    self.ready.push((db, key.to_vec()));
                }
            }
        }
        Ok(())
    }

    /// Sequence number of the last record this operation wrote so far, if any.
    pub(crate) fn last_write(&self) -> Option<SeqNo> {
        self.wrote
    }

    /// Blocks the caller on `keys` of this operation's database: registers `serve`, run when
    /// a later command fills one of them (see [`crate::blocking`]).
    pub(crate) fn block(&mut self, keys: Vec<Vec<u8>>, serve: Serve) -> WaiterId {
        let id = lock(&self.shared.blocked).add(self.db, keys, serve);
        self.shared.waiting.fetch_add(1, Ordering::SeqCst);
        id
    }

    /// Unregisters waiter `id`; false if it was served already.
    pub(crate) fn unblock(&mut self, id: WaiterId) -> bool {
        let removed = lock(&self.shared.blocked).remove(id);
        if removed {
            self.shared.waiting.fetch_sub(1, Ordering::SeqCst);
        }
        removed
    }

    /// Serves the clients blocked on the keys this operation filled, each key's in the order
    /// they blocked, until no key is ready or the key is gone.
    fn serve_blocked(&mut self) -> Result<()> {
        while !self.ready.is_empty() {
            let (db, key) = self.ready.remove(0);
            let queue = lock(&self.shared.blocked).queue(db, &key);
            for id in queue {
                if self.engine.peek(db, &key, self.now).is_none() {
                    break;
                }
                let Some((waiter_db, mut serve)) = lock(&self.shared.blocked).take_serve(id) else {
                    continue;
                };
                let own_db = std::mem::replace(&mut self.db, waiter_db);
                let outcome = serve(self, &key);
                self.db = own_db;
                match outcome {
                    Ok(Served::Done) => {
                        self.unblock(id);
                    }
                    Ok(Served::NotReady) => lock(&self.shared.blocked).put_serve(id, serve),
                    Err(e) => {
                        lock(&self.shared.blocked).put_serve(id, serve);
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    /// Number of clients blocked on keys (INFO's blocked_clients).
    pub fn blocked_clients(&self) -> usize {
        self.shared.waiting.load(Ordering::SeqCst)
    }

    /// Read access to the engine (keydirs, options).
    pub(crate) fn engine(&self) -> &Engine {
        self.engine
    }

    /// Write access to the engine (the WATCH registry).
    pub(crate) fn engine_mut(&mut self) -> &mut Engine {
        self.engine
    }

    /// The durability policy now in force.
    pub fn fsync_policy(&self) -> Fsync {
        self.shared.fsync_policy()
    }

    /// Changes the durability policy, as [`Db::set_fsync_policy`].
    pub fn set_fsync_policy(&self, policy: Fsync) {
        self.shared
            .fsync
            .store(fsync_to_u8(policy), Ordering::Relaxed);
    }

    /// As [`Db::last_save`].
    pub fn last_save(&self) -> Timestamp {
        self.shared.last_save.load(Ordering::Relaxed)
    }

    /// When the store was opened (Unix ms).
    pub fn opened_at(&self) -> Timestamp {
        self.shared.opened_at
    }

    /// Records written since the last fsync that covered the whole log (INFO's
    /// rdb_changes_since_last_save). Takes the group-commit mutex, which is never held while
    /// waiting for the engine lock, so calling it under the engine lock cannot deadlock.
    pub fn unsynced_records(&self) -> u64 {
        let durable = lock(&self.shared.sync).durable;
        self.engine
            .next_seq()
            .saturating_sub(1)
            .saturating_sub(durable)
    }

    /// Keys deleted because their TTL passed since the store opened (or the last
    /// [`Tx::reset_expired_keys`]).
    pub fn expired_keys(&self) -> u64 {
        self.shared.expired_keys.load(Ordering::Relaxed)
    }

    /// As [`Db::persistence`].
    pub fn persistence(&self) -> PersistenceInfo {
        self.shared.maint.info(self.engine)
    }

    /// As [`Db::compact_in_background`] (BGREWRITEAOF).
    pub fn compact_in_background(&self) -> bool {
        self.shared.request(Job::Rewrite)
    }

    /// Whether a full compaction is running or waiting.
    pub fn compaction_pending(&self) -> bool {
        self.shared.maint.pending(Job::Rewrite)
    }

    /// As [`Db::save_in_background`] (BGSAVE).
    pub fn save_in_background(&self) -> bool {
        self.shared.request(Job::Save)
    }

    /// Whether a BGSAVE is running or waiting.
    pub fn save_pending(&self) -> bool {
        self.shared.maint.pending(Job::Save)
    }

    /// SAVE inside a command: writes the missing hint files with the store held, as Redis's
    /// SAVE blocks the server. `Ok(false)` if a compaction or BGSAVE is running.
    pub fn save(&mut self) -> Result<bool> {
        let started = self.shared.clock.now_ms();
        let saved = self
            .shared
            .maint
            .save_held(&Held(std::cell::RefCell::new(self.engine)))?;
        if saved {
            // Everything written before the save started is durable (LASTSAVE).
            self.shared.last_save.fetch_max(started, Ordering::Relaxed);
        }
        Ok(saved)
    }

    /// Zeroes the expired-keys counter (CONFIG RESETSTAT).
    pub fn reset_expired_keys(&self) {
        self.shared.expired_keys.store(0, Ordering::Relaxed);
    }
}
