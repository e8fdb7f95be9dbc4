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
//! A kprobe event's fields ([`Fields`]) are integers and `__data_loc char[]` strings: an
//! integer of another size than 1, 2, 4 or 8 bytes (an array) is `EINVAL` once named, as
//! mainline's `parse_entry()` refuses it. A record of an event with `__data_loc` fields
//! has, after its fixed part, one NUL where every string not named points (length 0,
//! printed `(fault)`), then each string named, with its NUL, in the order written; its
//! word is `(length << 16) | offset`, as mainline's `trace_alloc_entry()` and
//! `parse_entry()` make them.
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

/// How `inject` writes a field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SlotKind {
    /// An integer of the slot's size (1, 2, 4 or 8 bytes; another size is refused).
    Int,
    /// `char[N]`: a string, at most `N - 1` bytes and NUL-padded.
    Text,
    /// `__data_loc char[]`: a 32-bit word, `(length << 16) | offset`, pointing at the
    /// string, which goes after the record's fixed part.
    DataLoc,
}

/// Where a field of a record is, and how its value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) offset: usize,
    pub(crate) size: usize,
    pub(crate) signed: bool,
    pub(crate) kind: SlotKind,
}

impl Slot {
    /// Whether the value is a string (in quotes).
    fn string(&self) -> bool {
        self.kind != SlotKind::Int
    }
}

/// The declared fields of an event, as `inject` finds them.
pub(crate) trait Fields {
    /// The field called `name`, if declared.
    fn slot(&self, name: &[u8]) -> Option<Slot>;
    /// The size of a record's fixed part: the common and the declared fields.
    fn fixed_size(&self) -> usize;
    /// Calls `f` on each declared field.
    fn each_slot(&self, f: &mut dyn FnMut(Slot));
    /// Whether a declared field is a `__data_loc` string.
    fn has_data_loc(&self) -> bool {
        let mut any = false;
        self.each_slot(&mut |s| any |= s.kind == SlotKind::DataLoc);
        any
    }
}

/// The fields of a synthetic event: `(type, name)` in order, laid out by [`layout`].
pub(crate) struct Declared<I>(pub(crate) I);

impl<'f, I: Iterator<Item = (FieldType, &'f [u8])> + Clone> Declared<I> {
    /// Each field's name and slot, in order.
    fn slots(&self) -> impl Iterator<Item = (&'f [u8], Slot)> + '_ {
        let offsets = layout(self.0.clone().map(|(ty, _)| ty));
        self.0
            .clone()
            .zip(offsets)
            .map(|((ty, name), (offset, size))| {
                let kind = match ty {
                    FieldType::CharArray(_) => SlotKind::Text,
                    _ => SlotKind::Int,
                };
                let signed = ty.signed();
                (
                    name,
                    Slot {
                        offset,
                        size,
                        signed,
                        kind,
                    },
                )
            })
    }
}

impl<'f, I: Iterator<Item = (FieldType, &'f [u8])> + Clone> Fields for Declared<I> {
    fn slot(&self, name: &[u8]) -> Option<Slot> {
        self.slots().find(|(n, _)| *n == name).map(|(_, s)| s)
    }

    fn fixed_size(&self) -> usize {
        record_size(self.0.clone().map(|(ty, _)| ty))
    }

    fn has_data_loc(&self) -> bool {
        // Synthetic events' strings are `char[N]`.
        false
    }

    fn each_slot(&self, f: &mut dyn FnMut(Slot)) {
        self.slots().for_each(|(_, s)| f(s));
    }
}

