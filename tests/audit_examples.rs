//! `scratchify audit` on the examples, against the real Debian repository
//! named by the host's apt sources (indices only; the scratchify cache makes
//! later runs fast), and on the Alpine examples with no network at all.
//!
//! Index sizes and versions move with point releases, so the JSON snapshots
//! redact them (versions, purls, digests, byte counts, and the version
//! constraints quoted in reasons) by rewriting the JSON value before insta
//! sees it; everything else (which packages, which rules, which chains and
//! lines) is compared exactly. The hard asserts below check the facts
//! whatever the snapshot says.
mod schema_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Output;
use std::sync::OnceLock;

use assert_cmd::Command;
use scratchify::report::{self, DroppedKind, KeptKind, Report};
use serde_json::{Value, json};

const DEBIAN_EXAMPLES: [&str; 4] = ["nginx", "curl", "redis", "python-web"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratchify() -> Command {
    let mut c = Command::cargo_bin("scratchify").expect("the scratchify binary");
    c.current_dir(root()).env("NO_COLOR", "1");
    c
}

fn run(args: &[&str]) -> Output {
    scratchify()
        .args(args)
        .output()
        .expect("running scratchify")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn dockerfile(example: &str) -> String {
    format!("examples/{example}/Dockerfile")
}

/// `audit --format json` of an example; exit 0 required.
fn audit_report(example: &str) -> Report {
    let out = run(&["audit", "--format", "json", &dockerfile(example)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "audit {example} failed:\n{}",
        text(&out.stderr)
    );
    report::from_json(&text(&out.stdout)).expect("audit writes a report this version reads")
}

/// Reports of the Debian examples, made once per test binary.
fn debian_reports() -> &'static BTreeMap<&'static str, Report> {
    static R: OnceLock<BTreeMap<&'static str, Report>> = OnceLock::new();
    R.get_or_init(|| {
        DEBIAN_EXAMPLES
            .iter()
            .map(|e| (*e, audit_report(e)))
            .collect()
    })
}

fn constraint_re() -> &'static regex::Regex {
    static R: OnceLock<regex::Regex> = OnceLock::new();
    R.get_or_init(|| regex::Regex::new(r"\((?:<<|<=|=|>=|>>) ?[^)]*\)").expect("regex"))
}

/// Replace what changes with a point release.
fn redact(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                match k.as_str() {
                    "version" | "purl" | "sha256" | "sha1" if !val.is_null() => {
                        *val = json!("[redacted]")
                    }
                    "size_bytes"
                    | "bytes_saved"
                    | "docker_build_estimate_bytes"
                    | "minimal_bytes" => *val = json!("[bytes]"),
                    "reason" | "message" => {
                        if let Some(s) = val.as_str() {
                            *val = json!(constraint_re().replace_all(s, "(…)"));
                        }
                    }
                    _ => redact(val),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

fn snapshot_value(r: &Report) -> Value {
    let mut v: Value = serde_json::from_str(&report::to_json(r)).expect("json");
    redact(&mut v);
    v
}

#[test]
fn golden_nginx() {
    insta::assert_json_snapshot!("nginx", snapshot_value(&debian_reports()["nginx"]));
}

#[test]
fn golden_curl() {
    insta::assert_json_snapshot!("curl", snapshot_value(&debian_reports()["curl"]));
}

#[test]
fn golden_redis() {
    insta::assert_json_snapshot!("redis", snapshot_value(&debian_reports()["redis"]));
}

#[test]
fn golden_python_web() {
    insta::assert_json_snapshot!(
        "python_web",
        snapshot_value(&debian_reports()["python-web"])
    );
}

/// What must hold for every report, whatever the index says: the dropped
/// bytes are exactly the waste (each package counted once), every kept
/// package leads back to a Dockerfile line, every pruned package names the
/// edge that wanted it, and nothing the goal forbids is left.
#[test]
fn reports_add_up() {
    let mut failures = Vec::new();
    for (example, r) in debian_reports() {
        let t = &r.totals;
        let dropped_bytes: u64 = r.dropped.iter().map(|d| d.bytes_saved).sum();
        if dropped_bytes != t.waste_bytes() {
            failures.push(format!(
                "{example}: dropped items add up to {dropped_bytes}, waste is {}",
                t.waste_bytes()
            ));
        }
        if t.docker_build_estimate_bytes <= t.minimal_bytes {
            failures.push(format!("{example}: estimate not above minimal: {t:?}"));
        }
        let base = r.base.as_ref().map_or(0, |b| b.size_bytes);
        if base < 20_000_000 || base >= t.docker_build_estimate_bytes {
            failures.push(format!(
                "{example}: base estimate {base} out of range (estimate {})",
                t.docker_build_estimate_bytes
            ));
        }
        let dropped_packages = r
            .dropped
            .iter()
            .filter(|d| matches!(d.kind, DroppedKind::Package | DroppedKind::BaseContent))
            .filter(|d| d.version.is_some())
            .count() as u64;
        if t.packages_before != t.packages_after + dropped_packages {
            failures.push(format!(
                "{example}: {} packages before, {} after, {dropped_packages} dropped",
                t.packages_before, t.packages_after
            ));
        }
        let ids: BTreeSet<&str> = r.kept.iter().map(|k| k.id.as_str()).collect();
        for k in &r.kept {
            let line = k
                .request
                .as_ref()
                .and_then(|q| q.location.as_ref())
                .map(|l| l.line);
            if line.is_none() {
                failures.push(format!("{example}: {} has no Dockerfile line", k.id));
            }
            for id in k.chain.iter().chain(&k.depends_on) {
                if !ids.contains(id.as_str()) {
                    failures.push(format!("{example}: {} refers to unknown {id}", k.id));
                }
            }
            if k.kind == KeptKind::Package
                && !(k.size_bytes > 0 && k.version.is_some() && k.sha256.is_some())
            {
                failures.push(format!("{example}: {} lacks index data", k.id));
            }
        }
        for d in &r.dropped {
            if d.rule == "script-only" && d.wanted_by.is_none() {
                failures.push(format!("{example}: {} has no wanted_by", d.name));
            }
            if d.location.is_none() {
                failures.push(format!("{example}: dropped {} has no location", d.name));
            }
        }
        for (what, left) in [
            ("shells", &t.shells_left),
            ("package managers", &t.package_managers_left),
            ("compilers", &t.compilers_left),
        ] {
            if !left.is_empty() {
                failures.push(format!("{example}: {what} left: {left:?}"));
            }
        }
        for bad in ["bash", "dash", "apt", "dpkg", "perl-base", "coreutils"] {
            if ids.contains(format!("deb:{bad}").as_str()) {
                failures.push(format!("{example}: {bad} is kept"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn nginx_facts() {
    let r = &debian_reports()["nginx"];
    let df = dockerfile("nginx");
    let dropped = |name: &str| {
        r.dropped
            .iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("{name} is not dropped: {:#?}", r.dropped))
    };
    for (name, rule) in [
        ("bash", "base/shell"),
        ("dash", "base/shell"),
        ("apt", "base/package-manager"),
        ("dpkg", "base/package-manager"),
        ("coreutils", "base/content"),
    ] {
        let d = dropped(name);
        assert_eq!(d.kind, DroppedKind::BaseContent, "{name}");
        assert_eq!(d.rule, rule, "{name}");
        assert!(d.bytes_saved > 0, "{name} has a size");
        assert_eq!(d.location.as_ref().map(|l| l.line), Some(2), "{name}: FROM");
    }
    // A dependency of base content names who wanted it.
    let libapt = dropped("libapt-pkg6.0");
    assert_eq!(libapt.rule, "base/content");
    assert_eq!(libapt.wanted_by.as_deref(), Some("apt"));
    // The script-only prune of the minimal closure.
    let debconf = dropped("debconf");
    assert_eq!(debconf.rule, "script-only");
    assert!(debconf.wanted_by.is_some());
    assert_eq!(debconf.location.as_ref().map(|l| l.line), Some(5));

    let nginx = r.kept_by_id("deb:nginx").expect("nginx is kept");
    assert_eq!(
        r.chain_text(nginx),
        format!("nginx <- apt-get install nginx ({df}:5)")
    );
    let libssl = r.kept_by_id("deb:libssl3").expect("libssl3 is kept");
    assert_eq!(
        r.chain_text(libssl),
        format!("libssl3 <- nginx <- apt-get install nginx ({df}:5)")
    );
    assert!(nginx.depends_on.iter().any(|d| d == "deb:libssl3"));
    let conf = r
        .kept_by_id("file:/etc/nginx/nginx.conf")
        .expect("nginx.conf is kept");
    let on_disk = std::fs::read(root().join("examples/nginx/nginx.conf")).expect("nginx.conf");
    assert_eq!(conf.size_bytes, on_disk.len() as u64);
    assert_eq!(
        conf.request
            .as_ref()
            .and_then(|q| q.location.as_ref())
            .map(|l| l.line),
        Some(14)
    );
    let base = r.base.as_ref().expect("base");
    assert_eq!(base.reference, "debian:bookworm-slim");
    assert!(base.packages > 30, "{base:?}");
    assert_eq!(r.totals.files_after, 2);
}

#[test]
fn fail_on_shell_passes_for_the_examples() {
    let mut failures = Vec::new();
    for e in DEBIAN_EXAMPLES {
        let out = run(&[
            "audit",
            "--fail-on",
            "shell,package-manager,compiler",
            &dockerfile(e),
        ]);
        if out.status.code() != Some(0) {
            failures.push(format!("{e}: {:?}\n{}", out.status, text(&out.stderr)));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn fail_on_shell_fails_when_bash_stays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let df = dir.path().join("Dockerfile");
    std::fs::write(&df, "FROM debian:bookworm-slim\nENTRYPOINT [\"bash\"]\n").expect("write");
    let df = df.to_str().expect("utf-8 path");
    let out = run(&["audit", "--fail-on", "shell", df]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("shells left in the image (--fail-on shell): bash"),
        "{}",
        text(&out.stderr)
    );
    // The report is still printed.
    assert!(
        text(&out.stdout).contains("shells: bash"),
        "{}",
        text(&out.stdout)
    );
    // Only the asked-for category fails.
    let out = run(&["audit", "--fail-on", "package-manager,compiler", df]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn fail_on_waste() {
    let df = dockerfile("nginx");
    let out = run(&["audit", "--fail-on-waste", "1%", &df]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("more than --fail-on-waste 1%"));
    assert!(text(&out.stdout).contains("docker build, estimated"));
    let out = run(&["audit", "--fail-on-waste", "20MB", &df]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    for pass in ["100%", "1TB"] {
        let out = run(&["audit", "--fail-on-waste", pass, &df]);
        assert_eq!(out.status.code(), Some(0), "{pass}: {}", text(&out.stderr));
    }
}

#[test]
fn errors_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let unknown = dir.path().join("Dockerfile");
    std::fs::write(
        &unknown,
        "FROM debian:bookworm-slim\nRUN apt-get install -y no-such-package-scratchify\n",
    )
    .expect("write");
    let cases: [(&str, Vec<String>); 4] = [
        (
            "missing file",
            vec!["audit".into(), "no/such/Dockerfile".into()],
        ),
        (
            "bad threshold",
            vec![
                "audit".into(),
                "--fail-on-waste".into(),
                "lots".into(),
                dockerfile("nginx"),
            ],
        ),
        (
            "bad category",
            vec![
                "audit".into(),
                "--fail-on".into(),
                "editor".into(),
                dockerfile("nginx"),
            ],
        ),
        (
            "unknown package",
            vec!["audit".into(), unknown.display().to_string()],
        ),
    ];
    let mut failures = Vec::new();
    for (what, args) in cases {
        let out = scratchify().args(&args).output().expect("run");
        if out.status.code() != Some(2) {
            failures.push(format!("{what}: {:?} {}", out.status, text(&out.stderr)));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn output_file_is_written_and_formats_render() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for (format, needle) in [
        ("human", "docker build, estimated"),
        ("json", "\"schema_version\": 1"),
        ("markdown", "| **size** |"),
        ("sarif", "\"version\": \"2.1.0\""),
        ("html", "<!DOCTYPE html>"),
    ] {
        let path = dir.path().join(format!("report.{format}"));
        let out = run(&[
            "audit",
            "--format",
            format,
            "-o",
            path.to_str().expect("utf-8"),
            &dockerfile("curl"),
        ]);
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        if out.status.code() != Some(0) || !out.stdout.is_empty() || !written.contains(needle) {
            failures.push(format!(
                "{format}: {:?}, stdout {} bytes, file has {needle:?}: {}",
                out.status,
                out.stdout.len(),
                written.contains(needle)
            ));
        }
    }
    // No temporary files are left next to the output.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(failures.is_empty(), "{failures:#?}");
}

// --- schemas ---------------------------------------------------------------

use schema_support::validator;

#[test]
fn sarif_and_sboms_validate() {
    let cases = [
        (vec!["--format", "sarif"], "sarif-schema-2.1.0.json"),
        (vec!["--sbom", "spdx"], "spdx-2.3-schema.json"),
        (vec!["--sbom", "cyclonedx"], "cyclonedx-bom-1.5.schema.json"),
    ];
    let mut failures = Vec::new();
    let mut sarif = Value::Null;
    for (flags, schema) in cases {
        let v = validator(schema);
        for e in DEBIAN_EXAMPLES {
            let mut args = vec!["audit"];
            args.extend(flags.iter().copied());
            let df = dockerfile(e);
            args.push(&df);
            let out = run(&args);
            let doc: Value = match serde_json::from_slice(&out.stdout) {
                Ok(d) => d,
                Err(err) => {
                    failures.push(format!("{e} {flags:?}: not JSON: {err}"));
                    continue;
                }
            };
            for err in v.iter_errors(&doc) {
                failures.push(format!("{e} {flags:?}: {err} at {}", err.instance_path()));
            }
            if e == "nginx" && schema.starts_with("sarif") {
                sarif = doc;
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // bash and apt of the base image are results at the FROM line.
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    for rule in ["base/shell", "base/package-manager"] {
        let r = results
            .iter()
            .find(|r| r["ruleId"] == rule)
            .unwrap_or_else(|| panic!("no {rule} result"));
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "examples/nginx/Dockerfile");
        assert_eq!(loc["region"]["startLine"], 2);
    }
}

// --- Alpine, with no network -----------------------------------------------

/// Run scratchify in a new network namespace (no interfaces but a down
/// loopback) with an empty cache: nothing can be fetched.
fn run_offline(args: &[&str]) -> Output {
    let bin = assert_cmd::cargo::cargo_bin("scratchify");
    let cache = tempfile::tempdir().expect("tempdir");
    std::process::Command::new("unshare")
        .arg("-rn")
        .arg(&bin)
        .args(args)
        .current_dir(root())
        .env("SCRATCHIFY_CACHE_DIR", cache.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("running unshare (util-linux) for a network-less namespace")
}

#[test]
fn network_namespace_has_no_network() {
    // Proof that run_offline cuts the network: a Debian audit fails there.
    let out = run_offline(&["audit", &dockerfile("curl")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn alpine_examples_without_network() {
    let mut failures = Vec::new();
    let mut reports = BTreeMap::new();
    for e in ["alpine-nginx", "alpine-flask"] {
        let out = run_offline(&["audit", "--format", "json", &dockerfile(e)]);
        if out.status.code() != Some(0) {
            failures.push(format!("{e}: {:?} {}", out.status, text(&out.stderr)));
            continue;
        }
        match report::from_json(&text(&out.stdout)) {
            Ok(r) => {
                reports.insert(e, r);
            }
            Err(err) => failures.push(format!("{e}: {err}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let check = |r: &Report, e: &str, failures: &mut Vec<String>| {
        let codes: Vec<(&str, &str)> = r
            .warnings
            .iter()
            .map(|w| (w.code.as_str(), w.message.as_str()))
            .collect();
        if !codes
            .iter()
            .any(|(c, m)| *c == "audit::sizes-unknown" && m.contains("alpine"))
        {
            failures.push(format!(
                "{e}: no sizes-unknown warning for alpine: {codes:?}"
            ));
        }
        for (name, rule) in [
            ("busybox", "base/shell"),
            ("apk-tools", "base/package-manager"),
        ] {
            if !r.dropped.iter().any(|d| d.name == name && d.rule == rule) {
                failures.push(format!("{e}: {name} not dropped under {rule}"));
            }
        }
        if !r.totals.shells_left.is_empty() || !r.totals.package_managers_left.is_empty() {
            failures.push(format!("{e}: leftovers {:?}", r.totals));
        }
    };
    let nginx = &reports["alpine-nginx"];
    check(nginx, "alpine-nginx", &mut failures);
    let k = nginx.kept_by_id("apk:nginx");
    if k.and_then(|k| k.request.as_ref()).map(|q| q.text.as_str()) != Some("apk add nginx") {
        failures.push(format!("alpine-nginx: nginx request {k:?}"));
    }
    let flask = &reports["alpine-flask"];
    check(flask, "alpine-flask", &mut failures);
    if !flask
        .warnings
        .iter()
        .any(|w| w.code == "audit::sizes-unknown" && w.message.contains("pypi"))
    {
        failures.push("alpine-flask: no sizes-unknown warning for pypi".into());
    }
    for (name, rule, line) in [
        ("gcc", "removed-later", 4),
        ("py3-pip", "build-only/package-manager", 3),
    ] {
        match flask.dropped.iter().find(|d| d.name == name) {
            Some(d) if d.rule == rule && d.location.as_ref().map(|l| l.line) == Some(line) => {}
            other => failures.push(format!("alpine-flask: {name}: {other:?}")),
        }
    }
    match flask.kept_by_id("pypi:flask") {
        Some(k) if k.version.as_deref() == Some("3.0.3") => {}
        other => failures.push(format!("alpine-flask: Flask: {other:?}")),
    }
    // requirements.txt is consumed by pip: in the docker build image only.
    let req = std::fs::metadata(root().join("examples/alpine-flask/requirements.txt"))
        .expect("requirements.txt")
        .len();
    match flask
        .dropped
        .iter()
        .find(|d| d.rule == "build-only/build-input")
    {
        Some(d) if d.bytes_saved == req => {}
        other => failures.push(format!("alpine-flask: requirements.txt drop: {other:?}")),
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A Debian base with nothing installed still has a base estimate; a
/// `scratch` image has no base at all, and nothing to waste.
#[test]
fn bases_without_packages() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("app"), vec![7u8; 4096]).expect("write");
    let debian = dir.path().join("Dockerfile");
    std::fs::write(
        &debian,
        "FROM debian:bookworm-slim\nCOPY app /usr/local/bin/app\nENTRYPOINT [\"/usr/local/bin/app\"]\n",
    )
    .expect("write");
    let scratch = dir.path().join("Dockerfile.scratch");
    std::fs::write(
        &scratch,
        "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
    )
    .expect("write");
    let json = |df: &std::path::Path| {
        let out = run(&["audit", "--format", "json", df.to_str().expect("utf-8")]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        report::from_json(&text(&out.stdout)).expect("report")
    };
    let r = json(&debian);
    let base = r.base.as_ref().expect("a base");
    assert!(
        base.size_bytes > 20_000_000 && base.packages > 30,
        "{base:?}"
    );
    assert_eq!(r.totals.minimal_bytes, 4096);
    assert_eq!(
        r.totals.docker_build_estimate_bytes,
        base.size_bytes + 4096,
        "base plus the COPY"
    );
    assert_eq!(
        (r.totals.packages_before, r.totals.packages_after),
        (base.packages, 0)
    );
    let app = r
        .kept_by_id("file:/usr/local/bin/app")
        .expect("app is kept");
    assert_eq!(app.size_bytes, 4096);

    let r = json(&scratch);
    assert!(r.base.is_none());
    assert_eq!(r.totals.waste_bytes(), 0);
    assert_eq!(r.totals.minimal_bytes, 4096);
    assert!(r.dropped.is_empty(), "{:?}", r.dropped);
}
