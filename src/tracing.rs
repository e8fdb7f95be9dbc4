// SPDX-License-Identifier: GPL-2.0

//! The files of a tracing directory that are not about one event: what they print and
//! how their writes parse, worded and behaving as tracefs' (`kernel/trace/trace.c`,
//! `trace_events.c`). Plain Rust, no kernel state: `tree` applies the results.

use core::fmt;

/// The `README` file: the lines of tracefs' mini-HOWTO that describe what this
/// filesystem supports, worded as mainline words them (selftests `grep` them).
pub(crate) const README: &str = "\
tracing mini-HOWTO:

# echo 0 > tracing_on : quick way to disable tracing
# echo 1 > tracing_on : quick way to re-enable tracing

 Important files:
  trace\t\t\t- The static contents of the buffer
\t\t\t  To clear the buffer write into this file: echo > trace
  trace_pipe\t\t- A consuming read to see the contents of the buffer
  current_tracer\t- function and latency tracers
  available_tracers\t- list of configured tracers for current_tracer
  error_log\t- error log for failed commands (that support it)
  buffer_size_kb\t- view and modify size of per cpu buffer

  trace_marker\t\t- Writes into this file writes into the kernel buffer
  instances\t\t- Make sub-buffers with: mkdir instances/foo
\t\t\t  Remove sub-buffer with rmdir
  dynamic_events\t\t- Create/append/remove/show the generic dynamic events
\t\t\t  Write into this file to define/undefine new trace events.
  kprobe_events\t\t- Create/append/remove/show the kernel dynamic events
\t\t\t  Write into this file to define/undefine new trace events.
\t  accepts: event-definitions (one definition per line)
\t   Format: p[:[<group>/][<event>]] <place> [<args>]
\t           r[maxactive][:[<group>/][<event>]] <place> [<args>]
\t           s:[synthetic/]<event> <field> [<field>]
\t           -:[<group>/][<event>]
\t    place: [<module>:]<symbol>[+<offset>]|<memaddr>
  place (kretprobe): [<module>:]<symbol>[+<offset>]%return|<memaddr>
\t     args: <name>=fetcharg[:type]
\t fetcharg: %<register>, @<address>,
\t           $stack<index>, $stack, $retval, $comm, $arg<N>,
\t           +|-[u]<offset>(<fetcharg>), \\imm-value, \\\"imm-string\"
\t     kernel return probes support: $retval, $arg<N>, $comm
\t     type: s8/16/32/64, u8/16/32/64, x8/16/32/64, char, string, symbol,
\t           b<bit-width>@<bit-offset>/<container-size>, ustring,
\t           symstr, %pd/%pD, <type>\\[<array-size>\\]
\t    field: <stype> <name>;
\t    stype: u8/u16/u32/u64, s8/s16/s32/s64, pid_t,
\t           [unsigned] char/int/long
  synthetic_events\t- Create/append/remove/show synthetic events
\t  Write into this file to define/undefine new synthetic events.
\t     example: echo 'myevent u64 lat; char name[16]' >> synthetic_events
  set_event\t\t- Enables events by name written into it
  events/\t\t- Directory containing all trace event subsystems:
      enable\t\t- Write 0/1 to enable/disable tracing of all events
  events/<system>/\t- Directory containing all trace events for <system>:
      enable\t\t- Write 0/1 to enable/disable tracing of all <system>
\t\t\t  events
      filter\t\t- If set, only events passing filter are traced
  events/<system>/<event>/\t- Directory containing control files for
\t\t\t  <event>:
      enable\t\t- Write 0/1 to enable/disable tracing of <event>
      filter\t\t- If set, only events passing filter are traced
";

/// Whether `name` may name an instance: 1 to 255 printable ASCII characters other than
/// `/` (a name with blanks or control characters could not be written to the files that
/// name instances).
pub(crate) fn valid_instance_name(name: &[u8]) -> bool {
    (1..=255).contains(&name.len()) && name.iter().all(|&c| c.is_ascii_graphic() && c != b'/')
}

/// The only tracer: `available_tracers` and `current_tracer` print it.
pub(crate) const TRACER: &str = "nop";

