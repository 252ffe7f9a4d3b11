//! Commands for sets: argument parsing and reply shapes. Semantics live in `types::set`.

use super::commands;
#[allow(unused_imports, reason = "filled in as the family's commands land")]
use super::{FAST, KEY1, RO, RW};

commands! {
    SET;
}
