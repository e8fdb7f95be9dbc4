//! kprobe events as the tool sees them: the definitions it writes to `kprobe_events`
//! (and `dynamic_events`), the lines those files list them with, the lines of
//! `kprobe_profile`, and the trace lines of their records. Pure text, no system calls.

use crate::text::valid_name;

/// The group of kprobe events defined without one.
pub const DEFAULT_GROUP: &str = "kprobes";

/// How the value of a fetch argument prints in a trace line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// `0x` and lowercase hex digits: the default types (`x64`), `$retval`, `$argN`.
    Hex,
    /// Decimal, maybe negative: `:u32`, `:s32` and the other decimal types.
    Decimal,
    /// A quoted string: `$comm`, `:string`.
    Str,
}

/// What fetch argument `fetch` (`%di`, `$comm`, `%dx:u32`) prints as.
pub fn value_kind(fetch: &str) -> ValueKind {
    let (base, ty) = match fetch.rsplit_once(':') {
        Some((b, t)) => (b, Some(t)),
        None => (fetch, None),
    };
    match ty {
        Some("string" | "ustring") => ValueKind::Str,
        Some(t) if t.starts_with('u') || t.starts_with('s') => ValueKind::Decimal,
        Some(_) => ValueKind::Hex,
        None if base == "$comm" || base == "$COMM" => ValueKind::Str,
        None => ValueKind::Hex,
    }
}

/// One fetch argument of a definition: `NAME=FETCH`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arg {
    pub name: String,
    pub fetch: String,
}

impl Arg {
    pub fn new(name: &str, fetch: &str) -> Arg {
        Arg {
            name: name.to_string(),
            fetch: fetch.to_string(),
        }
    }
}

/// The arguments the tool gives entry probes (`p`), as (name, fetch): registers, the
/// task's name, an entry argument, a typed register, a stack slot.
pub const ENTRY_ARGS: [(&str, &str); 5] = [
    ("di", "%di"),
    ("comm", "$comm"),
    ("a2", "$arg2"),
    ("cnt", "%dx:u32"),
    ("st", "$stack0"),
];
/// The arguments the tool gives return probes (`r`): the return value (raw and signed),
/// the task's name, an entry argument (which the entry handler saves).
pub const RETURN_ARGS: [(&str, &str); 4] = [
    ("ret", "$retval"),
    ("sret", "$retval:s32"),
    ("comm", "$comm"),
    ("a1", "$arg1"),
];

/// A kprobe event definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeDef {
    /// `r` (a return probe) rather than `p`.
    pub ret: bool,
    /// `rN:`: the most instances of a return probe (None: the kernel's default).
    pub maxactive: Option<u32>,
    pub group: String,
    pub event: String,
    /// The probed function (offset 0).
    pub func: String,
    pub args: Vec<Arg>,
}

impl ProbeDef {
    /// The command defining it, with a newline: `p:GROUP/EVENT FUNC ARGS`, or without the
    /// group (`explicit_group` false) when it is [`DEFAULT_GROUP`].
    pub fn command(&self, explicit_group: bool) -> String {
        let mut s = String::from(if self.ret { "r" } else { "p" });
        if let (true, Some(n)) = (self.ret, self.maxactive) {
            s += &n.to_string();
        }
        s.push(':');
        if explicit_group || self.group != DEFAULT_GROUP {
            s += &self.group;
            s.push('/');
        }
        s += &self.event;
        s.push(' ');
        s += &self.func;
        for a in &self.args {
            s += &format!(" {}={}", a.name, a.fetch);
        }
        s.push('\n');
        s
    }

    /// The command removing it: `-:GROUP/EVENT` or `-:EVENT`.
    pub fn remove_command(&self, explicit_group: bool) -> String {
        if explicit_group {
            format!("-:{}/{}\n", self.group, self.event)
        } else {
            format!("-:{}\n", self.event)
        }
    }

