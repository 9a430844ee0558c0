//! Filling a [`Report`] from what the earlier stages recorded: the plan, the
//! package closures, and (for `build`) the pruning result and the image.
//!
//! ```text
//! plan + closures ──► from_plan ──► Report            (scratchify audit)
//!                         └─► with_slim, with_synthesized, with_image
//!                                                      (scratchify build)
//! ```
//!
//! Nothing is re-derived: every size is an index's `Installed-Size` (or a
//! file length), every chain is the closure's why-edge, every rule and
//! location is the plan's. This module only joins the records and sums
//! them.
//!
//! # The two closures
//!
//! A report compares two images:
//!
//! - **minimal**: the run-time closure of the packages the plan keeps, with
//!   script-only dependencies pruned (`Store::resolve` with
//!   `prune: true` on [`debian_requests`]). Its members are the kept
//!   packages; its `pruned` list becomes `script-only` drops, each with the
//!   edge that wanted it (`wanted_by`).
//! - **docker build**: what `docker build` leaves in the image
//!   ([`docker_build_requests`], resolved *without* pruning by
//!   [`resolve_docker_build`]): the base image's content, every package the
//!   Dockerfile installs and does not remove, and everything apt pulls in for
//!   them (maintainer-script dependencies, and Recommends where the request
//!   did not turn them off).
//!
//! # For `scratchify build`
//!
//! ```text
//! let (docker, mut findings) = report::resolve_docker_build(&store, &plan)?;
//! // COPY'd files, keyed by the span of the plan file operation they came from:
//! copied.entry(plan.files[op].provenance.span).or_default()
//!       .push(CopiedFile { path, size, files: 1, sha256, sha1 });
//! let mut r = report::from_plan(&plan, &source, closure.as_ref(), &ReportInputs {
//!     docker_closure: Some(&docker), copied, findings,
//!     plan_warnings: warnings, source_date_epoch });
//! report::with_slim(&mut r, &slim);
//! report::with_synthesized(&mut r, items);   // synthesized_items(&rootfs, ..) builds them
//! report::with_image(&mut r, &image);
//! // atomically: report::to_json(&r) -> report::report_path_for(&out)
//! ```
//!
//! `closure` is the minimal closure the image was built from (pruned; if it
//! was resolved with [`resolve_minimal`] virtual packages get the same
//! choice as here). `scratchify explain OUT PATH` reads the JSON from
//! [`report_path_for`]`(OUT)` and finds a package's files through the
//! layer whose `created_by`/comment names the package.
//!
//! # Choices the issue left open
//!
//! - **The base image's size** is estimated from the package index, never by
//!   pulling the image: the closure of the family's `base_content` packages
//!   (`grammar/bases.toml`: the shell, coreutils, apt, dpkg, ...; what a
//!   `-slim` image carries) as members of the docker-build closure, summed
//!   by `Installed-Size`. `BaseImage::size_bytes` and `packages` are that
//!   closure. Base content names the index does not have are left out with a
//!   note (the estimate stays a lower bound).
//! - **Bytes of a dropped package** are its own `Installed-Size` (index
//!   value × 1024). Its dependencies that the minimal image does not carry
//!   are separate dropped items (same rule as the nearest dropped package
//!   that pulled them in, `wanted_by` naming the puller), so summing
//!   `bytes_saved` never counts a package twice: the dropped packages add up
//!   to the docker-build closure minus the minimal one. A dropped package
//!   that is not in the docker-build image either (removed later in the
//!   Dockerfile, installed in a build stage) saves 0 bytes.
//! - **What `docker build` leaves**: packages removed later
//!   (`removed-later`, `auto-removed`) are not counted at all. Docker keeps
//!   the bytes of a package removed in a *later* `RUN` in the earlier layer,
//!   and `apt-get remove` without autoremove leaves the package's
//!   dependencies; neither is counted, so the estimate (and the waste) is a
//!   lower bound. Dropped build-only packages are resolved without
//!   Recommends (the plan does not record the flag for them), which also
//!   errs low.
//! - **One dropped item per package**: when several records apply, the
//!   first wins in this order: the plan's drop of a package the Dockerfile
//!   names (`build-only/...`, `user/--drop`), the base image's content
//!   (`base/...`; a script-only edge that also wanted it is named in the
//!   reason), a script-only prune of the minimal closure (`script-only`),
//!   then dependencies. A package the plan drops but the minimal closure
//!   needs anyway stays kept, with a note saying which package needs it.
//! - **Rule ids** follow the report's catalogue (`SCHEMA.md`); the plan's
//!   ids are translated where the catalogue names the same thing
//!   differently ([`report_rule`]).
//! - **Ecosystems without a store** (Alpine, PyPI, npm, ... for now): their
//!   packages are reported kept or dropped as the plan says, with size 0,
//!   and a warning (`audit::sizes-unknown`) says their sizes are left out of
//!   the totals.
//! - **Files**: COPY'd files are kept items with the sizes the caller
//!   measured ([`ReportInputs::copied`]); files a build step consumes count
//!   in the docker-build estimate and as dropped bytes. Without package
//!   bodies (an audit) package file counts are unknown, so `files_before`
//!   and `files_after` count COPY'd files only; [`with_slim`] adds the files
//!   of the kept packages.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::model::{
    BaseImage, DockerfileSource, DroppedItem, DroppedKind, Finding, ImageSummary, KeptItem,
    KeptKind, LayerSummary, Location, Report, Request, Severity, SynthesizedItem, Tool, Totals,
};
use super::purl::Purl;
use crate::plan::classify::build_only_rule;
use crate::plan::{self, Ecosystem, Family, FileOpKind, Plan, RequestOrigin};
use crate::source::{SourceDiagnostic, SourceFile, Span};
use crate::store::{self, Closure, PruneRule, Store, StoreError, StorePath, Why};

/// A file a COPY/ADD (or a file-writing RUN step) puts in the image, as the
/// caller measured it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopiedFile {
    /// Absolute path in the image.
    pub path: String,
    /// Content length (0 for symlinks and directories).
    pub size: u64,
    /// Number of files the entry stands for: 1, or more for an entry that
    /// summarises a large directory.
    pub files: u64,
    pub sha256: Option<String>,
    pub sha1: Option<String>,
}

/// What the caller knows beyond the plan and the minimal closure.
#[derive(Clone, Debug, Default)]
pub struct ReportInputs<'a> {
    /// The closure `docker build` would leave ([`resolve_docker_build`]).
    pub docker_closure: Option<&'a Closure>,
    /// The files each COPY/ADD instruction puts in the image, keyed by the
    /// instruction's span (the `provenance.span` of its file operation, or of
    /// the `build-input/consumed` drop for consumed inputs). Instructions
    /// not listed have unknown sizes.
    pub copied: BTreeMap<Span, Vec<CopiedFile>>,
    /// Findings the caller adds (plan warnings are added by [`from_plan`]
    /// from `plan_warnings`).
    pub findings: Vec<Finding>,
    /// Diagnostics the plan reported without failing.
    pub plan_warnings: Vec<SourceDiagnostic>,
    /// `SOURCE_DATE_EPOCH` (default 0).
    pub source_date_epoch: u64,
}

