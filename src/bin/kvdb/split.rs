//! Splitting a typed command line into arguments, the way redis-cli does.
//!
//! redis-cli users quote arguments by habit (`SET "my key" 'it''s'`, `SET k "\x00\xff"`), so
//! the REPL must split lines exactly as redis-cli does, down to its corner cases:
//!
//! - Arguments are separated by runs of whitespace. Space, tab, CR and LF end an argument;
//!   vertical tab and form feed are skipped between arguments but are ordinary bytes inside
//!   one, so `a\vb` (with a real vertical tab) is a single argument.
//! - A `"` or `'` opens a quoted section, also in the middle of an argument: `foo"bar baz"`
//!   is the one argument `foobar baz`. The closing quote must be followed by whitespace or
//!   the end of the line, and it always ends the argument: `"foo"bar` is an error.
//! - Inside double quotes, `\n \r \t \b \a` are control characters, `\xHH` (exactly two
//!   hex digits, either case) is a byte, and a backslash before any other character yields
//!   that character, so `\\` and `\"` work and `\q` is `q`, `\x4g` is `x4g`.
//! - Inside single quotes only `\'` is an escape; every other backslash is literal.
//! - Outside quotes a backslash is an ordinary byte.
//! - A line that ends inside quotes is an error.
//! - The line ends at the first NUL character, as redis-cli's C strings do.
//!
//! Arguments are bytes rather than strings because `\xHH` can produce invalid UTF-8.
//! redis-cli reports every error as `Invalid argument(s)`; [`SplitError`] says which
//! rule was broken, and the REPL may print either.

/// Why a line could not be split into arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// The line ended inside a quoted section.
    #[error("unbalanced quotes")]
    UnbalancedQuotes,
    /// A closing quote was followed by something other than whitespace.
    #[error("closing quote must be followed by a space or the end of the line")]
    TextAfterClosingQuote,
}

/// Splits `line` into arguments following redis-cli's quoting rules.
///
/// Returns an empty vector for a blank line.
///
/// # Errors
///
/// [`SplitError::UnbalancedQuotes`] if a quote is never closed, and
/// [`SplitError::TextAfterClosingQuote`] if a closing quote is directly followed by
/// anything but whitespace.
pub fn split_args(line: &str) -> Result<Vec<Vec<u8>>, SplitError> {
    let line = line.as_bytes();
    let line = match line.iter().position(|&byte| byte == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };

    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while line.get(i).is_some_and(|&byte| is_space(byte)) {
            i += 1;
        }
        if i == line.len() {
            return Ok(args);
        }

        let mut arg = Vec::new();
        while let Some(&byte) = line.get(i) {
            match byte {
                b' ' | b'\t' | b'\n' | b'\r' => break,
                b'"' => {
                    i = read_double_quoted(line, i + 1, &mut arg)?;
                    break;
                }
                b'\'' => {
                    i = read_single_quoted(line, i + 1, &mut arg)?;
                    break;
                }
                _ => {
                    arg.push(byte);
                    i += 1;
                }
            }
        }
        args.push(arg);
    }
}

/// Appends the body of a double-quoted section starting at `line[start]` (just after the
/// opening quote) to `arg`, and returns the index just past the closing quote.
fn read_double_quoted(line: &[u8], start: usize, arg: &mut Vec<u8>) -> Result<usize, SplitError> {
    let mut i = start;
    loop {
        match (line.get(i), line.get(i + 1)) {
            (None, _) => return Err(SplitError::UnbalancedQuotes),
            (Some(b'\\'), Some(&escaped)) => {
                if escaped == b'x' {
                    let high = line.get(i + 2).copied().and_then(hex_value);
                    let low = line.get(i + 3).copied().and_then(hex_value);
                    if let (Some(high), Some(low)) = (high, low) {
                        arg.push(high << 4 | low);
                        i += 4;
                        continue;
                    }
                }
                arg.push(match escaped {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 0x08,
                    b'a' => 0x07,
                    other => other,
                });
                i += 2;
            }
            (Some(b'"'), next) => return close_quote(next, i),
            (Some(&byte), _) => {
                arg.push(byte);
                i += 1;
            }
        }
    }
}

/// Appends the body of a single-quoted section starting at `line[start]` (just after the
/// opening quote) to `arg`, and returns the index just past the closing quote.
fn read_single_quoted(line: &[u8], start: usize, arg: &mut Vec<u8>) -> Result<usize, SplitError> {
    let mut i = start;
    loop {
        match (line.get(i), line.get(i + 1)) {
            (None, _) => return Err(SplitError::UnbalancedQuotes),
            (Some(b'\\'), Some(b'\'')) => {
                arg.push(b'\'');
                i += 2;
            }
            (Some(b'\''), next) => return close_quote(next, i),
            (Some(&byte), _) => {
                arg.push(byte);
                i += 1;
            }
        }
    }
}

/// Checks the byte after a closing quote at index `quote`, and returns the index after it.
fn close_quote(next: Option<&u8>, quote: usize) -> Result<usize, SplitError> {
    match next {
        Some(&byte) if !is_space(byte) => Err(SplitError::TextAfterClosingQuote),
        _ => Ok(quote + 1),
    }
}

