//! The deb822 control format: paragraphs of `Field: value` lines, with
//! continuation lines starting with a space or tab, separated by blank
//! lines. Used by Packages, Release, control files and `.sources` files.
//!
//! Values borrow from the input: the Packages index of a release is tens of
//! megabytes and only a handful of fields per paragraph are kept.

/// One paragraph: fields in their order of appearance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Paragraph<'a> {
    pub fields: Vec<(&'a str, &'a str)>,
    /// Byte range of the paragraph in the parsed text.
    pub start: usize,
    pub end: usize,
}

impl<'a> Paragraph<'a> {
    /// The value of a field (names are case-insensitive). Single-line values
    /// are trimmed; multi-line values keep their continuation lines.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The continuation lines of a multi-line field (e.g. the `SHA256` list
    /// of a Release file), trimmed, without the first (usually empty) line.
    pub fn lines(&self, name: &str) -> impl Iterator<Item = &'a str> {
        self.get(name)
            .unwrap_or("")
            .lines()
            .skip(1)
            .map(str::trim)
            .filter(|l| !l.is_empty())
    }
}

/// A malformed line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("line {line}: {reason}")]
pub struct BadControl {
    pub line: usize,
    pub reason: &'static str,
}

/// Options for the parser.
#[derive(Clone, Copy, Debug, Default)]
pub struct Syntax {
    /// Lines starting with `#` are comments (apt's `.sources` files).
    pub comments: bool,
}

/// Iterate over the paragraphs of `text`.
pub fn paragraphs(text: &str, syntax: Syntax) -> Paragraphs<'_> {
    Paragraphs {
        text,
        pos: 0,
        line_no: 0,
        syntax,
    }
}

pub struct Paragraphs<'a> {
    text: &'a str,
    pos: usize,
    line_no: usize,
    syntax: Syntax,
}

impl<'a> Paragraphs<'a> {
    /// The next line (without its newline) and its start offset.
    fn next_line(&mut self) -> Option<(usize, &'a str)> {
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.text[start..];
        let (line, advance) = match rest.find('\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        self.line_no += 1;
        Some((start, line.strip_suffix('\r').unwrap_or(line)))
    }
}

impl<'a> Iterator for Paragraphs<'a> {
    type Item = Result<Paragraph<'a>, BadControl>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut para = Paragraph::default();
        // Start (offset of the value) and end of the field being read.
        let mut current: Option<(&'a str, usize, usize)> = None;
        let text = self.text;
        let finish = |para: &mut Paragraph<'a>, cur: Option<(&'a str, usize, usize)>| {
            if let Some((name, vstart, vend)) = cur {
                let value = text.get(vstart..vend).unwrap_or("");
                // Leading blanks of the first line go; the newline that
                // starts a multi-line value (`SHA256:` lists) stays, so
                // `lines()` can skip that first line.
                let value = value.trim_start_matches([' ', '\t']).trim_end();
                para.fields.push((name, value));
            }
        };
        while let Some((start, line)) = self.next_line() {
            let line_end = start + line.len();
            if line.trim().is_empty() {
                if current.is_some() || !para.fields.is_empty() {
                    break;
                }
                continue;
            }
            if self.syntax.comments && line.starts_with('#') {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                match current.as_mut() {
                    Some((_, _, end)) => *end = line_end,
                    None => {
                        return Some(Err(BadControl {
                            line: self.line_no,
                            reason: "continuation line outside a field",
                        }));
                    }
                }
                continue;
            }
            let Some(colon) = line.find(':') else {
                return Some(Err(BadControl {
                    line: self.line_no,
                    reason: "line is neither `Field: value` nor a continuation",
                }));
            };
            let name = &line[..colon];
            if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
                return Some(Err(BadControl {
                    line: self.line_no,
                    reason: "bad field name",
                }));
            }
            if para.fields.is_empty() && current.is_none() {
                para.start = start;
            }
            finish(&mut para, current.take());
            current = Some((name, start + colon + 1, line_end));
            para.end = line_end;
        }
        if let Some((_, _, end)) = current {
            para.end = end;
        }
        finish(&mut para, current);
        if para.fields.is_empty() {
            None
        } else {
            Some(Ok(para))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_continuations_and_blank_lines() {
        let text = "Package: a\nVersion: 1\nDescription: short\n long\n .\n more\n\n\n\
                    Package: b\r\nDepends: x,\r\n y\r\n";
        let paras: Vec<_> = paragraphs(text, Syntax::default())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(paras.len(), 2);
        assert_eq!(paras[0].get("package"), Some("a"));
        assert_eq!(paras[0].get("Description"), Some("short\n long\n .\n more"));
        assert_eq!(paras[1].get("Depends"), Some("x,\r\n y"));
        assert_eq!(&text[paras[0].start..paras[0].end], &text[..55]);
    }

    #[test]
    fn comments_only_when_asked() {
        let text = "# c\nTypes: deb\n# inner\nURIs: x\n";
        let p = paragraphs(text, Syntax { comments: true })
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(p.get("URIs"), Some("x"));
        assert!(paragraphs(text, Syntax::default()).next().unwrap().is_err());
        assert!(
            paragraphs(" x\n", Syntax::default())
                .next()
                .unwrap()
                .is_err()
        );
    }
}
