//! `kvdb check`: verify the files of a closed database, and repair what can be repaired, as
//! redis-check-aof does for an AOF.
//!
//! # What is checked
//! The directory lock is taken first (as [`Db::open`](crate::Db::open) takes it), so no process
//! has the database open meanwhile. Without `repair` nothing is written: the only file that may
//! be created is `LOCK`, when segments exist without one.
//!
//! * Every segment (`*.seg`): its header, then every record after it (header checks and CRC, as
//!   `record::decode`), batch framing (a record with `BATCH_MORE` must be followed by the rest of
//!   its batch, up to a record with the flag clear), and what replay rejects without needing
//!   other records: a `Meta` record's type byte, the version prefix of an element's sub-key.
//!   Damage is decided as recovery decides it (`engine::recovery`): in the newest segment (last
//!   in replay order) written by appending, damage with no valid record at any later offset is
//!   a *torn tail*, which open truncates (a warning); anything else is a problem, which makes
//!   open fail. Sealed segments and compaction outputs must be valid to their last byte.
//! * Every hint file (`*.hint`): it reads back (magic, CRC, entries), describes the segment as
//!   it is now (its header bytes and length), and every entry names the record at its offset
//!   (sequence number, database, kind, flags, expiry, key, sub-key, length, inline value). Open
//!   ignores a corrupt or stale hint and scans the segment (a warning), but it trusts the
//!   entries of a hint that matches, so a wrong entry is a problem. Entries pointing into
//!   damage already reported for the segment are not reported again.
//! * Leftovers, which open deletes (notices): `*.tmp` files (unfinished writes), segments that a
//!   finished compaction output replaced (with their hints), and hints without a segment.
//!
//! Not checked: what only replay can tell, such as an element whose value does not suit the
//! type of its collection.
//!
//! # What `repair` does
//! * A torn tail: the segment is truncated where open would truncate it, and fsync'd.
//! * Any other damaged segment is rewritten with its readable records, whole batches only: a
//!   batch any of whose records is unreadable is dropped entirely, so that repair never applies
//!   half a command. After a bad spot, reading resumes at the next offset where a valid record
//!   decodes (the byte-by-byte probe recovery uses). Whether the record found there starts a
//!   batch is told by the record just before it: its hint entry if it has one, else its header
//!   read without its CRC; if that cannot be told, the batch found there is dropped too, since
//!   it may be the end of a damaged one. (A flip of exactly the `BATCH_MORE` bit of a record
//!   without a hint entry fools this: the rest of its batch is then kept.) The records kept go,
//!   after the segment's own header, to `{name}.tmp`, which is fsync'd and renamed over the
//!   segment, and the directory is fsync'd.
//! * The hint of a repaired segment, and any corrupt, stale or wrong hint, is deleted (open then
//!   scans the segment). Leftovers are deleted as open would delete them.
//! * Every byte range dropped is reported with the keys it held: the records of dropped batches
//!   that decoded, and for unreadable bytes the live records the segment's hint file placed
//!   there; without a usable hint, the keys of record headers read from the damaged bytes
//!   without their CRC, marked *probably*.
//! * A segment whose header is unreadable is left alone: where its records replay is unknown
//!   (one too short to hold any record is deleted).
//!
//! After repairing, the directory is checked again, and [`CheckReport::remaining`] holds what
//! still needs repair.

use std::collections::BTreeMap;
use std::fmt::{self, Display, Write as _};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use fs2::FileExt;

use crate::collection::split_sub_key;
use crate::engine::recovery::{LOCK_FILE, next_valid_record, superseded};
use crate::error::{Error, Result};
use crate::keydir::ValueType;
use crate::log::hint::{self, HintFile};
use crate::log::mmap::map_sealed;
use crate::log::record::{self, DecodeError, HEADER_LEN, Header, Kind, RecordRef, SeqNo};
use crate::log::segment::{
    LEGACY_HEADER_LEN, SEGMENT_HEADER_LEN, SEGMENT_MAGIC, SegmentHeader, SegmentId, encode_header,
    order_key, parse_header, parse_segment_name, segment_path,
};
use crate::log::writer::sync_dir;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Something open cleans up by itself (a leftover file): nothing to repair.
    Notice,
    /// Damage open copes with (a torn tail it truncates, a hint it ignores): `repair` fixes it.
    Warning,
    /// Damage that makes open fail or load wrong data: `repair` fixes what can be fixed.
    Problem,
}

impl Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Problem => "problem",
        })
    }
}

/// One thing found wrong (or left over) in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file.
    pub path: PathBuf,
    /// Byte offset in the file, when the finding has one.
    pub offset: Option<u64>,
    /// How serious it is.
    pub severity: Severity,
    /// What is wrong, and what open or `repair` does about it.
    pub message: String,
}

impl Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.path.display())?;
        if let Some(offset) = self.offset {
            write!(f, "offset {offset}: ")?;
        }
        write!(f, "{}: {}", self.severity, self.message)
    }
}

