// SPDX-License-Identifier: GPL-2.0

//! kprobes and kretprobes with Rust handlers (`linux/kprobes.h`), and the probed
//! context as the fetch evaluator reads it ([`Regs`], a `probe_fetch::Machine`).
//!
//! Who owns what:
//! - A [`Kprobe`] owns, in one pinned allocation, the C `struct kretprobe` (its first
//!   member, the `struct kprobe`, is what a plain probe registers) and the NUL-terminated
//!   symbol name the kernel reads while the probe is registered.
//! - While registered, it also owns one counted reference to its target `T` (the event
//!   the handler records), taken by [`Kprobe::register`] and dropped by
//!   [`Kprobe::unregister`]. The target usually owns the `Kprobe`: this cycle is what
//!   keeps the target alive for the handler, and `unregister` breaks it.
//! - The kernel uses the C object from `register_*` until `unregister_*` returns, which
//!   also waits for every handler still running. `unregister` sleeps: the owner calls it
//!   in process context before the `Kprobe` is dropped (a `Kprobe` dropped while still
//!   registered is leaked, with an error in the log, rather than freed under the kernel).

use core::cell::Cell;
use core::ffi::{c_int, c_void};
use core::pin::Pin;

use kernel::{
    bindings,
    prelude::*,
    sync::atomic::{ordering, Atomic},
    types::Opaque,
};

use super::{local_bindings as lb, RcuArc};
use crate::probe_fetch::Machine;

/// What a probe hit runs: implemented by the target a [`Kprobe`] is registered with.
pub(crate) trait ProbeTarget: Send + Sync + 'static {
    /// Called at each hit of the probe, in the probed context: atomic (a breakpoint hit
    /// runs like an NMI), preemption off. It must not sleep, allocate, or take a lock
    /// that a traced function may hold; a probe hit inside it is counted as missed by
    /// the kernel, never run recursively.
    fn hit(&self, regs: &Regs<'_>);
}

/// Most function arguments a return probe saves at the function entry (`$argN` of a
/// return probe, `N` at most this).
pub(crate) const MAX_ENTRY_ARGS: u32 = 16;

/// The pinned allocation of a [`Kprobe`].
///
/// # Invariants
///
/// `rp` is first (`repr(C)`), so a pointer to its `kp` or to itself is a pointer to the
/// `Raw`. `target` is 0 or a pointer made by `RcuArc::<T>::into_raw`, owned by the `Raw`.
#[repr(C)]
struct Raw<T: ProbeTarget> {
    rp: Opaque<lb::kretprobe>,
    /// The symbol, NUL-terminated, which `rp.kp.symbol_name` points at.
    symbol: KVec<u8>,
    /// Whether `rp` is a kretprobe (else only `rp.kp` is used).
    is_return: bool,
    /// Arguments the entry handler of a return probe saves (`rp.data_size` bytes).
    entry_args: u32,
    /// Whether the kernel holds the probe (changed under the owner's lock).
    registered: Atomic<bool>,
    /// The target, while registered.
    target: Atomic<usize>,
    _target: core::marker::PhantomData<RcuArc<T>>,
}

/// A kprobe or kretprobe on `SYM+OFFS` or an address, whose hits call `T::hit`.
pub(crate) struct Kprobe<T: ProbeTarget> {
    raw: core::mem::ManuallyDrop<Pin<KBox<Raw<T>>>>,
}

// SAFETY: The C object is only touched by the kernel's kprobe code (which serialises
// registration and runs handlers concurrently, as it is made to) and by `Kprobe`'s
// methods, which the owner calls under its lock; the target is `Send + Sync`.
unsafe impl<T: ProbeTarget> Send for Kprobe<T> {}
// SAFETY: As above: shared access only reads counters or goes through the kernel's API.
unsafe impl<T: ProbeTarget> Sync for Kprobe<T> {}

/// Where a probe goes and what kind it is.
pub(crate) struct ProbeSpec<'a> {
    /// The symbol (`MOD:SYM` or `SYM`), or empty for an address.
    pub(crate) symbol: &'a [u8],
    /// The offset from the symbol, or the address.
    pub(crate) offset: u64,
    /// A return probe: its `MAXACTIVE` (0: the kernel's default) and how many entry
    /// arguments it saves.
    pub(crate) ret: Option<(u32, u32)>,
}

