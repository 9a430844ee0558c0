//! The JSON that Dockerfiles contain: exec-form argument arrays
//! (`CMD ["a", "b"]`) and JSON-encoded syntax directives.
//!
//! BuildKit decodes these with Go's `encoding/json` into `[]any` /
//! `map[string]any`, and the exact outcome decides between exec form, shell
//! form and an error. This module reproduces that decision without building
//! a value tree: a single iterative pass validates the whole text (so deep
//! nesting cannot overflow the stack) and reports only the top-level
//! elements, with their byte positions for spans.
//!
//! Go details kept: the nesting limit of 10000, JSON whitespace only
//! (space, tab, CR, LF), lone UTF-16 surrogates decoded to U+FFFD, and a
//! number that overflows a float64 is a decode error (not a syntax error)
//! that BuildKit treats like any other invalid JSON.

use super::go_text::trim_start_space;
use super::short_vec::ShortVec;

/// Go's `encoding/json` nesting limit.
const MAX_DEPTH: usize = 10_000;

/// A string element of a top-level JSON array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonString {
    /// The decoded value, or `None` when the literal has no escapes and the
    /// value is the text between its quotes (so it need not be copied).
    pub value: Option<String>,
    /// Byte range of the string literal (with its quotes) in the input.
    pub start: usize,
    pub end: usize,
}

impl JsonString {
    /// The decoded value; `input` is the text given to [`parse_json_array`].
    pub fn value<'s>(&'s self, input: &'s str) -> &'s str {
        match &self.value {
            Some(decoded) => decoded,
            None => input.get(self.start + 1..self.end - 1).unwrap_or_default(),
        }
    }
}

/// Why a text is not a JSON array of strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonArrayError {
    /// The text does not start with `[` (after leading whitespace).
    NotJsonArray,
    /// The text is not valid JSON, or Go could not decode it (a number out
    /// of range); BuildKit falls back to the shell form for these.
    Invalid(String),
    /// Valid JSON, but an element is not a string: BuildKit reports this as
    /// an error instead of falling back.
    NotStringArray,
}

impl std::fmt::Display for JsonArrayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JsonArrayError::NotJsonArray => f.write_str("not a JSON array"),
            JsonArrayError::Invalid(m) => f.write_str(m),
            JsonArrayError::NotStringArray => f.write_str(
                "when using JSON array syntax, arrays must be comprised of strings only",
            ),
        }
    }
}

/// BuildKit's `parseJSON`: `rest` (after leading Unicode whitespace) must
/// be a JSON array whose elements are all strings. Positions in the result
/// are byte offsets into `rest` as given.
pub fn parse_json_array(rest: &str) -> Result<Vec<JsonString>, JsonArrayError> {
    let mut strings = Vec::new();
    for_each_json_string(rest, |s| strings.push(s))?;
    Ok(strings)
}

/// [`parse_json_array`] without the vector: each string element goes to
/// `on_string` as it is found, so that a caller can build its own values
/// directly. The whole text is still checked first to last, so after an
/// error the strings already handed over are to be dropped.
pub(crate) fn for_each_json_string(
    rest: &str,
    mut on_string: impl FnMut(JsonString),
) -> Result<(), JsonArrayError> {
    let trimmed = trim_start_space(rest);
    let offset = rest.len() - trimmed.len();
    if !trimmed.starts_with('[') {
        return Err(JsonArrayError::NotJsonArray);
    }
    let mut all_strings = true;
    let outcome = scan(trimmed.as_bytes(), |item| match item {
        TopItem::Element { string, start, end } => match string {
            Some(value) => on_string(JsonString {
                value,
                start: start + offset,
                end: end + offset,
            }),
            None => all_strings = false,
        },
        TopItem::Member { .. } => {}
    })
    .map_err(JsonArrayError::Invalid)?;
    if outcome.number_overflow {
        return Err(JsonArrayError::Invalid(
            "json: cannot unmarshal number into Go value of type float64".into(),
        ));
    }
    if !all_strings {
        return Err(JsonArrayError::NotStringArray);
    }
    Ok(())
}

/// The string member `key` of a JSON object that is the whole of `text`,
/// as Go's `json.Unmarshal` into `map[string]any` would find it (the last
/// duplicate wins; anything that makes Unmarshal fail gives `None`).
pub fn object_string_member(text: &str, key: &str) -> Option<String> {
    let mut found: Option<Option<String>> = None;
    let outcome = scan(text.as_bytes(), |item| {
        if let TopItem::Member { key: k, string } = item
            && k == key
        {
            found = Some(string);
        }
    })
    .ok()?;
    if outcome.number_overflow || outcome.top != Some(b'{') {
        return None;
    }
    found.flatten()
}