/// Whether a write to `current_tracer` names a tracer we have (mainline strips trailing
/// blanks; an unknown name is `EINVAL`).
pub(crate) fn valid_tracer(buf: &[u8]) -> bool {
    buf.trim_ascii_end() == TRACER.as_bytes()
}

/// Parses a write to `tracing_on` as mainline's `kstrtoul_from_user(.., 10, ..)`: decimal
/// digits and at most one trailing newline. Returns whether recording is on.
pub(crate) fn parse_tracing_on(buf: &[u8]) -> Option<bool> {
    parse_ulong(buf).map(|v| v != 0)
}

/// `kstrtoul(.., 10, ..)`: an optional `+`, decimal digits, at most one trailing newline;
/// `None` for anything else or a value that does not fit 64 bits (`ERANGE`).
pub(crate) fn parse_ulong(buf: &[u8]) -> Option<u64> {
    let digits = buf.strip_suffix(b"\n").unwrap_or(buf);
    let digits = digits.strip_prefix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |v, &c| {
        v.checked_mul(10)?.checked_add(u64::from(c - b'0'))
    })
}

// --- records ---------------------------------------------------------------------------

/// Default size of one CPU's part of a ring buffer, in KiB (tracefs' `buffer_size_kb`
/// once expanded).
pub(crate) const BUFFER_KB_DEFAULT: u64 = 1408;
/// Largest `buffer_size_kb` accepted (1 GiB per CPU): larger sizes are `EINVAL` rather
/// than an allocation the machine cannot make.
pub(crate) const BUFFER_KB_MAX: u64 = 1 << 20;

/// The record type of a `trace_marker` write: tracefs' `TRACE_PRINT`. Event ids start
/// above every such type.
pub(crate) const TYPE_PRINT: u16 = 5;
/// Size of the fixed header of every record (`struct trace_entry`): `common_type`,
/// `common_flags`, `common_preempt_count`, `common_pid`.
pub(crate) const HEADER_SIZE: usize = 8;
/// Largest `trace_marker` write that is recorded whole (tracefs' `TRACE_MARKER_MAX_SIZE`);
/// longer ones are cut.
pub(crate) const MARKER_MAX: usize = 4096;
/// Size of a print record before its text: the header and `ip`.
const PRINT_TEXT_OFFSET: usize = HEADER_SIZE + 8;

/// `TRACE_FLAG_*` of `linux/trace_events.h`, as `common_flags` keeps them.
pub(crate) mod flag {
    pub(crate) const IRQS_OFF: u8 = 0x01;
    pub(crate) const NEED_RESCHED_LAZY: u8 = 0x02;
    pub(crate) const NEED_RESCHED: u8 = 0x04;
    pub(crate) const HARDIRQ: u8 = 0x08;
    pub(crate) const SOFTIRQ: u8 = 0x10;
    pub(crate) const PREEMPT_RESCHED: u8 = 0x20;
    pub(crate) const NMI: u8 = 0x40;
    pub(crate) const BH_OFF: u8 = 0x80;
}

/// The context a record was written in, as its header keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Context {
    /// `TRACE_FLAG_*`.
    pub(crate) flags: u8,
    /// Preemption depth (low 4 bits) and migrate-disable depth (high 4 bits).
    pub(crate) preempt: u8,
    /// The writer's pid.
    pub(crate) pid: i32,
}

/// Parts of `preempt_count()` (`linux/preempt.h`).
const SOFTIRQ_OFFSET: u32 = 1 << 8;
const SOFTIRQ_MASK: u32 = 0xff << 8;
const HARDIRQ_MASK: u32 = 0xf << 16;
const NMI_MASK: u32 = 0xf << 20;

impl Context {
    /// The context from the raw state the kernel reports, as tracefs computes it
    /// (`tracing_gen_ctx_irq_test()`).
    pub(crate) fn new(
        pid: i32,
        irqs_off: bool,
        preempt_count: u32,
        need_resched: bool,
        migrate_disabled: u32,
    ) -> Context {
        let mut flags = 0;
        if irqs_off {
            flags |= flag::IRQS_OFF;
        }
        if preempt_count & NMI_MASK != 0 {
            flags |= flag::NMI;
        }
        if preempt_count & HARDIRQ_MASK != 0 {
            flags |= flag::HARDIRQ;
        }
        if preempt_count & SOFTIRQ_OFFSET != 0 {
            flags |= flag::SOFTIRQ;
        }
        // Bottom halves disabled: a softirq count beyond the one of serving a softirq.
        if (preempt_count & SOFTIRQ_MASK) >> 9 != 0 {
            flags |= flag::BH_OFF;
        }
        if need_resched {
            flags |= flag::NEED_RESCHED;
        }
        let depth = (preempt_count & 0xff).min(0xf) as u8;
        let migrate = migrate_disabled.min(0xf) as u8;
        Context {
            flags,
            preempt: depth | (migrate << 4),
            pid,
        }
    }