impl<T: ProbeTarget> Kprobe<T> {
    /// Prepares a probe, not registered yet.
    pub(crate) fn new(spec: &ProbeSpec<'_>) -> Result<Self> {
        let mut symbol = KVec::with_capacity(spec.symbol.len() + 1, GFP_KERNEL)?;
        symbol.extend_from_slice(spec.symbol, GFP_KERNEL)?;
        symbol.push(0, GFP_KERNEL)?;
        let entry_args = spec.ret.map_or(0, |(_, n)| n.min(MAX_ENTRY_ARGS));
        let raw = KBox::pin(
            Raw {
                rp: Opaque::zeroed(),
                symbol,
                is_return: spec.ret.is_some(),
                entry_args,
                registered: Atomic::new(false),
                target: Atomic::new(0),
                _target: core::marker::PhantomData,
            },
            GFP_KERNEL,
        )?;
        let rp = raw.rp.get();
        // SAFETY: `rp` is ours and not registered: plain stores into zeroed C structs.
        // The symbol's heap buffer does not move when the box is pinned.
        unsafe {
            let kp = &raw mut (*rp).kp;
            if spec.symbol.is_empty() {
                (*kp).addr = spec.offset as usize as *mut _;
            } else {
                (*kp).symbol_name = raw.symbol.as_ptr().cast();
                (*kp).offset = spec.offset as u32;
            }
            // Registered disabled: nothing runs until the event is enabled somewhere.
            (*kp).flags = lb::KPROBE_FLAG_DISABLED;
            match spec.ret {
                Some((maxactive, _)) => {
                    (*rp).handler = Some(Self::ret_handler);
                    (*rp).entry_handler = Some(Self::entry_handler);
                    (*rp).data_size = entry_args as usize * 8;
                    (*rp).maxactive = maxactive as i32;
                }
                None => (*kp).pre_handler = Some(Self::pre_handler),
            }
        }
        Ok(Kprobe {
            raw: core::mem::ManuallyDrop::new(raw),
        })
    }

    fn kp(&self) -> *mut lb::kprobe {
        // SAFETY: Only the address of the member is taken.
        unsafe { &raw mut (*self.raw.rp.get()).kp }
    }

    /// Registers the probe, disabled, with `target` as what its hits call. The error is
    /// the kernel's (`ENOENT`: no such symbol, `EINVAL`/`EILSEQ`: not a place a probe
    /// may go, ...).
    pub(crate) fn register(&self, target: RcuArc<T>) -> Result {
        if self.raw.registered.load(ordering::Relaxed) {
            return Err(EBUSY);
        }
        let ptr = target.into_raw() as usize;
        self.raw.target.store(ptr, ordering::Release);
        // SAFETY: The C object is initialised (`new`) and pinned, and stays allocated
        // until `unregister` (the owner's duty, see the module doc).
        let ret = unsafe {
            if self.raw.is_return {
                lb::register_kretprobe(self.raw.rp.get())
            } else {
                lb::register_kprobe(self.kp())
            }
        };
        if ret != 0 {
            self.drop_target();
            return Err(Error::from_errno(ret));
        }
        self.raw.registered.store(true, ordering::Relaxed);
        Ok(())
    }

    /// Drops the reference to the target.
    fn drop_target(&self) {
        let ptr = self.raw.target.xchg(0, ordering::Acquire);
        if ptr != 0 {
            // SAFETY: A non-zero `target` is a reference made by `into_raw` and owned by
            // the probe (type invariant); the exchange took it out, once.
            drop(unsafe { RcuArc::<T>::from_raw(ptr as *mut c_void) });
        }
    }

    /// Unregisters the probe (if registered); returns once no handler runs any more.
    /// Sleeps.
    pub(crate) fn unregister(&self) {
        if !self.raw.registered.load(ordering::Relaxed) {
            return;
        }
        // SAFETY: Registered by `register`, with this object.
        unsafe {
            if self.raw.is_return {
                lb::unregister_kretprobe(self.raw.rp.get())
            } else {
                lb::unregister_kprobe(self.kp())
            }
        };
        self.raw.registered.store(false, ordering::Relaxed);
        self.drop_target();
    }

    /// Arms (`true`) or disarms the registered probe.
    pub(crate) fn set_enabled(&self, on: bool) -> Result {
        if !self.raw.registered.load(ordering::Relaxed) {
            return Err(EINVAL);
        }
        // SAFETY: A registered probe of this object.
        let ret = unsafe {
            if on {
                lb::enable_kprobe(self.kp())
            } else {
                lb::disable_kprobe(self.kp())
            }
        };
        kernel::error::to_result(ret)
    }

    /// Hits the kernel could not run the handler for (a probe hit inside another
    /// handler, no free return instance, ...), as mainline's `kprobe_profile` counts
    /// them: the `kprobe`'s, and for a return probe also the `kretprobe`'s.
    pub(crate) fn missed(&self) -> u64 {
        let rp = self.raw.rp.get();
        // SAFETY: Plain reads of counters the kernel updates (aligned words).
        unsafe {
            let kp = (*rp).kp.nmissed as u64;
            if self.raw.is_return {
                kp + (*rp).nmissed as u64
            } else {
                kp
            }
        }
    }

