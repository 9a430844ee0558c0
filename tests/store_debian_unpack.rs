//! Unpacking .deb files without dpkg: compressions, merged-/usr, metadata,
//! package database entries, hostile archives, the unpacked cache.

#[path = "fixtures/debian/repo.rs"]
mod repo;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use repo::{Pkg, Repo};
use scratchify::store::debian::DebianStore;
use scratchify::store::{
    PackageRequest, ResolveOptions, Store, StoreError, StorePath, UnpackedPackage,
};
use scratchify::tree::{EntryKind, FileSource, FileTree, ImagePath};

fn store(repo: &Repo, cache: &Path, release: &str) -> DebianStore {
    DebianStore::new(repo::store_config(
        &repo.file_url(),
        &repo.keyring,
        cache,
        release,
    ))
    .unwrap()
}

fn member(s: &DebianStore, name: &str) -> StorePath {
    let c = s
        .resolve(
            &[PackageRequest::new(name, "test")],
            &ResolveOptions { prune: false },
        )
        .unwrap();
    c.get(name).unwrap().clone()
}

fn p(s: &str) -> ImagePath {
    ImagePath::new(s).unwrap()
}

/// Paths with a comparable description of each entry, file bytes included.
fn describe(tree: &FileTree) -> BTreeMap<String, String> {
    tree.entries
        .iter()
        .map(|(path, e)| {
            let what = match &e.kind {
                EntryKind::Dir => "dir".to_string(),
                EntryKind::File { source, size } => {
                    let bytes = match source {
                        FileSource::Disk(d) => fs::read(d).unwrap(),
                        FileSource::Bytes(b) => b.to_vec(),
                    };
                    assert_eq!(bytes.len() as u64, *size);
                    format!("file {}", repo::sha256_hex(&bytes))
                }
                EntryKind::Symlink { target } => format!("symlink {target}"),
                EntryKind::Hardlink { target } => format!("hardlink {target}"),
            };
            (
                path.as_str().to_string(),
                format!("{what} {:o} {}:{}", e.mode, e.uid, e.gid),
            )
        })
        .collect()
}

fn content_pkg(name: &str, compression: &str) -> Pkg {
    Pkg::new(name, "1.0")
        .compression(compression)
        .file("usr/bin/tool", b"\x7fELF tool bytes", 0o755)
        .file("usr/share/tool/data", &vec![b'x'; 100_000], 0o644)
        .symlink("usr/bin/tool-link", "tool")
        .dir("var/lib/tool", 0o750)
}

#[test]
fn every_compression_unpacks_the_same_tree() {
    let mut repo = Repo::new();
    let comps = ["gzip", "xz", "zstd", "none"];
    let pkgs: Vec<Pkg> = comps
        .iter()
        .map(|c| content_pkg(&format!("comp-{c}"), c))
        .collect();
    repo.suite("bookworm", &pkgs);
    let cache = tempfile::tempdir().unwrap();
    let s = store(&repo, cache.path(), "bookworm");
    let mut trees = Vec::new();
    for c in comps {
        let m = member(&s, &format!("comp-{c}"));
        let u = s.unpack(&m).unwrap();
        // Everything but the package's own database entries.
        let mut d = describe(&u.files);
        d.retain(|k, _| !k.starts_with("var/lib/dpkg/status.d") && !k.starts_with("usr/share/doc"));
        trees.push((c, d));
    }
    for (c, t) in &trees[1..] {
        assert_eq!(t, &trees[0].1, "{c} differs from gzip");
    }
    assert!(trees[0].1.contains_key("usr/share/tool/data"));
}

