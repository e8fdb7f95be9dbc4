// SPDX-License-Identifier: GPL-2.0

//! Randomized property tests of the `dynamic_events` parser and renderers
//! (`src/events.rs`): the fuzz harness of [`events::fuzz_one`].
//!
//! libFuzzer and cargo-fuzz need a nightly compiler, which the project's toolchain is not,
//! so this is a self-contained fuzzer on stable Rust: a seeded xorshift generator feeds
//! the parser three kinds of input and checks properties of every result.
//!
//! - Structured commands: `s:`, `-:` and `!s:` lines built from the grammar (random valid names
//!   up to and past the length limit, every field type, up to and past the field limit,
//!   random blanks around tokens and separators, leading and trailing whitespace),
//!   half of them valid as built.
//! - Mutations of those: truncation, byte flips, inserted separators (`;`, `/`, `[`,
//!   `]`, `:`, blanks, `\n`, `\r`), deleted or duplicated ranges, long names spliced in,
//!   fields repeated many times.
//! - Pure random bytes.
//!
//! Properties checked for every input buffer and every line of it:
//! - neither [`events::fuzz_one`] nor any parser or renderer call panics;
//! - the parser agrees with an independent reference implementation of the grammar
//!   ([`reference`]) on whether a line is empty, valid or refused, and on what a valid
//!   line means;
//! - whitespace around a line never changes the result;
//! - a parsed event respects every limit (names, reserved names, field count, duplicate
//!   fields, array lengths) and its listing line parses back into the same event, and
//!   rendering that again gives the same line (the listing is canonical);
//! - its format text has the header, the four common fields and one aligned,
//!   non-overlapping `field:` line per declared field, and a `print fmt:` naming them all;
//! - a parsed removal names one whitespace-free target (names unchecked, as mainline
//!   leaves them), and `-:GROUP/EVENT` parses back to it;
//! - every refusal has a distinct, non-empty log message. ([`events::ParseError`] carries
//!   no position: a write is refused as a whole, so the parser reports only why.)
//!
//! `cargo test` runs [`DEFAULT_ITERS`] inputs (about two seconds). Longer runs:
//!
//! ```text
//! EVENTFS_FUZZ_ITERS=10000000 cargo test --release fuzz -- --nocapture   # ~5 minutes
//! EVENTFS_FUZZ_SEED=12345 cargo test fuzz     # another sequence of inputs
//! ```
//!
//! A failure names the seed, the iteration and the input, so it can be replayed.
//!
//! The event filter (`src/filter.rs`) has its own target, [`filter_fuzz`], at the end:
//! expression trees checked against a recursive evaluation, mutated and random texts
//! checked for panics, mainline's error shapes and algebraic properties. So does the
//! kprobe definition parser (`src/probe.rs`), [`probe_fuzz`]: lines built from the
//! grammar checked for what they mean, mutated and random lines for panics, carets,
//! listing round trips and the format. Both follow `EVENTFS_FUZZ_SEED` and
//! `EVENTFS_FUZZ_ITERS` too.

use crate::events::{
    fuzz_one, layout, lines, parse_line, valid_name, write_format, write_listing, Command,
    EventSpec, FieldType, ParseError, COMMON_FIELDS_SIZE, DEFAULT_GROUP, MAX_ARRAY_LEN, MAX_FIELDS,
    NAME_MAX_LEN,
};

/// Inputs per `cargo test` run unless `EVENTFS_FUZZ_ITERS` says otherwise.
pub(crate) const DEFAULT_ITERS: u64 = 50_000;

/// Seed unless `EVENTFS_FUZZ_SEED` says otherwise: runs are reproducible by default.
pub(crate) const DEFAULT_SEED: u64 = 0x5eed_e7e1_7f5a_2024;

/// xorshift64* (Vigna): small, fast, and good enough to drive a fuzzer.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // A zero state would stay zero.
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True one time in `n`.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// Runs `one` on the inputs of one fuzz test: `EVENTFS_FUZZ_ITERS` of them (default
/// `default_iters`), from a generator seeded with `EVENTFS_FUZZ_SEED` (default
/// [`DEFAULT_SEED`]) xor `salt`. A failure or a panic fails the test with the seed, the
/// iteration and the generator's state, which replay it. Returns the seed and the count.
fn drive(
    what: &str,
    salt: u64,
    default_iters: u64,
    mut one: impl FnMut(&mut Rng) -> Result<(), String>,
) -> (u64, u64) {
    let seed = env_u64("EVENTFS_FUZZ_SEED", DEFAULT_SEED);
    let iters = env_u64("EVENTFS_FUZZ_ITERS", default_iters);
    let mut rng = Rng::new(seed ^ salt);
    for iter in 0..iters {
        let state = rng.0;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| one(&mut rng)))
            .unwrap_or_else(|_| Err("panicked".into()));
        if let Err(e) = result {
            panic!("{what} fuzz failure (seed {seed}, iteration {iter}, state {state:#x}): {e}");
        }
    }
    (seed, iters)
}

const SCALARS: [&str; 17] = [
    "u8",
    "u16",
    "u32",
    "u64",
    "s8",
    "s16",
    "s32",
    "s64",
    "int",
    "pid_t",
    "char",
    "long",
    "bool",
    "gfp_t",
    "unsigned char",
    "unsigned int",
    "unsigned long",
];

const NAME_FIRST: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
const NAME_REST: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789";

/// A name: usually valid and short, sometimes at or just past the limit, sometimes
/// reserved or invalid.
fn gen_name(rng: &mut Rng, out: &mut Vec<u8>, clean: bool) {
    match if clean {
        5 + rng.below(15)
    } else {
        rng.below(20)
    } {
        0 => out.extend_from_slice(rng.pick(&[
            &b"enable"[..],
            b"dynamic_events",
            b"synthetic",
            b"common_pid",
            b"common_",
            b"_",
        ])),
        1 => out.extend_from_slice(rng.pick(&[&b"9x"[..], b"a-b", b"a.b", b"\xc3\xa9", b""])),
        n => {
            let len = match n {
                2 => NAME_MAX_LEN,
                3 => NAME_MAX_LEN + 1,
                4 => NAME_MAX_LEN + 1 + rng.below(300),
                _ => 1 + rng.below(12),
            };
            out.push(*rng.pick(NAME_FIRST));
            for _ in 1..len {
                out.push(*rng.pick(NAME_REST));
            }
        }
    }
}

/// Blanks between tokens: usually one space, sometimes none, tabs or many.
fn gen_blanks(rng: &mut Rng, out: &mut Vec<u8>, at_least_one: bool) {
    let n = match rng.below(8) {
        0 if !at_least_one => 0,
        0 | 1 => 2 + rng.below(4),
        _ => 1,
    };
    for _ in 0..n {
        out.push(if rng.one_in(4) { b'\t' } else { b' ' });
    }
}

/// Whitespace that the parser ignores at the ends of a line.
fn gen_space(rng: &mut Rng, out: &mut Vec<u8>) {
    if rng.one_in(3) {
        for _ in 0..1 + rng.below(3) {
            out.push(*rng.pick(b" \t\r\x0b\x0c"));
        }
    }
}

fn gen_field(rng: &mut Rng, out: &mut Vec<u8>, index: usize, clean: bool) {
    if rng.one_in(3) {
        out.extend_from_slice(b"char");
        gen_blanks(rng, out, true);
        gen_name(rng, out, clean);
        // Keep names distinct as a rule; duplicates come from mutations.
        out.extend_from_slice(format!("{index}").as_bytes());
        if !clean && rng.one_in(4) {
            gen_blanks(rng, out, false);
        }
        out.push(b'[');
        let n: String = match if clean { 6 } else { rng.below(12) } {
            0 => "0".into(),
            1 => (u32::from(MAX_ARRAY_LEN) + rng.below(3) as u32).to_string(),
            2 => "65536".into(),
            3 => format!("00{}", 1 + rng.below(256)),
            4 => String::new(),
            5 => "1x".into(),
            _ => (1 + rng.below(usize::from(MAX_ARRAY_LEN))).to_string(),
        };
        out.extend_from_slice(n.as_bytes());
        out.push(b']');
    } else {
        out.extend_from_slice(rng.pick(&SCALARS).as_bytes());
        gen_blanks(rng, out, true);
        gen_name(rng, out, clean);
        out.extend_from_slice(format!("{index}").as_bytes());
    }
}

/// One command line built from the grammar; half of them with only valid names and
/// lengths (so that long valid lines are common), the others with anything.
fn gen_command(rng: &mut Rng, out: &mut Vec<u8>) {
    let clean = rng.one_in(2);
    gen_space(rng, out);
    let create = !rng.one_in(4);
    // Removals: mostly `-:`, also `!s:` (with fields or not) and malformed `-`/`!`.
    let with_fields = create || rng.one_in(3);
    out.extend_from_slice(match (create, rng.below(6)) {
        (true, _) => b"s:",
        (false, 0) => b"!s:",
        (false, 1) => b"-",
        (false, 2) => b"!",
        (false, _) => b"-:",
    });
    if !rng.one_in(3) {
        gen_name(rng, out, clean);
        out.push(b'/');
    }
    gen_name(rng, out, clean);
    if with_fields {
        let n = match rng.below(10) {
            0 => MAX_FIELDS,
            1 => MAX_FIELDS + 1 + rng.below(3),
            _ => 1 + rng.below(5),
        };
        gen_blanks(rng, out, true);
        for i in 0..n {
            if i != 0 {
                // `;` (or several), or only blanks: fields need no `;` between them.
                match rng.below(6) {
                    0 => gen_blanks(rng, out, true),
                    n => {
                        gen_blanks(rng, out, false);
                        for _ in 0..1 + usize::from(n == 1) {
                            out.push(b';');
                            gen_blanks(rng, out, false);
                        }
                    }
                }
            }
            gen_field(rng, out, i, clean);
        }
        if rng.one_in(6) {
            out.push(b';');
        }
    }
    gen_space(rng, out);
}

/// Damages `data` in one of several ways.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    let at = |rng: &mut Rng, data: &Vec<u8>| rng.below(data.len() + 1);
    match rng.below(8) {
        0 => {
            let i = at(rng, data);
            data.truncate(i);
        }
        1 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] ^= 1 << rng.below(8);
        }
        2 if rng.one_in(3) => {
            // `unsigned` where anything may follow it, or nothing.
            let i = at(rng, data);
            data.splice(i..i, b" unsigned ".iter().copied());
        }
        2 => {
            let i = at(rng, data);
            let sep = *rng.pick(b";/[]: \t\n\r\x00");
            data.insert(i, sep);
        }
        3 if !data.is_empty() => {
            let i = rng.below(data.len());
            let j = i + rng.below(data.len() - i) + 1;
            data.drain(i..j);
        }
        4 if !data.is_empty() => {
            let i = rng.below(data.len());
            let j = i + rng.below((data.len() - i).min(40)) + 1;
            let copy = data[i..j].to_vec();
            let k = at(rng, data);
            data.splice(k..k, copy);
        }
        5 => {
            let mut name = Vec::new();
            gen_name(rng, &mut name, false);
            let i = at(rng, data);
            data.splice(i..i, name);
        }
        6 => {
            // Many fields: repeat the last field (or a fresh one) up to past the limit.
            let tail = match data.iter().rposition(|&c| c == b';' || c == b' ') {
                Some(i) => data[i + 1..].to_vec(),
                None => b"u8 x".to_vec(),
            };
            for k in 0..rng.below(2 * MAX_FIELDS) {
                data.extend_from_slice(b"; ");
                data.extend_from_slice(&tail);
                if !rng.one_in(4) {
                    data.extend_from_slice(format!("m{k}").as_bytes());
                }
            }
        }
        _ => {
            let i = at(rng, data);
            data.insert(i, rng.next() as u8);
        }
    }
}

/// One input buffer: one or more lines, structured, mutated or random.
fn gen_input(rng: &mut Rng) -> Vec<u8> {
    let mut data = Vec::new();
    match rng.below(10) {
        0..=3 => {
            for l in 0..1 + rng.below(3) {
                if l != 0 {
                    data.push(b'\n');
                }
                gen_command(rng, &mut data);
            }
        }
        4..=7 => {
            gen_command(rng, &mut data);
            for _ in 0..1 + rng.below(3) {
                mutate(rng, &mut data);
            }
        }
        8 => {
            for _ in 0..rng.below(512) {
                data.push(rng.next() as u8);
            }
        }
        _ => {
            // Random bytes from the parser's own alphabet hit deeper paths.
            for _ in 0..rng.below(200) {
                data.push(*rng.pick(b"s-:/;[] \t\n\ru8c_har16xz0unsigned"));
            }
        }
    }
    data
}

