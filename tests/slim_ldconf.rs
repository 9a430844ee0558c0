//! Library search through /etc/ld.so.conf(.d): the real bzip2 and libbz2
//! binaries of this machine, with libbz2 moved to a directory only the
//! loader configuration names (as a vendor package installs it).

mod slim_support;

use scratchify::store::slim::{
    self, Edge, RequestedPolicy, Roots, SlimConfig, SlimPackage, SlimWarning,
};
use scratchify::tree::{EntryKind, FileSource, FileTree, TreeEntry};
use slim_support::*;

fn disk(path: &str, mode: u32) -> TreeEntry {
    TreeEntry {
        kind: EntryKind::File {
            source: FileSource::Disk(path.into()),
            size: std::fs::metadata(path).unwrap().len(),
        },
        mode,
        uid: 0,
        gid: 0,
    }
}

/// A vendor package: bzip2 in /usr/bin, libbz2 in /opt/bzlib, and the
/// loader configuration naming /opt/bzlib (in ld.so.conf.d, or through an
/// `include` in ld.so.conf).
fn vendor(with_include: bool) -> SlimPackage {
    let mut t = FileTree::new();
    for d in [
        "etc",
        "etc/ld.so.conf.d",
        "opt",
        "opt/bzlib",
        "usr",
        "usr/bin",
    ] {
        t.insert(p(d), TreeEntry::dir(0o755));
    }
    t.insert(p("usr/bin/bzip2"), disk("/usr/bin/bzip2", 0o755));
    t.insert(
        p("opt/bzlib/libbz2.so.1.0"),
        disk("/lib/x86_64-linux-gnu/libbz2.so.1.0", 0o644),
    );
    t.insert(
        p("etc/ld.so.conf.d/bzlib.conf"),
        TreeEntry::bytes(b"# vendor\n/opt/bzlib\n".to_vec(), 0o644),
    );
    if with_include {
        t.insert(
            p("etc/ld.so.conf"),
            TreeEntry::bytes(b"include /etc/ld.so.conf.d/*.conf\n".to_vec(), 0o644),
        );
    }
    SlimPackage {
        name: "vendor-bzip2".into(),
        depends: vec!["libc6".into()],
        tree: t,
    }
}

fn run(packages: &[SlimPackage], image_files: FileTree) -> slim::SlimResult {
    let roots = Roots {
        commands: vec![vec!["bzip2".into()]],
        image_files,
        ..Roots::default()
    };
    let config = SlimConfig {
        requested: RequestedPolicy::ReachOnly,
        ..SlimConfig::default()
    };
    slim::slim(packages, &roots, &config).unwrap()
}

#[test]
fn configured_directories_are_searched_before_the_defaults_and_flagged_without_a_cache() {
    for with_include in [false, true] {
        let packages = vec![
            vendor(with_include),
            package("libc6"),
            package("libbz2-1.0"),
        ];
        let result = run(&packages, FileTree::new());
        // /opt/bzlib comes from the configuration and wins over the
        // default /lib/x86_64-linux-gnu copy, as with ld.so.cache.
        let why = result.why(&p("opt/bzlib/libbz2.so.1.0"));
        assert_eq!(
            why.last().map(|s| &s.edge),
            Some(&Edge::Needed {
                soname: "libbz2.so.1.0".into()
            }),
            "include={with_include}: {why:?}"
        );
        assert!(!result.is_kept("libbz2-1.0"), "include={with_include}");
        assert!(result.is_kept("libc6"));
        // Without /etc/ld.so.cache the loader never reads the configuration.
        assert!(
            result.warnings.iter().any(|w| matches!(w,
                SlimWarning::LibraryViaLdSoConf { library, dir, .. }
                    if library.as_str() == "opt/bzlib/libbz2.so.1.0" && dir == "/opt/bzlib")),
            "include={with_include}: {:?}",
            result.warnings
        );

        // With a cache in the image, no warning.
        let mut image = FileTree::new();
        image.insert(p("etc"), TreeEntry::dir(0o755));
        image.insert(
            p("etc/ld.so.cache"),
            TreeEntry::bytes(b"cache".to_vec(), 0o644),
        );
        let result = run(&packages, image);
        assert!(
            !result
                .warnings
                .iter()
                .any(|w| matches!(w, SlimWarning::LibraryViaLdSoConf { .. })),
            "{:?}",
            result.warnings
        );
    }
}

#[test]
fn without_configuration_the_default_directories_serve() {
    let mut v = vendor(false);
    v.tree.entries.remove(&p("etc/ld.so.conf.d/bzlib.conf"));
    let packages = vec![v, package("libc6"), package("libbz2-1.0")];
    let result = run(&packages, FileTree::new());
    assert!(result.is_kept("libbz2-1.0"));
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
    // ldd over the same trees agrees with the system's ldd on bzip2.
    let l = slim::ldd(&packages, &Roots::default(), &p("usr/bin/bzip2")).unwrap();
    let mut ours: std::collections::BTreeSet<_> = l
        .libraries
        .iter()
        .map(|e| std::fs::canonicalize(host(e.resolved.as_ref().unwrap())).unwrap())
        .collect();
    ours.insert(std::fs::canonicalize(host(l.interpreter.as_ref().unwrap())).unwrap());
    assert_eq!(ours, system_ldd("/usr/bin/bzip2"));
}
