// SPDX-License-Identifier: GPL-2.0

//! Waiting for records: a wait queue (`struct wait_queue_head`) that readers of
//! `trace_pipe` sleep and poll on, and an `irq_work` through which writers in any context
//! (kprobe handlers cannot wake a task directly) have the readers woken.
//!
//! Who owns what: a [`Waiters`] is pinned inside the object that owns it (a tracing
//! directory's buffer) and owns its wait queue and `irq_work`; its owner must call
//! [`Waiters::sync`] before dropping it, so that no queued work runs on freed memory.

use core::pin::Pin;

use kernel::{
    bindings,
    prelude::*,
    sync::atomic::{ordering, Atomic},
    types::Opaque,
};

use super::local_bindings as lb;

/// Readers that wait for a condition that writers make true, and the wake-up that
/// writers queue.
///
/// # Invariants
///
/// `wq` and `work` are initialised by [`Waiters::new`] and never move (pinned).
#[pin_data]
pub(crate) struct Waiters {
    #[pin]
    wq: Opaque<bindings::wait_queue_head>,
    #[pin]
    work: Opaque<bindings::irq_work>,
    /// Set by a reader before it checks its condition and sleeps (or polls); cleared by
    /// the wake-up. Writers only queue the wake-up when it is set.
    waiting: Atomic<bool>,
}

// SAFETY: The wait queue has its own lock; `irq_work` is made to be queued from any CPU.
unsafe impl Send for Waiters {}
// SAFETY: See above.
unsafe impl Sync for Waiters {}

impl Waiters {
    /// New waiters: an empty queue and an idle `irq_work`.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is the pinned, uninitialised wait queue head;
            // `init_waitqueue_head()` initialises it in place.
            wq <- unsafe {
                Opaque::ffi_init(|slot: *mut bindings::wait_queue_head| {
                    lb::eventfs_helper_init_waitqueue_head(slot)
                })
            },
            // SAFETY: As above, for the `irq_work`, whose function finds `self` by
            // `container_of` (see `wake`).
            work <- unsafe {
                Opaque::ffi_init(|slot: *mut bindings::irq_work| {
                    lb::eventfs_helper_init_irq_work(slot, Some(Self::wake))
                })
            },
            waiting: Atomic::new(false),
        })
    }

    /// The `irq_work` function: wakes every waiter.
    ///
    /// # Safety
    ///
    /// Called by the kernel for the `work` of a live `Waiters` (its owner syncs the work
    /// before dropping it).
    unsafe extern "C" fn wake(work: *mut bindings::irq_work) {
        // SAFETY: `work` is the `work` field of a live `Waiters` (caller's duty).
        let this = unsafe {
            &*kernel::container_of!(work.cast::<Opaque<bindings::irq_work>>(), Self, work)
        };
        this.waiting.store(false, ordering::Relaxed);
        // SAFETY: `wq` is initialised (type invariant); `__wake_up` may run in hard irq.
        unsafe {
            bindings::__wake_up(
                this.wq.get(),
                bindings::TASK_NORMAL,
                0,
                core::ptr::null_mut(),
            )
        };
    }

    /// Tells waiters that their condition may be true now. Safe from any context (the
    /// wake-up itself runs from an `irq_work`).
    pub(crate) fn notify(self: Pin<&Self>) {
        // Pairs with the full barrier in `wait`: either the reader sees what the writer
        // did before this, or this sees that a reader waits.
        kernel::sync::barrier::smp_mb();
        if self.waiting.load(ordering::Relaxed) {
            // SAFETY: `work` is initialised (type invariant); queueing a queued work is a
            // no-op.
            unsafe { bindings::irq_work_queue(self.work.get().cast()) };
        }
    }

    /// Marks a reader as waiting, then makes sure a writer that did not see it yet will.
    fn announce(&self) {
        self.waiting.store(true, ordering::Relaxed);
        kernel::sync::barrier::smp_mb();
    }

    /// Sleeps until `ready()` holds; `ERESTARTSYS` on a signal.
    pub(crate) fn wait(self: Pin<&Self>, ready: impl Fn() -> bool) -> Result {
        let mut entry = core::mem::MaybeUninit::<bindings::wait_queue_entry>::uninit();
        // SAFETY: `entry` lives on this stack frame until `finish_wait` below takes it off
        // the queue.
        unsafe { bindings::init_wait_entry(entry.as_mut_ptr(), 0) };
        let r = loop {
            // SAFETY: `wq` is initialised; `entry` is initialised above.
            let ret = unsafe {
                bindings::prepare_to_wait_event(
                    self.wq.get(),
                    entry.as_mut_ptr(),
                    bindings::TASK_INTERRUPTIBLE as c_int,
                )
            };
            self.announce();
            if ready() {
                break Ok(());
            }
            if ret != 0 {
                break Err(ERESTARTSYS);
            }
            // SAFETY: Sleeping is allowed: the caller is a reader in process context.
            unsafe { bindings::schedule() };
        };
        // SAFETY: Takes `entry` off the queue (if still on it) and sets the task running.
        unsafe { bindings::finish_wait(self.wq.get(), entry.as_mut_ptr()) };
        r
    }

    /// Adds `file`'s poll table to the queue and marks a reader as waiting (`poll_wait`).
    ///
    /// # Safety
    ///
    /// `file` and `table` are the live arguments of a `file_operations.poll` call on a
    /// file whose private state keeps `self` alive until its release.
    pub(crate) unsafe fn poll_wait(
        self: Pin<&Self>,
        file: *mut bindings::file,
        table: *mut bindings::poll_table_struct,
    ) {
        // SAFETY: Per the caller; `wq` is initialised and outlives the file's poll entries
        // (they are removed before the file's release).
        unsafe { lb::eventfs_helper_poll_wait(file, self.wq.get(), table) };
        self.announce();
    }

    /// Waits for a queued wake-up to finish: the owner calls this before dropping `self`.
    pub(crate) fn sync(self: Pin<&Self>) {
        // SAFETY: `work` is initialised; `irq_work_sync` may sleep (process context).
        unsafe { bindings::irq_work_sync(self.work.get().cast()) };
    }
}
