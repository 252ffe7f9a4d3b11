//! COMMAND DOCS `arguments` from syntax lines in the notation of Redis's documentation:
//! `SET key value [NX | XX] [EX seconds | KEEPTTL]`, where `[...]` is optional, `<a | b>` is
//! one of, `x [x ...]` repeats, and an upper-case word is a literal token. A token followed by
//! the rest of a bracket introduces it (`EX seconds` is `seconds` with token `EX`), as Redis's
//! own command descriptions model it, so that redis-cli renders the same hints from them.

use super::{pair, statuses};
use crate::resp::Reply;

/// One argument of a command, as COMMAND DOCS describes it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Argument {
    name: String,
    kind: ArgKind,
    /// The literal word that introduces it (`EX` before `seconds`).
    token: Option<String>,
    optional: bool,
    multiple: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum ArgKind {
    /// A value: Redis's type name (`key`, `string`, `integer`, `pattern`, `unix-time`).
    Value(&'static str),
    /// A literal word alone (`NX`): the token is the argument.
    PureToken,
    /// Exactly one of these.
    OneOf(Vec<Argument>),
    /// All of these, in order.
    Block(Vec<Argument>),
}

impl Argument {
    pub(super) fn to_reply(&self) -> Reply {
        let (kind, children) = match &self.kind {
            ArgKind::Value(kind) => (*kind, None),
            ArgKind::PureToken => ("pure-token", None),
            ArgKind::OneOf(args) => ("oneof", Some(args)),
            ArgKind::Block(args) => ("block", Some(args)),
        };
        let mut fields = vec![
            pair("name", Reply::bulk(&self.name)),
            pair("type", Reply::bulk(kind)),
        ];
        if let Some(token) = &self.token {
            fields.push(pair("token", Reply::bulk(token)));
        }
        let flags: Vec<&str> = [("optional", self.optional), ("multiple", self.multiple)]
            .iter()
            .filter(|(_, on)| *on)
            .map(|(flag, _)| *flag)
            .collect();
        if !flags.is_empty() {
            fields.push(pair("flags", statuses(&flags)));
        }
        if let Some(children) = children {
            fields.push(pair(
                "arguments",
                Reply::Array(children.iter().map(Argument::to_reply).collect()),
            ));
        }
        Reply::Map(fields)
    }

    fn is_pure_token(&self) -> bool {
        self.kind == ArgKind::PureToken && !self.optional && !self.multiple
    }
}

/// Redis's argument type for a placeholder name.
fn value_type(name: &str) -> &'static str {
    match name {
        _ if name.contains("key") || matches!(name, "source" | "destination") => "key",
        "pattern" => "pattern",
        _ if name.starts_with("unix-time") => "unix-time",
        "seconds" | "milliseconds" | "count" | "offset" | "start" | "end" | "increment"
        | "decrement" | "index" | "db" | "destination-db" | "cursor" | "numreplicas"
        | "timeout" | "protover" | "client-id" => "integer",
        _ => "string",
    }
}

/// Parses a syntax line in the notation of Redis's documentation (`SET key value [NX | XX]
/// [EX seconds | KEEPTTL]`: `[...]` optional, `<a | b>` one of, `x [x ...]` repeated, upper
/// case a literal token) into the arguments after the first word. `None` if it does not
/// parse (COMMAND DOCS then leaves `arguments` out).
pub(super) fn parse_syntax(syntax: &str) -> Option<Vec<Argument>> {
    let spaced = syntax
        .replace('[', " [ ")
        .replace(']', " ] ")
        .replace('<', " < ")
        .replace('>', " > ")
        .replace('|', " | ");
    let words: Vec<&str> = spaced.split_whitespace().skip(1).collect();
    let mut pos = 0;
    let args = parse_sequence(&words, &mut pos)?;
    (pos == words.len()).then_some(args)
}

/// Arguments up to the next `]`, `>` or `|` (not consumed).
fn parse_sequence(words: &[&str], pos: &mut usize) -> Option<Vec<Argument>> {
    let mut seq: Vec<Argument> = Vec::new();
    while let Some(&word) = words.get(*pos) {
        match word {
            "]" | ">" | "|" => break,
            "[" | "<" => {
                *pos += 1;
                let close = if word == "[" { "]" } else { ">" };
                // `[x ...]` after `x`: the preceding arguments repeat.
                let group_start = *pos;
                let mut alternatives = vec![parse_sequence(words, pos)?];
                while words.get(*pos) == Some(&"|") {
                    *pos += 1;
                    alternatives.push(parse_sequence(words, pos)?);
                }
                if words.get(*pos) != Some(&close) {
                    return None;
                }
                *pos += 1;
                if word == "[" && words.get(*pos - 2) == Some(&"...") {
                    let repeated = (*pos - 2 - group_start).max(1);
                    let at = seq.len().checked_sub(repeated)?;
                    let mut last: Vec<Argument> = seq.split_off(at);
                    let mut arg = if last.len() == 1 {
                        last.pop()?
                    } else {
                        block(last)
                    };
                    arg.multiple = true;
                    seq.push(arg);
                    continue;
                }
                let mut arg = if alternatives.len() == 1 {
                    group(alternatives.pop()?)?
                } else {
                    let choices = alternatives
                        .into_iter()
                        .map(group)
                        .collect::<Option<Vec<_>>>()?;
                    let name = choices
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join("-");
                    Argument {
                        name,
                        kind: ArgKind::OneOf(choices),
                        token: None,
                        optional: false,
                        multiple: false,
                    }
                };
                arg.optional |= word == "[";
                seq.push(arg);
            }
            "..." => *pos += 1,
            _ => {
                *pos += 1;
                let literal = word.bytes().any(|b| b.is_ascii_alphabetic())
                    && !word.bytes().any(|b| b.is_ascii_lowercase());
                seq.push(Argument {
                    name: word.to_ascii_lowercase(),
                    kind: if literal {
                        ArgKind::PureToken
                    } else {
                        ArgKind::Value(value_type(word))
                    },
                    token: literal.then(|| word.to_owned()),
                    optional: false,
                    multiple: false,
                });
            }
        }
    }
    Some(seq)
}

