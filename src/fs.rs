// SPDX-License-Identifier: GPL-2.0

//! The eventfs filesystem on top of the `vfs` wrappers: mount options, the superblock
//! and the root directory. Safe Rust only.

use core::pin::Pin;

use kernel::{
    new_mutex, new_spinlock,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::{Mutex, SpinLock},
};

use crate::ei::{self, Ei, EiRef, FileKind};
use crate::opts::{self, Key, MountOpts};
use crate::vfs::{
    AttrChange, Attrs, DirEntry, FileSystem, Found, FsContext, Kgid, Kuid, NewSuperBlock,
    ParamKind, ParamSpec, ParamTable, ParamValue, Reader, RootSpec, SuperBlock, Tree,
};

/// Magic number reported by `statfs(2)` (TRACEFS_MAGIC + 1, so both can be told apart).
const EVENTFS_MAGIC: u32 = 0x74726163 + 1;

/// The options of a request, or those in force on the superblock, in kernel ids.
pub(crate) type Opts = MountOpts<Kuid, Kgid>;

static PARAM_SPECS: [ParamSpec; 4] = [
    ParamSpec::new(c"uid", ParamKind::Uid, Key::Uid as u8),
    ParamSpec::new(c"gid", ParamKind::Gid, Key::Gid as u8),
    ParamSpec::new(c"mode", ParamKind::String, Key::Mode as u8),
    ParamSpec::END,
];
static PARAM_KINDS: [ParamKind; 3] = [ParamKind::Uid, ParamKind::Gid, ParamKind::String];

/// The eventfs filesystem type.
pub(crate) struct Eventfs;

/// Per-superblock data (and, before the superblock exists, per-request data).
///
/// Owned by the `fs_context` of a request until `sget_fc()` moves it into the one
/// superblock, which then owns it until `kill_sb` (see `vfs::fs_type`).
#[pin_data]
pub(crate) struct Info {
    /// Options in force. A spin lock because readers (`show_options`, and later the
    /// ownership of every untouched entry) may run concurrently with a remount.
    #[pin]
    opts: SpinLock<Opts>,
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
            _ => return Err(EINVAL),
        }
        info.opts.lock().merge(&v);
        Ok(())
    }

    fn fill_super(sb: &NewSuperBlock<Self>) -> Result<RootSpec<Ei>> {
        let o = sb.info().opts();
        // A new superblock: its options (or root) become the default ownership.
        ei::set_mount_owner(
            Some(o.uid_or(Kuid::ROOT)),
            Some(o.gid_or(Kgid::ROOT)),
            false,
        );
        Ok(RootSpec {
            node: ei::root()?,
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
        // and so does every entry (docs/RULES.md rule 8), without walking anything.
        ei::set_mount_owner(req.uid, req.gid, true);
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
    }
}

/// The eventfs metadata tree as the VFS sees it (see `vfs::node`).
pub(crate) struct EventfsTree;

impl Tree for EventfsTree {
    type Node = Ei;
    type Open = OpenFile;
    const FILE_INO: u64 = ei::FILE_INO;

    fn lookup(dir: &EiRef, name: &[u8]) -> Result<Option<Found<Ei>>> {
        Ok(ei::lookup(dir, name))
    }

    fn is_live(node: &Ei) -> bool {
        ei::is_live(node)
    }

    fn iterate(dir: &Ei, pos: i64, emit: &mut dyn FnMut(i64, i64, DirEntry<'_>) -> bool) -> Result {
        ei::iterate(dir, pos, emit);
        Ok(())
    }

    fn attrs(node: &Ei, file: Option<u32>) -> Attrs {
        ei::attrs(node, file)
    }

    fn set_attrs(node: &Ei, file: Option<u32>, change: &AttrChange) -> Result {
        ei::set_attrs(node, file, change)
    }

    fn open(dir: &EiRef, file: u32, trunc: bool) -> Result {
        if trunc && ei::file_kind(dir, file)? == FileKind::DynamicEvents {
            ei::truncate()?;
        }
        Ok(())
    }

    fn new_open() -> impl PinInit<OpenFile, Error> {
        try_pin_init!(OpenFile {
            pending <- new_mutex!(KVec::new(), "eventfs_pending"),
        })
    }

    fn release(dir: &Ei, file: u32, open: Pin<&OpenFile>) {
        if ei::file_kind(dir, file) == Ok(FileKind::DynamicEvents) {
            ei::flush_dynamic_events(&mut open.pending.lock());
        }
    }

    fn read(dir: &Ei, file: u32, _open: Pin<&OpenFile>, out: &mut Reader<'_>) -> Result<usize> {
        let text = ei::content(dir, ei::file_kind(dir, file)?)?;
        out.copy_out(&text.0)
    }

    fn write(dir: &Ei, file: u32, open: Pin<&OpenFile>, data: &[u8]) -> Result<usize> {
        match ei::file_kind(dir, file)? {
            FileKind::DynamicEvents => {
                ei::write_dynamic_events(&mut open.pending.lock(), data).map(|()| data.len())
            }
            FileKind::Enable => ei::write_enable(dir, data).map(|()| data.len()),
            FileKind::Id | FileKind::Format => Err(EINVAL),
        }
    }
}

/// State of an open file: for `dynamic_events`, the start of a line whose end has not
/// been written yet (writers such as `cat` cut their buffers anywhere).
#[pin_data]
pub(crate) struct OpenFile {
    #[pin]
    pending: Mutex<KVec<u8>>,
}
