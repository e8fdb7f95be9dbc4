// SPDX-License-Identifier: GPL-2.0

//! `struct super_block`.

use core::marker::PhantomData;
use core::pin::Pin;

use kernel::{bindings, types::ForeignOwnable, types::Opaque};

use super::{FileSystem, Inode};

/// A borrowed superblock of filesystem `T`.
///
/// # Invariants
///
/// The superblock is alive for the lifetime of any `&SuperBlock<T>`, belongs to `T`'s
/// filesystem type, and its `s_fs_info` is either null (only inside `fill_super`, before
/// `sget_fc()` handed it over: never observable here) or a `Pin<KBox<T::Info>>` made
/// with `into_foreign()`. That box is owned by the superblock and freed in `kill_sb`
/// (`fs_type.rs`), after every dentry and inode of the superblock is gone.
#[repr(transparent)]
pub(crate) struct SuperBlock<T: FileSystem>(Opaque<bindings::super_block>, PhantomData<T>);

impl<T: FileSystem> SuperBlock<T> {
    /// Creates a reference to a superblock of `T`.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a live superblock of `T` whose `s_fs_info` is set up as the
    /// type invariant says, and it must stay alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::super_block) -> &'a SuperBlock<T> {
        // SAFETY: Transparent wrapper; validity for `'a` is guaranteed by the caller.
        unsafe { &*ptr.cast() }
    }

    /// The raw pointer, for the other wrappers of this module.
    pub(crate) fn as_ptr(&self) -> *mut bindings::super_block {
        self.0.get()
    }

    /// The filesystem's per-superblock data.
    pub(crate) fn info(&self) -> Pin<&T::Info> {
        // SAFETY: By the type invariant `s_fs_info` came from `into_foreign()` of a
        // `Pin<KBox<T::Info>>` that lives as long as the superblock, thus as long as `self`.
        unsafe {
            <Pin<kernel::alloc::KBox<T::Info>> as ForeignOwnable>::borrow(
                (*self.as_ptr()).s_fs_info,
            )
        }
    }

    /// The root directory's inode.
    pub(crate) fn root_inode(&self) -> &Inode {
        // SAFETY: Outside `fill_super` (where no `SuperBlock` is handed out before the root
        // exists) `s_root` is set and pins its positive dentry, hence its inode, until
        // `kill_sb`; `self` borrows the superblock for less than that.
        unsafe { Inode::from_raw((*(*self.as_ptr()).s_root).d_inode) }
    }
}

/// A superblock of `T` inside `fill_super`: its `s_fs_info` is set, its root is not yet.
///
/// # Invariants
///
/// As for [`SuperBlock`], except that `s_root` is still null.
#[repr(transparent)]
pub(crate) struct NewSuperBlock<T: FileSystem>(Opaque<bindings::super_block>, PhantomData<T>);

impl<T: FileSystem> NewSuperBlock<T> {
    /// # Safety
    ///
    /// `ptr` must be the superblock being filled by `fill_super`, with `s_fs_info` set as
    /// [`SuperBlock`] requires, alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::super_block) -> &'a NewSuperBlock<T> {
        // SAFETY: Transparent wrapper; validity for `'a` is guaranteed by the caller.
        unsafe { &*ptr.cast() }
    }

    /// The raw pointer, for `NewInode::new`.
    pub(crate) fn as_ptr(&self) -> *mut bindings::super_block {
        self.0.get()
    }

    /// The filesystem's per-superblock data.
    pub(crate) fn info(&self) -> Pin<&T::Info> {
        // SAFETY: `s_fs_info` is set up as for `SuperBlock::info`, and the superblock
        // outlives `self`.
        unsafe {
            <Pin<kernel::alloc::KBox<T::Info>> as ForeignOwnable>::borrow(
                (*self.as_ptr()).s_fs_info,
            )
        }
    }
}
