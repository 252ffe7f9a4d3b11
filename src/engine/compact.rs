//! Compaction (merge): rewrite the live records of a run of sealed segments into one new
//! segment, then delete the old ones. It plays the role of Redis's AOF rewrite.
//!
//! # What is kept
//! A run of segments adjacent in replay order is compacted at once, and its output replays
//! where they did, so that no other segment's records move relative to the kept ones. Of the
//! run's records, compaction keeps ([`Engine::keep`]):
//! * every *live* record: the one a key's entry or a collection element points at (`Put`,
//!   `Meta`, `Element`);
//! * an `Expire` of a key that still has the record before it, when it set the expiry the key
//!   has now;
//! * a tombstone (`Delete` of a key that is absent, `ElementDelete` of an element that is
//!   absent, `Flush`) while an older segment may still hold a record it shadows. A segment
//!   written by appending may hold anything; a compaction output holds only what was live when
//!   it was made, so a tombstone written before every older segment was compacted
//!   (`seq < floor`, the smallest `filtered_seq` of the older segments) shadows nothing and
//!   goes (the lesson of basho/riak_kv#925: a tombstone dropped too early resurrects a key).
//!
//! Everything else is dropped. A dropped record may have shadowed older ones (a `Put`
//! overwritten later shadows an even older `Put`): a later record of the same key still does,
//! because the latest record of every key is either live (kept) or a tombstone (kept while
//! needed). That holds because an absent key always has a later record saying so: keys that
//! expire are deleted with a tombstone, at run time and at open.
//!
//! # Steps, and what a crash at each leaves
//! 1. Plan (under the engine lock): choose the run, a fresh segment id, `filtered_seq` = the
//!    next sequence number, and the tombstone floor.
//! 2. Copy (lock taken per chunk of records, to ask the index what is live): kept records go
//!    to `{id}.seg.tmp`, each as a batch of its own, with their sequence numbers; the hint
//!    is built alongside. Then the file is fsync'd and the hint written (`{id}.hint`).
//!    A crash: the `.tmp` file is deleted at open; the old segments are untouched.
//! 3. Publish: write any held batches (under the lock) and fsync the active segment (outside
//!    it: every record that made a dropped record dead is then durable), rename `.tmp` to
//!    `{id}.seg` and fsync the directory. A crash after the rename: open finds the output and
//!    deletes its inputs.
//! 4. Repoint (lock taken per chunk): each index entry that still points at a copied record's
//!    old location now points at the copy; live bytes move with it. A write that changed a
//!    key meanwhile already moved its entry elsewhere, and is left alone.
//! 5. Retire: drop the old segments from the engine and delete their files and hints.

use std::cell::{RefCell, RefMut};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::DerefMut;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::Engine;
use super::recovery::remove_file;
use crate::collection::split_sub_key;
use crate::error::{Error, Result};
use crate::keydir::Location;
use crate::log::hint::{self, HintWriter};
use crate::log::record::{self, FLAG_BATCH_MORE, RecordRef};
use crate::log::segment::{encode_compacted_header, order_key, segment_path};
use crate::log::writer::{sync_dir, sync_file};
use crate::log::{Kind, Segment, SegmentId, SeqNo};

/// Records examined per lock acquisition.
const CHUNK_RECORDS: usize = 256;
/// Bytes buffered before the output file is written.
const WRITE_BUFFER: usize = 1 << 20;
/// Bytes of output written between two fsyncs.
const INCREMENTAL_SYNC: u64 = 8 << 20;

/// What [`Engine::keep`] decides for one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The index points at it: copy it and repoint the index.
    Live,
    /// Not pointed at, but still needed (a tombstone, an expiry): copy it.
    Marker,
    /// Drop it.
    Drop,
}

/// A chosen run of segments and the output that will replace it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The inputs, in replay order.
    pub inputs: Vec<Arc<Segment>>,
    /// Id of the output segment.
    pub output: SegmentId,
    /// Position of the oldest input (the output's `covers_from`).
    pub covers_from: SegmentId,
    /// Position of the newest input (the output's position).
    pub position: SegmentId,
    /// The next sequence number when the plan was made: every record dropped is dead by then.
    pub filtered_seq: SeqNo,
    /// Tombstones with a smaller sequence number shadow nothing outside the run.
    pub floor: SeqNo,
    /// Bytes of the inputs (records only).
    pub input_bytes: u64,
}

