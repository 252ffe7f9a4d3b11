//! Damaged segments: corruption is an error naming the file and the record, a torn tail of the
//! newest segment is cut with a report, and no damage makes `open` panic.
//!
//! As leveldb's `corruption_test.cc`: build a small database, damage its files, reopen.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use kvdb::log::record::{self, FLAG_BATCH_MORE, Header, Kind};
use kvdb::log::segment::{SEGMENT_HEADER_LEN, encode_header, parse_segment_name, segment_path};
use kvdb::{Db, Error, Fsync, Options, SetOptions};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Keeps every warning logged by any test of this file.
struct Warnings(Mutex<Vec<String>>);

static WARNINGS: Warnings = Warnings(Mutex::new(Vec::new()));

impl log::Log for Warnings {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let mut warnings = self.0.lock().unwrap_or_else(|e| e.into_inner());
            warnings.push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

/// The warnings logged so far that mention `path`.
fn warnings_about(path: &Path) -> Vec<String> {
    // Only the first call installs the logger; the others get an error and ignore it.
    let _ = log::set_logger(&WARNINGS).map(|()| log::set_max_level(log::LevelFilter::Warn));
    let warnings = WARNINGS.0.lock().unwrap_or_else(|e| e.into_inner());
    let path = path.display().to_string();
    warnings
        .iter()
        .filter(|w| w.contains(&path))
        .cloned()
        .collect()
}

fn options() -> Options {
    Options {
        segment_size: 1024,
        fsync: Fsync::No,
        active_expiry: None,
        ..Options::default()
    }
}

fn open(dir: &Path) -> kvdb::Result<Db> {
    Db::open_with(dir, options())
}

fn value(i: usize) -> Vec<u8> {
    format!("value-{i:03}-").repeat(6).into_bytes()
}

/// Writes keys `k0..kn` with [`value`], one SET each, and closes the database.
fn build(dir: &Path, n: usize) -> TestResult {
    let db = open(dir)?;
    for i in 0..n {
        db.set(format!("k{i}").as_bytes(), &value(i), SetOptions::default())?;
    }
    Ok(())
}

/// The segment files of `dir`, oldest first.
fn segments(dir: &Path) -> TestResult<Vec<PathBuf>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(id) = entry.file_name().to_str().and_then(parse_segment_name) {
            out.insert(id, entry.path());
        }
    }
    Ok(out.into_values().collect())
}

/// (offset, length) of every record of a segment file.
fn records(path: &Path) -> TestResult<Vec<(u64, u64)>> {
    let bytes = std::fs::read(path)?;
    let mut out = Vec::new();
    let mut pos = SEGMENT_HEADER_LEN as usize;
    while pos < bytes.len() {
        let rec = record::decode(&bytes[pos..]).map_err(|e| format!("{e:?} at {pos}"))?;
        let len = rec.header.record_len();
        out.push((pos as u64, len));
        pos += len as usize;
    }
    Ok(out)
}

fn copy_segments(from: &Path, to: &Path) -> TestResult {
    std::fs::create_dir_all(to)?;
    for path in segments(to)? {
        std::fs::remove_file(path)?;
    }
    for path in segments(from)? {
        let name = path.file_name().ok_or("no file name")?;
        std::fs::copy(&path, to.join(name))?;
    }
    Ok(())
}

fn flip(path: &Path, at: u64, mask: u8) -> TestResult {
    let mut bytes = std::fs::read(path)?;
    bytes[at as usize] ^= mask;
    std::fs::write(path, bytes)?;
    Ok(())
}

/// Asserts `result` is `Corrupt` at `offset` of `path`, and that its message names both.
fn assert_corrupt<T>(result: kvdb::Result<T>, path: &Path, offset: u64, what: &str) {
    match result {
        Err(Error::Corrupt {
            path: p, offset: o, ..
        }) if p == path && o == offset => {
            let message = Error::Corrupt {
                path: p,
                offset: o,
                reason: String::new(),
            }
            .to_string();
            assert!(
                message.contains(&path.display().to_string())
                    && message.contains(&format!("offset {offset}")),
                "{what}: message {message:?}"
            );
        }
        Err(e) => panic!("{what}: expected corruption at {offset} of {path:?}, got {e:?}"),
        Ok(_) => panic!("{what}: expected corruption at {offset} of {path:?}, but it opened"),
    }
}

