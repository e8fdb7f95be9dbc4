//! `eventfs-stress inject MNT`: the checks of `events/GROUP/EVENT/inject` and of event
//! filters that a shell cannot make well, on the eventfs mounted at `MNT` (which it
//! needs to itself: it creates the events `inj/ev` and `inj/sev` and the instance
//! `instances/inj`, and removes them at the end).
//!
//! - concurrent injects: writer threads inject records alternately into the top level's
//!   and the instance's `inject` (the top level filters `keep == 1`, the instance does
//!   not) while readers drain both `trace_pipe`s; every record that passes is read
//!   exactly once, from its own directory, and no other;
//! - the gate: a disabled event, or `tracing_on` 0, records nothing (the write still
//!   succeeds);
//! - errors: ENOENT for an unknown field, EINVAL for malformed input, ERANGE for a number
//!   above 64 bits, EPERM for a read; a refused write records nothing;
//! - filters: a bad one is refused (and logged in `error_log`) and the old one stays; a
//!   new one replaces it and applies to the next inject; `0` and an empty write clear; an
//!   instance's filter is its own; a group's `filter` sets every event's where it
//!   compiles; string fields (`==`, `~`);
//! - cleanup: an event enabled in the instance cannot be removed; after rmdir it can;
//!   nothing is left.
//!
//! Prints one line per check and `inject: N checks, N failed`; exits 0 if none failed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use libc::{EBUSY, EINVAL, ENOENT, EPERM, ERANGE};
use libc::{O_APPEND, O_NONBLOCK, O_RDONLY, O_TRUNC, O_WRONLY};

use crate::rng::mix64;
use crate::sys::{self, cpath, Errno, Fd};
use crate::text;

/// The group of the events the checks create.
const GROUP: &str = "inj";
/// The numeric event: the concurrent check's records.
const EVENT: &str = "ev";
/// Its fields.
const EVENT_DECL: &str = "u64 seq; u32 keep; u32 who";
/// The event with a string field.
const STR_EVENT: &str = "sev";
/// Its fields.
const STR_DECL: &str = "char name[8]; u64 n";
/// The instance (`instances/inj`).
const INSTANCE: &str = "inj";
/// Writer threads of the concurrent check, and records each injects.
const WRITERS: u64 = 3;
const RECORDS: u64 = 2000;
/// Readers of each directory's `trace_pipe` in the concurrent check.
const READERS: usize = 3;

/// One record of [`EVENT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rec {
    pub seq: u64,
    pub keep: u64,
    pub who: u64,
}

impl Rec {
    /// The `inject` text of the record.
    fn text(&self) -> String {
        format!("seq={} keep={} who={}", self.seq, self.keep, self.who)
    }
}

/// A `trace`/`trace_pipe` line split up: `<comm>-<pid> [CPU] FLAGS TS: EVENT: FIELDS`
/// gives the event name and the `NAME=VALUE` fields in order. `None` if the line is not
/// laid out so.
pub fn parse_line(line: &str) -> Option<(&str, Vec<(&str, &str)>)> {
    let l = text::split_trace_line(line)?;
    let fields = l
        .body
        .split(' ')
        .filter(|f| !f.is_empty())
        .map(|f| f.split_once('='))
        .collect::<Option<Vec<_>>>()?;
    Some((l.event, fields))
}

/// The record of a [`EVENT`] line (exactly `seq`, `keep`, `who`, in decimal).
pub fn parse_rec(line: &str) -> Option<Rec> {
    let (event, fields) = parse_line(line)?;
    if event != EVENT {
        return None;
    }
    match fields[..] {
        [("seq", seq), ("keep", keep), ("who", who)] => Some(Rec {
            seq: seq.parse().ok()?,
            keep: keep.parse().ok()?,
            who: who.parse().ok()?,
        }),
        _ => None,
    }
}

/// The `i`-th record of writer `w` in the concurrent check: a unique `seq`, a
/// pseudo-random `keep`, and whether it goes to the top level (else the instance):
/// alternately.
pub fn planned(w: u64, i: u64) -> (Rec, bool) {
    let seq = w * RECORDS + i + 1;
    let keep = mix64(seq ^ 0x1e7_c0de) & 1;
    (Rec { seq, keep, who: w }, i.is_multiple_of(2))
}

/// The instance's path.
fn inst(mnt: &str) -> String {
    format!("{mnt}/instances/{INSTANCE}")
}

