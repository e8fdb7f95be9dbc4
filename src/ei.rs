// SPDX-License-Identifier: GPL-2.0

//! The metadata tree: one [`Ei`] (eventfs inode) for the root, each group and each
//! event, and the registry of events that `dynamic_events` edits. Safe Rust only: the
//! lifetimes it relies on are the types of `vfs::rcu`.
//!
//! Who owns what:
//! - The registry [`TREE`] owns the root's [`EiRef`].
//! - A directory's children are an [`SrcuCell<Dir>`]: the published [`Dir`] owns one
//!   reference to every child. Writers (under [`TREE`]) publish a new `Dir`; the old one,
//!   and with it the references to removed children, goes after an SRCU grace period
//!   (docs/RULES.md rule 4). Readers (`lookup`, `readdir`) use the published `Dir` inside
//!   an SRCU read section and take their own reference before leaving it (docs/RULES.md rule 3).
//! - Dentries own references through `d_fsdata` (see `vfs::node`).
//! - A node's memory goes an RCU grace period after its last reference (`RcuArc`).

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use kernel::{bindings, prelude::*};

use crate::events::{self, Command, EventSpec, FieldType, ParseError};
use crate::vfs::{
    AttrChange, Attrs, DirEntry, Found, Kgid, Kuid, NofsScope, RcuArc, SrcuCell, SrcuGuard,
};

/// A counted reference to a node.
pub(crate) type EiRef = RcuArc<Ei>;

/// Inode number shared by all regular files (they are told apart by name).
pub(crate) const FILE_INO: u64 = 2;
/// Levels of nodes: root, group, event.
pub(crate) const TREE_DEPTH: usize = 3;
/// First inode number of a non-root directory (1 is the root).
const FIRST_DIR_INO: u64 = 16;

kernel::sync::global_lock! {
    // SAFETY: Initialised by `init()` in the module initialiser, before any use.
    pub(crate) unsafe(uninit) static TREE: Mutex<State> = State::new();
}

/// The registry, under [`TREE`]: the writer mutex of the whole tree.
pub(crate) struct State {
    root: Option<EiRef>,
    /// Next event id: ids are never reused while the module is loaded.
    next_id: u32,
    /// Next creation sequence number: orders children for readdir positions.
    next_seq: u64,
    /// Next directory inode number: every directory has its own, for its whole life.
    next_ino: u64,
}

impl State {
    const fn new() -> State {
        State {
            root: None,
            next_id: 1,
            next_seq: 0,
            next_ino: FIRST_DIR_INO,
        }
    }
}

/// Sets the registry up: called once by the module initialiser.
pub(crate) fn init() -> Result<EiRef> {
    // SAFETY: Called once, before any other use of `TREE`.
    unsafe { TREE.init() };
    let mut st = TREE.lock();
    let root = Ei::new(&mut st, KVec::new(), Kind::Root, true)?;
    st.root = Some(root.clone());
    Ok(root)
}

/// A reference to the root node, for a new superblock.
pub(crate) fn root() -> Result<EiRef> {
    TREE.lock().root.clone().ok_or(ENODEV)
}

/// Tears the registry down at module exit (nothing is mounted then).
pub(crate) fn exit() {
    let root = {
        let mut st = TREE.lock();
        // Removing with events enabled is refused to users, not at unload.
        let _ = remove_all(&mut st, true);
        st.root.take()
    };
    drop(root);
}

// --- attributes ------------------------------------------------------------------------

const PERM_MASK: u32 = 0o7777;
const MODE_SET: u32 = 1 << 16;
const UID_SET: u32 = 1 << 17;
const GID_SET: u32 = 1 << 18;

/// The ownership every untouched entry follows: the mount's `uid=`/`gid=`. A remount that
/// gives `uid=` (`gid=`) starts a new generation, which makes every earlier chown
/// (chgrp) void without walking anything (docs/RULES.md rule 8).
struct Defaults {
    uid: AtomicU32,
    gid: AtomicU32,
    uid_gen: AtomicU32,
    gid_gen: AtomicU32,
}

static DEFAULTS: Defaults = Defaults {
    uid: AtomicU32::new(0),
    gid: AtomicU32::new(0),
    uid_gen: AtomicU32::new(0),
    gid_gen: AtomicU32::new(0),
};