/// The Debian packages the plan keeps, as store requests, in plan order.
/// Each request's `origin` is its Dockerfile place (`Dockerfile:5`), which
/// is how [`from_plan`] finds the plan request at the end of a why-chain.
pub fn debian_requests(plan: &Plan) -> Result<Vec<store::PackageRequest>, StoreError> {
    plan.packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Debian)
        .map(|p| {
            store_request(
                &p.name,
                p.version.as_deref(),
                p.arch.as_deref(),
                p.install_recommends,
                p.provenance.location(),
            )
        })
        .collect()
}

/// What `docker build` would ask apt for: the kept requests (as
/// [`debian_requests`]), then the Debian packages the plan drops that are
/// still in the image at the end of the build (build-only tools it never
/// removes, `--drop`ped packages), then the base image's content
/// (`grammar/bases.toml`) minus `skip` (names the index lacks). Empty for
/// non-Debian bases.
pub fn docker_build_requests(
    plan: &Plan,
    skip: &BTreeSet<String>,
) -> Result<Vec<store::PackageRequest>, StoreError> {
    let mut out = debian_requests(plan)?;
    let mut named: HashSet<String> = out.iter().map(|r| r.name.clone()).collect();
    for d in &plan.dropped {
        if let plan::DroppedKind::Package {
            ecosystem: Ecosystem::Debian,
            name,
            ..
        } = &d.what
            && in_docker_build_image(&d.rule)
            && !skip.contains(name)
            && named.insert(name.clone())
        {
            out.push(store_request(
                name,
                None,
                None,
                false,
                d.provenance.location(),
            )?);
        }
    }
    if let Some(base) = &plan.base
        && base.family.ecosystem() == Some(Ecosystem::Debian)
    {
        for name in base_content(plan) {
            if !skip.contains(&name) && named.insert(name.clone()) {
                out.push(store_request(
                    &name,
                    None,
                    None,
                    false,
                    format!("FROM {} ({})", base.reference, base.provenance.location()),
                )?);
            }
        }
    }
    Ok(out)
}

/// What the final stage's base image carries (`base_content` of its family
/// in `grammar/bases.toml`), whether or not the plan keeps some of it.
pub fn base_content(plan: &Plan) -> Vec<String> {
    plan.base
        .as_ref()
        .and_then(|b| plan::bases::map_base(&b.reference))
        .map(|m| m.base_content)
        .unwrap_or_default()
}

