//! Model-based property test of the storage core, with reopens and simulated crashes.
//!
//! Each case is a random sequence of commands over a few keys in three databases: strings,
//! hashes, sets, sorted sets and lists, the keyspace and TTL commands applied to all of them,
//! and string commands hitting collections and the reverse (WRONGTYPE). Collections draw their
//! fields, members, scores and elements from small alphabets, so elements collide, collections
//! empty (and must disappear) and are recreated under a new version. Lists get every write
//! command (pushes, pops with and without a count, LINSERT, LSET, LREM, LTRIM, LMOVE,
//! RPOPLPUSH, LMPOP) and the blocking pops with a short timeout, which in a single-threaded
//! test either pop at once or time out; and now and then a burst of 40 LINSERTs next to the
//! same pivot, which uses up the gap between two positions and makes kvdb renumber the list
//! (see `src/collection/list.rs`). The commands are interleaved with clock moves, reopens and
//! crashes (see [`crashfs`]): kills, torn tails, power cuts between commands, and power cuts
//! planned at the n-th file event, which strike inside a command. Every reply is compared with
//! the in-memory [`model`], as a RESP2 client would see it (sorted where Redis leaves the order
//! unspecified: HGETALL, SMEMBERS). After each reopen or crash, and at the end, the whole state
//! is compared: TYPE and PEXPIRETIME of every key in every database used, its whole value (GET;
//! HGETALL, HLEN and HGET of every field; SMEMBERS, SCARD and SISMEMBER of every member; ZRANGE
//! 0 -1 WITHSCORES, ZCARD and ZSCORE of every member; LRANGE 0 -1, LLEN, LINDEX at the head,
//! middle and tail, and LPOS ... COUNT 0 of every element of the alphabet), then DBSIZE of all
//! 16 databases.
//!
//! The model itself is checked against a real Redis 7.0 by the ignored test
//! `the_model_answers_as_redis_7_0_does`, on the commands whose replies do not depend on the
//! clock (the blocking pops included: Redis, too, times out on them with nobody to push).
//!
//! What a crash must preserve, where `end` is the log position the crash image holds:
//! * exactly the state after the last command whose records end at or before `end`
//!   ([`kvdb::Db::log_position`] is recorded before and after every command). So nothing
//!   deleted or expired comes back, and no multi-key command is half applied;
//! * after a kill (written bytes survive) or a power cut under `appendfsync always`, that state
//!   includes every acknowledged command.
//!
//! The background expiry thread (in the runs that have it) appends tombstones at moments the
//! test does not control, so there a command whose recorded span straddles `end` may be on
//! either side of it. Without that thread, positions are exact.

mod crashfs;
mod model;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kvdb::clock::ManualClock;
use kvdb::resp::Protocol;
use kvdb::{Db, Fsync, Options, Reply};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crashfs::{Crash, CrashFs, Pos};
use model::{
    Cond, DBS, Data, ELEMENTS, ExpireUnit, FIELDS, HashRead, KEYS, ListRead, MEMBERS, Model, Op,
    SCORES, SetRead, TtlArg, ZSetRead, full_reads, live,
};

/// Where the manual clock starts: a realistic Unix time in ms.
const START_MS: u64 = 1_700_000_000_000;

/// The knobs one test function fixes for all its cases.
#[derive(Debug, Clone, Copy)]
struct Config {
    fsync: Fsync,
    segment_size: u64,
    active_expiry: Option<Duration>,
    compression_threshold: usize,
    mmap: bool,
}

/// The state after one step, and the span of the log its command wrote.
#[derive(Debug, Clone)]
struct Step {
    /// Log position before the command.
    pre: Pos,
    /// Log position after the command.
    post: Pos,
    /// The model's data after the command.
    data: Data,
}

struct Harness {
    cfg: Config,
    clock: Arc<ManualClock>,
    root: tempfile::TempDir,
    generation: usize,
    dir: PathBuf,
    fs: Arc<CrashFs>,
    db: Option<Db>,
    model: Model,
    /// Every step since the directory was created (crash recovery keeps a prefix of it).
    history: Vec<Step>,
    /// What the case did so far, one line per step, for the failure message.
    transcript: Vec<String>,
}

fn fail(msg: impl Into<String>) -> TestCaseError {
    TestCaseError::fail(msg.into())
}

fn io(e: std::io::Error) -> TestCaseError {
    fail(format!("i/o error in the test: {e}"))
}

impl Harness {
    fn new(cfg: Config) -> Result<Harness, TestCaseError> {
        let root = tempfile::tempdir().map_err(io)?;
        let dir = root.path().join("gen0");
        let clock = ManualClock::new(START_MS);
        let mut h = Harness {
            cfg,
            clock,
            root,
            generation: 0,
            dir: dir.clone(),
            fs: Arc::new(CrashFs::default()),
            db: None,
            model: Model::new(START_MS),
            history: vec![Step {
                pre: (0, 0),
                post: (0, 0),
                data: Data::new(),
            }],
            transcript: Vec::new(),
        };
        h.open(&dir)?;
        let pos = h.db()?.log_position();
        h.history.push(Step {
            pre: pos,
            post: pos,
            data: Data::new(),
        });
        Ok(h)
    }

    fn db(&self) -> Result<&Db, TestCaseError> {
        self.db.as_ref().ok_or_else(|| fail("no open database"))
    }

