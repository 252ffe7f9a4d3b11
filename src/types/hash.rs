//! Redis hashes, over the collection records (see [`crate::collection`]).
//!
//! A hash is a `Meta` record plus one `Element` record per field, whose value is the field's
//! value. RAM holds only the field names and the location of each field's record
//! ([`ElementTable<Location>`]); every value read (HGET, HGETALL, HRANDFIELD ... WITHVALUES,
//! HSCAN) is one read of the log, and every changed field is one record.
//!
//! Writes follow the collection rules of [`crate::types::collection`]: a command that creates
//! the hash writes its `Meta` and its fields in one batch, HDEL of the last fields deletes the
//! key with one tombstone, and a field whose value does not change is not written again (HSET
//! of the same value, HINCRBY by 0). Redis still counts such a command as a change of the key
//! for WATCH, so those commands touch the key's watchers without writing anything.
//!
//! Redis checks arguments in a fixed order, visible when several are wrong at once: the
//! numeric argument of HINCRBY / HINCRBYFLOAT / HRANDFIELD before the key's type, the key's
//! type before the field's value. The methods here keep that order for what they are given;
//! the command layer parses the arguments first.
//!
//! Randomness (HRANDFIELD) draws on [`ElementTable::random`]. Distinct picks use rejection
//! sampling while the request is small against the hash and a partial shuffle otherwise.
//! Picks that may repeat (a negative count) are bounded: Redis 7.0 streams any number of
//! them, up to 2^63, which kvdb cannot build as one reply, so more than [`MAX_RANDOM_PICKS`]
//! picks, or picks whose fields and values add up to more than [`MAX_RANDOM_BYTES`], are
//! refused with Redis's own range error, [`HashError::CountOutOfRange`].

use std::collections::{HashMap, HashSet};

use crate::collection::ElementTable;
use crate::db::Tx;
use crate::error::Result;
use crate::glob::glob_match;
use crate::keydir::{Location, ValueType};
use crate::types::long_double::{self, HIncrFloatError};
use crate::types::string::parse_i64;

/// Most picks one `HRANDFIELD key -count` returns: larger negative counts are refused on a
/// non-empty hash. The same bound as SRANDMEMBER's and as the request parser's argument count.
pub const MAX_RANDOM_PICKS: u64 = 1 << 20;

/// Most bytes of fields and values (counting every repeat) one `HRANDFIELD key -count`
/// returns: picks of large values are refused before they are copied.
pub const MAX_RANDOM_BYTES: usize = 256 * 1024 * 1024;

/// Errors of the hash commands that [`crate::Error`] has no variant for. `Display` gives
/// Redis's reply text without the `ERR ` prefix.
///
/// The methods that can fail this way return `Result<Result<T, HashError>>`: the outer error
/// is the store's (I/O, WRONGTYPE), the inner one the command's refusal. Nothing has been
/// written when the inner error is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// HINCRBY: the field holds something `string2ll` does not accept.
    #[error("hash value is not an integer")]
    NotInteger,
    /// HINCRBY: the sum does not fit in a signed 64-bit integer.
    #[error("increment or decrement would overflow")]
    Overflow,
    /// HINCRBYFLOAT: the increment or the field's value is not a float, the increment is
    /// infinite, or the sum is.
    #[error(transparent)]
    Float(#[from] HIncrFloatError),
    /// HRANDFIELD: the count is beyond what is returned (see [`MAX_RANDOM_PICKS`]).
    #[error("value is out of range")]
    CountOutOfRange,
}

/// Fields with their values, as HGETALL and HRANDFIELD ... WITHVALUES return them.
pub type FieldValues = Vec<(Vec<u8>, Vec<u8>)>;

/// One page of HSCAN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashScanPage {
    /// Cursor for the next call; 0 when the scan is complete.
    pub cursor: u64,
    /// The fields of this page that match the pattern, with their values.
    pub pairs: FieldValues,
}

