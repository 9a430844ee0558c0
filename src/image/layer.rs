//! One layer: from a [`FileTree`] to a compressed, hashed blob in one
//! streaming pass.
//!
//! ```text
//! entries ─► tar ─► sha256 (diff_id) ─► gzip|zstd ─► sha256 (digest) ─► file
//! ```
//!
//! Choices (where the issue was silent):
//! - Entries are written in the order of their path strings (byte order, as
//!   the tree's `BTreeMap` keeps them); a parent always sorts before its
//!   children because it is a prefix.
//! - Missing parent directories are added as `0755 0:0` and listed in
//!   [`LayerInfo::parents_added`]. The root directory itself is never
//!   written: the runtime owns `/`.
//! - A path inside a non-directory of the same tree is an error.
//! - Hard links: all paths that (through chains of links) name the same
//!   regular file form a group; the first path of the group in archive order
//!   carries the content and the others are tar hard links to it, so a link
//!   never precedes its target, whatever the tree said was the "target".
//!   A hard link to a symlink is written as a second symlink; to a directory
//!   is an error. A link whose target is not in its own tree (the image's
//!   other layers are searched, last one first, as the final filesystem sees
//!   them) is written as a *copy* of that file — a tar link may only refer
//!   to an earlier entry of the same layer — and listed in
//!   [`LayerInfo::hardlinks_copied`].
//! - uid/gid come from the entry; user and group names are never written.
//!   Modes are masked to `0o7777`; regular files with setuid or setgid are
//!   listed in [`LayerInfo::setid_files`].

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::digest::{Digest, HashingWriter};
use super::gzip::ParallelGzip;
use super::tarwrite::{TarError, TarKind, TarWriter};
use super::{Compression, ImageError, io_err};
use crate::tree::{EntryKind, FileSource, FileTree, ImagePath, TreeEntry};

/// What the lead passes for each layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerInput {
    /// The files of the layer.
    pub tree: FileTree,
    /// The history text, naming the Dockerfile line, e.g.
    /// `apt-get install nginx (Dockerfile:5)`. Written to the config's
    /// history as `created_by`.
    pub created_by: String,
    /// An optional history comment (e.g. the store path it holds).
    pub comment: Option<String>,
    /// A key that identifies the *contents* of every `FileSource::Disk`
    /// file of the tree (a store path's artifact digest, say). When set,
    /// the layer cache trusts it instead of reading those files to hash
    /// them; when `None`, disk files are hashed to compute the cache key
    /// (one extra read of each, on every build).
    pub content_key: Option<String>,
}

/// A regular file with the setuid or setgid bit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetIdFile {
    pub path: ImagePath,
    pub mode: u32,
}

/// A hard link written as a copy because its target lives in another layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopiedHardlink {
    pub path: ImagePath,
    pub target: ImagePath,
}

/// What the report needs to know about one layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    pub created_by: String,
    pub comment: Option<String>,
    pub media_type: String,
    /// Digest of the compressed blob.
    pub digest: Digest,
    /// Digest of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: Digest,
    /// Compressed size in bytes.
    pub size: u64,
    /// Uncompressed tar size in bytes.
    pub uncompressed_size: u64,
    /// Number of tar entries (excluding PAX headers).
    pub entries: usize,
    /// Bytes of regular file content.
    pub file_bytes: u64,
    pub setid_files: Vec<SetIdFile>,
    pub parents_added: Vec<ImagePath>,
    pub hardlinks_copied: Vec<CopiedHardlink>,
    /// The digest of the layer's inputs that keys the cache.
    pub cache_key: Digest,
    /// Whether the blob came from the layer cache.
    pub from_cache: bool,
}

/// A layer blob on disk with its descriptor data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub info: LayerInfo,
    /// Where the compressed blob is (in the layer cache, or in the image's
    /// temporary blob directory).
    pub blob: PathBuf,
}

/// An entry as it will be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Planned {
    pub path: ImagePath,
    pub kind: PlannedKind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PlannedKind {
    Dir,
    File { source: FileSource, size: u64 },
    Symlink { target: String },
    Hardlink { target: ImagePath },
}

