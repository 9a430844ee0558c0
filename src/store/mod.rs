//! Package universes behind one trait: resolution, verification, download
//! and unpacking of store paths.
//!
//! A *store path* is the unit of content (a Debian package version): name,
//! version, architecture, the sha256 of its artifact, its sizes and its
//! edges to the store paths it needs at run time. [`Store::resolve`] turns
//! package requests into a [`Closure`] with a "why" edge for every member;
//! [`Store::fetch`] downloads and verifies the artifacts into the
//! content-addressed [`cache`]; [`Store::unpack`] turns one into a
//! [`FileTree`] for the image.
//!
//! Data flows one way: the store knows nothing of Dockerfiles, plans or
//! images. Callers describe what they want with [`PackageRequest`] and give
//! each request an `origin` label (a Dockerfile line, "command line") that
//! closes every why-chain.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::tree::FileTree;

pub mod cache;
pub mod debian;
pub mod fetch;
pub mod slim;

pub use cache::Cache;
pub use debian::{DebianConfig, DebianStore};

/// The package universes scratchify knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// Debian and Ubuntu repositories (apt).
    Debian,
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKind::Debian => "debian",
        })
    }
}

/// A version constraint on a request: `=1.2`, `>= 1.0`, `<< 2`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionConstraint {
    /// One of `<<`, `<=`, `=`, `>=`, `>>`.
    pub op: String,
    pub version: String,
}

impl VersionConstraint {
    /// Parse `=1.2`, `>= 1.0`, `(>= 1.0)` or a bare version (meaning `=`).
    pub fn parse(text: &str) -> Result<VersionConstraint, StoreError> {
        let bad = |reason: &str| StoreError::Request {
            request: text.to_string(),
            reason: reason.to_string(),
        };
        let t = text.trim();
        let t = t
            .strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
            .unwrap_or(t)
            .trim();
        let op_len = t.find(|c: char| !"<>=".contains(c)).unwrap_or(t.len());
        let op = if op_len == 0 { "=" } else { &t[..op_len] };
        let relation = debian::version::Relation::parse(op)
            .ok_or_else(|| bad("unknown relation (use <<, <=, =, >= or >>)"))?;
        let version = t[op_len..].trim();
        debian::version::Version::parse(version).map_err(|e| bad(&e.to_string()))?;
        Ok(VersionConstraint {
            op: relation.as_str().to_string(),
            version: version.to_string(),
        })
    }
}

impl fmt::Display for VersionConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op, self.version)
    }
}

/// A package asked for by the caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRequest {
    pub name: String,
    pub version: Option<VersionConstraint>,
    /// Architecture qualifier (`pkg:amd64`); `None` means the store's.
    pub arch: Option<String>,
    /// Follow Recommends for this request and what it pulls in (apt's
    /// default; a Dockerfile's `--no-install-recommends` turns it off).
    pub install_recommends: bool,
    /// Caller's label for where the request came from ("Dockerfile:7",
    /// "command line"); it ends every why-chain.
    pub origin: String,
}

impl PackageRequest {
    /// A request for `name` with no constraint, without Recommends.
    pub fn new(name: impl Into<String>, origin: impl Into<String>) -> Self {
        PackageRequest {
            name: name.into(),
            version: None,
            arch: None,
            install_recommends: false,
            origin: origin.into(),
        }
    }

    /// Parse an apt-get argument: `name[:arch][=version]`.
    pub fn from_apt_argument(arg: &str, origin: impl Into<String>) -> Result<Self, StoreError> {
        let bad = |reason: &str| StoreError::Request {
            request: arg.to_string(),
            reason: reason.to_string(),
        };
        let (spec, version) = match arg.split_once('=') {
            Some((s, v)) => (s, Some(VersionConstraint::parse(&format!("= {v}"))?)),
            None => (arg, None),
        };
        if spec.contains('/') {
            return Err(bad(
                "selecting a release with `pkg/release` is not supported; pass --release",
            ));
        }
        let (name, arch) = match spec.split_once(':') {
            Some((n, a)) if !a.is_empty() => (n, Some(a.to_string())),
            Some(_) => return Err(bad("empty architecture qualifier")),
            None => (spec, None),
        };
        if !debian::relation::valid_package_name(name) {
            return Err(bad("not a package name"));
        }
        Ok(PackageRequest {
            name: name.to_string(),
            version,
            arch,
            install_recommends: false,
            origin: origin.into(),
        })
    }

