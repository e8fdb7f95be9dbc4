//! The stress run: worker threads doing random operations on a mounted eventfs until
//! the deadline, checking the invariants documented in `main.rs` as they go.
//!
//! Coordination between workers is one reader-writer lock, the *gate*. Operations that
//! check something strict about the pinned events or a thread's own events hold it
//! shared; the operations that change those behind the owners' backs (O_TRUNC of
//! `dynamic_events`, disabling every event through `events/enable` or `set_event`,
//! remount) hold it exclusively and
//! record what they did in the gate, from which the owners bring their models up to
//! date. Everything else runs without the gate, racing freely.

use std::collections::{BTreeSet, HashMap};
use std::ffi::CString;
use std::fmt::Display;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant};

use libc::{EBUSY, EEXIST, EINVAL, ENODEV, ENOENT, O_APPEND, O_DIRECTORY, O_RDONLY, O_RDWR};
use libc::{O_TRUNC, O_WRONLY};

use crate::cli::Config;
use crate::dirent::{self, DirKind, Dirent, EVENTS_DIR, INSTANCES_DIR, INSTANCE_FILES, ROOT_FILES};
use crate::expect::{expected, Op, Outcomes, Scope, GETDENTS_TINY_EXTRA};
use crate::kprobe::DEFAULT_GROUP as DEFAULT_PROBE_GROUP;
use crate::registry;
use crate::rng::Rng;
use crate::stats::{Reporter, Stats};
use crate::sys::{self, cpath, Errno, Fd, SysResult};
use crate::text::{self, Field};

mod actions;
mod instance;
mod own;
mod probes;

use instance::Inst;
use own::Own;
use probes::Probes;

/// Shared groups `g0..g3`.
const GROUPS: u64 = 4;
/// Shared events `e0..e31` per group.
const EVENTS: u64 = 32;
/// The group of the pinned events.
const PINNED_GROUP: &str = "pinned";
/// Its directory, relative to the mount.
const PINNED_DIR: &str = "events/pinned";
/// `events/enable`, over every event.
const ALL_ENABLE: &str = "events/enable";
/// Pinned events `pinned/p0..p3`.
const PINNED: usize = 4;
/// A thread's own events `tN/e0..e7`.
const OWN_EVENTS: usize = 8;
/// Open descriptors a thread keeps for later (stale) use.
const MAX_STALE: usize = 8;
/// The tiny `getdents64` buffer.
const TINY_BUF: usize = 40;
/// The large `getdents64` buffer.
const LARGE_BUF: usize = 32 * 1024;
/// Bound on `getdents64` calls in one pass.
const MAX_GETDENTS: usize = 10_000;
/// Bound on `read` calls for one file.
const MAX_READS: usize = 20_000;
/// Largest `dynamic_events` listing read in one call.
const LISTING_BUF: usize = 1 << 20;
/// Length of the name that must give ENAMETOOLONG.
const LONG_NAME: usize = 300;
/// An action running longer than this is reported as blocked.
const HANG_AFTER: Duration = Duration::from_secs(30);
/// Workers still running this long after the deadline are abandoned.
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);
/// The files of an event directory.
const EVENT_FILES: [&str; 3] = ["enable", "id", "format"];
/// The filters the inject_filter action writes to shared events and groups: valid for a
/// numeric `f0` (the first three) or a string one (the last two).
const FILTERS: [&str; 5] = [
    "f0 == 1",
    "f0 < 500 && f0 != 7",
    "!(f0 & 1) || f0 > 900",
    "f0 ~ \"s1*\"",
    "f0 == \"s2\" || f0 ~ \"*9\"",
];
/// The entries of an own event whose attributes the model tracks: the directory and its
/// files, and their default permissions.
const OWN_ENTRIES: [&str; 4] = ["", "enable", "id", "format"];
const OWN_DEFAULT_MODES: [u32; 4] = [0o755, 0o640, 0o440, 0o440];
/// Modes chmod picks from.
const MODES: [u32; 6] = [0o755, 0o700, 0o644, 0o600, 0o444, 0o000];

/// The fields of every pinned event.
fn pinned_fields() -> Vec<Field> {
    vec![
        Field {
            ty: "u64",
            name: "a".into(),
            array: None,
        },
        Field {
            ty: "char",
            name: "c".into(),
            array: Some(8),
        },
    ]
}

/// What a worker does in one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Create,
    Remove,
    Batch,
    Truncate,
    Stat,
    Readdir,
    ReadFile,
    WriteEnable,
    WriteBad,
    KeepStale,
    UseStale,
    Chattr,
    Own,
    Chdir,
    Listing,
    DisableAll,
    Remount,
    DropCaches,
    Instance,
    InjectFilter,
    Kprobe,
}

