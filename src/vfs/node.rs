// SPDX-License-Identifier: GPL-2.0

//! Dentries, inodes and files of a tree whose dentries are only a cache in front of the
//! filesystem's own metadata nodes ([`Tree::Node`]).
//!
//! Who owns what:
//! - `dentry->d_fsdata` of every positive dentry below the root (and of the root) owns
//!   one counted [`RcuArc`] reference: to the directory's own node, or, for a file, to
//!   the node of the directory holding it. It is taken in `lookup` (or `fill_super`) by
//!   [`Dentry::set_node`], and given back in `d_release`, nowhere else (docs/RULES.md rule 2).
//! - `inode->i_private` holds an uncounted pointer to the node (the directory's own, or
//!   for a file, its directory's) with the file index + 1 in the low bits (0 for a
//!   directory). It is valid because our inodes are never aliased: an inode is reached
//!   only through its one dentry, which holds the counted reference and drops it in
//!   `d_release`, after it dropped the inode. In RCU-walk (`permission` with
//!   `MAY_NOT_BLOCK`) the node's memory outlives its last reference by an RCU grace
//!   period.
//! - `file->private_data` of an open regular file owns a `Pin<KBox<Tree::Open>>` made by
//!   `open` and dropped by `release`. The open file pins its dentry, so the dentry's node
//!   reference keeps the metadata alive while the file is open (docs/RULES.md rule 10).
//! - No structure of the filesystem keeps a dentry or inode pointer (docs/RULES.md rule 1).

use core::marker::PhantomData;
use core::pin::Pin;

use kernel::{
    bindings,
    error::from_result,
    ffi::{c_char, c_int, c_uint, c_void},
    prelude::*,
    types::ForeignOwnable,
    uaccess::{UserPtr, UserSlice},
};

use super::{fsb, Kgid, Kuid, RcuArc};

/// `FMODE_WRITE` of `linux/fs.h` (a `__force` cast bindgen does not see).
const FMODE_WRITE: u32 = 0x2;

/// Ownership and permission bits of an entry, as the filesystem derives them.
#[derive(Clone, Copy)]
pub(crate) struct Attrs {
    /// Permission bits (`S_IALLUGO`).
    pub(crate) perm: u16,
    /// Owner.
    pub(crate) uid: Kuid,
    /// Group.
    pub(crate) gid: Kgid,
}

/// A change requested by `chmod`/`chown` (`struct iattr`), already checked by
/// `setattr_prepare()`.
#[derive(Clone, Copy)]
pub(crate) struct AttrChange {
    /// New permission bits, if `ATTR_MODE`.
    pub(crate) perm: Option<u16>,
    /// New owner, if `ATTR_UID`.
    pub(crate) uid: Option<Kuid>,
    /// New group, if `ATTR_GID`.
    pub(crate) gid: Option<Kgid>,
}

/// What `lookup` found for a name.
pub(crate) enum Found<N: Send + Sync + 'static> {
    /// A directory, with a new reference to its node and its stable inode number.
    Dir(RcuArc<N>, u64),
    /// The file with this index in its directory.
    File(u32),
}

/// An entry `iterate` reports.
pub(crate) struct DirEntry<'a> {
    /// The name.
    pub(crate) name: &'a [u8],
    /// Inode number.
    pub(crate) ino: u64,
    /// Whether it is a directory (else a regular file).
    pub(crate) is_dir: bool,
}

