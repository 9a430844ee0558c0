//! The report model: plain serde types that carry everything a renderer
//! needs, filled from the plan, the closures and the image.
//!
//! Nothing here is derived from package data or image bytes: every size,
//! chain, rule and location is a copy of what an earlier stage recorded, so
//! the renderers can be pure functions of a [`Report`]. The JSON form of these
//! types *is* the `--format json` schema (version [`SCHEMA_VERSION`]); see
//! `src/report/SCHEMA.md`.
//!
//! Choices the issue left open:
//! - Every byte count is of uncompressed file content (installed sizes from
//!   the package indexes, file lengths for COPY and synthesized files), so the
//!   "before" and "after" totals are comparable; compressed sizes appear only
//!   in [`ImageSummary`].
//! - Columns are 1-based Unicode code points and `end_column` is exclusive,
//!   which is what SARIF's `region` means with `columnKind:
//!   unicodeCodePoints`.
//! - Optional fields are omitted from JSON when absent and empty lists are
//!   written as `[]`, so consumers can rely on the lists being present.

use serde::{Deserialize, Serialize};

use crate::source::{SourceFile, Span};

/// The version of the JSON schema written by [`crate::report::to_json`].
/// Bumped on any change that is not a pure addition of an optional field.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything scratchify knows about one Dockerfile's minimal image: what was
/// kept and why, what was dropped and why, and the totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`] when written by this build.
    pub schema_version: u32,
    /// The program that made the report (named in SARIF and the SBOMs).
    pub tool: Tool,
    /// `SOURCE_DATE_EPOCH` of the build (default 0): the only timestamp any
    /// renderer writes, so reports are reproducible.
    pub source_date_epoch: u64,
    pub dockerfile: DockerfileSource,
    /// The `FROM` image of the final stage, when it is not `scratch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseImage>,
    /// The image that was written; absent for `scratchify audit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSummary>,
    pub totals: Totals,
    /// What the minimal image contains, in the order the builder recorded.
    #[serde(default)]
    pub kept: Vec<KeptItem>,
    /// What the Dockerfile's image would contain and the minimal one does not.
    #[serde(default)]
    pub dropped: Vec<DroppedItem>,
    /// Files written in place of maintainer scripts and RUN steps.
    #[serde(default)]
    pub synthesized: Vec<SynthesizedItem>,
    /// Diagnostics that did not stop the build (and errors, for `audit`).
    #[serde(default)]
    pub warnings: Vec<Finding>,
}

/// The program that wrote a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    /// This build of scratchify.
    pub fn current() -> Tool {
        Tool {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// The Dockerfile the report is about, with its full text so that renderers
/// can show snippets without reading the file again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DockerfileSource {
    /// The path as given on the command line (relative paths stay relative:
    /// SARIF consumers resolve them against the repository root).
    pub path: String,
    pub text: String,
}

impl DockerfileSource {
    /// The text as a [`SourceFile`] for snippet rendering.
    pub fn source_file(&self) -> SourceFile {
        SourceFile::new(self.path.clone(), self.text.clone())
    }
}

/// The base image of the final stage, as the plan mapped it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseImage {
    /// The reference as written in `FROM`, e.g. `debian:12-slim`.
    pub reference: String,
    /// The distribution release it maps to, e.g. `debian-12`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Estimated installed size of the base image's packages.
    pub size_bytes: u64,
    /// Number of packages in the base image.
    pub packages: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// The written image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSummary {
    /// Digest of the image manifest, `sha256:<hex>`.
    pub digest: String,
    /// Sum of the compressed layer blobs.
    pub compressed_bytes: u64,
    /// Sum of the uncompressed layer tars.
    pub uncompressed_bytes: u64,
    #[serde(default)]
    pub layers: Vec<LayerSummary>,
}

/// One layer of the written image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerSummary {
    /// Digest of the compressed blob, `sha256:<hex>`.
    pub digest: String,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    /// What the layer holds, e.g. `libssl3` or `COPY site/ (Dockerfile:9)`.
    pub content: String,
}

/// Sizes and counts of the image `docker build` would produce versus the
/// minimal image, and what is left that the goal says should not be.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Base image plus everything the Dockerfile installs or copies, from
    /// index sizes: what `docker build` would produce, estimated.
    pub docker_build_estimate_bytes: u64,
    /// File content of the minimal image (kept plus synthesized).
    pub minimal_bytes: u64,
    pub packages_before: u64,
    pub packages_after: u64,
    pub files_before: u64,
    pub files_after: u64,
    /// Names of kept items that are shells (the goal is none).
    #[serde(default)]
    pub shells_left: Vec<String>,
    /// Names of kept items that are package managers.
    #[serde(default)]
    pub package_managers_left: Vec<String>,
    /// Names of kept items that are compilers or toolchains.
    #[serde(default)]
    pub compilers_left: Vec<String>,
}

impl Totals {
    /// Bytes the Dockerfile's image carries that the minimal one does not
    /// (zero when the minimal image is not smaller).
    pub fn waste_bytes(&self) -> u64 {
        self.docker_build_estimate_bytes
            .saturating_sub(self.minimal_bytes)
    }

