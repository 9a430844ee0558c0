//! Writers: an OCI image layout directory, or one tar that is at once an
//! oci-archive and a docker-archive.
//!
//! The archive holds `oci-layout`, `index.json` and `blobs/sha256/*` (the
//! OCI layout) plus Docker's `manifest.json` pointing at the same blobs, so
//! `skopeo` reads it as `oci-archive:` and as `docker-archive:`, and
//! `docker load` accepts it (layers stay compressed; both decompress them).
//! `--format oci-archive` and `--format docker-archive` therefore write the
//! same bytes. The directory layout is the same minus `manifest.json`.
//!
//! Atomicity: everything is built under a temporary name in the
//! destination's directory and renamed into place only when complete
//! (files are fsynced first), so an interrupted build never leaves a partial
//! image at the destination. A process killed mid-write may leave its
//! `.<name>.tmp-*` staging entry behind (nothing can delete it then); it is
//! never at the destination path. An existing destination is *replaced*
//! (a layout directory is not merged into).
//!
//! Every blob copied from the layer store is re-hashed while it is copied;
//! a mismatch aborts the write.
//!
//! Index annotations: `org.opencontainers.image.ref.name` is the tag (as
//! skopeo's `oci:DIR:TAG` looks it up) and `io.containerd.image.name` the
//! full reference (what `docker load` of an OCI layout names the image by).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::os::unix::fs::PermissionsExt;
use tempfile::{NamedTempFile, TempDir};

use super::config::{ANNOTATION_REF_NAME, Descriptor, index_json};
use super::digest::{Digest, canonical_json};
use super::reference::Reference;
use super::tarwrite::{TarError, TarKind, TarWriter};
use super::{Image, ImageError, io_err};

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// An OCI image layout directory.
    Oci,
    /// A tar of the layout (also a docker-archive).
    OciArchive,
    /// A tar `docker load` accepts (also an oci-archive).
    DockerArchive,
}

impl FromStr for Format {
    type Err = ImageError;
    fn from_str(s: &str) -> Result<Self, ImageError> {
        match s {
            "oci" => Ok(Format::Oci),
            "oci-archive" => Ok(Format::OciArchive),
            "docker-archive" => Ok(Format::DockerArchive),
            _ => Err(ImageError::Output {
                path: PathBuf::from(s),
                reason: "unknown format (expected oci, oci-archive or docker-archive)".into(),
            }),
        }
    }
}

/// Options for [`write()`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// The name to record (index annotations, docker `RepoTags`).
    pub reference: Option<Reference>,
}

pub const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";
const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// An output built under a temporary name, not yet at its destination.
/// Dropping it deletes the staging copy; [`StagedOutput::commit`] renames
/// it into place.
#[derive(Debug)]
pub struct StagedOutput {
    staged: Staged,
    dest: PathBuf,
}

#[derive(Debug)]
enum Staged {
    Dir(TempDir),
    File(NamedTempFile),
}

impl StagedOutput {
    /// Where the staging copy is.
    pub fn staging_path(&self) -> &Path {
        match &self.staged {
            Staged::Dir(d) => d.path(),
            Staged::File(f) => f.path(),
        }
    }

    /// Move the output to its destination, replacing what was there.
    pub fn commit(self) -> Result<(), ImageError> {
        let dest = self.dest;
        let parent = parent_dir(&dest);
        let out_err = |reason: String| ImageError::Output {
            path: dest.clone(),
            reason,
        };
        match self.staged {
            Staged::File(f) => {
                if dest.is_dir() {
                    return Err(out_err("is a directory; an archive is a file".into()));
                }
                f.persist(&dest)
                    .map_err(|e| io_err(format!("renaming into {}", dest.display()), e.error))?;
            }
            Staged::Dir(d) => {
                // Move an existing destination aside into an empty temporary
                // directory (rename may replace an empty directory), whose
                // drop then deletes it.
                let mut aside = None;
                match fs::symlink_metadata(&dest) {
                    Ok(m) if m.is_dir() => {
                        let old = tempfile::Builder::new()
                            .prefix(&format!(".{}.old-", file_name(&dest)))
                            .tempdir_in(&parent)
                            .map_err(|e| io_err("creating a temporary directory", e))?;
                        fs::rename(&dest, old.path()).map_err(|e| {
                            io_err(format!("moving the old {} aside", dest.display()), e)
                        })?;
                        aside = Some(old);
                    }
                    Ok(_) => {
                        fs::remove_file(&dest)
                            .map_err(|e| io_err(format!("replacing {}", dest.display()), e))?;
                    }
                    Err(_) => {}
                }
                fs::rename(d.path(), &dest)
                    .map_err(|e| io_err(format!("renaming into {}", dest.display()), e))?;
                // Renamed away: nothing left for the TempDir to delete.
                let _ = d.keep();
                drop(aside);
            }
        }
        if let Ok(dir) = File::open(&parent) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into())
}

