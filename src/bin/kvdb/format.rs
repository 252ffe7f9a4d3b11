//! Printing replies the way redis-cli does.
//!
//! redis-cli has two output modes, and scripts depend on both, so each is reproduced byte for
//! byte (checked against redis-cli 7.0):
//!
//! - [`format_tty`], used when stdout is a terminal: every value is labelled with its type,
//!   bulk strings are quoted and escaped, and aggregates are numbered and indented.
//! - [`format_raw`], used when stdout is not a terminal or with `--raw`: values are printed
//!   bare, one per line, and nested aggregates are flattened.
//!
//! Both return the complete output for one reply, including the final newline.
//!
//! # The terminal format
//!
//! ```text
//! 1) "a"                      array elements are numbered `N) `, and the numbers are
//! 2) 1) (integer) 1           right-aligned to the width of the largest one
//!    2) (nil)                 nested elements are indented by that label's width
//! 3) (empty array)
//! ```
//!
//! Sets use `N~ ` labels. Maps use `N# key => value`; a value that needs more than one line
//! starts on the next line, indented, while a one-line value (including a one-element
//! aggregate) stays on the key's line. Bulk strings are printed as redis-cli's `sdscatrepr`
//! does: inside double quotes, with `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b` escaped,
//! other printable ASCII as is, and every other byte as `\xHH` in lowercase hex.
//!
//! # The raw format
//!
//! Bulk strings and statuses are written as their bytes, integers and doubles as numbers,
//! nil as nothing (an empty line at top level), and booleans as `(true)`/`(false)`. Elements
//! of arrays and sets are joined with newlines, recursively, so nesting disappears and an
//! empty aggregate adds an empty line. A map entry is its key and value joined by a space.
//! An error is its text followed by a newline of its own, so a top-level error ends with two
//! newlines, as redis-cli prints it.
//!
//! # Doubles
//!
//! redis-cli prints a RESP3 double exactly as the server sent it, but a [`Reply::Double`] is
//! already an `f64`. It is printed with the fewest digits that read back as the same value
//! (as Redis 7.2 and later send doubles; Redis 7.0 sent 17 significant digits, so `0.1`
//! showed as `0.10000000000000001`) and laid out like C's `%.17g`: `1.5`, `3`, `1e+20`,
//! `1e-05`, `inf`, `-inf`, `nan`.

use std::fmt::Write as _;

use kvdb::command::Reply;

/// Formats `reply` as redis-cli prints it to a terminal, with the trailing newline.
pub fn format_tty(reply: &Reply) -> String {
    let mut out = String::new();
    write_tty(&mut out, reply, "");
    out
}

/// Formats `reply` as redis-cli prints it when stdout is not a terminal (or with `--raw`),
/// with the trailing newline.
pub fn format_raw(reply: &Reply) -> Vec<u8> {
    let mut out = Vec::new();
    write_raw(&mut out, reply);
    out.push(b'\n');
    out
}

/// Appends the terminal form of `reply` to `out`.
///
/// `prefix` is the indentation of the column `reply` starts in. The first line is not
/// indented (the caller has already written a label there); every later line is.
fn write_tty(out: &mut String, reply: &Reply, prefix: &str) {
    match reply {
        Reply::Status(text) => {
            out.push_str(text);
            out.push('\n');
        }
        Reply::Error(text) => {
            out.push_str("(error) ");
            out.push_str(text);
            out.push('\n');
        }
        Reply::Integer(value) => {
            let _ = writeln!(out, "(integer) {value}");
        }
        Reply::Bulk(bytes) => {
            push_quoted(out, bytes);
            out.push('\n');
        }
        Reply::Nil | Reply::NilArray => out.push_str("(nil)\n"),
        Reply::Verbatim(text) => {
            out.push_str(text);
            out.push('\n');
        }
        Reply::Double(value) => {
            let _ = writeln!(out, "(double) {}", format_double(*value));
        }
        Reply::Boolean(value) => out.push_str(if *value { "(true)\n" } else { "(false)\n" }),
        Reply::Array(items) | Reply::Push(items) => {
            write_tty_list(out, items, ')', "(empty array)\n", prefix);
        }
        Reply::Set(items) => write_tty_list(out, items, '~', "(empty set)\n", prefix),
        Reply::Map(entries) => write_tty_map(out, entries, prefix),
    }
}

