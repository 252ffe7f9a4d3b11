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
