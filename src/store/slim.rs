//! Pruning below the package level.
//!
//! A package-level closure keeps whole packages; a minimal image needs less:
//! apt pulls packages that only maintainer scripts or unused programs need,
//! and kept packages carry documentation, translations and converter modules
//! that nothing loads. [`slim`] takes the unpacked packages of a closure
//! (name, dependency names, file tree) and the image's run-time roots, and
//! decides, with a rule id, a reason and a byte count for every drop:
//!
//! 1. **which packages stay** — by reachability from the roots;
//! 2. **which files of a kept package go** — by the file rules of
//!    `grammar/packages/slim.toml` (`slim/doc`, `slim/man`, `slim/locale`,
//!    `slim/gconv`, ...).
//!
//! # Roots
//!
//! The walk starts from ([`Roots`]): each command's `argv[0]` (entrypoint
//! plus cmd, healthcheck), resolved against the image's `PATH` like `execvp`
//! (absolute as is, relative-with-slash against the working directory); each
//! argument of a command that names an existing absolute path (`-c
//! /etc/nginx/nginx.conf`, `/app/main.py`, or the value of `--opt=/path`);
//! explicitly kept paths (config files the user COPYs); and packages by
//! policy: packages the user asked to keep whole, and packages the
//! Dockerfile installed by name ([`RequestedPolicy`]). The image's own files
//! ([`Roots::image_files`], COPY layers) are scanned like the files of a kept
//! package: a COPY'd binary keeps the libraries it needs.
//!
//! # Edges
//!
//! From a reached file the walk follows: every symlink on the way (each
//! stays), hard links to their target, ELF `PT_INTERP`, ELF `DT_NEEDED`
//! resolved the way glibc's loader searches (`DT_RPATH` when there is no
//! `DT_RUNPATH`, `LD_LIBRARY_PATH`, `DT_RUNPATH`, with `$ORIGIN`, `$LIB`
//! and `$PLATFORM` expanded; the directories of `/etc/ld.so.conf` and
//! `/etc/ld.so.conf.d/*.conf` found in the trees; then Debian's defaults
//! `/lib/<triplet>`, `/usr/lib/<triplet>`, `/lib`, `/usr/lib`; skipping
//! files of another ELF class or machine; `/lib` and `/usr/lib` are one
//! directory under merged-usr, whichever half a package used),
//! the interpreter of a `#!` script (`#!/usr/bin/env python3` reaches `env`
//! and `python3` found in `PATH`), the dlopen edges of `slim.toml` (NSS
//! modules, libgcc_s, the Python standard library, nginx modules, ...), and,
//! for a directory, every file below it.
//!
//! # Which packages stay
//!
//! A package stays when
//! - one of its files (other than directories, which packages share) is
//!   reached; or
//! - it was asked for by policy (kept whole, or installed by name under
//!   [`RequestedPolicy::Keep`]); or
//! - it contains no ELF file at all and a kept package depends on it
//!   (`nginx-common` for `/etc/nginx/mime.types`, `media-types`, `tzdata`,
//!   `gcc-12-base` for its copyright). A package with programs or libraries
//!   stays only when one of them is reached: that is what prunes `iproute2`,
//!   `perl-base` and friends that a kept package depends on for scripts it
//!   does not run here.
//!
//! A kept package keeps all its files except what a file rule drops: data
//! files are used by path (nginx reads `/etc/nginx/mime.types`) and the walk
//! cannot see reads. Every ELF file of a kept package is followed too (not
//! only the reached ones), so no kept program or library is left without a
//! library it needs, whatever dlopens it. Scripts of a kept package are
//! followed to their interpreter only when something reaches them (a command,
//! a shebang chain): a script nobody runs does not need `bash` or `perl`;
//! it stays, inert. Symlinks in a kept package that nobody reaches are not
//! followed either: a dangling link costs nothing, a followed one could keep
//! another package whole.
//!
//! # Which files go
//!
//! File rules apply to every kept package except those kept whole. A file
//! that something needs (a root, an interpreter, DT_NEEDED, a shebang, a
//! symlink or hard link on the way, a dlopen edge) stays even when a rule
//! matches it, and the override is reported ([`SlimResult::rule_overrides`]).
//! A directory goes when nothing is left below it and it lost content to a
//! rule or a rule matches it; directories a package ships empty
//! (`/var/log/nginx`) stay.
//!
//! Licences stay: `/usr/share/doc/*/copyright` and the doc-directory
//! symlinks Debian uses for packages built from one source. When such a
//! symlink points into a package that is dropped, the copyright file is
//! copied into the kept package's tree in place of the symlink
//! ([`SlimResult::licence_copies`]).
//!
//! Locales (`/usr/share/locale`) go except those named in
//! [`SlimConfig::keep_locales`] (default none) or reached by a root. glibc
//! gconv modules go except those named in [`SlimConfig::keep_gconv_modules`];
//! their configuration stays (see `slim.toml`).
//!
//! # Bytes
//!
//! Byte counts are regular-file content bytes (`FileTree::file_bytes`);
//! symlinks, hard links and directories count 0. A dropped package counts
//! all its bytes under `slim/unreachable-package` and its files are not
//! listed one by one.
//!
//! # Determinism
//!
//! Inputs are walked in input order with ordered maps; the same inputs give
//! the same result.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::tree::{FileTree, ImagePath};

