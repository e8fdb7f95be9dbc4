// SPDX-License-Identifier: GPL-2.0

//! kprobe event definitions: the parser of the `p` and `r` lines of `kprobe_events` and
//! `dynamic_events`, and the text renderers of a parsed probe (its listing line, the
//! fields of its `format` file and its `print fmt`).
//!
//! ```text
//! p[:[GROUP/]EVENT] [MOD:]SYM[+OFFS][%return]|ADDR [ARG...]   a probe (%return: on return)
//! r[MAXACTIVE][:[GROUP/]EVENT] [MOD:]SYM[+0]|ADDR [ARG...]     a return probe
//! -:[GROUP/][EVENT] [PLACE [NAME=FETCHARG...]]                 remove probes
//! ARG      := [NAME=]FETCHARG[:TYPE[\[N\]]] | [NAME=]FETCHARG:%pd | [NAME=]FETCHARG:%pD
//! FETCHARG := %REG | $stack | $stackN | $retval | $comm | $argN | @ADDR | @SYM[+|-OFFS]
//!           | +|-[u]OFFS(FETCHARG) | \IMM | \"STRING"
//! TYPE     := u8..u64 | s8..s64 | x8..x64 | char | string | ustring | symstr | symbol
//!           | b<bits>@<offset>/<container bits>
//! ```
//!
//! Everything is parsed as mainline's `trace_kprobe_create_internal()` and
//! `traceprobe_parse_probe_arg()` parse it on x86_64 without
//! `CONFIG_PROBE_EVENTS_BTF_ARGS` (the configuration of this project's kernels), step by
//! step and in mainline's order, so that what is accepted, what is refused, the
//! refusal's `error_log` message, its caret position and the `write(2)` error are
//! mainline's:
//!
//! - The line counts up to its first NUL and its first `#` (mainline's
//!   `trace_parse_run_command()` cuts comments), and is split into tokens at the kernel's
//!   `isspace()` as `argv_split()` splits it. A refusal's [`ProbeRefusal::pos`] is the
//!   caret position in the command mainline logs: the tokens joined by single spaces
//!   ([`ProbeRefusal::write_command`]), `%pd`/`%pD` arguments expanded once mainline has
//!   expanded them.
//! - The default event name is mainline's `p_SYM_OFFS` / `r_SYM_OFFS` (`MOD:SYM` gives
//!   `p_MOD_SYM_0`: `:`, `.` and `*` become `_` as `sanitize_event_name()` makes them,
//!   the name is cut to 63 bytes, and it is not validated, as in mainline). Names are
//!   checked by `is_good_name()` (Latin-1 letters are letters, as the kernel's
//!   `isalpha()` says), groups by `is_good_system_name()` (`-` allowed), both shorter
//!   than [`MAX_EVENT_NAME_LEN`]; `GROUP.EVENT` is accepted for `GROUP/EVENT`.
//! - Fetch arguments compile to mainline's fetch program ([`Fetch`], at most
//!   [`FETCH_INSN_MAX`] instructions), so that every `TOO_MANY_OPS`, `BAD_STRING` and
//!   `BAD_BITFIELD` is refused where mainline refuses it. The default type is `x64`
//!   (`DEFAULT_FETCH_TYPE`), `$comm` and `\"STRING"` are strings.
//! - Quirks kept: `pfoo vfs_read` is `p vfs_read` (what follows `p` up to a `:` is
//!   ignored); `$retvalue` is `$retval`; `NAME=$arg+1` is `$arg1`; whatever follows the
//!   last `)` of a dereference is ignored (`+0(%ax)+10` is `+0(%ax)`); the caret of an
//!   error inside `+u0(...)` is one byte early, and that of an error after a dereference
//!   was parsed (`EVENT_TOO_BIG`, `BAD_BITFIELD`, ...) is offset by the dereference's
//!   prefix, as mainline's `ctx->offset` leaves them; `$argN` on a probe that is not on
//!   a function entry is refused with `NOFENTRY_ARGS` before any other argument is
//!   parsed, and `$arg*` with `NOSUP_BTFARG` under the last `$arg...` argument;
//!   dereference offsets are kept as mainline's `int`; `%pd`/`%pD` arguments are
//!   expanded to `+0x0(+0xN(ARG)):string` (using [`DentryOffsets`]) and listed expanded.
//!
//! What mainline asks the running kernel while parsing (does `[MOD:]SYM` name exactly one
//! symbol, is `SYM+OFFS` a function entry, `THREAD_SIZE`, structure offsets) is asked of
//! a [`Kernel`]; [`AnySymbol`] answers for tests and syntax checks. Not done here, and
//! left to the caller with the positions [`ProbeDef::log_pos`] gives: the registry's
//! `EVENT_EXIST`, `DIFF_PROBE_TYPE`, `DIFF_ARG_TYPE` ([`ProbeDef::compare_args`]) and
//! `SAME_PROBE` ([`ProbeDef::same_probe`]); registration's `BAD_INSN_BNDRY`,
//! `FAIL_REG_PROBE` and the resolution of `@SYM` arguments ([`split_symbol_offset`], a
//! symbol not found is `BAD_PROBE_ADDR` under PLACE); `$argN` of a return probe is
//! [`Fetch::EntryArg`], the caller stores the entry values (mainline's
//! `__store_entry_arg()`). Differences: an address is printed as its value, 16 hex digits
//! (`0x%p` in mainline, hashed unless `no_hash_pointers`), in the listing and in a
//! generated event name.
//!
//! Removal (`-:` in both files, `!...:` in `dynamic_events`) is parsed as mainline's
//! `dyn_event_release()` splits it and matched as `trace_kprobe_match()` matches
//! ([`Removal::matches`]): no group matches every group, an empty event every event of
//! the group, and the optional PLACE and `NAME=FETCHARG` words must be the probe's as its
//! listing prints them.
//!
//! Plain Rust with no kernel dependency and no allocation. A parsed [`ProbeDef`] borrows
//! from the written line and keeps its arguments as text: up to [`MAX_TRACE_ARGS`]
//! parsed arguments of about 400 bytes each would not fit on a kernel stack, so
//! [`ProbeDef::args`] parses them again, one at a time, when they are needed (this
//! cannot fail once the line was accepted). The renderers write bytes to a [`ByteWrite`]
//! (names and argument text may hold any byte but white space, and mainline prints them
//! as they are). `cargo test` checks this file on the host (`tests/host`). Nothing here
//! panics, whatever the input.

use crate::ctype::{at, is_alpha, is_digit, is_space};
use core::fmt;

/// The group of a probe defined without an explicit `GROUP/` (`KPROBE_EVENT_SYSTEM`).
pub(crate) const DEFAULT_GROUP: &[u8] = b"kprobes";

/// Group and event names must be shorter than this (`MAX_EVENT_NAME_LEN`).
pub(crate) const MAX_EVENT_NAME_LEN: usize = 64;

/// The most arguments one probe may have (`MAX_TRACE_ARGS`).
pub(crate) const MAX_TRACE_ARGS: usize = 128;

/// The longest fetch argument, without its `NAME=` (`MAX_ARGSTR_LEN`).
pub(crate) const MAX_ARGSTR_LEN: usize = 63;

/// The longest argument name (`MAX_ARG_NAME_LEN`).
pub(crate) const MAX_ARG_NAME_LEN: usize = 32;

/// The largest `N` of an array type `TYPE[N]` (`MAX_ARRAY_LEN`).
pub(crate) const MAX_ARRAY_LEN: u32 = 64;

/// The largest sum of the sizes of a probe's arguments (`MAX_PROBE_EVENT_SIZE`).
pub(crate) const MAX_PROBE_EVENT_SIZE: usize = 3072;

/// The largest `MAXACTIVE` of `rMAXACTIVE` (`KRETPROBE_MAXACTIVE_MAX`).
pub(crate) const KRETPROBE_MAXACTIVE_MAX: u32 = 4096;

/// Slots of a fetch program, the last one holding [`Fetch::End`] (`FETCH_INSN_MAX`).
pub(crate) const FETCH_INSN_MAX: usize = 16;

/// The location of kprobe entries in `error_log` (mainline's subsystem name).
pub(crate) const ERR_LOC: &str = "trace_kprobe";

/// Room mainline gives the expansions of all `%pd`/`%pD` arguments of one line
/// (`MAX_DENTRY_ARGS_LEN`), their NULs included.
const MAX_DENTRY_ARGS_LEN: usize = 256;

/// Field names no argument may take (mainline's `reserved_field_names`).
const RESERVED_NAMES: [&[u8]; 8] = [
    b"common_type",
    b"common_flags",
    b"common_preempt_count",
    b"common_pid",
    b"common_tgid",
    b"__probe_ip",
    b"__probe_ret_ip",
    b"__probe_func",
];

// --- Errors -------------------------------------------------------------------------------

/// Why a line was refused: mainline's `TP_ERR_*` errors a kprobe line can meet (BTF,
/// uprobe, eprobe and fprobe ones cannot), and three refusals mainline does not log.
///
/// The registry and registration errors ([`ProbeError::EventExist`],
/// [`ProbeError::DiffProbeType`], [`ProbeError::DiffArgType`], [`ProbeError::SameProbe`],
/// [`ProbeError::NonUniqSymbol`] when it comes from registration,
/// [`ProbeError::BadInsnBndry`], [`ProbeError::FailRegProbe`]) are never returned by the
/// parser: they are here for the caller that meets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProbeError {
    /// `BAD_MAXACT_TYPE`: `pN`.
    BadMaxactType,
    /// `BAD_MAXACT`: a `MAXACTIVE` that is no number, 0, or too long.
    BadMaxact,
    /// `MAXACT_TOO_BIG`: `MAXACTIVE` above [`KRETPROBE_MAXACTIVE_MAX`].
    MaxactTooBig,
    /// `BAD_PROBE_ADDR`: a malformed `SYM+OFFS`, or no such symbol.
    BadProbeAddr,
    /// `NON_UNIQ_SYMBOL`: several symbols have the name.
    NonUniqSymbol,
    /// `BAD_RETPROBE`: a return probe not on a function entry.
    BadRetprobe,
    /// `BAD_ADDR_SUFFIX`: a `%` suffix other than `%return`.
    BadAddrSuffix,
    /// `NO_GROUP_NAME`: `p:/EVENT`.
    NoGroupName,
    /// `GROUP_TOO_LONG`.
    GroupTooLong,
    /// `BAD_GROUP_NAME`.
    BadGroupName,
    /// `NO_EVENT_NAME`: `p: PLACE`.
    NoEventName,
    /// `EVENT_TOO_LONG`.
    EventTooLong,
    /// `BAD_EVENT_NAME`.
    BadEventName,
    /// `EVENT_EXIST`: the group and event name belong to another event (registry).
    EventExist,
    /// `RETVAL_ON_PROBE`: `$retval` on a probe that is not a return probe on a symbol.
    RetvalOnProbe,
    /// `BAD_STACK_NUM`: `$stackN` beyond the stack.
    BadStackNum,
    /// `BAD_ARG_NUM`: `$arg0`, or `$argN` beyond the stack.
    BadArgNum,
    /// `BAD_VAR`: an unknown `$` variable.
    BadVar,
    /// `BAD_REG_NAME`: an unknown register.
    BadRegName,
    /// `BAD_MEM_ADDR`: a malformed `@ADDR`.
    BadMemAddr,
    /// `BAD_IMM`: a malformed `\IMM`.
    BadImm,
    /// `IMMSTR_NO_CLOSE`: `\"STRING` without its closing `"`.
    ImmstrNoClose,
    /// `FILE_ON_KPROBE`: `@+OFFS` (a uprobe's file offset).
    FileOnKprobe,
    /// `TOO_MANY_OPS`: the fetch program does not fit [`FETCH_INSN_MAX`] slots.
    TooManyOps,
    /// `DEREF_NEED_BRACE`: `+OFFS` without `(`.
    DerefNeedBrace,
    /// `BAD_DEREF_OFFS`: a malformed dereference offset.
    BadDerefOffs,
    /// `DEREF_OPEN_BRACE`: `+OFFS(` without `)`.
    DerefOpenBrace,
    /// `COMM_CANT_DEREF`: a dereference of `$comm` or of an immediate string.
    CommCantDeref,
    /// `BAD_FETCH_ARG`: no fetch argument starts so.
    BadFetchArg,
    /// `ARRAY_NO_CLOSE`: `TYPE[N` without `]`.
    ArrayNoClose,
    /// `BAD_ARRAY_SUFFIX`: something after `]`.
    BadArraySuffix,
    /// `BAD_ARRAY_NUM`: an `N` that is no number, or 0.
    BadArrayNum,
    /// `ARRAY_TOO_BIG`: `N` above [`MAX_ARRAY_LEN`].
    ArrayTooBig,
    /// `BAD_TYPE`: an unknown type.
    BadType,
    /// `BAD_STRING`: a string type on what is no memory, or an array of a register.
    BadString,
    /// `BAD_SYMSTRING`: `symstr` on what is no address.
    BadSymstring,
    /// `BAD_BITFIELD`: a malformed or too wide bitfield.
    BadBitfield,
    /// `ARG_NAME_TOO_LONG`: a name longer than [`MAX_ARG_NAME_LEN`].
    ArgNameTooLong,
    /// `NO_ARG_NAME`: `=FETCHARG`.
    NoArgName,
    /// `BAD_ARG_NAME`.
    BadArgName,
    /// `USED_ARG_NAME`: a reserved name or the name of an earlier argument.
    UsedArgName,
    /// `ARG_TOO_LONG`: a fetch argument longer than [`MAX_ARGSTR_LEN`].
    ArgTooLong,
    /// `NO_ARG_BODY`: `NAME=`.
    NoArgBody,
    /// `BAD_INSN_BNDRY`: the place is not an instruction boundary (registration).
    BadInsnBndry,
    /// `FAIL_REG_PROBE`: the kprobe could not be registered (registration).
    FailRegProbe,
    /// `DIFF_PROBE_TYPE`: appending a return probe to a probe's event or the reverse.
    DiffProbeType,
    /// `DIFF_ARG_TYPE`: appending a probe whose arguments differ.
    DiffArgType,
    /// `SAME_PROBE`: appending the exact same probe.
    SameProbe,
    /// `NOSUP_BTFARG`: a BTF argument (a bare name, a typecast, `$arg*`).
    NosupBtfarg,
    /// `NOFENTRY_ARGS`: `$argN` on a probe that is not on a function entry or return.
    NofentryArgs,
    /// `DOUBLE_ARGS`: `$arg*` twice.
    DoubleArgs,
    /// `NEED_STRING_TYPE`: `$comm` or an immediate string with a type but `string`.
    NeedStringType,
    /// `TOO_MANY_ARGS`: more than [`MAX_TRACE_ARGS`] arguments.
    TooManyArgs,
    /// `EVENT_TOO_BIG`: the arguments take more than [`MAX_PROBE_EVENT_SIZE`] bytes.
    EventTooBig,
    /// Not a kprobe command: no `p` or `r`, no place, or a uprobe's place. Mainline's
    /// `-ECANCELED`: `kprobe_events` refuses it with `EINVAL` and logs nothing,
    /// `dynamic_events` tries its other event types (and logs "No matching dynamic
    /// event type" under `dynevent` when none takes it).
    NotProbe,
    /// A malformed removal: `-` not followed by `:`, a `!` word without `:`, or no group
    /// and no event. `EINVAL`, not logged.
    BadRemoval,
    /// The `%pd`/`%pD` expansions do not fit mainline's buffer: `ENOMEM`, not logged.
    NoMemory,
}

impl ProbeError {
    /// Every variant, in declaration order.
    #[allow(dead_code, reason = "the host tests use it; the module does not")]
    pub(crate) const ALL: [ProbeError; 57] = [
        ProbeError::BadMaxactType,
        ProbeError::BadMaxact,
        ProbeError::MaxactTooBig,
        ProbeError::BadProbeAddr,
        ProbeError::NonUniqSymbol,
        ProbeError::BadRetprobe,
        ProbeError::BadAddrSuffix,
        ProbeError::NoGroupName,
        ProbeError::GroupTooLong,
        ProbeError::BadGroupName,
        ProbeError::NoEventName,
        ProbeError::EventTooLong,
        ProbeError::BadEventName,
        ProbeError::EventExist,
        ProbeError::RetvalOnProbe,
        ProbeError::BadStackNum,
        ProbeError::BadArgNum,
        ProbeError::BadVar,
        ProbeError::BadRegName,
        ProbeError::BadMemAddr,
        ProbeError::BadImm,
        ProbeError::ImmstrNoClose,
        ProbeError::FileOnKprobe,
        ProbeError::TooManyOps,
        ProbeError::DerefNeedBrace,
        ProbeError::BadDerefOffs,
        ProbeError::DerefOpenBrace,
        ProbeError::CommCantDeref,
        ProbeError::BadFetchArg,
        ProbeError::ArrayNoClose,
        ProbeError::BadArraySuffix,
        ProbeError::BadArrayNum,
        ProbeError::ArrayTooBig,
        ProbeError::BadType,
        ProbeError::BadString,
        ProbeError::BadSymstring,
        ProbeError::BadBitfield,
        ProbeError::ArgNameTooLong,
        ProbeError::NoArgName,
        ProbeError::BadArgName,
        ProbeError::UsedArgName,
        ProbeError::ArgTooLong,
        ProbeError::NoArgBody,
        ProbeError::BadInsnBndry,
        ProbeError::FailRegProbe,
        ProbeError::DiffProbeType,
        ProbeError::DiffArgType,
        ProbeError::SameProbe,
        ProbeError::NosupBtfarg,
        ProbeError::NofentryArgs,
        ProbeError::DoubleArgs,
        ProbeError::NeedStringType,
        ProbeError::TooManyArgs,
        ProbeError::EventTooBig,
        ProbeError::NotProbe,
        ProbeError::BadRemoval,
        ProbeError::NoMemory,
    ];

    /// The `error_log` text of the error, mainline's, or `None` for the refusals
    /// mainline does not log.
    pub(crate) fn log_text(self) -> Option<&'static str> {
        Some(match self {
            ProbeError::BadMaxactType => "Maxactive is only for function exit",
            ProbeError::BadMaxact => "Invalid maxactive number",
            ProbeError::MaxactTooBig => "Maxactive is too big",
            ProbeError::BadProbeAddr => "Invalid probed address or symbol",
            ProbeError::NonUniqSymbol => "The symbol is not unique",
            ProbeError::BadRetprobe => "Retprobe address must be an function entry",
            ProbeError::BadAddrSuffix => "Invalid probed address suffix",
            ProbeError::NoGroupName => "Group name is not specified",
            ProbeError::GroupTooLong => "Group name is too long",
            ProbeError::BadGroupName => "Group name must follow the same rules as C identifiers",
            ProbeError::NoEventName => "Event name is not specified",
            ProbeError::EventTooLong => "Event name is too long",
            ProbeError::BadEventName => "Event name must follow the same rules as C identifiers",
            ProbeError::EventExist => "Given group/event name is already used by another event",
            ProbeError::RetvalOnProbe => "$retval is not available on probe",
            ProbeError::BadStackNum => "Invalid stack number",
            ProbeError::BadArgNum => "Invalid argument number",
            ProbeError::BadVar => "Invalid $-variable specified",
            ProbeError::BadRegName => "Invalid register name",
            ProbeError::BadMemAddr => "Invalid memory address",
            ProbeError::BadImm => "Invalid immediate value",
            ProbeError::ImmstrNoClose => "String is not closed with '\"'",
            ProbeError::FileOnKprobe => "File offset is not available with kprobe",
            ProbeError::TooManyOps => "Dereference is too much nested",
            ProbeError::DerefNeedBrace => "Dereference needs a brace",
            ProbeError::BadDerefOffs => "Invalid dereference offset",
            ProbeError::DerefOpenBrace => "Dereference brace is not closed",
            ProbeError::CommCantDeref => "$comm can not be dereferenced",
            ProbeError::BadFetchArg => "Invalid fetch argument",
            ProbeError::ArrayNoClose => "Array is not closed",
            ProbeError::BadArraySuffix => "Array has wrong suffix",
            ProbeError::BadArrayNum => "Invalid array size",
            ProbeError::ArrayTooBig => "Array number is too big",
            ProbeError::BadType => "Unknown type is specified",
            ProbeError::BadString => "String accepts only memory argument",
            ProbeError::BadSymstring => "Symbol String doesn't accept data/userdata",
            ProbeError::BadBitfield => "Invalid bitfield",
            ProbeError::ArgNameTooLong => "Argument name is too long",
            ProbeError::NoArgName => "Argument name is not specified",
            ProbeError::BadArgName => "Argument name must follow the same rules as C identifiers",
            ProbeError::UsedArgName => "This argument name is already used",
            ProbeError::ArgTooLong => "Argument expression is too long",
            ProbeError::NoArgBody => "No argument expression",
            ProbeError::BadInsnBndry => "Probe point is not an instruction boundary",
            ProbeError::FailRegProbe => "Failed to register probe event",
            ProbeError::DiffProbeType => "Probe type is different from existing probe",
            ProbeError::DiffArgType => "Argument type or name is different from existing probe",
            ProbeError::SameProbe => "There is already the exact same probe event",
            ProbeError::NosupBtfarg => "BTF is not available or not supported",
            ProbeError::NofentryArgs => "$arg* can be used only on function entry or exit",
            ProbeError::DoubleArgs => "$arg* can be used only once in the parameters",
            ProbeError::NeedStringType => "$comm and immediate-string only accepts string type",
            ProbeError::TooManyArgs => "Too many arguments are specified",
            ProbeError::EventTooBig => "Event too big (too many fields?)",
            ProbeError::NotProbe | ProbeError::BadRemoval | ProbeError::NoMemory => return None,
        })
    }
}

