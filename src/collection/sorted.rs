//! `SortedIndex`: the ordered half of a sorted set, with rank and select in O(log n).
//!
//! A sorted set is a member → score table (elsewhere) plus this index of `(score, member)`
//! pairs, ordered by score and then by member bytes (memcmp order, a proper prefix first), as
//! Redis orders its skiplist. Scores compare with `partial_cmp`, so `-0.0` and `0.0` are
//! equal and such ties break on the member, again as in Redis. Scores are never NaN.
//!
//! # Why not a `BTreeMap` or a skiplist
//!
//! ZRANK, ZRANGE by index, ZCOUNT and ZREMRANGEBYRANK need rank (position of an entry) and
//! select (entry at a position) in O(log n). `BTreeMap` has neither: its nodes do not count
//! their subtrees, so rank is a walk of O(n). Redis uses a skiplist whose links carry spans,
//! but that costs one allocation per entry for the node and its level array, and a lookup
//! chases a pointer per step, a likely cache miss each; in Rust it also needs `unsafe` or an
//! arena of indexes. Here entries sit in a few large, contiguous vectors instead.
//!
//! # Layout
//!
//! A two-level blocked sorted list, as in Python's `sortedcontainers`:
//!
//! * `blocks`: the entries in order, cut into sorted `Vec`s of 1 to B entries.
//! * `maxes`: the score of each block's last entry, in one dense `Vec<f64>`, so finding the
//!   block of a key is a binary search that reads a block's last member only when scores tie.
//! * `lengths`: a Fenwick tree (binary indexed tree) over the block lengths, so the number of
//!   entries before a block (rank) and the block holding a given rank (select) each take
//!   O(log(n / B)) steps.
//!
//! Invariants: no block is empty (an empty index has no blocks); every block is sorted and
//! holds at most B entries, and reserves at most B; with several blocks, every block but the
//! last holds at least B / 4 (the last may be one that appends opened and are filling);
//! `maxes[i]` is the score of the last entry of `blocks[i]`; `lengths` sums the block
//! lengths.
//!
//! # Budgets (n entries, B = `MAX_BLOCK` = 512, k entries returned)
//!
//! | operation          | cost                                                              |
//! |--------------------|-------------------------------------------------------------------|
//! | `rank`, `get`      | O(log n): a search of `maxes`, one of a block, one Fenwick walk   |
//! | `partition_point`  | O(log n) calls of the predicate                                   |
//! | `insert`, `remove` | O(log n + B): a shift inside one block, one Fenwick update        |
//! | `range`            | O(log n) to start, then O(1) per entry, from either end           |
//! | `drain_range`      | O(log n + B + k), plus O(n / B) when blocks go or merge           |
//! | `heap_bytes`       | O(n / B)                                                          |
//!
//! Restructuring: a full block that must take an entry is split in half first, except that
//! an entry past the end of a full last block opens a new last block, so ascending inserts
//! (timestamps as scores) leave every block full. A block that drops below B / 4 is merged
//! into a neighbour, and the result split in half if it went over B; an emptied block is
//! dropped. A split, merge or drop in the middle moves the tails of `blocks` and `maxes` and
//! rebuilds the Fenwick tree: O(n / B), about 2 700 steps at a million entries. Opening or
//! dropping the last block only grows or shrinks the Fenwick tree at its end, O(log n), so
//! pushing and popping a maximum over and over stays cheap. Restructurings are rare: a block
//! splits only after at least B / 2 inserts into it, and a merge either consumes a block
//! (made by an earlier split) or leaves two blocks of over B / 2, which take B / 4 removals to
//! merge again. Over a long run they add O(n / B²) per operation amortized: about 4 steps at
//! a million entries.
//!
//! # Why B = 512
//!
//! An entry is 24 bytes (the score and a boxed slice): a full block is 12 KiB and an insert or
//! removal moves a few KiB. A larger B moves more; a smaller B makes more blocks, so more
//! per-block overhead, more frequent O(n / B) rebuilds, and a `maxes` that falls out of L1
//! sooner. Measured (release build, a million entries, random scores, 13-byte members; ns per
//! operation, best of 5 runs on a noisy 2-core VM):
//!
//! | B     | insert | rank | remove | iterate, per entry |
//! |-------|--------|------|--------|--------------------|
//! | 128   | 496    | 670  | 1 134  | 4.1                |
//! | 256   | 404    | 677  | 1 155  | 3.8                |
//! | 512   | 461    | 614  | 1 105  | 3.1                |
//! | 1 024 | 514    | 575  | 1 551  | 2.2                |
//! | 2 048 | 758    | 634  | 1 590  | 1.5                |
//!
//! Rank hardly depends on B: it is the ~9 cache misses of a binary search inside one cold
//! block. 256 and 512 tie on inserts within the noise; past 512 the shifts make inserts and
//! removals slower. 512 has half the blocks of 256, so half the rebuild cost, and iterates
//! faster. Redis keeps sorted sets of up to 128 entries in one flat listpack, which here is
//! simply the one-block case.

use std::cmp::Ordering;
use std::fmt;
use std::iter::FusedIterator;
use std::mem::size_of;
use std::slice;

/// Most entries a block holds (B); see "Why B = 512" above.
const MAX_BLOCK: usize = 512;
/// Fewest entries a block other than the last holds when there are several; a shorter one
/// is merged into a neighbour. A quarter of B, so a block just split (B / 2) takes B / 4
/// removals before it merges.
const MIN_BLOCK: usize = MAX_BLOCK / 4;

