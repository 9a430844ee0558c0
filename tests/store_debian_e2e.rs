//! End to end against the real Debian bookworm repository named by the
//! host's apt sources: our closures must be exactly the packages
//! `apt-get install -s --no-install-recommends` installs on an empty
//! system, and with pruning every difference must be a reported pruned
//! package. Needs the network (and apt-get) the first time; the indices
//! are then served from the scratchify cache (`SCRATCHIFY_CACHE_DIR`, else
//! the user cache), and apt's own lists are kept under it too, so later
//! runs only re-fetch changed Release files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use scratchify::store::debian::deb822::{Syntax, paragraphs};
use scratchify::store::debian::{DebianConfig, DebianStore};
use scratchify::store::{Cache, PackageRequest, ResolveOptions, Store};
use scratchify::tree::{EntryKind, ImagePath};

const PACKAGES: [&str; 6] = [
    "nginx",
    "python3",
    "curl",
    "redis-server",
    "ca-certificates",
    "tzdata",
];

/// apt-get with private state under `dir` (lists, caches, an empty status).
fn apt(dir: &Path) -> Command {
    let mut c = Command::new("apt-get");
    c.arg("-q")
        .arg(format!(
            "-oDir::State::Lists={}",
            dir.join("lists").display()
        ))
        .arg(format!("-oDir::Cache={}", dir.join("cache").display()))
        .arg("-oDir::State::status=/dev/null")
        .arg("-oDebug::NoLocking=true")
        .arg("-oAPT::Architecture=amd64")
        .env("LC_ALL", "C");
    c
}

