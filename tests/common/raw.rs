//! A client that speaks raw RESP over a `TcpStream`: it sends exactly the bytes a test gives and
//! hands back exactly the bytes of each reply frame (RESP2 or RESP3), for byte-for-byte checks.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::server::IO_TIMEOUT;

/// One raw connection to 127.0.0.1 (one file descriptor: tests open thousands).
pub struct Raw {
    reader: BufReader<TcpStream>,
}

/// `argv` as a RESP multibulk request.
pub fn request<A: AsRef<[u8]>>(argv: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", argv.len()).into_bytes();
    for arg in argv {
        let arg = arg.as_ref();
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl Raw {
    /// Connects to the port on 127.0.0.1, with read and write timeouts.
    pub fn connect(port: u16) -> std::io::Result<Raw> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Raw {
            reader: BufReader::new(stream),
        })
    }

    /// Sends these bytes as they are, in one write.
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        // `&TcpStream` writes too: no second descriptor for the writing side.
        let mut writer: &TcpStream = self.reader.get_ref();
        writer.write_all(bytes)
    }

    /// Sends `argv` as a multibulk request and returns the bytes of the reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> std::io::Result<Vec<u8>> {
        self.send(&request(argv))?;
        self.frame()
    }

    /// Like [`Raw::call`], the reply as text (lossy), for readable assertions.
    pub fn call_text<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> std::io::Result<String> {
        Ok(String::from_utf8_lossy(&self.call(argv)?).into_owned())
    }

    /// The bytes of the next whole reply frame (nested frames included).
    pub fn frame(&mut self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        read_frame(&mut self.reader, &mut out, 0)?;
        Ok(out)
    }

    /// The next frame as text (lossy).
    pub fn frame_text(&mut self) -> std::io::Result<String> {
        Ok(String::from_utf8_lossy(&self.frame()?).into_owned())
    }

    /// Reads until the server closes the connection, at most `timeout`: what arrived before
    /// the end, or an error if the connection is still open after `timeout`. A reset counts as
    /// closed.
    pub fn until_closed(&mut self, timeout: Duration) -> std::io::Result<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(std::io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "the connection is still open; received {:?}",
                        String::from_utf8_lossy(&out)
                    ),
                ));
            }
            self.reader.get_ref().set_read_timeout(Some(left))?;
            match self.reader.read(&mut buf) {
                Ok(0) => return Ok(out),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset) => return Ok(out),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The underlying stream (to shut down a direction, or change timeouts).
    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }
}

/// Deepest nesting accepted in a reply: a bound against a runaway reader, not a RESP rule.
const MAX_DEPTH: usize = 64;

fn read_frame(reader: &mut impl BufRead, out: &mut Vec<u8>, depth: usize) -> std::io::Result<()> {
    let invalid = |what: String| std::io::Error::new(ErrorKind::InvalidData, what);
    if depth > MAX_DEPTH {
        return Err(invalid("replies nested too deep".into()));
    }
    let start = out.len();
    let n = reader.read_until(b'\n', out)?;
    if n == 0 {
        return Err(ErrorKind::UnexpectedEof.into());
    }
    let line = &out[start..];
    if line.len() < 3 || !line.ends_with(b"\r\n") {
        return Err(invalid(format!(
            "not a RESP line: {:?}",
            String::from_utf8_lossy(line)
        )));
    }
    let kind = line[0];
    let number = || -> std::io::Result<i64> {
        std::str::from_utf8(&line[1..line.len() - 2])
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| invalid(format!("bad length in {:?}", String::from_utf8_lossy(line))))
    };
    match kind {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Ok(()),
        b'$' | b'=' | b'!' => {
            let len = number()?;
            if len >= 0 {
                let mut body = vec![0u8; len as usize + 2];
                reader.read_exact(&mut body)?;
                out.extend_from_slice(&body);
            }
            Ok(())
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let count = number()?;
            let items = if matches!(kind, b'%' | b'|') {
                count * 2
            } else {
                count
            };
            for _ in 0..items.max(0) {
                read_frame(reader, out, depth + 1)?;
            }
            Ok(())
        }
        other => Err(invalid(format!(
            "unknown RESP type byte {:?}",
            char::from(other)
        ))),
    }
}

/// Splits bytes received from a server into whole reply frames; an error if they end inside a
/// frame or are not RESP.
pub fn split_frames(bytes: &[u8]) -> std::io::Result<Vec<Vec<u8>>> {
    let mut reader = std::io::Cursor::new(bytes);
    let mut frames = Vec::new();
    while (reader.position() as usize) < bytes.len() {
        let mut frame = Vec::new();
        read_frame(&mut reader, &mut frame, 0)?;
        frames.push(frame);
    }
    Ok(frames)
}