    /// Whether listing line `l` lists this definition. A return probe defined without
    /// `MAXACTIVE` lists the kernel's default: any number is accepted.
    pub fn listed_as(&self, l: &ProbeLine) -> bool {
        let maxactive_ok = match (self.ret, self.maxactive) {
            (true, Some(n)) => l.maxactive == Some(n),
            (true, None) => true,
            (false, _) => l.maxactive.is_none(),
        };
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| format!("{}={}", a.name, a.fetch))
            .collect();
        l.ret == self.ret
            && maxactive_ok
            && l.group == self.group
            && l.event == self.event
            && l.place == self.func
            && l.args == args
    }

    /// The definition a listing line describes (as the tool writes them).
    pub fn from_line(l: &ProbeLine) -> Option<ProbeDef> {
        let args = l
            .args
            .iter()
            .map(|a| a.split_once('=').map(|(n, f)| Arg::new(n, f)))
            .collect::<Option<Vec<_>>>()?;
        Some(ProbeDef {
            ret: l.ret,
            maxactive: l.maxactive,
            group: l.group.clone(),
            event: l.event.clone(),
            func: l.place.clone(),
            args,
        })
    }

    /// The names of the fields of its records after the common ones, as its `format`
    /// declares them: the probe's header words, then the arguments.
    pub fn field_names(&self) -> Vec<String> {
        let head: &[&str] = if self.ret {
            &["__probe_func", "__probe_ret_ip"]
        } else {
            &["__probe_ip"]
        };
        head.iter()
            .map(|s| s.to_string())
            .chain(self.args.iter().map(|a| a.name.clone()))
            .collect()
    }

    /// Checks a record of this probe (the body of its trace line, see
    /// [`parse_probe_body`]): the probed place, and each argument by name and kind.
    pub fn check_record(&self, body: &ProbeBody<'_>) -> Result<(), String> {
        if self.ret {
            if body.from != Some(self.func.as_str()) {
                return Err(format!(
                    "a return probe on {} printed {:?} <- {:?}",
                    self.func, body.place, body.from
                ));
            }
        } else if body.from.is_some() || place_symbol(body.place) != Some(self.func.as_str()) {
            return Err(format!(
                "a probe on {} printed the place {:?}{}",
                self.func,
                body.place,
                body.from.map(|f| format!(" <- {f}")).unwrap_or_default()
            ));
        }
        let names: Vec<&str> = body.args.iter().map(|(n, _)| *n).collect();
        let want: Vec<&str> = self.args.iter().map(|a| a.name.as_str()).collect();
        if names != want {
            return Err(format!("arguments {names:?}, expected {want:?}"));
        }
        for (a, (_, v)) in self.args.iter().zip(&body.args) {
            let kind = value_kind(&a.fetch);
            if !value_is(v, kind) {
                return Err(format!("{}={v}: not a {kind:?} value", a.name));
            }
        }
        Ok(())
    }
}

/// One line of the `kprobe_events` listing (also a kprobe line of `dynamic_events`):
/// `p:GROUP/EVENT PLACE ARGS` or `r[MAXACTIVE]:GROUP/EVENT PLACE ARGS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeLine {
    pub ret: bool,
    pub maxactive: Option<u32>,
    pub group: String,
    pub event: String,
    pub place: String,
    /// `NAME=FETCH` each.
    pub args: Vec<String>,
}

/// Parses one listing line (without its newline).
pub fn parse_probe_line(line: &str) -> Result<ProbeLine, String> {
    let bad = |why: &str| format!("malformed kprobe line ({why}): {line:?}");
    let mut words = line.split(' ');
    let head = words.next().unwrap_or("");
    let (kind, target) = head.split_once(':').ok_or_else(|| bad("no ':'"))?;
    let (ret, maxactive) = match kind.split_at_checked(1) {
        Some(("p", "")) => (false, None),
        Some(("r", "")) => (true, None),
        Some(("r", n)) if n.bytes().all(|c| c.is_ascii_digit()) && !n.starts_with('0') => {
            (true, Some(n.parse().map_err(|_| bad("MAXACTIVE"))?))
        }
        _ => return Err(bad("not p or r")),
    };
    let (group, event) = target.split_once('/').ok_or_else(|| bad("no group"))?;
    if !valid_name(group) || !valid_name(event) {
        return Err(bad("name"));
    }
    let place = words
        .next()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| bad("no place"))?;
    let args: Vec<String> = words.map(String::from).collect();
    for a in &args {
        match a.split_once('=') {
            Some((n, f)) if valid_name(n) && !f.is_empty() => {}
            _ => return Err(bad("argument")),
        }
    }
    Ok(ProbeLine {
        ret,
        maxactive,
        group: group.to_string(),
        event: event.to_string(),
        place: place.to_string(),
        args,
    })
}