/// Several arguments in order, as one.
fn block(args: Vec<Argument>) -> Argument {
    Argument {
        name: args
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join("-"),
        kind: ArgKind::Block(args),
        token: None,
        optional: false,
        multiple: false,
    }
}

/// The contents of a bracket as one argument: a literal word followed by the rest becomes
/// that rest introduced by the token (`EX seconds`, `AUTH username password`).
fn group(mut seq: Vec<Argument>) -> Option<Argument> {
    let token_first =
        seq.len() >= 2 && seq[0].is_pure_token() && seq[1..].iter().all(|a| a.token.is_none());
    if token_first {
        let token = seq.remove(0).token;
        let mut arg = if seq.len() == 1 {
            seq.pop()?
        } else {
            block(seq)
        };
        arg.token = token;
        return Some(arg);
    }
    match seq.len() {
        0 => None,
        1 => seq.pop(),
        _ => Some(block(seq)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::introspection::{SUBCOMMANDS, has_subcommands};
    use crate::command::{COMMANDS, lookup};

    /// redis-cli 7.0's rendering of COMMAND DOCS arguments into a hint (cliAddArgument).
    fn render(args: &[Argument], separator: &str) -> String {
        args.iter()
            .map(|a| {
                let repeat = match &a.kind {
                    ArgKind::Value(_) => a.name.clone(),
                    ArgKind::PureToken => String::new(),
                    ArgKind::OneOf(args) => render(args, "|"),
                    ArgKind::Block(args) => render(args, " "),
                };
                let mut token = a.token.clone().unwrap_or_default();
                if !token.is_empty() && a.kind != ArgKind::PureToken {
                    token.push(' ');
                }
                let mut out = format!("{token}{repeat}");
                if a.multiple {
                    out = format!("{out} [{repeat} ...]");
                }
                if a.optional {
                    out = format!("[{out}]");
                }
                out
            })
            .collect::<Vec<_>>()
            .join(separator)
    }

    fn hint(syntax: &str) -> String {
        render(&parse_syntax(syntax).expect("parses"), " ")
    }

    #[test]
    fn syntax_lines_become_the_arguments_redis_cli_hints_from() {
        // What redis-cli shows against redis-server 7.0.15.
        assert_eq!(
            hint(lookup(b"set").expect("set").syntax),
            "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|\
             PXAT unix-time-milliseconds|KEEPTTL]"
        );
        assert_eq!(
            hint("MSET key value [key value ...]"),
            "key value [key value ...]"
        );
        assert_eq!(hint("DEL key [key ...]"), "key [key ...]");
        assert_eq!(
            hint("HELLO [protover [AUTH username password] [SETNAME clientname]]"),
            "[protover [AUTH username password] [SETNAME clientname]]"
        );
        assert_eq!(
            hint("LIST [TYPE <NORMAL | MASTER | REPLICA | PUBSUB>] [ID client-id [client-id ...]]"),
            "[TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]"
        );
        assert_eq!(
            hint("INFO [section [section ...]]"),
            "[section [section ...]]"
        );
        assert_eq!(hint("DBSIZE"), "");
        assert_eq!(parse_syntax("GET key ]"), None);
    }

    #[test]
    fn every_syntax_line_parses() {
        for spec in COMMANDS.iter().filter(|c| !has_subcommands(c.name)) {
            assert!(parse_syntax(spec.syntax).is_some(), "{}", spec.syntax);
        }
        for sub in SUBCOMMANDS {
            assert!(parse_syntax(sub.syntax).is_some(), "{}", sub.syntax);
        }
        let kill = SUBCOMMANDS
            .iter()
            .find(|s| s.name == "client|kill")
            .expect("kill");
        assert_eq!(
            hint(kill.syntax),
            "ip:port|[ID client-id]|[TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB]|[USER username]|\
             [ADDR ip:port]|[LADDR ip:port]|[SKIPME YES|NO] [[ID client-id]|[TYPE \
             NORMAL|MASTER|SLAVE|REPLICA|PUBSUB]|[USER username]|[ADDR ip:port]|[LADDR \
             ip:port]|[SKIPME YES|NO] ...]"
        );
    }
}