/// Actions and their weights (per 10,000 steps).
const ACTIONS: [(Action, u64); 21] = [
    (Action::Create, 1450),
    (Action::Remove, 1200),
    (Action::Batch, 200),
    (Action::Truncate, 100),
    (Action::Stat, 1080),
    (Action::Readdir, 1100),
    (Action::ReadFile, 1000),
    (Action::WriteEnable, 700),
    (Action::WriteBad, 100),
    (Action::KeepStale, 350),
    (Action::UseStale, 450),
    (Action::Chattr, 350),
    (Action::Own, 900),
    (Action::Chdir, 300),
    (Action::Listing, 120),
    (Action::DisableAll, 40),
    (Action::Remount, 30),
    (Action::DropCaches, 30),
    (Action::Instance, 250),
    (Action::InjectFilter, 150),
    (Action::Kprobe, 100),
];

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Remove => "remove",
            Action::Batch => "batch",
            Action::Truncate => "truncate",
            Action::Stat => "stat",
            Action::Readdir => "readdir",
            Action::ReadFile => "read_file",
            Action::WriteEnable => "write_enable",
            Action::WriteBad => "write_bad",
            Action::KeepStale => "keep_stale",
            Action::UseStale => "use_stale",
            Action::Chattr => "chattr",
            Action::Own => "own",
            Action::Chdir => "chdir",
            Action::Listing => "listing",
            Action::DisableAll => "disable_all",
            Action::Remount => "remount",
            Action::DropCaches => "drop_caches",
            Action::Instance => "instance",
            Action::InjectFilter => "inject_filter",
            Action::Kprobe => "kprobe",
        }
    }
}

/// What the exclusive holders of the gate changed, for the other threads' models.
#[derive(Clone, Debug, Default)]
struct Gate {
    /// Successful O_TRUNCs of `dynamic_events` (each removed every event).
    generation: u64,
    /// Successful O_TRUNCs of `kprobe_events` (each removed every kprobe event).
    probe_generation: u64,
    /// Writes of 0 to `events/enable` and O_TRUNCs of `set_event` (each disabled every
    /// event).
    enable_epoch: u64,
    /// Successful remounts (each voided every chown).
    remount_epoch: u64,
    /// The ownership of entries nobody chowned since the last remount.
    default_owner: (u32, u32),
    /// Per pinned event of the current generation: its id and directory inode number.
    pinned: [(u64, u64); PINNED],
    /// Whether any remount happened (the teardown then restores the ownership).
    remounted: bool,
}

/// What one worker is doing, for the watchdog.
#[derive(Debug, Default)]
struct Slot {
    /// Milliseconds since the start of the run, plus one, when the action began (0 when
    /// idle).
    started: AtomicU64,
    /// Index into [`ACTIONS`].
    action: AtomicUsize,
    /// Whether the watchdog already reported this action.
    reported: AtomicBool,
}

/// State shared by all threads.
struct Ctx {
    mnt: String,
    threads: usize,
    start: Instant,
    /// When the workers stop, in milliseconds since `start` (set once the setup is done).
    stop_ms: AtomicU64,
    remount: bool,
    drop_caches: bool,
    rep: Reporter,
    gate: RwLock<Gate>,
    /// Every event id seen with a known identity, and whether that identity was ever
    /// enabled, for "the id of an event ever enabled is never reused".
    ids: Mutex<HashMap<u64, (String, bool)>>,
    /// Instances that were there before the run (not the threads' `sN`).
    foreign_instances: BTreeSet<String>,
    /// What the top level's `tracing_on` read before the run (nobody writes it).
    top_tracing_on: Option<String>,
    /// Whether the mount has kprobe events (`kprobe_events`): the `kprobe` action.
    kprobes: bool,
    /// The functions the `kprobe` action puts probes on.
    probe_funcs: Vec<&'static str>,
    slots: Vec<Slot>,
}

impl Ctx {
    fn read_gate(&self) -> RwLockReadGuard<'_, Gate> {
        self.gate.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_gate(&self) -> RwLockWriteGuard<'_, Gate> {
        self.gate.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Whether the workers' time is up.
    fn past_deadline(&self) -> bool {
        self.now_ms() >= self.stop_ms.load(Ordering::Relaxed)
    }

    /// Records that `id` belongs to `identity` (`kept`: which was enabled, so the kernel
    /// must never give the id to another event); returns the other identity that holds
    /// it for good, if any. An id seen before only with events never enabled (by us) may
    /// come back: the kernel reuses those, lowest free first, as tracefs does.
    fn register_id(&self, id: u64, identity: &str, kept: bool) -> Option<String> {
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        match ids.get_mut(&id) {
            Some((prev, true)) if prev != identity => Some(prev.clone()),
            Some((prev, was_kept)) if prev == identity => {
                *was_kept |= kept;
                None
            }
            _ => {
                ids.insert(id, (identity.to_string(), kept));
                None
            }
        }
    }
}

/// Who a kept descriptor belongs to, which decides what reading it must give.
#[derive(Clone, Copy, Debug)]
enum Owner {
    /// A shared event: it may be gone.
    Shared,
    /// Own event `k`, opened in incarnation `incarnation`.
    Own { k: usize, incarnation: u64 },
    /// A pinned event, opened in gate generation `generation`.
    Pinned { generation: u64 },
}

/// A descriptor kept open for later use.
#[derive(Debug)]
struct Stale {
    fd: Fd,
    /// Path relative to the mount.
    rel: String,
    /// `Some(kind)` for a directory.
    dir: Option<DirKind>,
    /// Opened read-write (an `enable` file).
    writable: bool,
    owner: Owner,
}

/// What a file held.
#[derive(Clone, Debug)]
enum Content {
    Enable(char),
    Id(u64),
    Format(text::Format),
}

/// One thread's state.
struct Worker<'c> {
    ctx: &'c Ctx,
    /// The watchdog slot (None for the main thread).
    slot: Option<usize>,
    name: String,
    rng: Rng,
    stats: Stats,
    violations: u64,
    own: Own,
    inst: Inst,
    probes: Probes,
    stale: Vec<Stale>,
    dyn_fd: Option<Fd>,
    can_chdir: bool,
    long_name: String,
    name255: String,
}

