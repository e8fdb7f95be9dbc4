// SPDX-License-Identifier: GPL-2.0

//! The metadata tree: one [`DirNode`] (mainline's `eventfs_inode`) for the root, each
//! group and each event, and the registry of events that `dynamic_events` edits. Safe Rust
//! only: the lifetimes it relies on are the types of `vfs::rcu`, `vfs::xarray` and
//! `vfs::rhashtable`.
//!
//! The indexes, all updated in place by the writer (no copy of the siblings, so creating
//! or removing an event costs O(log n) whatever the size of its group) and read without
//! locks inside SRCU read sections:
//! - [`NAMES`], one kernel rhashtable of every node keyed by (parent, name): `lookup`
//!   (docs/RULES.md rule 11).
//! - Per directory, an xarray by position ([`DirIndex::by_pos`]): `readdir`, whose
//!   positions (creation order within the directory) therefore stay stable (rule 7).
//! - The root's [`Registry`], an xarray of every event by creation sequence: the
//!   `dynamic_events` listing.
//!
//! Who owns what:
//! - The registry [`TREE`] owns the root's [`DirRef`].
//! - Each index entry owns one reference to its node. A writer that removes an entry a
//!   reader may have found drops that reference only after an SRCU grace period (rule 4);
//!   readers take their own reference inside their read section (rule 3).
//! - Every node but the root owns a reference to its parent; a directory is removed only
//!   once it has no children, so this never forms a cycle that outlives a removal.
//! - Dentries own references through `d_fsdata` (see `vfs::node`).
//! - A node's memory goes an RCU grace period after its last reference (`RcuArc`), which
//!   covers lookups still walking a hash chain.
//!
//! A batch ([`Work`]) inserts its new nodes into the indexes unpublished (readers skip
//! them) and marks the nodes it removes doomed (readers still see them); all allocation
//! happens then. Its commit publishes the new nodes and only then frees the doomed ones,
//! and cannot fail: a batch is applied whole, or undone without a trace.

use kernel::{
    bindings,
    prelude::*,
    sync::atomic::{ordering, Atomic},
    sync::GlobalGuard,
};

use crate::events::{self, Command, EventSpec, FieldType};
use crate::filter;
use crate::inject;
use crate::probe::{self, ProbeCommand, ProbeDef, ProbeRefusal, Removal, Source};
use crate::probe_events::{self, KernelSymbols, LineBytes, RunningKernel};
use crate::probe_fetch;
use crate::record::{self, LineOut, TraceCursor, VecOut};
use crate::tracing;
use crate::vfs::{
    self, AttrChange, Attrs, Buffer, BufferSlot, DirEntry, Found, HashLink, HashNode, Ida, Kgid,
    Kuid, NofsScope, PollRegistrar, Prepared, RcuArc, RcuHashTable, RcuXArray, ReadSink, SeqOut,
    SrcuGuard, WriteSource, XSet,
};
use crate::vfs::{Kprobe, ProbeSpec, ProbeTarget, Regs};

/// A counted reference to a node.
pub(crate) type DirRef = RcuArc<DirNode>;

/// Proof that the writer mutex [`TREE`] is held.
pub(crate) type TreeGuard = GlobalGuard<TREE>;

/// Nodes by position in their directory, or events by creation sequence.
type Index = RcuXArray<DirNode, TreeGuard>;

/// Every live event by creation sequence number, for the `dynamic_events` listing.
type Registry = Index;

/// Every node but the root, by (parent, name).
static NAMES: RcuHashTable<DirNode, TreeGuard> = RcuHashTable::uninit();

/// Inode number shared by all regular files (they are told apart by name).
pub(crate) const FILE_INO: u64 = 2;
/// First inode number of a non-root directory (1 is the root).
const FIRST_DIR_INO: u64 = 16;
/// First event id: the ids below are record types of tracefs' own (`TRACE_PRINT`, ...).
const FIRST_EVENT_ID: u32 = 32;
const _: () = assert!((tracing::TYPE_PRINT as u32) < FIRST_EVENT_ID);
/// Last event id: a record's `common_type` is 16 bits, as in tracefs.
const MAX_EVENT_ID: u32 = u16::MAX as u32;
/// Largest write to an `enable` file ("1\n" and some blanks are what it takes).
const MAX_ENABLE_WRITE: usize = 64;

kernel::sync::global_lock! {
    // SAFETY: Initialised by `init()` in the module initialiser, before any use.
    pub(crate) unsafe(uninit) static TREE: Mutex<State> = State::new();
}

/// The registry, under [`TREE`]: the writer mutex of the whole tree.
pub(crate) struct State {
    /// The tracing directory (the root of every mount).
    top: Option<DirRef>,
    /// Its `events/`, which holds the registry.
    events: Option<DirRef>,
    /// Its `instances/`.
    instances: Option<DirRef>,
    /// `events/ftrace/` and its `print/` (see [`Kind::Builtin`]).
    builtin: Option<(DirRef, DirRef)>,
    /// Next [`Scope::id`].
    next_scope: u64,
    /// `error_log`.
    errors: ErrorLog,
    /// Event ids, allocated as tracefs allocates event types (lowest free first). An id
    /// is reused once its event is gone, unless the event was ever enabled: records of it
    /// may still be in a buffer, printed by their id (see [`Scope::printable`]). Set up by
    /// [`init`], gone at [`exit`].
    ids: Option<Ida>,
    /// Next creation sequence number (the registry's key).
    next_seq: u64,
    /// Next directory inode number: every directory has its own, for its whole life.
    next_ino: u64,
}

impl State {
    const fn new() -> State {
        State {
            top: None,
            events: None,
            instances: None,
            builtin: None,
            next_scope: 1,
            errors: ErrorLog::new(),
            ids: None,
            next_seq: 0,
            next_ino: FIRST_DIR_INO,
        }
    }
}

/// Sets the registry up: called once by the module initialiser.
pub(crate) fn init() -> Result {
    // SAFETY: Called once, before any other use of `TREE`.
    unsafe { TREE.init() };
    // SAFETY: Called once, before any use of `NAMES`, which is a static.
    unsafe { NAMES.init()? };
    let mut st = TREE.lock();
    st.ids = Some(Ida::new()?);
    match build_top(&mut st) {
        Ok((top, events, instances, builtin)) => {
            st.top = Some(top);
            st.events = Some(events);
            st.instances = Some(instances);
            st.builtin = Some(builtin);
            Ok(())
        }
        Err(e) => {
            drop(st);
            // SAFETY: Empty (the failed build removed what it entered) and unused.
            unsafe { NAMES.destroy() };
            Err(e)
        }
    }
}

/// The nodes [`build_top`] makes: the tracing directory, its `events/`, its `instances/`,
/// and `events/ftrace/` with its `print/`.
type TopNodes = (DirRef, DirRef, DirRef, (DirRef, DirRef));

/// Makes the tracing directory, its `events/` (with `ftrace/print/`) and its
/// `instances/`.
fn build_top(st: &mut TreeGuard) -> Result<TopNodes> {
    let top = DirNode::new(st, KVec::new(), Kind::Top(Scope::new(0)?), None)?;
    let events = Kind::Events(Registry::new()?);
    let events = DirNode::new(st, copy(EVENTS_DIR)?, events, Some(&top))?;
    let instances = DirNode::new(st, copy(INSTANCES_DIR)?, Kind::Instances, Some(&top))?;
    if events.pos as usize != EVENTS_POS || instances.pos as usize != INSTANCES_POS {
        return Err(EINVAL);
    }
    publish_fixed(st, &events)?;
    if let Err(e) = publish_fixed(st, &instances) {
        unpublish_fixed(st, &events);
        return Err(e);
    }
    match build_builtin(st, &events) {
        Ok(builtin) => Ok((top, events, instances, builtin)),
        Err(e) => {
            unpublish_fixed(st, &instances);
            unpublish_fixed(st, &events);
            Err(e)
        }
    }
}

/// Makes `events/ftrace/print/` (see [`Kind::Builtin`]). Kprobe events may join the group,
/// as in tracefs; `print` keeps it from ever being empty, and so from going with its last
/// event.
fn build_builtin(st: &mut TreeGuard, events: &DirRef) -> Result<(DirRef, DirRef)> {
    let group = Kind::BuiltinGroup;
    let group = DirNode::new(st, copy(tracing::FTRACE_GROUP)?, group, Some(events))?;
    let print = Kind::Builtin(tracing::TYPE_PRINT);
    let print = DirNode::new(st, copy(tracing::PRINT_EVENT)?, print, Some(&group))?;
    publish_fixed(st, &group)?;
    if let Err(e) = publish_fixed(st, &print) {
        unpublish_fixed(st, &group);
        return Err(e);
    }
    Ok((group, print))
}

/// Enters a directory that exists as long as its parent (`events/`) into the indexes,
/// published.
fn publish_fixed(st: &TreeGuard, node: &DirRef) -> Result {
    let dir = node
        .parent
        .as_ref()
        .and_then(|p| p.children.as_ref())
        .ok_or(EINVAL)?;
    dir.by_pos.reserve(node.pos as usize, st)?;
    if let Err((e, _)) = NAMES.insert(node.clone(), st) {
        dir.by_pos.release(node.pos as usize, st);
        return Err(e);
    }
    dir.by_pos
        .store_reserved(node.pos as usize, node.clone(), st);
    dir.live.add(1, ordering::Relaxed);
    node.set_state(PUBLISHED, 0);
    Ok(())
}

/// Takes a directory entered by [`publish_fixed`] out of the indexes (at unload: nothing
/// is mounted, so no reader can hold what the indexes give back).
fn unpublish_fixed(st: &TreeGuard, node: &DirRef) {
    node.set_state(FREED, 0);
    drop(NAMES.remove(node, st));
    if let Some(dir) = node.parent.as_ref().and_then(|p| p.children.as_ref()) {
        drop(dir.by_pos.erase(node.pos as usize, st));
        dir.live.fetch_sub(1, ordering::Relaxed);
    }
}

/// A reference to the tracing directory, for a new superblock's root.
pub(crate) fn root() -> Result<DirRef> {
    TREE.lock().top.clone().ok_or(ENODEV)
}

/// Tears the registry down at module exit (nothing is mounted then).
pub(crate) fn exit() {
    let (top, events) = {
        let mut st = TREE.lock();
        let _nofs = NofsScope::new();
        if let Some(instances) = st.instances.take() {
            remove_instances(&st, &instances);
            unpublish_fixed(&st, &instances);
        }
        if let Some(scope) = st.top.as_ref().and_then(|t| t.scope()) {
            disable_scope(&st, scope);
            scope.free_buffer(&st);
        }
        // Removing with events enabled is refused to users, not at unload.
        if let Err(e) = remove_all(&st, true) {
            pr_err!("could not remove the events at unload: {:?}\n", e);
        }
        // The log lives in a static: replace it, so that its buffer goes too.
        drop(core::mem::replace(&mut st.errors, ErrorLog::new()));
        drop(st.ids.take());
        if let Some((group, print)) = st.builtin.take() {
            unpublish_fixed(&st, &print);
            unpublish_fixed(&st, &group);
        }
        let events = st.events.take();
        if let Some(e) = events.as_ref() {
            unpublish_fixed(&st, e);
        }
        (st.top.take(), events)
    };
    drop(events);
    drop(top);
    // SAFETY: Every node was removed from the table above; nothing uses it any more.
    unsafe { NAMES.destroy() };
}

// --- error_log -------------------------------------------------------------------------

/// One entry of `error_log`.
struct LoggedError {
    /// The [`Scope::id`] of the `error_log` it belongs to.
    scope: u64,
    /// `ktime_get_mono_fast_ns()` when it was logged.
    ts: u64,
    /// Which file refused the command (`dynamic_events`, `synthetic_events`).
    loc: &'static str,
    msg: &'static str,
    /// The refused command.
    cmd: KVec<u8>,
    /// Where in `cmd` the caret goes.
    pos: usize,
}

/// Every scope's `error_log`: per scope, the last [`tracing::ERROR_LOG_MAX`] refused
/// commands, oldest first, as tracefs keeps them. Under [`TREE`].
pub(crate) struct ErrorLog {
    entries: KVec<LoggedError>,
}

impl ErrorLog {
    const fn new() -> ErrorLog {
        ErrorLog {
            entries: KVec::new(),
        }
    }

    /// Logs a refused command; an entry that cannot be allocated is not logged (as in
    /// mainline).
    fn log(&mut self, scope: u64, loc: &'static str, msg: &'static str, cmd: &[u8], pos: usize) {
        let Ok(cmd) = copy(cmd) else {
            return;
        };
        let mine = self.entries.iter().filter(|e| e.scope == scope).count();
        if mine >= tracing::ERROR_LOG_MAX {
            if let Some(oldest) = self.entries.iter().position(|e| e.scope == scope) {
                drop(self.entries.remove(oldest));
            }
        }
        if self.entries.reserve(1, GFP_KERNEL).is_err() {
            return;
        }
        // SAFETY: Calling a clock that any context may read.
        let ts = unsafe { bindings::ktime_get_mono_fast_ns() };
        let _ = self.entries.push_within_capacity(LoggedError {
            scope,
            ts,
            loc,
            msg,
            cmd,
            pos,
        });
    }

    /// Forgets the entries of scope `scope`.
    fn clear_scope(&mut self, scope: u64) {
        self.entries.retain(|e| e.scope != scope);
    }
}

// --- attributes ------------------------------------------------------------------------

const PERM_MASK: u32 = 0o7777;
const MODE_SET: u32 = 1 << 16;
const UID_SET: u32 = 1 << 17;
const GID_SET: u32 = 1 << 18;

/// Generations of mount-wide ownership, one for owners and one for groups: a remount
/// that gives `uid=` (`gid=`) takes a new one, which voids every earlier chown (chgrp)
/// without walking anything (rule 8). Global and only ever growing, so that a new
/// superblock after a full umount continues where the last one stopped: what was
/// chown'ed stays chown'ed, as in tracefs, whose metadata also outlives its superblocks.
static UID_GEN: Atomic<u32> = Atomic::new(0);
static GID_GEN: Atomic<u32> = Atomic::new(0);

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
        MountOwner {
            uid: Atomic::new(pack(uid.0.val, UID_GEN.load(ordering::Acquire))),
            gid: Atomic::new(pack(gid.0.val, GID_GEN.load(ordering::Acquire))),
        }
    }

    /// Sets up the ownership of a superblock being filled (nothing reads it yet).
    pub(crate) fn reset(&self, uid: Kuid, gid: Kgid) {
        let (u, g) = (
            UID_GEN.load(ordering::Acquire),
            GID_GEN.load(ordering::Acquire),
        );
        self.uid.store(pack(uid.0.val, u), ordering::Release);
        self.gid.store(pack(gid.0.val, g), ordering::Release);
    }

    /// A remount: what it names becomes the ownership of every entry, chown'ed or not.
    pub(crate) fn remount(&self, uid: Option<Kuid>, gid: Option<Kgid>) {
        if let Some(u) = uid {
            let g = UID_GEN.fetch_add(1, ordering::Full) + 1;
            self.uid.store(pack(u.0.val, g), ordering::Release);
        }
        if let Some(gr) = gid {
            let g = GID_GEN.fetch_add(1, ordering::Full) + 1;
            self.gid.store(pack(gr.0.val, g), ordering::Release);
        }
    }
}