/// `DIR/events/inj/EVENT/FILE`.
fn ev_file(dir: &str, event: &str, file: &str) -> String {
    format!("{dir}/events/{GROUP}/{event}/{file}")
}

fn open(path: &str, flags: i32) -> Result<Fd, String> {
    sys::open(&cpath(path), flags).map_err(|e| format!("open {path}: {e}"))
}

/// One `write(2)` of `text` to `path`; the outcome (a short count is EIO).
fn write_once(path: &str, text: &str) -> Result<(), Errno> {
    let fd = sys::open(&cpath(path), O_WRONLY)?;
    let n = sys::write(&fd, text.as_bytes())?;
    if n != text.len() {
        return Err(Errno(libc::EIO));
    }
    Ok(())
}

/// Writes `text` to `path`; it must succeed.
fn put(path: &str, text: &str) -> Result<(), String> {
    write_once(path, text).map_err(|e| format!("write {text:?} to {path}: {e}"))
}

fn get(path: &str) -> Result<String, String> {
    sys::read_file(path, 1 << 22)
        .map(|t| String::from_utf8_lossy(&t).into_owned())
        .map_err(|e| format!("read {path}: {e}"))
}

/// Empties `DIR`'s buffer.
fn clear(dir: &str) -> Result<(), String> {
    open(&format!("{dir}/trace"), O_WRONLY | O_TRUNC).map(drop)
}

/// The record lines of `DIR/trace`.
fn records(dir: &str) -> Result<Vec<String>, String> {
    Ok(get(&format!("{dir}/trace"))?
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(String::from)
        .collect())
}

/// Checks that `DIR/trace` holds exactly the lines whose fields are `want` (one
/// `FIELDS` text per record, in order, of `event`).
fn expect_records(dir: &str, event: &str, want: &[&str], after: &str) -> Result<(), String> {
    let lines = records(dir)?;
    let got: Vec<Option<String>> = lines
        .iter()
        .map(|l| {
            parse_line(l).filter(|(e, _)| *e == event).map(|(_, f)| {
                f.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        })
        .collect();
    if got.len() != want.len() || got.iter().zip(want).any(|(g, w)| g.as_deref() != Some(w)) {
        return Err(format!(
            "{dir}/trace after {after}: {lines:?}, expected {} record(s) {want:?}",
            want.len()
        ));
    }
    Ok(())
}

/// Injects `text` into `DIR`'s `event`; the write must return its full count.
fn inject(dir: &str, event: &str, text: &str) -> Result<(), String> {
    put(&ev_file(dir, event, "inject"), text)
}

/// Sets the state the single-record checks start from: `event` enabled in `dir`,
/// `tracing_on` 1, no filter, an empty buffer.
fn ready(dir: &str, event: &str) -> Result<(), String> {
    put(&ev_file(dir, event, "enable"), "1")?;
    put(&format!("{dir}/tracing_on"), "1")?;
    put(&ev_file(dir, event, "filter"), "0")?;
    clear(dir)
}

/// Removes what an earlier run may have left (errors ignored), then creates the events
/// and the instance.
fn setup(mnt: &str) -> Result<(), String> {
    let _ = sys::rmdir(&cpath(&inst(mnt)));
    let _ = write_once(&format!("{mnt}/events/{GROUP}/enable"), "0");
    let dynamic = format!("{mnt}/dynamic_events");
    let fd = open(&dynamic, O_WRONLY | O_APPEND)?;
    for ev in [EVENT, STR_EVENT] {
        let _ = sys::write(&fd, format!("-:{GROUP}/{ev}\n").as_bytes());
    }
    for (ev, decl) in [(EVENT, EVENT_DECL), (STR_EVENT, STR_DECL)] {
        let line = format!("s:{GROUP}/{ev} {decl}\n");
        sys::write(&fd, line.as_bytes()).map_err(|e| format!("write {line:?}: {e}"))?;
    }
    sys::mkdir(&cpath(&inst(mnt)), 0o755).map_err(|e| format!("mkdir {}: {e}", inst(mnt)))
}

/// Reads `path` (a `trace_pipe`) until it is empty after `done` was set; the records.
fn drain(path: &str, start: &Barrier, done: &AtomicBool) -> Result<Vec<Rec>, String> {
    let fd = open(path, O_RDONLY | O_NONBLOCK);
    start.wait();
    let fd = fd?;
    let mut got = Vec::new();
    let mut text = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        // Read `done` before the read: an empty buffer after every write has finished
        // means every record has gone to some reader.
        let finished = done.load(Ordering::Acquire);
        match sys::read(&fd, &mut buf) {
            Ok(0) => return Err(format!("{path}: read returned 0")),
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(Errno(libc::EAGAIN)) if finished => {
                if !text.is_empty() {
                    let rest = String::from_utf8_lossy(&text).into_owned();
                    return Err(format!("{path}: a line was cut short: {rest:?}"));
                }
                return Ok(got);
            }
            Err(Errno(libc::EAGAIN)) => {
                sys::poll_in(&fd, 100).map_err(|e| format!("poll {path}: {e}"))?;
                continue;
            }
            Err(e) => return Err(format!("read {path}: {e}")),
        }
        while let Some(i) = text.iter().position(|&c| c == b'\n') {
            let line: Vec<u8> = text.drain(..=i).collect();
            let line = String::from_utf8_lossy(&line).into_owned();
            match parse_rec(line.trim_end_matches('\n')) {
                Some(r) => got.push(r),
                None => return Err(format!("{path}: malformed line {line:?}")),
            }
        }
    }
}

/// Up to five examples of a kind of problem, and how many there were.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, what: &str, rec: &Rec) {
        self.0.push(format!("{what}: {rec:?}"));
    }

    fn result(self) -> Result<(), String> {
        if self.0.is_empty() {
            return Ok(());
        }
        let n = self.0.len();
        let shown: Vec<&String> = self.0.iter().take(8).collect();
        Err(format!("{n} problems, e.g. {shown:?}"))
    }
}

