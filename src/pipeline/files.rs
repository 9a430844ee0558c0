//! The image's file trees while the plan's file operations are applied,
//! in Dockerfile order.
//!
//! The trees, bottom to top as the final image stacks them: one per
//! unpacked package (closure order), the release layout (`/bin ->
//! usr/bin`, ...), the *run* tree (what RUN steps create: directories,
//! symlinks, written files), and one tree per COPY/ADD. A path is looked up
//! top down, like an overlay; symlinks on the way are followed inside the
//! image (absolute targets from the image root, `..` stopping at it).
//!
//! Choices:
//! - Metadata changes (`chown`, `chmod`) apply to the path in every tree
//!   holding it, so whichever layer wins carries them.
//! - Removals (`rm`) take the path (and, recursively, what is below) out
//!   of every tree: no whiteouts, the image never had it.
//! - Things RUN steps create go to the run tree; a non-directory replaces
//!   the path (and what is below) in every other tree. A COPY that comes
//!   later still lies on top of it.
//! - Paths may hold shell patterns (`rm /etc/nginx/sites-enabled/*`):
//!   `*`, `?` and `[...]` do not match `/`, and do not match a leading `.`
//!   unless the pattern's component starts with one, as sh globbing does.
//!   The directories before the first pattern character are resolved
//!   through symlinks first.
//! - `chown`/`chmod` without `-R` follow a symlink named on the command
//!   line (as the commands do); with `-R` the tree below is changed and
//!   symlinks are not followed.

use std::collections::BTreeMap;
use std::sync::Arc;

use globset::GlobBuilder;

use crate::tree::{EntryKind, FileSource, FileTree, ImagePath, TreeEntry};

use super::accounts::Owner;

const MAX_LINK_HOPS: usize = 40;
/// Largest file an `echo >>` append reads back.
const MAX_APPEND_READ: u64 = 64 << 20;

/// One package's tree while file operations apply to it.
#[derive(Clone, Debug)]
pub struct PackageTree {
    pub name: String,
    pub tree: FileTree,
}

/// A COPY/ADD layer in the making.
#[derive(Clone, Debug)]
pub struct CopyTree {
    /// Index of the operation in `plan.files`.
    pub op: usize,
    pub tree: FileTree,
}

/// All trees, bottom to top.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    pub packages: Vec<PackageTree>,
    pub layout: FileTree,
    pub run: FileTree,
    /// Which operation (index in `plan.files`) last wrote each run entry.
    pub run_origin: BTreeMap<ImagePath, usize>,
    pub copies: Vec<CopyTree>,
}

