//! Thin wrappers over the system calls the tool makes.
//!
//! Every wrapper returns `Result<_, Errno>`, and none of them allocates: the fault
//! injection mode calls them while `/proc/thread-self/fail-nth` is armed, when any
//! allocation of the task (even a page fault on fresh memory) could take the fault meant
//! for the operation under test. Callers build their C strings and buffers beforehand.

use std::ffi::{CStr, CString};
use std::fmt;
use std::mem::MaybeUninit;

use libc::c_int;

/// `statfs(2)` `f_type` of eventfs (`TRACEFS_MAGIC + 1`, see `src/fs.rs`).
pub const EVENTFS_MAGIC: u64 = 0x7472_6164;

/// An `errno` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Errno(pub i32);

/// Symbolic names of the errno values the tool may meet.
const ERRNO_NAMES: &[(i32, &str)] = &[
    (libc::EPERM, "EPERM"),
    (libc::ENOENT, "ENOENT"),
    (libc::ESRCH, "ESRCH"),
    (libc::EINTR, "EINTR"),
    (libc::EIO, "EIO"),
    (libc::ENXIO, "ENXIO"),
    (libc::E2BIG, "E2BIG"),
    (libc::EBADF, "EBADF"),
    (libc::EAGAIN, "EAGAIN"),
    (libc::ENOMEM, "ENOMEM"),
    (libc::EACCES, "EACCES"),
    (libc::EFAULT, "EFAULT"),
    (libc::EBUSY, "EBUSY"),
    (libc::EEXIST, "EEXIST"),
    (libc::EXDEV, "EXDEV"),
    (libc::ENODEV, "ENODEV"),
    (libc::ENOTDIR, "ENOTDIR"),
    (libc::EISDIR, "EISDIR"),
    (libc::EINVAL, "EINVAL"),
    (libc::ENFILE, "ENFILE"),
    (libc::EMFILE, "EMFILE"),
    (libc::ETXTBSY, "ETXTBSY"),
    (libc::EFBIG, "EFBIG"),
    (libc::ENOSPC, "ENOSPC"),
    (libc::ESPIPE, "ESPIPE"),
    (libc::EROFS, "EROFS"),
    (libc::EMLINK, "EMLINK"),
    (libc::ERANGE, "ERANGE"),
    (libc::EDEADLK, "EDEADLK"),
    (libc::ENAMETOOLONG, "ENAMETOOLONG"),
    (libc::ENOSYS, "ENOSYS"),
    (libc::ENOTEMPTY, "ENOTEMPTY"),
    (libc::ENODATA, "ENODATA"),
    (libc::ELOOP, "ELOOP"),
    (libc::EOVERFLOW, "EOVERFLOW"),
    (libc::ENOTSUP, "EOPNOTSUPP"),
    (libc::ESTALE, "ESTALE"),
    (libc::ENOKEY, "ENOKEY"),
];

impl Errno {
    /// The `errno` of the last failed call of this thread.
    pub fn last() -> Errno {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }

    /// The symbolic name (`"ENOENT"`), if the tool knows it.
    pub fn name(self) -> Option<&'static str> {
        ERRNO_NAMES
            .iter()
            .find(|&&(n, _)| n == self.0)
            .map(|&(_, s)| s)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(s) => f.write_str(s),
            None => write!(f, "errno {}", self.0),
        }
    }
}

/// The result of a system call.
pub type SysResult<T> = Result<T, Errno>;

/// Turns a C return value (negative on failure) into a result.
fn check(ret: c_int) -> SysResult<c_int> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

/// Turns a size-returning C call into a result.
fn check_size(ret: isize) -> SysResult<usize> {
    usize::try_from(ret).map_err(|_| Errno::last())
}

/// A C string for `path`. The tool only builds paths from its own names, which never
/// contain NUL; a stray NUL is replaced so that the call fails instead of the tool.
pub fn cpath(path: &str) -> CString {
    CString::new(path.replace('\0', "?")).unwrap_or_default()
}

