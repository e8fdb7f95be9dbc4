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
//! where `FIELD` is `TYPE NAME` or `char NAME[N]`, `TYPE` is one of `u8 u16 u32 u64 s8 s16
//! s32 s64 int pid_t` and `N` is a decimal number in `1..=256`. The command prefix, the
//! optional group and the event name form one token (`s:grp/ev`); spaces and tabs are
//! allowed around every other token and around `;`.
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
    /// `char NAME[N]`: a NUL-padded string of `N` bytes (`1..=MAX_ARRAY_LEN`).
    CharArray(u16),
}

impl FieldType {
    /// Returns the scalar type spelled `name` (`char` arrays are not scalars).
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
            _ => return None,
        })
    }

    /// Size of the field in the event record, in bytes.
    pub(crate) fn size(self) -> usize {
        match self {
            FieldType::U8 | FieldType::S8 => 1,
            FieldType::U16 | FieldType::S16 => 2,
            FieldType::U32 | FieldType::S32 | FieldType::Int | FieldType::PidT => 4,
            FieldType::U64 | FieldType::S64 => 8,
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

    /// Whether the field is signed (the `signed:` of the format file).
    pub(crate) fn signed(self) -> bool {
        matches!(
            self,
            FieldType::S8
                | FieldType::S16
                | FieldType::S32
                | FieldType::S64
                | FieldType::Int
                | FieldType::PidT
        )
    }

    /// The C type name: `u8` ... `s64`, `int`, `pid_t`, or `char` for `char` arrays
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
            FieldType::CharArray(_) => "char",
        }
    }

    /// The printf conversion of the field in the `print fmt:` line of the format file.
    pub(crate) fn printf(self) -> &'static str {
        match self {
            FieldType::U8 | FieldType::U16 | FieldType::U32 => "%u",
            FieldType::U64 => "%llu",
            FieldType::S8 | FieldType::S16 | FieldType::S32 | FieldType::Int | FieldType::PidT => {
                "%d"
            }
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

/// Why a line of `dynamic_events` was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Malformed command: unknown prefix, missing `:`, event or field, stray text.
    Syntax,
    /// A group, event or field name is empty, too long or has invalid characters.
    BadName,
    /// Unknown field type, `char` without `[N]`, or `[N]` on a type other than `char`.
    BadType,
    /// The `N` of `char NAME[N]` is not a decimal number in `1..=MAX_ARRAY_LEN`.
    BadArrayLen,
    /// More than [`MAX_FIELDS`] fields.
    TooManyFields,
    /// Two fields of one event have the same name.
    DuplicateField,
    /// A reserved group, event or field name (`enable`, `dynamic_events`, `common_*`).
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
            ParseError::BadName => "dynamic_events: invalid name",
            ParseError::BadType => "dynamic_events: invalid field type",
            ParseError::BadArrayLen => "dynamic_events: invalid char array length",
            ParseError::TooManyFields => "dynamic_events: too many fields",
            ParseError::DuplicateField => "dynamic_events: duplicate field name",
            ParseError::Reserved => "dynamic_events: reserved name",
            ParseError::BadRemoval => "dynamic_events: malformed removal",
        }
    }
}

impl ParseError {
    /// The text of the `error_log` entry, worded as mainline's synthetic-event errors;
    /// `synth_view` for a write to `synthetic_events`, else `dynamic_events`. `None` for
    /// an error mainline does not log (a malformed removal).
    pub(crate) fn log_text(self, synth_view: bool) -> Option<&'static str> {
        Some(match self {
            ParseError::Syntax if synth_view => {
                "Command must be of the form: <name> field[;field] ..."
            }
            ParseError::Syntax => {
                "Command must be of the form: s or -:[synthetic/]<name> field[;field] ..."
            }
            ParseError::BadName | ParseError::Reserved => "Illegal name",
            ParseError::BadType => "Invalid type",
            ParseError::BadArrayLen => "Invalid array specification",
            ParseError::TooManyFields => "Too many fields",
            ParseError::DuplicateField => "Invalid field",
            ParseError::BadRemoval => return None,
        })
    }
}

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

/// Splits `s` into its first blank-delimited token and the rest, with the blanks between
/// them removed. The rest is empty when `s` holds a single token.
fn split_token(s: &[u8]) -> (&[u8], &[u8]) {
    match split_once(s, is_blank) {
        Some((token, rest)) => (token, trim(rest, is_blank)),
        None => (s, &[]),
    }
}

/// Parses the `[GROUP/]EVENT` of a command.
fn parse_target(target: &[u8]) -> Result<(&[u8], &[u8]), ParseError> {
    if target.is_empty() {
        return Err(ParseError::Syntax);
    }
    let (group, event) = split_once(target, |c| c == b'/').unwrap_or((DEFAULT_GROUP, target));
    if !valid_name(group) || !valid_name(event) {
        return Err(ParseError::BadName);
    }
    if RESERVED_GROUPS.contains(&group) || RESERVED_EVENTS.contains(&event) {
        return Err(ParseError::Reserved);
    }
    Ok((group, event))
}

