//! Whole-registry consistency: the `dynamic_events` listing and the directory tree must
//! describe the same events. Only meaningful while nobody changes the registry (the
//! fault mode, and the end of a stress run).

use std::collections::{BTreeMap, BTreeSet};

use crate::dirent::{self, DirKind};
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
    /// The tree: group directories and their event directories.
    pub tree: BTreeMap<String, Vec<String>>,
}

/// Reads `dynamic_events` in one `read(2)` and checks that a second one is at the end.
pub fn read_listing(mnt: &str) -> Result<String, String> {
    let path = format!("{mnt}/dynamic_events");
    let fd = sys::open(&cpath(&path), libc::O_RDONLY).map_err(|e| format!("open {path}: {e}"))?;
    let mut buf = vec![0u8; LISTING_BUF];
    let n = sys::read(&fd, &mut buf).map_err(|e| format!("read {path}: {e}"))?;
    let mut more = [0u8; 64];
    let m = sys::read(&fd, &mut more).map_err(|e| format!("read {path}: {e}"))?;
    if m != 0 {
        return Err(format!(
            "{path}: listing larger than {LISTING_BUF} bytes or changing"
        ));
    }
    fd.close().map_err(|e| format!("close {path}: {e}"))?;
    String::from_utf8(buf[..n].to_vec()).map_err(|_| format!("{path}: listing is not UTF-8"))
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

/// Takes both views of the registry under `mnt`.
pub fn snapshot(mnt: &str) -> Result<Snapshot, String> {
    let listed = text::parse_listing(&read_listing(mnt)?)?;
    let mut tree = BTreeMap::new();
    for group in dirent::subdirs(&read_dir(mnt, DirKind::Root)?) {
        let entries = read_dir(&format!("{mnt}/{group}"), DirKind::Group)?;
        let events = dirent::subdirs(&entries)
            .into_iter()
            .map(String::from)
            .collect();
        tree.insert(group.to_string(), events);
    }
    Ok(Snapshot { listed, tree })
}

/// The disagreements between the two views (empty if they agree).
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
    problems
}

/// Takes a snapshot, compares the views, and stats every event directory. Returns the
/// snapshot and the problems found.
pub fn check(mnt: &str) -> Result<(Snapshot, Vec<String>), String> {
    let s = snapshot(mnt)?;
    let mut problems = compare(&s);
    for l in &s.listed {
        let path = format!("{mnt}/{}/{}", l.group, l.event);
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

    fn snap(listing: &str, tree: &[(&str, &[&str])]) -> Snapshot {
        Snapshot {
            listed: text::parse_listing(listing).unwrap(),
            tree: tree
                .iter()
                .map(|(g, es)| (g.to_string(), es.iter().map(|e| e.to_string()).collect()))
                .collect(),
        }
    }

    #[test]
    fn agreeing_views() {
        let s = snap(
            "s:a/x u8 f0\ns:a/y u8 f0\ns:b/z int f0\n",
            &[("a", &["y", "x"]), ("b", &["z"])],
        );
        assert!(compare(&s).is_empty());
        assert!(compare(&snap("", &[])).is_empty());
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
}