/// Applies the ownership options of a mount (`remount == false`: a new superblock) or of
/// a remount. Only what is given changes; a remount's `uid=`/`gid=` overrides chowns.
pub(crate) fn set_mount_owner(uid: Option<Kuid>, gid: Option<Kgid>, remount: bool) {
    if let Some(u) = uid {
        DEFAULTS.uid.store(u.0.val, Ordering::Relaxed);
        if remount {
            DEFAULTS.uid_gen.fetch_add(1, Ordering::Release);
        }
    }
    if let Some(g) = gid {
        DEFAULTS.gid.store(g.0.val, Ordering::Relaxed);
        if remount {
            DEFAULTS.gid_gen.fetch_add(1, Ordering::Release);
        }
    }
}

/// Mode and ownership of one entry as chmod/chown left them.
struct Attr {
    /// Permission bits and the `*_SET` flags.
    bits: AtomicU32,
    uid: AtomicU32,
    gid: AtomicU32,
    /// [`Defaults`] generation of the chown/chgrp.
    uid_gen: AtomicU32,
    gid_gen: AtomicU32,
}

impl Attr {
    const fn new() -> Attr {
        Attr {
            bits: AtomicU32::new(0),
            uid: AtomicU32::new(0),
            gid: AtomicU32::new(0),
            uid_gen: AtomicU32::new(0),
            gid_gen: AtomicU32::new(0),
        }
    }

    /// The attributes in force: what chmod/chown set, else the defaults. Lock-free
    /// (called in RCU-walk).
    fn effective(&self, default_perm: u16) -> Attrs {
        let bits = self.bits.load(Ordering::Acquire);
        let perm = if bits & MODE_SET != 0 {
            (bits & PERM_MASK) as u16
        } else {
            default_perm
        };
        let uid = if bits & UID_SET != 0
            && self.uid_gen.load(Ordering::Relaxed) == DEFAULTS.uid_gen.load(Ordering::Acquire)
        {
            self.uid.load(Ordering::Relaxed)
        } else {
            DEFAULTS.uid.load(Ordering::Relaxed)
        };
        let gid = if bits & GID_SET != 0
            && self.gid_gen.load(Ordering::Relaxed) == DEFAULTS.gid_gen.load(Ordering::Acquire)
        {
            self.gid.load(Ordering::Relaxed)
        } else {
            DEFAULTS.gid.load(Ordering::Relaxed)
        };
        Attrs {
            perm,
            uid: Kuid(bindings::kuid_t { val: uid }),
            gid: Kgid(bindings::kgid_t { val: gid }),
        }
    }

    fn change(&self, c: &AttrChange) {
        if let Some(u) = c.uid {
            self.uid.store(u.0.val, Ordering::Relaxed);
            self.uid_gen
                .store(DEFAULTS.uid_gen.load(Ordering::Acquire), Ordering::Relaxed);
            self.bits.fetch_or(UID_SET, Ordering::Release);
        }
        if let Some(g) = c.gid {
            self.gid.store(g.0.val, Ordering::Relaxed);
            self.gid_gen
                .store(DEFAULTS.gid_gen.load(Ordering::Acquire), Ordering::Relaxed);
            self.bits.fetch_or(GID_SET, Ordering::Release);
        }
        if let Some(p) = c.perm {
            let _ = self
                .bits
                .fetch_update(Ordering::Release, Ordering::Relaxed, |b| {
                    Some((b & !PERM_MASK) | MODE_SET | (u32::from(p) & PERM_MASK))
                });
        }
    }
}

// --- nodes -----------------------------------------------------------------------------

/// The files a directory offers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// `dynamic_events` (root).
    DynamicEvents,
    /// `enable` (every directory).
    Enable,
    /// `id` (events).
    Id,
    /// `format` (events).
    Format,
}

impl FileKind {
    fn name(self) -> &'static [u8] {
        match self {
            FileKind::DynamicEvents => b"dynamic_events",
            FileKind::Enable => b"enable",
            FileKind::Id => b"id",
            FileKind::Format => b"format",
        }
    }

    /// tracefs' TRACE_MODE_WRITE (0640) and TRACE_MODE_READ (0440).
    fn default_perm(self) -> u16 {
        match self {
            FileKind::DynamicEvents | FileKind::Enable => 0o640,
            FileKind::Id | FileKind::Format => 0o440,
        }
    }
}

