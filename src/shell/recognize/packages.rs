//! Package managers: apt-get/apt, apt-mark, dpkg, apk, dnf/yum/microdnf,
//! pip, nix, npm, gem.

use super::{Invocation, need, noop, opaque, or_opaque};
use crate::shell::analyze::{Arg, Recognized};
use crate::shell::effect::*;
use crate::source::Span;

/// The known values of several arguments (names that matter), or why not.
fn names(args: &[Arg], what: &str) -> Result<Vec<String>, String> {
    args.iter()
        .map(|a| need(a, what).map(str::to_string))
        .collect()
}

fn values(inv: &Invocation<'_>, key: &str, what: &str) -> Result<Vec<String>, String> {
    inv.parsed
        .values(key)
        .map(|a| need(a, what).map(str::to_string))
        .collect()
}

fn install(
    manager: Manager,
    packages: Vec<PackageSpec>,
    options: InstallOptions,
    span: Span,
) -> Recognized {
    Recognized::effect(Effect::PackageInstall {
        manager,
        packages,
        options,
        span,
    })
}

fn repo_spec(name: String, span: Span) -> PackageSpec {
    PackageSpec {
        name,
        version: None,
        arch: None,
        release: None,
        extras: Vec::new(),
        marker: None,
        source: PackageSource::Repository,
        editable: false,
        span,
    }
}

fn eq(version: &str) -> Option<VersionConstraint> {
    Some(VersionConstraint {
        clauses: vec![VersionClause {
            op: VersionOp::Eq,
            version: version.to_string(),
        }],
    })
}

fn is_url(s: &str) -> bool {
    s.contains("://") || s.starts_with("git+") || s.starts_with("git@")
}

fn looks_like_path(s: &str) -> bool {
    s.starts_with('/') || s.starts_with("./") || s.starts_with("../") || s == "." || s == ".."
}

// ----- apt -----

/// `NAME`, `NAME=VERSION`, `NAME/RELEASE`, `NAME:ARCH[=VERSION]`, or a
/// `.deb` path.
pub(crate) fn apt_spec(arg: &Arg) -> Result<PackageSpec, String> {
    let v = need(arg, "package name")?;
    if v.ends_with(".deb") && (v.contains('/') || looks_like_path(v)) {
        return Ok(PackageSpec {
            source: PackageSource::LocalFile {
                path: v.to_string(),
            },
            ..repo_spec(v.to_string(), arg.span)
        });
    }
    let (rest, version) = match v.split_once('=') {
        Some((n, ver)) => (n, Some(ver)),
        None => (v, None),
    };
    let (rest, release) = match rest.split_once('/') {
        Some((n, r)) if version.is_none() => (n, Some(r)),
        Some(_) => return Err(format!("`{v}` is not a package name apt understands")),
        None => (rest, None),
    };
    let (name, arch) = match rest.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (rest, None),
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_'))
    };
    if !valid(name)
        || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || arch.is_some_and(|a| !valid(a))
        || version.is_some_and(str::is_empty)
    {
        return Err(format!("`{v}` is not a package name apt understands"));
    }
    if name.ends_with('-') || name.ends_with('+') {
        return Err(format!(
            "`{v}` uses apt's trailing `-`/`+` to remove or install within one command"
        ));
    }
    Ok(PackageSpec {
        version: version.and_then(eq),
        arch: arch.map(str::to_string),
        release: release.map(str::to_string),
        ..repo_spec(name.to_string(), arg.span)
    })
}

pub(crate) fn apt(inv: &Invocation<'_>) -> Recognized {
    or_opaque(inv.span, apt_inner(inv))
}

fn apt_inner(inv: &Invocation<'_>) -> Result<Recognized, String> {
    let span = inv.span;
    let p = inv.parsed;
    let config = values(inv, "config", "configuration option")?;
    if p.has("config-file") {
        return Err("`-c` reads an apt configuration file".into());
    }
    if p.has("simulate") {
        return Ok(noop(span, "only simulates (prints what would be done)"));
    }
    let Some(action) = p.action.as_deref() else {
        return Err(format!("`{}` without a subcommand", inv.invoked));
    };
    Ok(match action {
        "update" => Recognized::effect(Effect::PackageIndexUpdate {
            manager: Manager::Apt,
            span,
        }),
        "install" => {
            if p.has("download-only") {
                return Err("`--download-only` fills the package cache without installing".into());
            }
            if p.has("target-release") {
                return Err("`-t` picks packages from another release".into());
            }
            let packages = p
                .operands
                .iter()
                .map(apt_spec)
                .collect::<Result<Vec<_>, _>>()?;
            if packages.is_empty() {
                return Ok(noop(span, "installs nothing: no package is named"));
            }
            install(
                Manager::Apt,
                packages,
                InstallOptions {
                    assume_yes: p.has("yes"),
                    no_install_recommends: p.has("no-install-recommends"),
                    install_suggests: p.has("install-suggests"),
                    allow_untrusted: p.has("allow-unauthenticated"),
                    config,
                    ..InstallOptions::default()
                },
                span,
            )
        }
        "remove" | "purge" => Recognized::effect(Effect::PackageRemove {
            virtual_groups: Vec::new(),
            manager: Manager::Apt,
            names: names(&p.operands, "package name")?,
            purge: action == "purge" || p.has("purge"),
            auto_remove: p.has("auto-remove"),
            config,
            span,
        }),
        "autoremove" | "autopurge" => Recognized::effect(Effect::PackageAutoremove {
            manager: Manager::Apt,
            purge: action == "autopurge" || p.has("purge"),
            config,
            span,
        }),
        "clean" => Recognized::effect(Effect::CacheCleanup {
            manager: Some(Manager::Apt),
            paths: Vec::new(),
            span,
        }),
        "upgrade" | "dist-upgrade" => Recognized::effect(Effect::PackageUpgrade {
            manager: Manager::Apt,
            names: names(&p.operands, "package name")?,
            dist: action == "dist-upgrade",
            span,
        }),
        "query" => noop(span, "queries the package database (read-only)"),
        "build-dep" => return Err("installs the build dependencies of source packages".into()),
        "source" => return Err("downloads (and builds) source packages".into()),
        "download" => return Err("downloads .deb files into the working directory".into()),
        other => return Err(format!("apt action `{other}`")),
    })
}