/// What one record that a repair dropped was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostKey {
    /// Database index.
    pub db: u8,
    /// The record's kind (a lost `Delete` may bring an older value back).
    pub kind: Kind,
    /// The key (empty for a `Flush`).
    pub key: Vec<u8>,
    /// For an element record, the element's name (the sub-key after its 8-byte version).
    pub element: Option<Vec<u8>>,
    /// Read from a damaged record header without its CRC: a guess.
    pub probably: bool,
}

impl LostKey {
    /// The key of `rec`; `probably` if its CRC was not checked.
    fn of(rec: &RecordRef<'_>, probably: bool) -> LostKey {
        let element = match rec.header.kind {
            Kind::Element | Kind::ElementDelete => {
                split_sub_key(rec.sub).map(|(_, name)| name.to_vec())
            }
            _ => None,
        };
        LostKey {
            db: rec.header.db,
            kind: rec.header.kind,
            key: rec.key.to_vec(),
            element,
            probably,
        }
    }
}

impl Display for LostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.probably {
            f.write_str("probably ")?;
        }
        write!(f, "db {}", self.db)?;
        if self.kind != Kind::Flush {
            write!(f, " {}", quote(&self.key))?;
        }
        match (&self.element, self.kind) {
            (Some(name), _) => write!(f, " element {}", quote(name))?,
            (None, Kind::Element | Kind::ElementDelete) => f.write_str(" element (name unread)")?,
            (None, _) => {}
        }
        let what = match self.kind {
            Kind::Put | Kind::Element => "",
            Kind::Delete => " (a deletion)",
            Kind::Expire => " (an expiry change)",
            Kind::Flush => " (a FLUSHDB)",
            Kind::Meta => " (the collection's creation)",
            Kind::ElementDelete => " (the element's removal)",
        };
        f.write_str(what)
    }
}

/// A byte range a repair dropped, and what it held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loss {
    /// The bytes dropped, as offsets in the segment before the repair.
    pub range: Range<u64>,
    /// How many of them could not be read as records.
    pub unreadable: u64,
    /// The keys of the records dropped, as far as they are known.
    pub keys: Vec<LostKey>,
    /// What is known of the unreadable bytes when no key could be named for them.
    pub note: Option<String>,
}

/// One change `repair` made (or could not make).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// The file.
    pub path: PathBuf,
    /// What was done.
    pub action: String,
    /// What the change dropped.
    pub lost: Vec<Loss>,
}

/// The result of [`check`].
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Everything found, in the order checked (before any repair).
    pub findings: Vec<Finding>,
    /// Segment files checked (not counting leftovers).
    pub segments: usize,
    /// Valid records read.
    pub records: u64,
    /// Bytes of the segment files checked.
    pub bytes: u64,
    /// Hint files checked (not counting leftovers).
    pub hints: usize,
    /// Whether `repair` was asked for.
    pub repaired: bool,
    /// The changes made by `repair`.
    pub repairs: Vec<Repair>,
    /// After the repairs: what a second check still finds that needs repair.
    pub remaining: Vec<Finding>,
}

impl CheckReport {
    /// Whether the directory needs a repair: a warning or a problem was found (after `repair`:
    /// is still found).
    pub fn needs_repair(&self) -> bool {
        let findings = if self.repaired {
            &self.remaining
        } else {
            &self.findings
        };
        findings.iter().any(|f| f.severity >= Severity::Warning)
    }

    /// Number of findings of `severity` (before any repair).
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

impl Display for CheckReport {
    /// One line per finding, one per repair (each loss indented below it), then a summary.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            writeln!(f, "{finding}")?;
        }
        for repair in &self.repairs {
            writeln!(f, "{}: {}", repair.path.display(), repair.action)?;
            for loss in &repair.lost {
                let Range { start, end } = loss.range;
                write!(f, "  lost bytes {start}..{end} ({} bytes", end - start)?;
                if loss.unreadable > 0 {
                    write!(f, ", {} unreadable", loss.unreadable)?;
                }
                writeln!(f, ")")?;
                for key in &loss.keys {
                    writeln!(f, "    {key}")?;
                }
                if let Some(note) = &loss.note {
                    writeln!(f, "    {note}")?;
                }
            }
        }
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        write!(
            f,
            "checked {} ({} records, {} bytes) and {}: {}, {}, {}",
            plural(self.segments, "segment"),
            self.records,
            self.bytes,
            plural(self.hints, "hint file"),
            plural(self.count(Severity::Problem), "problem"),
            plural(self.count(Severity::Warning), "warning"),
            plural(self.count(Severity::Notice), "notice"),
        )?;
        if self.repaired {
            writeln!(f)?;
            if self.remaining.is_empty() {
                write!(f, "after the repairs, a new check finds nothing to repair")?;
            } else {
                write!(f, "after the repairs, a new check still finds:")?;
                for finding in &self.remaining {
                    write!(f, "\n  {finding}")?;
                }
            }
        }
        Ok(())
    }
}

