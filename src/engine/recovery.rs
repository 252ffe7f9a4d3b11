//! Opening a database: lock the directory, replay every segment into the keydirs.
//!
//! Segments are replayed in id order, records in file order; the last record for a key wins.
//! Records of one batch (flag "batch continues") are held back until the batch's last record is
//! read, so a batch is applied whole or not at all. Keys whose expiry has passed are dropped
//! only once the whole log is replayed: until then a later `Expire` record (PERSIST, a new
//! EXPIRE) may still change the expiry a `Put` record carries.
//!
//! What counts as damage:
//! * The newest segment may end in a *torn tail*: a partial or corrupt record (or an unfinished
//!   batch) with no valid record after it, as a crash in the middle of a write leaves it. It is
//!   truncated, with a warning naming the file and the bytes dropped. Sealed segments were
//!   fsync'd before the next one was created, so only the newest can be torn.
//! * Anything else that is not a valid record (a bad CRC in a sealed segment, or one in the
//!   newest segment followed by a valid record) is corruption: `open` fails with
//!   [`Error::Corrupt`] naming the file and offset, and changes nothing on disk.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fs2::FileExt;

use super::{Engine, Op, SpaceMap};
use crate::collection::{Collection, split_sub_key};
use crate::error::{Error, Result};
use crate::keydir::{Entry, KeyDir, Location, ValueType};
use crate::log::hint::{self, HintFile};
use crate::log::record::{self, DecodeError, NUM_DBS, RecordRef};
use crate::log::segment::{
    FORMAT_VERSION, LEGACY_HEADER_LEN, SEGMENT_HEADER_LEN, SEGMENT_MAGIC, SegmentHeader,
    list_segments, order_key, parse_header, segment_path,
};
use crate::log::writer::sync_dir;
use crate::log::{IoObserver, Kind, Segment, SegmentId, SeqNo, Timestamp, Writer, mmap};
use crate::options::Options;

/// Name of the lock file in a data directory.
pub const LOCK_FILE: &str = "LOCK";

/// What `open` found.
#[derive(Debug, Clone, Default)]
pub struct RecoveryReport {
    /// Segment files replayed.
    pub segments: usize,
    /// Records replayed.
    pub records: u64,
    /// Live keys after replay, all databases.
    pub keys: usize,
    /// A torn tail that was cut off: the file, the offset it was cut at, and bytes dropped.
    pub truncated: Option<(PathBuf, u64, u64)>,
    /// Time the replay took.
    pub elapsed: Duration,
    /// Sealed segments loaded from their hint file instead of being scanned.
    pub hinted: usize,
    /// Hint files that could not be used (corrupt, stale, unreadable): their segments were
    /// scanned.
    pub hint_failures: usize,
}

