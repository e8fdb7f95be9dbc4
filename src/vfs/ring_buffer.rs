// SPDX-License-Identifier: GPL-2.0

//! The kernel's per-CPU lock-free ring buffer (`struct trace_buffer`,
//! `kernel/trace/ring_buffer.c`), which holds the records of a tracing directory.
//!
//! Who owns what:
//! - A [`BufferSlot`] owns the `trace_buffer` it allocated (on first use: an idle instance
//!   costs no buffer) until [`BufferSlot::free`], or its drop, frees it.
//! - [`RingBuffer`] is the buffer itself, only ever borrowed from its slot.
//! - A [`BufferReader`] owns one `ring_buffer_iter` per CPU, freed at its drop; it borrows
//!   the buffer without a lifetime (it sits in an open file), so the slot's owner must not
//!   free the buffer while a reader of it exists (see [`BufferSlot::free`]).

use core::{marker::PhantomData, ptr::NonNull};

use kernel::{
    bindings,
    prelude::*,
    sync::atomic::{ordering, Atomic},
    types::Opaque,
};

use super::local_bindings as lb;

/// `RB_FL_OVERWRITE`: when full, the oldest records make room (tracefs' default mode).
const RB_FL_OVERWRITE: u32 = 1;
/// `RING_BUFFER_ALL_CPUS`.
const ALL_CPUS: c_int = -1;

/// A ring buffer: per-CPU sub-buffers that writers reserve space in without locks, from
/// any context.
#[repr(transparent)]
pub(crate) struct RingBuffer(Opaque<lb::trace_buffer>);

// SAFETY: Every ring buffer operation is safe from any CPU and context; the buffer
// serialises its writers per CPU and its readers with its own locks.
unsafe impl Send for RingBuffer {}
// SAFETY: See above.
unsafe impl Sync for RingBuffer {}

impl RingBuffer {
    fn as_ptr(&self) -> *mut lb::trace_buffer {
        self.0.get()
    }

    /// Writes a record of `len` bytes, which `fill` fills in (it gets them zeroed). Returns
    /// `false` if the buffer took nothing: recording is off, or `len` is larger than
    /// [`RingBuffer::max_record`].
    pub(crate) fn write(&self, len: usize, fill: impl FnOnce(&mut [u8])) -> bool {
        // SAFETY: `self` is a live buffer (type invariant of the slot that lent it).
        let ev = unsafe { lb::ring_buffer_lock_reserve(self.as_ptr(), len as c_ulong) };
        if ev.is_null() {
            return false;
        }
        // SAFETY: `ev` was just reserved with room for `len` bytes of data, which are
        // ours until the commit below; nothing else refers to them.
        let data = unsafe {
            let p = lb::ring_buffer_event_data(ev).cast::<u8>();
            core::ptr::write_bytes(p, 0, len);
            core::slice::from_raw_parts_mut(p, len)
        };
        fill(data);
        // SAFETY: Commits the reservation made above, on the same CPU: preemption stays
        // disabled from `ring_buffer_lock_reserve` to here.
        unsafe { lb::ring_buffer_unlock_commit(self.as_ptr()) };
        true
    }

    /// The largest record the buffer takes.
    pub(crate) fn max_record(&self) -> usize {
        // SAFETY: `self` is a live buffer.
        unsafe { lb::ring_buffer_max_event_size(self.as_ptr()) as usize }
    }

    /// Records in the buffer now, and records written since the last clear (the
    /// difference was overwritten).
    pub(crate) fn counts(&self) -> (u64, u64) {
        // SAFETY: `self` is a live buffer.
        let (entries, overruns) = unsafe {
            (
                lb::ring_buffer_entries(self.as_ptr()),
                lb::ring_buffer_overruns(self.as_ptr()),
            )
        };
        (entries as u64, (entries + overruns) as u64)
    }

    /// Drops every record.
    pub(crate) fn clear(&self) {
        // SAFETY: `self` is a live buffer; resetting waits for writers on each CPU.
        unsafe { lb::ring_buffer_reset(self.as_ptr()) };
    }

