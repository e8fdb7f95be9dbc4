//! Whole-registry consistency: the `dynamic_events` listing, the directory tree under
//! `events/` and `available_events` must describe the same events, `synthetic_events`
//! its synthetic events, `kprobe_events` (the same lines) and `kprobe_profile` (one line
//! each) its kprobe events, and `set_event` must list exactly the events whose `enable`
//! reads 1 (all of the top level; instances have their own). Only meaningful while nobody
//! changes the registry (the fault mode, and the end of a stress run).

use std::collections::{BTreeMap, BTreeSet};

use crate::dirent::{self, DirKind, EVENTS_DIR, INSTANCES_DIR};
use crate::kprobe::{self, Profile};
use crate::sys::{self, cpath};
use crate::text::{self, Listed};

/// Largest listing the tool reads in one `read(2)`.
const LISTING_BUF: usize = 1 << 20;
/// Buffer for the directory passes here.
const DIR_BUF: usize = 32 * 1024;
/// Bound on `getdents64` calls of one pass.
const MAX_CALLS: usize = 100_000;

/// What the registry looks like through both views.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The `dynamic_events` listing.
    pub listed: Vec<Listed>,
    /// The tree: group directories (in `events/`) and their event directories.
    pub tree: BTreeMap<String, Vec<String>>,
    /// `available_events`: (group, event) per line.
    pub available: Vec<(String, String)>,
    /// `synthetic_events`: (group, event) per line.
    pub synthetic: Vec<(String, String)>,
    /// `kprobe_events`: its lines, with their newlines.
    pub kprobes: Vec<String>,
    /// `kprobe_profile`.
    pub profile: Vec<Profile>,
    /// `set_event`: (group, event) per line.
    pub set_event: Vec<(String, String)>,
    /// The events of the tree whose `enable` reads `1`.
    pub enabled: BTreeSet<(String, String)>,
    /// The instances (`instances/NAME`), in readdir order.
    pub instances: Vec<String>,
}

/// Reads `dynamic_events` in one `read(2)` and checks that a second one is at the end.
pub fn read_listing(mnt: &str) -> Result<String, String> {
    read_whole(mnt, "dynamic_events")
}

/// Reads the root file `name` in one `read(2)` and checks that a second one is at the
/// end.
pub fn read_whole(mnt: &str, name: &str) -> Result<String, String> {
    let path = format!("{mnt}/{name}");
    let fd = sys::open(&cpath(&path), libc::O_RDONLY).map_err(|e| format!("open {path}: {e}"))?;
    let mut buf = vec![0u8; LISTING_BUF];
    let n = sys::read(&fd, &mut buf).map_err(|e| format!("read {path}: {e}"))?;
    let mut more = [0u8; 64];
    let m = sys::read(&fd, &mut more).map_err(|e| format!("read {path}: {e}"))?;
    if m != 0 {
        return Err(format!(
            "{path}: larger than {LISTING_BUF} bytes or changing"
        ));
    }
    fd.close().map_err(|e| format!("close {path}: {e}"))?;
    String::from_utf8(buf[..n].to_vec()).map_err(|_| format!("{path}: not UTF-8"))
}

/// Reads directory `path` to its end in one pass and checks the pass.
pub fn read_dir(path: &str, kind: DirKind) -> Result<Vec<dirent::Dirent>, String> {
    let fd = sys::open(&cpath(path), libc::O_RDONLY | libc::O_DIRECTORY)
        .map_err(|e| format!("open {path}: {e}"))?;
    let mut buf = vec![0u8; DIR_BUF];
    let mut all = Vec::new();
    for _ in 0..MAX_CALLS {
        let n = sys::getdents64(&fd, &mut buf).map_err(|e| format!("getdents {path}: {e}"))?;
        if n == 0 {
            fd.close().map_err(|e| format!("close {path}: {e}"))?;
            let problems = dirent::check_pass(&all, kind, true);
            if !problems.is_empty() {
                return Err(format!("{path}: {}", problems.join("; ")));
            }
            return Ok(all);
        }
        all.extend(dirent::parse(&buf[..n]).map_err(|e| format!("getdents {path}: {e}"))?);
    }
    Err(format!(
        "{path}: no end of directory after {MAX_CALLS} getdents calls"
    ))
}

