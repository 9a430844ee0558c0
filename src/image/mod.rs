//! Deterministic layers, OCI config/manifest/index, writers and registry push.
//!
//! ```text
//! ImageSpec { layers: [LayerInput], config } ──assemble──► Image
//! Image ──write(Format)──► OCI layout | oci-archive | docker-archive
//! Image ──push(Reference)──► registry (OCI distribution API)
//! ```
//!
//! The module knows file trees ([`crate::tree`]) and nothing of Dockerfiles,
//! plans or stores: the caller turns those into [`LayerInput`]s (one per
//! layer, grouped with [`plan_layers`]), an [`ImageConfigSpec`], and the
//! rootfs items from [`synthesize_rootfs`].
//!
//! Reproducibility: every byte of a layer, the config, the manifest and the
//! archives is a function of the inputs, [`AssembleOptions`] and the
//! compressor version — never of the clock, the machine, the user or the
//! number of threads (block-parallel gzip with fixed block boundaries,
//! single-threaded zstd; see `gzip.rs`). Layer cache keys include a
//! fingerprint of the compressor's output, so a cache filled by a build with
//! a different zlib-rs or zstd is not mistaken for this build's bytes.
//!
//! Not verified here: `docker load` itself (no daemon on the test machines);
//! the archive is checked with skopeo's `docker-archive:` reader instead.

mod cache;
mod config;
mod digest;
mod gzip;
mod layer;
mod policy;
mod push;
mod reference;
mod rootfs;
mod tarwrite;
mod write;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;

pub use cache::default_cache_dir;
pub use config::{
    ANNOTATION_REF_NAME, Descriptor, Healthcheck, HistoryNote, ImageConfigSpec, MEDIA_TYPE_CONFIG,
    MEDIA_TYPE_INDEX, MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_LAYER_ZSTD, MEDIA_TYPE_MANIFEST, Platform,
};
pub use digest::{BadDigest, Digest, base64_decode, base64_encode, canonical_json, rfc3339};
pub use layer::{CopiedHardlink, Layer, LayerInfo, LayerInput, SetIdFile};
pub use policy::{DEFAULT_MAX_LAYERS, GroupReason, LayerGroup, LayerUnit, plan_layers};
pub use push::{Credentials, PushOptions, PushReport, UploadMode, push};
pub use reference::Reference;
pub use rootfs::{
    Account, DirSpec, Group, RootfsSpec, SynthesizedItem, SynthesizedRootfs, synthesize_rootfs,
};
pub use write::{ANNOTATION_CONTAINERD_NAME, Format, StagedOutput, WriteOptions, stage, write};

/// Layer compression. The default is gzip level 6 (what Docker and
/// BuildKit use), written block-parallel; zstd is single-threaded level 3
/// by default (zstd's own default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    Gzip { level: u32 },
    Zstd { level: i32 },
}

impl Default for Compression {
    fn default() -> Self {
        Compression::Gzip { level: 6 }
    }
}

impl Compression {
    pub const fn default_zstd() -> Self {
        Compression::Zstd { level: 3 }
    }

    /// The OCI layer media type.
    pub fn media_type(&self) -> &'static str {
        match self {
            Compression::Gzip { .. } => MEDIA_TYPE_LAYER_GZIP,
            Compression::Zstd { .. } => MEDIA_TYPE_LAYER_ZSTD,
        }
    }

    fn describe(&self) -> String {
        match self {
            Compression::Gzip { level } => {
                format!("gzip level={level} block={}", gzip::BLOCK_SIZE)
            }
            Compression::Zstd { level } => format!("zstd level={level} workers=0 checksum"),
        }
    }
}

/// Where layer blobs are cached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LayerCache {
    /// [`default_cache_dir`].
    #[default]
    Default,
    /// This directory (it is created).
    Dir(PathBuf),
    /// No cache: blobs live in a temporary directory dropped with the image.
    Disabled,
}

/// How to assemble.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssembleOptions {
    /// Seconds since the epoch for every timestamp (tar mtimes, `created`).
    pub source_date_epoch: u64,
    pub compression: Compression,
    pub cache: LayerCache,
}

