// SPDX-License-Identifier: GPL-2.0

//! The metadata tree: one [`Ei`] (eventfs inode) for the root, each group and each
//! event, and the registry of events that `dynamic_events` edits. Safe Rust only: the
//! lifetimes it relies on are the types of `vfs::rcu` and `vfs::xarray`.
//!
//! Who owns what:
//! - The registry [`TREE`] owns the root's [`EiRef`].
//! - A directory's children are a [`Children`] cell: the published [`Dir`] owns one
//!   reference to every child. Writers (holding [`TREE`], whose guard the cell demands)
//!   publish a new `Dir`; the old one, and with it the references to removed children,
//!   goes after an SRCU grace period (docs/RULES.md rule 4). Readers (`lookup`,
//!   `readdir`) use the published `Dir` inside an SRCU read section and take their own
//!   reference before leaving it (rule 3).
//! - The root's [`Registry`] owns one more reference to every event, indexed by creation
//!   order: the `dynamic_events` listing walks it. An erased reference is dropped after
//!   an SRCU grace period too.
//! - An event owns a reference to its group (for the listing); a group is removed only
//!   once it has no events, so this never forms a cycle that outlives a removal.
//! - Dentries own references through `d_fsdata` (see `vfs::node`).
//! - A node's memory goes an RCU grace period after its last reference (`RcuArc`).

use kernel::{
    bindings,
    prelude::*,
    sync::atomic::{ordering, Atomic},
    sync::GlobalGuard,
};

use crate::events::{self, Command, EventSpec, FieldType, ParseError};
use crate::vfs::{
    self, AttrChange, Attrs, DirEntry, Found, Kgid, Kuid, NofsScope, Prepared, RcuArc, RcuXArray,
    SeqOut, SrcuCell, SrcuGuard, WriteSource,
};

/// A counted reference to a node.
pub(crate) type EiRef = RcuArc<Ei>;

/// Proof that the writer mutex [`TREE`] is held.
pub(crate) type TreeGuard = GlobalGuard<TREE>;

/// A directory's children, replaced by writers holding [`TREE`].
type Children = SrcuCell<Dir, TreeGuard>;

/// Every live event by creation sequence number, for the `dynamic_events` listing.
type Registry = RcuXArray<Ei, TreeGuard>;

/// Inode number shared by all regular files (they are told apart by name).
pub(crate) const FILE_INO: u64 = 2;
/// First inode number of a non-root directory (1 is the root).
const FIRST_DIR_INO: u64 = 16;
/// Largest write to an `enable` file ("1\n" and some blanks are what it takes).
const MAX_ENABLE_WRITE: usize = 64;

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
pub(crate) fn init() -> Result {
    // SAFETY: Called once, before any other use of `TREE`.
    unsafe { TREE.init() };
    let mut st = TREE.lock();
    let root = Ei::new(&mut st, KVec::new(), Kind::Root(Registry::new()?))?;
    st.root = Some(root);
    Ok(())
}

/// A reference to the root node, for a new superblock.
pub(crate) fn root() -> Result<EiRef> {
    TREE.lock().root.clone().ok_or(ENODEV)
}

/// Tears the registry down at module exit (nothing is mounted then).
pub(crate) fn exit() {
    let root = {
        let mut st = TREE.lock();
        let _nofs = NofsScope::new();
        // Removing with events enabled is refused to users, not at unload.
        if let Err(e) = remove_all(&st, true) {
            pr_err!("could not remove the events at unload: {:?}\n", e);
        }
        st.root.take()
    };
    drop(root);
}

// --- attributes ------------------------------------------------------------------------

const PERM_MASK: u32 = 0o7777;
const MODE_SET: u32 = 1 << 16;
const UID_SET: u32 = 1 << 17;
const GID_SET: u32 = 1 << 18;

/// Generations of mount-wide ownership: a remount that gives `uid=` (`gid=`) takes a new
/// one, which voids every earlier chown (chgrp) without walking anything (rule 8). Global
/// and only ever growing, so that a new superblock after a full umount continues where the
/// last one stopped: what was chown'ed stays chown'ed, as in tracefs, whose metadata also
/// outlives its superblocks.
static OWNER_GEN: Atomic<u32> = Atomic::new(0);

/// An id and the generation it belongs to, packed in one word so that readers never see
/// the id of one change with the generation of another.
fn pack(id: u32, generation: u32) -> u64 {
    u64::from(id) | (u64::from(generation) << 32)
}

