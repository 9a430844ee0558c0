//! What a recognised command does: typed effects, the unit the plan reads.
//!
//! Policy for values that are not known (an unset variable, the output of a
//! command substitution): paths and URLs are carried as [`Arg`]s whose
//! `value` is `None` and whose `unknown` says why, because the plan can still
//! reason about "a download to an unknown file" or "removal of a temporary
//! directory". Package names, versions, user and group names, ids, modes and
//! owners must be known: a command where one of them is not becomes
//! [`Effect::Opaque`]. The one exception is `apt-mark`, whose names are
//! [`Arg`]s, because the docker-library idiom restores a list saved from
//! `apt-mark showmanual` (the `unknown` of such an arg names that command).

use serde::Serialize;

use super::analyze::Arg;
use crate::source::Span;

fn is_false(b: &bool) -> bool {
    !*b
}

/// A package manager (or language package installer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Manager {
    /// `apt-get`, `apt`, `apt-mark`
    Apt,
    Dpkg,
    Apk,
    Dnf,
    Yum,
    Microdnf,
    /// `pip`, `pip3`, `python -m pip`
    Pip,
    /// `nix-env`, `nix profile`, `nix-channel`
    Nix,
    Npm,
    Gem,
}

impl Manager {
    pub fn as_str(self) -> &'static str {
        match self {
            Manager::Apt => "apt",
            Manager::Dpkg => "dpkg",
            Manager::Apk => "apk",
            Manager::Dnf => "dnf",
            Manager::Yum => "yum",
            Manager::Microdnf => "microdnf",
            Manager::Pip => "pip",
            Manager::Nix => "nix",
            Manager::Npm => "npm",
            Manager::Gem => "gem",
        }
    }
}

/// A version constraint: all clauses must hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionConstraint {
    pub clauses: Vec<VersionClause>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionClause {
    pub op: VersionOp,
    pub version: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionOp {
    /// `=` (apt, apk), `==` (pip; may end in `.*`)
    Eq,
    /// `!=`
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// pip `~=`
    Compatible,
    /// pip `===`
    Arbitrary,
    /// apk `~` (fuzzy: same version prefix)
    Fuzzy,
    /// An ecosystem's own syntax kept verbatim: npm ranges and dist-tags
    /// (`^1.2`, `latest`), gem requirements (`~> 1.2`).
    Spec,
}

/// Where a requested package comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PackageSource {
    /// The manager's configured repositories / index.
    Repository,
    /// A package file on disk (`./x.deb`, `/tmp/x.apk`, `dist/x.whl`).
    LocalFile { path: String },
    /// A directory holding a project (`pip install .`, `pip install -e ./src`).
    Directory { path: String },
    /// A URL (`pip install https://...`, `name @ git+https://...`).
    Url { url: String },
}

/// One requested package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackageSpec {
    /// The package name as requested (for local files and URLs: the path or
    /// URL as written).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<VersionConstraint>,
    /// apt `name:arch`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// apt `name/release`, apk `name@tag`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// pip `name[extra,...]`
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<String>,
    /// pip environment marker (`; python_version < "3.8"`), verbatim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    pub source: PackageSource,
    /// pip `-e`
    #[serde(skip_serializing_if = "is_false")]
    pub editable: bool,
    /// The word the package came from.
    pub span: Span,
}