/// What a valid line means, as the reference sees it.
#[derive(Debug, PartialEq, Eq)]
enum Meaning {
    Empty,
    Create {
        group: Vec<u8>,
        event: Vec<u8>,
        fields: Vec<(FieldType, Vec<u8>)>,
    },
    Remove {
        group: Vec<u8>,
        event: Vec<u8>,
    },
}

/// An independent implementation of the grammar in `docs/RULES.md` §1 and the module
/// documentation of `src/events.rs`, written for clarity, not speed: `None` if the line
/// is refused. It shares no code with the parser (not even [`valid_name`]).
mod reference {
    use super::*;

    fn is_space(c: u8) -> bool {
        b" \t\n\r\x0b\x0c".contains(&c)
    }

    fn is_blank(c: u8) -> bool {
        c == b' ' || c == b'\t'
    }

    fn strip(s: &[u8], f: fn(u8) -> bool) -> &[u8] {
        let mut s = s;
        while let [first, rest @ ..] = s {
            if !f(*first) {
                break;
            }
            s = rest;
        }
        while let [rest @ .., last] = s {
            if !f(*last) {
                break;
            }
            s = rest;
        }
        s
    }

    fn name_ok(n: &[u8]) -> bool {
        !n.is_empty()
            && n.len() <= 64
            && !n[0].is_ascii_digit()
            && n.iter().all(|&c| c == b'_' || c.is_ascii_alphanumeric())
    }

    fn target(t: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        let (g, e) = match t.iter().position(|&c| c == b'/') {
            Some(i) => (&t[..i], &t[i + 1..]),
            None => (&b"synthetic"[..], t),
        };
        let ok =
            name_ok(g) && name_ok(e) && g != b"enable" && g != b"dynamic_events" && e != b"enable";
        ok.then(|| (g.to_vec(), e.to_vec()))
    }

    /// `kstrtouint(s, 0, ..)`: `+`, then `0x` hex, `0` octal or decimal digits.
    fn number(s: &[u8]) -> Option<u32> {
        let s = std::str::from_utf8(s).ok()?;
        let s = s.strip_prefix('+').unwrap_or(s);
        if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        let b = s.as_bytes();
        if b.len() > 2 && b[0] == b'0' && (b[1] | 0x20) == b'x' && b[2].is_ascii_hexdigit() {
            u32::from_str_radix(&s[2..], 16).ok()
        } else if b[0] == b'0' {
            u32::from_str_radix(s, 8).ok()
        } else {
            s.parse().ok()
        }
    }

    /// One field from its type (`unsigned X` already joined) and name tokens.
    fn field(ty: &[u8], tok: &[u8]) -> Option<(FieldType, Vec<u8>)> {
        let (name, arr) = match tok.iter().position(|&c| c == b'[') {
            Some(i) => (&tok[..i], &tok[i..]),
            None => (tok, &b""[..]),
        };
        let full = [ty, arr].concat();
        let ty = match &full[..] {
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
            b"long" => FieldType::Long,
            b"bool" => FieldType::Bool,
            b"gfp_t" => FieldType::GfpT,
            b"unsigned char" => FieldType::UChar,
            b"unsigned int" => FieldType::UInt,
            b"unsigned long" => FieldType::ULong,
            // `char[N]`: N of 1 to 3 characters, no other `]`, 1..=256.
            [b'c', b'h', b'a', b'r', b'[', inner @ .., b']']
                if (1..=3).contains(&inner.len()) && !inner.contains(&b']') =>
            {
                let n = number(inner)?;
                if !(1..=256).contains(&n) {
                    return None;
                }
                FieldType::CharArray(n as u16)
            }
            _ => return None,
        };
        (name_ok(name) && !name.starts_with(b"common_")).then(|| (ty, name.to_vec()))
    }

    /// A removal as mainline's `dyn_event_release()` reads it: the first token (cut at
    /// any whitespace, as `argv_split()`), `-:` or `!...:` before the target, the rest
    /// ignored; `[GROUP/]EVENT` split at the first `/`, no name checked; only an empty
    /// target without a group is refused.
    fn removal(line: &[u8]) -> Option<Meaning> {
        let cut = line.iter().position(|&c| is_space(c)).unwrap_or(line.len());
        let token = &line[..cut];
        let t = if token.starts_with(b"-:") {
            &token[2..]
        } else if token.first() == Some(&b'!') {
            &token[token.iter().position(|&c| c == b':')? + 1..]
        } else {
            return None;
        };
        let (group, event) = match t.iter().position(|&c| c == b'/') {
            Some(i) => (&t[..i], &t[i + 1..]),
            None if t.is_empty() => return None,
            None => (&b"synthetic"[..], t),
        };
        Some(Meaning::Remove {
            group: group.to_vec(),
            event: event.to_vec(),
        })
    }

    /// The meaning of `line`, or `None` if it must be refused.
    pub(super) fn parse(line: &[u8]) -> Option<Meaning> {
        let line = strip(line, is_space);
        if line.is_empty() {
            return Some(Meaning::Empty);
        }
        if line[0] == b'-' || line[0] == b'!' {
            return removal(line);
        }
        let rest = line.strip_prefix(b"s:")?;
        let cut = rest.iter().position(|&c| is_blank(c))?;
        let (group, event) = target(&rest[..cut])?;
        // At least three tokens (the name and one whole field) before the first `;`.
        let head = rest.split(|&c| c == b';').next().unwrap_or(b"");
        if head
            .split(|&c| is_space(c))
            .filter(|t| !t.is_empty())
            .count()
            < 3
        {
            return None;
        }
        // The fields: `;`-separated pieces (empty ones skipped), each a run of
        // `TYPE NAME` or `unsigned TYPE NAME`.
        let mut fields: Vec<(FieldType, Vec<u8>)> = Vec::new();
        for piece in rest[cut..].split(|&c| c == b';') {
            let toks: Vec<&[u8]> = piece
                .split(|&c| is_space(c))
                .filter(|t| !t.is_empty())
                .collect();
            let mut i = 0;
            while i < toks.len() {
                let (ty, name) = if toks[i] == b"unsigned" {
                    let ty = [&b"unsigned "[..], toks.get(i + 1)?].concat();
                    i += 3;
                    (ty, *toks.get(i - 1)?)
                } else {
                    i += 2;
                    (toks[i - 2].to_vec(), *toks.get(i - 1)?)
                };
                let f = field(&ty, name)?;
                if fields.iter().any(|g| g.1 == f.1) {
                    return None;
                }
                fields.push(f);
            }
        }
        if fields.is_empty() {
            return None;
        }
        (fields.len() <= 32).then_some(Meaning::Create {
            group,
            event,
            fields,
        })
    }
}

/// The meaning of a parse result, in the reference's terms.
fn meaning(cmd: &Option<Command<'_>>) -> Meaning {
    match cmd {
        None => Meaning::Empty,
        Some(Command::Create(spec)) => Meaning::Create {
            group: spec.group.to_vec(),
            event: spec.event.to_vec(),
            fields: spec
                .fields()
                .iter()
                .map(|f| (f.ty, f.name.to_vec()))
                .collect(),
        },
        Some(Command::Remove { group, event }) => Meaning::Remove {
            group: group.to_vec(),
            event: event.to_vec(),
        },
    }
}

fn listing(spec: &EventSpec<'_>) -> String {
    let mut s = String::new();
    let fields = spec.fields().iter().map(|f| (f.ty, f.name));
    write_listing(&mut s, spec.group, spec.event, fields).expect("a String never fails");
    s
}