    /// For a return probe, its `MAXACTIVE`: as given, or the kernel's default once
    /// registered (which `register_kretprobe()` stores in place of 0).
    pub(crate) fn maxactive(&self) -> u32 {
        if !self.raw.is_return {
            return 0;
        }
        // SAFETY: A plain read of a field set before and at registration.
        unsafe { (*self.raw.rp.get()).maxactive.max(0) as u32 }
    }

    /// The address the probe is on, once registered (0 before).
    pub(crate) fn address(&self) -> u64 {
        // SAFETY: A plain read of a field the kernel set at registration.
        unsafe { (*self.kp()).addr as usize as u64 }
    }

    /// Runs the target of `raw`, if any.
    ///
    /// # Safety
    ///
    /// `raw` is a registered probe's `Raw`, used from one of its handlers.
    unsafe fn run(raw: *const Raw<T>, regs: &Regs<'_>) {
        // SAFETY: The caller passes a live `Raw` (the kernel keeps handlers from running
        // after `unregister_*` returns).
        let ptr = unsafe { (*raw).target.load(ordering::Acquire) };
        if ptr == 0 {
            return;
        }
        // SAFETY: The probe's own reference keeps the target alive until `unregister`,
        // which waits for this handler to return.
        let target = unsafe { RcuArc::<T>::borrow_raw(ptr as *mut c_void) };
        target.hit(regs);
    }

    /// `kprobe.pre_handler`.
    ///
    /// # Safety
    ///
    /// Called by the kernel with the registered `kprobe` of a `Raw<T>` and live regs.
    unsafe extern "C" fn pre_handler(p: *mut lb::kprobe, regs: *mut bindings::pt_regs) -> c_int {
        let r = Regs::new(regs, &[], None);
        // SAFETY: `kp` is the first member of the first member of a `Raw<T>` (invariant).
        unsafe { Self::run(p.cast(), &r) };
        0
    }

    /// The `Raw` of the kretprobe instance `ri`.
    ///
    /// # Safety
    ///
    /// `ri` is a live instance of one of our kretprobes.
    unsafe fn raw_of(ri: *mut lb::kretprobe_instance) -> *const Raw<T> {
        // SAFETY: As the caller guarantees.
        unsafe { lb::eventfs_helper_get_kretprobe(ri) }.cast()
    }

    /// `kretprobe.entry_handler`: saves the first arguments in the instance's data.
    ///
    /// # Safety
    ///
    /// Called by the kernel with a live instance of one of our kretprobes and live regs.
    unsafe extern "C" fn entry_handler(
        ri: *mut lb::kretprobe_instance,
        regs: *mut bindings::pt_regs,
    ) -> c_int {
        // SAFETY: As the caller guarantees.
        let raw = unsafe { Self::raw_of(ri) };
        // SAFETY: A live `Raw` (the kernel runs no handler after unregistering).
        let n = unsafe { (*raw).entry_args } as usize;
        let r = Regs::new(regs, &[], None);
        // SAFETY: The instance has `data_size` = `8 * n` bytes of data, 8-aligned after
        // its header, which are ours during the probed call.
        let data =
            unsafe { core::slice::from_raw_parts_mut((&raw mut (*ri).data).cast::<u64>(), n) };
        for (i, slot) in data.iter_mut().enumerate() {
            *slot = crate::probe_fetch::kernel_argument(&r, i as u32);
        }
        0
    }

    /// `kretprobe.handler`.
    ///
    /// # Safety
    ///
    /// As for [`Kprobe::entry_handler`].
    unsafe extern "C" fn ret_handler(
        ri: *mut lb::kretprobe_instance,
        regs: *mut bindings::pt_regs,
    ) -> c_int {
        // SAFETY: As the caller guarantees.
        let raw = unsafe { Self::raw_of(ri) };
        // SAFETY: As in `entry_handler`. The return address is the one the rethook
        // trampoline found and put in `regs->ip` before calling the handlers: what the
        // instance saved (`get_kretprobe_retaddr()`, which mainline prints) is the
        // trampoline itself when another return probe hooked the same call first.
        let (n, func, ret) = unsafe {
            (
                (*raw).entry_args as usize,
                (*(*raw).rp.get()).kp.addr as usize as u64,
                (*regs).ip as u64,
            )
        };
        // SAFETY: What the entry handler stored, in the same instance.
        let entry =
            unsafe { core::slice::from_raw_parts((&raw const (*ri).data).cast::<u64>(), n) };
        let r = Regs::new(regs, entry, Some((func, ret)));
        // SAFETY: A live `Raw` of ours.
        unsafe { Self::run(raw, &r) };
        0
    }
}

impl<T: ProbeTarget> Drop for Kprobe<T> {
    fn drop(&mut self) {
        if self.raw.registered.load(ordering::Relaxed) {
            // The owner did not unregister: the kernel still uses the object, and
            // unregistering here might sleep in atomic context. Leak it.
            pr_err!("eventfs: a kprobe was dropped while registered; leaking it\n");
            return;
        }
        // SAFETY: Dropped once, here; the kernel no longer knows the object.
        unsafe { core::mem::ManuallyDrop::drop(&mut self.raw) };
    }
}

