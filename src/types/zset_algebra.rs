//! Sorted-set algebra: ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD, over the
//! collection records (see [`crate::collection`]).
//!
//! Inputs are sorted sets or plain sets (a set member counts with score 1); a missing key is an
//! empty input; any other type is `WRONGTYPE`. Every input is looked up (with lazy expiry)
//! before anything is computed, in argument order, as Redis does, so the first wrong-typed key
//! fails the command before its options are even looked at (see
//! `Tx::check_zset_algebra_inputs`, which the command layer calls for that ordering).
//!
//! Results are computed from the in-RAM indexes into an owned list before anything is
//! written, so a STORE destination may also be one of its inputs. They come out ordered by
//! (score, member), the order of Redis's skiplist, where `-0` and `0` are the same score.
//!
//! Score arithmetic follows `zunionInterDiffGenericCommand` in Redis 7.0 to the last bit:
//! * ZUNION and ZINTER visit the inputs from the smallest to the largest (a stable sort by
//!   cardinality, as glibc's `qsort` is for these sizes), and fold each member's weighted
//!   scores in that order: floating-point addition is not associative, so the order shows in
//!   the last digits of a SUM.
//! * A weighted score that is NaN (`inf * 0`) counts as 0, and so does a SUM that is NaN
//!   (`inf + -inf`). One exception, kept from Redis: in ZINTER the weighted scores after the
//!   first input's are not cleaned, so a NaN one is skipped by MIN and MAX (a comparison with
//!   NaN is false) and turns a SUM into 0.
//! * ZDIFF keeps the first input's scores, unweighted.
//!
//! A stored result keeps `-0` only where Redis would keep it: Redis stores a result of at most
//! 128 members of at most 64 bytes each in its small encoding (listpack), which writes an
//! integral score as an integer and so turns `-0` into `0`; a larger result stays a skiplist
//! with its `-0`. A reply (ZUNION, ZINTER, ZDIFF) is read from the skiplist and keeps `-0`.
//!
//! Memory: the result is bounded by the inputs' sizes; nothing is allocated from a count given
//! by the client (ZINTERCARD's LIMIT only stops the count early).

use std::cmp::Ordering;

use hashbrown::HashMap;
use hashbrown::hash_map::Entry as MapEntry;

use crate::collection::{ElementTable, Elements, ZSet, encode_score};
use crate::db::Tx;
use crate::error::{Error, Result};
use crate::keydir::{Location, ValueType};

/// How ZUNION and ZINTER combine the scores a member has in several inputs (AGGREGATE).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Aggregate {
    /// The sum of the weighted scores (the default); `inf + -inf` gives 0.
    #[default]
    Sum,
    /// The smallest weighted score.
    Min,
    /// The largest weighted score.
    Max,
}

impl Aggregate {
    /// Folds `value` into `target`, as Redis's `zunionInterAggregate`.
    fn apply(self, target: f64, value: f64) -> f64 {
        match self {
            Aggregate::Sum => nan_to_zero(target + value),
            Aggregate::Min => {
                if value < target {
                    value
                } else {
                    target
                }
            }
            Aggregate::Max => {
                if value > target {
                    value
                } else {
                    target
                }
            }
        }
    }
}

/// Members with their scores, ordered by (score, member).
pub type ScoredMembers = Vec<(Vec<u8>, f64)>;

/// Redis's `zset-max-listpack-entries` default: larger results are stored as a skiplist.
const LISTPACK_MAX_ENTRIES: usize = 128;
/// Redis's `zset-max-listpack-value` default: a longer member keeps the skiplist.
const LISTPACK_MAX_VALUE: usize = 64;

fn nan_to_zero(score: f64) -> f64 {
    if score.is_nan() { 0.0 } else { score }
}

