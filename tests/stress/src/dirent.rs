//! `getdents64` records: parsing, and the checks of one complete directory pass.

use std::collections::BTreeMap;

use crate::text::valid_name;

/// `d_type` of a directory.
pub const DT_DIR: u8 = 4;
/// `d_type` of a regular file.
pub const DT_REG: u8 = 8;

/// Bytes of a `linux_dirent64` before the name: `d_ino`, `d_off`, `d_reclen`, `d_type`.
const HEADER: usize = 19;

/// One directory entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirent {
    /// Inode number.
    pub ino: u64,
    /// Position of the next entry.
    pub off: i64,
    /// Record length (used to tell whether it fits a buffer).
    pub reclen: usize,
    /// `DT_*` type.
    pub dtype: u8,
    /// The name (lossily decoded; eventfs names are ASCII).
    pub name: String,
}

impl Dirent {
    /// Whether this is `.` or `..`.
    pub fn is_dot(&self) -> bool {
        self.name == "." || self.name == ".."
    }
}

/// Parses the records `getdents64` wrote into `buf` (exactly the bytes it returned).
pub fn parse(buf: &[u8]) -> Result<Vec<Dirent>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let rest = &buf[at..];
        if rest.len() < HEADER + 1 {
            return Err(format!("truncated record at byte {at}"));
        }
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&rest[i..i + 8]);
            b
        };
        let ino = u64::from_ne_bytes(word(0));
        let off = i64::from_ne_bytes(word(8));
        let reclen = usize::from(u16::from_ne_bytes([rest[16], rest[17]]));
        let dtype = rest[18];
        if reclen <= HEADER || reclen > rest.len() {
            return Err(format!("bad d_reclen {reclen} at byte {at}"));
        }
        let raw = &rest[HEADER..reclen];
        let Some(len) = raw.iter().position(|&c| c == 0) else {
            return Err(format!("unterminated name at byte {at}"));
        };
        out.push(Dirent {
            ino,
            off,
            reclen,
            dtype,
            name: String::from_utf8_lossy(&raw[..len]).into_owned(),
        });
        at += reclen;
    }
    Ok(out)
}

/// The names that occur more than once, each once, sorted, with their counts.
pub fn duplicates<'a, I>(names: I) -> Vec<(String, usize)>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for n in names {
        *counts.entry(n).or_default() += 1;
    }
    counts
        .into_iter()
        .filter(|&(_, c)| c > 1)
        .map(|(n, c)| (n.to_string(), c))
        .collect()
}

/// How many entries are named `name`.
pub fn count(entries: &[Dirent], name: &str) -> usize {
    entries.iter().filter(|e| e.name == name).count()
}

/// The subdirectories of a pass (without `.` and `..`).
pub fn subdirs(entries: &[Dirent]) -> Vec<&str> {
    entries
        .iter()
        .filter(|e| e.dtype == DT_DIR && !e.is_dot())
        .map(|e| e.name.as_str())
        .collect()
}

/// The files of the root, in readdir order.
pub const ROOT_FILES: [&str; 15] = [
    "README",
    "available_events",
    "available_tracers",
    "buffer_size_kb",
    "current_tracer",
    "dynamic_events",
    "error_log",
    "kprobe_events",
    "kprobe_profile",
    "set_event",
    "synthetic_events",
    "trace",
    "trace_marker",
    "trace_pipe",
    "tracing_on",
];
/// The files of the root that a reader may read to the end: not `trace_marker` (not
/// readable) nor `trace_pipe` (a consuming read that waits for records).
pub const ROOT_READABLE: [&str; 13] = [
    "README",
    "available_events",
    "available_tracers",
    "buffer_size_kb",
    "current_tracer",
    "dynamic_events",
    "error_log",
    "kprobe_events",
    "kprobe_profile",
    "set_event",
    "synthetic_events",
    "trace",
    "tracing_on",
];
/// The directory of the root that holds the groups.
pub const EVENTS_DIR: &str = "events";
/// The directory of the root that holds the instances.
pub const INSTANCES_DIR: &str = "instances";
/// The files of an instance, in readdir order (then its `events/`).
pub const INSTANCE_FILES: [&str; 9] = [
    "available_tracers",
    "buffer_size_kb",
    "current_tracer",
    "error_log",
    "set_event",
    "trace",
    "trace_marker",
    "trace_pipe",
    "tracing_on",
];
/// The group of tracefs' own record types in `events/`: always there, with [`PRINT_EVENT`]
/// (a [`DirKind::Builtin`]) and any kprobe events made in it.
pub const FTRACE_GROUP: &str = "ftrace";
/// The record type of `trace_marker` writes, in [`FTRACE_GROUP`].
pub const PRINT_EVENT: &str = "print";
/// Inode number of the root.
pub const ROOT_INO: u64 = 1;
/// Inode number every regular file shares.
pub const FILE_INO: u64 = 2;
/// Inode number of `events/`, the first directory after the root; groups and events
/// have larger ones.
pub const EVENTS_INO: u64 = 16;

