//! Source texts and the spans that point into them.
//!
//! Every stage of the pipeline records where its facts came from as a
//! [`Span`] into a [`SourceFile`]. Spans are byte ranges into the *original*
//! text (before line continuations are joined), so a diagnostic or a report
//! line can always show the exact Dockerfile bytes it is about.

use std::fmt;
use std::sync::{Arc, OnceLock};

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, Severity, SourceCode, SourceSpan,
    SpanContents,
};
use serde::{Deserialize, Serialize};

/// A byte range `start..end` into a source text.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    pub const fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// This span moved right by `offset` bytes (from a sub-text to its parent).
    pub const fn shifted(self, offset: usize) -> Span {
        Span::new(self.start + offset, self.end + offset)
    }
}

impl From<Span> for SourceSpan {
    fn from(s: Span) -> Self {
        SourceSpan::new(s.start.into(), s.len())
    }
}

impl From<std::ops::Range<usize>> for Span {
    fn from(r: std::ops::Range<usize>) -> Self {
        Span::new(r.start, r.end)
    }
}

/// A named text that spans point into (a Dockerfile, a requirements file).
///
/// Cheap to clone: the text is shared.
#[derive(Clone, Debug)]
pub struct SourceFile {
    name: Arc<str>,
    /// An `Arc<String>` rather than an `Arc<str>`: a `String` (a file as
    /// read) moves in without its bytes being copied.
    text: Arc<String>,
    /// Byte offset of the start of every line, for line/column lookups.
    /// Built on first use (parsing never needs it); clones made after that
    /// share it.
    line_starts: OnceLock<Arc<[usize]>>,
}

impl SourceFile {
    /// A source named `name` (the file name shown in diagnostics). A
    /// `String` text is moved in, not copied (a `&str` is copied once);
    /// the line index is only built when a line number is asked for, so
    /// parsing many small files pays for nothing only an error message
    /// needs.
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<String>) -> Self {
        SourceFile {
            name: name.into(),
            text: Arc::new(text.into()),
            line_starts: OnceLock::new(),
        }
    }

    /// Byte offset of the start of every line.
    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let mut starts = vec![0];
            starts.extend(
                self.text
                    .bytes()
                    .enumerate()
                    .filter(|&(_, b)| b == b'\n')
                    .map(|(i, _)| i + 1),
            );
            Arc::from(starts)
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text a span covers (empty when the span is out of range).
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    /// 1-based line and 1-based column (in bytes) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let starts = self.line_starts();
        let line = match starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = starts.get(line).copied().unwrap_or(0);
        (line + 1, offset.saturating_sub(start) + 1)
    }

    /// A `file:line` string for a span, for one-line messages and reports.
    pub fn location(&self, span: Span) -> String {
        let (line, _) = self.line_col(span.start);
        format!("{}:{}", self.name, line)
    }
}

/// What miette renders snippets from: the text, with the file name in the
/// snippet header (as miette's `NamedSource` gives it).
impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// A diagnostic about a place in a source file: an error or a warning with a
/// code, a labelled span and an optional suggestion.
///
/// This is the one diagnostic type the front end, the shell analysis and the
/// plan report through, so that every message names the file and line and
/// shows the snippet.
#[derive(Debug, Clone)]
pub struct SourceDiagnostic {
    pub severity: Severity,
    /// A stable machine-readable code, e.g. `dockerfile::unterminated-heredoc`.
    pub code: String,
    pub message: String,
    pub span: Span,
    pub label: String,
    pub help: Option<String>,
    pub source: SourceFile,
}

impl SourceDiagnostic {
    pub fn error(source: &SourceFile, span: Span, code: &str, message: impl Into<String>) -> Self {
        SourceDiagnostic {
            severity: Severity::Error,
            code: code.to_string(),
            message: message.into(),
            span,
            label: "here".to_string(),
            help: None,
            source: source.clone(),
        }
    }

    pub fn warning(
        source: &SourceFile,
        span: Span,
        code: &str,
        message: impl Into<String>,
    ) -> Self {
        SourceDiagnostic {
            severity: Severity::Warning,
            ..Self::error(source, span, code, message)
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line: message`, for logs and tests.
    pub fn one_line(&self) -> String {
        format!("{}: {}", self.source.location(self.span), self.message)
    }
}

impl fmt::Display for SourceDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source.location(self.span), self.message)
    }
}

impl std::error::Error for SourceDiagnostic {}

impl Diagnostic for SourceDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(
                Some(self.label.clone()),
                SourceSpan::from(self.span),
            ),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let f = SourceFile::new("Dockerfile", "FROM a\nRUN b\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(7), (2, 1));
        assert_eq!(f.line_col(9), (2, 3));
        assert_eq!(f.location(Span::new(7, 12)), "Dockerfile:2");
        assert_eq!(f.slice(Span::new(7, 12)), "RUN b");
    }

    #[test]
    fn a_string_moves_in_uncopied() {
        let text = String::from("FROM a\n");
        let bytes = text.as_ptr();
        let f = SourceFile::new("Dockerfile", text);
        assert_eq!(f.text().as_ptr(), bytes);
        assert_eq!(f.clone().text().as_ptr(), bytes);
    }
}
