//! COPY and ADD: from sources to a layer tree.
//!
//! Destination rules (Docker's): the destination is a directory when it
//! ends with `/`, when it already is one in the image, or when several
//! sources (after pattern expansion) are copied; several sources into a
//! path that is not a directory is an error. A directory source copies its
//! *contents*. `--parents` keeps each source's path below the destination.
//!
//! Choices:
//! - Copied entries keep their permission bits; ownership is 0:0 unless
//!   `--chown` says otherwise. `--chmod` applies to files and directories
//!   (symlinks stay 0777).
//! - A destination directory the copy creates gets `--chown`'s owner (as
//!   BuildKit does) and mode 0755 (or `--chmod`'s); an existing one keeps
//!   its attributes.
//! - Heredoc files are 0644, files from a URL 0600 (Docker's modes).
//! - `ADD` of a local tar (plain, gzip, xz or zstd) unpacks it at the
//!   destination; anything else is copied as a file. Unpacked entries
//!   are normalised through [`ImagePath`] (nothing escapes the root),
//!   device nodes and FIFOs are skipped, and an archive may hold at most
//!   [`MAX_ARCHIVE_BYTES`] of content (it is held in memory).
//! - `ADD URL`: downloaded (at most [`MAX_URL_BYTES`]) and, when
//!   `--checksum` is given, verified before use; never unpacked.

use std::io::Read;
use std::sync::Arc;

use sha2::Digest as _;

use crate::tree::{EntryKind, FileSource, FileTree, ImagePath, TreeEntry};

use super::accounts::Owner;
use super::context::{IgnoreRules, SourceMatch, SourceRoot};
use super::files::{ModeSpec, Workspace};

pub const MAX_ARCHIVE_BYTES: u64 = 256 << 20;
pub const MAX_URL_BYTES: u64 = 256 << 20;

/// How copied entries are owned and moded.
pub struct CopyAttrs {
    pub owner: Option<Owner>,
    pub chmod: Option<ModeSpec>,
}

impl CopyAttrs {
    fn apply(&self, e: &mut TreeEntry) {
        if let Some(o) = &self.owner {
            o.apply(&mut e.uid, &mut e.gid);
        }
        if let Some(m) = &self.chmod
            && !matches!(e.kind, EntryKind::Symlink { .. })
        {
            e.mode = m.apply(e.mode, matches!(e.kind, EntryKind::Dir));
        }
    }
}

/// A file placed by a COPY, for the report.
#[derive(Clone, Debug)]
pub struct Placed {
    pub path: ImagePath,
    /// Where it came from: a context-relative path, `stage:PATH`, a URL, or
    /// `<<NAME` for a heredoc.
    pub from: String,
}

/// Where the destination of one COPY is, and whether it is a directory.
pub struct Dest {
    pub path: ImagePath,
    pub is_dir: bool,
}

pub fn destination(ws: &Workspace, dest: &str, count: usize) -> Result<Dest, String> {
    let path = ws.resolve(dest, true)?;
    let exists_dir = ws.is_dir(&path);
    let is_dir = dest.ends_with('/') || exists_dir || count > 1;
    if count > 1 && !(dest.ends_with('/') || exists_dir) {
        return Err(format!(
            "copying {count} sources needs a directory destination ending in `/`, not {dest}"
        ));
    }
    Ok(Dest { path, is_dir })
}

fn join(base: &ImagePath, rel: &str) -> Result<ImagePath, String> {
    if rel.is_empty() {
        Ok(base.clone())
    } else {
        base.join(rel).map_err(|e| e.to_string())
    }
}

/// How one COPY places what it read.
pub struct Placement<'a> {
    pub dest: &'a Dest,
    pub parents: bool,
    pub attrs: &'a CopyAttrs,
    /// Prefix of the recorded source (`stage:`), empty for the context.
    pub from_prefix: &'a str,
}

