// SPDX-License-Identifier: GPL-2.0

//! What a format file says, read independently of libtraceevent: its `name:`, `ID:`
//! and `field:` lines, and the declarations of the expected events (`s:` commands).

/// One `field:` line: `\tfield:TYPE NAME[N];\toffset:O;\tsize:S;\tsigned:G;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLine {
    /// The type as written (`unsigned int`, `char` for `char NAME[N]`).
    pub ty: String,
    /// The name, without `[N]`.
    pub name: String,
    /// `N` of `NAME[N]` (0 for `NAME[]`).
    pub array: Option<u32>,
    /// `offset:`.
    pub offset: u32,
    /// `size:`.
    pub size: u32,
    /// `signed:` (absent in old files: false).
    pub signed: bool,
}

impl FieldLine {
    /// Name, type, array length, offset, size and signedness, for comparisons.
    pub fn key(&self) -> (&str, &str, Option<u32>, u32, u32, bool) {
        (
            self.name.as_str(),
            self.ty.as_str(),
            self.array,
            self.offset,
            self.size,
            self.signed,
        )
    }
}

/// A format file, as far as the checker reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// `name:`.
    pub name: String,
    /// `ID:`.
    pub id: i64,
    /// Field lines of the fields whose name starts with `common_`.
    pub common: Vec<FieldLine>,
    /// The other field lines, in order.
    pub fields: Vec<FieldLine>,
}

/// Splits a declaration `TYPE NAME`, `TYPE NAME[N]` or `char[N] NAME` into type, name
/// and array length.
pub fn parse_decl(decl: &str) -> Result<(String, String, Option<u32>), String> {
    let tokens: Vec<&str> = decl.split_whitespace().collect();
    let (name, ty) = match tokens.split_last() {
        Some((name, ty)) if !ty.is_empty() => (*name, ty.join(" ")),
        _ => return Err(format!("declaration {decl:?} is not TYPE NAME")),
    };
    let split = |s: &str| -> Result<(String, Option<u32>), String> {
        match s.find('[') {
            None => Ok((s.to_string(), None)),
            Some(i) => {
                // `NAME[]`: a flexible array (tracefs' own `print`), length 0.
                let n = s[i + 1..]
                    .strip_suffix(']')
                    .and_then(|n| {
                        if n.is_empty() {
                            Some(0)
                        } else {
                            n.parse::<u32>().ok()
                        }
                    })
                    .ok_or_else(|| format!("bad array length in {decl:?}"))?;
                Ok((s[..i].to_string(), Some(n)))
            }
        }
    };
    let (name, a1) = split(name)?;
    let (ty, a2) = split(&ty)?;
    if name.is_empty() || ty.is_empty() || (a1.is_some() && a2.is_some()) {
        return Err(format!("declaration {decl:?} is not TYPE NAME"));
    }
    Ok((ty, name, a1.or(a2)))
}

/// Reads `KEY:NUMBER` (spaces around the parts allowed).
fn keyed(part: &str, key: &str) -> Result<u32, String> {
    part.trim()
        .strip_prefix(key)
        .and_then(|r| r.trim_start().strip_prefix(':'))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .ok_or_else(|| format!("expected {key}:NUMBER, found {:?}", part.trim()))
}

/// Parses one `field:` line (leading whitespace allowed, as in header_page's `field: `).
pub fn parse_field_line(line: &str) -> Result<FieldLine, String> {
    let rest = line
        .trim_start()
        .strip_prefix("field:")
        .ok_or_else(|| format!("not a field line: {line:?}"))?;
    let parts: Vec<&str> = rest.split(';').collect();
    if parts.len() < 4 || parts.last().is_some_and(|p| !p.trim().is_empty()) {
        return Err(format!(
            "field line not DECL;offset:O;size:S;[signed:G;]: {line:?}"
        ));
    }
    let (ty, name, array) = parse_decl(parts[0])?;
    let offset = keyed(parts[1], "offset")?;
    let size = keyed(parts[2], "size")?;
    let signed = match parts.len() {
        4 => false,
        5 => match keyed(parts[3], "signed")? {
            0 => false,
            1 => true,
            n => return Err(format!("signed:{n} in {line:?}")),
        },
        _ => return Err(format!("field line has extra parts: {line:?}")),
    };
    Ok(FieldLine {
        ty,
        name,
        array,
        offset,
        size,
        signed,
    })
}

/// Parses a format file: `name:`, `ID:`, `format:`, then the field lines (the rest,
/// `print fmt:` included, is left to libtraceevent).
pub fn parse_format(text: &str) -> Result<Format, String> {
    let mut lines = text.lines();
    let name = lines
        .next()
        .and_then(|l| l.strip_prefix("name: "))
        .ok_or("first line is not \"name: NAME\"")?
        .to_string();
    let id = lines
        .next()
        .and_then(|l| l.strip_prefix("ID: "))
        .and_then(|n| n.parse::<i64>().ok())
        .ok_or("second line is not \"ID: NUMBER\"")?;
    if lines.next() != Some("format:") {
        return Err("third line is not \"format:\"".into());
    }
    let mut common = Vec::new();
    let mut fields = Vec::new();
    for line in lines {
        if line.trim_start().starts_with("field:") {
            let f = parse_field_line(line)?;
            if f.name.starts_with("common_") {
                common.push(f);
            } else {
                fields.push(f);
            }
        }
    }
    Ok(Format {
        name,
        id,
        common,
        fields,
    })
}