fn check_create(spec: &EventSpec<'_>) -> Result<(), String> {
    let fields = spec.fields();
    if !valid_name(spec.group) || !valid_name(spec.event) {
        return Err("invalid group or event name accepted".into());
    }
    if !(1..=MAX_FIELDS).contains(&fields.len()) {
        return Err(format!("{} fields accepted", fields.len()));
    }
    for (i, f) in fields.iter().enumerate() {
        if !valid_name(f.name) || f.name.starts_with(b"common_") {
            return Err(format!("field name {:?} accepted", show(f.name)));
        }
        if fields[..i].iter().any(|g| g.name == f.name) {
            return Err(format!("duplicate field {:?} accepted", show(f.name)));
        }
        if let FieldType::CharArray(n) = f.ty {
            if !(1..=MAX_ARRAY_LEN).contains(&n) {
                return Err(format!("char[{n}] accepted"));
            }
        }
    }

    // The listing is one line that parses back into the same event, and is canonical.
    let text = listing(spec);
    if !text.starts_with("s:") || !text.ends_with('\n') || text.matches('\n').count() != 1 {
        return Err(format!("listing {text:?} is not one s: line"));
    }
    match parse_line(text.as_bytes()) {
        Ok(Some(Command::Create(back))) => {
            if back != *spec {
                return Err(format!("listing {text:?} parses back as {back:?}"));
            }
            if listing(&back) != text {
                return Err(format!("listing {text:?} is not canonical"));
            }
        }
        other => return Err(format!("listing {text:?} does not parse back: {other:?}")),
    }

    // The format: header, 4 common + N declared fields, aligned and non-overlapping.
    let mut fmt = String::new();
    let pairs = fields.iter().map(|f| (f.ty, f.name));
    write_format(&mut fmt, spec.event, 42, pairs).expect("a String never fails");
    let header = format!("name: {}\nID: 42\nformat:\n", show(spec.event));
    if !fmt.starts_with(&header) {
        return Err(format!("format does not start with {header:?}"));
    }
    let field_lines: Vec<&str> = fmt.lines().filter(|l| l.starts_with("\tfield:")).collect();
    if field_lines.len() != 4 + fields.len() {
        return Err(format!("{} field lines in {fmt:?}", field_lines.len()));
    }
    let mut end = COMMON_FIELDS_SIZE;
    for ((f, (offset, size)), line) in fields
        .iter()
        .zip(layout(fields.iter().map(|f| f.ty)))
        .zip(&field_lines[4..])
    {
        if size != f.ty.size() || offset % f.ty.align() != 0 || offset < end {
            return Err(format!("{:?} laid out at {offset}+{size}", show(f.name)));
        }
        end = offset + size;
        let want = format!(";\toffset:{offset};\tsize:{size};\tsigned:");
        if !line.contains(&want) || !line.contains(&show(f.name)) {
            return Err(format!("field line {line:?} does not say {want:?}"));
        }
    }
    let print = fmt
        .lines()
        .find(|l| l.starts_with("print fmt: \""))
        .ok_or("no print fmt line")?;
    for f in fields {
        if !print.contains(&format!("REC->{}", show(f.name))) {
            return Err(format!("print fmt {print:?} misses {:?}", show(f.name)));
        }
    }
    Ok(())
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every property for one line.
fn check_line(line: &[u8]) -> Result<(), String> {
    let got = parse_line(line);

    // Whitespace around the line changes nothing (errors included).
    let mut padded = b" \t\r".to_vec();
    padded.extend_from_slice(line);
    padded.extend_from_slice(b"\x0b \r");
    if parse_line(&padded) != got {
        return Err("surrounding whitespace changed the result".into());
    }

    let want = reference::parse(line);
    match (&got, &want) {
        (Ok(cmd), Some(m)) if meaning(cmd) == *m => {}
        (Err(_), None) => {}
        _ => return Err(format!("parser says {got:?}, reference says {want:?}")),
    }

    match got {
        Ok(Some(Command::Create(spec))) => check_create(&spec)?,
        Ok(Some(Command::Remove { group, event })) => {
            let spaced = |n: &[u8]| n.iter().any(|&c| b" \t\n\r\x0b\x0c".contains(&c));
            if spaced(group) || spaced(event) || group.contains(&b'/') {
                return Err("removal target of more than one token".into());
            }
            let mut text = b"-:".to_vec();
            text.extend_from_slice(group);
            text.push(b'/');
            text.extend_from_slice(event);
            let back = parse_line(&text);
            if back != Ok(Some(Command::Remove { group, event })) {
                return Err(format!("{:?} parses as {back:?}", show(&text)));
            }
        }
        Ok(None) => {}
        Err(e) => {
            let m = e.message();
            if !m.starts_with("dynamic_events: ") || m.len() <= 16 {
                return Err(format!("{e:?} has message {m:?}"));
            }
        }
    }
    Ok(())
}

/// Every property for one input buffer.
fn check_input(data: &[u8]) -> Result<(), String> {
    // The whole buffer as one line (embedded newlines and all) must not panic either.
    let _ = parse_line(data);
    fuzz_one(data);
    for line in lines(data) {
        check_line(line).map_err(|e| format!("line {:?}: {e}", show(line)))?;
    }
    Ok(())
}

/// Runs `iters` inputs from `seed`; panics with a replayable report on the first failure.
fn run(seed: u64, iters: u64) -> Counts {
    let mut rng = Rng::new(seed);
    let mut counts = Counts::default();
    for iter in 0..iters {
        let data = gen_input(&mut rng);
        let result = std::panic::catch_unwind(|| check_input(&data))
            .unwrap_or_else(|_| Err("panicked".into()));
        if let Err(e) = result {
            panic!(
                "fuzz failure (EVENTFS_FUZZ_SEED={seed} iteration {iter}): {e}\ninput: {:?}",
                show(&data)
            );
        }
        for line in lines(&data) {
            counts.add(parse_line(line));
        }
    }
    counts
}

#[derive(Default, Debug)]
struct Counts {
    creates: u64,
    removes: u64,
    empty: u64,
    errors: [u64; 11],
    max_fields: bool,
}

impl Counts {
    fn add(&mut self, r: Result<Option<Command<'_>>, ParseError>) {
        match r {
            Ok(Some(Command::Create(spec))) => {
                self.creates += 1;
                self.max_fields |= spec.fields().len() == MAX_FIELDS;
            }
            Ok(Some(Command::Remove { .. })) => self.removes += 1,
            Ok(None) => self.empty += 1,
            Err(e) => self.errors[ALL_ERRORS.iter().position(|&k| k == e).unwrap()] += 1,
        }
    }
}

const ALL_ERRORS: [ParseError; 11] = [
    ParseError::Syntax,
    ParseError::DynSyntax,
    ParseError::IncompleteType,
    ParseError::InvalidField,
    ParseError::BadName,
    ParseError::BadType,
    ParseError::BadArrayLen,
    ParseError::TooManyFields,
    ParseError::DuplicateField,
    ParseError::Reserved,
    ParseError::BadRemoval,
];

#[test]
fn fuzz_parser() {
    let seed = env_u64("EVENTFS_FUZZ_SEED", DEFAULT_SEED);
    let iters = env_u64("EVENTFS_FUZZ_ITERS", DEFAULT_ITERS);
    let c = run(seed, iters);
    println!("fuzz: seed {seed}, {iters} inputs: {c:?}");
    // The generators must reach every outcome, or the properties above prove little.
    if iters >= DEFAULT_ITERS {
        let floor = iters / 200;
        assert!(c.creates > floor * 10, "{c:?}");
        assert!(c.removes > floor, "{c:?}");
        assert!(c.empty > 0, "{c:?}");
        assert!(c.max_fields, "no event with {MAX_FIELDS} fields: {c:?}");
        for (k, n) in ALL_ERRORS.iter().zip(c.errors) {
            assert!(n > floor / 10, "{k:?} reached {n} times: {c:?}");
        }
    }
}

#[test]
fn error_messages_are_distinct() {
    for (i, a) in ALL_ERRORS.iter().enumerate() {
        assert!(a.message().starts_with("dynamic_events: "));
        for b in &ALL_ERRORS[i + 1..] {
            assert_ne!(a.message(), b.message());
        }
    }
}

#[test]
fn reference_agrees_on_known_lines() {
    // The reference itself must be right: a few lines whose meaning is fixed by the
    // documentation, checked against it and against the parser.
    let ok: &[&[u8]] = &[
        b"s:g/e u8 x",
        b" s:e\tchar  c[016] ;  u64 y \r",
        b"s:g/e u8 x;",
        b"s:e u8 x;; u8 y u16 z",
        b"s:e unsigned long x char[4] y",
        b"-:g/e",
        b"-:e",
        b"-:g/e extra",
        b"-:e u64 lat",
        b"!s:e u64 lat; pid_t pid;",
        b"!p:g/e",
        b"-:g/",
        b"-:/e",
        b"-:9e",
        b"-:g/enable",
        b"",
        b" \t\r",
    ];
    let bad: &[&[u8]] = &[
        b"s:g/e",
        b"s:e char c [4]",
        b"s:e u8 x y",
        b"s:e unsigned x",
        b"s:e u8; u8 x",
        b"s:enable/e u8 x",
        b"s:g/enable u8 x",
        b"s:g/e u8 common_x",
        b"s:g/e char c[257]",
        b"s:g/e char c[0]",
        b"s:g/e u8 x; u16 x",
        b"s:g/e/f u8 x",
        b"-:",
        b"-: g/e",
        b"-g/e",
        b"!e",
        b"!e s:x",
        b"!s:",
        b"x:g/e",
        b"s: g/e u8 x",
    ];
    for line in ok {
        assert!(reference::parse(line).is_some(), "{:?}", show(line));
        check_line(line).unwrap();
    }
    for line in bad {
        assert!(reference::parse(line).is_none(), "{:?}", show(line));
        check_line(line).unwrap();
    }
    assert_eq!(
        reference::parse(b"!s:g/e u8 x"),
        Some(Meaning::Remove {
            group: b"g".to_vec(),
            event: b"e".to_vec(),
        })
    );
    assert_eq!(
        reference::parse(b"s:e u8 x"),
        Some(Meaning::Create {
            group: DEFAULT_GROUP.to_vec(),
            event: b"e".to_vec(),
            fields: vec![(FieldType::U8, b"x".to_vec())],
        })
    );
}

// --- The event filter (src/filter.rs) ---------------------------------------------------

mod filter_fuzz {
    //! Randomized property tests of the event filter compiler and evaluator
    //! (`src/filter.rs`).
    //!
    //! Inputs are expression trees built from the grammar (every operator, every field
    //! kind, numbers in every base, quoted globs, `!`, parentheses, random whitespace),
    //! mutations of their text, and random bytes from the grammar's alphabet. Properties:
    //! - neither [`compile`] nor [`Program::matches`] panics, on any record (short ones
    //!   included) and any text;
    //! - a tree's text compiles, and on random records the program agrees with an
    //!   independent evaluation of the tree ([`Expr::eval`]: recursive, no branch
    //!   program, its own glob matcher);
    //! - a refusal has one of mainline's messages, a position within one byte past the
    //!   end of the text (plus the `{`/`}` cases, two), and an `errno` mainline returns;
    //! - trailing whitespace, or a NUL and anything after it, changes nothing;
    //! - when `F` and `!(F)` both compile, they never match the same record, and
    //!   `(F) && (G)` / `(F) || (G)` match as `F` and `G` say.

    use super::{drive, Rng};
    use crate::filter::{
        compile, Context, FieldDesc, FieldKind, Fields, FilterError, Program, EINVAL, ENOENT,
        EPERM, ESRCH, MAX_DEPTH, MAX_PREDS,
    };

    /// Inputs per `cargo test` run unless `EVENTFS_FUZZ_ITERS` says otherwise.
    const ITERS: u64 = 20_000;

    /// The fuzzed event's fields: name, offset, size, signed, kind.
    const FIELDS: [(&str, usize, usize, bool, FieldKind); 10] = [
        ("a", 8, 1, false, FieldKind::Int),
        ("b", 9, 1, true, FieldKind::Int),
        ("c", 10, 2, false, FieldKind::Int),
        ("d", 12, 2, true, FieldKind::Int),
        ("e", 16, 4, false, FieldKind::Int),
        ("f", 20, 4, true, FieldKind::Int),
        ("g", 24, 8, false, FieldKind::Int),
        ("h", 32, 8, true, FieldKind::Int),
        ("s", 40, 6, false, FieldKind::Str),
        ("t", 46, 3, false, FieldKind::Str),
    ];

    /// Record size that holds every field.
    const REC: usize = 49;

    struct Ev;

    impl Fields for Ev {
        fn field(&self, name: &[u8]) -> Option<FieldDesc> {
            FIELDS.iter().find(|f| f.0.as_bytes() == name).map(
                |&(_, offset, size, signed, kind)| FieldDesc {
                    offset,
                    size,
                    signed,
                    kind,
                },
            )
        }
    }

    /// A comparison of the reference.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Op {
        Eq,
        Ne,
        Lt,
        Le,
        Gt,
        Ge,
        Band,
        Glob,
    }

    impl Op {
        fn text(self) -> &'static str {
            match self {
                Op::Eq => "==",
                Op::Ne => "!=",
                Op::Lt => "<",
                Op::Le => "<=",
                Op::Gt => ">",
                Op::Ge => ">=",
                Op::Band => "&",
                Op::Glob => "~",
            }
        }
    }

    /// A predicate of the reference.
    #[derive(Clone, Debug)]
    enum Pred {
        /// Field index, op, value (any integer; rendered as mainline parses it).
        Int(usize, Op, i128, Base),
        /// String field index (or `None` for `comm`), op, pattern.
        Str(Option<usize>, Op, Vec<u8>),
        /// `cpu`: op, value.
        Cpu(Op, i64),
    }

    #[derive(Clone, Copy, Debug)]
    enum Base {
        Dec,
        Hex,
        Oct,
    }

    /// An expression tree.
    #[derive(Clone, Debug)]
    enum Expr {
        Pred(Pred),
        Not(Box<Expr>),
        And(Box<Expr>, Box<Expr>),
        Or(Box<Expr>, Box<Expr>),
        Group(Box<Expr>),
    }

    const INT_OPS: [Op; 7] = [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Band];
    const STR_OPS: [Op; 3] = [Op::Eq, Op::Ne, Op::Glob];
    const PAT_ATOMS: [&[u8]; 10] = [
        b"a", b"b", b"ab", b"*", b"?", b"[ab]", b"[!a]", b"[a-c]", b"!", b"1",
    ];

    fn gen_pred(rng: &mut Rng) -> Pred {
        match rng.below(10) {
            0..=5 => {
                let f = rng.below(8);
                let (size, signed) = (FIELDS[f].2, FIELDS[f].3);
                let bits = 8 * size as u32;
                let v: i128 = match rng.below(6) {
                    0 => rng.below(4) as i128,
                    1 if signed => -(1i128 << (bits - 1)),
                    1 => (1i128 << bits) - 1,
                    2 if signed => (1i128 << (bits - 1)) - 1,
                    // Larger than the field: truncated.
                    2 => (1i128 << bits) + rng.below(3) as i128,
                    3 if signed => -(rng.below(300) as i128),
                    _ => (rng.next() >> rng.below(64)) as i128,
                };
                let v = if signed {
                    v.clamp(i64::MIN as i128, i64::MAX as i128)
                } else {
                    v.clamp(0, u64::MAX as i128)
                };
                let base = match rng.below(4) {
                    0 => Base::Hex,
                    1 => Base::Oct,
                    _ => Base::Dec,
                };
                Pred::Int(f, *rng.pick(&INT_OPS), v, base)
            }
            6..=8 => {
                let mut pat = Vec::new();
                for _ in 0..rng.below(4) {
                    pat.extend_from_slice(rng.pick(&PAT_ATOMS));
                }
                let field = if rng.one_in(4) {
                    None
                } else {
                    Some(8 + rng.below(2))
                };
                Pred::Str(field, *rng.pick(&STR_OPS), pat)
            }
            _ => Pred::Cpu(*rng.pick(&INT_OPS), rng.below(6) as i64 - 1),
        }
    }

    fn gen_expr(rng: &mut Rng, budget: &mut usize, depth: usize) -> Expr {
        if *budget <= 1 || depth >= MAX_DEPTH - 2 || rng.one_in(3) {
            *budget = budget.saturating_sub(1);
            return Expr::Pred(gen_pred(rng));
        }
        match rng.below(5) {
            0 => Expr::Not(Box::new(gen_expr(rng, budget, depth + 1))),
            1 => Expr::Group(Box::new(gen_expr(rng, budget, depth + 1))),
            2 | 3 => {
                let l = gen_expr(rng, budget, depth + 1);
                let r = gen_expr(rng, budget, depth + 1);
                Expr::And(Box::new(l), Box::new(r))
            }
            _ => {
                let l = gen_expr(rng, budget, depth + 1);
                let r = gen_expr(rng, budget, depth + 1);
                Expr::Or(Box::new(l), Box::new(r))
            }
        }
    }

    fn space(rng: &mut Rng, out: &mut Vec<u8>, at_least_one: bool) {
        let n = match rng.below(6) {
            0 if !at_least_one => 0,
            1 => 2 + rng.below(3),
            _ => 1,
        };
        for _ in 0..n {
            out.push(*rng.pick(b"    \t\n\r\x0b\x0c\xa0"));
        }
    }

    fn render_num(v: i128, base: Base) -> String {
        let (neg, m) = (v < 0, v.unsigned_abs());
        let digits = match base {
            Base::Dec => format!("{m}"),
            Base::Hex => format!("0x{m:x}"),
            Base::Oct if m == 0 => "0".into(),
            Base::Oct => format!("0{m:o}"),
        };
        let text = if neg { format!("-{digits}") } else { digits };
        if text.len() >= 24 {
            // Mainline's operands are shorter than 24 bytes.
            return render_num(v, Base::Dec);
        }
        text
    }

    fn render_pred(rng: &mut Rng, p: &Pred, out: &mut Vec<u8>) {
        let (name, op) = match p {
            Pred::Int(f, op, ..) => (FIELDS[*f].0, *op),
            Pred::Str(Some(f), op, _) => (FIELDS[*f].0, *op),
            Pred::Str(None, op, _) => (*rng.pick(&["comm", "COMM"]), *op),
            Pred::Cpu(op, _) => (*rng.pick(&["cpu", "CPU", "common_cpu"]), *op),
        };
        out.extend_from_slice(name.as_bytes());
        space(rng, out, false);
        out.extend_from_slice(op.text().as_bytes());
        space(rng, out, false);
        match p {
            Pred::Int(_, _, v, base) => out.extend_from_slice(render_num(*v, *base).as_bytes()),
            Pred::Cpu(_, v) => out.extend_from_slice(v.to_string().as_bytes()),
            Pred::Str(_, _, pat) => {
                let q = if rng.one_in(2) { b'"' } else { b'\'' };
                out.push(q);
                out.extend_from_slice(pat);
                out.push(q);
            }
        }
    }

    fn render(rng: &mut Rng, e: &Expr, out: &mut Vec<u8>) {
        let grouped = |rng: &mut Rng, e: &Expr, out: &mut Vec<u8>, need: bool| {
            if need {
                out.push(b'(');
                space(rng, out, false);
                render(rng, e, out);
                space(rng, out, false);
                out.push(b')');
            } else {
                render(rng, e, out);
            }
        };
        match e {
            Expr::Pred(p) => render_pred(rng, p, out),
            Expr::Group(x) => grouped(rng, x, out, true),
            Expr::Not(x) => {
                out.push(b'!');
                space(rng, out, false);
                let need = matches!(**x, Expr::And(..) | Expr::Or(..));
                grouped(rng, x, out, need);
            }
            Expr::And(l, r) => {
                grouped(rng, l, out, matches!(**l, Expr::Or(..)));
                space(rng, out, false);
                out.extend_from_slice(b"&&");
                space(rng, out, false);
                grouped(rng, r, out, matches!(**r, Expr::Or(..) | Expr::And(..)));
            }
            Expr::Or(l, r) => {
                grouped(rng, l, out, false);
                space(rng, out, false);
                out.extend_from_slice(b"||");
                space(rng, out, false);
                grouped(rng, r, out, matches!(**r, Expr::Or(..)));
            }
        }
    }

    /// Depth of parentheses and number of predicates of the rendered tree, roughly.
    fn count(e: &Expr) -> usize {
        match e {
            Expr::Pred(_) => 1,
            Expr::Not(x) | Expr::Group(x) => count(x),
            Expr::And(l, r) | Expr::Or(l, r) => count(l) + count(r),
        }
    }

    /// Recursive glob (fnmatch without flags, as `lib/glob.c` documents it) over the
    /// NUL-terminated string `s`.
    fn glob(p: &[u8], s: &[u8]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some(b'*') => (0..=s.len()).any(|k| glob(&p[1..], &s[k..])),
            Some(b'?') => !s.is_empty() && glob(&p[1..], &s[1..]),
            Some(b'[') => {
                let Some(close) = class_end(p) else {
                    return s.first() == Some(&b'[') && glob(&p[1..], &s[1..]);
                };
                let Some(&c) = s.first() else { return false };
                let body = &p[1..close];
                let (inv, body) = match body.first() {
                    Some(b'!') => (true, &body[1..]),
                    _ => (false, body),
                };
                let mut hit = false;
                let mut k = 0;
                while k < body.len() {
                    if k + 2 < body.len() && body[k + 1] == b'-' {
                        hit |= body[k] <= c && c <= body[k + 2];
                        k += 3;
                    } else {
                        hit |= body[k] == c;
                        k += 1;
                    }
                }
                hit != inv && glob(&p[close + 1..], &s[1..])
            }
            Some(&d) => s.first() == Some(&d) && glob(&p[1..], &s[1..]),
        }
    }

    /// Index of the `]` closing the class that starts `p` (its first member may be `]`;
    /// the generator's classes have no `]` members and no escapes).
    fn class_end(p: &[u8]) -> Option<usize> {
        let start = if p.get(1) == Some(&b'!') { 2 } else { 1 };
        p.iter()
            .enumerate()
            .skip(start + 1)
            .find(|&(_, &c)| c == b']')
            .map(|(i, _)| i)
            .filter(|_| p.len() > start)
    }

    /// The string of a `char[N]` buffer: up to its first NUL.
    fn c_str(buf: &[u8]) -> &[u8] {
        buf.split(|&c| c == 0).next().unwrap_or(&[])
    }

    /// Mainline's `~` semantics, re-derived from its documentation and fast paths.
    fn tilde(buf: &[u8], pat: &[u8]) -> bool {
        let (neg, pat) = match pat.split_first() {
            Some((b'!', rest)) => (true, rest),
            _ => (false, pat),
        };
        let meta = |p: &[u8]| p.iter().any(|c| b"*?[\\".contains(c));
        let n = buf.len();
        let r = if pat.first().is_some_and(u8::is_ascii_digit) || !meta(pat) {
            c_str(buf) == pat
        } else if pat == b"*" {
            n >= 1
        } else if pat.len() >= 2
            && pat[0] == b'*'
            && pat[pat.len() - 1] == b'*'
            && !meta(&pat[1..pat.len() - 1])
        {
            let x = &pat[1..pat.len() - 1];
            x.is_empty() || buf.windows(x.len()).any(|w| w == x)
        } else if pat[0] == b'*' && !meta(&pat[1..]) {
            let x = &pat[1..];
            n > x.len() && &buf[n - 1 - x.len()..n - 1] == x
        } else if pat[pat.len() - 1] == b'*' && !meta(&pat[..pat.len() - 1]) {
            let x = &pat[..pat.len() - 1];
            n >= x.len() && &buf[..x.len()] == x
        } else {
            glob(pat, c_str(buf))
        };
        r != neg
    }

    fn cmp<T: PartialOrd>(op: Op, a: T, b: T) -> bool {
        match op {
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Band | Op::Glob => false,
        }
    }

    impl Pred {
        fn eval(&self, rec: &[u8], cx: &Context<'_>) -> bool {
            match self {
                Pred::Int(f, op, v, _) => {
                    let (_, off, size, signed, _) = FIELDS[*f];
                    let Some(bytes) = rec.get(off..off + size) else {
                        return false;
                    };
                    let mut raw = [0u8; 16];
                    raw[..size].copy_from_slice(bytes);
                    let bits = 8 * size as u32;
                    let field = u128::from_le_bytes(raw);
                    let val = (*v as u128) & ((1u128 << bits) - 1);
                    if *op == Op::Band {
                        return field & val != 0;
                    }
                    if signed {
                        let sx = |x: u128| ((x << (128 - bits)) as i128) >> (128 - bits);
                        cmp(*op, sx(field), sx(val))
                    } else {
                        cmp(*op, field, val)
                    }
                }
                Pred::Cpu(op, v) => cmp(*op, i64::from(cx.cpu as i32), *v),
                Pred::Str(f, op, pat) => {
                    let comm;
                    let buf: &[u8] = match f {
                        Some(f) => {
                            let (_, off, size, ..) = FIELDS[*f];
                            match rec.get(off..off + size) {
                                Some(b) => b,
                                None => return false,
                            }
                        }
                        None => {
                            let mut b = [0u8; 16];
                            let name = c_str(cx.comm);
                            let n = name.len().min(15);
                            b[..n].copy_from_slice(&name[..n]);
                            comm = b;
                            &comm
                        }
                    };
                    match op {
                        Op::Eq => c_str(buf) == &pat[..],
                        Op::Ne => c_str(buf) != &pat[..],
                        _ => tilde(buf, pat),
                    }
                }
            }
        }
    }

    impl Expr {
        fn eval(&self, rec: &[u8], cx: &Context<'_>) -> bool {
            match self {
                Expr::Pred(p) => p.eval(rec, cx),
                Expr::Not(x) => !x.eval(rec, cx),
                Expr::Group(x) => x.eval(rec, cx),
                Expr::And(l, r) => l.eval(rec, cx) && r.eval(rec, cx),
                Expr::Or(l, r) => l.eval(rec, cx) || r.eval(rec, cx),
            }
        }
    }

    fn gen_record(rng: &mut Rng) -> Vec<u8> {
        let mut r: Vec<u8> = (0..REC)
            .map(|_| match rng.below(4) {
                0 => 0,
                1 => *rng.pick(b"ab1*[!"),
                2 => 0xff,
                _ => rng.next() as u8,
            })
            .collect();
        if rng.one_in(10) {
            r.truncate(rng.below(REC));
        }
        r
    }

    fn gen_context(rng: &mut Rng) -> (u32, Vec<u8>) {
        let comm: Vec<u8> = (0..rng.below(20)).map(|_| *rng.pick(b"ab1*[!\0")).collect();
        (rng.below(5) as u32, comm)
    }

    const MESSAGES: [&str; 18] = [
        crate::filter::ERR_INVALID_OP,
        crate::filter::ERR_TOO_MANY_OPEN,
        crate::filter::ERR_TOO_MANY_CLOSE,
        crate::filter::ERR_MISSING_QUOTE,
        crate::filter::ERR_MISSING_BRACE_OPEN,
        crate::filter::ERR_MISSING_BRACE_CLOSE,
        crate::filter::ERR_OPERAND_TOO_LONG,
        crate::filter::ERR_EXPECT_STRING,
        crate::filter::ERR_EXPECT_DIGIT,
        crate::filter::ERR_ILLEGAL_FIELD_OP,
        crate::filter::ERR_FIELD_NOT_FOUND,
        crate::filter::ERR_ILLEGAL_INTVAL,
        crate::filter::ERR_TOO_MANY_PREDS,
        crate::filter::ERR_INVALID_CPULIST,
        crate::filter::ERR_INVALID_VALUE,
        crate::filter::ERR_NO_FUNCTION,
        crate::filter::ERR_NO_FILTER,
        crate::filter::ERR_ERRNO,
    ];

    fn show(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    fn check_error(text: &[u8], e: &FilterError) -> Result<(), String> {
        if !MESSAGES.contains(&e.msg) {
            return Err(format!("unknown message {e:?}"));
        }
        if ![EPERM, ENOENT, ESRCH, EINVAL].contains(&e.errno) {
            return Err(format!("unexpected errno {e:?}"));
        }
        let len = crate::filter::filter_text(text).len();
        if e.pos > len + 2 {
            return Err(format!("position past the end {e:?}"));
        }
        if e.parse_error == (e.msg == crate::filter::ERR_ERRNO) {
            return Err(format!("inconsistent {e:?}"));
        }
        Ok(())
    }

    /// Compiles `text`, checks the refusal or runs the program on `records`.
    fn try_text(
        text: &[u8],
        records: &[(Vec<u8>, u32, Vec<u8>)],
    ) -> Result<Option<Vec<bool>>, String> {
        let got = compile(text, &Ev);
        // Trailing whitespace, a NUL and anything after it: same result.
        let mut padded = text.to_vec();
        padded.extend_from_slice(b" \n\t");
        let mut cut = text.to_vec();
        cut.extend_from_slice(b"\0 || ((junk");
        if compile(&padded, &Ev) != got || compile(&cut, &Ev) != got {
            return Err("trailing bytes changed the result".into());
        }
        match got {
            Err(e) => {
                check_error(text, &e)?;
                Ok(None)
            }
            Ok(p) => Ok(Some(run_all(&p, text, records))),
        }
    }

    fn run_all(p: &Program, text: &[u8], records: &[(Vec<u8>, u32, Vec<u8>)]) -> Vec<bool> {
        records
            .iter()
            .map(|(r, cpu, comm)| p.matches(text, r, &Context { cpu: *cpu, comm }))
            .collect()
    }

    fn wrap(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// Combinations of two texts that compiled: `!(F)`, `(F) && (G)`, `(F) || (G)`.
    fn check_algebra(
        f: &[u8],
        fr: &[bool],
        g: &[u8],
        gr: &[bool],
        records: &[(Vec<u8>, u32, Vec<u8>)],
    ) -> Result<(), String> {
        let not = wrap(&[b"!(", f, b")"]);
        if let Some(nr) = try_text(&not, records)? {
            if nr.iter().zip(fr).any(|(a, b)| a == b) {
                return Err(format!("{:?} and its negation agree", show(f)));
            }
        }
        let and = wrap(&[b"(", f, b") && (", g, b")"]);
        if let Some(ar) = try_text(&and, records)? {
            let want: Vec<bool> = fr.iter().zip(gr).map(|(a, b)| *a && *b).collect();
            if ar != want {
                return Err(format!("{:?} is not the conjunction", show(&and)));
            }
        }
        let or = wrap(&[b"(", f, b") || (", g, b")"]);
        if let Some(or_r) = try_text(&or, records)? {
            let want: Vec<bool> = fr.iter().zip(gr).map(|(a, b)| *a || *b).collect();
            if or_r != want {
                return Err(format!("{:?} is not the disjunction", show(&or)));
            }
        }
        Ok(())
    }

    fn mutate(rng: &mut Rng, t: &mut Vec<u8>) {
        let at = rng.below(t.len() + 1);
        match rng.below(5) {
            0 => t.truncate(at),
            1 if !t.is_empty() => {
                let i = rng.below(t.len());
                t.remove(i);
            }
            2 => {
                let ins: &[u8] = rng.pick(&[
                    &b"("[..],
                    b")",
                    b"!",
                    b"&&",
                    b"||",
                    b"&",
                    b"|",
                    b"\"",
                    b"'",
                    b"=",
                    b"CPUS{",
                    b"}",
                    b".function",
                    b".ustring",
                    b"-",
                    b"0x",
                    b"zz",
                    b" ",
                    b"\0",
                    b"~",
                ]);
                t.splice(at..at, ins.iter().copied());
            }
            _ => t.insert(at, rng.next() as u8),
        }
    }

    #[derive(Default, Debug)]
    struct Counts {
        trees: u64,
        compiled: u64,
        matched: u64,
        errors: [u64; 18],
    }

    fn one(rng: &mut Rng, counts: &mut Counts) -> Result<(), String> {
        let records: Vec<(Vec<u8>, u32, Vec<u8>)> = (0..8)
            .map(|_| {
                let r = gen_record(rng);
                let (cpu, comm) = gen_context(rng);
                (r, cpu, comm)
            })
            .collect();
        let mut budget = 1 + rng.below(MAX_PREDS);
        let tree = gen_expr(rng, &mut budget, 0);
        let mut text = Vec::new();
        space(rng, &mut text, false);
        render(rng, &tree, &mut text);
        if count(&tree) <= MAX_PREDS {
            counts.trees += 1;
            let got = try_text(&text, &records)?
                .ok_or_else(|| format!("refused: {:?}", compile(&text, &Ev)))?;
            for (k, (r, cpu, comm)) in records.iter().enumerate() {
                let want = tree.eval(r, &Context { cpu: *cpu, comm });
                if got[k] != want {
                    return Err(format!(
                        "record {:?} cpu {cpu} comm {:?}: program says {}, tree says {want}",
                        r,
                        show(comm),
                        got[k]
                    ));
                }
                counts.matched += u64::from(want);
            }
        }
        // A second text, then mutations of both.
        let mut budget = 1 + rng.below(4);
        let tree2 = gen_expr(rng, &mut budget, 0);
        let mut text2 = Vec::new();
        render(rng, &tree2, &mut text2);
        let (mut f, mut g) = (text, text2);
        if rng.one_in(2) {
            for _ in 0..1 + rng.below(3) {
                mutate(rng, &mut f);
            }
        }
        if rng.one_in(4) {
            f = (0..rng.below(40))
                .map(|_| *rng.pick(b"ab s!=<>&|~()\"'0x1-CPUS{}.*[?\\"))
                .collect();
        }
        if rng.one_in(3) {
            mutate(rng, &mut g);
        }
        let fr = try_text(&f, &records)?;
        let gr = try_text(&g, &records)?;
        match compile(&f, &Ev) {
            Ok(_) => counts.compiled += 1,
            Err(e) => {
                let k = MESSAGES.iter().position(|&m| m == e.msg).unwrap_or(0);
                counts.errors[k] += 1;
            }
        }
        if let (Some(fr), Some(gr)) = (fr, gr) {
            check_algebra(&f, &fr, &g, &gr, &records)?;
        }
        Ok(())
    }

    #[test]
    fn fuzz_filter() {
        let mut counts = Counts::default();
        let (seed, iters) = drive("filter", 0xf117e5, ITERS, |rng| one(rng, &mut counts));
        println!("filter fuzz: seed {seed}, {iters} inputs: {counts:?}");
        if iters >= ITERS {
            assert!(counts.trees > iters / 2, "{counts:?}");
            assert!(counts.matched > iters, "{counts:?}");
            assert!(counts.compiled > iters / 10, "{counts:?}");
            let reached = counts.errors.iter().filter(|&&n| n > 0).count();
            assert!(reached >= 12, "{counts:?}");
        }
    }

    #[test]
    fn reference_globs() {
        assert!(glob(b"*a*b", b"xaxb"));
        assert!(!glob(b"a?", b"a"));
        assert!(glob(b"[!a]b", b"bb"));
        assert!(glob(b"[a-c]", b"b"));
        assert!(glob(b"[ab", b"[ab"));
        assert!(tilde(b"ab\0\0\0\0", b"a*"));
        assert!(!tilde(b"ab\0\0\0\0", b"*b"));
        assert!(tilde(b"xxxab\0", b"*ab"));
        assert!(tilde(b"ab\0\0\0\0", b"!b*"));
    }
}

// --- kprobe definitions (src/probe.rs) ---------------------------------------------------

mod probe_fuzz {
    //! Randomized property tests of the kprobe definition parser and its renderers
    //! (`src/probe.rs`).
    //!
    //! Inputs are probe lines built from the grammar (every kind of probe, place, event
    //! name, fetch argument and type, with random blanks and comments; valid as built,
    //! or with one malformed part whose error is known),
    //! mutations of them (truncation, byte flips, the grammar's special bytes inserted,
    //! ranges deleted or repeated, long runs of arguments and dereferences) and random
    //! bytes from the grammar's alphabet. Every line is parsed as written to
    //! `kprobe_events` and to `dynamic_events`. Properties:
    //! - nothing panics ([`fuzz_one`] included);
    //! - a line built valid is accepted with the arguments, names, group and event it
    //!   was built with, one built malformed is refused with the error it was built with
    //!   (the first one in mainline's order);
    //! - an accepted probe respects every limit (argument count, names, sizes, program
    //!   length), its arguments are packed in order, its listing parses back into the
    //!   same probe and is canonical, its format fields and print fmt name every
    //!   argument, blanks and a comment around the line change nothing, and removals
    //!   naming it match it;
    //! - a refusal's caret lies within the command mainline logs, only the refusals
    //!   mainline logs have a message, the errno is one mainline gives for the error, and
    //!   no registry error comes out of the parser.
    //!
    //! It follows `EVENTFS_FUZZ_SEED` and `EVENTFS_FUZZ_ITERS`.

    use super::{drive, Rng};
    use crate::probe::{
        command, fields, fuzz_one, is_good_name, is_good_system_name, parse_probe_line_with,
        write_listing, write_print_fmt, AnySymbol, Errno, Fetch, FieldKind, FuncEntry, Kernel,
        ProbeCommand, ProbeDef, ProbeError, ProbeRefusal, RecordLayout, Source, SymbolCheck,
        MAX_ARGSTR_LEN, MAX_ARG_NAME_LEN, MAX_EVENT_NAME_LEN, MAX_PROBE_EVENT_SIZE, MAX_TRACE_ARGS,
    };

    /// Inputs per `cargo test` run unless `EVENTFS_FUZZ_ITERS` says otherwise.
    const ITERS: u64 = 20_000;

    /// [`AnySymbol`], but `dup*` names two symbols and module `nl` is not loaded.
    struct Fuzz;

    impl Kernel for Fuzz {
        fn check_symbol(&self, symbol: &[u8]) -> SymbolCheck {
            if symbol.starts_with(b"dup") {
                SymbolCheck::NotUnique
            } else {
                AnySymbol.check_symbol(symbol)
            }
        }

        fn func_entry(&self, symbol: &[u8], offset: u32) -> FuncEntry {
            if symbol.starts_with(b"nl:") {
                FuncEntry::Unknown
            } else {
                AnySymbol.func_entry(symbol, offset)
            }
        }
    }

    /// Fetch arguments valid on any probe.
    const ANY_ARGS: &[&str] = &[
        "%di",
        "%ax:x16",
        "%r15:s32",
        "%flags:u8",
        "$stack",
        "$stack3:u8",
        "$comm",
        "$COMM:string",
        "+0(%di):string",
        "-8(%sp):s32",
        "+u0(%si):ustring",
        "+0(%si):ustring",
        "+u8(%si):u16",
        "@sym:u8",
        "@sym+8:x32",
        "@sym-4:s64",
        "@0x1000:u16",
        "\\7",
        "\\-7:s8",
        "\\\"str\"",
        "+0(%di):u8[4]",
        "+0(%di):char[3]",
        "+0(%di):string[2]",
        "$stack0:b4@4/32",
        "%si:b1@0/8",
        "%si:symbol",
        "%di:symstr",
        "+0(+8(%di)):u64",
        "+0(@sym):string",
        "+0x10(+0(+0(+0(%bp)))):x8",
    ];

    /// Fetch arguments valid on a function entry.
    const ENTRY_ARGS: &[&str] = &["$arg1", "$arg2:u32", "+0($arg3):string", "$arg6:s64"];

    /// Fetch arguments valid on a return probe on a symbol.
    const RETURN_ARGS: &[&str] = &["$retval", "$retval:s32", "$arg1", "+0($retval):string"];

    /// `%pd`/`%pD` arguments (on a function entry).
    const DENTRY_ARGS: &[&str] = &["$arg1:%pd", "$arg2:%pD"];

    /// Arguments refused wherever they are, and why.
    const BAD_ARGS: &[(&str, ProbeError)] = &[
        ("$stack:string", ProbeError::BadString),
        ("%ax:u8[2]", ProbeError::BadString),
        ("$stack:symstr", ProbeError::BadSymstring),
        ("$stack9999", ProbeError::BadStackNum),
        ("a=$arg0", ProbeError::BadArgNum),
        ("@+8", ProbeError::FileOnKprobe),
        ("+0($comm)", ProbeError::CommCantDeref),
        ("+0(%ax):u8[65]", ProbeError::ArrayTooBig),
        ("$comm:u8", ProbeError::NeedStringType),
        ("=%ax", ProbeError::NoArgName),
        ("common_pid=%ax", ProbeError::UsedArgName),
        ("__probe_ip=%ax", ProbeError::UsedArgName),
        (
            "a23456789012345678901234567890123=%ax",
            ProbeError::ArgNameTooLong,
        ),
        ("9a=%ax", ProbeError::BadArgName),
        ("x=", ProbeError::NoArgBody),
        (
            "+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(%ax)))))))))))))))",
            ProbeError::TooManyOps,
        ),
        (
            "x=+0x0000000000000000000000000000000000000000000000000000000000(%ax)",
            ProbeError::ArgTooLong,
        ),
        (
            "+0(%ax):u64[64] +0(%ax):u64[64] +0(%ax):u64[64] +0(%ax):u64[64] \
             +0(%ax):u64[64] +0(%ax):u64[64] +0(%ax):u64[64]",
            ProbeError::EventTooBig,
        ),
    ];

    /// Whether `$retval` is a return probe's (mainline's `TPARG_FL_RETURN`).
    fn ret_ok(is_return: bool, address: bool) -> bool {
        is_return && !address
    }

    /// Symbols the [`Fuzz`] kernel knows.
    const SYMBOLS: &[&str] = &["vfs_read", "do_exit", "mod1:mfunc", "sym.isra.0", "nl:f"];

    /// A line built from the grammar, and what it means when `valid`.
    struct Built {
        line: Vec<u8>,
        /// Accepted as built, or refused with this error.
        valid: Result<(), ProbeError>,
        group: Option<String>,
        event: Option<String>,
        names: Vec<String>,
    }

    fn blanks(rng: &mut Rng, out: &mut Vec<u8>, at_least_one: bool) {
        let n = if at_least_one {
            1 + rng.below(3)
        } else {
            rng.below(3)
        };
        for _ in 0..n {
            out.push(*rng.pick(b"  \t"));
        }
    }

    fn gen_line(rng: &mut Rng) -> Built {
        let mut line = Vec::new();
        if rng.one_in(4) {
            blanks(rng, &mut line, false);
        }
        // Kind.
        let kind = rng.below(4);
        let is_return = kind != 0;
        // The first error in mainline's order, if any.
        let mut valid = Ok(());
        match kind {
            0 | 3 => line.push(b'p'),
            1 => line.push(b'r'),
            _ if rng.one_in(30) => {
                line.extend_from_slice(format!("r{}", 4097 + rng.below(100_000)).as_bytes());
                valid = Err(ProbeError::MaxactTooBig);
            }
            _ => line.extend_from_slice(format!("r{}", 1 + rng.below(4096)).as_bytes()),
        }
        // Event.
        let (group, event) = match rng.below(5) {
            0 => (None, None),
            1 => (None, Some(format!("ev{}", rng.below(100)))),
            2 => (
                Some(format!("grp-{}", rng.below(9))),
                Some(format!("e_{}", rng.below(9))),
            ),
            3 => (Some("g".to_string()), None),
            _ => (
                Some(format!("G{}", rng.below(9))),
                Some("E".repeat(1 + rng.below(63))),
            ),
        };
        // Sometimes a malformed group or event instead, and the error it gives (after
        // those of the place).
        let mut event_err = Ok(());
        if rng.one_in(20) {
            let (text, err) = *rng.pick(&[
                (":/bar", ProbeError::NoGroupName),
                (":", ProbeError::NoEventName),
                (":1g/e", ProbeError::BadGroupName),
                (":g/e-1", ProbeError::BadEventName),
                (":bad.1", ProbeError::BadEventName),
                (":g/e/f", ProbeError::BadEventName),
            ]);
            line.extend_from_slice(text.as_bytes());
            event_err = Err(err);
        } else if rng.one_in(40) {
            let long = "g".repeat(MAX_EVENT_NAME_LEN);
            if rng.one_in(2) {
                line.extend_from_slice(format!(":{long}/e").as_bytes());
                event_err = Err(ProbeError::GroupTooLong);
            } else {
                line.extend_from_slice(format!(":g/{long}").as_bytes());
                event_err = Err(ProbeError::EventTooLong);
            }
        }
        match (&group, &event) {
            _ if event_err.is_err() => {}
            (None, None) => {}
            (None, Some(e)) => line.extend_from_slice(format!(":{e}").as_bytes()),
            (Some(g), None) => line.extend_from_slice(format!(":{g}/").as_bytes()),
            (Some(g), Some(e)) => {
                let sep = if g.contains('-') {
                    '/'
                } else {
                    *rng.pick(&['/', '.'])
                };
                line.extend_from_slice(format!(":{g}{sep}{e}").as_bytes());
            }
        }
        blanks(rng, &mut line, true);
        // Place.
        let address = rng.one_in(6);
        let sym = if !address && rng.one_in(30) {
            valid = valid.and(Err(ProbeError::NonUniqSymbol));
            "dup_sym"
        } else {
            *rng.pick(SYMBOLS)
        };
        let offset = if (kind == 0 || rng.one_in(10)) && !address && rng.one_in(4) {
            1 + rng.below(300)
        } else {
            0
        };
        if kind != 0 && offset != 0 && !sym.starts_with("nl:") {
            valid = valid.and(Err(ProbeError::BadRetprobe));
        }
        if address {
            line.extend_from_slice(format!("{:#x}", rng.next() >> rng.below(64)).as_bytes());
        } else {
            line.extend_from_slice(sym.as_bytes());
            match offset {
                0 if rng.one_in(5) => line.extend_from_slice(b"+0"),
                0 => {}
                n if rng.one_in(2) => line.extend_from_slice(format!("+{n:#x}").as_bytes()),
                n => line.extend_from_slice(format!("+{n}").as_bytes()),
            }
            if kind == 3 {
                line.extend_from_slice(b"%return");
            }
        }
        let entry = !is_return && !address && offset == 0 && !sym.starts_with("nl:");
        valid = valid.and(event_err);
        let ret = ret_ok(is_return, address);
        // Arguments.
        let nr = if rng.one_in(40) {
            rng.below(MAX_TRACE_ARGS + 1)
        } else {
            rng.below(8)
        };
        let mut names = Vec::new();
        let mut dentries = 0;
        for i in 0..nr {
            let mut pool: Vec<&str> = ANY_ARGS.to_vec();
            if entry {
                pool.extend_from_slice(ENTRY_ARGS);
                if dentries < 3 {
                    pool.extend_from_slice(DENTRY_ARGS);
                }
            }
            if ret {
                pool.extend_from_slice(RETURN_ARGS);
            }
            let arg = *rng.pick(&pool);
            dentries += usize::from(arg.ends_with(":%pd") || arg.ends_with(":%pD"));
            blanks(rng, &mut line, true);
            if rng.one_in(2) {
                let name = format!("n{i}_{}", "x".repeat(rng.below(MAX_ARG_NAME_LEN - 5)));
                line.extend_from_slice(format!("{name}={arg}").as_bytes());
                names.push(name);
            } else {
                line.extend_from_slice(arg.as_bytes());
                names.push(format!("arg{}", i + 1));
            }
        }
        if valid.is_ok() && rng.one_in(40) {
            // More %pd expansions than fit.
            line.extend_from_slice(" $arg1:%pD".repeat(8).as_bytes());
            valid = Err(if !(entry || ret) {
                ProbeError::NofentryArgs
            } else if nr + 8 > MAX_TRACE_ARGS {
                ProbeError::TooManyArgs
            } else {
                ProbeError::NoMemory
            });
        }
        if valid.is_ok() && rng.one_in(10) {
            // One argument that is refused after the others were parsed.
            let (arg, err) = *rng.pick(BAD_ARGS);
            line.push(b' ');
            line.extend_from_slice(arg.as_bytes());
            valid = Err(err);
            if nr + arg.split(' ').count() > MAX_TRACE_ARGS {
                valid = Err(ProbeError::TooManyArgs);
            }
        }
        if rng.one_in(4) {
            blanks(rng, &mut line, false);
        }
        if rng.one_in(6) {
            line.extend_from_slice(b"# a comment: %zz");
        }
        if rng.one_in(8) {
            line.push(b'\r');
        }
        Built {
            line,
            valid,
            group,
            event,
            names,
        }
    }

    fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
        if data.is_empty() {
            data.push(b'p');
        }
        let at = rng.below(data.len() + 1);
        match rng.below(8) {
            0 => data.truncate(at),
            1 if at < data.len() => data[at] = rng.next() as u8,
            2 => {
                let ins: &[u8] = rng.pick(&[
                    &b"+"[..],
                    b"-",
                    b"(",
                    b")",
                    b"@",
                    b"$",
                    b"%",
                    b":",
                    b"[",
                    b"]",
                    b"/",
                    b".",
                    b"=",
                    b"\\",
                    b"\"",
                    b"u",
                    b"#",
                    b" ",
                    b"\t",
                    b"0x",
                    b"9",
                    b"b",
                    b"\0",
                    b"\xa0",
                    b"%return",
                    b"$arg",
                    b"$arg*",
                    b" $arg* $arg*",
                    b":%pd",
                    b":string",
                    b"r9999",
                    b"r4097",
                    b" $retval",
                    b"[64]",
                    b"+0(",
                    b"))",
                    b"dup_",
                    b"+8%return",
                    b" $stack9999",
                    b" $arg0",
                    b" @+8",
                    b" +0($comm)",
                    b":u8[65]",
                    b" $stack:string",
                    b" $stack:symstr",
                    b" +0(%ax):u64[64]",
                    b"-",
                ]);
                data.splice(at..at, ins.iter().copied());
            }
            3 => {
                let end = (at + rng.below(8)).min(data.len());
                data.drain(at..end);
            }
            4 => {
                let end = (at + rng.below(16)).min(data.len());
                let piece: Vec<u8> = data[at..end].to_vec();
                for _ in 0..1 + rng.below(20) {
                    data.splice(at..at, piece.iter().copied());
                }
            }
            5 => {
                let n = 1 + rng.below(20);
                let deep = format!(" {}%ax{}", "+0(".repeat(n), ")".repeat(n));
                data.extend_from_slice(deep.as_bytes());
            }
            6 => {
                let n = rng.below(2 * MAX_TRACE_ARGS);
                for i in 0..n {
                    data.extend_from_slice(format!(" \\{i}").as_bytes());
                }
            }
            _ => data.insert(at, *rng.pick(b"-!pr:")),
        }
    }

    /// A removal line, often of the probe `line` defines.
    fn gen_removal(rng: &mut Rng, line: &[u8]) -> Vec<u8> {
        let mut out = rng.pick(&[&b"-:"[..], b"!p:", b"!", b"-", b"!r:"]).to_vec();
        match rng.below(4) {
            0 => out.extend_from_slice(b"kprobes/"),
            1 => out.extend_from_slice(b"g/"),
            _ => {}
        }
        if !rng.one_in(4) {
            out.extend_from_slice(format!("ev{}", rng.below(100)).as_bytes());
        }
        if rng.one_in(2) {
            // The place and arguments of `line`.
            let rest = line
                .splitn(2, |&c| c == b' ' || c == b'\t')
                .nth(1)
                .unwrap_or(&[]);
            out.push(b' ');
            out.extend_from_slice(rest);
        }
        out
    }

    fn show(b: &[u8]) -> String {
        String::from_utf8_lossy(b).escape_debug().to_string()
    }

    fn text(f: impl FnOnce(&mut Vec<u8>) -> core::fmt::Result) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        out
    }

    fn parse(line: &[u8], source: Source) -> Result<Option<ProbeCommand<'_>>, ProbeRefusal> {
        parse_probe_line_with(line, source, &Fuzz)
    }

    /// The properties of an accepted probe `d` parsed from `line`.
    fn check_def(line: &[u8], d: &ProbeDef<'_>) -> Result<(), String> {
        let fail = |what: &str| Err(format!("{what}: {d:?}"));
        if !(is_good_system_name(d.group) && d.group.len() < MAX_EVENT_NAME_LEN) {
            return fail("bad group");
        }
        if d.event().is_empty() || d.event().len() >= MAX_EVENT_NAME_LEN {
            return fail("bad event");
        }
        if d.nr_args() > MAX_TRACE_ARGS || d.args().count() != d.nr_args() {
            return fail("argument count");
        }
        let mut size = 0;
        let mut names: Vec<Vec<u8>> = Vec::new();
        for arg in d.args() {
            let name = arg.name();
            if !is_good_name(name)
                || name.len() > MAX_ARG_NAME_LEN
                || names.iter().any(|n| n == name)
            {
                return fail("argument name");
            }
            names.push(name.to_vec());
            if arg.comm().is_empty() || arg.comm().len() > MAX_ARGSTR_LEN {
                return fail("argument text");
            }
            if arg.offset() != size {
                return fail("arguments not packed");
            }
            size += arg.size();
            let program: Vec<_> = arg.program().collect();
            let stores = program
                .iter()
                .filter(|op| {
                    matches!(
                        op,
                        Fetch::StRaw(..)
                            | Fetch::StMem(..)
                            | Fetch::StUMem(..)
                            | Fetch::StString(..)
                            | Fetch::StUString(..)
                            | Fetch::StSymStr(..)
                    )
                })
                .count();
            if program.len() > 16
                || program.last() != Some(&Fetch::End)
                || program.iter().filter(|op| **op == Fetch::End).count() != 1
                || program.contains(&Fetch::Nop)
                || stores != 1
            {
                return fail("program");
            }
        }
        if size != d.args_size() || size > MAX_PROBE_EVENT_SIZE {
            return fail("size");
        }
        // The listing parses back into the same probe, and is canonical.
        let listing = text(|w| write_listing(w, d));
        if !listing.ends_with(b"\n") || listing.iter().filter(|&&c| c == b'\n').count() != 1 {
            return fail("listing lines");
        }
        for source in [Source::KprobeEvents, Source::DynamicEvents] {
            match parse(&listing, source) {
                Ok(Some(ProbeCommand::Create(back))) => {
                    if back != *d {
                        return Err(format!(
                            "listing {:?} parses to {back:?}, not {d:?}",
                            show(&listing)
                        ));
                    }
                    if text(|w| write_listing(w, &back)) != listing {
                        return fail("listing not canonical");
                    }
                }
                other => return Err(format!("listing {:?} parses to {other:?}", show(&listing))),
            }
        }
        // Blanks and a comment around the line change nothing.
        let mut wrapped = b" \t".to_vec();
        wrapped.extend_from_slice(command(line));
        wrapped.extend_from_slice(b" \t# comment");
        match parse(&wrapped, Source::KprobeEvents) {
            Ok(Some(ProbeCommand::Create(w))) if w == *d => {}
            other => return Err(format!("wrapped line gives {other:?}")),
        }
        // The format fields and the print fmt.
        let head = if d.is_return { 2 } else { 1 };
        let all: Vec<_> = fields(d, 8).collect();
        if all.len() != head + d.nr_args()
            || all
                .iter()
                .take(head)
                .any(|f| f.kind != FieldKind::Ulong || f.size != 8)
            || all
                .iter()
                .skip(head)
                .zip(d.args())
                .any(|(f, a)| f.offset != 8 + 8 * head + a.offset() || f.size != a.size())
        {
            return fail("fields");
        }
        let fmt = text(|w| write_print_fmt(w, d));
        let prefix: &[u8] = if d.is_return {
            b"\"(%lx <- %lx)"
        } else {
            b"\"(%lx)"
        };
        if !fmt.starts_with(prefix) {
            return fail("print fmt");
        }
        let mut rest = &fmt[..];
        for name in &names {
            let key = [b" ", &name[..], b"="].concat();
            match rest.windows(key.len()).position(|w| w == key) {
                Some(i) => rest = &rest[i + key.len()..],
                None => return fail("print fmt names"),
            }
        }
        // Removals naming the probe match it; another event's do not.
        let mut by_name = b"-:".to_vec();
        by_name.extend_from_slice(d.group);
        by_name.push(b'/');
        by_name.extend_from_slice(d.event());
        let mut full = by_name.clone();
        full.extend_from_slice(&listing[listing.iter().position(|&c| c == b' ').unwrap_or(0)..]);
        let mut other = by_name.clone();
        other.push(b'x');
        // Mainline compares the place as printed into MAX_ARGSTR_LEN + 1 bytes: a longer
        // one never matches.
        let place = text(|w| d.place.write(w));
        let full_matches = place.len() <= MAX_ARGSTR_LEN;
        for (removal, expected) in [(&by_name, true), (&full, full_matches), (&other, false)] {
            match parse(removal, Source::KprobeEvents) {
                Ok(Some(ProbeCommand::Remove(r))) if r.matches(d) == expected => {}
                res => return Err(format!("removal {:?}: {res:?}", show(removal))),
            }
        }
        Ok(())
    }

    /// The properties of a refusal `r` of `line`.
    fn check_refusal(line: &[u8], r: &ProbeRefusal) -> Result<(), String> {
        use ProbeError::*;
        let logged = !matches!(r.err, NotProbe | BadRemoval | NoMemory);
        if r.err.log_text().is_some() != logged || (!logged && r.pos != 0) {
            return Err(format!("{r:?}: logging"));
        }
        let cmd = text(|w| r.write_command(w, line));
        if r.pos > cmd.len() {
            return Err(format!("{r:?}: caret past {:?}", show(&cmd)));
        }
        let errno_ok = match r.err {
            TooManyArgs | ArgTooLong | EventTooBig => r.errno == Errno::TooBig,
            TooManyOps => matches!(r.errno, Errno::Inval | Errno::TooBig),
            NosupBtfarg => matches!(r.errno, Errno::Inval | Errno::NotSupported),
            NoMemory => r.errno == Errno::NoMemory,
            EventExist | DiffProbeType | DiffArgType | SameProbe | BadInsnBndry | FailRegProbe => {
                return Err(format!("{r:?}: a registry error"))
            }
            _ => r.errno == Errno::Inval,
        };
        if !errno_ok {
            return Err(format!("{r:?}: errno"));
        }
        Ok(())
    }

    #[derive(Default, Debug)]
    struct Counts {
        built: u64,
        creates: u64,
        removes: u64,
        empty: u64,
        errors: Vec<u64>,
    }

    fn check_line(line: &[u8], counts: &mut Counts) -> Result<(), String> {
        for source in [Source::KprobeEvents, Source::DynamicEvents] {
            match parse(line, source) {
                Ok(Some(ProbeCommand::Create(d))) => {
                    counts.creates += 1;
                    check_def(line, &d)?;
                }
                Ok(Some(ProbeCommand::Remove(r))) => {
                    counts.removes += 1;
                    let first = command(line).first().copied();
                    if !(first == Some(b'-')
                        || (first == Some(b'!') && source == Source::DynamicEvents))
                    {
                        return Err(format!("a removal: {r:?}"));
                    }
                }
                Ok(None) => {
                    counts.empty += 1;
                    if command(line)
                        .iter()
                        .any(|&c| !b"\t\n\x0b\x0c\r \xa0".contains(&c))
                    {
                        return Err("words, but nothing parsed".into());
                    }
                }
                Err(r) => {
                    let k = ProbeError::ALL
                        .iter()
                        .position(|&e| e == r.err)
                        .unwrap_or(0);
                    counts.errors[k] += 1;
                    check_refusal(line, &r)?;
                }
            }
        }
        Ok(())
    }

    fn one(rng: &mut Rng, counts: &mut Counts) -> Result<(), String> {
        let built = gen_line(rng);
        if let Err(err) = built.valid {
            let got = parse(&built.line, Source::KprobeEvents).map(|_| ());
            if got.map_err(|r| r.err) != Err(err) {
                return Err(format!("{:?} built to give {err:?}", show(&built.line)));
            }
        } else {
            counts.built += 1;
            match parse(&built.line, Source::KprobeEvents) {
                Ok(Some(ProbeCommand::Create(d))) => {
                    let names: Vec<String> = d
                        .args()
                        .map(|a| String::from_utf8_lossy(a.name()).into_owned())
                        .collect();
                    if names != built.names {
                        return Err(format!("names {names:?}, built {:?}", built.names));
                    }
                    let group = built.group.as_deref().unwrap_or("kprobes");
                    if d.group != group.as_bytes() {
                        return Err(format!("group of {d:?}"));
                    }
                    if built
                        .event
                        .as_ref()
                        .is_some_and(|e| d.event() != e.as_bytes())
                    {
                        return Err(format!("event of {d:?}"));
                    }
                }
                other => return Err(format!("{:?} built valid: {other:?}", show(&built.line))),
            }
        }
        let mut data = built.line;
        if rng.one_in(5) {
            data = gen_removal(rng, &data);
        }
        if rng.one_in(3) {
            for _ in 0..1 + rng.below(4) {
                mutate(rng, &mut data);
            }
        }
        if rng.one_in(8) {
            data = (0..rng.below(80))
                .map(|_| *rng.pick(b"pr: -!/.+()@$%[]=\\\"u0x19ab_s#\t"))
                .collect();
        }
        fuzz_one(&data);
        for line in data.split(|&c| c == b'\n') {
            check_line(line, counts).map_err(|e| format!("line {:?}: {e}", show(line)))?;
        }
        Ok(())
    }

    #[test]
    fn fuzz_probe_parser() {
        let mut counts = Counts {
            errors: vec![0; ProbeError::ALL.len()],
            ..Counts::default()
        };
        let (seed, iters) = drive("probe", 0x6b70_726f_6265, ITERS, |rng| {
            one(rng, &mut counts)
        });
        println!("probe fuzz: seed {seed}, {iters} inputs: {counts:?}");
        if iters >= ITERS {
            assert!(counts.built > iters / 2, "{counts:?}");
            assert!(counts.creates > iters / 2, "{counts:?}");
            assert!(counts.removes > iters / 100, "{counts:?}");
            assert!(counts.empty > 0, "{counts:?}");
            // Every error the parser can give, not those of the registry.
            for (e, n) in ProbeError::ALL.iter().zip(&counts.errors) {
                let registry = matches!(
                    e,
                    ProbeError::EventExist
                        | ProbeError::BadInsnBndry
                        | ProbeError::FailRegProbe
                        | ProbeError::DiffProbeType
                        | ProbeError::DiffArgType
                        | ProbeError::SameProbe
                );
                assert!(registry || *n > 0, "{e:?} never reached: {counts:?}");
            }
        }
    }

    #[test]
    fn built_lines_are_valid() {
        // The generator's own claims, on a few lines checked by hand.
        let mut counts = Counts {
            errors: vec![0; ProbeError::ALL.len()],
            ..Counts::default()
        };
        for line in [
            &b"p vfs_read"[..],
            b"r42:grp-1/e_2 mod1:mfunc %ax:x16 n0_=$retval",
            b"p:G1.EEE vfs_read%return $retval",
            b"p:ev nl:f+0x10 \\\"str\" +0x10(+0(+0(+0(%bp)))):x8 # a comment: %zz\r",
            b"p:g/ sym.isra.0 $arg1:%pd $arg2:%pD $arg1:%pd",
            b"-:g/e",
            b"",
        ] {
            check_line(line, &mut counts).unwrap();
        }
        assert_eq!((counts.creates, counts.removes, counts.empty), (10, 2, 2));
    }
}

