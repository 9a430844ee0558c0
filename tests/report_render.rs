//! Golden tests for every renderer over the fixture reports, plus the
//! properties the snapshots alone would not catch.

mod report_fixtures;

use scratchify::report::{
    self, HumanOptions, MarkdownOptions, Report, ReportError, SCHEMA_VERSION, format_bytes,
};

fn human(r: &Report) -> String {
    report::render_human(r, &HumanOptions::default())
}

#[test]
fn golden_outputs() {
    for (name, r) in report_fixtures::all() {
        insta::assert_snapshot!(format!("{name}_human"), human(&r));
        insta::assert_snapshot!(format!("{name}_json"), report::to_json(&r));
        insta::assert_snapshot!(
            format!("{name}_markdown"),
            report::render_markdown(
                &r,
                &MarkdownOptions {
                    link_base: Some("https://github.com/acme/shop/blob/0123abc".into()),
                    ..MarkdownOptions::default()
                }
            )
        );
        insta::assert_snapshot!(format!("{name}_sarif"), report::render_sarif(&r));
        insta::assert_snapshot!(format!("{name}_spdx"), report::render_spdx(&r));
        insta::assert_snapshot!(format!("{name}_cyclonedx"), report::render_cyclonedx(&r));
        insta::assert_snapshot!(format!("{name}_html"), report::render_html(&r));
    }
    let colored = report::render_human(
        &report_fixtures::flask_alpine(),
        &HumanOptions {
            color: true,
            width: 100,
        },
    );
    insta::assert_snapshot!("flask_alpine_human_color", colored);
}