pub(crate) fn apt_mark(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let p = inv.parsed;
    if p.has("file") {
        return opaque(span, "`apt-mark -f` uses another state file");
    }
    let mode = match p.action.as_deref() {
        Some("auto") => AptMarkMode::Auto,
        Some("manual") => AptMarkMode::Manual,
        Some("hold") => AptMarkMode::Hold,
        Some("unhold") => AptMarkMode::Unhold,
        Some("query") => {
            return Recognized {
                effects: vec![Effect::NoOp {
                    reason: "lists package marks (read-only)".into(),
                    span,
                }],
                stdout: crate::shell::analyze::Stream::Unknown {
                    from: "the list of package marks".into(),
                },
            };
        }
        Some("minimize-manual") => return opaque(span, "`apt-mark minimize-manual`"),
        _ => return opaque(span, "`apt-mark` without a subcommand"),
    };
    Recognized::effect(Effect::AptMark {
        mode,
        names: p.operands.clone(),
        span,
    })
}

pub(crate) fn dpkg(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let p = inv.parsed;
    match p.action.as_deref() {
        Some("install") => {
            if p.has("recursive") {
                return opaque(span, "`dpkg -R` installs every .deb under a directory");
            }
            let paths = match names(&p.operands, ".deb file") {
                Ok(n) => n,
                Err(e) => return opaque(span, e),
            };
            let packages = paths
                .into_iter()
                .zip(&p.operands)
                .map(|(path, a)| PackageSpec {
                    source: PackageSource::LocalFile { path: path.clone() },
                    ..repo_spec(path, a.span)
                })
                .collect();
            install(Manager::Dpkg, packages, InstallOptions::default(), span)
        }
        Some(action @ ("remove" | "purge")) => match names(&p.operands, "package name") {
            Ok(names) => Recognized::effect(Effect::PackageRemove {
                virtual_groups: Vec::new(),
                manager: Manager::Dpkg,
                names,
                purge: action == "purge",
                auto_remove: false,
                config: Vec::new(),
                span,
            }),
            Err(e) => opaque(span, e),
        },
        Some("query") => Recognized {
            effects: vec![Effect::NoOp {
                reason: "queries the package database (read-only)".into(),
                span,
            }],
            stdout: crate::shell::analyze::Stream::Unknown {
                from: "a dpkg query".into(),
            },
        },
        Some("configure") => opaque(span, "`dpkg --configure` runs maintainer scripts"),
        Some("add-architecture") => opaque(
            span,
            "`dpkg --add-architecture` enables another architecture",
        ),
        _ => opaque(span, "`dpkg` without an action scratchify knows"),
    }
}

// ----- apk -----