fn apt_update(dir: &Path) {
    for d in ["lists/partial", "cache/archives/partial"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let out = apt(dir)
        .arg("update")
        .output()
        .expect("running apt-get update");
    assert!(
        out.status.success(),
        "apt-get update failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `Date:` of each suite in apt's lists.
fn apt_release_dates(dir: &Path) -> BTreeMap<String, String> {
    let mut dates = BTreeMap::new();
    for e in std::fs::read_dir(dir.join("lists")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.ends_with("_InRelease") {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap();
        // The signed text: after the armor headers, before the signature.
        let body = text.split_once("\n\n").map(|(_, b)| b).unwrap_or(&text);
        let body = body
            .split_once("\n-----BEGIN PGP SIGNATURE")
            .map(|(b, _)| b)
            .unwrap_or(body);
        if let Some(Ok(p)) = paragraphs(body, Syntax::default()).next()
            && let (Some(codename), Some(date)) = (p.get("Codename"), p.get("Date"))
        {
            dates.insert(codename.to_string(), date.to_string());
        }
    }
    dates
}

/// (name, version) of what apt would install.
fn apt_closure(dir: &Path, pkg: &str) -> BTreeSet<(String, String)> {
    let out = apt(dir)
        .args(["install", "-s", "--no-install-recommends", pkg])
        .output()
        .expect("running apt-get install -s");
    assert!(
        out.status.success(),
        "apt-get install -s {pkg}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("Inst "))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next()?;
            let version = w.next()?.strip_prefix('(')?;
            Some((name.to_string(), version.to_string()))
        })
        .collect()
}

fn cache() -> Cache {
    Cache::from_env().expect("a cache directory")
}

fn store(refresh: bool) -> DebianStore {
    let mut config = DebianConfig::new("bookworm").unwrap();
    // The host's apt sources, whatever the environment says.
    config.mirror = None;
    config.security_mirror = None;
    config.keyring = None;
    config.cache = cache();
    config.refresh = refresh;
    config.progress = false;
    DebianStore::new(config).unwrap()
}

fn apt_dir() -> PathBuf {
    cache().root().join("e2e-apt-state")
}

#[test]
fn closures_match_apt_on_bookworm() {
    let dir = apt_dir();
    // Same moment for both: apt's lists and our Release files. A mirror
    // push in between makes the dates differ; then once more.
    let mut attempt = 0;
    let s = loop {
        apt_update(&dir);
        let s = store(true);
        let probe = s
            .resolve(
                &[PackageRequest::new("tzdata", "e2e")],
                &ResolveOptions { prune: false },
            )
            .unwrap();
        let apt_dates = apt_release_dates(&dir);
        let mismatched: Vec<String> = probe
            .indices
            .iter()
            .filter(|i| apt_dates.get(&i.suite) != Some(&i.date))
            .map(|i| {
                format!(
                    "{}: ours {} apt {:?}",
                    i.suite,
                    i.date,
                    apt_dates.get(&i.suite)
                )
            })
            .collect();
        if mismatched.is_empty() {
            break s;
        }
        attempt += 1;
        assert!(
            attempt < 3,
            "apt and scratchify saw different Releases: {mismatched:?}"
        );
    };
    let mut failures = Vec::new();
    for pkg in PACKAGES {
        let want = apt_closure(&dir, pkg);
        let req = [PackageRequest::new(pkg, "e2e")];
        let full = s.resolve(&req, &ResolveOptions { prune: false }).unwrap();
        let ours: BTreeSet<(String, String)> = full
            .paths
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        if ours != want {
            failures.push(format!(
                "{pkg}: only ours {:?}; only apt {:?}",
                ours.difference(&want).collect::<Vec<_>>(),
                want.difference(&ours).collect::<Vec<_>>()
            ));
            continue;
        }
        // Pruned: every difference is reported, with an edge that wanted it.
        let pruned = s.resolve(&req, &ResolveOptions { prune: true }).unwrap();
        let kept: BTreeSet<&str> = pruned.paths.iter().map(|p| p.name.as_str()).collect();
        let reported: BTreeSet<&str> = pruned.pruned.iter().map(|p| p.name.as_str()).collect();
        let all: BTreeSet<&str> = full.paths.iter().map(|p| p.name.as_str()).collect();
        if !kept.is_disjoint(&reported)
            || kept.union(&reported).copied().collect::<BTreeSet<_>>() != all
        {
            failures.push(format!(
                "{pkg}: kept {kept:?} + pruned {reported:?} != {all:?}"
            ));
        }
        for p in &pruned.pruned {
            if !all.contains(p.wanted_by.as_str()) && p.wanted_by != "e2e" {
                failures.push(format!(
                    "{pkg}: {} wanted by unknown {}",
                    p.name, p.wanted_by
                ));
            }
        }
        // Why-chains of kept members end at the request.
        for p in &pruned.paths {
            let chain = pruned.why_chain(&p.name);
            if chain.last().map(|l| l.name.as_str()) != Some(pkg) {
                failures.push(format!("{pkg}: why-chain of {} does not reach it", p.name));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn nginx_closure_unpacks() {
    let s = store(false);
    let c = s
        .resolve(
            &[PackageRequest::new("nginx", "e2e")],
            &ResolveOptions::default(),
        )
        .unwrap();
    s.fetch(&c.paths).unwrap();
    let mut files = BTreeMap::new();
    for p in &c.paths {
        let u = s.unpack(p).unwrap();
        assert!(
            u.files.entries.contains_key(
                &ImagePath::new(&format!("var/lib/dpkg/status.d/{}", p.name)).unwrap()
            ),
            "{} has no status entry",
            p.name
        );
        for (path, e) in u.files.entries {
            files.insert(path.as_str().to_string(), e.kind);
        }
    }
    let is_file = |p: &str| matches!(files.get(p), Some(EntryKind::File { .. }));
    assert!(is_file("usr/sbin/nginx"));
    // libc6 ships /lib/x86_64-linux-gnu/...: placed under /usr (merged-/usr).
    assert!(is_file("usr/lib/x86_64-linux-gnu/libc.so.6"));
    assert!(matches!(
        files.get("usr/lib64/ld-linux-x86-64.so.2"),
        Some(EntryKind::Symlink { .. })
    ));
    assert!(
        !files
            .keys()
            .any(|k| k.starts_with("lib/") || k.starts_with("bin/"))
    );
    assert!(is_file("etc/nginx/nginx.conf"));
}