/// The error `write(2)` returns for a refused line, as mainline's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Errno {
    /// `EINVAL`.
    Inval,
    /// `E2BIG` (`ARG_TOO_LONG`, `TOO_MANY_ARGS`, `EVENT_TOO_BIG`, some `TOO_MANY_OPS`).
    TooBig,
    /// `EOPNOTSUPP` (most `NOSUP_BTFARG`).
    NotSupported,
    /// `ENOMEM` ([`ProbeError::NoMemory`]).
    NoMemory,
}

/// A refused line: why, where the caret of its `error_log` entry goes, and the error of
/// the write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProbeRefusal {
    /// Why.
    pub(crate) err: ProbeError,
    /// The caret position in the logged command ([`ProbeRefusal::write_command`]); 0 for
    /// the refusals that are not logged.
    pub(crate) pos: usize,
    /// What `write(2)` returns.
    pub(crate) errno: Errno,
    /// Whether mainline had expanded the `%pd`/`%pD` arguments when it logged, with
    /// which offsets.
    expanded: Option<DentryOffsets>,
}

impl ProbeRefusal {
    /// A refusal mainline does not log.
    fn unlogged(err: ProbeError, errno: Errno) -> ProbeRefusal {
        ProbeRefusal {
            err,
            pos: 0,
            errno,
            expanded: None,
        }
    }

    /// Writes the command of the `error_log` entry for `line` (the line this refusal is
    /// about): its words joined by single spaces, as mainline logs them.
    pub(crate) fn write_command<W: ByteWrite + ?Sized>(
        &self,
        w: &mut W,
        line: &[u8],
    ) -> fmt::Result {
        write_log_command(w, command(line), self.expanded)
    }
}

// --- What the parser asks the kernel ------------------------------------------------------

/// Whether a `[MOD:]SYM` names a symbol (mainline's `validate_probe_symbol()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SymbolCheck {
    /// Exactly one symbol, or a module that is not loaded (checked when it loads).
    Unique,
    /// No such symbol: `BAD_PROBE_ADDR`.
    NotFound,
    /// Several: `NON_UNIQ_SYMBOL`.
    #[allow(
        dead_code,
        reason = "the module cannot count symbols (see probe_events.rs); host tests do"
    )]
    NotUnique,
}

/// Whether `SYM+OFFS` is a function entry (mainline's `kprobe_on_func_entry()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FuncEntry {
    /// It is (0): `$argN` reads the arguments.
    Entry,
    /// It is not (`-EINVAL`): `BAD_RETPROBE` for a return probe.
    NotEntry,
    /// The symbol is not found (`-ENOENT`, e.g. in a module not loaded yet).
    #[allow(
        dead_code,
        reason = "the module's kernel answers never say it; host tests do"
    )]
    Unknown,
}

/// Offsets of `struct dentry` and `struct file` that the `%pd`/`%pD` expansions use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DentryOffsets {
    /// `offsetof(struct dentry, d_name.name)`.
    pub(crate) name: u64,
    /// `offsetof(struct file, f_path.dentry)`.
    pub(crate) dentry: u64,
}

/// Facts of the running kernel that decide what the parser accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Config {
    /// The largest `N` of `$stackN` and `$argN`: `THREAD_SIZE / sizeof(long)`
    /// (`PARAM_MAX_STACK`).
    pub(crate) max_stack: u64,
    /// For `%pd`/`%pD`.
    pub(crate) dentry: DentryOffsets,
}

impl Config {
    /// x86_64 with 16 KiB stacks and without lock debugging in `struct dentry` and
    /// `struct file`.
    pub(crate) const X86_64: Config = Config {
        max_stack: 16384 / 8,
        dentry: DentryOffsets {
            name: 0x28,
            dentry: 0x48,
        },
    };
}

/// What mainline asks the running kernel while it parses a probe.
pub(crate) trait Kernel {
    /// Whether `symbol` (`[MOD:]SYM`, without offset) names one symbol.
    fn check_symbol(&self, symbol: &[u8]) -> SymbolCheck;

    /// Whether `symbol + offset` is a function entry.
    fn func_entry(&self, symbol: &[u8], offset: u32) -> FuncEntry;

    /// Limits and offsets of the running kernel.
    fn config(&self) -> Config {
        Config::X86_64
    }
}

/// A stand-in for the kernel's symbol table: every symbol that looks like one
/// (`[MOD:]NAME`, `NAME` of letters, digits, `_` and `.`, not starting with a digit or
/// `.`; `MOD` of letters, digits and `_`) exists once, and only its offset 0 is its
/// entry. For tests and syntax checks.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AnySymbol;

impl Kernel for AnySymbol {
    fn check_symbol(&self, symbol: &[u8]) -> SymbolCheck {
        let (module, name) = match split_at_byte(symbol, b':') {
            Some((m, n)) => (Some(m), n),
            None => (None, symbol),
        };
        let module_ok = module.is_none_or(|m| {
            !m.is_empty() && m.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
        });
        let name_ok = match name.split_first() {
            Some((&c, rest)) => {
                (c.is_ascii_alphabetic() || c == b'_')
                    && rest
                        .iter()
                        .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
            }
            None => false,
        };
        if module_ok && name_ok {
            SymbolCheck::Unique
        } else {
            SymbolCheck::NotFound
        }
    }

    fn func_entry(&self, _symbol: &[u8], offset: u32) -> FuncEntry {
        if offset == 0 {
            FuncEntry::Entry
        } else {
            FuncEntry::NotEntry
        }
    }
}

/// Which file a line was written to: they differ in what a removal looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// `kprobe_events`: a line starting with `-` is a removal.
    KprobeEvents,
    /// `dynamic_events`: a line starting with `-` or `!` is a removal.
    DynamicEvents,
}

// --- Output -------------------------------------------------------------------------------

/// Where the renderers write: text that may hold any byte (names and fetch arguments are
/// printed byte for byte, as mainline prints them).
pub(crate) trait ByteWrite {
    /// Appends `bytes`.
    fn write_bytes(&mut self, bytes: &[u8]) -> fmt::Result;
}

/// Lets `write!` format into a [`ByteWrite`].
pub(crate) struct Text<'w, W: ?Sized>(pub(crate) &'w mut W);

impl<W: ByteWrite + ?Sized> fmt::Write for Text<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_bytes(s.as_bytes())
    }
}

/// A short byte string held inline (a name, an expanded argument).
#[derive(Clone, Copy)]
pub(crate) struct SmallBuf<const N: usize> {
    /// The bytes; only the first `len` are meaningful.
    buf: [u8; N],
    /// How many bytes are held (at most `N`).
    len: usize,
}

impl<const N: usize> SmallBuf<N> {
    /// An empty buffer.
    const fn new() -> Self {
        SmallBuf {
            buf: [0; N],
            len: 0,
        }
    }

    /// The held bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl<const N: usize> ByteWrite for SmallBuf<N> {
    /// Keeps what fits; fails if not everything did.
    fn write_bytes(&mut self, bytes: &[u8]) -> fmt::Result {
        let free = self.buf.get_mut(self.len..).unwrap_or(&mut []);
        let n = free.len().min(bytes.len());
        if let (Some(dst), Some(src)) = (free.get_mut(..n), bytes.get(..n)) {
            dst.copy_from_slice(src);
            self.len += n;
        }
        if n == bytes.len() {
            Ok(())
        } else {
            Err(fmt::Error)
        }
    }
}

impl<const N: usize> PartialEq for SmallBuf<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl<const N: usize> Eq for SmallBuf<N> {}

impl<const N: usize> fmt::Debug for SmallBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&Bytes(self.as_bytes()), f)
    }
}

/// Counts what is written to it.
struct Count(usize);

impl ByteWrite for Count {
    fn write_bytes(&mut self, bytes: &[u8]) -> fmt::Result {
        self.0 = self.0.saturating_add(bytes.len());
        Ok(())
    }
}

/// Shows bytes as a string in `Debug` output.
struct Bytes<'a>(&'a [u8]);

impl fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("b\"")?;
        for &c in self.0 {
            for e in core::ascii::escape_default(c) {
                fmt::Write::write_char(f, char::from(e))?;
            }
        }
        f.write_str("\"")
    }
}

// --- The kernel's <linux/ctype.h> and <linux/kstrtox.h> -----------------------------------

/// Mainline's `__is_good_name()`: a letter or `_` (or `-` with `hyphen`), then letters,
/// digits and `_` (and `-`).
fn good_name(name: &[u8], hyphen: bool) -> bool {
    let ok = |c: u8| is_alpha(c) || c == b'_' || (hyphen && c == b'-');
    match name.split_first() {
        Some((&first, rest)) => ok(first) && rest.iter().all(|&c| ok(c) || is_digit(c)),
        None => false,
    }
}

/// Mainline's `is_good_name()`, for event and argument names.
pub(crate) fn is_good_name(name: &[u8]) -> bool {
    good_name(name, false)
}

/// Mainline's `is_good_system_name()`, for group names (`-` is allowed).
pub(crate) fn is_good_system_name(name: &[u8]) -> bool {
    good_name(name, true)
}

/// Why a number did not parse (mainline's `-EINVAL` and `-ERANGE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NumError {
    /// Not a number.
    Invalid,
    /// Out of range.
    Range,
}

/// `_parse_integer_fixup_radix()`: the base, and how many bytes of prefix to skip.
fn fixup_radix(s: &[u8], base: u32) -> (u32, usize) {
    let hex_prefix = at(s, 0) == b'0' && at(s, 1) | 0x20 == b'x';
    let base = match base {
        0 if hex_prefix && at(s, 2).is_ascii_hexdigit() => 16,
        0 if at(s, 0) == b'0' => 8,
        0 => 10,
        b => b,
    };
    (base, if base == 16 && hex_prefix { 2 } else { 0 })
}

/// `_parse_integer()`: the value of the leading digits of `s` (`u64::MAX` once it
/// overflows), how many there are, and whether it overflowed.
fn parse_integer(s: &[u8], base: u32) -> (u64, usize, bool) {
    let (mut res, mut n, mut overflow) = (0u64, 0usize, false);
    for &c in s {
        let lc = c | 0x20;
        let val = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            _ if (b'a'..=b'f').contains(&lc) => u32::from(lc - b'a') + 10,
            _ => break,
        };
        if val >= base {
            break;
        }
        match res
            .checked_mul(u64::from(base))
            .and_then(|r| r.checked_add(u64::from(val)))
        {
            Some(r) => res = r,
            None => {
                res = u64::MAX;
                overflow = true;
            }
        }
        n += 1;
    }
    (res, n, overflow)
}

/// `_kstrtoull()`: all of `s` (one trailing `'\n'` allowed) as a number in `base` (0:
/// `0x` hex, `0` octal, else decimal).
fn kstrtoull_raw(s: &[u8], base: u32) -> Result<u64, NumError> {
    let (base, skip) = fixup_radix(s, base);
    let s = s.get(skip..).unwrap_or(&[]);
    let (v, n, overflow) = parse_integer(s, base);
    if overflow {
        return Err(NumError::Range);
    }
    if n == 0 {
        return Err(NumError::Invalid);
    }
    match s.get(n..).unwrap_or(&[]) {
        [] | [b'\n'] => Ok(v),
        _ => Err(NumError::Invalid),
    }
}

/// `kstrtoull()` and `kstrtoul()`: [`kstrtoull_raw`] after an optional `+`.
fn kstrtoull(s: &[u8], base: u32) -> Result<u64, NumError> {
    kstrtoull_raw(s.strip_prefix(b"+").unwrap_or(s), base)
}

/// `kstrtoll()` and `kstrtol()`: an optional `-` or `+`, then [`kstrtoull_raw`].
fn kstrtoll(s: &[u8], base: u32) -> Result<i64, NumError> {
    match s.strip_prefix(b"-") {
        Some(digits) => {
            let v = kstrtoull_raw(digits, base)?;
            let neg = v.wrapping_neg() as i64;
            if neg > 0 {
                Err(NumError::Range)
            } else {
                Ok(neg)
            }
        }
        None => i64::try_from(kstrtoull(s, base)?).map_err(|_| NumError::Range),
    }
}

/// `kstrtouint()`.
fn kstrtouint(s: &[u8], base: u32) -> Result<u32, NumError> {
    u32::try_from(kstrtoull(s, base)?).map_err(|_| NumError::Range)
}

/// `simple_strtoul()`: the value of the number at the start of `s` (`u64::MAX` once it
/// overflows) and where it ends.
fn simple_strtoul(s: &[u8], base: u32) -> (u64, usize) {
    let (base, skip) = fixup_radix(s, base);
    let (v, n, _) = parse_integer(s.get(skip..).unwrap_or(&[]), base);
    (v, skip + n)
}

/// Mainline's `str_to_immediate()` on what follows the `\` of `\IMM`.
fn str_to_immediate(s: &[u8]) -> Result<u64, NumError> {
    match at(s, 0) {
        c if is_digit(c) => kstrtoull(s, 0),
        b'-' => kstrtoll(s, 0).map(|v| v as u64),
        b'+' => kstrtoll(s.get(1..).unwrap_or(&[]), 0).map(|v| v as u64),
        _ => Err(NumError::Invalid),
    }
}

/// Mainline's `traceprobe_split_symbol_offset()` on the text of a `@SYM[+|-OFFS]`
/// argument ([`Fetch::Symbol`]): the symbol and the offset, or `Err` when the offset is
/// malformed (mainline then fails the registration with `FAIL_REG_PROBE`).
#[allow(
    dead_code,
    reason = "for `@SYM` arguments, which the module does not resolve yet"
)]
pub(crate) fn split_symbol_offset(text: &[u8]) -> Result<(&[u8], i64), ()> {
    match text.iter().position(|&c| c == b'+' || c == b'-') {
        Some(i) => {
            let offset = kstrtoll(text.get(i..).unwrap_or(&[]), 0).map_err(|_| ())?;
            Ok((text.get(..i).unwrap_or(&[]), offset))
        }
        None => Ok((text, 0)),
    }
}

// --- Words ------------------------------------------------------------------------------

/// Splits `s` around the first `sep`, which belongs to neither part.
fn split_at_byte(s: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|&c| c == sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// The part of a written line that mainline parses: up to its first NUL (C strings end
/// there) and its first `#` (`trace_parse_run_command()` cuts comments).
pub(crate) fn command(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .position(|&c| c == 0 || c == b'#')
        .unwrap_or(line.len());
    line.get(..end).unwrap_or(&[])
}

/// The words of `s`, as `argv_split()` splits them.
fn words(s: &[u8]) -> impl Iterator<Item = &[u8]> + Clone {
    s.split(|&c| is_space(c)).filter(|w| !w.is_empty())
}

/// The text of `s` after its first `n` words.
fn after_words(s: &[u8], n: usize) -> &[u8] {
    let mut rest = s;
    for _ in 0..n {
        let start = rest
            .iter()
            .position(|&c| !is_space(c))
            .unwrap_or(rest.len());
        let rest2 = rest.get(start..).unwrap_or(&[]);
        let end = rest2
            .iter()
            .position(|&c| is_space(c))
            .unwrap_or(rest2.len());
        rest = rest2.get(end..).unwrap_or(&[]);
    }
    rest
}

/// The length of word `word` (the argument at `index`) in the logged command: its
/// expansion when it is a `%pd`/`%pD` argument and mainline has expanded them.
fn logged_len(word: &[u8], index: usize, expanded: Option<DentryOffsets>) -> usize {
    match (index >= 2, expanded, Dentry::of(word)) {
        (true, Some(offs), Some(d)) => d.len(offs),
        _ => word.len(),
    }
}

/// Mainline's `__trace_probe_log_err()` position: where the caret goes for an error at
/// `offset` in word `index` of `cmd`, in the words joined by single spaces. An `index`
/// past the last word puts it one past the end of the command and its space.
fn log_pos(cmd: &[u8], index: usize, offset: usize, expanded: Option<DentryOffsets>) -> usize {
    let (mut len, mut pos, mut argc) = (0usize, 0usize, 0usize);
    for (i, word) in words(cmd).enumerate() {
        if i == index {
            pos = len;
        }
        len = len.saturating_add(logged_len(word, i, expanded).saturating_add(1));
        argc = i + 1;
    }
    if index >= argc {
        len
    } else {
        pos.saturating_add(offset)
    }
}

/// Writes the command mainline logs: the words of `cmd` joined by single spaces.
fn write_log_command<W: ByteWrite + ?Sized>(
    w: &mut W,
    cmd: &[u8],
    expanded: Option<DentryOffsets>,
) -> fmt::Result {
    for (i, word) in words(cmd).enumerate() {
        if i > 0 {
            w.write_bytes(b" ")?;
        }
        match (i >= 2, expanded, Dentry::of(word)) {
            (true, Some(offs), Some(d)) => d.write(w, offs)?,
            _ => w.write_bytes(word)?,
        }
    }
    Ok(())
}

/// A `[NAME=]TARGET:%pd` or `[NAME=]TARGET:%pD` argument, which mainline's
/// `traceprobe_expand_dentry_args()` rewrites before parsing.
#[derive(Clone, Copy)]
struct Dentry<'a> {
    /// The `NAME` before the first `=`, if any.
    name: Option<&'a [u8]>,
    /// What the name of the dentry (`%pd`) or of the file (`%pD`) is fetched from.
    target: &'a [u8],
    /// `%pD`: the target is a `struct file *`.
    file: bool,
}