/// `NAME`, `NAME=VER`, `NAME>VER`, `NAME>=VER`, `NAME<VER`, `NAME<=VER`,
/// `NAME~VER`, `NAME@TAG`, `so:`/`cmd:`/`pc:` provides, or an `.apk` path.
pub(crate) fn apk_spec(arg: &Arg) -> Result<PackageSpec, String> {
    let v = need(arg, "package name")?;
    if v.ends_with(".apk") && (v.contains('/') || looks_like_path(v)) {
        return Ok(PackageSpec {
            source: PackageSource::LocalFile {
                path: v.to_string(),
            },
            ..repo_spec(v.to_string(), arg.span)
        });
    }
    let split = v.find(['=', '<', '>', '~']);
    let (head, constraint) = match split {
        Some(k) => (&v[..k], Some(&v[k..])),
        None => (v, None),
    };
    let (name, tag) = match head.split_once('@') {
        Some((n, t)) => (n, Some(t)),
        None => (head, None),
    };
    let mut version = None;
    let mut tag = tag.map(str::to_string);
    if let Some(c) = constraint {
        let (op, rest) = [
            ("=~", VersionOp::Fuzzy),
            (">=", VersionOp::Ge),
            ("<=", VersionOp::Le),
            ("=", VersionOp::Eq),
            (">", VersionOp::Gt),
            ("<", VersionOp::Lt),
            ("~", VersionOp::Fuzzy),
        ]
        .into_iter()
        .find_map(|(t, op)| c.strip_prefix(t).map(|r| (op, r)))
        .ok_or_else(|| format!("`{v}` is not a package name apk understands"))?;
        let (ver, t) = match rest.split_once('@') {
            Some((ver, t)) => (ver, Some(t)),
            None => (rest, None),
        };
        if ver.is_empty() {
            return Err(format!("`{v}` has an empty version"));
        }
        if let Some(t) = t {
            tag = Some(t.to_string());
        }
        version = Some(VersionConstraint {
            clauses: vec![VersionClause {
                op,
                version: ver.to_string(),
            }],
        });
    }
    let provides = ["so:", "cmd:", "pc:"].iter().any(|p| name.starts_with(p));
    let valid = !name.is_empty()
        && (provides
            || name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_')));
    if !valid {
        return Err(format!("`{v}` is not a package name apk understands"));
    }
    Ok(PackageSpec {
        version,
        release: tag,
        ..repo_spec(name.to_string(), arg.span)
    })
}

pub(crate) fn apk(inv: &Invocation<'_>) -> Recognized {
    or_opaque(inv.span, apk_inner(inv))
}

fn apk_inner(inv: &Invocation<'_>) -> Result<Recognized, String> {
    let span = inv.span;
    let p = inv.parsed;
    for (key, what) in [
        ("repositories-file", "reads repositories from another file"),
        ("keys-dir", "trusts keys from another directory"),
        ("arch", "installs for another architecture"),
        ("initdb", "creates a new package database"),
    ] {
        if p.has(key) {
            return Err(format!("`apk` {what}"));
        }
    }
    if p.has("simulate") {
        return Ok(noop(span, "only simulates (prints what would be done)"));
    }
    let options = || -> Result<InstallOptions, String> {
        Ok(InstallOptions {
            no_cache: p.has("no-cache"),
            update_index: p.has("update-cache"),
            repositories: values(inv, "repository", "repository")?,
            allow_untrusted: p.has("allow-untrusted"),
            target: p.last("root").cloned(),
            ..InstallOptions::default()
        })
    };
    Ok(match p.action.as_deref() {
        Some("add") => {
            let virtual_group = match p.last("virtual") {
                Some(a) => Some(need(a, "virtual package name")?.to_string()),
                None => None,
            };
            let packages = p
                .operands
                .iter()
                .map(apk_spec)
                .collect::<Result<Vec<_>, _>>()?;
            if packages.is_empty() && virtual_group.is_none() {
                return Ok(noop(span, "installs nothing: no package is named"));
            }
            install(
                Manager::Apk,
                packages,
                InstallOptions {
                    virtual_group,
                    upgrade: p.has("upgrade"),
                    ..options()?
                },
                span,
            )
        }
        Some("del") => {
            if p.has("rdepends") {
                return Err("`apk del -r` also removes the packages that depend on these".into());
            }
            Recognized::effect(Effect::PackageRemove {
                virtual_groups: Vec::new(),
                manager: Manager::Apk,
                names: names(&p.operands, "package name")?,
                purge: p.has("purge"),
                auto_remove: true,
                config: Vec::new(),
                span,
            })
        }
        Some("update") => Recognized::effect(Effect::PackageIndexUpdate {
            manager: Manager::Apk,
            span,
        }),
        Some("upgrade") => Recognized::effect(Effect::PackageUpgrade {
            manager: Manager::Apk,
            names: names(&p.operands, "package name")?,
            dist: p.has("available"),
            span,
        }),
        Some("cache") => match p.operands.first().and_then(Arg::known) {
            Some("clean" | "purge") => Recognized::effect(Effect::CacheCleanup {
                manager: Some(Manager::Apk),
                paths: Vec::new(),
                span,
            }),
            _ => return Err("`apk cache` other than `clean`".into()),
        },
        Some("query") => Recognized {
            effects: vec![Effect::NoOp {
                reason: "queries packages (read-only)".into(),
                span,
            }],
            stdout: crate::shell::analyze::Stream::Unknown {
                from: "an apk query".into(),
            },
        },
        Some("fix") => return Err("`apk fix` repairs installed packages".into()),
        Some("index") => return Err("`apk index` builds a repository index".into()),
        _ => return Err("`apk` without a subcommand".into()),
    })
}

// ----- dnf / yum / microdnf -----

pub(crate) fn dnf(inv: &Invocation<'_>) -> Recognized {
    or_opaque(inv.span, dnf_inner(inv))
}

fn dnf_inner(inv: &Invocation<'_>) -> Result<Recognized, String> {
    let span = inv.span;
    let p = inv.parsed;
    let manager = match inv.invoked {
        "yum" => Manager::Yum,
        "microdnf" => Manager::Microdnf,
        _ => Manager::Dnf,
    };
    for (key, what) in [
        ("config", "reads another configuration file"),
        ("downloadonly", "downloads without installing"),
        ("forcearch", "installs for another architecture"),
        ("exclude", "excludes packages"),
        ("repo", "uses only one repository"),
    ] {
        if p.has(key) {
            return Err(format!("`{}` {what}", inv.invoked));
        }
    }
    let setopt = values(inv, "setopt", "option")?;
    Ok(match p.action.as_deref() {
        Some("install") => {
            let mut packages = Vec::new();
            for a in &p.operands {
                let v = need(a, "package name")?;
                let source = if is_url(v) {
                    PackageSource::Url { url: v.to_string() }
                } else if v.ends_with(".rpm") {
                    PackageSource::LocalFile {
                        path: v.to_string(),
                    }
                } else {
                    PackageSource::Repository
                };
                packages.push(PackageSpec {
                    source,
                    ..repo_spec(v.to_string(), a.span)
                });
            }
            if packages.is_empty() {
                return Ok(noop(span, "installs nothing: no package is named"));
            }
            let setting = |name: &str, values: &[&str]| {
                setopt.iter().any(|s| {
                    s.split_once('=')
                        .is_some_and(|(n, v)| n.trim() == name && values.contains(&v.trim()))
                })
            };
            let nodocs = p.has("nodocs") || setting("tsflags", &["nodocs"]);
            let no_cache = setting("keepcache", &["0", "False", "false"]);
            let no_weak =
                p.has("no-weak-deps") || setting("install_weak_deps", &["0", "False", "false"]);
            let mut repositories = values(inv, "enablerepo", "repository")?;
            repositories.extend(
                values(inv, "releasever", "release")?
                    .into_iter()
                    .map(|r| format!("releasever={r}")),
            );
            install(
                manager,
                packages,
                InstallOptions {
                    assume_yes: p.has("yes"),
                    no_docs: nodocs,
                    no_install_recommends: no_weak,
                    no_cache,
                    update_index: p.has("refresh"),
                    config: setopt,
                    repositories,
                    target: p.last("installroot").cloned(),
                    allow_untrusted: p.has("nogpgcheck"),
                    ..InstallOptions::default()
                },
                span,
            )
        }
        Some("remove") => Recognized::effect(Effect::PackageRemove {
            virtual_groups: Vec::new(),
            manager,
            names: names(&p.operands, "package name")?,
            purge: false,
            // dnf removes dependencies nothing needs any more by default
            // (clean_requirements_on_remove).
            auto_remove: true,
            config: setopt,
            span,
        }),
        Some("autoremove") => Recognized::effect(Effect::PackageAutoremove {
            manager,
            purge: false,
            config: setopt,
            span,
        }),
        Some("upgrade") => Recognized::effect(Effect::PackageUpgrade {
            manager,
            names: names(&p.operands, "package name")?,
            dist: false,
            span,
        }),
        Some("update") => Recognized::effect(Effect::PackageIndexUpdate { manager, span }),
        Some("clean") => {
            let what = names(&p.operands, "cache kind")?;
            if what.is_empty()
                || what.iter().any(|w| {
                    !matches!(
                        w.as_str(),
                        "all" | "packages" | "metadata" | "dbcache" | "expire-cache"
                    )
                })
            {
                return Err(format!(
                    "`{} clean` needs all, packages, metadata, dbcache or expire-cache",
                    inv.invoked
                ));
            }
            Recognized::effect(Effect::CacheCleanup {
                manager: Some(manager),
                paths: Vec::new(),
                span,
            })
        }
        Some("query") => noop(span, "queries packages (read-only)"),
        Some("module") => return Err("module streams are not modelled".into()),
        Some("config-manager") => return Err("changes repository configuration".into()),
        Some("groupinstall") => return Err("installs package groups".into()),
        _ => return Err(format!("`{}` without a subcommand", inv.invoked)),
    })
}

// ----- pip -----

/// A PEP 508 requirement (`name[extra]>=1,<2; marker`, `name @ url`), a
/// URL, or a local path (`.`, `./dir`, `dist/x.whl`).
pub(crate) fn pip_spec(arg: &Arg, editable: bool) -> Result<PackageSpec, String> {
    let raw = need(arg, "requirement")?;
    let v = raw.trim();
    let base = repo_spec(v.to_string(), arg.span);
    if let Some((name, url)) = v.split_once(" @ ").or_else(|| {
        v.split_once('@')
            .filter(|(n, u)| is_url(u.trim()) && !n.contains(['/', ':']))
    }) {
        let name = name.trim();
        if !valid_pypi_name(name) {
            return Err(format!("`{v}` is not a requirement pip understands"));
        }
        return Ok(PackageSpec {
            name: name.to_string(),
            source: PackageSource::Url {
                url: url.trim().to_string(),
            },
            editable,
            ..base
        });
    }
    if is_url(v) {
        return Ok(PackageSpec {
            source: PackageSource::Url { url: v.to_string() },
            editable,
            ..base
        });
    }
    let archive = [".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz"]
        .iter()
        .any(|s| v.ends_with(s));
    if looks_like_path(v) || v.contains('/') || archive || editable {
        let source = if archive {
            PackageSource::LocalFile {
                path: v.to_string(),
            }
        } else {
            PackageSource::Directory {
                path: v.to_string(),
            }
        };
        return Ok(PackageSpec {
            source,
            editable,
            ..base
        });
    }
    let (req, marker) = match v.split_once(';') {
        Some((r, m)) => (r.trim(), Some(m.trim().to_string())),
        None => (v, None),
    };
    let name_end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(req.len());
    let name = &req[..name_end];
    if !valid_pypi_name(name) {
        return Err(format!("`{v}` is not a requirement pip understands"));
    }
    let mut rest = req[name_end..].trim_start();
    let mut extras = Vec::new();
    if let Some(r) = rest.strip_prefix('[') {
        let Some((inner, after)) = r.split_once(']') else {
            return Err(format!("`{v}`: unclosed extras"));
        };
        extras = inner
            .split(',')
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect();
        rest = after.trim_start();
    }
    let rest = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(rest)
        .trim();
    let version = if rest.is_empty() {
        None
    } else {
        let mut clauses = Vec::new();
        for clause in rest.split(',') {
            let c = clause.trim();
            let (op, ver) = [
                ("===", VersionOp::Arbitrary),
                ("~=", VersionOp::Compatible),
                ("==", VersionOp::Eq),
                ("!=", VersionOp::Ne),
                ("<=", VersionOp::Le),
                (">=", VersionOp::Ge),
                ("<", VersionOp::Lt),
                (">", VersionOp::Gt),
            ]
            .into_iter()
            .find_map(|(t, op)| c.strip_prefix(t).map(|r| (op, r.trim())))
            .ok_or_else(|| format!("`{v}`: `{c}` is not a version specifier"))?;
            if ver.is_empty() || ver.contains(char::is_whitespace) {
                return Err(format!("`{v}`: `{c}` is not a version specifier"));
            }
            clauses.push(VersionClause {
                op,
                version: ver.to_string(),
            });
        }
        Some(VersionConstraint { clauses })
    };
    Ok(PackageSpec {
        name: name.to_string(),
        version,
        extras,
        marker,
        ..base
    })
}

fn valid_pypi_name(n: &str) -> bool {
    !n.is_empty()
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && n.starts_with(|c: char| c.is_ascii_alphanumeric())
        && n.ends_with(|c: char| c.is_ascii_alphanumeric())
}

pub(crate) fn pip(inv: &Invocation<'_>) -> Recognized {
    or_opaque(inv.span, pip_inner(inv))
}

fn pip_inner(inv: &Invocation<'_>) -> Result<Recognized, String> {
    let span = inv.span;
    let p = inv.parsed;
    if p.has("python") {
        return Err("`pip --python` installs into another interpreter".into());
    }
    Ok(match p.action.as_deref() {
        Some("install") => {
            for (key, what) in [
                ("platform", "installs for another platform"),
                ("python-version", "installs for another Python version"),
                ("abi", "installs for another ABI"),
                ("implementation", "installs for another implementation"),
                ("src", "checks editable projects out elsewhere"),
            ] {
                if p.has(key) {
                    return Err(format!("`pip install` {what}"));
                }
            }
            if p.has("dry-run") {
                return Ok(noop(span, "only resolves (dry run)"));
            }
            let mut packages = p
                .operands
                .iter()
                .map(|a| pip_spec(a, false))
                .collect::<Result<Vec<_>, _>>()?;
            for e in p.values("editable") {
                packages.push(pip_spec(e, true)?);
            }
            let requirements: Vec<Arg> = p.values("requirement").cloned().collect();
            let constraints: Vec<Arg> = p.values("constraint").cloned().collect();
            if packages.is_empty() && requirements.is_empty() {
                return Ok(noop(span, "installs nothing: no requirement is named"));
            }
            let mut repositories = values(inv, "index-url", "index URL")?;
            repositories.extend(values(inv, "extra-index-url", "index URL")?);
            repositories.extend(values(inv, "find-links", "find-links location")?);
            let target = p
                .last("target")
                .or_else(|| p.last("prefix"))
                .or_else(|| p.last("root"))
                .cloned();
            install(
                Manager::Pip,
                packages,
                InstallOptions {
                    no_cache: p.has("no-cache-dir"),
                    upgrade: p.has("upgrade"),
                    user: p.has("user"),
                    no_deps: p.has("no-deps"),
                    requirements,
                    constraints,
                    repositories,
                    target,
                    allow_untrusted: p.has("trusted-host"),
                    ..InstallOptions::default()
                },
                span,
            )
        }
        Some("uninstall") => {
            if p.has("requirement") {
                return Err("`pip uninstall -r` removes the packages listed in a file".into());
            }
            let mut out = Vec::new();
            for a in &p.operands {
                let spec = pip_spec(a, false)?;
                out.push(spec.name);
            }
            Recognized::effect(Effect::PackageRemove {
                virtual_groups: Vec::new(),
                manager: Manager::Pip,
                names: out,
                purge: false,
                auto_remove: false,
                config: Vec::new(),
                span,
            })
        }
        Some("cache") => match p.operands.first().and_then(Arg::known) {
            Some("purge" | "remove") => Recognized::effect(Effect::CacheCleanup {
                manager: Some(Manager::Pip),
                paths: Vec::new(),
                span,
            }),
            Some("dir" | "info" | "list") => noop(span, "inspects the cache (read-only)"),
            _ => return Err("`pip cache` without purge/remove".into()),
        },
        Some("query") => Recognized {
            effects: vec![Effect::NoOp {
                reason: "lists or checks installed packages (read-only)".into(),
                span,
            }],
            stdout: crate::shell::analyze::Stream::Unknown {
                from: "a pip query".into(),
            },
        },
        Some("download") => return Err("`pip download` saves packages without installing".into()),
        Some("wheel") => return Err("`pip wheel` builds wheels into a directory".into()),
        Some("config") => return Err("`pip config` changes pip's configuration".into()),
        _ if p.has("version") => noop(span, "prints pip's version (read-only)"),
        _ => return Err("`pip` without a subcommand".into()),
    })
}

// ----- nix -----

pub(crate) fn nix_env(inv: &Invocation<'_>) -> Recognized {
    or_opaque(inv.span, nix_env_inner(inv))
}

fn nix_env_inner(inv: &Invocation<'_>) -> Result<Recognized, String> {
    let span = inv.span;
    let p = inv.parsed;
    if p.has("profile") {
        return Err("`nix-env -p` uses another profile".into());
    }
    if p.has("dry-run") {
        return Ok(noop(span, "only prints what would be done"));
    }
    Ok(match p.action.as_deref() {
        Some("install") => {
            if p.has("remove-all") {
                return Err("`nix-env -r` replaces the whole profile".into());
            }
            let packages: Vec<PackageSpec> = p
                .operands
                .iter()
                .map(|a| {
                    need(
                        a,
                        if p.has("attr") {
                            "attribute path"
                        } else {
                            "package name"
                        },
                    )
                    .map(|v| repo_spec(v.to_string(), a.span))
                })
                .collect::<Result<_, _>>()?;
            if packages.is_empty() {
                return Err("`nix-env -i` with no package".into());
            }
            install(
                Manager::Nix,
                packages,
                InstallOptions {
                    repositories: values(inv, "file", "Nix expression")?,
                    attribute_paths: p.has("attr"),
                    ..InstallOptions::default()
                },
                span,
            )
        }
        Some("uninstall") => Recognized::effect(Effect::PackageRemove {
            virtual_groups: Vec::new(),
            manager: Manager::Nix,
            names: names(&p.operands, "package name")?,
            purge: false,
            auto_remove: false,
            config: Vec::new(),
            span,
        }),
        Some("upgrade") => Recognized::effect(Effect::PackageUpgrade {
            manager: Manager::Nix,
            names: names(&p.operands, "package name")?,
            dist: false,
            span,
        }),
        Some("query") => noop(span, "queries derivations (read-only)"),
        _ => return Err("`nix-env` without an operation".into()),
    })
}

pub(crate) fn nix(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let p = inv.parsed;
    let r = (|| -> Result<Recognized, String> {
        Ok(match p.action.as_deref() {
            Some("install") => {
                let packages: Vec<PackageSpec> = p
                    .operands
                    .iter()
                    .map(|a| need(a, "installable").map(|v| repo_spec(v.to_string(), a.span)))
                    .collect::<Result<_, _>>()?;
                if packages.is_empty() {
                    return Err("`nix profile install` with nothing to install".into());
                }
                if p.has("profile") {
                    return Err("`--profile` uses another profile".into());
                }
                install(
                    Manager::Nix,
                    packages,
                    InstallOptions {
                        attribute_paths: true,
                        ..InstallOptions::default()
                    },
                    span,
                )
            }
            Some("uninstall") => Recognized::effect(Effect::PackageRemove {
                virtual_groups: Vec::new(),
                manager: Manager::Nix,
                names: names(&p.operands, "package")?,
                purge: false,
                auto_remove: false,
                config: Vec::new(),
                span,
            }),
            Some("upgrade") => Recognized::effect(Effect::PackageUpgrade {
                manager: Manager::Nix,
                names: names(&p.operands, "package")?,
                dist: false,
                span,
            }),
            Some("gc") => Recognized::effect(Effect::CacheCleanup {
                manager: Some(Manager::Nix),
                paths: Vec::new(),
                span,
            }),
            Some("query") => noop(span, "queries the store (read-only)"),
            Some("build") => return Err("`nix build` builds derivations".into()),
            Some("run") => return Err("runs a program from the store".into()),
            Some(other) => return Err(format!("`nix {other}` is not modelled")),
            None => return Err("`nix` without a subcommand".into()),
        })
    })();
    or_opaque(span, r)
}

pub(crate) fn nix_channel(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    match inv.parsed.action.as_deref() {
        Some("update") => Recognized::effect(Effect::PackageIndexUpdate {
            manager: Manager::Nix,
            span,
        }),
        Some("query") => noop(span, "lists channels (read-only)"),
        Some(other) => opaque(
            span,
            format!("`nix-channel --{other}` changes the channels"),
        ),
        None => opaque(span, "`nix-channel` without an operation"),
    }
}

pub(crate) fn nix_gc(inv: &Invocation<'_>) -> Recognized {
    if inv.parsed.has("dry-run") {
        return noop(inv.span, "only prints what would be deleted");
    }
    Recognized::effect(Effect::CacheCleanup {
        manager: Some(Manager::Nix),
        paths: Vec::new(),
        span: inv.span,
    })
}

// ----- npm -----

/// `name`, `name@version`, `@scope/name@range`, a path or a URL.
pub(crate) fn npm_spec(arg: &Arg) -> Result<PackageSpec, String> {
    let v = need(arg, "package")?;
    let base = repo_spec(v.to_string(), arg.span);
    if is_url(v) || v.starts_with("github:") {
        return Ok(PackageSpec {
            source: PackageSource::Url { url: v.to_string() },
            ..base
        });
    }
    if looks_like_path(v) || v.ends_with(".tgz") || v.ends_with(".tar.gz") {
        let source = if v.ends_with(".tgz") || v.ends_with(".tar.gz") {
            PackageSource::LocalFile {
                path: v.to_string(),
            }
        } else {
            PackageSource::Directory {
                path: v.to_string(),
            }
        };
        return Ok(PackageSpec { source, ..base });
    }
    let (scope, rest) = match v.strip_prefix('@') {
        Some(r) => ("@", r),
        None => ("", v),
    };
    let (name, version) = match rest.split_once('@') {
        Some((n, ver)) => (format!("{scope}{n}"), Some(ver)),
        None => (format!("{scope}{rest}"), None),
    };
    let bare = name.trim_start_matches('@');
    let valid = !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/' | '~'))
        && bare.matches('/').count() == usize::from(!scope.is_empty());
    if !valid || version.is_some_and(str::is_empty) {
        return Err(format!("`{v}` is not a package npm understands"));
    }
    Ok(PackageSpec {
        name,
        version: version.map(|ver| VersionConstraint {
            clauses: vec![VersionClause {
                op: VersionOp::Spec,
                version: ver.to_string(),
            }],
        }),
        ..base
    })
}

pub(crate) fn npm(inv: &Invocation<'_>) -> Recognized {
    or_opaque(inv.span, npm_inner(inv))
}

fn npm_inner(inv: &Invocation<'_>) -> Result<Recognized, String> {
    let span = inv.span;
    let p = inv.parsed;
    let omit = values(inv, "omit", "dependency type")?;
    let options = || -> Result<InstallOptions, String> {
        Ok(InstallOptions {
            global: p.has("global"),
            omit_dev: p.has("production") || omit.iter().any(|o| o == "dev"),
            target: p.last("prefix").cloned(),
            repositories: values(inv, "registry", "registry")?,
            ..InstallOptions::default()
        })
    };
    Ok(match p.action.as_deref() {
        Some("install") => {
            let packages = p
                .operands
                .iter()
                .map(npm_spec)
                .collect::<Result<Vec<_>, _>>()?;
            let from_manifest = packages.is_empty();
            if from_manifest && p.has("global") {
                return Err(
                    "`npm install -g` with no package installs the current directory globally"
                        .into(),
                );
            }
            install(
                Manager::Npm,
                packages,
                InstallOptions {
                    from_manifest,
                    ..options()?
                },
                span,
            )
        }
        Some("ci") => install(
            Manager::Npm,
            Vec::new(),
            InstallOptions {
                from_manifest: true,
                ..options()?
            },
            span,
        ),
        Some("uninstall") => Recognized::effect(Effect::PackageRemove {
            virtual_groups: Vec::new(),
            manager: Manager::Npm,
            names: names(&p.operands, "package")?,
            purge: false,
            auto_remove: false,
            config: Vec::new(),
            span,
        }),
        Some("cache") => match p.operands.first().and_then(Arg::known) {
            Some("clean" | "clear" | "rm") => Recognized::effect(Effect::CacheCleanup {
                manager: Some(Manager::Npm),
                paths: Vec::new(),
                span,
            }),
            Some("verify" | "ls") => noop(span, "inspects the cache (read-only)"),
            _ => return Err("`npm cache` other than clean".into()),
        },
        Some("query") => noop(span, "lists packages (read-only)"),
        Some("run") => return Err("`npm run` runs a package.json script".into()),
        Some("prune") => return Err("`npm prune` removes packages not in package.json".into()),
        Some("config") => return Err("`npm config` changes npm's configuration".into()),
        _ if p.has("version") => noop(span, "prints npm's version (read-only)"),
        _ => return Err("`npm` without a subcommand".into()),
    })
}

// ----- gem -----

pub(crate) fn gem(inv: &Invocation<'_>) -> Recognized {
    or_opaque(inv.span, gem_inner(inv))
}

fn gem_inner(inv: &Invocation<'_>) -> Result<Recognized, String> {
    let span = inv.span;
    let p = inv.parsed;
    Ok(match p.action.as_deref() {
        Some("install") => {
            if p.has("platform") || p.has("bindir") {
                return Err("`gem install` for another platform or bindir".into());
            }
            let version = match p.last("version") {
                Some(a) => Some(need(a, "version")?.to_string()),
                None => None,
            };
            let mut packages = Vec::new();
            for a in &p.operands {
                let v = need(a, "gem name")?;
                let (name, ver) = match v.split_once(':') {
                    Some((n, ver)) => (n, Some(ver.to_string())),
                    None => (v, version.clone()),
                };
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                {
                    return Err(format!("`{v}` is not a gem name"));
                }
                let source = if name.ends_with(".gem") {
                    PackageSource::LocalFile {
                        path: v.to_string(),
                    }
                } else {
                    PackageSource::Repository
                };
                packages.push(PackageSpec {
                    version: ver.map(|ver| VersionConstraint {
                        clauses: vec![VersionClause {
                            op: VersionOp::Spec,
                            version: ver,
                        }],
                    }),
                    source,
                    ..repo_spec(name.to_string(), a.span)
                });
            }
            if packages.is_empty() {
                return Ok(noop(span, "installs nothing: no gem is named"));
            }
            install(
                Manager::Gem,
                packages,
                InstallOptions {
                    no_docs: p.has("no-document"),
                    target: p.last("install-dir").cloned(),
                    user: p.has("user-install"),
                    no_deps: p.has("ignore-dependencies"),
                    repositories: values(inv, "source", "gem source")?,
                    ..InstallOptions::default()
                },
                span,
            )
        }
        Some("uninstall") => Recognized::effect(Effect::PackageRemove {
            virtual_groups: Vec::new(),
            manager: Manager::Gem,
            names: names(&p.operands, "gem name")?,
            purge: false,
            auto_remove: false,
            config: Vec::new(),
            span,
        }),
        Some("upgrade") => {
            let mut n = names(&p.operands, "gem name")?;
            if p.has("system") {
                n.push("rubygems-update".into());
            }
            Recognized::effect(Effect::PackageUpgrade {
                manager: Manager::Gem,
                names: n,
                dist: false,
                span,
            })
        }
        Some("cleanup") => return Err("`gem cleanup` removes old gem versions".into()),
        Some("query") => noop(span, "lists gems (read-only)"),
        _ => return Err("`gem` without a subcommand".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg(s: &str) -> Arg {
        Arg::literal(s, Span::new(0, s.len()))
    }

    #[test]
    fn apt_specs() {
        let s = apt_spec(&arg("nginx=1.25.3-1~bookworm")).unwrap();
        assert_eq!(s.name, "nginx");
        assert_eq!(s.version, eq("1.25.3-1~bookworm"));
        let s = apt_spec(&arg("libc6:amd64=2.36-9")).unwrap();
        assert_eq!(
            (s.name.as_str(), s.arch.as_deref()),
            ("libc6", Some("amd64"))
        );
        let s = apt_spec(&arg("curl/bookworm-backports")).unwrap();
        assert_eq!(s.release.as_deref(), Some("bookworm-backports"));
        let s = apt_spec(&arg("./pkg_1.0_amd64.deb")).unwrap();
        assert_eq!(
            s.source,
            PackageSource::LocalFile {
                path: "./pkg_1.0_amd64.deb".into()
            }
        );
        assert!(apt_spec(&arg("foo-")).is_err());
        assert!(apt_spec(&arg("foo=")).is_err());
        assert!(apt_spec(&arg("a b")).is_err());
    }

    #[test]
    fn apk_specs() {
        let s = apk_spec(&arg("python3=3.11.6-r0")).unwrap();
        assert_eq!(s.name, "python3");
        assert_eq!(s.version.unwrap().clauses[0].op, VersionOp::Eq);
        let s = apk_spec(&arg("nginx>1.20")).unwrap();
        assert_eq!(
            s.version.unwrap().clauses[0],
            VersionClause {
                op: VersionOp::Gt,
                version: "1.20".into()
            }
        );
        let s = apk_spec(&arg("musl~1.2")).unwrap();
        assert_eq!(s.version.unwrap().clauses[0].op, VersionOp::Fuzzy);
        let s = apk_spec(&arg("tini@community")).unwrap();
        assert_eq!(
            (s.name.as_str(), s.release.as_deref()),
            ("tini", Some("community"))
        );
        let s = apk_spec(&arg("so:libssl.so.3")).unwrap();
        assert_eq!(s.name, "so:libssl.so.3");
        assert!(apk_spec(&arg("x=")).is_err());
    }

    #[test]
    fn pip_specs() {
        let s = pip_spec(&arg("setuptools==70.1.0"), false).unwrap();
        assert_eq!(s.version, eq("70.1.0"));
        let s = pip_spec(
            &arg("requests[security,socks]>=2.8.1,<3 ; python_version >= \"3.8\""),
            false,
        )
        .unwrap();
        assert_eq!(s.name, "requests");
        assert_eq!(s.extras, vec!["security", "socks"]);
        assert_eq!(s.version.as_ref().unwrap().clauses.len(), 2);
        assert_eq!(s.marker.as_deref(), Some("python_version >= \"3.8\""));
        let s = pip_spec(&arg("Django~=4.2"), false).unwrap();
        assert_eq!(s.version.unwrap().clauses[0].op, VersionOp::Compatible);
        let s = pip_spec(&arg("pkg @ git+https://example.invalid/x.git"), false).unwrap();
        assert_eq!(s.name, "pkg");
        assert!(matches!(s.source, PackageSource::Url { .. }));
        let s = pip_spec(&arg("."), true).unwrap();
        assert!(s.editable);
        assert_eq!(s.source, PackageSource::Directory { path: ".".into() });
        let s = pip_spec(&arg("dist/app-1.0-py3-none-any.whl"), false).unwrap();
        assert!(matches!(s.source, PackageSource::LocalFile { .. }));
        assert!(pip_spec(&arg("bad name"), false).is_err());
        assert!(pip_spec(&arg("x>=1 2"), false).is_err());
        assert!(pip_spec(&arg("-x"), false).is_err());
    }

    #[test]
    fn npm_specs() {
        let s = npm_spec(&arg("@angular/cli@^17.0.0")).unwrap();
        assert_eq!(s.name, "@angular/cli");
        assert_eq!(s.version.unwrap().clauses[0].version, "^17.0.0");
        let s = npm_spec(&arg("typescript")).unwrap();
        assert_eq!((s.name.as_str(), s.version), ("typescript", None));
        let s = npm_spec(&arg("pm2@latest")).unwrap();
        assert_eq!(s.version.unwrap().clauses[0].op, VersionOp::Spec);
        assert!(npm_spec(&arg("a/b")).is_err());
    }
}
