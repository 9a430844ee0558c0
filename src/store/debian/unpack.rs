//! Unpacking .deb files without dpkg.
//!
//! A .deb is an `ar` archive: `debian-binary` ("2.0"), `control.tar[.gz|.xz|.zst]`,
//! `data.tar[.gz|.xz|.zst|.bz2-less]`. The data tar is read entry by entry:
//! paths are normalised through [`ImagePath`] (an entry that climbs out of
//! the root fails the package), regular files are streamed into the
//! unpacked cache under *numbered* names (`files/<n>`), never under the
//! package's own paths, so nothing a package contains can make the unpacker
//! write outside its directory or follow a symlink it planted. Modes,
//! owners, symlink and hardlink targets are recorded in a manifest, and the
//! [`FileTree`] is rebuilt from it.
//!
//! The unpacked form is layout-neutral; merged-/usr is applied when a tree
//! is loaded ([`load`]), so one cache entry serves every release.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::store::{ControlMember, PackageControl, StoreError, UnpackedPackage};
use crate::tree::{EntryKind, FileSource, FileTree, ImagePath, TreeEntry};

const MANIFEST: &str = "manifest.json";
const MANIFEST_FORMAT: u32 = 1;
/// Limits on what a package may make us hold in memory.
const MAX_CONTROL_MEMBER: u64 = 64 << 20;
const MAX_CONTROL_TOTAL: u64 = 256 << 20;
const MAX_ENTRIES: usize = 2_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Dir,
    File,
    Symlink,
    Hardlink,
}

#[derive(Debug, Serialize, Deserialize)]
struct ManifestEntry {
    path: String,
    kind: Kind,
    mode: u32,
    uid: u32,
    gid: u32,
    #[serde(default)]
    size: u64,
    /// `files/<blob>` for regular files.
    #[serde(default)]
    blob: Option<u64>,
    /// Symlink target (as written) or hardlink target (an image path).
    #[serde(default)]
    target: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    entries: Vec<ManifestEntry>,
    /// Control members, stored under `control/<name>`.
    control: Vec<String>,
    notes: Vec<String>,
}

/// Unpack the (already verified) .deb at `deb` into the new directory
/// `dest`, which must not exist. `label` names the package in errors.
pub fn unpack_deb(deb: &Path, dest: &Path, label: &str) -> Result<(), StoreError> {
    let bad = |reason: String| StoreError::BadArchive {
        file: label.to_string(),
        reason,
    };
    fs::create_dir_all(dest.join("files")).map_err(|e| StoreError::io(dest, e))?;
    fs::create_dir_all(dest.join("control")).map_err(|e| StoreError::io(dest, e))?;
    let file = File::open(deb).map_err(|e| StoreError::io(deb, e))?;
    let mut archive = ar::Archive::new(BufReader::new(file));
    let mut manifest = Manifest {
        format: MANIFEST_FORMAT,
        entries: Vec::new(),
        control: Vec::new(),
        notes: Vec::new(),
    };
    let mut position = 0usize;
    let (mut saw_control, mut saw_data) = (false, false);
    while let Some(member) = archive.next_entry() {
        let mut member = member.map_err(|e| bad(format!("not an ar archive: {e}")))?;
        let id = String::from_utf8_lossy(member.header().identifier())
            .trim_end_matches('/')
            .to_string();
        position += 1;
        if position == 1 {
            if id != "debian-binary" {
                return Err(bad(format!("first member is {id:?}, not debian-binary")));
            }
            let mut v = String::new();
            (&mut member)
                .take(64)
                .read_to_string(&mut v)
                .map_err(|e| bad(format!("debian-binary: {e}")))?;
            if !v.starts_with("2.") {
                return Err(bad(format!("unsupported format version {:?}", v.trim())));
            }
            continue;
        }
        if let Some(suffix) = id.strip_prefix("control.tar") {
            if saw_control {
                return Err(bad("two control members".into()));
            }
            saw_control = true;
            let reader = decompressor(suffix, &mut member).map_err(bad)?;
            read_control(reader, dest, &mut manifest).map_err(bad)?;
        } else if let Some(suffix) = id.strip_prefix("data.tar") {
            if !saw_control || saw_data {
                return Err(bad("data member out of order".into()));
            }
            saw_data = true;
            let reader = decompressor(suffix, &mut member).map_err(bad)?;
            read_data(reader, dest, &mut manifest).map_err(bad)?;
        } else if id.starts_with('_') {
            // deb(5): members starting with `_` are for other tools.
        } else {
            return Err(bad(format!("unexpected member {id:?}")));
        }
    }
    if !(saw_control && saw_data) {
        return Err(bad("missing control or data member".into()));
    }
    let json = serde_json::to_vec(&manifest).map_err(|e| bad(e.to_string()))?;
    let path = dest.join(MANIFEST);
    let mut f = File::create(&path).map_err(|e| StoreError::io(&path, e))?;
    f.write_all(&json)
        .and_then(|()| f.sync_all())
        .map_err(|e| StoreError::io(&path, e))?;
    Ok(())
}

