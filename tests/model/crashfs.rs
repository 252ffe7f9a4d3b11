//! Crash images: what a directory could look like after a crash, built from the live files.
//!
//! [`CrashFs`] is an [`IoObserver`]: it follows every file operation of the log layer and keeps,
//! per segment file, the length its last `fdatasync` made durable and whether its directory entry
//! was made durable by a directory fsync. From that, [`build_image`] writes the image of one of
//! three crashes into a fresh directory (the approach of redb's `crash_consistency.rs` and
//! leveldb's fault injection test):
//!
//! * [`Crash::Kill`]: the process dies, the kernel keeps every written byte: the files as they are.
//! * [`Crash::Torn`]: as a kill, but the newest segment is cut at a random byte past what was
//!   fsync'd (a write torn by the kill itself).
//! * [`Crash::PowerCut`]: only what was synced survives. Each file is cut to its durable length,
//!   optionally keeping a random part of its unsynced tail and then some garbage (zeros or random
//!   bytes, as a partly persisted later write leaves); files whose creation was never
//!   dir-synced disappear.
//!
//! A power cut can also be planned at the n-th file event from now ([`CrashFs::plan_power_cut`]),
//! so that it strikes in the middle of a command: between a write and its fsync, or between the
//! steps of a segment rotation (old segment synced, new file created, header written and synced,
//! directory synced).
//!
//! Compaction's files are followed too: a renamed file keeps its durable bytes but needs a
//! directory fsync for its new name to survive; hint and temporary files are copied into images
//! like segments. A removed file is gone from the image even before a directory fsync (a real
//! power cut could bring it back: open deletes a compaction's leftover inputs anyway).
//!
//! Limits of the simulation: a truncation counts as durable at once (recovery syncs right after
//! truncating, so no test depends on it), and a `synced` event makes the whole file length seen
//! so far durable, even if a write raced with the fsync (that can only make the image hold more
//! than a real crash would keep, never less).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use kvdb::log::IoObserver;
use kvdb::log::segment::{parse_header, parse_segment_name};

/// A position in the log: segment id and byte offset, ordered as the log is.
pub type Pos = (u32, u64);

/// Which crash to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crash {
    /// SIGKILL: written bytes survive.
    Kill,
    /// SIGKILL that tore the last write: the newest segment is cut at a random byte.
    Torn,
    /// Power cut: only synced bytes and dir-synced files survive, plus maybe a torn tail.
    PowerCut,
}

/// What the observer knows about one file.
#[derive(Debug, Clone, Copy, Default)]
struct FileState {
    /// Length after the last write or truncation.
    len: u64,
    /// Length made durable by the last fsync of the file.
    durable_len: u64,
    /// Whether the file's directory entry is durable.
    created_durable: bool,
}

/// A power cut waiting for its moment.
#[derive(Debug)]
struct Plan {
    /// File events still to happen before the cut.
    events_left: u32,
    /// Seed for the torn tail.
    seed: u64,
    /// The live directory.
    live: PathBuf,
    /// Where to write the image.
    image: PathBuf,
}

/// The observer that tracks durability, per file.
#[derive(Default)]
pub struct CrashFs {
    files: Mutex<BTreeMap<PathBuf, FileState>>,
    plan: Mutex<Option<Plan>>,
    /// The image a planned power cut wrote: the end of its log, or the error building it.
    taken: Mutex<Option<std::io::Result<Pos>>>,
}

impl fmt::Debug for CrashFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrashFs").finish_non_exhaustive()
    }
}

