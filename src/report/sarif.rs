//! `--format sarif`: SARIF 2.1.0 for code-scanning tools (GitHub code
//! scanning in particular).
//!
//! One result per dropped item whose rule is meant for code scanning (see
//! [`RuleInfo::code_scanning`](super::RuleInfo::code_scanning): build-only
//! tooling, base-image shells and package managers, unsupported steps) and
//! one per warning. Choices the issue left open:
//! - `artifactLocation.uri` is the Dockerfile path as given, percent-encoded
//!   as a relative URI reference (GitHub resolves it against the repository
//!   root); an absolute path becomes a `file://` URI.
//! - A result without a recorded location points at line 1 of the
//!   Dockerfile, since code scanning rejects results without a location.
//! - `partialFingerprints["scratchify/v1"]` hashes the rule, the item and the
//!   whitespace-normalised text of the Dockerfile region (not its line
//!   number), so a result keeps its identity when lines above it move; equal
//!   hashes get a `:n` occurrence suffix.
//! - Columns are code points (`columnKind: unicodeCodePoints`).
//! - Serialised from typed structs (not maps) so field order is the
//!   declaration order whatever serde_json features are enabled.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::human::resolve_span;
use super::model::{Location, Report, Severity};
use super::rules::{Level, RuleInfo, rule_family, rule_info};
use super::util::{format_bytes, sha256_hex};

/// The report as a SARIF 2.1.0 log (pretty JSON, trailing newline).
pub fn render_sarif(report: &Report) -> String {
    let log = build(report);
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_else(|_| String::from("{}"));
    out.push('\n');
    out
}

struct Pending {
    rule: RuleInfo,
    level: Level,
    message: String,
    location: Option<Location>,
    identity: String,
    properties: ResultProperties,
}

fn build(report: &Report) -> SarifLog {
    let mut pending = Vec::new();
    for item in &report.dropped {
        let rule = rule_info(&item.rule);
        if !rule.code_scanning {
            continue;
        }
        let what = match &item.version {
            Some(v) => format!("{} {v}", item.name),
            None => item.name.clone(),
        };
        let mut message = format!(
            "{what} ({}) is not needed at run time: {}",
            format_bytes(item.bytes_saved),
            item.reason
        );
        if let Some(w) = &item.wanted_by {
            message.push_str(&format!(" (wanted by {w})"));
        }
        message.push_str(". scratchify leaves it out of the minimal image.");
        pending.push(Pending {
            level: rule.level,
            message,
            location: item.location.clone(),
            identity: format!(
                "{}\0{}\0{}",
                item.rule,
                serde_json::to_string(&item.kind).unwrap_or_default(),
                item.name
            ),
            properties: ResultProperties {
                name: Some(item.name.clone()),
                version: item.version.clone(),
                bytes_saved: Some(item.bytes_saved),
            },
            rule,
        });
    }
    for finding in &report.warnings {
        let mut message = finding.message.clone();
        if let Some(help) = &finding.help {
            message.push_str(&format!(" Help: {help}"));
        }
        let mut rule = rule_info(&finding.code);
        if !rule.catalogued {
            // A diagnostic code has no catalogue words; describe the rule by
            // the diagnostic itself.
            rule.short = Cow::Owned(finding.message.clone());
            rule.full = Cow::Owned(match &finding.help {
                Some(help) => format!("{} {help}", finding.message),
                None => finding.message.clone(),
            });
        }
        pending.push(Pending {
            rule,
            level: match finding.severity {
                Severity::Error => Level::Error,
                Severity::Warning => Level::Warning,
                Severity::Note => Level::Note,
            },
            message,
            location: finding.location.clone(),
            identity: format!("{}\0{}", finding.code, finding.message),
            properties: ResultProperties::default(),
        });
    }
    pending.sort_by(|a, b| {
        location_order(a.location.as_ref())
            .cmp(&location_order(b.location.as_ref()))
            .then_with(|| a.rule.id.cmp(&b.rule.id))
            .then_with(|| a.message.cmp(&b.message))
    });

    let rule_ids: BTreeSet<&str> = pending.iter().map(|p| p.rule.id.as_str()).collect();
    let rule_index: BTreeMap<&str, usize> = rule_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let mut rules: Vec<ReportingDescriptor> = Vec::new();
    for id in &rule_ids {
        if let Some(p) = pending.iter().find(|p| p.rule.id == *id) {
            rules.push(descriptor(&p.rule));
        }
    }

    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut results = Vec::new();
    for p in &pending {
        let location = physical_location(report, p.location.as_ref());
        let region_text = p
            .location
            .as_ref()
            .filter(|l| l.file == report.dockerfile.path)
            .and_then(|l| resolve_span(&report.dockerfile.text, l))
            .and_then(|s| report.dockerfile.text.get(s.start..s.end))
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        let base = sha256_hex(format!("{}\0{region_text}", p.identity).as_bytes());
        let base = base.get(..32).unwrap_or(&base).to_string();
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        let mut fingerprints = BTreeMap::new();
        fingerprints.insert("scratchify/v1".to_string(), format!("{base}:{n}"));
        results.push(SarifResult {
            rule_id: p.rule.id.clone(),
            rule_index: rule_index.get(p.rule.id.as_str()).copied().unwrap_or(0),
            level: p.level.as_sarif(),
            message: Message {
                text: p.message.clone(),
            },
            locations: vec![location],
            partial_fingerprints: fingerprints,
            properties: p.properties.clone(),
        });
    }

    SarifLog {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: vec![Run {
            tool: SarifTool {
                driver: Driver {
                    name: report.tool.name.clone(),
                    version: report.tool.version.clone(),
                    rules,
                },
            },
            column_kind: "unicodeCodePoints",
            results,
        }],
    }
}

