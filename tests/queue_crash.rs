//! A job queue survives SIGKILL of `kvdb server --appendfsync always` mid-way: no acknowledged
//! push is lost and no job is delivered twice.
//!
//! Producer threads RPUSH unique job ids (each id is sent once, never retried: a retry of a push
//! whose reply was lost could queue it twice) and count a job as *acknowledged* only once its
//! RPUSH has answered. Consumer threads pop and count a job as *delivered* only once the pop
//! has answered. Twice, once a third and once two thirds of the jobs are delivered, the server
//! is killed with SIGKILL while everyone is at work, and restarted on the same data directory
//! (on the same port when it is free again, else on a new one: the workers find the port in
//! [`Shared::port`] and reconnect). After the producers are done the queue is drained, and:
//!
//! * no id is delivered twice, and none is both delivered and still queued: a pop answered
//!   before its record was written would be undone by the restart and delivered again;
//! * every acknowledged id was delivered or is still queued, with one exception that is
//!   BLPOP's and Redis's own: a BLPOP in flight at the kill may have popped an element (its
//!   record durable) without its reply reaching the consumer. So the BLPOP test allows as many
//!   lost jobs as there were BLPOPs that failed, at most one per consumer per kill, and no
//!   more. The BLMOVE test closes that gap with the reliable-queue pattern: each consumer
//!   moves jobs to its own `processing` list, removes them once delivered, and after a
//!   reconnect delivers what its `processing` list still holds. There no acknowledged job may
//!   be missing at all, which also checks that BLMOVE's pop and push are recovered together.
//!
//! The lesson's 100,000 jobs (`tests/python/queue_workers.py`) would take minutes here: every
//! push and every pop waits for an fsync (shared between concurrent clients, but still a few
//! milliseconds each on a real disk) and the server is a debug build in CI. 3 producers x
//! [`JOBS_PER_PRODUCER`] jobs keep each test well under a minute while still spreading each
//! kill over several hundred jobs in flight before and after it. Every loop is bounded by
//! [`DEADLINE`] and by the job count; every socket is on 127.0.0.1.

#[allow(
    dead_code,
    reason = "the helpers are shared by several test binaries, each using a part"
)]
mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::Commands;

use common::TestResult;
use common::server::{IO_TIMEOUT, Server};

const PRODUCERS: u64 = 3;
const CONSUMERS: usize = 3;
/// Jobs each producer pushes (see the module doc for why not 100,000 in all).
const JOBS_PER_PRODUCER: u64 = 1500;
/// How many times the server is killed and restarted.
const KILLS: usize = 2;
/// Bound on each test, every thread included.
const DEADLINE: Duration = Duration::from_secs(55);
/// Timeout of each blocking pop, in seconds: short, so that consumers notice the end.
const POP_TIMEOUT: f64 = 0.5;
const QUEUE: &str = "queue:jobs";

/// How consumers take jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// BLPOP: a job is the consumer's once the reply arrives.
    Blpop,
    /// BLMOVE to `processing:<consumer>`, LREM once delivered, and recovery of what is left
    /// there after a reconnect.
    Blmove,
}

/// What every worker thread sees.
struct Shared {
    /// The server's port; 0 while it is down.
    port: AtomicU16,
    deadline: Instant,
    /// Jobs delivered so far, by every consumer: when to kill.
    delivered: AtomicUsize,
    /// Set once the producers are done and the last restart is over: a consumer whose pop
    /// times out then stops.
    done: AtomicBool,
    /// Unexpected errors (error replies, not dropped connections), with who got them.
    failures: Mutex<Vec<String>>,
}

impl Shared {
    fn fail(&self, what: String) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(what);
    }

    /// A connection to the server if it is up, else `None` after a short pause.
    fn connect(&self) -> Option<redis::Connection> {
        let port = self.port.load(Ordering::SeqCst);
        let con = (port != 0)
            .then(|| {
                let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).ok()?;
                let con = client
                    .get_connection_with_timeout(Duration::from_secs(2))
                    .ok()?;
                con.set_read_timeout(Some(IO_TIMEOUT)).ok()?;
                con.set_write_timeout(Some(IO_TIMEOUT)).ok()?;
                Some(con)
            })
            .flatten();
        if con.is_none() {
            std::thread::sleep(Duration::from_millis(10));
        }
        con
    }

    fn past_deadline(&self) -> bool {
        Instant::now() > self.deadline
    }
}

/// A dropped connection (the kill) as opposed to an error reply.
fn is_dropped(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout()
}

/// What one producer did.
#[derive(Debug, Default)]
struct Produced {
    /// Ids whose RPUSH answered.
    acked: Vec<u64>,
    /// Ids whose RPUSH failed with the connection: queued or not, nobody knows.
    in_doubt: Vec<u64>,
}

