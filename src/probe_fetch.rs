// SPDX-License-Identifier: GPL-2.0

//! kprobe records: the evaluator of a parsed probe's fetch programs (what runs in the
//! kprobe handler) and the printer of a recorded event (what `trace` shows).
//!
//! Who owns what: nothing here owns anything. A [`ProbeDef`] (`src/probe.rs`) borrows
//! its line (a [`probe::ProbeShape`] owns copies of its arguments' texts), a [`Machine`] is the probed context (the handler's `pt_regs`, the current
//! task, kernel and user memory), the record is a slice the caller reserved in the ring
//! buffer, and the printer writes into the caller's [`ByteWrite`].
//!
//! The handler does as mainline's `__kprobe_trace_func()` does:
//!
//! 1. [`data_size`] runs the program of every string argument without storing, to
//!    measure the strings (`__get_data_size()`);
//! 2. the caller reserves `args_offset(...) + def.args_size() + dsize` bytes, and
//!    writes the header (`__probe_ip`, or `__probe_func` and `__probe_ret_ip`);
//! 3. [`store_args`] runs every program again, storing (`store_trace_args()`): values at
//!    the offsets [`probe::fields`] gives, strings as `__data_loc` words
//!    (`len << 16 | offset`, the offset from the start of the record) pointing into the
//!    dynamic area after the fixed fields, which they fill in order.
//!
//! The interpreter ([`process`]) follows mainline's `process_fetch_insn()` and
//! `process_fetch_insn_bottom()` instruction for instruction on x86_64 (no
//! `CONFIG_ARCH_HAS_NON_OVERLAPPING_ADDRESS_SPACE`), quirks included:
//!
//! - a failed dereference ends the argument: nothing is stored (a value keeps the zero
//!   [`store_args`] cleared it to; mainline leaves what the ring buffer held), a string
//!   keeps the `__data_loc` set before the program ran (the room left, at the next free
//!   byte), and an array of strings is not measured at all;
//! - a failed string copy stores `__data_loc` length 0, printed `(fault)`; a failed
//!   `StMem` leaves the value zero;
//! - the second pass copies each string into all the room left, not into what the first
//!   pass measured, and a string that changed in between takes what it needs;
//! - `symstr` keeps the room left as its length, and the next string starts on its NUL
//!   (mainline advances by `sprint_symbol()`'s length without the NUL), so the printer
//!   shows the two run together, as mainline's does;
//! - the `__data_loc` words are cut to 16 bits as mainline's `make_data_loc()` cuts them.
//!
//! Differences: every write is bounded by the record slice (mainline trusts its
//! measures), array loops stop at [`MAX_ARRAY_LEN`], and the fixed area is zeroed first.
//! Not covered: `FETCH_OP_TP_ARG` and `FETCH_OP_FOREACH` (eprobes, BTF), the
//! `kretprobed()` renaming of `kretprobe_trampoline` in the header, the `sym-addr` and
//! `sym-offset` trace options, `raw`/`hex`/`bin` output.
//!
//! Cost: the entry points take any [`RecordLayout`]. A [`ProbeDef`] parses each
//! argument again at every walk (fine for tests and for printing); the handler passes a
//! [`probe::ProbeShape`], whose arguments were parsed once, when the probe was defined,
//! and kept off the line ([`ProbeArg::kept`]), so a hit parses nothing.
//!
//! Plain Rust, no allocation, no `unsafe`, no recursion; stack use is one program (16
//! instructions) and, for `symstr`, a `KSYM_SYMBOL_LEN` buffer. Nothing here panics or
//! writes outside the record, whatever the machine answers.

use core::convert::Infallible;
use core::fmt;

use crate::inject::{self, Slot, SlotKind};
use crate::probe::{
    self, ByteWrite, Fetch, FetchType, ProbeArg, RecordLayout, Register, MAX_ARRAY_LEN,
};

/// The longest string fetched (`MAX_STRING_SIZE`, `PATH_MAX`), its NUL included.
pub(crate) const MAX_STRING_SIZE: usize = 4096;

/// Room for one `sprint_symbol()` text (`KSYM_SYMBOL_LEN` on x86_64 with 512-byte
/// symbol names, 56-byte module names and 20-byte build ids).
pub(crate) const KSYM_SYMBOL_LEN: usize = 666;

/// What is printed for a string that could not be read (`FAULT_STRING`).
pub(crate) const FAULT_STRING: &str = "(fault)";

/// `-EFAULT`.
const EFAULT: i64 = -14;
/// `-ENOMEM`.
const ENOMEM: i64 = -12;
/// `-EILSEQ`.
const EILSEQ: i64 = -84;

/// The probed context, as the kprobe handler sees it. Each method says which kernel
/// function the implementation must call; none may sleep or fault.
pub(crate) trait Machine {
    /// The `pt_regs` word at byte `offset` ([`Register::offset`]):
    /// `regs_get_register()`.
    fn reg(&self, offset: usize) -> u64;

    /// The `n`th word of the kernel stack, 0 when beyond it:
    /// `regs_get_kernel_stack_nth()`.
    fn stack_nth(&self, n: u32) -> u64;

    /// The value `$argN` (`n` from 1) had at the function entry, which the entry handler
    /// of a return probe saved (mainline's `edata` word read by `FETCH_OP_EDATA`).
    fn entry_arg(&self, n: u32) -> u64;

    /// Fills `out` from kernel memory at `addr`; `false` on a fault, `out` then
    /// unspecified: `copy_from_kernel_nofault() == 0`.
    fn read_kernel(&self, addr: u64, out: &mut [u8]) -> bool;

    /// Fills `out` from user memory at `addr`; `false` on a fault:
    /// `copy_from_user_nofault() == 0`.
    fn read_user(&self, addr: u64, out: &mut [u8]) -> bool;

    /// The current task's `comm` (`current->comm`, what `$comm` reads), NUL-padded; its
    /// last byte is taken as NUL, as `TASK_COMM_LEN` counts it.
    fn comm(&self) -> [u8; 16];

    /// Writes the text of the symbol `addr` is in (`SYM+0xOFF/0xSIZE [MOD]`, or
    /// `0xADDR`) into `out`, cut to fit with a NUL, and returns its length without the
    /// NUL: `sprint_symbol()` into a `KSYM_SYMBOL_LEN` buffer, then copied.
    fn sprint_symbol(&self, addr: u64, out: &mut [u8]) -> usize;

    /// The length, NUL included, of the kernel string at `addr`, at most
    /// [`MAX_STRING_SIZE`]; `None` on a fault (mainline's `fetch_store_strlen()`: a
    /// `copy_from_kernel_nofault()` per byte, which this default does).
    fn kernel_strlen(&self, addr: u64) -> Option<usize> {
        let mut len = 0usize;
        loop {
            let mut c = [0u8];
            if !self.read_kernel(addr.wrapping_add(len as u64), &mut c) {
                return None;
            }
            len += 1;
            if c[0] == 0 || len >= MAX_STRING_SIZE {
                return Some(len);
            }
        }
    }

    /// The length, NUL included, of the user string at `addr`; 0 on a fault, more than
    /// [`MAX_STRING_SIZE`] when it has no NUL within it:
    /// `strnlen_user_nofault(addr, MAX_STRING_SIZE)`.
    fn user_strlen(&self, addr: u64) -> usize {
        for len in 0..MAX_STRING_SIZE {
            let mut c = [0u8];
            if !self.read_user(addr.wrapping_add(len as u64), &mut c) {
                return 0;
            }
            if c[0] == 0 {
                return len + 1;
            }
        }
        MAX_STRING_SIZE + 1
    }

