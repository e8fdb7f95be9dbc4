//! `eventfs-stress mountapi DIR`: eventfs through the new mount API.
//!
//! `mount(2)` hands eventfs its options with no log attached to the request, so errors
//! go to the kernel log; `fsopen(2)`/`fspick(2)` attach a log that `fsconfig(2)` fills
//! and `read(2)` on the context descriptor drains. That path allocates and may sleep,
//! and it shows each message exactly as logged. This mode drives every option, good
//! and bad, through both kinds of context and checks the errno, the log, the root
//! directory and `/proc/mounts` after each step:
//!
//! 1. `fsopen("eventfs")`: `uid=`, `gid=`, `mode=`, an unknown key, a flag for a value
//!    option, `source` (twice); `FSCONFIG_CMD_CREATE`, `fsmount`, `move_mount` onto DIR;
//! 2. a second `fsopen` + `CMD_CREATE` reuses the one superblock and applies its options
//!    as a reconfiguration; `CMD_CREATE_EXCL` refuses to share it;
//! 3. `fspick(DIR)` + `CMD_RECONFIGURE` changes only what it names, bad values leave the
//!    mount as it was; `open_tree(OPEN_TREE_CLONE)` + `fspick(FSPICK_EMPTY_PATH)` reaches
//!    the same superblock;
//! 4. `umount2(DIR)`: the superblock dies with its last mount (a new request gets the
//!    defaults), and nothing is left mounted.
//!
//! The tool needs the only eventfs superblock: it refuses to run (exit 2) while an
//! eventfs is mounted anywhere. One line per check (`ok ...` or `FAIL ...`), then
//! `mountapi: N passed, M failed`; exit 0 only if every check passed.

use std::ffi::{CStr, CString};
use std::fmt;

use crate::sys::{self, mount_api::*, Errno, Fd, SysResult, EVENTFS_MAGIC};

/// What eventfs logs for a bad `mode=` (`src/opts.rs`), as the context log returns it:
/// level, the filesystem name added by `invalfc()`, the message.
const BAD_MODE: &str = "e eventfs: mode= must be an octal number no larger than 07777";
/// `fs_param_is_string()`'s message for an empty or non-string `mode=`.
const BAD_VALUE_MODE: &str = "e eventfs: Bad value for 'mode'";
/// `fs_param_is_uid()`'s message for a value that is no unsigned number.
const BAD_VALUE_UID: &str = "e eventfs: Bad value for 'uid'";
/// `fs_param_is_gid()`'s message for a value that is no unsigned number.
const BAD_VALUE_GID: &str = "e eventfs: Bad value for 'gid'";
/// `vfs_parse_fs_param()`'s message for a key nobody takes.
const UNKNOWN_FOO: &str = "e eventfs: Unknown parameter 'foo'";
/// A prefix twice: the message carried the filesystem name that `invalfc()` adds.
const DOUBLED_PREFIX: &str = "eventfs: eventfs:";

/// The part of the root directory's attributes that the options set.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Root {
    /// Permission bits, with setuid, setgid and sticky.
    mode: u32,
    uid: u32,
    gid: u32,
}

impl Root {
    const fn new(mode: u32, uid: u32, gid: u32) -> Root {
        Root { mode, uid, gid }
    }

    fn of(st: &libc::stat) -> Root {
        Root::new(st.st_mode & 0o7777, st.st_uid, st.st_gid)
    }
}

impl fmt::Debug for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mode {:04o} uid {} gid {}",
            self.mode, self.uid, self.gid
        )
    }
}

/// The checks made so far.
#[derive(Default)]
struct Checks {
    passed: u32,
    failed: u32,
    /// Log messages read from contexts, and how many of them had the prefix twice.
    messages: u32,
    doubled: Vec<String>,
}

impl Checks {
    /// Records one check and prints its line.
    fn check(&mut self, what: &str, ok: bool, detail: impl FnOnce() -> String) -> bool {
        if ok {
            self.passed += 1;
            println!("ok {what}");
        } else {
            self.failed += 1;
            println!("FAIL {what}: {}", detail());
        }
        ok
    }

