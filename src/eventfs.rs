// SPDX-License-Identifier: GPL-2.0

//! eventfs: a tree of trace-event control directories and files whose dentries and
//! inodes exist only while they are used.
//!
//! Layout: `vfs` is the thin `unsafe` layer mirroring the C VFS objects; `fs` is the
//! filesystem in safe Rust on top of it; `opts` is plain Rust shared with the host
//! tests (`tests/host`).

mod fs;
mod opts;
mod vfs;

use kernel::{prelude::*, InPlaceModule};

module! {
    type: EventfsModule,
    name: "eventfs",
    authors: ["eventfs-rs developers"],
    description: "Lazily materialized trace-event control filesystem",
    license: "GPL",
}

/// The module: while it is loaded, the filesystem type `eventfs` is registered.
#[pin_data]
struct EventfsModule {
    #[pin]
    fs: vfs::Registration<fs::Eventfs>,
}

impl InPlaceModule for EventfsModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            fs <- vfs::Registration::new(module),
        })
    }
}