const ROOT_FILES: [FileKind; 2] = [FileKind::DynamicEvents, FileKind::Enable];
const GROUP_FILES: [FileKind; 1] = [FileKind::Enable];
const EVENT_FILES: [FileKind; 3] = [FileKind::Enable, FileKind::Id, FileKind::Format];
const MAX_FILES: usize = 3;

/// Default mode of directories below the root.
const DIR_PERM: u16 = 0o755;

/// A declared field of an event.
pub(crate) struct FieldDef {
    ty: FieldType,
    name: KVec<u8>,
}

/// An event's data.
pub(crate) struct Event {
    id: u32,
    enabled: AtomicBool,
    fields: KVec<FieldDef>,
}

/// What a node is.
pub(crate) enum Kind {
    /// The root directory.
    Root,
    /// A group directory: its children are events.
    Group,
    /// An event directory.
    Event(Event),
}

impl Kind {
    fn files(&self) -> &'static [FileKind] {
        match self {
            Kind::Root => &ROOT_FILES,
            Kind::Group => &GROUP_FILES,
            Kind::Event(_) => &EVENT_FILES,
        }
    }
}

/// A node of the tree (eventfs inode): a directory and the files it offers.
pub(crate) struct Ei {
    name: KVec<u8>,
    /// Creation order among all nodes; a child's readdir position derives from it.
    seq: u64,
    /// Inode number of the directory.
    ino: u64,
    /// Set (under [`TREE`]) when the node is removed; never cleared.
    freed: AtomicBool,
    kind: Kind,
    attr: Attr,
    file_attrs: [Attr; MAX_FILES],
    /// The children (root: groups; group: events).
    children: Option<SrcuCell<Dir>>,
}

impl Ei {
    fn new(st: &mut State, name: KVec<u8>, kind: Kind, with_children: bool) -> Result<EiRef> {
        let children = if with_children {
            Some(SrcuCell::new(Dir::empty(), GFP_KERNEL)?)
        } else {
            None
        };
        let ino = if matches!(kind, Kind::Root) {
            1
        } else {
            st.next_ino
        };
        let ei = RcuArc::new(
            Ei {
                name,
                seq: st.next_seq,
                ino,
                freed: AtomicBool::new(false),
                kind,
                attr: Attr::new(),
                file_attrs: [Attr::new(), Attr::new(), Attr::new()],
                children,
            },
            GFP_KERNEL,
        )?;
        st.next_seq += 1;
        if ino != 1 {
            st.next_ino += 1;
        }
        Ok(ei)
    }

    fn is_freed(&self) -> bool {
        self.freed.load(Ordering::Acquire)
    }

    fn event(&self) -> Option<&Event> {
        match &self.kind {
            Kind::Event(e) => Some(e),
            _ => None,
        }
    }
}

/// A published list of children: in creation order for readdir, with an index by name
/// for lookup (docs/RULES.md rule 11: no linear walk over siblings).
pub(crate) struct Dir {
    by_seq: KVec<EiRef>,
    /// Indexes into `by_seq`, sorted by name.
    by_name: KVec<u32>,
}

impl Dir {
    fn empty() -> Dir {
        Dir {
            by_seq: KVec::new(),
            by_name: KVec::new(),
        }
    }

    fn find(&self, name: &[u8]) -> Result<usize, usize> {
        self.by_name
            .binary_search_by(|&i| self.by_seq[i as usize].name.as_slice().cmp(name))
    }

    fn get(&self, name: &[u8]) -> Option<&EiRef> {
        self.find(name)
            .ok()
            .map(|k| &self.by_seq[self.by_name[k] as usize])
    }

    /// A copy with room for one more child, for a writer to edit.
    fn try_clone(&self) -> Result<Dir> {
        let mut d = Dir {
            by_seq: KVec::with_capacity(self.by_seq.len() + 1, GFP_KERNEL)?,
            by_name: KVec::with_capacity(self.by_name.len() + 1, GFP_KERNEL)?,
        };
        for c in self.by_seq.iter() {
            d.by_seq.push(c.clone(), GFP_KERNEL)?;
        }
        d.by_name.extend_from_slice(&self.by_name, GFP_KERNEL)?;
        Ok(d)
    }