/// Locks `dir` (creating it if needed), replays it, and returns the ready engine.
pub fn open(dir: &Path, opts: Options) -> Result<(Engine, RecoveryReport)> {
    let started = Instant::now();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let lock_path = dir.join(LOCK_FILE);
    let lock = File::create(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
    if lock.try_lock_exclusive().is_err() {
        return Err(Error::Locked {
            path: dir.to_owned(),
        });
    }

    remove_temp_files(dir, opts.observer.as_ref())?;
    let files = live_segments(dir, opts.observer.as_ref())?;
    let mut dbs: Vec<KeyDir> = (0..NUM_DBS).map(|_| KeyDir::new()).collect();
    let mut space = SpaceMap::default();
    let mut segments = BTreeMap::new();
    let mut report = RecoveryReport {
        segments: files.len(),
        ..RecoveryReport::default()
    };
    let mut max_seq: Option<SeqNo> = None;
    let mut writer = None;
    // The newest segment was written by an older format version: new records go to a new
    // segment, so that no file mixes versions.
    let mut old_format = false;
    for (i, &(id, header)) in files.iter().enumerate() {
        let newest = i + 1 == files.len();
        let path = segment_path(dir, id);
        if let Some(h) = header
            && h.filtered_seq > 0
        {
            // Every record dropped by that compaction had a smaller sequence number.
            let floor = h.filtered_seq - 1;
            max_seq = Some(max_seq.map_or(floor, |m| m.max(floor)));
        }
        if !newest {
            // Opened once: to check its hint against, then to read from.
            let segment = Segment::open_sealed(dir, id, opts.mmap)?;
            if load_hint(
                &segment,
                dir,
                &mut dbs,
                &mut space,
                &mut max_seq,
                &mut report,
            ) {
                segment.set_hinted();
            } else {
                replay_segment(
                    &path,
                    id,
                    false,
                    &mut dbs,
                    &mut space,
                    &mut max_seq,
                    &mut report,
                )?;
            }
            segments.insert(id, Arc::new(segment));
            continue;
        }
        let (valid_len, header) = replay_segment(
            &path,
            id,
            true,
            &mut dbs,
            &mut space,
            &mut max_seq,
            &mut report,
        )?;
        // A compaction output is never written to: new records go to a new segment.
        old_format = header.is_some_and(|h| h.version < FORMAT_VERSION || h.is_compacted());
        let w = Writer::reopen(dir, id, valid_len, opts.observer.clone())?;
        let header = header.unwrap_or_else(SegmentHeader::appended);
        segments.insert(
            id,
            Arc::new(Segment::active(path, id, Arc::clone(w.file()), header)),
        );
        writer = Some(w);
    }
    let writer = match writer {
        Some(w) => w,
        None => {
            let w = Writer::create(dir, 1, opts.observer.clone())?;
            segments.insert(
                1,
                Arc::new(Segment::active(
                    w.path().to_owned(),
                    1,
                    Arc::clone(w.file()),
                    SegmentHeader::appended(),
                )),
            );
            w
        }
    };
    let now = opts.clock.now_ms();
    let mut expired = Vec::new();
    for (db, keydir) in dbs.iter_mut().enumerate() {
        expired.extend(
            drop_expired(keydir, &mut space, now)
                .into_iter()
                .map(|key| (db as u8, key)),
        );
    }
    let next_segment_id = segments.keys().next_back().map_or(2, |&id| id + 1);
    let mut engine = Engine {
        dir: dir.to_owned(),
        opts,
        dbs,
        segments,
        writer,
        next_segment_id,
        next_seq: max_seq.map_or(1, |s| s + 1),
        written_seq: max_seq.unwrap_or(0),
        appended: 0,
        watches: Default::default(),
        space,
        buf: Vec::new(),
        deferred: false,
        last_record: None,
        poisoned: false,
        _lock: lock,
    };
    if old_format {
        engine.rotate()?;
    }
    // Keys that expired while the database was closed get their tombstone now, as a key
    // expired at run time does: compaction may drop an expired key's records only because a
    // later record says it is gone.
    for chunk in expired.chunks(4096) {
        let ops: Vec<Op<'_>> = chunk
            .iter()
            .map(|(db, key)| Op::Delete { db: *db, key })
            .collect();
        engine.commit(&ops)?;
    }
    report.keys = engine.dbs.iter().map(KeyDir::len).sum();
    report.elapsed = started.elapsed();
    Ok((engine, report))
}

/// Replays one segment; returns the length of its valid prefix (the whole file unless a torn
/// tail of the newest segment is to be cut) and its header (`None` if the header is torn).
fn replay_segment(
    path: &Path,
    id: SegmentId,
    newest: bool,
    dbs: &mut [KeyDir],
    space: &mut SpaceMap,
    max_seq: &mut Option<SeqNo>,
    report: &mut RecoveryReport,
) -> Result<(u64, Option<SegmentHeader>)> {
    let corrupt = |offset: u64, reason: &str| Error::Corrupt {
        path: path.to_owned(),
        offset,
        reason: reason.to_owned(),
    };
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if file_len < LEGACY_HEADER_LEN {
        if newest {
            // Created but the crash came before its header was complete.
            let valid = cut_tail(path, 0, file_len, "segment header incomplete", report);
            return Ok((valid, None));
        }
        return Err(corrupt(0, "file shorter than the segment header"));
    }
    let map = mmap::map_sealed(&file).map_err(|e| Error::io(path, e))?;
    let header = match parse_header(&map) {
        Ok(header) => header,
        Err(_) if newest && file_len < SEGMENT_HEADER_LEN && map.starts_with(&SEGMENT_MAGIC) => {
            let valid = cut_tail(path, 0, file_len, "segment header incomplete", report);
            return Ok((valid, None));
        }
        Err(reason) => return Err(corrupt(0, &reason)),
    };

    let mut pos = header.len as usize;
    let mut batch: Vec<(usize, RecordRef<'_>)> = Vec::new();
    let mut cut: Option<(usize, &str)> = None;
    while pos < map.len() {
        match record::decode(&map[pos..]) {
            Ok(rec) => {
                let len = rec.header.record_len() as usize;
                *max_seq = Some(max_seq.map_or(rec.header.seq, |m| m.max(rec.header.seq)));
                batch.push((pos, rec));
                if !rec.header.batch_continues() {
                    for (offset, rec) in batch.drain(..) {
                        apply(dbs, space, id, offset, &rec)
                            .map_err(|reason| corrupt(offset as u64, reason))?;
                        report.records += 1;
                    }
                }
                pos += len;
            }
            Err(err) => {
                let reason = match err {
                    DecodeError::Incomplete { .. } => "truncated record",
                    DecodeError::Invalid(reason) => reason,
                };
                if !newest || valid_record_after(&map, pos + 1) {
                    return Err(corrupt(pos as u64, reason));
                }
                cut = Some((pos, reason));
                break;
            }
        }
    }
    if let Some(&(start, _)) = batch.first() {
        if !newest {
            return Err(corrupt(start as u64, "batch without its last record"));
        }
        cut = Some((start, "batch without its last record"));
    }
    let valid = match cut {
        Some((at, reason)) => cut_tail(path, at as u64, file_len, reason, report),
        None => file_len,
    };
    Ok((valid, Some(header)))
}

/// Reports a torn tail of the newest segment to be cut at `at`; returns the valid length.
fn cut_tail(path: &Path, at: u64, file_len: u64, reason: &str, report: &mut RecoveryReport) -> u64 {
    let dropped = file_len - at;
    ::log::warn!(
        "{}: torn tail at offset {at} ({reason}): truncating {dropped} bytes",
        path.display()
    );
    report.truncated = Some((path.to_owned(), at, dropped));
    at
}

/// Whether any valid record starts at or after `from`: tells mid-file corruption (valid
/// records follow) from a torn tail (nothing valid follows). Header checks reject almost every
/// position before the CRC is computed, so this is a fast byte-by-byte probe.
fn valid_record_after(buf: &[u8], from: usize) -> bool {
    next_valid_record(buf, from).is_some()
}

/// The first position at or after `from` where a valid record starts.
pub(crate) fn next_valid_record(buf: &[u8], from: usize) -> Option<usize> {
    (from..buf.len()).find(|&p| record::decode(&buf[p..]).is_ok())
}

/// Applies one replayed record to the keydirs; `Err` is a reason for a corruption error.
///
/// Expired keys stay in for now (see [`drop_expired`]): a `Put` whose expiry has passed may
/// have been made persistent by a later `Expire` record.
pub(super) fn apply(
    dbs: &mut [KeyDir],
    space: &mut SpaceMap,
    segment: SegmentId,
    offset: usize,
    rec: &RecordRef<'_>,
) -> Result<(), &'static str> {
    let h = &rec.header;
    let keydir = &mut dbs[usize::from(h.db)];
    let loc = || -> Result<Location, &'static str> {
        Ok(Location {
            segment,
            offset: u32::try_from(offset).map_err(|_| "record offset above 4 GiB")?,
            len: u32::try_from(h.record_len()).map_err(|_| "record longer than 4 GiB")?,
        })
    };
    match h.kind {
        Kind::Put => {
            let loc = loc()?;
            let old = keydir.insert(
                rec.key,
                Entry {
                    loc,
                    expires_at: h.expires_at,
                    vtype: ValueType::String,
                },
            );
            space.drop_removed(old.as_ref());
            space.add(loc);
        }
        Kind::Delete => {
            let old = keydir.remove(rec.key);
            space.drop_removed(old.as_ref());
        }
        Kind::Expire => {
            keydir.set_expiry(rec.key, h.expires_at);
        }
        Kind::Flush => {
            space.drop_keydir(keydir);
            keydir.clear();
        }
        Kind::Meta => {
            let vtype = match rec.value {
                [byte] if !h.is_compressed() => ValueType::collection_from_byte(*byte),
                _ => None,
            }
            .ok_or("metadata record with an unknown collection type")?;
            let collection = Collection::new(vtype, h.seq).ok_or("metadata of a string")?;
            let loc = loc()?;
            let entry = Entry {
                loc,
                expires_at: h.expires_at,
                vtype,
            };
            let old = keydir.insert_collection(rec.key, entry, collection);
            space.drop_removed(old.as_ref());
            space.add(loc);
        }
        Kind::Element | Kind::ElementDelete => {
            let (version, name) =
                split_sub_key(rec.sub).ok_or("element record without a version")?;
            // An element of an older version of the key, or of a key deleted since, is dead.
            let Some(collection) = keydir
                .collection_mut(rec.key)
                .filter(|c| c.version == version)
            else {
                return Ok(());
            };
            if h.kind == Kind::ElementDelete {
                if let Some(old) = collection.remove_element(name) {
                    space.sub(old);
                }
            } else {
                // Only a hash field's value may be compressed, and replay needs only its
                // location.
                let value = if h.is_compressed() {
                    &[][..]
                } else {
                    rec.value
                };
                let loc = loc()?;
                if let Some(old) = collection.apply_element(name, value, loc)? {
                    space.sub(old);
                }
                space.add(loc);
            }
        }
    }
    Ok(())
}