#[test]
fn merged_usr_places_files_under_usr() {
    let mut repo = Repo::new();
    let pkg = Pkg::new("mu", "1")
        .file("bin/tool", b"tool", 0o755)
        .file("sbin/stool", b"stool", 0o755)
        .file("lib/x86_64-linux-gnu/libx.so.1", b"libx", 0o644)
        .symlink("lib/x86_64-linux-gnu/libx.so", "libx.so.1")
        .symlink("lib64/ld-fixture.so", "/lib/x86_64-linux-gnu/libx.so.1")
        .symlink("bin/up", "../usr/share/mu/up")
        .file("usr/share/mu/up", b"up", 0o755)
        .file("usr/bin/real", b"real", 0o755)
        .symlink("bin/real", "/usr/bin/real")
        .file("etc/mu.conf", b"conf", 0o644);
    repo.suite("bookworm", std::slice::from_ref(&pkg));
    fs::create_dir_all(repo.path("dists/bullseye")).unwrap();
    repo.suite("bullseye", &[pkg]);

    let cache = tempfile::tempdir().unwrap();
    let s = store(&repo, cache.path(), "bookworm");
    let u = s.unpack(&member(&s, "mu")).unwrap();
    let d = describe(&u.files);
    for path in [
        "usr/bin/tool",
        "usr/sbin/stool",
        "usr/lib/x86_64-linux-gnu/libx.so.1",
        "usr/bin/real",
        "etc/mu.conf",
    ] {
        assert!(d[path].starts_with("file "), "{path}: {:?}", d.get(path));
    }
    assert!(d["usr/lib/x86_64-linux-gnu/libx.so"].starts_with("symlink libx.so.1 "));
    assert!(d["usr/lib64/ld-fixture.so"].starts_with("symlink /lib/x86_64-linux-gnu/libx.so.1 "));
    // A relative target that climbs is re-expressed for the new place.
    assert!(d["usr/bin/up"].starts_with("symlink /usr/share/mu/up "));
    // Nothing is left at the top level the layout turns into symlinks.
    assert!(d.keys().all(|k| {
        !["bin", "sbin", "lib", "lib64"]
            .iter()
            .any(|t| k == t || k.starts_with(&format!("{t}/")))
    }));
    assert!(
        u.notes.iter().any(|n| n.contains("/usr/bin/real")),
        "{:?}",
        u.notes
    );
    let layout = describe(&s.layout());
    assert!(layout["bin"].starts_with("symlink usr/bin "));
    assert!(layout["lib64"].starts_with("symlink usr/lib64 "));
    assert!(layout["usr/bin"].starts_with("dir "));

    // bullseye images are not merged: paths stay, no layout symlinks.
    let cache = tempfile::tempdir().unwrap();
    let s = store(&repo, cache.path(), "bullseye");
    let u = s.unpack(&member(&s, "mu")).unwrap();
    let d = describe(&u.files);
    assert!(d["bin/tool"].starts_with("file "));
    assert!(d["bin/real"].starts_with("symlink /usr/bin/real "));
    assert!(d["bin/up"].starts_with("symlink ../usr/share/mu/up "));
    assert!(s.layout().is_empty());
}

fn metadata_pkg() -> Pkg {
    let sums = format!("{}  usr/bin/a\n", hex::encode(md5_of(b"shared bytes")));
    Pkg::new("meta", "2.1-3")
        .file("usr/bin/a", b"shared bytes", 0o4755)
        .hardlink("usr/bin/b", "usr/bin/a")
        .symlink("usr/bin/c", "a")
        .dir("var/cache/meta", 0o750)
        .file("etc/meta.conf", b"key=value\n", 0o644)
        .control_file("conffiles", "/etc/meta.conf\n")
        .control_file("postinst", "#!/bin/sh\nset -e\nadduser --system meta\n")
        .control_file("md5sums", &sums)
}

/// MD5 via the md5sum tool (only for fixture data).
fn md5_of(data: &[u8]) -> Vec<u8> {
    let mut child = std::process::Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    hex::decode(
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap(),
    )
    .unwrap()
}

fn unpack_meta() -> (UnpackedPackage, tempfile::TempDir, Repo) {
    let mut repo = Repo::new();
    repo.suite("bookworm", &[metadata_pkg()]);
    let cache = tempfile::tempdir().unwrap();
    let s = store(&repo, cache.path(), "bookworm");
    let u = s.unpack(&member(&s, "meta")).unwrap();
    (u, cache, repo)
}

#[test]
fn metadata_links_and_control_data_are_kept() {
    let (u, _cache, _repo) = unpack_meta();
    let d = describe(&u.files);
    assert!(d["usr/bin/a"].ends_with(" 4755 0:0"), "{}", d["usr/bin/a"]);
    assert_eq!(d["usr/bin/b"], "hardlink /usr/bin/a 4755 0:0");
    assert!(d["usr/bin/c"].starts_with("symlink a "));
    assert_eq!(d["var/cache/meta"], "dir 750 0:0");
    assert!(d.contains_key("etc/meta.conf"));
    assert_eq!(u.control.conffiles, [p("etc/meta.conf")]);
    assert!(u.control.has_postinst());
    let postinst = fs::read_to_string(&u.control.member("postinst").unwrap().path).unwrap();
    assert!(postinst.contains("adduser --system meta"));
    assert!(u.control.control.contains("Package: meta\n"));
}

#[test]
fn package_database_entries_for_scanners() {
    let (u, _cache, _repo) = unpack_meta();
    let bytes = |path: &str| match &u.files.entries[&p(path)].kind {
        EntryKind::File {
            source: FileSource::Bytes(b),
            ..
        } => String::from_utf8(b.to_vec()).unwrap(),
        other => panic!("{path}: {other:?}"),
    };
    let status = bytes("var/lib/dpkg/status.d/meta");
    assert!(
        status.starts_with("Package: meta\nStatus: install ok installed\n"),
        "{status}"
    );
    assert!(status.contains("\nVersion: 2.1-3\n"));
    assert!(status.contains("\nArchitecture: amd64\n"));
    let sums = bytes("var/lib/dpkg/status.d/meta.md5sums");
    assert_eq!(sums, u.control.md5sums.clone().unwrap());
    assert!(sums.ends_with("  usr/bin/a\n"));
    assert_eq!(u.files.entries[&p("var/lib/dpkg/status.d")].mode, 0o755);
}