/// Appends a numbered array or set, each label being the index followed by `marker`.
fn write_tty_list(out: &mut String, items: &[Reply], marker: char, empty: &str, prefix: &str) {
    if items.is_empty() {
        out.push_str(empty);
        return;
    }
    let width = decimal_width(items.len());
    let child_prefix = format!("{prefix}{:width$}", "", width = width + 2);
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push_str(prefix);
        }
        let _ = write!(out, "{:>width$}{marker} ", index + 1);
        write_tty(out, item, &child_prefix);
    }
}

/// Appends a numbered map as `N# key => value` lines.
fn write_tty_map(out: &mut String, entries: &[(Reply, Reply)], prefix: &str) {
    if entries.is_empty() {
        out.push_str("(empty hash)\n");
        return;
    }
    let width = decimal_width(entries.len());
    let child_prefix = format!("{prefix}{:width$}", "", width = width + 2);
    for (index, (key, value)) in entries.iter().enumerate() {
        if index > 0 {
            out.push_str(prefix);
        }
        let _ = write!(out, "{:>width$}# ", index + 1);

        let mut key_text = String::new();
        write_tty(&mut key_text, key, &child_prefix);
        out.push_str(key_text.strip_suffix('\n').unwrap_or(&key_text));
        out.push_str(" => ");

        let mut value_text = String::new();
        write_tty(&mut value_text, value, &child_prefix);
        let single_line = !value_text.trim_end_matches('\n').contains('\n');
        if !single_line {
            out.push('\n');
            out.push_str(&child_prefix);
        }
        out.push_str(&value_text);
    }
}

/// Appends `bytes` in double quotes, escaped as redis-cli's `sdscatrepr` does.
fn push_quoted(out: &mut String, bytes: &[u8]) {
    out.push_str(&kvdb::check::quote(bytes));
}

/// Appends the raw form of `reply` to `out`, without the final newline.
fn write_raw(out: &mut Vec<u8>, reply: &Reply) {
    match reply {
        Reply::Status(text) => out.extend_from_slice(text.as_bytes()),
        Reply::Error(text) => {
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
        }
        Reply::Integer(value) => out.extend_from_slice(value.to_string().as_bytes()),
        Reply::Bulk(bytes) => out.extend_from_slice(bytes),
        Reply::Nil | Reply::NilArray => {}
        Reply::Verbatim(text) => out.extend_from_slice(text.as_bytes()),
        Reply::Double(value) => out.extend_from_slice(format_double(*value).as_bytes()),
        Reply::Boolean(value) => {
            out.extend_from_slice(if *value { b"(true)" } else { b"(false)" });
        }
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b'\n');
                }
                write_raw(out, item);
            }
        }
        Reply::Map(entries) => {
            for (index, (key, value)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push(b'\n');
                }
                write_raw(out, key);
                out.push(b' ');
                write_raw(out, value);
            }
        }
    }
}

/// Formats a double with the shortest round-trip digits, laid out like C's `%.17g`.
fn format_double(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }

    // `{:e}` gives the shortest round-trip digits: "1.5e0", "1e20", "1.2345e-7".
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();

    let mut out = String::new();
    if value.is_sign_negative() {
        out.push('-');
    }
    // `%g` switches to exponent notation below 1e-4 and at or above 10^precision.
    if !(-4..17).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.unsigned_abs());
    } else if exponent < 0 {
        out.push_str("0.");
        for _ in 0..exponent.unsigned_abs() - 1 {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let integer_len = usize::try_from(exponent).unwrap_or(0) + 1;
        if digits.len() <= integer_len {
            out.push_str(&digits);
            for _ in digits.len()..integer_len {
                out.push('0');
            }
        } else {
            let (integer, fraction) = digits.split_at(integer_len);
            out.push_str(integer);
            out.push('.');
            out.push_str(fraction);
        }
    }
    out
}

/// The number of decimal digits in `n`.
fn decimal_width(n: usize) -> usize {
    n.to_string().len()
}

#[cfg(test)]
mod tests {
    use kvdb::command::Reply;

    use super::{format_double, format_raw, format_tty};

    fn bulk(text: &str) -> Reply {
        Reply::bulk(text)
    }

    fn raw(reply: &Reply) -> String {
        String::from_utf8_lossy(&format_raw(reply)).into_owned()
    }

