//! Redis sorted sets: single-key commands, over the collection records (see [`crate::collection`]).

#[allow(unused_imports, reason = "filled in as the family's commands land")]
use crate::db::Tx;