/// Resolve [`docker_build_requests`] without pruning. A base-content or
/// dropped package the index does not have is left out (with a note in the
/// returned findings) rather than failing the report; anything else the
/// store reports is an error.
pub fn resolve_docker_build(
    store: &dyn Store,
    plan: &Plan,
) -> Result<(Closure, Vec<Finding>), StoreError> {
    let mut optional: BTreeSet<String> = base_content(plan).into_iter().collect();
    optional.extend(plan.dropped.iter().filter_map(|d| match &d.what {
        plan::DroppedKind::Package {
            ecosystem: Ecosystem::Debian,
            name,
            ..
        } if in_docker_build_image(&d.rule) => Some(name.clone()),
        _ => None,
    }));
    let kept: BTreeSet<&str> = plan
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Debian)
        .map(|p| p.name.as_str())
        .collect();
    let mut skip = BTreeSet::new();
    let mut findings = Vec::new();
    // Each retry removes one requested name, so this ends.
    loop {
        let requests = docker_build_requests(plan, &skip)?;
        match store.resolve(&requests, &store::ResolveOptions { prune: false }) {
            Ok(closure) => return Ok((closure, findings)),
            Err(StoreError::NoSuchPackage { name, .. })
                if optional.contains(&name)
                    && !kept.contains(name.as_str())
                    && !skip.contains(&name) =>
            {
                findings.push(Finding {
                    severity: Severity::Note,
                    code: "audit::not-in-index".into(),
                    message: format!(
                        "{name} is not in the package index; the docker build estimate leaves it out"
                    ),
                    label: None,
                    help: None,
                    location: None,
                });
                skip.insert(name);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Resolve the minimal closure ([`debian_requests`], pruned). A virtual
/// name with several providers and no request for one of them (bash needs
/// base-files, which needs `awk`) is an error in the store; here, when
/// exactly one provider is in the docker-build closure (the base image's
/// choice, mawk), it is requested too, and a note says so. Other errors are
/// returned as they are.
pub fn resolve_minimal(
    store: &dyn Store,
    plan: &Plan,
    docker_build: &Closure,
) -> Result<(Closure, Vec<Finding>), StoreError> {
    let mut requests = debian_requests(plan)?;
    let mut findings = Vec::new();
    let base = plan
        .base
        .as_ref()
        .map_or_else(|| "the base image".to_string(), |b| b.reference.clone());
    // Each retry adds a request for a new name, at most one per provider set.
    for _ in 0..64 {
        match store.resolve(&requests, &store::ResolveOptions { prune: true }) {
            Err(StoreError::Ambiguous {
                name,
                providers,
                wanted_by,
            }) => {
                let chosen: Vec<&String> = providers
                    .iter()
                    .filter(|p| docker_build.get(p).is_some())
                    .collect();
                match chosen.as_slice() {
                    [one] if !requests.iter().any(|r| r.name == **one) => {
                        findings.push(Finding {
                            severity: Severity::Note,
                            code: "audit::virtual-as-base".into(),
                            message: format!(
                                "{wanted_by} needs the virtual package {name}; {one} provides it, as in {base}"
                            ),
                            label: None,
                            help: Some(format!("install {one} (or another provider of {name}) explicitly to choose")),
                            location: None,
                        });
                        requests.push(store::PackageRequest::new(
                            one.as_str(),
                            format!("{name} for {wanted_by}, as in {base}"),
                        ));
                    }
                    _ => {
                        return Err(StoreError::Ambiguous {
                            name,
                            providers,
                            wanted_by,
                        });
                    }
                }
            }
            other => return other.map(|c| (c, findings)),
        }
    }
    Err(StoreError::Config(
        "too many ambiguous virtual packages in one closure".into(),
    ))
}

fn store_request(
    name: &str,
    version: Option<&str>,
    arch: Option<&str>,
    install_recommends: bool,
    origin: String,
) -> Result<store::PackageRequest, StoreError> {
    let mut r = store::PackageRequest::new(name, origin);
    r.arch = arch.map(str::to_string);
    r.install_recommends = install_recommends;
    if let Some(v) = version {
        r.version = Some(store::VersionConstraint::parse(v)?);
    }
    Ok(r)
}

/// Whether a package the plan drops under `rule` is still in the image
/// `docker build` makes: not when a later step removes it or it lives in
/// another stage.
fn in_docker_build_image(rule: &str) -> bool {
    !matches!(
        rule,
        "removed-later" | "auto-removed" | "build-stage" | "unused-stage"
    )
}

/// The report's rule id for a plan rule: the catalogue's name where it
/// names the same thing differently (`build-step/cleanup` is
/// `run-step/cleanup`, base content is split into `base/shell`,
/// `base/package-manager` and `base/content` by the package's build-only
/// category), otherwise the plan's id unchanged.
pub fn report_rule(plan_rule: &str, what: &plan::DroppedKind, family: Option<Family>) -> String {
    if plan_rule == "base/not-carried"
        && let plan::DroppedKind::BaseContent { name } = what
    {
        let category = family
            .and_then(Family::ecosystem)
            .and_then(|eco| build_only_rule(eco, name))
            .map(|r| r.category.as_str());
        return match category {
            Some("shell") => "base/shell",
            Some("package-manager") => "base/package-manager",
            _ => "base/content",
        }
        .to_string();
    }
    match plan_rule {
        "user/drop" => return "user/--drop".into(),
        "build-input/consumed" => return "build-only/build-input".into(),
        _ => {}
    }
    if let Some(rest) = plan_rule.strip_prefix("build-step/") {
        return format!("run-step/{rest}");
    }
    plan_rule.to_string()
}

/// The report's rule id for a package the store pruned.
fn prune_rule_id(rule: &PruneRule) -> String {
    match rule {
        PruneRule::ScriptOnly { .. }
        | PruneRule::ScriptGroup { .. }
        | PruneRule::OnlyWantedByPruned => "script-only".into(),
        PruneRule::Caller { rule } => slim_rule(rule),
    }
}

/// `slim/doc` -> `prune/docs`, other `slim/x` -> `prune/x`.
fn slim_rule(rule: &str) -> String {
    match rule.strip_prefix("slim/") {
        Some("doc") => "prune/docs".into(),
        Some(rest) => format!("prune/{rest}"),
        None => rule.to_string(),
    }
}

fn prune_reason(p: &store::Pruned) -> String {
    match &p.rule {
        PruneRule::ScriptOnly { reason } => format!("{reason} (`{}`)", p.relation),
        PruneRule::ScriptGroup { marker, reason } => {
            format!(
                "{reason} (the group `{}` is there for {marker})",
                p.relation
            )
        }
        PruneRule::OnlyWantedByPruned => format!(
            "only packages that are dropped themselves want it (`{}`)",
            p.relation
        ),
        PruneRule::Caller { rule } => match crate::store::slim::rule_reason(rule) {
            Some(reason) => reason.to_string(),
            None => format!("dropped by {rule}"),
        },
    }
}

/// The report id prefix of an ecosystem's packages.
fn id_prefix(eco: Ecosystem) -> &'static str {
    match eco {
        Ecosystem::Debian => "deb",
        Ecosystem::Alpine => "apk",
        Ecosystem::Rpm => "rpm",
        Ecosystem::Pypi => "pypi",
        Ecosystem::Npm => "npm",
        Ecosystem::Gem => "gem",
        Ecosystem::Nix => "nix",
    }
}

/// `apt-get install nginx`, `pip install -r requirements.txt (line 1)`.
fn request_text(req: &plan::PackageRequest) -> String {
    match &req.origin {
        RequestOrigin::Install { command } => {
            let verb: Vec<&str> = command
                .split_whitespace()
                .take_while(|w| !w.starts_with('-'))
                .take(2)
                .collect();
            if verb.is_empty() {
                format!("install {}", req.name)
            } else {
                format!("{} {}", verb.join(" "), req.name)
            }
        }
        RequestOrigin::BaseRuntime { image } => {
            format!("{} standing in for the runtime of {image}", req.name)
        }
        RequestOrigin::Requirements { file, line } => {
            format!("pip install -r {file} ({file}:{line}: {})", req.name)
        }
        RequestOrigin::Implied { reason } => format!("{} ({reason})", req.name),
    }
}

/// A pinned version (`=1.2`, `==3.0.3`), not a range.
fn pinned_version(version: Option<&str>) -> Option<String> {
    let v = version?.trim();
    let v = v.strip_prefix("==").or_else(|| v.strip_prefix('='))?;
    let v = v.trim();
    (!v.is_empty() && !v.contains([',', '<', '>', '*', '!', '~'])).then(|| v.to_string())
}

/// `debian-bookworm`, `alpine-3.20`.
fn distro(base: &plan::BaseImage) -> String {
    format!("{}-{}", base.family.as_str(), base.release)
}

struct Builder<'a> {
    plan: &'a Plan,
    source: &'a SourceFile,
    minimal: Option<&'a Closure>,
    docker: Option<&'a Closure>,
    family: Option<Family>,
    report: Report,
    /// Package names already reported as dropped, with the index of their item.
    dropped_packages: HashMap<String, usize>,
    /// Ecosystems whose packages appear without sizes.
    sizes_unknown: BTreeMap<Ecosystem, Option<Location>>,
}

/// The report of a plan and, where the caller could resolve them, its
/// closures: `closure` is the minimal run-time closure of
/// [`debian_requests`] (pruned), `inputs.docker_closure` the
/// [`resolve_docker_build`] closure. With `closure` `None`, Debian packages
/// are reported like those of ecosystems without a store (no sizes).
pub fn from_plan(
    plan: &Plan,
    source: &SourceFile,
    closure: Option<&Closure>,
    inputs: &ReportInputs<'_>,
) -> Report {
    let report = Report::new(
        Tool::current(),
        inputs.source_date_epoch,
        DockerfileSource {
            path: source.name().to_string(),
            text: source.text().to_string(),
        },
    );
    // A plan without Debian packages on a Debian base has an empty minimal
    // closure: the base estimate still comes from the docker-build closure.
    let empty = inputs.docker_closure.filter(|_| {
        closure.is_none()
            && !plan
                .packages
                .iter()
                .any(|p| p.ecosystem == Ecosystem::Debian)
    });
    let empty = empty.map(|d| Closure {
        store: d.store,
        release: d.release.clone(),
        arch: d.arch.clone(),
        requests: Vec::new(),
        paths: Vec::new(),
        pruned: Vec::new(),
        recommendations: Vec::new(),
        indices: d.indices.clone(),
        notes: Vec::new(),
    });
    let closure = closure.or(empty.as_ref());
    let mut b = Builder {
        plan,
        source,
        minimal: closure,
        docker: inputs.docker_closure.filter(|_| closure.is_some()),
        family: plan.base.as_ref().map(|b| b.family),
        report,
        dropped_packages: HashMap::new(),
        sizes_unknown: BTreeMap::new(),
    };
    b.base();
    b.kept_packages();
    b.kept_files(&inputs.copied);
    b.plan_drops(&inputs.copied);
    b.pruned_drops();
    b.dependency_drops();
    b.findings(inputs);
    b.totals(&inputs.copied);
    b.report
}

impl Builder<'_> {
    fn loc(&self, span: Span) -> Location {
        Location::from_span(self.source, span)
    }

    fn has_store(&self, eco: Ecosystem) -> bool {
        eco == Ecosystem::Debian && self.minimal.is_some()
    }

    fn note_unsized(&mut self, eco: Ecosystem, at: Span) {
        let loc = self.loc(at);
        self.sizes_unknown.entry(eco).or_insert(Some(loc));
    }

    fn base(&mut self) {
        // `scratch` is no base image (the model's `base` is absent for it).
        let Some(base) = self.plan.base.as_ref().filter(|b| b.family != Family::None) else {
            return;
        };
        let (size_bytes, packages) = match self.docker {
            Some(docker) => {
                let members = self.base_members(docker);
                let bytes = members
                    .iter()
                    .filter_map(|n| docker.get(n))
                    .map(|p| p.installed_size)
                    .sum();
                (bytes, members.len() as u64)
            }
            // No store: the size is unknown, the named content is known.
            None => (0, base_content(self.plan).len() as u64),
        };
        self.report.base = Some(BaseImage {
            reference: base.reference.clone(),
            release: Some(distro(base)),
            size_bytes,
            packages,
            location: Some(self.loc(base.provenance.span)),
        });
    }

    /// The base content's closure inside the docker-build closure:
    /// everything reachable from the base content packages over its edges.
    fn base_members(&self, docker: &Closure) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = base_content(self.plan)
            .into_iter()
            .filter(|n| docker.get(n).is_some())
            .collect();
        while let Some(n) = stack.pop() {
            if !seen.insert(n.clone()) {
                continue;
            }
            if let Some(p) = docker.get(&n) {
                stack.extend(p.depends.iter().map(|e| e.to.clone()));
            }
        }
        seen
    }

    /// The plan request behind a closure root (`Why::Requested`).
    fn plan_request_for(
        &self,
        closure: &Closure,
        member: &StorePath,
    ) -> Option<&plan::PackageRequest> {
        let Why::Requested { origin, .. } = &member.why else {
            return None;
        };
        let requested_name = closure
            .requests
            .iter()
            .find(|r| r.member == member.name && r.request.origin == *origin)
            .or_else(|| closure.requests.iter().find(|r| r.member == member.name))
            .map_or(member.name.as_str(), |r| r.request.name.as_str());
        let debian = self
            .plan
            .packages
            .iter()
            .filter(|p| p.ecosystem == Ecosystem::Debian && p.name == requested_name);
        debian
            .clone()
            .find(|p| p.provenance.location() == *origin)
            .or_else(|| debian.clone().next())
    }

    fn request_of(&self, req: &plan::PackageRequest) -> Request {
        Request {
            text: request_text(req),
            location: Some(self.loc(req.provenance.span)),
        }
    }

    fn kept_packages(&mut self) {
        let purl_distro = self.plan.base.as_ref().map(distro).unwrap_or_default();
        let vendor = match self.family {
            Some(Family::Ubuntu) => "ubuntu",
            _ => "debian",
        };
        if let Some(closure) = self.minimal {
            for p in &closure.paths {
                let chain = closure.why_chain(&p.name);
                let request = chain
                    .last()
                    .and_then(|root| self.plan_request_for(closure, root))
                    .map(|r| self.request_of(r))
                    .or_else(|| {
                        // A root the plan does not know (the caller added
                        // it): its origin label is all there is.
                        chain.last().and_then(|root| match &root.why {
                            Why::Requested { origin, request } => Some(Request {
                                text: if *request == root.name {
                                    origin.clone()
                                } else {
                                    format!("{request} ({origin})")
                                },
                                location: None,
                            }),
                            Why::Needed { .. } => None,
                        })
                    });
                self.report.kept.push(KeptItem {
                    id: format!("deb:{}", p.name),
                    kind: KeptKind::Package,
                    name: p.name.clone(),
                    version: Some(p.version.clone()),
                    arch: Some(p.arch.clone()),
                    size_bytes: p.installed_size,
                    files: None,
                    purl: Some(
                        Purl::deb(vendor, &p.name, &p.version, &p.arch, &purl_distro).to_string(),
                    ),
                    license: None,
                    sha256: Some(p.sha256.clone()).filter(|s| !s.is_empty()),
                    sha1: None,
                    chain: chain
                        .iter()
                        .skip(1)
                        .map(|m| format!("deb:{}", m.name))
                        .collect(),
                    request,
                    depends_on: p.depends.iter().map(|e| format!("deb:{}", e.to)).collect(),
                });
            }
        }
        let mut seen: HashSet<String> = self.report.kept.iter().map(|k| k.id.clone()).collect();
        for req in &self.plan.packages {
            if self.has_store(req.ecosystem) {
                continue;
            }
            let id = format!(
                "{}:{}",
                id_prefix(req.ecosystem),
                plan::classify::normalize_name(req.ecosystem, &req.name)
            );
            if !seen.insert(id.clone()) {
                continue;
            }
            self.note_unsized(req.ecosystem, req.provenance.span);
            let version = pinned_version(req.version.as_deref());
            let v = version.as_deref().unwrap_or("");
            let purl = match req.ecosystem {
                Ecosystem::Debian => Purl::deb(
                    "debian",
                    &req.name,
                    v,
                    req.arch.as_deref().unwrap_or(""),
                    &purl_distro,
                ),
                Ecosystem::Alpine => Purl::apk(&req.name, v, "", &purl_distro),
                Ecosystem::Pypi => Purl::pypi(&req.name, v),
                Ecosystem::Npm => Purl::new("npm", &req.name).version(v),
                Ecosystem::Gem => Purl::new("gem", &req.name).version(v),
                Ecosystem::Rpm => Purl::new("rpm", &req.name).version(v),
                Ecosystem::Nix => Purl::new("nix", &req.name).version(v),
            };
            let request = self.request_of(req);
            self.report.kept.push(KeptItem {
                id,
                kind: KeptKind::Package,
                name: req.name.clone(),
                version,
                arch: req.arch.clone(),
                size_bytes: 0,
                files: None,
                purl: Some(purl.to_string()),
                license: None,
                sha256: None,
                sha1: None,
                chain: Vec::new(),
                request: Some(request),
                depends_on: Vec::new(),
            });
        }
    }

    fn kept_files(&mut self, copied: &BTreeMap<Span, Vec<CopiedFile>>) {
        let mut ids: HashSet<String> = self.report.kept.iter().map(|k| k.id.clone()).collect();
        for op in &self.plan.files {
            let (text, measured) = match &op.kind {
                FileOpKind::Copy { sources, dest, .. } => {
                    let keyword = if op.provenance.instruction.starts_with("ADD") {
                        "ADD"
                    } else {
                        "COPY"
                    };
                    (
                        format!("{keyword} {} {dest}", sources.join(" ")),
                        copied.get(&op.provenance.span),
                    )
                }
                FileOpKind::WriteFile { path, .. } | FileOpKind::Touch { path } => {
                    (format!("write {path}"), copied.get(&op.provenance.span))
                }
                _ => continue,
            };
            let request = Request {
                text,
                location: Some(self.loc(op.provenance.span)),
            };
            let Some(files) = measured else {
                continue;
            };
            for f in files {
                let mut id = format!("file:{}", f.path);
                let mut n = 2;
                while !ids.insert(id.clone()) {
                    id = format!("file:{}#{n}", f.path);
                    n += 1;
                }
                self.report.kept.push(KeptItem {
                    id,
                    kind: KeptKind::File,
                    name: f.path.clone(),
                    version: None,
                    arch: None,
                    size_bytes: f.size,
                    files: Some(f.files),
                    purl: None,
                    license: None,
                    sha256: f.sha256.clone(),
                    sha1: f.sha1.clone(),
                    chain: Vec::new(),
                    request: Some(request.clone()),
                    depends_on: Vec::new(),
                });
            }
        }
    }

    fn kept_package(&self, name: &str) -> Option<&KeptItem> {
        self.report
            .kept
            .iter()
            .find(|k| k.kind == KeptKind::Package && k.name == name)
    }

    fn plan_drops(&mut self, copied: &BTreeMap<Span, Vec<CopiedFile>>) {
        let pruned_by: HashMap<&str, &store::Pruned> = self
            .minimal
            .map(|c| c.pruned.iter().map(|p| (p.name.as_str(), p)).collect())
            .unwrap_or_default();
        for d in &self.plan.dropped {
            let rule = report_rule(&d.rule, &d.what, self.family);
            let location = Some(self.loc(d.provenance.span));
            let mut reason = d.reason.clone();
            let (kind, name, eco) = match &d.what {
                plan::DroppedKind::Package {
                    ecosystem, name, ..
                } => (DroppedKind::Package, name.clone(), Some(*ecosystem)),
                plan::DroppedKind::BaseContent { name } => (
                    DroppedKind::BaseContent,
                    name.clone(),
                    self.family.and_then(Family::ecosystem),
                ),
                plan::DroppedKind::Stage { name } => (DroppedKind::Stage, name.clone(), None),
                plan::DroppedKind::RunStep { command } => {
                    (DroppedKind::RunStep, command.clone(), None)
                }
                plan::DroppedKind::Unsupported { command } => {
                    (DroppedKind::RunStep, command.clone(), None)
                }
                plan::DroppedKind::File { path } => (DroppedKind::File, path.clone(), None),
            };
            let mut version = None;
            let mut bytes_saved = 0;
            if let Some(eco) = eco {
                if let Some(kept) = self.kept_package(&name)
                    && self.has_store(eco)
                {
                    // The plan dropped it, but the run-time closure needs it.
                    let needed_by = match kept.chain.first() {
                        Some(id) => id.trim_start_matches("deb:").to_string(),
                        None => kept
                            .request
                            .as_ref()
                            .map(|r| r.text.clone())
                            .unwrap_or_default(),
                    };
                    self.report.warnings.push(Finding {
                        severity: Severity::Note,
                        code: "audit::dropped-but-needed".into(),
                        message: format!(
                            "{name} is dropped by rule {rule}, but {} needs it at run time, so it stays",
                            if needed_by.is_empty() {
                                "the image"
                            } else {
                                needed_by.as_str()
                            }
                        ),
                        label: Some("dropped here".into()),
                        help: Some(format!("`--drop {name}` would not remove it either; drop what needs it, or keep it explicitly with `--keep {name}`")),
                        location,
                    });
                    continue;
                }
                if self.has_store(eco) {
                    if let Some(p) = self.docker.and_then(|c| c.get(&name)) {
                        version = Some(p.version.clone());
                        bytes_saved = p.installed_size;
                    }
                } else {
                    self.note_unsized(eco, d.provenance.span);
                }
                if kind == DroppedKind::BaseContent
                    && let Some(p) = pruned_by.get(name.as_str())
                {
                    reason.push_str(&format!(
                        "; {} also wants it, for maintainer scripts only",
                        p.wanted_by
                    ));
                }
                if self.dropped_packages.contains_key(&name) {
                    continue;
                }
                self.dropped_packages
                    .insert(name.clone(), self.report.dropped.len());
            }
            if kind == DroppedKind::File
                && let Some(files) = copied.get(&d.provenance.span)
            {
                bytes_saved = files.iter().map(|f| f.size).sum();
            }
            self.report.dropped.push(DroppedItem {
                kind,
                name,
                version,
                bytes_saved,
                rule,
                reason,
                location,
                wanted_by: None,
            });
        }
    }

    /// The request location at the end of a member's why-chain in the
    /// minimal closure, following pruned packages' `wanted_by` back into it.
    fn location_via(&self, start: &str) -> Option<Location> {
        let closure = self.minimal?;
        let mut name = start.to_string();
        for _ in 0..=closure.pruned.len() {
            if closure.get(&name).is_some() {
                let chain = closure.why_chain(&name);
                let root = chain.last()?;
                return self
                    .plan_request_for(closure, root)
                    .map(|r| self.loc(r.provenance.span));
            }
            let p = closure.pruned.iter().find(|p| p.name == name)?;
            name = p.wanted_by.clone();
        }
        None
    }

    fn pruned_drops(&mut self) {
        let Some(closure) = self.minimal else { return };
        for p in &closure.pruned {
            if self.dropped_packages.contains_key(&p.name) || self.kept_package(&p.name).is_some() {
                continue;
            }
            let location = self.location_via(&p.wanted_by);
            self.dropped_packages
                .insert(p.name.clone(), self.report.dropped.len());
            self.report.dropped.push(DroppedItem {
                kind: DroppedKind::Package,
                name: p.name.clone(),
                version: Some(p.version.clone()),
                bytes_saved: p.installed_size,
                rule: prune_rule_id(&p.rule),
                reason: prune_reason(p),
                location,
                wanted_by: Some(p.wanted_by.clone()),
            });
        }
    }

    /// Members of the docker-build closure that neither the minimal image
    /// keeps nor an earlier record drops: dependencies of dropped packages.
    fn dependency_drops(&mut self) {
        let Some(docker) = self.docker else { return };
        let mut extra = Vec::new();
        for p in &docker.paths {
            if self.dropped_packages.contains_key(&p.name) || self.kept_package(&p.name).is_some() {
                continue;
            }
            let chain = docker.why_chain(&p.name);
            let puller = chain.get(1).map(|m| m.name.clone());
            let relation = match &p.why {
                Why::Needed { relation, kind, .. } => format!("{kind} `{relation}`"),
                // Requested members are emitted by `plan_drops` already.
                Why::Requested { request, .. } => request.clone(),
            };
            let ancestor = chain
                .iter()
                .skip(1)
                .find_map(|m| self.dropped_packages.get(&m.name).map(|&i| (m, i)));
            let (rule, location, reason) = match ancestor
                .and_then(|(m, i)| self.report.dropped.get(i).map(|d| (m, d)))
            {
                Some((m, d)) => {
                    let kind = if d.kind == DroppedKind::BaseContent {
                        "base/content".to_string()
                    } else {
                        d.rule.clone()
                    };
                    (
                        kind,
                        d.location.clone(),
                        format!(
                            "{relation}; nothing the image keeps needs it, only {} (dropped)",
                            m.name
                        ),
                    )
                }
                None => (
                    "dependency/not-needed".to_string(),
                    None,
                    format!(
                        "apt would install it ({relation}); the minimal closure satisfies that dependency otherwise"
                    ),
                ),
            };
            extra.push(DroppedItem {
                kind: if rule.starts_with("base/") {
                    DroppedKind::BaseContent
                } else {
                    DroppedKind::Package
                },
                name: p.name.clone(),
                version: Some(p.version.clone()),
                bytes_saved: p.installed_size,
                rule,
                reason,
                location,
                wanted_by: puller,
            });
        }
        extra.sort_by(|a, b| a.rule.cmp(&b.rule).then_with(|| a.name.cmp(&b.name)));
        for item in extra {
            self.dropped_packages
                .insert(item.name.clone(), self.report.dropped.len());
            self.report.dropped.push(item);
        }
    }

    fn findings(&mut self, inputs: &ReportInputs<'_>) {
        let mut findings: Vec<Finding> = inputs.plan_warnings.iter().map(Finding::from).collect();
        for n in &self.plan.notes {
            findings.push(Finding {
                severity: Severity::Note,
                code: "plan::note".into(),
                message: n.message.clone(),
                label: None,
                help: None,
                location: Some(self.loc(n.provenance.span)),
            });
        }
        if let Some(base) = &self.plan.base
            && let Some(note) = &base.note
        {
            findings.push(Finding {
                severity: Severity::Note,
                code: "plan::base-stand-in".into(),
                message: note.clone(),
                label: None,
                help: None,
                location: Some(self.loc(base.provenance.span)),
            });
        }
        for (eco, location) in &self.sizes_unknown {
            findings.push(Finding {
                severity: Severity::Warning,
                code: "audit::sizes-unknown".into(),
                message: format!(
                    "sizes of {} packages are unknown: scratchify has no {} store yet, so the totals leave them out",
                    eco.as_str(),
                    eco.as_str()
                ),
                label: Some(format!("{} packages", eco.as_str())),
                help: Some("compare sizes only between reports of the same Dockerfile".into()),
                location: location.clone(),
            });
        }
        findings.extend(inputs.findings.iter().cloned());
        self.report.warnings.append(&mut findings);
    }

    fn totals(&mut self, copied: &BTreeMap<Span, Vec<CopiedFile>>) {
        let kept_bytes: u64 = self.report.kept.iter().map(|k| k.size_bytes).sum();
        let files_after: u64 = self
            .report
            .kept
            .iter()
            .filter(|k| k.kind == KeptKind::File)
            .map(|k| k.files.unwrap_or(1))
            .sum();
        let copied_bytes: u64 = copied.values().flatten().map(|f| f.size).sum();
        let copied_files: u64 = copied.values().flatten().map(|f| f.files).sum();
        let packages_after = self
            .report
            .kept
            .iter()
            .filter(|k| k.kind == KeptKind::Package)
            .count() as u64;
        let debian_before = self.docker.map_or(0, |d| d.paths.len() as u64);
        let debian_bytes_before = self.docker.map_or(0, Closure::installed_size);
        // Packages of ecosystems without a store: kept ones, and dropped
        // ones still in the docker build image.
        let other_kept = self
            .report
            .kept
            .iter()
            .filter(|k| k.kind == KeptKind::Package && !k.id.starts_with("deb:"))
            .count() as u64;
        let other_dropped = self
            .plan
            .dropped
            .iter()
            .filter(|d| match &d.what {
                plan::DroppedKind::Package { ecosystem, .. } => {
                    !self.has_store(*ecosystem) && in_docker_build_image(&d.rule)
                }
                plan::DroppedKind::BaseContent { .. } => !self
                    .family
                    .and_then(Family::ecosystem)
                    .is_some_and(|e| self.has_store(e)),
                _ => false,
            })
            .count() as u64;
        let mut shells = BTreeSet::new();
        let mut managers = BTreeSet::new();
        let mut compilers = BTreeSet::new();
        for k in &self.report.kept {
            if k.kind != KeptKind::Package {
                continue;
            }
            let eco = match k.id.split(':').next() {
                Some("deb") => Ecosystem::Debian,
                Some("apk") => Ecosystem::Alpine,
                Some("rpm") => Ecosystem::Rpm,
                Some("pypi") => Ecosystem::Pypi,
                Some("npm") => Ecosystem::Npm,
                Some("gem") => Ecosystem::Gem,
                Some("nix") => Ecosystem::Nix,
                _ => continue,
            };
            match build_only_rule(eco, &k.name).map(|r| r.category.as_str()) {
                Some("shell") => shells.insert(k.name.clone()),
                Some("package-manager") => managers.insert(k.name.clone()),
                Some("compiler") => compilers.insert(k.name.clone()),
                _ => false,
            };
        }
        self.report.totals = Totals {
            docker_build_estimate_bytes: debian_bytes_before.saturating_add(copied_bytes),
            minimal_bytes: kept_bytes,
            packages_before: debian_before + other_kept + other_dropped,
            packages_after,
            files_before: copied_files,
            files_after,
            shells_left: shells.into_iter().collect(),
            package_managers_left: managers.into_iter().collect(),
            compilers_left: compilers.into_iter().collect(),
        };
    }
}

