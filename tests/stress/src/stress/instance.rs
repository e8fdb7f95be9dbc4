//! A worker's own instance (`instances/sN`): the model, and the `instance` action.
//!
//! Only thread N creates, removes or changes `instances/sN`, and a shared event it
//! enables there cannot be removed by anyone while it is (removal is EBUSY while an
//! event is enabled in any instance), so the thread knows the exact outcome of every
//! operation on its instance and of every read of its state: which events its
//! `set_event` lists, what its `enable` files read, its `tracing_on`. Shared events it
//! has not enabled may come and go as elsewhere (the *shared* outcomes).

use super::*;

/// The tokens of `mkdir instances/NAME` that are refused (EINVAL): a blank, a control
/// character, DEL, bytes that are not ASCII.
const BAD_NAMES: [&str; 7] = [
    "a b",
    " ",
    "tab\there",
    "nl\nx",
    "\u{1}",
    "del\u{7f}",
    "\u{e9}t\u{e9}",
];
/// The values written to an instance's `tracing_on` (any number but 0 is on).
const TRACING_ON_VALUES: [&str; 6] = ["0", "1", "0\n", "1\n", "42\n", "00\n"];
/// The files of an instance that keep `rmdir` away while open, and how to open them.
const HOLDERS: [(&str, i32); 5] = [
    ("set_event", O_WRONLY),
    ("tracing_on", O_RDWR),
    ("current_tracer", O_RDONLY),
    ("available_tracers", O_RDONLY),
    ("error_log", O_RDONLY),
];

/// A thread's model of its instance `instances/sN`.
#[derive(Clone, Debug)]
pub(super) struct Inst {
    pub(super) name: String,
    pub(super) present: bool,
    /// The events enabled in it, as (group, event): shared events only (the own events
    /// the `own_busy` step enables are disabled again, or the instance removed, within
    /// that step).
    pub(super) enabled: BTreeSet<(String, String)>,
    pub(super) tracing_on: bool,
    /// The inode number of its last incarnation (a new one has a new number).
    pub(super) last_ino: Option<u64>,
}

impl Inst {
    pub(super) fn new(name: String) -> Inst {
        Inst {
            name,
            present: false,
            enabled: BTreeSet::new(),
            tracing_on: true,
            last_ino: None,
        }
    }

    /// `instances/sN`, relative to the mount.
    pub(super) fn dir(&self) -> String {
        format!("{INSTANCES_DIR}/{}", self.name)
    }

    /// A file (or `events`) of the instance.
    pub(super) fn file(&self, f: &str) -> String {
        format!("{}/{f}", self.dir())
    }

    /// `rel` under the instance's `events/` (`""`: `events/` itself).
    pub(super) fn ev(&self, rel: &str) -> String {
        join(&self.file(EVENTS_DIR), rel)
    }

    /// A new instance: nothing enabled, `tracing_on` 1.
    pub(super) fn created(&mut self) {
        self.present = true;
        self.enabled.clear();
        self.tracing_on = true;
    }

    pub(super) fn removed(&mut self) {
        self.present = false;
        self.enabled.clear();
        self.tracing_on = true;
    }

    /// Whether an event of group `g` is enabled in it.
    pub(super) fn has_group(&self, g: &str) -> bool {
        self.enabled.iter().any(|(eg, _)| eg == g)
    }

    /// What the instance's `events/enable` reads: `0` with nothing enabled, else `X`
    /// (the pinned events exist while anything is enabled, O_TRUNC being EBUSY then,
    /// and are never enabled in it).
    pub(super) fn all_enable(&self) -> char {
        if self.enabled.is_empty() {
            '0'
        } else {
            'X'
        }
    }

    /// The `set_event` lines of the model, sorted.
    pub(super) fn listing(&self) -> BTreeSet<String> {
        self.enabled
            .iter()
            .map(|(g, e)| format!("{g}:{e}"))
            .collect()
    }
}

/// Whether `name` is one of the stress threads' instances (`s0`..`sN-1`).
pub(super) fn thread_instance(name: &str, threads: usize) -> bool {
    name.strip_prefix('s')
        .filter(|n| !n.is_empty() && !n.starts_with('0') || *n == "0")
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|t| t < threads)
}

/// What a `set_event` token of the model does to the instance's enabled set.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Effect {
    /// On success the set becomes exactly this (on failure it stays as it was).
    Exact(BTreeSet<(String, String)>),
    /// On success the set grows by events of this group only.
    Grows(String),
}

/// A `set_event` token for the instance: what it says, the outcome expected, and its
/// effect. `on`: enable or disable; `(g, e)` the event picked; `enabled` the model.
fn token(
    form: u64,
    on: bool,
    g: &str,
    e: &str,
    enabled: &BTreeSet<(String, String)>,
) -> (String, Outcomes, Effect) {
    let known = enabled.contains(&(g.to_string(), e.to_string()));
    let has_group = enabled.iter().any(|(eg, _)| eg == g);
    let shared = expected(Op::SetEvent, Scope::Shared);
    let exact_if = |held: bool| if held { Outcomes::OK } else { shared };
    let without = |keep: &dyn Fn(&(String, String)) -> bool| -> BTreeSet<(String, String)> {
        enabled.iter().filter(|x| keep(x)).cloned().collect()
    };
    if on {
        match form {
            // Only tokens that select shared events: `:e5` would select other threads'
            // own events too, `*:*` the pinned ones.
            0..=6 => {
                let mut after = enabled.clone();
                after.insert((g.to_string(), e.to_string()));
                (format!("{g}:{e}"), exact_if(known), Effect::Exact(after))
            }
            7 | 8 => (
                format!("{g}:*"),
                exact_if(has_group),
                Effect::Grows(g.to_string()),
            ),
            _ => (
                g.to_string(),
                exact_if(has_group),
                Effect::Grows(g.to_string()),
            ),
        }
    } else {
        match form {
            0..=5 => (
                format!("!{g}:{e}"),
                exact_if(known),
                Effect::Exact(without(&|(xg, xe)| !(xg == g && xe == e))),
            ),
            6 => (
                format!("!{g}:*"),
                exact_if(has_group),
                Effect::Exact(without(&|(xg, _)| xg != g)),
            ),
            7 => (
                format!("!{g}"),
                exact_if(has_group),
                Effect::Exact(without(&|(xg, _)| xg != g)),
            ),
            8 => {
                let held = enabled.iter().any(|(_, xe)| xe == e);
                (
                    format!("!*:{e}"),
                    exact_if(held),
                    Effect::Exact(without(&|(_, xe)| xe != e)),
                )
            }
            _ => (
                "!*:*".to_string(),
                exact_if(!enabled.is_empty()),
                Effect::Exact(BTreeSet::new()),
            ),
        }
    }
}

