//! Fault-injection mode: fail the 1st, 2nd, ... slab allocation of one operation at a
//! time (`/proc/thread-self/fail-nth` with failslab), and check after each that the
//! operation failed cleanly (ENOMEM) or succeeded, and that it left the registry
//! consistent and nothing half-done.
//!
//! Everything runs in the main thread, alone. The armed part of an iteration is a
//! single system call on C strings, descriptors and buffers built (and touched)
//! beforehand: any allocation of the task while armed, even a page fault on fresh
//! memory, would consume the fault meant for the operation.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::path::Path;

use libc::{ENOMEM, O_APPEND, O_DIRECTORY, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY};

use crate::cli::Config;
use crate::dirent::{self, DirKind, EVENTS_DIR, INSTANCES_DIR};
use crate::expect::Outcomes;
use crate::kprobe::{self, Arg, ProbeDef};
use crate::registry;
use crate::stats::{Counts, Reporter};
use crate::sys::{self, cpath, Errno, Fd, SysResult};
use crate::text::{self, Field};

/// The failslab debugfs directory.
const FAILSLAB: &str = "/sys/kernel/debug/failslab";
/// The calling thread's fail-nth file.
const FAIL_NTH: &str = "/proc/thread-self/fail-nth";
/// The failslab settings fail-nth needs: sleeping allocations count too, no cache
/// filter, no stack dumps, and no random failures besides ours.
const KNOBS: [(&str, &str); 4] = [
    ("ignore-gfp-wait", "N"),
    ("cache-filter", "N"),
    ("verbose", "0"),
    ("probability", "0"),
];
/// Size of the pre-touched read buffer.
const BUF: usize = 1 << 20;
/// `getdents64` buffer of the readdir kind.
const DIR_BUF: usize = 32 * 1024;
/// The instance the instance kinds work on (`instances/fault_i`).
const INSTANCE: &str = "fault_i";
/// Bytes of padding in the trace_marker and inject kinds' writes: more than the module
/// keeps on its stack (256), so that each allocates; shorter ones allocate nothing.
const PAD: usize = 300;
/// `tail` after `N - tail.len()` bytes of `pad`.
const fn padded<const N: usize>(pad: u8, tail: &[u8]) -> [u8; N] {
    let mut b = [pad; N];
    let mut i = 0;
    while i < tail.len() {
        b[N - tail.len() + i] = tail[i];
        i += 1;
    }
    b
}
/// What the trace_marker kind writes: `x`s, then `fault` and a newline.
const MARKER: &[u8] = &padded::<{ PAD + 6 }>(b'x', b"fault\n");
/// What the inject kind writes to `fault/lk/inject` (fields `u64 a; char c[8]`).
/// White space before it, which `inject` skips.
const INJECT: &[u8] = &padded::<{ PAD + 4 }>(b' ', b"a=7\n");
/// What its record looks like in `trace` (the end of the line's prefix, and `a`).
const INJECTED: &str = ": lk: a=7";
/// `buffer_size_kb` of the instance before the resize kind, and what it writes.
const RESIZE_FROM: &str = "4";
const RESIZE_TO: &str = "12";
/// The filter of `fault/lk` before the filter_set kind.
const FILTER_OLD: &str = "a == 1";
/// The filter the filter_set kind writes.
const FILTER_NEW: &str = "a == 2 || (c ~ \"x*\" && !(a & 4))";
/// The group of the probe kinds' kprobe events.
const PROBE_GROUP: &str = "fault_kp";
/// Calls of `vfs_read` (reads of the mount's `README`) to see whether a probe is armed.
const PROBE_CALLS: usize = 8;

/// The kprobe events of the probe kinds: an entry probe and a return probe on
/// `vfs_read` (`fault_kp/kp`, `fault_kp/kr`), with a register, the task's name, the return
/// value and an entry argument (which the return probe's entry handler saves).
fn probe_defs() -> [ProbeDef; 2] {
    let def = |ret: bool, event: &str, args: &[(&str, &str)]| ProbeDef {
        ret,
        maxactive: None,
        group: PROBE_GROUP.to_string(),
        event: event.to_string(),
        func: "vfs_read".to_string(),
        args: args.iter().map(|(n, f)| Arg::new(n, f)).collect(),
    };
    [
        def(false, "kp", &[("di", "%di"), ("comm", "$comm")]),
        def(true, "kr", &[("ret", "$retval"), ("a1", "$arg1")]),
    ]
}

/// The kinds of operations tested, each with an operation that allocates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `mount -t eventfs none SCRATCH` (then umount).
    Mount,
    /// Create an event in a new group.
    CreateNewGroup,
    /// Create an event in an existing group.
    CreateInGroup,
    /// Remove an event that has a sibling.
    Remove,
    /// Remove the last event of a group (the group goes too).
    RemoveLast,
    /// `open(dynamic_events, O_TRUNC)`: remove every event.
    Truncate,
    /// `stat` of an event directory nobody looked up since `drop_caches`.
    LookupDir,
    /// `stat` of an event's `format` nobody looked up since `drop_caches`.
    LookupFile,
    /// `open(format)`.
    OpenFormat,
    /// `read(format)`.
    ReadFormat,
    /// `read(dynamic_events)`.
    ReadListing,
    /// `read(available_events)`.
    ReadAvailableEvents,
    /// `write(enable, "1")` of an event.
    WriteEnable,
    /// `write(enable, "1")` of a group.
    WriteGroupEnable,
    /// `write(set_event, "GROUP:EVENT\n")`.
    WriteSetEvent,
    /// `write(enable, "0")` of an enabled event: allocates nothing.
    WriteDisable,
    /// `getdents64` of a group.
    Readdir,
    /// `chmod` of a file.
    Chmod,
    /// `mount -o remount,uid=,gid=`.
    Remount,
    /// `mkdir instances/NAME`.
    MkdirInstance,
    /// `rmdir instances/NAME` (an event enabled in it).
    RmdirInstance,
    /// `write(enable, "1")` of an event in an instance.
    WriteInstanceEnable,
    /// `write(set_event, "GROUP:EVENT\n")` of an instance.
    WriteInstanceSetEvent,
    /// `write(trace_marker)` of an instance: it copies the text before it records it.
    WriteMarker,
    /// `write(inject)` of an event enabled in an instance: it parses the text into a
    /// record, then records it.
    Inject,
    /// `write(filter)` of an event (that has a filter): compiles the new one.
    FilterSet,
    /// `write(buffer_size_kb)` of an instance whose buffer holds a record: the kernel's
    /// ring buffer allocates the new pages' descriptors.
    Resize,
    /// `write(kprobe_events)` of two definitions, an entry and a return probe: each
    /// registers its kprobe (a return probe also its instances), applied whole or not at
    /// all.
    ProbeCreate,
    /// `write(enable, "1")` of a kprobe event in an instance: arms its probe.
    ProbeEnable,
}