/// Up to `count` distinct fields of `table` at random (all of them, in slot order, when
/// `count` reaches its size).
fn distinct_random(table: &ElementTable<Location>, count: u64) -> Vec<(&[u8], Location)> {
    let len = table.len();
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count >= len {
        return table.iter().map(|(f, &loc)| (f, loc)).collect();
    }
    if count.saturating_mul(3) <= len {
        // Few picks among many fields: draw until `count` distinct ones came up; each draw is
        // new with probability above 2/3, so this takes at most 1.5 draws per pick on average.
        let mut seen: HashSet<&[u8]> = HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let Some((field, &loc)) = table.random() else {
                break;
            };
            if seen.insert(field) {
                out.push((field, loc));
            }
        }
        return out;
    }
    // Many picks: shuffle the first `count` positions of the field list.
    let mut fields: Vec<(&[u8], Location)> = table.iter().map(|(f, &loc)| (f, loc)).collect();
    for i in 0..count {
        let j = fastrand::usize(i..fields.len());
        fields.swap(i, j);
    }
    fields.truncate(count);
    fields
}

/// `picks` fields of `table` at random, possibly repeated; `None` beyond [`MAX_RANDOM_PICKS`].
fn repeated_random(table: &ElementTable<Location>, picks: u64) -> Option<Vec<(&[u8], Location)>> {
    if picks > MAX_RANDOM_PICKS {
        return None;
    }
    Some(
        (0..picks)
            .filter_map(|_| table.random().map(|(f, &loc)| (f, loc)))
            .collect(),
    )
}

