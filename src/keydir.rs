//! The keydir: the in-RAM index from each live key of one database to where its value lives.
//!
//! # Layout, and why
//!
//! RAM per key is Bitcask's known weak point (basho measured ~91 B + key per key). A
//! `HashMap<Vec<u8>, Entry>` would cost a 24-byte `Vec`, a heap block for the key, a 24-byte
//! entry, and up to 2x slack in the bucket array: well over 100 bytes. Instead:
//!
//! * Keys and entries live in a *slab*: fixed chunks of [`CHUNK`] slots, so growth never copies
//!   and never leaves more than one partly filled chunk. A slot is 56 bytes: the key (up to
//!   [`INLINE_KEY`] bytes stored inline, longer ones in one heap block), the entry, and the
//!   slot's position in the TTL list.
//! * The hash table (hashbrown's `HashTable`) stores only the `u32` slot index: 4 bytes plus 1
//!   control byte per bucket. Its load factor swings between 44% and 87.5%, which costs 6 to 11
//!   bytes per key instead of 26 to 52 for (key, entry) buckets.
//! * Keys that carry a TTL are also listed in `ttl`, a dense vector of slot indexes, so active
//!   expiry can sample them uniformly as Redis samples its `expires` dict.
//!
//! Slot indexes are stable for a key's lifetime; SCAN's cursor is a slot index, which gives
//! Redis's guarantee (a key present for the whole scan is returned) without rehash concerns.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry as TableEntry;

use crate::collection::Collection;
use crate::log::{SegmentId, Timestamp};

/// Slots per slab chunk.
pub const CHUNK: usize = 4096;
/// Keys up to this length are stored inside the slot.
pub const INLINE_KEY: usize = 22;
/// `ttl_pos` of a key without expiry.
const NO_TTL: u32 = u32::MAX;

/// The Redis type of a key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ValueType {
    /// A string.
    String = 0,
    /// A hash.
    Hash = 1,
    /// A set.
    Set = 2,
    /// A sorted set.
    ZSet = 3,
    /// A list.
    List = 4,
}

impl ValueType {
    /// The name TYPE reports.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Hash => "hash",
            ValueType::Set => "set",
            ValueType::ZSet => "zset",
            ValueType::List => "list",
        }
    }

    /// Whether values of this type are collections of elements ([`Collection`]).
    pub fn is_collection(self) -> bool {
        self != ValueType::String
    }

    /// The type byte of a `Meta` record (see docs/FORMAT.md).
    pub fn to_byte(self) -> u8 {
        self as u8
    }

    /// Parses a `Meta` record's type byte; strings have no `Meta` record.
    pub fn collection_from_byte(byte: u8) -> Option<ValueType> {
        match byte {
            1 => Some(ValueType::Hash),
            2 => Some(ValueType::Set),
            3 => Some(ValueType::ZSet),
            4 => Some(ValueType::List),
            _ => None,
        }
    }
}

/// Where a value's record lives (for a collection: its `Meta` record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// The segment holding the record.
    pub segment: SegmentId,
    /// Byte offset of the record in the segment.
    pub offset: u32,
    /// Length of the whole record.
    pub len: u32,
}

/// What the keydir knows about one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Where the value's record lives.
    pub loc: Location,
    /// Absolute expiry in Unix ms, 0 = none.
    pub expires_at: Timestamp,
    /// The value's type.
    pub vtype: ValueType,
}

/// What a key held before an insert replaced it or a removal took it.
#[derive(Debug)]
pub struct Removed {
    /// Its entry.
    pub entry: Entry,
    /// Its elements, if it was a collection.
    pub collection: Option<Collection>,
}

impl Removed {
    /// Calls `f` with the location of every record that made the key what it was: its own
    /// record and, for a collection, every element's.
    pub fn for_each_location(&self, mut f: impl FnMut(Location)) {
        f(self.entry.loc);
        if let Some(c) = &self.collection {
            c.for_each_location(f);
        }
    }
}

/// A key, inline when short.
#[derive(Clone)]
enum Key {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Heap(Box<[u8]>),
}

impl Key {
    fn new(key: &[u8]) -> Key {
        if key.len() <= INLINE_KEY {
            let mut bytes = [0u8; INLINE_KEY];
            bytes[..key.len()].copy_from_slice(key);
            Key::Inline {
                len: key.len() as u8,
                bytes,
            }
        } else {
            Key::Heap(key.into())
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Key::Heap(bytes) => bytes,
        }
    }
}

struct Slot {
    key: Key,
    entry: Entry,
    /// Index of this slot in `KeyDir::ttl`, or `NO_TTL`.
    ttl_pos: u32,
}

