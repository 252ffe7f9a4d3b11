//! Compaction and hint files at the level of an open store: the background thread that runs
//! them, BGREWRITEAOF / SAVE / BGSAVE, and what INFO persistence reports.
//!
//! One compaction or hint pass runs at a time (a mutex, `Maintenance::running`). The background
//! thread wakes every second, and at once when a client asks for a rewrite or a save:
//! * with `auto_compaction`, it compacts while the policy finds a run worth it
//!   ([`Selection::Auto`]), then writes the hint of any sealed segment that lacks one;
//! * a requested rewrite (BGREWRITEAOF) seals the active segment and compacts the whole log;
//! * a requested save (BGSAVE) writes the missing hints.
//!
//! Closing the store stops a running compaction (its temporary file is removed) and then, if
//! the store is healthy, writes the missing hints (a graceful shutdown), as SAVE does.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::engine::Engine;
use crate::engine::compact::{
    self, CompactionStats, EngineLock, Held, RateLimiter, SegmentUsage, Selection,
};
use crate::error::Result;
use crate::log::SegmentId;
use crate::log::Timestamp;

/// What to do in the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Job {
    /// BGREWRITEAOF: compact everything.
    Rewrite,
    /// BGSAVE: write missing hints.
    Save,
}

/// The state of compactions and saves, shared by the handles and the background thread.
#[derive(Debug, Default)]
pub(crate) struct Maintenance {
    /// Held while a compaction or a hint pass runs.
    running: Mutex<()>,
    /// Asks a running compaction or hint pass to stop (the store is closing).
    pub(crate) stop: AtomicBool,
    rewrite_in_progress: AtomicBool,
    rewrite_scheduled: AtomicBool,
    save_in_progress: AtomicBool,
    save_scheduled: AtomicBool,
    /// Bytes read so far by the running compaction, for progress reports.
    progress: AtomicU64,
    history: Mutex<History>,
}

