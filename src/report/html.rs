//! `--format html`: one self-contained page with the size breakdown of the
//! image `docker build` would make versus the minimal image.
//!
//! Choices the issue left open:
//! - Stacked bars, not a treemap: two bars (before, after) on one scale by
//!   item, and one kept/dropped bar per Dockerfile line, drawn as HTML boxes
//!   whose widths are computed here (so the DOM carries the numbers). Bars
//!   name the largest [`MAX_SEGMENTS`] items and fold the rest into "other";
//!   bytes the totals hold but no item accounts for (unitemised base content,
//!   image metadata) are drawn as "not itemised" so the bars add up to the
//!   totals.
//! - Everything is computed here and written into the page; the page has no
//!   script at all, and a Content-Security-Policy forbids scripts and any
//!   network access, so it renders the same offline, in a mail client or an
//!   artifact viewer.
//! - The totals sit in elements with stable ids (`total-before`,
//!   `total-after`, `total-saved`, `saved-percent`, `packages-before`,
//!   `packages-after`, `files-before`, `files-after`, `shells-left`,
//!   `package-managers-left`, `compilers-left`), the byte counts also in
//!   `data-bytes`, for tests and scrapers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::markdown::location_key;
use super::model::{Location, Report};
use super::util::{escape_html as esc, format_bytes};

/// Segments named in a bar before the rest is folded into "other".
pub const MAX_SEGMENTS: usize = 24;

/// Bar widths are computed in tenths of a percent.
const BAR_WIDTH: u64 = 1000;

/// Segments at least this wide (in tenths of a percent) show their label.
const LABEL_MIN_WIDTH: u64 = 60;

/// The report as one HTML page.
pub fn render_html(report: &Report) -> String {
    let t = &report.totals;
    let title = format!("scratchify: {}", report.dockerfile.path);
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", esc(&title));
    out.push_str(STYLE);
    out.push_str("</head>\n<body>\n");
    let _ = writeln!(
        out,
        "<h1>scratchify: <code>{}</code></h1>",
        esc(&report.dockerfile.path)
    );
    if let Some(base) = &report.base {
        let _ = writeln!(
            out,
            "<p class=\"sub\">Base image <code>{}</code> ({} in {} packages) replaced by <code>scratch</code>.</p>",
            esc(&base.reference),
            format_bytes(base.size_bytes),
            base.packages
        );
    }
    match &report.image {
        Some(image) => {
            let _ = writeln!(
                out,
                "<p class=\"sub\">Image <code id=\"image-digest\">{}</code>: {} layers, {} compressed, {} uncompressed.</p>",
                esc(&image.digest),
                image.layers.len(),
                format_bytes(image.compressed_bytes),
                format_bytes(image.uncompressed_bytes)
            );
        }
        None => out.push_str("<p class=\"sub\">No image written (audit).</p>\n"),
    }

    // Totals.
    out.push_str("<section class=\"cards\">\n");
    card(
        &mut out,
        "docker build (estimated)",
        "total-before",
        t.docker_build_estimate_bytes,
        "",
    );
    card(
        &mut out,
        "minimal image",
        "total-after",
        t.minimal_bytes,
        "",
    );
    card(
        &mut out,
        "saved",
        "total-saved",
        t.waste_bytes(),
        &format!(
            "<div class=\"pct\" id=\"saved-percent\">{}</div>",
            t.waste_percent_text()
        ),
    );
    let _ = writeln!(
        out,
        "<div class=\"card\"><h2>packages</h2><div class=\"num\"><span id=\"packages-before\">{}</span> &rarr; <span id=\"packages-after\">{}</span></div></div>",
        t.packages_before, t.packages_after
    );
    let _ = writeln!(
        out,
        "<div class=\"card\"><h2>files</h2><div class=\"num\"><span id=\"files-before\">{}</span> &rarr; <span id=\"files-after\">{}</span></div></div>",
        t.files_before, t.files_after
    );
    out.push_str("<div class=\"card left\"><h2>left in the image</h2><dl>\n");
    leftover(&mut out, "shells", "shells-left", &t.shells_left);
    leftover(
        &mut out,
        "package managers",
        "package-managers-left",
        &t.package_managers_left,
    );
    leftover(&mut out, "compilers", "compilers-left", &t.compilers_left);
    out.push_str("</dl></div>\n</section>\n");

    by_item(report, &mut out);
    by_line(report, &mut out);
    tables(report, &mut out);
    let _ = writeln!(
        out,
        "<footer>{} {} &middot; report schema {}</footer>",
        esc(&report.tool.name),
        esc(&report.tool.version),
        report.schema_version
    );
    out.push_str("</body>\n</html>\n");
    out
}

