//! src/report/SCHEMA.md stays true: every field the JSON report writes is
//! documented, the example is a report this version reads, and the rule
//! table agrees with the rule catalogue the SARIF renderer uses.

mod report_fixtures;

use std::collections::BTreeSet;

use scratchify::report::{self, Level};
use serde_json::Value;

fn schema_doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/report/SCHEMA.md");
    std::fs::read_to_string(path).expect("SCHEMA.md")
}

fn keys(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[test]
fn every_written_field_and_enum_value_is_documented() {
    let doc = schema_doc();
    let mut written = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for (_, r) in report_fixtures::all() {
        let v: Value = serde_json::from_str(&report::to_json(&r)).unwrap();
        keys(&v, &mut written);
        for section in ["kept", "dropped"] {
            for item in v[section].as_array().unwrap() {
                kinds.insert(item["kind"].as_str().unwrap().to_string());
            }
        }
        for w in v["warnings"].as_array().unwrap() {
            kinds.insert(w["severity"].as_str().unwrap().to_string());
        }
    }
    let missing: Vec<_> = written
        .iter()
        .chain(&kinds)
        .filter(|k| !doc.contains(&format!("`{k}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "not documented in SCHEMA.md: {missing:?}"
    );
    // The fixtures must exercise the optional fields, or this test proves little.
    for key in [
        "span",
        "wanted_by",
        "replaces",
        "purl",
        "sha1",
        "layers",
        "help",
    ] {
        assert!(written.contains(key), "no fixture writes `{key}`");
    }
}

#[test]
fn the_example_is_a_readable_report() {
    let doc = schema_doc();
    let start = doc.find("```json\n").expect("an example") + "```json\n".len();
    let end = start + doc[start..].find("```").expect("closed example");
    let example = &doc[start..end];
    let r = report::from_json(example).unwrap_or_else(|e| panic!("example does not read: {e}"));
    assert_eq!(r.schema_version, report::SCHEMA_VERSION);
    // And its chain reads as the prose above it says.
    let libssl = &r.kept[0];
    assert_eq!(
        r.chain_text(libssl),
        "libssl3 <- deb:nginx <- apt-get install nginx (Dockerfile:5-7)"
    );
}

#[test]
fn rule_table_matches_the_catalogue() {
    let doc = schema_doc();
    let table = doc
        .split("Rule ids.")
        .nth(1)
        .and_then(|rest| rest.split("## Synthesized").next())
        .expect("rule table");
    let mut failures = Vec::new();
    let mut rows = 0;
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (ids, sarif) = (cells[1], cells[3]);
        for id in ids.split(", ") {
            rows += 1;
            let id = id.trim_matches('`');
            let info = report::rule_info(id);
            let expected = match (info.code_scanning, info.level) {
                (false, _) => "no",
                (true, Level::Note) => "note",
                (true, Level::Warning) => "warning",
                (true, Level::Error) => "error",
            };
            if !info.catalogued || sarif != expected {
                failures.push(format!(
                    "{id}: table says {sarif}, catalogue says {expected} (catalogued: {})",
                    info.catalogued
                ));
            }
        }
    }
    assert!(rows >= 15, "only {rows} rule rows parsed");
    assert!(failures.is_empty(), "{failures:#?}");
}
