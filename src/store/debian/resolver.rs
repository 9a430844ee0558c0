//! Dependency resolution, the way apt marks packages for installation on an
//! empty system, with stricter rules where apt guesses.
//!
//! * One version per package name: the highest across the suites (apt's
//!   candidate with default pins), or the highest that satisfies the
//!   constraint of the request or dependency that first pulls it in.
//! * Requests are all marked first, then expanded depth-first in request
//!   order; a package's Pre-Depends, then Depends (then Recommends when
//!   asked) are satisfied in field order, each chosen package expanded
//!   before the next group, as apt's `MarkInstall` recursion does. That
//!   order decides which alternatives are "already chosen".
//! * A group `a | b` is satisfied by a member already chosen if any (in
//!   alternative order); else by the first alternative that can be
//!   installed. A real package named by an alternative is used before any
//!   provider of that name; providers are considered when no real
//!   version fits. Several providers and none chosen is an error listing
//!   them (apt would pick by priority; a build should not guess).
//! * `:any` needs `Multi-Arch: allowed`. Only one architecture (plus
//!   `all`) is resolved; a request for another is an error.
//! * Conflicts and Breaks rule out candidates that clash with chosen ones.
//! * Essential packages are not added unless something depends on them.
//! * Recommends are followed for requests that ask for them (and what they
//!   pull in), and reported either way. A package is expanded once: if a
//!   request without Recommends reached it first, a later request with
//!   them does not revisit it (its Recommends are still reported).

use std::collections::{BTreeMap, HashMap};

use super::index::{Entry, Field, MultiArch, PackageIndex};
use super::relation::{self, ArchQualifier, Dependency, Group};
use super::version::{Relation, Version};
use crate::store::{
    DepKind, Edge, PackageRequest, Recommendation, ResolvedRequest, StoreError, StoreKind,
    StorePath, Why, first_pullers,
};

/// One loaded index with where it came from.
pub struct Suite<'a> {
    pub index: &'a PackageIndex,
    pub suite: &'a str,
    pub repository: &'a str,
}

/// What resolution produces, before pruning.
pub struct Resolved {
    pub paths: Vec<StorePath>,
    pub requests: Vec<ResolvedRequest>,
    pub recommendations: Vec<Recommendation>,
}

#[derive(Clone, Copy)]
struct Cand<'a> {
    suite: usize,
    entry: Entry<'a>,
    version: Version<'a>,
}

struct Member<'a> {
    cand: Cand<'a>,
    provides: Vec<(&'a str, Option<Version<'a>>)>,
    conflicts: Vec<Dependency<'a>>,
    edges: Vec<Edge>,
}

enum Pick<'a> {
    Existing(usize),
    New(Cand<'a>),
}

enum Failure {
    Ambiguous {
        name: String,
        providers: Vec<String>,
    },
    Unsatisfiable(String),
}

enum AltOption<'a> {
    Found(Cand<'a>),
    Ambiguous(Vec<String>),
    None(String),
}

struct Resolver<'s, 'a> {
    suites: &'s [Suite<'a>],
    arch: &'s str,
    members: Vec<Member<'a>>,
    by_name: HashMap<&'a str, usize>,
    provided: HashMap<&'a str, Vec<usize>>,
}

/// A frame of the depth-first expansion.
struct Frame<'a> {
    member: usize,
    groups: Vec<(DepKind, Group<'a>)>,
    next: usize,
    recommends: bool,
}