fn card(out: &mut String, title: &str, id: &str, bytes: u64, extra: &str) {
    let _ = writeln!(
        out,
        "<div class=\"card\"><h2>{title}</h2><div class=\"num\" id=\"{id}\" data-bytes=\"{bytes}\">{}</div>{extra}</div>",
        format_bytes(bytes)
    );
}

fn leftover(out: &mut String, label: &str, id: &str, names: &[String]) {
    let (class, value) = if names.is_empty() {
        ("ok", "none".to_string())
    } else {
        (
            "bad",
            names.iter().map(|n| esc(n)).collect::<Vec<_>>().join(", "),
        )
    };
    let _ = writeln!(
        out,
        "<dt>{label}</dt><dd class=\"{class}\" id=\"{id}\">{value}</dd>"
    );
}

/// One bar segment.
struct Segment {
    label: String,
    detail: String,
    bytes: u64,
    class: &'static str,
}

/// The largest `MAX_SEGMENTS` segments in size order, the rest folded into
/// one "other" segment, and a "not itemised" segment up to `total`.
fn fold(mut segments: Vec<Segment>, total: u64, other_class: &'static str) -> Vec<Segment> {
    segments.retain(|s| s.bytes > 0);
    segments.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.label.cmp(&b.label)));
    let itemised: u64 = segments
        .iter()
        .map(|s| s.bytes)
        .fold(0, u64::saturating_add);
    if segments.len() > MAX_SEGMENTS {
        let rest = segments.split_off(MAX_SEGMENTS);
        let bytes = rest.iter().map(|s| s.bytes).fold(0, u64::saturating_add);
        segments.push(Segment {
            label: format!("{} other items", rest.len()),
            detail: String::new(),
            bytes,
            class: other_class,
        });
    }
    if total > itemised {
        segments.push(Segment {
            label: "not itemised".to_string(),
            detail: "in the totals but not attributed to an item".to_string(),
            bytes: total - itemised,
            class: "rest",
        });
    }
    segments
}

/// Position in bar units of `bytes` on a scale of `scale` bytes.
fn scaled(bytes: u64, scale: u64) -> u64 {
    if scale == 0 {
        return 0;
    }
    let v = u128::from(bytes) * u128::from(BAR_WIDTH) / u128::from(scale);
    u64::try_from(v).unwrap_or(BAR_WIDTH).min(BAR_WIDTH)
}

/// A stacked bar: one `<span>` per segment, its width a share of `scale`
/// in tenths of a percent. Edges are rounded from cumulative sums, so the
/// segments tile the bar exactly. With `labels`, wide segments show their
/// label.
fn bar(out: &mut String, id: &str, segments: &[Segment], scale: u64, aria: &str, labels: bool) {
    let sum = segments
        .iter()
        .map(|s| s.bytes)
        .fold(0, u64::saturating_add);
    let _ = write!(
        out,
        "<div class=\"bar\" id=\"{id}\" data-bytes=\"{sum}\" role=\"img\" aria-label=\"{}\">",
        esc(aria)
    );
    let mut cumulative = 0u64;
    for s in segments {
        let x0 = scaled(cumulative, scale);
        cumulative = cumulative.saturating_add(s.bytes);
        let x1 = scaled(cumulative, scale);
        if x1 <= x0 {
            continue;
        }
        let width = x1 - x0;
        let mut tip = format!("{} \u{2014} {}", s.label, format_bytes(s.bytes));
        if !s.detail.is_empty() {
            tip.push_str(&format!("\n{}", s.detail));
        }
        let label = if labels && width >= LABEL_MIN_WIDTH {
            esc(&s.label)
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<span class=\"seg {}\" style=\"width:{}.{}%\" data-bytes=\"{}\" title=\"{}\">{label}</span>",
            s.class,
            width / 10,
            width % 10,
            s.bytes,
            esc(&tip)
        );
    }
    out.push_str("</div>\n");
}

