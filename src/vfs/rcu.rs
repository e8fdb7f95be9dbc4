// SPDX-License-Identifier: GPL-2.0

//! Lifetimes the VFS imposes on eventfs metadata, as Rust types:
//!
//! - [`RcuArc`]: a reference-counted object whose memory outlives its last reference by
//!   an RCU grace period, because an RCU-walk `d_revalidate` may be reading it through a
//!   dentry that is being killed (rule 4). The count, not the grace period, decides when
//!   the object dies; the grace period only delays the `kfree`.
//! - [`SrcuGuard`]: a read section of the SRCU domain in which readers walk the indexes
//!   (`vfs::xarray`, `vfs::rhashtable`) without the writer mutex; [`Prepared`]: a value
//!   (typically index references a writer removed) dropped only after an SRCU grace
//!   period. SRCU is used to walk, never as a lifetime for anything a reader keeps after
//!   its read section: readers take a counted reference inside it (rule 3).
//! - [`NofsScope`]: allocations under the writer mutex must not recurse into filesystem
//!   reclaim (rule 9).
//!
//! [`barrier`] waits until every object allocated here is freed; the module calls it
//! before unload.

use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::NonNull;

use kernel::{
    bindings,
    prelude::*,
    sync::atomic::{ordering, Atomic},
    sync::Refcount,
    types::Opaque,
};

use super::local_bindings;

/// Allocations of this module whose free is (or will be) deferred to an RCU or SRCU
/// callback: [`RcuArc`] objects and [`Prepared`] values. [`barrier`] waits for zero.
static LIVE: Atomic<i64> = Atomic::new(0);

fn live_inc() {
    LIVE.add(1, ordering::Relaxed);
}

fn live_dec() {
    // Release: everything the freed object did happens before `barrier` sees the count.
    LIVE.fetch_sub(1, ordering::Release);
}

/// The allocation behind an [`RcuArc`]. Aligned to [`RCU_ARC_ALIGN`], so that a pointer
/// to it has free low bits (the VFS layer keeps a file index there).
#[repr(C, align(32))]
struct RcuInner<T> {
    rcu: Opaque<bindings::callback_head>,
    count: Refcount,
    value: T,
}

/// Alignment of every [`RcuArc`] allocation (the address [`RcuArc::as_raw`] gives).
pub(crate) const RCU_ARC_ALIGN: usize = 32;
const _: () = assert!(core::mem::align_of::<RcuInner<u8>>() == RCU_ARC_ALIGN);

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
    /// Where the value is in the allocation that [`RcuArc::into_raw`] points at.
    pub(crate) const VALUE_OFFSET: usize = core::mem::offset_of!(RcuInner<T>, value);

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
        live_inc();
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

    /// A new counted reference to the object behind a raw pointer whose own reference
    /// stays where it is.
    ///
    /// # Safety
    ///
    /// `ptr` must come from `into_raw` of an `RcuArc<T>` whose reference is still held
    /// (by whoever owns the raw pointer) for the duration of the call.
    pub(crate) unsafe fn clone_raw(ptr: *mut c_void) -> Self {
        // SAFETY: Per the caller, `ptr` carries a live reference; we borrow it without
        // taking it over.
        let owner = core::mem::ManuallyDrop::new(unsafe { Self::from_raw(ptr) });
        (*owner).clone()
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
        live_dec();
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
        let idx = unsafe { local_bindings::eventfs_helper_srcu_read_lock() };
        SrcuGuard {
            idx,
            _not_send: PhantomData,
        }
    }
}

impl Drop for SrcuGuard {
    fn drop(&mut self) {
        // SAFETY: `idx` belongs to the section this guard opened, on this task.
        unsafe { local_bindings::eventfs_helper_srcu_read_unlock(self.idx) };
    }
}

#[repr(C)]
struct SrcuNode<T> {
    rcu: Opaque<bindings::callback_head>,
    value: T,
}

