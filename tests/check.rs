//! `kvdb check`: damage is found and located without changing a byte, and `--repair` leaves a
//! directory that checks clean, opens, and holds every key it did not report lost.
//!
//! Each test builds a database of several segments (strings, MSET batches, hashes written as
//! multi-record batches), closes it (which writes the hint files of the sealed segments),
//! damages one file and runs the check, as leveldb's `corruption_test.cc` does for open.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use kvdb::check::{CheckReport, Severity, check, quote};
use kvdb::log::hint::hint_path;
use kvdb::log::record;
use kvdb::log::segment::{SEGMENT_HEADER_LEN, parse_segment_name, segment_path};
use kvdb::{Db, Fsync, Options, Reply};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// What the database should hold.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(Vec<u8>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
}

type Model = BTreeMap<Vec<u8>, Value>;

fn options() -> Options {
    Options {
        segment_size: 4096,
        auto_compaction: false,
        active_expiry: None,
        fsync: Fsync::No,
        ..Options::default()
    }
}

fn ok(reply: Reply) -> TestResult {
    match reply {
        Reply::Error(e) => Err(e.into()),
        _ => Ok(()),
    }
}

/// Writes a few hundred keys into a new database in `dir`, closes it, and returns the model.
fn build(dir: &Path) -> TestResult<Model> {
    let db = Db::open_with(dir, options())?;
    let mut model = Model::new();
    for i in 0..300 {
        let key = format!("key:{i:03}");
        let value = format!("value {i} ").repeat(4);
        ok(db.execute(&["SET", &key, &value]))?;
        model.insert(key.into_bytes(), Value::Str(value.into_bytes()));
        if i % 10 == 0 {
            let key = format!("hash:{i:03}");
            let mut fields = BTreeMap::new();
            let mut argv = vec!["HSET".to_owned(), key.clone()];
            for f in 0..4 {
                let (name, value) = (format!("f{f}"), format!("field value {i}/{f}"));
                argv.extend([name.clone(), value.clone()]);
                fields.insert(name.into_bytes(), value.into_bytes());
            }
            ok(db.execute(&argv))?;
            model.insert(key.into_bytes(), Value::Hash(fields));
        }
        if i % 25 == 0 {
            let keys: Vec<String> = (0..3).map(|j| format!("m:{i:03}:{j}")).collect();
            let mut argv = vec!["MSET".to_owned()];
            for k in &keys {
                argv.extend([k.clone(), format!("m{k}")]);
                model.insert(
                    k.clone().into_bytes(),
                    Value::Str(format!("m{k}").into_bytes()),
                );
            }
            ok(db.execute(&argv))?;
        }
    }
    // The last batch is one record: the torn-tail test cuts into it.
    ok(db.execute(&["SET", "last", "the last value"]))?;
    model.insert(b"last".to_vec(), Value::Str(b"the last value".to_vec()));
    drop(db);
    Ok(model)
}

/// Opens the database and checks every key of `model` except those in `skip`.
fn verify(dir: &Path, model: &Model, skip: &BTreeSet<Vec<u8>>) -> TestResult {
    let db = Db::open_with(dir, options())?;
    for (key, value) in model {
        if skip.contains(key) {
            continue;
        }
        match value {
            Value::Str(v) => {
                assert_eq!(
                    db.execute(&[&b"GET"[..], key]),
                    Reply::Bulk(v.clone()),
                    "{key:?}"
                );
            }
            Value::Hash(fields) => {
                let len = i64::try_from(fields.len())?;
                assert_eq!(db.execute(&[&b"HLEN"[..], key]), Reply::Integer(len));
                for (name, v) in fields {
                    let got = db.execute(&[&b"HGET"[..], key, name]);
                    assert_eq!(got, Reply::Bulk(v.clone()), "{key:?} {name:?}");
                }
            }
        }
    }
    Ok(())
}

/// Every file of `dir` but LOCK, with its bytes.
fn snapshot(dir: &Path) -> TestResult<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != "LOCK" {
            files.insert(name, std::fs::read(entry.path())?);
        }
    }
    Ok(files)
}

