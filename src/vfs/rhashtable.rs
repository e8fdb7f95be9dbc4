// SPDX-License-Identifier: GPL-2.0

//! `struct rhashtable`: the kernel's resizable hash table with RCU-safe lookups, as an
//! index of counted node references found by key without a lock.
//!
//! Who owns what:
//! - The table lives in a `static` (it never moves) and is set up and torn down by the
//!   module (`init`/`destroy`).
//! - Each object in the table owns one [`RcuArc`] reference, given up by
//!   [`RcuHashTable::insert`]. [`RcuHashTable::remove`] hands it back: if lookups could
//!   have matched the object, the writer drops it only after an SRCU grace period
//!   (lookups run inside SRCU read sections and take their own reference there).
//! - The objects' memory outlives their last reference by an RCU grace period
//!   (`RcuArc`), which covers lookups still walking a hash chain under RCU.

use core::marker::PhantomData;

use kernel::{bindings, ffi::c_int, prelude::*, types::Opaque};

use super::{local_bindings, RcuArc, SrcuGuard};

/// The `struct rhash_head` a [`HashNode`] embeds: the table's link to it.
#[repr(transparent)]
pub(crate) struct HashLink(Opaque<bindings::rhash_head>);

// SAFETY: Only the rhashtable touches the link, under its own locking.
unsafe impl Send for HashLink {}
// SAFETY: As above.
unsafe impl Sync for HashLink {}

impl HashLink {
    /// A link that is in no table.
    pub(crate) const fn new() -> HashLink {
        HashLink(Opaque::zeroed())
    }
}

