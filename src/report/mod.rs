//! The report model and its renderers.
//!
//! [`Report`] is a plain serde model filled from what the plan, the closures
//! and the image recorded; every renderer is a pure function of it (plus a
//! few presentation options), so the same report always renders to the same
//! bytes:
//!
//! | format | function |
//! |---|---|
//! | human (miette style, snippets) | [`render_human`] |
//! | `--format json` (schema in `SCHEMA.md`) | [`to_json`] / [`from_json`] |
//! | `--format markdown` (PR comment) | [`render_markdown`] |
//! | `--format sarif` (SARIF 2.1.0) | [`render_sarif`] |
//! | `--format html` (one self-contained page) | [`render_html`] |
//! | `--sbom spdx` (SPDX 2.3 JSON) | [`render_spdx`] |
//! | `--sbom cyclonedx` (CycloneDX 1.5 JSON) | [`render_cyclonedx`] |
//!
//! [`threshold`] evaluates `audit`'s `--fail-on-waste` and `--fail-on`, and
//! [`explain_kept`] / [`explain_dropped`] answer `scratchify explain`.
//!
//! # Filling a report
//!
//! Start from [`Report::new`] and copy what the earlier stages recorded:
//! - locations with [`Location::from_span`] (from the Dockerfile's
//!   [`SourceFile`](crate::source::SourceFile) and a recorded span), and
//!   diagnostics with `Finding::from(&SourceDiagnostic)`;
//! - one [`KeptItem`] per store path and per COPY'd file, each with a unique
//!   `id`; `chain` lists the ids from the nearest dependent up to the
//!   requested item and `request` names the Dockerfile step at its end;
//!   `depends_on` holds the closure edges; purls from [`Purl`];
//! - one [`DroppedItem`] per dropped thing with a rule id from the catalogue
//!   ([`rule_info`], listed in `SCHEMA.md`) and, for pruned dependencies,
//!   `wanted_by`;
//! - files need `sha1` (as well as `sha256`) to be SPDX files; without
//!   any checksum they appear as SPDX packages of purpose FILE;
//! - [`Totals`] from index sizes and the image; the renderers never add
//!   them up themselves.

pub mod build;
mod explain;
mod html;
mod human;
mod json;
mod markdown;
mod model;
mod purl;
mod rules;
mod sarif;
mod sbom;
pub mod threshold;
mod util;

pub use build::{
    CopiedFile, ReportInputs, debian_requests, docker_build_requests, from_plan, report_path_for,
    resolve_docker_build, resolve_minimal, synthesized_items, with_image, with_slim,
    with_synthesized,
};
pub use explain::{explain_dropped, explain_kept};
pub use html::render_html;
pub use human::{HumanOptions, render_human};
pub use json::{from_json, to_json};
pub use markdown::{MarkdownOptions, render_markdown};
pub use model::{
    BaseImage, DockerfileSource, DroppedItem, DroppedKind, Finding, ImageSummary, KeptItem,
    KeptKind, LayerSummary, Location, Report, Request, SCHEMA_VERSION, Severity, SynthesizedItem,
    Tool, Totals,
};
pub use purl::Purl;
pub use rules::{Level, RuleInfo, rule_info};
pub use sarif::render_sarif;
pub use sbom::{render_cyclonedx, render_spdx};
pub use util::{format_bytes, rfc3339_utc};

/// Errors reading a report back or parsing a threshold.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ReportError {
    #[error("the report is not valid JSON for schema version {SCHEMA_VERSION}: {0}")]
    #[diagnostic(code(report::invalid_json))]
    Json(#[from] serde_json::Error),
    #[error(
        "the report has schema_version {found}; this scratchify reads version {SCHEMA_VERSION}"
    )]
    #[diagnostic(
        code(report::unsupported_schema_version),
        help("re-create the report with this version of scratchify")
    )]
    UnsupportedSchemaVersion { found: u64 },
    #[error("invalid threshold `{input}`: {reason}")]
    #[diagnostic(code(report::invalid_threshold))]
    InvalidThreshold { input: String, reason: String },
}