    fn open(&mut self, dir: &Path) -> Result<kvdb::engine::RecoveryReport, TestCaseError> {
        self.fs = Arc::new(if dir.exists() {
            CrashFs::for_dir(dir).map_err(io)?
        } else {
            CrashFs::default()
        });
        let options = Options {
            fsync: self.cfg.fsync,
            segment_size: self.cfg.segment_size,
            active_expiry: self.cfg.active_expiry,
            compression_threshold: self.cfg.compression_threshold,
            mmap: self.cfg.mmap,
            clock: self.clock.clone(),
            observer: Some(self.fs.clone()),
            // Compactions run as steps of the case (Op::Compact), with a policy eager enough
            // to pick something in a small log.
            auto_compaction: false,
            compaction_dead_ratio: 0.2,
            compaction_min_dead_bytes: 0,
            ..Options::default()
        };
        let db = Db::open_with(dir, options)
            .map_err(|e| fail(format!("open {} failed: {e:?}", dir.display())))?;
        let report = db.recovery_report().clone();
        self.dir = dir.to_owned();
        self.db = Some(db);
        Ok(report)
    }

    fn run(&mut self, i: usize, op: &Op) -> Result<(), TestCaseError> {
        self.transcript.push(match op.argv(self.model.now) {
            Some((index, argv)) => format!("{i:>3} db{index}> {}", show(&argv)),
            None => format!("{i:>3} {op:?} (clock +{})", self.model.now - START_MS),
        });
        // The last step acknowledged before this one: a power cut during this step must keep it.
        let acked = self.history.len() - 1;
        match op {
            Op::Advance(ms) => {
                self.clock.advance(*ms);
                self.model.now += ms;
                let pos = self.db()?.log_position();
                self.push(pos, pos);
            }
            Op::Reopen => {
                // Dropping fsyncs: a planned power cut would strike inside the harness.
                self.fs.cancel_plan();
                drop(self.db.take());
                let dir = self.dir.clone();
                let report = self.open(&dir)?;
                if let Some(cut) = report.truncated {
                    return Err(fail(format!(
                        "step {i}: a clean reopen cut a tail: {cut:?}"
                    )));
                }
                self.check_state(&format!("step {i}: after reopen"))?;
                let pos = self.db()?.log_position();
                self.push(pos, pos);
            }
            Op::Crash { crash, seed } => {
                self.fs.cancel_plan();
                let mut rng = fastrand::Rng::with_seed(*seed);
                let image = self.next_image();
                // Built while the database is still open: dropping it would fsync.
                let end = crashfs::build_image(&self.dir, &self.fs, *crash, &image, &mut rng)
                    .map_err(io)?;
                let what = format!("step {i}: after {crash:?} (seed {seed})");
                self.recover(&what, &image, end, *crash, acked)?;
            }
            Op::PowerCutDuring { events, seed } => {
                let image = self.next_image();
                self.fs.plan_power_cut(&self.dir, *events, *seed, &image);
                let pos = self.db()?.log_position();
                self.push(pos, pos);
            }
            Op::Compact { .. } | Op::Save => {
                let db = self.db()?;
                let pre = db.log_position();
                let done = match op {
                    Op::Compact { full: true } => db.compact(|_, _| {}).map(|_| ()),
                    Op::Compact { full: false } => db.compact_if_needed(),
                    _ => db.save(),
                };
                let post = db.log_position();
                if let Some(end) = self.fs.taken() {
                    // The power cut struck inside; what the live store does next is moot.
                    self.push(pre, post);
                    let image = self.root.path().join(format!("gen{}", self.generation));
                    let what = format!("step {i}: after a power cut during {op:?}");
                    self.recover(&what, &image, end.map_err(io)?, Crash::PowerCut, acked)?;
                    return Ok(());
                }
                done.map_err(|e| fail(format!("step {i}: {op:?} failed: {e:?}")))?;
                if let (Op::Compact { full: true }, None) = (op, self.cfg.active_expiry) {
                    // Everything sealed was just rewritten: nothing dead is left but the
                    // tombstones and expiries still needed. (Background expiry may delete a
                    // key right after, hence only without it.)
                    let info = db.persistence();
                    let left: u64 = info.segments.iter().map(|s| s.reclaimable()).sum();
                    if left > 0 {
                        return Err(fail(format!(
                            "step {i}: {left} dead bytes left after a full compaction: {:?}",
                            info.segments
                        )));
                    }
                }
                self.push(pre, post);
                self.check_state(&format!("step {i}: after {op:?}"))?;
            }
            _ => {
                let (index, argv) = op.argv(self.model.now).ok_or_else(|| fail("no argv"))?;
                let db = self
                    .db()?
                    .select(i64::from(index))
                    .map_err(|e| fail(e.to_string()))?;
                let pre = db.log_position();
                let got = db.execute(&argv);
                let post = db.log_position();
                let want = self.model.apply(op);
                if let Some(diff) = differ(op, got, &want) {
                    return Err(fail(format!(
                        "step {i}: {} in db {index}: {diff}",
                        show(&argv)
                    )));
                }
                self.push(pre, post);
                if let Some(end) = self.fs.taken() {
                    let image = self.root.path().join(format!("gen{}", self.generation));
                    let what = format!("step {i}: after a power cut during {}", show(&argv));
                    self.recover(&what, &image, end.map_err(io)?, Crash::PowerCut, acked)?;
                }
            }
        }
        Ok(())
    }

    /// A fresh directory for the next crash image.
    fn next_image(&mut self) -> PathBuf {
        self.generation += 1;
        self.root.path().join(format!("gen{}", self.generation))
    }

    fn push(&mut self, pre: Pos, post: Pos) {
        self.history.push(Step {
            pre,
            post,
            data: self.model.data.clone(),
        });
    }