/// The entries of a layer in archive order, and what planning changed.
#[derive(Clone, Debug, Default)]
pub(crate) struct LayerPlan {
    pub entries: Vec<Planned>,
    pub parents_added: Vec<ImagePath>,
    pub hardlinks_copied: Vec<CopiedHardlink>,
}

fn bad_tree(path: &ImagePath, reason: impl Into<String>) -> ImageError {
    ImageError::BadTree {
        path: path.absolute(),
        reason: reason.into(),
    }
}

/// Find what a hard link finally names in `tree`, following chains.
/// `Ok(None)`: the target is not in `tree`.
fn follow_links<'t>(
    tree: &'t FileTree,
    start: &ImagePath,
    first_target: &ImagePath,
) -> Result<Option<(ImagePath, &'t TreeEntry)>, ImageError> {
    let mut seen = BTreeSet::new();
    let mut cur = first_target.clone();
    loop {
        if !seen.insert(cur.clone()) || cur == *start {
            return Err(bad_tree(start, "hard link chain loops"));
        }
        match tree.entries.get(&cur) {
            None => return Ok(None),
            Some(TreeEntry {
                kind: EntryKind::Hardlink { target },
                ..
            }) => cur = target.clone(),
            Some(e) => return Ok(Some((cur, e))),
        }
    }
}

/// Plan the entries of one layer. `others` are the trees of the image's
/// other layers, in image order, searched (last first) for hard-link
/// targets missing from `tree`.
pub(crate) fn plan_layer(tree: &FileTree, others: &[&FileTree]) -> Result<LayerPlan, ImageError> {
    let mut out: BTreeMap<ImagePath, Planned> = BTreeMap::new();
    let mut plan = LayerPlan::default();

    // Hard-link groups: final target path -> linking paths.
    let mut groups: BTreeMap<ImagePath, Vec<ImagePath>> = BTreeMap::new();

    for (path, entry) in &tree.entries {
        if path.is_root() {
            continue;
        }
        for anc in path.ancestors() {
            if let Some(a) = tree.entries.get(&anc)
                && !matches!(a.kind, EntryKind::Dir)
            {
                return Err(bad_tree(
                    path,
                    format!("is inside {}, which is not a directory", anc.absolute()),
                ));
            }
        }
        let kind = match &entry.kind {
            EntryKind::Dir => PlannedKind::Dir,
            EntryKind::File { source, size } => PlannedKind::File {
                source: source.clone(),
                size: *size,
            },
            EntryKind::Symlink { target } => PlannedKind::Symlink {
                target: target.clone(),
            },
            EntryKind::Hardlink { target } => match follow_links(tree, path, target)? {
                Some((final_path, t)) => match &t.kind {
                    EntryKind::File { .. } => {
                        groups.entry(final_path).or_default().push(path.clone());
                        continue;
                    }
                    EntryKind::Symlink { target } => {
                        out.insert(
                            path.clone(),
                            Planned {
                                path: path.clone(),
                                kind: PlannedKind::Symlink {
                                    target: target.clone(),
                                },
                                mode: t.mode & 0o7777,
                                uid: t.uid,
                                gid: t.gid,
                            },
                        );
                        continue;
                    }
                    _ => {
                        return Err(bad_tree(
                            path,
                            format!("is a hard link to {}, a directory", final_path.absolute()),
                        ));
                    }
                },
                None => {
                    let Some((final_path, t)) = find_outside(others, path, target)? else {
                        return Err(bad_tree(
                            path,
                            format!(
                                "is a hard link to {}, which is in no layer of the image",
                                target.absolute()
                            ),
                        ));
                    };
                    let EntryKind::File { source, size } = &t.kind else {
                        return Err(bad_tree(
                            path,
                            format!(
                                "is a hard link to {}, which is not a regular file",
                                final_path.absolute()
                            ),
                        ));
                    };
                    plan.hardlinks_copied.push(CopiedHardlink {
                        path: path.clone(),
                        target: final_path,
                    });
                    out.insert(
                        path.clone(),
                        Planned {
                            path: path.clone(),
                            kind: PlannedKind::File {
                                source: source.clone(),
                                size: *size,
                            },
                            mode: t.mode & 0o7777,
                            uid: t.uid,
                            gid: t.gid,
                        },
                    );
                    continue;
                }
            },
        };
        out.insert(
            path.clone(),
            Planned {
                path: path.clone(),
                kind,
                mode: entry.mode & 0o7777,
                uid: entry.uid,
                gid: entry.gid,
            },
        );
    }

    // Re-root every hard-link group at its first path in archive order.
    for (target, links) in groups {
        let Some(t) = out.get(&target).cloned() else {
            return Err(bad_tree(
                &target,
                "hard link target vanished while planning",
            ));
        };
        let mut members: Vec<ImagePath> = links;
        members.push(target.clone());
        members.sort();
        members.dedup();
        let Some(head) = members.first().cloned() else {
            continue;
        };
        for m in &members {
            let kind = if *m == head {
                t.kind.clone()
            } else {
                PlannedKind::Hardlink {
                    target: head.clone(),
                }
            };
            out.insert(
                m.clone(),
                Planned {
                    path: m.clone(),
                    kind,
                    mode: t.mode,
                    uid: t.uid,
                    gid: t.gid,
                },
            );
        }
    }

    // Parent directories the tree did not list.
    let mut parents = BTreeSet::new();
    for path in out.keys() {
        for anc in path.ancestors() {
            if !out.contains_key(&anc) {
                parents.insert(anc);
            }
        }
    }
    for p in parents {
        out.insert(
            p.clone(),
            Planned {
                path: p.clone(),
                kind: PlannedKind::Dir,
                mode: 0o755,
                uid: 0,
                gid: 0,
            },
        );
        plan.parents_added.push(p);
    }

    plan.entries = out.into_values().collect();
    Ok(plan)
}