fn decompressor<'r>(suffix: &str, r: &'r mut dyn Read) -> Result<Box<dyn Read + 'r>, String> {
    Ok(match suffix {
        "" => Box::new(r),
        ".gz" => Box::new(flate2::read::MultiGzDecoder::new(r)),
        ".xz" => Box::new(liblzma::read::XzDecoder::new_multi_decoder(r)),
        ".zst" => Box::new(zstd::stream::read::Decoder::new(r).map_err(|e| e.to_string())?),
        other => return Err(format!("unsupported compression {other:?}")),
    })
}

fn read_control(
    reader: Box<dyn Read + '_>,
    dest: &Path,
    manifest: &mut Manifest,
) -> Result<(), String> {
    let mut tar = tar::Archive::new(reader);
    let mut total = 0u64;
    for entry in tar.entries().map_err(|e| format!("control: {e}"))? {
        let mut entry = entry.map_err(|e| format!("control: {e}"))?;
        let path = entry.path_bytes();
        let path = String::from_utf8_lossy(&path).to_string();
        let name = path.trim_start_matches("./").trim_end_matches('/');
        if name.is_empty() || entry.header().entry_type().is_dir() {
            continue;
        }
        if !entry.header().entry_type().is_file() {
            continue;
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
            || name.starts_with('.')
        {
            return Err(format!("control member with unexpected name {path:?}"));
        }
        let size = entry.size();
        total += size;
        if size > MAX_CONTROL_MEMBER || total > MAX_CONTROL_TOTAL {
            return Err(format!("control member {name} is too large"));
        }
        let out = dest.join("control").join(name);
        let mut f = File::create(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        io::copy(&mut (&mut entry).take(MAX_CONTROL_MEMBER), &mut f)
            .map_err(|e| format!("control member {name}: {e}"))?;
        if !manifest.control.iter().any(|c| c == name) {
            manifest.control.push(name.to_string());
        }
    }
    if !manifest.control.iter().any(|c| c == "control") {
        return Err("control archive has no control file".into());
    }
    Ok(())
}

fn read_data(
    reader: Box<dyn Read + '_>,
    dest: &Path,
    manifest: &mut Manifest,
) -> Result<(), String> {
    let mut tar = tar::Archive::new(reader);
    let mut files: BTreeMap<String, usize> = BTreeMap::new();
    let mut next_blob = 0u64;
    for entry in tar.entries().map_err(|e| format!("data: {e}"))? {
        let mut entry = entry.map_err(|e| format!("data: {e}"))?;
        if manifest.entries.len() >= MAX_ENTRIES {
            return Err("too many entries".into());
        }
        let raw = entry.path_bytes();
        let raw = std::str::from_utf8(&raw)
            .map_err(|_| format!("entry {:?} is not UTF-8", String::from_utf8_lossy(&raw)))?
            .to_string();
        let path = ImagePath::new(&raw).map_err(|e| format!("entry {e}"))?;
        if path.is_root() {
            continue;
        }
        let header = entry.header();
        let mode = header.mode().unwrap_or(0o644) & 0o7777;
        let uid = u32::try_from(header.uid().unwrap_or(0)).unwrap_or(0);
        let gid = u32::try_from(header.gid().unwrap_or(0)).unwrap_or(0);
        let kind = header.entry_type();
        let mut record = ManifestEntry {
            path: path.as_str().to_string(),
            kind: Kind::Dir,
            mode,
            uid,
            gid,
            size: 0,
            blob: None,
            target: None,
        };
        use tar::EntryType as T;
        match kind {
            T::Directory => {}
            T::Regular | T::Continuous => {
                let blob = next_blob;
                next_blob += 1;
                let out = dest.join("files").join(blob.to_string());
                let mut f = File::create(&out).map_err(|e| format!("{}: {e}", out.display()))?;
                let size =
                    io::copy(&mut entry, &mut f).map_err(|e| format!("entry {raw:?}: {e}"))?;
                record.kind = Kind::File;
                record.size = size;
                record.blob = Some(blob);
            }
            T::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| format!("symlink {raw:?} without target"))?;
                let target = std::str::from_utf8(&target)
                    .map_err(|_| format!("symlink {raw:?} target is not UTF-8"))?;
                if target.is_empty() || target.contains('\0') {
                    return Err(format!("symlink {raw:?} has an empty target"));
                }
                record.kind = Kind::Symlink;
                record.mode = 0o777;
                record.target = Some(target.to_string());
            }
            T::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| format!("hardlink {raw:?} without target"))?;
                let target = std::str::from_utf8(&target)
                    .map_err(|_| format!("hardlink {raw:?} target is not UTF-8"))?;
                let target =
                    ImagePath::new(target).map_err(|e| format!("hardlink {raw:?}: {e}"))?;
                match files.get(target.as_str()) {
                    Some(_) => {}
                    None => {
                        return Err(format!(
                            "hardlink {raw:?} points to {target}, which is not an earlier file"
                        ));
                    }
                }
                record.kind = Kind::Hardlink;
                record.target = Some(target.as_str().to_string());
            }
            T::Char | T::Block | T::Fifo => {
                manifest
                    .notes
                    .push(format!("skipped device or fifo {}", path.absolute()));
                continue;
            }
            T::XGlobalHeader => continue,
            other => return Err(format!("entry {raw:?} has unsupported type {other:?}")),
        }
        if record.kind == Kind::File {
            files.insert(record.path.clone(), manifest.entries.len());
        } else {
            files.remove(&record.path);
        }
        manifest.entries.push(record);
    }
    Ok(())
}