/// What one compaction did.
#[derive(Debug, Clone, Default)]
pub struct CompactionStats {
    /// Segments replaced.
    pub inputs: usize,
    /// The output segment's id.
    pub output: SegmentId,
    /// Bytes of records read.
    pub bytes_read: u64,
    /// Bytes of records written.
    pub bytes_written: u64,
    /// Records copied because live, and kept as markers.
    pub live_records: u64,
    /// Tombstones and expiries kept.
    pub markers: u64,
    /// Records dropped.
    pub dropped: u64,
    /// Time taken.
    pub elapsed: Duration,
}

impl CompactionStats {
    /// Disk bytes freed.
    pub fn reclaimed(&self) -> u64 {
        self.bytes_read.saturating_sub(self.bytes_written)
    }
}

/// Which segments to compact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Selection {
    /// The run the automatic policy picks, if its thresholds are passed.
    Auto {
        /// A sealed segment at least this dead (0..=1) starts a run.
        dead_ratio: f64,
        /// Nothing runs while the dead bytes of all sealed segments are fewer.
        min_dead_bytes: u64,
        /// While the log is more than this many times the live data, the most reclaimable
        /// segment starts a run even if it is less dead than `dead_ratio`.
        max_amplification: f64,
    },
    /// The first run of sealed segments at or after position `from`, as long as the output
    /// stays within the segment size: a full compaction walks the log with it.
    From(SegmentId),
}

/// Live and dead bytes of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentUsage {
    /// The segment's id.
    pub id: SegmentId,
    /// Its position in replay order.
    pub position: SegmentId,
    /// Bytes of records (the file's length less its header).
    pub bytes: u64,
    /// Bytes of live records.
    pub live: u64,
    /// Bytes of tombstones and expiries a compaction kept because they were still needed.
    pub pinned: u64,
    /// Whether it is the active segment.
    pub active: bool,
    /// Whether it has a hint file.
    pub hinted: bool,
    /// Whether compaction wrote it.
    pub compacted: bool,
}

impl SegmentUsage {
    /// Bytes no live record uses.
    pub fn dead(&self) -> u64 {
        self.bytes.saturating_sub(self.live)
    }

    /// Dead bytes a compaction could free (dead less pinned).
    pub fn reclaimable(&self) -> u64 {
        self.dead().saturating_sub(self.pinned)
    }

    /// Reclaimable share of the segment, 0..=1.
    pub fn dead_ratio(&self) -> f64 {
        if self.bytes == 0 {
            0.0
        } else {
            self.reclaimable() as f64 / self.bytes as f64
        }
    }
}

impl Engine {
    /// Live and dead bytes of every segment, in replay order.
    pub fn usage(&self) -> Vec<SegmentUsage> {
        let mut usage: Vec<SegmentUsage> = self
            .segments
            .iter()
            .map(|(&id, segment)| {
                let header = segment.header();
                let active = id == self.writer.id();
                let len = if active {
                    self.writer.len()
                } else {
                    segment.len().unwrap_or(header.len)
                };
                SegmentUsage {
                    id,
                    position: order_key(id, header).0,
                    bytes: len.saturating_sub(header.len),
                    live: self.space.live(id),
                    pinned: self.space.pinned(id),
                    active,
                    hinted: segment.is_hinted(),
                    compacted: header.is_compacted(),
                }
            })
            .collect();
        usage.sort_unstable_by_key(|u| (u.position, u.id));
        usage
    }

