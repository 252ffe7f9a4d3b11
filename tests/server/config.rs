//! `kvdb server --config FILE`: a redis.conf-style file sets the options (the command line
//! overrides them), and a bad line stops the server before it listens, naming the file and line.

use crate::common::TestResult;
use crate::common::server::{Server, run_kvdb};

#[test]
fn a_config_file_sets_the_server_options() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let conf = dir.path().join("kvdb.conf");
    std::fs::write(
        &conf,
        format!(
            "# kvdb test configuration\n\
             \n\
             port 0\n\
             bind 127.0.0.1\n\
             dir {}\n\
             requirepass \"s3cret pass\"\n\
             maxclients 2\n\
             appendfsync always\n\
             timeout 0\n",
            data.display()
        ),
    )?;
    let conf = conf.to_string_lossy().into_owned();
    let server = Server::spawn(&["server", "--config", &conf], &data)?;
    assert!(
        server.log().contains("appendfsync always"),
        "{}",
        server.log()
    );
    assert!(data.is_dir(), "the data directory comes from the file");
    let mut raw = server.raw()?;
    assert_eq!(
        raw.call_text(&["PING"])?,
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(raw.call_text(&["AUTH", "s3cret pass"])?, "+OK\r\n");
    let mut second = server.raw()?;
    assert_eq!(second.call_text(&["AUTH", "s3cret pass"])?, "+OK\r\n");
    let mut third = server.raw()?;
    third.send(b"PING\r\n")?;
    assert_eq!(
        third.until_closed(crate::CLOSE_TIMEOUT)?,
        b"-ERR max number of clients reached\r\n"
    );
    drop(server);

    // The command line overrides the file.
    let server = Server::spawn(
        &[
            "server",
            "--config",
            &conf,
            "--requirepass",
            "other",
            "--maxclients",
            "10",
        ],
        &data,
    )?;
    let mut raw = server.raw()?;
    assert_eq!(raw.call_text(&["AUTH", "other"])?, "+OK\r\n");
    Ok(())
}

#[test]
fn a_bad_config_line_is_an_error_naming_the_file_and_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conf = dir.path().join("bad.conf");
    let data = dir.path().join("data").to_string_lossy().into_owned();
    let conf_text = conf.to_string_lossy().into_owned();
    let cases = [
        (
            "port 0\n# fine\nnosuchoption 3\n",
            "bad.conf:3: unknown option 'nosuchoption'",
        ),
        ("maxclients lots\n", "bad.conf:1:"),
        ("appendfsync sometimes\n", "bad.conf:1:"),
        (
            "port 0\nrequirepass \"open\n",
            "bad.conf:2: unbalanced quotes",
        ),
        ("timeout\n", "bad.conf:1: 'timeout' needs a value"),
    ];
    for (text, want) in cases {
        std::fs::write(&conf, text)?;
        let output = run_kvdb(&[
            "server", "--port", "0", "--dir", &data, "--config", &conf_text,
        ])?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{text:?} was accepted");
        assert!(stderr.contains(want), "{text:?}: {stderr}");
        assert!(!stderr.contains("ready to accept"), "{stderr}");
    }
    let missing = dir
        .path()
        .join("missing.conf")
        .to_string_lossy()
        .into_owned();
    let output = run_kvdb(&[
        "server", "--port", "0", "--dir", &data, "--config", &missing,
    ])?;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing.conf"));
    Ok(())
}
