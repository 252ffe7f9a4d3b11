//! Glob-style pattern matching, as used by `KEYS`, `SCAN ... MATCH` and `PSUBSCRIBE`.
//!
//! # Syntax
//!
//! The pattern language is Redis's:
//!
//! - `*` matches any run of bytes, including none. Consecutive stars act as one.
//! - `?` matches exactly one byte.
//! - `[abc]` matches one byte from the set; `[^abc]` one byte not in it. `[a-z]` is an
//!   inclusive range, and a reversed range such as `[z-a]` means the same as `[a-z]`.
//! - `\x` matches the byte `x` literally, both outside and inside brackets.
//! - Any other byte matches itself. Patterns and subjects are arbitrary bytes: nothing is
//!   assumed to be UTF-8, and a NUL byte is an ordinary byte.
//!
//! Malformed patterns are never an error; they resolve the way Redis resolves them:
//!
//! - A `[` with no closing `]` runs to the end of the pattern (`[ab` means `[ab]`), so a
//!   lone `[` at the end never matches and `[^` matches any one byte.
//! - `[]` is an empty set that never matches, and `[^]` matches any one byte: a `]` right
//!   after `[` or `[^` closes the set rather than being a member.
//! - A range is recognised as soon as a byte is followed by `-` and one more byte, and that
//!   byte may be the `]` meant to close the set: `[a-]` is the range between `]` and `a`, and
//!   the set stays open to the end of the pattern. `\-` is a literal dash.
//! - A `\` as the last byte of the pattern (or of an unclosed set) matches a backslash.
//! - An empty subject matches only the empty pattern. Even `*` does not match it, because
//!   Redis only starts its matching loop when both the pattern and the subject are non-empty.
//!   `KEYS *` and `SCAN ... MATCH *` still list the empty key because Redis skips matching
//!   for the exact pattern `*`; callers that want the same must special-case it too
//!   (`KEYS **` leaves the empty key out, in Redis and here).
//!
//! With `nocase`, bytes are compared after ASCII lowercasing, with two Redis quirks kept: a
//! range's bounds are put in order first and lowercased afterwards, so `[Z-a]` matches
//! nothing (its bounds become `z` and `a`); and an escaped byte inside a set is compared
//! exactly, so `[\A]` does not match `a` although `\A` and `[A]` do.
//!
//! Bytes compare as unsigned numbers, so `[a-\xff]` contains every byte from `a` up. Redis
//! compares C `char`s, which are signed on x86-64: there a range whose bounds straddle
//! `\x7f`/`\x80` selects a different set (`[a-\xff]` becomes `\xff..=a`). We follow the
//! unsigned reading, which is also what Redis does where `char` is unsigned (ARM).
//!
//! Apart from that, the behaviour was checked against redis-server 7.0.15: every pattern of
//! up to four bytes over `ab*?[]^-\` plus 20,000 longer random ones, through `KEYS` over
//! ~1,000 keys, and 20,000 mixed-case patterns through `CONFIG GET` for `nocase`.
//!
//! # Algorithm
//!
//! Every token except `*` consumes exactly one byte of the subject. That makes a single
//! backtracking point enough: the matcher walks pattern and subject together, and when a
//! token fails it returns to the most recent `*`, lets that star swallow one more byte, and
//! resumes just after it. Earlier stars never need to be revisited: whatever a later
//! alignment of an earlier star could achieve, the latest star can absorb instead, because
//! it matches any run. So the worst case is `O(pattern.len() * subject.len())` time and
//! `O(1)` space, with no recursion, so `a*a*a*a*a*a*b` cannot blow up. Redis reaches the
//! same answers by recursing per star and pruning once an inner star has run out of subject.
//!
//! Bracket sets are re-parsed each time they are tried rather than compiled up front, which
//! keeps the matcher allocation-free; the cost is included in the bound above.