    /// Copies the kernel string at `addr` into `out`, NUL-terminated and cut to fit;
    /// returns the bytes written, NUL included, `None` on a fault (`out[0]` is then NUL):
    /// `strncpy_from_kernel_nofault(out, addr, out.len())`.
    fn kernel_string(&self, addr: u64, out: &mut [u8]) -> Option<usize> {
        copy_string(out, |i, c| self.read_kernel(addr.wrapping_add(i as u64), c))
    }

    /// As [`Machine::kernel_string`], from user memory:
    /// `strncpy_from_user_nofault(out, addr, out.len())`.
    fn user_string(&self, addr: u64, out: &mut [u8]) -> Option<usize> {
        copy_string(out, |i, c| self.read_user(addr.wrapping_add(i as u64), c))
    }
}

/// [`copy_string`] of a string in our own memory, `src` (its end reads as a NUL): the
/// bytes up to its first NUL and that NUL, or `out.len()` bytes with the last one NUL.
fn copy_str(out: &mut [u8], src: &[u8]) -> Option<usize> {
    let len = src.iter().position(|&c| c == 0).unwrap_or(src.len());
    // The bytes that fit before the NUL.
    let n = len.min(out.len().saturating_sub(1));
    let (Some(dst), Some(s)) = (out.get_mut(..n), src.get(..n)) else {
        return Some(0);
    };
    dst.copy_from_slice(s);
    match out.get_mut(n) {
        Some(nul) => {
            *nul = 0;
            Some(n + 1)
        }
        None => Some(0),
    }
}

/// `strncpy_from_*_nofault()` on a byte reader: `read(i, c)` reads byte `i`.
fn copy_string(out: &mut [u8], mut read: impl FnMut(usize, &mut [u8; 1]) -> bool) -> Option<usize> {
    let count = out.len();
    let mut n = 0;
    while n < count {
        let mut c = [0u8];
        if !read(n, &mut c) {
            if let Some(first) = out.first_mut() {
                *first = 0;
            }
            return None;
        }
        if let Some(slot) = out.get_mut(n) {
            *slot = c[0];
        }
        n += 1;
        if c[0] == 0 {
            return Some(n);
        }
    }
    if let Some(last) = out.get_mut(count.wrapping_sub(1)) {
        *last = 0;
    }
    Some(n)
}

/// x86_64's `regs_get_kernel_argument()`: argument `n` (from 0) is `%di`, `%si`, `%dx`,
/// `%cx`, `%r8`, `%r9`, then the stack words after the return address.
pub(crate) fn kernel_argument<M: Machine + ?Sized>(m: &M, n: u32) -> u64 {
    const REGS: [Register; 6] = [
        Register::Di,
        Register::Si,
        Register::Dx,
        Register::Cx,
        Register::R8,
        Register::R9,
    ];
    match REGS.get(n as usize) {
        Some(r) => m.reg(r.offset()),
        None => m.stack_nth(n - 5),
    }
}

/// `make_data_loc()`: `len << 16 | offset`, each cut to 16 bits.
fn make_data_loc(len: i64, offset: i64) -> u32 {
    ((len as u32) << 16) | (offset as u32 & 0xffff)
}

/// `update_data_loc()`: the room left after `consumed` bytes.
fn update_data_loc(loc: u32, consumed: i64) -> u32 {
    let len = i64::from(loc >> 16);
    let offset = i64::from(loc & 0xffff);
    make_data_loc(len - consumed, offset + consumed)
}

/// Reads the little-endian `N` bytes at `at` in `rec`, zeros where it ends.
fn get_le(rec: &[u8], at: usize, n: usize) -> u64 {
    let n = n.min(8);
    if let Some(src) = at.checked_add(n).and_then(|end| rec.get(at..end)) {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(src);
        return u64::from_le_bytes(b);
    }
    let mut v = 0u64;
    for i in (0..n).rev() {
        let b = at
            .checked_add(i)
            .and_then(|j| rec.get(j))
            .copied()
            .unwrap_or(0);
        v = (v << 8) | u64::from(b);
    }
    v
}

/// Writes the low `n` bytes of `v` at `at` in `rec`, little-endian, what fits.
fn put_le(rec: &mut [u8], at: usize, n: usize, v: u64) {
    let n = n.min(8);
    if let Some(dst) = at.checked_add(n).and_then(|end| rec.get_mut(at..end)) {
        dst.copy_from_slice(&v.to_le_bytes()[..n]);
        return;
    }
    for i in 0..n {
        if let Some(b) = at.checked_add(i).and_then(|j| rec.get_mut(j)) {
            *b = (v >> (8 * i)) as u8;
        }
    }
}

/// `rec[at..at + len]`, cut to the record.
fn window(rec: &mut [u8], at: usize, len: usize) -> &mut [u8] {
    let start = at.min(rec.len());
    let end = at.saturating_add(len).min(rec.len());
    rec.get_mut(start..end).unwrap_or(&mut [])
}

/// A value of the first stage: an address, or one of the two the parser only lets a
/// string store use.
#[derive(Clone, Copy)]
enum Val<'a> {
    /// A number or address.
    Num(u64),
    /// The address of `current->comm` (`$comm`).
    Comm,
    /// The address of an immediate string (`\"STRING"`).
    Data(&'a [u8]),
}

impl Val<'_> {
    /// The value plus `d`; `$comm` and data are never offset by a valid program.
    fn add(self, d: i64) -> Self {
        match self {
            Val::Num(v) => Val::Num(v.wrapping_add(d as u64)),
            other => other,
        }
    }
}

/// Where the program stores: the record and the offset of the argument's field in it
/// (mainline's `dest`, with `base` the record's start).
pub(crate) struct Dest<'r> {
    /// The whole record.
    pub(crate) rec: &'r mut [u8],
    /// Offset of the field.
    pub(crate) at: usize,
}

/// The `comm` of `m`, up to its last byte, which is taken as NUL.
fn comm<M: Machine + ?Sized>(m: &M) -> [u8; 15] {
    let full = m.comm();
    core::array::from_fn(|i| full.get(i).copied().unwrap_or(0))
}

/// Reads a word for a dereference.
fn read_word<M: Machine + ?Sized>(m: &M, user: bool, addr: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    let ok = if user {
        m.read_user(addr, &mut b)
    } else {
        m.read_kernel(addr, &mut b)
    };
    ok.then(|| u64::from_le_bytes(b))
}

/// `fetch_store_strlen*()` / `fetch_store_symstrlen()`: the first pass of a string store.
fn string_len<M: Machine + ?Sized>(m: &M, op: Fetch<&[u8]>, val: Val<'_>) -> i64 {
    match (op, val) {
        (Fetch::StString(..) | Fetch::StUString(..), Val::Comm) => {
            let comm = comm(m);
            comm.iter().position(|&c| c == 0).unwrap_or(comm.len()) as i64 + 1
        }
        (Fetch::StString(..) | Fetch::StUString(..), Val::Data(d)) => {
            d.len().min(MAX_STRING_SIZE - 1) as i64 + 1
        }
        (Fetch::StString(o, _), Val::Num(a)) => m
            .kernel_strlen(a.wrapping_add(i64::from(o) as u64))
            .map_or(EFAULT, |n| n as i64),
        (Fetch::StUString(o, _), Val::Num(a)) => {
            m.user_strlen(a.wrapping_add(i64::from(o) as u64)) as i64
        }
        (Fetch::StSymStr(_), Val::Num(a)) => {
            let mut buf = [0u8; KSYM_SYMBOL_LEN];
            m.sprint_symbol(a, &mut buf) as i64 + 1
        }
        _ => EILSEQ,
    }
}