/// What past compactions and saves did.
#[derive(Debug, Default, Clone)]
struct History {
    rewrites: u64,
    last_rewrite: Option<(bool, Duration)>,
    rewrite_started: Option<Instant>,
    saves: u64,
    last_save: Option<(bool, Duration)>,
    save_started: Option<Instant>,
    /// Unix ms of the last successful SAVE/BGSAVE.
    last_save_time: Option<Timestamp>,
    compactions: u64,
    last_compaction: Option<CompactionStats>,
    reclaimed: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What INFO persistence and `kvdb stats` report.
#[derive(Debug, Clone, Default)]
pub struct PersistenceInfo {
    /// Every segment, in replay order.
    pub segments: Vec<SegmentUsage>,
    /// A BGREWRITEAOF (full compaction) is running.
    pub rewrite_in_progress: bool,
    /// A BGREWRITEAOF is waiting for the running job.
    pub rewrite_scheduled: bool,
    /// Full compactions finished since open.
    pub rewrites: u64,
    /// The last full compaction: whether it succeeded and how long it took.
    pub last_rewrite: Option<(bool, Duration)>,
    /// How long the running full compaction has been going.
    pub current_rewrite: Option<Duration>,
    /// A BGSAVE is running.
    pub save_in_progress: bool,
    /// SAVE/BGSAVEs finished since open.
    pub saves: u64,
    /// The last SAVE/BGSAVE: whether it succeeded and how long it took.
    pub last_save: Option<(bool, Duration)>,
    /// How long the running BGSAVE has been going.
    pub current_save: Option<Duration>,
    /// Unix ms of the last successful SAVE/BGSAVE.
    pub last_save_time: Option<Timestamp>,
    /// Compactions (automatic or not) finished since open.
    pub compactions: u64,
    /// The last compaction.
    pub last_compaction: Option<CompactionStats>,
    /// Bytes freed by compactions since open.
    pub reclaimed: u64,
}

impl PersistenceInfo {
    /// Bytes of records in every segment.
    pub fn total_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    /// Bytes of live records.
    pub fn live_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.live).sum()
    }

    /// Bytes of dead records.
    pub fn dead_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.dead()).sum()
    }

    /// Sealed segments, and how many of them have a hint file.
    pub fn hint_coverage(&self) -> (usize, usize) {
        let sealed = self.segments.iter().filter(|s| !s.active);
        let hinted = sealed.clone().filter(|s| s.hinted).count();
        (sealed.count(), hinted)
    }

    /// INFO persistence's lines about saves and rewrites, with Redis's names: a BGSAVE is
    /// kvdb's hint pass, an AOF rewrite its full compaction.
    pub fn redis_fields(&self) -> Vec<String> {
        let status = |last: Option<(bool, Duration)>| match last {
            Some((false, _)) => "err",
            _ => "ok",
        };
        let secs = |d: Option<Duration>| d.map_or(-1, |d| d.as_secs() as i64);
        vec![
            format!("rdb_bgsave_in_progress:{}", u8::from(self.save_in_progress)),
            format!("rdb_last_bgsave_status:{}", status(self.last_save)),
            format!(
                "rdb_last_bgsave_time_sec:{}",
                secs(self.last_save.map(|(_, d)| d))
            ),
            format!("rdb_current_bgsave_time_sec:{}", secs(self.current_save)),
            format!("rdb_saves:{}", self.saves),
            "aof_enabled:1".into(),
            format!(
                "aof_rewrite_in_progress:{}",
                u8::from(self.rewrite_in_progress)
            ),
            format!("aof_rewrite_scheduled:{}", u8::from(self.rewrite_scheduled)),
            format!(
                "aof_last_rewrite_time_sec:{}",
                secs(self.last_rewrite.map(|(_, d)| d))
            ),
            format!(
                "aof_current_rewrite_time_sec:{}",
                secs(self.current_rewrite)
            ),
            format!("aof_last_bgrewrite_status:{}", status(self.last_rewrite)),
            format!("aof_rewrites:{}", self.rewrites),
        ]
    }

    /// The lines kvdb adds to INFO persistence and prints in `kvdb stats`, as `name:value`.
    pub fn kvdb_fields(&self) -> Vec<String> {
        let (sealed, hinted) = self.hint_coverage();
        let last = self.last_compaction.as_ref();
        vec![
            format!("kvdb_segments:{}", self.segments.len()),
            format!("kvdb_sealed_segments:{sealed}"),
            format!("kvdb_hinted_segments:{hinted}"),
            format!("kvdb_live_bytes:{}", self.live_bytes()),
            format!("kvdb_dead_bytes:{}", self.dead_bytes()),
            format!("kvdb_disk_bytes:{}", self.total_bytes()),
            format!("kvdb_compactions:{}", self.compactions),
            format!(
                "kvdb_last_compaction_reclaimed_bytes:{}",
                last.map_or(0, CompactionStats::reclaimed)
            ),
            format!(
                "kvdb_last_compaction_time_ms:{}",
                last.map_or(-1, |c| c.elapsed.as_millis() as i64)
            ),
            format!("kvdb_reclaimed_bytes:{}", self.reclaimed),
        ]
    }
}

impl Maintenance {
    /// Asks for `job` in the background; returns false if the same job is already running or
    /// waiting.
    pub(crate) fn request(&self, job: Job) -> bool {
        let (running, scheduled) = match job {
            Job::Rewrite => (&self.rewrite_in_progress, &self.rewrite_scheduled),
            Job::Save => (&self.save_in_progress, &self.save_scheduled),
        };
        !running.load(Ordering::SeqCst) && !scheduled.swap(true, Ordering::SeqCst)
    }