/// One `(score, member)` pair.
type Entry = (f64, Box<[u8]>);

/// The order of entries: by score (`-0.0` equal to `0.0`), then by member bytes.
fn compare(score: f64, member: &[u8], other_score: f64, other_member: &[u8]) -> Ordering {
    score
        .partial_cmp(&other_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| member.cmp(other_member))
}

/// The ordered `(score, member)` pairs of one sorted set, with rank and select.
///
/// Contract: scores are never NaN, and a member is present at most once, with one score. The
/// index does not check either (the member → score table does); breaking them does not panic
/// or corrupt the structure, but ranks and removals of the affected entries become arbitrary
/// among equal keys.
pub struct SortedIndex {
    /// The entries in order, in blocks of 1 to `MAX_BLOCK`. Blocks rather than one `Vec`
    /// so an insert shifts at most B entries; rather than nodes so a search stays in a few
    /// cache lines per level.
    blocks: Vec<Vec<Entry>>,
    /// Score of the last entry of each block: the keys of the block search, kept apart from
    /// `blocks` so that search reads one dense array instead of one heap block per probe.
    maxes: Vec<f64>,
    /// Length of each block, for rank and select.
    lengths: Fenwick,
    /// Number of entries.
    len: usize,
    /// Sum of member lengths, kept so `heap_bytes` need not visit every entry.
    member_bytes: usize,
}

impl SortedIndex {
    /// An empty index; it allocates nothing until the first insert.
    pub fn new() -> SortedIndex {
        SortedIndex {
            blocks: Vec::new(),
            maxes: Vec::new(),
            lengths: Fenwick::default(),
            len: 0,
            member_bytes: 0,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Inserts (score, member); the caller guarantees the member is not present with any score.
    ///
    /// To change a member's score, remove it with the old score and insert it with the new.
    /// O(log n + B).
    pub fn insert(&mut self, score: f64, member: &[u8]) {
        let entry = (score, Box::from(member));
        self.len += 1;
        self.member_bytes += member.len();
        // A key above every entry goes at the end of the last block.
        let last = self.blocks.len().saturating_sub(1);
        let mut i = self.find_block(score, member).unwrap_or(last);
        let Some(block) = self.blocks.get(i) else {
            // The index was empty.
            self.push_block(entry);
            return;
        };
        let mut at =
            block.partition_point(|(s, m)| compare(*s, m, score, member) == Ordering::Less);
        let full = block.len() >= MAX_BLOCK;
        if full {
            if i == last && at == block.len() {
                // Past the end, as when scores are growing timestamps: a new block, and the
                // full one stays full (halves would leave every block half empty).
                self.push_block(entry);
                return;
            }
            let mid = self.split(i);
            if at > mid {
                i += 1;
                at -= mid;
            }
        }
        let Some(block) = self.blocks.get_mut(i) else {
            return;
        };
        if block.len() == block.capacity() {
            // Double as `Vec` would, but never past B: a block is split before it grows more.
            let room = MAX_BLOCK.saturating_sub(block.len()).max(1);
            block.reserve_exact(block.len().max(4).min(room));
        }
        block.insert(at, entry);
        if at + 1 == block.len() {
            self.refresh_max(i);
        }
        if full {
            self.lengths.rebuild(&self.blocks);
        } else {
            self.lengths.add(i, 1);
        }
    }

    /// Removes (score, member) if present; returns whether it was.
    ///
    /// `score` must be the member's score; `-0.0` finds an entry stored with `0.0` and the
    /// reverse. O(log n + B).
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let Some(i) = self.find_block(score, member) else {
            return false;
        };
        let Some(block) = self.blocks.get_mut(i) else {
            return false;
        };
        let Ok(at) = block.binary_search_by(|(s, m)| compare(*s, m, score, member)) else {
            return false;
        };
        let (_, removed) = block.remove(at);
        self.len -= 1;
        self.member_bytes -= removed.len();
        if self.rebalance(i) {
            self.lengths.rebuild(&self.blocks);
        } else {
            self.lengths.sub(i, 1);
        }
        true
    }

    /// 0-based ascending rank of (score, member), None if absent.
    ///
    /// As with [`remove`](Self::remove), `-0.0` and `0.0` find the same entry. O(log n).
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let i = self.find_block(score, member)?;
        let at = self
            .blocks
            .get(i)?
            .binary_search_by(|(s, m)| compare(*s, m, score, member))
            .ok()?;
        Some(self.lengths.prefix(i) + at)
    }

    /// The entry at 0-based ascending rank, with its score as stored (sign of zero kept).
    /// O(log n).
    pub fn get(&self, rank: usize) -> Option<(f64, &[u8])> {
        if rank >= self.len {
            return None;
        }
        let (block, at) = self.lengths.select(rank);
        self.blocks
            .get(block)?
            .get(at)
            .map(|(score, member)| (*score, &member[..]))
    }

