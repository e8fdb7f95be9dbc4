// SPDX-License-Identifier: GPL-2.0

//! The eventfs filesystem on top of the `vfs` wrappers: mount options, the superblock
//! and the root directory. Safe Rust only.

use core::pin::Pin;

use kernel::{new_spinlock, prelude::*, seq_file::SeqFile, seq_print, sync::SpinLock};

use crate::opts::{self, Key, MountOpts};
use crate::vfs::{
    self, FileSystem, FsContext, Kgid, Kuid, NewInode, NewSuperBlock, ParamKind, ParamSpec,
    ParamTable, ParamValue, SuperBlock,
};

/// Magic number reported by `statfs(2)` (TRACEFS_MAGIC + 1, so both can be told apart).
const EVENTFS_MAGIC: u32 = 0x74726163 + 1;

/// Inode number of the root directory. Later directories get their own stable numbers.
const ROOT_INO: u64 = 1;

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

    fn new_info() -> impl PinInit<Info, Error> {
        try_pin_init!(Info {
            opts <- new_spinlock!(Opts::none(), "eventfs_opts"),
        })
    }

    fn parse_param(info: Pin<&Info>, fc: &FsContext, opt: u8, value: ParamValue<'_>) -> Result {
        let mut o = info.opts.lock();
        match (Key::from_opt(opt), value) {
            (Some(Key::Uid), ParamValue::Uid(uid)) => o.uid = Some(uid),
            (Some(Key::Gid), ParamValue::Gid(gid)) => o.gid = Some(gid),
            (Some(Key::Mode), ParamValue::String(s)) => {
                o.mode = Some(opts::parse_mode(s.to_bytes()).map_err(|e| fc.invalf(e.message()))?)
            }
            _ => return Err(EINVAL),
        }
        Ok(())
    }

    fn fill_super(sb: &NewSuperBlock<Self>) -> Result<NewInode> {
        let o = sb.info().opts();
        NewInode::new(
            sb.as_ptr(),
            ROOT_INO,
            vfs::inode::InodeKind::SimpleDir,
            o.root_mode(),
            o.uid_or(Kuid::ROOT),
            o.gid_or(Kgid::ROOT),
        )
    }

    fn reconfigure(sb: &SuperBlock<Self>, request: Pin<&Info>) -> Result {
        let req = request.opts();
        let info = sb.info();
        let now = {
            let mut o = info.opts.lock();
            o.merge(&req);
            *o
        };
        // Only what the request names changes; the root follows the options in force.
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
