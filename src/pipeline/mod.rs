//! The whole pipeline, from a Dockerfile to an assembled image.
//!
//! ```text
//! parse ─► plan ─► store requests ─► resolve ─► fetch ─► unpack
//!       ─► file operations (Dockerfile order) ─► slim ─► rootfs synthesis
//!       ─► layers ─► image config ─► image::assemble ─► Built
//! ```
//!
//! [`build`] (or [`build_planned`] for a plan in hand) returns a [`Built`]:
//! the assembled [`Image`] (blobs in the layer cache, ready for
//! `image::write` or `image::push`) and every record the report needs —
//! the plan, the closure with its script-only prunes, the slim result with
//! per-package and per-file drops, the synthesized files, the CA bundle,
//! the COPY'd files, the layers and what each holds, and the store the
//! packages came from with its indices loaded (the report resolves its
//! docker-build estimate there instead of loading them again). The pipeline depends
//! on `dockerfile`, `plan`, `shell`, `store` and `image`, never on
//! `report`.
//!
//! # Choices (where the issues were silent)
//!
//! - Packages come only from the Debian store for now: a request of another
//!   ecosystem (apk, pip, ...) is an error at its Dockerfile line ("no
//!   alpine store yet"), all such lines reported together.
//! - The why-origin of a request is `apt-get install nginx (Dockerfile:5)`:
//!   the installer, `install`, the package and the Dockerfile's *file name*
//!   (not its path) and line. History entries name lines the same way, so
//!   the image digest does not depend on where the build context lives.
//! - File operations (COPY, mkdir, chown, chmod, ln, rm, writes, cp, mv)
//!   are applied in Dockerfile order to the unpacked package trees, the
//!   run tree and the COPY trees *before* slimming (see [`files`]); slim
//!   then sees the image as the Dockerfile left it.
//! - Slim's roots: entrypoint + cmd as the image will run them, the
//!   healthcheck, `PATH` from the plan's ENV (else Debian's default, which
//!   is also put in the config's Env as the base image's config had it),
//!   WORKDIR, `LD_LIBRARY_PATH`, every file outside packages (run, COPY and
//!   synthesized trees) and the requested packages (slim's default
//!   [`RequestedPolicy::Keep`](crate::store::slim::RequestedPolicy)).
//! - A command the image runs must exist in it: a missing `argv[0]` (or the
//!   shell a shell-form command needs) is an error at the CMD/ENTRYPOINT/
//!   HEALTHCHECK line.
//! - A shell-form ENTRYPOINT that becomes exec form drops CMD from the
//!   config: under `sh -c` Docker never passed CMD to it, and in exec form
//!   it would be appended as arguments.
//! - Layers: one per kept store path up to `--max-layers` (counting the
//!   rootfs layer and the COPY layers), else the large-first grouping of
//!   [`image::plan_layers`]; then one rootfs layer (release layout,
//!   passwd/group, /tmp, directories, files written by RUN steps, CA
//!   bundle, os-release, nsswitch.conf); then one layer per COPY/ADD, in
//!   Dockerfile order.
//! - A directory present in several layers gets, in every layer, the
//!   attributes of its topmost occurrence (parents a layer needs but does
//!   not list included), so extracting a later layer never resets an
//!   earlier layer's owner or mode (`/tmp` stays 1777).
//! - `/etc/os-release` (and `/etc/debian_version`) are the release's own,
//!   read from its `base-files` package (fetched and verified like any
//!   package, not installed). If that fails the file holds ID and
//!   VERSION_CODENAME only, and a note says why.
//! - `USER` is written numerically (`uid:gid`), resolved from the
//!   synthesized passwd/group.

pub mod accounts;
pub mod cabundle;
pub mod command;
pub mod context;
pub mod copy;
pub mod files;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use miette::Diagnostic;
use rayon::prelude::*;
use serde::Serialize;
use sha2::Digest as _;

use crate::image::{
    self, AssembleOptions, DirSpec, GroupReason, Image, ImageConfigSpec, LayerInput, LayerUnit,
    RootfsSpec, SynthesizedItem,
};
use crate::plan::{
    self, Command, ContextDir, CopySource, Ecosystem, Family, FileOpKind, NoContext, Plan,
    PlanFailure, PlanOptions, Planned, Provenance, RequestOrigin,
};
use crate::source::{SourceDiagnostic, SourceFile};
use crate::store::slim::{self, Roots, SlimConfig, SlimPackage, SlimResult};
use crate::store::{
    self, Cache, Closure, DebianConfig, DebianStore, ResolveOptions, Store, StoreError,
    UnpackedPackage,
};
use crate::tree::{EntryKind, FileTree, ImagePath, TreeEntry};

use self::accounts::{OwnerSyntax, allocate_accounts, resolve_owner};
use self::cabundle::CaBundle;
use self::context::{IgnoreRules, RootKind, SourceRoot};
use self::copy::{CopyAttrs, Placed};
use self::files::{ModeSpec, PackageTree, Workspace};

/// Debian's default PATH (the `debian` images' config has it).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The shell Docker runs shell-form commands with when there is no SHELL.
const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

/// Where packages come from.
#[derive(Clone, Debug, Default)]
pub struct StoreSettings {
    /// Repository base URI (`--mirror`); default: environment, else the
    /// host's apt sources.
    pub mirror: Option<String>,
    pub security_mirror: Option<String>,
    /// Keyring to verify Release files with (`--keyring`).
    pub keyring: Option<PathBuf>,
    /// dpkg architecture; default `amd64`.
    pub arch: Option<String>,
    /// Cache root; default: `Cache::from_env`.
    pub cache_dir: Option<PathBuf>,
    pub offline: bool,
    pub refresh: bool,
    /// Download progress bar on a terminal.
    pub progress: bool,
}

/// Everything `build` needs besides the Dockerfile.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub plan: PlanOptions,
    /// The build context; default: the Dockerfile's directory (none for
    /// standard input).
    pub context: Option<PathBuf>,
    /// `--stage-output STAGE=DIR`: the filesystem a build stage (name or
    /// index) or an external image (`COPY --from=IMAGE`) produced.
    pub stage_outputs: BTreeMap<String, PathBuf>,
    pub store: StoreSettings,
    pub slim: SlimConfig,
    /// `--max-layers`, counting the rootfs and COPY layers.
    pub max_layers: usize,
    pub assemble: AssembleOptions,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            plan: PlanOptions::default(),
            context: None,
            stage_outputs: BTreeMap::new(),
            store: StoreSettings {
                progress: true,
                ..Default::default()
            },
            slim: SlimConfig::default(),
            max_layers: image::DEFAULT_MAX_LAYERS,
            assemble: AssembleOptions::default(),
        }
    }
}

/// A plan package request and the store request made for it.
#[derive(Clone, Debug, Serialize)]
pub struct MappedRequest {
    /// Index in `plan.packages`.
    pub plan_index: usize,
    pub request: store::PackageRequest,
    /// The closure member that satisfies it.
    pub member: Option<String>,
}

/// What a layer holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BuiltLayerKind {
    /// Store paths (kept packages), with the layering policy's reason.
    Packages {
        members: Vec<String>,
        reason: GroupReason,
    },
    /// The synthesized rootfs and what RUN steps wrote.
    Rootfs,
    /// One COPY/ADD; `op` indexes `plan.files`.
    Copy { op: usize },
}

/// One layer of the image, parallel to `image.layers`.
#[derive(Clone, Debug, Serialize)]
pub struct BuiltLayer {
    pub kind: BuiltLayerKind,
    pub created_by: String,
    /// Regular-file bytes in the layer's tree.
    pub file_bytes: u64,
    pub entries: usize,
}