/// An open file descriptor, closed on drop (use [`Fd::close`] to see the result).
#[derive(Debug)]
pub struct Fd(c_int);

impl Fd {
    /// Closes the descriptor and returns the result of `close(2)`.
    pub fn close(self) -> SysResult<()> {
        let fd = self.0;
        std::mem::forget(self);
        // SAFETY: `fd` is a descriptor this `Fd` owned; ownership ends here.
        check(unsafe { libc::close(fd) }).map(|_| ())
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: We own the descriptor.
        unsafe { libc::close(self.0) };
    }
}

/// `open(2)` (always with `O_CLOEXEC`).
pub fn open(path: &CStr, flags: c_int) -> SysResult<Fd> {
    // SAFETY: `path` is a valid C string; the mode argument is ignored without O_CREAT.
    check(unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC, 0o600) }).map(Fd)
}

/// `pipe2(2)` (with `O_CLOEXEC`): the read end and the write end.
pub fn pipe() -> SysResult<(Fd, Fd)> {
    let mut fds: [c_int; 2] = [-1, -1];
    // SAFETY: `fds` has room for the two descriptors.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    Ok((Fd(fds[0]), Fd(fds[1])))
}

/// The calling thread's id (what trace lines show as the pid).
pub fn gettid() -> u32 {
    // SAFETY: No arguments; cannot fail.
    unsafe { libc::gettid() as u32 }
}

/// `read(2)`.
pub fn read(fd: &Fd, buf: &mut [u8]) -> SysResult<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes.
    check_size(unsafe { libc::read(fd.0, buf.as_mut_ptr().cast(), buf.len()) })
}

/// `pread(2)`.
pub fn pread(fd: &Fd, buf: &mut [u8], offset: i64) -> SysResult<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes.
    check_size(unsafe { libc::pread(fd.0, buf.as_mut_ptr().cast(), buf.len(), offset) })
}

/// `write(2)`.
pub fn write(fd: &Fd, data: &[u8]) -> SysResult<usize> {
    // SAFETY: `data` is valid for `data.len()` bytes.
    check_size(unsafe { libc::write(fd.0, data.as_ptr().cast(), data.len()) })
}

/// `poll(2)` of one descriptor for `POLLIN`, waiting up to `timeout_ms`; the
/// `revents` (0 on a timeout).
pub fn poll_in(fd: &Fd, timeout_ms: c_int) -> SysResult<i16> {
    let mut p = libc::pollfd {
        fd: fd.0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: One valid pollfd.
    let r = check(unsafe { libc::poll(&mut p, 1, timeout_ms) })?;
    Ok(if r == 0 { 0 } else { p.revents })
}

/// `lseek(fd, 0, SEEK_SET)`.
pub fn rewind(fd: &Fd) -> SysResult<()> {
    // SAFETY: Plain system call on a descriptor we own.
    let r = unsafe { libc::lseek(fd.0, 0, libc::SEEK_SET) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// The raw `getdents64(2)` system call: fills `buf` with `linux_dirent64` records and
/// returns the bytes used (0 at the end of the directory).
pub fn getdents64(fd: &Fd, buf: &mut [u8]) -> SysResult<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes; the kernel writes at most that many.
    let r = unsafe {
        libc::syscall(
            libc::SYS_getdents64,
            fd.0,
            buf.as_mut_ptr(),
            buf.len() as libc::c_ulong,
        )
    };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r as usize)
    }
}

/// `stat(2)`.
pub fn stat(path: &CStr) -> SysResult<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `path` is a valid C string and `st` has room for a `struct stat`.
    check(unsafe { libc::stat(path.as_ptr(), st.as_mut_ptr()) })?;
    // SAFETY: stat() succeeded, so it filled `st`.
    Ok(unsafe { st.assume_init() })
}

/// `chmod(2)`.
pub fn chmod(path: &CStr, mode: u32) -> SysResult<()> {
    // SAFETY: `path` is a valid C string.
    check(unsafe { libc::chmod(path.as_ptr(), mode as libc::mode_t) }).map(|_| ())
}

