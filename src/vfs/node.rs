// SPDX-License-Identifier: GPL-2.0

//! Dentries, inodes and files of a tree whose dentries are only a cache in front of the
//! filesystem's own metadata nodes ([`Tree::Node`]).
//!
//! Who owns what:
//! - `dentry->d_fsdata` of every positive dentry below the root (and of the root) owns
//!   one counted [`RcuArc`] reference: to the directory's own node, or, for a file, to
//!   the node of the directory holding it. It is taken in `lookup` (or `fill_super`) by
//!   [`Dentry::set_node`], and given back in `d_release`, nowhere else (rule 2).
//! - `inode->i_private` holds an uncounted pointer to the node (the directory's own, or
//!   for a file, its directory's) with the file index + 1 in the low bits (0 for a
//!   directory). It is valid because our inodes are never aliased: an inode is reached
//!   only through its one dentry, which holds the counted reference and drops it in
//!   `d_release`, after it dropped the inode. In RCU-walk (`permission` with
//!   `MAY_NOT_BLOCK`) the node's memory outlives its last reference by an RCU grace
//!   period.
//! - `file->private_data` of an open regular file is the `seq_file` that `seq_open()` made
//!   (freed by `seq_release()`), and that `seq_file`'s `private` owns a
//!   `Pin<KBox<Tree::Open>>` made by `open` and dropped by `release`. The open file pins
//!   its dentry, so the dentry's node reference keeps the metadata alive while the file is
//!   open (rule 10).
//!   Stream files ([`Tree::is_stream`]) have the same state but are read by
//!   [`Tree::read_stream`], not through the `seq_file`.
//! - `inode->i_sb->s_fs_info` is the superblock's [`Tree::SbInfo`] (see `vfs::fs_type`):
//!   mount-wide defaults that derived attributes depend on.
//! - No structure of the filesystem keeps a dentry or inode pointer (rule 1).

use core::marker::PhantomData;
use core::pin::Pin;

use kernel::{
    bindings,
    error::{from_result, to_result},
    ffi::{c_char, c_int, c_uint, c_void},
    fs::file::{flags as file_flags, LocalFile},
    iov::IovIterDest,
    prelude::*,
    types::ForeignOwnable,
    uaccess::{UserPtr, UserSlice, UserSliceReader},
};

use super::{local_bindings, Buffer, Kgid, Kuid, RcuArc};

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