    /// Number of leading entries for which `pred(score, member)` is true; `pred` must be
    /// monotonic over the order (true for a prefix, false after). Used for score and lex bounds.
    ///
    /// For instance `|s, _| s < min` counts the entries below `min`. A predicate that is not
    /// monotonic gets some index in `0..=len`, without a panic. O(log n) calls of `pred`.
    pub fn partition_point(&self, mut pred: impl FnMut(f64, &[u8]) -> bool) -> usize {
        // The first block whose last entry fails `pred` holds the boundary.
        let (mut lo, mut hi) = (0, self.blocks.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let last = self.blocks.get(mid).and_then(|b| b.last());
            if last.is_some_and(|(s, m)| pred(*s, m)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let Some(block) = self.blocks.get(lo) else {
            return self.len;
        };
        self.lengths.prefix(lo) + block.partition_point(|(s, m)| pred(*s, m))
    }

    /// Entries with rank in `start..end` (clamped to len), ascending; the iterator is also a
    /// [`DoubleEndedIterator`], so callers can walk the range descending with `.rev()`.
    ///
    /// Empty when `start >= end` after clamping. O(log n) to build, then O(1) per entry.
    pub fn range(&self, start: usize, end: usize) -> Range<'_> {
        let end = end.min(self.len);
        if start >= end {
            return Range::empty();
        }
        let (first, from) = self.lengths.select(start);
        let (last, to) = self.lengths.select(end - 1);
        if first == last {
            let Some(only) = self.blocks.get(first).and_then(|b| b.get(from..=to)) else {
                return Range::empty();
            };
            return Range {
                front: only.iter(),
                middle: [].iter(),
                back: [].iter(),
                remaining: end - start,
            };
        }
        let head = self.blocks.get(first).and_then(|b| b.get(from..));
        let middle = self.blocks.get(first + 1..last);
        let tail = self.blocks.get(last).and_then(|b| b.get(..=to));
        let (Some(head), Some(middle), Some(tail)) = (head, middle, tail) else {
            return Range::empty();
        };
        Range {
            front: head.iter(),
            middle: middle.iter(),
            back: tail.iter(),
            remaining: end - start,
        }
    }

    /// Removes every entry with rank in `start..end` (clamped) and returns them ascending.
    ///
    /// O(log n + B + k) for k entries removed, plus O(n / B) when whole blocks go or a block
    /// is merged (ZREMRANGEBYRANK / BYSCORE / BYLEX and ZPOPMIN / ZPOPMAX use this).
    pub fn drain_range(&mut self, start: usize, end: usize) -> Vec<(f64, Box<[u8]>)> {
        let end = end.min(self.len);
        if start >= end {
            return Vec::new();
        }
        let (first, from) = self.lengths.select(start);
        let (last, to) = self.lengths.select(end - 1);
        let mut out = Vec::with_capacity(end - start);
        let restructured = if first == last {
            let Some(block) = self.blocks.get_mut(first) else {
                return out;
            };
            out.extend(block.drain(from..=to));
            let changed = self.rebalance(first);
            if !changed {
                self.lengths.sub(first, out.len());
            }
            changed
        } else {
            let Some(head) = self.blocks.get_mut(first) else {
                return out;
            };
            out.extend(head.drain(from..));
            let head_taken = out.len();
            for block in self.blocks.drain(first + 1..last) {
                out.extend(block);
            }
            self.maxes.drain(first + 1..last);
            // The old `last` block is now `first + 1`.
            let before_tail = out.len();
            if let Some(tail) = self.blocks.get_mut(first + 1) {
                out.extend(tail.drain(..=to));
            }
            let tail_taken = out.len() - before_tail;
            // Rebalance the later block first: it may merge into `first`, never the reverse.
            let mut changed = last > first + 1;
            changed |= self.rebalance(first + 1);
            changed |= self.rebalance(first);
            if !changed {
                self.lengths.sub(first, head_taken);
                self.lengths.sub(first + 1, tail_taken);
            }
            changed
        };
        if restructured {
            self.lengths.rebuild(&self.blocks);
        }
        self.len -= out.len();
        self.member_bytes -= out.iter().map(|(_, m)| m.len()).sum::<usize>();
        out
    }

    /// Approximate heap bytes used (for memory reporting).
    ///
    /// Counts the capacity of every vector and the member bytes, not the allocator's rounding
    /// or per-allocation overhead (about 8 to 16 bytes per member on common allocators).
    /// O(n / B).
    pub fn heap_bytes(&self) -> usize {
        let blocks: usize = self.blocks.iter().map(Vec::capacity).sum();
        self.blocks.capacity() * size_of::<Vec<Entry>>()
            + blocks * size_of::<Entry>()
            + self.maxes.capacity() * size_of::<f64>()
            + self.lengths.heap_bytes()
            + self.member_bytes
    }

    /// Index of the first block whose last entry is at or above (score, member); `None` if
    /// every entry is below it.
    fn find_block(&self, score: f64, member: &[u8]) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.blocks.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.max_is_below(mid, score, member) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo < self.blocks.len()).then_some(lo)
    }

    /// Whether the last entry of block `i` is below (score, member). Reads the block itself
    /// only when the scores tie.
    fn max_is_below(&self, i: usize, score: f64, member: &[u8]) -> bool {
        match self.maxes.get(i).and_then(|max| max.partial_cmp(&score)) {
            Some(Ordering::Less) => true,
            Some(Ordering::Greater) | None => false,
            Some(Ordering::Equal) => self
                .blocks
                .get(i)
                .and_then(|b| b.last())
                .is_some_and(|(_, m)| &m[..] < member),
        }
    }

    /// Sets `maxes[i]` from block `i`.
    fn refresh_max(&mut self, i: usize) {
        let last = self.blocks.get(i).and_then(|b| b.last()).map(|(s, _)| *s);
        if let (Some(max), Some(last)) = (self.maxes.get_mut(i), last) {
            *max = last;
        }
    }

    /// Appends a block holding only `entry`. O(log n): the Fenwick tree grows at its end.
    fn push_block(&mut self, entry: Entry) {
        self.maxes.push(entry.0);
        let mut block = Vec::with_capacity(4);
        block.push(entry);
        self.blocks.push(block);
        self.lengths.push(1);
    }

    /// Splits block `i` in half; returns the length of the first half. The caller rebuilds
    /// `lengths`.
    fn split(&mut self, i: usize) -> usize {
        let Some(block) = self.blocks.get_mut(i) else {
            return 0;
        };
        let mid = block.len() / 2;
        let tail = block.split_off(mid);
        // After a merge the head may have grown past B; give that back.
        block.shrink_to(MAX_BLOCK);
        self.blocks.insert(i + 1, tail);
        self.maxes.insert(i + 1, 0.0);
        self.refresh_max(i);
        self.refresh_max(i + 1);
        mid
    }

    /// Restores the block invariants around block `i` after entries left it: drops it if
    /// empty, merges it into a neighbour if below `MIN_BLOCK` (splitting the result if over
    /// B), and refreshes `maxes`.
    ///
    /// Returns true if blocks moved, and the caller must rebuild `lengths`; otherwise the
    /// caller subtracts what it took from block `i`. Dropping the last block is the cheap
    /// exception: its Fenwick node goes with it (no other node covers it), so it returns
    /// false and the caller's subtraction finds no node and does nothing.
    fn rebalance(&mut self, i: usize) -> bool {
        let Some(len) = self.blocks.get(i).map(Vec::len) else {
            return false;
        };
        if len == 0 && i + 1 == self.blocks.len() {
            self.blocks.pop();
            self.maxes.pop();
            self.lengths.pop();
            return false;
        }
        if len == 0 {
            self.blocks.remove(i);
            self.maxes.remove(i);
            return true;
        }
        if len >= MIN_BLOCK || self.blocks.len() < 2 {
            self.refresh_max(i);
            return false;
        }
        // Merge the pair (lo, lo + 1): with the next block, or the previous for the last one.
        let lo = if i + 1 < self.blocks.len() { i } else { i - 1 };
        let tail = self.blocks.remove(lo + 1);
        self.maxes.remove(lo + 1);
        let Some(head) = self.blocks.get_mut(lo) else {
            return true;
        };
        head.reserve_exact(tail.len());
        head.extend(tail);
        let over = head.len() > MAX_BLOCK;
        self.refresh_max(lo);
        if over {
            self.split(lo);
        }
        true
    }
}

