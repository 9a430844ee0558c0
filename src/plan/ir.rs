//! The plan's intermediate representation: what the final image needs, what
//! is dropped, and why, each with the Dockerfile place it came from.
//!
//! Everything here is data. The report renders from these records and never
//! re-derives them.

use serde::Serialize;

use crate::source::{SourceFile, Span};

/// Where a fact came from: a place in a Dockerfile (or a file it reads, such
/// as a requirements.txt), and the instruction it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// The file name as given on the command line (e.g. `Dockerfile`).
    pub file: String,
    /// Byte range in the original text.
    pub span: Span,
    /// 1-based line and column of the span's start.
    pub line: usize,
    pub column: usize,
    /// 1-based line and column of the span's end (exclusive end column).
    pub end_line: usize,
    pub end_column: usize,
    /// The stage the instruction is in (its name, or its index as text).
    pub stage: String,
    /// The instruction keyword and a short excerpt, e.g. `RUN apt-get install nginx`.
    pub instruction: String,
}

impl Provenance {
    pub fn new(source: &SourceFile, span: Span, stage: &str, instruction: &str) -> Self {
        let (line, column) = source.line_col(span.start);
        let (end_line, end_column) = source.line_col(span.end);
        Provenance {
            file: source.name().to_string(),
            span,
            line,
            column,
            end_line,
            end_column,
            stage: stage.to_string(),
            instruction: instruction.to_string(),
        }
    }

    /// `Dockerfile:5`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// A package universe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Debian,
    Alpine,
    Rpm,
    Pypi,
    Npm,
    Gem,
    Nix,
}

impl Ecosystem {
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Debian => "debian",
            Ecosystem::Alpine => "alpine",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Npm => "npm",
            Ecosystem::Gem => "gem",
            Ecosystem::Nix => "nix",
        }
    }
}

/// The distribution family of a base image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Debian,
    Ubuntu,
    Alpine,
    Nix,
    /// `scratch`: no distribution at all.
    None,
}

impl Family {
    /// The package universe OS packages of this family come from.
    pub fn ecosystem(self) -> Option<Ecosystem> {
        match self {
            Family::Debian | Family::Ubuntu => Some(Ecosystem::Debian),
            Family::Alpine => Some(Ecosystem::Alpine),
            Family::Nix => Some(Ecosystem::Nix),
            Family::None => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Debian => "debian",
            Family::Ubuntu => "ubuntu",
            Family::Alpine => "alpine",
            Family::Nix => "nix",
            Family::None => "none",
        }
    }
}

/// The base image of the final stage, mapped to a package universe.
#[derive(Clone, Debug, Serialize)]
pub struct BaseImage {
    /// The reference as written after expansion (e.g. `debian:bookworm-slim`).
    pub reference: String,
    pub family: Family,
    /// Release codename or version (`bookworm`, `noble`, `3.20`).
    pub release: String,
    /// True when the tag named no release and the family default was assumed.
    pub release_assumed: bool,
    /// Shown when a stand-in package differs from what the image ships.
    pub note: Option<String>,
    pub provenance: Provenance,
}