/// A file a COPY/ADD put in the image.
#[derive(Clone, Debug, Serialize)]
pub struct CopiedFile {
    pub path: ImagePath,
    /// Context-relative path, `STAGE:path`, URL or `<<NAME`.
    pub from: String,
    pub size: u64,
    pub sha256: String,
    pub sha1: String,
    /// Index in `plan.files`.
    pub op: usize,
    pub provenance: Provenance,
}

/// A file-level operation of the plan as applied.
#[derive(Clone, Debug, Serialize)]
pub struct AppliedOp {
    /// Index in `plan.files`.
    pub op: usize,
    /// The paths it created or changed.
    pub paths: Vec<ImagePath>,
}

/// A shell-form command and what became of it.
#[derive(Clone, Debug, Serialize)]
pub struct CommandForm {
    /// `ENTRYPOINT`, `CMD` or `HEALTHCHECK`.
    pub setting: String,
    pub text: String,
    /// The exec form it became, or the shell argv that runs it.
    pub argv: Vec<String>,
    /// Why it needs a shell, when it does.
    pub needs_shell: Option<String>,
    pub provenance: Provenance,
}

/// Where `/etc/os-release` came from.
#[derive(Clone, Debug, Serialize)]
pub struct OsRelease {
    pub fields: Vec<(String, String)>,
    /// `base-files=VERSION` when read from the release's package.
    pub from_package: Option<String>,
}

/// Wall-clock time of each phase.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timings {
    pub phases: Vec<(String, Duration)>,
}

impl Timings {
    fn record(&mut self, name: &str, since: Instant) -> Instant {
        let now = Instant::now();
        self.phases.push((name.to_string(), now - since));
        now
    }

    pub fn total(&self) -> Duration {
        self.phases.iter().map(|(_, d)| *d).sum()
    }
}

/// Everything a build did, for `image::write`/`push` and the report.
#[derive(Debug)]
pub struct Built {
    /// The Dockerfile (spans of the plan's provenance point into it).
    pub source: SourceFile,
    pub plan: Plan,
    /// Warnings with Dockerfile places: the plan's and the pipeline's.
    pub warnings: Vec<SourceDiagnostic>,
    /// Other remarks: store notes, unpack notes, slim warnings, skipped
    /// context files.
    pub notes: Vec<String>,
    /// The store requests made for the plan's packages.
    pub requests: Vec<MappedRequest>,
    /// The resolved closure after script-only pruning (`closure.pruned`
    /// lists those); `None` when the plan installs no package.
    pub closure: Option<Closure>,
    /// Pruning below the package level: kept packages with their trees,
    /// dropped packages and files with rules and bytes, why-chains.
    pub slim: SlimResult,
    /// The command lines slim started from.
    pub roots: Vec<Vec<String>>,
    /// passwd/group as written.
    pub accounts: Vec<image::Account>,
    pub groups: Vec<image::Group>,
    /// Synthesized rootfs items (image::rootfs's records plus the files RUN
    /// steps wrote, the release layout and `/etc/debian_version`).
    pub synthesized: Vec<SynthesizedItem>,
    /// The rootfs layer's tree (the synthesized files' bytes, for the
    /// report's sizes and digests).
    pub rootfs_tree: FileTree,
    pub ca_bundle: Option<CaBundle>,
    pub os_release: OsRelease,
    /// File operations as applied, in plan order.
    pub applied: Vec<AppliedOp>,
    pub copied: Vec<CopiedFile>,
    /// Shell-form commands and what became of them.
    pub commands: Vec<CommandForm>,
    /// Parallel to `image.layers`.
    pub layers: Vec<BuiltLayer>,
    /// The config the image was assembled with.
    pub config: ImageConfigSpec,
    pub image: Image,
    pub timings: Timings,
    /// The store the packages came from (`None` for a base of another
    /// family, or `scratch`), its indices loaded when the build used it
    /// (for the closure or the release's `base-files`). Kept so that the
    /// report's docker-build estimate resolves against the same loaded
    /// indices: one build reads and verifies the Release files and opens
    /// the Packages indices once.
    pub store: Option<DebianStore>,
}

impl Built {
    /// Packages kept in the image.
    pub fn kept_packages(&self) -> usize {
        self.slim.kept_packages.len()
    }

    /// Packages dropped: script-only prunes of the resolver plus packages
    /// slim found unreachable.
    pub fn dropped_packages(&self) -> usize {
        self.closure.as_ref().map_or(0, |c| c.pruned.len()) + self.slim.dropped_packages.len()
    }
}

/// Errors at Dockerfile places that stop the build, reported together.
#[derive(Debug)]
pub struct BuildFailure {
    pub file: String,
    pub errors: Vec<SourceDiagnostic>,
}

impl fmt::Display for BuildFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.as_slice() {
            [one] => write!(f, "{one}"),
            errors => write!(f, "{}: {} problems stop the build", self.file, errors.len()),
        }
    }
}

impl std::error::Error for BuildFailure {}

impl Diagnostic for BuildFailure {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("pipeline::failed"))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.errors.iter().map(|e| e as &dyn Diagnostic)))
    }
}

/// Everything that can stop a build.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum PipelineError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Parse(Box<SourceDiagnostic>),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(PlanFailure),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Dockerfile(BuildFailure),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Slim(#[from] slim::SlimError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Image(#[from] image::ImageError),
    #[error("{context}: {message}")]
    #[diagnostic(code(pipeline::input))]
    Input { context: String, message: String },
}

fn input_err(context: impl Into<String>, message: impl Into<String>) -> PipelineError {
    PipelineError::Input {
        context: context.into(),
        message: message.into(),
    }
}

/// Read, parse, plan and build the Dockerfile at `dockerfile` (`-` reads
/// standard input, with no build context unless one is given).
pub fn build(dockerfile: &Path, opts: &BuildOptions) -> Result<Built, PipelineError> {
    let (name, text) = if dockerfile.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| input_err("reading standard input", e.to_string()))?;
        ("<stdin>".to_string(), s)
    } else {
        let text = std::fs::read_to_string(dockerfile)
            .map_err(|e| input_err(format!("reading {}", dockerfile.display()), e.to_string()))?;
        (dockerfile.display().to_string(), text)
    };
    let mut opts = opts.clone();
    if opts.context.is_none() && dockerfile.as_os_str() != "-" {
        opts.context = Some(
            dockerfile
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".")),
        );
    }
    let source = SourceFile::new(name, text);
    let df = crate::dockerfile::parse(&source).map_err(|e| PipelineError::Parse(Box::new(e)))?;
    let planned = match &opts.context {
        Some(dir) => plan::plan(&df, &source, &opts.plan, &ContextDir(dir.clone())),
        None => plan::plan(&df, &source, &opts.plan, &NoContext),
    }
    .map_err(PipelineError::Plan)?;
    let dockerfile_path = (dockerfile.as_os_str() != "-").then(|| dockerfile.to_path_buf());
    build_planned(source, planned, dockerfile_path.as_deref(), &opts)
}

/// The directory a COPY reads from, and the prefix its sources are
/// recorded with.
fn copy_root(
    src: &CopySource,
    context: Option<&SourceRoot>,
    stage_outputs: &BTreeMap<String, PathBuf>,
) -> Result<(SourceRoot, String), String> {
    match src {
        CopySource::Context => Ok((
            context.cloned().ok_or(
                "there is no build context (the Dockerfile came from standard input); pass CONTEXT",
            )?,
            String::new(),
        )),
        CopySource::Stage { name, index } => {
            let dir = stage_outputs
                .get(name)
                .or_else(|| stage_outputs.get(&index.to_string()))
                .ok_or_else(|| {
                    format!(
                        "the build stage's output is not available: scratchify does not run build steps (COPY --from={name}); pass --stage-output {name}=DIR with a directory holding that stage's filesystem"
                    )
                })?;
            Ok((
                SourceRoot::new(dir, RootKind::StageOutput, IgnoreRules::default())?,
                format!("{name}:"),
            ))
        }
        CopySource::Image { reference } => {
            let dir = stage_outputs.get(reference).ok_or_else(|| {
                format!(
                    "COPY --from={reference}: scratchify does not pull images; pass --stage-output {reference}=DIR with a directory holding its filesystem"
                )
            })?;
            Ok((
                SourceRoot::new(dir, RootKind::StageOutput, IgnoreRules::default())?,
                format!("{reference}:"),
            ))
        }
        CopySource::Heredoc { .. } | CopySource::Url { .. } => {
            Err("internal: this COPY source is not read from a directory".into())
        }
    }
}

