//! `eventfs-stress bench`: timings of eventfs-rs against mainline tracefs with N synthetic
//! events (see `scripts/bench.sh`).
//!
//! Both filesystems go through the same code; only the [`Layout`] (paths and command
//! lines) differs. eventfs events are `s:synthetic/evI u64 lat; char comm[16]` in
//! `MOUNT/dynamic_events` (removed with `-:synthetic/evI`), under
//! `MOUNT/events/synthetic/evI`; tracefs events are `evI u64 lat; char comm[16]` in
//! `TRACING/synthetic_events` (removed with `!evI`), under `TRACING/events/synthetic/evI`.
//! Both trees thus have one group of N events in `events/`, whose `enable` covers every
//! event.
//!
//! `bench eventfs N` and `bench tracefs N` take the structural measures (create, remove,
//! lookup, readdir, stat, `find`, enable; the [`Structural`]s) of that one filesystem;
//! `bench pair N` takes the same of both in turns, `bench records N` the record
//! measures (inject, `trace_pipe`, `trace_marker`) of both in turns, and `bench probes K`
//! the kprobe measures of both in turns (see [`probes`]): K `read(2)`s of one byte from
//! `/dev/zero` with a probe on `vfs_read` disabled, enabled in one instance and in two,
//! and the definition and removal of [`PROBES`] probes. In turns, each
//! repetition is a round with one sample of each filesystem, which one goes first
//! alternating ([`round_order`]): the guest's speed drifts under QEMU/TCG, by more than
//! the difference measured, so one filesystem's block of measures and then the other's
//! give ratios that move from one N to the next, while the two samples of a round see the
//! same load. [`take`] drives a group over one filesystem or over both in turns with the
//! same [`Bench::sample`], so the single and the paired runs share every measure.
//!
//! Every measure is repeated (`--runs`, `--slow-runs` for the one-per-write create and
//! remove, whose N separate writes are the slowest part) and timed with
//! `clock_gettime(CLOCK_MONOTONIC)` around exactly the system calls of the operation; the
//! paths and write buffers are built beforehand. Output, one line per measure and
//! filesystem, followed by a comment with every sample (how many runs there were, and
//! how much they spread), and for a measure taken in turns a comment that says so:
//!
//! ```text
//! BENCH FS N MEASURE MEDIAN_US MIN_US
//! # samples FS N MEASURE RUNS: US US ...
//! # paired N MEASURE
//! ```
//!
//! The two sample lists of a paired measure have the same length and are in round order:
//! sample k of eventfs and sample k of tracefs were taken in round k (`benchreport.py`
//! takes the median of the rounds' ratios for these). Lines starting with `#` are
//! comments (progress, files per event, `# kprobes:` setup). The tool checks the state
//! between measures (every event there after a create, none after a removal, enable
//! files reading what was written; every probe hit counted and recorded) and exits 1
//! if one check fails.

use std::ffi::CString;
use std::fmt;
use std::process::{Command, Stdio};

use libc::{O_APPEND, O_DIRECTORY, O_NONBLOCK, O_RDONLY, O_TRUNC, O_WRONLY};

use crate::dirent;
use crate::sys::{self, cpath, Fd};

/// The usage text of the subcommand.
pub const USAGE: &str = "\
usage: eventfs-stress bench [OPTIONS] eventfs|tracefs|pair|records N
       eventfs-stress bench [OPTIONS] probes K

Times operations on N synthetic events in eventfs-rs and in mainline tracefs.
  eventfs, tracefs  the structural measures (create, remove, lookup, readdir, stat,
                    find, enable) of that filesystem alone
  pair              the structural measures of both, in turns
  records           the record measures (inject, trace_pipe, trace_marker) of both,
                    in turns
  probes            the kprobe measures of both, in turns: 100 probes on vfs_read
                    defined one per write, then removed by O_TRUNC (reported at
                    N=100); then K read(2)s of one byte from /dev/zero (K in
                    1..=20000, reported as their N) with a probe on vfs_read defined
                    but disabled, enabled in instance benchA, enabled in benchA and
                    benchB, and the cost of the K hits (enabled less disabled, per
                    round). kprobes-optimization is 0 during the reads (restored
                    after): every hit traps (int3)
In turns: each repetition is a round with one sample of each filesystem, which one
goes first alternating. Prints `BENCH FS N MEASURE MEDIAN_US MIN_US` per measure and
filesystem, then `# samples FS N MEASURE RUNS: US...` with every sample, and in turns
`# paired N MEASURE` (sample k of both lists is round k). Owns the event registry of
each filesystem it measures while it runs: it must be empty at the start, and is left
empty (for probes: no kprobe event, and no instance benchA or benchB).

  --runs R          repetitions (rounds, in turns) of each measure (default 5)
  --slow-runs R     repetitions of the one-per-write create and remove (default: --runs)
  --budget SECS     start no further repetition of a measure group once SECS have
                    passed since its first began (default 20; the first always runs)
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
/// The group of every kprobe event, in both filesystems (mainline's default).
pub const PROBE_GROUP: &str = "kprobes";
/// The probe the hit measures time, on [`PROBE_FUNC`], with [`PROBE_ARGS`].
pub const PROBE: &str = "bench_read";
/// The probed function: each `read(2)` of the loop calls it once.
pub const PROBE_FUNC: &str = "vfs_read";
/// The fetch arguments of [`PROBE`]: `vfs_read`'s `count` (the third argument, `%dx` on
/// x86_64) and the task's name, so that a record tells the loop's reads from others.
pub const PROBE_ARGS: &str = "cnt=%dx:u32 c=$comm";
/// The instances the hit measures enable [`PROBE`] in: the first, then both.
pub const INSTANCES: [&str; 2] = ["benchA", "benchB"];
/// Probes defined (`bp0`... on [`PROBE_FUNC`], one per write) and removed by the
/// registration measures, which report this as their N.
pub const PROBES: usize = 100;
/// Most `read(2)`s in a hit measure: the records of one loop must all fit one CPU's
/// part of an instance's buffer at its default size (1408 KiB, about 32,000 records of
/// [`PROBE`]; mainline overwrites the oldest when it is full), or the check that every
/// one arrived would fail.
pub const MAX_CALLS: usize = 20_000;
/// `debug.kprobes-optimization`: set to 0 for the hit measures, restored after.
const OPTIMIZATION: &str = "/proc/sys/debug/kprobes-optimization";

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

/// Which measures a bench run takes, of which filesystems.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `eventfs`, `tracefs`: the structural measures of `target` alone.
    Single,
    /// `pair`: the structural measures of both filesystems, in turns.
    Pair,
    /// `records`: the record measures of both filesystems, in turns.
    Records,
    /// `probes`: the kprobe measures of both filesystems, in turns.
    Probes,
}

