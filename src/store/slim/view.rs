//! The image as the loader will see it: every package tree and the image's
//! own files merged into one namespace, with path resolution (symlinks,
//! merged-usr aliases) and the dynamic loader's library search.

use std::collections::{BTreeMap, VecDeque};

use crate::tree::{EntryKind, FileTree, ImagePath, TreeEntry};

use super::elf::{self, ElfInfo};

/// Linux gives up after 40 symlinks in one lookup (`ELOOP`).
pub(crate) const MAX_SYMLINK_HOPS: usize = 40;

/// Who provides a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Owner {
    /// The image's own files (COPY layers, synthesised files); they lie on
    /// top of every package.
    Image,
    /// A package, by its index in the input.
    Package(usize),
}

pub(crate) struct View<'a> {
    image: &'a FileTree,
    trees: Vec<&'a FileTree>,
    /// Path (without leading `/`) -> owners, image first, then packages in
    /// input order.
    paths: BTreeMap<&'a str, Vec<Owner>>,
}

/// The result of resolving a path.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    /// The final path, when every component exists.
    pub target: Option<ImagePath>,
    /// Symlinks followed on the way, in order.
    pub links: Vec<ImagePath>,
}

/// The top-level directories that merged-usr (`/bin -> usr/bin`, ...) makes
/// aliases of their `usr/` counterparts.
const MERGED_USR: [&str; 6] = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

impl<'a> View<'a> {
    pub fn new(image: &'a FileTree, trees: Vec<&'a FileTree>) -> Self {
        let mut paths: BTreeMap<&'a str, Vec<Owner>> = BTreeMap::new();
        for p in image.entries.keys() {
            paths.entry(p.as_str()).or_default().push(Owner::Image);
        }
        for (i, t) in trees.iter().enumerate() {
            for p in t.entries.keys() {
                paths.entry(p.as_str()).or_default().push(Owner::Package(i));
            }
        }
        View {
            image,
            trees,
            paths,
        }
    }

    pub fn tree(&self, owner: Owner) -> &'a FileTree {
        match owner {
            Owner::Image => self.image,
            Owner::Package(i) => self.trees.get(i).copied().unwrap_or(self.image),
        }
    }

    pub fn entry(&self, owner: Owner, path: &ImagePath) -> Option<&'a TreeEntry> {
        self.tree(owner).entries.get(path)
    }

    pub fn owners(&self, path: &str) -> &[Owner] {
        self.paths.get(path).map(Vec::as_slice).unwrap_or_default()
    }

    pub fn exists(&self, path: &str) -> bool {
        self.lookup(path).is_some()
    }

    /// The entry that decides what a path is: the first owner with a
    /// non-directory entry (the image's own files win over packages, earlier
    /// packages over later ones), else a directory.
    pub fn primary(&self, path: &ImagePath) -> Option<(Owner, &'a TreeEntry)> {
        let owners = self.owners(path.as_str());
        let mut dir = None;
        for &o in owners {
            if let Some(e) = self.entry(o, path) {
                if matches!(e.kind, EntryKind::Dir) {
                    dir.get_or_insert((o, e));
                } else {
                    return Some((o, e));
                }
            }
        }
        dir
    }

    /// The path as it exists: itself, or its merged-usr alias (`lib/x` for
    /// `usr/lib/x` and back). Debian bookworm packages ship files under both
    /// halves while the running system sees one, so a lookup must not depend
    /// on which half a package used.
    pub fn lookup(&self, path: &str) -> Option<ImagePath> {
        if self.paths.contains_key(path) {
            return ImagePath::new(path).ok();
        }
        let alias = merged_usr_alias(path)?;
        if self.paths.contains_key(alias.as_str()) {
            return ImagePath::new(&alias).ok();
        }
        None
    }

    /// Resolve `path` component by component, following symlinks (the last
    /// one only when `follow_last`), `..` and merged-usr aliases.
    pub fn resolve(&self, path: &ImagePath, follow_last: bool) -> Resolved {
        let mut out = Resolved::default();
        let mut todo: VecDeque<String> = components(path.as_str()).collect();
        let mut cur: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(comp) = todo.pop_front() {
            if comp == ".." {
                cur.pop();
                continue;
            }
            let candidate = join(&cur, &comp);
            let Some(found) = self.lookup(&candidate) else {
                return out;
            };
            let is_last = todo.is_empty();
            let entry = self.primary(&found).map(|(_, e)| e);
            if let Some(TreeEntry {
                kind: EntryKind::Symlink { target },
                ..
            }) = entry
                && (!is_last || follow_last)
            {
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return out;
                }
                out.links.push(found.clone());
                if target.starts_with('/') {
                    cur.clear();
                } else {
                    cur = components(found.as_str()).collect();
                    cur.pop();
                }
                for c in components(target).collect::<Vec<_>>().into_iter().rev() {
                    todo.push_front(c);
                }
                continue;
            }
            if !is_last && !matches!(entry.map(|e| &e.kind), Some(EntryKind::Dir)) {
                // A file used as a directory.
                return out;
            }
            cur = components(found.as_str()).collect();
        }
        out.target = ImagePath::new(&cur.join("/")).ok();
        out
    }

    /// Every path strictly below `dir`, in order, with its merged-usr alias
    /// counterpart's content too.
    pub fn below(&self, dir: &ImagePath) -> Vec<ImagePath> {
        let mut out = Vec::new();
        let mut prefixes = vec![dir.as_str().to_string()];
        if let Some(alias) = merged_usr_alias(dir.as_str()) {
            prefixes.push(alias);
        }
        for prefix in prefixes {
            let prefix = if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            };
            for (p, _) in self.paths.range(prefix.as_str()..) {
                if !p.starts_with(&prefix) {
                    break;
                }
                if !p.is_empty()
                    && let Ok(ip) = ImagePath::new(p)
                {
                    out.push(ip);
                }
            }
        }
        out
    }

    /// Every path in the view (for glob matching).
    pub fn all_paths(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.paths.keys().copied()
    }

    /// The first [`elf::SHEBANG_BYTES`] of a regular file's content.
    pub fn head(&self, entry: &TreeEntry) -> std::io::Result<Vec<u8>> {
        match &entry.kind {
            EntryKind::File { source, .. } => match source {
                crate::tree::FileSource::Disk(p) => elf::read_head(p),
                crate::tree::FileSource::Bytes(b) => Ok(b
                    .get(..elf::SHEBANG_BYTES.min(b.len()))
                    .unwrap_or_default()
                    .to_vec()),
            },
            _ => Ok(Vec::new()),
        }
    }
}

