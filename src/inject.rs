// SPDX-License-Identifier: GPL-2.0

//! Event records: their layout, the `inject` file's parser that fills one, and the text
//! `trace` prints for one.
//!
//! A record of an event is laid out exactly as its `format` file says: the common fields
//! (`common_type` ... `common_pid`, [`COMMON_FIELDS_SIZE`] bytes) and then the declared
//! fields at the offsets [`layout`] gives, native endian, `char[N]` fields NUL-padded.
//!
//! `inject` takes what mainline's `trace_events_inject.c` takes: the written text, cut of
//! leading and trailing white space, is a sequence of `FIELD=VALUE`, where `FIELD` is a
//! declared or a common field and `VALUE` is an integer (`kstrtoull()`/`kstrtoll()` in base
//! 0, so `0x` hex and `0` octal, `-` for any field whose `signed:` is 1; the value is cut
//! to the field's size as mainline's `memcpy` of its low bytes cuts it) for a numeric
//! field, or a string in `'` or `"` quotes (a backslash keeps the next character from
//! ending it, and stays in the value, as in mainline) for a `char[N]` field, which gets at
//! most `N - 1` bytes and a NUL. The errno values are mainline's: an unknown field is
//! `ENOENT`; a field name that is missing, a missing `=`, a value of the wrong kind, a
//! number followed by anything but white space, an unterminated or a 256-byte string
//! (`MAX_FILTER_STR_VAL`) is `EINVAL`; a number out of range of 64 bits is `ERANGE`. The
//! generic field names mainline finds before the others (`CPU`, `cpu`, `common_cpu`,
//! `COMM`, `comm`, `stacktrace`, `STACKTRACE`) have no place in a record: `EINVAL`, as
//! their zero size makes them in mainline. Fields not named are 0.
//!
//! The printed line of a record is mainline's `print_synth_event()`: `EVENT: ` and then
//! `NAME=VALUE` per field, separated by one space, in the field's `printf` conversion. Not
//! printed: the names of the flags of a `gfp_t` that mainline appends in parentheses
//! (only the hexadecimal value is).
//!
//! Plain Rust with no kernel dependency and no allocation; `cargo test` checks it on the
//! host (`tests/host`). Nothing here panics, whatever the input.

use core::fmt;

use crate::events::{layout, FieldType, COMMON_FIELDS_SIZE};

/// The longest string value `inject` takes, with its NUL: mainline's `MAX_FILTER_STR_VAL`.
pub(crate) const MAX_STRING: usize = 256;

/// Why `inject` refused a write: the errno mainline gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InjectError {
    /// `EINVAL`.
    Invalid,
    /// `ENOENT`: no such field.
    NoField,
    /// `ERANGE`: a number out of range.
    Range,
}

/// The common fields of every record: name, offset, size, signed.
const COMMON_FIELDS: [(&[u8], usize, usize, bool); 4] = [
    (b"common_type", 0, 2, false),
    (b"common_flags", 2, 1, false),
    (b"common_preempt_count", 3, 1, false),
    (b"common_pid", 4, 4, true),
];

/// Names mainline finds first and cannot inject.
const GENERIC_FIELDS: [&[u8]; 7] = [
    b"CPU",
    b"cpu",
    b"common_cpu",
    b"COMM",
    b"comm",
    b"stacktrace",
    b"STACKTRACE",
];

/// The size of a record of an event with fields of types `fields`.
pub(crate) fn record_size(fields: impl Iterator<Item = FieldType>) -> usize {
    layout(fields)
        .last()
        .map_or(COMMON_FIELDS_SIZE, |(offset, size)| offset + size)
}

/// Where a field of a record is, and how its value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    offset: usize,
    size: usize,
    signed: bool,
    string: bool,
}