/// Segment ids of `dir`, ascending.
fn segments(dir: &Path) -> TestResult<Vec<u32>> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        if let Some(id) = entry?.file_name().to_str().and_then(parse_segment_name) {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// The records of a segment file: (offset, length, key).
fn records(path: &Path) -> TestResult<Vec<(u64, u64, Vec<u8>)>> {
    let bytes = std::fs::read(path)?;
    let mut out = Vec::new();
    let mut pos = SEGMENT_HEADER_LEN as usize;
    while pos < bytes.len() {
        let rec = record::decode(&bytes[pos..]).map_err(|e| format!("{e:?}"))?;
        let len = rec.header.record_len();
        out.push((pos as u64, len, rec.key.to_vec()));
        pos += usize::try_from(len)?;
    }
    Ok(out)
}

/// The keys a repair reported lost.
fn lost_keys(report: &CheckReport) -> BTreeSet<Vec<u8>> {
    report
        .repairs
        .iter()
        .flat_map(|r| &r.lost)
        .flat_map(|l| &l.keys)
        .map(|k| k.key.clone())
        .collect()
}

/// Asserts that a check of `dir` finds nothing that needs repair.
fn assert_clean(dir: &Path) -> TestResult {
    let report = check(dir, false)?;
    assert!(!report.needs_repair(), "{report}");
    assert!(report.findings.is_empty(), "{report}");
    Ok(())
}

/// Flips the last byte of the record in the middle of a sealed segment; returns the segment,
/// the record's offset and its key.
fn damage_a_sealed_segment(dir: &Path) -> TestResult<(PathBuf, u64, Vec<u8>)> {
    let ids = segments(dir)?;
    assert!(ids.len() >= 4, "want several segments, got {ids:?}");
    let path = segment_path(dir, ids[ids.len() / 2]);
    let mut bytes = std::fs::read(&path)?;
    let middle = bytes.len() as u64 / 2;
    let (offset, len, key) = records(&path)?
        .into_iter()
        .find(|&(o, l, _)| o <= middle && middle < o + l)
        .ok_or("no record in the middle")?;
    let at = usize::try_from(offset + len - 1)?;
    bytes[at] ^= 0x5a;
    std::fs::write(&path, bytes)?;
    Ok((path, offset, key))
}

#[test]
fn a_clean_directory_has_no_findings_and_is_not_changed() -> TestResult {
    let dir = tempfile::tempdir()?;
    build(dir.path())?;
    let before = snapshot(dir.path())?;
    let report = check(dir.path(), false)?;
    assert!(report.findings.is_empty(), "{report}");
    assert!(!report.needs_repair());
    assert!(report.segments >= 4 && report.hints >= 3, "{report}");
    assert!(report.records > 300);
    assert_eq!(snapshot(dir.path())?, before);
    // --repair on a clean directory changes nothing either.
    let report = check(dir.path(), true)?;
    assert!(
        report.repairs.is_empty() && !report.needs_repair(),
        "{report}"
    );
    assert_eq!(snapshot(dir.path())?, before);
    Ok(())
}

#[test]
fn a_flipped_byte_in_a_sealed_segment_is_located_and_repair_drops_only_its_batch() -> TestResult {
    let dir = tempfile::tempdir()?;
    let model = build(dir.path())?;
    let (path, offset, key) = damage_a_sealed_segment(dir.path())?;

    let before = snapshot(dir.path())?;
    let report = check(dir.path(), false)?;
    assert!(report.needs_repair());
    let problems: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Problem)
        .collect();
    assert_eq!(problems.len(), 1, "{report}");
    assert_eq!(problems[0].path, path);
    assert_eq!(problems[0].offset, Some(offset));
    assert!(
        problems[0].message.contains("checksum mismatch"),
        "{report}"
    );
    assert_eq!(
        snapshot(dir.path())?,
        before,
        "a check without --repair wrote"
    );

    let report = check(dir.path(), true)?;
    assert!(!report.needs_repair(), "{report}");
    let lost = lost_keys(&report);
    assert!(lost.contains(&key), "{key:?} not reported lost:\n{report}");
    let text = report.to_string();
    assert!(text.contains(&quote(&key)), "{text}");
    assert!(text.contains("lost bytes"), "{text}");
    assert!(!hint_path(dir.path(), segment_id(&path)?).exists());

    assert_clean(dir.path())?;
    verify(dir.path(), &model, &lost)?;
    Ok(())
}

fn segment_id(path: &Path) -> TestResult<u32> {
    let name = path.file_name().and_then(|n| n.to_str()).ok_or("name")?;
    Ok(parse_segment_name(name).ok_or("not a segment")?)
}