    /// Resizes every CPU's part to `bytes` (rounded up to whole sub-buffers).
    pub(crate) fn resize(&self, bytes: usize) -> Result {
        // SAFETY: `self` is a live buffer.
        let r = unsafe { lb::ring_buffer_resize(self.as_ptr(), bytes as c_ulong, ALL_CPUS) };
        if r < 0 {
            return Err(Error::from_errno(r));
        }
        Ok(())
    }

    /// Starts or stops recording; records already there stay (`tracing_on`).
    pub(crate) fn set_recording(&self, on: bool) {
        // SAFETY: `self` is a live buffer.
        unsafe {
            if on {
                lb::ring_buffer_record_on(self.as_ptr());
            } else {
                lb::ring_buffer_record_off(self.as_ptr());
            }
        }
    }
}

/// The data of record `ev`, or `None` for NULL.
///
/// # Safety
///
/// `ev` is NULL or a record the ring buffer keeps valid for the returned lifetime.
unsafe fn event_data<'a>(ev: *mut lb::ring_buffer_event) -> Option<&'a [u8]> {
    if ev.is_null() {
        return None;
    }
    // SAFETY: `ev` is a valid record (caller's duty); its data is
    // `ring_buffer_event_length` bytes long.
    Some(unsafe {
        let len = lb::ring_buffer_event_length(ev) as usize;
        core::slice::from_raw_parts(lb::ring_buffer_event_data(ev).cast::<u8>(), len)
    })
}

/// The ring buffer of a tracing directory, allocated on first use.
///
/// `W` is the guard of the owner's writer lock, which serialises allocation and freeing.
///
/// # Invariants
///
/// `ptr` is NULL or a buffer allocated by [`BufferSlot::get_or_alloc`], owned by the slot;
/// once set it changes only in [`BufferSlot::free`].
pub(crate) struct BufferSlot<W> {
    ptr: Atomic<*mut lb::trace_buffer>,
    _writer: PhantomData<fn(&W)>,
}

impl<W> BufferSlot<W> {
    /// An empty slot: no memory until the first use.
    pub(crate) const fn new() -> Self {
        Self {
            ptr: Atomic::new(core::ptr::null_mut()),
            _writer: PhantomData,
        }
    }

    /// The buffer, if one was allocated. Lock-free.
    pub(crate) fn get(&self) -> Option<&RingBuffer> {
        let p = self.ptr.load(ordering::Acquire);
        // SAFETY: A non-null `ptr` is a live buffer (type invariant) that stays allocated
        // while `self` is borrowed: `free` requires that no such borrow is in use.
        NonNull::new(p).map(|p| unsafe { &*p.as_ptr().cast::<RingBuffer>() })
    }

    /// The buffer, allocated now if there is none yet, `bytes` per CPU, recording or not.
    pub(crate) fn get_or_alloc(
        &self,
        bytes: usize,
        recording: bool,
        _w: &W,
    ) -> Result<&RingBuffer> {
        if let Some(b) = self.get() {
            return Ok(b);
        }
        // SAFETY: No precondition; the helper wraps the `ring_buffer_alloc()` macro.
        let p = unsafe { lb::eventfs_helper_ring_buffer_alloc(bytes as c_ulong, RB_FL_OVERWRITE) };
        if p.is_null() {
            return Err(ENOMEM);
        }
        // Writers are serialised by `W`: nobody stored a buffer since the `get` above.
        self.ptr.store(p, ordering::Release);
        let b = self.get().ok_or(ENOMEM)?;
        b.set_recording(recording);
        Ok(b)
    }

    /// Frees the buffer, if there is one.
    ///
    /// # Safety
    ///
    /// No reference that [`BufferSlot::get`] gave is in use and none will be taken until
    /// this returns, and no [`BufferReader`] of the buffer exists.
    pub(crate) unsafe fn free(&self, _w: &W) {
        let p = self.ptr.xchg(core::ptr::null_mut(), ordering::Acquire);
        if !p.is_null() {
            // SAFETY: `p` was allocated by `ring_buffer_alloc` and is owned by the slot
            // (type invariant); nothing uses it any more (caller's duty).
            unsafe { lb::ring_buffer_free(p) };
        }
    }

