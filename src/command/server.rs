//! Server commands: PING, ECHO, SELECT, TIME, SHUTDOWN, INFO, CONFIG, LASTSAVE, WAIT.
//!
//! INFO gathers its facts first (the store's from the transaction, the server's from
//! [`ServerContext::info`](super::ServerContext::info), the process's from /proc) and then
//! formats them with a pure function, in Redis's section and field names so that tools that
//! parse INFO work. Fields kvdb has no counterpart for are Redis's idle values (no fork, no
//! replica, no eviction); fields it could count but does not are left out rather than shown
//! as a false 0. CONFIG's options live in the server, which validates and applies them;
//! `appendfsync` also changes the store, which this layer does through the transaction.

use std::sync::OnceLock;
use std::time::Duration;

use super::args::{CmdResult, int, int32, is, syntax_error, text};
use super::connection::REDIS_VERSION;
use super::introspection::{help, subcommand};
use super::{ConfigError, Ctx, Reply, ServerInfo};
use crate::db::Tx;
use crate::error::Error;
use crate::glob::glob_match;
use crate::log::record::NUM_DBS;
use crate::options::Fsync;

pub(super) fn ping(_ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    match argv {
        [_] => Ok(Reply::Status("PONG".to_owned())),
        [_, message] => Ok(Reply::bulk(message)),
        _ => Err(Reply::err("wrong number of arguments for 'ping' command")),
    }
}

pub(super) fn echo(_ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::bulk(argv[1]))
}

pub(super) fn select(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let index = int32(argv[1])?;
    let index = u8::try_from(index)
        .ok()
        .filter(|&i| i < NUM_DBS)
        .ok_or(Error::DbIndexOutOfRange)?;
    ctx.tx.set_db(index);
    Ok(Reply::ok())
}

pub(super) fn time(ctx: &mut Ctx<'_, '_>, _argv: &[&[u8]]) -> CmdResult {
    let now = ctx.tx.now();
    Ok(Reply::Array(vec![
        Reply::Bulk((now / 1000).to_string().into_bytes()),
        Reply::Bulk(((now % 1000) * 1000).to_string().into_bytes()),
    ]))
}

pub(super) fn shutdown(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    for arg in &argv[1..] {
        if is(arg, "ABORT") {
            return Err(Reply::err("No shutdown in progress."));
        }
        if !["NOSAVE", "SAVE", "NOW", "FORCE"]
            .iter()
            .any(|o| is(arg, o))
        {
            return Err(syntax_error());
        }
    }
    let Some(server) = ctx.client.server.clone() else {
        return Err(Reply::err(
            "SHUTDOWN stops a kvdb server; this session has none",
        ));
    };
    // As Redis: no reply; the connection closes and the server stops after finishing what
    // its clients had sent. The log is fsync'd when the store closes.
    server.shutdown();
    ctx.client.silent = true;
    Ok(Reply::ok())
}

/// INFO's sections in output order, Redis's title of each, and whether it is in the default
/// set (INFO with no argument, or `default`).
const INFO_SECTIONS: &[(&str, &str, bool)] = &[
    ("server", "Server", true),
    ("clients", "Clients", true),
    ("memory", "Memory", true),
    ("persistence", "Persistence", true),
    ("stats", "Stats", true),
    ("replication", "Replication", true),
    ("cpu", "CPU", true),
    ("modules", "Modules", true),
    ("commandstats", "Commandstats", false),
    ("errorstats", "Errorstats", true),
    ("cluster", "Cluster", true),
    ("keyspace", "Keyspace", true),
];

/// Sections that report on the network server; a session without one leaves them out.
const SERVER_ONLY: &[&str] = &["clients", "stats", "commandstats", "errorstats"];

/// What the process reads about itself from /proc (zeros where /proc is missing).
#[derive(Debug, Clone, Default)]
struct ProcessFacts {
    /// Resident set size, bytes (VmRSS).
    rss: u64,
    /// Peak resident set size, bytes (VmHWM).
    peak_rss: u64,
    /// Physical memory of the machine, bytes.
    total_memory: u64,
    /// CPU seconds: user, system, children's user, children's system.
    cpu: [f64; 4],
}

