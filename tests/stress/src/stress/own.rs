//! A worker's own events (`tN/e0..e7`): the model, and the actions that check every
//! outcome against it, including those in a working directory inside an own event.

use super::*;

/// A thread's model of one of its own events.
#[derive(Clone, Debug, Default)]
pub(super) struct OwnEvent {
    pub(super) present: bool,
    pub(super) enabled: bool,
    /// Whether this incarnation was ever enabled by us: then the kernel never gives its id
    /// to another event (it reuses the ids of events never enabled).
    pub(super) ever_enabled: bool,
    /// Bumped on every removal: a descriptor opened in an older incarnation is stale.
    pub(super) incarnation: u64,
    /// The declared fields (empty when unknown, after a resync).
    pub(super) fields: Vec<Field>,
    /// The id, once read.
    pub(super) id: Option<u64>,
    /// Modes set by chmod, per entry of [`OWN_ENTRIES`].
    pub(super) modes: [Option<u32>; 4],
    /// Owners set by chown since the last remount, per entry.
    pub(super) owners: [Option<(u32, u32)>; 4],
}

impl OwnEvent {
    pub(super) fn created(&mut self, fields: Vec<Field>) {
        self.present = true;
        self.enabled = false;
        self.ever_enabled = false;
        self.fields = fields;
        self.id = None;
        self.modes = [None; 4];
        self.owners = [None; 4];
    }

    pub(super) fn removed(&mut self) {
        self.present = false;
        self.enabled = false;
        self.incarnation += 1;
        self.fields.clear();
        self.id = None;
    }
}

/// A thread's model of its own group `tN`: only that thread creates, removes, enables
/// or chmods/chowns these events, so it knows the exact outcome of every operation on
/// them, except for what the gate's exclusive holders did (see [`Own::sync`]).
#[derive(Clone, Debug)]
pub(super) struct Own {
    pub(super) group: String,
    pub(super) generation: u64,
    pub(super) enable_epoch: u64,
    pub(super) remount_epoch: u64,
    pub(super) default_owner: (u32, u32),
    pub(super) events: Vec<OwnEvent>,
}

impl Own {
    pub(super) fn new(group: String) -> Own {
        Own {
            group,
            generation: 0,
            enable_epoch: 0,
            remount_epoch: 0,
            default_owner: (0, 0),
            events: vec![OwnEvent::default(); OWN_EVENTS],
        }
    }

    /// Applies what happened since the last look at the gate: an O_TRUNC removed every
    /// event, a root disable disabled them, a remount voided the chowns.
    pub(super) fn sync(&mut self, gate: &Gate) {
        if gate.generation != self.generation {
            self.generation = gate.generation;
            for e in self.events.iter_mut().filter(|e| e.present) {
                e.removed();
            }
        }
        if gate.enable_epoch != self.enable_epoch {
            self.enable_epoch = gate.enable_epoch;
            for e in &mut self.events {
                e.enabled = false;
            }
        }
        if gate.remount_epoch != self.remount_epoch {
            self.remount_epoch = gate.remount_epoch;
            for e in &mut self.events {
                e.owners = [None; 4];
            }
        }
        self.default_owner = gate.default_owner;
    }

    pub(super) fn any_present(&self) -> bool {
        self.events.iter().any(|e| e.present)
    }

    /// The path (relative to the mount) of the group's directory.
    pub(super) fn dir(&self) -> String {
        group_dir(&self.group)
    }

    /// The path (relative to the mount) of entry `entry` of event `k`.
    pub(super) fn rel(&self, k: usize, entry: usize) -> String {
        match OWN_ENTRIES[entry] {
            "" => format!("{}/e{k}", self.dir()),
            f => format!("{}/e{k}/{f}", self.dir()),
        }
    }

    /// The mode bits and owner entry `entry` of event `k` must have.
    pub(super) fn expected_attrs(&self, k: usize, entry: usize) -> (u32, u32, u32) {
        let e = &self.events[k];
        let mode = e.modes[entry].unwrap_or(OWN_DEFAULT_MODES[entry]);
        let (uid, gid) = e.owners[entry].unwrap_or(self.default_owner);
        (mode, uid, gid)
    }