/// Checks the database in `dir`, and repairs it if `repair` is set (see the module doc).
///
/// # Errors
///
/// [`Error::Io`] if `dir` is missing or is not a database directory (neither a `LOCK` file nor
/// a segment), or a file cannot be read or written; [`Error::Locked`] if a process has the
/// database open. Damage is never an error: it is in the report.
pub fn check(dir: &Path, repair: bool) -> Result<CheckReport> {
    let _lock = lock(dir)?;
    let mut report = run(dir, repair)?;
    if repair {
        let findings = if report.repairs.is_empty() {
            report.findings.clone()
        } else {
            run(dir, false)?.findings
        };
        report.remaining = findings
            .into_iter()
            .filter(|f| f.severity >= Severity::Warning)
            .collect();
    }
    Ok(report)
}

/// Takes the directory lock as open does, without creating anything but `LOCK`.
fn lock(dir: &Path) -> Result<File> {
    std::fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(LOCK_FILE);
    let file = if path.exists() {
        File::open(&path).map_err(|e| Error::io(&path, e))?
    } else {
        let names = Names::read(dir)?;
        if names.segments.is_empty() {
            let reason = "no LOCK file and no segment: not a kvdb data directory";
            return Err(Error::io(dir, std::io::Error::other(reason)));
        }
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?
    };
    if file.try_lock_exclusive().is_err() {
        return Err(Error::Locked {
            path: dir.to_owned(),
        });
    }
    Ok(file)
}

/// The files of a data directory, by kind.
#[derive(Debug, Default)]
struct Names {
    /// Segment ids, ascending.
    segments: Vec<SegmentId>,
    /// Ids of hint files, ascending.
    hints: Vec<SegmentId>,
    /// Unfinished writes (`*.tmp`), sorted.
    temps: Vec<PathBuf>,
}

impl Names {
    fn read(dir: &Path) -> Result<Names> {
        let mut names = Names::default();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if hint::is_temp_name(&name) {
                names.temps.push(entry.path());
            } else if let Some(id) = parse_segment_name(&name) {
                names.segments.push(id);
            } else if let Some(id) = hint::parse_hint_name(&name) {
                names.hints.push(id);
            }
        }
        names.segments.sort_unstable();
        names.hints.sort_unstable();
        names.temps.sort_unstable();
        Ok(names)
    }
}

/// One check of `dir` (locked by the caller), repairing if asked.
fn run(dir: &Path, repair: bool) -> Result<CheckReport> {
    let names = Names::read(dir)?;
    let mut report = CheckReport {
        repaired: repair,
        ..CheckReport::default()
    };
    let mut removed = false;

    for path in &names.temps {
        report.findings.push(Finding {
            path: path.clone(),
            offset: None,
            severity: Severity::Notice,
            message: "unfinished write, removed at the next open".into(),
        });
        if repair {
            remove(path, "removed (an unfinished write)", &mut report)?;
            removed = true;
        }
    }

    let mut headers = Vec::with_capacity(names.segments.len());
    for &id in &names.segments {
        headers.push((id, read_header(&segment_path(dir, id))?));
    }
    let replaced = superseded(&headers);
    if repair && !replaced.is_empty() {
        // As at open: the rename that published each output is made durable before its
        // inputs go.
        sync_dir(dir, None)?;
    }
    for &(id, by) in &replaced {
        let path = segment_path(dir, id);
        report.findings.push(Finding {
            path: path.clone(),
            offset: None,
            severity: Severity::Notice,
            message: format!(
                "replaced by compaction output {}, removed at the next open",
                segment_path(dir, by).display()
            ),
        });
        if repair {
            remove(
                &path,
                "removed (replaced by a compaction output)",
                &mut report,
            )?;
            let hint = hint::hint_path(dir, id);
            if hint.exists() {
                remove(
                    &hint,
                    "removed (the hint of a replaced segment)",
                    &mut report,
                )?;
            }
            removed = true;
        }
    }

    let mut live: Vec<(SegmentId, Option<SegmentHeader>)> = headers
        .into_iter()
        .filter(|(id, _)| !replaced.iter().any(|&(r, _)| r == *id))
        .collect();
    live.sort_unstable_by_key(|&(id, h)| h.map_or((id, id), |h| order_key(id, &h)));
    let newest = live.last().map(|&(id, _)| id);
    let mut by_id = live.clone();
    by_id.sort_unstable_by_key(|&(id, _)| id);
    for (id, header) in by_id {
        check_segment(dir, id, header, newest == Some(id), repair, &mut report)?;
    }

    for &id in &names.hints {
        let has_segment = names.segments.contains(&id);
        if has_segment {
            continue; // checked with its segment, or removed with it
        }
        let path = hint::hint_path(dir, id);
        report.findings.push(Finding {
            path: path.clone(),
            offset: None,
            severity: Severity::Notice,
            message: "orphan hint: its segment is gone; removed at the next open".into(),
        });
        if repair {
            remove(&path, "removed (an orphan hint)", &mut report)?;
            removed = true;
        }
    }
    if removed {
        sync_dir(dir, None)?;
    }
    Ok(report)
}

/// Removes `path` and records the repair.
fn remove(path: &Path, action: &str, report: &mut CheckReport) -> Result<()> {
    std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    report.repairs.push(Repair {
        path: path.to_owned(),
        action: action.to_owned(),
        lost: Vec::new(),
    });
    Ok(())
}

