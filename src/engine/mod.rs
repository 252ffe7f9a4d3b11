//! The storage engine: the log plus the keydirs of the 16 databases.
//!
//! The engine is synchronous and single-owner: [`crate::Db`] keeps it behind one mutex, so every
//! method here runs with exclusive access and a batch of [`Op`]s is atomic with respect to every
//! other command. Durability is not decided here: `commit` appends with one `pwrite` and the
//! caller syncs according to the fsync policy ([`Engine::sync_handle`]).
//!
//! Write path: `commit(ops)` compresses large values, rotates the active segment if the batch
//! would overflow it, encodes all records (sequence numbers `next_seq..`, every record but the
//! last flagged "batch continues") into one buffer, appends it in one write, and only then
//! updates the keydirs. Read path: keydir lookup, then one read of the record (mmap for sealed
//! segments, `pread` for the active one), CRC check, decompression if flagged.
//!
//! One command may commit several times (DEL writes a tombstone per key, a lazy expiry writes
//! a tombstone before the command's own write). [`Engine::begin`] and [`Engine::finish`]
//! bracket a command ([`crate::Db::tx`] does it): in between, commits only encode into the
//! buffer, extending one batch, and update the keydirs at once; `finish` appends the whole
//! batch in one write. So a crash keeps all of a command's records or none of them. Reads in
//! between find the pending records in the buffer. [`Engine::end_batch`] closes a bracket but
//! keeps its batch in memory until [`Engine::flush`]: the server writes a whole pipeline of
//! commands with one write that way.

pub mod compact;
pub mod expiry;
pub mod recovery;
pub mod space;
pub mod watch;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::collection::{Collection, element_sub_key};
use crate::error::{Error, Result};
use crate::keydir::{Entry, KeyDir, Location, ValueType};
use crate::log::record::{
    self, DecodeError, FLAG_BATCH_MORE, FLAG_ZSTD, Header, MAX_FIELD_LEN, NUM_DBS, RecordRef,
};
use crate::log::segment::SegmentHeader;
use crate::log::{Kind, Segment, SegmentId, SeqNo, Timestamp, Writer};
use crate::options::Options;

pub use recovery::RecoveryReport;
pub use space::SpaceMap;

/// One change to the store, as the data-type layer asks for it.
#[derive(Debug, Clone, Copy)]
pub enum Op<'a> {
    /// Set `key` to the string `value`, with an absolute expiry (0 = none).
    Put {
        /// Database index.
        db: u8,
        /// The key.
        key: &'a [u8],
        /// The value.
        value: &'a [u8],
        /// Absolute expiry in Unix ms, 0 = none.
        expires_at: Timestamp,
    },
    /// Delete `key` (a tombstone).
    Delete {
        /// Database index.
        db: u8,
        /// The key.
        key: &'a [u8],
    },
    /// Set the expiry of existing `key` (0 = persist).
    Expire {
        /// Database index.
        db: u8,
        /// The key.
        key: &'a [u8],
        /// Absolute expiry in Unix ms, 0 = none.
        expires_at: Timestamp,
    },
    /// Delete every key of database `db`.
    Flush {
        /// Database index.
        db: u8,
    },
    /// Make `key` a new, empty collection of type `vtype` (a `Meta` record), replacing whatever
    /// it held. Its version is the record's sequence number. A batch that creates a collection
    /// must add at least one element to it.
    Create {
        /// Database index.
        db: u8,
        /// The key.
        key: &'a [u8],
        /// A collection type.
        vtype: ValueType,
        /// Absolute expiry in Unix ms, 0 = none.
        expires_at: Timestamp,
    },
    /// Add or replace element `name` of the collection `key` (an `Element` record of the
    /// collection's current version). `value`: a hash field's value, nothing for a set member,
    /// [`crate::collection::encode_score`] for a sorted-set member.
    SetElement {
        /// Database index.
        db: u8,
        /// The collection's key.
        key: &'a [u8],
        /// The element's name (field, member).
        name: &'a [u8],
        /// The element's value.
        value: &'a [u8],
    },
    /// Remove element `name` of the collection `key` (an `ElementDelete` record). To remove
    /// the last element, delete the key instead: a collection never stays empty.
    DeleteElement {
        /// Database index.
        db: u8,
        /// The collection's key.
        key: &'a [u8],
        /// The element's name.
        name: &'a [u8],
    },
}