    /// Chooses what to compact; `None` if nothing should be. Segment ids only grow, and one
    /// compaction runs at a time (the caller's duty), so the plan stays valid while it runs.
    pub fn plan(&mut self, selection: Selection) -> Option<Plan> {
        let usage = self.usage();
        let sealed: Vec<&SegmentUsage> = usage.iter().filter(|u| !u.active).collect();
        let max_live = self.opts.segment_size;
        let (start, end) = match selection {
            Selection::Auto {
                dead_ratio,
                min_dead_bytes,
                max_amplification,
            } => {
                let dead: u64 = sealed.iter().map(|u| u.reclaimable()).sum();
                if dead < min_dead_bytes.max(1) {
                    return None;
                }
                // Of the sealed segments: the active one's dead bytes cannot be reclaimed yet.
                let total: u64 = sealed.iter().map(|u| u.bytes).sum();
                let live: u64 = sealed.iter().map(|u| u.live).sum();
                let amplified = total as f64 > max_amplification * live as f64;
                let (seed, best) = sealed
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.dead_ratio().total_cmp(&b.1.dead_ratio()))?;
                if (best.dead_ratio() < dead_ratio && !amplified) || best.reclaimable() == 0 {
                    return None;
                }
                // Grow the run over neighbours worth rewriting: dead enough, or small (an
                // earlier output that shrank), while the output fits in one segment.
                let worth = |u: &SegmentUsage| {
                    u.dead_ratio() >= dead_ratio / 2.0 || u.bytes < self.opts.segment_size / 4
                };
                let (mut start, mut end) = (seed, seed);
                let mut live = best.live;
                loop {
                    let left = start.checked_sub(1).and_then(|i| sealed.get(i));
                    let right = sealed.get(end + 1);
                    let pick = match (left, right) {
                        (Some(l), Some(r)) if worth(l) && worth(r) => {
                            if l.dead_ratio() >= r.dead_ratio() {
                                Some((l, true))
                            } else {
                                Some((r, false))
                            }
                        }
                        (Some(l), _) if worth(l) => Some((l, true)),
                        (_, Some(r)) if worth(r) => Some((r, false)),
                        _ => None,
                    };
                    match pick {
                        Some((u, is_left)) if live + u.live <= max_live => {
                            live += u.live;
                            if is_left {
                                start -= 1;
                            } else {
                                end += 1;
                            }
                        }
                        _ => break,
                    }
                }
                (start, end)
            }
            Selection::From(from) => {
                let start = sealed.iter().position(|u| u.position >= from)?;
                let mut end = start;
                let mut live = sealed[start].live;
                while let Some(next) = sealed.get(end + 1)
                    && live + next.live <= max_live
                {
                    live += next.live;
                    end += 1;
                }
                (start, end)
            }
        };
        let run = &sealed[start..=end];
        let floor = if start == 0 {
            SeqNo::MAX
        } else {
            sealed[..start]
                .iter()
                .map(|u| {
                    self.segments
                        .get(&u.id)
                        .map_or(0, |s| s.header().filtered_seq)
                })
                .min()
                .unwrap_or(0)
        };
        let inputs: Vec<Arc<Segment>> = run
            .iter()
            .filter_map(|u| self.segments.get(&u.id).cloned())
            .collect();
        let covers_from = run.first().map(|u| {
            self.segments
                .get(&u.id)
                .map(|s| s.header())
                .filter(|h| h.is_compacted())
                .map_or(u.position, |h| h.covers_from)
        })?;
        let output = self.next_segment_id;
        self.next_segment_id += 1;
        Some(Plan {
            inputs,
            output,
            covers_from,
            position: run.last()?.position,
            filtered_seq: self.next_seq,
            floor,
            input_bytes: run.iter().map(|u| u.bytes).sum(),
        })
    }

    /// Whether compaction must keep the record `rec` at `offset` of segment `segment`, given
    /// the tombstone floor of its plan (see the module documentation).
    pub fn keep(&self, floor: SeqNo, segment: SegmentId, offset: u32, rec: &RecordRef<'_>) -> Keep {
        let h = &rec.header;
        let Some(keydir) = self.dbs.get(usize::from(h.db)) else {
            return Keep::Drop;
        };
        let here = |loc: Location| loc.segment == segment && loc.offset == offset;
        let shadows_older = h.seq >= floor;
        let element = || {
            let (version, name) = split_sub_key(rec.sub)?;
            let collection = keydir.collection(rec.key)?;
            (collection.version == version).then(|| collection.element_location(name))
        };
        let keep = match h.kind {
            Kind::Put | Kind::Meta => keydir.get(rec.key).is_some_and(|e| here(e.loc)),
            Kind::Element => element().flatten().is_some_and(here),
            Kind::Delete => {
                return if shadows_older && keydir.get(rec.key).is_none() {
                    Keep::Marker
                } else {
                    Keep::Drop
                };
            }
            Kind::ElementDelete => {
                return if shadows_older && element().is_some_and(|loc| loc.is_none()) {
                    Keep::Marker
                } else {
                    Keep::Drop
                };
            }
            Kind::Flush => {
                return if shadows_older {
                    Keep::Marker
                } else {
                    Keep::Drop
                };
            }
            Kind::Expire => {
                return match keydir.get(rec.key) {
                    Some(e)
                        if e.expires_at == h.expires_at && self.before(e.loc, segment, offset) =>
                    {
                        Keep::Marker
                    }
                    _ => Keep::Drop,
                };
            }
        };
        if keep { Keep::Live } else { Keep::Drop }
    }

    /// Whether the record at `loc` comes before offset `offset` of segment `segment` in replay
    /// order.
    fn before(&self, loc: Location, segment: SegmentId, offset: u32) -> bool {
        let key = |id: SegmentId| self.segments.get(&id).map(|s| order_key(id, s.header()));
        match (key(loc.segment), key(segment)) {
            (Some(a), Some(b)) => (a, loc.offset) < (b, offset),
            _ => false,
        }
    }

    /// Starts reading a published output (its hint was written before it was published).
    fn adopt(&mut self, plan: &Plan) -> Result<Arc<Segment>> {
        let segment = Arc::new(Segment::open_sealed(
            &self.dir,
            plan.output,
            self.opts.mmap,
        )?);
        segment.set_hinted();
        self.segments.insert(plan.output, Arc::clone(&segment));
        Ok(segment)
    }

    /// Points the index at the copy `m.new` of a live record that was at `m.old`, if it still
    /// points at `m.old`; moves its bytes from the old segment's live count to the new.
    fn repoint(&mut self, m: &Moved) {
        let Some(keydir) = self.dbs.get_mut(usize::from(m.db)) else {
            return;
        };
        let moved = match m.kind {
            Kind::Put | Kind::Meta => keydir.repoint(&m.key, m.old, m.new),
            Kind::Element => split_sub_key(&m.sub).is_some_and(|(version, name)| {
                keydir
                    .collection_mut(&m.key)
                    .filter(|c| c.version == version)
                    .is_some_and(|c| c.repoint_element(name, m.old, m.new))
            }),
            _ => false,
        };
        if moved {
            self.space.sub(m.old);
            self.space.add(m.new);
        }
    }

    /// Forgets the inputs of a published compaction; returns their paths (and hints') for the
    /// caller to delete outside the lock.
    fn retire(&mut self, plan: &Plan, pinned: u64) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        for input in &plan.inputs {
            self.segments.remove(&input.id());
            self.space.forget(input.id());
            paths.push(input.path().to_owned());
            paths.push(hint::hint_path(&self.dir, input.id()));
        }
        self.space.set_pinned(plan.output, pinned);
        paths
    }
}

