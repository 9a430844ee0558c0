//! `scratchify explain`: why something is in the image, or why it is not,
//! answered from the report's records.
//!
//! The report itemises packages and COPY files, not every file inside a
//! package; answering "why is /usr/lib/x/libfoo.so here" needs the image's
//! per-file provenance to find the owning package first, whose id can then
//! be passed here.

use super::human::resolve_span;
use super::model::{DroppedItem, KeptItem, Location, Report};
use super::rules::rule_info;
use super::util::{format_bytes, printable};

/// Why kept items matching `query` (an item id, a package name, or a file
/// path with or without the leading `/`) are in the image: one paragraph per
/// match with the chain down to the Dockerfile line. `None` when nothing
/// matches.
pub fn explain_kept(report: &Report, query: &str) -> Option<String> {
    let path_query = format!("/{}", query.trim_start_matches('/'));
    let matches: Vec<&KeptItem> = report
        .kept
        .iter()
        .filter(|k| k.id == query || k.name == query || k.name == path_query)
        .collect();
    if matches.is_empty() {
        return None;
    }
    let mut out = String::new();
    for item in matches {
        out.push_str(&format!(
            "{} ({}) is in the image:\n  {}\n",
            printable(&what(&item.name, item.version.as_deref())),
            format_bytes(item.size_bytes),
            printable(&report.chain_text(item)),
        ));
        if let Some(loc) = item.request.as_ref().and_then(|r| r.location.as_ref()) {
            out.push_str(&quote(report, loc));
        }
    }
    Some(out)
}

/// Why dropped items named `name` are not in the image: the rule, the
/// reason, the edge that wanted it and the Dockerfile line. `None` when
/// nothing of that name was dropped.
pub fn explain_dropped(report: &Report, name: &str) -> Option<String> {
    let matches: Vec<&DroppedItem> = report.dropped.iter().filter(|d| d.name == name).collect();
    if matches.is_empty() {
        return None;
    }
    let mut out = String::new();
    for item in matches {
        let rule = rule_info(&item.rule);
        out.push_str(&format!(
            "{} ({}) was dropped by rule {}: {}\n  {}\n",
            printable(&what(&item.name, item.version.as_deref())),
            format_bytes(item.bytes_saved),
            printable(&item.rule),
            printable(&item.reason),
            printable(&rule.short),
        ));
        if let Some(w) = &item.wanted_by {
            out.push_str(&format!("  wanted by {}\n", printable(w)));
        }
        if let Some(loc) = &item.location {
            out.push_str(&quote(report, loc));
        }
    }
    Some(out)
}

fn what(name: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{name} {v}"),
        None => name.to_string(),
    }
}

/// The Dockerfile lines of a location, numbered.
fn quote(report: &Report, loc: &Location) -> String {
    let mut out = format!("  at {}\n", printable(&loc.display_short()));
    if loc.file != report.dockerfile.path {
        return out;
    }
    let Some(span) = resolve_span(&report.dockerfile.text, loc) else {
        return out;
    };
    let text = &report.dockerfile.text;
    let first = usize::try_from(loc.line).unwrap_or(1).max(1);
    let line_start = text
        .get(..span.start)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let line_end = text
        .get(span.end..)
        .and_then(|t| t.find('\n'))
        .map_or(text.len(), |i| span.end + i);
    let lines = text.get(line_start..line_end).unwrap_or("");
    for (i, line) in lines.lines().enumerate() {
        out.push_str(&format!("  {:>4} | {}\n", first + i, printable(line)));
    }
    out
}
