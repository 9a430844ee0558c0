//! Scripts, shebangs and symlink chains over the real python3 closure of
//! this machine, plus coreutils for `env`: an application script run through
//! `#!/usr/bin/env python3` behind two symlinks, and a health check run
//! through `#!/usr/bin/python3 -u`.

mod slim_support;

use std::sync::OnceLock;

use scratchify::store::slim::{
    self, Edge, KeepReason, RequestedPolicy, Roots, SlimConfig, SlimPackage, SlimResult,
    SlimWarning, Step,
};
use scratchify::tree::{FileTree, TreeEntry};
use slim_support::*;

fn packages() -> &'static [SlimPackage] {
    static P: OnceLock<Vec<SlimPackage>> = OnceLock::new();
    P.get_or_init(|| closure(&["python3", "coreutils"]))
}

fn image_files() -> FileTree {
    let mut t = FileTree::new();
    for d in ["app", "app/bin", "usr", "usr/local", "usr/local/bin"] {
        t.insert(p(d), TreeEntry::dir(0o755));
    }
    t.insert(
        p("app/run.py"),
        TreeEntry::bytes(b"#!/usr/bin/env python3\nimport sqlite3\n".to_vec(), 0o755),
    );
    t.insert(
        p("app/health.py"),
        TreeEntry::bytes(b"#!/usr/bin/python3 -u\nprint('ok')\n".to_vec(), 0o755),
    );
    t.insert(p("app/bin/start"), TreeEntry::symlink("../run.py"));
    t.insert(p("usr/local/bin/app"), TreeEntry::symlink("/app/bin/start"));
    t
}

fn result() -> &'static SlimResult {
    static R: OnceLock<SlimResult> = OnceLock::new();
    R.get_or_init(|| {
        let roots = Roots {
            commands: vec![vec!["app".into()], vec!["/app/health.py".into()]],
            image_files: image_files(),
            ..Roots::default()
        };
        let config = SlimConfig {
            requested: RequestedPolicy::ReachOnly,
            ..SlimConfig::default()
        };
        slim::slim(packages(), &roots, &config).expect("slim runs")
    })
}

fn chain_of(result: &SlimResult, package: &str) -> Vec<Step> {
    match result
        .kept_packages
        .iter()
        .find(|k| k.name == package)
        .map(|k| &k.reason)
    {
        Some(KeepReason::Reached { chain }) => chain.clone(),
        other => panic!("{package} kept for {other:?}"),
    }
}

fn render(chain: &[Step]) -> String {
    chain
        .iter()
        .map(|s| format!("{} [{:?}]", s.path, s.edge))
        .collect::<Vec<_>>()
        .join(" -> ")
}