impl Default for SortedIndex {
    fn default() -> SortedIndex {
        SortedIndex::new()
    }
}

impl fmt::Debug for SortedIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SortedIndex")
            .field("len", &self.len)
            .field("blocks", &self.blocks.len())
            .finish_non_exhaustive()
    }
}

/// Entries of a [`SortedIndex`] by rank, from [`SortedIndex::range`]: ascending with
/// `next`, descending with `next_back` (or `.rev()`), O(1) per entry either way.
///
/// Laid out like `Flatten`: the partial first block, the whole blocks between, the partial
/// last block; each end draws from the middle when its own slice runs out.
#[derive(Debug, Clone)]
pub struct Range<'a> {
    /// Entries not yet taken from the front block.
    front: slice::Iter<'a, Entry>,
    /// Whole blocks between the front and back ones.
    middle: slice::Iter<'a, Vec<Entry>>,
    /// Entries not yet taken from the back block.
    back: slice::Iter<'a, Entry>,
    /// Entries left, for `len`.
    remaining: usize,
}

impl<'a> Range<'a> {
    /// A range of nothing.
    fn empty() -> Range<'a> {
        Range {
            front: [].iter(),
            middle: [].iter(),
            back: [].iter(),
            remaining: 0,
        }
    }

    /// Counts one entry out, as the caller's item.
    fn take(&mut self, entry: &'a Entry) -> (f64, &'a [u8]) {
        self.remaining = self.remaining.saturating_sub(1);
        (entry.0, &entry.1)
    }
}

impl<'a> Iterator for Range<'a> {
    type Item = (f64, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(entry) = self.front.next() {
                return Some(self.take(entry));
            }
            match self.middle.next() {
                Some(block) => self.front = block.iter(),
                None => {
                    let entry = self.back.next()?;
                    return Some(self.take(entry));
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }

    fn last(mut self) -> Option<Self::Item> {
        self.next_back()
    }
}

impl DoubleEndedIterator for Range<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(entry) = self.back.next_back() {
                return Some(self.take(entry));
            }
            match self.middle.next_back() {
                Some(block) => self.back = block.iter(),
                None => {
                    let entry = self.front.next_back()?;
                    return Some(self.take(entry));
                }
            }
        }
    }
}

impl ExactSizeIterator for Range<'_> {}

impl FusedIterator for Range<'_> {}

/// A Fenwick tree over block lengths: prefix sums and their inverse in O(log blocks).
///
/// `tree[k - 1]` holds the sum of the lengths of blocks `k - lowbit(k) .. k` (0-based,
/// half-open), where `lowbit(k)` is the lowest set bit of `k`.
#[derive(Debug, Default)]
struct Fenwick {
    /// The partial sums, one per block.
    tree: Vec<usize>,
}

/// The lowest set bit of `k`.
fn lowbit(k: usize) -> usize {
    k & k.wrapping_neg()
}

impl Fenwick {
    /// Rebuilds from the block lengths in O(blocks), for after a split, merge or removal of
    /// a block other than the last.
    fn rebuild(&mut self, blocks: &[Vec<Entry>]) {
        self.tree.clear();
        self.tree.extend(blocks.iter().map(Vec::len));
        let n = self.tree.len();
        for k in 1..=n {
            let parent = k + lowbit(k);
            let Some(&sum) = self.tree.get(k - 1) else {
                continue;
            };
            if let Some(node) = self.tree.get_mut(parent - 1) {
                *node += sum;
            }
        }
    }