    /// Writes the header of a record of type `ty` into its first [`HEADER_SIZE`] bytes.
    pub(crate) fn write_header(&self, ty: u16, rec: &mut [u8]) {
        if let Some(h) = rec.get_mut(..HEADER_SIZE) {
            h[0..2].copy_from_slice(&ty.to_ne_bytes());
            h[2] = self.flags;
            h[3] = self.preempt;
            h[4..8].copy_from_slice(&self.pid.to_ne_bytes());
        }
    }

    /// The type and context a record's header holds.
    pub(crate) fn read_header(rec: &[u8]) -> Option<(u16, Context)> {
        let h = rec.get(..HEADER_SIZE)?;
        Some((
            u16::from_ne_bytes([h[0], h[1]]),
            Context {
                flags: h[2],
                preempt: h[3],
                pid: i32::from_ne_bytes([h[4], h[5], h[6], h[7]]),
            },
        ))
    }
}

/// The length of the print record of a `trace_marker` write of `text`, cut to fit a
/// record of at most `max_record` bytes: returns the record's length and how much of the
/// text it holds. The text gets a newline if it lacks one, and a NUL.
pub(crate) fn print_record_len(text_len: usize, max_record: usize) -> (usize, usize) {
    let room = max_record.saturating_sub(PRINT_TEXT_OFFSET + 2);
    let n = text_len.min(MARKER_MAX).min(room);
    (PRINT_TEXT_OFFSET + n + 2, n)
}

/// The name of tracefs' group of its own record types, under `events/`.
pub(crate) const FTRACE_GROUP: &[u8] = b"ftrace";
/// The event of `ftrace/` that describes print records (what `trace_marker` writes).
pub(crate) const PRINT_EVENT: &[u8] = b"print";

/// Writes the `format` file of `events/ftrace/print` as tracefs writes it (the layout of
/// [`fill_print_record`]): `common_fields` is the common-field part every format shares.
pub(crate) fn write_print_format<W: fmt::Write>(w: &mut W, common_fields: &str) -> fmt::Result {
    write!(w, "name: print\nID: {TYPE_PRINT}\nformat:\n")?;
    w.write_str(common_fields)?;
    writeln!(
        w,
        "\tfield:unsigned long ip;\toffset:{HEADER_SIZE};\tsize:8;\tsigned:0;"
    )?;
    writeln!(
        w,
        "\tfield:char buf[];\toffset:{PRINT_TEXT_OFFSET};\tsize:0;\tsigned:0;"
    )?;
    w.write_str("\nprint fmt: \"%ps: %s\", (void *)REC->ip, REC->buf\n")
}

/// Fills a print record (of the length [`print_record_len`] gave) with `text`.
pub(crate) fn fill_print_record(rec: &mut [u8], ctx: &Context, ip: u64, text: &[u8]) {
    ctx.write_header(TYPE_PRINT, rec);
    if let Some(f) = rec.get_mut(HEADER_SIZE..PRINT_TEXT_OFFSET) {
        f.copy_from_slice(&ip.to_ne_bytes());
    }
    let Some(body) = rec.get_mut(PRINT_TEXT_OFFSET..) else {
        return;
    };
    let n = text.len().min(body.len().saturating_sub(2));
    body[..n].copy_from_slice(&text[..n]);
    if n > 0 && text[n - 1] != b'\n' {
        body[n] = b'\n';
    }
}

/// The text of a print record, up to its NUL.
pub(crate) fn print_text(rec: &[u8]) -> &[u8] {
    let body = rec.get(PRINT_TEXT_OFFSET..).unwrap_or(&[]);
    let end = body.iter().position(|&c| c == 0).unwrap_or(body.len());
    &body[..end]
}