/// The header of the segment at `path`, `None` if it does not parse.
fn read_header(path: &Path) -> Result<Option<SegmentHeader>> {
    let mut head = Vec::with_capacity(SEGMENT_HEADER_LEN as usize);
    File::open(path)
        .and_then(|f| f.take(SEGMENT_HEADER_LEN).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    Ok(parse_header(&head).ok())
}

/// A record of a dropped batch that decoded.
#[derive(Debug)]
struct LostRecord {
    offset: u64,
    key: LostKey,
}

/// A place where no valid record could be read.
#[derive(Debug)]
struct Spot {
    /// Offset of the bad record.
    at: u64,
    /// Where reading resumed: the next valid record, or the end of the file.
    end: u64,
    /// Start of the batch the bad record belonged to, as far as it was read.
    batch_start: u64,
    /// Why the record is bad.
    reason: &'static str,
    /// Whether a valid record follows (else the damage runs to the end of the file).
    resynced: bool,
    /// The record decoded, but replay would reject it: never a torn tail.
    rejected: bool,
}

/// What reading a segment's records found.
#[derive(Debug, Default)]
struct Scan {
    /// Valid records read.
    records: u64,
    /// Highest sequence number read.
    max_seq: Option<SeqNo>,
    /// The byte ranges of complete, valid batches, in order: what a rewrite keeps.
    kept: Vec<Range<u64>>,
    /// Places where no valid record could be read.
    spots: Vec<Spot>,
    /// The records of dropped batches that decoded.
    lost: Vec<LostRecord>,
    /// Start of a batch the end of the file cut short (not already dropped with a bad spot).
    unfinished: Option<u64>,
}

/// The first offset at or after `from` where a valid record starts (recovery's probe).
fn next_valid(buf: &[u8], from: u64) -> Option<u64> {
    let from = usize::try_from(from).ok()?;
    next_valid_record(buf, from).map(|p| p as u64)
}

/// What replay rejects in a record that decodes (see `recovery::apply`).
fn rejected(rec: &RecordRef<'_>) -> Option<&'static str> {
    match rec.header.kind {
        Kind::Meta => {
            let known = match rec.value {
                [byte] if !rec.header.is_compressed() => {
                    ValueType::collection_from_byte(*byte).is_some()
                }
                _ => false,
            };
            (!known).then_some("metadata record with an unknown collection type")
        }
        Kind::Element | Kind::ElementDelete => split_sub_key(rec.sub)
            .is_none()
            .then_some("element record without a version"),
        _ => None,
    }
}

/// A record header at `at`, parsed without its CRC.
fn lenient_header(buf: &[u8], at: u64) -> Option<Header> {
    let at = usize::try_from(at).ok()?;
    let head = buf.get(at..)?.first_chunk::<HEADER_LEN>()?;
    Header::parse(head).ok()
}

/// Length and "batch continues" flag of records at known offsets, from the segment's hint.
type Known = BTreeMap<u64, (u64, bool)>;

/// Whether the damaged bytes `at..next` end with a record that ends its batch: the records,
/// one after another from `at`, land exactly on `next` and the last one has its `BATCH_MORE`
/// flag clear. Each record's length and flag come from the hint (`known`) or from its header
/// read without CRC. `false` when that cannot be told.
fn ends_batch(buf: &[u8], known: &Known, mut at: u64, next: u64) -> bool {
    loop {
        let (len, continues) = match known.get(&at) {
            Some(&entry) => entry,
            None => match lenient_header(buf, at) {
                Some(h) => (h.record_len(), h.batch_continues()),
                None => return false,
            },
        };
        at = at.saturating_add(len);
        if at == next {
            return !continues;
        }
        if at > next {
            return false;
        }
    }
}

/// Reads every record of `buf` after a header of `start` bytes; `known` as for [`ends_batch`].
fn scan_records(buf: &[u8], start: u64, known: &Known) -> Scan {
    let len = buf.len() as u64;
    let mut scan = Scan::default();
    let mut pos = start;
    let mut batch: Vec<LostRecord> = Vec::new();
    let mut batch_start = pos;
    // The batch being read may be the end of a batch whose start was unreadable: drop it.
    let mut doomed = false;
    while pos < len {
        let rest = usize::try_from(pos)
            .ok()
            .and_then(|p| buf.get(p..))
            .unwrap_or_default();
        // Why no usable record starts here, and, for a record replay would reject, its key,
        // length and whether its batch goes on.
        let (reason, rejected) = match record::decode(rest) {
            Ok(rec) => match rejected(&rec) {
                None => {
                    scan.records += 1;
                    let seq = rec.header.seq;
                    scan.max_seq = Some(scan.max_seq.map_or(seq, |m| m.max(seq)));
                    if batch.is_empty() {
                        batch_start = pos;
                    }
                    batch.push(LostRecord {
                        offset: pos,
                        key: LostKey::of(&rec, false),
                    });
                    pos += rec.header.record_len();
                    if !rec.header.batch_continues() {
                        if doomed {
                            scan.lost.append(&mut batch);
                            doomed = false;
                        } else {
                            scan.kept.push(batch_start..pos);
                            batch.clear();
                        }
                    }
                    continue;
                }
                Some(reason) => {
                    scan.records += 1;
                    let key = LostKey::of(&rec, false);
                    let h = rec.header;
                    (reason, Some((key, h.record_len(), h.batch_continues())))
                }
            },
            Err(DecodeError::Incomplete { .. }) => ("truncated record", None),
            Err(DecodeError::Invalid(reason)) => (reason, None),
        };
        let this_batch_start = if batch.is_empty() { pos } else { batch_start };
        scan.lost.append(&mut batch);
        let is_rejected = rejected.is_some();
        let (next, ended) = match rejected {
            Some((key, record_len, continues)) => {
                scan.lost.push(LostRecord { offset: pos, key });
                let next = pos.saturating_add(record_len);
                (Some(next).filter(|&n| n < len), !continues)
            }
            None => {
                let next = next_valid(buf, pos + 1);
                (next, next.is_some_and(|n| ends_batch(buf, known, pos, n)))
            }
        };
        let reason = match reason {
            // Not cut short: its length field is damaged.
            "truncated record" if next.is_some() => "record length past the end of the file",
            reason => reason,
        };
        scan.spots.push(Spot {
            at: pos,
            end: next.unwrap_or(len),
            batch_start: this_batch_start,
            reason,
            resynced: next.is_some(),
            rejected: is_rejected,
        });
        doomed = !ended;
        batch_start = next.unwrap_or(len);
        pos = next.unwrap_or(len);
    }
    if !batch.is_empty() {
        if !doomed {
            scan.unfinished = Some(batch_start);
        }
        scan.lost.append(&mut batch);
    }
    scan
}

/// The parts of `start..end` not covered by `kept` (sorted, disjoint ranges inside it).
fn dropped_ranges(kept: &[Range<u64>], start: u64, end: u64) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    let mut at = start;
    for range in kept {
        if range.start > at {
            out.push(at..range.start);
        }
        at = at.max(range.end);
    }
    if at < end {
        out.push(at..end);
    }
    out
}

/// Checks segment `id` (and its hint), and repairs them if asked.
fn check_segment(
    dir: &Path,
    id: SegmentId,
    header: Option<SegmentHeader>,
    newest: bool,
    repair: bool,
    report: &mut CheckReport,
) -> Result<()> {
    let path = segment_path(dir, id);
    let hint_path = hint::hint_path(dir, id);
    let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
    report.segments += 1;
    report.bytes += file_len;
    let finding = |offset: u64, severity: Severity, message: String| Finding {
        path: path.clone(),
        offset: Some(offset),
        severity,
        message,
    };

    let Some(header) = header else {
        // Too short for a header, or a header that does not parse.
        let mut head = Vec::new();
        (&file)
            .take(SEGMENT_HEADER_LEN)
            .read_to_end(&mut head)
            .map_err(|e| Error::io(&path, e))?;
        let reason = match parse_header(&head) {
            Err(reason) => reason,
            Ok(_) => "segment header changed while being checked".to_owned(),
        };
        if hint_path.exists() {
            check_hint_file_only(&hint_path, report);
        }
        let torn = newest
            && (file_len < LEGACY_HEADER_LEN
                || (file_len < SEGMENT_HEADER_LEN && head.starts_with(&SEGMENT_MAGIC)));
        if torn {
            report.findings.push(finding(
                0,
                Severity::Warning,
                format!(
                    "torn tail: {file_len} bytes (segment header incomplete); open rewrites the \
                     header"
                ),
            ));
            if repair {
                drop(file);
                rewrite_header(&path, file_len, report)?;
                remove_stale_hint(&hint_path, report)?;
            }
        } else {
            report.findings.push(finding(
                0,
                Severity::Problem,
                format!("bad segment header ({reason})"),
            ));
            if repair {
                if file_len < LEGACY_HEADER_LEN {
                    // No room for a record: nothing is lost by removing it.
                    drop(file);
                    remove(
                        &path,
                        "removed (too short to hold a header or a record)",
                        report,
                    )?;
                    remove_stale_hint(&hint_path, report)?;
                    sync_dir(dir, None)?;
                } else {
                    report.repairs.push(Repair {
                        path: path.clone(),
                        action: "not repaired: with its header unreadable, where its records \
                                 replay is unknown; move the file out of the directory to open \
                                 the database without it"
                            .into(),
                        lost: Vec::new(),
                    });
                }
            }
        }
        return Ok(());
    };

    let map = map_sealed(&file).map_err(|e| Error::io(&path, e))?;
    let buf: &[u8] = &map;
    let hint = hint_path.exists().then(|| read_hint(&hint_path, buf));
    let mut scan = scan_records(buf, header.len, &Known::new());
    if !scan.spots.is_empty()
        && let Some(Ok(hint)) = &hint
    {
        // Read it again, telling batch ends in the damage from the hint's entries (built only
        // now: damage is rare, and the map costs memory per record).
        let known: Known = hint
            .entries()
            .map(|e| {
                let h = &e.record.header;
                (u64::from(e.offset), (h.record_len(), h.batch_continues()))
            })
            .collect();
        scan = scan_records(buf, header.len, &known);
    }
    report.records += scan.records;

    // Torn tail or corruption, exactly as recovery decides.
    let tail_allowed = newest && !header.is_compacted();
    let mut torn_at = None;
    for (i, spot) in scan.spots.iter().enumerate() {
        if i == 0 && tail_allowed && !spot.resynced && !spot.rejected {
            torn_at = Some(spot.batch_start);
            report.findings.push(finding(
                spot.batch_start,
                Severity::Warning,
                format!(
                    "torn tail: {} bytes ({}); open truncates it",
                    file_len - spot.batch_start,
                    spot.reason
                ),
            ));
        } else {
            let what = if spot.rejected { "invalid" } else { "corrupt" };
            report.findings.push(finding(
                spot.at,
                Severity::Problem,
                format!("{what} record ({})", spot.reason),
            ));
        }
    }
    if let Some(start) = scan.unfinished {
        if scan.spots.is_empty() && tail_allowed {
            torn_at = Some(start);
            report.findings.push(finding(
                start,
                Severity::Warning,
                format!(
                    "torn tail: {} bytes (batch without its last record); open truncates it",
                    file_len - start
                ),
            ));
        } else {
            report.findings.push(finding(
                start,
                Severity::Problem,
                "batch without its last record".into(),
            ));
        }
    }
    let damaged = !scan.spots.is_empty() || scan.unfinished.is_some();
    let dropped = dropped_ranges(&scan.kept, header.len, file_len);

    let usable_hint = match hint {
        None => HintState::Missing,
        Some(Err(finding)) => {
            report.hints += 1;
            report.findings.push(finding);
            HintState::Bad
        }
        Some(Ok(hint)) => {
            report.hints += 1;
            if check_entries(&hint_path, &hint, buf, &scan, &dropped, report) {
                HintState::Usable(hint)
            } else {
                HintState::Bad
            }
        }
    };

    if !repair {
        return Ok(());
    }
    if damaged {
        let hint = match &usable_hint {
            HintState::Usable(hint) => Some(hint),
            _ => None,
        };
        let lost = losses(buf, &scan, &dropped, hint);
        remove_stale_hint(&hint_path, report)?;
        match torn_at {
            Some(at) => {
                drop(map);
                truncate(&path, at)?;
                report.repairs.push(Repair {
                    path: path.clone(),
                    action: format!(
                        "truncated at offset {at}, as open would ({} bytes dropped)",
                        file_len - at
                    ),
                    lost,
                });
            }
            None => {
                let kept_bytes: u64 = scan.kept.iter().map(|r| r.end - r.start).sum();
                rewrite(dir, &path, buf, header.len, &scan.kept)?;
                report.repairs.push(Repair {
                    path: path.clone(),
                    action: format!(
                        "rewritten with its readable batches: {kept_bytes} bytes of records \
                         kept, {} dropped",
                        file_len - header.len - kept_bytes
                    ),
                    lost,
                });
            }
        }
    } else if matches!(usable_hint, HintState::Bad) {
        remove(&hint_path, "removed (open would not use it)", report)?;
        sync_dir(dir, None)?;
    }
    Ok(())
}

/// What a segment's hint file turned out to be.
#[derive(Debug)]
enum HintState {
    /// There is none.
    Missing,
    /// It describes the segment as it is (its entries may point into damage).
    Usable(HintFile),
    /// Corrupt, stale or wrong: to be deleted.
    Bad,
}

/// Reports a hint file whose segment could not be read; it is never usable.
fn check_hint_file_only(path: &Path, report: &mut CheckReport) {
    report.hints += 1;
    if let Err(e) = HintFile::read(path) {
        report.findings.push(hint_read_finding(path, e));
    }
}

/// The finding for a hint that does not read back.
fn hint_read_finding(path: &Path, error: Error) -> Finding {
    let (offset, what) = match error {
        Error::Corrupt { offset, reason, .. } => (Some(offset), reason),
        other => (None, error_chain(&other)),
    };
    Finding {
        path: path.to_owned(),
        offset,
        severity: Severity::Warning,
        message: format!("corrupt hint ({what}); open ignores it and scans the segment"),
    }
}

/// An error and its causes, on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

/// Reads the hint at `path` and checks that it describes its segment `buf` as it is now; `Err`
/// is the finding that says why it does not.
fn read_hint(path: &Path, buf: &[u8]) -> std::result::Result<HintFile, Finding> {
    let hint = HintFile::read(path).map_err(|e| hint_read_finding(path, e))?;
    let head = buf.get(..SEGMENT_HEADER_LEN as usize).unwrap_or(buf);
    if *hint.identity() != hint::identity(head) || hint.segment_len() != buf.len() as u64 {
        return Err(Finding {
            path: path.to_owned(),
            offset: None,
            severity: Severity::Warning,
            message: "stale hint: describes another version of its segment; open ignores it \
                      and scans the segment"
                .into(),
        });
    }
    Ok(hint)
}

/// Checks every entry of `hint` (at `path`) against the record it points at in `buf`, and its
/// highest sequence number against the records read (`scan`); entries in `dropped` ranges are
/// skipped. Returns whether the hint is right.
fn check_entries(
    path: &Path,
    hint: &HintFile,
    buf: &[u8],
    scan: &Scan,
    dropped: &[Range<u64>],
    report: &mut CheckReport,
) -> bool {
    let mut wrong = 0u64;
    let mut first = None;
    for (n, entry) in hint.entries().enumerate() {
        let offset = u64::from(entry.offset);
        let end = offset + entry.record.header.record_len();
        if dropped.iter().any(|r| r.start < end && offset < r.end) {
            continue; // in damage already reported for the segment
        }
        if let Some(why) = entry_mismatch(buf, offset, &entry.record) {
            wrong += 1;
            first.get_or_insert((n, offset, why));
        }
    }
    let mut bad = false;
    if let Some((n, offset, why)) = first {
        bad = true;
        report.findings.push(Finding {
            path: path.to_owned(),
            offset: None,
            severity: Severity::Problem,
            message: format!(
                "hint entry {n} points at offset {offset}, where {why} ({wrong} of {} entries \
                 are wrong); open would load wrong data from it",
                hint.len()
            ),
        });
    }
    if let Some(max) = scan.max_seq
        && hint.max_seq() < max
    {
        bad = true;
        report.findings.push(Finding {
            path: path.to_owned(),
            offset: Some(64),
            severity: Severity::Problem,
            message: format!(
                "the hint says the highest sequence number is {}, but the segment holds {max}; \
                 open could reuse sequence numbers",
                hint.max_seq()
            ),
        });
    }
    !bad
}

/// Why the record at `offset` of `buf` is not the one the hint entry `want` describes.
fn entry_mismatch(buf: &[u8], offset: u64, want: &RecordRef<'_>) -> Option<String> {
    let rest = usize::try_from(offset).ok().and_then(|o| buf.get(o..));
    let Some(got) = rest.and_then(|b| record::decode(b).ok()) else {
        return Some("no valid record starts".into());
    };
    let (g, w) = (&got.header, &want.header);
    let field = if g.seq != w.seq {
        "sequence number"
    } else if g.db != w.db {
        "database"
    } else if g.kind != w.kind {
        "kind"
    } else if got.key != want.key {
        "key"
    } else if got.sub != want.sub {
        "sub-key"
    } else if g.flags != w.flags {
        "flags"
    } else if g.expires_at != w.expires_at {
        "expiry"
    } else if g.record_len() != w.record_len() {
        "length"
    } else if w.value_len as usize == want.value.len() && got.value != want.value {
        "value"
    } else {
        return None;
    };
    Some(format!("the record has another {field}"))
}

/// What each dropped range of a damaged segment held.
fn losses(buf: &[u8], scan: &Scan, dropped: &[Range<u64>], hint: Option<&HintFile>) -> Vec<Loss> {
    let mut out = Vec::new();
    for range in dropped {
        let inside = |offset: u64| range.contains(&offset);
        let mut keys: Vec<(u64, LostKey)> = scan
            .lost
            .iter()
            .filter(|r| inside(r.offset))
            .map(|r| (r.offset, r.key.clone()))
            .collect();
        let mut unreadable = 0;
        let mut note = None;
        for spot in scan.spots.iter().filter(|s| inside(s.at) && !s.rejected) {
            unreadable += spot.end - spot.at;
            let before = keys.len();
            let bytes = spot.at..spot.end;
            match hint {
                Some(hint) => {
                    keys.extend(
                        hint.entries()
                            .filter(|e| bytes.contains(&u64::from(e.offset)))
                            .map(|e| (u64::from(e.offset), LostKey::of(&e.record, false))),
                    );
                    if keys.len() == before {
                        note = Some("no live record in the unreadable bytes, per the hint file");
                    }
                }
                None => {
                    keys.extend(guessed_keys(buf, spot.at, spot.end));
                    if keys.len() == before {
                        note = Some("what the unreadable bytes held is unknown");
                    }
                }
            }
        }
        keys.sort_by_key(|(offset, _)| *offset);
        let mut loss = Loss {
            range: range.clone(),
            unreadable,
            keys: Vec::with_capacity(keys.len()),
            note: note.map(str::to_owned),
        };
        for (_, key) in keys {
            if !loss.keys.contains(&key) {
                loss.keys.push(key);
            }
        }
        out.push(loss);
    }
    out
}

/// The keys of the record headers readable without CRC, one after another from `at` in the
/// damaged bytes `at..end`, with their offsets.
fn guessed_keys(buf: &[u8], mut at: u64, end: u64) -> Vec<(u64, LostKey)> {
    let mut keys = Vec::new();
    while at < end {
        let Some(h) = lenient_header(buf, at) else {
            break;
        };
        let key_start = at + HEADER_LEN as u64;
        let key_end = key_start + u64::from(h.key_len);
        let sub_end = key_end + u64::from(h.sub_len);
        let slice = |r: Range<u64>| {
            let r = usize::try_from(r.start).ok()?..usize::try_from(r.end).ok()?;
            buf.get(r)
        };
        let Some(key) = slice(key_start..key_end) else {
            break;
        };
        let sub = slice(key_end..sub_end).unwrap_or_default();
        let rec = RecordRef {
            header: h,
            key,
            sub,
            value: &[],
        };
        keys.push((at, LostKey::of(&rec, true)));
        at = at.saturating_add(h.record_len());
    }
    keys
}

/// Deletes the hint of a segment about to change, if it has one.
fn remove_stale_hint(path: &Path, report: &mut CheckReport) -> Result<()> {
    if path.exists() {
        remove(path, "removed (stale once its segment is repaired)", report)?;
    }
    Ok(())
}

/// Cuts the segment at `path` to `len` bytes and fsyncs it.
fn truncate(path: &Path, len: u64) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.set_len(len).map_err(|e| Error::io(path, e))?;
    file.sync_all().map_err(|e| Error::io(path, e))
}

