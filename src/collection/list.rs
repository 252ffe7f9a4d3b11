//! `ListIndex`: the elements of a list, in order, by *position*.
//!
//! Identity scheme. Every list element has a position, a `u64` stored in its record's sub-key
//! after the version; the list is the elements sorted by position. Positions leave gaps:
//!
//! * the first element of a new list gets [`START`] (2^63);
//! * LPUSH takes the head's position minus [`GAP`] (2^32), RPUSH the tail's plus [`GAP`], so
//!   pushes and pops at either end are O(1) and write one record each;
//! * LINSERT takes the midpoint of its two neighbours: 32 inserts into the same gap fit before
//!   the gap is used up;
//! * LSET rewrites the element at its position; LREM, LTRIM and pops write one tombstone per
//!   removed element.
//!
//! When there is no room (a gap used up in the middle, or a head or tail that reached the end
//! of the `u64` range after ~2^31 pushes on one side), the data-type layer renumbers: it writes
//! the list again as a new version with fresh positions, O(n) once, which makes room for at
//! least 2^31 more pushes at each end and 32 more inserts in every gap.
//!
//! Replay rebuilds the order exactly: an element record's position says where it goes, whatever
//! order the records come in. In RAM each element costs its position and the location of its
//! record (24 bytes in a `VecDeque`); values stay on disk.

use std::collections::VecDeque;

use crate::keydir::Location;

/// Position of the first element of a new list.
pub const START: u64 = 1 << 63;
/// Distance between the positions of elements pushed one after the other.
pub const GAP: u64 = 1 << 32;

/// A list's elements in order: (position, location of the element's record).
#[derive(Debug, Default)]
pub struct ListIndex {
    items: VecDeque<(u64, Location)>,
}

impl ListIndex {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The element at `index` (0 = head): its position and record location.
    pub fn get(&self, index: usize) -> Option<(u64, Location)> {
        self.items.get(index).copied()
    }

    /// Elements `start..end` (clamped), head to tail.
    pub fn range(
        &self,
        start: usize,
        end: usize,
    ) -> impl DoubleEndedIterator<Item = (u64, Location)> {
        let end = end.min(self.items.len());
        let start = start.min(end);
        self.items.range(start..end).copied()
    }

    /// The position a new head would get, or `None` if there is no room (renumber).
    pub fn front_position(&self) -> Option<u64> {
        match self.items.front() {
            None => Some(START),
            Some(&(pos, _)) => pos.checked_sub(GAP),
        }
    }

    /// The position a new tail would get, or `None` if there is no room (renumber).
    pub fn back_position(&self) -> Option<u64> {
        match self.items.back() {
            None => Some(START),
            Some(&(pos, _)) => pos.checked_add(GAP),
        }
    }

    /// The position of a new element inserted before the element at `index` (`index == len`
    /// appends), or `None` if there is no room between its neighbours (renumber).
    pub fn position_before(&self, index: usize) -> Option<u64> {
        if index == 0 {
            return self.front_position();
        }
        if index >= self.items.len() {
            return self.back_position();
        }
        let (low, _) = *self.items.get(index - 1)?;
        let (high, _) = *self.items.get(index)?;
        let mid = low + (high - low) / 2;
        (mid != low).then_some(mid)
    }

    /// Fresh positions for `n` elements, as a renumbering writes them: evenly spaced by
    /// [`GAP`], centred on [`START`].
    pub fn fresh_positions(n: usize) -> impl Iterator<Item = u64> {
        let first = START - (n as u64 / 2).saturating_mul(GAP);
        (0..n as u64).map(move |i| first + i * GAP)
    }

    /// Places the element at `pos` (from an element record), replacing the one there if any;
    /// returns the location of the record it replaced.
    pub fn apply(&mut self, pos: u64, loc: Location) -> Option<Location> {
        // Pushes are at the ends: check them before searching.
        match (self.items.front(), self.items.back()) {
            (None, _) => self.items.push_back((pos, loc)),
            (Some(&(head, _)), _) if pos < head => self.items.push_front((pos, loc)),
            (_, Some(&(tail, _))) if pos > tail => self.items.push_back((pos, loc)),
            _ => match self.items.binary_search_by_key(&pos, |&(p, _)| p) {
                Ok(i) => {
                    return self
                        .items
                        .get_mut(i)
                        .map(|item| std::mem::replace(&mut item.1, loc));
                }
                Err(i) => self.items.insert(i, (pos, loc)),
            },
        }
        None
    }

    /// Removes the element at `pos`; returns the location of its record, if there was one.
    pub fn remove(&mut self, pos: u64) -> Option<Location> {
        let item = match (self.items.front(), self.items.back()) {
            (Some(&(head, _)), _) if head == pos => self.items.pop_front(),
            (_, Some(&(tail, _))) if tail == pos => self.items.pop_back(),
            _ => match self.items.binary_search_by_key(&pos, |&(p, _)| p) {
                Ok(i) => self.items.remove(i),
                Err(_) => None,
            },
        };
        item.map(|(_, loc)| loc)
    }

