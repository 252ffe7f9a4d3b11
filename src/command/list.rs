//! Commands for lists: argument parsing and reply shapes. Semantics live in `types::list`.

use super::commands;
#[allow(unused_imports, reason = "filled in as the family's commands land")]
use super::{FAST, KEY1, RO, RW};

commands! {
    LIST;
}
