//! Redis lists, over the collection records (see [`crate::collection::list`]).
//!
//! A list is a `Meta` record plus one `Element` record per element, named by the element's
//! *position* (a `u64`, [`encode_position`]) and holding its value. RAM holds only each
//! element's position and the location of its record ([`ListIndex`]); every value read
//! (LRANGE, LINDEX, the pops, the scans of LINSERT / LREM / LPOS) is one read of the log.
//!
//! Writes, one record per changed element:
//! * a push of m elements writes m records, at positions one [`GAP`] apart beyond the head
//!   (LPUSH) or the tail (RPUSH), computed arithmetically before any is applied;
//! * LINSERT writes one record at the midpoint of the pivot and its neighbour;
//! * LSET rewrites the element's record at its position (nothing if the value is the same);
//! * the pops, LREM and LTRIM write one tombstone per removed element, or one `Delete` of the
//!   key when they remove the last one: an emptied list disappears, as in Redis;
//! * LMOVE is a pop and a push in one batch.
//!
//! Renumbering. When there is no room for a position (a gap used up by ~32 LINSERTs at one
//! spot, or ~2^31 pushes on one side), the list is written again as a new version with
//! evenly spaced positions ([`ListIndex::fresh_positions`]) and the same TTL, O(n) once, and
//! the operation is retried (`Tx::renumber_list`).
//!
//! Redis signals a key as modified for WATCH in some cases where nothing changes (LSET of the
//! same value, LTRIM that keeps everything, LMOVE of a list onto itself that leaves it as it
//! was): those touch the key's watchers without writing anything.
//!
//! Redis checks arguments in a fixed order; the command layer parses them first, and the
//! methods here keep the order of what they are given (the key's type before an index, for
//! LSET and LINDEX, the source's type before the destination's for LMOVE).

use crate::collection::list::{GAP, START};
use crate::collection::{ListIndex, encode_position};
use crate::db::Tx;
use crate::error::{Error, Result};
use crate::keydir::{Location, ValueType};

/// An end of a list: LEFT is the head (index 0), RIGHT the tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The head.
    Left,
    /// The tail.
    Right,
}

/// Where LINSERT puts the new element, relative to the pivot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pivot {
    /// Just before the pivot (nearer the head).
    Before,
    /// Just after it.
    After,
}

/// Errors of the list commands that [`crate::Error`] has no variant for. `Display` gives
/// Redis's reply text without the `ERR ` prefix. Nothing has been written when one is
/// returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// LSET: the index is outside the list.
    #[error("index out of range")]
    IndexOutOfRange,
}

/// A key and the elements popped from it, as LMPOP and BLMPOP return them.
pub type KeyValues = (Vec<u8>, Vec<Vec<u8>>);

/// A list's elements from index `start` to `stop` inclusive, with Redis's rules (negative
/// indexes count from the tail, a start below the head is the head, a stop past the tail is
/// the tail): `None` when the range is empty, else the half-open range `start..end`.
fn clamp_range(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    // `len + x` cannot overflow for a negative x and a non-negative len.
    let start = if start < 0 { len + start } else { start }.max(0);
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return None;
    }
    let stop = stop.min(len - 1);
    Some((start as usize, stop as usize + 1))
}

/// The 0-based index that a Redis index (negative from the tail) names in a list of `len`.
fn resolve_index(len: usize, index: i64) -> Option<usize> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let index = if index < 0 { len + index } else { index };
    (0..len).contains(&index).then_some(index as usize)
}

/// Encoded positions, for the record names of `items`.
fn names(items: &[(u64, Location)]) -> Vec<[u8; 8]> {
    items.iter().map(|&(pos, _)| encode_position(pos)).collect()
}

fn as_slices(names: &[[u8; 8]]) -> Vec<&[u8]> {
    names.iter().map(|n| n.as_slice()).collect()
}

