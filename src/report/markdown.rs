//! `--format markdown`: a pull-request comment. A summary table (size
//! before and after, saved share, packages, files, what is left), then
//! collapsible `<details>` sections for warnings, dropped, kept and
//! synthesized items, with links to the Dockerfile lines.
//!
//! Choices the issue left open:
//! - Links need a base URL to resolve from a PR comment (relative links do
//!   not): with [`MarkdownOptions::link_base`], e.g.
//!   `https://github.com/OWNER/REPO/blob/SHA`, locations become
//!   `[Dockerfile:5](BASE/Dockerfile#L5)`; without it they are plain text.
//! - GitHub limits a comment to 65 536 characters, so each section shows at
//!   most [`MarkdownOptions::max_rows`] rows (largest first) and says how many
//!   it left out.
//! - Names, versions and paths are code spans; free text is escaped so that
//!   nothing from the report can inject markup or HTML.

use super::model::{DroppedItem, KeptItem, Location, Report, Severity};
use super::util::{format_bytes, plural};

/// Presentation options for [`render_markdown`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkdownOptions {
    /// Base URL the Dockerfile path is appended to for line links.
    pub link_base: Option<String>,
    /// Rows per section before the rest is summarised.
    pub max_rows: usize,
}

impl Default for MarkdownOptions {
    fn default() -> Self {
        MarkdownOptions {
            link_base: None,
            max_rows: 100,
        }
    }
}

/// The report as a PR comment.
pub fn render_markdown(report: &Report, options: &MarkdownOptions) -> String {
    let t = &report.totals;
    let mut out = String::new();
    out.push_str(&format!(
        "### scratchify: {}\n\n",
        code(&report.dockerfile.path)
    ));
    out.push_str("| | `docker build` (estimated) | minimal image | change |\n");
    out.push_str("|---|---:|---:|---:|\n");
    out.push_str(&format!(
        "| **size** | {} | {} | **-{} (-{})** |\n",
        format_bytes(t.docker_build_estimate_bytes),
        format_bytes(t.minimal_bytes),
        format_bytes(t.waste_bytes()),
        t.waste_percent_text()
    ));
    out.push_str(&format!(
        "| packages | {} | {} | {} |\n",
        t.packages_before,
        t.packages_after,
        signed_change(t.packages_before, t.packages_after)
    ));
    out.push_str(&format!(
        "| files | {} | {} | {} |\n",
        t.files_before,
        t.files_after,
        signed_change(t.files_before, t.files_after)
    ));
    out.push_str(&format!(
        "| shells left | | {} | |\n",
        leftover(&t.shells_left)
    ));
    out.push_str(&format!(
        "| package managers left | | {} | |\n",
        leftover(&t.package_managers_left)
    ));
    out.push_str(&format!(
        "| compilers left | | {} | |\n",
        leftover(&t.compilers_left)
    ));
    out.push('\n');
    if let Some(base) = &report.base {
        out.push_str(&format!(
            "Base image {} ({} in {} packages) replaced by `scratch`.",
            code(&base.reference),
            format_bytes(base.size_bytes),
            base.packages
        ));
        out.push(' ');
    }
    match &report.image {
        Some(image) => out.push_str(&format!(
            "Image {}: {} layers, {} compressed.\n",
            code(&image.digest),
            image.layers.len(),
            format_bytes(image.compressed_bytes)
        )),
        None => out.push_str("No image written (audit).\n"),
    }

    warnings(report, options, &mut out);
    dropped(report, options, &mut out);
    kept(report, options, &mut out);
    synthesized(report, options, &mut out);
    out
}

fn warnings(report: &Report, options: &MarkdownOptions, out: &mut String) {
    if report.warnings.is_empty() {
        return;
    }
    out.push_str(&format!(
        "\n<details><summary>Warnings ({})</summary>\n\n",
        report.warnings.len()
    ));
    let mut findings: Vec<_> = report.warnings.iter().collect();
    findings.sort_by(|a, b| {
        location_key(a.location.as_ref())
            .cmp(&location_key(b.location.as_ref()))
            .then_with(|| b.severity.cmp(&a.severity))
            .then_with(|| a.code.cmp(&b.code))
            .then_with(|| a.message.cmp(&b.message))
    });
    for (i, f) in findings.into_iter().enumerate() {
        if i == options.max_rows {
            out.push_str(&format!(
                "- and {} more\n",
                report.warnings.len() - options.max_rows
            ));
            break;
        }
        let severity = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        out.push_str(&format!("- **{severity}** {}", code(&f.code)));
        if let Some(loc) = &f.location {
            out.push_str(&format!(" at {}", link(options, loc)));
        }
        out.push_str(&format!(": {}", text(&f.message)));
        if let Some(help) = &f.help {
            out.push_str(&format!(" _Help: {}_", text(help)));
        }
        out.push('\n');
    }
    out.push_str("\n</details>\n");
}

fn dropped(report: &Report, options: &MarkdownOptions, out: &mut String) {
    let total: u64 = report
        .dropped
        .iter()
        .map(|d| d.bytes_saved)
        .fold(0, u64::saturating_add);
    out.push_str(&format!(
        "\n<details><summary>Dropped: {}, {}</summary>\n\n",
        plural(report.dropped.len(), "item", "items"),
        format_bytes(total)
    ));
    if report.dropped.is_empty() {
        out.push_str("Nothing was dropped.\n\n</details>\n");
        return;
    }
    let mut items: Vec<&DroppedItem> = report.dropped.iter().collect();
    items.sort_by(|a, b| {
        b.bytes_saved
            .cmp(&a.bytes_saved)
            .then_with(|| a.name.cmp(&b.name))
    });
    out.push_str("| item | version | saved | rule | why | line |\n");
    out.push_str("|---|---|---:|---|---|---|\n");
    for item in items.iter().take(options.max_rows) {
        let mut why = text(&item.reason);
        if let Some(w) = &item.wanted_by {
            why.push_str(&format!(" (wanted by {})", code(w)));
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} | {why} | {} |\n",
            code(&item.name),
            item.version.as_deref().map(code).unwrap_or_default(),
            format_bytes(item.bytes_saved),
            code(&item.rule),
            item.location
                .as_ref()
                .map(|l| link(options, l))
                .unwrap_or_default(),
        ));
    }
    more(items.len(), options.max_rows, out);
    out.push_str("\n</details>\n");
}

