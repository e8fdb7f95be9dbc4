// SPDX-License-Identifier: GPL-2.0

//! The thin `unsafe` layer of eventfs.
//!
//! Every type here mirrors one C VFS object (`file_system_type`, `fs_context`,
//! `super_block`, `inode`) one to one, as Al Viro asked of Rust VFS code: the objects and
//! their operations are "externally given", and each type says who owns which reference.
//! The filesystem itself (`crate::fs`) is safe Rust on top of these types; nothing below
//! this module calls back up except through the [`FileSystem`] trait.

pub(crate) mod fs_type;
pub(crate) mod ida;
pub(crate) mod inode;
pub(crate) mod kprobe;
pub(crate) mod node;
pub(crate) mod rcu;
pub(crate) mod rhashtable;
pub(crate) mod ring_buffer;
pub(crate) mod super_block;
pub(crate) mod wait;
pub(crate) mod xarray;

pub(crate) use fs_type::{
    FileSystem, FsContext, ParamKind, ParamSpec, ParamTable, ParamValue, Registration, RootSpec,
};
pub(crate) use ida::Ida;
pub(crate) use inode::Inode;
pub(crate) use kprobe::{Kprobe, ProbeSpec, ProbeTarget, Regs};
pub(crate) use node::{
    AttrChange, Attrs, DirEntry, Found, PollRegistrar, ReadSink, SeqOut, Tree, WriteSource,
};
pub(crate) use rcu::{NofsScope, Prepared, RcuArc, SrcuGuard, RCU_ARC_ALIGN};
pub(crate) use rhashtable::{HashLink, HashNode, RcuHashTable};
pub(crate) use ring_buffer::{Buffer, BufferReader, BufferSlot, Record, RingBuffer};
pub(crate) use super_block::{NewSuperBlock, SuperBlock};
pub(crate) use wait::Waiters;
pub(crate) use xarray::{RcuXArray, XSet};

/// Bindings generated at build time by the module's own bindgen step (see `Kbuild`) for
/// the headers the kernel crate does not bind: `linux/fs_context.h`, `linux/fs_parser.h`,
/// `linux/ring_buffer.h` and our C helpers (`src/helpers.h`).
#[allow(
    dead_code,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    improper_ctypes,
    clippy::all,
    clippy::pedantic,
    clippy::restriction,
    clippy::nursery,
    clippy::undocumented_unsafe_blocks,
    missing_docs
)]
pub(crate) mod local_bindings {
    include!("../fs_bindings_generated.rs");
}

use kernel::bindings;

/// A user id as the kernel keeps it (`kuid_t`), already mapped from the mounter's
/// namespace.
#[derive(Clone, Copy)]
pub(crate) struct Kuid(pub(crate) bindings::kuid_t);

/// A group id as the kernel keeps it (`kgid_t`).
#[derive(Clone, Copy)]
pub(crate) struct Kgid(pub(crate) bindings::kgid_t);

impl Kuid {
    /// `GLOBAL_ROOT_UID`.
    pub(crate) const ROOT: Kuid = Kuid(bindings::kuid_t { val: 0 });

    /// The id as seen from the current task's user namespace (`from_kuid_munged`).
    pub(crate) fn in_current_ns(self) -> u32 {
        // SAFETY: The helper only reads its by-value argument and the current task's
        // credentials, which are valid in process context.
        unsafe { local_bindings::eventfs_helper_from_kuid_munged(self.0) }
    }
}

impl Kgid {
    /// `GLOBAL_ROOT_GID`.
    pub(crate) const ROOT: Kgid = Kgid(bindings::kgid_t { val: 0 });

    /// The id as seen from the current task's user namespace (`from_kgid_munged`).
    pub(crate) fn in_current_ns(self) -> u32 {
        // SAFETY: As for `Kuid::in_current_ns`.
        unsafe { local_bindings::eventfs_helper_from_kgid_munged(self.0) }
    }
}

impl PartialEq for Kuid {
    fn eq(&self, other: &Self) -> bool {
        self.0.val == other.0.val
    }
}

impl PartialEq for Kgid {
    fn eq(&self, other: &Self) -> bool {
        self.0.val == other.0.val
    }
}

/// Whether a message that users can trigger at will may be logged now (`__ratelimit()`
/// on one rate limit for the whole module).
pub(crate) fn ratelimit() -> bool {
    // SAFETY: No precondition; the helper only updates its own static rate-limit state.
    unsafe { local_bindings::eventfs_helper_ratelimit() }
}

/// What a record's header and `trace` need to know of the current task.
pub(crate) struct TaskState {
    /// Its pid.
    pub(crate) pid: i32,
    /// Its name (`comm`), NUL-padded.
    pub(crate) comm: [u8; 16],
    /// Whether interrupts are disabled here.
    pub(crate) irqs_off: bool,
    /// `preempt_count()`.
    pub(crate) preempt_count: u32,
    /// Whether the task should reschedule (`tif_need_resched()`).
    pub(crate) need_resched: bool,
    /// Its migrate-disable depth.
    pub(crate) migrate_disabled: u32,
}

/// The state of the current task. Callable from any context.
pub(crate) fn current_task() -> TaskState {
    // SAFETY: No preconditions: each helper reads a field of `current`, valid for the
    // call (a racing rename gives a mix of two names, as tracefs' own copy may).
    let (pid, comm, migrate) = unsafe {
        (
            local_bindings::eventfs_helper_current_pid(),
            local_bindings::eventfs_helper_current_comm().name,
            local_bindings::eventfs_helper_current_migration_disabled(),
        )
    };
    // SAFETY: No preconditions: each helper reads the current CPU's or task's state.
    let (irqs_off, preempt_count, need_resched) = unsafe {
        (
            local_bindings::eventfs_helper_irqs_disabled(),
            local_bindings::eventfs_helper_preempt_count(),
            local_bindings::eventfs_helper_need_resched(),
        )
    };
    TaskState {
        pid,
        comm,
        irqs_off,
        preempt_count,
        need_resched,
        migrate_disabled: migrate,
    }
}

/// The current task's name (only that of [`current_task`]).
pub(crate) fn current_comm() -> [u8; 16] {
    // SAFETY: No precondition: copies the name of `current`.
    unsafe { local_bindings::eventfs_helper_current_comm() }.name
}

/// `num_online_cpus()`.
pub(crate) fn online_cpus() -> u32 {
    // SAFETY: No precondition: reads the online CPU count.
    unsafe { local_bindings::eventfs_helper_num_online_cpus() }
}