/// A decoded string: `None` when it has no escapes, so that the value is
/// the literal's text between the quotes; else the decoded value.
pub(crate) type Unescaped = Option<String>;

pub(crate) enum TopItem {
    /// An element of the top-level array: its decoded value if it is a
    /// string, and its byte range.
    Element {
        string: Option<Unescaped>,
        start: usize,
        end: usize,
    },
    /// A member of the top-level object: its key and, if the value is a
    /// string, the decoded value.
    Member { key: String, string: Option<String> },
}

pub(crate) struct Outcome {
    /// `[` or `{` when the top-level value is a container.
    pub top: Option<u8>,
    /// Some number does not fit a float64.
    pub number_overflow: bool,
}

struct Frame {
    kind: u8,
    /// Key of the member being parsed, for the top-level object.
    key: Option<String>,
    /// Start of the element being parsed, for the top-level array.
    elem_start: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Value,
    ArrayFirst,
    ObjectFirst,
    ObjectKey,
    AfterValue,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Validate `b` as one JSON value, calling `on_item` for each element or
/// member of the top-level container.
pub(crate) fn scan(b: &[u8], mut on_item: impl FnMut(TopItem)) -> Result<Outcome, String> {
    // A flat array (every exec form) nests one deep: its frame is held in
    // place, with no allocation.
    let mut stack: ShortVec<Frame> = ShortVec::new();
    let mut pos = 0;
    let mut state = State::Value;
    let mut outcome = Outcome {
        top: None,
        number_overflow: false,
    };
    loop {
        while pos < b.len() && is_ws(b[pos]) {
            pos += 1;
        }
        let Some(&c) = b.get(pos) else {
            return Err("unexpected end of JSON input".into());
        };
        match state {
            State::Value => {
                let start = pos;
                // A scalar's decoded string (if it is a string) once parsed.
                let scalar: Option<Option<Unescaped>>;
                match c {
                    b'[' | b'{' => {
                        if stack.len() >= MAX_DEPTH {
                            return Err("exceeded max depth".into());
                        }
                        if stack.is_empty() {
                            outcome.top = Some(c);
                        }
                        if stack.len() == 1
                            && let Some(parent) = stack.last_mut()
                        {
                            parent.elem_start = start;
                        }
                        stack.push(Frame {
                            kind: c,
                            key: None,
                            elem_start: 0,
                        });
                        pos += 1;
                        state = if c == b'[' {
                            State::ArrayFirst
                        } else {
                            State::ObjectFirst
                        };
                        continue;
                    }
                    b'"' => {
                        let decode = stack.len() == 1;
                        let (s, end) = scan_string(b, pos, decode)?;
                        pos = end;
                        scalar = Some(s);
                    }
                    b't' | b'f' | b'n' => {
                        let word: &[u8] = match c {
                            b't' => b"true",
                            b'f' => b"false",
                            _ => b"null",
                        };
                        if !b[pos..].starts_with(word) {
                            return Err(format!("invalid character in literal at {pos}"));
                        }
                        pos += word.len();
                        scalar = Some(None);
                    }
                    b'-' | b'0'..=b'9' => {
                        let end = scan_number(b, pos)?;
                        // The grammar was checked, so the text is ASCII.
                        let text = std::str::from_utf8(&b[pos..end]).unwrap_or("0");
                        if text.parse::<f64>().map_or(true, |v| v.is_infinite()) {
                            outcome.number_overflow = true;
                        }
                        pos = end;
                        scalar = Some(None);
                    }
                    _ => {
                        return Err(format!(
                            "invalid character looking for beginning of value at {pos}"
                        ));
                    }
                }
                let string = scalar.flatten();
                if stack.len() == 1 {
                    let string = string.map(|s| {
                        let is_member = stack.last().is_some_and(|f| f.kind == b'{');
                        match s {
                            // Members are keyed by their values; materialise.
                            None if is_member => Some(literal_text(b, start, pos)),
                            other => other,
                        }
                    });
                    report(&mut stack, &mut on_item, string, start, pos);
                }
                if stack.is_empty() {
                    return finish(b, pos, outcome);
                }
                state = State::AfterValue;
            }
            State::ArrayFirst => {
                if c == b']' {
                    pos += 1;
                    close(&mut stack, &mut on_item, pos);
                    if stack.is_empty() {
                        return finish(b, pos, outcome);
                    }
                    state = State::AfterValue;
                } else {
                    state = State::Value;
                }
            }
            State::ObjectFirst | State::ObjectKey => {
                if c == b'}' && state == State::ObjectFirst {
                    pos += 1;
                    close(&mut stack, &mut on_item, pos);
                    if stack.is_empty() {
                        return finish(b, pos, outcome);
                    }
                    state = State::AfterValue;
                    continue;
                }
                if c != b'"' {
                    return Err(format!("invalid character looking for object key at {pos}"));
                }
                let decode = stack.len() == 1;
                let start_key = pos;
                let (key, end) = scan_string(b, pos, decode)?;
                pos = end;
                while pos < b.len() && is_ws(b[pos]) {
                    pos += 1;
                }
                if b.get(pos) != Some(&b':') {
                    return Err(format!("expected ':' after object key at {pos}"));
                }
                pos += 1;
                if let Some(top) = stack.last_mut() {
                    top.key = key.map(|k| k.unwrap_or_else(|| literal_text(b, start_key, end)));
                }
                state = State::Value;
            }
            State::AfterValue => {
                let kind = stack.last().map_or(b'[', |f| f.kind);
                match (c, kind) {
                    (b',', b'[') => {
                        pos += 1;
                        state = State::Value;
                    }
                    (b',', _) => {
                        pos += 1;
                        state = State::ObjectKey;
                    }
                    (b']', b'[') | (b'}', b'{') => {
                        pos += 1;
                        close(&mut stack, &mut on_item, pos);
                        if stack.is_empty() {
                            return finish(b, pos, outcome);
                        }
                    }
                    _ => return Err(format!("invalid character after value at {pos}")),
                }
            }
        }
    }
}

/// Report a finished value of the top-level container.
fn report(
    stack: &mut [Frame],
    on_item: &mut impl FnMut(TopItem),
    string: Option<Unescaped>,
    start: usize,
    end: usize,
) {
    let Some(top) = stack.last_mut() else { return };
    if top.kind == b'[' {
        on_item(TopItem::Element { string, start, end });
    } else {
        on_item(TopItem::Member {
            key: top.key.take().unwrap_or_default(),
            string: string.flatten(),
        });
    }
}

/// Pop a finished container; if it was an element of the top-level
/// container, report it (as a non-string).
fn close(stack: &mut ShortVec<Frame>, on_item: &mut impl FnMut(TopItem), end: usize) {
    stack.pop();
    if stack.len() == 1 {
        let start = stack.last().map_or(0, |f| f.elem_start);
        report(stack, on_item, None, start, end);
    }
}

fn finish(b: &[u8], mut pos: usize, outcome: Outcome) -> Result<Outcome, String> {
    while pos < b.len() && is_ws(b[pos]) {
        pos += 1;
    }
    if pos != b.len() {
        return Err(format!("invalid character after top-level value at {pos}"));
    }
    Ok(outcome)
}

fn scan_number(b: &[u8], mut pos: usize) -> Result<usize, String> {
    let digits = |b: &[u8], mut p: usize| {
        let s = p;
        while p < b.len() && b[p].is_ascii_digit() {
            p += 1;
        }
        (p, p - s)
    };
    if b.get(pos) == Some(&b'-') {
        pos += 1;
    }
    match b.get(pos) {
        Some(b'0') => pos += 1,
        Some(b'1'..=b'9') => pos = digits(b, pos).0,
        _ => return Err(format!("invalid number at {pos}")),
    }
    if b.get(pos) == Some(&b'.') {
        let (p, n) = digits(b, pos + 1);
        if n == 0 {
            return Err(format!("invalid number at {pos}"));
        }
        pos = p;
    }
    if matches!(b.get(pos), Some(b'e' | b'E')) {
        pos += 1;
        if matches!(b.get(pos), Some(b'+' | b'-')) {
            pos += 1;
        }
        let (p, n) = digits(b, pos);
        if n == 0 {
            return Err(format!("invalid number at {pos}"));
        }
        pos = p;
    }
    Ok(pos)
}

fn hex4(b: &[u8], pos: usize) -> Option<u32> {
    let h = b.get(pos..pos + 4)?;
    let s = std::str::from_utf8(h).ok()?;
    if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// The text between the quotes of the literal at `start..end`, which has
/// no escapes.
fn literal_text(b: &[u8], start: usize, end: usize) -> String {
    let inner = b.get(start + 1..end.saturating_sub(1)).unwrap_or_default();
    String::from_utf8_lossy(inner).into_owned()
}

/// Scan the string literal starting at `pos` (a `"`), returning (when
/// `decode` is set) its decoded value, and the position after the closing
/// quote. The value is only built when the literal has an escape.
fn scan_string(b: &[u8], pos: usize, decode: bool) -> Result<(Option<Unescaped>, usize), String> {
    // `out` starts when the first escape is met.
    let mut out: Option<String> = None;
    let mut p = pos + 1;
    // Start of the run of plain bytes not yet copied to `out`.
    let mut run = p;
    let flush = |out: &mut Option<String>, from: usize, to: usize| {
        if let Some(o) = out.as_mut() {
            // Runs start and end at ASCII bytes, so they are whole UTF-8.
            o.push_str(std::str::from_utf8(&b[from..to]).unwrap_or(""));
        }
    };
    loop {
        let Some(&c) = b.get(p) else {
            return Err("unexpected end of JSON input in string".into());
        };
        match c {
            b'"' => {
                flush(&mut out, run, p);
                return Ok((decode.then_some(out), p + 1));
            }
            b'\\' => {
                if decode && out.is_none() {
                    out = Some(String::with_capacity(p - pos + 16));
                    run = pos + 1;
                }
                flush(&mut out, run, p);
                let Some(&e) = b.get(p + 1) else {
                    return Err("unexpected end of JSON input in string".into());
                };
                let simple = match e {
                    b'"' => Some('"'),
                    b'\\' => Some('\\'),
                    b'/' => Some('/'),
                    b'b' => Some('\u{8}'),
                    b'f' => Some('\u{c}'),
                    b'n' => Some('\n'),
                    b'r' => Some('\r'),
                    b't' => Some('\t'),
                    b'u' => None,
                    _ => return Err(format!("invalid escape in string at {p}")),
                };
                if let Some(ch) = simple {
                    if let Some(o) = out.as_mut() {
                        o.push(ch);
                    }
                    p += 2;
                } else {
                    let Some(u) = hex4(b, p + 2) else {
                        return Err(format!("invalid \\u escape at {p}"));
                    };
                    p += 6;
                    let ch = if (0xD800..0xDC00).contains(&u) {
                        // A high surrogate combines with a following low one;
                        // otherwise Go decodes it as U+FFFD.
                        match (b.get(p..p + 2), hex4(b, p + 2)) {
                            (Some(b"\\u"), Some(lo)) if (0xDC00..0xE000).contains(&lo) => {
                                p += 6;
                                char::from_u32(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00))
                                    .unwrap_or('\u{FFFD}')
                            }
                            _ => '\u{FFFD}',
                        }
                    } else {
                        char::from_u32(u).unwrap_or('\u{FFFD}')
                    };
                    if let Some(o) = out.as_mut() {
                        o.push(ch);
                    }
                }
                run = p;
            }
            0..=0x1f => return Err(format!("invalid control character in string at {p}")),
            _ => p += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(s: &str) -> Result<Vec<String>, JsonArrayError> {
        parse_json_array(s).map(|v| v.iter().map(|j| j.value(s).to_owned()).collect())
    }

    #[test]
    fn decodes_string_arrays() {
        assert_eq!(
            values(r#" ["a", "b\u00e9\n"] "#).unwrap(),
            vec!["a", "bé\n"]
        );
        assert_eq!(values("[]").unwrap(), Vec::<String>::new());
        assert_eq!(
            values(r#"["\ud83d\ude00", "\ud800x"]"#).unwrap(),
            vec!["😀", "\u{FFFD}x"]
        );
    }

    #[test]
    fn distinguishes_errors_like_go() {
        assert_eq!(values(r#"["a", 1]"#), Err(JsonArrayError::NotStringArray));
        assert_eq!(
            values(r#"["a", [["x"]], {"k": [1]}]"#),
            Err(JsonArrayError::NotStringArray)
        );
        assert!(matches!(
            values(r#"["a", 1e400]"#),
            Err(JsonArrayError::Invalid(_))
        ));
        assert!(matches!(values(r#"["a""#), Err(JsonArrayError::Invalid(_))));
        assert!(matches!(values("['a']"), Err(JsonArrayError::Invalid(_))));
        assert!(matches!(
            values(r#"["a"] x"#),
            Err(JsonArrayError::Invalid(_))
        ));
        assert!(matches!(values("[01]"), Err(JsonArrayError::Invalid(_))));
        assert_eq!(values("x"), Err(JsonArrayError::NotJsonArray));
    }

    #[test]
    fn deep_nesting_is_bounded_and_iterative() {
        let ok = format!("[{}{}]", "[".repeat(9_998), "]".repeat(9_998));
        assert_eq!(values(&ok), Err(JsonArrayError::NotStringArray));
        let deep = format!("[{}{}]", "[".repeat(20_000), "]".repeat(20_000));
        assert!(matches!(values(&deep), Err(JsonArrayError::Invalid(_))));
    }

    #[test]
    fn finds_object_members() {
        assert_eq!(
            object_string_member(r#"{"syntax": "foo", "bar": ["abc"]}"#, "syntax").as_deref(),
            Some("foo")
        );
        assert_eq!(object_string_member(r#"{"syntax": 1}"#, "syntax"), None);
        assert_eq!(object_string_member(r#"{"syntax": "foo""#, "syntax"), None);
        assert_eq!(object_string_member(r#"["syntax"]"#, "syntax"), None);
    }
}
