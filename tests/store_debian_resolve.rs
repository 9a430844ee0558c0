//! Resolution against a generated repository (real .deb files, real
//! Packages indices, a signed InRelease) served on 127.0.0.1.

#[path = "fixtures/debian/repo.rs"]
mod repo;

use std::path::PathBuf;
use std::sync::OnceLock;

use repo::{Pkg, Repo, Server};
use scratchify::store::debian::{DebianConfig, DebianStore};
use scratchify::store::{
    Closure, DepKind, PackageRequest, PruneRule, ResolveOptions, Store, StoreError,
    VersionConstraint, Why,
};

struct Universe {
    repo: Repo,
    server: Server,
}

fn universe() -> &'static Universe {
    static U: OnceLock<Universe> = OnceLock::new();
    U.get_or_init(|| {
        let mut repo = Repo::new();
        let main = vec![
            // Version order across suites: the security suite's epoch wins.
            Pkg::new("ver", "1.0-1"),
            Pkg::new("tilde", "2.0~rc1-1"),
            Pkg::new("tilde", "2.0-1"),
            Pkg::new("tilde", "2.0-1~bpo1"),
            // Alternatives: first satisfiable.
            Pkg::new("alt-user", "1").depends("missing-pkg | alt-b | alt-c"),
            Pkg::new("alt-b", "1"),
            Pkg::new("alt-c", "1"),
            // Preferring an alternative already chosen.
            Pkg::new("pref", "1").depends("alt-y, alt-x | alt-y"),
            Pkg::new("alt-x", "1"),
            Pkg::new("alt-y", "1"),
            // Virtuals.
            Pkg::new("virt-user", "1").depends("mta"),
            Pkg::new("mta-a", "1").field("Provides", "mta"),
            Pkg::new("mta-b", "1").field("Provides", "mta"),
            Pkg::new("virt-single", "1").depends("editor"),
            Pkg::new("ed1", "1").field("Provides", "editor"),
            Pkg::new("realvirt", "1").depends("thing"),
            Pkg::new("thing", "1"),
            Pkg::new("thing-alt", "1").field("Provides", "thing"),
            Pkg::new("vp-user", "1").depends("libfoo-abi (>= 2)"),
            Pkg::new("libfoo1", "1").field("Provides", "libfoo-abi (= 1)"),
            Pkg::new("libfoo2", "2").field("Provides", "libfoo-abi (= 2)"),
            // Cycles.
            Pkg::new("cyc-a", "1").depends("cyc-b"),
            Pkg::new("cyc-b", "1").depends("cyc-a, cyc-c"),
            Pkg::new("cyc-c", "1").depends("cyc-a"),
            // Pre-Depends.
            Pkg::new("pre", "1")
                .field("Pre-Depends", "pre-dep (>= 1.5)")
                .depends("dep-after"),
            Pkg::new("pre-dep", "1.4"),
            Pkg::new("pre-dep", "1.6"),
            Pkg::new("dep-after", "1"),
            // Multi-Arch :any.
            Pkg::new("any-user", "1").depends("tool:any"),
            Pkg::new("tool", "1").field("Multi-Arch", "allowed"),
            Pkg::new("any-bad", "1").depends("plain:any"),
            Pkg::new("plain", "1"),
            // Recommends.
            Pkg::new("rec", "1")
                .depends("rec-dep")
                .field("Recommends", "rec-extra, rec-missing"),
            Pkg::new("rec-dep", "1"),
            Pkg::new("rec-extra", "1").depends("rec-extra-dep"),
            Pkg::new("rec-extra-dep", "1"),
            // Essential packages are not added on their own.
            Pkg::new("ess", "1").field("Essential", "yes"),
            Pkg::new("needs-ess", "1").depends("ess"),
            // Architecture: all.
            Pkg::new("data", "1").arch("all"),
            Pkg::new("uses-data", "1").depends("data (>= 1)"),
            // Pruning: script-only packages.
            Pkg::new("daemon", "1").depends("debconf (>= 0.5) | debconf-2.0, libd, adduser"),
            Pkg::new("libd", "1"),
            Pkg::new("debconf", "1.5")
                .arch("all")
                .field("Pre-Depends", "perl-base (>= 5.20)")
                .field("Provides", "debconf-2.0"),
            Pkg::new("perl-base", "5.36").field("Essential", "yes"),
            Pkg::new("perl", "5.36").depends("perl-base (= 5.36)"),
            Pkg::new("adduser", "3").arch("all").depends("passwd"),
            Pkg::new("passwd", "1").depends("libd"),
            Pkg::new("merged-user", "1").depends("usrmerge | usr-is-merged"),
            Pkg::new("usrmerge", "1").depends("perl"),
            // Conflicts steer alternatives.
            Pkg::new("conf-a", "1").field("Conflicts", "conf-b"),
            Pkg::new("conf-b", "1"),
            Pkg::new("conf-c", "1"),
            Pkg::new("conf-user", "1").depends("conf-b | conf-c"),
            // Errors.
            Pkg::new("needs-missing", "1").depends("nowhere (>= 1)"),
            Pkg::new("needs-new", "1").depends("libd (>= 2)"),
        ];
        repo.suite("bookworm", &main);
        repo.suite("bookworm-updates", &[Pkg::new("ver", "1.0-1+deb12u1")]);
        repo.suite("bookworm-security", &[Pkg::new("ver", "1:0.9-1")]);
        let server = Server::serve(&repo.root());
        Universe { repo, server }
    })
}

