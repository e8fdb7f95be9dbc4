// SPDX-License-Identifier: GPL-2.0

//! `struct xarray` as an index of counted node references that lockless readers walk
//! under SRCU (the kernel crate's `XArray` only reads under the array's spin lock).
//!
//! Who owns what:
//! - Each present entry owns one [`RcuArc`] reference, given up with `into_raw` when it
//!   is stored. [`RcuXArray::erase`] hands that reference back to the writer, who must
//!   drop it only after an SRCU grace period (readers may still be using the entry:
//!   `Prepared::drop_after_grace_period`).
//! - Reserved slots ([`RcuXArray::reserve`]) hold no reference; they let a later
//!   [`RcuXArray::store_reserved`] publish without allocating, so a commit cannot fail.
//! - The `xarray` itself is boxed (its nodes point back at it, so it must not move) and
//!   owned by the `RcuXArray`.

use core::marker::PhantomData;

use kernel::{bindings, prelude::*, types::Opaque};

use super::{local_bindings, RcuArc, SrcuGuard};

/// `XA_PRESENT` of `linux/xarray.h` (a `__force` cast bindgen does not see).
const XA_PRESENT: bindings::xa_mark_t = 8;

/// Whether `entry` is one of the xarray's internal entries (a reserved slot shows as
/// `XA_ZERO_ENTRY`): `xa_is_internal()`.
fn is_internal(entry: *mut c_void) -> bool {
    entry as usize & 3 == 2
}

/// `xa_is_err()`: an internal entry encoding an errno (`xa_mk_internal(-errno)`).
fn is_err(entry: *mut c_void) -> bool {
    is_internal(entry) && entry as usize >= ((-4095isize << 2) | 2) as usize
}

/// `XA_RETRY_ENTRY` (`xa_mk_internal(256)`): a reader raced with a node being freed.
const XA_RETRY_ENTRY: usize = (256 << 2) | 2;

/// `XAS_RESTART`: a cursor that has not walked yet.
const XAS_RESTART: *mut bindings::xa_node = core::ptr::without_provenance_mut(3);

/// `xa_load()`, answering an empty array (no entry, no reservation: most of the ones a
/// record writer looks in) from its head pointer without the walk, as `xa_empty()` reads
/// it (`READ_ONCE(xa->xa_head)`). An answer that races with a writer is either state's,
/// as the walk's would be.
///
/// # Safety
///
/// `xa` is an initialised xarray.
unsafe fn load(xa: *mut bindings::xarray, index: usize) -> *mut c_void {
    // SAFETY: `xa` is valid (per the caller); a volatile read of the head pointer is the
    // `READ_ONCE()` that `xa_empty()` does.
    if unsafe { core::ptr::read_volatile(&raw const (*xa).xa_head) }.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: As above; `xa_load` takes the RCU read lock.
    unsafe { bindings::xa_load(xa, index) }
}

/// An index from `usize` to counted references of `T`, read without locks under SRCU.
///
/// `W` is the guard of the writers' lock: every method that changes
/// the array takes a `&W`.
///
/// # Invariants
///
/// `xa` is an initialised xarray; every non-internal entry is a pointer from
/// `RcuArc::<T>::into_raw` whose reference the array owns, and an erased entry's
/// reference is retired only after an SRCU grace period (the writer's duty, see
/// [`RcuXArray::erase`]), so a pointer read under [`SrcuGuard`] stays valid for the
/// guard's section.
pub(crate) struct RcuXArray<T: Send + Sync + 'static, W> {
    xa: KBox<Opaque<bindings::xarray>>,
    _entries: PhantomData<RcuArc<T>>,
    _writer: PhantomData<fn(&W)>,
}

// SAFETY: The xarray is internally locked for writers and RCU-safe for readers; the
// entries are `RcuArc<T>`, which are `Send + Sync`.
unsafe impl<T: Send + Sync + 'static, W> Send for RcuXArray<T, W> {}
// SAFETY: As above.
unsafe impl<T: Send + Sync + 'static, W> Sync for RcuXArray<T, W> {}