/// The path of group `g`'s directory, relative to the mount: `events/g`.
fn group_dir(g: &str) -> String {
    format!("{EVENTS_DIR}/{g}")
}

/// `a/b` or `a` when `b` is empty.
fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else if b.is_empty() {
        a.to_string()
    } else {
        format!("{a}/{b}")
    }
}

/// The file of an instance that `rel` names (`instances/NAME/FILE`), if it does.
fn instance_file(rel: &str) -> Option<&str> {
    let (_, file) = rel
        .strip_prefix(INSTANCES_DIR)?
        .strip_prefix('/')?
        .split_once('/')?;
    INSTANCE_FILES.contains(&file).then_some(file)
}

/// `rel` relative to its tracing directory: without `instances/NAME/`.
fn in_tracing_dir(rel: &str) -> &str {
    rel.strip_prefix(INSTANCES_DIR)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.split_once('/'))
        .map_or(rel, |(_, rest)| rest)
}

/// `ok` or the errno name.
fn outcome<T>(r: &SysResult<T>) -> String {
    match r {
        Ok(_) => "ok".to_string(),
        Err(e) => e.to_string(),
    }
}

impl<'c> Worker<'c> {
    fn new(ctx: &'c Ctx, index: usize, name: String, seed: u64) -> Worker<'c> {
        Worker {
            ctx,
            slot: (index < ctx.slots.len()).then_some(index),
            name,
            rng: Rng::for_thread(seed, index as u64),
            stats: Stats::default(),
            violations: 0,
            own: Own::new(format!("t{index}")),
            inst: Inst::new(format!("s{index}")),
            probes: Probes::new(index),
            stale: Vec::new(),
            dyn_fd: None,
            can_chdir: false,
            long_name: "l".repeat(LONG_NAME),
            name255: "m".repeat(255),
        }
    }

    // --- helpers ---------------------------------------------------------------------

    fn full(&self, rel: &str) -> String {
        join(&self.ctx.mnt, rel)
    }

    fn path(&self, rel: &str) -> CString {
        cpath(&self.full(rel))
    }

    fn violation(&mut self, op: &str, details: impl Display) {
        self.violations += 1;
        self.ctx.rep.violation(&self.name, op, details);
    }

    /// Counts `r` under `op` and reports it unless `expect` allows it.
    fn check<T>(&mut self, op: Op, expect: Outcomes, what: &str, r: SysResult<T>) -> SysResult<T> {
        self.stats.record(op, &r);
        if !expect.allows(&r) {
            let got = outcome(&r);
            self.violation(
                op.name(),
                format!("{what}: got {got}, expected {}", expect.describe()),
            );
        }
        r
    }

    fn open(&mut self, rel: &str, flags: i32, op: Op, expect: Outcomes) -> Option<Fd> {
        let what = format!("open {}", self.full(rel));
        let r = sys::open(&self.path(rel), flags);
        self.check(op, expect, &what, r).ok()
    }

    fn close(&mut self, fd: Fd, rel: &str) {
        let what = format!("close {}", self.full(rel));
        let r = fd.close();
        let _ = self.check(Op::Close, Outcomes::OK, &what, r);
    }

    /// `stat` with the type checks: files are regular, directories are directories with
    /// `nlink` 1 (docs/RULES.md rule 7; the root excepted).
    fn stat(&mut self, rel: &str, expect: Outcomes) -> Option<libc::stat> {
        self.stat_op(Op::Stat, rel, expect)
    }

    fn stat_op(&mut self, op: Op, rel: &str, expect: Outcomes) -> Option<libc::stat> {
        let shown = self.full(rel);
        let r = sys::stat(&self.path(rel));
        let st = self.check(op, expect, &format!("stat {shown}"), r).ok()?;
        self.check_type(rel, &shown, &st);
        Some(st)
    }

    /// `stat` of a path relative to the working directory.
    fn stat_relative(&mut self, rel: &str, expect: Outcomes) -> Option<libc::stat> {
        let shown = format!("./{rel} (cwd)");
        let r = sys::stat(&cpath(rel));
        let st = self
            .check(Op::Stat, expect, &format!("stat {shown}"), r)
            .ok()?;
        self.check_type(rel, &shown, &st);
        Some(st)
    }

    fn check_type(&mut self, rel: &str, shown: &str, st: &libc::stat) {
        let last = rel.rsplit('/').next().unwrap_or("");
        let file = matches!(last, "enable" | "id" | "format")
            || (!rel.contains('/') && ROOT_FILES.contains(&last))
            || instance_file(rel).is_some();
        if file && !sys::is_reg(st.st_mode) {
            self.violation(
                "stat",
                format!("{shown}: mode {:o} is not a file", st.st_mode),
            );
        } else if !file && !sys::is_dir(st.st_mode) {
            self.violation(
                "stat",
                format!("{shown}: mode {:o} is not a directory", st.st_mode),
            );
        } else if !file && !rel.is_empty() && rel != "." && st.st_nlink != 1 {
            self.violation(
                "stat",
                format!(
                    "{shown}: directory nlink {} (docs/RULES.md rule 7: 1)",
                    st.st_nlink
                ),
            );
        }
    }

    /// Writes `line` to `dynamic_events`, through the kept descriptor or a fresh one.
    fn write_dyn(&mut self, op: Op, expect: Outcomes, line: &str) -> SysResult<()> {
        let kept = self.rng.chance(500);
        let fd = match if kept { self.dyn_fd.take() } else { None } {
            Some(fd) => fd,
            None => {
                let flags = O_WRONLY | O_APPEND;
                let expect = expected(Op::Open, Scope::Fixed);
                match self.open("dynamic_events", flags, Op::Open, expect) {
                    Some(fd) => fd,
                    None => return Err(Errno(libc::EIO)),
                }
            }
        };
        let what = format!("write {line:?} to dynamic_events");
        let r = sys::write(&fd, line.as_bytes());
        let r = self.check(op, expect, &what, r);
        if let Ok(n) = r {
            if n != line.len() {
                self.violation(op.name(), format!("{what}: short write of {n} bytes"));
            }
        }
        if kept {
            self.dyn_fd = Some(fd);
        } else {
            self.close(fd, "dynamic_events");
        }
        r.map(|_| ())
    }

    fn write_value(
        &mut self,
        fd: &Fd,
        op: Op,
        expect: Outcomes,
        value: &str,
        rel: &str,
    ) -> SysResult<()> {
        let what = format!("write {value:?} to {}", self.full(rel));
        let r = sys::write(fd, value.as_bytes());
        let r = self.check(op, expect, &what, r);
        if let Ok(n) = r {
            if n != value.len() {
                self.violation(op.name(), format!("{what}: short write of {n} bytes"));
            }
        }
        r.map(|_| ())
    }

    /// Reads `fd` to its end in chunks of a random size (not the smallest for the
    /// listings of every event, which may take more than [`MAX_READS`] bytes, nor for
    /// `trace`, whose buffer kprobe events fill: up to `buffer_size_kb` per CPU).
    fn read_all(&mut self, fd: &Fd, expect: Outcomes, rel: &str) -> Option<Vec<u8>> {
        let what = format!("read {}", self.full(rel));
        let sizes: &[usize] = match rel {
            "dynamic_events" | "available_events" | "set_event" | "synthetic_events"
            | "kprobe_events" | "kprobe_profile" => &[64, 4096],
            _ if rel.rsplit('/').next() == Some("trace") => &[4096, 65536],
            _ => &[1, 2, 7, 64, 4096],
        };
        let chunk = *self.rng.pick(sizes);
        let mut buf = vec![0u8; chunk];
        let mut out = Vec::new();
        for _ in 0..MAX_READS {
            match self.check(Op::Read, expect, &what, sys::read(fd, &mut buf)) {
                Ok(0) => return Some(out),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(_) => return None,
            }
        }
        self.violation(
            "read",
            format!("{what}: no end of file after {MAX_READS} reads"),
        );
        None
    }

    /// Opens, reads to the end and closes file `rel`.
    fn read_file(&mut self, rel: &str, open: Outcomes, read: Outcomes) -> Option<Vec<u8>> {
        let flags = if rel.ends_with("enable") && self.rng.chance(300) {
            O_RDWR
        } else {
            O_RDONLY
        };
        let fd = self.open(rel, flags, Op::Open, open)?;
        let content = self.read_all(&fd, read, rel);
        self.close(fd, rel);
        content
    }

    /// Checks the content of file `rel` (an `enable`, `id` or `format` under `events/`,
    /// or a file of the root).
    fn validate(&mut self, op: Op, rel: &str, bytes: &[u8]) -> Option<Content> {
        let file = if rel.contains('/') {
            instance_file(rel)
        } else {
            Some(rel)
        };
        if let Some(file) = file {
            if let Err(e) = text::check_root_file(file, bytes) {
                let shown = self.full(rel);
                self.violation(op.name(), format!("{shown}: {e}"));
            }
            return None;
        }
        // `events/...` of the top level or of an instance.
        let parts: Vec<&str> = in_tracing_dir(rel).split('/').collect();
        let r = match *parts.last()? {
            // `events/enable` and `events/GROUP/enable` aggregate (0, 1 or X).
            "enable" => text::parse_enable(bytes, parts.len() < 4).map(Content::Enable),
            "id" => text::parse_id(bytes).map(Content::Id),
            "format" if parts.len() >= 2 => {
                text::parse_format(bytes, parts[parts.len() - 2]).map(Content::Format)
            }
            _ => return None,
        };
        match r {
            Ok(c) => Some(c),
            Err(e) => {
                let shown = self.full(rel);
                self.violation(op.name(), format!("{shown}: {e}"));
                None
            }
        }
    }

    /// Checks the content of a pinned event's file against the gate.
    fn validate_pinned(&mut self, op: Op, rel: &str, k: usize, bytes: &[u8], gate: &Gate) {
        let shown = self.full(rel);
        match self.validate(op, rel, bytes) {
            Some(Content::Enable(c)) if c != '0' => {
                self.violation(op.name(), format!("{shown}: pinned event enabled ({c})"));
            }
            Some(Content::Id(id)) if id != gate.pinned[k].0 => {
                let want = gate.pinned[k].0;
                self.violation(op.name(), format!("{shown}: id {id}, expected {want}"));
            }
            Some(Content::Format(f)) => {
                let decls: Vec<String> = pinned_fields().iter().map(Field::decl).collect();
                if f.id != gate.pinned[k].0 || f.decls != decls {
                    self.violation(
                        op.name(),
                        format!(
                            "{shown}: ID {} fields {:?}, expected {} {decls:?}",
                            f.id, f.decls, gate.pinned[k].0
                        ),
                    );
                }
            }
            _ => {}
        }
    }

    /// Reads directory `fd` to its end: one complete pass. EINVAL from the tiny buffer
    /// is accepted only when the next entry does not fit it.
    fn dir_pass(&mut self, fd: &Fd, scope: Scope, what: &str) -> Option<Vec<Dirent>> {
        let tiny = self.rng.chance(500);
        let mut buf = vec![0u8; if tiny { TINY_BUF } else { LARGE_BUF }];
        let expect = expected(Op::Getdents, scope);
        let mut all = Vec::new();
        for _ in 0..MAX_GETDENTS {
            let mut r = sys::getdents64(fd, &mut buf);
            if tiny && r == Err(Errno(EINVAL)) {
                self.stats.record(Op::Getdents, &r);
                // Show that the next entry is too long for the tiny buffer.
                let mut big = vec![0u8; LARGE_BUF];
                r = sys::getdents64(fd, &mut big);
                if let Ok(n) = r {
                    let first = dirent::parse(&big[..n])
                        .ok()
                        .and_then(|d| d.into_iter().next());
                    match first {
                        Some(d) if d.reclen > TINY_BUF => {
                            buf = big;
                            r = Ok(n);
                        }
                        _ => {
                            let set = expect.or(GETDENTS_TINY_EXTRA).describe();
                            self.violation(
                                "getdents",
                                format!("{what}: EINVAL with a {TINY_BUF}-byte buffer, but the next entry fits ({set})"),
                            );
                            return None;
                        }
                    }
                }
            }
            let r = self.check(Op::Getdents, expect, what, r);
            let n = match r {
                Ok(0) => return Some(all),
                Ok(n) => n,
                Err(_) => return None,
            };
            match dirent::parse(&buf[..n]) {
                Ok(d) => all.extend(d),
                Err(e) => {
                    self.violation("getdents", format!("{what}: {e}"));
                    return None;
                }
            }
            buf.truncate(if tiny { TINY_BUF } else { LARGE_BUF });
        }
        self.violation(
            "getdents",
            format!("{what}: no end of directory after {MAX_GETDENTS} calls"),
        );
        None
    }

    fn check_pass(&mut self, entries: &[Dirent], kind: DirKind, complete: bool, what: &str) {
        for p in dirent::check_pass(entries, kind, complete) {
            self.violation("getdents", format!("{what}: {p}"));
        }
    }

    /// Opens directory `rel` and reads one complete pass, sometimes a second one after
    /// rewinding. Returns the passes that completed.
    fn readdir(&mut self, rel: &str, kind: DirKind, scope: Scope) -> Vec<Vec<Dirent>> {
        let mut passes = Vec::new();
        let expect = expected(Op::OpenDir, scope);
        let Some(fd) = self.open(rel, O_RDONLY | O_DIRECTORY, Op::OpenDir, expect) else {
            return passes;
        };
        let what = format!("getdents {}", self.full(rel));
        let rounds = if self.rng.chance(250) { 2 } else { 1 };
        for round in 0..rounds {
            if round > 0 {
                let r = sys::rewind(&fd);
                if self
                    .check(Op::Seek, expected(Op::Seek, scope), &what, r)
                    .is_err()
                {
                    break;
                }
            }
            match self.dir_pass(&fd, scope, &what) {
                Some(d) => {
                    self.check_pass(&d, kind, scope == Scope::Fixed, &what);
                    passes.push(d);
                }
                None => break,
            }
        }
        self.close(fd, rel);
        passes
    }

    fn shared_event(&mut self) -> (String, String) {
        let g = self.rng.below(GROUPS);
        let e = self.rng.below(EVENTS);
        (format!("g{g}"), format!("e{e}"))
    }

    fn pinned_event(&mut self) -> (usize, String) {
        let k = self.rng.index(PINNED);
        (k, format!("{PINNED_DIR}/p{k}"))
    }

    fn root_file(&mut self) -> &'static str {
        self.rng.pick(&ROOT_FILES)
    }

