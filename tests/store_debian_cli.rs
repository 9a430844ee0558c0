//! `scratchify resolve` against a generated repository on 127.0.0.1.

#[path = "fixtures/debian/repo.rs"]
mod repo;

use assert_cmd::Command;
use repo::{Pkg, Repo, Server};

fn fixture() -> Repo {
    let mut repo = Repo::new();
    repo.suite(
        "bookworm",
        &[
            Pkg::new("daemon", "1.2-1")
                .depends("debconf (>= 0.5) | debconf-2.0, libd (>= 1)")
                .field("Installed-Size", "7"),
            Pkg::new("libd", "1.0-1").field("Installed-Size", "3"),
            Pkg::new("debconf", "1.5.82")
                .arch("all")
                .field("Provides", "debconf-2.0"),
            Pkg::new("tool", "2:3.0-1").depends("libd"),
        ],
    );
    repo
}

fn resolve(
    repo_url: &str,
    repo: &Repo,
    cache: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    Command::cargo_bin("scratchify")
        .unwrap()
        .env("SCRATCHIFY_CACHE_DIR", cache)
        .env_remove("SCRATCHIFY_DEBIAN_MIRROR")
        .args([
            "resolve",
            "--store",
            "debian",
            "--release",
            "bookworm",
            "--mirror",
            repo_url,
        ])
        .arg("--keyring")
        .arg(&repo.keyring)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn prints_the_closure_and_the_pruned() {
    let repo = fixture();
    let server = Server::serve(&repo.root());
    let cache = tempfile::tempdir().unwrap();
    let out = resolve(&server.url, &repo, cache.path(), &["daemon", "tool"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    // Installed-Size is in KiB (the fixture's default is 1).
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "daemon 1.2-1 7168 command-line",
            "libd 1.0-1 3072 daemon",
            "tool 2:3.0-1 1024 command-line",
        ]
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr
            .lines()
            .any(|l| l == "pruned debconf (wanted by daemon)"),
        "{stderr}"
    );

    // --no-prune keeps it, over file: this time.
    let out = resolve(
        &repo.file_url(),
        &repo,
        cache.path(),
        &["--no-prune", "daemon"],
    );
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = stdout
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(names, ["daemon", "debconf", "libd"]);
    assert!(!String::from_utf8(out.stderr).unwrap().contains("pruned"));
}

#[test]
fn errors_exit_non_zero_with_a_message() {
    let repo = fixture();
    let cache = tempfile::tempdir().unwrap();
    let out = resolve(&repo.file_url(), &repo, cache.path(), &["nonexistent"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("package nonexistent not found"), "{stderr}");
    let out = resolve(&repo.file_url(), &repo, cache.path(), &["Bad_Name"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_bad_number_of_fetch_tries_is_refused_by_name() {
    let repo = fixture();
    let cache = tempfile::tempdir().unwrap();
    for bad in ["0", "two", "-1"] {
        let out = Command::cargo_bin("scratchify")
            .unwrap()
            .env("SCRATCHIFY_CACHE_DIR", cache.path())
            .env("SCRATCHIFY_FETCH_ATTEMPTS", bad)
            .args(["resolve", "--store", "debian", "--release", "bookworm"])
            .args(["--mirror", &repo.file_url(), "--keyring"])
            .arg(&repo.keyring)
            .arg("daemon")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains(&format!("SCRATCHIFY_FETCH_ATTEMPTS={bad}")),
            "{bad}: {stderr}"
        );
    }
}

#[test]
fn json_output_is_the_closure() {
    let repo = fixture();
    let cache = tempfile::tempdir().unwrap();
    let out = resolve(&repo.file_url(), &repo, cache.path(), &["--json", "tool"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let paths = v["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 2);
    assert_eq!(paths[1]["name"], "tool");
    assert_eq!(paths[1]["depends"][0]["to"], "libd");
    assert_eq!(paths[0]["why"]["Needed"]["by"], "tool");
}