fn find_outside<'t>(
    others: &[&'t FileTree],
    start: &ImagePath,
    target: &ImagePath,
) -> Result<Option<(ImagePath, &'t TreeEntry)>, ImageError> {
    for t in others.iter().rev() {
        if let Some(found) = follow_links(t, start, target)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The layer cache key: a digest over everything that determines the
/// layer's bytes — the planned entries (paths, kinds, modes, owners, sizes,
/// link targets, content identities), the compression settings with a
/// fingerprint of the compressor's actual output, and the timestamp.
pub(crate) fn cache_key(
    plan: &LayerPlan,
    content_key: Option<&str>,
    compression: Compression,
    epoch: u64,
) -> Result<Digest, ImageError> {
    let mut h = Sha256::new();
    let field = |h: &mut Sha256, bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(&mut h, b"scratchify-layer-key-v1");
    field(&mut h, compression.describe().as_bytes());
    field(&mut h, compressor_fingerprint(compression)?.as_bytes());
    field(&mut h, &epoch.to_le_bytes());
    field(&mut h, content_key.unwrap_or("").as_bytes());
    field(&mut h, &[u8::from(content_key.is_some())]);
    for e in &plan.entries {
        field(&mut h, e.path.as_str().as_bytes());
        field(
            &mut h,
            format!("{:o} {} {}", e.mode, e.uid, e.gid).as_bytes(),
        );
        match &e.kind {
            PlannedKind::Dir => field(&mut h, b"dir"),
            PlannedKind::Symlink { target } => {
                field(&mut h, b"symlink");
                field(&mut h, target.as_bytes());
            }
            PlannedKind::Hardlink { target } => {
                field(&mut h, b"hardlink");
                field(&mut h, target.as_str().as_bytes());
            }
            PlannedKind::File { source, size } => {
                field(&mut h, b"file");
                field(&mut h, &size.to_le_bytes());
                match source {
                    FileSource::Bytes(b) => field(&mut h, Sha256::digest(b).as_slice()),
                    FileSource::Disk(_) if content_key.is_some() => field(&mut h, b"keyed"),
                    FileSource::Disk(p) => {
                        let d = hash_file(p, *size).map_err(|err| file_error(&e.path, p, &err))?;
                        field(&mut h, &d);
                    }
                }
            }
        }
    }
    Ok(Digest::from_hasher(h))
}

fn file_error(image_path: &ImagePath, disk: &Path, err: &dyn std::fmt::Display) -> ImageError {
    ImageError::FileRead {
        image_path: image_path.absolute(),
        disk: disk.to_path_buf(),
        detail: err.to_string(),
    }
}

/// sha256 of a disk file that must be exactly `size` bytes long.
fn hash_file(path: &Path, size: u64) -> io::Result<[u8; 32]> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
        total += n as u64;
        if total > size {
            break;
        }
    }
    if total != size {
        return Err(io::Error::other(format!(
            "declared {size} bytes but the file has {total}{}",
            if total > size { " or more" } else { "" }
        )));
    }
    Ok(h.finalize().into())
}

