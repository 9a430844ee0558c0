//! File operations: mkdir, chown/chgrp, chmod, ln, touch, cp, mv, rm,
//! install.

use super::{Invocation, need, noop, opaque, or_opaque};
use crate::shell::analyze::{Arg, Recognized, Stream, Unknown};
use crate::shell::effect::{Effect, Manager};
use crate::shell::grammar::CachePathSpec;

fn effects(effects: Vec<Effect>) -> Recognized {
    Recognized {
        effects,
        stdout: Stream::Known(String::new()),
    }
}

/// An octal (`0755`) or symbolic (`u+x,go-w`, `a=rX`) mode.
pub(crate) fn valid_mode(m: &str) -> bool {
    if !m.is_empty() && m.len() <= 5 && m.chars().all(|c| ('0'..='7').contains(&c)) {
        return true;
    }
    !m.is_empty()
        && m.split(',').all(|clause| {
            let rest = clause.trim_start_matches(['u', 'g', 'o', 'a']);
            let mut chars = rest.chars().peekable();
            let mut actions = 0;
            while let Some(op) = chars.next() {
                if !matches!(op, '+' | '-' | '=') {
                    return false;
                }
                actions += 1;
                if chars.peek().is_some_and(|c| matches!(c, 'u' | 'g' | 'o')) {
                    chars.next();
                    continue;
                }
                while chars.peek().is_some_and(|c| "rwxXst".contains(*c)) {
                    chars.next();
                }
            }
            actions > 0
        })
}

fn mode(inv: &Invocation<'_>, key: &str) -> Result<Option<String>, String> {
    match inv.parsed.last(key) {
        Some(a) => {
            let m = need(a, "mode")?;
            if valid_mode(m) {
                Ok(Some(m.to_string()))
            } else {
                Err(format!("`{m}` is not a file mode"))
            }
        }
        None => Ok(None),
    }
}

pub(crate) fn mkdir(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    or_opaque(
        span,
        (|| {
            let p = inv.parsed;
            if p.operands.is_empty() {
                return Err("`mkdir` without a directory".into());
            }
            Ok(Recognized::effect(Effect::MakeDir {
                paths: p.operands.clone(),
                parents: p.has("parents"),
                mode: mode(inv, "mode")?,
                span,
            }))
        })(),
    )
}

/// `OWNER`, `OWNER:GROUP`, `OWNER:`, `:GROUP`, `OWNER.GROUP` (the old
/// separator, read as one when there is no `:`).
fn owner_spec(v: &str) -> Result<(Option<String>, Option<String>), String> {
    let (user, group) = match v.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => match v.split_once('.') {
            Some((u, g)) if !u.is_empty() && !g.is_empty() => (u, Some(g)),
            _ => (v, None),
        },
    };
    let ok = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$'))
    };
    if !ok(user)
        || group.is_some_and(|g| !ok(g))
        || (user.is_empty() && group.is_none_or(str::is_empty))
    {
        return Err(format!("`{v}` is not an owner"));
    }
    // `OWNER:` means the owner's login group, which only the account
    // database knows: recorded as the owner with no group.
    let group = group.filter(|g| !g.is_empty());
    Ok((
        (!user.is_empty()).then(|| user.to_string()),
        group.map(str::to_string),
    ))
}

pub(crate) fn chown(inv: &Invocation<'_>, chgrp: bool) -> Recognized {
    let span = inv.span;
    or_opaque(
        span,
        (|| {
            let p = inv.parsed;
            if p.has("reference") {
                return Err("copies the owner of another file".into());
            }
            if p.has("from") {
                return Err("`--from` changes only files with a given owner".into());
            }
            let Some((spec, paths)) = p.operands.split_first() else {
                return Err(format!("`{}` without an owner", inv.invoked));
            };
            if paths.is_empty() {
                return Err(format!("`{}` without a file", inv.invoked));
            }
            let v = need(spec, if chgrp { "group" } else { "owner" })?;
            let (user, group) = if chgrp {
                let (g, _) = owner_spec(v)?;
                (None, g)
            } else {
                owner_spec(v)?
            };
            Ok(Recognized::effect(Effect::Chown {
                paths: paths.to_vec(),
                user,
                group,
                recursive: p.has("recursive"),
                span,
            }))
        })(),
    )
}

pub(crate) fn chmod(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    or_opaque(
        span,
        (|| {
            let p = inv.parsed;
            if p.has("reference") {
                return Err("copies the mode of another file".into());
            }
            let Some((m, paths)) = p.operands.split_first() else {
                return Err("`chmod` without a mode".into());
            };
            if paths.is_empty() {
                return Err("`chmod` without a file".into());
            }
            let m = need(m, "mode")?;
            if !valid_mode(m) {
                return Err(format!("`{m}` is not a file mode"));
            }
            Ok(Recognized::effect(Effect::Chmod {
                paths: paths.to_vec(),
                mode: m.to_string(),
                recursive: p.has("recursive"),
                span,
            }))
        })(),
    )
}

