//! The keyspace: commands that work on keys of any type (DEL, RENAME, SCAN...) and TTLs.
//!
//! Deletion writes a `Delete` tombstone; a TTL change writes an `Expire` record, so neither
//! rewrites the value. FLUSHDB writes one `Flush` record, whatever the number of keys.

use crate::db::Tx;
use crate::engine::Op;
use crate::error::{Error, Result};
use crate::glob::glob_match;
use crate::keydir::{Entry, ValueType};
use crate::log::Timestamp;
use crate::log::record::NUM_DBS;

/// EXPIRE's NX / XX / GT / LT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpireCondition {
    /// Always set.
    #[default]
    Always,
    /// NX: only if the key has no expiry.
    IfNone,
    /// XX: only if the key has an expiry.
    IfSome,
    /// GT: only if the new expiry is later (no expiry counts as infinitely late).
    IfGreater,
    /// LT: only if the new expiry is earlier (no expiry counts as infinitely late).
    IfLess,
    /// XX and LT together: only if the key has an expiry and the new one is earlier.
    IfSomeAndLess,
}

/// One page of a SCAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPage {
    /// Cursor for the next call; 0 when the scan is complete.
    pub cursor: u64,
    /// Keys found in this page.
    pub keys: Vec<Vec<u8>>,
}

/// A TTL as TTL/PTTL report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// The key does not exist (-2).
    Missing,
    /// The key exists without expiry (-1).
    Persistent,
    /// Expires at this absolute time (Unix ms).
    At(Timestamp),
}

