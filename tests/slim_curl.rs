//! Pruning the real curl closure of this machine (Debian bookworm): the
//! packages `dpkg` says curl depends on, their installed files grouped by
//! `dpkg -L` ownership, and `libsqlite3-0`, which nothing in that closure
//! loads, `ca-certificates` with its dependencies, and `perl-base` (Essential,
//! so no Depends names it: added as a store would pull it for debconf's
//! scripts).

mod slim_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use scratchify::store::slim::{
    self, Edge, KeepReason, RequestedPolicy, Roots, SlimConfig, SlimPackage, SlimResult,
    SlimWarning,
};
use scratchify::tree::{EntryKind, FileTree, TreeEntry};
use slim_support::*;

fn packages() -> &'static [SlimPackage] {
    static P: OnceLock<Vec<SlimPackage>> = OnceLock::new();
    P.get_or_init(|| closure(&["curl", "libsqlite3-0", "ca-certificates", "perl-base"]))
}

fn curl_roots() -> Roots {
    let mut image_files = FileTree::new();
    image_files.insert(p("etc"), TreeEntry::dir(0o755));
    image_files.insert(
        p("etc/nsswitch.conf"),
        TreeEntry::bytes(b"passwd: files\nhosts: files dns\n".to_vec(), 0o644),
    );
    Roots {
        commands: vec![vec!["curl".into(), "--version".into()]],
        image_files,
        requested_packages: ["curl".to_string()].into(),
        ..Roots::default()
    }
}

fn reach_only() -> SlimConfig {
    SlimConfig {
        requested: RequestedPolicy::ReachOnly,
        ..SlimConfig::default()
    }
}

fn run(config: &SlimConfig) -> SlimResult {
    slim::slim(packages(), &curl_roots(), config).expect("slim runs")
}

fn kept_path(result: &SlimResult, path: &scratchify::tree::ImagePath) -> bool {
    result.kept_trees.values().any(|t| {
        t.entries
            .get(path)
            .is_some_and(|e| !matches!(e.kind, EntryKind::Dir))
    })
}