    /// Removes every element whose position is in `positions`, in one pass, calling `freed`
    /// with the location of each one removed.
    pub fn remove_all(
        &mut self,
        positions: &hashbrown::HashSet<u64>,
        mut freed: impl FnMut(Location),
    ) {
        self.items.retain(|&(pos, loc)| {
            let keep = !positions.contains(&pos);
            if !keep {
                freed(loc);
            }
            keep
        });
    }

    /// The location of the element at `pos`, if there is one.
    pub fn location_of(&self, pos: u64) -> Option<Location> {
        let i = self.items.binary_search_by_key(&pos, |&(p, _)| p).ok()?;
        self.items.get(i).map(|&(_, loc)| loc)
    }

    /// The location of the element at `pos`, for changes.
    pub fn location_mut(&mut self, pos: u64) -> Option<&mut Location> {
        let i = self.items.binary_search_by_key(&pos, |&(p, _)| p).ok()?;
        self.items.get_mut(i).map(|(_, loc)| loc)
    }

    /// The locations of every element's record.
    pub fn locations(&self) -> impl Iterator<Item = Location> + '_ {
        self.items.iter().map(|&(_, loc)| loc)
    }

    /// Approximate bytes of RAM used.
    pub fn heap_bytes(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<(u64, Location)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(n: u32) -> Location {
        Location {
            segment: n,
            offset: n,
            len: n,
        }
    }

    fn order(list: &ListIndex) -> Vec<u32> {
        list.range(0, usize::MAX).map(|(_, l)| l.segment).collect()
    }

    #[test]
    fn pushes_at_both_ends_and_inserts_keep_the_order_a_deque_would() {
        let mut list = ListIndex::default();
        let mut model: VecDeque<u32> = VecDeque::new();
        let mut rng = fastrand::Rng::with_seed(5);
        for n in 0..5000u32 {
            match rng.u8(..5) {
                0 => {
                    let pos = list.front_position().expect("room at the head");
                    list.apply(pos, loc(n));
                    model.push_front(n);
                }
                1 => {
                    let pos = list.back_position().expect("room at the tail");
                    list.apply(pos, loc(n));
                    model.push_back(n);
                }
                2 if !model.is_empty() => {
                    let i = rng.usize(..=model.len());
                    if let Some(pos) = list.position_before(i) {
                        list.apply(pos, loc(n));
                        model.insert(i, n);
                    }
                }
                _ if !model.is_empty() => {
                    let i = rng.usize(..model.len());
                    let (pos, _) = list.get(i).expect("in range");
                    assert_eq!(list.remove(pos), Some(loc(model[i])));
                    model.remove(i);
                }
                _ => {}
            }
        }
        assert_eq!(order(&list), Vec::from(model));
    }

    #[test]
    fn replay_in_any_order_rebuilds_the_same_list() {
        let positions: Vec<u64> = ListIndex::fresh_positions(100).collect();
        let mut shuffled: Vec<(u64, u32)> = positions.iter().copied().zip(0..).collect();
        fastrand::Rng::with_seed(1).shuffle(&mut shuffled);
        let mut list = ListIndex::default();
        for (pos, n) in shuffled {
            list.apply(pos, loc(n));
        }
        assert_eq!(order(&list), (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn removing_many_at_once_matches_removing_one_by_one() {
        let mut one = ListIndex::default();
        let mut all = ListIndex::default();
        for (i, pos) in ListIndex::fresh_positions(1000).enumerate() {
            one.apply(pos, loc(i as u32));
            all.apply(pos, loc(i as u32));
        }
        let doomed: Vec<u64> = (0..1000)
            .filter(|i| i % 3 == 0)
            .filter_map(|i| one.get(i).map(|(p, _)| p))
            .collect();
        let mut freed_one = Vec::new();
        for &pos in &doomed {
            freed_one.extend(one.remove(pos));
        }
        let mut freed_all = Vec::new();
        all.remove_all(&doomed.iter().copied().collect(), |l| freed_all.push(l));
        assert_eq!(order(&one), order(&all));
        assert_eq!(freed_one, freed_all);
        assert_eq!(freed_all.len(), 334);
        assert_eq!(all.len(), 666);
    }

    #[test]
    fn a_used_up_gap_asks_for_renumbering() {
        let mut list = ListIndex::default();
        list.apply(START, loc(0));
        list.apply(START + 1, loc(1));
        assert_eq!(list.position_before(1), None);
        assert_eq!(list.position_before(0), Some(START - GAP));
        let mut list = ListIndex::default();
        list.apply(u64::MAX, loc(0));
        assert_eq!(list.back_position(), None);
    }
}