/// `Dockerfile:5` from a provenance: the file's name, not its path.
pub fn short_location(p: &Provenance) -> String {
    let name = Path::new(&p.file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.file.clone());
    format!("{name}:{}", p.line)
}

/// The why-origin of a plan request: `apt-get install nginx (Dockerfile:5)`.
pub fn request_origin(req: &plan::PackageRequest) -> String {
    let at = short_location(&req.provenance);
    match &req.origin {
        RequestOrigin::Install { command } => {
            let tool = command.split_whitespace().next().unwrap_or("install");
            format!("{tool} install {} ({at})", req.name)
        }
        RequestOrigin::BaseRuntime { image } => {
            format!("FROM {image} runtime {} ({at})", req.name)
        }
        RequestOrigin::Requirements { file, line } => {
            format!("{file}:{line} {} ({at})", req.name)
        }
        RequestOrigin::Implied { reason } => format!("{} needed: {reason} ({at})", req.name),
    }
}

fn diag(
    source: &SourceFile,
    p: &Provenance,
    code: &str,
    msg: impl Into<String>,
) -> SourceDiagnostic {
    SourceDiagnostic::error(source, p.span, code, msg)
}

fn warn(
    source: &SourceFile,
    p: &Provenance,
    code: &str,
    msg: impl Into<String>,
) -> SourceDiagnostic {
    SourceDiagnostic::warning(source, p.span, code, msg)
}

/// Map the plan's package requests to Debian store requests.
fn map_requests(
    plan: &Plan,
    source: &SourceFile,
    errors: &mut Vec<SourceDiagnostic>,
) -> Vec<MappedRequest> {
    let mut out = Vec::new();
    for (i, req) in plan.packages.iter().enumerate() {
        if req.ecosystem != Ecosystem::Debian {
            errors.push(
                diag(
                    source,
                    &req.provenance,
                    "pipeline::no-store",
                    format!(
                        "no {} store yet: cannot install {}",
                        req.ecosystem.as_str(),
                        req.name
                    ),
                )
                .with_help("scratchify builds images from Debian and Ubuntu packages for now; `scratchify plan` and `audit` still work"),
            );
            continue;
        }
        let version = match &req.version {
            Some(v) => match store::VersionConstraint::parse(v) {
                Ok(c) => Some(c),
                Err(e) => {
                    errors.push(diag(
                        source,
                        &req.provenance,
                        "pipeline::bad-version",
                        format!("{}: {e}", req.name),
                    ));
                    continue;
                }
            },
            None => None,
        };
        out.push(MappedRequest {
            plan_index: i,
            request: store::PackageRequest {
                name: req.name.clone(),
                version,
                arch: req.arch.clone(),
                install_recommends: req.install_recommends,
                origin: request_origin(req),
            },
            member: None,
        });
    }
    out
}

/// The store a build of `plan` takes its packages from: the Debian store of
/// the base image's release (`None` for a base of another family, or
/// `scratch`). Opening it reads no index; the first resolve does, once per
/// store ([`Built::store`] hands the build's to the report).
pub fn store_for(plan: &Plan, s: &StoreSettings) -> Result<Option<DebianStore>, StoreError> {
    match plan.base.as_ref() {
        Some(b) if matches!(b.family, Family::Debian | Family::Ubuntu) => {
            debian_store(&b.release, s).map(Some)
        }
        _ => Ok(None),
    }
}

fn debian_store(release: &str, s: &StoreSettings) -> Result<DebianStore, StoreError> {
    let mut config = DebianConfig::new(release)?;
    if let Some(m) = &s.mirror {
        config.mirror = Some(m.clone());
    }
    if let Some(m) = &s.security_mirror {
        config.security_mirror = Some(m.clone());
    }
    if let Some(k) = &s.keyring {
        config.keyring = Some(k.clone());
    }
    if let Some(a) = &s.arch {
        config.arch = a.clone();
    }
    if let Some(dir) = &s.cache_dir {
        config.cache = Cache::at(dir.clone());
    }
    config.offline = s.offline;
    config.refresh = s.refresh;
    config.progress = s.progress;
    DebianStore::new(config)
}

/// GOARCH (and variant) of a dpkg architecture.
fn oci_platform(dpkg_arch: &str) -> (String, Option<String>) {
    let (a, v) = match dpkg_arch {
        "amd64" => ("amd64", None),
        "arm64" => ("arm64", Some("v8")),
        "armhf" => ("arm", Some("v7")),
        "armel" => ("arm", Some("v5")),
        "i386" => ("386", None),
        "ppc64el" => ("ppc64le", None),
        "mips64el" => ("mips64le", None),
        other => (other, None),
    };
    (a.to_string(), v.map(str::to_string))
}

/// The `KEY=value` lines of an os-release file.
fn parse_os_release(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                return None;
            }
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            let v = v
                .replace("\\\"", "\"")
                .replace("\\\\", "\\")
                .replace("\\$", "$")
                .replace("\\`", "`");
            let ok = !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            ok.then(|| (k.to_string(), v))
        })
        .collect()
}

fn file_text(tree: &FileTree, path: &str) -> Option<Vec<u8>> {
    let mut p = ImagePath::new(path).ok()?;
    for _ in 0..8 {
        match &tree.entries.get(&p)?.kind {
            EntryKind::File { source, size } if *size < 1 << 20 => {
                return match source {
                    crate::tree::FileSource::Bytes(b) => Some(b.to_vec()),
                    crate::tree::FileSource::Disk(d) => std::fs::read(d).ok(),
                };
            }
            EntryKind::Symlink { target } => {
                let base = p.parent().unwrap_or_else(ImagePath::root);
                p = if target.starts_with('/') {
                    ImagePath::new(target).ok()?
                } else {
                    base.join(target).ok()?
                };
            }
            _ => return None,
        }
    }
    None
}

/// os-release and debian_version from the release's base-files.
fn release_files(
    store: &DebianStore,
    family: Family,
    release: &str,
) -> (OsRelease, Option<Vec<u8>>, Option<String>) {
    let fallback = || OsRelease {
        fields: vec![
            ("ID".into(), family.as_str().into()),
            ("VERSION_CODENAME".into(), release.to_string()),
        ],
        from_package: None,
    };
    let attempt = || -> Result<(OsRelease, Option<Vec<u8>>), String> {
        let closure = store
            .resolve(
                // base-files Pre-Depends on the virtual `awk`; mawk (the
                // `required` provider on Debian and Ubuntu) settles it.
                // Only base-files itself is unpacked.
                &[
                    store::PackageRequest::new("base-files", "os-release"),
                    store::PackageRequest::new("mawk", "os-release"),
                ],
                &ResolveOptions { prune: true },
            )
            .map_err(|e| e.to_string())?;
        let path = closure
            .get("base-files")
            .ok_or("base-files is not in the release")?;
        let unpacked = store.unpack(path).map_err(|e| e.to_string())?;
        let text = file_text(&unpacked.files, "usr/lib/os-release")
            .or_else(|| file_text(&unpacked.files, "etc/os-release"))
            .ok_or("base-files has no os-release")?;
        let fields = parse_os_release(&String::from_utf8_lossy(&text));
        if fields.is_empty() {
            return Err("base-files' os-release is empty".into());
        }
        Ok((
            OsRelease {
                fields,
                from_package: Some(format!("base-files={}", path.version)),
            },
            file_text(&unpacked.files, "etc/debian_version"),
        ))
    };
    match attempt() {
        Ok((o, dv)) => (o, dv, None),
        Err(e) => (
            fallback(),
            None,
            Some(format!(
                "os-release: {e}; writing ID and VERSION_CODENAME only"
            )),
        ),
    }
}

