//! The data of `grammar/packages/slim.toml`: file rules and dlopen edges,
//! compiled to glob matchers.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use super::SlimError;

const SLIM_TOML: &str = include_str!("../../../grammar/packages/slim.toml");

/// The rule id of whole packages that nothing reaches.
pub const UNREACHABLE_PACKAGE: &str = "slim/unreachable-package";
pub(crate) const LOCALE_RULE: &str = "slim/locale";
pub(crate) const GCONV_RULE: &str = "slim/gconv";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlimFile {
    files: Vec<FileRuleData>,
    dlopen: Vec<DlopenData>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRuleData {
    id: String,
    reason: String,
    paths: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DlopenData {
    id: String,
    reason: String,
    when: Vec<String>,
    #[serde(default)]
    if_present: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    sonames: Vec<String>,
}

/// A glob over image paths: `*` stays within one component.
pub(crate) fn glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern).literal_separator(true).build()
}

fn set(patterns: &[String]) -> Result<GlobSet, globset::Error> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(glob(p)?);
    }
    b.build()
}

/// A file rule, with the configuration's exceptions added.
#[derive(Debug)]
pub(crate) struct FileRule {
    pub id: String,
    pub reason: String,
    paths: GlobSet,
    except: GlobSet,
}

impl FileRule {
    pub fn matches(&self, path: &str) -> bool {
        self.paths.is_match(path) && !self.except.is_match(path)
    }
}

/// A dlopen edge (see `slim.toml`).
#[derive(Debug)]
pub(crate) struct DlopenRule {
    pub id: String,
    pub reason: String,
    pub when: GlobSet,
    pub if_present: Vec<String>,
    /// Glob patterns, possibly with `{name}`.
    pub paths: Vec<String>,
    pub sonames: Vec<String>,
}

struct Data {
    files: Vec<FileRuleData>,
    dlopen: Vec<DlopenRule>,
}

fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| {
        // Compiled-in data covered by tests: a failure here is a shipped bug.
        let file: SlimFile =
            toml::from_str(SLIM_TOML).expect("grammar/packages/slim.toml is valid");
        let dlopen = file
            .dlopen
            .into_iter()
            .map(|d| DlopenRule {
                when: set(&d.when).expect("valid `when` globs in slim.toml"),
                id: d.id,
                reason: d.reason,
                if_present: d.if_present,
                paths: d.paths,
                sonames: d.sonames,
            })
            .collect();
        Data {
            files: file.files,
            dlopen,
        }
    })
}

/// Every rule id a configuration may name: file rules, dlopen edges and
/// [`UNREACHABLE_PACKAGE`].
pub fn rule_ids() -> Vec<&'static str> {
    let d = data();
    let mut ids: Vec<&str> = d.files.iter().map(|r| r.id.as_str()).collect();
    ids.extend(d.dlopen.iter().map(|r| r.id.as_str()));
    ids.push(UNREACHABLE_PACKAGE);
    ids
}

/// The reason of a rule id, for reports.
pub fn rule_reason(id: &str) -> Option<&'static str> {
    let d = data();
    if id == UNREACHABLE_PACKAGE {
        return Some("no kept program, library, interpreter or script reaches the package");
    }
    d.files
        .iter()
        .find(|r| r.id == id)
        .map(|r| r.reason.as_str())
        .or_else(|| {
            d.dlopen
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.reason.as_str())
        })
}

/// A configuration value that becomes part of a glob must be one plain path
/// component.
fn plain_component(kind: &'static str, value: &str) -> Result<(), SlimError> {
    let ok = !value.is_empty()
        && value != "."
        && value != ".."
        && !value.contains(['/', '\0', '*', '?', '[', ']', '{', '}', '\\', '!']);
    if ok {
        Ok(())
    } else {
        Err(SlimError::BadConfig {
            what: kind,
            value: value.to_string(),
        })
    }
}

/// The active file rules for a configuration.
pub(crate) fn file_rules(
    disabled: &BTreeSet<String>,
    keep_locales: &BTreeSet<String>,
    keep_gconv: &BTreeSet<String>,
) -> Result<Vec<FileRule>, SlimError> {
    let known = rule_ids();
    for id in disabled {
        if !known.contains(&id.as_str()) {
            return Err(SlimError::UnknownRule { id: id.clone() });
        }
    }
    for l in keep_locales {
        plain_component("locale name", l)?;
    }
    for g in keep_gconv {
        plain_component("gconv module name", g)?;
    }
    let mut out = Vec::new();
    for r in &data().files {
        if disabled.contains(&r.id) {
            continue;
        }
        let mut except = r.except.clone();
        if r.id == LOCALE_RULE {
            except.extend(
                keep_locales
                    .iter()
                    .map(|l| format!("usr/share/locale/{l}/**")),
            );
        }
        if r.id == GCONV_RULE {
            except.extend(keep_gconv.iter().map(|g| format!("**/gconv/{g}.so")));
        }
        out.push(FileRule {
            id: r.id.clone(),
            reason: r.reason.clone(),
            paths: set(&r.paths).expect("valid globs in slim.toml"),
            // Validated components above: these globs are well formed.
            except: set(&except).map_err(|e| SlimError::BadConfig {
                what: "exception glob",
                value: e.to_string(),
            })?,
        });
    }
    Ok(out)
}

/// The active dlopen edges.
pub(crate) fn dlopen_rules(disabled: &BTreeSet<String>) -> Vec<&'static DlopenRule> {
    data()
        .dlopen
        .iter()
        .filter(|r| !disabled.contains(&r.id))
        .collect()
}

/// Compile a dlopen `paths` pattern for the file name that triggered it.
pub(crate) fn expand_pattern(pattern: &str, name: &str) -> Option<GlobMatcher> {
    let escaped = globset::escape(name);
    glob(&pattern.replace("{name}", &escaped))
        .ok()
        .map(|g| g.compile_matcher())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_compiles_and_ids_are_unique() {
        let ids = rule_ids();
        let unique: BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "duplicate rule ids: {ids:?}");
        for id in &ids {
            assert!(rule_reason(id).is_some());
        }
        for r in &data().dlopen {
            for p in &r.paths {
                assert!(expand_pattern(p, "python3.11").is_some(), "{p}");
            }
        }
        let rules = file_rules(&BTreeSet::new(), &BTreeSet::new(), &BTreeSet::new()).unwrap();
        let doc = rules.iter().find(|r| r.id == "slim/doc").unwrap();
        assert!(doc.matches("usr/share/doc/curl/changelog.Debian.gz"));
        assert!(!doc.matches("usr/share/doc/curl/copyright"));
        assert!(!doc.matches("usr/share/doc/libgcc-s1"));
        assert!(doc.matches("usr/share/doc/curl/examples/a.c"));
    }

    #[test]
    fn config_is_validated() {
        let none = BTreeSet::new();
        let bad: BTreeSet<String> = ["slim/nope".to_string()].into();
        assert!(matches!(
            file_rules(&bad, &none, &none),
            Err(SlimError::UnknownRule { .. })
        ));
        let bad: BTreeSet<String> = ["../x".to_string()].into();
        assert!(matches!(
            file_rules(&none, &bad, &none),
            Err(SlimError::BadConfig { .. })
        ));
        let de: BTreeSet<String> = ["de".to_string()].into();
        let rules = file_rules(&none, &de, &none).unwrap();
        let loc = rules.iter().find(|r| r.id == LOCALE_RULE).unwrap();
        assert!(!loc.matches("usr/share/locale/de/LC_MESSAGES/curl.mo"));
        assert!(loc.matches("usr/share/locale/fr/LC_MESSAGES/curl.mo"));
    }
}