#[test]
fn a_flipped_byte_in_a_sealed_segment_is_corruption_at_its_record() -> TestResult {
    let pristine = tempfile::tempdir()?;
    build(pristine.path(), 30)?;
    let sealed = &segments(pristine.path())?[0];
    let (start, len) = records(sealed)?[2];
    let scratch = tempfile::tempdir()?;
    let path = scratch.path().join(sealed.file_name().ok_or("no name")?);
    // CRC, sequence number, kind, key length, value length, key, value, last byte.
    for delta in [0, 5, 13, 24, 32, 35, 40, len - 1] {
        copy_segments(pristine.path(), scratch.path())?;
        flip(&path, start + delta, 0x10)?;
        let damaged = std::fs::read(&path)?;
        let what = format!("byte {delta} of the record at {start}");
        assert_corrupt(open(scratch.path()), &path, start, &what);
        assert_eq!(
            std::fs::read(&path)?,
            damaged,
            "{what}: a failed open changed the file"
        );
    }
    Ok(())
}

#[test]
fn a_flipped_byte_mid_newest_segment_is_corruption_not_a_torn_tail() -> TestResult {
    let dir = tempfile::tempdir()?;
    build(dir.path(), 30)?;
    let newest = segments(dir.path())?.pop().ok_or("no segment")?;
    let recs = records(&newest)?;
    assert!(
        recs.len() >= 3,
        "the newest segment needs records after the damage"
    );
    let (start, _) = recs[recs.len() - 3];
    flip(&newest, start + 36, 0x01)?;
    let len = std::fs::metadata(&newest)?.len();
    assert_corrupt(open(dir.path()), &newest, start, "mid newest segment");
    assert_eq!(std::fs::metadata(&newest)?.len(), len, "nothing was cut");
    Ok(())
}

#[test]
fn a_partial_last_record_is_cut_and_reported() -> TestResult {
    let pristine = tempfile::tempdir()?;
    build(pristine.path(), 30)?;
    let newest_name = segments(pristine.path())?
        .pop()
        .ok_or("no segment")?
        .file_name()
        .ok_or("no name")?
        .to_owned();
    let (last_start, last_len) = *records(&pristine.path().join(&newest_name))?
        .last()
        .ok_or("no record")?;
    let scratch = tempfile::tempdir()?;
    let newest = scratch.path().join(&newest_name);
    warnings_about(&newest);
    for keep in [1, 20, 35, last_len / 2, last_len - 1] {
        copy_segments(pristine.path(), scratch.path())?;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&newest)?
            .set_len(last_start + keep)?;
        let db = open(scratch.path())?;
        assert_eq!(
            db.recovery_report().truncated,
            Some((newest.clone(), last_start, keep)),
            "kept {keep} bytes of the last record"
        );
        assert_eq!(std::fs::metadata(&newest)?.len(), last_start);
        let warned = warnings_about(&newest);
        assert!(
            warned
                .last()
                .is_some_and(|w| w.contains(&format!("offset {last_start}"))
                    && w.contains(&format!("truncating {keep} bytes"))),
            "no warning for the cut: {warned:?}"
        );
        for i in 0..29 {
            assert_eq!(db.get(format!("k{i}").as_bytes())?, Some(value(i)));
        }
        assert_eq!(db.get(b"k29")?, None);
        // The cut log takes new writes and reopens cleanly.
        db.set(b"after", b"cut", SetOptions::default())?;
        drop(db);
        let db = open(scratch.path())?;
        assert_eq!(db.recovery_report().truncated, None);
        assert_eq!(db.get(b"after")?, Some(b"cut".to_vec()));
    }
    Ok(())
}

