//! The catalogue of drop rules and finding codes: the words and the SARIF
//! metadata for each stable rule id a [`DroppedItem`](super::DroppedItem)
//! or [`Finding`](super::Finding) can carry.
//!
//! The plan decides *which* rule drops what; this table only says how a rule
//! is presented. Rule ids are matched exactly first, then by their family
//! (the part before `/`), so a new `build-only/<x>` id is presented sensibly
//! before it gets its own entry.

use std::borrow::Cow;

/// SARIF result level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    pub fn as_sarif(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// How a rule id is presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    pub id: String,
    /// A PascalCase name (SARIF `reportingDescriptor.name`).
    pub name: Cow<'static, str>,
    /// One sentence.
    pub short: Cow<'static, str>,
    /// A paragraph: what the rule means for the `docker build` image.
    pub full: Cow<'static, str>,
    /// Whether dropped items under this rule become SARIF results. Only the
    /// things a reviewer can act on in the Dockerfile do: build-only tooling
    /// it installs and base-image shells and package managers. Pruned
    /// documentation, script-only dependencies and replaced steps are
    /// scratchify's business and would only be noise in code scanning.
    pub code_scanning: bool,
    /// The SARIF level for its results.
    pub level: Level,
    /// Whether the id is in the catalogue (or its family is); the words of
    /// an uncatalogued id are generic, and a renderer may prefer its own.
    pub catalogued: bool,
}

struct Entry {
    id: &'static str,
    name: &'static str,
    short: &'static str,
    full: &'static str,
    code_scanning: bool,
    level: Level,
}

