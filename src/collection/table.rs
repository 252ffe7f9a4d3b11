//! `ElementTable<T>`: the elements of one collection by name, with stable slot indexes.
//!
//! Laid out as the keydir is, and for the same reasons: names and their data live in a slab of
//! slots (names up to [`INLINE_NAME`] bytes inline, longer ones in one heap block), and a
//! hashbrown `HashTable<u32>` maps a name to its slot. A slot keeps its index for the element's
//! lifetime, so the cursor of HSCAN / SSCAN / ZSCAN is a slot index and an element present for
//! a whole scan is returned exactly once, whatever is added or removed meanwhile. Freed slots
//! are reused first, which also keeps random picks (HRANDFIELD, SPOP) close to uniform.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry as TableEntry;

/// Names up to this length are stored inside the slot.
pub const INLINE_NAME: usize = 22;

/// A byte string stored inline when short: 24 bytes either way.
#[derive(Clone)]
pub enum Name {
    /// Up to [`INLINE_NAME`] bytes.
    Inline {
        /// Bytes used.
        len: u8,
        /// The bytes, zero-padded.
        bytes: [u8; INLINE_NAME],
    },
    /// Longer names.
    Heap(Box<[u8]>),
}

impl Name {
    /// Stores `bytes`.
    pub fn new(bytes: &[u8]) -> Name {
        if bytes.len() <= INLINE_NAME {
            let mut inline = [0u8; INLINE_NAME];
            inline[..bytes.len()].copy_from_slice(bytes);
            Name::Inline {
                len: bytes.len() as u8,
                bytes: inline,
            }
        } else {
            Name::Heap(bytes.into())
        }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Name::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Name::Heap(bytes) => bytes,
        }
    }

    /// Heap bytes owned beyond the 24 bytes of the `Name` itself.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Name::Inline { .. } => 0,
            Name::Heap(bytes) => bytes.len(),
        }
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// Named elements with data `T`, in stable slots.
pub struct ElementTable<T> {
    table: HashTable<u32>,
    slots: Vec<Option<(Name, T)>>,
    free: Vec<u32>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl<T> Default for ElementTable<T> {
    fn default() -> Self {
        ElementTable {
            table: HashTable::new(),
            slots: Vec::new(),
            free: Vec::new(),
            hasher: hashbrown::DefaultHashBuilder::default(),
        }
    }
}

impl<T> std::fmt::Debug for ElementTable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElementTable")
            .field("len", &self.len())
            .finish()
    }
}