/// Place matches read from a source root.
pub fn place_matches(
    ws: &Workspace,
    tree: &mut FileTree,
    matches: &[SourceMatch],
    how: &Placement<'_>,
    placed: &mut Vec<Placed>,
) -> Result<(), String> {
    let Placement {
        dest,
        parents,
        attrs,
        from_prefix,
    } = *how;
    for m in matches {
        let base = if parents {
            join(&dest.path, &m.rel)?
        } else if m.is_dir {
            dest.path.clone()
        } else if dest.is_dir {
            let name = m.rel.rsplit('/').next().unwrap_or(&m.rel);
            join(&dest.path, name)?
        } else {
            dest.path.clone()
        };
        for r in &m.entries {
            let target = join(&base, &r.rel)?;
            if target.is_root() {
                continue;
            }
            let mut e = r.entry.clone();
            if r.rel.is_empty() && m.is_dir {
                // The destination directory itself.
                if ws.is_dir(&target) && !parents {
                    continue;
                }
                e = TreeEntry::dir(0o755);
            }
            attrs.apply(&mut e);
            if let EntryKind::File { .. } = e.kind {
                let from = if r.rel.is_empty() {
                    m.rel.clone()
                } else if m.rel.is_empty() {
                    r.rel.clone()
                } else {
                    format!("{}/{}", m.rel, r.rel)
                };
                placed.push(Placed {
                    path: target.clone(),
                    from: format!("{from_prefix}{from}"),
                });
            }
            tree.insert(target, e);
        }
    }
    Ok(())
}

/// Read the sources of a COPY from a root.
pub fn read_sources(
    root: &SourceRoot,
    sources: &[String],
    exclude: &[String],
    warnings: &mut Vec<String>,
) -> Result<Vec<SourceMatch>, String> {
    let exclude = IgnoreRules::from_patterns(exclude).map_err(|e| format!("--exclude: {e}"))?;
    let mut out = Vec::new();
    for s in sources {
        out.extend(root.collect(s, &exclude, warnings)?);
    }
    Ok(out)
}

/// A single in-memory file (heredoc, URL) at the destination.
pub fn place_bytes(
    tree: &mut FileTree,
    dest: &Dest,
    name: &str,
    bytes: Vec<u8>,
    mode: u32,
    attrs: &CopyAttrs,
) -> Result<ImagePath, String> {
    let target = if dest.is_dir {
        let name = name.trim_matches('/');
        let name = name.rsplit('/').next().unwrap_or(name);
        if name.is_empty() {
            return Err("the source has no file name; give a destination file path".into());
        }
        join(&dest.path, name)?
    } else {
        dest.path.clone()
    };
    if target.is_root() {
        return Err("cannot write a file at /".into());
    }
    let mut e = TreeEntry::bytes(bytes, mode);
    attrs.apply(&mut e);
    tree.insert(target.clone(), e);
    Ok(target)
}

/// Download `url` and check it against `checksum` (`sha256:HEX`).
pub fn download(url: &str, checksum: Option<&str>) -> Result<Vec<u8>, String> {
    let expected = match checksum {
        Some(c) => {
            let hex = c
                .strip_prefix("sha256:")
                .ok_or_else(|| format!("--checksum={c}: only sha256:<hex> is supported"))?;
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("--checksum={c}: not a sha256 digest"));
            }
            Some(hex.to_ascii_lowercase())
        }
        None => None,
    };
    use crate::store::fetch::{Fetcher, Retry};
    let fetcher = Fetcher::new(Retry::from_env().map_err(|e| e.to_string())?);
    let data = fetcher.get(url, MAX_URL_BYTES).map_err(|e| e.to_string())?;
    if let Some(want) = expected {
        let got = hex::encode(sha2::Sha256::digest(&data));
        if got != want {
            return Err(format!(
                "{url}: checksum mismatch: expected sha256:{want}, got sha256:{got}"
            ));
        }
    }
    Ok(data)
}

/// The compression of an archive, by magic bytes; `None`: not a tar.
fn archive_kind(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some("gzip")
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("xz")
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("zstd")
    } else if head.starts_with(b"BZh") {
        Some("bzip2")
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Some("tar")
    } else {
        None
    }
}

