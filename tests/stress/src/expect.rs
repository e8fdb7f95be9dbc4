//! The errno tables: which outcomes of each operation are acceptable.
//!
//! An operation's acceptable outcomes depend on what it targets ([`Scope`]): an entry
//! that cannot disappear while the check runs, one that other threads create and remove
//! at will, or a name that never exists. Operations on a thread's own events and on its
//! own instance have one exact expected outcome, computed from the thread's model; it
//! must be a subset of the [`Scope::Shared`] column (checked by the tests below).
//!
//! The table at the top of `main.rs` is this table; a unit test checks they agree.

use libc::{EAGAIN, EBUSY, EEXIST, EINVAL, ENAMETOOLONG, ENODEV, ENOENT, ENOTDIR, EPERM};

use crate::sys::{Errno, SysResult};

/// A set of outcomes of a system call: bit 0 is success, bit `e` is failure with errno
/// `e` (the errno values involved are all below 64).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcomes(u64);

impl Outcomes {
    /// No outcome is acceptable (a combination the tool never uses).
    pub const NONE: Outcomes = Outcomes(0);
    /// Only success.
    pub const OK: Outcomes = Outcomes(1);

    /// Failure with one of `errnos` (not success).
    pub const fn errors(errnos: &[i32]) -> Outcomes {
        let mut bits = 0u64;
        let mut i = 0;
        while i < errnos.len() {
            let e = errnos[i];
            assert!(e > 0 && e < 64, "errno out of range");
            bits |= 1 << e;
            i += 1;
        }
        Outcomes(bits)
    }

    /// Success, or failure with one of `errnos`.
    pub const fn ok_or(errnos: &[i32]) -> Outcomes {
        Outcomes(Outcomes::errors(errnos).0 | 1)
    }

    /// Either set.
    pub const fn or(self, other: Outcomes) -> Outcomes {
        Outcomes(self.0 | other.0)
    }

    /// Whether success is in the set.
    pub fn allows_ok(self) -> bool {
        self.0 & 1 != 0
    }

    /// Whether failure with `e` is in the set.
    pub fn allows_errno(self, e: Errno) -> bool {
        (1..64).contains(&e.0) && self.0 & (1 << e.0) != 0
    }

    /// Whether `result` is in the set.
    pub fn allows<T>(self, result: &SysResult<T>) -> bool {
        match result {
            Ok(_) => self.allows_ok(),
            Err(e) => self.allows_errno(*e),
        }
    }

    /// Whether every outcome of `self` is in `other`.
    #[cfg(test)]
    pub fn is_subset_of(self, other: Outcomes) -> bool {
        self.0 & !other.0 == 0
    }

