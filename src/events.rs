// SPDX-License-Identifier: GPL-2.0

//! The `dynamic_events` control file of eventfs: command parser and text renderers.
//!
//! One command per line (a write may hold several lines separated by `'\n'`):
//!
//! ```text
//! s:[GROUP/]EVENT FIELD[;FIELD...]    create a synthetic event (GROUP defaults to "synthetic")
//! -:[GROUP/]EVENT [ARGS...]           remove an event
//! !PREFIX:[GROUP/]EVENT [ARGS...]     remove an event (e.g. "!s:EVENT FIELD[;FIELD...]")
//! ```
//!
//! The fields are parsed as mainline's `__create_synth_event()` parses them: the list is
//! split on `;` (empty pieces are skipped) and each piece into whitespace-separated
//! tokens, taken as repeated `TYPE NAME` or `unsigned TYPE NAME` (so `u64 a; u8 b;` and
//! `u64 a u8 b` are both two fields). `TYPE` is one of `u8 u16 u32 u64 s8 s16 s32 s64 char
//! int long pid_t bool gfp_t`, `unsigned char|int|long`, or `char[N]`; a `NAME[N]` on a
//! `char` field makes it `char[N]`. `N` is `kstrtouint()`'s number (decimal, `0x` hex,
//! `0` octal, at most 3 characters) in `1..=256`. The command prefix, the optional group
//! and the event name form one token (`s:grp/ev`). Refusals are mainline's, with its
//! `error_log` messages and caret positions (the first occurrence of the offending token
//! in the command, as its `errpos()` finds it). Not supported, though mainline accepts
//! them: dynamic strings (`char NAME[]`), stacktraces (`long[]`), more than
//! [`MAX_FIELDS`] fields. A group other than `synthetic` is this module's extension.
//!
//! Removal is parsed as mainline's `dyn_event_release()` splits it, and matched as its
//! `synth_event_match()` matches a synthetic event: the first whitespace-delimited token
//! names the event (after `-:`, or after the first `:` of a token starting with `!`,
//! whatever precedes that `:`); the rest of the line is ignored, as mainline ignores it
//! for synthetic events (their fields are not compared). The name is not validated: a
//! name no event has is `ENOENT`, not `EINVAL`. `-:GROUP/` (an empty event) is mainline's
//! group-wide removal for probes only; a synthetic event matches by name, so here it
//! matches nothing (`ENOENT`). Only a `-` not followed by `:`, a `!` token without `:`,
//! or an empty event without a group (`-:`) is refused (`EINVAL`, not logged in
//! `error_log`: mainline logs no removal errors).
//!
//! Plain Rust with no kernel dependency and no allocation: parsed commands borrow from the
//! written line, and the renderers write to any [`core::fmt::Write`]. `cargo test` checks
//! this file on the host (`tests/host`). Nothing here panics, whatever the input.

use core::fmt;

/// The group of an event created without an explicit `GROUP/`.
pub(crate) const DEFAULT_GROUP: &[u8] = b"synthetic";

/// The longest group, event or field name, in bytes.
pub(crate) const NAME_MAX_LEN: usize = 64;

/// The most fields one event may declare.
pub(crate) const MAX_FIELDS: usize = 32;

/// The largest `N` of a `char NAME[N]` field.
pub(crate) const MAX_ARRAY_LEN: u16 = 256;

/// Size of the common fields (`common_type`, `common_flags`, `common_preempt_count`,
/// `common_pid`) that precede the declared fields of every event record.
pub(crate) const COMMON_FIELDS_SIZE: usize = 8;

/// Group names that would collide with the control files of the eventfs root.
const RESERVED_GROUPS: [&[u8]; 2] = [b"enable", b"dynamic_events"];

/// Event names that would collide with the control files of a group directory.
const RESERVED_EVENTS: [&[u8]; 1] = [b"enable"];

/// Prefix of the common field names, which declared fields may not use.
const RESERVED_FIELD_PREFIX: &[u8] = b"common_";

/// The type of one field of a synthetic event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldType {
    /// `u8`.
    U8,
    /// `u16`.
    U16,
    /// `u32`.
    U32,
    /// `u64`.
    U64,
    /// `s8`.
    S8,
    /// `s16`.
    S16,
    /// `s32`.
    S32,
    /// `s64`.
    S64,
    /// `int` (32 bits, signed).
    Int,
    /// `pid_t` (32 bits, signed).
    PidT,
    /// `char` (8 bits, signed).
    Char,
    /// `unsigned char`.
    UChar,
    /// `unsigned int`.
    UInt,
    /// `long` (the kernel's: 64 bits on 64-bit, signed).
    Long,
    /// `unsigned long`.
    ULong,
    /// `bool` (8 bits; signed, as mainline declares it).
    Bool,
    /// `gfp_t` (32 bits, unsigned).
    GfpT,
    /// `char NAME[N]`: a NUL-padded string of `N` bytes (`1..=MAX_ARRAY_LEN`).
    CharArray(u16),
}

impl FieldType {
    /// Returns the scalar type spelled `name` (`unsigned ` included; `char` arrays are
    /// not scalars).
    fn scalar(name: &[u8]) -> Option<FieldType> {
        Some(match name {
            b"u8" => FieldType::U8,
            b"u16" => FieldType::U16,
            b"u32" => FieldType::U32,
            b"u64" => FieldType::U64,
            b"s8" => FieldType::S8,
            b"s16" => FieldType::S16,
            b"s32" => FieldType::S32,
            b"s64" => FieldType::S64,
            b"int" => FieldType::Int,
            b"pid_t" => FieldType::PidT,
            b"char" => FieldType::Char,
            b"unsigned char" => FieldType::UChar,
            b"unsigned int" => FieldType::UInt,
            b"long" => FieldType::Long,
            b"unsigned long" => FieldType::ULong,
            b"bool" => FieldType::Bool,
            b"gfp_t" => FieldType::GfpT,
            _ => return None,
        })
    }

    /// Size of the field in the event record, in bytes.
    pub(crate) fn size(self) -> usize {
        match self {
            FieldType::U8 | FieldType::S8 | FieldType::Char | FieldType::UChar => 1,
            FieldType::Bool => 1,
            FieldType::U16 | FieldType::S16 => 2,
            FieldType::U32 | FieldType::S32 | FieldType::Int | FieldType::PidT => 4,
            FieldType::UInt | FieldType::GfpT => 4,
            FieldType::U64 | FieldType::S64 => 8,
            FieldType::Long | FieldType::ULong => core::mem::size_of::<core::ffi::c_long>(),
            FieldType::CharArray(n) => usize::from(n),
        }
    }

    /// Alignment of the field in the event record: its size for scalars, 1 for `char`
    /// arrays.
    pub(crate) fn align(self) -> usize {
        match self {
            FieldType::CharArray(_) => 1,
            scalar => scalar.size(),
        }
    }

    /// Whether the field is signed (the `signed:` of the format file), as mainline's
    /// `synth_field_signed()` says for scalars.
    pub(crate) fn signed(self) -> bool {
        matches!(
            self,
            FieldType::S8
                | FieldType::S16
                | FieldType::S32
                | FieldType::S64
                | FieldType::Int
                | FieldType::PidT
                | FieldType::Char
                | FieldType::Long
                | FieldType::Bool
        )
    }

    /// The C type name: `u8` ... `s64`, `int`, `pid_t`, `unsigned long`..., or `char` for
    /// `char` arrays
    /// (without the `[N]`, which follows the field name).
    pub(crate) fn c_type(self) -> &'static str {
        match self {
            FieldType::U8 => "u8",
            FieldType::U16 => "u16",
            FieldType::U32 => "u32",
            FieldType::U64 => "u64",
            FieldType::S8 => "s8",
            FieldType::S16 => "s16",
            FieldType::S32 => "s32",
            FieldType::S64 => "s64",
            FieldType::Int => "int",
            FieldType::PidT => "pid_t",
            FieldType::Char | FieldType::CharArray(_) => "char",
            FieldType::UChar => "unsigned char",
            FieldType::UInt => "unsigned int",
            FieldType::Long => "long",
            FieldType::ULong => "unsigned long",
            FieldType::Bool => "bool",
            FieldType::GfpT => "gfp_t",
        }
    }

    /// The printf conversion of the field in the `print fmt:` line of the format file.
    pub(crate) fn printf(self) -> &'static str {
        match self {
            FieldType::U8 | FieldType::U16 | FieldType::U32 => "%u",
            FieldType::U64 => "%llu",
            FieldType::S8
            | FieldType::S16
            | FieldType::S32
            | FieldType::Int
            | FieldType::PidT
            | FieldType::Char
            | FieldType::Bool => "%d",
            FieldType::UChar | FieldType::UInt => "%u",
            FieldType::Long => "%ld",
            FieldType::ULong => "%lu",
            FieldType::GfpT => "%x",
            FieldType::S64 => "%lld",
            FieldType::CharArray(_) => "%s",
        }
    }
}

/// One declared field of a synthetic event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// The type of the field.
    pub(crate) ty: FieldType,
    /// The name of the field (a valid name, see [`valid_name`]).
    pub(crate) name: &'a [u8],
}

impl Field<'_> {
    /// A placeholder for the unused slots of [`EventSpec`].
    const EMPTY: Field<'static> = Field {
        ty: FieldType::U8,
        name: b"",
    };
}

/// A parsed `s:` command: the event to create, borrowing from the written line.
#[derive(Clone)]
pub(crate) struct EventSpec<'a> {
    /// The group (a valid, non-reserved name; [`DEFAULT_GROUP`] when none was given).
    pub(crate) group: &'a [u8],
    /// The event name (a valid, non-reserved name).
    pub(crate) event: &'a [u8],
    /// The declared fields; only the first `nr` are meaningful.
    fields: [Field<'a>; MAX_FIELDS],
    /// How many fields were declared (`1..=MAX_FIELDS` once parsed).
    nr: usize,
}

impl<'a> EventSpec<'a> {
    /// An event with no fields yet.
    fn new(group: &'a [u8], event: &'a [u8]) -> Self {
        EventSpec {
            group,
            event,
            fields: [Field::EMPTY; MAX_FIELDS],
            nr: 0,
        }
    }

