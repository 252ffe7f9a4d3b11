//! Commands for sorted sets: ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD:
//! argument parsing and reply shapes. Semantics live in `types::zset_algebra`.
//!
//! All seven share Redis's `zunionInterDiffGenericCommand` front end, and so its order of
//! checks: numkeys (an integer, at least 1, no more than the arguments after it), then the
//! type of every key (WRONGTYPE), then the options left to right (WEIGHTS only with numkeys
//! values after it, AGGREGATE with a value, WITHSCORES only without a destination, LIMIT only
//! in ZINTERCARD). The options are parsed first here, without side effects, and an error in
//! them is only returned once the keys have been checked.

use super::args::{CmdResult, float, int, is, syntax_error};
use super::{Ctx, KEY1, NO_KEYS, RO, RW, Reply, commands};
use crate::resp::Protocol;
use crate::types::zset_algebra::{Aggregate, ScoredMembers};

commands! {
    ZSET_ALGEBRA;
    "zunion", -3, RO, NO_KEYS, "sorted-set", "ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]", "Returns the union of multiple sorted sets.", zunion;
    "zinter", -3, RO, NO_KEYS, "sorted-set", "ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]", "Returns the intersect of multiple sorted sets.", zinter;
    "zdiff", -3, RO, NO_KEYS, "sorted-set", "ZDIFF numkeys key [key ...] [WITHSCORES]", "Returns the difference between multiple sorted sets.", zdiff;
    "zunionstore", -4, RW, KEY1, "sorted-set", "ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]", "Stores the union of multiple sorted sets in a key.", zunionstore;
    "zinterstore", -4, RW, KEY1, "sorted-set", "ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]", "Stores the intersect of multiple sorted sets in a key.", zinterstore;
    "zdiffstore", -4, RW, KEY1, "sorted-set", "ZDIFFSTORE destination numkeys key [key ...]", "Stores the difference of multiple sorted sets in a key.", zdiffstore;
    "zintercard", -3, RO, NO_KEYS, "sorted-set", "ZINTERCARD numkeys key [key ...] [LIMIT limit]", "Returns the number of members of the intersect of multiple sorted sets.", zintercard;
}

/// Which options a command takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// ZUNION and ZINTER: WEIGHTS, AGGREGATE, WITHSCORES; their STORE forms without WITHSCORES.
    Weighted { store: bool },
    /// ZDIFF: WITHSCORES; ZDIFFSTORE: nothing.
    Diff { store: bool },
    /// ZINTERCARD: LIMIT.
    Card,
}

/// The options after the keys.
struct Options {
    /// One per key, 1 unless WEIGHTS.
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    /// ZINTERCARD's LIMIT, 0 for none.
    limit: u64,
}

/// A command's keys and options, as parsed.
struct Call<'a> {
    keys: &'a [&'a [u8]],
    /// An option error waits for the keys' type check (see [`checked`]).
    options: Result<Options, Reply>,
}

/// Splits `argv` after its numkeys argument (at `at`) into the keys and the parsed options;
/// `Err` for a bad numkeys, returned at once. `name` is the command's name for the error text.
fn parse<'a>(name: &str, argv: &'a [&'a [u8]], at: usize, kind: Kind) -> Result<Call<'a>, Reply> {
    let numkeys = int(argv.get(at).copied().unwrap_or_default())?;
    if numkeys < 1 {
        return Err(Reply::err(format!(
            "at least 1 input key is needed for '{name}' command"
        )));
    }
    let rest = argv.get(at + 1..).unwrap_or_default();
    let numkeys = usize::try_from(numkeys)
        .ok()
        .filter(|&n| n <= rest.len())
        .ok_or_else(syntax_error)?;
    let (keys, options) = rest.split_at(numkeys);
    Ok(Call {
        keys,
        options: parse_options(options, numkeys, kind),
    })
}

/// Parses the options after the keys, as Redis does: left to right, each may repeat (the
/// last wins), and WEIGHTS needs a value per key.
fn parse_options(args: &[&[u8]], numkeys: usize, kind: Kind) -> Result<Options, Reply> {
    let mut options = Options {
        weights: vec![1.0; numkeys],
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let weighted = matches!(kind, Kind::Weighted { .. });
    let mut rest = args;
    while let Some((&arg, after)) = rest.split_first() {
        if weighted && after.len() >= numkeys && is(arg, "WEIGHTS") {
            let (values, after) = after.split_at(numkeys);
            for (weight, value) in options.weights.iter_mut().zip(values) {
                *weight = float(value).map_err(|_| Reply::err("weight value is not a float"))?;
            }
            rest = after;
        } else if let (true, Some((&value, after))) = (weighted, after.split_first())
            && is(arg, "AGGREGATE")
        {
            options.aggregate = if is(value, "SUM") {
                Aggregate::Sum
            } else if is(value, "MIN") {
                Aggregate::Min
            } else if is(value, "MAX") {
                Aggregate::Max
            } else {
                return Err(syntax_error());
            };
            rest = after;
        } else if matches!(
            kind,
            Kind::Weighted { store: false } | Kind::Diff { store: false }
        ) && is(arg, "WITHSCORES")
        {
            options.withscores = true;
            rest = after;
        } else if let (Kind::Card, Some((&value, after))) = (kind, after.split_first())
            && is(arg, "LIMIT")
        {
            options.limit = int(value)
                .ok()
                .and_then(|limit| u64::try_from(limit).ok())
                .ok_or_else(|| Reply::err("LIMIT can't be negative"))?;
            rest = after;
        } else {
            return Err(syntax_error());
        }
    }
    Ok(options)
}

/// The options, once the keys' types are known to be right: WRONGTYPE comes before an option
/// error, as in Redis.
fn checked(
    ctx: &mut Ctx<'_, '_>,
    keys: &[&[u8]],
    options: Result<Options, Reply>,
) -> Result<Options, Reply> {
    if options.is_err() {
        ctx.tx.check_zset_algebra_inputs(keys)?;
    }
    options
}

/// The keys paired with their weights.
fn inputs<'a>(keys: &[&'a [u8]], weights: &[f64]) -> Vec<(&'a [u8], f64)> {
    keys.iter().copied().zip(weights.iter().copied()).collect()
}