/// Mode and ownership of one entry as chmod/chown left them.
struct Attr {
    /// Permission bits and the `*_SET` flags.
    bits: Atomic<u32>,
    /// Owner and the [`UID_GEN`] generation of the chown (see [`pack`]).
    uid: Atomic<u64>,
    /// Group and the [`GID_GEN`] generation of the chgrp.
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
    /// `README` (top).
    Readme,
    /// `available_events` (top).
    AvailableEvents,
    /// `available_tracers` (top).
    AvailableTracers,
    /// `current_tracer` (top).
    CurrentTracer,
    /// `dynamic_events` (top).
    DynamicEvents,
    /// `error_log` (top).
    ErrorLog,
    /// `kprobe_events` (top): the kprobe events' own view of `dynamic_events`.
    KprobeEvents,
    /// `kprobe_profile` (top): hits and misses of each kprobe event.
    KprobeProfile,
    /// `set_event` (top).
    SetEvent,
    /// `synthetic_events` (top).
    SyntheticEvents,
    /// `tracing_on` (top).
    TracingOn,
    /// `buffer_size_kb` (top).
    BufferSizeKb,
    /// `trace` (top).
    Trace,
    /// `trace_marker` (top).
    TraceMarker,
    /// `trace_pipe` (top).
    TracePipe,
    /// `enable` (every directory).
    Enable,
    /// `id` (events).
    Id,
    /// `format` (events).
    Format,
    /// `inject` (events): writes a record of the event.
    Inject,
    /// `filter` (groups and events): which records of the event are kept.
    Filter,
    /// `header_page` (`events/`): the layout of a ring buffer page.
    HeaderPage,
    /// `header_event` (`events/`): the layout of a ring buffer event header.
    HeaderEvent,
}

impl FileKind {
    fn name(self) -> &'static [u8] {
        match self {
            FileKind::Readme => b"README",
            FileKind::AvailableEvents => b"available_events",
            FileKind::AvailableTracers => b"available_tracers",
            FileKind::CurrentTracer => b"current_tracer",
            FileKind::DynamicEvents => b"dynamic_events",
            FileKind::ErrorLog => b"error_log",
            FileKind::KprobeEvents => b"kprobe_events",
            FileKind::KprobeProfile => b"kprobe_profile",
            FileKind::SetEvent => b"set_event",
            FileKind::SyntheticEvents => b"synthetic_events",
            FileKind::TracingOn => b"tracing_on",
            FileKind::BufferSizeKb => b"buffer_size_kb",
            FileKind::Trace => b"trace",
            FileKind::TraceMarker => b"trace_marker",
            FileKind::TracePipe => b"trace_pipe",
            FileKind::Enable => b"enable",
            FileKind::Id => b"id",
            FileKind::Format => b"format",
            FileKind::Inject => b"inject",
            FileKind::Filter => b"filter",
            FileKind::HeaderPage => b"header_page",
            FileKind::HeaderEvent => b"header_event",
        }
    }

    /// tracefs' TRACE_MODE_WRITE (0640) and TRACE_MODE_READ (0440); `trace_marker` is
    /// write-only (0220), `inject` too (0200).
    fn default_perm(self) -> u16 {
        match self {
            FileKind::TraceMarker => 0o220,
            FileKind::Inject => 0o200,
            FileKind::Readme
            | FileKind::AvailableEvents
            | FileKind::AvailableTracers
            | FileKind::Id
            | FileKind::TracePipe
            | FileKind::HeaderPage
            | FileKind::HeaderEvent
            | FileKind::KprobeProfile
            | FileKind::Format => 0o440,
            FileKind::CurrentTracer
            | FileKind::DynamicEvents
            | FileKind::ErrorLog
            | FileKind::KprobeEvents
            | FileKind::SetEvent
            | FileKind::SyntheticEvents
            | FileKind::TracingOn
            | FileKind::BufferSizeKb
            | FileKind::Trace
            | FileKind::Filter
            | FileKind::Enable => 0o640,
        }
    }
}

/// The files of a tracing directory, in readdir order.
const TOP_FILES: [FileKind; 15] = [
    FileKind::Readme,
    FileKind::AvailableEvents,
    FileKind::AvailableTracers,
    FileKind::BufferSizeKb,
    FileKind::CurrentTracer,
    FileKind::DynamicEvents,
    FileKind::ErrorLog,
    FileKind::KprobeEvents,
    FileKind::KprobeProfile,
    FileKind::SetEvent,
    FileKind::SyntheticEvents,
    FileKind::Trace,
    FileKind::TraceMarker,
    FileKind::TracePipe,
    FileKind::TracingOn,
];
/// The files of an instance, in readdir order.
const INSTANCE_FILES: [FileKind; 9] = [
    FileKind::AvailableTracers,
    FileKind::BufferSizeKb,
    FileKind::CurrentTracer,
    FileKind::ErrorLog,
    FileKind::SetEvent,
    FileKind::Trace,
    FileKind::TraceMarker,
    FileKind::TracePipe,
    FileKind::TracingOn,
];
const EVENTS_FILES: [FileKind; 3] = [
    FileKind::Enable,
    FileKind::HeaderEvent,
    FileKind::HeaderPage,
];
const GROUP_FILES: [FileKind; 2] = [FileKind::Enable, FileKind::Filter];
/// The files of a record type of tracefs' own (`events/ftrace/print`), as tracefs has
/// them but for its `trigger`.
const BUILTIN_FILES: [FileKind; 2] = [FileKind::Format, FileKind::Id];
const EVENT_FILES: [FileKind; 5] = [
    FileKind::Enable,
    FileKind::Id,
    FileKind::Filter,
    FileKind::Format,
    FileKind::Inject,
];
const MAX_FILES: usize = 15;
// The VFS layer keeps a file's index in the low bits of a node pointer.
const _: () = assert!(MAX_FILES < vfs::RCU_ARC_ALIGN);

/// Name of the events directory of a tracing directory.
const EVENTS_DIR: &[u8] = b"events";
/// Position of `events/` among the children of the top level.
const EVENTS_POS: usize = 0;
/// Position of `instances/` among the children of the top-level directory.
const INSTANCES_POS: usize = 1;
/// Name of the instances directory.
const INSTANCES_DIR: &[u8] = b"instances";

/// Default mode of directories below the root.
const DIR_PERM: u16 = 0o755;
/// A declared field of an event.
pub(crate) struct FieldDef {
    ty: FieldType,
    name: KVec<u8>,
}

/// What it takes to read and print an event's records: its name and fields. Shared (a
/// counted reference) by the event and by each scope where it was ever enabled, so that
/// records still print after the event is removed (see [`Scope::printable`]).
pub(crate) struct EventInfo {
    name: KVec<u8>,
    /// The declared fields of a synthetic event (none for a probe).
    fields: KVec<FieldDef>,
    /// For a kprobe event: its definition as written (parsed again where speed does not
    /// matter, see [`EventInfo::probe_def`]).
    probe: Option<KVec<u8>>,
    /// For a kprobe event: what its handler and the printer of its records take, parsed
    /// once when it was defined.
    shape: Option<Shape>,
}

/// A kprobe event's arguments parsed once, kept apart from its line (owned here).
type Shape = probe::ProbeShape<KVec<probe::ProbeArg<'static>>>;

/// The [`Shape`] of `def`.
fn shape_of(def: &ProbeDef<'_>) -> Result<Shape> {
    let mut args = KVec::new();
    for a in def.args() {
        args.push(a.kept().ok_or(EINVAL)?, GFP_KERNEL)?;
    }
    probe::ProbeShape::new(def, args).ok_or(EINVAL)
}

impl EventInfo {
    /// The parsed definition of a kprobe event. The line was accepted when the event was
    /// made, by the same parser and kernel answers, so it parses again.
    fn probe_def(&self) -> Option<ProbeDef<'_>> {
        let line = self.probe.as_deref()?;
        match probe::parse_probe_line_with(line, Source::KprobeEvents, &RunningKernel) {
            Ok(Some(ProbeCommand::Create(def))) => Some(def),
            _ => None,
        }
    }

    /// The fields, as the plain-Rust parsers and printers take them.
    fn fields(&self) -> impl Iterator<Item = (FieldType, &[u8])> + Clone {
        self.fields.iter().map(|f| (f.ty, f.name.as_slice()))
    }
}

/// An event's data.
pub(crate) struct Event {
    id: u32,
    /// In how many scopes the event is enabled (removal is `EBUSY` while it is not 0).
    /// Changed under [`TREE`].
    enabled_in: Atomic<u32>,
    /// Name and fields; one reference is the event's, the others the scopes'.
    info: RcuArc<EventInfo>,
    /// Whether the event was ever enabled in some scope: then its id is never reused.
    /// Set under [`TREE`].
    ever_enabled: Atomic<bool>,
    /// For a kprobe event: its probe, registered (disarmed) while the event exists and
    /// armed while it is enabled in some scope.
    probe: Option<ProbeData>,
}

/// The kprobe of a kprobe event.
pub(crate) struct ProbeData {
    /// Registered by the batch that creates the event; unregistered by the commit that
    /// removes it, or by the abort of the batch that made it. While registered it owns a
    /// reference to the event's node (the handler's target).
    kprobe: Kprobe<DirNode>,
    /// Hits of the probe (`kprobe_profile`).
    hits: Atomic<u64>,
}

/// Gives the id of event node `e`, created by a batch that did not publish it or removed
/// by one, back for reuse: unless the event was ever enabled (records of it, which name
/// it by its id, may still be in a buffer).
fn free_id(st: &TreeGuard, e: &DirNode) {
    if let (Some(ev), Some(ids)) = (e.event(), st.ids.as_ref()) {
        if !ev.ever_enabled.load(ordering::Relaxed) {
            ids.free(ev.id);
        }
    }
}

impl Event {
    /// The record type (`common_type`) of the event's records: its id, which
    /// [`MAX_EVENT_ID`] keeps within 16 bits.
    fn record_type(&self) -> u16 {
        self.id as u16
    }
}

/// The children of a directory.
pub(crate) struct DirIndex {
    /// By position: creation order within the directory.
    by_pos: Index,
    /// Next position. Changed under [`TREE`] only.
    next_pos: Atomic<u64>,
    /// Children neither removed nor doomed, as the writer sees them. Under [`TREE`] only.
    live: Atomic<u64>,
}

/// A walk over event nodes: calls its argument for each (see [`Scope::set_all`]).
type EventWalk<'a> = dyn Fn(&mut dyn FnMut(&DirNode)) + 'a;

/// [`Scope::users`]: set once the scope is removed; no file can be opened in it then.
const CLOSED: u32 = 1 << 31;

/// The state of a tracing directory (the top level or an instance): what its files and
/// those of its `events/` work on. Event definitions are global; their enable state is
/// per scope. An instance costs this struct and its node, whatever the number of events.
pub(crate) struct Scope {
    /// Never reused while the module is loaded (the top level is 0): `error_log` entries
    /// name their scope by it.
    id: u64,
    /// `tracing_on`.
    tracing_on: Atomic<bool>,
    /// The events enabled here, by creation sequence. Changed under [`TREE`]; each member
    /// counts in its event's [`Event::enabled_in`].
    enabled: XSet<TreeGuard>,
    /// Open files that work on this scope (they keep `rmdir` away: `EBUSY`), and
    /// [`CLOSED`].
    users: Atomic<u32>,
    /// The records: allocated on first use (an idle instance costs no buffer), freed with
    /// the scope by [`Scope::free_buffer`].
    buffer: BufferSlot<TreeGuard>,
    /// `buffer_size_kb`: the size of each CPU's part of `buffer`. Changed under [`TREE`].
    buffer_kb: Atomic<u64>,
    /// By event id, the name and fields of every event ever enabled here: what `trace`
    /// and `trace_pipe` need to print a record, whose event may be gone by then. An
    /// entry is added when its event is enabled, and goes with the scope.
    printable: RcuXArray<EventInfo, TreeGuard>,
    /// By node creation sequence number, the filters set here: on an event (compiled
    /// for it) or on a group (its text, which each of its events got compiled). Changed
    /// under [`TREE`]; read lock-free by writers of records.
    filters: RcuXArray<ScopeFilter, TreeGuard>,
    /// Whether a kprobe event was ever enabled here: then probe handlers may be writing
    /// to `buffer`, and freeing it waits for them.
    probed: Atomic<bool>,
}

/// A `filter` set in a scope.
pub(crate) struct ScopeFilter {
    /// As written, cut as mainline keeps it (`filter::filter_text`); `filter` shows it.
    text: KVec<u8>,
    /// For an event: the compiled filter (its string operands point into `text`).
    program: Option<filter::Program>,
}

impl ScopeFilter {
    /// Whether record `rec` passes the filter. Lock-free and allocation-free: callable
    /// from a probe handler.
    fn passes(&self, rec: &[u8]) -> bool {
        let Some(p) = self.program.as_ref() else {
            return true;
        };
        let task = vfs::current_task();
        let comm_len = task
            .comm
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(task.comm.len());
        let cx = filter::Context {
            cpu: kernel::cpu::CpuId::current().as_u32(),
            comm: &task.comm[..comm_len],
        };
        p.matches(&self.text, rec, &cx)
    }
}

/// The fields of an event, as the filter compiler looks them up.
struct FilterFields<'a>(&'a EventInfo);

impl filter::Fields for FilterFields<'_> {
    fn field(&self, name: &[u8]) -> Option<filter::FieldDesc> {
        if let Some(def) = self.0.probe_def() {
            // Numbers only: a probe's strings are `__data_loc` words, which the filter
            // does not follow.
            return probe::fields(&def, events::COMMON_FIELDS_SIZE)
                .find(|f| f.name.as_bytes() == name)
                .and_then(|f| match f.kind {
                    probe::FieldKind::Ulong => Some((f, false)),
                    probe::FieldKind::Arg(ty, 0) if !ty.is_string() => Some((f, ty.signed())),
                    _ => None,
                })
                .map(|(f, signed)| filter::FieldDesc {
                    offset: f.offset,
                    size: f.size,
                    signed,
                    kind: filter::FieldKind::Int,
                });
        }
        let offsets = events::layout(self.0.fields.iter().map(|f| f.ty));
        self.0
            .fields
            .iter()
            .zip(offsets)
            .find(|(f, _)| f.name.as_slice() == name)
            .map(|(f, (offset, size))| filter::FieldDesc {
                offset,
                size,
                signed: f.ty.signed(),
                kind: match f.ty {
                    FieldType::CharArray(_) => filter::FieldKind::Str,
                    _ => filter::FieldKind::Int,
                },
            })
    }
}