    #[test]
    fn status_prints_bare() {
        assert_eq!(format_tty(&Reply::ok()), "OK\n");
        assert_eq!(raw(&Reply::ok()), "OK\n");
    }

    #[test]
    fn error_is_labelled_in_tty_and_followed_by_a_blank_line_in_raw() {
        let reply = Reply::err("syntax error");
        assert_eq!(format_tty(&reply), "(error) ERR syntax error\n");
        assert_eq!(raw(&reply), "ERR syntax error\n\n");
    }

    #[test]
    fn integer_is_labelled_in_tty_and_bare_in_raw() {
        assert_eq!(format_tty(&Reply::Integer(5)), "(integer) 5\n");
        assert_eq!(format_tty(&Reply::Integer(-12)), "(integer) -12\n");
        assert_eq!(raw(&Reply::Integer(i64::MIN)), "-9223372036854775808\n");
    }

    #[test]
    fn nil_is_labelled_in_tty_and_an_empty_line_in_raw() {
        assert_eq!(format_tty(&Reply::Nil), "(nil)\n");
        assert_eq!(raw(&Reply::Nil), "\n");
    }

    #[test]
    fn bulk_is_quoted_in_tty_and_raw_bytes_in_raw() {
        assert_eq!(format_tty(&bulk("hello")), "\"hello\"\n");
        assert_eq!(format_tty(&bulk("")), "\"\"\n");
        assert_eq!(format_raw(&Reply::bulk(b"a\nb\xff")), b"a\nb\xff\n");
    }

    #[test]
    fn bulk_escapes_match_redis_cli() {
        // Observed: SET k "a\nb\tc\x01\x7f\xe9\"\\ q" then GET k in a terminal.
        let reply = Reply::bulk(b"a\nb\tc\x01\x7f\xe9\"\\ q");
        assert_eq!(
            format_tty(&reply),
            "\"a\\nb\\tc\\x01\\x7f\\xe9\\\"\\\\ q\"\n"
        );
        assert_eq!(
            format_tty(&Reply::bulk(b"\r\x07\x08\x00~")),
            "\"\\r\\a\\b\\x00~\"\n"
        );
        assert_eq!(format_tty(&Reply::bulk("é")), "\"\\xc3\\xa9\"\n");
    }

    #[test]
    fn double_is_labelled_in_tty_and_bare_in_raw() {
        assert_eq!(format_tty(&Reply::Double(1.5)), "(double) 1.5\n");
        assert_eq!(raw(&Reply::Double(1.5)), "1.5\n");
        assert_eq!(format_tty(&Reply::Double(f64::INFINITY)), "(double) inf\n");
    }