impl CrashFs {
    /// An observer for `dir`, whose existing segment files are all taken as durable (they were
    /// written by a test, or closed cleanly).
    pub fn for_dir(dir: &Path) -> std::io::Result<CrashFs> {
        let fs = CrashFs::default();
        let mut files = fs.lock();
        for path in store_files(dir)?.0.into_values() {
            let len = std::fs::metadata(&path)?.len();
            files.insert(
                path,
                FileState {
                    len,
                    durable_len: len,
                    created_durable: true,
                },
            );
        }
        drop(files);
        Ok(fs)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, FileState>> {
        lock(&self.files)
    }

    /// Plans a power cut of `live` after `events` more file events; its image goes to `image`.
    pub fn plan_power_cut(&self, live: &Path, events: u32, seed: u64, image: &Path) {
        *lock(&self.plan) = Some(Plan {
            events_left: events.max(1),
            seed,
            live: live.to_owned(),
            image: image.to_owned(),
        });
    }

    /// Drops a planned power cut that has not happened.
    pub fn cancel_plan(&self) {
        lock(&self.plan).take();
    }

    /// The end of the log of the image the planned power cut wrote, once it has happened.
    pub fn taken(&self) -> Option<std::io::Result<Pos>> {
        lock(&self.taken).take()
    }

    /// Counts one event towards a planned power cut, and takes the image when it is due.
    fn tick(&self) {
        let mut plan = lock(&self.plan);
        let due = plan.as_mut().is_some_and(|p| {
            p.events_left -= 1;
            p.events_left == 0
        });
        if let Some(p) = plan.take_if(|_| due) {
            drop(plan);
            let mut rng = fastrand::Rng::with_seed(p.seed);
            let end = build_image(&p.live, self, Crash::PowerCut, &p.image, &mut rng);
            *lock(&self.taken) = Some(end);
        }
    }

    /// The durability of `path`: (durable length, creation durable), if the file is known.
    fn durability(&self, path: &Path) -> Option<(u64, bool)> {
        self.lock()
            .get(path)
            .map(|s| (s.durable_len, s.created_durable))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl IoObserver for CrashFs {
    fn created(&self, path: &Path) {
        self.lock().insert(path.to_owned(), FileState::default());
        self.tick();
    }

    fn written(&self, path: &Path, len: u64) {
        self.lock().entry(path.to_owned()).or_default().len = len;
        self.tick();
    }

    fn truncated(&self, path: &Path, len: u64) {
        {
            let mut files = self.lock();
            let state = files.entry(path.to_owned()).or_default();
            state.len = len;
            state.durable_len = state.durable_len.min(len);
        }
        self.tick();
    }

    fn synced(&self, path: &Path) {
        {
            let mut files = self.lock();
            let state = files.entry(path.to_owned()).or_default();
            state.durable_len = state.len;
        }
        self.tick();
    }

    fn removed(&self, path: &Path) {
        self.lock().remove(path);
        self.tick();
    }

    fn renamed(&self, from: &Path, to: &Path) {
        {
            let mut files = self.lock();
            let mut state = files.remove(from).unwrap_or_default();
            // The new name is durable only once the directory is fsync'd.
            state.created_durable = false;
            files.insert(to.to_owned(), state);
        }
        self.tick();
    }

    fn dir_synced(&self, dir: &Path) {
        for (path, state) in self.lock().iter_mut() {
            if path.parent() == Some(dir) {
                state.created_durable = true;
            }
        }
        self.tick();
    }
}

/// Every file of `dir` the store writes (segments, hints, temporary files), by name; and the
/// id of each segment written by appending (not by compaction), whose end is the log's end.
fn store_files(dir: &Path) -> std::io::Result<(BTreeMap<String, PathBuf>, Vec<u32>)> {
    let mut files = BTreeMap::new();
    let mut appended = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name == "LOCK" {
            continue;
        }
        if let Some(id) = parse_segment_name(&name) {
            let mut head = Vec::new();
            std::io::Read::read_to_end(
                &mut std::io::Read::take(std::fs::File::open(entry.path())?, 32),
                &mut head,
            )?;
            if parse_header(&head).map_or(true, |h| !h.is_compacted()) {
                appended.push(id);
            }
        }
        files.insert(name, entry.path());
    }
    Ok((files, appended))
}

/// Writes into `image` (an empty directory) what `crash` would leave of `live`, whose
/// durability `fs` tracked. Returns the end of the log the image holds: records that end at or
/// before it survived whole (garbage added after it is not counted).
pub fn build_image(
    live: &Path,
    fs: &CrashFs,
    crash: Crash,
    image: &Path,
    rng: &mut fastrand::Rng,
) -> std::io::Result<Pos> {
    std::fs::create_dir_all(image)?;
    let (files, appended) = store_files(live)?;
    // The active segment: the newest one written by appending. Only its end is the log's.
    let newest = appended.iter().max().copied();
    let mut end: Pos = (0, 0);
    for path in files.values() {
        let id = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(parse_segment_name)
            .filter(|id| appended.contains(id));
        let mut bytes = std::fs::read(path)?;
        let mut garbage = Vec::new();
        match crash {
            Crash::Kill => {}
            Crash::Torn => {
                // A kill can tear only what was not yet fsync'd: compaction and hint files
                // rely on what an fsync made durable.
                if id.is_some() && id == newest {
                    let (durable, _) = fs.durability(path).unwrap_or((0, false));
                    let durable = (durable as usize).min(bytes.len());
                    bytes.truncate(rng.usize(durable..=bytes.len()));
                }
            }
            Crash::PowerCut => {
                let (durable, created) = fs.durability(path).unwrap_or((0, false));
                if !created {
                    continue;
                }
                let durable = durable.min(bytes.len() as u64) as usize;
                let keep = if durable < bytes.len() && rng.bool() {
                    durable + rng.usize(..=bytes.len() - durable)
                } else {
                    durable
                };
                if keep < bytes.len() && rng.u8(..3) == 0 {
                    let n = rng.usize(1..64);
                    garbage = if rng.bool() {
                        vec![0; n]
                    } else {
                        std::iter::repeat_with(|| rng.u8(..)).take(n).collect()
                    };
                }
                // Garbage that happens to equal the lost bytes (zeros, often) restores them.
                let restored = garbage
                    .iter()
                    .zip(&bytes[keep..])
                    .take_while(|(g, b)| g == b)
                    .count();
                bytes.truncate(keep);
                if let Some(id) = id {
                    end = end.max((id, (keep + restored) as u64));
                }
            }
        }
        if let Some(id) = id {
            end = end.max((id, bytes.len() as u64));
        }
        let name = path
            .file_name()
            .ok_or_else(|| std::io::Error::other("no name"))?;
        let mut out = std::fs::File::create(image.join(name))?;
        out.write_all(&bytes)?;
        out.write_all(&garbage)?;
    }
    Ok(end)
}