impl<'a> Dentry<'a> {
    /// The expansion `word` asks for, if it matches the glob `*:%p[dD]`.
    fn of(word: &'a [u8]) -> Option<Dentry<'a>> {
        let (head, tail) = word.split_at_checked(word.len().checked_sub(4)?)?;
        let file = match tail {
            b":%pd" => false,
            b":%pD" => true,
            _ => return None,
        };
        let (name, target) = match split_at_byte(head, b'=') {
            Some((name, target)) => (Some(name), target),
            None => (None, head),
        };
        Some(Dentry { name, target, file })
    }

    /// Writes the expansion without its `NAME=`:
    /// `+0x0(+0xNAME(TARGET)):string` or `+0x0(+0xNAME(+0xDENTRY(TARGET))):string`.
    fn write_body<W: ByteWrite + ?Sized>(&self, w: &mut W, offs: DentryOffsets) -> fmt::Result {
        fmt::Write::write_fmt(&mut Text(&mut *w), format_args!("+0x0(+0x{:x}(", offs.name))?;
        if self.file {
            fmt::Write::write_fmt(&mut Text(&mut *w), format_args!("+0x{:x}(", offs.dentry))?;
        }
        w.write_bytes(self.target)?;
        w.write_bytes(if self.file {
            b"))):string"
        } else {
            b")):string"
        })
    }

    /// Writes the whole expanded argument.
    fn write<W: ByteWrite + ?Sized>(&self, w: &mut W, offs: DentryOffsets) -> fmt::Result {
        if let Some(name) = self.name {
            w.write_bytes(name)?;
            w.write_bytes(b"=")?;
        }
        self.write_body(w, offs)
    }

    /// The length of the expanded argument.
    fn len(&self, offs: DentryOffsets) -> usize {
        let mut n = Count(0);
        // `Count` never fails.
        let _ = self.write(&mut n, offs);
        n.0
    }

    /// The length of the expansion without its `NAME=`.
    fn body_len(&self, offs: DentryOffsets) -> usize {
        let mut n = Count(0);
        // `Count` never fails.
        let _ = self.write_body(&mut n, offs);
        n.0
    }

    /// Where the target starts in the expansion without its `NAME=`.
    fn target_at(&self, offs: DentryOffsets) -> usize {
        self.body_len(offs)
            .saturating_sub(self.target.len())
            .saturating_sub(if self.file { 10 } else { 9 })
    }
}

// --- Types and registers ----------------------------------------------------------------

/// The type of a fetched value (mainline's `probe_fetch_types`). A bitfield
/// `b<bits>@<offset>/<container>` has the type of its container (`u8` ... `u64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FetchType {
    /// `string`: a kernel string, stored as `__data_loc char[]`.
    String,
    /// `ustring`: a user-space string.
    UString,
    /// `symstr`: the symbol an address is in, as text.
    SymStr,
    /// `u8`.
    U8,
    /// `u16`.
    U16,
    /// `u32`.
    U32,
    /// `u64`.
    U64,
    /// `s8`.
    S8,
    /// `s16`.
    S16,
    /// `s32`.
    S32,
    /// `s64`.
    S64,
    /// `x8`: a `u8` printed in hexadecimal.
    X8,
    /// `x16`.
    X16,
    /// `x32`.
    X32,
    /// `x64` (the default type).
    X64,
    /// `char`: a `u8` printed as a character.
    Char,
    /// `symbol`: an address printed as `symbol+offset/size` (`%pS`).
    Symbol,
}

impl FetchType {
    /// Every type, in mainline's table order.
    pub(crate) const ALL: [FetchType; 17] = [
        FetchType::String,
        FetchType::UString,
        FetchType::SymStr,
        FetchType::U8,
        FetchType::U16,
        FetchType::U32,
        FetchType::U64,
        FetchType::S8,
        FetchType::S16,
        FetchType::S32,
        FetchType::S64,
        FetchType::X8,
        FetchType::X16,
        FetchType::X32,
        FetchType::X64,
        FetchType::Char,
        FetchType::Symbol,
    ];

    /// The type's name in a probe definition.
    pub(crate) fn name(self) -> &'static str {
        match self {
            FetchType::String => "string",
            FetchType::UString => "ustring",
            FetchType::SymStr => "symstr",
            FetchType::U8 => "u8",
            FetchType::U16 => "u16",
            FetchType::U32 => "u32",
            FetchType::U64 => "u64",
            FetchType::S8 => "s8",
            FetchType::S16 => "s16",
            FetchType::S32 => "s32",
            FetchType::S64 => "s64",
            FetchType::X8 => "x8",
            FetchType::X16 => "x16",
            FetchType::X32 => "x32",
            FetchType::X64 => "x64",
            FetchType::Char => "char",
            FetchType::Symbol => "symbol",
        }
    }

    /// The type named `name`.
    fn from_name(name: &[u8]) -> Option<FetchType> {
        FetchType::ALL
            .into_iter()
            .find(|t| t.name().as_bytes() == name)
    }

    /// Size in the record: 4 for the strings (their `__data_loc`).
    pub(crate) fn size(self) -> usize {
        match self {
            FetchType::U8 | FetchType::S8 | FetchType::X8 | FetchType::Char => 1,
            FetchType::U16 | FetchType::S16 | FetchType::X16 => 2,
            FetchType::U32 | FetchType::S32 | FetchType::X32 => 4,
            FetchType::String | FetchType::UString | FetchType::SymStr => 4,
            FetchType::U64 | FetchType::S64 | FetchType::X64 | FetchType::Symbol => 8,
        }
    }

    /// The `signed:` of the format file (mainline declares the strings signed).
    pub(crate) fn signed(self) -> bool {
        matches!(
            self,
            FetchType::S8
                | FetchType::S16
                | FetchType::S32
                | FetchType::S64
                | FetchType::String
                | FetchType::UString
                | FetchType::SymStr
        )
    }

    /// Whether values are strings stored after the fixed fields.
    pub(crate) fn is_string(self) -> bool {
        matches!(
            self,
            FetchType::String | FetchType::UString | FetchType::SymStr
        )
    }

    /// The C type of the field in the format file (`fmttype`).
    pub(crate) fn c_type(self) -> &'static str {
        match self {
            FetchType::String | FetchType::UString | FetchType::SymStr => "__data_loc char[]",
            FetchType::U8 | FetchType::X8 | FetchType::Char => "u8",
            FetchType::U16 | FetchType::X16 => "u16",
            FetchType::U32 | FetchType::X32 => "u32",
            FetchType::U64 | FetchType::X64 | FetchType::Symbol => "u64",
            FetchType::S8 => "s8",
            FetchType::S16 => "s16",
            FetchType::S32 => "s32",
            FetchType::S64 => "s64",
        }
    }

    /// The conversion of the value in the `print fmt` (`fmt`).
    pub(crate) fn printf(self) -> &'static str {
        match self {
            FetchType::String | FetchType::UString | FetchType::SymStr => "\\\"%s\\\"",
            FetchType::U8 | FetchType::U16 | FetchType::U32 => "%u",
            FetchType::U64 => "%Lu",
            FetchType::S8 | FetchType::S16 | FetchType::S32 => "%d",
            FetchType::S64 => "%Ld",
            FetchType::X8 | FetchType::X16 | FetchType::X32 => "0x%x",
            FetchType::X64 => "0x%Lx",
            FetchType::Char => "'%c'",
            FetchType::Symbol => "%pS",
        }
    }
}

/// An x86_64 register, as `%NAME` names it (mainline's `regoffset_table`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Register {
    /// `%r15`.
    R15,
    /// `%r14`.
    R14,
    /// `%r13`.
    R13,
    /// `%r12`.
    R12,
    /// `%r11`.
    R11,
    /// `%r10`.
    R10,
    /// `%r9`.
    R9,
    /// `%r8`.
    R8,
    /// `%bx`.
    Bx,
    /// `%cx`.
    Cx,
    /// `%dx`.
    Dx,
    /// `%si`.
    Si,
    /// `%di`.
    Di,
    /// `%bp`.
    Bp,
    /// `%ax`.
    Ax,
    /// `%orig_ax`.
    OrigAx,
    /// `%ip`.
    Ip,
    /// `%cs`.
    Cs,
    /// `%flags`.
    Flags,
    /// `%sp`.
    Sp,
    /// `%ss`.
    Ss,
}

impl Register {
    /// Every register, in mainline's table order.
    pub(crate) const ALL: [Register; 21] = [
        Register::R15,
        Register::R14,
        Register::R13,
        Register::R12,
        Register::R11,
        Register::R10,
        Register::R9,
        Register::R8,
        Register::Bx,
        Register::Cx,
        Register::Dx,
        Register::Si,
        Register::Di,
        Register::Bp,
        Register::Ax,
        Register::OrigAx,
        Register::Ip,
        Register::Cs,
        Register::Flags,
        Register::Sp,
        Register::Ss,
    ];

    /// The name after `%`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Register::R15 => "r15",
            Register::R14 => "r14",
            Register::R13 => "r13",
            Register::R12 => "r12",
            Register::R11 => "r11",
            Register::R10 => "r10",
            Register::R9 => "r9",
            Register::R8 => "r8",
            Register::Bx => "bx",
            Register::Cx => "cx",
            Register::Dx => "dx",
            Register::Si => "si",
            Register::Di => "di",
            Register::Bp => "bp",
            Register::Ax => "ax",
            Register::OrigAx => "orig_ax",
            Register::Ip => "ip",
            Register::Cs => "cs",
            Register::Flags => "flags",
            Register::Sp => "sp",
            Register::Ss => "ss",
        }
    }

    /// Offset of the register in x86_64's `struct pt_regs`
    /// (`regs_query_register_offset()`).
    pub(crate) fn offset(self) -> usize {
        8 * match self {
            Register::R15 => 0,
            Register::R14 => 1,
            Register::R13 => 2,
            Register::R12 => 3,
            Register::Bp => 4,
            Register::Bx => 5,
            Register::R11 => 6,
            Register::R10 => 7,
            Register::R9 => 8,
            Register::R8 => 9,
            Register::Ax => 10,
            Register::Cx => 11,
            Register::Dx => 12,
            Register::Si => 13,
            Register::Di => 14,
            Register::OrigAx => 15,
            Register::Ip => 16,
            Register::Cs => 17,
            Register::Flags => 18,
            Register::Sp => 19,
            Register::Ss => 20,
        }
    }

    /// The register named `name`.
    fn from_name(name: &[u8]) -> Option<Register> {
        Register::ALL
            .into_iter()
            .find(|r| r.name().as_bytes() == name)
    }
}

// --- Fetch programs -----------------------------------------------------------------------

/// One instruction of a fetch program, mainline's `struct fetch_insn`: a load, then
/// dereferences, a store of the value's type, and optionally a bitfield and an array
/// loop. `T` is the text of [`Fetch::Data`] and [`Fetch::Symbol`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fetch<T> {
    /// An unused slot (`FETCH_OP_NOP`).
    Nop,
    /// Load a register (`%REG`).
    Reg(Register),
    /// Load the `N`th word of the stack (`$stackN`).
    Stack(u32),
    /// Load the stack pointer (`$stack`).
    StackPointer,
    /// Load the return value (`$retval`).
    Retval,
    /// Load an immediate (`\IMM`, the address of `@ADDR`, the resolved `@SYM`).
    Imm(u64),
    /// Load the address of the current task's `comm` (`$comm`).
    Comm,
    /// Load the `N`th argument of the probed function, `N` from 1 (`$argN` on a function
    /// entry; the first six are registers on x86_64, the rest on the stack).
    Arg(u32),
    /// Load the `N`th argument as the function entry saw it (`$argN` in a return probe:
    /// the caller saves it on entry).
    EntryArg(u32),
    /// Load the address of an immediate string (`\"STRING"`, the text between the
    /// quotes).
    Data(T),
    /// The text of `@SYM[+|-OFFS]`, resolved at registration into the [`Fetch::Imm`]
    /// that follows ([`split_symbol_offset`]).
    Symbol(T),
    /// Load the word at value + offset.
    Deref(i32),
    /// Load the user-space word at value + offset (`+uOFFS(...)`).
    UDeref(i32),
    /// Store the value, `size` bytes.
    StRaw(u32),
    /// Store `size` bytes read at value + offset.
    StMem(i32, u32),
    /// Store `size` bytes read at user-space value + offset.
    StUMem(i32, u32),
    /// Store the string at value + offset.
    StString(i32, u32),
    /// Store the user-space string at value + offset.
    StUString(i32, u32),
    /// Store the name of the symbol the value points into.
    StSymStr(u32),
    /// Keep bits of the stored value: `(v << lshift) >> rshift` in `basesize` bytes.
    ModBitfield {
        /// Size of the container.
        basesize: u8,
        /// Left shift.
        lshift: u8,
        /// Right shift.
        rshift: u8,
    },
    /// Repeat the store for `N` elements (`TYPE[N]`).
    LoopArray(u32),
    /// The end of the program.
    End,
}

impl<T> Fetch<T> {
    /// The same instruction with its text mapped by `f`.
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Fetch<U> {
        match self {
            Fetch::Nop => Fetch::Nop,
            Fetch::Reg(r) => Fetch::Reg(r),
            Fetch::Stack(n) => Fetch::Stack(n),
            Fetch::StackPointer => Fetch::StackPointer,
            Fetch::Retval => Fetch::Retval,
            Fetch::Imm(v) => Fetch::Imm(v),
            Fetch::Comm => Fetch::Comm,
            Fetch::Arg(n) => Fetch::Arg(n),
            Fetch::EntryArg(n) => Fetch::EntryArg(n),
            Fetch::Data(t) => Fetch::Data(f(t)),
            Fetch::Symbol(t) => Fetch::Symbol(f(t)),
            Fetch::Deref(o) => Fetch::Deref(o),
            Fetch::UDeref(o) => Fetch::UDeref(o),
            Fetch::StRaw(s) => Fetch::StRaw(s),
            Fetch::StMem(o, s) => Fetch::StMem(o, s),
            Fetch::StUMem(o, s) => Fetch::StUMem(o, s),
            Fetch::StString(o, s) => Fetch::StString(o, s),
            Fetch::StUString(o, s) => Fetch::StUString(o, s),
            Fetch::StSymStr(s) => Fetch::StSymStr(s),
            Fetch::ModBitfield {
                basesize,
                lshift,
                rshift,
            } => Fetch::ModBitfield {
                basesize,
                lshift,
                rshift,
            },
            Fetch::LoopArray(n) => Fetch::LoopArray(n),
            Fetch::End => Fetch::End,
        }
    }
}

/// A range of bytes of a fetch argument's text (at most [`MAX_ARGSTR_LEN`] bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    /// First byte.
    start: u8,
    /// One past the last byte.
    end: u8,
}

impl Span {
    /// The bytes `start..end` (clamped, though a fetch argument is never that long).
    fn new(start: usize, end: usize) -> Span {
        let clamp = |n: usize| u8::try_from(n).unwrap_or(u8::MAX);
        Span {
            start: clamp(start),
            end: clamp(end),
        }
    }

    /// The range, shifted back by `by`.
    fn range(self, by: usize) -> core::ops::Range<usize> {
        usize::from(self.start).saturating_sub(by)..usize::from(self.end).saturating_sub(by)
    }
}

/// A fetch program being built, as mainline's `fetch_insn` array and cursor.
struct Code {
    /// The slots; the last one holds [`Fetch::End`].
    ops: [Fetch<Span>; FETCH_INSN_MAX],
    /// The slot the cursor is at.
    at: usize,
}

impl Code {
    /// Empty slots, the last one [`Fetch::End`].
    fn new() -> Code {
        let mut ops = [Fetch::Nop; FETCH_INSN_MAX];
        if let Some(last) = ops.last_mut() {
            *last = Fetch::End;
        }
        Code { ops, at: 0 }
    }

    /// The instruction at the cursor.
    fn cur(&self) -> Fetch<Span> {
        self.ops.get(self.at).copied().unwrap_or(Fetch::End)
    }

    /// Puts `op` at the cursor.
    fn set(&mut self, op: Fetch<Span>) {
        if let Some(slot) = self.ops.get_mut(self.at) {
            *slot = op;
        }
    }

    /// Mainline's `++code == end` test, inverted: moves on, unless that reaches the last
    /// slot.
    fn advance(&mut self) -> bool {
        self.at += 1;
        self.at < FETCH_INSN_MAX - 1
    }

    /// Mainline's `code++; if (code->op != FETCH_OP_NOP)` test, inverted: moves on to a
    /// free slot.
    fn next_free(&mut self) -> bool {
        self.at += 1;
        self.cur() == Fetch::Nop
    }
}

/// An error in one argument: what, at which byte of the argument (as mainline expanded
/// it), and the errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ArgError {
    /// What.
    err: ProbeError,
    /// Where in the argument.
    at: usize,
    /// What `write(2)` returns.
    errno: Errno,
}

/// An [`ArgError`] with `EINVAL`.
fn inval(err: ProbeError, at: usize) -> ArgError {
    ArgError {
        err,
        at,
        errno: Errno::Inval,
    }
}

/// What the parse of an argument depends on besides its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ArgCtx {
    /// The probe is on a function entry (mainline's `TPARG_FL_FENTRY`).
    entry: bool,
    /// The probe is a return probe on a symbol (`TPARG_FL_RETURN`).
    ret: bool,
    /// The running kernel.
    cfg: Config,
}

/// Mainline's `parse_probe_vars()` on `arg` (which starts with `$`), at `off`.
fn parse_probe_vars(arg: &[u8], off: usize, ctx: &ArgCtx) -> Result<Fetch<Span>, ArgError> {
    let var = arg.get(1..).unwrap_or(&[]);
    let bad = |err| Err(inval(err, off));
    if var.starts_with(b"retval") {
        return if ctx.ret {
            Ok(Fetch::Retval)
        } else {
            bad(ProbeError::RetvalOnProbe)
        };
    }
    if let Some(n) = var.strip_prefix(b"stack") {
        if n.is_empty() {
            return Ok(Fetch::StackPointer);
        }
        if !is_digit(at(n, 0)) {
            return bad(ProbeError::BadVar);
        }
        return match kstrtoull(n, 10) {
            Err(_) => bad(ProbeError::BadVar),
            Ok(n) if n > ctx.cfg.max_stack => bad(ProbeError::BadStackNum),
            Ok(n) => Ok(Fetch::Stack(n as u32)),
        };
    }
    if var == b"comm" || var == b"COMM" {
        return Ok(Fetch::Comm);
    }
    if let Some(n) = var.strip_prefix(b"arg") {
        return match kstrtoull(n, 10) {
            Err(_) => bad(ProbeError::BadVar),
            Ok(n) if n == 0 || n > ctx.cfg.max_stack => bad(ProbeError::BadArgNum),
            Ok(n) if ctx.entry => Ok(Fetch::Arg(n as u32)),
            Ok(n) if ctx.ret => Ok(Fetch::EntryArg(n as u32)),
            Ok(_) => bad(ProbeError::NofentryArgs),
        };
    }
    bad(ProbeError::BadVar)
}

/// Mainline's `parse_probe_arg()`: compiles `arg`, which starts at byte `base` of the
/// fetch argument, into `code` at its cursor. `off` is mainline's `ctx->offset`, where
/// errors are reported, which dereferences move as mainline moves it.
fn parse_probe_arg(
    arg: &[u8],
    base: usize,
    code: &mut Code,
    off: &mut usize,
    ctx: &ArgCtx,
) -> Result<(), ArgError> {
    match at(arg, 0) {
        b'$' => code.set(parse_probe_vars(arg, *off, ctx)?),
        b'%' => match Register::from_name(arg.get(1..).unwrap_or(&[])) {
            Some(r) => code.set(Fetch::Reg(r)),
            None => return Err(inval(ProbeError::BadRegName, *off)),
        },
        b'@' => {
            if is_digit(at(arg, 1)) {
                match kstrtoull(arg.get(1..).unwrap_or(&[]), 0) {
                    Ok(addr) => code.set(Fetch::Imm(addr)),
                    Err(_) => return Err(inval(ProbeError::BadMemAddr, *off)),
                }
            } else if at(arg, 1) == b'+' {
                return Err(inval(ProbeError::FileOnKprobe, *off));
            } else {
                code.set(Fetch::Symbol(Span::new(base + 1, base + arg.len())));
                if !code.advance() {
                    return Err(inval(ProbeError::TooManyOps, *off));
                }
                code.set(Fetch::Imm(0));
            }
            if !code.advance() {
                return Err(inval(ProbeError::TooManyOps, *off));
            }
            code.set(Fetch::Deref(0));
        }
        sign @ (b'+' | b'-') => parse_deref(arg, base, sign, code, off, ctx)?,
        b'\\' => {
            if at(arg, 1) == b'"' {
                let s = arg.get(2..).unwrap_or(&[]);
                if s.last() != Some(&b'"') {
                    return Err(inval(ProbeError::ImmstrNoClose, *off + 2 + s.len()));
                }
                code.set(Fetch::Data(Span::new(base + 2, base + 1 + s.len())));
            } else {
                match str_to_immediate(arg.get(1..).unwrap_or(&[])) {
                    Ok(v) => code.set(Fetch::Imm(v)),
                    Err(_) => return Err(inval(ProbeError::BadImm, *off + 1)),
                }
            }
        }
        b'(' => {
            return Err(ArgError {
                err: ProbeError::NosupBtfarg,
                at: *off,
                errno: Errno::NotSupported,
            })
        }
        c if is_alpha(c) || c == b'_' => {
            return Err(ArgError {
                err: ProbeError::NosupBtfarg,
                at: *off,
                errno: if ctx.entry || ctx.ret {
                    Errno::NotSupported
                } else {
                    Errno::Inval
                },
            })
        }
        _ => {}
    }
    if code.cur() == Fetch::Nop {
        return Err(inval(ProbeError::BadFetchArg, *off));
    }
    Ok(())
}