/// Check a: concurrent writers into both directories, concurrent readers of both.
fn check_concurrent(mnt: &str) -> Result<(), String> {
    let inst = inst(mnt);
    for dir in [mnt, inst.as_str()] {
        ready(dir, EVENT)?;
    }
    put(&ev_file(mnt, EVENT, "filter"), "keep == 1")?;
    let start = Arc::new(Barrier::new(2 * READERS + 1));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = [mnt, inst.as_str()]
        .into_iter()
        .flat_map(|dir| std::iter::repeat_n(format!("{dir}/trace_pipe"), READERS))
        .map(|path| {
            let start = start.clone();
            let done = done.clone();
            thread::spawn(move || drain(&path, &start, &done))
        })
        .collect();
    start.wait();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let top = ev_file(mnt, EVENT, "inject");
            let ins = ev_file(&inst, EVENT, "inject");
            thread::spawn(move || -> Result<(), String> {
                let top = open(&top, O_WRONLY)?;
                let ins = open(&ins, O_WRONLY)?;
                for i in 0..RECORDS {
                    let (rec, to_top) = planned(w, i);
                    let text = rec.text();
                    let fd = if to_top { &top } else { &ins };
                    match sys::write(fd, text.as_bytes()) {
                        Ok(n) if n == text.len() => {}
                        r => return Err(format!("inject {text:?}: {r:?}")),
                    }
                }
                Ok(())
            })
        })
        .collect();
    let mut errors = Vec::new();
    for w in writers {
        match w.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(_) => errors.push("writer panicked".to_string()),
        }
    }
    // Readers stop at the first empty read after this.
    done.store(true, Ordering::Release);
    let mut got: [HashMap<u64, (Rec, usize)>; 2] = Default::default();
    let mut per_reader = [Vec::new(), Vec::new()];
    for (k, r) in readers.into_iter().enumerate() {
        let side = k / READERS;
        match r.join() {
            Ok(Ok(recs)) => {
                per_reader[side].push(recs.len());
                for rec in recs {
                    got[side].entry(rec.seq).or_insert((rec, 0)).1 += 1;
                }
            }
            Ok(Err(e)) => errors.push(e),
            Err(_) => errors.push("reader panicked".to_string()),
        }
    }
    put(&ev_file(mnt, EVENT, "filter"), "0")?;
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    let mut p = Problems::default();
    let mut want = [0usize; 2];
    let mut injected = [0usize; 2];
    for w in 0..WRITERS {
        for i in 0..RECORDS {
            let (rec, to_top) = planned(w, i);
            let side = usize::from(!to_top);
            let other = 1 - side;
            injected[side] += 1;
            let passes = !to_top || rec.keep == 1;
            want[side] += usize::from(passes);
            match got[side].remove(&rec.seq) {
                None if passes => p.add("never read", &rec),
                None => {}
                Some(_) if !passes => p.add("read although the filter refuses it", &rec),
                Some((r, _)) if r != rec => p.add(&format!("read as {r:?}"), &rec),
                Some((_, n)) if n != 1 => p.add(&format!("read {n} times"), &rec),
                Some(_) => {}
            }
            if got[other].remove(&rec.seq).is_some() {
                p.add("read from the other directory", &rec);
            }
        }
    }
    for (side, left) in got.iter().enumerate() {
        for (rec, _) in left.values() {
            p.add(&format!("never injected, read from side {side}"), rec);
        }
    }
    p.result()?;
    println!(
        "inject: top level (filter keep == 1): {} of {} injected records passed, readers got \
         {:?}; instance (no filter): {} of {}, readers got {:?}",
        want[0], injected[0], per_reader[0], want[1], injected[1], per_reader[1]
    );
    Ok(())
}