    #[test]
    fn double_uses_shortest_digits_in_percent_g_layout() {
        assert_eq!(format_double(0.1), "0.1");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(-2.5), "-2.5");
        assert_eq!(format_double(0.0), "0");
        assert_eq!(format_double(-0.0), "-0");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(1e16), "10000000000000000");
        assert_eq!(format_double(1.5e17), "1.5e+17");
        assert_eq!(format_double(123_456.789), "123456.789");
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(0.00012), "0.00012");
        assert_eq!(format_double(0.00001), "1e-05");
        assert_eq!(format_double(-1.25e-300), "-1.25e-300");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_double(f64::NAN), "nan");
    }

    #[test]
    fn boolean_prints_in_parentheses_in_both_modes() {
        assert_eq!(format_tty(&Reply::Boolean(true)), "(true)\n");
        assert_eq!(format_tty(&Reply::Boolean(false)), "(false)\n");
        assert_eq!(raw(&Reply::Boolean(true)), "(true)\n");
        assert_eq!(raw(&Reply::Boolean(false)), "(false)\n");
    }

    #[test]
    fn empty_aggregates_have_their_own_labels() {
        assert_eq!(format_tty(&Reply::Array(vec![])), "(empty array)\n");
        assert_eq!(format_tty(&Reply::Set(vec![])), "(empty set)\n");
        assert_eq!(format_tty(&Reply::Map(vec![])), "(empty hash)\n");
        assert_eq!(raw(&Reply::Array(vec![])), "\n");
        assert_eq!(raw(&Reply::Map(vec![])), "\n");
    }

    #[test]
    fn array_elements_are_numbered() {
        let reply = Reply::Array(vec![bulk("a"), Reply::Integer(2), Reply::Nil]);
        assert_eq!(format_tty(&reply), "1) \"a\"\n2) (integer) 2\n3) (nil)\n");
        assert_eq!(raw(&reply), "a\n2\n\n");
    }

    #[test]
    fn array_numbers_are_right_aligned() {
        let reply = Reply::Array((1..=11).map(Reply::Integer).collect());
        let tty = format_tty(&reply);
        assert!(tty.starts_with(" 1) (integer) 1\n 2) (integer) 2\n"));
        assert!(tty.ends_with(" 9) (integer) 9\n10) (integer) 10\n11) (integer) 11\n"));
    }

    #[test]
    fn nested_arrays_are_indented_by_the_label_width() {
        // Observed: EVAL "return {1,{2,{'a','b'},{}},{},'x',{{{'deep'}}}}" 0
        let reply = Reply::Array(vec![
            Reply::Integer(1),
            Reply::Array(vec![
                Reply::Integer(2),
                Reply::Array(vec![bulk("a"), bulk("b")]),
                Reply::Array(vec![]),
            ]),
            Reply::Array(vec![]),
            bulk("x"),
            Reply::Array(vec![Reply::Array(vec![Reply::Array(vec![bulk("deep")])])]),
        ]);
        assert_eq!(
            format_tty(&reply),
            "1) (integer) 1\n\
             2) 1) (integer) 2\n   \
                2) 1) \"a\"\n      \
                   2) \"b\"\n   \
                3) (empty array)\n\
             3) (empty array)\n\
             4) \"x\"\n\
             5) 1) 1) 1) \"deep\"\n"
        );
        assert_eq!(raw(&reply), "1\n2\na\nb\n\n\nx\ndeep\n");
    }

    #[test]
    fn nested_array_indent_follows_a_wide_label() {
        // Observed: EVAL "return {1,...,9,{1,...,10,{'a','b'}},{}}" 0
        let mut inner: Vec<Reply> = (1..=10).map(Reply::Integer).collect();
        inner.push(Reply::Array(vec![bulk("a"), bulk("b")]));
        let mut outer: Vec<Reply> = (1..=9).map(Reply::Integer).collect();
        outer.push(Reply::Array(inner));
        outer.push(Reply::Array(vec![]));
        let tty = format_tty(&Reply::Array(outer));
        let expected_tail = "10)  1) (integer) 1\n     2) (integer) 2\n     3) (integer) 3\n     \
             4) (integer) 4\n     5) (integer) 5\n     6) (integer) 6\n     \
             7) (integer) 7\n     8) (integer) 8\n     9) (integer) 9\n    \
             10) (integer) 10\n    11) 1) \"a\"\n        2) \"b\"\n11) (empty array)\n";
        assert!(tty.ends_with(expected_tail), "{tty}");
    }

    #[test]
    fn errors_nested_in_arrays_keep_their_own_newline_in_raw() {
        let reply = Reply::Array(vec![
            Reply::Integer(1),
            Reply::Error("ERR x".to_owned()),
            Reply::Integer(2),
        ]);
        assert_eq!(
            format_tty(&reply),
            "1) (integer) 1\n2) (error) ERR x\n3) (integer) 2\n"
        );
        assert_eq!(raw(&reply), "1\nERR x\n\n2\n");
    }

    #[test]
    fn set_elements_are_labelled_with_a_tilde() {
        let reply = Reply::Array(vec![
            Reply::Integer(5),
            Reply::Set(vec![bulk("q"), bulk("r")]),
            Reply::Integer(6),
        ]);
        assert_eq!(
            format_tty(&reply),
            "1) (integer) 5\n2) 1~ \"q\"\n   2~ \"r\"\n3) (integer) 6\n"
        );
        assert_eq!(raw(&reply), "5\nq\nr\n6\n");
    }

    #[test]
    fn map_entries_print_key_arrow_value() {
        let reply = Reply::Map(vec![
            (bulk("a"), Reply::Double(2.5)),
            (bulk("c"), Reply::Boolean(false)),
            (bulk("b"), Reply::Boolean(true)),
        ]);
        assert_eq!(
            format_tty(&reply),
            "1# \"a\" => (double) 2.5\n2# \"c\" => (false)\n3# \"b\" => (true)\n"
        );
        assert_eq!(raw(&reply), "a 2.5\nc (false)\nb (true)\n");
    }

    #[test]
    fn multi_line_map_value_starts_on_the_next_line() {
        let reply = Reply::Map(vec![
            (bulk("a"), Reply::Integer(1)),
            (
                bulk("b"),
                Reply::Array(vec![Reply::Integer(1), Reply::Integer(2)]),
            ),
        ]);
        assert_eq!(
            format_tty(&reply),
            "1# \"a\" => (integer) 1\n2# \"b\" => \n   1) (integer) 1\n   2) (integer) 2\n"
        );
        assert_eq!(raw(&reply), "a 1\nb 1\n2\n");
    }

    #[test]
    fn single_line_map_values_stay_on_the_key_line() {
        let one = |value: Reply| format_tty(&Reply::Map(vec![(bulk("a"), value)]));
        assert_eq!(
            one(Reply::Array(vec![Reply::Integer(7)])),
            "1# \"a\" => 1) (integer) 7\n"
        );
        assert_eq!(
            one(Reply::Map(vec![(bulk("x"), Reply::Integer(1))])),
            "1# \"a\" => 1# \"x\" => (integer) 1\n"
        );
        assert_eq!(one(Reply::Set(vec![bulk("q")])), "1# \"a\" => 1~ \"q\"\n");
        assert_eq!(one(Reply::Array(vec![])), "1# \"a\" => (empty array)\n");
        assert_eq!(one(Reply::Map(vec![])), "1# \"a\" => (empty hash)\n");
        assert_eq!(one(bulk("x\nb")), "1# \"a\" => \"x\\nb\"\n");
        assert_eq!(one(Reply::err("x")), "1# \"a\" => (error) ERR x\n");
    }

    #[test]
    fn one_element_aggregate_spanning_lines_starts_on_the_next_line() {
        let reply = Reply::Map(vec![(
            bulk("a"),
            Reply::Array(vec![Reply::Array(vec![
                Reply::Integer(7),
                Reply::Integer(8),
            ])]),
        )]);
        assert_eq!(
            format_tty(&reply),
            "1# \"a\" => \n   1) 1) (integer) 7\n      2) (integer) 8\n"
        );
        assert_eq!(raw(&reply), "a 7\n8\n");
    }

    #[test]
    fn nested_maps_indent_by_the_label_width() {
        let reply = Reply::Map(vec![(
            bulk("a"),
            Reply::Map(vec![
                (
                    bulk("y"),
                    Reply::Array(vec![Reply::Integer(1), Reply::Integer(2)]),
                ),
                (bulk("x"), Reply::Integer(1)),
            ]),
        )]);
        assert_eq!(
            format_tty(&reply),
            "1# \"a\" => \n   1# \"y\" => \n      1) (integer) 1\n      2) (integer) 2\n   \
             2# \"x\" => (integer) 1\n"
        );
        assert_eq!(raw(&reply), "a y 1\n2\nx 1\n");
    }

    #[test]
    fn map_in_an_array_continues_at_the_element_indent() {
        let reply = Reply::Array(vec![
            Reply::Integer(1),
            Reply::Map(vec![
                (bulk("a"), Reply::Integer(1)),
                (
                    bulk("b"),
                    Reply::Array(vec![Reply::Integer(1), Reply::Integer(2)]),
                ),
            ]),
            Reply::Set(vec![bulk("z")]),
        ]);
        assert_eq!(
            format_tty(&reply),
            "1) (integer) 1\n2) 1# \"a\" => (integer) 1\n   2# \"b\" => \n      \
             1) (integer) 1\n      2) (integer) 2\n3) 1~ \"z\"\n"
        );
        assert_eq!(raw(&reply), "1\na 1\nb 1\n2\nz\n");
    }

    #[test]
    fn map_labels_are_right_aligned() {
        let mut entries: Vec<(Reply, Reply)> =
            (1..=9).map(|n| (bulk("k"), Reply::Integer(n))).collect();
        entries.push((
            bulk("k"),
            Reply::Array(vec![Reply::Integer(1), Reply::Integer(2)]),
        ));
        let tty = format_tty(&Reply::Map(entries));
        assert!(tty.starts_with(" 1# \"k\" => (integer) 1\n"));
        assert!(tty.ends_with("10# \"k\" => \n    1) (integer) 1\n    2) (integer) 2\n"));
    }
}
