//! What the hash, set and sorted-set families share: finding a key's collection (with its type
//! checked and lazy expiry applied), creating one, and removing elements so that an emptied
//! collection disappears, as in Redis.
//!
//! Writing: a collection is created by an [`Op::Create`] (a `Meta` record, new version) in the
//! same batch as its first [`Op::SetElement`]s; a change to one element is one record; removing
//! the last elements writes one `Delete` of the key instead of their tombstones.

use crate::collection::{Collection, ElementTable, Elements, ListIndex, ZSet, encode_position};
use crate::db::Tx;
use crate::engine::Op;
use crate::error::{Error, Result};
use crate::keydir::{Entry, Location, ValueType};

#[allow(dead_code, reason = "used by the families as they land")]
impl Tx<'_> {
    /// The entry of `key` if it holds a `vtype`; `None` if absent (or just expired);
    /// `WrongType` if it holds another type.
    pub(crate) fn typed_entry(&mut self, key: &[u8], vtype: ValueType) -> Result<Option<Entry>> {
        match self.entry(key)? {
            Some(e) if e.vtype != vtype => Err(Error::WrongType),
            other => Ok(other),
        }
    }

    /// The collection of `key` in this operation's database, as it is now. Call
    /// [`Tx::typed_entry`] first: this neither expires nor checks the type.
    pub(crate) fn collection(&self, key: &[u8]) -> Option<&Collection> {
        self.engine().keydir(self.db()).collection(key)
    }

    /// The hash fields of `key` (after [`Tx::typed_entry`]).
    pub(crate) fn hash_fields(&self, key: &[u8]) -> Option<&ElementTable<Location>> {
        match &self.collection(key)?.elements {
            Elements::Hash(table) => Some(table),
            _ => None,
        }
    }

    /// The set members of `key` (after [`Tx::typed_entry`]).
    pub(crate) fn set_members(&self, key: &[u8]) -> Option<&ElementTable<Location>> {
        match &self.collection(key)?.elements {
            Elements::Set(table) => Some(table),
            _ => None,
        }
    }

    /// The sorted set of `key` (after [`Tx::typed_entry`]).
    pub(crate) fn zset(&self, key: &[u8]) -> Option<&ZSet> {
        match &self.collection(key)?.elements {
            Elements::ZSet(zset) => Some(zset),
            _ => None,
        }
    }

    /// The list of `key` (after [`Tx::typed_entry`]).
    pub(crate) fn list(&self, key: &[u8]) -> Option<&ListIndex> {
        match &self.collection(key)?.elements {
            Elements::List(list) => Some(list),
            _ => None,
        }
    }

    /// Reads a hash field's value from the log.
    pub(crate) fn read_at(&self, loc: Location) -> Result<Vec<u8>> {
        self.engine().read_at(loc)
    }

    /// Writes `elements` (name, value) into the collection `key` of type `vtype`, creating it
    /// (without expiry) when `exists` is false. `exists` comes from [`Tx::typed_entry`].
    pub(crate) fn put_elements(
        &mut self,
        key: &[u8],
        vtype: ValueType,
        exists: bool,
        elements: &[(&[u8], &[u8])],
    ) -> Result<()> {
        if elements.is_empty() {
            return Ok(());
        }
        let db = self.db();
        let mut ops = Vec::with_capacity(elements.len() + 1);
        if !exists {
            ops.push(Op::Create {
                db,
                key,
                vtype,
                expires_at: 0,
            });
        }
        ops.extend(elements.iter().map(|&(name, value)| Op::SetElement {
            db,
            key,
            name,
            value,
        }));
        self.commit(&ops)
    }

    /// Replaces whatever `dst` (in database `db`) holds with a new collection of `vtype` made of
    /// `elements`, expiring at `expires_at` (0 = never); an empty `elements` deletes `dst`
    /// (if it exists). Used by the *STORE commands, RENAME, COPY and MOVE.
    pub(crate) fn replace_collection(
        &mut self,
        db: u8,
        dst: &[u8],
        vtype: ValueType,
        expires_at: u64,
        elements: &[(&[u8], &[u8])],
    ) -> Result<()> {
        if elements.is_empty() {
            if self.entry_in(db, dst)?.is_some() {
                self.commit(&[Op::Delete { db, key: dst }])?;
            }
            return Ok(());
        }
        let mut ops = Vec::with_capacity(elements.len() + 1);
        ops.push(Op::Create {
            db,
            key: dst,
            vtype,
            expires_at,
        });
        ops.extend(elements.iter().map(|&(name, value)| Op::SetElement {
            db,
            key: dst,
            name,
            value,
        }));
        self.commit(&ops)
    }

    /// Removes the elements `names` (each present, no repeats) from the collection `key`; if
    /// that removes them all, deletes the key with one tombstone instead.
    pub(crate) fn remove_elements(&mut self, key: &[u8], names: &[&[u8]]) -> Result<()> {
        if names.is_empty() {
            return Ok(());
        }
        let db = self.db();
        let len = self.collection(key).map_or(0, Collection::len);
        if names.len() >= len {
            return self.commit(&[Op::Delete { db, key }]);
        }
        let ops: Vec<Op<'_>> = names
            .iter()
            .map(|&name| Op::DeleteElement { db, key, name })
            .collect();
        self.commit(&ops)
    }

    /// The elements of the collection `key` as (name, value) pairs in the form element records
    /// store them: a hash field's value read from the log, nothing for a set member, the
    /// encoded score for a sorted-set member. For copying a collection.
    pub(crate) fn collection_elements(&self, key: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let Some(collection) = self.collection(key) else {
            return Ok(Vec::new());
        };
        Ok(match &collection.elements {
            Elements::Hash(table) => table
                .iter()
                .map(|(name, &loc)| Ok((name.to_vec(), self.read_at(loc)?)))
                .collect::<Result<_>>()?,
            Elements::Set(table) => table
                .iter()
                .map(|(name, _)| (name.to_vec(), Vec::new()))
                .collect(),
            Elements::List(list) => list
                .range(0, list.len())
                .map(|(pos, loc)| Ok((encode_position(pos).to_vec(), self.read_at(loc)?)))
                .collect::<Result<_>>()?,
            Elements::ZSet(zset) => zset
                .scores
                .iter()
                .map(|(name, &(score, _))| {
                    (
                        name.to_vec(),
                        crate::collection::encode_score(score).to_vec(),
                    )
                })
                .collect(),
        })
    }
}
