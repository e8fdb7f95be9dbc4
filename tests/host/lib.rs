// SPDX-License-Identifier: GPL-2.0

//! Host build of the kernel-independent parts of eventfs (`src/`), so that `cargo test`
//! runs their unit tests. The module files are shared verbatim with the kernel build.

#![allow(dead_code)]

#[path = "../../src/ctype.rs"]
pub mod ctype;
#[path = "../../src/events.rs"]
pub mod events;
#[path = "../../src/filter.rs"]
pub mod filter;
#[path = "../../src/inject.rs"]
pub mod inject;
#[path = "../../src/opts.rs"]
pub mod opts;
#[path = "../../src/probe.rs"]
pub mod probe;
#[path = "../../src/probe_fetch.rs"]
pub mod probe_fetch;
#[path = "../../src/tracing.rs"]
pub mod tracing;

#[cfg(test)]
mod fuzz;