/// A type whose `RcuArc` objects can sit in an [`RcuHashTable`].
///
/// # Safety
///
/// `HEAD_OFFSET` must be the offset, in the `RcuArc` allocation (see
/// [`RcuArc::VALUE_OFFSET`]), of a [`HashLink`] inside `Self`.
pub(crate) unsafe trait HashNode: Send + Sync + Sized + 'static {
    /// What lookups search by.
    type Key<'a>;
    /// Where the `rhash_head` is, from the start of the `RcuArc` allocation.
    const HEAD_OFFSET: usize;
    /// The hash of a key; `seed` is the table's random seed.
    fn key_hash(key: &Self::Key<'_>, seed: u32) -> u32;
    /// The hash of an object: equal to the hash of every key that [`HashNode::matches`].
    fn hash(&self, seed: u32) -> u32;
    /// Whether the object is the one `key` searches for. Called under RCU from lookups
    /// and inserts: must not sleep.
    fn matches(&self, key: &Self::Key<'_>) -> bool;
}

/// A hash table of counted `T` references.
///
/// `W` is the guard of the writers' lock: inserting and removing take a `&W`.
///
/// # Invariants
///
/// After [`RcuHashTable::init`] and until [`RcuHashTable::destroy`], `ht` is an
/// initialised rhashtable with [`Self::PARAMS`], and every object in it is the allocation
/// of an `RcuArc<T>` whose reference the table owns.
pub(crate) struct RcuHashTable<T: HashNode, W> {
    ht: Opaque<bindings::rhashtable>,
    _p: PhantomData<RcuArc<T>>,
    _w: PhantomData<fn(&W)>,
}

// SAFETY: The rhashtable does its own locking; its objects are `Send + Sync`.
unsafe impl<T: HashNode, W> Sync for RcuHashTable<T, W> {}
// SAFETY: As above.
unsafe impl<T: HashNode, W> Send for RcuHashTable<T, W> {}

impl<T: HashNode, W> RcuHashTable<T, W> {
    /// The table's parameters: variable-length keys through our hash and compare hooks,
    /// and a table that grows and shrinks with its content.
    const PARAMS: bindings::rhashtable_params = bindings::rhashtable_params {
        nelem_hint: 0,
        key_len: 0,
        key_offset: 0,
        head_offset: T::HEAD_OFFSET as u16,
        max_size: 0,
        min_size: 0,
        insecure_elasticity: false,
        automatic_shrinking: true,
        hashfn: Some(Self::key_hashfn),
        obj_hashfn: Some(Self::obj_hashfn),
        obj_cmpfn: Some(Self::obj_cmpfn),
    };

    /// A table to be set up by [`RcuHashTable::init`] before any use.
    pub(crate) const fn uninit() -> Self {
        RcuHashTable {
            ht: Opaque::uninit(),
            _p: PhantomData,
            _w: PhantomData,
        }
    }

    /// Sets the table up.
    ///
    /// # Safety
    ///
    /// Called once, before any other method, on a table that never moves (a `static`).
    pub(crate) unsafe fn init(&self) -> Result {
        // SAFETY: `ht` is valid for writes and will not move, per the caller.
        kernel::error::to_result(unsafe {
            local_bindings::eventfs_helper_rht_init(self.ht.get().cast(), &Self::PARAMS)
        })
    }

    /// Frees the table's buckets.
    ///
    /// # Safety
    ///
    /// The table must be empty and unused from now on (module exit, after `init`).
    pub(crate) unsafe fn destroy(&self) {
        // SAFETY: Initialised and no longer used, per the caller.
        unsafe { local_bindings::rhashtable_destroy(self.ht.get()) };
    }

    fn head(obj: &RcuArc<T>) -> *mut bindings::rhash_head {
        let base = RcuArc::as_raw(obj).cast::<u8>();
        // The head is inside the allocation (trait's safety contract).
        base.wrapping_add(T::HEAD_OFFSET).cast_mut().cast()
    }

    /// Adds `obj` (the table takes over the reference). Several objects may have equal
    /// keys: [`HashNode::matches`] decides which one a lookup finds. On failure
    /// (`ENOMEM`, or `EBUSY` while the table is being resized with too long chains) the
    /// reference comes back.
    pub(crate) fn insert(&self, obj: RcuArc<T>, _w: &W) -> Result<(), (Error, RcuArc<T>)> {
        let head = Self::head(&obj);
        // SAFETY: The table is initialised (type invariant); `head` is the object's own
        // `rhash_head`, not in any table.
        let r = unsafe {
            local_bindings::eventfs_helper_rht_insert(self.ht.get().cast(), head, &Self::PARAMS)
        };
        if r != 0 {
            return Err((Error::from_errno(r), obj));
        }
        // INVARIANT: the table owns the reference now.
        core::mem::forget(obj);
        Ok(())
    }

    /// Removes `obj`, which must be in the table, and returns the table's reference to
    /// it. Never allocates or fails for an object that is in the table.
    pub(crate) fn remove(&self, obj: &RcuArc<T>, _w: &W) -> Option<RcuArc<T>> {
        let head = Self::head(obj);
        // SAFETY: The table is initialised; `head` belongs to an object of this table.
        let r = unsafe {
            local_bindings::eventfs_helper_rht_remove(self.ht.get().cast(), head, &Self::PARAMS)
        };
        if r != 0 {
            return None;
        }
        // SAFETY: The object was in the table, which owned one reference to it and has
        // just let go of the object.
        Some(unsafe { RcuArc::from_raw(RcuArc::as_raw(obj).cast_mut()) })
    }

    /// The object `key` matches, with a new counted reference taken inside the SRCU read
    /// section `_guard` (rule 3).
    pub(crate) fn lookup(&self, key: &T::Key<'_>, _guard: &SrcuGuard) -> Option<RcuArc<T>> {
        let k: *const T::Key<'_> = key;
        // SAFETY: The table is initialised; the lookup takes the RCU read lock itself.
        let p = unsafe {
            local_bindings::eventfs_helper_rht_lookup(self.ht.get().cast(), k.cast(), &Self::PARAMS)
        };
        if p.is_null() {
            return None;
        }
        // SAFETY: An object found in the table keeps the table's reference until an SRCU
        // grace period after its removal, which `_guard` holds off.
        Some(unsafe { RcuArc::clone_raw(p) })
    }

    /// `rhashtable_params.hashfn`.
    ///
    /// # Safety
    ///
    /// Called by the rhashtable with a key pointer that one of our calls passed in.
    unsafe extern "C" fn key_hashfn(data: *const c_void, _len: u32, seed: u32) -> u32 {
        // SAFETY: Per the caller, `data` is a `&T::Key` alive for the call.
        T::key_hash(unsafe { &*data.cast::<T::Key<'_>>() }, seed)
    }

    /// `rhashtable_params.obj_hashfn`.
    ///
    /// # Safety
    ///
    /// Called by the rhashtable with an object of the table (or one being inserted).
    unsafe extern "C" fn obj_hashfn(data: *const c_void, _len: u32, seed: u32) -> u32 {
        // SAFETY: Objects are `RcuArc<T>` allocations, alive while in the table (or under
        // RCU while a lookup walks past them).
        let obj = unsafe { RcuArc::<T>::borrow_raw(data.cast_mut()) };
        obj.hash(seed)
    }

    /// `rhashtable_params.obj_cmpfn`: 0 for a match.
    ///
    /// # Safety
    ///
    /// As for [`Self::obj_hashfn`], with the compare argument of a lookup of ours.
    unsafe extern "C" fn obj_cmpfn(
        arg: *mut bindings::rhashtable_compare_arg,
        obj: *const c_void,
    ) -> c_int {
        // SAFETY: The argument's key is the `&T::Key` our lookup passed in.
        let key = unsafe { &*(*arg).key.cast::<T::Key<'_>>() };
        // SAFETY: As for `obj_hashfn`.
        let obj = unsafe { RcuArc::<T>::borrow_raw(obj.cast_mut()) };
        c_int::from(!obj.matches(key))
    }
}