pub mod elf;
mod finish;
mod rules;
mod view;
mod walk;

pub use rules::{UNREACHABLE_PACKAGE, rule_ids, rule_reason};

/// One package of the closure, unpacked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlimPackage {
    /// The package name; unique in one call.
    pub name: String,
    /// Names of the packages of the same closure it depends on at run time
    /// (names not in the closure are ignored).
    pub depends: Vec<String>,
    pub tree: FileTree,
}

/// What the image needs at run time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roots {
    /// Command lines the image runs: entrypoint + cmd, healthcheck. Shell
    /// forms arrive as `["/bin/sh", "-c", "..."]` and keep the shell.
    pub commands: Vec<Vec<String>>,
    /// The image's `PATH` directories; empty means Docker's default
    /// (`/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`).
    pub path_env: Vec<String>,
    /// The image's `WORKDIR`, for relative command paths (`./app`);
    /// `None` is `/`.
    pub workdir: Option<ImagePath>,
    /// The image's `LD_LIBRARY_PATH` directories.
    pub library_path: Vec<String>,
    /// Paths kept explicitly (config files the user COPYs over package
    /// files, paths named with `--keep-path`); a directory keeps what is below.
    pub paths: Vec<ImagePath>,
    /// Files the image carries outside packages (COPY layers, synthesised
    /// files): never dropped; their ELF files are followed; they lie on top
    /// of package files with the same path.
    pub image_files: FileTree,
    /// Packages the Dockerfile installed by name (`apt-get install nginx`).
    pub requested_packages: BTreeSet<String>,
    /// Packages the user asked to keep whole: every file stays, no file
    /// rule applies, and what their ELF files need stays.
    pub keep_whole_packages: BTreeSet<String>,
}

/// What to do with packages the Dockerfile installed by name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestedPolicy {
    /// They stay (file rules apply): the user asked for them, and a package
    /// without programs (`ca-certificates`, `tzdata`) is reached by no edge.
    #[default]
    Keep,
    /// They stay only when reached, like every other package.
    ReachOnly,
}

/// Knobs of the pruning.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlimConfig {
    pub requested: RequestedPolicy,
    /// Locale directory names under `/usr/share/locale` to keep (`de`,
    /// `pt_BR`). Default: none.
    pub keep_locales: BTreeSet<String>,
    /// gconv module names to keep (`UTF-16` keeps `gconv/UTF-16.so`).
    /// Default: none.
    pub keep_gconv_modules: BTreeSet<String>,
    /// Rule ids turned off ([`rule_ids`]): a file rule keeps its files, a
    /// dlopen edge is not followed, and `slim/unreachable-package` keeps
    /// every package.
    pub disabled_rules: BTreeSet<String>,
}