/// `chown(2)`.
pub fn chown(path: &CStr, uid: u32, gid: u32) -> SysResult<()> {
    // SAFETY: `path` is a valid C string.
    check(unsafe { libc::chown(path.as_ptr(), uid, gid) }).map(|_| ())
}

/// `chdir(2)`.
pub fn chdir(path: &CStr) -> SysResult<()> {
    // SAFETY: `path` is a valid C string.
    check(unsafe { libc::chdir(path.as_ptr()) }).map(|_| ())
}

/// `mkdir(2)`.
pub fn mkdir(path: &CStr, mode: u32) -> SysResult<()> {
    // SAFETY: `path` is a valid C string.
    check(unsafe { libc::mkdir(path.as_ptr(), mode as libc::mode_t) }).map(|_| ())
}

/// `rmdir(2)`.
pub fn rmdir(path: &CStr) -> SysResult<()> {
    // SAFETY: `path` is a valid C string.
    check(unsafe { libc::rmdir(path.as_ptr()) }).map(|_| ())
}

/// `mount(2)`.
pub fn mount(
    source: &CStr,
    target: &CStr,
    fstype: &CStr,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> SysResult<()> {
    let data = data.map_or(std::ptr::null(), |d| d.as_ptr().cast::<libc::c_void>());
    // SAFETY: All strings are valid C strings; `data` is null or a C string, which is
    // what eventfs (an fs_context filesystem) expects.
    check(unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            flags,
            data,
        )
    })
    .map(|_| ())
}

/// `umount2(target, 0)`.
pub fn umount(target: &CStr) -> SysResult<()> {
    // SAFETY: `target` is a valid C string.
    check(unsafe { libc::umount2(target.as_ptr(), 0) }).map(|_| ())
}