/// A live record copied by compaction: what the index needs to find its entry, and where the
/// record was and is.
#[derive(Debug)]
struct Moved {
    db: u8,
    kind: Kind,
    key: Vec<u8>,
    sub: Vec<u8>,
    old: Location,
    new: Location,
}

/// How much faster than clients write the log compaction may go, whatever its rate limit: it
/// must outpace the dead bytes writes create, or the disk grows without bound.
const KEEP_UP: f64 = 5.0;

/// Spreads compaction's I/O over time, under a rate: the configured limit, raised to
/// [`KEEP_UP`] times the rate at which clients have written the log since the compaction
/// started. Under a light load compaction stays gentle (on a small machine, one compaction at
/// full speed takes a whole core from the clients); under a heavy write load it keeps up.
#[derive(Debug)]
pub struct RateLimiter {
    bytes_per_sec: Option<u64>,
    started: Instant,
    done: u64,
    /// Bytes the log had been written when the limiter first heard of it.
    log_start: Option<u64>,
}

impl RateLimiter {
    /// A limiter of `bytes_per_sec` (`None`: unlimited).
    pub fn new(bytes_per_sec: Option<u64>) -> RateLimiter {
        RateLimiter {
            bytes_per_sec: bytes_per_sec.filter(|&r| r > 0),
            started: Instant::now(),
            done: 0,
            log_start: None,
        }
    }

    /// The rate now allowed, given `log_written` ([`Engine::appended_bytes`]).
    fn rate(&mut self, log_written: u64) -> Option<f64> {
        let base = self.bytes_per_sec? as f64;
        let start = *self.log_start.get_or_insert(log_written);
        let elapsed = self.started.elapsed().as_secs_f64();
        let writes = if elapsed > 0.0 {
            log_written.saturating_sub(start) as f64 / elapsed
        } else {
            0.0
        };
        Some(base.max(KEEP_UP * writes))
    }