    /// The request as apt would write it.
    pub fn display(&self) -> String {
        let mut s = self.name.clone();
        if let Some(a) = &self.arch {
            s.push(':');
            s.push_str(a);
        }
        if let Some(v) = &self.version {
            s.push_str(&format!(" ({v})"));
        }
        s
    }
}

/// Options for [`Store::resolve`].
#[derive(Clone, Debug)]
pub struct ResolveOptions {
    /// Drop packages that only serve maintainer scripts (see
    /// `grammar/packages/debian.toml`).
    pub prune: bool,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions { prune: true }
    }
}

/// The kind of a dependency edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DepKind {
    PreDepends,
    Depends,
    Recommends,
}

impl fmt::Display for DepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DepKind::PreDepends => "Pre-Depends",
            DepKind::Depends => "Depends",
            DepKind::Recommends => "Recommends",
        })
    }
}

/// An edge from one store path to another member of the closure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    /// The member it leads to.
    pub to: String,
    /// The dependency group as the package wrote it (`debconf (>= 0.5) | debconf-2.0`).
    pub relation: String,
    pub kind: DepKind,
}

/// Why a member is in the closure: the first thing that pulled it in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Why {
    /// Asked for by a request.
    Requested { origin: String, request: String },
    /// Needed by another member through `relation`.
    Needed {
        by: String,
        relation: String,
        kind: DepKind,
    },
}

impl Why {
    /// The short form printed by `scratchify resolve`: the member that
    /// pulled it in, or the request's origin.
    pub fn label(&self) -> &str {
        match self {
            Why::Requested { origin, .. } => origin,
            Why::Needed { by, .. } => by,
        }
    }
}

/// One member of a closure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorePath {
    pub store: StoreKind,
    pub name: String,
    pub version: String,
    pub arch: String,
    /// sha256 of the artifact (the .deb), lower-case hex.
    pub sha256: String,
    /// Bytes to download.
    pub download_size: u64,
    /// Bytes once installed (Debian: `Installed-Size` × 1024).
    pub installed_size: u64,
    /// Edges to the members it needs (after pruning), in the package's
    /// field order.
    pub depends: Vec<Edge>,
    pub why: Why,
    /// `Essential: yes` (kept only because something needs it).
    pub essential: bool,
    /// Where the artifact is: repository base URI and path below it.
    pub repository: String,
    pub filename: String,
    /// The suite it was taken from (`bookworm-security`).
    pub suite: String,
}

impl StorePath {
    /// `name=version:arch`, unique in a store.
    pub fn id(&self) -> String {
        format!("{}={}:{}", self.name, self.version, self.arch)
    }

    /// The artifact's URL.
    pub fn url(&self) -> String {
        fetch::join_url(&self.repository, &self.filename)
    }
}

/// Why a package was dropped from the closure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PruneRule {
    /// It only serves maintainer scripts, which are not run.
    ScriptOnly { reason: String },
    /// The dependency group exists for maintainer scripts (e.g. a
    /// `debconf | debconf-2.0` or `usrmerge | usr-is-merged` group).
    ScriptGroup { marker: String, reason: String },
    /// Only pruned packages wanted it.
    OnlyWantedByPruned,
    /// Dropped by a caller's rule (file-level analysis).
    Caller { rule: String },
}

impl fmt::Display for PruneRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PruneRule::ScriptOnly { reason } => write!(f, "script-only: {reason}"),
            PruneRule::ScriptGroup { marker, reason } => {
                write!(f, "script-only dependency ({marker}): {reason}")
            }
            PruneRule::OnlyWantedByPruned => f.write_str("only wanted by pruned packages"),
            PruneRule::Caller { rule } => f.write_str(rule),
        }
    }
}