/// The keydir of one database.
pub struct KeyDir {
    table: HashTable<u32>,
    chunks: Vec<Vec<Option<Slot>>>,
    free: Vec<u32>,
    ttl: Vec<u32>,
    /// The element index of each collection key, by slot index.
    collections: hashbrown::HashMap<u32, Collection>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl Default for KeyDir {
    fn default() -> Self {
        KeyDir::new()
    }
}

impl std::fmt::Debug for KeyDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyDir")
            .field("len", &self.len())
            .field("with_ttl", &self.ttl.len())
            .finish()
    }
}

impl KeyDir {
    /// An empty keydir.
    pub fn new() -> KeyDir {
        KeyDir {
            table: HashTable::new(),
            chunks: Vec::new(),
            free: Vec::new(),
            ttl: Vec::new(),
            collections: hashbrown::HashMap::new(),
            hasher: hashbrown::DefaultHashBuilder::default(),
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Number of keys with an expiry.
    pub fn ttl_len(&self) -> usize {
        self.ttl.len()
    }

    fn slot(&self, idx: u32) -> Option<&Slot> {
        let idx = idx as usize;
        self.chunks.get(idx / CHUNK)?.get(idx % CHUNK)?.as_ref()
    }

    fn slot_mut(&mut self, idx: u32) -> Option<&mut Slot> {
        let idx = idx as usize;
        self.chunks
            .get_mut(idx / CHUNK)?
            .get_mut(idx % CHUNK)?
            .as_mut()
    }

    fn find(&self, key: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        self.table
            .find(hash, |&idx| {
                self.slot(idx).is_some_and(|s| s.key.as_bytes() == key)
            })
            .copied()
    }

    /// The entry of `key`.
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.find(key)
            .and_then(|idx| self.slot(idx))
            .map(|s| &s.entry)
    }

    /// Inserts or replaces the entry of `key`; returns what the key held before.
    pub fn insert(&mut self, key: &[u8], entry: Entry) -> Option<Removed> {
        self.insert_slot(key, entry).1
    }

    /// Inserts or replaces `key` as the collection `collection`, with `entry` (type, expiry,
    /// `Meta` record); returns what the key held before.
    pub fn insert_collection(
        &mut self,
        key: &[u8],
        entry: Entry,
        collection: Collection,
    ) -> Option<Removed> {
        let (idx, old) = self.insert_slot(key, entry);
        self.collections.insert(idx, collection);
        old
    }

    /// The collection `key` holds, if it is one.
    pub fn collection(&self, key: &[u8]) -> Option<&Collection> {
        self.collections.get(&self.find(key)?)
    }

    /// The collection `key` holds, for changes.
    pub fn collection_mut(&mut self, key: &[u8]) -> Option<&mut Collection> {
        let idx = self.find(key)?;
        self.collections.get_mut(&idx)
    }

    /// Number of collection keys.
    pub fn collection_count(&self) -> usize {
        self.collections.len()
    }

    /// Calls `f` for each collection key and its collection.
    pub fn for_each_collection(&self, mut f: impl FnMut(&[u8], &Collection)) {
        for (&idx, collection) in &self.collections {
            if let Some(slot) = self.slot(idx) {
                f(slot.key.as_bytes(), collection);
            }
        }
    }

    /// Inserts or replaces; returns the slot index and what the key held before.
    fn insert_slot(&mut self, key: &[u8], entry: Entry) -> (u32, Option<Removed>) {
        let hash = self.hasher.hash_one(key);
        let Self {
            table,
            chunks,
            hasher,
            ..
        } = self;
        fn lookup(chunks: &[Vec<Option<Slot>>], idx: u32) -> Option<&[u8]> {
            let i = idx as usize;
            chunks[i / CHUNK][i % CHUNK]
                .as_ref()
                .map(|s| s.key.as_bytes())
        }
        let found = table.entry(
            hash,
            |&idx| lookup(chunks, idx) == Some(key),
            |&idx| hasher.hash_one(lookup(chunks, idx).unwrap_or_default()),
        );
        match found {
            TableEntry::Occupied(occupied) => {
                let idx = *occupied.get();
                let old = self.slot(idx).map(|s| Removed {
                    entry: s.entry,
                    collection: None,
                });
                let old = old.map(|mut old| {
                    if old.entry.vtype.is_collection() {
                        old.collection = self.collections.remove(&idx);
                    }
                    old
                });
                self.set_entry(idx, entry);
                (idx, old)
            }
            TableEntry::Vacant(vacant) => {
                let idx = match self.free.pop() {
                    Some(idx) => idx,
                    None => {
                        if chunks.last().is_none_or(|c| c.len() == CHUNK) {
                            chunks.push(Vec::with_capacity(CHUNK));
                        }
                        let last = chunks.len() - 1;
                        chunks[last].push(None);
                        (last * CHUNK + chunks[last].len() - 1) as u32
                    }
                };
                vacant.insert(idx);
                let i = idx as usize;
                self.chunks[i / CHUNK][i % CHUNK] = Some(Slot {
                    key: Key::new(key),
                    entry: Entry {
                        expires_at: 0,
                        ..entry
                    },
                    ttl_pos: NO_TTL,
                });
                self.set_expiry_at(idx, entry.expires_at);
                (idx, None)
            }
        }
    }

    fn set_entry(&mut self, idx: u32, entry: Entry) {
        if let Some(slot) = self.slot_mut(idx) {
            slot.entry.loc = entry.loc;
            slot.entry.vtype = entry.vtype;
        }
        self.set_expiry_at(idx, entry.expires_at);
    }

    fn set_expiry_at(&mut self, idx: u32, expires_at: Timestamp) {
        let ttl_len = self.ttl.len() as u32;
        let Some(slot) = self.slot_mut(idx) else {
            return;
        };
        slot.entry.expires_at = expires_at;
        let pos = slot.ttl_pos;
        if expires_at != 0 && pos == NO_TTL {
            slot.ttl_pos = ttl_len;
            self.ttl.push(idx);
        } else if expires_at == 0 && pos != NO_TTL {
            slot.ttl_pos = NO_TTL;
            self.ttl_remove(pos);
        }
    }

    fn ttl_remove(&mut self, pos: u32) {
        self.ttl.swap_remove(pos as usize);
        if let Some(&moved) = self.ttl.get(pos as usize)
            && let Some(slot) = self.slot_mut(moved)
        {
            slot.ttl_pos = pos;
        }
    }

    /// Sets the expiry of `key` (0 removes it). Returns false if the key is absent.
    pub fn set_expiry(&mut self, key: &[u8], expires_at: Timestamp) -> bool {
        match self.find(key) {
            Some(idx) => {
                self.set_expiry_at(idx, expires_at);
                true
            }
            None => false,
        }
    }

    /// Points `key`'s entry at `new` if it points at `old`; returns whether it did.
    pub fn repoint(&mut self, key: &[u8], old: Location, new: Location) -> bool {
        let Some(idx) = self.find(key) else {
            return false;
        };
        match self.slot_mut(idx) {
            Some(slot) if slot.entry.loc == old => {
                slot.entry.loc = new;
                true
            }
            _ => false,
        }
    }

    /// Removes `key`; returns what it held.
    pub fn remove(&mut self, key: &[u8]) -> Option<Removed> {
        let hash = self.hasher.hash_one(key);
        let Self { table, chunks, .. } = self;
        let found = table.find_entry(hash, |&idx| {
            let i = idx as usize;
            chunks[i / CHUNK][i % CHUNK]
                .as_ref()
                .is_some_and(|s| s.key.as_bytes() == key)
        });
        let idx = found.ok()?.remove().0;
        let i = idx as usize;
        let slot = self.chunks[i / CHUNK][i % CHUNK].take()?;
        if slot.ttl_pos != NO_TTL {
            self.ttl_remove(slot.ttl_pos);
        }
        let collection = if slot.entry.vtype.is_collection() {
            self.collections.remove(&idx)
        } else {
            None
        };
        self.free.push(idx);
        Some(Removed {
            entry: slot.entry,
            collection,
        })
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        *self = KeyDir {
            hasher: std::mem::take(&mut self.hasher),
            ..KeyDir::new()
        };
    }

    /// Calls `f` for each key and entry, in slot order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8], &Entry)) {
        for slot in self.chunks.iter().flatten().flatten() {
            f(slot.key.as_bytes(), &slot.entry);
        }
    }

