//! Redis sorted sets: ZUNION, ZINTER, ZDIFF and their STORE forms, over the collection records (see [`crate::collection`]).

#[allow(unused_imports, reason = "filled in as the family's commands land")]
use crate::db::Tx;
