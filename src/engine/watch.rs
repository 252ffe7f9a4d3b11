//! WATCH: which clients watch which keys, so that a change can void their transaction.
//!
//! A watching client registers a flag per key. Every change the engine applies (a Put, a
//! Delete, an Expire, and every key of a database for a Flush) sets the flags of the clients
//! watching it; EXEC then fails if its flag is set. Nothing is stored when nobody watches, and
//! the check on the write path is one `is_empty` test.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The watch registry of a store.
#[derive(Debug, Default)]
pub struct Watches {
    by_key: HashMap<(u8, Vec<u8>), Vec<Arc<AtomicBool>>>,
}

impl Watches {
    /// Whether nobody watches anything.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Registers `flag` as watching `key` in `db`.
    pub fn add(&mut self, db: u8, key: &[u8], flag: &Arc<AtomicBool>) {
        let flags = self.by_key.entry((db, key.to_vec())).or_default();
        if !flags.iter().any(|f| Arc::ptr_eq(f, flag)) {
            flags.push(Arc::clone(flag));
        }
    }

    /// Unregisters `flag` from `key` in `db`.
    pub fn remove(&mut self, db: u8, key: &[u8], flag: &Arc<AtomicBool>) {
        let id = (db, key.to_vec());
        if let Some(flags) = self.by_key.get_mut(&id) {
            flags.retain(|f| !Arc::ptr_eq(f, flag));
            if flags.is_empty() {
                self.by_key.remove(&id);
            }
        }
    }

    /// Marks every client watching `key` in `db`.
    pub fn touch(&self, db: u8, key: &[u8]) {
        if let Some(flags) = self.by_key.get(&(db, key.to_vec())) {
            flags.iter().for_each(|f| f.store(true, Ordering::SeqCst));
        }
    }

    /// Marks every client watching a key of `db` for which `exists` holds: a flush changes
    /// only the keys it deletes (a watched key that did not exist stays unchanged, as in Redis).
    pub fn touch_db(&self, db: u8, exists: impl Fn(&[u8]) -> bool) {
        for ((watched_db, key), flags) in &self.by_key {
            if *watched_db == db && exists(key) {
                flags.iter().for_each(|f| f.store(true, Ordering::SeqCst));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_a_watched_key_marks_only_its_watchers() {
        let mut watches = Watches::default();
        let (a, b) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        watches.add(0, b"k", &a);
        watches.add(1, b"k", &b);
        watches.touch(0, b"other");
        watches.touch(0, b"k");
        assert!(a.load(Ordering::SeqCst));
        assert!(!b.load(Ordering::SeqCst));
        watches.touch_db(1, |_| false);
        assert!(
            !b.load(Ordering::SeqCst),
            "a flush does not touch a key it did not delete"
        );
        watches.touch_db(1, |key| key == b"k");
        assert!(b.load(Ordering::SeqCst));
        watches.remove(0, b"k", &a);
        watches.remove(1, b"k", &b);
        assert!(watches.is_empty());
    }
}