/// `events/header_page`: the layout of a page of the kernel's ring buffer (its
/// `buffer_data_page`), as `ring_buffer_print_page_header()` prints it for a buffer of
/// one-page sub-buffers (our buffers' and tracefs' default) with 4 KiB pages, built with
/// `-funsigned-char` as every kernel since 6.2 is.
pub(crate) const HEADER_PAGE: &str = "\
\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;
\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;
\tfield: char overwrite;\toffset:8;\tsize:1;\tsigned:0;
\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;
";

/// `events/header_event`: the layout of the ring buffer's event header, as
/// `ring_buffer_print_entry_header()` prints it.
pub(crate) const HEADER_EVENT: &str = "\
# compressed entry header
\ttype_len    :    5 bits
\ttime_delta  :   27 bits
\tarray       :   32 bits

\tpadding     : type == 29
\ttime_extend : type == 30
\ttime_stamp : type == 31
\tdata max type_len  == 28
";

/// The header of `trace` (tracefs' default: nop tracer, irq-info on, no tgid).
pub(crate) fn write_trace_header<W: fmt::Write>(
    w: &mut W,
    entries: u64,
    written: u64,
    cpus: u32,
) -> fmt::Result {
    write!(
        w,
        "# tracer: {TRACER}\n\
         #\n\
         # entries-in-buffer/entries-written: {entries}/{written}   #P:{cpus}\n\
         #\n\
         #                                _-----=> irqs-off/BH-disabled\n\
         #                               / _----=> need-resched\n\
         #                              | / _---=> hardirq/softirq\n\
         #                              || / _--=> preempt-depth\n\
         #                              ||| / _-=> migrate-disable\n\
         #                              |||| /     delay\n\
         #           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n\
         #              | |         |   |||||     |         |\n"
    )
}

/// The five latency-format characters of a record's context (`trace_print_lat_fmt()`).
fn lat_flags(ctx: &Context) -> [char; 5] {
    let f = ctx.flags;
    let has = |b: u8| f & b != 0;
    let irqs = match (has(flag::IRQS_OFF), has(flag::BH_OFF)) {
        (true, true) => 'D',
        (true, false) => 'd',
        (false, true) => 'b',
        _ => '.',
    };
    let resched = match (
        has(flag::NEED_RESCHED),
        has(flag::NEED_RESCHED_LAZY),
        has(flag::PREEMPT_RESCHED),
    ) {
        (true, true, true) => 'B',
        (true, false, true) => 'N',
        (false, true, true) => 'L',
        (true, true, false) => 'b',
        (true, false, false) => 'n',
        (false, false, true) => 'p',
        (false, true, false) => 'l',
        _ => '.',
    };
    let irq = match (has(flag::NMI), has(flag::HARDIRQ), has(flag::SOFTIRQ)) {
        (true, true, _) => 'Z',
        (true, false, _) => 'z',
        (false, true, true) => 'H',
        (false, true, false) => 'h',
        (false, false, true) => 's',
        _ => '.',
    };
    let digit = |v: u8| {
        if v == 0 {
            '.'
        } else {
            char::from_digit(u32::from(v), 16).unwrap_or('.')
        }
    };
    [
        irqs,
        resched,
        irq,
        digit(ctx.preempt & 0xf),
        digit(ctx.preempt >> 4),
    ]
}

/// The start of a record's line in `trace`: task, CPU, context and timestamp, up to the
/// event's name (`trace_print_context()`). `comm` is the task's name, or `None` if it
/// was not saved.
pub(crate) fn write_context<W: fmt::Write>(
    w: &mut W,
    comm: Option<&str>,
    ctx: &Context,
    cpu: u32,
    ts_ns: u64,
) -> fmt::Result {
    let comm = match comm {
        _ if ctx.pid == 0 => "<idle>",
        Some(c) => c,
        None => "<...>",
    };
    let us = ts_ns.saturating_add(500) / 1000;
    let [a, b, c, d, e] = lat_flags(ctx);
    write!(
        w,
        "{comm:>16}-{pid:<7} [{cpu:03}] {a}{b}{c}{d}{e} {secs:5}.{rem:06}: ",
        pid = ctx.pid,
        secs = us / 1_000_000,
        rem = us % 1_000_000
    )
}

