// SPDX-License-Identifier: GPL-2.0

//! `struct file_system_type`, `struct fs_context` and the operation tables that connect
//! them to a [`FileSystem`]: registration, the new mount API (`init_fs_context`,
//! `parse_param`, `get_tree`, `reconfigure`, `free`), `kill_sb` and the superblock
//! operations.
//!
//! Who owns what:
//! - [`Registration`] owns the registered `file_system_type` (in the module's static
//!   storage) and unregisters it on drop. Its `owner` is the module, so the VFS holds a
//!   module reference for every superblock: `rmmod` fails while mounted.
//! - Each `fs_context` owns a `Pin<KBox<T::Info>>` in `fc->s_fs_info`, built in
//!   `init_fs_context` and holding the options of that request. `sget_fc()` moves it into
//!   a new superblock (and clears `fc->s_fs_info`); otherwise `free` drops it.
//! - A superblock owns its `s_fs_info` box; `kill_sb` drops it after
//!   `kill_anon_super()` has released every dentry and inode.

use core::marker::PhantomData;
use core::pin::Pin;

use kernel::{
    bindings,
    error::{from_result, to_result},
    ffi::c_int,
    prelude::*,
    seq_file::SeqFile,
    types::{ForeignOwnable, Opaque},
    ThisModule,
};

use super::node::{Dentry, InodeRole, NodeOps};
use super::{local_bindings, Attrs, Kgid, Kuid, NewSuperBlock, RcuArc, SuperBlock, Tree};

/// A filesystem type: the hooks the VFS calls, in terms of the wrappers of this module.
pub(crate) trait FileSystem: Sized + Send + Sync + 'static {
    /// Name in `/proc/filesystems` and for `mount -t`.
    const NAME: &'static CStr;
    /// `sb->s_magic` (`statfs(2)`'s `f_type`).
    const MAGIC: u32;
    /// The mount parameters.
    const PARAMS: ParamTable;
    /// Per-superblock data. One is built for every mount request, holding its options;
    /// the first mount moves it into the (single, shared) superblock.
    type Info: Send + Sync + 'static;
    /// The metadata tree behind the dentries; it reads the superblock's `Info`.
    type Tree: Tree<SbInfo = Self::Info>;

    /// Builds the data of one mount request, before any parameter was parsed.
    fn new_info() -> impl PinInit<Self::Info, Error>;
    /// Records one parameter of a mount request. `opt` is its index in [`Self::PARAMS`].
    fn parse_param(
        info: Pin<&Self::Info>,
        fc: &FsContext,
        opt: u8,
        value: ParamValue<'_>,
    ) -> Result;
    /// Fills a new superblock and returns what its root directory is.
    fn fill_super(sb: &NewSuperBlock<Self>) -> Result<RootSpec<<Self::Tree as Tree>::Node>>;
    /// Applies a later request (a remount, or a mount of the existing superblock) to it.
    fn reconfigure(sb: &SuperBlock<Self>, request: Pin<&Self::Info>) -> Result;
    /// Writes the `,key=value` options shown in `/proc/mounts`.
    fn show_options(m: &SeqFile, sb: &SuperBlock<Self>);
}

/// The root directory of a new superblock: its node (a reference for the root dentry's
/// `d_fsdata`) and its attributes.
pub(crate) struct RootSpec<N: Send + Sync + 'static> {
    /// The node.
    pub(crate) node: RcuArc<N>,
    /// Mode and ownership of the root inode.
    pub(crate) attrs: Attrs,
}

/// The C type of a parameter, as `fs_parse()` should check it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamKind {
    /// `fsparam_uid`: a user id, mapped into the mounter's namespace.
    Uid,
    /// `fsparam_gid`: a group id, mapped into the mounter's namespace.
    Gid,
    /// `fsparam_string`: a string, checked by the filesystem.
    String,
    /// `fsparam_flag`: a name without a value.
    Flag,
}

/// One parameter as `fs_parse()` returned it.
pub(crate) enum ParamValue<'a> {
    /// For [`ParamKind::Uid`].
    Uid(Kuid),
    /// For [`ParamKind::Gid`].
    Gid(Kgid),
    /// For [`ParamKind::String`].
    String(&'a CStr),
    /// For [`ParamKind::Flag`].
    Flag,
}

/// One entry of a C `fs_parameter_spec` table.
///
/// # Invariants
///
/// `name` is null (the terminator) or a `'static` C string; `type_` is the libfs parser
/// matching the entry's [`ParamKind`] (none for a flag).
#[repr(transparent)]
pub(crate) struct ParamSpec(local_bindings::fs_parameter_spec);

// SAFETY: The entry only holds pointers to `'static` immutable data and libfs functions.
unsafe impl Sync for ParamSpec {}