    /// The waste as a fraction of the estimate in hundredths of a percent
    /// (7800 = 78.00 %), rounded half up; 0 when the estimate is 0.
    pub fn waste_basis_points(&self) -> u64 {
        if self.docker_build_estimate_bytes == 0 {
            return 0;
        }
        let waste = u128::from(self.waste_bytes());
        let total = u128::from(self.docker_build_estimate_bytes);
        let bp = (waste * 10_000 * 2 + total) / (total * 2);
        u64::try_from(bp).unwrap_or(10_000)
    }

    /// The waste as a percentage with one decimal, e.g. `78.0%`.
    pub fn waste_percent_text(&self) -> String {
        let tenths = (self.waste_basis_points() + 5) / 10;
        format!("{}.{}%", tenths / 10, tenths % 10)
    }
}

/// A place in the Dockerfile.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    /// The Dockerfile path, as in [`DockerfileSource::path`].
    pub file: String,
    /// 1-based.
    pub line: u32,
    /// 1-based, in Unicode code points.
    pub column: u32,
    /// 1-based, the line of the last character.
    pub end_line: u32,
    /// 1-based, exclusive: the column after the last character.
    pub end_column: u32,
    /// Byte range into [`DockerfileSource::text`], for snippets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
}

impl Location {
    /// The location of a span of a source file. Spans past the end of the
    /// text or inside a UTF-8 sequence are clamped, never rejected; a span
    /// that ends with a newline ends on the line before it.
    pub fn from_span(source: &SourceFile, span: Span) -> Location {
        let text = source.text();
        let start = floor_char_boundary(text, span.start.min(text.len()));
        let mut end = floor_char_boundary(text, span.end.min(text.len())).max(start);
        if end > start && text.as_bytes().get(end - 1) == Some(&b'\n') {
            end -= 1;
        }
        let (line, column) = line_column(source, start);
        let (end_line, end_column) = line_column(source, end);
        Location {
            file: source.name().to_string(),
            line,
            column,
            end_line,
            end_column,
            span: Some(Span::new(start, end)),
        }
    }

    /// `Dockerfile:5` or `Dockerfile:4-6`.
    pub fn display_short(&self) -> String {
        if self.end_line > self.line {
            format!("{}:{}-{}", self.file, self.line, self.end_line)
        } else {
            format!("{}:{}", self.file, self.line)
        }
    }
}

/// Largest char boundary at or below `i` (`str::floor_char_boundary` is not
/// stable on the crate's minimum Rust).
pub(crate) fn floor_char_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// 1-based line and code-point column of a byte offset (a char boundary).
/// The line comes from the source's line index, built once: a report
/// locates every kept and dropped item, and counting newlines from the top
/// for each made a report of many items quadratic in the file's length.
fn line_column(source: &SourceFile, offset: usize) -> (u32, u32) {
    let (line, byte_column) = source.line_col(offset);
    let line_start = offset.saturating_sub(byte_column - 1);
    let column = source
        .text()
        .get(line_start..offset)
        .unwrap_or("")
        .chars()
        .count()
        + 1;
    (saturating_u32(line), saturating_u32(column))
}

fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What a kept item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeptKind {
    /// A store path: a distribution or language package.
    Package,
    /// A file from COPY/ADD (or copied from a build stage).
    File,
}

/// Something the minimal image contains, with the chain that pulled it in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptItem {
    /// Unique within the report; what [`KeptItem::chain`] and
    /// [`KeptItem::depends_on`] refer to (e.g. `deb:libssl3`, `file:/app/app.py`).
    pub id: String,
    pub kind: KeptKind,
    /// Package name, or the absolute path in the image for files.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Installed size (packages) or file length.
    pub size_bytes: u64,
    /// Number of files it puts in the image, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<u64>,
    /// Package URL, e.g. `pkg:deb/debian/nginx@1.22.1-9?arch=amd64&distro=debian-12`
    /// (see [`crate::report::Purl`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// License as recorded by the package index: an SPDX expression when the
    /// source gives one, otherwise the source's own name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Lowercase hex SHA-256 of the package artifact or the file content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Lowercase hex SHA-1 of a file's content (SPDX requires it for files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// Ids of the kept items that pulled this one in, nearest first, up to the
    /// item the Dockerfile requested; empty for requested items themselves.
    #[serde(default)]
    pub chain: Vec<String>,
    /// The Dockerfile step that requested the end of the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
    /// Ids of the kept items this one needs at run time (closure edges).
    #[serde(default)]
    pub depends_on: Vec<String>,
}

/// A Dockerfile step that asked for something, e.g. `apt-get install nginx`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The request in words, e.g. `apt-get install nginx` or `COPY site/ /usr/share/nginx/html/`.
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// What a dropped item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DroppedKind {
    /// A package the Dockerfile installs or a dependency of one.
    Package,
    /// Files: COPY inputs only a build step reads, or paths pruned from kept
    /// packages (documentation, manual pages).
    File,
    /// A RUN step whose effect is not needed or is synthesized instead.
    RunStep,
    /// Content of the base image: its shell, package manager, other packages.
    BaseContent,
    /// A user or group created at build time.
    Account,
    /// A build stage whose output the final image does not use.
    Stage,
}