impl ProcessFacts {
    fn read() -> ProcessFacts {
        let kib = |text: &str, field: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
                .map_or(0, |n| n * 1024)
        };
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        // /proc/self/stat: after the parenthesised name, field 3 (state) comes first; utime,
        // stime, cutime and cstime are fields 14-17, in clock ticks. The tick is taken to be
        // 1/100 s, which it is on every Linux build in practice (USER_HZ).
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .map_or(0.0, |t| t as f64 / 100.0)
        };
        ProcessFacts {
            rss: kib(&status, "VmRSS:"),
            peak_rss: kib(&status, "VmHWM:"),
            total_memory: kib(&meminfo, "MemTotal:"),
            cpu: [ticks(11), ticks(12), ticks(13), ticks(14)],
        }
    }
}

/// What INFO reports about the store, read inside the command's transaction.
#[derive(Debug, Clone, Default)]
struct StoreFacts {
    /// Now, Unix ms.
    now: u64,
    /// Since the store was opened (used when there is no server).
    open_for: Duration,
    /// `(db, keys, keys with a TTL)` of each non-empty database.
    keyspace: Vec<(u8, usize, usize)>,
    /// Active segment id and length.
    active: (u32, u64),
    fsync: Fsync,
    /// LASTSAVE, Unix seconds.
    last_save: u64,
    unsynced: u64,
    expired_keys: u64,
    poisoned: bool,
    /// Clients blocked on keys.
    blocked: usize,
    /// Segments, compactions, saves.
    persistence: crate::persistence::PersistenceInfo,
}

impl StoreFacts {
    fn read(tx: &Tx<'_>) -> StoreFacts {
        let engine = tx.engine();
        let keyspace = (0..NUM_DBS)
            .map(|db| (db, engine.keydir(db).len(), engine.keydir(db).ttl_len()))
            .filter(|&(_, keys, _)| keys > 0)
            .collect();
        StoreFacts {
            now: tx.now(),
            open_for: Duration::from_millis(tx.now().saturating_sub(tx.opened_at())),
            keyspace,
            active: engine.log_position(),
            fsync: tx.fsync_policy(),
            last_save: tx.last_save() / 1000,
            unsynced: tx.unsynced_records(),
            expired_keys: tx.expired_keys(),
            poisoned: engine.is_poisoned(),
            blocked: tx.blocked_clients(),
            persistence: tx.persistence(),
        }
    }
}

/// 40 hex digits, random per process: run_id, and (another) master_replid.
fn random_id(slot: usize) -> &'static str {
    static IDS: OnceLock<[String; 2]> = OnceLock::new();
    let ids = IDS.get_or_init(|| {
        let one = || {
            let hex: String = (0..3)
                .map(|_| format!("{:016x}", fastrand::u64(..)))
                .collect();
            hex[..40].to_owned()
        };
        [one(), one()]
    });
    &ids[slot.min(1)]
}

/// Redis's bytesToHuman: `919.24K`, `6.30M`, `512B`.
fn human(bytes: u64) -> String {
    const UNITS: [(&str, u32); 5] = [("K", 1), ("M", 2), ("G", 3), ("T", 4), ("P", 5)];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    for (unit, power) in UNITS {
        let next = 1024f64.powi(power as i32 + 1);
        if (bytes as f64) < next || unit == "P" {
            return format!("{:.2}{unit}", bytes as f64 / 1024f64.powi(power as i32));
        }
    }
    format!("{bytes}B")
}

/// Everything INFO needs, gathered first so that formatting is a pure function.
#[derive(Debug, Clone, Default)]
struct InfoFacts {
    server: Option<ServerInfo>,
    store: StoreFacts,
    process: ProcessFacts,
    pid: u32,
    executable: String,
    os: String,
}

/// Which sections `args` (INFO's arguments) select, in output order: none means the default
/// set; `all` is every section, `everything` too (kvdb has no module sections); unknown
/// names are ignored, as Redis does.
fn selected_sections(args: &[&[u8]]) -> Vec<&'static str> {
    let wanted: Vec<String> = if args.is_empty() {
        vec!["default".into()]
    } else {
        args.iter().map(|a| text(a).to_ascii_lowercase()).collect()
    };
    let has = |name: &str| wanted.iter().any(|w| w == name);
    let all = has("all") || has("everything");
    let default = has("default");
    INFO_SECTIONS
        .iter()
        .filter(|(name, _, in_default)| all || (default && *in_default) || has(name))
        .map(|(name, _, _)| *name)
        .collect()
}