impl ParamSpec {
    /// The entry for a parameter named `name` of kind `kind`, with option number `opt`.
    pub(crate) const fn new(name: &'static CStr, kind: ParamKind, opt: u8) -> ParamSpec {
        type Parser = unsafe extern "C" fn(
            *mut local_bindings::p_log,
            *const local_bindings::fs_parameter_spec,
            *mut local_bindings::fs_parameter,
            *mut local_bindings::fs_parse_result,
        ) -> c_int;
        // A flag has no parser: `fs_parse()` refuses a value for it.
        let parser: Option<Parser> = match kind {
            ParamKind::Uid => Some(local_bindings::fs_param_is_uid),
            ParamKind::Gid => Some(local_bindings::fs_param_is_gid),
            ParamKind::String => Some(local_bindings::fs_param_is_string),
            ParamKind::Flag => None,
        };
        // INVARIANT: `name` is `'static`, `parser` matches `kind`.
        ParamSpec(local_bindings::fs_parameter_spec {
            name: kernel::str::as_char_ptr_in_const_context(name),
            type_: parser,
            opt,
            flags: 0,
            data: core::ptr::null(),
        })
    }

    /// The terminating entry.
    pub(crate) const END: ParamSpec = ParamSpec(local_bindings::fs_parameter_spec {
        name: core::ptr::null(),
        type_: None,
        opt: 0,
        flags: 0,
        data: core::ptr::null(),
    });
}

/// A parameter table: the C entries (ending with [`ParamSpec::END`]) and their kinds.
///
/// # Invariants
///
/// `specs.len() == kinds.len() + 1`, `specs[i].opt == i`, `specs[i]` was built with
/// `kinds[i]`, and the last entry is the terminator (checked at compile time by
/// [`ParamTable::new`] except for the kind, which the constructor pairs by position).
pub(crate) struct ParamTable {
    specs: &'static [ParamSpec],
    kinds: &'static [ParamKind],
}

impl ParamTable {
    /// Pairs a C table with the kinds its entries were built with.
    pub(crate) const fn new(specs: &'static [ParamSpec], kinds: &'static [ParamKind]) -> Self {
        assert!(specs.len() == kinds.len() + 1);
        assert!(specs[kinds.len()].0.name.is_null());
        let mut i = 0;
        while i < kinds.len() {
            assert!(specs[i].0.opt as usize == i);
            assert!(!specs[i].0.name.is_null());
            i += 1;
        }
        ParamTable { specs, kinds }
    }

    fn as_ptr(&self) -> *const local_bindings::fs_parameter_spec {
        self.specs.as_ptr().cast()
    }
}

/// A mount request or reconfiguration in progress (`struct fs_context`).
///
/// # Invariants
///
/// Wraps a live `fs_context` whose `ops` are ours; only handed out to the duration of one
/// of its operations.
#[repr(transparent)]
pub(crate) struct FsContext(Opaque<local_bindings::fs_context>);

impl FsContext {
    /// # Safety
    ///
    /// `ptr` must be a live `fs_context` for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut local_bindings::fs_context) -> &'a FsContext {
        // SAFETY: Transparent wrapper; validity guaranteed by the caller.
        unsafe { &*ptr.cast() }
    }

    /// Logs `msg` as an error of this mount request (`invalfc()`): userspace sees it with
    /// `dmesg` or through `fsconfig(2)`'s log. Returns `EINVAL` for the caller to return.
    pub(crate) fn invalf(&self, msg: &'static CStr) -> Error {
        // SAFETY: `self` is a live fs_context; `msg` is a valid, static C string.
        let e = unsafe { local_bindings::eventfs_helper_invalfc(self.0.get(), msg.as_char_ptr()) };
        Error::from_errno(e)
    }
}

/// The registration of filesystem type `T`.
///
/// # Invariants
///
/// `fs` is registered with the VFS from initialisation until drop.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: FileSystem> {
    #[pin]
    fs: Opaque<bindings::file_system_type>,
    _t: PhantomData<T>,
}

// SAFETY: Registration and unregistration may happen on any thread.
unsafe impl<T: FileSystem> Send for Registration<T> {}
// SAFETY: `&Registration` exposes nothing.
unsafe impl<T: FileSystem> Sync for Registration<T> {}

impl<T: FileSystem> Registration<T> {
    /// Registers `T` as a filesystem type owned by `module`.
    pub(crate) fn new(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            fs <- Opaque::try_ffi_init(|slot: *mut bindings::file_system_type| {
                // SAFETY: `slot` is valid for writes; all-zero is a valid
                // `file_system_type` (no ops, empty lists) before we fill it in.
                unsafe { slot.write(pin_init::zeroed()) };
                // SAFETY: `slot` was just initialised and is not shared yet; the
                // pointers stored are statics or 'static.
                unsafe {
                    (*slot).name = T::NAME.as_char_ptr();
                    (*slot).owner = module.as_ptr();
                    (*slot).init_fs_context = Some(Tables::<T>::init_fs_context);
                    (*slot).parameters = T::PARAMS.as_ptr().cast();
                    (*slot).kill_sb = Some(Tables::<T>::kill_sb);
                }
                // SAFETY: `slot` is a fully initialised file_system_type that stays
                // pinned (in the module's storage) until `drop` unregisters it.
                to_result(unsafe { bindings::register_filesystem(slot) })
            }),
            _t: PhantomData,
        })
    }
}