/// Refine a report with the result of pruning below the package level:
/// kept packages get the bytes and file counts left after the file rules,
/// packages the pruning dropped move from `kept` to `dropped`
/// (`prune/unreachable-package`), and the files the rules dropped become
/// one dropped item per package and rule (`prune/docs`, `prune/man`, ...:
/// the name is the deepest directory holding all of them). Totals are
/// updated; the docker-build estimate is not touched.
///
/// Call it after [`from_plan`], with the closure before or after the slim
/// packages were cut from it (`Closure::prune_with`): either way each
/// package is reported once.
pub fn with_slim(report: &mut Report, slim: &crate::store::slim::SlimResult) {
    let dropped_pkgs: HashMap<&str, &crate::store::slim::DroppedPackage> = slim
        .dropped_packages
        .iter()
        .map(|d| (d.name.as_str(), d))
        .collect();
    let mut moved = Vec::new();
    report.kept.retain(|k| {
        if k.kind == KeptKind::Package
            && let Some(d) = dropped_pkgs.get(k.name.as_str())
        {
            moved.push(DroppedItem {
                kind: DroppedKind::Package,
                name: k.name.clone(),
                version: k.version.clone(),
                bytes_saved: d.bytes,
                rule: slim_rule(&d.rule),
                reason: d.reason.clone(),
                location: k.request.as_ref().and_then(|r| r.location.clone()),
                wanted_by: k.chain.first().map(|id| {
                    id.split_once(':')
                        .map_or(id.as_str(), |(_, n)| n)
                        .to_string()
                }),
            });
            false
        } else {
            true
        }
    });
    for item in &mut moved {
        if let Some(existing) = report
            .dropped
            .iter_mut()
            .find(|d| d.kind == DroppedKind::Package && d.name == item.name)
        {
            existing.bytes_saved = existing.bytes_saved.max(item.bytes_saved);
            item.name.clear();
        }
    }
    report
        .dropped
        .extend(moved.into_iter().filter(|d| !d.name.is_empty()));
    let kept_ids: HashSet<String> = report.kept.iter().map(|k| k.id.clone()).collect();
    for k in &mut report.kept {
        k.depends_on.retain(|id| kept_ids.contains(id));
        if k.kind != KeptKind::Package {
            continue;
        }
        if let Some(tree) = slim.kept_trees.get(&k.name) {
            k.size_bytes = tree.file_bytes();
            k.files = Some(
                tree.entries
                    .values()
                    .filter(|e| !matches!(e.kind, crate::tree::EntryKind::Dir))
                    .count() as u64,
            );
        }
    }
    // Dropped files, grouped by package and rule.
    let mut groups: BTreeMap<(String, String), (Vec<&str>, u64)> = BTreeMap::new();
    for f in &slim.dropped_files {
        let g = groups
            .entry((f.package.clone(), f.rule.clone()))
            .or_insert_with(|| (Vec::new(), 0));
        g.0.push(f.path.as_str());
        g.1 = g.1.saturating_add(f.bytes);
    }
    let location_of: HashMap<String, Option<Location>> = report
        .kept
        .iter()
        .map(|k| {
            (
                k.name.clone(),
                k.request.as_ref().and_then(|r| r.location.clone()),
            )
        })
        .collect();
    for ((package, rule), (paths, bytes)) in groups {
        let dir = common_dir(&paths);
        let reason = crate::store::slim::rule_reason(&rule)
            .map_or_else(|| format!("dropped by {rule}"), str::to_string);
        report.dropped.push(DroppedItem {
            kind: DroppedKind::File,
            name: dir,
            version: None,
            bytes_saved: bytes,
            rule: slim_rule(&rule),
            reason: format!(
                "{reason} ({} file{} of {package})",
                paths.len(),
                if paths.len() == 1 { "" } else { "s" }
            ),
            location: location_of.get(&package).cloned().flatten(),
            wanted_by: None,
        });
    }
    recompute_kept_totals(report);
}