impl Kind {
    /// Every kind, in run order.
    pub const ALL: [Kind; 29] = [
        Kind::Mount,
        Kind::CreateNewGroup,
        Kind::CreateInGroup,
        Kind::Remove,
        Kind::RemoveLast,
        Kind::Truncate,
        Kind::LookupDir,
        Kind::LookupFile,
        Kind::OpenFormat,
        Kind::ReadFormat,
        Kind::ReadListing,
        Kind::ReadAvailableEvents,
        Kind::WriteEnable,
        Kind::WriteGroupEnable,
        Kind::WriteSetEvent,
        Kind::WriteDisable,
        Kind::Readdir,
        Kind::Chmod,
        Kind::Remount,
        Kind::MkdirInstance,
        Kind::RmdirInstance,
        Kind::WriteInstanceEnable,
        Kind::WriteInstanceSetEvent,
        Kind::WriteMarker,
        Kind::Inject,
        Kind::FilterSet,
        Kind::Resize,
        Kind::ProbeCreate,
        Kind::ProbeEnable,
    ];

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Mount => "mount",
            Kind::CreateNewGroup => "create_new_group",
            Kind::CreateInGroup => "create_in_group",
            Kind::Remove => "remove",
            Kind::RemoveLast => "remove_last",
            Kind::Truncate => "truncate",
            Kind::LookupDir => "lookup_dir",
            Kind::LookupFile => "lookup_file",
            Kind::OpenFormat => "open_format",
            Kind::ReadFormat => "read_format",
            Kind::ReadListing => "read_listing",
            Kind::ReadAvailableEvents => "read_available_events",
            Kind::WriteEnable => "write_enable",
            Kind::WriteGroupEnable => "write_group_enable",
            Kind::WriteSetEvent => "write_set_event",
            Kind::WriteDisable => "write_disable",
            Kind::Readdir => "readdir",
            Kind::Chmod => "chmod",
            Kind::Remount => "remount",
            Kind::MkdirInstance => "mkdir_instance",
            Kind::RmdirInstance => "rmdir_instance",
            Kind::WriteInstanceEnable => "write_instance_enable",
            Kind::WriteInstanceSetEvent => "write_instance_set_event",
            Kind::WriteMarker => "write_marker",
            Kind::Inject => "inject",
            Kind::FilterSet => "filter_set",
            Kind::Resize => "resize",
            Kind::ProbeCreate => "probe_create",
            Kind::ProbeEnable => "probe_enable",
        }
    }

    /// Whether the kind works on [`INSTANCE`] (the others start without it).
    pub fn uses_instance(self) -> bool {
        matches!(
            self,
            Kind::MkdirInstance
                | Kind::RmdirInstance
                | Kind::WriteInstanceEnable
                | Kind::WriteInstanceSetEvent
                | Kind::WriteMarker
                | Kind::Inject
                | Kind::Resize
                | Kind::ProbeEnable
        )
    }

    /// The failures accepted when a fault was injected: a failed allocation is ENOMEM
    /// for every one of these system calls.
    pub fn allowed(self) -> Outcomes {
        Outcomes::ok_or(&[ENOMEM])
    }
}

/// The text of [`MARKER`], as `trace` prints it.
fn marker_text() -> String {
    String::from_utf8_lossy(MARKER).trim_end().to_string()
}

