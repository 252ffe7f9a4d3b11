//! Hand-written cases: Redis's exact error texts, and the kvdb bugs the random sequences
//! found, each pinned with the replies both servers must give.

use kvdb::Reply;

use crate::oracle::Server;
use crate::{Pair, TestResult, serial};

fn err(text: &str) -> Reply {
    Reply::Error(text.to_owned())
}

fn int(n: i64) -> Reply {
    Reply::Integer(n)
}

#[test]
fn error_texts_match_redis() -> TestResult {
    let _serial = serial();
    let server = Server::start()?;
    let mut p = Pair::new(&server)?;
    let arity = |name: &str| {
        err(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ))
    };

    p.expect(&["GET"], arity("get"));
    p.expect(&["set", "k"], arity("set"));
    p.expect(&["MSET", "a", "1", "b"], arity("mset"));
    p.expect(&["PING", "a", "b"], arity("ping"));
    p.expect(
        &["NoSuch", "a", "b c"],
        err("ERR unknown command 'NoSuch', with args beginning with: 'a' 'b c' "),
    );
    p.expect(&["SET", "k", "v", "NX", "XX"], err("ERR syntax error"));
    p.expect(
        &["SET", "k", "v", "EX", "10", "KEEPTTL"],
        err("ERR syntax error"),
    );
    p.expect(&["SET", "k", "v", "EX"], err("ERR syntax error"));
    p.expect(&["GETEX", "k", "KEEPTTL"], err("ERR syntax error"));
    p.expect(
        &["INCRBY", "k", "1.5"],
        err("ERR value is not an integer or out of range"),
    );
    p.expect(
        &["SET", "k", "v", "EX", "abc"],
        err("ERR value is not an integer or out of range"),
    );
    p.expect(
        &["SET", "k", "v", "EX", "0"],
        err("ERR invalid expire time in 'set' command"),
    );
    p.expect(
        &["SET", "k", "v", "PX", "-5"],
        err("ERR invalid expire time in 'set' command"),
    );
    p.expect(
        &["SET", "k", "v", "EX", "9223372036854775"],
        err("ERR invalid expire time in 'set' command"),
    );
    p.expect(
        &["SETEX", "k", "0", "v"],
        err("ERR invalid expire time in 'setex' command"),
    );
    p.expect(
        &["PSETEX", "k", "-1", "v"],
        err("ERR invalid expire time in 'psetex' command"),
    );
    p.expect(&["SET", "k", "v"], Reply::ok());
    p.expect(
        &["GETEX", "k", "EX", "0"],
        err("ERR invalid expire time in 'getex' command"),
    );
    p.expect(
        &["EXPIRE", "k", "9223372036854776"],
        err("ERR invalid expire time in 'expire' command"),
    );
    p.expect(
        &["PEXPIRE", "k", "9223372036854775807"],
        err("ERR invalid expire time in 'pexpire' command"),
    );
    p.expect(
        &["SETRANGE", "k", "-1", "x"],
        err("ERR offset is out of range"),
    );
    p.expect(
        &["SETRANGE", "k", "536870912", "x"],
        err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
    );
    p.expect(
        &["SETRANGE", "nokey", "9223372036854775807", "x"],
        err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
    );
    p.expect(&["SETRANGE", "nokey", "536870912", ""], Reply::Integer(0));
    p.expect(
        &["DECRBY", "n", "-9223372036854775808"],
        err("ERR decrement would overflow"),
    );
    p.expect(&["SET", "n", "9223372036854775807"], Reply::ok());
    p.expect(
        &["INCR", "n"],
        err("ERR increment or decrement would overflow"),
    );
    p.expect(&["SET", "m", "-9223372036854775808"], Reply::ok());
    p.expect(
        &["DECR", "m"],
        err("ERR increment or decrement would overflow"),
    );
    p.expect(
        &["INCR", "k"],
        err("ERR value is not an integer or out of range"),
    );
    p.expect(
        &["INCRBYFLOAT", "k", "1"],
        err("ERR value is not a valid float"),
    );
    p.expect(
        &["INCRBYFLOAT", "n", "abc"],
        err("ERR value is not a valid float"),
    );
    p.expect(&["SET", "f", "1e4932"], Reply::ok());
    p.expect(
        &["INCRBYFLOAT", "f", "1e4932"],
        err("ERR increment would produce NaN or Infinity"),
    );
    p.expect(
        &["EXPIRE", "k", "10", "NX", "GT"],
        err("ERR NX and XX, GT or LT options at the same time are not compatible"),
    );
    p.expect(
        &["EXPIRE", "k", "10", "GT", "LT"],
        err("ERR GT and LT options at the same time are not compatible"),
    );
    p.expect(
        &["EXPIRE", "k", "10", "FOO"],
        err("ERR Unsupported option FOO"),
    );
    p.expect(&["RENAME", "nokey", "x"], err("ERR no such key"));
    p.expect(&["SELECT", "16"], err("ERR DB index is out of range"));
    p.expect(
        &["SELECT", "x"],
        err("ERR value is not an integer or out of range"),
    );
    p.expect(
        &["MOVE", "k", "0"],
        err("ERR source and destination objects are the same"),
    );
    p.expect(
        &["COPY", "k", "k"],
        err("ERR source and destination objects are the same"),
    );
    p.expect(&["SCAN", "abc"], err("ERR invalid cursor"));
    p.expect(&["SCAN", "0", "COUNT", "0"], err("ERR syntax error"));
    p.expect(&["FLUSHDB", "FOO"], err("ERR syntax error"));
    Ok(())
}