    /// Adds a child created after every present one. Fails with `EEXIST` for a name
    /// that is present.
    fn insert(&mut self, child: EiRef) -> Result {
        let Err(k) = self.find(&child.name) else {
            return Err(EEXIST);
        };
        let idx = u32::try_from(self.by_seq.len()).map_err(|_| ENOSPC)?;
        self.by_seq.push(child, GFP_KERNEL)?;
        self.by_name.push(0, GFP_KERNEL)?;
        // Shift the index right of `k` and put the new child there.
        let n = self.by_name.len();
        self.by_name.copy_within(k..n - 1, k + 1);
        self.by_name[k] = idx;
        Ok(())
    }

    /// Removes the child named `name`.
    fn remove(&mut self, name: &[u8]) -> Option<EiRef> {
        let k = self.find(name).ok()?;
        let idx = self.by_name[k];
        let n = self.by_name.len();
        self.by_name.copy_within(k + 1..n, k);
        self.by_name.truncate(n - 1);
        for i in self.by_name.iter_mut() {
            if *i > idx {
                *i -= 1;
            }
        }
        self.by_seq.remove(idx as usize).ok()
    }

    fn len(&self) -> usize {
        self.by_seq.len()
    }
}

// --- the VFS view (called from fs.rs) -------------------------------------------------

/// `lookup`: a file of `dir`, or a live child directory.
pub(crate) fn lookup(dir: &EiRef, name: &[u8]) -> Option<Found<Ei>> {
    if dir.is_freed() {
        return None;
    }
    if let Some(i) = dir.kind.files().iter().position(|f| f.name() == name) {
        return Some(Found::File(i as u32));
    }
    let children = dir.children.as_ref()?;
    let guard = SrcuGuard::new();
    let child = children.read(&guard).get(name)?;
    if child.is_freed() {
        return None;
    }
    Some(Found::Dir(child.clone(), child.ino))
}

/// Whether dentries of `ei` are valid (docs/RULES.md rule 5). Lock-free.
pub(crate) fn is_live(ei: &Ei) -> bool {
    !ei.is_freed()
}

/// `readdir` from position `pos` (>= 2): the files at 2.., then the children at
/// `2 + nr_files + seq`. Positions come from creation order, so an entry that exists
/// throughout a directory walk is reported exactly once, whatever is created or removed
/// meanwhile (docs/RULES.md rule 7). Never creates dentries or inodes.
pub(crate) fn iterate(dir: &Ei, pos: i64, emit: &mut dyn FnMut(i64, i64, DirEntry<'_>) -> bool) {
    // A removed directory is empty, like any deleted directory that is still open.
    if dir.is_freed() {
        return;
    }
    let files = dir.kind.files();
    let base = 2 + files.len() as i64;
    let mut p = pos.max(2);
    while p < base {
        let f = files[(p - 2) as usize];
        let e = DirEntry {
            name: f.name(),
            ino: FILE_INO,
            is_dir: false,
        };
        if !emit(p, p + 1, e) {
            return;
        }
        p += 1;
    }
    let Some(children) = dir.children.as_ref() else {
        return;
    };
    if dir.is_freed() {
        return;
    }
    let guard = SrcuGuard::new();
    let d = children.read(&guard);
    let first = (p - base) as u64;
    let start = d.by_seq.partition_point(|c| c.seq < first);
    for c in d.by_seq[start..].iter() {
        if c.is_freed() {
            continue;
        }
        let at = base + c.seq as i64;
        let e = DirEntry {
            name: &c.name,
            ino: c.ino,
            is_dir: true,
        };
        if !emit(at, at + 1, e) {
            return;
        }
    }
}

/// Attributes of directory `ei` or of its file `file`.
pub(crate) fn attrs(ei: &Ei, file: Option<u32>) -> Attrs {
    match file {
        None => ei.attr.effective(DIR_PERM),
        Some(i) => {
            let i = i as usize;
            let perm = ei.kind.files().get(i).map_or(0o440, |f| f.default_perm());
            ei.file_attrs[i.min(MAX_FILES - 1)].effective(perm)
        }
    }
}

/// Records chmod/chown in the metadata, where it survives inode reclaim (docs/RULES.md rule 8).
pub(crate) fn set_attrs(ei: &Ei, file: Option<u32>, change: &AttrChange) -> Result {
    match file {
        None => ei.attr.change(change),
        Some(i) => ei.file_attrs.get(i as usize).ok_or(EINVAL)?.change(change),
    }
    Ok(())
}

/// The kind of file `file` of `ei`.
pub(crate) fn file_kind(ei: &Ei, file: u32) -> Result<FileKind> {
    ei.kind.files().get(file as usize).copied().ok_or(EINVAL)
}

// --- reading ---------------------------------------------------------------------------

/// A growable byte buffer to format into.
pub(crate) struct Text(pub(crate) KVec<u8>);

impl core::fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes(), GFP_KERNEL)
            .map_err(|_| core::fmt::Error)
    }
}