    /// Visits slots from `cursor` until `count` slots have been examined or the end is reached,
    /// calling `f` for each live key. Returns the next cursor, 0 when the scan is complete.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], &Entry)) -> u64 {
        let total = self.slot_count() as u64;
        let mut idx = cursor;
        let mut examined = 0;
        while idx < total && examined < count.max(1) {
            if let Some(slot) = self.slot(idx as u32) {
                f(slot.key.as_bytes(), &slot.entry);
                examined += 1;
            }
            idx += 1;
        }
        if idx >= total { 0 } else { idx }
    }

    /// Number of slots in use or freed (the slab's high-water mark).
    fn slot_count(&self) -> usize {
        self.chunks.len().saturating_sub(1) * CHUNK + self.chunks.last().map_or(0, Vec::len)
    }

    /// A random key, or `None` if empty. Uniform while few slots are free (freed slots are
    /// reused first); when most are free, the first live slot after a random start is taken,
    /// which is biased as Redis's own bucket sampling is, but never loops unboundedly.
    pub fn random_key(&self) -> Option<&[u8]> {
        if self.is_empty() {
            return None;
        }
        let total = self.slot_count();
        for _ in 0..16 {
            if let Some(slot) = self.slot(fastrand::usize(..total) as u32) {
                return Some(slot.key.as_bytes());
            }
        }
        let start = fastrand::usize(..total);
        (start..total)
            .chain(0..start)
            .find_map(|idx| self.slot(idx as u32))
            .map(|s| s.key.as_bytes())
    }

    /// A key with an expiry chosen uniformly at random, with its expiry.
    pub fn random_ttl_key(&self) -> Option<(&[u8], Timestamp)> {
        let &idx = self.ttl.get(fastrand::usize(..self.ttl.len().max(1)))?;
        self.slot(idx)
            .map(|s| (s.key.as_bytes(), s.entry.expires_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn entry(n: u32, expires_at: Timestamp) -> Entry {
        Entry {
            loc: Location {
                segment: n,
                offset: n * 2,
                len: n * 3,
            },
            expires_at,
            vtype: ValueType::String,
        }
    }

    #[test]
    fn slot_stays_within_56_bytes() {
        assert!(
            std::mem::size_of::<Option<Slot>>() <= 56,
            "{}",
            std::mem::size_of::<Option<Slot>>()
        );
    }

    #[test]
    fn insert_get_replace_remove() {
        let mut kd = KeyDir::new();
        let long = vec![7u8; 100];
        assert_eq!(kd.insert(b"a", entry(1, 0)).map(|r| r.entry), None);
        assert_eq!(kd.insert(&long, entry(2, 0)).map(|r| r.entry), None);
        assert_eq!(kd.get(b"a"), Some(&entry(1, 0)));
        assert_eq!(kd.get(&long), Some(&entry(2, 0)));
        assert_eq!(
            kd.insert(b"a", entry(3, 5)).map(|r| r.entry),
            Some(entry(1, 0))
        );
        assert_eq!(kd.get(b"a"), Some(&entry(3, 5)));
        assert_eq!(kd.ttl_len(), 1);
        assert_eq!(kd.remove(b"a").map(|r| r.entry), Some(entry(3, 5)));
        assert_eq!(kd.ttl_len(), 0);
        assert_eq!(kd.get(b"a"), None);
        assert_eq!(kd.len(), 1);
        assert_eq!(kd.remove(b"a").map(|r| r.entry), None);
    }

    #[test]
    fn matches_a_hashmap_under_random_operations() {
        let mut kd = KeyDir::new();
        let mut model: HashMap<Vec<u8>, Entry> = HashMap::new();
        let mut rng = fastrand::Rng::with_seed(7);
        for step in 0..50_000u32 {
            let key = format!("key:{}", rng.u32(..3000)).into_bytes();
            match rng.u8(..4) {
                0 | 1 => {
                    let e = entry(step, if rng.bool() { u64::from(step) + 1 } else { 0 });
                    assert_eq!(
                        kd.insert(&key, e).map(|r| r.entry),
                        model.insert(key.clone(), e)
                    );
                }
                2 => assert_eq!(kd.remove(&key).map(|r| r.entry), model.remove(&key)),
                _ => {
                    let at = u64::from(rng.u32(..3));
                    let present = kd.set_expiry(&key, at);
                    assert_eq!(present, model.contains_key(&key));
                    if let Some(e) = model.get_mut(&key) {
                        e.expires_at = at;
                    }
                }
            }
        }
        assert_eq!(kd.len(), model.len());
        assert_eq!(
            kd.ttl_len(),
            model.values().filter(|e| e.expires_at != 0).count()
        );
        for (k, e) in &model {
            assert_eq!(kd.get(k), Some(e));
        }
        for _ in 0..100 {
            let (k, at) = kd.random_ttl_key().expect("some keys have ttl");
            assert_eq!(model[k].expires_at, at);
            assert!(model.contains_key(kd.random_key().expect("non-empty")));
        }
    }

    #[test]
    fn a_full_scan_returns_every_key_once() {
        let mut kd = KeyDir::new();
        for i in 0..10_000 {
            kd.insert(format!("k{i}").as_bytes(), entry(i, 0));
        }
        for i in (0..10_000).step_by(3) {
            kd.remove(format!("k{i}").as_bytes());
        }
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = kd.scan(cursor, 100, |k, _| seen.push(k.to_vec()));
            if cursor == 0 {
                break;
            }
        }
        let total = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), total);
        assert_eq!(total, kd.len());
    }

    #[test]
    fn clear_empties_everything() {
        let mut kd = KeyDir::new();
        kd.insert(b"x", entry(1, 9));
        kd.clear();
        assert!(kd.is_empty());
        assert_eq!(kd.ttl_len(), 0);
        assert_eq!(kd.random_key(), None);
        assert_eq!(kd.random_ttl_key(), None);
    }
}
