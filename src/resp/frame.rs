//! The reply of a command, and its encoding as RESP2 or RESP3.
//!
//! The server encodes this type on the wire; the CLI prints it as redis-cli would. Variants
//! follow RESP3's types; RESP2 folds them into its five (a map becomes a flat array, a double
//! a bulk string, a boolean an integer, both nils keep their RESP2 spelling).

/// A Redis-style reply value.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A status line such as `OK` (RESP `+`).
    Status(String),
    /// An error line, including its code word: `ERR syntax error`, `WRONGTYPE ...` (RESP `-`).
    Error(String),
    /// A signed 64-bit integer (RESP `:`).
    Integer(i64),
    /// A binary-safe string (RESP `$`).
    Bulk(Vec<u8>),
    /// The null reply (RESP2 `$-1`, RESP3 `_`).
    Nil,
    /// The null array, as an aborted EXEC or a timed-out BLPOP answer (RESP2 `*-1`, RESP3 `_`).
    NilArray,
    /// An array of replies (RESP `*`).
    Array(Vec<Reply>),
    /// A floating-point number (RESP3 `,`; a bulk string in RESP2).
    Double(f64),
    /// A map of key-value pairs (RESP3 `%`; a flat array in RESP2).
    Map(Vec<(Reply, Reply)>),
    /// A set (RESP3 `~`; an array in RESP2).
    Set(Vec<Reply>),
    /// A boolean (RESP3 `#`; the integer 0 or 1 in RESP2).
    Boolean(bool),
    /// Text with a format, as INFO replies (RESP3 `=` with `txt:`; a bulk string in RESP2).
    Verbatim(String),
    /// An out-of-band message such as a pub/sub message (RESP3 `>`; an array in RESP2).
    Push(Vec<Reply>),
}

impl Reply {
    /// The `OK` status.
    pub fn ok() -> Reply {
        Reply::Status("OK".to_owned())
    }

    /// An error reply with Redis's `ERR ` prefix added to `message`.
    pub fn err(message: impl std::fmt::Display) -> Reply {
        Reply::Error(format!("ERR {message}"))
    }

    /// A bulk reply copied from bytes.
    pub fn bulk(bytes: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(bytes.as_ref().to_vec())
    }

    /// A bulk reply, or nil for `None`.
    pub fn bulk_or_nil(value: Option<Vec<u8>>) -> Reply {
        value.map_or(Reply::Nil, Reply::Bulk)
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

/// Which protocol a connection speaks (HELLO switches it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, the default.
    #[default]
    Resp2,
    /// RESP3.
    Resp3,
}

/// Formats a double as Redis 7.0 does (`%.17g`; `inf` and `-inf` spelled out).
pub fn format_double(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if value.is_nan() {
        return "nan".to_owned();
    }
    // `{:.16e}` rounds to 17 significant digits exactly as printf does; then lay the digits
    // out as %g: fixed notation when -4 <= exponent < 17, else scientific, without trailing
    // zeros.
    let sci = format!("{value:.16e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(24);
    if negative {
        out.push('-');
    }
    if (-4..17).contains(&exponent) {
        if exponent < 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exponent - 1) as usize));
            out.push_str(digits.trim_end_matches('0'));
        } else {
            let split = exponent as usize + 1;
            out.push_str(&digits[..split]);
            let fraction = digits[split..].trim_end_matches('0');
            if !fraction.is_empty() {
                out.push('.');
                out.push_str(fraction);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        let fraction = digits[1..].trim_end_matches('0');
        if !fraction.is_empty() {
            out.push('.');
            out.push_str(fraction);
        }
        out.push_str(&format!(
            "e{}{:02}",
            if exponent < 0 { '-' } else { '+' },
            exponent.abs()
        ));
    }
    out
}

