//! The kvdb command-line tool.
fn main() {}