/// Options of an install that change what ends up installed or where.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct InstallOptions {
    /// `-y`, `--yes`, `--assume-yes`, `--noconfirm`
    #[serde(skip_serializing_if = "is_false")]
    pub assume_yes: bool,
    /// apt `--no-install-recommends`; dnf `install_weak_deps=0` (weak
    /// dependencies are dnf's Recommends).
    #[serde(skip_serializing_if = "is_false")]
    pub no_install_recommends: bool,
    /// apt `--install-suggests`
    #[serde(skip_serializing_if = "is_false")]
    pub install_suggests: bool,
    /// apk `--virtual NAME` / `-t NAME`: the packages are grouped under a
    /// virtual package NAME (deleted later with `apk del NAME`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_group: Option<String>,
    /// apk `--no-cache`, pip `--no-cache-dir`, dnf `--setopt=keepcache=0`
    #[serde(skip_serializing_if = "is_false")]
    pub no_cache: bool,
    /// apk `--update`/`-U`, dnf `--refresh`: the index is refreshed first.
    #[serde(skip_serializing_if = "is_false")]
    pub update_index: bool,
    /// pip `-U`/`--upgrade`, apk `-u`/`--upgrade`
    #[serde(skip_serializing_if = "is_false")]
    pub upgrade: bool,
    /// pip `--user`
    #[serde(skip_serializing_if = "is_false")]
    pub user: bool,
    /// npm `-g`
    #[serde(skip_serializing_if = "is_false")]
    pub global: bool,
    /// nix-env `-A`: the names are attribute paths (`nixpkgs.hello`); `nix
    /// profile install` installables (`nixpkgs#hello`) are flake references.
    #[serde(skip_serializing_if = "is_false")]
    pub attribute_paths: bool,
    /// pip `--no-deps`
    #[serde(skip_serializing_if = "is_false")]
    pub no_deps: bool,
    /// npm `ci` / `install` with no names, gem/bundler-style manifests: the
    /// packages come from a manifest or lock file in the working directory.
    #[serde(skip_serializing_if = "is_false")]
    pub from_manifest: bool,
    /// npm `--omit=dev` / `--production`
    #[serde(skip_serializing_if = "is_false")]
    pub omit_dev: bool,
    /// pip `-r FILE`
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<Arg>,
    /// pip `-c FILE`
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Arg>,
    /// apt `-o NAME=VALUE`, dnf/yum `--setopt NAME=VALUE`
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<String>,
    /// Extra package sources: apk `-X URL`, pip `-i`/`--extra-index-url`/
    /// `--find-links`, dnf `--enablerepo`, npm `--registry`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<String>,
    /// Where the packages go instead of the default: pip `--target`/
    /// `--prefix`/`--root`, npm `--prefix`, gem `--install-dir`, dnf
    /// `--installroot`, apk `--root`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Arg>,
    /// Signature or TLS checks relaxed: apk `--allow-untrusted`, apt
    /// `--allow-unauthenticated`, pip `--trusted-host`, dnf `--nogpgcheck`.
    #[serde(skip_serializing_if = "is_false")]
    pub allow_untrusted: bool,
    /// Documentation not installed: dnf `--nodocs`/`tsflags=nodocs`, gem
    /// `--no-document`.
    #[serde(skip_serializing_if = "is_false")]
    pub no_docs: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AptMarkMode {
    Auto,
    Manual,
    Hold,
    Unhold,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashAlgorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// One line of a checksum list: the expected digest of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChecksumEntry {
    /// Lower-case hex digest.
    pub digest: String,
    pub path: String,
}

/// What a checksum verification checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ChecksumList {
    /// The list is known (from `echo "<sum>  file" | sha256sum -c -` or a
    /// here-document).
    Entries { entries: Vec<ChecksumEntry> },
    /// The list is read from a file (`sha256sum -c SHA256SUMS`).
    File { path: Arg },
    /// The list comes from standard input whose content is not known.
    Unknown,
}

/// Where a download goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DownloadDest {
    /// A file (`-o FILE`, `-O FILE`, `> FILE`, or the URL's last path
    /// segment for `curl -O` / `wget URL`, relative to the working directory).
    File { path: Arg },
    /// Standard output, into a pipe (the next command reads it).
    Pipe,
    /// Standard output, not redirected (printed to the build log).
    Stdout,
}

/// Where an archive being extracted comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ArchiveSource {
    File {
        path: Arg,
    },
    /// Piped straight from a download.
    Download {
        url: Arg,
    },
    /// Standard input whose origin is not known.
    Stdin,
}

