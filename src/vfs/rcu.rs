// SPDX-License-Identifier: GPL-2.0

//! Lifetimes the VFS imposes on eventfs metadata, as Rust types:
//!
//! - [`RcuArc`]: a reference-counted object whose memory outlives its last reference by
//!   an RCU grace period, because an RCU-walk `d_revalidate` may be reading it through a
//!   dentry that is being killed (docs/RULES.md rule 4). The count, not the grace period,
//!   decides when the object dies; the grace period only delays the `kfree`.
//! - [`SrcuCell`]: a pointer to an immutable value that writers replace under their own
//!   lock and readers load inside an SRCU read section ([`SrcuGuard`]); the replaced
//!   value is dropped after an SRCU grace period. SRCU is used to walk, never as a
//!   lifetime for anything a reader keeps after its read section (docs/RULES.md rule 3).
//! - [`NofsScope`]: allocations under the writer mutex must not recurse into filesystem
//!   reclaim (docs/RULES.md rule 9).
//!
//! [`barrier`] waits for every callback queued here; the module calls it before unload.

use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::{bindings, prelude::*, sync::Refcount, types::Opaque};

use super::fsb;

/// The allocation behind an [`RcuArc`].
#[repr(C)]
struct RcuInner<T> {
    rcu: Opaque<bindings::callback_head>,
    count: Refcount,
    value: T,
}

/// A counted reference to a `T` whose memory is freed an RCU grace period after the
/// last reference is dropped.
///
/// # Invariants
///
/// `ptr` points at a live `RcuInner<T>` made by [`RcuArc::new`], and this value owns one
/// of its counted references. The `rcu` head is used exactly once, when the count
/// reaches zero.
pub(crate) struct RcuArc<T: Send + Sync + 'static> {
    ptr: NonNull<RcuInner<T>>,
    _p: PhantomData<RcuInner<T>>,
}

// `RcuArc` is a pointer: moving it never moves the object.
impl<T: Send + Sync + 'static> Unpin for RcuArc<T> {}

// SAFETY: `RcuArc<T>` gives shared access to a `T: Sync` from any thread and drops it on
// an arbitrary thread (the RCU callback), which `T: Send` allows.
unsafe impl<T: Send + Sync + 'static> Send for RcuArc<T> {}
// SAFETY: As above.
unsafe impl<T: Send + Sync + 'static> Sync for RcuArc<T> {}

impl<T: Send + Sync + 'static> RcuArc<T> {
    /// Allocates `value` with a count of one.
    pub(crate) fn new(value: T, flags: kernel::alloc::Flags) -> Result<Self> {
        let inner = KBox::new(
            RcuInner {
                rcu: Opaque::uninit(),
                count: Refcount::new(1),
                value,
            },
            flags,
        )?;
        // INVARIANT: a new allocation with one reference, owned by the result.
        Ok(RcuArc {
            ptr: NonNull::from(KBox::leak(inner)),
            _p: PhantomData,
        })
    }

    /// Gives up this reference as a raw pointer, e.g. for `dentry->d_fsdata`.
    pub(crate) fn into_raw(self) -> *mut c_void {
        let p = self.ptr.as_ptr();
        core::mem::forget(self);
        p.cast()
    }

    /// Takes back a reference given up by [`RcuArc::into_raw`].
    ///
    /// # Safety
    ///
    /// `ptr` must come from `into_raw` of an `RcuArc<T>`, and its reference must not have
    /// been taken back before.
    pub(crate) unsafe fn from_raw(ptr: *mut c_void) -> Self {
        // INVARIANT: the caller hands us the reference `into_raw` gave up.
        RcuArc {
            // SAFETY: `into_raw` never returns null.
            ptr: unsafe { NonNull::new_unchecked(ptr.cast()) },
            _p: PhantomData,
        }
    }

    /// Borrows the object behind a raw pointer without taking a reference.
    ///
    /// # Safety
    ///
    /// `ptr` must come from `into_raw` of an `RcuArc<T>`, and for `'a` the caller must
    /// either hold a reference that keeps it alive, or be inside an RCU read section
    /// that began while a reference was held (the memory then outlives the section).
    pub(crate) unsafe fn borrow_raw<'a>(ptr: *mut c_void) -> &'a T {
        // SAFETY: Valid for `'a` per the caller; `value` is never mutated through a
        // shared reference except by its own interior mutability.
        unsafe { &(*ptr.cast::<RcuInner<T>>()).value }
    }

    /// A stable address for the object, e.g. to compare with a raw pointer.
    pub(crate) fn as_raw(this: &Self) -> *const c_void {
        this.ptr.as_ptr().cast()
    }

    /// # Safety
    ///
    /// Called by RCU once a grace period has passed after the last reference was dropped.
    unsafe extern "C" fn free(head: *mut bindings::callback_head) {
        // `rcu` is the first field of the `repr(C)` `RcuInner`.
        let inner = head.cast::<RcuInner<T>>();
        // SAFETY: The allocation came from `KBox::leak` in `new`, its count is zero and
        // the grace period guarantees no reader is left.
        drop(unsafe { KBox::from_raw(inner) });
    }
}