/// The fields of one section, as `name:value` lines without line ends.
fn section_fields(section: &str, f: &InfoFacts) -> Vec<String> {
    let s = &f.store;
    let server = f.server.clone().unwrap_or_default();
    let uptime = f.server.as_ref().map_or(s.open_for, |i| i.uptime);
    match section {
        "server" => vec![
            format!("redis_version:{REDIS_VERSION}"),
            "redis_git_sha1:00000000".into(),
            "redis_git_dirty:0".into(),
            "redis_build_id:0".into(),
            "redis_mode:standalone".into(),
            format!("os:{}", f.os),
            format!("arch_bits:{}", usize::BITS),
            "monotonic_clock:POSIX clock_gettime".into(),
            "multiplexing_api:epoll".into(),
            "atomicvar_api:c11-builtin".into(),
            "gcc_version:0.0.0".into(),
            format!("process_id:{}", f.pid),
            "process_supervised:no".into(),
            format!("run_id:{}", random_id(0)),
            format!("tcp_port:{}", server.port),
            format!("server_time_usec:{}", s.now * 1000),
            format!("uptime_in_seconds:{}", uptime.as_secs()),
            format!("uptime_in_days:{}", uptime.as_secs() / 86_400),
            "hz:10".into(),
            "configured_hz:10".into(),
            // Redis's LRU clock: seconds, modulo 2^24.
            format!("lru_clock:{}", (s.now / 1000) & ((1 << 24) - 1)),
            format!("executable:{}", f.executable),
            format!("config_file:{}", server.config_file),
            "io_threads_active:0".into(),
            format!("kvdb_version:{}", env!("CARGO_PKG_VERSION")),
        ],
        "clients" => vec![
            format!("connected_clients:{}", server.connected_clients),
            "cluster_connections:0".into(),
            format!("maxclients:{}", server.maxclients),
            "client_recent_max_input_buffer:0".into(),
            "client_recent_max_output_buffer:0".into(),
            format!("blocked_clients:{}", s.blocked),
            "tracking_clients:0".into(),
            "clients_in_timeout_table:0".into(),
        ],
        "memory" => {
            // Approximated by the process's resident set size (VmRSS): kvdb does not count
            // its allocations. Keys, keydir and buffers are all in it; values are on disk
            // (in the page cache, which RSS includes for mapped sealed segments).
            let p = &f.process;
            let peak = p.peak_rss.max(p.rss);
            let peak_perc = if peak > 0 {
                p.rss as f64 * 100.0 / peak as f64
            } else {
                0.0
            };
            vec![
                format!("used_memory:{}", p.rss),
                format!("used_memory_human:{}", human(p.rss)),
                format!("used_memory_rss:{}", p.rss),
                format!("used_memory_rss_human:{}", human(p.rss)),
                format!("used_memory_peak:{peak}"),
                format!("used_memory_peak_human:{}", human(peak)),
                format!("used_memory_peak_perc:{peak_perc:.2}%"),
                format!("total_system_memory:{}", p.total_memory),
                format!("total_system_memory_human:{}", human(p.total_memory)),
                "maxmemory:0".into(),
                "maxmemory_human:0B".into(),
                "maxmemory_policy:noeviction".into(),
                "mem_fragmentation_ratio:1.00".into(),
                "mem_allocator:libc".into(),
                "lazyfree_pending_objects:0".into(),
            ]
        }
        "persistence" => vec![
            "loading:0".into(),
            "async_loading:0".into(),
            "current_cow_size:0".into(),
            format!("rdb_changes_since_last_save:{}", s.unsynced),
            format!("rdb_last_save_time:{}", s.last_save),
        ]
        .into_iter()
        .chain(s.persistence.redis_fields())
        .chain([
            format!(
                "aof_last_write_status:{}",
                if s.poisoned { "err" } else { "ok" }
            ),
            "module_fork_in_progress:0".into(),
            format!("kvdb_active_segment:{}", s.active.0),
            format!("kvdb_active_segment_bytes:{}", s.active.1),
            format!("kvdb_appendfsync:{}", s.fsync),
        ])
        .chain(s.persistence.kvdb_fields())
        .collect(),
        "stats" => vec![
            format!("total_connections_received:{}", server.connections_received),
            format!("total_commands_processed:{}", server.commands_processed),
            format!("instantaneous_ops_per_sec:{}", server.ops_per_sec),
            format!("total_net_input_bytes:{}", server.net_input_bytes),
            format!("total_net_output_bytes:{}", server.net_output_bytes),
            format!("instantaneous_input_kbps:{:.2}", server.input_kbps),
            format!("instantaneous_output_kbps:{:.2}", server.output_kbps),
            format!("rejected_connections:{}", server.rejected_connections),
            "sync_full:0".into(),
            "sync_partial_ok:0".into(),
            "sync_partial_err:0".into(),
            format!("expired_keys:{}", s.expired_keys),
            "evicted_keys:0".into(),
            "evicted_clients:0".into(),
            "pubsub_channels:0".into(),
            "pubsub_patterns:0".into(),
            "latest_fork_usec:0".into(),
            "total_forks:0".into(),
            format!("total_error_replies:{}", server.error_replies),
        ],
        "replication" => vec![
            "role:master".into(),
            "connected_slaves:0".into(),
            "master_failover_state:no-failover".into(),
            format!("master_replid:{}", random_id(1)),
            "master_replid2:0000000000000000000000000000000000000000".into(),
            "master_repl_offset:0".into(),
            "second_repl_offset:-1".into(),
            "repl_backlog_active:0".into(),
            "repl_backlog_size:1048576".into(),
            "repl_backlog_first_byte_offset:0".into(),
            "repl_backlog_histlen:0".into(),
        ],
        "cpu" => {
            let [user, sys, child_user, child_sys] = f.process.cpu;
            vec![
                format!("used_cpu_sys:{sys:.6}"),
                format!("used_cpu_user:{user:.6}"),
                format!("used_cpu_sys_children:{child_sys:.6}"),
                format!("used_cpu_user_children:{child_user:.6}"),
            ]
        }
        "commandstats" => server
            .commandstats
            .iter()
            .map(|(name, c)| {
                let per_call = if c.calls > 0 {
                    c.usec as f64 / c.calls as f64
                } else {
                    0.0
                };
                format!(
                    "cmdstat_{name}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}",
                    c.calls, c.usec, c.rejected_calls, c.failed_calls
                )
            })
            .collect(),
        "cluster" => vec!["cluster_enabled:0".into()],
        "keyspace" => s
            .keyspace
            .iter()
            .map(|(db, keys, expires)| format!("db{db}:keys={keys},expires={expires},avg_ttl=0"))
            .collect(),
        // modules, errorstats: a title and nothing under it (no modules, errors not
        // counted by kind).
        _ => Vec::new(),
    }
}

