//! The in-RAM index of collection keys (hashes, sets, sorted sets, lists): what a keydir entry of a
//! collection points to.
//!
//! A collection key has one keydir entry (its type and expiry, with the location of its `Meta`
//! record) plus a [`Collection`]: its *version* and the index of its elements. On disk every
//! element is its own record (`Element`, or `ElementDelete` for a removal), whose sub-key is
//! the collection's version followed by the element's name. The version is the sequence
//! number of the `Meta` record that created the collection, so it is unique for the life of
//! the database: deleting, overwriting or expiring a collection of any size writes one record
//! (a tombstone, a string, a new `Meta`), and every element record of the old version is dead
//! from then on, at replay and for compaction, without a tombstone each.
//!
//! What stays in RAM per element, and what on disk:
//! * hash: the field name and the location of its record; the value stays on disk;
//! * set: the member and the location of its record;
//! * sorted set: the member and its score, twice: a member → (score, record location) table and
//!   an ordered index ([`sorted::SortedIndex`]) for ranks and ranges in O(log n);
//! * list: each element's position and the location of its record ([`list::ListIndex`]); the
//!   value stays on disk.
//!
//! Every element keeps the location of the record that made it what it is, so that a record
//! is live exactly when the index points at it: compaction keeps those, and the engine counts
//! live bytes per segment from the locations the index gains and drops.
//!
//! This layer knows element names, locations and scores, not Redis's commands.

pub mod list;
pub mod sorted;
pub mod table;

use crate::keydir::{Location, ValueType};
use crate::log::SeqNo;

pub use list::ListIndex;
pub use sorted::SortedIndex;
pub use table::{ElementTable, Name};

/// Length of the version prefix of an element record's sub-key.
pub const VERSION_LEN: usize = 8;

/// A collection key's elements and version.
#[derive(Debug)]
pub struct Collection {
    /// Sequence number of the `Meta` record that created this collection.
    pub version: SeqNo,
    /// The elements.
    pub elements: Elements,
}

/// The elements of a collection, by type.
#[derive(Debug)]
pub enum Elements {
    /// Hash fields and where each value's record lives.
    Hash(ElementTable<Location>),
    /// Set members and where each one's record lives.
    Set(ElementTable<Location>),
    /// Sorted-set members and scores.
    ZSet(ZSet),
    /// List elements in order, by position (see [`list`]).
    List(ListIndex),
}

impl Collection {
    /// An empty collection of type `vtype` (a collection type) and version `version`.
    pub fn new(vtype: ValueType, version: SeqNo) -> Option<Collection> {
        let elements = match vtype {
            ValueType::Hash => Elements::Hash(ElementTable::default()),
            ValueType::Set => Elements::Set(ElementTable::default()),
            ValueType::ZSet => Elements::ZSet(ZSet::default()),
            ValueType::List => Elements::List(ListIndex::default()),
            ValueType::String => return None,
        };
        Some(Collection { version, elements })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.elements {
            Elements::Hash(t) => t.len(),
            Elements::Set(t) => t.len(),
            Elements::ZSet(z) => z.len(),
            Elements::List(l) => l.len(),
        }
    }

