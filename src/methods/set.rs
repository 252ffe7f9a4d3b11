//! `Db`'s typed methods for sets.

use super::delegate;
use crate::{
    db::{Db, Tx},
    error::Result,
    types::ScanPage,
};

delegate! {
    /// `SADD key member [member ...]`: how many members were added (not already present).
    fn sadd(key: &[u8], members: &[&[u8]]) -> u64;
    /// `SREM key member [member ...]`: how many members were removed.
    fn srem(key: &[u8], members: &[&[u8]]) -> u64;
    /// `SMEMBERS key`: every member, in no particular order.
    fn smembers(key: &[u8]) -> Vec<Vec<u8>>;
    /// `SISMEMBER key member`.
    fn sismember(key: &[u8], member: &[u8]) -> bool;
    /// `SMISMEMBER key member [member ...]`: membership of each member, in order.
    fn smismember(key: &[u8], members: &[&[u8]]) -> Vec<bool>;
    /// `SCARD key`: the number of members.
    fn scard(key: &[u8]) -> u64;
    /// `SPOP key`: removes and returns a random member; `None` if the key is missing.
    fn spop(key: &[u8]) -> Option<Vec<u8>>;
    /// `SPOP key count`: removes and returns up to `count` distinct random members.
    fn spop_count(key: &[u8], count: u64) -> Vec<Vec<u8>>;
    /// `SRANDMEMBER key`: a random member; `None` if the key is missing.
    fn srandmember(key: &[u8]) -> Option<Vec<u8>>;
    /// `SRANDMEMBER key count`: up to `count` distinct random members, or for a negative
    /// count `-count` picks that may repeat (at most
    /// [`MAX_RANDOM_PICKS`](crate::types::set::MAX_RANDOM_PICKS)).
    fn srandmember_count(key: &[u8], count: i64) -> Vec<Vec<u8>>;
    /// `SMOVE source destination member`: whether `member` was in `source` (and is now in
    /// `destination`).
    fn smove(src: &[u8], dst: &[u8], member: &[u8]) -> bool;
    /// `SINTER key [key ...]`: the intersection.
    fn sinter(keys: &[&[u8]]) -> Vec<Vec<u8>>;
    /// `SINTERCARD numkeys key [key ...] [LIMIT limit]`: the intersection's size, counted up
    /// to `limit` (0: no limit).
    fn sintercard(keys: &[&[u8]], limit: u64) -> u64;
    /// `SUNION key [key ...]`: the union.
    fn sunion(keys: &[&[u8]]) -> Vec<Vec<u8>>;
    /// `SDIFF key [key ...]`: the members of the first set in none of the others.
    fn sdiff(keys: &[&[u8]]) -> Vec<Vec<u8>>;
    /// `SINTERSTORE destination key [key ...]`: stores the intersection; returns its size.
    fn sinterstore(dst: &[u8], keys: &[&[u8]]) -> u64;
    /// `SUNIONSTORE destination key [key ...]`: stores the union; returns its size.
    fn sunionstore(dst: &[u8], keys: &[&[u8]]) -> u64;
    /// `SDIFFSTORE destination key [key ...]`: stores the difference; returns its size.
    fn sdiffstore(dst: &[u8], keys: &[&[u8]]) -> u64;
    /// `SSCAN key cursor [MATCH pattern] [COUNT count]`: one page of members (in
    /// [`ScanPage::keys`]) and the next cursor, 0 at the end.
    fn sscan(key: &[u8], cursor: u64, pattern: Option<&[u8]>, count: usize) -> ScanPage;
}
