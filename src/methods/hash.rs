//! `Db`'s typed methods for hashes.
//!
//! Commands that Redis can refuse for a reason [`crate::Error`] has no variant for (HINCRBY,
//! HINCRBYFLOAT, HRANDFIELD with a negative count) return `Result<Result<T, HashError>>`: the
//! outer error is the store's (I/O, WRONGTYPE), the inner one the command's refusal.

use super::delegate;
use crate::db::{Db, Tx};
use crate::error::Result;
use crate::types::hash::{FieldValues, HashError, HashScanPage};

delegate! {
    /// `HSET key field value [field value ...]`: how many fields were new.
    fn hset(key: &[u8], pairs: &[(&[u8], &[u8])]) -> u64;
    /// `HMSET key field value [field value ...]`.
    fn hmset(key: &[u8], pairs: &[(&[u8], &[u8])]) -> ();
    /// `HSETNX key field value`: whether the field was set (it did not exist).
    fn hsetnx(key: &[u8], field: &[u8], value: &[u8]) -> bool;
    /// `HGET key field`: the value, `None` if the field or the key does not exist.
    fn hget(key: &[u8], field: &[u8]) -> Option<Vec<u8>>;
    /// `HMGET key field [field ...]`: each field's value, `None` where missing.
    fn hmget(key: &[u8], fields: &[&[u8]]) -> Vec<Option<Vec<u8>>>;
    /// `HGETALL key`: every field and its value (in no particular order).
    fn hgetall(key: &[u8]) -> FieldValues;
    /// `HKEYS key`: every field.
    fn hkeys(key: &[u8]) -> Vec<Vec<u8>>;
    /// `HVALS key`: every value.
    fn hvals(key: &[u8]) -> Vec<Vec<u8>>;
    /// `HDEL key field [field ...]`: how many fields were removed; the key goes with the last.
    fn hdel(key: &[u8], fields: &[&[u8]]) -> u64;
    /// `HEXISTS key field`.
    fn hexists(key: &[u8], field: &[u8]) -> bool;
    /// `HLEN key`: the number of fields.
    fn hlen(key: &[u8]) -> u64;
    /// `HSTRLEN key field`: the length of the field's value, 0 if missing.
    fn hstrlen(key: &[u8], field: &[u8]) -> u64;
    /// `HINCRBY key field increment`: the new value, or why the field cannot be incremented.
    fn hincrby(key: &[u8], field: &[u8], delta: i64) -> std::result::Result<i64, HashError>;
    /// `HINCRBYFLOAT key field increment`: the new value as stored, or why not.
    fn hincrbyfloat(key: &[u8], field: &[u8], incr: &[u8]) -> std::result::Result<Vec<u8>, HashError>;
    /// `HRANDFIELD key`: a random field, `None` if the key does not exist.
    fn hrandfield(key: &[u8]) -> Option<Vec<u8>>;
    /// `HRANDFIELD key count`: up to `count` distinct fields, or `-count` that may repeat.
    fn hrandfield_count(key: &[u8], count: i64) -> std::result::Result<Vec<Vec<u8>>, HashError>;
    /// `HRANDFIELD key count WITHVALUES`: as [`Db::hrandfield_count`], with the values.
    fn hrandfield_with_values(key: &[u8], count: i64) -> std::result::Result<FieldValues, HashError>;
    /// `HSCAN key cursor [MATCH pattern] [COUNT count]`: one page and the next cursor.
    fn hscan(key: &[u8], cursor: u64, pattern: Option<&[u8]>, count: usize) -> HashScanPage;
}