    /// The listing lines of the present events (None if some fields are unknown).
    pub(super) fn listing(&self) -> Option<BTreeSet<String>> {
        let mut lines = BTreeSet::new();
        for (k, e) in self.events.iter().enumerate().filter(|(_, e)| e.present) {
            if e.fields.is_empty() {
                return None;
            }
            lines.insert(text::create_line(&self.group, &format!("e{k}"), &e.fields));
        }
        Some(lines)
    }
}

impl Worker<'_> {
    // --- own events ------------------------------------------------------------------

    pub(super) fn act_own(&mut self) {
        let ctx = self.ctx;
        let gate = ctx.read_gate();
        self.own.sync(&gate);
        let before = self.violations;
        let k = self.rng.index(OWN_EVENTS);
        match self.rng.weighted(&[25, 20, 15, 15, 10, 10, 5]) {
            0 => self.own_create(k),
            1 => self.own_remove(k),
            2 => self.own_enable(k),
            3 => self.own_read(k),
            4 => self.own_readdir(),
            5 => {
                if self.own.events[k].present {
                    for entry in 0..OWN_ENTRIES.len() {
                        self.own_verify_attrs(k, entry);
                    }
                }
            }
            _ => self.own_group_enable(),
        }
        if self.violations != before {
            self.own_resync();
        }
    }

    pub(super) fn own_create(&mut self, k: usize) {
        let fields = text::random_fields(&mut self.rng);
        let group = self.own.group.clone();
        let line = text::create_line(&group, &format!("e{k}"), &fields);
        let expect = if self.own.events[k].present {
            Outcomes::errors(&[EEXIST])
        } else {
            Outcomes::OK
        };
        if self.write_dyn(Op::Create, expect, &line).is_ok() && expect == Outcomes::OK {
            self.own.events[k].created(fields);
            // docs/RULES.md rule 6: a created event is found at once, and a new incarnation has the
            // default attributes.
            self.stat(&self.own.rel(k, 3), Outcomes::OK);
            self.own_verify_attrs(k, 0);
        }
    }

    pub(super) fn own_remove(&mut self, k: usize) {
        let group = self.own.group.clone();
        let line = text::remove_line(&group, &format!("e{k}"));
        let e = &self.own.events[k];
        let expect = if !e.present {
            Outcomes::errors(&[ENOENT])
        } else if e.enabled {
            Outcomes::errors(&[EBUSY])
        } else {
            Outcomes::OK
        };
        if self.write_dyn(Op::Remove, expect, &line).is_ok() && expect == Outcomes::OK {
            self.own.events[k].removed();
            // docs/RULES.md rule 5: its dentries are invalid at once; the group goes with its last
            // event.
            let gone = Outcomes::errors(&[ENOENT]);
            self.stat(&self.own.rel(k, 0), gone);
            self.stat(&self.own.rel(k, 1), gone);
            let group_expect = if self.own.any_present() {
                Outcomes::OK
            } else {
                gone
            };
            self.stat(&self.own.dir(), group_expect);
        }
    }

    fn own_enable(&mut self, k: usize) {
        let rel = self.own.rel(k, 1);
        // Through the event's `enable`, or through `set_event` (`tN:eK`, `!tN:eK`).
        let set_event = self.rng.chance(300);
        let on = self.rng.chance(400);
        let token = format!("{}{}:e{k}\n", if on { "" } else { "!" }, self.own.group);
        if !self.own.events[k].present {
            if set_event {
                // A token that selects nothing is refused.
                let expect = Outcomes::errors(&[EINVAL]);
                if let Some(fd) = self.open("set_event", O_WRONLY, Op::Open, Outcomes::OK) {
                    let _ = self.write_value(&fd, Op::SetEvent, expect, &token, "set_event");
                    self.close(fd, "set_event");
                }
            } else {
                self.open(&rel, O_RDWR, Op::Open, Outcomes::errors(&[ENOENT]));
            }
            return;
        }
        let Some(fd) = self.open(&rel, O_RDWR, Op::Open, Outcomes::OK) else {
            return;
        };
        let written = if set_event {
            match self.open("set_event", O_WRONLY, Op::Open, Outcomes::OK) {
                Some(sfd) => {
                    let r = self.write_value(&sfd, Op::SetEvent, Outcomes::OK, &token, "set_event");
                    self.close(sfd, "set_event");
                    r
                }
                None => Err(Errno(libc::EIO)),
            }
        } else {
            let value = if on { "1" } else { "0" };
            self.write_value(&fd, Op::Write, Outcomes::OK, value, &rel)
        };
        if written.is_ok() {
            self.own.events[k].enabled = on;
            if on {
                self.kept_id(k);
            }
        }
        let mut buf = [0u8; 16];
        let what = format!("pread {}", self.full(&rel));
        if let Ok(n) = self.check(Op::Read, Outcomes::OK, &what, sys::pread(&fd, &mut buf, 0)) {
            let want = if self.own.events[k].enabled { '1' } else { '0' };
            match self.validate(Op::Read, &rel, &buf[..n]) {
                Some(Content::Enable(c)) if c == want => {}
                Some(c) => self.violation("read", format!("{what}: {c:?}, expected {want}")),
                None => {}
            }
        }
        self.close(fd, &rel);
    }

    fn own_group_enable(&mut self) {
        let rel = format!("{}/enable", self.own.dir());
        if !self.own.any_present() {
            self.open(&rel, O_RDWR, Op::Open, Outcomes::errors(&[ENOENT]));
            return;
        }
        let Some(fd) = self.open(&rel, O_RDWR, Op::Open, Outcomes::OK) else {
            return;
        };
        if self.rng.chance(500) {
            let on = self.rng.chance(300);
            let value = if on { "1" } else { "0" };
            if self
                .write_value(&fd, Op::Write, Outcomes::OK, value, &rel)
                .is_ok()
            {
                for e in self.own.events.iter_mut().filter(|e| e.present) {
                    e.enabled = on;
                }
                if on {
                    for k in 0..self.own.events.len() {
                        if self.own.events[k].present {
                            self.kept_id(k);
                        }
                    }
                }
            }
        }
        let present = self.own.events.iter().filter(|e| e.present);
        let on = present.clone().filter(|e| e.enabled).count();
        let want = match (on, present.count() - on) {
            (0, _) => '0',
            (_, 0) => '1',
            _ => 'X',
        };
        let mut buf = [0u8; 16];
        let what = format!("pread {}", self.full(&rel));
        if let Ok(n) = self.check(Op::Read, Outcomes::OK, &what, sys::pread(&fd, &mut buf, 0)) {
            match self.validate(Op::Read, &rel, &buf[..n]) {
                Some(Content::Enable(c)) if c == want => {}
                Some(c) => self.violation("read", format!("{what}: {c:?}, expected {want}")),
                None => {}
            }
        }
        self.close(fd, &rel);
    }

    /// Own event `k` was enabled: its id must never go to another event.
    fn kept_id(&mut self, k: usize) {
        let e = &mut self.own.events[k];
        e.ever_enabled = true;
        let identity = format!("{}/e{k}#{}", self.own.group, e.incarnation);
        if let Some(id) = e.id {
            if let Some(prev) = self.ctx.register_id(id, &identity, true) {
                self.violation("enable", format!("id {id} of {identity} was also {prev}'s"));
            }
        }
    }

    fn own_read(&mut self, k: usize) {
        let group = self.own.group.clone();
        if !self.own.events[k].present {
            let rel = self.own.rel(k, 1 + self.rng.index(3));
            self.open(&rel, O_RDONLY, Op::Open, Outcomes::errors(&[ENOENT]));
            return;
        }
        let e = &self.own.events[k];
        let mut id = e.id;
        let enabled = e.enabled;
        let identity = format!("{group}/e{k}#{}", e.incarnation);
        let decls: Vec<String> = e.fields.iter().map(Field::decl).collect();
        for entry in 1..OWN_ENTRIES.len() {
            let rel = self.own.rel(k, entry);
            let Some(bytes) = self.read_file(&rel, Outcomes::OK, Outcomes::OK) else {
                continue;
            };
            let shown = self.full(&rel);
            match self.validate(Op::Read, &rel, &bytes) {
                Some(Content::Enable(c)) => {
                    let want = if enabled { '1' } else { '0' };
                    if c != want {
                        self.violation("read", format!("{shown}: {c}, expected {want}"));
                    }
                }
                Some(Content::Id(got)) => match id {
                    Some(want) if want != got => {
                        self.violation("read", format!("{shown}: id changed from {want} to {got}"));
                    }
                    Some(_) => {}
                    None => {
                        id = Some(got);
                        let kept = self.own.events[k].ever_enabled;
                        if let Some(prev) = self.ctx.register_id(got, &identity, kept) {
                            self.violation(
                                "read",
                                format!("id {got} of {identity} was already used by {prev}"),
                            );
                        }
                    }
                },
                Some(Content::Format(f)) => {
                    if !decls.is_empty() && f.decls != decls {
                        self.violation(
                            "read",
                            format!("{shown}: fields {:?}, expected {decls:?}", f.decls),
                        );
                    }
                    if id.is_some_and(|id| id != f.id) {
                        self.violation("read", format!("{shown}: ID {}, expected {id:?}", f.id));
                    }
                }
                None => {}
            }
        }
        self.own.events[k].id = id;
    }

    fn own_readdir(&mut self) {
        let group = self.own.dir();
        if !self.own.any_present() {
            self.open(
                &group,
                O_RDONLY | O_DIRECTORY,
                Op::OpenDir,
                Outcomes::errors(&[ENOENT]),
            );
            return;
        }
        let want: BTreeSet<String> = (0..OWN_EVENTS)
            .filter(|&k| self.own.events[k].present)
            .map(|k| format!("e{k}"))
            .collect();
        for pass in self.readdir(&group, DirKind::Group, Scope::Fixed) {
            let got: BTreeSet<String> = dirent::subdirs(&pass)
                .into_iter()
                .map(String::from)
                .collect();
            if got != want {
                let shown = self.full(&group);
                self.violation("getdents", format!("{shown}: {got:?}, expected {want:?}"));
            }
        }
    }

    /// docs/RULES.md rule 8: an own entry has exactly the mode and owner the model says.
    pub(super) fn own_verify_attrs(&mut self, k: usize, entry: usize) {
        let rel = self.own.rel(k, entry);
        let Some(st) = self.stat(&rel, Outcomes::OK) else {
            return;
        };
        let (mode, uid, gid) = self.own.expected_attrs(k, entry);
        let got = (st.st_mode & 0o7777, st.st_uid, st.st_gid);
        if got != (mode, uid, gid) {
            let shown = self.full(&rel);
            self.violation(
                "stat",
                format!(
                    "{shown}: mode {:o} owner {}:{}, expected mode {mode:o} owner {uid}:{gid} (docs/RULES.md rule 8)",
                    got.0, got.1, got.2
                ),
            );
        }
    }

    /// After a violation the model may be wrong: remove every own event (best effort,
    /// unchecked) and start over from "all absent".
    pub(super) fn own_resync(&mut self) {
        let mnt = self.ctx.mnt.clone();
        let group = self.own.group.clone();
        let dir = self.own.dir();
        let _ = sys::write_file(&format!("{mnt}/{dir}/enable"), "0");
        for k in 0..OWN_EVENTS {
            let line = text::remove_line(&group, &format!("e{k}"));
            let _ = sys::write_file(&format!("{mnt}/dynamic_events"), &line);
            let e = &mut self.own.events[k];
            e.removed();
            e.modes = [None; 4];
            e.owners = [None; 4];
            if sys::stat(&cpath(&format!("{mnt}/{dir}/e{k}"))).is_ok() {
                // Could not remove it: present, with unknown fields.
                e.present = true;
            }
        }
    }

    // --- working directory -----------------------------------------------------------

    pub(super) fn act_chdir(&mut self) {
        if self.rng.chance(400) {
            let (g, e) = self.shared_event();
            let rel = format!("{}/{e}", group_dir(&g));
            let what = format!("chdir {}", self.full(&rel));
            let r = sys::chdir(&self.path(&rel));
            if self
                .check(Op::Chdir, expected(Op::Chdir, Scope::Shared), &what, r)
                .is_ok()
            {
                self.cwd_pass(false);
                self.chdir_back();
            }
            return;
        }
        let ctx = self.ctx;
        let gate = ctx.read_gate();
        self.own.sync(&gate);
        let before = self.violations;
        let k = self.rng.index(OWN_EVENTS);
        if !self.own.events[k].present {
            self.own_create(k);
        }
        if self.own.events[k].present {
            let rel = self.own.rel(k, 0);
            let what = format!("chdir {}", self.full(&rel));
            let r = sys::chdir(&self.path(&rel));
            if self.check(Op::Chdir, Outcomes::OK, &what, r).is_ok() {
                self.stat_relative("enable", Outcomes::OK);
                self.cwd_pass(true);
                if self.rng.chance(500) {
                    // Remove the working directory's event, then look around in it.
                    self.own_remove(k);
                    if !self.own.events[k].present {
                        // docs/RULES.md rule 5: names below a removed directory are gone at once.
                        self.stat_relative("enable", Outcomes::errors(&[ENOENT]));
                        self.cwd_pass(false);
                    }
                }
                self.chdir_back();
            }
        }
        if self.violations != before {
            self.own_resync();
        }
    }

    /// A complete pass over the working directory (an event directory).
    fn cwd_pass(&mut self, alive: bool) {
        let scope = if alive { Scope::Fixed } else { Scope::Shared };
        let what = "open . (cwd)";
        let r = sys::open(c".", O_RDONLY | O_DIRECTORY);
        let Ok(fd) = self.check(Op::OpenCwd, expected(Op::OpenCwd, scope), what, r) else {
            return;
        };
        let what = "getdents . (cwd)";
        if let Some(d) = self.dir_pass(&fd, scope, what) {
            self.check_pass(&d, DirKind::Event, alive, what);
        }
        self.close(fd, ".");
    }

    pub(super) fn chdir_back(&mut self) {
        let r = sys::chdir(c"/");
        let _ = self.check(Op::Chdir, Outcomes::OK, "chdir /", r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_model() {
        let mut own = Own::new("t3".into());
        assert_eq!(own.dir(), "events/t3");
        assert_eq!(own.rel(2, 0), "events/t3/e2");
        assert_eq!(own.rel(2, 3), "events/t3/e2/format");
        assert!(!own.any_present());
        let fields = vec![Field {
            ty: "int",
            name: "f0".into(),
            array: None,
        }];
        own.events[2].created(fields);
        own.events[2].enabled = true;
        own.events[2].modes[1] = Some(0o600);
        own.events[2].owners[0] = Some((1, 2));
        assert!(own.any_present());
        assert_eq!(own.expected_attrs(2, 1), (0o600, 0, 0));
        assert_eq!(own.expected_attrs(2, 0), (0o755, 1, 2));
        assert_eq!(
            own.listing().unwrap().into_iter().collect::<Vec<_>>(),
            ["s:t3/e2 int f0\n"]
        );

        // A remount voids chowns (not chmods) and changes the default owner.
        let mut gate = Gate {
            remount_epoch: 1,
            default_owner: (3, 3),
            ..Gate::default()
        };
        own.sync(&gate);
        assert_eq!(own.expected_attrs(2, 0), (0o755, 3, 3));
        assert_eq!(own.expected_attrs(2, 1), (0o600, 3, 3));
        assert!(own.events[2].enabled);
        // A root disable disables all.
        gate.enable_epoch = 1;
        own.sync(&gate);
        assert!(!own.events[2].enabled && own.events[2].present);
        // An O_TRUNC removes all, and makes older descriptors stale.
        let inc = own.events[2].incarnation;
        gate.generation = 1;
        own.sync(&gate);
        assert!(!own.any_present());
        assert_eq!(own.events[2].incarnation, inc + 1);
        assert!(own.listing().unwrap().is_empty());
        // Syncing again changes nothing.
        own.sync(&gate);
        assert_eq!(own.events[2].incarnation, inc + 1);
    }
}