fn sha_pair(entry: &TreeEntry) -> Result<(String, String), String> {
    use std::io::Read;
    let EntryKind::File { source, .. } = &entry.kind else {
        return Ok((String::new(), String::new()));
    };
    let mut s256 = sha2::Sha256::new();
    let mut s1 = <sha1::Sha1 as sha1::Digest>::new();
    match source {
        crate::tree::FileSource::Bytes(b) => {
            s256.update(b);
            sha1::Digest::update(&mut s1, b);
        }
        crate::tree::FileSource::Disk(d) => {
            let mut f = std::fs::File::open(d).map_err(|e| format!("{}: {e}", d.display()))?;
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = f
                    .read(&mut buf)
                    .map_err(|e| format!("{}: {e}", d.display()))?;
                if n == 0 {
                    break;
                }
                s256.update(&buf[..n]);
                sha1::Digest::update(&mut s1, &buf[..n]);
            }
        }
    }
    Ok((
        hex::encode(s256.finalize()),
        hex::encode(sha1::Digest::finalize(s1)),
    ))
}

/// A command of the config, as the image will run it.
struct Resolved {
    argv: Vec<String>,
    form: Option<CommandForm>,
}

fn resolve_command(
    c: &Command,
    setting: &str,
    shell: &[String],
    provenance: &Provenance,
) -> Resolved {
    match c {
        Command::Exec(v) => Resolved {
            argv: v.clone(),
            form: None,
        },
        Command::Shell(text) => match command::simple_argv(text) {
            Ok(argv) => Resolved {
                argv: argv.clone(),
                form: Some(CommandForm {
                    setting: setting.into(),
                    text: text.clone(),
                    argv,
                    needs_shell: None,
                    provenance: provenance.clone(),
                }),
            },
            Err(command::NeedsShell(why)) => {
                let mut argv = shell.to_vec();
                argv.push(text.clone());
                Resolved {
                    argv: argv.clone(),
                    form: Some(CommandForm {
                        setting: setting.into(),
                        text: text.clone(),
                        argv,
                        needs_shell: Some(why),
                        provenance: provenance.clone(),
                    }),
                }
            }
        },
    }
}

