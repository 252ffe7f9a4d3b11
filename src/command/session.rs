//! A client's session: its selected database, protocol, authentication, name, transaction
//! queue and watched keys, and the dispatch of one command through them.
//!
//! Redis's order of checks is kept (src/server.c, processCommand): unknown command, arity,
//! authentication, then MULTI queueing (everything but EXEC, DISCARD, MULTI, WATCH, QUIT and
//! RESET is queued, but a `NO_MULTI` command such as SHUTDOWN is refused); a command rejected while
//! queueing voids the transaction (EXECABORT).
//! A command runs inside one [`Db`] transaction, which makes it atomic; EXEC runs the whole
//! queue inside one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::{CommandSpec, Ctx, ServerContext, lookup, unknown_command};
use crate::blocking::{Handoff, WaiterId};
use crate::db::{Db, Tx};
use crate::log::SeqNo;
use crate::resp::{Protocol, Reply};

/// A key a session watches, and whether it existed (unexpired) when WATCH ran.
#[derive(Debug, Clone)]
struct Watched {
    db: u8,
    key: Vec<u8>,
    was_live: bool,
}

/// Per-client state that command handlers may read and change.
#[derive(Debug)]
pub struct ClientState {
    /// The client's id (CLIENT ID), unique for the process.
    pub id: u64,
    /// RESP2 or RESP3 (HELLO).
    pub protocol: Protocol,
    /// Whether AUTH (or HELLO AUTH) succeeded, or no password is required.
    pub authenticated: bool,
    /// CLIENT SETNAME.
    pub name: Option<Vec<u8>>,
    /// CLIENT SETINFO LIB-NAME / LIB-VER.
    pub lib: (String, String),
    /// QUIT asked to close the connection after the reply.
    pub quit: bool,
    /// SHUTDOWN asked to close the connection without a reply.
    pub silent: bool,
    /// The server, when the session belongs to a network connection.
    pub server: Option<Arc<dyn ServerContext>>,
    /// Set by SELECT (and RESET): the database to switch to after the command.
    pub(crate) select: Option<u8>,
    /// RESET asked to drop the transaction and the watches.
    pub(crate) reset: bool,
    /// Set while EXEC runs its queue: blocking commands then answer at once instead of
    /// blocking (as in Redis).
    pub(crate) in_exec: bool,
    /// Set by a blocking command that found nothing and registered a waiter.
    pub(crate) blocked: Option<BlockedCall>,
}

impl ClientState {
    /// Whether a command may block this client now (not inside EXEC).
    pub(crate) fn can_block(&self) -> bool {
        !self.in_exec
    }
}

/// A command that blocked its client (BLPOP on empty lists...): what it waits for.
#[derive(Debug)]
pub struct BlockedCall {
    pub(crate) id: WaiterId,
    pub(crate) handoff: Arc<Handoff<Reply>>,
    /// When it gives up, `None` = never.
    pub(crate) deadline: Option<Instant>,
    /// The reply if it times out.
    pub(crate) timeout_reply: Reply,
}

impl BlockedCall {
    /// When the call times out, if ever.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Waits (asynchronously) until the call is served; the reply and the sequence number
    /// that must be durable before it is sent. Cancel safe: the result stays in the handoff.
    pub async fn served(&self) -> (Reply, Option<SeqNo>) {
        self.handoff.delivered().await
    }
}

/// What [`Session::start`] did with a command.
#[derive(Debug)]
pub enum Execution {
    /// It ran: its reply.
    Done(Reply),
    /// It blocked: wait for [`BlockedCall::served`] or its deadline, then call
    /// [`Session::finish_blocked`].
    Blocked(BlockedCall),
}

/// A client of the store: what the CLI shell and each server connection hold.
#[derive(Debug)]
pub struct Session {
    db: Db,
    client: ClientState,
    /// Commands queued since MULTI, and whether one was rejected (EXECABORT).
    multi: Option<(Vec<Vec<Vec<u8>>>, bool)>,
    watched: Vec<Watched>,
    /// Set by the engine when a watched key changes.
    dirty: Arc<AtomicBool>,
    /// Hold written batches in memory until [`Session::flush`] (server pipelining).
    hold: bool,
    /// Last sequence number written by held commands, not yet flushed and made durable.
    held: Option<SeqNo>,
}