/// The compressor stage of the pipeline.
enum Compressor<W: Write> {
    Gzip(ParallelGzip<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Compressor<W> {
    fn new(out: W, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::Gzip { level } => Compressor::Gzip(ParallelGzip::new(out, level)),
            Compression::Zstd { level } => {
                // Single-threaded in the caller (no worker threads): zstd's
                // output with workers depends on their count.
                let mut enc = zstd::stream::write::Encoder::new(out, level)?;
                enc.include_checksum(true)?;
                enc.include_contentsize(false)?;
                Compressor::Zstd(enc)
            }
        })
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Compressor::Gzip(g) => g.finish(),
            Compressor::Zstd(z) => z.finish(),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::Gzip(g) => g.write(buf),
            Compressor::Zstd(z) => z.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::Gzip(g) => g.flush(),
            Compressor::Zstd(z) => z.flush(),
        }
    }
}

/// Compress `data` with `compression` into memory (tests, fingerprints).
pub(crate) fn compress_to_vec(data: &[u8], compression: Compression) -> io::Result<Vec<u8>> {
    let mut c = Compressor::new(Vec::new(), compression)?;
    c.write_all(data)?;
    c.finish()
}

/// A digest of what the compressor produces for a fixed sample. It goes
/// into every cache key, so a cache filled by a build linked against a
/// different zlib-rs or zstd (whose bytes may differ) is not reused as if
/// it were this one's output.
fn compressor_fingerprint(compression: Compression) -> Result<String, ImageError> {
    use std::sync::Mutex;
    static SEEN: Mutex<Vec<(Compression, String)>> = Mutex::new(Vec::new());
    if let Ok(seen) = SEEN.lock()
        && let Some((_, f)) = seen.iter().find(|(c, _)| *c == compression)
    {
        return Ok(f.clone());
    }
    // Three blocks of mixed text and pseudo-random bytes.
    let mut sample = Vec::with_capacity(3 * super::gzip::BLOCK_SIZE + 100);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut i = 0u64;
    while sample.len() < 3 * super::gzip::BLOCK_SIZE + 100 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if i.is_multiple_of(3) {
            sample.extend_from_slice(&x.to_le_bytes());
        } else {
            sample.extend_from_slice(format!("entry {i} {}\n", x % 1000).as_bytes());
        }
        i += 1;
    }
    let out = compress_to_vec(&sample, compression)
        .map_err(|e| io_err("compressing the fingerprint sample", e))?;
    let f = Digest::of(&out).hex()[..16].to_string();
    if let Ok(mut seen) = SEEN.lock() {
        seen.push((compression, f.clone()));
    }
    Ok(f)
}

/// Sizes and digests of a freshly written blob.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BlobRecord {
    pub digest: Digest,
    pub size: u64,
    pub diff_id: Digest,
    pub uncompressed_size: u64,
    pub media_type: String,
}