    /// A non-consuming reader of every CPU's records, or `None` if there is no buffer.
    ///
    /// The reader borrows the buffer: [`BufferSlot::free`] must not run while it exists.
    pub(crate) fn reader(&self) -> Result<Option<BufferReader>> {
        let Some(b) = self.get() else {
            return Ok(None);
        };
        let mut iters = KVec::new();
        for cpu in 0..kernel::cpu::nr_cpu_ids() {
            // SAFETY: `b` is a live buffer; a CPU outside its mask gives NULL.
            let it = unsafe {
                lb::ring_buffer_read_start(b.as_ptr(), cpu as c_int, bindings::GFP_KERNEL)
            };
            if let Some(it) = NonNull::new(it) {
                let it = CpuIter { cpu, it };
                // On failure, `it` is dropped and finished like those already pushed.
                iters.push(it, GFP_KERNEL)?;
            }
        }
        Ok(Some(BufferReader { iters }))
    }
}

impl<W> Drop for BufferSlot<W> {
    fn drop(&mut self) {
        let p = *self.ptr.get_mut();
        if !p.is_null() {
            // SAFETY: `&mut self`: nothing borrows the slot, so nothing uses its buffer
            // (readers are freed before their slot by its owner).
            unsafe { lb::ring_buffer_free(p) };
        }
    }
}

/// An iterator over one CPU's records.
///
/// # Invariants
///
/// `it` came from `ring_buffer_read_start` and is finished at drop.
struct CpuIter {
    cpu: u32,
    it: NonNull<lb::ring_buffer_iter>,
}

impl Drop for CpuIter {
    fn drop(&mut self) {
        // SAFETY: `it` was started and is not used again (type invariant).
        unsafe { lb::ring_buffer_read_finish(self.it.as_ptr()) };
    }
}

/// A record as a reader sees it.
pub(crate) struct Record<'a> {
    /// The CPU it was written on.
    pub(crate) cpu: u32,
    /// Its timestamp, in ns of the buffer's clock (`trace_clock_local`).
    pub(crate) ts: u64,
    /// Its data: what the writer filled in.
    pub(crate) data: &'a [u8],
}

/// Walks the records of every CPU in timestamp order, without consuming them (`trace`).
/// Writers go on meanwhile; records they overwrite are skipped.
///
/// Not `Sync`: one user at a time (the open file's lock).
pub(crate) struct BufferReader {
    iters: KVec<CpuIter>,
}

// SAFETY: The iterators may be used from any task, one at a time (`&mut self`).
unsafe impl Send for BufferReader {}

impl BufferReader {
    /// The index of the iterator whose next record is the oldest, and its timestamp.
    fn oldest(&mut self) -> Option<(usize, u64)> {
        let mut best: Option<(usize, u64)> = None;
        for (i, c) in self.iters.iter().enumerate() {
            let mut ts = 0u64;
            // SAFETY: `c.it` is a started iterator (invariant of `CpuIter`); `ts` is
            // valid for writes.
            let ev = unsafe { lb::ring_buffer_iter_peek(c.it.as_ptr(), &mut ts) };
            if !ev.is_null() && best.is_none_or(|(_, t)| ts < t) {
                best = Some((i, ts));
            }
        }
        best
    }

    /// The oldest record not yet passed, if any.
    pub(crate) fn peek(&mut self) -> Option<Record<'_>> {
        let (i, _) = self.oldest()?;
        let c = &self.iters[i];
        let mut ts = 0u64;
        // SAFETY: As in `oldest`; the record is copied into the iterator's own buffer,
        // valid until the iterator moves, which needs `&mut self`.
        let data = unsafe { event_data(lb::ring_buffer_iter_peek(c.it.as_ptr(), &mut ts))? };
        Some(Record {
            cpu: c.cpu,
            ts,
            data,
        })
    }

    /// Passes the record [`BufferReader::peek`] gives; whether there was one.
    pub(crate) fn advance(&mut self) -> bool {
        let Some((i, _)) = self.oldest() else {
            return false;
        };
        // SAFETY: A started iterator with a record to pass.
        unsafe { lb::ring_buffer_iter_advance(self.iters[i].it.as_ptr()) };
        true
    }

    /// Goes back to the oldest record.
    pub(crate) fn rewind(&mut self) {
        for c in self.iters.iter() {
            // SAFETY: A started iterator.
            unsafe { lb::ring_buffer_iter_reset(c.it.as_ptr()) };
        }
    }
}