fn push_line(out: &mut Vec<u8>, prefix: u8, body: &[u8]) {
    out.push(prefix);
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

fn push_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    push_line(out, b'$', bytes.len().to_string().as_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// Appends the encoding of `reply` in `protocol` to `out`.
pub fn encode(reply: &Reply, protocol: Protocol, out: &mut Vec<u8>) {
    let resp3 = protocol == Protocol::Resp3;
    match reply {
        Reply::Status(text) => push_line(out, b'+', text.as_bytes()),
        Reply::Error(text) => push_line(out, b'-', text.replace(['\r', '\n'], " ").as_bytes()),
        Reply::Integer(n) => push_line(out, b':', n.to_string().as_bytes()),
        Reply::Bulk(bytes) => push_bulk(out, bytes),
        Reply::Nil if resp3 => out.extend_from_slice(b"_\r\n"),
        Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
        Reply::NilArray if resp3 => out.extend_from_slice(b"_\r\n"),
        Reply::NilArray => out.extend_from_slice(b"*-1\r\n"),
        Reply::Double(value) if resp3 => push_line(out, b',', format_double(*value).as_bytes()),
        Reply::Double(value) => push_bulk(out, format_double(*value).as_bytes()),
        Reply::Boolean(value) if resp3 => push_line(out, b'#', if *value { b"t" } else { b"f" }),
        Reply::Boolean(value) => push_line(out, b':', if *value { b"1" } else { b"0" }),
        Reply::Verbatim(text) if resp3 => {
            push_line(out, b'=', (text.len() + 4).to_string().as_bytes());
            out.extend_from_slice(b"txt:");
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Reply::Verbatim(text) => push_bulk(out, text.as_bytes()),
        Reply::Array(items) => encode_items(out, b'*', items, protocol),
        Reply::Set(items) => encode_items(out, if resp3 { b'~' } else { b'*' }, items, protocol),
        Reply::Push(items) => encode_items(out, if resp3 { b'>' } else { b'*' }, items, protocol),
        Reply::Map(entries) => {
            let (prefix, count) = if resp3 {
                (b'%', entries.len())
            } else {
                (b'*', entries.len() * 2)
            };
            push_line(out, prefix, count.to_string().as_bytes());
            for (key, value) in entries {
                encode(key, protocol, out);
                encode(value, protocol, out);
            }
        }
    }
}

fn encode_items(out: &mut Vec<u8>, prefix: u8, items: &[Reply], protocol: Protocol) {
    push_line(out, prefix, items.len().to_string().as_bytes());
    for item in items {
        encode(item, protocol, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(reply: &Reply, protocol: Protocol) -> String {
        let mut out = Vec::new();
        encode(reply, protocol, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn doubles_format_as_printf_17g() {
        let cases = [
            (0.1, "0.10000000000000001"),
            (1.5, "1.5"),
            (3.0, "3"),
            (-2.25, "-2.25"),
            (1e20, "1e+20"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (123456789.123, "123456789.123"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "4.9406564584124654e-324"),
        ];
        for (value, text) in cases {
            assert_eq!(format_double(value), text, "{value:e}");
        }
    }

    #[test]
    fn resp2_folds_resp3_types() {
        let map = Reply::Map(vec![(Reply::bulk("k"), Reply::Integer(1))]);
        assert_eq!(resp(&map, Protocol::Resp2), "*2\r\n$1\r\nk\r\n:1\r\n");
        assert_eq!(resp(&map, Protocol::Resp3), "%1\r\n$1\r\nk\r\n:1\r\n");
        assert_eq!(resp(&Reply::Nil, Protocol::Resp2), "$-1\r\n");
        assert_eq!(resp(&Reply::NilArray, Protocol::Resp2), "*-1\r\n");
        assert_eq!(resp(&Reply::Nil, Protocol::Resp3), "_\r\n");
        assert_eq!(resp(&Reply::Double(1.5), Protocol::Resp2), "$3\r\n1.5\r\n");
        assert_eq!(resp(&Reply::Double(1.5), Protocol::Resp3), ",1.5\r\n");
        assert_eq!(resp(&Reply::Boolean(true), Protocol::Resp2), ":1\r\n");
        assert_eq!(resp(&Reply::Boolean(false), Protocol::Resp3), "#f\r\n");
        assert_eq!(resp(&Reply::Set(vec![]), Protocol::Resp3), "~0\r\n");
        assert_eq!(
            resp(&Reply::Push(vec![Reply::bulk("m")]), Protocol::Resp3),
            ">1\r\n$1\r\nm\r\n"
        );
        assert_eq!(
            resp(&Reply::Verbatim("a".into()), Protocol::Resp3),
            "=5\r\ntxt:a\r\n"
        );
        assert_eq!(
            resp(&Reply::Verbatim("a".into()), Protocol::Resp2),
            "$1\r\na\r\n"
        );
    }

    #[test]
    fn simple_types_encode_as_redis_does() {
        assert_eq!(resp(&Reply::ok(), Protocol::Resp2), "+OK\r\n");
        assert_eq!(
            resp(&Reply::err("syntax error"), Protocol::Resp2),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            resp(&Reply::Error("ERR a\r\nb".into()), Protocol::Resp2),
            "-ERR a  b\r\n"
        );
        assert_eq!(resp(&Reply::Integer(-3), Protocol::Resp3), ":-3\r\n");
        assert_eq!(resp(&Reply::bulk(""), Protocol::Resp2), "$0\r\n\r\n");
        assert_eq!(
            resp(&Reply::Array(vec![Reply::Nil]), Protocol::Resp2),
            "*1\r\n$-1\r\n"
        );
    }
}