fn kept(report: &Report, options: &MarkdownOptions, out: &mut String) {
    let total: u64 = report
        .kept
        .iter()
        .map(|k| k.size_bytes)
        .fold(0, u64::saturating_add);
    out.push_str(&format!(
        "\n<details><summary>Kept: {}, {}</summary>\n\n",
        plural(report.kept.len(), "item", "items"),
        format_bytes(total)
    ));
    if report.kept.is_empty() {
        out.push_str("Nothing was kept.\n\n</details>\n");
        return;
    }
    let mut items: Vec<&KeptItem> = report.kept.iter().collect();
    items.sort_by(|a, b| {
        b.size_bytes
            .cmp(&a.size_bytes)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.id.cmp(&b.id))
    });
    out.push_str("| item | version | size | pulled in by | line |\n");
    out.push_str("|---|---|---:|---|---|\n");
    for item in items.iter().take(options.max_rows) {
        let mut via: Vec<String> = item
            .chain
            .iter()
            .map(|id| {
                code(
                    report
                        .kept_by_id(id)
                        .map_or(id.as_str(), |k| k.name.as_str()),
                )
            })
            .collect();
        if let Some(req) = &item.request {
            via.push(code(&req.text));
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            code(&item.name),
            item.version.as_deref().map(code).unwrap_or_default(),
            format_bytes(item.size_bytes),
            via.join(" &larr; "),
            item.request
                .as_ref()
                .and_then(|r| r.location.as_ref())
                .map(|l| link(options, l))
                .unwrap_or_default(),
        ));
    }
    more(items.len(), options.max_rows, out);
    out.push_str("\n</details>\n");
}

fn synthesized(report: &Report, options: &MarkdownOptions, out: &mut String) {
    if report.synthesized.is_empty() {
        return;
    }
    out.push_str(&format!(
        "\n<details><summary>Synthesized: {}</summary>\n\n",
        plural(report.synthesized.len(), "file", "files")
    ));
    out.push_str("| file | size | why | instead of | line |\n");
    out.push_str("|---|---:|---|---|---|\n");
    let mut items: Vec<_> = report.synthesized.iter().collect();
    items.sort_by(|a, b| a.path.cmp(&b.path));
    for item in items.iter().take(options.max_rows) {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            code(&item.path),
            format_bytes(item.size_bytes),
            text(&item.reason),
            item.replaces.as_deref().map(text).unwrap_or_default(),
            item.location
                .as_ref()
                .map(|l| link(options, l))
                .unwrap_or_default(),
        ));
    }
    more(items.len(), options.max_rows, out);
    out.push_str("\n</details>\n");
}

/// Sort key: located findings by position first, the rest after.
pub(crate) fn location_key(loc: Option<&Location>) -> (bool, &str, u32, u32) {
    match loc {
        Some(l) => (false, l.file.as_str(), l.line, l.column),
        None => (true, "", 0, 0),
    }
}

fn more(len: usize, max: usize, out: &mut String) {
    if len > max {
        out.push_str(&format!(
            "\n_and {} more; see `scratchify audit --format json` for the full list._\n",
            len - max
        ));
    }
}

fn signed_change(before: u64, after: u64) -> String {
    if after >= before {
        format!("+{}", after - before)
    } else {
        format!("-{}", before - after)
    }
}

fn leftover(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.iter().map(|n| code(n)).collect::<Vec<_>>().join(", ")
    }
}

/// A location as a link to the Dockerfile lines, or plain text without a base.
fn link(options: &MarkdownOptions, loc: &Location) -> String {
    let label = text(&loc.display_short());
    let Some(base) = &options.link_base else {
        return label;
    };
    let relative = loc.file.trim_start_matches("./");
    if relative.is_empty() || relative.starts_with('/') {
        // An absolute path cannot be placed under a repository URL.
        return label;
    }
    let anchor = if loc.end_line > loc.line {
        format!("#L{}-L{}", loc.line, loc.end_line)
    } else {
        format!("#L{}", loc.line)
    };
    format!(
        "[{label}]({}/{}{anchor})",
        base.trim_end_matches('/'),
        url_path(relative)
    )
}

/// Percent-encodes a relative path for a URL (keeps `/`).
fn url_path(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A code span that survives any content: fenced with more backticks than
/// the content holds, `|` escaped for tables, newlines flattened.
fn code(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in flat.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    if flat.starts_with('`') || flat.ends_with('`') || flat.is_empty() {
        format!("{fence} {flat} {fence}")
    } else {
        format!("{fence}{flat}{fence}")
    }
}

/// Free text escaped for Markdown and the HTML GitHub allows in it.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_hold_backticks_and_pipes() {
        assert_eq!(code("nginx"), "`nginx`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("a|b\nc"), "`a\\|b c`");
        assert_eq!(code(""), "`  `");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            text("<script>*x*</script> [a](b)"),
            "&lt;script&gt;\\*x\\*&lt;/script&gt; \\[a\\](b)"
        );
    }
}
