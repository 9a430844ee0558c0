//! The few Go standard-library text functions whose exact behaviour shows in
//! BuildKit's output: `strconv.Quote` (the dump format), `strings.ToLower`,
//! `strings.TrimSpace` and `unicode.IsSpace`.

use unicode_general_category::{GeneralCategory, get_general_category};

/// Go's `unicode.IsSpace`: the Unicode White_Space property, which is what
/// Rust's `char::is_whitespace` implements too.
#[inline]
pub fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// [`is_space`] for an ASCII byte: the six ASCII white-space characters.
#[inline]
pub fn is_ascii_space_byte(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' | b' ')
}

/// Go's `strings.TrimSpace`; like [`trim_start_space`], ASCII is checked
/// byte by byte (at both ends), anything else by character.
#[inline]
pub fn trim_space(s: &str) -> &str {
    let rest = trim_start_space(s);
    let bytes = rest.as_bytes();
    let trailing = bytes
        .iter()
        .rev()
        .take_while(|&&b| is_ascii_space_byte(b))
        .count();
    let rest = rest.get(..bytes.len() - trailing).unwrap_or("");
    match rest.as_bytes().last() {
        Some(b) if !b.is_ascii() => rest.trim_end_matches(is_space),
        _ => rest,
    }
}

/// `s` without leading Go-`unicode.IsSpace` characters; ASCII is checked
/// byte by byte, anything else by character.
#[inline]
pub fn trim_start_space(s: &str) -> &str {
    let skip = s.bytes().take_while(|&b| is_ascii_space_byte(b)).count();
    let rest = s.get(skip..).unwrap_or("");
    match rest.as_bytes().first() {
        Some(b) if !b.is_ascii() => rest.trim_start_matches(is_space),
        _ => rest,
    }
}

/// The characters of BuildKit's `[\t\v\f\r ]+` separator regex.
#[inline]
pub fn is_ascii_blank(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// Go's `strings.ToLower`: the simple (one-to-one) lowercase mapping of
/// every character, without Rust's context-dependent final sigma.
pub fn to_lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        // U+0130 is the one character whose full lowercase mapping is two
        // characters; its simple mapping (Go's) is 'i'.
        if c == '\u{130}' {
            out.push('i');
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Go's `strings.ToUpper` for the purposes here (instruction and flag
/// names), the simple uppercase mapping.
pub fn to_upper(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_uppercase();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let mut up = c.to_uppercase();
        match (up.next(), up.next()) {
            (Some(u), None) => out.push(u),
            // Characters without a one-to-one uppercase (ß, ŉ, ...) keep
            // their simple mapping, which is themselves.
            _ => out.push(c),
        }
    }
    out
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols
/// and the ASCII space.
///
/// The categories come from the `unicode-general-category` tables
/// (Unicode 16); Go's tables may be one Unicode version older, which only
/// matters for characters assigned in the newest version.
pub fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    use GeneralCategory::*;
    !matches!(
        get_general_category(c),
        Control
            | Format
            | Surrogate
            | PrivateUse
            | Unassigned
            | SpaceSeparator
            | LineSeparator
            | ParagraphSeparator
    )
}

/// Append `s` quoted the way Go's `strconv.Quote` (and `fmt`'s `%q`) does.
pub fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_print(c) => out.push(c),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                push_hex(out, "\\x", c as u32, 2);
            }
            c if (c as u32) < 0x10000 => push_hex(out, "\\u", c as u32, 4),
            c => push_hex(out, "\\U", c as u32, 8),
        }
    }
    out.push('"');
}

/// `s` quoted like Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_quoted(&mut out, s);
    out
}

fn push_hex(out: &mut String, prefix: &str, v: u32, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str(prefix);
    for i in (0..digits).rev() {
        out.push(HEX[((v >> (4 * i)) & 0xf) as usize] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("\u{0}\u{7}\u{1b}\u{7f}"), r#""\x00\a\x1b\x7f""#);
        assert_eq!(quote("♥ é"), "\"♥ é\"");
        assert_eq!(quote("\u{a0}\u{ad}\u{200b}"), r#""\u00a0\u00ad\u200b""#);
        assert_eq!(quote("\u{f0000}"), r#""\U000f0000""#);
        assert_eq!(quote("\t\n\r\u{b}\u{c}\u{8}"), r#""\t\n\r\v\f\b""#);
    }

    #[test]
    fn trims_space_like_go() {
        for s in [
            "",
            " ",
            " \t a b \r\n",
            "a",
            "\u{a0} a \u{2003}",
            " \u{a0}\t\u{85}a\u{85} \u{3000}\n",
            "\u{e9} ",
            " \u{e9}",
            "\u{2003}\u{a0} ",
        ] {
            assert_eq!(trim_space(s), s.trim_matches(char::is_whitespace), "{s:?}");
            assert_eq!(
                trim_start_space(s),
                s.trim_start_matches(char::is_whitespace),
                "{s:?}"
            );
        }
    }

    #[test]
    fn lowercases_like_go() {
        assert_eq!(to_lower("RUN"), "run");
        assert_eq!(to_lower("ΟΔΟΣ"), "οδοσ");
        assert_eq!(to_lower("\u{130}X"), "ix");
    }
}
