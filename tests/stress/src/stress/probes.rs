//! A worker's own kprobe events (`kprobes/tNp0..tNp3`): the model, and the `kprobe`
//! action. The probes go on functions the workload itself calls (`vfs_read`,
//! `vfs_write`, `kernel_clone`, `do_sys_openat2`, those of them the kernel has), are
//! enabled at the top level and in the thread's instance, and their hits
//! (`kprobe_profile`) and records (`trace_pipe`) are watched while the other threads
//! keep calling the same functions.
//!
//! Only thread N defines, enables or removes `tNpK`, so it knows the exact outcome of
//! every operation on them, except for what the gate's exclusive holders did: an
//! O_TRUNC of `dynamic_events` or `kprobe_events` removed them (which only happens when
//! none is enabled anywhere), a root disable disabled them at the top level (see
//! [`Probes::sync`]). Whether one is enabled in the thread's instance is in the instance
//! model ([`Inst::enabled`] holds `(kprobes, tNpK)`), which the `instance` action
//! changes too (only ever disabling them there: rmdir, `!*:*`, ...).

use std::io::BufRead;

use libc::O_NONBLOCK;

use super::*;
use crate::kprobe::{self, Arg, ProbeDef, ProbeLine, Profile, DEFAULT_GROUP};

/// kprobe events per thread: `tNp0..tNp3`.
pub(super) const PROBES: usize = 4;
/// The functions the probes go on, when the kernel has each exactly once: the workload
/// calls them all the time (reads and writes of every thread, the opens, the threads
/// this action spawns).
pub(super) use crate::cli::PROBE_FUNCS;
/// Calls of the probed function in one workload.
const CALLS: usize = 8;
/// Threads spawned in one workload of `kernel_clone`.
const CLONES: usize = 2;
/// Reads of a `trace_pipe` in one check (at most), and their size. A probe on
/// `vfs_read` enabled there never lets it run empty: each read records one more hit.
const PIPE_READS: usize = 64;
const PIPE_BUF: usize = 64 * 1024;
/// `buffer_size_kb` of the thread's instance when a probe is enabled there.
const INST_BUFFER_KB: &str = "64";
/// A symbol the kernel does not have (a refused definition).
const BAD_SYMBOL: &str = "no_such_function_efs";

/// The model of one of the thread's kprobe events.
#[derive(Clone, Debug, Default)]
pub(super) struct OwnProbe {
    /// Its definition, while it exists.
    pub(super) def: Option<ProbeDef>,
    /// Enabled at the top level.
    pub(super) top: bool,
    /// Its id, once read.
    pub(super) id: Option<u64>,
    /// Bumped on every removal (ids are per incarnation).
    pub(super) incarnation: u64,
    /// For a return probe, the `MAXACTIVE` it is listed with: at most that many calls
    /// that entered while it was armed can still return, and count, once it is disarmed.
    pub(super) maxactive: u32,
    /// The definitions it had before (each once): a buffer keeps their records after
    /// the removal, and prints them as they were defined, under the same name.
    pub(super) past: Vec<ProbeDef>,
}

impl OwnProbe {
    pub(super) fn removed(&mut self) {
        if let Some(d) = self.def.take().filter(|d| !self.past.contains(d)) {
            self.past.push(d);
        }
        self.top = false;
        self.id = None;
        self.incarnation += 1;
        self.maxactive = 0;
    }
}

/// A thread's model of its kprobe events.
#[derive(Clone, Debug)]
pub(super) struct Probes {
    pub(super) thread: usize,
    generation: u64,
    probe_generation: u64,
    enable_epoch: u64,
    pub(super) probes: Vec<OwnProbe>,
}

impl Probes {
    pub(super) fn new(thread: usize) -> Probes {
        Probes {
            thread,
            generation: 0,
            probe_generation: 0,
            enable_epoch: 0,
            probes: vec![OwnProbe::default(); PROBES],
        }
    }

    /// The name of probe `k`: `tNpK`.
    pub(super) fn name(&self, k: usize) -> String {
        probe_name(self.thread, k)
    }

    /// Its directory, relative to the mount.
    pub(super) fn dir(&self, k: usize) -> String {
        format!("{EVENTS_DIR}/{DEFAULT_GROUP}/{}", self.name(k))
    }

    /// The index of the probe named `event`, if it is one of this thread's.
    pub(super) fn index_of(&self, event: &str) -> Option<usize> {
        (0..PROBES).find(|&k| self.name(k) == event)
    }

    /// Applies what the gate's exclusive holders did since the last look: an O_TRUNC of
    /// `dynamic_events` or `kprobe_events` removed every kprobe event, a root disable
    /// disabled them all at the top level.
    pub(super) fn sync(&mut self, gate: &Gate) {
        if gate.generation != self.generation || gate.probe_generation != self.probe_generation {
            self.generation = gate.generation;
            self.probe_generation = gate.probe_generation;
            for p in self.probes.iter_mut().filter(|p| p.def.is_some()) {
                p.removed();
            }
        }
        if gate.enable_epoch != self.enable_epoch {
            self.enable_epoch = gate.enable_epoch;
            for p in &mut self.probes {
                p.top = false;
            }
        }
    }
}