/// INFO's text for `sections` (names from [`INFO_SECTIONS`]): `# Title` then `name:value`
/// lines, `\r\n` line ends, a blank line between sections. Sections that need a server are
/// left out when `facts.server` is `None`.
fn info_text(sections: &[&str], facts: &InfoFacts) -> String {
    let mut out = String::new();
    for (name, title, _) in INFO_SECTIONS {
        if !sections.contains(name) || (facts.server.is_none() && SERVER_ONLY.contains(name)) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        out.push_str("# ");
        out.push_str(title);
        out.push_str("\r\n");
        for field in section_fields(name, facts) {
            out.push_str(&field);
            out.push_str("\r\n");
        }
    }
    out
}

/// `INFO [section [section ...]]`
pub(super) fn info(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let sections = selected_sections(&argv[1..]);
    let needs_process = sections.iter().any(|s| matches!(*s, "memory" | "cpu"));
    let facts = InfoFacts {
        server: ctx.client.server.as_ref().map(|s| s.info()),
        store: StoreFacts::read(ctx.tx),
        process: if needs_process {
            ProcessFacts::read()
        } else {
            ProcessFacts::default()
        },
        pid: std::process::id(),
        executable: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        os: os_name(),
    };
    Ok(Reply::Verbatim(info_text(&sections, &facts)))
}

/// `Linux 6.1.0 x86_64`, as Redis prints uname's sysname, release and machine.
fn os_name() -> String {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let kernel = read("/proc/sys/kernel/ostype");
    let kernel = if kernel.is_empty() {
        std::env::consts::OS.to_owned()
    } else {
        kernel
    };
    format!(
        "{kernel} {} {}",
        read("/proc/sys/kernel/osrelease"),
        std::env::consts::ARCH
    )
}