    /// Counts `bytes` of I/O and sleeps as long as the rate is above the limit.
    pub fn consume(&mut self, bytes: u64, log_written: u64) {
        self.done += bytes;
        if let Some(rate) = self.rate(log_written) {
            let due = Duration::from_secs_f64(self.done as f64 / rate);
            if let Some(wait) = due.checked_sub(self.started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
}

/// How [`compact`] and [`write_hint`] reach the engine: they lock it for each short step.
pub trait EngineLock {
    /// Locks the engine.
    fn lock(&self) -> impl DerefMut<Target = Engine> + '_;
}

impl EngineLock for std::sync::Mutex<Engine> {
    fn lock(&self) -> impl DerefMut<Target = Engine> + '_ {
        self.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An engine its caller already holds locked (SAVE runs inside a command).
#[derive(Debug)]
pub struct Held<'a>(pub RefCell<&'a mut Engine>);

impl EngineLock for Held<'_> {
    fn lock(&self) -> impl DerefMut<Target = Engine> + '_ {
        RefMut::map(self.0.borrow_mut(), |e| &mut **e)
    }
}

/// Runs `plan`: copies, publishes, repoints, retires (see the module documentation). Takes
/// the engine lock only for short steps, so clients keep reading and writing. `progress` is
/// called with bytes read so far; `stop` aborts the copy (the temporary file is removed and
/// nothing changes). Returns `None` if stopped.
pub fn compact<L: EngineLock>(
    engine: &L,
    plan: &Plan,
    limiter: &mut RateLimiter,
    progress: &mut dyn FnMut(u64),
    stop: &AtomicBool,
) -> Result<Option<CompactionStats>> {
    let started = Instant::now();
    let (dir, observer) = {
        let e = engine.lock();
        (e.dir.clone(), e.opts.observer.clone())
    };
    let path = segment_path(&dir, plan.output);
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    let mut out = Output::create(&tmp, plan, observer.clone())?;
    let mut stats = CompactionStats {
        inputs: plan.inputs.len(),
        output: plan.output,
        ..CompactionStats::default()
    };
    let copied = copy_live(engine, plan, &mut out, &mut stats, limiter, progress, stop);
    let moved = match copied {
        Ok(Some(moved)) => moved,
        result => {
            drop(out);
            let _ = remove_file(&tmp, observer.as_ref());
            return result.map(|_| None);
        }
    };
    // Publish: every record that made a dropped one dead must be durable first; then one
    // rename makes the output visible.
    let finished = out.finish(&dir).and_then(|pinned| {
        make_durable(engine)?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        if let Some(obs) = &observer {
            obs.renamed(&tmp, &path);
        }
        Ok(pinned)
    });
    let pinned = match finished {
        Ok(pinned) => pinned,
        Err(e) => {
            let _ = remove_file(&tmp, observer.as_ref());
            let _ = remove_file(&hint::hint_path(&dir, plan.output), observer.as_ref());
            return Err(e);
        }
    };
    // Published: from here on, a crash or an error leaves the output in place, and the next
    // open deletes the inputs.
    sync_dir(&dir, observer.as_ref())?;
    let output = engine.lock().adopt(plan)?;
    for chunk in moved.chunks(CHUNK_RECORDS) {
        // Read the copies outside the lock; repoint under it.
        let chunk: Vec<Moved> = chunk
            .iter()
            .map(|&(old, new)| {
                output.with_record(u64::from(new.offset), new.len as usize, |rec| Moved {
                    db: rec.header.db,
                    kind: rec.header.kind,
                    key: rec.key.to_vec(),
                    sub: rec.sub.to_vec(),
                    old,
                    new,
                })
            })
            .collect::<Result<_>>()?;
        let mut e = engine.lock();
        for m in &chunk {
            e.repoint(m);
        }
    }
    let doomed = engine.lock().retire(plan, pinned);
    for path in doomed {
        if path.exists() {
            remove_file(&path, observer.as_ref())?;
        }
    }
    sync_dir(&dir, observer.as_ref())?;
    stats.elapsed = started.elapsed();
    ::log::info!(
        "compacted {} segment(s) into {}: {} bytes read, {} written, {} reclaimed in {:.2?}",
        stats.inputs,
        path.display(),
        stats.bytes_read,
        stats.bytes_written,
        stats.reclaimed(),
        stats.elapsed
    );
    Ok(Some(stats))
}

/// Copies the kept records of every input into `out`; returns the (old, new) locations of the
/// live ones, or `None` if stopped.
fn copy_live<L: EngineLock>(
    engine: &L,
    plan: &Plan,
    out: &mut Output,
    stats: &mut CompactionStats,
    limiter: &mut RateLimiter,
    progress: &mut dyn FnMut(u64),
    stop: &AtomicBool,
) -> Result<Option<Vec<(Location, Location)>>> {
    let mut moved = Vec::new();
    for input in &plan.inputs {
        let start = input.header().len;
        let end = input.len()?;
        let bytes = input.read_at(start, end.saturating_sub(start) as usize)?;
        let mut pos = 0usize;
        let mut chunk: Vec<(u32, RecordRef<'_>)> = Vec::with_capacity(CHUNK_RECORDS);
        while pos < bytes.len() || !chunk.is_empty() {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            // Gather a chunk of records, then ask the index about all of them at once.
            let chunk_start = pos;
            read_chunk(input, &bytes, start, &mut pos, &mut chunk)?;
            let (verdicts, log_written): (Vec<Keep>, u64) = {
                let e = engine.lock();
                let verdicts = chunk
                    .iter()
                    .map(|(offset, rec)| e.keep(plan.floor, input.id(), *offset, rec))
                    .collect();
                (verdicts, e.appended_bytes())
            };
            for ((offset, rec), keep) in chunk.drain(..).zip(verdicts) {
                let len = rec.header.record_len() as u32;
                let raw = &bytes[(u64::from(offset) - start) as usize..][..len as usize];
                match keep {
                    Keep::Drop => stats.dropped += 1,
                    Keep::Marker => {
                        out.push(raw, &rec, true)?;
                        stats.markers += 1;
                    }
                    Keep::Live => {
                        let new = out.push(raw, &rec, false)?;
                        moved.push((
                            Location {
                                segment: input.id(),
                                offset,
                                len,
                            },
                            new,
                        ));
                        stats.live_records += 1;
                    }
                }
            }
            let read = (pos - chunk_start) as u64;
            stats.bytes_read += read;
            limiter.consume(read, log_written);
            progress(stats.bytes_read);
        }
    }
    stats.bytes_written = out.len - out.header_len;
    Ok(Some(moved))
}

/// Makes durable everything written so far. The engine lock is held only to write the batches
/// held in memory, not for the fsync: an fsync behind a compaction's writeback can take tens of
/// milliseconds, and every client would wait for it.
pub(crate) fn make_durable<L: EngineLock>(engine: &L) -> Result<()> {
    let (_, file, path) = {
        let mut e = engine.lock();
        e.flush()?;
        e.sync_handle()
    };
    let observer = engine.lock().opts.observer.clone();
    sync_file(&file, &path, observer.as_ref())
}

/// Decodes records of `segment` (whose records, from file offset `start`, are `bytes`) from
/// `*pos` on into `chunk`, until it holds [`CHUNK_RECORDS`] or the segment ends.
fn read_chunk<'b>(
    segment: &Segment,
    bytes: &'b [u8],
    start: u64,
    pos: &mut usize,
    chunk: &mut Vec<(u32, RecordRef<'b>)>,
) -> Result<()> {
    while *pos < bytes.len() && chunk.len() < CHUNK_RECORDS {
        let offset = start + *pos as u64;
        let rec = record::decode(&bytes[*pos..]).map_err(|e| {
            let reason = match e {
                record::DecodeError::Incomplete { .. } => "truncated record",
                record::DecodeError::Invalid(reason) => reason,
            };
            segment.corrupt(offset, reason)
        })?;
        *pos += rec.header.record_len() as usize;
        let offset = u32::try_from(offset)
            .map_err(|_| segment.corrupt(offset, "record offset above 4 GiB"))?;
        chunk.push((offset, rec));
    }
    Ok(())
}

/// The output being written: a temporary file, its hint, and a write buffer.
struct Output {
    id: SegmentId,
    file: File,
    path: PathBuf,
    observer: Option<Arc<dyn crate::log::IoObserver>>,
    buf: Vec<u8>,
    /// Length of the file once `buf` is written.
    len: u64,
    header_len: u64,
    /// The output's hint, built as records are copied.
    hint: HintWriter,
    /// Bytes of markers written.
    pinned: u64,
    /// Length at the last fsync.
    synced_len: u64,
}

impl Output {
    fn create(
        tmp: &Path,
        plan: &Plan,
        observer: Option<Arc<dyn crate::log::IoObserver>>,
    ) -> Result<Output> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)
            .map_err(|e| Error::io(tmp, e))?;
        if let Some(obs) = &observer {
            obs.created(tmp);
        }
        let header = encode_compacted_header(plan.covers_from, plan.position, plan.filtered_seq);
        Ok(Output {
            id: plan.output,
            file,
            path: tmp.to_owned(),
            observer,
            buf: header.to_vec(),
            len: header.len() as u64,
            header_len: header.len() as u64,
            // The segment's length is set when it is known.
            hint: HintWriter::new(
                hint::identity(&header),
                0,
                plan.filtered_seq.saturating_sub(1),
            ),
            pinned: 0,
            synced_len: 0,
        })
    }