/// The `+|-[u]OFFS(FETCHARG)` case of [`parse_probe_arg`], `sign` the first byte.
fn parse_deref(
    arg: &[u8],
    base: usize,
    sign: u8,
    code: &mut Code,
    off: &mut usize,
    ctx: &ArgCtx,
) -> Result<(), ArgError> {
    // Mainline moves its `arg` past `u` (copying the sign there) and past a `+`; `i` is
    // where it then points, and `neg` whether the byte there is (now) `-`.
    let user = at(arg, 1) == b'u';
    let i = usize::from(user) + usize::from(sign == b'+');
    let neg = sign == b'-';
    let rest = arg.get(i..).unwrap_or(&[]);
    let Some(p) = rest.iter().position(|&c| c == b'(') else {
        return Err(inval(ProbeError::DerefNeedBrace, *off));
    };
    let offset = if user && neg {
        kstrtoull_raw(rest.get(1..p).unwrap_or(&[]), 0).and_then(|v| {
            let v = v.wrapping_neg() as i64;
            if v > 0 {
                Err(NumError::Range)
            } else {
                Ok(v)
            }
        })
    } else {
        kstrtoll(rest.get(..p).unwrap_or(&[]), 0)
    };
    let Ok(offset) = offset else {
        return Err(inval(ProbeError::BadDerefOffs, *off));
    };
    let first = if user && neg { b'-' } else { at(rest, 0) };
    *off += p + 1 + usize::from(first != b'-');
    let inner = rest.get(p + 1..).unwrap_or(&[]);
    let Some(q) = inner.iter().rposition(|&c| c == b')') else {
        return Err(inval(ProbeError::DerefOpenBrace, *off + inner.len()));
    };
    let cur = *off;
    parse_probe_arg(
        inner.get(..q).unwrap_or(&[]),
        base + i + p + 1,
        code,
        off,
        ctx,
    )?;
    *off = cur;
    if matches!(code.cur(), Fetch::Comm | Fetch::Data(_)) {
        return Err(inval(ProbeError::CommCantDeref, *off));
    }
    if !code.advance() {
        return Err(inval(ProbeError::TooManyOps, *off));
    }
    // Mainline keeps the offset in an `int`.
    let offset = offset as i32;
    code.set(if user {
        Fetch::UDeref(offset)
    } else {
        Fetch::Deref(offset)
    });
    Ok(())
}

/// Mainline's `find_fetch_type()`: `None` is the default type, `b.../N` a bitfield in a
/// `uN`.
fn find_fetch_type(t: Option<&[u8]>) -> Option<FetchType> {
    let t = t.unwrap_or(b"x64");
    if at(t, 0) != b'b' {
        return FetchType::from_name(t);
    }
    let (_, bits) = split_at_byte(t, b'/')?;
    match kstrtoull(bits, 0).ok()? {
        8 => Some(FetchType::U8),
        16 => Some(FetchType::U16),
        32 => Some(FetchType::U32),
        64 => Some(FetchType::U64),
        _ => None,
    }
}

/// Mainline's `__parse_bitfield_probe_arg()`: for a type `b<bits>@<offset>/<size>`, adds
/// the bitfield instruction after the store; other types need none.
fn parse_bitfield(t: &[u8], size: usize, code: &mut Code) -> Result<(), ()> {
    if at(t, 0) != b'b' {
        return Ok(());
    }
    let s = t.get(1..).unwrap_or(&[]);
    let (bw, end) = simple_strtoul(s, 0);
    if bw == 0 || at(s, end) != b'@' {
        return Err(());
    }
    let s = s.get(end + 1..).unwrap_or(&[]);
    let (bo, end) = simple_strtoul(s, 0);
    if end == 0 || at(s, end) != b'/' {
        return Err(());
    }
    if !code.next_free() {
        return Err(());
    }
    let bits = 8 * size as u64;
    code.set(Fetch::ModBitfield {
        basesize: size as u8,
        lshift: bits.wrapping_sub(bw.wrapping_add(bo)) as u8,
        rshift: bits.wrapping_sub(bw) as u8,
    });
    if bits < bw.wrapping_add(bo) {
        Err(())
    } else {
        Ok(())
    }
}

/// Mainline's `finalize_fetch_insn()`: the store, bitfield and loop instructions after
/// the loads. `t` is the type as written, at `type_at` in the argument; `off` is where
/// mainline's `ctx->offset` was left.
fn finalize(
    code: &mut Code,
    ty: FetchType,
    count: u32,
    t: Option<&[u8]>,
    type_at: usize,
    off: usize,
) -> Result<(), ArgError> {
    let type_err = |err| inval(err, off + type_at);
    let too_many = |errno| ArgError {
        err: ProbeError::TooManyOps,
        at: off,
        errno,
    };
    let size = ty.size() as u32;
    let last = code.cur();
    if ty.is_string() {
        if ty == FetchType::SymStr {
            if !matches!(
                last,
                Fetch::Reg(_) | Fetch::Stack(_) | Fetch::Retval | Fetch::Arg(_) | Fetch::Deref(_)
            ) {
                return Err(type_err(ProbeError::BadSymstring));
            }
        } else if !matches!(
            last,
            Fetch::Deref(_) | Fetch::UDeref(_) | Fetch::Imm(_) | Fetch::Comm | Fetch::Data(_)
        ) {
            return Err(type_err(ProbeError::BadString));
        }
        if (ty == FetchType::SymStr
            || matches!(last, Fetch::Imm(_) | Fetch::Comm | Fetch::Data(_))
            || count != 0)
            && !code.next_free()
        {
            return Err(too_many(Errno::Inval));
        }
        let here = code.cur();
        let offset = match here {
            Fetch::Deref(o) | Fetch::UDeref(o) => o,
            _ => 0,
        };
        code.set(
            if ty == FetchType::UString || matches!(here, Fetch::UDeref(_)) {
                Fetch::StUString(offset, size)
            } else if ty == FetchType::SymStr {
                Fetch::StSymStr(size)
            } else {
                Fetch::StString(offset, size)
            },
        );
    } else if let Fetch::Deref(o) = last {
        code.set(Fetch::StMem(o, size));
    } else if let Fetch::UDeref(o) = last {
        code.set(Fetch::StUMem(o, size));
    } else {
        if !code.next_free() {
            return Err(too_many(Errno::TooBig));
        }
        code.set(Fetch::StRaw(size));
    }
    let store = code.cur();
    if let Some(t) = t {
        parse_bitfield(t, ty.size(), code).map_err(|()| type_err(ProbeError::BadBitfield))?;
    }
    if count != 0 {
        if !matches!(
            store,
            Fetch::StMem(..) | Fetch::StString(..) | Fetch::StUString(..)
        ) {
            return Err(type_err(ProbeError::BadString));
        }
        if !code.next_free() {
            return Err(too_many(Errno::TooBig));
        }
        code.set(Fetch::LoopArray(count));
    }
    code.at += 1;
    code.set(Fetch::End);
    Ok(())
}

/// A fetch argument compiled: its type, array length and program.
struct Compiled {
    /// The type.
    ty: FetchType,
    /// The array length, 0 when not an array.
    count: u32,
    /// The program.
    code: Code,
}

/// Mainline's `traceprobe_parse_probe_arg_body()` from the type on, on `body` (at most
/// [`MAX_ARGSTR_LEN`] bytes): the type and array (`parse_probe_arg_type()`), the fetch
/// argument, the size, the store. `size_before` is the size of the earlier arguments.
fn compile(body: &[u8], size_before: usize, ctx: &ArgCtx) -> Result<Compiled, ArgError> {
    let (arg, mut t) = match split_at_byte(body, b':') {
        Some((arg, t)) => (arg, Some(t)),
        None => (body, None),
    };
    let type_at = t.map_or(0, |_| arg.len() + 1);
    let mut count = 0;
    if let Some(tt) = t {
        if let Some((name, array)) = split_at_byte(tt, b'[') {
            let num_at = type_at + name.len() + 1;
            let Some((num, suffix)) = split_at_byte(array, b']') else {
                return Err(inval(ProbeError::ArrayNoClose, body.len()));
            };
            if !suffix.is_empty() {
                return Err(inval(ProbeError::BadArraySuffix, num_at + num.len() + 1));
            }
            count = match kstrtouint(num, 0) {
                Ok(0) | Err(_) => return Err(inval(ProbeError::BadArrayNum, num_at)),
                Ok(n) if n > MAX_ARRAY_LEN => return Err(inval(ProbeError::ArrayTooBig, num_at)),
                Ok(n) => n,
            };
            t = Some(name);
        }
    }
    let ty = if arg == b"$comm" || arg == b"$COMM" || arg.starts_with(b"\\\"") {
        if count != 0 || t.is_some_and(|t| t != b"string") {
            return Err(inval(ProbeError::NeedStringType, type_at));
        }
        FetchType::String
    } else {
        find_fetch_type(t).ok_or(inval(ProbeError::BadType, type_at))?
    };
    let mut code = Code::new();
    let mut off = 0;
    parse_probe_arg(arg, 0, &mut code, &mut off, ctx)?;
    let size = size_before + ty.size() * count.max(1) as usize;
    if size > MAX_PROBE_EVENT_SIZE {
        return Err(ArgError {
            err: ProbeError::EventTooBig,
            at: off,
            errno: Errno::TooBig,
        });
    }
    finalize(&mut code, ty, count, t, type_at, off)?;
    Ok(Compiled { ty, count, code })
}

/// An argument name (at most [`MAX_ARG_NAME_LEN`] bytes).
pub(crate) type ArgName = SmallBuf<MAX_ARG_NAME_LEN>;

/// The name of argument `idx` (from 0) written as `word`: what precedes its first `=`, or
/// `argN`. `None` when too long.
fn arg_name(word: &[u8], idx: usize) -> Option<ArgName> {
    let mut name = ArgName::new();
    match split_at_byte(word, b'=') {
        Some((given, _)) => name.write_bytes(given).ok()?,
        None => fmt::Write::write_fmt(&mut Text(&mut name), format_args!("arg{}", idx + 1)).ok()?,
    }
    Some(name)
}

/// The text of a fetch argument: borrowed from the line, or a `%pd`/`%pD` expansion.
#[derive(Clone, Copy)]
enum ArgText<'a> {
    /// As written.
    Plain(&'a [u8]),
    /// Expanded: the expansion, and where in it the target (borrowed) starts.
    Dentry {
        /// The expansion (without `NAME=`).
        text: SmallBuf<MAX_ARGSTR_LEN>,
        /// The target, as written.
        target: &'a [u8],
        /// Where the target starts in `text`.
        target_at: usize,
    },
    /// Copied out of the line ([`ProbeArg::kept`]): the text, and the bytes its spans
    /// index (the text itself, or an expansion's target, which starts at `target_at`).
    Kept {
        /// The text.
        text: SmallBuf<MAX_ARGSTR_LEN>,
        /// What the spans index.
        target: SmallBuf<MAX_ARGSTR_LEN>,
        /// Where `target` starts in `text`.
        target_at: usize,
    },
}

impl<'a> ArgText<'a> {
    /// The text.
    fn bytes(&self) -> &[u8] {
        match self {
            ArgText::Plain(b) => b,
            ArgText::Dentry { text, .. } | ArgText::Kept { text, .. } => text.as_bytes(),
        }
    }

    /// The bytes of `span` (spans of an expansion lie in its target).
    fn span(&self, span: Span) -> &[u8] {
        match self {
            ArgText::Plain(b) => b.get(span.range(0)).unwrap_or(&[]),
            ArgText::Dentry {
                target, target_at, ..
            } => target.get(span.range(*target_at)).unwrap_or(&[]),
            ArgText::Kept {
                target, target_at, ..
            } => target.as_bytes().get(span.range(*target_at)).unwrap_or(&[]),
        }
    }

    /// The same text, copied out of the line. `None` if it does not fit, which an
    /// accepted argument always does (its text is at most [`MAX_ARGSTR_LEN`] bytes, an
    /// expansion's target shorter).
    fn kept(&self) -> Option<ArgText<'static>> {
        let copy = |b: &[u8]| {
            let mut buf = SmallBuf::new();
            buf.write_bytes(b).ok().map(|()| buf)
        };
        Some(match *self {
            ArgText::Plain(b) => ArgText::Kept {
                text: copy(b)?,
                target: copy(b)?,
                target_at: 0,
            },
            ArgText::Dentry {
                text,
                target,
                target_at,
            } => ArgText::Kept {
                text,
                target: copy(target)?,
                target_at,
            },
            ArgText::Kept {
                text,
                target,
                target_at,
            } => ArgText::Kept {
                text,
                target,
                target_at,
            },
        })
    }
}

/// One parsed argument of a probe.
#[derive(Clone, Copy)]
pub(crate) struct ProbeArg<'a> {
    /// The name.
    name: ArgName,
    /// The fetch argument (what mainline calls `comm`).
    text: ArgText<'a>,
    /// The type of each value.
    ty: FetchType,
    /// The array length, 0 when not an array.
    count: u32,
    /// Offset of the argument's field among the arguments.
    offset: usize,
    /// The fetch program.
    code: [Fetch<Span>; FETCH_INSN_MAX],
}

impl<'a> ProbeArg<'a> {
    /// The name (`argN` when none was given).
    pub(crate) fn name(&self) -> &[u8] {
        self.name.as_bytes()
    }

    /// The fetch argument, type included, as written (mainline's `comm`; a `%pd`/`%pD`
    /// argument expanded).
    pub(crate) fn comm(&self) -> &[u8] {
        self.text.bytes()
    }

    /// The type of each value.
    pub(crate) fn ty(&self) -> FetchType {
        self.ty
    }

    /// The array length, 0 when not an array.
    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    /// Offset of the argument's field after the probe's fixed header.
    pub(crate) fn offset(&self) -> usize {
        self.offset
    }

    /// Size of the argument's field.
    pub(crate) fn size(&self) -> usize {
        self.ty.size() * self.count.max(1) as usize
    }

    /// The same argument with its text copied out of the line, to keep after the line
    /// is gone (`None` only for an argument the parser did not accept).
    pub(crate) fn kept(&self) -> Option<ProbeArg<'static>> {
        Some(ProbeArg {
            name: self.name,
            text: self.text.kept()?,
            ty: self.ty,
            count: self.count,
            offset: self.offset,
            code: self.code,
        })
    }

    /// The fetch program, up to and including its [`Fetch::End`].
    pub(crate) fn program(&self) -> impl Iterator<Item = Fetch<&[u8]>> + '_ {
        (0..self.program_len()).map(|i| self.op(i))
    }

    /// How many instructions the program has, its [`Fetch::End`] included.
    fn program_len(&self) -> usize {
        self.code
            .iter()
            .position(|op| *op == Fetch::End)
            .map_or(self.code.len(), |i| i + 1)
    }

    /// Instruction `i` of the program, [`Fetch::End`] after its end (an accepted
    /// program has nothing but [`Fetch::Nop`] between its end and the last slot, which
    /// is [`Fetch::End`]; those read as the end too).
    #[inline]
    pub(crate) fn op(&self, i: usize) -> Fetch<&[u8]> {
        match self.code.get(i) {
            Some(Fetch::Nop) | None => {
                if i < self.program_len() {
                    Fetch::Nop
                } else {
                    Fetch::End
                }
            }
            Some(op) => op.map(|span| self.text.span(span)),
        }
    }
}

impl PartialEq for ProbeArg<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.comm() == other.comm()
            && self.ty == other.ty
            && self.count == other.count
            && self.offset == other.offset
            && self.program().eq(other.program())
    }
}

impl Eq for ProbeArg<'_> {}

impl fmt::Debug for ProbeArg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// The program, its texts shown as strings.
        struct Program<'x, 'a>(&'x ProbeArg<'a>);
        impl fmt::Debug for Program<'_, '_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list()
                    .entries(self.0.program().map(|op| op.map(Bytes)))
                    .finish()
            }
        }
        f.debug_struct("ProbeArg")
            .field("name", &self.name)
            .field("comm", &Bytes(self.comm()))
            .field("ty", &self.ty)
            .field("count", &self.count)
            .field("offset", &self.offset)
            .field("program", &Program(self))
            .finish()
    }
}

/// Mainline's `traceprobe_parse_probe_arg()` on argument `idx` (from 0), `word`: the
/// name, then the fetch argument. `used` says whether an earlier argument has a name.
fn parse_arg<'a>(
    word: &'a [u8],
    idx: usize,
    size_before: usize,
    used: &dyn Fn(&[u8]) -> bool,
    ctx: &ArgCtx,
) -> Result<ProbeArg<'a>, ArgError> {
    let eq = word.iter().position(|&c| c == b'=');
    match eq {
        Some(n) if n > MAX_ARG_NAME_LEN => return Err(inval(ProbeError::ArgNameTooLong, 0)),
        Some(0) => return Err(inval(ProbeError::NoArgName, 0)),
        _ => {}
    }
    let name = arg_name(word, idx).ok_or(inval(ProbeError::ArgNameTooLong, 0))?;
    if !is_good_name(name.as_bytes()) {
        return Err(inval(ProbeError::BadArgName, 0));
    }
    if RESERVED_NAMES.contains(&name.as_bytes()) || used(name.as_bytes()) {
        return Err(inval(ProbeError::UsedArgName, 0));
    }
    let body_at = eq.map_or(0, |n| n + 1);
    let text = match Dentry::of(word) {
        Some(d) => {
            let len = d.body_len(ctx.cfg.dentry);
            if len > MAX_ARGSTR_LEN {
                return Err(ArgError {
                    err: ProbeError::ArgTooLong,
                    at: body_at,
                    errno: Errno::TooBig,
                });
            }
            let mut text = SmallBuf::new();
            // It fits: its length was just checked.
            let _ = d.write_body(&mut text, ctx.cfg.dentry);
            ArgText::Dentry {
                text,
                target: d.target,
                target_at: d.target_at(ctx.cfg.dentry),
            }
        }
        None => ArgText::Plain(word.get(body_at..).unwrap_or(&[])),
    };
    let body = text.bytes();
    if body.len() > MAX_ARGSTR_LEN {
        return Err(ArgError {
            err: ProbeError::ArgTooLong,
            at: body_at,
            errno: Errno::TooBig,
        });
    }
    if body.is_empty() {
        return Err(inval(ProbeError::NoArgBody, body_at));
    }
    let c = compile(body, size_before, ctx).map_err(|e| ArgError {
        at: e.at + body_at,
        ..e
    })?;
    Ok(ProbeArg {
        name,
        text,
        ty: c.ty,
        count: c.count,
        offset: size_before,
        code: c.code.ops,
    })
}

// --- Probe definitions --------------------------------------------------------------------

/// Where a probe is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place<'a> {
    /// `[MOD:]SYM[+OFFS]`.
    Symbol {
        /// `[MOD:]SYM`, as written.
        symbol: &'a [u8],
        /// `OFFS`.
        offset: u32,
    },
    /// An address.
    Address(u64),
}