/// `CONFIG <GET pattern [pattern ...] | SET name value [name value ...] | RESETSTAT | REWRITE |
/// HELP>`
pub(super) fn config(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let sub = subcommand(argv)?;
    if sub.name == "config|help" {
        return Ok(help("config"));
    }
    let Some(server) = ctx.client.server.clone() else {
        return Err(Reply::err(
            "CONFIG needs a kvdb server; this session has none",
        ));
    };
    match sub.name {
        "config|get" => {
            let pairs = server
                .config()
                .into_iter()
                .filter(|(name, _)| argv[2..].iter().any(|p| config_matches(p, name)))
                .map(|(name, value)| (Reply::bulk(name), Reply::bulk(value)))
                .collect();
            Ok(Reply::Map(pairs))
        }
        "config|set" => {
            if argv.len() % 2 != 0 {
                return Err(syntax_error());
            }
            let changes: Vec<(String, String)> = argv[2..]
                .chunks(2)
                .map(|pair| (text(pair[0]), text(pair[1])))
                .collect();
            server.set_config(&changes).map_err(|e| match e {
                ConfigError::Unknown(name) => Reply::err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{name}'"
                )),
                ConfigError::Refused { option, reason } => Reply::err(format!(
                    "CONFIG SET failed (possibly related to argument '{option}') - {reason}"
                )),
            })?;
            // The server validated the value; the store applies it.
            for (name, value) in &changes {
                if name.eq_ignore_ascii_case("appendfsync")
                    && let Ok(policy) = value.parse::<Fsync>()
                {
                    ctx.tx.set_fsync_policy(policy);
                }
            }
            Ok(Reply::ok())
        }
        "config|resetstat" => {
            server.reset_stats();
            ctx.tx.reset_expired_keys();
            Ok(Reply::ok())
        }
        _ => {
            server.rewrite_config().map_err(Reply::err)?;
            Ok(Reply::ok())
        }
    }
}

/// Whether CONFIG GET's `pattern` selects option `name`: a glob, case-insensitive, as Redis 7.
fn config_matches(pattern: &[u8], name: &str) -> bool {
    glob_match(pattern, name.as_bytes(), true)
}

/// `LASTSAVE`: the Unix time (seconds) of the last fsync that covered the whole log, or of the
/// store's opening if none has since. Everything written before it is durable. Under
/// `everysec` it advances each second while writes come in; under `no` only at open.
pub(super) fn lastsave(ctx: &mut Ctx<'_, '_>, _argv: &[&[u8]]) -> CmdResult {
    Ok(Reply::Integer((ctx.tx.last_save() / 1000) as i64))
}

/// `SAVE`: fsyncs everything and writes the hint file of every sealed segment that lacks one,
/// holding the store meanwhile, as Redis's SAVE blocks the server.
pub(super) fn save(ctx: &mut Ctx<'_, '_>, _argv: &[&[u8]]) -> CmdResult {
    if ctx.tx.save_pending() || !ctx.tx.save().map_err(Reply::from)? {
        return Err(Reply::err("Background save already in progress"));
    }
    Ok(Reply::ok())
}

/// `BGSAVE [SCHEDULE]`: writes the missing hint files in the background.
pub(super) fn bgsave(ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let schedule = match argv {
        [_] => false,
        [_, option] if option.eq_ignore_ascii_case(b"schedule") => true,
        _ => return Err(syntax_error()),
    };
    if ctx.tx.save_pending() {
        return Err(Reply::err("Background save already in progress"));
    }
    if ctx.tx.compaction_pending() {
        if !schedule {
            return Err(Reply::err(
                "Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE \
                 SCHEDULE in order to schedule a BGSAVE whenever possible.",
            ));
        }
        ctx.tx.save_in_background();
        return Ok(Reply::Status("Background saving scheduled".into()));
    }
    ctx.tx.save_in_background();
    Ok(Reply::Status("Background saving started".into()))
}

/// `BGREWRITEAOF`: a full compaction in the background.
pub(super) fn bgrewriteaof(ctx: &mut Ctx<'_, '_>, _argv: &[&[u8]]) -> CmdResult {
    let info = ctx.tx.persistence();
    if info.rewrite_in_progress {
        return Err(Reply::err(
            "Background append only file rewriting already in progress",
        ));
    }
    let busy = info.rewrite_scheduled || ctx.tx.save_pending();
    ctx.tx.compact_in_background();
    Ok(Reply::Status(if busy {
        "Background append only file rewriting scheduled".into()
    } else {
        "Background append only file rewriting started".into()
    }))
}

