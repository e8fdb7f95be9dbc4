// SPDX-License-Identifier: GPL-2.0

//! `struct inode`.

use kernel::{bindings, types::Opaque};

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
