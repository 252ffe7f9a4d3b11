//! Every command family through redis-rs, as an application would call it: strings, keys and
//! TTLs, databases, connection and server commands. The replies' meaning is tested in depth by
//! the unit and differential tests; here each command must arrive, run and decode over the
//! network.

use redis::{Commands, Value};

use crate::common::TestResult;
use crate::common::server::Server;

fn cmd(args: &[&str]) -> redis::Cmd {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd
}

#[test]
fn string_commands_work_through_redis_rs() -> TestResult {
    let server = Server::start(&[])?;
    let mut con = server.connect()?;

    let () = con.set("s", "hello")?;
    assert_eq!(con.get::<_, Option<String>>("s")?, Some("hello".into()));
    assert_eq!(con.get::<_, Option<String>>("missing")?, None);
    assert_eq!(con.append::<_, _, i64>("s", " world")?, 11);
    assert_eq!(con.strlen::<_, i64>("s")?, 11);
    assert_eq!(con.getrange::<_, String>("s", 0, 4)?, "hello");
    assert_eq!(con.setrange::<_, _, i64>("s", 6, "WORLD")?, 11);
    assert_eq!(con.getset::<_, _, String>("s", "new")?, "hello WORLD");
    assert_eq!(con.get_del::<_, String>("s")?, "new");
    assert!(!con.exists::<_, bool>("s")?);

    assert!(con.set_nx::<_, _, bool>("nx", "1")?);
    assert!(!con.set_nx::<_, _, bool>("nx", "2")?);
    let () = con.set_ex("ex", "v", 100)?;
    let () = con.pset_ex("px", "v", 100_000)?;
    let ttl: i64 = con.ttl("ex")?;
    assert!((99..=100).contains(&ttl), "ttl {ttl}");
    let pttl: i64 = con.pttl("px")?;
    assert!((99_000..=100_000).contains(&pttl), "pttl {pttl}");
    let got: Option<String> = con.get_ex("px", redis::Expiry::PERSIST)?;
    assert_eq!(got.as_deref(), Some("v"));
    assert_eq!(con.ttl::<_, i64>("px")?, -1);

    let () = con.mset(&[("a", "1"), ("b", "2")])?;
    assert_eq!(
        con.mget::<_, Vec<Option<String>>>(&["a", "b", "c"])?,
        vec![Some("1".into()), Some("2".into()), None]
    );
    assert!(!con.mset_nx::<_, _, bool>(&[("a", "9"), ("c", "9")])?);
    assert!(con.mset_nx::<_, _, bool>(&[("c", "3"), ("d", "4")])?);

    assert_eq!(con.incr::<_, _, i64>("n", 1)?, 1);
    assert_eq!(con.incr::<_, _, i64>("n", 41)?, 42);
    assert_eq!(con.decr::<_, _, i64>("n", 2)?, 40);
    assert_eq!(cmd(&["DECR", "n"]).query::<i64>(&mut con)?, 39);
    assert_eq!(
        cmd(&["INCRBYFLOAT", "f", "0.1"]).query::<String>(&mut con)?,
        "0.1"
    );
    assert_eq!(
        cmd(&["INCRBYFLOAT", "f", "0.2"]).query::<f64>(&mut con)?,
        0.3
    );

    let set = cmd(&["SET", "opt", "v1", "NX", "GET", "EX", "50"]).query::<Value>(&mut con)?;
    assert_eq!(set, Value::Nil);
    let set = cmd(&["SET", "opt", "v2", "XX", "GET", "KEEPTTL"]).query::<String>(&mut con)?;
    assert_eq!(set, "v1");
    assert!(con.ttl::<_, i64>("opt")? > 0);

    // Binary-safe values, keys and an empty string.
    let binary: Vec<u8> = (0..=255u8).collect();
    let () = con.set(b"k\0\r\n".as_slice(), binary.as_slice())?;
    assert_eq!(con.get::<_, Vec<u8>>(b"k\0\r\n".as_slice())?, binary);
    let () = con.set("empty", "")?;
    assert_eq!(con.get::<_, Option<String>>("empty")?, Some(String::new()));

    // A 1 MiB value survives the trip both ways.
    let big = vec![b'x'; 1 << 20];
    let () = con.set("big", big.as_slice())?;
    assert_eq!(con.get::<_, Vec<u8>>("big")?, big);

    // Errors arrive as Redis's.
    let err = con.incr::<_, _, i64>("s2", 1).and_then(|_| {
        let () = con.set("s2", "text")?;
        con.incr::<_, _, i64>("s2", 1)
    });
    let err = err.expect_err("INCR on text fails");
    assert_eq!(err.code(), Some("ERR"));
    assert_eq!(
        err.detail(),
        Some("value is not an integer or out of range")
    );
    Ok(())
}

