//! The actions on the shared name space, the pinned events and the whole mount: create,
//! remove, O_TRUNC, stat, readdir, reads and writes, kept descriptors, chmod/chown,
//! remount, drop_caches and the listings (`dynamic_events`, `available_events`,
//! `set_event`).

use super::*;

impl Worker<'_> {
    // --- shared name space -----------------------------------------------------------

    pub(super) fn act_create(&mut self) {
        let (g, e) = self.shared_event();
        let fields = text::random_fields(&mut self.rng);
        let line = text::create_line(&g, &e, &fields);
        let _ = self.write_dyn(Op::Create, expected(Op::Create, Scope::Shared), &line);
    }

    pub(super) fn act_remove(&mut self) {
        let (g, e) = self.shared_event();
        if self.rng.chance(50) {
            let line = if self.rng.chance(500) {
                text::remove_line("nx", &e)
            } else {
                text::remove_line(&g, "nx")
            };
            let _ = self.write_dyn(Op::Remove, expected(Op::Remove, Scope::Missing), &line);
        } else {
            let line = text::remove_line(&g, &e);
            let _ = self.write_dyn(Op::Remove, expected(Op::Remove, Scope::Shared), &line);
        }
    }

    /// Creates and removes one event in one write: applied whole, so it leaves nothing.
    pub(super) fn act_batch(&mut self) {
        let (g, e) = self.shared_event();
        let fields = text::random_fields(&mut self.rng);
        let line = text::create_line(&g, &e, &fields) + &text::remove_line(&g, &e);
        let _ = self.write_dyn(Op::Batch, expected(Op::Batch, Scope::Shared), &line);
    }

    pub(super) fn act_truncate(&mut self) {
        let ctx = self.ctx;
        let mut gate = ctx.write_gate();
        // Nobody defines or removes kprobe events while we hold the gate.
        let kprobes_before = if ctx.kprobes {
            self.read_snapshot("kprobe_events")
        } else {
            None
        };
        let what = format!("open {} with O_TRUNC", self.full("dynamic_events"));
        let r = sys::open(&self.path("dynamic_events"), O_WRONLY | O_TRUNC);
        match self.check(
            Op::Truncate,
            expected(Op::Truncate, Scope::Shared),
            &what,
            r,
        ) {
            Ok(fd) => {
                self.close(fd, "dynamic_events");
                gate.generation += 1;
                // Nobody creates own or pinned events while we hold the gate: all gone.
                let gone = Outcomes::errors(&[ENOENT]);
                self.stat(PINNED_DIR, gone);
                for t in 0..ctx.threads {
                    self.stat(&group_dir(&format!("t{t}")), gone);
                }
                // The kprobe events too.
                if ctx.kprobes {
                    self.stat(&group_dir(DEFAULT_PROBE_GROUP), gone);
                    if let Some(text) = self
                        .read_snapshot("kprobe_events")
                        .filter(|t| !t.is_empty())
                    {
                        let shown = self.full("kprobe_events");
                        self.violation("truncate", format!("{shown} after {what}: {text:?}"));
                    }
                }
                self.create_pinned(&mut gate);
            }
            Err(Errno(EBUSY)) => {
                // Refused as a whole: the pinned events are still there, and the kprobe
                // events.
                for k in 0..PINNED {
                    self.stat(&format!("{PINNED_DIR}/p{k}"), Outcomes::OK);
                }
                if let Some(before) = kprobes_before {
                    if let Some(after) = self.read_snapshot("kprobe_events") {
                        if after != before {
                            self.violation(
                                "truncate",
                                format!("{what} was EBUSY but changed kprobe_events from {before:?} to {after:?}"),
                            );
                        }
                    }
                }
            }
            Err(_) => {}
        }
    }

    /// Creates the pinned events and records their ids and inode numbers in the gate.
    /// Returns whether all of them exist (problems on the way are reported).
    pub(super) fn create_pinned(&mut self, gate: &mut Gate) -> bool {
        let mut found = 0;
        for k in 0..PINNED {
            let line = text::create_line(PINNED_GROUP, &format!("p{k}"), &pinned_fields());
            let _ = self.write_dyn(Op::Create, expected(Op::Create, Scope::Fixed), &line);
        }
        for k in 0..PINNED {
            let rel = format!("{PINNED_DIR}/p{k}");
            let Some(st) = self.stat(&rel, Outcomes::OK) else {
                continue;
            };
            found += 1;
            let id_rel = format!("{rel}/id");
            let Some(bytes) = self.read_file(&id_rel, Outcomes::OK, Outcomes::OK) else {
                continue;
            };
            if let Some(Content::Id(id)) = self.validate(Op::Read, &id_rel, &bytes) {
                gate.pinned[k] = (id, st.st_ino);
                let identity = format!("{rel}@{}", gate.generation);
                if let Some(prev) = self.ctx.register_id(id, &identity, false) {
                    self.violation(
                        "read",
                        format!("id {id} of {identity} was already used by {prev}"),
                    );
                }
            }
        }
        found == PINNED
    }

    pub(super) fn act_stat(&mut self) {
        let ctx = self.ctx;
        match self.rng.below(5) {
            0 => {
                let gate = ctx.read_gate();
                let (k, ev) = self.pinned_event();
                let rel = match self.rng.below(9) {
                    0 => String::new(),
                    1 => self.root_file().to_string(),
                    2 => EVENTS_DIR.to_string(),
                    3 => ALL_ENABLE.to_string(),
                    4 => PINNED_DIR.to_string(),
                    5 => format!("{PINNED_DIR}/enable"),
                    6 => ev.clone(),
                    _ => {
                        let file: &str = self.rng.pick(&EVENT_FILES);
                        join(&ev, file)
                    }
                };
                let st = self.stat(&rel, expected(Op::Stat, Scope::Fixed));
                if let Some(st) = st.filter(|_| rel == ev) {
                    if st.st_ino != gate.pinned[k].1 {
                        let want = gate.pinned[k].1;
                        self.violation(
                            "stat",
                            format!(
                                "{}: inode {} changed from {want} (docs/RULES.md rule 7)",
                                self.full(&rel),
                                st.st_ino
                            ),
                        );
                    }
                }
            }
            1 => {
                let (g, e) = self.shared_event();
                let g = group_dir(&g);
                let rel = match self.rng.below(4) {
                    0 => g,
                    1 => format!("{g}/enable"),
                    2 => format!("{g}/{e}"),
                    _ => format!("{g}/{e}/{}", self.rng.pick(&EVENT_FILES)),
                };
                self.stat(&rel, expected(Op::Stat, Scope::Shared));
            }
            2 => {
                let (g, e) = self.shared_event();
                let rel = match self.rng.below(10) {
                    0 => "nx".to_string(),
                    1 => format!("{EVENTS_DIR}/nx"),
                    2 => format!("{}/nx", group_dir(&g)),
                    3 => format!("{PINNED_DIR}/nx"),
                    4 => format!("{PINNED_DIR}/p9"),
                    5 => format!("{PINNED_DIR}/p0/nx"),
                    6 => format!("{}/{e}/nx", group_dir(&g)),
                    // Groups live in events/, never in the root.
                    7 => PINNED_GROUP.to_string(),
                    8 => format!("{PINNED_GROUP}/p0/enable"),
                    // NAME_MAX itself is a valid length: ENOENT, not ENAMETOOLONG.
                    _ => format!("{PINNED_DIR}/{}", self.name255),
                };
                let _gate = ctx.read_gate();
                self.missing(&rel);
            }
            3 => {
                let _gate = ctx.read_gate();
                let (_, ev) = self.pinned_event();
                let parent = match self.rng.below(4) {
                    0 => String::new(),
                    1 => EVENTS_DIR.to_string(),
                    2 => PINNED_DIR.to_string(),
                    _ => ev,
                };
                let rel = join(&parent, &self.long_name.clone());
                self.stat_op(Op::StatLong, &rel, expected(Op::StatLong, Scope::Fixed));
            }
            _ => {
                let _gate = ctx.read_gate();
                let (_, ev) = self.pinned_event();
                let rel = match self.rng.below(4) {
                    0 => format!("{}/x", self.root_file()),
                    1 => format!("{ALL_ENABLE}/x"),
                    2 => format!("{ev}/enable/x"),
                    _ => format!("{ev}/format/x"),
                };
                self.stat_op(Op::StatNotDir, &rel, expected(Op::StatNotDir, Scope::Fixed));
            }
        }
    }

    /// One operation on a name that never exists: all must fail with ENOENT.
    pub(super) fn missing(&mut self, rel: &str) {
        let shown = self.full(rel);
        let path = self.path(rel);
        let op = match self.rng.below(8) {
            0 => Op::Open,
            1 => Op::OpenDir,
            2 => Op::Chmod,
            3 => Op::Chown,
            4 if self.can_chdir => Op::Chdir,
            _ => Op::Stat,
        };
        let expect = expected(op, Scope::Missing);
        let r = match op {
            Op::Open => sys::open(&path, O_RDONLY).map(drop),
            Op::OpenDir => sys::open(&path, O_RDONLY | O_DIRECTORY).map(drop),
            Op::Chmod => sys::chmod(&path, 0o700),
            Op::Chown => sys::chown(&path, 0, 0),
            Op::Chdir => sys::chdir(&path),
            _ => {
                self.stat(rel, expect);
                return;
            }
        };
        let what = format!("{} {shown}", op.name());
        if self.check(op, expect, &what, r).is_ok() && op == Op::Chdir {
            self.chdir_back();
        }
    }

    pub(super) fn act_readdir(&mut self) {
        let ctx = self.ctx;
        match self.rng.below(6) {
            0 => {
                // The root: the tracing files, events/ and instances/ (the pass check).
                self.readdir("", DirKind::Root, Scope::Fixed);
            }
            1 => {
                let _gate = ctx.read_gate();
                for pass in self.readdir(EVENTS_DIR, DirKind::Events, Scope::Fixed) {
                    let n = dirent::count(&pass, PINNED_GROUP);
                    if n != 1 {
                        let what = format!("getdents {}", self.full(EVENTS_DIR));
                        self.violation(
                            "getdents",
                            format!("{what}: '{PINNED_GROUP}' appears {n} times"),
                        );
                    }
                }
            }
            2 => {
                let _gate = ctx.read_gate();
                for pass in self.readdir(PINNED_DIR, DirKind::Group, Scope::Fixed) {
                    for k in 0..PINNED {
                        let n = dirent::count(&pass, &format!("p{k}"));
                        if n != 1 {
                            let what = format!("getdents {}", self.full(PINNED_DIR));
                            self.violation("getdents", format!("{what}: 'p{k}' appears {n} times"));
                        }
                    }
                }
            }
            3 => {
                let _gate = ctx.read_gate();
                let (_, ev) = self.pinned_event();
                self.readdir(&ev, DirKind::Event, Scope::Fixed);
            }
            4 => {
                let (g, _) = self.shared_event();
                self.readdir(&group_dir(&g), DirKind::Group, Scope::Shared);
            }
            _ => {
                let (g, e) = self.shared_event();
                let rel = format!("{}/{e}", group_dir(&g));
                self.readdir(&rel, DirKind::Event, Scope::Shared);
            }
        }
    }

    pub(super) fn act_read_file(&mut self) {
        let ctx = self.ctx;
        match self.rng.below(5) {
            0 => {
                let gate = ctx.read_gate();
                let (k, ev) = self.pinned_event();
                let file: &str = self.rng.pick(&EVENT_FILES);
                let rel = join(&ev, file);
                let fixed = expected(Op::Open, Scope::Fixed);
                if let Some(bytes) = self.read_file(&rel, fixed, expected(Op::Read, Scope::Fixed)) {
                    self.validate_pinned(Op::Read, &rel, k, &bytes, &gate);
                }
            }
            1 => {
                let (g, e) = self.shared_event();
                let rel = format!("{}/{e}/{}", group_dir(&g), self.rng.pick(&EVENT_FILES));
                let open = expected(Op::Open, Scope::Shared);
                if let Some(bytes) = self.read_file(&rel, open, expected(Op::Read, Scope::Shared)) {
                    self.validate(Op::Read, &rel, &bytes);
                }
            }
            2 => {
                let (g, _) = self.shared_event();
                let rel = format!("{}/enable", group_dir(&g));
                let open = expected(Op::Open, Scope::Shared);
                if let Some(bytes) = self.read_file(&rel, open, expected(Op::Read, Scope::Shared)) {
                    self.validate(Op::Read, &rel, &bytes);
                }
            }
            3 => {
                // A file of the root: its syntax (validate).
                let rel = self.readable_root_file();
                let fixed = expected(Op::Open, Scope::Fixed);
                if let Some(bytes) = self.read_file(rel, fixed, expected(Op::Read, Scope::Fixed)) {
                    self.validate(Op::Read, rel, &bytes);
                }
            }
            _ => {
                let _gate = ctx.read_gate();
                let pinned = self.rng.chance(500);
                let rel = if pinned {
                    format!("{PINNED_DIR}/enable")
                } else {
                    ALL_ENABLE.to_string()
                };
                let fixed = expected(Op::Open, Scope::Fixed);
                if let Some(bytes) = self.read_file(&rel, fixed, expected(Op::Read, Scope::Fixed)) {
                    let c = self.validate(Op::Read, &rel, &bytes);
                    if pinned && !matches!(c, Some(Content::Enable('0')) | None) {
                        let shown = self.full(&rel);
                        self.violation("read", format!("{shown}: pinned group enabled: {c:?}"));
                    }
                }
            }
        }
    }

    pub(super) fn act_write_enable(&mut self) {
        let (g, e) = self.shared_event();
        let group = self.rng.chance(250);
        let g = group_dir(&g);
        let rel = if group {
            format!("{g}/enable")
        } else {
            format!("{g}/{e}/enable")
        };
        let Some(fd) = self.open(&rel, O_WRONLY, Op::Open, expected(Op::Open, Scope::Shared))
        else {
            return;
        };
        // Mostly off, so that removals mostly succeed.
        let on = self.rng.chance(if group { 50 } else { 300 });
        let write = expected(Op::Write, Scope::Shared);
        let r = self.write_value(&fd, Op::Write, write, if on { "1" } else { "0" }, &rel);
        if r.is_ok() && on && self.rng.chance(800) {
            let _ = self.write_value(&fd, Op::Write, write, "0", &rel);
        }
        self.close(fd, &rel);
    }

    pub(super) fn act_write_bad(&mut self) {
        let ctx = self.ctx;
        match self.rng.below(3) {
            0 | 1 => {
                let _gate = ctx.read_gate();
                let (_, ev) = self.pinned_event();
                let (rel, value) = match self.rng.below(6) {
                    0..=2 => (format!("{ev}/enable"), "2"),
                    // Only "nop" is a tracer.
                    3 => ("current_tracer".to_string(), "function"),
                    _ => (format!("{ev}/id"), "1"),
                };
                let fixed = expected(Op::Open, Scope::Fixed);
                if let Some(fd) = self.open(&rel, O_WRONLY, Op::Open, fixed) {
                    let bad = expected(Op::WriteBad, Scope::Fixed);
                    let _ = self.write_value(&fd, Op::WriteBad, bad, value, &rel);
                    self.close(fd, &rel);
                }
            }
            _ => {
                let (g, e) = self.shared_event();
                let rel = format!("{}/{e}/enable", group_dir(&g));
                let shared = expected(Op::Open, Scope::Shared);
                if let Some(fd) = self.open(&rel, O_WRONLY, Op::Open, shared) {
                    let bad = expected(Op::WriteBad, Scope::Shared);
                    let _ = self.write_value(&fd, Op::WriteBad, bad, "x", &rel);
                    self.close(fd, &rel);
                }
            }
        }
    }

    /// Injects into a shared event, or sets, clears or reads its filter or its
    /// group's. Others may remove the event (or recreate it with other fields) at any
    /// moment; a filter reads `none` or one of [`FILTERS`].
    pub(super) fn act_inject_filter(&mut self) {
        let (g, e) = self.shared_event();
        let g = group_dir(&g);
        let open = expected(Op::Open, Scope::Shared);
        match self.rng.below(8) {
            0..=3 => {
                let rel = format!("{g}/{e}/inject");
                let Some(fd) = self.open(&rel, O_WRONLY, Op::Open, open) else {
                    return;
                };
                let n = self.rng.below(1000);
                let text = if self.rng.chance(200) {
                    format!("f0=\"s{n}\"")
                } else {
                    format!("f0={n}")
                };
                let write = expected(Op::Inject, Scope::Shared);
                let _ = self.write_value(&fd, Op::Inject, write, &text, &rel);
                self.close(fd, &rel);
            }
            4..=6 => {
                let rel = if self.rng.chance(250) {
                    format!("{g}/filter")
                } else {
                    format!("{g}/{e}/filter")
                };
                let Some(fd) = self.open(&rel, O_WRONLY, Op::Open, open) else {
                    return;
                };
                // Mostly cleared again, so that injects mostly record.
                let text = if self.rng.chance(400) {
                    "0"
                } else {
                    *self.rng.pick(&FILTERS)
                };
                let write = expected(Op::Filter, Scope::Shared);
                let _ = self.write_value(&fd, Op::Filter, write, text, &rel);
                self.close(fd, &rel);
            }
            _ => {
                let rel = format!("{g}/{e}/filter");
                let read = expected(Op::Read, Scope::Shared);
                if let Some(text) = self.read_file(&rel, open, read) {
                    let s = String::from_utf8_lossy(&text);
                    let known = s
                        .strip_suffix('\n')
                        .is_some_and(|f| f == "none" || FILTERS.contains(&f));
                    if !known {
                        let shown = self.full(&rel);
                        self.violation(
                            "read",
                            format!("{shown} reads {s:?}: neither none nor a filter written"),
                        );
                    }
                }
            }
        }
    }

    // --- kept descriptors ----------------------------------------------------------

    pub(super) fn act_keep_stale(&mut self) {
        if self.stale.len() >= MAX_STALE {
            let s = self.stale.remove(0);
            self.close(s.fd, &s.rel);
        }
        let ctx = self.ctx;
        let dir = self.rng.chance(250);
        let file = *self.rng.pick(&EVENT_FILES);
        let flags = if dir {
            O_RDONLY | O_DIRECTORY
        } else if file == "enable" {
            O_RDWR
        } else {
            O_RDONLY
        };
        let op = if dir { Op::OpenDir } else { Op::Open };
        let (rel, owner, fd) = match self.rng.below(3) {
            0 => {
                let (g, e) = self.shared_event();
                let g = group_dir(&g);
                let rel = if dir {
                    if self.rng.chance(500) {
                        g
                    } else {
                        format!("{g}/{e}")
                    }
                } else {
                    format!("{g}/{e}/{file}")
                };
                let fd = self.open(&rel, flags, op, expected(op, Scope::Shared));
                (rel, Owner::Shared, fd)
            }
            1 => {
                let gate = ctx.read_gate();
                self.own.sync(&gate);
                let k = self.rng.index(OWN_EVENTS);
                let ev = &self.own.events[k];
                let (present, incarnation) = (ev.present, ev.incarnation);
                let rel = self.own.rel(k, if dir { 0 } else { 1 + self.rng.index(3) });
                let flags = if rel.ends_with("enable") {
                    O_RDWR
                } else {
                    flags
                };
                let expect = if present {
                    Outcomes::OK
                } else {
                    Outcomes::errors(&[ENOENT])
                };
                let fd = self.open(&rel, flags, op, expect);
                (rel, Owner::Own { k, incarnation }, fd)
            }
            _ => {
                let gate = ctx.read_gate();
                let (_, ev) = self.pinned_event();
                let rel = if dir { ev } else { format!("{ev}/{file}") };
                let fd = self.open(&rel, flags, op, expected(op, Scope::Fixed));
                let generation = gate.generation;
                (rel, Owner::Pinned { generation }, fd)
            }
        };
        if let Some(fd) = fd {
            // `events/GROUP` or `events/GROUP/EVENT`.
            let kind = if rel.matches('/').count() == 1 {
                DirKind::Group
            } else {
                DirKind::Event
            };
            self.stale.push(Stale {
                fd,
                writable: !dir && rel.ends_with("enable"),
                dir: dir.then_some(kind),
                rel,
                owner,
            });
        }
    }

    pub(super) fn act_use_stale(&mut self) {
        if self.stale.is_empty() {
            return;
        }
        let s = self.stale.remove(self.rng.index(self.stale.len()));
        let ctx = self.ctx;
        let gate = match s.owner {
            Owner::Shared => None,
            _ => Some(ctx.read_gate()),
        };
        // Whether the entry is known to be alive (Some(true)), known to be gone
        // (Some(false)), or unknown (None).
        let alive = match (s.owner, gate.as_deref()) {
            (Owner::Own { k, incarnation }, Some(g)) => {
                self.own.sync(g);
                let e = &self.own.events[k];
                Some(e.present && e.incarnation == incarnation)
            }
            (Owner::Pinned { generation }, Some(g)) => Some(generation == g.generation),
            _ => None,
        };
        let for_op = |op: Op| match alive {
            Some(true) => Outcomes::OK,
            Some(false) if op == Op::Getdents => expected(Op::Getdents, Scope::Shared),
            Some(false) => Outcomes::errors(&[ENODEV]),
            None => expected(op, Scope::Shared),
        };
        let shown = self.full(&s.rel);
        if let Some(kind) = s.dir {
            let what = format!("getdents {shown} (kept open)");
            let r = sys::rewind(&s.fd);
            if self.check(Op::Seek, Outcomes::OK, &what, r).is_ok() {
                let scope = if alive == Some(true) {
                    Scope::Fixed
                } else {
                    Scope::Shared
                };
                if let Some(d) = self.dir_pass(&s.fd, scope, &what) {
                    self.check_pass(&d, kind, alive == Some(true), &what);
                }
            }
        } else {
            let mut buf = vec![0u8; 4096];
            let what = format!("pread {shown} (kept open)");
            let r = sys::pread(&s.fd, &mut buf, 0);
            if let Ok(n) = self.check(Op::ReadStale, for_op(Op::ReadStale), &what, r) {
                let c = self.validate(Op::ReadStale, &s.rel, &buf[..n]);
                match (s.owner, &c) {
                    (Owner::Own { k, .. }, Some(Content::Enable(c))) if alive == Some(true) => {
                        let want = if self.own.events[k].enabled { '1' } else { '0' };
                        if *c != want {
                            self.violation(
                                "read_stale",
                                format!("{what}: enable {c}, expected {want}"),
                            );
                        }
                    }
                    (Owner::Pinned { .. }, _) if alive == Some(true) => {
                        if let Some(g) = gate.as_deref() {
                            let k = s.rel[PINNED_DIR.len() + 2..].split('/').next();
                            if let Some(k) = k.and_then(|k| k.parse::<usize>().ok()) {
                                self.validate_pinned(Op::ReadStale, &s.rel, k, &buf[..n], g);
                            }
                        }
                    }
                    _ => {}
                }
            }
            if s.writable && self.rng.chance(300) {
                let r = self.write_value(&s.fd, Op::Write, for_op(Op::Write), "0", &s.rel);
                if let (Ok(()), Owner::Own { k, .. }, Some(true)) = (r, s.owner, alive) {
                    self.own.events[k].enabled = false;
                }
            }
        }
        drop(gate);
        self.stale.push(s);
    }

    // --- attributes, remount, caches -----------------------------------------------

    /// chmod (`chmod == true`) or chown of `rel`; `scope` picks the expected outcomes.
    pub(super) fn attr_scoped(
        &mut self,
        rel: &str,
        chmod: bool,
        mode: u32,
        owner: (u32, u32),
        scope: Scope,
    ) {
        let op = if chmod { Op::Chmod } else { Op::Chown };
        let _ = self.attr_op(rel, chmod, mode, owner, expected(op, scope));
    }

    fn attr_op(
        &mut self,
        rel: &str,
        chmod: bool,
        mode: u32,
        owner: (u32, u32),
        expect: Outcomes,
    ) -> SysResult<()> {
        let shown = self.full(rel);
        if chmod {
            let r = sys::chmod(&self.path(rel), mode);
            self.check(Op::Chmod, expect, &format!("chmod {mode:o} {shown}"), r)
        } else {
            let r = sys::chown(&self.path(rel), owner.0, owner.1);
            let what = format!("chown {}:{} {shown}", owner.0, owner.1);
            self.check(Op::Chown, expect, &what, r)
        }
    }

    pub(super) fn act_chattr(&mut self) {
        let ctx = self.ctx;
        let gate = ctx.read_gate();
        let chmod = self.rng.chance(500);
        let mode = if self.rng.chance(200) {
            self.rng.below(0o1000) as u32
        } else {
            *self.rng.pick(&MODES)
        };
        let owner = (self.rng.below(4) as u32, self.rng.below(4) as u32);
        match self.rng.below(4) {
            0 => {
                let rel = match self.rng.below(4) {
                    0 => "",
                    1 => self.root_file(),
                    2 => EVENTS_DIR,
                    _ => ALL_ENABLE,
                };
                self.attr_scoped(rel, chmod, mode, owner, Scope::Fixed);
            }
            1 => {
                let (_, ev) = self.pinned_event();
                let rel = match self.rng.below(4) {
                    0 => PINNED_DIR.to_string(),
                    1 => format!("{PINNED_DIR}/enable"),
                    2 => ev,
                    _ => format!("{ev}/{}", self.rng.pick(&EVENT_FILES)),
                };
                self.attr_scoped(&rel, chmod, mode, owner, Scope::Fixed);
            }
            2 => {
                let (g, e) = self.shared_event();
                let g = group_dir(&g);
                let rel = match self.rng.below(3) {
                    0 => g,
                    1 => format!("{g}/{e}"),
                    _ => format!("{g}/{e}/{}", self.rng.pick(&EVENT_FILES)),
                };
                self.attr_scoped(&rel, chmod, mode, owner, Scope::Shared);
            }
            _ => {
                self.own.sync(&gate);
                let before = self.violations;
                let k = self.rng.index(OWN_EVENTS);
                let entry = self.rng.index(OWN_ENTRIES.len());
                let rel = self.own.rel(k, entry);
                if !self.own.events[k].present {
                    let gone = Outcomes::errors(&[ENOENT]);
                    let _ = self.attr_op(&rel, chmod, mode, owner, gone);
                } else if self.attr_op(&rel, chmod, mode, owner, Outcomes::OK).is_ok() {
                    let e = &mut self.own.events[k];
                    if chmod {
                        e.modes[entry] = Some(mode);
                    } else {
                        e.owners[entry] = Some(owner);
                    }
                    self.own_verify_attrs(k, entry);
                }
                if self.violations != before {
                    self.own_resync();
                }
            }
        }
    }

    /// Disables every event: writes 0 to `events/enable`, or opens `set_event` with
    /// O_TRUNC.
    pub(super) fn act_disable_all(&mut self) {
        let ctx = self.ctx;
        let mut gate = ctx.write_gate();
        let fixed = expected(Op::Open, Scope::Fixed);
        if self.rng.chance(500) {
            if let Some(fd) = self.open(ALL_ENABLE, O_WRONLY, Op::Open, fixed) {
                let write = expected(Op::Write, Scope::Fixed);
                let r = self.write_value(&fd, Op::Write, write, "0", ALL_ENABLE);
                self.close(fd, ALL_ENABLE);
                if r.is_ok() {
                    gate.enable_epoch += 1;
                }
            }
        } else if let Some(fd) = self.open("set_event", O_WRONLY | O_TRUNC, Op::Open, fixed) {
            gate.enable_epoch += 1;
            self.close(fd, "set_event");
        }
    }

    pub(super) fn act_remount(&mut self) {
        let ctx = self.ctx;
        let mut gate = ctx.write_gate();
        let (uid, gid) = (self.rng.below(4) as u32, self.rng.below(4) as u32);
        let data = format!("uid={uid},gid={gid}");
        let what = format!("mount -o remount,{data} {}", ctx.mnt);
        let r = sys::mount(
            c"none",
            &cpath(&ctx.mnt),
            c"eventfs",
            libc::MS_REMOUNT,
            Some(&cpath(&data)),
        );
        if self
            .check(Op::Remount, expected(Op::Remount, Scope::Fixed), &what, r)
            .is_err()
        {
            return;
        }
        gate.remount_epoch += 1;
        gate.default_owner = (uid, gid);
        gate.remounted = true;
        // docs/RULES.md rule 8: a remount's uid=/gid= applies to every entry, chowned ones included
        // (no chown can run while we hold the gate).
        let (_, ev) = self.pinned_event();
        for rel in [
            String::new(),
            self.root_file().to_string(),
            EVENTS_DIR.to_string(),
            ALL_ENABLE.to_string(),
            PINNED_DIR.to_string(),
            ev.clone(),
            format!("{ev}/enable"),
        ] {
            if let Some(st) = self.stat(&rel, Outcomes::OK) {
                if (st.st_uid, st.st_gid) != (uid, gid) {
                    let shown = self.full(&rel);
                    self.violation(
                        "remount",
                        format!(
                            "{shown} owned by {}:{} after {what} (docs/RULES.md rule 8)",
                            st.st_uid, st.st_gid
                        ),
                    );
                }
            }
        }
    }

    pub(super) fn act_drop_caches(&mut self) {
        let r = sys::write_file("/proc/sys/vm/drop_caches", "2");
        let expect = expected(Op::DropCaches, Scope::Fixed);
        let _ = self.check(
            Op::DropCaches,
            expect,
            "echo 2 > /proc/sys/vm/drop_caches",
            r,
        );
    }

    // --- the listings -----------------------------------------------------------------

    /// Reads root file `rel` in one `read(2)` (a second one must be at the end): one
    /// snapshot. `None` if a read failed (reported) or the file changed between the two.
    pub(super) fn read_snapshot(&mut self, rel: &str) -> Option<String> {
        let fixed = expected(Op::Open, Scope::Fixed);
        let fd = self.open(rel, O_RDONLY, Op::Open, fixed)?;
        let what = format!("read {}", self.full(rel));
        let mut buf = vec![0u8; LISTING_BUF];
        let read = expected(Op::Read, Scope::Fixed);
        let first = self.check(Op::Read, read, &what, sys::read(&fd, &mut buf));
        let mut tail = [0u8; 256];
        let second = self.check(Op::Read, read, &what, sys::read(&fd, &mut tail));
        self.close(fd, rel);
        let (Ok(n), Ok(0)) = (first, second) else {
            // A failed read was reported; a listing that changed between the two reads
            // (or is larger than the buffer) cannot be checked as one snapshot.
            return None;
        };
        match String::from_utf8(buf[..n].to_vec()) {
            Ok(s) => Some(s),
            Err(_) => {
                self.violation("read", format!("{what}: not UTF-8"));
                None
            }
        }
    }

    /// Reads the listings and checks what they say about the pinned and own events:
    /// `dynamic_events` (exact lines), `available_events` (exact names) and `set_event`
    /// (exactly the enabled own events, no pinned one).
    pub(super) fn act_listing(&mut self) {
        let ctx = self.ctx;
        let gate = ctx.read_gate();
        self.own.sync(&gate);
        self.listing_dynamic_events();
        self.listing_names("available_events");
        self.listing_names("set_event");
        drop(gate);
    }

    fn listing_dynamic_events(&mut self) {
        let rel = "dynamic_events";
        let Some(listing) = self.read_snapshot(rel) else {
            return;
        };
        let what = format!("read {}", self.full(rel));
        let listed = match text::parse_listing(&listing) {
            Ok(l) => l,
            Err(e) => {
                self.violation("read", format!("{what}: {e}"));
                return;
            }
        };
        let targets: Vec<String> = listed
            .iter()
            .map(|l| format!("{}/{}", l.group, l.event))
            .collect();
        for (t, c) in dirent::duplicates(targets.iter().map(String::as_str)) {
            self.violation("read", format!("{what}: {t} listed {c} times"));
        }
        for k in 0..PINNED {
            let want = text::create_line(PINNED_GROUP, &format!("p{k}"), &pinned_fields());
            let n = listed.iter().filter(|l| l.line == want).count();
            if n != 1 {
                self.violation("read", format!("{what}: {want:?} listed {n} times"));
            }
        }
        if let Some(want) = self.own.listing() {
            let group = self.own.group.clone();
            let got: BTreeSet<String> = listed
                .iter()
                .filter(|l| l.group == group)
                .map(|l| l.line.clone())
                .collect();
            if got != want {
                self.violation(
                    "read",
                    format!("{what}: group {group} lists {got:?}, expected {want:?}"),
                );
                self.own_resync();
            }
        }
    }

    /// `available_events` (every live event) or `set_event` (the enabled ones).
    fn listing_names(&mut self, rel: &str) {
        let Some(text) = self.read_snapshot(rel) else {
            return;
        };
        let what = format!("read {}", self.full(rel));
        let names = match text::parse_event_names(&text) {
            Ok(n) => n,
            Err(e) => {
                self.violation("read", format!("{what}: {e}"));
                return;
            }
        };
        let joined: Vec<String> = names.iter().map(|(g, e)| format!("{g}:{e}")).collect();
        for (t, c) in dirent::duplicates(joined.iter().map(String::as_str)) {
            self.violation("read", format!("{what}: {t} listed {c} times"));
        }
        let all = rel == "available_events";
        // The pinned events are live and never enabled.
        for k in 0..PINNED {
            let name = format!("{PINNED_GROUP}:p{k}");
            let n = joined.iter().filter(|j| **j == name).count();
            if n != usize::from(all) {
                self.violation("read", format!("{what}: {name} listed {n} times"));
            }
        }
        let group = self.own.group.clone();
        let want: BTreeSet<String> = self
            .own
            .events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.present && (all || e.enabled))
            .map(|(k, _)| format!("{group}:e{k}"))
            .collect();
        let got: BTreeSet<String> = names
            .iter()
            .filter(|(g, _)| *g == group)
            .map(|(g, e)| format!("{g}:{e}"))
            .collect();
        if got != want {
            self.violation(
                "read",
                format!("{what}: group {group} lists {got:?}, expected {want:?}"),
            );
            self.own_resync();
        }
    }
}
