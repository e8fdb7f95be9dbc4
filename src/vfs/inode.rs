// SPDX-License-Identifier: GPL-2.0

//! `struct inode`.

use kernel::{bindings, error::code::ENOMEM, prelude::*, types::Opaque};

use super::{Kgid, Kuid};

/// A borrowed `struct inode`.
///
/// # Invariants
///
/// The inner inode is valid (its refcount is held by somebody) for the lifetime of any
/// `&Inode`. This type holds no reference of its own.
#[repr(transparent)]
pub(crate) struct Inode(Opaque<bindings::inode>);

impl Inode {
    /// Creates a reference to an existing inode.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a valid inode that stays valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::inode) -> &'a Inode {
        // SAFETY: `Inode` is a transparent wrapper of `bindings::inode`, and the caller
        // guarantees validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    fn as_ptr(&self) -> *mut bindings::inode {
        self.0.get()
    }

    /// Replaces the permission bits (`S_IALLUGO`) and keeps the file type, like tracefs'
    /// `WRITE_ONCE(inode->i_mode, ...)`: readers may look at `i_mode` concurrently.
    pub(crate) fn set_perm(&self, perm: u16) {
        let p = self.as_ptr();
        // SAFETY: `p` is valid by the type invariant. `i_mode` is read and written with
        // volatile accesses, the Rust counterpart of READ_ONCE/WRITE_ONCE.
        unsafe {
            let mode = core::ptr::addr_of_mut!((*p).i_mode);
            let old = core::ptr::read_volatile(mode);
            let new = (old & !(bindings::S_IALLUGO as u16)) | (perm & bindings::S_IALLUGO as u16);
            core::ptr::write_volatile(mode, new);
        }
    }

    /// Sets the owner.
    pub(crate) fn set_uid(&self, uid: Kuid) {
        // SAFETY: `self.as_ptr()` is valid by the type invariant; a plain word store, as
        // `inode->i_uid = ...` in C.
        unsafe {
            core::ptr::write_volatile(core::ptr::addr_of_mut!((*self.as_ptr()).i_uid), uid.0)
        };
    }

    /// Sets the group.
    pub(crate) fn set_gid(&self, gid: Kgid) {
        // SAFETY: As for `set_uid`.
        unsafe {
            core::ptr::write_volatile(core::ptr::addr_of_mut!((*self.as_ptr()).i_gid), gid.0)
        };
    }
}

/// The kinds of inode eventfs makes, each with the C operation tables it uses.
#[derive(Clone, Copy)]
pub(crate) enum InodeKind {
    /// A directory served by libfs' `simple_dir_*` operations.
    SimpleDir,
}

/// A new inode, not yet attached to a dentry.
///
/// # Invariants
///
/// Holds the one reference `new_inode()` returned; dropping it without
/// [`NewInode::into_raw`] gives that reference back with `iput()`.
pub(crate) struct NewInode(*mut bindings::inode);

impl NewInode {
    /// Allocates an inode of `sb` with its own inode number and the current time.
    pub(crate) fn new(
        sb: *mut bindings::super_block,
        ino: u64,
        kind: InodeKind,
        perm: u16,
        uid: Kuid,
        gid: Kgid,
    ) -> Result<NewInode> {
        // SAFETY: `sb` is a live superblock: the callers are inside `fill_super` or an
        // inode operation of that superblock.
        let p = unsafe { bindings::new_inode(sb) };
        if p.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: `p` carries the reference returned by `new_inode()`.
        let new = NewInode(p);
        // SAFETY: `p` is a new inode that nobody else can see yet, so its fields may be
        // written without synchronisation. The operation tables are statics.
        unsafe {
            (*p).i_ino = ino;
            (*p).i_uid = uid.0;
            (*p).i_gid = gid.0;
            bindings::simple_inode_init_ts(p);
            match kind {
                InodeKind::SimpleDir => {
                    (*p).i_mode = (bindings::S_IFDIR as u16) | (perm & bindings::S_IALLUGO as u16);
                    (*p).i_op = &bindings::simple_dir_inode_operations;
                    (*p).__bindgen_anon_3.i_fop = &bindings::simple_dir_operations;
                }
            }
        }
        Ok(new)
    }

    /// Gives up ownership of the reference, e.g. to `d_make_root()`.
    pub(crate) fn into_raw(self) -> *mut bindings::inode {
        let p = self.0;
        core::mem::forget(self);
        p
    }
}

impl Drop for NewInode {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own one reference to the inode.
        unsafe { bindings::iput(self.0) };
    }
}