#[test]
fn a_torn_tail_is_a_warning_and_repair_truncates_it_as_open_would() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut model = build(dir.path())?;
    let newest = *segments(dir.path())?.last().ok_or("no segment")?;
    let path = segment_path(dir.path(), newest);
    let (last, _, key) = records(&path)?.pop().ok_or("empty newest segment")?;
    assert_eq!(key, b"last");
    let len = std::fs::metadata(&path)?.len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)?
        .set_len(len - 5)?;

    let before = snapshot(dir.path())?;
    let report = check(dir.path(), false)?;
    assert_eq!(report.findings.len(), 1, "{report}");
    let finding = &report.findings[0];
    assert_eq!(finding.severity, Severity::Warning);
    assert_eq!((&finding.path, finding.offset), (&path, Some(last)));
    assert!(finding.message.starts_with("torn tail"), "{report}");
    assert!(report.needs_repair());
    assert_eq!(snapshot(dir.path())?, before);

    let report = check(dir.path(), true)?;
    assert!(!report.needs_repair(), "{report}");
    assert_eq!(std::fs::metadata(&path)?.len(), last);
    assert_eq!(lost_keys(&report), BTreeSet::from([b"last".to_vec()]));
    assert_clean(dir.path())?;
    model.remove(&b"last"[..]);
    verify(dir.path(), &model, &BTreeSet::new())?;
    Ok(())
}

#[test]
fn a_corrupt_hint_is_reported_and_repair_deletes_it() -> TestResult {
    for damage in ["flip", "truncate"] {
        let dir = tempfile::tempdir()?;
        let model = build(dir.path())?;
        let id = segments(dir.path())?[1];
        let hint = hint_path(dir.path(), id);
        let mut bytes = std::fs::read(&hint)?;
        if damage == "flip" {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 1;
        } else {
            bytes.truncate(bytes.len() - 10);
        }
        std::fs::write(&hint, bytes)?;

        let before = snapshot(dir.path())?;
        let report = check(dir.path(), false)?;
        assert_eq!(report.findings.len(), 1, "{damage}: {report}");
        assert_eq!(report.findings[0].path, hint);
        assert_eq!(report.findings[0].severity, Severity::Warning);
        assert!(report.needs_repair());
        assert_eq!(snapshot(dir.path())?, before);

        let report = check(dir.path(), true)?;
        assert!(!report.needs_repair(), "{report}");
        assert!(!hint.exists());
        assert!(lost_keys(&report).is_empty());
        assert_clean(dir.path())?;
        verify(dir.path(), &model, &BTreeSet::new())?;
    }
    Ok(())
}

#[test]
fn a_stray_temporary_file_is_a_notice_and_repair_removes_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    build(dir.path())?;
    let clean = snapshot(dir.path())?;
    let tmp = dir.path().join("0000000099.seg.tmp");
    std::fs::write(&tmp, b"half a compaction")?;

    let report = check(dir.path(), false)?;
    assert_eq!(report.findings.len(), 1, "{report}");
    assert_eq!(report.findings[0].severity, Severity::Notice);
    assert_eq!(report.findings[0].path, tmp);
    assert!(!report.needs_repair());
    assert!(tmp.exists());

    let report = check(dir.path(), true)?;
    assert!(!report.needs_repair(), "{report}");
    assert!(!tmp.exists());
    assert_eq!(snapshot(dir.path())?, clean);
    Ok(())
}

#[test]
fn segments_a_finished_compaction_replaced_are_notices_and_repair_removes_them() -> TestResult {
    let dir = tempfile::tempdir()?;
    let model = build(dir.path())?;
    let old = snapshot(dir.path())?;
    {
        let db = Db::open_with(dir.path(), options())?;
        db.compact(|_, _| {})?;
    }
    // Put the inputs back, as a crash between the publication and the deletions leaves them.
    let now = snapshot(dir.path())?;
    let mut restored = 0;
    for (name, bytes) in &old {
        if !now.contains_key(name) && name.ends_with(".seg") {
            std::fs::write(dir.path().join(name), bytes)?;
            restored += 1;
        }
    }
    assert!(restored > 0, "the compaction replaced no segment");

    let report = check(dir.path(), false)?;
    assert_eq!(report.count(Severity::Notice), restored, "{report}");
    assert!(!report.needs_repair(), "{report}");
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.message.contains("replaced by compaction output")),
        "{report}"
    );
    let report = check(dir.path(), true)?;
    assert!(!report.needs_repair(), "{report}");
    assert_eq!(snapshot(dir.path())?, now);
    verify(dir.path(), &model, &BTreeSet::new())?;
    Ok(())
}

#[test]
fn an_open_database_or_a_missing_directory_is_an_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = Db::open_with(dir.path(), options())?;
    assert!(matches!(
        check(dir.path(), false),
        Err(kvdb::Error::Locked { .. })
    ));
    drop(db);
    assert!(check(dir.path(), false).is_ok());
    let missing = dir.path().join("missing");
    assert!(check(&missing, false).is_err());
    assert!(!missing.exists());
    let empty = tempfile::tempdir()?;
    assert!(check(empty.path(), false).is_err());
    assert_eq!(
        std::fs::read_dir(empty.path())?.count(),
        0,
        "check created a file"
    );
    Ok(())
}

