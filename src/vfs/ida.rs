// SPDX-License-Identifier: GPL-2.0

//! `struct ida`: the kernel's allocator of small integer ids, which hands out the lowest
//! free id of a range and takes ids back for reuse (event ids, as tracefs allocates its
//! event types).
//!
//! Who owns what: the [`Ida`] owns the boxed `struct ida` (its xarray's nodes point back
//! at it, so it must not move) and every id it holds; whoever got an id from
//! [`Ida::alloc`] gives it back with [`Ida::free`], or leaves it to the `Ida`'s drop,
//! which frees them all.

use kernel::{bindings, prelude::*, types::Opaque};

/// `IDA_INIT_FLAGS`: `XA_FLAGS_LOCK_IRQ | XA_FLAGS_ALLOC` (the first is a `__force` cast
/// bindgen does not see: `XA_LOCK_IRQ`, 1).
const IDA_INIT_FLAGS: bindings::gfp_t = 1 | bindings::XA_FLAGS_ALLOC;

/// An id allocator.
///
/// # Invariants
///
/// `ida` is an initialised `struct ida`, destroyed only by `drop`.
pub(crate) struct Ida {
    ida: KBox<Opaque<bindings::ida>>,
}

// SAFETY: The IDA takes its own (irq-safe) lock in every operation.
unsafe impl Send for Ida {}
// SAFETY: As above.
unsafe impl Sync for Ida {}

impl Ida {
    /// An empty allocator.
    pub(crate) fn new() -> Result<Ida> {
        let ida = KBox::new(Opaque::<bindings::ida>::uninit(), GFP_KERNEL)?;
        // SAFETY: `ida` is valid for writes and will not move (boxed); `ida_init()` is
        // `xa_init_flags()` of its only field, the xarray, at offset 0.
        unsafe { bindings::xa_init_flags(ida.get().cast::<bindings::xarray>(), IDA_INIT_FLAGS) };
        // INVARIANT: initialised.
        Ok(Ida { ida })
    }

    /// The lowest free id in `min..=max`; `ENOSPC` if there is none, `ENOMEM`.
    pub(crate) fn alloc(&self, min: u32, max: u32) -> Result<u32> {
        // SAFETY: `ida` is initialised (type invariant).
        let r =
            unsafe { bindings::ida_alloc_range(self.ida.get(), min, max, bindings::GFP_KERNEL) };
        if r < 0 {
            return Err(Error::from_errno(r));
        }
        Ok(r as u32)
    }

    /// Gives `id`, from [`Ida::alloc`], back for reuse.
    pub(crate) fn free(&self, id: u32) {
        // SAFETY: `ida` is initialised; `id` was allocated from it and is given back once
        // (freeing an id that is not allocated only warns).
        unsafe { bindings::ida_free(self.ida.get(), id) };
    }
}

impl Drop for Ida {
    fn drop(&mut self) {
        // SAFETY: `ida` is initialised and nobody else can reach it any more.
        unsafe { bindings::ida_destroy(self.ida.get()) };
    }
}