/// The filesystem side of a tree of metadata nodes. Every method is called with a node
/// reference kept alive by the VFS object it came from.
pub(crate) trait Tree: Sized + 'static {
    /// A metadata node (a directory).
    type Node: Send + Sync + 'static;
    /// State of one open regular file.
    type Open: Send + Sync + 'static;

    /// The inode number all regular files share.
    const FILE_INO: u64;

    /// Finds `name` in directory `dir`. `None` for a name that does not exist.
    fn lookup(dir: &RcuArc<Self::Node>, name: &[u8]) -> Result<Option<Found<Self::Node>>>;
    /// Whether a dentry holding `node` is still valid. Called in RCU-walk too: must not
    /// sleep or take locks.
    fn is_live(node: &Self::Node) -> bool;
    /// Reports the entries of `dir` from position `pos` on (0 and 1 are `.` and `..`,
    /// done by the caller) as `emit(position, next position, entry)`; `emit` returns
    /// false when the buffer is full.
    fn iterate(
        dir: &Self::Node,
        pos: i64,
        emit: &mut dyn FnMut(i64, i64, DirEntry<'_>) -> bool,
    ) -> Result;
    /// The derived attributes of directory `node` (`file == None`) or of its file.
    fn attrs(node: &Self::Node, file: Option<u32>) -> Attrs;
    /// Records `chmod`/`chown` of directory `node` or of its file in the metadata.
    fn set_attrs(node: &Self::Node, file: Option<u32>, change: &AttrChange) -> Result;
    /// Opens file `file` of `dir`. `trunc` is `O_TRUNC` on a file opened for writing.
    /// The last step of `open` that can fail: its effects stay if it succeeds.
    fn open(dir: &RcuArc<Self::Node>, file: u32, trunc: bool) -> Result;
    /// The state of a new open file.
    fn new_open() -> impl PinInit<Self::Open, Error>;
    /// The last close of an open file.
    fn release(dir: &Self::Node, file: u32, open: Pin<&Self::Open>);
    /// Reads from offset `pos`; returns the bytes written to `out`.
    fn read(
        dir: &Self::Node,
        file: u32,
        open: Pin<&Self::Open>,
        out: &mut Reader<'_>,
    ) -> Result<usize>;
    /// Writes `data` (the whole write, copied in) at offset `pos`.
    fn write(dir: &Self::Node, file: u32, open: Pin<&Self::Open>, data: &[u8]) -> Result<usize>;
}

/// The destination of a `read(2)`: user memory and the file position.
pub(crate) struct Reader<'a> {
    buf: UserPtr,
    count: usize,
    pos: &'a mut i64,
}

impl Reader<'_> {
    /// Copies the part of `content` at the file position to the user, advancing the
    /// position (what `simple_read_copy_out()` does).
    pub(crate) fn copy_out(&mut self, content: &[u8]) -> Result<usize> {
        let Ok(pos) = usize::try_from(*self.pos) else {
            return Err(EINVAL);
        };
        if pos >= content.len() {
            return Ok(0);
        }
        let n = core::cmp::min(self.count, content.len() - pos);
        let mut w = UserSlice::new(self.buf, n).writer();
        w.write_slice(&content[pos..pos + n])?;
        *self.pos += n as i64;
        Ok(n)
    }
}

/// A dentry of a [`Tree`].
///
/// # Invariants
///
/// The dentry is alive for the borrow, and its `d_fsdata` is null or a reference made
/// by `RcuArc::<T::Node>::into_raw`, owned by the dentry.
#[repr(transparent)]
pub(crate) struct Dentry<T: Tree>(kernel::types::Opaque<bindings::dentry>, PhantomData<T>);