fn by_item(report: &Report, out: &mut String) {
    let t = &report.totals;
    let mut before: Vec<Segment> = Vec::new();
    let mut after: Vec<Segment> = Vec::new();
    for item in &report.kept {
        let seg = || Segment {
            label: item.name.clone(),
            detail: format!("kept: {}", report.chain_text(item)),
            bytes: item.size_bytes,
            class: "kept",
        };
        before.push(seg());
        after.push(seg());
    }
    for item in &report.dropped {
        before.push(Segment {
            label: item.name.clone(),
            detail: format!("dropped ({}): {}", item.rule, item.reason),
            bytes: item.bytes_saved,
            class: "dropped",
        });
    }
    for item in &report.synthesized {
        after.push(Segment {
            label: item.path.clone(),
            detail: format!("synthesized: {}", item.reason),
            bytes: item.size_bytes,
            class: "synth",
        });
    }
    let before = fold(before, t.docker_build_estimate_bytes, "other");
    let after = fold(after, t.minimal_bytes, "other");
    let sum = |v: &[Segment]| v.iter().map(|s| s.bytes).fold(0, u64::saturating_add);
    let scale = sum(&before).max(sum(&after)).max(1);

    out.push_str("<section id=\"by-item\">\n<h2>Size by item</h2>\n");
    out.push_str("<p class=\"legend\"><span class=\"sw kept\"></span>kept <span class=\"sw dropped\"></span>dropped <span class=\"sw synth\"></span>synthesized <span class=\"sw other\"></span>other items <span class=\"sw rest\"></span>not itemised</p>\n");
    out.push_str("<div class=\"bars\">\n<div class=\"barlabel\">docker build</div>");
    bar(
        out,
        "bar-before",
        &before,
        scale,
        "docker build image by item",
        true,
    );
    out.push_str("<div class=\"barlabel\">minimal</div>");
    bar(
        out,
        "bar-after",
        &after,
        scale,
        "minimal image by item",
        true,
    );
    out.push_str("</div>\n");
    let _ = writeln!(
        out,
        "<p class=\"axis\"><span>docker build: {}</span><span>minimal: {}</span></p>",
        format_bytes(t.docker_build_estimate_bytes),
        format_bytes(t.minimal_bytes)
    );
    // The same data as a list, for reading and for screen readers.
    out.push_str("<details><summary>Segments</summary><table class=\"segments\"><thead><tr><th>bar</th><th>item</th><th class=\"r\">size</th><th>what</th></tr></thead><tbody>\n");
    for (name, segs) in [("docker build", &before), ("minimal", &after)] {
        for s in segs {
            let _ = writeln!(
                out,
                "<tr class=\"{}\"><td>{name}</td><td>{}</td><td class=\"r\">{}</td><td>{}</td></tr>",
                s.class,
                esc(&s.label),
                format_bytes(s.bytes),
                esc(&s.detail)
            );
        }
    }
    out.push_str("</tbody></table></details>\n</section>\n");
}

#[derive(Default)]
struct LineGroup {
    kept: u64,
    dropped: u64,
    items: usize,
}