/// Write the layer into `blob_dir/<hex>` in one pass. The blob is built in
/// a temporary file in `blob_dir` and renamed into place when complete.
pub(crate) fn write_layer(
    plan: &LayerPlan,
    compression: Compression,
    epoch: u64,
    blob_dir: &Path,
) -> Result<BlobRecord, ImageError> {
    let tmp = tempfile::Builder::new()
        .prefix(".layer-")
        .tempfile_in(blob_dir)
        .map_err(|e| {
            io_err(
                format!("creating a layer file in {}", blob_dir.display()),
                e,
            )
        })?;
    let werr = |e: io::Error| io_err("writing a layer blob", e);
    let file_out = HashingWriter::new(BufWriter::with_capacity(1 << 20, tmp));
    let compressor = Compressor::new(file_out, compression).map_err(werr)?;
    let tar_out = HashingWriter::new(compressor);
    let mut tar = TarWriter::new(tar_out, epoch);

    for e in &plan.entries {
        let name = e.path.as_str();
        let result = match &e.kind {
            PlannedKind::Dir => tar.append(name, TarKind::Dir, e.mode, e.uid, e.gid),
            PlannedKind::Symlink { target } => {
                tar.append(name, TarKind::Symlink { target }, e.mode, e.uid, e.gid)
            }
            PlannedKind::Hardlink { target } => tar.append(
                name,
                TarKind::Hardlink {
                    target: target.as_str(),
                },
                e.mode,
                e.uid,
                e.gid,
            ),
            PlannedKind::File {
                source: FileSource::Bytes(b),
                size,
            } => {
                let mut data: &[u8] = b;
                tar.append(
                    name,
                    TarKind::File {
                        size: *size,
                        data: &mut data,
                    },
                    e.mode,
                    e.uid,
                    e.gid,
                )
            }
            PlannedKind::File {
                source: FileSource::Disk(p),
                size,
            } => {
                let mut f = File::open(p).map_err(|err| file_error(&e.path, p, &err))?;
                tar.append(
                    name,
                    TarKind::File {
                        size: *size,
                        data: &mut f,
                    },
                    e.mode,
                    e.uid,
                    e.gid,
                )
            }
        };
        result.map_err(|err| match err {
            TarError::Io(io) => io_err(format!("writing {} into a layer", e.path.absolute()), io),
            TarError::SizeChanged { .. } => ImageError::FileRead {
                image_path: e.path.absolute(),
                disk: match &e.kind {
                    PlannedKind::File {
                        source: FileSource::Disk(p),
                        ..
                    } => p.clone(),
                    _ => PathBuf::new(),
                },
                detail: format!("changed while the layer was written: {err}"),
            },
        })?;
    }

    let tar_out = tar.finish().map_err(werr)?;
    let (compressor, diff_id, uncompressed_size) = tar_out.finish();
    let file_out = compressor.finish().map_err(werr)?;
    let (buffered, digest, size) = file_out.finish();
    let tmp = buffered.into_inner().map_err(|e| werr(e.into_error()))?;
    let dest = blob_dir.join(digest.hex());
    tmp.persist(&dest).map_err(|e| {
        io_err(
            format!("moving a layer blob to {}", dest.display()),
            e.error,
        )
    })?;
    Ok(BlobRecord {
        digest,
        size,
        diff_id,
        uncompressed_size,
        media_type: compression.media_type().to_string(),
    })
}

