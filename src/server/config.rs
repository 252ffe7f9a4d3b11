//! The server's options, from the command line and from a redis.conf-style file, read and
//! changed at runtime by CONFIG GET / SET / REWRITE.
//!
//! Value errors use Redis's texts (`argument must be between 0 and 65535 inclusive`), which
//! CONFIG SET returns as they are. A few Redis options that tools read are accepted with the
//! one value kvdb has (`save ""`, `appendonly yes`, `databases 16`), so a CONFIG GET of them
//! answers and a redis.conf setting them to that value loads.

use std::path::{Path, PathBuf};

use crate::options::{Fsync, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE};

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
    /// Compact in the background (`auto-compaction yes|no`). Default yes.
    pub auto_compaction: bool,
    /// A sealed segment this many percent reclaimable starts a compaction
    /// (`compaction-dead-percentage`). Default 50.
    pub compaction_dead_percentage: u64,
    /// No automatic compaction below this many reclaimable bytes
    /// (`compaction-min-dead-bytes`). Default 64 MiB.
    pub compaction_min_dead_bytes: u64,
    /// Compaction I/O limit in bytes per second, raised to keep up with heavy writes; 0 for
    /// none (`compaction-rate-limit`). Default 32 MiB/s.
    pub compaction_rate_limit: u64,
    /// Compact below the dead percentage while the log exceeds this many hundredths of the
    /// live data (`compaction-max-amplification-percentage`). Default 150.
    pub compaction_max_amplification_percentage: u64,
    /// The config file applied ([`ServerConfig::apply_file`]), as an absolute path: INFO
    /// shows it, CONFIG REWRITE writes it.
    pub config_file: Option<PathBuf>,
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
            auto_compaction: true,
            compaction_dead_percentage: 50,
            compaction_min_dead_bytes: crate::Options::default().compaction_min_dead_bytes,
            compaction_rate_limit: crate::Options::default().compaction_rate_limit.unwrap_or(0),
            compaction_max_amplification_percentage: 150,
            config_file: None,
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
    "auto-compaction",
    "compaction-dead-percentage",
    "compaction-min-dead-bytes",
    "compaction-rate-limit",
    "compaction-max-amplification-percentage",
    "save",
    "appendonly",
    "databases",
];

/// Options a running server cannot change, and CONFIG SET's reason (Redis's texts). The
/// store's directory is fixed once open (Redis calls `dir` protected); the listener is bound
/// once, so unlike Redis, kvdb cannot move to another port or address while running.
pub const FIXED_AT_RUNTIME: &[(&str, &str)] = &[
    ("dir", "can't set protected config"),
    ("port", "can't set immutable config"),
    ("bind", "can't set immutable config"),
    ("segment-size", "can't set immutable config"),
    ("auto-compaction", "can't set immutable config"),
    ("compaction-dead-percentage", "can't set immutable config"),
    ("compaction-min-dead-bytes", "can't set immutable config"),
    ("compaction-rate-limit", "can't set immutable config"),
    (
        "compaction-max-amplification-percentage",
        "can't set immutable config",
    ),
    ("databases", "can't set immutable config"),
];

/// Parses an integer option within `min..=max`, with Redis's error texts.
fn integer(value: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: i128 = value
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_owned())?;
    u64::try_from(n)
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("argument must be between {min} and {max} inclusive"))
}