fn producer(shared: &Shared, index: u64) -> Produced {
    let mut produced = Produced::default();
    let mut con: Option<redis::Connection> = None;
    for id in (0..JOBS_PER_PRODUCER).map(|i| i * PRODUCERS + index) {
        // Until this id has been sent once (answered or not).
        while !shared.past_deadline() {
            let Some(c) = con.as_mut() else {
                con = shared.connect();
                continue;
            };
            match c.rpush::<_, _, i64>(QUEUE, id) {
                Ok(_) => produced.acked.push(id),
                Err(e) => {
                    if !is_dropped(&e) {
                        shared.fail(format!("producer {index}: RPUSH {id}: {e}"));
                    }
                    produced.in_doubt.push(id);
                    con = None;
                }
            }
            break;
        }
    }
    produced
}

/// What one consumer did.
#[derive(Debug, Default)]
struct Consumed {
    /// Ids in the order their pops answered (or, with BLMOVE, recovered).
    delivered: Vec<u64>,
    /// Pops that failed with the connection: each may have taken a job that never arrived.
    failed_pops: usize,
    /// Jobs delivered from the `processing` list after a reconnect (BLMOVE).
    recovered: usize,
}

fn consumer(shared: &Shared, index: usize, mode: Mode) -> Consumed {
    let processing = format!("processing:{index}");
    let mut consumed = Consumed::default();
    let mut delivered_here: HashSet<u64> = HashSet::new();
    let mut con: Option<redis::Connection> = None;
    // Each round pops one job or times out; bounded by the deadline.
    while !shared.past_deadline() {
        let Some(c) = con.as_mut() else {
            let Some(mut fresh) = shared.connect() else {
                continue;
            };
            if mode == Mode::Blmove {
                // The reliable queue's recovery: what this consumer moved but did not finish.
                let left: redis::RedisResult<Vec<u64>> = fresh.lrange(&processing, 0, -1);
                let Ok(left) = left else { continue };
                for id in left {
                    if delivered_here.insert(id) {
                        consumed.delivered.push(id);
                        consumed.recovered += 1;
                        shared.delivered.fetch_add(1, Ordering::SeqCst);
                    }
                    if fresh.lrem::<_, _, i64>(&processing, 1, id).is_err() {
                        break;
                    }
                }
            }
            con = Some(fresh);
            continue;
        };
        let popped: redis::RedisResult<Option<u64>> = match mode {
            Mode::Blpop => c
                .blpop::<_, Option<(String, u64)>>(QUEUE, POP_TIMEOUT)
                .map(|got| got.map(|(_, id)| id)),
            Mode::Blmove => c.blmove(
                QUEUE,
                &processing,
                redis::Direction::Left,
                redis::Direction::Right,
                POP_TIMEOUT,
            ),
        };
        match popped {
            Ok(Some(id)) => {
                if !delivered_here.insert(id) {
                    shared.fail(format!("consumer {index}: got job {id} a second time"));
                }
                consumed.delivered.push(id);
                shared.delivered.fetch_add(1, Ordering::SeqCst);
                if mode == Mode::Blmove {
                    match c.lrem::<_, _, i64>(&processing, 1, id) {
                        Ok(1) => {}
                        Ok(n) => shared.fail(format!("consumer {index}: LREM {id} removed {n}")),
                        // Left in `processing`: the recovery skips it, already delivered.
                        Err(_) => con = None,
                    }
                }
            }
            Ok(None) => {
                if shared.done.load(Ordering::SeqCst) {
                    break;
                }
            }
            Err(e) => {
                if !is_dropped(&e) {
                    shared.fail(format!("consumer {index}: pop: {e}"));
                }
                consumed.failed_pops += 1;
                con = None;
            }
        }
    }
    consumed
}

/// Restarts the server on `dir`, on `port` if it can be bound again, else on a new one.
fn restart(dir: &Path, port: u16) -> Result<Server, Box<dyn std::error::Error>> {
    let dir_text = dir.to_string_lossy().into_owned();
    let port_text = port.to_string();
    let args = [
        "server",
        "--port",
        &port_text,
        "--dir",
        &dir_text,
        "--appendfsync",
        "always",
    ];
    match Server::spawn(&args, dir) {
        Ok(server) => Ok(server),
        Err(e) => {
            eprintln!("port {port} is not free again ({e}); restarting on a new port");
            Ok(Server::start_in(dir, &["--appendfsync", "always"])?)
        }
    }
}