/// Formats `n` in decimal into `buf` without allocating; returns the digits.
pub fn format_u32(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Parses what reading `fail-nth` gives (`"5\n"`).
pub fn parse_u32(text: &[u8]) -> Option<u32> {
    std::str::from_utf8(text).ok()?.trim().parse().ok()
}

/// The calling thread's `fail-nth`.
struct FailNth {
    fd: Fd,
}

impl FailNth {
    fn open() -> Result<FailNth, String> {
        sys::open(&cpath(FAIL_NTH), O_RDWR)
            .map(|fd| FailNth { fd })
            .map_err(|e| format!("open {FAIL_NTH}: {e} (the kernel needs CONFIG_FAULT_INJECTION)"))
    }

    /// Makes the `n`-th fault-injection point of this thread from now on fail.
    fn arm(&self, n: u32) -> SysResult<()> {
        let mut buf = [0u8; 10];
        sys::write(&self.fd, format_u32(n, &mut buf)).map(|_| ())
    }

    /// Disarms; returns whether the fault was injected (the counter reached 0).
    fn disarm(&self) -> SysResult<bool> {
        let mut buf = [0u8; 16];
        let n = sys::pread(&self.fd, &mut buf, 0)?;
        let left = parse_u32(&buf[..n]).ok_or(Errno(libc::EIO))?;
        if left != 0 {
            sys::write(&self.fd, b"0")?;
        }
        Ok(left == 0)
    }
}

/// The failslab knobs as fail-nth needs them; restores the old values on drop.
struct Failslab {
    saved: Vec<(String, String)>,
    mounted_debugfs: bool,
}

impl Failslab {
    fn setup() -> Result<Failslab, String> {
        let mut me = Failslab {
            saved: Vec::new(),
            mounted_debugfs: false,
        };
        if !Path::new(FAILSLAB).is_dir() {
            let r = sys::mount(c"debugfs", c"/sys/kernel/debug", c"debugfs", 0, None);
            me.mounted_debugfs = r.is_ok();
        }
        if !Path::new(FAILSLAB).is_dir() {
            return Err(format!(
                "no {FAILSLAB}: the kernel needs CONFIG_FAILSLAB and CONFIG_FAULT_INJECTION_DEBUG_FS"
            ));
        }
        for (name, value) in KNOBS {
            let path = format!("{FAILSLAB}/{name}");
            let old = sys::read_file(&path, 4096).map_err(|e| format!("read {path}: {e}"))?;
            let old = String::from_utf8_lossy(&old).trim().to_string();
            sys::write_file(&path, value).map_err(|e| format!("write {value} to {path}: {e}"))?;
            me.saved.push((path, old));
        }
        Ok(me)
    }
}

impl Drop for Failslab {
    fn drop(&mut self) {
        for (path, old) in self.saved.iter().rev() {
            if let Err(e) = sys::write_file(path, old) {
                println!("warning: could not restore {path} to {old}: {e}");
            }
        }
        if self.mounted_debugfs {
            let _ = sys::umount(c"/sys/kernel/debug");
        }
    }
}

/// What happened to one kind.
#[derive(Clone, Debug, Default)]
pub struct KindStats {
    /// Iterations in which the fault was injected.
    pub injected: u64,
    /// Outcomes of those iterations.
    pub counts: Counts,
    /// The `n` at which the operation ran without reaching the fault.
    pub clean_at: Option<u32>,
    /// Violations found.
    pub violations: u64,
}

impl KindStats {
    /// One report line.
    pub fn describe(&self, kind: Kind, max_nth: u32) -> String {
        let end = match self.clean_at {
            Some(n) => format!("ran clean at n={n}"),
            None => format!("cap n={max_nth} reached"),
        };
        format!(
            "fault {}: {} faults injected ({end}): {}; {} violations",
            kind.name(),
            self.injected,
            self.counts.describe(),
            self.violations
        )
    }
}

/// The fields of the events the fault mode creates.
fn fields() -> Vec<Field> {
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

/// Everything the armed system calls use, built in advance.
struct Prebuilt {
    mnt: CString,
    scratch: CString,
    dynamic: CString,
    lk_dir: CString,
    lk_format: CString,
    create_new: String,
    create_in: String,
    remove_ev: String,
    remove_solo: String,
    set_event_lk: String,
    filter_new: String,
    remount_to: CString,
    instance: CString,
    probe_create: String,
}

/// The state of the fault mode.
struct Faults<'r> {
    mnt: String,
    scratch: String,
    rep: &'r Reporter,
    nth: FailNth,
    dyn_fd: Fd,
    /// `kprobe_events`, open for appending.
    kp_fd: Fd,
    pre: Prebuilt,
    /// Root ownership at start (restored after every remount).
    owner: (u32, u32),
    /// The pre-touched buffer reads go to.
    buf: Vec<u8>,
    /// A descriptor opened by `prepare` for the armed call, or by it.
    fd: Option<Fd>,
    /// What a reading operation must return.
    reference: Vec<u8>,
    /// The listing before an O_TRUNC.
    before: BTreeSet<String>,
    /// The id of `fault/ev` before a removal.
    id_before: Option<u64>,
    /// Who reports: `fault KIND n=N`.
    who: String,
    violations: u64,
}

impl Faults<'_> {
    /// `rel` under the mount.
    fn path(&self, rel: &str) -> String {
        format!("{}/{rel}", self.mnt)
    }

    /// `rel` under the mount's `events/` (groups and events).
    fn ev(&self, rel: &str) -> String {
        self.path(&format!("{EVENTS_DIR}/{rel}"))
    }

    fn violation(&mut self, details: impl std::fmt::Display) {
        self.violations += 1;
        self.rep.violation(&self.who, "fault", details);
    }

    /// Makes `group/event` present or absent (unarmed).
    fn ensure(&mut self, group: &str, event: &str, present: bool) -> Result<(), String> {
        let path = cpath(&self.ev(&format!("{group}/{event}")));
        if sys::stat(&path).is_ok() == present {
            return Ok(());
        }
        let line = if present {
            text::create_line(group, event, &fields())
        } else {
            text::remove_line(group, event)
        };
        sys::write(&self.dyn_fd, line.as_bytes()).map_err(|e| format!("write {line:?}: {e}"))?;
        if sys::stat(&path).is_ok() == present {
            Ok(())
        } else {
            Err(format!(
                "{group}/{event} still {}",
                if present { "absent" } else { "present" }
            ))
        }
    }

    /// The base state: `fault/keep` and `fault/lk` present and disabled.
    fn base(&mut self) -> Result<(), String> {
        self.ensure("fault", "keep", true)?;
        self.ensure("fault", "lk", true)?;
        let enable = self.ev("fault/enable");
        sys::write_file(&enable, "0").map_err(|e| format!("write 0 to {enable}: {e}"))
    }

    /// `rel` under the instance, relative to the mount (`""`: the instance itself).
    fn inst(rel: &str) -> String {
        if rel.is_empty() {
            format!("{INSTANCES_DIR}/{INSTANCE}")
        } else {
            format!("{INSTANCES_DIR}/{INSTANCE}/{rel}")
        }
    }

    /// Makes the instance present (nothing enabled in it) or absent (unarmed).
    fn ensure_instance(&mut self, present: bool) -> Result<(), String> {
        let exists = sys::stat(&self.pre.instance).is_ok();
        if present && exists {
            let rel = Self::inst("set_event");
            self.open_root_unarmed(&rel, O_WRONLY | O_TRUNC)?;
        } else if present {
            sys::mkdir(&self.pre.instance, 0o755)
                .map_err(|e| format!("mkdir {}: {e}", Self::inst("")))?;
        } else if exists {
            sys::rmdir(&self.pre.instance).map_err(|e| format!("rmdir {}: {e}", Self::inst("")))?;
        }
        if sys::stat(&self.pre.instance).is_ok() == present {
            Ok(())
        } else {
            Err(format!(
                "{} still {}",
                Self::inst(""),
                if present { "absent" } else { "present" }
            ))
        }
    }

    /// How many times one complete pass of `instances/` lists the instance.
    fn instance_listed(&self) -> Result<usize, String> {
        let entries = registry::read_dir(&self.path(INSTANCES_DIR), DirKind::Instances)?;
        Ok(dirent::count(&entries, INSTANCE))
    }

    /// Checks that file `rel` (under the mount) reads `want`.
    fn expect_content(&mut self, rel: &str, want: &[u8], after: &str) -> Result<(), String> {
        let got = self.read_root(rel)?;
        if got != want {
            self.violation(format!(
                "{rel} reads {:?} after {after}, expected {:?}",
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(want)
            ));
        }
        Ok(())
    }

    /// Writes `-:fault/lk` unarmed; returns the outcome.
    fn remove_lk(&self) -> SysResult<usize> {
        sys::write(&self.dyn_fd, text::remove_line("fault", "lk").as_bytes())
    }

    /// Makes kprobe event `def` present (disabled) or absent (unarmed).
    fn ensure_probe(&mut self, def: &ProbeDef, present: bool) -> Result<(), String> {
        let rel = format!("{}/{}", def.group, def.event);
        let path = cpath(&self.ev(&rel));
        if sys::stat(&path).is_ok() == present {
            return Ok(());
        }
        let line = if present {
            def.command(true)
        } else {
            def.remove_command(true)
        };
        sys::write(&self.kp_fd, line.as_bytes()).map_err(|e| format!("write {line:?}: {e}"))?;
        if sys::stat(&path).is_ok() == present {
            Ok(())
        } else {
            Err(format!(
                "{rel} still {}",
                if present { "absent" } else { "present" }
            ))
        }
    }

    /// `kprobe_profile`, parsed.
    fn profile(&self) -> Result<Vec<kprobe::Profile>, String> {
        let text = self.read_root("kprobe_profile")?;
        kprobe::parse_profile(&String::from_utf8_lossy(&text))
            .map_err(|e| format!("kprobe_profile: {e}"))
    }

    /// The hits of kprobe event `event`, which must have one line in `kprobe_profile`.
    fn probe_hits(&self, event: &str) -> Result<u64, String> {
        let profile = self.profile()?;
        match profile
            .iter()
            .filter(|p| p.event == event)
            .collect::<Vec<_>>()[..]
        {
            [p] => Ok(p.hits),
            ref found => Err(format!(
                "kprobe_profile has {} lines for {event}",
                found.len()
            )),
        }
    }

    /// Makes `vfs_read` run: reads of the mount's `README`.
    fn call_vfs_read(&self) {
        let readme = self.path("README");
        for _ in 0..PROBE_CALLS {
            let _ = sys::read_file(&readme, 4096);
        }
    }

    /// Reads `rel` (under the mount) whole.
    fn read_root(&self, rel: &str) -> Result<Vec<u8>, String> {
        let path = self.path(rel);
        sys::read_file(&path, BUF).map_err(|e| format!("read {path}: {e}"))
    }

    /// Reads `rel` (under `events/`) whole.
    fn read_text(&self, rel: &str) -> Result<Vec<u8>, String> {
        self.read_root(&format!("{EVENTS_DIR}/{rel}"))
    }

    fn drop_caches() -> Result<(), String> {
        sys::write_file("/proc/sys/vm/drop_caches", "2")
            .map_err(|e| format!("echo 2 > /proc/sys/vm/drop_caches: {e}"))
    }

    fn remount(&self, uid: u32, gid: u32) -> Result<(), String> {
        let data = cpath(&format!("uid={uid},gid={gid}"));
        sys::mount(
            c"none",
            &self.pre.mnt,
            c"eventfs",
            libc::MS_REMOUNT,
            Some(&data),
        )
        .map_err(|e| format!("remount uid={uid},gid={gid}: {e}"))
    }

    fn listing_lines(&self) -> Result<BTreeSet<String>, String> {
        let text = registry::read_listing(&self.mnt)?;
        Ok(text.split_inclusive('\n').map(String::from).collect())
    }

    fn is_mounted(&self, dir: &str) -> bool {
        let info = sys::read_file("/proc/self/mountinfo", 1 << 22).unwrap_or_default();
        String::from_utf8_lossy(&info)
            .lines()
            .any(|l| l.split(' ').nth(4) == Some(dir))
    }

    /// Puts the registry in the state `kind` starts from, and opens what it uses.
    fn prepare(&mut self, kind: Kind) -> Result<(), String> {
        self.fd = None;
        self.base()?;
        if !kind.uses_instance() {
            self.ensure_instance(false)?;
        }
        match kind {
            Kind::Mount => {
                if self.is_mounted(&self.scratch) {
                    sys::umount(&self.pre.scratch)
                        .map_err(|e| format!("umount {}: {e}", self.scratch))?;
                }
            }
            Kind::CreateNewGroup => self.ensure("fault_new", "ev", false)?,
            Kind::CreateInGroup => self.ensure("fault", "ev", false)?,
            Kind::Remove => {
                self.ensure("fault", "ev", true)?;
                let id = self.read_text("fault/ev/id")?;
                self.id_before = text::parse_id(&id).ok();
            }
            Kind::RemoveLast => self.ensure("fault_solo", "ev", true)?,
            Kind::Truncate => {
                self.ensure("fault", "ev", true)?;
                self.before = self.listing_lines()?;
            }
            Kind::LookupDir => Self::drop_caches()?,
            Kind::LookupFile => {
                Self::drop_caches()?;
                sys::stat(&self.pre.lk_dir).map_err(|e| format!("stat fault/lk: {e}"))?;
            }
            Kind::OpenFormat => {
                self.reference = self.read_text("fault/lk/format")?;
            }
            Kind::ReadFormat => {
                self.reference = self.read_text("fault/lk/format")?;
                self.fd = Some(self.open_unarmed("fault/lk/format", O_RDONLY)?);
            }
            Kind::ReadListing => {
                self.reference = registry::read_listing(&self.mnt)?.into_bytes();
                self.fd = Some(self.open_root_unarmed("dynamic_events", O_RDONLY)?);
            }
            Kind::ReadAvailableEvents => {
                self.reference = self.read_root("available_events")?;
                self.fd = Some(self.open_root_unarmed("available_events", O_RDONLY)?);
            }
            Kind::WriteEnable => self.fd = Some(self.open_unarmed("fault/lk/enable", O_RDWR)?),
            Kind::WriteGroupEnable => self.fd = Some(self.open_unarmed("fault/enable", O_RDWR)?),
            Kind::WriteSetEvent => {
                self.fd = Some(self.open_root_unarmed("set_event", O_WRONLY)?);
            }
            Kind::Readdir => self.fd = Some(self.open_unarmed("fault", O_RDONLY | O_DIRECTORY)?),
            Kind::Chmod => {
                sys::chmod(&self.pre.lk_format, 0o440).map_err(|e| format!("chmod: {e}"))?
            }
            Kind::Remount => self.remount(self.owner.0, self.owner.1)?,
            Kind::WriteDisable => {
                let fd = self.open_unarmed("fault/lk/enable", O_RDWR)?;
                sys::write(&fd, b"1").map_err(|e| format!("write 1 to fault/lk/enable: {e}"))?;
                self.fd = Some(fd);
            }
            Kind::MkdirInstance => self.ensure_instance(false)?,
            Kind::RmdirInstance => {
                self.ensure_instance(true)?;
                let rel = Self::inst("events/fault/lk/enable");
                sys::write_file(&self.path(&rel), "1")
                    .map_err(|e| format!("write 1 to {rel}: {e}"))?;
            }
            Kind::WriteInstanceEnable => {
                self.ensure_instance(true)?;
                let rel = Self::inst("events/fault/lk/enable");
                self.fd = Some(self.open_root_unarmed(&rel, O_RDWR)?);
            }
            Kind::WriteInstanceSetEvent => {
                self.ensure_instance(true)?;
                self.fd = Some(self.open_root_unarmed(&Self::inst("set_event"), O_WRONLY)?);
            }
            Kind::Resize => {
                // The instance's buffer exists at RESIZE_FROM KiB per CPU and holds a
                // record: the resize must keep it whether it fails or not.
                self.ensure_instance(true)?;
                let rel = Self::inst("buffer_size_kb");
                sys::write_file(&self.path(&rel), RESIZE_FROM)
                    .map_err(|e| format!("write {rel}: {e}"))?;
                let rel = Self::inst("trace");
                self.open_root_unarmed(&rel, O_WRONLY | O_TRUNC)?;
                let rel = Self::inst("trace_marker");
                sys::write_file(&self.path(&rel), "kept\n")
                    .map_err(|e| format!("write {rel}: {e}"))?;
                let rel = Self::inst("buffer_size_kb");
                self.fd = Some(self.open_root_unarmed(&rel, O_WRONLY)?);
            }
            Kind::WriteMarker => {
                // The instance's buffer exists (made by a write before arming), empty. Its
                // allocation is not swept: when one of its per-CPU parts fails to allocate,
                // the kernel's ring buffer itself WARNs (trace_rb_cpu_prepare), a splat
                // that mainline tracefs would log as well.
                self.ensure_instance(true)?;
                let rel = Self::inst("buffer_size_kb");
                sys::write_file(&self.path(&rel), "4").map_err(|e| format!("write {rel}: {e}"))?;
                let rel = Self::inst("trace_marker");
                sys::write_file(&self.path(&rel), "setup\n")
                    .map_err(|e| format!("write {rel}: {e}"))?;
                let rel = Self::inst("trace");
                self.open_root_unarmed(&rel, O_WRONLY | O_TRUNC)?;
                self.fd = Some(self.open_root_unarmed(&Self::inst("trace_marker"), O_WRONLY)?);
            }
            Kind::Inject => {
                // As for write_marker, the instance's buffer exists (made by an inject
                // before arming), empty; fault/lk is enabled there, with no filter.
                self.ensure_instance(true)?;
                let rel = Self::inst("buffer_size_kb");
                sys::write_file(&self.path(&rel), "4").map_err(|e| format!("write {rel}: {e}"))?;
                let rel = Self::inst("events/fault/lk/enable");
                sys::write_file(&self.path(&rel), "1")
                    .map_err(|e| format!("write 1 to {rel}: {e}"))?;
                let rel = Self::inst("events/fault/lk/inject");
                sys::write_file(&self.path(&rel), "a=0")
                    .map_err(|e| format!("write a=0 to {rel}: {e}"))?;
                self.open_root_unarmed(&Self::inst("trace"), O_WRONLY | O_TRUNC)?;
                self.fd = Some(self.open_root_unarmed(&rel, O_WRONLY)?);
            }
            Kind::FilterSet => {
                let rel = "fault/lk/filter";
                sys::write_file(&self.ev(rel), FILTER_OLD)
                    .map_err(|e| format!("write {FILTER_OLD:?} to {rel}: {e}"))?;
                self.fd = Some(self.open_unarmed(rel, O_WRONLY)?);
            }
            Kind::ProbeCreate => {
                for def in &probe_defs() {
                    self.ensure_probe(def, false)?;
                }
            }
            Kind::ProbeEnable => {
                // fault_kp/kp defined afresh, disabled: its id is one the instance never
                // enabled (a tracing directory keeps the name and fields of every event it
                // enabled, which the first enable of an id allocates), so that every n
                // sees the same allocations. The
                // instance's buffer exists (made by a marker write, 4 KiB), empty: a
                // probe's handler cannot allocate it, so enabling makes it when missing,
                // and the ring buffer WARNs when its per-CPU parts fail (see
                // write_marker).
                self.ensure_instance(true)?;
                let [kp, kr] = probe_defs();
                self.ensure_probe(&kr, false)?;
                self.ensure_probe(&kp, false)?;
                self.ensure_probe(&kp, true)?;
                let rel = Self::inst("buffer_size_kb");
                sys::write_file(&self.path(&rel), "4").map_err(|e| format!("write {rel}: {e}"))?;
                let rel = Self::inst("trace_marker");
                sys::write_file(&self.path(&rel), "setup\n")
                    .map_err(|e| format!("write {rel}: {e}"))?;
                self.open_root_unarmed(&Self::inst("trace"), O_WRONLY | O_TRUNC)?;
                let rel = Self::inst("events/fault_kp/kp/enable");
                self.fd = Some(self.open_root_unarmed(&rel, O_RDWR)?);
            }
        }
        Ok(())
    }

    /// Opens `rel` (under `events/`).
    fn open_unarmed(&self, rel: &str, flags: i32) -> Result<Fd, String> {
        self.open_root_unarmed(&format!("{EVENTS_DIR}/{rel}"), flags)
    }

    /// Opens `rel` (under the mount).
    fn open_root_unarmed(&self, rel: &str, flags: i32) -> Result<Fd, String> {
        let path = self.path(rel);
        sys::open(&cpath(&path), flags).map_err(|e| format!("open {path}: {e}"))
    }

    /// The armed operation: one system call, no allocation.
    fn op(&mut self, kind: Kind) -> SysResult<usize> {
        let p = &self.pre;
        match kind {
            Kind::Mount => sys::mount(c"none", &p.scratch, c"eventfs", 0, None).map(|()| 0),
            Kind::CreateNewGroup => sys::write(&self.dyn_fd, p.create_new.as_bytes()),
            Kind::CreateInGroup => sys::write(&self.dyn_fd, p.create_in.as_bytes()),
            Kind::Remove => sys::write(&self.dyn_fd, p.remove_ev.as_bytes()),
            Kind::RemoveLast => sys::write(&self.dyn_fd, p.remove_solo.as_bytes()),
            Kind::Truncate => sys::open(&p.dynamic, O_WRONLY | O_TRUNC).map(|fd| {
                self.fd = Some(fd);
                0
            }),
            Kind::LookupDir => sys::stat(&p.lk_dir).map(|_| 0),
            Kind::LookupFile => sys::stat(&p.lk_format).map(|_| 0),
            Kind::OpenFormat => sys::open(&p.lk_format, O_RDONLY).map(|fd| {
                self.fd = Some(fd);
                0
            }),
            Kind::ReadFormat | Kind::ReadListing | Kind::ReadAvailableEvents => match &self.fd {
                Some(fd) => sys::pread(fd, &mut self.buf, 0),
                None => Err(Errno(libc::EBADF)),
            },
            Kind::WriteEnable
            | Kind::WriteGroupEnable
            | Kind::WriteInstanceEnable
            | Kind::ProbeEnable => match &self.fd {
                Some(fd) => sys::write(fd, b"1"),
                None => Err(Errno(libc::EBADF)),
            },
            Kind::WriteDisable => match &self.fd {
                Some(fd) => sys::write(fd, b"0"),
                None => Err(Errno(libc::EBADF)),
            },
            Kind::WriteMarker => match &self.fd {
                Some(fd) => sys::write(fd, MARKER),
                None => Err(Errno(libc::EBADF)),
            },
            Kind::Inject => match &self.fd {
                Some(fd) => sys::write(fd, INJECT),
                None => Err(Errno(libc::EBADF)),
            },
            Kind::Resize => match &self.fd {
                Some(fd) => sys::write(fd, RESIZE_TO.as_bytes()),
                None => Err(Errno(libc::EBADF)),
            },
            Kind::FilterSet => match &self.fd {
                Some(fd) => sys::write(fd, p.filter_new.as_bytes()),
                None => Err(Errno(libc::EBADF)),
            },
            Kind::WriteSetEvent | Kind::WriteInstanceSetEvent => match &self.fd {
                Some(fd) => sys::write(fd, p.set_event_lk.as_bytes()),
                None => Err(Errno(libc::EBADF)),
            },
            Kind::ProbeCreate => sys::write(&self.kp_fd, p.probe_create.as_bytes()),
            Kind::MkdirInstance => sys::mkdir(&p.instance, 0o755).map(|()| 0),
            Kind::RmdirInstance => sys::rmdir(&p.instance).map(|()| 0),
            Kind::Readdir => match &self.fd {
                Some(fd) => sys::getdents64(fd, &mut self.buf[..DIR_BUF]),
                None => Err(Errno(libc::EBADF)),
            },
            Kind::Chmod => sys::chmod(&p.lk_format, 0o400).map(|()| 0),
            Kind::Remount => sys::mount(
                c"none",
                &p.mnt,
                c"eventfs",
                libc::MS_REMOUNT,
                Some(&p.remount_to),
            )
            .map(|()| 0),
        }
    }

    /// The states a failed (`ok == false`) or successful operation must leave.
    fn check_state(&mut self, kind: Kind, r: &SysResult<usize>) -> Result<(), String> {
        let ok = r.is_ok();
        let exists = |f: &Self, rel: &str| sys::stat(&cpath(&f.ev(rel))).is_ok();
        let expect = |f: &mut Self, rel: &str, want: bool| {
            if exists(f, rel) != want {
                let state = if want { "absent" } else { "present" };
                let how = if ok { "succeeded" } else { "failed" };
                f.violation(format!("{rel} is {state} after the operation {how}"));
            }
        };
        match kind {
            Kind::Mount => {
                if ok {
                    let t = sys::fs_type(&self.pre.scratch);
                    if t != Ok(sys::EVENTFS_MAGIC) {
                        self.violation(format!(
                            "{} is not an eventfs after mount: {t:?}",
                            self.scratch
                        ));
                    }
                    // The whole fixed layout is there: the root's files and events/ with
                    // its enable (complete passes), and they can be read.
                    let events = format!("{}/{EVENTS_DIR}", self.scratch);
                    for (dir, kind) in [
                        (self.scratch.clone(), DirKind::Root),
                        (events, DirKind::Events),
                    ] {
                        if let Err(e) = registry::read_dir(&dir, kind) {
                            self.violation(format!("after the mount: {e}"));
                        }
                    }
                    for rel in ["dynamic_events", "events/enable"] {
                        let path = format!("{}/{rel}", self.scratch);
                        if let Err(e) = sys::read_file(&path, 4096) {
                            self.violation(format!("read {path}: {e}"));
                        }
                    }
                    sys::umount(&self.pre.scratch)
                        .map_err(|e| format!("umount {}: {e}", self.scratch))?;
                } else if self.is_mounted(&self.scratch) {
                    self.violation(format!("{} is mounted although mount failed", self.scratch));
                    sys::umount(&self.pre.scratch)
                        .map_err(|e| format!("umount {}: {e}", self.scratch))?;
                }
            }
            Kind::CreateNewGroup => {
                expect(self, "fault_new/ev", ok);
                expect(self, "fault_new", ok);
                self.ensure("fault_new", "ev", false)?;
            }
            Kind::CreateInGroup => {
                expect(self, "fault/ev", ok);
                expect(self, "fault/keep", true);
                self.ensure("fault", "ev", false)?;
            }
            Kind::Remove => {
                expect(self, "fault/ev", !ok);
                expect(self, "fault/keep", true);
                if !ok {
                    let id = text::parse_id(&self.read_text("fault/ev/id")?).ok();
                    if id != self.id_before {
                        self.violation(format!(
                            "fault/ev id {id:?} after a failed removal, was {:?}",
                            self.id_before
                        ));
                    }
                }
            }
            Kind::RemoveLast => {
                expect(self, "fault_solo/ev", !ok);
                expect(self, "fault_solo", !ok);
            }
            Kind::Truncate => {
                let after = self.listing_lines()?;
                if ok && !after.is_empty() {
                    self.violation(format!("O_TRUNC succeeded but left {after:?}"));
                } else if !ok && after != self.before {
                    let kept = after.len();
                    let was = self.before.len();
                    self.violation(format!(
                        "O_TRUNC failed but changed the registry: {kept} of {was} events left \
                         (errors must leave the registry unchanged)"
                    ));
                }
            }
            Kind::LookupDir | Kind::LookupFile => {
                // docs/RULES.md rule 6: a failed lookup leaves no negative dentry for a
                // name that exists (events/ and the group are looked up on the way).
                for rel in [
                    "events",
                    "events/fault",
                    "events/fault/lk",
                    "events/fault/lk/format",
                ] {
                    match sys::stat(&cpath(&self.path(rel))) {
                        Ok(st) if sys::is_dir(st.st_mode) != rel.ends_with("format") => {}
                        Ok(st) => self.violation(format!("{rel}: wrong type {:o}", st.st_mode)),
                        Err(e) => self.violation(format!("stat {rel} after the fault: {e}")),
                    }
                }
            }
            Kind::OpenFormat => {
                if let Some(fd) = self.fd.take() {
                    let mut buf = vec![0u8; BUF];
                    let n =
                        sys::pread(&fd, &mut buf, 0).map_err(|e| format!("read format: {e}"))?;
                    if buf[..n] != self.reference[..] {
                        self.violation("format read through the opened file differs");
                    }
                }
                if self.read_text("fault/lk/format")? != self.reference {
                    self.violation("format differs after the fault");
                }
            }
            Kind::ReadFormat | Kind::ReadListing | Kind::ReadAvailableEvents => {
                if let Ok(n) = *r {
                    if self.buf[..n] != self.reference[..] {
                        self.violation("read returned different content under the fault");
                    }
                }
                if let Some(fd) = self.fd.take() {
                    let mut buf = vec![0u8; BUF];
                    let n = sys::pread(&fd, &mut buf, 0).map_err(|e| format!("read again: {e}"))?;
                    if buf[..n] != self.reference[..] {
                        self.violation("read after the fault returned different content");
                    }
                }
            }
            Kind::WriteEnable | Kind::WriteGroupEnable => {
                let want: &[u8] = if ok { b"1\n" } else { b"0\n" };
                let rels: &[&str] = if kind == Kind::WriteEnable {
                    &["fault/lk/enable"]
                } else {
                    &["fault/keep/enable", "fault/lk/enable", "fault/enable"]
                };
                for rel in rels {
                    let got = self.read_text(rel)?;
                    if got != want {
                        self.violation(format!(
                            "{rel} reads {:?} after a write of 1 that {}",
                            String::from_utf8_lossy(&got),
                            if ok { "succeeded" } else { "failed" }
                        ));
                    }
                }
                if let Some(fd) = self.fd.take() {
                    sys::write(&fd, b"0").map_err(|e| format!("write 0: {e}"))?;
                }
            }
            Kind::WriteSetEvent => {
                let want: &[u8] = if ok { b"1\n" } else { b"0\n" };
                let got = self.read_text("fault/lk/enable")?;
                if got != want {
                    self.violation(format!(
                        "fault/lk/enable reads {:?} after a set_event write that {}",
                        String::from_utf8_lossy(&got),
                        if ok { "succeeded" } else { "failed" }
                    ));
                }
                let got = self.read_text("fault/keep/enable")?;
                if got != b"0\n" {
                    self.violation(format!(
                        "fault/keep/enable reads {:?} after a set_event write of fault:lk",
                        String::from_utf8_lossy(&got)
                    ));
                }
                // registry::check then compares set_event with the enable files.
            }
            Kind::Readdir => {
                if let Some(fd) = self.fd.take() {
                    let mut entries = match *r {
                        Ok(n) => dirent::parse(&self.buf[..n])?,
                        Err(_) => Vec::new(),
                    };
                    let mut buf = vec![0u8; DIR_BUF];
                    for _ in 0..1000 {
                        let n =
                            sys::getdents64(&fd, &mut buf).map_err(|e| format!("getdents: {e}"))?;
                        if n == 0 {
                            break;
                        }
                        entries.extend(dirent::parse(&buf[..n])?);
                    }
                    for p in dirent::check_pass(&entries, DirKind::Group, true) {
                        self.violation(format!("getdents fault: {p}"));
                    }
                    for ev in ["keep", "lk"] {
                        if dirent::count(&entries, ev) != 1 {
                            self.violation(format!("getdents fault: '{ev}' not listed once"));
                        }
                    }
                }
            }
            Kind::Chmod => {
                let st = sys::stat(&self.pre.lk_format).map_err(|e| format!("stat format: {e}"))?;
                let want = if ok { 0o400 } else { 0o440 };
                if st.st_mode & 0o7777 != want {
                    self.violation(format!(
                        "format mode {:o}, expected {want:o}",
                        st.st_mode & 0o7777
                    ));
                }
            }
            Kind::Remount => {
                let want = if ok {
                    (self.owner.0 + 1, self.owner.1 + 1)
                } else {
                    self.owner
                };
                for rel in [
                    "",
                    "dynamic_events",
                    EVENTS_DIR,
                    "events/enable",
                    "events/fault/lk",
                ] {
                    let path = cpath(&self.path(rel));
                    let st = sys::stat(&path).map_err(|e| format!("stat {rel}: {e}"))?;
                    if (st.st_uid, st.st_gid) != want {
                        self.violation(format!(
                            "'{rel}' owned by {}:{}, expected {}:{} after the remount {}",
                            st.st_uid,
                            st.st_gid,
                            want.0,
                            want.1,
                            if ok { "succeeded" } else { "failed" }
                        ));
                    }
                }
                self.remount(self.owner.0, self.owner.1)?;
            }
            Kind::WriteDisable => {
                // Disabling never allocates: it cannot fail.
                let want: &[u8] = if ok { b"0\n" } else { b"1\n" };
                self.expect_content("events/fault/lk/enable", want, "a write of 0")?;
            }
            Kind::MkdirInstance => {
                let exists = sys::stat(&self.pre.instance).is_ok();
                let listed = self.instance_listed()?;
                if exists != ok || listed != usize::from(ok) {
                    self.violation(format!(
                        "after a mkdir that {}: {} {}, listed {listed} times in {INSTANCES_DIR}/",
                        if ok { "succeeded" } else { "failed" },
                        Self::inst(""),
                        if exists { "exists" } else { "does not exist" },
                    ));
                }
                if ok && exists {
                    // A whole instance, with nothing enabled in it.
                    registry::read_dir(&self.path(&Self::inst("")), DirKind::Instance)?;
                    let after = "the mkdir";
                    self.expect_content(&Self::inst("events/enable"), b"0\n", after)?;
                    self.expect_content(&Self::inst("events/fault/lk/enable"), b"0\n", after)?;
                    self.expect_content(&Self::inst("set_event"), b"", after)?;
                    self.expect_content(&Self::inst("tracing_on"), b"1\n", after)?;
                }
            }
            Kind::RmdirInstance => {
                let exists = sys::stat(&self.pre.instance).is_ok();
                let listed = self.instance_listed()?;
                if exists == ok || listed != usize::from(!ok) {
                    self.violation(format!(
                        "after an rmdir that {}: {} {}, listed {listed} times in {INSTANCES_DIR}/",
                        if ok { "succeeded" } else { "failed" },
                        Self::inst(""),
                        if exists { "exists" } else { "does not exist" },
                    ));
                }
                if !ok && exists {
                    // Intact: fault/lk still enabled in it, so it cannot be removed.
                    let after = "a failed rmdir";
                    self.expect_content(&Self::inst("events/fault/lk/enable"), b"1\n", after)?;
                    self.expect_content(&Self::inst("set_event"), b"fault:lk\n", after)?;
                    self.expect_content(&Self::inst("tracing_on"), b"1\n", after)?;
                    match self.remove_lk() {
                        Err(Errno(libc::EBUSY)) => {}
                        other => self.violation(format!(
                            "removing fault/lk, enabled in {}: {other:?}, expected EBUSY",
                            Self::inst("")
                        )),
                    }
                    // And usable: removing it works now.
                    sys::rmdir(&self.pre.instance)
                        .map_err(|e| format!("rmdir {} again: {e}", Self::inst("")))?;
                }
                // Removing the instance disabled fault/lk in it: nothing holds it now.
                if let Err(e) = self.remove_lk() {
                    self.violation(format!(
                        "removing fault/lk after its instance went: {e} (the instance's enable \
                         state outlived it)"
                    ));
                }
            }
            Kind::WriteInstanceEnable | Kind::WriteInstanceSetEvent => {
                let after = if ok {
                    "a write that succeeded"
                } else {
                    "a write that failed"
                };
                let (want, listed): (&[u8], &[u8]) = if ok {
                    (b"1\n", b"fault:lk\n")
                } else {
                    (b"0\n", b"")
                };
                self.expect_content(&Self::inst("events/fault/lk/enable"), want, after)?;
                self.expect_content(&Self::inst("set_event"), listed, after)?;
                self.expect_content(&Self::inst("events/fault/keep/enable"), b"0\n", after)?;
                // The top level's state is its own.
                self.expect_content("events/fault/lk/enable", b"0\n", after)?;
                if let Some(fd) = self.fd.take() {
                    let off: &[u8] = if kind == Kind::WriteInstanceEnable {
                        b"0"
                    } else {
                        b"!fault:lk\n"
                    };
                    sys::write(&fd, off).map_err(|e| format!("disable again: {e}"))?;
                }
            }
            Kind::Resize => {
                // The new size or the old one; the record kept; the buffer usable.
                let want = if ok { RESIZE_TO } else { RESIZE_FROM };
                let after = if ok {
                    "after a resize"
                } else {
                    "after a failed resize"
                };
                self.expect_content(
                    &Self::inst("buffer_size_kb"),
                    format!("{want}\n").as_bytes(),
                    after,
                )?;
                let rel = Self::inst("trace_marker");
                sys::write_file(&self.path(&rel), "usable\n")
                    .map_err(|e| format!("write {rel} {after}: {e}"))?;
                let trace = String::from_utf8_lossy(&self.read_root(&Self::inst("trace"))?)
                    .lines()
                    .filter(|l| !l.starts_with('#'))
                    .map(|l| l.rsplit(": ").next().unwrap_or("").to_string())
                    .collect::<Vec<_>>();
                if trace != ["kept", "usable"] {
                    self.violation(format!("{after}: the instance's trace holds {trace:?}"));
                }
            }
            Kind::WriteMarker => {
                // All or nothing: the record is there, or nothing is.
                let records = |t: &[u8]| -> Vec<String> {
                    String::from_utf8_lossy(t)
                        .lines()
                        .filter(|l| !l.starts_with('#'))
                        .map(String::from)
                        .collect()
                };
                let trace = Self::inst("trace");
                let got = records(&self.read_root(&trace)?);
                let want = usize::from(ok);
                if got.len() != want
                    || got
                        .iter()
                        .any(|l| !l.ends_with(&format!("tracing_mark_write: {}", marker_text())))
                {
                    self.violation(format!(
                        "after a trace_marker write that {}: {trace} holds {got:?}",
                        if ok { "succeeded" } else { "failed" }
                    ));
                }
                // Usable after a failure: the next write records.
                if let Some(fd) = self.fd.take() {
                    sys::write(&fd, MARKER)
                        .map_err(|e| format!("write trace_marker again: {e}"))?;
                }
                let got = records(&self.read_root(&trace)?);
                if got.len() != want + 1 {
                    self.violation(format!(
                        "a second trace_marker write: {trace} holds {got:?}"
                    ));
                }
            }
            Kind::Inject => {
                // All or nothing: the one record is there, or nothing is.
                let records = |t: &[u8]| -> Vec<String> {
                    String::from_utf8_lossy(t)
                        .lines()
                        .filter(|l| !l.starts_with('#'))
                        .map(String::from)
                        .collect()
                };
                let trace = Self::inst("trace");
                let got = records(&self.read_root(&trace)?);
                let want = usize::from(ok);
                if got.len() != want || got.iter().any(|l| !l.contains(INJECTED)) {
                    self.violation(format!(
                        "after an inject that {}: {trace} holds {got:?}",
                        if ok { "succeeded" } else { "failed" }
                    ));
                }
                // Usable after a failure: the next inject records.
                if let Some(fd) = self.fd.take() {
                    sys::write(&fd, INJECT).map_err(|e| format!("inject again: {e}"))?;
                }
                let got = records(&self.read_root(&trace)?);
                if got.len() != want + 1 || got.iter().any(|l| !l.contains(INJECTED)) {
                    self.violation(format!("a second inject: {trace} holds {got:?}"));
                }
            }
            Kind::FilterSet => {
                // The new filter, or the old one untouched: never none, never half.
                let want = if ok { FILTER_NEW } else { FILTER_OLD };
                self.expect_content(
                    "events/fault/lk/filter",
                    format!("{want}\n").as_bytes(),
                    if ok {
                        "a filter write that succeeded"
                    } else {
                        "a filter write that failed"
                    },
                )?;
                let rel = "fault/lk/filter";
                sys::write_file(&self.ev(rel), "0")
                    .map_err(|e| format!("write 0 to {rel}: {e}"))?;
                self.expect_content("events/fault/lk/filter", b"none\n", "a write of 0")?;
            }
            Kind::ProbeCreate => self.check_probe_create(ok)?,
            Kind::ProbeEnable => self.check_probe_enable(ok)?,
        }
        self.fd = None;
        Ok(())
    }

    /// After the probe_create kind: both probes defined, listed as written and in
    /// `kprobe_profile` with no hits and no misses (never armed), or neither anywhere
    /// (the batch undone whole: its registered probe unregistered).
    fn check_probe_create(&mut self, ok: bool) -> Result<(), String> {
        let how = if ok { "succeeded" } else { "failed" };
        let text = String::from_utf8_lossy(&self.read_root("kprobe_events")?).into_owned();
        let listing =
            kprobe::parse_kprobe_listing(&text).map_err(|e| format!("kprobe_events: {e}"))?;
        let ours: Vec<&kprobe::ProbeLine> =
            listing.iter().filter(|l| l.group == PROBE_GROUP).collect();
        let profile = self.profile()?;
        let defs = probe_defs();
        let listed_right = if ok {
            ours.len() == defs.len() && defs.iter().all(|d| ours.iter().any(|l| d.listed_as(l)))
        } else {
            ours.is_empty()
        };
        if !listed_right {
            self.violation(format!(
                "kprobe_events lists {ours:?} after a definition of fault_kp/kp and fault_kp/kr that {how}"
            ));
        }
        for def in &defs {
            let rel = format!("{}/{}", def.group, def.event);
            if sys::stat(&cpath(&self.ev(&rel))).is_ok() != ok {
                self.violation(format!(
                    "{rel} is {} after a definition that {how}",
                    if ok { "absent" } else { "present" }
                ));
            }
            let lines: Vec<&kprobe::Profile> =
                profile.iter().filter(|p| p.event == def.event).collect();
            let right = match lines[..] {
                [p] => ok && p.hits == 0 && p.misses == 0,
                [] => !ok,
                _ => false,
            };
            if !right {
                self.violation(format!(
                    "kprobe_profile has {lines:?} for {} after a definition that {how}",
                    def.event
                ));
            }
        }
        if !ok && sys::stat(&cpath(&self.ev(PROBE_GROUP))).is_ok() {
            self.violation(format!(
                "{PROBE_GROUP} is present after a definition that failed"
            ));
        }
        for def in &defs {
            self.ensure_probe(def, false)?;
        }
        Ok(())
    }

    /// After the probe_enable kind: `fault_kp/kp` enabled in the instance and armed (its
    /// hits grow with calls of `vfs_read`, whose records reach the instance's `trace`), or
    /// disabled and disarmed (no hits, no record); either way, once disabled, nothing
    /// holds it: it can be removed.
    fn check_probe_enable(&mut self, ok: bool) -> Result<(), String> {
        let after = if ok {
            "an enable that succeeded"
        } else {
            "an enable that failed"
        };
        let (want, listed): (&[u8], &[u8]) = if ok {
            (b"1\n", b"fault_kp:kp\n")
        } else {
            (b"0\n", b"")
        };
        self.expect_content(&Self::inst("events/fault_kp/kp/enable"), want, after)?;
        self.expect_content(&Self::inst("set_event"), listed, after)?;
        // The top level's state is its own.
        self.expect_content("events/fault_kp/kp/enable", b"0\n", after)?;
        let before = self.probe_hits("kp")?;
        self.call_vfs_read();
        let hits = self.probe_hits("kp")?;
        if (ok && hits <= before) || (!ok && hits != before) {
            self.violation(format!(
                "kprobe_profile: kp went from {before} to {hits} hits over {PROBE_CALLS} reads after {after} (armed iff enabled)"
            ));
        }
        let [kp, _] = probe_defs();
        let trace = String::from_utf8_lossy(&self.read_root(&Self::inst("trace"))?).into_owned();
        let records: Vec<&str> = trace.lines().filter(|l| !l.starts_with('#')).collect();
        if ok == records.is_empty() {
            self.violation(format!(
                "{} holds {} records after {after} and {PROBE_CALLS} reads",
                Self::inst("trace"),
                records.len()
            ));
        }
        // Each record is one of kp (a line that is no record, such as a note of lost
        // events, is not checked).
        for line in &records {
            let Some(t) = text::split_trace_line(line) else {
                continue;
            };
            let checked = Some(t)
                .filter(|t| t.event == kp.event)
                .ok_or_else(|| "not a kp record".to_string())
                .and_then(|t| kprobe::parse_probe_body(t.body))
                .and_then(|b| kp.check_record(&b));
            if let Err(e) = checked {
                self.violation(format!("{}: {e}: {line:?}", Self::inst("trace")));
                break;
            }
        }
        if let Some(fd) = self.fd.take() {
            if ok {
                sys::write(&fd, b"0").map_err(|e| format!("disable again: {e}"))?;
            }
        }
        if let Err(e) = sys::write(&self.kp_fd, kp.remove_command(true).as_bytes()) {
            self.violation(format!(
                "removing fault_kp/kp, disabled after {after}: {e} (its enable state outlived it)"
            ));
        }
        Ok(())
    }

    /// Runs `kind` for n = 1, 2, ... until it no longer reaches the n-th allocation.
    fn run_kind(&mut self, kind: Kind, max_nth: u32) -> KindStats {
        let mut st = KindStats::default();
        let start = self.violations;
        warm_stack();
        for n in 1..=max_nth {
            self.who = format!("fault {} n={n}", kind.name());
            if let Err(e) = self.prepare(kind) {
                self.violation(format!("cannot prepare: {e}"));
                break;
            }
            if let Err(e) = self.nth.arm(n) {
                self.violation(format!("arm {FAIL_NTH}: {e}"));
                break;
            }
            let r = self.op(kind);
            let injected = match self.nth.disarm() {
                Ok(i) => i,
                Err(e) => {
                    self.violation(format!("read {FAIL_NTH}: {e}"));
                    break;
                }
            };
            if injected {
                st.injected += 1;
                st.counts.record(&r);
                if !kind.allowed().allows(&r) {
                    let got = r.map_or_else(|e| e.to_string(), |_| "ok".to_string());
                    let want = kind.allowed().describe();
                    self.violation(format!("{got} under the fault, expected {want}"));
                }
            } else if let Err(e) = r {
                self.violation(format!("failed with {e} although no fault was injected"));
            }
            if let Err(e) = self.check_state(kind, &r) {
                self.violation(format!("checking the state: {e}"));
            }
            match registry::check(&self.mnt) {
                Ok((_, problems)) => {
                    for p in problems {
                        self.violation(format!("registry inconsistent: {p}"));
                    }
                }
                Err(e) => self.violation(format!("registry unreadable: {e}")),
            }
            if !injected {
                st.clean_at = Some(n);
                break;
            }
        }
        st.violations = self.violations - start;
        st
    }
}