/// Parses the `kprobe_events` listing: a kprobe line per event, each with a newline.
pub fn parse_kprobe_listing(text: &str) -> Result<Vec<ProbeLine>, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("kprobe_events does not end with a newline".to_string());
    }
    text.lines().map(parse_probe_line).collect()
}

/// One line of `kprobe_profile`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub event: String,
    pub hits: u64,
    pub misses: u64,
}

/// Parses `kprobe_profile`: `  EVENT HITS MISSES` per kprobe event (mainline's
/// `"  %-44s %15lu %15lu\n"`).
pub fn parse_profile(text: &str) -> Result<Vec<Profile>, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("kprobe_profile does not end with a newline".to_string());
    }
    text.lines()
        .map(|line| {
            let bad = || format!("malformed kprobe_profile line {line:?}");
            let rest = line.strip_prefix("  ").ok_or_else(bad)?;
            let words: Vec<&str> = rest.split_whitespace().collect();
            let [event, hits, misses] = words[..] else {
                return Err(bad());
            };
            let num = |s: &str| {
                s.bytes()
                    .all(|c| c.is_ascii_digit())
                    .then(|| s.parse::<u64>().ok())
                    .flatten()
            };
            match (valid_name(event), num(hits), num(misses)) {
                (true, Some(hits), Some(misses)) => Ok(Profile {
                    event: event.to_string(),
                    hits,
                    misses,
                }),
                _ => Err(bad()),
            }
        })
        .collect()
}

/// The record of a kprobe event as its trace line prints it, after `EVENT:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeBody<'a> {
    /// `SYM+0xOFF/0xSIZE` (or a bare `0xADDR`): the probed place, or for a return probe
    /// the place it returned to.
    pub place: &'a str,
    /// For a return probe, the probed function (after `<-`).
    pub from: Option<&'a str>,
    /// `NAME=VALUE` pairs in order (a string value with its quotes).
    pub args: Vec<(&'a str, &'a str)>,
}

/// Whether `s` is `0x` and lowercase hex digits.
fn is_hex(s: &str) -> bool {
    s.strip_prefix("0x")
        .is_some_and(|h| !h.is_empty() && h.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
}

/// Whether `s` is a symbol name as `%pS` prints it.
fn is_symbol(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
}

/// The symbol of a place `SYM+0xOFF/0xSIZE`, or `SYM+0xOFF/0xSIZE [MODULE]` in a module
/// (None for a bare address or a malformed one).
pub fn place_symbol(place: &str) -> Option<&str> {
    let place = match place.strip_suffix(']').and_then(|p| p.rsplit_once(" [")) {
        Some((p, module)) if is_symbol(module) => p,
        _ => place,
    };
    let (sym, rest) = place.split_once('+')?;
    let (off, size) = rest.split_once('/')?;
    (is_symbol(sym) && is_hex(off) && is_hex(size)).then_some(sym)
}

/// Whether `v` prints a value of `kind`.
pub fn value_is(v: &str, kind: ValueKind) -> bool {
    match kind {
        ValueKind::Hex => is_hex(v),
        ValueKind::Decimal => {
            let d = v.strip_prefix('-').unwrap_or(v);
            !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit())
        }
        ValueKind::Str => v.len() >= 2 && v.starts_with('"') && v.ends_with('"'),
    }
}

/// Parses the body of a kprobe record's trace line (what follows `EVENT:`):
/// ` (SYM+0xOFF/0xSIZE) NAME=VALUE ...`, or for a return probe
/// ` (CALLER+0xOFF/0xSIZE <- FUNC) NAME=VALUE ...`. A string value is quoted and may
/// hold blanks.
pub fn parse_probe_body(body: &str) -> Result<ProbeBody<'_>, String> {
    let bad = |why: &str| format!("malformed kprobe record ({why}): {body:?}");
    let rest = body.strip_prefix(" (").ok_or_else(|| bad("no '('"))?;
    let (inside, mut rest) = rest.split_once(')').ok_or_else(|| bad("no ')'"))?;
    let (place, from) = match inside.split_once(" <- ") {
        Some((p, f)) => (p, Some(f)),
        None => (inside, None),
    };
    if place_symbol(place).is_none() && !is_hex(place) {
        return Err(bad("place"));
    }
    if from.is_some_and(|f| !is_symbol(f)) {
        return Err(bad("probed function"));
    }
    let mut args = Vec::new();
    while !rest.is_empty() {
        rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| bad("no blank before an argument"))?;
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| bad("argument without '='"))?;
        if !valid_name(name) {
            return Err(bad("argument name"));
        }
        let len = if after.starts_with('"') {
            // Up to the closing quote that ends the value (a blank or the end follows).
            let mut end = None;
            for (i, c) in after.char_indices().skip(1) {
                if c == '"' && matches!(after[i + 1..].chars().next(), None | Some(' ')) {
                    end = Some(i + 1);
                    break;
                }
            }
            end.ok_or_else(|| bad("unterminated string"))?
        } else {
            after.find(' ').unwrap_or(after.len())
        };
        let value = &after[..len];
        if value.is_empty() {
            return Err(bad("empty value"));
        }
        args.push((name, value));
        rest = &after[len..];
    }
    Ok(ProbeBody { place, from, args })
}

