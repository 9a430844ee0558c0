//! Reading COPY sources: the build context (with `.dockerignore`) and
//! directories holding a build stage's output (`--stage-output`).
//!
//! # `.dockerignore`
//!
//! Docker's rules (moby's patternmatcher), anchored at the context root,
//! not gitignore's:
//! - one pattern per line; blank lines and lines starting with `#` are
//!   skipped; surrounding whitespace is trimmed; `!` makes an exception;
//! - a pattern is cleaned like Go's `filepath.Clean` and a leading `/` is
//!   dropped, so `/foo`, `foo` and `./foo` are the same pattern, and a
//!   pattern never matches below the root unless it says so (`*/foo`,
//!   `**/foo`);
//! - `*` and `?` do not cross `/`, `**` matches any number of directories,
//!   `[...]` classes (`[^...]` negates, as in Go), `\` escapes;
//! - a path is excluded when the last pattern that matches it or one of
//!   its parent directories is not an exception.
//!
//! `<Dockerfile>.dockerignore` next to the Dockerfile takes precedence over
//! the context's `.dockerignore`, as BuildKit does.
//!
//! # Symlinks and `..`
//!
//! Source paths are resolved component by component inside the root. In the
//! build context, a `..` that climbs above the root, or a symlink whose
//! target is absolute or climbs above it, is an error: the source escapes
//! the context. In a stage's output directory the root is that stage's `/`:
//! absolute targets start again from it, and `..` stops at it (as a
//! `chroot` would resolve them). Symlinks *inside* a copied directory are
//! copied as symlinks, never followed, so they read nothing outside.
//! Sockets, FIFOs and devices are skipped with a warning.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

use crate::tree::{EntryKind, FileSource, TreeEntry};

/// A `.dockerignore` (or `--exclude`) pattern list.
#[derive(Clone, Debug, Default)]
pub struct IgnoreRules {
    rules: Vec<IgnoreRule>,
    /// Where the patterns came from, for messages.
    pub origin: Option<PathBuf>,
}

#[derive(Clone, Debug)]
struct IgnoreRule {
    matcher: GlobMatcher,
    exception: bool,
}

/// Translate one Docker pattern to a glob globset accepts.
fn docker_glob(pattern: &str) -> Result<GlobMatcher, String> {
    // Go's character class negation is `[^`; globset's is `[!`.
    let mut g = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                g.push('\\');
                if let Some(n) = chars.next() {
                    g.push(n);
                }
            }
            '[' => {
                g.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    g.push('!');
                }
            }
            c => g.push(c),
        }
    }
    GlobBuilder::new(&g)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.to_string())
}

/// Go's `filepath.Clean` for a slash path, without the leading `/`.
fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !p.starts_with('/') {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

impl IgnoreRules {
    /// Parse a `.dockerignore` text. Errors name the line.
    pub fn parse(text: &str) -> Result<IgnoreRules, String> {
        let mut rules = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, pat) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let pat = clean(pat);
            if pat.is_empty() {
                continue;
            }
            let matcher = docker_glob(&pat).map_err(|e| format!("line {}: {pat:?}: {e}", n + 1))?;
            rules.push(IgnoreRule { matcher, exception });
        }
        Ok(IgnoreRules {
            rules,
            origin: None,
        })
    }

    /// Patterns given on the command line or a flag (`--exclude`).
    pub fn from_patterns(patterns: &[String]) -> Result<IgnoreRules, String> {
        IgnoreRules::parse(&patterns.join("\n"))
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `rel` (a slash path relative to the root) is excluded.
    pub fn excluded(&self, rel: &str) -> bool {
        if rel.is_empty() {
            return false;
        }
        let mut parents: Vec<&str> = Vec::new();
        let mut idx = 0;
        while let Some(i) = rel[idx..].find('/') {
            parents.push(&rel[..idx + i]);
            idx += i + 1;
        }
        let mut excluded = false;
        for r in &self.rules {
            let hit = r.matcher.is_match(rel) || parents.iter().any(|p| r.matcher.is_match(p));
            if hit {
                excluded = !r.exception;
            }
        }
        excluded
    }
}

/// Where sources are read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootKind {
    /// The build context: escaping it is an error.
    Context,
    /// A stage's filesystem: resolution is confined like a chroot.
    StageOutput,
}

/// A directory COPY reads from.
#[derive(Clone, Debug)]
pub struct SourceRoot {
    pub root: PathBuf,
    pub kind: RootKind,
    pub ignore: IgnoreRules,
}

/// One entry read from a source root, relative to the matched source.
#[derive(Clone, Debug)]
pub struct ReadEntry {
    /// Slash path below the matched source (empty for the source itself).
    pub rel: String,
    pub entry: TreeEntry,
}