fn last_component(a: &Arg) -> Arg {
    match a.known() {
        Some(v) => {
            let base = v.trim_end_matches('/').rsplit('/').next().unwrap_or(v);
            a.with_value(base)
        }
        None => a.clone(),
    }
}

pub(crate) fn ln(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    or_opaque(
        span,
        (|| {
            let p = inv.parsed;
            if p.has("relative") {
                return Err("`ln -r` computes a relative target".into());
            }
            if p.has("backup") {
                return Err("`ln -b` keeps a backup of the destination".into());
            }
            let symbolic = p.has("symbolic");
            let force = p.has("force");
            let no_target_directory = p.has("no-target-directory") || p.has("no-dereference");
            let make = |target: Arg, link: Arg| {
                if symbolic {
                    Effect::Symlink {
                        target,
                        link,
                        force,
                        no_target_directory,
                        span,
                    }
                } else {
                    Effect::HardLink {
                        target,
                        link,
                        force,
                        span,
                    }
                }
            };
            let ops = &p.operands;
            if let Some(dir) = p.last("target-directory") {
                if ops.is_empty() {
                    return Err("`ln -t` without a target".into());
                }
                return Ok(effects(
                    ops.iter().map(|t| make(t.clone(), dir.clone())).collect(),
                ));
            }
            Ok(match ops.as_slice() {
                [] => return Err("`ln` without a target".into()),
                [t] => effects(vec![make(t.clone(), last_component(t))]),
                [t, l] => effects(vec![make(t.clone(), l.clone())]),
                [targets @ .., dir] => {
                    if p.has("no-target-directory") {
                        return Err("`ln -T` with more than two operands".into());
                    }
                    effects(
                        targets
                            .iter()
                            .map(|t| make(t.clone(), dir.clone()))
                            .collect(),
                    )
                }
            })
        })(),
    )
}

pub(crate) fn touch(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let p = inv.parsed;
    if p.operands.is_empty() {
        return opaque(span, "`touch` without a file");
    }
    if p.has("no-create") {
        return noop(span, "updates timestamps of existing files only");
    }
    Recognized::effect(Effect::Touch {
        paths: p.operands.clone(),
        span,
    })
}

fn sources_and_dest(inv: &Invocation<'_>) -> Result<(Vec<Arg>, Arg), String> {
    let p = inv.parsed;
    if let Some(dir) = p.last("target-directory") {
        if p.operands.is_empty() {
            return Err(format!("`{}` without a source", inv.invoked));
        }
        return Ok((p.operands.clone(), dir.clone()));
    }
    match p.operands.split_last() {
        Some((dest, sources)) if !sources.is_empty() => {
            if sources.len() > 1 && p.has("no-target-directory") {
                return Err(format!("`{} -T` with more than one source", inv.invoked));
            }
            Ok((sources.to_vec(), dest.clone()))
        }
        _ => Err(format!(
            "`{}` needs a source and a destination",
            inv.invoked
        )),
    }
}

pub(crate) fn cp(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    or_opaque(
        span,
        (|| {
            let p = inv.parsed;
            for (key, what) in [
                ("link", "hard-links instead of copying"),
                ("symbolic-link", "symlinks instead of copying"),
                ("parents", "recreates source paths under the destination"),
            ] {
                if p.has(key) {
                    return Err(format!("`cp` {what}"));
                }
            }
            let (sources, dest) = sources_and_dest(inv)?;
            Ok(Recognized::effect(Effect::CopyPath {
                sources,
                dest,
                recursive: p.has("recursive") || p.has("archive"),
                preserve: p.has("archive") || p.has("preserve"),
                span,
            }))
        })(),
    )
}

pub(crate) fn mv(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    or_opaque(
        span,
        (|| {
            let (sources, dest) = sources_and_dest(inv)?;
            Ok(Recognized::effect(Effect::MovePath {
                sources,
                dest,
                span,
            }))
        })(),
    )
}

fn manager_named(s: &str) -> Option<Manager> {
    Some(match s {
        "apt" => Manager::Apt,
        "dpkg" => Manager::Dpkg,
        "apk" => Manager::Apk,
        "dnf" => Manager::Dnf,
        "yum" => Manager::Yum,
        "microdnf" => Manager::Microdnf,
        "pip" => Manager::Pip,
        "nix" => Manager::Nix,
        "npm" => Manager::Npm,
        "gem" => Manager::Gem,
        _ => return None,
    })
}