impl Tx<'_> {
    /// Whether `key` holds a hash (lazily expiring it first); `WrongType` if another type.
    fn hash_exists(&mut self, key: &[u8]) -> Result<bool> {
        Ok(self.typed_entry(key, ValueType::Hash)?.is_some())
    }

    /// The value of `field` in the hash `key` (after [`Tx::hash_exists`]).
    fn field_value(&self, key: &[u8], field: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.hash_fields(key).and_then(|t| t.get(field)) {
            Some(&loc) => Ok(Some(self.read_at(loc)?)),
            None => Ok(None),
        }
    }

    /// Writes `fields` (distinct names, each with a new or changed value) into the hash `key`,
    /// creating it unless `exists`. With nothing to write, marks the key as changed for WATCH
    /// only, as Redis signals every successful write command.
    fn put_fields(&mut self, key: &[u8], exists: bool, fields: &[(&[u8], &[u8])]) -> Result<()> {
        if fields.is_empty() {
            let db = self.db();
            self.engine_mut().watches_mut().touch(db, key);
            return Ok(());
        }
        self.put_elements(key, ValueType::Hash, exists, fields)
    }

    /// `HSET key field value [field value ...]`: sets the fields, creating the hash if
    /// needed; returns how many fields were new. A field given twice takes its last value and
    /// counts once; a field whose value does not change is not written.
    pub fn hset(&mut self, key: &[u8], pairs: &[(&[u8], &[u8])]) -> Result<u64> {
        let exists = self.hash_exists(key)?;
        // The last value of each field, in the order fields first appear.
        let mut position: HashMap<&[u8], usize> = HashMap::with_capacity(pairs.len());
        let mut last: Vec<(&[u8], &[u8])> = Vec::with_capacity(pairs.len());
        for &(field, value) in pairs {
            match position.get(field) {
                Some(&i) => {
                    if let Some(slot) = last.get_mut(i) {
                        slot.1 = value;
                    }
                }
                None => {
                    position.insert(field, last.len());
                    last.push((field, value));
                }
            }
        }
        let table = self.hash_fields(key);
        let mut added = 0;
        let mut writes = Vec::with_capacity(last.len());
        for (field, value) in last {
            match table.and_then(|t| t.get(field)) {
                None => {
                    added += 1;
                    writes.push((field, value));
                }
                Some(&loc) => {
                    if self.read_at(loc)? != value {
                        writes.push((field, value));
                    }
                }
            }
        }
        self.put_fields(key, exists, &writes)?;
        Ok(added)
    }

    /// `HMSET key field value [field value ...]`: [`Tx::hset`] without the count (Redis
    /// answers OK).
    pub fn hmset(&mut self, key: &[u8], pairs: &[(&[u8], &[u8])]) -> Result<()> {
        self.hset(key, pairs).map(drop)
    }

    /// `HSETNX key field value`: sets the field only if it does not exist; whether it did.
    pub fn hsetnx(&mut self, key: &[u8], field: &[u8], value: &[u8]) -> Result<bool> {
        let exists = self.hash_exists(key)?;
        if self.hash_fields(key).is_some_and(|t| t.contains(field)) {
            return Ok(false);
        }
        self.put_fields(key, exists, &[(field, value)])?;
        Ok(true)
    }

    /// `HGET key field`: the value, `None` if the field or the key does not exist.
    pub fn hget(&mut self, key: &[u8], field: &[u8]) -> Result<Option<Vec<u8>>> {
        if !self.hash_exists(key)? {
            return Ok(None);
        }
        self.field_value(key, field)
    }

    /// `HMGET key field [field ...]`: the value of each field, `None` where missing.
    pub fn hmget(&mut self, key: &[u8], fields: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        if !self.hash_exists(key)? {
            return Ok(vec![None; fields.len()]);
        }
        fields
            .iter()
            .map(|field| self.field_value(key, field))
            .collect()
    }

    /// `HGETALL key`: every field with its value, in slot order (Redis's order is
    /// unspecified too).
    pub fn hgetall(&mut self, key: &[u8]) -> Result<FieldValues> {
        if !self.hash_exists(key)? {
            return Ok(Vec::new());
        }
        let Some(table) = self.hash_fields(key) else {
            return Ok(Vec::new());
        };
        table
            .iter()
            .map(|(field, &loc)| Ok((field.to_vec(), self.read_at(loc)?)))
            .collect()
    }

    /// `HKEYS key`: every field, in the order of [`Tx::hgetall`].
    pub fn hkeys(&mut self, key: &[u8]) -> Result<Vec<Vec<u8>>> {
        if !self.hash_exists(key)? {
            return Ok(Vec::new());
        }
        Ok(self
            .hash_fields(key)
            .map(|t| t.iter().map(|(field, _)| field.to_vec()).collect())
            .unwrap_or_default())
    }

    /// `HVALS key`: every value, in the order of [`Tx::hgetall`].
    pub fn hvals(&mut self, key: &[u8]) -> Result<Vec<Vec<u8>>> {
        if !self.hash_exists(key)? {
            return Ok(Vec::new());
        }
        let Some(table) = self.hash_fields(key) else {
            return Ok(Vec::new());
        };
        table.iter().map(|(_, &loc)| self.read_at(loc)).collect()
    }

    /// `HDEL key field [field ...]`: removes the fields present; returns how many (a field
    /// given twice counts once). The hash is deleted with its last field.
    pub fn hdel(&mut self, key: &[u8], fields: &[&[u8]]) -> Result<u64> {
        if !self.hash_exists(key)? {
            return Ok(0);
        }
        let Some(table) = self.hash_fields(key) else {
            return Ok(0);
        };
        let mut gone: HashSet<&[u8]> = HashSet::with_capacity(fields.len());
        let names: Vec<&[u8]> = fields
            .iter()
            .copied()
            .filter(|&field| table.contains(field) && gone.insert(field))
            .collect();
        self.remove_elements(key, &names)?;
        Ok(names.len() as u64)
    }

    /// `HEXISTS key field`
    pub fn hexists(&mut self, key: &[u8], field: &[u8]) -> Result<bool> {
        if !self.hash_exists(key)? {
            return Ok(false);
        }
        Ok(self.hash_fields(key).is_some_and(|t| t.contains(field)))
    }

    /// `HLEN key`: the number of fields, 0 if the key does not exist.
    pub fn hlen(&mut self, key: &[u8]) -> Result<u64> {
        if !self.hash_exists(key)? {
            return Ok(0);
        }
        Ok(self.hash_fields(key).map_or(0, |t| t.len() as u64))
    }

    /// `HSTRLEN key field`: the length of the field's value, 0 if it does not exist.
    pub fn hstrlen(&mut self, key: &[u8], field: &[u8]) -> Result<u64> {
        Ok(self.hget(key, field)?.map_or(0, |v| v.len() as u64))
    }

    /// `HINCRBY key field increment`: adds `delta` to the field's integer value (0 if the
    /// field does not exist, creating the hash if needed); returns the new value.
    ///
    /// # Errors
    /// `WrongType` for a key of another type; [`HashError::NotInteger`] if the field holds
    /// something else than a decimal `i64`, [`HashError::Overflow`] if the sum overflows.
    pub fn hincrby(
        &mut self,
        key: &[u8],
        field: &[u8],
        delta: i64,
    ) -> Result<Result<i64, HashError>> {
        let exists = self.hash_exists(key)?;
        let current = self.field_value(key, field)?;
        let old = match current.as_deref() {
            Some(bytes) => match parse_i64(bytes) {
                Some(n) => n,
                None => return Ok(Err(HashError::NotInteger)),
            },
            None => 0,
        };
        let Some(new) = old.checked_add(delta) else {
            return Ok(Err(HashError::Overflow));
        };
        let text = new.to_string();
        let writes: &[(&[u8], &[u8])] = if current.as_deref() == Some(text.as_bytes()) {
            &[]
        } else {
            &[(field, text.as_bytes())]
        };
        self.put_fields(key, exists, writes)?;
        Ok(Ok(new))
    }

    /// `HINCRBYFLOAT key field increment`: adds `incr` to the field's value (0 if the field
    /// does not exist, creating the hash if needed) in Redis's `long double` arithmetic (see
    /// [`long_double::hincr_by_float`]); returns the new value as stored.
    ///
    /// # Errors
    /// In Redis's order: [`HashError::Float`] if `incr` is not a float or is infinite (before
    /// the key is looked at); `WrongType`; [`HashError::Float`] if the field's value is not a
    /// float or the sum is not finite.
    pub fn hincrbyfloat(
        &mut self,
        key: &[u8],
        field: &[u8],
        incr: &[u8],
    ) -> Result<Result<Vec<u8>, HashError>> {
        if let Err(e) = long_double::hincr_by_float(None, incr) {
            return Ok(Err(e.into()));
        }
        let exists = self.hash_exists(key)?;
        let current = self.field_value(key, field)?;
        let new = match long_double::hincr_by_float(current.as_deref(), incr) {
            Ok(new) => new.into_bytes(),
            Err(e) => return Ok(Err(e.into())),
        };
        let writes: &[(&[u8], &[u8])] = if current.as_deref() == Some(new.as_slice()) {
            &[]
        } else {
            &[(field, new.as_slice())]
        };
        self.put_fields(key, exists, writes)?;
        Ok(Ok(new))
    }

    /// `HRANDFIELD key`: a random field, `None` if the key does not exist.
    pub fn hrandfield(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if !self.hash_exists(key)? {
            return Ok(None);
        }
        Ok(self
            .hash_fields(key)
            .and_then(ElementTable::random)
            .map(|(field, _)| field.to_vec()))
    }

    /// The fields HRANDFIELD with a count picks: for `count >= 0` up to `count` distinct
    /// ones, for `count < 0` exactly `-count` that may repeat (`None` when too many). After
    /// [`Tx::hash_exists`].
    fn random_fields(&self, key: &[u8], count: i64) -> Option<Vec<(&[u8], Location)>> {
        let Some(table) = self.hash_fields(key) else {
            return Some(Vec::new());
        };
        if count >= 0 {
            Some(distinct_random(table, count.unsigned_abs()))
        } else {
            repeated_random(table, count.unsigned_abs())
        }
    }

    /// `HRANDFIELD key count`: with `count >= 0`, up to `count` distinct random fields (all
    /// of them if `count` reaches the hash's size); with `count < 0`, exactly `-count` random
    /// picks that may repeat. Empty if the key does not exist.
    ///
    /// # Errors
    /// `WrongType`; [`HashError::CountOutOfRange`] for a negative `count` beyond
    /// [`MAX_RANDOM_PICKS`] or [`MAX_RANDOM_BYTES`] on a non-empty hash.
    pub fn hrandfield_count(
        &mut self,
        key: &[u8],
        count: i64,
    ) -> Result<Result<Vec<Vec<u8>>, HashError>> {
        if !self.hash_exists(key)? {
            return Ok(Ok(Vec::new()));
        }
        let Some(picks) = self.random_fields(key, count) else {
            return Ok(Err(HashError::CountOutOfRange));
        };
        let bytes: usize = picks.iter().map(|(field, _)| field.len()).sum();
        if bytes > MAX_RANDOM_BYTES {
            return Ok(Err(HashError::CountOutOfRange));
        }
        Ok(Ok(picks
            .into_iter()
            .map(|(field, _)| field.to_vec())
            .collect()))
    }

    /// `HRANDFIELD key count WITHVALUES`: the picks of [`Tx::hrandfield_count`], each with
    /// its value.
    ///
    /// # Errors
    /// As [`Tx::hrandfield_count`]; the byte bound counts the values too.
    pub fn hrandfield_with_values(
        &mut self,
        key: &[u8],
        count: i64,
    ) -> Result<Result<FieldValues, HashError>> {
        if !self.hash_exists(key)? {
            return Ok(Ok(Vec::new()));
        }
        let Some(picks) = self.random_fields(key, count) else {
            return Ok(Err(HashError::CountOutOfRange));
        };
        // Each field's value is read once however often it was picked, and the total is
        // checked before anything is copied.
        let mut values: HashMap<&[u8], Vec<u8>> = HashMap::new();
        let mut bytes = 0usize;
        for &(field, loc) in &picks {
            let len = match values.get(field) {
                Some(value) => value.len(),
                None => {
                    let value = self.read_at(loc)?;
                    let len = value.len();
                    values.insert(field, value);
                    len
                }
            };
            bytes = bytes.saturating_add(field.len() + len);
            if bytes > MAX_RANDOM_BYTES {
                return Ok(Err(HashError::CountOutOfRange));
            }
        }
        Ok(Ok(picks
            .into_iter()
            .map(|(field, _)| {
                let value = values.get(field).cloned().unwrap_or_default();
                (field.to_vec(), value)
            })
            .collect()))
    }

    /// `HSCAN key cursor [MATCH pattern] [COUNT count]`: visits `count` slots of the hash
    /// from `cursor` (a slot index, see [`ElementTable::scan`]) and returns the fields among
    /// them matching `pattern`, with their values and the next cursor (0 when done). A field
    /// present for a whole iteration is returned exactly once.
    pub fn hscan(
        &mut self,
        key: &[u8],
        cursor: u64,
        pattern: Option<&[u8]>,
        count: usize,
    ) -> Result<HashScanPage> {
        if !self.hash_exists(key)? {
            return Ok(HashScanPage::default());
        }
        let Some(table) = self.hash_fields(key) else {
            return Ok(HashScanPage::default());
        };
        let (page, next) = table.scan(cursor, count);
        let pairs = page
            .into_iter()
            .filter(|(field, _)| pattern.is_none_or(|p| p == b"*" || glob_match(p, field, false)))
            .map(|(field, &loc)| Ok((field.to_vec(), self.read_at(loc)?)))
            .collect::<Result<_>>()?;
        Ok(HashScanPage {
            cursor: next,
            pairs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Db;
    use std::collections::BTreeMap;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    fn sorted(pairs: FieldValues) -> BTreeMap<Vec<u8>, Vec<u8>> {
        pairs.into_iter().collect()
    }

    #[test]
    fn a_hash_of_a_thousand_fields_survives_a_reopen() -> TestResult {
        let dir = tempfile::tempdir()?;
        let mut expected = BTreeMap::new();
        {
            let db = Db::open(dir.path())?;
            for i in 0..1000 {
                let field = format!("field:{i}").into_bytes();
                // Short values, and every tenth one large enough to be stored compressed.
                let value = if i % 10 == 0 {
                    format!("{i}:").repeat(1000).into_bytes()
                } else {
                    format!("v{i}").into_bytes()
                };
                assert_eq!(db.hset(b"h", &[(&field, &value)])?, 1);
                expected.insert(field, value);
            }
            // Overwrites and removals are replayed too.
            db.hset(b"h", &[(b"field:1", b"changed")])?;
            expected.insert(b"field:1".to_vec(), b"changed".to_vec());
            assert_eq!(db.hdel(b"h", &[b"field:2", b"field:3", b"nope"])?, 2);
            expected.remove(b"field:2".as_slice());
            expected.remove(b"field:3".as_slice());
            assert_eq!(sorted(db.hgetall(b"h")?), expected);
        }
        let db = Db::open(dir.path())?;
        assert_eq!(db.hlen(b"h")?, expected.len() as u64);
        assert_eq!(sorted(db.hgetall(b"h")?), expected);
        assert_eq!(
            db.hget(b"h", b"field:10")?,
            expected.get(b"field:10".as_slice()).cloned()
        );
        Ok(())
    }

    #[test]
    fn deleting_every_field_deletes_the_key() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let fields: Vec<Vec<u8>> = (0..50).map(|i| format!("f{i}").into_bytes()).collect();
        for field in &fields {
            db.hset(b"h", &[(field, b"v")])?;
        }
        // All but the last one, one HDEL at a time, then the last one with a repeat.
        for field in &fields[..49] {
            assert_eq!(db.hdel(b"h", &[field])?, 1);
        }
        assert_eq!(db.exists(&[b"h"])?, 1);
        assert_eq!(db.hdel(b"h", &[b"f49", b"f49"])?, 1);
        assert_eq!(db.exists(&[b"h"])?, 0);
        assert_eq!(db.value_type(b"h")?, None);
        assert_eq!(
            db.execute(&["TYPE", "h"]),
            crate::Reply::Status("none".into())
        );
        drop(db);
        let db = Db::open(dir.path())?;
        assert_eq!(db.exists(&[b"h"])?, 0);
        assert_eq!(db.hlen(b"h")?, 0);
        Ok(())
    }

    #[test]
    fn hset_of_an_unchanged_value_writes_nothing_and_a_new_value_one_record() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        db.hset(b"h", &[(b"a", b"1"), (b"b", b"2")])?;
        let before = db.log_position();
        assert_eq!(db.hset(b"h", &[(b"a", b"1")])?, 0);
        assert_eq!(db.hincrby(b"h", b"b", 0)?, Ok(2));
        assert_eq!(db.log_position(), before);
        assert_eq!(db.hset(b"h", &[(b"a", b"3")])?, 0);
        let (segment, offset) = db.log_position();
        assert_eq!(segment, before.0);
        let element = crate::log::record::HEADER_LEN + 1 + 8 + 1 + 1;
        assert_eq!(offset - before.1, element as u64);
        assert_eq!(db.hget(b"h", b"a")?, Some(b"3".to_vec()));
        Ok(())
    }

    #[test]
    fn a_field_given_twice_takes_its_last_value_and_counts_once() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        assert_eq!(
            db.hset(b"h", &[(b"a", b"1"), (b"a", b"2"), (b"b", b"3")])?,
            2
        );
        assert_eq!(db.hget(b"h", b"a")?, Some(b"2".to_vec()));
        assert_eq!(db.hlen(b"h")?, 2);
        Ok(())
    }

    #[test]
    fn counters_refuse_bad_values_without_writing() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        db.hset(b"h", &[(b"n", b"9223372036854775807"), (b"s", b" 1")])?;
        let before = db.log_position();
        assert_eq!(db.hincrby(b"h", b"n", 1)?, Err(HashError::Overflow));
        assert_eq!(db.hincrby(b"h", b"s", 1)?, Err(HashError::NotInteger));
        assert_eq!(
            db.hincrbyfloat(b"h", b"s", b"1")?,
            Err(HashError::Float(HIncrFloatError::HashValueNotFloat))
        );
        assert_eq!(
            db.hincrbyfloat(b"h", b"x", b"inf")?,
            Err(HashError::Float(HIncrFloatError::IncrementNotFinite))
        );
        assert_eq!(db.log_position(), before);
        assert_eq!(db.hincrbyfloat(b"h", b"f", b"0.1")?, Ok(b"0.1".to_vec()));
        assert_eq!(db.hincrbyfloat(b"h", b"f", b"0.2")?, Ok(b"0.3".to_vec()));
        Ok(())
    }

    #[test]
    fn the_increment_is_checked_before_the_type_of_the_key() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        db.set(b"s", b"x", crate::SetOptions::default())?;
        assert_eq!(
            db.hincrbyfloat(b"s", b"f", b"x")?,
            Err(HashError::Float(HIncrFloatError::NotFloat))
        );
        assert!(matches!(
            db.hincrbyfloat(b"s", b"f", b"1"),
            Err(crate::Error::WrongType)
        ));
        Ok(())
    }

    #[test]
    fn random_fields_are_distinct_for_a_positive_count_and_bounded_for_a_negative_one() -> TestResult
    {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let fields: Vec<Vec<u8>> = (0..30).map(|i| format!("f{i}").into_bytes()).collect();
        for field in &fields {
            db.hset(b"h", &[(field, field)])?;
        }
        for count in [1, 5, 10, 25, 29, 30, 100] {
            let picked = db
                .hrandfield_count(b"h", count)?
                .map_err(|e| e.to_string())?;
            let distinct: HashSet<&Vec<u8>> = picked.iter().collect();
            assert_eq!(picked.len(), usize::min(count as usize, 30));
            assert_eq!(distinct.len(), picked.len());
            assert!(picked.iter().all(|f| fields.contains(f)));
        }
        let picked = db
            .hrandfield_with_values(b"h", -100)?
            .map_err(|e| e.to_string())?;
        assert_eq!(picked.len(), 100);
        assert!(picked.iter().all(|(f, v)| f == v && fields.contains(f)));
        assert_eq!(
            db.hrandfield_count(b"h", -(MAX_RANDOM_PICKS as i64) - 1)?,
            Err(HashError::CountOutOfRange)
        );
        assert_eq!(db.hrandfield_count(b"missing", i64::MIN)?, Ok(Vec::new()));
        let big = vec![b'x'; 1024 * 1024];
        db.hset(b"big", &[(b"f", &big)])?;
        assert_eq!(
            db.hrandfield_with_values(b"big", -300)?,
            Err(HashError::CountOutOfRange)
        );
        assert_eq!(db.hrandfield_count(b"big", -300)?.map(|p| p.len()), Ok(300));
        Ok(())
    }

    #[test]
    fn a_scan_returns_every_field_with_its_value_once() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let mut expected = BTreeMap::new();
        for i in 0..200 {
            let (field, value) = (format!("f{i}").into_bytes(), format!("v{i}").into_bytes());
            db.hset(b"h", &[(&field, &value)])?;
            expected.insert(field, value);
        }
        let mut seen = BTreeMap::new();
        let mut cursor = 0;
        loop {
            let page = db.hscan(b"h", cursor, None, 7)?;
            for (field, value) in page.pairs {
                assert!(seen.insert(field, value).is_none());
            }
            cursor = page.cursor;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen, expected);
        let matched = db.hscan(b"h", 0, Some(b"f1?"), 1000)?;
        assert_eq!(matched.cursor, 0);
        assert_eq!(matched.pairs.len(), 10);
        Ok(())
    }
}