/// Why a package is requested, and whether it stays.
#[derive(Clone, Debug, Serialize)]
pub struct PackageRequest {
    pub ecosystem: Ecosystem,
    pub name: String,
    /// Version constraint as written (`=1.2.3-1`, `>=2.0`), if any.
    pub version: Option<String>,
    /// Architecture qualifier (`libc6:amd64`), if any.
    pub arch: Option<String>,
    /// Whether the installer was told to pull Recommends (apt's default).
    pub install_recommends: bool,
    /// What the request is: an explicit install, a stand-in for the base
    /// image's runtime, a requirements file entry.
    pub origin: RequestOrigin,
    pub provenance: Provenance,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RequestOrigin {
    /// `apt-get install NAME`, `apk add NAME`, ...
    Install { command: String },
    /// The base image's runtime (`FROM python` -> python3).
    BaseRuntime { image: String },
    /// A line of a requirements file read by `pip install -r`.
    Requirements { file: String, line: usize },
    /// Needed by something the image keeps (an entrypoint's interpreter, the
    /// interpreter of pip-installed packages) though nothing installed it.
    Implied { reason: String },
}

/// A file-level operation the final image keeps.
#[derive(Clone, Debug, Serialize)]
pub struct FileOp {
    pub kind: FileOpKind,
    pub provenance: Provenance,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum FileOpKind {
    /// COPY/ADD from the build context, another stage, a URL or a heredoc.
    Copy {
        source: CopySource,
        /// Source paths as written (after expansion).
        sources: Vec<String>,
        dest: String,
        chown: Option<String>,
        chmod: Option<String>,
        link: bool,
        parents: bool,
        exclude: Vec<String>,
        /// ADD of a local tar archive: unpacked at the destination.
        unpack: bool,
    },
    MakeDir {
        path: String,
        mode: Option<u32>,
        owner: Option<String>,
    },
    Chown {
        path: String,
        owner: String,
        recursive: bool,
    },
    Chmod {
        path: String,
        mode: String,
        recursive: bool,
    },
    Symlink {
        link: String,
        target: String,
    },
    WriteFile {
        path: String,
        content: String,
        append: bool,
    },
    Touch {
        path: String,
    },
    /// `rm`: the path may hold shell patterns (`/etc/nginx/sites-enabled/*`).
    Remove {
        path: String,
        recursive: bool,
    },
    /// `cp` inside the image.
    CopyInImage {
        sources: Vec<String>,
        dest: String,
        recursive: bool,
    },
    /// `mv` inside the image.
    Move {
        sources: Vec<String>,
        dest: String,
    },
    /// `ln` without `-s`.
    Hardlink {
        link: String,
        target: String,
    },
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum CopySource {
    Context,
    /// `COPY --from=stage`: a build stage's output.
    Stage {
        name: String,
        index: usize,
    },
    /// `COPY --from=image`: an external image's files.
    Image {
        reference: String,
    },
    Url {
        url: String,
        checksum: Option<String>,
    },
    Heredoc {
        name: String,
        content: String,
    },
}

/// A user or group the image needs in /etc/passwd and /etc/group.
#[derive(Clone, Debug, Serialize)]
pub struct Account {
    pub kind: AccountKind,
    pub name: String,
    /// Numeric id when the Dockerfile gave one; else allocated by the image
    /// stage (system accounts from 999 down, like `adduser --system`).
    pub id: Option<u32>,
    /// Primary group for users.
    pub group: Option<String>,
    pub home: Option<String>,
    pub shell: Option<String>,
    pub system: bool,
    pub provenance: Provenance,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    User,
    Group,
}

/// The image configuration, with where each setting came from.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImageConfig {
    pub entrypoint: Option<Setting<Command>>,
    pub cmd: Option<Setting<Command>>,
    pub env: Vec<Setting<(String, String)>>,
    pub user: Option<Setting<String>>,
    pub workdir: Option<Setting<String>>,
    pub exposed_ports: Vec<Setting<String>>,
    pub volumes: Vec<Setting<String>>,
    pub labels: Vec<Setting<(String, String)>>,
    pub stop_signal: Option<Setting<String>>,
    pub healthcheck: Option<Setting<Healthcheck>>,
    /// The SHELL instruction's value, if any (shell-form commands use it).
    pub shell: Option<Setting<Vec<String>>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Setting<T> {
    pub value: T,
    pub provenance: Provenance,
}

/// CMD/ENTRYPOINT: exec form as written, or shell form (which needs a shell
/// at run time unless it is a simple command the image stage can turn into
/// exec form).
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "form", content = "value", rename_all = "lowercase")]
pub enum Command {
    Exec(Vec<String>),
    Shell(String),
}

#[derive(Clone, Debug, Serialize)]
pub struct Healthcheck {
    /// `NONE` disables an inherited check.
    pub test: Vec<String>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
    pub retries: Option<u32>,
}

/// Something the final image does not carry, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Dropped {
    pub what: DroppedKind,
    /// A stable rule id (`build-only/compiler`, `removed-later`, ...).
    pub rule: String,
    pub reason: String,
    pub provenance: Provenance,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DroppedKind {
    Package {
        ecosystem: Ecosystem,
        name: String,
        category: Option<String>,
    },
    /// A whole build stage that only feeds COPY --from.
    Stage { name: String },
    /// A RUN step whose effects the image does not need (a build, a cleanup).
    RunStep { command: String },
    /// A file the build fetched or copied only to consume it.
    File { path: String },
    /// What the base image carried (shell, package manager, ...).
    BaseContent { name: String },
    /// A step scratchify cannot interpret, dropped on `--allow-unsupported`.
    Unsupported { command: String },
}

/// The role a stage plays for the final image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageRole {
    /// The stage the image is built from (the last one, or `--target`).
    Final,
    /// A stage the final stage is built `FROM` (its effects carry over).
    Ancestor,
    /// A stage that only feeds `COPY --from`: build-only.
    Build,
    /// A stage nothing uses.
    Unused,
}

#[derive(Clone, Debug, Serialize)]
pub struct StageSummary {
    pub index: usize,
    pub name: Option<String>,
    /// The FROM reference after expansion.
    pub base: String,
    pub role: StageRole,
    pub provenance: Provenance,
}

/// An informational remark (an assumption the plan made), shown in the
/// human output and the report.
#[derive(Clone, Debug, Serialize)]
pub struct Note {
    pub message: String,
    pub provenance: Provenance,
}

/// The plan for one image.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// The Dockerfile's name as given.
    pub dockerfile: String,
    pub stages: Vec<StageSummary>,
    pub final_stage: usize,
    /// The distribution the final image's packages come from (None for
    /// `scratch`-based images).
    pub base: Option<BaseImage>,
    /// Packages the image keeps, in request order.
    pub packages: Vec<PackageRequest>,
    pub files: Vec<FileOp>,
    pub accounts: Vec<Account>,
    pub config: ImageConfig,
    pub dropped: Vec<Dropped>,
    pub notes: Vec<Note>,
}
