//! The request parser: multibulk and inline commands, with Redis's limits and error texts.
//!
//! Streaming contract: [`parse_request`] looks at the unconsumed bytes of a connection's input.
//! It returns `Ok(None)` when they do not yet hold a whole request (read more and call again),
//! `Ok(Some((argv, used)))` for a request (`argv` may be empty for a blank line, which the
//! caller skips), or a [`ProtocolError`], after which the caller replies with the error and
//! closes the connection, as Redis does. It never allocates more than the request's own bytes:
//! a header announcing a huge length costs nothing until the bytes arrive, and the limits bound
//! what may be announced.

/// Limits on what a client may send, as Redis's defaults.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest bulk string (proto-max-bulk-len): 512 MB.
    pub max_bulk_len: usize,
    /// Most arguments in one multibulk request: 1,048,576.
    pub max_multibulk_len: usize,
    /// Longest inline request and longest header line: 64 KiB.
    pub max_inline_len: usize,
    /// Before authentication (with requirepass): at most this many arguments (10)...
    pub unauth_max_multibulk_len: usize,
    /// ...and bulk strings of at most this many bytes (16 KiB).
    pub unauth_max_bulk_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: 1024 * 1024,
            max_inline_len: 64 * 1024,
            unauth_max_multibulk_len: 10,
            unauth_max_bulk_len: 16 * 1024,
        }
    }
}

/// A request that breaks the protocol; its `Display` is Redis's error reply text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// An inline request longer than the limit without a newline.
    #[error("ERR Protocol error: too big inline request")]
    TooBigInline,
    /// A multibulk count line longer than the limit.
    #[error("ERR Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    /// A bulk length line longer than the limit.
    #[error("ERR Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// A multibulk count that is not a number or above the limit.
    #[error("ERR Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// A bulk length that is not a number, negative, or above the limit.
    #[error("ERR Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// More arguments than allowed before authentication.
    #[error("ERR Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    /// A longer bulk string than allowed before authentication.
    #[error("ERR Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
    /// Something other than `$` where a bulk string must start.
    #[error("ERR Protocol error: expected '$', got '{0}'")]
    ExpectedDollar(char),
    /// An inline request with unbalanced quotes.
    #[error("ERR Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
}

/// A parsed request and the number of input bytes it used.
pub type Parsed = (Vec<Vec<u8>>, usize);

/// Parses the first request in `buf`. `authenticated` selects the stricter limits that apply
/// before AUTH when a password is required.
pub fn parse_request(
    buf: &[u8],
    limits: &Limits,
    authenticated: bool,
) -> Result<Option<Parsed>, ProtocolError> {
    match buf.first() {
        None => Ok(None),
        Some(b'*') => parse_multibulk(buf, limits, authenticated),
        Some(_) => parse_inline(buf, limits),
    }
}

/// Finds the line ending at or after `from`: the index of its `\r`.
fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .iter()
        .position(|&b| b == b'\r')
        .map(|p| from + p)
}

/// Parses a length as Redis's `string2ll` does: digits with an optional `-`, no `+`, no
/// leading zeros.
fn parse_len(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // "0" alone is the only spelling of zero: "00" and "-0" are not numbers to string2ll.
    if (digits.len() > 1 || negative) && digits[0] == b'0' {
        return None;
    }
    let value: i64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if negative { -value } else { value })
}

