// SPDX-License-Identifier: GPL-2.0

//! `tep-check [--expect FILE]... DIR`: checks `DIR/events/` (a tracing directory's
//! events, or an export of one) with libtraceevent; see the library's documentation.
//! Prints one line per file or event and `tep: N formats parsed, M failed`; exits 1 if
//! anything failed, 2 on bad usage.

use std::path::PathBuf;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: tep-check [--expect FILE]... DIR   (DIR holds events/)");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut expects = Vec::new();
    let mut dir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--expect" {
            let Some(f) = args.next() else {
                return usage();
            };
            let defs = std::fs::read_to_string(&f)
                .map_err(|e| e.to_string())
                .and_then(|t| eventfs_tep_check::text::parse_defs(&t));
            match defs {
                Ok(d) => expects.push((f, d)),
                Err(e) => {
                    eprintln!("tep-check: {f}: {e}");
                    return ExitCode::from(2);
                }
            }
        } else if dir.is_none() && !a.starts_with('-') {
            dir = Some(PathBuf::from(a));
        } else {
            return usage();
        }
    }
    let Some(dir) = dir else {
        return usage();
    };
    if !dir.join("events").is_dir() {
        eprintln!("tep-check: no {}/events", dir.display());
        println!("tep: 0 formats parsed, 1 failed");
        return ExitCode::from(1);
    }
    let report = eventfs_tep_check::check(&dir, &expects);
    for l in &report.lines {
        println!("{l}");
    }
    println!("{}", report.summary());
    if report.failed == 0 && report.checked > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
