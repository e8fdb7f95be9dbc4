//! `eventfs-stress bench`: timings of one filesystem, eventfs-rs or mainline tracefs,
//! with N synthetic events (see `scripts/bench.sh`).
//!
//! Both filesystems go through the same code; only the [`Layout`] (paths and command
//! lines) differs. eventfs events are `s:synthetic/evI u64 lat; char comm[16]` in
//! `MOUNT/dynamic_events` (removed with `-:synthetic/evI`), under
//! `MOUNT/events/synthetic/evI`; tracefs events are `evI u64 lat; char comm[16]` in
//! `TRACING/synthetic_events` (removed with `!evI`), under `TRACING/events/synthetic/evI`.
//! Both trees thus have one group of N events in `events/`, whose `enable` covers every
//! event.
//!
//! Every measure is repeated (`--runs`, `--slow-runs` for the one-per-write create and
//! remove, whose N separate writes are the slowest part) and timed with
//! `clock_gettime(CLOCK_MONOTONIC)` around exactly the system calls of the operation; the
//! paths and write buffers are built beforehand. Output, one line per measure, followed by
//! a comment with every sample (how many runs there were, and how much they spread):
//!
//! ```text
//! BENCH FS N MEASURE MEDIAN_US MIN_US
//! # samples FS N MEASURE RUNS: US US ...
//! ```
//!
//! Lines starting with `#` are comments (progress, files per event). The tool checks the
//! state between measures (every event there after a create, none after a removal,
//! enable files reading what was written) and exits 1 if one check fails.

use std::ffi::CString;
use std::fmt;
use std::process::{Command, Stdio};

use libc::{O_APPEND, O_DIRECTORY, O_NONBLOCK, O_RDONLY, O_TRUNC, O_WRONLY};

use crate::dirent;
use crate::sys::{self, cpath, Fd};

/// The usage text of the subcommand.
pub const USAGE: &str = "\
usage: eventfs-stress bench [OPTIONS] eventfs|tracefs|records N

Times operations on N synthetic events in eventfs-rs or in mainline tracefs (`records`:
the record measures, inject, trace_pipe and trace_marker, of both in turns); prints
`BENCH FS N MEASURE MEDIAN_US MIN_US` per measure, then `# samples FS N MEASURE RUNS: US...`
with every sample. Owns the filesystem's event
registry while it runs: it must be empty at the start, and is left empty.

  --runs R          repetitions of each measure (default 5)
  --slow-runs R     repetitions of the one-per-write create and remove (default: --runs)
  --budget SECS     start no further repetition of a measure once SECS have passed
                    since its first began (default 20; the first always runs)
  --mount DIR       the eventfs mount (default /mnt/events)
  --tracing DIR     the tracefs mount (default /sys/kernel/tracing)
  --busybox PATH    the busybox binary run for `find` (default /bin/busybox)
  -h, --help        this text
";

/// Events created per write by the batched create.
pub const PER_WRITE: usize = 100;
/// Events looked up by the lookup measures (fewer if N is smaller).
pub const LOOKUPS: usize = 100;
/// The group of every event, in both filesystems.
pub const GROUP: &str = "synthetic";
/// The fields of every event.
pub const FIELDS: &str = "u64 lat; char comm[16]";
/// Records written (and read back) by each of the record measures.
pub const RECORDS: usize = 1000;
/// `getdents64` buffer of the readdir measures.
const DIRENT_BUF: usize = 32 * 1024;

/// Which filesystem is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// eventfs-rs, mounted at `--mount`.
    Eventfs,
    /// Mainline tracefs, at `--tracing`.
    Tracefs,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Eventfs => "eventfs",
            Target::Tracefs => "tracefs",
        })
    }
}

/// What a bench run does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchConfig {
    /// The filesystem measured.
    pub target: Target,
    /// `records`: the record measures of both filesystems, in turns (`target` unused).
    pub records: bool,
    /// Number of events.
    pub n: usize,
    /// Repetitions of each measure.
    pub runs: usize,
    /// Repetitions of the one-per-write create and remove.
    pub slow_runs: usize,
    /// No repetition of a measure starts after this many seconds (the first always runs).
    pub budget_secs: u64,
    /// The eventfs mount point.
    pub mount: String,
    /// The tracefs mount point.
    pub tracing: String,
    /// The busybox binary (for `find`).
    pub busybox: String,
}