impl Scope {
    fn new(id: u64) -> Result<Scope> {
        Ok(Scope {
            id,
            tracing_on: Atomic::new(true),
            enabled: XSet::new()?,
            users: Atomic::new(0),
            buffer: BufferSlot::new(),
            buffer_kb: Atomic::new(tracing::BUFFER_KB_DEFAULT),
            printable: RcuXArray::new()?,
            filters: RcuXArray::new()?,
            probed: Atomic::new(false),
        })
    }

    /// The scope's buffer, allocated now if it has none yet.
    fn buffer(&self) -> Result<&Buffer> {
        if let Some(b) = self.buffer.get() {
            return Ok(b);
        }
        let st = TREE.lock();
        let kb = self.buffer_kb.load(ordering::Relaxed);
        let on = self.tracing_on.load(ordering::Relaxed);
        self.buffer.get_or_alloc((kb << 10) as usize, on, &st)
    }

    /// Frees the scope's buffer, and what it took to print its records, once the scope can
    /// no longer be used: no file works on it (it is [`CLOSED`]), or nothing is mounted
    /// (module unload).
    fn free_buffer(&self, st: &TreeGuard) {
        if self.probed.load(ordering::Relaxed) {
            // The probes were disabled here, but a handler that saw them enabled may
            // still be writing: handlers run with preemption off, an RCU read section.
            // SAFETY: No precondition; we may sleep here.
            unsafe { bindings::synchronize_rcu() };
        }
        // SAFETY: Every user of the buffer is an open file counted in `users` (writers of
        // `trace_marker`, readers of `trace`, which drop their reader before they stop
        // counting), and the caller guarantees there is none and will be none.
        unsafe { self.buffer.free(st) };
        // Only users of the scope's files look entries up, and there are none: the
        // references can go at once.
        self.printable.clear_unread(st);
        self.filters.clear_unread(st);
    }

    /// The filter set here on node `n` (an event or a group).
    fn filter(&self, n: &DirNode) -> Option<RcuArc<ScopeFilter>> {
        self.filters.get(n.seq as usize, &SrcuGuard::new())
    }

    /// Whether a record `rec` of event node `e` passes the filter set on it here.
    fn passes(&self, e: &DirNode, rec: &[u8]) -> bool {
        match self.filter(e) {
            Some(f) => f.passes(rec),
            None => true,
        }
    }

    /// Whether event node `e` is enabled here. Lock-free.
    fn is_enabled(&self, e: &DirNode) -> bool {
        self.enabled.contains(e.seq as usize)
    }

    /// The name and fields of the event whose records have type `ty`, if it was ever
    /// enabled here.
    fn printable(&self, ty: u16) -> Option<RcuArc<EventInfo>> {
        self.printable.get(usize::from(ty), &SrcuGuard::new())
    }

    /// Whether the event `ev` lacks its entry in [`Scope::printable`].
    fn lacks_printable(&self, ev: &Event) -> bool {
        !self.printable.contains(ev.id as usize)
    }

    /// Enables or disables event node `e` here.
    fn set(&self, st: &TreeGuard, e: &DirNode, on: bool) -> Result {
        let Some(ev) = e.event() else {
            return Err(EINVAL);
        };
        if on {
            if ev.probe.is_some() {
                self.probe_room(st)?;
            }
            let lacks = self.lacks_printable(ev);
            if lacks {
                self.printable.reserve(ev.id as usize, st)?;
            }
            match self.enabled.insert(e.seq as usize, st) {
                Ok(added) => {
                    ev.ever_enabled.store(true, ordering::Relaxed);
                    if lacks {
                        self.printable
                            .store_reserved(ev.id as usize, ev.info.clone(), st);
                    }
                    if added && ev.enabled_in.fetch_add(1, ordering::Relaxed) == 0 {
                        if let Err(err) = arm(ev, true) {
                            self.enabled.remove(e.seq as usize, st);
                            ev.enabled_in.fetch_sub(1, ordering::Relaxed);
                            return Err(err);
                        }
                    }
                }
                Err(err) => {
                    if lacks {
                        self.printable.release(ev.id as usize, st);
                    }
                    return Err(err);
                }
            }
        } else if self.enabled.remove(e.seq as usize, st)
            && ev.enabled_in.fetch_sub(1, ordering::Relaxed) == 1
        {
            // Disarming a registered probe does not fail.
            let _ = arm(ev, false);
        }
        Ok(())
    }

    /// What enabling a kprobe event here needs first: the buffer (a probe handler cannot
    /// allocate it), and the mark that makes freeing it wait for handlers.
    fn probe_room(&self, st: &TreeGuard) -> Result {
        self.probed.store(true, ordering::Relaxed);
        let kb = self.buffer_kb.load(ordering::Relaxed);
        let on = self.tracing_on.load(ordering::Relaxed);
        self.buffer.get_or_alloc((kb << 10) as usize, on, st)?;
        Ok(())
    }

    /// Makes room to enable event node `e` here (see [`Scope::set_all`]).
    fn reserve(&self, st: &TreeGuard, e: &DirNode) -> Result {
        if e.event().is_some_and(|ev| ev.probe.is_some()) {
            self.probe_room(st)?;
        }
        self.enabled.reserve(e.seq as usize, st)?;
        match e.event() {
            Some(ev) if self.lacks_printable(ev) => {
                self.printable.reserve(ev.id as usize, st).inspect_err(|_| {
                    self.enabled.release(e.seq as usize, st);
                })
            }
            _ => Ok(()),
        }
    }

    /// Gives back what [`Scope::reserve`] made room for and [`Scope::set`] did not use.
    fn release(&self, st: &TreeGuard, e: &DirNode) {
        self.enabled.release(e.seq as usize, st);
        if let Some(ev) = e.event() {
            self.printable.release(ev.id as usize, st);
        }
    }

    /// Enables or disables here, all or none, the event nodes that `walk` visits: when
    /// enabling, room for every one is made first, so that no failure can leave them half
    /// enabled. `walk` calls its argument for each node and must visit the same ones each
    /// time (it runs under [`TREE`]).
    fn set_all(&self, st: &TreeGuard, on: bool, walk: &EventWalk<'_>) -> Result {
        if on {
            let mut r = Ok(());
            walk(&mut |e| {
                if r.is_ok() {
                    r = self.reserve(st, e);
                }
            });
            if let Err(err) = r {
                walk(&mut |e| self.release(st, e));
                return Err(err);
            }
        }
        // Room is made: setting cannot fail now.
        walk(&mut |e| {
            let _ = self.set(st, e, on);
        });
        Ok(())
    }

    /// Counts an open file that works on the scope; `ENODEV` once it is removed.
    fn get(&self) -> Result {
        let old = self.users.fetch_add(1, ordering::Acquire);
        if old & CLOSED != 0 {
            self.users.fetch_sub(1, ordering::Relaxed);
            return Err(ENODEV);
        }
        Ok(())
    }

    /// Gives back what [`Scope::get`] counted.
    fn put(&self) {
        self.users.fetch_sub(1, ordering::Release);
    }

    /// Closes the scope for removal: `EBUSY` while a file works on it.
    fn close(&self) -> Result {
        self.users
            .cmpxchg(0, CLOSED, ordering::Acquire)
            .map(|_| ())
            .map_err(|_| EBUSY)
    }
}

// --- kprobe hits ------------------------------------------------------------------------

/// A hit of the probe of kprobe event node `self` (see `vfs::kprobe`): records the event
/// in every scope where it is enabled, recording is on and its filter passes. Runs in
/// the probed context, possibly like an NMI: no allocation, no sleeping, no SRCU (not
/// allowed there), no lock but the saved-comm trylock; the tree is read under RCU, whose
/// grace period every node's memory outlives.
impl ProbeTarget for DirNode {
    fn hit(&self, regs: &Regs<'_>) {
        let Some(ev) = self.event() else {
            return;
        };
        let Some(p) = ev.probe.as_ref() else {
            return;
        };
        p.hits.add(1, ordering::Relaxed);
        let Some(def) = ev.info.shape.as_ref() else {
            return;
        };
        // Measured once for every scope (mainline measures for each): a string that
        // changes in between is cut to this room, never written past its record.
        let dsize = probe_fetch::data_size(def, regs);
        let hit = Hit {
            e: self,
            ev,
            p,
            def,
            regs,
            dsize,
        };
        // The scopes it is enabled in: the walk ends once it has met them all (a count
        // that races with an enable only makes that scope miss this hit).
        let mut left = ev.enabled_in.load(ordering::Relaxed);
        let rcu = kernel::sync::rcu::read_lock();
        let top = top_of(self);
        if let Some(scope) = top.scope() {
            if record_hit(scope, &hit, &rcu) {
                left = left.saturating_sub(1);
            }
        }
        let Some(insts) = top
            .children
            .as_ref()
            .filter(|_| left > 0)
            .and_then(|c| c.by_pos.load_rcu(INSTANCES_POS, &rcu))
            .and_then(|dir| dir.children.as_ref())
        else {
            return;
        };
        insts.by_pos.walk_rcu(&rcu, |inst| {
            if let (true, Some(scope)) = (inst.is_visible(), inst.scope()) {
                if record_hit(scope, &hit, &rcu) {
                    left = left.saturating_sub(1);
                }
            }
            left > 0
        });
    }
}

/// One hit of a kprobe event, as [`record_hit`] writes it into each scope.
#[derive(Clone, Copy)]
struct Hit<'a> {
    /// The event's node.
    e: &'a DirNode,
    ev: &'a Event,
    p: &'a ProbeData,
    def: &'a Shape,
    /// The probed context.
    regs: &'a Regs<'a>,
    /// The room its strings take ([`probe_fetch::data_size`]).
    dsize: usize,
}

/// Writes the record of one hit of kprobe event node `e` into `scope`, if it is enabled
/// there (see [`DirNode::hit`]); returns whether it is.
fn record_hit(scope: &Scope, hit: &Hit<'_>, rcu: &kernel::sync::rcu::Guard) -> bool {
    let Hit {
        e,
        ev,
        p,
        def,
        regs,
        dsize,
    } = *hit;
    if !scope.is_enabled(e) {
        return false;
    }
    if !scope.tracing_on.load(ordering::Relaxed) {
        return true;
    }
    // Allocated when the event was enabled here; freed only after a grace period.
    let Some(buf) = scope.buffer.get() else {
        return true;
    };
    let args_at = probe_fetch::args_offset(def, events::COMMON_FIELDS_SIZE);
    let len = args_at + probe::RecordLayout::args_size(def) + dsize;
    let filter = scope.filters.load_rcu(e.seq as usize, rcu);
    buf.write_if(
        len,
        |rec| {
            record::event_header(ev.record_type(), rec);
            let head = match regs.ret() {
                Some((func, ret)) => [func, ret],
                None => [p.kprobe.address(), 0],
            };
            let words = if regs.ret().is_some() { 2 } else { 1 };
            let at = args_at - 8 * words;
            for (i, w) in head.iter().take(words).enumerate() {
                if let Some(slot) = rec.get_mut(at + 8 * i..at + 8 * i + 8) {
                    slot.copy_from_slice(&w.to_ne_bytes());
                }
            }
            probe_fetch::store_args(def, regs, rec, args_at, dsize);
        },
        |rec| filter.is_none_or(|f| f.passes(rec)),
    );
    true
}

/// `EOPNOTSUPP`, which the kernel crate does not name.
fn eopnotsupp() -> Error {
    Error::from_errno(-(bindings::EOPNOTSUPP as i32))
}

/// Arms (`on`) or disarms the probe of a kprobe event; nothing for other events.
fn arm(ev: &Event, on: bool) -> Result {
    match ev.probe.as_ref() {
        Some(p) => p.kprobe.set_enabled(on),
        None => Ok(()),
    }
}

/// What a node is.
pub(crate) enum Kind {
    /// The top-level tracing directory (the mount's root): its files, `events/` and
    /// `instances/`.
    Top(Scope),
    /// `instances/`: its children are instances.
    Instances,
    /// An instance: the files of a tracing directory and `events/` (the top level's own
    /// `events/` node: an instance copies nothing of the tree).
    Instance(Scope),
    /// `events/`, with the registry of all events: its children are groups.
    Events(Registry),
    /// A group directory: its children are events.
    Group,
    /// An event directory.
    Event(Event),
    /// `events/ftrace/`, tracefs' group of its own record types: a group without files
    /// (as in tracefs), whose children are [`Kind::Builtin`] nodes and any kprobe events
    /// made in it.
    BuiltinGroup,
    /// A record type of tracefs' own that our buffers hold, by its type (`common_type`):
    /// `events/ftrace/print`, the records of `trace_marker`. It has a `format` and an
    /// `id`, cannot be enabled or removed, and lasts as long as `events/`.
    Builtin(u16),
}

impl Kind {
    fn files(&self) -> &'static [FileKind] {
        match self {
            Kind::Top(_) => &TOP_FILES,
            Kind::Instances => &[],
            Kind::Instance(_) => &INSTANCE_FILES,
            Kind::Events(_) => &EVENTS_FILES,
            Kind::Group => &GROUP_FILES,
            Kind::Event(_) => &EVENT_FILES,
            Kind::BuiltinGroup => &[],
            Kind::Builtin(_) => &BUILTIN_FILES,
        }
    }
}

/// [`DirNode::state`]: the node is in the indexes for readers (set by the commit of the batch
/// that created it).
const PUBLISHED: u32 = 1;
/// [`DirNode::state`]: the node is removed (set by a commit, never cleared); dentries of it
/// are invalid (rule 5).
const FREED: u32 = 2;
/// [`DirNode::state`]: a batch in progress removes the node (writer's view only; cleared if the
/// batch fails).
const DOOMED: u32 = 4;

/// A node of the tree (mainline's `eventfs_inode`): a directory and the files it offers.
pub(crate) struct DirNode {
    name: KVec<u8>,
    /// The directory holding this one (`None` for the top).
    parent: Option<DirRef>,
    /// Creation order among all nodes: the registry's key for events.
    seq: u64,
    /// Position among its parent's children (readdir).
    pos: u64,
    /// Inode number of the directory.
    ino: u64,
    /// [`PUBLISHED`], [`FREED`], [`DOOMED`].
    state: Atomic<u32>,
    kind: Kind,
    attrs: NodeAttrs,
    /// The node's entry in [`NAMES`] (touched by the rhashtable only).
    hash_head: HashLink,
    /// The children (top: `events/`; events: groups; group: events).
    children: Option<KBox<DirIndex>>,
}

/// Who searches [`NAMES`], and so which nodes count.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seer {
    /// Readers: published nodes that are not freed.
    Reader,
    /// The writer's batch: nodes that are not freed, including the batch's unpublished
    /// ones, except those the batch dooms.
    Writer,
    /// The writer's batch, for a directory it doomed and wants back: published, doomed,
    /// not freed.
    Doomed,
}