impl<T: Send + Sync + 'static> Clone for RcuArc<T> {
    fn clone(&self) -> Self {
        // SAFETY: `ptr` is live by the type invariant.
        unsafe { self.ptr.as_ref() }.count.inc();
        // INVARIANT: the count was just incremented for the new value.
        RcuArc {
            ptr: self.ptr,
            _p: PhantomData,
        }
    }
}

impl<T: Send + Sync + 'static> Deref for RcuArc<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `ptr` is live while we hold our reference.
        unsafe { &self.ptr.as_ref().value }
    }
}

impl<T: Send + Sync + 'static> Drop for RcuArc<T> {
    fn drop(&mut self) {
        // SAFETY: `ptr` is live; we own one reference.
        let inner = unsafe { self.ptr.as_ref() };
        if inner.count.dec_and_test() {
            // SAFETY: The last reference is gone, so the head is unused; the callback
            // frees the allocation after an RCU grace period.
            unsafe { bindings::call_rcu(inner.rcu.get(), Some(Self::free)) };
        }
    }
}

/// An SRCU read section of the eventfs SRCU domain.
///
/// # Invariants
///
/// `idx` is the value `srcu_read_lock()` returned for this section, which ends on drop.
pub(crate) struct SrcuGuard {
    idx: i32,
    _not_send: PhantomData<*mut ()>,
}

impl SrcuGuard {
    /// Enters a read section.
    pub(crate) fn new() -> SrcuGuard {
        // SAFETY: Entering an SRCU read section has no precondition.
        let idx = unsafe { fsb::eventfs_helper_srcu_read_lock() };
        SrcuGuard {
            idx,
            _not_send: PhantomData,
        }
    }
}

impl Drop for SrcuGuard {
    fn drop(&mut self) {
        // SAFETY: `idx` belongs to the section this guard opened, on this task.
        unsafe { fsb::eventfs_helper_srcu_read_unlock(self.idx) };
    }
}

#[repr(C)]
struct SrcuNode<T> {
    rcu: Opaque<bindings::callback_head>,
    value: T,
}

/// A pointer to an immutable `T`, replaced by writers and read under SRCU.
///
/// # Invariants
///
/// `ptr` always points at a live `SrcuNode<T>` made by `KBox::leak`. A node that was
/// replaced is freed only after an SRCU grace period, so a reader's `&T` stays valid for
/// its read section.
pub(crate) struct SrcuCell<T: Send + Sync + 'static> {
    ptr: AtomicPtr<SrcuNode<T>>,
}