fn next_client_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Session {
    /// A session on `db`'s numbered database, without a server (the embedded case).
    pub fn new(db: Db) -> Session {
        Session {
            db,
            client: ClientState {
                id: next_client_id(),
                protocol: Protocol::Resp2,
                authenticated: true,
                name: None,
                lib: (String::new(), String::new()),
                quit: false,
                silent: false,
                server: None,
                select: None,
                reset: false,
                in_exec: false,
                blocked: None,
            },
            multi: None,
            watched: Vec::new(),
            dirty: Arc::new(AtomicBool::new(false)),
            hold: false,
            held: None,
        }
    }

    /// A session of a server connection: authentication is required if the server has a
    /// password, and written batches are held until [`Session::flush`], so that a pipeline is
    /// one write.
    pub fn for_server(db: Db, server: Arc<dyn ServerContext>) -> Session {
        let mut session = Session::new(db);
        session.client.authenticated = server.password().is_none();
        session.client.server = Some(server);
        session.hold = true;
        session
    }

    /// The selected database's index.
    pub fn db_index(&self) -> u8 {
        self.db.index()
    }

    /// The client state (id, protocol, name...).
    pub fn client(&self) -> &ClientState {
        &self.client
    }

    /// Whether a MULTI is open.
    pub fn in_multi(&self) -> bool {
        self.multi.is_some()
    }

    /// How many commands an open MULTI has queued.
    pub fn queued(&self) -> Option<usize> {
        self.multi.as_ref().map(|(queue, _)| queue.len())
    }

    /// Writes the batches held since the last flush (one write) and returns the sequence
    /// number that must be durable before their replies go out, if any. The caller makes it
    /// durable with [`Db::wait_durable`] (which blocks under `appendfsync always`).
    pub fn flush(&mut self) -> crate::Result<Option<SeqNo>> {
        match self.held.take() {
            Some(seq) => {
                self.db.flush()?;
                Ok(Some(seq))
            }
            None => Ok(None),
        }
    }

    /// The store this session works on.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Runs one command, e.g. `["SET", "k", "v"]`, and returns its reply. Outside the server,
    /// its writes are on disk (and durable under `always`) when this returns. A blocking
    /// command (BLPOP...) blocks the calling thread until it is served or times out.
    pub fn execute<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> Reply {
        match self.start(argv) {
            Execution::Done(reply) => reply,
            Execution::Blocked(call) => {
                let served = call.handoff.wait(call.deadline);
                let (reply, seq) = self.finish_blocked(call, served);
                if let Some(seq) = seq
                    && let Err(e) = self.db.flush().and_then(|()| self.db.wait_durable(seq))
                {
                    return Reply::from(e);
                }
                reply
            }
        }
    }

    /// Ends a blocked call: with its result if it was served (`served`), else by
    /// unregistering it (a timeout, or the client going away), in which case the result may
    /// still have arrived meanwhile. Returns the reply and the sequence number that must be
    /// durable before it is sent (flush the store, then wait for it).
    pub fn finish_blocked(
        &mut self,
        call: BlockedCall,
        served: Option<(Reply, Option<SeqNo>)>,
    ) -> (Reply, Option<SeqNo>) {
        if let Some(served) = served {
            return served;
        }
        match self.db.tx(|tx| Ok(tx.unblock(call.id))) {
            Ok(true) => (call.timeout_reply, None),
            Ok(false) => call.handoff.take().unwrap_or((call.timeout_reply, None)),
            Err(e) => (Reply::from(e), None),
        }
    }

    /// Runs one command as [`Session::execute`] does, except that a blocking command that has
    /// to wait returns [`Execution::Blocked`] instead of blocking the thread: the server waits
    /// for it without holding a thread.
    pub fn start<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> Execution {
        let reply = self.run_command(argv);
        match self.client.blocked.take() {
            Some(call) => Execution::Blocked(call),
            None => Execution::Done(reply),
        }
    }

    fn run_command<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> Reply {
        let argv: Vec<&[u8]> = argv.iter().map(AsRef::as_ref).collect();
        let Some(name) = argv.first() else {
            return Reply::err("empty command");
        };
        let Some(spec) = lookup(name) else {
            self.flag_multi();
            return unknown_command(&argv);
        };
        let n = argv.len() as i32;
        if (spec.arity > 0 && n != spec.arity) || n < spec.arity.abs() {
            self.flag_multi();
            return Reply::err(format!(
                "wrong number of arguments for '{}' command",
                spec.name
            ));
        }
        if !self.client.authenticated && !matches!(spec.name, "auth" | "hello" | "quit" | "reset") {
            self.flag_multi();
            return Reply::Error("NOAUTH Authentication required.".into());
        }
        match spec.name {
            "multi" => return self.multi(),
            "exec" => return self.exec(),
            "discard" => return self.discard(),
            "watch" => return self.watch(&argv[1..]),
            "unwatch" => {
                self.unwatch();
                return Reply::ok();
            }
            _ => {}
        }
        if self.multi.is_some() && spec.flags & super::NO_MULTI != 0 {
            // Refused, not queued: EXEC would, for example, stop the server without answering.
            self.flag_multi();
            return Reply::err("Command not allowed inside a transaction");
        }
        if let Some((queue, _)) = &mut self.multi
            && !matches!(spec.name, "quit" | "reset")
        {
            queue.push(argv.iter().map(|a| a.to_vec()).collect());
            return Reply::Status("QUEUED".into());
        }
        self.run(|tx, client| dispatch(tx, client, spec, &argv))
    }

    /// Runs `f` in one transaction of the store, held or written according to the session's
    /// mode, and applies what it asked of the session (SELECT, RESET).
    fn run(&mut self, f: impl FnOnce(&mut Tx<'_>, &mut ClientState) -> Reply) -> Reply {
        let client = &mut self.client;
        let work = |tx: &mut Tx<'_>| Ok(f(tx, client));
        let outcome = if self.hold {
            let (result, wrote) = self.db.tx_held(work);
            if wrote.is_some() {
                self.held = wrote;
            }
            result
        } else {
            self.db.tx(work)
        };
        if let Some(index) = self.client.select.take()
            && let Ok(db) = self.db.select(i64::from(index))
        {
            self.db = db;
        }
        if std::mem::take(&mut self.client.reset) {
            self.multi = None;
            self.unwatch();
        }
        outcome.unwrap_or_else(Reply::from)
    }

    /// Marks an open transaction as failed: EXEC will answer EXECABORT.
    fn flag_multi(&mut self) {
        if let Some((_, failed)) = &mut self.multi {
            *failed = true;
        }
    }

    fn multi(&mut self) -> Reply {
        if self.multi.is_some() {
            return Reply::err("MULTI calls can not be nested");
        }
        self.multi = Some((Vec::new(), false));
        Reply::ok()
    }

    fn discard(&mut self) -> Reply {
        if self.multi.take().is_none() {
            return Reply::err("DISCARD without MULTI");
        }
        self.unwatch();
        Reply::ok()
    }

    fn exec(&mut self) -> Reply {
        let Some((queue, failed)) = self.multi.take() else {
            return Reply::err("EXEC without MULTI");
        };
        if failed {
            self.unwatch();
            return Reply::Error(
                "EXECABORT Transaction discarded because of previous errors.".into(),
            );
        }
        let dirty = Arc::clone(&self.dirty);
        let watched = self.watched.clone();
        let reply = self.run(|tx, client| {
            client.in_exec = true;
            let reply = exec_queue(tx, client, &dirty, &watched, &queue);
            client.in_exec = false;
            reply
        });
        self.unwatch();
        reply
    }

    fn watch(&mut self, keys: &[&[u8]]) -> Reply {
        if self.multi.is_some() {
            return Reply::err("WATCH inside MULTI is not allowed");
        }
        let dirty = Arc::clone(&self.dirty);
        let mut added = Vec::new();
        let reply = self.run(|tx, _| {
            let db = tx.db();
            for key in keys {
                let was_live = tx.engine().peek(db, key, tx.now()).is_some();
                tx.engine_mut().watches_mut().add(db, key, &dirty);
                added.push(Watched {
                    db,
                    key: key.to_vec(),
                    was_live,
                });
            }
            Reply::ok()
        });
        self.watched.extend(added);
        reply
    }

    /// Forgets every watched key (UNWATCH, and after EXEC or DISCARD).
    fn unwatch(&mut self) {
        if !self.watched.is_empty() {
            let watched = std::mem::take(&mut self.watched);
            let dirty = Arc::clone(&self.dirty);
            let _ = self.db.tx(|tx| {
                for w in &watched {
                    tx.engine_mut().watches_mut().remove(w.db, &w.key, &dirty);
                }
                Ok(())
            });
        }
        self.dirty.store(false, Ordering::SeqCst);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.unwatch();
        if self.held.is_some() {
            let _ = self.db.flush();
        }
    }
}

/// The body of EXEC: unless a watched key changed (the engine set the flag) or expired since
/// WATCH, runs every queued command and returns their replies.
fn exec_queue(
    tx: &mut Tx<'_>,
    client: &mut ClientState,
    dirty: &AtomicBool,
    watched: &[Watched],
    queue: &[Vec<Vec<u8>>],
) -> Reply {
    let now = tx.now();
    let expired = watched
        .iter()
        .any(|w| w.was_live && tx.engine().peek(w.db, &w.key, now).is_none());
    if dirty.load(Ordering::SeqCst) || expired {
        return Reply::NilArray;
    }
    let replies = queue
        .iter()
        .map(|argv| {
            let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
            match lookup(argv[0]) {
                Some(spec) => dispatch(tx, client, spec, &argv),
                None => unknown_command(&argv),
            }
        })
        .collect();
    Reply::Array(replies)
}

/// Runs one command whose name (`spec`) and arity were checked.
fn dispatch(
    tx: &mut Tx<'_>,
    client: &mut ClientState,
    spec: &CommandSpec,
    argv: &[&[u8]],
) -> Reply {
    let db_before = tx.db();
    let mut ctx = Ctx { tx, client };
    let reply = (spec.handler)(&mut ctx, argv).unwrap_or_else(|e| e);
    if ctx.tx.db() != db_before {
        ctx.client.select = Some(ctx.tx.db());
    }
    reply
}