mod probe_fetch_fuzz {
    //! Randomized property tests of the kprobe fetch evaluator and record printer
    //! (`src/probe_fetch.rs`).
    //!
    //! Inputs are probe lines built from the fetch grammar (every first-stage fetch,
    //! up to four kernel or user dereferences with offsets near the edges of the
    //! mappings, every type, bitfields, arrays), sometimes mutated, run against a random
    //! machine: registers and stack words that point into a few small kernel and user
    //! mappings (or anywhere), memory holding pointers, strings and random bytes, a
    //! random `comm`, symbols. Half the time memory changes between the measuring and the
    //! storing pass, as a string may change under a running kprobe. Properties:
    //! - nothing panics;
    //! - nothing is written outside the record, whatever the room given;
    //! - with memory that holds still and the room [`data_size`] measured, every
    //!   `__data_loc` lies within the record, and storing again gives the same record;
    //! - the printed line is `EVENT: (...)`, then ` NAME=` for every argument, then
    //!   `'\n'`.
    //!
    //! It follows `EVENTFS_FUZZ_SEED` and `EVENTFS_FUZZ_ITERS`.

    use super::{drive, mutate, Rng};
    use crate::probe::{
        parse_probe_line, ByteWrite, ProbeCommand, ProbeDef, ProbeShape, RecordLayout, Register,
    };
    use crate::probe_fetch::{
        args_offset, data_size, fuzz_one, store_args, write_event, Machine, Symbolizer,
    };
    use std::cell::RefCell;