/// How many task names are kept for `trace` to print (tracefs' default
/// `saved_cmdlines_size`).
pub(crate) const SAVED_COMMS: usize = 128;
/// Length of a task name (`TASK_COMM_LEN`).
pub(crate) const COMM_LEN: usize = 16;

/// The names of the tasks that wrote records, by pid (tracefs' saved cmdlines): one slot
/// per `pid % SAVED_COMMS`, the last writer's.
pub(crate) struct SavedComms {
    slots: [(i32, [u8; COMM_LEN]); SAVED_COMMS],
}

impl SavedComms {
    pub(crate) const fn new() -> SavedComms {
        SavedComms {
            slots: [(0, [0; COMM_LEN]); SAVED_COMMS],
        }
    }

    /// The slot of `pid`.
    pub(crate) fn slot(pid: i32) -> usize {
        pid.unsigned_abs() as usize % SAVED_COMMS
    }

    /// Keeps `comm` as the name of `pid`.
    pub(crate) fn save(&mut self, pid: i32, comm: &[u8; COMM_LEN]) {
        if pid > 0 {
            self.slots[Self::slot(pid)] = (pid, *comm);
        }
    }

    /// The name kept for `pid`, into `out`; `None` if there is none.
    pub(crate) fn find<'a>(&self, pid: i32, out: &'a mut [u8; COMM_LEN]) -> Option<&'a str> {
        let (p, comm) = &self.slots[Self::slot(pid)];
        if *p != pid || pid <= 0 {
            return None;
        }
        *out = *comm;
        let end = out.iter().position(|&c| c == 0).unwrap_or(COMM_LEN);
        core::str::from_utf8(&out[..end]).ok()
    }
}

/// Which events one `set_event` token selects (mainline's `ftrace_set_clr_event`).
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) struct EventMatch<'a> {
    /// `SYS:EVENT` form: the group, or `None` for any (empty or `*`).
    pub(crate) group: Option<&'a [u8]>,
    /// `SYS:EVENT` form: the event, or `None` for any (empty or `*`).
    pub(crate) event: Option<&'a [u8]>,
    /// `NAME` form (no `:`): a group or an event of that name.
    pub(crate) either: Option<&'a [u8]>,
}

impl EventMatch<'_> {
    /// Whether event `event` of group `group` is selected.
    pub(crate) fn matches(&self, group: &[u8], event: &[u8]) -> bool {
        if let Some(name) = self.either {
            return name == group || name == event;
        }
        self.group.is_none_or(|g| g == group) && self.event.is_none_or(|e| e == event)
    }
}

/// One `set_event` command: enable or disable what `what` selects.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) struct SetEvent<'a> {
    pub(crate) enable: bool,
    pub(crate) what: EventMatch<'a>,
}

/// The longest `set_event` token mainline accepts (`EVENT_BUF_SIZE`).
pub(crate) const SET_EVENT_TOKEN_MAX: usize = 127;

/// Parses one whitespace-free `set_event` token.
pub(crate) fn parse_set_event(token: &[u8]) -> Option<SetEvent<'_>> {
    if token.is_empty() || token.len() > SET_EVENT_TOKEN_MAX {
        return None;
    }
    let (enable, body) = match token.strip_prefix(b"!") {
        Some(rest) => (false, rest),
        None => (true, token),
    };
    let any = |s: &[u8]| -> bool { s.is_empty() || s == b"*" };
    let what = match body.iter().position(|&c| c == b':') {
        Some(colon) => {
            let (g, e) = (&body[..colon], &body[colon + 1..]);
            EventMatch {
                group: (!any(g)).then_some(g),
                event: (!any(e)).then_some(e),
                either: None,
            }
        }
        None => EventMatch {
            group: None,
            event: None,
            either: Some(body),
        },
    };
    Some(SetEvent { enable, what })
}

/// How many entries `error_log` keeps (mainline's `TRACING_LOG_ERRS_MAX`).
pub(crate) const ERROR_LOG_MAX: usize = 8;

/// The prefix of an `error_log` command line (mainline's `CMD_PREFIX`).
const CMD_PREFIX: &str = "  Command: ";

