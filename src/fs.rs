// SPDX-License-Identifier: GPL-2.0

//! The eventfs filesystem on top of the `vfs` wrappers: mount options, the superblock
//! and the root directory. Safe Rust only.

use core::pin::Pin;

use kernel::{
    new_mutex, new_spinlock,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::atomic::{ordering, Atomic},
    sync::{Mutex, SpinLock},
};

use crate::opts::{self, Key, MountOpts};
use crate::record::TraceCursor;
use crate::tree::{self, DirNode, DirRef, FileKind, MountOwner, Pass, View};
use crate::vfs::{
    AttrChange, Attrs, DirEntry, FileSystem, Found, FsContext, Kgid, Kuid, NewSuperBlock,
    ParamKind, ParamSpec, ParamTable, ParamValue, PollRegistrar, ReadSink, RootSpec, SeqOut,
    SuperBlock, Tree, WriteSource,
};

/// Magic number reported by `statfs(2)` (TRACEFS_MAGIC + 1, so both can be told apart).
const EVENTFS_MAGIC: u32 = 0x74726163 + 1;

/// The options of a request, or those in force on the superblock, in kernel ids.
pub(crate) type Opts = MountOpts<Kuid, Kgid>;

static PARAM_SPECS: [ParamSpec; 5] = [
    ParamSpec::new(c"uid", ParamKind::Uid, Key::Uid as u8),
    ParamSpec::new(c"gid", ParamKind::Gid, Key::Gid as u8),
    ParamSpec::new(c"mode", ParamKind::String, Key::Mode as u8),
    ParamSpec::new(c"dontcache", ParamKind::Flag, Key::DontCache as u8),
    ParamSpec::END,
];
static PARAM_KINDS: [ParamKind; 4] = [
    ParamKind::Uid,
    ParamKind::Gid,
    ParamKind::String,
    ParamKind::Flag,
];

/// The eventfs filesystem type.
pub(crate) struct Eventfs;

/// Per-superblock data (and, before the superblock exists, per-request data).
///
/// Owned by the `fs_context` of a request until `sget_fc()` moves it into the one
/// superblock, which then owns it until `kill_sb` (see `vfs::fs_type`).
#[pin_data]
pub(crate) struct Info {
    /// Options in force. A spin lock because readers (`show_options`) may run
    /// concurrently with a remount.
    #[pin]
    opts: SpinLock<Opts>,
    /// The ownership of every untouched entry, read lock-free (RCU-walk) by
    /// `getattr`/`permission`. Only the superblock's own `Info` is used for it (a
    /// request's is set up again in `fill_super`).
    owner: MountOwner,
    /// `dontcache`: read lock-free by `d_delete` (under the dentry's spin lock).
    dontcache: Atomic<bool>,
}

impl Info {
    fn opts(&self) -> Opts {
        *self.opts.lock()
    }
}

impl FileSystem for Eventfs {
    const NAME: &'static CStr = c"eventfs";
    const MAGIC: u32 = EVENTFS_MAGIC;
    const PARAMS: ParamTable = ParamTable::new(&PARAM_SPECS, &PARAM_KINDS);
    type Info = Info;
    type Tree = EventfsTree;

    fn new_info() -> impl PinInit<Info, Error> {
        try_pin_init!(Info {
            opts <- new_spinlock!(Opts::none(), "eventfs_opts"),
            owner: MountOwner::new(Kuid::ROOT, Kgid::ROOT),
            dontcache: Atomic::new(false),
        })
    }