/// Replaces a segment too short for its header with a fresh one, as open does.
fn rewrite_header(path: &Path, old_len: u64, report: &mut CheckReport) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.set_len(0).map_err(|e| Error::io(path, e))?;
    file.write_all(&encode_header())
        .map_err(|e| Error::io(path, e))?;
    file.sync_all().map_err(|e| Error::io(path, e))?;
    report.repairs.push(Repair {
        path: path.to_owned(),
        action: format!(
            "header rewritten, as open would ({old_len} bytes of an incomplete header dropped)"
        ),
        lost: Vec::new(),
    });
    Ok(())
}

/// Writes the segment header `buf[..header_len]` and the `kept` ranges of `buf` to
/// `{path}.tmp`, fsyncs it, renames it over `path` and fsyncs `dir`.
fn rewrite(
    dir: &Path,
    path: &Path,
    buf: &[u8],
    header_len: u64,
    kept: &[Range<u64>],
) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let write = || -> std::io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        let part = |r: Range<u64>| -> std::io::Result<&[u8]> {
            let r = usize::try_from(r.start)
                .ok()
                .zip(usize::try_from(r.end).ok());
            r.and_then(|(s, e)| buf.get(s..e))
                .ok_or_else(|| std::io::Error::other("range outside the segment"))
        };
        let mut out = std::io::BufWriter::with_capacity(1 << 20, &mut file);
        out.write_all(part(0..header_len)?)?;
        for range in kept {
            out.write_all(part(range.clone())?)?;
        }
        out.flush()?;
        drop(out);
        file.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    sync_dir(dir, None)
}