    /// The set as text: `ok, ENOENT` (`—` when empty).
    pub fn describe(self) -> String {
        let mut parts = Vec::new();
        if self.allows_ok() {
            parts.push("ok".to_string());
        }
        for e in 1..64 {
            if self.0 & (1 << e) != 0 {
                parts.push(Errno(e).to_string());
            }
        }
        if parts.is_empty() {
            "—".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// What an operation targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// An entry that exists throughout the check: the root, its files, `events/` and
    /// `events/enable`, `instances/`, and the pinned
    /// events while the checking thread holds the gate (O_TRUNC, which also removes
    /// them, takes the gate exclusively).
    Fixed,
    /// An entry of the shared name space (`g0..g3/e0..e31`), or a file kept open, which
    /// other threads may create or remove at any moment; also the column the exact
    /// outcomes on a thread's own events and own instance fall in.
    Shared,
    /// A name that never exists.
    Missing,
}

/// Every scope, in table column order.
#[cfg(test)]
pub const SCOPES: [Scope; 3] = [Scope::Fixed, Scope::Shared, Scope::Missing];

/// One system call as the tool counts and checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// `write(dynamic_events, "s:G/E fields\n")`.
    Create,
    /// `write(dynamic_events, "-:G/E\n")`.
    Remove,
    /// `write(dynamic_events, "s:G/E ...\n-:G/E\n")`: two commands applied whole.
    Batch,
    /// `open(dynamic_events, O_WRONLY|O_TRUNC)`: remove every event.
    Truncate,
    /// `stat(path)`.
    Stat,
    /// `stat(path)` whose last component is 300 bytes long.
    StatLong,
    /// `stat(path)` through a regular file (`.../enable/x`).
    StatNotDir,
    /// `open(file)`.
    Open,
    /// `read(fd)` of a file just opened.
    Read,
    /// `pread(fd, 0)` of a file kept open for a while.
    ReadStale,
    /// `read(trace_pipe)` opened with `O_NONBLOCK`: EAGAIN when it holds no record.
    ReadPipe,
    /// `write(enable, "0"|"1")`.
    Write,
    /// `write(enable, "2")`, `write(id, ...)`, `write(current_tracer, "function")`:
    /// refused input.
    WriteBad,
    /// `write(set_event, TOKEN)` (of the top level or an instance): EINVAL when the
    /// token selects nothing.
    SetEvent,
    /// `write(inject, "f0=...")` of a shared event: EINVAL when `f0` is of the other
    /// kind (a string for a number or a number for a string).
    Inject,
    /// `write(filter, EXPR)` of a shared event or group: EINVAL when the expression does
    /// not compile for the event's fields (or for none of the group's).
    Filter,
    /// `write(kprobe_events or dynamic_events, "p:G/E FUNC ARGS\n")` (or `r`): define a
    /// kprobe event.
    KprobeCreate,
    /// The same with a definition the kernel refuses (a symbol that does not exist, a
    /// bad fetch argument, `$retval` in an entry probe, an offset in a return probe).
    KprobeBad,
    /// `write(kprobe_events or dynamic_events, "-:[G/]E\n")` of a kprobe event.
    KprobeRemove,
    /// `open(kprobe_events, O_WRONLY|O_TRUNC)`: remove every kprobe event.
    KprobeTruncate,
    /// `open(dir, O_DIRECTORY)`.
    OpenDir,
    /// `getdents64(dirfd)`.
    Getdents,
    /// `lseek(dirfd, 0, SEEK_SET)`.
    Seek,
    /// `close(fd)`.
    Close,
    /// `chmod(path)`.
    Chmod,
    /// `chown(path)`.
    Chown,
    /// `chdir(path)`.
    Chdir,
    /// `open(".", O_DIRECTORY)`, or `open(NAME)` relative to a working directory that
    /// may have been removed (an event directory, or inside an instance).
    OpenCwd,
    /// `mkdir(path)`: an instance in `instances/`, or refused elsewhere.
    Mkdir,
    /// `rmdir(path)`: an instance, or refused for anything else.
    Rmdir,
    /// `mount(MS_REMOUNT, "uid=N,gid=M")`.
    Remount,
    /// `write(/proc/sys/vm/drop_caches, "2")`.
    DropCaches,
}

impl Op {
    /// Every operation, in report order.
    pub const ALL: [Op; 32] = [
        Op::Create,
        Op::Remove,
        Op::Batch,
        Op::Truncate,
        Op::Stat,
        Op::StatLong,
        Op::StatNotDir,
        Op::Open,
        Op::Read,
        Op::ReadStale,
        Op::ReadPipe,
        Op::Write,
        Op::WriteBad,
        Op::SetEvent,
        Op::Inject,
        Op::Filter,
        Op::KprobeCreate,
        Op::KprobeBad,
        Op::KprobeRemove,
        Op::KprobeTruncate,
        Op::OpenDir,
        Op::Getdents,
        Op::Seek,
        Op::Close,
        Op::Chmod,
        Op::Chown,
        Op::Chdir,
        Op::OpenCwd,
        Op::Mkdir,
        Op::Rmdir,
        Op::Remount,
        Op::DropCaches,
    ];

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Remove => "remove",
            Op::Batch => "batch",
            Op::Truncate => "truncate",
            Op::Stat => "stat",
            Op::StatLong => "stat_long",
            Op::StatNotDir => "stat_notdir",
            Op::Open => "open",
            Op::Read => "read",
            Op::ReadStale => "read_stale",
            Op::ReadPipe => "read_pipe",
            Op::Write => "write",
            Op::WriteBad => "write_bad",
            Op::SetEvent => "set_event",
            Op::Inject => "inject",
            Op::Filter => "filter",
            Op::KprobeCreate => "kprobe_create",
            Op::KprobeBad => "kprobe_bad",
            Op::KprobeRemove => "kprobe_remove",
            Op::KprobeTruncate => "kprobe_truncate",
            Op::OpenDir => "opendir",
            Op::Getdents => "getdents",
            Op::Seek => "seek",
            Op::Close => "close",
            Op::Chmod => "chmod",
            Op::Chown => "chown",
            Op::Chdir => "chdir",
            Op::OpenCwd => "open_cwd",
            Op::Mkdir => "mkdir",
            Op::Rmdir => "rmdir",
            Op::Remount => "remount",
            Op::DropCaches => "drop_caches",
        }
    }

    /// The position of the operation in [`Op::ALL`].
    pub fn index(self) -> usize {
        Op::ALL.iter().position(|&o| o == self).unwrap_or(0)
    }
}

