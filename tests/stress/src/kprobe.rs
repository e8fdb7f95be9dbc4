//! kprobe events as the tool sees them: the lines `kprobe_events` (and `dynamic_events`)
//! list them with, and the lines of `kprobe_profile`. Pure text, no system calls.

use crate::text::valid_name;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