#[pinned_drop]
impl<T: FileSystem> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant `fs` is registered. The module cannot be unloaded
        // while a superblock exists (the type's `owner`), so none is left.
        unsafe { bindings::unregister_filesystem(self.fs.get()) };
    }
}

/// The C operation tables of `T` and their trampolines.
struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    const CONTEXT_OPS: local_bindings::fs_context_operations =
        local_bindings::fs_context_operations {
            free: Some(Self::free),
            dup: None,
            parse_param: Some(Self::parse_param),
            parse_monolithic: None,
            get_tree: Some(Self::get_tree),
            reconfigure: Some(Self::reconfigure),
        };

    const SUPER_OPS: bindings::super_operations = bindings::super_operations {
        statfs: Some(bindings::simple_statfs),
        drop_inode: Some(bindings::inode_just_drop),
        show_options: Some(Self::show_options),
        ..pin_init::zeroed()
    };

    /// `file_system_type.init_fs_context`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a new `fs_context` of our type.
    unsafe extern "C" fn init_fs_context(fc: *mut bindings::fs_context) -> c_int {
        let fc: *mut local_bindings::fs_context = fc.cast();
        from_result(|| {
            let info = KBox::pin_init(T::new_info(), GFP_KERNEL)?;
            // SAFETY: `fc` is live and ours to set up. Ownership of `info` moves to
            // `fc->s_fs_info` (released by `free` or moved into the superblock).
            unsafe {
                (*fc).s_fs_info = info.into_foreign();
                (*fc).ops = &Self::CONTEXT_OPS;
            }
            Ok(0)
        })
    }

    /// `fs_context_operations.free`.
    ///
    /// # Safety
    ///
    /// Called by the VFS once, when `fc` is destroyed.
    unsafe extern "C" fn free(fc: *mut local_bindings::fs_context) {
        // SAFETY: `fc` is live; its `s_fs_info` is null or ours (see the module doc).
        let info = unsafe { (*fc).s_fs_info };
        if !info.is_null() {
            // SAFETY: `info` came from `into_foreign()` in `init_fs_context`, and was not
            // moved into a superblock (sget_fc() would have cleared it).
            drop(unsafe { <Pin<KBox<T::Info>> as ForeignOwnable>::from_foreign(info) });
        }
    }

    /// `fs_context_operations.parse_param`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a live `fc` of ours and a live parameter.
    unsafe extern "C" fn parse_param(
        fc: *mut local_bindings::fs_context,
        param: *mut local_bindings::fs_parameter,
    ) -> c_int {
        let mut result = local_bindings::fs_parse_result::default();
        // SAFETY: All pointers are live; `PARAMS` is a terminated table.
        let opt = unsafe {
            local_bindings::eventfs_helper_fs_parse(fc, T::PARAMS.as_ptr(), param, &mut result)
        };
        if opt < 0 {
            // -ENOPARAM lets the VFS handle "source" and report unknown keys (EINVAL).
            return opt;
        }
        let Some(&kind) = T::PARAMS.kinds.get(opt as usize) else {
            return EINVAL.to_errno();
        };
        // SAFETY: fs_parse() succeeded with the parser of `kind` (type invariant of
        // `ParamTable`), which wrote the union member read here; a string parameter's
        // `string` is a valid C string for the duration of this call.
        let value = unsafe {
            match kind {
                ParamKind::Uid => ParamValue::Uid(Kuid(*result.__bindgen_anon_1.uid.as_ref())),
                ParamKind::Gid => ParamValue::Gid(Kgid(*result.__bindgen_anon_1.gid.as_ref())),
                ParamKind::String => {
                    ParamValue::String(CStr::from_char_ptr((*param).__bindgen_anon_1.string))
                }
                ParamKind::Flag => ParamValue::Flag,
            }
        };
        // SAFETY: `fc` is live and its `s_fs_info` is our info (it is only moved away in
        // get_tree, after parsing).
        let (ctx, info) = unsafe {
            (
                FsContext::from_raw(fc),
                <Pin<KBox<T::Info>> as ForeignOwnable>::borrow((*fc).s_fs_info),
            )
        };
        from_result(|| T::parse_param(info, ctx, opt as u8, value).map(|()| 0))
    }

    /// `fill_super` callback of `get_tree_single()`.
    ///
    /// # Safety
    ///
    /// Called by `sget_fc()`'s caller with a new superblock whose `s_fs_info` was moved
    /// from `fc`.
    unsafe extern "C" fn fill_super(
        sb: *mut bindings::super_block,
        _fc: *mut local_bindings::fs_context,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `sb` is new and only ours until we return.
            unsafe {
                (*sb).s_blocksize = bindings::PAGE_SIZE;
                (*sb).s_blocksize_bits = bindings::PAGE_SHIFT as u8;
                (*sb).s_magic = T::MAGIC as usize;
                (*sb).s_op = &Self::SUPER_OPS;
                (*sb).s_time_gran = 1;
            }
            // SAFETY: `s_fs_info` holds our info (moved by sget_fc()); `sb` lives for
            // this call.
            let root = T::fill_super(unsafe { NewSuperBlock::from_raw(sb) })?;
            // SAFETY: `sb` is ours; every dentry made from now on gets the tree's ops.
            unsafe { bindings::set_default_d_op(sb, &NodeOps::<T::Tree>::DENTRY_OPS) };
            // SAFETY: `sb` is live.
            let inode = unsafe { bindings::new_inode(sb) };
            if inode.is_null() {
                return Err(ENOMEM);
            }
            // SAFETY: `inode` is new and invisible.
            unsafe {
                NodeOps::<T::Tree>::init_inode(inode, &root.node, InodeRole::Root, 1, root.attrs)
            };
            // SAFETY: `d_make_root()` consumes the inode reference, also on failure.
            let dentry = unsafe { bindings::d_make_root(inode) };
            if dentry.is_null() {
                return Err(ENOMEM);
            }
            // SAFETY: The new root dentry is not visible yet; it owns the node reference
            // until `d_release`, when the superblock is shut down.
            unsafe { Dentry::<T::Tree>::from_raw(dentry) }.set_node(root.node);
            // SAFETY: `sb` is ours; the superblock owns the root dentry from now on
            // (generic_shutdown_super() puts it).
            unsafe { (*sb).s_root = dentry };
            Ok(0)
        })
    }

    /// `fs_context_operations.get_tree`: one superblock shared by all mounts, as tracefs.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a live `fc` of ours.
    unsafe extern "C" fn get_tree(fc: *mut local_bindings::fs_context) -> c_int {
        // SAFETY: `fc` is live; `fill_super` has the signature get_tree_single() expects.
        let ret = unsafe { local_bindings::get_tree_single(fc, Some(Self::fill_super)) };
        if ret != 0 {
            return ret;
        }
        // A new superblock took the request's options in `fill_super`; an existing one
        // did not, so apply them to it as a reconfiguration (tracefs does the same).
        // SAFETY: `fc` is live.
        unsafe { Self::reconfigure(fc) }
    }

    /// `fs_context_operations.reconfigure`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a live `fc` of ours whose `root` is set.
    unsafe extern "C" fn reconfigure(fc: *mut local_bindings::fs_context) -> c_int {
        // SAFETY: `fc` is live.
        let info = unsafe { (*fc).s_fs_info };
        if info.is_null() {
            return 0;
        }
        // SAFETY: `fc->root` is a dentry of our live superblock, pinned by the context;
        // `info` is the request's data, owned by `fc`.
        let (sb, request) = unsafe {
            (
                SuperBlock::<T>::from_raw((*(*fc).root).d_sb),
                <Pin<KBox<T::Info>> as ForeignOwnable>::borrow(info),
            )
        };
        from_result(|| T::reconfigure(sb, request).map(|()| 0))
    }

    /// `file_system_type.kill_sb`.
    ///
    /// # Safety
    ///
    /// Called by the VFS once, when the last reference to `sb` is gone.
    unsafe extern "C" fn kill_sb(sb: *mut bindings::super_block) {
        // SAFETY: `sb` is live until `kill_anon_super()` returns.
        let info = unsafe { (*sb).s_fs_info };
        // SAFETY: Shuts the superblock down: all dentries and inodes are released.
        unsafe { bindings::kill_anon_super(sb) };
        if !info.is_null() {
            // SAFETY: `info` is the superblock's box (type invariant of `SuperBlock`),
            // and nothing can reach it any more.
            drop(unsafe { <Pin<KBox<T::Info>> as ForeignOwnable>::from_foreign(info) });
        }
    }

    /// `super_operations.show_options`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a live seq_file and the root of a mounted superblock of ours.
    unsafe extern "C" fn show_options(
        m: *mut bindings::seq_file,
        root: *mut bindings::dentry,
    ) -> c_int {
        // SAFETY: `m` is live and used by this thread only; `root` pins its superblock.
        let (m, sb) = unsafe {
            (
                SeqFile::from_raw(m),
                SuperBlock::<T>::from_raw((*root).d_sb),
            )
        };
        T::show_options(m, sb);
        0
    }
}
