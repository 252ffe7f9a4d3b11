//! Argument parsing shared by the command families, with Redis's error texts.

use super::Reply;
use crate::types::string::parse_i64;

/// A command's result: the reply, or an error reply.
pub type CmdResult = Result<Reply, Reply>;

/// `ERR syntax error`
pub fn syntax_error() -> Reply {
    Reply::err("syntax error")
}

/// `ERR value is not an integer or out of range`
pub fn not_integer() -> Reply {
    Reply::err("value is not an integer or out of range")
}

/// Parses a 64-bit integer argument.
pub fn int(arg: &[u8]) -> Result<i64, Reply> {
    parse_i64(arg).ok_or_else(not_integer)
}

/// Parses an integer argument that must fit in C's `int` (Redis's getIntFromObjectOrReply,
/// whose range error has its own text).
pub fn int32(arg: &[u8]) -> Result<i32, Reply> {
    let value = int(arg)?;
    i32::try_from(value).map_err(|_| {
        Reply::err(format!(
            "value is out of range, value must between {} and {}",
            i32::MIN,
            i32::MAX
        ))
    })
}

/// Parses a SCAN cursor as Redis does, with C's `strtoul` in base 10: an optional sign (`-n`
/// wraps around to `2^64 - n`), digits, nothing after them. The argument ends at its first NUL
/// byte, as a C string would; no digits at all (the empty cursor) reads as 0, but a sign
/// without digits or a leading space is rejected, and so is a value beyond `u64::MAX`.
pub fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let arg = arg.split(|&b| b == 0).next().unwrap_or_default();
    let (negative, digits) = match arg {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, arg),
    };
    if digits.is_empty() {
        return arg.is_empty().then_some(0);
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// The `[MATCH pattern] [COUNT count]` options of HSCAN, SSCAN and ZSCAN, in any order (the
/// last of each wins): the pattern (`None` for none or `*`) and the count (default 10). A
/// missing value, an unknown option or a count below 1 is `ERR syntax error`, as in Redis.
pub fn scan_options<'a>(options: &[&'a [u8]]) -> Result<(Option<&'a [u8]>, usize), Reply> {
    let mut pattern = None;
    let mut count = 10usize;
    for pair in options.chunks(2) {
        match *pair {
            [option, value] if is(option, "COUNT") => {
                count = usize::try_from(int(value)?)
                    .ok()
                    .filter(|&c| c >= 1)
                    .ok_or_else(syntax_error)?;
            }
            [option, value] if is(option, "MATCH") => {
                pattern = Some(value).filter(|p| *p != b"*");
            }
            _ => return Err(syntax_error()),
        }
    }
    Ok((pattern, count))
}

/// `ERR value is not a valid float`
pub fn not_float() -> Reply {
    Reply::err("value is not a valid float")
}

/// Parses a float argument as Redis's `getDoubleFromObject` does (ZADD scores, ZINCRBY,
/// WEIGHTS...): C's `strtod` over the whole argument, refusing an empty argument, a leading
/// space, trailing bytes, NaN, and a value out of range (overflow to infinity, or underflow to
/// zero, spelled as a finite number). `inf`, `-inf`, `infinity` and hex floats are accepted.
pub fn float(arg: &[u8]) -> Result<f64, Reply> {
    let Some((value, range_error)) = strtod(arg) else {
        return Err(not_float());
    };
    if value.is_nan() || range_error {
        return Err(not_float());
    }
    Ok(value)
}

/// Parses a score-range bound as Redis's `zslParseRange` does: C's `strtod` on the argument as
/// a C string (it ends at the first NUL byte), so leading spaces are skipped, overflow and
/// underflow are accepted (as infinity or zero), and an empty string reads as 0; only a
/// whitespace-only argument, trailing bytes and NaN are refused. `None` if refused.
pub fn lenient_float(arg: &[u8]) -> Option<f64> {
    let c_string = arg.split(|&b| b == 0).next().unwrap_or_default();
    if c_string.is_empty() {
        return Some(0.0);
    }
    let number = match c_string.iter().position(|&b| !is_c_space(b)) {
        Some(start) => &c_string[start..],
        // No digits: strtod converts nothing and leaves its end at the first space.
        None => return None,
    };
    let (value, _) = strtod(number)?;
    (!value.is_nan()).then_some(value)
}