/// `bytes` in double quotes, escaped as redis-cli prints a bulk string.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &byte in bytes {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b' '..=b'~' => out.push(char::from(byte)),
            _ => {
                let _ = write!(out, "\\x{byte:02x}");
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::record::{FLAG_BATCH_MORE, encode_into};

    fn put(out: &mut Vec<u8>, seq: SeqNo, key: &[u8], flags: u8) {
        let header = Header {
            seq,
            db: 0,
            kind: Kind::Put,
            expires_at: 0,
            flags,
            key_len: 0,
            sub_len: 0,
            value_len: 0,
        };
        encode_into(out, &header, key, b"", b"some value");
    }

    #[test]
    fn quote_escapes_like_redis_cli() {
        assert_eq!(quote(b"a\"b\\c\n\xff "), r#""a\"b\\c\n\xff ""#);
    }

    #[test]
    fn a_damaged_batch_is_dropped_whole_and_reading_resumes_after_it() {
        let mut buf = vec![0u8; 32];
        put(&mut buf, 1, b"a", 0);
        let batch = buf.len() as u64;
        put(&mut buf, 2, b"b1", FLAG_BATCH_MORE);
        let bad = buf.len();
        put(&mut buf, 3, b"b2", FLAG_BATCH_MORE);
        put(&mut buf, 4, b"b3", 0);
        let after = buf.len() as u64;
        put(&mut buf, 5, b"c", 0);
        buf[bad + HEADER_LEN + 4] ^= 0xff; // in b2's value
        let scan = scan_records(&buf, 32, &Known::new());
        assert_eq!(scan.spots.len(), 1);
        assert_eq!(scan.spots[0].at, bad as u64);
        // b3 decodes, but the header of b2 says the batch went on: b3 is dropped with it.
        let dropped = dropped_ranges(&scan.kept, 32, buf.len() as u64);
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0], batch..after);
        let keys: Vec<&[u8]> = scan.lost.iter().map(|r| &r.key.key[..]).collect();
        assert_eq!(keys, [&b"b1"[..], b"b3"]);
        let guessed = guessed_keys(&buf, bad as u64, scan.spots[0].end);
        assert_eq!(guessed.len(), 1);
        let (offset, key) = &guessed[0];
        assert_eq!(*offset, bad as u64);
        assert_eq!((key.key.as_slice(), key.probably), (&b"b2"[..], true));
    }

    #[test]
    fn a_cut_batch_at_the_end_is_unfinished() {
        let mut buf = vec![0u8; 32];
        put(&mut buf, 1, b"a", 0);
        let start = buf.len() as u64;
        put(&mut buf, 2, b"b", FLAG_BATCH_MORE);
        let scan = scan_records(&buf, 32, &Known::new());
        assert!(scan.spots.is_empty());
        assert_eq!(scan.unfinished, Some(start));
    }
}