/// The name of probe `k` of thread `t`.
pub(super) fn probe_name(t: usize, k: usize) -> String {
    format!("t{t}p{k}")
}

/// Whether `event` is named as the threads name their kprobe events (`tNpK`).
pub(super) fn is_probe_name(event: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    event
        .strip_prefix('t')
        .and_then(|r| r.split_once('p'))
        .is_some_and(|(t, k)| digits(t) && digits(k))
}

/// The functions of [`PROBE_FUNCS`] that `kallsyms` (`/proc/kallsyms`) names exactly
/// once as text (`t`/`T`): a probe by name needs a unique symbol.
pub(super) fn funcs_in(kallsyms: impl BufRead) -> Vec<&'static str> {
    let mut counts = [0usize; PROBE_FUNCS.len()];
    for line in kallsyms.lines().map_while(Result::ok) {
        let mut words = line.split_whitespace();
        let (Some(_addr), Some(ty), Some(name)) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        if !matches!(ty, "t" | "T") {
            continue;
        }
        if let Some(i) = PROBE_FUNCS.iter().position(|&f| f == name) {
            counts[i] += 1;
        }
    }
    PROBE_FUNCS
        .iter()
        .zip(counts)
        .filter(|&(_, n)| n == 1)
        .map(|(&f, _)| f)
        .collect()
}

/// Where a probe is enabled, for messages.
fn places(top: bool, inst: bool, name: &str) -> String {
    match (top, inst) {
        (true, true) => format!("the top level and instances/{name}"),
        (true, false) => "the top level".to_string(),
        (false, true) => format!("instances/{name}"),
        (false, false) => "nowhere".to_string(),
    }
}