impl<T: Send + Sync + 'static, W> RcuXArray<T, W> {
    /// An empty array.
    pub(crate) fn new() -> Result<Self> {
        let xa = KBox::new(Opaque::<bindings::xarray>::uninit(), GFP_KERNEL)?;
        // SAFETY: `xa` is valid for writes and will not move (boxed).
        unsafe { bindings::xa_init_flags(xa.get(), 0) };
        // INVARIANT: initialised and empty.
        Ok(RcuXArray {
            xa,
            _entries: PhantomData,
            _writer: PhantomData,
        })
    }

    fn raw(&self) -> *mut bindings::xarray {
        self.xa.get()
    }

    /// Reserves slot `index` for a later [`RcuXArray::store_reserved`] (allocating the
    /// array's nodes now, with `GFP_KERNEL`). Fails with `EBUSY` if the slot is in use.
    pub(crate) fn reserve(&self, index: usize, _w: &W) -> Result {
        // SAFETY: `raw()` is an initialised xarray.
        let r = unsafe {
            local_bindings::eventfs_helper_xa_reserve(self.raw(), index, bindings::GFP_KERNEL)
        };
        kernel::error::to_result(r)
    }

    /// Gives back a reservation that was not used.
    pub(crate) fn release(&self, index: usize, _w: &W) {
        // SAFETY: `raw()` is an initialised xarray; releasing only clears a reserved slot.
        unsafe { local_bindings::eventfs_helper_xa_release(self.raw(), index) };
    }

    /// Publishes `value` in slot `index`, which must have been reserved: this does not
    /// allocate and cannot fail.
    pub(crate) fn store_reserved(&self, index: usize, value: RcuArc<T>, _w: &W) {
        let p = value.into_raw();
        // SAFETY: `raw()` is an initialised xarray and `p` a pointer-aligned, non-internal
        // entry. A reserved slot needs no allocation, so `GFP_NOWAIT` cannot fail here.
        let old = unsafe { bindings::xa_store(self.raw(), index, p, bindings::GFP_NOWAIT) };
        if !old.is_null() {
            // Not reserved after all: a bug of the caller. Keep the array's invariant (the
            // old value is either an error, with nothing stored, or a zero entry).
            kernel::warn_on!(!is_internal(old));
        }
    }

    /// Stores `value` at `index`, in place of what was there; returns the reference of the
    /// entry it replaced, which the caller must drop only after an SRCU grace period.
    /// May allocate (a slot that was never used): the writer's lock must allow sleeping.
    pub(crate) fn store(
        &self,
        index: usize,
        value: RcuArc<T>,
        _w: &W,
    ) -> Result<Option<RcuArc<T>>> {
        let p = value.into_raw();
        // SAFETY: `raw()` is an initialised xarray and `p` a pointer-aligned, non-internal
        // entry.
        let old = unsafe { bindings::xa_store(self.raw(), index, p, bindings::GFP_KERNEL) };
        if is_err(old) {
            // Nothing was stored: the reference is ours again.
            // SAFETY: `p` came from `into_raw` above and the array did not take it.
            drop(unsafe { RcuArc::<T>::from_raw(p) });
            return Err(ENOMEM);
        }
        if old.is_null() || is_internal(old) {
            return Ok(None);
        }
        // SAFETY: A present entry is a reference owned by the array (type invariant),
        // which the store just handed to us.
        Ok(Some(unsafe { RcuArc::from_raw(old) }))
    }

    /// Removes the entry at `index` and returns its reference, which the caller must drop
    /// only after an SRCU grace period. Never allocates.
    pub(crate) fn erase(&self, index: usize, _w: &W) -> Option<RcuArc<T>> {
        // SAFETY: `raw()` is an initialised xarray.
        let p = unsafe { bindings::xa_erase(self.raw(), index) };
        if p.is_null() || is_internal(p) {
            return None;
        }
        // SAFETY: A present entry is a reference owned by the array (type invariant),
        // which the erase just handed to us.
        Some(unsafe { RcuArc::from_raw(p) })
    }

    /// The first present entry at an index `>= from`, as the raw pointer the array owns.
    fn find_raw(&self, from: usize) -> Option<(usize, *mut c_void)> {
        let mut index = from;
        loop {
            // SAFETY: `raw()` is an initialised xarray; `xa_find` takes the RCU read lock.
            let p = unsafe { bindings::xa_find(self.raw(), &mut index, usize::MAX, XA_PRESENT) };
            if p.is_null() {
                return None;
            }
            if !is_internal(p) {
                return Some((index, p));
            }
            // A reserved slot: look further.
            index = index.checked_add(1)?;
        }
    }

    /// Whether an entry is present at `index` (a reserved slot is not). Lock-free; takes
    /// no reference.
    pub(crate) fn contains(&self, index: usize) -> bool {
        // SAFETY: `raw()` is an initialised xarray; `load` reads under RCU, and gives
        // NULL for a reserved slot.
        let p = unsafe { load(self.raw(), index) };
        !p.is_null() && !is_internal(p)
    }

    /// The entry at `index`, borrowed for the RCU read section `_rcu`: for readers that
    /// cannot enter the SRCU domain, such as a probe handler (which runs like an NMI,
    /// where SRCU readers are not allowed). Sound because an entry's memory goes only an
    /// RCU grace period after its last reference is dropped (`RcuArc`), whoever erased
    /// it and whenever.
    pub(crate) fn load_rcu<'a>(
        &'a self,
        index: usize,
        _rcu: &'a kernel::sync::rcu::Guard,
    ) -> Option<&'a T> {
        // SAFETY: `raw()` is an initialised xarray; `load` reads under RCU, and gives
        // NULL for a reserved slot.
        let p = unsafe { load(self.raw(), index) };
        if p.is_null() || is_internal(p) {
            return None;
        }
        // SAFETY: A present entry of the array, whose memory outlives `_rcu` (above).
        Some(unsafe { RcuArc::<T>::borrow_raw(p) })
    }

    /// Calls `f` with every present entry, in index order, borrowed for the RCU read
    /// section `_rcu` (see [`RcuXArray::load_rcu`]), until `f` returns false.
    pub(crate) fn walk_rcu<'a>(
        &'a self,
        _rcu: &'a kernel::sync::rcu::Guard,
        mut f: impl FnMut(&'a T) -> bool,
    ) {
        let mut from = 0;
        while let Some((index, p)) = self.find_raw(from) {
            // SAFETY: As in `load_rcu`.
            if !f(unsafe { RcuArc::<T>::borrow_raw(p) }) {
                return;
            }
            match index.checked_add(1) {
                Some(next) => from = next,
                None => return,
            }
        }
    }

    /// Calls `f` with every present entry at an index `>= from`, in index order, borrowed
    /// for the SRCU read section `_guard`, until `f` returns false; returns whether the
    /// walk reached the end.
    ///
    /// The array is walked with one cursor (`xas_find`), a batch of entries at a time
    /// under the RCU read lock, instead of one descent from the root per entry; `f` runs
    /// outside the RCU read lock (it may fault, as `dir_emit` does).
    pub(crate) fn walk_in<'a>(
        &'a self,
        from: usize,
        _guard: &'a SrcuGuard,
        mut f: impl FnMut(usize, &'a T) -> bool,
    ) -> bool {
        const BATCH: usize = 32;
        let mut next = from;
        loop {
            let mut batch = [(0usize, core::ptr::null_mut::<c_void>()); BATCH];
            let mut n = 0;
            let mut done = false;
            {
                let _rcu = kernel::sync::rcu::read_lock();
                // SAFETY: `xa_state` is plain data (pointers, integers, an optional fn
                // pointer), for which all zeroes is a valid value.
                let mut xas: bindings::xa_state = unsafe { core::mem::zeroed() };
                // `XA_STATE(xas, xa, next)`.
                xas.xa = self.raw();
                xas.xa_index = next;
                xas.xa_node = XAS_RESTART;
                while n < BATCH {
                    // SAFETY: `xas` is a valid cursor over an initialised xarray, used
                    // under the RCU read lock.
                    let p = unsafe { bindings::xas_find(&mut xas, usize::MAX) };
                    if p.is_null() {
                        done = true;
                        break;
                    }
                    if p as usize == XA_RETRY_ENTRY {
                        // A node changed under us: start again from the same index.
                        xas.xa_node = XAS_RESTART;
                        continue;
                    }
                    if !is_internal(p) {
                        batch[n] = (xas.xa_index, p);
                        n += 1;
                    }
                }
                if let Some(&(last, _)) = batch[..n].last() {
                    next = last + 1;
                }
            }
            for &(index, p) in &batch[..n] {
                // SAFETY: A present entry's reference is retired only after an SRCU grace
                // period, which `_guard` holds off for `'a` (type invariant).
                if !f(index, unsafe { RcuArc::<T>::borrow_raw(p) }) {
                    return false;
                }
            }
            if done || next == 0 {
                return true;
            }
        }
    }

    /// The first present entry at an index `>= from`: its index and a new counted
    /// reference to it, taken inside the SRCU read section `_guard` (rule 3), for a caller
    /// that keeps it beyond the section.
    pub(crate) fn find(&self, from: usize, _guard: &SrcuGuard) -> Option<(usize, RcuArc<T>)> {
        let (index, p) = self.find_raw(from)?;
        // SAFETY: As in `walk_in`, the array's reference is alive, so cloning it is sound.
        Some((index, unsafe { RcuArc::<T>::clone_raw(p) }))
    }

    /// The entry at `index` exactly, as [`RcuXArray::find`] takes it.
    pub(crate) fn get(&self, index: usize, guard: &SrcuGuard) -> Option<RcuArc<T>> {
        match self.find(index, guard) {
            Some((key, v)) if key == index => Some(v),
            _ => None,
        }
    }

    /// Removes every entry and drops its reference at once: for an owner whose readers
    /// are all gone (no grace period is waited for).
    pub(crate) fn clear_unread(&self, w: &W) {
        while let Some((index, _)) = self.find_raw(0) {
            drop(self.erase(index, w));
        }
    }
}