/// `fetch_store_string*()` / `fetch_store_symstring()`: the second pass of a string
/// store, at `dest.at` whose `__data_loc` holds the room and where it starts.
fn string_store<M: Machine + ?Sized>(
    m: &M,
    op: Fetch<&[u8]>,
    val: Val<'_>,
    dest: &mut Dest<'_>,
) -> i64 {
    let loc = get_le(dest.rec, dest.at, 4) as u32;
    let maxlen = (loc >> 16) as usize;
    if maxlen == 0 {
        return ENOMEM;
    }
    let offs = (loc & 0xffff) as usize;
    let out = window(dest.rec, offs, maxlen);
    let ret = match (op, val) {
        (Fetch::StSymStr(_), Val::Num(a)) => {
            // Mainline leaves the `__data_loc` as it is and returns the length without the
            // NUL.
            let mut buf = [0u8; KSYM_SYMBOL_LEN];
            let n = m.sprint_symbol(a, &mut buf).min(KSYM_SYMBOL_LEN - 1);
            let text = buf.get(..=n).unwrap_or(&[]);
            let k = text.len().min(out.len());
            if let (Some(dst), Some(src)) = (out.get_mut(..k), text.get(..k)) {
                dst.copy_from_slice(src);
            }
            return n as i64;
        }
        (Fetch::StString(..) | Fetch::StUString(..), Val::Comm) => copy_str(out, &comm(m)),
        (Fetch::StString(..) | Fetch::StUString(..), Val::Data(d)) => copy_str(out, d),
        (Fetch::StString(o, _), Val::Num(a)) => {
            m.kernel_string(a.wrapping_add(i64::from(o) as u64), out)
        }
        (Fetch::StUString(o, _), Val::Num(a)) => {
            m.user_string(a.wrapping_add(i64::from(o) as u64), out)
        }
        _ => return EILSEQ,
    };
    let ret = ret.map_or(EFAULT, |n| n as i64);
    put_le(
        dest.rec,
        dest.at,
        4,
        u64::from(make_data_loc(ret.max(0), offs as i64)),
    );
    ret
}

/// Size in the record of what a store instruction stores.
fn store_size(op: Fetch<&[u8]>) -> usize {
    match op {
        Fetch::StRaw(s)
        | Fetch::StMem(_, s)
        | Fetch::StUMem(_, s)
        | Fetch::StString(_, s)
        | Fetch::StUString(_, s)
        | Fetch::StSymStr(s) => s as usize,
        _ => 0,
    }
}

/// A fetch program, read one instruction at a time: a parsed argument's own (no copy,
/// its texts resolved as they are reached) or a plain array.
pub(crate) trait Program {
    /// Instruction `i`: [`Fetch::End`] at and after the end.
    fn op(&self, i: usize) -> Fetch<&[u8]>;
}

impl Program for ProbeArg<'_> {
    #[inline]
    fn op(&self, i: usize) -> Fetch<&[u8]> {
        self.op(i)
    }
}

impl Program for [Fetch<&[u8]>] {
    fn op(&self, i: usize) -> Fetch<&[u8]> {
        self.get(i).copied().unwrap_or(Fetch::End)
    }
}

/// The instructions of a program as [`process`] reads them: each decoded once while it
/// is the current one (the stages look at the same instruction several times).
struct Ops<'p, P: Program + ?Sized> {
    code: &'p P,
    /// The index of `op`, `usize::MAX` before the first read.
    pc: usize,
    op: Fetch<&'p [u8]>,
}

impl<'p, P: Program + ?Sized> Ops<'p, P> {
    fn new(code: &'p P) -> Self {
        Ops {
            code,
            pc: usize::MAX,
            op: Fetch::End,
        }
    }

    /// Instruction `pc`.
    fn at(&mut self, pc: usize) -> Fetch<&'p [u8]> {
        if pc != self.pc {
            self.pc = pc;
            self.op = self.code.op(pc);
        }
        self.op
    }
}

/// Runs one fetch program (mainline's `process_fetch_insn()`): without `dest`, measures
/// the string it would store and returns its size (or a negative errno); with `dest`,
/// stores the value at `dest.at` and returns the dynamic bytes used (or a negative
/// errno).
pub(crate) fn process<P: Program + ?Sized, M: Machine + ?Sized>(
    code: &P,
    m: &M,
    mut dest: Option<Dest<'_>>,
) -> i64 {
    let mut ops = Ops::new(code);
    let mut pc = 0;
    // 1st stage: the value from the context.
    let mut val = loop {
        let v = match ops.at(pc) {
            Fetch::Reg(r) => Val::Num(m.reg(r.offset())),
            Fetch::Stack(n) => Val::Num(m.stack_nth(n)),
            Fetch::StackPointer => Val::Num(m.reg(Register::Sp.offset())),
            Fetch::Retval => Val::Num(m.reg(Register::Ax.offset())),
            Fetch::Arg(n) => Val::Num(kernel_argument(m, n.wrapping_sub(1))),
            Fetch::EntryArg(n) => Val::Num(m.entry_arg(n)),
            Fetch::Imm(v) => Val::Num(v),
            Fetch::Comm => Val::Comm,
            Fetch::Data(d) => Val::Data(d),
            Fetch::Symbol(_) => {
                pc += 1;
                continue;
            }
            _ => return EILSEQ,
        };
        break v;
    };
    pc += 1;
    let (mut total, mut ret, mut i, mut loc) = (0i64, 0i64, 0u32, 0u32);
    let mut lval = val;
    loop {
        // 2nd stage: dereferences.
        loop {
            let user = match ops.at(pc) {
                Fetch::Deref(o) => (false, o),
                Fetch::UDeref(o) => (true, o),
                _ => break,
            };
            lval = val;
            let Val::Num(v) = val.add(i64::from(user.1)) else {
                return EFAULT;
            };
            match read_word(m, user.0, v) {
                Some(w) => val = Val::Num(w),
                None => return EFAULT,
            }
            pc += 1;
        }
        let s3 = pc;
        loop {
            // 3rd stage: store.
            let st = ops.at(pc);
            match dest.as_mut() {
                None => {
                    if !matches!(
                        st,
                        Fetch::StString(..) | Fetch::StUString(..) | Fetch::StSymStr(_)
                    ) {
                        return EILSEQ;
                    }
                    ret = string_len(m, st, val);
                    pc += 1;
                }
                Some(d) => {
                    match (st, val) {
                        (Fetch::StRaw(s), Val::Num(v)) => put_le(
                            d.rec,
                            d.at,
                            if matches!(s, 1 | 2 | 4) {
                                s as usize
                            } else {
                                8
                            },
                            v,
                        ),
                        (Fetch::StMem(o, s), Val::Num(v)) | (Fetch::StUMem(o, s), Val::Num(v)) => {
                            let mut b = [0u8; 8];
                            let b = b.get_mut(..(s as usize).min(8)).unwrap_or(&mut []);
                            let addr = v.wrapping_add(i64::from(o) as u64);
                            let ok = if matches!(st, Fetch::StUMem(..)) {
                                m.read_user(addr, b)
                            } else {
                                m.read_kernel(addr, b)
                            };
                            if ok {
                                let w = window(d.rec, d.at, b.len());
                                let k = w.len();
                                if let Some(src) = b.get(..k) {
                                    w.copy_from_slice(src);
                                }
                            }
                        }
                        (Fetch::StString(..) | Fetch::StUString(..) | Fetch::StSymStr(_), _) => {
                            loc = get_le(d.rec, d.at, 4) as u32;
                            ret = string_store(m, st, val, d);
                        }
                        _ => return EILSEQ,
                    }
                    pc += 1;
                    // 4th stage: bitfield.
                    if let Fetch::ModBitfield {
                        basesize,
                        lshift,
                        rshift,
                    } = ops.at(pc)
                    {
                        let n = usize::from(basesize);
                        if matches!(n, 1 | 2 | 4 | 8) {
                            let mask = u64::MAX >> (64 - 8 * n);
                            let v = get_le(d.rec, d.at, n);
                            let v = (v.checked_shl(lshift.into()).unwrap_or(0) & mask)
                                .checked_shr(rshift.into())
                                .unwrap_or(0);
                            put_le(d.rec, d.at, n, v);
                        }
                        pc += 1;
                    }
                }
            }
            // The last stage: the array loop.
            if let Fetch::LoopArray(n) = ops.at(pc) {
                ret = ret.max(0);
                total += ret;
                i += 1;
                if i < n.min(MAX_ARRAY_LEN) {
                    pc = s3;
                    let st = ops.at(s3);
                    if !matches!(st, Fetch::StString(..) | Fetch::StUString(..)) {
                        let size = store_size(st);
                        if let Some(d) = dest.as_mut() {
                            d.at = d.at.saturating_add(size);
                        }
                        val = val.add(size as i64);
                        continue;
                    }
                    pc = s3.saturating_sub(1);
                    val = lval.add(8);
                    if let Some(d) = dest.as_mut() {
                        d.at = d.at.saturating_add(4);
                        put_le(d.rec, d.at, 4, u64::from(update_data_loc(loc, ret)));
                    }
                    break;
                }
                pc += 1;
                ret = total;
            }
            return if ops.at(pc) == Fetch::End {
                ret
            } else {
                EILSEQ
            };
        }
    }
}