    /// Checks that `got` is `want`.
    fn eq<T: PartialEq + fmt::Debug>(&mut self, what: &str, got: T, want: T) -> bool {
        let ok = got == want;
        self.check(what, ok, || format!("got {got:?}, expected {want:?}"))
    }

    /// A step the following checks depend on: records it, and turns a failure into the
    /// end of the run.
    fn need<T>(&mut self, what: &str, r: SysResult<T>) -> Result<T, String> {
        match r {
            Ok(v) => {
                self.check(what, true, String::new);
                Ok(v)
            }
            Err(e) => {
                self.check(what, false, || format!("failed with {e}"));
                Err(format!("cannot go on after: {what}"))
            }
        }
    }

    /// Reads every message waiting in the log of context `fc` (one per `read(2)`, until
    /// `ENODATA`), without the trailing newline.
    fn drain_log(&mut self, fc: &Fd) -> SysResult<Vec<String>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 1024];
        // The log keeps at most 8 messages; anything beyond 64 reads is a kernel bug.
        for _ in 0..64 {
            match sys::read(fc, &mut buf) {
                Ok(n) => {
                    let m = String::from_utf8_lossy(&buf[..n]);
                    let m = m.strip_suffix('\n').unwrap_or(&m).to_string();
                    self.messages += 1;
                    if m.contains(DOUBLED_PREFIX) {
                        self.doubled.push(m.clone());
                    }
                    out.push(m);
                }
                Err(Errno(libc::ENODATA)) => return Ok(out),
                Err(e) => return Err(e),
            }
        }
        Err(Errno(libc::E2BIG))
    }

    /// Checks that the log of `fc` holds exactly `want` (a message logged several times
    /// in a row counts once: `fs_param_is_uid()` logs "Bad value" after
    /// `fs_param_is_u32()` already did).
    fn log_is(&mut self, what: &str, fc: &Fd, want: &[&str]) {
        let got = self.drain_log(fc).map(|mut v| {
            v.dedup();
            v
        });
        let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        self.eq(&format!("{what}: log"), got, Ok(want));
    }

    /// One `fsconfig(2)` call on `fc`: checks its result and what it logged.
    fn config(&mut self, ctx: &str, fc: &Fd, c: &Cfg) {
        let what = format!("{ctx}: {c}");
        let r = sys::fsconfig(fc, c.cmd, c.key, c.value);
        self.eq(&what, r, c.want);
        self.log_is(&what, fc, c.log);
    }

    /// Checks the root of the mount on `dir` (by path) and its `/proc/mounts` options.
    fn mounted_as(&mut self, what: &str, dir: &str, root: Root, opts: &[&str]) {
        let st = sys::stat(&sys::cpath(dir)).map(|st| Root::of(&st));
        self.eq(&format!("{what}: root of {dir}"), st, Ok(root));
        let shown = mount_line(dir).map(|(_, o)| efs_opts(&o));
        let want: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        self.eq(
            &format!("{what}: eventfs options in /proc/mounts"),
            shown,
            Some(want),
        );
    }
}

/// One `fsconfig(2)` call and its expected outcome.
struct Cfg {
    cmd: u32,
    key: Option<&'static CStr>,
    value: Option<&'static CStr>,
    want: SysResult<()>,
    log: &'static [&'static str],
}

impl Cfg {
    /// `FSCONFIG_SET_STRING key=value`, which must succeed without a message.
    const fn set(key: &'static CStr, value: &'static CStr) -> Cfg {
        Cfg {
            cmd: FSCONFIG_SET_STRING,
            key: Some(key),
            value: Some(value),
            want: Ok(()),
            log: &[],
        }
    }

    /// `FSCONFIG_SET_STRING key=value`, which must fail with `EINVAL` and log `log`.
    const fn bad(key: &'static CStr, value: &'static CStr, log: &'static [&'static str]) -> Cfg {
        Cfg {
            cmd: FSCONFIG_SET_STRING,
            key: Some(key),
            value: Some(value),
            want: Err(Errno(libc::EINVAL)),
            log,
        }
    }

    /// `FSCONFIG_SET_FLAG key`, which must fail with `EINVAL` and log `log`.
    const fn bad_flag(key: &'static CStr, log: &'static [&'static str]) -> Cfg {
        Cfg {
            cmd: FSCONFIG_SET_FLAG,
            key: Some(key),
            value: None,
            want: Err(Errno(libc::EINVAL)),
            log,
        }
    }

    /// A command (`FSCONFIG_CMD_*`) with its expected result and log.
    const fn cmd(cmd: u32, want: SysResult<()>, log: &'static [&'static str]) -> Cfg {
        Cfg {
            cmd,
            key: None,
            value: None,
            want,
            log,
        }
    }
}