fn by_line(report: &Report, out: &mut String) {
    // Key: Some(line) for Dockerfile lines, None for unattributed content.
    let mut groups: BTreeMap<(bool, u32), LineGroup> = BTreeMap::new();
    let key = |loc: Option<&Location>| match loc {
        Some(l) if l.file == report.dockerfile.path => (false, l.line),
        _ => (true, 0),
    };
    for item in &report.kept {
        let loc = item.request.as_ref().and_then(|r| r.location.as_ref());
        let g = groups.entry(key(loc)).or_default();
        g.kept = g.kept.saturating_add(item.size_bytes);
        g.items += 1;
    }
    for item in &report.dropped {
        let g = groups.entry(key(item.location.as_ref())).or_default();
        g.dropped = g.dropped.saturating_add(item.bytes_saved);
        g.items += 1;
    }
    let scale = groups
        .values()
        .map(|g| g.kept.saturating_add(g.dropped))
        .max()
        .unwrap_or(0)
        .max(1);
    out.push_str("<section id=\"by-line\">\n<h2>Size by Dockerfile line</h2>\n");
    out.push_str("<table class=\"lines\"><thead><tr><th>line</th><th>instruction</th><th class=\"r\">docker build</th><th class=\"r\">minimal</th><th class=\"barcol\">kept / dropped</th></tr></thead><tbody>\n");
    // Split once: finding each group's line from the top made the table
    // quadratic in the Dockerfile's length.
    let text_lines: Vec<&str> = report.dockerfile.text.lines().collect();
    for ((unattributed, line), g) in &groups {
        let (label, snippet) = if *unattributed {
            ("base / other".to_string(), String::new())
        } else {
            let first_line = usize::try_from(line.saturating_sub(1))
                .ok()
                .and_then(|i| text_lines.get(i))
                .copied()
                .unwrap_or("");
            let shown: String = first_line.trim().chars().take(80).collect();
            (format!("{}:{line}", report.dockerfile.path), shown)
        };
        let total = g.kept.saturating_add(g.dropped);
        let _ = write!(
            out,
            "<tr><td>{}<div class=\"sub\">{}</div></td><td><code>{}</code></td><td class=\"r\">{}</td><td class=\"r\">{}</td><td class=\"barcol\">",
            esc(&label),
            if g.items == 1 {
                "1 item".to_string()
            } else {
                format!("{} items", g.items)
            },
            esc(&snippet),
            format_bytes(total),
            format_bytes(g.kept),
        );
        let segs = [
            Segment {
                label: "kept".into(),
                detail: String::new(),
                bytes: g.kept,
                class: "kept",
            },
            Segment {
                label: "dropped".into(),
                detail: String::new(),
                bytes: g.dropped,
                class: "dropped",
            },
        ];
        let aria = format!(
            "{} kept, {} dropped",
            format_bytes(g.kept),
            format_bytes(g.dropped)
        );
        let mut cell = String::new();
        bar(
            &mut cell,
            &format!("line-{line}"),
            &segs,
            scale,
            &aria,
            false,
        );
        out.push_str(cell.trim_end());
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody></table>\n</section>\n");
}

fn tables(report: &Report, out: &mut String) {
    let mut dropped: Vec<_> = report.dropped.iter().collect();
    dropped.sort_by(|a, b| {
        b.bytes_saved
            .cmp(&a.bytes_saved)
            .then_with(|| a.name.cmp(&b.name))
    });
    let _ = writeln!(
        out,
        "<section id=\"dropped\">\n<h2>Dropped ({})</h2>",
        dropped.len()
    );
    out.push_str("<table><thead><tr><th>item</th><th>version</th><th class=\"r\">saved</th><th>rule</th><th>why</th><th>line</th></tr></thead><tbody>\n");
    for d in dropped {
        let mut why = esc(&d.reason);
        if let Some(w) = &d.wanted_by {
            let _ = write!(why, " (wanted by <code>{}</code>)", esc(w));
        }
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"r\">{}</td><td><code>{}</code></td><td>{why}</td><td>{}</td></tr>",
            esc(&d.name),
            esc(d.version.as_deref().unwrap_or("")),
            format_bytes(d.bytes_saved),
            esc(&d.rule),
            esc(&d
                .location
                .as_ref()
                .map(Location::display_short)
                .unwrap_or_default()),
        );
    }
    out.push_str("</tbody></table>\n</section>\n");

    let mut kept: Vec<_> = report.kept.iter().collect();
    kept.sort_by(|a, b| {
        b.size_bytes
            .cmp(&a.size_bytes)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.id.cmp(&b.id))
    });
    let _ = writeln!(out, "<section id=\"kept\">\n<h2>Kept ({})</h2>", kept.len());
    out.push_str("<table><thead><tr><th>item</th><th>version</th><th class=\"r\">size</th><th>why</th></tr></thead><tbody>\n");
    for k in kept {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"r\">{}</td><td>{}</td></tr>",
            esc(&k.name),
            esc(k.version.as_deref().unwrap_or("")),
            format_bytes(k.size_bytes),
            esc(&report.chain_text(k)),
        );
    }
    out.push_str("</tbody></table>\n</section>\n");

    if !report.synthesized.is_empty() {
        let _ = writeln!(
            out,
            "<section id=\"synthesized\">\n<h2>Synthesized ({})</h2>",
            report.synthesized.len()
        );
        out.push_str("<table><thead><tr><th>file</th><th class=\"r\">size</th><th>why</th></tr></thead><tbody>\n");
        let mut synthesized: Vec<_> = report.synthesized.iter().collect();
        synthesized.sort_by(|a, b| a.path.cmp(&b.path));
        for s in synthesized {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td class=\"r\">{}</td><td>{}</td></tr>",
                esc(&s.path),
                format_bytes(s.size_bytes),
                esc(&s.reason)
            );
        }
        out.push_str("</tbody></table>\n</section>\n");
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(
            out,
            "<section id=\"warnings\">\n<h2>Warnings ({})</h2>\n<ul>",
            report.warnings.len()
        );
        let mut findings: Vec<_> = report.warnings.iter().collect();
        findings.sort_by(|a, b| {
            location_key(a.location.as_ref())
                .cmp(&location_key(b.location.as_ref()))
                .then_with(|| b.severity.cmp(&a.severity))
                .then_with(|| a.code.cmp(&b.code))
                .then_with(|| a.message.cmp(&b.message))
        });
        for w in findings {
            let _ = writeln!(
                out,
                "<li><code>{}</code> {}{}</li>",
                esc(&w.code),
                w.location
                    .as_ref()
                    .map(|l| format!("{}: ", esc(&l.display_short())))
                    .unwrap_or_default(),
                esc(&w.message)
            );
        }
        out.push_str("</ul>\n</section>\n");
    }
}