    fn parse_param(info: Pin<&Info>, fc: &FsContext, opt: u8, value: ParamValue<'_>) -> Result {
        // Parse and report errors first: logging to the request's log (`fsconfig(2)`)
        // allocates and may sleep, so it must not happen under the spin lock.
        let mut v = Opts::none();
        match (Key::from_opt(opt), value) {
            (Some(Key::Uid), ParamValue::Uid(uid)) => v.uid = Some(uid),
            (Some(Key::Gid), ParamValue::Gid(gid)) => v.gid = Some(gid),
            (Some(Key::Mode), ParamValue::String(s)) => {
                v.mode = Some(opts::parse_mode(s.to_bytes()).map_err(|e| fc.invalf(e.message()))?)
            }
            (Some(Key::DontCache), ParamValue::Flag) => v.dontcache = Some(true),
            _ => return Err(EINVAL),
        }
        info.opts.lock().merge(&v);
        Ok(())
    }

    fn fill_super(sb: &NewSuperBlock<Self>) -> Result<RootSpec<DirNode>> {
        let info = sb.info();
        let o = info.opts();
        // A new superblock: its options (or root) become the default ownership.
        info.owner.reset(o.uid_or(Kuid::ROOT), o.gid_or(Kgid::ROOT));
        info.dontcache.store(o.dontcache(), ordering::Relaxed);
        Ok(RootSpec {
            node: tree::root()?,
            attrs: Attrs {
                perm: o.root_mode(),
                uid: o.uid_or(Kuid::ROOT),
                gid: o.gid_or(Kgid::ROOT),
            },
        })
    }

    fn reconfigure(sb: &SuperBlock<Self>, request: Pin<&Info>) -> Result {
        let req = request.opts();
        let info = sb.info();
        let now = {
            let mut o = info.opts.lock();
            o.merge(&req);
            *o
        };
        // Only what the request names changes; the root follows the options in force,
        // and so does every entry (rule 8), without walking anything.
        info.owner.remount(req.uid, req.gid);
        if req.dontcache.is_some() {
            info.dontcache.store(now.dontcache(), ordering::Relaxed);
        }
        let root = sb.root_inode();
        if req.mode.is_some() {
            root.set_perm(now.root_mode());
        }
        if req.uid.is_some() {
            root.set_uid(now.uid_or(Kuid::ROOT));
        }
        if req.gid.is_some() {
            root.set_gid(now.gid_or(Kgid::ROOT));
        }
        Ok(())
    }

    fn show_options(m: &SeqFile, sb: &SuperBlock<Self>) {
        let o = sb.info().opts();
        if let Some(uid) = o.uid.filter(|&u| u != Kuid::ROOT) {
            seq_print!(m, ",uid={}", uid.in_current_ns());
        }
        if let Some(gid) = o.gid.filter(|&g| g != Kgid::ROOT) {
            seq_print!(m, ",gid={}", gid.in_current_ns());
        }
        if let Some(mode) = o.shows_mode() {
            seq_print!(m, ",mode={:o}", mode);
        }
        if o.dontcache() {
            seq_print!(m, ",dontcache");
        }
    }
}

/// The eventfs metadata tree as the VFS sees it (see `vfs::node`).
pub(crate) struct EventfsTree;

impl Tree for EventfsTree {
    type Node = DirNode;
    type Open = OpenFile;
    type SbInfo = Info;
    const FILE_INO: u64 = tree::FILE_INO;

    fn lookup(dir: &DirRef, name: &[u8]) -> Option<Found<DirNode>> {
        tree::lookup(dir, name)
    }

    fn is_live(node: &DirNode) -> bool {
        tree::is_live(node)
    }

    fn keep_unused(sb: &Info) -> bool {
        !sb.dontcache.load(ordering::Relaxed)
    }

