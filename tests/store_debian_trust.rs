//! The trust chain: signed Release, checked Packages, checked .deb files,
//! and a cache that never keeps what failed verification.

#[path = "fixtures/debian/repo.rs"]
mod repo;

use std::fs;
use std::path::{Path, PathBuf};

use repo::{Pkg, Repo, Server, Signer};
use scratchify::store::debian::{DebianConfig, DebianStore};
use scratchify::store::{PackageRequest, ResolveOptions, Store, StoreError};

fn config(mirror: &str, keyring: &Path, cache: &Path, release: &str) -> DebianConfig {
    repo::store_config(mirror, keyring, cache, release)
}

fn small_repo(signer: Signer) -> Repo {
    let mut repo = Repo::with_signer(signer);
    repo.suite(
        "bookworm",
        &[
            Pkg::new("victim", "1.0-1").depends("victim-lib").file(
                "usr/bin/victim",
                b"#!/bin/sh\necho hi\n",
                0o755,
            ),
            Pkg::new("victim-lib", "1.0-1"),
        ],
    );
    repo
}

fn resolve(
    repo_url: &str,
    keyring: &Path,
    cache: &Path,
) -> Result<scratchify::store::Closure, StoreError> {
    let s = DebianStore::new(config(repo_url, keyring, cache, "bookworm"))?;
    s.resolve(
        &[PackageRequest::new("victim", "test")],
        &ResolveOptions::default(),
    )
}

/// Every file under `dir` (relative paths).
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn no_temporaries(cache: &Path) {
    let tmp: Vec<String> = files_under(cache)
        .into_iter()
        .filter(|f| f.contains(".tmp"))
        .collect();
    assert!(tmp.is_empty(), "temporaries left in the cache: {tmp:?}");
}

#[test]
fn verified_chain_over_http_and_file() {
    let repo = small_repo(Signer::ed25519());
    let server = Server::serve(&repo.root());
    for url in [server.url.clone(), repo.file_url()] {
        let cache = tempfile::tempdir().unwrap();
        let s = DebianStore::new(config(&url, &repo.keyring, cache.path(), "bookworm")).unwrap();
        let c = s
            .resolve(
                &[PackageRequest::new("victim", "test")],
                &ResolveOptions::default(),
            )
            .unwrap();
        s.fetch(&c.paths).unwrap();
        let u = s.unpack(c.get("victim").unwrap()).unwrap();
        assert!(
            u.files
                .entries
                .keys()
                .any(|p| p.as_str() == "usr/bin/victim")
        );
        // The optional suites do not exist here: noted, not fatal.
        assert!(
            c.notes.iter().any(|n| n.contains("bookworm-security")),
            "{:?}",
            c.notes
        );
        no_temporaries(cache.path());
    }
}

#[test]
fn tampered_deb_is_refused_and_not_cached() {
    let repo = small_repo(Signer::ed25519());
    let server = Server::serve(&repo.root());
    let cache = tempfile::tempdir().unwrap();
    let c = resolve(&server.url, &repo.keyring, cache.path()).unwrap();
    let victim = c.get("victim").unwrap().clone();
    // Same size, one byte changed.
    let deb = repo.path(&victim.filename);
    let mut bytes = fs::read(&deb).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    fs::write(&deb, &bytes).unwrap();

    let s = DebianStore::new(config(&server.url, &repo.keyring, cache.path(), "bookworm")).unwrap();
    match s.fetch(std::slice::from_ref(&victim)) {
        Err(StoreError::Checksum { file, expected, .. }) => {
            assert!(file.ends_with(&victim.filename), "{file}");
            assert_eq!(expected, victim.sha256);
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
    assert!(
        !cache
            .path()
            .join("blobs/sha256")
            .join(&victim.sha256)
            .exists()
    );
    // unpack refuses too, and leaves no unpacked tree.
    assert!(matches!(
        s.unpack(&victim),
        Err(StoreError::Checksum { .. })
    ));
    assert!(
        !cache
            .path()
            .join("unpacked/sha256")
            .join(&victim.sha256)
            .exists()
    );
    no_temporaries(cache.path());

    // A longer file is cut off at the listed size.
    bytes.extend_from_slice(b"trailing");
    fs::write(&deb, &bytes).unwrap();
    assert!(matches!(
        s.fetch(std::slice::from_ref(&victim)),
        Err(StoreError::Size { .. })
    ));
    no_temporaries(cache.path());
}

#[test]
fn corrupted_cache_blob_is_not_unpacked() {
    let repo = small_repo(Signer::ed25519());
    let cache = tempfile::tempdir().unwrap();
    let c = resolve(&repo.file_url(), &repo.keyring, cache.path()).unwrap();
    let victim = c.get("victim").unwrap().clone();
    let s = DebianStore::new(config(
        &repo.file_url(),
        &repo.keyring,
        cache.path(),
        "bookworm",
    ))
    .unwrap();
    s.fetch(std::slice::from_ref(&victim)).unwrap();
    let blob = cache.path().join("blobs/sha256").join(&victim.sha256);
    let mut bytes = fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&blob, &bytes).unwrap();
    // The damaged blob is detected, dropped and fetched again.
    let u = s.unpack(&victim).unwrap();
    assert!(!u.files.is_empty());
    assert_eq!(repo::sha256_hex(&fs::read(&blob).unwrap()), victim.sha256);
}

#[test]
fn modified_inrelease_fails_verification() {
    let repo = small_repo(Signer::ed25519());
    let path = repo.path("dists/bookworm/InRelease");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("Label: Fixture", "Label: Fixturf")).unwrap();
    let server = Server::serve(&repo.root());
    let cache = tempfile::tempdir().unwrap();
    match resolve(&server.url, &repo.keyring, cache.path()) {
        Err(StoreError::Signature { file, reason }) => {
            assert!(file.ends_with("dists/bookworm/InRelease"), "{file}");
            assert!(reason.contains("bad signature"), "{reason}");
        }
        other => panic!("expected a signature error, got {other:?}"),
    }
    assert!(files_under(&cache.path().join("debian")).is_empty());
}