/// `WAIT numreplicas timeout`: kvdb has no replicas, so 0 at once (after Redis's argument
/// checks).
pub(super) fn wait(_ctx: &mut Ctx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    int(argv[1])?;
    let timeout =
        int(argv[2]).map_err(|_| Reply::err("timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(Reply::err("timeout is negative"));
    }
    Ok(Reply::Integer(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::CommandStats;

    fn facts(server: Option<ServerInfo>) -> InfoFacts {
        InfoFacts {
            server,
            store: StoreFacts {
                keyspace: vec![(0, 5, 2), (3, 1, 0)],
                last_save: 1_700_000_000,
                ..StoreFacts::default()
            },
            ..InfoFacts::default()
        }
    }

    #[test]
    fn default_sections_have_redis_titles_and_crlf_lines() {
        let text = info_text(&selected_sections(&[]), &facts(Some(ServerInfo::default())));
        // `lines` takes `\r\n` as a line end.
        let titles: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
        assert_eq!(
            titles,
            [
                "# Server",
                "# Clients",
                "# Memory",
                "# Persistence",
                "# Stats",
                "# Replication",
                "# CPU",
                "# Modules",
                "# Errorstats",
                "# Cluster",
                "# Keyspace"
            ]
        );
        assert!(text.starts_with("# Server\r\nredis_version:7.0.15\r\n"));
        assert!(text.contains("\r\n\r\n# Clients\r\n"));
        assert!(
            text.contains(
                "\r\ndb0:keys=5,expires=2,avg_ttl=0\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n"
            )
        );
        assert!(text.contains("\r\nrole:master\r\nconnected_slaves:0\r\n"));
        assert!(text.contains("\r\naof_enabled:1\r\n"));
        assert!(text.contains("\r\nrdb_last_save_time:1700000000\r\n"));
        assert!(text.ends_with("avg_ttl=0\r\n"));
    }

    #[test]
    fn sections_are_chosen_case_insensitively_and_unknown_ones_ignored() {
        let pick = |args: &[&str]| {
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            selected_sections(&args)
        };
        assert_eq!(
            pick(&["KEYSPACE", "server", "nosuch"]),
            ["server", "keyspace"]
        );
        assert_eq!(pick(&["nosuch"]), Vec::<&str>::new());
        assert!(pick(&["all"]).contains(&"commandstats"));
        assert!(!pick(&["default"]).contains(&"commandstats"));
        assert_eq!(pick(&["everything"]).len(), INFO_SECTIONS.len());
    }

    #[test]
    fn commandstats_lines_have_redis_fields() {
        let info = ServerInfo {
            commandstats: vec![(
                "get",
                CommandStats {
                    calls: 4,
                    usec: 10,
                    rejected_calls: 1,
                    failed_calls: 0,
                },
            )],
            ..ServerInfo::default()
        };
        let text = info_text(&["commandstats"], &facts(Some(info)));
        assert_eq!(
            text,
            "# Commandstats\r\ncmdstat_get:calls=4,usec=10,usec_per_call=2.50,rejected_calls=1,failed_calls=0\r\n"
        );
    }

    #[test]
    fn without_a_server_only_the_sections_that_need_none_are_shown() {
        let text = info_text(&selected_sections(&[b"all"]), &facts(None));
        assert!(text.contains("# Server\r\n") && text.contains("# Keyspace\r\n"));
        assert!(text.contains("# Memory\r\n") && text.contains("# Persistence\r\n"));
        assert!(!text.contains("# Clients") && !text.contains("# Stats"));
        assert!(!text.contains("# Commandstats"));
    }

    #[test]
    fn human_sizes_match_redis() {
        assert_eq!(human(512), "512B");
        assert_eq!(human(941_304), "919.24K");
        assert_eq!(human(6_606_848), "6.30M");
        assert_eq!(human(25_276_514_304), "23.54G");
    }

    #[test]
    fn config_patterns_are_case_insensitive_globs() {
        assert!(config_matches(b"*", "port"));
        assert!(config_matches(b"*FSYNC*", "appendfsync"));
        assert!(config_matches(b"max*", "maxclients"));
        assert!(config_matches(b"Port", "port"));
        assert!(!config_matches(b"por", "port"));
        assert!(!config_matches(b"[ab]ind", "dir"));
    }
}
