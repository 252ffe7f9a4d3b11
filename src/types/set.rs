//! Redis sets, over the collection records (see [`crate::collection`]).
//!
//! A set is a collection key whose elements are its members, each an `Element` record with an
//! empty value; the in-RAM [`ElementTable`] holds the members themselves, so every read
//! (SISMEMBER, SMEMBERS, the algebra) is answered from RAM without touching the log.
//!
//! Writes follow the collection rules: SADD writes one record per new member (none for a
//! member already present), SREM and SPOP one `ElementDelete` per removed member, or a single
//! `Delete` of the key when they remove the last ones, so an emptied set disappears as in
//! Redis. SINTERSTORE, SUNIONSTORE and SDIFFSTORE replace their destination wholesale
//! (`Tx::replace_collection`: a new version, no TTL), or delete it when the result is empty.
//!
//! Type checks follow Redis 7.0: the algebra commands (SINTER, SUNION, SDIFF, their STORE
//! forms, SINTERCARD) look every source key up and answer WRONGTYPE if any holds another type,
//! even when an earlier key is missing (which, for an intersection, already decides the
//! result). SMOVE answers 0 for a missing source before looking at the destination's type.
//!
//! Randomness (SPOP, SRANDMEMBER) draws on [`ElementTable::random`]. Distinct picks use
//! rejection sampling while the request is small against the set, and a partial shuffle of
//! the members otherwise, so neither path degrades when `count` nears the set's size. A
//! negative SRANDMEMBER count (picks that may repeat) is capped at [`MAX_RANDOM_PICKS`]: Redis
//! 7.0 streams any number of picks, up to 2^63, which kvdb cannot build as one reply.

use std::collections::HashSet;

use crate::collection::ElementTable;
use crate::db::Tx;
use crate::error::{Error, Result};
use crate::glob::glob_match;
use crate::keydir::{Location, ValueType};
use crate::types::ScanPage;

/// Most picks one `SRANDMEMBER key -count` returns: larger negative counts are refused
/// ([`Error::NotInteger`]) on a non-empty set. 2^20 picks of short members make a reply of
/// about 100 MB in RAM; the request parser's limit on arguments is the same number.
pub const MAX_RANDOM_PICKS: u64 = 1 << 20;

/// Which algebra operation [`Tx::set_algebra`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    /// Members of every set (SINTER).
    Inter,
    /// Members of any set (SUNION).
    Union,
    /// Members of the first set and of no other (SDIFF).
    Diff,
}

/// The value of a set member's element record: sets store nothing beside the name.
const NO_VALUE: &[u8] = b"";

/// Up to `count` distinct members of `table` at random (all of them, in slot order, when
/// `count` reaches its size).
fn distinct_random(table: &ElementTable<Location>, count: u64) -> Vec<Vec<u8>> {
    let len = table.len();
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count >= len {
        return table.iter().map(|(m, _)| m.to_vec()).collect();
    }
    if count.saturating_mul(3) <= len {
        // Few picks among many members: draw until `count` distinct ones came up; each draw
        // is new with probability above 2/3, so this takes at most 1.5 draws per pick on
        // average.
        let mut seen: HashSet<&[u8]> = HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let Some((member, _)) = table.random() else {
                break;
            };
            if seen.insert(member) {
                out.push(member.to_vec());
            }
        }
        return out;
    }
    // Many picks: shuffle the first `count` positions of the member list.
    let mut members: Vec<&[u8]> = table.iter().map(|(m, _)| m).collect();
    for i in 0..count {
        let j = fastrand::usize(i..members.len());
        members.swap(i, j);
    }
    members.truncate(count);
    members.into_iter().map(<[u8]>::to_vec).collect()
}