/// The name of a field declaration of a `format` file (`u64 di`, `__data_loc char[]
/// comm`, `u8 arr[4]`).
pub fn decl_name(decl: &str) -> &str {
    let last = decl.rsplit(' ').next().unwrap_or(decl);
    last.split('[').next().unwrap_or(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(ret: bool, maxactive: Option<u32>, args: &[(&str, &str)]) -> ProbeDef {
        ProbeDef {
            ret,
            maxactive,
            group: DEFAULT_GROUP.to_string(),
            event: "t0p1".to_string(),
            func: "vfs_read".to_string(),
            args: args.iter().map(|(n, f)| Arg::new(n, f)).collect(),
        }
    }

    #[test]
    fn commands() {
        let p = def(false, None, &[("di", "%di"), ("comm", "$comm")]);
        assert_eq!(
            p.command(true),
            "p:kprobes/t0p1 vfs_read di=%di comm=$comm\n"
        );
        assert_eq!(p.command(false), "p:t0p1 vfs_read di=%di comm=$comm\n");
        assert_eq!(p.remove_command(true), "-:kprobes/t0p1\n");
        assert_eq!(p.remove_command(false), "-:t0p1\n");
        let r = def(true, Some(8), &[("ret", "$retval")]);
        assert_eq!(r.command(false), "r8:t0p1 vfs_read ret=$retval\n");
        let r = def(true, None, &[]);
        assert_eq!(r.command(true), "r:kprobes/t0p1 vfs_read\n");
        // Another group is always written.
        let mut g = def(false, None, &[]);
        g.group = "fault_kp".into();
        assert_eq!(g.command(false), "p:fault_kp/t0p1 vfs_read\n");
        // MAXACTIVE only means something for a return probe.
        assert_eq!(
            def(false, Some(4), &[]).command(true),
            "p:kprobes/t0p1 vfs_read\n"
        );
    }

    #[test]
    fn listing_lines() {
        // As kprobe_events.tc shows them.
        let l = parse_probe_line("p:kprobes/myprobe vfs_read count=%dx").unwrap();
        assert_eq!(
            l,
            ProbeLine {
                ret: false,
                maxactive: None,
                group: "kprobes".into(),
                event: "myprobe".into(),
                place: "vfs_read".into(),
                args: vec!["count=%dx".into()],
            }
        );
        let l = parse_probe_line("r10:kprobes/myret vfs_read ret=$retval").unwrap();
        assert!(l.ret && l.maxactive == Some(10) && l.args == ["ret=$retval"]);
        let l = parse_probe_line("p:g/e kernel_clone").unwrap();
        assert!(l.args.is_empty() && l.place == "kernel_clone");
        for bad in [
            "",
            "s:g/e u64 a",
            "p:e vfs_read",
            "p:g/e",
            "p:g/e ",
            "q:g/e vfs_read",
            "p1:g/e vfs_read",
            "r0:g/e vfs_read",
            "rx:g/e vfs_read",
            "p:g/e vfs_read x",
            "p:g/e vfs_read =%di",
            "p:g/e vfs_read x=",
            "p:g/-e vfs_read",
        ] {
            assert!(parse_probe_line(bad).is_err(), "{bad:?}");
        }
        let all = parse_kprobe_listing("p:g/a f\nr4:g/b f ret=$retval\n").unwrap();
        assert_eq!(all.len(), 2);
        assert!(parse_kprobe_listing("").unwrap().is_empty());
        assert!(parse_kprobe_listing("p:g/a f").is_err());
    }

    #[test]
    fn definitions_match_their_lines() {
        let p = def(false, None, &[("di", "%di"), ("cnt", "%dx:u32")]);
        let line = p.command(true);
        let l = parse_probe_line(line.trim_end()).unwrap();
        assert!(p.listed_as(&l));
        assert_eq!(ProbeDef::from_line(&l), Some(p.clone()));
        // Written without the group, listed with it.
        let l = parse_probe_line("p:kprobes/t0p1 vfs_read di=%di cnt=%dx:u32").unwrap();
        assert!(p.listed_as(&l));
        for other in [
            "p:kprobes/t0p1 vfs_write di=%di cnt=%dx:u32",
            "p:kprobes/t0p1 vfs_read di=%di",
            "p:kprobes/t0p1 vfs_read cnt=%dx:u32 di=%di",
            "p:kprobes/t0p2 vfs_read di=%di cnt=%dx:u32",
            "p:other/t0p1 vfs_read di=%di cnt=%dx:u32",
            "r:kprobes/t0p1 vfs_read di=%di cnt=%dx:u32",
        ] {
            assert!(!p.listed_as(&parse_probe_line(other).unwrap()), "{other}");
        }
        // A return probe lists the kernel's MAXACTIVE unless one was given.
        let r = def(true, None, &[("ret", "$retval")]);
        assert!(r.listed_as(&parse_probe_line("r10:kprobes/t0p1 vfs_read ret=$retval").unwrap()));
        assert!(r.listed_as(&parse_probe_line("r:kprobes/t0p1 vfs_read ret=$retval").unwrap()));
        let r8 = def(true, Some(8), &[("ret", "$retval")]);
        assert!(r8.listed_as(&parse_probe_line("r8:kprobes/t0p1 vfs_read ret=$retval").unwrap()));
        assert!(!r8.listed_as(&parse_probe_line("r10:kprobes/t0p1 vfs_read ret=$retval").unwrap()));
        assert_eq!(p.field_names(), ["__probe_ip", "di", "cnt"]);
        assert_eq!(r.field_names(), ["__probe_func", "__probe_ret_ip", "ret"]);
    }

    #[test]
    fn profile() {
        let text = format!(
            "  {:<44} {:>15} {:>15}\n  {:<44} {:>15} {:>15}\n",
            "t0p1", 12, 0, "myret", 0, 3
        );
        assert_eq!(
            parse_profile(&text).unwrap(),
            [
                Profile {
                    event: "t0p1".into(),
                    hits: 12,
                    misses: 0
                },
                Profile {
                    event: "myret".into(),
                    hits: 0,
                    misses: 3
                }
            ]
        );
        assert!(parse_profile("").unwrap().is_empty());
        for bad in [
            "t0p1 1 2\n",
            "  t0p1 1\n",
            "  t0p1 1 2 3\n",
            "  t0p1 -1 2\n",
            "  t0p1 1 x\n",
            "  0p 1 2\n",
            "  t0p1 1 2",
        ] {
            assert!(parse_profile(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn record_bodies() {
        // As kprobe_events.tc and kprobe_args.tc show them.
        let b = parse_probe_body(" (vfs_read+0x4/0x1a0) count=0x40").unwrap();
        assert_eq!(b.place, "vfs_read+0x4/0x1a0");
        assert_eq!(b.from, None);
        assert_eq!(b.args, [("count", "0x40")]);
        let b = parse_probe_body(" (ksys_read+0x6b/0xf0 <- vfs_read) ret=0x40").unwrap();
        assert_eq!(b.place, "ksys_read+0x6b/0xf0");
        assert_eq!(b.from, Some("vfs_read"));
        let b = parse_probe_body(" (kernel_clone+0x4/0x3c0)").unwrap();
        assert!(b.args.is_empty());
        let b = parse_probe_body(" (vfs_read+0x4/0x1a0) c=\"a b\" n=-5 s=\"\"").unwrap();
        assert_eq!(b.args, [("c", "\"a b\""), ("n", "-5"), ("s", "\"\"")]);
        let b = parse_probe_body(" (0xffffffff81234567 <- vfs_read) ret=0x0").unwrap();
        assert_eq!(b.place, "0xffffffff81234567");
        // A return into a module.
        let b = parse_probe_body(" (f+0x1c/0x40 [eventfs] <- vfs_read) ret=0x0").unwrap();
        assert_eq!(place_symbol(b.place), Some("f"));
        assert_eq!(place_symbol("f+0x1c/0x40 [a b]"), None);
        for bad in [
            "",
            "(vfs_read+0x4/0x1a0)",
            " vfs_read+0x4/0x1a0",
            " (vfs_read+0x4/0x1a0",
            " (vfs_read+4/0x1a0)",
            " (vfs_read) x=0x1",
            " (vfs_read+0x4/0x1a0)x=0x1",
            " (vfs_read+0x4/0x1a0) x",
            " (vfs_read+0x4/0x1a0) x=",
            " (vfs_read+0x4/0x1a0) 1x=0x1",
            " (vfs_read+0x4/0x1a0) c=\"abc",
            " (a+0x1/0x2 <- ) x=1",
        ] {
            assert!(parse_probe_body(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn records_checked_against_definitions() {
        let p = def(
            false,
            None,
            &[("di", "%di"), ("comm", "$comm"), ("cnt", "%dx:u32")],
        );
        let good =
            parse_probe_body(" (vfs_read+0x4/0x1a0) di=0xff11 comm=\"worker0\" cnt=64").unwrap();
        assert_eq!(p.check_record(&good), Ok(()));
        for bad in [
            " (vfs_write+0x4/0x1a0) di=0xff11 comm=\"w\" cnt=64",
            " (ksys_read+0x6b/0xf0 <- vfs_read) di=0xff11 comm=\"w\" cnt=64",
            " (vfs_read+0x4/0x1a0) di=0xff11 comm=\"w\"",
            " (vfs_read+0x4/0x1a0) di=255 comm=\"w\" cnt=64",
            " (vfs_read+0x4/0x1a0) di=0xff11 comm=w cnt=64",
            " (vfs_read+0x4/0x1a0) di=0xff11 comm=\"w\" cnt=0x40",
            " (vfs_read+0x4/0x1a0) comm=\"w\" di=0xff11 cnt=64",
        ] {
            let b = parse_probe_body(bad).unwrap();
            assert!(p.check_record(&b).is_err(), "{bad}");
        }
        let r = def(true, None, &[("ret", "$retval"), ("sret", "$retval:s32")]);
        let good =
            parse_probe_body(" (ksys_read+0x6b/0xf0 <- vfs_read) ret=0xfffffff2 sret=-14").unwrap();
        assert_eq!(r.check_record(&good), Ok(()));
        let entry = parse_probe_body(" (vfs_read+0x4/0x1a0) ret=0x1 sret=1").unwrap();
        assert!(r.check_record(&entry).is_err());
        let other = parse_probe_body(" (x+0x1/0x2 <- vfs_write) ret=0x1 sret=1").unwrap();
        assert!(r.check_record(&other).is_err());
    }

    #[test]
    fn value_kinds() {
        for (fetch, kind) in [
            ("%di", ValueKind::Hex),
            ("$arg2", ValueKind::Hex),
            ("$retval", ValueKind::Hex),
            ("$stack0", ValueKind::Hex),
            ("%dx:x32", ValueKind::Hex),
            ("%dx:u32", ValueKind::Decimal),
            ("$retval:s32", ValueKind::Decimal),
            ("$comm", ValueKind::Str),
            ("+0(%si):string", ValueKind::Str),
        ] {
            assert_eq!(value_kind(fetch), kind, "{fetch}");
        }
        for (_, f) in ENTRY_ARGS.iter().chain(&RETURN_ARGS) {
            // Every argument the tool writes has a known kind (no other types).
            let _ = value_kind(f);
        }
        assert!(value_is("0x0", ValueKind::Hex) && !value_is("0x", ValueKind::Hex));
        assert!(!value_is("0xAB", ValueKind::Hex) && !value_is("12", ValueKind::Hex));
        assert!(value_is("-3", ValueKind::Decimal) && !value_is("-", ValueKind::Decimal));
        assert!(value_is("\"\"", ValueKind::Str) && !value_is("\"", ValueKind::Str));
        assert_eq!(decl_name("u64 di"), "di");
        assert_eq!(decl_name("__data_loc char[] comm"), "comm");
        assert_eq!(decl_name("u8 arr[4]"), "arr");
        assert_eq!(decl_name("unsigned long __probe_ip"), "__probe_ip");
    }
}
