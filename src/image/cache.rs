//! Where layer blobs live: the layer cache, or a temporary directory owned
//! by the image when caching is off.
//!
//! Cache layout (`<root>` is `$SCRATCHIFY_CACHE_DIR/layers`, else
//! `$XDG_CACHE_HOME/scratchify/layers`, else `~/.cache/scratchify/layers`):
//!
//! ```text
//! <root>/blobs/sha256/<hex>   compressed layer blobs, named by digest
//! <root>/keys/<key hex>.json  cache key -> blob record (digests, sizes)
//! ```
//!
//! Both are written to a temporary file in the same directory and renamed,
//! so concurrent builds and interrupted ones never leave a partial entry
//! that a later build trusts. A hit is verified by re-hashing the blob (the
//! compressed bytes, cheap next to compressing); a record whose blob is
//! missing or altered is dropped and the layer rebuilt.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

use super::digest::{Digest, canonical_json};
use super::layer::BlobRecord;
use super::{ImageError, LayerCache, io_err};

/// The longest key record read back (they are ~300 bytes).
const MAX_RECORD: u64 = 64 * 1024;

#[derive(Clone, Debug)]
pub(crate) struct BlobStore {
    blobs: PathBuf,
    keys: Option<PathBuf>,
    /// Keeps a cache-less image's blobs alive as long as the image.
    pub(crate) temp: Option<Arc<TempDir>>,
}

impl BlobStore {
    pub(crate) fn open(mode: &LayerCache) -> Result<Self, ImageError> {
        let root = match mode {
            LayerCache::Disabled => {
                let temp = tempfile::Builder::new()
                    .prefix("scratchify-blobs-")
                    .tempdir()
                    .map_err(|e| io_err("creating a temporary blob directory", e))?;
                let blobs = temp.path().join("blobs/sha256");
                fs::create_dir_all(&blobs)
                    .map_err(|e| io_err(format!("creating {}", blobs.display()), e))?;
                return Ok(BlobStore {
                    blobs,
                    keys: None,
                    temp: Some(Arc::new(temp)),
                });
            }
            LayerCache::Dir(d) => d.clone(),
            LayerCache::Default => default_cache_dir()?,
        };
        let blobs = root.join("blobs/sha256");
        let keys = root.join("keys");
        for d in [&blobs, &keys] {
            fs::create_dir_all(d).map_err(|e| io_err(format!("creating {}", d.display()), e))?;
        }
        Ok(BlobStore {
            blobs,
            keys: Some(keys),
            temp: None,
        })
    }

    /// The directory blobs are written to (`.../blobs/sha256`).
    pub(crate) fn blob_dir(&self) -> &Path {
        &self.blobs
    }

    pub(crate) fn blob_path(&self, d: &Digest) -> PathBuf {
        self.blobs.join(d.hex())
    }

    /// A verified cache hit, or `None`.
    pub(crate) fn lookup(&self, key: &Digest) -> Option<BlobRecord> {
        let keys = self.keys.as_ref()?;
        let rec_path = keys.join(format!("{}.json", key.hex()));
        let rec = read_record(&rec_path)?;
        if verify_blob(&self.blob_path(&rec.digest), &rec.digest, rec.size) {
            Some(rec)
        } else {
            let _ = fs::remove_file(&rec_path);
            None
        }
    }

    /// Remember `rec` under `key`.
    pub(crate) fn record(&self, key: &Digest, rec: &BlobRecord) -> Result<(), ImageError> {
        let Some(keys) = &self.keys else {
            return Ok(());
        };
        let bytes = canonical_json(rec).map_err(ImageError::Json)?;
        let dest = keys.join(format!("{}.json", key.hex()));
        let mut tmp = tempfile::Builder::new()
            .prefix(".key-")
            .tempfile_in(keys)
            .map_err(|e| io_err(format!("creating a cache record in {}", keys.display()), e))?;
        io::Write::write_all(&mut tmp, &bytes).map_err(|e| io_err("writing a cache record", e))?;
        tmp.persist(&dest)
            .map_err(|e| io_err(format!("saving {}", dest.display()), e.error))?;
        Ok(())
    }
}

fn read_record(path: &Path) -> Option<BlobRecord> {
    let f = fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    f.take(MAX_RECORD).read_to_end(&mut bytes).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether the file at `path` has exactly `size` bytes hashing to `digest`.
pub(crate) fn verify_blob(path: &Path, digest: &Digest, size: u64) -> bool {
    let Ok(meta) = fs::metadata(path) else {
        return false;
    };
    if meta.len() != size {
        return false;
    }
    let Ok(mut f) = fs::File::open(path) else {
        return false;
    };
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    Digest::from_hasher(h) == *digest
}

/// `$SCRATCHIFY_CACHE_DIR/layers`, else `$XDG_CACHE_HOME/scratchify/layers`,
/// else `$HOME/.cache/scratchify/layers`. Empty variables count as unset.
pub fn default_cache_dir() -> Result<PathBuf, ImageError> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = var("SCRATCHIFY_CACHE_DIR") {
        return Ok(d.join("layers"));
    }
    if let Some(d) = var("XDG_CACHE_HOME") {
        return Ok(d.join("scratchify/layers"));
    }
    if let Some(h) = var("HOME") {
        return Ok(h.join(".cache/scratchify/layers"));
    }
    Err(ImageError::NoCacheDir)
}
