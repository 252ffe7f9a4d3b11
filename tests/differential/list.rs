//! Differential test generator and comparison rules for lists (the non-blocking commands).
//!
//! [`COMMANDS`] lists the commands with their weights; [`command`] draws the arguments of one.
//! Keys come from [`crate::generate::key`], shared with the string commands, so WRONGTYPE and
//! the keyspace commands meet these types.

use fastrand::Rng;
use kvdb::Reply;

/// Commands of this family and their relative weights (empty until the family lands).
pub const COMMANDS: &[(&str, u32)] = &[];

/// The arguments (after the name) of command `name`.
pub fn command(_rng: &mut Rng, _name: &str) -> Vec<Vec<u8>> {
    Vec::new()
}

/// How replies of `name` are compared, when not byte for byte (`None`: exactly).
pub fn compare(
    _name: &str,
    _argv: &[Vec<u8>],
    _kvdb: &Reply,
    _redis: &Reply,
) -> Option<Result<(), String>> {
    None
}