/// A change requested by `chmod`/`chown` (`struct iattr`), as `setattr_copy()` applied it
/// to the inode (it may, for instance, have cleared `S_ISGID`).
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
///
/// Reading a file is record by record (`seq_file`): [`Tree::seq_seek`] positions the open
/// file on a record, [`Tree::seq_show`] prints it, [`Tree::seq_stop`] ends a pass. Record
/// keys only need to grow; a reader resumes at the first key after the last one it got,
/// so paging through a long listing costs one seek per `read(2)`, not a rebuild.
pub(crate) trait Tree: Sized + 'static {
    /// A metadata node (a directory).
    type Node: Send + Sync + 'static;
    /// State of one open regular file.
    type Open: Send + Sync + 'static;
    /// Per-superblock state that derived attributes depend on.
    type SbInfo: Send + Sync + 'static;

    /// The inode number all regular files share.
    const FILE_INO: u64;

    /// Finds `name` in directory `dir`. `None` for a name that does not exist.
    fn lookup(dir: &RcuArc<Self::Node>, name: &[u8]) -> Option<Found<Self::Node>>;
    /// Whether a dentry holding `node` is still valid. Called in RCU-walk too: must not
    /// sleep or take locks.
    fn is_live(node: &Self::Node) -> bool;
    /// Whether unused positive dentries (and so their inodes) stay cached until memory
    /// pressure, or go at their last `dput`. Called under the dentry's spin lock.
    fn keep_unused(sb: &Self::SbInfo) -> bool;
    /// Reports the entries of `dir` from position `pos` on (0 and 1 are `.` and `..`,
    /// done by the caller) as `emit(position, next position, entry)`; `emit` returns
    /// false when the buffer is full.
    fn iterate(dir: &Self::Node, pos: i64, emit: &mut dyn FnMut(i64, i64, DirEntry<'_>) -> bool);
    /// The derived attributes of directory `node` (`file == None`) or of its file.
    /// Called in RCU-walk too: must not sleep or take sleeping locks.
    fn attrs(sb: &Self::SbInfo, node: &Self::Node, file: Option<u32>) -> Attrs;
    /// Makes room to record a `chmod`/`chown` of `node` or its files: the last step of
    /// `setattr` that can fail.
    fn prepare_attrs(node: &Self::Node) -> Result;
    /// Records `chmod`/`chown` of directory `node` or of its file in the metadata (after
    /// [`Tree::prepare_attrs`]).
    fn set_attrs(sb: &Self::SbInfo, node: &Self::Node, file: Option<u32>, change: &AttrChange);
    /// Whether `node` is a scope: the directory whose state the files below it work on
    /// (an open file gets the nearest one at or above its directory).
    fn is_scope(node: &Self::Node) -> bool;
    /// Opens file `file` of `dir`. `trunc` is `O_TRUNC` on a file opened for writing.
    /// The last step of `open` that can fail: its effects stay if it succeeds.
    fn open(dir: &RcuArc<Self::Node>, file: u32, trunc: bool, open: Pin<&Self::Open>) -> Result;
    /// The state of a new open file of directory `dir`, in `scope`.
    fn new_open(
        dir: &Self::Node,
        file: u32,
        scope: Option<RcuArc<Self::Node>>,
    ) -> impl PinInit<Self::Open, Error>;
    /// `mkdir` of `name` in `dir`: the new directory's node and inode number.
    fn mkdir(dir: &RcuArc<Self::Node>, name: &[u8]) -> Result<(RcuArc<Self::Node>, u64)>;
    /// `rmdir` of `victim`, a directory of `dir`. On success, `victim` is no longer live.
    fn rmdir(dir: &Self::Node, victim: &Self::Node) -> Result;
    /// The last close of an open file.
    fn release(dir: &Self::Node, file: u32, open: Pin<&Self::Open>);
    /// Positions `open` on the first record whose key is `>= pos` and returns the key, or
    /// `None` at the end. An error fails the `read(2)`.
    fn seq_seek(
        dir: &Self::Node,
        file: u32,
        open: Pin<&Self::Open>,
        pos: u64,
    ) -> Result<Option<u64>>;
    /// Prints the record `open` is positioned on.
    fn seq_show(
        dir: &Self::Node,
        file: u32,
        open: Pin<&Self::Open>,
        out: &mut SeqOut<'_>,
    ) -> Result;
    /// Ends a pass of reading: lets go of the current record.
    fn seq_stop(open: Pin<&Self::Open>);
    /// Whether file `file` of `node` is a stream: read by [`Tree::read_stream`] and polled
    /// by [`Tree::poll`], without a file position.
    fn is_stream(node: &Self::Node, file: u32) -> bool;
    /// Reads from stream file `file` into `dst`; returns how many bytes it copied.
    /// `nonblock`: `O_NONBLOCK`, the read must not sleep.
    fn read_stream(
        dir: &Self::Node,
        file: u32,
        open: Pin<&Self::Open>,
        dst: &mut ReadSink<'_>,
        nonblock: bool,
    ) -> Result<usize>;
    /// `poll(2)` of stream file `file`: registers the poll with `reg` and returns whether
    /// a read would find something now.
    fn poll(dir: &Self::Node, file: u32, open: Pin<&Self::Open>, reg: &PollRegistrar<'_>) -> bool;
    /// Writes the bytes of `src` (the file position does not matter); returns how many
    /// were consumed.
    fn write(
        dir: &Self::Node,
        file: u32,
        open: Pin<&Self::Open>,
        src: &mut WriteSource,
    ) -> Result<usize>;
}

/// Where a record is printed: the `seq_file` of a read in progress.
///
/// # Invariants
///
/// `m` is the live `seq_file` of the current `show` call, used by this task only.
pub(crate) struct SeqOut<'a> {
    m: *mut bindings::seq_file,
    _p: PhantomData<&'a mut bindings::seq_file>,
}

impl SeqOut<'_> {
    /// Appends raw bytes (`seq_write()`); an overflow is noticed by `seq_read` itself,
    /// which retries the record with a larger buffer.
    pub(crate) fn bytes(&mut self, data: &[u8]) {
        // SAFETY: `m` is live (type invariant) and `data` valid for its length.
        unsafe { bindings::seq_write(self.m, data.as_ptr().cast(), data.len()) };
    }
}

impl core::fmt::Write for SeqOut<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.bytes(s.as_bytes());
        Ok(())
    }
}

/// The bytes of one `write(2)`, copied from user memory piece by piece (never all at once:
/// a user decides how large a write is).
pub(crate) struct WriteSource {
    reader: UserSliceReader,
}

impl WriteSource {
    /// Bytes not yet copied.
    pub(crate) fn remaining(&self) -> usize {
        self.reader.len()
    }

    /// Copies the next bytes into `out`, as many as fit; `EFAULT` if user memory could not
    /// be read.
    pub(crate) fn read_piece<'b>(&mut self, out: &'b mut [u8]) -> Result<&'b [u8]> {
        let want = core::cmp::min(out.len(), self.reader.len());
        self.reader.read_slice(&mut out[..want])?;
        Ok(&out[..want])
    }
}