fn unpack(v: u64) -> (u32, u32) {
    (v as u32, (v >> 32) as u32)
}

/// The ownership every untouched entry of one superblock follows: its `uid=`/`gid=`.
pub(crate) struct MountOwner {
    uid: Atomic<u64>,
    gid: Atomic<u64>,
}

impl MountOwner {
    /// The ownership of a new superblock (root when not given).
    pub(crate) fn new(uid: Kuid, gid: Kgid) -> MountOwner {
        let g = OWNER_GEN.load(ordering::Acquire);
        MountOwner {
            uid: Atomic::new(pack(uid.0.val, g)),
            gid: Atomic::new(pack(gid.0.val, g)),
        }
    }

    /// Sets up the ownership of a superblock being filled (nothing reads it yet).
    pub(crate) fn reset(&self, uid: Kuid, gid: Kgid) {
        let g = OWNER_GEN.load(ordering::Acquire);
        self.uid.store(pack(uid.0.val, g), ordering::Release);
        self.gid.store(pack(gid.0.val, g), ordering::Release);
    }

    /// A remount: what it names becomes the ownership of every entry, chown'ed or not.
    pub(crate) fn remount(&self, uid: Option<Kuid>, gid: Option<Kgid>) {
        if let Some(u) = uid {
            let g = OWNER_GEN.fetch_add(1, ordering::Full) + 1;
            self.uid.store(pack(u.0.val, g), ordering::Release);
        }
        if let Some(gr) = gid {
            let g = OWNER_GEN.fetch_add(1, ordering::Full) + 1;
            self.gid.store(pack(gr.0.val, g), ordering::Release);
        }
    }
}

/// Mode and ownership of one entry as chmod/chown left them.
struct Attr {
    /// Permission bits and the `*_SET` flags.
    bits: Atomic<u32>,
    /// Owner and the [`OWNER_GEN`] generation of the chown (see [`pack`]).
    uid: Atomic<u64>,
    /// Group and the generation of the chgrp.
    gid: Atomic<u64>,
}

impl Attr {
    const fn new() -> Attr {
        Attr {
            bits: Atomic::new(0),
            uid: Atomic::new(0),
            gid: Atomic::new(0),
        }
    }

    /// The attributes in force: what chmod/chown set, else the mount's. Lock-free
    /// (called in RCU-walk).
    fn effective(&self, mount: &MountOwner, default_perm: u16) -> Attrs {
        let bits = self.bits.load(ordering::Acquire);
        let perm = if bits & MODE_SET != 0 {
            (bits & PERM_MASK) as u16
        } else {
            default_perm
        };
        let pick = |set: bool, own: &Atomic<u64>, mount: &Atomic<u64>| {
            let (mid, mgen) = unpack(mount.load(ordering::Acquire));
            if set {
                let (id, generation) = unpack(own.load(ordering::Relaxed));
                if generation == mgen {
                    return id;
                }
            }
            mid
        };
        let uid = pick(bits & UID_SET != 0, &self.uid, &mount.uid);
        let gid = pick(bits & GID_SET != 0, &self.gid, &mount.gid);
        Attrs {
            perm,
            uid: Kuid(bindings::kuid_t { val: uid }),
            gid: Kgid(bindings::kgid_t { val: gid }),
        }
    }

    fn change(&self, mount: &MountOwner, c: &AttrChange) {
        if let Some(u) = c.uid {
            let (_, g) = unpack(mount.uid.load(ordering::Acquire));
            self.uid.store(pack(u.0.val, g), ordering::Relaxed);
            // Release: the owner is visible before the flag that says it is set.
            self.update_bits(|b| b | UID_SET);
        }
        if let Some(gr) = c.gid {
            let (_, g) = unpack(mount.gid.load(ordering::Acquire));
            self.gid.store(pack(gr.0.val, g), ordering::Relaxed);
            self.update_bits(|b| b | GID_SET);
        }
        if let Some(p) = c.perm {
            self.update_bits(|b| (b & !PERM_MASK) | MODE_SET | (u32::from(p) & PERM_MASK));
        }
    }

    /// Replaces `bits` by `f(bits)` atomically, with Release ordering.
    fn update_bits(&self, f: impl Fn(u32) -> u32) {
        let mut old = self.bits.load(ordering::Relaxed);
        while let Err(cur) = self.bits.cmpxchg(old, f(old), ordering::Release) {
            old = cur;
        }
    }
}

