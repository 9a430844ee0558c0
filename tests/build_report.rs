//! `scratchify build -o OUT` writes the report next to the image
//! (`OUT.report.json`), and `scratchify explain OUT PATH` answers from it
//! and the image's layers. examples/curl is built for real against the
//! Debian repository of the host's apt sources, with the download cache the
//! build tests share.

mod build_support;

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use build_support::{example_dir, store_cache};
use scratchify::report::{self, KeptKind};

fn run(args: &[&str]) -> Output {
    Command::cargo_bin("scratchify")
        .expect("binary")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("SCRATCHIFY_CACHE_DIR", store_cache())
        .args(args)
        .output()
        .expect("running scratchify")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The manifest digest the OCI layout's index.json names.
fn layout_digest(dir: &Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).expect("index.json"))
            .expect("index.json parses");
    index["manifests"][0]["digest"]
        .as_str()
        .expect("a manifest digest")
        .to_string()
}

#[test]
fn build_writes_the_report_and_explain_reads_it() {
    assert!(example_dir("curl").join("Dockerfile").is_file());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("curl-oci");
    let out_s = out.to_str().unwrap();
    let built = run(&[
        "build",
        "-f",
        "examples/curl/Dockerfile",
        "--format",
        "oci",
        "-o",
        out_s,
        "--report",
        "json",
        "examples/curl",
    ]);
    assert_eq!(
        built.status.code(),
        Some(0),
        "build failed:\n{}",
        text(&built.stderr)
    );

    let mut failures = Vec::new();
    let path = report::report_path_for(&out);
    assert_eq!(path, tmp.path().join("curl-oci.report.json"));
    let json = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let r = report::from_json(&json).unwrap_or_else(|e| panic!("report does not parse: {e:?}"));
    if text(&built.stdout) != json {
        failures.push("--report json printed something other than the written report".into());
    }

    let digest = layout_digest(&out);
    match &r.image {
        Some(img) if img.digest == digest => {}
        Some(img) => failures.push(format!(
            "report digest {} but the layout holds {digest}",
            img.digest
        )),
        None => failures.push("the report has no image".into()),
    }

    match r
        .kept
        .iter()
        .find(|k| k.kind == KeptKind::Package && k.name == "curl")
    {
        None => failures.push("curl is not among the kept items".into()),
        Some(curl) => match curl.request.as_ref().and_then(|q| q.location.as_ref()) {
            Some(loc) if loc.file == "examples/curl/Dockerfile" && loc.line == 2 => {}
            other => failures.push(format!(
                "curl's request is not at examples/curl/Dockerfile:2: {other:?}"
            )),
        },
    }
    // A dependency's chain ends at curl, requested on line 2.
    match r.kept.iter().find(|k| k.name == "libcurl4") {
        None => failures.push("libcurl4 is not among the kept items".into()),
        Some(lib) => {
            if lib.chain.last().map(String::as_str) != Some("deb:curl") {
                failures.push(format!(
                    "libcurl4's chain does not end at curl: {:?}",
                    lib.chain
                ));
            }
        }
    }
    if r.synthesized.iter().all(|s| s.path != "/etc/passwd") {
        failures.push("the synthesized /etc/passwd is not reported".into());
    }

    let explained = run(&["explain", out_s, "/usr/bin/curl"]);
    let stdout = text(&explained.stdout);
    if explained.status.code() != Some(0) {
        failures.push(format!(
            "explain exited {:?}: {}{}",
            explained.status.code(),
            stdout,
            text(&explained.stderr)
        ));
    }
    for needle in [
        "usr/bin/curl is in layer sha256:",
        "curl ",
        "is in the image",
        "at examples/curl/Dockerfile:2",
        "2 | RUN apt-get update && apt-get install -y --no-install-recommends curl",
    ] {
        if !stdout.contains(needle) {
            failures.push(format!("{needle:?} not in explain's output:\n{stdout}"));
        }
    }
    // The chain ends with the Dockerfile line that requested curl.
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
    if !last.is_some_and(|l| l.trim_start().starts_with("2 | RUN apt-get update")) {
        failures.push(format!(
            "explain's output does not end with Dockerfile line 2:\n{stdout}"
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