/// Parses the subcommand's arguments (after `bench`). `Ok(None)` means `--help`.
pub fn parse(args: &[String]) -> Result<Option<BenchConfig>, String> {
    let mut runs = 5;
    let mut slow_runs = None;
    let mut budget_secs = 20;
    let mut mount = "/mnt/events".to_string();
    let mut tracing = "/sys/kernel/tracing".to_string();
    let mut busybox = "/bin/busybox".to_string();
    let mut positional = Vec::new();
    let mut it = args.iter();
    let count = |opt: &str, v: Option<&String>| -> Result<usize, String> {
        let v = v.ok_or_else(|| format!("{opt} needs a value"))?;
        match v.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(format!("{opt}: '{v}' is not in 1..=1000")),
        }
    };
    let path = |opt: &str, v: Option<&String>| -> Result<String, String> {
        match v {
            Some(p) if !p.is_empty() => Ok(p.trim_end_matches('/').to_string()),
            _ => Err(format!("{opt} needs a path")),
        }
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--runs" => runs = count(arg, it.next())?,
            "--slow-runs" => slow_runs = Some(count(arg, it.next())?),
            "--budget" => budget_secs = count(arg, it.next())? as u64,
            "--mount" => mount = path(arg, it.next())?,
            "--tracing" => tracing = path(arg, it.next())?,
            "--busybox" => busybox = path(arg, it.next())?,
            s if s.starts_with('-') => return Err(format!("unknown option '{s}'")),
            _ => positional.push(arg.as_str()),
        }
    }
    let [fs, n] = positional[..] else {
        return Err("expected two arguments: eventfs|tracefs|records N".to_string());
    };
    let (target, records) = match fs {
        "eventfs" => (Target::Eventfs, false),
        "tracefs" => (Target::Tracefs, false),
        "records" => (Target::Eventfs, true),
        _ => return Err(format!("'{fs}' is neither eventfs, tracefs nor records")),
    };
    let n = match n.parse::<usize>() {
        Ok(n) if (1..=1_000_000).contains(&n) => n,
        _ => return Err(format!("N: '{n}' is not in 1..=1000000")),
    };
    Ok(Some(BenchConfig {
        target,
        records,
        n,
        runs,
        slow_runs: slow_runs.unwrap_or(runs),
        budget_secs,
        mount,
        tracing,
        busybox,
    }))
}

/// Paths and command lines of one filesystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The filesystem.
    pub target: Target,
    /// The file events are created and removed through.
    pub control: String,
    /// The group directory.
    pub group: String,
    /// The group's `enable`.
    pub group_enable: String,
    /// The `enable` over every event (`events/enable`).
    pub all_enable: String,
    /// The tracing directory itself (`trace`, `trace_pipe`, `trace_marker`).
    pub root: String,
}

impl Layout {
    /// The layout of `target` mounted at `root`.
    pub fn new(target: Target, root: &str) -> Layout {
        let control = match target {
            Target::Eventfs => format!("{root}/dynamic_events"),
            Target::Tracefs => format!("{root}/synthetic_events"),
        };
        let events = format!("{root}/events");
        Layout {
            target,
            control,
            group: format!("{events}/{GROUP}"),
            group_enable: format!("{events}/{GROUP}/enable"),
            all_enable: format!("{events}/enable"),
            root: root.to_string(),
        }
    }

    /// The line that creates event `i`, with its newline.
    pub fn create_line(&self, i: usize) -> String {
        match self.target {
            Target::Eventfs => format!("s:{GROUP}/ev{i} {FIELDS}\n"),
            Target::Tracefs => format!("ev{i} {FIELDS}\n"),
        }
    }

    /// The line that removes event `i`, with its newline.
    pub fn remove_line(&self, i: usize) -> String {
        match self.target {
            Target::Eventfs => format!("-:{GROUP}/ev{i}\n"),
            Target::Tracefs => format!("!ev{i}\n"),
        }
    }

    /// The directory of event `i`.
    pub fn event_dir(&self, i: usize) -> String {
        format!("{}/ev{i}", self.group)
    }
}