/// Frees a node after an SRCU grace period.
///
/// # Safety
///
/// `node` must come from `KBox::leak` of a prepared node, be unreachable for new readers,
/// and not be deferred twice.
unsafe fn defer_free<T>(node: *mut SrcuNode<T>) {
    /// # Safety
    ///
    /// Called by SRCU after a grace period following [`defer_free`].
    unsafe extern "C" fn free<T>(head: *mut bindings::callback_head) {
        // SAFETY: `rcu` is the first field of the leaked `repr(C)` node; no reader is left.
        drop(unsafe { KBox::from_raw(head.cast::<SrcuNode<T>>()) });
        live_dec();
    }
    // SAFETY: `node` is live per the caller; its head is used once.
    let head = unsafe { (*node).rcu.get() };
    // SAFETY: The callback frees the node once no SRCU reader can see it.
    unsafe { local_bindings::eventfs_helper_call_srcu(head.cast(), Some(free::<T>)) };
}

/// A value allocated by [`Prepared::new`] to be retired later, after an SRCU grace period,
/// by an operation that must not fail.
pub(crate) struct Prepared<T>(KBox<SrcuNode<T>>);

impl<T> Prepared<T> {
    /// Drops the value after an SRCU grace period: for references that lockless readers
    /// may still be using (rule 4: the list's reference goes only after the grace period).
    pub(crate) fn drop_after_grace_period(self) {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again: the box moves out exactly once.
        let node = unsafe { core::ptr::read(&this.0) };
        // SAFETY: A prepared node was never published; it is ours to retire, once.
        unsafe { defer_free(KBox::leak(node)) };
    }

    /// The value, still unpublished.
    pub(crate) fn get_mut(&mut self) -> &mut T {
        &mut self.0.value
    }
}

impl<T> Drop for Prepared<T> {
    /// A value that was never handed to [`Prepared::drop_after_grace_period`] (its
    /// operation failed before publishing anything) goes at once.
    fn drop(&mut self) {
        live_dec();
    }
}

impl<T: Send + Sync + 'static> Prepared<T> {
    /// Allocates `value` for a later [`Prepared::drop_after_grace_period`].
    pub(crate) fn new(value: T, flags: kernel::alloc::Flags) -> Result<Self> {
        let node = KBox::new(
            SrcuNode {
                rcu: Opaque::uninit(),
                value,
            },
            flags,
        )?;
        live_inc();
        Ok(Prepared(node))
    }
}

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
        let flags = unsafe { local_bindings::eventfs_helper_memalloc_nofs_save() };
        NofsScope {
            flags,
            _not_send: PhantomData,
        }
    }
}

impl Drop for NofsScope {
    fn drop(&mut self) {
        // SAFETY: `flags` is what the matching save returned on this task.
        unsafe { local_bindings::eventfs_helper_memalloc_nofs_restore(self.flags) };
    }
}

/// Waits until every object whose free this module deferred to an RCU or SRCU callback
/// is gone: the last thing before the module's text goes away.
///
/// Callbacks queue callbacks (freeing a node drops its children's cell, whose list drops
/// references to nodes, and so on), however deep the tree is. So instead of a number of
/// rounds tied to the tree's depth, this waits for the count of live objects to reach
/// zero; every round of barriers runs all callbacks queued before it, so each round makes
/// progress and the loop ends once the last chain has run.
///
/// A count that stays above zero is a leak: after [`BARRIER_ROUNDS`] rounds the function
/// warns (a kernel splat, which fails the tests) instead of hanging `rmmod`.
pub(crate) fn barrier() {
    for _ in 0..BARRIER_ROUNDS {
        // SAFETY: No precondition.
        unsafe { local_bindings::eventfs_helper_srcu_barrier() };
        // SAFETY: No precondition.
        unsafe { bindings::rcu_barrier() };
        // Acquire pairs with the Release of `live_dec`.
        if LIVE.load(ordering::Acquire) == 0 {
            return;
        }
    }
    pr_err!(
        "{} objects still live at unload\n",
        LIVE.load(ordering::Relaxed)
    );
    kernel::warn_on!(true);
}

/// More rounds than any chain of callbacks this module queues can be long.
const BARRIER_ROUNDS: usize = 64;