/// One source path (after pattern expansion) and what is below it.
#[derive(Clone, Debug)]
pub struct SourceMatch {
    /// The path relative to the root, as resolved (slash separated).
    pub rel: String,
    pub is_dir: bool,
    /// The source itself first (`rel` empty), then what is below it in
    /// name order.
    pub entries: Vec<ReadEntry>,
}

/// Limits on what one COPY may read.
const MAX_ENTRIES: usize = 1_000_000;
const MAX_LINK_HOPS: usize = 40;

fn has_pattern(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

impl SourceRoot {
    pub fn new(root: &Path, kind: RootKind, ignore: IgnoreRules) -> Result<SourceRoot, String> {
        let root = root
            .canonicalize()
            .map_err(|e| format!("{}: {e}", root.display()))?;
        if !root.is_dir() {
            return Err(format!("{} is not a directory", root.display()));
        }
        Ok(SourceRoot { root, kind, ignore })
    }

    fn what(&self) -> &'static str {
        match self.kind {
            RootKind::Context => "the build context",
            RootKind::StageOutput => "the stage output directory",
        }
    }

    /// Resolve `rel` inside the root, following symlinks (all of them, the
    /// last one too). Returns the resolved relative components.
    pub fn resolve(&self, rel: &str) -> Result<Vec<String>, String> {
        let mut pending: Vec<String> = rel
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .rev()
            .map(str::to_string)
            .collect();
        let mut done: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(c) = pending.pop() {
            if c == ".." {
                if done.pop().is_none() && self.kind == RootKind::Context {
                    return Err(format!("{rel:?} climbs out of {}", self.what()));
                }
                continue;
            }
            done.push(c);
            let host = self.root.join(done.join("/"));
            let meta = match std::fs::symlink_metadata(&host) {
                Ok(m) => m,
                // Missing: the caller reports it with its own words.
                Err(_) => {
                    done.extend(pending.into_iter().rev());
                    return Ok(done);
                }
            };
            if meta.file_type().is_symlink() {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Err(format!("{rel:?}: too many levels of symbolic links"));
                }
                let target =
                    std::fs::read_link(&host).map_err(|e| format!("{}: {e}", host.display()))?;
                let target = target.to_string_lossy().into_owned();
                let link = done.join("/");
                done.pop();
                if target.starts_with('/') {
                    if self.kind == RootKind::Context {
                        return Err(format!(
                            "{rel:?} goes through the symlink {link} -> {target}, which leaves {}",
                            self.what()
                        ));
                    }
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
        Ok(done)
    }

    /// Expand a source as written (`app/`, `*.html`, `/abs/in/stage`) to
    /// the paths it names, then read each.
    pub fn collect(
        &self,
        source: &str,
        exclude: &IgnoreRules,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<SourceMatch>, String> {
        let cleaned = source.trim_start_matches('/');
        let candidates: Vec<String> = if has_pattern(cleaned) {
            self.glob(cleaned)?
        } else {
            vec![cleaned.to_string()]
        };
        let mut out = Vec::new();
        for cand in candidates {
            let comps = self.resolve(&cand)?;
            let rel = comps.join("/");
            if self.kind == RootKind::Context && self.ignore.excluded(&rel) && !rel.is_empty() {
                if has_pattern(cleaned) {
                    continue;
                }
                return Err(format!(
                    "{source:?} is excluded by {}",
                    self.ignore
                        .origin
                        .as_deref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| ".dockerignore".into())
                ));
            }
            let host = self.root.join(&rel);
            let meta = std::fs::metadata(&host)
                .map_err(|_| format!("{source:?} is not in {}", self.what()))?;
            let mut entries = Vec::new();
            let is_dir = meta.is_dir();
            entries.push(ReadEntry {
                rel: String::new(),
                entry: entry_for(&host, &meta, None)?,
            });
            if is_dir {
                self.walk(&host, &rel, "", exclude, &mut entries, warnings)?;
            }
            out.push(SourceMatch {
                rel,
                is_dir,
                entries,
            });
        }
        if out.is_empty() {
            return Err(format!("no file in {} matches {source:?}", self.what()));
        }
        Ok(out)
    }

    /// Paths matching a pattern, in name order (hidden files only when the
    /// pattern's component starts with `.`, as sh globbing does).
    fn glob(&self, pattern: &str) -> Result<Vec<String>, String> {
        let matcher = docker_glob(&clean(pattern)).map_err(|e| format!("{pattern:?}: {e}"))?;
        let depth = clean(pattern).split('/').count();
        let mut out = Vec::new();
        let mut stack = vec![(String::new(), 0usize)];
        while let Some((dir, d)) = stack.pop() {
            if d >= depth {
                continue;
            }
            let host = self.root.join(&dir);
            let Ok(rd) = std::fs::read_dir(&host) else {
                continue;
            };
            let mut names: Vec<String> = rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            for n in names.into_iter().rev() {
                let rel = if dir.is_empty() {
                    n.clone()
                } else {
                    format!("{dir}/{n}")
                };
                let pat_comp = clean(pattern).split('/').nth(d).unwrap_or("").to_string();
                if n.starts_with('.') && !pat_comp.starts_with('.') {
                    continue;
                }
                if d + 1 == depth {
                    if matcher.is_match(&rel) {
                        out.push(rel);
                    }
                } else if self.root.join(&rel).is_dir() {
                    stack.push((rel, d + 1));
                }
                if out.len() > MAX_ENTRIES {
                    return Err(format!("{pattern:?} matches too many files"));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn walk(
        &self,
        host: &Path,
        root_rel: &str,
        below: &str,
        exclude: &IgnoreRules,
        out: &mut Vec<ReadEntry>,
        warnings: &mut Vec<String>,
    ) -> Result<(), String> {
        let rd = std::fs::read_dir(host).map_err(|e| format!("{}: {e}", host.display()))?;
        let mut names: Vec<std::ffi::OsString> = rd.flatten().map(|e| e.file_name()).collect();
        names.sort();
        for name in names {
            let Some(n) = name.to_str() else {
                warnings.push(format!(
                    "{}: skipped a file whose name is not UTF-8",
                    host.display()
                ));
                continue;
            };
            let rel = if below.is_empty() {
                n.to_string()
            } else {
                format!("{below}/{n}")
            };
            let ctx_rel = if root_rel.is_empty() {
                rel.clone()
            } else {
                format!("{root_rel}/{rel}")
            };
            let path = host.join(n);
            let meta =
                std::fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let excluded = (self.kind == RootKind::Context && self.ignore.excluded(&ctx_rel))
                || exclude.excluded(&rel);
            if excluded {
                // A directory may still hold an exception (`!keep/this`).
                if meta.is_dir() {
                    let mut inner = Vec::new();
                    self.walk(&path, root_rel, &rel, exclude, &mut inner, warnings)?;
                    if !inner.is_empty() {
                        out.push(ReadEntry {
                            rel: rel.clone(),
                            entry: entry_for(&path, &meta, None)?,
                        });
                        out.extend(inner);
                    }
                }
                continue;
            }
            let ft = meta.file_type();
            if !(ft.is_dir() || ft.is_file() || ft.is_symlink()) {
                warnings.push(format!(
                    "{}: skipped (not a file, directory or symlink)",
                    path.display()
                ));
                continue;
            }
            let link = if ft.is_symlink() {
                Some(
                    std::fs::read_link(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))?
                        .to_string_lossy()
                        .into_owned(),
                )
            } else {
                None
            };
            out.push(ReadEntry {
                rel: rel.clone(),
                entry: entry_for(&path, &meta, link)?,
            });
            if out.len() > MAX_ENTRIES {
                return Err(format!("{} holds too many files", host.display()));
            }
            if ft.is_dir() {
                self.walk(&path, root_rel, &rel, exclude, out, warnings)?;
            }
        }
        Ok(())
    }
}

fn entry_for(
    path: &Path,
    meta: &std::fs::Metadata,
    link: Option<String>,
) -> Result<TreeEntry, String> {
    let mode = meta.permissions().mode() & 0o7777;
    let kind = if let Some(target) = link {
        EntryKind::Symlink { target }
    } else if meta.is_dir() {
        EntryKind::Dir
    } else if meta.is_file() {
        EntryKind::File {
            source: FileSource::Disk(path.to_path_buf()),
            size: meta.size(),
        }
    } else {
        return Err(format!(
            "{}: not a file, directory or symlink",
            path.display()
        ));
    };
    Ok(TreeEntry {
        kind,
        mode,
        uid: 0,
        gid: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore_follows_docker_rules() {
        let rules = IgnoreRules::parse(
            "# comment\n\n/secret\n*.log\n!keep.log\ndocs/**\n!docs/README.md\n**/*.tmp\n[^a]x\n",
        )
        .unwrap();
        let cases = [
            ("secret", true),
            ("secret/key", true),
            ("sub/secret", false),
            ("app.log", true),
            ("sub/app.log", false),
            ("keep.log", false),
            ("docs/a/b", true),
            ("docs/README.md", false),
            ("a/b/c.tmp", true),
            ("c.tmp", true),
            ("bx", true),
            ("ax", false),
            ("main.rs", false),
        ];
        let wrong: Vec<_> = cases
            .iter()
            .filter(|(p, want)| rules.excluded(p) != *want)
            .collect();
        assert!(wrong.is_empty(), "{wrong:?}");
    }

    #[test]
    fn clean_drops_leading_slash_and_dots() {
        assert_eq!(clean("/a/./b/../c/"), "a/c");
        assert_eq!(clean("./x"), "x");
    }
}
