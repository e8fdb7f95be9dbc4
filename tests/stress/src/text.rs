//! The text eventfs reads and writes: `dynamic_events` commands and listing, the
//! contents of `enable`, `id` and `format`, and of the other files of the root
//! (`available_events`, `set_event`, `synthetic_events`, `README`, ...).

use crate::kprobe;
use crate::rng::Rng;

/// The scalar field types of `dynamic_events`.
pub const SCALAR_TYPES: [&str; 10] = [
    "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "int", "pid_t",
];

/// One declared field of an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// `u8` ... `pid_t`, or `char`.
    pub ty: &'static str,
    /// The field name.
    pub name: String,
    /// `N` of `char NAME[N]`.
    pub array: Option<u16>,
}

impl Field {
    /// The declaration as the listing and the format file spell it: `u64 lat`,
    /// `char comm[16]`.
    pub fn decl(&self) -> String {
        match self.array {
            Some(n) => format!("{} {}[{n}]", self.ty, self.name),
            None => format!("{} {}", self.ty, self.name),
        }
    }
}

/// 1 to 4 random fields named `f0`, `f1`, ...: every type is equally likely, `char`
/// arrays have 1 to 32 elements.
pub fn random_fields(rng: &mut Rng) -> Vec<Field> {
    let n = 1 + rng.index(4);
    (0..n)
        .map(|i| {
            let t = rng.index(SCALAR_TYPES.len() + 1);
            let (ty, array) = match SCALAR_TYPES.get(t) {
                Some(&ty) => (ty, None),
                None => ("char", Some(1 + rng.below(32) as u16)),
            };
            Field {
                ty,
                name: format!("f{i}"),
                array,
            }
        })
        .collect()
}

/// The listing line of an event: `s:GROUP/EVENT DECL; DECL` with a newline. It is also
/// a valid creating command, and the tool creates events with exactly this text.
pub fn create_line(group: &str, event: &str, fields: &[Field]) -> String {
    let decls: Vec<String> = fields.iter().map(Field::decl).collect();
    format!("s:{group}/{event} {}\n", decls.join("; "))
}

/// The command removing an event.
pub fn remove_line(group: &str, event: &str) -> String {
    format!("-:{group}/{event}\n")
}

/// Whether `name` is a valid eventfs name: `[A-Za-z_][A-Za-z0-9_]*`, at most 64 bytes.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    match b.split_first() {
        Some((&first, rest)) => {
            b.len() <= 64
                && (first.is_ascii_alphabetic() || first == b'_')
                && rest.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
        }
        None => false,
    }
}

/// One line of the `dynamic_events` listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// The group.
    pub group: String,
    /// The event.
    pub event: String,
    /// The whole line, with its newline.
    pub line: String,
    /// A kprobe event (a `p:`/`r:` line) rather than a synthetic one (`s:`).
    pub probe: bool,
}

/// Parses a `dynamic_events` listing: one `s:GROUP/EVENT FIELDS` line per synthetic
/// event, one `p:GROUP/EVENT PLACE ARGS` or `r[N]:GROUP/EVENT PLACE ARGS` line per kprobe
/// event (see [`kprobe::parse_probe_line`]).
pub fn parse_listing(text: &str) -> Result<Vec<Listed>, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("listing does not end with a newline".to_string());
    }
    text.split_inclusive('\n')
        .map(|line| {
            let body = line.trim_end_matches('\n');
            if body.starts_with('p') || body.starts_with('r') {
                let l = kprobe::parse_probe_line(body)?;
                return Ok(Listed {
                    group: l.group,
                    event: l.event,
                    line: line.to_string(),
                    probe: true,
                });
            }
            let rest = body
                .strip_prefix("s:")
                .ok_or_else(|| format!("listing line without 's:', 'p:' or 'r:': {body:?}"))?;
            let (target, fields) = rest
                .split_once(' ')
                .ok_or_else(|| format!("listing line without fields: {body:?}"))?;
            let (group, event) = target
                .split_once('/')
                .ok_or_else(|| format!("listing line without a group: {body:?}"))?;
            if !valid_name(group) || !valid_name(event) || fields.trim().is_empty() {
                return Err(format!("malformed listing line: {body:?}"));
            }
            Ok(Listed {
                group: group.to_string(),
                event: event.to_string(),
                line: line.to_string(),
                probe: false,
            })
        })
        .collect()
}

