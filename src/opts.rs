// SPDX-License-Identifier: GPL-2.0

//! Mount options of eventfs: `uid=`, `gid=`, `mode=`, `dontcache`.
//!
//! Plain Rust with no kernel dependency, so that `cargo test` checks it on the host
//! (`tests/host`). The kernel side (`fs.rs`) instantiates [`MountOpts`] with the kernel's
//! `kuid_t`/`kgid_t` wrappers; the tests use plain integers.

/// Mode of the root directory when `mode=` was never given (tracefs' default).
pub(crate) const DEFAULT_ROOT_MODE: u16 = 0o700;

/// The largest valid `mode=` value: permission bits plus setuid, setgid and sticky.
pub(crate) const MAX_MODE: u16 = 0o7777;

/// The options eventfs understands, numbered as in the kernel parameter table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    /// `uid=`: owner of every entry not chown'ed since the last remount with `uid=`.
    Uid = 0,
    /// `gid=`: group of every entry not chgrp'ed since the last remount with `gid=`.
    Gid = 1,
    /// `mode=`: permission bits of the root directory (octal).
    Mode = 2,
    /// `dontcache`: unused dentries and inodes go at their last use instead of staying
    /// cached until memory pressure or `drop_caches`.
    DontCache = 3,
}

impl Key {
    /// Returns the key whose option number is `opt`.
    pub(crate) fn from_opt(opt: u8) -> Option<Key> {
        match opt {
            0 => Some(Key::Uid),
            1 => Some(Key::Gid),
            2 => Some(Key::Mode),
            3 => Some(Key::DontCache),
            _ => None,
        }
    }
}

/// Why an option value was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OptError {
    /// `mode=` was empty, not octal, or larger than [`MAX_MODE`].
    BadMode,
}

impl OptError {
    /// The message logged for the mount (shown by `dmesg` and by `fsconfig` users).
    pub(crate) fn message(self) -> &'static core::ffi::CStr {
        match self {
            OptError::BadMode => c"mode= must be an octal number no larger than 07777",
        }
    }
}

/// Parses the value of `mode=`: one to four octal digits after optional leading zeros
/// (`755`, `0755`, `01777`), at most [`MAX_MODE`].
pub(crate) fn parse_mode(value: &[u8]) -> Result<u16, OptError> {
    if value.is_empty() {
        return Err(OptError::BadMode);
    }
    let mut mode: u32 = 0;
    for &c in value {
        if !(b'0'..=b'7').contains(&c) {
            return Err(OptError::BadMode);
        }
        mode = mode * 8 + u32::from(c - b'0');
        if mode > u32::from(MAX_MODE) {
            return Err(OptError::BadMode);
        }
    }
    // The loop keeps `mode <= MAX_MODE`, which fits in a `u16`.
    Ok(mode as u16)
}

/// Options of one mount or remount request, or the options in force on the superblock.
///
/// `None` means "not given": a remount changes only what it names, as tracefs does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MountOpts<U, G> {
    /// `uid=`, if given.
    pub(crate) uid: Option<U>,
    /// `gid=`, if given.
    pub(crate) gid: Option<G>,
    /// `mode=`, if given (already validated by [`parse_mode`]).
    pub(crate) mode: Option<u16>,
    /// `dontcache`, if given.
    pub(crate) dontcache: Option<bool>,
}

impl<U: Copy, G: Copy> MountOpts<U, G> {
    /// Options with nothing given.
    pub(crate) const fn none() -> Self {
        MountOpts {
            uid: None,
            gid: None,
            mode: None,
            dontcache: None,
        }
    }

    /// Applies a later request on top of these options: what `newer` gives wins, what it
    /// does not give stays.
    pub(crate) fn merge(&mut self, newer: &Self) {
        if newer.uid.is_some() {
            self.uid = newer.uid;
        }
        if newer.gid.is_some() {
            self.gid = newer.gid;
        }
        if newer.mode.is_some() {
            self.mode = newer.mode;
        }
        if newer.dontcache.is_some() {
            self.dontcache = newer.dontcache;
        }
    }