    /// Opens the crash image `image`, whose log ends at `end`, and checks it holds the state
    /// the crash must keep; step `acked` is the last one acknowledged before the crash.
    fn recover(
        &mut self,
        what: &str,
        image: &Path,
        end: Pos,
        crash: Crash,
        acked: usize,
    ) -> Result<(), TestCaseError> {
        drop(self.db.take());
        let report = self.open(image)?;
        let what = format!("{what} with the log cut at {end:?}");

        let k = self
            .history
            .iter()
            .rposition(|s| s.post <= end)
            .ok_or_else(|| fail(format!("{what}: no step ends before the cut")))?;
        // Which steps the image may hold: k, or also k + 1 when background tombstones make its
        // recorded span straddle the cut.
        let mut candidates = vec![k];
        if self.cfg.active_expiry.is_some() && k + 1 < self.history.len() {
            let next = &self.history[k + 1];
            if next.pre < end {
                candidates.push(k + 1);
            }
        }
        // Every acknowledged step must be there: the image is at or after step `acked`, or
        // differs from it only by the tombstones of keys expired since (which are not synced).
        let must_keep_all =
            crash == Crash::Kill || (crash == Crash::PowerCut && self.cfg.fsync == Fsync::Always);
        if must_keep_all {
            let now = self.model.now;
            let acked_data = live(&self.history[acked].data, now);
            if !candidates
                .iter()
                .any(|&c| c >= acked || live(&self.history[c].data, now) == acked_data)
            {
                return Err(fail(format!(
                    "{what}: acknowledged commands are lost: the image ends after step {k}, \
                     step {acked} was acknowledged (recovery: {report:?})"
                )));
            }
        }
        if crash == Crash::Kill && self.cfg.active_expiry.is_none() && report.truncated.is_some() {
            return Err(fail(format!(
                "{what}: a kill image had a torn tail: {report:?}"
            )));
        }

        let mut errors = Vec::new();
        for &c in &candidates {
            self.model.data = live(&self.history[c].data, self.model.now);
            match self.check_state(&what) {
                Ok(()) => {
                    // Recovery must not cut what the image is known to hold: all of step k; of a
                    // straddling step, whose recorded end includes background tombstones, at
                    // least what came before it.
                    let kept = if c == k {
                        self.history[c].post
                    } else {
                        self.history[c].pre
                    };
                    self.history.truncate(c + 1);
                    let pos = self.db()?.log_position();
                    if pos < kept {
                        return Err(fail(format!(
                            "{what}: recovery cut the log at {pos:?}, before {kept:?}, where \
                             step {c} is known to end"
                        )));
                    }
                    self.push(pos, pos);
                    return Ok(());
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        Err(fail(format!(
            "{} (recovery: {report:?})",
            errors.join("; ")
        )))
    }

    /// Compares the whole database with the model.
    fn check_state(&self, what: &str) -> Result<(), TestCaseError> {
        let now = self.model.now;
        let data = live(&self.model.data, now);
        // Reads only: the copy's replies are those of the model as it is.
        let mut model = Model {
            now,
            data: data.clone(),
        };
        let db = self.db()?;
        for index in 0..16u8 {
            let handle = db
                .select(i64::from(index))
                .map_err(|e| fail(e.to_string()))?;
            if index < DBS {
                for (key, name) in KEYS.iter().enumerate() {
                    let want = data.get(&(index, name.as_bytes().to_vec()));
                    let reads = full_reads(index, key, want.map(|v| &v.val));
                    for op in &reads {
                        let (_, argv) = op.argv(now).ok_or_else(|| fail("no argv"))?;
                        let got = handle.execute(&argv);
                        if let Some(diff) = differ(op, got, &model.apply(op)) {
                            return Err(fail(format!(
                                "{what}: {} in db {index} at {now}: {diff}",
                                show(&argv)
                            )));
                        }
                    }
                    let got = handle.execute(&["PEXPIRETIME", name]);
                    let want_ttl = Reply::Integer(match want {
                        None => -2,
                        Some(v) if v.expires_at == 0 => -1,
                        Some(v) => v.expires_at as i64,
                    });
                    if got != want_ttl {
                        return Err(fail(format!(
                            "{what}: PEXPIRETIME {name} in db {index} at {now}: got {got:?}, \
                             want {want_ttl:?}"
                        )));
                    }
                }
            }
            let size = data.keys().filter(|(d, _)| *d == index).count();
            let got = handle.execute(&["DBSIZE"]);
            let want = Reply::Integer(size as i64);
            if got != want {
                return Err(fail(format!(
                    "{what}: DBSIZE of db {index}: got {got:?}, want {want:?}"
                )));
            }
        }
        Ok(())
    }
}

/// The RESP2 encoding of `reply`: what a RESP2 client receives.
fn resp2(reply: &Reply) -> Vec<u8> {
    let mut out = Vec::new();
    kvdb::resp::encode(reply, Protocol::Resp2, &mut out);
    out
}

/// `reply` as an array whose items, taken `group` at a time (a field and its value), are
/// sorted: for replies whose order Redis leaves unspecified.
fn sorted(reply: Reply, group: usize) -> Reply {
    let items = match reply {
        Reply::Array(items) | Reply::Set(items) => items,
        Reply::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        other => return other,
    };
    let mut chunks: Vec<&[Reply]> = items.chunks(group).collect();
    chunks.sort_by_cached_key(|c| c.iter().map(resp2).collect::<Vec<_>>());
    Reply::Array(chunks.concat())
}

/// How the reply kvdb gave to `op` differs from the model's, if it does.
fn differ(op: &Op, got: Reply, want: &Reply) -> Option<String> {
    let (got, want) = match op.unordered() {
        Some(group) => (sorted(got, group), sorted(want.clone(), group)),
        None => (got, want.clone()),
    };
    let (got, want) = (resp2(&got), resp2(&want));
    (got != want).then(|| {
        format!(
            "got {:?}, model says {:?}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want)
        )
    })
}

/// A command line as redis-cli would take it: arguments quoted when empty or not plain.
fn show(argv: &[Vec<u8>]) -> String {
    argv.iter()
        .map(|a| match a.first() {
            Some(&c) if a.len() > 48 && a.iter().all(|&b| b == c) => {
                format!("<{} x {:?}>", a.len(), char::from(c))
            }
            Some(_) if a.len() > 48 => format!("<{} bytes>", a.len()),
            Some(_)
                if a.iter()
                    .all(|&b| b.is_ascii_graphic() && !b"\"'\\".contains(&b)) =>
            {
                String::from_utf8_lossy(a).into_owned()
            }
            _ => format!("\"{}\"", a.escape_ascii()),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn run_case(cfg: Config, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut h = Harness::new(cfg)?;
    let result = run_steps(&mut h, ops);
    // The failing case as a command transcript, which is easier to replay than the `Op`s.
    result.map_err(|e| match e {
        TestCaseError::Fail(reason) => fail(format!(
            "{reason}\nthe case ({cfg:?}):\n{}",
            h.transcript.join("\n")
        )),
        other => other,
    })
}

fn run_steps(h: &mut Harness, ops: &[Op]) -> Result<(), TestCaseError> {
    for (i, op) in ops.iter().enumerate() {
        h.run(i, op)?;
    }
    h.model.data = live(&h.model.data, h.model.now);
    h.check_state("at the end")?;
    // A final clean reopen sees the same state.
    h.run(ops.len(), &Op::Reopen)
}

// Strategies.

/// A database: mostly 0, so keys meet; the others fill through MOVE and COPY too.
fn db() -> impl Strategy<Value = u8> {
    prop_oneof![3 => Just(0), 1 => 0..DBS]
}

fn key() -> impl Strategy<Value = usize> {
    0..KEYS.len()
}

/// Each family has a home key it uses most of the time, so that its collections grow and
/// shrink instead of mostly meeting keys of other types (which they still do, for WRONGTYPE).
/// The keyspace commands (DEL, RENAME, COPY, EXPIRE...) pick any key.
const STRING_HOME: usize = 3;
/// See [`STRING_HOME`].
const HASH_HOME: usize = 0;
/// See [`STRING_HOME`].
const SET_HOME: usize = 1;
/// See [`STRING_HOME`].
const ZSET_HOME: usize = 2;
/// See [`STRING_HOME`].
const LIST_HOME: usize = 4;

fn key_of(home: usize) -> impl Strategy<Value = usize> {
    prop_oneof![3 => Just(home), 1 => key()]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::sample::select(vec!["", "0", "7", "-3", "10", "x", "hello", "9223372036854775806"])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => (b'a'..=b'z', 1..400usize).prop_map(|(c, n)| vec![c; n]),
        1 => vec(any::<u8>(), 0..48),
    ]
}

fn ttl_arg() -> impl Strategy<Value = TtlArg> {
    prop_oneof![
        4 => Just(TtlArg::None),
        1 => (1..=3u64).prop_map(TtlArg::Ex),
        2 => (1..=3000u64).prop_map(TtlArg::Px),
        2 => (-2000..=3000i64).prop_map(TtlArg::PxAt),
        1 => Just(TtlArg::Keep),
    ]
}

fn crash() -> impl Strategy<Value = Crash> {
    prop_oneof![Just(Crash::Kill), Just(Crash::Torn), Just(Crash::PowerCut)]
}

fn field() -> impl Strategy<Value = usize> {
    0..FIELDS.len()
}

fn member() -> impl Strategy<Value = usize> {
    0..MEMBERS.len()
}

fn members(max: usize) -> impl Strategy<Value = Vec<usize>> {
    vec(member(), 1..=max)
}

/// Hash values: integers (for HINCRBY, at the edges of i64 too), other short strings, and
/// long ones that compress (in the test with a low compression threshold).
fn hash_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "", "0", "1", "-7", "x", "9223372036854775807", "-9223372036854775808",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => (b'a'..=b'z', 60..200usize).prop_map(|(c, n)| vec![c; n]),
    ]
}

/// A score or increment: mostly finite, some infinite, rarely not a float.
fn score() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        16 => prop::sample::select(&SCORES[..7]),
        2 => prop::sample::select(&SCORES[7..9]),
        1 => Just(SCORES[9]),
    ]
}

/// ZADD's options, in the order given: none, one or two of NX XX GT LT CH (some pairs are
/// incompatible), or INCR with at most one of NX XX GT LT.
fn zadd_opts() -> impl Strategy<Value = Vec<&'static str>> {
    let flags = vec!["NX", "XX", "GT", "LT", "CH"];
    prop_oneof![
        4 => Just(vec![]),
        4 => prop::sample::subsequence(flags.clone(), 1..=2),
        2 => prop::sample::subsequence(flags[..4].to_vec(), 0..=1).prop_map(|mut v| {
            v.push("INCR");
            v
        }),
    ]
}