/// Offset of the first argument's field in a record whose common fields take
/// `common_size` bytes: after the probe's header (as [`probe::fields`] lays it out).
pub(crate) fn args_offset<L: RecordLayout + ?Sized>(def: &L, common_size: usize) -> usize {
    let head = common_size
        .checked_next_multiple_of(8)
        .unwrap_or(common_size);
    head.saturating_add(if def.is_return() { 16 } else { 8 })
}

/// The size of the strings of a record (mainline's `__get_data_size()`): what follows
/// the fixed fields. A record is `args_offset() + def.args_size() + data_size()` bytes.
pub(crate) fn data_size<L: RecordLayout + ?Sized, M: Machine + ?Sized>(def: &L, m: &M) -> usize {
    let mut size = 0usize;
    let Ok(()) = def.try_each_arg(|arg| {
        if arg.ty().is_string() {
            size = size.saturating_add(process(arg, m, None).max(0) as usize);
        }
        Ok::<(), Infallible>(())
    });
    size
}

/// Stores the arguments of a record (mainline's `store_trace_args()`): the fixed
/// fields from `args_at` on, zeroed first, the strings after them, with `dsize` bytes of
/// room ([`data_size`]). Writes nothing outside `rec`.
pub(crate) fn store_args<L: RecordLayout + ?Sized, M: Machine + ?Sized>(
    def: &L,
    m: &M,
    rec: &mut [u8],
    args_at: usize,
    dsize: usize,
) {
    window(rec, args_at, def.args_size()).fill(0);
    let mut dyndata = args_at.saturating_add(def.args_size()) as i64;
    let mut maxlen = dsize as i64;
    let Ok(()) = def.try_each_arg(|arg| {
        let at = args_at.saturating_add(arg.offset());
        let dynamic = arg.ty().is_string();
        if dynamic {
            put_le(rec, at, 4, u64::from(make_data_loc(maxlen, dyndata)));
        }
        let ret = process(arg, m, Some(Dest { rec, at }));
        if dynamic && ret > 0 {
            dyndata += ret;
            maxlen -= ret;
        }
        Ok::<(), Infallible>(())
    });
}

// --- Injected records -------------------------------------------------------------------

/// The fields of a kprobe event's record as `inject` finds them (mainline's field list
/// of the event, which `trace_events_inject.c` searches): the header words
/// (`__probe_ip`, or `__probe_func` and `__probe_ret_ip`), then the arguments; strings
/// are `__data_loc` words, everything else an integer of the field's size.
pub(crate) struct ProbeFields<'a, L: ?Sized> {
    def: &'a L,
    common_size: usize,
}

impl<'a, L: RecordLayout + ?Sized> ProbeFields<'a, L> {
    /// The fields of a record of `def` whose common fields take `common_size` bytes.
    pub(crate) fn new(def: &'a L, common_size: usize) -> Self {
        ProbeFields { def, common_size }
    }

    /// The header words' names, in order.
    fn header(&self) -> &'static [&'static [u8]] {
        if self.def.is_return() {
            &[b"__probe_func", b"__probe_ret_ip"]
        } else {
            &[b"__probe_ip"]
        }
    }

    /// Calls `f` with each field's name and slot until it returns `false`.
    fn walk(&self, mut f: impl FnMut(&[u8], Slot) -> bool) {
        let at = args_offset(self.def, self.common_size);
        let header = self.header();
        for (i, name) in header.iter().enumerate() {
            let slot = Slot {
                offset: at - 8 * (header.len() - i),
                size: 8,
                signed: false,
                kind: SlotKind::Int,
            };
            if !f(name, slot) {
                return;
            }
        }
        let _ = self.def.try_each_arg(|a| {
            let slot = Slot {
                offset: at + a.offset(),
                size: a.size(),
                signed: a.ty().signed(),
                kind: if a.ty().is_string() {
                    SlotKind::DataLoc
                } else {
                    SlotKind::Int
                },
            };
            if f(a.name(), slot) {
                Ok(())
            } else {
                Err(())
            }
        });
    }
}

impl<L: RecordLayout + ?Sized> inject::Fields for ProbeFields<'_, L> {
    fn slot(&self, name: &[u8]) -> Option<Slot> {
        let mut found = None;
        self.walk(|n, slot| {
            if n == name {
                found = Some(slot);
            }
            found.is_none()
        });
        found
    }

    fn fixed_size(&self) -> usize {
        args_offset(self.def, self.common_size) + self.def.args_size()
    }

    fn each_slot(&self, f: &mut dyn FnMut(Slot)) {
        self.walk(|_, slot| {
            f(slot);
            true
        });
    }
}

// --- The printer ------------------------------------------------------------------------

/// Symbol names for the printer (the kernel side uses kallsyms).
pub(crate) trait Symbolizer {
    /// Writes the symbol `addr` is in and returns `true`, or writes nothing and returns
    /// `false` when it is in none: with `offset`, as `sprint_symbol()` writes it
    /// (`SYM+0xOFF/0xSIZE [MOD]`), else only the name (`kallsyms_lookup()`).
    fn write_symbol(
        &self,
        w: &mut dyn ByteWrite,
        addr: u64,
        offset: bool,
    ) -> Result<bool, fmt::Error>;
}

