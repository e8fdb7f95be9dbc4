// SPDX-License-Identifier: GPL-2.0

//! Compiles the C shim that reads libtraceevent's structures (against the installed
//! header, so their layout is the library's own) and links libtraceevent.

fn main() {
    println!("cargo:rerun-if-changed=shim.c");
    cc::Build::new()
        .file("shim.c")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("tepshim");
    println!("cargo:rustc-link-lib=traceevent");
}