/// Finds the keys whose final expiry is at or before `now`, once the whole log is replayed, and
/// returns them: `open` deletes them with a tombstone each. Also removes any collection left
/// without elements, which kvdb never writes (it deletes a collection with its last element)
/// but a hand-made log could hold.
fn drop_expired(keydir: &mut KeyDir, space: &mut SpaceMap, now: Timestamp) -> Vec<Vec<u8>> {
    let mut expired = Vec::new();
    keydir.for_each(|key, entry| {
        if entry.expires_at != 0 && entry.expires_at <= now {
            expired.push(key.to_vec());
        }
    });
    let mut empty = Vec::new();
    keydir.for_each_collection(|key, collection| {
        if collection.is_empty() {
            empty.push(key.to_vec());
        }
    });
    for key in empty {
        let old = keydir.remove(&key);
        space.drop_removed(old.as_ref());
    }
    expired
}

/// Removes the files an interrupted write left behind (`*.tmp`: a compaction output or a hint
/// that was never renamed into place).
fn remove_temp_files(dir: &Path, observer: Option<&Arc<dyn IoObserver>>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        if name.to_str().is_some_and(hint::is_temp_name) {
            let path = entry.path();
            ::log::warn!("{}: removing an unfinished file", path.display());
            remove_file(&path, observer)?;
        }
    }
    Ok(())
}