#[test]
fn unknown_command_quotes_at_most_128_bytes_of_arguments() -> TestResult {
    let _serial = serial();
    let server = Server::start()?;
    let mut p = Pair::new(&server)?;
    let long = "x".repeat(200);
    p.expect(
        &["nosuch", "a\r\nb", &long, "c"],
        err(&format!(
            "ERR unknown command 'nosuch', with args beginning with: 'a  b' '{}' ",
            &long[..128 - "'a  b' ".len()]
        )),
    );
    let name = "n".repeat(200);
    p.expect(
        &[name.as_str()],
        err(&format!(
            "ERR unknown command '{}', with args beginning with: ",
            &name[..128]
        )),
    );
    Ok(())
}

/// GETEX validates its expiry only once the key is known to hold a string: on a missing key
/// any expiry argument answers nil (kvdb used to reply with the parse error).
#[test]
fn getex_on_a_missing_key_ignores_a_bad_expiry() -> TestResult {
    let _serial = serial();
    let server = Server::start()?;
    let mut p = Pair::new(&server)?;
    p.expect(&["GETEX", "nokey", "PXAT", "XX"], Reply::Nil);
    p.expect(&["GETEX", "nokey", "EX", "0"], Reply::Nil);
    p.expect(
        &["GETEX", "nokey", "EX", "1", "PX", "1"],
        err("ERR syntax error"),
    );
    Ok(())
}

/// An index that does not fit in a C `int` gets Redis's range text, not "DB index is out of
/// range" (kvdb used to give the latter for SELECT).
#[test]
fn database_indexes_beyond_int_get_the_range_error() -> TestResult {
    let _serial = serial();
    let server = Server::start()?;
    let mut p = Pair::new(&server)?;
    let range = err("ERR value is out of range, value must between -2147483648 and 2147483647");
    p.expect(&["SET", "k", "v"], Reply::ok());
    p.expect(&["SELECT", "4294967296"], range.clone());
    p.expect(&["SELECT", "-2147483649"], range.clone());
    p.expect(&["MOVE", "k", "2147483648"], range.clone());
    p.expect(&["COPY", "k", "k2", "DB", "4294967296"], range);
    p.expect(
        &["SELECT", "2147483647"],
        err("ERR DB index is out of range"),
    );
    p.expect(&["MOVE", "k", "-1"], err("ERR DB index is out of range"));
    Ok(())
}

/// SCAN reads its cursor with C's `strtoul`: a sign, leading zeros and the empty string are
/// accepted (kvdb used to reject them); spaces and values beyond 2^64 - 1 are not.
#[test]
fn scan_cursor_is_parsed_like_strtoul() -> TestResult {
    let _serial = serial();
    let server = Server::start()?;
    let mut p = Pair::new(&server)?;
    p.expect(&["MSET", "a", "1", "b", "2"], Reply::ok());
    for cursor in [
        "-1",
        "+0",
        "",
        "007",
        "18446744073709551615",
        "-18446744073709551615",
    ] {
        p.agree(&["SCAN", cursor]);
    }
    for cursor in ["18446744073709551616", " 1", "1 ", "+", "-", "0x1"] {
        p.expect(&["SCAN", cursor], err("ERR invalid cursor"));
    }
    Ok(())
}

/// EXPIRE ... XX LT needs an existing expiry, as XX alone does (kvdb used to let LT override
/// XX and expire a key that had none).
#[test]
fn expire_xx_lt_needs_an_existing_expiry() -> TestResult {
    let _serial = serial();
    let server = Server::start()?;
    let mut p = Pair::new(&server)?;
    p.expect(&["SET", "persistent", "v"], Reply::ok());
    p.expect(&["PEXPIRE", "persistent", "0", "XX", "LT"], int(0));
    p.expect(&["EXISTS", "persistent"], int(1));
    p.expect(&["PEXPIRE", "persistent", "0", "LT"], int(1));
    p.expect(&["EXISTS", "persistent"], int(0));
    p.expect(&["SET", "volatile", "v", "EX", "100000"], Reply::ok());
    p.expect(&["EXPIRE", "volatile", "200000", "XX", "LT"], int(0));
    p.expect(&["EXPIRE", "volatile", "50000", "LT", "XX"], int(1));
    p.agree(&["TTL", "volatile"]);
    Ok(())
}

/// TTL rounding near the largest timestamp: `(ms + 500) / 1000` overflowed in kvdb (a panic in
/// debug builds); Redis answers the rounded value.
#[test]
fn expiretime_near_the_largest_timestamp_does_not_overflow() -> TestResult {
    let _serial = serial();
    let server = Server::start()?;
    let mut p = Pair::new(&server)?;
    p.expect(
        &["SET", "k", "v", "PXAT", "9223372036854775807"],
        Reply::ok(),
    );
    p.expect(&["PEXPIRETIME", "k"], int(i64::MAX));
    p.expect(&["EXPIRETIME", "k"], int(9_223_372_036_854_776));
    p.expect(&["PEXPIREAT", "k", "9223372036854775308"], int(1));
    p.expect(&["EXPIRETIME", "k"], int(9_223_372_036_854_775));
    p.agree(&["TTL", "k"]);
    Ok(())
}