fn components(p: &str) -> impl Iterator<Item = String> + '_ {
    p.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_owned)
}

fn join(cur: &[String], comp: &str) -> String {
    if cur.is_empty() {
        comp.to_string()
    } else {
        format!("{}/{}", cur.join("/"), comp)
    }
}

/// `lib/x` <-> `usr/lib/x` (and bin, sbin, lib32, lib64, libx32).
pub(crate) fn merged_usr_alias(path: &str) -> Option<String> {
    let first = path.split('/').next().unwrap_or("");
    if MERGED_USR.contains(&first) {
        return Some(format!("usr/{path}"));
    }
    let rest = path.strip_prefix("usr/")?;
    let first = rest.split('/').next().unwrap_or("");
    MERGED_USR.contains(&first).then(|| rest.to_string())
}

/// Where a library was found, and through which kind of search directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LibraryHit {
    /// The path the loader opens (`dir/soname`), before symlinks.
    pub path: ImagePath,
    pub via: SearchSource,
    pub dir: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SearchSource {
    Rpath,
    LdLibraryPath,
    Runpath,
    LdSoConf,
    Default,
    /// DT_NEEDED with a `/`: used as a path.
    Direct,
}

/// The loader's search order for one object's DT_NEEDED entries (glibc's
/// `_dl_map_object`): DT_RPATH (only when there is no DT_RUNPATH),
/// LD_LIBRARY_PATH, DT_RUNPATH, the ld.so.cache directories (from
/// /etc/ld.so.conf and /etc/ld.so.conf.d in the image), then the default
/// directories: /lib/<triplet>, /usr/lib/<triplet>, /lib, /usr/lib on Debian.
///
/// Simplifications, each recorded here because the issue was silent:
/// the DT_RPATH of the objects that loaded this one (glibc walks the loader
/// chain) is not consulted; `glibc-hwcaps` subdirectories are not searched
/// (Debian ships none in its multiarch directories); `$ORIGIN` is the
/// directory of the object's resolved path, which is what glibc uses for the
/// main program and what it uses for a library unless a symlink to the
/// library crosses directories.
pub(crate) fn search_dirs(
    info: &ElfInfo,
    origin_dir: &ImagePath,
    ld_library_path: &[String],
    ld_so_conf: &[String],
) -> Vec<(SearchSource, String)> {
    let expand = |d: &str| expand_tokens(d, origin_dir, info);
    let mut dirs = Vec::new();
    if info.runpath.is_empty() {
        dirs.extend(
            info.rpath
                .iter()
                .filter_map(|d| expand(d))
                .map(|d| (SearchSource::Rpath, d)),
        );
    }
    dirs.extend(
        ld_library_path
            .iter()
            .map(|d| (SearchSource::LdLibraryPath, d.clone())),
    );
    dirs.extend(
        info.runpath
            .iter()
            .filter_map(|d| expand(d))
            .map(|d| (SearchSource::Runpath, d)),
    );
    let mut defaults = Vec::new();
    if let Some(triplet) = elf::multiarch_triplet(info) {
        defaults.push(format!("/lib/{triplet}"));
        defaults.push(format!("/usr/lib/{triplet}"));
    }
    defaults.push("/lib".into());
    defaults.push("/usr/lib".into());
    // A configured directory that is also a default one is searched even
    // without an ld.so.cache: it counts as a default directory.
    dirs.extend(ld_so_conf.iter().map(|d| {
        let source = if defaults.contains(d) {
            SearchSource::Default
        } else {
            SearchSource::LdSoConf
        };
        (source, d.clone())
    }));
    dirs.extend(defaults.into_iter().map(|d| (SearchSource::Default, d)));
    dirs
}