/// The write buffers that create events `0..n`, `per` whole lines each.
pub fn batches(n: usize, per: usize, line: impl Fn(usize) -> String) -> Vec<Vec<u8>> {
    (0..n)
        .step_by(per.max(1))
        .map(|start| {
            (start..n.min(start + per.max(1)))
                .flat_map(|i| line(i).into_bytes())
                .collect()
        })
        .collect()
}

/// `k` event indices spread evenly over `0..n` (all of them if `n <= k`).
pub fn spread(n: usize, k: usize) -> Vec<usize> {
    if n <= k {
        (0..n).collect()
    } else {
        (0..k).map(|j| j * n / k).collect()
    }
}

/// Median and minimum of the samples (microseconds).
pub fn summarize(samples: &[f64]) -> (f64, f64) {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let median = match s.len() {
        0 => return (f64::NAN, f64::NAN),
        len if len % 2 == 1 => s[len / 2],
        len => (s[len / 2 - 1] + s[len / 2]) / 2.0,
    };
    (median, s[0])
}

/// The output of one measure: its `BENCH` line, and a comment with every sample in the
/// order taken.
pub fn result_lines(target: Target, n: usize, measure: &str, samples: &[f64]) -> String {
    let (median, min) = summarize(samples);
    let all: Vec<String> = samples.iter().map(|s| format!("{s:.1}")).collect();
    format!(
        "BENCH {target} {n} {measure} {median:.1} {min:.1}\n# samples {target} {n} {measure} {}: {}",
        samples.len(),
        all.join(" ")
    )
}

