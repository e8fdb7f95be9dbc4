# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of eventfs.ko.
#
#   make                      build against the cached test kernel (scripts/setup.sh)
#   make KDIR=/path/to/build  build against any Rust-enabled kernel build tree
#   make CLIPPY=1             the same, linted with clippy
#   make rust-analyzer        write rust-project.json for editors
#   make fmt / fmtcheck       rustfmt the crate (.rustfmt.toml: the kernel's settings)
#   make clean

EVENTFS_CACHE ?= /var/cache/eventfs-rs
KDIR ?= $(shell cat $(EVENTFS_CACHE)/current-kdir 2>/dev/null)
LLVM ?= /usr/lib/llvm-19/bin/
RUSTC ?= /usr/bin/rustc
CLIPPY_DRIVER ?= /usr/bin/clippy-driver
RUSTFMT ?= /usr/bin/rustfmt
BINDGEN ?= $(EVENTFS_CACHE)/cargo/bin/bindgen
export LIBCLANG_PATH ?= /usr/lib/llvm-19/lib

KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) RUSTC=$(RUSTC) \
	CLIPPY_DRIVER=$(CLIPPY_DRIVER) RUSTFMT=$(RUSTFMT) BINDGEN=$(BINDGEN)

RUST_SOURCES = $(shell find src -name '*.rs' ! -name '*_generated.rs')

all: modules

check-kdir:
	@test -n "$(KDIR)" -a -f "$(KDIR)/Module.symvers" || { \
		echo "KDIR '$(KDIR)' is not a built kernel tree: run scripts/setup.sh or pass KDIR=" >&2; \
		exit 1; }

modules clean rust-analyzer: check-kdir
	$(KMAKE) $@

fmt:
	$(RUSTFMT) --config-path .rustfmt.toml $(RUST_SOURCES)

fmtcheck:
	$(RUSTFMT) --check --config-path .rustfmt.toml $(RUST_SOURCES)

.PHONY: all check-kdir modules clean rust-analyzer fmt fmtcheck