const STYLE: &str = r#"<style>
:root { --fg:#1f2328; --bg:#ffffff; --muted:#59636e; --line:#d1d9e0; --card:#f6f8fa;
  --kept:#2f81f7; --dropped:#cf222e; --synth:#8250df; --other:#9a6700; --rest:#818b98; --ok:#1a7f37; }
@media (prefers-color-scheme: dark) {
  :root { --fg:#e6edf3; --bg:#0d1117; --muted:#9198a1; --line:#3d444d; --card:#151b23; --ok:#3fb950; }
}
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); margin: 2rem auto; max-width: 72rem; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
.sub { color: var(--muted); margin: .1rem 0; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, monospace; }
.cards { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .9rem; min-width: 9rem; }
.card h2 { font-size: .8rem; font-weight: 600; color: var(--muted); margin: 0 0 .2rem; text-transform: uppercase; letter-spacing: .03em; }
.num { font-size: 1.4rem; font-weight: 600; }
.pct { color: var(--ok); font-weight: 600; }
.left dl { display: grid; grid-template-columns: auto auto; gap: 0 .75rem; margin: 0; }
.left dt { color: var(--muted); }
.left dd { margin: 0; font-weight: 600; }
.ok { color: var(--ok); } .bad { color: var(--dropped); }
.bars { display: grid; grid-template-columns: auto 1fr; gap: .5rem .75rem; align-items: center; }
.barlabel { color: var(--muted); white-space: nowrap; }
.bar { display: flex; height: 2.2rem; background: var(--card); border-radius: 4px; overflow: hidden; }
td .bar { height: .9rem; }
.seg { box-sizing: border-box; border-right: 1px solid var(--bg); overflow: hidden; white-space: nowrap; text-overflow: ellipsis;
  color: #fff; font-size: 11px; line-height: 2.2rem; padding: 0 4px; }
td .seg { line-height: .9rem; padding: 0; }
.seg.kept { background: var(--kept); } .seg.dropped { background: var(--dropped); } .seg.synth { background: var(--synth); }
.seg.other { background: var(--other); } .seg.rest { background: var(--rest); }
.legend .sw { display: inline-block; width: .8em; height: .8em; margin: 0 .3em 0 .8em; vertical-align: -.05em; border-radius: 2px; }
.sw.kept { background: var(--kept); } .sw.dropped { background: var(--dropped); } .sw.synth { background: var(--synth); }
.sw.other { background: var(--other); } .sw.rest { background: var(--rest); }
.axis { display: flex; justify-content: space-between; color: var(--muted); margin: .2rem 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th.r, td.r { text-align: right; white-space: nowrap; }
td.barcol, th.barcol { width: 30%; }
details { margin: .5rem 0; }
footer { color: var(--muted); margin-top: 2rem; font-size: .85rem; }
</style>
"#;
