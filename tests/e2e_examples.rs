//! The end-to-end tier (tests/e2e/run.sh): every Debian example is built
//! against the real Debian repository, unpacked with umoci and run in
//! bubblewrap, and the host talks to it (nginx over HTTP, redis PING, curl's
//! version and CA bundle, Python's http.server). The script prints each
//! check; this test fails with its whole output when any check fails.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn examples_run_in_bubblewrap() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scratchify-cache");
    let out = Command::new("bash")
        .arg(root.join("tests/e2e/run.sh"))
        .env("SCRATCHIFY", env!("CARGO_BIN_EXE_scratchify"))
        .env("SCRATCHIFY_CACHE_DIR", &cache)
        .current_dir(&root)
        .output()
        .expect("running tests/e2e/run.sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "tests/e2e/run.sh failed ({}):\n{stderr}",
        out.status
    );
    // Every example reached its last check.
    for want in [
        "ok: nginx: served index.html",
        "ok: redis: PING answered",
        "ok: curl: loaded /etc/ssl/certs/ca-certificates.crt",
        "ok: python-web: http.server served",
    ] {
        assert!(stderr.contains(want), "no {want:?} in:\n{stderr}");
    }
}
