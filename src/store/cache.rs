//! The content-addressed download cache.
//!
//! Location: `$SCRATCHIFY_CACHE_DIR`, else `$XDG_CACHE_HOME/scratchify`,
//! else `~/.cache/scratchify`.
//!
//! ```text
//! blobs/sha256/<hex>          verified artifacts (.deb, Packages.xz), by content
//! debian/index/<hex>.idx      parsed Packages indices, by the sha256 of their source
//! debian/dists/<key>/InRelease  verified Release files, per (repository, suite, keyring)
//! unpacked/sha256/<hex>/      unpacked .deb contents (files by number + manifest)
//! tmp/                        temporaries; renamed into place when complete
//! ```
//!
//! Every file is written to a temporary in the cache (same filesystem),
//! fsynced, and renamed into place, so a reader never sees half a file and
//! two builds sharing the cache at once at worst both write the same
//! content-addressed bytes. Nothing that failed verification is renamed.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::StoreError;

/// A cache root.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The cache at its configured location (see the module docs).
    pub fn from_env() -> Result<Cache, StoreError> {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let root = if let Some(dir) = env("SCRATCHIFY_CACHE_DIR") {
            PathBuf::from(dir)
        } else if let Some(xdg) = env("XDG_CACHE_HOME") {
            PathBuf::from(xdg).join("scratchify")
        } else if let Some(home) = env("HOME") {
            PathBuf::from(home).join(".cache/scratchify")
        } else {
            return Err(StoreError::Config(
                "no cache directory: set SCRATCHIFY_CACHE_DIR, XDG_CACHE_HOME or HOME".into(),
            ));
        };
        Ok(Cache::at(root))
    }

    pub fn at(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a verified blob with this sha256 lives.
    pub fn blob_path(&self, sha256_hex: &str) -> PathBuf {
        self.root.join("blobs/sha256").join(sha256_hex)
    }

    /// A directory for temporaries on the cache's filesystem.
    pub fn tmp_dir(&self) -> Result<PathBuf, StoreError> {
        let dir = self.root.join("tmp");
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        Ok(dir)
    }

    /// Write `dest` atomically: `write` fills a temporary file, which is
    /// fsynced and renamed over `dest` only if `write` succeeds.
    pub fn write_atomic<T>(
        &self,
        dest: &Path,
        write: impl FnOnce(&mut File) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let parent = dest.parent().unwrap_or(&self.root);
        fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(parent)
            .map_err(|e| StoreError::io(parent, e))?;
        let value = write(tmp.as_file_mut())?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| StoreError::io(tmp.path(), e))?;
        tmp.persist(dest)
            .map_err(|e| StoreError::io(dest, e.error))?;
        sync_dir(parent);
        Ok(value)
    }

    /// Stream `reader` into the blob store, checking it against the
    /// expected sha256 (and size, when known) before it becomes visible.
    /// `name` identifies the file in errors (its URL).
    pub fn ingest_blob(
        &self,
        reader: &mut dyn Read,
        sha256_hex: &str,
        size: Option<u64>,
        name: &str,
    ) -> Result<PathBuf, StoreError> {
        let dest = self.blob_path(sha256_hex);
        self.write_atomic(&dest, |file| {
            let (actual_sha, actual_size) = copy_hashing(reader, file, size, name)?;
            if let Some(expected) = size
                && actual_size != expected
            {
                return Err(StoreError::Size {
                    file: name.to_string(),
                    expected,
                    actual: actual_size,
                });
            }
            if actual_sha != sha256_hex {
                return Err(StoreError::Checksum {
                    file: name.to_string(),
                    expected: sha256_hex.to_string(),
                    actual: actual_sha,
                });
            }
            Ok(())
        })?;
        Ok(dest)
    }

    /// Check a cached blob still has the content its name says (before it
    /// is unpacked: the cache directory is not trusted blindly).
    pub fn verify_blob(&self, sha256_hex: &str) -> Result<Option<PathBuf>, StoreError> {
        let path = self.blob_path(sha256_hex);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        let name = path.display().to_string();
        let (actual, _) = copy_hashing(&mut file, &mut io::sink(), None, &name)?;
        if actual != sha256_hex {
            // A corrupt cache entry: remove it so the next fetch repairs it.
            let _ = fs::remove_file(&path);
            return Err(StoreError::Checksum {
                file: name,
                expected: sha256_hex.to_string(),
                actual,
            });
        }
        Ok(Some(path))
    }
}

/// Copy while hashing; stops reading one byte past `limit` (so an
/// oversized download is detected without being stored whole).
pub(crate) fn copy_hashing(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    limit: Option<u64>,
    name: &str,
) -> Result<(String, u64), StoreError> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total: u64 = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(StoreError::Fetch {
                    url: name.to_string(),
                    reason: e.to_string(),
                });
            }
        };
        let chunk = buf.get(..n).unwrap_or(&[]);
        hasher.update(chunk);
        writer.write_all(chunk).map_err(|e| StoreError::Fetch {
            url: name.to_string(),
            reason: format!("writing to the cache: {e}"),
        })?;
        total += n as u64;
        if let Some(limit) = limit
            && total > limit
        {
            return Err(StoreError::Size {
                file: name.to_string(),
                expected: limit,
                actual: total,
            });
        }
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// sha256 of a byte string, lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Make a rename durable. Best effort: some filesystems refuse to fsync a
/// directory, and the rename itself is already atomic.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