    fn readable_root_file(&mut self) -> &'static str {
        self.rng.pick(&dirent::ROOT_READABLE)
    }

    // --- the loop --------------------------------------------------------------------

    fn run(mut self) -> Stats {
        let weights: Vec<u64> = ACTIONS
            .iter()
            .map(|&(a, w)| match a {
                Action::Remount if !self.ctx.remount => 0,
                Action::DropCaches if !self.ctx.drop_caches => 0,
                Action::Chdir if !self.can_chdir => 0,
                Action::Kprobe if !self.ctx.kprobes => 0,
                _ => w,
            })
            .collect();
        let slot = self.slot.and_then(|i| self.ctx.slots.get(i));
        while !self.ctx.past_deadline() {
            let i = self.rng.weighted(&weights);
            if let Some(s) = slot {
                s.action.store(i, Ordering::Relaxed);
                s.reported.store(false, Ordering::Relaxed);
                s.started.store(self.ctx.now_ms() + 1, Ordering::Release);
            }
            self.step(ACTIONS[i].0);
            if let Some(s) = slot {
                s.started.store(0, Ordering::Release);
            }
        }
        // Every thread removes its instance before it ends: the teardown then finds
        // nothing enabled anywhere but at the top level.
        self.inst_finish();
        for s in std::mem::take(&mut self.stale) {
            self.close(s.fd, &s.rel);
        }
        if let Some(fd) = self.dyn_fd.take() {
            self.close(fd, "dynamic_events");
        }
        self.stats
    }

    fn step(&mut self, a: Action) {
        match a {
            Action::Create => self.act_create(),
            Action::Remove => self.act_remove(),
            Action::Batch => self.act_batch(),
            Action::Truncate => self.act_truncate(),
            Action::Stat => self.act_stat(),
            Action::Readdir => self.act_readdir(),
            Action::ReadFile => self.act_read_file(),
            Action::WriteEnable => self.act_write_enable(),
            Action::WriteBad => self.act_write_bad(),
            Action::KeepStale => self.act_keep_stale(),
            Action::UseStale => self.act_use_stale(),
            Action::Chattr => self.act_chattr(),
            Action::Own => self.act_own(),
            Action::Chdir => self.act_chdir(),
            Action::Listing => self.act_listing(),
            Action::DisableAll => self.act_disable_all(),
            Action::Remount => self.act_remount(),
            Action::DropCaches => self.act_drop_caches(),
            Action::Instance => self.act_instance(),
            Action::InjectFilter => self.act_inject_filter(),
            Action::Kprobe => self.act_kprobe(),
        }
    }
}