#[test]
fn keyspace_and_ttl_commands_work_through_redis_rs() -> TestResult {
    let server = Server::start(&[])?;
    let mut con = server.connect()?;

    let () = con.mset(&[("k1", "a"), ("k2", "b"), ("other", "c")])?;
    assert_eq!(con.exists::<_, i64>(&["k1", "k2", "nope"])?, 2);
    assert_eq!(cmd(&["TOUCH", "k1", "nope"]).query::<i64>(&mut con)?, 1);
    assert_eq!(cmd(&["TYPE", "k1"]).query::<String>(&mut con)?, "string");
    assert_eq!(cmd(&["TYPE", "nope"]).query::<String>(&mut con)?, "none");
    let mut keys: Vec<String> = con.keys("k*")?;
    keys.sort();
    assert_eq!(keys, ["k1", "k2"]);
    let mut scanned: Vec<String> = con.scan_match("k*")?.collect();
    scanned.sort();
    assert_eq!(scanned, ["k1", "k2"]);
    assert_eq!(cmd(&["DBSIZE"]).query::<i64>(&mut con)?, 3);
    let random: String = cmd(&["RANDOMKEY"]).query(&mut con)?;
    assert!(["k1", "k2", "other"].contains(&random.as_str()));

    let () = con.rename("k1", "r1")?;
    assert!(!con.rename_nx::<_, _, bool>("r1", "k2")?);
    assert_eq!(cmd(&["COPY", "r1", "c1"]).query::<i64>(&mut con)?, 1);
    assert_eq!(
        cmd(&["COPY", "r1", "c1", "DB", "3"]).query::<i64>(&mut con)?,
        1
    );
    assert_eq!(cmd(&["MOVE", "c1", "2"]).query::<i64>(&mut con)?, 1);
    assert_eq!(con.del::<_, i64>(&["r1", "nope"])?, 1);
    assert_eq!(con.unlink::<_, i64>("k2")?, 1);

    let () = con.set("t", "v")?;
    assert!(con.expire::<_, bool>("t", 100)?);
    assert!((99..=100).contains(&con.ttl::<_, i64>("t")?));
    assert!(con.pexpire::<_, bool>("t", 200_000)?);
    assert!(con.pttl::<_, i64>("t")? > 100_000);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let at = now.as_secs() as i64 + 1000;
    assert!(con.expire_at::<_, bool>("t", at)?);
    assert_eq!(cmd(&["EXPIRETIME", "t"]).query::<i64>(&mut con)?, at);
    assert!(con.pexpire_at::<_, bool>("t", at * 1000 + 5)?);
    assert_eq!(
        cmd(&["PEXPIRETIME", "t"]).query::<i64>(&mut con)?,
        at * 1000 + 5
    );
    assert_eq!(cmd(&["EXPIRE", "t", "10", "GT"]).query::<i64>(&mut con)?, 0);
    assert!(con.persist::<_, bool>("t")?);
    assert_eq!(con.ttl::<_, i64>("t")?, -1);
    assert_eq!(con.ttl::<_, i64>("nope")?, -2);
    assert!(con.expire_at::<_, bool>("t", 1)?);
    assert!(!con.exists::<_, bool>("t")?);

    // Databases: SELECT sticks to the connection, MOVE and COPY ... DB crossed them above.
    assert_eq!(cmd(&["SELECT", "2"]).query::<String>(&mut con)?, "OK");
    assert_eq!(con.get::<_, String>("c1")?, "a");
    assert_eq!(cmd(&["SELECT", "3"]).query::<String>(&mut con)?, "OK");
    assert_eq!(con.get::<_, String>("c1")?, "a");
    assert_eq!(cmd(&["FLUSHDB"]).query::<String>(&mut con)?, "OK");
    assert_eq!(cmd(&["DBSIZE"]).query::<i64>(&mut con)?, 0);
    assert_eq!(cmd(&["SELECT", "0"]).query::<String>(&mut con)?, "OK");
    assert_eq!(
        cmd(&["KEYS", "*"]).query::<Vec<String>>(&mut con)?,
        ["other"]
    );
    assert_eq!(cmd(&["FLUSHALL"]).query::<String>(&mut con)?, "OK");
    assert_eq!(cmd(&["DBSIZE"]).query::<i64>(&mut con)?, 0);
    let err = cmd(&["SELECT", "16"])
        .query::<String>(&mut con)
        .expect_err("16 databases");
    assert_eq!(err.detail(), Some("DB index is out of range"));

    // A URL with a database number selects it (redis-rs sends SELECT on connect).
    let mut db5 = server.connect_url(&format!("redis://127.0.0.1:{}/5", server.port()))?;
    let () = db5.set("in5", "x")?;
    assert_eq!(con.get::<_, Option<String>>("in5")?, None);
    Ok(())
}