impl Worker<'_> {
    // --- the action ---------------------------------------------------------------------

    pub(super) fn act_instance(&mut self) {
        let before = self.violations;
        match self.rng.weighted(&[30, 25, 12, 8, 8, 7, 5, 5]) {
            0 => self.inst_cycle(),
            1 => self.inst_enable(),
            2 => self.inst_check(),
            3 => self.inst_tracing_on(),
            4 => self.inst_list(),
            5 => self.inst_refused(),
            6 if self.can_chdir => self.inst_cwd(),
            6 => self.inst_cycle(),
            _ => self.inst_own_busy(),
        }
        if self.violations != before {
            self.inst_resync();
        } else if self.inst.present && self.rng.chance(400) {
            // Do not keep shared events enabled for long: each makes its removal, and
            // every O_TRUNC, EBUSY for everybody.
            self.inst_settle();
        }
    }

    /// Disables everything in the instance (O_TRUNC of its `set_event`), or removes it.
    fn inst_settle(&mut self) {
        if self.rng.chance(500) {
            let rel = self.inst.file("set_event");
            if let Some(fd) = self.open(&rel, O_WRONLY | O_TRUNC, Op::Open, Outcomes::OK) {
                self.inst.enabled.clear();
                self.close(fd, &rel);
            }
            self.inst_enable_reads(&self.inst.ev("enable"), true, &['0']);
        } else {
            let ctx = self.ctx;
            let gate = ctx.read_gate();
            self.inst_rmdir(&gate);
        }
    }

    /// `stat` expecting a directory of its own (a number above `events/`'s).
    fn inst_stat_dir(&mut self, rel: &str) -> Option<u64> {
        let st = self.stat(rel, Outcomes::OK)?;
        if st.st_ino <= dirent::EVENTS_INO {
            let shown = self.full(rel);
            self.violation(
                "stat",
                format!("{shown}: inode {} is not above 16", st.st_ino),
            );
        }
        Some(st.st_ino)
    }

    /// mkdir of the own instance: must succeed, or give EEXIST if this thread left it.
    /// A new one is checked: a new inode number, its listing, nothing enabled in it.
    /// Returns whether the instance exists afterwards (as the model has it).
    pub(super) fn inst_mkdir(&mut self) -> bool {
        let rel = self.inst.dir();
        let present = self.inst.present;
        let expect = if present {
            Outcomes::errors(&[EEXIST])
        } else {
            Outcomes::OK
        };
        let what = format!("mkdir {}", self.full(&rel));
        let r = sys::mkdir(&self.path(&rel), 0o755);
        if self.check(Op::Mkdir, expect, &what, r).is_err() || present {
            return self.inst.present;
        }
        self.inst.created();
        // docs/RULES.md rule 6 and 7: found at once, with a number of its own.
        if let Some(ino) = self.inst_stat_dir(&rel) {
            if self.inst.last_ino == Some(ino) {
                self.violation(
                    "mkdir",
                    format!("{what}: the new instance has its predecessor's inode {ino}"),
                );
            }
            self.inst.last_ino = Some(ino);
            self.inst_readdir(ino);
        }
        // Every event starts disabled in a new instance; tracing_on starts at 1.
        self.inst_verify();
        for _ in 0..2 {
            let (g, e) = self.shared_event();
            let rel = self.inst.ev(&format!("{g}/{e}/enable"));
            self.inst_enable_reads(&rel, false, &['0']);
        }
        true
    }

    /// One complete pass over the instance (number `ino`): its five files and `events`
    /// (inode 16); `..` is `instances/`.
    fn inst_readdir(&mut self, ino: u64) {
        let rel = self.inst.dir();
        let parent = self.stat(INSTANCES_DIR, Outcomes::OK).map(|st| st.st_ino);
        for pass in self.readdir(&rel, DirKind::Instance, Scope::Fixed) {
            let dot = |n: &str| pass.iter().find(|d| d.name == n).map(|d| d.ino);
            let shown = self.full(&rel);
            if dot(".").is_some_and(|i| i != ino) {
                self.violation("getdents", format!("{shown}: '.' is not inode {ino}"));
            }
            if let Some(p) = parent.filter(|&p| dot("..").is_some_and(|i| i != p)) {
                self.violation("getdents", format!("{shown}: '..' is not inode {p}"));
            }
        }
    }

    /// Reads the enable file `rel` and checks that it reads one of `want`. `exact`: it
    /// exists throughout (else it may be gone: the shared outcomes).
    pub(super) fn inst_enable_reads(&mut self, rel: &str, exact: bool, want: &[char]) {
        let (open, read) = if exact {
            (Outcomes::OK, Outcomes::OK)
        } else {
            (
                expected(Op::Open, Scope::Shared),
                expected(Op::Read, Scope::Shared),
            )
        };
        let Some(bytes) = self.read_file(rel, open, read) else {
            return;
        };
        match self.validate(Op::Read, rel, &bytes) {
            Some(Content::Enable(c)) if want.contains(&c) => {}
            Some(c) => {
                let shown = self.full(rel);
                self.violation("read", format!("{shown}: {c:?}, expected one of {want:?}"));
            }
            None => {}
        }
    }

    /// Reads the instance's `set_event`: it must list exactly the model's events.
    /// Returns what it lists (None if it could not be read).
    pub(super) fn inst_set_event_listing(&mut self) -> Option<BTreeSet<(String, String)>> {
        let rel = self.inst.file("set_event");
        let text = self.read_snapshot(&rel)?;
        let what = format!("read {}", self.full(&rel));
        let names = match text::parse_event_names(&text) {
            Ok(n) => n,
            Err(e) => {
                self.violation("read", format!("{what}: {e}"));
                return None;
            }
        };
        let joined: Vec<String> = names.iter().map(|(g, e)| format!("{g}:{e}")).collect();
        for (t, c) in dirent::duplicates(joined.iter().map(String::as_str)) {
            self.violation("read", format!("{what}: {t} listed {c} times"));
        }
        Some(names.into_iter().collect())
    }

    /// Checks the instance's state against the model: `set_event`, `events/enable`,
    /// `tracing_on`, and the `enable` of (some of) its enabled events.
    fn inst_verify(&mut self) {
        if let Some(got) = self.inst_set_event_listing() {
            if got != self.inst.enabled {
                let shown = self.full(&self.inst.file("set_event"));
                let want = self.inst.listing();
                self.violation("read", format!("{shown}: lists {got:?}, expected {want:?}"));
            }
        }
        let want = self.inst.all_enable();
        self.inst_enable_reads(&self.inst.ev("enable"), true, &[want]);
        let rel = self.inst.file("tracing_on");
        if let Some(bytes) = self.read_file(&rel, Outcomes::OK, Outcomes::OK) {
            let want: &[u8] = if self.inst.tracing_on { b"1\n" } else { b"0\n" };
            if bytes != want {
                let shown = self.full(&rel);
                let got = String::from_utf8_lossy(&bytes);
                self.violation("read", format!("{shown}: {got:?}, expected {want:?}"));
            }
        }
        let enabled: Vec<(String, String)> = self.inst.enabled.iter().take(4).cloned().collect();
        for (g, e) in enabled {
            self.inst_enable_reads(&self.inst.ev(&format!("{g}/{e}/enable")), true, &['1']);
            self.inst_enable_reads(&self.inst.ev(&format!("{g}/enable")), true, &['1', 'X']);
        }
    }

    /// The whole life of an instance: mkdir, enable a shared event, rmdir refused while
    /// a file is held, maybe disable, rmdir (sometimes left for a later step).
    fn inst_cycle(&mut self) {
        if !self.inst_mkdir() {
            return;
        }
        for _ in 0..3 {
            let before = self.inst.enabled.len();
            if self.rng.chance(500) {
                self.inst_enable_file(true);
            } else {
                self.inst_set_event(true);
            }
            if self.inst.enabled.len() > before {
                break;
            }
        }
        self.inst_busy();
        match self.rng.below(5) {
            0 => {
                let rel = self.inst.ev("enable");
                if let Some(fd) = self.open(&rel, O_WRONLY, Op::Open, Outcomes::OK) {
                    if self
                        .write_value(&fd, Op::Write, Outcomes::OK, "0", &rel)
                        .is_ok()
                    {
                        self.inst.enabled.clear();
                    }
                    self.close(fd, &rel);
                }
            }
            1 => {
                let rel = self.inst.file("set_event");
                if let Some(fd) = self.open(&rel, O_WRONLY | O_TRUNC, Op::Open, Outcomes::OK) {
                    self.inst.enabled.clear();
                    self.close(fd, &rel);
                }
            }
            2 => self.inst_set_event(false),
            // Leave the events enabled: rmdir disables them.
            _ => {}
        }
        if self.rng.chance(100) {
            // Left for a later step (its mkdir then gives EEXIST).
            return;
        }
        let ctx = self.ctx;
        let gate = ctx.read_gate();
        self.inst_rmdir(&gate);
    }

    /// Holds one of the instance's files that work on its state open: rmdir is EBUSY and
    /// changes nothing.
    fn inst_busy(&mut self) {
        let ctx = self.ctx;
        let (rel, flags) = match self.rng.below(4) {
            0 | 1 => {
                let (f, flags) = *self.rng.pick(&HOLDERS);
                (self.inst.file(f), flags)
            }
            2 => (self.inst.ev("enable"), O_RDONLY),
            _ => match self.inst.enabled.iter().next().cloned() {
                Some((g, _)) if self.rng.chance(500) => {
                    (self.inst.ev(&format!("{g}/enable")), O_RDWR)
                }
                Some((g, e)) => (self.inst.ev(&format!("{g}/{e}/enable")), O_RDWR),
                None => (self.inst.ev(&format!("{PINNED_GROUP}/enable")), O_RDONLY),
            },
        };
        let fd = {
            // The pinned group exists while the gate is held.
            let _gate = ctx.read_gate();
            self.open(&rel, flags, Op::Open, Outcomes::OK)
        };
        let Some(fd) = fd else {
            return;
        };
        let dir = self.inst.dir();
        let what = format!(
            "rmdir {} while {} is open",
            self.full(&dir),
            self.full(&rel)
        );
        let r = sys::rmdir(&self.path(&dir));
        if self
            .check(Op::Rmdir, Outcomes::errors(&[EBUSY]), &what, r)
            .is_ok()
        {
            self.inst.removed();
        }
        self.close(fd, &rel);
        if self.inst.present {
            // A refused rmdir disables nothing.
            self.stat(&dir, Outcomes::OK);
            self.inst_verify();
        }
    }

    /// rmdir of the instance (no file of it open): must succeed. An `id` or `format`
    /// kept open through it does not hold it, and reads on afterwards.
    pub(super) fn inst_rmdir(&mut self, gate: &Gate) -> bool {
        let dir = self.inst.dir();
        let (k, _) = self.pinned_event();
        let file = *self.rng.pick(&["id", "format"]);
        let kept_rel = self.inst.ev(&format!("{PINNED_GROUP}/p{k}/{file}"));
        let kept = if self.rng.chance(400) {
            self.open(&kept_rel, O_RDONLY, Op::Open, Outcomes::OK)
        } else {
            None
        };
        let what = format!("rmdir {}", self.full(&dir));
        let r = sys::rmdir(&self.path(&dir));
        let ok = self.check(Op::Rmdir, Outcomes::OK, &what, r).is_ok();
        if ok {
            self.inst.removed();
            // docs/RULES.md rule 5: gone at once, with its files.
            let gone = Outcomes::errors(&[ENOENT]);
            self.stat(&dir, gone);
            let f = *self.rng.pick(&INSTANCE_FILES);
            self.open(&self.inst.file(f), O_RDONLY, Op::Open, gone);
        }
        if let Some(fd) = kept {
            let mut buf = vec![0u8; 4096];
            let what = format!("pread {} (kept through the rmdir)", self.full(&kept_rel));
            if let Ok(n) = self.check(
                Op::ReadStale,
                Outcomes::OK,
                &what,
                sys::pread(&fd, &mut buf, 0),
            ) {
                self.validate_pinned(Op::ReadStale, &kept_rel, k, &buf[..n], gate);
            }
            self.close(fd, &kept_rel);
        }
        ok
    }

    /// Enables or disables a shared event (or an own one it enabled) in the instance,
    /// through its `enable`, `set_event` or its group's `enable`; reads the state back.
    fn inst_enable(&mut self) {
        if !self.inst.present {
            if self.rng.chance(300) {
                // Its files are gone with it.
                let rel = self.inst.file(self.rng.pick(&INSTANCE_FILES));
                self.open(&rel, O_RDONLY, Op::Open, Outcomes::errors(&[ENOENT]));
                return;
            }
            if !self.inst_mkdir() {
                return;
            }
        }
        // Mostly on, as long as only a few are: each blocks the event's removal.
        let on = self.rng.chance(if self.inst.enabled.len() >= 4 {
            200
        } else {
            600
        });
        match self.rng.below(10) {
            0..=4 => self.inst_enable_file(on),
            5..=8 => self.inst_set_event(on),
            _ => self.inst_group_enable(on),
        }
    }

    /// A shared event for the instance: when disabling, mostly one it has enabled.
    fn inst_pick(&mut self, on: bool) -> (String, String) {
        if !on && !self.inst.enabled.is_empty() && self.rng.chance(800) {
            let i = self.rng.index(self.inst.enabled.len());
            if let Some(x) = self.inst.enabled.iter().nth(i) {
                return x.clone();
            }
        }
        self.shared_event()
    }

    /// `0`/`1` to the event's `enable` in the instance.
    fn inst_enable_file(&mut self, on: bool) {
        let (g, e) = self.inst_pick(on);
        let key = (g.clone(), e.clone());
        let known = self.inst.enabled.contains(&key);
        let rel = self.inst.ev(&format!("{g}/{e}/enable"));
        let exact = |op: Op| {
            if known {
                Outcomes::OK
            } else {
                expected(op, Scope::Shared)
            }
        };
        let Some(fd) = self.open(&rel, O_RDWR, Op::Open, exact(Op::Open)) else {
            return;
        };
        let value = if on { "1" } else { "0" };
        if self
            .write_value(&fd, Op::Write, exact(Op::Write), value, &rel)
            .is_ok()
        {
            // Enabled in the instance, it can no longer be removed.
            if on {
                self.inst.enabled.insert(key.clone());
            } else {
                self.inst.enabled.remove(&key);
            }
        }
        let held = self.inst.enabled.contains(&key);
        let want = if held { '1' } else { '0' };
        let read = if held {
            Outcomes::OK
        } else {
            expected(Op::Read, Scope::Shared)
        };
        let mut buf = [0u8; 16];
        let what = format!("pread {}", self.full(&rel));
        if let Ok(n) = self.check(Op::Read, read, &what, sys::pread(&fd, &mut buf, 0)) {
            match self.validate(Op::Read, &rel, &buf[..n]) {
                Some(Content::Enable(c)) if c == want => {}
                Some(c) => self.violation("read", format!("{what}: {c:?}, expected {want}")),
                None => {}
            }
        }
        self.close(fd, &rel);
    }

    /// A token to the instance's `set_event`; then its listing must be what the token
    /// did.
    fn inst_set_event(&mut self, on: bool) {
        let (g, e) = self.inst_pick(on);
        let form = self.rng.below(10);
        let (tok, expect, effect) = token(form, on, &g, &e, &self.inst.enabled);
        let end = *self.rng.pick(&["\n", "", " \n", "\t"]);
        let line = format!("{tok}{end}");
        let rel = self.inst.file("set_event");
        let Some(fd) = self.open(&rel, O_WRONLY, Op::Open, Outcomes::OK) else {
            return;
        };
        let r = self.write_value(&fd, Op::SetEvent, expect, &line, &rel);
        self.close(fd, &rel);
        let Some(got) = self.inst_set_event_listing() else {
            return;
        };
        let shown = self.full(&rel);
        let before = self.inst.enabled.clone();
        match (&effect, r.is_ok()) {
            (Effect::Exact(want), true) if got != *want => self.violation(
                "read",
                format!("{shown}: lists {got:?} after {line:?}, expected {want:?}"),
            ),
            (Effect::Grows(group), true) => {
                let extra: Vec<_> = got
                    .difference(&before)
                    .filter(|(xg, _)| xg != group)
                    .collect();
                if !before.is_subset(&got) || !extra.is_empty() {
                    self.violation(
                        "read",
                        format!("{shown}: lists {got:?} after {line:?}, which only enables {group}:* (was {before:?})"),
                    );
                }
            }
            (_, false) if got != before => self.violation(
                "read",
                format!("{shown}: lists {got:?} after a refused {line:?}, was {before:?}"),
            ),
            _ => {}
        }
        self.inst.enabled = got;
        let key = (g.clone(), e.clone());
        if self.inst.enabled.contains(&key) {
            self.inst_enable_reads(&self.inst.ev(&format!("{g}/{e}/enable")), true, &['1']);
        } else {
            self.inst_enable_reads(&self.inst.ev(&format!("{g}/{e}/enable")), false, &['0']);
        }
    }

    /// `0`/`1` to a group's `enable` in the instance.
    fn inst_group_enable(&mut self, on: bool) {
        let (g, _) = self.inst_pick(on);
        let has = self.inst.has_group(&g);
        let rel = self.inst.ev(&format!("{g}/enable"));
        let exact = |op: Op| {
            if has {
                Outcomes::OK
            } else {
                expected(op, Scope::Shared)
            }
        };
        let Some(fd) = self.open(&rel, O_RDWR, Op::Open, exact(Op::Open)) else {
            return;
        };
        let value = if on { "1" } else { "0" };
        let r = self.write_value(&fd, Op::Write, exact(Op::Write), value, &rel);
        let before = self.inst.enabled.clone();
        if let Some(got) = self.inst_set_event_listing() {
            let shown = self.full(&self.inst.file("set_event"));
            let others = |s: &BTreeSet<(String, String)>| -> BTreeSet<(String, String)> {
                s.iter().filter(|(xg, _)| *xg != g).cloned().collect()
            };
            let bad = match (r.is_ok(), on) {
                // Every event of the group that existed is on now, others unchanged.
                (true, true) => !before.is_subset(&got) || others(&got) != others(&before),
                (true, false) => got != others(&before),
                (false, _) => got != before,
            };
            if bad {
                self.violation(
                    "read",
                    format!(
                        "{shown}: lists {got:?} after {value} to {rel} ({}), was {before:?}",
                        outcome(&r)
                    ),
                );
            }
            self.inst.enabled = got;
        }
        let has = self.inst.has_group(&g);
        let want: &[char] = if has { &['1', 'X'] } else { &['0'] };
        let read = if has {
            Outcomes::OK
        } else {
            expected(Op::Read, Scope::Shared)
        };
        let mut buf = [0u8; 16];
        let what = format!("pread {}", self.full(&rel));
        if let Ok(n) = self.check(Op::Read, read, &what, sys::pread(&fd, &mut buf, 0)) {
            match self.validate(Op::Read, &rel, &buf[..n]) {
                Some(Content::Enable(c)) if want.contains(&c) => {}
                Some(c) => self.violation("read", format!("{what}: {c:?}, expected {want:?}")),
                None => {}
            }
        }
        self.close(fd, &rel);
    }

    /// Checks the instance's state, and that it and the top level do not see each
    /// other's enable states (through the thread's own events, whose top-level state
    /// the own model knows exactly and which are never left enabled in the instance).
    fn inst_check(&mut self) {
        if !self.inst.present {
            self.stat(&self.inst.dir(), Outcomes::errors(&[ENOENT]));
            return;
        }
        self.inst_verify();
        let ctx = self.ctx;
        let gate = ctx.read_gate();
        self.own.sync(&gate);
        let k = self.rng.index(OWN_EVENTS);
        let group = self.own.group.clone();
        if self.own.events[k].present {
            let rel = self.inst.ev(&format!("{group}/e{k}/enable"));
            self.inst_enable_reads(&rel, true, &['0']);
            self.inst_enable_reads(&self.inst.ev(&format!("{group}/enable")), true, &['0']);
            let want = if self.own.events[k].enabled { '1' } else { '0' };
            self.inst_enable_reads(&self.own.rel(k, 1), true, &[want]);
        }
        // The instance's events/ is the top level's tree: the same numbers and ids.
        let (p, ev) = self.pinned_event();
        let rel = self.inst.ev(&ev[EVENTS_DIR.len() + 1..]);
        if let Some(st) = self.stat(&rel, Outcomes::OK) {
            if st.st_ino != gate.pinned[p].1 {
                let shown = self.full(&rel);
                self.violation(
                    "stat",
                    format!(
                        "{shown}: inode {}, the top level's is {}",
                        st.st_ino, gate.pinned[p].1
                    ),
                );
            }
        }
        let id = format!("{rel}/id");
        if let Some(bytes) = self.read_file(&id, Outcomes::OK, Outcomes::OK) {
            self.validate_pinned(Op::Read, &id, p, &bytes, &gate);
        }
        let ino = self
            .stat(&self.inst.dir(), Outcomes::OK)
            .map(|st| st.st_ino);
        let events = self.inst.ev("");
        for pass in self.readdir(&events, DirKind::InstanceEvents, Scope::Fixed) {
            let shown = self.full(&events);
            let n = dirent::count(&pass, PINNED_GROUP);
            if n != 1 {
                self.violation(
                    "getdents",
                    format!("{shown}: '{PINNED_GROUP}' appears {n} times"),
                );
            }
            let up = pass.iter().find(|d| d.name == "..").map(|d| d.ino);
            if let (Some(up), Some(ino)) = (up, ino) {
                if up != ino {
                    self.violation(
                        "getdents",
                        format!("{shown}: '..' is inode {up}, not {ino}"),
                    );
                }
            }
        }
        drop(gate);
        self.inst_top_tracing_on();
    }

    /// The top level's `tracing_on` (nobody writes it during a run) reads what it read
    /// at the start.
    fn inst_top_tracing_on(&mut self) {
        let Some(want) = self.ctx.top_tracing_on.clone() else {
            return;
        };
        if let Some(got) = self.read_file("tracing_on", Outcomes::OK, Outcomes::OK) {
            if got != want.as_bytes() {
                let got = String::from_utf8_lossy(&got);
                self.violation(
                    "read",
                    format!(
                        "{}: {got:?}, expected {want:?} (instances have their own)",
                        self.full("tracing_on")
                    ),
                );
            }
        }
    }

    /// Writes the instance's `tracing_on` and reads it back; the top level's does not
    /// change.
    fn inst_tracing_on(&mut self) {
        let rel = self.inst.file("tracing_on");
        if !self.inst.present {
            self.open(&rel, O_RDWR, Op::Open, Outcomes::errors(&[ENOENT]));
            return;
        }
        let Some(fd) = self.open(&rel, O_RDWR, Op::Open, Outcomes::OK) else {
            return;
        };
        let value = *self.rng.pick(&TRACING_ON_VALUES);
        if self
            .write_value(&fd, Op::Write, Outcomes::OK, value, &rel)
            .is_ok()
        {
            self.inst.tracing_on = value.trim_end().bytes().any(|c| c != b'0');
        }
        let want: &[u8] = if self.inst.tracing_on { b"1\n" } else { b"0\n" };
        let mut buf = [0u8; 16];
        let what = format!("pread {}", self.full(&rel));
        if let Ok(n) = self.check(Op::Read, Outcomes::OK, &what, sys::pread(&fd, &mut buf, 0)) {
            if &buf[..n] != want {
                let got = String::from_utf8_lossy(&buf[..n]);
                self.violation("read", format!("{what}: {got:?}, expected {want:?}"));
            }
        }
        self.close(fd, &rel);
        self.inst_top_tracing_on();
    }

    /// One complete pass over `instances/`: only the threads' instances (and those that
    /// were there before the run), this thread's exactly when it has one.
    fn inst_list(&mut self) {
        let threads = self.ctx.threads;
        for pass in self.readdir(INSTANCES_DIR, DirKind::Instances, Scope::Fixed) {
            let shown = self.full(INSTANCES_DIR);
            for name in dirent::subdirs(&pass) {
                if !thread_instance(name, threads) && !self.ctx.foreign_instances.contains(name) {
                    self.violation("getdents", format!("{shown}: unknown instance '{name}'"));
                }
            }
            let n = dirent::count(&pass, &self.inst.name);
            if n != usize::from(self.inst.present) {
                let name = self.inst.name.clone();
                let present = self.inst.present;
                self.violation(
                    "getdents",
                    format!("{shown}: '{name}' appears {n} times (present: {present})"),
                );
            }
        }
    }

    /// The refused operations: mkdir with a bad name, outside `instances/` or of an
    /// existing name; rmdir of what is not an instance, or of a missing one; a tracer
    /// the instance does not have; a `set_event` token that selects nothing.
    fn inst_refused(&mut self) {
        let ctx = self.ctx;
        let _gate = ctx.read_gate();
        let present = self.inst.present;
        let (eperm, eexist, einval) = (
            Outcomes::errors(&[libc::EPERM]),
            Outcomes::errors(&[EEXIST]),
            Outcomes::errors(&[EINVAL]),
        );
        let mkdir = |w: &mut Self, rel: String, expect: Outcomes| {
            let what = format!("mkdir {:?}", w.full(&rel));
            let r = sys::mkdir(&w.path(&rel), 0o755);
            let _ = w.check(Op::Mkdir, expect, &what, r);
        };
        let rmdir = |w: &mut Self, rel: String, expect: Outcomes| {
            let what = format!("rmdir {}", w.full(&rel));
            let r = sys::rmdir(&w.path(&rel));
            let _ = w.check(Op::Rmdir, expect, &what, r);
        };
        match self.rng.below(7) {
            0 => {
                let name = *self.rng.pick(&BAD_NAMES);
                mkdir(self, format!("{INSTANCES_DIR}/{name}"), einval);
            }
            1 => {
                let rel = match self.rng.below(6) {
                    0 => "nx".to_string(),
                    1 => format!("{EVENTS_DIR}/nx"),
                    2 => format!("{PINNED_DIR}/nx"),
                    3 => format!("{PINNED_DIR}/p0/nx"),
                    4 if present => self.inst.file("nx"),
                    _ if present => self.inst.ev("nx"),
                    _ => format!("{EVENTS_DIR}/nx"),
                };
                mkdir(self, rel, eperm);
            }
            2 => {
                let rel = match self.rng.below(4) {
                    0 => EVENTS_DIR.to_string(),
                    1 => INSTANCES_DIR.to_string(),
                    2 => self.root_file().to_string(),
                    _ => PINNED_DIR.to_string(),
                };
                mkdir(self, rel, eexist);
            }
            3 => {
                let rel = match self.rng.below(5) {
                    0 => EVENTS_DIR.to_string(),
                    1 => INSTANCES_DIR.to_string(),
                    2 => PINNED_DIR.to_string(),
                    3 => format!("{PINNED_DIR}/p0"),
                    _ if present => self.inst.ev(""),
                    _ => EVENTS_DIR.to_string(),
                };
                rmdir(self, rel, expected(Op::Rmdir, Scope::Fixed));
            }
            4 => {
                if present || self.rng.chance(500) {
                    rmdir(
                        self,
                        format!("{INSTANCES_DIR}/nx"),
                        expected(Op::Rmdir, Scope::Missing),
                    );
                } else {
                    rmdir(self, self.inst.dir(), Outcomes::errors(&[ENOENT]));
                }
            }
            5 if present => {
                let rel = self.inst.file("current_tracer");
                if let Some(fd) = self.open(&rel, O_WRONLY, Op::Open, Outcomes::OK) {
                    let bad = expected(Op::WriteBad, Scope::Fixed);
                    let _ = self.write_value(&fd, Op::WriteBad, bad, "function", &rel);
                    let _ = self.write_value(&fd, Op::Write, Outcomes::OK, "nop\n", &rel);
                    self.close(fd, &rel);
                }
            }
            _ if present => {
                // Selects nothing: refused, and nothing changes.
                let rel = self.inst.file("set_event");
                let tok = *self
                    .rng
                    .pick(&["nx:nx\n", "!nx:nx", "nx\n", "pinned:nx", ":nx"]);
                if let Some(fd) = self.open(&rel, O_WRONLY, Op::Open, Outcomes::OK) {
                    let missing = expected(Op::SetEvent, Scope::Missing);
                    let _ = self.write_value(&fd, Op::SetEvent, missing, tok, &rel);
                    self.close(fd, &rel);
                }
                if let Some(got) = self.inst_set_event_listing() {
                    if got != self.inst.enabled {
                        let shown = self.full(&rel);
                        let want = self.inst.listing();
                        self.violation(
                            "read",
                            format!(
                                "{shown}: lists {got:?} after a refused {tok:?}, expected {want:?}"
                            ),
                        );
                    }
                }
            }
            _ => {
                mkdir(self, format!("{INSTANCES_DIR}/{}", BAD_NAMES[0]), einval);
            }
        }
    }

    /// Works inside the instance (its directory, its `events/` or the pinned group
    /// there), removes it from outside, and looks around again: the `events/` tree lives
    /// on, but a file that works on the removed instance's state cannot be opened any
    /// more (ENODEV), and the instance's own directory is empty (ENOENT).
    fn inst_cwd(&mut self) {
        if !self.inst_mkdir() {
            return;
        }
        let ctx = self.ctx;
        let gate = ctx.read_gate();
        // 0: the instance, 1: its events/, 2: its events/pinned.
        let place = self.rng.below(3);
        let rel = match place {
            0 => self.inst.dir(),
            1 => self.inst.ev(""),
            _ => self.inst.ev(PINNED_GROUP),
        };
        let what = format!("chdir {}", self.full(&rel));
        let r = sys::chdir(&self.path(&rel));
        if self.check(Op::Chdir, Outcomes::OK, &what, r).is_err() {
            return;
        }
        // The file that works on the instance's state, and the id of a pinned event.
        let (state_file, want): (&str, Vec<u8>) = match place {
            0 => (
                "tracing_on",
                if self.inst.tracing_on {
                    b"1\n".to_vec()
                } else {
                    b"0\n".to_vec()
                },
            ),
            1 => (
                "enable",
                format!("{}\n", self.inst.all_enable()).into_bytes(),
            ),
            _ => ("enable", b"0\n".to_vec()),
        };
        let id_rel = match place {
            0 => format!("{EVENTS_DIR}/{PINNED_GROUP}/p0/id"),
            1 => format!("{PINNED_GROUP}/p0/id"),
            _ => "p0/id".to_string(),
        };
        self.cwd_read(state_file, Outcomes::OK, Some(&want));
        let remove = self.rng.chance(700);
        if remove {
            // No file of it is open: rmdir works from outside.
            let dir = self.inst.dir();
            let what = format!("rmdir {} (the cwd is inside it)", self.full(&dir));
            let r = sys::rmdir(&self.path(&dir));
            if self.check(Op::Rmdir, Outcomes::OK, &what, r).is_ok() {
                self.inst.removed();
            }
        }
        let gone = !self.inst.present;
        let kind = match place {
            0 => DirKind::Instance,
            1 => DirKind::InstanceEvents,
            _ => DirKind::Group,
        };
        if gone && place == 0 {
            // The removed instance itself: nothing in it any more.
            self.stat_relative(state_file, Outcomes::errors(&[ENOENT]));
            self.cwd_read(state_file, Outcomes::errors(&[ENOENT]), None);
            self.cwd_pass_of(kind, false);
        } else {
            // Below its events/, the tree lives on: names are found and passes are
            // complete, but the state's file cannot be opened once the instance is gone.
            self.stat_relative(state_file, Outcomes::OK);
            let open = if gone {
                Outcomes::errors(&[ENODEV])
            } else {
                Outcomes::OK
            };
            self.cwd_read(state_file, open, Some(&want));
            self.cwd_pass_of(kind, true);
        }
        if place != 0 || !gone {
            // id does not work on the instance: it opens, and is the pinned event's.
            let id = format!("{}\n", gate.pinned[0].0).into_bytes();
            self.cwd_read(&id_rel, Outcomes::OK, Some(&id));
        }
        self.chdir_back();
    }

    /// Opens `rel` relative to the working directory and reads it whole: `want` if
    /// given.
    fn cwd_read(&mut self, rel: &str, open: Outcomes, want: Option<&[u8]>) {
        let what = format!("open ./{rel} (cwd)");
        let r = sys::open(&cpath(rel), O_RDONLY);
        let Ok(fd) = self.check(Op::OpenCwd, open, &what, r) else {
            return;
        };
        let mut buf = vec![0u8; 4096];
        let what = format!("read ./{rel} (cwd)");
        if let Ok(n) = self.check(Op::Read, Outcomes::OK, &what, sys::pread(&fd, &mut buf, 0)) {
            if let Some(want) = want.filter(|w| buf[..n] != **w) {
                let got = String::from_utf8_lossy(&buf[..n]);
                let want = String::from_utf8_lossy(want);
                self.violation("read", format!("{what}: {got:?}, expected {want:?}"));
            }
        }
        self.close(fd, rel);
    }

    /// A pass over the working directory, a directory of `kind`.
    fn cwd_pass_of(&mut self, kind: DirKind, alive: bool) {
        let scope = if alive { Scope::Fixed } else { Scope::Shared };
        let what = "open . (cwd)";
        let r = sys::open(c".", O_RDONLY | O_DIRECTORY);
        let Ok(fd) = self.check(Op::OpenCwd, expected(Op::OpenCwd, scope), what, r) else {
            return;
        };
        let what = "getdents . (cwd)";
        if let Some(d) = self.dir_pass(&fd, scope, what) {
            self.check_pass(&d, kind, alive, what);
        }
        self.close(fd, ".");
    }

    /// An own event enabled in the instance: its removal is EBUSY although the top
    /// level has it disabled; once disabled in the instance, or the instance removed,
    /// it can go (rmdir disables what was enabled in it).
    fn inst_own_busy(&mut self) {
        let ctx = self.ctx;
        let gate = ctx.read_gate();
        self.own.sync(&gate);
        let before = self.violations;
        self.inst_own_busy_steps(&gate);
        if self.violations != before {
            // The own event may still be enabled in the instance: remove the instance
            // first, then the own events.
            self.inst_resync();
            self.own_resync();
        }
    }

    fn inst_own_busy_steps(&mut self, gate: &Gate) {
        let k = self.rng.index(OWN_EVENTS);
        if !self.own.events[k].present {
            self.own_create(k);
        }
        let (present, enabled) = (self.own.events[k].present, self.own.events[k].enabled);
        if !present || enabled || !self.inst_mkdir() {
            return;
        }
        let group = self.own.group.clone();
        let rel = self.inst.ev(&format!("{group}/e{k}/enable"));
        let set_event = self.inst.file("set_event");
        let write = |w: &mut Self, file: &str, op: Op, value: &str| -> SysResult<()> {
            let fd = w
                .open(file, O_WRONLY, Op::Open, Outcomes::OK)
                .ok_or(Errno(libc::EIO))?;
            let r = w.write_value(&fd, op, Outcomes::OK, value, file);
            w.close(fd, file);
            r
        };
        let on = if self.rng.chance(500) {
            write(self, &rel, Op::Write, "1")
        } else {
            write(self, &set_event, Op::SetEvent, &format!("{group}:e{k}\n"))
        };
        if on.is_ok() {
            self.inst_enable_reads(&rel, true, &['1']);
            // The top level's state is its own.
            self.inst_enable_reads(&self.own.rel(k, 1), true, &['0']);
            let line = text::remove_line(&group, &format!("e{k}"));
            let _ = self.write_dyn(Op::Remove, Outcomes::errors(&[EBUSY]), &line);
            let off = match self.rng.below(3) {
                0 => write(self, &rel, Op::Write, "0").is_ok(),
                1 => write(self, &set_event, Op::SetEvent, &format!("!{group}:e{k}")).is_ok(),
                _ => self.inst_rmdir(gate),
            };
            if off && self.rng.chance(600) {
                // Nothing holds it any more.
                self.own_remove(k);
            }
        }
    }

    /// After a violation the model may be wrong: disable everything in the instance and
    /// remove it (best effort, unchecked); what is left is what the model has.
    pub(super) fn inst_resync(&mut self) {
        let mnt = self.ctx.mnt.clone();
        let dir = format!("{mnt}/{}", self.inst.dir());
        let set_event = format!("{dir}/set_event");
        drop(sys::open(&cpath(&set_event), O_WRONLY | O_TRUNC));
        let _ = sys::rmdir(&cpath(&dir));
        self.inst.removed();
        if sys::stat(&cpath(&dir)).is_ok() {
            // Could not remove it: present, with what it says.
            self.inst.present = true;
            if let Ok(text) = registry::read_whole(&mnt, &self.inst.file("set_event")) {
                if let Ok(names) = text::parse_event_names(&text) {
                    self.inst.enabled = names.into_iter().collect();
                }
            }
            let on = sys::read_file(&format!("{dir}/tracing_on"), 64);
            self.inst.tracing_on = on.map_or(true, |b| b != b"0\n");
        }
    }

    /// At the end of the run: the instance goes (the teardown then removes every event).
    pub(super) fn inst_finish(&mut self) {
        if !self.inst.present {
            return;
        }
        let ctx = self.ctx;
        let gate = ctx.read_gate();
        if !self.inst_rmdir(&gate) {
            drop(gate);
            self.inst_resync();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
        items
            .iter()
            .map(|(g, e)| (g.to_string(), e.to_string()))
            .collect()
    }

    #[test]
    fn inst_model() {
        let mut i = Inst::new("s3".into());
        assert_eq!(i.dir(), "instances/s3");
        assert_eq!(i.file("tracing_on"), "instances/s3/tracing_on");
        assert_eq!(i.ev(""), "instances/s3/events");
        assert_eq!(i.ev("g0/e1/enable"), "instances/s3/events/g0/e1/enable");
        i.created();
        assert!(i.present && i.tracing_on && i.all_enable() == '0');
        i.enabled = set(&[("g1", "e2"), ("g0", "e5")]);
        assert_eq!(i.all_enable(), 'X');
        assert!(i.has_group("g1") && !i.has_group("g2"));
        assert_eq!(
            i.listing().into_iter().collect::<Vec<_>>(),
            ["g0:e5", "g1:e2"]
        );
        i.tracing_on = false;
        i.removed();
        assert!(!i.present && i.enabled.is_empty() && i.tracing_on);
        for ok in ["s0", "s3", "s63"] {
            assert!(thread_instance(ok, 64), "{ok}");
        }
        for bad in ["s", "s4", "s04", "t0", "s-1", "x0", "s00"] {
            assert!(!thread_instance(bad, 4), "{bad}");
        }
        for name in BAD_NAMES {
            assert!(!dirent::valid_instance_name(name), "{name:?}");
        }
    }

    #[test]
    fn tokens() {
        let s = set(&[("g1", "e2"), ("g1", "e3"), ("g0", "e2")]);
        let shared = expected(Op::SetEvent, Scope::Shared);
        // Enabling one: exact when already on, else shared; never a wildcard that could
        // select another thread's own events or the pinned ones.
        let (t, x, eff) = token(0, true, "g1", "e2", &s);
        assert_eq!((t.as_str(), x), ("g1:e2", Outcomes::OK));
        assert_eq!(eff, Effect::Exact(s.clone()));
        let (t, x, eff) = token(3, true, "g2", "e9", &s);
        assert_eq!((t.as_str(), x), ("g2:e9", shared));
        let mut grown = s.clone();
        grown.insert(("g2".into(), "e9".into()));
        assert_eq!(eff, Effect::Exact(grown));
        for form in 0..10 {
            let (t, ..) = token(form, true, "g2", "e9", &s);
            assert!(t.starts_with("g2"), "{t}");
        }
        let (t, x, eff) = token(7, true, "g1", "e9", &s);
        assert_eq!(
            (t.as_str(), x, eff),
            ("g1:*", Outcomes::OK, Effect::Grows("g1".into()))
        );
        let (t, x, _) = token(9, true, "g3", "e9", &s);
        assert_eq!((t.as_str(), x), ("g3", shared));
        // Disabling.
        let (t, x, eff) = token(0, false, "g1", "e3", &s);
        assert_eq!((t.as_str(), x), ("!g1:e3", Outcomes::OK));
        assert_eq!(eff, Effect::Exact(set(&[("g1", "e2"), ("g0", "e2")])));
        let (t, x, eff) = token(2, false, "g3", "e3", &s);
        assert_eq!(
            (t.as_str(), x, eff),
            ("!g3:e3", shared, Effect::Exact(s.clone()))
        );
        let (t, x, eff) = token(6, false, "g1", "e0", &s);
        assert_eq!((t.as_str(), x), ("!g1:*", Outcomes::OK));
        assert_eq!(eff, Effect::Exact(set(&[("g0", "e2")])));
        let (t, _, eff) = token(7, false, "g0", "e0", &s);
        assert_eq!(t, "!g0");
        assert_eq!(eff, Effect::Exact(set(&[("g1", "e2"), ("g1", "e3")])));
        let (t, x, eff) = token(8, false, "g3", "e2", &s);
        assert_eq!((t.as_str(), x), ("!*:e2", Outcomes::OK));
        assert_eq!(eff, Effect::Exact(set(&[("g1", "e3")])));
        let (t, x, eff) = token(9, false, "g3", "e2", &s);
        assert_eq!(
            (t.as_str(), x, eff),
            ("!*:*", Outcomes::OK, Effect::Exact(BTreeSet::new()))
        );
        let (_, x, _) = token(9, false, "g3", "e2", &BTreeSet::new());
        assert_eq!(x, shared);
    }
}