/// C's `isspace` in the "C" locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// C's `strtod` over all of `arg` (no leading space): the value and whether it was out of
/// range (`ERANGE`: overflow to infinity, or a nonzero number underflowing to zero), or `None`
/// if `arg` is not entirely a number.
fn strtod(arg: &[u8]) -> Option<(f64, bool)> {
    let text = std::str::from_utf8(arg).ok()?;
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if unsigned.starts_with(['+', '-']) {
        return None;
    }
    let lower = unsigned.to_ascii_lowercase();
    let magnitude = if lower == "inf" || lower == "infinity" {
        return Some((
            if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            },
            false,
        ));
    } else if lower == "nan" {
        return Some((f64::NAN, false));
    } else if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex)?
    } else {
        // Rust's grammar is strtod's decimal one, minus what was handled above.
        if !unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        unsigned.parse::<f64>().ok()?
    };
    let nonzero_digits = unsigned
        .split(['e', 'E', 'p', 'P'])
        .next()
        .is_some_and(|m| {
            m.bytes()
                .any(|b| b.is_ascii_hexdigit() && b != b'0' && b != b'x' && b != b'X')
        });
    let range_error = magnitude.is_infinite() || (magnitude == 0.0 && nonzero_digits);
    Some((if negative { -magnitude } else { magnitude }, range_error))
}

/// The magnitude of a C hex float after its `0x`: hex digits with an optional point, then an
/// optional binary exponent `p[+-]digits`.
fn parse_hex_float(hex: &str) -> Option<f64> {
    let (mantissa, exponent) = match hex.split_once('p') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (hex, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exponent))
}

/// Case-insensitive comparison of an argument with an option name.
pub fn is(arg: &[u8], name: &str) -> bool {
    arg.eq_ignore_ascii_case(name.as_bytes())
}

/// A lossy text view of an argument, for error messages.
pub fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_follows_redis_get_double_from_object() {
        for (arg, want) in [
            ("1.5", Some(1.5)),
            ("-0", Some(-0.0)),
            ("5.", Some(5.0)),
            (".5", Some(0.5)),
            ("1e3", Some(1000.0)),
            ("+inf", Some(f64::INFINITY)),
            ("-Infinity", Some(f64::NEG_INFINITY)),
            ("0x10", Some(16.0)),
            ("0x1p-2", Some(0.25)),
            ("4e-320", Some(4e-320)),
            ("0e-999", Some(0.0)),
            ("", None),
            (" 1", None),
            ("1 ", None),
            ("nan", None),
            ("1e400", None),
            ("1e-400", None),
            ("1x", None),
            ("0x", None),
            ("--1", None),
        ] {
            assert_eq!(float(arg.as_bytes()).ok(), want, "{arg:?}");
        }
    }

    #[test]
    fn lenient_float_follows_redis_score_ranges() {
        assert_eq!(lenient_float(b""), Some(0.0));
        assert_eq!(lenient_float(b"  2"), Some(2.0));
        assert_eq!(lenient_float(b"1e400"), Some(f64::INFINITY));
        assert_eq!(lenient_float(b"nan"), None);
        assert_eq!(lenient_float(b"2 "), None);
        assert_eq!(lenient_float(b"  "), None);
        assert_eq!(lenient_float(b"1\0abc"), Some(1.0));
        assert_eq!(lenient_float(b"\x0b3"), Some(3.0));
    }

    #[test]
    fn int32_reports_out_of_range_values_with_redis_text() {
        assert_eq!(int32(b"-2147483648"), Ok(i32::MIN));
        assert_eq!(int32(b"x"), Err(not_integer()));
        assert_eq!(
            int32(b"2147483648"),
            Err(Reply::err(
                "value is out of range, value must between -2147483648 and 2147483647"
            ))
        );
    }
}