    /// Appends a copy of the record `raw` as a batch of its own; returns its new location.
    /// `raw` is the record's bytes, `rec` the same record decoded.
    fn push(&mut self, raw: &[u8], rec: &RecordRef<'_>, marker: bool) -> Result<Location> {
        let offset = u32::try_from(self.len).map_err(|_| Error::TooLarge)?;
        let start = self.buf.len();
        self.buf.extend_from_slice(raw);
        record::clear_flags(&mut self.buf[start..], FLAG_BATCH_MORE);
        let mut copy = *rec;
        copy.header.flags &= !FLAG_BATCH_MORE;
        self.hint.push(offset, &copy);
        self.len += raw.len() as u64;
        if marker {
            self.pinned += raw.len() as u64;
        }
        if self.buf.len() >= WRITE_BUFFER {
            self.write_buf()?;
        }
        Ok(Location {
            segment: self.id,
            offset,
            len: raw.len() as u32,
        })
    }

    fn write_buf(&mut self) -> Result<()> {
        self.file
            .write_all(&self.buf)
            .map_err(|e| Error::io(&self.path, e))?;
        self.buf.clear();
        if let Some(obs) = &self.observer {
            obs.written(&self.path, self.len);
        }
        // Flush as it goes (Redis's aof-rewrite-incremental-fsync): one fsync of a whole
        // segment at the end would queue a burst of writeback in front of the clients' own
        // writes and fsyncs.
        if self.len - self.synced_len >= INCREMENTAL_SYNC {
            sync_file(&self.file, &self.path, self.observer.as_ref())?;
            self.synced_len = self.len;
        }
        Ok(())
    }

