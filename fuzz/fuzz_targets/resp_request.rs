//! `resp_request`: arbitrary bytes into `kvdb::resp::parse_request`, authenticated and not. No
//! input may panic.
//!
//! Beyond "no panic", it checks the streaming contract the server relies on:
//!
//! * a parsed request used at least one byte and no more than the input holds (the server
//!   advances by `used`, so 0 would loop forever and more would slice out of bounds);
//! * every strict prefix of the bytes a request used is incomplete (`Ok(None)`) or an error,
//!   never another request: a client whose request arrives in pieces must get the same
//!   answer as one who sends it at once;
//! * the arguments survive a round trip: encoded as a multibulk request and parsed again, they
//!   come back identical and use exactly the encoded bytes (binary safety, inline quoting
//!   undone once);
//! * the whole input parses as a stream of requests, as a connection reads it, until the
//!   parser asks for more bytes or reports a protocol error.

#![no_main]

use kvdb::resp::{Limits, ProtocolError, parse_request};
use libfuzzer_sys::fuzz_target;

/// The request `argv` as a client library sends it.
fn encode_multibulk(argv: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", argv.len()).into_bytes();
    for arg in argv {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Parses the first request of `data` and checks it; returns the bytes it used, if any.
fn check_one(data: &[u8], limits: &Limits, authenticated: bool) -> Option<usize> {
    let (argv, used) = match parse_request(data, limits, authenticated) {
        Ok(Some(parsed)) => parsed,
        Ok(None) | Err(_) => return None,
    };
    assert!(used > 0, "a request used no bytes");
    assert!(
        used <= data.len(),
        "a request used {used} bytes of {}",
        data.len()
    );

    // The same request, cut short by one byte, must not parse as a (different) request.
    if let Ok(Some((short, short_used))) = parse_request(&data[..used - 1], limits, authenticated) {
        panic!(
            "a prefix of {} bytes parsed as {short:?} ({short_used} bytes) before the whole \
             request ({argv:?}, {used} bytes) arrived",
            used - 1
        );
    }
    // And exactly its own bytes give the same request.
    assert_eq!(
        parse_request(&data[..used], limits, authenticated),
        Ok(Some((argv.clone(), used))),
        "the request's own bytes parsed differently"
    );

    // Round trip through the canonical encoding. Authenticated limits apply: an inline
    // request is not bound by the unauthenticated multibulk limits.
    let encoded = encode_multibulk(&argv);
    assert_eq!(
        parse_request(&encoded, limits, true),
        Ok(Some((argv.clone(), encoded.len()))),
        "re-encoded request parsed differently: {:?}",
        String::from_utf8_lossy(&encoded)
    );
    // A multibulk request that passed the unauthenticated limits passes them re-encoded too.
    if data[0] == b'*' && !authenticated {
        let again: Result<_, ProtocolError> = parse_request(&encoded, limits, false);
        assert_eq!(again, Ok(Some((argv, encoded.len()))));
    }
    Some(used)
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    for authenticated in [true, false] {
        // The input as a connection would see it: one request after another.
        let mut pos = 0;
        while pos < data.len() {
            match check_one(&data[pos..], &limits, authenticated) {
                Some(used) => pos += used,
                None => break,
            }
        }
    }
    // Small limits reach the "too big" and "unauthenticated" errors with small inputs.
    let small = Limits {
        max_bulk_len: 64,
        max_multibulk_len: 8,
        max_inline_len: 32,
        unauth_max_multibulk_len: 3,
        unauth_max_bulk_len: 16,
    };
    for authenticated in [true, false] {
        let mut pos = 0;
        while pos < data.len() {
            match parse_request(&data[pos..], &small, authenticated) {
                Ok(Some((argv, used))) => {
                    assert!(used > 0 && pos + used <= data.len());
                    assert!(argv.len() <= small.max_multibulk_len || data[pos] != b'*');
                    pos += used;
                }
                Ok(None) | Err(_) => break,
            }
        }
    }
});