impl Tx<'_> {
    /// `DEL key [key ...]` (and UNLINK): how many keys existed.
    pub fn del(&mut self, keys: &[&[u8]]) -> Result<u64> {
        let db = self.db();
        let mut deleted = 0;
        for key in keys {
            if self.entry(key)?.is_some() {
                self.commit(&[Op::Delete { db, key }])?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// `EXISTS key [key ...]`: how many of the keys exist (repeats count again).
    pub fn exists(&mut self, keys: &[&[u8]]) -> Result<u64> {
        let mut count = 0;
        for key in keys {
            if self.entry(key)?.is_some() {
                count += 1;
            }
        }
        Ok(count)
    }

    /// `TOUCH key [key ...]`: how many exist (kvdb keeps no access times).
    pub fn touch(&mut self, keys: &[&[u8]]) -> Result<u64> {
        self.exists(keys)
    }

    /// `TYPE key`
    pub fn value_type(&mut self, key: &[u8]) -> Result<Option<ValueType>> {
        Ok(self.entry(key)?.map(|e| e.vtype))
    }

    /// Writes a copy of `src`'s value (whose entry is `entry`) as `dst` in `dst_db`, with the
    /// same expiry, and deletes `src` in the same batch when `also_delete`. A collection is
    /// copied element by element: a new `Meta` record and one record per element.
    fn copy_value(
        &mut self,
        src: &[u8],
        entry: &Entry,
        dst_db: u8,
        dst: &[u8],
        also_delete: bool,
    ) -> Result<()> {
        let src_db = self.db();
        if entry.vtype.is_collection() {
            let elements = self.collection_elements(src)?;
            let pairs: Vec<(&[u8], &[u8])> = elements
                .iter()
                .map(|(n, v)| (n.as_slice(), v.as_slice()))
                .collect();
            if also_delete {
                self.commit(&[Op::Delete {
                    db: src_db,
                    key: src,
                }])?;
            }
            return self.replace_collection(dst_db, dst, entry.vtype, entry.expires_at, &pairs);
        }
        let value = self.read(entry)?;
        let put = Op::Put {
            db: dst_db,
            key: dst,
            value: &value,
            expires_at: entry.expires_at,
        };
        if also_delete {
            self.commit(&[
                put,
                Op::Delete {
                    db: src_db,
                    key: src,
                },
            ])
        } else {
            self.commit(&[put])
        }
    }

    /// `RENAME key newkey` / `RENAMENX` (`only_if_absent`): false if NX prevented it.
    pub fn rename(&mut self, src: &[u8], dst: &[u8], only_if_absent: bool) -> Result<bool> {
        let Some(entry) = self.entry(src)? else {
            return Err(Error::NoSuchKey);
        };
        if src == dst {
            return Ok(!only_if_absent);
        }
        if only_if_absent && self.entry(dst)?.is_some() {
            return Ok(false);
        }
        let db = self.db();
        self.copy_value(src, &entry, db, dst, true)?;
        Ok(true)
    }

    /// `COPY source destination [DB destination-db] [REPLACE]`: whether it copied.
    pub fn copy(
        &mut self,
        src: &[u8],
        dst: &[u8],
        dst_db: Option<u8>,
        replace: bool,
    ) -> Result<bool> {
        let dst_db = dst_db.unwrap_or(self.db());
        if dst_db >= NUM_DBS {
            return Err(Error::DbIndexOutOfRange);
        }
        if dst_db == self.db() && src == dst {
            return Err(Error::SameObject);
        }
        let Some(entry) = self.entry(src)? else {
            return Ok(false);
        };
        if !replace && self.entry_in(dst_db, dst)?.is_some() {
            return Ok(false);
        }
        self.copy_value(src, &entry, dst_db, dst, false)?;
        Ok(true)
    }

    /// `MOVE key db`: whether it moved.
    pub fn move_key(&mut self, key: &[u8], dst_db: u8) -> Result<bool> {
        if dst_db >= NUM_DBS {
            return Err(Error::DbIndexOutOfRange);
        }
        if dst_db == self.db() {
            return Err(Error::SameObject);
        }
        let Some(entry) = self.entry(key)? else {
            return Ok(false);
        };
        if self.entry_in(dst_db, key)?.is_some() {
            return Ok(false);
        }
        self.copy_value(key, &entry, dst_db, key, true)?;
        Ok(true)
    }

    /// `KEYS pattern`
    pub fn keys(&mut self, pattern: &[u8]) -> Result<Vec<Vec<u8>>> {
        let now = self.now();
        // As Redis, `*` alone matches every key without running the matcher, which would
        // not match the empty key.
        let all = pattern == b"*";
        let mut keys = Vec::new();
        self.engine().keydir(self.db()).for_each(|key, entry| {
            if live(entry, now) && (all || glob_match(pattern, key, false)) {
                keys.push(key.to_vec());
            }
        });
        Ok(keys)
    }

    /// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
    pub fn scan(
        &mut self,
        cursor: u64,
        pattern: Option<&[u8]>,
        count: usize,
        vtype: Option<&str>,
    ) -> Result<ScanPage> {
        let now = self.now();
        let mut keys = Vec::new();
        let cursor = self
            .engine()
            .keydir(self.db())
            .scan(cursor, count, |key, entry| {
                if live(entry, now)
                    && pattern.is_none_or(|p| p == b"*" || glob_match(p, key, false))
                    && vtype.is_none_or(|t| t.eq_ignore_ascii_case(entry.vtype.name()))
                {
                    keys.push(key.to_vec());
                }
            });
        Ok(ScanPage { cursor, keys })
    }

    /// `DBSIZE`
    pub fn dbsize(&mut self) -> u64 {
        self.engine().keydir(self.db()).len() as u64
    }

    /// `FLUSHDB`
    pub fn flushdb(&mut self) -> Result<()> {
        let db = self.db();
        self.commit(&[Op::Flush { db }])
    }

    /// `FLUSHALL`
    pub fn flushall(&mut self) -> Result<()> {
        let ops: Vec<Op<'_>> = (0..NUM_DBS).map(|db| Op::Flush { db }).collect();
        self.commit(&ops)
    }

    /// `RANDOMKEY`
    pub fn randomkey(&mut self) -> Result<Option<Vec<u8>>> {
        // As Redis: an expired pick is deleted and another is drawn; bounded so a database
        // full of expired keys cannot spin.
        for _ in 0..100 {
            let Some(key) = self
                .engine()
                .keydir(self.db())
                .random_key()
                .map(<[u8]>::to_vec)
            else {
                return Ok(None);
            };
            if self.entry(&key)?.is_some() {
                return Ok(Some(key));
            }
        }
        Ok(None)
    }

    /// `PEXPIREAT key ms-timestamp [NX | XX | GT | LT]` (and EXPIRE, PEXPIRE, EXPIREAT, whose
    /// arguments the caller converts): whether the expiry was set. A time already past deletes
    /// the key.
    pub fn expire_at(&mut self, key: &[u8], at: i64, condition: ExpireCondition) -> Result<bool> {
        let Some(entry) = self.entry(key)? else {
            return Ok(false);
        };
        let current = entry.expires_at;
        let allowed = match condition {
            ExpireCondition::Always => true,
            ExpireCondition::IfNone => current == 0,
            ExpireCondition::IfSome => current != 0,
            ExpireCondition::IfGreater => current != 0 && at > current as i64,
            ExpireCondition::IfLess => current == 0 || at < current as i64,
            ExpireCondition::IfSomeAndLess => current != 0 && at < current as i64,
        };
        if !allowed {
            return Ok(false);
        }
        let db = self.db();
        if at <= self.now() as i64 {
            self.commit(&[Op::Delete { db, key }])?;
        } else {
            self.commit(&[Op::Expire {
                db,
                key,
                expires_at: at as u64,
            }])?;
        }
        Ok(true)
    }

    /// The TTL of `key` (TTL, PTTL, EXPIRETIME, PEXPIRETIME).
    pub fn ttl(&mut self, key: &[u8]) -> Result<Ttl> {
        Ok(match self.entry(key)? {
            None => Ttl::Missing,
            Some(e) if e.expires_at == 0 => Ttl::Persistent,
            Some(e) => Ttl::At(e.expires_at),
        })
    }

    /// `PERSIST key`: whether a TTL was removed.
    pub fn persist(&mut self, key: &[u8]) -> Result<bool> {
        match self.entry(key)? {
            Some(e) if e.expires_at != 0 => {
                let db = self.db();
                self.commit(&[Op::Expire {
                    db,
                    key,
                    expires_at: 0,
                }])?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

fn live(entry: &Entry, now: Timestamp) -> bool {
    entry.expires_at == 0 || entry.expires_at > now
}
