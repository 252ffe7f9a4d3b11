//! Commands for sorted sets: ZUNION, ZINTER, ZDIFF and their STORE forms: argument parsing and reply shapes. Semantics live in `types::zset_algebra`.

use super::commands;
#[allow(unused_imports, reason = "filled in as the family's commands land")]
use super::{FAST, KEY1, RO, RW};

commands! {
    ZSET_ALGEBRA;
}
