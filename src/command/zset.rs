//! Commands for sorted sets: single-key commands: argument parsing and reply shapes. Semantics live in `types::zset`.

use super::commands;
#[allow(unused_imports, reason = "filled in as the family's commands land")]
use super::{FAST, KEY1, RO, RW};

commands! {
    ZSET;
}