fn has_pattern(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

impl Workspace {
    fn trees(&self) -> impl DoubleEndedIterator<Item = &FileTree> {
        self.packages
            .iter()
            .map(|p| &p.tree)
            .chain(std::iter::once(&self.layout))
            .chain(std::iter::once(&self.run))
            .chain(self.copies.iter().map(|c| &c.tree))
    }

    fn trees_mut(&mut self) -> impl Iterator<Item = &mut FileTree> {
        self.packages
            .iter_mut()
            .map(|p| &mut p.tree)
            .chain(std::iter::once(&mut self.layout))
            .chain(std::iter::once(&mut self.run))
            .chain(self.copies.iter_mut().map(|c| &mut c.tree))
    }

    /// The entry the final image has at `p` (no symlink following).
    pub fn lookup(&self, p: &ImagePath) -> Option<&TreeEntry> {
        self.trees().rev().find_map(|t| t.entries.get(p))
    }

    /// Resolve `path` (absolute, as written) through the image's symlinks.
    /// `follow_last`: follow a symlink in the last component too. A path
    /// that does not exist resolves as far as it can, the rest appended.
    pub fn resolve(&self, path: &str, follow_last: bool) -> Result<ImagePath, String> {
        let mut pending: Vec<String> = path
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .rev()
            .map(str::to_string)
            .collect();
        let mut done: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(c) = pending.pop() {
            if c == ".." {
                done.pop();
                continue;
            }
            done.push(c);
            if pending.is_empty() && !follow_last {
                break;
            }
            let here = ImagePath::new(&done.join("/")).map_err(|e| e.to_string())?;
            if let Some(TreeEntry {
                kind: EntryKind::Symlink { target },
                ..
            }) = self.lookup(&here)
            {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Err(format!("{path}: too many levels of symbolic links"));
                }
                done.pop();
                if target.starts_with('/') {
                    done.clear();
                }
                for t in target
                    .split('/')
                    .filter(|c| !c.is_empty() && *c != ".")
                    .rev()
                {
                    pending.push(t.to_string());
                }
            }
        }
        ImagePath::new(&done.join("/")).map_err(|e| e.to_string())
    }

    pub fn is_dir(&self, p: &ImagePath) -> bool {
        p.is_root() || matches!(self.lookup(p).map(|e| &e.kind), Some(EntryKind::Dir))
    }

    /// The paths a (possibly patterned) path names. A plain path is
    /// resolved (`follow_last` as for [`Workspace::resolve`]) and returned
    /// whether or not it exists; a pattern returns the existing matches.
    pub fn expand(&self, pattern: &str, follow_last: bool) -> Result<Vec<ImagePath>, String> {
        if !has_pattern(pattern) {
            return Ok(vec![self.resolve(pattern, follow_last)?]);
        }
        let comps: Vec<&str> = pattern
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        let first_pat = comps.iter().position(|c| has_pattern(c)).unwrap_or(0);
        let prefix = self.resolve(&comps[..first_pat].join("/"), true)?;
        let rest = comps[first_pat..].to_vec();
        let glob = GlobBuilder::new(&rest.join("/"))
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| format!("{pattern}: {e}"))?
            .compile_matcher();
        let mut out: Vec<ImagePath> = Vec::new();
        let base = if prefix.is_root() {
            String::new()
        } else {
            format!("{}/", prefix.as_str())
        };
        for t in self.trees() {
            for p in t.entries.keys() {
                let Some(below) = p.as_str().strip_prefix(&base) else {
                    continue;
                };
                let parts: Vec<&str> = below.split('/').collect();
                if parts.len() != rest.len() || below.is_empty() {
                    continue;
                }
                let hidden = parts
                    .iter()
                    .zip(&rest)
                    .any(|(n, pat)| n.starts_with('.') && !pat.starts_with('.'));
                if !hidden && glob.is_match(below) {
                    out.push(p.clone());
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Apply `f` to the entry at `p`, and with `recursive` to everything
    /// below it, in every tree.
    fn modify(&mut self, p: &ImagePath, recursive: bool, mut f: impl FnMut(&mut TreeEntry)) {
        let prefix = format!("{}/", p.as_str());
        for t in self.trees_mut() {
            for (path, e) in t.entries.iter_mut() {
                if path == p || (recursive && (p.is_root() || path.as_str().starts_with(&prefix))) {
                    f(e);
                }
            }
        }
    }

    /// Take `p` (and what is below it) out of every tree.
    pub fn remove(&mut self, p: &ImagePath, recursive: bool) {
        let prefix = format!("{}/", p.as_str());
        for t in self.trees_mut() {
            match t.entries.get(p) {
                Some(TreeEntry {
                    kind: EntryKind::Dir,
                    ..
                }) if !recursive => {}
                _ => {
                    t.entries.remove(p);
                }
            }
            if recursive {
                t.entries
                    .retain(|k, _| p.is_root() || !k.as_str().starts_with(&prefix));
            }
        }
    }

    /// Put an entry into the run tree: a non-directory replaces the path in
    /// every other tree.
    pub fn create(&mut self, p: ImagePath, entry: TreeEntry, op: usize) {
        if !matches!(entry.kind, EntryKind::Dir) {
            self.remove(&p, true);
        }
        self.run_origin.insert(p.clone(), op);
        self.run.insert(p, entry);
    }

    pub fn mkdir(&mut self, path: &str, mode: u32, op: usize) -> Result<ImagePath, String> {
        let p = self.resolve(path, true)?;
        if let Some(e) = self.lookup(&p)
            && !matches!(e.kind, EntryKind::Dir)
        {
            return Err(format!("{path} exists and is not a directory"));
        }
        // An existing directory keeps its attributes (mkdir -p does not
        // change them); it is listed in the run tree so that its creation
        // is recorded.
        let entry = match self.lookup(&p) {
            Some(e) => e.clone(),
            None => TreeEntry::dir(mode),
        };
        self.create(p.clone(), entry, op);
        Ok(p)
    }

    pub fn chown(&mut self, path: &str, owner: Owner, recursive: bool) -> Result<usize, String> {
        let mut n = 0;
        for p in self.expand(path, !recursive)? {
            if self.lookup(&p).is_none() {
                continue;
            }
            self.modify(&p, recursive, |e| {
                owner.apply(&mut e.uid, &mut e.gid);
                n += 1;
            });
        }
        Ok(n)
    }

    pub fn chmod(&mut self, path: &str, mode: &str, recursive: bool) -> Result<usize, String> {
        let spec = ModeSpec::parse(mode)?;
        let mut n = 0;
        for p in self.expand(path, !recursive)? {
            if self.lookup(&p).is_none() {
                continue;
            }
            self.modify(&p, recursive, |e| {
                if !matches!(e.kind, EntryKind::Symlink { .. }) {
                    e.mode = spec.apply(e.mode, matches!(e.kind, EntryKind::Dir));
                    n += 1;
                }
            });
        }
        Ok(n)
    }

    pub fn symlink(&mut self, link: &str, target: &str, op: usize) -> Result<ImagePath, String> {
        let mut p = self.resolve(link, false)?;
        // `ln -s target dir` creates dir/basename(target).
        if self.is_dir(&self.resolve(link, true)?) && !link.ends_with("/.") {
            let name = target
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("");
            p = self
                .resolve(link, true)?
                .join(name)
                .map_err(|e| e.to_string())?;
        }
        self.create(p.clone(), TreeEntry::symlink(target), op);
        Ok(p)
    }

    pub fn hardlink(&mut self, link: &str, target: &str, op: usize) -> Result<ImagePath, String> {
        let t = self.resolve(target, true)?;
        match self.lookup(&t).map(|e| &e.kind) {
            Some(EntryKind::File { .. }) | Some(EntryKind::Hardlink { .. }) => {}
            _ => return Err(format!("{target} is not a file in the image")),
        }
        let mut p = self.resolve(link, false)?;
        if self.is_dir(&p) {
            p = p.join(t.file_name()).map_err(|e| e.to_string())?;
        }
        let entry = self
            .lookup(&t)
            .cloned()
            .unwrap_or_else(|| TreeEntry::dir(0));
        self.create(
            p.clone(),
            TreeEntry {
                kind: EntryKind::Hardlink { target: t },
                ..entry
            },
            op,
        );
        Ok(p)
    }

    /// The bytes of a regular file of the image (for appends).
    fn read(&self, p: &ImagePath) -> Result<Option<Vec<u8>>, String> {
        let mut cur = p.clone();
        for _ in 0..MAX_LINK_HOPS {
            match self.lookup(&cur).map(|e| &e.kind) {
                None => return Ok(None),
                Some(EntryKind::File { source, size }) => {
                    if *size > MAX_APPEND_READ {
                        return Err(format!("{p} is too large to append to"));
                    }
                    return match source {
                        FileSource::Bytes(b) => Ok(Some(b.to_vec())),
                        FileSource::Disk(d) => std::fs::read(d)
                            .map(Some)
                            .map_err(|e| format!("{}: {e}", d.display())),
                    };
                }
                Some(EntryKind::Hardlink { target }) => cur = target.clone(),
                Some(_) => return Err(format!("{p} is not a regular file")),
            }
        }
        Err(format!("{p}: hard link chain too long"))
    }

    pub fn write_file(
        &mut self,
        path: &str,
        content: &str,
        append: bool,
        op: usize,
    ) -> Result<ImagePath, String> {
        let p = self.resolve(path, true)?;
        if self.is_dir(&p) {
            return Err(format!("{path} is a directory"));
        }
        let old = self.lookup(&p).cloned();
        let mut bytes = if append {
            self.read(&p)?.unwrap_or_default()
        } else {
            Vec::new()
        };
        bytes.extend_from_slice(content.as_bytes());
        let (mode, uid, gid) = old.map(|e| (e.mode, e.uid, e.gid)).unwrap_or((0o644, 0, 0));
        let entry = TreeEntry {
            kind: EntryKind::File {
                size: bytes.len() as u64,
                source: FileSource::Bytes(Arc::from(bytes)),
            },
            mode,
            uid,
            gid,
        };
        self.create(p.clone(), entry, op);
        Ok(p)
    }

    pub fn touch(&mut self, path: &str, op: usize) -> Result<ImagePath, String> {
        let p = self.resolve(path, true)?;
        if self.lookup(&p).is_none() {
            self.create(p.clone(), TreeEntry::bytes(Vec::new(), 0o644), op);
        }
        Ok(p)
    }

    /// `cp` (and `mv` with `remove_sources`) inside the image.
    pub fn copy_within(
        &mut self,
        sources: &[String],
        dest: &str,
        recursive: bool,
        remove_sources: bool,
        op: usize,
    ) -> Result<Vec<ImagePath>, String> {
        let mut matched = Vec::new();
        for s in sources {
            for p in self.expand(s, true)? {
                if self.lookup(&p).is_some() {
                    matched.push(p);
                }
            }
        }
        if matched.is_empty() {
            return Err(format!("{} not in the image", sources.join(", ")));
        }
        let d = self.resolve(dest, true)?;
        let into_dir = self.is_dir(&d) || matched.len() > 1 || dest.ends_with('/');
        let mut created = Vec::new();
        for src in matched {
            let target = if into_dir {
                d.join(src.file_name()).map_err(|e| e.to_string())?
            } else {
                d.clone()
            };
            let is_dir = self.is_dir(&src);
            if is_dir && !recursive && !remove_sources {
                return Err(format!("{src} is a directory (cp without -r)"));
            }
            // Snapshot what is at and below src, top layer winning.
            let prefix = format!("{}/", src.as_str());
            let mut snapshot: BTreeMap<ImagePath, TreeEntry> = BTreeMap::new();
            for t in self.trees() {
                for (k, e) in &t.entries {
                    if *k == src || (is_dir && k.as_str().starts_with(&prefix)) {
                        snapshot.insert(k.clone(), e.clone());
                    }
                }
            }
            if remove_sources {
                self.remove(&src, true);
            }
            for (k, mut e) in snapshot {
                let rel = &k.as_str()[src.as_str().len()..];
                let np = ImagePath::new(&format!("{}{rel}", target.as_str()))
                    .map_err(|e| e.to_string())?;
                if let EntryKind::Hardlink { target: ht } = &e.kind {
                    // A link into the moved subtree moves with it.
                    if let Some(r) = ht.as_str().strip_prefix(src.as_str()) {
                        e.kind = EntryKind::Hardlink {
                            target: ImagePath::new(&format!("{}{r}", target.as_str()))
                                .map_err(|e| e.to_string())?,
                        };
                    }
                }
                if !remove_sources {
                    // cp makes files owned by the copier (root) unless -p.
                    e.uid = 0;
                    e.gid = 0;
                }
                self.create(np.clone(), e, op);
                created.push(np);
            }
        }
        Ok(created)
    }
}

/// A `chmod` mode: octal, or symbolic (`u+x,go-w`, `a=rX`, `+t`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModeSpec {
    Octal(u32),
    Symbolic(Vec<SymbolicClause>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolicClause {
    who: u32,
    op: char,
    perms: Vec<char>,
}

impl ModeSpec {
    pub fn parse(s: &str) -> Result<ModeSpec, String> {
        let s = s.trim();
        if !s.is_empty() && s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return u32::from_str_radix(s, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .map(ModeSpec::Octal)
                .ok_or_else(|| format!("mode {s:?} is out of range"));
        }
        let mut clauses = Vec::new();
        for clause in s.split(',') {
            let mut who = 0u32;
            let mut rest = clause;
            while let Some(c) = rest.chars().next() {
                let bits = match c {
                    'u' => 0o4700,
                    'g' => 0o2070,
                    'o' => 0o1007,
                    'a' => 0o7777,
                    _ => break,
                };
                who |= bits;
                rest = &rest[1..];
            }
            let mut chars = rest.chars().peekable();
            let mut any = false;
            while let Some(op) = chars.next() {
                if !matches!(op, '+' | '-' | '=') {
                    return Err(format!("mode {s:?}: expected +, - or = in {clause:?}"));
                }
                let mut perms = Vec::new();
                while let Some(&p) = chars.peek() {
                    if matches!(p, '+' | '-' | '=') {
                        break;
                    }
                    if !"rwxXst".contains(p) {
                        return Err(format!("mode {s:?}: unknown permission {p:?}"));
                    }
                    perms.push(p);
                    chars.next();
                }
                clauses.push(SymbolicClause { who, op, perms });
                any = true;
            }
            if !any {
                return Err(format!("mode {s:?}: {clause:?} has no operator"));
            }
        }
        Ok(ModeSpec::Symbolic(clauses))
    }

    pub fn apply(&self, mode: u32, is_dir: bool) -> u32 {
        match self {
            ModeSpec::Octal(m) => *m,
            ModeSpec::Symbolic(clauses) => {
                let mut mode = mode & 0o7777;
                for c in clauses {
                    // No `who`: all, as if the umask were 0 (images are
                    // built with umask 022, but chmod +x means a+x there).
                    let who = if c.who == 0 { 0o7777 } else { c.who };
                    let mut bits = 0u32;
                    for p in &c.perms {
                        bits |= match p {
                            'r' => 0o444,
                            'w' => 0o222,
                            'x' => 0o111,
                            'X' if is_dir || mode & 0o111 != 0 => 0o111,
                            'X' => 0,
                            's' => 0o6000,
                            't' => 0o1000,
                            _ => 0,
                        };
                    }
                    let bits = bits & who;
                    match c.op {
                        '+' => mode |= bits,
                        '-' => mode &= !bits,
                        _ => mode = (mode & !(who & 0o7777)) | bits,
                    }
                }
                mode
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ImagePath {
        ImagePath::new(s).unwrap()
    }

    #[test]
    fn modes() {
        let cases = [
            ("755", 0o644, false, 0o755),
            ("+x", 0o644, false, 0o755),
            ("u+x", 0o644, false, 0o744),
            ("go-w", 0o666, false, 0o644),
            ("a=rX", 0o700, true, 0o555),
            ("a=rX", 0o600, false, 0o444),
            ("u+s,+t", 0o755, false, 0o5755),
        ];
        let mut bad = Vec::new();
        for (spec, from, dir, want) in cases {
            let got = ModeSpec::parse(spec).unwrap().apply(from, dir);
            if got != want {
                bad.push(format!("{spec} on {from:o}: {got:o}, want {want:o}"));
            }
        }
        assert!(bad.is_empty(), "{bad:#?}");
        for bad in ["", "9", "u+q", "u", "77777"] {
            assert!(ModeSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_resolve_through_image_symlinks_and_patterns_match() {
        let mut ws = Workspace::default();
        ws.layout.insert(p("usr"), TreeEntry::dir(0o755));
        ws.layout.insert(p("usr/bin"), TreeEntry::dir(0o755));
        ws.layout.insert(p("bin"), TreeEntry::symlink("usr/bin"));
        let mut t = FileTree::new();
        t.insert(p("usr/bin/a"), TreeEntry::bytes(b"a".to_vec(), 0o755));
        t.insert(p("usr/bin/.hidden"), TreeEntry::bytes(b"h".to_vec(), 0o755));
        t.insert(p("etc/x/y.conf"), TreeEntry::bytes(b"y".to_vec(), 0o644));
        ws.packages.push(PackageTree {
            name: "pkg".into(),
            tree: t,
        });
        assert_eq!(ws.resolve("/bin/a", true).unwrap(), p("usr/bin/a"));
        // As the kernel resolves it: `..` of the symlink target.
        assert_eq!(ws.resolve("/bin/../etc", true).unwrap(), p("usr/etc"));
        assert_eq!(ws.resolve("/bin", false).unwrap(), p("bin"));
        assert_eq!(ws.expand("/bin/*", true).unwrap(), vec![p("usr/bin/a")]);
        assert_eq!(
            ws.expand("/etc/*/*.conf", true).unwrap(),
            vec![p("etc/x/y.conf")]
        );
        ws.remove(&p("etc/x"), true);
        assert!(ws.lookup(&p("etc/x/y.conf")).is_none());
        ws.chmod("/bin/a", "u-x", false).unwrap();
        assert_eq!(ws.lookup(&p("usr/bin/a")).unwrap().mode, 0o655);
        ws.write_file("/bin/a", "more", true, 0).unwrap();
        assert_eq!(ws.read(&p("usr/bin/a")).unwrap().unwrap(), b"amore");
        ws.copy_within(&["/bin/a".into()], "/opt/", false, true, 1)
            .unwrap();
        assert!(ws.lookup(&p("usr/bin/a")).is_none());
        assert!(ws.lookup(&p("opt/a")).is_some());
    }
}