/// Where the bytes of one `read(2)` of a stream file go: user memory, filled in order.
pub(crate) struct ReadSink<'a> {
    iter: &'a mut IovIterDest<'a>,
}

impl ReadSink<'_> {
    /// Room left.
    pub(crate) fn remaining(&self) -> usize {
        self.iter.len()
    }

    /// Copies as much of `data` as fits; returns how much, `EFAULT` if user memory could
    /// not be written.
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<usize> {
        let want = core::cmp::min(data.len(), self.iter.len());
        let n = self.iter.copy_to_iter(&data[..want]);
        if n < want {
            return Err(EFAULT);
        }
        Ok(n)
    }
}

/// The arguments of one `poll` call: [`PollRegistrar::wait_on`] adds the file to a
/// buffer's wait queue.
///
/// # Invariants
///
/// `file` and `table` are the live arguments of the current `file_operations.poll` call,
/// on a file whose open state keeps what it waits on alive until its release.
pub(crate) struct PollRegistrar<'a> {
    file: *mut bindings::file,
    table: *mut bindings::poll_table_struct,
    _p: PhantomData<&'a ()>,
}

impl PollRegistrar<'_> {
    /// Wakes the poller when `buf` gets a record.
    ///
    /// `buf` must stay allocated until the file is released: the tree's files keep their
    /// buffer's owner from freeing it while they are open.
    pub(crate) fn wait_on(&self, buf: &Buffer) {
        // SAFETY: Live arguments of this poll call (type invariant); the buffer outlives
        // the file (see above).
        unsafe { buf.poll_wait(self.file, self.table) };
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
        mkdir: Some(Self::mkdir),
        rmdir: Some(Self::rmdir),
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
        read_iter: Some(bindings::seq_read_iter),
        write: Some(Self::write),
        release: Some(Self::release),
        llseek: Some(bindings::seq_lseek),
        ..pin_init::zeroed()
    };
    pub(crate) const STREAM_FOPS: bindings::file_operations = bindings::file_operations {
        open: Some(Self::open),
        read_iter: Some(Self::stream_read_iter),
        write: Some(Self::write),
        poll: Some(Self::poll),
        release: Some(Self::release),
        ..pin_init::zeroed()
    };
    const SEQ_OPS: bindings::seq_operations = bindings::seq_operations {
        start: Some(Self::seq_start),
        next: Some(Self::seq_next),
        stop: Some(Self::seq_stop),
        show: Some(Self::seq_show),
    };

    /// Low bits of `i_private` that hold the file index + 1.
    /// (Every `RcuArc` allocation is `RCU_ARC_ALIGN`-aligned, so a directory can have up
    /// to `RCU_ARC_ALIGN - 1` files.)
    const TAG_MASK: usize = super::rcu::RCU_ARC_ALIGN - 1;

    /// The role of an inode of ours and its node.
    ///
    /// # Safety
    ///
    /// `inode` must be a live inode of this tree made by `init_inode`, and the caller
    /// must hold its dentry, or be in an RCU read section (see the module doc); the node
    /// is borrowed for that long.
    unsafe fn role<'a>(inode: *mut bindings::inode) -> (InodeRole, &'a T::Node) {
        // SAFETY: Per the caller; `i_private` is set before the inode is visible and never
        // changes.
        let p = unsafe { (*inode).i_private } as usize;
        // SAFETY: As above, for `i_ino`.
        let ino = unsafe { (*inode).i_ino };
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

    /// The per-superblock state of the superblock `inode` belongs to.
    ///
    /// # Safety
    ///
    /// `inode` must be a live inode of this tree; the state is borrowed for as long as the
    /// caller keeps the inode alive (the superblock outlives its inodes).
    unsafe fn sb_info<'a>(inode: *mut bindings::inode) -> &'a T::SbInfo {
        // SAFETY: Per the caller, `inode` and so its superblock are live.
        let info = unsafe { (*(*inode).i_sb).s_fs_info };
        // SAFETY: The superblock's `s_fs_info` is the `Pin<KBox<T::SbInfo>>` it owns until
        // `kill_sb`, after all its inodes are gone (`vfs::fs_type`).
        let pinned = unsafe { <Pin<KBox<T::SbInfo>> as ForeignOwnable>::borrow(info) };
        pinned.get_ref()
    }

    /// Fills a new inode's fields for `role`. Every fs-private field is set here,
    /// before `d_splice_alias()` makes the inode visible (rule 6).
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
        let (ty, iops, fops) = match role {
            InodeRole::Dir | InodeRole::Root => {
                (bindings::S_IFDIR, &Self::DIR_IOPS, &Self::DIR_FOPS)
            }
            InodeRole::File(i) if T::is_stream(node, i) => {
                (bindings::S_IFREG, &Self::FILE_IOPS, &Self::STREAM_FOPS)
            }
            InodeRole::File(_) => (bindings::S_IFREG, &Self::FILE_IOPS, &Self::FILE_FOPS),
        };
        // SAFETY: Exclusive access per the caller; the tables are statics.
        unsafe {
            (*inode).i_private = private as *mut c_void;
            (*inode).i_ino = ino;
            (*inode).i_uid = a.uid.0;
            (*inode).i_gid = a.gid.0;
            (*inode).i_mode = ty as u16 | a.perm;
            (*inode).i_op = iops;
            (*inode).__bindgen_anon_3.i_fop = fops;
        }
        // SAFETY: `inode` is live and ours.
        unsafe { bindings::simple_inode_init_ts(inode) };
    }

    /// Copies derived attributes into a live inode (`getattr`, `permission`), as tracefs
    /// does: plain word stores that concurrent readers may see in any order.
    ///
    /// # Safety
    ///
    /// `inode` must be live.
    unsafe fn refresh(inode: *mut bindings::inode, a: Attrs) {
        // SAFETY: Per the caller. Volatile accesses are the READ_ONCE/WRITE_ONCE of Rust.
        unsafe {
            let mode = core::ptr::addr_of_mut!((*inode).i_mode);
            let ty = core::ptr::read_volatile(mode) & !(bindings::S_IALLUGO as u16);
            core::ptr::write_volatile(mode, ty | a.perm);
            core::ptr::write_volatile(core::ptr::addr_of_mut!((*inode).i_uid), a.uid.0);
            core::ptr::write_volatile(core::ptr::addr_of_mut!((*inode).i_gid), a.gid.0);
        }
    }

    /// Brings a live inode's mode and ownership up to date with the metadata (the root's
    /// are its own: mount options and chmod/chown on it).
    ///
    /// # Safety
    ///
    /// As for [`Self::role`].
    unsafe fn refresh_derived(inode: *mut bindings::inode) {
        // SAFETY: Per the caller.
        let (role, node) = unsafe { Self::role(inode) };
        let file = match role {
            InodeRole::Root => return,
            InodeRole::Dir => None,
            InodeRole::File(i) => Some(i),
        };
        // SAFETY: Per the caller, the inode is live.
        let sb = unsafe { Self::sb_info(inode) };
        // SAFETY: Per the caller.
        unsafe { Self::refresh(inode, T::attrs(sb, node, file)) };
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
            // A negative dentry: the name may exist by now (rule 6), look it up again.
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
        // Never keep negative dentries: a name that does not exist now may exist on the
        // next lookup. Keep positive ones (cheap to revalidate) unless the mount says
        // otherwise.
        // SAFETY: The VFS passes a live dentry.
        if unsafe { (*dentry).d_fsdata }.is_null() {
            return 1;
        }
        // SAFETY: A live dentry's superblock is live.
        let sb = unsafe { (*dentry).d_sb };
        // SAFETY: The superblock's `s_fs_info` is its `Pin<KBox<T::SbInfo>>` until
        // `kill_sb`, which runs after its dentries are gone.
        let info = unsafe { <Pin<KBox<T::SbInfo>> as ForeignOwnable>::borrow((*sb).s_fs_info) };
        c_int::from(!T::keep_unused(info.get_ref()))
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
        // SAFETY: The VFS passes a live, not yet hashed dentry whose name is stable during
        // lookup (the parent is locked shared and the dentry is in lookup).
        let q = unsafe { &(*dentry).__bindgen_anon_1.d_name };
        // SAFETY: Reading the length half of the name's hash-and-length union.
        let len = unsafe { q.__bindgen_anon_1.__bindgen_anon_1.len } as usize;
        // SAFETY: `q.name` points at `len` bytes for the dentry's life.
        let name = unsafe { core::slice::from_raw_parts(q.name, len) };
        if name.len() > bindings::NAME_MAX as usize {
            return err_ptr(Error::from_errno(-(bindings::ENAMETOOLONG as c_int)));
        }
        // SAFETY: The parent dentry is pinned by the lookup.
        let parent = unsafe { Dentry::<T>::from_raw((*dentry).d_parent) };
        let Some(dir_node) = parent.node_ref() else {
            return err_ptr(EIO);
        };
        let Some(found) = T::lookup(&dir_node, name) else {
            // Not found: a negative dentry, never kept (`d_delete`).
            return core::ptr::null_mut();
        };
        // SAFETY: `dir` is the parent's live inode.
        let sb_ptr = unsafe { (*dir).i_sb };
        // SAFETY: As above.
        let sb = unsafe { Self::sb_info(dir) };
        // SAFETY: `sb_ptr` is live while its inode `dir` is.
        let inode = unsafe { bindings::new_inode(sb_ptr) };
        if inode.is_null() {
            return err_ptr(ENOMEM);
        }
        // SAFETY: `dentry` is live and not yet visible.
        let d = unsafe { Dentry::<T>::from_raw(dentry) };
        match found {
            Found::Dir(node, ino) => {
                let a = T::attrs(sb, &node, None);
                // SAFETY: `inode` is new and invisible.
                unsafe { Self::init_inode(inode, &node, InodeRole::Dir, ino, a) };
                d.set_node(node);
            }
            Found::File(i) => {
                let a = T::attrs(sb, &dir_node, Some(i));
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
        // SAFETY: The VFS passes a live path with a positive dentry.
        let inode = unsafe { (*(*path).dentry).d_inode };
        // SAFETY: The path pins the dentry, so the inode and its node are live.
        unsafe { Self::refresh_derived(inode) };
        // SAFETY: `inode` is live and `stat` is the VFS's to fill.
        unsafe { bindings::generic_fillattr(idmap, request_mask, inode, stat) };
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
        // SAFETY: A live inode of ours, reached through its dentry (or in RCU-walk, under
        // RCU): see the module doc. Deriving attributes neither sleeps nor locks.
        unsafe { Self::refresh_derived(inode) };
        // SAFETY: `inode` is live.
        unsafe { bindings::generic_permission(idmap, inode, mask) }
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
            to_result(unsafe { bindings::setattr_prepare(idmap, dentry, iattr) })?;
            // SAFETY: As above.
            let inode = unsafe { (*dentry).d_inode };
            // SAFETY: As above.
            let valid = unsafe { (*iattr).ia_valid };
            // SAFETY: The dentry pins the inode and its node.
            let (role, node) = unsafe { Self::role(inode) };
            // SAFETY: As above.
            let sb = unsafe { Self::sb_info(inode) };
            if !matches!(role, InodeRole::Root) {
                T::prepare_attrs(node)?;
            }
            // Let the VFS apply the change to the inode first: `setattr_copy()` may drop
            // `S_ISGID`, and the metadata must keep what the inode got, not what was asked.
            // `ATTR_SIZE` comes from `O_TRUNC`, which `open` already handled: the files
            // have no size to change, so it is accepted and ignored.
            // SAFETY: `inode` is live and locked; `iattr` passed `setattr_prepare()`.
            unsafe { bindings::setattr_copy(idmap, inode, iattr) };
            // SAFETY: Reading back the fields `setattr_copy()` just wrote, inode locked.
            let (mode, uid, gid) = unsafe { ((*inode).i_mode, (*inode).i_uid, (*inode).i_gid) };
            let change = AttrChange {
                perm: (valid & bindings::ATTR_MODE != 0)
                    .then_some(mode & bindings::S_IALLUGO as u16),
                uid: (valid & bindings::ATTR_UID != 0).then_some(Kuid(uid)),
                gid: (valid & bindings::ATTR_GID != 0).then_some(Kgid(gid)),
            };
            match role {
                InodeRole::Root => {}
                InodeRole::Dir => T::set_attrs(sb, node, None, &change),
                InodeRole::File(i) => T::set_attrs(sb, node, Some(i), &change),
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
        if !unsafe { local_bindings::eventfs_helper_dir_emit_dots(file, ctx.cast()) } {
            return 0;
        }
        // SAFETY: The open file pins its path.
        let dentry = unsafe { (*file).__bindgen_anon_1.f_path.dentry };
        // SAFETY: The pinned dentry is one of ours.
        let Some(node) = (unsafe { Dentry::<T>::from_raw(dentry) }).node() else {
            return EINVAL.to_errno();
        };
        // SAFETY: `ctx` is live for this call and ours to update.
        let pos = unsafe { (*ctx).pos };
        let mut emit = |at: i64, next: i64, e: DirEntry<'_>| {
            let ty = if e.is_dir {
                bindings::DT_DIR
            } else {
                bindings::DT_REG
            };
            // SAFETY: As above.
            unsafe { (*ctx).pos = at };
            // SAFETY: `ctx` is live; `e.name` is valid for its length during the call.
            let more = unsafe {
                local_bindings::eventfs_helper_dir_emit(
                    ctx.cast(),
                    e.name.as_ptr(),
                    e.name.len() as c_int,
                    e.ino,
                    ty,
                )
            };
            if more {
                // SAFETY: As above.
                unsafe { (*ctx).pos = next };
            }
            more
        };
        T::iterate(node, pos, &mut emit);
        0
    }

    /// `file_operations.open`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        from_result(|| {
            // SAFETY: The file being opened pins the dentry, hence the inode and its node.
            let InodeRole::File(i) = (unsafe { Self::role(inode) }).0 else {
                return Err(EINVAL);
            };
            // SAFETY: As above.
            let dentry = unsafe { (*file).__bindgen_anon_1.f_path.dentry };
            // SAFETY: The pinned dentry is one of ours.
            let node = unsafe { Dentry::<T>::from_raw(dentry) }
                .node_ref()
                .ok_or(EIO)?;
            // SAFETY: `file` is live (the VFS holds its reference during `open`) and being
            // opened by this task, so no `fdget_pos` on it can be active elsewhere.
            let flags = unsafe { LocalFile::from_raw_file(file) }.flags();
            // SAFETY: `f_mode` is set before `open` is called and not changed during it.
            let mode = unsafe { (*file).f_mode };
            let trunc = flags & file_flags::O_TRUNC != 0 && mode & FMODE_WRITE != 0;
            // SAFETY: The pinned dentry is one of ours.
            let scope = unsafe { Self::scope_of((*dentry).d_parent) };
            // Allocate first: `T::open` may change the filesystem (O_TRUNC), so it must
            // be the last step that can fail.
            let open = KBox::pin_init(T::new_open(&node, i, scope), GFP_KERNEL)?;
            // SAFETY: `file` is live; `seq_open()` sets `private_data` to a new seq_file.
            to_result(unsafe { bindings::seq_open(file, &Self::SEQ_OPS) })?;
            if let Err(e) = T::open(&node, i, trunc, open.as_ref()) {
                // SAFETY: Undoes the `seq_open()` above; nothing else saw the file.
                unsafe { bindings::seq_release(inode, file) };
                return Err(e);
            }
            // SAFETY: `private_data` is the seq_file `seq_open()` just made; its `private`
            // takes ownership of `open` until `release`.
            unsafe {
                (*(*file).private_data.cast::<bindings::seq_file>()).private = open.into_foreign()
            };
            Ok(0)
        })
    }

    /// The node of the nearest scope ([`Tree::is_scope`]) at or above directory dentry
    /// `dir`, as a new counted reference.
    ///
    /// # Safety
    ///
    /// `dir` must be a pinned dentry of this tree. Its ancestors are then pinned too (a
    /// dentry holds its parent), and they never change: the tree has no rename, and its
    /// directory inodes are never aliased, so `d_splice_alias()` never moves a dentry.
    unsafe fn scope_of(mut dir: *mut bindings::dentry) -> Option<RcuArc<T::Node>> {
        loop {
            // SAFETY: Pinned per the caller; one of ours.
            let d = unsafe { Dentry::<T>::from_raw(dir) };
            if let Some(node) = d.node() {
                if T::is_scope(node) {
                    return d.node_ref();
                }
            }
            // SAFETY: As above; `d_parent` of a pinned dentry of ours is stable.
            let parent = unsafe { (*dir).d_parent };
            if parent == dir {
                return None;
            }
            dir = parent;
        }
    }

    /// `inode_operations.mkdir`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires:
    /// `dentry` is a negative dentry of `dir`, whose lock is held exclusively.
    unsafe extern "C" fn mkdir(
        _idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        _mode: bindings::umode_t,
    ) -> *mut bindings::dentry {
        // SAFETY: The dentry's name is stable while the parent is locked.
        let q = unsafe { &(*dentry).__bindgen_anon_1.d_name };
        // SAFETY: Reading the length half of the name's hash-and-length union.
        let len = unsafe { q.__bindgen_anon_1.__bindgen_anon_1.len } as usize;
        // SAFETY: `q.name` points at `len` bytes for the dentry's life.
        let name = unsafe { core::slice::from_raw_parts(q.name, len) };
        // SAFETY: The parent dentry is pinned by the VFS.
        let parent = unsafe { Dentry::<T>::from_raw((*dentry).d_parent) };
        let Some(dir_node) = parent.node_ref() else {
            return err_ptr(EIO);
        };
        // SAFETY: `dir` is the parent's live inode.
        let sb_ptr = unsafe { (*dir).i_sb };
        // SAFETY: `sb_ptr` is live while its inode `dir` is.
        let inode = unsafe { bindings::new_inode(sb_ptr) };
        if inode.is_null() {
            return err_ptr(ENOMEM);
        }
        let (node, ino) = match T::mkdir(&dir_node, name) {
            Ok(made) => made,
            Err(e) => {
                // SAFETY: Our new inode, never visible: its only reference goes.
                unsafe { bindings::iput(inode) };
                return err_ptr(e);
            }
        };
        // SAFETY: As above.
        let sb = unsafe { Self::sb_info(dir) };
        let a = T::attrs(sb, &node, None);
        // SAFETY: `inode` is new and invisible.
        unsafe { Self::init_inode(inode, &node, InodeRole::Dir, ino, a) };
        // SAFETY: `dentry` is live, negative and ours until instantiated.
        unsafe { Dentry::<T>::from_raw(dentry) }.set_node(node);
        // SAFETY: `inode` is fully initialised; `d_instantiate()` consumes its reference.
        unsafe { bindings::d_instantiate(dentry, inode) };
        core::ptr::null_mut()
    }

    /// `inode_operations.rmdir`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires:
    /// `dentry` is a positive dentry of `dir`, both locked.
    unsafe extern "C" fn rmdir(_dir: *mut bindings::inode, dentry: *mut bindings::dentry) -> c_int {
        // SAFETY: The VFS pins `dentry` and its parent.
        let (victim, parent) = unsafe {
            (
                Dentry::<T>::from_raw(dentry).node(),
                Dentry::<T>::from_raw((*dentry).d_parent).node(),
            )
        };
        let (Some(victim), Some(parent)) = (victim, parent) else {
            return EIO.to_errno();
        };
        match T::rmdir(parent, victim) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// `file_operations.release`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn release(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: Called once per successful `open`; the file's path still pins the dentry.
        if let Ok((node, i, open)) = unsafe { Self::parts(file) } {
            T::release(node, i, open);
        }
        // SAFETY: `open` made `private_data` a seq_file whose `private` owns the box.
        let m = unsafe { (*file).private_data.cast::<bindings::seq_file>() };
        // SAFETY: As above.
        let p = unsafe { (*m).private };
        if !p.is_null() {
            // SAFETY: The box stored by `open`, taken back once.
            drop(unsafe { <Pin<KBox<T::Open>> as ForeignOwnable>::from_foreign(p) });
        }
        // SAFETY: Frees the seq_file `open` made.
        unsafe { bindings::seq_release(inode, file) }
    }

    /// # Safety
    ///
    /// `file` must be a live file opened by `open` above.
    unsafe fn parts<'a>(file: *mut bindings::file) -> Result<FileParts<'a, T>> {
        // SAFETY: Per the caller: the file pins dentry and inode.
        let dentry = unsafe { (*file).__bindgen_anon_1.f_path.dentry };
        // SAFETY: As above.
        let InodeRole::File(i) = (unsafe { Self::role((*dentry).d_inode) }).0 else {
            return Err(EINVAL);
        };
        // SAFETY: The pinned dentry is one of ours.
        let node = unsafe { Dentry::<T>::from_raw(dentry) }.node().ok_or(EIO)?;
        // SAFETY: `open` made `private_data` a seq_file, alive until `release`.
        let p = unsafe { (*(*file).private_data.cast::<bindings::seq_file>()).private };
        if p.is_null() {
            return Err(EBADF);
        }
        // SAFETY: The box stored by `open`, owned by the seq_file until `release`.
        let open = unsafe { <Pin<KBox<T::Open>> as ForeignOwnable>::borrow(p) };
        Ok((node, i, open))
    }

    /// The parts of the file a `seq_file` belongs to.
    ///
    /// # Safety
    ///
    /// `m` must be the live seq_file of a file opened by `open` above.
    unsafe fn seq_parts<'a>(m: *mut bindings::seq_file) -> Result<FileParts<'a, T>> {
        // SAFETY: A seq_file made by `seq_open()` points back at its live file.
        let file = unsafe { (*m).file }.cast_mut();
        // SAFETY: Per the caller.
        unsafe { Self::parts(file) }
    }

    /// `seq_operations.start`: the record at or after `*pos`. The returned token is only
    /// a non-null marker: the record itself is kept in the open file's state.
    ///
    /// # Safety
    ///
    /// Called by `seq_read` with the live seq_file of one of our files, under its lock.
    unsafe extern "C" fn seq_start(m: *mut bindings::seq_file, pos: *mut i64) -> *mut c_void {
        // SAFETY: Per the caller.
        let (node, i, open) = match unsafe { Self::seq_parts(m) } {
            Ok(p) => p,
            Err(e) => return e.to_ptr(),
        };
        // SAFETY: `pos` is valid for this call.
        let Ok(from) = u64::try_from(unsafe { *pos }) else {
            return core::ptr::null_mut();
        };
        match T::seq_seek(node, i, open, from) {
            Ok(Some(key)) => {
                // SAFETY: As above.
                unsafe { *pos = key as i64 };
                m.cast()
            }
            Ok(None) => core::ptr::null_mut(),
            // `seq_read` returns the error of an `ERR_PTR` from `start`/`next`.
            Err(e) => e.to_ptr(),
        }
    }

    /// `seq_operations.next`.
    ///
    /// # Safety
    ///
    /// As for [`Self::seq_start`].
    unsafe extern "C" fn seq_next(
        m: *mut bindings::seq_file,
        _v: *mut c_void,
        pos: *mut i64,
    ) -> *mut c_void {
        // SAFETY: `pos` is valid for this call. `seq_read` wants it advanced even at the end.
        let next = unsafe { *pos } + 1;
        // SAFETY: As above.
        unsafe { *pos = next };
        // SAFETY: Per the caller.
        unsafe { Self::seq_start(m, pos) }
    }

    /// `seq_operations.stop`.
    ///
    /// # Safety
    ///
    /// As for [`Self::seq_start`].
    unsafe extern "C" fn seq_stop(m: *mut bindings::seq_file, _v: *mut c_void) {
        // SAFETY: Per the caller.
        if let Ok((_, _, open)) = unsafe { Self::seq_parts(m) } {
            T::seq_stop(open);
        }
    }

    /// `seq_operations.show`.
    ///
    /// # Safety
    ///
    /// As for [`Self::seq_start`].
    unsafe extern "C" fn seq_show(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
        // SAFETY: Per the caller.
        let (node, i, open) = match unsafe { Self::seq_parts(m) } {
            Ok(p) => p,
            Err(e) => return e.to_errno(),
        };
        // INVARIANT: `m` is the live seq_file of this `show` call.
        let mut out = SeqOut { m, _p: PhantomData };
        match T::seq_show(node, i, open, &mut out) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// `file_operations.write`: a plain `write(2)` of user memory (`.write` rather than
    /// `.write_iter` spares every write the VFS's `kiocb` and `iov_iter` set-up; there is
    /// no asynchronous or vectored write to serve).
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn write(
        file: *mut bindings::file,
        buf: *const c_char,
        count: usize,
        ppos: *mut bindings::loff_t,
    ) -> isize {
        from_result(|| {
            // SAFETY: A live file of ours.
            let (node, i, open) = unsafe { Self::parts(file)? };
            let user = UserSlice::new(UserPtr::from_ptr(buf.cast_mut().cast()), count);
            let mut src = WriteSource {
                reader: user.reader(),
            };
            let n = T::write(node, i, open, &mut src)?;
            if !ppos.is_null() {
                // SAFETY: A non-null `ppos` is the position of this call, ours to update
                // (stream files get NULL).
                unsafe { *ppos += n as i64 };
            }
            Ok(n as isize)
        })
    }
}