impl AssembleOptions {
    /// Defaults, with `source_date_epoch` from `SOURCE_DATE_EPOCH` (0 when
    /// unset or empty; an unparsable value is an error, not a silent 0).
    pub fn from_env() -> Result<Self, ImageError> {
        Ok(AssembleOptions {
            source_date_epoch: source_date_epoch_from_env()?,
            ..Default::default()
        })
    }
}

/// `SOURCE_DATE_EPOCH`, or 0 when unset or empty.
pub fn source_date_epoch_from_env() -> Result<u64, ImageError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v.trim().parse::<u64>().map_err(|_| ImageError::Config {
            field: "SOURCE_DATE_EPOCH".into(),
            reason: format!("{v:?} is not a non-negative integer"),
        }),
        _ => Ok(0),
    }
}

/// What to assemble: the layers in image order (the caller puts COPY
/// layers last; see [`plan_layers`]) and the config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageSpec {
    pub layers: Vec<LayerInput>,
    pub config: ImageConfigSpec,
}

/// An assembled image: layer blobs on disk, config and manifest bytes.
#[derive(Clone, Debug)]
pub struct Image {
    pub layers: Vec<Layer>,
    /// The config bytes exactly as written and hashed.
    pub config: Vec<u8>,
    pub config_descriptor: Descriptor,
    /// The manifest bytes exactly as written, hashed and pushed.
    pub manifest: Vec<u8>,
    /// The manifest's descriptor (with the platform), as the index lists it.
    pub manifest_descriptor: Descriptor,
    /// The timestamp everything was built with (archive headers use it too).
    pub source_date_epoch: u64,
    /// Keeps the blobs of a cache-less build alive.
    _blobs: Option<Arc<tempfile::TempDir>>,
}

impl Image {
    /// The image digest (the manifest's).
    pub fn digest(&self) -> &Digest {
        &self.manifest_descriptor.digest
    }

    /// Sum of compressed layer sizes plus config and manifest.
    pub fn compressed_size(&self) -> u64 {
        self.layers.iter().map(|l| l.info.size).sum::<u64>()
            + self.config.len() as u64
            + self.manifest.len() as u64
    }

    /// Sum of uncompressed layer (tar) sizes.
    pub fn uncompressed_size(&self) -> u64 {
        self.layers.iter().map(|l| l.info.uncompressed_size).sum()
    }
}

/// Errors of this module.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ImageError {
    #[error("{context}: {source}")]
    #[diagnostic(code(scratchify::image::io))]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {reason}")]
    #[diagnostic(code(scratchify::image::tree))]
    BadTree { path: String, reason: String },
    #[error("cannot read {image_path} from {}: {detail}", disk.display())]
    #[diagnostic(
        code(scratchify::image::file),
        help("a file changed or vanished after its tree was listed; rebuild")
    )]
    FileRead {
        image_path: String,
        disk: PathBuf,
        detail: String,
    },
    #[error("invalid image config {field}: {reason}")]
    #[diagnostic(code(scratchify::image::config))]
    Config { field: String, reason: String },
    #[error("rootfs: {0}")]
    #[diagnostic(code(scratchify::image::rootfs))]
    Rootfs(String),
    #[error("layering: {0}")]
    #[diagnostic(code(scratchify::image::layering))]
    Layering(String),
    #[error("JSON: {0}")]
    #[diagnostic(code(scratchify::image::json))]
    Json(#[source] serde_json::Error),
    #[error("no cache directory: set SCRATCHIFY_CACHE_DIR, XDG_CACHE_HOME or HOME")]
    #[diagnostic(code(scratchify::image::cache))]
    NoCacheDir,
    #[error("blob {} does not match its digest {expected}", path.display())]
    #[diagnostic(
        code(scratchify::image::blob),
        help("the layer cache was altered; remove the file and rebuild")
    )]
    BlobMismatch { path: PathBuf, expected: Digest },
    #[error("invalid image reference {reference:?}: {reason}")]
    #[diagnostic(code(scratchify::image::reference))]
    Reference { reference: String, reason: String },
    #[error("output {}: {reason}", path.display())]
    #[diagnostic(code(scratchify::image::output))]
    Output { path: PathBuf, reason: String },
    #[error("registry {url}: {message}")]
    #[diagnostic(code(scratchify::image::registry))]
    Registry { url: String, message: String },
    #[error("registry {registry}: authentication failed: {message}")]
    #[diagnostic(
        code(scratchify::image::auth),
        help(
            "log in with `docker login` (credentials are read from ~/.docker/config.json or $DOCKER_CONFIG)"
        )
    )]
    Auth { registry: String, message: String },
}