impl Op<'_> {
    /// The database and key the op changes (`None` for `Flush`).
    fn target(&self) -> Option<(u8, &[u8])> {
        match *self {
            Op::Put { db, key, .. }
            | Op::Delete { db, key }
            | Op::Expire { db, key, .. }
            | Op::Create { db, key, .. }
            | Op::SetElement { db, key, .. }
            | Op::DeleteElement { db, key, .. } => Some((db, key)),
            Op::Flush { .. } => None,
        }
    }
}

/// Every byte value, so that a `Meta` record's one-byte value (its type byte) can be borrowed
/// for any type without an allocation: `&BYTES[b..=b]`.
static BYTES: [u8; 256] = {
    let mut bytes = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        bytes[i] = i as u8;
        i += 1;
    }
    bytes
};

/// One op's record parts before encoding: sub-key, stored value, `FLAG_ZSTD` or 0.
type Encoded<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>, u8);

/// A key an earlier op of a batch changed: database, key (`None`: every key, a `Flush`), and
/// the collection version it now has, if it is a collection.
type BatchChange<'a> = (u8, Option<&'a [u8]>, Option<SeqNo>);

/// Consecutive element removals of one collection in a batch: database, key, element names.
type Removals<'a> = (u8, &'a [u8], Vec<&'a [u8]>);

/// Bytes of finished batches [`Engine::end_batch`] may hold in memory before writing them.
pub const HOLD_LIMIT: usize = 16 * 1024 * 1024;

/// Largest batch one `commit` may write: offsets in the keydir are `u32`.
const MAX_BATCH_LEN: u64 = u32::MAX as u64 - super::options::MAX_SEGMENT_SIZE;

/// The log and the keydirs.
#[derive(Debug)]
pub struct Engine {
    dir: PathBuf,
    opts: Options,
    dbs: Vec<KeyDir>,
    /// Every segment, sealed or active, by id. The active one reads with `pread`.
    segments: BTreeMap<SegmentId, Arc<Segment>>,
    writer: Writer,
    /// Id of the next segment file to create (appended or compaction output): ids only grow.
    next_segment_id: SegmentId,
    next_seq: SeqNo,
    /// Sequence number of the last record appended to the file (held batches excluded): what
    /// an fsync now would make durable.
    written_seq: SeqNo,
    /// Bytes appended to the log since open: compaction paces itself by the write rate.
    appended: u64,
    /// Records encoded but not yet appended: empty outside a `begin`..`finish` bracket.
    /// Reused across commits.
    buf: Vec<u8>,
    /// Inside a `begin`..`finish` bracket: commits extend the batch in `buf` instead of
    /// appending.
    deferred: bool,
    /// Start in `buf` of the batch's last record, whose "batch continues" flag the next commit
    /// of the same bracket sets.
    last_record: Option<usize>,
    /// Clients watching keys (WATCH).
    watches: watch::Watches,
    /// Live bytes per segment.
    space: SpaceMap,
    /// Set after a failed write or fsync: the on-disk tail is unknown, so refuse writes.
    poisoned: bool,
    /// Held for the engine's life: the exclusive lock on `LOCK`.
    _lock: File,
}