/// Removes `path` and tells the observer.
pub(super) fn remove_file(path: &Path, observer: Option<&Arc<dyn IoObserver>>) -> Result<()> {
    std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    if let Some(obs) = observer {
        obs.removed(path);
    }
    Ok(())
}

/// The segments to replay, in replay order, with their headers (`None`: too short to have
/// one, which only the newest may be). Deletes first the inputs of a compaction whose output
/// was published before a crash kept it from deleting them, with their hint files, and hint
/// files whose segment is gone.
fn live_segments(
    dir: &Path,
    observer: Option<&Arc<dyn IoObserver>>,
) -> Result<Vec<(SegmentId, Option<SegmentHeader>)>> {
    let mut files = Vec::new();
    for id in list_segments(dir)? {
        let path = segment_path(dir, id);
        let mut head = Vec::with_capacity(SEGMENT_HEADER_LEN as usize);
        File::open(&path)
            .and_then(|f| {
                use std::io::Read;
                f.take(SEGMENT_HEADER_LEN).read_to_end(&mut head)
            })
            .map_err(|e| Error::io(&path, e))?;
        files.push((id, parse_header(&head).ok()));
    }
    let key = |&(id, header): &(SegmentId, Option<SegmentHeader>)| match header {
        Some(h) => order_key(id, &h),
        None => (id, id),
    };
    let superseded: Vec<SegmentId> = superseded(&files).into_iter().map(|(id, _)| id).collect();
    if !superseded.is_empty() {
        // The rename that published the output must be durable before its inputs go.
        sync_dir(dir, observer)?;
        for &id in &superseded {
            ::log::warn!(
                "{}: removing a segment a finished compaction replaced",
                segment_path(dir, id).display()
            );
            remove_file(&segment_path(dir, id), observer)?;
            let hint = hint::hint_path(dir, id);
            if hint.exists() {
                remove_file(&hint, observer)?;
            }
        }
        sync_dir(dir, observer)?;
    }
    files.retain(|(id, _)| !superseded.contains(id));
    files.sort_unstable_by_key(key);
    // Hints of segments that are gone.
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if let Some(id) = entry.file_name().to_str().and_then(hint::parse_hint_name)
            && !files.iter().any(|&(f, _)| f == id)
        {
            remove_file(&entry.path(), observer)?;
        }
    }
    Ok(files)
}

