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
  current_tracer\t- function and latency tracers
  available_tracers\t- list of configured tracers for current_tracer
  error_log\t- error log for failed commands (that support it)
  dynamic_events\t\t- Create/append/remove/show the generic dynamic events
\t\t\t  Write into this file to define/undefine new trace events.
\t  accepts: event-definitions (one definition per line)
\t   Format: s:[synthetic/]<event> <field> [<field>]
\t           -:[<group>/][<event>]
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
  events/<system>/<event>/\t- Directory containing control files for
\t\t\t  <event>:
      enable\t\t- Write 0/1 to enable/disable tracing of <event>
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
    let digits = buf.strip_suffix(b"\n").unwrap_or(buf);
    let digits = digits.strip_prefix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Overflow of `unsigned long` is ERANGE in mainline; any value but 0 turns it on.
    if digits.len() > 20 {
        return None;
    }
    Some(digits.iter().any(|&c| c != b'0'))
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
    fn error_entry() {
        let mut s = String::new();
        write_error(&mut s, 12_345_678_901, "dynamic_events", "Bad", b"s:x y", 2).unwrap();
        assert_eq!(
            s,
            "[   12.345678] dynamic_events: error: Bad\n  Command: s:x y\n             ^\n"
        );
    }
}