/// Parses `GROUP:EVENT` lines (`available_events`, `set_event`) into (group, event)
/// pairs, in order.
pub fn parse_event_names(text: &str) -> Result<Vec<(String, String)>, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(format!("{text:?} does not end with a newline"));
    }
    text.lines()
        .map(|line| match line.split_once(':') {
            Some((g, e)) if valid_name(g) && valid_name(e) => Ok((g.to_string(), e.to_string())),
            _ => Err(format!("malformed GROUP:EVENT line {line:?}")),
        })
        .collect()
}

/// The group of events created without one.
pub const DEFAULT_GROUP: &str = "synthetic";

/// Parses `synthetic_events` into (group, event) pairs, in order: one line per event,
/// `[GROUP/]EVENT` (no group for [`DEFAULT_GROUP`]), a blank, the fields.
pub fn parse_synthetic(text: &str) -> Result<Vec<(String, String)>, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(format!("{text:?} does not end with a newline"));
    }
    text.lines()
        .map(|line| {
            let bad = || format!("malformed synthetic_events line {line:?}");
            let (target, fields) = line.split_once(['\t', ' ']).ok_or_else(bad)?;
            let (g, e) = target.split_once('/').unwrap_or((DEFAULT_GROUP, target));
            if !valid_name(g) || !valid_name(e) || fields.trim().is_empty() {
                return Err(bad());
            }
            Ok((g.to_string(), e.to_string()))
        })
        .collect()
}

/// The first line of `README` (tracefs' mini-HOWTO).
pub const README_HEADER: &str = "tracing mini-HOWTO:\n";
/// The only tracer (`available_tracers`, `current_tracer`).
pub const TRACER: &str = "nop";

fn is_number(s: &str) -> bool {
    s.bytes().all(|c| c.is_ascii_digit())
}

/// Checks the content of the root file `name` as far as it can be checked while others
/// change the registry: its syntax.
pub fn check_root_file(name: &str, text: &[u8]) -> Result<(), String> {
    let s = std::str::from_utf8(text).map_err(|_| format!("{name} is not UTF-8"))?;
    let bad = || format!("bad {name} content {s:?}");
    match name {
        "README" if s.starts_with(README_HEADER) && s.ends_with('\n') => Ok(()),
        "available_tracers" | "current_tracer" if s == format!("{TRACER}\n") => Ok(()),
        "tracing_on" if s == "0\n" || s == "1\n" => Ok(()),
        "buffer_size_kb" if s.len() > 1 && s.strip_suffix('\n').is_some_and(is_number) => Ok(()),
        // Others may write markers meanwhile: the header is what is fixed.
        "trace" if s.starts_with("# tracer: nop\n#\n# entries-in-buffer/entries-written: ") => {
            Ok(())
        }
        "available_events" | "set_event" => parse_event_names(s).map(drop),
        "synthetic_events" => parse_synthetic(s).map(drop),
        "dynamic_events" => parse_listing(s).map(drop),
        "kprobe_events" => kprobe::parse_kprobe_listing(s).map(drop),
        "kprobe_profile" => kprobe::parse_profile(s).map(drop),
        // Entries of failed writes: free text, whole lines.
        "error_log" if s.is_empty() || s.ends_with('\n') => Ok(()),
        _ => Err(bad()),
    }
}

/// A `trace`/`trace_pipe` line split up: `<comm>-<pid> [CPU] FLAGS TS: EVENT:BODY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceLine<'a> {
    /// The writer's pid (a thread id).
    pub pid: u32,
    /// The event name.
    pub event: &'a str,
    /// What follows `EVENT:` (usually a blank, then the fields).
    pub body: &'a str,
}

/// Splits a trace line; `None` if it is not laid out so (a comment, a lost-events note).
pub fn split_trace_line(line: &str) -> Option<TraceLine<'_>> {
    let (task, rest) = line.split_once(" [")?;
    let (_comm, pid) = task.trim().rsplit_once('-')?;
    if pid.is_empty() || !pid.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let pid = pid.parse().ok()?;
    let (cpu, rest) = rest.split_once("] ")?;
    if cpu.is_empty() || !cpu.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (head, rest) = rest.split_once(": ")?;
    let ts = head.split_whitespace().last()?;
    let (secs, usecs) = ts.split_once('.')?;
    if secs.is_empty()
        || usecs.is_empty()
        || !secs.bytes().all(|c| c.is_ascii_digit())
        || !usecs.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let (event, body) = rest.split_once(':')?;
    if event.is_empty() || event.contains(' ') {
        return None;
    }
    Some(TraceLine { pid, event, body })
}