    /// Inputs per `cargo test` run unless `EVENTFS_FUZZ_ITERS` says otherwise.
    const ITERS: u64 = 20_000;

    /// Bases of the mappings: kernel, kernel, user.
    const BASES: [u64; 3] = [0xffff_8880_0000_0000, 0xffff_8880_0001_0000, 0x7f00_0000];

    /// Size of each mapping.
    const MAP: usize = 0x80;

    /// A random machine.
    struct Random {
        regs: [u64; 21],
        stack: Vec<u64>,
        /// The three mappings (the last is user memory).
        mem: RefCell<[Vec<u8>; 3]>,
        comm: [u8; 16],
        entry: [u64; 4],
    }

    /// A value a register or memory word may hold.
    fn gen_word(rng: &mut Rng) -> u64 {
        match rng.below(6) {
            0 => rng.next(),
            1 => rng.below(300) as u64,
            2 => 0xdead,
            3 => BASES[rng.below(3)] + rng.below(MAP + 16) as u64,
            _ => BASES[rng.below(3)] + 8 * rng.below(MAP / 8) as u64,
        }
    }

    impl Random {
        fn new(rng: &mut Rng) -> Random {
            let mut regs = [0u64; 21];
            for r in &mut regs {
                *r = gen_word(rng);
            }
            let stack = (0..rng.below(8)).map(|_| gen_word(rng)).collect();
            let mem = core::array::from_fn(|_| {
                let mut m = vec![0u8; MAP];
                let mut i = 0;
                while i + 8 <= MAP {
                    match rng.below(4) {
                        0 => m[i..i + 8].copy_from_slice(&gen_word(rng).to_le_bytes()),
                        1 => m[i..i + 8].copy_from_slice(b"strings\0"),
                        2 => m[i..i + 8].copy_from_slice(&rng.next().to_le_bytes()),
                        _ => {}
                    }
                    i += 8;
                }
                m
            });
            let mut comm = [0u8; 16];
            for c in comm.iter_mut().take(rng.below(17)) {
                *c = b'a' + rng.below(26) as u8;
            }
            let entry = core::array::from_fn(|_| gen_word(rng));
            Random {
                regs,
                stack,
                mem: RefCell::new(mem),
                comm,
                entry,
            }
        }