/// A package of the full closure that is not in the pruned one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pruned {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub installed_size: u64,
    pub download_size: u64,
    /// The member (or request origin) whose edge first wanted it.
    pub wanted_by: String,
    /// That edge's dependency group.
    pub relation: String,
    pub rule: PruneRule,
}

/// A Recommends group of a member, followed or not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    pub by: String,
    pub relation: String,
    /// The member that satisfies it, when followed (or already present).
    pub satisfied_by: Option<String>,
    /// Why it was not followed (`--no-install-recommends`, unsatisfiable).
    pub skipped: Option<String>,
}

/// The index a closure was resolved against (provenance for reports).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexInfo {
    pub repository: String,
    pub suite: String,
    pub component: String,
    /// `Date:` of the signed Release.
    pub date: String,
    /// sha256 of the Packages file as listed in the signed Release.
    pub packages_sha256: String,
    /// Its size as downloaded (compressed).
    pub packages_size: u64,
    /// Its uncompressed size, when the Release lists it.
    pub packages_uncompressed_size: Option<u64>,
}

/// A request and the member that satisfies it (the package itself, or the
/// single provider of a virtual name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedRequest {
    pub request: PackageRequest,
    pub member: String,
}

/// The result of [`Store::resolve`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub store: StoreKind,
    pub release: String,
    pub arch: String,
    /// The requests, in order, with the member each one chose.
    pub requests: Vec<ResolvedRequest>,
    /// Members, sorted by name.
    pub paths: Vec<StorePath>,
    /// Packages dropped by pruning, sorted by name.
    pub pruned: Vec<Pruned>,
    pub recommendations: Vec<Recommendation>,
    pub indices: Vec<IndexInfo>,
    /// Things worth telling the user (a suite that does not exist, ...).
    pub notes: Vec<String>,
}

impl Closure {
    pub fn get(&self, name: &str) -> Option<&StorePath> {
        self.paths
            .binary_search_by(|p| p.name.as_str().cmp(name))
            .ok()
            .and_then(|i| self.paths.get(i))
    }

    /// The chain of members from `name` back to its request: `name`, the
    /// member that pulled it in, ..., the requested member. Empty if
    /// `name` is not a member.
    pub fn why_chain(&self, name: &str) -> Vec<&StorePath> {
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut current = self.get(name);
        while let Some(p) = current {
            if !seen.insert(p.name.as_str()) {
                break; // cannot happen for closures built here; never loop
            }
            chain.push(p);
            current = match &p.why {
                Why::Needed { by, .. } => self.get(by),
                Why::Requested { .. } => None,
            };
        }
        chain
    }

    /// The requested members with their why, in request order (the first
    /// request of a member wins).
    pub(crate) fn roots(&self) -> Vec<(String, Why)> {
        let mut roots: Vec<(String, Why)> = Vec::new();
        for r in &self.requests {
            if roots.iter().any(|(m, _)| *m == r.member) {
                continue;
            }
            roots.push((
                r.member.clone(),
                Why::Requested {
                    origin: r.request.origin.clone(),
                    request: r.request.display(),
                },
            ));
        }
        roots
    }

    /// Total installed bytes of the members.
    pub fn installed_size(&self) -> u64 {
        self.paths.iter().map(|p| p.installed_size).sum()
    }

    /// Drop members for which `rule` returns a reason (never requested
    /// ones), then everything only they kept in. Why-chains of the rest are
    /// recomputed; each dropped member becomes a [`Pruned`] entry naming
    /// the edge that wanted it. For pruning below the package level: a
    /// later pass that finds no kept file reaching a package drops it here.
    pub fn prune_with(&mut self, mut rule: impl FnMut(&StorePath) -> Option<PruneRule>) {
        let mut verdicts: HashMap<String, Option<PruneRule>> = HashMap::new();
        let targets: HashMap<String, StorePath> = self
            .paths
            .iter()
            .map(|p| (p.name.clone(), p.clone()))
            .collect();
        self.prune_edges(|_, edge| {
            verdicts
                .entry(edge.to.clone())
                .or_insert_with(|| targets.get(&edge.to).and_then(&mut rule))
                .clone()
        });
    }