/// The members, with their scores after each (WITHSCORES): a flat array in RESP2, an array of
/// [member, score] pairs in RESP3, as Redis 7 answers.
fn scored_reply(result: ScoredMembers, withscores: bool, protocol: Protocol) -> Reply {
    if !withscores {
        return Reply::Array(result.into_iter().map(|(m, _)| Reply::Bulk(m)).collect());
    }
    if protocol == Protocol::Resp3 {
        return Reply::Array(
            result
                .into_iter()
                .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
                .collect(),
        );
    }
    Reply::Array(
        result
            .into_iter()
            .flat_map(|(m, s)| [Reply::Bulk(m), Reply::Double(s)])
            .collect(),
    )
}

/// `ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]
/// [WITHSCORES]`
pub(super) fn zunion(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let Call { keys, options } = parse("zunion", argv, 1, Kind::Weighted { store: false })?;
    let options = checked(ctx, keys, options)?;
    let result = ctx
        .tx
        .zunion(&inputs(keys, &options.weights), options.aggregate)?;
    Ok(scored_reply(
        result,
        options.withscores,
        ctx.client.protocol,
    ))
}

/// `ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]
/// [WITHSCORES]`
pub(super) fn zinter(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let Call { keys, options } = parse("zinter", argv, 1, Kind::Weighted { store: false })?;
    let options = checked(ctx, keys, options)?;
    let result = ctx
        .tx
        .zinter(&inputs(keys, &options.weights), options.aggregate)?;
    Ok(scored_reply(
        result,
        options.withscores,
        ctx.client.protocol,
    ))
}

/// `ZDIFF numkeys key [key ...] [WITHSCORES]`
pub(super) fn zdiff(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let Call { keys, options } = parse("zdiff", argv, 1, Kind::Diff { store: false })?;
    let options = checked(ctx, keys, options)?;
    let result = ctx.tx.zdiff(keys)?;
    Ok(scored_reply(
        result,
        options.withscores,
        ctx.client.protocol,
    ))
}

/// `ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE
/// <SUM | MIN | MAX>]`
pub(super) fn zunionstore(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let Call { keys, options } = parse("zunionstore", argv, 2, Kind::Weighted { store: true })?;
    let options = checked(ctx, keys, options)?;
    let stored = ctx
        .tx
        .zunionstore(argv[1], &inputs(keys, &options.weights), options.aggregate)?;
    Ok(Reply::Integer(stored as i64))
}

/// `ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE
/// <SUM | MIN | MAX>]`
pub(super) fn zinterstore(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let Call { keys, options } = parse("zinterstore", argv, 2, Kind::Weighted { store: true })?;
    let options = checked(ctx, keys, options)?;
    let stored = ctx
        .tx
        .zinterstore(argv[1], &inputs(keys, &options.weights), options.aggregate)?;
    Ok(Reply::Integer(stored as i64))
}

/// `ZDIFFSTORE destination numkeys key [key ...]`
pub(super) fn zdiffstore(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let Call { keys, options } = parse("zdiffstore", argv, 2, Kind::Diff { store: true })?;
    checked(ctx, keys, options)?;
    Ok(Reply::Integer(ctx.tx.zdiffstore(argv[1], keys)? as i64))
}