/// A ZREMRANGEBYSCORE bound.
fn score_bound() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "-inf", "-2", "(-0.5", "0", "(0", "1", "(1.5", "3", "+inf",
    ])
}

/// String commands, and the keyspace and TTL commands (which apply to every type).
fn string_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (db(), key_of(STRING_HOME), value(), prop_oneof![3 => Just(Cond::Always), 1 => Just(Cond::Nx), 1 => Just(Cond::Xx)], prop::bool::weighted(0.2), ttl_arg())
            .prop_map(|(db, key, value, cond, get, ttl)| Op::Set { db, key, value, cond, get, ttl }),
        2 => (db(), key_of(STRING_HOME)).prop_map(|(db, key)| Op::Get { db, key }),
        2 => (db(), key_of(STRING_HOME), value()).prop_map(|(db, key, value)| Op::Append { db, key, value }),
        2 => (db(), key_of(STRING_HOME), prop_oneof![4 => -5..=5i64, 1 => Just(i64::MAX)])
            .prop_map(|(db, key, delta)| Op::IncrBy { db, key, delta }),
        1 => (db(), key_of(STRING_HOME), 0..12u8, vec(any::<u8>(), 0..6))
            .prop_map(|(db, key, offset, patch)| Op::SetRange { db, key, offset, patch }),
        2 => (db(), vec(key(), 1..=3)).prop_map(|(db, keys)| Op::Del { db, keys }),
        2 => (db(), key(), key(), any::<bool>()).prop_map(|(db, src, dst, nx)| Op::Rename { db, src, dst, nx }),
        2 => (db(), key(), key(), prop::option::of(db()), any::<bool>())
            .prop_map(|(db, src, dst, dst_db, replace)| Op::Copy { db, src, dst, dst_db, replace }),
        1 => (db(), key(), db()).prop_map(|(db, key, dst_db)| Op::Move { db, key, dst_db }),
        2 => (db(), vec((key_of(STRING_HOME), value()), 1..=3)).prop_map(|(db, pairs)| Op::MSet { db, pairs }),
        1 => (db(), key_of(STRING_HOME)).prop_map(|(db, key)| Op::GetDel { db, key }),
        1 => (db(), key_of(STRING_HOME), ttl_arg()).prop_map(|(db, key, ttl)| Op::GetEx { db, key, ttl }),
        3 => (
            db(),
            key(),
            prop_oneof![
                (-1..=3i64).prop_map(|n| (ExpireUnit::Seconds, n)),
                (-100..=3000i64).prop_map(|n| (ExpireUnit::Millis, n)),
                (-3000..=5000i64).prop_map(|n| (ExpireUnit::AtMillis, n)),
            ],
            prop_oneof![4 => Just(None), 1 => prop::sample::select(vec!["NX", "XX", "GT", "LT"]).prop_map(Some)],
        )
            .prop_map(|(db, key, (unit, amount), cond)| Op::Expire { db, key, unit, amount, cond }),
        1 => (db(), key()).prop_map(|(db, key)| Op::Persist { db, key }),
        1 => (db(), key()).prop_map(|(db, key)| Op::Type { db, key }),
        1 => db().prop_map(|db| Op::FlushDb { db }),
        1 => Just(Op::FlushAll),
    ]
}