/// Expand `$ORIGIN`, `$LIB` and `$PLATFORM` (bare or in braces). A relative
/// result is relative to the process's working directory, which the image
/// does not fix for libraries: such entries are dropped.
fn expand_tokens(dir: &str, origin: &ImagePath, info: &ElfInfo) -> Option<String> {
    let lib = match elf::multiarch_triplet(info) {
        Some(t) => format!("lib/{t}"),
        None => "lib".into(),
    };
    let platform = match info.machine {
        goblin::elf::header::EM_X86_64 => "x86_64",
        goblin::elf::header::EM_AARCH64 => "aarch64",
        goblin::elf::header::EM_386 => "i686",
        _ => "",
    };
    let origin = origin.absolute();
    let mut s = dir.to_string();
    for (token, value) in [
        ("${ORIGIN}", origin.as_str()),
        ("$ORIGIN", origin.as_str()),
        ("${LIB}", lib.as_str()),
        ("$LIB", lib.as_str()),
        ("${PLATFORM}", platform),
        ("$PLATFORM", platform),
    ] {
        s = s.replace(token, value);
    }
    s.starts_with('/').then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::TreeEntry;

    fn p(s: &str) -> ImagePath {
        ImagePath::new(s).unwrap()
    }

    #[test]
    fn resolves_links_dotdot_aliases_and_loops() {
        let mut t = FileTree::new();
        t.insert(p("usr"), TreeEntry::dir(0o755));
        t.insert(p("usr/bin"), TreeEntry::dir(0o755));
        t.insert(
            p("usr/bin/python3.11"),
            TreeEntry::bytes(b"x".to_vec(), 0o755),
        );
        t.insert(p("usr/bin/python3"), TreeEntry::symlink("python3.11"));
        t.insert(p("usr/bin/py"), TreeEntry::symlink("../bin/./python3"));
        t.insert(p("usr/bin/loop1"), TreeEntry::symlink("loop2"));
        t.insert(p("usr/bin/loop2"), TreeEntry::symlink("/usr/bin/loop1"));
        let image = FileTree::new();
        let v = View::new(&image, vec![&t]);
        let r = v.resolve(&p("bin/py"), true);
        assert_eq!(r.target, Some(p("usr/bin/python3.11")));
        assert_eq!(r.links, vec![p("usr/bin/py"), p("usr/bin/python3")]);
        let r = v.resolve(&p("usr/bin/py"), false);
        assert_eq!(r.target, Some(p("usr/bin/py")));
        assert!(v.resolve(&p("usr/bin/loop1"), true).target.is_none());
        assert!(v.resolve(&p("usr/bin/python3.11/x"), true).target.is_none());
        assert_eq!(merged_usr_alias("usr/lib64/x").as_deref(), Some("lib64/x"));
        assert_eq!(merged_usr_alias("usr/share/x"), None);
        assert_eq!(v.below(&p("usr")).len(), 6);
    }
}