#[test]
fn unpacked_cache_is_reused_and_safe_in_parallel() {
    let mut repo = Repo::new();
    repo.suite("bookworm", &[metadata_pkg()]);
    let cache = tempfile::tempdir().unwrap();
    let s = store(&repo, cache.path(), "bookworm");
    let m = member(&s, "meta");
    // Two unpacks of the same package at once, on an empty cache.
    let (a, b) = std::thread::scope(|scope| {
        let ta = scope.spawn(|| s.unpack(&m).unwrap());
        let tb = scope.spawn(|| s.unpack(&m).unwrap());
        (ta.join().unwrap(), tb.join().unwrap())
    });
    assert_eq!(describe(&a.files), describe(&b.files));
    // A second store on the same cache reuses the unpacked tree.
    fs::remove_dir_all(cache.path().join("blobs")).unwrap();
    let s2 = store(&repo, cache.path(), "bookworm");
    let c = s2.unpack(&m).unwrap();
    assert_eq!(describe(&c.files), describe(&a.files));
    assert!(!cache.path().join("blobs/sha256").join(&m.sha256).exists());
    // A damaged unpacked entry is rebuilt from the verified .deb.
    let files = cache
        .path()
        .join("unpacked/sha256")
        .join(&m.sha256)
        .join("files");
    for e in fs::read_dir(&files).unwrap() {
        fs::write(e.unwrap().path(), b"").unwrap();
    }
    let d = s2.unpack(&m).unwrap();
    assert_eq!(describe(&d.files), describe(&a.files));
}

/// A .deb whose data.tar holds `entry` (a hand-made tar header, since tar
/// writers refuse such names) with a valid control member.
fn hostile_deb(dest: &Path, name: &str, entry: &[u8], link: Option<&[u8]>) {
    // control.tar.gz with ./control
    let control = format!(
        "Package: {name}\nVersion: 1\nArchitecture: amd64\nMaintainer: F <f@localhost>\nDescription: hostile\n"
    );
    let mut ctl = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_path("./control").unwrap();
    h.set_size(control.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    ctl.append(&h, control.as_bytes()).unwrap();
    let ctl = ctl.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&ctl).unwrap();
    let ctl_gz = gz.finish().unwrap();
    // data.tar with the hostile entry.
    let body = b"owned\n";
    let mut h = tar::Header::new_gnu();
    {
        let old = h.as_old_mut();
        old.name[..entry.len()].copy_from_slice(entry);
        if let Some(l) = link {
            old.linkname[..l.len()].copy_from_slice(l);
        }
    }
    h.set_mode(0o644);
    if link.is_some() {
        h.set_entry_type(tar::EntryType::Link);
        h.set_size(0);
    } else {
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(body.len() as u64);
    }
    h.set_cksum();
    let mut data = h.as_bytes().to_vec();
    if link.is_none() {
        data.extend_from_slice(body);
        data.resize(data.len() + (512 - body.len()), 0);
    }
    data.extend_from_slice(&[0u8; 1024]);
    let file = fs::File::create(dest).unwrap();
    let mut ar = ar::Builder::new(file);
    for (id, bytes) in [
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar.gz", ctl_gz),
        ("data.tar", data),
    ] {
        ar.append(
            &ar::Header::new(id.as_bytes().to_vec(), bytes.len() as u64),
            bytes.as_slice(),
        )
        .unwrap();
    }
}

/// (package name, tar entry name, hardlink target).
type HostileEntry = (&'static str, &'static [u8], Option<&'static [u8]>);

#[test]
fn entries_that_escape_the_root_fail_the_package() {
    let mut repo = Repo::new();
    let cases: [HostileEntry; 3] = [
        ("climb", b"./../../escaped-file", None),
        ("deep", b"./usr/../../escaped-file", None),
        ("hardlink", b"./usr/x", Some(b"../../etc/passwd")),
    ];
    let mut built = Vec::new();
    for (name, entry, link) in cases {
        let rel = format!("pool/main/h/{name}/{name}_1_amd64.deb");
        let dest = repo.path(&rel);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        hostile_deb(&dest, name, entry, link);
        built.push(repo.register(&rel));
    }
    repo.suite_from_built("bookworm", &built);
    let cache = tempfile::tempdir().unwrap();
    let s = store(&repo, cache.path(), "bookworm");
    for (name, _, _) in cases {
        let m = member(&s, name);
        match s.unpack(&m) {
            Err(StoreError::BadArchive { file, reason }) => {
                assert!(file.contains(name), "{file}");
                assert!(reason.contains("climbs out of its root"), "{reason}");
            }
            other => panic!("{name}: expected a refusal, got {other:?}"),
        }
        assert!(
            !cache
                .path()
                .join("unpacked/sha256")
                .join(&m.sha256)
                .exists()
        );
    }
    let everywhere: Vec<_> = [cache.path(), repo.dir.path()]
        .iter()
        .flat_map(|d| walk(d))
        .filter(|f| f.contains("escaped-file"))
        .collect();
    assert!(everywhere.is_empty(), "{everywhere:?}");
    let unpacked = cache.path().join("unpacked");
    let tmp: Vec<_> = walk(&unpacked)
        .into_iter()
        .filter(|f| {
            f.trim_start_matches(&*unpacked.to_string_lossy())
                .contains(".tmp")
        })
        .collect();
    assert!(tmp.is_empty(), "{tmp:?}");
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}