impl Engine {
    /// Opens (creating if needed) the database in `dir` and replays its log.
    pub fn open(dir: &Path, opts: Options) -> Result<(Engine, RecoveryReport)> {
        opts.validate()?;
        recovery::open(dir, opts)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options the engine was opened with.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// The keydir of database `db` (`db` < 16).
    pub fn keydir(&self, db: u8) -> &KeyDir {
        &self.dbs[usize::from(db)]
    }

    /// Number of segment files.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// The current end of the log: active segment id and its length. Records written later
    /// sort after this position.
    pub fn log_position(&self) -> (SegmentId, u64) {
        (self.writer.id(), self.writer.len())
    }

    /// Bytes appended to the log since the engine was opened.
    pub fn appended_bytes(&self) -> u64 {
        self.appended
    }

    /// The sequence number the next record will get.
    pub fn next_seq(&self) -> SeqNo {
        self.next_seq
    }

    /// What a durability sync needs: the last sequence number written and the active file.
    /// Sealed segments were fsync'd when sealed, so syncing the active file covers everything.
    pub fn sync_handle(&self) -> (SeqNo, Arc<File>, PathBuf) {
        (
            self.written_seq,
            Arc::clone(self.writer.file()),
            self.writer.path().to_owned(),
        )
    }

    /// The WATCH registry.
    pub fn watches_mut(&mut self) -> &mut watch::Watches {
        &mut self.watches
    }

    /// Whether an earlier write or fsync failed.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Marks the engine as failed: every later write returns [`Error::Poisoned`].
    pub fn poison(&mut self) {
        self.poisoned = true;
    }

    /// Starts a bracket: until [`Engine::finish`], commits form one batch, kept in memory.
    pub fn begin(&mut self) {
        self.deferred = true;
    }

    /// Ends the bracket [`Engine::begin`] opened, appending its batch in one write.
    ///
    /// # Errors
    /// The append failed: the engine is poisoned. The keydirs already show the batch, so reads
    /// of its keys fail (their records are not in the file) until the store is reopened.
    pub fn finish(&mut self) -> Result<()> {
        self.end_batch()?;
        self.flush()
    }

    /// Ends the bracket [`Engine::begin`] opened but keeps its batch in memory, after any
    /// batches held before it, until [`Engine::flush`]: a pipeline of commands is appended with
    /// one write. Past [`HOLD_LIMIT`] bytes the held batches are written at once.
    pub fn end_batch(&mut self) -> Result<()> {
        self.deferred = false;
        self.last_record = None;
        if self.buf.len() > HOLD_LIMIT {
            return self.flush();
        }
        Ok(())
    }

    /// Appends every batch held in memory with one write.
    pub fn flush(&mut self) -> Result<()> {
        self.write_pending()
    }

    /// Appends `ops` as one atomic batch and applies them to the keydirs; between `begin` and
    /// `finish`, adds them to the bracket's batch instead. Returns the sequence number of the
    /// batch's last record (or of the last record written, for an empty batch).
    ///
    /// # Errors
    /// `TooLarge` for a field over 512 MiB or a batch over 4 GiB; `WrongType` for an element op
    /// on a key that is not a collection (a bug of the caller), before anything is written.
    pub fn commit(&mut self, ops: &[Op<'_>]) -> Result<SeqNo> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        if ops.is_empty() {
            return Ok(self.next_seq.saturating_sub(1));
        }
        // Most batches (strings, keyspace) have no element op: no versions to look up.
        let has_elements = ops
            .iter()
            .any(|op| matches!(op, Op::SetElement { .. } | Op::DeleteElement { .. }));
        let versions = if has_elements {
            self.element_versions(ops)?
        } else {
            Vec::new()
        };
        // Encode sub-keys and compress values first: the batch length decides whether to
        // rotate.
        let mut encoded: Vec<Encoded<'_>> = Vec::with_capacity(ops.len());
        let mut total: u64 = 0;
        for (i, op) in ops.iter().enumerate() {
            let version = versions.get(i).copied().unwrap_or(0);
            let (key, sub, value): (&[u8], Cow<'_, [u8]>, &[u8]) = match *op {
                Op::Put { key, value, .. } => (key, Cow::Borrowed(b""), value),
                Op::Delete { key, .. } | Op::Expire { key, .. } => (key, Cow::Borrowed(b""), b""),
                Op::Flush { .. } => (b"", Cow::Borrowed(b""), b""),
                Op::Create { key, vtype, .. } => (key, Cow::Borrowed(b""), {
                    let byte = usize::from(vtype.to_byte());
                    &BYTES[byte..=byte]
                }),
                Op::SetElement {
                    key, name, value, ..
                } => (key, Cow::Owned(element_sub_key(version, name)), value),
                Op::DeleteElement { key, name, .. } => {
                    (key, Cow::Owned(element_sub_key(version, name)), b"")
                }
            };
            let limit = MAX_FIELD_LEN as usize;
            if key.len() > limit || sub.len() > limit || value.len() > limit {
                return Err(Error::TooLarge);
            }
            let (stored, flags) = self.maybe_compress(value);
            total += (record::HEADER_LEN + key.len() + sub.len() + stored.len()) as u64;
            encoded.push((sub, stored, flags));
        }
        // Bytes of this bracket's batch already encoded: the batch is written whole, into the
        // segment it started in.
        let pending = self.buf.len() as u64;
        if pending + total > MAX_BATCH_LEN {
            return Err(Error::TooLarge);
        }
        // A new batch may start a new segment; held batches go to the old one first.
        if self.last_record.is_none()
            && (!self.writer.is_empty() || pending > 0)
            && self.writer.len() + pending + total > self.opts.segment_size
        {
            self.write_pending()?;
            self.rotate()?;
        }
        if let Some(last) = self.last_record {
            record::set_batch_continues(&mut self.buf[last..]);
        }

        if !self.watches.is_empty() {
            for op in ops {
                match op.target() {
                    Some((db, key)) => self.watches.touch(db, key),
                    None => {
                        if let Op::Flush { db } = *op {
                            let keydir = &self.dbs[usize::from(db)];
                            self.watches.touch_db(db, |key| keydir.get(key).is_some());
                        }
                    }
                }
            }
        }
        let base = self.writer.len();
        let segment = self.writer.id();
        let mut removals: Option<Removals<'_>> = None;
        for (i, (op, (sub, value, flags))) in ops.iter().zip(&encoded).enumerate() {
            let seq = self.next_seq + i as u64;
            let (db, kind, key, expires_at) = match *op {
                Op::Put {
                    db,
                    key,
                    expires_at,
                    ..
                } => (db, Kind::Put, key, expires_at),
                Op::Delete { db, key } => (db, Kind::Delete, key, 0),
                Op::Expire {
                    db,
                    key,
                    expires_at,
                } => (db, Kind::Expire, key, expires_at),
                Op::Flush { db } => (db, Kind::Flush, &b""[..], 0),
                Op::Create {
                    db,
                    key,
                    expires_at,
                    ..
                } => (db, Kind::Meta, key, expires_at),
                Op::SetElement { db, key, .. } => (db, Kind::Element, key, 0),
                Op::DeleteElement { db, key, .. } => (db, Kind::ElementDelete, key, 0),
            };
            debug_assert!(db < NUM_DBS);
            let more = if i + 1 < ops.len() {
                FLAG_BATCH_MORE
            } else {
                0
            };
            let header = Header {
                seq,
                db,
                kind,
                expires_at,
                flags: flags | more,
                key_len: 0,
                sub_len: 0,
                value_len: 0,
            };
            let start = self.buf.len();
            record::encode_into(&mut self.buf, &header, key, sub, value);
            let loc = Location {
                segment,
                offset: (base + start as u64) as u32,
                len: (self.buf.len() - start) as u32,
            };
            self.last_record = Some(start);
            // Removals of several elements of one collection (LREM, LTRIM, ZREMRANGEBYRANK...)
            // are applied together: a list then shifts its elements once, not once per removal.
            match *op {
                Op::DeleteElement { db, key, name } => match &mut removals {
                    Some((d, k, names)) if *d == db && *k == key => names.push(name),
                    _ => {
                        self.apply_removals(removals.take());
                        removals = Some((db, key, vec![name]));
                    }
                },
                _ => {
                    self.apply_removals(removals.take());
                    self.apply(op, seq, loc);
                }
            }
        }
        self.apply_removals(removals);
        self.next_seq += ops.len() as u64;
        if !self.deferred {
            self.write_pending()?;
        }
        Ok(self.next_seq - 1)
    }

    /// The collection version each element op of `ops` writes under (0 for other ops):
    /// that of a `Create` earlier in the batch, else the key's current collection.
    fn element_versions(&self, ops: &[Op<'_>]) -> Result<Vec<SeqNo>> {
        // What earlier ops of the batch did to keys: (db, key or `None` for the whole db after
        // a Flush, the collection version it now has if any).
        let mut changed: Vec<BatchChange<'_>> = Vec::new();
        let mut versions = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let mut version = 0;
            match *op {
                Op::Create { db, key, .. } => {
                    changed.push((db, Some(key), Some(self.next_seq + i as u64)));
                }
                Op::Put { db, key, .. } | Op::Delete { db, key } => {
                    changed.push((db, Some(key), None));
                }
                Op::Flush { db } => changed.push((db, None, None)),
                Op::SetElement { db, key, .. } | Op::DeleteElement { db, key, .. } => {
                    let latest = changed
                        .iter()
                        .rev()
                        .find(|&&(d, k, _)| d == db && k.is_none_or(|k| k == key));
                    let found = match latest {
                        Some(&(_, _, v)) => v,
                        None => self.dbs[usize::from(db)].collection(key).map(|c| c.version),
                    };
                    version = found.ok_or(Error::WrongType)?;
                }
                Op::Expire { .. } => {}
            }
            versions.push(version);
        }
        Ok(versions)
    }

    /// Applies consecutive `DeleteElement` ops of one collection, gathered by `commit`.
    fn apply_removals(&mut self, removals: Option<Removals<'_>>) {
        if let Some((db, key, names)) = removals
            && let Some(c) = self.dbs[usize::from(db)].collection_mut(key)
        {
            let space = &mut self.space;
            c.remove_elements(&names, |loc| space.sub(loc));
        }
    }

    /// Applies one record just encoded to the keydirs, and moves the bytes of the records it
    /// supersedes from live to dead.
    fn apply(&mut self, op: &Op<'_>, seq: SeqNo, loc: Location) {
        let space = &mut self.space;
        match *op {
            Op::Put {
                db,
                key,
                expires_at,
                ..
            } => {
                let entry = Entry {
                    loc,
                    expires_at,
                    vtype: ValueType::String,
                };
                let old = self.dbs[usize::from(db)].insert(key, entry);
                space.drop_removed(old.as_ref());
                space.add(loc);
            }
            Op::Delete { db, key } => {
                let old = self.dbs[usize::from(db)].remove(key);
                space.drop_removed(old.as_ref());
            }
            Op::Expire {
                db,
                key,
                expires_at,
            } => {
                self.dbs[usize::from(db)].set_expiry(key, expires_at);
            }
            Op::Flush { db } => {
                let keydir = &mut self.dbs[usize::from(db)];
                space.drop_keydir(keydir);
                keydir.clear();
            }
            Op::Create {
                db,
                key,
                vtype,
                expires_at,
            } => {
                if let Some(collection) = Collection::new(vtype, seq) {
                    let entry = Entry {
                        loc,
                        expires_at,
                        vtype,
                    };
                    let old = self.dbs[usize::from(db)].insert_collection(key, entry, collection);
                    space.drop_removed(old.as_ref());
                    space.add(loc);
                }
            }
            Op::SetElement {
                db,
                key,
                name,
                value,
            } => {
                if let Some(c) = self.dbs[usize::from(db)].collection_mut(key) {
                    // Values of sorted-set elements were checked by the caller's encoding.
                    if let Ok(superseded) = c.apply_element(name, value, loc) {
                        space.add(loc);
                        if let Some(old) = superseded {
                            space.sub(old);
                        }
                    }
                }
            }
            Op::DeleteElement { db, key, name } => {
                if let Some(c) = self.dbs[usize::from(db)].collection_mut(key)
                    && let Some(old) = c.remove_element(name)
                {
                    space.sub(old);
                }
            }
        }
    }

    /// Appends the encoded batch, if any, in one write.
    fn write_pending(&mut self) -> Result<()> {
        self.last_record = None;
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = self.writer.append(&self.buf);
        self.written_seq = self.next_seq - 1;
        self.appended += self.buf.len() as u64;
        self.buf.clear();
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::new();
        }
        if let Err(e) = result {
            self.poisoned = true;
            return Err(e);
        }
        Ok(())
    }

