//! The human report: a summary, then warnings and drops with Dockerfile
//! snippets (rendered by miette's graphical handler), then what was kept
//! with its chains.
//!
//! Choices the issue left open:
//! - Dropped items are grouped by the Dockerfile line they start on; each
//!   group is one miette "advice" snippet with a label per distinct span,
//!   followed by one row per item. Items without a location come last,
//!   without a snippet.
//! - Rows are sorted by size, largest first, then by name, so the output does
//!   not depend on the order the builder recorded.
//! - Colour is opt-in (`color`); the caller decides from whether stdout is a
//!   terminal. Text from the report is stripped of control characters so a
//!   crafted package name cannot drive the terminal.

use std::collections::BTreeMap;
use std::fmt;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode,
};

use super::model::{DroppedItem, Finding, KeptItem, Location, Report, Severity};
use super::util::{format_bytes, plural, printable};
use crate::source::Span;

/// Presentation options for [`render_human`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HumanOptions {
    /// ANSI colour (only when writing to a terminal).
    pub color: bool,
    /// Width that snippets and wrapped text are laid out for.
    pub width: usize,
}

impl Default for HumanOptions {
    fn default() -> Self {
        HumanOptions {
            color: false,
            width: 100,
        }
    }
}

/// The report for people.
pub fn render_human(report: &Report, options: &HumanOptions) -> String {
    let painter = Painter {
        color: options.color,
    };
    let handler = GraphicalReportHandler::new_themed(if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    })
    .with_width(options.width.max(40))
    .with_links(false);
    let source = NamedSource::new(
        printable(&report.dockerfile.path),
        snippet_safe(&report.dockerfile.text),
    );
    let ctx = Ctx {
        report,
        painter,
        handler,
        source,
    };

    let mut out = String::new();
    ctx.summary(&mut out);
    ctx.warnings(&mut out);
    ctx.dropped(&mut out);
    ctx.kept(&mut out);
    ctx.synthesized(&mut out);
    out
}

struct Ctx<'a> {
    report: &'a Report,
    painter: Painter,
    handler: GraphicalReportHandler,
    source: NamedSource<String>,
}