/// Check b: a disabled event, or `tracing_on` 0, records nothing.
fn check_gate(mnt: &str) -> Result<(), String> {
    let inst = inst(mnt);
    for (dir, other) in [(mnt, inst.as_str()), (inst.as_str(), mnt)] {
        ready(dir, EVENT)?;
        ready(other, EVENT)?;
        put(&ev_file(dir, EVENT, "enable"), "0")?;
        inject(dir, EVENT, "seq=1 keep=1 who=0\n")?;
        expect_records(dir, EVENT, &[], "an inject into a disabled event")?;
        put(&ev_file(dir, EVENT, "enable"), "1")?;
        put(&format!("{dir}/tracing_on"), "0")?;
        let r = inject(dir, EVENT, "seq=2 keep=1 who=0\n");
        put(&format!("{dir}/tracing_on"), "1")?;
        r?;
        expect_records(dir, EVENT, &[], "an inject with tracing_on 0")?;
        inject(dir, EVENT, "seq=3 keep=1 who=0\n")?;
        expect_records(
            dir,
            EVENT,
            &["seq=3 keep=1 who=0"],
            "an inject (enabled, on)",
        )?;
        // The other directory, where the event is enabled too, got none of them.
        expect_records(other, EVENT, &[], &format!("injects into {dir}"))?;
    }
    Ok(())
}

/// Check c: the errors of `inject`, which record nothing.
fn check_errors(mnt: &str) -> Result<(), String> {
    let inst = inst(mnt);
    for dir in [mnt, inst.as_str()] {
        ready(dir, EVENT)?;
        ready(dir, STR_EVENT)?;
        let cases: [(&str, &str, i32); 10] = [
            (EVENT, "nosuch=1", ENOENT),
            (EVENT, "seq=1 nosuch=2", ENOENT),
            (EVENT, "seq", EINVAL),
            (EVENT, "seq=abc", EINVAL),
            (EVENT, "seq=12x", EINVAL),
            (EVENT, "=5", EINVAL),
            (EVENT, "seq=\"str\"", EINVAL),
            (EVENT, "seq=18446744073709551616", ERANGE),
            (EVENT, "keep=1 seq=99999999999999999999999", ERANGE),
            (STR_EVENT, "name=5", EINVAL),
        ];
        let mut bad = Vec::new();
        for (event, text, want) in cases {
            let r = write_once(&ev_file(dir, event, "inject"), text);
            if r != Err(Errno(want)) {
                bad.push(format!(
                    "{event} {text:?}: {}, expected {}",
                    r.map_or_else(|e| e.to_string(), |()| "ok".to_string()),
                    Errno(want)
                ));
            }
        }
        let path = ev_file(dir, EVENT, "inject");
        let fd = open(&path, O_RDONLY)?;
        let mut buf = [0u8; 64];
        match sys::read(&fd, &mut buf) {
            Err(Errno(EPERM)) => {}
            r => bad.push(format!("read {path}: {r:?}, expected EPERM")),
        }
        if !bad.is_empty() {
            return Err(format!("{dir}: {}", bad.join("; ")));
        }
        expect_records(dir, EVENT, &[], "refused injects")?;
        // Still usable, and both numbers and strings go through.
        inject(dir, EVENT, "seq=0x10 keep=1 who=2")?;
        inject(dir, STR_EVENT, "name=\"abc\" n=18446744073709551615")?;
        let lines = records(dir)?;
        let want = [
            (EVENT, "seq=16 keep=1 who=2"),
            (STR_EVENT, "name=abc n=18446744073709551615"),
        ];
        let ok = lines.len() == 2
            && lines.iter().zip(want).all(|(l, (e, f))| {
                parse_line(l).is_some_and(|(ev, fields)| {
                    let text: Vec<String> =
                        fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    ev == e && text.join(" ") == f
                })
            });
        if !ok {
            return Err(format!(
                "{dir}/trace after two valid injects: {lines:?}, expected {want:?}"
            ));
        }
        put(&ev_file(dir, STR_EVENT, "enable"), "0")?;
    }
    Ok(())
}