    /// Appends a block of length `len`, in O(log blocks).
    fn push(&mut self, len: usize) {
        // The new node k covers blocks `k - lowbit(k) .. k`: itself and the blocks before it
        // in that span.
        let k = self.tree.len() + 1;
        let before = self.prefix(k - 1) - self.prefix(k - lowbit(k));
        self.tree.push(len + before);
    }

    /// Drops the last block. No other node covers it, so nothing else changes.
    fn pop(&mut self) {
        self.tree.pop();
    }

    /// Adds `by` to the length of block `block`.
    fn add(&mut self, block: usize, by: usize) {
        let mut k = block + 1;
        while let Some(node) = self.tree.get_mut(k - 1) {
            *node += by;
            k += lowbit(k);
        }
    }

    /// Subtracts `by` from the length of block `block`.
    fn sub(&mut self, block: usize, by: usize) {
        let mut k = block + 1;
        while let Some(node) = self.tree.get_mut(k - 1) {
            *node -= by;
            k += lowbit(k);
        }
    }

    /// Total length of the blocks before `block`.
    fn prefix(&self, block: usize) -> usize {
        let mut k = block.min(self.tree.len());
        let mut sum = 0;
        while k > 0 {
            sum += self.tree.get(k - 1).copied().unwrap_or(0);
            k -= lowbit(k);
        }
        sum
    }

    /// The block holding the entry of rank `rank`, and the entry's offset in it: the largest
    /// `block` with `prefix(block) <= rank`. Past the end gives `(blocks, rank - total)`.
    fn select(&self, mut rank: usize) -> (usize, usize) {
        let n = self.tree.len();
        let mut block = 0;
        let mut step = n.checked_ilog2().map_or(0, |bits| 1_usize << bits);
        while step > 0 {
            let next = block + step;
            let sum = self.tree.get(next - 1).copied().unwrap_or(usize::MAX);
            if sum <= rank {
                block = next;
                rank -= sum;
            }
            step /= 2;
        }
        (block, rank)
    }

    /// Bytes allocated.
    fn heap_bytes(&self) -> usize {
        self.tree.capacity() * size_of::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, VecDeque};

    use proptest::prelude::*;

    use super::*;

    /// The model: one sorted `Vec` under the same order.
    #[derive(Debug, Default)]
    struct Model {
        entries: Vec<(f64, Vec<u8>)>,
    }

    impl Model {
        fn search(&self, score: f64, member: &[u8]) -> Result<usize, usize> {
            self.entries
                .binary_search_by(|(s, m)| compare(*s, m, score, member))
        }

        fn insert(&mut self, score: f64, member: &[u8]) {
            let at = self.search(score, member).unwrap_or_else(|at| at);
            self.entries.insert(at, (score, member.to_vec()));
        }

        fn remove(&mut self, score: f64, member: &[u8]) -> bool {
            let Ok(at) = self.search(score, member) else {
                return false;
            };
            self.entries.remove(at);
            true
        }

        fn clamp(&self, start: usize, end: usize) -> std::ops::Range<usize> {
            let end = end.min(self.entries.len());
            start.min(end)..end
        }
    }

    /// Scores that stress the order: both zeros, both infinities, extremes, ties.
    const SCORES: [f64; 11] = [
        f64::NEG_INFINITY,
        -1e300,
        -2.5,
        -1.0,
        -0.0,
        0.0,
        f64::MIN_POSITIVE,
        1.0,
        2.5,
        1e300,
        f64::INFINITY,
    ];

    fn random_score(rng: &mut fastrand::Rng) -> f64 {
        match SCORES.get(rng.usize(..SCORES.len() * 2)) {
            Some(&score) => score,
            None => f64::from(rng.i32(-20..20)),
        }
    }

    /// `n` distinct members, the empty one among them, over bytes that test memcmp order
    /// (0x00, 0x7f, 0x80, 0xff) and prefixes.
    fn member_pool(rng: &mut fastrand::Rng, n: usize) -> Vec<Vec<u8>> {
        const ALPHABET: [u8; 8] = [0x00, 0x01, b'a', b'b', b'c', 0x7f, 0x80, 0xff];
        let mut pool = vec![Vec::new()];
        while pool.len() < n {
            let len = rng.usize(..=6);
            let member: Vec<u8> = (0..len)
                .map(|_| {
                    ALPHABET
                        .get(rng.usize(..ALPHABET.len()))
                        .copied()
                        .unwrap_or(0)
                })
                .collect();
            pool.push(member);
            if pool.len() == n {
                pool.sort();
                pool.dedup();
            }
        }
        rng.shuffle(&mut pool);
        pool
    }