/// The acceptable outcomes of `op` on a target of `scope` ([`Outcomes::NONE`] for
/// combinations the tool never makes, so that making one is reported).
pub const fn expected(op: Op, scope: Scope) -> Outcomes {
    use Scope::{Fixed, Missing, Shared};
    match (op, scope) {
        // The pinned events, created by the main thread or right after an O_TRUNC.
        (Op::Create, Fixed) => Outcomes::OK,
        // Generated lines are valid, so EINVAL is a violation.
        (Op::Create, Shared) | (Op::Batch, Shared) => Outcomes::ok_or(&[EEXIST]),
        (Op::Remove, Fixed) => Outcomes::OK,
        (Op::Remove, Shared) => Outcomes::ok_or(&[ENOENT, EBUSY]),
        (Op::Remove, Missing) => Outcomes::errors(&[ENOENT]),
        (Op::Truncate, Shared) => Outcomes::ok_or(&[EBUSY]),
        (Op::Stat, Fixed)
        | (Op::Open, Fixed)
        | (Op::Read, Fixed)
        | (Op::ReadStale, Fixed)
        | (Op::Write, Fixed)
        | (Op::OpenDir, Fixed)
        | (Op::Getdents, Fixed)
        | (Op::Seek, Fixed)
        | (Op::Seek, Shared)
        | (Op::Close, Fixed)
        | (Op::Close, Shared)
        | (Op::Chmod, Fixed)
        | (Op::Chown, Fixed)
        | (Op::Chdir, Fixed)
        | (Op::OpenCwd, Fixed)
        | (Op::Remount, Fixed)
        | (Op::DropCaches, Fixed) => Outcomes::OK,
        (Op::Stat, Shared)
        | (Op::Open, Shared)
        | (Op::OpenDir, Shared)
        | (Op::Chmod, Shared)
        | (Op::Chown, Shared)
        | (Op::Chdir, Shared) => Outcomes::ok_or(&[ENOENT]),
        (Op::Stat, Missing)
        | (Op::Open, Missing)
        | (Op::OpenDir, Missing)
        | (Op::Chmod, Missing)
        | (Op::Chown, Missing)
        | (Op::Chdir, Missing) => Outcomes::errors(&[ENOENT]),
        (Op::StatLong, Fixed) => Outcomes::errors(&[ENAMETOOLONG]),
        (Op::StatNotDir, Fixed) => Outcomes::errors(&[ENOTDIR]),
        // An event removed while its file is open: reads and writes fail with ENODEV.
        (Op::Read, Shared) | (Op::ReadStale, Shared) | (Op::Write, Shared) => {
            Outcomes::ok_or(&[ENODEV])
        }
        (Op::WriteBad, Fixed) => Outcomes::errors(&[EINVAL]),
        (Op::WriteBad, Shared) => Outcomes::errors(&[EINVAL, ENODEV]),
        // A directory removed during (or before) the pass: it may end early or fail.
        (Op::Getdents, Shared) | (Op::OpenCwd, Shared) => Outcomes::ok_or(&[ENOENT, ENODEV]),
        // A token for events that exist throughout (an own instance's enabled ones, or
        // `!*:*` while the pinned events exist), one for shared events, one for a name
        // that never exists.
        (Op::SetEvent, Fixed) => Outcomes::OK,
        (Op::SetEvent, Shared) => Outcomes::ok_or(&[EINVAL]),
        (Op::SetEvent, Missing) => Outcomes::errors(&[EINVAL]),
        // Through an fd of an event (or group) that may have been removed, and whose
        // first field may be a number or a string.
        (Op::Inject, Shared) | (Op::Filter, Shared) => Outcomes::ok_or(&[EINVAL, ENODEV]),
        // A thread's own kprobe events (exact: EEXIST iff it exists; ENOENT iff it does
        // not, EBUSY iff it is enabled in some tracing directory), or a name that never
        // exists; O_TRUNC is EBUSY while any kprobe event is enabled anywhere.
        (Op::KprobeCreate, Shared) => Outcomes::ok_or(&[EEXIST]),
        (Op::KprobeBad, Shared) => Outcomes::errors(&[EINVAL]),
        (Op::KprobeRemove, Shared) => Outcomes::ok_or(&[ENOENT, EBUSY]),
        (Op::KprobeRemove, Missing) => Outcomes::errors(&[ENOENT]),
        (Op::KprobeTruncate, Shared) => Outcomes::ok_or(&[EBUSY]),
        // trace_pipe of the top level or of a thread's own instance, which exist.
        (Op::ReadPipe, Fixed) => Outcomes::ok_or(&[EAGAIN]),
        // mkdir of an existing fixed name (EEXIST), anywhere but in `instances/` (EPERM),
        // of a name with a blank or a byte that is not printable ASCII (EINVAL); of a
        // thread's own instance (EEXIST iff it exists).
        (Op::Mkdir, Fixed) => Outcomes::errors(&[EEXIST, EPERM, EINVAL]),
        (Op::Mkdir, Shared) => Outcomes::ok_or(&[EEXIST]),
        // rmdir of anything but an instance (EPERM); of an own instance (ENOENT iff gone,
        // EBUSY iff one of its files that work on its state is open); of a name that
        // never exists.
        (Op::Rmdir, Fixed) => Outcomes::errors(&[EPERM]),
        (Op::Rmdir, Shared) => Outcomes::ok_or(&[ENOENT, EBUSY]),
        (Op::Rmdir, Missing) => Outcomes::errors(&[ENOENT]),
        _ => Outcomes::NONE,
    }
}