/// `CLOCK_MONOTONIC` in nanoseconds.
fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the kernel to fill.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(r, 0, "clock_gettime(CLOCK_MONOTONIC) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Runs `f` once and returns how long it took, in microseconds.
fn timed(f: impl FnOnce() -> Result<(), String>) -> Result<f64, String> {
    let t0 = now_ns();
    f()?;
    Ok((now_ns() - t0) as f64 / 1000.0)
}

/// The repetitions of one measure: up to `runs`, but none begins once the budget has
/// passed since the iterator was made (the first always does).
struct Reps {
    runs: usize,
    done: usize,
    start: u64,
    budget_ns: u64,
}

impl Iterator for Reps {
    type Item = ();

    fn next(&mut self) -> Option<()> {
        if self.done == self.runs || (self.done > 0 && now_ns() - self.start > self.budget_ns) {
            return None;
        }
        self.done += 1;
        Some(())
    }
}

/// Context for an error of a system call on `path`.
fn ctx<T>(r: sys::SysResult<T>, what: &str, path: &str) -> Result<T, String> {
    r.map_err(|e| format!("{what} {path}: {e}"))
}

/// Writes each buffer to `fd` in one `write(2)`, which must take all of it.
fn write_each(fd: &Fd, bufs: &[Vec<u8>], path: &str) -> Result<(), String> {
    for b in bufs {
        let n = ctx(sys::write(fd, b), "write", path)?;
        if n != b.len() {
            return Err(format!("write {path}: {n} of {} bytes", b.len()));
        }
    }
    Ok(())
}

/// One filesystem with N events: the precomputed paths and buffers.
struct Bench {
    cfg: BenchConfig,
    layout: Layout,
    control: CString,
    group: CString,
    /// Batched create lines, `PER_WRITE` per buffer.
    create_batched: Vec<Vec<u8>>,
    /// One create line per buffer.
    create_single: Vec<Vec<u8>>,
    /// One remove line per buffer.
    remove_single: Vec<Vec<u8>>,
    /// The event directories looked up (spread over the N).
    lookups: Vec<CString>,
    /// The first and last event directory (checked after creates and removals).
    first_last: [CString; 2],
}

impl Bench {
    fn new(cfg: &BenchConfig) -> Bench {
        let root = match cfg.target {
            Target::Eventfs => &cfg.mount,
            Target::Tracefs => &cfg.tracing,
        };
        let layout = Layout::new(cfg.target, root);
        let n = cfg.n;
        Bench {
            control: cpath(&layout.control),
            group: cpath(&layout.group),
            create_batched: batches(n, PER_WRITE, |i| layout.create_line(i)),
            create_single: batches(n, 1, |i| layout.create_line(i)),
            remove_single: batches(n, 1, |i| layout.remove_line(i)),
            lookups: spread(n, LOOKUPS)
                .into_iter()
                .map(|i| cpath(&layout.event_dir(i)))
                .collect(),
            first_last: [cpath(&layout.event_dir(0)), cpath(&layout.event_dir(n - 1))],
            layout,
            cfg: cfg.clone(),
        }
    }

    fn reps(&self, runs: usize) -> Reps {
        Reps {
            runs,
            done: 0,
            start: now_ns(),
            budget_ns: self.cfg.budget_secs * 1_000_000_000,
        }
    }

    fn print(&self, measure: &str, samples: &[f64]) {
        println!(
            "{}",
            result_lines(self.cfg.target, self.cfg.n, measure, samples)
        );
    }

    /// Writes `bufs` to the control file through one descriptor.
    fn write_control(&self, bufs: &[Vec<u8>]) -> Result<(), String> {
        let path = &self.layout.control;
        let fd = ctx(sys::open(&self.control, O_WRONLY | O_APPEND), "open", path)?;
        write_each(&fd, bufs, path)?;
        ctx(fd.close(), "close", path)
    }

    /// `echo > control`: removes every event.
    fn truncate(&self) -> Result<(), String> {
        let path = &self.layout.control;
        let fd = ctx(sys::open(&self.control, O_WRONLY | O_TRUNC), "open", path)?;
        write_each(&fd, &[b"\n".to_vec()], path)?;
        ctx(fd.close(), "close", path)
    }

    /// Checks that every event exists (`true`) or none does (`false`): the first and
    /// last directory, and the control file's listing.
    fn check_populated(&self, present: bool) -> Result<(), String> {
        for p in &self.first_last {
            let r = sys::stat(p);
            if r.is_ok() != present {
                return Err(format!(
                    "{}: {} (expected {})",
                    p.to_string_lossy(),
                    r.map_or_else(|e| e.to_string(), |_| "exists".into()),
                    if present { "to exist" } else { "ENOENT" }
                ));
            }
        }
        let listing = ctx(
            sys::read_file(&self.layout.control, 64 << 20),
            "read",
            &self.layout.control,
        )?;
        let lines = listing
            .split(|&c| c == b'\n')
            .filter(|l| !l.is_empty())
            .count();
        let want = if present { self.cfg.n } else { 0 };
        if lines != want {
            return Err(format!(
                "{} lists {lines} events, expected {want}",
                self.layout.control
            ));
        }
        Ok(())
    }

    /// `stat` of every path, each of which must exist.
    fn stat_all(paths: &[CString]) -> Result<(), String> {
        for p in paths {
            sys::stat(p).map_err(|e| format!("stat {}: {e}", p.to_string_lossy()))?;
        }
        Ok(())
    }

    /// One complete `getdents64` pass over `dir`; returns the entries other than `.` and
    /// `..` as (name, is directory).
    fn readdir(dir: &CString, buf: &mut [u8]) -> Result<Vec<(String, bool)>, String> {
        let path = dir.to_string_lossy();
        let fd = ctx(sys::open(dir, O_RDONLY | O_DIRECTORY), "open", &path)?;
        let mut out = Vec::new();
        loop {
            let n = ctx(sys::getdents64(&fd, buf), "getdents64", &path)?;
            if n == 0 {
                break;
            }
            for d in dirent::parse(&buf[..n]).map_err(|e| format!("getdents64 {path}: {e}"))? {
                if !d.is_dot() {
                    out.push((d.name, d.dtype == dirent::DT_DIR));
                }
            }
        }
        ctx(fd.close(), "close", &path)?;
        Ok(out)
    }

    /// Writes `value` to an `enable` file (open, write, close).
    fn write_enable(path: &CString, value: &[u8]) -> Result<(), String> {
        let p = path.to_string_lossy();
        let fd = ctx(sys::open(path, O_WRONLY), "open", &p)?;
        write_each(&fd, &[value.to_vec()], &p)?;
        ctx(fd.close(), "close", &p)
    }

    /// Checks that the group's `enable` reads `want`.
    fn check_group_enable(&self, want: char) -> Result<(), String> {
        let p = &self.layout.group_enable;
        let text = ctx(sys::read_file(p, 64), "read", p)?;
        let got = String::from_utf8_lossy(&text);
        if got.trim_end() != want.to_string() {
            return Err(format!("{p} reads '{}', expected '{want}'", got.trim_end()));
        }
        Ok(())
    }

    fn drop_caches() -> Result<(), String> {
        ctx(
            sys::write_file("/proc/sys/vm/drop_caches", "2"),
            "write",
            "/proc/sys/vm/drop_caches",
        )
    }

    /// `busybox find GROUP >/dev/null`, which must succeed.
    fn find(&self) -> Result<(), String> {
        let status = Command::new(&self.cfg.busybox)
            .args(["find", &self.layout.group])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("{} find: {e}", self.cfg.busybox))?;
        if !status.success() {
            return Err(format!("find {}: {status}", self.layout.group));
        }
        Ok(())
    }

    fn run(&self) -> Result<(), String> {
        let (runs, slow) = (self.cfg.runs, self.cfg.slow_runs);
        self.check_populated(false)
            .map_err(|e| format!("the registry must start empty: {e}"))?;

        // Batched create, then removal of all at once.
        println!(
            "# {}: create {} events, {PER_WRITE} per write",
            self.cfg.target, self.cfg.n
        );
        let (mut create, mut trunc) = (Vec::new(), Vec::new());
        for () in self.reps(runs) {
            create.push(timed(|| self.write_control(&self.create_batched))?);
            self.check_populated(true)?;
            trunc.push(timed(|| self.truncate())?);
            self.check_populated(false)?;
        }
        self.print("create_batched", &create);
        self.print("remove_all", &trunc);

        // One event per write, then removal one by one.
        println!(
            "# {}: create and remove one event per write",
            self.cfg.target
        );
        let (mut create, mut remove) = (Vec::new(), Vec::new());
        for () in self.reps(slow) {
            create.push(timed(|| self.write_control(&self.create_single))?);
            self.check_populated(true)?;
            remove.push(timed(|| self.write_control(&self.remove_single))?);
            self.check_populated(false)?;
        }
        self.print("create_single", &create);
        self.print("remove_single", &remove);

        // The rest on one population.
        self.write_control(&self.create_batched)?;
        self.check_populated(true)?;
        let mut buf = vec![0u8; DIRENT_BUF];
        let files: Vec<String> = Self::readdir(&self.first_last[0], &mut buf)?
            .into_iter()
            .filter(|(_, dir)| !dir)
            .map(|(name, _)| name)
            .collect();
        println!(
            "# {} files_per_event {} ({})",
            self.cfg.target,
            files.len(),
            files.join(" ")
        );
        let every_file: Vec<CString> = (0..self.cfg.n)
            .flat_map(|i| {
                let dir = self.layout.event_dir(i);
                files.iter().map(move |f| cpath(&format!("{dir}/{f}")))
            })
            .collect();

        println!("# {}: lookups, readdir, stat, find", self.cfg.target);
        let mut samples = Vec::new();
        for () in self.reps(runs) {
            Self::drop_caches()?;
            samples.push(timed(|| Self::stat_all(&self.lookups))?);
        }
        self.print("lookup_cold", &samples);
        samples.clear();
        Self::stat_all(&self.lookups)?;
        for () in self.reps(runs) {
            samples.push(timed(|| Self::stat_all(&self.lookups))?);
        }
        self.print("lookup_warm", &samples);

        samples.clear();
        // An untimed pass first, as for the warm lookups: the first pass after the
        // population also pays for TCG translating the code on its path.
        Self::readdir(&self.group, &mut buf)?;
        let mut entries = 0;
        for () in self.reps(runs) {
            samples.push(timed(|| {
                entries = Self::readdir(&self.group, &mut buf)?
                    .iter()
                    .filter(|(_, dir)| *dir)
                    .count();
                Ok(())
            })?);
            if entries != self.cfg.n {
                return Err(format!(
                    "{}: {entries} event directories listed, expected {}",
                    self.layout.group, self.cfg.n
                ));
            }
        }
        self.print("readdir", &samples);

        samples.clear();
        for () in self.reps(runs) {
            Self::drop_caches()?;
            samples.push(timed(|| Self::stat_all(&every_file))?);
        }
        self.print("stat_files_cold", &samples);
        samples.clear();
        for () in self.reps(runs) {
            samples.push(timed(|| Self::stat_all(&every_file))?);
        }
        self.print("stat_files_warm", &samples);

        samples.clear();
        for () in self.reps(runs) {
            Self::drop_caches()?;
            samples.push(timed(|| self.find())?);
        }
        self.print("find_cold", &samples);
        samples.clear();
        for () in self.reps(runs) {
            samples.push(timed(|| self.find())?);
        }
        self.print("find_warm", &samples);

        println!("# {}: enable and disable", self.cfg.target);
        for (what, path) in [
            ("group", &self.layout.group_enable),
            ("all", &self.layout.all_enable),
        ] {
            let path = cpath(path);
            // The first enable may set up state once (tracefs expands its ring buffer).
            Self::write_enable(&path, b"1")?;
            Self::write_enable(&path, b"0")?;
            let (mut on, mut off) = (Vec::new(), Vec::new());
            for () in self.reps(runs) {
                on.push(timed(|| Self::write_enable(&path, b"1"))?);
                self.check_group_enable('1')?;
                off.push(timed(|| Self::write_enable(&path, b"0"))?);
                self.check_group_enable('0')?;
            }
            self.print(&format!("enable_{what}"), &on);
            self.print(&format!("disable_{what}"), &off);
        }

        self.truncate()?;
        self.check_populated(false)
    }

    /// Writes `bufs` to `path` through one descriptor, each in one `write(2)`.
    fn write_all_to(path: &str, bufs: &[Vec<u8>]) -> Result<(), String> {
        let fd = ctx(sys::open(&cpath(path), O_WRONLY), "open", path)?;
        write_each(&fd, bufs, path)?;
        ctx(fd.close(), "close", path)
    }

    /// `echo > trace`: empties the buffer.
    fn clear_trace(&self) -> Result<(), String> {
        let path = format!("{}/trace", self.layout.root);
        let fd = ctx(sys::open(&cpath(&path), O_WRONLY | O_TRUNC), "open", &path)?;
        ctx(fd.close(), "close", &path)
    }

    /// Reads `trace_pipe` until it is empty; returns the lines that hold `what`.
    fn drain_pipe(&self, what: &str) -> Result<usize, String> {
        let path = format!("{}/trace_pipe", self.layout.root);
        let fd = ctx(
            sys::open(&cpath(&path), O_RDONLY | O_NONBLOCK),
            "open",
            &path,
        )?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut text = Vec::new();
        loop {
            match sys::read(&fd, &mut buf) {
                Ok(0) => break,
                Ok(n) => text.extend_from_slice(&buf[..n]),
                Err(e) if e.0 == libc::EAGAIN => break,
                Err(e) => return Err(format!("read {path}: {e}")),
            }
        }
        ctx(fd.close(), "close", &path)?;
        Ok(String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| l.contains(what))
            .count())
    }

    /// Enables event 0 for the record measures (or disables it again).
    fn enable_first(&self, on: bool) -> Result<(), String> {
        let enable = cpath(&format!("{}/enable", self.layout.event_dir(0)));
        Self::write_enable(&enable, if on { b"1" } else { b"0" })
    }

    /// One repetition of the record measures: the floor under the writers ([`RECORDS`]
    /// writes to `trace`, which both filesystems accept and ignore), [`RECORDS`] injects
    /// of event 0, reading them back from `trace_pipe`, and [`RECORDS`] `trace_marker`
    /// writes, each through one descriptor. Event 0 must be enabled.
    fn records_rep(&self, s: &mut RecordSamples) -> Result<(), String> {
        let inject = format!("{}/inject", self.layout.event_dir(0));
        let marker = format!("{}/trace_marker", self.layout.root);
        let trace = format!("{}/trace", self.layout.root);
        let injects: Vec<Vec<u8>> = (0..RECORDS)
            // Only `lat`: a field named `comm` cannot be injected (mainline finds its
            // generic `comm` first), here as in mainline.
            .map(|i| format!("lat={i}").into_bytes())
            .collect();
        let marks: Vec<Vec<u8>> = (0..RECORDS)
            .map(|i| format!("bench mark {i}\n").into_bytes())
            .collect();
        s.floor.push(timed(|| Self::write_all_to(&trace, &marks))?);
        self.clear_trace()?;
        s.inject
            .push(timed(|| Self::write_all_to(&inject, &injects))?);
        let mut got = 0;
        s.pipe.push(timed(|| {
            got = self.drain_pipe("ev0: lat=")?;
            Ok(())
        })?);
        if got != RECORDS {
            return Err(format!(
                "trace_pipe gave {got} of {RECORDS} injected records"
            ));
        }
        s.marker
            .push(timed(|| Self::write_all_to(&marker, &marks))?);
        let got = self.drain_pipe("bench mark ")?;
        if got != RECORDS {
            return Err(format!("trace_pipe gave {got} of {RECORDS} marker records"));
        }
        Ok(())
    }

    /// Prints the record measures.
    fn print_records(&self, s: &RecordSamples) {
        self.print("inject_1000", &s.inject);
        self.print("trace_pipe_1000", &s.pipe);
        self.print("trace_marker_1000", &s.marker);
        self.print("write_floor_1000", &s.floor);
    }
}