    /// Checks the layout invariants, and the contents against `model` entry by entry
    /// (scores bit for bit, so the sign of a zero is checked too).
    fn check(index: &SortedIndex, model: &Model) {
        assert_eq!(index.blocks.len(), index.maxes.len());
        assert_eq!(index.blocks.len(), index.lengths.tree.len());
        assert_eq!(index.blocks.is_empty(), index.is_empty());
        let mut total = 0;
        let mut bytes = 0;
        for (i, block) in index.blocks.iter().enumerate() {
            let Some((last, _)) = block.last() else {
                panic!("block {i} is empty");
            };
            assert!(block.len() <= MAX_BLOCK, "block {i} has {}", block.len());
            assert!(
                block.capacity() <= MAX_BLOCK,
                "block {i} reserves {}",
                block.capacity()
            );
            if i + 1 < index.blocks.len() {
                assert!(block.len() >= MIN_BLOCK, "block {i} has {}", block.len());
            }
            assert_eq!(
                index.maxes.get(i).map(|m| m.to_bits()),
                Some(last.to_bits())
            );
            assert_eq!(index.lengths.prefix(i), total);
            assert_eq!(index.lengths.select(total), (i, 0));
            total += block.len();
            bytes += block.iter().map(|(_, m)| m.len()).sum::<usize>();
        }
        assert_eq!(index.lengths.select(total), (index.blocks.len(), 0));
        assert_eq!(total, index.len());
        assert_eq!(bytes, index.member_bytes);
        let all: Vec<_> = index.range(0, usize::MAX).collect();
        for pair in all.windows(2) {
            if let [(s1, m1), (s2, m2)] = pair {
                assert_eq!(compare(*s1, m1, *s2, m2), Ordering::Less, "out of order");
            }
        }
        assert_eq!(all.len(), model.entries.len());
        for ((s, m), (ms, mm)) in all.iter().zip(&model.entries) {
            assert_eq!((s.to_bits(), *m), (ms.to_bits(), &mm[..]));
        }
    }

    fn same(got: Option<(f64, &[u8])>, want: Option<&(f64, Vec<u8>)>) -> bool {
        got.map(|(s, m)| (s.to_bits(), m)) == want.map(|(s, m)| (s.to_bits(), &m[..]))
    }

    /// Walks `range` from both ends at random and compares with the model's slice.
    fn check_range(
        index: &SortedIndex,
        model: &Model,
        start: usize,
        end: usize,
        rng: &mut fastrand::Rng,
    ) {
        let want = model
            .entries
            .get(model.clamp(start, end))
            .unwrap_or_default();
        let forward: Vec<_> = index.range(start, end).collect();
        assert!(
            forward
                .iter()
                .zip(want)
                .all(|(g, w)| same(Some(*g), Some(w)))
        );
        assert_eq!(forward.len(), want.len());
        assert!(same(index.range(start, end).last(), want.last()));
        let backward: Vec<_> = index.range(start, end).rev().collect();
        assert!(
            backward
                .iter()
                .zip(want.iter().rev())
                .all(|(g, w)| same(Some(*g), Some(w)))
        );
        assert_eq!(backward.len(), want.len());
        let mut range = index.range(start, end);
        let mut left: VecDeque<_> = want.iter().collect();
        loop {
            assert_eq!(range.len(), left.len());
            let (got, expected) = if rng.bool() {
                (range.next(), left.pop_front())
            } else {
                (range.next_back(), left.pop_back())
            };
            assert!(same(got, expected));
            if expected.is_none() {
                break;
            }
        }
        assert!(range.next().is_none() && range.next_back().is_none());
    }

    #[test]
    fn random_operations_match_a_sorted_vec_model() {
        let mut rng = fastrand::Rng::with_seed(0x2a5e7);
        let members = member_pool(&mut rng, 20_000);
        let slot: HashMap<&[u8], usize> = members
            .iter()
            .enumerate()
            .map(|(i, m)| (&m[..], i))
            .collect();
        let mut scores: Vec<Option<f64>> = vec![None; members.len()];
        let mut index = SortedIndex::new();
        let mut model = Model::default();
        let mut most_blocks = 0;
        for step in 0..100_000 {
            let i = rng.usize(..members.len());
            let member = members.get(i).map_or(&[][..], |m| &m[..]);
            let score = scores.get(i).copied().flatten();
            let len = model.entries.len();
            match rng.u32(..1000) {
                // Insert a member that is absent.
                0..400 => {
                    if score.is_none() {
                        let score = random_score(&mut rng);
                        index.insert(score, member);
                        model.insert(score, member);
                        scores[i] = Some(score);
                    }
                }
                // Remove a present member by its score, or the other zero for a zero.
                400..500 => {
                    if let Some(score) = score {
                        let probe = if score == 0.0 && rng.bool() {
                            -score
                        } else {
                            score
                        };
                        assert!(index.remove(probe, member));
                        assert!(model.remove(probe, member));
                        scores[i] = None;
                    }
                }
                // Remove with a random score: mostly absent.
                500..550 => {
                    let probe = random_score(&mut rng);
                    let removed = model.remove(probe, member);
                    assert_eq!(index.remove(probe, member), removed);
                    if removed {
                        scores[i] = None;
                    }
                }
                550..650 => {
                    let probe = match score {
                        Some(score) if rng.bool() => score,
                        _ => random_score(&mut rng),
                    };
                    assert_eq!(index.rank(probe, member), model.search(probe, member).ok());
                }
                650..750 => {
                    let rank = rng.usize(..=len + 2);
                    assert!(same(index.get(rank), model.entries.get(rank)));
                }
                750..850 => {
                    let (bound, key) = (random_score(&mut rng), member);
                    let below = |s: f64, m: &[u8]| compare(s, m, bound, key) == Ordering::Less;
                    let at_most = |s: f64, m: &[u8]| compare(s, m, bound, key) != Ordering::Greater;
                    let want = model.entries.partition_point(|(s, _)| *s < bound);
                    assert_eq!(index.partition_point(|s, _| s < bound), want);
                    let want = model.entries.partition_point(|(s, _)| *s <= bound);
                    assert_eq!(index.partition_point(|s, _| s <= bound), want);
                    let want = model.entries.partition_point(|(s, m)| below(*s, m));
                    assert_eq!(index.partition_point(below), want);
                    let want = model.entries.partition_point(|(s, m)| at_most(*s, m));
                    assert_eq!(index.partition_point(at_most), want);
                }
                850..990 => {
                    let start = rng.usize(..=len + 2);
                    let end = if rng.u32(..10) == 0 {
                        rng.usize(..=len + 2)
                    } else {
                        start + rng.usize(..64)
                    };
                    check_range(&index, &model, start, end, &mut rng);
                }
                990..995 => {
                    let start = rng.usize(..=len + 2);
                    let width = if rng.u32(..20) == 0 {
                        rng.usize(..1500)
                    } else {
                        rng.usize(..16)
                    };
                    let drained = index.drain_range(start, start + width);
                    let want: Vec<_> = model
                        .entries
                        .drain(model.clamp(start, start + width))
                        .collect();
                    assert_eq!(drained.len(), want.len());
                    for ((s, m), (ws, wm)) in drained.iter().zip(&want) {
                        assert_eq!((s.to_bits(), &m[..]), (ws.to_bits(), &wm[..]));
                        if let Some(&i) = slot.get(&m[..]) {
                            scores[i] = None;
                        }
                    }
                }
                _ => {
                    assert_eq!(index.len(), len);
                    assert_eq!(index.is_empty(), len == 0);
                    let members: usize = model.entries.iter().map(|(_, m)| m.len()).sum();
                    assert!(index.heap_bytes() >= members + len * size_of::<Entry>());
                }
            }
            most_blocks = most_blocks.max(index.blocks.len());
            if step % 1000 == 0 {
                check(&index, &model);
            }
        }
        check(&index, &model);
        assert!(
            most_blocks >= 10,
            "the run never grew past {most_blocks} blocks"
        );
    }

