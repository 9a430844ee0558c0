//! Parser directives (`# syntax=`, `# escape=`, `# check=`), with
//! BuildKit's quirks.
//!
//! Directives are only read at the very top of a file: the first line that
//! is not a directive (an instruction, an empty line, an ordinary comment,
//! or a `# key=value` comment with an unknown key) ends them for good. Keys
//! are case-insensitive, values are kept as written, and a repeated
//! directive is an error. Besides the directives the parser itself reads,
//! BuildKit's `DetectSyntax` also accepts `// syntax=` lines and a JSON
//! object, after skipping a UTF-8 BOM and a `#!` shebang line; those
//! entry points are here too.

use serde::Serialize;

use crate::source::Span;

/// The directive names BuildKit recognises.
pub const KNOWN_DIRECTIVES: [&str; 3] = ["syntax", "escape", "check"];

/// A parser directive found at the top of a Dockerfile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Directive {
    /// Lower-cased name: `syntax`, `escape` or `check`.
    pub name: String,
    /// The value as written (trailing blanks removed).
    pub value: String,
    /// 1-based line number.
    pub line: usize,
    /// The directive line (from its `#`).
    pub span: Span,
}

/// BuildKit's `DirectiveParser`: a latch that accepts directive lines until
/// the first line that is not one.
#[derive(Clone, Debug)]
pub struct DirectiveParser {
    comment: &'static str,
    line: usize,
    seen: Vec<String>,
    done: bool,
}

impl DirectiveParser {
    /// A parser for lines that start with `comment` (`#`, or `//` for the
    /// alternative syntax-directive form).
    pub fn new(comment: &'static str) -> Self {
        DirectiveParser {
            comment,
            line: 0,
            seen: Vec::new(),
            done: false,
        }
    }

    /// Start line numbering after `line` lines (a skipped shebang).
    fn starting_after(mut self, line: usize) -> Self {
        self.line = line;
        self
    }

    /// Whether a non-directive line has ended the directives.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Read one line. `Ok(Some((name, value, line_number)))` for a
    /// directive; an error for a repeated one.
    pub fn parse_line(&mut self, line: &str) -> Result<Option<(String, String, usize)>, String> {
        self.line += 1;
        if self.done {
            return Ok(None);
        }
        let Some(rest) = line.strip_prefix(self.comment) else {
            self.done = true;
            return Ok(None);
        };
        let Some((key, value)) = match_directive(rest.trim_start_matches(char::is_whitespace))
        else {
            self.done = true;
            return Ok(None);
        };
        let key = key.to_ascii_lowercase();
        if !KNOWN_DIRECTIVES.contains(&key.as_str()) {
            self.done = true;
            return Ok(None);
        }
        if self.seen.contains(&key) {
            return Err(format!("only one {key} parser directive can be used"));
        }
        self.seen.push(key.clone());
        Ok(Some((key, value.to_string(), self.line)))
    }
}

/// Go's `\s` class.
fn is_re_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// BuildKit's `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`, with Go's
/// leftmost-first semantics: the value loses its leading and trailing
/// blanks, except that an all-blank value keeps its last character.
fn match_directive(s: &str) -> Option<(&str, &str)> {
    let key_len = s.bytes().take_while(u8::is_ascii_alphanumeric).count();
    if key_len == 0 || !s.as_bytes()[0].is_ascii_alphabetic() {
        return None;
    }
    let (key, after) = s.split_at(key_len);
    let after = after.trim_start_matches(is_re_space).strip_prefix('=')?;
    if after.contains('\n') {
        return None;
    }
    let value = after.trim_start_matches(is_re_space);
    if !value.is_empty() {
        return Some((key, value.trim_end_matches(is_re_space)));
    }
    let last = after.chars().next_back()?;
    Some((key, &after[after.len() - last.len_utf8()..]))
}

/// BuildKit's `DirectiveParser.ParseAll` with `#` comments: the directives
/// at the top of `text`, stopping at the first error.
pub fn parse_all(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut p = DirectiveParser::new("#");
    let mut out = Vec::new();
    for line in scan_lines(text) {
        if p.is_done() {
            break;
        }
        if let Some((k, v, _)) = p.parse_line(line)? {
            out.push((k, v));
        }
    }
    Ok(out)
}

/// The outcome of [`detect_syntax`] and [`parse_directive`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectiveMatch {
    /// The value up to its first space (the frontend reference for
    /// `syntax`).
    pub reference: String,
    /// The whole value.
    pub cmdline: String,
    /// 1-based line of the directive (0 for a JSON directive without a
    /// shebang, as BuildKit reports it).
    pub start_line: usize,
    pub end_line: usize,
}

/// BuildKit's `DetectSyntax`: the `syntax` directive in `#`, `//` or JSON
/// form.
pub fn detect_syntax(text: &str) -> Option<DirectiveMatch> {
    find_directive("syntax", text, true)
}

/// BuildKit's `ParseDirective`: the directive `key` in `#` form only.
pub fn parse_directive(key: &str, text: &str) -> Option<DirectiveMatch> {
    find_directive(key, text, false)
}

fn find_directive(key: &str, text: &str, any_format: bool) -> Option<DirectiveMatch> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let (text, line) = if first.starts_with("#!") {
        (rest, 1)
    } else {
        (text, 0)
    };
    let from_parser = |comment: &'static str| {
        let mut p = DirectiveParser::new(comment).starting_after(line);
        for l in scan_lines(text) {
            if p.is_done() {
                break;
            }
            match p.parse_line(l) {
                Ok(Some((name, value, at))) if name == key => {
                    let reference = value.split(' ').next().unwrap_or("").to_string();
                    return Some(DirectiveMatch {
                        reference,
                        cmdline: value,
                        start_line: at,
                        end_line: at,
                    });
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        None
    };
    if let Some(m) = from_parser("#") {
        return Some(m);
    }
    if !any_format {
        return None;
    }
    if let Some(m) = from_parser("//") {
        return Some(m);
    }
    let v = super::json::object_string_member(text, key)?;
    Some(DirectiveMatch {
        reference: v.clone(),
        cmdline: v,
        start_line: line,
        end_line: line,
    })
}

/// Go's `bufio.ScanLines`: lines split at `\n`, each without its `\n` and
/// one trailing `\r`.
fn scan_lines(text: &str) -> impl Iterator<Item = &str> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let empty = text.is_empty();
    body.split('\n')
        .filter(move |_| !empty)
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_like_the_go_regex() {
        assert_eq!(match_directive("escape = `"), Some(("escape", "`")));
        assert_eq!(match_directive("syntax=a b  "), Some(("syntax", "a b")));
        assert_eq!(match_directive("escape= "), Some(("escape", " ")));
        assert_eq!(match_directive("escape="), None);
        assert_eq!(match_directive("1x=y"), None);
        assert_eq!(match_directive("key value"), None);
    }

    #[test]
    fn stops_at_the_first_non_directive() {
        assert_eq!(
            parse_all("#escape=\\\n# key = FOO bar\n\n# smth\n").unwrap(),
            vec![("escape".to_string(), "\\".to_string())]
        );
        assert!(parse_all("# syntax=a\n# syntax=b\n").is_err());
    }
}