/// Touches 256 KiB of stack, so that the armed calls do not fault in stack pages.
#[inline(never)]
fn warm_stack() {
    let mut a = [0u8; 256 * 1024];
    for chunk in a.chunks_mut(4096) {
        chunk[0] = 1;
    }
    std::hint::black_box(&mut a);
}

/// Runs the fault-injection mode; returns the exit code.
pub fn run(cfg: &Config) -> i32 {
    let rep = Reporter::default();
    let mnt = cfg.mount.clone();
    println!(
        "eventfs-stress --faults: mount {mnt}, scratch {}, n up to {}",
        cfg.scratch, cfg.max_nth
    );
    if sys::fs_type(&cpath(&mnt)) != Ok(sys::EVENTFS_MAGIC) {
        println!("error: {mnt} is not an eventfs mount (statfs magic)");
        println!("faults: 1 violations");
        return 1;
    }
    println!("note: the truncate kind removes every event of the mount");
    // The failslab knobs, fail-nth, `dynamic_events` and `kprobe_events` open for
    // appending, the root's owner.
    type Setup = (Failslab, FailNth, [Fd; 2], (u32, u32));
    let setup = (|| -> Result<Setup, String> {
        match sys::mkdir(&cpath(&cfg.scratch), 0o755) {
            Ok(()) | Err(Errno(libc::EEXIST)) => {}
            Err(e) => return Err(format!("mkdir {}: {e}", cfg.scratch)),
        }
        let root = sys::stat(&cpath(&mnt)).map_err(|e| format!("stat {mnt}: {e}"))?;
        let dynamic = format!("{mnt}/dynamic_events");
        let dyn_fd = sys::open(&cpath(&dynamic), O_WRONLY | O_APPEND)
            .map_err(|e| format!("open {dynamic}: {e}"))?;
        let kprobe_events = format!("{mnt}/kprobe_events");
        let kp_fd = sys::open(&cpath(&kprobe_events), O_WRONLY | O_APPEND)
            .map_err(|e| format!("open {kprobe_events}: {e}"))?;
        let failslab = Failslab::setup()?;
        let nth = FailNth::open()?;
        Ok((failslab, nth, [dyn_fd, kp_fd], (root.st_uid, root.st_gid)))
    })();
    let (failslab, nth, [dyn_fd, kp_fd], owner) = match setup {
        Ok(s) => s,
        Err(e) => {
            println!("error: {e}");
            println!("faults: 1 violations");
            return 1;
        }
    };
    let ev_fields = fields();
    let pre = Prebuilt {
        mnt: cpath(&mnt),
        scratch: cpath(&cfg.scratch),
        dynamic: cpath(&format!("{mnt}/dynamic_events")),
        lk_dir: cpath(&format!("{mnt}/{EVENTS_DIR}/fault/lk")),
        lk_format: cpath(&format!("{mnt}/{EVENTS_DIR}/fault/lk/format")),
        create_new: text::create_line("fault_new", "ev", &ev_fields),
        create_in: text::create_line("fault", "ev", &ev_fields),
        remove_ev: text::remove_line("fault", "ev"),
        remove_solo: text::remove_line("fault_solo", "ev"),
        set_event_lk: "fault:lk\n".to_string(),
        filter_new: FILTER_NEW.to_string(),
        instance: cpath(&format!("{mnt}/{INSTANCES_DIR}/{INSTANCE}")),
        probe_create: probe_defs().iter().map(|d| d.command(true)).collect(),
        remount_to: cpath(&format!("uid={},gid={}", owner.0 + 1, owner.1 + 1)),
    };
    let mut f = Faults {
        mnt: mnt.clone(),
        scratch: cfg.scratch.clone(),
        rep: &rep,
        nth,
        dyn_fd,
        kp_fd,
        pre,
        owner,
        buf: vec![0xa5; BUF],
        fd: None,
        reference: Vec::new(),
        before: BTreeSet::new(),
        id_before: None,
        who: "fault".to_string(),
        violations: 0,
    };
    let mut lines = Vec::new();
    for kind in Kind::ALL {
        let st = f.run_kind(kind, cfg.max_nth);
        let line = st.describe(kind, cfg.max_nth);
        println!("{line}");
        lines.push(line);
    }
    drop(failslab);

    // Clean up, then check once more with nothing armed.
    f.who = "fault cleanup".to_string();
    if let Err(e) = f.ensure_instance(false) {
        f.violation(format!("cleanup: {e}"));
    }
    for def in &probe_defs() {
        if let Err(e) = f.ensure_probe(def, false) {
            f.violation(format!("cleanup: {e}"));
        }
    }
    for (g, e) in [
        ("fault", "ev"),
        ("fault", "keep"),
        ("fault", "lk"),
        ("fault_new", "ev"),
        ("fault_solo", "ev"),
    ] {
        let _ = sys::write_file(&format!("{mnt}/{EVENTS_DIR}/{g}/enable"), "0");
        if let Err(e) = f.ensure(g, e, false) {
            f.violation(format!("cleanup: {e}"));
        }
    }
    if f.is_mounted(&cfg.scratch) {
        f.violation(format!("{} still mounted at the end", cfg.scratch));
        let _ = sys::umount(&cpath(&cfg.scratch));
    }
    match registry::check(&mnt) {
        Ok((_, problems)) => {
            for p in problems {
                f.violation(format!("registry inconsistent at the end: {p}"));
            }
        }
        Err(e) => f.violation(format!("registry unreadable at the end: {e}")),
    }
    println!("summary:");
    for line in &lines {
        println!("  {line}");
    }
    let n = rep.count();
    println!("faults: {n} violations");
    i32::from(n != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formatting() {
        let mut buf = [0u8; 10];
        assert_eq!(format_u32(0, &mut buf), b"0");
        assert_eq!(format_u32(7, &mut buf), b"7");
        assert_eq!(format_u32(200, &mut buf), b"200");
        assert_eq!(format_u32(u32::MAX, &mut buf), b"4294967295");
        assert_eq!(parse_u32(b"0\n"), Some(0));
        assert_eq!(parse_u32(b"37\n"), Some(37));
        assert_eq!(parse_u32(b""), None);
        assert_eq!(parse_u32(b"x\n"), None);
    }

    #[test]
    fn kinds() {
        for (i, k) in Kind::ALL.iter().enumerate() {
            assert!(Kind::ALL[i + 1..].iter().all(|o| o.name() != k.name()));
            // Only ENOMEM is accepted as a failure under a fault.
            assert_eq!(k.allowed(), Outcomes::ok_or(&[ENOMEM]));
        }
    }

    #[test]
    fn kind_report() {
        let mut st = KindStats {
            injected: 3,
            clean_at: Some(4),
            ..KindStats::default()
        };
        st.counts.record::<()>(&Err(Errno(ENOMEM)));
        st.counts.record::<()>(&Ok(()));
        assert_eq!(
            st.describe(Kind::Mount, 200),
            "fault mount: 3 faults injected (ran clean at n=4): 1 ok, ENOMEM 1; 0 violations"
        );
        st.clean_at = None;
        assert!(st
            .describe(Kind::Remount, 200)
            .contains("cap n=200 reached"));
    }

    #[test]
    fn probe_definitions() {
        let [kp, kr] = probe_defs();
        assert_eq!(
            kp.command(true),
            "p:fault_kp/kp vfs_read di=%di comm=$comm\n"
        );
        assert_eq!(
            kr.command(true),
            "r:fault_kp/kr vfs_read ret=$retval a1=$arg1\n"
        );
        assert_eq!(kp.remove_command(true), "-:fault_kp/kp\n");
        // The kernel lists the return probe with its default MAXACTIVE.
        let l = kprobe::parse_probe_line("r10:fault_kp/kr vfs_read ret=$retval a1=$arg1").unwrap();
        assert!(kr.listed_as(&l) && !kp.listed_as(&l));
        assert!(Kind::ProbeEnable.uses_instance() && !Kind::ProbeCreate.uses_instance());
        assert_eq!(Kind::ALL.len(), 29);
        assert_eq!(Kind::ALL[27..], [Kind::ProbeCreate, Kind::ProbeEnable]);
    }

    #[test]
    fn main_rs_documents_every_kind() {
        let doc = include_str!("main.rs");
        for k in Kind::ALL {
            assert!(
                doc.contains(&format!("//! | {} |", k.name())),
                "{}",
                k.name()
            );
        }
    }
}