fn parse_multibulk(
    buf: &[u8],
    limits: &Limits,
    authenticated: bool,
) -> Result<Option<Parsed>, ProtocolError> {
    let Some(end) = line_end(buf, 1) else {
        return if buf.len() > limits.max_inline_len {
            Err(ProtocolError::TooBigMultibulkCount)
        } else {
            Ok(None)
        };
    };
    // The count line must end in "\r\n"; only the '\r' is known to be there yet.
    if end + 1 >= buf.len() {
        return Ok(None);
    }
    let count = parse_len(&buf[1..end]).ok_or(ProtocolError::InvalidMultibulkLength)?;
    if count > limits.max_multibulk_len as i64 {
        return Err(ProtocolError::InvalidMultibulkLength);
    }
    if !authenticated && count > limits.unauth_max_multibulk_len as i64 {
        return Err(ProtocolError::UnauthenticatedMultibulkLength);
    }
    let mut pos = end + 2;
    if count <= 0 {
        return Ok(Some((Vec::new(), pos)));
    }
    let max_bulk = if authenticated {
        limits.max_bulk_len
    } else {
        limits.unauth_max_bulk_len
    };
    // Reserve by what has arrived, not by what the client announced. Only the bounds of each
    // argument are kept until the whole request is there: copying the arguments of a request
    // that is still arriving would copy its first (maybe 512 MB) arguments again on every read.
    let mut bounds = Vec::with_capacity((count as usize).min(buf.len() / 4 + 1));
    for _ in 0..count {
        match buf.get(pos) {
            None => return Ok(None),
            Some(b'$') => {}
            Some(&other) => return Err(ProtocolError::ExpectedDollar(char::from(other))),
        }
        let Some(end) = line_end(buf, pos + 1) else {
            return if buf.len() - pos > limits.max_inline_len {
                Err(ProtocolError::TooBigBulkCount)
            } else {
                Ok(None)
            };
        };
        if end + 1 >= buf.len() {
            return Ok(None);
        }
        let len = parse_len(&buf[pos + 1..end]).ok_or(ProtocolError::InvalidBulkLength)?;
        if len < 0 || len > limits.max_bulk_len as i64 {
            return Err(ProtocolError::InvalidBulkLength);
        }
        if len as usize > max_bulk {
            return Err(ProtocolError::UnauthenticatedBulkLength);
        }
        let start = end + 2;
        let stop = start + len as usize;
        if buf.len() < stop + 2 {
            return Ok(None);
        }
        bounds.push(start..stop);
        pos = stop + 2;
    }
    let argv = bounds.into_iter().map(|arg| buf[arg].to_vec()).collect();
    Ok(Some((argv, pos)))
}

fn parse_inline(buf: &[u8], limits: &Limits) -> Result<Option<Parsed>, ProtocolError> {
    let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
        return if buf.len() > limits.max_inline_len {
            Err(ProtocolError::TooBigInline)
        } else {
            Ok(None)
        };
    };
    let mut line = &buf[..newline];
    if let [rest @ .., b'\r'] = line {
        line = rest;
    }
    let argv = split_inline(line).ok_or(ProtocolError::UnbalancedQuotes)?;
    Ok(Some((argv, newline + 1)))
}