/// Where an entry of a package goes in the image, given the top-level
/// directories the layout turns into symlinks into /usr (none for a split
/// layout).
fn place(path: &ImagePath, merged: &[&str]) -> Placement {
    let s = path.as_str();
    let top = s.split('/').next().unwrap_or("");
    if !merged.contains(&top) {
        return Placement::Keep(path.clone());
    }
    if s == top {
        return Placement::Drop; // the layout holds the symlink itself
    }
    match ImagePath::new(&format!("usr/{s}")) {
        Ok(p) => Placement::Moved(p),
        Err(_) => Placement::Drop,
    }
}

enum Placement {
    Keep(ImagePath),
    Moved(ImagePath),
    Drop,
}

/// A relative symlink target written for `from`, re-expressed for its new
/// place one level deeper: unchanged unless it climbs with `..`, in which
/// case it becomes the absolute path it meant (the kernel clamps `..` at
/// the root, and so does this).
fn retarget(from: &ImagePath, target: &str) -> String {
    if target.starts_with('/') || !target.split('/').any(|c| c == "..") {
        return target.to_string();
    }
    let parent = from.parent().unwrap_or_else(ImagePath::root);
    let mut parts: Vec<&str> = parent
        .as_str()
        .split('/')
        .filter(|c| !c.is_empty())
        .collect();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Rebuild the package's files from an unpacked directory, placing them
/// for the release's layout (`merged`: the top-level directories that are
/// symlinks into /usr) and adding its package database entries.
pub fn load(
    dir: &Path,
    merged: &[&str],
    name: &str,
    version: &str,
) -> Result<UnpackedPackage, StoreError> {
    let damaged = |reason: String| StoreError::BadArchive {
        file: dir.display().to_string(),
        reason: format!("damaged unpacked cache entry: {reason}"),
    };
    let mpath = dir.join(MANIFEST);
    let bytes = fs::read(&mpath).map_err(|e| StoreError::io(&mpath, e))?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(damaged(format!("manifest format {}", manifest.format)));
    }
    let mut tree = FileTree::new();
    let mut notes = manifest.notes.clone();
    // Original path → placed path, for hardlink targets.
    let mut placed: BTreeMap<String, ImagePath> = BTreeMap::new();
    for e in &manifest.entries {
        let orig = ImagePath::new(&e.path).map_err(|err| damaged(err.to_string()))?;
        let (path, moved) = match place(&orig, merged) {
            Placement::Keep(p) => (p, false),
            Placement::Moved(p) => (p, true),
            Placement::Drop => continue,
        };
        let kind = match e.kind {
            Kind::Dir => EntryKind::Dir,
            Kind::File => {
                let blob = e
                    .blob
                    .ok_or_else(|| damaged(format!("{} has no blob", e.path)))?;
                let file = dir.join("files").join(blob.to_string());
                // A crash mid-unpack could leave a short file: check sizes.
                let len = fs::metadata(&file).map(|m| m.len()).unwrap_or(u64::MAX);
                if len != e.size {
                    return Err(damaged(format!("{} has the wrong size", file.display())));
                }
                EntryKind::File {
                    source: FileSource::Disk(file),
                    size: e.size,
                }
            }
            Kind::Symlink => {
                let t = e.target.clone().unwrap_or_default();
                EntryKind::Symlink {
                    target: if moved { retarget(&orig, &t) } else { t },
                }
            }
            Kind::Hardlink => {
                let t = e.target.clone().unwrap_or_default();
                let target = placed
                    .get(&t)
                    .cloned()
                    .ok_or_else(|| damaged(format!("hardlink target {t} unknown")))?;
                EntryKind::Hardlink { target }
            }
        };
        let entry = TreeEntry {
            kind,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
        };
        if let Some(existing) = tree.entries.get(&path) {
            let existing_is_link = matches!(existing.kind, EntryKind::Symlink { .. });
            let new_is_link = matches!(entry.kind, EntryKind::Symlink { .. });
            let both_dirs =
                matches!(existing.kind, EntryKind::Dir) && matches!(entry.kind, EntryKind::Dir);
            if both_dirs {
                continue;
            }
            if existing_is_link && !new_is_link {
                notes.push(format!(
                    "merged-/usr: {} replaces the symlink at {}",
                    orig.absolute(),
                    path.absolute()
                ));
            } else {
                notes.push(format!(
                    "merged-/usr: {} dropped, {} is already there",
                    orig.absolute(),
                    path.absolute()
                ));
                continue;
            }
        }
        placed.insert(e.path.clone(), path.clone());
        tree.insert(path, entry);
    }
    // Control data.
    let read_member = |m: &str| -> Result<Vec<u8>, StoreError> {
        let p = dir.join("control").join(m);
        fs::read(&p).map_err(|e| StoreError::io(&p, e))
    };
    let control = String::from_utf8_lossy(&read_member("control")?).into_owned();
    let md5sums = if manifest.control.iter().any(|c| c == "md5sums") {
        Some(String::from_utf8_lossy(&read_member("md5sums")?).into_owned())
    } else {
        None
    };
    let conffiles = if manifest.control.iter().any(|c| c == "conffiles") {
        String::from_utf8_lossy(&read_member("conffiles")?)
            .lines()
            .filter_map(|l| l.split_ascii_whitespace().find(|w| w.starts_with('/')))
            .filter_map(|p| ImagePath::new(p).ok())
            .collect()
    } else {
        Vec::new()
    };
    let members = manifest
        .control
        .iter()
        .filter(|c| *c != "control")
        .map(|c| ControlMember {
            name: c.clone(),
            path: dir.join("control").join(c),
        })
        .collect();

    // Package database entries, as distroless writes them.
    let status_dir = ["var", "var/lib", "var/lib/dpkg", "var/lib/dpkg/status.d"];
    for d in status_dir {
        if let Ok(p) = ImagePath::new(d) {
            tree.entries
                .entry(p)
                .or_insert_with(|| TreeEntry::dir(0o755));
        }
    }
    let status = status_paragraph(&control);
    if let Ok(p) = ImagePath::new(&format!("var/lib/dpkg/status.d/{name}")) {
        tree.insert(
            p,
            TreeEntry::bytes(Arc::<[u8]>::from(status.into_bytes()), 0o644),
        );
    }
    if let Some(sums) = &md5sums
        && let Ok(p) = ImagePath::new(&format!("var/lib/dpkg/status.d/{name}.md5sums"))
    {
        tree.insert(
            p,
            TreeEntry::bytes(Arc::<[u8]>::from(sums.as_bytes()), 0o644),
        );
    }
    Ok(UnpackedPackage {
        name: name.to_string(),
        version: version.to_string(),
        files: tree,
        control: PackageControl {
            control,
            conffiles,
            md5sums,
            members,
        },
        notes,
    })
}