/// How a file was reached from the one before it in a chain.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Edge {
    /// `argv[0]` of `Roots::commands[index]`.
    Command { index: usize },
    /// An argument of `Roots::commands[index]` that names a path.
    Argument { index: usize },
    /// Named in `Roots::paths`.
    RootPath,
    /// The ELF program interpreter (`PT_INTERP`).
    Interpreter,
    /// An ELF `DT_NEEDED` entry.
    Needed { soname: String },
    /// The target of a symlink.
    Symlink,
    /// The same file under another name: a merged-usr alias (`/lib/x` is
    /// `/usr/lib/x`) or a path through a symlinked directory.
    Alias,
    /// The target of a hard link.
    Hardlink,
    /// The interpreter of a `#!` script.
    Shebang,
    /// A dlopen edge of `slim.toml`.
    Dlopen { rule: String },
    /// A file below a reached directory.
    InDirectory,
    /// A file of a package that stays for another reason (its ELF files are
    /// followed).
    InKeptPackage { package: String },
    /// A file of `Roots::image_files`.
    ImageFile,
}

/// One step of a "why" chain: `path`, reached by `edge` from the previous
/// step (the first step is a root).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub path: ImagePath,
    pub edge: Edge,
}

/// How a path was first reached: by `edge` from `from` (a root when
/// `None`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reach {
    pub edge: Edge,
    pub from: Option<ImagePath>,
}

/// The chain of steps that reached `path` in `reached`, root first (at
/// most 64 steps; empty for a path that was not reached).
pub fn chain(reached: &BTreeMap<ImagePath, Reach>, path: &ImagePath) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut cur = Some(path.clone());
    let mut visited = BTreeSet::new();
    while let Some(p) = cur {
        if steps.len() >= 64 || !visited.insert(p.clone()) {
            break;
        }
        let Some(r) = reached.get(&p) else { break };
        steps.push(Step {
            path: p,
            edge: r.edge.clone(),
        });
        cur = r.from.clone();
    }
    steps.reverse();
    steps
}

/// Why a package stays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum KeepReason {
    /// One of its files is reached; the chain ends at that file.
    Reached { chain: Vec<Step> },
    /// Installed by name under [`RequestedPolicy::Keep`].
    Requested,
    /// Kept whole on request.
    KeepWhole,
    /// Contains no ELF file and the kept package `of` depends on it.
    DataDependency { of: String },
    /// `slim/unreachable-package` is disabled.
    PruningDisabled,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeptPackage {
    pub name: String,
    pub reason: KeepReason,
    /// Bytes left after file rules.
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DroppedPackage {
    pub name: String,
    /// Always [`UNREACHABLE_PACKAGE`].
    pub rule: String,
    pub reason: String,
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DroppedFile {
    pub package: String,
    pub path: ImagePath,
    pub rule: String,
    pub reason: String,
    pub bytes: u64,
}

/// A file a rule matched but something needs, so it stays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleOverride {
    pub package: String,
    pub path: ImagePath,
    pub rule: String,
    pub chain: Vec<Step>,
}

/// A copyright file copied into a kept package because its doc-directory
/// symlink points into a dropped package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LicenceCopy {
    pub package: String,
    /// Where it now is, in the kept package's tree.
    pub path: ImagePath,
    pub from_package: String,
    pub from_path: ImagePath,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuleTotal {
    /// Files (packages, for `slim/unreachable-package`).
    pub items: u64,
    pub bytes: u64,
}

/// Something the walk could not settle; the image may miss what it names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SlimWarning {
    /// A command, interpreter, shebang, kept path or link target that is in
    /// no tree.
    Unresolved {
        what: String,
        edge: Edge,
        from: Option<ImagePath>,
    },
    /// A DT_NEEDED library found on no search path.
    LibraryNotFound {
        soname: String,
        needed_by: ImagePath,
    },
    /// A library found only through /etc/ld.so.conf(.d): the loader reads
    /// those directories from /etc/ld.so.cache, which the image must carry.
    LibraryViaLdSoConf {
        library: ImagePath,
        dir: String,
        needed_by: ImagePath,
    },
    /// A file with ELF magic whose structures are inconsistent: what it
    /// needs is unknown.
    MalformedElf { path: ImagePath, detail: String },
    /// An ELF file over the 1 GiB inspection limit: what it needs is unknown.
    TooLarge { path: ImagePath, bytes: u64 },
    /// A package named by the roots that is not in the closure.
    UnknownPackage { name: String, role: String },
}