/// `/usr/share/doc/nginx` for paths below it (the path itself for one file).
fn common_dir(paths: &[&str]) -> String {
    let mut common: Option<Vec<&str>> = None;
    for p in paths {
        let parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
        common = Some(match common {
            None => parts,
            Some(c) => c
                .iter()
                .zip(parts.iter())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    format!("/{}", common.unwrap_or_default().join("/"))
}

/// Add the files the image synthesizes (accounts, CA bundle, os-release,
/// ...) and update the totals.
pub fn with_synthesized(report: &mut Report, items: impl IntoIterator<Item = SynthesizedItem>) {
    report.synthesized.extend(items);
    recompute_kept_totals(report);
}

/// The report items of a synthesized rootfs: each record of the image
/// stage with the size and digests of its file in the tree. `location` is
/// the Dockerfile step an item stands in for, when the caller knows it.
pub fn synthesized_items(
    rootfs: &crate::image::SynthesizedRootfs,
    location: impl Fn(&str) -> Option<Location>,
) -> Vec<SynthesizedItem> {
    let mut out = Vec::new();
    for item in &rootfs.items {
        let (size, sha256, sha1) = match rootfs.tree.entries.get(&item.path).map(|e| &e.kind) {
            Some(crate::tree::EntryKind::File {
                size,
                source: crate::tree::FileSource::Bytes(data),
            }) => {
                use sha1::Digest as _;
                use sha2::Digest as _;
                (
                    *size,
                    Some(hex::encode(sha2::Sha256::digest(data))),
                    Some(hex::encode(sha1::Sha1::digest(data))),
                )
            }
            Some(crate::tree::EntryKind::File { size, .. }) => (*size, None, None),
            _ => (0, None, None),
        };
        let path = item.path.absolute();
        out.push(SynthesizedItem {
            location: location(&path),
            path,
            size_bytes: size,
            sha256,
            sha1,
            reason: item.description.clone(),
            replaces: None,
        });
    }
    out
}

/// The written image: digest, sizes and one summary per layer
/// (`content` is the layer's `created_by` history text, followed by its
/// comment in brackets when it has one). `scratchify explain` finds the
/// kept items of a layer by the package names that appear as words in
/// `content`, so a package layer should name its package(s) there.
pub fn with_image(report: &mut Report, image: &crate::image::Image) {
    report.image = Some(ImageSummary {
        digest: image.digest().to_string(),
        compressed_bytes: image.compressed_size(),
        uncompressed_bytes: image.uncompressed_size(),
        layers: image
            .layers
            .iter()
            .map(|l| LayerSummary {
                digest: l.info.digest.to_string(),
                compressed_bytes: l.info.size,
                uncompressed_bytes: l.info.uncompressed_size,
                content: match l.info.comment.as_deref() {
                    Some(c) if !c.is_empty() => format!("{} [{c}]", l.info.created_by),
                    _ => l.info.created_by.clone(),
                },
            })
            .collect(),
    });
}

/// Totals that follow from the kept and synthesized items.
fn recompute_kept_totals(report: &mut Report) {
    let t = &mut report.totals;
    t.minimal_bytes = report.kept.iter().map(|k| k.size_bytes).sum::<u64>()
        + report.synthesized.iter().map(|s| s.size_bytes).sum::<u64>();
    t.packages_after = report
        .kept
        .iter()
        .filter(|k| k.kind == KeptKind::Package)
        .count() as u64;
    t.files_after = report
        .kept
        .iter()
        .map(|k| k.files.unwrap_or(u64::from(k.kind == KeptKind::File)))
        .sum::<u64>()
        + report.synthesized.len() as u64;
    let left: HashSet<&str> = report.kept.iter().map(|k| k.name.as_str()).collect();
    t.shells_left.retain(|n| left.contains(n.as_str()));
    t.package_managers_left
        .retain(|n| left.contains(n.as_str()));
    t.compilers_left.retain(|n| left.contains(n.as_str()));
}

/// Where `scratchify build` writes the report of an image written to
/// `out`, and where `scratchify explain OUT` reads it: next to the output,
/// `<OUT>.report.json` (a trailing `/` of a directory is ignored:
/// `out/` -> `out.report.json`). A file beside the output works for every
/// output kind (OCI layout directory, oci-archive, docker-archive) without
/// adding anything to the image itself.
pub fn report_path_for(out: &std::path::Path) -> std::path::PathBuf {
    let text = out.as_os_str().to_string_lossy();
    let trimmed = text.trim_end_matches('/');
    let base = if trimmed.is_empty() { "." } else { trimmed };
    std::path::PathBuf::from(format!("{base}.report.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_map_to_the_catalogue() {
        let base = |n: &str| plan::DroppedKind::BaseContent { name: n.into() };
        let f = Some(Family::Debian);
        assert_eq!(
            report_rule("base/not-carried", &base("bash"), f),
            "base/shell"
        );
        assert_eq!(
            report_rule("base/not-carried", &base("apt"), f),
            "base/package-manager"
        );
        assert_eq!(
            report_rule("base/not-carried", &base("coreutils"), f),
            "base/content"
        );
        assert_eq!(
            report_rule("base/not-carried", &base("apk-tools"), Some(Family::Alpine)),
            "base/package-manager"
        );
        let step = plan::DroppedKind::RunStep {
            command: "x".into(),
        };
        assert_eq!(
            report_rule("build-step/cleanup", &step, f),
            "run-step/cleanup"
        );
        assert_eq!(report_rule("user/drop", &step, f), "user/--drop");
        assert_eq!(report_rule("removed-later", &step, f), "removed-later");
        assert_eq!(slim_rule("slim/doc"), "prune/docs");
        assert_eq!(slim_rule("slim/gconv"), "prune/gconv");
        for id in [
            "removed-later",
            "auto-removed",
            "build-stage",
            "unused-stage",
            "run-step/index-update",
            "run-step/upgrade",
            "prune/unreachable-package",
            "prune/gconv",
            "script-only",
        ] {
            assert!(super::super::rule_info(id).catalogued, "{id} is catalogued");
        }
    }

    fn kept(name: &str, size: u64, chain: &[&str], deps: &[&str]) -> KeptItem {
        KeptItem {
            id: format!("deb:{name}"),
            kind: KeptKind::Package,
            name: name.into(),
            version: Some("1".into()),
            arch: Some("amd64".into()),
            size_bytes: size,
            files: None,
            purl: None,
            license: None,
            sha256: None,
            sha1: None,
            chain: chain.iter().map(|c| format!("deb:{c}")).collect(),
            request: Some(Request {
                text: "apt-get install nginx".into(),
                location: None,
            }),
            depends_on: deps.iter().map(|c| format!("deb:{c}")).collect(),
        }
    }

    #[test]
    fn slim_results_refine_the_report() {
        use crate::store::slim::{DroppedFile, DroppedPackage, SlimResult};
        use crate::tree::{FileTree, ImagePath, TreeEntry};
        let mut report = Report::new(
            Tool::current(),
            0,
            DockerfileSource {
                path: "Dockerfile".into(),
                text: String::new(),
            },
        );
        report.kept = vec![
            kept("nginx", 1000, &[], &["iproute2", "libc6"]),
            kept("iproute2", 500, &["nginx"], &["libc6"]),
            kept("libc6", 2000, &["nginx"], &[]),
        ];
        report.totals.docker_build_estimate_bytes = 10_000;
        report.totals.shells_left = vec!["iproute2".into()];
        let p = |s: &str| ImagePath::new(s).unwrap();
        let mut nginx_tree = FileTree::new();
        nginx_tree.insert(p("usr/sbin"), TreeEntry::dir(0o755));
        nginx_tree.insert(p("usr/sbin/nginx"), TreeEntry::bytes(vec![0u8; 900], 0o755));
        let mut libc_tree = FileTree::new();
        libc_tree.insert(
            p("usr/lib/libc.so.6"),
            TreeEntry::bytes(vec![0u8; 1800], 0o755),
        );
        libc_tree.insert(p("usr/lib/ld.so"), TreeEntry::symlink("libc.so.6"));
        let slim = SlimResult {
            dropped_packages: vec![DroppedPackage {
                name: "iproute2".into(),
                rule: crate::store::slim::UNREACHABLE_PACKAGE.into(),
                reason: "nothing reaches it".into(),
                bytes: 480,
            }],
            dropped_files: vec![
                DroppedFile {
                    package: "nginx".into(),
                    path: p("usr/share/doc/nginx/changelog.gz"),
                    rule: "slim/doc".into(),
                    reason: "docs".into(),
                    bytes: 30,
                },
                DroppedFile {
                    package: "nginx".into(),
                    path: p("usr/share/doc/nginx/README"),
                    rule: "slim/doc".into(),
                    reason: "docs".into(),
                    bytes: 12,
                },
            ],
            kept_trees: [
                ("nginx".to_string(), nginx_tree),
                ("libc6".to_string(), libc_tree),
            ]
            .into_iter()
            .collect(),
            ..SlimResult::default()
        };
        with_slim(&mut report, &slim);
        let names: Vec<&str> = report.kept.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["nginx", "libc6"]);
        let nginx = &report.kept[0];
        assert_eq!((nginx.size_bytes, nginx.files), (900, Some(1)));
        assert_eq!(nginx.depends_on, ["deb:libc6"]);
        assert_eq!(
            (report.kept[1].size_bytes, report.kept[1].files),
            (1800, Some(2))
        );
        let ip = report
            .dropped
            .iter()
            .find(|d| d.name == "iproute2")
            .unwrap();
        assert_eq!(ip.rule, "prune/unreachable-package");
        assert_eq!(
            (ip.bytes_saved, ip.wanted_by.as_deref()),
            (480, Some("nginx"))
        );
        let docs = report
            .dropped
            .iter()
            .find(|d| d.rule == "prune/docs")
            .unwrap();
        assert_eq!(docs.name, "/usr/share/doc/nginx");
        assert_eq!(docs.bytes_saved, 42);
        assert!(docs.reason.contains("2 files of nginx"), "{}", docs.reason);
        let t = &report.totals;
        assert_eq!(
            (t.minimal_bytes, t.packages_after, t.files_after),
            (2700, 2, 3)
        );
        assert!(t.shells_left.is_empty(), "a dropped package is not left");
        assert_eq!(t.docker_build_estimate_bytes, 10_000);

        // Synthesized files: sizes and digests of what the image stage wrote.
        let rootfs = crate::image::synthesize_rootfs(&crate::image::RootfsSpec::default()).unwrap();
        with_synthesized(&mut report, synthesized_items(&rootfs, |_| None));
        let passwd = report
            .synthesized
            .iter()
            .find(|s| s.path == "/etc/passwd")
            .expect("passwd is synthesized");
        let entry = rootfs.tree.entries.get(&p("etc/passwd")).unwrap();
        let crate::tree::EntryKind::File {
            size,
            source: crate::tree::FileSource::Bytes(data),
        } = &entry.kind
        else {
            panic!("passwd is a file")
        };
        assert_eq!(passwd.size_bytes, *size);
        use sha2::Digest as _;
        assert_eq!(
            passwd.sha256.as_deref(),
            Some(hex::encode(sha2::Sha256::digest(data)).as_str())
        );
        let synth: u64 = report.synthesized.iter().map(|s| s.size_bytes).sum();
        assert_eq!(report.totals.minimal_bytes, 2700 + synth);
    }

    #[test]
    fn pins_and_paths() {
        assert_eq!(pinned_version(Some("==3.0.3")).as_deref(), Some("3.0.3"));
        assert_eq!(pinned_version(Some("=1.2-1")).as_deref(), Some("1.2-1"));
        assert_eq!(pinned_version(Some(">=2")), None);
        assert_eq!(pinned_version(Some("==1.*")), None);
        assert_eq!(pinned_version(None), None);
        assert_eq!(
            common_dir(&["usr/share/doc/a/x", "usr/share/doc/a/y/z"]),
            "/usr/share/doc/a"
        );
        assert_eq!(
            common_dir(&["usr/share/man/man1/a.1.gz"]),
            "/usr/share/man/man1/a.1.gz"
        );
        assert_eq!(
            report_path_for(std::path::Path::new("out/img/")),
            std::path::PathBuf::from("out/img.report.json")
        );
        assert_eq!(
            report_path_for(std::path::Path::new("img.tar")),
            std::path::PathBuf::from("img.tar.report.json")
        );
    }
}