/// A typed effect of a command. Every variant carries the span of the
/// command it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "effect")]
pub enum Effect {
    /// `apt-get update`, `apk update`, `dnf makecache`, `nix-channel --update`.
    PackageIndexUpdate {
        manager: Manager,
        span: Span,
    },
    PackageInstall {
        manager: Manager,
        packages: Vec<PackageSpec>,
        options: InstallOptions,
        span: Span,
    },
    /// `apt-get remove/purge`, `apk del`, `pip uninstall`, `dpkg --purge`,
    /// ... With `auto_remove`, packages that were installed only as
    /// dependencies and are no longer needed go too.
    PackageRemove {
        manager: Manager,
        names: Vec<String>,
        purge: bool,
        auto_remove: bool,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        config: Vec<String>,
        /// The names that are virtual groups created earlier in the same
        /// script (`apk add --virtual NAME`); removing one removes the
        /// packages installed under it. Groups created by an earlier RUN
        /// are for the plan to match.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        virtual_groups: Vec<String>,
        span: Span,
    },
    /// `apt-get autoremove`, `dnf autoremove`.
    PackageAutoremove {
        manager: Manager,
        purge: bool,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        config: Vec<String>,
        span: Span,
    },
    /// `apt-get upgrade`/`dist-upgrade`, `apk upgrade`, `dnf upgrade`
    /// (`names` empty: everything installed).
    PackageUpgrade {
        manager: Manager,
        names: Vec<String>,
        dist: bool,
        span: Span,
    },
    /// `apt-mark auto|manual|hold|unhold NAMES` (names may be unknown; see
    /// the module documentation).
    AptMark {
        mode: AptMarkMode,
        names: Vec<Arg>,
        span: Span,
    },
    /// Removal of package-manager caches and lists or temporary files
    /// (`rm -rf /var/lib/apt/lists/*`, `apt-get clean`, `dnf clean all`,
    /// `npm cache clean`, `rm -rf /tmp/*`). `paths` is empty when the
    /// manager's own command did it.
    CacheCleanup {
        #[serde(skip_serializing_if = "Option::is_none")]
        manager: Option<Manager>,
        paths: Vec<Arg>,
        span: Span,
    },
    AddUser {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        uid: Option<u32>,
        /// The primary group, by name or number as written.
        #[serde(skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        /// Supplementary groups.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        groups: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        home: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        shell: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        gecos: Option<String>,
        system: bool,
        /// Whether the home directory is created: `Some` when the command
        /// line or the tool's fixed default decides it, `None` when it
        /// depends on the distribution's configuration (`useradd` without
        /// `-m`/`-M` reads `CREATE_HOME` from /etc/login.defs).
        create_home: Option<bool>,
        /// A group named after the user is created too (`useradd -U`,
        /// Debian `adduser --group`, `useradd` with `USERGROUPS_ENAB` is
        /// `None`).
        #[serde(skip_serializing_if = "Option::is_none")]
        user_group: Option<bool>,
        /// The account has no usable password (`adduser -D`,
        /// `--disabled-password`; `useradd` without `-p`).
        no_password: bool,
        span: Span,
    },
    AddGroup {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        gid: Option<u32>,
        system: bool,
        span: Span,
    },
    /// `adduser USER GROUP`, `addgroup USER GROUP`, `usermod -aG GROUP USER`,
    /// `gpasswd -a USER GROUP`.
    AddUserToGroup {
        user: String,
        group: String,
        span: Span,
    },
    /// `usermod` changing other attributes of an existing account.
    ModifyUser {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        uid: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        /// `-G` without `-a`: the supplementary groups are replaced.
        #[serde(skip_serializing_if = "Option::is_none")]
        groups: Option<Vec<String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        home: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        shell: Option<String>,
        span: Span,
    },
    MakeDir {
        paths: Vec<Arg>,
        parents: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
        span: Span,
    },
    /// `chown`/`chgrp`. `user`/`group` as written (names or numbers).
    Chown {
        paths: Vec<Arg>,
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        recursive: bool,
        span: Span,
    },
    /// `chmod`; `mode` is octal or symbolic as written (validated).
    Chmod {
        paths: Vec<Arg>,
        mode: String,
        recursive: bool,
        span: Span,
    },
    /// `ln -s TARGET LINK`. When LINK names an existing directory, the link
    /// is created inside it (as `ln` does), unless `no_target_directory`.
    Symlink {
        target: Arg,
        link: Arg,
        force: bool,
        #[serde(skip_serializing_if = "is_false")]
        no_target_directory: bool,
        span: Span,
    },
    /// `ln TARGET LINK` without `-s`.
    HardLink {
        target: Arg,
        link: Arg,
        force: bool,
        span: Span,
    },
    Touch {
        paths: Vec<Arg>,
        span: Span,
    },
    /// A file written by a redirection or `tee`; `content` when it is fully
    /// known (`echo`, `printf`, a here-document).
    WriteFile {
        path: Arg,
        content: Option<String>,
        append: bool,
        span: Span,
    },
    RemovePaths {
        paths: Vec<Arg>,
        recursive: bool,
        span: Span,
    },
    /// `cp`. `dest` is a directory when there are several sources.
    CopyPath {
        sources: Vec<Arg>,
        dest: Arg,
        recursive: bool,
        /// `-a`/`-p`: mode, ownership and times kept.
        preserve: bool,
        span: Span,
    },
    MovePath {
        sources: Vec<Arg>,
        dest: Arg,
        span: Span,
    },
    Download {
        url: Arg,
        dest: DownloadDest,
        /// TLS verification disabled (`curl -k`, `wget --no-check-certificate`).
        #[serde(skip_serializing_if = "is_false")]
        insecure: bool,
        span: Span,
    },
    VerifyChecksum {
        algorithm: HashAlgorithm,
        list: ChecksumList,
        span: Span,
    },
    /// `gpg --verify SIGNATURE [FILE]`.
    VerifySignature {
        signature: Arg,
        #[serde(skip_serializing_if = "Option::is_none")]
        file: Option<Arg>,
        span: Span,
    },
    /// `tar -x`, `unzip`. `dest` is `None` for the working directory.
    Extract {
        archive: ArchiveSource,
        #[serde(skip_serializing_if = "Option::is_none")]
        dest: Option<Arg>,
        #[serde(skip_serializing_if = "Option::is_none")]
        strip_components: Option<u32>,
        /// Only these members are extracted (all when empty).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        members: Vec<Arg>,
        /// Members matching these patterns are skipped (`--exclude`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        exclude: Vec<String>,
        span: Span,
    },
    ChangeDir {
        path: Arg,
        span: Span,
    },
    /// A command with no effect on the image's files (`set -eux`, `true`,
    /// `test`, `echo` to the log, read-only queries).
    NoOp {
        reason: String,
        span: Span,
    },
    /// `exit N` (N > 0) or `false`: the script fails here when it gets here
    /// (usually in a branch that reports a failed check).
    Abort {
        status: Option<i32>,
        span: Span,
    },
    /// A command that could not be interpreted, and why.
    Opaque {
        reason: String,
        span: Span,
    },
}

