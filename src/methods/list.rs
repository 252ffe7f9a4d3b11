//! `Db`'s typed methods for lists.

use super::delegate;
#[allow(unused_imports, reason = "filled in as the family's commands land")]
use crate::{db::{Db, Tx}, error::Result};

delegate! {}