/// What to drop, what stays, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlimResult {
    /// In input order.
    pub kept_packages: Vec<KeptPackage>,
    /// In input order.
    pub dropped_packages: Vec<DroppedPackage>,
    /// Files dropped from kept packages, by package (input order), then path.
    pub dropped_files: Vec<DroppedFile>,
    /// The trees of kept packages after file rules.
    pub kept_trees: BTreeMap<String, FileTree>,
    /// Per rule id.
    pub totals: BTreeMap<String, RuleTotal>,
    pub rule_overrides: Vec<RuleOverride>,
    pub licence_copies: Vec<LicenceCopy>,
    pub warnings: Vec<SlimWarning>,
    /// How every reached path, and every file of a kept package, was first
    /// reached: the provenance `explain` renders ([`SlimResult::why`]).
    pub reached: BTreeMap<ImagePath, Reach>,
}

impl SlimResult {
    pub fn dropped_bytes(&self) -> u64 {
        self.totals.values().map(|t| t.bytes).sum()
    }

    pub fn kept_bytes(&self) -> u64 {
        self.kept_trees.values().map(FileTree::file_bytes).sum()
    }

    pub fn is_kept(&self, package: &str) -> bool {
        self.kept_trees.contains_key(package)
    }

    /// Why `path` is in the image, root first.
    pub fn why(&self, path: &ImagePath) -> Vec<Step> {
        chain(&self.reached, path)
    }
}

/// One library `ldd` would list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LddEntry {
    pub soname: String,
    /// The path the loader opens (search directory + soname), if found.
    pub path: Option<ImagePath>,
    /// That path with symlinks resolved.
    pub resolved: Option<ImagePath>,
    /// The object whose DT_NEEDED named it first.
    pub needed_by: ImagePath,
}

/// What a program loads, as `ldd` shows it, resolved in the merged trees.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ldd {
    /// The resolved `PT_INTERP`.
    pub interpreter: Option<ImagePath>,
    /// Breadth first, each soname once.
    pub libraries: Vec<LddEntry>,
    /// Why nothing could be listed (not found, not ELF).
    pub problem: Option<String>,
}

/// `ldd` for a program of the merged trees: the resolution the walk uses,
/// exposed for `explain` and for checking against the real `ldd`.
pub fn ldd(packages: &[SlimPackage], roots: &Roots, program: &ImagePath) -> Result<Ldd, SlimError> {
    let config = SlimConfig::default();
    let mut walk = walk::Walk::new(packages, roots, &config, Vec::new());
    walk.ldd(program)
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SlimError {
    #[error("reading {}: {source}", path.display())]
    #[diagnostic(
        code(slim::io),
        help("the unpacked package cache may be damaged; unpack the package again")
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("package {name:?} appears twice in the closure")]
    #[diagnostic(code(slim::duplicate_package))]
    DuplicatePackage { name: String },
    #[error("unknown slim rule {id:?}")]
    #[diagnostic(code(slim::unknown_rule), help("known rules: {}", rule_ids().join(", ")))]
    UnknownRule { id: String },
    #[error("invalid {what} {value:?}")]
    #[diagnostic(
        code(slim::bad_config),
        help("give a plain name without `/` or glob characters")
    )]
    BadConfig { what: &'static str, value: String },
}

/// Decide what of `packages` the image needs from `roots`.
pub fn slim(
    packages: &[SlimPackage],
    roots: &Roots,
    config: &SlimConfig,
) -> Result<SlimResult, SlimError> {
    let mut names = BTreeSet::new();
    for p in packages {
        if !names.insert(p.name.as_str()) {
            return Err(SlimError::DuplicatePackage {
                name: p.name.clone(),
            });
        }
    }
    let file_rules = rules::file_rules(
        &config.disabled_rules,
        &config.keep_locales,
        &config.keep_gconv_modules,
    )?;
    let mut walk = walk::Walk::new(packages, roots, config, file_rules);
    walk.run()?;
    finish::finish(walk)
}