impl Tx<'_> {
    /// Whether `key` holds a set (lazily expiring it first); `WrongType` if another type.
    fn set_exists(&mut self, key: &[u8]) -> Result<bool> {
        Ok(self.typed_entry(key, ValueType::Set)?.is_some())
    }

    /// `SADD key member [member ...]`: adds the members, creating the set if needed; returns
    /// how many were not already present (a member given twice counts once).
    pub fn sadd(&mut self, key: &[u8], members: &[&[u8]]) -> Result<u64> {
        let exists = self.set_exists(key)?;
        let table = self.set_members(key);
        let mut fresh: HashSet<&[u8]> = HashSet::with_capacity(members.len());
        let mut elements = Vec::with_capacity(members.len());
        for &member in members {
            if !table.is_some_and(|t| t.contains(member)) && fresh.insert(member) {
                elements.push((member, NO_VALUE));
            }
        }
        self.put_elements(key, ValueType::Set, exists, &elements)?;
        Ok(elements.len() as u64)
    }

    /// `SREM key member [member ...]`: removes the members present; returns how many. The
    /// set is deleted with its last member.
    pub fn srem(&mut self, key: &[u8], members: &[&[u8]]) -> Result<u64> {
        if !self.set_exists(key)? {
            return Ok(0);
        }
        let Some(table) = self.set_members(key) else {
            return Ok(0);
        };
        let mut gone: HashSet<&[u8]> = HashSet::with_capacity(members.len());
        let names: Vec<&[u8]> = members
            .iter()
            .copied()
            .filter(|m| table.contains(m) && gone.insert(m))
            .collect();
        self.remove_elements(key, &names)?;
        Ok(names.len() as u64)
    }

    /// `SMEMBERS key`: every member, in no particular order (empty if the key is missing).
    pub fn smembers(&mut self, key: &[u8]) -> Result<Vec<Vec<u8>>> {
        if !self.set_exists(key)? {
            return Ok(Vec::new());
        }
        Ok(self
            .set_members(key)
            .map(|t| t.iter().map(|(m, _)| m.to_vec()).collect())
            .unwrap_or_default())
    }

    /// `SISMEMBER key member`
    pub fn sismember(&mut self, key: &[u8], member: &[u8]) -> Result<bool> {
        if !self.set_exists(key)? {
            return Ok(false);
        }
        Ok(self.set_members(key).is_some_and(|t| t.contains(member)))
    }

    /// `SMISMEMBER key member [member ...]`: for each member, whether it is in the set.
    pub fn smismember(&mut self, key: &[u8], members: &[&[u8]]) -> Result<Vec<bool>> {
        self.set_exists(key)?;
        let table = self.set_members(key);
        Ok(members
            .iter()
            .map(|m| table.is_some_and(|t| t.contains(m)))
            .collect())
    }

    /// `SCARD key`: the number of members (0 if the key is missing).
    pub fn scard(&mut self, key: &[u8]) -> Result<u64> {
        if !self.set_exists(key)? {
            return Ok(0);
        }
        Ok(self.set_members(key).map_or(0, |t| t.len() as u64))
    }

    /// `SPOP key`: removes and returns a random member; `None` if the key is missing.
    pub fn spop(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if !self.set_exists(key)? {
            return Ok(None);
        }
        let Some(member) = self
            .set_members(key)
            .and_then(ElementTable::random)
            .map(|(m, _)| m.to_vec())
        else {
            return Ok(None);
        };
        self.remove_elements(key, &[&member])?;
        Ok(Some(member))
    }

    /// `SPOP key count`: removes and returns `count` distinct random members (all of them,
    /// deleting the key, when `count` reaches the set's size).
    pub fn spop_count(&mut self, key: &[u8], count: u64) -> Result<Vec<Vec<u8>>> {
        if !self.set_exists(key)? || count == 0 {
            return Ok(Vec::new());
        }
        let popped = self
            .set_members(key)
            .map(|t| distinct_random(t, count))
            .unwrap_or_default();
        let names: Vec<&[u8]> = popped.iter().map(Vec::as_slice).collect();
        self.remove_elements(key, &names)?;
        Ok(popped)
    }

    /// `SRANDMEMBER key`: a random member, without removing it; `None` if the key is missing.
    pub fn srandmember(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if !self.set_exists(key)? {
            return Ok(None);
        }
        Ok(self
            .set_members(key)
            .and_then(ElementTable::random)
            .map(|(m, _)| m.to_vec()))
    }

    /// `SRANDMEMBER key count`: with `count >= 0`, up to `count` distinct random members;
    /// with `count < 0`, exactly `-count` random picks that may repeat.
    ///
    /// # Errors
    /// [`Error::NotInteger`] (out of range) for a negative `count` below
    /// `-`[`MAX_RANDOM_PICKS`] on a non-empty set; `WrongType` if `key` holds another type.
    pub fn srandmember_count(&mut self, key: &[u8], count: i64) -> Result<Vec<Vec<u8>>> {
        if !self.set_exists(key)? || count == 0 {
            return Ok(Vec::new());
        }
        let Some(table) = self.set_members(key) else {
            return Ok(Vec::new());
        };
        if count > 0 {
            return Ok(distinct_random(table, count.unsigned_abs()));
        }
        let picks = count.unsigned_abs();
        if picks > MAX_RANDOM_PICKS {
            return Err(Error::NotInteger);
        }
        Ok((0..picks)
            .filter_map(|_| table.random().map(|(m, _)| m.to_vec()))
            .collect())
    }

    /// `SMOVE source destination member`: moves `member` from one set to the other; false
    /// if `source` is missing or does not hold it. `source == destination` only checks
    /// membership. The destination is created if missing, and keeps its TTL otherwise.
    pub fn smove(&mut self, src: &[u8], dst: &[u8], member: &[u8]) -> Result<bool> {
        // Both keys are looked up (and lazily expired) before any check, as in Redis.
        let src_entry = self.entry(src)?;
        let dst_entry = self.entry(dst)?;
        let Some(src_entry) = src_entry else {
            return Ok(false);
        };
        if src_entry.vtype != ValueType::Set || dst_entry.is_some_and(|e| e.vtype != ValueType::Set)
        {
            return Err(Error::WrongType);
        }
        if !self.set_members(src).is_some_and(|t| t.contains(member)) {
            return Ok(false);
        }
        if src == dst {
            return Ok(true);
        }
        self.remove_elements(src, &[member])?;
        if !self.set_members(dst).is_some_and(|t| t.contains(member)) {
            self.put_elements(
                dst,
                ValueType::Set,
                dst_entry.is_some(),
                &[(member, NO_VALUE)],
            )?;
        }
        Ok(true)
    }

    /// Checks the type of every key in `keys` (WRONGTYPE if any holds something other than a
    /// set), then computes `op` over them; a missing key is an empty set. Stops an
    /// intersection after `limit` members (0: no limit).
    fn set_algebra(&mut self, op: SetOp, keys: &[&[u8]], limit: usize) -> Result<Vec<Vec<u8>>> {
        let mut exists = Vec::with_capacity(keys.len());
        for key in keys {
            exists.push(self.set_exists(key)?);
        }
        let tables: Vec<Option<&ElementTable<Location>>> = keys
            .iter()
            .zip(&exists)
            .map(|(key, &e)| if e { self.set_members(key) } else { None })
            .collect();
        let limit = if limit == 0 { usize::MAX } else { limit };
        Ok(match op {
            SetOp::Inter => {
                // Any missing set empties the intersection; otherwise walk the smallest.
                let Some(mut present) = tables.iter().copied().collect::<Option<Vec<_>>>() else {
                    return Ok(Vec::new());
                };
                present.sort_by_key(|t| t.len());
                let Some((smallest, rest)) = present.split_first() else {
                    return Ok(Vec::new());
                };
                smallest
                    .iter()
                    .map(|(m, _)| m)
                    .filter(|m| rest.iter().all(|t| t.contains(m)))
                    .take(limit)
                    .map(<[u8]>::to_vec)
                    .collect()
            }
            SetOp::Union => {
                let mut seen: HashSet<&[u8]> = HashSet::new();
                let mut out = Vec::new();
                for table in tables.iter().flatten() {
                    for (member, _) in table.iter() {
                        if seen.insert(member) {
                            out.push(member.to_vec());
                        }
                    }
                }
                out
            }
            SetOp::Diff => {
                let Some((Some(first), rest)) = tables.split_first() else {
                    return Ok(Vec::new());
                };
                first
                    .iter()
                    .map(|(m, _)| m)
                    .filter(|m| !rest.iter().flatten().any(|t| t.contains(m)))
                    .map(<[u8]>::to_vec)
                    .collect()
            }
        })
    }

    /// Computes `op` over `keys` and makes `dst` a set of the result (no TTL), or deletes it
    /// when the result is empty. Returns the result's size.
    fn set_algebra_store(&mut self, op: SetOp, dst: &[u8], keys: &[&[u8]]) -> Result<u64> {
        let members = self.set_algebra(op, keys, 0)?;
        let elements: Vec<(&[u8], &[u8])> =
            members.iter().map(|m| (m.as_slice(), NO_VALUE)).collect();
        let db = self.db();
        self.replace_collection(db, dst, ValueType::Set, 0, &elements)?;
        Ok(members.len() as u64)
    }

    /// `SINTER key [key ...]`: the members of every set (empty if any key is missing).
    pub fn sinter(&mut self, keys: &[&[u8]]) -> Result<Vec<Vec<u8>>> {
        self.set_algebra(SetOp::Inter, keys, 0)
    }

    /// `SINTERCARD numkeys key [key ...] [LIMIT limit]`: the size of the intersection,
    /// counting no further than `limit` (0: no limit).
    pub fn sintercard(&mut self, keys: &[&[u8]], limit: u64) -> Result<u64> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(self.set_algebra(SetOp::Inter, keys, limit)?.len() as u64)
    }

    /// `SUNION key [key ...]`: the members of any of the sets.
    pub fn sunion(&mut self, keys: &[&[u8]]) -> Result<Vec<Vec<u8>>> {
        self.set_algebra(SetOp::Union, keys, 0)
    }

    /// `SDIFF key [key ...]`: the members of the first set that are in none of the others.
    pub fn sdiff(&mut self, keys: &[&[u8]]) -> Result<Vec<Vec<u8>>> {
        self.set_algebra(SetOp::Diff, keys, 0)
    }

    /// `SINTERSTORE destination key [key ...]`: stores the intersection in `dst` (replacing
    /// whatever it held, TTL included; deleting it if the result is empty); returns its size.
    pub fn sinterstore(&mut self, dst: &[u8], keys: &[&[u8]]) -> Result<u64> {
        self.set_algebra_store(SetOp::Inter, dst, keys)
    }

    /// `SUNIONSTORE destination key [key ...]`: as [`Tx::sinterstore`], for the union.
    pub fn sunionstore(&mut self, dst: &[u8], keys: &[&[u8]]) -> Result<u64> {
        self.set_algebra_store(SetOp::Union, dst, keys)
    }

    /// `SDIFFSTORE destination key [key ...]`: as [`Tx::sinterstore`], for the difference.
    pub fn sdiffstore(&mut self, dst: &[u8], keys: &[&[u8]]) -> Result<u64> {
        self.set_algebra_store(SetOp::Diff, dst, keys)
    }

    /// `SSCAN key cursor [MATCH pattern] [COUNT count]`: visits up to `count` members from
    /// `cursor` (a slot index, see [`ElementTable::scan`]) and returns those matching
    /// `pattern` in [`ScanPage::keys`], with the next cursor (0 when done). A member present
    /// for a whole iteration is returned exactly once.
    pub fn sscan(
        &mut self,
        key: &[u8],
        cursor: u64,
        pattern: Option<&[u8]>,
        count: usize,
    ) -> Result<ScanPage> {
        let empty = ScanPage {
            cursor: 0,
            keys: Vec::new(),
        };
        if !self.set_exists(key)? {
            return Ok(empty);
        }
        let Some(table) = self.set_members(key) else {
            return Ok(empty);
        };
        let (page, next) = table.scan(cursor, count);
        let keys = page
            .into_iter()
            .map(|(m, _)| m)
            .filter(|m| pattern.is_none_or(|p| p == b"*" || glob_match(p, m, false)))
            .map(<[u8]>::to_vec)
            .collect();
        Ok(ScanPage { cursor: next, keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Db;
    use std::collections::BTreeSet;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    fn sorted(members: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let mut members = members;
        members.sort();
        members
    }

    fn names(count: usize) -> Vec<Vec<u8>> {
        (0..count)
            .map(|i| format!("member:{i}").into_bytes())
            .collect()
    }

    fn refs(members: &[Vec<u8>]) -> Vec<&[u8]> {
        members.iter().map(Vec::as_slice).collect()
    }

    #[test]
    fn a_set_of_a_thousand_members_survives_a_reopen() -> TestResult {
        let dir = tempfile::tempdir()?;
        let members = names(1000);
        {
            let db = Db::open(dir.path())?;
            // Added in several commands, with some removed and re-added, so the log holds
            // creations, additions and tombstones.
            for chunk in members.chunks(100) {
                assert_eq!(db.sadd(b"s", &refs(chunk))?, 100);
            }
            assert_eq!(db.srem(b"s", &refs(&members[..10]))?, 10);
            assert_eq!(db.sadd(b"s", &refs(&members[..10]))?, 10);
            assert_eq!(db.scard(b"s")?, 1000);
        }
        let db = Db::open(dir.path())?;
        assert_eq!(db.scard(b"s")?, 1000);
        assert_eq!(sorted(db.smembers(b"s")?), sorted(members.clone()));
        assert!(db.sismember(b"s", b"member:999")?);
        Ok(())
    }

    #[test]
    fn removing_every_member_leaves_no_key() -> TestResult {
        let dir = tempfile::tempdir()?;
        let members = names(50);
        {
            let db = Db::open(dir.path())?;
            db.sadd(b"s", &refs(&members))?;
            assert_eq!(db.srem(b"s", &refs(&members[..25]))?, 25);
            assert_eq!(db.value_type(b"s")?, Some(ValueType::Set));
            assert_eq!(db.srem(b"s", &refs(&members))?, 25);
            assert_eq!(db.value_type(b"s")?, None);
            assert_eq!(db.dbsize()?, 0);
            // SPOP and SMOVE empty a set too.
            db.sadd(b"p", &[b"a", b"b"])?;
            assert_eq!(db.spop_count(b"p", 2)?.len(), 2);
            assert_eq!(db.value_type(b"p")?, None);
            db.sadd(b"m", &[b"a"])?;
            assert!(db.smove(b"m", b"n", b"a")?);
            assert_eq!(db.value_type(b"m")?, None);
        }
        let db = Db::open(dir.path())?;
        assert_eq!(db.dbsize()?, 1);
        assert_eq!(db.smembers(b"n")?, vec![b"a".to_vec()]);
        Ok(())
    }

    #[test]
    fn writes_are_one_record_per_changed_member() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        db.sadd(b"s", &refs(&names(1000)))?;
        let before = db.log_position();
        // A present member: nothing written at all.
        assert_eq!(db.sadd(b"s", &[b"member:7"])?, 0);
        assert_eq!(db.srem(b"s", &[b"absent"])?, 0);
        assert!(db.smove(b"s", b"s", b"member:7")?);
        assert_eq!(db.log_position(), before);
        // One member popped: one small record, not a rewrite of the 1000.
        assert!(db.spop(b"s")?.is_some());
        let after = db.log_position();
        assert_eq!(after.0, before.0);
        assert!(after.1 - before.1 < 100, "{} bytes", after.1 - before.1);
        Ok(())
    }

    #[test]
    fn random_picks_are_members_and_distinct_when_asked() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let members = names(30);
        db.sadd(b"s", &refs(&members))?;
        let all: BTreeSet<Vec<u8>> = members.iter().cloned().collect();
        // Both strategies: few picks (rejection sampling) and many (partial shuffle).
        for count in [1, 5, 10, 11, 20, 29, 30, 31, 1000] {
            let picked = db.srandmember_count(b"s", count)?;
            let distinct: BTreeSet<Vec<u8>> = picked.iter().cloned().collect();
            assert_eq!(picked.len(), count.min(30) as usize);
            assert_eq!(distinct.len(), picked.len());
            assert!(distinct.is_subset(&all));
        }
        let repeated = db.srandmember_count(b"s", -100)?;
        assert_eq!(repeated.len(), 100);
        assert!(repeated.iter().all(|m| all.contains(m)));
        // SPOP's picks leave the set.
        let popped = db.spop_count(b"s", 12)?;
        assert_eq!(popped.iter().collect::<BTreeSet<_>>().len(), 12);
        for member in &popped {
            assert!(!db.sismember(b"s", member)?);
        }
        assert_eq!(db.scard(b"s")?, 18);
        Ok(())
    }

    #[test]
    fn a_huge_negative_random_count_is_refused_only_on_a_non_empty_set() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        // Redis answers an empty array for a missing key whatever the count.
        assert_eq!(
            db.srandmember_count(b"s", -i64::MAX)?,
            Vec::<Vec<u8>>::new()
        );
        db.sadd(b"s", &[b"a"])?;
        assert!(matches!(
            db.srandmember_count(b"s", -i64::MAX),
            Err(Error::NotInteger)
        ));
        assert_eq!(
            db.srandmember_count(b"s", -(MAX_RANDOM_PICKS as i64))?
                .len(),
            MAX_RANDOM_PICKS as usize
        );
        // Positive counts are bounded by the set's size.
        assert_eq!(db.srandmember_count(b"s", i64::MAX)?, vec![b"a".to_vec()]);
        assert_eq!(db.spop_count(b"s", u64::MAX)?, vec![b"a".to_vec()]);
        Ok(())
    }

    #[test]
    fn a_full_sscan_returns_every_member_exactly_once_despite_changes() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let members = names(500);
        db.sadd(b"s", &refs(&members))?;
        let mut seen = Vec::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            let page = db.sscan(b"s", cursor, None, 7)?;
            seen.extend(page.keys);
            // Churn: add and remove other members meanwhile.
            let extra = format!("extra:{step}").into_bytes();
            db.sadd(b"s", &[&extra])?;
            if step % 2 == 0 {
                db.srem(b"s", &[&extra])?;
            }
            step += 1;
            cursor = page.cursor;
            if cursor == 0 {
                break;
            }
        }
        for member in &members {
            assert_eq!(seen.iter().filter(|m| *m == member).count(), 1);
        }
        let matched = db.sscan(b"s", 0, Some(b"member:1?"), 10_000)?;
        assert_eq!(matched.cursor, 0);
        assert_eq!(matched.keys.len(), 10);
        Ok(())
    }

    #[test]
    fn store_commands_replace_the_destination_and_drop_its_ttl() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        db.sadd(b"a", &[b"1", b"2", b"3"])?;
        db.sadd(b"b", &[b"2", b"3", b"4"])?;
        db.set(b"d", b"string", crate::SetOptions::default())?;
        db.expire(b"d", std::time::Duration::from_secs(1000))?;
        assert_eq!(db.sinterstore(b"d", &[b"a", b"b"])?, 2);
        assert_eq!(db.ttl(b"d")?, crate::Ttl::Persistent);
        assert_eq!(
            sorted(db.smembers(b"d")?),
            vec![b"2".to_vec(), b"3".to_vec()]
        );
        // The destination as a source.
        assert_eq!(db.sunionstore(b"a", &[b"a", b"b"])?, 4);
        assert_eq!(db.sdiffstore(b"a", &[b"a", b"b"])?, 1);
        assert_eq!(db.smembers(b"a")?, vec![b"1".to_vec()]);
        // An empty result deletes the destination.
        assert_eq!(db.sinterstore(b"d", &[b"d", b"missing"])?, 0);
        assert_eq!(db.value_type(b"d")?, None);
        Ok(())
    }
}