/// Lets `write!` format into a [`ByteWrite`].
struct Text<'w>(&'w mut dyn ByteWrite);

impl fmt::Write for Text<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_bytes(s.as_bytes())
    }
}

/// `seq_print_ip_sym()`: `0` for 0, the symbol, or `0x%08lx`.
fn write_ip(w: &mut dyn ByteWrite, s: &dyn Symbolizer, ip: u64, offset: bool) -> fmt::Result {
    if ip == 0 {
        return w.write_bytes(b"0");
    }
    if !s.write_symbol(w, ip, offset)? {
        fmt::Write::write_fmt(&mut Text(w), format_args!("0x{ip:08x}"))?;
    }
    Ok(())
}

/// Writes one value of type `ty` stored at `at` (the type's `print` function).
fn write_value(
    w: &mut dyn ByteWrite,
    s: &dyn Symbolizer,
    ty: FetchType,
    rec: &[u8],
    at: usize,
) -> fmt::Result {
    let v = get_le(rec, at, ty.size());
    let mut t = Text(w);
    match ty {
        FetchType::U8 | FetchType::U16 | FetchType::U32 | FetchType::U64 => {
            fmt::Write::write_fmt(&mut t, format_args!("{v}"))
        }
        FetchType::S8 => fmt::Write::write_fmt(&mut t, format_args!("{}", v as u8 as i8)),
        FetchType::S16 => fmt::Write::write_fmt(&mut t, format_args!("{}", v as u16 as i16)),
        FetchType::S32 => fmt::Write::write_fmt(&mut t, format_args!("{}", v as u32 as i32)),
        FetchType::S64 => fmt::Write::write_fmt(&mut t, format_args!("{}", v as i64)),
        FetchType::X8 | FetchType::X16 | FetchType::X32 | FetchType::X64 => {
            fmt::Write::write_fmt(&mut t, format_args!("0x{v:x}"))
        }
        FetchType::Char => {
            w.write_bytes(b"'")?;
            w.write_bytes(&[v as u8])?;
            w.write_bytes(b"'")
        }
        FetchType::Symbol => {
            // `%pS`: `__sprint_symbol()` prints `0x%lx` for an address in no symbol.
            if !s.write_symbol(w, v, true)? {
                fmt::Write::write_fmt(&mut Text(w), format_args!("0x{v:x}"))?;
            }
            Ok(())
        }
        FetchType::String | FetchType::UString | FetchType::SymStr => {
            let len = v >> 16;
            if len == 0 {
                return w.write_bytes(FAULT_STRING.as_bytes());
            }
            let offs = (v & 0xffff) as usize;
            let text = rec.get(offs..).unwrap_or(&[]);
            let end = text.iter().position(|&c| c == 0).unwrap_or(text.len());
            w.write_bytes(b"\"")?;
            w.write_bytes(text.get(..end).unwrap_or(&[]))?;
            w.write_bytes(b"\"")
        }
    }
}

/// Writes a record of `def` as `trace` shows it (mainline's `print_kprobe_event()` and
/// `print_kretprobe_event()`): `EVENT: (SYM+0xOFF/0xSIZE) NAME=VALUE...`, or
/// `EVENT: (RET+0xOFF/0xSIZE <- FUNC) ...` for a return probe, then `'\n'`. `rec` is the
/// whole record, its common fields `common_size` bytes; bytes beyond it read as zero.
pub(crate) fn write_event<L: RecordLayout + ?Sized>(
    w: &mut dyn ByteWrite,
    def: &L,
    rec: &[u8],
    common_size: usize,
    sym: &dyn Symbolizer,
) -> fmt::Result {
    let args_at = args_offset(def, common_size);
    w.write_bytes(def.event())?;
    w.write_bytes(b": (")?;
    if def.is_return() {
        let head = args_at.saturating_sub(16);
        write_ip(w, sym, get_le(rec, head.saturating_add(8), 8), true)?;
        w.write_bytes(b" <- ")?;
        write_ip(w, sym, get_le(rec, head, 8), false)?;
    } else {
        write_ip(w, sym, get_le(rec, args_at.saturating_sub(8), 8), true)?;
    }
    w.write_bytes(b")")?;
    def.try_each_arg(|arg| {
        w.write_bytes(b" ")?;
        w.write_bytes(arg.name())?;
        w.write_bytes(b"=")?;
        let at = args_at.saturating_add(arg.offset());
        if arg.count() == 0 {
            return write_value(w, sym, arg.ty(), rec, at);
        }
        w.write_bytes(b"{")?;
        for j in 0..arg.count() {
            let p = at.saturating_add(j as usize * arg.ty().size());
            write_value(w, sym, arg.ty(), rec, p)?;
            w.write_bytes(if j + 1 == arg.count() { b"}" } else { b"," })?;
        }
        Ok(())
    })?;
    w.write_bytes(b"\n")
}

/// Fuzzing entry point: evaluates and prints the probe `line` (if it parses) against
/// `m`, in a record of `rec_len` bytes. Never panics. Its harness is
/// `tests/host/fuzz.rs`.
#[allow(
    dead_code,
    reason = "called by fuzz harnesses and tests, not by the module"
)]
pub(crate) fn fuzz_one<M: Machine + ?Sized, S: Symbolizer>(
    line: &[u8],
    m: &M,
    sym: &S,
    rec: &mut [u8],
) {
    if let Ok(Some(probe::ProbeCommand::Create(def))) = probe::parse_probe_line(line) {
        let dsize = data_size(&def, m);
        let at = args_offset(&def, 8);
        store_args(&def, m, rec, at, dsize);
        let mut out = Sink;
        let _ = write_event(&mut out, &def, rec, 8, sym);
    }
}

/// Discards what is written.
struct Sink;