/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`
pub(super) fn zintercard(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let Call { keys, options } = parse("zintercard", argv, 1, Kind::Card)?;
    let options = checked(ctx, keys, options)?;
    Ok(Reply::Integer(
        ctx.tx.zintercard(keys, options.limit)? as i64
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<&[u8]> {
        line.split(' ').map(str::as_bytes).collect()
    }

    fn options(line: &str, kind: Kind) -> Result<Options, Reply> {
        let argv = args(line);
        parse("zunion", &argv, 1, kind)?.options
    }

    #[test]
    fn wrongtype_comes_before_option_errors_and_resp3_pairs_the_scores()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut session = crate::Session::new(crate::Db::open(dir.path())?);
        let run = |session: &mut crate::Session, line: &str| session.execute(&args(line));
        assert_eq!(run(&mut session, "set str x"), Reply::ok());
        assert_eq!(
            run(&mut session, "zunion 2 nokey str weights 1 x"),
            Reply::Error(crate::Error::WrongType.reply_text())
        );
        assert_eq!(
            run(&mut session, "zintercard 1 str limit -1"),
            Reply::Error(crate::Error::WrongType.reply_text())
        );
        assert_eq!(
            run(&mut session, "zunion 1 nokey weights x"),
            Reply::err("weight value is not a float")
        );
        assert_eq!(
            run(&mut session, "zunionstore str 1 nokey"),
            Reply::Integer(0)
        );
        assert_eq!(run(&mut session, "exists str"), Reply::Integer(0));
        let dir2 = tempfile::tempdir()?;
        let db = crate::Db::open(dir2.path())?;
        db.tx(|tx| {
            tx.put_elements(
                b"s",
                crate::ValueType::Set,
                false,
                &[(b"a", b""), (b"b", b"")],
            )
        })?;
        let mut session = crate::Session::new(db);
        let pairs = Reply::Array(vec![
            Reply::Array(vec![Reply::bulk("a"), Reply::Double(2.0)]),
            Reply::Array(vec![Reply::bulk("b"), Reply::Double(2.0)]),
        ]);
        let flat = Reply::Array(vec![
            Reply::bulk("a"),
            Reply::Double(2.0),
            Reply::bulk("b"),
            Reply::Double(2.0),
        ]);
        assert_eq!(run(&mut session, "zunion 1 s weights 2 withscores"), flat);
        session.execute(&args("hello 3"));
        assert_eq!(run(&mut session, "zunion 1 s weights 2 withscores"), pairs);
        assert_eq!(
            run(&mut session, "zdiff 1 s"),
            Reply::Array(vec![Reply::bulk("a"), Reply::bulk("b")])
        );
        Ok(())
    }

    #[test]
    fn numkeys_errors_come_first_with_redis_texts() {
        let weighted = Kind::Weighted { store: false };
        for (line, error) in [
            (
                "zunion 0 k",
                "ERR at least 1 input key is needed for 'zunion' command",
            ),
            (
                "zunion -5 k",
                "ERR at least 1 input key is needed for 'zunion' command",
            ),
            ("zunion x k", "ERR value is not an integer or out of range"),
            ("zunion 2 k", "ERR syntax error"),
            ("zunion 9223372036854775807 k", "ERR syntax error"),
        ] {
            let argv = args(line);
            assert_eq!(
                parse("zunion", &argv, 1, weighted).err(),
                Some(Reply::Error(error.into())),
                "{line}"
            );
        }
    }

    #[test]
    fn options_follow_redis_rules() {
        let weighted = Kind::Weighted { store: false };
        let store = Kind::Weighted { store: true };
        let parsed = options(
            "zunion 2 a b weights 2 -inf aggregate max withscores",
            weighted,
        );
        let parsed = parsed.ok();
        assert_eq!(
            parsed.as_ref().map(|o| o.weights.clone()),
            Some(vec![2.0, f64::NEG_INFINITY])
        );
        assert_eq!(parsed.as_ref().map(|o| o.aggregate), Some(Aggregate::Max));
        assert_eq!(parsed.map(|o| o.withscores), Some(true));
        for (line, kind, error) in [
            ("zunion 2 a b weights 1", weighted, "ERR syntax error"),
            (
                "zunion 2 a b weights 1 x",
                weighted,
                "ERR weight value is not a float",
            ),
            (
                "zunion 1 a weights nan",
                weighted,
                "ERR weight value is not a float",
            ),
            ("zunion 1 a aggregate", weighted, "ERR syntax error"),
            ("zunion 1 a aggregate avg", weighted, "ERR syntax error"),
            ("zunion 1 a withscores", store, "ERR syntax error"),
            (
                "zunion 1 a weights 1",
                Kind::Diff { store: false },
                "ERR syntax error",
            ),
            ("zunion 1 a limit 1", weighted, "ERR syntax error"),
            (
                "zunion 1 a limit -1",
                Kind::Card,
                "ERR LIMIT can't be negative",
            ),
            (
                "zunion 1 a limit x",
                Kind::Card,
                "ERR LIMIT can't be negative",
            ),
            ("zunion 1 a limit", Kind::Card, "ERR syntax error"),
            ("zunion 1 a withscores", Kind::Card, "ERR syntax error"),
        ] {
            assert_eq!(
                options(line, kind).err(),
                Some(Reply::Error(error.into())),
                "{line}"
            );
        }
        assert_eq!(
            options("zunion 1 a limit 3 limit 0", Kind::Card)
                .ok()
                .map(|o| o.limit),
            Some(0)
        );
    }
}
