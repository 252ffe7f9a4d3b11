//! Live and dead bytes per segment.
//!
//! A record is *live* while the index points at it: a key's entry (a string's `Put`, a
//! collection's `Meta`) or a collection element. Everything else in a segment is dead: values
//! overwritten or deleted since, element records of a collection's older version, and the
//! records that only change the index (tombstones, `Expire`, `Flush`), which are dead from the
//! moment they are written (compaction keeps the few of them still needed; see
//! [`super::compact`]).
//!
//! The engine keeps live bytes per segment up to date as the index gains and drops locations:
//! every write adds the record it makes live and subtracts the ones it supersedes, an expiry or
//! a `FLUSHDB` subtracts everything it removes. A segment's dead bytes are its length (less its
//! header) minus its live bytes, so dead bytes need no bookkeeping of their own.

use std::collections::BTreeMap;

use crate::keydir::{KeyDir, Location, Removed};
use crate::log::SegmentId;

/// Live bytes per segment.
#[derive(Debug, Default, Clone)]
pub struct SpaceMap {
    live: BTreeMap<SegmentId, u64>,
    /// Bytes of dead records a compaction kept in its output because they were still needed
    /// (tombstones, expiries): not worth compacting the segment again for. Known for outputs
    /// made since open only.
    pinned: BTreeMap<SegmentId, u64>,
}

impl SpaceMap {
    /// Counts the record at `loc` as live.
    pub fn add(&mut self, loc: Location) {
        *self.live.entry(loc.segment).or_default() += u64::from(loc.len);
    }

    /// Counts the record at `loc` as dead (it was live until now).
    pub fn sub(&mut self, loc: Location) {
        if let Some(live) = self.live.get_mut(&loc.segment) {
            *live = live.saturating_sub(u64::from(loc.len));
        }
    }

    /// Counts as dead everything a removed key's records held.
    pub fn drop_removed(&mut self, removed: Option<&Removed>) {
        if let Some(removed) = removed {
            removed.for_each_location(|loc| self.sub(loc));
        }
    }

    /// Counts as dead every record of every key in `keydir` (it is about to be cleared).
    pub fn drop_keydir(&mut self, keydir: &KeyDir) {
        keydir.for_each(|_, entry| self.sub(entry.loc));
        keydir.for_each_collection(|_, c| c.for_each_location(|loc| self.sub(loc)));
    }

    /// Live bytes in segment `id`.
    pub fn live(&self, id: SegmentId) -> u64 {
        self.live.get(&id).copied().unwrap_or(0)
    }

    /// Live bytes in every segment.
    pub fn total_live(&self) -> u64 {
        self.live.values().sum()
    }

    /// Forgets segment `id` (deleted).
    pub fn forget(&mut self, id: SegmentId) {
        self.live.remove(&id);
        self.pinned.remove(&id);
    }

    /// Bytes of needed dead records in segment `id`.
    pub fn pinned(&self, id: SegmentId) -> u64 {
        self.pinned.get(&id).copied().unwrap_or(0)
    }

    /// Records that compaction output `id` kept `bytes` of needed dead records.
    pub fn set_pinned(&mut self, id: SegmentId, bytes: u64) {
        self.pinned.insert(id, bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::{Collection, encode_score};
    use crate::keydir::{Entry, ValueType};

    fn loc(segment: SegmentId, offset: u32, len: u32) -> Location {
        Location {
            segment,
            offset,
            len,
        }
    }

    #[test]
    fn overwrites_removals_and_collections_move_bytes_from_live_to_dead() {
        let mut space = SpaceMap::default();
        let mut keydir = KeyDir::new();
        let put = |keydir: &mut KeyDir, space: &mut SpaceMap, l: Location| {
            let old = keydir.insert(
                b"k",
                Entry {
                    loc: l,
                    expires_at: 0,
                    vtype: ValueType::String,
                },
            );
            space.drop_removed(old.as_ref());
            space.add(l);
        };
        put(&mut keydir, &mut space, loc(1, 16, 100));
        put(&mut keydir, &mut space, loc(2, 16, 50));
        assert_eq!((space.live(1), space.live(2)), (0, 50));

        // A sorted set of two members over the string: all three records live, the string's
        // dead.
        let meta = loc(2, 66, 40);
        let mut zset = Collection::new(ValueType::ZSet, 7).expect("a collection type");
        for (i, member) in [&b"a"[..], b"b"].into_iter().enumerate() {
            let l = loc(3, 16 + 60 * i as u32, 60);
            assert_eq!(zset.apply_element(member, &encode_score(1.0), l), Ok(None));
            space.add(l);
        }
        let old = keydir.insert_collection(
            b"k",
            Entry {
                loc: meta,
                expires_at: 0,
                vtype: ValueType::ZSet,
            },
            zset,
        );
        space.drop_removed(old.as_ref());
        space.add(meta);
        assert_eq!((space.live(2), space.live(3)), (40, 120));

        // A new score for "a" supersedes its first record.
        let newer = loc(4, 16, 60);
        let c = keydir.collection_mut(b"k").expect("the zset");
        let superseded = c.apply_element(b"a", &encode_score(2.0), newer);
        assert_eq!(superseded, Ok(Some(loc(3, 16, 60))));
        space.add(newer);
        if let Ok(Some(l)) = superseded {
            space.sub(l);
        }
        assert_eq!((space.live(3), space.live(4)), (60, 60));

        // Deleting the key frees the meta record and every element.
        let removed = keydir.remove(b"k");
        space.drop_removed(removed.as_ref());
        assert_eq!(space.total_live(), 0);
    }
}