/// Writes one `error_log` entry as tracefs does:
///
/// ```text
/// [   12.345678] LOC: error: MESSAGE
///   Command: CMD
///              ^
/// ```
pub(crate) fn write_error<W: fmt::Write>(
    w: &mut W,
    ts_ns: u64,
    loc: &str,
    msg: &str,
    cmd: &[u8],
    pos: usize,
) -> fmt::Result {
    let (sec, nsec) = (ts_ns / 1_000_000_000, ts_ns % 1_000_000_000);
    write!(
        w,
        "[{:5}.{:06}] {}: error: {}\n{}",
        sec,
        nsec / 1000,
        loc,
        msg,
        CMD_PREFIX
    )?;
    for &c in cmd {
        // Commands are text; anything else prints as mainline's %s would not garble.
        w.write_char(if c.is_ascii() { c as char } else { '?' })?;
    }
    w.write_char('\n')?;
    for _ in 0..CMD_PREFIX.len() + pos {
        w.write_char(' ')?;
    }
    w.write_str("^\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `events/ftrace/print/format` as tracefs prints it, and its offsets as
    /// [`fill_print_record`] lays the record out.
    #[test]
    fn print_format_is_tracefs() {
        let mut s = String::new();
        write_print_format(&mut s, "<common>\n").unwrap();
        assert_eq!(
            s,
            "name: print\nID: 5\nformat:\n<common>\n\
             \tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n\
             \tfield:char buf[];\toffset:16;\tsize:0;\tsigned:0;\n\
             \nprint fmt: \"%ps: %s\", (void *)REC->ip, REC->buf\n"
        );
        let ctx = Context::new(7, false, 0, false, 0);
        let (len, n) = print_record_len(2, 1 << 12);
        let mut rec = vec![0u8; len];
        fill_print_record(&mut rec, &ctx, 0x1122, b"hi");
        assert_eq!(n, 2);
        assert_eq!(&rec[8..16], &0x1122u64.to_ne_bytes());
        assert_eq!(&rec[16..], b"hi\n\0");
    }

    #[test]
    fn tracing_on() {
        assert_eq!(parse_tracing_on(b"1\n"), Some(true));
        assert_eq!(parse_tracing_on(b"0"), Some(false));
        assert_eq!(parse_tracing_on(b"42\n"), Some(true));
        assert_eq!(parse_tracing_on(b"00\n"), Some(false));
        assert_eq!(parse_tracing_on(b""), None);
        assert_eq!(parse_tracing_on(b"\n"), None);
        assert_eq!(parse_tracing_on(b"x"), None);
        assert_eq!(parse_tracing_on(b"1 \n"), None);
        assert_eq!(parse_tracing_on(b"-1"), None);
    }

    #[test]
    fn set_event() {
        let m = parse_set_event(b"g:e").unwrap();
        assert!(m.enable && m.what.matches(b"g", b"e") && !m.what.matches(b"g", b"f"));
        let m = parse_set_event(b"!g:*").unwrap();
        assert!(!m.enable && m.what.matches(b"g", b"x") && !m.what.matches(b"h", b"x"));
        let m = parse_set_event(b"*:*").unwrap();
        assert!(m.what.matches(b"a", b"b"));
        let m = parse_set_event(b":e").unwrap();
        assert!(m.what.matches(b"a", b"e") && !m.what.matches(b"e", b"a"));
        let m = parse_set_event(b"g:").unwrap();
        assert!(m.what.matches(b"g", b"z"));
        let m = parse_set_event(b"x").unwrap();
        assert!(m.what.matches(b"x", b"y") && m.what.matches(b"y", b"x"));
        assert!(!m.what.matches(b"y", b"y"));
        assert!(parse_set_event(b"").is_none());
        assert!(parse_set_event(&[b'a'; SET_EVENT_TOKEN_MAX + 1]).is_none());
    }

    #[test]
    fn ulong() {
        assert_eq!(parse_ulong(b"1408\n"), Some(1408));
        assert_eq!(parse_ulong(b"+7"), Some(7));
        assert_eq!(parse_ulong(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_ulong(b"18446744073709551616"), None);
        assert_eq!(parse_ulong(b"0x10"), None);
        assert_eq!(parse_ulong(b" 1"), None);
    }

    #[test]
    fn context_flags() {
        // Process context, nothing disabled.
        let c = Context::new(42, false, 0, false, 0);
        assert_eq!((c.flags, c.preempt), (0, 0));
        // Hard irq with irqs off, preempt depth 1, migration disabled twice.
        let c = Context::new(1, true, (1 << 16) | 1, true, 2);
        assert_eq!(c.flags, flag::IRQS_OFF | flag::HARDIRQ | flag::NEED_RESCHED);
        assert_eq!(c.preempt, 0x21);
        assert_eq!(lat_flags(&c), ['d', 'n', 'h', '1', '2']);
        // Serving a softirq with bottom halves disabled on top.
        let c = Context::new(1, false, SOFTIRQ_OFFSET | (2 << 8), false, 0);
        assert_eq!(c.flags, flag::SOFTIRQ | flag::BH_OFF);
        assert_eq!(lat_flags(&c), ['b', '.', 's', '.', '.']);
        // Depths saturate at 15.
        assert_eq!(Context::new(1, false, 0xff, false, 99).preempt, 0xff);
        let mut rec = [0u8; HEADER_SIZE];
        c.write_header(TYPE_PRINT, &mut rec);
        assert_eq!(Context::read_header(&rec), Some((TYPE_PRINT, c)));
    }

    #[test]
    fn print_records() {
        let ctx = Context::new(7, false, 0, false, 0);
        for (text, want) in [(&b"hello\n"[..], &b"hello\n"[..]), (b"hi", b"hi\n")] {
            let (len, n) = print_record_len(text.len(), 4096);
            assert_eq!(n, text.len());
            let mut rec = vec![0u8; len];
            fill_print_record(&mut rec, &ctx, 0x1234, text);
            assert_eq!(print_text(&rec), want);
            assert_eq!(Context::read_header(&rec).unwrap().0, TYPE_PRINT);
        }
        // Cut to the marker limit, then to what a record can hold.
        assert_eq!(print_record_len(10_000, 1 << 20).1, MARKER_MAX);
        let (len, n) = print_record_len(5000, 4000);
        assert_eq!((len, n), (4000, 4000 - PRINT_TEXT_OFFSET - 2));
        let mut rec = vec![0u8; len];
        fill_print_record(&mut rec, &ctx, 0, &[b'x'; 5000][..n]);
        assert_eq!(print_text(&rec).len(), n + 1);
    }

    #[test]
    fn trace_lines() {
        let mut s = String::new();
        let ctx = Context::new(157, false, 0, false, 0);
        write_context(&mut s, Some("sh"), &ctx, 1, 12_345_678_901).unwrap();
        assert_eq!(s, "              sh-157     [001] .....    12.345679: ");
        s.clear();
        write_context(&mut s, None, &Context::new(3, true, 1, false, 0), 0, 0).unwrap();
        assert_eq!(s, "           <...>-3       [000] d..1.     0.000000: ");
        s.clear();
        write_trace_header(&mut s, 1, 2, 2).unwrap();
        assert!(
            s.starts_with("# tracer: nop\n#\n# entries-in-buffer/entries-written: 1/2   #P:2\n")
        );
        assert!(s.ends_with("#              | |         |   |||||     |         |\n"));
        assert_eq!(s.lines().count(), 12);
    }

    #[test]
    fn saved_comms() {
        let mut c = SavedComms::new();
        let mut name = [0u8; COMM_LEN];
        name[..2].copy_from_slice(b"sh");
        c.save(5, &name);
        let mut out = [0u8; COMM_LEN];
        assert_eq!(c.find(5, &mut out), Some("sh"));
        assert_eq!(c.find(5 + SAVED_COMMS as i32, &mut out), None);
        assert_eq!(c.find(6, &mut out), None);
        c.save(5 + SAVED_COMMS as i32, &name);
        assert_eq!(c.find(5, &mut out), None);
    }

    #[test]
    fn error_entry() {
        let mut s = String::new();
        write_error(&mut s, 12_345_678_901, "dynamic_events", "Bad", b"s:x y", 2).unwrap();
        assert_eq!(
            s,
            "[   12.345678] dynamic_events: error: Bad\n  Command: s:x y\n             ^\n"
        );
    }
}