    #[test]
    fn an_empty_index_answers_nothing() {
        let mut index = SortedIndex::default();
        assert_eq!((index.len(), index.is_empty()), (0, true));
        assert_eq!(index.get(0), None);
        assert_eq!(index.rank(0.0, b""), None);
        assert!(!index.remove(0.0, b""));
        assert_eq!(index.partition_point(|_, _| true), 0);
        assert_eq!(index.range(0, usize::MAX).len(), 0);
        assert_eq!(index.range(0, 10).next_back(), None);
        assert!(index.drain_range(0, usize::MAX).is_empty());
        assert_eq!(index.heap_bytes(), 0);
        check(&index, &Model::default());
    }

    #[test]
    fn ranges_past_the_end_or_reversed_are_clamped_or_empty() {
        let mut index = SortedIndex::new();
        let mut model = Model::default();
        for i in 0..1000_u32 {
            index.insert(f64::from(i % 7), &i.to_be_bytes());
            model.insert(f64::from(i % 7), &i.to_be_bytes());
        }
        let mut rng = fastrand::Rng::with_seed(7);
        for (start, end) in [
            (0, 5000),
            (990, 5000),
            (1000, 1001),
            (5000, 6000),
            (10, 5),
            (7, 7),
        ] {
            check_range(&index, &model, start, end, &mut rng);
        }
        assert_eq!(index.range(usize::MAX, usize::MAX).len(), 0);
        assert!(index.drain_range(10, 5).is_empty());
        assert!(index.drain_range(1000, usize::MAX).is_empty());
        assert_eq!(index.drain_range(995, usize::MAX).len(), 5);
        model.entries.truncate(995);
        assert_eq!(index.get(995), None);
        check(&index, &model);
    }

    #[test]
    fn negative_zero_equals_zero_and_ties_break_on_member() {
        let mut index = SortedIndex::new();
        index.insert(0.0, b"b");
        index.insert(-0.0, b"c");
        index.insert(-0.0, b"a");
        let got: Vec<_> = index.range(0, 3).map(|(s, m)| (s.to_bits(), m)).collect();
        let want = [(-0.0_f64, b"a"), (0.0, b"b"), (-0.0, b"c")];
        assert!(
            got.iter()
                .zip(want)
                .all(|(g, (s, m))| *g == (s.to_bits(), &m[..]))
        );
        assert_eq!(index.rank(0.0, b"c"), Some(2));
        assert_eq!(index.rank(-0.0, b"b"), Some(1));
        assert!(index.remove(0.0, b"a"));
        assert_eq!(index.partition_point(|s, _| s < 0.0), 0);
        assert_eq!(index.partition_point(|s, _| s <= -0.0), 2);
    }

    #[test]
    fn infinities_and_the_empty_member_sort_at_the_ends() {
        let mut index = SortedIndex::new();
        for (score, member) in [
            (f64::INFINITY, &b"\xff"[..]),
            (1.0, b"a"),
            (f64::NEG_INFINITY, b"\x00"),
            (f64::NEG_INFINITY, b""),
            (1.0, b"a\x00"),
            (f64::INFINITY, b""),
        ] {
            index.insert(score, member);
        }
        let got: Vec<_> = index.range(0, 6).collect();
        let want = [
            (f64::NEG_INFINITY, &b""[..]),
            (f64::NEG_INFINITY, b"\x00"),
            (1.0, b"a"),
            (1.0, b"a\x00"),
            (f64::INFINITY, b""),
            (f64::INFINITY, b"\xff"),
        ];
        assert_eq!(got, want);
        assert_eq!(index.partition_point(|s, _| s < f64::INFINITY), 4);
        assert_eq!(
            index.partition_point(|s, m| s < 1.0 || (s == 1.0 && m < &b"a\x00"[..])),
            3
        );
    }

