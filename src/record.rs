// SPDX-License-Identifier: GPL-2.0

//! Records: what a tracing directory's ring buffer holds, how writers put them there and
//! how `trace` prints them. The layout and text are `tracing`'s (plain Rust); the buffer
//! is the kernel's (`vfs::ring_buffer`).

use kernel::{
    prelude::*,
    sync::atomic::{ordering, Atomic},
};

use crate::{
    tracing::{self, Context, SavedComms, COMM_LEN},
    vfs::{self, Buffer, BufferReader, Record, RingBuffer, SeqOut},
};

kernel::sync::global_lock! {
    // SAFETY: Initialised by `init()` in the module initialiser, before any use.
    unsafe(uninit) static COMMS: SpinLock<SavedComms> = SavedComms::new();
}

/// Sets the saved task names up: called once by the module initialiser.
pub(crate) fn init() {
    // SAFETY: Called once, before any other use of `COMMS`.
    unsafe { COMMS.init() };
}

/// Per slot of [`COMMS`], the key ([`comm_key`]) of the name it was last given: a writer
/// whose name is already there passes by without the lock (most records come from a
/// task that wrote the previous one). Stored under the lock, read without it.
static SAVED: [Atomic<u64>; tracing::SAVED_COMMS] =
    [const { Atomic::new(0) }; tracing::SAVED_COMMS];

/// A key of task `pid` named `comm`: the pid and a hash of the name (a rename to a name
/// of the same hash keeps the old name in `trace`, as a rename between two scheduler
/// switches does in tracefs).
fn comm_key(pid: i32, comm: &[u8; COMM_LEN]) -> u64 {
    let (lo, hi) = comm.split_at(8);
    let word = |b: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        u64::from_ne_bytes(w)
    };
    let h = (word(lo) ^ word(hi).rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (u64::from(pid as u32) << 32) | (h >> 32)
}

/// The context of the current task, for a record's header; keeps its name for `trace`.
fn current_context() -> Context {
    let t = vfs::current_task();
    let key = comm_key(t.pid, &t.comm);
    let saved = &SAVED[SavedComms::slot(t.pid)];
    // Writers in atomic context must not wait for a reader: a busy table skips the name.
    if t.pid > 0 && saved.load(ordering::Relaxed) != key {
        if let Some(mut comms) = COMMS.try_lock() {
            comms.save(t.pid, &t.comm);
            saved.store(key, ordering::Relaxed);
        }
    }
    Context::new(
        t.pid,
        t.irqs_off,
        t.preempt_count,
        t.need_resched,
        t.migrate_disabled,
    )
}

/// Writes `text` to `buf` as a `trace_marker` print record, cut to what a record can
/// hold. Returns how much of `text` went in, or `EBADF` if the buffer takes nothing
/// (recording is off), as tracefs does.
pub(crate) fn write_marker(buf: &Buffer, text: &[u8]) -> Result<usize> {
    let (len, n) = tracing::print_record_len(text.len(), buf.ring().max_record());
    let ctx = current_context();
    // The address tracefs records for a marker is its write handler's; this is ours.
    let ip = write_marker as *const () as usize as u64;
    if !buf.write(len, |rec| {
        tracing::fill_print_record(rec, &ctx, ip, &text[..n])
    }) {
        return Err(EBADF);
    }
    Ok(n)
}

/// Prints the header of `trace` for `buf` (empty counts without a buffer).
pub(crate) fn show_header(buf: Option<&RingBuffer>, out: &mut SeqOut<'_>) -> core::fmt::Result {
    let (entries, written) = buf.map_or((0, 0), RingBuffer::counts);
    tracing::write_trace_header(out, entries, written, vfs::online_cpus())
}

/// Where lines of `trace` and `trace_pipe` go.
pub(crate) trait LineOut: core::fmt::Write {
    /// Appends raw bytes.
    fn raw(&mut self, b: &[u8]) -> core::fmt::Result;
}

impl LineOut for SeqOut<'_> {
    fn raw(&mut self, b: &[u8]) -> core::fmt::Result {
        self.bytes(b);
        Ok(())
    }
}

/// Lines appended to a vector (`trace_pipe`'s text not yet read). Fails only if the
/// vector must grow and cannot.
pub(crate) struct VecOut<'a>(pub(crate) &'a mut KVec<u8>);

impl core::fmt::Write for VecOut<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.raw(s.as_bytes())
    }
}

impl LineOut for VecOut<'_> {
    fn raw(&mut self, b: &[u8]) -> core::fmt::Result {
        self.0
            .extend_from_slice(b, GFP_KERNEL)
            .map_err(|_| core::fmt::Error)
    }
}

/// The longest line of a record: its context, the event's name and a marker's text.
pub(crate) const LINE_MAX: usize = 128 + tracing::MARKER_MAX;

/// Prints the text of an event record after its context (`EVENT: FIELDS` and a newline),
/// given the record's type and bytes, or says `None` if no event of that type was ever
/// enabled where the record is.
pub(crate) type EventText<'a> =
    dyn Fn(u16, &[u8], &mut dyn LineOut) -> Option<core::fmt::Result> + 'a;

/// Prints one record as a line of `trace`; `events` prints the text of event records.
pub(crate) fn show_record(
    rec: &Record<'_>,
    out: &mut dyn LineOut,
    events: &EventText<'_>,
) -> core::fmt::Result {
    let Some((ty, ctx)) = Context::read_header(rec.data) else {
        return Ok(());
    };
    let mut name = [0u8; COMM_LEN];
    let comm = COMMS.lock().find(ctx.pid, &mut name);
    tracing::write_context(&mut &mut *out, comm, &ctx, rec.cpu, rec.ts)?;
    match ty {
        tracing::TYPE_PRINT => {
            out.write_str("tracing_mark_write: ")?;
            out.raw(tracing::print_text(rec.data))
        }
        _ => match events(ty, rec.data, out) {
            Some(r) => r,
            None => writeln!(out, "Unknown type {ty}"),
        },
    }
}

/// Fills the common fields of a record of an event of type `ty` with the current task's
/// context (mainline's `tracing_generic_entry_update()`).
pub(crate) fn event_header(ty: u16, rec: &mut [u8]) {
    current_context().write_header(ty, rec);
}

/// Where an open `trace` is: a reader of its buffer and the index of the record the
/// reader is on (the `seq_file` position of record `i` is `i + 1`; 0 is the header).
pub(crate) struct TraceCursor {
    reader: Option<BufferReader>,
    index: u64,
    /// The position of the last seek.
    pos: u64,
}

impl TraceCursor {
    /// A cursor over `reader`'s records (none without a buffer).
    pub(crate) fn new(reader: Option<BufferReader>) -> TraceCursor {
        TraceCursor {
            reader,
            index: 0,
            pos: 0,
        }
    }

    /// Moves to position `pos`; returns it, or `None` past the last record.
    pub(crate) fn seek(&mut self, pos: u64) -> Option<u64> {
        self.pos = pos;
        if pos == 0 {
            return Some(0);
        }
        let want = pos - 1;
        let reader = self.reader.as_mut()?;
        if want < self.index {
            reader.rewind();
            self.index = 0;
        }
        while self.index < want {
            if !reader.advance() {
                return None;
            }
            self.index += 1;
        }
        reader.peek().map(|_| pos)
    }

    /// Whether the current position is the header's.
    pub(crate) fn at_header(&self) -> bool {
        self.pos == 0
    }

    /// The record at the current position.
    pub(crate) fn record(&mut self) -> Option<Record<'_>> {
        self.reader.as_mut()?.peek()
    }
}