/// The attributes of a directory and its files, allocated on the first chmod/chown of
/// any of them (most entries are never changed, and cost one pointer).
struct AttrBlock {
    dir: Attr,
    files: [Attr; MAX_FILES],
}

/// Where a node keeps its [`AttrBlock`].
///
/// # Invariants
///
/// `ptr` is null or a `KBox<AttrBlock>` leaked by [`NodeAttrs::get_or_alloc`], owned by
/// this value and freed on drop (with the node, an RCU grace period after its last
/// reference, so RCU-walk readers are covered).
struct NodeAttrs {
    ptr: Atomic<*mut AttrBlock>,
}

// SAFETY: The block is only read through shared references and changed through atomics.
unsafe impl Send for NodeAttrs {}
// SAFETY: As above.
unsafe impl Sync for NodeAttrs {}

impl NodeAttrs {
    const fn new() -> NodeAttrs {
        NodeAttrs {
            ptr: Atomic::new(core::ptr::null_mut()),
        }
    }

    fn get(&self) -> Option<&AttrBlock> {
        let p = self.ptr.load(ordering::Acquire);
        // SAFETY: Non-null means a block owned by `self` until drop (type invariant).
        (!p.is_null()).then(|| unsafe { &*p })
    }

    fn get_or_alloc(&self) -> Result<&AttrBlock> {
        if let Some(b) = self.get() {
            return Ok(b);
        }
        let block = KBox::new(
            AttrBlock {
                dir: Attr::new(),
                files: [const { Attr::new() }; MAX_FILES],
            },
            GFP_KERNEL,
        )?;
        let p = KBox::into_raw(block);
        match self.ptr.cmpxchg(core::ptr::null_mut(), p, ordering::Full) {
            Ok(_) => {}
            Err(_) => {
                // Another chmod/chown installed one first: use it.
                // SAFETY: `p` was never published.
                drop(unsafe { KBox::from_raw(p) });
            }
        }
        self.get().ok_or(ENOMEM)
    }
}