#[test]
fn ldd_resolution_matches_the_system_ldd() {
    let ours = slim::ldd(packages(), &curl_roots(), &p("usr/bin/curl")).unwrap();
    assert_eq!(ours.problem, None);
    let mut failures = Vec::new();
    let mut resolved = BTreeSet::new();
    for lib in &ours.libraries {
        match &lib.resolved {
            Some(r) => {
                resolved.insert(
                    std::fs::canonicalize(host(r)).expect("resolved path exists on the host"),
                );
            }
            None => failures.push(format!(
                "{} (needed by {}) not found",
                lib.soname, lib.needed_by
            )),
        }
    }
    let interp = ours.interpreter.clone().expect("curl has an interpreter");
    resolved.insert(std::fs::canonicalize(host(&interp)).unwrap());
    let system = system_ldd("/usr/bin/curl");
    for missing in system.difference(&resolved) {
        failures.push(format!(
            "ldd lists {} but our resolution does not",
            missing.display()
        ));
    }
    for extra in resolved.difference(&system) {
        failures.push(format!(
            "our resolution lists {} but ldd does not",
            extra.display()
        ));
    }
    assert!(system.len() > 20, "ldd lists {} paths", system.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn entrypoint_closure_is_kept_and_the_rest_goes() {
    let result = run(&reach_only());
    let pkgs = packages();
    let mut failures = Vec::new();

    // The whole DT_NEEDED closure of curl, and its interpreter, stay.
    let ldd = slim::ldd(pkgs, &curl_roots(), &p("usr/bin/curl")).unwrap();
    for lib in &ldd.libraries {
        let Some(path) = &lib.path else {
            failures.push(format!("{} not found", lib.soname));
            continue;
        };
        let resolution = [lib.resolved.clone().unwrap()];
        for r in resolution.iter() {
            if !kept_path(&result, r) {
                failures.push(format!("{} ({r}) is not in the kept trees", lib.soname));
            }
            let owner = owner_of(pkgs, r).unwrap_or("?");
            if !result.is_kept(owner) {
                failures.push(format!("package {owner} of {path} dropped"));
            }
        }
    }
    if !kept_path(&result, &ldd.interpreter.clone().unwrap()) {
        failures.push("the ELF interpreter is not kept".into());
    }
    if !kept_path(&result, &p("lib64/ld-linux-x86-64.so.2")) {
        failures.push("the PT_INTERP symlink /lib64/ld-linux-x86-64.so.2 is not kept".into());
    }
    if !kept_path(&result, &p("usr/bin/curl")) {
        failures.push("curl itself is not kept".into());
    }

    // curl reached as a command: its chain starts at the command.
    match &result
        .kept_packages
        .iter()
        .find(|k| k.name == "curl")
        .map(|k| &k.reason)
    {
        Some(KeepReason::Reached { chain }) => {
            if chain.first().map(|s| &s.edge) != Some(&Edge::Command { index: 0 }) {
                failures.push(format!(
                    "curl's chain does not start at the command: {chain:?}"
                ));
            }
        }
        other => failures.push(format!("curl kept for {other:?}")),
    }
    // libssl3 through DT_NEEDED.
    match result
        .kept_packages
        .iter()
        .find(|k| k.name == "libssl3")
        .map(|k| &k.reason)
    {
        Some(KeepReason::Reached { chain }) => {
            if !chain
                .iter()
                .any(|s| matches!(&s.edge, Edge::Needed { soname } if soname.starts_with("libssl")))
            {
                failures.push(format!("libssl3's chain has no DT_NEEDED step: {chain:?}"));
            }
        }
        other => failures.push(format!("libssl3 kept for {other:?}")),
    }
    // libgcc-s1 through the libgcc_s dlopen edge of glibc.
    match result
        .kept_packages
        .iter()
        .find(|k| k.name == "libgcc-s1")
        .map(|k| &k.reason)
    {
        Some(KeepReason::Reached { chain }) => {
            if !chain.iter().any(|s| {
                s.edge
                    == Edge::Dlopen {
                        rule: "dlopen/libgcc-s".into(),
                    }
            }) {
                failures.push(format!("libgcc-s1 chain: {chain:?}"));
            }
        }
        other => failures.push(format!("libgcc-s1 kept for {other:?}")),
    }
    // gcc-12-base has no ELF and libgcc-s1 depends on it.
    match result
        .kept_packages
        .iter()
        .find(|k| k.name == "gcc-12-base")
        .map(|k| &k.reason)
    {
        Some(KeepReason::DataDependency { of }) if of == "libgcc-s1" || of == "libc6" => {}
        other => failures.push(format!("gcc-12-base kept for {other:?}")),
    }

    // libsqlite3-0: nothing loads it.
    match result
        .dropped_packages
        .iter()
        .find(|d| d.name == "libsqlite3-0")
    {
        Some(d) => {
            let host_bytes: u64 = listed_paths("libsqlite3-0")
                .iter()
                .filter_map(|f| std::fs::symlink_metadata(f).ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum();
            if d.bytes != host_bytes
                || d.rule != "slim/unreachable-package"
                || !d.reason.contains("ELF")
            {
                failures.push(format!(
                    "libsqlite3-0 drop: {d:?} (host bytes {host_bytes})"
                ));
            }
        }
        None => failures.push("libsqlite3-0 was kept".into()),
    }
    // ca-certificates under reach-only: nothing names its files.
    for name in ["ca-certificates", "openssl"] {
        if result.is_kept(name) {
            failures.push(format!("{name} kept under reach-only"));
        }
    }

    if let Some(w) = result.warnings.iter().find(|w| {
        matches!(
            w,
            SlimWarning::LibraryNotFound { .. }
                | SlimWarning::Unresolved { .. }
                | SlimWarning::MalformedElf { .. }
        )
    }) {
        failures.push(format!("unexpected warning {w:?}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn docs_manuals_locales_and_gconv_go_with_exact_bytes_and_licences_stay() {
    let result = run(&reach_only());
    let pkgs = packages();
    let mut failures = Vec::new();
    let kept: Vec<&SlimPackage> = pkgs.iter().filter(|p| result.is_kept(&p.name)).collect();
    assert!(
        result.rule_overrides.is_empty(),
        "{:?}",
        result.rule_overrides
    );

    let expected = expected_rule_totals(&kept);
    for rule in [
        "slim/doc",
        "slim/man",
        "slim/locale",
        "slim/gconv",
        "slim/lintian",
        "slim/info",
        "slim/bug",
    ] {
        let want = expected.get(rule).copied().unwrap_or_default();
        let got = result
            .totals
            .get(rule)
            .map(|t| (t.items, t.bytes))
            .unwrap_or_default();
        if want != got {
            failures.push(format!(
                "{rule}: expected (items, bytes) {want:?}, got {got:?}"
            ));
        }
    }
    // The closure does carry each kind, so the comparison is not vacuous.
    for rule in [
        "slim/doc",
        "slim/man",
        "slim/locale",
        "slim/gconv",
        "slim/lintian",
    ] {
        if expected.get(rule).is_none_or(|t| t.1 == 0) {
            failures.push(format!("fixture has no {rule} bytes"));
        }
    }
    // Package drops total what the dropped packages hold.
    let dropped: u64 = result.dropped_packages.iter().map(|d| d.bytes).sum();
    if result
        .totals
        .get("slim/unreachable-package")
        .map(|t| t.bytes)
        != Some(dropped)
    {
        failures.push("unreachable-package total differs from the dropped packages".into());
    }
    // Every listed drop is gone from its kept tree; its bytes are the file's.
    for f in &result.dropped_files {
        if result.kept_trees[&f.package].entries.contains_key(&f.path) {
            failures.push(format!("{} dropped but still in the tree", f.path));
        }
        let host_len = std::fs::symlink_metadata(host(&f.path)).unwrap();
        let want = if host_len.is_file() {
            host_len.len()
        } else {
            0
        };
        if f.bytes != want {
            failures.push(format!(
                "{}: {} bytes reported, {want} on disk",
                f.path, f.bytes
            ));
        }
    }
    // Licences stay: every copyright file a kept package lists.
    let mut copyrights = 0;
    for pkg in &kept {
        for path in listed_paths(&pkg.name) {
            let ip = p(&path);
            if path.starts_with("/usr/share/doc/")
                && path.ends_with("/copyright")
                && path.matches('/').count() == 5
            {
                copyrights += 1;
                if !result.kept_trees[&pkg.name].entries.contains_key(&ip) {
                    failures.push(format!("{path} of {} dropped", pkg.name));
                }
            }
        }
        // Doc-directory symlinks stay with their package.
        for (path, e) in &pkg.tree.entries {
            if matches!(e.kind, EntryKind::Symlink { .. })
                && path.parent().is_some_and(|d| d.as_str() == "usr/share/doc")
                && !result.kept_trees[&pkg.name].entries.contains_key(path)
            {
                failures.push(format!("doc symlink {path} dropped"));
            }
        }
    }
    if copyrights < 10 {
        failures.push(format!("only {copyrights} copyright files checked"));
    }
    // glibc keeps its gconv configuration and no module.
    let libc = &result.kept_trees["libc6"];
    if !libc
        .entries
        .contains_key(&p("usr/lib/x86_64-linux-gnu/gconv/gconv-modules"))
    {
        failures.push("gconv-modules configuration dropped".into());
    }
    if let Some(m) = libc
        .entries
        .keys()
        .find(|k| k.as_str().contains("/gconv/") && k.as_str().ends_with(".so"))
    {
        failures.push(format!("gconv module {m} kept"));
    }
    // Emptied directories go, with their content.
    for (name, tree) in &result.kept_trees {
        for dir in ["usr/share/man", "usr/share/locale", "usr/share/lintian"] {
            if tree.entries.contains_key(&p(dir)) {
                failures.push(format!("{name} keeps the emptied {dir}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_package_with_unused_libraries_goes_even_when_a_kept_package_depends_on_it() {
    // Without the SASL plugin edge, nothing loads libsasldb.so: the package
    // goes although libsasl2-2 depends on it, and libdb5.3, which only
    // libsasldb needs, goes with it.
    let config = SlimConfig {
        disabled_rules: ["dlopen/sasl2-plugins".to_string()].into(),
        ..reach_only()
    };
    let result = run(&config);
    let d = result
        .dropped_packages
        .iter()
        .find(|d| d.name == "libsasl2-modules-db")
        .expect("libsasl2-modules-db dropped");
    assert!(d.reason.contains("libsasl2-2"), "{}", d.reason);
    assert!(d.reason.contains("ELF"), "{}", d.reason);
    assert!(result.dropped_packages.iter().any(|d| d.name == "libdb5.3"));
    assert!(result.is_kept("libsasl2-2"));

    // With the edge (the default), the plugin stays and so does libdb5.3.
    let result = run(&reach_only());
    assert!(result.is_kept("libsasl2-modules-db"));
    assert!(result.is_kept("libdb5.3"));
}

#[test]
fn requested_packages_stay_and_their_script_dependencies_do_not_pull_interpreters() {
    let config = SlimConfig::default();
    let mut roots = curl_roots();
    roots.requested_packages.insert("ca-certificates".into());
    let result = slim::slim(packages(), &roots, &config).unwrap();
    assert_eq!(
        result
            .kept_packages
            .iter()
            .find(|k| k.name == "ca-certificates")
            .map(|k| &k.reason),
        Some(&KeepReason::Requested)
    );
    // ca-certificates depends on openssl (programs) and debconf (perl
    // scripts): debconf stays as a data dependency, but no script is run,
    // so neither openssl nor perl-base does.
    assert!(result.is_kept("debconf"), "{:?}", result.dropped_packages);
    for name in ["openssl", "perl-base"] {
        let d = result.dropped_packages.iter().find(|d| d.name == name);
        assert!(
            d.is_some(),
            "{name} kept: {:?}",
            result.kept_packages.iter().find(|k| k.name == name)
        );
    }
    let openssl = result
        .dropped_packages
        .iter()
        .find(|d| d.name == "openssl")
        .unwrap();
    assert!(
        openssl.reason.contains("ca-certificates"),
        "{}",
        openssl.reason
    );
}

#[test]
fn configured_locales_and_gconv_modules_stay_and_needs_override_rules() {
    let config = SlimConfig {
        keep_locales: ["de".to_string()].into(),
        keep_gconv_modules: ["EUC-JP".to_string()].into(),
        ..reach_only()
    };
    let result = run(&config);
    let idn = &result.kept_trees["libidn2-0"];
    assert!(
        idn.entries
            .contains_key(&p("usr/share/locale/de/LC_MESSAGES/libidn2.mo"))
    );
    assert!(
        !idn.entries
            .contains_key(&p("usr/share/locale/fr/LC_MESSAGES/libidn2.mo"))
    );
    let libc = &result.kept_trees["libc6"];
    assert!(
        libc.entries
            .contains_key(&p("usr/lib/x86_64-linux-gnu/gconv/EUC-JP.so"))
    );
    // EUC-JP.so needs libJIS.so through DT_RUNPATH $ORIGIN: the gconv rule
    // matched it, the need overrides the rule, and the override is reported.
    assert!(
        libc.entries
            .contains_key(&p("usr/lib/x86_64-linux-gnu/gconv/libJIS.so"))
    );
    let o = result
        .rule_overrides
        .iter()
        .find(|o| o.path.as_str().ends_with("gconv/libJIS.so"))
        .expect("override recorded");
    assert_eq!(o.rule, "slim/gconv");
    assert!(
        o.chain.iter().any(|s| s.edge
            == Edge::Needed {
                soname: "libJIS.so".into()
            }),
        "{:?}",
        o.chain
    );
    assert!(
        !libc
            .entries
            .contains_key(&p("usr/lib/x86_64-linux-gnu/gconv/UTF-16.so"))
    );

    // A kept path overrides a rule too.
    let mut roots = curl_roots();
    roots
        .paths
        .push(p("usr/share/doc/curl/changelog.Debian.gz"));
    let result = slim::slim(packages(), &roots, &reach_only()).unwrap();
    assert!(
        result.kept_trees["curl"]
            .entries
            .contains_key(&p("usr/share/doc/curl/changelog.Debian.gz"))
    );
    assert!(
        result
            .rule_overrides
            .iter()
            .any(|o| o.rule == "slim/doc"
                && o.chain.first().map(|s| &s.edge) == Some(&Edge::RootPath))
    );
}

#[test]
fn disabling_package_pruning_keeps_every_package() {
    let config = SlimConfig {
        disabled_rules: [
            "slim/unreachable-package".to_string(),
            "slim/doc".to_string(),
        ]
        .into(),
        ..reach_only()
    };
    let result = run(&config);
    assert!(result.dropped_packages.is_empty());
    assert_eq!(result.kept_packages.len(), packages().len());
    assert!(!result.totals.contains_key("slim/doc"));
    assert!(result.totals.contains_key("slim/man"));
}

#[test]
fn results_are_deterministic() {
    let a = run(&reach_only());
    let b = run(&reach_only());
    assert_eq!(a, b);
    let names: BTreeMap<&str, u64> = a
        .kept_packages
        .iter()
        .map(|k| (k.name.as_str(), k.bytes))
        .collect();
    assert!(names.len() > 10);
}

#[test]
fn packages_kept_whole_keep_their_documentation() {
    let mut roots = curl_roots();
    roots.keep_whole_packages.insert("libsqlite3-0".into());
    roots.keep_whole_packages.insert("curl".into());
    let result = slim::slim(packages(), &roots, &reach_only()).unwrap();
    for name in ["libsqlite3-0", "curl"] {
        let pkg = packages().iter().find(|p| p.name == name).unwrap();
        assert_eq!(result.kept_trees[name], pkg.tree, "{name} is not whole");
        assert!(!result.dropped_files.iter().any(|f| f.package == name));
    }
    assert_eq!(
        result
            .kept_packages
            .iter()
            .find(|k| k.name == "libsqlite3-0")
            .map(|k| &k.reason),
        Some(&KeepReason::KeepWhole)
    );
}

#[test]
fn a_copyright_behind_a_doc_symlink_into_a_dropped_package_is_copied() {
    // libgcc-s1's /usr/share/doc/libgcc-s1 is a symlink to gcc-12-base.
    // Cut the dependency edge so that gcc-12-base goes: the licence must
    // still reach the image, inside libgcc-s1's tree.
    let pkgs: Vec<SlimPackage> = packages()
        .iter()
        .cloned()
        .map(|mut p| {
            if p.name == "libgcc-s1" {
                p.depends.clear();
            }
            p
        })
        .collect();
    let link = p("usr/share/doc/libgcc-s1");
    assert!(matches!(
        pkgs.iter()
            .find(|p| p.name == "libgcc-s1")
            .unwrap()
            .tree
            .entries[&link]
            .kind,
        EntryKind::Symlink { .. }
    ));
    let result = slim::slim(&pkgs, &curl_roots(), &reach_only()).unwrap();
    assert!(!result.is_kept("gcc-12-base"));
    let copy = result
        .licence_copies
        .iter()
        .find(|c| c.package == "libgcc-s1")
        .expect("licence copied");
    assert_eq!(copy.from_package, "gcc-12-base");
    assert_eq!(copy.path, p("usr/share/doc/libgcc-s1/copyright"));
    let tree = &result.kept_trees["libgcc-s1"];
    assert_eq!(tree.entries[&link].kind, EntryKind::Dir);
    match &tree.entries[&copy.path].kind {
        EntryKind::File {
            source: scratchify::tree::FileSource::Disk(d),
            size,
        } => {
            assert_eq!(
                std::fs::canonicalize(d).unwrap(),
                std::fs::canonicalize("/usr/share/doc/gcc-12-base/copyright").unwrap()
            );
            assert_eq!(*size, std::fs::metadata(d).unwrap().len());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_image_file_over_a_package_file_keeps_nothing_of_the_package() {
    // The image carries its own /etc/ssl/openssl.cnf (openssl ships one):
    // keeping that path keeps the image's file, not the openssl package.
    let mut roots = curl_roots();
    roots
        .image_files
        .insert(p("etc/ssl"), TreeEntry::dir(0o755));
    roots.image_files.insert(
        p("etc/ssl/openssl.cnf"),
        TreeEntry::bytes(b"# mine\n".to_vec(), 0o644),
    );
    roots.paths.push(p("etc/ssl/openssl.cnf"));
    let result = slim::slim(packages(), &roots, &reach_only()).unwrap();
    assert!(!result.is_kept("openssl"));
    // Without the image file, the same kept path keeps openssl.
    let mut roots = curl_roots();
    roots.paths.push(p("etc/ssl/openssl.cnf"));
    let result = slim::slim(packages(), &roots, &reach_only()).unwrap();
    assert!(result.is_kept("openssl"));
}