fn hash_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (db(), key_of(HASH_HOME), vec((field(), hash_value()), 1..=3))
            .prop_map(|(db, key, pairs)| Op::HSet { db, key, pairs }),
        2 => (db(), key_of(HASH_HOME), vec(field(), 1..=2)).prop_map(|(db, key, fields)| Op::HDel { db, key, fields }),
        2 => (db(), key_of(HASH_HOME), field(), prop_oneof![6 => -3..=3i64, 1 => Just(i64::MAX), 1 => Just(i64::MIN)])
            .prop_map(|(db, key, field, delta)| Op::HIncrBy { db, key, field, delta }),
        2 => (
            db(),
            key_of(HASH_HOME),
            prop_oneof![
                field().prop_map(HashRead::Get),
                Just(HashRead::GetAll),
                Just(HashRead::Len),
                field().prop_map(HashRead::Exists),
            ],
        )
            .prop_map(|(db, key, read)| Op::HRead { db, key, read }),
    ]
}

fn set_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (db(), key_of(SET_HOME), members(3)).prop_map(|(db, key, members)| Op::SAdd { db, key, members }),
        2 => (db(), key_of(SET_HOME), members(2)).prop_map(|(db, key, members)| Op::SRem { db, key, members }),
        2 => (db(), key_of(SET_HOME), key_of(SET_HOME), member())
            .prop_map(|(db, src, dst, member)| Op::SMove { db, src, dst, member }),
        2 => (
            db(),
            key_of(SET_HOME),
            prop_oneof![
                Just(SetRead::Members),
                Just(SetRead::Card),
                member().prop_map(SetRead::IsMember),
            ],
        )
            .prop_map(|(db, key, read)| Op::SRead { db, key, read }),
        1 => (db(), key(), vec(key_of(SET_HOME), 1..=3)).prop_map(|(db, dst, keys)| Op::SInterStore { db, dst, keys }),
    ]
}