/// The content of file `kind` of `ei`, as of now.
pub(crate) fn content(ei: &Ei, kind: FileKind) -> Result<Text> {
    use core::fmt::Write;
    if ei.is_freed() {
        return Err(ENODEV);
    }
    let mut t = Text(KVec::new());
    let r = match kind {
        FileKind::DynamicEvents => list(ei, &mut t),
        FileKind::Enable => {
            let c = match &ei.kind {
                Kind::Event(e) => {
                    if e.enabled.load(Ordering::Relaxed) {
                        '1'
                    } else {
                        '0'
                    }
                }
                _ => {
                    let (on, off) = count_enabled(ei);
                    match (on, off) {
                        (0, _) => '0',
                        (_, 0) => '1',
                        _ => 'X',
                    }
                }
            };
            writeln!(t, "{c}")
        }
        FileKind::Id => writeln!(t, "{}", ei.event().ok_or(EINVAL)?.id),
        FileKind::Format => {
            let e = ei.event().ok_or(EINVAL)?;
            events::write_format(
                &mut t,
                &ei.name,
                e.id,
                e.fields.iter().map(|f| (f.ty, f.name.as_slice())),
            )
        }
    };
    r.map_err(|_| ENOMEM)?;
    Ok(t)
}

/// Counts enabled and disabled events below `ei`.
fn count_enabled(ei: &Ei) -> (usize, usize) {
    let mut on = 0;
    let mut off = 0;
    let guard = SrcuGuard::new();
    walk_events(ei, &guard, &mut |_, e| {
        if e.event()
            .is_some_and(|ev| ev.enabled.load(Ordering::Relaxed))
        {
            on += 1;
        } else {
            off += 1;
        }
    });
    (on, off)
}

/// Calls `f(group, event)` for every live event below `ei` (root or group), in creation
/// order, inside the read section `guard`.
fn walk_events<'a>(ei: &'a Ei, guard: &'a SrcuGuard, f: &mut dyn FnMut(&'a Ei, &'a Ei)) {
    let Some(children) = ei.children.as_ref() else {
        return;
    };
    for c in children.read(guard).by_seq.iter() {
        if c.is_freed() {
            continue;
        }
        match &c.kind {
            Kind::Event(_) => f(ei, c),
            _ => walk_events(c, guard, f),
        }
    }
}

/// The `dynamic_events` listing: one creating command per live event, in creation order
/// (as tracefs lists them).
fn list(root: &Ei, t: &mut Text) -> core::fmt::Result {
    let guard = SrcuGuard::new();
    let mut all: KVec<(&Ei, &Ei)> = KVec::new();
    let mut r = Ok(());
    walk_events(root, &guard, &mut |g, e| {
        if r.is_ok() && all.push((g, e), GFP_KERNEL).is_err() {
            r = Err(core::fmt::Error);
        }
    });
    r?;
    all.sort_unstable_by_key(|(_, e)| e.seq);
    for (g, e) in all.iter() {
        if let Some(ev) = e.event() {
            let fields = ev.fields.iter().map(|f| (f.ty, f.name.as_slice()));
            events::write_listing(t, &g.name, &e.name, fields)?;
        }
    }
    Ok(())
}

// --- writing ---------------------------------------------------------------------------

/// Writes `0`/`1` to the `enable` file of `ei` (an event, a group or the root).
pub(crate) fn write_enable(ei: &Ei, data: &[u8]) -> Result {
    let on = match data.trim_ascii() {
        b"0" => false,
        b"1" => true,
        _ => return Err(EINVAL),
    };
    // Under the writer mutex, so that a removal's EBUSY check sees a settled state.
    let _st = TREE.lock();
    if ei.is_freed() {
        return Err(ENODEV);
    }
    match &ei.kind {
        Kind::Event(e) => e.enabled.store(on, Ordering::Relaxed),
        _ => {
            let guard = SrcuGuard::new();
            walk_events(ei, &guard, &mut |_, e| {
                if let Some(ev) = e.event() {
                    ev.enabled.store(on, Ordering::Relaxed);
                }
            });
        }
    }
    Ok(())
}