#[test]
fn the_cli_exits_1_on_damage_and_repair_names_the_lost_key() -> TestResult {
    let dir = tempfile::tempdir()?;
    build(dir.path())?;
    let kvdb = |extra: &[&str]| -> TestResult<(Option<i32>, String)> {
        let out = Command::new(env!("CARGO_BIN_EXE_kvdb"))
            .arg("check")
            .arg("-d")
            .arg(dir.path())
            .args(extra)
            .output()?;
        Ok((out.status.code(), String::from_utf8(out.stdout)?))
    };
    let (code, out) = kvdb(&[])?;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("0 problems"), "{out}");

    let (path, offset, key) = damage_a_sealed_segment(dir.path())?;
    let (code, out) = kvdb(&[])?;
    assert_eq!(code, Some(1), "{out}");
    let line = format!(
        "{}: offset {offset}: problem: corrupt record",
        path.display()
    );
    assert!(out.contains(&line), "{out}");

    let (code, out) = kvdb(&["--repair"])?;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&quote(&key)), "{out}");
    let (code, out) = kvdb(&[])?;
    assert_eq!(code, Some(0), "{out}");

    let missing = dir.path().join("missing");
    let out = Command::new(env!("CARGO_BIN_EXE_kvdb"))
        .args(["check", "-d"])
        .arg(&missing)
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    Ok(())
}

/// Copies every file of `from` into `to`.
fn copy_dir(from: &Path, to: &Path) -> TestResult {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        std::fs::copy(entry.path(), to.join(entry.file_name()))?;
    }
    Ok(())
}

#[test]
fn wherever_a_byte_flips_repair_leaves_a_clean_database_missing_only_what_it_reports() -> TestResult
{
    let template = tempfile::tempdir()?;
    let model = build(template.path())?;
    let ids = segments(template.path())?;
    let sealed = segment_path(template.path(), ids[ids.len() / 2]);
    let newest = segment_path(template.path(), *ids.last().ok_or("no segment")?);
    // Every byte of a record header that matters, the first key byte and the last byte.
    let positions = [0, 4, 11, 12, 13, 21, 22, 23, 26, 27, 31, 34, 35];
    for (segment, has_hint) in [(&sealed, true), (&newest, false)] {
        let recs = records(segment)?;
        for &(offset, len, _) in recs.iter().step_by(recs.len().div_ceil(6)) {
            for at in positions
                .iter()
                .map(|&p| offset + p)
                .chain([offset + len - 1])
            {
                let dir = tempfile::tempdir()?;
                copy_dir(template.path(), dir.path())?;
                let path = dir.path().join(segment.file_name().ok_or("name")?);
                let mut bytes = std::fs::read(&path)?;
                bytes[usize::try_from(at)?] ^= 0x5a;
                std::fs::write(&path, bytes)?;

                let report = check(dir.path(), false)?;
                assert!(report.needs_repair(), "flip at {at} unnoticed");
                let report = check(dir.path(), true)?;
                let case = format!("flip at {at} of {}:\n{report}", path.display());
                assert!(!report.needs_repair(), "{case}");
                assert_clean(dir.path())?;
                let lost = lost_keys(&report);
                if has_hint {
                    // The hint names every live record in unreadable bytes.
                    assert!(!lost.is_empty(), "{case}");
                    verify(dir.path(), &model, &lost)?;
                } else {
                    Db::open_with(dir.path(), options())?;
                }
            }
        }
    }
    Ok(())
}

#[test]
fn a_sealed_segment_with_a_damaged_header_is_left_alone() -> TestResult {
    let dir = tempfile::tempdir()?;
    build(dir.path())?;
    let path = segment_path(dir.path(), segments(dir.path())?[1]);
    let mut bytes = std::fs::read(&path)?;
    bytes[20] ^= 1; // position: the header's CRC no longer matches
    std::fs::write(&path, &bytes)?;
    let report = check(dir.path(), true)?;
    assert_eq!(report.findings[0].path, path, "{report}");
    assert_eq!(report.findings[0].offset, Some(0));
    assert!(report.needs_repair(), "{report}");
    assert!(report.to_string().contains("not repaired"), "{report}");
    assert_eq!(std::fs::read(&path)?, bytes);
    Ok(())
}