impl Ctx<'_> {
    fn summary(&self, out: &mut String) {
        let p = self.painter;
        let r = self.report;
        let t = &r.totals;
        push_line(
            out,
            &p.bold(&format!(
                "scratchify: {} -> minimal image",
                printable(&r.dockerfile.path)
            )),
        );
        push_line(
            out,
            &format!(
                "  size      {} (docker build, estimated) -> {} minimal: {}",
                format_bytes(t.docker_build_estimate_bytes),
                format_bytes(t.minimal_bytes),
                p.green(&format!(
                    "-{} ({})",
                    format_bytes(t.waste_bytes()),
                    t.waste_percent_text()
                )),
            ),
        );
        push_line(
            out,
            &format!("  packages  {} -> {}", t.packages_before, t.packages_after),
        );
        push_line(
            out,
            &format!("  files     {} -> {}", t.files_before, t.files_after),
        );
        push_line(
            out,
            &format!(
                "  left      shells: {} · package managers: {} · compilers: {}",
                p.leftover(&t.shells_left),
                p.leftover(&t.package_managers_left),
                p.leftover(&t.compilers_left),
            ),
        );
        if let Some(base) = &r.base {
            let release = base
                .release
                .as_deref()
                .map(|rel| format!("{}, ", printable(rel)))
                .unwrap_or_default();
            push_line(
                out,
                &format!(
                    "  base      {} ({release}{}, {} packages)",
                    printable(&base.reference),
                    format_bytes(base.size_bytes),
                    base.packages
                ),
            );
        }
        match &r.image {
            Some(image) => push_line(
                out,
                &format!(
                    "  image     {} · {} layers · {} compressed, {} uncompressed",
                    printable(&image.digest),
                    image.layers.len(),
                    format_bytes(image.compressed_bytes),
                    format_bytes(image.uncompressed_bytes)
                ),
            ),
            None => push_line(out, "  image     not written (audit)"),
        }
    }

    fn warnings(&self, out: &mut String) {
        if self.report.warnings.is_empty() {
            return;
        }
        let mut findings: Vec<&Finding> = self.report.warnings.iter().collect();
        findings.sort_by(|a, b| {
            location_key(a.location.as_ref())
                .cmp(&location_key(b.location.as_ref()))
                .then_with(|| b.severity.cmp(&a.severity))
                .then_with(|| a.code.cmp(&b.code))
                .then_with(|| a.message.cmp(&b.message))
        });
        out.push('\n');
        push_line(
            out,
            &self.painter.bold(&format!("Warnings ({})", findings.len())),
        );
        for finding in findings {
            let labels = self
                .resolve(finding.location.as_ref())
                .map(|span| {
                    vec![LabeledSpan::new_primary_with_span(
                        finding.label.as_deref().map(printable),
                        miette::SourceSpan::from(span),
                    )]
                })
                .unwrap_or_default();
            let diag = Snippet {
                severity: match finding.severity {
                    Severity::Error => miette::Severity::Error,
                    Severity::Warning => miette::Severity::Warning,
                    Severity::Note => miette::Severity::Advice,
                },
                code: Some(printable(&finding.code)),
                message: with_location(&printable(&finding.message), finding.location.as_ref()),
                help: finding.help.as_deref().map(printable),
                labels,
                source: &self.source,
            };
            self.render(out, &diag);
        }
    }

    fn dropped(&self, out: &mut String) {
        let r = self.report;
        if r.dropped.is_empty() {
            out.push('\n');
            push_line(out, &self.painter.bold("Dropped: nothing"));
            return;
        }
        let total: u64 = r
            .dropped
            .iter()
            .map(|d| d.bytes_saved)
            .fold(0, u64::saturating_add);
        out.push('\n');
        push_line(
            out,
            &self.painter.bold(&format!(
                "Dropped: {}, {}",
                plural(r.dropped.len(), "item", "items"),
                format_bytes(total)
            )),
        );

        // Group by the line the item starts on (None = unattributed, last).
        let mut groups: BTreeMap<(bool, u32), Vec<&DroppedItem>> = BTreeMap::new();
        for item in &r.dropped {
            let key = match &item.location {
                Some(loc) => (false, loc.line),
                None => (true, 0),
            };
            groups.entry(key).or_default().push(item);
        }
        for ((unattributed, _), mut items) in groups {
            items.sort_by(|a, b| {
                b.bytes_saved
                    .cmp(&a.bytes_saved)
                    .then_with(|| a.name.cmp(&b.name))
            });
            let bytes: u64 = items
                .iter()
                .map(|d| d.bytes_saved)
                .fold(0, u64::saturating_add);
            let count = plural(items.len(), "item", "items");
            out.push('\n');
            if unattributed {
                push_line(
                    out,
                    &format!(
                        "  not attributed to a Dockerfile line: {count}, {}",
                        format_bytes(bytes)
                    ),
                );
            } else {
                // One label per distinct span, naming what was dropped there.
                let mut by_span: BTreeMap<Span, Vec<&str>> = BTreeMap::new();
                for item in &items {
                    if let Some(span) = self.resolve(item.location.as_ref()) {
                        by_span.entry(span).or_default().push(&item.name);
                    }
                }
                let labels = by_span
                    .into_iter()
                    .map(|(span, names)| {
                        LabeledSpan::new_with_span(
                            Some(name_list(&names)),
                            miette::SourceSpan::from(span),
                        )
                    })
                    .collect();
                let first = items.first().and_then(|i| i.location.as_ref());
                let diag = Snippet {
                    severity: miette::Severity::Advice,
                    code: None,
                    message: with_location(
                        &format!("dropped {count}, {}", format_bytes(bytes)),
                        first,
                    ),
                    help: None,
                    labels,
                    source: &self.source,
                };
                self.render(out, &diag);
            }
            self.dropped_rows(out, &items);
        }
    }

    fn dropped_rows(&self, out: &mut String, items: &[&DroppedItem]) {
        let p = self.painter;
        let names: Vec<String> = items
            .iter()
            .map(|i| name_version(&i.name, i.version.as_deref()))
            .collect();
        let name_width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        let rule_width = items
            .iter()
            .map(|i| printable(&i.rule).chars().count())
            .max()
            .unwrap_or(0);
        for (item, name) in items.iter().zip(&names) {
            let mut reason = printable(&item.reason);
            if let Some(w) = &item.wanted_by {
                reason.push_str(&format!(" (wanted by {})", printable(w)));
            }
            push_line(
                out,
                &format!(
                    "    - {name:<name_width$}  {:>9}  {}  {reason}",
                    format_bytes(item.bytes_saved),
                    p.dim(&format!("{:<rule_width$}", printable(&item.rule))),
                ),
            );
        }
    }

    fn kept(&self, out: &mut String) {
        let r = self.report;
        let p = self.painter;
        out.push('\n');
        if r.kept.is_empty() {
            push_line(out, &p.bold("Kept: nothing"));
            return;
        }
        let total: u64 = r
            .kept
            .iter()
            .map(|k| k.size_bytes)
            .fold(0, u64::saturating_add);
        push_line(
            out,
            &p.bold(&format!(
                "Kept: {}, {}",
                plural(r.kept.len(), "item", "items"),
                format_bytes(total)
            )),
        );
        let mut items: Vec<&KeptItem> = r.kept.iter().collect();
        items.sort_by(|a, b| {
            b.size_bytes
                .cmp(&a.size_bytes)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.id.cmp(&b.id))
        });
        let names: Vec<String> = items
            .iter()
            .map(|i| name_version(&i.name, i.version.as_deref()))
            .collect();
        let name_width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        for (item, name) in items.iter().zip(&names) {
            let chain = printable(&r.chain_text(item));
            // The chain starts with the item's own name; show what follows.
            let via = chain
                .split_once(" <- ")
                .map(|(_, rest)| format!("<- {rest}"))
                .unwrap_or_default();
            let row = format!(
                "    {:>9}  {name:<name_width$}  {}",
                format_bytes(item.size_bytes),
                p.dim(&via)
            );
            push_line(out, row.trim_end());
        }
    }

    fn synthesized(&self, out: &mut String) {
        let r = self.report;
        if r.synthesized.is_empty() {
            return;
        }
        out.push('\n');
        push_line(
            out,
            &self.painter.bold(&format!(
                "Synthesized: {}",
                plural(r.synthesized.len(), "file", "files")
            )),
        );
        let mut items: Vec<_> = r.synthesized.iter().collect();
        items.sort_by(|a, b| a.path.cmp(&b.path));
        let width = items
            .iter()
            .map(|s| printable(&s.path).chars().count())
            .max()
            .unwrap_or(0);
        for item in items {
            let mut line = format!(
                "    {:<width$}  {:>9}  {}",
                printable(&item.path),
                format_bytes(item.size_bytes),
                printable(&item.reason)
            );
            if let Some(replaces) = &item.replaces {
                line.push_str(&format!(" (instead of {})", printable(replaces)));
            }
            if let Some(loc) = &item.location {
                line.push_str(&format!(" [{}]", printable(&loc.display_short())));
            }
            push_line(out, &line);
        }
    }

    /// A byte span into the Dockerfile text for a location, when the location
    /// is in this Dockerfile: the recorded span when it is valid, otherwise
    /// one computed from line and column.
    fn resolve(&self, location: Option<&Location>) -> Option<Span> {
        let loc = location?;
        if loc.file != self.report.dockerfile.path {
            return None;
        }
        resolve_span(&self.report.dockerfile.text, loc)
    }

    fn render(&self, out: &mut String, diag: &Snippet<'_>) {
        let mut text = String::new();
        if self.handler.render_report(&mut text, diag).is_err() {
            // A snippet miette cannot lay out: fall back to the message alone.
            text = format!("  {}\n", diag.message);
        }
        for line in text.lines() {
            push_line(out, line.trim_end());
        }
    }
}