    /// Writes the rest, fsyncs, and writes the hint; returns the bytes of markers kept.
    fn finish(&mut self, dir: &Path) -> Result<u64> {
        self.write_buf()?;
        sync_file(&self.file, &self.path, self.observer.as_ref())?;
        self.hint.set_segment_len(self.len);
        self.hint.write(dir, self.id, self.observer.as_ref())?;
        Ok(self.pinned)
    }
}

impl Engine {
    /// The sealed segments without a hint file, in replay order, each with its tombstone floor.
    pub fn missing_hints(&self) -> Vec<(Arc<Segment>, SeqNo)> {
        let usage = self.usage();
        let mut floor = SeqNo::MAX;
        let mut missing = Vec::new();
        for u in usage.iter().filter(|u| !u.active) {
            let Some(segment) = self.segments.get(&u.id) else {
                continue;
            };
            if !u.hinted {
                missing.push((Arc::clone(segment), floor));
            }
            floor = floor.min(segment.header().filtered_seq);
        }
        missing
    }

    /// Seals the active segment if it holds any record, so that a full compaction covers
    /// everything written so far.
    pub fn seal_active(&mut self) -> Result<()> {
        self.flush()?;
        if self.writer.is_empty() {
            return Ok(());
        }
        self.rotate()
    }
}

