//! # eventfs-stress
//!
//! Userspace stress and fault-injection tool for a mounted eventfs (see
//! `docs/RULES.md`). Built as a static binary for the busybox test guest:
//!
//! ```text
//! cd tests/stress && RUSTFLAGS="-C target-feature=+crt-static" cargo build --release
//! eventfs-stress [--mount DIR] [--threads N] [--duration SECS] [--seed U64]
//!                [--no-remount] [--no-drop-caches] [--faults] [--scratch DIR] [--max-nth N]
//!                [--probe-funcs F,...]
//! eventfs-stress mountapi DIR
//! eventfs-stress pipe DIR
//! eventfs-stress inject MNT
//! eventfs-stress bench [--runs R] [--slow-runs R] [--budget SECS] eventfs|tracefs|pair|records N
//! eventfs-stress bench [--runs R] [--budget SECS] probes K
//! ```
//!
//! The first line printed is always `seed: N`; the same seed and thread count replay
//! every thread's sequence of choices (the interleaving of threads, and so the outcomes,
//! still vary). The exit code is 0 if every invariant held, 1 if one was violated (each
//! violation is printed as `VIOLATION [thread] op OP: details`), 2 on a usage error.
//! The tool assumes it owns the mount's registry while it runs: O_TRUNC (both modes)
//! removes every event.
//!
//! The layout it checks is tracefs': the root holds `README`, `available_events`,
//! `available_tracers`, `buffer_size_kb`, `current_tracer`, `dynamic_events`,
//! `error_log`, `kprobe_events`, `kprobe_profile`, `set_event`, `synthetic_events`,
//! `trace`, `trace_marker`, `trace_pipe`, `tracing_on` (in this readdir order, inode 2
//! like every file),
//! then `events/` (inode 16) and `instances/` (a number above 16); groups live in
//! `events/` after its `enable`: `events/GROUP/enable`,
//! `events/GROUP/EVENT/{enable,id,format}`. `mkdir instances/NAME` makes an instance:
//! `available_tracers`, `buffer_size_kb`, `current_tracer`, `error_log`, `set_event`,
//! `trace`, `trace_marker`, `trace_pipe`, `tracing_on`, then
//! `events/`, the top level's tree (same inode numbers) with the instance's own enable
//! states. Paths below are relative to the mount; `GROUP/...` is short for
//! `events/GROUP/...`.
//!
//! ## Stress mode
//!
//! N worker threads, each with its own PRNG (SplitMix64 seeded from the seed and the
//! thread index), pick weighted random actions until the deadline. Names:
//!
//! - shared: groups `g0..g3`, events `e0..e31`: every thread creates, removes, enables
//!   and chmods them at will, so most outcomes there are "either";
//! - pinned: `pinned/p0..p3` (in `events/pinned`), created by the main thread before
//!   the workers start, never removed or enabled by workers (O_TRUNC removes them; the
//!   thread that did it recreates them before anyone can look), removed at the end;
//! - own: `tN/e0..e7` belong to worker N alone, which models them and so knows the
//!   exact outcome of every operation on them;
//! - instances: `instances/sN` belongs to worker N alone, which models it (which
//!   shared events it enabled there: those cannot be removed by anyone while they are,
//!   so the model is exact) and removes it before it ends;
//! - kprobe events: `kprobes/tNp0..tNp3` belong to worker N alone, which models them
//!   (definition, enabled at the top level, enabled in `instances/sN`) and so knows the
//!   exact outcome of every operation on them. They probe functions the workload itself
//!   calls all the time: `vfs_read`, `vfs_write`, `kernel_clone` (the action spawns
//!   threads) and `do_sys_openat2`, those of them that `/proc/kallsyms` names once.
//!
//! A reader-writer lock, the *gate*, is held shared by the checks that rely on the
//! pinned or own events or on the threads' kprobe events, and exclusively by the actions
//! that change them behind their owners' backs: O_TRUNC (of `dynamic_events`, or of
//! `kprobe_events`), disabling every event (0 to `events/enable`, or O_TRUNC of
//! `set_event`), and remount.
//!
//! Actions (weight per 10,000):
//!
//! | action | weight | what it does |
//! |---|---|---|
//! | create | 1450 | `s:gX/eY` with 1–4 random fields, through a fresh or a kept fd |
//! | remove | 1200 | `-:gX/eY`; 5 % a never-existing name |
//! | batch | 200 | create and remove one event in a single write |
//! | truncate | 100 | `open(dynamic_events, O_WRONLY\|O_TRUNC)` (gate exclusive) |
//! | stat | 1080 | the root, its files, `events/`, pinned / shared / never-existing (incl. a 255-byte name, a group at the root) / 300-byte name / through a file |
//! | readdir | 1100 | one complete `getdents64` pass (40-byte or 32 KiB buffer, sometimes a second pass after `lseek(0)`) over the root, `events/`, a group or an event dir |
//! | read_file | 1000 | open, read in 1–4096-byte chunks to EOF, close: `enable`, `id`, `format`, a file of the root |
//! | write_enable | 700 | `0`/`1` to an event's or group's `enable`, mostly off |
//! | write_bad | 100 | `2` to `enable`, anything to `id`, `function` to `current_tracer` |
//! | keep_stale | 350 | open a file or directory and keep it (up to 8 per thread) |
//! | use_stale | 450 | `pread` a kept file (maybe write `0` to a kept `enable`), or rewind and read a kept directory |
//! | chattr | 350 | chmod/chown the root, a file of it, `events/`, `events/enable`, a pinned, shared or own entry |
//! | own | 900 | create/remove/enable (through `enable` or `set_event`)/read/readdir/attribute checks on the thread's own events |
//! | chdir | 300 | chdir into an event dir (own: maybe remove it while inside), getdents on `.`, stat `enable` relatively, chdir back to `/` (threads `unshare(CLONE_FS)`) |
//! | listing | 120 | read `dynamic_events`, `available_events` and `set_event`, each in one call, and check them |
//! | disable_all | 40 | write `0` to `events/enable`, or open `set_event` with O_TRUNC (gate exclusive) |
//! | remount | 30 | `mount(MS_REMOUNT, "uid=N,gid=M")`, N, M in 0..4 (gate exclusive; `--no-remount`) |
//! | drop_caches | 30 | write `2` to `/proc/sys/vm/drop_caches` (`--no-drop-caches`) |
//! | instance | 250 | the thread's instance `instances/sN`: its life (mkdir, enable a shared event through its `enable` or `set_event`, rmdir refused while one of its files is held, rmdir), enable/disable in it (`enable`, group `enable`, `set_event` tokens), state and isolation checks, its `tracing_on`, a pass over `instances/`, refused mkdir/rmdir, work in a working directory inside it while it is removed, an own event enabled in it; afterwards, now and then, O_TRUNC of its `set_event` or rmdir, so that it does not keep shared events enabled for long (see invariant 11) |
//! | inject_filter | 150 | a shared event: write `f0=N` or `f0="sN"` to its `inject`, or set (one of five expressions, for a numeric or a string `f0`) or clear (`0`) its `filter` or its group's, or read its `filter`: `none` or one of the five |
//! | kprobe | 100 | the thread's kprobe events `kprobes/tNpK`: define one (`p` or `r`, maybe `rN`, on one of the functions, 0–3 of `%di`, `$comm`, `$arg2`, `%dx:u32`, `$stack0` / `$retval`, `$retval:s32`, `$comm`, `$arg1`; through `kprobe_events` or `dynamic_events`, with or without the group), remove one (`-:kprobes/tNpK` or `-:tNpK`, either file; 5 % a never-existing name), enable it at the top level, in `instances/sN` (whose `buffer_size_kb` it sets to 64 first) or both (`enable`, or a `set_event` token `kprobes:tNpK`, `*:tNpK`, `tNpK`), call its function, read its hits and records, disable it (mostly everywhere; now and then by rmdir of the instance), a refused definition, the listings; now and then O_TRUNC of `kprobe_events` (gate exclusive) |
//!
//! Remount and drop_caches are also off when the directory is not an eventfs (statfs
//! magic), so that the tool can be tried on a plain directory.
//!
//! ### Invariants
//!
//! 1. **Pinned events**: always found by stat (as directories with the inode number
//!    they were created with), `pinned` appears exactly once in every complete pass of
//!    `events/` (and never at the root), and `p0..p3` exactly once in every complete
//!    pass of `pinned`; each is listed exactly once in `dynamic_events` with its
//!    creating line and in `available_events` as `pinned:pK`, never in `set_event`; its
//!    `enable` reads `0`, its `id` is the one read at creation, its `format` has that ID
//!    and its fields.
//! 2. **Readdir**: within one complete pass (one open directory read to EOF) no name
//!    appears twice and no two subdirectories share an inode number; `d_type` is
//!    `DT_DIR` for directories and `DT_REG` for the control files, whose inode number is
//!    2; the order is `.`, `..`, the files, the fixed directories, then the children;
//!    the root has exactly its fifteen files, `events` (inode 16) and `instances` (above
//!    16), no group; an instance exactly its five files and `events` (inode 16);
//!    `instances/` only instances (printable names without blanks); groups, events,
//!    `instances/` and instances have inode numbers above 16; event directories have no
//!    subdirectories; for directories that existed throughout, `.`, `..`, each control
//!    file and fixed directory appear exactly once, and `.`/`..` have the fixed numbers
//!    (root `.` 1, `events/` `.` 16 and `..` 1 — through an instance, `..` is the
//!    instance —, a group's `..` 16, `instances/`'s `..` 1). A pass ends within 10,000
//!    calls. With the 40-byte buffer, EINVAL is accepted only if the next entry is
//!    longer than 40 bytes.
//! 3. **Errnos**: every outcome is in the table below for its operation and target.
//! 4. **Own events** (exact, from the model): create gives EEXIST iff present; remove
//!    gives ENOENT iff absent, EBUSY iff enabled; a created event is found at once and a
//!    removed one is gone at once (ENOENT for it and its files, also relative to a
//!    working directory inside it; the group goes with its last event: rules 5, 6);
//!    the group's complete passes, its `dynamic_events` lines, its `available_events`
//!    names and its `set_event` names (the enabled ones) are exactly the model's;
//!    `enable` reads what was written (to it, or as `tN:eK`/`!tN:eK` to `set_event`,
//!    where a token for an absent event is EINVAL), the group `enable` reads `0`/`1`/`X`
//!    accordingly; `id` is stable within an incarnation; `format` shows the created
//!    fields; a kept fd reads fine while its incarnation lives and gives ENODEV
//!    afterwards; mode and owner are exactly what chmod/chown set (defaults 0755,
//!    0640, 0440 and the mount's uid/gid), surviving dentry reclaim (docs/RULES.md rule 8).
//! 5. **Ids**: the id of an own incarnation we enabled is never seen again for another
//!    incarnation or pinned generation (the kernel reuses only the ids of events never
//!    enabled, lowest free first, as tracefs does).
//! 6. **Remount** (docs/RULES.md rule 8): right after `remount,uid=N,gid=M`, the root,
//!    a file of it, `events/`, `events/enable`, `pinned`, a pinned event and its
//!    `enable` are owned by N:M,
//!    chowned or not; own entries fall back to N:M unless chowned again.
//! 7. **O_TRUNC**: on success, `pinned`, every `tN` and every kprobe event are gone at
//!    once (`kprobe_events` lists nothing); on EBUSY, the pinned events are all still
//!    there and `kprobe_events` is unchanged. O_TRUNC of `kprobe_events` is EBUSY while
//!    one of the thread's kprobe events is enabled anywhere; on success, every kprobe
//!    event is gone (`kprobe_events` and `kprobe_profile` are empty, `events/kprobes`
//!    too) and nothing else (the pinned and own events are there); on EBUSY
//!    `kprobe_events` is unchanged.
//! 8. **Types and contents**: files are regular and directories are directories with
//!    nlink 1 (docs/RULES.md rule 7); `enable` reads `0\n`/`1\n` (`X\n` too for groups and
//!    `events/enable`), `id` a positive decimal, `format` the tracefs layout (header, four common fields,
//!    declared fields with offset/size/signed, `print fmt:`); listing lines are
//!    `s:GROUP/EVENT FIELDS` (or a kprobe event's `p:GROUP/EVENT PLACE ARGS`,
//!    `r[N]:GROUP/EVENT PLACE ARGS`, as `kprobe_events` lists it) and no event is listed
//!    twice; `kprobe_profile` lines are `  EVENT HITS MISSES`; `available_events` and
//!    `set_event` are `GROUP:EVENT` lines, `synthetic_events` `[GROUP/]EVENT FIELDS`
//!    lines, `README` starts with `tracing mini-HOWTO:`, `available_tracers` and
//!    `current_tracer` read `nop\n`, `tracing_on` `0\n`/`1\n`; writes are never short.
//! 9. **End of run**: after removing everything it created, the views of the registry
//!    agree (every listed event has a directory in `events/` and vice versa, no empty
//!    group; `available_events` names each listed event once and nothing else,
//!    `synthetic_events` each synthetic one; `kprobe_events` is exactly the kprobe lines
//!    of `dynamic_events`, in order, and `kprobe_profile` has one line per kprobe event;
//!    `set_event` names exactly the events whose `enable` reads `1`; the root and
//!    `events/` pass the readdir checks) and none of the run's groups, nor any `tNpK`, is
//!    left.
//! 10. **Liveness**: no action runs longer than 30 s (a blocked system call); workers
//!     still running 60 s after the deadline are abandoned (exit 1).
//! 11. **Instances** (exact, from the model of `instances/sN`): mkdir succeeds, or gives
//!     EEXIST iff the thread left it; a new one has a new inode number, its complete
//!     pass, `events/enable` `0`, an empty `set_event`, `tracing_on` `1`, and every
//!     shared event read there disabled. Its `set_event` lists exactly the events the
//!     thread enabled there (through `GROUP/EVENT/enable`, `GROUP/enable`, or the
//!     tokens `G:E`, `G:*`, `G`, `!G:E`, `!G:*`, `!G`, `!*:E`, `!*:*`; a token that
//!     selects nothing is EINVAL and changes nothing; `G:*` adds events of G only);
//!     their `enable` reads `1` there, a group's `1`/`X`, `events/enable` `X` (else
//!     `0`); its `tracing_on` reads what was written. Isolation: the thread's own
//!     events read `0` in the instance whatever the top level says, and at the top
//!     level what the own model says whatever the instance does; the top level's
//!     `tracing_on` keeps its value of the start; the instance's `events/` has the
//!     pinned events with the top level's inode numbers and ids. rmdir is EBUSY while
//!     one of its files that work on its state (`set_event`, `tracing_on`,
//!     `current_tracer`, `available_tracers`, `error_log`, an `enable`) is open, and
//!     then changes nothing; an `id`/`format` kept open does not hold it and reads on.
//!     An own event enabled in the instance cannot be removed (EBUSY) although the top
//!     level has it disabled; once disabled there, or the instance removed, it can.
//!     After rmdir, the instance and its files are gone (ENOENT); from a working
//!     directory inside it, below its `events/` the tree lives on (complete passes,
//!     `id` opens) but `enable` cannot be opened (ENODEV), and in the instance itself
//!     nothing is found (ENOENT). mkdir outside `instances/` is EPERM, of an existing
//!     name EEXIST, of a name with a blank or a byte that is not printable ASCII EINVAL;
//!     rmdir of anything but an instance is EPERM. `instances/` lists only the threads'
//!     instances (and those there before the run), the thread's exactly when it has
//!     one; at the end of the run none is left.
//! 12. **kprobe events** (exact, from the model of `kprobes/tNp0..tNp3`): a definition
//!     gives EEXIST iff the probe exists (whatever the new definition: one probe per
//!     event), else it exists at once: its directory, an `id` no enabled event ever had,
//!     a `format` with the probe's fields (`__probe_ip`, or `__probe_func` and
//!     `__probe_ret_ip`, then the arguments), `enable` `0`, one line in `kprobe_events`
//!     and in `dynamic_events` as written (the group added; a return probe with the
//!     kernel's `MAXACTIVE` unless one was given), one line in `kprobe_profile` with 0
//!     hits and 0 misses (registered disarmed). A refused definition (a symbol the kernel
//!     does not have, a bad register, `$retval` in an entry probe, an offset in a return
//!     probe) is EINVAL and defines nothing. A removal gives ENOENT iff it does not
//!     exist, EBUSY iff it is enabled at the top level or in `instances/sN`, else it is
//!     gone at once (directory, listings, `kprobe_profile`). `kprobe_events`,
//!     `dynamic_events` and `kprobe_profile` list the thread's probes exactly as the
//!     model has them, `available_events` names them, the top level's `set_event` lists
//!     those enabled there and the instance's those enabled in it, their `enable` files
//!     read so. While a probe is enabled in some tracing directory (even one with
//!     `tracing_on` 0) its hits grow over calls of its function; once it is disabled
//!     everywhere they stop growing (an entry probe's exactly; a return probe's by at
//!     most its `MAXACTIVE`: calls that entered while it was armed still return). Every
//!     record of a `tNpK` probe read from a `trace_pipe` parses as `EVENT: (SYM+0xOFF/
//!     0xSIZE) ARGS` (`(PLACE <- FUNC)` for a return probe), those of the thread's own
//!     probes name their function and arguments (hex, decimal or quoted string, as
//!     their types print); after the calls, `instances/sN/trace_pipe` (when its
//!     `tracing_on` is 1) has a record of the probe written by the thread, unless the
//!     reads did not reach its end.
//!
//! ### Errno table
//!
//! Acceptable outcomes per operation (rows) and target (columns): *fixed* is an entry
//! that exists throughout the check (the root, its files, `events/` and its `enable`,
//! `instances/`; pinned entries under the gate), *shared* one that others may create or
//! remove at any moment (or a kept fd), *missing* a name that never exists; `—` means
//! the combination is not used (any outcome is a violation). Operations on own events
//! and on the thread's own instance expect one exact outcome, always one of the
//! *shared* column's.
//!
//! | op | fixed | shared | missing |
//! |---|---|---|---|
//! | create | ok | ok, EEXIST | — |
//! | remove | ok | ok, ENOENT, EBUSY | ENOENT |
//! | batch | — | ok, EEXIST | — |
//! | truncate | — | ok, EBUSY | — |
//! | stat | ok | ok, ENOENT | ENOENT |
//! | stat_long | ENAMETOOLONG | — | — |
//! | stat_notdir | ENOTDIR | — | — |
//! | open | ok | ok, ENOENT | ENOENT |
//! | read | ok | ok, ENODEV | — |
//! | read_stale | ok | ok, ENODEV | — |
//! | read_pipe | ok, EAGAIN | — | — |
//! | write | ok | ok, ENODEV | — |
//! | write_bad | EINVAL | ENODEV, EINVAL | — |
//! | set_event | ok | ok, EINVAL | EINVAL |
//! | inject | — | ok, ENODEV, EINVAL | — |
//! | filter | — | ok, ENODEV, EINVAL | — |
//! | kprobe_create | — | ok, EEXIST | — |
//! | kprobe_bad | — | EINVAL | — |
//! | kprobe_remove | — | ok, ENOENT, EBUSY | ENOENT |
//! | kprobe_truncate | — | ok, EBUSY | — |
//! | opendir | ok | ok, ENOENT | ENOENT |
//! | getdents | ok | ok, ENOENT, ENODEV | — |
//! | seek | ok | ok | — |
//! | close | ok | ok | — |
//! | chmod | ok | ok, ENOENT | ENOENT |
//! | chown | ok | ok, ENOENT | ENOENT |
//! | chdir | ok | ok, ENOENT | ENOENT |
//! | open_cwd | ok | ok, ENOENT, ENODEV | — |
//! | mkdir | EPERM, EEXIST, EINVAL | ok, EEXIST | — |
//! | rmdir | EPERM | ok, ENOENT, EBUSY | ENOENT |
//! | remount | ok | — | — |
//! | drop_caches | ok | — | — |
//!
//! Notes: generated `dynamic_events` lines are valid, so EINVAL on create is a
//! violation, and ENOENT cannot happen there (a missing group is created). ENODEV is
//! what reads and writes through an fd opened before its event was removed give.
//! `getdents` and `open_cwd` on a removed directory may end early or fail; `open_cwd`
//! also counts opens of names relative to such a working directory (ENODEV: a file
//! that works on a removed instance's state). A `set_event` token that selects
//! nothing is EINVAL (a shared event may have gone). `inject` and `filter` writes to a
//! shared event are EINVAL when its (random) first field is of the other kind, string
//! or number, and ENODEV when it was removed after the open. mkdir's fixed column is three
//! exact cases (an existing name, outside `instances/`, a bad name), each checked for
//! its own errno; an own instance's mkdir is EEXIST iff it exists, its rmdir ENOENT iff
//! it does not, EBUSY iff one of its state's files is open. The kprobe rows are the
//! thread's own kprobe events, each call with one exact outcome from the model (a
//! never-existing name: ENOENT); `kprobe_truncate` is exactly EBUSY when one of the
//! thread's probes is enabled, either outcome otherwise (other threads' may be).
//! `read_pipe` is a read of a `trace_pipe` opened with `O_NONBLOCK`: EAGAIN when empty.
//!
//! ### Output
//!
//! Per operation `op stat: 12345 ok, ENOENT 321, ENAMETOOLONG 40`, then
//! `total: N ops (M by workers in S s, R ops/s)` and last `stress: N violations`.
//!
//! ## Fault-injection mode (`--faults`)
//!
//! Needs `CONFIG_FAILSLAB`, `CONFIG_FAULT_INJECTION_DEBUG_FS` and root. The tool sets
//! `/sys/kernel/debug/failslab/{ignore-gfp-wait,cache-filter,verbose,probability}` to
//! `N, N, 0, 0` (restored on exit; debugfs is mounted if needed), opens
//! `/proc/thread-self/fail-nth`, and for each kind below runs, for n = 1, 2, … up to
//! `--max-nth` (200):
//!
//! 1. prepare the state (unarmed): `fault/keep` and `fault/lk` exist, disabled at the
//!    top level, and the instance `instances/fault_i` does not exist, unless the kind
//!    needs it (then it exists, with nothing enabled in it); plus what the kind needs;
//!    open the descriptors and build the strings it uses;
//! 2. write n to `fail-nth`, make the one system call, read `fail-nth` back (then
//!    write 0). A non-zero value means the n-th allocation was never reached: the call
//!    ran without a fault, and this is the last iteration;
//! 3. check: under a fault the call may succeed (an allocation may be optional or
//!    retried) or fail with ENOMEM, nothing else; without one it must succeed; the
//!    state is what a success, or a failure that changed nothing, leaves (table); and
//!    the registry is consistent (invariant 9 of the stress mode): every
//!    `dynamic_events` line has its directory in `events/` and every event directory its
//!    line, no empty group, `available_events` and `synthetic_events` agree with the
//!    listing, `kprobe_events` and `kprobe_profile` with its kprobe events, `set_event`
//!    with the `enable` files (of the top level); the root, `instances/` and each
//!    instance pass complete readdir checks.
//!
//! Group and event paths in the table are under `events/`; `I/` is `instances/fault_i/`.
//!
//! | kind | armed call | checked after |
//! |---|---|---|
//! | mount | `mount -t eventfs none SCRATCH` | ok: an eventfs is there, its root and `events/` pass complete readdir checks, `dynamic_events` and `events/enable` read; then umount; failed: nothing mounted |
//! | create_new_group | write `s:fault_new/ev ...` | `fault_new/ev` and `fault_new` exist iff ok |
//! | create_in_group | write `s:fault/ev ...` | `fault/ev` exists iff ok, `fault/keep` untouched |
//! | remove | write `-:fault/ev` | `fault/ev` gone iff ok; if failed, same id |
//! | remove_last | write `-:fault_solo/ev` | event and group gone iff ok |
//! | truncate | `open(dynamic_events, O_TRUNC)` | ok: nothing listed; failed: listing unchanged |
//! | lookup_dir | `stat fault/lk` after drop_caches | `events/`, the group, the dir and its files are found afterwards (no negative dentry left) |
//! | lookup_file | `stat fault/lk/format` after drop_caches | as above |
//! | open_format | `open fault/lk/format` | ok: it reads the reference content; afterwards too |
//! | read_format | `read` of an open `format` | ok: reference content; a second read too |
//! | read_listing | `read` of an open `dynamic_events` | ok: reference content; a second read too |
//! | read_available_events | `read` of an open `available_events` | ok: reference content; a second read too |
//! | write_enable | write `1` to `fault/lk/enable` | reads `1` iff ok, else `0` |
//! | write_group_enable | write `1` to `fault/enable` | every event and the group read `1` iff ok, else `0` (never half) |
//! | write_set_event | write `fault:lk\n` to `set_event` | `fault/lk/enable` reads `1` iff ok, else `0`; `fault/keep` stays `0`; `set_event` agrees |
//! | write_disable | write `0` to `fault/lk/enable` (enabled) | reads `0` iff ok, else `1`; allocates nothing |
//! | readdir | `getdents64` of `fault` | the pass, continued unarmed, is complete and has no duplicates |
//! | chmod | `chmod 0400 fault/lk/format` | mode 0400 iff ok, else 0440 |
//! | remount | `remount,uid=U+1,gid=G+1` | root, `dynamic_events`, `events/`, `events/enable` and `fault/lk` owned by U+1:G+1 iff ok, else U:G |
//! | mkdir_instance | `mkdir instances/fault_i` | it exists and `instances/` lists it iff ok; ok: its pass is complete, `I/events/enable` and `I/events/fault/lk/enable` read `0`, `I/set_event` is empty, `I/tracing_on` reads `1` |
//! | rmdir_instance | `rmdir instances/fault_i` with `fault:lk` enabled in it | gone and not listed iff ok; failed: intact (`I/events/fault/lk/enable` `1`, `I/set_event` `fault:lk`, `I/tracing_on` `1`, removing `fault/lk` EBUSY) and usable (a second rmdir works); either way `fault/lk` can then be removed (its enable in the instance went with it) |
//! | write_instance_enable | write `1` to `I/events/fault/lk/enable` | it reads `1` and `I/set_event` lists `fault:lk` iff ok, else `0` and empty; `I/events/fault/keep` `0`; the top level's `fault/lk/enable` `0` |
//! | write_instance_set_event | write `fault:lk\n` to `I/set_event` | as write_instance_enable |
//! | write_marker | write 300 `x`s and `fault\n` to `I/trace_marker` (longer than the 256 bytes a write keeps on the stack, so it allocates; its buffer, 4 KiB, made and emptied before arming) | `I/trace` holds the record or nothing; the next write records |
//! | inject | write 300 blanks and `a=7\n` to `I/events/fault/lk/inject` (allocates, as write_marker), `fault/lk` enabled in the instance, no filter (its buffer, 4 KiB, made by an inject and emptied before arming) | `I/trace` holds the one record (`lk: a=7`) iff ok, else nothing; the next inject records |
//! | filter_set | write `a == 2 \|\| (c ~ "x*" && !(a & 4))` to `fault/lk/filter`, which holds `a == 1` | it reads the new text iff ok, else `a == 1` (never `none`, never half); `0` then clears it |
//! | resize | write `12` to `I/buffer_size_kb`, which is `4`, its buffer holding one record | it reads `12` iff ok, else `4`; the record is kept and the next `trace_marker` write records |
//! | probe_create | write `p:fault_kp/kp vfs_read di=%di comm=$comm` and `r:fault_kp/kr vfs_read ret=$retval a1=$arg1` to `kprobe_events` in one write | both exist, `kprobe_events` lists both as written and `kprobe_profile` has both with 0 hits and 0 misses iff ok; else neither is anywhere (nor `fault_kp`): the batch is undone whole, its registered probe unregistered |
//! | probe_enable | write `1` to `I/events/fault_kp/kp/enable`, `fault_kp/kp` defined afresh for each n (its buffer, 4 KiB, made by a marker write and emptied before arming) | it reads `1` and `I/set_event` lists `fault_kp:kp` iff ok, else `0` and empty; the top level's `enable` `0`; armed iff ok: its hits grow over 8 reads of `README` iff ok, else stay; `I/trace` holds its records (each a well-formed `kp: (vfs_read+0x…/0x…) di=0x… comm="…"` line) iff ok, else none; once disabled it can be removed |
//!
//! fail-nth counts every fault-injection point of the task, nested ones included: with
//! kmemleak on (the test kernel), each slab allocation is followed by one for kmemleak's
//! own metadata, which falls back to kmemleak's reserve pool when failed. About every
//! other n therefore lets the operation succeed; both outcomes are checked the same way.
//! A kind that allocates nothing runs clean at n=1: readdir (docs/RULES.md rule 7) and
//! write_disable (a tracing directory's enabled events are an xarray: writing `1`
//! may allocate a node of it, writing `0` only frees).
//!
//! Output per kind: `fault KIND: N faults injected (ran clean at n=M): 16 ok, ENOMEM 15;
//! 0 violations`, and last `faults: N violations`.
//!
//! ## mountapi mode
//!
//! `eventfs-stress mountapi DIR` does not stress anything: it checks every mount option,
//! good and bad, through `fsopen`/`fsconfig`/`fsmount`/`move_mount`/`fspick`/`open_tree`
//! (exact errno, and the messages of the context's log), mounting on DIR and unmounting
//! at the end; see `mountapi.rs`. It prints no seed line.
//!
//! ## pipe mode
//!
//! `eventfs-stress pipe DIR` checks `trace_pipe` of the tracing directory DIR (the mount
//! or an instance): `O_NONBLOCK`, `poll(2)`, a blocking read, small reads, concurrent
//! readers; see `pipe.rs`. It prints no seed line.
//!
//! ## inject mode
//!
//! `eventfs-stress inject MNT` checks `events/GROUP/EVENT/inject` and event filters on
//! the eventfs mounted at MNT, with the events `inj/ev` (`u64 seq; u32 keep; u32 who`)
//! and `inj/sev` (`char name[8]; u64 n`) and the instance `instances/inj`, which it
//! creates first and removes last; see `inject.rs`. It prints no seed line; one line
//! per check and `inject: N checks, N failed`, exit 0 if none failed.
//!
//! | check | what it does |
//! |---|---|
//! | setup | removes leftovers of an earlier run, creates the two events and the instance |
//! | concurrent | `inj/ev` enabled in both, filter `keep == 1` at the top level only; 3 writers inject 2000 records each (unique `seq`, pseudo-random `keep`, `who` the writer), alternately into the top level's and the instance's `inject`, while 3 readers per directory drain its `trace_pipe` (`O_NONBLOCK` + `poll`, until empty after the writers finished): every top-level record with `keep=1` is read exactly once there, none with `keep=0`; every instance record exactly once there; none in the other directory; every line is a well-formed `ev: seq=N keep=N who=N` record |
//! | gate | in each directory: a disabled event, or `tracing_on` 0, records nothing although the write returns its count; enabled and on, one record, and none in the other directory |
//! | errors | in each directory: ENOENT for an unknown field, EINVAL for malformed text (no `=`, no name, non-numeric, a string for a number, a number for a string), ERANGE above 64 bits, EPERM for a read; none records anything, and valid injects (hex numbers, `u64` max, a string) then record |
//! | filters | set, read back; bad filters refused, the old one kept, an `error_log` entry added each time; replaced (applies to the next inject); cleared by an empty write and by `0` (reads `none`), kept by O_TRUNC alone; `&`; an instance's filter is its own; strings (`==`, `~` globs, negation, disjunction); the group's `filter` sets the events where it compiles, `0` there clears them all |
//! | cleanup | an event enabled only in the instance cannot be removed (EBUSY); rmdir of the instance, then removing both events, works; the instance, the group and their listing lines are gone |
//!
//! ## Benchmark (`eventfs-stress bench eventfs|tracefs|pair|records N`, `bench probes K`)
//!
//! Not a test: times creates, removals, lookups, readdir, stat, `find` and enable
//! writes on N synthetic events in eventfs-rs or in mainline tracefs through the same
//! code, or (`pair`) in both in turns, one sample of each per round; (`records`)
//! `inject`, `trace_pipe` and `trace_marker` of both in turns; and (`probes`) the
//! definition and removal of 100 kprobes, and K calls of a probed function with the
//! probe disabled, enabled in one instance and in two, of both in turns, for
//! `scripts/bench.sh`. See `bench.rs`.