/// Parses the `N` of `char NAME[N]`: decimal digits, value in `1..=MAX_ARRAY_LEN`.
fn parse_array_len(digits: &[u8]) -> Result<u16, ParseError> {
    if digits.is_empty() {
        return Err(ParseError::BadArrayLen);
    }
    let mut n: u16 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(ParseError::BadArrayLen);
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u16::from(c - b'0')))
            .filter(|&n| n <= MAX_ARRAY_LEN)
            .ok_or(ParseError::BadArrayLen)?;
    }
    if n == 0 {
        return Err(ParseError::BadArrayLen);
    }
    Ok(n)
}

/// Parses one `TYPE NAME` or `char NAME[N]`, already trimmed of blanks.
fn parse_field(field: &[u8]) -> Result<Field<'_>, ParseError> {
    let (ty, rest) = split_token(field);
    if ty.is_empty() || rest.is_empty() {
        return Err(ParseError::Syntax);
    }
    let field = if ty == b"char" {
        let (name, rest) = split_once(rest, |c| c == b'[').ok_or(ParseError::BadType)?;
        let (len, tail) = split_once(rest, |c| c == b']').ok_or(ParseError::Syntax)?;
        if !trim(tail, is_blank).is_empty() {
            return Err(ParseError::Syntax);
        }
        let name = trim(name, is_blank);
        if !valid_name(name) {
            return Err(ParseError::BadName);
        }
        let len = parse_array_len(trim(len, is_blank))?;
        Field {
            ty: FieldType::CharArray(len),
            name,
        }
    } else {
        let ty = FieldType::scalar(ty).ok_or(ParseError::BadType)?;
        if rest.iter().any(|&c| is_blank(c)) {
            return Err(ParseError::Syntax);
        }
        if rest.contains(&b'[') {
            return Err(ParseError::BadType);
        }
        if !valid_name(rest) {
            return Err(ParseError::BadName);
        }
        Field { ty, name: rest }
    };
    if field.name.starts_with(RESERVED_FIELD_PREFIX) {
        return Err(ParseError::Reserved);
    }
    Ok(field)
}

/// A refused command line: why, and where in the line (without its surrounding
/// whitespace) the offending part starts, for `error_log`'s caret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// Why.
    pub(crate) err: ParseError,
    /// Byte offset of the offending token.
    pub(crate) pos: usize,
}

/// An error and the part of the line it is about.
type Culprit<'a> = (ParseError, &'a [u8]);

/// Offset of `part` (a subslice of `line`, or empty at its end) within `line`.
fn offset(line: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize)
        .saturating_sub(line.as_ptr() as usize)
        .min(line.len())
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
    let r = if let Some(rest) = line.strip_prefix(b"s:") {
        parse_create(rest).map(Some)
    } else if matches!(line.first(), Some(b'-' | b'!')) {
        parse_remove(line).map(Some)
    } else {
        Err((ParseError::Syntax, line))
    };
    r.map_err(|(err, at)| Refusal {
        err,
        pos: offset(line, at),
    })
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

/// Parses `[GROUP/]EVENT FIELD[;FIELD...]`, the definition of a synthetic event.
fn parse_create(rest: &[u8]) -> Result<Command<'_>, Culprit<'_>> {
    let (target, fields) = split_token(rest);
    let (group, event) = parse_target(target).map_err(|e| (e, target))?;
    if fields.is_empty() {
        return Err((ParseError::Syntax, &rest[rest.len()..]));
    }
    let mut spec = EventSpec::new(group, event);
    for field in fields.split(|&c| c == b';') {
        let field = trim(field, is_blank);
        if field.is_empty() {
            return Err((ParseError::Syntax, field));
        }
        let f = parse_field(field).map_err(|e| (e, field))?;
        spec.push(f).map_err(|e| (e, field))?;
    }
    Ok(Command::Create(spec))
}

