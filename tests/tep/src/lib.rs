// SPDX-License-Identifier: GPL-2.0

//! Checks the tracing files eventfs produces with the real client library,
//! libtraceevent: every `events/GROUP/EVENT/format`, `events/header_page` (both parsed
//! by libtraceevent) and `events/header_event` (which libtraceevent does not parse:
//! compared with mainline's text). A format must parse (`tep_parse_format()` returns 0
//! and leaves `TEP_EVENT_FL_FAILED` clear), its name, group and ID must be what the
//! directory and the `ID:` line say, every field libtraceevent read must have the
//! offset, size, signedness and array length of its `field:` line and of the expected
//! definition (an `s:` command), and a record rendered through the print fmt must show
//! each field's value.

pub mod ffi;
pub mod text;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use ffi::{Event, Tep};
use text::{Def, FieldLine, Format};

/// The common fields of every event: (type, name, offset, size, signed).
const COMMON: [(&str, &str, u32, u32, bool); 4] = [
    ("unsigned short", "common_type", 0, 2, false),
    ("unsigned char", "common_flags", 2, 1, false),
    ("unsigned char", "common_preempt_count", 3, 1, false),
    ("int", "common_pid", 4, 4, true),
];

/// Mainline's `events/header_page` on x86_64 with 4 KiB sub-buffers, as
/// `ring_buffer_print_page_header()` of Linux 7.2 prints it (the kernel builds with
/// `-funsigned-char`, so its `char` fields are unsigned): (type, name, offset, size,
/// signed).
const HEADER_PAGE: [(&str, &str, u32, u32, bool); 4] = [
    ("u64", "timestamp", 0, 8, false),
    ("local_t", "commit", 8, 8, true),
    ("char", "overwrite", 8, 1, false),
    ("char", "data", 16, 4080, false),
];

/// Mainline's `events/header_event`, as `ring_buffer_print_entry_header()` prints it.
pub const HEADER_EVENT: &str = "# compressed entry header
\ttype_len    :    5 bits
\ttime_delta  :   27 bits
\tarray       :   32 bits

\tpadding     : type == 29
\ttime_extend : type == 30
\ttime_stamp : type == 31
\tdata max type_len  == 28
";

/// The result of a check: one line per file or event, and the counts.
#[derive(Debug, Default)]
pub struct Report {
    /// `ok   WHAT: ...` or `FAIL WHAT: ...` lines, with indented details after a FAIL.
    pub lines: Vec<String>,
    /// How many files (or expected events) were checked.
    pub checked: usize,
    /// How many of them failed.
    pub failed: usize,
}

impl Report {
    /// Records the outcome of one item: ok with `summary` if `problems` is empty.
    fn item(&mut self, what: &str, summary: &str, problems: &[String]) {
        self.checked += 1;
        if problems.is_empty() {
            self.lines.push(format!("ok   {what}: {summary}"));
        } else {
            self.failed += 1;
            self.lines.push(format!("FAIL {what}: {}", problems[0]));
            for p in &problems[1..] {
                self.lines.push(format!("       {p}"));
            }
        }
    }

    /// The closing line.
    pub fn summary(&self) -> String {
        format!(
            "tep: {} formats parsed, {} failed",
            self.checked, self.failed
        )
    }
}

/// Compares one field line with an expected (type, name, offset, size, signed).
fn expect_line(p: &mut Vec<String>, what: &str, f: &FieldLine, want: (&str, &str, u32, u32, bool)) {
    let (ty, name, offset, size, signed) = want;
    let got = (f.ty.as_str(), f.name.as_str(), f.offset, f.size, f.signed);
    if f.array.is_some() || got != (ty, name, offset, size, signed) {
        p.push(format!(
            "{what} {name}: file says {} {}{}; offset:{}; size:{}; signed:{}, expected {ty} {name}; offset:{offset}; size:{size}; signed:{}",
            f.ty,
            f.name,
            f.array.map(|n| format!("[{n}]")).unwrap_or_default(),
            f.offset,
            f.size,
            u8::from(f.signed),
            u8::from(signed)
        ));
    }
}