impl<T> ElementTable<T> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    fn find(&self, name: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(name);
        self.table
            .find(hash, |&idx| {
                matches!(self.slots.get(idx as usize), Some(Some((n, _))) if n.as_bytes() == name)
            })
            .copied()
    }

    /// The data of `name`.
    pub fn get(&self, name: &[u8]) -> Option<&T> {
        let idx = self.find(name)?;
        self.slots.get(idx as usize)?.as_ref().map(|(_, data)| data)
    }

    /// The data of `name`, for changes.
    pub fn get_mut(&mut self, name: &[u8]) -> Option<&mut T> {
        let idx = self.find(name)?;
        self.slots
            .get_mut(idx as usize)?
            .as_mut()
            .map(|(_, data)| data)
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &[u8]) -> bool {
        self.find(name).is_some()
    }

    /// Inserts or replaces `name`'s data; returns the previous data.
    pub fn insert(&mut self, name: &[u8], data: T) -> Option<T> {
        let hash = self.hasher.hash_one(name);
        let Self {
            table,
            slots,
            free,
            hasher,
        } = self;
        fn name_of<T>(slots: &[Option<(Name, T)>], idx: u32) -> Option<&[u8]> {
            slots.get(idx as usize)?.as_ref().map(|(n, _)| n.as_bytes())
        }
        let found = table.entry(
            hash,
            |&idx| name_of(slots, idx) == Some(name),
            |&idx| hasher.hash_one(name_of(slots, idx).unwrap_or_default()),
        );
        match found {
            TableEntry::Occupied(occupied) => {
                let slot = slots.get_mut(*occupied.get() as usize)?.as_mut()?;
                Some(std::mem::replace(&mut slot.1, data))
            }
            TableEntry::Vacant(vacant) => {
                let element = Some((Name::new(name), data));
                match free.pop() {
                    Some(idx) => {
                        vacant.insert(idx);
                        if let Some(slot) = slots.get_mut(idx as usize) {
                            *slot = element;
                        }
                    }
                    None => {
                        vacant.insert(slots.len() as u32);
                        slots.push(element);
                    }
                }
                None
            }
        }
    }

    /// Removes `name`; returns its data.
    pub fn remove(&mut self, name: &[u8]) -> Option<T> {
        let hash = self.hasher.hash_one(name);
        let Self { table, slots, .. } = self;
        let found = table.find_entry(
            hash,
            |&idx| matches!(slots.get(idx as usize), Some(Some((n, _))) if n.as_bytes() == name),
        );
        let idx = found.ok()?.remove().0;
        let (_, data) = self.slots.get_mut(idx as usize)?.take()?;
        self.free.push(idx);
        if self.table.is_empty() {
            // Emptied (the collection is about to disappear): give the slab back.
            self.slots = Vec::new();
            self.free = Vec::new();
        }
        Some(data)
    }

    /// Every element, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &T)> {
        self.slots
            .iter()
            .flatten()
            .map(|(name, data)| (name.as_bytes(), data))
    }

    /// Visits slots from `cursor` until `count` elements were seen or the end is reached.
    /// Returns the elements and the next cursor, 0 when the scan is complete.
    pub fn scan(&self, cursor: u64, count: usize) -> (Vec<(&[u8], &T)>, u64) {
        let mut out = Vec::new();
        let mut idx = usize::try_from(cursor).unwrap_or(usize::MAX);
        while idx < self.slots.len() && out.len() < count.max(1) {
            if let Some(Some((name, data))) = self.slots.get(idx) {
                out.push((name.as_bytes(), data));
            }
            idx += 1;
        }
        let next = if idx >= self.slots.len() {
            0
        } else {
            idx as u64
        };
        (out, next)
    }

    /// An element chosen at random (uniform while few slots are free, as the keydir's
    /// `random_key`), or `None` if empty.
    pub fn random(&self) -> Option<(&[u8], &T)> {
        if self.is_empty() {
            return None;
        }
        let total = self.slots.len();
        let live = |idx: usize| {
            self.slots
                .get(idx)?
                .as_ref()
                .map(|(n, d)| (n.as_bytes(), d))
        };
        for _ in 0..16 {
            if let Some(found) = live(fastrand::usize(..total)) {
                return Some(found);
            }
        }
        let start = fastrand::usize(..total);
        (start..total).chain(0..start).find_map(live)
    }

    /// Approximate bytes of RAM used.
    pub fn heap_bytes(&self) -> usize {
        let names: usize = self
            .slots
            .iter()
            .flatten()
            .map(|(n, _)| n.heap_bytes())
            .sum();
        self.slots.capacity() * std::mem::size_of::<Option<(Name, T)>>()
            + self.table.capacity() * (std::mem::size_of::<u32>() + 1)
            + self.free.capacity() * 4
            + names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn a_name_is_24_bytes_and_a_location_slot_at_most_40() {
        assert_eq!(std::mem::size_of::<Name>(), 24);
        assert!(std::mem::size_of::<Option<(Name, crate::keydir::Location)>>() <= 40);
    }

    #[test]
    fn matches_a_hashmap_under_random_operations() {
        let mut table = ElementTable::default();
        let mut model: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut rng = fastrand::Rng::with_seed(3);
        for step in 0..50_000u32 {
            let len = if rng.bool() { 3 } else { 40 };
            let name: Vec<u8> = format!("{:0len$}", rng.u32(..2000)).into_bytes();
            if rng.u8(..3) == 0 {
                assert_eq!(table.remove(&name), model.remove(&name));
            } else {
                assert_eq!(table.insert(&name, step), model.insert(name.clone(), step));
            }
            assert_eq!(table.len(), model.len());
        }
        for (name, data) in &model {
            assert_eq!(table.get(name), Some(data));
        }
        assert_eq!(table.iter().count(), model.len());
        let (name, data) = table.random().expect("not empty");
        assert_eq!(model.get(name), Some(data));
    }

    #[test]
    fn a_scan_returns_every_element_present_throughout_exactly_once() {
        let mut table = ElementTable::default();
        for i in 0..1000 {
            table.insert(format!("m{i}").as_bytes(), ());
        }
        let mut seen = Vec::new();
        let mut cursor = 0;
        let mut extra = 0;
        loop {
            let (page, next) = table.scan(cursor, 10);
            seen.extend(page.into_iter().map(|(n, _)| n.to_vec()));
            // Churn during the scan: new elements and removals of the fresh ones.
            table.insert(format!("x{extra}").as_bytes(), ());
            if extra % 2 == 0 {
                table.remove(format!("x{extra}").as_bytes());
            }
            extra += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            let name = format!("m{i}").into_bytes();
            assert_eq!(seen.iter().filter(|n| **n == name).count(), 1, "m{i}");
        }
    }
}