/// What the teardown restores.
#[derive(Clone, Copy, Debug)]
struct RootAttrs {
    mode: u32,
    uid: u32,
    gid: u32,
}

/// Before the run: removes the threads' instances an interrupted run may have left
/// (best effort, unchecked), and returns the other instances and what the top level's
/// `tracing_on` reads.
fn prescan(mnt: &str) -> (BTreeSet<String>, Option<String>) {
    for t in 0..crate::cli::MAX_THREADS {
        let _ = sys::rmdir(&cpath(&format!("{mnt}/{INSTANCES_DIR}/s{t}")));
    }
    let foreign = registry::read_dir(&format!("{mnt}/{INSTANCES_DIR}"), DirKind::Instances)
        .map(|d| dirent::subdirs(&d).into_iter().map(String::from).collect())
        .unwrap_or_default();
    let top = sys::read_file(&format!("{mnt}/tracing_on"), 64)
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    (foreign, top)
}

/// Creates the pinned events and records the starting state. Returns the root's
/// attributes, or `None` if the run cannot start.
fn setup(main: &mut Worker<'_>) -> Option<RootAttrs> {
    let ctx = main.ctx;
    let root = match sys::stat(&cpath(&ctx.mnt)) {
        Ok(st) => RootAttrs {
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
        },
        Err(e) => {
            main.violation("setup", format!("stat {}: {e}", ctx.mnt));
            return None;
        }
    };
    // Leftovers of an interrupted run (best effort, unchecked).
    let dynamic = format!("{}/dynamic_events", ctx.mnt);
    for g in
        std::iter::once(PINNED_GROUP.to_string()).chain((0..ctx.threads).map(|t| format!("t{t}")))
    {
        let _ = sys::write_file(&format!("{}/{}/enable", ctx.mnt, group_dir(&g)), "0");
        for k in 0..OWN_EVENTS.max(PINNED) {
            let ev = if g == PINNED_GROUP {
                format!("p{k}")
            } else {
                format!("e{k}")
            };
            let _ = sys::write_file(&dynamic, &text::remove_line(&g, &ev));
        }
    }
    if ctx.kprobes {
        let kprobe_events = format!("{}/kprobe_events", ctx.mnt);
        for t in 0..ctx.threads {
            for k in 0..probes::PROBES {
                let name = probes::probe_name(t, k);
                let dir = format!("{}/{EVENTS_DIR}/{DEFAULT_PROBE_GROUP}/{name}", ctx.mnt);
                let _ = sys::write_file(&format!("{dir}/enable"), "0");
                let _ =
                    sys::write_file(&kprobe_events, &format!("-:{DEFAULT_PROBE_GROUP}/{name}\n"));
            }
        }
    }
    let mut gate = ctx.write_gate();
    if !main.create_pinned(&mut gate) {
        return None;
    }
    // A new entry shows the default ownership.
    let st = main.stat(PINNED_DIR, Outcomes::OK)?;
    gate.default_owner = (st.st_uid, st.st_gid);
    Some(root)
}

