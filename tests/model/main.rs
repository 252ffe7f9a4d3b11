//! Model-based property test of the storage core, with reopens and simulated crashes.
//!
//! Each case is a random sequence of string, keyspace and TTL commands over a few keys in three
//! databases, interleaved with clock moves, reopens and crashes (see [`crashfs`]): kills, torn
//! tails, power cuts between commands, and power cuts planned at the n-th file event, which
//! strike inside a command. Every reply is compared with the in-memory [`model`]. After each
//! reopen or crash, and at the end, the whole state is compared: GET and PEXPIRETIME of every
//! key in every database used, then DBSIZE of all 16 databases.
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
use kvdb::{Db, Fsync, Options, Reply};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crashfs::{Crash, CrashFs, Pos};
use model::{Cond, DBS, Data, ExpireUnit, KEYS, Model, Op, TtlArg, live};

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
                if got != want {
                    return Err(fail(format!(
                        "step {i}: {} in db {index}: got {got:?}, model says {want:?}",
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
        let db = self.db()?;
        let mut sizes = [0i64; 16];
        for index in 0..16u8 {
            let handle = db
                .select(i64::from(index))
                .map_err(|e| fail(e.to_string()))?;
            if index < DBS {
                for key in KEYS {
                    let want = data.get(&(index, key.as_bytes().to_vec()));
                    let got = handle.execute(&["GET", key]);
                    let want_value = want.map_or(Reply::Nil, |v| Reply::Bulk(v.bytes.clone()));
                    if got != want_value {
                        return Err(fail(format!(
                            "{what}: GET {key} in db {index} at {now}: got {got:?}, want {want_value:?}"
                        )));
                    }
                    let got = handle.execute(&["PEXPIRETIME", key]);
                    let want_ttl = Reply::Integer(match want {
                        None => -2,
                        Some(v) if v.expires_at == 0 => -1,
                        Some(v) => v.expires_at as i64,
                    });
                    if got != want_ttl {
                        return Err(fail(format!(
                            "{what}: PEXPIRETIME {key} in db {index} at {now}: got {got:?}, \
                             want {want_ttl:?}"
                        )));
                    }
                }
            }
            for (d, _) in data.keys() {
                if *d == index {
                    sizes[usize::from(index)] += 1;
                }
            }
            let got = handle.execute(&["DBSIZE"]);
            let want = Reply::Integer(sizes[usize::from(index)]);
            if got != want {
                return Err(fail(format!(
                    "{what}: DBSIZE of db {index}: got {got:?}, want {want:?}"
                )));
            }
        }
        Ok(())
    }
}

fn show(argv: &[Vec<u8>]) -> String {
    argv.iter()
        .map(|a| {
            if a.len() > 24 {
                format!("<{} bytes>", a.len())
            } else {
                String::from_utf8_lossy(a).into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn run_case(cfg: Config, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut h = Harness::new(cfg)?;
    for (i, op) in ops.iter().enumerate() {
        h.run(i, op)?;
    }
    h.model.data = live(&h.model.data, h.model.now);
    h.check_state("at the end")?;
    // A final clean reopen sees the same state.
    h.run(ops.len(), &Op::Reopen)
}

// Strategies.

fn db() -> impl Strategy<Value = u8> {
    0..DBS
}

fn key() -> impl Strategy<Value = usize> {
    0..KEYS.len()
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

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (db(), key(), value(), prop_oneof![3 => Just(Cond::Always), 1 => Just(Cond::Nx), 1 => Just(Cond::Xx)], prop::bool::weighted(0.2), ttl_arg())
            .prop_map(|(db, key, value, cond, get, ttl)| Op::Set { db, key, value, cond, get, ttl }),
        2 => (db(), key()).prop_map(|(db, key)| Op::Get { db, key }),
        2 => (db(), key(), value()).prop_map(|(db, key, value)| Op::Append { db, key, value }),
        2 => (db(), key(), prop_oneof![4 => -5..=5i64, 1 => Just(i64::MAX)])
            .prop_map(|(db, key, delta)| Op::IncrBy { db, key, delta }),
        1 => (db(), key(), 0..12u8, vec(any::<u8>(), 0..6))
            .prop_map(|(db, key, offset, patch)| Op::SetRange { db, key, offset, patch }),
        2 => (db(), vec(key(), 1..=3)).prop_map(|(db, keys)| Op::Del { db, keys }),
        2 => (db(), key(), key(), any::<bool>()).prop_map(|(db, src, dst, nx)| Op::Rename { db, src, dst, nx }),
        2 => (db(), key(), key(), prop::option::of(db()), any::<bool>())
            .prop_map(|(db, src, dst, dst_db, replace)| Op::Copy { db, src, dst, dst_db, replace }),
        1 => (db(), key(), db()).prop_map(|(db, key, dst_db)| Op::Move { db, key, dst_db }),
        2 => (db(), vec((key(), value()), 1..=3)).prop_map(|(db, pairs)| Op::MSet { db, pairs }),
        1 => (db(), key()).prop_map(|(db, key)| Op::GetDel { db, key }),
        1 => (db(), key(), ttl_arg()).prop_map(|(db, key, ttl)| Op::GetEx { db, key, ttl }),
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
        1 => db().prop_map(|db| Op::FlushDb { db }),
        1 => Just(Op::FlushAll),
        3 => prop::sample::select(vec![1u64, 10, 100, 500, 1000, 2500]).prop_map(Op::Advance),
        1 => Just(Op::Reopen),
        2 => (crash(), any::<u64>()).prop_map(|(crash, seed)| Op::Crash { crash, seed }),
        1 => (1..12u32, any::<u64>()).prop_map(|(events, seed)| Op::PowerCutDuring { events, seed }),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    vec(op(), 1..80)
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