/// Write `image` to `dest` atomically.
pub fn write(
    image: &Image,
    format: Format,
    dest: &Path,
    opts: &WriteOptions,
) -> Result<(), ImageError> {
    stage(image, format, dest, opts)?.commit()
}

/// Build the output under a temporary name next to `dest`.
pub fn stage(
    image: &Image,
    format: Format,
    dest: &Path,
    opts: &WriteOptions,
) -> Result<StagedOutput, ImageError> {
    if dest.file_name().is_none() {
        return Err(ImageError::Output {
            path: dest.to_path_buf(),
            reason: "has no file name".into(),
        });
    }
    let parent = parent_dir(dest);
    fs::create_dir_all(&parent).map_err(|e| io_err(format!("creating {}", parent.display()), e))?;
    let prefix = format!(".{}.tmp-", file_name(dest));
    let staged = match format {
        Format::Oci => {
            // Outputs get ordinary modes (tempfile's default is owner-only),
            // so other users and tools can read the image.
            let dir = tempfile::Builder::new()
                .prefix(&prefix)
                .permissions(fs::Permissions::from_mode(0o755))
                .tempdir_in(&parent)
                .map_err(|e| io_err(format!("creating a directory in {}", parent.display()), e))?;
            write_layout(image, dir.path(), opts)?;
            Staged::Dir(dir)
        }
        Format::OciArchive | Format::DockerArchive => {
            let mut file = tempfile::Builder::new()
                .prefix(&prefix)
                .permissions(fs::Permissions::from_mode(0o644))
                .tempfile_in(&parent)
                .map_err(|e| io_err(format!("creating a file in {}", parent.display()), e))?;
            {
                let out = io::BufWriter::with_capacity(1 << 20, file.as_file_mut());
                let out = write_archive(image, out, opts)?;
                out.into_inner()
                    .map_err(|e| io_err("writing the archive", e.into_error()))?;
            }
            file.as_file()
                .sync_all()
                .map_err(|e| io_err("syncing the archive", e))?;
            Staged::File(file)
        }
    };
    Ok(StagedOutput {
        staged,
        dest: dest.to_path_buf(),
    })
}

/// The index (with the name annotations) for `image`.
pub(crate) fn index_bytes(image: &Image, opts: &WriteOptions) -> Result<Vec<u8>, ImageError> {
    let mut desc: Descriptor = image.manifest_descriptor.clone();
    if let Some(r) = &opts.reference {
        if r.tag.is_some() || r.digest.is_none() {
            desc.annotations
                .insert(ANNOTATION_REF_NAME.into(), r.tag_or_latest().to_string());
        }
        desc.annotations
            .insert(ANNOTATION_CONTAINERD_NAME.into(), r.to_string());
    }
    index_json(&desc)
}

#[derive(Serialize)]
struct DockerManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags")]
    repo_tags: Vec<String>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

fn docker_manifest(image: &Image, opts: &WriteOptions) -> Result<Vec<u8>, ImageError> {
    let entry = DockerManifestEntry {
        config: image.config_descriptor.digest.blob_path(),
        repo_tags: opts
            .reference
            .iter()
            .filter(|r| r.digest.is_none() || r.tag.is_some())
            .map(Reference::familiar)
            .collect(),
        layers: image
            .layers
            .iter()
            .map(|l| l.info.digest.blob_path())
            .collect(),
    };
    canonical_json(&vec![entry]).map_err(ImageError::Json)
}

/// Every blob of the image: (digest, size, where its bytes are), sorted by
/// digest, each once.
enum BlobSource<'a> {
    Memory(&'a [u8]),
    Disk(&'a Path),
}

fn blobs(image: &Image) -> Vec<(&Digest, u64, BlobSource<'_>)> {
    let mut v: Vec<(&Digest, u64, BlobSource<'_>)> = vec![
        (
            &image.config_descriptor.digest,
            image.config.len() as u64,
            BlobSource::Memory(&image.config),
        ),
        (
            &image.manifest_descriptor.digest,
            image.manifest.len() as u64,
            BlobSource::Memory(&image.manifest),
        ),
    ];
    for l in &image.layers {
        v.push((&l.info.digest, l.info.size, BlobSource::Disk(&l.blob)));
    }
    v.sort_by(|a, b| a.0.cmp(b.0));
    v.dedup_by(|a, b| a.0 == b.0);
    v
}

/// A reader that hashes what it reads.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn open_blob(path: &Path) -> Result<HashingReader<File>, ImageError> {
    let f = File::open(path).map_err(|e| io_err(format!("opening blob {}", path.display()), e))?;
    Ok(HashingReader {
        inner: f,
        hasher: Sha256::new(),
    })
}

