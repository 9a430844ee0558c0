//! File trees: the vocabulary the store produces (unpacked packages) and the
//! image consumes (layers), so neither needs to know the other.
//!
//! Paths are image paths: relative to the root `/`, normalised (no `.`, `..`,
//! empty components or leading `/`), as [`ImagePath::new`] guarantees. A path
//! that would escape the root is rejected there, once, for every producer.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A normalised path inside an image root, without the leading `/`.
/// The root itself is the empty path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImagePath(String);

/// A path that cannot be placed in an image root.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("path {path:?} {reason}")]
pub struct BadPath {
    pub path: String,
    pub reason: &'static str,
}

impl ImagePath {
    /// Normalise `p` (absolute or relative to the root). `.` and empty
    /// components are dropped; `..` is an error, never resolved, because a
    /// tar entry or COPY source that climbs is hostile or a mistake.
    pub fn new(p: &str) -> Result<Self, BadPath> {
        let bad = |reason| BadPath {
            path: p.to_string(),
            reason,
        };
        if p.contains('\0') {
            return Err(bad("contains a NUL byte"));
        }
        let mut parts = Vec::new();
        for comp in p.split('/') {
            match comp {
                "" | "." => {}
                ".." => return Err(bad("climbs out of its root with `..`")),
                c => parts.push(c),
            }
        }
        Ok(ImagePath(parts.join("/")))
    }

    pub fn root() -> Self {
        ImagePath(String::new())
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path without a leading `/` (empty for the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path with a leading `/`.
    pub fn absolute(&self) -> String {
        format!("/{}", self.0)
    }

    pub fn join(&self, rel: &str) -> Result<Self, BadPath> {
        ImagePath::new(&format!("{}/{}", self.0, rel))
    }

    pub fn parent(&self) -> Option<ImagePath> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rfind('/') {
            Some(i) => ImagePath(self.0[..i].to_string()),
            None => ImagePath::root(),
        })
    }

    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// Every proper ancestor, from the top (excluding the root).
    pub fn ancestors(&self) -> impl Iterator<Item = ImagePath> + '_ {
        self.0
            .match_indices('/')
            .map(|(i, _)| ImagePath(self.0[..i].to_string()))
    }
}

impl TryFrom<String> for ImagePath {
    type Error = BadPath;
    fn try_from(s: String) -> Result<Self, BadPath> {
        ImagePath::new(&s)
    }
}

impl From<ImagePath> for String {
    fn from(p: ImagePath) -> String {
        p.0
    }
}

impl fmt::Display for ImagePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.0)
    }
}

/// Where a regular file's bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileSource {
    /// A file on disk (an unpacked package in the cache, a build-context file).
    Disk(PathBuf),
    /// Bytes synthesised in memory (passwd, os-release, a heredoc).
    Bytes(Arc<[u8]>),
}

/// What a tree entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File {
        source: FileSource,
        size: u64,
    },
    Symlink {
        target: String,
    },
    /// A hard link to another path of the same tree.
    Hardlink {
        target: ImagePath,
    },
}

/// One entry of a file tree. Modification times are not kept: images are
/// reproducible, every timestamp comes from `SOURCE_DATE_EPOCH`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeEntry {
    pub kind: EntryKind,
    /// Permission bits including setuid/setgid/sticky (`0o7777` mask).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl TreeEntry {
    pub fn dir(mode: u32) -> Self {
        TreeEntry {
            kind: EntryKind::Dir,
            mode,
            uid: 0,
            gid: 0,
        }
    }

    pub fn bytes(data: impl Into<Arc<[u8]>>, mode: u32) -> Self {
        let data: Arc<[u8]> = data.into();
        TreeEntry {
            kind: EntryKind::File {
                size: data.len() as u64,
                source: FileSource::Bytes(data),
            },
            mode,
            uid: 0,
            gid: 0,
        }
    }

    pub fn symlink(target: impl Into<String>) -> Self {
        TreeEntry {
            kind: EntryKind::Symlink {
                target: target.into(),
            },
            mode: 0o777,
            uid: 0,
            gid: 0,
        }
    }

    pub fn owned(mut self, uid: u32, gid: u32) -> Self {
        self.uid = uid;
        self.gid = gid;
        self
    }
}

/// A file tree: entries by path, in a stable (sorted) order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileTree {
    pub entries: BTreeMap<ImagePath, TreeEntry>,
}

impl FileTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, path: ImagePath, entry: TreeEntry) {
        self.entries.insert(path, entry);
    }

    /// Total bytes of regular files.
    pub fn file_bytes(&self) -> u64 {
        self.entries
            .values()
            .map(|e| match &e.kind {
                EntryKind::File { size, .. } => *size,
                _ => 0,
            })
            .sum()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_refuses_climbing() {
        assert_eq!(
            ImagePath::new("/usr//bin/./x").unwrap().as_str(),
            "usr/bin/x"
        );
        assert!(ImagePath::new("/").unwrap().is_root());
        assert!(ImagePath::new("a/../../etc").is_err());
        assert!(ImagePath::new("a/..").is_err());
        let p = ImagePath::new("usr/lib/x.so").unwrap();
        assert_eq!(p.parent().unwrap().as_str(), "usr/lib");
        assert_eq!(p.file_name(), "x.so");
        let anc: Vec<_> = p.ancestors().map(|a| a.as_str().to_string()).collect();
        assert_eq!(anc, ["usr", "usr/lib"]);
    }
}