    /// Cut the edges for which `cut` returns a rule, then drop every
    /// member no longer reachable from a request. Requested members are
    /// always kept. A dropped member's rule is that of the first cut edge
    /// into it, else [`PruneRule::OnlyWantedByPruned`]; its `wanted_by` is
    /// the member whose edge first pulled it in before pruning.
    pub fn prune_edges(&mut self, mut cut: impl FnMut(&StorePath, &Edge) -> Option<PruneRule>) {
        let mut rules: HashMap<String, PruneRule> = HashMap::new();
        let mut edges: BTreeMap<String, Vec<Edge>> = BTreeMap::new();
        for p in &self.paths {
            let mut kept = Vec::new();
            for e in &p.depends {
                match cut(p, e) {
                    Some(rule) => {
                        rules.entry(e.to.clone()).or_insert(rule);
                    }
                    None => kept.push(e.clone()),
                }
            }
            edges.insert(p.name.clone(), kept);
        }
        if rules.is_empty() {
            return;
        }
        let whys = first_pullers(&self.roots(), &edges);
        let old: Vec<StorePath> = std::mem::take(&mut self.paths);
        for mut p in old {
            match whys.get(&p.name) {
                Some(why) => {
                    p.why = why.clone();
                    let kept_edges = edges.remove(&p.name).unwrap_or_default();
                    p.depends = kept_edges
                        .into_iter()
                        .filter(|e| whys.contains_key(&e.to))
                        .collect();
                    self.paths.push(p);
                }
                None => {
                    let (wanted_by, relation) = match &p.why {
                        Why::Needed { by, relation, .. } => (by.clone(), relation.clone()),
                        Why::Requested { origin, request } => (origin.clone(), request.clone()),
                    };
                    self.pruned.push(Pruned {
                        rule: rules
                            .remove(&p.name)
                            .unwrap_or(PruneRule::OnlyWantedByPruned),
                        name: p.name,
                        version: p.version,
                        arch: p.arch,
                        installed_size: p.installed_size,
                        download_size: p.download_size,
                        wanted_by,
                        relation,
                    });
                }
            }
        }
        self.pruned.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

/// Depth-first from the roots in order, edges in order: the first edge to
/// reach a member is its why (the order apt marks packages in).
pub(crate) fn first_pullers(
    roots: &[(String, Why)],
    edges: &BTreeMap<String, Vec<Edge>>,
) -> HashMap<String, Why> {
    let mut whys: HashMap<String, Why> = HashMap::new();
    for (root, why) in roots {
        if whys.contains_key(root) {
            continue;
        }
        whys.insert(root.clone(), why.clone());
    }
    let mut expanded: HashSet<&str> = HashSet::new();
    for (root, _) in roots {
        if !expanded.insert(root.as_str()) {
            continue;
        }
        // Explicit stack of (member, next edge index): no recursion depth
        // limit on adversarial indices.
        let mut stack: Vec<(&str, usize)> = vec![(root.as_str(), 0)];
        while let Some((node, i)) = stack.pop() {
            let Some(out) = edges.get(node) else { continue };
            let Some(edge) = out.get(i) else { continue };
            stack.push((node, i + 1));
            if !whys.contains_key(&edge.to) {
                whys.insert(
                    edge.to.clone(),
                    Why::Needed {
                        by: node.to_string(),
                        relation: edge.relation.clone(),
                        kind: edge.kind,
                    },
                );
            }
            if !roots.iter().any(|(r, _)| *r == edge.to) && expanded.insert(edge.to.as_str()) {
                stack.push((edge.to.as_str(), 0));
            }
        }
    }
    whys
}

/// A maintainer script or control member of a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlMember {
    /// `postinst`, `preinst`, `prerm`, `postrm`, `config`, `triggers`, ...
    pub name: String,
    /// The bytes, in the unpacked cache.
    pub path: PathBuf,
}

/// The control data of an unpacked package, for synthesising the effects
/// of maintainer scripts later and for package databases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageControl {
    /// The `control` file (one deb822 paragraph).
    pub control: String,
    /// Files dpkg treats as configuration (`conffiles`), as image paths.
    pub conffiles: Vec<crate::tree::ImagePath>,
    /// The `md5sums` file, if the package has one.
    pub md5sums: Option<String>,
    /// Every other control member (maintainer scripts, triggers, shlibs...).
    pub members: Vec<ControlMember>,
}