fn config(mirror: &str, cache: PathBuf) -> DebianConfig {
    DebianConfig {
        components: Some(vec!["main".into()]),
        ..repo::store_config(mirror, &universe().repo.keyring, &cache, "bookworm")
    }
}

fn store() -> (DebianStore, tempfile::TempDir) {
    let cache = tempfile::tempdir().unwrap();
    let s = DebianStore::new(config(&universe().server.url, cache.path().to_path_buf())).unwrap();
    (s, cache)
}

fn req(name: &str) -> PackageRequest {
    PackageRequest::new(name, "test")
}

fn resolve(names: &[&str], prune: bool) -> Result<Closure, StoreError> {
    let (s, _c) = store();
    let reqs: Vec<_> = names.iter().map(|n| req(n)).collect();
    s.resolve(&reqs, &ResolveOptions { prune })
}

fn names(c: &Closure) -> Vec<String> {
    c.paths.iter().map(|p| p.name.clone()).collect()
}

fn version_of(c: &Closure, name: &str) -> String {
    c.get(name)
        .unwrap_or_else(|| panic!("{name} not in {:?}", names(c)))
        .version
        .clone()
}

#[test]
fn highest_version_across_suites_with_epochs() {
    let c = resolve(&["ver"], false).unwrap();
    assert_eq!(version_of(&c, "ver"), "1:0.9-1");
    assert_eq!(c.get("ver").unwrap().suite, "bookworm-security");
    // Constraints pick older versions.
    let (s, _d) = store();
    let mut r = req("ver");
    r.version = Some(VersionConstraint::parse("<< 1:0").unwrap());
    let c = s.resolve(&[r], &ResolveOptions::default()).unwrap();
    assert_eq!(version_of(&c, "ver"), "1.0-1+deb12u1");
    let r = PackageRequest::from_apt_argument("ver=1.0-1", "test").unwrap();
    let c = s.resolve(&[r], &ResolveOptions::default()).unwrap();
    assert_eq!(version_of(&c, "ver"), "1.0-1");
    // ~ sorts before the release and before the empty string.
    let c = resolve(&["tilde"], false).unwrap();
    assert_eq!(version_of(&c, "tilde"), "2.0-1");
    let r = PackageRequest::from_apt_argument("ver=9", "test").unwrap();
    let err = s.resolve(&[r], &ResolveOptions::default()).unwrap_err();
    assert!(err.to_string().contains("no version fits"), "{err}");
}

#[test]
fn alternatives_first_satisfiable() {
    let c = resolve(&["alt-user"], false).unwrap();
    assert_eq!(names(&c), ["alt-b", "alt-user"]);
    let edge = &c.get("alt-user").unwrap().depends[0];
    assert_eq!(edge.relation, "missing-pkg | alt-b | alt-c");
}