#[test]
fn text_outside_the_signature_is_refused() {
    let repo = small_repo(Signer::ed25519());
    let path = repo.path("dists/bookworm/InRelease");
    let mut text = fs::read_to_string(&path).unwrap();
    text.push_str("SHA256:\n 00 1 main/binary-amd64/Packages\n");
    fs::write(&path, text).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let err = resolve(&repo.file_url(), &repo.keyring, cache.path()).unwrap_err();
    assert!(
        err.to_string().contains("text after the signature"),
        "{err}"
    );
}

#[test]
fn signature_by_another_key_fails() {
    let repo = small_repo(Signer::ed25519());
    let other = Signer::ed25519();
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("other.gpg");
    other.export(&keyring, false);
    let cache = tempfile::tempdir().unwrap();
    match resolve(&repo.file_url(), &keyring, cache.path()) {
        Err(StoreError::Signature { reason, .. }) => {
            assert!(reason.contains("unknown key"), "{reason}");
            assert!(reason.contains(&repo.signer.signing_key), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn expired_key_fails() {
    let signer = Signer::new("ed25519", "1d", Some("20200101T000000"), false);
    let repo = small_repo(signer);
    let cache = tempfile::tempdir().unwrap();
    match resolve(&repo.file_url(), &repo.keyring, cache.path()) {
        Err(StoreError::Signature { reason, .. }) => {
            assert!(reason.contains("expired"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rsa_keys_subkeys_armored_keyrings_and_detached_signatures() {
    // RSA (like the Debian archive keys).
    let repo = small_repo(Signer::new("rsa2048", "never", None, false));
    let cache = tempfile::tempdir().unwrap();
    resolve(&repo.file_url(), &repo.keyring, cache.path()).unwrap();

    // A signing subkey, and the keyring in ASCII armor.
    let repo = small_repo(Signer::new("ed25519", "never", None, true));
    assert_ne!(repo.signer.signing_key, repo.signer.primary);
    let asc = repo.dir.path().join("keyring.asc");
    repo.signer.export(&asc, true);
    let cache = tempfile::tempdir().unwrap();
    resolve(&repo.file_url(), &asc, cache.path()).unwrap();

    // No InRelease: Release + Release.gpg.
    fs::remove_file(repo.path("dists/bookworm/InRelease")).unwrap();
    let cache = tempfile::tempdir().unwrap();
    resolve(&repo.file_url(), &repo.keyring, cache.path()).unwrap();
    // A modified Release fails the detached signature.
    let rel = repo.path("dists/bookworm/Release");
    let text = fs::read_to_string(&rel).unwrap();
    fs::write(&rel, text.replace("Origin: Fixture", "Origin: Fixturf")).unwrap();
    let cache = tempfile::tempdir().unwrap();
    assert!(matches!(
        resolve(&repo.file_url(), &repo.keyring, cache.path()),
        Err(StoreError::Signature { .. })
    ));
    // Unsigned: refused.
    fs::remove_file(repo.path("dists/bookworm/Release.gpg")).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let err = resolve(&repo.file_url(), &repo.keyring, cache.path()).unwrap_err();
    assert!(err.to_string().contains("unsigned"), "{err}");
}

#[test]
fn packages_checksum_mismatch_is_refused() {
    let repo = small_repo(Signer::ed25519());
    // Replace Packages.xz after the Release was signed.
    let xz = repo.path("dists/bookworm/main/binary-amd64/Packages.xz");
    let mut enc = liblzma::write::XzEncoder::new(Vec::new(), 6);
    std::io::Write::write_all(&mut enc, b"Package: evil\nVersion: 1\n").unwrap();
    fs::write(&xz, enc.finish().unwrap()).unwrap();
    let server = Server::serve(&repo.root());
    let cache = tempfile::tempdir().unwrap();
    let err = resolve(&server.url, &repo.keyring, cache.path()).unwrap_err();
    match &err {
        StoreError::Checksum { file, .. } | StoreError::Size { file, .. } => {
            assert!(file.ends_with("main/binary-amd64/Packages.xz"), "{file}")
        }
        other => panic!("{other:?}"),
    }
    assert!(files_under(&cache.path().join("debian/index")).is_empty());
    no_temporaries(cache.path());

    // Same size, different bytes: a checksum error.
    let repo = small_repo(Signer::ed25519());
    let xz = repo.path("dists/bookworm/main/binary-amd64/Packages.xz");
    let mut bytes = fs::read(&xz).unwrap();
    let n = bytes.len() - 3;
    bytes[n] ^= 0xff;
    fs::write(&xz, &bytes).unwrap();
    let cache = tempfile::tempdir().unwrap();
    match resolve(&repo.file_url(), &repo.keyring, cache.path()) {
        Err(StoreError::Checksum { file, .. }) => assert!(file.ends_with("Packages.xz")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn by_hash_indices_are_used_when_announced() {
    let repo = small_repo(Signer::ed25519());
    let bin = repo.path("dists/bookworm/main/binary-amd64");
    let xz = fs::read(bin.join("Packages.xz")).unwrap();
    let by_hash = bin.join("by-hash/SHA256");
    fs::create_dir_all(&by_hash).unwrap();
    fs::write(by_hash.join(repo::sha256_hex(&xz)), &xz).unwrap();
    repo.sign_suite("bookworm", &[("Acquire-By-Hash", "yes")]);
    let server = Server::serve(&repo.root());
    let cache = tempfile::tempdir().unwrap();
    resolve(&server.url, &repo.keyring, cache.path()).unwrap();
    assert_eq!(server.requested(&repo::sha256_hex(&xz)), 1);
    assert_eq!(server.requested("binary-amd64/Packages.xz"), 0);
}

#[test]
fn release_of_another_suite_is_refused() {
    let repo = small_repo(Signer::ed25519());
    let from = repo.path("dists/bookworm");
    let to = repo.path("dists/trixie");
    fs::create_dir_all(to.join("main/binary-amd64")).unwrap();
    for f in [
        "InRelease",
        "Release",
        "Release.gpg",
        "main/binary-amd64/Packages.xz",
    ] {
        fs::copy(from.join(f), to.join(f)).unwrap();
    }
    let cache = tempfile::tempdir().unwrap();
    let s = DebianStore::new(config(
        &repo.file_url(),
        &repo.keyring,
        cache.path(),
        "trixie",
    ))
    .unwrap();
    let err = s
        .resolve(
            &[PackageRequest::new("victim", "t")],
            &ResolveOptions::default(),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("is the Release of bookworm, not trixie"),
        "{err}"
    );
}

#[test]
fn expired_release_is_refused() {
    let repo = small_repo(Signer::ed25519());
    repo.sign_suite(
        "bookworm",
        &[("Valid-Until", "Sun, 11 Aug 2024 09:17:38 UTC")],
    );
    let cache = tempfile::tempdir().unwrap();
    let err = resolve(&repo.file_url(), &repo.keyring, cache.path()).unwrap_err();
    assert!(err.to_string().contains("Valid-Until"), "{err}");
}

#[test]
fn keyring_from_apt_sources_signed_by() {
    // No --keyring: the Signed-By of the matching apt source is used.
    let repo = small_repo(Signer::ed25519());
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("etc/apt/sources.list.d");
    fs::create_dir_all(&d).unwrap();
    fs::write(
        d.join("fixture.sources"),
        format!(
            "Types: deb\nURIs: {}\nSuites: bookworm\nComponents: main\nSigned-By: {}\n",
            repo.file_url(),
            repo.keyring.display()
        ),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut c = config("unused", &repo.keyring, cache.path(), "bookworm");
    c.mirror = None;
    c.keyring = None;
    c.apt_root = PathBuf::from(root.path());
    let s = DebianStore::new(c).unwrap();
    assert_eq!(s.suites()[0].uri, repo.file_url());
    let closure = s
        .resolve(
            &[PackageRequest::new("victim", "t")],
            &ResolveOptions::default(),
        )
        .unwrap();
    assert_eq!(closure.paths.len(), 2);
}