fn zset_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (db(), key_of(ZSET_HOME), zadd_opts(), vec((score(), member()), 1..=3), prop::bool::weighted(0.8))
            .prop_map(|(db, key, opts, mut pairs, single)| {
                // INCR takes one pair; more is an error, tried now and then.
                if single && opts.contains(&"INCR") {
                    pairs.truncate(1);
                }
                Op::ZAdd { db, key, opts, pairs }
            }),
        2 => (db(), key_of(ZSET_HOME), score(), member())
            .prop_map(|(db, key, incr, member)| Op::ZIncrBy { db, key, incr, member }),
        2 => (db(), key_of(ZSET_HOME), members(2)).prop_map(|(db, key, members)| Op::ZRem { db, key, members }),
        1 => (db(), key_of(ZSET_HOME), score_bound(), score_bound())
            .prop_map(|(db, key, min, max)| Op::ZRemRangeByScore { db, key, min, max }),
        1 => (db(), key_of(ZSET_HOME), -3..=2i64, -3..=3i64)
            .prop_map(|(db, key, start, stop)| Op::ZRemRangeByRank { db, key, start, stop }),
        2 => (db(), key_of(ZSET_HOME), prop_oneof![2 => Just(None), 3 => (0..=3i64).prop_map(Some), 1 => Just(Some(-1))])
            .prop_map(|(db, key, count)| Op::ZPopMin { db, key, count }),
        2 => (
            db(),
            key_of(ZSET_HOME),
            prop_oneof![
                2 => (-3..=2i64, -3..=3i64, any::<bool>())
                    .prop_map(|(start, stop, scores)| ZSetRead::Range { start, stop, scores }),
                1 => member().prop_map(ZSetRead::Score),
                1 => Just(ZSetRead::Card),
                1 => member().prop_map(ZSetRead::Rank),
            ],
        )
            .prop_map(|(db, key, read)| Op::ZRead { db, key, read }),
        // At most two sources: Redis adds them in an order of its own (by size), which only
        // two sources (and no -0 score) make irrelevant to SUM, MIN and MAX.
        2 => (
            db(),
            key(),
            vec(prop_oneof![2 => Just(ZSET_HOME), 1 => Just(SET_HOME), 1 => key()], 1..=2),
            prop::option::of(vec(prop::sample::select(vec!["1", "2", "0.5"]), 2)),
            prop::option::of(prop::sample::select(vec!["SUM", "MIN", "MAX"])),
        )
            .prop_map(|(db, dst, keys, weights, aggregate)| {
                let weights = weights.map(|mut w| {
                    w.truncate(keys.len());
                    w
                });
                Op::ZUnionStore { db, dst, keys, weights, aggregate }
            }),
    ]
}

fn element() -> impl Strategy<Value = usize> {
    0..ELEMENTS.len()
}

/// A pushed or written list element: mostly one of [`ELEMENTS`] (which pivots, LREM and LPOS
/// look for), sometimes a long one that compresses.
fn list_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => element().prop_map(|e| ELEMENTS[e].as_bytes().to_vec()),
        1 => (b'a'..=b'z', 60..200usize).prop_map(|(c, n)| vec![c; n]),
    ]
}

/// The keys of LMPOP and the blocking pops: one to three, mostly the list home.
fn list_keys() -> impl Strategy<Value = Vec<usize>> {
    vec(key_of(LIST_HOME), 1..=3)
}

fn list_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (db(), key_of(LIST_HOME), any::<bool>(), prop::bool::weighted(0.2), vec(list_value(), 1..=4))
            .prop_map(|(db, key, left, only_if_exists, elements)| Op::Push { db, key, left, only_if_exists, elements }),
        3 => (db(), key_of(LIST_HOME), any::<bool>(), prop_oneof![4 => Just(None), 4 => (0..=3i64).prop_map(Some), 1 => Just(Some(-1))])
            .prop_map(|(db, key, left, count)| Op::Pop { db, key, left, count }),
        2 => (db(), key_of(LIST_HOME), any::<bool>(), element(), list_value())
            .prop_map(|(db, key, before, pivot, element)| Op::LInsert { db, key, before, pivot, element }),
        1 => (db(), key_of(LIST_HOME), -4..=4i64, list_value())
            .prop_map(|(db, key, index, element)| Op::LSet { db, key, index, element }),
        2 => (db(), key_of(LIST_HOME), -2..=2i64, element())
            .prop_map(|(db, key, count, element)| Op::LRem { db, key, count, element }),
        1 => (db(), key_of(LIST_HOME), -5..=2i64, -5..=5i64)
            .prop_map(|(db, key, start, stop)| Op::LTrim { db, key, start, stop }),
        2 => (db(), key_of(LIST_HOME), key_of(LIST_HOME), any::<bool>(), any::<bool>(), prop::bool::weighted(0.25))
            .prop_map(|(db, src, dst, from_left, to_left, rpoplpush)| {
                let (from_left, to_left) = if rpoplpush { (false, true) } else { (from_left, to_left) };
                Op::LMove { db, src, dst, from_left, to_left, rpoplpush, block: false }
            }),
        1 => (db(), list_keys(), any::<bool>(), prop_oneof![2 => Just(None), 3 => (1..=3i64).prop_map(Some), 1 => Just(Some(0))])
            .prop_map(|(db, keys, left, count)| Op::LMPop { db, keys, left, count, block: false }),
        // Blocking pops: at once when a list is there, else after BLOCK_TIMEOUT (real time).
        1 => prop_oneof![
            (db(), list_keys(), any::<bool>()).prop_map(|(db, keys, left)| Op::BPop { db, keys, left }),
            (db(), key_of(LIST_HOME), key_of(LIST_HOME), any::<bool>(), any::<bool>(), prop::bool::weighted(0.25))
                .prop_map(|(db, src, dst, from_left, to_left, rpoplpush)| {
                    let (from_left, to_left) = if rpoplpush { (false, true) } else { (from_left, to_left) };
                    Op::LMove { db, src, dst, from_left, to_left, rpoplpush, block: true }
                }),
            (db(), list_keys(), any::<bool>(), prop::option::of(1..=3i64))
                .prop_map(|(db, keys, left, count)| Op::LMPop { db, keys, left, count, block: true }),
        ],
        4 => (
            db(),
            key_of(LIST_HOME),
            prop_oneof![
                3 => (-4..=2i64, -4..=4i64).prop_map(|(start, stop)| ListRead::Range { start, stop }),
                2 => (-4..=4i64).prop_map(ListRead::Index),
                1 => Just(ListRead::Len),
                3 => (
                    element(),
                    prop_oneof![3 => Just(None), 3 => (-2..=2i64).prop_map(Some)],
                    prop_oneof![3 => Just(None), 3 => (0..=2i64).prop_map(Some), 1 => Just(Some(-1))],
                    prop_oneof![3 => Just(None), 3 => (0..=3i64).prop_map(Some), 1 => Just(Some(-1))],
                )
                    .prop_map(|(element, rank, count, maxlen)| ListRead::Pos { element, rank, count, maxlen }),
            ],
        )
            .prop_map(|(db, key, read)| Op::LRead { db, key, read }),
    ]
}