impl Effect {
    /// The span of the command the effect came from.
    pub fn span(&self) -> Span {
        match self {
            Effect::PackageIndexUpdate { span, .. }
            | Effect::PackageInstall { span, .. }
            | Effect::PackageRemove { span, .. }
            | Effect::PackageAutoremove { span, .. }
            | Effect::PackageUpgrade { span, .. }
            | Effect::AptMark { span, .. }
            | Effect::CacheCleanup { span, .. }
            | Effect::AddUser { span, .. }
            | Effect::AddGroup { span, .. }
            | Effect::AddUserToGroup { span, .. }
            | Effect::ModifyUser { span, .. }
            | Effect::MakeDir { span, .. }
            | Effect::Chown { span, .. }
            | Effect::Chmod { span, .. }
            | Effect::Symlink { span, .. }
            | Effect::HardLink { span, .. }
            | Effect::Touch { span, .. }
            | Effect::WriteFile { span, .. }
            | Effect::RemovePaths { span, .. }
            | Effect::CopyPath { span, .. }
            | Effect::MovePath { span, .. }
            | Effect::Download { span, .. }
            | Effect::VerifyChecksum { span, .. }
            | Effect::VerifySignature { span, .. }
            | Effect::Extract { span, .. }
            | Effect::ChangeDir { span, .. }
            | Effect::NoOp { span, .. }
            | Effect::Abort { span, .. }
            | Effect::Opaque { span, .. } => *span,
        }
    }

    pub fn is_opaque(&self) -> bool {
        matches!(self, Effect::Opaque { .. })
    }
}