#[test]
fn a_newest_segment_shorter_than_its_header_opens() -> TestResult {
    let pristine = tempfile::tempdir()?;
    build(pristine.path(), 30)?;
    let next = segments(pristine.path())?.len() as u32 + 1;
    let scratch = tempfile::tempdir()?;
    for short in [0, 5, SEGMENT_HEADER_LEN - 1] {
        copy_segments(pristine.path(), scratch.path())?;
        let path = segment_path(scratch.path(), next);
        std::fs::write(&path, &encode_header()[..short as usize])?;
        let db = open(scratch.path())?;
        assert_eq!(
            db.recovery_report().truncated,
            Some((path.clone(), 0, short)),
            "{short} bytes"
        );
        for i in 0..30 {
            assert_eq!(db.get(format!("k{i}").as_bytes())?, Some(value(i)));
        }
        db.set(b"after", b"short", SetOptions::default())?;
        drop(db);
        let db = open(scratch.path())?;
        assert_eq!(db.get(b"after")?, Some(b"short".to_vec()));
        assert_eq!(
            &std::fs::read(&path)?[..SEGMENT_HEADER_LEN as usize],
            &encode_header()[..]
        );
    }
    Ok(())
}

#[test]
fn bad_magic_is_corruption_at_offset_zero() -> TestResult {
    let pristine = tempfile::tempdir()?;
    build(pristine.path(), 30)?;
    let scratch = tempfile::tempdir()?;
    let files = segments(pristine.path())?;
    assert!(files.len() >= 2);
    for which in [0, files.len() - 1] {
        copy_segments(pristine.path(), scratch.path())?;
        let path = scratch
            .path()
            .join(files[which].file_name().ok_or("no name")?);
        flip(&path, 3, 0xff)?;
        assert_corrupt(open(scratch.path()), &path, 0, &format!("segment {which}"));
    }
    Ok(())
}

#[test]
fn a_second_open_in_the_same_process_is_locked() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = open(dir.path())?;
    match open(dir.path()) {
        Err(Error::Locked { path }) => assert_eq!(path, dir.path()),
        other => panic!("expected Locked, got {other:?}"),
    }
    drop(db);
    open(dir.path())?;
    Ok(())
}

/// Writes a segment file of `records` (kind Put in database 0; `more` sets "batch continues").
fn write_segment(path: &Path, records: &[(u64, &str, bool)]) -> TestResult<Vec<u64>> {
    let mut bytes = encode_header().to_vec();
    let mut offsets = Vec::new();
    for &(seq, key, more) in records {
        offsets.push(bytes.len() as u64);
        let header = Header {
            seq,
            db: 0,
            kind: Kind::Put,
            expires_at: 0,
            flags: if more { FLAG_BATCH_MORE } else { 0 },
            key_len: 0,
            sub_len: 0,
            value_len: 0,
        };
        record::encode_into(&mut bytes, &header, key.as_bytes(), b"", b"v");
    }
    std::fs::write(path, bytes)?;
    Ok(offsets)
}

#[test]
fn a_sealed_segment_ending_inside_a_batch_is_corruption() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sealed = segment_path(dir.path(), 1);
    let offsets = write_segment(&sealed, &[(1, "a", false), (2, "b", true), (3, "c", true)])?;
    write_segment(&segment_path(dir.path(), 2), &[(5, "d", false)])?;
    assert_corrupt(open(dir.path()), &sealed, offsets[1], "unfinished batch");
    Ok(())
}