fn check_hash(r: HashingReader<File>, path: &Path, expected: &Digest) -> Result<(), ImageError> {
    if Digest::from_hasher(r.hasher) != *expected {
        return Err(ImageError::BlobMismatch {
            path: path.to_path_buf(),
            expected: expected.clone(),
        });
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ImageError> {
    let mut f =
        File::create(path).map_err(|e| io_err(format!("creating {}", path.display()), e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| io_err(format!("writing {}", path.display()), e))
}

fn write_layout(image: &Image, dir: &Path, opts: &WriteOptions) -> Result<(), ImageError> {
    let blob_dir = dir.join("blobs/sha256");
    fs::create_dir_all(&blob_dir)
        .map_err(|e| io_err(format!("creating {}", blob_dir.display()), e))?;
    for (digest, size, source) in blobs(image) {
        let dest = dir.join(digest.blob_path());
        match source {
            BlobSource::Memory(b) => write_file(&dest, b)?,
            BlobSource::Disk(src) => {
                let mut r = open_blob(src)?;
                let mut f = File::create(&dest)
                    .map_err(|e| io_err(format!("creating {}", dest.display()), e))?;
                let copied = io::copy(&mut r, &mut f)
                    .and_then(|n| f.sync_all().map(|_| n))
                    .map_err(|e| io_err(format!("copying {}", src.display()), e))?;
                if copied != size {
                    return Err(ImageError::BlobMismatch {
                        path: src.to_path_buf(),
                        expected: digest.clone(),
                    });
                }
                check_hash(r, src, digest)?;
            }
        }
    }
    write_file(&dir.join("oci-layout"), OCI_LAYOUT)?;
    write_file(&dir.join("index.json"), &index_bytes(image, opts)?)?;
    Ok(())
}

fn tar_err(what: &str, e: TarError) -> ImageError {
    match e {
        TarError::Io(io) => io_err(format!("writing {what} into the archive"), io),
        other => ImageError::Output {
            path: PathBuf::from(what),
            reason: other.to_string(),
        },
    }
}

/// Write the combined OCI/docker archive to `out`; entries in name order,
/// every header with the image's `SOURCE_DATE_EPOCH`.
fn write_archive<W: Write>(image: &Image, out: W, opts: &WriteOptions) -> Result<W, ImageError> {
    let mut tar = TarWriter::new(out, image.source_date_epoch);
    tar.append("blobs", TarKind::Dir, 0o755, 0, 0)
        .map_err(|e| tar_err("blobs/", e))?;
    tar.append("blobs/sha256", TarKind::Dir, 0o755, 0, 0)
        .map_err(|e| tar_err("blobs/sha256/", e))?;
    for (digest, size, source) in blobs(image) {
        let name = digest.blob_path();
        match source {
            BlobSource::Memory(b) => tar
                .append_bytes(&name, b, 0o644)
                .map_err(|e| tar_err(&name, e))?,
            BlobSource::Disk(src) => {
                let mut r = open_blob(src)?;
                tar.append(&name, TarKind::File { size, data: &mut r }, 0o644, 0, 0)
                    .map_err(|e| match e {
                        TarError::SizeChanged { .. } => ImageError::BlobMismatch {
                            path: src.to_path_buf(),
                            expected: digest.clone(),
                        },
                        other => tar_err(&name, other),
                    })?;
                check_hash(r, src, digest)?;
            }
        }
    }
    tar.append_bytes("index.json", &index_bytes(image, opts)?, 0o644)
        .map_err(|e| tar_err("index.json", e))?;
    tar.append_bytes("manifest.json", &docker_manifest(image, opts)?, 0o644)
        .map_err(|e| tar_err("manifest.json", e))?;
    tar.append_bytes("oci-layout", OCI_LAYOUT, 0o644)
        .map_err(|e| tar_err("oci-layout", e))?;
    tar.finish().map_err(|e| io_err("finishing the archive", e))
}