fn queue_survives_sigkill(mode: Mode) -> TestResult {
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let mut server = Server::start_in(dir.path(), &["--appendfsync", "always"])?;
    let shared = Arc::new(Shared {
        port: AtomicU16::new(server.port()),
        deadline: started + DEADLINE,
        delivered: AtomicUsize::new(0),
        done: AtomicBool::new(false),
        failures: Mutex::new(Vec::new()),
    });
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|i| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || producer(&shared, i))
        })
        .collect();
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|i| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || consumer(&shared, i, mode))
        })
        .collect();

    let total = (PRODUCERS * JOBS_PER_PRODUCER) as usize;
    let mut rng = fastrand::Rng::new();
    for kill in 1..=KILLS {
        let target = total * kill / (KILLS + 1);
        while shared.delivered.load(Ordering::SeqCst) < target {
            if shared.past_deadline() {
                return Err(format!(
                    "{mode:?}: only {} of {total} jobs delivered after {DEADLINE:?}",
                    shared.delivered.load(Ordering::SeqCst)
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        // A random instant within a few fsyncs, not right after a delivery.
        std::thread::sleep(Duration::from_micros(rng.u64(0..5000)));
        let at = shared.delivered.load(Ordering::SeqCst);
        server.signal("KILL")?;
        server.wait()?;
        shared.port.store(0, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
        let port = server.port();
        server = restart(dir.path(), port)?;
        shared.port.store(server.port(), Ordering::SeqCst);
        eprintln!(
            "{mode:?}: killed after {at} deliveries, restarted on port {} at {:.1?}",
            server.port(),
            started.elapsed()
        );
    }

    let mut produced = Vec::new();
    for p in producers {
        produced.push(p.join().map_err(|_| "a producer panicked")?);
    }
    shared.done.store(true, Ordering::SeqCst);
    let mut consumed = Vec::new();
    for c in consumers {
        consumed.push(c.join().map_err(|_| "a consumer panicked")?);
    }
    let failures = shared
        .failures
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert!(failures.is_empty(), "{mode:?}: {failures:?}");
    assert!(
        !shared.past_deadline(),
        "{mode:?}: the workers ran past {DEADLINE:?}"
    );

    let acked: Vec<u64> = produced.iter().flat_map(|p| p.acked.clone()).collect();
    let in_doubt: Vec<u64> = produced.iter().flat_map(|p| p.in_doubt.clone()).collect();
    assert_eq!(
        acked.len() + in_doubt.len(),
        total,
        "{mode:?}: a producer stopped early"
    );

    // Every delivery, and who made it.
    let mut delivered: HashMap<u64, usize> = HashMap::new();
    for (c, consumer) in consumed.iter().enumerate() {
        for &id in &consumer.delivered {
            if let Some(other) = delivered.insert(id, c) {
                panic!("{mode:?}: job {id} delivered twice, to consumers {other} and {c}");
            }
        }
    }
    let sent: HashSet<u64> = acked.iter().chain(&in_doubt).copied().collect();
    let unknown: Vec<&u64> = delivered.keys().filter(|id| !sent.contains(id)).collect();
    assert!(unknown.is_empty(), "{mode:?}: never sent: {unknown:?}");

    // What is still queued (the consumers drained it: normally nothing).
    let mut con = server.connect()?;
    let queued: Vec<u64> = con.lrange(QUEUE, 0, -1)?;
    let mut still_there: HashSet<u64> = HashSet::new();
    for &id in &queued {
        assert!(still_there.insert(id), "{mode:?}: job {id} queued twice");
        assert!(
            !delivered.contains_key(&id),
            "{mode:?}: job {id} delivered and still queued"
        );
    }
    // With BLMOVE, a `processing` list keeps only jobs already delivered (an LREM cut by a
    // kill and not retried after the last recovery).
    if mode == Mode::Blmove {
        for c in 0..CONSUMERS {
            let left: Vec<u64> = con.lrange(format!("processing:{c}"), 0, -1)?;
            for id in left {
                assert_eq!(
                    delivered.get(&id),
                    Some(&c),
                    "{mode:?}: job {id} in processing:{c} but not delivered by consumer {c}"
                );
            }
        }
    }

    let lost: Vec<u64> = acked
        .iter()
        .filter(|id| !delivered.contains_key(id) && !still_there.contains(id))
        .copied()
        .collect();
    let failed_pops: usize = consumed.iter().map(|c| c.failed_pops).sum();
    let recovered: usize = consumed.iter().map(|c| c.recovered).sum();
    eprintln!(
        "{mode:?}: {} acked, {} in doubt, {} delivered ({recovered} recovered from processing \
         lists), {} still queued, {failed_pops} pops cut by a kill, {} acked jobs lost, {:.1?}",
        acked.len(),
        in_doubt.len(),
        delivered.len(),
        queued.len(),
        lost.len(),
        started.elapsed()
    );
    let allowed = match mode {
        // A BLPOP cut by the kill may have taken one job with it.
        Mode::Blpop => failed_pops,
        Mode::Blmove => 0,
    };
    assert!(
        lost.len() <= allowed,
        "{mode:?}: acknowledged jobs lost: {lost:?} ({failed_pops} pops were cut by a kill)"
    );
    Ok(())
}

#[test]
fn blpop_consumers_lose_no_acknowledged_job_and_get_none_twice_across_sigkills() -> TestResult {
    queue_survives_sigkill(Mode::Blpop)
}

#[test]
fn blmove_consumers_with_processing_lists_lose_no_acknowledged_job_across_sigkills() -> TestResult {
    queue_survives_sigkill(Mode::Blmove)
}