    fn maybe_compress<'v>(&self, value: &'v [u8]) -> (Cow<'v, [u8]>, u8) {
        if value.len() >= self.opts.compression_threshold
            && let Ok(packed) = zstd::bulk::compress(value, self.opts.compression_level)
            && packed.len() < value.len()
        {
            return (Cow::Owned(packed), FLAG_ZSTD);
        }
        (Cow::Borrowed(value), 0)
    }

    /// Seals the active segment (fsync'd, then read-only) and starts the next one.
    pub(crate) fn rotate(&mut self) -> Result<()> {
        if let Err(e) = self.writer.sync() {
            self.poisoned = true;
            return Err(e);
        }
        let next = self.next_segment_id;
        self.next_segment_id += 1;
        let new_writer = match Writer::create(&self.dir, next, self.opts.observer.clone()) {
            Ok(w) => w,
            Err(e) => {
                self.poisoned = true;
                return Err(e);
            }
        };
        let old = std::mem::replace(&mut self.writer, new_writer);
        let sealed = Segment::from_file(
            old.path().to_owned(),
            old.id(),
            Arc::clone(old.file()),
            self.opts.mmap,
        )?;
        self.segments.insert(old.id(), Arc::new(sealed));
        self.segments.insert(
            next,
            Arc::new(Segment::active(
                self.writer.path().to_owned(),
                next,
                Arc::clone(self.writer.file()),
                SegmentHeader::appended(),
            )),
        );
        ::log::debug!("sealed segment {} and started {}", old.id(), next);
        Ok(())
    }

    /// Reads the string value `entry` points at.
    pub fn read_value(&self, entry: &Entry) -> Result<Vec<u8>> {
        self.read_at(entry.loc)
    }

    /// Reads the value of the record at `loc` (a string's, or a hash field's).
    pub fn read_at(&self, loc: Location) -> Result<Vec<u8>> {
        let segment = self
            .segments
            .get(&loc.segment)
            .ok_or_else(|| Error::Corrupt {
                path: crate::log::segment::segment_path(&self.dir, loc.segment),
                offset: u64::from(loc.offset),
                reason: "the keydir points into a segment that does not exist".into(),
            })?;
        let offset = u64::from(loc.offset);
        let value = |rec: RecordRef<'_>| record_value(segment, offset, rec);
        if loc.segment == self.writer.id() && offset >= self.writer.len() {
            // A record of the current bracket's batch, not yet appended.
            let start = (offset - self.writer.len()) as usize;
            return match self
                .buf
                .get(start..start + loc.len as usize)
                .map(record::decode)
            {
                Some(Ok(rec)) => value(rec),
                _ => Err(segment.corrupt(offset, "record extends past the end of the segment")),
            };
        }
        segment.with_record(offset, loc.len as usize, value)?
    }

    /// Reads the values of the records at `locs`, in order, as [`Engine::read_at`] would, but
    /// with one read per run of records that lie back to back in a segment, in whatever order
    /// `locs` names them: the elements of a list pushed one after another do (in log order for
    /// RPUSH, reversed for LPUSH), so LRANGE costs a read per run, not per element.
    pub fn read_many(&self, locs: &[Location]) -> Result<Vec<Vec<u8>>> {
        /// Largest span read at once.
        const MAX_SPAN: u64 = 1 << 20;
        let mut order: Vec<usize> = (0..locs.len()).collect();
        order.sort_unstable_by_key(|&i| (locs[i].segment, locs[i].offset));
        let mut values: Vec<Vec<u8>> = vec![Vec::new(); locs.len()];
        let written =
            |loc: &Location, end: u64| loc.segment != self.writer.id() || end <= self.writer.len();
        let mut i = 0;
        while let Some(&first_index) = order.get(i) {
            let first = locs[first_index];
            let start = u64::from(first.offset);
            let mut end = start + u64::from(first.len);
            let mut run = 1;
            while let Some(next) = order.get(i + run).map(|&n| locs[n])
                && written(&first, end)
                && next.segment == first.segment
                && u64::from(next.offset) == end
                && end + u64::from(next.len) - start <= MAX_SPAN
                && written(&next, end + u64::from(next.len))
            {
                end += u64::from(next.len);
                run += 1;
            }
            let Some(segment) = self.segments.get(&first.segment).filter(|_| run > 1) else {
                values[first_index] = self.read_at(first)?;
                i += 1;
                continue;
            };
            let bytes = segment.read_at(start, (end - start) as usize)?;
            for &index in &order[i..i + run] {
                let loc = locs[index];
                let offset = u64::from(loc.offset);
                let from = (offset - start) as usize;
                let rec = bytes
                    .get(from..from + loc.len as usize)
                    .ok_or_else(|| {
                        segment.corrupt(offset, "record extends past the end of the segment")
                    })
                    .and_then(|raw| {
                        record::decode(raw).map_err(|e| match e {
                            DecodeError::Incomplete { .. } => {
                                segment.corrupt(offset, "truncated record")
                            }
                            DecodeError::Invalid(reason) => segment.corrupt(offset, reason),
                        })
                    })?;
                if rec.header.record_len() != u64::from(loc.len) {
                    return Err(segment.corrupt(offset, "record length differs from the index"));
                }
                values[index] = record_value(segment, offset, rec)?;
            }
            i += run;
        }
        Ok(values)
    }

    /// The live entry of `key` in `db` at time `now`, or `None` if absent or expired.
    pub fn peek(&self, db: u8, key: &[u8], now: Timestamp) -> Option<Entry> {
        self.dbs[usize::from(db)]
            .get(key)
            .filter(|e| e.expires_at == 0 || e.expires_at > now)
            .copied()
    }

    /// Deletes `key` from `db` if it has expired by `now`, writing its tombstone. Returns
    /// whether it did. The tombstone needs no fsync wait: the expired record already says the
    /// key is gone, the tombstone only makes that independent of the clock.
    pub fn expire_if_due(&mut self, db: u8, key: &[u8], now: Timestamp) -> Result<bool> {
        match self.dbs[usize::from(db)].get(key) {
            Some(e) if e.expires_at != 0 && e.expires_at <= now => {
                self.commit(&[Op::Delete { db, key }])?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Fsyncs the active segment now (used at close).
    pub fn sync(&mut self) -> Result<()> {
        let result = self.writer.sync();
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }
}

/// The value a record holds, decompressed if it is flagged so.
fn record_value(segment: &Segment, offset: u64, rec: RecordRef<'_>) -> Result<Vec<u8>> {
    if rec.header.is_compressed() {
        decompress(rec.value).ok_or_else(|| segment.corrupt(offset, "invalid zstd frame"))
    } else {
        Ok(rec.value.to_vec())
    }
}

/// Decompresses a zstd frame whose declared content size is at most 512 MiB.
fn decompress(frame: &[u8]) -> Option<Vec<u8>> {
    let size = zstd::zstd_safe::get_frame_content_size(frame).ok()??;
    if size > u64::from(MAX_FIELD_LEN) {
        return None;
    }
    let out = zstd::bulk::decompress(frame, size as usize).ok()?;
    (out.len() as u64 == size).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::segment::segment_path;

    fn io(e: std::io::Error) -> Error {
        Error::io("test", e)
    }

    #[test]
    fn commits_between_begin_and_finish_are_one_batch_on_disk() -> Result<()> {
        // Regression: each commit of a command was a batch of its own, so a crash in the
        // middle of `DEL a b` (one tombstone per key) could keep a's deletion and lose b's.
        let dir = tempfile::tempdir().map_err(io)?;
        let opts = Options {
            active_expiry: None,
            ..Options::default()
        };
        let (mut engine, _) = Engine::open(dir.path(), opts.clone())?;
        engine.commit(&[Op::Put {
            db: 0,
            key: b"a",
            value: b"old",
            expires_at: 0,
        }])?;
        let (segment, before) = engine.log_position();

        engine.begin();
        engine.commit(&[Op::Delete { db: 0, key: b"a" }])?;
        engine.commit(&[Op::Put {
            db: 0,
            key: b"b",
            value: b"new",
            expires_at: 0,
        }])?;
        assert_eq!(
            engine.log_position(),
            (segment, before),
            "nothing written yet"
        );
        let entry = *engine.keydir(0).get(b"b").ok_or(Error::NoSuchKey)?;
        assert_eq!(
            engine.read_value(&entry)?,
            b"new",
            "pending records are readable"
        );
        engine.finish()?;
        assert_eq!(engine.read_value(&entry)?, b"new");

        let path = segment_path(dir.path(), segment);
        let bytes = std::fs::read(&path).map_err(io)?;
        let mut pos = before as usize;
        let mut continues = Vec::new();
        while pos < bytes.len() {
            let rec = record::decode(&bytes[pos..]).map_err(|_| Error::NoSuchKey)?;
            continues.push(rec.header.batch_continues());
            pos += rec.header.record_len() as usize;
        }
        assert_eq!(continues, [true, false]);

        // A crash that tears the batch keeps none of it.
        drop(engine);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io)?;
        file.set_len(bytes.len() as u64 - 1).map_err(io)?;
        let (engine, report) = Engine::open(dir.path(), opts)?;
        assert_eq!(report.truncated.map(|t| t.1), Some(before));
        assert!(engine.keydir(0).get(b"a").is_some());
        assert!(engine.keydir(0).get(b"b").is_none());
        Ok(())
    }

    #[test]
    fn read_many_matches_one_read_per_record() -> Result<()> {
        let dir = tempfile::tempdir().map_err(io)?;
        let opts = Options {
            active_expiry: None,
            segment_size: 1024,
            compression_threshold: 64,
            ..Options::default()
        };
        let (mut engine, _) = Engine::open(dir.path(), opts)?;
        let mut locs = Vec::new();
        let value = |i: usize| format!("{i}-").repeat(i % 40 + 1).into_bytes();
        for i in 0..200 {
            if i == 150 {
                // The rest stay in the bracket's buffer, not yet written.
                engine.begin();
            }
            let key = format!("k{i}").into_bytes();
            engine.commit(&[Op::Put {
                db: 0,
                key: &key,
                value: &value(i),
                expires_at: 0,
            }])?;
            locs.push(engine.keydir(0).get(&key).ok_or(Error::NoSuchKey)?.loc);
        }
        assert!(
            engine.segment_count() > 3,
            "{} segments",
            engine.segment_count()
        );
        let one_by_one: Vec<Vec<u8>> = locs
            .iter()
            .map(|&loc| engine.read_at(loc))
            .collect::<Result<_>>()?;
        assert_eq!(one_by_one, (0..200).map(value).collect::<Vec<_>>());
        assert_eq!(engine.read_many(&locs)?, one_by_one);
        // Out of order and repeated locations too.
        let mixed: Vec<Location> = locs.iter().rev().chain(&locs[10..20]).copied().collect();
        let expected: Vec<Vec<u8>> = mixed
            .iter()
            .map(|&l| engine.read_at(l))
            .collect::<Result<_>>()?;
        assert_eq!(engine.read_many(&mixed)?, expected);
        engine.finish()
    }
}