impl Place<'_> {
    /// Writes the place as mainline lists it: `SYM`, `SYM+OFFS` or `0xADDR`.
    pub(crate) fn write<W: ByteWrite + ?Sized>(&self, w: &mut W) -> fmt::Result {
        match *self {
            Place::Symbol { symbol, offset } => {
                w.write_bytes(symbol)?;
                if offset != 0 {
                    fmt::Write::write_fmt(&mut Text(w), format_args!("+{offset}"))?;
                }
                Ok(())
            }
            Place::Address(addr) => {
                fmt::Write::write_fmt(&mut Text(w), format_args!("0x{addr:016x}"))
            }
        }
    }
}

impl fmt::Debug for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Place::Symbol { symbol, offset } => f
                .debug_struct("Symbol")
                .field("symbol", &Bytes(symbol))
                .field("offset", &offset)
                .finish(),
            Place::Address(addr) => write!(f, "Address({addr:#x})"),
        }
    }
}

/// An event name: given, or made from the place.
pub(crate) type EventName = SmallBuf<{ MAX_EVENT_NAME_LEN - 1 }>;

/// A parsed `p` or `r` line: the probe to create, borrowing from the line.
#[derive(Clone, Copy)]
pub(crate) struct ProbeDef<'a> {
    /// The command as mainline parses it ([`command`]).
    cmd: &'a [u8],
    /// A return probe (`r`, or `%return`).
    pub(crate) is_return: bool,
    /// `MAXACTIVE` of `rMAXACTIVE`, 0 when not given.
    pub(crate) maxactive: u32,
    /// The group ([`DEFAULT_GROUP`] when none was given).
    pub(crate) group: &'a [u8],
    /// The event name.
    event: EventName,
    /// Where.
    pub(crate) place: Place<'a>,
    /// What the arguments are parsed with.
    ctx: ArgCtx,
    /// How many arguments.
    nr_args: usize,
    /// The size of the arguments' fields.
    size: usize,
}

impl<'a> ProbeDef<'a> {
    /// The event name.
    pub(crate) fn event(&self) -> &[u8] {
        self.event.as_bytes()
    }

    /// Whether the probe is on a function entry, where `$argN` reads the arguments.
    #[allow(dead_code, reason = "the host tests use it; the module does not")]
    pub(crate) fn on_func_entry(&self) -> bool {
        self.ctx.entry
    }

    /// How many arguments.
    #[allow(dead_code, reason = "the host tests use it; the module does not")]
    pub(crate) fn nr_args(&self) -> usize {
        self.nr_args
    }

    /// The arguments, parsed again one at a time.
    pub(crate) fn args(&self) -> Args<'a> {
        Args {
            words: after_words(self.cmd, 2),
            idx: 0,
            size: 0,
            ctx: self.ctx,
        }
    }

    /// The `error_log` caret position of an error at `offset` in word `index` of the
    /// command (0: the command, 1: the place, 2...: the arguments), as mainline computes
    /// it once the line is parsed (for the registry's and registration's errors).
    pub(crate) fn log_pos(&self, index: usize, offset: usize) -> usize {
        log_pos(self.cmd, index, offset, Some(self.ctx.cfg.dentry))
    }

    /// Writes the command of an `error_log` entry about this probe.
    pub(crate) fn write_log_command<W: ByteWrite + ?Sized>(&self, w: &mut W) -> fmt::Result {
        write_log_command(w, self.cmd, Some(self.ctx.cfg.dentry))
    }

    /// Mainline's `trace_probe_compare_arg_type(self, existing)`: 0 when both probes
    /// have arguments of the same names, types and array lengths, else the position
    /// (from 1) of the first that differs. Appending a probe to an existing event is
    /// refused with `DIFF_ARG_TYPE` at `log_pos(n + 1, 0)` for a result `n` other than 0.
    pub(crate) fn compare_args(&self, existing: &ProbeDef<'_>) -> usize {
        if self.nr_args != existing.nr_args {
            return self.nr_args.min(existing.nr_args) + 1;
        }
        self.args()
            .zip(existing.args())
            .position(|(a, b)| a.ty != b.ty || a.count != b.count || a.name() != b.name())
            .map_or(0, |i| i + 1)
    }

    /// Mainline's `trace_kprobe_has_same_kprobe()` for one probe of an event: whether
    /// `other` (with the same argument names and types, see [`ProbeDef::compare_args`])
    /// is the same probe, which appending refuses with `SAME_PROBE`. Mainline compares
    /// the symbols (`unknown` for any address) and offsets, and the fetch arguments.
    pub(crate) fn same_probe(&self, other: &ProbeDef<'_>) -> bool {
        fn key<'k>(place: Place<'k>) -> (&'k [u8], u32) {
            match place {
                Place::Symbol { symbol, offset } => (symbol, offset),
                Place::Address(_) => (b"unknown", 0),
            }
        }
        key(self.place) == key(other.place)
            && self
                .args()
                .zip(other.args())
                .all(|(a, b)| a.comm() == b.comm())
    }
}

/// A probe as its records are laid out, made and printed: a [`ProbeDef`] (which parses
/// its arguments again on each pass over them) or a [`ProbeShape`] (parsed once, for
/// the probe handler).
pub(crate) trait RecordLayout {
    /// A return probe.
    fn is_return(&self) -> bool;
    /// The event name.
    fn event(&self) -> &[u8];
    /// The total size of the arguments' fields.
    fn args_size(&self) -> usize;
    /// Calls `f` on each argument in order, until it fails.
    fn try_each_arg<E>(&self, f: impl FnMut(&ProbeArg<'_>) -> Result<(), E>) -> Result<(), E>;
}

impl RecordLayout for ProbeDef<'_> {
    fn is_return(&self) -> bool {
        self.is_return
    }

    fn event(&self) -> &[u8] {
        self.event.as_bytes()
    }

    fn args_size(&self) -> usize {
        self.size
    }

    fn try_each_arg<E>(&self, mut f: impl FnMut(&ProbeArg<'_>) -> Result<(), E>) -> Result<(), E> {
        self.args().try_for_each(|a| f(&a))
    }
}

/// What making and printing the records of a probe takes, parsed once and kept apart
/// from its line: its kind, event name, the size of its arguments' fields, and the
/// arguments with their fetch programs, in `S` (a vector of the caller's).
pub(crate) struct ProbeShape<S> {
    is_return: bool,
    event: EventName,
    args_size: usize,
    args: S,
}

impl<S: core::ops::Deref<Target = [ProbeArg<'static>]>> ProbeShape<S> {
    /// The shape of `def`, given its arguments kept ([`ProbeArg::kept`] of each of
    /// [`ProbeDef::args`], in order). `None` if `args` are not those.
    pub(crate) fn new(def: &ProbeDef<'_>, args: S) -> Option<Self> {
        let same = args.len() == def.nr_args && def.args().zip(args.iter()).all(|(a, b)| a == *b);
        same.then_some(ProbeShape {
            is_return: def.is_return,
            event: def.event,
            args_size: def.size,
            args,
        })
    }
}

impl<S: core::ops::Deref<Target = [ProbeArg<'static>]>> RecordLayout for ProbeShape<S> {
    fn is_return(&self) -> bool {
        self.is_return
    }

    fn event(&self) -> &[u8] {
        self.event.as_bytes()
    }

    fn args_size(&self) -> usize {
        self.args_size
    }

    fn try_each_arg<E>(&self, f: impl FnMut(&ProbeArg<'_>) -> Result<(), E>) -> Result<(), E> {
        self.args.iter().try_for_each(f)
    }
}

impl PartialEq for ProbeDef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.is_return == other.is_return
            && self.maxactive == other.maxactive
            && self.group == other.group
            && self.event == other.event
            && self.place == other.place
            && self.ctx == other.ctx
            && self.nr_args == other.nr_args
            && self.size == other.size
            && self.args().eq(other.args())
    }
}

impl Eq for ProbeDef<'_> {}

impl fmt::Debug for ProbeDef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct List<'x, 'a>(&'x ProbeDef<'a>);
        impl fmt::Debug for List<'_, '_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.args()).finish()
            }
        }
        f.debug_struct("ProbeDef")
            .field("is_return", &self.is_return)
            .field("maxactive", &self.maxactive)
            .field("group", &Bytes(self.group))
            .field("event", &self.event)
            .field("place", &self.place)
            .field("on_func_entry", &self.ctx.entry)
            .field("args", &List(self))
            .finish()
    }
}

/// The arguments of a [`ProbeDef`], parsed one at a time.
#[derive(Clone)]
pub(crate) struct Args<'a> {
    /// The text from the next argument on.
    words: &'a [u8],
    /// The index of the next argument.
    idx: usize,
    /// The size of the fields of the arguments before it.
    size: usize,
    /// What they are parsed with.
    ctx: ArgCtx,
}

impl<'a> Iterator for Args<'a> {
    type Item = ProbeArg<'a>;

    fn next(&mut self) -> Option<ProbeArg<'a>> {
        let word = words(self.words).next()?;
        self.words = after_words(self.words, 1);
        // The line was accepted: the parse cannot fail (and ends the iteration if it did).
        let arg = parse_arg(word, self.idx, self.size, &|_| false, &self.ctx).ok();
        match arg {
            Some(arg) => {
                self.idx += 1;
                self.size = arg.offset + arg.size();
                Some(arg)
            }
            None => {
                self.words = &[];
                None
            }
        }
    }
}

/// A group and an event, each if given.
type GroupEvent<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// Mainline's `traceprobe_parse_event_name()` on the word after `p:` (at `at` in word
/// 0): the group if given, and the event if given.
fn parse_event_name(word: &[u8], at: usize) -> Result<GroupEvent<'_>, ArgError> {
    let slash = word
        .iter()
        .position(|&c| c == b'/')
        .or_else(|| word.iter().position(|&c| c == b'.'));
    let (group, event, event_at) = match slash {
        Some(0) => return Err(inval(ProbeError::NoGroupName, at)),
        Some(s) if s + 1 > MAX_EVENT_NAME_LEN => return Err(inval(ProbeError::GroupTooLong, at)),
        Some(s) => {
            let group = word.get(..s).unwrap_or(&[]);
            if !is_good_system_name(group) {
                return Err(inval(ProbeError::BadGroupName, at));
            }
            (Some(group), word.get(s + 1..).unwrap_or(&[]), at + s + 1)
        }
        None => (None, word, at),
    };
    if event.is_empty() {
        return if group.is_some() {
            Ok((group, None))
        } else {
            Err(inval(ProbeError::NoEventName, event_at))
        };
    }
    if event.len() >= MAX_EVENT_NAME_LEN {
        return Err(inval(ProbeError::EventTooLong, event_at));
    }
    if !is_good_name(event) {
        return Err(inval(ProbeError::BadEventName, event_at));
    }
    Ok((group, Some(event)))
}

/// The event name mainline makes for a probe without one: `p_SYM_OFFS` or `p_0xADDR`
/// (`r_` for return probes), cut to 63 bytes, `:`, `.` and `*` after the first byte
/// made `_` (`sanitize_event_name()`).
fn default_event_name(is_return: bool, place: &Place<'_>) -> EventName {
    let mut name = EventName::new();
    let kind = if is_return { "r" } else { "p" };
    // Cut to what fits, as mainline's snprintf() cuts it.
    let _ = match *place {
        Place::Symbol { symbol, offset } => (|| {
            name.write_bytes(kind.as_bytes())?;
            name.write_bytes(b"_")?;
            name.write_bytes(symbol)?;
            fmt::Write::write_fmt(&mut Text(&mut name), format_args!("_{offset}"))
        })(),
        Place::Address(addr) => {
            fmt::Write::write_fmt(&mut Text(&mut name), format_args!("{kind}_0x{addr:016x}"))
        }
    };
    for c in name.buf.iter_mut().take(name.len).skip(1) {
        if matches!(*c, b':' | b'.' | b'*') {
            *c = b'_';
        }
    }
    name
}

/// One parsed line of `kprobe_events` or `dynamic_events`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProbeCommand<'a> {
    /// `p` or `r`: create a probe.
    Create(ProbeDef<'a>),
    /// `-:` (or `!...:` in `dynamic_events`): remove probes.
    Remove(Removal<'a>),
}

/// Parses one line of `kprobe_events` against the [`AnySymbol`] stand-in kernel.
pub(crate) fn parse_probe_line(line: &[u8]) -> Result<Option<ProbeCommand<'_>>, ProbeRefusal> {
    parse_probe_line_with(line, Source::KprobeEvents, &AnySymbol)
}

/// Parses one line written to `source`, asking `kernel` what mainline asks the running
/// kernel. `Ok(None)` for a line without words (after the comment is cut).
pub(crate) fn parse_probe_line_with<'a, K: Kernel + ?Sized>(
    line: &'a [u8],
    source: Source,
    kernel: &K,
) -> Result<Option<ProbeCommand<'a>>, ProbeRefusal> {
    let cmd = command(line);
    match (cmd.first(), source) {
        (Some(b'-'), _) | (Some(b'!'), Source::DynamicEvents) => {
            parse_removal(cmd).map(|r| Some(ProbeCommand::Remove(r)))
        }
        _ => parse_create(cmd, kernel).map(|d| d.map(ProbeCommand::Create)),
    }
}

/// Mainline's `trace_kprobe_create_internal()` on `cmd`.
fn parse_create<'a, K: Kernel + ?Sized>(
    cmd: &'a [u8],
    kernel: &K,
) -> Result<Option<ProbeDef<'a>>, ProbeRefusal> {
    let cfg = kernel.config();
    let refuse = |index: usize, e: ArgError, expanded: bool| {
        let expanded = expanded.then_some(cfg.dentry);
        ProbeRefusal {
            err: e.err,
            pos: log_pos(cmd, index, e.at, expanded),
            errno: e.errno,
            expanded,
        }
    };
    let not_probe = ProbeRefusal::unlogged(ProbeError::NotProbe, Errno::Inval);
    let mut argv = words(cmd);
    let Some(argv0) = argv.next() else {
        return Ok(None);
    };
    let mut is_return = match argv0.first() {
        Some(b'r') => true,
        Some(b'p') => false,
        _ => return Err(not_probe),
    };
    let Some(place_word) = argv.next() else {
        return Err(not_probe);
    };
    let colon = argv0.iter().skip(1).position(|&c| c == b':').map(|i| i + 1);
    let mut maxactive = 0;
    if is_digit(at(argv0, 1)) {
        let err = |e| Err(refuse(0, inval(e, 1), false));
        if !is_return {
            return err(ProbeError::BadMaxactType);
        }
        let digits = argv0.get(1..colon.unwrap_or(argv0.len())).unwrap_or(&[]);
        if digits.len() > MAX_EVENT_NAME_LEN - 1 {
            return err(ProbeError::BadMaxact);
        }
        maxactive = match kstrtouint(digits, 0) {
            Ok(0) | Err(_) => return err(ProbeError::BadMaxact),
            Ok(n) if n > KRETPROBE_MAXACTIVE_MAX => return err(ProbeError::MaxactTooBig),
            Ok(n) => n,
        };
    }

    let (place, entry, ret) = match kstrtoull(place_word, 0) {
        Ok(addr) => (Place::Address(addr), false, false),
        Err(_) => {
            if place_word.contains(&b'/') && place_word.contains(&b':') {
                return Err(not_probe);
            }
            let err = |e, at| Err(refuse(1, inval(e, at), false));
            let mut sym = place_word;
            if let Some(p) = sym.iter().position(|&c| c == b'%') {
                if sym.get(p..) != Some(b"%return") {
                    return err(ProbeError::BadAddrSuffix, p);
                }
                sym = sym.get(..p).unwrap_or(&[]);
                is_return = true;
            }
            let (symbol, offset) = match sym.iter().position(|&c| c == b'+' || c == b'-') {
                Some(j) => match kstrtoll(sym.get(j..).unwrap_or(&[]), 0) {
                    Ok(o) if (0..=i64::from(u32::MAX)).contains(&o) => {
                        (sym.get(..j).unwrap_or(&[]), o as u32)
                    }
                    _ => return err(ProbeError::BadProbeAddr, 0),
                },
                None => (sym, 0),
            };
            match kernel.check_symbol(symbol) {
                SymbolCheck::Unique => {}
                SymbolCheck::NotFound => return err(ProbeError::BadProbeAddr, 0),
                SymbolCheck::NotUnique => return err(ProbeError::NonUniqSymbol, 0),
            }
            let on_entry = kernel.func_entry(symbol, offset);
            if on_entry == FuncEntry::NotEntry && is_return {
                return err(ProbeError::BadRetprobe, 0);
            }
            (
                Place::Symbol { symbol, offset },
                on_entry == FuncEntry::Entry && !is_return,
                is_return,
            )
        }
    };

    let (group, event) = match colon {
        Some(c) => parse_event_name(argv0.get(c + 1..).unwrap_or(&[]), c + 1)
            .map_err(|e| refuse(0, e, false))?,
        None => (None, None),
    };
    let group = group.unwrap_or(DEFAULT_GROUP);
    let event = match event {
        Some(e) => {
            let mut name = EventName::new();
            // It fits: parse_event_name() checked its length.
            let _ = name.write_bytes(e);
            name
        }
        None => default_event_name(is_return, &place),
    };

    let ctx = ArgCtx { entry, ret, cfg };
    let args = after_words(cmd, 2);
    check_var_args(args, &ctx).map_err(|(index, e)| refuse(index, e, false))?;
    let nr_args = words(args).count();
    if nr_args > MAX_TRACE_ARGS {
        let e = ArgError {
            err: ProbeError::TooManyArgs,
            at: 0,
            errno: Errno::TooBig,
        };
        return Err(refuse(2, e, false));
    }
    let mut used = 0usize;
    for word in words(args) {
        if let Some(d) = Dentry::of(word) {
            let len = d.len(cfg.dentry);
            if len >= MAX_DENTRY_ARGS_LEN.saturating_sub(used) {
                return Err(ProbeRefusal::unlogged(
                    ProbeError::NoMemory,
                    Errno::NoMemory,
                ));
            }
            used += len + 1;
        }
    }
    let mut size = 0;
    for (i, word) in words(args).enumerate() {
        let used = |name: &[u8]| {
            words(args)
                .take(i)
                .enumerate()
                .any(|(j, w)| arg_name(w, j).is_some_and(|n| n.as_bytes() == name))
        };
        let arg = parse_arg(word, i, size, &used, &ctx).map_err(|e| refuse(i + 2, e, true))?;
        size = arg.offset + arg.size();
    }
    Ok(Some(ProbeDef {
        cmd,
        is_return,
        maxactive,
        group,
        event,
        place,
        ctx,
        nr_args,
        size,
    }))
}

/// Mainline's `argv_has_var_arg()` and what `traceprobe_expand_meta_args()` does with
/// its result without BTF: the arguments starting with `$arg` are checked before any is
/// parsed. On error, the index of the word and the error.
fn check_var_args(args: &[u8], ctx: &ArgCtx) -> Result<(), (usize, ArgError)> {
    let mut star = false;
    let mut last = 0;
    for (i, word) in words(args).enumerate() {
        if !word.starts_with(b"$arg") {
            continue;
        }
        last = i + 2;
        if !ctx.entry && !ctx.ret {
            return Err((last, inval(ProbeError::NofentryArgs, 0)));
        }
        match at(word, 4) {
            c if is_digit(c) => {}
            b'*' if star => return Err((last, inval(ProbeError::DoubleArgs, 0))),
            b'*' => star = true,
            _ => return Err((last, inval(ProbeError::BadVar, 0))),
        }
    }
    if star {
        let e = ArgError {
            err: ProbeError::NosupBtfarg,
            at: 0,
            errno: Errno::NotSupported,
        };
        return Err((last, e));
    }
    Ok(())
}

// --- Removal ------------------------------------------------------------------------------

/// A parsed removal: which probes to remove.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Removal<'a> {
    /// The group; `None` matches every group.
    pub(crate) group: Option<&'a [u8]>,
    /// The event; empty matches every event (of the group).
    pub(crate) event: &'a [u8],
    /// The words after the event: the probe's place and `NAME=FETCHARG`s, if given.
    words: &'a [u8],
}