/// Checks that `path` (a `filter`) reads `want` (`none` or the filter text).
fn expect_filter(path: &str, want: &str, after: &str) -> Result<(), String> {
    let got = get(path)?;
    if got != format!("{want}\n") {
        return Err(format!(
            "{path} reads {got:?} after {after}, expected {want:?}"
        ));
    }
    Ok(())
}

/// Check d: setting, refusing, replacing and clearing filters.
fn check_filters(mnt: &str) -> Result<(), String> {
    let inst = inst(mnt);
    let filter = ev_file(mnt, EVENT, "filter");
    let inst_filter = ev_file(&inst, EVENT, "filter");
    ready(mnt, EVENT)?;
    ready(&inst, EVENT)?;
    expect_filter(&filter, "none", "a write of 0")?;
    put(&filter, "keep == 1")?;
    expect_filter(&filter, "keep == 1", "setting it")?;
    // Refused: the old filter stays, and the error is logged.
    let log = format!("{mnt}/error_log");
    let mut log_before = get(&log)?;
    for bad in [
        "nosuch == 1",
        "keep ==",
        // (A dangling `&&` is accepted, as mainline's parser accepts it.)
        "keep = 1",
        "(keep == 1",
        "keep ~ \"a*\"",
    ] {
        match write_once(&filter, bad) {
            Ok(()) => return Err(format!("bad filter {bad:?} accepted")),
            Err(e) => println!("inject: bad filter {bad:?}: {e}"),
        }
        expect_filter(&filter, "keep == 1", &format!("the bad filter {bad:?}"))?;
        let log_after = get(&log)?;
        if log_after == log_before {
            return Err(format!(
                "{log} unchanged by the bad filter {bad:?}: {log_after:?}"
            ));
        }
        log_before = log_after;
    }
    inject(mnt, EVENT, "seq=10 keep=0 who=0")?;
    inject(mnt, EVENT, "seq=11 keep=1 who=0")?;
    expect_records(mnt, EVENT, &["seq=11 keep=1 who=0"], "filter keep == 1")?;
    // A new filter replaces the old one, for the next inject.
    let f2 = "seq > 100 && keep == 0";
    put(&filter, f2)?;
    expect_filter(&filter, f2, "replacing it")?;
    clear(mnt)?;
    for text in [
        "seq=50 keep=0 who=1",
        "seq=150 keep=1 who=1",
        "seq=150 keep=0 who=1",
    ] {
        inject(mnt, EVENT, text)?;
    }
    expect_records(
        mnt,
        EVENT,
        &["seq=150 keep=0 who=1"],
        &format!("filter {f2}"),
    )?;
    // An empty write (`echo > filter`) clears it, and so does 0; O_TRUNC alone does not
    // (a refused `echo EXPR > filter` must keep the old filter).
    open(&filter, O_WRONLY | O_TRUNC).map(drop)?;
    expect_filter(&filter, f2, "O_TRUNC")?;
    put(&filter, "\n")?;
    expect_filter(&filter, "none", "an empty write")?;
    put(&filter, "who & 2")?;
    expect_filter(&filter, "who & 2", "setting it")?;
    put(&filter, "0")?;
    expect_filter(&filter, "none", "a write of 0")?;
    clear(mnt)?;
    inject(mnt, EVENT, "seq=1 keep=0 who=0")?;
    expect_records(mnt, EVENT, &["seq=1 keep=0 who=0"], "clearing the filter")?;
    // An instance's filter is its own.
    put(&inst_filter, "keep == 1")?;
    expect_filter(&filter, "none", "setting the instance's filter")?;
    expect_filter(&inst_filter, "keep == 1", "setting it")?;
    clear(mnt)?;
    clear(&inst)?;
    inject(mnt, EVENT, "seq=2 keep=0 who=0")?;
    inject(&inst, EVENT, "seq=3 keep=0 who=0")?;
    inject(&inst, EVENT, "seq=4 keep=1 who=0")?;
    expect_records(mnt, EVENT, &["seq=2 keep=0 who=0"], "an instance filter")?;
    expect_records(
        &inst,
        EVENT,
        &["seq=4 keep=1 who=0"],
        "its filter keep == 1",
    )?;
    put(&inst_filter, "0")?;
    expect_filter(&inst_filter, "none", "a write of 0")?;
    // Strings: == and ~ (glob).
    ready(mnt, STR_EVENT)?;
    let sfilter = ev_file(mnt, STR_EVENT, "filter");
    for (f, want) in [
        ("name ~ \"ab*\"", &["name=abc n=1", "name=abd n=3"][..]),
        (
            "name == \"xyz\" || n > 3",
            &["name=xyz n=2", "name=q n=4"][..],
        ),
        ("!(name ~ \"*b*\")", &["name=xyz n=2", "name=q n=4"][..]),
    ] {
        put(&sfilter, f)?;
        expect_filter(&sfilter, f, "setting it")?;
        clear(mnt)?;
        for text in [
            "name=\"abc\" n=1",
            "name=\"xyz\" n=2",
            "name=\"abd\" n=3",
            "name='q' n=4",
        ] {
            inject(mnt, STR_EVENT, text)?;
        }
        expect_records(mnt, STR_EVENT, want, &format!("filter {f}"))?;
    }
    put(&sfilter, "0")?;
    // A group's filter: set on every event where it compiles (seq exists in ev only).
    let gfilter = format!("{mnt}/events/{GROUP}/filter");
    put(&gfilter, "seq == 7")?;
    expect_filter(&filter, "seq == 7", "the group filter seq == 7")?;
    let s = get(&sfilter)?;
    if s.contains("seq") {
        return Err(format!(
            "{sfilter} reads {s:?} after the group filter seq == 7, which does not compile for it"
        ));
    }
    clear(mnt)?;
    inject(mnt, EVENT, "seq=7 keep=0 who=0")?;
    inject(mnt, EVENT, "seq=8 keep=0 who=0")?;
    expect_records(
        mnt,
        EVENT,
        &["seq=7 keep=0 who=0"],
        "the group filter seq == 7",
    )?;
    expect_filter(&inst_filter, "none", "the top level's group filter")?;
    put(&gfilter, "0")?;
    expect_filter(&filter, "none", "0 to the group filter")?;
    expect_filter(&sfilter, "none", "0 to the group filter")?;
    put(&ev_file(mnt, STR_EVENT, "enable"), "0")?;
    Ok(())
}