    /// The declared fields, in declaration (and record layout) order.
    pub(crate) fn fields(&self) -> &[Field<'a>] {
        self.fields.get(..self.nr).unwrap_or(&[])
    }

    /// Appends `field`, refusing duplicates and more than [`MAX_FIELDS`] fields.
    fn push(&mut self, field: Field<'a>) -> Result<(), ParseError> {
        if self.fields().iter().any(|f| f.name == field.name) {
            return Err(ParseError::DuplicateField);
        }
        let slot = self
            .fields
            .get_mut(self.nr)
            .ok_or(ParseError::TooManyFields)?;
        *slot = field;
        self.nr += 1;
        Ok(())
    }
}

impl PartialEq for EventSpec<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.group == other.group && self.event == other.event && self.fields() == other.fields()
    }
}

impl Eq for EventSpec<'_> {}

impl fmt::Debug for EventSpec<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSpec")
            .field("group", &core::str::from_utf8(self.group).unwrap_or("?"))
            .field("event", &core::str::from_utf8(self.event).unwrap_or("?"))
            .field("fields", &self.fields())
            .finish()
    }
}

/// One parsed line of `dynamic_events`.
///
/// [`Command::Create`] holds the whole [`EventSpec`] (about 800 bytes on 64-bit) inline,
/// as nothing here allocates; a command lives on the stack only while its line is
/// handled.
#[expect(
    clippy::large_enum_variant,
    reason = "no allocation to box the spec into; commands are short-lived"
)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    /// `s:[GROUP/]EVENT FIELD[;FIELD...]`: create a synthetic event.
    Create(EventSpec<'a>),
    /// `-:[GROUP/]EVENT [ARGS...]` or `!PREFIX:[GROUP/]EVENT [ARGS...]` (`![GROUP/]EVENT
    /// [ARGS...]` in `synthetic_events`): remove an event. The arguments are ignored.
    Remove {
        /// The group ([`DEFAULT_GROUP`] when none was given). Not validated: it may be
        /// empty (`-:/EVENT`) or no group's name, and then matches nothing.
        group: &'a [u8],
        /// The event name. Not validated: it may be empty (`-:GROUP/`), hold `/` or be no
        /// event's name, and then matches nothing.
        event: &'a [u8],
    },
}

/// Why a line of `dynamic_events` or `synthetic_events` was refused. The variants that
/// are mainline's synthetic-event errors say which (`SYNTH_ERR_...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// `INVALID_CMD`: no event name, fewer than three tokens before the first `;`, no
    /// field.
    Syntax,
    /// `INVALID_DYN_CMD`: a `dynamic_events` line that is no known command, or a refused
    /// `s:` command with a group other than `synthetic`.
    DynSyntax,
    /// `BAD_NAME`: an event or field name that is empty, too long or has invalid
    /// characters.
    BadName,
    /// `INVALID_TYPE`: an unknown field type (or one this module does not support).
    BadType,
    /// `INVALID_ARRAY_SPEC`: a malformed `[N]` (or one this module does not support).
    BadArrayLen,
    /// `INCOMPLETE_TYPE`: `unsigned` without a type and a name after it.
    IncompleteType,
    /// `INVALID_FIELD`: a type without a name.
    InvalidField,
    /// `TOO_MANY_FIELDS`: more than [`MAX_FIELDS`] fields.
    TooManyFields,
    /// Two fields of one event have the same name (logged as `INVALID_FIELD`).
    DuplicateField,
    /// A reserved group, event or field name (`enable`, `dynamic_events`, `common_*`;
    /// logged as `BAD_NAME`).
    Reserved,
    /// A malformed removal: `-` not followed by `:`, a `!` token without `:`, or no
    /// event and no group (`-:`). Mainline refuses these with `EINVAL` and logs nothing.
    BadRemoval,
}

impl ParseError {
    /// The message logged when a write to `dynamic_events` is refused.
    pub(crate) fn message(self) -> &'static str {
        match self {
            ParseError::Syntax => "dynamic_events: syntax error",
            ParseError::DynSyntax => "dynamic_events: unknown command",
            ParseError::BadName => "dynamic_events: invalid name",
            ParseError::BadType => "dynamic_events: invalid field type",
            ParseError::BadArrayLen => "dynamic_events: invalid char array length",
            ParseError::IncompleteType => "dynamic_events: incomplete field type",
            ParseError::InvalidField => "dynamic_events: field without a name",
            ParseError::TooManyFields => "dynamic_events: too many fields",
            ParseError::DuplicateField => "dynamic_events: duplicate field name",
            ParseError::Reserved => "dynamic_events: reserved name",
            ParseError::BadRemoval => "dynamic_events: malformed removal",
        }
    }

    /// The text of the `error_log` entry, mainline's message for the error. `None` for
    /// an error mainline does not log (a malformed removal). Mainline logs every
    /// synthetic-event error, whichever file the command was written to, under
    /// [`SYNTH_ERR_LOC`].
    pub(crate) fn log_text(self) -> Option<&'static str> {
        Some(match self {
            ParseError::Syntax => "Command must be of the form: <name> field[;field] ...",
            ParseError::DynSyntax => {
                "Command must be of the form: s or -:[synthetic/]<name> field[;field] ..."
            }
            ParseError::BadName | ParseError::Reserved => "Illegal name",
            ParseError::BadType => "Invalid type",
            ParseError::BadArrayLen => "Invalid array specification",
            ParseError::IncompleteType => "Incomplete type",
            ParseError::InvalidField | ParseError::DuplicateField => "Invalid field",
            ParseError::TooManyFields => "Too many fields",
            ParseError::BadRemoval => return None,
        })
    }
}

/// The location of mainline's synthetic-event `error_log` entries.
pub(crate) const SYNTH_ERR_LOC: &str = "synthetic_events";

/// Longest command line `dynamic_events` accepts, without its `'\n'`: mainline's
/// `trace_parse_run_command()` copies writes in 4 KiB pieces and accepts lines of up to
/// `WRITE_BUFSIZE - 2` bytes.
pub(crate) const MAX_LINE_LEN: usize = 4094;

/// The message for a longer line, worded as mainline's.
pub(crate) const LINE_TOO_LONG: &str = "Line length is too long: Should be less than 4094";

/// Splits a write to `dynamic_events` into lines (on `'\n'`; the pieces may be empty).
pub(crate) fn lines(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    buf.split(|&c| c == b'\n')
}

/// Whether `name` is a valid group, event or field name: `[A-Za-z_][A-Za-z0-9_]*`, at
/// most [`NAME_MAX_LEN`] bytes.
pub(crate) fn valid_name(name: &[u8]) -> bool {
    match name.split_first() {
        Some((&first, rest)) => {
            name.len() <= NAME_MAX_LEN
                && (first.is_ascii_alphabetic() || first == b'_')
                && rest.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
        }
        None => false,
    }
}

/// Whether `c` separates tokens within a line.
fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Whether `c` is ignored at the start and end of a line (C's `isspace`).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// A command line without the whitespace around it, as the parsers see it (refusal
/// positions count from its start).
pub(crate) fn trim_line(line: &[u8]) -> &[u8] {
    trim(line, is_space)
}

/// Returns `s` without the leading and trailing bytes for which `skip` holds.
fn trim(s: &[u8], skip: impl Fn(u8) -> bool) -> &[u8] {
    let start = s.iter().position(|&c| !skip(c)).unwrap_or(s.len());
    let end = s.iter().rposition(|&c| !skip(c)).map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or(&[])
}

/// Splits `s` around the first occurrence of `sep`, which belongs to neither part.
fn split_once(s: &[u8], sep: impl Fn(u8) -> bool) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|&c| sep(c))?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// Offset of the first occurrence of `tok` in `cmd`, or 0: where mainline's `errpos()`
/// (a `strstr()` in the logged command) puts the caret for a token.
fn errpos(cmd: &[u8], tok: &[u8]) -> usize {
    if tok.is_empty() {
        return 0;
    }
    cmd.windows(tok.len()).position(|w| w == tok).unwrap_or(0)
}

/// The whitespace-separated tokens of `s`, as `argv_split()` splits them.
fn tokens(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    s.split(|&c| is_space(c)).filter(|t| !t.is_empty())
}

/// Offset of the first occurrence of `pat` in `s`.
fn find(s: &[u8], pat: &[u8]) -> Option<usize> {
    s.windows(pat.len()).position(|w| w == pat)
}

/// Mainline's `synth_field_string_size()` on a composed type holding `char[` at `at`:
/// the `N` of `char[N]`, 0 for `char[]` (a dynamic string), `Err` when malformed.
fn string_size(ty: &[u8], at: usize) -> Result<u16, ()> {
    let start = at + b"char[".len();
    let end = ty.iter().position(|&c| c == b']').ok_or(())?;
    if end < start || ty.len() > end + 1 {
        return Err(());
    }
    let digits = ty.get(start..end).ok_or(())?;
    if digits.len() > 3 {
        return Err(());
    }
    if digits.is_empty() {
        return Ok(0);
    }
    let n = parse_uint(digits)?;
    if n > u32::from(MAX_ARRAY_LEN) {
        return Err(());
    }
    u16::try_from(n).map_err(|_| ())
}

/// `kstrtouint(s, 0, ...)` for short `s`: an optional `+`, then hexadecimal after `0x`,
/// octal after `0`, else decimal.
fn parse_uint(s: &[u8]) -> Result<u32, ()> {
    let s = s.strip_prefix(b"+").unwrap_or(s);
    let (radix, digits) = match s {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, s.get(2..).ok_or(())?),
        [b'0', ..] => (8, s),
        _ => (10, s),
    };
    if digits.is_empty() {
        return Err(());
    }
    let mut n: u32 = 0;
    for &c in digits {
        let d = char::from(c).to_digit(radix).ok_or(())?;
        n = n
            .checked_mul(radix)
            .and_then(|n| n.checked_add(d))
            .ok_or(())?;
    }
    Ok(n)
}

/// The longest composed field type (`[unsigned ]TYPE[ARRAY]`) examined; longer ones are
/// no type this parser supports.
const TYPE_BUF_LEN: usize = 64;