/// Removes what the run created and restores the root; then checks that the listing
/// and the tree agree.
fn teardown(main: &mut Worker<'_>, root: RootAttrs) {
    let ctx = main.ctx;
    let gate = ctx.read_gate().clone();
    // Every worker removed its instance before it ended.
    for t in 0..ctx.threads {
        let rel = format!("{INSTANCES_DIR}/s{t}");
        let what = format!(
            "rmdir {} after the run (thread {t} must have removed it)",
            main.full(&rel)
        );
        let r = sys::rmdir(&main.path(&rel));
        let _ = main.check(Op::Rmdir, Outcomes::errors(&[ENOENT]), &what, r);
    }
    if let Some(fd) = main.open(ALL_ENABLE, O_WRONLY, Op::Open, Outcomes::OK) {
        let _ = main.write_value(&fd, Op::Write, Outcomes::OK, "0", ALL_ENABLE);
        main.close(fd, ALL_ENABLE);
    }
    let shared = expected(Op::Remove, Scope::Shared);
    for g in 0..GROUPS {
        for e in 0..EVENTS {
            let _ = main.write_dyn(
                Op::Remove,
                shared,
                &text::remove_line(&format!("g{g}"), &format!("e{e}")),
            );
        }
    }
    for t in 0..ctx.threads {
        for k in 0..OWN_EVENTS {
            let _ = main.write_dyn(
                Op::Remove,
                shared,
                &text::remove_line(&format!("t{t}"), &format!("e{k}")),
            );
        }
    }
    for k in 0..PINNED {
        let line = text::remove_line(PINNED_GROUP, &format!("p{k}"));
        let _ = main.write_dyn(Op::Remove, expected(Op::Remove, Scope::Fixed), &line);
    }
    // The threads' kprobe events, disabled everywhere by now.
    if ctx.kprobes {
        let gone = Outcomes::ok_or(&[ENOENT]);
        for t in 0..ctx.threads {
            for k in 0..probes::PROBES {
                let line = format!("-:{DEFAULT_PROBE_GROUP}/{}\n", probes::probe_name(t, k));
                let _ = main.write_dyn(Op::KprobeRemove, gone, &line);
            }
        }
    }
    if gate.remounted {
        let (uid, gid) = (root.uid, root.gid);
        let data = cpath(&format!("uid={uid},gid={gid}"));
        let r = sys::mount(
            c"none",
            &cpath(&ctx.mnt),
            c"eventfs",
            libc::MS_REMOUNT,
            Some(&data),
        );
        let what = format!("remount {} back to uid={uid},gid={gid}", ctx.mnt);
        let _ = main.check(Op::Remount, Outcomes::OK, &what, r);
    }
    main.attr_scoped("", true, root.mode, (0, 0), Scope::Fixed);
    main.attr_scoped("", false, 0, (root.uid, root.gid), Scope::Fixed);
    if let Some(fd) = main.dyn_fd.take() {
        main.close(fd, "dynamic_events");
    }
    match registry::check(&ctx.mnt) {
        Ok((snap, problems)) => {
            for p in problems {
                main.violation("consistency", p);
            }
            let ours: BTreeSet<String> = std::iter::once(PINNED_GROUP.to_string())
                .chain((0..GROUPS).map(|g| format!("g{g}")))
                .chain((0..ctx.threads).map(|t| format!("t{t}")))
                .collect();
            for g in snap.tree.keys() {
                if ours.contains(g) {
                    main.violation("consistency", format!("group {g} left after the teardown"));
                }
            }
            for l in snap.listed.iter().filter(|l| l.probe) {
                if l.group == DEFAULT_PROBE_GROUP && probes::is_probe_name(&l.event) {
                    main.violation(
                        "consistency",
                        format!(
                            "kprobe event {}/{} left after the teardown",
                            l.group, l.event
                        ),
                    );
                }
            }
            for i in &snap.instances {
                if !ctx.foreign_instances.contains(i) {
                    main.violation(
                        "consistency",
                        format!("instance {i} left after the teardown"),
                    );
                }
            }
        }
        Err(e) => main.violation("consistency", e),
    }
}