/// The segments a finished compaction replaced, each with the output that replaced it: any
/// segment with a smaller id than a compaction output whose position lies in the output's
/// `covers_from..=position`. Newest output first: an output that replaced an older output also
/// replaced its inputs. `files` are segment ids with their headers (`None`: unreadable).
pub(crate) fn superseded(
    files: &[(SegmentId, Option<SegmentHeader>)],
) -> Vec<(SegmentId, SegmentId)> {
    let mut outputs: Vec<(SegmentId, SegmentHeader)> = files
        .iter()
        .filter_map(|&(id, h)| Some((id, h.filter(SegmentHeader::is_compacted)?)))
        .collect();
    outputs.sort_unstable_by_key(|&(id, _)| std::cmp::Reverse(id));
    let mut replaced: Vec<(SegmentId, SegmentId)> = Vec::new();
    for (out, header) in outputs {
        if replaced.iter().any(|&(id, _)| id == out) {
            continue;
        }
        for &(id, h) in files {
            let position = h.map_or(id, |h| order_key(id, &h).0);
            if id < out
                && (header.covers_from..=header.position).contains(&position)
                && !replaced.iter().any(|&(r, _)| r == id)
            {
                replaced.push((id, out));
            }
        }
    }
    replaced.sort_unstable();
    replaced
}

