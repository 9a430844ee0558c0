//! Fixtures for the slim tests: the real file trees of packages installed
//! on this machine (Debian bookworm), built from `dpkg -L` and the files on
//! disk, grouped by real package ownership. No ELF bytes are invented: the
//! trees point at the installed files.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use scratchify::store::slim::SlimPackage;
use scratchify::tree::{EntryKind, FileSource, FileTree, ImagePath, TreeEntry};

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

pub fn installed(name: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Status}", name])
        .output()
        .map(|o| o.status.success() && o.stdout == b"installed")
        .unwrap_or(false)
}

/// Depends and Pre-Depends of an installed package: for each, the first
/// alternative installed under that name (virtual names are skipped).
pub fn depends(name: &str) -> Vec<String> {
    let text = run(
        "dpkg-query",
        &["-W", "-f", "${Pre-Depends}, ${Depends}", name],
    );
    let mut out = Vec::new();
    for clause in text.split(',') {
        for alt in clause.split('|') {
            let Some(word) = alt.split_whitespace().next() else {
                continue;
            };
            let pkg = word.split(':').next().unwrap_or(word).to_string();
            if installed(&pkg) {
                if !out.contains(&pkg) {
                    out.push(pkg);
                }
                break;
            }
        }
    }
    out
}

/// The paths `dpkg -L` lists for a package (absolute).
pub fn listed_paths(name: &str) -> Vec<String> {
    run("dpkg", &["-L", name])
        .lines()
        .filter(|l| l.starts_with('/') && *l != "/.")
        .map(str::to_owned)
        .collect()
}

/// Top-level directories that this merged-usr host turned into symlinks;
/// packages ship them as directories.
const MERGED: [&str; 6] = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/// A package's tree as its .deb would unpack: directories, symlinks, hard
/// links and regular files pointing at the installed bytes.
pub fn package_tree(name: &str) -> FileTree {
    let mut tree = FileTree::new();
    let mut inodes: HashMap<(u64, u64), ImagePath> = HashMap::new();
    for path in listed_paths(name) {
        let ip = ImagePath::new(&path).expect("dpkg paths are clean");
        if MERGED.contains(&path.as_str()) {
            tree.insert(ip, TreeEntry::dir(0o755));
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            // Listed but absent (a removed conffile, a diversion).
            continue;
        };
        let mode = meta.mode() & 0o7777;
        let ft = meta.file_type();
        let entry = if ft.is_dir() {
            TreeEntry::dir(mode)
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&path).expect("readable link");
            TreeEntry::symlink(target.to_string_lossy().into_owned())
        } else if ft.is_file() {
            let key = (meta.dev(), meta.ino());
            match inodes.get(&key) {
                Some(first) if meta.nlink() > 1 => TreeEntry {
                    kind: EntryKind::Hardlink {
                        target: first.clone(),
                    },
                    mode,
                    uid: 0,
                    gid: 0,
                },
                _ => {
                    inodes.insert(key, ip.clone());
                    TreeEntry {
                        kind: EntryKind::File {
                            source: FileSource::Disk(PathBuf::from(&path)),
                            size: meta.len(),
                        },
                        mode,
                        uid: 0,
                        gid: 0,
                    }
                }
            }
        } else {
            continue;
        };
        tree.insert(ip, entry);
    }
    tree
}

pub fn package(name: &str) -> SlimPackage {
    SlimPackage {
        name: name.to_string(),
        depends: depends(name),
        tree: package_tree(name),
    }
}

/// The run-time closure of `starts` by Depends/Pre-Depends, breadth first,
/// as a store would hand it over.
pub fn closure(starts: &[&str]) -> Vec<SlimPackage> {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<String> = starts.iter().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name.clone()) {
            continue;
        }
        assert!(
            installed(&name),
            "test fixture needs the installed package {name}"
        );
        let p = package(&name);
        for d in &p.depends {
            queue.push_back(d.clone());
        }
        out.push(p);
    }
    out
}

/// Which package of `packages` ships `path` (as a non-directory).
pub fn owner_of<'a>(packages: &'a [SlimPackage], path: &ImagePath) -> Option<&'a str> {
    packages
        .iter()
        .find(|p| {
            p.tree
                .entries
                .get(path)
                .is_some_and(|e| !matches!(e.kind, EntryKind::Dir))
        })
        .map(|p| p.name.as_str())
}

/// `ldd PROGRAM` on this machine: the canonical paths of the interpreter and
/// of every library it lists with a path.
pub fn system_ldd(program: &str) -> BTreeSet<PathBuf> {
    let text = run("ldd", &[program]);
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim();
        let path = if let Some((_, rest)) = line.split_once("=>") {
            rest.split_whitespace().next().unwrap_or("")
        } else {
            line.split_whitespace().next().unwrap_or("")
        };
        if path.starts_with('/') {
            out.insert(std::fs::canonicalize(path).expect("ldd path exists"));
        }
    }
    out
}

/// The host file behind an image path of these fixtures.
pub fn host(path: &ImagePath) -> PathBuf {
    Path::new("/").join(path.as_str())
}

pub fn p(s: &str) -> ImagePath {
    ImagePath::new(s).expect("clean test path")
}

/// Bytes and counts per expected rule, classified here independently of
/// the implementation's globs, over the given packages' listed files.
pub fn expected_rule_totals(packages: &[&SlimPackage]) -> BTreeMap<&'static str, (u64, u64)> {
    let mut out: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    for pkg in packages {
        for (path, entry) in &pkg.tree.entries {
            if matches!(entry.kind, EntryKind::Dir) {
                continue;
            }
            let s = path.as_str();
            let parts: Vec<&str> = s.split('/').collect();
            let rule = if let Some(rest) = s.strip_prefix("usr/share/doc/") {
                // Depth-1 entries (doc-directory symlinks) and copyright files stay.
                let depth = rest.split('/').count();
                let is_copyright = depth == 2 && rest.ends_with("/copyright");
                (depth > 1 && !is_copyright).then_some("slim/doc")
            } else if s.starts_with("usr/share/doc-base/")
                || s.starts_with("usr/share/gtk-doc/")
                || s.starts_with("usr/share/help/")
            {
                Some("slim/doc")
            } else if s.starts_with("usr/share/man/") || s.starts_with("usr/man/") {
                Some("slim/man")
            } else if s.starts_with("usr/share/info/") {
                Some("slim/info")
            } else if s.starts_with("usr/share/lintian/") {
                Some("slim/lintian")
            } else if s.starts_with("usr/share/bug/") {
                Some("slim/bug")
            } else if s.starts_with("usr/share/locale/")
                || s.starts_with("usr/share/locale-langpack/")
            {
                Some("slim/locale")
            } else if parts.len() >= 2
                && parts[parts.len() - 2] == "gconv"
                && s.ends_with(".so")
                && (s.starts_with("usr/lib/") || s.starts_with("lib/"))
                && parts.len() <= 5
            {
                Some("slim/gconv")
            } else {
                None
            };
            if let Some(rule) = rule {
                let t = out.entry(rule).or_default();
                t.0 += 1;
                if let EntryKind::File { size, .. } = entry.kind {
                    t.1 += size;
                }
            }
        }
    }
    out
}