/// Takes every view of the registry under `mnt`. The root, `events/`, `instances/` and
/// each instance must pass the readdir checks of their kinds.
pub fn snapshot(mnt: &str) -> Result<Snapshot, String> {
    let listed = text::parse_listing(&read_listing(mnt)?)?;
    read_dir(mnt, DirKind::Root)?;
    let inst_dir = format!("{mnt}/{INSTANCES_DIR}");
    let instances: Vec<String> = dirent::subdirs(&read_dir(&inst_dir, DirKind::Instances)?)
        .into_iter()
        .map(String::from)
        .collect();
    for i in &instances {
        read_dir(&format!("{inst_dir}/{i}"), DirKind::Instance)?;
    }
    let events = format!("{mnt}/{EVENTS_DIR}");
    let mut tree = BTreeMap::new();
    let mut enabled = BTreeSet::new();
    for group in dirent::subdirs(&read_dir(&events, DirKind::Events)?) {
        let kind = if group == dirent::FTRACE_GROUP {
            DirKind::BuiltinGroup
        } else {
            DirKind::Group
        };
        let entries = read_dir(&format!("{events}/{group}"), kind)?;
        let mut evs: Vec<String> = dirent::subdirs(&entries)
            .into_iter()
            .map(String::from)
            .collect();
        if group == dirent::FTRACE_GROUP {
            // tracefs' own group: its `print` is always there and is no event of the
            // registry; the group counts as one only with events of its own.
            let at = evs
                .iter()
                .position(|e| e == dirent::PRINT_EVENT)
                .ok_or_else(|| {
                    format!("{events}/{group}: no {} in {evs:?}", dirent::PRINT_EVENT)
                })?;
            evs.remove(at);
            read_dir(
                &format!("{events}/{group}/{}", dirent::PRINT_EVENT),
                DirKind::Builtin,
            )?;
            if evs.is_empty() {
                continue;
            }
        }
        for e in &evs {
            let path = format!("{events}/{group}/{e}/enable");
            let bytes = sys::read_file(&path, 64).map_err(|err| format!("read {path}: {err}"))?;
            if text::parse_enable(&bytes, false).map_err(|err| format!("{path}: {err}"))? == '1' {
                enabled.insert((group.to_string(), e.clone()));
            }
        }
        tree.insert(group.to_string(), evs);
    }
    let names = |name: &str| -> Result<Vec<(String, String)>, String> {
        text::parse_event_names(&read_whole(mnt, name)?).map_err(|e| format!("{name}: {e}"))
    };
    let available = names("available_events")?;
    let set_event = names("set_event")?;
    let synthetic = text::parse_synthetic(&read_whole(mnt, "synthetic_events")?)
        .map_err(|e| format!("synthetic_events: {e}"))?;
    let kprobe_text = read_whole(mnt, "kprobe_events")?;
    kprobe::parse_kprobe_listing(&kprobe_text).map_err(|e| format!("kprobe_events: {e}"))?;
    let kprobes = kprobe_text
        .split_inclusive('\n')
        .map(String::from)
        .collect();
    let profile = kprobe::parse_profile(&read_whole(mnt, "kprobe_profile")?)
        .map_err(|e| format!("kprobe_profile: {e}"))?;
    Ok(Snapshot {
        listed,
        tree,
        available,
        synthetic,
        kprobes,
        profile,
        set_event,
        enabled,
        instances,
    })
}

