//! The SARIF and SBOM outputs validated against the vendored JSON schemas
//! (tests/schemas/), with `$ref`s resolved from the vendored files only, and
//! the structural promises the schemas cannot express.
mod schema_support;

mod report_fixtures;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use jsonschema::Validator;
use scratchify::report::{self, Report};
use serde_json::{Value, json};

use schema_support::validator;

fn sarif_schema() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| validator("sarif-schema-2.1.0.json"))
}

fn spdx_schema() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| validator("spdx-2.3-schema.json"))
}

fn cyclonedx_schema() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| validator("cyclonedx-bom-1.5.schema.json"))
}

fn errors(v: &Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("renderer output is JSON")
}

#[test]
fn outputs_validate_against_their_schemas() {
    let mut failures = Vec::new();
    for (name, r) in report_fixtures::all() {
        for (format, validator, text) in [
            ("sarif", sarif_schema(), report::render_sarif(&r)),
            ("spdx", spdx_schema(), report::render_spdx(&r)),
            (
                "cyclonedx",
                cyclonedx_schema(),
                report::render_cyclonedx(&r),
            ),
        ] {
            for e in errors(validator, &parse(&text)) {
                failures.push(format!("{name} {format}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The validators are live: documents broken in ways only the schemas know
/// about are rejected, including through the CycloneDX schema's external
/// SPDX-license reference.
#[test]
fn validators_reject_broken_documents() {
    let r = report_fixtures::nginx_debian();
    let mut failures = Vec::new();

    let mut sarif = parse(&report::render_sarif(&r));
    sarif["runs"][0]["results"][0]["level"] = json!("fatal");
    if errors(sarif_schema(), &sarif).is_empty() {
        failures.push("SARIF with level `fatal` accepted");
    }
    let mut sarif = parse(&report::render_sarif(&r));
    sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        json!(0);
    if errors(sarif_schema(), &sarif).is_empty() {
        failures.push("SARIF with startLine 0 accepted");
    }

    let mut spdx = parse(&report::render_spdx(&r));
    spdx["relationships"][0]["relationshipType"] = json!("LIKES");
    if errors(spdx_schema(), &spdx).is_empty() {
        failures.push("SPDX with relationship LIKES accepted");
    }
    let mut spdx = parse(&report::render_spdx(&r));
    spdx["files"][0]["checksums"] = json!([]);
    if errors(spdx_schema(), &spdx).is_empty() {
        failures.push("SPDX file without checksums accepted");
    }

    let mut cdx = parse(&report::render_cyclonedx(&r));
    cdx["components"][0]["licenses"] = json!([{"license": {"id": "Not-A-Real-License-Id"}}]);
    if errors(cyclonedx_schema(), &cdx).is_empty() {
        failures.push("CycloneDX with an unknown SPDX license id accepted (spdx.schema.json ref not resolved?)");
    }
    cdx["components"][0]["licenses"] = json!([{"license": {"id": "MIT"}}]);
    if !errors(cyclonedx_schema(), &cdx).is_empty() {
        failures.push("CycloneDX with license id MIT rejected");
    }
    let mut cdx = parse(&report::render_cyclonedx(&r));
    cdx["serialNumber"] = json!("urn:uuid:not-a-uuid");
    if errors(cyclonedx_schema(), &cdx).is_empty() {
        failures.push("CycloneDX with a bad serial number accepted");
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn sarif_results_point_into_the_dockerfile() {
    let r = report_fixtures::nginx_debian();
    let sarif = parse(&report::render_sarif(&r));
    let run = &sarif["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let results = run["results"].as_array().unwrap();
    let mut by_name: BTreeMap<String, &Value> = BTreeMap::new();
    let mut failures = Vec::new();
    let lines: Vec<&str> = r.dockerfile.text.lines().collect();
    for res in results {
        let rule = res["ruleId"].as_str().unwrap();
        let index = res["ruleIndex"].as_u64().unwrap() as usize;
        if rules.get(index) != Some(&rule) {
            failures.push(format!("ruleIndex {index} is not {rule}"));
        }
        let loc = &res["locations"][0]["physicalLocation"];
        if loc["artifactLocation"]["uri"] != json!("Dockerfile") {
            failures.push(format!("uri {}", loc["artifactLocation"]["uri"]));
        }
        let region = &loc["region"];
        let line = region["startLine"].as_u64().unwrap() as usize;
        if line == 0 || line > lines.len() {
            failures.push(format!("startLine {line} outside the Dockerfile"));
        }
        if let Some(name) = res["properties"]["name"].as_str() {
            by_name.insert(name.to_string(), res);
        }
    }
    // Build-only and base-image tooling is reported; what scratchify handles
    // by itself (script-only dependencies, pruned docs, replaced steps) is not.
    for expected in ["curl", "libcurl4", "bash", "dash", "apt", "dpkg"] {
        if !by_name.contains_key(expected) {
            failures.push(format!("no result for {expected}"));
        }
    }
    for absent in ["perl-base", "debconf", "/usr/share/doc", "coreutils"] {
        if by_name.contains_key(absent) {
            failures.push(format!("unexpected result for {absent}"));
        }
    }
    // The `curl` result covers exactly the word `curl` on line 6.
    let curl = &by_name["curl"]["locations"][0]["physicalLocation"]["region"];
    let (l, c0, c1) = (
        curl["startLine"].as_u64().unwrap() as usize,
        curl["startColumn"].as_u64().unwrap() as usize,
        curl["endColumn"].as_u64().unwrap() as usize,
    );
    let covered: String = lines[l - 1].chars().skip(c0 - 1).take(c1 - c0).collect();
    assert_eq!(covered, "curl");
    assert_eq!(curl["endLine"], json!(l));
    let warning = results
        .iter()
        .find(|r| r["ruleId"] == json!("plan::no-shell-for-exec"))
        .expect("the warning is a result");
    assert_eq!(warning["level"], json!("note"));
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn sarif_fingerprints_survive_moved_lines() {
    let fingerprints = |r: &Report| -> Vec<(String, String, u64)> {
        let sarif = parse(&report::render_sarif(r));
        sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|res| {
                (
                    res["ruleId"].as_str().unwrap().to_string(),
                    res["partialFingerprints"]["scratchify/v1"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    res["locations"][0]["physicalLocation"]["region"]["startLine"]
                        .as_u64()
                        .unwrap(),
                )
            })
            .collect()
    };
    let before = fingerprints(&report_fixtures::nginx_debian());
    let after = fingerprints(&report_fixtures::nginx_debian_with_prefix(
        "# Web front end\n# maintained by the platform team\n",
    ));
    assert_eq!(before.len(), after.len());
    let unique: BTreeSet<&String> = before.iter().map(|(_, f, _)| f).collect();
    assert_eq!(unique.len(), before.len(), "fingerprints are unique");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.1, a.1, "fingerprint of {} moved with its line", b.0);
        assert_eq!(a.2, b.2 + 2, "{} moved down two lines", b.0);
    }
}

fn spdx_ids(doc: &Value) -> BTreeSet<String> {
    let mut ids = BTreeSet::from(["SPDXRef-DOCUMENT".to_string()]);
    for key in ["packages", "files"] {
        for el in doc[key].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            ids.insert(el["SPDXID"].as_str().unwrap().to_string());
        }
    }
    ids
}

#[test]
fn spdx_relationships_and_purls() {
    let r = report_fixtures::nginx_debian();
    let doc = parse(&report::render_spdx(&r));
    let ids = spdx_ids(&doc);
    let packages = doc["packages"].as_array().unwrap();
    let files = doc["files"].as_array().unwrap();
    assert_eq!(
        ids.len(),
        1 + packages.len() + files.len(),
        "SPDX ids are unique"
    );
    let name_of: BTreeMap<&str, &str> = packages
        .iter()
        .chain(files)
        .map(|p| {
            (
                p["SPDXID"].as_str().unwrap(),
                p["name"].as_str().or(p["fileName"].as_str()).unwrap(),
            )
        })
        .collect();
    let mut depends = BTreeSet::new();
    let mut contains = BTreeSet::new();
    for rel in doc["relationships"].as_array().unwrap() {
        let a = rel["spdxElementId"].as_str().unwrap();
        let b = rel["relatedSpdxElement"].as_str().unwrap();
        assert!(ids.contains(a) && ids.contains(b), "dangling {rel}");
        match rel["relationshipType"].as_str().unwrap() {
            "DEPENDS_ON" => {
                depends.insert((name_of[a], name_of[b]));
            }
            "CONTAINS" => {
                contains.insert(name_of[b]);
            }
            "DESCRIBES" => assert_eq!((a, b), ("SPDXRef-DOCUMENT", "SPDXRef-Image")),
            other => panic!("unexpected relationship {other}"),
        }
    }
    assert!(depends.contains(&("nginx", "libssl3")), "{depends:?}");
    assert!(
        depends.contains(&("libgcc-s1", "gcc-12-base")),
        "{depends:?}"
    );
    assert!(!depends.iter().any(|(_, b)| *b == "curl"));
    for k in &r.kept {
        let shown = if k.name.starts_with('/') {
            format!(".{}", k.name)
        } else {
            k.name.clone()
        };
        assert!(contains.contains(shown.as_str()), "image CONTAINS {shown}");
    }
    for s in &r.synthesized {
        assert!(contains.contains(format!(".{}", s.path).as_str()));
    }
    let nginx = packages
        .iter()
        .find(|p| p["name"] == json!("nginx"))
        .unwrap();
    assert_eq!(
        nginx["externalRefs"][0]["referenceLocator"],
        json!("pkg:deb/debian/nginx@1.22.1-9%2Bdeb12u2?arch=amd64&distro=debian-12")
    );
    // A non-SPDX license name becomes a LicenseRef with its text extracted.
    let gcc_base = packages
        .iter()
        .find(|p| p["name"] == json!("gcc-12-base"))
        .unwrap();
    let license_ref = gcc_base["licenseDeclared"].as_str().unwrap();
    assert!(license_ref.starts_with("LicenseRef-"), "{license_ref}");
    assert!(
        doc["hasExtractedLicensingInfos"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["licenseId"] == json!(license_ref))
    );
}

#[test]
fn cyclonedx_references_resolve() {
    let mut failures = Vec::new();
    for (name, r) in report_fixtures::all() {
        let bom = parse(&report::render_cyclonedx(&r));
        let mut refs = BTreeSet::new();
        refs.insert(
            bom["metadata"]["component"]["bom-ref"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        for c in bom["components"].as_array().unwrap() {
            if !refs.insert(c["bom-ref"].as_str().unwrap().to_string()) {
                failures.push(format!("{name}: duplicate bom-ref {}", c["bom-ref"]));
            }
        }
        for d in bom["dependencies"].as_array().unwrap() {
            let from = d["ref"].as_str().unwrap();
            if !refs.contains(from) {
                failures.push(format!("{name}: dependency of unknown {from}"));
            }
            for to in d["dependsOn"].as_array().unwrap() {
                if !refs.contains(to.as_str().unwrap()) {
                    failures.push(format!("{name}: {from} depends on unknown {to}"));
                }
            }
        }
    }
    let bom = parse(&report::render_cyclonedx(&report_fixtures::flask_alpine()));
    let flask = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == json!("flask"))
        .unwrap();
    assert_eq!(flask["purl"], json!("pkg:pypi/flask@3.0.0"));
    let deps = bom["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ref"] == json!("pypi:flask"))
        .unwrap();
    for dep in ["pypi:werkzeug", "pypi:jinja2", "apk:python3"] {
        assert!(deps["dependsOn"].as_array().unwrap().contains(&json!(dep)));
    }
    let app = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == json!("/app/app.py"))
        .unwrap();
    assert_eq!(app["type"], json!("file"));
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn sboms_are_deterministic_and_dated_by_source_date_epoch() {
    let mut r = report_fixtures::nginx_debian();
    let spdx = parse(&report::render_spdx(&r));
    let cdx = parse(&report::render_cyclonedx(&r));
    assert_eq!(
        spdx["creationInfo"]["created"],
        json!("1970-01-01T00:00:00Z")
    );
    assert_eq!(cdx["metadata"]["timestamp"], json!("1970-01-01T00:00:00Z"));
    // Same report, same bytes.
    assert_eq!(report::render_spdx(&r), report::render_spdx(&r.clone()));

    r.source_date_epoch = 1_700_000_000;
    let later_spdx = parse(&report::render_spdx(&r));
    let later_cdx = parse(&report::render_cyclonedx(&r));
    assert_eq!(
        later_spdx["creationInfo"]["created"],
        json!("2023-11-14T22:13:20Z")
    );
    assert_eq!(
        later_cdx["metadata"]["timestamp"],
        json!("2023-11-14T22:13:20Z")
    );
    // The identity follows the image digest, not the date.
    assert_eq!(later_spdx["documentNamespace"], spdx["documentNamespace"]);
    assert_eq!(later_cdx["serialNumber"], cdx["serialNumber"]);

    r.image.as_mut().unwrap().digest = format!("sha256:{}", "0".repeat(64));
    let other = parse(&report::render_cyclonedx(&r));
    assert_ne!(other["serialNumber"], cdx["serialNumber"]);
    let other_spdx = parse(&report::render_spdx(&r));
    assert_ne!(other_spdx["documentNamespace"], spdx["documentNamespace"]);

    // Without an image (audit), the identity is the report's content hash.
    let audit = report_fixtures::flask_alpine();
    let a = parse(&report::render_cyclonedx(&audit));
    let mut changed = audit.clone();
    changed.kept[0].size_bytes += 1;
    let b = parse(&report::render_cyclonedx(&changed));
    assert_ne!(a["serialNumber"], b["serialNumber"]);
    assert_eq!(
        a["serialNumber"],
        parse(&report::render_cyclonedx(&audit))["serialNumber"]
    );
}

// ------------------------------------------------------------ any report

mod arbitrary {
    use proptest::prelude::*;
    use scratchify::report::{
        BaseImage, DockerfileSource, DroppedItem, DroppedKind, Finding, ImageSummary, KeptItem,
        KeptKind, LayerSummary, Location, Report, Request, Severity, SynthesizedItem, Tool, Totals,
    };
    use scratchify::source::Span;

    /// Any text, biased towards characters that break renderers.
    pub fn text(max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                4 => any::<char>(),
                2 => prop::sample::select(vec![
                    '\n', '|', '`', '<', '>', '&', '"', '\'', '\u{1b}', '/', ' ', 'é', '%', '#',
                ]),
                4 => prop::char::range('a', 'z'),
            ],
            0..max,
        )
        .prop_map(String::from_iter)
    }

    fn id() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec!["a", "b", "c", "", "scratchify:image", "item"])
                .prop_map(str::to_string),
            text(8),
        ]
    }

    fn hex(len: usize) -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            prop::collection::vec(prop::sample::select(b"0123456789abcdef".to_vec()), len)
                .prop_map(|b| Some(String::from_utf8(b).unwrap())),
            text(70).prop_map(Some),
        ]
    }

    fn location() -> impl Strategy<Value = Option<Location>> {
        let numbers = prop_oneof![Just(0u32), 1u32..30, any::<u32>()];
        prop::option::of(
            (
                prop_oneof![Just("Dockerfile".to_string()), text(10)],
                numbers.clone(),
                numbers.clone(),
                numbers.clone(),
                numbers,
                prop::option::of((any::<usize>(), 0usize..300, 0usize..300)),
            )
                .prop_map(|(file, line, column, end_line, end_column, span)| {
                    Location {
                        file,
                        line,
                        column,
                        end_line,
                        end_column,
                        span: span.map(|(big, a, b)| {
                            if big % 3 == 0 {
                                Span::new(big, a)
                            } else {
                                Span::new(a, b)
                            }
                        }),
                    }
                }),
        )
    }

    fn size() -> impl Strategy<Value = u64> {
        prop_oneof![Just(0u64), 0u64..10_000_000, any::<u64>()]
    }

    fn license() -> impl Strategy<Value = Option<String>> {
        prop::option::of(prop_oneof![
            prop::sample::select(vec![
                "MIT",
                "GPL-2+",
                "LicenseRef-x",
                "Apache-2.0 OR MIT",
                "(MIT",
                "Public Domain",
                "",
            ])
            .prop_map(str::to_string),
            text(12),
        ])
    }

    fn kept() -> impl Strategy<Value = KeptItem> {
        (
            (id(), any::<bool>(), text(12), prop::option::of(text(8))),
            (
                size(),
                prop::option::of(size()),
                prop::option::of(text(20)),
                license(),
            ),
            (hex(64), hex(40)),
            (
                prop::collection::vec(id(), 0..3),
                prop::option::of((text(20), location())),
                prop::collection::vec(id(), 0..3),
            ),
        )
            .prop_map(
                |(
                    (id, file, name, version),
                    (size_bytes, files, purl, license),
                    (sha256, sha1),
                    (chain, request, depends_on),
                )| KeptItem {
                    id,
                    kind: if file {
                        KeptKind::File
                    } else {
                        KeptKind::Package
                    },
                    name,
                    version,
                    arch: None,
                    size_bytes,
                    files,
                    purl,
                    license,
                    sha256,
                    sha1,
                    chain,
                    request: request.map(|(text, location)| Request { text, location }),
                    depends_on,
                },
            )
    }

    fn dropped() -> impl Strategy<Value = DroppedItem> {
        (
            prop::sample::select(vec![
                DroppedKind::Package,
                DroppedKind::File,
                DroppedKind::RunStep,
                DroppedKind::BaseContent,
                DroppedKind::Account,
                DroppedKind::Stage,
            ]),
            text(12),
            prop::option::of(text(8)),
            size(),
            prop_oneof![
                prop::sample::select(vec![
                    "build-only/compiler",
                    "build-only/shell",
                    "base/shell",
                    "script-only",
                    "unsupported",
                    "build-only/new-thing",
                ])
                .prop_map(str::to_string),
                text(10),
            ],
            text(30),
            location(),
            prop::option::of(text(8)),
        )
            .prop_map(
                |(kind, name, version, bytes_saved, rule, reason, location, wanted_by)| {
                    DroppedItem {
                        kind,
                        name,
                        version,
                        bytes_saved,
                        rule,
                        reason,
                        location,
                        wanted_by,
                    }
                },
            )
    }

    fn synthesized() -> impl Strategy<Value = SynthesizedItem> {
        (
            text(12),
            size(),
            hex(64),
            hex(40),
            text(20),
            prop::option::of(text(8)),
            location(),
        )
            .prop_map(
                |(path, size_bytes, sha256, sha1, reason, replaces, location)| SynthesizedItem {
                    path,
                    size_bytes,
                    sha256,
                    sha1,
                    reason,
                    replaces,
                    location,
                },
            )
    }

    fn finding() -> impl Strategy<Value = Finding> {
        (
            prop::sample::select(vec![Severity::Note, Severity::Warning, Severity::Error]),
            text(10),
            text(30),
            prop::option::of(text(10)),
            prop::option::of(text(10)),
            location(),
        )
            .prop_map(|(severity, code, message, label, help, location)| Finding {
                severity,
                code,
                message,
                label,
                help,
                location,
            })
    }

    pub fn report() -> impl Strategy<Value = Report> {
        (
            (text(120), any::<u64>(), text(6)),
            prop::option::of((
                text(10),
                prop::option::of(text(6)),
                size(),
                size(),
                location(),
            )),
            prop::option::of((
                text(20),
                size(),
                size(),
                prop::collection::vec((text(10), size(), size(), text(10)), 0..3),
            )),
            (
                size(),
                size(),
                size(),
                size(),
                prop::collection::vec(text(6), 0..2),
            ),
            prop::collection::vec(kept(), 0..6),
            prop::collection::vec(dropped(), 0..6),
            prop::collection::vec(synthesized(), 0..3),
            prop::collection::vec(finding(), 0..3),
        )
            .prop_map(
                |(
                    (dockerfile, epoch, version),
                    base,
                    image,
                    (t1, t2, t3, t4, left),
                    kept,
                    dropped,
                    synthesized,
                    warnings,
                )| {
                    Report {
                        schema_version: scratchify::report::SCHEMA_VERSION,
                        tool: Tool {
                            name: "scratchify".into(),
                            version,
                        },
                        source_date_epoch: epoch,
                        dockerfile: DockerfileSource {
                            path: "Dockerfile".into(),
                            text: dockerfile,
                        },
                        base: base.map(|(reference, release, size_bytes, packages, location)| {
                            BaseImage {
                                reference,
                                release,
                                size_bytes,
                                packages,
                                location,
                            }
                        }),
                        image: image.map(|(digest, c, u, layers)| ImageSummary {
                            digest,
                            compressed_bytes: c,
                            uncompressed_bytes: u,
                            layers: layers
                                .into_iter()
                                .map(|(digest, c, u, content)| LayerSummary {
                                    digest,
                                    compressed_bytes: c,
                                    uncompressed_bytes: u,
                                    content,
                                })
                                .collect(),
                        }),
                        totals: Totals {
                            docker_build_estimate_bytes: t1,
                            minimal_bytes: t2,
                            packages_before: t3,
                            packages_after: t4,
                            files_before: t1 / 7,
                            files_after: t2 / 7,
                            shells_left: left.clone(),
                            package_managers_left: left,
                            compilers_left: vec![],
                        },
                        kept,
                        dropped,
                        synthesized,
                        warnings,
                    }
                },
            )
    }
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 96, ..Default::default() })]

    /// Any report renders in every format without panicking, the JSON reads
    /// back to the same report, and SARIF and the SBOMs stay schema-valid.
    #[test]
    fn any_report_renders_and_validates(r in arbitrary::report(), width in 0usize..200) {
        let _ = report::render_human(&r, &report::HumanOptions { color: width % 2 == 0, width });
        let _ = report::render_markdown(&r, &report::MarkdownOptions { link_base: Some("https://example.invalid/x".into()), max_rows: width % 5 });
        let _ = report::render_html(&r);
        let _ = report::explain_kept(&r, "a");
        let _ = report::explain_dropped(&r, "a");
        proptest::prop_assert_eq!(report::from_json(&report::to_json(&r)).ok(), Some(r.clone()));
        for (format, validator, text) in [
            ("sarif", sarif_schema(), report::render_sarif(&r)),
            ("spdx", spdx_schema(), report::render_spdx(&r)),
            ("cyclonedx", cyclonedx_schema(), report::render_cyclonedx(&r)),
        ] {
            let errs = errors(validator, &parse(&text));
            proptest::prop_assert!(errs.is_empty(), "{} invalid: {:?}\n{}", format, errs, text);
        }
    }
}