impl<T: Tree> NodeOps<T> {
    /// `file_operations.read_iter` of a stream file.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn stream_read_iter(
        iocb: *mut bindings::kiocb,
        iter: *mut bindings::iov_iter,
    ) -> isize {
        from_result(|| {
            // SAFETY: The kiocb of a read on one of our open files.
            let file = unsafe { (*iocb).ki_filp };
            // SAFETY: A live file of ours.
            let (node, i, open) = unsafe { Self::parts(file)? };
            // SAFETY: `f_flags` of a live file; `O_NONBLOCK` may change under `fcntl`, a
            // plain read of it is what the VFS itself does.
            let nonblock = unsafe { (*file).f_flags } & file_flags::O_NONBLOCK != 0;
            // SAFETY: The VFS passes a destination iterator writable for this call.
            let iter = unsafe { IovIterDest::from_raw(iter) };
            let mut dst = ReadSink { iter };
            let n = T::read_stream(node, i, open, &mut dst, nonblock)?;
            Ok(n as isize)
        })
    }

    /// `file_operations.poll` of a stream file.
    ///
    /// # Safety
    ///
    /// Called by the VFS with live arguments of this tree, as the C prototype requires.
    unsafe extern "C" fn poll(
        file: *mut bindings::file,
        table: *mut bindings::poll_table_struct,
    ) -> bindings::__poll_t {
        // SAFETY: A live file of ours.
        let Ok((node, i, open)) = (unsafe { Self::parts(file) }) else {
            return bindings::POLLERR;
        };
        // INVARIANT: The arguments of this call; the open state keeps the scope, and so
        // its buffer, alive until release.
        let reg = PollRegistrar {
            file,
            table,
            _p: PhantomData,
        };
        if T::poll(node, i, open, &reg) {
            bindings::POLLIN | bindings::POLLRDNORM
        } else {
            0
        }
    }
}

/// `err_ptr()` for a dentry-returning callback.
fn err_ptr(e: Error) -> *mut bindings::dentry {
    e.to_errno() as isize as *mut bindings::dentry
}