/// Checks `header_page`: libtraceevent parses it into what its lines say, and they are
/// mainline's.
fn check_header_page(report: &mut Report, path: &Path) {
    let mut p = Vec::new();
    let mut summary = String::new();
    match fs::read_to_string(path) {
        Err(e) => p.push(format!("cannot read {}: {e}", path.display())),
        Ok(text) => {
            let lines: Result<Vec<FieldLine>, String> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(text::parse_field_line)
                .collect();
            match lines {
                Err(e) => p.push(e),
                Ok(lines) if lines.len() != HEADER_PAGE.len() => p.push(format!(
                    "{} field lines, mainline has {}",
                    lines.len(),
                    HEADER_PAGE.len()
                )),
                Ok(lines) => {
                    for (f, want) in lines.iter().zip(HEADER_PAGE) {
                        expect_line(&mut p, "field", f, want);
                    }
                    let (ts, commit, data) = (&lines[0], &lines[1], &lines[3]);
                    match Tep::new() {
                        None => p.push("tep_alloc() failed".into()),
                        Some(tep) => {
                            let h = tep.parse_header_page(text.as_bytes());
                            let sub = data.offset + data.size;
                            summary = format!(
                                "libtraceevent: timestamp {} bytes, commit {} bytes, sub-buffer {} bytes",
                                h.timestamp_size, h.commit_size, h.sub_buffer_size
                            );
                            if h.rc != 0 {
                                p.push(format!("tep_parse_header_page() returned {}", h.rc));
                            }
                            if h.old_format {
                                p.push("libtraceevent took it for the old format".into());
                            }
                            let checks = [
                                ("timestamp size", h.timestamp_size, ts.size),
                                ("commit size", h.commit_size, commit.size),
                                (
                                    "sub-buffer size (data offset + size)",
                                    h.sub_buffer_size,
                                    sub,
                                ),
                            ];
                            for (what, got, want) in checks {
                                if u32::try_from(got) != Ok(want) {
                                    p.push(format!(
                                        "libtraceevent read {what} {got}, the file says {want}"
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    report.item("header_page", &summary, &p);
}

/// Checks `header_event`: mainline's text (libtraceevent does not parse this file).
fn check_header_event(report: &mut Report, path: &Path) {
    let mut p = Vec::new();
    match fs::read_to_string(path) {
        Err(e) => p.push(format!("cannot read {}: {e}", path.display())),
        Ok(text) if text != HEADER_EVENT => {
            p.push("differs from mainline's ring_buffer_print_entry_header():".into());
            for (i, (got, want)) in text.lines().zip(HEADER_EVENT.lines()).enumerate() {
                if got != want {
                    p.push(format!("line {}: {got:?}, mainline {want:?}", i + 1));
                }
            }
            let (g, w) = (text.lines().count(), HEADER_EVENT.lines().count());
            if g != w || !text.ends_with('\n') {
                p.push(format!("{g} lines, mainline {w} ending in a newline"));
            }
        }
        Ok(_) => {}
    }
    report.item("header_event", "mainline's text", &p);
}

/// Compares what libtraceevent parsed of one list of fields with the file's lines.
fn compare_fields(
    p: &mut Vec<String>,
    kind: &str,
    parsed: &[ffi::ParsedField],
    lines: &[FieldLine],
) {
    if parsed.len() != lines.len() {
        p.push(format!(
            "libtraceevent read {} {kind} fields, the file has {}",
            parsed.len(),
            lines.len()
        ));
    }
    for (i, l) in lines.iter().enumerate() {
        let Some(f) = parsed.get(i) else {
            p.push(format!("field {}: libtraceevent has no field #{i}", l.name));
            continue;
        };
        let ty = match l.array {
            Some(0) => format!("{}[]", l.ty),
            Some(n) => format!("{}[{n}]", l.ty),
            None => l.ty.clone(),
        };
        let want = (
            l.name.as_str(),
            ty.as_str(),
            i64::from(l.offset),
            i64::from(l.size),
            l.signed,
            l.array.is_some(),
            l.array.unwrap_or(0),
        );
        let got = (
            f.name.as_str(),
            f.ty.as_str(),
            i64::from(f.offset),
            i64::from(f.size),
            f.signed,
            f.array,
            f.arraylen,
        );
        if got != want {
            p.push(format!(
                "field #{i}: libtraceevent read {got:?}, the file says {want:?} (name, type, offset, size, signed, array, arraylen)"
            ));
        }
    }
}

/// Compares the file's declared fields with an expected definition.
fn compare_def(p: &mut Vec<String>, source: &str, def: &Def, fields: &[FieldLine]) {
    let layout = match text::layout(def) {
        Ok(l) => l,
        Err(e) => return p.push(format!("{source}: {e}")),
    };
    if def.fields.len() != fields.len() {
        p.push(format!(
            "{source} declares {} fields, the format has {}",
            def.fields.len(),
            fields.len()
        ));
    }
    for ((d, (offset, size, signed)), f) in def.fields.iter().zip(layout).zip(fields) {
        let want = (
            d.name.as_str(),
            d.ty.as_str(),
            d.array,
            offset,
            size,
            signed,
        );
        let got = f.key();
        if got != want {
            p.push(format!(
                "{source}: field {got:?}, declared {want:?} (name, type, array, offset, size, signed)"
            ));
        }
    }
}

/// Record types of tracefs' own that eventfs describes under `events/` (group, event,
/// id): no definition makes them, and their print fmt is tracefs', not `NAME=VALUE`.
const BUILTIN: [(&str, &str, i64); 1] = [("ftrace", "print", 5)];

/// Checks the declared fields and the rendering of tracefs' `print` (a `trace_marker`
/// record): `ip` then the text as a flexible `char buf[]`, printed as `%ps: %s`.
fn check_print(p: &mut Vec<String>, tep: &Tep, fields: &[FieldLine]) {
    let want = [
        ("ip", "unsigned long", None, 8, 8, false),
        ("buf", "char", Some(0), 16, 0, false),
    ];
    let got: Vec<_> = fields.iter().map(FieldLine::key).collect();
    if got != want {
        p.push(format!(
            "fields {got:?}, tracefs' print has {want:?} (name, type, array, offset, size, signed)"
        ));
    }
    let mut data = vec![0u8; 16];
    data[..2].copy_from_slice(&5u16.to_le_bytes());
    data[8..16].copy_from_slice(&0x1122u64.to_le_bytes());
    data.extend_from_slice(b"marker text\n\0");
    match tep.render(&mut data) {
        None => p.push("libtraceevent could not render a print record".into()),
        Some(got) if got.trim_end() != "0x1122: marker text" => p.push(format!(
            "libtraceevent renders a print record as {got:?}, expected \"0x1122: marker text\""
        )),
        Some(_) => {}
    }
}

/// Renders a record of `ev` holding known values through its print fmt and compares
/// the text with what those values must print as.
fn check_render(p: &mut Vec<String>, tep: &Tep, ev: &Event<'_>, fields: &[FieldLine]) {
    let end = fields
        .iter()
        .map(|f| u64::from(f.offset) + u64::from(f.size))
        .max()
        .unwrap_or(8);
    // Far more than any event can declare (32 fields of at most 256 bytes).
    if end > 1 << 20 {
        return p.push(format!("the fields end at byte {end}, past any record"));
    }
    let mut data = vec![0u8; end.max(8) as usize];
    let Ok(id) = u16::try_from(ev.id()) else {
        return p.push(format!("ID {} does not fit common_type", ev.id()));
    };
    data[..2].copy_from_slice(&id.to_le_bytes());
    let mut want = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let v = i as u64 + 1;
        let at = f.offset as usize;
        let shown = if f.array.is_some() {
            // A NUL-terminated string that fits the array.
            let s: String = format!("v{v}")
                .chars()
                .take((f.size as usize).saturating_sub(1))
                .collect();
            data[at..at + s.len()].copy_from_slice(s.as_bytes());
            s
        } else {
            // Every byte non-zero, so that a read of another size shows; the top one
            // below 0x80, so that signed and unsigned print alike.
            let n = (f.size as usize).min(8);
            let mut bytes = [0u8; 8];
            for (k, b) in bytes.iter_mut().take(n).enumerate() {
                *b = ((k as u8) << 4) | ((i % 15) as u8 + 1);
            }
            data[at..at + n].copy_from_slice(&bytes[..n]);
            let v = u64::from_le_bytes(bytes);
            if f.ty == "gfp_t" {
                format!("{v:x}")
            } else {
                v.to_string()
            }
        };
        want.push(format!("{}={shown}", f.name));
    }
    let want = want.join(", ");
    match tep.render(&mut data) {
        None => p.push("libtraceevent could not render a record".into()),
        Some(got) if got != want => p.push(format!(
            "libtraceevent renders a record as {got:?}, expected {want:?}"
        )),
        Some(_) => {}
    }
}

/// Checks one event directory.
fn check_event(
    report: &mut Report,
    group: &str,
    event: &str,
    dir: &Path,
    expects: &[(String, Vec<Def>)],
    ids: &mut BTreeMap<i64, String>,
) {
    let what = format!("{group}/{event}");
    let mut p = Vec::new();
    let mut summary = String::new();
    let text = match fs::read_to_string(dir.join("format")) {
        Ok(t) => t,
        Err(e) => {
            report.item(&what, "", &[format!("cannot read format: {e}")]);
            return;
        }
    };
    let file: Option<Format> = match text::parse_format(&text) {
        Ok(f) => Some(f),
        Err(e) => {
            p.push(format!("format: {e}"));
            None
        }
    };
    let Some(tep) = Tep::new() else {
        report.item(&what, "", &["tep_alloc() failed".into()]);
        return;
    };
    match tep.parse_format(text.as_bytes(), group) {
        Err(e) => p.push(e),
        Ok(ev) => {
            if ev.failed() {
                p.push("libtraceevent set TEP_EVENT_FL_FAILED".into());
            }
            if ev.name() != event {
                p.push(format!(
                    "libtraceevent read name {:?}, the directory is {event:?}",
                    ev.name()
                ));
            }
            if ev.system() != group {
                p.push(format!(
                    "libtraceevent recorded system {:?}, not {group:?}",
                    ev.system()
                ));
            }
            let (nr_common, nr_fields) = ev.counts();
            summary = format!(
                "id {}, {nr_common} common + {nr_fields} fields, rendered",
                ev.id()
            );
            if let Some(prev) = ids.insert(i64::from(ev.id()), what.clone()) {
                p.push(format!("ID {} is also {prev}'s", ev.id()));
            }
            if let Some(f) = &file {
                if i64::from(ev.id()) != f.id {
                    p.push(format!(
                        "libtraceevent read ID {}, the ID: line says {}",
                        ev.id(),
                        f.id
                    ));
                }
                if let Ok(idf) = fs::read_to_string(dir.join("id")) {
                    if idf.trim().parse::<i64>() != Ok(f.id) {
                        p.push(format!(
                            "id file says {:?}, the ID: line {}",
                            idf.trim(),
                            f.id
                        ));
                    }
                }
                if f.name != event {
                    p.push(format!(
                        "name: line says {:?}, the directory is {event:?}",
                        f.name
                    ));
                }
                compare_fields(&mut p, "common", &ev.fields(true), &f.common);
                compare_fields(&mut p, "declared", &ev.fields(false), &f.fields);
                if f.common.len() != COMMON.len() {
                    p.push(format!(
                        "{} common fields, eventfs has {}",
                        f.common.len(),
                        COMMON.len()
                    ));
                }
                for (l, want) in f.common.iter().zip(COMMON) {
                    expect_line(&mut p, "common field", l, want);
                }
                match BUILTIN.iter().find(|b| (b.0, b.1) == (group, event)) {
                    Some(b) if b.2 != f.id => {
                        p.push(format!("ID {}, tracefs' {group}/{event} has {}", f.id, b.2))
                    }
                    Some(_) if !ev.failed() => check_print(&mut p, &tep, &f.fields),
                    None if !ev.failed() => check_render(&mut p, &tep, &ev, &f.fields),
                    _ => {}
                }
            }
        }
    }
    let builtin = BUILTIN.iter().any(|b| (b.0, b.1) == (group, event));
    if let (Some(f), false) = (&file, builtin) {
        for (source, defs) in expects {
            match defs.iter().find(|d| d.group == group && d.event == event) {
                Some(def) => compare_def(&mut p, source, def, &f.fields),
                None => p.push(format!("{source} does not define this event")),
            }
        }
    }
    report.item(&what, &summary, &p);
}

/// Checks the tracing directory at `root` (which holds `events/`) against the expected
/// definitions, each list named by where it came from.
pub fn check(root: &Path, expects: &[(String, Vec<Def>)]) -> Report {
    let mut report = Report::default();
    let events = root.join("events");
    check_header_page(&mut report, &events.join("header_page"));
    check_header_event(&mut report, &events.join("header_event"));
    let mut found: Vec<(String, String)> = Vec::new();
    let dirs = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let mut ids = BTreeMap::new();
    for group in dirs(&events) {
        for event in dirs(&events.join(&group)) {
            let dir = events.join(&group).join(&event);
            if dir.join("format").exists() {
                check_event(&mut report, &group, &event, &dir, expects, &mut ids);
                found.push((group.clone(), event.clone()));
            }
        }
    }
    for (source, defs) in expects {
        for d in defs {
            if !found.iter().any(|(g, e)| *g == d.group && *e == d.event) {
                let what = format!("{}/{}", d.group, d.event);
                report.item(
                    &what,
                    "",
                    &[format!("defined in {source}, but has no format file")],
                );
            }
        }
    }
    report
}

#[cfg(test)]
mod tests;