/// The probed context of one hit: its registers, the entry arguments a return probe
/// saved, and (return probes) the function and the return address.
///
/// # Invariants
///
/// `regs` is the live `pt_regs` of the hit being handled.
pub(crate) struct Regs<'a> {
    regs: *mut bindings::pt_regs,
    entry: &'a [u64],
    ret: Option<(u64, u64)>,
    /// The task's name, read once per hit: the room a `$comm` takes and the bytes
    /// stored (once per scope the hit is recorded in) are the same name.
    comm: Cell<Option<[u8; 16]>>,
}

impl<'a> Regs<'a> {
    /// The context of a hit: live `regs` (the type invariant), the entry arguments a
    /// return probe saved, and (return probes) the function and the return address.
    fn new(regs: *mut bindings::pt_regs, entry: &'a [u64], ret: Option<(u64, u64)>) -> Self {
        Regs {
            regs,
            entry,
            ret,
            comm: Cell::new(None),
        }
    }

    /// For a return probe: the probed function's address and the address it returns to.
    pub(crate) fn ret(&self) -> Option<(u64, u64)> {
        self.ret
    }
}

impl Machine for Regs<'_> {
    fn reg(&self, offset: usize) -> u64 {
        if offset % 8 != 0 || offset + 8 > core::mem::size_of::<bindings::pt_regs>() {
            return 0;
        }
        // SAFETY: Live regs (type invariant); the word is inside the struct, aligned.
        unsafe { self.regs.cast::<u8>().add(offset).cast::<u64>().read() }
    }

    fn stack_nth(&self, n: u32) -> u64 {
        // SAFETY: Live regs; the helper checks that the word is on the kernel stack.
        unsafe { lb::eventfs_helper_stack_nth(self.regs, n) as u64 }
    }

    fn entry_arg(&self, n: u32) -> u64 {
        self.entry
            .get((n as usize).wrapping_sub(1))
            .copied()
            .unwrap_or(0)
    }

    fn read_kernel(&self, addr: u64, out: &mut [u8]) -> bool {
        // x86 keeps user and kernel addresses apart (`ARCH_HAS_NON_OVERLAPPING_ADDRESS_SPACE`):
        // as mainline's `probe_mem_read()`, a dereference below `TASK_SIZE` reads user
        // memory.
        // SAFETY: No precondition.
        if addr < unsafe { lb::eventfs_helper_task_size() } as u64 {
            return self.read_user(addr, out);
        }
        // SAFETY: `out` is valid for its length; the source is checked by the kernel,
        // which returns an error instead of faulting.
        unsafe {
            lb::copy_from_kernel_nofault(
                out.as_mut_ptr().cast(),
                addr as usize as *const c_void,
                out.len(),
            ) == 0
        }
    }

    fn read_user(&self, addr: u64, out: &mut [u8]) -> bool {
        // SAFETY: As above, for user memory.
        unsafe {
            lb::copy_from_user_nofault(
                out.as_mut_ptr().cast(),
                addr as usize as *const c_void,
                out.len(),
            ) == 0
        }
    }

    fn comm(&self) -> [u8; 16] {
        if let Some(c) = self.comm.get() {
            return c;
        }
        let c = super::current_comm();
        self.comm.set(Some(c));
        c
    }

    fn sprint_symbol(&self, addr: u64, out: &mut [u8]) -> usize {
        sprint(addr, true, out)
    }
}

/// Room for one `sprint_symbol()` text (`KSYM_SYMBOL_LEN`: a 512-byte name, a 56-byte
/// module name, a build id, offsets).
const KSYM_BUF: usize = 1024;

/// `sprint_symbol()` (with `+0xOFF/0xSIZE`) or `sprint_symbol_no_offset()` of `addr`,
/// copied into `out` cut to fit with a NUL; returns its length without the NUL.
pub(crate) fn sprint(addr: u64, offset: bool, out: &mut [u8]) -> usize {
    let mut buf = [0u8; KSYM_BUF];
    // SAFETY: `buf` has room for `KSYM_SYMBOL_LEN` bytes.
    let n = unsafe {
        if offset {
            lb::sprint_symbol(buf.as_mut_ptr().cast(), addr as usize)
        } else {
            lb::sprint_symbol_no_offset(buf.as_mut_ptr().cast(), addr as usize)
        }
    };
    let n = (n.max(0) as usize).min(buf.len());
    let Some(room) = out.len().checked_sub(1) else {
        return 0;
    };
    let k = n.min(room);
    out[..k].copy_from_slice(&buf[..k]);
    out[k] = 0;
    k
}