/// The disagreements between the views (empty if they agree).
pub fn compare(s: &Snapshot) -> Vec<String> {
    let mut problems = Vec::new();
    let mut listed = BTreeSet::new();
    for l in &s.listed {
        if !listed.insert((l.group.as_str(), l.event.as_str())) {
            problems.push(format!("{}/{} listed twice", l.group, l.event));
        }
    }
    let mut in_tree = BTreeSet::new();
    for (group, events) in &s.tree {
        if events.is_empty() {
            problems.push(format!("group {group} has no events (it should be gone)"));
        }
        for e in events {
            in_tree.insert((group.as_str(), e.as_str()));
        }
    }
    for (g, e) in listed.difference(&in_tree) {
        problems.push(format!("{g}/{e} is listed but has no directory"));
    }
    for (g, e) in in_tree.difference(&listed) {
        problems.push(format!("{g}/{e} has a directory but is not listed"));
    }
    // The name lists: each event of the listing once, nothing else (synthetic_events:
    // each synthetic event).
    let synthetic: BTreeSet<(&str, &str)> = s
        .listed
        .iter()
        .filter(|l| !l.probe)
        .map(|l| (l.group.as_str(), l.event.as_str()))
        .collect();
    for (file, names, want) in [
        ("available_events", &s.available, &listed),
        ("synthetic_events", &s.synthetic, &synthetic),
    ] {
        let mut seen = BTreeSet::new();
        for (g, e) in names {
            if !seen.insert((g.as_str(), e.as_str())) {
                problems.push(format!("{g}:{e} twice in {file}"));
            }
        }
        for (g, e) in want.difference(&seen) {
            problems.push(format!("{g}/{e} is listed but not in {file}"));
        }
        for (g, e) in seen.difference(want) {
            problems.push(format!("{g}:{e} is in {file} but not listed"));
        }
    }
    // kprobe_events: the kprobe lines of the listing, in the same order; kprobe_profile:
    // one line per kprobe event (by name: it shows no group).
    let probe_lines: Vec<&str> = s
        .listed
        .iter()
        .filter(|l| l.probe)
        .map(|l| l.line.as_str())
        .collect();
    let kprobes: Vec<&str> = s.kprobes.iter().map(String::as_str).collect();
    if probe_lines != kprobes {
        problems.push(format!(
            "kprobe_events lists {kprobes:?}, dynamic_events {probe_lines:?}"
        ));
    }
    let mut probe_names: Vec<&str> = s
        .listed
        .iter()
        .filter(|l| l.probe)
        .map(|l| l.event.as_str())
        .collect();
    probe_names.sort_unstable();
    let mut profiled: Vec<&str> = s.profile.iter().map(|p| p.event.as_str()).collect();
    profiled.sort_unstable();
    if probe_names != profiled {
        problems.push(format!(
            "kprobe_profile names {profiled:?}, the kprobe events are {probe_names:?}"
        ));
    }
    // set_event: exactly the enabled events.
    let mut set = BTreeSet::new();
    for (g, e) in &s.set_event {
        if !set.insert((g.as_str(), e.as_str())) {
            problems.push(format!("{g}:{e} twice in set_event"));
        }
    }
    let enabled: BTreeSet<(&str, &str)> = s
        .enabled
        .iter()
        .map(|(g, e)| (g.as_str(), e.as_str()))
        .collect();
    for (g, e) in set.difference(&enabled) {
        problems.push(format!(
            "{g}:{e} is in set_event but its enable does not read 1"
        ));
    }
    for (g, e) in enabled.difference(&set) {
        problems.push(format!(
            "{g}/{e}/enable reads 1 but set_event lacks {g}:{e}"
        ));
    }
    problems
}