/// Finds field `name` among the common fields and `fields`.
fn find_slot<F: Fields + ?Sized>(name: &[u8], fields: &F) -> Result<Slot, InjectError> {
    if GENERIC_FIELDS.contains(&name) {
        return Err(InjectError::Invalid);
    }
    if let Some(&(_, offset, size, signed)) = COMMON_FIELDS.iter().find(|c| c.0 == name) {
        return Ok(Slot {
            offset,
            size,
            signed,
            kind: SlotKind::Int,
        });
    }
    fields.slot(name).ok_or(InjectError::NoField)
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
fn parse_pair<'s, F: Fields + ?Sized>(
    s: &'s [u8],
    fields: &F,
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
            if slot.string() {
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
            if !slot.string() {
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

/// The bytes of a string value a `__data_loc` field stores: up to its first NUL (what
/// mainline's `strlen()` of the value takes).
fn c_string(t: &[u8]) -> &[u8] {
    &t[..t.iter().position(|&c| c == 0).unwrap_or(t.len())]
}

/// Checks one parsed value against its slot as mainline's `parse_entry()` does when it
/// stores it: an integer field must be 1, 2, 4 or 8 bytes.
fn storable(slot: &Slot) -> Result<(), InjectError> {
    match (slot.kind, slot.size) {
        (SlotKind::Int, 1 | 2 | 4 | 8) | (SlotKind::Text | SlotKind::DataLoc, _) => Ok(()),
        (SlotKind::Int, _) => Err(InjectError::Invalid),
    }
}

/// The length of the record a write of `text` to `inject` makes for an event with
/// declared fields `fields`: the fixed part, then for an event with `__data_loc` fields one
/// NUL and each string named, with its NUL. For such an event the text is parsed, and a
/// refused one gets the answer [`parse_inject`] would give; otherwise the text is not
/// looked at (its refusal comes from [`parse_inject`], which checks in the same order).
pub(crate) fn inject_len<F: Fields + ?Sized>(
    text: &[u8],
    fields: &F,
) -> Result<usize, InjectError> {
    let mut len = fields.fixed_size();
    if !fields.has_data_loc() {
        // No second pass over the text of a write of numbers and char arrays.
        return Ok(len);
    }
    len += 1;
    let mut s = text.trim_ascii();
    while let Some((slot, value, used)) = parse_pair(s, fields)? {
        storable(&slot)?;
        if let (SlotKind::DataLoc, Value::Text(t)) = (slot.kind, value) {
            len += c_string(t).len() + 1;
        }
        s = s.get(used..).unwrap_or(&[]);
    }
    Ok(len)
}

/// Parses a write to `inject` of an event with declared fields `fields` into `rec`, a
/// record of the length [`inject_len`] gave whose common fields the caller filled: sets
/// each named field. On error `rec` may be partly set; the caller records nothing then.
pub(crate) fn parse_inject<F: Fields + ?Sized>(
    text: &[u8],
    fields: &F,
    rec: &mut [u8],
) -> Result<(), InjectError> {
    // Where strings go: after the fixed part and the NUL every unset string points at.
    let mut tail = 0;
    if fields.has_data_loc() {
        let fixed = fields.fixed_size();
        tail = fixed + 1;
        let mut unset = Ok(());
        fields.each_slot(&mut |slot| {
            if slot.kind == SlotKind::DataLoc && unset.is_ok() {
                unset = put_word(rec, &slot, (fixed & 0xffff) as u32);
            }
        });
        unset?;
    }
    let mut s = text.trim_ascii();
    while let Some((slot, value, used)) = parse_pair(s, fields)? {
        storable(&slot)?;
        match (slot.kind, value) {
            (SlotKind::DataLoc, Value::Text(t)) => {
                let t = c_string(t);
                let n = t.len() + 1;
                let dst = rec.get_mut(tail..tail + n).ok_or(InjectError::Invalid)?;
                dst[..n - 1].copy_from_slice(t);
                dst[n - 1] = 0;
                let word = ((n as u32) << 16) | (tail & 0xffff) as u32;
                put_word(rec, &slot, word)?;
                tail += n;
            }
            (_, Value::Number(v)) => {
                let dst = rec
                    .get_mut(slot.offset..slot.offset + slot.size)
                    .ok_or(InjectError::Invalid)?;
                let bytes = v.to_ne_bytes();
                // The field's low-order bytes, as mainline's cast to its size keeps them.
                if cfg!(target_endian = "little") {
                    dst.copy_from_slice(&bytes[..slot.size]);
                } else {
                    dst.copy_from_slice(&bytes[8 - slot.size..]);
                }
            }
            (_, Value::Text(t)) => {
                let dst = rec
                    .get_mut(slot.offset..slot.offset + slot.size)
                    .ok_or(InjectError::Invalid)?;
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

/// Stores the `__data_loc` word of `slot`.
fn put_word(rec: &mut [u8], slot: &Slot, word: u32) -> Result<(), InjectError> {
    rec.get_mut(slot.offset..slot.offset + 4)
        .ok_or(InjectError::Invalid)?
        .copy_from_slice(&word.to_ne_bytes());
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
        let d = Declared(f.iter().copied());
        let len = inject_len(text.as_bytes(), &d)?;
        assert_eq!(len, record_size(f.iter().map(|f| f.0)));
        let mut rec = vec![0u8; len];
        parse_inject(text.as_bytes(), &d, &mut rec)?;
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

    /// The fields of a kprobe event: `__probe_ip`, a `u32`, two strings, a `u8[4]`.
    struct Probe;

    const PROBE_SLOTS: [(&[u8], Slot); 5] = [
        (
            b"__probe_ip",
            Slot {
                offset: 8,
                size: 8,
                signed: false,
                kind: SlotKind::Int,
            },
        ),
        (
            b"n",
            Slot {
                offset: 16,
                size: 4,
                signed: true,
                kind: SlotKind::Int,
            },
        ),
        (
            b"s",
            Slot {
                offset: 20,
                size: 4,
                signed: false,
                kind: SlotKind::DataLoc,
            },
        ),
        (
            b"t",
            Slot {
                offset: 24,
                size: 4,
                signed: false,
                kind: SlotKind::DataLoc,
            },
        ),
        (
            b"arr",
            Slot {
                offset: 28,
                size: 4 * 3,
                signed: false,
                kind: SlotKind::Int,
            },
        ),
    ];

    impl Fields for Probe {
        fn slot(&self, name: &[u8]) -> Option<Slot> {
            PROBE_SLOTS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| *s)
        }
        fn fixed_size(&self) -> usize {
            40
        }
        fn each_slot(&self, f: &mut dyn FnMut(Slot)) {
            PROBE_SLOTS.iter().for_each(|(_, s)| f(*s));
        }
    }

    fn inject_probe(text: &str) -> Result<Vec<u8>, InjectError> {
        let len = inject_len(text.as_bytes(), &Probe)?;
        let mut rec = vec![0xaau8; len];
        parse_inject(text.as_bytes(), &Probe, &mut rec)?;
        Ok(rec)
    }

    fn word(rec: &[u8], at: usize) -> (usize, usize) {
        let w = u32::from_ne_bytes(rec[at..at + 4].try_into().unwrap());
        ((w >> 16) as usize, (w & 0xffff) as usize)
    }

    /// `__data_loc` strings as mainline's `trace_alloc_entry()` and `parse_entry()` make
    /// them: unset ones point, empty, at the NUL after the fixed part; set ones follow it
    /// in the order written, with their NUL.
    #[test]
    fn data_loc_strings() {
        let rec = inject_probe("").unwrap();
        assert_eq!(rec.len(), 41);
        assert_eq!(word(&rec, 20), (0, 40));
        assert_eq!(word(&rec, 24), (0, 40));
        let rec = inject_probe("t=\"hello\" n=-3 s='ab' __probe_ip=0x1122").unwrap();
        assert_eq!(rec.len(), 41 + 6 + 3);
        assert_eq!(word(&rec, 24), (6, 41));
        assert_eq!(&rec[41..47], b"hello\0");
        assert_eq!(word(&rec, 20), (3, 47));
        assert_eq!(&rec[47..50], b"ab\0");
        assert_eq!(read_int(&rec, 16, 4, true), Some(-3));
        assert_eq!(read_int(&rec, 8, 8, false), Some(0x1122));
        // Set twice: both stored, the word points at the last.
        let rec = inject_probe("s='a' s='bc'").unwrap();
        assert_eq!(rec.len(), 41 + 2 + 3);
        assert_eq!(word(&rec, 20), (3, 43));
        // The empty string is one NUL, length 1 (not "(fault)").
        let rec = inject_probe("s=''").unwrap();
        assert_eq!(word(&rec, 20), (1, 41));
        // A NUL inside the quotes ends the string, as strlen() ends it.
        let rec = inject_probe("s='a\0b'").unwrap();
        assert_eq!(word(&rec, 20), (2, 41));
    }

    #[test]
    fn probe_errors() {
        use InjectError::*;
        for (text, err) in [
            // An array is no integer of 1, 2, 4 or 8 bytes: refused when named, before
            // a later unknown field is looked at.
            ("arr=1", Invalid),
            ("arr=1 nope=2", Invalid),
            ("nope=2 arr=1", NoField),
            ("s=1", Invalid),
            ("n='x'", Invalid),
            ("s=\"open", Invalid),
        ] {
            assert_eq!(inject_probe(text).err(), Some(err), "{text}");
            assert_eq!(
                inject_len(text.as_bytes(), &Probe).err(),
                Some(err),
                "{text}"
            );
        }
    }

    #[test]
    fn short_record_prints_question_marks() {
        assert_eq!(line(&[0u8; 18]), "ev: a=0 b=? c=? d=? e=? g=?");
    }
}