/// The samples of the record measures of one filesystem.
#[derive(Default)]
struct RecordSamples {
    inject: Vec<f64>,
    pipe: Vec<f64>,
    marker: Vec<f64>,
    floor: Vec<f64>,
}

/// The record measures of both filesystems, each with N events, taken in turns (which
/// one goes first alternates): each pair of samples sees the same load, so that their
/// ratio holds even where the guest's speed drifts under TCG.
fn records_pair(cfg: &BenchConfig) -> Result<(), String> {
    let both = [Target::Eventfs, Target::Tracefs].map(|target| {
        Bench::new(&BenchConfig {
            target,
            ..cfg.clone()
        })
    });
    for b in &both {
        b.check_populated(false)
            .map_err(|e| format!("the registry must start empty: {e}"))?;
        b.write_control(&b.create_batched)?;
        b.check_populated(true)?;
        b.enable_first(true)?;
    }
    println!(
        "# records: eventfs and tracefs in turns, {RECORDS} injects, trace_pipe, {RECORDS} trace_marker writes each"
    );
    let mut samples = [RecordSamples::default(), RecordSamples::default()];
    // An untimed round first: the first pass also pays for TCG translating the code.
    for (b, s) in both.iter().zip(&mut samples) {
        b.records_rep(s)?;
        *s = RecordSamples::default();
    }
    let mut reps = both[0].reps(cfg.runs);
    let mut round = 0;
    while reps.next().is_some() {
        for k in 0..2 {
            let i = (round + k) % 2;
            both[i].records_rep(&mut samples[i])?;
        }
        round += 1;
    }
    for (b, s) in both.iter().zip(&samples) {
        b.enable_first(false)?;
        b.print_records(s);
        b.truncate()?;
        b.check_populated(false)?;
    }
    Ok(())
}