/// Reports whether `string` matches the glob `pattern`, comparing ASCII letters
/// case-insensitively when `nocase` is set.
///
/// See the [module documentation](self) for the syntax and for how malformed patterns
/// resolve. Never panics; runs in `O(pattern.len() * string.len())` time.
///
/// ```
/// use kvdb::glob::glob_match;
///
/// assert!(glob_match(b"user:*:name", b"user:42:name", false));
/// assert!(glob_match(b"h[ae]llo", b"HELLO", true));
/// assert!(!glob_match(b"h[^e]llo", b"hello", false));
/// ```
#[must_use]
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    if string.is_empty() {
        // Redis never enters its matching loop for an empty subject.
        return pattern.is_empty();
    }

    let mut p = 0;
    let mut s = 0;
    // The latest star: the pattern index just after it, and the subject index where the
    // rest of the pattern is currently being tried (the star has swallowed `start..that`).
    let mut star: Option<(usize, usize)> = None;

    loop {
        if pattern.get(p) == Some(&b'*') {
            while pattern.get(p) == Some(&b'*') {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
            star = Some((p, s));
            continue;
        }

        match (pattern.get(p), string.get(s)) {
            (None, None) => return true,
            (Some(_), Some(&byte)) => {
                if let Some(next) = match_token(pattern, p, byte, nocase) {
                    p = next;
                    s += 1;
                    continue;
                }
            }
            // Pattern left over with no subject, or subject left over with no pattern.
            _ => {}
        }

        // Mismatch: let the latest star swallow one more byte, or give up.
        match star {
            Some((after_star, tried_at)) if tried_at < string.len() => {
                star = Some((after_star, tried_at + 1));
                p = after_star;
                s = tried_at + 1;
            }
            _ => return false,
        }
    }
}

/// Matches the single-byte token starting at `pattern[p]` (anything but `*`) against
/// `byte`, returning the index of the next token on success.
fn match_token(pattern: &[u8], p: usize, byte: u8, nocase: bool) -> Option<usize> {
    match pattern.get(p)? {
        b'?' => Some(p + 1),
        b'[' => match_set(pattern, p + 1, byte, nocase),
        b'\\' if p + 1 < pattern.len() => {
            bytes_equal(pattern[p + 1], byte, nocase).then_some(p + 2)
        }
        &literal => bytes_equal(literal, byte, nocase).then_some(p + 1),
    }
}

/// Matches the bracket set whose body starts at `pattern[start]` (just after the `[`)
/// against `byte`, returning the index just past the set on success.
///
/// The whole set is scanned even once `byte` is found, because its end is only known then.
fn match_set(pattern: &[u8], start: usize, byte: u8, nocase: bool) -> Option<usize> {
    let mut i = start;
    let negated = pattern.get(i) == Some(&b'^');
    if negated {
        i += 1;
    }

    let mut found = false;
    let end = loop {
        let Some(&current) = pattern.get(i) else {
            // Unclosed set: it extends to the end of the pattern.
            break pattern.len();
        };
        match (current, pattern.get(i + 1), pattern.get(i + 2)) {
            (b'\\', Some(&escaped), _) => {
                // Redis compares an escaped set member exactly, even with `nocase`.
                found |= escaped == byte;
                i += 2;
            }
            (b']', _, _) => break i + 1,
            (low, Some(b'-'), Some(&high)) => {
                found |= in_range(low, high, byte, nocase);
                i += 3;
            }
            (member, _, _) => {
                found |= bytes_equal(member, byte, nocase);
                i += 1;
            }
        }
    };

    (found != negated).then_some(end)
}