pub(crate) fn io_err(context: impl Into<String>, source: io::Error) -> ImageError {
    ImageError::Io {
        context: context.into(),
        source,
    }
}

/// Build every layer (in parallel, in the current rayon pool), then the
/// config and manifest.
pub fn assemble(spec: &ImageSpec, opts: &AssembleOptions) -> Result<Image, ImageError> {
    let store = cache::BlobStore::open(&opts.cache)?;
    let trees: Vec<&crate::tree::FileTree> = spec.layers.iter().map(|l| &l.tree).collect();
    let layers: Vec<Layer> = spec
        .layers
        .par_iter()
        .enumerate()
        .map(|(i, input)| {
            let others: Vec<&crate::tree::FileTree> = trees
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, t)| *t)
                .collect();
            build_one(input, &others, opts, &store)
        })
        .collect::<Result<_, _>>()?;

    let refs: Vec<config::LayerRef<'_>> = layers
        .iter()
        .map(|l| config::LayerRef {
            descriptor: Descriptor {
                media_type: l.info.media_type.clone(),
                digest: l.info.digest.clone(),
                size: l.info.size,
                annotations: Default::default(),
                platform: None,
            },
            diff_id: &l.info.diff_id,
            created_by: &l.info.created_by,
            comment: l.info.comment.as_deref(),
        })
        .collect();
    let config_bytes = config::config_json(&spec.config, &refs, opts.source_date_epoch)?;
    let config_descriptor = Descriptor {
        media_type: MEDIA_TYPE_CONFIG.into(),
        digest: Digest::of(&config_bytes),
        size: config_bytes.len() as u64,
        annotations: Default::default(),
        platform: None,
    };
    let layer_descs: Vec<&Descriptor> = refs.iter().map(|r| &r.descriptor).collect();
    let manifest =
        config::manifest_json(&config_descriptor, &layer_descs, &spec.config.annotations)?;
    let manifest_descriptor = Descriptor {
        media_type: MEDIA_TYPE_MANIFEST.into(),
        digest: Digest::of(&manifest),
        size: manifest.len() as u64,
        annotations: Default::default(),
        platform: Some(Platform {
            architecture: spec.config.architecture.clone(),
            os: spec.config.os.clone(),
            variant: spec.config.variant.clone(),
        }),
    };
    Ok(Image {
        layers,
        config: config_bytes,
        config_descriptor,
        manifest,
        manifest_descriptor,
        source_date_epoch: opts.source_date_epoch,
        _blobs: store.temp.clone(),
    })
}

fn build_one(
    input: &LayerInput,
    others: &[&crate::tree::FileTree],
    opts: &AssembleOptions,
    store: &cache::BlobStore,
) -> Result<Layer, ImageError> {
    let plan = layer::plan_layer(&input.tree, others)?;
    let key = layer::cache_key(
        &plan,
        input.content_key.as_deref(),
        opts.compression,
        opts.source_date_epoch,
    )?;
    let (record, from_cache) = match store.lookup(&key) {
        Some(r) => (r, true),
        None => {
            let r = layer::write_layer(
                &plan,
                opts.compression,
                opts.source_date_epoch,
                store.blob_dir(),
            )?;
            store.record(&key, &r)?;
            (r, false)
        }
    };
    let (entries, file_bytes, setid_files) = layer::plan_stats(&plan);
    Ok(Layer {
        blob: store.blob_path(&record.digest),
        info: LayerInfo {
            created_by: input.created_by.clone(),
            comment: input.comment.clone(),
            media_type: record.media_type,
            digest: record.digest,
            diff_id: record.diff_id,
            size: record.size,
            uncompressed_size: record.uncompressed_size,
            entries,
            file_bytes,
            setid_files,
            parents_added: plan.parents_added,
            hardlinks_copied: plan.hardlinks_copied,
            cache_key: key,
            from_cache,
        },
    })
}