impl<T: Send + Sync + 'static> SrcuCell<T> {
    /// A cell holding `value`.
    pub(crate) fn new(value: T, flags: kernel::alloc::Flags) -> Result<Self> {
        let node = Self::prepare(value, flags)?;
        Ok(SrcuCell {
            ptr: AtomicPtr::new(KBox::leak(node.0)),
        })
    }

    /// The current value, valid for the read section.
    pub(crate) fn read<'a>(&'a self, _guard: &'a SrcuGuard) -> &'a T {
        // Acquire pairs with the Release in `replace` (rcu_dereference).
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: `p` is live, and a replaced node is freed only after the grace period
        // that `_guard`'s section holds off.
        unsafe { &(*p).value }
    }

    /// The current value, for a writer that serialises all `replace` calls with its own
    /// lock (the value cannot be freed while the writer holds it).
    pub(crate) fn read_locked(&self) -> &T {
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: Only `replace` retires a node, and the caller excludes it.
        unsafe { &(*p).value }
    }

    /// Allocates the node for a later [`SrcuCell::replace`], so that the replacement
    /// itself cannot fail.
    pub(crate) fn prepare(value: T, flags: kernel::alloc::Flags) -> Result<Prepared<T>> {
        let node = KBox::new(
            SrcuNode {
                rcu: Opaque::uninit(),
                value,
            },
            flags,
        )?;
        Ok(Prepared(node))
    }

    /// Publishes `new`; the old value is dropped after an SRCU grace period. Callers must
    /// serialise `replace` (the eventfs writer mutex).
    pub(crate) fn replace(&self, new: Prepared<T>) {
        let old = self.ptr.swap(KBox::leak(new.0), Ordering::AcqRel);
        // SAFETY: `old` was published and is now unreachable for new readers; the
        // callback frees it after the SRCU grace period.
        unsafe { fsb::eventfs_helper_call_srcu((*old).rcu.get().cast(), Some(Self::free)) };
    }

    /// # Safety
    ///
    /// Called by SRCU after a grace period following `replace`.
    unsafe extern "C" fn free(head: *mut bindings::callback_head) {
        // SAFETY: `rcu` is the first field of the leaked `repr(C)` node; no reader is left.
        drop(unsafe { KBox::from_raw(head.cast::<SrcuNode<T>>()) });
    }
}

impl<T: Send + Sync + 'static> Drop for SrcuCell<T> {
    fn drop(&mut self) {
        // Dropping the cell means its owner is unreachable: readers that could still see
        // the current node hold SRCU, so defer it as a replacement would.
        let old = *self.ptr.get_mut();
        // SAFETY: As in `replace`.
        unsafe { fsb::eventfs_helper_call_srcu((*old).rcu.get().cast(), Some(Self::free)) };
    }
}

/// A node allocated by [`SrcuCell::prepare`], waiting to be published.
pub(crate) struct Prepared<T>(KBox<SrcuNode<T>>);

/// Allocations inside this scope do not recurse into filesystem reclaim
/// (`memalloc_nofs_save()`), so they are safe under a lock that reclaim could need.
pub(crate) struct NofsScope {
    flags: u32,
    _not_send: PhantomData<*mut ()>,
}

impl NofsScope {
    /// Enters the scope.
    pub(crate) fn new() -> NofsScope {
        // SAFETY: No precondition; restored on drop by this task.
        let flags = unsafe { fsb::eventfs_helper_memalloc_nofs_save() };
        NofsScope {
            flags,
            _not_send: PhantomData,
        }
    }
}

impl Drop for NofsScope {
    fn drop(&mut self) {
        // SAFETY: `flags` is what the matching save returned on this task.
        unsafe { fsb::eventfs_helper_memalloc_nofs_restore(self.flags) };
    }
}

/// Waits until every SRCU and RCU callback queued by this module has run: the last thing
/// before the module's text goes away.
///
/// Callbacks queue callbacks: freeing a node (RCU) drops its children cell (SRCU), whose
/// list drops references to nodes (RCU), and so on down the tree. One round of
/// barriers per level of the tree drains it; `depth` is the tree's height.
pub(crate) fn barrier(depth: usize) {
    for _ in 0..=depth {
        // SAFETY: No precondition.
        unsafe {
            fsb::eventfs_helper_srcu_barrier();
            bindings::rcu_barrier();
        }
    }
}