#[test]
fn alternatives_prefer_chosen() {
    let c = resolve(&["pref"], false).unwrap();
    assert_eq!(names(&c), ["alt-y", "pref"]);
    // Requests are marked first, so a later request decides an earlier
    // package's alternative too.
    let c = resolve(&["alt-user", "alt-c"], false).unwrap();
    assert_eq!(names(&c), ["alt-c", "alt-user"]);
}

#[test]
fn virtual_packages() {
    // Several providers, none chosen: an error naming them.
    match resolve(&["virt-user"], false) {
        Err(StoreError::Ambiguous {
            name,
            providers,
            wanted_by,
        }) => {
            assert_eq!(name, "mta");
            assert_eq!(providers, ["mta-a", "mta-b"]);
            assert_eq!(wanted_by, "virt-user");
        }
        other => panic!("expected an ambiguity error, got {other:?}"),
    }
    // Choosing one explicitly resolves it.
    let c = resolve(&["virt-user", "mta-b"], false).unwrap();
    assert_eq!(names(&c), ["mta-b", "virt-user"]);
    // A single provider is used.
    let c = resolve(&["virt-single"], false).unwrap();
    assert_eq!(names(&c), ["ed1", "virt-single"]);
    // A real package beats a provider of its name.
    let c = resolve(&["realvirt"], false).unwrap();
    assert_eq!(names(&c), ["realvirt", "thing"]);
    // Versioned provides narrow the providers.
    let c = resolve(&["vp-user"], false).unwrap();
    assert_eq!(names(&c), ["libfoo2", "vp-user"]);
    // A virtual requested by name with one provider.
    let c = resolve(&["editor"], false).unwrap();
    assert_eq!(names(&c), ["ed1"]);
    assert!(matches!(
        resolve(&["mta"], false),
        Err(StoreError::Ambiguous { .. })
    ));
}

#[test]
fn cycles_terminate_with_why_chains() {
    let c = resolve(&["cyc-a"], false).unwrap();
    assert_eq!(names(&c), ["cyc-a", "cyc-b", "cyc-c"]);
    let chain: Vec<&str> = c
        .why_chain("cyc-c")
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(chain, ["cyc-c", "cyc-b", "cyc-a"]);
    assert!(
        matches!(&c.get("cyc-a").unwrap().why, Why::Requested { origin, .. } if origin == "test")
    );
}

#[test]
fn pre_depends_with_version() {
    let c = resolve(&["pre"], false).unwrap();
    assert_eq!(names(&c), ["dep-after", "pre", "pre-dep"]);
    assert_eq!(version_of(&c, "pre-dep"), "1.6");
    let p = c.get("pre").unwrap();
    assert_eq!(p.depends[0].kind, DepKind::PreDepends);
    assert_eq!(p.depends[0].relation, "pre-dep (>= 1.5)");
    assert_eq!(p.depends[1].kind, DepKind::Depends);
}

#[test]
fn multi_arch_any() {
    let c = resolve(&["any-user"], false).unwrap();
    assert_eq!(names(&c), ["any-user", "tool"]);
    let err = resolve(&["any-bad"], false).unwrap_err();
    assert!(
        matches!(&err, StoreError::Unsatisfiable { relation, .. } if relation == "plain:any"),
        "{err}"
    );
    // Another architecture is not configured.
    let (s, _d) = store();
    let r = PackageRequest::from_apt_argument("tool:i386", "test").unwrap();
    let err = s.resolve(&[r], &ResolveOptions::default()).unwrap_err();
    assert!(err.to_string().contains("not configured"), "{err}");
}