/// One input of an operation, as found in the keyspace.
#[derive(Clone, Copy)]
enum Input<'a> {
    /// A missing key: an empty input.
    Missing,
    ZSet(&'a ZSet),
    Set(&'a ElementTable<Location>),
}

impl<'a> Input<'a> {
    fn len(self) -> usize {
        match self {
            Input::Missing => 0,
            Input::ZSet(zset) => zset.len(),
            Input::Set(set) => set.len(),
        }
    }

    /// The score of `member` (1 in a plain set).
    fn score(self, member: &[u8]) -> Option<f64> {
        match self {
            Input::Missing => None,
            Input::ZSet(zset) => zset.score(member),
            Input::Set(set) => set.contains(member).then_some(1.0),
        }
    }

    fn contains(self, member: &[u8]) -> bool {
        match self {
            Input::Missing => false,
            Input::ZSet(zset) => zset.scores.contains(member),
            Input::Set(set) => set.contains(member),
        }
    }

    /// Every member with its score, in no particular order.
    fn members(self) -> impl Iterator<Item = (&'a [u8], f64)> {
        let zset = match self {
            Input::ZSet(zset) => Some(zset.iter()),
            _ => None,
        };
        let set = match self {
            Input::Set(set) => Some(set.iter().map(|(m, _)| (m, 1.0))),
            _ => None,
        };
        zset.into_iter().flatten().chain(set.into_iter().flatten())
    }
}

/// The positions of `inputs` from the smallest input to the largest, ties in argument order.
fn by_cardinality<T>(inputs: &[(Input<'_>, T)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|&i| inputs.get(i).map_or(0, |(input, _)| input.len()));
    order
}

/// Orders a result by (score, member), as Redis's skiplist does (`-0` equals `0`).
fn sorted(mut result: Vec<(&[u8], f64)>) -> Vec<(&[u8], f64)> {
    result.sort_unstable_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.0.cmp(b.0))
    });
    result
}

/// ZUNION of weighted inputs.
fn union<'a>(inputs: &[(Input<'a>, f64)], aggregate: Aggregate) -> Vec<(&'a [u8], f64)> {
    let largest = inputs.iter().map(|(i, _)| i.len()).max().unwrap_or(0);
    let mut scores: HashMap<&'a [u8], f64> = HashMap::with_capacity(largest);
    for i in by_cardinality(inputs) {
        let Some(&(input, weight)) = inputs.get(i) else {
            continue;
        };
        for (member, score) in input.members() {
            let score = nan_to_zero(weight * score);
            match scores.entry(member) {
                MapEntry::Occupied(mut seen) => {
                    let target = seen.get_mut();
                    *target = aggregate.apply(*target, score);
                }
                MapEntry::Vacant(new) => {
                    new.insert(score);
                }
            }
        }
    }
    sorted(scores.into_iter().collect())
}

/// ZINTER of weighted inputs.
fn inter<'a>(inputs: &[(Input<'a>, f64)], aggregate: Aggregate) -> Vec<(&'a [u8], f64)> {
    let order = by_cardinality(inputs);
    let Some((&(first, first_weight), rest)) = order
        .split_first()
        .and_then(|(&i, rest)| Some((inputs.get(i)?, rest)))
    else {
        return Vec::new();
    };
    let rest: Vec<(Input<'a>, f64)> = rest
        .iter()
        .filter_map(|&i| inputs.get(i).copied())
        .collect();
    let mut result = Vec::new();
    'members: for (member, score) in first.members() {
        let mut total = nan_to_zero(first_weight * score);
        for &(input, weight) in &rest {
            let Some(score) = input.score(member) else {
                continue 'members;
            };
            total = aggregate.apply(total, score * weight);
        }
        result.push((member, total));
    }
    sorted(result)
}

/// ZINTERCARD: the size of the intersection, counting stopped at `limit` (0: no limit).
fn inter_card(inputs: &[Input<'_>], limit: u64) -> u64 {
    let mut order: Vec<Input<'_>> = inputs.to_vec();
    order.sort_by_key(|input| input.len());
    let Some((first, rest)) = order.split_first() else {
        return 0;
    };
    let mut count = 0;
    for (member, _) in first.members() {
        if rest.iter().all(|input| input.contains(member)) {
            count += 1;
            if limit > 0 && count >= limit {
                break;
            }
        }
    }
    count
}

/// ZDIFF: the members of the first input in none of the others, with their first scores.
fn diff<'a>(inputs: &[Input<'a>]) -> Vec<(&'a [u8], f64)> {
    let Some((first, rest)) = inputs.split_first() else {
        return Vec::new();
    };
    sorted(
        first
            .members()
            .filter(|(member, _)| !rest.iter().any(|input| input.contains(member)))
            .collect(),
    )
}