/// ADD of a local file: unpack it at `dest` when it is a tar archive.
/// `Ok(false)`: not an archive (the caller copies it as a file).
pub fn add_archive(
    host: &std::path::Path,
    tree: &mut FileTree,
    dest: &ImagePath,
    attrs: &CopyAttrs,
    warnings: &mut Vec<String>,
) -> Result<bool, String> {
    let err = |e: std::io::Error| format!("{}: {e}", host.display());
    let mut head = [0u8; 512];
    let n = {
        let mut f = std::fs::File::open(host).map_err(err)?;
        let mut n = 0;
        while n < head.len() {
            let r = f.read(&mut head[n..]).map_err(err)?;
            if r == 0 {
                break;
            }
            n += r;
        }
        n
    };
    let Some(kind) = archive_kind(&head[..n]) else {
        return Ok(false);
    };
    let file = std::io::BufReader::new(std::fs::File::open(host).map_err(err)?);
    let reader: Box<dyn Read> = match kind {
        "gzip" => Box::new(flate2::read::MultiGzDecoder::new(file)),
        "xz" => Box::new(liblzma::read::XzDecoder::new(file)),
        "zstd" => Box::new(zstd::stream::read::Decoder::new(file).map_err(err)?),
        "tar" => Box::new(file),
        other => {
            return Err(format!(
                "{}: {other} archives are not supported by ADD here; unpack it into the context",
                host.display()
            ));
        }
    };
    // A compressed file that is not a tar inside is copied as is (Docker
    // does the same).
    let mut inner_head = Vec::new();
    let mut reader = reader;
    (&mut reader)
        .take(512)
        .read_to_end(&mut inner_head)
        .map_err(err)?;
    if kind != "tar" && archive_kind(&inner_head) != Some("tar") {
        return Ok(false);
    }
    let chained = std::io::Cursor::new(inner_head).chain(reader);
    let mut archive = tar::Archive::new(chained);
    let mut total: u64 = 0;
    for entry in archive.entries().map_err(err)? {
        let mut entry = entry.map_err(err)?;
        let raw = entry.path().map_err(err)?.to_string_lossy().into_owned();
        let rel = ImagePath::new(&raw).map_err(|e| format!("{}: {e}", host.display()))?;
        if rel.is_root() {
            continue;
        }
        let target = join(dest, rel.as_str())?;
        let header = entry.header();
        let mode = header.mode().map_err(err)? & 0o7777;
        let uid = header.uid().map_err(err)? as u32;
        let gid = header.gid().map_err(err)? as u32;
        let et = header.entry_type();
        let kind = if et.is_dir() {
            EntryKind::Dir
        } else if et.is_symlink() {
            let t = entry
                .link_name()
                .map_err(err)?
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            EntryKind::Symlink { target: t }
        } else if et.is_hard_link() {
            let t = entry
                .link_name()
                .map_err(err)?
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            let t = ImagePath::new(&t).map_err(|e| format!("{}: {e}", host.display()))?;
            EntryKind::Hardlink {
                target: join(dest, t.as_str())?,
            }
        } else if et.is_file() || et == tar::EntryType::Continuous {
            let size = entry.size();
            total = total.saturating_add(size);
            if total > MAX_ARCHIVE_BYTES {
                return Err(format!(
                    "{}: more than {MAX_ARCHIVE_BYTES} bytes of content",
                    host.display()
                ));
            }
            let mut data = Vec::with_capacity(size.min(1 << 20) as usize);
            (&mut entry)
                .take(size)
                .read_to_end(&mut data)
                .map_err(err)?;
            EntryKind::File {
                size: data.len() as u64,
                source: FileSource::Bytes(Arc::from(data)),
            }
        } else if matches!(
            et,
            tar::EntryType::XHeader | tar::EntryType::XGlobalHeader | tar::EntryType::GNULongName
        ) {
            continue;
        } else {
            warnings.push(format!(
                "{}: skipped {raw} (device node or FIFO)",
                host.display()
            ));
            continue;
        };
        let mut e = TreeEntry {
            kind,
            mode,
            uid,
            gid,
        };
        attrs.apply(&mut e);
        tree.insert(target, e);
    }
    Ok(true)
}
