//! Active expiry: the background half of expiry (the other half is the lazy check on access).
//!
//! Redis's algorithm (src/expire.c, activeExpireCycle), which bounds both work and staleness:
//! every tick (100 ms by default) and for each database, sample [`SAMPLE`] keys among those
//! with a TTL, delete the expired ones, and sample again while more than a quarter of the sample
//! had expired. The loop stops early when the tick's time budget is spent, so a flood of
//! expiring keys costs bounded latency per tick and is worked off over several ticks. Each
//! deletion writes a tombstone, so an expired key stays gone even if the clock goes backwards.

use std::time::{Duration, Instant};

use super::Engine;
use crate::error::Result;
use crate::log::Timestamp;
use crate::log::record::NUM_DBS;

/// Keys sampled per round.
pub const SAMPLE: usize = 20;
/// A round with more expired keys than this repeats.
const REPEAT_ABOVE: usize = SAMPLE / 4;

/// Runs one expiry cycle over all databases within `budget`; returns how many keys it deleted.
pub fn active_expire_cycle(engine: &mut Engine, now: Timestamp, budget: Duration) -> Result<usize> {
    let started = Instant::now();
    let mut deleted = 0;
    for db in 0..NUM_DBS {
        loop {
            let keydir = engine.keydir(db);
            if keydir.ttl_len() == 0 {
                break;
            }
            let rounds = SAMPLE.min(keydir.ttl_len());
            let mut expired: Vec<Vec<u8>> = Vec::new();
            for _ in 0..rounds {
                if let Some((key, at)) = keydir.random_ttl_key()
                    && at <= now
                    && !expired.iter().any(|k| k == key)
                {
                    expired.push(key.to_vec());
                }
            }
            for key in &expired {
                if engine.expire_if_due(db, key, now)? {
                    deleted += 1;
                }
            }
            if expired.len() <= REPEAT_ABOVE * rounds / SAMPLE || started.elapsed() >= budget {
                break;
            }
        }
        if started.elapsed() >= budget {
            break;
        }
    }
    Ok(deleted)
}