    /// Whether there are no elements (a collection never stays empty: the data-type layer
    /// deletes the key with its last element).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies an element record: `value` is the stored value, `loc` the record's location.
    /// Returns the location of the record it supersedes, if any. `Err` is a reason the record
    /// is corrupt.
    pub fn apply_element(
        &mut self,
        name: &[u8],
        value: &[u8],
        loc: Location,
    ) -> Result<Option<Location>, &'static str> {
        Ok(match &mut self.elements {
            Elements::Hash(t) => t.insert(name, loc),
            Elements::Set(t) => t.insert(name, loc),
            Elements::ZSet(z) => {
                let score =
                    decode_score(value).ok_or("sorted-set element without a valid score")?;
                z.insert(name, score, loc)
            }
            Elements::List(l) => {
                let pos = decode_position(name).ok_or("list element without a position")?;
                l.apply(pos, loc)
            }
        })
    }

    /// Applies an element tombstone; returns the location of the element's record, if it was
    /// there.
    pub fn remove_element(&mut self, name: &[u8]) -> Option<Location> {
        match &mut self.elements {
            Elements::Hash(t) => t.remove(name),
            Elements::Set(t) => t.remove(name),
            Elements::ZSet(z) => z.remove(name).map(|(_, loc)| loc),
            Elements::List(l) => l.remove(decode_position(name)?),
        }
    }

    /// Applies several element tombstones at once: for a list, one pass over its elements
    /// instead of a shift per removal when they are many. Calls `freed` with the location of
    /// each element removed.
    pub fn remove_elements(&mut self, names: &[&[u8]], mut freed: impl FnMut(Location)) {
        if let Elements::List(l) = &mut self.elements
            && names.len() > 8
        {
            let positions: hashbrown::HashSet<u64> =
                names.iter().filter_map(|n| decode_position(n)).collect();
            l.remove_all(&positions, freed);
            return;
        }
        for name in names {
            if let Some(loc) = self.remove_element(name) {
                freed(loc);
            }
        }
    }

    /// Calls `f` with the location of every element's record.
    pub fn for_each_location(&self, mut f: impl FnMut(Location)) {
        match &self.elements {
            Elements::Hash(t) | Elements::Set(t) => t.iter().for_each(|(_, &loc)| f(loc)),
            Elements::ZSet(z) => z.scores.iter().for_each(|(_, &(_, loc))| f(loc)),
            Elements::List(l) => l.locations().for_each(f),
        }
    }

    /// Points element `name` at `new` if it points at `old`; returns whether it did.
    pub fn repoint_element(&mut self, name: &[u8], old: Location, new: Location) -> bool {
        let slot = match &mut self.elements {
            Elements::Hash(t) | Elements::Set(t) => t.get_mut(name),
            Elements::ZSet(z) => z.scores.get_mut(name).map(|(_, loc)| loc),
            Elements::List(l) => decode_position(name).and_then(|pos| l.location_mut(pos)),
        };
        match slot {
            Some(loc) if *loc == old => {
                *loc = new;
                true
            }
            _ => false,
        }
    }

    /// The location of element `name`'s record: whether a record of this collection's version
    /// is the live one for its element.
    pub fn element_location(&self, name: &[u8]) -> Option<Location> {
        match &self.elements {
            Elements::Hash(t) | Elements::Set(t) => t.get(name).copied(),
            Elements::ZSet(z) => z.scores.get(name).map(|&(_, loc)| loc),
            Elements::List(l) => l.location_of(decode_position(name)?),
        }
    }

    /// Approximate bytes of RAM used by the element index.
    pub fn heap_bytes(&self) -> usize {
        match &self.elements {
            Elements::Hash(t) => t.heap_bytes(),
            Elements::Set(t) => t.heap_bytes(),
            Elements::ZSet(z) => z.scores.heap_bytes() + z.order.heap_bytes(),
            Elements::List(l) => l.heap_bytes(),
        }
    }
}

/// The value of a sorted-set element record: the score, 8 bytes, IEEE-754 little-endian.
pub fn encode_score(score: f64) -> [u8; 8] {
    score.to_le_bytes()
}

/// Decodes [`encode_score`]; `None` if not 8 bytes or NaN.
pub fn decode_score(value: &[u8]) -> Option<f64> {
    let bytes: [u8; 8] = value.try_into().ok()?;
    let score = f64::from_le_bytes(bytes);
    (!score.is_nan()).then_some(score)
}

/// The name of a list element in its record: its position, u64 little-endian.
pub fn encode_position(pos: u64) -> [u8; 8] {
    pos.to_le_bytes()
}

/// Decodes [`encode_position`].
pub fn decode_position(name: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(name.try_into().ok()?))
}

/// The sub-key of an element record: `version` (u64 little-endian) then the name.
pub fn element_sub_key(version: SeqNo, name: &[u8]) -> Vec<u8> {
    let mut sub = Vec::with_capacity(VERSION_LEN + name.len());
    sub.extend_from_slice(&version.to_le_bytes());
    sub.extend_from_slice(name);
    sub
}

/// Splits an element record's sub-key into version and name.
pub fn split_sub_key(sub: &[u8]) -> Option<(SeqNo, &[u8])> {
    let (version, name) = sub.split_at_checked(VERSION_LEN)?;
    Some((u64::from_le_bytes(version.try_into().ok()?), name))
}

/// A sorted set: member → (score, record location), and the members in (score, member) order.
#[derive(Debug, Default)]
pub struct ZSet {
    /// Each member's score, and where its record lives.
    pub scores: ElementTable<(f64, Location)>,
    /// (score, member) in order.
    pub order: SortedIndex,
}

impl ZSet {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).map(|&(score, _)| score)
    }

    /// Members and scores, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> {
        self.scores.iter().map(|(m, &(s, _))| (m, s))
    }

    /// Sets `member`'s score, from the record at `loc`; returns the location of the record it
    /// supersedes. A score equal to the current one (`-0` and `0` included) leaves the order
    /// as it is, as in Redis.
    pub fn insert(&mut self, member: &[u8], score: f64, loc: Location) -> Option<Location> {
        match self.scores.insert(member, (score, loc)) {
            Some((old, old_loc)) => {
                if old == score {
                    // Keep the stored score's sign: Redis does not change -0 to 0.
                    self.scores.insert(member, (old, loc));
                } else {
                    self.order.remove(old, member);
                    self.order.insert(score, member);
                }
                Some(old_loc)
            }
            None => {
                self.order.insert(score, member);
                None
            }
        }
    }

    /// Removes `member`; returns its score and record location.
    pub fn remove(&mut self, member: &[u8]) -> Option<(f64, Location)> {
        let (old, loc) = self.scores.remove(member)?;
        self.order.remove(old, member);
        Some((old, loc))
    }

    /// 0-based ascending rank of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        self.order.rank(score, member)
    }
}