/// `fstat(2)`; also works on the `O_PATH`-like descriptors of the mount API.
pub fn fstat(fd: &Fd) -> SysResult<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` has room for a `struct stat`.
    check(unsafe { libc::fstat(fd.0, st.as_mut_ptr()) })?;
    // SAFETY: fstat() succeeded, so it filled `st`.
    Ok(unsafe { st.assume_init() })
}

/// The `f_type` that `fstatfs(2)` reports for `fd`.
pub fn fd_fs_type(fd: &Fd) -> SysResult<u64> {
    let mut st = MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: `st` has room for a `struct statfs`.
    check(unsafe { libc::fstatfs(fd.0, st.as_mut_ptr()) })?;
    // SAFETY: fstatfs() succeeded, so it filled `st`.
    let st = unsafe { st.assume_init() };
    Ok(st.f_type as u64 & 0xffff_ffff)
}

/// Flags and commands of the mount API (`include/uapi/linux/mount.h`), defined here so
/// that the tool does not depend on which of them a `libc` release carries.
pub mod mount_api {
    /// `fsopen()`: close the context descriptor on exec.
    pub const FSOPEN_CLOEXEC: u32 = 0x1;
    /// `fspick()`: close the context descriptor on exec.
    pub const FSPICK_CLOEXEC: u32 = 0x1;
    /// `fspick()`: pick the mount that the descriptor itself refers to.
    pub const FSPICK_EMPTY_PATH: u32 = 0x8;
    /// `fsconfig()`: set a flag parameter (no value).
    pub const FSCONFIG_SET_FLAG: u32 = 0;
    /// `fsconfig()`: set a parameter to a string.
    pub const FSCONFIG_SET_STRING: u32 = 1;
    /// `fsconfig()`: create (or reuse) the superblock.
    pub const FSCONFIG_CMD_CREATE: u32 = 6;
    /// `fsconfig()`: apply the parameters to the picked superblock.
    pub const FSCONFIG_CMD_RECONFIGURE: u32 = 7;
    /// `fsconfig()`: create the superblock; fail if it would be shared.
    pub const FSCONFIG_CMD_CREATE_EXCL: u32 = 8;
    /// `fsmount()`: close the mount descriptor on exec.
    pub const FSMOUNT_CLOEXEC: u32 = 0x1;
    /// `move_mount()`: the source is the descriptor itself.
    pub const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
    /// `open_tree()`: a detached copy of the mount, not the mount itself.
    pub const OPEN_TREE_CLONE: u32 = 0x1;
}

/// Turns the return value of `libc::syscall` for a call that yields a descriptor into
/// an [`Fd`].
fn check_fd(ret: libc::c_long) -> SysResult<Fd> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        // A descriptor always fits in a c_int.
        Ok(Fd(ret as c_int))
    }
}

/// Turns the return value of `libc::syscall` for a call without a result into one.
fn check_unit(ret: libc::c_long) -> SysResult<()> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// `fsopen(2)`: a new filesystem context of type `fstype`.
pub fn fsopen(fstype: &CStr, flags: u32) -> SysResult<Fd> {
    // SAFETY: `fstype` is a valid C string; the kernel only reads it.
    check_fd(unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), flags) })
}

/// `fspick(2)`: a reconfiguration context for the superblock of the mount at `path`
/// (relative to `dirfd`, or `None` for the working directory).
pub fn fspick(dirfd: Option<&Fd>, path: &CStr, flags: u32) -> SysResult<Fd> {
    let dirfd = dirfd.map_or(libc::AT_FDCWD, |fd| fd.0);
    // SAFETY: `path` is a valid C string; the kernel only reads it.
    check_fd(unsafe { libc::syscall(libc::SYS_fspick, dirfd, path.as_ptr(), flags) })
}

/// `fsconfig(2)`: one command on a filesystem context. `key` and `value` are passed as
/// null pointers when `None`; `aux` is always 0 (no command used here needs it).
pub fn fsconfig(fd: &Fd, cmd: u32, key: Option<&CStr>, value: Option<&CStr>) -> SysResult<()> {
    let key = key.map_or(std::ptr::null(), CStr::as_ptr);
    let value = value.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: `key` and `value` are null or valid C strings; the kernel only reads them.
    check_unit(unsafe { libc::syscall(libc::SYS_fsconfig, fd.0, cmd, key, value, 0 as c_int) })
}

/// `fsmount(2)`: a detached mount of the superblock created in context `fd`.
pub fn fsmount(fd: &Fd, flags: u32, attr_flags: u32) -> SysResult<Fd> {
    // SAFETY: Plain system call on a descriptor we own.
    check_fd(unsafe { libc::syscall(libc::SYS_fsmount, fd.0, flags, attr_flags) })
}

/// `move_mount(from, "", AT_FDCWD, to, flags)`: attaches the mount `from` (with
/// `MOVE_MOUNT_F_EMPTY_PATH` in `flags`) at `to`.
pub fn move_mount(from: &Fd, to: &CStr, flags: u32) -> SysResult<()> {
    // SAFETY: Both paths are valid C strings; the kernel only reads them.
    check_unit(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.0,
            c"".as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            flags,
        )
    })
}

/// `open_tree(AT_FDCWD, path, flags)`.
pub fn open_tree(path: &CStr, flags: u32) -> SysResult<Fd> {
    // SAFETY: `path` is a valid C string; the kernel only reads it.
    check_fd(unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) })
}

/// The `f_type` that `statfs(2)` reports for `path`.
pub fn fs_type(path: &CStr) -> SysResult<u64> {
    let mut st = MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: `path` is a valid C string and `st` has room for a `struct statfs`.
    check(unsafe { libc::statfs(path.as_ptr(), st.as_mut_ptr()) })?;
    // SAFETY: statfs() succeeded, so it filled `st`.
    let st = unsafe { st.assume_init() };
    // f_type is a signed word; the magic numbers are unsigned 32-bit values.
    Ok(st.f_type as u64 & 0xffff_ffff)
}

/// `unshare(CLONE_FS)`: gives the calling thread its own working directory.
pub fn unshare_fs() -> SysResult<()> {
    // SAFETY: Plain system call.
    check(unsafe { libc::unshare(libc::CLONE_FS) }).map(|_| ())
}

/// Writes `data` to the file at `path` in one `write(2)` (for sysctl and debugfs knobs).
/// Allocates: not for use while a fault is armed.
pub fn write_file(path: &str, data: &str) -> SysResult<()> {
    let fd = open(&cpath(path), libc::O_WRONLY)?;
    let n = write(&fd, data.as_bytes())?;
    fd.close()?;
    if n == data.len() {
        Ok(())
    } else {
        Err(Errno(libc::EIO))
    }
}

/// Reads the file at `path` to its end (at most `limit` bytes, and a bounded number of
/// reads). Allocates: not for use while a fault is armed.
pub fn read_file(path: &str, limit: usize) -> SysResult<Vec<u8>> {
    let fd = open(&cpath(path), libc::O_RDONLY)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..4096 {
        let n = read(&fd, &mut buf)?;
        if n == 0 || out.len() >= limit {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    fd.close()?;
    Ok(out)
}

/// Whether `mode` (an `st_mode`) is a directory.
pub fn is_dir(mode: u32) -> bool {
    mode & libc::S_IFMT == libc::S_IFDIR
}

/// Whether `mode` (an `st_mode`) is a regular file.
pub fn is_reg(mode: u32) -> bool {
    mode & libc::S_IFMT == libc::S_IFREG
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names() {
        assert_eq!(Errno(libc::ENOENT).to_string(), "ENOENT");
        assert_eq!(Errno(libc::ENAMETOOLONG).to_string(), "ENAMETOOLONG");
        assert_eq!(Errno(4095).to_string(), "errno 4095");
        // Every name is listed once.
        for (i, (n, s)) in ERRNO_NAMES.iter().enumerate() {
            assert!(s.starts_with('E'));
            assert!(ERRNO_NAMES[i + 1..].iter().all(|(m, _)| m != n), "{s}");
        }
    }

    #[test]
    fn cpath_never_fails() {
        assert_eq!(cpath("/a/b").as_bytes(), b"/a/b");
        assert_eq!(cpath("a\0b").as_bytes(), b"a?b");
    }

    #[test]
    fn pipes_and_tids() {
        let (r, w) = pipe().unwrap();
        assert_eq!(write(&w, b"ab"), Ok(2));
        let mut buf = [0u8; 4];
        assert_eq!(read(&r, &mut buf), Ok(2));
        assert_eq!(&buf[..2], b"ab");
        r.close().unwrap();
        w.close().unwrap();
        let me = gettid();
        assert!(me > 0);
        assert_eq!(gettid(), me);
        let other = std::thread::spawn(gettid).join().unwrap();
        assert_ne!(other, me);
    }

    #[test]
    fn plain_files() {
        let dir = std::env::temp_dir().join(format!("eventfs-stress-sys-{}", std::process::id()));
        let _ = std::fs::create_dir(&dir);
        let file = dir.join("f");
        let file = file.to_str().unwrap();
        std::fs::write(file, b"").unwrap();
        write_file(file, "hello").unwrap();
        assert_eq!(read_file(file, 1 << 20).unwrap(), b"hello");
        let st = stat(&cpath(file)).unwrap();
        assert!(is_reg(st.st_mode) && !is_dir(st.st_mode));
        assert_eq!(
            stat(&cpath(&format!("{file}/x"))).unwrap_err(),
            Errno(libc::ENOTDIR)
        );
        let fd = open(
            &cpath(dir.to_str().unwrap()),
            libc::O_RDONLY | libc::O_DIRECTORY,
        )
        .unwrap();
        let mut buf = vec![0u8; 4096];
        assert!(getdents64(&fd, &mut buf).unwrap() > 0);
        rewind(&fd).unwrap();
        fd.close().unwrap();
        let sub = cpath(dir.join("d").to_str().unwrap());
        mkdir(&sub, 0o755).unwrap();
        assert_eq!(mkdir(&sub, 0o755), Err(Errno(libc::EEXIST)));
        rmdir(&sub).unwrap();
        assert_eq!(rmdir(&sub), Err(Errno(libc::ENOENT)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