impl<'a> Removal<'a> {
    /// The words after the event.
    pub(crate) fn words(&self) -> impl Iterator<Item = &'a [u8]> + Clone {
        words(self.words)
    }

    /// Mainline's `trace_kprobe_match()`: whether `def` is one of the probes to remove.
    pub(crate) fn matches(&self, def: &ProbeDef<'_>) -> bool {
        if !(self.event.is_empty() || self.event == def.event()) {
            return false;
        }
        if self.group.is_some_and(|g| g != def.group) {
            return false;
        }
        let mut rest = self.words();
        let Some(place) = rest.next() else {
            return true;
        };
        // Mainline prints the place into MAX_ARGSTR_LEN + 1 bytes.
        let mut text = SmallBuf::<MAX_ARGSTR_LEN>::new();
        let _ = def.place.write(&mut text);
        if place != text.as_bytes() {
            return false;
        }
        if rest.clone().count() > def.nr_args {
            return false;
        }
        rest.zip(def.args()).all(|(word, arg)| {
            split_at_byte(word, b'=').is_some_and(|(n, c)| n == arg.name() && c == arg.comm())
        })
    }
}

impl fmt::Debug for Removal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Removal")
            .field("group", &self.group.map(Bytes))
            .field("event", &Bytes(self.event))
            .field("words", &Bytes(self.words))
            .finish()
    }
}

/// Mainline's `dyn_event_release()` on `cmd`, which starts with `-` or `!`.
fn parse_removal(cmd: &[u8]) -> Result<Removal<'_>, ProbeRefusal> {
    let bad = ProbeRefusal::unlogged(ProbeError::BadRemoval, Errno::Inval);
    let word = words(cmd).next().unwrap_or(&[]);
    let target = match word {
        [b'-', b':', target @ ..] => target,
        [b'-', ..] => return Err(bad),
        _ => split_at_byte(word, b':').ok_or(bad)?.1,
    };
    let (group, event) = match split_at_byte(target, b'/') {
        Some((group, event)) => (Some(group), event),
        None => (None, target),
    };
    if group.is_none() && event.is_empty() {
        return Err(bad);
    }
    Ok(Removal {
        group,
        event,
        words: after_words(cmd, 1),
    })
}

// --- Renderers ----------------------------------------------------------------------------

/// Writes the listing line of a probe, as mainline's `trace_kprobe_show()` prints it in
/// `kprobe_events` and `dynamic_events`: `p:GROUP/EVENT PLACE NAME=FETCHARG...` (`r` and
/// `MAXACTIVE` for return probes), ending in `'\n'`. [`parse_probe_line`] parses it back
/// into the same probe.
pub(crate) fn write_listing<W: ByteWrite + ?Sized>(w: &mut W, def: &ProbeDef<'_>) -> fmt::Result {
    w.write_bytes(if def.is_return { b"r" } else { b"p" })?;
    if def.is_return && def.maxactive != 0 {
        fmt::Write::write_fmt(&mut Text(&mut *w), format_args!("{}", def.maxactive))?;
    }
    w.write_bytes(b":")?;
    w.write_bytes(def.group)?;
    w.write_bytes(b"/")?;
    w.write_bytes(def.event())?;
    w.write_bytes(b" ")?;
    def.place.write(w)?;
    for arg in def.args() {
        w.write_bytes(b" ")?;
        w.write_bytes(arg.name())?;
        w.write_bytes(b"=")?;
        w.write_bytes(arg.comm())?;
    }
    w.write_bytes(b"\n")
}

/// What a field of a probe's record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldKind {
    /// An `unsigned long` of the probe's header (`__probe_ip`, `__probe_func`,
    /// `__probe_ret_ip`).
    Ulong,
    /// An argument: its type and array length (0: not an array).
    Arg(FetchType, u32),
}

/// One field of a probe's record, after the common fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProbeField {
    /// The name.
    pub(crate) name: ArgName,
    /// What it holds.
    pub(crate) kind: FieldKind,
    /// Offset in the record.
    pub(crate) offset: usize,
    /// Size.
    pub(crate) size: usize,
    /// The `signed:` of the format file.
    pub(crate) signed: bool,
}

impl ProbeField {
    /// Writes the field's line of the format file, as mainline's `f_show()` writes it:
    /// `\tfield:TYPE NAME;\toffset:N;\tsize:N;\tsigned:N;\n`. An array's type `TYPE[N]`
    /// is shown as `TYPE NAME[]` (mainline defines probe fields with no length), a string
    /// array's `__data_loc char[][N]` as it is.
    pub(crate) fn write<W: ByteWrite + ?Sized>(&self, w: &mut W) -> fmt::Result {
        w.write_bytes(b"\tfield:")?;
        let name = self.name.as_bytes();
        match self.kind {
            FieldKind::Ulong => {
                w.write_bytes(b"unsigned long ")?;
                w.write_bytes(name)?;
            }
            FieldKind::Arg(ty, 0) => {
                w.write_bytes(ty.c_type().as_bytes())?;
                w.write_bytes(b" ")?;
                w.write_bytes(name)?;
            }
            FieldKind::Arg(ty, n) if ty.is_string() => {
                fmt::Write::write_fmt(&mut Text(&mut *w), format_args!("{}[{n}] ", ty.c_type()))?;
                w.write_bytes(name)?;
            }
            FieldKind::Arg(ty, _) => {
                w.write_bytes(ty.c_type().as_bytes())?;
                w.write_bytes(b" ")?;
                w.write_bytes(name)?;
                w.write_bytes(b"[]")?;
            }
        }
        fmt::Write::write_fmt(
            &mut Text(w),
            format_args!(
                ";\toffset:{};\tsize:{};\tsigned:{};\n",
                self.offset,
                self.size,
                u8::from(self.signed)
            ),
        )
    }
}

/// The fields of a probe's record after `common_size` bytes of common fields: its
/// header (`__probe_ip`; `__probe_func` and `__probe_ret_ip` for a return probe, each an
/// `unsigned long` at the next 8-byte boundary), then the arguments, packed in order
/// (mainline's `kprobe_event_define_fields()`, `kretprobe_event_define_fields()` and
/// `traceprobe_define_arg_fields()`). Strings are 4-byte `__data_loc` fields whose text
/// follows the fixed fields of each record.
pub(crate) fn fields<'x>(
    def: &'x ProbeDef<'_>,
    common_size: usize,
) -> impl Iterator<Item = ProbeField> + 'x {
    let head = common_size
        .checked_next_multiple_of(8)
        .unwrap_or(common_size);
    let header: &'static [&'static [u8]] = if def.is_return {
        &[b"__probe_func", b"__probe_ret_ip"]
    } else {
        &[b"__probe_ip"]
    };
    let args_at = head + 8 * header.len();
    let header = header.iter().enumerate().map(move |(i, name)| {
        let mut n = ArgName::new();
        let _ = n.write_bytes(name);
        ProbeField {
            name: n,
            kind: FieldKind::Ulong,
            offset: head + 8 * i,
            size: 8,
            signed: false,
        }
    });
    header.chain(def.args().map(move |arg| ProbeField {
        name: arg.name,
        kind: FieldKind::Arg(arg.ty, arg.count),
        offset: args_at + arg.offset,
        size: arg.size(),
        signed: arg.ty.signed(),
    }))
}

/// Writes the field lines of a probe's format file ([`fields`], [`ProbeField::write`]):
/// what follows the common fields and their empty line.
pub(crate) fn write_fields<W: ByteWrite + ?Sized>(
    w: &mut W,
    def: &ProbeDef<'_>,
    common_size: usize,
) -> fmt::Result {
    for field in fields(def, common_size) {
        field.write(w)?;
    }
    Ok(())
}

/// Writes the `print fmt` of a probe (what follows `print fmt: `), as mainline's
/// `__set_print_fmt()` builds it: `"(%lx) NAME=FMT..."` (`"(%lx <- %lx) ..."` for return
/// probes), then the `REC->` values; arrays are `{FMT,FMT}`, strings `__get_str()`.
pub(crate) fn write_print_fmt<W: ByteWrite + ?Sized>(w: &mut W, def: &ProbeDef<'_>) -> fmt::Result {
    let (fmt, head): (&[u8], &[u8]) = if def.is_return {
        (b"(%lx <- %lx)", b", REC->__probe_func, REC->__probe_ret_ip")
    } else {
        (b"(%lx)", b", REC->__probe_ip")
    };
    w.write_bytes(b"\"")?;
    w.write_bytes(fmt)?;
    for arg in def.args() {
        w.write_bytes(b" ")?;
        w.write_bytes(arg.name())?;
        w.write_bytes(b"=")?;
        let conv = arg.ty.printf().as_bytes();
        if arg.count == 0 {
            w.write_bytes(conv)?;
        } else {
            for i in 0..arg.count {
                w.write_bytes(if i == 0 { b"{" } else { b"," })?;
                w.write_bytes(conv)?;
            }
            w.write_bytes(b"}")?;
        }
    }
    w.write_bytes(b"\"")?;
    w.write_bytes(head)?;
    for arg in def.args() {
        let (open, close): (&[u8], &[u8]) = if arg.ty.is_string() {
            (b", __get_str(", b")")
        } else {
            (b", REC->", b"")
        };
        if arg.count == 0 {
            w.write_bytes(open)?;
            w.write_bytes(arg.name())?;
            w.write_bytes(close)?;
        } else {
            for i in 0..arg.count {
                w.write_bytes(open)?;
                w.write_bytes(arg.name())?;
                fmt::Write::write_fmt(&mut Text(&mut *w), format_args!("[{i}]"))?;
                w.write_bytes(close)?;
            }
        }
    }
    Ok(())
}