/// Logs why a `dynamic_events` line was refused.
fn refuse(e: ParseError) -> Error {
    pr_info!("{}\n", e.message());
    EINVAL
}

/// A write to `dynamic_events` on an open file whose unfinished line is `pending`.
///
/// Complete lines are applied as one batch: all of them or none (a partial failure leaves
/// nothing behind). The unfinished end of a write is kept in `pending` and completed by
/// the file's next write (or applied at its last close), so writers may cut their
/// buffers anywhere. A write without any newline, on a file with nothing pending, is one
/// whole command (`echo -n`), so that its errors reach the writer.
pub(crate) fn write_dynamic_events(pending: &mut KVec<u8>, data: &[u8]) -> Result {
    if pending.is_empty() && !data.contains(&b'\n') {
        return apply_batch(data);
    }
    let mut buf = core::mem::take(pending);
    buf.extend_from_slice(data, GFP_KERNEL)?;
    let used = buf
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |last| last + 1);
    apply_batch(&buf[..used])?;
    pending.extend_from_slice(&buf[used..], GFP_KERNEL)?;
    Ok(())
}

/// The last close of a `dynamic_events` file: applies an unfinished last line. Its
/// errors can only be logged.
pub(crate) fn flush_dynamic_events(pending: &mut KVec<u8>) {
    if !pending.is_empty() {
        if let Err(e) = apply_batch(pending) {
            pr_info!("dynamic_events: last line refused at close: {:?}\n", e);
        }
        pending.clear();
    }
}

/// Applies complete command lines, all or none.
fn apply_batch(data: &[u8]) -> Result {
    let mut cmds = KVec::new();
    for line in events::lines(data) {
        if let Some(c) = events::parse_line(line).map_err(refuse)? {
            cmds.push(c, GFP_KERNEL)?;
        }
    }
    if cmds.is_empty() {
        return Ok(());
    }
    let mut st = TREE.lock();
    // docs/RULES.md rule 9: nothing allocated under the writer mutex may recurse into fs reclaim.
    let _nofs = NofsScope::new();
    let root = st.root.clone().ok_or(ENODEV)?;
    let mut w = Work::new(&root)?;
    for c in cmds.iter() {
        match c {
            Command::Create(spec) => w.create(&mut st, spec)?,
            Command::Remove { group, event } => w.remove(group, event, false)?,
        }
    }
    w.commit()
}

/// `O_TRUNC` on `dynamic_events`: removes every event, or none if one is enabled.
pub(crate) fn truncate() -> Result {
    let mut st = TREE.lock();
    let _nofs = NofsScope::new();
    remove_all(&mut st, false)
}

fn remove_all(st: &mut State, force: bool) -> Result {
    let root = st.root.clone().ok_or(ENODEV)?;
    let mut w = Work::new(&root)?;
    let mut names = KVec::new();
    {
        let guard = SrcuGuard::new();
        let mut r = Ok(());
        walk_events(&root, &guard, &mut |g, e| {
            if r.is_ok() {
                r = copy(&g.name)
                    .and_then(|g| Ok((g, copy(&e.name)?)))
                    .and_then(|p| Ok(names.push(p, GFP_KERNEL)?));
            }
        });
        r?;
    }
    for (g, e) in names.iter() {
        w.remove(g, e, force)?;
    }
    w.commit()
}

/// A batch of changes, made on copies of the directories it touches and published all
/// at once by [`Work::commit`], which cannot fail.
struct Work {
    root: EiRef,
    /// Edited copy of the root's children, if touched.
    root_dir: Option<Dir>,
    /// Touched groups and the edited copies of their children. A group emptied by the
    /// batch is removed from the tree (`gone`): a later create in the same batch makes a
    /// new group of that name.
    groups: KVec<WorkGroup>,
    /// Nodes to mark freed on commit.
    removed: KVec<EiRef>,
}

/// A group touched by a batch.
struct WorkGroup {
    ei: EiRef,
    dir: Dir,
    gone: bool,
}

impl Work {
    fn new(root: &EiRef) -> Result<Work> {
        Ok(Work {
            root: root.clone(),
            root_dir: None,
            groups: KVec::new(),
            removed: KVec::new(),
        })
    }