impl Drop for NodeAttrs {
    fn drop(&mut self) {
        let p = *self.ptr.get_mut();
        if !p.is_null() {
            // SAFETY: Owned by `self` (type invariant); nothing can reach it any more.
            drop(unsafe { KBox::from_raw(p) });
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
    enabled: Atomic<bool>,
    fields: KVec<FieldDef>,
    /// The group the event was created in (for the listing).
    group: EiRef,
}

/// What a node is.
pub(crate) enum Kind {
    /// The root directory, with the registry of all events.
    Root(Registry),
    /// A group directory: its children are events.
    Group,
    /// An event directory.
    Event(Event),
}

impl Kind {
    fn files(&self) -> &'static [FileKind] {
        match self {
            Kind::Root(_) => &ROOT_FILES,
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
    freed: Atomic<bool>,
    kind: Kind,
    attrs: NodeAttrs,
    /// The children (root: groups; group: events).
    children: Option<Children>,
}

impl Ei {
    fn new(st: &mut State, name: KVec<u8>, kind: Kind) -> Result<EiRef> {
        let children = match kind {
            Kind::Event(_) => None,
            _ => Some(Children::new(Children::prepare(Dir::empty(), GFP_KERNEL)?)),
        };
        let ino = if matches!(kind, Kind::Root(_)) {
            1
        } else {
            st.next_ino
        };
        let ei = RcuArc::new(
            Ei {
                name,
                seq: st.next_seq,
                ino,
                freed: Atomic::new(false),
                kind,
                attrs: NodeAttrs::new(),
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
        self.freed.load(ordering::Acquire)
    }

    fn event(&self) -> Option<&Event> {
        match &self.kind {
            Kind::Event(e) => Some(e),
            _ => None,
        }
    }

    fn registry(&self) -> Option<&Registry> {
        match &self.kind {
            Kind::Root(r) => Some(r),
            _ => None,
        }
    }
}

/// A published list of children: in creation order for readdir, with an index by name
/// for lookup (rule 11: no linear walk over siblings). Both grow with the directory, so
/// they are `KVVec`s: no high-order allocation however many events a group holds.
pub(crate) struct Dir {
    by_seq: KVVec<EiRef>,
    /// Indexes into `by_seq`, sorted by name.
    by_name: KVVec<u32>,
}

impl Dir {
    fn empty() -> Dir {
        Dir {
            by_seq: KVVec::new(),
            by_name: KVVec::new(),
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
            by_seq: KVVec::with_capacity(self.by_seq.len() + 1, GFP_KERNEL)?,
            by_name: KVVec::with_capacity(self.by_name.len() + 1, GFP_KERNEL)?,
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
    let mut list = children.read(&guard);
    loop {
        let child = list.get(name)?;
        if !child.is_freed() {
            return Some(Found::Dir(child.clone(), child.ino));
        }
        // Removed. A batch that removed and re-created this name published the list with
        // the new node before it marked the old one freed: seeing the mark (Acquire)
        // guarantees that the list loaded now is at least that new one.
        let now = children.read(&guard);
        if core::ptr::eq(now, list) {
            return None;
        }
        list = now;
    }
}

/// Whether dentries of `ei` are valid (rule 5). Lock-free.
pub(crate) fn is_live(ei: &Ei) -> bool {
    !ei.is_freed()
}

/// `readdir` from position `pos` (>= 2): the files at 2.., then the children at
/// `2 + nr_files + seq`. Positions come from creation order, so an entry that exists
/// throughout a directory walk is reported exactly once, whatever is created or removed
/// meanwhile (rule 7). Never creates dentries or inodes.
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

/// Attributes of directory `ei` or of its file `file`, for a superblock whose untouched
/// entries belong to `mount`.
pub(crate) fn attrs(mount: &MountOwner, ei: &Ei, file: Option<u32>) -> Attrs {
    let block = ei.attrs.get();
    match file {
        None => match block {
            Some(b) => b.dir.effective(mount, DIR_PERM),
            None => Attr::new().effective(mount, DIR_PERM),
        },
        Some(i) => {
            let i = i as usize;
            let perm = ei.kind.files().get(i).map_or(0o440, |f| f.default_perm());
            match block.and_then(|b| b.files.get(i)) {
                Some(a) => a.effective(mount, perm),
                None => Attr::new().effective(mount, perm),
            }
        }
    }
}

/// Allocates what [`set_attrs`] records into, so that it cannot fail.
pub(crate) fn prepare_attrs(ei: &Ei) -> Result {
    ei.attrs.get_or_alloc().map(|_| ())
}

/// Records chmod/chown in the metadata, where it survives inode reclaim (rule 8).
pub(crate) fn set_attrs(mount: &MountOwner, ei: &Ei, file: Option<u32>, change: &AttrChange) {
    let Some(block) = ei.attrs.get() else {
        // `prepare_attrs` always runs first.
        return;
    };
    let attr = match file {
        None => Some(&block.dir),
        Some(i) => block.files.get(i as usize),
    };
    if let Some(a) = attr {
        a.change(mount, change);
    }
}

/// The kind of file `file` of `ei`.
pub(crate) fn file_kind(ei: &Ei, file: u32) -> Result<FileKind> {
    ei.kind.files().get(file as usize).copied().ok_or(EINVAL)
}

// --- reading ---------------------------------------------------------------------------

/// Where an open file's reader is: the record `seq_show` prints next.
pub(crate) enum Cursor {
    /// Nothing (between reads).
    None,
    /// The single record of `enable`, `id` and `format`.
    Whole,
    /// An event of the `dynamic_events` listing (a counted reference: the event may be
    /// removed while it is being printed, and still prints as it was).
    Event(EiRef),
}

/// Positions a reader of file `kind` of `ei` on the first record at or after `pos`.
/// Returns the record's key (the `seq_file` position).
pub(crate) fn seek(ei: &Ei, kind: FileKind, pos: u64, cursor: &mut Cursor) -> Option<u64> {
    *cursor = Cursor::None;
    match kind {
        FileKind::DynamicEvents => {
            let registry = ei.registry()?;
            let guard = SrcuGuard::new();
            let (key, e) = registry.find(usize::try_from(pos).ok()?, &guard)?;
            *cursor = Cursor::Event(e);
            Some(key as u64)
        }
        _ if pos == 0 => {
            *cursor = Cursor::Whole;
            Some(0)
        }
        _ => None,
    }
}

/// Prints the record `cursor` points at: the content of file `kind` of `ei`.
pub(crate) fn show(ei: &Ei, kind: FileKind, cursor: &Cursor, out: &mut SeqOut<'_>) -> Result {
    use core::fmt::Write;
    if ei.is_freed() {
        return Err(ENODEV);
    }
    let r = match (kind, cursor) {
        (FileKind::DynamicEvents, Cursor::Event(e)) => {
            let Some(ev) = e.event() else {
                return Err(EINVAL);
            };
            let fields = ev.fields.iter().map(|f| (f.ty, f.name.as_slice()));
            events::write_listing(out, &ev.group.name, &e.name, fields)
        }
        (FileKind::Enable, Cursor::Whole) => {
            let c = match &ei.kind {
                Kind::Event(e) => {
                    if e.enabled.load(ordering::Relaxed) {
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
            writeln!(out, "{c}")
        }
        (FileKind::Id, Cursor::Whole) => writeln!(out, "{}", ei.event().ok_or(EINVAL)?.id),
        (FileKind::Format, Cursor::Whole) => {
            let e = ei.event().ok_or(EINVAL)?;
            events::write_format(
                out,
                &ei.name,
                e.id,
                e.fields.iter().map(|f| (f.ty, f.name.as_slice())),
            )
        }
        _ => return Err(EINVAL),
    };
    // `SeqOut` never fails: an overflow is retried by `seq_read` with a larger buffer.
    r.map_err(|_| EINVAL)
}

/// Counts enabled and disabled events below `ei`.
fn count_enabled(ei: &Ei) -> (usize, usize) {
    let mut on = 0;
    let mut off = 0;
    let guard = SrcuGuard::new();
    walk_events(ei, &guard, &mut |_, e| {
        if e.event()
            .is_some_and(|ev| ev.enabled.load(ordering::Relaxed))
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

// --- writing ---------------------------------------------------------------------------

/// Writes `0`/`1` to the `enable` file of `ei` (an event, a group or the root).
pub(crate) fn write_enable(ei: &Ei, src: &mut WriteSource<'_>) -> Result<usize> {
    let n = src.remaining();
    if n > MAX_ENABLE_WRITE {
        return Err(EINVAL);
    }
    let mut buf = [0u8; MAX_ENABLE_WRITE];
    let data = src.read_piece(&mut buf)?;
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
        Kind::Event(e) => e.enabled.store(on, ordering::Relaxed),
        _ => {
            let guard = SrcuGuard::new();
            walk_events(ei, &guard, &mut |_, e| {
                if let Some(ev) = e.event() {
                    ev.enabled.store(on, ordering::Relaxed);
                }
            });
        }
    }
    Ok(n)
}

/// Logs, rate-limited (a user can write refused lines in a loop), why a line was refused.
fn refuse(msg: &str) -> Error {
    if vfs::ratelimit() {
        pr_info!("{}\n", msg);
    }
    EINVAL
}

/// A write to `dynamic_events` on an open file whose unfinished line is `pending`.
///
/// The write is copied in pieces of one page and cut into lines as it comes; every
/// complete line is applied to one batch, which is published at the end: all of the
/// write's lines or none (a partial failure leaves nothing behind). Memory per write is
/// two pages plus what the batch creates, whatever the size of the write. A line longer
/// than [`events::MAX_LINE_LEN`] is refused with mainline's message. The unfinished end of
/// a write is kept in `pending` and completed by the file's next write (or applied at its
/// last close), so writers may cut their buffers anywhere; a failed write leaves
/// `pending` as it was. A write without any newline, on a file with nothing pending, is
/// one whole command (`echo -n`), so that its errors reach the writer.
pub(crate) fn write_dynamic_events(
    pending: &mut KVec<u8>,
    src: &mut WriteSource<'_>,
) -> Result<usize> {
    let total = src.remaining();
    let was_pending = !pending.is_empty();
    // Allocated before the mutex, bounded: one piece, and one line being assembled.
    let mut piece = KVec::from_elem(0u8, PIECE, GFP_KERNEL)?;
    let mut line = KVec::with_capacity(events::MAX_LINE_LEN + 1, GFP_KERNEL)?;
    line.extend_from_slice(pending, GFP_KERNEL)?;
    let mut newline = false;

    let mut st = TREE.lock();
    // Rule 9: nothing allocated under the writer mutex may recurse into fs reclaim.
    let _nofs = NofsScope::new();
    let mut w = Work::new(&st)?;
    while src.remaining() > 0 {
        let data = src.read_piece(&mut piece)?;
        for (i, part) in data.split(|&c| c == b'\n').enumerate() {
            if i > 0 {
                newline = true;
                w.apply_line(&mut st, &line)?;
                line.clear();
            }
            if line.len() + part.len() > events::MAX_LINE_LEN {
                return Err(refuse(events::LINE_TOO_LONG));
            }
            line.extend_from_slice(part, GFP_KERNEL)?;
        }
    }
    if !newline && !was_pending {
        w.apply_line(&mut st, &line)?;
        line.clear();
    }
    w.commit(&st)?;
    // Only now that the write succeeded does its unfinished line replace the old one
    // (the line buffer already holds the old pending bytes in front).
    core::mem::swap(pending, &mut line);
    Ok(total)
}

/// Bytes of a write copied at a time.
const PIECE: usize = 4096;

/// The last close of a `dynamic_events` file: applies an unfinished last line. Its
/// errors can only be logged.
pub(crate) fn flush_dynamic_events(pending: &mut KVec<u8>) {
    if pending.is_empty() {
        return;
    }
    let mut st = TREE.lock();
    let _nofs = NofsScope::new();
    let r = Work::new(&st).and_then(|mut w| {
        w.apply_line(&mut st, pending)?;
        w.commit(&st)
    });
    if let Err(e) = r {
        if vfs::ratelimit() {
            pr_info!("dynamic_events: last line refused at close: {:?}\n", e);
        }
    }
    pending.clear();
}

/// `O_TRUNC` on `dynamic_events`: removes every event, or none if one is enabled.
pub(crate) fn truncate() -> Result {
    let st = TREE.lock();
    let _nofs = NofsScope::new();
    remove_all(&st, false)
}

fn remove_all(st: &TreeGuard, force: bool) -> Result {
    let root = st.root.clone().ok_or(ENODEV)?;
    let mut w = Work::new(st)?;
    let mut all: KVVec<EiRef> = KVVec::new();
    let groups = root.children.as_ref().ok_or(EINVAL)?.read_locked(st);
    for g in groups.by_seq.iter() {
        for e in g
            .children
            .as_ref()
            .ok_or(EINVAL)?
            .read_locked(st)
            .by_seq
            .iter()
        {
            all.push(e.clone(), GFP_KERNEL)?;
        }
    }
    for e in all.iter() {
        let group = &e.event().ok_or(EINVAL)?.group;
        w.remove(st, &group.name, &e.name, force)?;
    }
    w.commit(st)
}

/// A batch of changes, made on copies of the directories it touches and published all
/// at once by [`Work::commit`], whose publishing part cannot fail.
struct Work {
    root: EiRef,
    /// Edited copy of the root's children, if touched.
    root_dir: Option<Dir>,
    /// Touched groups and the edited copies of their children. A group emptied by the
    /// batch is removed from the tree (`gone`): a later create in the same batch makes a
    /// new group of that name.
    groups: KVec<WorkGroup>,
    /// Nodes to mark freed on commit.
    removed: KVVec<EiRef>,
    /// Events created by the batch, to enter into the registry on commit.
    created: KVVec<EiRef>,
}

/// A group touched by a batch.
struct WorkGroup {
    ei: EiRef,
    dir: Dir,
    gone: bool,
}

impl Work {
    fn new(st: &TreeGuard) -> Result<Work> {
        Ok(Work {
            root: st.root.clone().ok_or(ENODEV)?,
            root_dir: None,
            groups: KVec::new(),
            removed: KVVec::new(),
            created: KVVec::new(),
        })
    }

    /// Parses one command line and applies it to the batch.
    fn apply_line(&mut self, st: &mut TreeGuard, line: &[u8]) -> Result {
        match events::parse_line(line).map_err(|e: ParseError| refuse(e.message()))? {
            None => Ok(()),
            Some(Command::Create(spec)) => self.create(st, &spec),
            Some(Command::Remove { group, event }) => self.remove(st, group, event, false),
        }
    }

    fn root_dir(&mut self, st: &TreeGuard) -> Result<&mut Dir> {
        if self.root_dir.is_none() {
            let cur = self.root.children.as_ref().ok_or(EINVAL)?.read_locked(st);
            self.root_dir = Some(cur.try_clone()?);
        }
        self.root_dir.as_mut().ok_or(EINVAL)
    }

    /// The edited children of group `name`, if it exists (in the batch's view).
    fn group(&mut self, st: &TreeGuard, name: &[u8]) -> Result<Option<usize>> {
        if let Some(i) = self
            .groups
            .iter()
            .position(|w| !w.gone && w.ei.name.as_slice() == name)
        {
            return Ok(Some(i));
        }
        let Some(g) = self.root_dir(st)?.get(name).cloned() else {
            return Ok(None);
        };
        let dir = g
            .children
            .as_ref()
            .ok_or(EINVAL)?
            .read_locked(st)
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

    fn create(&mut self, st: &mut TreeGuard, spec: &EventSpec<'_>) -> Result {
        let gi = match self.group(st, spec.group)? {
            Some(i) => i,
            None => {
                let g = Ei::new(st, copy(spec.group)?, Kind::Group)?;
                self.root_dir(st)?.insert(g.clone())?;
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
            enabled: Atomic::new(false),
            fields,
            group: self.groups[gi].ei.clone(),
        };
        let e = Ei::new(st, copy(spec.event)?, Kind::Event(ev))?;
        self.created.push(e.clone(), GFP_KERNEL)?;
        self.groups[gi].dir.insert(e)
    }

    fn remove(&mut self, st: &TreeGuard, group: &[u8], event: &[u8], force: bool) -> Result {
        let gi = self.group(st, group)?.ok_or(ENOENT)?;
        let dir = &mut self.groups[gi].dir;
        let e = dir.get(event).ok_or(ENOENT)?;
        if !force
            && e.event()
                .is_some_and(|ev| ev.enabled.load(ordering::Relaxed))
        {
            return Err(EBUSY);
        }
        let e = dir.remove(event).ok_or(ENOENT)?;
        let empty = dir.len() == 0;
        // An event this batch created (kept in creation order) never enters the registry.
        if let Ok(k) = self.created.binary_search_by_key(&e.seq, |c| c.seq) {
            let _ = self.created.remove(k);
        }
        self.removed.push(e, GFP_KERNEL)?;
        if empty {
            // The group goes with its last event.
            self.groups[gi].gone = true;
            let g = self.root_dir(st)?.remove(group).ok_or(ENOENT)?;
            self.removed.push(g, GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Publishes the batch. Everything that can fail (allocating the lists to publish,
    /// reserving registry slots) happens first; from the first publication on, nothing
    /// can fail, so the batch is applied whole or not at all.
    fn commit(mut self, st: &TreeGuard) -> Result {
        let registry = self.root.registry().ok_or(EINVAL)?;
        let mut prepared = KVec::with_capacity(self.groups.len(), GFP_KERNEL)?;
        for w in self.groups.drain_all() {
            prepared.push((w.ei, Children::prepare(w.dir, GFP_KERNEL)?), GFP_KERNEL)?;
        }
        let root_prepared = match self.root_dir.take() {
            Some(d) => Some(Children::prepare(d, GFP_KERNEL)?),
            None => None,
        };
        // The registry's references to removed events go after a grace period.
        let mut retired = Prepared::new(
            KVVec::with_capacity(self.removed.len(), GFP_KERNEL)?,
            GFP_KERNEL,
        )?;
        for (k, e) in self.created.iter().enumerate() {
            if let Err(err) = registry.reserve(e.seq as usize, st) {
                for r in self.created.iter().take(k) {
                    registry.release(r.seq as usize, st);
                }
                return Err(err);
            }
        }

        // --- nothing below can fail ---
        // Publish the new lists before marking anything freed: a batch that removes and
        // re-creates a name never makes a reader miss it (see `lookup`).
        for (g, p) in prepared.drain_all() {
            if let Some(c) = g.children.as_ref() {
                c.replace(p, st);
            }
        }
        if let (Some(p), Some(c)) = (root_prepared, self.root.children.as_ref()) {
            c.replace(p, st);
        }
        for e in self.created.drain_all() {
            let seq = e.seq as usize;
            registry.store_reserved(seq, e, st);
        }
        for e in self.removed.iter() {
            if e.event().is_some() {
                if let Some(r) = registry.erase(e.seq as usize, st) {
                    // Capacity for every removed event was allocated above.
                    let _ = retired.get_mut().push_within_capacity(r);
                }
            }
        }
        retired.drop_after_grace_period();
        for e in self.removed.iter() {
            e.freed.store(true, ordering::Release);
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