        fn read(&self, maps: core::ops::Range<usize>, addr: u64, out: &mut [u8]) -> bool {
            let mem = self.mem.borrow();
            for i in maps {
                let Some(off) = addr.checked_sub(BASES[i]) else {
                    continue;
                };
                let Ok(off) = usize::try_from(off) else {
                    continue;
                };
                if let Some(src) = off.checked_add(out.len()).and_then(|e| mem[i].get(off..e)) {
                    out.copy_from_slice(src);
                    return true;
                }
            }
            false
        }

        /// Changes a few bytes of memory.
        fn shake(&self, rng: &mut Rng) {
            let mut mem = self.mem.borrow_mut();
            for _ in 0..1 + rng.below(8) {
                let m = rng.below(3);
                let i = rng.below(MAP);
                mem[m][i] = *rng.pick(b"\0\0x");
            }
        }
    }

    impl Machine for Random {
        fn reg(&self, offset: usize) -> u64 {
            self.regs.get(offset / 8).copied().unwrap_or(0)
        }
        fn stack_nth(&self, n: u32) -> u64 {
            self.stack.get(n as usize).copied().unwrap_or(0)
        }
        fn entry_arg(&self, n: u32) -> u64 {
            self.entry.get(n as usize % 4).copied().unwrap_or(0)
        }
        fn read_kernel(&self, addr: u64, out: &mut [u8]) -> bool {
            self.read(0..2, addr, out)
        }
        fn read_user(&self, addr: u64, out: &mut [u8]) -> bool {
            self.read(2..3, addr, out)
        }
        fn comm(&self) -> [u8; 16] {
            self.comm
        }
        fn sprint_symbol(&self, addr: u64, out: &mut [u8]) -> usize {
            let text = format!("s{:x}+0x{:x}/0x100", addr >> 8, addr & 0xff);
            let n = text.len().min(out.len().saturating_sub(1));
            out[..n].copy_from_slice(&text.as_bytes()[..n]);
            if let Some(nul) = out.get_mut(n) {
                *nul = 0;
            }
            text.len()
        }
    }