impl ByteWrite for Sink {
    fn write_bytes(&mut self, _: &[u8]) -> fmt::Result {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{fields, parse_probe_line, FieldKind, ProbeCommand, ProbeDef};

    /// Kernel data.
    const K: u64 = 0xffff_8880_0000_1000;
    /// User data.
    const U: u64 = 0x7fff_0000;
    /// An address in no mapping.
    const BAD: u64 = 0xdead;
    /// `vfs_read`, 0x100 bytes.
    const VFS_READ: u64 = 0xffff_ffff_8100_0000;
    /// `ksys_read`, 0x80 bytes.
    const KSYS_READ: u64 = 0xffff_ffff_8100_0200;

    /// A machine with a few mappings, the rest faulting.
    pub(crate) struct Fake {
        pub(crate) regs: [u64; 21],
        pub(crate) stack: Vec<u64>,
        pub(crate) kmem: Vec<(u64, Vec<u8>)>,
        pub(crate) umem: Vec<(u64, Vec<u8>)>,
        pub(crate) comm: [u8; 16],
        pub(crate) entry: Vec<u64>,
        pub(crate) syms: Vec<(u64, u64, &'static str)>,
    }

    fn read(map: &[(u64, Vec<u8>)], addr: u64, out: &mut [u8]) -> bool {
        for (base, bytes) in map {
            let Some(off) = addr.checked_sub(*base) else {
                continue;
            };
            let Ok(off) = usize::try_from(off) else {
                continue;
            };
            if let Some(src) = off
                .checked_add(out.len())
                .and_then(|end| bytes.get(off..end))
            {
                out.copy_from_slice(src);
                return true;
            }
        }
        false
    }

    impl Fake {
        pub(crate) fn new() -> Fake {
            let mut regs = [0u64; 21];
            let mut set = |r: Register, v: u64| regs[r.offset() / 8] = v;
            set(Register::Di, K);
            set(Register::Si, U);
            set(Register::Dx, 3);
            set(Register::Cx, VFS_READ + 0x10);
            set(Register::Ax, (-14i64) as u64);
            set(Register::R8, BAD);
            set(Register::Sp, 0xffff_c900_0000_0f00);
            let mut k = vec![0u8; 0x200];
            k[0..8].copy_from_slice(&(K + 0x100).to_le_bytes());
            k[8..16].copy_from_slice(&(K + 0x110).to_le_bytes());
            k[16..24].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
            k[24..32].copy_from_slice(&BAD.to_le_bytes());
            k[0x100..0x106].copy_from_slice(b"hello\0");
            k[0x110..0x116].copy_from_slice(b"world\0");
            let mut u = vec![0u8; 0x40];
            u[..12].copy_from_slice(b"user string\0");
            u[0x20..0x22].copy_from_slice(&0x1234u16.to_le_bytes());
            let mut comm = [0u8; 16];
            comm[..4].copy_from_slice(b"bash");
            Fake {
                regs,
                stack: vec![0xaaaa, 0xbbbb, 0xcccc, 0xdddd],
                kmem: vec![(K, k)],
                umem: vec![(U, u)],
                comm,
                entry: vec![0x4242, 0x4343],
                syms: vec![
                    (VFS_READ, 0x100, "vfs_read"),
                    (KSYS_READ, 0x80, "ksys_read"),
                ],
            }
        }

        fn lookup(&self, addr: u64) -> Option<(&'static str, u64, u64)> {
            self.syms
                .iter()
                .find(|(base, size, _)| addr >= *base && addr - base < *size)
                .map(|&(base, size, name)| (name, addr - base, size))
        }
    }

    impl Machine for Fake {
        fn reg(&self, offset: usize) -> u64 {
            self.regs.get(offset / 8).copied().unwrap_or(0)
        }
        fn stack_nth(&self, n: u32) -> u64 {
            self.stack.get(n as usize).copied().unwrap_or(0)
        }
        fn entry_arg(&self, n: u32) -> u64 {
            self.entry
                .get((n as usize).wrapping_sub(1))
                .copied()
                .unwrap_or(0)
        }
        fn read_kernel(&self, addr: u64, out: &mut [u8]) -> bool {
            read(&self.kmem, addr, out)
        }
        fn read_user(&self, addr: u64, out: &mut [u8]) -> bool {
            read(&self.umem, addr, out)
        }
        fn comm(&self) -> [u8; 16] {
            self.comm
        }
        fn sprint_symbol(&self, addr: u64, out: &mut [u8]) -> usize {
            let text = match self.lookup(addr) {
                Some((name, off, size)) => format!("{name}+{off:#x}/{size:#x}"),
                None => format!("{addr:#x}"),
            };
            let n = text.len().min(out.len().saturating_sub(1));
            out[..n].copy_from_slice(&text.as_bytes()[..n]);
            if let Some(nul) = out.get_mut(n) {
                *nul = 0;
            }
            text.len()
        }
    }

    impl Symbolizer for Fake {
        fn write_symbol(
            &self,
            w: &mut dyn ByteWrite,
            addr: u64,
            offset: bool,
        ) -> Result<bool, fmt::Error> {
            match self.lookup(addr) {
                Some((name, off, size)) if offset => {
                    w.write_bytes(format!("{name}+{off:#x}/{size:#x}").as_bytes())?
                }
                Some((name, ..)) => w.write_bytes(name.as_bytes())?,
                None => return Ok(false),
            }
            Ok(true)
        }
    }

    fn def(line: &str) -> ProbeDef<'_> {
        match parse_probe_line(line.as_bytes()) {
            Ok(Some(ProbeCommand::Create(def))) => def,
            other => panic!("{line}: {other:?}"),
        }
    }

    /// Common fields of the test records.
    const COMMON: usize = 8;

    /// Builds the record of `line` on `m` (header: `ip`, or `func` and `ret_ip`).
    fn record(line: &str, m: &Fake, ip: u64, ret_ip: u64) -> Vec<u8> {
        let def = def(line);
        let at = args_offset(&def, COMMON);
        let dsize = data_size(&def, m);
        let mut rec = vec![0xeeu8; at + def.args_size() + dsize];
        rec[..COMMON].fill(0);
        if def.is_return {
            put_le(&mut rec, at - 16, 8, ip);
            put_le(&mut rec, at - 8, 8, ret_ip);
        } else {
            put_le(&mut rec, at - 8, 8, ip);
        }
        store_args(&def, m, &mut rec, at, dsize);
        rec
    }

    fn print(line: &str, m: &Fake, rec: &[u8]) -> String {
        let mut out = Vec::new();
        write_event(&mut out, &def(line), rec, COMMON, m).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn run(line: &str, m: &Fake) -> String {
        let rec = record(line, m, VFS_READ, KSYS_READ + 0x50);
        print(line, m, &rec)
    }

    /// The whole-slice copy of an in-memory string stores and returns what the byte
    /// reader does (`strncpy_from_kernel_nofault()`), for every room and NUL position.
    #[test]
    fn copy_str_is_copy_string() {
        let mut srcs: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=20 {
            let s: Vec<u8> = (0..len).map(|i| b'a' + i as u8).collect();
            srcs.push(s.clone());
            for nul in 0..len {
                let mut t = s.clone();
                t[nul] = 0;
                srcs.push(t);
            }
        }
        for src in &srcs {
            for room in 0..=24 {
                let mut a = vec![0xeeu8; room];
                let mut b = vec![0xeeu8; room];
                let ra = copy_str(&mut a, src);
                let rb = copy_string(&mut b, |i, c| {
                    c[0] = src.get(i).copied().unwrap_or(0);
                    true
                });
                assert_eq!((ra, &a), (rb, &b), "src {src:?}, room {room}");
            }
        }
    }

    /// `inject` into a kprobe event: the header words and arguments are its fields,
    /// strings are `__data_loc`, unset ones print `(fault)`, and the record prints as
    /// mainline prints an injected one.
    #[test]
    fn inject_fields() {
        let m = Fake::new();
        let line = "p:ev vfs_read n=%di:s32 s=+0(%di):string a=+0(%si):u8[3] t=+0(%si):string";
        let d = def(line);
        let f = ProbeFields::new(&d, COMMON);
        let slot = |n: &str| inject::Fields::slot(&f, n.as_bytes());
        assert_eq!(slot("__probe_ip").map(|s| (s.offset, s.size)), Some((8, 8)));
        assert_eq!(
            slot("n").map(|s| (s.offset, s.size, s.signed)),
            Some((16, 4, true))
        );
        assert_eq!(slot("s").map(|s| s.kind), Some(SlotKind::DataLoc));
        assert_eq!(
            slot("a").map(|s| (s.size, s.kind)),
            Some((3, SlotKind::Int))
        );
        assert_eq!(slot("__probe_func"), None);
        let text = b"n=-7 s=\"hi\" __probe_ip=0";
        let len = inject::inject_len(text, &f).unwrap();
        assert_eq!(len, inject::Fields::fixed_size(&f) + 1 + 3);
        let mut rec = vec![0u8; len];
        inject::parse_inject(text, &f, &mut rec).unwrap();
        assert_eq!(
            print(line, &m, &rec),
            "ev: (0) n=-7 s=\"hi\" a={0,0,0} t=(fault)\n"
        );
        assert_eq!(
            inject::inject_len(b"a=1", &f),
            Err(inject::InjectError::Invalid)
        );
        // A return probe's header words.
        let r = def("r:rv vfs_read x=$retval");
        let f = ProbeFields::new(&r, COMMON);
        let slot = |n: &str| inject::Fields::slot(&f, n.as_bytes()).map(|s| s.offset);
        assert_eq!(
            (
                slot("__probe_func"),
                slot("__probe_ret_ip"),
                slot("x"),
                slot("__probe_ip")
            ),
            (Some(8), Some(16), Some(24), None)
        );
    }

    #[test]
    fn values() {
        let m = Fake::new();
        assert_eq!(
            run(
                "p:ev vfs_read a=%di b=%dx:u8 c=%ax:s32 d=%ax:x16 e=$stack f=$stack1:u64 \
                 g=$arg2 h=@0xffff888000001010:x64 i=\\-5:s8 j=\\65:char k=%cx:symbol \
                 l=%ax:s16 n=%ax:u32 o=%ax:s64 p=%ax:x8 q=%ax:u16 r=$stack9:x32 s=%r8:symbol",
                &m
            ),
            "ev: (vfs_read+0x0/0x100) a=0xffff888000001000 b=3 c=-14 d=0xfff2 \
             e=0xffffc90000000f00 f=48059 g=0x7fff0000 h=0x1122334455667788 i=-5 j='A' \
             k=vfs_read+0x10/0x100 l=-14 n=4294967282 o=-14 p=0xf2 q=65522 r=0x0 s=0xdead\n"
        );
    }

    #[test]
    fn arguments_past_the_registers_are_on_the_stack() {
        let mut m = Fake::new();
        m.regs[Register::R9.offset() / 8] = 99;
        assert_eq!(
            run(
                "p:a vfs_read a=$arg6:u64 b=$arg7:u64 c=$arg8:u64 d=$arg1:u64",
                &m
            ),
            "a: (vfs_read+0x0/0x100) a=99 b=48059 c=52428 d=18446612682070036480\n"
        );
    }

    #[test]
    fn return_probes() {
        let m = Fake::new();
        assert_eq!(
            run("r:rv vfs_read ret=$retval:s64 a=$arg1 b=$arg2:u16", &m),
            "rv: (ksys_read+0x50/0x80 <- vfs_read) ret=-14 a=0x4242 b=17219\n"
        );
        let line = "r:rv vfs_read";
        let rec = record(line, &m, 0, 0x1234);
        assert_eq!(print(line, &m, &rec), "rv: (0x00001234 <- 0)\n");
    }

    #[test]
    fn strings() {
        let m = Fake::new();
        assert_eq!(
            run(
                "p:s vfs_read s=+0(+0(%di)):string t=+0(+8(%di)):string u=+0(%si):ustring \
                 v=+u0(%si):string w=$comm x=\\\"lit\" y=+0(+24(%di)):string c=+0(%r8):string",
                &m
            ),
            "s: (vfs_read+0x0/0x100) s=\"hello\" t=\"world\" u=\"user string\" \
             v=\"user string\" w=\"bash\" x=\"lit\" y=(fault) c=(fault)\n"
        );
        // `comm` ends at its 16th byte.
        let mut full = Fake::new();
        full.comm = *b"0123456789abcdef";
        assert_eq!(
            run("p:c vfs_read c=$comm d=$COMM:string", &full),
            "c: (vfs_read+0x0/0x100) c=\"0123456789abcde\" d=\"0123456789abcde\"\n"
        );
        // A user address read as a kernel string, and the reverse, fault.
        assert_eq!(
            run("p:s vfs_read a=+0(%si):string b=+0(%di):ustring", &m),
            "s: (vfs_read+0x0/0x100) a=(fault) b=(fault)\n"
        );
    }

    #[test]
    fn string_records() {
        let m = Fake::new();
        let line =
            "p:s vfs_read a=%dx:u8 s=+0(+0(%di)):string t=+0(+8(%di)):string y=+0(+24(%di)):string";
        let d = def(line);
        assert_eq!(data_size(&d, &m), 12);
        let rec = record(line, &m, VFS_READ, 0);
        let at = args_offset(&d, COMMON);
        assert_eq!(at, 16);
        let fixed = at + d.args_size();
        assert_eq!(fixed, 16 + 1 + 4 + 4 + 4);
        let loc = |i: usize| get_le(&rec, at + 1 + 4 * i, 4) as u32;
        assert_eq!(loc(0), (6 << 16) | fixed as u32);
        assert_eq!(loc(1), (6 << 16) | (fixed + 6) as u32);
        assert_eq!(loc(2), (fixed + 12) as u32);
        assert_eq!(&rec[fixed..], b"hello\0world\0");
    }

    #[test]
    fn failed_dereference_keeps_the_room_left() {
        // Mainline leaves `z`'s `__data_loc` pointing at the room left: it shows the
        // next string.
        let m = Fake::new();
        assert_eq!(
            run(
                "p:q vfs_read z=+0(+0(+24(%di))):string s=+0(+0(%di)):string",
                &m
            ),
            "q: (vfs_read+0x0/0x100) z=\"hello\" s=\"hello\"\n"
        );
        assert_eq!(
            run(
                "p:q vfs_read s=+0(+0(%di)):string z=+0(+0(+24(%di))):string a=+0(+24(%di)):u32",
                &m
            ),
            "q: (vfs_read+0x0/0x100) s=\"hello\" z=(fault) a=0\n"
        );
    }

    #[test]
    fn faults() {
        let m = Fake::new();
        assert_eq!(
            run(
                "p:f vfs_read a=+0(%r8):u32 b=+0(+0(%r8)):x8 d=+u0(%di):u8 e=+u32(%si):u16 \
                 f=+u0(+u0(%di)):x16",
                &m
            ),
            "f: (vfs_read+0x0/0x100) a=0 b=0x0 d=0 e=4660 f=0x0\n"
        );
    }

    #[test]
    fn arrays() {
        let m = Fake::new();
        assert_eq!(
            run(
                "p:a vfs_read b=+0(%di):u8[4] s=+0(%di):string[2] x=+16(%di):x16[2] \
                 c=+0x100(%di):char[5] n=+0(%si):u8[2] u=+0(%si):ustring[1]",
                &m
            ),
            "a: (vfs_read+0x0/0x100) b={0,17,0,0} s={\"hello\",\"world\"} x={0x7788,0x5566} \
             c={'h','e','l','l','o'} n={0,0} u={(fault)}\n"
        );
        // The last two pointers lead nowhere: their strings fault.
        let line = "p:a vfs_read s=+0(%di):string[4]";
        assert_eq!(data_size(&def(line), &m), 12);
        assert_eq!(
            run(line, &m),
            "a: (vfs_read+0x0/0x100) s={\"hello\",\"world\",(fault),(fault)}\n"
        );
        // The third pointer cannot be read: the array is not measured, and its third
        // `__data_loc` is left at the room left, which the next string takes.
        let line = "p:a vfs_read s=+0x1f0(%di):string[3] t=+0(+0(%di)):string";
        assert_eq!(data_size(&def(line), &m), 6);
        assert_eq!(
            run(line, &m),
            "a: (vfs_read+0x0/0x100) s={(fault),(fault),\"hello\"} t=\"hello\"\n"
        );
    }

    #[test]
    fn bitfields() {
        let m = Fake::new();
        assert_eq!(
            run(
                "p:b vfs_read f=+16(%di):b4@4/8 g=+16(%di):b8@8/16 h=%dx:b1@0/32 \
                 k=+16(%di):b12@20/64 l=+16(%di):b64@0/64 a=+16(%di):b2@1/8[2]",
                &m
            ),
            "b: (vfs_read+0x0/0x100) f=8 g=119 h=1 k=1366 l=1234605616436508552 a={0,3}\n"
        );
    }

    #[test]
    fn symstr_runs_into_the_next_string() {
        let m = Fake::new();
        assert_eq!(
            run("p:y vfs_read q=%cx:symstr", &m),
            "y: (vfs_read+0x0/0x100) q=\"vfs_read+0x10/0x100\"\n"
        );
        // Mainline advances past the symbol without its NUL.
        assert_eq!(
            run("p:y vfs_read q=%cx:symstr s=+0(+0(%di)):string", &m),
            "y: (vfs_read+0x0/0x100) q=\"vfs_read+0x10/0x100hello\" s=\"hello\"\n"
        );
        assert_eq!(
            run("p:y vfs_read q=%r8:symstr", &m),
            "y: (vfs_read+0x0/0x100) q=\"0xdead\"\n"
        );
    }

    /// C's `printf` of the conversions [`FetchType::printf`] gives, on a field of C type
    /// `c_type` holding `raw`.
    fn c_printf(conv: &str, c_type: &str, raw: u64) -> Vec<u8> {
        let signed = match c_type {
            "s8" => raw as u8 as i8 as i64,
            "s16" => raw as u16 as i16 as i64,
            "s32" => raw as u32 as i32 as i64,
            _ => raw as i64,
        };
        match conv {
            "%u" | "%Lu" => format!("{raw}").into_bytes(),
            "%d" | "%Ld" => format!("{signed}").into_bytes(),
            "0x%x" | "0x%Lx" => format!("0x{raw:x}").into_bytes(),
            "'%c'" => vec![b'\'', raw as u8, b'\''],
            other => panic!("{other}"),
        }
    }

    #[test]
    fn scalars_print_as_their_print_fmt_says() {
        let m = Fake::new();
        for ty in FetchType::ALL {
            if ty.is_string() || ty == FetchType::Symbol {
                continue;
            }
            for v in [
                0u64,
                1,
                0x41,
                0x7f,
                0x80,
                0xff,
                0x8000,
                0xffff_ffff,
                u64::MAX,
                1 << 63,
            ] {
                let line = format!("p:t vfs_read a=\\{v}:{}", ty.name());
                let d = def(&line);
                let rec = record(&line, &m, VFS_READ, 0);
                let mask = u64::MAX >> (64 - 8 * ty.size());
                let mut want = b"t: (vfs_read+0x0/0x100) a=".to_vec();
                want.extend(c_printf(ty.printf(), ty.c_type(), v & mask));
                want.push(b'\n');
                let mut out = Vec::new();
                write_event(&mut out, &d, &rec, COMMON, &m).unwrap();
                assert_eq!(out, want, "{line}");
            }
        }
    }

    #[test]
    fn unresolved_symbols_read_address_zero() {
        // `@SYM` is resolved at registration into the `Imm` that follows its place
        // holder; unresolved, it is 0, and reading there faults.
        let m = Fake::new();
        assert_eq!(
            run("p:u vfs_read a=@jiffies:u32 s=+0(@jiffies):string", &m),
            "u: (vfs_read+0x0/0x100) a=0 s=(fault)\n"
        );
    }

    #[test]
    fn header_without_symbol() {
        let m = Fake::new();
        let line = "p:h 0x1000 a=%dx:u8";
        let rec = record(line, &m, 0x1000, 0);
        assert_eq!(print(line, &m, &rec), "h: (0x00001000) a=3\n");
        let rec = record(line, &m, 0, 0);
        assert_eq!(print(line, &m, &rec), "h: (0) a=3\n");
    }

    #[test]
    fn layout_agrees_with_fields() {
        let m = Fake::new();
        for line in [
            "p:l vfs_read a=%dx:u8 b=%di:u64 c=+0(%di):string d=+0(%di):u16[3] e=%dx:b1@0/32",
            "r:l vfs_read a=$retval:s8 s=+0(%di):string[2] c=$comm",
            "p:l vfs_read%return x=%cx:symstr y=%ax:x32",
        ] {
            let d = def(line);
            let at = args_offset(&d, COMMON);
            let mut end = at;
            for (f, arg) in fields(&d, COMMON)
                .filter(|f| f.kind != FieldKind::Ulong)
                .zip(d.args())
            {
                assert_eq!(f.offset, at + arg.offset(), "{line}");
                assert_eq!(f.size, arg.size(), "{line}");
                end = f.offset + f.size;
            }
            assert_eq!(end, at + d.args_size(), "{line}");
            let header: Vec<_> = fields(&d, COMMON)
                .filter(|f| f.kind == FieldKind::Ulong)
                .collect();
            assert_eq!(header.last().map(|f| f.offset + f.size), Some(at), "{line}");
            // Every string's `__data_loc` points into the dynamic area.
            let rec = record(line, &m, VFS_READ, 0);
            for arg in d.args().filter(|a| a.ty().is_string()) {
                for j in 0..arg.count().max(1) as usize {
                    let loc = get_le(&rec, at + arg.offset() + 4 * j, 4) as usize;
                    assert!(loc & 0xffff >= at + d.args_size(), "{line}");
                    assert!((loc & 0xffff) + (loc >> 16) <= rec.len(), "{line}");
                }
            }
        }
    }

    #[test]
    fn short_records_and_rooms() {
        // Whatever the room said, nothing is written outside the record.
        let m = Fake::new();
        let line = "p:s vfs_read s=+0(%di):string[2] c=%cx:symstr b=+0(%di):u8[4] w=$comm";
        let d = def(line);
        for len in 0..80 {
            for dsize in [0, 1, 5, 40, 100_000] {
                let mut buf = vec![0x5au8; len + 16];
                store_args(&d, &m, &mut buf[8..8 + len], 16, dsize);
                assert!(buf[..8].iter().chain(&buf[8 + len..]).all(|&b| b == 0x5a));
                let mut out = Vec::new();
                write_event(&mut out, &d, &buf[8..8 + len], COMMON, &m).unwrap();
            }
        }
    }

    #[test]
    fn programs_the_parser_cannot_make() {
        let m = Fake::new();
        let mut rec = [0u8; 16];
        for code in [
            &[][..],
            &[Fetch::Nop],
            &[Fetch::Reg(Register::Di)],
            &[Fetch::Comm, Fetch::StRaw(8), Fetch::End],
            &[
                Fetch::Imm(K),
                Fetch::StRaw(3),
                Fetch::LoopArray(u32::MAX),
                Fetch::End,
            ],
            &[Fetch::Imm(K), Fetch::StMem(0, 64), Fetch::End],
            &[
                Fetch::Imm(K),
                Fetch::StSymStr(4),
                Fetch::LoopArray(3),
                Fetch::Nop,
            ],
            &[
                Fetch::Imm(K),
                Fetch::StRaw(8),
                Fetch::ModBitfield {
                    basesize: 8,
                    lshift: 200,
                    rshift: 255,
                },
                Fetch::End,
            ],
        ] {
            let _ = process(code, &m, None);
            let _ = process(
                code,
                &m,
                Some(Dest {
                    rec: &mut rec,
                    at: 12,
                }),
            );
        }
    }
}
