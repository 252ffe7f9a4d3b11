//! The connection and server commands against a `kvdb server` child process, through the
//! `redis` crate: CLIENT LIST / INFO / KILL, INFO, CONFIG GET / SET / RESETSTAT / REWRITE,
//! COMMAND, WAIT and LASTSAVE, with Redis 7.0's reply shapes and error texts.

#[allow(
    dead_code,
    reason = "the helpers are shared by several test binaries, each using a part"
)]
mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::TestResult;
use common::server::Server;
use redis::{Connection, RedisError, Value};

/// `CODE detail` of a server error, as Redis wrote it.
fn error_text(e: &RedisError) -> String {
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

/// Runs `argv` and returns the error text it must fail with.
fn error_of(con: &mut Connection, argv: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    match redis::cmd(argv[0]).arg(&argv[1..]).query::<Value>(con) {
        Ok(value) => Err(format!("{argv:?} answered {value:?}, not an error").into()),
        Err(e) => Ok(error_text(&e)),
    }
}

fn query<T: redis::FromRedisValue>(con: &mut Connection, argv: &[&str]) -> redis::RedisResult<T> {
    redis::cmd(argv[0]).arg(&argv[1..]).query(con)
}

/// The value of `field` in an INFO text.
fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(str::to_owned)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[test]
fn client_list_and_info_show_every_connection_in_redis_format() -> TestResult {
    let server = Server::start(&[])?;
    let mut a = server.connect()?;
    let mut b = server.connect()?;
    let () = query(&mut a, &["CLIENT", "SETNAME", "alpha"])?;
    let id_b: i64 = query(&mut b, &["CLIENT", "ID"])?;
    let () = query(&mut b, &["SELECT", "3"])?;

    let list: String = query(&mut a, &["CLIENT", "LIST"])?;
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    for line in &lines {
        let keys: Vec<&str> = line
            .split(' ')
            .map(|kv| kv.split('=').next().unwrap_or(""))
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "addr",
                "laddr",
                "fd",
                "name",
                "age",
                "idle",
                "flags",
                "db",
                "sub",
                "psub",
                "ssub",
                "multi",
                "qbuf",
                "qbuf-free",
                "argv-mem",
                "multi-mem",
                "rbs",
                "rbp",
                "obl",
                "oll",
                "omem",
                "tot-mem",
                "events",
                "cmd",
                "user",
                "redir",
                "resp",
                "lib-name",
                "lib-ver"
            ],
            "{line}"
        );
    }
    let own = lines
        .iter()
        .find(|l| l.contains(" name=alpha "))
        .ok_or("no line for alpha")?;
    assert!(own.contains(" cmd=client|list "), "{own}");
    assert!(own.contains(&format!(" laddr=127.0.0.1:{} ", server.port())));
    let other = lines
        .iter()
        .find(|l| l.starts_with(&format!("id={id_b} ")))
        .ok_or("no line for b")?;
    assert!(
        other.contains(" db=3 ") && other.contains(" cmd=select "),
        "{other}"
    );

    let info: String = query(&mut a, &["CLIENT", "INFO"])?;
    assert!(
        info.ends_with('\n') && info.lines().count() == 1,
        "{info:?}"
    );
    assert!(info.contains(" name=alpha ") && info.contains(" cmd=client|info "));

    let only_b: String = query(
        &mut a,
        &["CLIENT", "LIST", "ID", &id_b.to_string(), "999999"],
    )?;
    assert!(only_b.starts_with(&format!("id={id_b} ")) && only_b.lines().count() == 1);
    let normal: String = query(&mut a, &["CLIENT", "LIST", "TYPE", "normal"])?;
    assert_eq!(normal.lines().count(), 2);
    let replicas: String = query(&mut a, &["CLIENT", "LIST", "TYPE", "replica"])?;
    assert_eq!(replicas, "");
    assert_eq!(
        error_of(&mut a, &["CLIENT", "LIST", "TYPE", "foo"])?,
        "ERR Unknown client type 'foo'"
    );
    assert_eq!(
        error_of(&mut a, &["CLIENT", "LIST", "ID", "x"])?,
        "ERR Invalid client ID"
    );
    assert_eq!(
        error_of(&mut a, &["CLIENT", "NOSUCH"])?,
        "ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP."
    );
    Ok(())
}

