//! `Db`'s typed methods for sorted sets: ZUNION, ZINTER, ZDIFF, their STORE forms and
//! ZINTERCARD. Inputs are sorted sets or sets (a set member scores 1); a missing key is empty.

use super::delegate;
use crate::{
    db::{Db, Tx},
    error::Result,
    types::zset_algebra::{Aggregate, ScoredMembers},
};

delegate! {
    /// `ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN |
    /// MAX>] [WITHSCORES]`: the union of `inputs` (key, weight), ordered by (score, member).
    fn zunion(inputs: &[(&[u8], f64)], aggregate: Aggregate) -> ScoredMembers;
    /// `ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN |
    /// MAX>] [WITHSCORES]`: the intersection of `inputs` (key, weight), ordered by (score,
    /// member).
    fn zinter(inputs: &[(&[u8], f64)], aggregate: Aggregate) -> ScoredMembers;
    /// `ZDIFF numkeys key [key ...] [WITHSCORES]`: the members of the first key in none of the
    /// others, with their first scores, ordered by (score, member).
    fn zdiff(keys: &[&[u8]]) -> ScoredMembers;
    /// `ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]]
    /// [AGGREGATE <SUM | MIN | MAX>]`: stores the union in `dst` (an empty one deletes it);
    /// returns its size.
    fn zunionstore(dst: &[u8], inputs: &[(&[u8], f64)], aggregate: Aggregate) -> u64;
    /// `ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]]
    /// [AGGREGATE <SUM | MIN | MAX>]`: stores the intersection in `dst` (an empty one deletes
    /// it); returns its size.
    fn zinterstore(dst: &[u8], inputs: &[(&[u8], f64)], aggregate: Aggregate) -> u64;
    /// `ZDIFFSTORE destination numkeys key [key ...]`: stores the difference in `dst` (an
    /// empty one deletes it); returns its size.
    fn zdiffstore(dst: &[u8], keys: &[&[u8]]) -> u64;
    /// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`: the size of the intersection, counted
    /// up to `limit` (0: no limit).
    fn zintercard(keys: &[&[u8]], limit: u64) -> u64;
}