/// Writes the hint file of sealed segment `segment`: an entry for each record compaction would
/// keep now (`floor` as in [`Plan::floor`]). Takes the engine lock per chunk of records, and
/// once to make durable every record that made a left-out one dead. Returns false if stopped.
pub fn write_hint<L: EngineLock>(
    engine: &L,
    segment: &Segment,
    floor: SeqNo,
    stop: &AtomicBool,
) -> Result<bool> {
    let (dir, observer) = {
        let e = engine.lock();
        (e.dir.clone(), e.opts.observer.clone())
    };
    let start = segment.header().len;
    let end = segment.len()?;
    let bytes = segment.read_at(start, end.saturating_sub(start) as usize)?;
    let mut hint = HintWriter::new(hint::identity(&segment.header_bytes()?), end, 0);
    let mut max_seq = 0;
    let mut pos = 0usize;
    let mut chunk: Vec<(u32, RecordRef<'_>)> = Vec::with_capacity(CHUNK_RECORDS);
    while pos < bytes.len() {
        if stop.load(Ordering::Relaxed) {
            return Ok(false);
        }
        read_chunk(segment, &bytes, start, &mut pos, &mut chunk)?;
        let e = engine.lock();
        for (offset, rec) in chunk.drain(..) {
            max_seq = max_seq.max(rec.header.seq);
            if e.keep(floor, segment.id(), offset, &rec) != Keep::Drop {
                hint.push(offset, &rec);
            }
        }
    }
    make_durable(engine)?;
    hint.set_max_seq(max_seq);
    hint.write(&dir, segment.id(), observer.as_ref())?;
    segment.set_hinted();
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::engine::Op;
    use crate::options::Options;

    fn io(e: std::io::Error) -> Error {
        Error::io("test", e)
    }

    fn options() -> Options {
        Options {
            segment_size: 1024,
            active_expiry: None,
            auto_compaction: false,
            ..Options::default()
        }
    }

    /// Writes filler keys until the active segment changes.
    fn fill_segment(engine: &mut Engine, tag: &str) -> Result<()> {
        let start = engine.log_position().0;
        for i in 0.. {
            if engine.log_position().0 != start {
                return Ok(());
            }
            let key = format!("{tag}{i}");
            engine.commit(&[Op::Put {
                db: 0,
                key: key.as_bytes(),
                value: &[b'f'; 100],
                expires_at: 0,
            }])?;
        }
        Ok(())
    }

    fn run(engine: &Mutex<Engine>, selection: Selection) -> Result<CompactionStats> {
        let plan = engine
            .lock()
            .map_err(|_| Error::Poisoned)?
            .plan(selection)
            .ok_or(Error::NoSuchKey)?;
        let mut limiter = RateLimiter::new(None);
        compact(
            engine,
            &plan,
            &mut limiter,
            &mut |_| {},
            &AtomicBool::new(false),
        )?
        .ok_or(Error::NoSuchKey)
    }

    #[test]
    fn a_tombstone_outlives_partial_compactions_until_everything_older_is_compacted() -> Result<()>
    {
        // The Bitcask bug (basho/riak_kv#925): a merge that drops a tombstone while an older,
        // unmerged file still holds the value resurrects the key at the next open.
        let dir = tempfile::tempdir().map_err(io)?;
        let (mut engine, _) = Engine::open(dir.path(), options())?;
        engine.commit(&[Op::Put {
            db: 0,
            key: b"k",
            value: b"old",
            expires_at: 0,
        }])?;
        fill_segment(&mut engine, "a")?;
        let second = engine.log_position().0;
        engine.commit(&[Op::Delete { db: 0, key: b"k" }])?;
        fill_segment(&mut engine, "b")?;
        fill_segment(&mut engine, "c")?;
        let engine = Mutex::new(engine);

        // Compact from the tombstone's segment on: the value's segment is older and untouched.
        let stats = run(&engine, Selection::From(second))?;
        assert!(stats.markers >= 1, "the tombstone was dropped: {stats:?}");
        drop(engine);
        let (engine, _) = Engine::open(dir.path(), options())?;
        assert!(
            engine.keydir(0).get(b"k").is_none(),
            "the deleted key returned"
        );

        // A full compaction starts at the oldest segment: every tombstone goes, and the value
        // with it.
        let engine = Mutex::new(engine);
        let runs = crate::persistence::Maintenance::default().rewrite(&engine, &mut |_, _| {})?;
        assert!(runs.len() > 1, "{runs:?}");
        assert_eq!(runs.iter().map(|r| r.markers).sum::<u64>(), 0, "{runs:?}");
        drop(engine);
        let (engine, _) = Engine::open(dir.path(), options())?;
        assert!(
            engine.keydir(0).get(b"k").is_none(),
            "the deleted key returned"
        );
        Ok(())
    }
}