/// Compares two bytes, ignoring ASCII case when `nocase` is set.
fn bytes_equal(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// Whether `byte` lies in the inclusive range between `a` and `b`, in either order.
///
/// The bounds are ordered before they are lowercased, as Redis does.
fn in_range(a: u8, b: u8, byte: u8, nocase: bool) -> bool {
    let (mut low, mut high, mut byte) = (a.min(b), a.max(b), byte);
    if nocase {
        low = low.to_ascii_lowercase();
        high = high.to_ascii_lowercase();
        byte = byte.to_ascii_lowercase();
    }
    low <= byte && byte <= high
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn matches(pattern: &str, string: &str) -> bool {
        glob_match(pattern.as_bytes(), string.as_bytes(), false)
    }

    #[test]
    fn literal_pattern_matches_only_itself() {
        assert!(matches("hello", "hello"));
        assert!(!matches("hello", "hell"));
        assert!(!matches("hello", "helloo"));
        assert!(!matches("hello", "Hello"));
    }

    #[test]
    fn empty_pattern_matches_only_empty_string() {
        assert!(matches("", ""));
        assert!(!matches("", "a"));
    }

    #[test]
    fn empty_string_matches_no_non_empty_pattern_not_even_a_star() {
        assert!(!matches("*", ""));
        assert!(!matches("**", ""));
        assert!(!matches("?", ""));
        assert!(!matches("[^a]", ""));
    }

    #[test]
    fn star_matches_any_run_including_none() {
        assert!(matches("*", "a"));
        assert!(matches("*", "anything at all"));
        assert!(matches("a*", "a"));
        assert!(matches("a*", "abc"));
        assert!(matches("*c", "abc"));
        assert!(matches("*c", "c"));
        assert!(matches("a*c", "ac"));
        assert!(matches("a*c", "abbbc"));
        assert!(!matches("a*c", "abcd"));
        assert!(matches("*b*", "abc"));
        assert!(matches("*b*", "b"));
        assert!(!matches("*b*", "ac"));
        assert!(matches("h*llo", "hello"));
        assert!(matches("h*llo", "hllo"));
        assert!(matches("h*llo", "heeeello"));
    }

    #[test]
    fn consecutive_stars_act_as_one() {
        assert!(matches("a**b", "ab"));
        assert!(matches("a***b", "axxb"));
        assert!(matches("***", "x"));
        assert!(matches("a**", "a"));
        assert!(!matches("a**b", "a"));
    }

    #[test]
    fn star_backtracks_to_a_later_occurrence() {
        assert!(matches("*ab", "aab"));
        assert!(matches("*aab", "aaab"));
        assert!(matches("a*b*c", "abbbbc"));
        assert!(matches("a*b*c", "acbc"));
        assert!(matches("*a*b", "xxaxxbxxb"));
        assert!(!matches("*a*b", "xxaxxbxxa"));
        assert!(matches("*?", "a"));
        assert!(!matches("*??", "a"));
        assert!(matches("*?x*?", "axb"));
    }

    #[test]
    fn question_mark_matches_exactly_one_byte() {
        assert!(matches("h?llo", "hello"));
        assert!(matches("h?llo", "hallo"));
        assert!(!matches("h?llo", "hllo"));
        assert!(!matches("h?llo", "heello"));
        assert!(matches("???", "abc"));
        assert!(!matches("???", "ab"));
    }

    #[test]
    fn question_mark_matches_a_single_byte_of_a_multibyte_character() {
        assert!(!matches("?", "é"));
        assert!(matches("??", "é"));
    }

    #[test]
    fn bracket_set_matches_one_listed_byte() {
        assert!(matches("h[ae]llo", "hello"));
        assert!(matches("h[ae]llo", "hallo"));
        assert!(!matches("h[ae]llo", "hillo"));
        assert!(!matches("h[ae]llo", "hllo"));
        assert!(!matches("h[ae]llo", "haello"));
    }

    #[test]
    fn caret_negates_a_bracket_set() {
        assert!(matches("h[^e]llo", "hallo"));
        assert!(matches("h[^e]llo", "hbllo"));
        assert!(!matches("h[^e]llo", "hello"));
        assert!(!matches("h[^e]llo", "hllo"));
        assert!(matches("[^^]", "a"));
        assert!(!matches("[^^]", "^"));
        assert!(matches("[a^]", "^"));
    }

    #[test]
    fn bracket_range_is_inclusive() {
        assert!(matches("h[a-b]llo", "hallo"));
        assert!(matches("h[a-b]llo", "hbllo"));
        assert!(!matches("h[a-b]llo", "hcllo"));
        assert!(matches("[0-9][0-9]", "42"));
        assert!(!matches("[0-9]", "x"));
        assert!(matches("[a-cx-z]", "y"));
        assert!(!matches("[a-cx-z]", "m"));
        assert!(matches("[^a-c]", "d"));
        assert!(!matches("[^a-c]", "b"));
    }

    #[test]
    fn reversed_range_matches_like_the_ordered_one() {
        assert!(matches("[z-a]", "m"));
        assert!(matches("[z-a]", "a"));
        assert!(matches("[z-a]", "z"));
        assert!(!matches("[z-a]", "A"));
        assert!(matches("[9-0]", "5"));
    }

    #[test]
    fn dash_at_the_edge_of_a_set_is_a_literal() {
        assert!(matches("[-a]", "-"));
        assert!(matches("[-a]", "a"));
        assert!(!matches("[-a]", "b"));
        assert!(matches("[a\\-z]", "-"));
        assert!(!matches("[a\\-z]", "m"));
    }

    #[test]
    fn range_can_swallow_the_closing_bracket() {
        // `[a-]` is the range `]`..=`a`, and the set then runs to the end of the pattern.
        assert!(matches("[a-]", "_"));
        assert!(matches("[a-]", "]"));
        assert!(matches("[a-]", "a"));
        assert!(!matches("[a-]", "-"));
        assert!(!matches("[a-]", "b"));
        assert!(!matches("[a-]x", "ax"));
        assert!(matches("[a-]x", "x"));
    }

    #[test]
    fn closing_bracket_first_in_a_set_closes_it() {
        assert!(!matches("[]", "]"));
        assert!(!matches("[]", "a"));
        assert!(!matches("[]]", "]]"));
        assert!(!matches("[]]", "]"));
        assert!(!matches("[]a]", "a"));
        assert!(matches("[^]", "x"));
        assert!(matches("[^]", "]"));
        assert!(matches("[^]]", "a]"));
    }

    #[test]
    fn unclosed_bracket_runs_to_the_end_of_the_pattern() {
        assert!(matches("[abc", "a"));
        assert!(matches("[abc", "c"));
        assert!(!matches("[abc", "d"));
        assert!(!matches("[abc", "ab"));
        assert!(!matches("[abc", "["));
        assert!(matches("x[^abc", "xd"));
        assert!(!matches("x[^abc", "xa"));
    }

    #[test]
    fn lone_bracket_at_the_end_never_matches_and_negated_matches_anything() {
        assert!(!matches("[", "["));
        assert!(!matches("a[", "a["));
        assert!(!matches("a[", "a"));
        assert!(matches("[^", "x"));
        assert!(matches("[^", "["));
        assert!(!matches("[^", "xy"));
    }

    #[test]
    fn backslash_escapes_special_bytes_outside_brackets() {
        assert!(matches("\\*", "*"));
        assert!(!matches("\\*", "a"));
        assert!(matches("\\?", "?"));
        assert!(!matches("\\?", "a"));
        assert!(matches("\\[a]", "[a]"));
        assert!(!matches("\\[a]", "a"));
        assert!(matches("\\\\", "\\"));
        assert!(matches("\\a", "a"));
        assert!(matches("a\\*b*", "a*bcd"));
    }

    #[test]
    fn backslash_escapes_special_bytes_inside_brackets() {
        assert!(matches("[\\]]", "]"));
        assert!(matches("[\\]a]", "a"));
        assert!(matches("[\\^a]", "^"));
        assert!(matches("[\\\\]", "\\"));
        assert!(!matches("[\\\\]", "a"));
        assert!(matches("[^\\]]", "a"));
        assert!(!matches("[^\\]]", "]"));
    }

    #[test]
    fn trailing_backslash_matches_a_backslash() {
        assert!(matches("a\\", "a\\"));
        assert!(!matches("a\\", "a"));
        assert!(matches("*\\", "xyz\\"));
        assert!(matches("[\\", "\\"));
        assert!(!matches("[\\", "a"));
        assert!(matches("[a\\", "\\"));
    }

    #[test]
    fn nocase_folds_ascii_letters() {
        assert!(glob_match(b"HeLLo", b"hello", true));
        assert!(glob_match(b"h*O", b"HELLO", true));
        assert!(glob_match(b"[H]ello", b"hello", true));
        assert!(glob_match(b"[^H]ello", b"jello", true));
        assert!(!glob_match(b"[^H]ello", b"hello", true));
        assert!(glob_match(b"[A-C]", b"b", true));
        assert!(glob_match(b"[a-c]", b"B", true));
        assert!(glob_match(b"\\H", b"h", true));
        assert!(!glob_match(b"HeLLo", b"hello", false));
        assert!(!glob_match("É".as_bytes(), "é".as_bytes(), true));
    }

    #[test]
    fn nocase_does_not_apply_to_escaped_set_members() {
        assert!(glob_match(b"[\\a]", b"a", true));
        assert!(!glob_match(b"[\\A]", b"a", true));
        assert!(glob_match(b"[^\\A]", b"a", true));
        assert!(glob_match(b"\\A", b"a", true));
    }

    #[test]
    fn nocase_range_orders_bounds_before_lowercasing_them() {
        // Without nocase, `[Z-a]` covers `Z[\]^_\`a`. With nocase its bounds become `z`..`a`.
        assert!(glob_match(b"[Z-a]", b"a", false));
        assert!(glob_match(b"[Z-a]", b"_", false));
        assert!(!glob_match(b"[Z-a]", b"a", true));
        assert!(!glob_match(b"[Z-a]", b"_", true));
        assert!(glob_match(b"[z-A]", b"q", true));
    }

    #[test]
    fn bytes_are_matched_without_assuming_utf8() {
        assert!(glob_match(b"\xff*\x00", b"\xff\x80\x00", false));
        assert!(glob_match(b"[\x80-\xff]", b"\xe9", false));
        assert!(!glob_match(b"[\x80-\xff]", b"a", false));
        assert!(glob_match(b"[a-\xff]", b"b", false));
        assert!(glob_match(b"?", b"\x00", false));
        assert!(glob_match(b"a\x00b", b"a\x00b", false));
        assert!(!glob_match(b"a\x00b", b"a", false));
    }

    /// Every key below was stored in redis-server 7.0.15 and each pattern run through `KEYS`;
    /// the lists are what Redis returned. (Pattern `*` alone is special-cased by `KEYS`, so
    /// `**` stands in for it.)
    #[test]
    fn keys_results_match_redis_server() {
        let keys: &[&[u8]] = &[
            b"", b"a", b"b", b"z", b"A", b"-", b"]", b"[", b"^", b"\\", b"_", b"*", b"?", b"ab",
            b"abc", b"a]", b"[a]", b"a\\", b"\xe9", b"hello", b"hallo", b"hllo", b"heeello",
        ];
        let cases: &[(&[u8], &[&[u8]])] = &[
            (
                b"**",
                &[
                    b"*", b"-", b"?", b"A", b"[", b"[a]", b"\\", b"]", b"^", b"_", b"a", b"a\\",
                    b"a]", b"ab", b"abc", b"b", b"hallo", b"heeello", b"hello", b"hllo", b"z",
                    b"\xe9",
                ],
            ),
            (b"a*", &[b"a", b"a\\", b"a]", b"ab", b"abc"]),
            (b"*b*", &[b"ab", b"abc", b"b"]),
            (
                b"?",
                &[
                    b"*", b"-", b"?", b"A", b"[", b"\\", b"]", b"^", b"_", b"a", b"b", b"z",
                    b"\xe9",
                ],
            ),
            (b"??", &[b"a\\", b"a]", b"ab"]),
            (b"h?llo", &[b"hallo", b"hello"]),
            (b"h*llo", &[b"hallo", b"heeello", b"hello", b"hllo"]),
            (b"h[ae]llo", &[b"hallo", b"hello"]),
            (b"h[^e]llo", &[b"hallo"]),
            (b"h[a-b]llo", &[b"hallo"]),
            (b"[z-a]", &[b"a", b"b", b"z"]),
            (b"[a-]", &[b"]", b"^", b"_", b"a"]),
            (b"[-a]", &[b"-", b"a"]),
            (b"[]", &[]),
            (b"[]a]", &[]),
            (
                b"[^]",
                &[
                    b"*", b"-", b"?", b"A", b"[", b"\\", b"]", b"^", b"_", b"a", b"b", b"z",
                    b"\xe9",
                ],
            ),
            (b"[^]]", &[b"a]"]),
            (b"[abc", &[b"a", b"b"]),
            (
                b"[^abc",
                &[
                    b"*", b"-", b"?", b"A", b"[", b"\\", b"]", b"^", b"_", b"z", b"\xe9",
                ],
            ),
            (b"[", &[]),
            (
                b"[^",
                &[
                    b"*", b"-", b"?", b"A", b"[", b"\\", b"]", b"^", b"_", b"a", b"b", b"z",
                    b"\xe9",
                ],
            ),
            (b"a[", &[]),
            (b"\\*", &[b"*"]),
            (b"\\?", &[b"?"]),
            (b"\\[a]", &[b"[a]"]),
            (b"\\a", &[b"a"]),
            (b"a\\", &[b"a\\"]),
            (b"\\", &[b"\\"]),
            (b"[\\]]", &[b"]"]),
            (b"[\\\\]", &[b"\\"]),
            (b"[\\", &[b"\\"]),
            (b"[a\\", &[b"\\", b"a"]),
            (b"[a\\-z]", &[b"-", b"a", b"z"]),
            (b"[\\^]", &[b"^"]),
            (
                b"[^^]",
                &[
                    b"*", b"-", b"?", b"A", b"[", b"\\", b"]", b"_", b"a", b"b", b"z", b"\xe9",
                ],
            ),
            (b"[a-\\]", &[b"\\", b"]", b"^", b"_", b"a"]),
            (b"\xe9", &[b"\xe9"]),
            (b"?\x00", &[]),
        ];
        for &(pattern, expected) in cases {
            let mut ours: Vec<&[u8]> = keys
                .iter()
                .copied()
                .filter(|key| glob_match(pattern, key, false))
                .collect();
            ours.sort_unstable();
            assert_eq!(
                ours,
                expected,
                "pattern {:?}",
                String::from_utf8_lossy(pattern)
            );
        }
    }

    /// Checked against `CONFIG GET` in redis-server 7.0.15, which matches case-insensitively.
    #[test]
    fn nocase_results_match_redis_server() {
        let cases: &[(&[u8], bool)] = &[
            (b"APPEND?NLY", true),
            (b"[z-A]ppendonl?", true),
            (b"[_-a]ppendonl?", true),
            (b"[A-a]ppendonl?", true),
            (b"[Z-a]ppendonl?", false),
            (b"[^A]ppendonl?", false),
            (b"\\Appendonl?", true),
            (b"[\\a]ppendonl?", true),
            (b"[\\A]ppendonl?", false),
            (b"[^\\A]ppendonl?", true),
            (b"[^\\a]ppendonl?", false),
        ];
        for &(pattern, expected) in cases {
            assert_eq!(
                glob_match(pattern, b"appendonly", true),
                expected,
                "pattern {:?}",
                String::from_utf8_lossy(pattern)
            );
        }
    }

    #[test]
    fn pathological_star_patterns_finish_quickly() {
        let pattern = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let subject = vec![b'a'; 10_000];
        let started = std::time::Instant::now();
        assert!(!glob_match(pattern, &subject, false));
        let mut with_b = subject.clone();
        with_b.push(b'b');
        assert!(glob_match(pattern, &with_b, false));
        let stars = "*".repeat(5_000) + "x";
        assert!(!glob_match(stars.as_bytes(), &subject, false));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn malformed_patterns_never_panic() {
        let bytes = [b'*', b'?', b'[', b']', b'^', b'-', b'\\', b'a', b'b'];
        // Every pattern up to four bytes over this alphabet, against a few subjects.
        let mut patterns: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..4 {
            let longer: Vec<Vec<u8>> = patterns
                .iter()
                .filter(|pattern| pattern.len() == patterns.last().map_or(0, Vec::len))
                .flat_map(|pattern| {
                    bytes.iter().map(move |&byte| {
                        let mut next = pattern.clone();
                        next.push(byte);
                        next
                    })
                })
                .collect();
            patterns.extend(longer);
        }
        for pattern in &patterns {
            for subject in [&b""[..], b"a", b"ab", b"]", b"\\", b"-^", b"[ab]"] {
                let _ = glob_match(pattern, subject, false);
                let _ = glob_match(pattern, subject, true);
            }
        }
    }
}