/// Takes a snapshot, compares the views, and stats every event directory. Returns the
/// snapshot and the problems found.
pub fn check(mnt: &str) -> Result<(Snapshot, Vec<String>), String> {
    let s = snapshot(mnt)?;
    let mut problems = compare(&s);
    for l in &s.listed {
        let path = format!("{mnt}/{EVENTS_DIR}/{}/{}", l.group, l.event);
        match sys::stat(&cpath(&path)) {
            Ok(st) if sys::is_dir(st.st_mode) => {}
            Ok(_) => problems.push(format!("{path} is not a directory")),
            Err(e) => problems.push(format!("stat {path}: {e} although it is listed")),
        }
    }
    Ok((s, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(names: &[(&str, &str)]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|(g, e)| (g.to_string(), e.to_string()))
            .collect()
    }

    /// A snapshot whose name lists and enable states agree with the listing.
    fn snap(listing: &str, tree: &[(&str, &[&str])]) -> Snapshot {
        let listed = text::parse_listing(listing).unwrap();
        let names: Vec<(String, String)> = listed
            .iter()
            .map(|l| (l.group.clone(), l.event.clone()))
            .collect();
        Snapshot {
            listed,
            tree: tree
                .iter()
                .map(|(g, es)| (g.to_string(), es.iter().map(|e| e.to_string()).collect()))
                .collect(),
            available: names.clone(),
            synthetic: names,
            kprobes: Vec::new(),
            profile: Vec::new(),
            set_event: Vec::new(),
            enabled: BTreeSet::new(),
            instances: Vec::new(),
        }
    }

    #[test]
    fn agreeing_views() {
        let mut s = snap(
            "s:a/x u8 f0\ns:a/y u8 f0\ns:b/z int f0\n",
            &[("a", &["y", "x"]), ("b", &["z"])],
        );
        assert!(compare(&s).is_empty());
        s.set_event = pairs(&[("b", "z"), ("a", "x")]);
        s.enabled = pairs(&[("a", "x"), ("b", "z")]).into_iter().collect();
        assert!(compare(&s).is_empty(), "{:?}", compare(&s));
        assert!(compare(&snap("", &[])).is_empty());
    }

    /// `snap` with kprobe events: they are not in `synthetic_events`, and
    /// `kprobe_events` and `kprobe_profile` list them.
    fn with_probes(listing: &str, tree: &[(&str, &[&str])]) -> Snapshot {
        let mut s = snap(listing, tree);
        s.synthetic = s
            .listed
            .iter()
            .filter(|l| !l.probe)
            .map(|l| (l.group.clone(), l.event.clone()))
            .collect();
        s.kprobes = s
            .listed
            .iter()
            .filter(|l| l.probe)
            .map(|l| l.line.clone())
            .collect();
        s.profile = s
            .listed
            .iter()
            .filter(|l| l.probe)
            .map(|l| Profile {
                event: l.event.clone(),
                hits: 0,
                misses: 0,
            })
            .collect();
        s
    }

    #[test]
    fn views_with_kprobe_events() {
        let listing = "s:a/x u8 f0\np:kprobes/k vfs_read di=%di\nr10:kprobes/r vfs_read\n";
        let tree: &[(&str, &[&str])] = &[("a", &["x"]), ("kprobes", &["k", "r"])];
        let s = with_probes(listing, tree);
        assert!(compare(&s).is_empty(), "{:?}", compare(&s));
        // synthetic_events must not name a kprobe event.
        let mut bad = s.clone();
        bad.synthetic.push(("kprobes".into(), "k".into()));
        let p = compare(&bad).join("\n");
        assert!(
            p.contains("kprobes:k is in synthetic_events but not listed"),
            "{p}"
        );
        // kprobe_events: the same lines in the same order.
        let mut bad = s.clone();
        bad.kprobes.reverse();
        assert!(compare(&bad).join("\n").contains("kprobe_events lists"));
        let mut bad = s.clone();
        bad.kprobes.pop();
        assert!(compare(&bad).join("\n").contains("kprobe_events lists"));
        // kprobe_profile: each kprobe event once.
        let mut bad = s.clone();
        bad.profile.pop();
        assert!(compare(&bad).join("\n").contains("kprobe_profile names"));
        let mut bad = s.clone();
        let dup = bad.profile[0].clone();
        bad.profile.push(dup);
        assert!(compare(&bad).join("\n").contains("kprobe_profile names"));
        // A kprobe event with no directory is caught as any other.
        let s = with_probes(listing, &[("a", &["x"]), ("kprobes", &["k"])]);
        assert!(compare(&s)
            .join("\n")
            .contains("kprobes/r is listed but has no directory"));
    }

    #[test]
    fn disagreeing_views() {
        let s = snap(
            "s:a/x u8 f0\ns:a/x u8 f0\ns:c/w u8 f0\n",
            &[("a", &["x", "y"]), ("b", &[])],
        );
        let p = compare(&s).join("\n");
        assert!(p.contains("a/x listed twice"), "{p}");
        assert!(p.contains("group b has no events"), "{p}");
        assert!(p.contains("c/w is listed but has no directory"), "{p}");
        assert!(p.contains("a/y has a directory but is not listed"), "{p}");
    }

    #[test]
    fn disagreeing_name_lists() {
        let mut s = snap("s:a/x u8 f0\ns:a/y u8 f0\n", &[("a", &["x", "y"])]);
        s.available = pairs(&[("a", "x"), ("a", "x"), ("a", "z")]);
        s.synthetic = pairs(&[("a", "y")]);
        s.set_event = pairs(&[("a", "x"), ("a", "x")]);
        s.enabled = pairs(&[("a", "y")]).into_iter().collect();
        let p = compare(&s).join("\n");
        assert!(p.contains("a:x twice in available_events"), "{p}");
        assert!(
            p.contains("a/y is listed but not in available_events"),
            "{p}"
        );
        assert!(
            p.contains("a:z is in available_events but not listed"),
            "{p}"
        );
        assert!(
            p.contains("a/x is listed but not in synthetic_events"),
            "{p}"
        );
        assert!(p.contains("a:x twice in set_event"), "{p}");
        assert!(
            p.contains("a:x is in set_event but its enable does not read 1"),
            "{p}"
        );
        assert!(
            p.contains("a/y/enable reads 1 but set_event lacks a:y"),
            "{p}"
        );
    }
}