impl<T: Send + Sync + 'static, W> Drop for RcuXArray<T, W> {
    fn drop(&mut self) {
        // The array goes with its owner, possibly in an RCU callback (softirq), where its
        // lock must not be taken (it is taken with softirqs enabled elsewhere). Owners
        // empty their arrays before letting go of them, and an empty xarray holds no
        // memory, so there is nothing to destroy; entries left would be a leak.
        // SAFETY: Reading the head word of an initialised xarray nobody else can reach.
        let head = unsafe { (*self.raw()).xa_head };
        kernel::warn_on!(!head.is_null());
    }
}

/// A set of indexes (`struct xarray` of value entries), read without locks: which events
/// an instance has enabled. Holds no references, so an index can go at once.
///
/// `W` is the guard of the writers' lock: every method that changes the set takes a `&W`.
///
/// # Invariants
///
/// `xa` is an initialised xarray whose entries are all value entries.
pub(crate) struct XSet<W> {
    xa: KBox<Opaque<bindings::xarray>>,
    _writer: PhantomData<fn(&W)>,
}

// SAFETY: The xarray is internally locked for writers and RCU-safe for readers.
unsafe impl<W> Send for XSet<W> {}
// SAFETY: As above.
unsafe impl<W> Sync for XSet<W> {}

