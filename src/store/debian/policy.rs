//! Data-driven rules from `grammar/packages/debian.toml`: which packages only
//! serve maintainer scripts (pruned from closures) and which releases use
//! the merged-/usr layout.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

const POLICY_TOML: &str = include_str!("../../../grammar/packages/debian.toml");

#[derive(Debug, Deserialize)]
struct PolicyFile {
    script_only: Vec<ScriptOnlyEntry>,
    layout: LayoutEntry,
}

#[derive(Debug, Deserialize)]
struct ScriptOnlyEntry {
    name: String,
    reason: String,
    #[serde(default)]
    kept_for: Vec<String>,
    #[serde(default)]
    marks_group: bool,
}

#[derive(Debug, Deserialize)]
struct LayoutEntry {
    merged_usr: Vec<String>,
    split_usr: Vec<String>,
}

/// One script-only package.
#[derive(Clone, Debug)]
pub struct ScriptOnly {
    pub reason: String,
    kept_for: Vec<String>,
    pub marks_group: bool,
}

impl ScriptOnly {
    /// Whether a dependency from `dependent` on this package is a run-time
    /// one (the dependent is listed in `kept_for`).
    pub fn needed_at_run_time_by(&self, dependent: &str) -> bool {
        self.kept_for.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => dependent.starts_with(prefix),
            None => p == dependent,
        })
    }
}

/// The compiled-in policy.
#[derive(Debug)]
pub struct Policy {
    pub script_only: HashMap<String, ScriptOnly>,
    merged_usr: Vec<String>,
    split_usr: Vec<String>,
}

impl Policy {
    /// The policy compiled into the binary. The file is part of the source
    /// tree and checked by a unit test, so a parse failure here is a build
    /// defect; it degrades to "prune nothing, merged layout" rather than
    /// panicking.
    pub fn builtin() -> &'static Policy {
        static POLICY: OnceLock<Policy> = OnceLock::new();
        POLICY.get_or_init(|| {
            Policy::parse(POLICY_TOML).unwrap_or_else(|_| Policy {
                script_only: HashMap::new(),
                merged_usr: Vec::new(),
                split_usr: Vec::new(),
            })
        })
    }

    pub fn parse(text: &str) -> Result<Policy, toml::de::Error> {
        let file: PolicyFile = toml::from_str(text)?;
        Ok(Policy {
            script_only: file
                .script_only
                .into_iter()
                .map(|e| {
                    (
                        e.name,
                        ScriptOnly {
                            reason: e.reason,
                            kept_for: e.kept_for,
                            marks_group: e.marks_group,
                        },
                    )
                })
                .collect(),
            merged_usr: file.layout.merged_usr,
            split_usr: file.layout.split_usr,
        })
    }

    /// Whether images of `release` use merged-/usr. Unknown releases are
    /// new ones, and every release since bookworm and jammy is merged.
    pub fn merged_usr(&self, release: &str) -> bool {
        if self.merged_usr.iter().any(|r| r == release) {
            return true;
        }
        !self.split_usr.iter().any(|r| r == release)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_policy_parses() {
        let p = Policy::parse(POLICY_TOML).expect("grammar/packages/debian.toml");
        assert!(p.script_only.contains_key("debconf"));
        assert!(p.script_only["debconf-2.0"].marks_group);
        assert!(p.script_only["perl-base"].needed_at_run_time_by("libperl5.36"));
        assert!(!p.script_only["perl-base"].needed_at_run_time_by("debconf"));
        assert!(p.merged_usr("bookworm"));
        assert!(!p.merged_usr("bullseye"));
        assert!(p.merged_usr("some-future-release"));
    }
}
