// SPDX-License-Identifier: GPL-2.0

//! The checker on the samples: the good export passes, every planted defect fails it.

use super::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn defs(path: &Path) -> (String, Vec<Def>) {
    let t = fs::read_to_string(path).unwrap();
    (path.display().to_string(), text::parse_defs(&t).unwrap())
}

/// The good sample's expected definitions: the commands and the listing.
fn good_expects(root: &Path) -> Vec<(String, Vec<Def>)> {
    vec![
        defs(&root.join("commands")),
        defs(&root.join("dynamic_events")),
    ]
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// A fresh copy of the good sample, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tep-check-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        copy_dir(&samples().join("good"), &dir);
        Scratch(dir)
    }

    /// Replaces `from` by `to` in the file at `rel`, which must hold `from`.
    fn edit(&self, rel: &str, from: &str, to: &str) {
        let p = self.0.join(rel);
        let t = fs::read_to_string(&p).unwrap();
        assert!(t.contains(from), "{rel} has no {from:?}");
        fs::write(&p, t.replacen(from, to, 1)).unwrap();
    }

    /// Checks the copy and asserts that it fails with a line containing `want`.
    fn assert_fails(&self, want: &str) {
        let r = check(&self.0, &good_expects(&self.0));
        let all = r.lines.join("\n");
        assert!(r.failed > 0, "passed, but must fail with {want:?}:\n{all}");
        assert!(all.contains(want), "no {want:?} in:\n{all}");
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn good_sample_passes() {
    let root = samples().join("good");
    let r = check(&root, &good_expects(&root));
    let all = r.lines.join("\n");
    assert_eq!(r.failed, 0, "{all}");
    // header_page, header_event, six events and tracefs' own ftrace/print.
    assert_eq!(r.checked, 9, "{all}");
    assert!(
        all.contains("ok   ftrace/print: id 5, 4 common + 2 fields"),
        "{all}"
    );
    assert!(
        all.contains("ok   tep_c/max: id 1005, 4 common + 32 fields"),
        "{all}"
    );
    assert!(all.contains("ok   synthetic/deflt:"), "{all}");
}

#[test]
fn broken_sample_fails() {
    let root = samples().join("broken");
    let r = check(&root, &[defs(&root.join("commands"))]);
    let all = r.lines.join("\n");
    // Every event and both headers of the broken sample are broken.
    assert_eq!(r.failed, r.checked, "{all}");
    for want in [
        "TEP_EVENT_FL_FAILED",
        "libtraceevent read timestamp size 0, the file says 8",
        "differs from mainline's",
        "declared (\"b\", \"u64\", None, 16, 8, false)",
        "renders a record as",
        "defined in",
    ] {
        assert!(all.contains(want), "no {want:?} in:\n{all}");
    }
}

#[test]
fn planted_defects_fail() {
    let arrays = "events/tep_b/arrays/format";
    let print = "events/ftrace/print/format";
    let cases: [(&str, &str, &str, &str); 16] = [
        // A field at another offset than the layout gives it.
        (arrays, "offset:32;", "offset:33;", "declared"),
        // Signedness that is not the declared type's.
        (
            arrays,
            "s32 z;\toffset:48;\tsize:4;\tsigned:1;",
            "s32 z;\toffset:48;\tsize:4;\tsigned:0;",
            "declared",
        ),
        // A type eventfs does not declare for the field.
        (arrays, "field:u64 after", "field:s64 after", "declared"),
        // An array length that is not the declared one.
        (
            arrays,
            "char odd[5];\toffset:40;\tsize:5",
            "char odd[6];\toffset:40;\tsize:6",
            "declared",
        ),
        // A name other than the directory's.
        (
            arrays,
            "name: arrays",
            "name: array",
            "the directory is \"arrays\"",
        ),
        // A syntax error libtraceevent reports only through TEP_EVENT_FL_FAILED.
        (
            arrays,
            "\tfield:u64 after;\toffset:32;",
            "\tfield:u64 after\toffset:32;",
            "TEP_EVENT_FL_FAILED",
        ),
        // A print fmt argument naming no field.
        (arrays, "REC->z", "REC->y", "renders a record as"),
        // A conversion that prints another value.
        (arrays, "z=%d", "z=%x", "renders a record as"),
        // A common field out of place.
        (
            arrays,
            "common_pid;\toffset:4;",
            "common_pid;\toffset:5;",
            "common field common_pid",
        ),
        // Mainline's header_page says char, 4080 bytes of data.
        ("events/header_page", "size:4080", "size:4000", "field data"),
        (
            "events/header_page",
            "field: u64 timestamp",
            "field: u64 timestamps",
            "timestamp size 0",
        ),
        (
            "events/header_event",
            "type == 30",
            "type == 3",
            "differs from mainline's",
        ),
        // tracefs' print: its type, its fields, its print fmt.
        (print, "ID: 5", "ID: 6", "tracefs' ftrace/print has 5"),
        (
            print,
            "offset:16;\tsize:0",
            "offset:24;\tsize:0",
            "tracefs' print has",
        ),
        (print, "char buf[]", "char buf[8]", "tracefs' print has"),
        (print, "%ps: %s", "%ps %s", "renders a print record as"),
    ];
    for (rel, from, to, want) in cases {
        let s = Scratch::new();
        s.edit(rel, from, to);
        s.assert_fails(want);
    }
}

#[test]
fn missing_files_fail() {
    for rel in [
        "events/header_page",
        "events/header_event",
        "events/tep_a/cints/format",
    ] {
        let s = Scratch::new();
        fs::remove_file(s.0.join(rel)).unwrap();
        s.assert_fails(if rel.ends_with("format") {
            "has no format file"
        } else {
            "cannot read"
        });
    }
    // An event nobody declared.
    let s = Scratch::new();
    copy_dir(
        &s.0.join("events/tep_a/cints"),
        &s.0.join("events/tep_a/extra"),
    );
    s.edit("events/tep_a/extra/format", "name: cints", "name: extra");
    s.edit("events/tep_a/extra/format", "ID: 1001", "ID: 1099");
    s.assert_fails("does not define this event");
    // A field past any record (the render must not allocate what the file says).
    let s = Scratch::new();
    s.edit(
        "events/tep_b/arrays/format",
        "big[256];\toffset:52;",
        "big[256];\toffset:4000000000;",
    );
    s.assert_fails("past any record");
    // Two events with one ID.
    let s = Scratch::new();
    s.edit("events/tep_a/cints/format", "ID: 1001", "ID: 1000");
    s.assert_fails("ID 1000 is also");
}
