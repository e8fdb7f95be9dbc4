// SPDX-License-Identifier: GPL-2.0

//! eventfs: a tree of trace-event control directories and files whose dentries and
//! inodes exist only while they are used.
//!
//! Layout: `vfs` is the thin `unsafe` layer mirroring the C VFS objects; `fs` is the
//! filesystem in safe Rust on top of it; `opts` is plain Rust shared with the host
//! tests (`tests/host`).
//!
//! "Rule N" in this crate's comments is rule N of `docs/RULES.md`, the contract every
//! change keeps; "docs/BUGS.md N" is a mainline eventfs bug and its regression test.

mod ctype;
mod events;
mod filter;
mod fs;
mod inject;
mod opts;
mod probe;
mod probe_events;
mod probe_fetch;
mod record;
mod tracing;
mod tree;
mod vfs;

use kernel::{prelude::*, InPlaceModule};

module! {
    type: EventfsModule,
    name: "eventfs",
    authors: ["eventfs-rs developers"],
    description: "Lazily materialized trace-event control filesystem",
    license: "GPL",
}

/// The module: while it is loaded, the registry exists and the filesystem type
/// `eventfs` is registered. Fields drop in order: the type is unregistered (nothing can
/// be mounted then) before the registry goes.
#[pin_data]
struct EventfsModule {
    #[pin]
    fs: vfs::Registration<fs::Eventfs>,
    registry: Registry,
}

/// Owns the registry of events from module init to module exit.
struct Registry;

impl Registry {
    fn new() -> Result<Registry> {
        record::init();
        tree::init()?;
        Ok(Registry)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        tree::exit();
        // Every SRCU and RCU callback of ours must have run before our text goes.
        vfs::rcu::barrier();
    }
}

impl InPlaceModule for EventfsModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            registry: Registry::new()?,
            fs <- vfs::Registration::new(module),
        })
    }
}