/// Checks the content of an event's `enable` (`0` or `1`), or with `aggregate` that of
/// a group's or the root's (`0`, `1` or `X`). Returns the state character.
pub fn parse_enable(text: &[u8], aggregate: bool) -> Result<char, String> {
    match text {
        b"0\n" => Ok('0'),
        b"1\n" => Ok('1'),
        b"X\n" if aggregate => Ok('X'),
        _ => Err(format!(
            "bad enable content {:?}",
            String::from_utf8_lossy(text)
        )),
    }
}

/// Checks the content of `id` (a positive decimal number and a newline) and returns it.
pub fn parse_id(text: &[u8]) -> Result<u64, String> {
    let bad = || format!("bad id content {:?}", String::from_utf8_lossy(text));
    let digits = text.strip_suffix(b"\n").ok_or_else(bad)?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || digits[0] == b'0' {
        return Err(bad());
    }
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)
}

/// What a valid `format` file says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Format {
    /// The `ID:` line.
    pub id: u64,
    /// The declarations of the declared fields (after the four common fields), in order.
    pub decls: Vec<String>,
}

/// The common fields every event record starts with.
const COMMON_FIELDS: [&str; 4] = [
    "unsigned short common_type",
    "unsigned char common_flags",
    "unsigned char common_preempt_count",
    "int common_pid",
];

