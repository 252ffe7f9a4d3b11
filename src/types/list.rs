//! Redis lists, over the collection records (see [`crate::collection::list`]).

#[allow(unused_imports, reason = "filled in as the family's commands land")]
use crate::db::Tx;