fn owned(result: Vec<(&[u8], f64)>) -> ScoredMembers {
    result.into_iter().map(|(m, s)| (m.to_vec(), s)).collect()
}

/// Which input operation to run.
#[derive(Clone, Copy)]
enum Operation {
    Union(Aggregate),
    Inter(Aggregate),
    Diff,
}

impl Tx<'_> {
    /// Looks up every key of `keys` in order, expiring the due ones, and fails with
    /// `WRONGTYPE` at the first that holds neither a sorted set nor a set. Redis does this
    /// before it parses the options of ZUNION and its siblings, so the command layer calls it
    /// first when an option is wrong; the operations below run it themselves.
    pub(crate) fn check_zset_algebra_inputs(&mut self, keys: &[&[u8]]) -> Result<()> {
        for key in keys {
            match self.entry(key)? {
                Some(entry) if !matches!(entry.vtype, ValueType::ZSet | ValueType::Set) => {
                    return Err(Error::WrongType);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The inputs named by `keys` (after [`Tx::check_zset_algebra_inputs`]).
    fn algebra_input(&self, key: &[u8]) -> Input<'_> {
        match self.collection(key).map(|c| &c.elements) {
            Some(Elements::ZSet(zset)) => Input::ZSet(zset),
            Some(Elements::Set(set)) => Input::Set(set),
            _ => Input::Missing,
        }
    }

    /// Runs `op` over `inputs` (key, weight): the result, ordered by (score, member).
    fn zset_algebra(&mut self, inputs: &[(&[u8], f64)], op: Operation) -> Result<ScoredMembers> {
        let keys: Vec<&[u8]> = inputs.iter().map(|&(key, _)| key).collect();
        self.check_zset_algebra_inputs(&keys)?;
        let weighted: Vec<(Input<'_>, f64)> = inputs
            .iter()
            .map(|&(key, weight)| (self.algebra_input(key), weight))
            .collect();
        Ok(owned(match op {
            Operation::Union(aggregate) => union(&weighted, aggregate),
            Operation::Inter(aggregate) => inter(&weighted, aggregate),
            Operation::Diff => {
                let plain: Vec<Input<'_>> = weighted.iter().map(|&(input, _)| input).collect();
                diff(&plain)
            }
        }))
    }

    /// Replaces `dst` with `result` (no TTL), or deletes it if `result` is empty; returns the
    /// size of the result.
    fn store_zset_algebra(&mut self, dst: &[u8], result: &[(Vec<u8>, f64)]) -> Result<u64> {
        let longest = result.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        let small = result.len() <= LISTPACK_MAX_ENTRIES && longest <= LISTPACK_MAX_VALUE;
        let scores: Vec<[u8; 8]> = result
            .iter()
            .map(|&(_, score)| encode_score(if small && score == 0.0 { 0.0 } else { score }))
            .collect();
        let elements: Vec<(&[u8], &[u8])> = result
            .iter()
            .zip(&scores)
            .map(|((member, _), score)| (member.as_slice(), score.as_slice()))
            .collect();
        let db = self.db();
        self.replace_collection(db, dst, ValueType::ZSet, 0, &elements)?;
        Ok(result.len() as u64)
    }

    /// `ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN |
    /// MAX>] [WITHSCORES]`: the union of `inputs` (key, weight), each member's weighted scores
    /// combined by `aggregate`, ordered by (score, member). No inputs give an empty result.
    ///
    /// # Errors
    /// `WrongType` if an input holds neither a sorted set nor a set.
    pub fn zunion(
        &mut self,
        inputs: &[(&[u8], f64)],
        aggregate: Aggregate,
    ) -> Result<ScoredMembers> {
        self.zset_algebra(inputs, Operation::Union(aggregate))
    }

    /// `ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN |
    /// MAX>] [WITHSCORES]`: the members present in every input of `inputs` (key, weight), their
    /// weighted scores combined by `aggregate`, ordered by (score, member).
    ///
    /// # Errors
    /// `WrongType` if an input holds neither a sorted set nor a set.
    pub fn zinter(
        &mut self,
        inputs: &[(&[u8], f64)],
        aggregate: Aggregate,
    ) -> Result<ScoredMembers> {
        self.zset_algebra(inputs, Operation::Inter(aggregate))
    }

    /// `ZDIFF numkeys key [key ...] [WITHSCORES]`: the members of the first key in none of the
    /// others, with their scores in the first, ordered by (score, member).
    ///
    /// # Errors
    /// `WrongType` if a key holds neither a sorted set nor a set.
    pub fn zdiff(&mut self, keys: &[&[u8]]) -> Result<ScoredMembers> {
        let inputs: Vec<(&[u8], f64)> = keys.iter().map(|&key| (key, 1.0)).collect();
        self.zset_algebra(&inputs, Operation::Diff)
    }

    /// `ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]]
    /// [AGGREGATE <SUM | MIN | MAX>]`: stores [`Tx::zunion`] in `dst` (replacing whatever it
    /// held, without TTL; an empty result deletes it) and returns its size. `dst` may be one of
    /// the inputs.
    ///
    /// # Errors
    /// `WrongType` if an input holds neither a sorted set nor a set.
    pub fn zunionstore(
        &mut self,
        dst: &[u8],
        inputs: &[(&[u8], f64)],
        aggregate: Aggregate,
    ) -> Result<u64> {
        let result = self.zunion(inputs, aggregate)?;
        self.store_zset_algebra(dst, &result)
    }

    /// `ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]]
    /// [AGGREGATE <SUM | MIN | MAX>]`: stores [`Tx::zinter`] in `dst` as
    /// [`Tx::zunionstore`] does.
    ///
    /// # Errors
    /// `WrongType` if an input holds neither a sorted set nor a set.
    pub fn zinterstore(
        &mut self,
        dst: &[u8],
        inputs: &[(&[u8], f64)],
        aggregate: Aggregate,
    ) -> Result<u64> {
        let result = self.zinter(inputs, aggregate)?;
        self.store_zset_algebra(dst, &result)
    }

    /// `ZDIFFSTORE destination numkeys key [key ...]`: stores [`Tx::zdiff`] in `dst` as
    /// [`Tx::zunionstore`] does.
    ///
    /// # Errors
    /// `WrongType` if a key holds neither a sorted set nor a set.
    pub fn zdiffstore(&mut self, dst: &[u8], keys: &[&[u8]]) -> Result<u64> {
        let result = self.zdiff(keys)?;
        self.store_zset_algebra(dst, &result)
    }

    /// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`: how many members are in every key,
    /// counting no further than `limit` (0: no limit).
    ///
    /// # Errors
    /// `WrongType` if a key holds neither a sorted set nor a set.
    pub fn zintercard(&mut self, keys: &[&[u8]], limit: u64) -> Result<u64> {
        self.check_zset_algebra_inputs(keys)?;
        let inputs: Vec<Input<'_>> = keys.iter().map(|key| self.algebra_input(key)).collect();
        Ok(inter_card(&inputs, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Db;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    fn open() -> std::result::Result<(tempfile::TempDir, Db), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        Ok((dir, db))
    }

    /// Creates the sorted set `key` with `members` (through the element records, as ZADD).
    fn zset(db: &Db, key: &str, members: &[(&str, f64)]) -> Result<()> {
        let scores: Vec<[u8; 8]> = members.iter().map(|&(_, s)| encode_score(s)).collect();
        let elements: Vec<(&[u8], &[u8])> = members
            .iter()
            .zip(&scores)
            .map(|(&(m, _), s)| (m.as_bytes(), s.as_slice()))
            .collect();
        db.tx(|tx| tx.put_elements(key.as_bytes(), ValueType::ZSet, false, &elements))
    }

    /// Creates the set `key` with `members`.
    fn set(db: &Db, key: &str, members: &[&str]) -> Result<()> {
        let elements: Vec<(&[u8], &[u8])> =
            members.iter().map(|m| (m.as_bytes(), &b""[..])).collect();
        db.tx(|tx| tx.put_elements(key.as_bytes(), ValueType::Set, false, &elements))
    }

    fn scored(pairs: &[(&str, f64)]) -> ScoredMembers {
        pairs
            .iter()
            .map(|&(m, s)| (m.as_bytes().to_vec(), s))
            .collect()
    }

    /// The stored scores of `key`, ordered, bit for bit (to tell `-0` from `0`).
    fn stored(db: &Db, key: &str) -> Result<Vec<(Vec<u8>, u64)>> {
        db.tx(|tx| {
            tx.check_zset_algebra_inputs(&[key.as_bytes()])?;
            let Some(zset) = tx.zset(key.as_bytes()) else {
                return Ok(Vec::new());
            };
            let members = zset.iter().collect();
            Ok(sorted(members)
                .into_iter()
                .map(|(m, s)| (m.to_vec(), s.to_bits()))
                .collect())
        })
    }

    #[test]
    fn sums_fold_from_the_smallest_input_like_redis() -> TestResult {
        let (_dir, db) = open()?;
        // Same sizes: argument order decides, and (0.1 + 0.2) + 0.3 != (0.3 + 0.2) + 0.1.
        zset(&db, "a", &[("x", 0.1), ("y", 1.0)])?;
        zset(&db, "b", &[("x", 0.2), ("y", 2.0)])?;
        zset(&db, "c", &[("x", 0.3), ("y", 3.0)])?;
        let abc = db.zunion(&[(b"a", 1.0), (b"b", 1.0), (b"c", 1.0)], Aggregate::Sum)?;
        assert_eq!(abc, scored(&[("x", 0.1 + 0.2 + 0.3), ("y", 6.0)]));
        let cba = db.zunion(&[(b"c", 1.0), (b"b", 1.0), (b"a", 1.0)], Aggregate::Sum)?;
        assert_eq!(cba, scored(&[("x", 0.3 + 0.2 + 0.1), ("y", 6.0)]));
        // A smaller input goes first whatever its position.
        zset(&db, "small", &[("x", 0.3)])?;
        let got = db.zinter(&[(b"a", 1.0), (b"b", 1.0), (b"small", 1.0)], Aggregate::Sum)?;
        assert_eq!(got, scored(&[("x", 0.3 + 0.1 + 0.2)]));
        Ok(())
    }

    #[test]
    fn nan_scores_count_as_zero_except_later_ones_in_an_intersection() -> TestResult {
        let (_dir, db) = open()?;
        zset(&db, "za", &[("a", 5.0)])?;
        zset(&db, "zb", &[("a", f64::INFINITY), ("b", 1.0)])?;
        let inputs: &[(&[u8], f64)] = &[(b"za", 1.0), (b"zb", 0.0)];
        // As Redis 7.0: inter SUM 0, MIN 5, MAX 5; union SUM 5, MIN 0, MAX 5.
        for (aggregate, inter, union) in [
            (Aggregate::Sum, 0.0, 5.0),
            (Aggregate::Min, 5.0, 0.0),
            (Aggregate::Max, 5.0, 5.0),
        ] {
            assert_eq!(db.zinter(inputs, aggregate)?, scored(&[("a", inter)]));
            let got = db.zunion(inputs, aggregate)?;
            assert_eq!(
                got.iter().find(|(m, _)| m == b"a").map(|p| p.1),
                Some(union)
            );
        }
        // inf + -inf is 0, not NaN.
        zset(&db, "neg", &[("a", f64::NEG_INFINITY)])?;
        let got = db.zunion(&[(b"zb", 1.0), (b"neg", 1.0)], Aggregate::Sum)?;
        assert_eq!(got, scored(&[("a", 0.0), ("b", 1.0)]));
        Ok(())
    }

    #[test]
    fn plain_sets_count_with_score_one_and_other_types_are_refused() -> TestResult {
        let (_dir, db) = open()?;
        zset(&db, "z", &[("a", 2.0), ("b", 3.0)])?;
        set(&db, "s", &["a", "c"])?;
        let got = db.zunion(&[(b"z", 1.0), (b"s", 2.0)], Aggregate::Sum)?;
        assert_eq!(got, scored(&[("c", 2.0), ("b", 3.0), ("a", 4.0)]));
        assert_eq!(db.zdiff(&[b"s", b"z"])?, scored(&[("c", 1.0)]));
        assert_eq!(db.zintercard(&[b"s", b"z", b"nosuch"], 0)?, 0);
        db.set(b"str", b"x", crate::SetOptions::default())?;
        assert!(matches!(
            db.zinter(&[(b"nosuch", 1.0), (b"str", 1.0)], Aggregate::Sum),
            Err(Error::WrongType)
        ));
        assert!(matches!(db.zintercard(&[b"str"], 1), Err(Error::WrongType)));
        Ok(())
    }

    #[test]
    fn a_store_may_overwrite_one_of_its_inputs_and_drops_its_ttl() -> TestResult {
        let (_dir, db) = open()?;
        zset(&db, "z", &[("a", 1.0), ("b", 2.0)])?;
        db.expire(b"z", std::time::Duration::from_secs(1000))?;
        assert_eq!(
            db.zinterstore(b"z", &[(b"z", 1.0), (b"z", 1.0)], Aggregate::Sum)?,
            2
        );
        assert_eq!(db.ttl(b"z")?, crate::Ttl::Persistent);
        assert_eq!(
            stored(&db, "z")?,
            [
                (b"a".to_vec(), 2f64.to_bits()),
                (b"b".to_vec(), 4f64.to_bits())
            ]
        );
        // An empty result deletes the destination, whatever it held.
        db.set(b"str", b"x", crate::SetOptions::default())?;
        assert_eq!(db.zdiffstore(b"str", &[b"z", b"z"])?, 0);
        assert_eq!(db.value_type(b"str")?, None);
        Ok(())
    }

    #[test]
    fn a_small_stored_result_turns_negative_zero_into_zero_as_redis_listpacks_do() -> TestResult {
        let (_dir, db) = open()?;
        zset(&db, "z", &[("a", 0.0), ("b", 1.0)])?;
        // The reply keeps -0.
        let reply = db.zunion(&[(b"z", -1.0)], Aggregate::Sum)?;
        assert_eq!(
            reply.first().map(|p| p.1.to_bits()),
            Some((-1.0f64).to_bits())
        );
        assert_eq!(
            reply.get(1).map(|p| p.1.to_bits()),
            Some((-0.0f64).to_bits())
        );
        db.zunionstore(b"d", &[(b"z", -1.0)], Aggregate::Sum)?;
        assert_eq!(
            stored(&db, "d")?,
            [
                (b"b".to_vec(), (-1.0f64).to_bits()),
                (b"a".to_vec(), 0.0f64.to_bits())
            ]
        );
        // 129 members: Redis keeps a skiplist, and the -0.
        let many: Vec<(String, f64)> = (0..129).map(|i| (format!("m{i}"), f64::from(i))).collect();
        let many: Vec<(&str, f64)> = many.iter().map(|(m, s)| (m.as_str(), *s)).collect();
        zset(&db, "big", &many)?;
        db.zunionstore(b"d", &[(b"big", -1.0)], Aggregate::Sum)?;
        let big = stored(&db, "d")?;
        assert_eq!(big.len(), 129);
        assert_eq!(big.last(), Some(&(b"m0".to_vec(), (-0.0f64).to_bits())));
        Ok(())
    }

    #[test]
    fn intercard_stops_at_the_limit() -> TestResult {
        let (_dir, db) = open()?;
        zset(&db, "a", &[("x", 1.0), ("y", 2.0), ("z", 3.0)])?;
        set(&db, "s", &["x", "y", "z", "w"])?;
        assert_eq!(db.zintercard(&[b"a", b"s"], 0)?, 3);
        assert_eq!(db.zintercard(&[b"a", b"s"], 2)?, 2);
        assert_eq!(db.zintercard(&[b"a", b"s"], 100)?, 3);
        assert_eq!(db.zintercard(&[], 0)?, 0);
        Ok(())
    }

    #[test]
    fn no_inputs_give_empty_results() -> TestResult {
        let (_dir, db) = open()?;
        assert!(db.zunion(&[], Aggregate::Sum)?.is_empty());
        assert!(db.zinter(&[], Aggregate::Max)?.is_empty());
        assert!(db.zdiff(&[])?.is_empty());
        assert_eq!(db.zunionstore(b"d", &[], Aggregate::Sum)?, 0);
        Ok(())
    }
}