/// Build from a plan in hand. `dockerfile` locates a
/// `<Dockerfile>.dockerignore`.
pub fn build_planned(
    source: SourceFile,
    planned: Planned,
    dockerfile: Option<&Path>,
    opts: &BuildOptions,
) -> Result<Built, PipelineError> {
    let mut timings = Timings::default();
    let mut t = Instant::now();
    let Planned { plan, warnings } = planned;
    let mut warnings = warnings;
    let mut notes: Vec<String> = Vec::new();
    let mut errors: Vec<SourceDiagnostic> = Vec::new();
    let fail = |errors: Vec<SourceDiagnostic>, plan: &Plan| {
        PipelineError::Dockerfile(BuildFailure {
            file: plan.dockerfile.clone(),
            errors,
        })
    };

    // Requests.
    let mut requests = map_requests(&plan, &source, &mut errors);
    let family = plan.base.as_ref().map_or(Family::None, |b| b.family);
    let debian_family = matches!(family, Family::Debian | Family::Ubuntu);
    if !requests.is_empty() && !debian_family {
        for r in &requests {
            let p = &plan.packages[r.plan_index].provenance;
            errors.push(diag(
                &source,
                p,
                "pipeline::no-release",
                format!(
                    "{} is a Debian package, but the final stage's base ({}) names no Debian or Ubuntu release",
                    r.request.name,
                    plan.base.as_ref().map_or("scratch", |b| b.reference.as_str())
                ),
            ));
        }
    }

    // Accounts.
    let accounts = match allocate_accounts(&plan) {
        Ok(a) => a,
        Err(errs) => {
            for e in errs {
                errors.push(diag(&source, &e.provenance, "pipeline::account", e.message));
            }
            Default::default()
        }
    };
    let prelim = image::synthesize_rootfs(&RootfsSpec {
        accounts: accounts.users.clone(),
        groups: accounts.groups.clone(),
        ..Default::default()
    });
    let prelim = match prelim {
        Ok(r) => r,
        Err(e) => {
            // An account clash: point at the first account line if any.
            match plan.accounts.first() {
                Some(a) => {
                    errors.push(diag(
                        &source,
                        &a.provenance,
                        "pipeline::account",
                        e.to_string(),
                    ));
                    return Err(fail(errors, &plan));
                }
                None => return Err(e.into()),
            }
        }
    };
    if !errors.is_empty() {
        return Err(fail(errors, &plan));
    }
    t = timings.record("plan", t);

    // Store: resolve, fetch, unpack.
    let release = plan.base.as_ref().map(|b| b.release.clone());
    let store = store_for(&plan, &opts.store)?;
    let arch = opts.store.arch.clone().unwrap_or_else(|| "amd64".into());
    let mut closure: Option<Closure> = None;
    let mut unpacked: Vec<UnpackedPackage> = Vec::new();
    if let Some(store) = &store
        && !requests.is_empty()
    {
        let reqs: Vec<store::PackageRequest> = requests.iter().map(|r| r.request.clone()).collect();
        let c = store.resolve(&reqs, &ResolveOptions { prune: true })?;
        for (m, r) in requests.iter_mut().zip(&c.requests) {
            m.member = Some(r.member.clone());
        }
        notes.extend(c.notes.iter().cloned());
        t = timings.record("resolve", t);
        store.fetch(&c.paths)?;
        t = timings.record("fetch", t);
        unpacked = c
            .paths
            .par_iter()
            .map(|p| store.unpack(p))
            .collect::<Result<Vec<_>, _>>()?;
        for u in &unpacked {
            for n in &u.notes {
                notes.push(format!("{}: {n}", u.name));
            }
        }
        t = timings.record("unpack", t);
        closure = Some(c);
    }
    let (os_release, debian_version) = match (&store, &release) {
        (Some(s), Some(r)) => {
            let (o, dv, note) = release_files(s, family, r);
            notes.extend(note);
            (o, dv)
        }
        _ => (
            OsRelease {
                fields: Vec::new(),
                from_package: None,
            },
            None,
        ),
    };

    // File operations, in Dockerfile order.
    let mut ws = Workspace {
        packages: unpacked
            .into_iter()
            .map(|u| PackageTree {
                name: u.name,
                tree: u.files,
            })
            .collect(),
        layout: store.as_ref().map(|s| s.layout()).unwrap_or_default(),
        ..Default::default()
    };
    let context_root = match &opts.context {
        Some(dir) => {
            let mut ignore = IgnoreRules::default();
            let specific = dockerfile.map(|d| {
                let mut n = d.as_os_str().to_owned();
                n.push(".dockerignore");
                PathBuf::from(n)
            });
            let general = dir.join(".dockerignore");
            for f in specific.into_iter().chain(std::iter::once(general)) {
                if let Ok(text) = std::fs::read_to_string(&f) {
                    ignore = IgnoreRules::parse(&text)
                        .map_err(|e| input_err(f.display().to_string(), e))?;
                    ignore.origin = Some(f);
                    break;
                }
            }
            Some(
                SourceRoot::new(dir, RootKind::Context, ignore)
                    .map_err(|e| input_err("build context", e))?,
            )
        }
        None => None,
    };
    let mut applied: Vec<AppliedOp> = Vec::new();
    let mut placed_by_op: Vec<(usize, Vec<Placed>)> = Vec::new();
    let mut created_dirs: BTreeSet<ImagePath> = BTreeSet::new();
    let users = &prelim.accounts;
    let groups = &prelim.groups;
    for (i, op) in plan.files.iter().enumerate() {
        let prov = &op.provenance;
        let mut paths: Vec<ImagePath> = Vec::new();
        let result: Result<(), String> = (|| {
            match &op.kind {
                FileOpKind::Copy {
                    source: src,
                    sources,
                    dest,
                    chown,
                    chmod,
                    parents,
                    exclude,
                    unpack,
                    ..
                } => {
                    let owner = chown
                        .as_deref()
                        .map(|o| resolve_owner(o, users, groups, OwnerSyntax::CopyChown))
                        .transpose()
                        .map_err(|e| format!("--chown: {e}"))?;
                    let chmod = chmod
                        .as_deref()
                        .map(ModeSpec::parse)
                        .transpose()
                        .map_err(|e| format!("--chmod: {e}"))?;
                    let attrs = CopyAttrs { owner, chmod };
                    let mut tree = FileTree::new();
                    let mut placed = Vec::new();
                    let mut skipped = Vec::new();
                    match src {
                        CopySource::Context
                        | CopySource::Stage { .. }
                        | CopySource::Image { .. } => {
                            let (root, prefix) =
                                copy_root(src, context_root.as_ref(), &opts.stage_outputs)?;
                            let matches =
                                copy::read_sources(&root, sources, exclude, &mut skipped)?;
                            let count = matches.len();
                            if *unpack {
                                // ADD: archives unpack at dest; other files copy.
                                let dest_dir = copy::destination(&ws, dest, count)?;
                                let mut plain = Vec::new();
                                for m in matches {
                                    let host = root.root.join(&m.rel);
                                    if !m.is_dir
                                        && copy::add_archive(
                                            &host,
                                            &mut tree,
                                            &ws.resolve(dest, true)?,
                                            &attrs,
                                            &mut skipped,
                                        )?
                                    {
                                        placed.push(Placed {
                                            path: ws.resolve(dest, true)?,
                                            from: format!("{prefix}{} (unpacked)", m.rel),
                                        });
                                        continue;
                                    }
                                    plain.push(m);
                                }
                                copy::place_matches(
                                    &ws,
                                    &mut tree,
                                    &plain,
                                    &copy::Placement {
                                        dest: &dest_dir,
                                        parents: *parents,
                                        attrs: &attrs,
                                        from_prefix: &prefix,
                                    },
                                    &mut placed,
                                )?;
                            } else {
                                let d = copy::destination(&ws, dest, count)?;
                                copy::place_matches(
                                    &ws,
                                    &mut tree,
                                    &matches,
                                    &copy::Placement {
                                        dest: &d,
                                        parents: *parents,
                                        attrs: &attrs,
                                        from_prefix: &prefix,
                                    },
                                    &mut placed,
                                )?;
                            }
                        }
                        CopySource::Heredoc { name, content } => {
                            let d = copy::destination(&ws, dest, 1)?;
                            let p = copy::place_bytes(
                                &mut tree,
                                &d,
                                name,
                                content.as_bytes().to_vec(),
                                0o644,
                                &attrs,
                            )?;
                            placed.push(Placed {
                                path: p,
                                from: format!("<<{name}"),
                            });
                        }
                        CopySource::Url { url, checksum } => {
                            if *unpack {
                                return Err(
                                    "ADD --unpack of a URL is not supported; download it with --checksum and unpack it in the context".into(),
                                );
                            }
                            let data = copy::download(url, checksum.as_deref())?;
                            let d = copy::destination(&ws, dest, 1)?;
                            let name = url
                                .split(['?', '#'])
                                .next()
                                .unwrap_or(url)
                                .rsplit('/')
                                .next()
                                .unwrap_or("");
                            let p = copy::place_bytes(&mut tree, &d, name, data, 0o600, &attrs)?;
                            placed.push(Placed {
                                path: p,
                                from: url.clone(),
                            });
                        }
                    }
                    notes.extend(
                        skipped
                            .into_iter()
                            .map(|s| format!("{}: {s}", short_location(prov))),
                    );
                    paths = placed.iter().map(|p| p.path.clone()).collect();
                    placed_by_op.push((i, placed));
                    ws.copies.push(files::CopyTree { op: i, tree });
                }
                FileOpKind::MakeDir { path, mode, owner } => {
                    let p = ws.mkdir(path, mode.unwrap_or(0o755), i)?;
                    if let Some(mode) = mode {
                        ws.chmod(&p.absolute(), &format!("{mode:o}"), false)?;
                    }
                    if let Some(o) = owner {
                        let o = resolve_owner(o, users, groups, OwnerSyntax::Chown)?;
                        ws.chown(&p.absolute(), o, false)?;
                    }
                    created_dirs.insert(p.clone());
                    paths.push(p);
                }
                FileOpKind::Chown {
                    path,
                    owner,
                    recursive,
                } => {
                    let o = resolve_owner(owner, users, groups, OwnerSyntax::Chown)?;
                    if ws.chown(path, o, *recursive)? == 0 {
                        warnings.push(warn(
                            &source,
                            prov,
                            "pipeline::no-such-path",
                            format!("chown {path}: not in the image"),
                        ));
                    }
                    paths.extend(ws.expand(path, !recursive)?);
                }
                FileOpKind::Chmod {
                    path,
                    mode,
                    recursive,
                } => {
                    if ws.chmod(path, mode, *recursive)? == 0 {
                        warnings.push(warn(
                            &source,
                            prov,
                            "pipeline::no-such-path",
                            format!("chmod {path}: not in the image"),
                        ));
                    }
                    paths.extend(ws.expand(path, !recursive)?);
                }
                FileOpKind::Symlink { link, target } => paths.push(ws.symlink(link, target, i)?),
                FileOpKind::WriteFile {
                    path,
                    content,
                    append,
                } => paths.push(ws.write_file(path, content, *append, i)?),
                FileOpKind::Touch { path } => paths.push(ws.touch(path, i)?),
                FileOpKind::Remove { path, recursive } => {
                    for p in ws.expand(path, false)? {
                        ws.remove(&p, *recursive);
                        paths.push(p);
                    }
                }
                FileOpKind::CopyInImage {
                    sources,
                    dest,
                    recursive,
                } => paths.extend(ws.copy_within(sources, dest, *recursive, false, i)?),
                FileOpKind::Move { sources, dest } => {
                    paths.extend(ws.copy_within(sources, dest, true, true, i)?)
                }
                FileOpKind::Hardlink { link, target } => paths.push(ws.hardlink(link, target, i)?),
            }
            Ok(())
        })();
        if let Err(e) = result {
            let code = match &op.kind {
                FileOpKind::Copy { .. } => "pipeline::copy",
                _ => "pipeline::file-op",
            };
            errors.push(diag(&source, prov, code, e));
        }
        applied.push(AppliedOp { op: i, paths });
    }
    if !errors.is_empty() {
        return Err(fail(errors, &plan));
    }
    t = timings.record("files", t);

    // The image config's commands, env and roots.
    let shell: Vec<String> = plan
        .config
        .shell
        .as_ref()
        .map(|s| s.value.clone())
        .unwrap_or_else(|| DEFAULT_SHELL.iter().map(|s| s.to_string()).collect());
    let mut commands: Vec<CommandForm> = Vec::new();
    let entrypoint = plan.config.entrypoint.as_ref().map(|s| {
        let r = resolve_command(&s.value, "ENTRYPOINT", &shell, &s.provenance);
        commands.extend(r.form.clone());
        (r, s.provenance.clone())
    });
    let mut cmd = plan.config.cmd.as_ref().map(|s| {
        let r = resolve_command(&s.value, "CMD", &shell, &s.provenance);
        commands.extend(r.form.clone());
        (r, s.provenance.clone())
    });
    if let (Some((e, p)), Some(_)) = (&entrypoint, &cmd)
        && matches!(
            plan.config.entrypoint.as_ref().map(|s| &s.value),
            Some(Command::Shell(_))
        )
    {
        let _ = e;
        warnings.push(warn(
            &source,
            p,
            "pipeline::cmd-ignored",
            "a shell-form ENTRYPOINT ignores CMD; CMD is left out of the image config",
        ));
        cmd = None;
    }
    let healthcheck = plan.config.healthcheck.as_ref().map(|h| {
        let test = &h.value.test;
        let test = match test.first().map(String::as_str) {
            Some("CMD-SHELL") => {
                let text = test.get(1).cloned().unwrap_or_default();
                let r =
                    resolve_command(&Command::Shell(text), "HEALTHCHECK", &shell, &h.provenance);
                commands.extend(r.form.clone());
                match r.form.as_ref().and_then(|f| f.needs_shell.as_ref()) {
                    None => std::iter::once("CMD".to_string()).chain(r.argv).collect(),
                    Some(_) => test.clone(),
                }
            }
            _ => test.clone(),
        };
        (test, h)
    });
    let mut run_commands: Vec<(Vec<String>, Provenance, &'static str)> = Vec::new();
    match (&entrypoint, &cmd) {
        (Some((e, p)), c) => {
            let mut argv = e.argv.clone();
            if let Some((c, _)) = c {
                argv.extend(c.argv.iter().cloned());
            }
            run_commands.push((argv, p.clone(), "ENTRYPOINT"));
        }
        (None, Some((c, p))) => run_commands.push((c.argv.clone(), p.clone(), "CMD")),
        (None, None) => {}
    }
    if let Some((test, h)) = &healthcheck {
        match test.first().map(String::as_str) {
            Some("CMD") => {
                run_commands.push((test[1..].to_vec(), h.provenance.clone(), "HEALTHCHECK"))
            }
            Some("CMD-SHELL") => {
                let mut argv = shell.clone();
                argv.extend(test.get(1).cloned());
                run_commands.push((argv, h.provenance.clone(), "HEALTHCHECK"));
            }
            _ => {}
        }
    }
    let mut env: Vec<String> = Vec::new();
    let plan_env: Vec<(String, String)> = plan.config.env.iter().map(|s| s.value.clone()).collect();
    if !plan_env.iter().any(|(k, _)| k == "PATH") {
        env.push(format!("PATH={DEFAULT_PATH}"));
    }
    env.extend(plan_env.iter().map(|(k, v)| format!("{k}={v}")));
    let env_value = |name: &str| {
        plan_env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let path_value = env_value("PATH").unwrap_or_else(|| DEFAULT_PATH.to_string());
    let path_dirs: Vec<String> = path_value
        .split(':')
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect();
    let workdir = plan.config.workdir.as_ref().map(|w| w.value.clone());

    // Files outside packages, for slim (and later the rootfs layer).
    let libc_in_closure = closure.as_ref().is_some_and(|c| c.get("libc6").is_some());
    let prelim_with_nss = image::synthesize_rootfs(&RootfsSpec {
        accounts: accounts.users.clone(),
        groups: accounts.groups.clone(),
        nsswitch: libc_in_closure,
        ..Default::default()
    })?;
    let mut image_files = ws.layout.clone();
    for (p, e) in &prelim_with_nss.tree.entries {
        image_files.insert(p.clone(), e.clone());
    }
    for t in std::iter::once(&ws.run).chain(ws.copies.iter().map(|c| &c.tree)) {
        for (p, e) in &t.entries {
            image_files.insert(p.clone(), e.clone());
        }
    }

    // Slim.
    let packages: Vec<SlimPackage> = std::mem::take(&mut ws.packages)
        .into_iter()
        .map(|p| {
            let depends = closure
                .as_ref()
                .and_then(|c| c.get(&p.name))
                .map(|sp| sp.depends.iter().map(|e| e.to.clone()).collect())
                .unwrap_or_default();
            SlimPackage {
                name: p.name,
                depends,
                tree: p.tree,
            }
        })
        .collect();
    let roots = Roots {
        commands: run_commands.iter().map(|(a, _, _)| a.clone()).collect(),
        path_env: path_dirs.clone(),
        workdir: workdir.as_deref().and_then(|w| ImagePath::new(w).ok()),
        library_path: env_value("LD_LIBRARY_PATH")
            .map(|v| {
                v.split(':')
                    .filter(|d| !d.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        paths: Vec::new(),
        image_files,
        requested_packages: requests.iter().filter_map(|r| r.member.clone()).collect(),
        keep_whole_packages: BTreeSet::new(),
    };
    let slim_result = slim::slim(&packages, &roots, &opts.slim)?;
    drop(packages);
    for w in &slim_result.warnings {
        notes.push(format!("slim: {}", describe_slim_warning(w)));
    }
    t = timings.record("slim", t);

    // The CA bundle, from what stays.
    let ca_bundle = if slim_result.is_kept("ca-certificates") {
        let mut trees: Vec<(String, &FileTree)> = slim_result
            .kept_trees
            .iter()
            .map(|(n, t)| (n.clone(), t))
            .collect();
        trees.push(("RUN".into(), &ws.run));
        for c in &ws.copies {
            trees.push(("COPY".into(), &c.tree));
        }
        cabundle::build(&trees).map_err(|e| input_err("CA bundle", e))?
    } else {
        None
    };

    // The rootfs layer.
    let mut dir_specs = Vec::new();
    for d in &created_dirs {
        if let Some(e) = ws.run.entries.get(d)
            && matches!(e.kind, EntryKind::Dir)
        {
            dir_specs.push(DirSpec {
                path: d.clone(),
                mode: e.mode,
                uid: e.uid,
                gid: e.gid,
            });
        }
    }
    let libc_kept = slim_result.is_kept("libc6");
    let rootfs = image::synthesize_rootfs(&RootfsSpec {
        accounts: accounts.users.clone(),
        groups: accounts.groups.clone(),
        dirs: dir_specs,
        os_release: (!os_release.fields.is_empty()).then(|| os_release.fields.clone()),
        nsswitch: libc_kept,
        ca_bundle: ca_bundle.as_ref().map(|b| Arc::from(b.content.clone())),
    })?;
    let mut synthesized = rootfs.items.clone();
    let mut rootfs_tree = ws.layout.clone();
    if !ws.layout.is_empty() {
        let links: Vec<String> = ws
            .layout
            .entries
            .iter()
            .filter_map(|(p, e)| match &e.kind {
                EntryKind::Symlink { target } => Some(format!("{p} -> {target}")),
                _ => None,
            })
            .collect();
        if let Some(first) = ws.layout.entries.keys().find(|p| {
            matches!(
                ws.layout.entries.get(*p).map(|e| &e.kind),
                Some(EntryKind::Symlink { .. })
            )
        }) {
            synthesized.push(SynthesizedItem {
                path: first.clone(),
                description: format!("merged-/usr layout: {}", links.join(", ")),
            });
        }
    }
    for (p, e) in &rootfs.tree.entries {
        rootfs_tree.insert(p.clone(), e.clone());
    }
    if let Some(dv) = debian_version {
        let p =
            ImagePath::new("etc/debian_version").map_err(|e| input_err("rootfs", e.to_string()))?;
        rootfs_tree.insert(p.clone(), TreeEntry::bytes(dv, 0o644));
        synthesized.push(SynthesizedItem {
            path: p,
            description: format!(
                "debian_version from {}",
                os_release.from_package.as_deref().unwrap_or("base-files")
            ),
        });
    }
    for (p, e) in &ws.run.entries {
        let synthesized_file = rootfs
            .tree
            .entries
            .get(p)
            .is_some_and(|s| !matches!(s.kind, EntryKind::Dir));
        if synthesized_file {
            if let Some(op) = ws.run_origin.get(p) {
                warnings.push(warn(
                    &source,
                    &plan.files[*op].provenance,
                    "pipeline::synthesized-wins",
                    format!(
                        "{p} is synthesized by scratchify; what this step wrote there is not kept"
                    ),
                ));
            }
            continue;
        }
        if matches!(e.kind, EntryKind::Dir) && created_dirs.contains(p) {
            continue; // synthesize_rootfs placed it (with the final attributes)
        }
        rootfs_tree.insert(p.clone(), e.clone());
        if !matches!(e.kind, EntryKind::Dir)
            && let Some(op) = ws.run_origin.get(p)
        {
            synthesized.push(SynthesizedItem {
                path: p.clone(),
                description: format!(
                    "written by {} ({})",
                    plan.files[*op].provenance.instruction,
                    short_location(&plan.files[*op].provenance)
                ),
            });
        }
    }

    // Check that what the image runs is in it.
    let final_view = Workspace {
        packages: slim_result
            .kept_trees
            .iter()
            .map(|(n, t)| PackageTree {
                name: n.clone(),
                tree: t.clone(),
            })
            .collect(),
        layout: FileTree::new(),
        run: rootfs_tree.clone(),
        run_origin: BTreeMap::new(),
        copies: ws.copies.clone(),
    };
    for (argv, prov, setting) in &run_commands {
        let Some(arg0) = argv.first() else { continue };
        if find_program(&final_view, arg0, &path_dirs, workdir.as_deref()).is_some() {
            continue;
        }
        let form = commands
            .iter()
            .find(|c| c.provenance.span == prov.span && c.needs_shell.is_some());
        match form {
            Some(f) => errors.push(
                diag(
                    &source,
                    prov,
                    "pipeline::needs-shell",
                    format!(
                        "{setting} needs a shell ({}), and the image keeps no {arg0}",
                        f.needs_shell.as_deref().unwrap_or("shell syntax")
                    ),
                )
                .with_help(format!(
                    "write it in exec form ({setting} [\"program\", \"arg\", ...]), or install a shell with apt-get so that the image keeps it"
                )),
            ),
            None => errors.push(
                diag(
                    &source,
                    prov,
                    "pipeline::command-not-found",
                    format!("{setting} runs {arg0}, which is not in the image"),
                )
                .with_help("install the package that provides it, or COPY it into the image"),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(fail(errors, &plan));
    }

    // Layers.
    let kept_names: Vec<&String> = slim_result.kept_trees.keys().collect();
    let units: Vec<LayerUnit> = kept_names
        .iter()
        .map(|n| LayerUnit {
            name: (*n).clone(),
            size: slim_result
                .kept_trees
                .get(*n)
                .map_or(0, FileTree::file_bytes),
            depends_on: closure
                .as_ref()
                .and_then(|c| c.get(n))
                .map(|p| p.depends.iter().map(|e| e.to.clone()).collect())
                .unwrap_or_default(),
        })
        .collect();
    let groups_planned = image::plan_layers(&units, 1 + ws.copies.len(), opts.max_layers)?;
    let mut inputs: Vec<LayerInput> = Vec::new();
    let mut layers: Vec<BuiltLayer> = Vec::new();
    let sha_of: BTreeMap<&str, &str> = closure
        .as_ref()
        .map(|c| {
            c.paths
                .iter()
                .map(|p| (p.name.as_str(), p.sha256.as_str()))
                .collect()
        })
        .unwrap_or_default();
    for g in &groups_planned {
        let mut tree = FileTree::new();
        let mut keys: BTreeSet<&str> = BTreeSet::new();
        for m in &g.members {
            if let Some(t) = slim_result.kept_trees.get(m) {
                for (p, e) in &t.entries {
                    tree.insert(p.clone(), e.clone());
                }
            }
            keys.extend(sha_of.get(m.as_str()).copied());
            for lc in slim_result
                .licence_copies
                .iter()
                .filter(|l| &l.package == m)
            {
                keys.extend(sha_of.get(lc.from_package.as_str()).copied());
            }
        }
        let created_by = package_layer_label(&g.members, closure.as_ref());
        let comment = Some(
            g.members
                .iter()
                .map(|m| {
                    closure
                        .as_ref()
                        .and_then(|c| c.get(m))
                        .map_or(m.clone(), |p| p.id())
                })
                .collect::<Vec<_>>()
                .join(" "),
        );
        layers.push(BuiltLayer {
            kind: BuiltLayerKind::Packages {
                members: g.members.clone(),
                reason: g.reason.clone(),
            },
            created_by: created_by.clone(),
            file_bytes: tree.file_bytes(),
            entries: tree.len(),
        });
        inputs.push(LayerInput {
            tree,
            created_by,
            comment,
            content_key: Some(format!(
                "debian-debs:{}",
                keys.into_iter().collect::<Vec<_>>().join(",")
            )),
        });
    }
    let rootfs_label = format!(
        "scratchify rootfs: {}",
        synthesized
            .iter()
            .map(|s| s.path.absolute())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let rootfs_label = truncate(&rootfs_label, 400);
    layers.push(BuiltLayer {
        kind: BuiltLayerKind::Rootfs,
        created_by: rootfs_label.clone(),
        file_bytes: rootfs_tree.file_bytes(),
        entries: rootfs_tree.len(),
    });
    inputs.push(LayerInput {
        tree: rootfs_tree.clone(),
        created_by: rootfs_label,
        comment: Some("synthesized by scratchify".into()),
        content_key: None,
    });
    let mut copied: Vec<CopiedFile> = Vec::new();
    for c in &ws.copies {
        let op = &plan.files[c.op];
        let label = format!(
            "{} ({})",
            op.provenance.instruction,
            short_location(&op.provenance)
        );
        layers.push(BuiltLayer {
            kind: BuiltLayerKind::Copy { op: c.op },
            created_by: label.clone(),
            file_bytes: c.tree.file_bytes(),
            entries: c.tree.len(),
        });
        inputs.push(LayerInput {
            tree: c.tree.clone(),
            created_by: label,
            comment: None,
            content_key: None,
        });
    }
    for (op, placed) in &placed_by_op {
        let Some(c) = ws.copies.iter().find(|c| c.op == *op) else {
            continue;
        };
        for pl in placed {
            let Some(e) = c.tree.entries.get(&pl.path) else {
                continue;
            };
            let EntryKind::File { size, .. } = e.kind else {
                continue;
            };
            let (sha256, sha1) = sha_pair(e).map_err(|m| input_err("hashing a COPY'd file", m))?;
            copied.push(CopiedFile {
                path: pl.path.clone(),
                from: pl.from.clone(),
                size,
                sha256,
                sha1,
                op: *op,
                provenance: plan.files[*op].provenance.clone(),
            });
        }
    }
    normalize_directories(&mut inputs);

    // Config.
    let user = match &plan.config.user {
        Some(u) => match rootfs.resolve_user(&u.value) {
            Ok(v) => Some(v),
            Err(e) => {
                return Err(fail(
                    vec![diag(
                        &source,
                        &u.provenance,
                        "pipeline::user",
                        e.to_string(),
                    )],
                    &plan,
                ));
            }
        },
        None => None,
    };
    let (architecture, variant) = oci_platform(&arch);
    let mut config = ImageConfigSpec {
        architecture,
        variant,
        entrypoint: entrypoint.as_ref().map(|(r, _)| r.argv.clone()),
        cmd: cmd.as_ref().map(|(r, _)| r.argv.clone()),
        env,
        user,
        working_dir: workdir.clone(),
        exposed_ports: plan
            .config
            .exposed_ports
            .iter()
            .map(|s| s.value.clone())
            .collect(),
        volumes: plan
            .config
            .volumes
            .iter()
            .map(|s| s.value.clone())
            .collect(),
        labels: plan.config.labels.iter().map(|s| s.value.clone()).collect(),
        stop_signal: plan.config.stop_signal.as_ref().map(|s| s.value.clone()),
        ..Default::default()
    };
    if let Some((test, h)) = &healthcheck {
        let dur = |d: &Option<String>, what: &str| -> Result<Option<Duration>, PipelineError> {
            match d {
                None => Ok(None),
                Some(s) => crate::dockerfile::duration::parse_go_duration(s)
                    .map_err(|e| {
                        fail(
                            vec![diag(
                                &source,
                                &h.provenance,
                                "pipeline::healthcheck",
                                format!("--{what}: {e}"),
                            )],
                            &plan,
                        )
                    })
                    .map(|ns| Some(Duration::from_nanos(u64::try_from(ns).unwrap_or(0)))),
            }
        };
        config.healthcheck = Some(image::Healthcheck {
            test: test.clone(),
            interval: dur(&h.value.interval, "interval")?,
            timeout: dur(&h.value.timeout, "timeout")?,
            start_period: dur(&h.value.start_period, "start-period")?,
            start_interval: dur(&h.value.start_interval, "start-interval")?,
            retries: h.value.retries,
        });
    }
    config.extra_history = config_history(&plan);
    t = timings.record("layout", t);

    let image = image::assemble(
        &image::ImageSpec {
            layers: inputs,
            config: config.clone(),
        },
        &opts.assemble,
    )?;
    timings.record("assemble", t);

    Ok(Built {
        source,
        plan,
        warnings,
        notes,
        requests,
        closure,
        slim: slim_result,
        roots: run_commands.into_iter().map(|(a, _, _)| a).collect(),
        accounts: rootfs.accounts.clone(),
        groups: rootfs.groups.clone(),
        synthesized,
        rootfs_tree,
        ca_bundle,
        os_release,
        applied,
        copied,
        commands,
        layers,
        config,
        image,
        timings,
        store,
    })
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// The history text of a package layer: the request that pulled its
/// (first) member in.
fn package_layer_label(members: &[String], closure: Option<&Closure>) -> String {
    let origin = |m: &str| -> Option<String> {
        let c = closure?;
        let chain = c.why_chain(m);
        match &chain.last()?.why {
            store::Why::Requested { origin, .. } => Some(origin.clone()),
            _ => None,
        }
    };
    match members {
        [one] => match origin(one) {
            Some(o) if o.contains(&format!(" {one} (")) => o,
            Some(o) => format!("{one}, for {o}"),
            None => one.clone(),
        },
        many => {
            let origins: BTreeSet<String> = many.iter().filter_map(|m| origin(m)).collect();
            truncate(
                &format!(
                    "{} packages ({}), for {}",
                    many.len(),
                    many.join(" "),
                    origins.into_iter().collect::<Vec<_>>().join("; ")
                ),
                400,
            )
        }
    }
}

/// History entries for the config settings, naming their lines.
fn config_history(plan: &Plan) -> Vec<image::HistoryNote> {
    let c = &plan.config;
    let mut provs: Vec<&Provenance> = Vec::new();
    provs.extend(c.env.iter().map(|s| &s.provenance));
    provs.extend(c.labels.iter().map(|s| &s.provenance));
    provs.extend(c.exposed_ports.iter().map(|s| &s.provenance));
    provs.extend(c.volumes.iter().map(|s| &s.provenance));
    provs.extend(c.workdir.iter().map(|s| &s.provenance));
    provs.extend(c.user.iter().map(|s| &s.provenance));
    provs.extend(c.stop_signal.iter().map(|s| &s.provenance));
    provs.extend(c.healthcheck.iter().map(|s| &s.provenance));
    provs.extend(c.entrypoint.iter().map(|s| &s.provenance));
    provs.extend(c.cmd.iter().map(|s| &s.provenance));
    provs.sort_by_key(|p| (p.span.start, p.span.end));
    provs.dedup_by_key(|p| p.span);
    provs
        .into_iter()
        .map(|p| image::HistoryNote {
            created_by: format!("{} ({})", p.instruction, short_location(p)),
            comment: None,
        })
        .collect()
}

/// Give every directory, in every layer, the attributes of its topmost
/// occurrence, and list the parents each layer needs.
fn normalize_directories(inputs: &mut [LayerInput]) {
    let mut top: BTreeMap<ImagePath, TreeEntry> = BTreeMap::new();
    for l in inputs.iter() {
        for (p, e) in &l.tree.entries {
            if matches!(e.kind, EntryKind::Dir) {
                top.insert(p.clone(), e.clone());
            } else {
                top.remove(p);
            }
        }
    }
    for l in inputs.iter_mut() {
        let mut needed: BTreeSet<ImagePath> = BTreeSet::new();
        for p in l.tree.entries.keys() {
            for a in p.ancestors() {
                if !l.tree.entries.contains_key(&a) {
                    needed.insert(a);
                }
            }
        }
        for a in needed {
            if let Some(e) = top.get(&a) {
                l.tree.insert(a, e.clone());
            }
        }
        for (p, e) in l.tree.entries.iter_mut() {
            if matches!(e.kind, EntryKind::Dir)
                && let Some(t) = top.get(p)
            {
                e.mode = t.mode;
                e.uid = t.uid;
                e.gid = t.gid;
            }
        }
    }
}

/// Where `arg0` is in the image, searched like `execvp`.
fn find_program(
    view: &Workspace,
    arg0: &str,
    path: &[String],
    workdir: Option<&str>,
) -> Option<ImagePath> {
    let is_program = |p: &ImagePath| {
        matches!(
            view.lookup(p).map(|e| &e.kind),
            Some(EntryKind::File { .. }) | Some(EntryKind::Hardlink { .. })
        )
    };
    let candidates: Vec<String> = if arg0.starts_with('/') {
        vec![arg0.to_string()]
    } else if arg0.contains('/') {
        vec![format!("{}/{arg0}", workdir.unwrap_or("/"))]
    } else {
        path.iter().map(|d| format!("{d}/{arg0}")).collect()
    };
    candidates
        .into_iter()
        .filter_map(|c| view.resolve(&c, true).ok())
        .find(is_program)
}

fn describe_slim_warning(w: &slim::SlimWarning) -> String {
    use slim::SlimWarning::*;
    match w {
        Unresolved { what, from, .. } => match from {
            Some(f) => format!("{what} (named by {f}) is in no tree"),
            None => format!("{what} is in no tree"),
        },
        LibraryNotFound { soname, needed_by } => {
            format!("{soname} (needed by {needed_by}) found on no search path")
        }
        LibraryViaLdSoConf {
            library, needed_by, ..
        } => format!("{library} (needed by {needed_by}) is found only through /etc/ld.so.conf"),
        MalformedElf { path, detail } => format!("{path}: malformed ELF: {detail}"),
        TooLarge { path, bytes } => format!("{path}: {bytes} bytes, not inspected"),
        UnknownPackage { name, role } => format!("{role} package {name} is not in the closure"),
    }
}
