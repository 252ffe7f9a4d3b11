//! Strings: SET and its variants, counters, ranges.
//!
//! A string is one `Put` record holding the whole value; every change writes a new record (an
//! APPEND to a large value rewrites it, as Bitcask must). The TTL lives in the record header
//! and in the keydir; commands that keep the TTL (APPEND, SETRANGE, INCR...) copy it into the
//! new record.

use crate::db::Tx;
use crate::engine::Op;
use crate::error::{Error, Result};
use crate::log::Timestamp;
use crate::log::record::MAX_FIELD_LEN;
use crate::types::Expiry;
use crate::types::long_double::{self, IncrFloatError};

/// SET's NX / XX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetCondition {
    /// Only set if the key does not exist.
    IfAbsent,
    /// Only set if the key exists.
    IfPresent,
}

/// Options of [`Tx::set`], as SET's arguments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetOptions {
    /// NX or XX.
    pub condition: Option<SetCondition>,
    /// GET: return the old value (and fail with WRONGTYPE if it is not a string).
    pub get: bool,
    /// EX / PX / EXAT / PXAT; `None` clears any TTL unless `keep_ttl`.
    pub expiry: Option<Expiry>,
    /// KEEPTTL: keep the key's current TTL.
    pub keep_ttl: bool,
}

impl SetOptions {
    /// Only set if absent (NX).
    pub fn nx(mut self) -> Self {
        self.condition = Some(SetCondition::IfAbsent);
        self
    }

    /// Only set if present (XX).
    pub fn xx(mut self) -> Self {
        self.condition = Some(SetCondition::IfPresent);
        self
    }

    /// Expire after `ttl` (EX / PX).
    pub fn ttl(mut self, ttl: std::time::Duration) -> Self {
        self.expiry = Some(Expiry::In(ttl));
        self
    }

    /// Return the old value (GET).
    pub fn get(mut self) -> Self {
        self.get = true;
        self
    }
}

/// What SET did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetOutcome {
    /// Whether the value was written (false when NX/XX prevented it).
    pub written: bool,
    /// The old value, when `get` was asked for (`None` if the key did not exist).
    pub old: Option<Vec<u8>>,
}

/// Largest string length: 512 MB.
const MAX_STRING: u64 = MAX_FIELD_LEN as u64;

/// Parses a decimal integer exactly as Redis's `string2ll`: optional `-`, no `+`, no leading
/// zeros (except "0" itself), no spaces, must fit in `i64`.
pub fn parse_i64(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes {
        [b'0'] => return Some(0),
        [b'-', rest @ ..] => (true, rest),
        _ => (false, bytes),
    };
    match digits {
        [b'1'..=b'9', rest @ ..] if rest.iter().all(u8::is_ascii_digit) && digits.len() <= 20 => {}
        _ => return None,
    }
    let mut value: i64 = 0;
    for &d in digits {
        let d = i64::from(d - b'0');
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(d)?
        } else {
            value.checked_add(d)?
        };
    }
    Some(value)
}