/// The span of a location in `text`, if it can be found there.
pub(crate) fn resolve_span(text: &str, loc: &Location) -> Option<Span> {
    if let Some(span) = loc.span
        && span.start <= span.end
        && span.end <= text.len()
        && text.is_char_boundary(span.start)
        && text.is_char_boundary(span.end)
    {
        return Some(span);
    }
    let start = offset_of(text, loc.line, loc.column)?;
    let end = offset_of(text, loc.end_line, loc.end_column)
        .filter(|&e| e >= start)
        .unwrap_or(start);
    Some(Span::new(start, end))
}

/// Byte offset of a 1-based line and code-point column, if it is in the text.
fn offset_of(text: &str, line: u32, column: u32) -> Option<usize> {
    let line_index = usize::try_from(line.checked_sub(1)?).ok()?;
    let column_index = usize::try_from(column.checked_sub(1)?).ok()?;
    let mut line_start = 0;
    for _ in 0..line_index {
        line_start += text.get(line_start..)?.find('\n')? + 1;
    }
    let rest = text.get(line_start..)?;
    let line_text = rest.split('\n').next().unwrap_or("");
    if column_index == line_text.chars().count() {
        return Some(line_start + line_text.len());
    }
    line_text
        .char_indices()
        .nth(column_index)
        .map(|(i, _)| line_start + i)
}