impl PackageControl {
    pub fn member(&self, name: &str) -> Option<&ControlMember> {
        self.members.iter().find(|m| m.name == name)
    }

    /// Whether the package has a `postinst` script.
    pub fn has_postinst(&self) -> bool {
        self.member("postinst").is_some()
    }
}

/// A store path, unpacked.
#[derive(Clone, Debug)]
pub struct UnpackedPackage {
    pub name: String,
    pub version: String,
    /// Files as the image should hold them (release layout applied), plus
    /// the package database entries (`/var/lib/dpkg/status.d/<name>` and
    /// `<name>.md5sums`) that let scanners see the package.
    pub files: FileTree,
    pub control: PackageControl,
    /// Things changed while placing files (merged-/usr collisions, device
    /// nodes skipped).
    pub notes: Vec<String>,
}

/// A package universe.
pub trait Store: Send + Sync {
    fn kind(&self) -> StoreKind;

    /// Resolve requests to their runtime closure.
    fn resolve(
        &self,
        requests: &[PackageRequest],
        options: &ResolveOptions,
    ) -> Result<Closure, StoreError>;

    /// Download and verify the artifacts of `paths` into the cache, in
    /// parallel. Already-cached ones are not fetched again.
    fn fetch(&self, paths: &[StorePath]) -> Result<(), StoreError>;

    /// Unpack one store path (fetching it first if needed).
    fn unpack(&self, path: &StorePath) -> Result<UnpackedPackage, StoreError>;

    /// Entries the release's filesystem layout needs whatever is installed
    /// (the merged-/usr symlinks `/bin -> usr/bin`, ...).
    fn layout(&self) -> FileTree;
}

/// Everything that can go wrong in a store.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("fetching {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("{url}: not found")]
    NotFound { url: String },
    #[error("{file}: signature verification failed: {reason}")]
    #[diagnostic(help(
        "the repository's Release must be signed by a key in the keyring (Signed-By in the apt sources, or --keyring)"
    ))]
    Signature { file: String, reason: String },
    #[error("{file}: checksum mismatch: expected sha256 {expected}, got {actual}")]
    #[diagnostic(help(
        "the file does not match the signed index; the mirror may be mid-update or tampered with"
    ))]
    Checksum {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("{file}: size mismatch: expected {expected} bytes, got {actual}")]
    Size {
        file: String,
        expected: u64,
        actual: u64,
    },
    #[error("{file}: {reason}")]
    BadIndex { file: String, reason: String },
    #[error("{file}: {reason}")]
    BadArchive { file: String, reason: String },
    #[error("request {request:?}: {reason}")]
    Request { request: String, reason: String },
    #[error("package {name} not found in {suites} (wanted by {wanted_by})")]
    NoSuchPackage {
        name: String,
        wanted_by: String,
        suites: String,
    },
    #[error(
        "{name} is a virtual package provided by {}; {wanted_by} needs one of them",
        providers.join(", ")
    )]
    #[diagnostic(help("choose one by requesting it explicitly"))]
    Ambiguous {
        name: String,
        providers: Vec<String>,
        wanted_by: String,
    },
    #[error("{relation} (wanted by {wanted_by}) cannot be satisfied: {reason}")]
    Unsatisfiable {
        relation: String,
        wanted_by: String,
        reason: String,
    },
    #[error("configuration: {0}")]
    Config(String),
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}