/// On the list home key: an RPUSH that leaves the pivot with a neighbour on the side of the
/// inserts, then 40 LINSERTs BEFORE (or AFTER) the same pivot in a row. Each goes into the gap
/// next to the element the previous one inserted (the pivot is the first match, which may be
/// an inserted element equal to it), halving the gap between two positions, so the gap is used
/// up after 32 inserts and kvdb renumbers the list; unless the pivot, found first elsewhere in
/// a list that already held it, is the head (BEFORE) or the tail (AFTER).
fn linsert_burst() -> impl Strategy<Value = Vec<Op>> {
    (
        db(),
        Just(LIST_HOME),
        prop::bool::weighted(0.7),
        element(),
        vec(list_value(), 40),
    )
        .prop_map(|(db, key, before, pivot, inserted)| {
            let other = ELEMENTS[(pivot + 1) % ELEMENTS.len()].as_bytes().to_vec();
            let pivot_value = ELEMENTS[pivot].as_bytes().to_vec();
            let elements = if before {
                vec![other, pivot_value]
            } else {
                vec![pivot_value, other]
            };
            let mut ops = vec![Op::Push {
                db,
                key,
                left: false,
                only_if_exists: false,
                elements,
            }];
            ops.extend(inserted.into_iter().map(|element| Op::LInsert {
                db,
                key,
                before,
                pivot,
                element,
            }));
            ops
        })
}

/// Clock moves, reopens and crashes.
fn harness_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop::sample::select(vec![1u64, 10, 100, 500, 1000, 2500]).prop_map(Op::Advance),
        1 => Just(Op::Reopen),
        2 => (crash(), any::<u64>()).prop_map(|(crash, seed)| Op::Crash { crash, seed }),
        1 => (1..12u32, any::<u64>()).prop_map(|(events, seed)| Op::PowerCutDuring { events, seed }),
        1 => (1..60u32, any::<u64>()).prop_map(|(events, seed)| Op::PowerCutDuring { events, seed }),
        2 => any::<bool>().prop_map(|full| Op::Compact { full }),
        1 => Just(Op::Save),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        26 => string_op().boxed(),
        10 => hash_op().boxed(),
        10 => set_op().boxed(),
        15 => zset_op().boxed(),
        22 => list_op().boxed(),
        7 => harness_op().boxed(),
    ]
}

/// Up to 100 steps; a step is one op, or now and then a burst of LINSERTs (see
/// [`linsert_burst`]).
fn ops() -> impl Strategy<Value = Vec<Op>> {
    vec(
        prop_oneof![80 => op().prop_map(|op| vec![op]), 1 => linsert_burst()],
        1..100,
    )
    .prop_map(|steps| steps.into_iter().flatten().collect())
}

/// `cases` per test, unless `PROPTEST_CASES` asks for another number (for longer soak runs).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        max_shrink_iters: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const fn cfg(fsync: Fsync, segment_size: u64) -> Config {
    Config {
        fsync,
        segment_size,
        active_expiry: None,
        compression_threshold: 1024,
        mmap: true,
    }
}

proptest! {
    #![proptest_config(config(150))]

    #[test]
    fn always_fsync_with_tiny_segments_matches_the_model(ops in ops()) {
        run_case(cfg(Fsync::Always, 1024), &ops)?;
    }

    #[test]
    fn everysec_fsync_and_pread_match_the_model_after_every_crash(ops in ops()) {
        run_case(Config { mmap: false, ..cfg(Fsync::EverySec, 2048) }, &ops)?;
    }

    #[test]
    fn no_fsync_with_compression_matches_the_model_after_every_crash(ops in ops()) {
        run_case(Config { compression_threshold: 64, ..cfg(Fsync::No, 4096) }, &ops)?;
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn background_expiry_keeps_the_model_s_state(always in any::<bool>(), ops in ops()) {
        let fsync = if always { Fsync::Always } else { Fsync::No };
        run_case(Config { active_expiry: Some(Duration::from_millis(10)), ..cfg(fsync, 1024) }, &ops)?;
    }
}

/// Commands only (no clock moves, reopens or crashes), from a fixed seed.
fn fixed_commands(batches: usize) -> Result<Vec<Op>, TestCaseError> {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut out = Vec::new();
    for _ in 0..batches {
        let tree = ops()
            .new_tree(&mut runner)
            .map_err(|e| fail(format!("generating ops: {e}")))?;
        out.extend(
            tree.current()
                .into_iter()
                .filter(|op| op.argv(START_MS).is_some()),
        );
    }
    Ok(out)
}

#[test]
fn a_power_cut_at_every_step_of_a_compaction_loses_nothing() -> Result<(), TestCaseError> {
    // A power cut at the n-th file event of a compaction, for every n until the compaction
    // finishes first: each image must open to the state before the compaction (what was
    // acknowledged and synced), with no temporary file left behind.
    let commands = fixed_commands(6)?;
    for full in [true, false] {
        let mut cuts = 0;
        for events in 1..5000u32 {
            let mut h = Harness::new(cfg(Fsync::Always, 1024))?;
            run_steps_only(&mut h, &commands)?;
            // Make the automatic policy find work: a reopen writes hints, a save syncs.
            let n = commands.len();
            h.run(
                n,
                &Op::PowerCutDuring {
                    events,
                    seed: u64::from(events),
                },
            )?;
            let before = h.dir.clone();
            let result = h.run(n + 1, &Op::Compact { full });
            result.map_err(|e| fail(format!("cut at event {events} (full: {full}): {e}")))?;
            if h.dir == before {
                // The compaction ended before the planned cut.
                break;
            }
            cuts += 1;
            let leftovers: Vec<String> = std::fs::read_dir(&h.dir)
                .map_err(io)?
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|name| name.ends_with(".tmp"))
                .collect();
            if !leftovers.is_empty() {
                return Err(fail(format!(
                    "cut at event {events}: temporary files left after open: {leftovers:?}"
                )));
            }
            h.run(n + 2, &Op::Reopen)?;
        }
        eprintln!("compaction (full: {full}): {cuts} power-cut points checked");
        if cuts < 5 {
            return Err(fail(format!(
                "only {cuts} cut points inside the compaction (full: {full}): the workload \
                 left nothing to compact"
            )));
        }
    }
    Ok(())
}