/// Splits an inline request into arguments, with the quoting rules of Redis's `sdssplitargs`:
/// double quotes with `\n \r \t \b \a \\ \"` and `\xHH` escapes, single quotes with `\'`, and a
/// closing quote that must be followed by a space or the end. `None` for unbalanced quotes.
pub fn split_inline(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // Redis splits a C string: the line ends at its first NUL.
    let line = line.split(|&b| b == 0).next().unwrap_or_default();
    // C's isspace: vertical tab and form feed included.
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_space(&line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Some(args);
        }
        let mut arg = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            let c = line.get(i).copied();
            if in_double {
                match c {
                    None => return None,
                    Some(b'\\')
                        if line.get(i + 1) == Some(&b'x')
                            && hex_pair(line.get(i + 2..i + 4)).is_some() =>
                    {
                        arg.push(hex_pair(line.get(i + 2..i + 4)).unwrap_or_default());
                        i += 3;
                    }
                    Some(b'\\') if i + 1 < line.len() => {
                        i += 1;
                        arg.push(match line[i] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if line.get(i + 1).is_some_and(|b| !is_space(b)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => arg.push(other),
                }
            } else if in_single {
                match c {
                    None => return None,
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        i += 1;
                        arg.push(b'\'');
                    }
                    Some(b'\'') => {
                        if line.get(i + 1).is_some_and(|b| !is_space(b)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => arg.push(other),
                }
            } else {
                match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(other) => arg.push(other),
                }
            }
            i += 1;
        }
        args.push(arg);
    }
}

fn hex_pair(pair: Option<&[u8]>) -> Option<u8> {
    let pair = pair?;
    let digit = |b: u8| char::from(b).to_digit(16);
    Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(buf: &[u8]) -> Result<Option<Parsed>, ProtocolError> {
        parse_request(buf, &Limits::default(), true)
    }

    fn args(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_request_parses_and_reports_bytes_used() {
        let buf = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n";
        let (argv, used) = parse(buf).expect("valid").expect("complete");
        assert_eq!(argv, args(&["GET", "k"]));
        assert_eq!(used, buf.len() - 4);
    }

    #[test]
    fn every_prefix_of_a_request_is_incomplete() {
        let buf = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n";
        for len in 0..buf.len() {
            assert_eq!(parse(&buf[..len]), Ok(None), "prefix of {len} bytes");
        }
        assert!(parse(buf).expect("valid").is_some());
    }

    #[test]
    fn binary_bulk_strings_are_kept_whole() {
        let buf = b"*2\r\n$4\r\nECHO\r\n$4\r\n\r\n\0\xff\r\n";
        let (argv, _) = parse(buf).expect("valid").expect("complete");
        assert_eq!(argv[1], b"\r\n\0\xff");
    }

    #[test]
    fn inline_requests_split_like_redis() {
        let (argv, used) = parse(b"SET k \"a b\\x41\"\r\nGET k\n")
            .expect("valid")
            .expect("complete");
        assert_eq!(argv, args(&["SET", "k", "a bA"]));
        assert_eq!(used, 17);
        assert_eq!(parse(b"  \r\n").expect("valid"), Some((Vec::new(), 4)));
        assert_eq!(parse(b"PING"), Ok(None));
        assert_eq!(
            parse(b"SET k \"open\r\n"),
            Err(ProtocolError::UnbalancedQuotes)
        );
        assert_eq!(split_inline(b"'it\\'s' x"), Some(args(&["it's", "x"])));
        assert_eq!(split_inline(b"\"a\"b"), None);
        assert_eq!(
            split_inline(b"a\0b c"),
            Some(args(&["a"])),
            "a NUL ends the line"
        );
        assert_eq!(split_inline(b"\x0ba\x0bb\x0c"), Some(args(&["a\x0bb\x0c"])));
    }

    #[test]
    fn limits_are_enforced_with_redis_error_texts() {
        assert_eq!(
            parse(b"*abc\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse(b"*1048577\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse(b"*1\r\n$-5\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse(b"*1\r\n$536870913\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse(b"*1\r\n$536870912\r\n"),
            Ok(None),
            "max length is allowed and waits"
        );
        assert_eq!(
            parse(b"*1\r\n+OK\r\n"),
            Err(ProtocolError::ExpectedDollar('+'))
        );
        assert_eq!(
            ProtocolError::ExpectedDollar('+').to_string(),
            "ERR Protocol error: expected '$', got '+'"
        );
        let long = vec![b'a'; 70 * 1024];
        assert_eq!(parse(&long), Err(ProtocolError::TooBigInline));
        let mut count = b"*".to_vec();
        count.extend(vec![b'1'; 70 * 1024]);
        assert_eq!(parse(&count), Err(ProtocolError::TooBigMultibulkCount));
        let unauth = |buf: &[u8]| parse_request(buf, &Limits::default(), false);
        assert_eq!(
            unauth(b"*11\r\n"),
            Err(ProtocolError::UnauthenticatedMultibulkLength)
        );
        assert_eq!(
            unauth(b"*1\r\n$16385\r\n"),
            Err(ProtocolError::UnauthenticatedBulkLength)
        );
        assert_eq!(
            unauth(b"*1\r\n$4\r\nPING\r\n").expect("valid").map(|p| p.0),
            Some(args(&["PING"]))
        );
    }

    /// Regression: "-0" was read as 0, where Redis's string2ll refuses it.
    #[test]
    fn minus_zero_is_not_a_length() {
        assert_eq!(
            parse(b"*-0\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse(b"*1\r\n$-0\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(parse(b"*1\r\n$0\r\n\r\n"), Ok(Some((args(&[""]), 10))));
    }

    #[test]
    fn empty_and_negative_multibulk_counts_are_skipped() {
        assert_eq!(parse(b"*0\r\n"), Ok(Some((Vec::new(), 4))));
        assert_eq!(parse(b"*-1\r\n"), Ok(Some((Vec::new(), 5))));
    }

    /// Regression: the arguments of a request still arriving were copied on every attempt,
    /// so a client sending `MSET a <512 MB> b <512 MB>` made the server copy the first value
    /// once per read of the second (a 1 GiB query buffer took minutes to reach).
    #[test]
    fn an_incomplete_request_costs_no_copy_of_its_arguments() {
        const BIG: usize = 128 << 20;
        let mut buf = format!("*3\r\n$4\r\nMSET\r\n${BIG}\r\n").into_bytes();
        buf.resize(buf.len() + BIG, b'x');
        buf.extend_from_slice(b"\r\n$5\r\nab");
        let started = std::time::Instant::now();
        for _ in 0..100 {
            assert_eq!(parse(&buf), Ok(None));
        }
        // Copying would move 12.8 GB; looking at the headers takes microseconds.
        let elapsed = started.elapsed();
        assert!(elapsed < std::time::Duration::from_secs(1), "{elapsed:?}");
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = fastrand::Rng::with_seed(9);
        for _ in 0..20_000 {
            let len = rng.usize(..64);
            let mut buf: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            if rng.bool() {
                buf.insert(0, b'*');
            }
            let _ = parse(&buf);
            let _ = parse_request(&buf, &Limits::default(), false);
        }
    }
}