/// Loads sealed segment `segment` from its hint file, if it has a valid one; returns whether it
/// did. A missing hint is normal (the segment is scanned); an unreadable, corrupt or stale one
/// is reported with a warning, then the segment is scanned.
fn load_hint(
    segment: &Segment,
    dir: &Path,
    dbs: &mut [KeyDir],
    space: &mut SpaceMap,
    max_seq: &mut Option<SeqNo>,
    report: &mut RecoveryReport,
) -> bool {
    let id = segment.id();
    let path = hint::hint_path(dir, id);
    if !path.exists() {
        return false;
    }
    let checked = HintFile::read(&path).and_then(|hint| {
        let stale = || Error::Corrupt {
            path: path.clone(),
            offset: 0,
            reason: "the hint describes another version of its segment".into(),
        };
        if *hint.identity() != hint::identity(&segment.header_bytes()?)
            || hint.segment_len() != segment.len()?
        {
            return Err(stale());
        }
        Ok(hint)
    });
    let hint = match checked {
        Ok(hint) => hint,
        Err(e) => {
            ::log::warn!("{e}: scanning the segment instead");
            report.hint_failures += 1;
            return false;
        }
    };
    // A hint holds the live records of whole batches: each entry applies on its own. An entry
    // replay rejects (a valid CRC over nonsense) falls back to the scan, which applies every
    // record of the segment again, in order, over what the hint applied so far: the same end
    // state, since each of those entries is one of the segment's records.
    for entry in hint.entries() {
        if let Err(reason) = apply(dbs, space, id, entry.offset as usize, &entry.record) {
            ::log::warn!(
                "{}: entry for segment offset {}: {reason}: scanning the segment instead",
                path.display(),
                entry.offset
            );
            report.hint_failures += 1;
            return false;
        }
        report.records += 1;
    }
    *max_seq = Some(max_seq.map_or(hint.max_seq(), |m| m.max(hint.max_seq())));
    report.hinted += 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::engine::Op;

    fn options(clock: &Arc<ManualClock>) -> Options {
        Options {
            clock: clock.clone(),
            active_expiry: None,
            ..Options::default()
        }
    }

    #[test]
    fn an_expiry_changed_after_the_put_decides_at_replay() -> Result<()> {
        // Regression: replay dropped a key as soon as it read a `Put` whose expiry had passed,
        // so the later `Expire` record (PERSIST, or an EXPIRE pushing the time back) found no
        // key: a persisted key vanished at the first restart after its original expiry.
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let clock = ManualClock::new(1_000);
        {
            let (mut engine, _) = Engine::open(dir.path(), options(&clock))?;
            for (key, put_expiry, new_expiry) in [
                (&b"persisted"[..], 2_000, 0),
                (b"extended", 2_000, 9_000),
                (b"shortened", 0, 2_000),
            ] {
                let db = 0;
                engine.commit(&[Op::Put {
                    db,
                    key,
                    value: b"v",
                    expires_at: put_expiry,
                }])?;
                engine.commit(&[Op::Expire {
                    db,
                    key,
                    expires_at: new_expiry,
                }])?;
            }
            engine.sync()?;
        }
        clock.set(5_000);
        let (engine, report) = Engine::open(dir.path(), options(&clock))?;
        let expiry = |key: &[u8]| engine.keydir(0).get(key).map(|e| e.expires_at);
        assert_eq!(expiry(b"persisted"), Some(0));
        assert_eq!(expiry(b"extended"), Some(9_000));
        assert_eq!(expiry(b"shortened"), None);
        assert_eq!(report.keys, 2);
        Ok(())
    }

    #[test]
    fn collections_replay_with_versions_so_an_old_version_never_returns() -> Result<()> {
        use crate::collection::Elements;
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let clock = ManualClock::new(1_000);
        let fields = |engine: &Engine, key: &[u8]| -> Vec<Vec<u8>> {
            let mut names: Vec<Vec<u8>> = match engine.keydir(0).collection(key) {
                Some(c) => match &c.elements {
                    Elements::Hash(t) => t.iter().map(|(n, _)| n.to_vec()).collect(),
                    _ => vec![b"not a hash".to_vec()],
                },
                None => Vec::new(),
            };
            names.sort();
            names
        };
        {
            let (mut engine, _) = Engine::open(dir.path(), options(&clock))?;
            let (db, key, vtype) = (0, &b"h"[..], ValueType::Hash);
            engine.commit(&[
                Op::Create {
                    db,
                    key,
                    vtype,
                    expires_at: 0,
                },
                Op::SetElement {
                    db,
                    key,
                    name: b"a",
                    value: b"1",
                },
                Op::SetElement {
                    db,
                    key,
                    name: b"b",
                    value: b"2",
                },
            ])?;
            engine.commit(&[Op::DeleteElement {
                db,
                key,
                name: b"a",
            }])?;
            // Delete the whole hash with one record, then recreate it with one field.
            engine.commit(&[Op::Delete { db, key }])?;
            engine.commit(&[
                Op::Create {
                    db,
                    key,
                    vtype,
                    expires_at: 0,
                },
                Op::SetElement {
                    db,
                    key,
                    name: b"c",
                    value: b"3",
                },
            ])?;
            assert_eq!(fields(&engine, key), [b"c".to_vec()]);
            // An element op on a key that is not a collection is refused before writing.
            let end = engine.log_position();
            assert!(matches!(
                engine.commit(&[Op::SetElement {
                    db,
                    key: b"none",
                    name: b"x",
                    value: b""
                }]),
                Err(Error::WrongType)
            ));
            assert_eq!(engine.log_position(), end);
            engine.sync()?;
        }
        let (engine, report) = Engine::open(dir.path(), options(&clock))?;
        assert_eq!(fields(&engine, b"h"), [b"c".to_vec()]);
        assert_eq!(report.keys, 1);
        let entry = engine
            .keydir(0)
            .get(b"h")
            .copied()
            .ok_or(Error::NoSuchKey)?;
        assert_eq!(entry.vtype, ValueType::Hash);
        Ok(())
    }
}