/// Parses one field, `TYPE NAME` (`unsigned` already taken off `ty` when `unsigned`), as
/// mainline's `parse_synth_field()` checks it: the name (up to any `[`) must be a good
/// name, then the type composed of `unsigned `, `TYPE` and the `[...]` of the name must be
/// a known one. On error, the token the caret goes under.
fn parse_field<'a>(
    unsigned: bool,
    ty: &'a [u8],
    tok: &'a [u8],
) -> Result<Field<'a>, (ParseError, &'a [u8])> {
    let (name, array) = match tok.iter().position(|&c| c == b'[') {
        Some(i) => (tok.get(..i).unwrap_or(&[]), tok.get(i..).unwrap_or(&[])),
        None => (tok, &[][..]),
    };
    if !valid_name(name) {
        return Err((ParseError::BadName, tok));
    }
    let mut buf = [0u8; TYPE_BUF_LEN];
    let prefix: &[u8] = if unsigned { b"unsigned " } else { b"" };
    let len = prefix.len() + ty.len() + array.len();
    let full = buf.get_mut(..len).ok_or((ParseError::BadType, ty))?;
    for (dst, &src) in full
        .iter_mut()
        .zip(prefix.iter().chain(ty.iter()).chain(array.iter()))
    {
        *dst = src;
    }
    let full = &*full;
    // An unsupported type mainline accepts (a dynamic string, a stacktrace, a string
    // type other than `char[N]`) is refused as mainline refuses a malformed one.
    let unsupported = if array.is_empty() {
        (ParseError::BadType, ty)
    } else {
        (ParseError::BadArrayLen, tok)
    };
    let ty = if let Some(at) = find(full, b"char[") {
        match string_size(full, at) {
            Ok(n) if n > 0 && at == 0 => FieldType::CharArray(n),
            Ok(_) => return Err(unsupported),
            Err(()) if array.is_empty() => return Err((ParseError::BadType, ty)),
            Err(()) => return Err((ParseError::BadArrayLen, tok)),
        }
    } else if find(full, b"long[").is_some() {
        return Err((ParseError::BadType, ty));
    } else {
        FieldType::scalar(full).ok_or((ParseError::BadType, ty))?
    };
    if name.starts_with(RESERVED_FIELD_PREFIX) {
        return Err((ParseError::Reserved, tok));
    }
    Ok(Field { ty, name })
}

/// A refused command line: why, and where in the line (without its surrounding
/// whitespace) the caret of its `error_log` entry goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// Why.
    pub(crate) err: ParseError,
    /// Byte offset of the offending token.
    pub(crate) pos: usize,
}

impl Refusal {
    /// A refusal with the caret at the start of the command.
    const fn at_start(err: ParseError) -> Refusal {
        Refusal { err, pos: 0 }
    }
}

/// An error and the part of the line it is about.
type Culprit<'a> = (ParseError, &'a [u8]);

/// Offset of `part` (a subslice of `line`, or empty at its end) within `line`.
fn offset(line: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize)
        .saturating_sub(line.as_ptr() as usize)
        .min(line.len())
}

/// Mainline's `check_command()`: unless it is a removal (`!`), the part of `cmd` up to
/// its first `;` must hold at least three tokens (a name and a whole field).
fn check_command(cmd: &[u8]) -> Result<(), Refusal> {
    let first = cmd.split(|&c| c == b';').next().unwrap_or(&[]);
    if first.first() == Some(&b'!') || tokens(first).nth(2).is_some() {
        Ok(())
    } else {
        Err(Refusal::at_start(ParseError::Syntax))
    }
}

/// Parses one line of `dynamic_events`.
///
/// Returns `Ok(None)` for a line that is empty or only whitespace. Leading and trailing
/// whitespace (including `'\r'`) is ignored.
pub(crate) fn parse_line(line: &[u8]) -> Result<Option<Command<'_>>, ParseError> {
    parse_line_at(line).map_err(|r| r.err)
}

/// [`parse_line`], telling where a refused line went wrong.
pub(crate) fn parse_line_at(line: &[u8]) -> Result<Option<Command<'_>>, Refusal> {
    let line = trim(line, is_space);
    if line.is_empty() {
        return Ok(None);
    }
    if line.starts_with(b"s:") {
        parse_dyn_create(line).map(Some)
    } else if matches!(line.first(), Some(b'-' | b'!')) {
        parse_remove(line).map(Some).map_err(|(err, at)| Refusal {
            err,
            pos: offset(line, at),
        })
    } else {
        Err(Refusal::at_start(ParseError::DynSyntax))
    }
}

/// Parses a removal line of `dynamic_events` (it starts with `-` or `!`), as mainline's
/// `dyn_event_release()`: only its first token counts, split on whitespace as
/// `argv_split()` splits; the arguments after it are ignored.
fn parse_remove(line: &[u8]) -> Result<Command<'_>, Culprit<'_>> {
    let token = line.split(|&c| is_space(c)).next().unwrap_or(&[]);
    let target = match token {
        [b'-', b':', target @ ..] => target,
        // `!` takes whatever follows the token's first `:` (`!s:EVENT`, `!p:EVENT`...).
        [b'!', ..] => match split_once(token, |c| c == b':') {
            Some((_, target)) => target,
            None => return Err((ParseError::BadRemoval, token)),
        },
        _ => return Err((ParseError::BadRemoval, token)),
    };
    if target.is_empty() {
        // No group and no event; `-:GROUP/` and `-:/EVENT` are well-formed.
        return Err((ParseError::BadRemoval, target));
    }
    Ok(remove_target(target))
}

/// The event a removal names: `[GROUP/]EVENT`, split at the first `/`, neither part
/// validated (a name no event has matches nothing).
fn remove_target(target: &[u8]) -> Command<'_> {
    let (group, event) = split_once(target, |c| c == b'/').unwrap_or((DEFAULT_GROUP, target));
    Command::Remove { group, event }
}

/// Parses an `s:` line of `dynamic_events` (`cmd`, trimmed), as mainline's
/// `create_synth_event()`: `s:[synthetic/]EVENT FIELDS`.
///
/// A group other than `synthetic` is this module's extension (mainline refuses any `/`
/// in the command but that of `synthetic/` with `INVALID_DYN_CMD`): a valid command
/// with one is accepted, and a refused one is refused as mainline refuses it.
fn parse_dyn_create(cmd: &[u8]) -> Result<Command<'_>, Refusal> {
    let rest = cmd.get(2..).unwrap_or(&[]);
    let slash = rest.contains(&b'/');
    let explicit = slash && rest.starts_with(b"synthetic/");
    let r = (|| {
        let p = cmd
            .iter()
            .position(|&c| is_blank(c))
            .ok_or(Refusal::at_start(ParseError::Syntax))?;
        let len = if explicit { 2 + b"synthetic/".len() } else { 2 };
        check_command(cmd.get(len..).unwrap_or(&[]))?;
        let target = cmd.get(len..p).unwrap_or(&[]);
        let fields = trim(cmd.get(p..).unwrap_or(&[]), is_space);
        create_synth(cmd, target, fields, slash && !explicit)
    })();
    if slash && !explicit {
        r.map_err(|_| Refusal::at_start(ParseError::DynSyntax))
    } else {
        r
    }
}

/// Mainline's `__create_synth_event()` on the event name `target` and the field list
/// `fields` of command `cmd`: the name must be good, then the fields are split on `;`
/// (empty pieces skipped), and each piece into tokens taken as `TYPE NAME` or
/// `unsigned TYPE NAME` pairs, so several fields may share a piece. `group`: whether
/// `target` is `GROUP/EVENT` (this module's extension).
fn create_synth<'a>(
    cmd: &'a [u8],
    target: &'a [u8],
    fields: &'a [u8],
    group: bool,
) -> Result<Command<'a>, Refusal> {
    let at = |err, tok| Refusal {
        err,
        pos: errpos(cmd, tok),
    };
    if target.is_empty() {
        return Err(Refusal::at_start(ParseError::Syntax));
    }
    let (group, event) = match group {
        true => split_once(target, |c| c == b'/').unwrap_or((DEFAULT_GROUP, target)),
        false => (DEFAULT_GROUP, target),
    };
    if !valid_name(group) || !valid_name(event) {
        return Err(at(ParseError::BadName, event));
    }
    if RESERVED_GROUPS.contains(&group) || RESERVED_EVENTS.contains(&event) {
        return Err(at(ParseError::Reserved, event));
    }
    let mut spec = EventSpec::new(group, event);
    for piece in fields.split(|&c| c == b';') {
        let mut toks = tokens(piece);
        while let Some(first) = toks.next() {
            let (unsigned, ty, name) = if first == b"unsigned" {
                match (toks.next(), toks.next()) {
                    (Some(ty), Some(name)) => (true, ty, name),
                    _ => return Err(at(ParseError::IncompleteType, first)),
                }
            } else {
                match toks.next() {
                    Some(name) => (false, first, name),
                    None => return Err(at(ParseError::InvalidField, first)),
                }
            };
            let f = parse_field(unsigned, ty, name).map_err(|(e, tok)| at(e, tok))?;
            spec.push(f).map_err(|e| match e {
                ParseError::TooManyFields => Refusal::at_start(e),
                e => at(e, name),
            })?;
        }
    }
    if spec.nr == 0 {
        return Err(Refusal::at_start(ParseError::Syntax));
    }
    Ok(Command::Create(spec))
}

/// Parses one line written to `synthetic_events` (mainline's syntax there, without the
/// `s:` of `dynamic_events`), as mainline's `create_or_delete_synth_event()`:
/// `EVENT FIELDS` creates an event, `![GROUP/]EVENT [ARGS...]` removes one. A removal is
/// never malformed: the name runs to the first space or tab, whatever follows is
/// ignored, and a name no event has (`!` alone included) matches nothing. Blank lines
/// are `Ok(None)`.
///
/// `GROUP/EVENT` is this module's extension: a valid command with one is accepted, a
/// refused one is refused as mainline refuses it (an illegal name).
pub(crate) fn parse_synth_line(line: &[u8]) -> Result<Option<Command<'_>>, Refusal> {
    let cmd = trim(line, is_space);
    if cmd.is_empty() {
        return Ok(None);
    }
    if let Some(rest) = cmd.strip_prefix(b"!") {
        return Ok(Some(remove_target(
            rest.split(|&c| is_blank(c)).next().unwrap_or(&[]),
        )));
    }
    check_command(cmd)?;
    let p = cmd
        .iter()
        .position(|&c| is_blank(c))
        .ok_or(Refusal::at_start(ParseError::Syntax))?;
    let target = cmd.get(..p).unwrap_or(&[]);
    let fields = trim(cmd.get(p..).unwrap_or(&[]), is_space);
    let group = target.contains(&b'/');
    let r = create_synth(cmd, target, fields, group);
    if group {
        r.map(Some)
            .map_err(|_| Refusal::at_start(ParseError::BadName))
    } else {
        r.map(Some)
    }
}