const RULES: &[Entry] = &[
    Entry {
        id: "build-only/compiler",
        name: "BuildOnlyCompiler",
        short: "A compiler or toolchain is installed only to build.",
        full: "Compilers, linkers and build systems are needed while the image is built, not when it runs. The `docker build` image ships them; scratchify leaves them out. Move the build into its own stage or let scratchify drop it.",
        code_scanning: true,
        level: Level::Warning,
    },
    Entry {
        id: "build-only/headers",
        name: "BuildOnlyHeaders",
        short: "Development headers or static libraries are installed only to build.",
        full: "`-dev` packages (headers, static libraries, pkg-config files) are read by compilers only. The `docker build` image ships them; scratchify leaves them out.",
        code_scanning: true,
        level: Level::Note,
    },
    Entry {
        id: "build-only/package-manager",
        name: "BuildOnlyPackageManager",
        short: "A package manager is installed or used only to build.",
        full: "A package manager in a running container lets anything that gets a shell install more software. The `docker build` image keeps it; scratchify installs the packages' closures directly and leaves the manager out.",
        code_scanning: true,
        level: Level::Warning,
    },
    Entry {
        id: "build-only/shell",
        name: "BuildOnlyShell",
        short: "A shell is present only to run build steps.",
        full: "RUN steps need a shell; the running application usually does not. The `docker build` image keeps it; scratchify leaves it out unless the entrypoint needs it.",
        code_scanning: true,
        level: Level::Warning,
    },
    Entry {
        id: "build-only/download-tool",
        name: "BuildOnlyDownloadTool",
        short: "A download tool is installed only to fetch build inputs.",
        full: "curl, wget, git and the like fetch things during the build. The `docker build` image ships them; scratchify leaves them out.",
        code_scanning: true,
        level: Level::Note,
    },
    Entry {
        id: "build-only/build-input",
        name: "BuildOnlyInput",
        short: "A file is copied in only to be read by a build step.",
        full: "Source files, requirement lists and archives that a RUN step consumes are not needed at run time. The `docker build` image ships them; scratchify leaves them out.",
        code_scanning: true,
        level: Level::Note,
    },
    Entry {
        id: "base/shell",
        name: "BaseImageShell",
        short: "The base image's shell is not needed at run time.",
        full: "The FROM image brings a shell that the `docker build` image keeps. scratchify starts from scratch and leaves it out unless the entrypoint needs it.",
        code_scanning: true,
        level: Level::Note,
    },
    Entry {
        id: "base/package-manager",
        name: "BaseImagePackageManager",
        short: "The base image's package manager is not needed at run time.",
        full: "The FROM image brings its package manager, which the `docker build` image keeps. scratchify starts from scratch and leaves it out.",
        code_scanning: true,
        level: Level::Note,
    },
    Entry {
        id: "base/content",
        name: "BaseImageContent",
        short: "Base image content that nothing at run time needs.",
        full: "Packages of the FROM image that are not in the runtime closure of what the image runs.",
        code_scanning: false,
        level: Level::Note,
    },
    Entry {
        id: "script-only",
        name: "ScriptOnlyDependency",
        short: "A dependency that only maintainer scripts use.",
        full: "Some dependencies (debconf, perl-base, dpkg, adduser, ...) exist only so that maintainer scripts can run. scratchify does not run the scripts; it synthesizes their run-time effects and leaves these dependencies out.",
        code_scanning: false,
        level: Level::Note,
    },
    Entry {
        id: "prune/docs",
        name: "PrunedDocumentation",
        short: "Documentation files inside kept packages.",
        full: "Files under /usr/share/doc and similar are not read at run time.",
        code_scanning: false,
        level: Level::Note,
    },
    Entry {
        id: "prune/man",
        name: "PrunedManualPages",
        short: "Manual pages inside kept packages.",
        full: "Files under /usr/share/man and /usr/share/info are not read at run time.",
        code_scanning: false,
        level: Level::Note,
    },
    Entry {
        id: "prune/locale",
        name: "PrunedLocales",
        short: "Translations inside kept packages.",
        full: "Message catalogues under /usr/share/locale are not read unless the image sets a locale that uses them.",
        code_scanning: false,
        level: Level::Note,
    },
    Entry {
        id: "run-step/cleanup",
        name: "CleanupStep",
        short: "A RUN step that only removes build debris.",
        full: "Steps like `rm -rf /var/lib/apt/lists/*` undo what the build added; in a scratch image there is nothing to undo.",
        code_scanning: false,
        level: Level::Note,
    },
    Entry {
        id: "run-step/synthesized",
        name: "SynthesizedStep",
        short: "A RUN step whose effect is written directly instead.",
        full: "Steps such as useradd or update-ca-certificates are not run; the files they would write are synthesized and listed in the report.",
        code_scanning: false,
        level: Level::Note,
    },
    Entry {
        id: "run-step/index-update",
        name: "IndexUpdateStep",
        short: "A RUN step that refreshes the package index.",
        full: "`apt-get update` and the like download package lists for the build; scratchify resolves packages against a verified index instead, and the image carries no lists.",
        code_scanning: false,
        level: Level::Note,
    },
    Entry {
        id: "run-step/upgrade",
        name: "UpgradeStep",
        short: "A RUN step that upgrades installed packages.",
        full: "The minimal image's packages come from the current verified index already; there is nothing installed to upgrade.",
        code_scanning: false,
        level: Level::Note,
    },
    Entry {
        id: "removed-later",
        name: "RemovedLater",
        short: "Installed and removed again by the Dockerfile.",
        full: "A later step removes the package, so neither image is meant to carry it. When the removal is in a later RUN than the install, the `docker build` image still carries its bytes in the earlier layer.",
        code_scanning: false,
        level: Level::Note,
    },
    Entry {
        id: "auto-removed",
        name: "AutoRemoved",
        short: "Marked automatic and removed by an autoremove step.",
        full: "The Dockerfile marks the package automatically installed and a later `autoremove` takes it out again.",
        code_scanning: false,
        level: Level::Note,
    },
    Entry {
        id: "build-stage",
        name: "BuildStage",
        short: "Part of a build stage the image only copies from.",
        full: "A build stage's packages and files stay in that stage; the image takes only what `COPY --from` copies.",
        code_scanning: false,
        level: Level::Note,
    },
    Entry {
        id: "unused-stage",
        name: "UnusedStage",
        short: "Part of a stage the image does not use.",
        full: "No stage of the image builds from or copies from this stage.",
        code_scanning: false,
        level: Level::Note,
    },
    Entry {
        id: "prune/unreachable-package",
        name: "UnreachablePackage",
        short: "A package no kept program, library or script reaches.",
        full: "apt installs it as a dependency, but nothing the image runs loads or executes any of its files (ELF DT_NEEDED, interpreters, shebangs, the entrypoint's command line), so the minimal image leaves it out.",
        code_scanning: false,
        level: Level::Note,
    },
    Entry {
        id: "user/--drop",
        name: "UserDrop",
        short: "Dropped because the command line asked for it.",
        full: "The item was named by `--drop`.",
        code_scanning: false,
        level: Level::Note,
    },
    Entry {
        id: "unsupported",
        name: "UnsupportedStep",
        short: "A step scratchify cannot interpret was dropped.",
        full: "With `--allow-unsupported`, a step scratchify cannot interpret is dropped instead of failing the build. Its effect is missing from the minimal image: check that the image still works.",
        code_scanning: true,
        level: Level::Warning,
    },
];