/// Finds field `name` among the common fields and `fields`.
fn find_slot<'f>(
    name: &[u8],
    fields: impl Iterator<Item = (FieldType, &'f [u8])> + Clone,
) -> Result<Slot, InjectError> {
    if GENERIC_FIELDS.contains(&name) {
        return Err(InjectError::Invalid);
    }
    if let Some(&(_, offset, size, signed)) = COMMON_FIELDS.iter().find(|c| c.0 == name) {
        return Ok(Slot {
            offset,
            size,
            signed,
            string: false,
        });
    }
    let offsets = layout(fields.clone().map(|(ty, _)| ty));
    fields
        .zip(offsets)
        .find(|((_, n), _)| *n == name)
        .map(|((ty, _), (offset, size))| Slot {
            offset,
            size,
            signed: ty.signed(),
            string: matches!(ty, FieldType::CharArray(_)),
        })
        .ok_or(InjectError::NoField)
}

/// `kstrtoull(s, 0)`: base 0 (`0x` hex, `0` octal, else decimal), an optional leading
/// `+`, digits to the end.
fn kstrtoull(s: &[u8]) -> Result<u64, InjectError> {
    let s = s.strip_prefix(b"+").unwrap_or(s);
    let (radix, digits) = match s {
        [b'0', x, d, ..] if x.eq_ignore_ascii_case(&b'x') && d.is_ascii_hexdigit() => (16, &s[2..]),
        [b'0', ..] => (8, s),
        _ => (10, s),
    };
    if digits.is_empty() {
        return Err(InjectError::Invalid);
    }
    let mut v: u64 = 0;
    for &c in digits {
        let d = (c as char).to_digit(radix).ok_or(InjectError::Invalid)?;
        v = v
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or(InjectError::Range)?;
    }
    Ok(v)
}

/// `kstrtoll(s, 0)`: as [`kstrtoull`], with a leading `-`, in range of `i64`.
fn kstrtoll(s: &[u8]) -> Result<u64, InjectError> {
    if let Some(rest) = s.strip_prefix(b"-") {
        let v = kstrtoull(rest)?;
        if v > i64::MAX as u64 + 1 {
            return Err(InjectError::Range);
        }
        Ok(v.wrapping_neg())
    } else {
        let v = kstrtoull(s)?;
        if v > i64::MAX as u64 {
            return Err(InjectError::Range);
        }
        Ok(v)
    }
}

/// One parsed `FIELD=VALUE`.
enum Value<'a> {
    Number(u64),
    /// The bytes between the quotes.
    Text(&'a [u8]),
}