/// Where mainline puts the caret of an `Event already exists` entry for command `line`
/// creating `event`.
pub(crate) fn exists_pos(line: &[u8], event: &[u8]) -> usize {
    errpos(trim(line, is_space), event)
}

/// Computes the record layout of fields of the given types: `(offset, size)` of each, in
/// order. Fields follow the [`COMMON_FIELDS_SIZE`] bytes of common fields, each at the
/// next offset aligned to its [`FieldType::align`]. (Should an offset ever overflow, the
/// iterator ends early; with at most [`MAX_FIELDS`] fields it cannot.)
pub(crate) fn layout(
    fields: impl Iterator<Item = FieldType>,
) -> impl Iterator<Item = (usize, usize)> {
    fields.scan(COMMON_FIELDS_SIZE, |next, ty| {
        let size = ty.size();
        let offset = next.checked_next_multiple_of(ty.align())?;
        *next = offset.checked_add(size)?;
        Some((offset, size))
    })
}

/// Writes a validated name; names are ASCII, so the `"?"` fallback is never expected.
fn write_name<W: fmt::Write>(w: &mut W, name: &[u8]) -> fmt::Result {
    w.write_str(core::str::from_utf8(name).unwrap_or("?"))
}

/// Writes the declaration of one field: `TYPE NAME` or `char NAME[N]`.
fn write_decl<W: fmt::Write>(w: &mut W, ty: FieldType, name: &[u8]) -> fmt::Result {
    w.write_str(ty.c_type())?;
    w.write_char(' ')?;
    write_name(w, name)?;
    if let FieldType::CharArray(n) = ty {
        write!(w, "[{n}]")?;
    }
    Ok(())
}

/// Writes the `dynamic_events` listing line of one event, ending in `'\n'`:
/// `s:GROUP/EVENT TYPE NAME; TYPE NAME`. The group is always explicit, and
/// [`parse_line`] parses the line back into the same event.
pub(crate) fn write_listing<'f, W: fmt::Write>(
    w: &mut W,
    group: &[u8],
    event: &[u8],
    fields: impl Iterator<Item = (FieldType, &'f [u8])>,
) -> fmt::Result {
    w.write_str("s:")?;
    write_name(w, group)?;
    w.write_char('/')?;
    write_name(w, event)?;
    for (i, (ty, name)) in fields.enumerate() {
        w.write_str(if i == 0 { " " } else { "; " })?;
        write_decl(w, ty, name)?;
    }
    w.write_char('\n')
}

/// Writes one line of `synthetic_events`, as mainline prints a synthetic event there:
/// `EVENT\tTYPE NAME; TYPE NAME` (an array's type as `char[N]`), the group in front
/// (`GROUP/EVENT`) unless it is [`DEFAULT_GROUP`].
pub(crate) fn write_synth_listing<'f, W: fmt::Write>(
    w: &mut W,
    group: &[u8],
    event: &[u8],
    fields: impl Iterator<Item = (FieldType, &'f [u8])>,
) -> fmt::Result {
    if group != DEFAULT_GROUP {
        write_name(w, group)?;
        w.write_char('/')?;
    }
    write_name(w, event)?;
    w.write_char('\t')?;
    for (i, (ty, name)) in fields.enumerate() {
        if i > 0 {
            w.write_str("; ")?;
        }
        w.write_str(ty.c_type())?;
        if let FieldType::CharArray(n) = ty {
            write!(w, "[{n}]")?;
        }
        w.write_char(' ')?;
        write_name(w, name)?;
    }
    w.write_char('\n')
}

/// Writes `GROUP:EVENT` and a newline (`available_events`, `set_event`).
pub(crate) fn write_event_name<W: fmt::Write>(
    w: &mut W,
    group: &[u8],
    event: &[u8],
) -> fmt::Result {
    write_name(w, group)?;
    w.write_char(':')?;
    write_name(w, event)?;
    w.write_char('\n')
}

/// The common-field part of every format file, between `format:` and the declared fields.
pub(crate) const COMMON_FORMAT: &str = "\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

";

/// Writes the tracefs `format` file of an event: name, ID, the common fields, one
/// `field:` line per declared field with its [`layout`], and the `print fmt:` line.
pub(crate) fn write_format<'f, W: fmt::Write>(
    w: &mut W,
    event: &[u8],
    id: u32,
    fields: impl Iterator<Item = (FieldType, &'f [u8])> + Clone,
) -> fmt::Result {
    w.write_str("name: ")?;
    write_name(w, event)?;
    write!(w, "\nID: {id}\nformat:\n")?;
    w.write_str(COMMON_FORMAT)?;
    let offsets = layout(fields.clone().map(|(ty, _)| ty));
    for ((ty, name), (offset, size)) in fields.clone().zip(offsets) {
        w.write_str("\tfield:")?;
        write_decl(w, ty, name)?;
        writeln!(
            w,
            ";\toffset:{offset};\tsize:{size};\tsigned:{};",
            u8::from(ty.signed())
        )?;
    }
    w.write_str("\nprint fmt: \"")?;
    for (i, (ty, name)) in fields.clone().enumerate() {
        if i != 0 {
            w.write_str(", ")?;
        }
        write_name(w, name)?;
        w.write_char('=')?;
        w.write_str(ty.printf())?;
    }
    w.write_char('"')?;
    for (_, name) in fields {
        w.write_str(", REC->")?;
        write_name(w, name)?;
    }
    w.write_char('\n')
}

/// A fixed-size buffer that keeps what fits of the text written to it and silently drops
/// the rest.
struct TruncatingBuf<const N: usize> {
    /// The kept bytes; only the first `len` are meaningful.
    buf: [u8; N],
    /// How many bytes were kept.
    len: usize,
}

impl<const N: usize> fmt::Write for TruncatingBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let free = self.buf.get_mut(self.len..).unwrap_or(&mut []);
        let n = free.len().min(s.len());
        if let (Some(dst), Some(src)) = (free.get_mut(..n), s.as_bytes().get(..n)) {
            dst.copy_from_slice(src);
            self.len += n;
        }
        Ok(())
    }
}