impl fmt::Display for Cfg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cmd = match self.cmd {
            FSCONFIG_SET_FLAG => "SET_FLAG",
            FSCONFIG_SET_STRING => "SET_STRING",
            FSCONFIG_CMD_CREATE => "CMD_CREATE",
            FSCONFIG_CMD_RECONFIGURE => "CMD_RECONFIGURE",
            FSCONFIG_CMD_CREATE_EXCL => "CMD_CREATE_EXCL",
            _ => "?",
        };
        write!(f, "fsconfig({cmd}")?;
        if let Some(k) = self.key {
            write!(f, ", {k:?}")?;
        }
        if let Some(v) = self.value {
            write!(f, ", {v:?}")?;
        }
        write!(f, ")")
    }
}

/// Every value the options refuse, with `fsconfig`'s message for it. The same for a new
/// request and for a reconfiguration.
const BAD_OPTIONS: &[Cfg] = &[
    Cfg::bad(c"uid", c"abc", &[BAD_VALUE_UID]),
    Cfg::bad(c"uid", c"-1", &[BAD_VALUE_UID]),
    Cfg::bad(c"uid", c"", &[BAD_VALUE_UID]),
    Cfg::bad(
        c"uid",
        c"4294967295",
        &["e eventfs: Invalid uid '4294967295'"],
    ),
    Cfg::bad_flag(c"uid", &[BAD_VALUE_UID]),
    Cfg::bad(c"gid", c"abc", &[BAD_VALUE_GID]),
    Cfg::bad(c"gid", c"-1", &[BAD_VALUE_GID]),
    Cfg::bad(c"gid", c"", &[BAD_VALUE_GID]),
    Cfg::bad(
        c"gid",
        c"4294967295",
        &["e eventfs: Invalid gid '4294967295'"],
    ),
    Cfg::bad(c"mode", c"9", &[BAD_MODE]),
    Cfg::bad(c"mode", c"abc", &[BAD_MODE]),
    Cfg::bad(c"mode", c"77777", &[BAD_MODE]),
    Cfg::bad(c"mode", c"0x1ff", &[BAD_MODE]),
    // The VFS refuses an empty string before eventfs sees it.
    Cfg::bad(c"mode", c"", &[BAD_VALUE_MODE]),
    Cfg::bad_flag(c"mode", &[BAD_VALUE_MODE]),
    Cfg::bad(c"foo", c"1", &[UNKNOWN_FOO]),
    Cfg::bad_flag(c"foo", &[UNKNOWN_FOO]),
];

/// The line of `/proc/mounts` for the eventfs mounted on `dir`: its source and options.
fn mount_line(dir: &str) -> Option<(String, String)> {
    let text = sys::read_file("/proc/mounts", 1 << 20).ok()?;
    let text = String::from_utf8_lossy(&text);
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (f.len() >= 4 && f[1] == dir && f[2] == "eventfs").then(|| (f[0].into(), f[3].into()))
    })
}

/// Where eventfs is mounted, from `/proc/mounts`.
fn eventfs_mounts() -> Vec<String> {
    let text = sys::read_file("/proc/mounts", 1 << 20).unwrap_or_default();
    String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f.len() >= 4 && f[2] == "eventfs").then(|| f[1].to_string())
        })
        .collect()
}

/// The options of a `/proc/mounts` line that eventfs' `show_options` writes.
fn efs_opts(opts: &str) -> Vec<String> {
    opts.split(',')
        .filter(|o| ["uid=", "gid=", "mode="].iter().any(|p| o.starts_with(p)))
        .map(String::from)
        .collect()
}