/// Runs the stress test; returns the exit code.
pub fn run(cfg: &Config) -> i32 {
    let mnt_c = cpath(&cfg.mount);
    let is_eventfs = sys::fs_type(&mnt_c) == Ok(sys::EVENTFS_MAGIC);
    let remount = cfg.remount && is_eventfs;
    let drop_caches = cfg.drop_caches && is_eventfs;
    println!(
        "eventfs-stress: mount {}, {} threads, {} s, remount {}, drop_caches {}",
        cfg.mount,
        cfg.threads,
        cfg.duration.as_secs(),
        if remount { "on" } else { "off" },
        if drop_caches { "on" } else { "off" },
    );
    if !is_eventfs {
        println!(
            "warning: {} is not an eventfs mount (statfs magic); remount and drop_caches are off",
            cfg.mount
        );
    }
    let (foreign_instances, top_tracing_on) = prescan(&cfg.mount);
    let kprobes = is_eventfs && sys::stat(&cpath(&format!("{}/kprobe_events", cfg.mount))).is_ok();
    let mut probe_funcs = match std::fs::File::open("/proc/kallsyms") {
        Ok(f) => probes::funcs_in(std::io::BufReader::new(f)),
        Err(_) => Vec::new(),
    };
    if probe_funcs.is_empty() {
        // No kallsyms to ask: the two the kernel always has.
        probe_funcs = vec!["vfs_read", "vfs_write"];
    }
    if let Some(only) = &cfg.probe_funcs {
        probe_funcs.retain(|f| only.iter().any(|o| o == f));
    }
    let kprobes = kprobes && !probe_funcs.is_empty();
    if kprobes {
        println!("kprobes: on {}", probe_funcs.join(", "));
        // The top level's buffer outlives a run: records of an earlier run's probes would
        // print under names (tNpK) that this run's model gives other definitions.
        let trace = format!("{}/trace", cfg.mount);
        if let Err(e) = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&trace)
        {
            println!("warning: could not clear {trace}: {e}");
        }
    }
    if !foreign_instances.is_empty() {
        println!("note: instances before the run (left alone): {foreign_instances:?}");
    }
    let start = Instant::now();
    let ctx = Arc::new(Ctx {
        mnt: cfg.mount.clone(),
        threads: cfg.threads,
        start,
        stop_ms: AtomicU64::new(u64::MAX),
        remount,
        drop_caches,
        rep: Reporter::default(),
        gate: RwLock::new(Gate::default()),
        ids: Mutex::new(HashMap::new()),
        foreign_instances,
        top_tracing_on,
        kprobes,
        probe_funcs,
        slots: (0..cfg.threads).map(|_| Slot::default()).collect(),
    });
    let mut main_stats = Stats::default();
    let root = {
        let mut main = Worker::new(&ctx, cfg.threads, "main".to_string(), cfg.seed);
        let root = setup(&mut main);
        main_stats.merge(&main.stats);
        root
    };
    let Some(root) = root else {
        println!("setup failed: not running the workers");
        println!("stress: {} violations", ctx.rep.count());
        return 1;
    };

    let work_start = Instant::now();
    let stop = ctx.now_ms().saturating_add(cfg.duration.as_millis() as u64);
    ctx.stop_ms.store(stop, Ordering::Relaxed);
    let mut handles = Vec::new();
    for t in 0..cfg.threads {
        let wctx = Arc::clone(&ctx);
        let seed = cfg.seed;
        let h = thread::Builder::new()
            .name(format!("worker{t}"))
            .spawn(move || {
                let mut w = Worker::new(&wctx, t, format!("thread {t}"), seed);
                match sys::unshare_fs() {
                    Ok(()) => w.can_chdir = true,
                    Err(e) => wctx
                        .rep
                        .note(format!("thread {t}: unshare(CLONE_FS): {e}; no chdir")),
                }
                w.run()
            });
        match h {
            Ok(h) => handles.push(h),
            Err(e) => ctx
                .rep
                .violation("main", "spawn", format!("thread {t}: {e}")),
        }
    }

    // Watchdog: report actions that take too long, abandon workers that never stop.
    let deadline = work_start + cfg.duration;
    loop {
        if handles.iter().all(|h| h.is_finished()) {
            break;
        }
        let now = ctx.now_ms();
        for (t, slot) in ctx.slots.iter().enumerate() {
            let started = slot.started.load(Ordering::Acquire);
            if started != 0
                && now.saturating_sub(started - 1) > HANG_AFTER.as_millis() as u64
                && !slot.reported.swap(true, Ordering::Relaxed)
            {
                let action = ACTIONS[slot.action.load(Ordering::Relaxed)].0.name();
                ctx.rep.violation(
                    &format!("thread {t}"),
                    action,
                    format!(
                        "still running after {} s: a system call blocks",
                        HANG_AFTER.as_secs()
                    ),
                );
            }
        }
        if Instant::now() > deadline + GIVE_UP_AFTER {
            ctx.rep.violation(
                "main",
                "watchdog",
                format!(
                    "workers still running {} s after the deadline; giving up",
                    GIVE_UP_AFTER.as_secs()
                ),
            );
            println!("stress: {} violations", ctx.rep.count());
            return 1;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let mut stats = Stats::default();
    for (t, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(s) => stats.merge(&s),
            Err(_) => ctx
                .rep
                .violation(&format!("thread {t}"), "panic", "the worker panicked"),
        }
    }
    let elapsed = work_start.elapsed();
    let worker_ops = stats.total();

    {
        let mut main = Worker::new(&ctx, cfg.threads, "main".to_string(), cfg.seed ^ 1);
        teardown(&mut main, root);
        main_stats.merge(&main.stats);
    }
    stats.merge(&main_stats);
    for line in stats.lines() {
        println!("{line}");
    }
    let secs = elapsed.as_secs_f64().max(1e-3);
    println!(
        "total: {} ops ({} by workers in {:.1} s, {:.0} ops/s)",
        stats.total(),
        worker_ops,
        secs,
        worker_ops as f64 / secs
    );
    let n = ctx.rep.count();
    println!("stress: {n} violations");
    i32::from(n != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_weights() {
        let total: u64 = ACTIONS.iter().map(|&(_, w)| w).sum();
        assert_eq!(total, 10_000);
        // O_TRUNC is rare (1%), remount and drop_caches rarer.
        let w = |a: Action| ACTIONS.iter().find(|&&(b, _)| a == b).unwrap().1;
        assert_eq!(w(Action::Truncate), 100);
        assert!(w(Action::Remount) < w(Action::Truncate));
        assert!(w(Action::DropCaches) < w(Action::Truncate));
        for (i, (a, _)) in ACTIONS.iter().enumerate() {
            assert!(ACTIONS[i + 1..].iter().all(|(b, _)| b.name() != a.name()));
        }
    }

    #[test]
    fn main_rs_documents_every_action() {
        let doc = include_str!("../main.rs");
        for (a, w) in ACTIONS {
            let row = format!("//! | {} | {w} |", a.name());
            assert!(doc.contains(&row), "main.rs lacks {row}");
        }
    }

    #[test]
    fn paths() {
        assert_eq!(instance_file("instances/s0/tracing_on"), Some("tracing_on"));
        assert_eq!(instance_file("instances/a.b/set_event"), Some("set_event"));
        assert_eq!(instance_file("instances/s0/events"), None);
        assert_eq!(instance_file("instances/s0/events/enable"), None);
        assert_eq!(instance_file("instances/s0/README"), None);
        assert_eq!(instance_file("tracing_on"), None);
        assert_eq!(instance_file("events/g0/tracing_on"), None);
        assert_eq!(
            in_tracing_dir("instances/s1/events/g0/e1/enable"),
            "events/g0/e1/enable"
        );
        assert_eq!(in_tracing_dir("instances/s1/tracing_on"), "tracing_on");
        assert_eq!(in_tracing_dir("events/g0/enable"), "events/g0/enable");
        assert_eq!(group_dir("g0"), "events/g0");
        assert_eq!(PINNED_DIR, group_dir(PINNED_GROUP));
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("a", ""), "a");
        assert_eq!(join("/m", "a/b"), "/m/a/b");
        assert_eq!(outcome::<()>(&Ok(())), "ok");
        assert_eq!(outcome::<()>(&Err(Errno(ENOENT))), "ENOENT");
    }
}