fn descriptor(rule: &RuleInfo) -> ReportingDescriptor {
    let family = rule_family(&rule.id).to_string();
    ReportingDescriptor {
        id: rule.id.clone(),
        name: rule.name.to_string(),
        short_description: Message {
            text: rule.short.to_string(),
        },
        full_description: Message {
            text: rule.full.to_string(),
        },
        help: Help {
            text: rule.full.to_string(),
            markdown: format!(
                "{}\n\nRule `{}`. Run `scratchify audit` for the full report of what the minimal image keeps and drops.",
                rule.full, rule.id
            ),
        },
        default_configuration: Configuration {
            level: rule.level.as_sarif(),
        },
        properties: DescriptorProperties {
            tags: vec!["container".to_string(), "dockerfile".to_string(), family],
        },
    }
}

fn location_order(loc: Option<&Location>) -> (bool, String, u32, u32) {
    match loc {
        Some(l) => (false, l.file.clone(), l.line, l.column),
        None => (true, String::new(), 0, 0),
    }
}

fn physical_location(report: &Report, loc: Option<&Location>) -> SarifLocation {
    let (file, region) = match loc {
        Some(l) => {
            let line = l.line.max(1);
            let column = l.column.max(1);
            let (end_line, end_column) =
                if l.end_line < line || (l.end_line == line && l.end_column < column) {
                    (line, column)
                } else {
                    (l.end_line, l.end_column.max(1))
                };
            (
                l.file.as_str(),
                Region {
                    start_line: line,
                    start_column: column,
                    end_line,
                    end_column,
                },
            )
        }
        None => (
            report.dockerfile.path.as_str(),
            Region {
                start_line: 1,
                start_column: 1,
                end_line: 1,
                end_column: 1,
            },
        ),
    };
    SarifLocation {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: path_to_uri(file),
            },
            region,
        },
    }
}

/// A file path as a URI reference: relative paths stay relative (without a
/// leading `./`), absolute ones become `file://` URIs; everything but
/// unreserved characters and `/` is percent-encoded.
fn path_to_uri(path: &str) -> String {
    let mut trimmed = path;
    while let Some(rest) = trimmed.strip_prefix("./") {
        trimmed = rest;
    }
    let mut out = String::new();
    if trimmed.starts_with('/') {
        out.push_str("file://");
    }
    for b in trimmed.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push_str("Dockerfile");
    }
    out
}

#[derive(Serialize)]
struct SarifLog {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: SarifTool,
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct SarifTool {
    driver: Driver,
}

#[derive(Serialize)]
struct Driver {
    name: String,
    version: String,
    rules: Vec<ReportingDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor {
    id: String,
    name: String,
    short_description: Message,
    full_description: Message,
    help: Help,
    default_configuration: Configuration,
    properties: DescriptorProperties,
}

#[derive(Serialize)]
struct DescriptorProperties {
    tags: Vec<String>,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Message,
    locations: Vec<SarifLocation>,
    partial_fingerprints: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "ResultProperties::is_empty")]
    properties: ResultProperties,
}

#[derive(Serialize, Clone, Default)]
#[serde(rename_all = "camelCase")]
struct ResultProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_saved: Option<u64>,
}

impl ResultProperties {
    fn is_empty(&self) -> bool {
        self.name.is_none() && self.version.is_none() && self.bytes_saved.is_none()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    start_column: u32,
    end_line: u32,
    end_column: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(path_to_uri("Dockerfile"), "Dockerfile");
        assert_eq!(path_to_uri("./docker/My File"), "docker/My%20File");
        assert_eq!(path_to_uri("/src/Dockerfile"), "file:///src/Dockerfile");
        assert_eq!(path_to_uri("a#b?c"), "a%23b%3Fc");
        assert_eq!(path_to_uri(""), "Dockerfile");
    }
}