/// The identity of a directory: device and inode.
fn dev_ino(st: &libc::stat) -> (u64, u64) {
    (st.st_dev, st.st_ino)
}

/// Runs every check, mounting on `dir` (absolute, canonical). An `Err` is a step the
/// rest depends on that failed (already reported).
fn run_checks(ck: &mut Checks, dir: &str) -> Result<(), String> {
    let cdir = sys::cpath(dir);

    // 1. A new request: every option, good and bad, then create and mount.
    ck.eq(
        "fsopen(\"eventfs_none\") of an unknown type",
        sys::fsopen(c"eventfs_none", FSOPEN_CLOEXEC).map(drop),
        Err(Errno(libc::ENODEV)),
    );
    let fc = ck.need(
        "fsopen(\"eventfs\", FSOPEN_CLOEXEC)",
        sys::fsopen(c"eventfs", FSOPEN_CLOEXEC),
    )?;
    ck.log_is("fsopen", &fc, &[]);
    let ctx = "fsopen";
    // Good values first: the bad ones after them must not undo them.
    for c in [
        Cfg::set(c"uid", c"1000"),
        Cfg::set(c"gid", c"1001"),
        Cfg::set(c"mode", c"755"),
        Cfg::set(c"mode", c"0700"),
        Cfg::set(c"mode", c"01777"),
        Cfg::set(c"source", c"mountapi"),
        Cfg::bad(c"source", c"again", &["e Multiple sources"]),
    ] {
        ck.config(ctx, &fc, &c);
    }
    for c in BAD_OPTIONS {
        ck.config(ctx, &fc, c);
    }
    ck.config(ctx, &fc, &Cfg::cmd(FSCONFIG_CMD_CREATE, Ok(()), &[]));
    // A created context takes no more parameters and cannot create twice.
    ck.config(
        ctx,
        &fc,
        &Cfg {
            want: Err(Errno(libc::EBUSY)),
            ..Cfg::set(c"mode", c"755")
        },
    );
    ck.config(
        ctx,
        &fc,
        &Cfg::cmd(FSCONFIG_CMD_CREATE, Err(Errno(libc::EBUSY)), &[]),
    );
    let mnt = ck.need("fsmount", sys::fsmount(&fc, FSMOUNT_CLOEXEC, 0))?;
    ck.eq(
        "fsmount: statfs magic",
        sys::fd_fs_type(&mnt),
        Ok(EVENTFS_MAGIC),
    );
    let first = Root::new(0o1777, 1000, 1001);
    ck.eq(
        "fsmount: root of the detached mount",
        sys::fstat(&mnt).map(|st| Root::of(&st)),
        Ok(first),
    );
    ck.need(
        &format!("move_mount(MOVE_MOUNT_F_EMPTY_PATH) onto {dir}"),
        sys::move_mount(&mnt, &cdir, MOVE_MOUNT_F_EMPTY_PATH),
    )?;
    drop(mnt);
    drop(fc);
    ck.eq(
        "/proc/mounts: source of the mount",
        mount_line(dir).map(|(s, _)| s),
        Some("mountapi".to_string()),
    );
    ck.mounted_as(
        "after move_mount",
        dir,
        first,
        &["uid=1000", "gid=1001", "mode=1777"],
    );
    let id = dev_ino(&ck.need("stat of the mounted root", sys::stat(&cdir))?);

    // 2. A second request shares the superblock: its options act as a reconfiguration.
    let fc = ck.need("second fsopen", sys::fsopen(c"eventfs", FSOPEN_CLOEXEC))?;
    ck.config("second fsopen", &fc, &Cfg::set(c"uid", c"2000"));
    ck.config(
        "second fsopen",
        &fc,
        &Cfg::cmd(FSCONFIG_CMD_CREATE, Ok(()), &[]),
    );
    let mnt = ck.need("second fsmount", sys::fsmount(&fc, FSMOUNT_CLOEXEC, 0))?;
    ck.eq(
        "second fsmount: same root as the first mount",
        sys::fstat(&mnt).map(|st| dev_ino(&st)),
        Ok(id),
    );
    let second = Root::new(0o1777, 2000, 1001);
    ck.mounted_as(
        "second CMD_CREATE changes only uid",
        dir,
        second,
        &["uid=2000", "gid=1001", "mode=1777"],
    );
    drop(mnt);
    drop(fc);
    ck.mounted_as(
        "second mount closed",
        dir,
        second,
        &["uid=2000", "gid=1001", "mode=1777"],
    );
    let fc = ck.need("third fsopen", sys::fsopen(c"eventfs", FSOPEN_CLOEXEC))?;
    ck.config("third fsopen", &fc, &Cfg::set(c"mode", c"700"));
    ck.config(
        "third fsopen",
        &fc,
        &Cfg::cmd(
            FSCONFIG_CMD_CREATE_EXCL,
            Err(Errno(libc::EBUSY)),
            &["w eventfs: reusing existing filesystem not allowed"],
        ),
    );
    drop(fc);
    ck.mounted_as(
        "refused CMD_CREATE_EXCL",
        dir,
        second,
        &["uid=2000", "gid=1001", "mode=1777"],
    );

    // 3. Reconfiguration through fspick(): only what is named changes.
    let pk = ck.need("fspick", sys::fspick(None, &cdir, FSPICK_CLOEXEC))?;
    ck.log_is("fspick", &pk, &[]);
    let reconf = Cfg::cmd(FSCONFIG_CMD_RECONFIGURE, Ok(()), &[]);
    ck.config("fspick", &pk, &Cfg::set(c"mode", c"755"));
    ck.config("fspick", &pk, &reconf);
    ck.mounted_as(
        "fspick mode=755",
        dir,
        Root::new(0o755, 2000, 1001),
        &["uid=2000", "gid=1001", "mode=755"],
    );
    // The context starts afresh after a reconfiguration: the mode is not set again.
    ck.config("fspick", &pk, &Cfg::set(c"gid", c"0"));
    ck.config("fspick", &pk, &reconf);
    ck.mounted_as(
        "fspick gid=0",
        dir,
        Root::new(0o755, 2000, 0),
        &["uid=2000", "mode=755"],
    );
    ck.config("fspick", &pk, &Cfg::set(c"uid", c"0"));
    ck.config("fspick", &pk, &Cfg::set(c"mode", c"0700"));
    ck.config("fspick", &pk, &reconf);
    let defaults = Root::new(0o700, 0, 0);
    ck.mounted_as("fspick uid=0,mode=0700", dir, defaults, &[]);
    for c in BAD_OPTIONS {
        ck.config("fspick", &pk, c);
    }
    ck.mounted_as("fspick: after the refused values", dir, defaults, &[]);
    ck.config("fspick", &pk, &reconf);
    ck.mounted_as(
        "fspick: reconfigure after the refused values",
        dir,
        defaults,
        &[],
    );
    ck.config("fspick", &pk, &Cfg::set(c"uid", c"3000"));
    ck.config("fspick", &pk, &Cfg::bad(c"mode", c"9", &[BAD_MODE]));
    ck.config("fspick", &pk, &reconf);
    let third = Root::new(0o700, 3000, 0);
    ck.mounted_as(
        "fspick uid=3000 next to a refused mode",
        dir,
        third,
        &["uid=3000"],
    );
    drop(pk);

    // A detached copy of the mount (open_tree) reaches the same superblock.
    let tree = ck.need(
        "open_tree(OPEN_TREE_CLONE)",
        sys::open_tree(&cdir, OPEN_TREE_CLONE | libc::O_CLOEXEC as u32),
    )?;
    ck.eq(
        "open_tree: same root",
        sys::fstat(&tree).map(|st| (dev_ino(&st), Root::of(&st))),
        Ok((id, third)),
    );
    let pk = ck.need(
        "fspick(FSPICK_EMPTY_PATH) of the open_tree copy",
        sys::fspick(Some(&tree), c"", FSPICK_CLOEXEC | FSPICK_EMPTY_PATH),
    )?;
    ck.config("fspick of the copy", &pk, &Cfg::set(c"mode", c"711"));
    ck.config("fspick of the copy", &pk, &reconf);
    ck.mounted_as(
        "fspick of the copy, mode=711",
        dir,
        Root::new(0o711, 3000, 0),
        &["uid=3000", "mode=711"],
    );
    drop(pk);
    drop(tree);

    // 4. Unmount: the superblock goes with its last mount.
    ck.need(&format!("umount2({dir})"), sys::umount(&cdir))?;
    ck.eq(
        "no eventfs left in /proc/mounts",
        eventfs_mounts(),
        Vec::new(),
    );
    let fc = ck.need(
        "fsopen after umount",
        sys::fsopen(c"eventfs", FSOPEN_CLOEXEC),
    )?;
    ck.config(
        "fsopen after umount",
        &fc,
        &Cfg::cmd(FSCONFIG_CMD_CREATE, Ok(()), &[]),
    );
    let mnt = ck.need(
        "fsmount after umount",
        sys::fsmount(&fc, FSMOUNT_CLOEXEC, 0),
    )?;
    ck.eq(
        "a new superblock after umount has the default root",
        sys::fstat(&mnt).map(|st| Root::of(&st)),
        Ok(defaults),
    );
    drop(mnt);
    drop(fc);
    ck.eq("nothing mounted at the end", eventfs_mounts(), Vec::new());
    Ok(())
}