/// Checks the content of the `format` file of event `event` and returns its ID and
/// field declarations.
pub fn parse_format(text: &[u8], event: &str) -> Result<Format, String> {
    let text = std::str::from_utf8(text).map_err(|_| "format is not UTF-8".to_string())?;
    let bad = |why: &str| format!("bad format ({why}): {text:?}");
    let rest = text
        .strip_prefix(&format!("name: {event}\nID: "))
        .ok_or_else(|| bad("name/ID header"))?;
    let (id, rest) = rest.split_once('\n').ok_or_else(|| bad("ID line"))?;
    let id = parse_id(format!("{id}\n").as_bytes()).map_err(|_| bad("ID value"))?;
    let rest = rest
        .strip_prefix("format:\n")
        .ok_or_else(|| bad("format: line"))?;
    if !rest.ends_with('\n') {
        return Err(bad("no final newline"));
    }
    let mut decls = Vec::new();
    let mut print_fmt = false;
    for line in rest.lines() {
        if line.is_empty() {
            continue;
        }
        if print_fmt {
            return Err(bad("text after print fmt"));
        }
        if line.starts_with("print fmt: \"") {
            print_fmt = true;
            continue;
        }
        let f = line
            .strip_prefix("\tfield:")
            .ok_or_else(|| bad("field line"))?;
        let (decl, attrs) = f.split_once(";\toffset:").ok_or_else(|| bad("offset"))?;
        let (offset, attrs) = attrs.split_once(";\tsize:").ok_or_else(|| bad("size"))?;
        let (size, signed) = attrs
            .split_once(";\tsigned:")
            .ok_or_else(|| bad("signed"))?;
        let num = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
        if !num(offset) || !num(size) || !(signed == "0;" || signed == "1;") {
            return Err(bad("field attributes"));
        }
        decls.push(decl.to_string());
    }
    if !print_fmt {
        return Err(bad("no print fmt"));
    }
    if decls.len() <= COMMON_FIELDS.len() || decls[..4] != COMMON_FIELDS {
        return Err(bad("common fields"));
    }
    Ok(Format {
        id,
        decls: decls.split_off(COMMON_FIELDS.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The format file of `s:g/myevent u64 lat; char comm[16]` with ID 42, as the
    /// module's own unit test spells it (src/events.rs).
    const FORMAT: &str = "name: myevent\n\
        ID: 42\n\
        format:\n\
        \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
        \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
        \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
        \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\
        \n\
        \tfield:u64 lat;\toffset:8;\tsize:8;\tsigned:0;\n\
        \tfield:char comm[16];\toffset:16;\tsize:16;\tsigned:0;\n\
        \n\
        print fmt: \"lat=%llu, comm=%s\", REC->lat, REC->comm\n";

    #[test]
    fn lines() {
        let fields = vec![
            Field {
                ty: "u64",
                name: "lat".into(),
                array: None,
            },
            Field {
                ty: "char",
                name: "comm".into(),
                array: Some(16),
            },
        ];
        // The module's listing_round_trip test shows this exact spelling.
        assert_eq!(
            create_line("synthetic", "ev", &fields),
            "s:synthetic/ev u64 lat; char comm[16]\n"
        );
        assert_eq!(remove_line("g0", "e1"), "-:g0/e1\n");
    }

    #[test]
    fn random_fields_are_valid() {
        let mut rng = Rng::new(5);
        let mut widths = [0; 5];
        let mut chars = 0;
        for _ in 0..1000 {
            let f = random_fields(&mut rng);
            widths[f.len()] += 1;
            for (i, field) in f.iter().enumerate() {
                assert_eq!(field.name, format!("f{i}"));
                assert!(field.ty == "char" || SCALAR_TYPES.contains(&field.ty));
                assert_eq!(field.ty == "char", field.array.is_some());
                if let Some(n) = field.array {
                    assert!((1..=32).contains(&n));
                    chars += 1;
                }
            }
            let line = create_line("g0", "e0", &f);
            let listed = parse_listing(&line).unwrap();
            assert_eq!(listed[0].line, line);
        }
        assert_eq!(widths[0], 0);
        assert!(widths[1..].iter().all(|&n| n > 150), "{widths:?}");
        assert!(chars > 100);
    }

    #[test]
    fn names() {
        for good in ["a", "_", "g0", "E_9", &"n".repeat(64)] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "0a", "a-b", "a/b", "é", &"n".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn listing() {
        let text = "s:pinned/p0 u64 a; char c[8]\ns:g1/e5 int f0\n";
        let l = parse_listing(text).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!((l[1].group.as_str(), l[1].event.as_str()), ("g1", "e5"));
        assert_eq!(l[0].line, "s:pinned/p0 u64 a; char c[8]\n");
        assert!(parse_listing("").unwrap().is_empty());
        assert!(l.iter().all(|x| !x.probe));
        // kprobe events are listed too (kprobe_events.tc).
        let text = "s:synthetic/keep u64 a\np:kprobes/myprobe vfs_read count=%dx\n\
            r10:kprobes/myret vfs_read ret=$retval\np:g/e kernel_clone\n";
        let l = parse_listing(text).unwrap();
        assert_eq!(l.len(), 4);
        assert!(!l[0].probe && l[1].probe && l[2].probe && l[3].probe);
        assert_eq!(
            (l[2].group.as_str(), l[2].event.as_str()),
            ("kprobes", "myret")
        );
        assert_eq!(l[2].line, "r10:kprobes/myret vfs_read ret=$retval\n");
        for bad in [
            "s:g/e u8 a",
            "p:g/e u8 a\n",
            "p:g/e\n",
            "r:e vfs_read\n",
            "x:g/e u8 a\n",
            "s:e u8 a\n",
            "s:g/e\n",
            "s:g/e \n",
            "s:g/-e u8 a\n",
        ] {
            assert!(parse_listing(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn root_files() {
        let names = parse_event_names("pinned:p0\ng1:e5\n").unwrap();
        assert_eq!(
            names,
            [("pinned".into(), "p0".into()), ("g1".into(), "e5".into())]
        );
        assert!(parse_event_names("").unwrap().is_empty());
        for bad in ["g:e", "g/e\n", "g:\n", ":e\n", "g:e:f\n", "g:e\n\n"] {
            assert!(parse_event_names(bad).is_err(), "{bad:?}");
        }
        let synth = "irq_lat\ts32 irq; u64 ns\nsched/wakeup\tchar[16] comm\n";
        assert_eq!(
            parse_synthetic(synth).unwrap(),
            [
                ("synthetic".into(), "irq_lat".into()),
                ("sched".into(), "wakeup".into())
            ]
        );
        for bad in ["e\n", "e\t\n", "g/-e\tu8 x\n", "e\tu8 x"] {
            assert!(parse_synthetic(bad).is_err(), "{bad:?}");
        }
        for (name, good) in [
            ("README", "tracing mini-HOWTO:\n\n# echo 0 > tracing_on\n"),
            ("available_tracers", "nop\n"),
            ("current_tracer", "nop\n"),
            ("tracing_on", "1\n"),
            ("buffer_size_kb", "1408\n"),
            (
                "trace",
                "# tracer: nop\n#\n# entries-in-buffer/entries-written: 0/0   #P:2\n",
            ),
            ("tracing_on", "0\n"),
            ("available_events", "g:e\n"),
            ("set_event", ""),
            ("synthetic_events", "g/e\tu8 x\n"),
            ("dynamic_events", "s:g/e u8 x\n"),
            (
                "dynamic_events",
                "s:g/e u8 x\nr10:kprobes/r vfs_read ret=$retval\n",
            ),
            ("kprobe_events", ""),
            ("kprobe_events", "p:kprobes/p vfs_read di=%di\n"),
            ("kprobe_profile", ""),
            (
                "kprobe_profile",
                "  p                                                          3               0\n",
            ),
            ("error_log", ""),
        ] {
            assert_eq!(check_root_file(name, good.as_bytes()), Ok(()), "{name}");
        }
        for (name, bad) in [
            ("README", "hello\n"),
            ("available_tracers", "nop"),
            ("current_tracer", "function\n"),
            ("tracing_on", "2\n"),
            ("buffer_size_kb", "\n"),
            ("buffer_size_kb", "x\n"),
            ("trace", "hello\n"),
            ("set_event", "g/e\n"),
            ("dynamic_events", "g:e\n"),
            ("kprobe_events", "s:g/e u8 x\n"),
            ("kprobe_profile", "p 3 0\n"),
            ("error_log", "x"),
            ("enable", "0\n"),
        ] {
            assert!(
                check_root_file(name, bad.as_bytes()).is_err(),
                "{name} {bad:?}"
            );
        }
    }

    #[test]
    fn trace_lines() {
        let l = "  eventfs-stress-123     [002] .....    45.678901: ev: seq=5 keep=1";
        assert_eq!(
            split_trace_line(l),
            Some(TraceLine {
                pid: 123,
                event: "ev",
                body: " seq=5 keep=1"
            })
        );
        let l = "worker0-77 [001] d..1.   3.000001: t0p1: (vfs_read+0x4/0x1a0) di=0x1";
        let t = split_trace_line(l).unwrap();
        assert_eq!((t.pid, t.event), (77, "t0p1"));
        assert_eq!(t.body, " (vfs_read+0x4/0x1a0) di=0x1");
        for bad in [
            "",
            "# tracer: nop",
            "CPU:1 [LOST 3 EVENTS]",
            "x-a [000] ..... 1.000000: ev: a=1",
            "x-1 [0a0] ..... 1.000000: ev: a=1",
            "x-1 [000] ..... 1: ev: a=1",
            "x [000] ..... 1.000000: ev: a=1",
            "x-1 [000] ..... 1.000000: e v: a=1",
        ] {
            assert_eq!(split_trace_line(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn enable_and_id() {
        assert_eq!(parse_enable(b"0\n", false), Ok('0'));
        assert_eq!(parse_enable(b"1\n", true), Ok('1'));
        assert_eq!(parse_enable(b"X\n", true), Ok('X'));
        assert!(parse_enable(b"X\n", false).is_err());
        assert!(parse_enable(b"0", false).is_err());
        assert!(parse_enable(b"", true).is_err());
        assert_eq!(parse_id(b"17\n"), Ok(17));
        for bad in [
            &b"0\n"[..],
            b"17",
            b"\n",
            b"1 7\n",
            b"-1\n",
            b"017\n",
            b"99999999999999999999\n",
        ] {
            assert!(parse_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn format() {
        let f = parse_format(FORMAT.as_bytes(), "myevent").unwrap();
        assert_eq!(f.id, 42);
        assert_eq!(f.decls, ["u64 lat", "char comm[16]"]);
        assert!(parse_format(FORMAT.as_bytes(), "other").is_err());
        assert!(parse_format(&FORMAT.as_bytes()[..FORMAT.len() - 1], "myevent").is_err());
        let no_print = FORMAT.replace("print fmt:", "printfmt:");
        assert!(parse_format(no_print.as_bytes(), "myevent").is_err());
        let bad_signed = FORMAT.replace("signed:1;", "signed:2;");
        assert!(parse_format(bad_signed.as_bytes(), "myevent").is_err());
        let no_common = FORMAT.replace("common_pid", "pid");
        assert!(parse_format(no_common.as_bytes(), "myevent").is_err());
        let truncated = &FORMAT[..FORMAT.find("\n\n").unwrap() + 1];
        assert!(parse_format(truncated.as_bytes(), "myevent").is_err());
    }
}