impl<T: Tree> Dentry<T> {
    /// # Safety
    ///
    /// `ptr` must be a live dentry of a superblock of this tree, alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::dentry) -> &'a Dentry<T> {
        // SAFETY: Transparent wrapper; validity is guaranteed by the caller.
        unsafe { &*ptr.cast() }
    }

    fn as_ptr(&self) -> *mut bindings::dentry {
        self.0.get()
    }

    /// Stores the dentry's counted node reference. Called once, before the dentry is
    /// visible (lookup, fill_super).
    pub(crate) fn set_node(&self, node: RcuArc<T::Node>) {
        // SAFETY: The dentry is not yet visible to other tasks (it is being looked up or
        // is the new root), so nobody reads `d_fsdata` concurrently; it was null.
        unsafe { (*self.as_ptr()).d_fsdata = node.into_raw() };
    }

    /// The node of the dentry, borrowed for as long as the dentry is.
    fn node(&self) -> Option<&T::Node> {
        // SAFETY: Valid per the type invariant.
        let p = unsafe { (*self.as_ptr()).d_fsdata };
        if p.is_null() {
            return None;
        }
        // SAFETY: The dentry owns this reference while it is alive.
        Some(unsafe { RcuArc::<T::Node>::borrow_raw(p) })
    }

    /// A new counted reference to the dentry's node.
    fn node_ref(&self) -> Option<RcuArc<T::Node>> {
        // SAFETY: Valid per the type invariant.
        let p = unsafe { (*self.as_ptr()).d_fsdata };
        if p.is_null() {
            return None;
        }
        // SAFETY: `p` is the dentry's own reference, alive while the dentry is: we take
        // it back only to clone it and give it up again unchanged.
        let r = unsafe { RcuArc::<T::Node>::from_raw(p) };
        let c = r.clone();
        let _ = r.into_raw();
        Some(c)
    }
}

/// The operation tables of a [`Tree`] and their trampolines.
pub(crate) struct NodeOps<T>(PhantomData<T>);

/// An open file of a tree: its directory's node, its index there, and its state.
type FileParts<'a, T> = (&'a <T as Tree>::Node, u32, Pin<&'a <T as Tree>::Open>);

/// What an inode of the tree is.
#[derive(Clone, Copy)]
pub(crate) enum InodeRole {
    /// A directory of the tree.
    Dir,
    /// The root directory: its attributes are the inode's own (mount options, chmod).
    Root,
    /// A regular file with this index in its directory.
    File(u32),
}

impl<T: Tree> NodeOps<T> {
    /// Dentry operations, installed as the superblock's default.
    pub(crate) const DENTRY_OPS: bindings::dentry_operations = bindings::dentry_operations {
        d_revalidate: Some(Self::d_revalidate),
        d_delete: Some(Self::d_delete),
        d_release: Some(Self::d_release),
        ..pin_init::zeroed()
    };
    pub(crate) const DIR_IOPS: bindings::inode_operations = bindings::inode_operations {
        lookup: Some(Self::lookup),
        getattr: Some(Self::getattr),
        setattr: Some(Self::setattr),
        permission: Some(Self::permission),
        ..pin_init::zeroed()
    };
    pub(crate) const FILE_IOPS: bindings::inode_operations = bindings::inode_operations {
        getattr: Some(Self::getattr),
        setattr: Some(Self::setattr),
        permission: Some(Self::permission),
        ..pin_init::zeroed()
    };
    pub(crate) const DIR_FOPS: bindings::file_operations = bindings::file_operations {
        llseek: Some(bindings::generic_file_llseek),
        read: Some(bindings::generic_read_dir),
        iterate_shared: Some(Self::iterate_shared),
        ..pin_init::zeroed()
    };
    pub(crate) const FILE_FOPS: bindings::file_operations = bindings::file_operations {
        open: Some(Self::open),
        read: Some(Self::read),
        write: Some(Self::write),
        release: Some(Self::release),
        llseek: Some(bindings::default_llseek),
        ..pin_init::zeroed()
    };

    /// Low bits of `i_private` that hold the file index + 1.
    const TAG_MASK: usize = 7;