impl Worker<'_> {
    // --- the action ---------------------------------------------------------------------

    pub(super) fn act_kprobe(&mut self) {
        let before = self.violations;
        let k = self.rng.index(PROBES);
        let which = self.rng.weighted(&[25, 15, 35, 12, 8, 5]);
        if which == 5 {
            // Under the gate held exclusively, which it releases.
            self.probe_truncate();
        }
        let ctx = self.ctx;
        let gate = ctx.read_gate();
        self.probes.sync(&gate);
        match which {
            0 => self.probe_create(k),
            1 => self.probe_remove(k),
            2 => self.probe_exercise(k, &gate),
            3 => self.probe_listing(),
            4 => self.probe_bad(k),
            _ => {}
        }
        if self.violations != before {
            // Under the gate: an exclusive holder sees the kprobe events unchanged.
            self.probe_resync();
        }
    }

    /// The key of probe `k` in the instance model.
    fn probe_key(&self, k: usize) -> (String, String) {
        (DEFAULT_GROUP.to_string(), self.probes.name(k))
    }

    /// Whether probe `k` is enabled in its thread's instance.
    fn probe_in_inst(&self, k: usize) -> bool {
        self.inst.enabled.contains(&self.probe_key(k))
    }

    /// Whether probe `k` is enabled in some tracing directory (then it is armed, and its
    /// removal, and any O_TRUNC, is EBUSY).
    pub(super) fn probe_enabled(&self, k: usize) -> bool {
        self.probes.probes[k].top || self.probe_in_inst(k)
    }

    /// A new definition for probe `k`: an entry or return probe on one of the functions,
    /// with 0 to 3 arguments.
    fn probe_random_def(&mut self, k: usize) -> ProbeDef {
        let ret = self.rng.chance(300);
        let funcs = &self.ctx.probe_funcs;
        let func = funcs[self.rng.index(funcs.len())];
        let pool: &[(&str, &str)] = if ret {
            &kprobe::RETURN_ARGS
        } else {
            &kprobe::ENTRY_ARGS
        };
        let mut left: Vec<usize> = (0..pool.len()).collect();
        let mut args = Vec::new();
        for _ in 0..self.rng.index(4) {
            let (name, fetch) = pool[left.remove(self.rng.index(left.len()))];
            args.push(Arg::new(name, fetch));
        }
        let maxactive = (ret && self.rng.chance(300)).then(|| *self.rng.pick(&[8, 16, 32]));
        ProbeDef {
            ret,
            maxactive,
            group: DEFAULT_GROUP.to_string(),
            event: self.probes.name(k),
            func: func.to_string(),
            args,
        }
    }

    /// Writes a kprobe command to `kprobe_events` (fresh descriptor) or, now and then, to
    /// `dynamic_events`.
    fn write_probe_cmd(&mut self, op: Op, expect: Outcomes, line: &str) -> SysResult<()> {
        if self.rng.chance(250) {
            return self.write_dyn(op, expect, line);
        }
        let rel = "kprobe_events";
        let fd = self
            .open(rel, O_WRONLY | O_APPEND, Op::Open, Outcomes::OK)
            .ok_or(Errno(libc::EIO))?;
        let r = self.write_value(&fd, op, expect, line, rel);
        self.close(fd, rel);
        r
    }

    // --- define, remove ---------------------------------------------------------------

    /// Defines probe `k`: EEXIST if it exists (whatever the new definition: this module
    /// keeps one probe per event), else it is there at once, disarmed, with no hits.
    fn probe_create(&mut self, k: usize) {
        let def = self.probe_random_def(k);
        let present = self.probes.probes[k].def.is_some();
        let expect = if present {
            Outcomes::errors(&[EEXIST])
        } else {
            Outcomes::OK
        };
        let cmd = def.command(self.rng.chance(500));
        let r = self.write_probe_cmd(Op::KprobeCreate, expect, &cmd);
        if present {
            // The old definition is untouched.
            self.probe_listed();
        } else if r.is_ok() {
            self.probes.probes[k].def = Some(def);
            self.probe_verify_new(k);
        }
    }

    /// Checks a probe just defined: its directory, id, format and `enable`, its line in
    /// the listings, and its line in `kprobe_profile` with no hits and no misses.
    fn probe_verify_new(&mut self, k: usize) {
        let Some(def) = self.probes.probes[k].def.clone() else {
            return;
        };
        let dir = self.probes.dir(k);
        self.stat(&dir, Outcomes::OK);
        let id_rel = format!("{dir}/id");
        if let Some(bytes) = self.read_file(&id_rel, Outcomes::OK, Outcomes::OK) {
            if let Some(Content::Id(id)) = self.validate(Op::Read, &id_rel, &bytes) {
                let p = &mut self.probes.probes[k];
                p.id = Some(id);
                let identity = format!("{DEFAULT_GROUP}/{}#{}", def.event, p.incarnation);
                if let Some(prev) = self.ctx.register_id(id, &identity, false) {
                    self.violation("read", format!("id {id} of {identity} was also {prev}'s"));
                }
            }
        }
        let format_rel = format!("{dir}/format");
        if let Some(bytes) = self.read_file(&format_rel, Outcomes::OK, Outcomes::OK) {
            if let Some(Content::Format(f)) = self.validate(Op::Read, &format_rel, &bytes) {
                let got: Vec<&str> = f.decls.iter().map(|d| kprobe::decl_name(d)).collect();
                let want = def.field_names();
                if got != want {
                    let shown = self.full(&format_rel);
                    self.violation(
                        "read",
                        format!("{shown}: fields {:?}, expected {want:?}", f.decls),
                    );
                }
                if let Some(id) = self.probes.probes[k].id.filter(|&id| id != f.id) {
                    let shown = self.full(&format_rel);
                    self.violation("read", format!("{shown}: ID {}, id reads {id}", f.id));
                }
            }
        }
        self.inst_enable_reads(&format!("{dir}/enable"), true, &['0']);
        if let Some(lines) = self.probe_listed() {
            let name = def.event.clone();
            if let Some(l) = lines
                .iter()
                .find(|l| l.group == DEFAULT_GROUP && l.event == name)
            {
                self.probes.probes[k].maxactive = l.maxactive.unwrap_or(0);
            }
        }
        if let Some(profile) = self.probe_profile() {
            let name = def.event.clone();
            if let Some(p) = profile.iter().find(|p| p.event == name) {
                if p.hits != 0 || p.misses != 0 {
                    self.violation(
                        "read",
                        format!("kprobe_profile: {name}, just defined (disarmed), has {} hits and {} misses", p.hits, p.misses),
                    );
                }
            }
        }
    }

    /// Removes probe `k` (`-:kprobes/tNpK` or `-:tNpK`, in `kprobe_events` or
    /// `dynamic_events`): ENOENT if absent, EBUSY if enabled anywhere; then it is gone
    /// at once. Now and then a name that never exists (ENOENT).
    fn probe_remove(&mut self, k: usize) {
        if self.rng.chance(50) {
            let line = if self.rng.chance(500) {
                format!("-:{DEFAULT_GROUP}/nx\n")
            } else {
                "-:nx\n".to_string()
            };
            let missing = expected(Op::KprobeRemove, Scope::Missing);
            let _ = self.write_probe_cmd(Op::KprobeRemove, missing, &line);
            return;
        }
        let name = self.probes.name(k);
        let present = self.probes.probes[k].def.is_some();
        let enabled = self.probe_enabled(k);
        let expect = if !present {
            Outcomes::errors(&[ENOENT])
        } else if enabled {
            Outcomes::errors(&[EBUSY])
        } else {
            Outcomes::OK
        };
        let line = if self.rng.chance(500) {
            format!("-:{DEFAULT_GROUP}/{name}\n")
        } else {
            format!("-:{name}\n")
        };
        let r = self.write_probe_cmd(Op::KprobeRemove, expect, &line);
        let dir = self.probes.dir(k);
        if r.is_ok() && expect == Outcomes::OK {
            self.probes.probes[k].removed();
            // Gone at once, with its files and its lines.
            let gone = Outcomes::errors(&[ENOENT]);
            self.stat(&dir, gone);
            self.stat(&format!("{dir}/enable"), gone);
            self.probe_listed();
            self.probe_profile();
        } else if present {
            self.stat(&dir, Outcomes::OK);
        }
    }

    /// A definition the kernel refuses, for an absent probe: EINVAL, and nothing is
    /// defined.
    fn probe_bad(&mut self, k: usize) {
        if self.probes.probes[k].def.is_some() {
            self.probe_create(k);
            return;
        }
        let name = self.probes.name(k);
        let func = *self.rng.pick(&self.ctx.probe_funcs);
        let line = match self.rng.below(4) {
            0 => format!("p:{DEFAULT_GROUP}/{name} {BAD_SYMBOL}\n"),
            1 => format!("p:{DEFAULT_GROUP}/{name} {func} x=%zz\n"),
            // A return probe must be at the function's entry.
            2 => format!("r:{DEFAULT_GROUP}/{name} {func}+8\n"),
            // $retval is for return probes.
            _ => format!("p:{name} {func} r=$retval\n"),
        };
        let _ = self.write_probe_cmd(Op::KprobeBad, Outcomes::errors(&[EINVAL]), &line);
        self.stat(&self.probes.dir(k), Outcomes::errors(&[ENOENT]));
        self.probe_listed();
    }

    /// O_TRUNC of `kprobe_events` (gate exclusive): EBUSY if one of the thread's probes is
    /// enabled (some other thread's may be too); on success every kprobe event is gone
    /// and nothing else, on EBUSY nothing is.
    fn probe_truncate(&mut self) {
        let ctx = self.ctx;
        let mut gate = ctx.write_gate();
        self.probes.sync(&gate);
        self.own.sync(&gate);
        let before = self.read_snapshot("kprobe_events");
        let mine = (0..PROBES).any(|k| self.probe_enabled(k));
        let expect = if mine {
            Outcomes::errors(&[EBUSY])
        } else {
            expected(Op::KprobeTruncate, Scope::Shared)
        };
        let what = format!("open {} with O_TRUNC", self.full("kprobe_events"));
        let r = sys::open(&self.path("kprobe_events"), O_WRONLY | O_TRUNC);
        match self.check(Op::KprobeTruncate, expect, &what, r) {
            Ok(fd) => {
                self.close(fd, "kprobe_events");
                gate.probe_generation += 1;
                self.probes.sync(&gate);
                for rel in ["kprobe_events", "kprobe_profile"] {
                    if let Some(text) = self.read_snapshot(rel).filter(|t| !t.is_empty()) {
                        let shown = self.full(rel);
                        self.violation(
                            "kprobe_truncate",
                            format!("{shown} after {what}: {text:?}"),
                        );
                    }
                }
                self.stat(&group_dir(DEFAULT_GROUP), Outcomes::errors(&[ENOENT]));
                // The synthetic events stay.
                for k in 0..PINNED {
                    self.stat(&format!("{PINNED_DIR}/p{k}"), Outcomes::OK);
                }
                for k in 0..OWN_EVENTS {
                    if self.own.events[k].present {
                        self.stat(&self.own.rel(k, 0), Outcomes::OK);
                    }
                }
            }
            Err(Errno(EBUSY)) => {
                let after = self.read_snapshot("kprobe_events");
                if let (Some(b), Some(a)) = (before, after) {
                    if a != b {
                        self.violation(
                            "kprobe_truncate",
                            format!(
                                "{what} was EBUSY but changed kprobe_events from {b:?} to {a:?}"
                            ),
                        );
                    }
                }
            }
            Err(_) => {}
        }
    }

    // --- enable, hits, records --------------------------------------------------------

    /// Enables probe `k` at the top level, in the instance, or both; its hits grow with
    /// the calls of its function; its records reach the instance's `trace_pipe` (and
    /// parse); its removal is EBUSY; then it is disabled (mostly everywhere: then its hits
    /// stop growing, else they go on).
    fn probe_exercise(&mut self, k: usize, gate: &Gate) {
        if self.probes.probes[k].def.is_none() {
            self.probe_create(k);
        }
        let Some(def) = self.probes.probes[k].def.clone() else {
            return;
        };
        let place = self.rng.below(3);
        let inst = place != 0 && self.inst_mkdir();
        let top = place != 1 || !inst;
        if top && !self.probes.probes[k].top {
            self.probe_enable_top(k, true);
        }
        if inst && !self.probe_in_inst(k) {
            // A small buffer, which the reads of its trace_pipe below can drain (an
            // enabled probe makes the buffer: 1408 KiB per CPU by default).
            let rel = self.inst.file("buffer_size_kb");
            let _ = self.probe_write(&rel, Op::Write, INST_BUFFER_KB);
            self.probe_enable_inst(k, true);
        }
        let (at_top, in_inst) = (self.probes.probes[k].top, self.probe_in_inst(k));
        if !at_top && !in_inst {
            return;
        }
        self.probe_kept_id(k);
        let inst_name = self.inst.name.clone();
        let calls = self.probe_hits_grow(k, &def, true, &places(at_top, in_inst, &inst_name));
        if in_inst {
            let dir = self.inst.dir();
            let require = (self.inst.tracing_on && calls > 0).then_some(calls);
            self.probe_pipe(&dir, Some(k), require);
        }
        if at_top && self.rng.chance(300) {
            self.probe_pipe("", Some(k), None);
        }
        if self.rng.chance(300) {
            // Enabled: its removal is refused.
            self.probe_remove(k);
        }
        if at_top && !self.rng.chance(150) {
            self.probe_enable_top(k, false);
        }
        if in_inst && !self.rng.chance(150) {
            if self.rng.chance(150) {
                // rmdir disables what is enabled in the instance.
                self.inst_rmdir(gate);
            } else {
                self.probe_enable_inst(k, false);
            }
        }
        let armed = self.probe_enabled(k);
        let where_ = places(self.probes.probes[k].top, self.probe_in_inst(k), &inst_name);
        self.probe_hits_grow(k, &def, armed, &where_);
        if !armed && self.rng.chance(300) {
            self.probe_remove(k);
        }
    }

    /// Reads the hits of probe `k`, makes its function run, reads them again: they must
    /// grow if it is `armed`, else stay (a return probe's may still grow by the calls that
    /// entered while it was armed and return now: at most its `MAXACTIVE`). Returns the
    /// calls the workload made for sure.
    fn probe_hits_grow(&mut self, k: usize, def: &ProbeDef, armed: bool, where_: &str) -> usize {
        let before = self.probe_hits(k);
        let calls = self.probe_workload(&def.func);
        let after = self.probe_hits(k);
        let (Some(b), Some(a)) = (before, after) else {
            return calls;
        };
        let name = &def.event;
        let func = &def.func;
        if armed && a <= b && calls > 0 {
            let state = self.probe_state(k, &def.func);
            self.violation(
                "kprobe",
                format!(
                    "kprobe_profile: {name} (on {func}, enabled in {where_}) has {a} hits after {calls} calls, {b} before; {state}",
                ),
            );
        }
        // A return probe's MAXACTIVE: as given, or as listed (unknown if the listing
        // could not be read whole: then no bound).
        let slack = match (def.ret, def.maxactive, self.probes.probes[k].maxactive) {
            (false, ..) => 0,
            (true, Some(n), _) | (true, None, n @ 1..) => u64::from(n),
            (true, None, 0) => u64::MAX / 2,
        };
        if !armed && a > b + slack {
            self.violation(
                "kprobe",
                format!("kprobe_profile: {name} (on {func}) went from {b} to {a} hits although it is disabled everywhere (disarmed)"),
            );
        }
        calls
    }

    /// What the kernel says of probe `k` on `func`, for a violation's message: its
    /// `enable` at the top level and in the thread's instance, its misses, and the
    /// kernel's own list of kprobes on `func` (`/sys/kernel/debug/kprobes/list`, when
    /// debugfs is mounted): whether the probe is registered, disabled or gone.
    fn probe_state(&mut self, k: usize, func: &str) -> String {
        let read = |path: &str| match sys::read_file(path, 64 * 1024) {
            Ok(t) => String::from_utf8_lossy(&t).trim_end().to_string(),
            Err(e) => format!("({e})"),
        };
        let name = self.probes.name(k);
        let top = read(&self.full(&format!("{}/enable", self.probes.dir(k))));
        let inst = read(&self.full(&self.inst.ev(&format!("{DEFAULT_GROUP}/{name}/enable"))));
        let misses = self
            .probe_profile()
            .and_then(|l| l.into_iter().find(|p| p.event == name))
            .map_or("?".to_string(), |p| p.misses.to_string());
        let list = match sys::read_file("/sys/kernel/debug/kprobes/list", 1 << 20) {
            Ok(t) => String::from_utf8_lossy(&t)
                .lines()
                .filter(|l| l.contains(func))
                .collect::<Vec<_>>()
                .join(" | "),
            Err(e) => format!("({e})"),
        };
        format!("enable: top {top}, instance {inst}; misses {misses}; kprobes/list: {list}")
    }

    /// Makes the probed function run: reads and opens of the mount's `README`, writes
    /// and reads through a pipe, or threads spawned and joined. Returns how many calls
    /// of it were made for sure (the system calls that succeeded).
    fn probe_workload(&mut self, func: &str) -> usize {
        let mut made = 0;
        match func {
            "kernel_clone" => {
                for _ in 0..CLONES {
                    match thread::Builder::new().spawn(|| ()) {
                        Ok(h) => {
                            made += 1;
                            let _ = h.join();
                        }
                        Err(e) => self.violation("kprobe", format!("spawn a thread: {e}")),
                    }
                }
            }
            "vfs_write" => match sys::pipe() {
                Ok((r, w)) => {
                    let mut b = [0u8; 1];
                    for _ in 0..CALLS {
                        made += usize::from(sys::write(&w, b"x").is_ok());
                        let _ = sys::read(&r, &mut b);
                    }
                }
                Err(e) => self.violation("kprobe", format!("pipe: {e}")),
            },
            _ => {
                let readme = self.path("README");
                let mut buf = [0u8; 64];
                for _ in 0..CALLS {
                    if let Ok(fd) = sys::open(&readme, O_RDONLY) {
                        made += usize::from(sys::read(&fd, &mut buf).is_ok());
                    }
                }
            }
        }
        made
    }

    /// The id of an enabled incarnation is never given to another event.
    fn probe_kept_id(&mut self, k: usize) {
        let p = &self.probes.probes[k];
        let (Some(id), Some(def)) = (p.id, p.def.as_ref()) else {
            return;
        };
        let identity = format!("{DEFAULT_GROUP}/{}#{}", def.event, p.incarnation);
        if let Some(prev) = self.ctx.register_id(id, &identity, true) {
            self.violation("enable", format!("id {id} of {identity} was also {prev}'s"));
        }
    }

    /// A `set_event` token selecting probe `k` alone: `kprobes:tNpK`, `*:tNpK` or
    /// `tNpK`, with `!` to disable.
    fn probe_token(&mut self, k: usize, on: bool) -> String {
        let name = self.probes.name(k);
        let tok = match self.rng.below(3) {
            0 => format!("{DEFAULT_GROUP}:{name}"),
            1 => format!("*:{name}"),
            _ => name,
        };
        format!("{}{tok}\n", if on { "" } else { "!" })
    }

    /// Writes `value` to file `rel` through a fresh descriptor (exactly success).
    fn probe_write(&mut self, rel: &str, op: Op, value: &str) -> SysResult<()> {
        let fd = self
            .open(rel, O_WRONLY, Op::Open, Outcomes::OK)
            .ok_or(Errno(libc::EIO))?;
        let r = self.write_value(&fd, op, Outcomes::OK, value, rel);
        self.close(fd, rel);
        r
    }

    /// Enables or disables probe `k` at the top level (its `enable`, or `set_event`);
    /// then its `enable` reads so.
    fn probe_enable_top(&mut self, k: usize, on: bool) {
        let rel = format!("{}/enable", self.probes.dir(k));
        let r = if self.rng.chance(300) {
            let tok = self.probe_token(k, on);
            self.probe_write("set_event", Op::SetEvent, &tok)
        } else {
            self.probe_write(&rel, Op::Write, if on { "1" } else { "0" })
        };
        if r.is_ok() {
            self.probes.probes[k].top = on;
        }
        let want = if self.probes.probes[k].top { '1' } else { '0' };
        self.inst_enable_reads(&rel, true, &[want]);
        if self.rng.chance(250) {
            self.probe_set_event_top(k);
        }
    }

    /// The top level's `set_event` lists probe `k` iff it is enabled there.
    fn probe_set_event_top(&mut self, k: usize) {
        let Some(text) = self.read_snapshot("set_event") else {
            return;
        };
        let name = self.probes.name(k);
        let want = usize::from(self.probes.probes[k].top);
        let n = text
            .lines()
            .filter(|l| *l == format!("{DEFAULT_GROUP}:{name}"))
            .count();
        if n != want {
            let shown = self.full("set_event");
            self.violation(
                "read",
                format!("{shown}: {DEFAULT_GROUP}:{name} listed {n} times, expected {want}"),
            );
        }
    }

    /// Enables or disables probe `k` in the thread's instance (its `enable` there, or the
    /// instance's `set_event`); then it reads so, and the instance's `set_event` is the
    /// model's.
    fn probe_enable_inst(&mut self, k: usize, on: bool) {
        let key = self.probe_key(k);
        let rel = self.inst.ev(&format!("{}/{}/enable", key.0, key.1));
        let r = if self.rng.chance(300) {
            let tok = self.probe_token(k, on);
            let file = self.inst.file("set_event");
            self.probe_write(&file, Op::SetEvent, &tok)
        } else {
            self.probe_write(&rel, Op::Write, if on { "1" } else { "0" })
        };
        if r.is_ok() {
            if on {
                self.inst.enabled.insert(key.clone());
            } else {
                self.inst.enabled.remove(&key);
            }
        }
        let want = if self.inst.enabled.contains(&key) {
            '1'
        } else {
            '0'
        };
        self.inst_enable_reads(&rel, true, &[want]);
        if let Some(got) = self.inst_set_event_listing() {
            if got != self.inst.enabled {
                let shown = self.full(&self.inst.file("set_event"));
                let want = self.inst.listing();
                self.violation("read", format!("{shown}: lists {got:?}, expected {want:?}"));
            }
        }
    }

    /// Reads `trace_pipe` of tracing directory `dir` (`""`: the top level) without
    /// waiting, a bounded number of times: every record of a stress probe (`tNpK`) must
    /// parse, and those of probe `k` match its definition. With `require` (the calls its
    /// workload made), a record of probe `k` written by this thread must be among them,
    /// unless the reads did not reach the end.
    fn probe_pipe(&mut self, dir: &str, k: Option<usize>, require: Option<usize>) {
        let rel = join(dir, "trace_pipe");
        let Some(fd) = self.open(&rel, O_RDONLY | O_NONBLOCK, Op::Open, Outcomes::OK) else {
            return;
        };
        let what = format!("read {}", self.full(&rel));
        let mut data = Vec::new();
        let mut buf = vec![0u8; PIPE_BUF];
        let mut drained = false;
        for _ in 0..PIPE_READS {
            let r = sys::read(&fd, &mut buf);
            match self.check(Op::ReadPipe, expected(Op::ReadPipe, Scope::Fixed), &what, r) {
                Ok(0) | Err(_) => {
                    drained = true;
                    break;
                }
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        }
        self.close(fd, &rel);
        let def = k.and_then(|k| self.probes.probes[k].def.clone());
        let me = sys::gettid();
        let mut mine = 0;
        let out = String::from_utf8_lossy(&data).into_owned();
        // Whole lines only: a read may end inside one.
        for line in out.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
            let line = line.trim_end_matches('\n');
            let Some(t) = text::split_trace_line(line) else {
                continue;
            };
            if !is_probe_name(t.event) {
                continue;
            }
            let body = match kprobe::parse_probe_body(t.body) {
                Ok(b) => b,
                Err(e) => {
                    self.violation("read_pipe", format!("{what}: {e} in {line:?}"));
                    continue;
                }
            };
            if let Some(def) = def.as_ref().filter(|d| d.event == t.event) {
                if let Err(e) = def.check_record(&body) {
                    // Maybe a record of an earlier definition of the same name.
                    let past = &self.probes.probes[k.unwrap_or_default()].past;
                    if !past.iter().any(|p| p.check_record(&body).is_ok()) {
                        self.violation("read_pipe", format!("{what}: {e} in {line:?}"));
                    }
                } else if t.pid == me {
                    mine += 1;
                }
            }
        }
        if let (Some(calls), true, 0, Some(def)) = (require, drained, mine, def.as_ref()) {
            self.violation(
                "read_pipe",
                format!(
                    "{what}: no record of {} by this thread (pid {me}) after {calls} calls of {} while it was enabled there",
                    def.event,
                    def.func
                ),
            );
        }
    }

    // --- the listings ------------------------------------------------------------------

    /// Reads `kprobe_events` (and `dynamic_events`): each of the thread's probes is
    /// listed once with its definition if it exists, never if it does not; the kprobe
    /// lines of `dynamic_events` for them are the same. Returns the parsed listing.
    fn probe_listed(&mut self) -> Option<Vec<ProbeLine>> {
        let text = self.read_snapshot("kprobe_events")?;
        let shown = self.full("kprobe_events");
        let lines = match kprobe::parse_kprobe_listing(&text) {
            Ok(l) => l,
            Err(e) => {
                self.violation("read", format!("{shown}: {e}"));
                return None;
            }
        };
        let t = self.probes.thread;
        let mine = move |raw: &str| -> Vec<String> {
            raw.lines()
                .filter(|l| {
                    kprobe::parse_probe_line(l).is_ok_and(|p| {
                        p.group == DEFAULT_GROUP && (0..PROBES).any(|k| probe_name(t, k) == p.event)
                    })
                })
                .map(String::from)
                .collect()
        };
        for k in 0..PROBES {
            let name = self.probes.name(k);
            let found: Vec<&ProbeLine> = lines
                .iter()
                .filter(|l| l.group == DEFAULT_GROUP && l.event == name)
                .collect();
            let ok = match (&self.probes.probes[k].def, &found[..]) {
                (None, []) => true,
                (Some(def), [l]) => def.listed_as(l),
                _ => false,
            };
            if !ok {
                let want = self.probes.probes[k].def.as_ref().map(|d| d.command(true));
                self.violation(
                    "read",
                    format!("{shown}: {name} listed as {found:?}, expected {want:?}"),
                );
            }
        }
        if self.rng.chance(300) {
            if let Some(dynamic) = self.read_snapshot("dynamic_events") {
                let (a, b) = (mine(&text), mine(&dynamic));
                if a != b {
                    self.violation(
                        "read",
                        format!("the thread's kprobe lines: {a:?} in kprobe_events, {b:?} in dynamic_events"),
                    );
                }
            }
        }
        Some(lines)
    }

    /// Reads `kprobe_profile`: each of the thread's probes has one line if it exists,
    /// none if it does not. Returns the parsed lines.
    fn probe_profile(&mut self) -> Option<Vec<Profile>> {
        let text = self.read_snapshot("kprobe_profile")?;
        let shown = self.full("kprobe_profile");
        let lines = match kprobe::parse_profile(&text) {
            Ok(l) => l,
            Err(e) => {
                self.violation("read", format!("{shown}: {e}"));
                return None;
            }
        };
        for k in 0..PROBES {
            let name = self.probes.name(k);
            let n = lines.iter().filter(|p| p.event == name).count();
            let want = usize::from(self.probes.probes[k].def.is_some());
            if n != want {
                self.violation(
                    "read",
                    format!("{shown}: {name} has {n} lines, expected {want}"),
                );
            }
        }
        Some(lines)
    }

    /// The hits of probe `k` in `kprobe_profile` (checked as [`Worker::probe_profile`]).
    fn probe_hits(&mut self, k: usize) -> Option<u64> {
        let name = self.probes.name(k);
        let lines = self.probe_profile()?;
        lines.iter().find(|p| p.event == name).map(|p| p.hits)
    }

    /// Every view of the thread's probes agrees with the model: `kprobe_events`,
    /// `dynamic_events`, `kprobe_profile`, their directories, `available_events`, the
    /// top level's `set_event` and `enable`.
    fn probe_listing(&mut self) {
        self.probe_listed();
        self.probe_profile();
        let available = self.read_snapshot("available_events");
        for k in 0..PROBES {
            let present = self.probes.probes[k].def.is_some();
            let dir = self.probes.dir(k);
            let gone = Outcomes::errors(&[ENOENT]);
            self.stat(&dir, if present { Outcomes::OK } else { gone });
            let name = format!("{DEFAULT_GROUP}:{}", self.probes.name(k));
            if let Some(text) = &available {
                let n = text.lines().filter(|l| *l == name).count();
                if n != usize::from(present) {
                    let shown = self.full("available_events");
                    self.violation(
                        "read",
                        format!("{shown}: {name} listed {n} times (present: {present})"),
                    );
                }
            }
            if present {
                let want = if self.probes.probes[k].top { '1' } else { '0' };
                self.inst_enable_reads(&format!("{dir}/enable"), true, &[want]);
                self.probe_set_event_top(k);
            }
        }
    }

    /// After a violation the model may be wrong: disable the thread's probes at the top
    /// level, remove its instance (best effort, unchecked) and remove them; what is left
    /// is what the model has.
    pub(super) fn probe_resync(&mut self) {
        let mnt = self.ctx.mnt.clone();
        let kprobe_events = format!("{mnt}/kprobe_events");
        for k in 0..PROBES {
            let _ = sys::write_file(&format!("{mnt}/{}/enable", self.probes.dir(k)), "0");
        }
        self.inst_resync();
        for k in 0..PROBES {
            let line = format!("-:{DEFAULT_GROUP}/{}\n", self.probes.name(k));
            let _ = sys::write_file(&kprobe_events, &line);
            self.probes.probes[k].removed();
        }
        let Ok(text) = registry::read_whole(&mnt, "kprobe_events") else {
            return;
        };
        for l in kprobe::parse_kprobe_listing(&text).unwrap_or_default() {
            let Some(k) = self
                .probes
                .index_of(&l.event)
                .filter(|_| l.group == DEFAULT_GROUP)
            else {
                continue;
            };
            // Could not remove it: present, as listed, enabled as it reads.
            let enable = sys::read_file(&format!("{mnt}/{}/enable", self.probes.dir(k)), 64);
            let p = &mut self.probes.probes[k];
            p.def = ProbeDef::from_line(&l);
            p.maxactive = l.maxactive.unwrap_or(0);
            p.top = enable.is_ok_and(|b| b == b"1\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let p = Probes::new(3);
        assert_eq!(p.name(2), "t3p2");
        assert_eq!(p.dir(0), "events/kprobes/t3p0");
        assert_eq!(p.index_of("t3p1"), Some(1));
        assert_eq!(p.index_of("t3p4"), None);
        assert_eq!(p.index_of("t2p1"), None);
        assert_eq!(probe_name(12, 3), "t12p3");
        for ok in ["t0p0", "t63p3", "t1p12"] {
            assert!(is_probe_name(ok), "{ok}");
        }
        for bad in [
            "t0", "tp1", "t0p", "x0p1", "t0p1x", "t0q1", "e0", "kp", "t-1p0",
        ] {
            assert!(!is_probe_name(bad), "{bad}");
        }
        assert_eq!(places(true, false, "s0"), "the top level");
        assert_eq!(places(false, true, "s0"), "instances/s0");
    }

    #[test]
    fn sync_with_the_gate() {
        let mut p = Probes::new(0);
        p.probes[1].def = Some(ProbeDef {
            ret: false,
            maxactive: None,
            group: DEFAULT_GROUP.into(),
            event: "t0p1".into(),
            func: "vfs_read".into(),
            args: Vec::new(),
        });
        p.probes[1].top = true;
        p.probes[1].id = Some(40);
        let mut gate = Gate::default();
        p.sync(&gate);
        assert!(p.probes[1].def.is_some() && p.probes[1].top);
        // A root disable: disabled at the top level, still there.
        gate.enable_epoch += 1;
        p.sync(&gate);
        assert!(p.probes[1].def.is_some() && !p.probes[1].top);
        // An O_TRUNC of kprobe_events, or of dynamic_events: gone.
        gate.probe_generation += 1;
        p.sync(&gate);
        assert!(p.probes[1].def.is_none() && p.probes[1].id.is_none());
        assert_eq!(p.probes[1].incarnation, 1);
        assert_eq!(p.probes[0].incarnation, 0);
        p.probes[1].def = p.probes[0].def.clone().or(Some(ProbeDef {
            ret: true,
            maxactive: Some(8),
            group: DEFAULT_GROUP.into(),
            event: "t0p1".into(),
            func: "vfs_write".into(),
            args: Vec::new(),
        }));
        gate.generation += 1;
        p.sync(&gate);
        assert!(p.probes[1].def.is_none());
        assert_eq!(p.probes[1].incarnation, 2);
        p.sync(&gate);
        assert_eq!(p.probes[1].incarnation, 2);
    }

    #[test]
    fn functions_from_kallsyms() {
        let text = "ffffffff812ffa90 T kernel_clone\n\
            ffffffff816c4910 t do_sys_openat2\n\
            ffffffff816c6d80 T vfs_read\n\
            ffffffff816c7400 T vfs_write\n\
            ffffffff816c7500 t vfs_write\n\
            ffffffff82000000 d vfs_readv\n\
            ffffffffa0000000 t vfs_read_extra\t[eventfs]\n";
        assert_eq!(
            funcs_in(text.as_bytes()),
            ["vfs_read", "kernel_clone", "do_sys_openat2"]
        );
        // Not text: not a function.
        assert!(funcs_in(&b"0000000000000000 D vfs_read\n"[..]).is_empty());
        assert!(funcs_in(&b""[..]).is_empty());
    }
}