/// The cache path a removed path falls under. Paths under a home
/// directory that is not known are matched as written (`~/.cache/pip`).
fn cache_path<'s>(caches: &'s [CachePathSpec], a: &Arg) -> Option<&'s CachePathSpec> {
    let v = match a.known() {
        Some(v) => v.to_string(),
        None if a
            .unknown
            .iter()
            .all(|u| matches!(u, Unknown::HomeDirectory { user: None })) =>
        {
            a.text.trim_matches(['"', '\'']).to_string()
        }
        None => return None,
    };
    let v = v.trim_end_matches('/');
    caches.iter().find(|c| {
        let cp = c.path.trim_end_matches('/');
        v == cp || v.strip_prefix(cp).is_some_and(|r| r.starts_with('/'))
    })
}

pub(crate) fn rm(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let p = inv.parsed;
    if p.operands.is_empty() {
        return if p.has("force") {
            noop(span, "removes nothing: no file is named")
        } else {
            opaque(span, "`rm` without a file")
        };
    }
    let caches = &inv.spec.cache_paths;
    let mut cache = Vec::new();
    let mut managers = Vec::new();
    let mut other = Vec::new();
    for a in &p.operands {
        match cache_path(caches, a) {
            Some(c) => {
                cache.push(a.clone());
                managers.push(c.manager.as_deref().and_then(manager_named));
            }
            None => other.push(a.clone()),
        }
    }
    let mut out = Vec::new();
    if !cache.is_empty() {
        let first = managers.first().copied().flatten();
        let manager = if managers.iter().all(|m| *m == first) {
            first
        } else {
            None
        };
        out.push(Effect::CacheCleanup {
            manager,
            paths: cache,
            span,
        });
    }
    if !other.is_empty() {
        out.push(Effect::RemovePaths {
            paths: other,
            recursive: p.has("recursive"),
            span,
        });
    }
    effects(out)
}

pub(crate) fn install(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    or_opaque(
        span,
        (|| {
            let p = inv.parsed;
            if p.has("strip") {
                return Err("`install -s` strips the installed binaries".into());
            }
            let m = mode(inv, "mode")?;
            let user = match p.last("owner") {
                Some(a) => Some(need(a, "owner")?.to_string()),
                None => None,
            };
            let group = match p.last("group") {
                Some(a) => Some(need(a, "group")?.to_string()),
                None => None,
            };
            let mut out = Vec::new();
            let targets: Vec<Arg>;
            if p.has("directory") {
                if p.operands.is_empty() {
                    return Err("`install -d` without a directory".into());
                }
                targets = p.operands.clone();
                out.push(Effect::MakeDir {
                    paths: targets.clone(),
                    parents: true,
                    mode: m.clone(),
                    span,
                });
            } else {
                let (sources, dest) = sources_and_dest(inv)?;
                if p.has("parents") {
                    out.push(Effect::MakeDir {
                        paths: vec![dest.clone()],
                        parents: true,
                        mode: None,
                        span,
                    });
                }
                targets = vec![dest.clone()];
                out.push(Effect::CopyPath {
                    sources,
                    dest,
                    recursive: false,
                    preserve: false,
                    span,
                });
                // The copies get mode 0755 unless -m says otherwise.
                out.push(Effect::Chmod {
                    paths: targets.clone(),
                    mode: m.clone().unwrap_or_else(|| "0755".into()),
                    recursive: false,
                    span,
                });
            }
            if user.is_some() || group.is_some() {
                out.push(Effect::Chown {
                    paths: targets,
                    user,
                    group,
                    recursive: false,
                    span,
                });
            }
            Ok(effects(out))
        })(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        for m in [
            "755",
            "0644",
            "4755",
            "u+x",
            "go-w",
            "a=rX",
            "u=rwx,g=rx,o=",
            "+x",
            "g+s",
            "o=u",
            "-w",
        ] {
            assert!(valid_mode(m), "{m}");
        }
        for m in ["", "999", "u", "x+", "u+q", "abc", "7777777"] {
            assert!(!valid_mode(m), "{m}");
        }
    }

    #[test]
    fn owners() {
        assert_eq!(
            owner_spec("nginx:nginx").unwrap(),
            (Some("nginx".into()), Some("nginx".into()))
        );
        assert_eq!(owner_spec("redis").unwrap(), (Some("redis".into()), None));
        assert_eq!(owner_spec(":staff").unwrap(), (None, Some("staff".into())));
        assert_eq!(
            owner_spec("1000:1000").unwrap(),
            (Some("1000".into()), Some("1000".into()))
        );
        assert_eq!(
            owner_spec("app.app").unwrap(),
            (Some("app".into()), Some("app".into()))
        );
        assert!(owner_spec(":").is_err());
        assert!(owner_spec("a b").is_err());
    }
}