    fn root_dir(&mut self) -> Result<&mut Dir> {
        if self.root_dir.is_none() {
            let cur = self.root.children.as_ref().ok_or(EINVAL)?.read_locked();
            self.root_dir = Some(cur.try_clone()?);
        }
        self.root_dir.as_mut().ok_or(EINVAL)
    }

    /// The edited children of group `name`, if it exists (in the batch's view).
    fn group(&mut self, name: &[u8]) -> Result<Option<usize>> {
        if let Some(i) = self
            .groups
            .iter()
            .position(|w| !w.gone && w.ei.name.as_slice() == name)
        {
            return Ok(Some(i));
        }
        let Some(g) = self.root_dir()?.get(name).cloned() else {
            return Ok(None);
        };
        let dir = g
            .children
            .as_ref()
            .ok_or(EINVAL)?
            .read_locked()
            .try_clone()?;
        self.groups.push(
            WorkGroup {
                ei: g,
                dir,
                gone: false,
            },
            GFP_KERNEL,
        )?;
        Ok(Some(self.groups.len() - 1))
    }

    fn create(&mut self, st: &mut State, spec: &EventSpec<'_>) -> Result {
        let gi = match self.group(spec.group)? {
            Some(i) => i,
            None => {
                let g = Ei::new(st, copy(spec.group)?, Kind::Group, true)?;
                self.root_dir()?.insert(g.clone())?;
                let w = WorkGroup {
                    ei: g,
                    dir: Dir::empty(),
                    gone: false,
                };
                self.groups.push(w, GFP_KERNEL)?;
                self.groups.len() - 1
            }
        };
        if self.groups[gi].dir.get(spec.event).is_some() {
            return Err(EEXIST);
        }
        let mut fields = KVec::with_capacity(spec.fields().len(), GFP_KERNEL)?;
        for f in spec.fields() {
            fields.push(
                FieldDef {
                    ty: f.ty,
                    name: copy(f.name)?,
                },
                GFP_KERNEL,
            )?;
        }
        let id = st.next_id;
        st.next_id = st.next_id.checked_add(1).ok_or(ENOSPC)?;
        let ev = Event {
            id,
            enabled: AtomicBool::new(false),
            fields,
        };
        let e = Ei::new(st, copy(spec.event)?, Kind::Event(ev), false)?;
        self.groups[gi].dir.insert(e)
    }

    fn remove(&mut self, group: &[u8], event: &[u8], force: bool) -> Result {
        let gi = self.group(group)?.ok_or(ENOENT)?;
        let dir = &mut self.groups[gi].dir;
        let e = dir.get(event).ok_or(ENOENT)?;
        if !force
            && e.event()
                .is_some_and(|ev| ev.enabled.load(Ordering::Relaxed))
        {
            return Err(EBUSY);
        }
        let e = dir.remove(event).ok_or(ENOENT)?;
        let empty = dir.len() == 0;
        self.removed.push(e, GFP_KERNEL)?;
        if empty {
            // The group goes with its last event.
            self.groups[gi].gone = true;
            let g = self.root_dir()?.remove(group).ok_or(ENOENT)?;
            self.removed.push(g, GFP_KERNEL)?;
        }
        Ok(())
    }

    fn commit(mut self) -> Result {
        // Allocate every node to publish first: after this, nothing can fail.
        let mut prepared = KVec::with_capacity(self.groups.len(), GFP_KERNEL)?;
        for w in self.groups.drain_all() {
            prepared.push((w.ei, SrcuCell::prepare(w.dir, GFP_KERNEL)?), GFP_KERNEL)?;
        }
        let root_prepared = match self.root_dir.take() {
            Some(d) => Some(SrcuCell::prepare(d, GFP_KERNEL)?),
            None => None,
        };
        for e in self.removed.iter() {
            e.freed.store(true, Ordering::Release);
        }
        for (g, p) in prepared.drain_all() {
            if let Some(c) = g.children.as_ref() {
                c.replace(p);
            }
        }
        if let (Some(p), Some(c)) = (root_prepared, self.root.children.as_ref()) {
            c.replace(p);
        }
        Ok(())
    }
}

/// A copy of a validated name.
fn copy(name: &[u8]) -> Result<KVec<u8>> {
    let mut v = KVec::with_capacity(name.len(), GFP_KERNEL)?;
    v.extend_from_slice(name, GFP_KERNEL)?;
    Ok(v)
}
