//! What the bench targets share.

/// The 16-byte key number `i`: `key:` and 12 zero-padded digits (the shape of
/// `redis-benchmark -r` keys).
pub fn key(i: u64) -> [u8; 16] {
    let mut out = *b"key:000000000000";
    let mut n = i;
    for byte in out[4..].iter_mut().rev() {
        *byte = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out
}