#[test]
fn connection_and_server_commands_work_through_redis_rs() -> TestResult {
    let server = Server::start(&[])?;
    let mut con = server.connect()?;

    assert_eq!(cmd(&["PING"]).query::<String>(&mut con)?, "PONG");
    assert_eq!(cmd(&["PING", "hi"]).query::<String>(&mut con)?, "hi");
    assert_eq!(cmd(&["ECHO", "a b"]).query::<String>(&mut con)?, "a b");
    let time: Vec<String> = cmd(&["TIME"]).query(&mut con)?;
    let seconds: u64 = time[0].parse()?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    assert!(seconds.abs_diff(now.as_secs()) <= 2);
    assert!(time[1].parse::<u32>()? < 1_000_000);

    let id: i64 = cmd(&["CLIENT", "ID"]).query(&mut con)?;
    let other_id: i64 = cmd(&["CLIENT", "ID"]).query(&mut server.connect()?)?;
    assert_ne!(id, other_id, "each connection has its own id");
    assert_eq!(
        cmd(&["CLIENT", "SETNAME", "app"]).query::<String>(&mut con)?,
        "OK"
    );
    assert_eq!(
        cmd(&["CLIENT", "GETNAME"]).query::<String>(&mut con)?,
        "app"
    );

    // RESET drops the name, the database and the transaction.
    assert_eq!(cmd(&["SELECT", "4"]).query::<String>(&mut con)?, "OK");
    assert_eq!(cmd(&["RESET"]).query::<String>(&mut con)?, "RESET");
    assert_eq!(
        cmd(&["CLIENT", "GETNAME"]).query::<Value>(&mut con)?,
        Value::Nil
    );
    let () = con.set("in0", "x")?;
    let mut db0 = server.connect()?;
    assert_eq!(db0.get::<_, String>("in0")?, "x");

    let err = cmd(&["NOSUCH", "a"])
        .query::<Value>(&mut con)
        .expect_err("unknown command");
    assert_eq!(
        err.detail(),
        Some("unknown command 'NOSUCH', with args beginning with: 'a' ")
    );
    let err = cmd(&["GET"]).query::<Value>(&mut con).expect_err("arity");
    assert_eq!(
        err.detail(),
        Some("wrong number of arguments for 'get' command")
    );
    // The connection still works after error replies.
    assert_eq!(cmd(&["PING"]).query::<String>(&mut con)?, "PONG");

    // QUIT answers OK and the server closes the connection.
    let mut raw = server.raw()?;
    assert_eq!(raw.call_text(&["QUIT"])?, "+OK\r\n");
    assert_eq!(raw.until_closed(crate::CLOSE_TIMEOUT)?, b"");
    Ok(())
}