/// Parses the `FIELD=VALUE` at the start of `s` (after white space): the field's slot,
/// its value and how much of `s` it took; `None` at the end of the text.
fn parse_pair<'s, 'f>(
    s: &'s [u8],
    fields: impl Iterator<Item = (FieldType, &'f [u8])> + Clone,
) -> Result<Option<(Slot, Value<'s>, usize)>, InjectError> {
    if s.is_empty() {
        return Ok(None);
    }
    let skip = |i: usize| {
        i + s[i..]
            .iter()
            .take_while(|c| c.is_ascii_whitespace())
            .count()
    };
    let start = skip(0);
    let end = start
        + s[start..]
            .iter()
            .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_')
            .count();
    if end == start {
        return Err(InjectError::Invalid);
    }
    let slot = find_slot(&s[start..end], fields)?;
    let mut i = skip(end);
    if s.get(i) != Some(&b'=') {
        return Err(InjectError::Invalid);
    }
    i = skip(i + 1);
    let vstart = i;
    match s.get(i) {
        Some(&c) if c.is_ascii_digit() || c == b'-' => {
            if slot.string {
                return Err(InjectError::Invalid);
            }
            if c == b'-' {
                i += 1;
            }
            i += s[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            if s.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                return Err(InjectError::Invalid);
            }
            let num = &s[vstart..i];
            let v = if slot.signed {
                kstrtoll(num)?
            } else {
                kstrtoull(num)?
            };
            Ok(Some((slot, Value::Number(v), i)))
        }
        Some(&q) if q == b'\'' || q == b'"' => {
            if !slot.string {
                return Err(InjectError::Invalid);
            }
            i += 1;
            loop {
                match s.get(i) {
                    None => return Err(InjectError::Invalid),
                    Some(b'\\') if i + 1 < s.len() => i += 2,
                    Some(&c) if c == q => break,
                    Some(_) => i += 1,
                }
            }
            let text = &s[vstart + 1..i];
            if text.len() >= MAX_STRING {
                return Err(InjectError::Invalid);
            }
            Ok(Some((slot, Value::Text(text), i + 1)))
        }
        _ => Err(InjectError::Invalid),
    }
}

/// Parses a write to `inject` of an event with declared fields `fields` into `rec`, a
/// record of [`record_size`] bytes whose common fields the caller filled: sets each named
/// field. On error `rec` may be partly set; the caller records nothing then.
pub(crate) fn parse_inject<'f>(
    text: &[u8],
    fields: impl Iterator<Item = (FieldType, &'f [u8])> + Clone,
    rec: &mut [u8],
) -> Result<(), InjectError> {
    let mut s = text.trim_ascii();
    while let Some((slot, value, used)) = parse_pair(s, fields.clone())? {
        let dst = rec
            .get_mut(slot.offset..slot.offset + slot.size)
            .ok_or(InjectError::Invalid)?;
        match value {
            Value::Number(v) => {
                let bytes = v.to_ne_bytes();
                // The field's low-order bytes, as mainline's cast to its size keeps them.
                if cfg!(target_endian = "little") {
                    dst.copy_from_slice(&bytes[..slot.size]);
                } else {
                    dst.copy_from_slice(&bytes[8 - slot.size..]);
                }
            }
            Value::Text(t) => {
                // `strscpy()`: at most size - 1 bytes and a NUL; the rest stays 0.
                let n = t.len().min(slot.size.saturating_sub(1));
                dst.fill(0);
                dst[..n].copy_from_slice(&t[..n]);
            }
        }
        s = s.get(used..).unwrap_or(&[]);
    }
    Ok(())
}

/// Reads the integer of `size` bytes at `at` of `rec`, widened by its signedness.
fn read_int(rec: &[u8], at: usize, size: usize, signed: bool) -> Option<i128> {
    let b = rec.get(at..at.checked_add(size)?)?;
    let mut raw = [0u8; 8];
    if cfg!(target_endian = "little") {
        raw[..size].copy_from_slice(b);
    } else {
        raw[8 - size..].copy_from_slice(b);
    }
    let u = u64::from_ne_bytes(raw);
    Some(if signed {
        let shift = 64 - 8 * size as u32;
        i128::from(((u << shift) as i64) >> shift)
    } else {
        i128::from(u)
    })
}

/// Writes the text of a record of event `event` with fields `fields` (without its context
/// and without the final newline): `EVENT: NAME=VALUE NAME=VALUE`. A record too short for
/// a field (one written with another `common_type`) prints `?` for it.
pub(crate) fn write_record<'f, W: fmt::Write>(
    w: &mut W,
    event: &[u8],
    fields: impl Iterator<Item = (FieldType, &'f [u8])> + Clone,
    rec: &[u8],
) -> fmt::Result {
    w.write_str(core::str::from_utf8(event).unwrap_or("?"))?;
    w.write_str(": ")?;
    let offsets = layout(fields.clone().map(|(ty, _)| ty));
    for (i, ((ty, name), (offset, size))) in fields.zip(offsets).enumerate() {
        if i != 0 {
            w.write_char(' ')?;
        }
        w.write_str(core::str::from_utf8(name).unwrap_or("?"))?;
        w.write_char('=')?;
        if let FieldType::CharArray(_) = ty {
            let Some(b) = rec.get(offset..offset + size) else {
                w.write_char('?')?;
                continue;
            };
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            for chunk in b[..end].utf8_chunks() {
                w.write_str(chunk.valid())?;
                for _ in chunk.invalid() {
                    w.write_char('?')?;
                }
            }
            continue;
        }
        match read_int(rec, offset, size, ty.signed()) {
            None => w.write_char('?')?,
            Some(v) if ty == FieldType::GfpT => write!(w, "{:x}", v)?,
            Some(v) => write!(w, "{v}")?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> [(FieldType, &'static [u8]); 6] {
        [
            (FieldType::U64, b"a"),
            (FieldType::S32, b"b"),
            (FieldType::CharArray(8), b"c"),
            (FieldType::U8, b"d"),
            (FieldType::Char, b"e"),
            (FieldType::GfpT, b"g"),
        ]
    }

    fn inject(text: &str) -> Result<Vec<u8>, InjectError> {
        let f = fields();
        let mut rec = vec![0u8; record_size(f.iter().map(|f| f.0))];
        parse_inject(text.as_bytes(), f.iter().copied(), &mut rec)?;
        Ok(rec)
    }

    fn line(rec: &[u8]) -> String {
        let mut s = String::new();
        write_record(&mut s, b"ev", fields().iter().copied(), rec).unwrap();
        s
    }

    #[test]
    fn layout_and_size() {
        // a@8 (8), b@16 (4), c@20 (8), d@28, e@29, g@32 (4): 36 bytes.
        assert_eq!(record_size(fields().iter().map(|f| f.0)), 36);
        assert_eq!(record_size(core::iter::empty()), COMMON_FIELDS_SIZE);
    }

    #[test]
    fn values() {
        let rec = inject("a=18446744073709551615 b=-5 c=\"hi\" d=0x1ff e=-1 g=0x10").unwrap();
        assert_eq!(
            line(&rec),
            "ev: a=18446744073709551615 b=-5 c=hi d=255 e=-1 g=10"
        );
        let rec = inject("  a = 010\tc='x y'b=0  ").unwrap();
        assert_eq!(line(&rec), "ev: a=8 b=0 c=x y d=0 e=0 g=0");
        // A string is cut to N - 1 bytes and a NUL; an escape stays as written.
        let rec = inject(r#"c="0123456789" "#).unwrap();
        assert_eq!(line(&rec), "ev: a=0 b=0 c=0123456 d=0 e=0 g=0");
        let rec = inject(r#"c="a\"b""#).unwrap();
        assert_eq!(line(&rec), "ev: a=0 b=0 c=a\\\"b d=0 e=0 g=0");
        // Nothing named: all zero.
        assert_eq!(line(&inject("").unwrap()), "ev: a=0 b=0 c= d=0 e=0 g=0");
        // Common fields may be set.
        let rec = inject("common_pid=-2 common_flags=3").unwrap();
        assert_eq!(read_int(&rec, 4, 4, true), Some(-2));
        assert_eq!(rec[2], 3);
    }

    #[test]
    fn errors() {
        use InjectError::*;
        for (text, err) in [
            ("x=1", NoField),
            ("a=1 x=1", NoField),
            ("=1", Invalid),
            ("a", Invalid),
            ("a 1", Invalid),
            ("a=", Invalid),
            ("a=x", Invalid),
            ("a=1,b=2", Invalid),
            ("a=12z", Invalid),
            ("a=-1", Invalid),
            ("a=0x", Invalid),
            ("a=09", Invalid),
            ("a=18446744073709551616", Range),
            ("b=9223372036854775808", Range),
            ("b=-9223372036854775809", Range),
            ("c=1", Invalid),
            ("a='1'", Invalid),
            ("c=\"open", Invalid),
            ("c=\"ends in a backslash\\\"", Invalid),
            ("cpu=1", Invalid),
            ("COMM='x'", Invalid),
            ("a=1 !", Invalid),
        ] {
            assert_eq!(inject(text).err(), Some(err), "{text}");
        }
        let long = format!("c=\"{}\"", "x".repeat(MAX_STRING));
        assert_eq!(inject(&long).err(), Some(Invalid));
        let ok = format!("c=\"{}\"", "x".repeat(MAX_STRING - 1));
        assert!(inject(&ok).is_ok());
        assert_eq!(kstrtoll(b"-9223372036854775808"), Ok(i64::MIN as u64));
    }

    #[test]
    fn short_record_prints_question_marks() {
        assert_eq!(line(&[0u8; 18]), "ev: a=0 b=? c=? d=? e=? g=?");
    }
}
