//! The HTML page rendered by a real browser: headless Chromium (Debian
//! package `chromium`) loads each fixture's page from a file and dumps the
//! DOM it built; the totals and the bars must be there as the report says.
//! Without Chromium this test fails (it never skips).

mod report_fixtures;

use std::path::{Path, PathBuf};
use std::process::Command;

use scratchify::report::{self, Report, format_bytes};

fn chromium() -> PathBuf {
    let candidates = ["chromium", "chromium-browser"];
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in candidates {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "headless Chromium is required for the HTML report test but `chromium` is not on PATH: \
         install the Debian package `chromium` (tests/run installs it)"
    );
}

fn dump_dom(browser: &Path, page: &Path, profile: &Path) -> String {
    let url = format!("file://{}", page.display());
    let output = Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", browser.display()));
    assert!(
        output.status.success(),
        "chromium failed on {url} ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let dom = String::from_utf8(output.stdout).expect("the DOM is UTF-8");
    assert!(dom.contains("</html>"), "no DOM dumped for {url}:\n{dom}");
    dom
}

/// The start tag and the text right after it, of the element with this id.
fn element<'a>(dom: &'a str, id: &str) -> Option<(&'a str, &'a str)> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let start = dom[..at].rfind('<')?;
    let tag_end = at + dom[at..].find('>')?;
    let text_end = tag_end + 1 + dom[tag_end + 1..].find('<')?;
    Some((&dom[start..=tag_end], &dom[tag_end + 1..text_end]))
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = at + tag[at..].find('"')?;
    Some(&tag[at..end])
}

/// Segment widths (percent) of a bar element, in order, and their titles.
fn segments(dom: &str, id: &str) -> Vec<(f64, String)> {
    let Some(at) = dom.find(&format!("id=\"{id}\"")) else {
        return Vec::new();
    };
    let end = at + dom[at..].find("</div>").unwrap_or(dom.len() - at);
    let bar = &dom[at..end];
    bar.split("<span ")
        .skip(1)
        .filter_map(|seg| {
            let width: f64 = attribute(&format!(" {seg}"), "style")?
                .strip_prefix("width:")?
                .trim_end_matches(';')
                .trim()
                .strip_suffix('%')?
                .parse()
                .ok()?;
            let title = attribute(&format!(" {seg}"), "title")
                .unwrap_or("")
                .to_string();
            Some((width, title))
        })
        .collect()
}

fn check(name: &str, r: &Report, dom: &str, failures: &mut Vec<String>) {
    let t = &r.totals;
    let mut expect = |id: &str, text: String, bytes: Option<u64>| match element(dom, id) {
        None => failures.push(format!("{name}: no element #{id} in the DOM")),
        Some((tag, shown)) => {
            if shown.trim() != text {
                failures.push(format!("{name}: #{id} shows {shown:?}, expected {text:?}"));
            }
            if let Some(b) = bytes
                && attribute(tag, "data-bytes") != Some(b.to_string().as_str())
            {
                failures.push(format!("{name}: #{id} data-bytes is not {b}: {tag}"));
            }
        }
    };
    expect(
        "total-before",
        format_bytes(t.docker_build_estimate_bytes),
        Some(t.docker_build_estimate_bytes),
    );
    expect(
        "total-after",
        format_bytes(t.minimal_bytes),
        Some(t.minimal_bytes),
    );
    expect(
        "total-saved",
        format_bytes(t.waste_bytes()),
        Some(t.waste_bytes()),
    );
    expect("saved-percent", t.waste_percent_text(), None);
    expect("packages-before", t.packages_before.to_string(), None);
    expect("packages-after", t.packages_after.to_string(), None);
    expect("files-before", t.files_before.to_string(), None);
    expect("files-after", t.files_after.to_string(), None);
    let left = |names: &[String]| {
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    expect("shells-left", left(&t.shells_left), None);
    expect(
        "package-managers-left",
        left(&t.package_managers_left),
        None,
    );
    expect("compilers-left", left(&t.compilers_left), None);
    if dom.contains("<script") {
        failures.push(format!("{name}: the page has a script"));
    }
}

#[test]
fn chromium_renders_the_totals_and_bars() {
    let browser = chromium();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut failures = Vec::new();
    for (name, r) in report_fixtures::all() {
        let page = dir.path().join(format!("{name}.html"));
        std::fs::write(&page, report::render_html(&r)).expect("write page");
        let dom = dump_dom(&browser, &page, &dir.path().join(format!("profile-{name}")));
        check(name, &r, &dom, &mut failures);

        if name == "hostile" {
            // Nothing to draw, and nothing from the report became markup.
            if !segments(&dom, "bar-before").is_empty() {
                failures.push("hostile: segments drawn for an empty report".into());
            }
            if dom.contains("<b>") || dom.contains("<script>") {
                failures.push("hostile: report text became markup".into());
            }
            continue;
        }
        // The larger bar spans the whole width; the smaller one its share.
        let before = segments(&dom, "bar-before");
        let after = segments(&dom, "bar-after");
        let sum = |s: &[(f64, String)]| s.iter().map(|(w, _)| w).sum::<f64>();
        if (sum(&before) - 100.0).abs() > 0.05 {
            failures.push(format!("{name}: before bar covers {}%", sum(&before)));
        }
        let before_items: u64 = r
            .kept
            .iter()
            .map(|k| k.size_bytes)
            .chain(r.dropped.iter().map(|d| d.bytes_saved))
            .sum::<u64>()
            .max(r.totals.docker_build_estimate_bytes);
        let after_share = r.totals.minimal_bytes as f64 * 100.0 / before_items as f64;
        if (sum(&after) - after_share).abs() > 0.2 {
            failures.push(format!(
                "{name}: after bar covers {}%, expected about {after_share:.1}%",
                sum(&after)
            ));
        }
        // The largest dropped item is a segment of the before bar, and no
        // dropped item is in the after bar.
        let largest = r.dropped.iter().max_by_key(|d| d.bytes_saved).unwrap();
        if !before.iter().any(|(_, t)| t.starts_with(&largest.name)) {
            failures.push(format!(
                "{name}: {} not drawn in the before bar",
                largest.name
            ));
        }
        if after.iter().any(|(_, t)| t.contains("dropped")) {
            failures.push(format!("{name}: a dropped item in the after bar"));
        }
        // One row per Dockerfile line with something on it.
        for d in r.dropped.iter().filter_map(|d| d.location.as_ref()) {
            if !dom.contains(&format!("id=\"line-{}\"", d.line)) {
                failures.push(format!("{name}: no bar for line {}", d.line));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