    impl Symbolizer for Random {
        fn write_symbol(
            &self,
            w: &mut dyn ByteWrite,
            addr: u64,
            offset: bool,
        ) -> Result<bool, core::fmt::Error> {
            if addr & 1 == 1 {
                return Ok(false);
            }
            if offset {
                w.write_bytes(format!("s{:x}+0x{:x}/0x100", addr >> 8, addr & 0xff).as_bytes())?;
            } else {
                w.write_bytes(format!("s{:x}", addr >> 8).as_bytes())?;
            }
            Ok(true)
        }
    }

    /// One fetch argument, mostly one the parser accepts.
    fn gen_arg(rng: &mut Rng, out: &mut Vec<u8>, is_return: bool) {
        let base = rng.below(12);
        let mut fetch = match base {
            0 => "$stack".to_string(),
            1 => format!("$stack{}", rng.below(10)),
            2 if is_return => "$retval".to_string(),
            3 => format!("$arg{}", 1 + rng.below(8)),
            4 => format!("@{:#x}", BASES[rng.below(3)] + rng.below(MAP) as u64),
            5 => format!("\\{}", rng.below(1000)),
            6 => "$comm".to_string(),
            7 => "\\\"lit_str\"".to_string(),
            _ => format!("%{}", rng.pick(&Register::ALL).name()),
        };
        if matches!(base, 6 | 7) {
            out.extend_from_slice(fetch.as_bytes());
            if rng.one_in(2) {
                out.extend_from_slice(b":string");
            }
            return;
        }
        let stringy = rng.one_in(3);
        let mut derefs = rng.below(5);
        if stringy && base != 4 && base != 5 {
            derefs = derefs.max(1);
        }
        // Whether the last load is a kernel dereference.
        let mut kernel_deref = base == 4;
        for _ in 0..derefs {
            let user = rng.one_in(4);
            kernel_deref = !user;
            let sign = if rng.one_in(4) { "-" } else { "+" };
            let u = if user { "u" } else { "" };
            fetch = format!("{sign}{u}{}({fetch})", rng.below(MAP + 16));
        }
        out.extend_from_slice(fetch.as_bytes());
        if !stringy && rng.one_in(6) {
            return;
        }
        let ty = if stringy {
            if kernel_deref && rng.one_in(3) {
                "symstr".to_string()
            } else {
                rng.pick(&["string", "ustring"]).to_string()
            }
        } else if rng.one_in(5) {
            let size = *rng.pick(&[8, 16, 32, 64]);
            let bits = 1 + rng.below(size);
            format!("b{bits}@{}/{size}", rng.below(size + 1 - bits))
        } else {
            rng.pick(&[
                "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "x8", "x16", "x32", "x64",
                "char", "symbol",
            ])
            .to_string()
        };
        out.push(b':');
        out.extend_from_slice(ty.as_bytes());
        if (kernel_deref || (stringy && ty != "symstr")) && rng.one_in(3) {
            out.extend_from_slice(format!("[{}]", 1 + rng.below(5)).as_bytes());
        }
    }