/// `xa_mk_value(0)`: the one value every member of an [`XSet`] holds.
const MEMBER: usize = 1;

impl<W> XSet<W> {
    /// An empty set.
    pub(crate) fn new() -> Result<Self> {
        let xa = KBox::new(Opaque::<bindings::xarray>::uninit(), GFP_KERNEL)?;
        // SAFETY: `xa` is valid for writes and will not move (boxed).
        unsafe { bindings::xa_init_flags(xa.get(), 0) };
        // INVARIANT: initialised and empty.
        Ok(XSet {
            xa,
            _writer: PhantomData,
        })
    }

    fn raw(&self) -> *mut bindings::xarray {
        self.xa.get()
    }

    /// Whether `index` is in the set. Lock-free (`load` reads under RCU).
    pub(crate) fn contains(&self, index: usize) -> bool {
        // SAFETY: `raw()` is an initialised xarray.
        !unsafe { load(self.raw(), index) }.is_null()
    }

    /// Adds `index`; returns whether it was new. May allocate (`GFP_KERNEL`).
    pub(crate) fn insert(&self, index: usize, _w: &W) -> Result<bool> {
        if self.contains(index) {
            return Ok(false);
        }
        // SAFETY: `raw()` is an initialised xarray; `MEMBER` is a value entry.
        let old = unsafe {
            bindings::xa_store(
                self.raw(),
                index,
                MEMBER as *mut c_void,
                bindings::GFP_KERNEL,
            )
        };
        if is_err(old) {
            return Err(ENOMEM);
        }
        Ok(true)
    }

    /// Makes room for a later [`XSet::insert`] of `index`, which then cannot fail
    /// (`xa_reserve`, `GFP_KERNEL`). Nothing to do for a member.
    pub(crate) fn reserve(&self, index: usize, _w: &W) -> Result {
        if self.contains(index) {
            return Ok(());
        }
        // SAFETY: `raw()` is an initialised xarray.
        let r = unsafe {
            local_bindings::eventfs_helper_xa_reserve(self.raw(), index, bindings::GFP_KERNEL)
        };
        kernel::error::to_result(r)
    }

    /// Gives back a reservation of `index` that was not used (a member stays).
    pub(crate) fn release(&self, index: usize, _w: &W) {
        // SAFETY: `raw()` is an initialised xarray; releasing only clears a reserved slot.
        unsafe { local_bindings::eventfs_helper_xa_release(self.raw(), index) };
    }

    /// Removes `index`; returns whether it was there. Never allocates.
    pub(crate) fn remove(&self, index: usize, _w: &W) -> bool {
        // SAFETY: `raw()` is an initialised xarray.
        let old = unsafe { bindings::xa_erase(self.raw(), index) };
        !old.is_null()
    }

    /// Calls `f` with every member (writer side: the set does not change meanwhile).
    pub(crate) fn for_each(&self, _w: &W, mut f: impl FnMut(usize)) {
        let mut index = 0usize;
        loop {
            // SAFETY: `raw()` is an initialised xarray; `xa_find` takes the RCU read lock.
            let p = unsafe { bindings::xa_find(self.raw(), &mut index, usize::MAX, XA_PRESENT) };
            if p.is_null() {
                return;
            }
            f(index);
            match index.checked_add(1) {
                Some(i) => index = i,
                None => return,
            }
        }
    }
}

impl<W> Drop for XSet<W> {
    fn drop(&mut self) {
        // As for `RcuXArray`: owners empty the set first (it may go in an RCU callback,
        // where its lock must not be taken); an empty xarray holds no memory.
        // SAFETY: Reading the head word of an initialised xarray nobody else can reach.
        let head = unsafe { (*self.raw()).xa_head };
        kernel::warn_on!(!head.is_null());
    }
}