/// Fuzzing entry point: parses every line of `data` and renders the listing and format
/// of every parsed `s:` command into a small stack buffer. Never panics. Its harness is
/// `tests/host/fuzz.rs` (randomized property tests run by `cargo test` in `tests/host`).
#[allow(
    dead_code,
    reason = "called by fuzz harnesses and tests, not by the module"
)]
pub(crate) fn fuzz_one(data: &[u8]) {
    for line in lines(data) {
        if let Ok(Some(Command::Create(spec))) = parse_line(line) {
            let pairs = spec.fields().iter().map(|f| (f.ty, f.name));
            let mut out = TruncatingBuf::<512> {
                buf: [0; 512],
                len: 0,
            };
            // `TruncatingBuf` never fails and the renderers fail only when it does.
            let _ = write_listing(&mut out, spec.group, spec.event, pairs.clone());
            let _ = write_format(&mut out, spec.event, 0, pairs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that `cmd`, with `^` where mainline's caret goes, is refused with `msg` at
    /// that position, as `ftrace_errlog_check` of mainline's selftests checks it.
    fn check_errlog(cmd: &str, msg: &str, dyn_view: bool) {
        let pos = cmd.find('^').unwrap();
        let line = cmd.replace('^', "");
        let r = if dyn_view {
            parse_line_at(line.as_bytes())
        } else {
            parse_synth_line(line.as_bytes())
        };
        let r = r.expect_err(&line);
        assert_eq!(r.err.log_text(), Some(msg), "{cmd:?}");
        assert_eq!(r.pos, pos, "{cmd:?}");
    }

    /// Every case of mainline's `trigger-synthetic_event_syntax_errors.tc`.
    #[test]
    fn mainline_syntax_errors() {
        let invalid_cmd = "Command must be of the form: <name> field[;field] ...";
        let invalid_dyn =
            "Command must be of the form: s or -:[synthetic/]<name> field[;field] ...";
        for (cmd, msg) in [
            ("myevent ^chr arg", "Invalid type"),
            ("myevent ^unsigned arg", "Incomplete type"),
            ("myevent char ^str]; int v", "Illegal name"),
            ("^mye-vent char str[]", "Illegal name"),
            ("myevent char ^st-r[]", "Illegal name"),
            ("myevent char str;^[]", "Invalid field"),
            ("myevent char str; ^int", "Invalid field"),
            ("myevent char ^str[; int v", "Invalid array specification"),
            ("myevent char ^str[kdjdk]", "Invalid array specification"),
            ("myevent char ^str[257]", "Invalid array specification"),
            ("^mye;vent char str[]", invalid_cmd),
            ("^myevent ; char str[]", invalid_cmd),
            ("^myevent; char str[]", invalid_cmd),
            ("^myevent ;char str[]", invalid_cmd),
            ("^; char str[]", invalid_cmd),
            ("^;myevent char str[]", invalid_cmd),
            ("^myevent", invalid_cmd),
        ] {
            check_errlog(cmd, msg, false);
        }
        check_errlog("^s:junk/myevent char str[", invalid_dyn, true);
    }

    /// Mainline's field grammar: `;` optional between fields, empty pieces skipped,
    /// `unsigned` types, `char[N] NAME`.
    #[test]
    fn mainline_field_grammar() {
        fn s(l: &str) -> EventSpec<'_> {
            match parse_synth_line(l.as_bytes()) {
                Ok(Some(Command::Create(spec))) => spec,
                other => panic!("{l:?}: {other:?}"),
            }
        }
        let spec = s("wakeup_latency  u64 lat pid_t pid char comm[16]");
        assert_eq!(
            spec.fields(),
            &[
                field(FieldType::U64, b"lat"),
                field(FieldType::PidT, b"pid"),
                field(FieldType::CharArray(16), b"comm"),
            ]
        );
        assert_eq!(create(b"s:ev u64 lat; pid_t pid;").fields().len(), 2);
        assert_eq!(create(b"s:ev u8 x;;u8 y").fields().len(), 2);
        assert_eq!(create(b"s:ev u8 x; ;u8 y;").fields().len(), 2);
        assert_eq!(s("myevent u64 var1 ;u64 var2").fields().len(), 2);
        for (line, ty, listed) in [
            ("myevent char var", FieldType::Char, "myevent\tchar var\n"),
            ("myevent long var", FieldType::Long, "myevent\tlong var\n"),
            (
                "myevent unsigned char var",
                FieldType::UChar,
                "myevent\tunsigned char var\n",
            ),
            (
                "myevent unsigned int var",
                FieldType::UInt,
                "myevent\tunsigned int var\n",
            ),
            (
                "myevent unsigned long var",
                FieldType::ULong,
                "myevent\tunsigned long var\n",
            ),
            ("myevent bool var", FieldType::Bool, "myevent\tbool var\n"),
            ("myevent gfp_t var", FieldType::GfpT, "myevent\tgfp_t var\n"),
            (
                "myevent char var[10]",
                FieldType::CharArray(10),
                "myevent\tchar[10] var\n",
            ),
            (
                "myevent char[10] var",
                FieldType::CharArray(10),
                "myevent\tchar[10] var\n",
            ),
            (
                "myevent char var[0xf]",
                FieldType::CharArray(15),
                "myevent\tchar[15] var\n",
            ),
            (
                "myevent char var[010]",
                FieldType::CharArray(8),
                "myevent\tchar[8] var\n",
            ),
        ] {
            let spec = s(line);
            assert_eq!(spec.fields(), &[field(ty, b"var")], "{line:?}");
            let mut out = String::new();
            write_synth_listing(&mut out, spec.group, spec.event, pairs(&spec)).unwrap();
            assert_eq!(out, listed);
            assert_round_trip(&spec);
        }
        let mut out = String::new();
        let spec = s("myevent u64 var1 ; u64 var2 ;");
        write_synth_listing(&mut out, spec.group, spec.event, pairs(&spec)).unwrap();
        assert_eq!(out, "myevent\tu64 var1; u64 var2\n");
        // As tests/test.d/10events/dynamic_events_create.tc writes and reads it.
        let spec = create(
            b"s:types/more char a unsigned char b; unsigned int c; long d unsigned long e; \
              bool f; gfp_t g; char[4] h",
        );
        assert_eq!(
            listing(&spec),
            "s:types/more char a; unsigned char b; unsigned int c; long d; unsigned long e; \
             bool f; gfp_t g; char h[4]\n"
        );
        // A type without a name; `unsigned` without both.
        let at = |l: &str| parse_synth_line(l.as_bytes()).unwrap_err();
        assert_eq!(
            at("wakeup_latency  u64 lat pid_t pid char"),
            Refusal {
                err: ParseError::InvalidField,
                pos: 34
            }
        );
        assert_eq!(
            at("ev u8 a unsigned int"),
            Refusal {
                err: ParseError::IncompleteType,
                pos: 8
            }
        );
        // Unsupported though mainline accepts them: refused as malformed ones.
        assert_eq!(at("ev char s[]").err, ParseError::BadArrayLen);
        assert_eq!(at("ev char s[0]").err, ParseError::BadArrayLen);
        assert_eq!(at("ev unsigned long[] st").err, ParseError::BadType);
        // Caret at the first occurrence of the token, as mainline's strstr() finds it.
        assert_eq!(at("ev ev x"), Refusal::at_start(ParseError::BadType));
        // Existing events: the caret under the name.
        assert_eq!(exists_pos(b"  s:ev u8 x", b"ev"), 2);
        // A group other than synthetic: refused as mainline refuses it.
        assert_eq!(
            parse_line_at(b"s:g/ev u8 9x").unwrap_err(),
            Refusal::at_start(ParseError::DynSyntax)
        );
        assert_eq!(
            parse_line_at(b"s:ev u8 x; u8 a/b").unwrap_err(),
            Refusal::at_start(ParseError::DynSyntax)
        );
        assert_eq!(
            parse_synth_line(b"g/ev u8 9x").unwrap_err(),
            Refusal::at_start(ParseError::BadName)
        );
        assert_eq!(
            parse_line_at(b"s:synthetic/9ev u8 x").unwrap_err(),
            Refusal {
                err: ParseError::BadName,
                pos: 12
            }
        );
    }

    #[test]
    fn refusal_positions() {
        let at = |l: &str| parse_line_at(l.as_bytes()).unwrap_err();
        assert_eq!(at("s:e nosuchtype x").pos, 4);
        assert_eq!(at("s:e nosuchtype x").err, ParseError::BadType);
        // A duplicate: at the first occurrence of its name, as mainline's strstr() finds it.
        assert_eq!(at("  s:e u64 a; s32 b; s32 a  ").pos, 8);
        assert_eq!(at("s:e u64 a; s32 a").err, ParseError::DuplicateField);
        assert_eq!(at("s:1e u64 a").pos, 2);
        assert_eq!(at("s:synthetic/e u64 a; u8 9").pos, 24);
        assert_eq!(at("s:e"), Refusal::at_start(ParseError::Syntax));
        assert_eq!(at("s:g/e"), Refusal::at_start(ParseError::DynSyntax));
        assert_eq!(
            at("s:g/e nosuchtype x"),
            Refusal::at_start(ParseError::DynSyntax)
        );
        assert_eq!(at("x:g/e"), Refusal::at_start(ParseError::DynSyntax));
        // Malformed removals: the caret under the removal token, or where the missing
        // event would start (not logged in error_log, as mainline logs none).
        assert_eq!(at("-x:g/e").pos, 0);
        assert_eq!(at("-x:g/e").err, ParseError::BadRemoval);
        assert_eq!(at("  !ev u64 a").pos, 0);
        assert_eq!(at("!ev u64 a").err, ParseError::BadRemoval);
        assert_eq!(at("-:").pos, 2);
        assert_eq!(at(" 	-: ev").pos, 2);
        assert_eq!(at("-: ev").err, ParseError::BadRemoval);
        assert_eq!(create(b"s:g/e u64 a;;u8 b").fields().len(), 2);
        let synth = |l: &str| parse_synth_line(l.as_bytes()).unwrap_err();
        assert_eq!(synth("ev u64 a; char b[0]").pos, 15);
        assert_eq!(synth("ev u64 a; char b[0]").err, ParseError::BadArrayLen);
        assert!(matches!(
            parse_synth_line(b"!ev u64 a"),
            Ok(Some(Command::Remove { event: b"ev", .. }))
        ));
    }

    /// Parses `line`, which must be an `s:` command.
    fn create(line: &[u8]) -> EventSpec<'_> {
        match parse_line(line) {
            Ok(Some(Command::Create(spec))) => spec,
            other => panic!(
                "{:?}: expected Create, got {:?}",
                String::from_utf8_lossy(line),
                other
            ),
        }
    }

    /// Parses `line`, which must be refused.
    fn err(line: &[u8]) -> ParseError {
        match parse_line(line) {
            Err(e) => e,
            other => panic!(
                "{:?}: expected an error, got {:?}",
                String::from_utf8_lossy(line),
                other
            ),
        }
    }

    /// Asserts that each of `lines` is refused with `expected`.
    fn all_err(expected: ParseError, lines: &[&[u8]]) {
        for &line in lines {
            assert_eq!(err(line), expected, "{:?}", String::from_utf8_lossy(line));
        }
    }

    /// The `(type, name)` pairs of `spec`, as the renderers take them.
    fn pairs<'s, 'a>(
        spec: &'s EventSpec<'a>,
    ) -> impl Iterator<Item = (FieldType, &'a [u8])> + Clone + 's {
        spec.fields().iter().map(|f| (f.ty, f.name))
    }

    /// The listing line of `spec`.
    fn listing(spec: &EventSpec<'_>) -> String {
        let mut s = String::new();
        write_listing(&mut s, spec.group, spec.event, pairs(spec)).unwrap();
        s
    }

    /// The format file of `spec`.
    fn format(spec: &EventSpec<'_>, id: u32) -> String {
        let mut s = String::new();
        write_format(&mut s, spec.event, id, pairs(spec)).unwrap();
        s
    }

    /// Shorthand for a [`Field`].
    fn field(ty: FieldType, name: &[u8]) -> Field<'_> {
        Field { ty, name }
    }

    /// A line declaring `n` distinct `u8` fields.
    fn line_with_fields(n: usize) -> String {
        let fields: Vec<String> = (0..n).map(|i| format!("u8 f{i}")).collect();
        format!("s:many {}", fields.join(";"))
    }

    /// Asserts that the listing of `spec` parses back into `spec`.
    fn assert_round_trip(spec: &EventSpec<'_>) {
        let text = listing(spec);
        assert!(text.ends_with('\n'), "{text:?}");
        assert_eq!(text.matches('\n').count(), 1, "{text:?}");
        assert!(text.starts_with("s:"), "{text:?}");
        match parse_line(text.as_bytes()) {
            Ok(Some(Command::Create(back))) => assert_eq!(&back, spec, "{text:?}"),
            other => panic!("{text:?} did not parse back: {other:?}"),
        }
    }

    #[test]
    fn basic_create() {
        let spec = create(b"s:grp/ev u64 lat;char comm[16];pid_t pid");
        assert_eq!(spec.group, b"grp");
        assert_eq!(spec.event, b"ev");
        assert_eq!(
            spec.fields(),
            &[
                field(FieldType::U64, b"lat"),
                field(FieldType::CharArray(16), b"comm"),
                field(FieldType::PidT, b"pid"),
            ]
        );
    }

    #[test]
    fn every_type() {
        let spec =
            create(b"s:t u8 a;u16 b;u32 c;u64 d;s8 e;s16 f;s32 g;s64 h;int i;pid_t j;char k[7]");
        let types: Vec<FieldType> = spec.fields().iter().map(|f| f.ty).collect();
        let expected = [
            (FieldType::U8, 1, false, "u8", "%u"),
            (FieldType::U16, 2, false, "u16", "%u"),
            (FieldType::U32, 4, false, "u32", "%u"),
            (FieldType::U64, 8, false, "u64", "%llu"),
            (FieldType::S8, 1, true, "s8", "%d"),
            (FieldType::S16, 2, true, "s16", "%d"),
            (FieldType::S32, 4, true, "s32", "%d"),
            (FieldType::S64, 8, true, "s64", "%lld"),
            (FieldType::Int, 4, true, "int", "%d"),
            (FieldType::PidT, 4, true, "pid_t", "%d"),
            (FieldType::CharArray(7), 7, false, "char", "%s"),
        ];
        assert_eq!(types, expected.map(|e| e.0));
        for (ty, size, signed, c_type, printf) in expected {
            assert_eq!(ty.size(), size, "{ty:?}");
            let align = if matches!(ty, FieldType::CharArray(_)) {
                1
            } else {
                size
            };
            assert_eq!(ty.align(), align, "{ty:?}");
            assert_eq!(ty.signed(), signed, "{ty:?}");
            assert_eq!(ty.c_type(), c_type, "{ty:?}");
            assert_eq!(ty.printf(), printf, "{ty:?}");
        }
        assert_eq!(FieldType::CharArray(256).size(), 256);
        assert_eq!(FieldType::CharArray(256).align(), 1);
    }

    #[test]
    fn default_group() {
        let spec = create(b"s:ev u8 x");
        assert_eq!(spec.group, DEFAULT_GROUP);
        assert_eq!(spec.group, b"synthetic");
        assert_eq!(spec.event, b"ev");
        assert_eq!(
            parse_line(b"-:ev"),
            Ok(Some(Command::Remove {
                group: b"synthetic",
                event: b"ev"
            }))
        );
        // An explicit default group is the same event.
        assert_eq!(create(b"s:synthetic/ev u8 x"), spec);
    }

    #[test]
    fn whitespace() {
        let expected = create(b"s:g/ev u8 a;char comm[16];s64 b");
        for line in [
            &b"  s:g/ev u8 a;char comm[16];s64 b"[..],
            b"s:g/ev u8 a;char comm[16];s64 b  ",
            b"s:g/ev u8 a;char comm[16];s64 b\r",
            b"\t s:g/ev\t \tu8 \t a ; char comm[16] ;\ts64\tb \t\r",
            b"s:g/ev u8 a ;char  comm[16];  s64 b",
            b"s:g/ev u8 a char comm[16] s64 b",
            b"s:g/ev u8 a;;char comm[16];;s64 b;",
            b"s:g/ev u8 a;char comm[16] ;s64 b\n",
        ] {
            assert_eq!(
                create(line),
                expected,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        // Blanks within a token split it, as mainline's argv_split() does.
        all_err(
            ParseError::DynSyntax,
            &[
                b"s:g/ev u8 a;char comm [16];s64 b",
                b"s:g/ev u8 a;char comm[ 16 ];s64 b",
            ],
        );
        all_err(
            ParseError::InvalidField,
            &[b"s:ev u8 a;char comm [16];s64 b"],
        );
        all_err(
            ParseError::BadArrayLen,
            &[b"s:ev u8 a;char comm[ 16 ];s64 b"],
        );
        for blank in [&b""[..], b" ", b"\t", b"\r", b" \t\r ", b"\n", b"\x0b\x0c"] {
            assert_eq!(parse_line(blank), Ok(None), "{blank:?}");
        }
        assert_eq!(
            parse_line(b" \t-:g/ev \t\r"),
            Ok(Some(Command::Remove {
                group: b"g",
                event: b"ev"
            }))
        );
    }

    #[test]
    fn char_arrays() {
        let spec = create(b"s:e char a[1];char b[256];char c[016];char d[99]");
        assert_eq!(
            spec.fields(),
            &[
                field(FieldType::CharArray(1), b"a"),
                field(FieldType::CharArray(MAX_ARRAY_LEN), b"b"),
                // Octal, as mainline's kstrtouint(.., 0, ..) reads it.
                field(FieldType::CharArray(14), b"c"),
                field(FieldType::CharArray(99), b"d"),
            ]
        );
        assert_round_trip(&spec);
    }

    #[test]
    fn syntax_errors() {
        // Not an `s:` command, or a refused one with a group other than `synthetic`.
        all_err(
            ParseError::DynSyntax,
            &[
                b"p:ev u8 x",
                b"r:ev u8 x",
                b"S:ev u8 x",
                b"s ev u8 x",
                b"sev u8 x",
                b":ev u8 x",
                b"s",
                b"s :ev u8 x",
                b"s:g/ev",
                b"x",
                b"#comment",
            ],
        );
        // No event name, fewer than three tokens before the first `;`.
        all_err(
            ParseError::Syntax,
            &[
                b"s:",
                b"s: ev u8 x",
                b"s:ev",
                b"s:ev \t ",
                b"s:ev u8",
                b"s:ev u8 \t",
                b"s:ev ;u8 x",
                b"s:ev;u8 x",
                b"s:ev char",
            ],
        );
        // A type without a name.
        all_err(
            ParseError::InvalidField,
            &[
                b"s:ev u8 x y",
                b"s:ev u8 x; u8",
                b"s:ev char x[16] z",
                b"s:ev char a b[4]",
            ],
        );
        all_err(
            ParseError::BadArrayLen,
            &[
                b"s:ev char x[16",
                b"s:ev char x[16]z",
                b"s:ev char x[16][2]",
            ],
        );
        all_err(
            ParseError::IncompleteType,
            &[
                b"s:ev unsigned int",
                b"s:ev u8 x; unsigned",
                b"s:ev u8 x unsigned y",
            ],
        );
        // Now valid: empty pieces, several fields per piece.
        for line in [
            &b"s:ev u8 x;"[..],
            b"s:ev u8 x;;u8 y",
            b"s:ev u8 x; ;u8 y",
            b"s:ev u8 x u8 y",
        ] {
            create(line);
        }
    }

    #[test]
    fn bad_names() {
        all_err(
            ParseError::BadName,
            &[
                b"s:1ev u8 x",
                b"s:e-v u8 x",
                b"s:e.v u8 x",
                b"s:\xffev u8 x",
                b"s:ev u8 1x",
                b"s:ev u8 x-y",
                b"s:ev u8 x\xc3\xa9",
                b"s:ev char [4]",
                b"s:ev char 9a[4]",
                b"s:synthetic/g/ev u8 x",
            ],
        );
        // Mainline refuses any other group (a refused command with one is refused so).
        all_err(
            ParseError::DynSyntax,
            &[
                b"s:g-x/ev u8 x",
                b"s:/ev u8 x",
                b"s:g/ u8 x",
                b"s:g/e/f u8 x",
            ],
        );
    }

    #[test]
    fn valid_names() {
        for name in [&b"a"[..], b"_", b"Z", b"_9", b"abc_DEF_123", b"x0"] {
            assert!(valid_name(name), "{name:?}");
        }
        for name in [
            &b""[..],
            b"0",
            b"9a",
            b"a-b",
            b"a b",
            b"a/b",
            b"\xe9",
            b"a\0",
        ] {
            assert!(!valid_name(name), "{name:?}");
        }
        assert!(valid_name(&[b'a'; NAME_MAX_LEN]));
        assert!(!valid_name(&[b'a'; NAME_MAX_LEN + 1]));
    }

    #[test]
    fn name_length_limits() {
        let n64 = "a".repeat(NAME_MAX_LEN);
        let n65 = "b".repeat(NAME_MAX_LEN + 1);
        let ok = [
            format!("s:{n64}/{n64} u8 {n64}"),
            format!("s:{n64} char {n64}[4]"),
        ];
        for line in &ok {
            let spec = create(line.as_bytes());
            assert_eq!(spec.event.len(), 64);
            assert_eq!(spec.fields()[0].name.len(), 64);
            assert_round_trip(&spec);
        }
        let bad = [
            format!("s:{n65} u8 x"),
            format!("s:ev u8 {n65}"),
            format!("s:ev char {n65}[4]"),
        ];
        for line in &bad {
            assert_eq!(err(line.as_bytes()), ParseError::BadName, "{line}");
        }
        for line in [format!("s:{n65}/ev u8 x"), format!("s:g/{n65} u8 x")] {
            assert_eq!(err(line.as_bytes()), ParseError::DynSyntax, "{line}");
        }
        // A removal names an event without limits: a name too long matches nothing.
        for line in [format!("-:{n64}/{n64}"), format!("-:{n65}/{n65}")] {
            assert!(matches!(
                parse_line(line.as_bytes()),
                Ok(Some(Command::Remove { .. }))
            ));
        }
    }

    #[test]
    fn bad_types() {
        all_err(
            ParseError::BadType,
            &[
                b"s:ev u128 x",
                b"s:ev U8 x",
                b"s:ev uint x",
                b"s:ev string x",
                b"s:ev u8 x[4]",
                b"s:ev int x[1]",
                b"s:ev unsigned u8 x",
                b"s:ev unsigned pid_t x",
                b"s:ev long[] x",
                b"s:ev char[4x] x",
            ],
        );
    }

    #[test]
    fn bad_array_lengths() {
        all_err(
            ParseError::BadArrayLen,
            &[
                b"s:ev char x[0]",
                b"s:ev char x[00]",
                b"s:ev char x[257]",
                b"s:ev char x[1000]",
                b"s:ev char x[65535]",
                b"s:ev char x[65536]",
                b"s:ev char x[99999999999999999999999999]",
                b"s:ev char x[]",
                b"s:ev char x[ ]",
                b"s:ev char x[-4]",
                b"s:ev char x[0x10]",
                b"s:ev char x[4a]",
                b"s:ev char x[1 6]",
                b"s:ev char x[\xff]",
            ],
        );
    }

    #[test]
    fn field_count_limit() {
        let line = line_with_fields(MAX_FIELDS);
        let spec = create(line.as_bytes());
        assert_eq!(spec.fields().len(), 32);
        assert_eq!(spec.fields()[31], field(FieldType::U8, b"f31"));
        assert_round_trip(&spec);
        assert_eq!(
            err(line_with_fields(MAX_FIELDS + 1).as_bytes()),
            ParseError::TooManyFields
        );
        assert_eq!(
            err(line_with_fields(100).as_bytes()),
            ParseError::TooManyFields
        );
        assert_eq!(create(b"s:one u8 x").fields().len(), 1);
    }

    #[test]
    fn duplicate_fields() {
        all_err(
            ParseError::DuplicateField,
            &[
                b"s:ev u8 x;u8 x",
                b"s:ev u8 x;u16 x",
                b"s:ev u8 x;char x[2]",
                b"s:ev char x[2];s64 y;int x",
            ],
        );
        // Names are case-sensitive, and the same field name in two events is fine.
        assert_eq!(create(b"s:ev u8 x;u8 X").fields().len(), 2);
        assert_eq!(create(b"s:ev2 u8 x").fields().len(), 1);
    }

    #[test]
    fn reserved_names() {
        all_err(
            ParseError::Reserved,
            &[
                b"s:enable u8 x",
                b"s:synthetic/enable u8 x",
                b"s:ev u8 common_pid",
                b"s:ev u8 common_",
                b"s:ev u8 x;int common_type",
                b"s:ev char common_comm[16]",
            ],
        );
        // Only exact reserved names: near misses are ordinary names.
        create(b"s:enabled/Enable u8 common;u8 commonx;u8 Common_x;u8 x_common_");
        create(b"s:dynamic_events u8 x");
        create(b"s:g/dynamic_events u8 x");
        create(b"s:synthetic/synthetic u8 synthetic");
    }

    #[test]
    fn remove_forms() {
        for (line, group, event) in [
            (&b"-:ev"[..], &b"synthetic"[..], &b"ev"[..]),
            (b"-:g/ev", b"g", b"ev"),
            (b"  -:g/ev \r", b"g", b"ev"),
            (b"-:g/ev\t", b"g", b"ev"),
            (b"-:synthetic/ev", b"synthetic", b"ev"),
            // Arguments are ignored, whatever they are (mainline's synth_event_match()
            // does not look at them): the event's definition, another one, anything.
            (b"-:ev u64 lat", b"synthetic", b"ev"),
            (b"-:g/ev extra", b"g", b"ev"),
            (b"-:g/ev\tu8 x; char c[999]; ;;", b"g", b"ev"),
            (b"-:synthetic/ev\x0bjunk", b"synthetic", b"ev"),
            // `!`: the event follows the first `:` of the first token, whatever precedes
            // it; the rest (usually the definition) is ignored.
            (b"!s:ev u64 lat; pid_t pid;", b"synthetic", b"ev"),
            (b"!s:g/ev u8 x", b"g", b"ev"),
            (b"!s:synthetic/ev", b"synthetic", b"ev"),
            (b"!p:ev", b"synthetic", b"ev"),
            (b"!:ev", b"synthetic", b"ev"),
            (b"!s:g/ev:x", b"g", b"ev:x"),
            (b" \t!s:ev u8 x\r", b"synthetic", b"ev"),
            // Names are not checked: they match no event (ENOENT when applied).
            (b"-:1ev", b"synthetic", b"1ev"),
            (b"-:a.b", b"synthetic", b"a.b"),
            (b"-:g/e/f", b"g", b"e/f"),
            (b"-:enable/ev", b"enable", b"ev"),
            (b"-:g/enable", b"g", b"enable"),
            (b"-:\xff", b"synthetic", b"\xff"),
            // `-:GROUP/` and `-:/EVENT` are well-formed and name no synthetic event.
            (b"-:g/", b"g", b""),
            (b"-:synthetic/", b"synthetic", b""),
            (b"-:/ev", b"", b"ev"),
            (b"-:/", b"", b""),
            (b"!s:g/", b"g", b""),
        ] {
            assert_eq!(
                parse_line(line),
                Ok(Some(Command::Remove { group, event })),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        // Refused: `-` without `:`, `!` without `:` in its token, no group and no event.
        all_err(
            ParseError::BadRemoval,
            &[
                b"-",
                b"-ev",
                b"-s:ev",
                b"- :ev",
                b"--:ev",
                b"-:",
                b"-: ev",
                b"-:\tev u8 x",
                b"!",
                b"!ev",
                b"!ev u64 lat",
                b"!ev s:x",
                b"! s:ev",
                b"!s:",
                b"!s: ev",
                b"!:",
            ],
        );
        assert_eq!(ParseError::BadRemoval.log_text(), None);
        assert_eq!(ParseError::Syntax.log_text().map(str::len), Some(53));
    }

    #[test]
    fn synth_remove_forms() {
        for (line, group, event) in [
            (&b"!ev"[..], &b"synthetic"[..], &b"ev"[..]),
            (b"  !ev \r", b"synthetic", b"ev"),
            (b"!g/ev", b"g", b"ev"),
            // The definition after the name is ignored, even one that does not match.
            (b"!ev u64 lat", b"synthetic", b"ev"),
            (
                b"!wakeup_latency  u64 lat pid_t pid char comm[16]",
                b"synthetic",
                b"wakeup_latency",
            ),
            (b"!ev\tjunk;;", b"synthetic", b"ev"),
            // Never malformed: the name runs to the first space or tab, unchecked.
            (b"!", b"synthetic", b""),
            (b"! ev", b"synthetic", b""),
            (b"!ev;u8 x", b"synthetic", b"ev;u8"),
            (b"!s:ev", b"synthetic", b"s:ev"),
            (b"!1ev", b"synthetic", b"1ev"),
            (b"!g/", b"g", b""),
        ] {
            assert_eq!(
                parse_synth_line(line),
                Ok(Some(Command::Remove { group, event })),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn multi_line_writes() {
        let buf = b"s:a u8 x\n\n  \r\n-:a\r\ns:g/b char c[2];int d\n";
        let parsed: Vec<_> = lines(buf).map(parse_line).collect();
        assert_eq!(parsed.len(), 6);
        assert!(matches!(&parsed[0], Ok(Some(Command::Create(s))) if s.event == b"a"));
        assert_eq!(parsed[1], Ok(None));
        assert_eq!(parsed[2], Ok(None));
        assert_eq!(
            parsed[3],
            Ok(Some(Command::Remove {
                group: b"synthetic",
                event: b"a"
            }))
        );
        assert!(matches!(&parsed[4], Ok(Some(Command::Create(s))) if s.group == b"g"));
        assert_eq!(parsed[5], Ok(None));
        assert_eq!(lines(b"").count(), 1);
        assert_eq!(lines(b"abc").collect::<Vec<_>>(), [&b"abc"[..]]);
        assert_eq!(lines(b"a\nb\n").collect::<Vec<_>>(), [&b"a"[..], b"b", b""]);
    }

    #[test]
    fn listing_round_trip() {
        let spec = create(b"s:ev u64 lat;char comm[16];int x");
        assert_eq!(
            listing(&spec),
            "s:synthetic/ev u64 lat; char comm[16]; int x\n"
        );
        assert_round_trip(&spec);

        let spec = create(
            b"  s:g_1/E \t u8 a;u16 b;u32 c;u64 d;s8 e;s16 f;s32 g;s64 h;int i;pid_t j;char k[256] ",
        );
        assert_eq!(
            listing(&spec),
            "s:g_1/E u8 a; u16 b; u32 c; u64 d; s8 e; s16 f; s32 g; s64 h; int i; pid_t j; \
             char k[256]\n"
        );
        assert_round_trip(&spec);

        // Names that are not UTF-8 never come from the parser, but must not panic.
        let mut s = String::new();
        write_listing(
            &mut s,
            b"g",
            b"\xff",
            [(FieldType::U8, &b"\xfe"[..])].into_iter(),
        )
        .unwrap();
        assert_eq!(s, "s:g/? u8 ?\n");
    }

    #[test]
    fn format_matches_tracefs() {
        let spec = create(b"s:myevent u64 lat; char comm[16]");
        let expected = "name: myevent\n\
            ID: 42\n\
            format:\n\
            \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
            \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
            \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
            \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\
            \n\
            \tfield:u64 lat;\toffset:8;\tsize:8;\tsigned:0;\n\
            \tfield:char comm[16];\toffset:16;\tsize:16;\tsigned:0;\n\
            \n\
            print fmt: \"lat=%llu, comm=%s\", REC->lat, REC->comm\n";
        assert_eq!(format(&spec, 42), expected);
    }

    #[test]
    fn format_signed_and_padded() {
        let spec = create(b"s:g/e s8 a;s64 b;pid_t p;char c[3];u16 d");
        let text = format(&spec, u32::MAX);
        assert!(
            text.starts_with("name: e\nID: 4294967295\nformat:\n"),
            "{text}"
        );
        let tail = "\n\
            \tfield:s8 a;\toffset:8;\tsize:1;\tsigned:1;\n\
            \tfield:s64 b;\toffset:16;\tsize:8;\tsigned:1;\n\
            \tfield:pid_t p;\toffset:24;\tsize:4;\tsigned:1;\n\
            \tfield:char c[3];\toffset:28;\tsize:3;\tsigned:0;\n\
            \tfield:u16 d;\toffset:32;\tsize:2;\tsigned:0;\n\
            \n\
            print fmt: \"a=%d, b=%lld, p=%d, c=%s, d=%u\", REC->a, REC->b, REC->p, REC->c, \
            REC->d\n";
        assert!(text.ends_with(tail), "{text}");
        assert_eq!(text.matches("\tfield:").count(), 4 + 5);
    }

    #[test]
    fn layout_alignment() {
        let offsets = |types: &[FieldType]| -> Vec<(usize, usize)> {
            layout(types.iter().copied()).collect()
        };
        use FieldType::*;
        assert_eq!(offsets(&[U8, U64]), [(8, 1), (16, 8)]);
        assert_eq!(offsets(&[U8, U8]), [(8, 1), (9, 1)]);
        assert_eq!(offsets(&[CharArray(3), U16]), [(8, 3), (12, 2)]);
        assert_eq!(offsets(&[U64]), [(8, 8)]);
        assert_eq!(
            offsets(&[U8, U16, U8, U32, U8, S64]),
            [(8, 1), (10, 2), (12, 1), (16, 4), (20, 1), (24, 8)]
        );
        assert_eq!(
            offsets(&[CharArray(1), CharArray(5), Int]),
            [(8, 1), (9, 5), (16, 4)]
        );
        assert_eq!(offsets(&[]), []);
        // The largest event still lays out without overflow.
        let big = [CharArray(MAX_ARRAY_LEN); MAX_FIELDS];
        let all = offsets(&big);
        assert_eq!(all.len(), MAX_FIELDS);
        assert_eq!(all[31], (8 + 31 * 256, 256));
    }

    #[test]
    fn error_messages() {
        let all = [
            ParseError::Syntax,
            ParseError::BadName,
            ParseError::BadType,
            ParseError::BadArrayLen,
            ParseError::TooManyFields,
            ParseError::DuplicateField,
            ParseError::Reserved,
            ParseError::BadRemoval,
        ];
        for (i, a) in all.iter().enumerate() {
            assert!(a.message().starts_with("dynamic_events: "));
            for b in &all[i + 1..] {
                assert_ne!(a.message(), b.message());
            }
        }
        assert_eq!(
            ParseError::BadType.message(),
            "dynamic_events: invalid field type"
        );
    }

    #[test]
    fn truncating_buf() {
        use core::fmt::Write;
        let mut b = TruncatingBuf::<8> {
            buf: [0; 8],
            len: 0,
        };
        write!(b, "abc").unwrap();
        write!(b, "defghij").unwrap();
        write!(b, "xyz").unwrap();
        assert_eq!(&b.buf, b"abcdefgh");
        assert_eq!(b.len, 8);
        let mut empty = TruncatingBuf::<0> { buf: [], len: 0 };
        write!(empty, "abc").unwrap();
        assert_eq!(empty.len, 0);
    }

    /// A tiny deterministic PRNG (xorshift64).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        /// A number in `0..n` (`n > 0`).
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        /// One element of `items`.
        fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
            &items[self.below(items.len())]
        }
    }

    /// Appends zero or more (`min == 0`) or one or more (`min == 1`) blanks.
    fn blanks(rng: &mut Rng, out: &mut Vec<u8>, min: usize) {
        for _ in 0..min + rng.below(3) {
            out.push(*rng.pick(b" \t"));
        }
    }

    /// Picks a name: usually one of the first eight of `names` (valid and not reserved),
    /// sometimes any of them.
    fn name<'n>(rng: &mut Rng, names: &'n [Vec<u8>]) -> &'n [u8] {
        if rng.below(4) == 0 {
            rng.pick(names)
        } else {
            rng.pick(&names[..8])
        }
    }

    /// Appends a mostly well-formed command line.
    fn structured(rng: &mut Rng, out: &mut Vec<u8>, names: &[Vec<u8>]) {
        const TYPES: [&str; 11] = [
            "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "int", "pid_t", "char",
        ];
        const LENS: [&str; 8] = ["1", "16", "256", "3", "0", "257", "016", ""];
        if rng.below(8) == 0 {
            blanks(rng, out, 0);
        }
        let remove = rng.below(4) == 0;
        out.extend_from_slice(match (remove, rng.below(4)) {
            (false, _) => b"s:",
            (true, 0) => b"!s:",
            (true, 1) => b"-",
            (true, _) => b"-:",
        });
        if rng.below(2) == 0 {
            out.extend_from_slice(name(rng, names));
            out.push(b'/');
        }
        out.extend_from_slice(name(rng, names));
        let nr = if remove {
            rng.below(3)
        } else if rng.below(16) == 0 {
            30 + rng.below(5)
        } else {
            rng.below(6)
        };
        for i in 0..nr {
            if i == 0 {
                blanks(rng, out, 1);
            } else {
                blanks(rng, out, 0);
                out.push(b';');
                blanks(rng, out, 0);
            }
            // Long lines are mostly valid (distinct names, scalar types), so that the
            // field count limit is reached.
            let long = nr > 6 && rng.below(32) != 0;
            let ty = if long {
                *rng.pick(&TYPES[..10])
            } else {
                *rng.pick(&TYPES)
            };
            out.extend_from_slice(ty.as_bytes());
            blanks(rng, out, 1);
            if long {
                out.extend_from_slice(format!("f{i}").as_bytes());
            } else {
                out.extend_from_slice(name(rng, names));
            }
            if ty == "char" || (!long && rng.below(16) == 0) {
                blanks(rng, out, 0);
                out.push(b'[');
                out.extend_from_slice(rng.pick(&LENS).as_bytes());
                out.push(b']');
            }
        }
        if rng.below(8) == 0 {
            out.extend_from_slice(rng.pick(&[&b"\r"[..], b" ", b"\t\r", b";"]));
        }
    }

    /// Applies a few random byte-level mutations.
    fn mutate(rng: &mut Rng, data: &mut Vec<u8>, tokens: &[Vec<u8>]) {
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(data.len() + 1);
            match rng.below(4) {
                0 => {
                    let t = rng.pick(tokens).clone();
                    data.splice(at..at, t);
                }
                1 if at < data.len() => {
                    let end = (at + 1 + rng.below(4)).min(data.len());
                    data.drain(at..end);
                }
                2 if at < data.len() => data[at] = rng.next() as u8,
                _ => data.insert(at, rng.next() as u8),
            }
        }
    }

    /// Checks what the parser promises about a command it accepted.
    fn check_command(cmd: &Command<'_>) {
        match cmd {
            Command::Create(spec) => {
                assert!(valid_name(spec.group) && valid_name(spec.event));
                let fields = spec.fields();
                assert!((1..=MAX_FIELDS).contains(&fields.len()));
                for (i, f) in fields.iter().enumerate() {
                    assert!(valid_name(f.name));
                    assert!(!f.name.starts_with(b"common_"));
                    assert!(fields[..i].iter().all(|g| g.name != f.name));
                    if let FieldType::CharArray(n) = f.ty {
                        assert!((1..=MAX_ARRAY_LEN).contains(&n));
                    }
                }
                assert_round_trip(spec);
                let mut prev_end = COMMON_FIELDS_SIZE;
                let offsets: Vec<_> = layout(fields.iter().map(|f| f.ty)).collect();
                assert_eq!(offsets.len(), fields.len());
                for (f, &(offset, size)) in fields.iter().zip(&offsets) {
                    assert_eq!(size, f.ty.size());
                    assert_eq!(offset % f.ty.align(), 0);
                    assert!(offset >= prev_end && offset < prev_end + f.ty.align());
                    prev_end = offset + size;
                }
                let text = format(spec, 7);
                assert_eq!(text.matches("\tfield:").count(), 4 + fields.len());
            }
            Command::Remove { group, event } => {
                // Not validated, but one token: no whitespace; the group has no `/`.
                assert!(!group.iter().chain(*event).any(|&c| is_space(c)));
                assert!(!group.contains(&b'/'));
            }
        }
    }

    #[test]
    fn fuzz() {
        let mut names: Vec<Vec<u8>> = [
            "x",
            "y",
            "lat",
            "comm",
            "a_b",
            "_",
            "Z9",
            "ev",
            "enable",
            "dynamic_events",
            "synthetic",
            "common_pid",
            "9x",
            "a-b",
            "",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        names.push(vec![b'n'; NAME_MAX_LEN]);
        names.push(vec![b'm'; NAME_MAX_LEN + 1]);
        let mut tokens: Vec<Vec<u8>> = [
            "s:", "-:", "!s:", "!", "-", "p:", ":", "/", ";", " ", "\t", " ", "u8", "u16", "u32",
            "u64", "s8", "s16", "s32", "s64", "int", "pid_t", "char", "[", "]", "16", "0", "1",
            "256", "257", "65536", "x", "y", "lat", "\n", "\r", "\r\n", "_", "9", "common_",
            "enable",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        tokens.extend(names.iter().cloned());

        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut creates, mut removes, mut errors, mut widest) = (0, 0, 0, 0);
        let mut kinds: Vec<ParseError> = Vec::new();
        for _ in 0..20_000 {
            let mut data = Vec::new();
            if rng.below(2) == 0 {
                for l in 0..1 + rng.below(3) {
                    if l != 0 {
                        data.push(b'\n');
                    }
                    structured(&mut rng, &mut data, &names);
                }
                if rng.below(4) == 0 {
                    mutate(&mut rng, &mut data, &tokens);
                }
            } else {
                for _ in 0..1 + rng.below(24) {
                    if rng.below(8) == 0 {
                        data.push(rng.next() as u8);
                    } else {
                        data.extend_from_slice(rng.pick(&tokens));
                    }
                }
            }
            // The whole buffer, embedded '\n' included, must not panic either.
            let _ = parse_line(&data);
            for line in lines(&data) {
                match parse_line(line) {
                    Ok(Some(cmd)) => {
                        check_command(&cmd);
                        match cmd {
                            Command::Create(spec) => {
                                creates += 1;
                                widest = widest.max(spec.fields().len());
                            }
                            Command::Remove { .. } => removes += 1,
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        errors += 1;
                        if !kinds.contains(&e) {
                            kinds.push(e);
                        }
                    }
                }
            }
            fuzz_one(&data);
        }
        // The generator must actually reach the interesting paths.
        assert!(creates > 2_000, "only {creates} creates");
        assert!(removes > 500, "only {removes} removes");
        assert!(errors > 5_000, "only {errors} errors");
        assert!(kinds.len() >= 9, "{kinds:?}");
        assert_eq!(widest, MAX_FIELDS);
    }

    #[test]
    fn fuzz_one_handles_anything() {
        fuzz_one(b"");
        fuzz_one(b"\n\n\n");
        fuzz_one(b"s:ev u8 x\n-:ev\ngarbage\n\xff\xfe");
        fuzz_one(line_with_fields(MAX_FIELDS).as_bytes());
        let n64 = "a".repeat(NAME_MAX_LEN);
        let fields: Vec<String> = (0..MAX_FIELDS)
            .map(|i| format!("char {}{i:02}[256]", &n64[..62]))
            .collect();
        let line = format!("s:{n64}/{n64} {}", fields.join("; "));
        let spec = create(line.as_bytes());
        assert_eq!(spec.fields().len(), MAX_FIELDS);
        assert_round_trip(&spec);
        fuzz_one(line.as_bytes());
    }
}