/// The control paragraph with dpkg's `Status:` line after `Package:`, so
/// tools that only count installed packages see it.
fn status_paragraph(control: &str) -> String {
    let mut out = String::with_capacity(control.len() + 32);
    let mut inserted = control
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("status:"));
    for line in control.lines() {
        if line.trim().is_empty() {
            break; // one paragraph only
        }
        out.push_str(line);
        out.push('\n');
        if !inserted && line.starts_with("Package:") {
            out.push_str("Status: install ok installed\n");
            inserted = true;
        }
    }
    out
}

/// Where unpacked packages live in the cache.
pub fn unpacked_dir(cache_root: &Path, sha256: &str) -> PathBuf {
    cache_root.join("unpacked/sha256").join(sha256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_for_merged_usr() {
        let p = |s| ImagePath::new(s).unwrap();
        let merged = ["bin", "sbin", "lib", "lib64"];
        assert!(matches!(place(&p("bin"), &merged), Placement::Drop));
        match place(&p("bin/sh"), &merged) {
            Placement::Moved(m) => assert_eq!(m.as_str(), "usr/bin/sh"),
            _ => panic!(),
        }
        assert!(matches!(place(&p("etc/x"), &merged), Placement::Keep(_)));
        assert!(matches!(place(&p("bin/sh"), &[]), Placement::Keep(_)));
        assert!(matches!(
            place(&p("libexec/x"), &merged),
            Placement::Keep(_)
        ));
        assert!(matches!(
            place(&p("lib64/x"), &merged[..3]),
            Placement::Keep(_)
        ));
    }

    #[test]
    fn retargeting() {
        let p = |s| ImagePath::new(s).unwrap();
        assert_eq!(retarget(&p("bin/sh"), "dash"), "dash");
        assert_eq!(retarget(&p("bin/x"), "../usr/bin/x"), "/usr/bin/x");
        assert_eq!(retarget(&p("lib/a/b"), "../../../../etc/x"), "/etc/x");
        assert_eq!(retarget(&p("bin/x"), "/usr/bin/x"), "/usr/bin/x");
    }

    #[test]
    fn status_line() {
        let s = status_paragraph("Package: a\nVersion: 1\nDescription: x\n y\n");
        assert_eq!(
            s,
            "Package: a\nStatus: install ok installed\nVersion: 1\nDescription: x\n y\n"
        );
    }
}