mod bench;
mod cli;
mod dirent;
mod expect;
mod faults;
mod inject;
mod kprobe;
mod mountapi;
mod pipe;
mod registry;
mod rng;
mod stats;
mod stress;
mod sys;
mod text;

use std::process::exit;

fn main() {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if args.first().map(String::as_str) == Some("pipe") {
        match &args[1..] {
            [dir] if !dir.starts_with('-') => exit(pipe::run(dir)),
            _ => {
                eprintln!("usage: eventfs-stress pipe DIR");
                exit(2);
            }
        }
    }
    if args.first().map(String::as_str) == Some("inject") {
        match &args[1..] {
            [mnt] if !mnt.starts_with('-') => exit(inject::run(mnt)),
            _ => {
                eprintln!("usage: eventfs-stress inject MNT");
                exit(2);
            }
        }
    }
    if args.first().map(String::as_str) == Some("bench") {
        match bench::parse(&args[1..]) {
            Ok(Some(cfg)) => exit(bench::run(&cfg)),
            Ok(None) => {
                print!("{}", bench::USAGE);
                exit(0);
            }
            Err(e) => {
                eprintln!("eventfs-stress bench: {e}\n\n{}", bench::USAGE);
                exit(2);
            }
        }
    }
    let cfg = match cli::parse(&args, cli::default_seed()) {
        Ok(cli::Parsed::Run(cfg)) => cfg,
        Ok(cli::Parsed::MountApi(dir)) => exit(mountapi::run(&dir)),
        Ok(cli::Parsed::Help) => {
            print!("{}", cli::USAGE);
            exit(0);
        }
        Err(e) => {
            eprintln!("eventfs-stress: {e}\n\n{}", cli::USAGE);
            exit(2);
        }
    };
    println!("seed: {}", cfg.seed);
    let code = if cfg.faults {
        faults::run(&cfg)
    } else {
        stress::run(&cfg)
    };
    exit(code);
}