#[test]
fn recommends_only_when_asked_and_reported() {
    let c = resolve(&["rec"], false).unwrap();
    assert_eq!(names(&c), ["rec", "rec-dep"]);
    let skipped: Vec<&str> = c
        .recommendations
        .iter()
        .filter(|r| r.by == "rec" && r.skipped.is_some())
        .map(|r| r.relation.as_str())
        .collect();
    assert_eq!(skipped, ["rec-extra", "rec-missing"]);

    let (s, _d) = store();
    let mut r = req("rec");
    r.install_recommends = true;
    let c = s.resolve(&[r], &ResolveOptions::default()).unwrap();
    assert_eq!(names(&c), ["rec", "rec-dep", "rec-extra", "rec-extra-dep"]);
    let extra = c.get("rec-extra").unwrap();
    assert!(matches!(&extra.why, Why::Needed { kind: DepKind::Recommends, by, .. } if by == "rec"));
    // The unsatisfiable one is reported, not fatal.
    let missing = c
        .recommendations
        .iter()
        .find(|r| r.relation == "rec-missing")
        .unwrap();
    assert!(missing.satisfied_by.is_none() && missing.skipped.is_some());
}

#[test]
fn essential_only_when_needed_and_arch_all() {
    let c = resolve(&["libd"], false).unwrap();
    assert_eq!(names(&c), ["libd"]);
    let c = resolve(&["needs-ess"], false).unwrap();
    assert_eq!(names(&c), ["ess", "needs-ess"]);
    assert!(c.get("ess").unwrap().essential);
    let c = resolve(&["uses-data"], false).unwrap();
    assert_eq!(c.get("data").unwrap().arch, "all");
}

#[test]
fn pruning_script_only_packages() {
    let full = resolve(&["daemon"], false).unwrap();
    assert_eq!(
        names(&full),
        [
            "adduser",
            "daemon",
            "debconf",
            "libd",
            "passwd",
            "perl-base"
        ]
    );
    let c = resolve(&["daemon"], true).unwrap();
    assert_eq!(names(&c), ["daemon", "libd"]);
    let pruned: Vec<(&str, &str)> = c
        .pruned
        .iter()
        .map(|p| (p.name.as_str(), p.wanted_by.as_str()))
        .collect();
    assert_eq!(
        pruned,
        [
            ("adduser", "daemon"),
            ("debconf", "daemon"),
            ("passwd", "adduser"),
            ("perl-base", "debconf")
        ]
    );
    let debconf = c.pruned.iter().find(|p| p.name == "debconf").unwrap();
    assert_eq!(debconf.relation, "debconf (>= 0.5) | debconf-2.0");
    assert!(matches!(debconf.rule, PruneRule::ScriptOnly { .. }));
    let passwd = c.pruned.iter().find(|p| p.name == "passwd").unwrap();
    assert_eq!(passwd.rule, PruneRule::OnlyWantedByPruned);
    // Every difference between the full and the pruned closure is reported.
    let mut all: Vec<String> = names(&c);
    all.extend(c.pruned.iter().map(|p| p.name.clone()));
    all.sort();
    assert_eq!(all, names(&full));
    // A run-time user keeps perl-base; a request keeps debconf.
    let c = resolve(&["daemon", "perl", "debconf"], true).unwrap();
    assert_eq!(
        names(&c),
        ["daemon", "debconf", "libd", "perl", "perl-base"]
    );
    // The edge from libd stays after pruning; the edges into pruned ones go.
    let daemon = c.get("daemon").unwrap();
    assert!(daemon.depends.iter().all(|e| e.to != "adduser"));
}

#[test]
fn pruning_marked_groups() {
    let full = resolve(&["merged-user"], false).unwrap();
    assert_eq!(
        names(&full),
        ["merged-user", "perl", "perl-base", "usrmerge"]
    );
    let c = resolve(&["merged-user"], true).unwrap();
    assert_eq!(names(&c), ["merged-user"]);
    let usrmerge = c.pruned.iter().find(|p| p.name == "usrmerge").unwrap();
    assert_eq!(usrmerge.wanted_by, "merged-user");
}

#[test]
fn conflicts_steer_alternatives() {
    let c = resolve(&["conf-a", "conf-user"], false).unwrap();
    assert_eq!(names(&c), ["conf-a", "conf-c", "conf-user"]);
    let err = resolve(&["conf-a", "conf-b"], false).unwrap_err();
    assert!(err.to_string().contains("conflicts with conf-a"), "{err}");
}