/// A value as a config file line writes it: bare if it is a plain word, else double-quoted
/// with `"` and `\` escaped.
fn quoted(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'\\'));
    if plain {
        return value.to_owned();
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

impl ServerConfig {
    /// Sets one option from its text, as a config line or CONFIG SET gives it.
    ///
    /// # Errors
    /// Why the value is refused, in Redis's words (`argument couldn't be parsed into an
    /// integer`), or `unknown option 'x'`. Nothing changes then.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        match name.to_ascii_lowercase().as_str() {
            "dir" => self.dir = PathBuf::from(value),
            "port" => self.port = integer(value, 0, u64::from(u16::MAX))? as u16,
            "bind" => {
                self.bind = value
                    .split_whitespace()
                    .next()
                    .ok_or("bind needs an address")?
                    .to_owned();
            }
            "appendfsync" => {
                self.appendfsync = value.parse().map_err(|_| {
                    "argument(s) must be one of the following: everysec, always, no".to_owned()
                })?;
            }
            "requirepass" => self.requirepass = (!value.is_empty()).then(|| value.to_owned()),
            "maxclients" => {
                self.maxclients = usize::try_from(integer(value, 1, u64::from(u32::MAX))?)
                    .map_err(|e| e.to_string())?;
            }
            "timeout" => self.timeout = integer(value, 0, i32::MAX as u64)?,
            "segment-size" => {
                self.segment_size = integer(value, MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE)?;
            }
            "auto-compaction" => {
                self.auto_compaction = match value.to_ascii_lowercase().as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => return Err("argument must be 'yes' or 'no'".into()),
                };
            }
            "compaction-dead-percentage" => {
                self.compaction_dead_percentage = integer(value, 0, 100)?;
            }
            "compaction-min-dead-bytes" => {
                self.compaction_min_dead_bytes = integer(value, 0, i64::MAX as u64)?;
            }
            "compaction-rate-limit" => {
                self.compaction_rate_limit = integer(value, 0, i64::MAX as u64)?;
            }
            "compaction-max-amplification-percentage" => {
                self.compaction_max_amplification_percentage = integer(value, 100, 100_000)?;
            }
            "save" if value.trim().is_empty() => {}
            "save" => return Err("kvdb takes no snapshots: save must be \"\"".into()),
            "appendonly" if value.eq_ignore_ascii_case("yes") => {}
            "appendonly" => {
                return Err("kvdb always logs every write: appendonly must be yes".into());
            }
            "databases" if value == "16" => {}
            "databases" => return Err("kvdb has 16 databases".into()),
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
            "auto-compaction" => if self.auto_compaction { "yes" } else { "no" }.to_owned(),
            "compaction-dead-percentage" => self.compaction_dead_percentage.to_string(),
            "compaction-min-dead-bytes" => self.compaction_min_dead_bytes.to_string(),
            "compaction-rate-limit" => self.compaction_rate_limit.to_string(),
            "compaction-max-amplification-percentage" => {
                self.compaction_max_amplification_percentage.to_string()
            }
            "save" => String::new(),
            "appendonly" => "yes".to_owned(),
            "databases" => "16".to_owned(),
            _ => return None,
        })
    }

    /// Applies a redis.conf-style file: one `name value` per line, `#` comments, blank lines,
    /// values optionally in double quotes. An unknown or malformed line is an error naming the
    /// file and line.
    pub fn apply_file(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.config_file = Some(std::path::absolute(path).unwrap_or_else(|_| path.to_owned()));
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
            if values.is_empty() && !matches!(name.as_str(), "requirepass" | "save") {
                return Err(at(format!("'{name}' needs a value")));
            }
            let value = values
                .iter()
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            self.set(&name, &value).map_err(|e| {
                if OPTION_NAMES.contains(&name.as_str()) {
                    at(format!("{name} {}: {e}", quoted(&value)))
                } else {
                    at(e)
                }
            })?;
        }
        Ok(())
    }

    /// CONFIG REWRITE: writes the running configuration to the file it was read from. Each
    /// option's first line gets the running value and its later lines are dropped; options
    /// that differ from their default and have no line are appended. Comments, blank lines
    /// and other lines stay. The file is replaced atomically (temporary file, fsync, rename).
    ///
    /// # Errors
    /// Redis's texts: `The server is running without a config file`, or `Rewriting config
    /// file: ...` with the I/O error.
    pub fn rewrite(&self) -> Result<(), String> {
        let path = self
            .config_file
            .as_ref()
            .ok_or("The server is running without a config file")?;
        let failed = |e: std::io::Error| format!("Rewriting config file: {e}");
        let old = std::fs::read_to_string(path).map_err(failed)?;
        let new = self.rewritten(&old);
        let tmp = path.with_extension("kvdb-rewrite.tmp");
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut file, new.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            failed(e)
        })
    }

    /// The text [`ServerConfig::rewrite`] writes in place of `old`.
    fn rewritten(&self, old: &str) -> String {
        let defaults = ServerConfig::default();
        let mut written: Vec<&str> = Vec::new();
        let mut out = String::new();
        for line in old.lines() {
            let name = crate::resp::parse::split_inline(line.trim().as_bytes())
                .and_then(|args| args.into_iter().next())
                .map(|n| String::from_utf8_lossy(&n).to_ascii_lowercase());
            let known = name
                .as_deref()
                .filter(|_| !line.trim_start().starts_with('#'))
                .and_then(|n| OPTION_NAMES.iter().find(|o| **o == n));
            match known {
                Some(option) if written.contains(option) => {}
                Some(option) => {
                    written.push(option);
                    out.push_str(&self.line(option));
                }
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        let missing: Vec<&str> = OPTION_NAMES
            .iter()
            .copied()
            .filter(|o| !written.contains(o) && self.get(o) != defaults.get(o))
            .collect();
        if !missing.is_empty() {
            if !out.is_empty() && !out.ends_with("\n\n") {
                out.push('\n');
            }
            out.push_str("# Generated by CONFIG REWRITE\n");
            for option in missing {
                out.push_str(&self.line(option));
            }
        }
        out
    }

    /// `name value\n` for one option, the value quoted if needed.
    fn line(&self, option: &str) -> String {
        format!(
            "{option} {}\n",
            quoted(&self.get(option).unwrap_or_default())
        )
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
        assert!(
            err.ends_with(
                "kvdb.conf:1: port notanumber: argument couldn't be parsed into an integer"
            ),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn values_are_checked_with_redis_texts() -> Result<(), String> {
        let mut config = ServerConfig::default();
        assert_eq!(
            config.set("port", "99999"),
            Err("argument must be between 0 and 65535 inclusive".into())
        );
        assert_eq!(
            config.set("maxclients", "0"),
            Err("argument must be between 1 and 4294967295 inclusive".into())
        );
        assert_eq!(
            config.set("timeout", "-1"),
            Err("argument must be between 0 and 2147483647 inclusive".into())
        );
        assert_eq!(
            config.set("appendfsync", "sometimes"),
            Err("argument(s) must be one of the following: everysec, always, no".into())
        );
        assert_eq!(config, ServerConfig::default(), "nothing changed");
        config.set("save", "")?;
        config.set("APPENDONLY", "yes")?;
        assert!(config.set("appendonly", "no").is_err());
        assert_eq!(config.get("save").as_deref(), Some(""));
        assert_eq!(config.get("appendonly").as_deref(), Some("yes"));
        Ok(())
    }

    #[test]
    fn rewrite_keeps_comments_and_replaces_option_lines() -> Result<(), String> {
        let mut config = ServerConfig::default();
        config.set("timeout", "30")?;
        config.set("requirepass", "two words")?;
        config.set("appendfsync", "always")?;
        let old = "# my server\ntimeout 5\n\nport 7000\ntimeout 6\nunknown-line stays\n";
        config.set("port", "7000")?;
        assert_eq!(
            config.rewritten(old),
            "# my server\ntimeout 30\n\nport 7000\nunknown-line stays\n\n\
             # Generated by CONFIG REWRITE\nappendfsync always\nrequirepass \"two words\"\n"
        );
        assert_eq!(
            ServerConfig::default().rewrite(),
            Err("The server is running without a config file".into())
        );
        Ok(())
    }

    #[test]
    fn a_rewritten_file_reads_back_the_same() -> Result<(), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("kvdb.conf");
        std::fs::write(&path, "port 6380\n").map_err(|e| e.to_string())?;
        let mut config = ServerConfig::default();
        config.apply_file(&path)?;
        config.set("requirepass", "a \"quoted\" \\ pass")?;
        config.set("maxclients", "77")?;
        config.rewrite()?;
        let mut again = ServerConfig::default();
        again.apply_file(&path)?;
        assert_eq!(again, config);
        Ok(())
    }
}