/// Tar entries and file bytes of a plan, and its setuid/setgid files.
pub(crate) fn plan_stats(plan: &LayerPlan) -> (usize, u64, Vec<SetIdFile>) {
    let mut bytes = 0;
    let mut setid = Vec::new();
    for e in &plan.entries {
        if let PlannedKind::File { size, .. } = &e.kind {
            bytes += size;
        }
        if matches!(
            e.kind,
            PlannedKind::File { .. } | PlannedKind::Hardlink { .. }
        ) && e.mode & 0o6000 != 0
        {
            setid.push(SetIdFile {
                path: e.path.clone(),
                mode: e.mode,
            });
        }
    }
    (plan.entries.len(), bytes, setid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ImagePath {
        ImagePath::new(s).unwrap()
    }

    fn link(t: &str) -> TreeEntry {
        TreeEntry {
            kind: EntryKind::Hardlink { target: p(t) },
            mode: 0o644,
            uid: 0,
            gid: 0,
        }
    }

    fn tree(entries: Vec<(&str, TreeEntry)>) -> FileTree {
        let mut t = FileTree::new();
        for (k, v) in entries {
            t.insert(p(k), v);
        }
        t
    }

    #[test]
    fn hard_link_groups_are_rooted_at_the_first_path() {
        let t = tree(vec![
            (
                "z/target",
                TreeEntry::bytes(b"x".to_vec(), 0o4755).owned(5, 6),
            ),
            ("a/first", link("z/target")),
            ("m/chain", link("a/first")),
            ("s/sym", TreeEntry::symlink("z/target")),
            ("s/link-to-sym", link("s/sym")),
        ]);
        let plan = plan_layer(&t, &[]).unwrap();
        let get = |k: &str| plan.entries.iter().find(|e| e.path == p(k)).unwrap();
        assert!(matches!(get("a/first").kind, PlannedKind::File { .. }));
        for l in ["m/chain", "z/target"] {
            assert_eq!(
                get(l).kind,
                PlannedKind::Hardlink {
                    target: p("a/first")
                },
                "{l}"
            );
            assert_eq!((get(l).mode, get(l).uid, get(l).gid), (0o4755, 5, 6));
        }
        assert_eq!(
            get("s/link-to-sym").kind,
            PlannedKind::Symlink {
                target: "z/target".into()
            }
        );
        // Parents added for a, m, s, z.
        let parents: Vec<&str> = plan.parents_added.iter().map(|x| x.as_str()).collect();
        assert_eq!(parents, ["a", "m", "s", "z"]);
        let (_, _, setid) = plan_stats(&plan);
        assert_eq!(setid.len(), 3, "the file and its two links");
    }

    #[test]
    fn cross_layer_links_are_copied_and_bad_trees_rejected() {
        let other = tree(vec![("lib/x", TreeEntry::bytes(b"lib".to_vec(), 0o644))]);
        let t = tree(vec![("bin/x", link("lib/x"))]);
        let plan = plan_layer(&t, &[&other]).unwrap();
        assert_eq!(plan.hardlinks_copied.len(), 1);
        assert!(matches!(
            plan.entries
                .iter()
                .find(|e| e.path == p("bin/x"))
                .unwrap()
                .kind,
            PlannedKind::File { .. }
        ));

        let cases: Vec<(&str, FileTree)> = vec![
            ("dangling", tree(vec![("a", link("nowhere"))])),
            ("loop", tree(vec![("a", link("b")), ("b", link("a"))])),
            ("self", tree(vec![("a", link("a"))])),
            (
                "link to dir",
                tree(vec![("d", TreeEntry::dir(0o755)), ("a", link("d"))]),
            ),
            (
                "inside a file",
                tree(vec![
                    ("f", TreeEntry::bytes(b"".to_vec(), 0o644)),
                    ("f/g", TreeEntry::bytes(b"".to_vec(), 0o644)),
                ]),
            ),
            (
                "inside a symlink",
                tree(vec![
                    ("lib", TreeEntry::symlink("usr/lib")),
                    ("lib/x", TreeEntry::bytes(b"".to_vec(), 0o644)),
                ]),
            ),
        ];
        let accepted: Vec<&str> = cases
            .iter()
            .filter(|(_, t)| plan_layer(t, &[]).is_ok())
            .map(|(n, _)| *n)
            .collect();
        assert!(accepted.is_empty(), "accepted {accepted:?}");
    }

    #[test]
    fn cache_key_tracks_what_changes_bytes() {
        let base = tree(vec![("a", TreeEntry::bytes(b"one".to_vec(), 0o644))]);
        let key = |t: &FileTree, c: Compression, e: u64| {
            cache_key(&plan_layer(t, &[]).unwrap(), None, c, e).unwrap()
        };
        let k0 = key(&base, Compression::default(), 0);
        assert_eq!(k0, key(&base, Compression::default(), 0));
        let variants = [
            tree(vec![("a", TreeEntry::bytes(b"two".to_vec(), 0o644))]),
            tree(vec![("a", TreeEntry::bytes(b"one".to_vec(), 0o600))]),
            tree(vec![(
                "a",
                TreeEntry::bytes(b"one".to_vec(), 0o644).owned(1, 0),
            )]),
            tree(vec![("b", TreeEntry::bytes(b"one".to_vec(), 0o644))]),
        ];
        for (i, v) in variants.iter().enumerate() {
            assert_ne!(key(v, Compression::default(), 0), k0, "variant {i}");
        }
        assert_ne!(key(&base, Compression::Gzip { level: 1 }, 0), k0);
        assert_ne!(key(&base, Compression::default_zstd(), 0), k0);
        assert_ne!(key(&base, Compression::default(), 1), k0);
    }
}
