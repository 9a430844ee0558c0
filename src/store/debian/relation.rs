//! Dependency fields: `a (>= 1.0) | b:any, c [amd64] <!nocheck>`.
//!
//! Groups are separated by `,`, alternatives by `|`. Architecture lists and
//! build profiles belong to source packages; they are parsed so a stray one
//! does not break resolution: an architecture list is evaluated against the
//! target architecture (names, `any`, `<os>-any`, `!` negation), profiles
//! are ignored (binary packages are built already).

use std::fmt;

use super::version::{BadVersion, Relation, Version};

/// The architecture qualifier after `:` in a dependency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchQualifier<'a> {
    /// No qualifier: the package of the depender's architecture (or `all`).
    None,
    /// `:any`: satisfied by a package marked `Multi-Arch: allowed`.
    Any,
    /// `:native`
    Native,
    /// An explicit architecture.
    Named(&'a str),
}

/// One alternative of a dependency.
#[derive(Clone, Debug)]
pub struct Dependency<'a> {
    pub name: &'a str,
    pub arch: ArchQualifier<'a>,
    pub constraint: Option<(Relation, Version<'a>)>,
    /// The alternative as written, whitespace-normalised (for reports).
    text: String,
}

impl<'a> Dependency<'a> {
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether `version` satisfies the version part (no constraint: any).
    pub fn version_matches(&self, version: &Version<'_>) -> bool {
        match &self.constraint {
            None => true,
            Some((rel, want)) => rel.holds(version, want),
        }
    }
}

impl fmt::Display for Dependency<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A group of alternatives; satisfied by any one of them.
pub type Group<'a> = Vec<Dependency<'a>>;

/// Render a group as Debian writes it: `a (>= 1) | b`.
pub fn group_text(group: &[Dependency<'_>]) -> String {
    group
        .iter()
        .map(|d| d.text.as_str())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum BadRelation {
    #[error("dependency {text:?}: {reason}")]
    Syntax { text: String, reason: &'static str },
    #[error("dependency {text:?}: {source}")]
    Version {
        text: String,
        #[source]
        source: BadVersion,
    },
}

/// Parse a dependency field (Depends, Pre-Depends, Recommends, Conflicts,
/// Breaks, Provides). Alternatives whose architecture list excludes `arch`
/// are dropped; a group left empty by that is dropped too.
pub fn parse<'a>(field: &'a str, arch: &str) -> Result<Vec<Group<'a>>, BadRelation> {
    let mut groups = Vec::new();
    for group_text in field.split(',') {
        if group_text.trim().is_empty() {
            continue;
        }
        let mut group = Vec::new();
        let mut any_alternative = false;
        for alt in group_text.split('|') {
            any_alternative = true;
            if let Some(dep) = parse_one(alt, arch)? {
                group.push(dep);
            }
        }
        if any_alternative && !group.is_empty() {
            groups.push(group);
        }
    }
    Ok(groups)
}

fn parse_one<'a>(text: &'a str, arch: &str) -> Result<Option<Dependency<'a>>, BadRelation> {
    let err = |reason| BadRelation::Syntax {
        text: text.trim().to_string(),
        reason,
    };
    let s = text.trim();
    if s.is_empty() {
        return Err(err("empty alternative"));
    }
    let name_end = s
        .find(|c: char| c.is_ascii_whitespace() || "([<".contains(c))
        .unwrap_or(s.len());
    let (name_arch, mut rest) = s.split_at(name_end);
    let (name, qualifier) = match name_arch.split_once(':') {
        None => (name_arch, ArchQualifier::None),
        Some((n, "any")) => (n, ArchQualifier::Any),
        Some((n, "native")) => (n, ArchQualifier::Native),
        Some((n, a)) if !a.is_empty() => (n, ArchQualifier::Named(a)),
        Some(_) => return Err(err("empty architecture qualifier")),
    };
    if !valid_package_name(name) {
        return Err(err("bad package name"));
    }
    let mut constraint = None;
    let mut arch_ok = true;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix('(') {
            let close = r.find(')').ok_or_else(|| err("unclosed `(`"))?;
            let inner = r[..close].trim();
            let op_len = inner
                .find(|c: char| !"<>=".contains(c))
                .unwrap_or(inner.len());
            let rel = Relation::parse(&inner[..op_len]).ok_or_else(|| err("bad relation"))?;
            let version =
                Version::parse(inner[op_len..].trim()).map_err(|e| BadRelation::Version {
                    text: s.to_string(),
                    source: e,
                })?;
            if constraint.replace((rel, version)).is_some() {
                return Err(err("two version constraints"));
            }
            rest = &r[close + 1..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']').ok_or_else(|| err("unclosed `[`"))?;
            arch_ok = arch_list_matches(&r[..close], arch);
            rest = &r[close + 1..];
        } else if let Some(r) = rest.strip_prefix('<') {
            let close = r.find('>').ok_or_else(|| err("unclosed `<`"))?;
            rest = &r[close + 1..];
        } else if rest.is_empty() {
            break;
        } else {
            return Err(err("unexpected text after the package name"));
        }
    }
    if !arch_ok {
        return Ok(None);
    }
    let text = match &constraint {
        Some((rel, v)) => format!("{name_arch} ({rel} {v})"),
        None => name_arch.to_string(),
    };
    Ok(Some(Dependency {
        name,
        arch: qualifier,
        constraint,
        text,
    }))
}

/// Debian policy 5.6.1: lower-case letters, digits, `+ - .`; at least two
/// characters, starting with an alphanumeric. Upper case is tolerated
/// (old archives carry a few such names).
pub fn valid_package_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
}

fn arch_list_matches(list: &str, arch: &str) -> bool {
    let items: Vec<&str> = list.split_ascii_whitespace().collect();
    if items.is_empty() {
        return true;
    }
    let matches = |pattern: &str| {
        pattern == arch || pattern == "any" || pattern == "linux-any" || pattern == "all"
    };
    if items.iter().all(|i| i.starts_with('!')) {
        !items.iter().any(|i| matches(&i[1..]))
    } else {
        items.iter().any(|i| !i.starts_with('!') && matches(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_alternatives_and_constraints() {
        let g = parse(
            "libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0,python3:any (>=3.11~),\n x (<< 2:1.0-1)",
            "amd64",
        )
        .unwrap();
        assert_eq!(g.len(), 4);
        assert_eq!(g[0][0].name, "libc6");
        assert_eq!(g[0][0].text(), "libc6 (>= 2.34)");
        assert_eq!(g[1].len(), 2);
        assert_eq!(group_text(&g[1]), "debconf (>= 0.5) | debconf-2.0");
        assert_eq!(g[2][0].arch, ArchQualifier::Any);
        assert_eq!(g[2][0].text(), "python3:any (>= 3.11~)");
        let (rel, v) = g[3][0].constraint.unwrap();
        assert_eq!((rel, v.epoch), (Relation::Less, 2));
    }

    #[test]
    fn obsolete_operators_and_arch_lists() {
        let g = parse("a (< 1), b (> 1), c [i386], d [!i386] <!nocheck>", "amd64").unwrap();
        assert_eq!(g.len(), 3);
        assert_eq!(g[0][0].constraint.unwrap().0, Relation::LessEq);
        assert_eq!(g[1][0].constraint.unwrap().0, Relation::GreaterEq);
        assert_eq!(g[2][0].name, "d");
    }

    #[test]
    fn errors() {
        for bad in [
            "a (>= )", "a (~ 1)", "a (>= 1", "a b", "(>= 1)", "a | ", "a:",
        ] {
            assert!(parse(bad, "amd64").is_err(), "{bad}");
        }
    }
}