/// Check e: remove everything; the event enabled in the instance holds until the
/// instance goes.
fn check_cleanup(mnt: &str) -> Result<(), String> {
    let inst = inst(mnt);
    let dynamic = format!("{mnt}/dynamic_events");
    put(&format!("{mnt}/events/{GROUP}/enable"), "0")?;
    put(&format!("{mnt}/tracing_on"), "1")?;
    put(&ev_file(&inst, EVENT, "enable"), "1")?;
    match write_once(&dynamic, &format!("-:{GROUP}/{EVENT}\n")) {
        Err(Errno(EBUSY)) => {}
        r => {
            return Err(format!(
                "removing {GROUP}/{EVENT}, enabled in {inst}: {r:?}, expected EBUSY"
            ))
        }
    }
    sys::rmdir(&cpath(&inst)).map_err(|e| format!("rmdir {inst}: {e}"))?;
    match sys::stat(&cpath(&inst)) {
        Err(Errno(ENOENT)) => {}
        r => return Err(format!("stat {inst} after rmdir: {:?}", r.map(|_| ()))),
    }
    for ev in [EVENT, STR_EVENT] {
        put(&dynamic, &format!("-:{GROUP}/{ev}\n"))?;
    }
    let group = format!("{mnt}/events/{GROUP}");
    match sys::stat(&cpath(&group)) {
        Err(Errno(ENOENT)) => {}
        r => {
            return Err(format!(
                "stat {group} after removing its events: {:?}",
                r.map(|_| ())
            ))
        }
    }
    let listing = get(&dynamic)?;
    if listing.contains(&format!("{GROUP}/")) {
        return Err(format!("{dynamic} still lists the group: {listing:?}"));
    }
    Ok(())
}