/// C's `isspace` in the C locale: space, `\t`, `\n`, `\v`, `\f` and `\r`.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The value of an ASCII hex digit of either case.
fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{SplitError, split_args};

    fn split(line: &str) -> Vec<Vec<u8>> {
        match split_args(line) {
            Ok(args) => args,
            Err(error) => panic!("{line:?} failed to split: {error}"),
        }
    }

    fn args(expected: &[&[u8]]) -> Vec<Vec<u8>> {
        expected.iter().map(|arg| arg.to_vec()).collect()
    }

    #[test]
    fn blank_line_has_no_arguments() {
        assert_eq!(split(""), args(&[]));
        assert_eq!(split("   \t  "), args(&[]));
        assert_eq!(split("\x0b\x0c\r\n"), args(&[]));
    }

    #[test]
    fn whitespace_separates_arguments() {
        assert_eq!(split("set key value"), args(&[b"set", b"key", b"value"]));
        assert_eq!(split("  get \t key  \r\n"), args(&[b"get", b"key"]));
    }

    #[test]
    fn vertical_tab_and_form_feed_separate_only_between_arguments() {
        assert_eq!(split("\x0bget"), args(&[b"get"]));
        assert_eq!(split("a \x0cb"), args(&[b"a", b"b"]));
        assert_eq!(split("a\x0bb"), args(&[b"a\x0bb"]));
        assert_eq!(split("a\x0cb"), args(&[b"a\x0cb"]));
    }

    #[test]
    fn double_quotes_group_words() {
        assert_eq!(split(r#"set "my key" v"#), args(&[b"set", b"my key", b"v"]));
        assert_eq!(split(r#""""#), args(&[b""]));
        assert_eq!(split(r#"a "" b"#), args(&[b"a", b"", b"b"]));
    }

    #[test]
    fn double_quotes_support_backslash_escapes() {
        assert_eq!(split(r#""\n\r\t\b\a\\\"""#), args(&[b"\n\r\t\x08\x07\\\""]));
    }

    #[test]
    fn unknown_escape_in_double_quotes_yields_the_character() {
        assert_eq!(split(r#""\q\'\ ""#), args(&[b"q' "]));
        assert_eq!(split(r#""\X41""#), args(&[b"X41"]));
    }

    #[test]
    fn hex_escape_produces_any_byte() {
        assert_eq!(split(r#""\x41\x7a\xfF\x00""#), args(&[b"Az\xff\x00"]));
    }

    #[test]
    fn hex_escape_without_two_hex_digits_yields_x() {
        assert_eq!(split(r#""\x""#), args(&[b"x"]));
        assert_eq!(split(r#""\xA""#), args(&[b"xA"]));
        assert_eq!(split(r#""\x4g""#), args(&[b"x4g"]));
    }

    #[test]
    fn single_quotes_only_escape_a_single_quote() {
        assert_eq!(split(r"'it\'s'"), args(&[b"it's"]));
        assert_eq!(split(r#"'a\nb\x41 "c"'"#), args(&[br#"a\nb\x41 "c""#]));
        assert_eq!(split(r"''"), args(&[b""]));
    }

    #[test]
    fn backslash_outside_quotes_is_literal() {
        assert_eq!(split(r"a\x41 b\n"), args(&[br"a\x41", br"b\n"]));
    }

    #[test]
    fn quote_inside_an_argument_opens_a_quoted_section() {
        assert_eq!(split(r#"foo"bar baz""#), args(&[b"foobar baz"]));
        assert_eq!(split(r"x'a b' y"), args(&[b"xa b", b"y"]));
        assert_eq!(split(r#"x"\xff""#), args(&[b"x\xff"]));
    }

    #[test]
    fn closing_quote_followed_by_text_is_an_error() {
        assert_eq!(
            split_args(r#""foo"bar"#),
            Err(SplitError::TextAfterClosingQuote)
        );
        assert_eq!(split_args(r"'x'y"), Err(SplitError::TextAfterClosingQuote));
        assert_eq!(
            split_args(r#"foo"bar baz"qux"#),
            Err(SplitError::TextAfterClosingQuote)
        );
        assert_eq!(
            split_args(r#""a""b""#),
            Err(SplitError::TextAfterClosingQuote)
        );
    }

    #[test]
    fn closing_quote_may_be_followed_by_any_whitespace() {
        assert_eq!(split("\"a\"\x0bb"), args(&[b"a", b"b"]));
        assert_eq!(split("'a'\x0cb"), args(&[b"a", b"b"]));
        assert_eq!(split("\"a\"\tb"), args(&[b"a", b"b"]));
    }

    #[test]
    fn unbalanced_quotes_are_an_error() {
        assert_eq!(
            split_args(r#"echo "abc"#),
            Err(SplitError::UnbalancedQuotes)
        );
        assert_eq!(split_args(r"echo 'abc"), Err(SplitError::UnbalancedQuotes));
        assert_eq!(split_args(r#""a\""#), Err(SplitError::UnbalancedQuotes));
        assert_eq!(split_args(r"'a\'"), Err(SplitError::UnbalancedQuotes));
        assert_eq!(split_args(r#""abc\"#), Err(SplitError::UnbalancedQuotes));
        assert_eq!(split_args(r"'\\'"), Err(SplitError::UnbalancedQuotes));
        assert_eq!(split_args("\""), Err(SplitError::UnbalancedQuotes));
    }

    #[test]
    fn non_ascii_text_passes_through_unchanged() {
        assert_eq!(
            split("set clé 'värde'"),
            args(&["set".as_bytes(), "clé".as_bytes(), "värde".as_bytes()])
        );
    }

    #[test]
    fn line_ends_at_the_first_nul() {
        assert_eq!(split("echo a\0b c"), args(&[b"echo", b"a"]));
        assert_eq!(split_args("\"a\0\""), Err(SplitError::UnbalancedQuotes));
    }
}