/// Runs `ops` on `h` without the final checks of [`run_steps`].
fn run_steps_only(h: &mut Harness, ops: &[Op]) -> Result<(), TestCaseError> {
    for (i, op) in ops.iter().enumerate() {
        h.run(i, op)?;
    }
    Ok(())
}

/// A minimal RESP2 client, for checking the model against a real Redis.
struct Redis {
    conn: std::io::BufReader<std::net::TcpStream>,
}

impl Redis {
    fn call(&mut self, argv: &[Vec<u8>]) -> std::io::Result<Reply> {
        use std::io::Write;
        let mut out = format!("*{}\r\n", argv.len()).into_bytes();
        for arg in argv {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        self.conn.get_mut().write_all(&out)?;
        self.reply()
    }

    fn reply(&mut self) -> std::io::Result<Reply> {
        use std::io::{BufRead, Read};
        let bad = || std::io::Error::other("bad reply from Redis");
        let mut line = Vec::new();
        self.conn.read_until(b'\n', &mut line)?;
        let body = line
            .strip_suffix(b"\r\n")
            .and_then(|l| l.get(1..))
            .ok_or_else(bad)?;
        let text = String::from_utf8_lossy(body).into_owned();
        let number = || text.parse::<i64>().map_err(|_| bad());
        Ok(match line[0] {
            b'+' => Reply::Status(text.clone()),
            b'-' => Reply::Error(text.clone()),
            b':' => Reply::Integer(number()?),
            b'$' if number()? < 0 => Reply::Nil,
            b'$' => {
                let mut bytes = vec![0; number()? as usize + 2];
                self.conn.read_exact(&mut bytes)?;
                bytes.truncate(bytes.len() - 2);
                Reply::Bulk(bytes)
            }
            b'*' if number()? < 0 => Reply::NilArray,
            b'*' => Reply::Array(
                (0..number()?)
                    .map(|_| self.reply())
                    .collect::<std::io::Result<_>>()?,
            ),
            _ => return Err(bad()),
        })
    }
}

/// Whether `op` is a command whose reply does not depend on the clock, so a real Redis (whose
/// clock the test does not control) must answer it as the model does.
fn timeless(op: &Op) -> bool {
    match op {
        Op::Set { ttl, .. } => matches!(ttl, TtlArg::None | TtlArg::Keep),
        Op::GetEx { ttl, .. } => matches!(ttl, TtlArg::None | TtlArg::Keep),
        Op::Expire { .. }
        | Op::Advance(_)
        | Op::Reopen
        | Op::Crash { .. }
        | Op::PowerCutDuring { .. }
        | Op::Compact { .. }
        | Op::Save => false,
        _ => true,
    }
}

/// Checks the model itself: runs the cases' commands (those that do not depend on the clock)
/// against a real Redis 7.0 and compares its replies with the model's. The server is flushed
/// (FLUSHALL) before every case. Run with e.g. `redis-server --port 7405 --save '' &` and
/// `KVDB_MODEL_REDIS=127.0.0.1:7405 cargo test --test model -- --ignored`.
#[test]
#[ignore = "needs a Redis 7.0 server, named by KVDB_MODEL_REDIS"]
fn the_model_answers_as_redis_7_0_does() {
    // No default address: the test flushes the server.
    let Ok(addr) = std::env::var("KVDB_MODEL_REDIS") else {
        panic!("set KVDB_MODEL_REDIS to the address of a Redis 7.0 server that may be flushed");
    };
    let redis = match std::net::TcpStream::connect(&addr) {
        Ok(s) => std::cell::RefCell::new(Redis {
            conn: std::io::BufReader::new(s),
        }),
        Err(e) => panic!("cannot reach Redis at {addr}: {e}"),
    };
    let s = |x: &str| x.as_bytes().to_vec();
    proptest!(config(300), |(ops in ops())| {
        let call = |argv: &[Vec<u8>]| redis.borrow_mut().call(argv).map_err(io);
        call(&[s("FLUSHALL")])?;
        let mut model = Model::new(START_MS);
        let mut transcript = Vec::new();
        for op in ops.iter().filter(|op| timeless(op)) {
            let (index, argv) = op.argv(model.now).ok_or_else(|| fail("no argv"))?;
            call(&[s("SELECT"), s(&index.to_string())])?;
            transcript.push(format!("db{index}> {}", show(&argv)));
            let got = call(&argv)?;
            if let Some(diff) = differ(op, got, &model.apply(op)) {
                return Err(fail(format!("Redis and the model differ: {diff}\n{}", transcript.join("\n"))));
            }
        }
    });
}