/// Whether `name` may name an instance (what `mkdir instances/NAME` accepts): 1 to 255
/// bytes of printable ASCII, no blank.
pub fn valid_instance_name(name: &str) -> bool {
    (1..=255).contains(&name.len()) && name.bytes().all(|c| c.is_ascii_graphic() && c != b'/')
}

/// The kinds of eventfs directories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirKind {
    /// The root: its fifteen tracing files, then `events/` and `instances/`; no groups.
    Root,
    /// `events/`: `enable`, `header_event`, `header_page` and the groups.
    Events,
    /// A group: `enable`, `filter` and the events.
    Group,
    /// [`FTRACE_GROUP`]: no files, [`PRINT_EVENT`] and any kprobe events made in it.
    BuiltinGroup,
    /// An event: `enable`, `id`, `filter`, `format`, `inject`; no subdirectories.
    Event,
    /// A record type of tracefs' own (`events/ftrace/print`): `format`, `id`; no
    /// subdirectories.
    Builtin,
    /// `instances/`: no files, the instances.
    Instances,
    /// An instance: its five files, then `events/` (the top level's, inode 16); nothing
    /// else.
    Instance,
    /// `events/` reached through an instance: as [`DirKind::Events`], but its `..` is
    /// the instance.
    InstanceEvents,
}

impl DirKind {
    /// The control files every directory of this kind shows, in readdir order.
    pub fn files(self) -> &'static [&'static str] {
        match self {
            DirKind::Root => &ROOT_FILES,
            DirKind::Events | DirKind::InstanceEvents => &["enable", "header_event", "header_page"],
            DirKind::Group => &["enable", "filter"],
            DirKind::BuiltinGroup => &[],
            DirKind::Event => &["enable", "id", "filter", "format", "inject"],
            DirKind::Builtin => &["format", "id"],
            DirKind::Instances => &[],
            DirKind::Instance => &INSTANCE_FILES,
        }
    }

    /// The fixed subdirectories every directory of this kind shows, in readdir order
    /// after the files.
    pub fn dirs(self) -> &'static [&'static str] {
        match self {
            DirKind::Root => &[EVENTS_DIR, INSTANCES_DIR],
            DirKind::Instance => &[EVENTS_DIR],
            _ => &[],
        }
    }

    /// Whether directories of this kind have children besides their fixed entries
    /// (groups, events, instances).
    pub fn has_children(self) -> bool {
        matches!(
            self,
            DirKind::Events
                | DirKind::InstanceEvents
                | DirKind::Group
                | DirKind::BuiltinGroup
                | DirKind::Instances
        )
    }
}