/// What a bench run does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchConfig {
    /// The filesystem measured in [`Mode::Single`] (unused otherwise).
    pub target: Target,
    /// Which measures, of one filesystem or of both in turns.
    pub mode: Mode,
    /// Number of events (for [`Mode::Probes`], K: the `read(2)`s of a hit measure).
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

impl BenchConfig {
    /// The run's name in its failure line: the filesystem measured alone, or the
    /// subcommand that measures both.
    pub fn label(&self) -> String {
        match self.mode {
            Mode::Single => self.target.to_string(),
            Mode::Pair => "pair".to_string(),
            Mode::Records => "records".to_string(),
            Mode::Probes => "probes".to_string(),
        }
    }
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
    let [what, n] = positional[..] else {
        return Err(
            "expected two arguments: eventfs|tracefs|pair|records N, or probes K".to_string(),
        );
    };
    let (target, mode) = match what {
        "eventfs" => (Target::Eventfs, Mode::Single),
        "tracefs" => (Target::Tracefs, Mode::Single),
        "pair" => (Target::Eventfs, Mode::Pair),
        "records" => (Target::Eventfs, Mode::Records),
        "probes" => (Target::Eventfs, Mode::Probes),
        _ => {
            return Err(format!(
                "'{what}' is none of eventfs, tracefs, pair, records and probes"
            ))
        }
    };
    let (name, max) = match mode {
        Mode::Probes => ("K", MAX_CALLS),
        _ => ("N", 1_000_000),
    };
    let n = match n.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => n,
        _ => return Err(format!("{name}: '{n}' is not in 1..={max}")),
    };
    Ok(Some(BenchConfig {
        target,
        mode,
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
    /// The file kprobe events are defined and removed through.
    pub kprobe_events: String,
    /// The hits and misses of each kprobe event.
    pub kprobe_profile: String,
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
            kprobe_events: format!("{root}/kprobe_events"),
            kprobe_profile: format!("{root}/kprobe_profile"),
        }
    }

    /// The line that defines [`PROBE`], with its newline (the same in both).
    pub fn probe_line(&self) -> String {
        format!("p:{PROBE_GROUP}/{PROBE} {PROBE_FUNC} {PROBE_ARGS}\n")
    }

    /// The line that defines probe `i` of the registration measures, with its newline.
    pub fn register_line(&self, i: usize) -> String {
        format!("p:{PROBE_GROUP}/bp{i} {PROBE_FUNC}\n")
    }

    /// The directory of kprobe event `name` at the top level.
    pub fn probe_dir(&self, name: &str) -> String {
        format!("{}/events/{PROBE_GROUP}/{name}", self.root)
    }

    /// The instance `name`.
    pub fn instance(&self, name: &str) -> String {
        format!("{}/instances/{name}", self.root)
    }

    /// The `enable` of [`PROBE`] in instance `name`.
    pub fn instance_probe_enable(&self, name: &str) -> String {
        format!(
            "{}/events/{PROBE_GROUP}/{PROBE}/enable",
            self.instance(name)
        )
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

/// The comment that marks `measure` at `n` as taken in turns, after both filesystems'
/// lines: `benchreport.py` then takes the median of the rounds' ratios, pairing sample k
/// of one list with sample k of the other.
pub fn paired_line(n: usize, measure: &str) -> String {
    format!("# paired {n} {measure}")
}

/// The order in which round `round` samples `count` filesystems (indices): rotated by
/// one per round, so that with two each goes first every other round. The first of a
/// round can pay for what the other one left behind (or gain from it), and alternating
/// spreads that over both.
pub fn round_order(round: usize, count: usize) -> impl Iterator<Item = usize> {
    (0..count).map(move |k| (round + k) % count)
}

/// The hits of kprobe event `event` in a `kprobe_profile` listing (`  EVENT  HITS
/// MISSES` per event, as mainline's), or `None` if it is not listed.
pub fn profile_hits(listing: &str, event: &str) -> Option<u64> {
    listing.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        match (words.next(), words.next()) {
            (Some(name), Some(hits)) if name == event => hits.parse().ok(),
            _ => None,
        }
    })
}

/// The records of the hit loop in a `trace` listing: the lines of [`PROBE`] whose
/// arguments are a one-byte read by task `comm` (`... bench_read: (vfs_read+0x4/0x..)
/// cnt=1 c="eventfs-stress"`). The tool reads nothing else one byte at a time, so a
/// loop of K reads with the probe enabled gives exactly K of them.
pub fn loop_records(listing: &str, comm: &str) -> usize {
    let event = format!(" {PROBE}: (");
    let args = format!(") cnt=1 c=\"{comm}\"");
    listing
        .lines()
        .filter(|l| l.contains(&event) && l.ends_with(&args))
        .count()
}

/// The non-empty lines of a listing (one per event in a definitions file).
pub fn count_lines(listing: &[u8]) -> usize {
    listing
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .count()
}

/// A group of structural measures taken together: each repetition gives one sample of
/// each of its measures (a create, and the removal that empties the registry again for
/// the next create, are one repetition; so are an enable and its disable).
/// [`Bench::sample`] takes one repetition on one filesystem; [`take`] repeats it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Structural {
    /// `create_batched`, `remove_all`: create the N events [`PER_WRITE`] per write,
    /// then remove them all at once (`O_TRUNC`).
    CreateBatched,
    /// `create_single`, `remove_single`: create the N events one per write, then
    /// remove them one per write.
    CreateSingle,
    /// `lookup_cold`: `stat` of [`LOOKUPS`] event directories after `drop_caches`.
    LookupCold,
    /// `lookup_warm`: the same, cached.
    LookupWarm,
    /// `readdir`: one complete `getdents64` pass over the group.
    Readdir,
    /// `stat_files_cold`: `stat` of every file of every event after `drop_caches`.
    StatFilesCold,
    /// `stat_files_warm`: the same, cached.
    StatFilesWarm,
    /// `find_cold`: `busybox find` over the group after `drop_caches`.
    FindCold,
    /// `find_warm`: the same, cached.
    FindWarm,
    /// `enable_group`, `disable_group`: `1`, then `0`, to the group's `enable`.
    EnableGroup,
    /// `enable_all`, `disable_all`: `1`, then `0`, to `events/enable`.
    EnableAll,
}

impl Structural {
    /// The groups that start and end with an empty registry, in the order taken.
    pub const EMPTY: [Structural; 2] = [Structural::CreateBatched, Structural::CreateSingle];
    /// The groups taken on one population of N events, in the order taken: each warm
    /// measure after its cold one.
    pub const POPULATED: [Structural; 9] = [
        Structural::LookupCold,
        Structural::LookupWarm,
        Structural::Readdir,
        Structural::StatFilesCold,
        Structural::StatFilesWarm,
        Structural::FindCold,
        Structural::FindWarm,
        Structural::EnableGroup,
        Structural::EnableAll,
    ];