/// Something the Dockerfile's image would contain that the minimal image does not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedItem {
    pub kind: DroppedKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Installed size not shipped (0 for steps with no files of their own).
    pub bytes_saved: u64,
    /// Stable id of the rule that dropped it, e.g. `build-only/compiler`
    /// (see [`crate::report::rule_info`]).
    pub rule: String,
    /// The reason in words.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// For dependencies: the package whose edge wanted it, e.g. `debconf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wanted_by: Option<String>,
}

/// A file the image gets in place of what a maintainer script or RUN step
/// would have made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthesizedItem {
    /// Absolute path in the image.
    pub path: String,
    pub size_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// Why it is there.
    pub reason: String,
    /// What it stands in for, e.g. `update-ca-certificates (ca-certificates postinst)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

/// A diagnostic carried into the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `plan::unpinned-requirement`.
    pub code: String,
    pub message: String,
    /// The label under the snippet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl From<&crate::source::SourceDiagnostic> for Finding {
    fn from(d: &crate::source::SourceDiagnostic) -> Finding {
        let severity = match d.severity {
            miette::Severity::Error => Severity::Error,
            miette::Severity::Warning => Severity::Warning,
            miette::Severity::Advice => Severity::Note,
        };
        Finding {
            severity,
            code: d.code.clone(),
            message: d.message.clone(),
            label: Some(d.label.clone()),
            help: d.help.clone(),
            location: Some(Location::from_span(&d.source, d.span)),
        }
    }
}

impl Report {
    /// An empty report for a Dockerfile, to be filled by the builder.
    pub fn new(tool: Tool, source_date_epoch: u64, dockerfile: DockerfileSource) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            tool,
            source_date_epoch,
            dockerfile,
            base: None,
            image: None,
            totals: Totals::default(),
            kept: Vec::new(),
            dropped: Vec::new(),
            synthesized: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The kept item with this id.
    pub fn kept_by_id(&self, id: &str) -> Option<&KeptItem> {
        self.kept.iter().find(|k| k.id == id)
    }

    /// `libssl3 <- nginx <- apt-get install nginx (Dockerfile:5)`: the chain
    /// of a kept item in words, using names where the ids are known.
    pub fn chain_text(&self, item: &KeptItem) -> String {
        let mut parts = vec![item.name.clone()];
        for id in &item.chain {
            parts.push(
                self.kept_by_id(id)
                    .map_or_else(|| id.clone(), |k| k.name.clone()),
            );
        }
        if let Some(req) = &item.request {
            match &req.location {
                Some(loc) => parts.push(format!("{} ({})", req.text, loc.display_short())),
                None => parts.push(req.text.clone()),
            }
        }
        parts.join(" <- ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_code_points_and_clamps() {
        let f = SourceFile::new("Dockerfile", "FROM a\nRUN é x \\\n  y\n");
        // "x" is at byte 14 (é is two bytes) but column 7.
        let loc = Location::from_span(&f, Span::new(14, 15));
        assert_eq!(
            (loc.line, loc.column, loc.end_line, loc.end_column),
            (2, 7, 2, 8)
        );
        // A span over the continuation ends on line 3; a trailing newline is
        // not counted as the start of line 4.
        let loc = Location::from_span(&f, Span::new(7, 22));
        assert_eq!(
            (loc.line, loc.column, loc.end_line, loc.end_column),
            (2, 1, 3, 4)
        );
        // Out of range and mid-character spans are clamped.
        let loc = Location::from_span(&f, Span::new(12, 1000));
        assert_eq!(loc.span, Some(Span::new(11, 21)));
        assert_eq!((loc.line, loc.column), (2, 5));
    }

    proptest::proptest! {
        /// The indexed line and column are the ones counted from the top.
        #[test]
        fn line_column_matches_counting_from_the_top(
            text in "[a\n\u{e9}\u{1F600} ]{0,40}",
            at in 0usize..200,
        ) {
            let source = SourceFile::new("Dockerfile", text.as_str());
            let offset = floor_char_boundary(&text, at);
            let before = &text[..offset];
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let column = before[line_start..].chars().count() + 1;
            proptest::prop_assert_eq!(
                line_column(&source, offset),
                (line as u32, column as u32)
            );
        }
    }

    #[test]
    fn waste_percent_rounds() {
        let t = Totals {
            docker_build_estimate_bytes: 3,
            minimal_bytes: 1,
            ..Totals::default()
        };
        assert_eq!(t.waste_basis_points(), 6667);
        assert_eq!(t.waste_percent_text(), "66.7%");
        let t = Totals {
            docker_build_estimate_bytes: 0,
            minimal_bytes: 10,
            ..Totals::default()
        };
        assert_eq!(t.waste_bytes(), 0);
        assert_eq!(t.waste_percent_text(), "0.0%");
        let t = Totals {
            docker_build_estimate_bytes: u64::MAX,
            minimal_bytes: 0,
            ..Totals::default()
        };
        assert_eq!(t.waste_percent_text(), "100.0%");
    }
}