    /// The role of an inode of ours and its node.
    ///
    /// # Safety
    ///
    /// `inode` must be a live inode of this tree made by `init_inode`, and the caller
    /// must hold its dentry, or be in an RCU read section (see the module doc); the node
    /// is borrowed for that long.
    unsafe fn role<'a>(inode: *mut bindings::inode) -> (InodeRole, &'a T::Node) {
        // SAFETY: Per the caller; `i_private` and `i_ino` are set before the inode is
        // visible and never change.
        let (p, ino) = unsafe { ((*inode).i_private as usize, (*inode).i_ino) };
        let tag = p & Self::TAG_MASK;
        // SAFETY: `init_inode` stored a node pointer tagged in its low bits; the node is
        // alive per the caller.
        let node = unsafe { RcuArc::<T::Node>::borrow_raw((p & !Self::TAG_MASK) as *mut c_void) };
        let role = match tag {
            0 if ino == 1 => InodeRole::Root,
            0 => InodeRole::Dir,
            t => InodeRole::File(t as u32 - 1),
        };
        (role, node)
    }

    /// Fills a new inode's fields for `role`. Every fs-private field is set here,
    /// before `d_splice_alias()` makes the inode visible (docs/RULES.md rule 6).
    ///
    /// # Safety
    ///
    /// `inode` must be new and not yet visible to other tasks.
    pub(crate) unsafe fn init_inode(
        inode: *mut bindings::inode,
        node: &RcuArc<T::Node>,
        role: InodeRole,
        ino: u64,
        a: Attrs,
    ) {
        let tag = match role {
            InodeRole::Dir | InodeRole::Root => 0,
            InodeRole::File(i) => i as usize + 1,
        };
        // `RcuArc` allocations are pointer-aligned, so the low bits are free.
        let private = RcuArc::as_raw(node) as usize | (tag & Self::TAG_MASK);
        // SAFETY: Exclusive access per the caller; the tables are statics.
        unsafe {
            (*inode).i_private = private as *mut c_void;
            (*inode).i_ino = ino;
            (*inode).i_uid = a.uid.0;
            (*inode).i_gid = a.gid.0;
            bindings::simple_inode_init_ts(inode);
            match role {
                InodeRole::Dir | InodeRole::Root => {
                    (*inode).i_mode = bindings::S_IFDIR as u16 | a.perm;
                    (*inode).i_op = &Self::DIR_IOPS;
                    (*inode).__bindgen_anon_3.i_fop = &Self::DIR_FOPS;
                }
                InodeRole::File(_) => {
                    (*inode).i_mode = bindings::S_IFREG as u16 | a.perm;
                    (*inode).i_op = &Self::FILE_IOPS;
                    (*inode).__bindgen_anon_3.i_fop = &Self::FILE_FOPS;
                }
            }
        }
    }

    /// Copies derived attributes into a live inode (`getattr`, `permission`), as tracefs
    /// does: plain word stores that concurrent readers may see in any order.
    ///
    /// # Safety
    ///
    /// `inode` must be live.
    unsafe fn refresh(inode: *mut bindings::inode, a: Attrs) {
        // SAFETY: Per the caller. Volatile stores are the READ_ONCE/WRITE_ONCE of Rust.
        unsafe {
            let mode = core::ptr::addr_of_mut!((*inode).i_mode);
            let ty = core::ptr::read_volatile(mode) & !(bindings::S_IALLUGO as u16);
            core::ptr::write_volatile(mode, ty | a.perm);
            core::ptr::write_volatile(core::ptr::addr_of_mut!((*inode).i_uid), a.uid.0);
            core::ptr::write_volatile(core::ptr::addr_of_mut!((*inode).i_gid), a.gid.0);
        }
    }

    /// The derived attributes of `inode`, or `None` for the root (whose are its own).
    ///
    /// # Safety
    ///
    /// As for [`Self::role`].
    unsafe fn derived_attrs(inode: *mut bindings::inode) -> Option<Attrs> {
        // SAFETY: Per the caller.
        let (role, node) = unsafe { Self::role(inode) };
        match role {
            InodeRole::Root => None,
            InodeRole::Dir => Some(T::attrs(node, None)),
            InodeRole::File(i) => Some(T::attrs(node, Some(i))),
        }
    }

    /// `dentry_operations.d_revalidate`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn d_revalidate(
        _dir: *mut bindings::inode,
        _name: *const bindings::qstr,
        dentry: *mut bindings::dentry,
        _flags: c_uint,
    ) -> c_int {
        // SAFETY: The VFS passes a live dentry (in RCU-walk, one that cannot be freed
        // before the RCU read section ends).
        let p = unsafe { (*dentry).d_fsdata };
        if p.is_null() {
            // A negative dentry: the name may exist by now (docs/RULES.md rule 6): look again.
            return 0;
        }
        // SAFETY: A node reference lives in `d_fsdata` until `d_release`; the node's
        // memory outlives that by an RCU grace period (`RcuArc`), which covers RCU-walk.
        let node = unsafe { RcuArc::<T::Node>::borrow_raw(p) };
        c_int::from(T::is_live(node))
    }

    /// `dentry_operations.d_delete`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn d_delete(dentry: *const bindings::dentry) -> c_int {
        // Keep positive dentries cached (they are cheap to revalidate), never negative
        // ones: a name that does not exist now may exist on the next lookup.
        // SAFETY: The VFS passes a live dentry.
        c_int::from(unsafe { (*dentry).d_fsdata }.is_null())
    }

    /// `dentry_operations.d_release`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn d_release(dentry: *mut bindings::dentry) {
        // SAFETY: The dentry is being freed; we are the last user of `d_fsdata`.
        let p = unsafe { (*dentry).d_fsdata };
        if !p.is_null() {
            // SAFETY: The reference stored by `Dentry::set_node`, given back exactly once.
            drop(unsafe { RcuArc::<T::Node>::from_raw(p) });
        }
    }

    /// `inode_operations.lookup`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn lookup(
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        _flags: c_uint,
    ) -> *mut bindings::dentry {
        // SAFETY: The VFS passes a live, not yet hashed dentry whose name and parent are
        // stable during lookup (the parent is locked shared and the dentry in lookup).
        let (name, parent) = unsafe {
            let q = &(*dentry).__bindgen_anon_1.d_name;
            let len = q.__bindgen_anon_1.__bindgen_anon_1.len as usize;
            (core::slice::from_raw_parts(q.name, len), (*dentry).d_parent)
        };
        if name.len() > bindings::NAME_MAX as usize {
            return err_ptr(Error::from_errno(-(bindings::ENAMETOOLONG as c_int)));
        }
        // SAFETY: The parent directory's dentry is pinned by the lookup.
        let Some(dir_node) = (unsafe { Dentry::<T>::from_raw(parent) }).node_ref() else {
            return err_ptr(EIO);
        };
        // SAFETY: `dir` is the parent's live inode.
        let sb = unsafe { (*dir).i_sb };
        let found = match T::lookup(&dir_node, name) {
            Ok(Some(f)) => f,
            // Not found: a negative dentry, never kept (`d_delete`).
            Ok(None) => return core::ptr::null_mut(),
            Err(e) => return err_ptr(e),
        };
        // SAFETY: `sb` is live while its inode `dir` is.
        let inode = unsafe { bindings::new_inode(sb) };
        if inode.is_null() {
            return err_ptr(ENOMEM);
        }
        // SAFETY: `dentry` is live and not yet visible.
        let d = unsafe { Dentry::<T>::from_raw(dentry) };
        match found {
            Found::Dir(node, ino) => {
                let a = T::attrs(&node, None);
                // SAFETY: `inode` is new and invisible.
                unsafe { Self::init_inode(inode, &node, InodeRole::Dir, ino, a) };
                d.set_node(node);
            }
            Found::File(i) => {
                let a = T::attrs(&dir_node, Some(i));
                // SAFETY: As above.
                unsafe { Self::init_inode(inode, &dir_node, InodeRole::File(i), T::FILE_INO, a) };
                d.set_node(dir_node);
            }
        }
        // SAFETY: `inode` is fully initialised; `d_splice_alias()` consumes its reference.
        unsafe { bindings::d_splice_alias(inode, dentry) }
    }

    /// `inode_operations.getattr`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn getattr(
        idmap: *mut bindings::mnt_idmap,
        path: *const bindings::path,
        stat: *mut bindings::kstat,
        request_mask: u32,
        _flags: c_uint,
    ) -> c_int {
        // SAFETY: The VFS passes a live path with a positive dentry, and a kstat to fill.
        unsafe {
            let dentry = (*path).dentry;
            let inode = (*dentry).d_inode;
            if let Some(a) = Self::derived_attrs(inode) {
                Self::refresh(inode, a);
            }
            bindings::generic_fillattr(idmap, request_mask, inode, stat);
        }
        0
    }

    /// `inode_operations.permission`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn permission(
        idmap: *mut bindings::mnt_idmap,
        inode: *mut bindings::inode,
        mask: c_int,
    ) -> c_int {
        // SAFETY: The VFS passes a live inode of ours, reached through its dentry (or in
        // RCU-walk, under RCU): see the module doc. `attrs` neither sleeps nor locks.
        unsafe {
            if let Some(a) = Self::derived_attrs(inode) {
                Self::refresh(inode, a);
            }
            bindings::generic_permission(idmap, inode, mask)
        }
    }

    /// `inode_operations.setattr`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn setattr(
        idmap: *mut bindings::mnt_idmap,
        dentry: *mut bindings::dentry,
        iattr: *mut bindings::iattr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes a live positive dentry (inode locked) and an iattr.
            unsafe {
                let inode = (*dentry).d_inode;
                // `ATTR_SIZE` comes from `O_TRUNC`, which `open` already handled: the
                // files have no size to change, so it is accepted and ignored.
                let valid = (*iattr).ia_valid;
                kernel::error::to_result(bindings::setattr_prepare(idmap, dentry, iattr))?;
                let change = AttrChange {
                    perm: (valid & bindings::ATTR_MODE != 0)
                        .then(|| (*iattr).ia_mode & bindings::S_IALLUGO as u16),
                    uid: (valid & bindings::ATTR_UID != 0)
                        .then(|| Kuid((*iattr).__bindgen_anon_1.ia_uid)),
                    gid: (valid & bindings::ATTR_GID != 0)
                        .then(|| Kgid((*iattr).__bindgen_anon_2.ia_gid)),
                };
                let (role, node) = Self::role(inode);
                match role {
                    InodeRole::Root => {}
                    InodeRole::Dir => T::set_attrs(node, None, &change)?,
                    InodeRole::File(i) => T::set_attrs(node, Some(i), &change)?,
                }
                bindings::setattr_copy(idmap, inode, iattr);
            }
            Ok(0)
        })
    }

    /// `file_operations.iterate_shared`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn iterate_shared(
        file: *mut bindings::file,
        ctx: *mut bindings::dir_context,
    ) -> c_int {
        // SAFETY: The VFS passes a live open directory and its dir_context.
        unsafe {
            if !fsb::eventfs_helper_dir_emit_dots(file, ctx.cast()) {
                return 0;
            }
            let dentry = (*file).__bindgen_anon_1.f_path.dentry;
            let Some(node) = Dentry::<T>::from_raw(dentry).node() else {
                return EINVAL.to_errno();
            };
            let pos = (*ctx).pos;
            let mut emit = |at: i64, next: i64, e: DirEntry<'_>| {
                let ty = if e.is_dir {
                    bindings::DT_DIR
                } else {
                    bindings::DT_REG
                };
                (*ctx).pos = at;
                if !fsb::eventfs_helper_dir_emit(
                    ctx.cast(),
                    e.name.as_ptr(),
                    e.name.len() as c_int,
                    e.ino,
                    ty,
                ) {
                    return false;
                }
                (*ctx).pos = next;
                true
            };
            match T::iterate(node, pos, &mut emit) {
                Ok(()) => 0,
                Err(e) => e.to_errno(),
            }
        }
    }

    /// `file_operations.open`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes the live inode and the file being opened, whose path
            // pins the dentry (and so the node) for the life of the file.
            unsafe {
                let InodeRole::File(i) = Self::role(inode).0 else {
                    return Err(EINVAL);
                };
                let dentry = (*file).__bindgen_anon_1.f_path.dentry;
                let node = Dentry::<T>::from_raw(dentry).node_ref().ok_or(EIO)?;
                let trunc =
                    (*file).f_flags & bindings::O_TRUNC != 0 && (*file).f_mode & FMODE_WRITE != 0;
                // Allocate first: `T::open` may change the filesystem (O_TRUNC), so it
                // must be the last step that can fail.
                let open = KBox::pin_init(T::new_open(), GFP_KERNEL)?;
                T::open(&node, i, trunc)?;
                (*file).private_data = open.into_foreign();
            }
            Ok(0)
        })
    }

    /// `file_operations.release`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: Called once per successful `open`, which stored the box; the file's
        // path still pins the dentry.
        unsafe {
            if let Ok((node, i, open)) = Self::parts(file) {
                T::release(node, i, open);
            }
            let p = (*file).private_data;
            if !p.is_null() {
                drop(<Pin<KBox<T::Open>> as ForeignOwnable>::from_foreign(p));
            }
        }
        0
    }

    /// # Safety
    ///
    /// `file` must be a live file opened by `open` above.
    unsafe fn parts<'a>(file: *mut bindings::file) -> Result<FileParts<'a, T>> {
        // SAFETY: Per the caller: the file pins dentry and inode, and owns private_data.
        unsafe {
            let dentry = (*file).__bindgen_anon_1.f_path.dentry;
            let InodeRole::File(i) = Self::role((*dentry).d_inode).0 else {
                return Err(EINVAL);
            };
            let node = Dentry::<T>::from_raw(dentry).node().ok_or(EIO)?;
            let p = (*file).private_data;
            if p.is_null() {
                return Err(EBADF);
            }
            let open = <Pin<KBox<T::Open>> as ForeignOwnable>::borrow(p);
            Ok((node, i, open))
        }
    }

    /// `file_operations.read`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn read(
        file: *mut bindings::file,
        buf: *mut c_char,
        count: usize,
        pos: *mut i64,
    ) -> isize {
        from_result(|| {
            // SAFETY: A live file of ours and its position, per the VFS.
            let (node, i, open) = unsafe { Self::parts(file)? };
            let mut r = Reader {
                buf: UserPtr::from_ptr(buf.cast()),
                count,
                // SAFETY: The VFS passes a valid position for this call.
                pos: unsafe { &mut *pos },
            };
            Ok(T::read(node, i, open, &mut r)? as isize)
        })
    }

    /// `file_operations.write`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn write(
        file: *mut bindings::file,
        buf: *const c_char,
        count: usize,
        pos: *mut i64,
    ) -> isize {
        /// Largest single write accepted (a dynamic_events batch).
        const MAX_WRITE: usize = 1 << 20;
        from_result(|| {
            // SAFETY: A live file of ours, per the VFS.
            let (node, i, open) = unsafe { Self::parts(file)? };
            if count > MAX_WRITE {
                return Err(E2BIG);
            }
            let mut data = KVec::new();
            UserSlice::new(UserPtr::from_ptr(buf.cast_mut().cast()), count)
                .read_all(&mut data, GFP_KERNEL)?;
            let n = T::write(node, i, open, &data)?;
            // SAFETY: Valid position for this call, per the VFS.
            unsafe { *pos += n as i64 };
            Ok(n as isize)
        })
    }
}

/// `err_ptr()` for a dentry-returning callback.
fn err_ptr(e: Error) -> *mut bindings::dentry {
    e.to_errno() as isize as *mut bindings::dentry
}
