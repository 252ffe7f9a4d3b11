//! `kvdb [-d DIR]` with no command: an interactive shell on a terminal, or one command per line
//! from standard input otherwise (as redis-cli does).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use kvdb::Session;
use kvdb::command::{COMMANDS, lookup};
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::Cli;
use crate::split::split_args;

/// Runs the shell or the stdin loop.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let session = super::open(cli)?;
    if std::io::stdin().is_terminal() {
        interactive(cli, session)
    } else {
        piped(cli, session)
    }
}

/// What to do with one input line.
enum Line {
    Skip,
    Quit,
    Help(String),
    Command(Vec<Vec<u8>>),
    Invalid,
}

fn classify(line: &str) -> Line {
    let Ok(args) = split_args(line) else {
        return Line::Invalid;
    };
    let Some(first) = args.first() else {
        return Line::Skip;
    };
    let first = String::from_utf8_lossy(first).to_ascii_lowercase();
    match first.as_str() {
        "quit" | "exit" if args.len() == 1 => Line::Quit,
        "help" => Line::Help(help(
            args.get(1).map(|a| String::from_utf8_lossy(a).into_owned()),
        )),
        _ => Line::Command(args),
    }
}

/// The text of `help`, `help <command>` and `help @<group>`.
fn help(topic: Option<String>) -> String {
    match topic {
        None => format!(
            "kvdb {}\nType a Redis command, e.g. SET greeting hello, GET greeting.\n\
             \x20     \"help <command>\" for help on <command>\n\
             \x20     \"help @<group>\" lists the commands of a group: @string @generic @server @connection\n\
             \x20     \"quit\" to exit\n",
            env!("CARGO_PKG_VERSION")
        ),
        Some(topic) => {
            if let Some(group) = topic.strip_prefix('@') {
                let mut out = String::new();
                for c in COMMANDS
                    .iter()
                    .filter(|c| c.group.eq_ignore_ascii_case(group))
                {
                    out.push_str(&format!("\n  {}\n  summary: {}\n", c.syntax, c.summary));
                }
                if out.is_empty() {
                    out = format!("no command group '{group}'\n");
                }
                out
            } else {
                match lookup(topic.as_bytes()) {
                    Some(c) => format!(
                        "\n  {}\n  summary: {}\n  group: {}\n\n",
                        c.syntax, c.summary, c.group
                    ),
                    None => format!("no help for '{topic}': not a kvdb command\n"),
                }
            }
        }
    }
}

fn history_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KVDB_HISTFILE") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".kvdb_history"))
}

fn interactive(cli: &Cli, mut session: Session) -> anyhow::Result<ExitCode> {
    let mut editor = DefaultEditor::new()?;
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let raw = cli.raw;
    let name = cli.dir.display().to_string();
    loop {
        let prompt = match session.db_index() {
            0 => format!("{name}> "),
            n => format!("{name}[{n}]> "),
        };
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        if !line.trim().is_empty() {
            let _ = editor.add_history_entry(line.as_str());
        }
        let mut out = std::io::stdout().lock();
        match classify(&line) {
            Line::Skip => {}
            Line::Quit => break,
            Line::Help(text) => out.write_all(text.as_bytes())?,
            Line::Invalid => println!("Invalid argument(s)"),
            Line::Command(args) => super::print_reply(&mut out, &session.execute(&args), raw)?,
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(ExitCode::SUCCESS)
}

fn piped(cli: &Cli, mut session: Session) -> anyhow::Result<ExitCode> {
    let raw = super::raw_output(cli);
    let mut failed = false;
    let stdin = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();
    for line in stdin.split(b'\n') {
        let line = line?;
        let line = String::from_utf8_lossy(&line);
        match classify(line.trim_end_matches('\r')) {
            Line::Skip => {}
            Line::Quit => break,
            Line::Help(text) => out.write_all(text.as_bytes())?,
            Line::Invalid => {
                eprintln!("Invalid argument(s)");
                failed = true;
            }
            Line::Command(args) => {
                let reply = session.execute(&args);
                failed |= reply.is_error();
                super::print_reply(&mut out, &reply, raw)?;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_for_a_command_shows_its_syntax_and_group() {
        let text = help(Some("set".into()));
        assert!(text.contains("SET key value [NX | XX]"), "{text}");
        assert!(text.contains("group: string"), "{text}");
        assert!(help(Some("nosuch".into())).contains("no help"));
        assert!(help(Some("@generic".into())).contains("EXPIRE key seconds"));
    }

    #[test]
    fn quit_help_and_blank_lines_are_not_commands() {
        assert!(matches!(classify("  "), Line::Skip));
        assert!(matches!(classify("QUIT"), Line::Quit));
        assert!(matches!(classify("help"), Line::Help(_)));
        assert!(matches!(classify("\"unbalanced"), Line::Invalid));
        assert!(matches!(classify("set a \"b c\""), Line::Command(args) if args[2] == b"b c"));
    }
}