/// Parses one line written to `synthetic_events` (mainline's syntax there, without the
/// `s:` of `dynamic_events`): `[GROUP/]EVENT FIELD[;FIELD...]` creates an event,
/// `![GROUP/]EVENT [ARGS...]` removes one. As mainline's `create_or_delete_synth_event()`,
/// a removal is never malformed: the name runs to the first space or tab, whatever
/// follows is ignored, and a name no event has (`!` alone included) matches nothing.
/// Blank lines are `Ok(None)`.
pub(crate) fn parse_synth_line(line: &[u8]) -> Result<Option<Command<'_>>, Refusal> {
    let line = trim(line, is_space);
    if line.is_empty() {
        return Ok(None);
    }
    let r = match line.strip_prefix(b"!") {
        Some(rest) => Ok(remove_target(
            rest.split(|&c| is_blank(c)).next().unwrap_or(&[]),
        )),
        None => parse_create(line),
    };
    r.map(Some).map_err(|(err, at)| Refusal {
        err,
        pos: offset(line, at),
    })
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
const COMMON_FORMAT: &str = "\
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

    #[test]
    fn refusal_positions() {
        let at = |l: &str| parse_line_at(l.as_bytes()).unwrap_err();
        assert_eq!(at("s:g/e nosuchtype x").pos, 6);
        assert_eq!(at("s:g/e nosuchtype x").err, ParseError::BadType);
        assert_eq!(at("  s:g/e u64 a; s32 a  ").pos, 13);
        assert_eq!(at("s:g/e u64 a; s32 a").err, ParseError::DuplicateField);
        assert_eq!(at("s:g/1e u64 a").pos, 2);
        assert_eq!(at("s:g/e").pos, 5);
        assert_eq!(at("x:g/e").pos, 0);
        // Malformed removals: the caret under the removal token, or where the missing
        // event would start (not logged in error_log, as mainline logs none).
        assert_eq!(at("-x:g/e").pos, 0);
        assert_eq!(at("-x:g/e").err, ParseError::BadRemoval);
        assert_eq!(at("  !ev u64 a").pos, 0);
        assert_eq!(at("!ev u64 a").err, ParseError::BadRemoval);
        assert_eq!(at("-:").pos, 2);
        assert_eq!(at(" 	-: ev").pos, 2);
        assert_eq!(at("-: ev").err, ParseError::BadRemoval);
        assert_eq!(at("s:g/e u64 a;;u8 b").pos, 12);
        let synth = |l: &str| parse_synth_line(l.as_bytes()).unwrap_err();
        assert_eq!(synth("ev u64 a; char b[0]").pos, 10);
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
            b"s:g/ev u8 a;char comm [16];s64 b",
            b"s:g/ev u8 a;char comm[ 16 ];s64 b",
            b"s:g/ev u8 a;char\tcomm\t[\t16\t]\t;s64 b",
            b"s:g/ev u8 a;char comm[16] ;s64 b\n",
        ] {
            assert_eq!(
                create(line),
                expected,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
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
                field(FieldType::CharArray(16), b"c"),
                field(FieldType::CharArray(99), b"d"),
            ]
        );
        assert_round_trip(&spec);
    }

    #[test]
    fn syntax_errors() {
        all_err(
            ParseError::Syntax,
            &[
                b"p:ev u8 x",
                b"r:ev u8 x",
                b"S:ev u8 x",
                b"s ev u8 x",
                b"sev u8 x",
                b":ev u8 x",
                b"s",
                b"s:",
                b"s: ev u8 x",
                b"s :ev u8 x",
                b"s:ev",
                b"s:g/ev",
                b"s:ev \t ",
                b"s:ev u8",
                b"s:ev u8 \t",
                b"s:ev u8 x;",
                b"s:ev ;u8 x",
                b"s:ev u8 x;;u8 y",
                b"s:ev u8 x; ;u8 y",
                b"s:ev u8 x y",
                b"s:ev char",
                b"s:ev char x[16",
                b"s:ev char x[16]z",
                b"s:ev char x[16] z",
                b"s:ev char x[16][2]",
                b"x",
                b"#comment",
            ],
        );
    }

    #[test]
    fn bad_names() {
        all_err(
            ParseError::BadName,
            &[
                b"s:1ev u8 x",
                b"s:e-v u8 x",
                b"s:e.v u8 x",
                b"s:g-x/ev u8 x",
                b"s:/ev u8 x",
                b"s:g/ u8 x",
                b"s:g/e/f u8 x",
                b"s:ev;u8 x",
                b"s:\xffev u8 x",
                b"s:ev u8 1x",
                b"s:ev u8 x-y",
                b"s:ev u8 x\xc3\xa9",
                b"s:ev char [4]",
                b"s:ev char 9a[4]",
                b"s:ev char a b[4]",
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
            format!("s:{n65}/ev u8 x"),
            format!("s:g/{n65} u8 x"),
            format!("s:{n65} u8 x"),
            format!("s:ev u8 {n65}"),
            format!("s:ev char {n65}[4]"),
        ];
        for line in &bad {
            assert_eq!(err(line.as_bytes()), ParseError::BadName, "{line}");
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
                b"s:ev char x",
                b"s:ev u8 x[4]",
                b"s:ev int x[1]",
                b"s:ev char[4] x",
                b"s:ev u8 x;bool y",
                b"s:ev unsigned int",
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
                b"s:ev char x[+4]",
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
                b"s:enable/ev u8 x",
                b"s:dynamic_events/ev u8 x",
                b"s:enable u8 x",
                b"s:g/enable u8 x",
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
        assert_eq!(ParseError::BadRemoval.log_text(false), None);
        assert_eq!(ParseError::Syntax.log_text(true).map(str::len), Some(53));
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
        assert_eq!(kinds.len(), 8, "{kinds:?}");
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