/// One check on the mount.
type Check = fn(&str) -> Result<(), String>;

/// Runs every check on `mnt`; the exit code.
pub fn run(mnt: &str) -> i32 {
    let checks: [(&str, Check); 6] = [
        ("create the events and the instance", setup),
        (
            "concurrent injects into two directories, each record read once where it passes",
            check_concurrent,
        ),
        (
            "a disabled event or tracing_on 0 records nothing",
            check_gate,
        ),
        (
            "refused injects give their errno and record nothing",
            check_errors,
        ),
        (
            "filters: refused, replaced, cleared, per instance, per group, strings",
            check_filters,
        ),
        (
            "cleanup: the instance holds its enabled event; nothing left",
            check_cleanup,
        ),
    ];
    let mut failed = 0;
    for (what, f) in checks {
        // Every check runs, even after a failure: each sets up what it needs, and the
        // last one removes what the others left.
        let r = f(mnt);
        match r {
            Ok(()) => println!("inject: ok: {what}"),
            Err(e) => {
                failed += 1;
                println!("inject: FAILED: {what}: {e}");
            }
        }
    }
    println!("inject: {} checks, {failed} failed", checks.len());
    i32::from(failed > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let l = "  eventfs-stress-123     [002] .....    45.678901: ev: seq=5 keep=1 who=3";
        assert_eq!(
            parse_line(l),
            Some(("ev", vec![("seq", "5"), ("keep", "1"), ("who", "3")]))
        );
        assert_eq!(
            parse_rec(l),
            Some(Rec {
                seq: 5,
                keep: 1,
                who: 3
            })
        );
        // A comm with a dash, the flags of an irq context, a string field.
        let l = "<...>-7 [000] d.h1.   0.000001: sev: name=abc n=1";
        assert_eq!(
            parse_line(l),
            Some(("sev", vec![("name", "abc"), ("n", "1")]))
        );
        assert_eq!(parse_rec(l), None);
        let l = "kworker/0:1-12 [001] ..... 1.5: ev: seq=1 keep=0 who=0";
        assert!(parse_rec(l).is_some());
    }

    #[test]
    fn malformed_lines() {
        for l in [
            "",
            "# tracer: nop",
            "x-1 [000] ..... 1.000000: ev: seq=1 keep=0",
            "x-1 [000] ..... 1.000000: ev: seq=1 keep=0 who=0 extra=1",
            "x-1 [000] ..... 1.000000: ev: seq=1 keep=x who=0",
            "x-1 [000] ..... 1.000000: ev: seq=1 keep=0 who",
            "x-1 [000] ..... 1.000000: other: seq=1 keep=0 who=0",
            "x-a [000] ..... 1.000000: ev: seq=1 keep=0 who=0",
            "x-1 [0a0] ..... 1.000000: ev: seq=1 keep=0 who=0",
            "x-1 [000] ..... 1: ev: seq=1 keep=0 who=0",
            "x-1 [000] ..... 1.000000 ev: seq=1 keep=0 who=0",
            "x [000] ..... 1.000000: ev: seq=1 keep=0 who=0",
            "x-1 [000] ..... 1.000000: ev: seq=1 keep=0 who=0seq=2",
        ] {
            assert_eq!(parse_rec(l), None, "{l:?}");
        }
    }

    #[test]
    fn plan() {
        let mut seqs = std::collections::HashSet::new();
        let mut keeps = [0; 2];
        let mut tops = 0;
        for w in 0..WRITERS {
            for i in 0..RECORDS {
                let (r, top) = planned(w, i);
                assert!(seqs.insert(r.seq));
                assert_eq!(r.who, w);
                keeps[r.keep as usize] += 1;
                tops += usize::from(top);
                assert_eq!(planned(w, i), (r, top));
            }
        }
        // Both values of keep are common; half the records go to each directory.
        assert!(keeps.iter().all(|&k| k > 2000), "{keeps:?}");
        assert_eq!(tops as u64, WRITERS * RECORDS / 2);
        assert_eq!(
            Rec {
                seq: 1,
                keep: 0,
                who: 2
            }
            .text(),
            "seq=1 keep=0 who=2"
        );
    }
}