    fn iterate(dir: &DirNode, pos: i64, emit: &mut dyn FnMut(i64, i64, DirEntry<'_>) -> bool) {
        tree::iterate(dir, pos, emit)
    }

    fn attrs(sb: &Info, node: &DirNode, file: Option<u32>) -> Attrs {
        tree::attrs(&sb.owner, node, file)
    }

    fn prepare_attrs(node: &DirNode) -> Result {
        tree::prepare_attrs(node)
    }

    fn set_attrs(sb: &Info, node: &DirNode, file: Option<u32>, change: &AttrChange) {
        tree::set_attrs(&sb.owner, node, file, change)
    }

    fn is_scope(node: &DirNode) -> bool {
        tree::is_scope(node)
    }

    fn open(dir: &DirRef, file: u32, trunc: bool, open: Pin<&OpenFile>) -> Result {
        let kind = tree::file_kind(dir, file)?;
        let scope = open.scope.as_deref();
        let counted = tree::open_in(scope, kind)?;
        let r = match kind {
            _ if !trunc => Ok(()),
            // Each view clears the events it lists.
            FileKind::DynamicEvents => tree::truncate(View::Dynamic),
            FileKind::SyntheticEvents => tree::truncate(View::Synthetic),
            FileKind::KprobeEvents => tree::truncate(View::Kprobe),
            FileKind::SetEvent => tree::disable_all(dir),
            FileKind::ErrorLog => tree::clear_errors(scope),
            FileKind::Trace => tree::clear_trace(dir),
            _ => Ok(()),
        };
        match r {
            Ok(()) => open.counted.store(counted, ordering::Relaxed),
            Err(_) if counted => tree::release_in(scope),
            Err(_) => {}
        }
        r
    }

    fn new_open(
        _dir: &DirNode,
        _file: u32,
        scope: Option<DirRef>,
    ) -> impl PinInit<OpenFile, Error> {
        try_pin_init!(OpenFile {
            pending <- new_mutex!(KVec::new(), "eventfs_pending"),
            pass <- new_mutex!(Pass::new(), "eventfs_pass"),
            trace <- new_mutex!(None, "eventfs_trace"),
            scope,
            counted: Atomic::new(false),
        })
    }

    fn mkdir(dir: &DirRef, name: &[u8]) -> Result<(DirRef, u64)> {
        tree::mkdir(dir, name)
    }

    fn rmdir(dir: &DirNode, victim: &DirNode) -> Result {
        tree::rmdir(dir, victim)
    }

    fn release(dir: &DirNode, file: u32, open: Pin<&OpenFile>) {
        // The reader borrows the scope's buffer: it goes before the scope stops counting
        // the file (then `rmdir` may free the buffer).
        drop(open.trace.lock().take());
        if open.counted.load(ordering::Relaxed) {
            tree::release_in(open.scope.as_deref());
        }
        match tree::file_kind(dir, file) {
            Ok(FileKind::DynamicEvents) => {
                tree::flush_dynamic_events(View::Dynamic, &mut open.pending.lock())
            }
            Ok(FileKind::SyntheticEvents) => {
                tree::flush_dynamic_events(View::Synthetic, &mut open.pending.lock())
            }
            Ok(FileKind::KprobeEvents) => {
                tree::flush_dynamic_events(View::Kprobe, &mut open.pending.lock())
            }
            _ => {}
        }
    }

    fn seq_seek(dir: &DirNode, file: u32, open: Pin<&OpenFile>, pos: u64) -> Result<Option<u64>> {
        let kind = tree::file_kind(dir, file)?;
        if kind == FileKind::Trace {
            let mut trace = open.trace.lock();
            if trace.is_none() {
                *trace = Some(tree::trace_cursor(dir)?);
            }
            return Ok(match &mut *trace {
                Some(c) => c.seek(pos),
                None => None,
            });
        }
        tree::seek(dir, open.scope.as_deref(), kind, pos, &mut open.pass.lock())
    }

    fn seq_show(dir: &DirNode, file: u32, open: Pin<&OpenFile>, out: &mut SeqOut<'_>) -> Result {
        let kind = tree::file_kind(dir, file)?;
        if kind == FileKind::Trace {
            return match &mut *open.trace.lock() {
                Some(c) => tree::show_trace(dir, c, out),
                None => Err(EINVAL),
            };
        }
        tree::show(
            dir,
            open.scope.as_deref(),
            kind,
            &open.pass.lock().cursor,
            out,
        )
    }

    fn seq_stop(open: Pin<&OpenFile>) {
        *open.pass.lock() = Pass::new();
    }

    fn is_stream(node: &DirNode, file: u32) -> bool {
        tree::file_kind(node, file) == Ok(FileKind::TracePipe)
    }

    fn read_stream(
        dir: &DirNode,
        file: u32,
        open: Pin<&OpenFile>,
        dst: &mut ReadSink<'_>,
        nonblock: bool,
    ) -> Result<usize> {
        match tree::file_kind(dir, file)? {
            FileKind::TracePipe => {
                tree::read_trace_pipe(dir, &mut open.pending.lock(), dst, nonblock)
            }
            _ => Err(EINVAL),
        }
    }

    fn poll(dir: &DirNode, file: u32, open: Pin<&OpenFile>, reg: &PollRegistrar<'_>) -> bool {
        match tree::file_kind(dir, file) {
            Ok(FileKind::TracePipe) => {
                let left = !open.pending.lock().is_empty();
                tree::poll_trace_pipe(dir, left, reg)
            }
            _ => true,
        }
    }

    fn write(
        dir: &DirNode,
        file: u32,
        open: Pin<&OpenFile>,
        src: &mut WriteSource,
    ) -> Result<usize> {
        match tree::file_kind(dir, file)? {
            FileKind::DynamicEvents => {
                tree::write_dynamic_events(View::Dynamic, &mut open.pending.lock(), src)
            }
            FileKind::SyntheticEvents => {
                tree::write_dynamic_events(View::Synthetic, &mut open.pending.lock(), src)
            }
            FileKind::KprobeEvents => {
                tree::write_dynamic_events(View::Kprobe, &mut open.pending.lock(), src)
            }
            FileKind::Enable => tree::write_enable(dir, open.scope.as_deref(), src),
            FileKind::SetEvent => tree::write_set_event(dir, src),
            FileKind::TracingOn => tree::write_tracing_on(dir, src),
            FileKind::CurrentTracer => tree::write_current_tracer(src),
            FileKind::BufferSizeKb => tree::write_buffer_size_kb(dir, src),
            FileKind::TraceMarker => tree::write_trace_marker(dir, src),
            FileKind::Inject => tree::write_inject(dir, open.scope.as_deref(), src),
            FileKind::Filter => tree::write_filter(dir, open.scope.as_deref(), src),
            // Accepted and ignored, as tracefs does (`echo > trace` clears by O_TRUNC).
            FileKind::Trace => Ok(src.remaining()),
            FileKind::TracePipe => Err(EINVAL),
            // Accepted and ignored, as tracefs does (only O_TRUNC clears it).
            FileKind::ErrorLog => Ok(src.remaining()),
            FileKind::Readme
            | FileKind::AvailableEvents
            | FileKind::AvailableTracers
            | FileKind::Id
            | FileKind::HeaderPage
            | FileKind::HeaderEvent
            | FileKind::KprobeProfile
            | FileKind::Format => Err(EINVAL),
        }
    }
}

/// State of an open file.
#[pin_data]
pub(crate) struct OpenFile {
    /// For `dynamic_events`: the start of a line whose end has not been written yet
    /// (writers such as `cat` cut their buffers anywhere). At most one line long.
    /// For `trace_pipe`: text of records taken out of the buffer that a read had no room
    /// for.
    #[pin]
    pending: Mutex<KVec<u8>>,
    /// The pass of reading under way: the record a reader is on, between `seq_seek` and
    /// `seq_stop`.
    #[pin]
    pass: Mutex<Pass>,
    /// The tracing directory (top level or instance) the file works in.
    scope: Option<DirRef>,
    /// Whether the open counts as a user of `scope` (see `tree::open_in`).
    counted: Atomic<bool>,
    /// For `trace`: where its reader is in the scope's buffer, from the first read to the
    /// release.
    #[pin]
    trace: Mutex<Option<TraceCursor>>,
}
