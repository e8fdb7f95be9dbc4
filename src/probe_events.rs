// SPDX-License-Identifier: GPL-2.0

//! kprobe events in the module: what the probe parser asks of the running kernel, the
//! symbol names `trace` prints, and the text of a probe event's `format` file. The
//! registry, the handler and the files live in `tree`; the parser in `probe`, the fetch
//! evaluator and the record printer in `probe_fetch`; the kernel's kprobes in
//! `vfs::kprobe`.
//!
//! What the module does not ask the kernel while parsing, and why: whether `SYM` names
//! exactly one symbol (`kallsyms_lookup_name()` and `kallsyms_on_each_symbol()` are not
//! exported to modules). A well-formed symbol is taken as unique; one that does not exist
//! is refused when the probe is registered, with mainline's `BAD_PROBE_ADDR` at the same
//! place (registration happens when the probe is defined, as in mainline). `SYM+OFFS` is
//! taken as a function entry only when `OFFS` is 0 (`kprobe_on_func_entry()` is not
//! exported either).

use core::fmt;

use crate::events::COMMON_FORMAT;
use crate::probe::{
    self, AnySymbol, ByteWrite, Config, DentryOffsets, FuncEntry, Kernel, ProbeDef, SymbolCheck,
    Text,
};
use crate::probe_fetch::Symbolizer;
use crate::record::LineOut;
use crate::vfs::{kprobe, SeqOut};

/// The running kernel as the probe parser sees it (see the module doc).
pub(crate) struct RunningKernel;

impl Kernel for RunningKernel {
    fn check_symbol(&self, symbol: &[u8]) -> SymbolCheck {
        AnySymbol.check_symbol(symbol)
    }

    fn func_entry(&self, _symbol: &[u8], offset: u32) -> FuncEntry {
        if offset == 0 {
            FuncEntry::Entry
        } else {
            FuncEntry::NotEntry
        }
    }

    /// This kernel's structure offsets for `%pd`/`%pD` (`struct dentry` and `struct
    /// file` change with the configuration, e.g. lockdep grows their locks).
    fn config(&self) -> Config {
        use core::mem::offset_of;
        use kernel::bindings::{dentry, file, path, qstr};
        Config {
            dentry: DentryOffsets {
                name: (offset_of!(dentry, __bindgen_anon_1) + offset_of!(qstr, name)) as u64,
                dentry: (offset_of!(file, __bindgen_anon_1) + offset_of!(path, dentry)) as u64,
            },
            ..Config::X86_64
        }
    }
}

/// The kernel's symbol table, for the printer of records (`sprint_symbol()`).
pub(crate) struct KernelSymbols;

impl Symbolizer for KernelSymbols {
    fn write_symbol(
        &self,
        w: &mut dyn ByteWrite,
        addr: u64,
        offset: bool,
    ) -> Result<bool, fmt::Error> {
        let mut buf = [0u8; 600];
        let n = kprobe::sprint(addr, offset, &mut buf);
        let text = &buf[..n];
        // `sprint_symbol()` prints `0x...` for an address in no symbol.
        if text.is_empty() || text.starts_with(b"0x") {
            return Ok(false);
        }
        w.write_bytes(text)?;
        Ok(true)
    }
}

impl ByteWrite for SeqOut<'_> {
    fn write_bytes(&mut self, bytes: &[u8]) -> fmt::Result {
        self.bytes(bytes);
        Ok(())
    }
}

/// A line of `trace` or `trace_pipe` as the probe printer writes it.
pub(crate) struct LineBytes<'a>(pub(crate) &'a mut dyn LineOut);

impl ByteWrite for LineBytes<'_> {
    fn write_bytes(&mut self, bytes: &[u8]) -> fmt::Result {
        self.0.raw(bytes)
    }
}

/// Writes the `format` file of probe event `def` whose id is `id`, as mainline's
/// `trace_format_open()` shows it: name, ID, the common fields, a blank line, the
/// probe's fields and its `print fmt`.
pub(crate) fn write_format<W: ByteWrite + ?Sized>(
    w: &mut W,
    def: &ProbeDef<'_>,
    id: u32,
) -> fmt::Result {
    w.write_bytes(b"name: ")?;
    w.write_bytes(def.event())?;
    fmt::Write::write_fmt(&mut Text(&mut *w), format_args!("\nID: {id}\nformat:\n"))?;
    w.write_bytes(COMMON_FORMAT.as_bytes())?;
    probe::write_fields(w, def, crate::events::COMMON_FIELDS_SIZE)?;
    w.write_bytes(b"\nprint fmt: ")?;
    probe::write_print_fmt(w, def)?;
    w.write_bytes(b"\n")
}
