// SPDX-License-Identifier: GPL-2.0

//! The kernel's `<linux/ctype.h>` (`lib/ctype.c`: Latin-1), for the parsers that must
//! split and name things exactly as mainline's C parsers do (filters, kprobe
//! definitions). Plain Rust, built by the host crate too.

/// The kernel's `isspace()`: `\t \n \v \f \r`, space and Latin-1 no-break space.
pub(crate) fn is_space(c: u8) -> bool {
    matches!(c, b'\t'..=b'\r' | b' ' | 0xa0)
}

/// The kernel's `isdigit()`.
pub(crate) fn is_digit(c: u8) -> bool {
    c.is_ascii_digit()
}

/// The kernel's `isalpha()`: ASCII and Latin-1 letters.
pub(crate) fn is_alpha(c: u8) -> bool {
    c.is_ascii_alphabetic() || matches!(c, 0xc0..=0xd6 | 0xd8..=0xf6 | 0xf8..=0xff)
}

/// The kernel's `isalnum()`: letters and digits.
pub(crate) fn is_alnum(c: u8) -> bool {
    is_alpha(c) || is_digit(c)
}

/// The byte at `i` of `s`, or NUL past its end (C strings end with one).
pub(crate) fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}