#[test]
fn env_shebang_behind_a_symlink_chain_keeps_env_and_python() {
    let r = result();
    let mut failures = Vec::new();

    // coreutils for /usr/bin/env: command -> link -> link -> script -> env.
    let chain = chain_of(r, "coreutils");
    let paths: Vec<&str> = chain.iter().map(|s| s.path.as_str()).collect();
    let want = [
        "usr/local/bin/app",
        "app/bin/start",
        "app/run.py",
        "usr/bin/env",
    ];
    if paths != want {
        failures.push(format!("coreutils chain {}", render(&chain)));
    }
    let edges: Vec<&Edge> = chain.iter().map(|s| &s.edge).collect();
    if edges
        != [
            &Edge::Command { index: 0 },
            &Edge::Symlink,
            &Edge::Symlink,
            &Edge::Shebang,
        ]
    {
        failures.push(format!("coreutils edges {}", render(&chain)));
    }

    // python3-minimal ships the /usr/bin/python3 symlink that `env python3`
    // finds in PATH; python3.11-minimal ships its target.
    let chain = chain_of(r, "python3-minimal");
    if chain.last().map(|s| (s.path.as_str(), &s.edge)) != Some(("usr/bin/python3", &Edge::Shebang))
    {
        failures.push(format!("python3-minimal chain {}", render(&chain)));
    }
    let chain = chain_of(r, "python3.11-minimal");
    if chain.last().map(|s| s.path.as_str()) != Some("usr/bin/python3.11") {
        failures.push(format!("python3.11-minimal chain {}", render(&chain)));
    }

    // The standard library through the dlopen edge; sqlite through the
    // _sqlite3 extension module's DT_NEEDED.
    let chain = chain_of(r, "libpython3.11-stdlib");
    if !chain.iter().any(|s| {
        s.edge
            == Edge::Dlopen {
                rule: "dlopen/python-stdlib".into(),
            }
    }) {
        failures.push(format!("stdlib chain {}", render(&chain)));
    }
    let chain = chain_of(r, "libsqlite3-0");
    let needed = chain.iter().position(|s| {
        s.edge
            == Edge::Needed {
                soname: "libsqlite3.so.0".into(),
            }
    });
    match needed.and_then(|i| chain.get(i.wrapping_sub(1))) {
        Some(prev) if prev.path.as_str().contains("lib-dynload/_sqlite3") => {}
        _ => failures.push(format!("libsqlite3-0 chain {}", render(&chain))),
    }
    for path in [
        "usr/lib/python3.11/os.py",
        "usr/lib/python3.11/sqlite3/__init__.py",
    ] {
        if !r
            .kept_trees
            .values()
            .any(|t| t.entries.contains_key(&p(path)))
        {
            failures.push(format!("{path} not kept"));
        }
    }

    // media-types has no ELF; python3.11 and libpython3.11-stdlib depend on
    // it (mimetypes reads /etc/mime.types).
    match r
        .kept_packages
        .iter()
        .find(|k| k.name == "media-types")
        .map(|k| &k.reason)
    {
        Some(KeepReason::DataDependency { of })
            if of == "python3.11" || of == "libpython3.11-stdlib" => {}
        other => failures.push(format!("media-types kept for {other:?}")),
    }

    // dpkg: python3-minimal depends on it, nothing runs it.
    match r.dropped_packages.iter().find(|d| d.name == "dpkg") {
        Some(d) if d.reason.contains("python3-minimal") => {}
        other => failures.push(format!("dpkg: {other:?}")),
    }

    // The health check's direct shebang reaches python3 as well.
    let why = r.why(&p("app/health.py"));
    if why.first().map(|s| &s.edge) != Some(&Edge::Command { index: 1 }) {
        failures.push(format!("health.py why {}", render(&why)));
    }

    for w in &r.warnings {
        if matches!(
            w,
            SlimWarning::Unresolved { .. }
                | SlimWarning::LibraryNotFound { .. }
                | SlimWarning::MalformedElf { .. }
        ) {
            failures.push(format!("warning {w:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn coreutils_locales_go_and_every_kept_elf_has_its_libraries() {
    let r = result();
    let mut failures = Vec::new();
    let coreutils = &r.kept_trees["coreutils"];
    if coreutils
        .entries
        .keys()
        .any(|k| k.as_str().starts_with("usr/share/locale/"))
    {
        failures.push("coreutils keeps translations".into());
    }
    let kept_packages: Vec<&SlimPackage> =
        packages().iter().filter(|p| r.is_kept(&p.name)).collect();
    let want = expected_rule_totals(&kept_packages)
        .get("slim/locale")
        .copied()
        .unwrap_or_default();
    let got = r
        .totals
        .get("slim/locale")
        .map(|t| (t.items, t.bytes))
        .unwrap_or_default();
    if want != got || want.0 < 50 {
        failures.push(format!("locale totals: expected {want:?}, got {got:?}"));
    }
    // Every ELF file left in a kept tree finds each DT_NEEDED library in the
    // kept trees (checked through the kept trees alone).
    let kept: Vec<SlimPackage> = r
        .kept_trees
        .iter()
        .map(|(name, tree)| SlimPackage {
            name: name.clone(),
            depends: Vec::new(),
            tree: tree.clone(),
        })
        .collect();
    let roots = Roots::default();
    let mut checked = 0;
    for pkg in &kept {
        for (path, entry) in &pkg.tree.entries {
            let scratchify::tree::EntryKind::File {
                source: scratchify::tree::FileSource::Disk(d),
                ..
            } = &entry.kind
            else {
                continue;
            };
            if !matches!(
                slim::elf::inspect_file(d),
                Ok(slim::elf::Inspection::Elf(_))
            ) {
                continue;
            }
            checked += 1;
            let l = slim::ldd(&kept, &roots, path).unwrap();
            for lib in &l.libraries {
                if lib.resolved.is_none() {
                    failures.push(format!(
                        "{path}: {} missing from the kept trees",
                        lib.soname
                    ));
                }
            }
        }
    }
    if checked < 50 {
        failures.push(format!("only {checked} ELF files checked"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
