//! Transfers that fail in passing (a dropped connection, a 503 while a
//! mirror syncs, a body cut off mid-way) are tried again, from the start;
//! failures no retry can mend are reported at once; and a transfer that
//! keeps failing gives up after its tries, leaving nothing in the cache.
//!
//! The repository is real (dpkg-deb packages, a gpg-signed InRelease) and
//! served over HTTP on 127.0.0.1 by the fixture server, told which
//! requests to fail.

#[path = "fixtures/debian/repo.rs"]
mod repo;

use std::fs;
use std::path::Path;
use std::time::Duration;

use repo::{Fault, Pkg, Repo, Server, Signer};
use scratchify::store::debian::{DebianConfig, DebianStore};
use scratchify::store::fetch::Retry;
use scratchify::store::{PackageRequest, ResolveOptions, Store, StoreError};

const DEB: &str = "victim_1.0-1_amd64.deb";

/// Quick retries: the waits are not under test, the decisions are.
fn retry(attempts: u32) -> Retry {
    Retry {
        attempts,
        first_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    }
}

fn store(server: &Server, repo: &Repo, cache: &Path, attempts: u32) -> DebianStore {
    DebianStore::new(DebianConfig {
        components: Some(vec!["main".into()]),
        fetch_retry: retry(attempts),
        ..repo::store_config(&server.url, &repo.keyring, cache, "bookworm")
    })
    .unwrap()
}

fn small_repo() -> Repo {
    let mut repo = Repo::with_signer(Signer::ed25519());
    repo.suite(
        "bookworm",
        &[Pkg::new("victim", "1.0-1").file("usr/bin/victim", b"#!/bin/sh\necho hi\n", 0o755)],
    );
    repo
}

fn resolve(s: &DebianStore) -> scratchify::store::Closure {
    s.resolve(
        &[PackageRequest::new("victim", "test")],
        &ResolveOptions::default(),
    )
    .unwrap()
}

/// Files under the cache's blob store, temporaries included.
fn blobs(cache: &Path) -> Vec<String> {
    let dir = cache.join("blobs/sha256");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn transfers_that_fail_in_passing_are_tried_again() {
    let repo = small_repo();
    let server = Server::serve(&repo.root());
    server.fail_next(
        "/bookworm/InRelease",
        &[Fault::Status(503), Fault::Hangup, Fault::CutBody],
    );
    server.fail_next(
        DEB,
        &[
            Fault::Hangup,
            Fault::Status(502),
            Fault::CutBody,
            Fault::Status(429),
        ],
    );
    let cache = tempfile::tempdir().unwrap();
    let s = store(&server, &repo, cache.path(), 5);
    let closure = resolve(&s);
    assert_eq!(server.requested("/bookworm/InRelease"), 4);

    s.fetch(&closure.paths).unwrap();
    assert_eq!(server.requested(DEB), 5, "four failures, then the file");
    let victim = closure.get("victim").unwrap();
    // Only the verified file is kept: no temporary of a cut-off try.
    assert_eq!(blobs(cache.path()), vec![victim.sha256.clone()]);
    let unpacked = s.unpack(victim).unwrap();
    assert!(
        unpacked
            .files
            .entries
            .keys()
            .any(|p| p.as_str() == "usr/bin/victim")
    );
}

#[test]
fn failures_no_retry_mends_are_reported_at_once() {
    let repo = small_repo();
    let server = Server::serve(&repo.root());
    let cache = tempfile::tempdir().unwrap();
    let s = store(&server, &repo, cache.path(), 5);
    let closure = resolve(&s);
    for (round, code) in [403u16, 401, 404, 501].into_iter().enumerate() {
        server.fail_next(DEB, &[Fault::Status(code)]);
        let err = s.fetch(&closure.paths).unwrap_err();
        assert_eq!(server.requested(DEB), round + 1, "{code} is not retried");
        let text = err.to_string();
        assert!(text.contains(DEB), "{code}: {text}");
        if code == 404 {
            assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
        } else {
            assert!(text.contains(&code.to_string()), "{code}: {text}");
        }
    }
    assert!(blobs(cache.path()).is_empty());
}

#[test]
fn a_transfer_that_keeps_failing_gives_up_after_its_tries() {
    let repo = small_repo();
    let server = Server::serve(&repo.root());
    let cache = tempfile::tempdir().unwrap();
    let s = store(&server, &repo, cache.path(), 3);
    let closure = resolve(&s);
    server.fail_next(DEB, &[Fault::CutBody; 4]);
    let err = s.fetch(&closure.paths).unwrap_err();
    assert_eq!(server.requested(DEB), 3);
    let text = err.to_string();
    assert!(
        text.contains(DEB) && text.contains("after 3 tries"),
        "{text}"
    );
    assert!(blobs(cache.path()).is_empty(), "{:?}", blobs(cache.path()));

    // The fourth planned fault is still pending: one try with no retries
    // left to spend fails without a second request.
    let once = store(&server, &repo, cache.path(), 1);
    let err = once.fetch(&closure.paths).unwrap_err();
    assert_eq!(server.requested(DEB), 4);
    assert!(!err.to_string().contains("tries"), "{err}");
    // And the next fetch, with the faults spent, succeeds.
    once.fetch(&closure.paths).unwrap();
    assert_eq!(server.requested(DEB), 5);
}