/// Resolve `requests` against `suites` (in priority order for equal
/// versions: the release first, then updates and security).
pub fn resolve(
    suites: &[Suite<'_>],
    arch: &str,
    requests: &[PackageRequest],
) -> Result<Resolved, StoreError> {
    let mut r = Resolver {
        suites,
        arch,
        members: Vec::new(),
        by_name: HashMap::new(),
        provided: HashMap::new(),
    };
    let mut resolved_requests = Vec::new();
    let mut request_members = Vec::new();
    for req in requests {
        let m = r.request(req)?;
        request_members.push((m, req.install_recommends));
        resolved_requests.push(ResolvedRequest {
            request: req.clone(),
            member: r.name(m).to_string(),
        });
    }
    let mut expanded = vec![false; r.members.len()];
    let mut recommendations = Vec::new();
    let mut followed_recommends = vec![false; r.members.len()];
    for &(root, recommends) in &request_members {
        if expanded.get(root).copied().unwrap_or(true) {
            continue;
        }
        let mut stack = vec![r.frame(root, recommends)?];
        expanded[root] = true;
        followed_recommends[root] = recommends;
        while let Some(frame) = stack.last_mut() {
            let Some((kind, group)) = frame.groups.get(frame.next) else {
                stack.pop();
                continue;
            };
            frame.next += 1;
            let (kind, from, recommends) = (*kind, frame.member, frame.recommends);
            let relation = relation::group_text(group);
            let picked = r.pick(group);
            let target = match picked {
                Ok(Pick::Existing(i)) => i,
                Ok(Pick::New(c)) => r.choose(c)?,
                Err(failure) if kind == DepKind::Recommends => {
                    recommendations.push(Recommendation {
                        by: r.name(from).to_string(),
                        relation,
                        satisfied_by: None,
                        skipped: Some(match failure {
                            Failure::Ambiguous { name, providers } => format!(
                                "{name} is virtual with several providers: {}",
                                providers.join(", ")
                            ),
                            Failure::Unsatisfiable(reason) => reason,
                        }),
                    });
                    continue;
                }
                Err(Failure::Ambiguous { name, providers }) => {
                    return Err(StoreError::Ambiguous {
                        name,
                        providers,
                        wanted_by: r.name(from).to_string(),
                    });
                }
                Err(Failure::Unsatisfiable(reason)) => {
                    return Err(StoreError::Unsatisfiable {
                        relation,
                        wanted_by: r.name(from).to_string(),
                        reason,
                    });
                }
            };
            if kind == DepKind::Recommends {
                recommendations.push(Recommendation {
                    by: r.name(from).to_string(),
                    relation: relation.clone(),
                    satisfied_by: Some(r.name(target).to_string()),
                    skipped: None,
                });
            }
            let to = r.name(target).to_string();
            if let Some(m) = r.members.get_mut(from)
                && !m.edges.iter().any(|e| e.to == to)
            {
                m.edges.push(Edge { to, relation, kind });
            }
            if expanded.len() < r.members.len() {
                expanded.resize(r.members.len(), false);
                followed_recommends.resize(r.members.len(), false);
            }
            if !expanded[target] {
                expanded[target] = true;
                followed_recommends[target] = recommends;
                let frame = r.frame(target, recommends)?;
                stack.push(frame);
            }
        }
    }
    // Recommends that were not followed are reported too.
    for (i, followed) in followed_recommends.iter().enumerate() {
        if *followed {
            continue;
        }
        let entry = r.members[i].cand.entry;
        for group in r.parse_field(entry, Field::Recommends)? {
            let satisfier = group.iter().find_map(|d| r.satisfied_by_chosen(d));
            recommendations.push(Recommendation {
                by: entry.name().to_string(),
                relation: relation::group_text(&group),
                satisfied_by: satisfier.map(|s| r.name(s).to_string()),
                skipped: satisfier
                    .is_none()
                    .then(|| "Recommends not installed (--no-install-recommends)".to_string()),
            });
        }
    }
    recommendations.sort_by(|a, b| a.by.cmp(&b.by).then(a.relation.cmp(&b.relation)));

    // Why: the first puller in expansion order.
    let mut roots: Vec<(String, Why)> = Vec::new();
    for rr in &resolved_requests {
        if !roots.iter().any(|(m, _)| *m == rr.member) {
            roots.push((
                rr.member.clone(),
                Why::Requested {
                    origin: rr.request.origin.clone(),
                    request: rr.request.display(),
                },
            ));
        }
    }
    let edges: BTreeMap<String, Vec<Edge>> = r
        .members
        .iter()
        .map(|m| (m.cand.entry.name().to_string(), m.edges.clone()))
        .collect();
    let whys = first_pullers(&roots, &edges);
    let mut paths: Vec<StorePath> = Vec::new();
    for m in &r.members {
        let e = m.cand.entry;
        let Some(suite) = r.suites.get(m.cand.suite) else {
            continue;
        };
        let Some(why) = whys.get(e.name()) else {
            continue; // unreachable: every member was pulled in by an edge
        };
        paths.push(StorePath {
            store: StoreKind::Debian,
            name: e.name().to_string(),
            version: e.version_str().to_string(),
            arch: e.arch().to_string(),
            sha256: e.sha256(),
            download_size: e.size(),
            installed_size: e.installed_kib().saturating_mul(1024),
            depends: m.edges.clone(),
            why: why.clone(),
            essential: e.essential(),
            repository: suite.repository.to_string(),
            filename: e.filename().to_string(),
            suite: suite.suite.to_string(),
        });
    }
    paths.sort_by(|a, b| a.name.cmp(&b.name));
    for s in suites {
        s.index.check().map_err(|reason| StoreError::BadIndex {
            file: format!("index of {} ({})", s.suite, s.index.source_sha256),
            reason,
        })?;
    }
    Ok(Resolved {
        paths,
        requests: resolved_requests,
        recommendations,
    })
}

impl<'s, 'a> Resolver<'s, 'a> {
    fn name(&self, member: usize) -> &'a str {
        self.members
            .get(member)
            .map(|m| m.cand.entry.name())
            .unwrap_or("")
    }

    fn parse_field(&self, entry: Entry<'a>, field: Field) -> Result<Vec<Group<'a>>, StoreError> {
        relation::parse(entry.get(field), self.arch).map_err(|e| StoreError::BadIndex {
            file: format!(
                "{} {} ({})",
                entry.name(),
                entry.version_str(),
                field_name(field)
            ),
            reason: e.to_string(),
        })
    }

    fn frame(&self, member: usize, recommends: bool) -> Result<Frame<'a>, StoreError> {
        let entry = self.members[member].cand.entry;
        let mut groups = Vec::new();
        for (field, kind) in [
            (Field::PreDepends, DepKind::PreDepends),
            (Field::Depends, DepKind::Depends),
        ] {
            groups.extend(
                self.parse_field(entry, field)?
                    .into_iter()
                    .map(|g| (kind, g)),
            );
        }
        if recommends {
            groups.extend(
                self.parse_field(entry, Field::Recommends)?
                    .into_iter()
                    .map(|g| (DepKind::Recommends, g)),
            );
        }
        Ok(Frame {
            member,
            groups,
            next: 0,
            recommends,
        })
    }

    /// Every version of `name` for our architecture, highest first; for
    /// equal versions the earlier suite wins.
    fn versions_of(&self, name: &str) -> Vec<Cand<'a>> {
        let mut out: Vec<Cand<'a>> = Vec::new();
        for (i, s) in self.suites.iter().enumerate() {
            for entry in s.index.lookup(name) {
                if let Some(version) = entry.version() {
                    out.push(Cand {
                        suite: i,
                        entry,
                        version,
                    });
                }
            }
        }
        out.sort_by(|a, b| b.version.cmp(&a.version).then(a.suite.cmp(&b.suite)));
        out.dedup_by(|a, b| a.version == b.version);
        out
    }

    fn arch_ok(&self, dep: &Dependency<'_>, entry: Entry<'_>) -> bool {
        match dep.arch {
            ArchQualifier::None | ArchQualifier::Native => true,
            ArchQualifier::Any => entry.multi_arch() == MultiArch::Allowed,
            ArchQualifier::Named(a) => a == self.arch || a == entry.arch(),
        }
    }

    fn provides_of(&self, entry: Entry<'a>) -> Vec<(&'a str, Option<Version<'a>>)> {
        // A malformed Provides provides nothing (apt ignores it as well).
        relation::parse(entry.get(Field::Provides), self.arch)
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .map(|d| {
                let v = match d.constraint {
                    Some((Relation::Eq, v)) => Some(v),
                    _ => None,
                };
                (d.name, v)
            })
            .collect()
    }

    fn conflicts_of(&self, entry: Entry<'a>) -> Vec<Dependency<'a>> {
        [Field::Conflicts, Field::Breaks]
            .into_iter()
            .flat_map(|f| relation::parse(entry.get(f), self.arch).unwrap_or_default())
            .flatten()
            .collect()
    }

    /// Whether `name`/`version`/`provides` falls under a Conflicts entry.
    fn hits(
        dep: &Dependency<'_>,
        name: &str,
        version: &Version<'_>,
        provides: &[(&str, Option<Version<'_>>)],
    ) -> bool {
        (dep.name == name && dep.version_matches(version))
            || provides.iter().any(|(p, pv)| {
                *p == dep.name
                    && (dep.constraint.is_none()
                        || pv.as_ref().is_some_and(|v| dep.version_matches(v)))
            })
    }

    /// The member a candidate would clash with, if any.
    fn conflict(&self, cand: &Cand<'a>) -> Option<&'a str> {
        let name = cand.entry.name();
        let provides = self.provides_of(cand.entry);
        let conflicts = self.conflicts_of(cand.entry);
        for m in &self.members {
            let mname = m.cand.entry.name();
            if mname == name {
                continue;
            }
            let theirs = conflicts
                .iter()
                .any(|c| Self::hits(c, mname, &m.cand.version, &m.provides));
            let ours = m
                .conflicts
                .iter()
                .any(|c| Self::hits(c, name, &cand.version, &provides));
            if theirs || ours {
                return Some(mname);
            }
        }
        None
    }

    fn member_satisfies(&self, dep: &Dependency<'_>, m: &Member<'a>) -> bool {
        let e = m.cand.entry;
        if !self.arch_ok(dep, e) {
            return false;
        }
        if e.name() == dep.name {
            return dep.version_matches(&m.cand.version);
        }
        m.provides.iter().any(|(p, pv)| {
            *p == dep.name
                && (dep.constraint.is_none() || pv.as_ref().is_some_and(|v| dep.version_matches(v)))
        })
    }

    fn satisfied_by_chosen(&self, dep: &Dependency<'_>) -> Option<usize> {
        if let Some(&i) = self.by_name.get(dep.name)
            && self.member_satisfies(dep, &self.members[i])
        {
            return Some(i);
        }
        self.provided
            .get(dep.name)?
            .iter()
            .copied()
            .find(|&i| self.member_satisfies(dep, &self.members[i]))
    }

    fn option_for(&self, dep: &Dependency<'_>) -> AltOption<'a> {
        let mut reason = String::new();
        if let Some(&i) = self.by_name.get(dep.name) {
            reason = format!(
                "{} {} is already chosen and does not satisfy it",
                dep.name, self.members[i].cand.version
            );
        } else {
            let versions = self.versions_of(dep.name);
            if !versions.is_empty() {
                match versions
                    .iter()
                    .find(|c| self.arch_ok(dep, c.entry) && dep.version_matches(&c.version))
                {
                    Some(c) => match self.conflict(c) {
                        None => return AltOption::Found(*c),
                        Some(other) => {
                            reason = format!("{} {} conflicts with {other}", dep.name, c.version)
                        }
                    },
                    None => {
                        let have: Vec<String> =
                            versions.iter().map(|c| c.version.to_string()).collect();
                        reason = format!(
                            "no version of {} fits (available: {})",
                            dep.name,
                            have.join(", ")
                        );
                    }
                }
            }
        }
        // Providers: each providing package's candidate version counts.
        let mut found: Vec<Cand<'a>> = Vec::new();
        for s in self.suites {
            for pname in s.index.providers(dep.name) {
                if self.by_name.contains_key(pname) || found.iter().any(|c| c.entry.name() == pname)
                {
                    continue;
                }
                let Some(cand) = self.versions_of(pname).into_iter().next() else {
                    continue;
                };
                let provided = self
                    .provides_of(cand.entry)
                    .into_iter()
                    .find(|(n, _)| *n == dep.name);
                let version_ok = match (&dep.constraint, provided) {
                    (None, Some(_)) => true,
                    (Some(_), Some((_, Some(v)))) => dep.version_matches(&v),
                    _ => false,
                };
                if version_ok && self.arch_ok(dep, cand.entry) && self.conflict(&cand).is_none() {
                    found.push(cand);
                }
            }
        }
        match found.len() {
            1 => AltOption::Found(found[0]),
            0 => AltOption::None(if reason.is_empty() {
                format!("no package {} or provider of it", dep.name)
            } else {
                reason
            }),
            _ => {
                let mut names: Vec<String> =
                    found.iter().map(|c| c.entry.name().to_string()).collect();
                names.sort();
                AltOption::Ambiguous(names)
            }
        }
    }

    fn pick(&self, group: &[Dependency<'_>]) -> Result<Pick<'a>, Failure> {
        for dep in group {
            if let Some(i) = self.satisfied_by_chosen(dep) {
                return Ok(Pick::Existing(i));
            }
        }
        let mut reasons = Vec::new();
        for dep in group {
            match self.option_for(dep) {
                AltOption::Found(c) => return Ok(Pick::New(c)),
                AltOption::Ambiguous(providers) => {
                    return Err(Failure::Ambiguous {
                        name: dep.name.to_string(),
                        providers,
                    });
                }
                AltOption::None(reason) => reasons.push(reason),
            }
        }
        Err(Failure::Unsatisfiable(reasons.join("; ")))
    }

    fn choose(&mut self, cand: Cand<'a>) -> Result<usize, StoreError> {
        let i = self.members.len();
        let name = cand.entry.name();
        let provides = self.provides_of(cand.entry);
        for (p, _) in &provides {
            self.provided.entry(p).or_default().push(i);
        }
        let conflicts = self.conflicts_of(cand.entry);
        self.members.push(Member {
            cand,
            provides,
            conflicts,
            edges: Vec::new(),
        });
        self.by_name.insert(name, i);
        Ok(i)
    }

    fn suite_names(&self) -> String {
        self.suites
            .iter()
            .map(|s| s.suite)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Mark a request: the highest version fitting its constraint, or the
    /// single provider of a virtual name.
    fn request(&mut self, req: &PackageRequest) -> Result<usize, StoreError> {
        let bad = |reason: String| StoreError::Request {
            request: req.display(),
            reason,
        };
        if let Some(a) = &req.arch
            && !(a == self.arch || a == "native" || a == "any" || a == "all")
        {
            return Err(bad(format!(
                "architecture {a} is not configured (resolving for {})",
                self.arch
            )));
        }
        let constraint = match &req.version {
            None => None,
            Some(c) => {
                let rel =
                    Relation::parse(&c.op).ok_or_else(|| bad(format!("bad relation {}", c.op)))?;
                let v = Version::parse(&c.version).map_err(|e| bad(e.to_string()))?;
                Some((rel, v))
            }
        };
        let fits = |v: &Version<'_>| {
            constraint
                .as_ref()
                .is_none_or(|(rel, want)| rel.holds(v, want))
        };
        if let Some(&i) = self.by_name.get(req.name.as_str()) {
            let m = &self.members[i];
            if fits(&m.cand.version) {
                return Ok(i);
            }
            return Err(bad(format!(
                "{} {} was already requested",
                req.name, m.cand.version
            )));
        }
        let versions = self.versions_of(&req.name);
        if !versions.is_empty() {
            let Some(c) = versions.iter().find(|c| fits(&c.version)).copied() else {
                let have: Vec<String> = versions.iter().map(|c| c.version.to_string()).collect();
                return Err(bad(format!(
                    "no version fits (available: {})",
                    have.join(", ")
                )));
            };
            if let Some(other) = self.conflict(&c) {
                return Err(bad(format!(
                    "{} {} conflicts with {other}",
                    req.name, c.version
                )));
            }
            return self.choose(c);
        }
        let dep_text = req.name.clone();
        let dep = relation::parse(&dep_text, self.arch)
            .ok()
            .and_then(|g| g.into_iter().next())
            .and_then(|g| g.into_iter().next());
        let Some(dep) = dep else {
            return Err(bad("not a package name".into()));
        };
        if let Some(i) = self.satisfied_by_chosen(&dep) {
            return Ok(i);
        }
        match self.option_for(&dep) {
            AltOption::Found(c) if constraint.is_none() => self.choose(c),
            AltOption::Found(_) => Err(bad(format!(
                "{} is a virtual package; a version cannot be requested",
                req.name
            ))),
            AltOption::Ambiguous(providers) => Err(StoreError::Ambiguous {
                name: req.name.clone(),
                providers,
                wanted_by: req.origin.clone(),
            }),
            AltOption::None(_) => Err(StoreError::NoSuchPackage {
                name: req.name.clone(),
                wanted_by: req.origin.clone(),
                suites: self.suite_names(),
            }),
        }
    }
}

fn field_name(field: Field) -> &'static str {
    match field {
        Field::PreDepends => "Pre-Depends",
        Field::Depends => "Depends",
        Field::Recommends => "Recommends",
        Field::Provides => "Provides",
        Field::Conflicts => "Conflicts",
        Field::Breaks => "Breaks",
        _ => "field",
    }
}