/// Checks one complete pass (one open directory read to the end) over a directory of
/// `kind`. With `complete`, the directory existed throughout the pass, so `.`, `..`,
/// every control file and every fixed subdirectory must appear exactly once; without it
/// (the directory may have been removed meanwhile) entries may be missing, but none may
/// be duplicated or wrong. Readdir order is `.`, `..`, the files, the fixed
/// subdirectories, then the children; files have inode number [`FILE_INO`], children
/// numbers above [`EVENTS_INO`]. Returns the problems found (empty if none).
pub fn check_pass(entries: &[Dirent], kind: DirKind, complete: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let files = kind.files();
    let dirs = kind.dirs();
    for (name, n) in duplicates(entries.iter().map(|e| e.name.as_str())) {
        // A child removed and created again during the pass is a new directory with a
        // new inode number and a new position: POSIX leaves open whether readdir reports
        // it, so both incarnations may be listed. The same directory twice, or a fixed
        // entry twice, is a defect.
        let same: Vec<&Dirent> = entries.iter().filter(|e| e.name == name).collect();
        let child = !files.contains(&name.as_str())
            && !dirs.contains(&name.as_str())
            && name != "."
            && name != "..";
        let mut inos: Vec<u64> = same.iter().map(|e| e.ino).collect();
        inos.sort_unstable();
        inos.dedup();
        let incarnations = child && inos.len() == n && same.iter().all(|e| e.dtype == DT_DIR);
        if !incarnations {
            let inos: Vec<String> = same.iter().map(|e| e.ino.to_string()).collect();
            problems.push(format!(
                "'{name}' appears {n} times in one pass (inodes {})",
                inos.join(", ")
            ));
        }
    }
    // Every directory has its own inode number (docs/RULES.md rule 7): no two subdirectories of one
    // pass may share one.
    let mut inos: BTreeMap<u64, &str> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.dtype == DT_DIR && !e.is_dot()) {
        if let Some(other) = inos.insert(e.ino, &e.name) {
            if other != e.name {
                problems.push(format!(
                    "directories '{other}' and '{}' share inode {}",
                    e.name, e.ino
                ));
            }
        }
    }
    // Readdir order: the rank of each entry must not decrease along the pass.
    let order: Vec<&str> = [".", ".."]
        .into_iter()
        .chain(files.iter().copied())
        .chain(dirs.iter().copied())
        .collect();
    let child_rank = order.len();
    let mut last: Option<(usize, &str)> = None;
    for e in entries {
        let mut rank = order.iter().position(|&n| n == e.name);
        if e.is_dot() {
            if e.dtype != DT_DIR {
                problems.push(format!("'{}' has d_type {}", e.name, e.dtype));
            }
        } else if files.contains(&e.name.as_str()) {
            if e.dtype != DT_REG {
                problems.push(format!("file '{}' has d_type {}", e.name, e.dtype));
            } else if e.ino != FILE_INO {
                problems.push(format!(
                    "file '{}' has inode {}, not {FILE_INO}",
                    e.name, e.ino
                ));
            }
        } else if dirs.contains(&e.name.as_str()) {
            if e.dtype != DT_DIR {
                problems.push(format!("'{}' has d_type {}, not DT_DIR", e.name, e.dtype));
            } else if e.name == EVENTS_DIR && e.ino != EVENTS_INO {
                // An instance's `events/` is the top level's: the same number.
                problems.push(format!(
                    "'{EVENTS_DIR}' has inode {}, not {EVENTS_INO}",
                    e.ino
                ));
            } else if e.name != EVENTS_DIR && e.ino <= EVENTS_INO {
                problems.push(format!(
                    "directory '{}' has inode {}, not above {EVENTS_INO}",
                    e.name, e.ino
                ));
            }
        } else if kind == DirKind::Root {
            problems.push(format!(
                "unexpected entry '{}' (d_type {}) in the root (groups live in {EVENTS_DIR}/)",
                e.name, e.dtype
            ));
        } else if !kind.has_children() {
            problems.push(format!(
                "unexpected entry '{}' in {} directory",
                e.name,
                if matches!(kind, DirKind::Event | DirKind::Builtin) {
                    "an event"
                } else {
                    "an instance"
                }
            ));
        } else if e.dtype != DT_DIR {
            problems.push(format!("'{}' has d_type {}, not DT_DIR", e.name, e.dtype));
        } else if kind == DirKind::Instances && !valid_instance_name(&e.name) {
            problems.push(format!("invalid instance name '{}'", e.name));
        } else if kind != DirKind::Instances && !valid_name(&e.name) {
            problems.push(format!("invalid name '{}'", e.name));
        } else {
            rank = Some(child_rank);
            if e.ino <= EVENTS_INO {
                problems.push(format!(
                    "directory '{}' has inode {}, not above {EVENTS_INO}",
                    e.name, e.ino
                ));
            }
        }
        if let Some(rank) = rank {
            match last {
                Some((prev, prev_name)) if rank < prev => problems.push(format!(
                    "'{}' comes after '{prev_name}' (readdir order: ., .., files, then directories)",
                    e.name
                )),
                _ => last = Some((rank, e.name.as_str())),
            }
        }
    }
    if complete {
        for name in [".", ".."].iter().chain(files).chain(dirs) {
            if count(entries, name) == 0 {
                problems.push(format!("'{name}' missing from a complete pass"));
            }
        }
        // The inode numbers the layout fixes.
        let dot = |name: &str| entries.iter().find(|e| e.name == name).map(|e| e.ino);
        let fixed: &[(&str, u64)] = match kind {
            DirKind::Root => &[(".", ROOT_INO)],
            DirKind::Events => &[(".", EVENTS_INO), ("..", ROOT_INO)],
            DirKind::InstanceEvents => &[(".", EVENTS_INO)],
            DirKind::Group | DirKind::BuiltinGroup => &[("..", EVENTS_INO)],
            DirKind::Instances => &[("..", ROOT_INO)],
            DirKind::Event | DirKind::Builtin | DirKind::Instance => &[],
        };
        for &(name, want) in fixed {
            if let Some(ino) = dot(name).filter(|&ino| ino != want) {
                problems.push(format!("'{name}' has inode {ino}, not {want}"));
            }
        }
        // `instances/` and the instances have numbers of their own.
        if matches!(kind, DirKind::Instances | DirKind::Instance) {
            if let Some(ino) = dot(".").filter(|&ino| ino <= EVENTS_INO) {
                problems.push(format!("'.' has inode {ino}, not above {EVENTS_INO}"));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes entries the way the kernel does (8-byte aligned records).
    fn encode(entries: &[(u64, u8, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, &(ino, dtype, name)) in entries.iter().enumerate() {
            let reclen = (HEADER + name.len() + 1).div_ceil(8) * 8;
            out.extend_from_slice(&ino.to_ne_bytes());
            out.extend_from_slice(&(i as i64 + 1).to_ne_bytes());
            out.extend_from_slice(&(reclen as u16).to_ne_bytes());
            out.push(dtype);
            out.extend_from_slice(name.as_bytes());
            out.resize(out.len() + reclen - HEADER - name.len(), 0);
        }
        out
    }

    fn pass(entries: &[(u64, u8, &str)]) -> Vec<Dirent> {
        parse(&encode(entries)).unwrap()
    }

    #[test]
    fn parse_records() {
        let d = pass(&[
            (1, DT_DIR, "."),
            (1, DT_DIR, ".."),
            (2, DT_REG, "dynamic_events"),
        ]);
        assert_eq!(d.len(), 3);
        assert_eq!(d[2].name, "dynamic_events");
        assert_eq!(d[2].reclen, 40);
        assert_eq!(d[2].off, 3);
        assert!(d[0].is_dot() && !d[2].is_dot());
        assert_eq!(parse(&[]).unwrap(), vec![]);
    }

    #[test]
    fn parse_rejects_garbage() {
        let good = encode(&[(1, DT_DIR, "abc")]);
        assert!(parse(&good[..10]).is_err());
        let mut bad = good.clone();
        bad[16] = 200;
        assert!(parse(&bad).is_err());
        let mut bad = good.clone();
        bad[16] = 19;
        bad[17] = 0;
        assert!(parse(&bad).is_err());
        let mut bad = good;
        for b in &mut bad[HEADER..] {
            *b = b'x';
        }
        assert!(parse(&bad).is_err());
    }

    #[test]
    fn duplicate_detection() {
        assert!(duplicates(["a", "b", "c"]).is_empty());
        assert_eq!(
            duplicates(["a", "b", "a", "c", "b", "a"]),
            vec![("a".to_string(), 3), ("b".to_string(), 2)]
        );
        assert!(duplicates(Vec::<&str>::new()).is_empty());
    }

    /// A root pass as the layout has it: `.`, `..`, the files, `events`, `instances`.
    fn root_entries() -> Vec<(u64, u8, &'static str)> {
        let mut d = vec![(1, DT_DIR, "."), (1, DT_DIR, "..")];
        d.extend(ROOT_FILES.iter().map(|&f| (2, DT_REG, f)));
        d.push((16, DT_DIR, "events"));
        d.push((17, DT_DIR, "instances"));
        d
    }

    #[test]
    fn root_pass() {
        let d = pass(&root_entries());
        assert!(check_pass(&d, DirKind::Root, true).is_empty());
        assert_eq!(subdirs(&d), ["events", "instances"]);
        assert_eq!(count(&d, "events"), 1);
        // instances/ is required, after events/, with a number of its own.
        let mut e = root_entries();
        e.pop();
        let p = check_pass(&pass(&e), DirKind::Root, true).join("\n");
        assert!(p.contains("'instances' missing"), "{p}");
        assert!(check_pass(&pass(&e), DirKind::Root, false).is_empty());
        // The index of events/ in the pass: after `.`, `..` and the files.
        let ev = 2 + ROOT_FILES.len();
        let mut e = root_entries();
        e.swap(ev, ev + 1);
        e[ev].0 = 16;
        let p = check_pass(&pass(&e), DirKind::Root, true).join("\n");
        assert!(p.contains("'events' comes after 'instances'"), "{p}");
        assert!(p.contains("'instances' has inode 16, not above 16"), "{p}");
        // Groups do not live in the root; files come in their order, before events/.
        let mut e = root_entries();
        e.push((18, DT_DIR, "pinned"));
        e.swap(2, 3);
        e.swap(ev - 1, ev);
        let p = check_pass(&pass(&e), DirKind::Root, true).join("\n");
        assert!(p.contains("unexpected entry 'pinned'"), "{p}");
        assert!(p.contains("'README' comes after 'available_events'"), "{p}");
        assert!(p.contains("'tracing_on' comes after 'events'"), "{p}");
        // Fixed inode numbers, every file present.
        let mut e = root_entries();
        e[0].0 = 5;
        e[4].0 = 7;
        e[ev].0 = 17;
        e.remove(7);
        let p = check_pass(&pass(&e), DirKind::Root, true).join("\n");
        assert!(p.contains("'.' has inode 5, not 1"), "{p}");
        assert!(p.contains("file 'available_tracers' has inode 7"), "{p}");
        assert!(p.contains("'events' has inode 17, not 16"), "{p}");
        assert!(p.contains("'dynamic_events' missing"), "{p}");
        assert!(!p.contains("'error_log'"), "{p}");
    }

    #[test]
    fn instance_passes() {
        // instances/: the instances, any printable name without blanks.
        let d = pass(&[
            (17, DT_DIR, "."),
            (1, DT_DIR, ".."),
            (40, DT_DIR, "s0"),
            (41, DT_DIR, "a-b.c"),
        ]);
        assert!(check_pass(&d, DirKind::Instances, true).is_empty());
        assert_eq!(subdirs(&d), ["s0", "a-b.c"]);
        let d = pass(&[
            (16, DT_DIR, "."),
            (16, DT_DIR, ".."),
            (2, DT_REG, "enable"),
            (12, DT_DIR, "s1"),
            (42, DT_DIR, "a b"),
        ]);
        let p = check_pass(&d, DirKind::Instances, true).join("\n");
        assert!(p.contains("'.' has inode 16, not above 16"), "{p}");
        assert!(p.contains("'..' has inode 16, not 1"), "{p}");
        assert!(p.contains("'enable' has d_type 8, not DT_DIR"), "{p}");
        assert!(p.contains("'s1' has inode 12, not above 16"), "{p}");
        assert!(p.contains("invalid instance name 'a b'"), "{p}");
        // An instance: its files, then events/ (inode 16), nothing else.
        let mut e = vec![(40, DT_DIR, "."), (17, DT_DIR, "..")];
        e.extend(INSTANCE_FILES.iter().map(|&f| (2, DT_REG, f)));
        e.push((16, DT_DIR, "events"));
        assert!(check_pass(&pass(&e), DirKind::Instance, true).is_empty());
        let mut bad = e.clone();
        bad.push((50, DT_DIR, "g0"));
        bad[11].0 = 30;
        bad.remove(2);
        let p = check_pass(&pass(&bad), DirKind::Instance, true).join("\n");
        assert!(p.contains("unexpected entry 'g0' in an instance"), "{p}");
        assert!(p.contains("'events' has inode 30, not 16"), "{p}");
        assert!(p.contains("'available_tracers' missing"), "{p}");
        // The root's files other than these are not an instance's.
        let mut bad = e;
        bad.insert(2, (2, DT_REG, "dynamic_events"));
        let p = check_pass(&pass(&bad), DirKind::Instance, true).join("\n");
        assert!(p.contains("unexpected entry 'dynamic_events'"), "{p}");
        // events/ through an instance: `..` is the instance.
        let d = pass(&[
            (16, DT_DIR, "."),
            (40, DT_DIR, ".."),
            (2, DT_REG, "enable"),
            (2, DT_REG, "header_event"),
            (2, DT_REG, "header_page"),
            (18, DT_DIR, "pinned"),
        ]);
        assert!(check_pass(&d, DirKind::InstanceEvents, true).is_empty());
        assert!(!check_pass(&d, DirKind::Events, true).is_empty());
        assert!(valid_instance_name("s0") && valid_instance_name("a-b.c!"));
        assert!(!valid_instance_name("") && !valid_instance_name("a b"));
        assert!(!valid_instance_name("a\tb") && !valid_instance_name("\u{e9}"));
        assert!(valid_instance_name(&"m".repeat(255)) && !valid_instance_name(&"m".repeat(256)));
    }

    #[test]
    fn events_pass() {
        let d = pass(&[
            (16, DT_DIR, "."),
            (1, DT_DIR, ".."),
            (2, DT_REG, "enable"),
            (2, DT_REG, "header_event"),
            (2, DT_REG, "header_page"),
            (17, DT_DIR, "pinned"),
            (30, DT_DIR, "g0"),
        ]);
        assert!(check_pass(&d, DirKind::Events, true).is_empty());
        assert_eq!(subdirs(&d), ["pinned", "g0"]);
        let d = pass(&[
            (16, DT_DIR, "."),
            (1, DT_DIR, ".."),
            (17, DT_DIR, "pinned"),
            (2, DT_REG, "enable"),
            (16, DT_DIR, "g0"),
            (2, DT_REG, "README"),
        ]);
        let p = check_pass(&d, DirKind::Events, true).join("\n");
        assert!(p.contains("'enable' comes after 'pinned'"), "{p}");
        assert!(p.contains("'g0' has inode 16, not above 16"), "{p}");
        assert!(p.contains("'README' has d_type 8, not DT_DIR"), "{p}");
        let d = pass(&[
            (17, DT_DIR, "."),
            (16, DT_DIR, ".."),
            (2, DT_REG, "enable"),
            (2, DT_REG, "filter"),
        ]);
        let p = check_pass(&d, DirKind::Events, true).join("\n");
        assert!(p.contains("'.' has inode 17, not 16"), "{p}");
        assert!(p.contains("'..' has inode 16, not 1"), "{p}");
        assert!(check_pass(&d, DirKind::Group, true).is_empty());
        let d = pass(&[
            (17, DT_DIR, "."),
            (1, DT_DIR, ".."),
            (2, DT_REG, "enable"),
            (2, DT_REG, "filter"),
        ]);
        let p = check_pass(&d, DirKind::Group, true).join("\n");
        assert!(p.contains("'..' has inode 1, not 16"), "{p}");
        // Dots are only checked in complete passes.
        assert!(check_pass(&d, DirKind::Group, false).is_empty());
    }

    #[test]
    fn problems_found() {
        let d = pass(&[
            (1, DT_DIR, "."),
            (2, DT_REG, "enable"),
            (16, DT_DIR, "e1"),
            (16, DT_DIR, "e2"),
            (18, DT_DIR, "e4"),
            (18, DT_DIR, "e4"),
            (19, DT_REG, "e3"),
            (20, DT_DIR, "bad-name"),
            (21, DT_DIR, "e5"),
            (22, DT_DIR, "e5"),
            (2, DT_REG, "enable"),
        ]);
        let p = check_pass(&d, DirKind::Group, true);
        let all = p.join("\n");
        // The same directory twice; a fixed file twice.
        assert!(
            all.contains("'e4' appears 2 times in one pass (inodes 18, 18)"),
            "{all}"
        );
        assert!(all.contains("'enable' appears 2 times"), "{all}");
        // Removed and created again during the pass: two directories, both may be listed.
        assert!(!all.contains("'e5' appears"), "{all}");
        assert!(all.contains("share inode 16"), "{all}");
        assert!(all.contains("'e3' has d_type 8"), "{all}");
        assert!(all.contains("invalid name 'bad-name'"), "{all}");
        assert!(all.contains("'..' missing"), "{all}");
        // Incomplete passes may lack entries, nothing else.
        let p = check_pass(&d[..2], DirKind::Group, false);
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn event_dirs_have_no_children() {
        let d = pass(&[
            (20, DT_DIR, "."),
            (5, DT_DIR, ".."),
            (2, DT_REG, "enable"),
            (2, DT_REG, "id"),
            (2, DT_REG, "filter"),
            (2, DT_REG, "format"),
            (2, DT_REG, "inject"),
        ]);
        assert!(check_pass(&d, DirKind::Event, true).is_empty());
        let d = pass(&[(21, DT_DIR, "x"), (2, DT_DIR, "id"), (3, DT_REG, "format")]);
        let p = check_pass(&d, DirKind::Event, false);
        assert_eq!(p.len(), 3, "{p:?}");
        // A removed event directory may still list its files, or nothing.
        assert!(check_pass(&[], DirKind::Event, false).is_empty());
        assert_eq!(check_pass(&[], DirKind::Event, true).len(), 7);
    }
}