/// What [`NAMES`] is searched by.
pub(crate) struct NameKey<'a> {
    /// Address of the parent's allocation.
    parent: usize,
    name: &'a [u8],
    seer: Seer,
}

/// FNV-1a over the parent's address and the name, seeded by the table.
fn name_hash(parent: usize, name: &[u8], seed: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5 ^ seed;
    let bytes = parent.to_ne_bytes();
    for b in Iterator::chain(bytes.iter(), name) {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

// SAFETY: `hash_head` is an `rhash_head` inside `DirNode`, touched by the table only; the
// offset counts from the start of the `RcuArc` allocation.
unsafe impl HashNode for DirNode {
    type Key<'a> = NameKey<'a>;
    const HEAD_OFFSET: usize = DirRef::VALUE_OFFSET + core::mem::offset_of!(DirNode, hash_head);

    fn key_hash(key: &NameKey<'_>, seed: u32) -> u32 {
        name_hash(key.parent, key.name, seed)
    }

    fn hash(&self, seed: u32) -> u32 {
        name_hash(self.parent_addr(), &self.name, seed)
    }

    fn matches(&self, key: &NameKey<'_>) -> bool {
        if self.parent_addr() != key.parent || self.name.as_slice() != key.name {
            return false;
        }
        let s = self.state.load(ordering::Acquire);
        match key.seer {
            Seer::Reader => s & (PUBLISHED | FREED) == PUBLISHED,
            Seer::Writer => s & (FREED | DOOMED) == 0,
            Seer::Doomed => s & (PUBLISHED | FREED | DOOMED) == PUBLISHED | DOOMED,
        }
    }
}

impl DirNode {
    fn new(st: &mut State, name: KVec<u8>, kind: Kind, parent: Option<&DirRef>) -> Result<DirRef> {
        let children = match kind {
            Kind::Event(_) | Kind::Instance(_) | Kind::Builtin(_) => None,
            _ => Some(KBox::new(
                DirIndex {
                    by_pos: Index::new()?,
                    next_pos: Atomic::new(0),
                    live: Atomic::new(0),
                },
                GFP_KERNEL,
            )?),
        };
        let (ino, state) = match kind {
            Kind::Top(_) => (1, PUBLISHED),
            _ => (st.next_ino, 0),
        };
        let pos = match parent.and_then(|p| p.children.as_ref()) {
            Some(d) => d.next_pos.load(ordering::Relaxed),
            None => 0,
        };
        let node = RcuArc::new(
            DirNode {
                name,
                parent: parent.cloned(),
                seq: st.next_seq,
                pos,
                ino,
                state: Atomic::new(state),
                kind,
                attrs: NodeAttrs::new(),
                hash_head: HashLink::new(),
                children,
            },
            GFP_KERNEL,
        )?;
        st.next_seq += 1;
        if ino != 1 {
            st.next_ino += 1;
        }
        if let Some(d) = parent.and_then(|p| p.children.as_ref()) {
            d.next_pos.store(pos + 1, ordering::Relaxed);
        }
        Ok(node)
    }

    fn parent_addr(&self) -> usize {
        self.parent
            .as_ref()
            .map_or(0, |p| RcuArc::as_raw(p) as usize)
    }

    fn state(&self) -> u32 {
        self.state.load(ordering::Acquire)
    }

    /// Removed (committed).
    fn is_freed(&self) -> bool {
        self.state() & FREED != 0
    }

    /// What readers see: published and not removed.
    fn is_visible(&self) -> bool {
        self.state() & (PUBLISHED | FREED) == PUBLISHED
    }

    /// Sets or clears state bits (under [`TREE`]: writers are serialised).
    fn set_state(&self, set: u32, clear: u32) {
        let s = self.state.load(ordering::Relaxed);
        self.state.store((s & !clear) | set, ordering::Release);
    }

    fn event(&self) -> Option<&Event> {
        match &self.kind {
            Kind::Event(e) => Some(e),
            _ => None,
        }
    }

    /// The scope of a tracing directory.
    fn scope(&self) -> Option<&Scope> {
        match &self.kind {
            Kind::Top(s) | Kind::Instance(s) => Some(s),
            _ => None,
        }
    }

    fn registry(&self) -> Option<&Registry> {
        match &self.kind {
            Kind::Events(r) => Some(r),
            _ => None,
        }
    }
}

/// The child `name` of directory `dir`, as `seer` sees the tree.
fn child(dir: &DirRef, name: &[u8], seer: Seer, guard: &SrcuGuard) -> Option<DirRef> {
    let key = NameKey {
        parent: RcuArc::as_raw(dir) as usize,
        name,
        seer,
    };
    NAMES.lookup(&key, guard)
}
// --- the VFS view (called from fs.rs) -------------------------------------------------

/// `lookup`: a file of `dir`, or a live child directory. One hash lookup, whatever the
/// number of siblings (rule 11).
pub(crate) fn lookup(dir: &DirRef, name: &[u8]) -> Option<Found<DirNode>> {
    if dir.is_freed() {
        return None;
    }
    if let Some(i) = dir.kind.files().iter().position(|f| f.name() == name) {
        return Some(Found::File(i as u32));
    }
    if let Kind::Instance(_) = dir.kind {
        // An instance's `events/` is the top level's.
        if name != EVENTS_DIR {
            return None;
        }
        let guard = SrcuGuard::new();
        let events = events_of(top_of(dir), &guard)?;
        let ino = events.ino;
        return Some(Found::Dir(events, ino));
    }
    dir.children.as_ref()?;
    let found = |c: DirRef| {
        let ino = c.ino;
        Some(Found::Dir(c, ino))
    };
    // A batch that removes and re-creates `name` publishes the new node before it frees
    // the old one, so at every instant one of them matches. But a walk of the hash chain
    // looks at the two at different instants: it may see the new one still unpublished
    // and the old one already freed. A miss is therefore only believed if no commit
    // overlapped the walk ([`COMMITS`] is a sequence count); after a few overlapping
    // tries, the lookup asks again with commits excluded.
    {
        let guard = SrcuGuard::new();
        for _ in 0..LOOKUP_TRIES {
            let seq = COMMITS.load(ordering::Acquire);
            if let Some(c) = child(dir, name, Seer::Reader, &guard) {
                return found(c);
            }
            // The walk's last state load was Acquire: this load comes after it.
            if seq & 1 == 0 && COMMITS.load(ordering::Acquire) == seq {
                return None;
            }
        }
    }
    let _st = TREE.lock();
    let guard = SrcuGuard::new();
    found(child(dir, name, Seer::Reader, &guard)?)
}

/// Lock-free lookups tried while commits overlap them, before taking [`TREE`].
const LOOKUP_TRIES: usize = 4;

/// Commits in progress or done, twice each: odd while one is publishing and freeing.
static COMMITS: Atomic<u64> = Atomic::new(0);

/// Whether dentries of `node` are valid (rule 5). Lock-free.
pub(crate) fn is_live(node: &DirNode) -> bool {
    !node.is_freed()
}

/// `readdir` from position `pos` (>= 2): the files at 2.., then the children at
/// `2 + nr_files + their position`. Positions come from creation order within the
/// directory, so an entry that exists throughout a directory walk is reported exactly
/// once, whatever is created or removed meanwhile (rule 7). Never creates dentries or
/// inodes.
pub(crate) fn iterate(
    dir: &DirNode,
    pos: i64,
    emit: &mut dyn FnMut(i64, i64, DirEntry<'_>) -> bool,
) {
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
    if let Kind::Instance(_) = dir.kind {
        // Its one directory: the top level's `events/`.
        let guard = SrcuGuard::new();
        if let (true, Some(events)) = (p == base, events_of(top_of(dir), &guard)) {
            let e = DirEntry {
                name: EVENTS_DIR,
                ino: events.ino,
                is_dir: true,
            };
            emit(base, base + 1, e);
        }
        return;
    }
    let Some(children) = dir.children.as_ref() else {
        return;
    };
    let guard = SrcuGuard::new();
    children
        .by_pos
        .walk_in((p - base) as usize, &guard, |at, c| {
            if dir.is_freed() {
                return false;
            }
            if !c.is_visible() {
                return true;
            }
            let at = base + at as i64;
            let e = DirEntry {
                name: &c.name,
                ino: c.ino,
                is_dir: true,
            };
            emit(at, at + 1, e)
        });
}

/// Attributes of directory `node` or of its file `file`, for a superblock whose untouched
/// entries belong to `mount`.
pub(crate) fn attrs(mount: &MountOwner, node: &DirNode, file: Option<u32>) -> Attrs {
    let block = node.attrs.get();
    match file {
        None => match block {
            Some(b) => b.dir.effective(mount, DIR_PERM),
            None => Attr::new().effective(mount, DIR_PERM),
        },
        Some(i) => {
            let i = i as usize;
            let perm = node.kind.files().get(i).map_or(0o440, |f| f.default_perm());
            match block.and_then(|b| b.files.get(i)) {
                Some(a) => a.effective(mount, perm),
                None => Attr::new().effective(mount, perm),
            }
        }
    }
}

/// Allocates what [`set_attrs`] records into, so that it cannot fail.
pub(crate) fn prepare_attrs(node: &DirNode) -> Result {
    node.attrs.get_or_alloc().map(|_| ())
}

/// Records chmod/chown in the metadata, where it survives inode reclaim (rule 8).
pub(crate) fn set_attrs(
    mount: &MountOwner,
    node: &DirNode,
    file: Option<u32>,
    change: &AttrChange,
) {
    let Some(block) = node.attrs.get() else {
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

/// The kind of file `file` of `node`.
pub(crate) fn file_kind(node: &DirNode, file: u32) -> Result<FileKind> {
    node.kind.files().get(file as usize).copied().ok_or(EINVAL)
}

// --- reading ---------------------------------------------------------------------------

/// One `seq_file` pass of reading an open file (one `read(2)`): where it is, and where
/// a listing of events ends.
///
/// A listing ends before the first creation sequence number that was not yet given out
/// when the pass began, so one pass is a snapshot as under mainline's `event_mutex`: an
/// event removed and created again while a pass runs is listed once (as it was), never
/// at its old and its new place both.
pub(crate) struct Pass {
    /// The record `seq_show` prints next.
    pub(crate) cursor: Cursor,
    /// Creation sequence numbers at or above this one are not listed in this pass.
    bound: Option<u64>,
}

impl Pass {
    /// Between passes.
    pub(crate) const fn new() -> Pass {
        Pass {
            cursor: Cursor::None,
            bound: None,
        }
    }
}

/// Where an open file's reader is: the record `seq_show` prints next.
pub(crate) enum Cursor {
    /// Nothing (between reads).
    None,
    /// The single record of `enable`, `id` and `format`.
    Whole,
    /// An event of the `dynamic_events` listing (a counted reference: the event may be
    /// removed while it is being printed, and still prints as it was).
    Event(DirRef),
}

/// Positions a reader of file `kind` of `node` on the first record at or after `pos`, in
/// pass `pass`. Returns the record's key (the `seq_file` position), `None` at the end, or `ENODEV` for
/// a file of a removed directory, whatever the position (as a read of it always did).
pub(crate) fn seek(
    node: &DirNode,
    scope: Option<&DirNode>,
    kind: FileKind,
    pos: u64,
    pass: &mut Pass,
) -> Result<Option<u64>> {
    pass.cursor = Cursor::None;
    let cursor = &mut pass.cursor;
    if node.is_freed() {
        return Err(ENODEV);
    }
    Ok(match kind {
        FileKind::DynamicEvents
        | FileKind::AvailableEvents
        | FileKind::SetEvent
        | FileKind::SyntheticEvents
        | FileKind::KprobeEvents
        | FileKind::KprobeProfile => {
            let guard = SrcuGuard::new();
            let events = events_of(top_of(node), &guard).ok_or(EINVAL)?;
            let registry = events.registry().ok_or(EINVAL)?;
            let scope = scope.and_then(|s| s.scope());
            let Ok(mut from) = usize::try_from(pos) else {
                return Ok(None);
            };
            let bound = *pass.bound.get_or_insert_with(|| TREE.lock().next_seq);
            loop {
                let Some((key, e)) = registry.find(from, &guard) else {
                    break None;
                };
                if key as u64 >= bound {
                    break None;
                }
                // `set_event` lists the enabled events only.
                let is_probe = e.event().is_some_and(|ev| ev.probe.is_some());
                let skip = match kind {
                    FileKind::SetEvent => !scope.is_some_and(|s| s.is_enabled(&e)),
                    FileKind::SyntheticEvents => is_probe,
                    FileKind::KprobeEvents | FileKind::KprobeProfile => !is_probe,
                    _ => false,
                };
                if skip {
                    from = key + 1;
                    continue;
                }
                *cursor = Cursor::Event(e);
                break Some(key as u64);
            }
        }
        _ if pos == 0 => {
            *cursor = Cursor::Whole;
            Some(0)
        }
        _ => None,
    })
}

/// The top-level tracing directory above `node`.
fn top_of(mut node: &DirNode) -> &DirNode {
    while let Some(p) = node.parent.as_ref() {
        node = p;
    }
    node
}

/// `events/` of the top-level tracing directory `top`.
fn events_of(top: &DirNode, guard: &SrcuGuard) -> Option<DirRef> {
    let (_, events) = top.children.as_ref()?.by_pos.find(EVENTS_POS, guard)?;
    Some(events)
}

/// Prints the record `cursor` points at: the content of file `kind` of `node`.
pub(crate) fn show(
    node: &DirNode,
    scope: Option<&DirNode>,
    kind: FileKind,
    cursor: &Cursor,
    out: &mut SeqOut<'_>,
) -> Result {
    use core::fmt::Write;
    if node.is_freed() {
        return Err(ENODEV);
    }
    let scope = scope.and_then(|s| s.scope());
    let r = match (kind, cursor) {
        (
            FileKind::DynamicEvents
            | FileKind::AvailableEvents
            | FileKind::SetEvent
            | FileKind::SyntheticEvents
            | FileKind::KprobeEvents
            | FileKind::KprobeProfile,
            Cursor::Event(e),
        ) => {
            let (Some(ev), Some(group)) = (e.event(), e.parent.as_ref()) else {
                return Err(EINVAL);
            };
            let fields = ev.info.fields();
            if let (Some(p), FileKind::KprobeProfile) = (ev.probe.as_ref(), kind) {
                // mainline's `probes_profile_seq_show()`.
                out.write_str("  ")?;
                let name = core::str::from_utf8(&e.name).unwrap_or("?");
                return writeln!(
                    out,
                    "{name:<44} {:>15} {:>15}",
                    p.hits.load(ordering::Relaxed),
                    p.kprobe.missed()
                )
                .map_err(|_| EINVAL);
            }
            if let (Some(mut def), Some(p), FileKind::DynamicEvents | FileKind::KprobeEvents) =
                (ev.info.probe_def(), ev.probe.as_ref(), kind)
            {
                // As mainline lists a return probe: with the `MAXACTIVE` the kernel
                // registered it with (its default when none was given).
                def.maxactive = p.kprobe.maxactive();
                return probe::write_listing(out, &def).map_err(|_| EINVAL);
            }
            match kind {
                FileKind::DynamicEvents => events::write_listing(out, &group.name, &e.name, fields),
                FileKind::SyntheticEvents => {
                    events::write_synth_listing(out, &group.name, &e.name, fields)
                }
                _ => events::write_event_name(out, &group.name, &e.name),
            }
        }
        (FileKind::Readme, Cursor::Whole) => out.write_str(tracing::README),
        (FileKind::AvailableTracers | FileKind::CurrentTracer, Cursor::Whole) => {
            writeln!(out, "{}", tracing::TRACER)
        }
        (FileKind::TracingOn, Cursor::Whole) => {
            let on = scope.ok_or(EINVAL)?.tracing_on.load(ordering::Relaxed);
            writeln!(out, "{}", u8::from(on))
        }
        (FileKind::ErrorLog, Cursor::Whole) => {
            let id = scope.ok_or(EINVAL)?.id;
            let st = TREE.lock();
            st.errors
                .entries
                .iter()
                .filter(|e| e.scope == id)
                .try_for_each(|e| tracing::write_error(out, e.ts, e.loc, e.msg, &e.cmd, e.pos))
        }
        (FileKind::Enable, Cursor::Whole) => {
            let scope = scope.ok_or(EINVAL)?;
            let c = match &node.kind {
                Kind::Event(_) => {
                    if scope.is_enabled(node) {
                        '1'
                    } else {
                        '0'
                    }
                }
                _ => {
                    let (on, off) = count_enabled(scope, node);
                    match (on, off) {
                        (0, _) => '0',
                        (_, 0) => '1',
                        _ => 'X',
                    }
                }
            };
            writeln!(out, "{c}")
        }
        (FileKind::BufferSizeKb, Cursor::Whole) => {
            let scope = scope.ok_or(EINVAL)?;
            // The size asked for, as tracefs prints it (the buffer rounds it up to whole
            // sub-buffers).
            writeln!(out, "{}", scope.buffer_kb.load(ordering::Relaxed))
        }
        (FileKind::Id, Cursor::Whole) => match node.kind {
            Kind::Builtin(ty) => writeln!(out, "{ty}"),
            _ => writeln!(out, "{}", node.event().ok_or(EINVAL)?.id),
        },
        // As mainline's `event_inject_read()`.
        (FileKind::Inject, _) => return Err(EPERM),
        (FileKind::Filter, Cursor::Whole) => match scope.ok_or(EINVAL)?.filter(node) {
            Some(f) => {
                out.bytes(&f.text);
                out.write_char('\n')
            }
            None => out.write_str("none\n"),
        },
        (FileKind::HeaderPage, Cursor::Whole) => out.write_str(tracing::HEADER_PAGE),
        (FileKind::HeaderEvent, Cursor::Whole) => out.write_str(tracing::HEADER_EVENT),
        (FileKind::Format, Cursor::Whole) => {
            if let Kind::Builtin(tracing::TYPE_PRINT) = node.kind {
                return tracing::write_print_format(out, events::COMMON_FORMAT).map_err(|_| EINVAL);
            }
            let e = node.event().ok_or(EINVAL)?;
            match e.info.probe_def() {
                Some(def) => probe_events::write_format(out, &def, e.id),
                None => events::write_format(out, &node.name, e.id, e.info.fields()),
            }
        }
        _ => return Err(EINVAL),
    };
    // `SeqOut` never fails: an overflow is retried by `seq_read` with a larger buffer.
    r.map_err(|_| EINVAL)
}

/// Counts the events below `node` enabled and disabled in `scope`.
fn count_enabled(scope: &Scope, node: &DirNode) -> (usize, usize) {
    let mut on = 0;
    let mut off = 0;
    let guard = SrcuGuard::new();
    for_each_event(node, &guard, &mut |e| {
        if scope.is_enabled(e) {
            on += 1;
        } else {
            off += 1;
        }
    });
    (on, off)
}

/// Calls `f` for every visible event node of `node` (`events/`: all of them; a group:
/// its own), inside the read section `guard`.
fn for_each_event(node: &DirNode, guard: &SrcuGuard, f: &mut dyn FnMut(&DirNode)) {
    let index = match (&node.kind, node.children.as_ref()) {
        (Kind::Events(registry), _) => registry,
        (Kind::Group | Kind::BuiltinGroup, Some(c)) => &c.by_pos,
        _ => return,
    };
    index.walk_in(0, guard, |_, e| {
        if e.is_visible() && e.event().is_some() {
            f(e);
        }
        true
    });
}

// --- writing ---------------------------------------------------------------------------

/// Writes `0`/`1` to the `enable` file of `node` (an event, a group or `events/`) in
/// the tracing directory `scope`.
pub(crate) fn write_enable(
    node: &DirNode,
    scope: Option<&DirNode>,
    src: &mut WriteSource,
) -> Result<usize> {
    let mut buf = [0u8; MAX_ENABLE_WRITE];
    let (n, data) = small_write(src, &mut buf)?;
    let on = match data.trim_ascii() {
        b"0" => false,
        b"1" => true,
        _ => return Err(EINVAL),
    };
    let scope = scope.and_then(|s| s.scope()).ok_or(EINVAL)?;
    // Under the writer mutex, so that a removal's EBUSY check sees a settled state.
    let st = TREE.lock();
    let _nofs = NofsScope::new();
    if node.is_freed() {
        return Err(ENODEV);
    }
    match &node.kind {
        Kind::Event(_) => scope.set(&st, node, on)?,
        _ => {
            let guard = SrcuGuard::new();
            scope.set_all(&st, on, &|f| for_each_event(node, &guard, f))?;
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
/// at most one page plus one line plus what the batch creates, whatever the size of the
/// write. A line longer
/// than [`events::MAX_LINE_LEN`] is refused with mainline's message. The unfinished end of
/// a write is kept in `pending` and completed by the file's next write (or applied at its
/// last close), so writers may cut their buffers anywhere; a failed write leaves
/// `pending` as it was. A write without any newline, on a file with nothing pending, is
/// one whole command (`echo -n`), so that its errors reach the writer.
pub(crate) fn write_dynamic_events(
    view: View,
    pending: &mut KVec<u8>,
    src: &mut WriteSource,
) -> Result<usize> {
    let total = src.remaining();
    let was_pending = !pending.is_empty();
    // Allocated before the mutex, bounded: one piece (no larger than the write), and the
    // line being assembled across pieces (only when a line is cut, at most one line).
    let mut piece = KVec::from_elem(0u8, total.min(PIECE), GFP_KERNEL)?;
    let mut line = KVec::new();
    line.extend_from_slice(pending, GFP_KERNEL)?;

    let mut st = TREE.lock();
    // Rule 9: nothing allocated under the writer mutex may recurse into fs reclaim.
    let _nofs = NofsScope::new();
    let mut w = Work::new(&st)?;
    let r = (|| -> Result {
        let mut newline = false;
        while src.remaining() > 0 {
            let mut rest = src.read_piece(&mut piece)?;
            while let Some(nl) = rest.iter().position(|&c| c == b'\n') {
                newline = true;
                let part = &rest[..nl];
                if line.len() + part.len() > events::MAX_LINE_LEN {
                    return Err(refuse(events::LINE_TOO_LONG));
                }
                if line.is_empty() {
                    // A whole line inside the piece: parsed where it is.
                    w.apply_line(&mut st, part, view)?;
                } else {
                    line.extend_from_slice(part, GFP_KERNEL)?;
                    w.apply_line(&mut st, &line, view)?;
                    line.clear();
                }
                rest = &rest[nl + 1..];
            }
            if line.len() + rest.len() > events::MAX_LINE_LEN {
                return Err(refuse(events::LINE_TOO_LONG));
            }
            line.extend_from_slice(rest, GFP_KERNEL)?;
        }
        if !newline && !was_pending {
            w.apply_line(&mut st, &line, view)?;
            line.clear();
        }
        Ok(())
    })();
    w.finish(&st, r)?;
    // Only now that the write succeeded does its unfinished line replace the old one
    // (the line buffer already holds the old pending bytes in front).
    core::mem::swap(pending, &mut line);
    Ok(total)
}

/// Bytes of a write copied at a time.
const PIECE: usize = 4096;

/// The last close of a `dynamic_events` file: applies an unfinished last line. Its
/// errors can only be logged.
pub(crate) fn flush_dynamic_events(view: View, pending: &mut KVec<u8>) {
    if pending.is_empty() {
        return;
    }
    let mut st = TREE.lock();
    let _nofs = NofsScope::new();
    let r = Work::new(&st).and_then(|mut w| {
        let r = w.apply_line(&mut st, pending, view);
        w.finish(&st, r)
    });
    if let Err(e) = r {
        if vfs::ratelimit() {
            pr_info!("dynamic_events: last line refused at close: {:?}\n", e);
        }
    }
    pending.clear();
}

/// Which file a definition is written to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    /// `dynamic_events`: `s:` and `-:` commands.
    Dynamic,
    /// `synthetic_events`: definitions without `s:`, `!` removals.
    Synthetic,
    /// `kprobe_events`: `p`, `r` and `-:` commands of kprobe events only.
    Kprobe,
}

/// `O_TRUNC` on `error_log` of the tracing directory `scope`: forgets its entries.
pub(crate) fn clear_errors(scope: Option<&DirNode>) -> Result {
    let id = scope.and_then(|s| s.scope()).ok_or(EINVAL)?.id;
    TREE.lock().errors.clear_scope(id);
    Ok(())
}

/// Copies a write to a control file (`enable`, `tracing_on`, ...) whole into `buf`:
/// returns its length and its bytes; `EINVAL` if it is longer than `buf`.
fn small_write<'b>(src: &mut WriteSource, buf: &'b mut [u8]) -> Result<(usize, &'b [u8])> {
    let n = src.remaining();
    if n > buf.len() {
        return Err(EINVAL);
    }
    Ok((n, src.read_piece(buf)?))
}

/// Copies a write that mainline takes whole, and only if shorter than a page (`inject`,
/// `filter`), and gives `f` its length and its bytes (as many as could be read); on the
/// stack if they fit (see [`with_scratch`]).
fn page_write<R>(src: &mut WriteSource, f: impl FnOnce(usize, &[u8]) -> Result<R>) -> Result<R> {
    let n = src.remaining();
    if n >= kernel::page::PAGE_SIZE {
        return Err(EINVAL);
    }
    with_scratch(n, |text| {
        let got = src.read_piece(text)?.len();
        f(n, &text[..got])
    })
}

/// Writes to `current_tracer`: `nop`, the only tracer, is accepted.
pub(crate) fn write_current_tracer(src: &mut WriteSource) -> Result<usize> {
    let mut buf = [0u8; MAX_ENABLE_WRITE];
    let (n, data) = small_write(src, &mut buf)?;
    if !tracing::valid_tracer(data) {
        return Err(EINVAL);
    }
    Ok(n)
}

/// Writes to `tracing_on` of the tracing directory `node`.
pub(crate) fn write_tracing_on(node: &DirNode, src: &mut WriteSource) -> Result<usize> {
    let scope = node.scope().ok_or(EINVAL)?;
    let mut buf = [0u8; MAX_ENABLE_WRITE];
    let (n, data) = small_write(src, &mut buf)?;
    let on = tracing::parse_tracing_on(data).ok_or(EINVAL)?;
    let _st = TREE.lock();
    scope.tracing_on.store(on, ordering::Relaxed);
    if let Some(b) = scope.buffer.get() {
        b.ring().set_recording(on);
    }
    Ok(n)
}

/// Writes to `buffer_size_kb` of the tracing directory `node`: the size of each CPU's part
/// of its buffer, in KiB (`kstrtoul`; 0 or more than [`tracing::BUFFER_KB_MAX`] is
/// `EINVAL`). A buffer that exists is resized, keeping what it can of its records.
pub(crate) fn write_buffer_size_kb(node: &DirNode, src: &mut WriteSource) -> Result<usize> {
    let scope = node.scope().ok_or(EINVAL)?;
    let mut buf = [0u8; MAX_ENABLE_WRITE];
    let (n, data) = small_write(src, &mut buf)?;
    let kb = tracing::parse_ulong(data).ok_or(EINVAL)?;
    if kb == 0 || kb > tracing::BUFFER_KB_MAX {
        return Err(EINVAL);
    }
    let _st = TREE.lock();
    if let Some(b) = scope.buffer.get() {
        b.ring().resize((kb << 10) as usize)?;
    }
    scope.buffer_kb.store(kb, ordering::Relaxed);
    Ok(n)
}

/// Writes to `trace_marker` of the tracing directory `node`: the text goes into its buffer
/// as one print record (at most [`tracing::MARKER_MAX`] bytes of it; the rest is
/// dropped, as tracefs does). `EBADF` while `tracing_on` is 0.
pub(crate) fn write_trace_marker(node: &DirNode, src: &mut WriteSource) -> Result<usize> {
    let scope = node.scope().ok_or(EINVAL)?;
    let n = src.remaining().min(tracing::MARKER_MAX);
    if n == 0 {
        return Ok(0);
    }
    if !scope.tracing_on.load(ordering::Relaxed) {
        return Err(EBADF);
    }
    let buf = scope.buffer()?;
    with_scratch(n, |text| {
        let got = src.read_piece(text)?.len();
        record::write_marker(buf, &text[..got])
    })
}

/// Bytes a writer keeps on its stack (the text of a write, a record it builds); more are
/// allocated. Most `trace_marker` and `inject` writes fit: they cost no allocation.
const STACK_SCRATCH: usize = 256;

/// The small stack scratch: the usual `inject` text and record, a short marker.
const SMALL_SCRATCH: usize = 64;

/// Runs `f` on `len` zeroed bytes: on the stack if they fit in [`STACK_SCRATCH`], else
/// allocated for the call. Small ones get a small array: zeroing costs per byte (a
/// `rep stosb` that TCG runs byte by byte).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [u8]) -> Result<R>) -> Result<R> {
    if len <= SMALL_SCRATCH {
        let mut b = [0u8; SMALL_SCRATCH];
        f(&mut b[..len])
    } else if len <= STACK_SCRATCH {
        let mut b = [0u8; STACK_SCRATCH];
        f(&mut b[..len])
    } else {
        f(&mut KVec::from_elem(0u8, len, GFP_KERNEL)?)
    }
}

/// A write to `inject` of event node `node` in `scope`: parsed as mainline parses it
/// (see `inject`; a kprobe event's fields are its header words and arguments, see
/// [`probe_fetch::ProbeFields`]), it writes one record of the event to the scope's buffer
/// if the event is enabled there, recording is on and the record passes its filter;
/// otherwise it is accepted and records nothing (mainline records into a disabled event;
/// the recording issue asks for enable to decide). A refused write records nothing.
pub(crate) fn write_inject(
    node: &DirNode,
    scope: Option<&DirNode>,
    src: &mut WriteSource,
) -> Result<usize> {
    let scope = scope.and_then(|s| s.scope()).ok_or(EINVAL)?;
    let ev = node.event().ok_or(EINVAL)?;
    page_write(src, |n, text| {
        if node.is_freed() {
            return Err(ENODEV);
        }
        match ev.info.shape.as_ref() {
            Some(shape) => {
                let fields = probe_fetch::ProbeFields::new(shape, events::COMMON_FIELDS_SIZE);
                inject_record(node, scope, ev, &fields, text)?;
            }
            None => inject_record(node, scope, ev, &inject::Declared(ev.info.fields()), text)?,
        }
        Ok(n)
    })
}

/// Makes the record a write of `text` to `inject` of event node `node` describes (its
/// fields `fields`) and writes it to `scope`'s buffer, as [`write_inject`] says.
fn inject_record<F: inject::Fields + ?Sized>(
    node: &DirNode,
    scope: &Scope,
    ev: &Event,
    fields: &F,
    text: &[u8],
) -> Result {
    let errno = |e| match e {
        inject::InjectError::Invalid => EINVAL,
        inject::InjectError::NoField => ENOENT,
        inject::InjectError::Range => ERANGE,
    };
    let size = inject::inject_len(text, fields).map_err(errno)?;
    with_scratch(size, |rec| {
        record::event_header(ev.record_type(), rec);
        inject::parse_inject(text, fields, rec).map_err(errno)?;
        if scope.is_enabled(node)
            && scope.tracing_on.load(ordering::Relaxed)
            && scope.passes(node, rec)
        {
            // `false`: recording stopped meanwhile; nothing is recorded, as in mainline.
            let _ = scope.buffer()?.write(rec.len(), |r| r.copy_from_slice(rec));
        }
        Ok(())
    })
}

/// The `error_log` location of a refused filter, as mainline logs it.
const FILTER_ERROR_LOC: &str = "event filter parse error";
/// mainline's `FILT_ERR_BAD_SUBSYS_FILTER`.
const BAD_GROUP_FILTER: &str = "Couldn't find or set field in one of a subsystem's events";

/// Sets (`text` is `Some`) or clears the filter of node `n` in `scope`, under [`TREE`].
/// The filter it replaces goes after a grace period (writers of records may be using it).
fn put_filter(
    st: &TreeGuard,
    scope: &Scope,
    n: &DirNode,
    new: Option<RcuArc<ScopeFilter>>,
) -> Result {
    let mut retired = Prepared::new(None, GFP_KERNEL)?;
    let old = match new {
        Some(f) => scope.filters.store(n.seq as usize, f, st)?,
        None => scope.filters.erase(n.seq as usize, st),
    };
    *retired.get_mut() = old;
    retired.drop_after_grace_period();
    Ok(())
}

/// A filter of event `e` with text `text`, or why it is refused.
fn compile_filter(e: &DirNode, text: &[u8]) -> Result<RcuArc<ScopeFilter>, filter::FilterError> {
    let no_mem = filter::FilterError {
        msg: filter::ERR_ERRNO,
        pos: 0,
        errno: ENOMEM.to_errno().abs(),
        parse_error: false,
    };
    let Some(ev) = e.event() else {
        return Err(no_mem);
    };
    let program = filter::compile(text, &FilterFields(&ev.info))?;
    let text = copy(filter::filter_text(text)).map_err(|_| no_mem)?;
    RcuArc::new(
        ScopeFilter {
            text,
            program: Some(program),
        },
        GFP_KERNEL,
    )
    .map_err(|_| no_mem)
}

/// Clears the filters of `node` (an event, or a group and its events) in `scope`.
fn clear_filters(st: &TreeGuard, scope: &Scope, node: &DirNode) -> Result {
    put_filter(st, scope, node, None)?;
    if let Kind::Group = node.kind {
        let guard = SrcuGuard::new();
        let mut r = Ok(());
        for_each_event(node, &guard, &mut |e| {
            if r.is_ok() {
                r = put_filter(st, scope, e, None);
            }
        });
        r?;
    }
    Ok(())
}

/// A write to `filter` of `node` (an event or a group) in `scope`: the tracefs filter
/// grammar (see `filter`), applied to the records of the event before they are written.
/// `0` or an empty write (`echo > filter`) clears it; opening with `O_TRUNC` alone
/// changes nothing, so that a refused `echo EXPR > filter` keeps the filter in place. A
/// refused filter is logged in `error_log` as mainline logs it. On a group, the filter
/// goes to each of its events for which it compiles (the others lose theirs, as in
/// mainline); refused only if it compiles for none.
pub(crate) fn write_filter(
    node: &DirNode,
    scope: Option<&DirNode>,
    src: &mut WriteSource,
) -> Result<usize> {
    let scope = scope.and_then(|s| s.scope()).ok_or(EINVAL)?;
    page_write(src, |n, text| set_filter(node, scope, text).map(|()| n))
}

/// Sets the filter `text` written to `filter` of `node` in `scope` (see [`write_filter`]).
fn set_filter(node: &DirNode, scope: &Scope, text: &[u8]) -> Result {
    let st = TREE.lock();
    let _nofs = NofsScope::new();
    if node.is_freed() {
        return Err(ENODEV);
    }
    let shown = filter::filter_text(text);
    if filter::is_clear(text) || shown.trim_ascii().is_empty() {
        clear_filters(&st, scope, node)?;
        return Ok(());
    }
    match node.kind {
        Kind::Event(_) => match compile_filter(node, text) {
            Ok(f) => put_filter(&st, scope, node, Some(f))?,
            Err(e) => {
                let mut st = st;
                st.errors
                    .log(scope.id, FILTER_ERROR_LOC, e.msg, shown, e.pos);
                return Err(Error::from_errno(-e.errno));
            }
        },
        Kind::Group => {
            // Compile for every event first: nothing changes unless one compiles.
            let guard = SrcuGuard::new();
            let mut done = KVec::new();
            let mut failed = KVec::new();
            let mut r = Ok(());
            for_each_event(node, &guard, &mut |e| {
                if r.is_err() {
                    return;
                }
                r = match compile_filter(e, text) {
                    Ok(f) => done.push((e.seq, f), GFP_KERNEL),
                    Err(_) => failed.push(e.seq, GFP_KERNEL),
                };
            });
            r?;
            if done.is_empty() {
                let mut st = st;
                st.errors
                    .log(scope.id, FILTER_ERROR_LOC, BAD_GROUP_FILTER, shown, 0);
                return Err(EINVAL);
            }
            let group = RcuArc::new(
                ScopeFilter {
                    text: copy(shown)?,
                    program: None,
                },
                GFP_KERNEL,
            )?;
            put_filter(&st, scope, node, Some(group))?;
            for_each_event(node, &guard, &mut |e| {
                let new = done
                    .iter()
                    .position(|(seq, _)| *seq == e.seq)
                    .map(|i| done[i].1.clone());
                if new.is_some() || failed.contains(&e.seq) {
                    let _ = put_filter(&st, scope, e, new);
                }
            });
        }
        _ => return Err(EINVAL),
    }
    Ok(())
}

/// Opens `trace` of the tracing directory `node` for reading: a cursor over its records.
pub(crate) fn trace_cursor(node: &DirNode) -> Result<TraceCursor> {
    let scope = node.scope().ok_or(EINVAL)?;
    Ok(TraceCursor::new(scope.buffer.reader()?))
}

/// Reads `trace_pipe` of the tracing directory `node`: takes records out of its buffer and
/// copies their lines to `dst`, as many as fit. `left` holds what a previous read took
/// out but had no room for (it comes first). Sleeps while there is nothing (`EAGAIN` if
/// `nonblock`); once something was copied, returns rather than wait for more.
pub(crate) fn read_trace_pipe(
    node: &DirNode,
    left: &mut KVec<u8>,
    dst: &mut ReadSink<'_>,
    nonblock: bool,
) -> Result<usize> {
    let scope = node.scope().ok_or(EINVAL)?;
    let buf = scope.buffer()?;
    let text = event_text(scope);
    let mut copied = 0;
    loop {
        if !left.is_empty() {
            let n = dst.write(left)?;
            left.copy_within(n.., 0);
            left.truncate(left.len() - n);
            copied += n;
            if !left.is_empty() || dst.remaining() == 0 {
                return Ok(copied);
            }
        }
        if buf.is_empty() {
            if copied > 0 {
                return Ok(copied);
            }
            if nonblock {
                return Err(EAGAIN);
            }
            buf.wait_for_record()?;
            continue;
        }
        // Room for the longest line first: once a record is taken out, printing it
        // cannot fail.
        left.reserve(record::LINE_MAX, GFP_KERNEL)?;
        let _ = buf.consume(|rec| record::show_record(&rec, &mut VecOut(left), &text));
    }
}

/// `poll(2)` of `trace_pipe` of `node`: registers the poll and tells whether a read would
/// find something. `left`: whether text of a previous read waits.
pub(crate) fn poll_trace_pipe(node: &DirNode, left: bool, reg: &PollRegistrar<'_>) -> bool {
    let Some(scope) = node.scope() else {
        return true;
    };
    match scope.buffer() {
        Ok(buf) => {
            reg.wait_on(buf);
            left || !buf.is_empty()
        }
        // A read reports the error.
        Err(_) => true,
    }
}

/// `O_TRUNC` on `trace`: drops every record of the tracing directory `node`.
pub(crate) fn clear_trace(node: &DirNode) -> Result {
    let scope = node.scope().ok_or(EINVAL)?;
    if let Some(b) = scope.buffer.get() {
        b.ring().clear();
    }
    Ok(())
}

/// How the records of `scope` print: by the event their type names, as it was when it
/// was enabled in `scope`.
fn event_text(
    scope: &Scope,
) -> impl Fn(u16, &[u8], &mut dyn LineOut) -> Option<core::fmt::Result> + '_ {
    move |ty, data, mut out| {
        let info = scope.printable(ty)?;
        if let Some(def) = info.shape.as_ref() {
            return Some(probe_fetch::write_event(
                &mut LineBytes(out),
                def,
                data,
                events::COMMON_FIELDS_SIZE,
                &KernelSymbols,
            ));
        }
        Some(
            inject::write_record(&mut out, &info.name, info.fields(), data)
                .and_then(|()| out.write_char('\n')),
        )
    }
}

/// Prints what the position of an open `trace` of `node` holds: the header or the record
/// `cursor` is on.
pub(crate) fn show_trace(node: &DirNode, cursor: &mut TraceCursor, out: &mut SeqOut<'_>) -> Result {
    let scope = node.scope().ok_or(EINVAL)?;
    let r = if cursor.at_header() {
        record::show_header(scope.buffer.get().map(Buffer::ring), out)
    } else {
        match cursor.record() {
            Some(rec) => record::show_record(&rec, out, &event_text(scope)),
            None => Ok(()),
        }
    };
    r.map_err(|_| EINVAL)
}

/// Enables or disables in `scope` the events of `events/` that `what` selects; whether
/// there was one.
fn set_matching(
    st: &TreeGuard,
    scope: &Scope,
    events: &DirNode,
    what: &tracing::EventMatch<'_>,
    on: bool,
) -> Result<bool> {
    let Some(registry) = events.registry() else {
        return Ok(false);
    };
    let guard = SrcuGuard::new();
    let mut any = false;
    let walk = |f: &mut dyn FnMut(&DirNode)| {
        registry.walk_in(0, &guard, |_, e| {
            if let (true, Some(g)) = (e.is_visible(), e.parent.as_ref()) {
                if e.event().is_some() && what.matches(&g.name, &e.name) {
                    f(e);
                }
            }
            true
        });
    };
    walk(&mut |_| any = true);
    scope.set_all(st, on, &walk)?;
    Ok(any)
}

/// A write to `set_event` of the tracing directory `dir`: blank-separated tokens, each
/// applied in turn as mainline does (`GROUP:EVENT`, `GROUP:*`, `*:EVENT`, `NAME`, with
/// `!` in front to disable). A token that selects nothing, or is longer than mainline's
/// limit, is `EINVAL` (the tokens before it stay applied, as in mainline).
pub(crate) fn write_set_event(dir: &DirNode, src: &mut WriteSource) -> Result<usize> {
    let scope = dir.scope().ok_or(EINVAL)?;
    let total = src.remaining();
    let mut piece = KVec::from_elem(0u8, total.min(PIECE), GFP_KERNEL)?;
    let mut token = [0u8; tracing::SET_EVENT_TOKEN_MAX];
    let mut len = 0;
    let st = TREE.lock();
    let _nofs = NofsScope::new();
    let guard = SrcuGuard::new();
    let events = events_of(top_of(dir), &guard).ok_or(ENODEV)?;
    drop(guard);
    let apply = |t: &[u8]| -> Result {
        let cmd = tracing::parse_set_event(t).ok_or(EINVAL)?;
        if set_matching(&st, scope, &events, &cmd.what, cmd.enable)? {
            Ok(())
        } else {
            Err(EINVAL)
        }
    };
    while src.remaining() > 0 {
        let data = src.read_piece(&mut piece)?;
        for &c in data.iter() {
            if c.is_ascii_whitespace() {
                if len > 0 {
                    apply(&token[..len])?;
                    len = 0;
                }
            } else if len == token.len() {
                return Err(EINVAL);
            } else {
                token[len] = c;
                len += 1;
            }
        }
    }
    if len > 0 {
        apply(&token[..len])?;
    }
    Ok(total)
}

/// `O_TRUNC` on `set_event` of the tracing directory `dir`: disables every event there.
pub(crate) fn disable_all(dir: &DirNode) -> Result {
    let scope = dir.scope().ok_or(EINVAL)?;
    let st = TREE.lock();
    disable_scope(&st, scope);
    Ok(())
}

/// Disables every event enabled in `scope`. Never allocates.
fn disable_scope(st: &TreeGuard, scope: &Scope) {
    let Some(registry) = st.events.as_ref().and_then(|e| e.registry()) else {
        return;
    };
    let guard = SrcuGuard::new();
    scope.enabled.for_each(st, |seq| {
        if let Some((at, e)) = registry.find(seq, &guard) {
            if at == seq {
                // Disabling cannot fail.
                let _ = scope.set(st, &e, false);
                return;
            }
        }
        // Not in the registry (any more): only the membership goes.
        scope.enabled.remove(seq, st);
    });
}

/// Opens a file of kind `kind` in the tracing directory `scope`: files that work on the
/// scope's state count as its users, which keeps `rmdir` of an instance away (`EBUSY`,
/// as tracefs' open files hold their `trace_array`). Returns whether it counted one.
pub(crate) fn open_in(scope: Option<&DirNode>, kind: FileKind) -> Result<bool> {
    let uses = matches!(
        kind,
        FileKind::Enable
            | FileKind::SetEvent
            | FileKind::TracingOn
            | FileKind::CurrentTracer
            | FileKind::AvailableTracers
            | FileKind::ErrorLog
            | FileKind::BufferSizeKb
            | FileKind::Trace
            | FileKind::TraceMarker
            | FileKind::TracePipe
            | FileKind::Inject
            | FileKind::Filter
    );
    match scope.and_then(|s| s.scope()) {
        Some(s) if uses => s.get().map(|()| true),
        _ => Ok(false),
    }
}

/// The last close of a file that [`open_in`] counted.
pub(crate) fn release_in(scope: Option<&DirNode>) {
    if let Some(s) = scope.and_then(|s| s.scope()) {
        s.put();
    }
}

/// Whether `node` is a tracing directory (its files and `events/` work on its state).
pub(crate) fn is_scope(node: &DirNode) -> bool {
    node.scope().is_some()
}

// --- instances -------------------------------------------------------------------------

/// `mkdir instances/NAME`: a new instance, with every event disabled in it. Costs one
/// node and one empty xarray, whatever the number of events (the events are the top
/// level's). Returns it and its inode number.
pub(crate) fn mkdir(dir: &DirRef, name: &[u8]) -> Result<(DirRef, u64)> {
    if !matches!(dir.kind, Kind::Instances) {
        return Err(EPERM);
    }
    if !tracing::valid_instance_name(name) {
        return Err(EINVAL);
    }
    let mut st = TREE.lock();
    let _nofs = NofsScope::new();
    if dir.is_freed() {
        return Err(ENODEV);
    }
    let guard = SrcuGuard::new();
    if child(dir, name, Seer::Writer, &guard).is_some() {
        return Err(EEXIST);
    }
    drop(guard);
    let id = st.next_scope;
    let node = DirNode::new(
        &mut st,
        copy(name)?,
        Kind::Instance(Scope::new(id)?),
        Some(dir),
    )?;
    publish_fixed(&st, &node)?;
    st.next_scope += 1;
    let ino = node.ino;
    Ok((node, ino))
}

/// `rmdir instances/NAME`: `EBUSY` while a file of the instance that works on its state
/// is open; else the instance's enable states and `error_log` go, and so does the
/// instance (its dentries then fail revalidation, rule 5).
pub(crate) fn rmdir(dir: &DirNode, victim: &DirNode) -> Result {
    let (Kind::Instances, Kind::Instance(scope)) = (&dir.kind, &victim.kind) else {
        return Err(EPERM);
    };
    // Allocated first: once the instance is closed, nothing may fail.
    let mut retired = Prepared::new(KVVec::with_capacity(2, GFP_KERNEL)?, GFP_KERNEL)?;
    let mut st = TREE.lock();
    let _nofs = NofsScope::new();
    let guard = SrcuGuard::new();
    // The node as the indexes hold it (`victim` is the dentry's borrowed one).
    let Some(node) = child_ref(victim, &guard) else {
        return Err(ENOENT);
    };
    drop(guard);
    scope.close()?;
    disable_scope(&st, scope);
    scope.free_buffer(&st);
    st.errors.clear_scope(scope.id);
    unpublish(&st, &node, retired.get_mut());
    retired.drop_after_grace_period();
    Ok(())
}

/// The counted reference to `victim`, a published directory, that the indexes hold.
fn child_ref(victim: &DirNode, guard: &SrcuGuard) -> Option<DirRef> {
    let key = NameKey {
        parent: victim.parent_addr(),
        name: &victim.name,
        seer: Seer::Reader,
    };
    let found = NAMES.lookup(&key, guard)?;
    core::ptr::eq(&*found, victim).then_some(found)
}

/// Takes a published directory out of the indexes; their references go into `retired`,
/// to be dropped after an SRCU grace period (lock-free readers may hold what they found).
fn unpublish(st: &TreeGuard, node: &DirRef, retired: &mut KVVec<DirRef>) {
    COMMITS.fetch_add(1, ordering::Full);
    node.set_state(FREED, 0);
    let refs = [
        NAMES.remove(node, st),
        node.parent
            .as_ref()
            .and_then(|p| p.children.as_ref())
            .and_then(|d| {
                d.live.fetch_sub(1, ordering::Relaxed);
                d.by_pos.erase(node.pos as usize, st)
            }),
    ];
    for r in refs.into_iter().flatten() {
        // Room for both was reserved by the caller.
        let _ = retired.push_within_capacity(r);
    }
    COMMITS.fetch_add(1, ordering::Full);
}

/// Removes every instance (module unload: nothing is mounted, no file is open).
fn remove_instances(st: &TreeGuard, instances: &DirRef) {
    let Some(children) = instances.children.as_ref() else {
        return;
    };
    let guard = SrcuGuard::new();
    let mut next = 0;
    while let Some((at, inst)) = children.by_pos.find(next, &guard) {
        next = at + 1;
        if let Some(scope) = inst.scope() {
            disable_scope(st, scope);
            scope.free_buffer(st);
        }
        inst.set_state(FREED, 0);
        drop(NAMES.remove(&inst, st));
        drop(children.by_pos.erase(at, st));
        children.live.fetch_sub(1, ordering::Relaxed);
    }
}

/// `O_TRUNC` on the definitions file `view`: removes every event it lists (all for
/// `dynamic_events`), or none if one of them is enabled (`EBUSY`).
pub(crate) fn truncate(view: View) -> Result {
    let st = TREE.lock();
    let _nofs = NofsScope::new();
    remove_all_of(&st, false, view)
}

fn remove_all(st: &TreeGuard, force: bool) -> Result {
    remove_all_of(st, force, View::Dynamic)
}

fn remove_all_of(st: &TreeGuard, force: bool, view: View) -> Result {
    let mut w = Work::new(st)?;
    let r = (|| -> Result {
        let registry = w.root.registry().ok_or(EINVAL)?;
        let guard = SrcuGuard::new();
        let mut all = KVVec::new();
        let mut next = 0;
        while let Some((at, e)) = registry.find(next, &guard) {
            next = at + 1;
            let is_probe = e.event().is_some_and(|ev| ev.probe.is_some());
            let listed = match view {
                View::Dynamic => true,
                View::Synthetic => !is_probe,
                View::Kprobe => is_probe,
            };
            if listed {
                all.push(e, GFP_KERNEL)?;
            }
        }
        drop(guard);
        for e in all.iter() {
            w.remove_node(e, force)?;
        }
        Ok(())
    })();
    w.finish(st, r)
}

/// A batch of changes. New nodes go into the indexes unpublished as they are made, nodes
/// to remove are marked doomed: every allocation happens while the batch is built, and
/// [`Work::finish`] either publishes the whole batch (a commit that cannot fail) or
/// undoes it.
struct Work {
    /// `events/`, whose registry and groups the batch edits.
    root: DirRef,
    /// Nodes the batch created, in creation order (parents before children).
    created: KVVec<DirRef>,
    /// Nodes the batch removes.
    doomed: KVVec<DirRef>,
}

impl Work {
    fn new(st: &TreeGuard) -> Result<Work> {
        Ok(Work {
            root: st.events.clone().ok_or(ENODEV)?,
            created: KVVec::new(),
            doomed: KVVec::new(),
        })
    }

    fn registry(&self) -> Result<&Registry> {
        self.root.registry().ok_or(EINVAL)
    }

    /// Parses one command line written to `view` and applies it to the batch. A refused
    /// command is logged in `error_log`.
    fn apply_line(&mut self, st: &mut TreeGuard, line: &[u8], view: View) -> Result {
        if let Some(source) = probe_source(line, view) {
            return self.apply_probe_line(st, line, source);
        }
        let parsed = match view {
            View::Dynamic | View::Kprobe => events::parse_line_at(line),
            View::Synthetic => events::parse_synth_line(line),
        };
        let cmd = match parsed {
            Ok(cmd) => cmd,
            Err(r) => {
                // As mainline: synthetic-event errors are logged under `synthetic_events`
                // whichever file took the command, with the command as written (`s:`
                // included), without its surrounding whitespace.
                if let Some(text) = r.err.log_text() {
                    st.errors
                        .log(0, events::SYNTH_ERR_LOC, text, trimmed(line), r.pos);
                }
                return Err(refuse(r.err.message()));
            }
        };
        let event = match &cmd {
            Some(Command::Create(spec)) => Some(spec.event),
            _ => None,
        };
        let r = self.apply(st, cmd);
        if let (true, Some(event)) = (r == Err(EEXIST), event) {
            let pos = events::exists_pos(line, event);
            st.errors.log(
                0,
                events::SYNTH_ERR_LOC,
                "Event already exists",
                trimmed(line),
                pos,
            );
        }
        r
    }

    fn apply(&mut self, st: &mut TreeGuard, cmd: Option<Command<'_>>) -> Result {
        match cmd {
            None => Ok(()),
            Some(Command::Create(spec)) => self.create(st, &spec),
            Some(Command::Remove { group, event }) => {
                // As mainline matches a synthetic event: by its group and name only (the
                // arguments of the command are ignored, not compared with its fields),
                // and never a whole group (`-:GROUP/` names no event: ENOENT).
                let guard = SrcuGuard::new();
                let g = child(&self.root, group, Seer::Writer, &guard).ok_or(ENOENT)?;
                let e = child(&g, event, Seer::Writer, &guard).ok_or(ENOENT)?;
                drop(guard);
                if e.event().is_none_or(|ev| ev.probe.is_some()) {
                    return Err(ENOENT);
                }
                self.remove_node(&e, false)
            }
        }
    }

    /// The group directory `name` for a new event `event` in it: found, taken back from
    /// this batch's doomed ones, or made. `EEXIST` if the group has that event.
    fn group_for(&mut self, st: &mut TreeGuard, name: &[u8], event: &[u8]) -> Result<DirRef> {
        let guard = SrcuGuard::new();
        let found = child(&self.root, name, Seer::Writer, &guard);
        let exists = found
            .as_ref()
            .is_some_and(|g| child(g, event, Seer::Writer, &guard).is_some());
        // A group this batch emptied (and so doomed) is taken back rather than replaced:
        // `-:g/e` then `s:g/e ...` never makes `g` disappear for a concurrent lookup.
        let doomed = match found {
            None => child(&self.root, name, Seer::Doomed, &guard),
            Some(_) => None,
        };
        drop(guard);
        if exists {
            return Err(EEXIST);
        }
        Ok(match (found, doomed) {
            (Some(g), _) => g,
            (None, Some(g)) => {
                self.revive(&g);
                g
            }
            (None, None) => {
                let root = self.root.clone();
                let g = DirNode::new(st, copy(name)?, Kind::Group, Some(&root))?;
                self.add(st, g.clone())?;
                g
            }
        })
    }

    /// Makes event node `name` in `group` for `info` (and `probe`, for a kprobe event),
    /// with a new id, and enters it into the batch.
    fn add_event(
        &mut self,
        st: &mut TreeGuard,
        group: &DirRef,
        name: &[u8],
        info: RcuArc<EventInfo>,
        probe: Option<ProbeData>,
    ) -> Result<DirRef> {
        let name = copy(name)?;
        let id = st
            .ids
            .as_ref()
            .ok_or(EINVAL)?
            .alloc(FIRST_EVENT_ID, MAX_EVENT_ID)?;
        let ev = Event {
            id,
            enabled_in: Atomic::new(0),
            ever_enabled: Atomic::new(false),
            info,
            probe,
        };
        // From here the id is the node's: `abort` (or the commit of its removal) gives it
        // back; until the node exists, it is ours.
        let e = DirNode::new(st, name, Kind::Event(ev), Some(group)).inspect_err(|_| {
            if let Some(ids) = st.ids.as_ref() {
                ids.free(id);
            }
        })?;
        self.add(st, e.clone()).inspect_err(|_| free_id(st, &e))?;
        Ok(e)
    }

    /// Applies one line that is a kprobe command (see [`probe_source`]). A refusal is
    /// logged in `error_log` as mainline logs it.
    fn apply_probe_line(&mut self, st: &mut TreeGuard, line: &[u8], source: Source) -> Result {
        match probe::parse_probe_line_with(line, source, &RunningKernel) {
            Err(r) => {
                log_probe_error(st, &r, line);
                Err(match r.errno {
                    probe::Errno::Inval => EINVAL,
                    probe::Errno::TooBig => E2BIG,
                    probe::Errno::NotSupported => eopnotsupp(),
                    probe::Errno::NoMemory => ENOMEM,
                })
            }
            Ok(None) => Ok(()),
            Ok(Some(ProbeCommand::Create(def))) => self.create_probe(st, &def, line),
            Ok(Some(ProbeCommand::Remove(rm))) => {
                self.remove_matching(&rm, source == Source::KprobeEvents)
            }
        }
    }

    /// Creates the kprobe event `def` and registers its probe, disarmed, as mainline
    /// does when a probe is defined (so that a place no probe may go is refused now).
    fn create_probe(&mut self, st: &mut TreeGuard, def: &ProbeDef<'_>, line: &[u8]) -> Result {
        let uses_symbol = def
            .args()
            .any(|a| a.program().any(|f| matches!(f, probe::Fetch::Symbol(_))));
        if uses_symbol {
            // `@SYM` needs `kallsyms_lookup_name()`, which modules cannot call.
            return Err(refuse("kprobe_events: @SYM arguments are not supported"));
        }
        let group = match self.group_for(st, def.group, def.event()) {
            Err(e) if e == EEXIST => {
                let (err, pos) = self.exists_error(def);
                log_probe_at(st, def, err.log_text().unwrap_or(""), pos);
                return Err(EEXIST);
            }
            r => r?,
        };
        // How many arguments the entry handler of a return probe saves (`$argN`).
        let mut entry_args = 0;
        for a in def.args() {
            for f in a.program() {
                if let probe::Fetch::EntryArg(n) = f {
                    entry_args = entry_args.max(n);
                }
            }
        }
        if entry_args > vfs::kprobe::MAX_ENTRY_ARGS {
            return Err(refuse("kprobe_events: $argN of a return probe beyond 16"));
        }
        let spec = match def.place {
            probe::Place::Symbol { symbol, offset } => ProbeSpec {
                symbol,
                offset: u64::from(offset),
                ret: def.is_return.then_some((def.maxactive, entry_args)),
            },
            probe::Place::Address(addr) => ProbeSpec {
                symbol: &[],
                offset: addr,
                ret: def.is_return.then_some((def.maxactive, entry_args)),
            },
        };
        let kprobe = Kprobe::new(&spec)?;
        let info = RcuArc::new(
            EventInfo {
                name: copy(def.event())?,
                fields: KVec::new(),
                probe: Some(copy(probe::command(line))?),
                shape: Some(shape_of(def)?),
            },
            GFP_KERNEL,
        )?;
        let probe = ProbeData {
            kprobe,
            hits: Atomic::new(0),
        };
        let e = self.add_event(st, &group, def.event(), info, Some(probe))?;
        let Some(p) = e.event().and_then(|ev| ev.probe.as_ref()) else {
            return Err(EINVAL);
        };
        // From here a failure aborts the batch, which unregisters what was registered.
        if let Err(err) = p.kprobe.register(e.clone()) {
            let which = if err.to_errno() == -(bindings::EILSEQ as i32) {
                probe::ProbeError::BadInsnBndry
            } else if err == ENOENT {
                probe::ProbeError::BadProbeAddr
            } else {
                probe::ProbeError::FailRegProbe
            };
            if err != ENOMEM {
                log_probe_at(st, def, which.log_text().unwrap_or(""), def.log_pos(1, 0));
            }
            // A kernel symbol that does not exist is refused by mainline's parser
            // (`validate_probe_symbol()`), with `EINVAL`; only a module's symbol gets
            // as far as registration, and its `ENOENT`.
            let in_module =
                matches!(def.place, probe::Place::Symbol { symbol, .. } if symbol.contains(&b':'));
            if err == ENOENT && !in_module {
                return Err(EINVAL);
            }
            return Err(err);
        }
        Ok(())
    }

    /// Why probe `def` cannot join the event of its name, which exists, and where the
    /// caret goes: mainline's checks before it appends a probe to a kprobe event
    /// (`DIFF_PROBE_TYPE`, `DIFF_ARG_TYPE`, `SAME_PROBE`). A probe that passes them is
    /// refused too, as an existing event (`EVENT_EXIST`): this module keeps one probe per
    /// event, where mainline would append it.
    fn exists_error(&self, def: &ProbeDef<'_>) -> (probe::ProbeError, usize) {
        use probe::ProbeError as E;
        let guard = SrcuGuard::new();
        let old = child(&self.root, def.group, Seer::Writer, &guard)
            .and_then(|g| child(&g, def.event(), Seer::Writer, &guard));
        let Some(info) = old.as_ref().and_then(|e| e.event()).map(|ev| &ev.info) else {
            return (E::EventExist, def.log_pos(0, 0));
        };
        let Some(old) = info.probe_def() else {
            return (E::EventExist, def.log_pos(0, 0));
        };
        if old.is_return != def.is_return {
            return (E::DiffProbeType, def.log_pos(0, 0));
        }
        match def.compare_args(&old) {
            0 if def.same_probe(&old) => (E::SameProbe, def.log_pos(0, 0)),
            0 => (E::EventExist, def.log_pos(0, 0)),
            n => (E::DiffArgType, def.log_pos(n + 1, 0)),
        }
    }

    /// Removes the events a removal command matches (`probes_only`: kprobe events only,
    /// as `kprobe_events` sees them): `ENOENT` if none, `EBUSY` if one is enabled.
    fn remove_matching(&mut self, rm: &Removal<'_>, probes_only: bool) -> Result {
        let matches = |e: &DirNode| -> bool {
            let Some(ev) = e.event() else {
                return false;
            };
            if e.state() & DOOMED != 0 || e.is_freed() {
                return false;
            }
            let group = e.parent.as_ref().map_or(&[][..], |g| &g.name[..]);
            match ev.info.probe_def() {
                Some(def) => rm.matches(&def),
                // A synthetic event matches by its group (`synthetic` if none is given)
                // and name only, as before kprobe events came.
                None => {
                    !probes_only
                        && !rm.event.is_empty()
                        && rm.event == &e.name[..]
                        && rm.group.unwrap_or(events::DEFAULT_GROUP) == group
                }
            }
        };
        let mut found = KVVec::new();
        if let (Some(group), false) = (rm.group, rm.event.is_empty()) {
            // A group and an event: at most one, found by name as the batch sees the tree
            // (a walk of every event per removal made removing N events one per write
            // O(N^2)).
            let guard = SrcuGuard::new();
            if let Some(e) = child(&self.root, group, Seer::Writer, &guard)
                .and_then(|g| child(&g, rm.event, Seer::Writer, &guard))
                .filter(|e| matches(e))
            {
                found.push(e, GFP_KERNEL)?;
            }
        } else {
            // The published events, then those this batch made (not in the registry yet).
            let registry = self.registry()?;
            let guard = SrcuGuard::new();
            let mut next = 0;
            while let Some((at, e)) = registry.find(next, &guard) {
                next = at + 1;
                if matches(&e) {
                    found.push(e, GFP_KERNEL)?;
                }
            }
            drop(guard);
            for e in self.created.iter() {
                if e.state() & PUBLISHED == 0 && matches(e) {
                    found.push(e.clone(), GFP_KERNEL)?;
                }
            }
        }
        if found.is_empty() {
            return Err(ENOENT);
        }
        for e in found.iter() {
            self.remove_node(e, false)?;
        }
        Ok(())
    }

    fn create(&mut self, st: &mut TreeGuard, spec: &EventSpec<'_>) -> Result {
        let group = self.group_for(st, spec.group, spec.event)?;
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
        let info = EventInfo {
            name: copy(spec.event)?,
            fields,
            probe: None,
            shape: None,
        };
        let info = RcuArc::new(info, GFP_KERNEL)?;
        self.add_event(st, &group, spec.event, info, None)
            .map(|_| ())
    }

    /// Enters a new node into the indexes, unpublished. Either all of it happens or none.
    fn add(&mut self, st: &TreeGuard, node: DirRef) -> Result {
        let dir = node
            .parent
            .as_ref()
            .and_then(|p| p.children.as_ref())
            .ok_or(EINVAL)?;
        self.created.reserve(1, GFP_KERNEL)?;
        dir.by_pos.reserve(node.pos as usize, st)?;
        if node.event().is_some() {
            if let Err(e) = self.registry()?.reserve(node.seq as usize, st) {
                dir.by_pos.release(node.pos as usize, st);
                return Err(e);
            }
        }
        if let Err((e, _)) = NAMES.insert(node.clone(), st) {
            dir.by_pos.release(node.pos as usize, st);
            if node.event().is_some() {
                self.registry()?.release(node.seq as usize, st);
            }
            return Err(e);
        }
        dir.live.add(1, ordering::Relaxed);
        // Room was reserved above.
        let _ = self.created.push_within_capacity(node);
        Ok(())
    }

    /// Removes an event (and its group with its last event) from the batch's view.
    fn remove_node(&mut self, e: &DirRef, force: bool) -> Result {
        let ev = e.event().ok_or(EINVAL)?;
        if !force && ev.enabled_in.load(ordering::Relaxed) != 0 {
            return Err(EBUSY);
        }
        self.doom(e)?;
        let group = e.parent.as_ref().ok_or(EINVAL)?;
        if group
            .children
            .as_ref()
            .ok_or(EINVAL)?
            .live
            .load(ordering::Relaxed)
            == 0
        {
            // The group goes with its last event.
            self.doom(group)?;
        }
        Ok(())
    }

    /// Takes back a directory this batch doomed (it stays in the doomed list, where
    /// commit and abort skip it).
    fn revive(&mut self, node: &DirRef) {
        if let Some(dir) = node.parent.as_ref().and_then(|p| p.children.as_ref()) {
            dir.live.add(1, ordering::Relaxed);
        }
        node.set_state(0, DOOMED);
    }

    fn doom(&mut self, node: &DirRef) -> Result {
        let dir = node
            .parent
            .as_ref()
            .and_then(|p| p.children.as_ref())
            .ok_or(EINVAL)?;
        self.doomed.push(node.clone(), GFP_KERNEL)?;
        node.set_state(DOOMED, 0);
        dir.live.fetch_sub(1, ordering::Relaxed);
        Ok(())
    }

    /// Commits the batch if `r` is `Ok` (and the commit's one allocation succeeds), else
    /// undoes it. Returns `r`, or the commit's error.
    fn finish(self, st: &TreeGuard, r: Result) -> Result {
        // Per removed node: its references from the hash table, its directory and
        // (events) the registry, to drop after a grace period. Nothing to hold (and no
        // allocation) for a batch that only creates.
        let retired = r.and_then(|()| {
            if self.doomed.is_empty() {
                return Ok(None);
            }
            let v = KVVec::with_capacity(3 * self.doomed.len(), GFP_KERNEL)?;
            Ok(Some(Prepared::new(v, GFP_KERNEL)?))
        });
        match retired {
            Ok(retired) => {
                self.commit(st, retired);
                Ok(())
            }
            Err(e) => {
                self.abort(st);
                Err(e)
            }
        }
    }

    /// Publishes the batch. Nothing here allocates or fails.
    fn commit(self, st: &TreeGuard, mut retired: Option<Prepared<KVVec<DirRef>>>) {
        let Ok(registry) = self.registry() else {
            return;
        };
        // Odd from here until the end: lookups that miss while it is odd, or across it,
        // look again (see `lookup`).
        COMMITS.fetch_add(1, ordering::Full);
        // Publish first: a batch that removes and re-creates a name publishes the new node
        // before it frees the old one, so a concurrent lookup always finds one of them.
        for n in self.created.iter() {
            let Some(dir) = n.parent.as_ref().and_then(|p| p.children.as_ref()) else {
                continue;
            };
            if n.state() & DOOMED != 0 {
                // Created and removed by the same batch: never seen by readers.
                unregister_probe(n);
                drop(NAMES.remove(n, st));
                dir.by_pos.release(n.pos as usize, st);
                if n.event().is_some() {
                    registry.release(n.seq as usize, st);
                }
                free_id(st, n);
                n.set_state(FREED, DOOMED);
                continue;
            }
            dir.by_pos.store_reserved(n.pos as usize, n.clone(), st);
            if n.event().is_some() {
                registry.store_reserved(n.seq as usize, n.clone(), st);
            }
            n.set_state(PUBLISHED, 0);
        }
        for n in self.doomed.iter() {
            // Created by this batch (handled above), or revived.
            if n.state() & (PUBLISHED | DOOMED) != PUBLISHED | DOOMED {
                continue;
            }
            n.set_state(FREED, DOOMED);
            free_id(st, n);
            unregister_probe(n);
            let Some(dir) = n.parent.as_ref().and_then(|p| p.children.as_ref()) else {
                continue;
            };
            // Readers may hold what they found in these indexes until their read section
            // ends: the indexes' references go after an SRCU grace period (rule 4).
            let refs = [
                NAMES.remove(n, st),
                dir.by_pos.erase(n.pos as usize, st),
                if n.event().is_some() {
                    registry.erase(n.seq as usize, st)
                } else {
                    None
                },
            ];
            for r in refs.into_iter().flatten() {
                // `finish` allocated room for three per removed node.
                if let Some(list) = retired.as_mut() {
                    let _ = list.get_mut().push_within_capacity(r);
                }
            }
        }
        if let Some(list) = retired {
            list.drop_after_grace_period();
        }
        COMMITS.fetch_add(1, ordering::Full);
    }

    /// Undoes the batch. Nothing here allocates or fails.
    fn abort(self, st: &TreeGuard) {
        let Ok(registry) = self.registry() else {
            return;
        };
        for n in self.created.iter().rev() {
            let Some(dir) = n.parent.as_ref().and_then(|p| p.children.as_ref()) else {
                continue;
            };
            // Never published, so no reader took a reference from the table: its
            // reference can go now (chain walkers are covered by the node's RCU-delayed
            // free).
            unregister_probe(n);
            drop(NAMES.remove(n, st));
            dir.by_pos.release(n.pos as usize, st);
            if n.event().is_some() {
                registry.release(n.seq as usize, st);
            }
            free_id(st, n);
            if n.state() & DOOMED == 0 {
                dir.live.fetch_sub(1, ordering::Relaxed);
            }
            n.set_state(FREED, DOOMED);
        }
        for n in self.doomed.iter() {
            // Created by this batch (handled above), or revived (its count is restored).
            if n.state() & (PUBLISHED | DOOMED) != PUBLISHED | DOOMED {
                continue;
            }
            if let Some(dir) = n.parent.as_ref().and_then(|p| p.children.as_ref()) {
                dir.live.add(1, ordering::Relaxed);
            }
            n.set_state(0, DOOMED);
        }
    }
}

/// Whether `line`, written to `view`, is a kprobe command, and the source the probe
/// parser takes it from: every line of `kprobe_events`; in `dynamic_events`, `p` and
/// `r` lines and every removal (which may name kprobe and synthetic events alike).
fn probe_source(line: &[u8], view: View) -> Option<Source> {
    match view {
        View::Kprobe => Some(Source::KprobeEvents),
        View::Synthetic => None,
        View::Dynamic => match probe::command(line)
            .iter()
            .find(|c| !c.is_ascii_whitespace())
        {
            Some(b'p' | b'r' | b'-' | b'!') => Some(Source::DynamicEvents),
            _ => None,
        },
    }
}

/// The text of an `error_log` command, assembled by the probe renderers.
struct LogCommand(KVec<u8>);

impl probe::ByteWrite for LogCommand {
    fn write_bytes(&mut self, bytes: &[u8]) -> core::fmt::Result {
        self.0
            .extend_from_slice(bytes, GFP_KERNEL)
            .map_err(|_| core::fmt::Error)
    }
}

/// Logs a refused kprobe command `line` in `error_log`, as mainline logs it (under
/// `trace_kprobe`), if mainline logs it.
fn log_probe_error(st: &mut TreeGuard, r: &ProbeRefusal, line: &[u8]) {
    let Some(text) = r.err.log_text() else {
        return;
    };
    let mut cmd = LogCommand(KVec::new());
    if r.write_command(&mut cmd, line).is_ok() {
        st.errors.log(0, probe::ERR_LOC, text, &cmd.0, r.pos);
    }
}

/// Logs an error about the parsed probe `def` (registry or registration) at `pos`.
fn log_probe_at(st: &mut TreeGuard, def: &ProbeDef<'_>, text: &'static str, pos: usize) {
    let mut cmd = LogCommand(KVec::new());
    if def.write_log_command(&mut cmd).is_ok() {
        st.errors.log(0, probe::ERR_LOC, text, &cmd.0, pos);
    }
}

/// Unregisters the probe of kprobe event node `n` (removed, or never published); waits
/// for its running handlers. Nothing for other nodes.
fn unregister_probe(n: &DirNode) {
    if let Some(p) = n.event().and_then(|e| e.probe.as_ref()) {
        p.kprobe.unregister();
    }
}

/// A command line without the whitespace around it (as the parsers see it).
fn trimmed(line: &[u8]) -> &[u8] {
    events::trim_line(line)
}

/// A copy of a validated name.
fn copy(name: &[u8]) -> Result<KVec<u8>> {
    let mut v = KVec::with_capacity(name.len(), GFP_KERNEL)?;
    v.extend_from_slice(name, GFP_KERNEL)?;
    Ok(v)
}