/// The Dockerfile text with control characters other than newline, tab and
/// carriage return replaced by `?` byte for byte, so spans stay valid and the
/// snippet cannot carry terminal escapes.
fn snippet_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && !matches!(c, '\n' | '\t' | '\r') {
            for _ in 0..c.len_utf8() {
                out.push('?');
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn location_key(loc: Option<&Location>) -> (bool, u32, u32) {
    match loc {
        Some(l) => (false, l.line, l.column),
        None => (true, 0, 0),
    }
}

fn with_location(message: &str, loc: Option<&Location>) -> String {
    match loc {
        Some(l) => format!("{}: {message}", printable(&l.display_short())),
        None => message.to_string(),
    }
}

fn name_version(name: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{} {}", printable(name), printable(v)),
        None => printable(name),
    }
}

/// `a, b, c` or `a, b and 3 more`.
fn name_list(names: &[&str]) -> String {
    const SHOWN: usize = 3;
    let shown: Vec<String> = names.iter().take(SHOWN).map(|n| printable(n)).collect();
    if names.len() > SHOWN {
        format!("{} and {} more", shown.join(", "), names.len() - SHOWN)
    } else {
        shown.join(", ")
    }
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

#[derive(Clone, Copy)]
struct Painter {
    color: bool,
}

impl Painter {
    fn paint(self, code: &str, s: &str) -> String {
        if self.color && !s.is_empty() {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }
    fn dim(self, s: &str) -> String {
        self.paint("2", s)
    }
    fn green(self, s: &str) -> String {
        self.paint("32", s)
    }
    fn red(self, s: &str) -> String {
        self.paint("31", s)
    }
    /// `none` in green, or the names in red.
    fn leftover(self, names: &[String]) -> String {
        if names.is_empty() {
            self.green("none")
        } else {
            let list: Vec<String> = names.iter().map(|n| printable(n)).collect();
            self.red(&list.join(", "))
        }
    }
}

/// One miette diagnostic over the Dockerfile.
struct Snippet<'a> {
    severity: miette::Severity,
    code: Option<String>,
    message: String,
    help: Option<String>,
    labels: Vec<LabeledSpan>,
    source: &'a NamedSource<String>,
}

impl fmt::Debug for Snippet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snippet")
            .field("message", &self.message)
            .finish()
    }
}

impl fmt::Display for Snippet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Snippet<'_> {}

impl Diagnostic for Snippet<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.code
            .as_ref()
            .map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        if self.labels.is_empty() {
            None
        } else {
            Some(self.source as &dyn SourceCode)
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_resolve_from_line_and_column_when_the_span_is_bad() {
        let text = "FROM a\nRUN é x\n";
        let loc = Location {
            file: "Dockerfile".into(),
            line: 2,
            column: 7,
            end_line: 2,
            end_column: 8,
            span: Some(Span::new(12, 400)),
        };
        assert_eq!(resolve_span(text, &loc), Some(Span::new(14, 15)));
        let beyond = Location {
            line: 9,
            span: None,
            ..loc.clone()
        };
        assert_eq!(resolve_span(text, &beyond), None);
        let zero = Location {
            line: 0,
            span: None,
            ..loc
        };
        assert_eq!(resolve_span(text, &zero), None);
    }

    #[test]
    fn snippet_text_keeps_byte_offsets() {
        let text = "RUN \u{1b}[31m é\u{85}x";
        let safe = snippet_safe(text);
        assert_eq!(safe.len(), text.len());
        assert!(!safe.chars().any(|c| c.is_control()));
    }
}