/// Runs the benchmark; returns the exit code.
pub fn run(cfg: &BenchConfig) -> i32 {
    println!("# BENCH fs n measure median_us min_us");
    let r = if cfg.records {
        records_pair(cfg)
    } else {
        Bench::new(cfg).run()
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            println!("BENCH {} {}: FAILED: {e}", cfg.target, cfg.n);
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parse_args() {
        let c = parse(&args("eventfs 100")).unwrap().unwrap();
        assert_eq!(
            (c.target, c.n, c.runs, c.slow_runs),
            (Target::Eventfs, 100, 5, 5)
        );
        assert_eq!((c.mount.as_str(), c.budget_secs), ("/mnt/events", 20));
        let c = parse(&args(
            "--runs 3 --slow-runs 1 --budget 9 --tracing /t/ --mount /m tracefs 7",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(
            (c.target, c.n, c.runs, c.slow_runs),
            (Target::Tracefs, 7, 3, 1)
        );
        assert_eq!((c.tracing.as_str(), c.mount.as_str()), ("/t", "/m"));
        assert_eq!(c.budget_secs, 9);
        assert_eq!(parse(&args("eventfs 1 -h")), Ok(None));
        let c = parse(&args("records 10")).unwrap().unwrap();
        assert!(c.records && c.n == 10);
        assert!(!parse(&args("tracefs 10")).unwrap().unwrap().records);
        for bad in [
            "",
            "eventfs",
            "ext4 10",
            "eventfs 0",
            "eventfs x",
            "eventfs 1 2",
            "--runs 0 eventfs 1",
            "--runs eventfs 1",
            "--bogus eventfs 1",
            "--mount",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn layouts() {
        let e = Layout::new(Target::Eventfs, "/mnt/events");
        assert_eq!(e.control, "/mnt/events/dynamic_events");
        assert_eq!(e.group, "/mnt/events/events/synthetic");
        assert_eq!(e.group_enable, "/mnt/events/events/synthetic/enable");
        assert_eq!(e.all_enable, "/mnt/events/events/enable");
        assert_eq!(e.event_dir(3), "/mnt/events/events/synthetic/ev3");
        assert_eq!(e.create_line(3), "s:synthetic/ev3 u64 lat; char comm[16]\n");
        assert_eq!(e.remove_line(3), "-:synthetic/ev3\n");
        let t = Layout::new(Target::Tracefs, "/sys/kernel/tracing");
        assert_eq!(t.control, "/sys/kernel/tracing/synthetic_events");
        assert_eq!(t.group, "/sys/kernel/tracing/events/synthetic");
        assert_eq!(t.all_enable, "/sys/kernel/tracing/events/enable");
        assert_eq!(t.create_line(12), "ev12 u64 lat; char comm[16]\n");
        assert_eq!(t.remove_line(12), "!ev12\n");
    }

    #[test]
    fn batches_are_whole_lines() {
        let b = batches(250, 100, |i| format!("e{i}\n"));
        assert_eq!(b.len(), 3);
        let lines: Vec<usize> = b
            .iter()
            .map(|x| x.iter().filter(|&&c| c == b'\n').count())
            .collect();
        assert_eq!(lines, [100, 100, 50]);
        assert!(b.iter().all(|x| x.ends_with(b"\n")));
        assert!(b[1].starts_with(b"e100\n"));
        // tracefs parses a write in 4 KiB pieces: a batch of the longest lines fits one.
        let t = Layout::new(Target::Tracefs, "/t");
        assert!(batches(1_000_000, PER_WRITE, |i| t.create_line(i + 999_900))[0].len() < 4096);
        assert_eq!(
            batches(3, 1, |i| format!("{i}\n")),
            [b"0\n", b"1\n", b"2\n"]
        );
    }

    #[test]
    fn spread_indices() {
        assert_eq!(spread(3, 100), [0, 1, 2]);
        let s = spread(10_000, 100);
        assert_eq!(s.len(), 100);
        assert_eq!((s[0], s[1], s[99]), (0, 100, 9900));
        let s = spread(150, 100);
        assert_eq!(s.len(), 100);
        assert!(s.windows(2).all(|w| w[0] < w[1]) && s[99] < 150);
    }

    #[test]
    fn summaries() {
        assert_eq!(summarize(&[5.0, 1.0, 3.0]), (3.0, 1.0));
        assert_eq!(summarize(&[4.0, 1.0, 2.0, 8.0]), (3.0, 1.0));
        assert!(summarize(&[]).0.is_nan());
        assert_eq!(
            result_lines(Target::Tracefs, 100, "readdir", &[12.34, 10.0, 11.0]),
            "BENCH tracefs 100 readdir 11.0 10.0\n# samples tracefs 100 readdir 3: 12.3 10.0 11.0"
        );
    }

    #[test]
    fn repetitions_within_budget() {
        let all = Reps {
            runs: 4,
            done: 0,
            start: now_ns(),
            budget_ns: 60_000_000_000,
        };
        assert_eq!(all.count(), 4);
        // Past the budget: only the first.
        let spent = Reps {
            runs: 4,
            done: 0,
            start: now_ns() - 2_000_000_000,
            budget_ns: 1_000_000_000,
        };
        assert_eq!(spent.count(), 1);
    }

    #[test]
    fn clock_moves() {
        let a = now_ns();
        let us = timed(|| {
            std::thread::sleep(std::time::Duration::from_millis(2));
            Ok(())
        })
        .unwrap();
        assert!(now_ns() > a && us >= 2000.0);
        assert_eq!(timed(|| Err("x".into())), Err("x".to_string()));
    }
}
