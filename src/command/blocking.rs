//! What blocking commands share: the timeout argument, and blocking the client when there is
//! nothing to pop. The waiting itself is [`crate::blocking`]'s, and the session's
//! ([`super::Session::start`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::args::CmdResult;
use super::session::BlockedCall;
use super::{Ctx, Reply};
use crate::blocking::Handoff;
use crate::db::Tx;
use crate::error::Result;
use crate::types::long_double::LongDouble;

/// Parses a blocking command's timeout in seconds as Redis's `getTimeoutFromObjectOrReply`
/// does: a `long double` (Redis's `string2ld` rules), times 1000, rounded up to whole
/// milliseconds, converted as C converts to `long long` (out of range becomes the most negative
/// value). `None` = 0 = wait forever; a fraction of a millisecond rounds up to 1 ms.
pub(crate) fn timeout(arg: &[u8], now_ms: u64) -> Result<Option<Duration>, Reply> {
    let seconds = LongDouble::parse(arg)
        .ok_or_else(|| Reply::err("timeout is not a float or out of range"))?
        .to_f64();
    let ms = (seconds * 1000.0).ceil();
    // C's conversion of a value outside `long long` gives LLONG_MIN on x86-64.
    let ms = if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&ms) {
        ms as i64
    } else {
        i64::MIN
    };
    if ms < 0 {
        return Err(Reply::err("timeout is negative"));
    }
    if ms > i64::MAX - now_ms as i64 {
        return Err(Reply::err("timeout is out of range"));
    }
    Ok((ms > 0).then(|| Duration::from_millis(ms as u64)))
}

/// Blocks the client of a command that found nothing to pop on `keys`: when a later command
/// fills one of them, `pop` runs for it (in that command's transaction) and its reply, if any,
/// is the client's. Inside EXEC (where Redis never blocks) it answers `timeout_reply` at once.
/// The reply returned here is a placeholder the session never sends.
pub(crate) fn block(
    ctx: &mut Ctx<'_, '_>,
    keys: Vec<Vec<u8>>,
    timeout: Option<Duration>,
    timeout_reply: Reply,
    pop: impl FnMut(&mut Tx<'_>, &[u8]) -> Result<Option<Reply>> + Send + 'static,
) -> CmdResult {
    if !ctx.client.can_block() {
        return Ok(timeout_reply);
    }
    let handoff: Arc<Handoff<Reply>> = Handoff::new();
    let id = ctx.tx.block_on(keys, &handoff, pop);
    ctx.client.blocked = Some(BlockedCall {
        id,
        handoff,
        deadline: timeout.map(|t| Instant::now() + t),
        timeout_reply,
    });
    Ok(Reply::Nil)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_follow_redis() {
        let now = 1_700_000_000_000;
        let ms = |arg: &str| timeout(arg.as_bytes(), now).map(|d| d.map(|d| d.as_millis()));
        assert_eq!(ms("0"), Ok(None));
        assert_eq!(ms("1.5"), Ok(Some(1500)));
        assert_eq!(ms("1e-5"), Ok(Some(1)));
        assert_eq!(ms("-0.0001"), Ok(None));
        assert_eq!(ms("0x1"), Ok(Some(1000)));
        assert_eq!(ms("-1"), Err(Reply::err("timeout is negative")));
        assert_eq!(ms("1e400"), Err(Reply::err("timeout is negative")));
        assert_eq!(ms("inf"), Err(Reply::err("timeout is negative")));
        for bad in ["x", " 1", "nan", ""] {
            assert_eq!(
                ms(bad),
                Err(Reply::err("timeout is not a float or out of range")),
                "{bad:?}"
            );
        }
    }
}