/// Extra outcome accepted from `getdents64` with the 40-byte buffer: `EINVAL` ("result
/// buffer is too small"), but only when a retry with a 32 KiB buffer shows that the next
/// entry is longer than 40 bytes.
pub const GETDENTS_TINY_EXTRA: Outcomes = Outcomes::errors(&[EINVAL]);

/// The table as Markdown rows (`| op | fixed | shared | missing |`), for the docs.
#[cfg(test)]
pub fn table_rows() -> Vec<String> {
    Op::ALL
        .iter()
        .map(|&op| {
            let cols: Vec<String> = SCOPES.iter().map(|&s| expected(op, s).describe()).collect();
            format!("| {} | {} |", op.name(), cols.join(" | "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_sets() {
        let s = Outcomes::ok_or(&[ENOENT, EBUSY]);
        assert!(s.allows::<()>(&Ok(())));
        assert!(s.allows::<()>(&Err(Errno(ENOENT))));
        assert!(s.allows::<()>(&Err(Errno(EBUSY))));
        assert!(!s.allows::<()>(&Err(Errno(EINVAL))));
        assert!(!s.allows::<()>(&Err(Errno(4000))));
        assert!(!s.allows::<()>(&Err(Errno(-1))));
        let e = Outcomes::errors(&[ENOENT]);
        assert!(!e.allows::<()>(&Ok(())));
        assert!(e.is_subset_of(s));
        assert!(!s.is_subset_of(e));
        assert!(Outcomes::NONE.is_subset_of(e));
        assert_eq!(s.describe(), "ok, ENOENT, EBUSY");
        assert_eq!(Outcomes::NONE.describe(), "—");
        assert_eq!(Outcomes::OK.or(e), Outcomes::ok_or(&[ENOENT]));
    }

    #[test]
    fn documented_sets() {
        use Scope::*;
        // stat: ENOENT and ENAMETOOLONG, each only where it can happen.
        assert_eq!(expected(Op::Stat, Fixed), Outcomes::OK);
        assert_eq!(expected(Op::Stat, Shared), Outcomes::ok_or(&[ENOENT]));
        assert_eq!(expected(Op::Stat, Missing), Outcomes::errors(&[ENOENT]));
        assert_eq!(
            expected(Op::StatLong, Fixed),
            Outcomes::errors(&[ENAMETOOLONG])
        );
        // create: EEXIST only; our lines are valid, so EINVAL is a violation.
        assert!(!expected(Op::Create, Shared).allows_errno(Errno(EINVAL)));
        assert!(!expected(Op::Create, Shared).allows_errno(Errno(ENOENT)));
        assert!(expected(Op::Create, Shared).allows_errno(Errno(EEXIST)));
        // remove: ENOENT, EBUSY.
        assert_eq!(
            expected(Op::Remove, Shared),
            Outcomes::ok_or(&[ENOENT, EBUSY])
        );
        // O_TRUNC: EBUSY.
        assert_eq!(expected(Op::Truncate, Shared), Outcomes::ok_or(&[EBUSY]));
        // Stale reads: ENODEV.
        assert_eq!(expected(Op::ReadStale, Shared), Outcomes::ok_or(&[ENODEV]));
        // Opening a path that disappeared: ENOENT.
        assert_eq!(expected(Op::Open, Shared), Outcomes::ok_or(&[ENOENT]));
        // getdents on a removed directory.
        assert_eq!(
            expected(Op::Getdents, Shared),
            Outcomes::ok_or(&[ENOENT, ENODEV])
        );
        // The unused combinations accept nothing.
        assert_eq!(expected(Op::Remount, Shared), Outcomes::NONE);
        assert_eq!(expected(Op::Create, Missing), Outcomes::NONE);
    }

    #[test]
    fn columns_are_consistent() {
        for op in Op::ALL {
            let fixed = expected(op, Scope::Fixed);
            let shared = expected(op, Scope::Shared);
            let missing = expected(op, Scope::Missing);
            assert_ne!(
                fixed.or(shared).or(missing),
                Outcomes::NONE,
                "{op:?} is never expected anywhere"
            );
            // A name that never exists can never be operated on successfully.
            assert!(!missing.allows_ok(), "{op:?}");
            // What a missing name may answer, a shared one may answer too.
            if shared != Outcomes::NONE {
                assert!(missing.is_subset_of(shared), "{op:?}");
            }
            // Success on a fixed entry is also fine on a shared one, where both exist.
            if shared != Outcomes::NONE && fixed.allows_ok() {
                assert!(shared.allows_ok(), "{op:?}");
            }
        }
    }

    #[test]
    fn own_expectations_are_in_the_shared_column() {
        // The exact outcomes the own-event model predicts (see stress.rs).
        let own = [
            (Op::Create, Outcomes::OK),
            (Op::Create, Outcomes::errors(&[EEXIST])),
            (Op::Remove, Outcomes::OK),
            (Op::Remove, Outcomes::errors(&[ENOENT])),
            (Op::Remove, Outcomes::errors(&[EBUSY])),
            (Op::Stat, Outcomes::OK),
            (Op::Stat, Outcomes::errors(&[ENOENT])),
            (Op::Open, Outcomes::OK),
            (Op::Open, Outcomes::errors(&[ENOENT])),
            (Op::OpenDir, Outcomes::errors(&[ENOENT])),
            (Op::ReadStale, Outcomes::OK),
            (Op::ReadStale, Outcomes::errors(&[ENODEV])),
            (Op::Write, Outcomes::OK),
            (Op::Write, Outcomes::errors(&[ENODEV])),
            (Op::WriteBad, Outcomes::errors(&[EINVAL])),
            (Op::SetEvent, Outcomes::OK),
            (Op::SetEvent, Outcomes::errors(&[EINVAL])),
            (Op::Chmod, Outcomes::errors(&[ENOENT])),
            (Op::Chown, Outcomes::OK),
        ];
        for (op, set) in own {
            assert!(
                set.is_subset_of(expected(op, Scope::Shared)),
                "{op:?} {set:?}"
            );
        }
    }

    #[test]
    fn instance_expectations_are_in_the_shared_column() {
        // The exact outcomes the own-instance model predicts (see stress/instance.rs).
        let own = [
            (Op::Mkdir, Outcomes::OK),
            (Op::Mkdir, Outcomes::errors(&[EEXIST])),
            (Op::Rmdir, Outcomes::OK),
            (Op::Rmdir, Outcomes::errors(&[ENOENT])),
            (Op::Rmdir, Outcomes::errors(&[EBUSY])),
            (Op::Open, Outcomes::OK),
            (Op::Open, Outcomes::errors(&[ENOENT])),
            (Op::Write, Outcomes::OK),
            (Op::Read, Outcomes::OK),
            (Op::SetEvent, Outcomes::OK),
            (Op::OpenCwd, Outcomes::OK),
        ];
        for (op, set) in own {
            assert!(
                set.is_subset_of(expected(op, Scope::Shared)),
                "{op:?} {set:?}"
            );
        }
        // Opening a file of a removed instance from a working directory inside it:
        // ENODEV below its `events/`, ENOENT in the instance itself.
        for e in [ENODEV, ENOENT] {
            assert!(expected(Op::OpenCwd, Scope::Shared).allows_errno(Errno(e)));
        }
        // The refusals are exact errnos of the fixed column.
        for e in [EEXIST, EPERM, EINVAL] {
            assert!(expected(Op::Mkdir, Scope::Fixed).allows_errno(Errno(e)));
        }
        assert!(!expected(Op::Mkdir, Scope::Fixed).allows_ok());
        assert_eq!(
            expected(Op::Rmdir, Scope::Fixed),
            Outcomes::errors(&[EPERM])
        );
        assert_eq!(
            expected(Op::SetEvent, Scope::Missing),
            Outcomes::errors(&[EINVAL])
        );
    }

    #[test]
    fn kprobe_expectations_are_in_the_shared_column() {
        // The exact outcomes the model of a thread's kprobe events predicts (see
        // stress/kprobe.rs).
        let own = [
            (Op::KprobeCreate, Outcomes::OK),
            (Op::KprobeCreate, Outcomes::errors(&[EEXIST])),
            (Op::KprobeBad, Outcomes::errors(&[EINVAL])),
            (Op::KprobeRemove, Outcomes::OK),
            (Op::KprobeRemove, Outcomes::errors(&[ENOENT])),
            (Op::KprobeRemove, Outcomes::errors(&[EBUSY])),
            (Op::KprobeTruncate, Outcomes::errors(&[EBUSY])),
            (Op::Write, Outcomes::OK),
            (Op::SetEvent, Outcomes::OK),
        ];
        for (op, set) in own {
            assert!(
                set.is_subset_of(expected(op, Scope::Shared)),
                "{op:?} {set:?}"
            );
        }
        // A definition the tool writes is valid: EINVAL only for the bad ones.
        assert!(!expected(Op::KprobeCreate, Scope::Shared).allows_errno(Errno(EINVAL)));
        assert!(!expected(Op::KprobeBad, Scope::Shared).allows_ok());
        assert_eq!(
            expected(Op::ReadPipe, Scope::Fixed),
            Outcomes::ok_or(&[EAGAIN])
        );
    }

    #[test]
    fn names_and_indexes() {
        for (i, op) in Op::ALL.iter().enumerate() {
            assert_eq!(op.index(), i);
            assert!(Op::ALL[i + 1..].iter().all(|o| o.name() != op.name()));
        }
    }

    #[test]
    fn main_rs_documents_this_table() {
        let doc = include_str!("main.rs");
        for row in table_rows() {
            let row = format!("//! {row}");
            assert!(doc.contains(&row), "main.rs lacks the row:\n{row}");
        }
    }
}