    /// The measures of one repetition, in the order of [`Bench::sample`]'s samples.
    pub fn measures(self) -> &'static [&'static str] {
        match self {
            Structural::CreateBatched => &["create_batched", "remove_all"],
            Structural::CreateSingle => &["create_single", "remove_single"],
            Structural::LookupCold => &["lookup_cold"],
            Structural::LookupWarm => &["lookup_warm"],
            Structural::Readdir => &["readdir"],
            Structural::StatFilesCold => &["stat_files_cold"],
            Structural::StatFilesWarm => &["stat_files_warm"],
            Structural::FindCold => &["find_cold"],
            Structural::FindWarm => &["find_warm"],
            Structural::EnableGroup => &["enable_group", "disable_group"],
            Structural::EnableAll => &["enable_all", "disable_all"],
        }
    }

    /// Whether each repetition starts with `drop_caches`: in turns too, each
    /// filesystem's sample follows its own, as when it is measured alone.
    pub fn cold(self) -> bool {
        matches!(
            self,
            Structural::LookupCold | Structural::StatFilesCold | Structural::FindCold
        )
    }

    /// Whether one untimed repetition of each filesystem comes first. The warm
    /// measures and readdir: the first pass after the population (or after the cold
    /// measures) fills the caches and pays for TCG translating the code on its path; in
    /// turns, the second filesystem's `drop_caches` in the last cold round has also
    /// emptied the caches the first one's sample had filled.
    /// The enable writes: the first enable may set up state once (tracefs expands its
    /// ring buffer).
    pub fn warm_up(self) -> bool {
        matches!(
            self,
            Structural::LookupWarm
                | Structural::Readdir
                | Structural::StatFilesWarm
                | Structural::FindWarm
                | Structural::EnableGroup
                | Structural::EnableAll
        )
    }

    /// Whether `--slow-runs` rather than `--runs` bounds the repetitions: the N
    /// separate writes of the one-per-write create and remove are the slowest part.
    pub fn slow(self) -> bool {
        self == Structural::CreateSingle
    }
}

/// The record measures, in the order of [`Bench::records_rep`]'s samples.
pub const RECORD_MEASURES: [&str; 4] = [
    "inject_1000",
    "trace_pipe_1000",
    "trace_marker_1000",
    "write_floor_1000",
];

/// The hit measures, in the order of [`Bench::probe_rep`]'s samples: K reads with
/// [`PROBE`] disabled, enabled in one instance, enabled in two; then the cost of the K
/// hits recorded in one instance and in two, each the difference between that round's
/// enabled and disabled samples of the filesystem (so the same load).
pub const PROBE_MEASURES: [&str; 5] = [
    "kprobe_off",
    "kprobe_on1",
    "kprobe_on2",
    "kprobe_hit1",
    "kprobe_hit2",
];

/// The registration measures, in the order of [`Bench::register_rep`]'s samples.
pub const REGISTER_MEASURES: [&str; 2] = ["kprobe_register_100", "kprobe_remove_100"];

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

/// The repetitions of one measure group (rounds, in turns): up to `runs`, but none
/// begins once the budget has passed since the iterator was made (the first always does).
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
    /// The run's configuration, with `target` this filesystem.
    cfg: BenchConfig,
    /// Its paths and command lines.
    layout: Layout,
    /// The control file (`layout.control`).
    control: CString,
    /// The group directory (`layout.group`).
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
    /// Every file of every event: empty until [`Bench::populate`] has listed the files
    /// of one event.
    every_file: Vec<CString>,
}