/// The `mountapi` mode: returns the exit code (0 all passed, 1 a check failed, 2 the
/// preconditions do not hold).
pub fn run(dir: &str) -> i32 {
    let dir = match std::fs::canonicalize(dir) {
        Ok(p) if p.is_dir() => p.to_string_lossy().into_owned(),
        Ok(_) => {
            eprintln!("mountapi: {dir} is not a directory");
            return 2;
        }
        Err(e) => {
            eprintln!("mountapi: {dir}: {e}");
            return 2;
        }
    };
    if CString::new(dir.clone()).is_err() {
        eprintln!("mountapi: {dir}: NUL in the path");
        return 2;
    }
    let others = eventfs_mounts();
    if !others.is_empty() {
        eprintln!(
            "mountapi: eventfs is mounted on {}; the test needs the only superblock",
            others.join(", ")
        );
        return 2;
    }
    let mut ck = Checks::default();
    if let Err(e) = run_checks(&mut ck, &dir) {
        println!("FAIL {e}");
        ck.failed += 1;
    }
    let doubled = std::mem::take(&mut ck.doubled);
    let n = ck.messages;
    ck.check(
        &format!("no log message has the prefix twice ({n} messages read)"),
        doubled.is_empty(),
        || format!("{doubled:?}"),
    );
    // Leave the system as found, also after a failure.
    if mount_line(&dir).is_some() {
        if let Err(e) = sys::umount(&sys::cpath(&dir)) {
            println!("FAIL cleanup: umount2({dir}): {e}");
            ck.failed += 1;
        }
    }
    println!("mountapi: {} passed, {} failed", ck.passed, ck.failed);
    i32::from(ck.failed != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_options() {
        assert_eq!(
            efs_opts("rw,relatime,uid=1000,gid=1001,mode=1777"),
            ["uid=1000", "gid=1001", "mode=1777"]
        );
        assert!(efs_opts("rw,relatime").is_empty());
    }

    #[test]
    fn describes_calls() {
        assert_eq!(
            Cfg::bad(c"mode", c"9", &[BAD_MODE]).to_string(),
            "fsconfig(SET_STRING, \"mode\", \"9\")"
        );
        assert_eq!(
            Cfg::bad_flag(c"foo", &[]).to_string(),
            "fsconfig(SET_FLAG, \"foo\")"
        );
        assert_eq!(
            Cfg::cmd(FSCONFIG_CMD_RECONFIGURE, Ok(()), &[]).to_string(),
            "fsconfig(CMD_RECONFIGURE)"
        );
        assert_eq!(
            format!("{:?}", Root::new(0o1777, 1, 2)),
            "mode 1777 uid 1 gid 2"
        );
    }

    #[test]
    fn every_bad_option_fails_with_a_message() {
        for c in BAD_OPTIONS {
            assert_eq!(c.want, Err(Errno(libc::EINVAL)), "{c}");
            assert!(!c.log.is_empty(), "{c}");
            assert!(c.log.iter().all(|m| !m.contains(DOUBLED_PREFIX)), "{c}");
        }
    }
}