#[test]
fn errors_name_the_chain() {
    match resolve(&["nope"], false) {
        Err(StoreError::NoSuchPackage {
            name, wanted_by, ..
        }) => {
            assert_eq!((name.as_str(), wanted_by.as_str()), ("nope", "test"));
        }
        other => panic!("{other:?}"),
    }
    match resolve(&["needs-missing"], false) {
        Err(StoreError::Unsatisfiable {
            relation,
            wanted_by,
            ..
        }) => {
            assert_eq!(relation, "nowhere (>= 1)");
            assert_eq!(wanted_by, "needs-missing");
        }
        other => panic!("{other:?}"),
    }
    let err = resolve(&["needs-new"], false).unwrap_err();
    assert!(err.to_string().contains("no version of libd fits"), "{err}");
}

#[test]
fn closure_members_carry_store_paths() {
    let u = universe();
    let c = resolve(&["uses-data"], false).unwrap();
    for p in &c.paths {
        let built = u
            .repo
            .built
            .values()
            .find(|b| b.name == p.name && b.version == p.version)
            .unwrap();
        assert_eq!(p.sha256, built.sha256);
        assert_eq!(p.download_size, built.size);
        assert_eq!(p.installed_size, 1024);
        assert_eq!(p.filename, built.filename);
        assert_eq!(p.repository, u.server.url);
    }
    assert_eq!(c.indices.len(), 3);
    assert!(
        c.indices
            .iter()
            .all(|i| i.date == "Sat, 10 Aug 2024 09:17:38 UTC")
    );
}

#[test]
fn file_urls_work_like_http() {
    let u = universe();
    let cache = tempfile::tempdir().unwrap();
    let s = DebianStore::new(config(&u.repo.file_url(), cache.path().to_path_buf())).unwrap();
    let c = s
        .resolve(&[req("pre")], &ResolveOptions::default())
        .unwrap();
    assert_eq!(names(&c), ["dep-after", "pre", "pre-dep"]);
    s.fetch(&c.paths).unwrap();
    for p in &c.paths {
        assert!(cache.path().join("blobs/sha256").join(&p.sha256).is_file());
    }
}

#[test]
fn warm_cache_avoids_the_network() {
    let u = universe();
    // Its own server, so other tests' requests do not count.
    let server = Server::serve(&u.repo.root());
    let cache = tempfile::tempdir().unwrap();
    let s = DebianStore::new(config(&server.url, cache.path().to_path_buf())).unwrap();
    s.resolve(&[req("ver")], &ResolveOptions::default())
        .unwrap();
    assert_eq!(server.requested("binary-amd64/Packages.xz"), 3);
    assert_eq!(server.requested("/InRelease"), 3);
    // A new store on the same cache: fresh Release, cached indices.
    let s = DebianStore::new(config(&server.url, cache.path().to_path_buf())).unwrap();
    s.resolve(&[req("ver")], &ResolveOptions::default())
        .unwrap();
    assert_eq!(server.requested("/InRelease"), 3);
    assert_eq!(server.requested("binary-amd64/Packages.xz"), 3);
    // --refresh fetches the Release again, but the index is unchanged.
    let mut c = config(&server.url, cache.path().to_path_buf());
    c.refresh = true;
    let s = DebianStore::new(c).unwrap();
    s.resolve(&[req("ver")], &ResolveOptions::default())
        .unwrap();
    assert_eq!(server.requested("/InRelease"), 6);
    assert_eq!(server.requested("binary-amd64/Packages.xz"), 3);
    // Offline works from the cache alone, and fails without it.
    let mut c = config(&server.url, cache.path().to_path_buf());
    c.offline = true;
    let s = DebianStore::new(c).unwrap();
    assert!(s.resolve(&[req("ver")], &ResolveOptions::default()).is_ok());
    let empty = tempfile::tempdir().unwrap();
    let mut c = config(&server.url, empty.path().to_path_buf());
    c.offline = true;
    let s = DebianStore::new(c).unwrap();
    assert!(
        s.resolve(&[req("ver")], &ResolveOptions::default())
            .is_err()
    );
    assert_eq!(server.requested("/InRelease"), 6);
}