#[test]
fn a_newest_segment_ending_inside_a_batch_loses_the_whole_batch() -> TestResult {
    let dir = tempfile::tempdir()?;
    let newest = segment_path(dir.path(), 1);
    let offsets = write_segment(&newest, &[(1, "a", false), (2, "b", true), (3, "c", true)])?;
    let db = open(dir.path())?;
    assert_eq!(
        db.recovery_report().truncated.clone().map(|t| (t.0, t.1)),
        Some((newest.clone(), offsets[1]))
    );
    assert_eq!(db.get(b"a")?, Some(b"v".to_vec()));
    assert_eq!((db.get(b"b")?, db.get(b"c")?), (None, None));
    assert_eq!(std::fs::metadata(&newest)?.len(), offsets[1]);
    // Sequence numbers of the lost batch are not reused.
    db.set(b"e", b"v", SetOptions::default())?;
    drop(db);
    let recs = records(&newest)?;
    let bytes = std::fs::read(&newest)?;
    let last = record::decode(&bytes[recs[1].0 as usize..]).map_err(|e| format!("{e:?}"))?;
    assert!(last.header.seq > 3);
    Ok(())
}

/// Damage the whole file at one byte at a time: each open must succeed with the state after a
/// prefix of the writes, or fail with `Corrupt` naming the damaged file; never panic.
#[test]
fn flipping_any_single_byte_never_panics_and_keeps_a_prefix() -> TestResult {
    let pristine = tempfile::tempdir()?;
    let keys: Vec<String> = (0..8).map(|i| format!("key{i}")).collect();
    // The state after each command.
    let mut snapshots: Vec<BTreeMap<String, Vec<u8>>> = vec![BTreeMap::new()];
    {
        let db = open(pristine.path())?;
        let mut state = BTreeMap::new();
        for step in 0..40usize {
            let key = &keys[step * 5 % keys.len()];
            if step % 7 == 6 {
                db.del(&[key.as_bytes()])?;
                state.remove(key);
            } else if step % 11 == 10 {
                let other = &keys[(step + 1) % keys.len()];
                db.mset(&[(key.as_bytes(), b"m1"), (other.as_bytes(), b"m2")])?;
                state.insert(key.clone(), b"m1".to_vec());
                state.insert(other.clone(), b"m2".to_vec());
            } else {
                let v = format!("{step}-").repeat(step % 9 + 1).into_bytes();
                db.set(key.as_bytes(), &v, SetOptions::default())?;
                state.insert(key.clone(), v);
            }
            snapshots.push(state.clone());
        }
    }
    let files = segments(pristine.path())?;
    assert!(files.len() >= 3, "{} segments", files.len());

    let scratch = tempfile::tempdir()?;
    let mut opened = 0;
    for (which, file) in files.iter().enumerate() {
        let path = scratch.path().join(file.file_name().ok_or("no name")?);
        let len = std::fs::metadata(file)?.len();
        for at in 0..len {
            copy_segments(pristine.path(), scratch.path())?;
            let mask = 1u8 << (at % 8);
            flip(&path, at, mask)?;
            let what = format!("{}: byte {at} ^ {mask:#x}", path.display());
            let outcome =
                std::panic::catch_unwind(|| -> kvdb::Result<BTreeMap<String, Vec<u8>>> {
                    let db = open(scratch.path())?;
                    let mut state = BTreeMap::new();
                    for key in &keys {
                        if let Some(v) = db.get(key.as_bytes())? {
                            state.insert(key.clone(), v);
                        }
                    }
                    Ok(state)
                });
            match outcome {
                Err(_) => panic!("{what}: open or read panicked"),
                Ok(Ok(state)) => {
                    opened += 1;
                    assert!(
                        snapshots.contains(&state),
                        "{what}: opened with a state that no prefix of the writes has"
                    );
                    // Damage to a sealed segment is only harmless in its reserved bytes.
                    if which + 1 < files.len() {
                        assert!(
                            (12..16).contains(&at),
                            "{what}: sealed damage went unnoticed"
                        );
                        assert_eq!(Some(&state), snapshots.last(), "{what}");
                    }
                }
                Ok(Err(Error::Corrupt { path: p, .. })) if p == path => {}
                Ok(Err(e)) => panic!("{what}: unexpected error {e:?}"),
            }
        }
    }
    assert!(opened > 0, "no damage was ever tolerated as a torn tail");
    Ok(())
}
