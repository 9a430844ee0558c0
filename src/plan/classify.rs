//! Build-only classification of packages, driven by
//! `grammar/packages/build-only.toml`.

use std::sync::OnceLock;

use globset::{Glob, GlobMatcher};
use serde::Deserialize;

use super::ir::Ecosystem;

const BUILD_ONLY_TOML: &str = include_str!("../../grammar/packages/build-only.toml");

#[derive(Debug, Deserialize)]
struct RulesFile {
    rule: Vec<RuleData>,
}

#[derive(Debug, Deserialize)]
struct RuleData {
    id: String,
    category: String,
    reason: String,
    #[serde(default)]
    debian: Vec<String>,
    #[serde(default)]
    alpine: Vec<String>,
    #[serde(default)]
    rpm: Vec<String>,
    #[serde(default)]
    pypi: Vec<String>,
    #[serde(default)]
    npm: Vec<String>,
    #[serde(default)]
    gem: Vec<String>,
    #[serde(default)]
    nix: Vec<String>,
}

/// A build-only rule: a stable id, the category the report counts it under,
/// and the reason shown to the user.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub category: String,
    pub reason: String,
    patterns: Vec<(Ecosystem, GlobMatcher)>,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        // Compiled-in data covered by tests: a failure here is a shipped bug.
        let file: RulesFile =
            toml::from_str(BUILD_ONLY_TOML).expect("grammar/packages/build-only.toml is valid");
        file.rule
            .into_iter()
            .map(|r| {
                let mut patterns = Vec::new();
                for (eco, names) in [
                    (Ecosystem::Debian, &r.debian),
                    (Ecosystem::Alpine, &r.alpine),
                    (Ecosystem::Rpm, &r.rpm),
                    (Ecosystem::Pypi, &r.pypi),
                    (Ecosystem::Npm, &r.npm),
                    (Ecosystem::Gem, &r.gem),
                    (Ecosystem::Nix, &r.nix),
                ] {
                    for n in names {
                        let glob = Glob::new(n).expect("valid glob in build-only.toml");
                        patterns.push((eco, glob.compile_matcher()));
                    }
                }
                Rule {
                    id: r.id,
                    category: r.category,
                    reason: r.reason,
                    patterns,
                }
            })
            .collect()
    })
}

/// PyPI names compare case-insensitively with `-`, `_` and `.` equivalent
/// (PEP 503); other ecosystems compare exactly.
pub fn normalize_name(eco: Ecosystem, name: &str) -> String {
    match eco {
        Ecosystem::Pypi => name
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c == '_' || c == '.' { '-' } else { c })
            .collect(),
        _ => name.to_string(),
    }
}

/// The first build-only rule that matches a package, if any.
pub fn build_only_rule(eco: Ecosystem, name: &str) -> Option<&'static Rule> {
    let name = normalize_name(eco, name);
    rules().iter().find(|r| {
        r.patterns
            .iter()
            .any(|(e, g)| *e == eco && g.is_match(&name))
    })
}

/// The rule with this id (for reports that need its reason or category).
pub fn rule_by_id(id: &str) -> Option<&'static Rule> {
    rules().iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(eco: Ecosystem, name: &str) -> Option<&'static str> {
        build_only_rule(eco, name).map(|r| r.id.as_str())
    }

    #[test]
    fn classifies_common_build_tools() {
        use Ecosystem::*;
        assert_eq!(id(Debian, "gcc"), Some("build-only/compiler"));
        assert_eq!(id(Debian, "gcc-12"), Some("build-only/compiler"));
        assert_eq!(id(Debian, "libssl-dev"), Some("build-only/headers"));
        assert_eq!(id(Debian, "make"), Some("build-only/build-tool"));
        assert_eq!(id(Debian, "curl"), Some("build-only/download-tool"));
        assert_eq!(id(Alpine, "musl-dev"), Some("build-only/compiler"));
        assert_eq!(id(Alpine, "py2-pip"), Some("build-only/package-manager"));
        assert_eq!(id(Rpm, "openssl-devel"), Some("build-only/headers"));
        assert_eq!(id(Pypi, "Setuptools"), Some("build-only/package-manager"));
        assert_eq!(id(Pypi, "setuptools_scm"), Some("build-only/build-tool"));
        assert_eq!(id(Debian, "nginx"), None);
        assert_eq!(id(Debian, "libssl3"), None);
        // Runtime bits of a toolchain (libgcc-s1 needs gcc-12-base) stay.
        assert_eq!(id(Debian, "gcc-12-base"), None);
        assert_eq!(id(Debian, "golang-1.22"), Some("build-only/compiler"));
        assert_eq!(id(Pypi, "flask"), None);
        assert!(rule_by_id("build-only/shell").is_some());
    }
}