impl Bench {
    /// The bench of `cfg.target`: builds every path and write buffer (no system call).
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
            every_file: Vec::new(),
            layout,
            cfg: cfg.clone(),
        }
    }

    /// Up to `runs` repetitions within the budget, which starts now.
    fn reps(&self, runs: usize) -> Reps {
        Reps {
            runs,
            done: 0,
            start: now_ns(),
            budget_ns: self.cfg.budget_secs * 1_000_000_000,
        }
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

    /// `echo 2 > drop_caches`: evicts the dentries and inodes (of both filesystems)
    /// before a cold sample.
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

    /// One repetition of `group` on this filesystem: its samples in the order of
    /// [`Structural::measures`], the state checked after each. `buf` is the `getdents64`
    /// buffer.
    fn sample(&self, group: Structural, buf: &mut [u8]) -> Result<Vec<f64>, String> {
        if group.cold() {
            Self::drop_caches()?;
        }
        match group {
            Structural::CreateBatched => self.create_remove(&self.create_batched, None),
            Structural::CreateSingle => {
                self.create_remove(&self.create_single, Some(&self.remove_single))
            }
            Structural::LookupCold | Structural::LookupWarm => Self::stat_sample(&self.lookups),
            Structural::Readdir => self.readdir_sample(buf),
            Structural::StatFilesCold | Structural::StatFilesWarm => {
                Self::stat_sample(&self.every_file)
            }
            Structural::FindCold | Structural::FindWarm => Ok(vec![timed(|| self.find())?]),
            Structural::EnableGroup => self.enable_sample(&self.layout.group_enable),
            Structural::EnableAll => self.enable_sample(&self.layout.all_enable),
        }
    }

    /// Creates every event by writing `create`, then removes them by writing `remove`
    /// (`None`: all at once, `O_TRUNC`); checks that all are there after the create and
    /// none after the removal. Returns both times.
    fn create_remove(
        &self,
        create: &[Vec<u8>],
        remove: Option<&[Vec<u8>]>,
    ) -> Result<Vec<f64>, String> {
        let created = timed(|| self.write_control(create))?;
        self.check_populated(true)?;
        let removed = timed(|| match remove {
            Some(bufs) => self.write_control(bufs),
            None => self.truncate(),
        })?;
        self.check_populated(false)?;
        Ok(vec![created, removed])
    }

    /// The time of one `stat` of each of `paths`.
    fn stat_sample(paths: &[CString]) -> Result<Vec<f64>, String> {
        Ok(vec![timed(|| Self::stat_all(paths))?])
    }

    /// The time of one `getdents64` pass over the group, which must list N event
    /// directories.
    fn readdir_sample(&self, buf: &mut [u8]) -> Result<Vec<f64>, String> {
        let mut entries = 0;
        let t = timed(|| {
            entries = Self::readdir(&self.group, buf)?
                .iter()
                .filter(|(_, dir)| *dir)
                .count();
            Ok(())
        })?;
        if entries != self.cfg.n {
            return Err(format!(
                "{}: {entries} event directories listed, expected {}",
                self.layout.group, self.cfg.n
            ));
        }
        Ok(vec![t])
    }

    /// The times of writing `1`, then `0`, to the `enable` at `path`; the group's
    /// `enable` must read each back (it is the group's own, or covers the group).
    fn enable_sample(&self, path: &str) -> Result<Vec<f64>, String> {
        let path = cpath(path);
        let on = timed(|| Self::write_enable(&path, b"1"))?;
        self.check_group_enable('1')?;
        let off = timed(|| Self::write_enable(&path, b"0"))?;
        self.check_group_enable('0')?;
        Ok(vec![on, off])
    }

    /// Creates the N events for [`Structural::POPULATED`], lists the files of one event
    /// (printed as a comment: they differ between the filesystems) and builds the paths
    /// of those files in every event for the `stat_files` measures.
    fn populate(&mut self, buf: &mut [u8]) -> Result<(), String> {
        self.write_control(&self.create_batched)?;
        self.check_populated(true)?;
        let files: Vec<String> = Self::readdir(&self.first_last[0], buf)?
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
        self.every_file = (0..self.cfg.n)
            .flat_map(|i| {
                let dir = self.layout.event_dir(i);
                files.iter().map(move |f| cpath(&format!("{dir}/{f}")))
            })
            .collect();
        Ok(())
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
    /// writes, each through one descriptor. Event 0 must be enabled. Returns the
    /// samples in the order of [`RECORD_MEASURES`].
    fn records_rep(&self) -> Result<Vec<f64>, String> {
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
        let floor = timed(|| Self::write_all_to(&trace, &marks))?;
        self.clear_trace()?;
        let injected = timed(|| Self::write_all_to(&inject, &injects))?;
        let mut got = 0;
        let piped = timed(|| {
            got = self.drain_pipe("ev0: lat=")?;
            Ok(())
        })?;
        if got != RECORDS {
            return Err(format!(
                "trace_pipe gave {got} of {RECORDS} injected records"
            ));
        }
        let marked = timed(|| Self::write_all_to(&marker, &marks))?;
        let got = self.drain_pipe("bench mark ")?;
        if got != RECORDS {
            return Err(format!("trace_pipe gave {got} of {RECORDS} marker records"));
        }
        Ok(vec![injected, piped, marked, floor])
    }

    /// Reads the file at `path` whole, as text.
    fn read_text(path: &str) -> Result<String, String> {
        let bytes = ctx(sys::read_file(path, 64 << 20), "read", path)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Writes `bufs` to `path` through one descriptor opened for appending (as `echo
    /// >>`), each in one `write(2)`.
    fn append_to(path: &CString, bufs: &[Vec<u8>]) -> Result<(), String> {
        let p = path.to_string_lossy();
        let fd = ctx(sys::open(path, O_WRONLY | O_APPEND), "open", &p)?;
        write_each(&fd, bufs, &p)?;
        ctx(fd.close(), "close", &p)
    }

    /// Opens `path` with `O_TRUNC` and closes it (as `: > path`).
    fn truncate_file(path: &CString) -> Result<(), String> {
        let p = path.to_string_lossy();
        let fd = ctx(sys::open(path, O_WRONLY | O_TRUNC), "open", &p)?;
        ctx(fd.close(), "close", &p)
    }

    /// The kprobe events `kprobe_events` lists.
    fn probes_listed(&self) -> Result<usize, String> {
        let path = &self.layout.kprobe_events;
        Ok(count_lines(&ctx(
            sys::read_file(path, 64 << 20),
            "read",
            path,
        )?))
    }

    /// Checks that no kprobe event is defined and that neither of [`INSTANCES`] exists:
    /// the state the kprobe measures start from and leave.
    fn check_no_probes(&self) -> Result<(), String> {
        let n = self.probes_listed()?;
        if n != 0 {
            return Err(format!(
                "{} lists {n} kprobe events, expected none",
                self.layout.kprobe_events
            ));
        }
        for name in INSTANCES {
            let p = self.layout.instance(name);
            if sys::stat(&cpath(&p)).is_ok() {
                return Err(format!("{p} exists, expected ENOENT"));
            }
        }
        Ok(())
    }

    /// Checks that the [`PROBES`] probes of the registration measures are all defined
    /// (`true`) or none is (`false`): `kprobe_events`, and the first and last event
    /// directory.
    fn check_registered(&self, present: bool) -> Result<(), String> {
        let n = self.probes_listed()?;
        let want = if present { PROBES } else { 0 };
        if n != want {
            return Err(format!(
                "{} lists {n} kprobe events, expected {want}",
                self.layout.kprobe_events
            ));
        }
        for i in [0, PROBES - 1] {
            let p = self.layout.probe_dir(&format!("bp{i}"));
            let r = sys::stat(&cpath(&p));
            if r.is_ok() != present {
                return Err(format!(
                    "{p}: {} (expected {})",
                    r.map_or_else(|e| e.to_string(), |_| "exists".into()),
                    if present { "to exist" } else { "ENOENT" }
                ));
            }
        }
        Ok(())
    }

    /// One repetition of the registration measures: defines the [`PROBES`] probes one
    /// per write through one descriptor, then removes them all by opening
    /// `kprobe_events` with `O_TRUNC`; checks that all are there after the definitions
    /// and none after the removal. Returns both times, in the order of
    /// [`REGISTER_MEASURES`].
    fn register_rep(&self) -> Result<Vec<f64>, String> {
        let lines = batches(PROBES, 1, |i| self.layout.register_line(i));
        let path = cpath(&self.layout.kprobe_events);
        let defined = timed(|| Self::append_to(&path, &lines))?;
        self.check_registered(true)?;
        let removed = timed(|| Self::truncate_file(&path))?;
        self.check_registered(false)?;
        Ok(vec![defined, removed])
    }

    /// The hits of [`PROBE`] in `kprobe_profile`.
    fn probe_hits(&self) -> Result<u64, String> {
        let path = &self.layout.kprobe_profile;
        let listing = Self::read_text(path)?;
        profile_hits(&listing, PROBE).ok_or_else(|| format!("{path} does not list {PROBE}"))
    }

    /// Enables [`PROBE`] in the instances `names` (or disables it).
    fn set_probe(&self, names: &[&str], on: bool) -> Result<(), String> {
        for name in names {
            let enable = cpath(&self.layout.instance_probe_enable(name));
            Self::write_enable(&enable, if on { b"1" } else { b"0" })?;
        }
        Ok(())
    }

    /// `echo > instances/NAME/trace`: empties the instance's buffer.
    fn clear_instance(&self, name: &str) -> Result<(), String> {
        Self::truncate_file(&cpath(&format!("{}/trace", self.layout.instance(name))))
    }

    /// Defines [`PROBE`] (disabled) and makes the [`INSTANCES`], their buffers empty.
    fn probe_setup(&self) -> Result<(), String> {
        let path = cpath(&self.layout.kprobe_events);
        Self::append_to(&path, &[self.layout.probe_line().into_bytes()])?;
        for name in INSTANCES {
            let p = self.layout.instance(name);
            ctx(sys::mkdir(&cpath(&p), 0o755), "mkdir", &p)?;
            self.clear_instance(name)?;
        }
        self.probe_hits()?;
        Ok(())
    }

    /// Undoes [`Bench::probe_setup`] ([`PROBE`] must be disabled everywhere) and checks
    /// that the state is as found.
    fn probe_teardown(&self) -> Result<(), String> {
        for name in INSTANCES {
            let p = self.layout.instance(name);
            ctx(sys::rmdir(&cpath(&p)), "rmdir", &p)?;
        }
        Self::truncate_file(&cpath(&self.layout.kprobe_events))?;
        self.check_no_probes()
    }

    /// After a failure of the kprobe measures (which started from no kprobe event and
    /// none of [`INSTANCES`]): disables [`PROBE`], removes the instances and every
    /// kprobe event, ignoring errors (whatever is left is in the failure's wake).
    fn probe_cleanup(&self) {
        let _ = self.set_probe(&INSTANCES, false);
        for name in INSTANCES {
            let _ = sys::rmdir(&cpath(&self.layout.instance(name)));
        }
        let _ = Self::truncate_file(&cpath(&self.layout.kprobe_events));
    }

    /// Checks that the loop that just ran with [`PROBE`] enabled in `names` (and now
    /// disabled) hit it at least K times since `hits` (`kprobe_profile`; other tasks'
    /// reads count too), and left exactly K records of its reads in each instance
    /// (one hit per `read(2)`, every one recorded); empties their buffers. Returns the
    /// hits now.
    fn check_recorded(&self, names: &[&str], hits: u64, lp: &ProbeLoop) -> Result<u64, String> {
        let now = self.probe_hits()?;
        if now < hits + lp.calls as u64 {
            return Err(format!(
                "{}: {PROBE}'s hits went from {hits} to {now} over {} reads",
                self.layout.kprobe_profile, lp.calls
            ));
        }
        for name in names {
            let path = format!("{}/trace", self.layout.instance(name));
            let got = loop_records(&Self::read_text(&path)?, &lp.comm);
            if got != lp.calls {
                return Err(format!(
                    "{path}: {got} records of the loop's {} reads, expected one each",
                    lp.calls
                ));
            }
            self.clear_instance(name)?;
        }
        Ok(now)
    }

    /// One repetition of the hit measures ([`PROBE`] defined, disabled everywhere, the
    /// instances' buffers empty): the loop with the probe disabled (it must not be
    /// hit), enabled in the first instance, then in both; each enabled loop is checked
    /// with [`Bench::check_recorded`]. Returns the samples in the order of
    /// [`PROBE_MEASURES`]: the three loops, then the enabled loops less the disabled one.
    fn probe_rep(&self, lp: &ProbeLoop) -> Result<Vec<f64>, String> {
        let hits = self.probe_hits()?;
        let off = timed(|| lp.run())?;
        let now = self.probe_hits()?;
        if now != hits {
            return Err(format!(
                "{}: {PROBE}'s hits went from {hits} to {now} while it was disabled",
                self.layout.kprobe_profile
            ));
        }
        let one = &INSTANCES[..1];
        self.set_probe(one, true)?;
        let on1 = timed(|| lp.run())?;
        self.set_probe(one, false)?;
        let hits = self.check_recorded(one, now, lp)?;
        self.set_probe(&INSTANCES, true)?;
        let on2 = timed(|| lp.run())?;
        self.set_probe(&INSTANCES, false)?;
        self.check_recorded(&INSTANCES, hits, lp)?;
        Ok(vec![off, on1, on2, on1 - off, on2 - off])
    }
}

/// What the hit measures share: the descriptor their loop reads, its length, and the
/// tool's task name (which the loop's records hold).
struct ProbeLoop {
    /// `/dev/zero`, open for reading.
    zero: Fd,
    /// The `read(2)`s of one sample: K.
    calls: usize,
    /// The tool's `comm` (`/proc/self/comm`).
    comm: String,
}

impl ProbeLoop {
    /// K `read(2)`s of one byte, each of which must return it: K calls of
    /// [`PROBE_FUNC`], and little else (`/dev/zero` fills the byte).
    fn run(&self) -> Result<(), String> {
        let mut byte = [0u8; 1];
        for _ in 0..self.calls {
            match sys::read(&self.zero, &mut byte) {
                Ok(1) => {}
                Ok(n) => return Err(format!("read /dev/zero: {n} bytes, expected 1")),
                Err(e) => return Err(format!("read /dev/zero: {e}")),
            }
        }
        Ok(())
    }
}

/// The benches of both filesystems, eventfs first, for the runs in turns.
fn both(cfg: &BenchConfig) -> [Bench; 2] {
    [Target::Eventfs, Target::Tracefs].map(|target| {
        Bench::new(&BenchConfig {
            target,
            ..cfg.clone()
        })
    })
}

/// Who a progress comment is about: the one filesystem, or both in turns.
fn label(benches: &[Bench]) -> String {
    let names: Vec<String> = benches.iter().map(|b| b.cfg.target.to_string()).collect();
    match names.len() {
        1 => names.join(""),
        _ => format!("{} in turns", names.join(" and ")),
    }
}

/// Repeats `rep` over `benches` (one, or both in turns) within `runs` repetitions and
/// the budget: each repetition is a round with one call of `rep` per bench, in
/// [`round_order`]; with `warm_up`, one untimed round first, not counted against the
/// budget. Returns `samples[bench][measure]`, one sample per round in round order, so
/// that sample k of every bench is round k.
fn take_samples(
    benches: &[Bench],
    measures: usize,
    runs: usize,
    warm_up: bool,
    mut rep: impl FnMut(&Bench) -> Result<Vec<f64>, String>,
) -> Result<Vec<Vec<Vec<f64>>>, String> {
    if warm_up {
        for b in benches {
            rep(b)?;
        }
    }
    let mut samples = vec![vec![Vec::new(); measures]; benches.len()];
    for (round, ()) in benches[0].reps(runs).enumerate() {
        for i in round_order(round, benches.len()) {
            let got = rep(&benches[i])?;
            assert_eq!(got.len(), measures, "samples of one repetition");
            for (list, s) in samples[i].iter_mut().zip(got) {
                list.push(s);
            }
        }
    }
    Ok(samples)
}

/// The output of one group: for each measure, every bench's [`result_lines`], then,
/// with more than one bench (taken in turns), the [`paired_line`].
fn group_lines(benches: &[Bench], measures: &[&str], samples: &[Vec<Vec<f64>>]) -> String {
    let mut out = Vec::new();
    for (k, measure) in measures.iter().enumerate() {
        for (b, s) in benches.iter().zip(samples) {
            out.push(result_lines(b.cfg.target, b.cfg.n, measure, &s[k]));
        }
        if benches.len() > 1 {
            out.push(paired_line(benches[0].cfg.n, measure));
        }
    }
    out.join("\n")
}

/// Takes the measures named `measures` on `benches` (see [`take_samples`]) and prints
/// them.
fn take(
    benches: &[Bench],
    measures: &[&str],
    runs: usize,
    warm_up: bool,
    rep: impl FnMut(&Bench) -> Result<Vec<f64>, String>,
) -> Result<(), String> {
    let samples = take_samples(benches, measures.len(), runs, warm_up, rep)?;
    println!("{}", group_lines(benches, measures, &samples));
    Ok(())
}

/// Takes `group` on `benches` with [`Bench::sample`], after a progress comment.
fn take_group(benches: &[Bench], group: Structural, buf: &mut [u8]) -> Result<(), String> {
    let cfg = &benches[0].cfg;
    let runs = if group.slow() {
        cfg.slow_runs
    } else {
        cfg.runs
    };
    println!(
        "# {}: N={} {}",
        label(benches),
        cfg.n,
        group.measures().join(" ")
    );
    take(benches, group.measures(), runs, group.warm_up(), |b| {
        b.sample(group, buf)
    })
}

/// The structural measures of `benches`, one filesystem or both in turns: the
/// [`Structural::EMPTY`] groups from an empty registry (a round creates and removes the
/// events in one filesystem, then in the other), then the [`Structural::POPULATED`]
/// ones on one population of N events (in both at once, in turns: they are separate
/// filesystems). Every registry must start empty, and is left empty.
fn structural(benches: &mut [Bench]) -> Result<(), String> {
    for b in benches.iter() {
        b.check_populated(false)
            .map_err(|e| format!("the registry must start empty: {e}"))?;
    }
    let mut buf = vec![0u8; DIRENT_BUF];
    for group in Structural::EMPTY {
        take_group(benches, group, &mut buf)?;
    }
    for b in benches.iter_mut() {
        b.populate(&mut buf)?;
    }
    for group in Structural::POPULATED {
        take_group(benches, group, &mut buf)?;
    }
    for b in benches.iter() {
        b.truncate()?;
        b.check_populated(false)?;
    }
    Ok(())
}

/// The record measures of both filesystems, each with N events, taken in turns (which
/// one goes first alternates, one untimed round first): each pair of samples sees the
/// same load, so that their ratio holds even where the guest's speed drifts under TCG.
fn records_pair(benches: &[Bench]) -> Result<(), String> {
    for b in benches {
        b.check_populated(false)
            .map_err(|e| format!("the registry must start empty: {e}"))?;
        b.write_control(&b.create_batched)?;
        b.check_populated(true)?;
        b.enable_first(true)?;
    }
    println!(
        "# records: {}, {RECORDS} injects, trace_pipe, {RECORDS} trace_marker writes each",
        label(benches)
    );
    take(
        benches,
        &RECORD_MEASURES,
        benches[0].cfg.runs,
        true,
        Bench::records_rep,
    )?;
    for b in benches {
        b.enable_first(false)?;
        b.truncate()?;
        b.check_populated(false)?;
    }
    Ok(())
}

/// Sets `debug.kprobes-optimization` to 0 if the kernel has it: the optimizer replaces
/// an enabled probe's `int3` by a jump some time after it is armed (and undoes it when
/// disarmed), so a loop's hits would take either path, and not at the same point in
/// every round. Returns the value to restore, `None` if there is no optimizer.
fn optimizer_off() -> Result<Option<String>, String> {
    match sys::read_file(OPTIMIZATION, 64) {
        Err(e) if e.0 == libc::ENOENT => Ok(None),
        Err(e) => Err(format!("read {OPTIMIZATION}: {e}")),
        Ok(v) => {
            let was = String::from_utf8_lossy(&v).trim().to_string();
            ctx(sys::write_file(OPTIMIZATION, "0"), "write", OPTIMIZATION)?;
            Ok(Some(was))
        }
    }
}

/// Gives `debug.kprobes-optimization` back the value [`optimizer_off`] found.
fn optimizer_restore(was: &Option<String>) -> Result<(), String> {
    match was {
        Some(v) => ctx(sys::write_file(OPTIMIZATION, v), "write", OPTIMIZATION),
        None => Ok(()),
    }
}

/// The kprobe measures of both filesystems in turns, one untimed round first (see
/// [`probes_taken`]). Both must start with no kprobe event and none of [`INSTANCES`],
/// and are left so; after a failure, [`Bench::probe_cleanup`] removes what the tool
/// made.
fn probes(cfg: &BenchConfig) -> Result<(), String> {
    let hit = both(cfg);
    let register = both(&BenchConfig {
        n: PROBES,
        ..cfg.clone()
    });
    for b in &hit {
        b.check_no_probes()
            .map_err(|e| format!("the kprobe measures must start from none: {e}"))?;
    }
    let r = probes_taken(&hit, &register);
    if r.is_err() {
        for b in &hit {
            b.probe_cleanup();
        }
    }
    r
}

/// The registration measures ([`Bench::register_rep`], reported at N = [`PROBES`]) on
/// `register`, then the hit measures ([`Bench::probe_rep`], at N = K) on `hit`, with
/// [`PROBE`] defined in both filesystems (both on `vfs_read`: the kernel chains the two
/// probes on the one address whichever is enabled, the same for both), the
/// [`INSTANCES`] made, and the probe optimizer off.
fn probes_taken(hit: &[Bench], register: &[Bench]) -> Result<(), String> {
    let cfg = &hit[0].cfg;
    println!(
        "# kprobes: {}: {PROBES} probes p:{PROBE_GROUP}/bpI {PROBE_FUNC} defined one per \
         write, then removed by O_TRUNC of kprobe_events",
        label(register)
    );
    take(
        register,
        &REGISTER_MEASURES,
        cfg.runs,
        true,
        Bench::register_rep,
    )?;
    let comm = ctx(
        sys::read_file("/proc/self/comm", 64),
        "read",
        "/proc/self/comm",
    )?;
    let zero = ctx(
        sys::open(&cpath("/dev/zero"), O_RDONLY),
        "open",
        "/dev/zero",
    )?;
    let lp = ProbeLoop {
        zero,
        calls: cfg.n,
        comm: String::from_utf8_lossy(&comm).trim_end().to_string(),
    };
    for b in hit {
        b.probe_setup()?;
    }
    let was = optimizer_off()?;
    println!(
        "# kprobes: {}: {}, K={} read(2)s of 1 byte from /dev/zero per sample, with it \
         disabled, enabled in {}, enabled in {} and {}; {}",
        label(hit),
        hit[0].layout.probe_line().trim_end(),
        lp.calls,
        INSTANCES[0],
        INSTANCES[0],
        INSTANCES[1],
        match &was {
            Some(v) => format!("kprobes-optimization 0 (was {v}): every hit traps (int3)"),
            None => "no kprobes-optimization: every hit traps (int3)".to_string(),
        }
    );
    let r = take(hit, &PROBE_MEASURES, cfg.runs, true, |b| b.probe_rep(&lp));
    let restored = optimizer_restore(&was);
    r?;
    restored?;
    for b in hit {
        b.probe_teardown()?;
    }
    Ok(())
}

/// Runs the benchmark; returns the exit code.
pub fn run(cfg: &BenchConfig) -> i32 {
    println!("# BENCH fs n measure median_us min_us");
    let r = match cfg.mode {
        Mode::Single => structural(&mut [Bench::new(cfg)]),
        Mode::Pair => structural(&mut both(cfg)),
        Mode::Records => records_pair(&both(cfg)),
        Mode::Probes => probes(cfg),
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            println!("BENCH {} {}: FAILED: {e}", cfg.label(), cfg.n);
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
        assert_eq!(
            (c.mode, c.n, c.label().as_str()),
            (Mode::Records, 10, "records")
        );
        let c = parse(&args("tracefs 10")).unwrap().unwrap();
        assert_eq!((c.mode, c.label().as_str()), (Mode::Single, "tracefs"));
        let c = parse(&args("--runs 9 --budget 20 --mount /m/ pair 1000"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.mode, c.n, c.runs, c.slow_runs, c.budget_secs),
            (Mode::Pair, 1000, 9, 9, 20)
        );
        assert_eq!((c.mount.as_str(), c.label().as_str()), ("/m", "pair"));
        let c = parse(&args("pair 5 --slow-runs 2")).unwrap().unwrap();
        assert_eq!((c.mode, c.n, c.runs, c.slow_runs), (Mode::Pair, 5, 5, 2));
        assert_eq!(parse(&args("pair 5 --help")), Ok(None));
        for bad in [
            "",
            "eventfs",
            "pair",
            "pair 0",
            "pair x",
            "pair 10 eventfs",
            "pairs 10",
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
    fn parse_probes() {
        let c = parse(&args(
            "--runs 9 --budget 20 --mount /m --tracing /t probes 10000",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(
            (c.mode, c.n, c.runs, c.budget_secs, c.label().as_str()),
            (Mode::Probes, 10000, 9, 20, "probes")
        );
        assert_eq!((c.mount.as_str(), c.tracing.as_str()), ("/m", "/t"));
        let c = parse(&args("probes 1")).unwrap().unwrap();
        assert_eq!((c.mode, c.n, c.runs), (Mode::Probes, 1, 5));
        let c = parse(&args("probes 20000")).unwrap().unwrap();
        assert_eq!(c.n, MAX_CALLS);
        assert_eq!(parse(&args("probes 10 --help")), Ok(None));
        // K is bounded by what one instance's buffer holds; N of the others is not.
        assert_eq!(parse(&args("pair 20001")).unwrap().unwrap().n, 20001);
        for bad in [
            "probes",
            "probes 0",
            "probes 20001",
            "probes x",
            "probes -1",
            "probes 10 20",
            "probe 10",
            "10 probes",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad}");
        }
        assert_eq!(
            parse(&args("probes 20001")),
            Err("K: '20001' is not in 1..=20000".to_string())
        );
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
    fn probe_layouts() {
        // The same probes, under the same names, in both.
        for (target, root) in [
            (Target::Eventfs, "/mnt/events"),
            (Target::Tracefs, "/sys/kernel/tracing"),
        ] {
            let l = Layout::new(target, root);
            assert_eq!(l.kprobe_events, format!("{root}/kprobe_events"));
            assert_eq!(l.kprobe_profile, format!("{root}/kprobe_profile"));
            assert_eq!(
                l.probe_line(),
                "p:kprobes/bench_read vfs_read cnt=%dx:u32 c=$comm\n"
            );
            assert_eq!(l.register_line(7), "p:kprobes/bp7 vfs_read\n");
            assert_eq!(l.probe_dir("bp99"), format!("{root}/events/kprobes/bp99"));
            assert_eq!(l.instance("benchA"), format!("{root}/instances/benchA"));
            assert_eq!(
                l.instance_probe_enable("benchB"),
                format!("{root}/instances/benchB/events/kprobes/bench_read/enable")
            );
        }
        let l = Layout::new(Target::Tracefs, "/t");
        let lines = batches(PROBES, 1, |i| l.register_line(i));
        assert_eq!(lines.len(), PROBES);
        assert_eq!(lines[PROBES - 1], b"p:kprobes/bp99 vfs_read\n");
        // The measures' names say how many probes.
        for m in REGISTER_MEASURES {
            assert!(m.ends_with(&format!("_{PROBES}")), "{m}");
        }
        assert_eq!(INSTANCES, ["benchA", "benchB"]);
    }

    #[test]
    fn probe_listings() {
        // Mainline's `probes_profile_seq_show()` columns (eventfs-rs prints the same).
        let profile = format!(
            "  {:<44} {:>15} {:>15}\n  {:<44} {:>15} {:>15}\n",
            "bench_read_x", 7, 0, "bench_read", 12345, 2
        );
        assert_eq!(profile_hits(&profile, "bench_read"), Some(12345));
        assert_eq!(profile_hits(&profile, "bench_read_x"), Some(7));
        assert_eq!(profile_hits(&profile, "bench"), None);
        assert_eq!(profile_hits("", "bench_read"), None);
        assert_eq!(profile_hits("  bench_read\n", "bench_read"), None);

        let trace = "\
# tracer: nop
#
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
  eventfs-stress-93      [001] .....   123.456789: bench_read: (vfs_read+0x4/0x1c0) cnt=1 c=\"eventfs-stress\"
  eventfs-stress-93      [001] .....   123.456790: bench_read: (vfs_read+0x4/0x1c0) cnt=1 c=\"eventfs-stress\"
  eventfs-stress-93      [001] .....   123.456791: bench_read: (vfs_read+0x4/0x1c0) cnt=65536 c=\"eventfs-stress\"
              sh-1       [000] .....   123.456792: bench_read: (vfs_read+0x4/0x1c0) cnt=1 c=\"sh\"
  eventfs-stress-93      [001] .....   123.456793: bp1: (vfs_read+0x4/0x1c0) cnt=1 c=\"eventfs-stress\"
  eventfs-stress-93      [000] .....   123.456794: bench_read: (vfs_read+0x4/0x1c0) cnt=1 c=\"eventfs-stress\"
";
        assert_eq!(loop_records(trace, "eventfs-stress"), 3);
        assert_eq!(loop_records(trace, "sh"), 1);
        assert_eq!(loop_records(trace, "eventfs-stres"), 0);
        assert_eq!(loop_records("", "eventfs-stress"), 0);

        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"\n"), 0);
        assert_eq!(
            count_lines(b"p:kprobes/bp0 vfs_read\np:kprobes/bp1 vfs_read\n"),
            2
        );
        assert_eq!(count_lines(b"a\n\nb"), 2);
    }

    #[test]
    fn probe_records_fit_a_buffer() {
        // A record of bench_read: the 8-byte common header, the probed address, `cnt`
        // (u32), `c`'s data_loc (u32) and "eventfs-stress\0" padded; 4 bytes of ring
        // buffer header; 16 bytes of header in each 4 KiB page. K of them must fit one
        // CPU's 1408 KiB with room to spare (the tool's name could be longer).
        let record = 4 + 8 + 8 + 4 + 4 + 16;
        let per_page = (4096 - 16) / record;
        let pages = MAX_CALLS.div_ceil(per_page);
        assert!(pages * 4096 * 3 / 2 < 1408 * 1024, "{pages} pages");
    }

    #[test]
    fn probe_measures() {
        assert_eq!(
            PROBE_MEASURES,
            [
                "kprobe_off",
                "kprobe_on1",
                "kprobe_on2",
                "kprobe_hit1",
                "kprobe_hit2"
            ]
        );
        assert_eq!(
            REGISTER_MEASURES,
            ["kprobe_register_100", "kprobe_remove_100"]
        );
        // Derived samples can be negative (noise above the hits' cost): printed as such.
        assert_eq!(
            result_lines(Target::Eventfs, 10000, "kprobe_hit1", &[-1.25, 3.0, 2.0]),
            "BENCH eventfs 10000 kprobe_hit1 2.0 -1.2\n# samples eventfs 10000 kprobe_hit1 3: -1.2 3.0 2.0"
        );
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
    fn rounds_alternate() {
        let order = |round, count| round_order(round, count).collect::<Vec<_>>();
        assert_eq!(order(0, 2), [0, 1]);
        assert_eq!(order(1, 2), [1, 0]);
        assert_eq!(order(2, 2), [0, 1]);
        assert_eq!(order(7, 2), [1, 0]);
        assert_eq!(order(0, 1), [0]);
        assert_eq!(order(5, 1), [0]);
        assert_eq!(order(1, 3), [1, 2, 0]);
        assert_eq!(paired_line(1000, "readdir"), "# paired 1000 readdir");
    }

    #[test]
    fn groups_cover_every_measure_once() {
        let groups: Vec<Structural> = Structural::EMPTY
            .into_iter()
            .chain(Structural::POPULATED)
            .collect();
        let names: Vec<&str> = groups.iter().flat_map(|g| g.measures()).copied().collect();
        assert_eq!(
            names,
            [
                "create_batched",
                "remove_all",
                "create_single",
                "remove_single",
                "lookup_cold",
                "lookup_warm",
                "readdir",
                "stat_files_cold",
                "stat_files_warm",
                "find_cold",
                "find_warm",
                "enable_group",
                "disable_group",
                "enable_all",
                "disable_all",
            ]
        );
        for g in &groups {
            // Cold samples start from dropped caches: a warm-up would be dropped too.
            assert!(!(g.cold() && g.warm_up()), "{g:?}");
            assert_eq!(g.cold(), g.measures()[0].ends_with("_cold"), "{g:?}");
            if g.measures()[0].ends_with("_warm") {
                assert!(g.warm_up(), "{g:?}");
            }
        }
        assert!(Structural::Readdir.warm_up() && Structural::EnableAll.warm_up());
        assert!(!Structural::CreateBatched.warm_up() && !Structural::CreateSingle.warm_up());
        let slow: Vec<Structural> = groups.into_iter().filter(|g| g.slow()).collect();
        assert_eq!(slow, [Structural::CreateSingle]);
    }

    /// A configuration for the benches of the driver tests (no system call is made).
    fn cfg(n: usize, runs: usize) -> BenchConfig {
        let mut c = parse(&args(&format!("--runs {runs} pair {n}")))
            .unwrap()
            .unwrap();
        c.budget_secs = 600;
        c
    }

    #[test]
    fn paired_rounds_in_turns() {
        let benches = both(&cfg(3, 3));
        assert_eq!(label(&benches), "eventfs and tracefs in turns");
        let mut calls = Vec::new();
        let samples = take_samples(&benches, 2, 3, true, |b| {
            calls.push(b.cfg.target);
            let k = calls.len() as f64 - 1.0;
            Ok(vec![k, 100.0 + k])
        })
        .unwrap();
        use Target::{Eventfs as E, Tracefs as T};
        // The warm-up round, then rounds whose first alternates.
        assert_eq!(calls, [E, T, E, T, T, E, E, T]);
        // Equal lengths, in round order: sample k of both is round k.
        assert_eq!(samples[0], [vec![2.0, 5.0, 6.0], vec![102.0, 105.0, 106.0]]);
        assert_eq!(samples[1], [vec![3.0, 4.0, 7.0], vec![103.0, 104.0, 107.0]]);
        assert_eq!(
            group_lines(&benches, &["enable_group", "disable_group"], &samples),
            "BENCH eventfs 3 enable_group 5.0 2.0\n\
             # samples eventfs 3 enable_group 3: 2.0 5.0 6.0\n\
             BENCH tracefs 3 enable_group 4.0 3.0\n\
             # samples tracefs 3 enable_group 3: 3.0 4.0 7.0\n\
             # paired 3 enable_group\n\
             BENCH eventfs 3 disable_group 105.0 102.0\n\
             # samples eventfs 3 disable_group 3: 102.0 105.0 106.0\n\
             BENCH tracefs 3 disable_group 104.0 103.0\n\
             # samples tracefs 3 disable_group 3: 103.0 104.0 107.0\n\
             # paired 3 disable_group"
        );
    }

    #[test]
    fn single_runs_alone() {
        let mut c = cfg(4, 2);
        c.target = Target::Tracefs;
        let benches = [Bench::new(&c)];
        assert_eq!(label(&benches), "tracefs");
        let mut calls = 0;
        let samples = take_samples(&benches, 1, 2, false, |b| {
            assert_eq!(b.cfg.target, Target::Tracefs);
            calls += 1;
            Ok(vec![calls as f64])
        })
        .unwrap();
        assert_eq!(samples, [[[1.0, 2.0]]]);
        // No paired line for one filesystem.
        assert_eq!(
            group_lines(&benches, &["readdir"], &samples),
            "BENCH tracefs 4 readdir 1.5 1.0\n# samples tracefs 4 readdir 2: 1.0 2.0"
        );
        // A failed check ends the group.
        let mut calls = 0;
        let r = take_samples(&both(&c), 1, 5, false, |_| {
            calls += 1;
            if calls == 3 {
                Err("check".to_string())
            } else {
                Ok(vec![1.0])
            }
        });
        assert_eq!((r, calls), (Err("check".to_string()), 3));
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