    fn gen_line(rng: &mut Rng) -> Vec<u8> {
        let is_return = rng.one_in(3);
        let mut line = if is_return {
            b"r:fz vfs_read".to_vec()
        } else {
            b"p:fz vfs_read".to_vec()
        };
        for _ in 0..rng.below(7) {
            line.push(b' ');
            gen_arg(rng, &mut line, is_return);
        }
        if rng.one_in(8) {
            mutate(rng, &mut line);
        }
        line
    }

    fn show(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    /// Runs one probe on one machine; `Ok(true)` when the line parsed.
    /// What one input reached.
    #[derive(Default, Debug)]
    struct Counts {
        /// Lines that parsed.
        parsed: u64,
        /// Records with a string read.
        strings: u64,
    }

    fn one(rng: &mut Rng, counts: &mut Counts) -> Result<(), String> {
        let line = gen_line(rng);
        let parsed = parse_probe_line(&line);
        let Ok(Some(ProbeCommand::Create(def))) = parsed else {
            return Ok(());
        };
        counts.parsed += 1;
        let m = Random::new(rng);
        let fickle = rng.one_in(2);
        if check(rng, &def, &m, fickle).map_err(|e| format!("{}: {e}", show(&line)))? {
            counts.strings += 1;
        }
        // The fuzzing entry point, into a record of any size.
        let mut rec = vec![0u8; rng.below(200)];
        fuzz_one(&line, &m, &m, &mut rec);
        Ok(())
    }

    /// Checks one probe on one machine; `Ok(true)` when a string was read.
    fn check(rng: &mut Rng, def: &ProbeDef<'_>, m: &Random, fickle: bool) -> Result<bool, String> {
        const GUARD: usize = 16;
        let common = 8;
        let at = args_offset(def, common);
        let dsize = data_size(def, m);
        if fickle {
            m.shake(rng);
        }
        let exact = at + def.args_size() + dsize;
        let len = if fickle || rng.one_in(2) {
            exact
        } else {
            rng.below(exact + 32)
        };
        let room = if rng.one_in(4) {
            rng.below(5000)
        } else {
            dsize
        };
        let mut buf = vec![0xa5u8; len + 2 * GUARD];
        let rec_range = GUARD..GUARD + len;
        store_args(def, m, &mut buf[rec_range.clone()], at, room);
        if buf[..GUARD]
            .iter()
            .chain(&buf[GUARD + len..])
            .any(|&b| b != 0xa5)
        {
            return Err(format!("wrote outside the record (len {len}, room {room})"));
        }
        let rec = buf[rec_range].to_vec();
        if !fickle && len == exact && room == dsize {
            for arg in def.args().filter(|a| a.ty().is_string()) {
                for j in 0..arg.count().max(1) as usize {
                    let p = at + arg.offset() + 4 * j;
                    let loc = u32::from_le_bytes(rec[p..p + 4].try_into().unwrap());
                    let (l, o) = ((loc >> 16) as usize, (loc & 0xffff) as usize);
                    if l != 0 && (o < at + def.args_size() || o + l > len) {
                        let locs: Vec<String> = def
                            .args()
                            .map(|a| {
                                let p = at + a.offset();
                                format!("{}:{:x?}", show(a.name()), rec.get(p..p + 4))
                            })
                            .collect();
                        return Err(format!(
                            "{}[{j}]: __data_loc {loc:#x} outside the strings (record {len} \
                             bytes, strings {dsize} from {at}, locations {locs:?}): {:?}",
                            show(arg.name()),
                            show(&rec)
                        ));
                    }
                }
            }
            let mut again = vec![0xa5u8; len];
            again[..at].copy_from_slice(&rec[..at]);
            store_args(def, m, &mut again, at, room);
            if again != rec {
                return Err("storing twice gives different records".into());
            }
            // The handler's form: the arguments parsed once and kept off the line.
            let kept: Vec<_> = def.args().map(|a| a.kept().unwrap()).collect();
            let shape = ProbeShape::new(def, kept).ok_or("kept arguments differ")?;
            if data_size(&shape, m) != dsize || args_offset(&shape, common) != at {
                return Err("the kept shape measures another record".into());
            }
            let mut third = vec![0xa5u8; len];
            third[..at].copy_from_slice(&rec[..at]);
            store_args(&shape, m, &mut third, at, room);
            if third != rec {
                return Err("the kept shape stores another record".into());
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            write_event(&mut a, def, &rec, common, m).map_err(|_| "print failed")?;
            write_event(&mut b, &shape, &rec, common, m).map_err(|_| "print failed")?;
            if a != b {
                return Err(format!("the kept shape prints {:?}", show(&b)));
            }
        }
        let mut out = Vec::new();
        write_event(&mut out, def, &rec, common, m).map_err(|_| "print failed")?;
        let mut head = def.event().to_vec();
        head.extend_from_slice(b": (");
        if !out.starts_with(&head) || out.last() != Some(&b'\n') {
            return Err(format!("printed {:?}", show(&out)));
        }
        let mut rest = &out[..];
        for arg in def.args() {
            let mut needle = vec![b' '];
            needle.extend_from_slice(arg.name());
            needle.push(b'=');
            match rest.windows(needle.len()).position(|w| w == needle) {
                Some(i) => rest = &rest[i + needle.len()..],
                None => {
                    return Err(format!(
                        "{} not printed in {:?}",
                        show(arg.name()),
                        show(&out)
                    ))
                }
            }
        }
        Ok(dsize > 0)
    }

    #[test]
    fn fuzz_probe_fetch() {
        let mut counts = Counts::default();
        let (seed, iters) = drive("probe fetch", 0x0066_6574_6368, ITERS, |rng| {
            one(rng, &mut counts)
        });
        println!("probe fetch fuzz: seed {seed}, {iters} inputs: {counts:?}");
        if iters >= ITERS {
            assert!(counts.parsed > iters / 4, "{counts:?}");
            assert!(counts.strings > iters / 20, "{counts:?}");
        }
    }
}