    /// Whether `job` is running or waiting.
    pub(crate) fn pending(&self, job: Job) -> bool {
        match job {
            Job::Rewrite => {
                self.rewrite_in_progress.load(Ordering::SeqCst)
                    || self.rewrite_scheduled.load(Ordering::SeqCst)
            }
            Job::Save => {
                self.save_in_progress.load(Ordering::SeqCst)
                    || self.save_scheduled.load(Ordering::SeqCst)
            }
        }
    }

    /// One tick of the background thread: requested jobs first, then the automatic policy.
    pub(crate) fn tick(&self, engine: &Mutex<Engine>, auto: bool) {
        if self.rewrite_scheduled.swap(false, Ordering::SeqCst) {
            let _ = self.rewrite(engine, &mut |_, _| {});
        }
        if self.save_scheduled.swap(false, Ordering::SeqCst) {
            let _ = self.save(engine, true);
        }
        if auto {
            if let Err(e) = self.auto_compact(engine) {
                ::log::error!("automatic compaction failed: {e}");
            }
            if let Err(e) = self.write_hints(engine) {
                ::log::error!("writing hint files failed: {e}");
            }
        }
    }

    /// Compacts while the automatic policy finds a run worth it.
    pub(crate) fn auto_compact(&self, engine: &Mutex<Engine>) -> Result<()> {
        let _running = lock(&self.running);
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let (plan, rate) = {
                let mut e = lock(engine);
                if e.is_poisoned() {
                    return Ok(());
                }
                let opts = e.options();
                let selection = Selection::Auto {
                    dead_ratio: opts.compaction_dead_ratio,
                    min_dead_bytes: opts.compaction_min_dead_bytes,
                    max_amplification: opts.compaction_max_amplification,
                };
                let rate = opts.compaction_rate_limit;
                (e.plan(selection), rate)
            };
            let Some(plan) = plan else {
                return Ok(());
            };
            self.run_plan(engine, &plan, rate, &mut |_| {})?;
        }
    }

    /// Runs one plan and records it.
    fn run_plan(
        &self,
        engine: &Mutex<Engine>,
        plan: &compact::Plan,
        rate: Option<u64>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Option<CompactionStats>> {
        let mut limiter = RateLimiter::new(rate);
        let result = compact::compact(
            engine,
            plan,
            &mut limiter,
            &mut |done| {
                self.progress.store(done, Ordering::Relaxed);
                progress(done);
            },
            &self.stop,
        );
        if let Ok(Some(stats)) = &result {
            let mut h = lock(&self.history);
            h.compactions += 1;
            h.reclaimed += stats.reclaimed();
            h.last_compaction = Some(stats.clone());
        }
        result
    }

    /// A full compaction: seals the active segment, then compacts every sealed segment, run
    /// by run, oldest first. `progress(done, total)` gets bytes read.
    pub(crate) fn rewrite(
        &self,
        engine: &Mutex<Engine>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Vec<CompactionStats>> {
        let _running = lock(&self.running);
        self.rewrite_in_progress.store(true, Ordering::SeqCst);
        let started = Instant::now();
        lock(&self.history).rewrite_started = Some(started);
        let result = self.rewrite_all(engine, progress);
        self.rewrite_in_progress.store(false, Ordering::SeqCst);
        let mut h = lock(&self.history);
        h.rewrite_started = None;
        h.rewrites += u64::from(result.is_ok());
        h.last_rewrite = Some((result.is_ok(), started.elapsed()));
        if let Err(e) = &result {
            ::log::error!("compaction failed: {e}");
        }
        result
    }

    fn rewrite_all(
        &self,
        engine: &Mutex<Engine>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Vec<CompactionStats>> {
        let (rate, total, mut next, end) = {
            let mut e = lock(engine);
            e.seal_active()?;
            let usage = e.usage();
            let sealed: Vec<&SegmentUsage> = usage.iter().filter(|u| !u.active).collect();
            let total: u64 = sealed.iter().map(|u| u.bytes).sum();
            let first = sealed.first().map_or(SegmentId::MAX, |u| u.position);
            let last = sealed.last().map_or(0, |u| u.position);
            (e.options().compaction_rate_limit, total, first, last)
        };
        let mut done = 0;
        let mut all = Vec::new();
        while next <= end {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            let plan = lock(engine).plan(Selection::From(next));
            let Some(plan) = plan.filter(|p| p.covers_from <= end) else {
                break;
            };
            let base = done;
            let stats = self.run_plan(engine, &plan, rate, &mut |read| {
                progress(base + read, total)
            })?;
            done += plan.input_bytes;
            progress(done, total);
            next = plan.position.saturating_add(1);
            match stats {
                Some(stats) => all.push(stats),
                None => break,
            }
        }
        Ok(all)
    }

    /// SAVE / BGSAVE: makes everything written durable and writes the hint file of every
    /// sealed segment that lacks one.
    pub(crate) fn save(&self, engine: &Mutex<Engine>, background: bool) -> Result<()> {
        let started = Instant::now();
        if background {
            self.save_in_progress.store(true, Ordering::SeqCst);
            lock(&self.history).save_started = Some(started);
        }
        let result = compact::make_durable(engine).and_then(|()| self.write_hints(engine));
        self.save_in_progress.store(false, Ordering::SeqCst);
        self.record_save(engine, result.is_ok(), started);
        result
    }

    /// SAVE inside a command, with the engine already held: `Ok(false)` if a compaction or
    /// another save is running (it may be waiting for this very lock).
    pub(crate) fn save_held(&self, engine: &Held<'_>) -> Result<bool> {
        let Ok(_running) = self.running.try_lock() else {
            return Ok(false);
        };
        let started = Instant::now();
        let result = compact::make_durable(engine).and_then(|()| self.hint_missing(engine));
        self.record_save(engine, result.is_ok(), started);
        result.map(|()| true)
    }

    /// Records a finished save in the history INFO reports.
    fn record_save<L: EngineLock>(&self, engine: &L, ok: bool, started: Instant) {
        // Never hold `history` while taking the engine lock: INFO takes them the other way.
        let now = engine.lock().options().clock.now_ms();
        let mut h = lock(&self.history);
        h.save_started = None;
        h.saves += u64::from(ok);
        h.last_save = Some((ok, started.elapsed()));
        if ok {
            h.last_save_time = Some(now);
        }
    }

    /// Writes the hint file of every sealed segment that lacks one.
    pub(crate) fn write_hints(&self, engine: &Mutex<Engine>) -> Result<()> {
        let _running = lock(&self.running);
        self.hint_missing(engine)
    }

    /// [`Maintenance::write_hints`], with `running` held by the caller.
    fn hint_missing<L: EngineLock>(&self, engine: &L) -> Result<()> {
        let missing = {
            let e = engine.lock();
            if e.is_poisoned() {
                return Ok(());
            }
            e.missing_hints()
        };
        for (segment, floor) in missing {
            if !compact::write_hint(engine, &segment, floor, &self.stop)? {
                break;
            }
        }
        Ok(())
    }

    /// What INFO persistence reports, with `engine` already locked by the caller.
    pub(crate) fn info(&self, engine: &Engine) -> PersistenceInfo {
        let h = lock(&self.history).clone();
        PersistenceInfo {
            segments: engine.usage(),
            rewrite_in_progress: self.rewrite_in_progress.load(Ordering::SeqCst),
            rewrite_scheduled: self.rewrite_scheduled.load(Ordering::SeqCst),
            rewrites: h.rewrites,
            last_rewrite: h.last_rewrite,
            current_rewrite: h.rewrite_started.map(|s| s.elapsed()),
            save_in_progress: self.save_in_progress.load(Ordering::SeqCst),
            saves: h.saves,
            last_save: h.last_save,
            current_save: h.save_started.map(|s| s.elapsed()),
            last_save_time: h.last_save_time,
            compactions: h.compactions,
            last_compaction: h.last_compaction,
            reclaimed: h.reclaimed,
        }
    }
}