    #[test]
    fn a_non_monotonic_predicate_gets_some_index_without_a_panic() {
        let mut index = SortedIndex::new();
        for i in 0..5000_u32 {
            index.insert(f64::from(i), b"m");
        }
        let mut flip = false;
        let point = index.partition_point(|_, _| {
            flip = !flip;
            flip
        });
        assert!(point <= index.len());
    }

    #[test]
    fn bulk_patterns_split_merge_and_drain_across_many_blocks() {
        let mut rng = fastrand::Rng::with_seed(11);
        let mut index = SortedIndex::new();
        let mut model = Model::default();
        // Ascending and descending runs always hit the last or first block.
        for i in 0..6000_u32 {
            let (up, down) = (f64::from(i), -f64::from(i));
            index.insert(up, b"up");
            index.insert(down, b"down");
            model.insert(up, b"up");
            model.insert(down, b"down");
        }
        check(&index, &model);
        // Random removals thin blocks below MIN_BLOCK and merge them.
        for i in 0..6000_u32 {
            if rng.bool() {
                assert!(index.remove(f64::from(i), b"up"));
                assert!(model.remove(f64::from(i), b"up"));
            }
        }
        check(&index, &model);
        // Wide drains remove whole blocks and leave two partial ones.
        while !index.is_empty() {
            let start = rng.usize(..index.len());
            let end = start + rng.usize(1..3000);
            let drained = index.drain_range(start, end);
            let want: Vec<_> = model.entries.drain(model.clamp(start, end)).collect();
            assert_eq!(drained.len(), want.len());
            check(&index, &model);
        }
        assert_eq!(
            index.heap_bytes(),
            index.blocks.capacity() * size_of::<Vec<Entry>>()
                + index.maxes.capacity() * size_of::<f64>()
                + index.lengths.heap_bytes()
        );
    }

    #[test]
    fn appends_past_the_end_keep_blocks_full_and_undo_cheaply() {
        let mut index = SortedIndex::new();
        let mut model = Model::default();
        for i in 0..5000_u32 {
            index.insert(f64::from(i), b"t");
            model.insert(f64::from(i), b"t");
        }
        check(&index, &model);
        let (full, last) = index.blocks.split_at(index.blocks.len() - 1);
        assert!(full.iter().all(|b| b.len() == MAX_BLOCK));
        assert_eq!(last.iter().map(Vec::len).sum::<usize>(), 5000 % MAX_BLOCK);
        // Fill the last block, then push and pop a new maximum: a block opens and closes.
        let mut next = 5000_u32;
        while index.blocks.last().map_or(0, Vec::len) < MAX_BLOCK {
            index.insert(f64::from(next), b"t");
            model.insert(f64::from(next), b"t");
            next += 1;
        }
        let blocks = index.blocks.len();
        for round in 0..1000_u32 {
            let score = f64::from(next + round);
            index.insert(score, b"t");
            assert_eq!(index.blocks.len(), blocks + 1);
            assert_eq!(index.rank(score, b"t"), Some(index.len() - 1));
            assert!(index.remove(score, b"t"));
            assert_eq!(index.blocks.len(), blocks);
        }
        check(&index, &model);
        assert_eq!(index.drain_range(index.len() - 1, index.len()).len(), 1);
        model.entries.pop();
        check(&index, &model);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, i8),
        Remove(u16),
        Drain(u16, u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..4000_u16, any::<i8>()).prop_map(|(m, s)| Op::Insert(m, s)),
            2 => (0..4000_u16).prop_map(Op::Remove),
            1 => (any::<u16>(), 0..80_u16).prop_map(|(at, n)| Op::Drain(at, n)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn any_sequence_of_inserts_removes_and_drains_matches_the_model(
            ops in proptest::collection::vec(op(), 0..3000)
        ) {
            let mut index = SortedIndex::new();
            let mut model = Model::default();
            let mut scores: HashMap<u16, f64> = HashMap::new();
            for op in ops {
                match op {
                    Op::Insert(m, s) => {
                        if let std::collections::hash_map::Entry::Vacant(slot) = scores.entry(m) {
                            // Small scores, so most ties break on the member.
                            let score = f64::from(s / 16);
                            slot.insert(score);
                            index.insert(score, &m.to_le_bytes());
                            model.insert(score, &m.to_le_bytes());
                        }
                    }
                    Op::Remove(m) => {
                        if let Some(score) = scores.remove(&m) {
                            prop_assert!(index.remove(score, &m.to_le_bytes()));
                            prop_assert!(model.remove(score, &m.to_le_bytes()));
                        }
                    }
                    Op::Drain(at, n) => {
                        let start = usize::from(at) % (model.entries.len() + 1);
                        let end = start + usize::from(n);
                        let drained = index.drain_range(start, end);
                        let want: Vec<_> = model.entries.drain(model.clamp(start, end)).collect();
                        prop_assert_eq!(drained.len(), want.len());
                        for (_, m) in &drained {
                            let key: [u8; 2] = m[..].try_into().unwrap_or_default();
                            scores.remove(&u16::from_le_bytes(key));
                        }
                    }
                }
            }
            check(&index, &model);
            for (rank, entry) in model.entries.iter().enumerate() {
                prop_assert_eq!(index.rank(entry.0, &entry.1), Some(rank));
                prop_assert!(same(index.get(rank), Some(entry)));
            }
        }
    }
}