#[test]
fn colour_only_when_asked() {
    let mut failures = Vec::new();
    for (name, r) in report_fixtures::all() {
        let plain = human(&r);
        if plain.contains('\u{1b}') {
            failures.push(format!("{name}: escape character in uncoloured output"));
        }
        let colored = report::render_human(
            &r,
            &HumanOptions {
                color: true,
                width: 100,
            },
        );
        if !colored.contains("\u{1b}[") {
            failures.push(format!("{name}: no ANSI colour in coloured output"));
        }
        // Colour is the only difference: strip SGR sequences and compare.
        if strip_sgr(&colored) != plain {
            failures.push(format!("{name}: coloured output differs beyond colour"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

fn strip_sgr(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Everything in the report shows up in the human and markdown outputs,
/// with the Dockerfile snippet of each dropped item's line.
#[test]
fn human_and_markdown_show_every_item() {
    let mut failures = Vec::new();
    for (name, r) in report_fixtures::all().into_iter().take(2) {
        let h = human(&r);
        let md = report::render_markdown(&r, &MarkdownOptions::default());
        for d in &r.dropped {
            if !h.contains(&d.name) {
                failures.push(format!("{name}: human lacks dropped {}", d.name));
            }
            if !md.contains(&format!("`{}`", d.name)) {
                failures.push(format!("{name}: markdown lacks dropped {}", d.name));
            }
            if let Some(loc) = &d.location {
                let line = r
                    .dockerfile
                    .text
                    .lines()
                    .nth(loc.line as usize - 1)
                    .unwrap_or("");
                if !h.contains(line.trim_end()) {
                    failures.push(format!("{name}: human lacks the snippet line {line:?}"));
                }
            }
        }
        for k in &r.kept {
            if !h.contains(&k.name) || !md.contains(&format!("`{}`", k.name)) {
                failures.push(format!("{name}: kept {} missing", k.name));
            }
        }
        for w in &r.warnings {
            if !h.contains(&w.code) {
                failures.push(format!("{name}: human lacks warning {}", w.code));
            }
        }
        let t = &r.totals;
        for total in [
            t.docker_build_estimate_bytes,
            t.minimal_bytes,
            t.waste_bytes(),
        ] {
            let shown = format_bytes(total);
            if !h.contains(&shown) || !md.contains(&shown) {
                failures.push(format!("{name}: total {shown} missing"));
            }
        }
        if !md.contains(&t.waste_percent_text()) {
            failures.push(format!("{name}: saved percentage missing from markdown"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn nginx_chain_reads_down_to_the_dockerfile_line() {
    let r = report_fixtures::nginx_debian();
    let libssl = r.kept.iter().find(|k| k.name == "libssl3").unwrap();
    assert_eq!(
        r.chain_text(libssl),
        "libssl3 <- nginx <- apt-get install nginx (Dockerfile:5-7)"
    );
    let h = human(&r);
    assert!(h.contains("libssl3 3.0.15-1~deb12u1"), "{h}");
    assert!(
        h.contains("<- nginx <- apt-get install nginx (Dockerfile:5-7)"),
        "{h}"
    );
}

#[test]
fn markdown_links_to_dockerfile_lines_only_with_a_base() {
    let r = report_fixtures::flask_alpine();
    let linked = report::render_markdown(
        &r,
        &MarkdownOptions {
            link_base: Some("https://github.com/acme/shop/blob/0123abc/".into()),
            ..MarkdownOptions::default()
        },
    );
    assert!(
        linked.contains(
            "[services/api/Dockerfile:2](https://github.com/acme/shop/blob/0123abc/services/api/Dockerfile#L2)"
        ),
        "{linked}"
    );
    let plain = report::render_markdown(&r, &MarkdownOptions::default());
    assert!(!plain.contains("](http"), "{plain}");
    assert!(plain.contains("services/api/Dockerfile:2"));
    // Collapsible sections, closed properly.
    assert_eq!(
        plain.matches("<details>").count(),
        plain.matches("</details>").count()
    );
}

#[test]
fn markdown_limits_rows() {
    let r = report_fixtures::flask_alpine();
    let md = report::render_markdown(
        &r,
        &MarkdownOptions {
            link_base: None,
            max_rows: 3,
        },
    );
    let dropped_rows = r.dropped.len() - 3;
    assert!(md.contains(&format!("_and {dropped_rows} more;")), "{md}");
    // The three largest dropped items are the ones shown.
    assert!(md.contains("`gcc`") && md.contains("`pip`") && md.contains("`binutils`"));
    assert!(!md.contains("`ssl_client`"));
}

#[test]
fn hostile_text_is_neutralised() {
    let r = report_fixtures::hostile();
    let h = human(&r);
    assert!(
        !h.contains('\u{1b}'),
        "terminal escape passed through: {h:?}"
    );
    // Markup may appear only inside code spans, where it is literal text.
    let md = report::render_markdown(&r, &MarkdownOptions::default());
    let outside = without_code_spans(&md);
    assert!(
        !outside.contains("<script>") && !outside.contains("<b>"),
        "{outside}"
    );
    assert!(md.contains("`<script>alert(1)</script>`"), "{md}");
    let html = report::render_html(&r);
    assert!(!html.contains("<script") && !html.contains("<b>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

/// The text outside CommonMark code spans (a run of n backticks up to the
/// next run of exactly n).
fn without_code_spans(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let run_at = |i: usize| chars[i..].iter().take_while(|&&c| c == '`').count();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let n = run_at(i);
        let mut j = i + n;
        let mut closed = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let m = run_at(j);
                if m == n {
                    closed = Some(j + m);
                    break;
                }
                j += m;
            } else {
                j += 1;
            }
        }
        match closed {
            Some(end) => i = end,
            None => {
                out.extend(&chars[i..i + n]);
                i += n;
            }
        }
    }
    out
}

#[test]
fn json_round_trips_and_checks_the_version() {
    for (name, r) in report_fixtures::all() {
        let json = report::to_json(&r);
        let back = report::from_json(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, r, "{name}");
    }
    let mut v: serde_json::Value =
        serde_json::from_str(&report::to_json(&report_fixtures::nginx_debian())).unwrap();
    v["schema_version"] = serde_json::json!(SCHEMA_VERSION + 1);
    match report::from_json(&v.to_string()) {
        Err(ReportError::UnsupportedSchemaVersion { found }) => {
            assert_eq!(found, u64::from(SCHEMA_VERSION + 1))
        }
        other => panic!("expected a version error, got {other:?}"),
    }
    v.as_object_mut().unwrap().remove("schema_version");
    assert!(matches!(
        report::from_json(&v.to_string()),
        Err(ReportError::Json(_))
    ));
    assert!(matches!(report::from_json("{"), Err(ReportError::Json(_))));
}

#[test]
fn renderers_do_not_depend_on_record_order() {
    let mut failures = Vec::new();
    for (name, r) in report_fixtures::all() {
        let mut reversed = r.clone();
        reversed.kept.reverse();
        reversed.dropped.reverse();
        reversed.synthesized.reverse();
        reversed.warnings.reverse();
        if human(&r) != human(&reversed) {
            failures.push(format!("{name}: human"));
        }
        if report::render_markdown(&r, &MarkdownOptions::default())
            != report::render_markdown(&reversed, &MarkdownOptions::default())
        {
            failures.push(format!("{name}: markdown"));
        }
        if report::render_sarif(&r) != report::render_sarif(&reversed) {
            failures.push(format!("{name}: sarif"));
        }
        if report::render_html(&r) != report::render_html(&reversed) {
            failures.push(format!("{name}: html"));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn explain_answers_from_the_report() {
    let r = report_fixtures::nginx_debian();
    let why = report::explain_kept(&r, "libssl3").expect("libssl3 is kept");
    assert!(
        why.contains("libssl3 <- nginx <- apt-get install nginx (Dockerfile:5-7)"),
        "{why}"
    );
    assert!(
        why.contains(
            "   6 |  && apt-get install -y --no-install-recommends nginx ca-certificates curl \\"
        ),
        "{why}"
    );
    let file = report::explain_kept(&r, "usr/share/nginx/html/index.html").expect("file");
    assert!(
        file.contains("COPY site/ /usr/share/nginx/html/ (Dockerfile:12)"),
        "{file}"
    );
    assert!(report::explain_kept(&r, "gcc").is_none());

    let why = report::explain_dropped(&r, "perl-base").expect("perl-base is dropped");
    assert!(why.contains("rule script-only"), "{why}");
    assert!(why.contains("wanted by debconf"), "{why}");
    assert!(report::explain_dropped(&r, "nginx").is_none());
}
