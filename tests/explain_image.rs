//! `scratchify explain`: `--dropped NAME FILE` against the real Debian
//! index (and the Alpine examples with no network), and `explain OUT PATH`
//! on a real OCI layout written by scratchify's image writer, with the
//! report `build` writes next to it (`<OUT>.report.json`).
//!
//! The layout's layers are small generated trees standing in for package
//! contents (no package bodies are downloaded); the report is the real one
//! of examples/nginx (plan + index closures), so the chains are real.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use scratchify::commands::audit::{StoreOptions, measure_files, resolve_debian};
use scratchify::commands::plan::{PlanArgs, load_plan};
use scratchify::image::{
    AssembleOptions, Compression, ImageSpec, LayerCache, LayerInput, WriteOptions, assemble,
};
use scratchify::report::{self, ReportInputs};
use scratchify::tree::{FileTree, ImagePath, TreeEntry};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::cargo_bin("scratchify")
        .expect("binary")
        .current_dir(root())
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("running scratchify")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn dropped_gives_rule_reason_and_line() {
    let df = "examples/nginx/Dockerfile";
    let out = run(&["explain", "--dropped", "dpkg", df]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for needle in [
        "dpkg ",
        "was dropped by rule base/package-manager",
        "part of debian:bookworm-slim",
        "at examples/nginx/Dockerfile:2",
        "2 | FROM debian:bookworm-slim",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in:\n{stdout}");
    }

    let out = run(&["explain", "--dropped", "debconf", df]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for needle in [
        "was dropped by rule script-only",
        "wanted by ",
        "at examples/nginx/Dockerfile:5",
        "apt-get install -y --no-install-recommends nginx",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in:\n{stdout}");
    }

    // Kept, not dropped: exit 1 with the chain instead.
    let out = run(&["explain", "--dropped", "libssl3", df]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("libssl3 is not dropped."), "{stdout}");
    assert!(
        stdout.contains("libssl3 <- nginx <- apt-get install nginx (examples/nginx/Dockerfile:5)"),
        "{stdout}"
    );
    let out = run(&["explain", "--dropped", "no-such-thing", df]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("neither dropped nor kept"));
}

#[test]
fn dropped_on_alpine_without_network() {
    let bin = assert_cmd::cargo::cargo_bin("scratchify");
    let cache = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new("unshare")
        .arg("-rn")
        .arg(&bin)
        .args([
            "explain",
            "--dropped",
            "gcc",
            "examples/alpine-flask/Dockerfile",
        ])
        .current_dir(root())
        .env("SCRATCHIFY_CACHE_DIR", cache.path())
        .output()
        .expect("running unshare (util-linux)");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for needle in [
        "gcc (0 B) was dropped by rule removed-later",
        "removed later by `apk del .build-deps` (line 7)",
        "at examples/alpine-flask/Dockerfile:4",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in:\n{stdout}");
    }
}

fn file(tree: &mut FileTree, path: &str, data: &[u8]) {
    tree.insert(
        ImagePath::new(path).expect("path"),
        TreeEntry::bytes(data.to_vec(), 0o644),
    );
}

/// Write examples/nginx as an OCI layout in `dir` (layers standing in for
/// libssl3, nginx and the COPY), with its report next to it.
fn nginx_layout(dir: &Path, compression: Compression) -> PathBuf {
    let df = Path::new("examples/nginx/Dockerfile");
    let plan_args = PlanArgs {
        build_args: vec![],
        target: None,
        keep: vec![],
        drop: vec![],
        allow_unsupported: false,
    };
    // Cargo runs integration tests in the package root, so the relative
    // path is the one the CLI sees in the other tests.
    let cwd = root();
    let (source, planned) = load_plan(df, None, &plan_args).expect("plan");
    let resolved = resolve_debian(&planned.plan, &StoreOptions::default())
        .expect("resolve")
        .expect("a Debian plan");
    let mut findings = Vec::new();
    let copied = measure_files(
        &planned.plan,
        Some(&cwd.join("examples/nginx")),
        &source,
        &mut findings,
    );
    let inputs = ReportInputs {
        docker_closure: Some(&resolved.docker_build),
        copied,
        findings,
        plan_warnings: planned.warnings.clone(),
        source_date_epoch: 0,
    };
    let mut rep = report::from_plan(&planned.plan, &source, Some(&resolved.minimal), &inputs);

    let mut libssl = FileTree::new();
    file(
        &mut libssl,
        "usr/lib/x86_64-linux-gnu/libssl.so.3",
        b"libssl fixture",
    );
    let mut nginx = FileTree::new();
    file(&mut nginx, "usr/sbin/nginx", b"nginx fixture");
    let mut copy = FileTree::new();
    file(&mut copy, "etc/nginx/nginx.conf", b"events {}\n");
    let version = |n: &str| {
        resolved
            .minimal
            .get(n)
            .map(|p| p.id())
            .expect("member of the closure")
    };
    let spec = ImageSpec {
        layers: vec![
            LayerInput {
                tree: libssl,
                created_by: "libssl3".into(),
                comment: Some(version("libssl3")),
                content_key: None,
            },
            LayerInput {
                tree: nginx,
                created_by: "apt-get install nginx (examples/nginx/Dockerfile:5)".into(),
                comment: Some(version("nginx")),
                content_key: None,
            },
            LayerInput {
                tree: copy,
                created_by: "COPY nginx.conf /etc/nginx/nginx.conf (examples/nginx/Dockerfile:14)"
                    .into(),
                comment: None,
                content_key: None,
            },
        ],
        config: Default::default(),
    };
    let image = assemble(
        &spec,
        &AssembleOptions {
            source_date_epoch: 0,
            compression,
            cache: LayerCache::Disabled,
        },
    )
    .expect("assemble");
    let out = dir.join("nginx-oci");
    scratchify::image::write(
        &image,
        scratchify::image::Format::Oci,
        &out,
        &WriteOptions::default(),
    )
    .expect("write layout");
    report::with_image(&mut rep, &image);
    std::fs::write(report::report_path_for(&out), report::to_json(&rep)).expect("write report");
    out
}

#[test]
fn explains_paths_in_a_built_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for (label, compression) in [
        ("gzip", Compression::default()),
        ("zstd", Compression::default_zstd()),
    ] {
        let sub = dir.path().join(label);
        std::fs::create_dir_all(&sub).expect("mkdir");
        let out = nginx_layout(&sub, compression);
        let out = out.to_str().expect("utf-8");
        let expect = |args: &[&str], code: i32, needles: &[&str], failures: &mut Vec<String>| {
            let o = run(args);
            let stdout = text(&o.stdout);
            if o.status.code() != Some(code) {
                failures.push(format!(
                    "{label} {args:?}: exit {:?}, stderr {}",
                    o.status,
                    text(&o.stderr)
                ));
            }
            for n in needles {
                if !stdout.contains(n) {
                    failures.push(format!("{label} {args:?}: {n:?} not in:\n{stdout}"));
                }
            }
        };
        let libssl_chain =
            "libssl3 <- nginx <- apt-get install nginx (examples/nginx/Dockerfile:5)";
        // A file inside a package: found in its layer.
        expect(
            &["explain", out, "/usr/lib/x86_64-linux-gnu/libssl.so.3"],
            0,
            &["is in layer sha256:", libssl_chain],
            &mut failures,
        );
        expect(
            &["explain", out, "usr/sbin/nginx"],
            0,
            &["nginx <- apt-get install nginx (examples/nginx/Dockerfile:5)"],
            &mut failures,
        );
        // A package by name, a COPY'd file by path: from the report alone.
        expect(
            &["explain", out, "libssl3"],
            0,
            &[libssl_chain],
            &mut failures,
        );
        expect(
            &["explain", out, "/etc/nginx/nginx.conf"],
            0,
            &[
                "<- COPY nginx.conf /etc/nginx/nginx.conf (examples/nginx/Dockerfile:14)",
                "14 | COPY nginx.conf /etc/nginx/nginx.conf",
            ],
            &mut failures,
        );
        // The report itself can be named.
        let report_path = format!("{out}.report.json");
        expect(
            &["explain", &report_path, "libssl3"],
            0,
            &[libssl_chain],
            &mut failures,
        );
        // Dropped things are not in the image: exit 1, with why.
        expect(
            &["explain", out, "bash"],
            1,
            &["bash is not in the image.", "base/shell"],
            &mut failures,
        );
        expect(
            &["explain", out, "/usr/bin/no-such-file"],
            1,
            &[],
            &mut failures,
        );
    }
    // No report next to the output: a clear error.
    let o = run(&[
        "explain",
        dir.path().join("nowhere").to_str().expect("utf-8"),
        "x",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("nowhere.report.json"),
        "{}",
        text(&o.stderr)
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
