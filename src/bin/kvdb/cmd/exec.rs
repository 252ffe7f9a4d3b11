//! `kvdb [-d DIR] COMMAND [ARG...]`: run one database command and print its reply.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

use crate::Cli;

/// Runs `argv` on the database and prints the reply; exit status 1 on an error reply.
pub fn run(cli: &Cli, argv: &[OsString]) -> anyhow::Result<ExitCode> {
    let mut session = super::open(cli)?;
    let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    let reply = session.execute(&argv);
    super::print_reply(
        &mut std::io::stdout().lock(),
        &reply,
        super::raw_output(cli),
    )?;
    Ok(if reply.is_error() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