/// One field of an expected definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefField {
    /// The type (`char` for `char NAME[N]` and `char[N] NAME`).
    pub ty: String,
    /// The name.
    pub name: String,
    /// `N` of a `char` array.
    pub array: Option<u32>,
}

/// An expected event: an `s:[GROUP/]EVENT FIELD[; FIELD...]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Def {
    /// The group (`synthetic` when the line has none).
    pub group: String,
    /// The event.
    pub event: String,
    /// The declared fields, in order.
    pub fields: Vec<DefField>,
}

/// Parses expected definitions, one `s:` line each (blank lines and `#` comments are
/// skipped). Fields are separated by `;`.
pub fn parse_defs(text: &str) -> Result<Vec<Def>, String> {
    let mut defs = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let rest = line
            .strip_prefix("s:")
            .ok_or_else(|| format!("definition is not an s: command: {line:?}"))?;
        let (head, fields) = rest
            .split_once(|c: char| c.is_whitespace())
            .ok_or_else(|| format!("definition without fields: {line:?}"))?;
        let (group, event) = head.split_once('/').unwrap_or(("synthetic", head));
        let mut def = Def {
            group: group.to_string(),
            event: event.to_string(),
            fields: Vec::new(),
        };
        for decl in fields.split(';').filter(|d| !d.trim().is_empty()) {
            let (ty, name, array) = parse_decl(decl)?;
            def.fields.push(DefField { ty, name, array });
        }
        defs.push(def);
    }
    Ok(defs)
}

/// `(size, signed)` of a scalar field type as eventfs declares it on x86_64 (see
/// `FieldType` in `src/events.rs`: mainline's `synth_field_size()` and
/// `synth_field_signed()`).
pub fn scalar(ty: &str) -> Option<(u32, bool)> {
    Some(match ty {
        "u8" | "unsigned char" => (1, false),
        "s8" | "char" | "bool" => (1, true),
        "u16" => (2, false),
        "s16" => (2, true),
        "u32" | "unsigned int" | "gfp_t" => (4, false),
        "s32" | "int" | "pid_t" => (4, true),
        "u64" | "unsigned long" => (8, false),
        "s64" | "long" => (8, true),
        _ => return None,
    })
}

/// The expected `(offset, size, signed)` of each field of `def`: after the 8 bytes of
/// common fields, each at the next multiple of its alignment (its size; 1 for `char`
/// arrays, which are unsigned). An error for a type eventfs does not have.
pub fn layout(def: &Def) -> Result<Vec<(u32, u32, bool)>, String> {
    let mut next = 8u32;
    let mut v = Vec::new();
    for f in &def.fields {
        let (size, align, signed) = match (f.ty.as_str(), f.array) {
            ("char", Some(n)) => (n, 1, false),
            (ty, None) => {
                let (s, g) = scalar(ty).ok_or_else(|| format!("unknown type {ty:?}"))?;
                (s, s, g)
            }
            (ty, Some(_)) => return Err(format!("array of {ty:?}: only char arrays exist")),
        };
        let offset = next.next_multiple_of(align);
        next = offset + size;
        v.push((offset, size, signed));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decls() {
        let d = |s| parse_decl(s).unwrap();
        assert_eq!(d("u64 lat"), ("u64".into(), "lat".into(), None));
        assert_eq!(
            d("unsigned  int x"),
            ("unsigned int".into(), "x".into(), None)
        );
        assert_eq!(d("char comm[16]"), ("char".into(), "comm".into(), Some(16)));
        assert_eq!(d("char[16] comm"), ("char".into(), "comm".into(), Some(16)));
        assert!(parse_decl("lat").is_err());
        assert!(parse_decl("char c[x]").is_err());
        assert!(parse_decl("char[2] c[3]").is_err());
    }

    #[test]
    fn field_lines() {
        let f = parse_field_line("\tfield:char s[16];\toffset:9;\tsize:16;\tsigned:0;").unwrap();
        assert_eq!(f.array, Some(16));
        assert_eq!((f.offset, f.size, f.signed), (9, 16, false));
        let f =
            parse_field_line("\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;").unwrap();
        assert_eq!(
            (f.ty.as_str(), f.name.as_str(), f.signed),
            ("local_t", "commit", true)
        );
        assert!(parse_field_line("\tfield:u8 a;\toffset:8;\tsize:1;\tsigned:2;").is_err());
        assert!(parse_field_line("\tfield:u8 a;\toffset:8;\tsize:1").is_err());
    }

    #[test]
    fn defs_and_layout() {
        let defs =
            parse_defs("# c\ns:g/e u8 x; u64 y; char s[1]; char t[5]; s32 z\ns:d int i\n").unwrap();
        assert_eq!(defs.len(), 2);
        assert_eq!(defs[1].group, "synthetic");
        // As pad/p in tests/test.d/10events/format_content.tc.
        assert_eq!(
            layout(&defs[0]).unwrap(),
            [
                (8, 1, false),
                (16, 8, false),
                (24, 1, false),
                (25, 5, false),
                (32, 4, true)
            ]
        );
        assert!(layout(&parse_defs("s:e float f").unwrap()[0]).is_err());
    }
}