impl Tx<'_> {
    /// Writes a string value with an absolute expiry; an expiry already past deletes the key
    /// instead (Redis 7 semantics for SET ... EXAT/PXAT in the past).
    pub(crate) fn put_string(
        &mut self,
        key: &[u8],
        value: &[u8],
        expires_at: Timestamp,
    ) -> Result<()> {
        let db = self.db();
        if expires_at != 0 && expires_at <= self.now() {
            if self.entry(key)?.is_some() {
                self.commit(&[Op::Delete { db, key }])?;
            }
            return Ok(());
        }
        self.commit(&[Op::Put {
            db,
            key,
            value,
            expires_at,
        }])
    }

    /// `GET key`
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.string_entry(key)? {
            Some(e) => Ok(Some(self.read(&e)?)),
            None => Ok(None),
        }
    }

    /// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ms-ts | KEEPTTL]`
    pub fn set(&mut self, key: &[u8], value: &[u8], opts: SetOptions) -> Result<SetOutcome> {
        let current = if opts.get {
            self.string_entry(key)?
        } else {
            self.entry(key)?
        };
        let old = match (&current, opts.get) {
            (Some(e), true) => Some(self.read(e)?),
            _ => None,
        };
        let allowed = match opts.condition {
            Some(SetCondition::IfAbsent) => current.is_none(),
            Some(SetCondition::IfPresent) => current.is_some(),
            None => true,
        };
        if !allowed {
            return Ok(SetOutcome {
                written: false,
                old,
            });
        }
        let expires_at = match (opts.expiry, opts.keep_ttl) {
            (Some(expiry), _) => expiry.resolve(self.now()),
            (None, true) => current.map_or(0, |e| e.expires_at),
            (None, false) => 0,
        };
        if value.len() as u64 > MAX_STRING {
            return Err(Error::TooLarge);
        }
        self.put_string(key, value, expires_at)?;
        Ok(SetOutcome { written: true, old })
    }

    /// `GETDEL key`
    pub fn getdel(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let value = self.get(key)?;
        if value.is_some() {
            let db = self.db();
            self.commit(&[Op::Delete { db, key }])?;
        }
        Ok(value)
    }

    /// `GETEX key [EX s | PX ms | EXAT ts | PXAT ms-ts | PERSIST]`: `expiry` is `None` to leave
    /// the TTL alone, `Some(None)` to PERSIST, `Some(Some(e))` to set it.
    pub fn getex(&mut self, key: &[u8], expiry: Option<Option<Expiry>>) -> Result<Option<Vec<u8>>> {
        let Some(entry) = self.string_entry(key)? else {
            return Ok(None);
        };
        let value = self.read(&entry)?;
        let db = self.db();
        match expiry {
            None => {}
            Some(None) if entry.expires_at == 0 => {}
            Some(None) => self.commit(&[Op::Expire {
                db,
                key,
                expires_at: 0,
            }])?,
            Some(Some(e)) => {
                let at = e.resolve(self.now());
                if at <= self.now() {
                    self.commit(&[Op::Delete { db, key }])?;
                } else {
                    self.commit(&[Op::Expire {
                        db,
                        key,
                        expires_at: at,
                    }])?;
                }
            }
        }
        Ok(Some(value))
    }

    /// `MSET key value [key value ...]`
    pub fn mset(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<()> {
        let db = self.db();
        let ops: Vec<Op<'_>> = pairs
            .iter()
            .map(|&(key, value)| Op::Put {
                db,
                key,
                value,
                expires_at: 0,
            })
            .collect();
        self.commit(&ops)
    }

    /// `MSETNX key value [key value ...]`: sets all or none; true if set.
    pub fn msetnx(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<bool> {
        for (key, _) in pairs {
            if self.entry(key)?.is_some() {
                return Ok(false);
            }
        }
        self.mset(pairs)?;
        Ok(true)
    }

    /// `MGET key [key ...]`: `None` for missing keys and keys of other types.
    pub fn mget(&mut self, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        keys.iter()
            .map(|key| match self.get(key) {
                Err(Error::WrongType) => Ok(None),
                other => other,
            })
            .collect()
    }

    /// `APPEND key value`: the new length.
    pub fn append(&mut self, key: &[u8], suffix: &[u8]) -> Result<u64> {
        let (mut value, expires_at) = match self.string_entry(key)? {
            Some(e) => (self.read(&e)?, e.expires_at),
            None => (Vec::new(), 0),
        };
        if value.len() as u64 + suffix.len() as u64 > MAX_STRING {
            return Err(Error::TooLarge);
        }
        value.extend_from_slice(suffix);
        self.put_string(key, &value, expires_at)?;
        Ok(value.len() as u64)
    }

    /// `STRLEN key`
    pub fn strlen(&mut self, key: &[u8]) -> Result<u64> {
        Ok(self.get(key)?.map_or(0, |v| v.len() as u64))
    }

    /// `GETRANGE key start end` (inclusive, negative from the end).
    pub fn getrange(&mut self, key: &[u8], start: i64, end: i64) -> Result<Vec<u8>> {
        let value = self.get(key)?.unwrap_or_default();
        let len = value.len() as i64;
        if start < 0 && end < 0 && start > end {
            return Ok(Vec::new());
        }
        let start = if start < 0 {
            (len + start).max(0)
        } else {
            start
        };
        let end = if end < 0 {
            (len + end).max(0)
        } else {
            end.min(len - 1)
        };
        if start > end || len == 0 {
            return Ok(Vec::new());
        }
        Ok(value[start as usize..=end as usize].to_vec())
    }

    /// `SETRANGE key offset value`: the new length.
    pub fn setrange(&mut self, key: &[u8], offset: i64, patch: &[u8]) -> Result<u64> {
        if offset < 0 {
            return Err(Error::OffsetOutOfRange);
        }
        let current = self.string_entry(key)?;
        if patch.is_empty() {
            return match current {
                Some(e) => Ok(self.read(&e)?.len() as u64),
                None => Ok(0),
            };
        }
        if offset as u64 + patch.len() as u64 > MAX_STRING {
            return Err(Error::TooLarge);
        }
        let (mut value, expires_at) = match current {
            Some(e) => (self.read(&e)?, e.expires_at),
            None => (Vec::new(), 0),
        };
        let offset = offset as usize;
        if value.len() < offset + patch.len() {
            value.resize(offset + patch.len(), 0);
        }
        value[offset..offset + patch.len()].copy_from_slice(patch);
        self.put_string(key, &value, expires_at)?;
        Ok(value.len() as u64)
    }

    /// `INCRBY key increment` (and INCR, DECR, DECRBY): the new value.
    pub fn incr_by(&mut self, key: &[u8], delta: i64) -> Result<i64> {
        let (current, expires_at) = match self.string_entry(key)? {
            Some(e) => (
                parse_i64(&self.read(&e)?).ok_or(Error::NotInteger)?,
                e.expires_at,
            ),
            None => (0, 0),
        };
        let next = current.checked_add(delta).ok_or(Error::Overflow)?;
        self.put_string(key, next.to_string().as_bytes(), expires_at)?;
        Ok(next)
    }

    /// `INCRBYFLOAT key increment`: the new value, formatted as Redis does (computed in
    /// 80-bit extended precision, printed with 17 decimals and trailing zeros removed).
    pub fn incr_by_float(&mut self, key: &[u8], delta: &[u8]) -> Result<Vec<u8>> {
        let (current, expires_at) = match self.string_entry(key)? {
            Some(e) => (self.read(&e)?, e.expires_at),
            None => (b"0".to_vec(), 0),
        };
        let next = long_double::incr_by_float(&current, delta).map_err(|e| match e {
            IncrFloatError::NotFloat => Error::NotFloat,
            IncrFloatError::NanOrInfinity => Error::NanOrInfinity,
        })?;
        self.put_string(key, next.as_bytes(), expires_at)?;
        Ok(next.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_i64;

    #[test]
    fn parse_i64_follows_redis_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"1 ",
            b"1.0",
            b"9223372036854775808",
            b"abc",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