impl Tx<'_> {
    /// Whether `key` holds a list (lazily expiring it first); `WrongType` if another type.
    fn list_exists(&mut self, key: &[u8]) -> Result<bool> {
        Ok(self.typed_entry(key, ValueType::List)?.is_some())
    }

    /// Whether `key` holds a list, another type counting as no: what a blocked client asks of
    /// a key that was filled (it keeps waiting on a key of another type, as in Redis).
    pub(crate) fn holds_list(&mut self, key: &[u8]) -> Result<bool> {
        match self.typed_entry(key, ValueType::List) {
            Ok(entry) => Ok(entry.is_some()),
            Err(Error::WrongType) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The number of elements of the list `key` (after [`Tx::list_exists`]).
    fn list_len(&self, key: &[u8]) -> usize {
        self.list(key).map_or(0, ListIndex::len)
    }

    /// The elements `start..end` of the list `key`, head to tail.
    fn list_items(&self, key: &[u8], start: usize, end: usize) -> Vec<(u64, Location)> {
        self.list(key)
            .map(|l| l.range(start, end).collect())
            .unwrap_or_default()
    }

    /// The `nth` element of the list `key` counting from the head, or from the tail if
    /// `from_tail`.
    fn nth_item(&self, key: &[u8], from_tail: bool, nth: usize) -> Option<(u64, Location)> {
        let list = self.list(key)?;
        let index = if from_tail {
            list.len().checked_sub(nth + 1)?
        } else {
            nth
        };
        list.get(index)
    }

    /// Reads the values of `items` from the log.
    fn read_values(&self, items: &[(u64, Location)]) -> Result<Vec<Vec<u8>>> {
        let locs: Vec<Location> = items.iter().map(|&(_, loc)| loc).collect();
        self.engine().read_many(&locs)
    }

    /// Marks `key` as changed for WATCH without writing anything (see the module comment).
    fn touch_list(&mut self, key: &[u8]) {
        let db = self.db();
        self.engine_mut().watches_mut().touch(db, key);
    }

    /// Writes the list `key` again as a new version with evenly spaced positions and the same
    /// TTL: O(n) records, after which every end has room for 2^31 pushes and every gap for 32
    /// inserts. Called when an operation finds no room for a position.
    pub(crate) fn renumber_list(&mut self, key: &[u8]) -> Result<()> {
        let Some(entry) = self.typed_entry(key, ValueType::List)? else {
            return Ok(());
        };
        let len = self.list_len(key);
        let values = self.read_values(&self.list_items(key, 0, len))?;
        let positions: Vec<[u8; 8]> = ListIndex::fresh_positions(values.len())
            .map(encode_position)
            .collect();
        let elements: Vec<(&[u8], &[u8])> = positions
            .iter()
            .zip(&values)
            .map(|(pos, value)| (pos.as_slice(), value.as_slice()))
            .collect();
        let db = self.db();
        self.replace_collection(db, key, ValueType::List, entry.expires_at, &elements)
    }

    /// Positions for `count` elements pushed one after the other at `end` of the list `key`
    /// (which may not exist), or `None` if they do not all fit before the end of the `u64`
    /// range.
    fn push_positions(&self, key: &[u8], end: End, count: usize) -> Option<Vec<u64>> {
        let list = self.list(key);
        let count = u64::try_from(count).ok()?;
        let span = count.checked_mul(GAP)?;
        match end {
            End::Left => {
                // An empty list's first element goes to START.
                let head = match list.and_then(|l| l.get(0)) {
                    Some((pos, _)) => pos,
                    None => START + GAP,
                };
                head.checked_sub(span)?;
                Some((1..=count).map(|i| head - i * GAP).collect())
            }
            End::Right => {
                let len = list.map_or(0, ListIndex::len);
                let tail = match list.and_then(|l| l.get(len.checked_sub(1)?)) {
                    Some((pos, _)) => pos,
                    None => START - GAP,
                };
                tail.checked_add(span)?;
                Some((1..=count).map(|i| tail + i * GAP).collect())
            }
        }
    }

    /// Pushes `values` one after the other at `end` of the list `key` (which exists if
    /// `exists`), renumbering first if they do not fit. Returns the new length.
    fn push_values(&mut self, key: &[u8], end: End, exists: bool, values: &[&[u8]]) -> Result<u64> {
        if values.is_empty() {
            return Ok(self.list_len(key) as u64);
        }
        let positions = match self.push_positions(key, end, values.len()) {
            Some(positions) => positions,
            None => {
                self.renumber_list(key)?;
                // After a renumbering there is room for 2^31 elements at each end: more in one
                // push cannot be held in memory anyway.
                self.push_positions(key, end, values.len())
                    .ok_or(Error::TooLarge)?
            }
        };
        let names: Vec<[u8; 8]> = positions.into_iter().map(encode_position).collect();
        let elements: Vec<(&[u8], &[u8])> = names
            .iter()
            .zip(values)
            .map(|(name, &value)| (name.as_slice(), value))
            .collect();
        self.put_elements(key, ValueType::List, exists, &elements)?;
        Ok(self.list_len(key) as u64)
    }

    /// Removes up to `count` elements from `end` of the list `key` (after
    /// [`Tx::list_exists`]) and returns their values in the order they were popped; the key
    /// goes with the last element.
    fn pop_values(&mut self, key: &[u8], end: End, count: u64) -> Result<Vec<Vec<u8>>> {
        let len = self.list_len(key);
        let n = usize::try_from(count).unwrap_or(usize::MAX).min(len);
        let items: Vec<(u64, Location)> = match end {
            End::Left => self.list_items(key, 0, n),
            // From the tail inwards: each tombstone then removes the current tail, O(1).
            End::Right => self
                .list_items(key, len - n, len)
                .into_iter()
                .rev()
                .collect(),
        };
        let values = self.read_values(&items)?;
        let names = names(&items);
        self.remove_elements(key, &as_slices(&names))?;
        Ok(values)
    }

    /// Pops up to `count` elements from `end` of `key` if it holds a list; `None` if it is
    /// missing or of another type. What a blocked client's pop does on the key that was filled.
    pub(crate) fn pop_list(
        &mut self,
        key: &[u8],
        end: End,
        count: u64,
    ) -> Result<Option<Vec<Vec<u8>>>> {
        if !self.holds_list(key)? {
            return Ok(None);
        }
        self.pop_values(key, end, count).map(Some)
    }

    /// `LPUSH key element [element ...]`: inserts the elements at the head one after the
    /// other (so the last one given ends up first), creating the list if needed; returns the
    /// new length.
    pub fn lpush(&mut self, key: &[u8], values: &[&[u8]]) -> Result<u64> {
        let exists = self.list_exists(key)?;
        self.push_values(key, End::Left, exists, values)
    }

    /// `RPUSH key element [element ...]`: appends the elements, creating the list if needed;
    /// returns the new length.
    pub fn rpush(&mut self, key: &[u8], values: &[&[u8]]) -> Result<u64> {
        let exists = self.list_exists(key)?;
        self.push_values(key, End::Right, exists, values)
    }

    /// `LPUSHX key element [element ...]`: as [`Tx::lpush`], only if the list exists (0
    /// otherwise).
    pub fn lpushx(&mut self, key: &[u8], values: &[&[u8]]) -> Result<u64> {
        if !self.list_exists(key)? {
            return Ok(0);
        }
        self.push_values(key, End::Left, true, values)
    }

    /// `RPUSHX key element [element ...]`: as [`Tx::rpush`], only if the list exists (0
    /// otherwise).
    pub fn rpushx(&mut self, key: &[u8], values: &[&[u8]]) -> Result<u64> {
        if !self.list_exists(key)? {
            return Ok(0);
        }
        self.push_values(key, End::Right, true, values)
    }

    /// `LPOP key`: removes and returns the head, `None` if the key does not exist.
    pub fn lpop(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.lpop_count(key, 1)?.and_then(|v| v.into_iter().next()))
    }

    /// `RPOP key`: removes and returns the tail, `None` if the key does not exist.
    pub fn rpop(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.rpop_count(key, 1)?.and_then(|v| v.into_iter().next()))
    }

    /// `LPOP key count`: removes and returns up to `count` elements from the head; `None` if
    /// the key does not exist (Redis's null array), empty for a count of 0.
    pub fn lpop_count(&mut self, key: &[u8], count: u64) -> Result<Option<Vec<Vec<u8>>>> {
        if !self.list_exists(key)? {
            return Ok(None);
        }
        self.pop_values(key, End::Left, count).map(Some)
    }

    /// `RPOP key count`: as [`Tx::lpop_count`] from the tail (the last element first).
    pub fn rpop_count(&mut self, key: &[u8], count: u64) -> Result<Option<Vec<Vec<u8>>>> {
        if !self.list_exists(key)? {
            return Ok(None);
        }
        self.pop_values(key, End::Right, count).map(Some)
    }

    /// `LLEN key`: the number of elements, 0 if the key does not exist.
    pub fn llen(&mut self, key: &[u8]) -> Result<u64> {
        if !self.list_exists(key)? {
            return Ok(0);
        }
        Ok(self.list_len(key) as u64)
    }

    /// `LRANGE key start stop`: the elements from `start` to `stop` inclusive (negative
    /// indexes count from the tail; out-of-range indexes are clamped).
    pub fn lrange(&mut self, key: &[u8], start: i64, stop: i64) -> Result<Vec<Vec<u8>>> {
        if !self.list_exists(key)? {
            return Ok(Vec::new());
        }
        match clamp_range(self.list_len(key), start, stop) {
            Some((start, end)) => self.read_values(&self.list_items(key, start, end)),
            None => Ok(Vec::new()),
        }
    }

    /// `LINDEX key index`: the element at `index` (negative from the tail), `None` if out of
    /// range or the key does not exist.
    pub fn lindex(&mut self, key: &[u8], index: i64) -> Result<Option<Vec<u8>>> {
        if !self.list_exists(key)? {
            return Ok(None);
        }
        let found = resolve_index(self.list_len(key), index)
            .and_then(|i| self.list(key).and_then(|l| l.get(i)));
        match found {
            Some((_, loc)) => self.read_at(loc).map(Some),
            None => Ok(None),
        }
    }

    /// `LSET key index element`: replaces the element at `index` (negative from the tail).
    /// Writes nothing if it already holds `value`.
    ///
    /// # Errors
    /// [`Error::NoSuchKey`] if the key does not exist, `WrongType`; the inner
    /// [`ListError::IndexOutOfRange`] if the index is outside the list.
    pub fn lset(&mut self, key: &[u8], index: i64, value: &[u8]) -> Result<Result<(), ListError>> {
        if !self.list_exists(key)? {
            return Err(Error::NoSuchKey);
        }
        let found = resolve_index(self.list_len(key), index)
            .and_then(|i| self.list(key).and_then(|l| l.get(i)));
        let Some((pos, loc)) = found else {
            return Ok(Err(ListError::IndexOutOfRange));
        };
        if self.read_at(loc)? == value {
            self.touch_list(key);
        } else {
            let name = encode_position(pos);
            self.put_elements(key, ValueType::List, true, &[(&name, value)])?;
        }
        Ok(Ok(()))
    }

    /// The index of the first element equal to `value` scanning from the head, reading values
    /// one at a time.
    fn find_from_head(&self, key: &[u8], value: &[u8]) -> Result<Option<usize>> {
        let Some(list) = self.list(key) else {
            return Ok(None);
        };
        for (i, (_, loc)) in list.range(0, list.len()).enumerate() {
            if self.read_at(loc)? == value {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    /// `LINSERT key BEFORE|AFTER pivot element`: inserts `value` next to the first element
    /// equal to `pivot`. Returns the new length, -1 if there is no such element, 0 if the key
    /// does not exist.
    pub fn linsert(&mut self, key: &[u8], place: Pivot, pivot: &[u8], value: &[u8]) -> Result<i64> {
        if !self.list_exists(key)? {
            return Ok(0);
        }
        let Some(found) = self.find_from_head(key, pivot)? else {
            return Ok(-1);
        };
        let index = match place {
            Pivot::Before => found,
            Pivot::After => found + 1,
        };
        let position = |tx: &Tx<'_>| tx.list(key).and_then(|l| l.position_before(index));
        let pos = match position(self) {
            Some(pos) => pos,
            None => {
                self.renumber_list(key)?;
                // Fresh positions leave 2^32 between neighbours and 2^31 pushes at each end.
                position(self).ok_or(Error::TooLarge)?
            }
        };
        let name = encode_position(pos);
        self.put_elements(key, ValueType::List, true, &[(&name, value)])?;
        Ok(self.list_len(key) as i64)
    }

    /// `LREM key count element`: removes elements equal to `value`: the first `count` from
    /// the head for a positive count, the last `-count` from the tail for a negative one,
    /// all of them for 0. Returns how many; the key goes with the last element.
    pub fn lrem(&mut self, key: &[u8], count: i64, value: &[u8]) -> Result<u64> {
        if !self.list_exists(key)? {
            return Ok(0);
        }
        let limit = match count {
            0 => usize::MAX,
            n => usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX),
        };
        // From the tail for a negative count: the tombstones then remove elements nearest the
        // tail first.
        let mut gone = Vec::new();
        for nth in 0..self.list_len(key) {
            if gone.len() >= limit {
                break;
            }
            let Some(item) = self.nth_item(key, count < 0, nth) else {
                break;
            };
            if self.read_at(item.1)? == value {
                gone.push(item);
            }
        }
        let names = names(&gone);
        self.remove_elements(key, &as_slices(&names))?;
        Ok(gone.len() as u64)
    }

    /// `LTRIM key start stop`: keeps only the elements from `start` to `stop` inclusive
    /// (indexes as [`Tx::lrange`]); an empty range deletes the key.
    pub fn ltrim(&mut self, key: &[u8], start: i64, stop: i64) -> Result<()> {
        if !self.list_exists(key)? {
            return Ok(());
        }
        let len = self.list_len(key);
        let (keep_start, keep_end) = clamp_range(len, start, stop).unwrap_or((len, len));
        // The head's elements from the head inwards, the tail's from the tail inwards: each
        // tombstone removes a current end, O(1).
        let mut gone = self.list_items(key, 0, keep_start);
        gone.extend(self.list_items(key, keep_end, len).into_iter().rev());
        if gone.is_empty() {
            self.touch_list(key);
            return Ok(());
        }
        let names = names(&gone);
        self.remove_elements(key, &as_slices(&names))
    }

    /// The indexes of elements equal to `value`, as LPOS finds them: scanning from the head
    /// for a positive `rank`, from the tail for a negative one, looking at no more than
    /// `maxlen` elements (0: all), skipping the first |rank| - 1 matches, and stopping after
    /// `count` of them (0: all; `None`: just one, for LPOS without COUNT).
    ///
    /// Redis's arithmetic is kept where it wraps: a rank of `i64::MIN` stays negative once
    /// negated, so every match counts from the first one and COUNT never stops the scan.
    fn positions_of(
        &mut self,
        key: &[u8],
        value: &[u8],
        rank: i64,
        count: Option<u64>,
        maxlen: u64,
    ) -> Result<Vec<u64>> {
        if !self.list_exists(key)? {
            return Ok(Vec::new());
        }
        let (from_tail, rank) = if rank < 0 {
            (true, rank.wrapping_neg())
        } else {
            (false, rank)
        };
        let len = self.list_len(key);
        let scanned = usize::try_from(maxlen)
            .ok()
            .filter(|&m| m != 0)
            .map_or(len, |m| m.min(len));
        let wanted = count.map(|c| i64::try_from(c).unwrap_or(i64::MAX));
        let mut matches: i64 = 0;
        let mut found = Vec::new();
        for index in 0..scanned {
            let Some((_, loc)) = self.nth_item(key, from_tail, index) else {
                break;
            };
            if self.read_at(loc)? != value {
                continue;
            }
            matches += 1;
            if matches < rank {
                continue;
            }
            let at = if from_tail { len - index - 1 } else { index };
            found.push(at as u64);
            match wanted {
                None => break,
                Some(c) if c != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= c => break,
                Some(_) => {}
            }
        }
        Ok(found)
    }

    /// `LPOS key element [RANK rank] [MAXLEN len]`: the index of the |rank|-th element equal
    /// to `value` (from the tail for a negative rank), looking at no more than `maxlen`
    /// elements (0: all); `None` if there is none or the key does not exist.
    pub fn lpos(
        &mut self,
        key: &[u8],
        value: &[u8],
        rank: i64,
        maxlen: u64,
    ) -> Result<Option<u64>> {
        Ok(self
            .positions_of(key, value, rank, None, maxlen)?
            .into_iter()
            .next())
    }

    /// `LPOS key element [RANK rank] COUNT num-matches [MAXLEN len]`: as [`Tx::lpos`], up to
    /// `count` matches (0: all of them) from the |rank|-th on.
    pub fn lpos_count(
        &mut self,
        key: &[u8],
        value: &[u8],
        rank: i64,
        count: u64,
        maxlen: u64,
    ) -> Result<Vec<u64>> {
        self.positions_of(key, value, rank, Some(count), maxlen)
    }

    /// Pushes one `value` at `end` of the list `dst` (which exists if `exists`).
    fn push_one(&mut self, dst: &[u8], end: End, exists: bool, value: &[u8]) -> Result<()> {
        self.push_values(dst, end, exists, &[value]).map(drop)
    }

    /// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`: pops an element from `from` of
    /// `src` and pushes it at `to` of `dst`, atomically; returns it, `None` if `src` does not
    /// exist. `src` may be `dst` (a rotation). The source goes with its last element.
    ///
    /// # Errors
    /// `WrongType` if `src` is not a list, or if it is one and `dst` holds another type;
    /// nothing is written then.
    pub fn lmove(&mut self, src: &[u8], dst: &[u8], from: End, to: End) -> Result<Option<Vec<u8>>> {
        if !self.list_exists(src)? {
            return Ok(None);
        }
        let dst_exists = self.list_exists(dst)?;
        let len = self.list_len(src);
        let index = match from {
            End::Left => 0,
            End::Right => len.saturating_sub(1),
        };
        let Some((pos, loc)) = self.list(src).and_then(|l| l.get(index)) else {
            return Ok(None);
        };
        let value = self.read_at(loc)?;
        if src == dst && (len == 1 || from == to) {
            // Popped and pushed back where it was.
            self.touch_list(src);
            return Ok(Some(value));
        }
        if src == dst {
            // A rotation: the element's new record first (the list keeps its other end, so
            // the removal below cannot delete the key), then its old one goes.
            self.push_one(dst, to, true, &value)?;
            // A renumbering may have moved the element: it is still at the same end.
            let len = self.list_len(src);
            let index = match from {
                End::Left => 0,
                End::Right => len.saturating_sub(1),
            };
            if let Some((pos, _)) = self.list(src).and_then(|l| l.get(index)) {
                self.remove_elements(src, &[&encode_position(pos)])?;
            }
            return Ok(Some(value));
        }
        self.remove_elements(src, &[&encode_position(pos)])?;
        self.push_one(dst, to, dst_exists, &value)?;
        Ok(Some(value))
    }

    /// `RPOPLPUSH source destination`: [`Tx::lmove`] from the tail of `src` to the head of
    /// `dst`.
    pub fn rpoplpush(&mut self, src: &[u8], dst: &[u8]) -> Result<Option<Vec<u8>>> {
        self.lmove(src, dst, End::Right, End::Left)
    }

    /// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`: pops up to `count` elements
    /// from `end` of the first of `keys` that holds a list; that key and the elements, `None`
    /// if none does.
    ///
    /// # Errors
    /// `WrongType` for the first key of another type met before a list.
    pub fn lmpop(&mut self, keys: &[&[u8]], end: End, count: u64) -> Result<Option<KeyValues>> {
        for &key in keys {
            if self.list_exists(key)? {
                let values = self.pop_values(key, end, count)?;
                return Ok(Some((key.to_vec(), values)));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::Db;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    fn all(db: &Db, key: &[u8]) -> Result<Vec<Vec<u8>>> {
        db.lrange(key, 0, -1)
    }

    fn texts(values: &[&str]) -> Vec<Vec<u8>> {
        values.iter().map(|v| v.as_bytes().to_vec()).collect()
    }

    #[test]
    fn a_reopen_keeps_the_order_after_every_kind_of_change() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        db.rpush(b"l", &[b"a", b"b", b"c", b"d", b"e", b"f"])?;
        db.lpush(b"l", &[b"y", b"z"])?;
        assert_eq!(db.linsert(b"l", Pivot::Before, b"c", b"x")?, 9);
        assert_eq!(db.linsert(b"l", Pivot::After, b"e", b"w")?, 10);
        assert_eq!(db.lset(b"l", -1, b"F")?, Ok(()));
        assert_eq!(db.lrem(b"l", 1, b"b")?, 1);
        db.ltrim(b"l", 1, -2)?;
        db.rpush(b"other", &[b"1", b"2"])?;
        assert_eq!(
            db.lmove(b"l", b"other", End::Left, End::Right)?,
            Some(b"y".to_vec())
        );
        assert_eq!(
            db.lmove(b"other", b"other", End::Left, End::Right)?,
            Some(b"1".to_vec())
        );
        let want_l = texts(&["a", "x", "c", "d", "e", "w"]);
        let want_other = texts(&["2", "y", "1"]);
        assert_eq!(all(&db, b"l")?, want_l);
        assert_eq!(all(&db, b"other")?, want_other);
        drop(db);
        let db = Db::open(dir.path())?;
        assert_eq!(all(&db, b"l")?, want_l);
        assert_eq!(all(&db, b"other")?, want_other);
        Ok(())
    }

    #[test]
    fn inserting_into_one_gap_until_it_is_used_up_renumbers_and_keeps_order_and_ttl() -> TestResult
    {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        db.rpush(b"l", &[b"first", b"pivot", b"last"])?;
        assert!(db.expire(b"l", Duration::from_secs(1000))?);
        let mut want = texts(&["first"]);
        for i in 0..40 {
            let value = format!("v{i}");
            db.linsert(b"l", Pivot::Before, b"pivot", value.as_bytes())?;
            want.push(value.into_bytes());
        }
        want.extend(texts(&["pivot", "last"]));
        assert_eq!(all(&db, b"l")?, want);
        let expires_at = db.ttl(b"l")?;
        assert!(matches!(expires_at, crate::types::keys::Ttl::At(_)));
        drop(db);
        let db = Db::open(dir.path())?;
        assert_eq!(all(&db, b"l")?, want);
        assert_eq!(db.ttl(b"l")?, expires_at);
        Ok(())
    }

    #[test]
    fn pushes_past_the_end_of_the_position_range_renumber_the_list() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        // A list whose tail sits at the very end of the range, and whose head at its start.
        db.tx(|tx| {
            let db_index = tx.db();
            let tail = encode_position(u64::MAX);
            let head = encode_position(0);
            tx.replace_collection(
                db_index,
                b"l",
                ValueType::List,
                0,
                &[(head.as_slice(), b"head"), (tail.as_slice(), b"tail")],
            )
        })?;
        assert_eq!(db.rpush(b"l", &[b"r1", b"r2"])?, 4);
        db.tx(|tx| {
            let db_index = tx.db();
            let head = encode_position(GAP - 1);
            let tail = encode_position(u64::MAX - 1);
            tx.replace_collection(
                db_index,
                b"m",
                ValueType::List,
                0,
                &[(head.as_slice(), b"head"), (tail.as_slice(), b"tail")],
            )
        })?;
        assert_eq!(db.lpush(b"m", &[b"l1", b"l2"])?, 4);
        assert_eq!(
            db.lmove(b"m", b"m", End::Right, End::Left)?,
            Some(b"tail".to_vec())
        );
        let want_l = texts(&["head", "tail", "r1", "r2"]);
        let want_m = texts(&["tail", "l2", "l1", "head"]);
        assert_eq!(all(&db, b"l")?, want_l);
        assert_eq!(all(&db, b"m")?, want_m);
        drop(db);
        let db = Db::open(dir.path())?;
        assert_eq!(all(&db, b"l")?, want_l);
        assert_eq!(all(&db, b"m")?, want_m);
        Ok(())
    }

    #[test]
    fn deleting_a_large_list_writes_one_small_record() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let values: Vec<Vec<u8>> = (0..100_000).map(|i| format!("v{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        assert_eq!(db.rpush(b"big", &refs)?, 100_000);
        let before = db.log_position();
        assert_eq!(db.del(&[b"big"])?, 1);
        let after = db.log_position();
        assert_eq!(after.0, before.0);
        assert!(
            after.1 - before.1 < 64,
            "DEL wrote {} bytes",
            after.1 - before.1
        );
        assert_eq!(db.llen(b"big")?, 0);
        drop(db);
        let db = Db::open(dir.path())?;
        assert_eq!(db.llen(b"big")?, 0);
        Ok(())
    }

    #[test]
    fn changes_that_change_nothing_write_nothing() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        db.rpush(b"l", &[b"a", b"b"])?;
        db.rpush(b"one", &[b"x"])?;
        let before = db.log_position();
        assert_eq!(db.lset(b"l", 0, b"a")?, Ok(()));
        db.ltrim(b"l", 0, -1)?;
        assert_eq!(db.lrem(b"l", 0, b"zz")?, 0);
        assert_eq!(db.linsert(b"l", Pivot::After, b"zz", b"v")?, -1);
        assert_eq!(db.lpop_count(b"l", 0)?, Some(Vec::new()));
        assert_eq!(
            db.lmove(b"l", b"l", End::Left, End::Left)?,
            Some(b"a".to_vec())
        );
        assert_eq!(
            db.lmove(b"one", b"one", End::Left, End::Right)?,
            Some(b"x".to_vec())
        );
        assert_eq!(db.log_position(), before);
        Ok(())
    }

    #[test]
    fn errors_leave_the_lists_untouched() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        db.rpush(b"l", &[b"a"])?;
        db.set(b"s", b"v", crate::SetOptions::default())?;
        let before = db.log_position();
        assert!(matches!(db.lset(b"nokey", 0, b"x"), Err(Error::NoSuchKey)));
        assert_eq!(db.lset(b"l", 1, b"x")?, Err(ListError::IndexOutOfRange));
        assert!(matches!(
            db.lmove(b"l", b"s", End::Left, End::Left),
            Err(Error::WrongType)
        ));
        assert!(matches!(
            db.lmpop(&[b"nokey", b"s", b"l"], End::Left, 1),
            Err(Error::WrongType)
        ));
        assert_eq!(db.lmove(b"nokey", b"s", End::Left, End::Left)?, None);
        assert_eq!(db.log_position(), before);
        assert_eq!(all(&db, b"l")?, texts(&["a"]));
        Ok(())
    }

    #[test]
    fn lpos_follows_rank_count_and_maxlen() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        db.rpush(b"l", &[b"a", b"b", b"c", b"a", b"b", b"c", b"a"])?;
        assert_eq!(db.lpos(b"l", b"a", 1, 0)?, Some(0));
        assert_eq!(db.lpos(b"l", b"a", -1, 0)?, Some(6));
        assert_eq!(db.lpos(b"l", b"a", 2, 0)?, Some(3));
        assert_eq!(db.lpos(b"l", b"a", -2, 3)?, None);
        assert_eq!(db.lpos_count(b"l", b"a", 1, 0, 0)?, [0, 3, 6]);
        assert_eq!(db.lpos_count(b"l", b"a", -1, 2, 0)?, [6, 3]);
        assert_eq!(db.lpos_count(b"l", b"a", 2, 0, 0)?, [3, 6]);
        assert_eq!(db.lpos_count(b"l", b"a", 1, 0, 3)?, [0]);
        // Redis's wrap-around: -i64::MIN is i64::MIN, and COUNT then never stops the scan.
        assert_eq!(db.lpos_count(b"l", b"a", i64::MIN, 1, 0)?, [6, 3, 0]);
        assert_eq!(db.lpos_count(b"l", b"a", i64::MIN + 1, 1, 0)?, [0u64; 0]);
        assert_eq!(db.lpos(b"nokey", b"a", 1, 0)?, None);
        Ok(())
    }

    #[test]
    fn a_blocked_pop_is_woken_by_a_push_from_another_thread() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let waiter = {
            let db = db.clone();
            std::thread::spawn(move || db.blpop(&[b"a", b"b"], None))
        };
        while db.tx(|tx| Ok(tx.blocked_clients()))? == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(db.rpush(b"b", &[b"x", b"y"])?, 2);
        let got = waiter.join().map_err(|_| "the waiter panicked")??;
        assert_eq!(got, Some((b"b".to_vec(), b"x".to_vec())));
        assert_eq!(all(&db, b"b")?, texts(&["y"]));
        Ok(())
    }

    #[test]
    fn blocked_pops_are_served_in_the_order_they_blocked() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let mut waiters = Vec::new();
        for i in 0..3 {
            let handle = db.clone();
            waiters.push(std::thread::spawn(move || handle.brpop(&[b"q"], None)));
            while db.tx(|tx| Ok(tx.blocked_clients()))? < i + 1 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        // One push of three values: each waiter gets exactly one, the first blocked the tail.
        assert_eq!(db.rpush(b"q", &[b"1", b"2", b"3"])?, 3);
        let mut got = Vec::new();
        for waiter in waiters {
            got.push(waiter.join().map_err(|_| "a waiter panicked")??);
        }
        let want: Vec<Option<(Vec<u8>, Vec<u8>)>> = ["3", "2", "1"]
            .iter()
            .map(|v| Some((b"q".to_vec(), v.as_bytes().to_vec())))
            .collect();
        assert_eq!(got, want);
        assert_eq!(db.llen(b"q")?, 0);
        Ok(())
    }

    #[test]
    fn a_blocked_pop_times_out_with_nothing() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let started = Instant::now();
        assert_eq!(
            db.blpop(&[b"nokey"], Some(Duration::from_millis(50)))?,
            None
        );
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(db.tx(|tx| Ok(tx.blocked_clients()))?, 0);
        db.rpush(b"l", &[b"v"])?;
        assert_eq!(
            db.blmpop(&[b"nokey", b"l"], End::Left, 5, None)?,
            Some((b"l".to_vec(), texts(&["v"])))
        );
        Ok(())
    }

    #[test]
    fn a_blocked_move_pops_and_pushes_in_the_batch_of_the_push_that_wakes_it() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let blocked = |db: &Db| db.tx(|tx| Ok(tx.blocked_clients()));
        let mover = {
            let db = db.clone();
            std::thread::spawn(move || db.blmove(b"src", b"mid", End::Right, End::Left, None))
        };
        while blocked(&db)? < 1 {
            std::thread::sleep(Duration::from_millis(1));
        }
        // The element the mover pushes to `mid` wakes a second waiter in the same batch.
        let popper = {
            let db = db.clone();
            std::thread::spawn(move || db.blpop(&[b"mid"], None))
        };
        while blocked(&db)? < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        // An observer never sees the pushed element still in `src` or sitting in `mid`.
        let looks = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let observer = {
            let (db, looks, stop) = (db.clone(), Arc::clone(&looks), Arc::clone(&stop));
            std::thread::spawn(move || -> Result<()> {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let (src, mid) = db.tx(|tx| Ok((tx.llen(b"src")?, tx.llen(b"mid")?)))?;
                    assert_eq!((src, mid), (0, 0));
                    looks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                Ok(())
            })
        };
        while looks.load(std::sync::atomic::Ordering::SeqCst) == 0 && !observer.is_finished() {
            std::thread::yield_now();
        }
        assert_eq!(db.rpush(b"src", &[b"v"])?, 1);
        let moved = mover.join().map_err(|_| "the mover panicked")??;
        let popped = popper.join().map_err(|_| "the popper panicked")??;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        observer
            .join()
            .map_err(|_| "the observer saw a partial move")??;
        assert_eq!(moved, Some(b"v".to_vec()));
        assert_eq!(popped, Some((b"mid".to_vec(), b"v".to_vec())));
        assert_eq!(blocked(&db)?, 0);
        drop(db);
        let db = Db::open(dir.path())?;
        assert_eq!(db.dbsize()?, 0);
        Ok(())
    }

    #[test]
    fn a_blocked_move_to_a_key_of_another_type_fails_without_popping() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let mover = {
            let db = db.clone();
            std::thread::spawn(move || db.blmove(b"src", b"dst", End::Left, End::Left, None))
        };
        while db.tx(|tx| Ok(tx.blocked_clients()))? < 1 {
            std::thread::sleep(Duration::from_millis(1));
        }
        db.set(b"dst", b"string", crate::SetOptions::default())?;
        assert_eq!(db.rpush(b"src", &[b"v"])?, 1);
        let moved = mover.join().map_err(|_| "the mover panicked")?;
        assert!(matches!(moved, Err(Error::WrongType)));
        assert_eq!(all(&db, b"src")?, texts(&["v"]));
        Ok(())
    }
}