/// Fuzzing entry point: parses every line of `data` (split at `'\n'`) for both files
/// and renders what parses into a small buffer. Never panics. Its harness is
/// `tests/host/fuzz.rs`.
#[allow(
    dead_code,
    reason = "called by fuzz harnesses and tests, not by the module"
)]
pub(crate) fn fuzz_one(data: &[u8]) {
    for line in data.split(|&c| c == b'\n') {
        for source in [Source::KprobeEvents, Source::DynamicEvents] {
            let mut out = SmallBuf::<1024>::new();
            match parse_probe_line_with(line, source, &AnySymbol) {
                Ok(Some(ProbeCommand::Create(def))) => {
                    // `SmallBuf` keeps what fits; what is cut does not matter here.
                    let _ = write_listing(&mut out, &def);
                    let _ = write_fields(&mut out, &def, 8);
                    let _ = write_print_fmt(&mut out, &def);
                    let _ = def.write_log_command(&mut out);
                    let _ = def.args().map(|a| a.program().count()).sum::<usize>();
                }
                Ok(Some(ProbeCommand::Remove(r))) => {
                    let _ = r.words().count();
                }
                Ok(None) => {}
                Err(r) => {
                    let _ = r.write_command(&mut out, line);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl ByteWrite for Vec<u8> {
        fn write_bytes(&mut self, bytes: &[u8]) -> fmt::Result {
            self.extend_from_slice(bytes);
            Ok(())
        }
    }

    /// The kernel of the selftests: a few symbols, their offset 0 the only entry;
    /// `dup_sym` twice, `notloaded:` a module that is not loaded.
    struct Selftest;

    impl Kernel for Selftest {
        fn check_symbol(&self, symbol: &[u8]) -> SymbolCheck {
            match symbol {
                b"vfs_read"
                | b"vfs_open"
                | b"do_exit"
                | b"kfree"
                | b"kernel_clone"
                | b"inet_csk_accept"
                | b"dput"
                | b"do_sys_open"
                | b"tracefs_create_dir"
                | b"mod1:mfunc"
                | b"sym.isra.0" => SymbolCheck::Unique,
                b"dup_sym" => SymbolCheck::NotUnique,
                s if s.starts_with(b"notloaded:") => SymbolCheck::Unique,
                _ => SymbolCheck::NotFound,
            }
        }

        fn func_entry(&self, symbol: &[u8], offset: u32) -> FuncEntry {
            match (symbol.starts_with(b"notloaded:"), offset) {
                (true, _) => FuncEntry::Unknown,
                (false, 0) => FuncEntry::Entry,
                _ => FuncEntry::NotEntry,
            }
        }
    }

    fn parse(line: &str) -> Result<Option<ProbeCommand<'_>>, ProbeRefusal> {
        parse_probe_line_with(line.as_bytes(), Source::KprobeEvents, &Selftest)
    }

    /// Parses `line`, which must define a probe.
    fn def(line: &str) -> ProbeDef<'_> {
        match parse(line) {
            Ok(Some(ProbeCommand::Create(d))) => d,
            other => panic!("{line:?}: {other:?}"),
        }
    }

    /// Parses `line`, which must be refused.
    fn refused(line: &str) -> ProbeRefusal {
        match parse(line) {
            Err(r) => r,
            other => panic!("{line:?}: expected a refusal, got {other:?}"),
        }
    }

    fn listing(d: &ProbeDef<'_>) -> String {
        let mut out = Vec::new();
        write_listing(&mut out, d).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn print_fmt(d: &ProbeDef<'_>) -> String {
        let mut out = Vec::new();
        write_print_fmt(&mut out, d).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn format_fields(d: &ProbeDef<'_>) -> String {
        let mut out = Vec::new();
        write_fields(&mut out, d, 8).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The programs of the arguments of `line`, with their texts as strings.
    fn programs(line: &str) -> Vec<Vec<Fetch<String>>> {
        def(line)
            .args()
            .map(|a| {
                a.program()
                    .map(|op| op.map(|t| String::from_utf8(t.to_vec()).unwrap()))
                    .collect()
            })
            .collect()
    }

    /// Asserts that the listing of `d` parses back into `d`, and lists the same again.
    fn assert_round_trip(d: &ProbeDef<'_>) {
        let text = listing(d);
        let back = def(text.trim_end());
        assert_eq!(&back, d, "{text:?}");
        assert_eq!(listing(&back), text);
    }

    /// As the selftests' `ftrace_errlog_check`: `cmd` with `^` where the caret goes must
    /// be refused with `err` there, and the logged command must be `cmd` without `^`.
    fn check_error(cmd: &str, err: ProbeError) {
        let pos = cmd.find('^').unwrap();
        let line = cmd.replacen('^', "", 1);
        let r = refused(&line);
        assert_eq!((r.err, r.pos), (err, pos), "{cmd:?}");
        assert!(r.err.log_text().is_some());
        let mut logged = Vec::new();
        r.write_command(&mut logged, line.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(logged).unwrap(), line);
    }

    /// Every case of mainline's `kprobe_syntax_errors.tc`, in its order, as a kernel
    /// without BTF arguments answers them.
    #[test]
    fn mainline_syntax_errors() {
        use ProbeError::*;
        check_error("p^100 vfs_read", BadMaxactType);
        check_error("r^1a111 vfs_read", BadMaxact);
        check_error("r^100000 vfs_read", MaxactTooBig);
        check_error("p ^non_exist_func", BadProbeAddr);
        check_error("p ^hoge-fuga", BadProbeAddr);
        check_error("p ^hoge+1000-1000", BadProbeAddr);
        check_error("r ^vfs_read+10", BadRetprobe);
        check_error("p:^/bar vfs_read", NoGroupName);
        check_error(
            "p:^12345678901234567890123456789012345678901234567890123456789012345/bar vfs_read",
            GroupTooLong,
        );
        check_error("p:^foo.1/bar vfs_read", BadGroupName);
        check_error("p:^ vfs_read", NoEventName);
        check_error(
            "p:foo/^12345678901234567890123456789012345678901234567890123456789012345 vfs_read",
            EventTooLong,
        );
        check_error("p:foo/^bar.1 vfs_read", BadEventName);
        check_error("p vfs_read ^$retval", RetvalOnProbe);
        check_error("p vfs_read ^$stack10000", BadStackNum);
        check_error("p vfs_read ^$arg10000", BadArgNum);
        check_error("p vfs_read ^$none_var", BadVar);
        check_error("p vfs_read ^%none_reg", BadRegName);
        check_error("p vfs_read ^@12345678abcde", BadMemAddr);
        check_error("p vfs_read ^@+10", FileOnKprobe);
        check_error("p vfs_read arg1=\\^x", BadImm);
        check_error("p vfs_read arg1=\\\"abcd^", ImmstrNoClose);
        check_error("p vfs_read ^+0@0)", DerefNeedBrace);
        check_error("p vfs_read ^+0ab1(@0)", BadDerefOffs);
        check_error("p vfs_read +0(+0(@0^)", DerefOpenBrace);
        check_error("p vfs_read +0(^$comm)", CommCantDeref);
        check_error("p vfs_read ^&1", BadFetchArg);
        check_error(
            "p vfs_read +0(^+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(@0))))))))))))))",
            TooManyOps,
        );
        check_error("p vfs_read +0(@11):u8[10^", ArrayNoClose);
        check_error("p vfs_read +0(@11):u8[10]^a", BadArraySuffix);
        check_error("p vfs_read +0(@11):u8[^10a]", BadArrayNum);
        check_error("p vfs_read +0(@11):u8[^256]", ArrayTooBig);
        check_error("p vfs_read @11:^unknown_type", BadType);
        check_error("p vfs_read $stack0:^string", BadString);
        check_error("p vfs_read @11:^b10@a/16", BadBitfield);
        check_error(
            "p vfs_read ^arg123456789012345678901234567890=@11",
            ArgNameTooLong,
        );
        check_error("p vfs_read ^=@11", NoArgName);
        check_error("p vfs_read ^var.1=@11", BadArgName);
        check_error("p vfs_read var1=@11 ^var1=@12", UsedArgName);
        check_error(
            "p vfs_read ^+1234567(+1234567(+1234567(+1234567(+1234567(+1234567(@1234))))))",
            ArgTooLong,
        );
        check_error("p vfs_read arg1=^", NoArgBody);
        check_error("p vfs_read^%hoge", BadAddrSuffix);
        check_error("p ^vfs_read+10%return", BadRetprobe);
        // Without BTF arguments (the test's `else` branch).
        check_error("p vfs_read ^$arg*", NosupBtfarg);
        // Its BTF branch, as a kernel without BTF arguments answers it.
        check_error("p vfs_read args=^$arg*", BadVar);
        check_error("p vfs_read +0(^$arg*)", BadVar);
        check_error("p vfs_read $arg* ^$arg*", DoubleArgs);
        check_error("p vfs_read+20 ^$arg*", NofentryArgs);
        check_error("p vfs_read ^hoge", NosupBtfarg);
        assert!(parse("p kfree $arg10").is_ok());
        assert!(parse("r kfree $retval").is_ok());
    }

    /// The refusals of the other selftests (`test_badarg` cases that mainline does
    /// refuse, `kretprobe_maxactive.tc`, `probepoint.tc`).
    #[test]
    fn mainline_bad_args() {
        for arg in [
            "%ex",
            "$stackp",
            "$stack0+10",
            "$stack1-10",
            "+(%ax)",
            "(%ax+10)",
            "-(%ax)",
            "(%ax)",
            "+10($comm)",
            "varname=varname2=%ax",
            "%ax::x16",
            "%ax:y16",
            "x16:%ax",
            "$comm:x64",
            "$stack:string",
            "%ax:string",
        ] {
            let line = format!("p vfs_read {arg}");
            refused(&line);
        }
        for arg in [
            "%ax",
            "@_sdata",
            "@0xffffffff82000000",
            "@_sdata+10",
            "@_sdata-10",
            // Bad symbols are found when the probe is registered, not while parsing.
            "@",
            "@deaqswdefr",
            "@_sdata*10",
            "@_sdata/10",
            "@_sdata%10",
            "@_sdata&10",
            "@_sdata|10",
            "$stack",
            "$stack0",
            "$stack1",
            "$comm",
            "+0(%ax)",
            "-0(%ax)",
            "+10($stack)",
            "+0($stack1)",
            "+10(@_sdata-10)",
            "+0(+10(+20($stack)))",
            // Mainline ignores what follows the last `)`.
            "+0(%ax)+10",
            "varname=%ax",
            "%ax:x16",
            "$comm:string",
            "+0($stack):string",
        ] {
            let line = format!("p vfs_read {arg}");
            assert!(matches!(parse(&line), Ok(Some(_))), "{line}");
        }
        assert!(parse("r vfs_read $retval").is_ok());
        assert_eq!(refused("p vfs_read $retval").err, ProbeError::RetvalOnProbe);
        assert_eq!(
            refused("a:myprobeaccept inet_csk_accept").err,
            ProbeError::NotProbe
        );
        assert_eq!(
            refused("r1000000:myprobeaccept inet_csk_accept").err,
            ProbeError::MaxactTooBig
        );
        assert_eq!(
            refused("r10fuzz:myprobeaccept inet_csk_accept").err,
            ProbeError::BadMaxact
        );
        assert!(parse("r10:myprobeaccept inet_csk_accept").is_ok());
        assert!(parse("r10 inet_csk_accept").is_ok());
        assert_eq!(
            refused("p:testprobe tracefs_create_dir-32").err,
            ProbeError::BadProbeAddr
        );
        assert_eq!(
            refused("p:testprobe tracefs_create_dir+0x100000000").err,
            ProbeError::BadProbeAddr
        );
        assert!(parse("p:testprobe tracefs_create_dir+0xffffffff").is_ok());
    }

    /// What the other selftests write to `kprobe_events` and `dynamic_events`, and what
    /// they grep from the listing.
    #[test]
    fn mainline_accepted_lines() {
        for width in [64, 32, 16, 8] {
            // kprobe_args_type.tc
            let line = format!(
                "p:testprobe kernel_clone $stack0:s{width} $stack0:u{width} $stack0:x{width} \
                 $stack0:b4@4/{width}"
            );
            let d = def(&line);
            assert_eq!(d.args_size(), 4 * width / 8);
            assert!(listing(&d).starts_with("p:kprobes/testprobe kernel_clone arg1=$stack0:s"));
        }
        for (line, grep) in [
            ("p:myevent kernel_clone", "p:kprobes/myevent kernel_clone"),
            (
                "p:testprobe kernel_clone $stack $stack0 +0($stack)",
                "arg1=$stack arg2=$stack0 arg3=+0($stack)",
            ),
            ("r:testprobe2 kernel_clone $retval", "arg1=$retval"),
            ("p:testprobe kernel_clone comm=$comm ", "comm=$comm"),
            (
                "p:testprobe tracefs_create_dir arg1=+0(%di):char arg2=+0(%di):char[4]",
                "arg1=+0(%di):char arg2=+0(%di):char[4]",
            ),
            (
                "p:testprobe tracefs_create_dir arg1=+0(%di):string",
                "arg1=+0(%di):string",
            ),
            (
                "p:myevent do_sys_open path=+0($arg2):ustring path2=+u0($arg2):string",
                "path=+0($arg2):ustring path2=+u0($arg2):string",
            ),
            (
                "p:testprobe_u kernel_clone arg1=@linux_proc_banner:u64 \
                 arg2=@linux_proc_banner:u32 arg3=@linux_proc_banner:u16 \
                 arg4=@linux_proc_banner:u8",
                "arg4=@linux_proc_banner:u8",
            ),
            (
                "p:testprobe_bf kernel_clone arg1=@linux_proc_banner:b8@4/32",
                "b8@4/32",
            ),
            (
                "p:testprobe_str kernel_clone arg1=@linux_proc_banner:string",
                ":string",
            ),
            (
                "p:testprobe dput name=$arg1:%pd",
                "name=+0x0(+0x28($arg1)):string",
            ),
            (
                "p:testprobe vfs_read $arg1:%pD",
                "arg1=+0x0(+0x28(+0x48($arg1))):string",
            ),
            ("p:myevent1 vfs_open arg=$arg1", "arg=$arg1"),
            (
                "r:myevent2 vfs_open arg=$arg1",
                "r:kprobes/myevent2 vfs_open arg=$arg1",
            ),
            ("p:kgroup/kevent vfs_open file=+0($arg2)", "p:kgroup/kevent"),
            (
                "p:syscalls/sys_enter_open vfs_open file=+0($arg2)",
                "syscalls/sys_enter_open",
            ),
            ("r:myprobeaccept inet_csk_accept", "r:kprobes/myprobeaccept"),
            (
                "r10 inet_csk_accept",
                "r10:kprobes/r_inet_csk_accept_0 inet_csk_accept",
            ),
            (
                "p:mygroup/ kernel_clone",
                "p:mygroup/p_kernel_clone_0 kernel_clone",
            ),
        ] {
            let d = def(line);
            assert!(listing(&d).contains(grep), "{line:?}: {:?}", listing(&d));
            assert_round_trip(&d);
        }
    }

    #[test]
    fn event_names() {
        let d = def("p vfs_read");
        assert_eq!(
            (d.group, d.event()),
            (&b"kprobes"[..], &b"p_vfs_read_0"[..])
        );
        assert!(d.on_func_entry() && !d.is_return);
        assert_eq!(def("r vfs_read").event(), b"r_vfs_read_0");
        assert_eq!(def("p vfs_read+0x10").event(), b"p_vfs_read_16");
        assert_eq!(def("p vfs_read%return").event(), b"r_vfs_read_0");
        assert_eq!(def("p mod1:mfunc").event(), b"p_mod1_mfunc_0");
        assert_eq!(def("p sym.isra.0").event(), b"p_sym_isra_0_0");
        assert_eq!(def("p notloaded:f+4").event(), b"p_notloaded_f_4");
        assert_eq!(def("p 0xffffffff81000000").event(), b"p_0xffffffff81000000");
        assert_eq!(def("r 4096").event(), b"r_0x0000000000001000");
        let d = def("p:myevent vfs_read");
        assert_eq!((d.group, d.event()), (&b"kprobes"[..], &b"myevent"[..]));
        let d = def("p:kprobes2/event2 vfs_read");
        assert_eq!((d.group, d.event()), (&b"kprobes2"[..], &b"event2"[..]));
        let d = def("p:grp.ev vfs_read");
        assert_eq!((d.group, d.event()), (&b"grp"[..], &b"ev"[..]));
        // A group alone: the event name is made.
        let d = def("p:mygroup/ vfs_read");
        assert_eq!(
            (d.group, d.event()),
            (&b"mygroup"[..], &b"p_vfs_read_0"[..])
        );
        // Groups may hold `-`, events not.
        assert_eq!(def("p:my-group/ev vfs_read").group, b"my-group");
        assert_eq!(
            refused("p:grp/my-ev vfs_read").err,
            ProbeError::BadEventName
        );
        assert_eq!(refused("p:1grp/ev vfs_read").pos, 2);
        // Names of 63 bytes are the longest.
        let name = "a".repeat(63);
        assert_eq!(
            def(&format!("p:{name}/{name} vfs_read")).event(),
            name.as_bytes()
        );
        assert_eq!(
            refused(&format!("p:{name}a/e vfs_read")).err,
            ProbeError::GroupTooLong
        );
        // Latin-1 letters are letters to the kernel's isalpha().
        let d = parse_probe_line(b"p:caf\xe9 vfs_read").unwrap().unwrap();
        assert!(matches!(d, ProbeCommand::Create(d) if d.event() == b"caf\xe9"));
        // A made name is cut to 63 bytes and not checked.
        let sym = "s".repeat(70);
        let line = format!("p {sym}+7");
        let d = parse_probe_line(line.as_bytes()).unwrap().unwrap();
        let ProbeCommand::Create(d) = d else { panic!() };
        assert_eq!(d.event(), format!("p_{}", "s".repeat(61)).as_bytes());
        // Whatever follows `p` up to `:` is ignored, as mainline ignores it.
        assert_eq!(def("pfoo vfs_read"), def("p vfs_read"));
        assert_eq!(def("rxyz:ev vfs_read").event(), b"ev");
        assert_eq!(refused("p:a:b vfs_read").err, ProbeError::BadEventName);
    }

    #[test]
    fn places() {
        let d = def("p:e vfs_read+16");
        assert_eq!(
            d.place,
            Place::Symbol {
                symbol: b"vfs_read",
                offset: 16
            }
        );
        assert!(!d.on_func_entry());
        assert_eq!(
            def("p:e mod1:mfunc").place,
            Place::Symbol {
                symbol: b"mod1:mfunc",
                offset: 0
            }
        );
        assert_eq!(def("p 0x1000").place, Place::Address(0x1000));
        assert_eq!(def("p 0").place, Place::Address(0));
        assert_eq!(def("p +077").place, Place::Address(0o77));
        // `%return` turns a probe into a return probe, with or without `+0`.
        let d = def("p:e vfs_read+0%return");
        assert!(d.is_return && d.maxactive == 0 && !d.on_func_entry());
        assert_eq!(listing(&d), "r:kprobes/e vfs_read\n");
        assert_eq!(
            listing(&def("p:myprobeaccept vfs_read%return")),
            listing(&def("r:myprobeaccept vfs_read"))
        );
        assert_eq!(refused("p vfs_read%returnx").pos, 10);
        assert!(parse("r vfs_read%return").is_ok());
        // Symbols the kernel does not know, or knows twice.
        assert_eq!(refused("p dup_sym").err, ProbeError::NonUniqSymbol);
        assert_eq!(refused("p  \t dup_sym").pos, 2);
        // A module not loaded yet: accepted, checked when it loads; not an entry.
        let d = def("r notloaded:f+4");
        assert!(d.is_return);
        assert_eq!(refused("p notloaded:f $arg1").err, ProbeError::NofentryArgs);
        // A uprobe's place is no kprobe's.
        assert_eq!(refused("p /bin/sh:10").err, ProbeError::NotProbe);
        assert_eq!(refused("p:e /bin/sh:0x10 %ax").errno, Errno::Inval);
    }

    #[test]
    fn maxactive() {
        assert_eq!(def("r10 vfs_read").maxactive, 10);
        assert_eq!(def("r0x10:ev vfs_read").maxactive, 16);
        assert_eq!(def("r010:ev vfs_read").maxactive, 8);
        assert_eq!(def("r4096 vfs_read").maxactive, 4096);
        assert_eq!(refused("r4097 vfs_read").err, ProbeError::MaxactTooBig);
        assert_eq!(refused("r0 vfs_read").err, ProbeError::BadMaxact);
        assert_eq!(refused("r99999999999 vfs_read").err, ProbeError::BadMaxact);
        assert_eq!(
            refused(&format!("r{} vfs_read", "0".repeat(64))).err,
            ProbeError::BadMaxact
        );
        assert_eq!(def(&format!("r{}1 vfs_read", "0".repeat(61))).maxactive, 1);
        assert_eq!(
            listing(&def("r10:ev vfs_read")),
            "r10:kprobes/ev vfs_read\n"
        );
        assert_eq!(
            listing(&def("r0x10 vfs_read")),
            "r16:kprobes/r_vfs_read_0 vfs_read\n"
        );
    }

    #[test]
    fn fetch_programs() {
        use Fetch::*;
        let s = |t: &str| t.to_string();
        assert_eq!(
            programs("p vfs_read %di %ax:x16 $stack $stack0 $stack2048 $comm $COMM"),
            [
                vec![Reg(Register::Di), StRaw(8), End],
                vec![Reg(Register::Ax), StRaw(2), End],
                vec![StackPointer, StRaw(8), End],
                vec![Stack(0), StRaw(8), End],
                vec![Stack(2048), StRaw(8), End],
                vec![Comm, StString(0, 4), End],
                vec![Comm, StString(0, 4), End],
            ]
        );
        assert_eq!(
            programs("p vfs_read $arg1 $arg7:u32 @0x10:u8 @sym @sym+10 @sym-10:s16"),
            [
                vec![Arg(1), StRaw(8), End],
                vec![Arg(7), StRaw(4), End],
                vec![Imm(0x10), StMem(0, 1), End],
                vec![Symbol(s("sym")), Imm(0), StMem(0, 8), End],
                vec![Symbol(s("sym+10")), Imm(0), StMem(0, 8), End],
                vec![Symbol(s("sym-10")), Imm(0), StMem(0, 2), End],
            ]
        );
        assert_eq!(
            programs("r vfs_read $retval $arg2 +8($arg1):s32"),
            [
                vec![Retval, StRaw(8), End],
                vec![EntryArg(2), StRaw(8), End],
                vec![EntryArg(1), StMem(8, 4), End],
            ]
        );
        // Mainline's BAD_SYMSTRING check does not take the entry data.
        assert_eq!(
            refused("r vfs_read $arg2:symstr").err,
            ProbeError::BadSymstring
        );
        assert_eq!(
            programs("p vfs_read +0(%di):string -8(%sp):s32 +u0($arg2):string +0($arg2):ustring +u4(%si):u8"),
            [
                vec![Reg(Register::Di), StString(0, 4), End],
                vec![Reg(Register::Sp), StMem(-8, 4), End],
                vec![Arg(2), StUString(0, 4), End],
                vec![Arg(2), StUString(0, 4), End],
                vec![Reg(Register::Si), StUMem(4, 1), End],
            ]
        );
        assert_eq!(
            programs(
                "p vfs_read +0(%di):char[4] +0(%di):string[2] %di:symbol %di:symstr +8(%di):symstr"
            ),
            [
                vec![Reg(Register::Di), StMem(0, 1), LoopArray(4), End],
                vec![
                    Reg(Register::Di),
                    Deref(0),
                    StString(0, 4),
                    LoopArray(2),
                    End
                ],
                vec![Reg(Register::Di), StRaw(8), End],
                vec![Reg(Register::Di), StSymStr(4), End],
                vec![Reg(Register::Di), Deref(8), StSymStr(4), End],
            ]
        );
        assert_eq!(
            programs(r#"p vfs_read \1 \-1 \+0x10 \"foo" \"" \1:string \"a":string"#),
            [
                vec![Imm(1), StRaw(8), End],
                vec![Imm(u64::MAX), StRaw(8), End],
                vec![Imm(16), StRaw(8), End],
                vec![Data(s("foo")), StString(0, 4), End],
                vec![Data(s("")), StString(0, 4), End],
                vec![Imm(1), StString(0, 4), End],
                vec![Data(s("a")), StString(0, 4), End],
            ]
        );
        assert_eq!(
            programs("p vfs_read $stack0:b4@4/32 %ax:b1@0/8 +0(%ax):b0x8@0x8/16"),
            [
                vec![
                    Stack(0),
                    StRaw(4),
                    ModBitfield {
                        basesize: 4,
                        lshift: 24,
                        rshift: 28
                    },
                    End
                ],
                vec![
                    Reg(Register::Ax),
                    StRaw(1),
                    ModBitfield {
                        basesize: 1,
                        lshift: 7,
                        rshift: 7
                    },
                    End
                ],
                vec![
                    Reg(Register::Ax),
                    StMem(0, 2),
                    ModBitfield {
                        basesize: 2,
                        lshift: 0,
                        rshift: 8
                    },
                    End
                ],
            ]
        );
        // `%pd` and `%pD` expand (the offsets of this kernel's structures).
        assert_eq!(
            programs("p vfs_read $arg1:%pd n=+8($arg2):%pD"),
            [
                vec![Arg(1), Deref(0x28), StString(0, 4), End],
                vec![
                    Arg(2),
                    Deref(8),
                    Deref(0x48),
                    Deref(0x28),
                    StString(0, 4),
                    End
                ],
            ]
        );
        // Dereference offsets are kept in an `int`, as mainline keeps them.
        assert_eq!(
            programs("p vfs_read +0x100000008(%ax) -0x80000000(%ax)"),
            [
                vec![Reg(Register::Ax), StMem(8, 8), End],
                vec![Reg(Register::Ax), StMem(i32::MIN, 8), End],
            ]
        );
        // The deepest dereference: 13 levels over `@ADDR`, 12 over `@SYM`.
        let deep = |n: usize, base: &str| format!("{}{base}{}", "+0(".repeat(n), ")".repeat(n));
        assert_eq!(
            programs(&format!("p vfs_read {}", deep(13, "@0")))[0].len(),
            16
        );
        assert_eq!(refused(&format!("p vfs_read {}", deep(14, "@0"))).pos, 14);
        assert!(parse(&format!("p vfs_read {}", deep(12, "@s"))).is_ok());
        assert_eq!(
            refused(&format!("p vfs_read {}", deep(13, "@s"))).err,
            ProbeError::TooManyOps
        );
        // A store after the last dereference needs a slot of its own.
        assert!(parse(&format!("p vfs_read {}", deep(14, "%ax"))).is_ok());
        let r = refused(&format!("p vfs_read {}:symstr", deep(13, "@0")));
        assert_eq!(
            (r.err, r.pos, r.errno),
            (ProbeError::TooManyOps, 14, Errno::Inval)
        );
        let r = refused(&format!("p vfs_read {}:u8[2]", deep(13, "@0")));
        assert_eq!(
            (r.err, r.pos, r.errno),
            (ProbeError::TooManyOps, 14, Errno::TooBig)
        );
        let r = refused(&format!("p vfs_read {}:b1@0/8", deep(13, "@0")));
        assert_eq!((r.err, r.pos), (ProbeError::BadBitfield, 14 + 55));
        assert!(parse(&format!("p vfs_read {}:b1@0/8", deep(12, "@0"))).is_ok());
    }

    #[test]
    fn argument_names() {
        let names = |line: &str| -> Vec<String> {
            def(line)
                .args()
                .map(|a| String::from_utf8(a.name().to_vec()).unwrap())
                .collect()
        };
        assert_eq!(names("p vfs_read %ax x=%bx %cx"), ["arg1", "x", "arg3"]);
        assert_eq!(refused("p vfs_read arg2=%ax %bx").pos, 20);
        assert_eq!(
            refused("p vfs_read %ax arg1=%bx").err,
            ProbeError::UsedArgName
        );
        for reserved in RESERVED_NAMES {
            let line = format!("p vfs_read {}=%ax", core::str::from_utf8(reserved).unwrap());
            assert_eq!(refused(&line).err, ProbeError::UsedArgName);
        }
        let name = "a".repeat(MAX_ARG_NAME_LEN);
        assert_eq!(names(&format!("p vfs_read {name}=%ax")), [name.as_str()]);
        assert_eq!(
            refused(&format!("p vfs_read {name}a=%ax")).err,
            ProbeError::ArgNameTooLong
        );
        assert_eq!(refused("p vfs_read 1a=%ax").err, ProbeError::BadArgName);
    }

    #[test]
    fn argument_limits() {
        // As dynevent_limitations.tc: 128 arguments, not 129.
        let args: Vec<String> = (1..=MAX_TRACE_ARGS).map(|i| format!("\\{i}")).collect();
        let line = format!("p vfs_read {}", args.join(" "));
        let d = def(&line);
        assert_eq!(d.nr_args(), MAX_TRACE_ARGS);
        assert_eq!(d.args().count(), MAX_TRACE_ARGS);
        assert_eq!(d.args_size(), 8 * MAX_TRACE_ARGS);
        let r = refused(&format!("{line} \\129"));
        assert_eq!(
            (r.err, r.pos, r.errno),
            (ProbeError::TooManyArgs, 11, Errno::TooBig)
        );
        // 3072 bytes of arguments at most.
        let args = "+0(%ax):u64[64] ".repeat(6);
        let line = format!("p vfs_read {args}");
        let d = def(&line);
        assert_eq!(d.args_size(), 3072);
        let r = refused(&format!("p vfs_read {args}+0(%ax):u8"));
        // After a dereference, mainline reports at its inner argument.
        assert_eq!(
            (r.err, r.pos, r.errno),
            (ProbeError::EventTooBig, 11 + 16 * 6 + 3, Errno::TooBig)
        );
        let r = refused(&format!("p vfs_read {args}%ax:u8"));
        assert_eq!((r.err, r.pos), (ProbeError::EventTooBig, 11 + 16 * 6));
        // 63 bytes of fetch argument at most.
        let long = format!("+{}(%ax)", "0".repeat(MAX_ARGSTR_LEN - 6));
        assert!(parse(&format!("p vfs_read {long}")).is_ok());
        let r = refused(&format!("p vfs_read n={long}0"));
        assert_eq!(
            (r.err, r.pos, r.errno),
            (ProbeError::ArgTooLong, 13, Errno::TooBig)
        );
        // Arrays of 64 at most.
        assert_eq!(def("p vfs_read +0(%ax):u8[64]").args_size(), 64);
        assert_eq!(def("p vfs_read +0(%ax):u8[0x40]").args_size(), 64);
        assert_eq!(
            refused("p vfs_read +0(%ax):u8[65]").err,
            ProbeError::ArrayTooBig
        );
        assert_eq!(
            refused("p vfs_read +0(%ax):u8[0]").err,
            ProbeError::BadArrayNum
        );
        assert_eq!(refused("p vfs_read %ax:u8[2]").err, ProbeError::BadString);
    }

    #[test]
    fn string_types() {
        use ProbeError::*;
        // $comm and immediate strings are strings, and nothing else.
        assert_eq!(
            def("p vfs_read $comm").args().next().unwrap().ty(),
            FetchType::String
        );
        assert_eq!(refused("p vfs_read $comm:string[2]").pos, 17);
        assert_eq!(refused("p vfs_read \\\"a\":u8").err, NeedStringType);
        // Strings want memory; symstr an address.
        for (arg, err) in [
            ("%ax:string", Some(BadString)),
            ("$stack:string", Some(BadString)),
            ("$retval:ustring", Some(RetvalOnProbe)),
            ("$arg1:string", Some(BadString)),
            ("+0(%ax):symstr", None),
            ("$stack:symstr", Some(BadSymstring)),
            ("\\1:symstr", Some(BadSymstring)),
            ("$comm:symstr", Some(NeedStringType)),
        ] {
            let line = format!("p vfs_read {arg}");
            match err {
                Some(err) => assert_eq!(refused(&line).err, err, "{line}"),
                None => assert!(parse(&line).is_ok(), "{line}"),
            }
        }
    }

    #[test]
    fn var_args_checked_first() {
        // `$arg...` words are checked before any argument is parsed.
        let r = refused("p vfs_read %zz $arg");
        assert_eq!((r.err, r.pos), (ProbeError::BadVar, 15));
        let r = refused("p 0x1000 %zz $arg1");
        assert_eq!((r.err, r.pos), (ProbeError::NofentryArgs, 13));
        // Named, it is parsed in its turn.
        let r = refused("p 0x1000 a=$arg1");
        assert_eq!((r.err, r.pos), (ProbeError::NofentryArgs, 11));
        let r = refused("r 0x1000 $retval");
        assert_eq!(r.err, ProbeError::RetvalOnProbe);
        // `$arg*` is refused under the last `$arg...` word, with EOPNOTSUPP.
        let r = refused("p vfs_read $arg* %ax $arg2");
        assert_eq!(
            (r.err, r.pos, r.errno),
            (ProbeError::NosupBtfarg, 21, Errno::NotSupported)
        );
        // A bare name is a BTF variable: EOPNOTSUPP on a function entry, else EINVAL.
        assert_eq!(refused("p vfs_read foo").errno, Errno::NotSupported);
        assert_eq!(refused("p vfs_read+4 foo").errno, Errno::Inval);
        assert_eq!(refused("p vfs_read (int)%ax").errno, Errno::NotSupported);
        // Mainline's other quirks of `$` variables.
        assert_eq!(programs("r vfs_read $retvalue")[0][0], Fetch::Retval);
        assert_eq!(programs("p vfs_read a=$arg+1")[0][0], Fetch::Arg(1));
        assert_eq!(refused("p vfs_read $arg0").err, ProbeError::BadArgNum);
        assert_eq!(refused("p vfs_read $arg2049").err, ProbeError::BadArgNum);
        assert_eq!(
            refused("p vfs_read $stack2049").err,
            ProbeError::BadStackNum
        );
        assert_eq!(
            refused("p vfs_read a=$arg99999999999999999999").err,
            ProbeError::BadVar
        );
    }

    #[test]
    fn caret_positions() {
        // Words are joined by single spaces in the logged command.
        let r = refused("  p \t vfs_read   %zz  ");
        assert_eq!((r.err, r.pos), (ProbeError::BadRegName, 11));
        let mut cmd = Vec::new();
        r.write_command(&mut cmd, b"  p \t vfs_read   %zz  ")
            .unwrap();
        assert_eq!(cmd, b"p vfs_read %zz");
        // In a user dereference mainline's caret is one byte early.
        assert_eq!(refused("p vfs_read +u0(%zz)").pos, 11 + 3);
        assert_eq!(refused("p vfs_read -u0(%zz)").pos, 11 + 3);
        assert_eq!(refused("p vfs_read +0(%zz)").pos, 11 + 3);
        assert_eq!(refused("p vfs_read -0(%zz)").pos, 11 + 3);
        assert_eq!(refused("p vfs_read +-8(%zz)").pos, 11 + 3);
        // After a dereference, type errors are shifted by its prefix.
        assert_eq!(refused("p vfs_read +0(@11):b10@a/16").pos, 11 + 3 + 8);
        assert_eq!(refused("p vfs_read +0(+8(%ax)):b99@0/8").pos, 11 + 3 + 12);
        // Within a %pd expansion, in the expanded command.
        let line = "p vfs_read a=%zz:%pd %zz";
        let r = refused(line);
        let mut cmd = Vec::new();
        r.write_command(&mut cmd, line.as_bytes()).unwrap();
        assert_eq!(cmd, b"p vfs_read a=+0x0(+0x28(%zz)):string %zz");
        assert_eq!(r.pos, 11 + 13);
        assert_eq!(refused("p vfs_read %ax:%pd %zz").pos, 11 + 24);
        assert_eq!(refused("p vfs_read x:%pd %zz").pos, 11 + 11);
        // Before the expansion, in the command as written.
        let r = refused("p vfs_read a=%zz:%pd $arg");
        assert_eq!((r.err, r.pos), (ProbeError::BadVar, 21));
        let mut cmd = Vec::new();
        r.write_command(&mut cmd, b"p vfs_read a=%zz:%pd $arg")
            .unwrap();
        assert_eq!(cmd, b"p vfs_read a=%zz:%pd $arg");
        // The expansions of one line share 256 bytes.
        let many = "$arg1:%pD ".repeat(7);
        assert!(parse(&format!("p vfs_read {many}")).is_ok());
        let r = refused(&format!("p vfs_read {many}$arg1:%pD"));
        assert_eq!(
            (r.err, r.errno, r.err.log_text()),
            (ProbeError::NoMemory, Errno::NoMemory, None)
        );
    }

    #[test]
    fn lines() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse(" \t\r\x0b\x0c"), Ok(None));
        assert_eq!(parse("# comment"), Ok(None));
        assert_eq!(parse_probe_line(b"\0p vfs_read"), Ok(None));
        assert_eq!(def("p vfs_read # %zz"), def("p vfs_read"));
        assert_eq!(def("p vfs_read\0%zz"), def("p vfs_read"));
        assert_eq!(
            parse_probe_line(b"\tp\xa0vfs_read  %ax\n"),
            parse_probe_line(b"p vfs_read %ax")
        );
        for line in ["x vfs_read", "p", "r10", " -:ev", "!p:ev"] {
            let r = refused(line);
            assert_eq!(
                (r.err, r.errno, r.err.log_text()),
                (ProbeError::NotProbe, Errno::Inval, None)
            );
        }
    }

    #[test]
    fn removals() {
        let remove = |line: &'static str, source| match parse_probe_line_with(
            line.as_bytes(),
            source,
            &Selftest,
        ) {
            Ok(Some(ProbeCommand::Remove(r))) => r,
            other => panic!("{line:?}: {other:?}"),
        };
        let r = remove("-:myevent", Source::KprobeEvents);
        assert_eq!((r.group, r.event), (None, &b"myevent"[..]));
        let r = remove("-:grp/", Source::KprobeEvents);
        assert_eq!((r.group, r.event), (Some(&b"grp"[..]), &b""[..]));
        let r = remove("!p:grp/ev vfs_read a=%ax", Source::DynamicEvents);
        assert_eq!((r.group, r.event), (Some(&b"grp"[..]), &b"ev"[..]));
        assert_eq!(r.words().collect::<Vec<_>>(), [&b"vfs_read"[..], b"a=%ax"]);
        let r = remove("!s:ev", Source::DynamicEvents);
        assert_eq!((r.group, r.event), (None, &b"ev"[..]));
        for (line, source) in [
            ("-x:ev", Source::KprobeEvents),
            ("-", Source::KprobeEvents),
            ("-:", Source::KprobeEvents),
            ("!ev", Source::DynamicEvents),
        ] {
            let r = parse_probe_line_with(line.as_bytes(), source, &Selftest).unwrap_err();
            assert_eq!(
                (r.err, r.errno),
                (ProbeError::BadRemoval, Errno::Inval),
                "{line}"
            );
        }
        // Matching, as trace_kprobe_match().
        let d = def("p:kprobes/testevent kernel_clone a=%ax b=+8(%di):u32");
        let matches = |line: &'static str| remove(line, Source::DynamicEvents).matches(&d);
        for yes in [
            "-:testevent",
            "-:kprobes/testevent",
            "-:kprobes/",
            "-:testevent kernel_clone",
            "-:testevent kernel_clone a=%ax",
            "-:testevent kernel_clone a=%ax b=+8(%di):u32",
            "!p:testevent kernel_clone",
            "!s:testevent",
        ] {
            assert!(matches(yes), "{yes}");
        }
        for no in [
            "-:other",
            "-:other/testevent",
            "-:/testevent",
            "-:testevent do_exit",
            "-:testevent kernel_clone+0",
            "-:testevent kernel_clone a=%bx",
            "-:testevent kernel_clone b=+8(%di):u32",
            "-:testevent kernel_clone a=%ax b=+8(%di):u32 c=%cx",
        ] {
            assert!(!matches(no), "{no}");
        }
        assert!(remove("-:ev vfs_read+4", Source::KprobeEvents).matches(&def("p:ev vfs_read+4")));
        assert!(
            remove("-:ev 0x0000000000001000", Source::KprobeEvents).matches(&def("p:ev 0x1000"))
        );
    }

    #[test]
    fn appending() {
        // As kprobe_syntax_errors.tc's multiprobe cases.
        let old = def(r"p:kprobes/testevent kernel_clone abcd=\1");
        let compare = |line: &str| {
            let new = def(line);
            let n = new.compare_args(&old);
            (n, new.log_pos(n + 1, 0))
        };
        assert_eq!(compare(r"p:kprobes/testevent kernel_clone bcd=\1"), (1, 33));
        assert_eq!(
            compare(r"p:kprobes/testevent kernel_clone abcd=\1:u8"),
            (1, 33)
        );
        assert_eq!(
            compare(r#"p:kprobes/testevent kernel_clone abcd=\"foo""#),
            (1, 33)
        );
        assert_eq!(
            compare(r"p:kprobes/testevent kernel_clone abcd=\1 x=\2"),
            (2, 41)
        );
        // Fewer arguments: the caret past the end of the command.
        assert_eq!(compare(r"p:kprobes/testevent kernel_clone"), (1, 33));
        let same = def(r"p:kprobes/testevent kernel_clone abcd=\1");
        assert_eq!(same.compare_args(&old), 0);
        assert!(same.same_probe(&old));
        assert!(!def(r"p:kprobes/testevent do_exit abcd=\1").same_probe(&old));
        assert!(!def(r"p:kprobes/testevent kernel_clone abcd=\2").same_probe(&old));
        // Bitfields have the type of their container.
        assert_eq!(
            def("p:e vfs_read a=%ax:u8").compare_args(&def("p:e vfs_read a=%ax:b1@0/8")),
            0
        );
        // Any two addresses are the same place to mainline.
        assert!(def("p:e 0x1000").same_probe(&def("p:e 0x2000")));
    }

    #[test]
    fn listing_round_trip() {
        for line in [
            "p vfs_read",
            "r vfs_read",
            "p:myevent vfs_read+0x10 %ax",
            "r10:g/e inet_csk_accept $retval a1=$arg1",
            "p:myprobe vfs_read%return $retval:s32",
            "p:grp.ev mod1:mfunc",
            "p 0xffffffff81000000 $stack",
            "p:mygroup/ vfs_read",
            "p vfs_read $arg1:%pd n=$arg2:%pD",
            "p vfs_read a=%di:u8 b=+0(%si):string c=+0(%dx):u16[3] d=$stack0:s64",
            r#"p vfs_read \1 \"foo" +u0($arg2):string +0($arg2):ustring @sym+8:b4@4/32"#,
            "p vfs_read +0(%di):char[4] +0(%di):string[2] %di:symbol %di:symstr +0(%ax)+10",
            "p vfs_read $comm c=$COMM:string x=\\-0x10:s8",
        ] {
            let d = def(line);
            assert_round_trip(&d);
        }
        assert_eq!(
            listing(&def("p:g.e vfs_read+0x10 %di +0x10(%si):u8 n=$comm")),
            "p:g/e vfs_read+16 arg1=%di arg2=+0x10(%si):u8 n=$comm\n"
        );
        assert_eq!(
            listing(&def("p 16")),
            "p:kprobes/p_0x0000000000000010 0x0000000000000010\n"
        );
        assert_eq!(
            listing(&def("p vfs_read $arg1:%pd")),
            "p:kprobes/p_vfs_read_0 vfs_read arg1=+0x0(+0x28($arg1)):string\n"
        );
        // As selftests grep it.
        assert!(
            listing(&def("p:testprobe kernel_clone $stack $stack0 +0($stack)"))
                .contains("arg1=$stack arg2=$stack0 arg3=+0($stack)")
        );
        assert!(listing(&def("r:testprobe2 kernel_clone $retval")).contains("arg1=$retval"));
        assert!(listing(&def("p:testprobe kernel_clone comm=$comm ")).contains("comm=$comm"));
    }

    #[test]
    fn formats() {
        let d =
            def("p:testprobe vfs_read a=%di:u8 b=+0(%si):string c=+0(%dx):u16[3] d=$stack0:s64");
        assert_eq!(
            format_fields(&d),
            "\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;\n\
             \tfield:u8 a;\toffset:16;\tsize:1;\tsigned:0;\n\
             \tfield:__data_loc char[] b;\toffset:17;\tsize:4;\tsigned:1;\n\
             \tfield:u16 c[];\toffset:21;\tsize:6;\tsigned:0;\n\
             \tfield:s64 d;\toffset:27;\tsize:8;\tsigned:1;\n"
        );
        assert_eq!(
            print_fmt(&d),
            "\"(%lx) a=%u b=\\\"%s\\\" c={%u,%u,%u} d=%Ld\", REC->__probe_ip, REC->a, \
             __get_str(b), REC->c[0], REC->c[1], REC->c[2], REC->d"
        );
        let d = def("r:rp vfs_read $retval s=+0(%ax):string[2] c=%ax:char y=%ax:symbol");
        assert_eq!(
            format_fields(&d),
            "\tfield:unsigned long __probe_func;\toffset:8;\tsize:8;\tsigned:0;\n\
             \tfield:unsigned long __probe_ret_ip;\toffset:16;\tsize:8;\tsigned:0;\n\
             \tfield:u64 arg1;\toffset:24;\tsize:8;\tsigned:0;\n\
             \tfield:__data_loc char[][2] s;\toffset:32;\tsize:8;\tsigned:1;\n\
             \tfield:u8 c;\toffset:40;\tsize:1;\tsigned:0;\n\
             \tfield:u64 y;\toffset:41;\tsize:8;\tsigned:0;\n"
        );
        assert_eq!(
            print_fmt(&d),
            "\"(%lx <- %lx) arg1=0x%Lx s={\\\"%s\\\",\\\"%s\\\"} c='%c' y=%pS\", \
             REC->__probe_func, REC->__probe_ret_ip, REC->arg1, __get_str(s[0]), \
             __get_str(s[1]), REC->c, REC->y"
        );
        let d =
            def("p vfs_read %ax:x8 %ax:x16 %ax:x32 %ax:s8 %ax:s16 %ax:s32 %ax:u16 %ax:u32 %ax:u64");
        assert_eq!(
            print_fmt(&d),
            "\"(%lx) arg1=0x%x arg2=0x%x arg3=0x%x arg4=%d arg5=%d arg6=%d arg7=%u arg8=%u \
             arg9=%Lu\", REC->__probe_ip, REC->arg1, REC->arg2, REC->arg3, REC->arg4, \
             REC->arg5, REC->arg6, REC->arg7, REC->arg8, REC->arg9"
        );
        let sizes: Vec<(usize, usize, bool)> = fields(&d, 8)
            .map(|f| (f.offset, f.size, f.signed))
            .collect();
        assert_eq!(
            sizes,
            [
                (8, 8, false),
                (16, 1, false),
                (17, 2, false),
                (19, 4, false),
                (23, 1, true),
                (24, 2, true),
                (26, 4, true),
                (30, 2, false),
                (32, 4, false),
                (36, 8, false),
            ]
        );
        // Another size of common fields moves everything.
        assert_eq!(fields(&d, 12).nth(1).map(|f| f.offset), Some(24));
        let d = def("p vfs_read");
        assert_eq!(print_fmt(&d), "\"(%lx)\", REC->__probe_ip");
    }

    #[test]
    fn types_and_registers() {
        for ty in FetchType::ALL {
            let line = match ty {
                FetchType::String | FetchType::UString => {
                    format!("p vfs_read +0(%ax):{}", ty.name())
                }
                _ => format!("p vfs_read %ax:{}", ty.name()),
            };
            assert_eq!(def(&line).args().next().unwrap().ty(), ty, "{line}");
        }
        for (i, r) in Register::ALL.into_iter().enumerate() {
            let line = format!("p vfs_read %{}", r.name());
            assert_eq!(programs(&line)[0][0], Fetch::Reg(r));
            assert!(r.offset() < 21 * 8);
            assert!(Register::ALL
                .iter()
                .skip(i + 1)
                .all(|o| o.offset() != r.offset()));
        }
        assert_eq!(Register::Di.offset(), 112);
        assert_eq!(Register::Ax.offset(), 80);
        assert_eq!(Register::Ss.offset(), 160);
        assert_eq!(refused("p vfs_read %eax").err, ProbeError::BadRegName);
        assert_eq!(refused("p vfs_read %AX").err, ProbeError::BadRegName);
        // Every error has mainline's text, but three that mainline does not log.
        let logged = ProbeError::ALL
            .iter()
            .filter(|e| e.log_text().is_some())
            .count();
        assert_eq!(logged, ProbeError::ALL.len() - 3);
    }

    #[test]
    fn numbers() {
        assert_eq!(kstrtoull(b"0x10", 0), Result::Ok(16));
        assert_eq!(kstrtoull(b"+010", 0), Result::Ok(8));
        assert_eq!(kstrtoull(b"0x", 0), Err(NumError::Invalid));
        assert_eq!(kstrtoull(b"18446744073709551616", 0), Err(NumError::Range));
        assert_eq!(kstrtoull(b"1\n", 0), Result::Ok(1));
        assert_eq!(kstrtoll(b"-9223372036854775808", 0), Result::Ok(i64::MIN));
        assert_eq!(kstrtoll(b"-9223372036854775809", 0), Err(NumError::Range));
        assert_eq!(kstrtoll(b"9223372036854775808", 0), Err(NumError::Range));
        assert_eq!(kstrtoll(b"-+1", 0), Err(NumError::Invalid));
        assert_eq!(kstrtouint(b"4294967296", 0), Err(NumError::Range));
        assert_eq!(simple_strtoul(b"0x1g", 0), (1, 3));
        assert_eq!(simple_strtoul(b"0xg", 0), (0, 1));
        assert_eq!(simple_strtoul(b"99999999999999999999x", 0), (u64::MAX, 20));
        assert_eq!(
            split_symbol_offset(b"sym+0x10"),
            Result::Ok((&b"sym"[..], 16))
        );
        assert_eq!(split_symbol_offset(b"sym-8"), Result::Ok((&b"sym"[..], -8)));
        assert_eq!(split_symbol_offset(b"sym"), Result::Ok((&b"sym"[..], 0)));
        assert_eq!(split_symbol_offset(b"sym+x"), Err(()));
    }
}
