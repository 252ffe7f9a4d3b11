//! Temporary stand-in for the order-statistic index (a sorted Vec) while it is written.
#![allow(missing_docs)]

use std::cmp::Ordering;

#[derive(Debug, Default)]
pub struct SortedIndex {
    items: Vec<(f64, Box<[u8]>)>,
}

fn cmp(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    a.0.partial_cmp(&b.0)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a.1.cmp(b.1))
}

pub type Range<'a> = std::iter::Map<
    std::slice::Iter<'a, (f64, Box<[u8]>)>,
    fn(&'a (f64, Box<[u8]>)) -> (f64, &'a [u8]),
>;

impl SortedIndex {
    pub fn new() -> SortedIndex {
        SortedIndex::default()
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    fn search(&self, score: f64, member: &[u8]) -> Result<usize, usize> {
        self.items
            .binary_search_by(|(s, m)| cmp((*s, m), (score, member)))
    }
    pub fn insert(&mut self, score: f64, member: &[u8]) {
        let at = self.search(score, member).unwrap_or_else(|e| e);
        self.items.insert(at, (score, member.into()));
    }
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        match self.search(score, member) {
            Ok(i) => {
                self.items.remove(i);
                true
            }
            Err(_) => false,
        }
    }
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        self.search(score, member).ok()
    }
    pub fn get(&self, rank: usize) -> Option<(f64, &[u8])> {
        self.items.get(rank).map(|(s, m)| (*s, &m[..]))
    }
    pub fn partition_point(&self, mut pred: impl FnMut(f64, &[u8]) -> bool) -> usize {
        self.items.partition_point(|(s, m)| pred(*s, m))
    }
    pub fn range(&self, start: usize, end: usize) -> Range<'_> {
        let end = end.min(self.items.len());
        let start = start.min(end);
        fn pair(item: &(f64, Box<[u8]>)) -> (f64, &[u8]) {
            (item.0, &item.1)
        }
        self.items[start..end]
            .iter()
            .map(pair as fn(&(f64, Box<[u8]>)) -> (f64, &[u8]))
    }
    pub fn drain_range(&mut self, start: usize, end: usize) -> Vec<(f64, Box<[u8]>)> {
        let end = end.min(self.items.len());
        let start = start.min(end);
        self.items.drain(start..end).collect()
    }
    pub fn heap_bytes(&self) -> usize {
        self.items.capacity() * 24 + self.items.iter().map(|(_, m)| m.len()).sum::<usize>()
    }
}