/// How a rule id (of a dropped item or a finding code) is presented.
pub fn rule_info(id: &str) -> RuleInfo {
    let family = rule_family(id);
    let entry = RULES
        .iter()
        .find(|e| e.id == id)
        .or_else(|| RULES.iter().find(|e| e.id == family));
    match entry {
        Some(e) => RuleInfo {
            id: id.to_string(),
            name: Cow::Borrowed(e.name),
            short: Cow::Borrowed(e.short),
            full: Cow::Borrowed(e.full),
            code_scanning: e.code_scanning,
            level: e.level,
            catalogued: true,
        },
        None => {
            let known_family = match family {
                "build-only" => Some((
                    "BuildOnly",
                    "Installed or copied only to build.",
                    Level::Note,
                    true,
                )),
                "base" => Some((
                    "BaseImageContent",
                    "Base image content not needed at run time.",
                    Level::Note,
                    false,
                )),
                "prune" => Some((
                    "Pruned",
                    "Files inside kept packages that are not read at run time.",
                    Level::Note,
                    false,
                )),
                "run-step" => Some((
                    "RunStep",
                    "A RUN step not needed at run time.",
                    Level::Note,
                    false,
                )),
                _ => None,
            };
            match known_family {
                Some((name, short, level, code_scanning)) => RuleInfo {
                    id: id.to_string(),
                    name: Cow::Borrowed(name),
                    short: Cow::Borrowed(short),
                    full: Cow::Borrowed(short),
                    code_scanning,
                    level,
                    catalogued: true,
                },
                None => RuleInfo {
                    id: id.to_string(),
                    name: Cow::Owned(pascal_case(id)),
                    short: Cow::Owned(format!("scratchify rule `{id}`.")),
                    full: Cow::Owned(format!("Reported by scratchify under `{id}`.")),
                    code_scanning: false,
                    level: Level::Note,
                    catalogued: false,
                },
            }
        }
    }
}

/// `build-only` of `build-only/compiler`, `plan` of `plan::unpinned-requirement`.
pub(crate) fn rule_family(id: &str) -> &str {
    id.split(['/', ':']).next().unwrap_or(id)
}

/// `plan::unpinned-requirement` -> `PlanUnpinnedRequirement`.
fn pascal_case(id: &str) -> String {
    let mut out = String::new();
    for word in id.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.is_empty() {
        out.push_str("Rule");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_then_family_then_generic() {
        assert_eq!(rule_info("build-only/compiler").name, "BuildOnlyCompiler");
        assert_eq!(rule_info("build-only/compiler").level, Level::Warning);
        let unknown_build_only = rule_info("build-only/linter");
        assert_eq!(unknown_build_only.name, "BuildOnly");
        assert!(unknown_build_only.code_scanning);
        let prune = rule_info("prune/static-libs");
        assert!(!prune.code_scanning);
        let other = rule_info("plan::unpinned-requirement");
        assert_eq!(other.name, "PlanUnpinnedRequirement");
        assert!(!other.catalogued);
        assert_eq!(rule_info("").name, "Rule");
        assert_eq!(rule_family("plan::x"), "plan");
    }
}