    /// The mode bits of the root directory.
    pub(crate) fn root_mode(&self) -> u16 {
        self.mode.unwrap_or(DEFAULT_ROOT_MODE)
    }

    /// The owner of entries that were never chown'ed, `root` when none was given.
    pub(crate) fn uid_or(&self, root: U) -> U {
        self.uid.unwrap_or(root)
    }

    /// The group of entries that were never chgrp'ed, `root` when none was given.
    pub(crate) fn gid_or(&self, root: G) -> G {
        self.gid.unwrap_or(root)
    }

    /// Whether unused dentries are dropped at once.
    pub(crate) fn dontcache(&self) -> bool {
        self.dontcache.unwrap_or(false)
    }

    /// Whether `/proc/mounts` should show `mode=`: only when it differs from the default.
    pub(crate) fn shows_mode(&self) -> Option<u16> {
        self.mode.filter(|&m| m != DEFAULT_ROOT_MODE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Opts = MountOpts<u32, u32>;

    #[test]
    fn mode_accepts_octal() {
        assert_eq!(parse_mode(b"755"), Ok(0o755));
        assert_eq!(parse_mode(b"0755"), Ok(0o755));
        assert_eq!(parse_mode(b"0"), Ok(0));
        assert_eq!(parse_mode(b"7777"), Ok(0o7777));
        assert_eq!(parse_mode(b"00000700"), Ok(0o700));
    }

    #[test]
    fn mode_rejects_garbage() {
        for bad in [
            &b""[..],
            b"8",
            b"0x1ff",
            b"-1",
            b"755 ",
            b" 755",
            b"abc",
            b"10000",
            b"77777",
        ] {
            assert_eq!(parse_mode(bad), Err(OptError::BadMode), "{:?}", bad);
        }
    }

    #[test]
    fn mode_rejects_overflow_without_wrapping() {
        // 2^32 in octal would wrap a naive u32 accumulator back to 0.
        assert_eq!(parse_mode(b"40000000000"), Err(OptError::BadMode));
        assert_eq!(parse_mode(b"777777777777777777777"), Err(OptError::BadMode));
    }

    #[test]
    fn defaults() {
        let o = Opts::none();
        assert_eq!(o.root_mode(), 0o700);
        assert_eq!(o.uid_or(0), 0);
        assert_eq!(o.gid_or(0), 0);
        assert_eq!(o.shows_mode(), None);
    }

    #[test]
    fn remount_changes_only_what_it_names() {
        let mut sb = Opts {
            uid: Some(1),
            gid: Some(2),
            mode: Some(0o755),
            dontcache: None,
        };
        sb.merge(&Opts {
            uid: Some(7),
            ..Opts::none()
        });
        assert_eq!(
            sb,
            Opts {
                uid: Some(7),
                gid: Some(2),
                mode: Some(0o755),
                dontcache: None
            }
        );
        sb.merge(&Opts::none());
        assert_eq!(
            sb,
            Opts {
                uid: Some(7),
                gid: Some(2),
                mode: Some(0o755),
                dontcache: None
            }
        );
        sb.merge(&Opts {
            gid: Some(0),
            mode: Some(0o700),
            ..Opts::none()
        });
        assert_eq!(
            sb,
            Opts {
                uid: Some(7),
                gid: Some(0),
                mode: Some(0o700),
                dontcache: None
            }
        );
        assert_eq!(sb.shows_mode(), None);
    }

    #[test]
    fn keys_round_trip() {
        for k in [Key::Uid, Key::Gid, Key::Mode, Key::DontCache] {
            assert_eq!(Key::from_opt(k as u8), Some(k));
        }
        assert_eq!(Key::from_opt(4), None);
    }
}