#[test]
fn client_kill_by_id_closes_the_other_connection() -> TestResult {
    let server = Server::start(&[])?;
    let mut a = server.connect()?;
    let mut b = server.connect()?;
    let id_b: i64 = query(&mut b, &["CLIENT", "ID"])?;

    let killed: i64 = query(&mut a, &["CLIENT", "KILL", "ID", &id_b.to_string()])?;
    assert_eq!(killed, 1);
    let after = query::<String>(&mut b, &["PING"]);
    assert!(
        after.is_err(),
        "the killed connection still answers: {after:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list: String = query(&mut a, &["CLIENT", "LIST"])?;
        if !list.contains(&format!("id={id_b} ")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "client {id_b} still listed: {list}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Errors and counts as Redis gives them.
    let none: i64 = query(&mut a, &["CLIENT", "KILL", "ID", &id_b.to_string()])?;
    assert_eq!(none, 0);
    assert_eq!(
        error_of(&mut a, &["CLIENT", "KILL", "ID", "0"])?,
        "ERR client-id should be greater than 0"
    );
    assert_eq!(
        error_of(&mut a, &["CLIENT", "KILL", "1.2.3.4:5"])?,
        "ERR No such client"
    );
    assert_eq!(
        error_of(&mut a, &["CLIENT", "KILL", "USER", "bob"])?,
        "ERR No such user 'bob'"
    );
    assert_eq!(
        error_of(&mut a, &["CLIENT", "KILL", "SKIPME", "maybe"])?,
        "ERR syntax error"
    );
    // SKIPME yes (the default) spares the caller; the old form by address does not.
    let spared: i64 = query(&mut a, &["CLIENT", "KILL", "USER", "default"])?;
    assert_eq!(spared, 0);
    let info: String = query(&mut a, &["CLIENT", "INFO"])?;
    let addr = info
        .split(' ')
        .find_map(|kv| kv.strip_prefix("addr="))
        .ok_or("no addr")?
        .to_owned();
    let () = query(&mut a, &["CLIENT", "KILL", &addr])?;
    assert!(query::<String>(&mut a, &["PING"]).is_err());
    Ok(())
}

#[test]
fn info_has_redis_sections_and_fields() -> TestResult {
    let server = Server::start(&[])?;
    let mut con = server.connect()?;
    let () = query(&mut con, &["SET", "k", "v"])?;
    let () = query(&mut con, &["SET", "t", "v", "EX", "100"])?;
    let () = query(&mut con, &["SET", "gone", "v", "PX", "1"])?;
    std::thread::sleep(Duration::from_millis(20));
    let gone: Option<String> = query(&mut con, &["GET", "gone"])?;
    assert_eq!(gone, None);
    assert!(error_of(&mut con, &["INCR", "k"])?.starts_with("ERR "));

    let info: String = query(&mut con, &["INFO"])?;
    let titles: Vec<&str> = info.lines().filter(|l| l.starts_with("# ")).collect();
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
    assert!(info.contains("\r\n"), "lines end with CRLF");
    assert_eq!(
        info_field(&info, "redis_version").as_deref(),
        Some("7.0.15")
    );
    assert!(info_field(&info, "kvdb_version").is_some());
    assert_eq!(
        info_field(&info, "tcp_port"),
        Some(server.port().to_string())
    );
    assert_eq!(info_field(&info, "connected_clients").as_deref(), Some("1"));
    assert_eq!(info_field(&info, "role").as_deref(), Some("master"));
    assert_eq!(info_field(&info, "connected_slaves").as_deref(), Some("0"));
    assert_eq!(info_field(&info, "aof_enabled").as_deref(), Some("1"));
    assert_eq!(info_field(&info, "loading").as_deref(), Some("0"));
    assert!(info_field(&info, "used_memory").is_some_and(|m| m != "0"));
    assert_eq!(info_field(&info, "expired_keys").as_deref(), Some("1"));
    assert_eq!(
        info_field(&info, "total_error_replies").as_deref(),
        Some("1")
    );
    assert_eq!(
        info_field(&info, "db0").as_deref(),
        Some("keys=2,expires=1,avg_ttl=0")
    );
    assert!(
        info_field(&info, "total_commands_processed")
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n >= 6)
    );

    let stats: String = query(&mut con, &["INFO", "commandstats", "KEYSPACE"])?;
    assert!(stats.starts_with("# Commandstats\r\n"), "{stats}");
    let set = info_field(&stats, "cmdstat_set").ok_or("no cmdstat_set")?;
    assert!(set.starts_with("calls=3,usec="), "{set}");
    assert!(set.ends_with(",rejected_calls=0,failed_calls=0"), "{set}");
    let incr = info_field(&stats, "cmdstat_incr").ok_or("no cmdstat_incr")?;
    assert!(incr.ends_with(",failed_calls=1"), "{incr}");
    assert!(stats.contains("\r\n\r\n# Keyspace\r\n"));
    assert!(!stats.contains("# Server"));
    let everything: String = query(&mut con, &["INFO", "everything"])?;
    assert!(everything.contains("# Commandstats") && everything.contains("# Server"));
    let nothing: String = query(&mut con, &["INFO", "nosuch"])?;
    assert_eq!(nothing, "");

    // RESP3: a verbatim string.
    let mut resp3 = server.connect_url(&server.url("?protocol=resp3"))?;
    let value: Value = query(&mut resp3, &["INFO", "server"])?;
    let Value::VerbatimString { text, .. } = value else {
        return Err(format!("INFO in RESP3 is {value:?}").into());
    };
    assert!(text.starts_with("# Server\r\nredis_version:7.0.15\r\n"));
    Ok(())
}

#[test]
fn config_get_and_set_follow_redis() -> TestResult {
    let server = Server::start(&[])?;
    let mut con = server.connect()?;
    let save: Vec<String> = query(&mut con, &["CONFIG", "GET", "save"])?;
    assert_eq!(save, ["save", ""]);
    let aof: Vec<String> = query(&mut con, &["CONFIG", "GET", "appendonly"])?;
    assert_eq!(aof, ["appendonly", "yes"]);
    let all: Vec<String> = query(&mut con, &["CONFIG", "GET", "*"])?;
    let pairs: Vec<(&str, &str)> = all
        .chunks(2)
        .map(|p| (p[0].as_str(), p[1].as_str()))
        .collect();
    for option in [
        "dir",
        "port",
        "bind",
        "appendfsync",
        "requirepass",
        "maxclients",
        "timeout",
    ] {
        assert!(pairs.iter().any(|(n, _)| *n == option), "{option} missing");
    }
    assert!(pairs.contains(&("port", server.port().to_string().as_str())));
    let two: Vec<String> = query(
        &mut con,
        &["CONFIG", "GET", "MAXCLIENTS", "time*", "timeout"],
    )?;
    assert_eq!(two, ["maxclients", "10000", "timeout", "0"]);

    let () = query(
        &mut con,
        &["CONFIG", "SET", "timeout", "300", "maxclients", "50"],
    )?;
    let two: Vec<String> = query(&mut con, &["CONFIG", "GET", "maxclients", "timeout"])?;
    assert_eq!(two, ["maxclients", "50", "timeout", "300"]);
    assert_eq!(
        error_of(&mut con, &["CONFIG", "SET", "nosuch", "1"])?,
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
    );
    assert_eq!(
        error_of(&mut con, &["CONFIG", "SET", "maxclients", "0"])?,
        "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be \
         between 1 and 4294967295 inclusive"
    );
    assert_eq!(
        error_of(
            &mut con,
            &["CONFIG", "SET", "timeout", "1", "appendfsync", "x"]
        )?,
        "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must \
         be one of the following: everysec, always, no"
    );
    let unchanged: Vec<String> = query(&mut con, &["CONFIG", "GET", "timeout"])?;
    assert_eq!(unchanged, ["timeout", "300"], "all or nothing");
    assert_eq!(
        error_of(&mut con, &["CONFIG", "SET", "timeout", "1", "timeout", "2"])?,
        "ERR CONFIG SET failed (possibly related to argument 'timeout') - duplicate parameter"
    );
    assert_eq!(
        error_of(&mut con, &["CONFIG", "SET", "timeout"])?,
        "ERR wrong number of arguments for 'config|set' command"
    );
    assert_eq!(
        error_of(&mut con, &["CONFIG", "SET", "dir", "/tmp"])?,
        "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
    );
    assert_eq!(
        error_of(&mut con, &["CONFIG", "REWRITE"])?,
        "ERR The server is running without a config file"
    );

    // requirepass applies to connections that authenticate from now on.
    let () = query(&mut con, &["CONFIG", "SET", "requirepass", "s3cret"])?;
    let mut fresh = server.connect()?;
    assert!(error_of(&mut fresh, &["PING"])?.starts_with("NOAUTH"));
    let () = query(&mut fresh, &["AUTH", "s3cret"])?;
    let pong: String = query(&mut con, &["PING"])?;
    assert_eq!(pong, "PONG");

    let () = query(&mut con, &["CONFIG", "RESETSTAT"])?;
    let stats: String = query(&mut con, &["INFO", "stats"])?;
    assert_eq!(
        info_field(&stats, "total_commands_processed").as_deref(),
        Some("1")
    );
    Ok(())
}

#[test]
fn config_set_appendfsync_always_makes_each_write_durable_at_once() -> TestResult {
    let server = Server::start(&["--appendfsync", "no"])?;
    let mut con = server.connect()?;
    let () = query(&mut con, &["SET", "before", "1"])?;
    let info: String = query(&mut con, &["INFO", "persistence"])?;
    assert_eq!(
        info_field(&info, "rdb_changes_since_last_save").as_deref(),
        Some("1"),
        "under `no`, nothing is fsync'd"
    );

    let () = query(&mut con, &["CONFIG", "SET", "appendfsync", "always"])?;
    let policy: Vec<String> = query(&mut con, &["CONFIG", "GET", "appendfsync"])?;
    assert_eq!(policy, ["appendfsync", "always"]);
    let () = query(&mut con, &["SET", "after", "2"])?;
    let info: String = query(&mut con, &["INFO", "persistence"])?;
    assert_eq!(
        info_field(&info, "kvdb_appendfsync").as_deref(),
        Some("always")
    );
    assert_eq!(
        info_field(&info, "rdb_changes_since_last_save").as_deref(),
        Some("0"),
        "the write was fsync'd before its reply"
    );
    let lastsave: i64 = query(&mut con, &["LASTSAVE"])?;
    assert!((unix_now() - lastsave).abs() <= 5, "{lastsave}");
    Ok(())
}

#[test]
fn config_rewrite_writes_back_the_config_file() -> TestResult {
    let conf_dir = tempfile::tempdir()?;
    let path = conf_dir.path().join("kvdb.conf");
    std::fs::write(&path, "# kept\ntimeout 5\n")?;
    let path_text = path.to_string_lossy().into_owned();
    let server = Server::start(&["--config", &path_text])?;
    let mut con = server.connect()?;
    let info: String = query(&mut con, &["INFO", "server"])?;
    assert_eq!(info_field(&info, "config_file"), Some(path_text.clone()));
    let () = query(
        &mut con,
        &["CONFIG", "SET", "timeout", "9", "appendfsync", "always"],
    )?;
    let () = query(&mut con, &["CONFIG", "REWRITE"])?;
    let text = std::fs::read_to_string(&path)?;
    assert!(text.starts_with("# kept\ntimeout 9\n"), "{text}");
    assert!(text.contains("\nappendfsync always\n"), "{text}");
    Ok(())
}

#[test]
fn command_describes_the_command_table() -> TestResult {
    let server = Server::start(&[])?;
    let mut con = server.connect()?;
    let count: i64 = query(&mut con, &["COMMAND", "COUNT"])?;
    let all: Vec<Value> = query(&mut con, &["COMMAND"])?;
    assert_eq!(all.len() as i64, count);

    let info: Value = query(&mut con, &["COMMAND", "INFO", "get", "nosuch"])?;
    let Value::Array(entries) = info else {
        return Err(format!("COMMAND INFO gave {info:?}").into());
    };
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1], Value::Nil);
    let Value::Array(get) = &entries[0] else {
        return Err("no entry for get".into());
    };
    assert_eq!(get.len(), 10);
    assert_eq!(get[0], Value::BulkString(b"get".to_vec()));
    assert_eq!(get[1], Value::Int(2));
    assert_eq!(
        get[2],
        Value::Array(vec![
            Value::SimpleString("readonly".into()),
            Value::SimpleString("fast".into())
        ])
    );
    assert_eq!(&get[3..6], &[Value::Int(1), Value::Int(1), Value::Int(1)]);

    let docs: Vec<Value> = query(&mut con, &["COMMAND", "DOCS", "get"])?;
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0], Value::BulkString(b"get".to_vec()));
    let Value::Array(fields) = &docs[1] else {
        return Err("docs of get are not a map".into());
    };
    assert_eq!(fields[0], Value::BulkString(b"summary".to_vec()));
    assert!(fields.contains(&Value::BulkString(b"arguments".to_vec())));

    let clients: Vec<String> = query(
        &mut con,
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "client*"],
    )?;
    assert!(clients.contains(&"client".to_owned()) && clients.contains(&"client|kill".into()));
    let keys: Vec<String> = query(
        &mut con,
        &["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"],
    )?;
    assert_eq!(keys, ["a", "b"]);
    assert_eq!(
        error_of(&mut con, &["COMMAND", "COUNT", "x"])?,
        "ERR wrong number of arguments for 'command|count' command"
    );
    Ok(())
}

#[test]
fn wait_answers_zero_at_once_and_lastsave_is_recent() -> TestResult {
    let server = Server::start(&[])?;
    let mut con = server.connect()?;
    let started = Instant::now();
    let replicas: i64 = query(&mut con, &["WAIT", "1", "5000"])?;
    assert_eq!(replicas, 0);
    assert!(started.elapsed() < Duration::from_secs(2), "WAIT blocked");
    let replicas: i64 = query(&mut con, &["WAIT", "0", "0"])?;
    assert_eq!(replicas, 0);
    assert_eq!(
        error_of(&mut con, &["WAIT", "0", "-1"])?,
        "ERR timeout is negative"
    );
    assert_eq!(
        error_of(&mut con, &["WAIT", "0", "x"])?,
        "ERR timeout is not an integer or out of range"
    );
    assert_eq!(
        error_of(&mut con, &["WAIT", "x", "0"])?,
        "ERR value is not an integer or out of range"
    );
    let lastsave: i64 = query(&mut con, &["LASTSAVE"])?;
    assert!((unix_now() - lastsave).abs() <= 5, "{lastsave}");
    Ok(())
}
