// SPDX-License-Identifier: GPL-2.0

//! The kernel's per-CPU lock-free ring buffer (`struct trace_buffer`,
//! `kernel/trace/ring_buffer.c`), which holds the records of a tracing directory.
//!
//! Who owns what:
//! - A [`BufferSlot`] owns the [`Buffer`] it allocated (on first use: an idle instance
//!   costs no buffer) until [`BufferSlot::free`], or its drop, frees it.
//! - A [`Buffer`] owns the `trace_buffer` and the wait queue of its `trace_pipe` readers.
//! - [`RingBuffer`] is the `trace_buffer` itself, only ever borrowed from its `Buffer`.
//! - A [`BufferReader`] owns one `ring_buffer_iter` per CPU, freed at its drop; it borrows
//!   the buffer without a lifetime (it sits in an open file), so the slot's owner must not
//!   free the buffer while a reader of it exists (see [`BufferSlot::free`]).

use core::{marker::PhantomData, pin::Pin, ptr::NonNull};

use kernel::{
    bindings, new_mutex,
    prelude::*,
    sync::atomic::{ordering, Atomic},
    sync::Mutex,
    types::Opaque,
};

use super::{local_bindings as lb, Waiters};

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

    /// Writes a record of `len` bytes, which `fill` fills in (it gets them zeroed), and
    /// commits it only if `keep` accepts it once filled; else its room is given back
    /// (`ring_buffer_discard_commit`), so a filtered record costs no buffer space.
    /// Returns whether a record was kept: `false` also if recording is off or `len` is
    /// larger than [`RingBuffer::max_record`]. Callable in any context, NMI included.
    pub(crate) fn write_if(
        &self,
        len: usize,
        fill: impl FnOnce(&mut [u8]),
        keep: impl FnOnce(&[u8]) -> bool,
    ) -> bool {
        // SAFETY: `self` is a live buffer (type invariant of the slot that lent it).
        let ev = unsafe { lb::ring_buffer_lock_reserve(self.as_ptr(), len as c_ulong) };
        if ev.is_null() {
            return false;
        }
        // SAFETY: As in `write`.
        let data = unsafe {
            let p = lb::ring_buffer_event_data(ev).cast::<u8>();
            core::ptr::write_bytes(p, 0, len);
            core::slice::from_raw_parts_mut(p, len)
        };
        fill(data);
        let kept = keep(data);
        // SAFETY: Ends the reservation made above, on the same CPU, either way.
        unsafe {
            if kept {
                lb::ring_buffer_unlock_commit(self.as_ptr());
            } else {
                lb::ring_buffer_discard_commit(self.as_ptr(), ev);
            }
        }
        kept
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

/// A tracing directory's buffer: the ring buffer, the readers of `trace_pipe` that wait
/// for records, and the lock that serialises them.
///
/// # Invariants
///
/// `rb` was allocated by `ring_buffer_alloc` and is owned here: freed at drop, after the
/// last queued wake-up has run. The struct is always pinned (boxed in its slot).
#[pin_data(PinnedDrop)]
pub(crate) struct Buffer {
    rb: NonNull<lb::trace_buffer>,
    #[pin]
    waiters: Waiters,
    /// Held while a record is consumed and copied: the next consume of the same CPU may
    /// recycle the page a consumed record lives in.
    #[pin]
    consume: Mutex<()>,
}

// SAFETY: See `RingBuffer`; `Waiters` and `Mutex` are `Send` and `Sync`.
unsafe impl Send for Buffer {}
// SAFETY: See above.
unsafe impl Sync for Buffer {}

impl Buffer {
    /// The ring buffer.
    pub(crate) fn ring(&self) -> &RingBuffer {
        // SAFETY: `rb` is live while `self` is (type invariant); `RingBuffer` is a
        // transparent wrapper of `trace_buffer`.
        unsafe { &*self.rb.as_ptr().cast::<RingBuffer>() }
    }

    fn waiters(&self) -> Pin<&Waiters> {
        // SAFETY: `self` is pinned (type invariant), so its field is too.
        unsafe { Pin::new_unchecked(&self.waiters) }
    }

    /// [`RingBuffer::write_if`] keeping every record, then wakes the readers waiting for
    /// a record (through an `irq_work`: safe from any context).
    pub(crate) fn write(&self, len: usize, fill: impl FnOnce(&mut [u8])) -> bool {
        self.write_if(len, fill, |_| true)
    }

    /// As [`RingBuffer::write_if`], waking readers of a kept record.
    pub(crate) fn write_if(
        &self,
        len: usize,
        fill: impl FnOnce(&mut [u8]),
        keep: impl FnOnce(&[u8]) -> bool,
    ) -> bool {
        let ok = self.ring().write_if(len, fill, keep);
        if ok {
            self.waiters().notify();
        }
        ok
    }

    /// Whether no CPU has a record.
    pub(crate) fn is_empty(&self) -> bool {
        // SAFETY: `rb` is live.
        unsafe { lb::ring_buffer_empty(self.rb.as_ptr()) }
    }

    /// Sleeps until there is a record; `ERESTARTSYS` on a signal.
    pub(crate) fn wait_for_record(&self) -> Result {
        self.waiters().wait(|| !self.is_empty())
    }

    /// Registers a poll of `file` on the arrival of records.
    ///
    /// # Safety
    ///
    /// As for [`Waiters::poll_wait`].
    pub(crate) unsafe fn poll_wait(
        &self,
        file: *mut bindings::file,
        table: *mut bindings::poll_table_struct,
    ) {
        // SAFETY: Per the caller.
        unsafe { self.waiters().poll_wait(file, table) }
    }

    /// Takes the oldest record of all CPUs out of the buffer and gives it to `f`; `None`
    /// if there is none. Consumers are serialised: no record goes to two of them.
    pub(crate) fn consume<R>(&self, f: impl FnOnce(Record<'_>) -> R) -> Option<R> {
        let _g = self.consume.lock();
        let mut best: Option<(u32, u64)> = None;
        for cpu in 0..kernel::cpu::nr_cpu_ids() {
            let mut ts = 0u64;
            // SAFETY: `rb` is live; `ts` is valid for writes; a CPU outside the buffer's
            // mask gives NULL.
            let ev = unsafe {
                lb::ring_buffer_peek(
                    self.rb.as_ptr(),
                    cpu as c_int,
                    &mut ts,
                    core::ptr::null_mut(),
                )
            };
            if !ev.is_null() && best.is_none_or(|(_, t)| ts < t) {
                best = Some((cpu, ts));
            }
        }
        let (cpu, _) = best?;
        let mut ts = 0u64;
        // SAFETY: As above. The record stays valid until the next consume of this CPU,
        // which `_g` holds off until `f` is done with it.
        let ev = unsafe {
            lb::ring_buffer_consume(
                self.rb.as_ptr(),
                cpu as c_int,
                &mut ts,
                core::ptr::null_mut(),
            )
        };
        // SAFETY: See above.
        let data = unsafe { event_data(ev)? };
        Some(f(Record { cpu, ts, data }))
    }
}

#[pinned_drop]
impl PinnedDrop for Buffer {
    fn drop(self: Pin<&mut Self>) {
        self.as_ref().get_ref().waiters().sync();
        // SAFETY: `rb` is owned here (type invariant) and no wake-up is pending; nothing
        // else uses it (the slot's owner guarantees it, see `BufferSlot::free`).
        unsafe { lb::ring_buffer_free(self.rb.as_ptr()) };
    }
}

/// The buffer of a tracing directory, allocated on first use.
///
/// `W` is the guard of the owner's writer lock, which serialises allocation and freeing.
///
/// # Invariants
///
/// `ptr` is NULL or a pinned [`Buffer`] from `KBox::into_raw`, owned by the slot; once set
/// it changes only in [`BufferSlot::free`].
pub(crate) struct BufferSlot<W> {
    ptr: Atomic<*mut Buffer>,
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
    pub(crate) fn get(&self) -> Option<&Buffer> {
        let p = self.ptr.load(ordering::Acquire);
        // SAFETY: A non-null `ptr` is a live buffer (type invariant) that stays allocated
        // while `self` is borrowed: `free` requires that no such borrow is in use.
        NonNull::new(p).map(|p| unsafe { &*p.as_ptr() })
    }

    /// The buffer, allocated now if there is none yet, `bytes` per CPU, recording or not.
    pub(crate) fn get_or_alloc(&self, bytes: usize, recording: bool, _w: &W) -> Result<&Buffer> {
        if let Some(b) = self.get() {
            return Ok(b);
        }
        // SAFETY: No precondition; the helper wraps the `ring_buffer_alloc()` macro.
        let rb = unsafe { lb::eventfs_helper_ring_buffer_alloc(bytes as c_ulong, RB_FL_OVERWRITE) };
        let rb = NonNull::new(rb).ok_or(ENOMEM)?;
        let init = pin_init!(Buffer {
            rb,
            waiters <- Waiters::new(),
            consume <- new_mutex!(()),
        });
        let b = match KBox::pin_init(init, GFP_KERNEL) {
            Ok(b) => b,
            Err(e) => {
                // SAFETY: Allocated above and used by nothing else.
                unsafe { lb::ring_buffer_free(rb.as_ptr()) };
                return Err(e);
            }
        };
        b.ring().set_recording(recording);
        // SAFETY: The box stays pinned: it is only turned back into a `Pin<KBox>` by `free`
        // and `drop`.
        let p = KBox::into_raw(unsafe { Pin::into_inner_unchecked(b) });
        // Allocations are serialised by `W`: nobody stored a buffer since the `get` above.
        self.ptr.store(p, ordering::Release);
        self.get().ok_or(ENOMEM)
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
            // SAFETY: `p` came from `KBox::into_raw` of a pinned box owned by the slot (type
            // invariant); nothing uses it any more (caller's duty).
            drop(unsafe { Pin::new_unchecked(KBox::from_raw(p)) });
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
                lb::ring_buffer_read_start(b.rb.as_ptr(), cpu as c_int, bindings::GFP_KERNEL)
            };
            if let Some(it) = NonNull::new(it) {
                let it = CpuIter { cpu, it };
                // On failure, `it` is dropped and finished like those already pushed.
                iters.push(it, GFP_KERNEL)?;
            }
        }
        // As mainline's `pause-on-trace` (on by default): no recording while `trace` is
        // read, so that a reader whose own reads are traced (a probe on `vfs_read`)
        // still reaches the end.
        // SAFETY: `b` is a live buffer; the reader enables recording again at drop, and
        // is dropped before the buffer is freed (see above).
        unsafe { lb::ring_buffer_record_disable(b.rb.as_ptr()) };
        Ok(Some(BufferReader {
            iters,
            paused: b.rb,
        }))
    }
}

impl<W> Drop for BufferSlot<W> {
    fn drop(&mut self) {
        let p = *self.ptr.get_mut();
        if !p.is_null() {
            // SAFETY: `&mut self`: nothing borrows the slot, so nothing uses its buffer
            // (readers are freed before their slot by its owner).
            drop(unsafe { Pin::new_unchecked(KBox::from_raw(p)) });
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
    /// The buffer, whose recording the reader disabled until its drop.
    paused: NonNull<lb::trace_buffer>,
}

impl Drop for BufferReader {
    fn drop(&mut self) {
        // SAFETY: The buffer outlives its readers (see `BufferSlot::reader`); this undoes
        // the disable made when the reader was made.
        unsafe { lb::ring_buffer_record_enable(self.paused.as_ptr()) };
    }
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
