//! The server's options, from the command line and from a redis.conf-style file.

use std::path::{Path, PathBuf};

use crate::options::Fsync;

/// Options of `kvdb server`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Data directory. Default `./kvdb-data`.
    pub dir: PathBuf,
    /// TCP port. Default 6379; 0 picks a free one.
    pub port: u16,
    /// Address to listen on. Default 127.0.0.1: only this machine can connect.
    pub bind: String,
    /// Durability policy. Default everysec.
    pub appendfsync: Fsync,
    /// Password clients must give (AUTH), if any.
    pub requirepass: Option<String>,
    /// Most simultaneous clients. Default 10000.
    pub maxclients: usize,
    /// Close a client idle for this many seconds; 0 (the default) never does.
    pub timeout: u64,
    /// Segment size in bytes. Default 128 MiB.
    pub segment_size: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            dir: PathBuf::from("./kvdb-data"),
            port: 6379,
            bind: "127.0.0.1".to_owned(),
            appendfsync: Fsync::EverySec,
            requirepass: None,
            maxclients: 10_000,
            timeout: 0,
            segment_size: crate::Options::default().segment_size,
        }
    }
}

/// The option names the config file (and CONFIG GET/SET) know.
pub const OPTION_NAMES: &[&str] = &[
    "dir",
    "port",
    "bind",
    "appendfsync",
    "requirepass",
    "maxclients",
    "timeout",
    "segment-size",
];

impl ServerConfig {
    /// Sets one option from its text, as a config line or CONFIG SET gives it.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("argument couldn't be parsed into an integer: '{v}'"))
        };
        match name.to_ascii_lowercase().as_str() {
            "dir" => self.dir = PathBuf::from(value),
            "port" => {
                self.port = value
                    .parse()
                    .map_err(|_| format!("invalid port '{value}'"))?;
            }
            "bind" => {
                self.bind = value
                    .split_whitespace()
                    .next()
                    .ok_or("bind needs an address")?
                    .to_owned();
            }
            "appendfsync" => {
                self.appendfsync = value.parse().map_err(|_| format!("argument(s) must be one of the following: always, everysec, no (not '{value}')"))?;
            }
            "requirepass" => self.requirepass = (!value.is_empty()).then(|| value.to_owned()),
            "maxclients" => {
                self.maxclients = usize::try_from(number(value)?).map_err(|e| e.to_string())?;
                if self.maxclients == 0 {
                    return Err("maxclients must be at least 1".into());
                }
            }
            "timeout" => self.timeout = number(value)?,
            "segment-size" => self.segment_size = number(value)?,
            other => return Err(format!("unknown option '{other}'")),
        }
        Ok(())
    }

    /// The text of one option, as CONFIG GET shows it.
    pub fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "dir" => self.dir.display().to_string(),
            "port" => self.port.to_string(),
            "bind" => self.bind.clone(),
            "appendfsync" => self.appendfsync.to_string(),
            "requirepass" => self.requirepass.clone().unwrap_or_default(),
            "maxclients" => self.maxclients.to_string(),
            "timeout" => self.timeout.to_string(),
            "segment-size" => self.segment_size.to_string(),
            _ => return None,
        })
    }

    /// Applies a redis.conf-style file: one `name value` per line, `#` comments, blank lines,
    /// values optionally in double quotes. An unknown or malformed line is an error naming the
    /// file and line.
    pub fn apply_file(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |msg: String| format!("{}:{}: {msg}", path.display(), n + 1);
            let args = crate::resp::parse::split_inline(line.as_bytes())
                .ok_or_else(|| at("unbalanced quotes".into()))?;
            let [name, values @ ..] = args.as_slice() else {
                continue;
            };
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            if values.is_empty() && name != "requirepass" {
                return Err(at(format!("'{name}' needs a value")));
            }
            let value = values
                .iter()
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            self.set(&name, &value).map_err(at)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_sets_options_and_reports_bad_lines() -> Result<(), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("kvdb.conf");
        std::fs::write(
            &path,
            "# comment\n\nport 6380\nappendfsync always\nrequirepass \"s3cret pass\"\ntimeout 30\n",
        )
        .map_err(|e| e.to_string())?;
        let mut config = ServerConfig::default();
        config.apply_file(&path)?;
        assert_eq!(config.port, 6380);
        assert_eq!(config.appendfsync, Fsync::Always);
        assert_eq!(config.requirepass.as_deref(), Some("s3cret pass"));
        assert_eq!(config.timeout, 30);

        std::fs::write(&path, "port 1\nnosuchoption 3\n").map_err(|e| e.to_string())?;
        let err = ServerConfig::default()
            .apply_file(&path)
            .expect_err("unknown option");
        assert!(
            err.ends_with("kvdb.conf:2: unknown option 'nosuchoption'"),
            "{err}"
        );
        std::fs::write(&path, "port notanumber\n").map_err(|e| e.to_string())?;
        let err = ServerConfig::default()
            .apply_file(&path)
            .expect_err("bad port");
        assert!(err.contains("kvdb.conf:1:"), "{err}");
        Ok(())
    }
}
