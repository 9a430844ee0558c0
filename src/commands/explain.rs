//! `scratchify explain`: why something is in a built image, or why the
//! minimal image leaves it out.
//!
//! - `scratchify explain OUT PATH`: OUT is what `scratchify build` wrote
//!   (an OCI layout directory or an archive). The report `build` wrote next
//!   to it, `<OUT>.report.json` ([`crate::report::report_path_for`]), is
//!   read, and PATH (a package name, a report id such as `deb:libssl3`, or
//!   a path in the image) is explained with its chain down to the
//!   Dockerfile line. OUT may also name a report JSON file itself. A path
//!   inside a package is found in the image's layers when OUT is an OCI
//!   layout directory: the layer that holds it names the package (layers
//!   are labelled with their content), whose chain is then shown.
//! - `scratchify explain --dropped NAME FILE [CONTEXT]`: plan the
//!   Dockerfile FILE (resolving against the package index as `audit` does)
//!   and say why NAME is not in the minimal image: the rule, the reason,
//!   the edge that wanted it and the line. FILE may also be a report JSON
//!   (`*.json`), which is read instead of planning.
//!
//! Exit codes: 0 explained; 1 when NAME/PATH is not found (with the
//! closest answer the report has: a dropped item for PATH, a kept item for
//! `--dropped`), or on errors.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use miette::IntoDiagnostic;

use super::CommandResult;
use super::audit::{StoreOptions, measure_files, resolve_debian};
use super::plan::{PlanArgs, load_plan};
use crate::report::{self, Report, ReportInputs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Explain why NAME was dropped; FILE is then the Dockerfile (or a
    /// report JSON) and the optional second argument the build context.
    #[arg(long, value_name = "NAME")]
    pub dropped: Option<String>,
    /// Debian repository base URI (for `--dropped`).
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
    /// OpenPGP keyring to verify Release files with (for `--dropped`).
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,
    /// Never touch the network; use cached indices (for `--dropped`).
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub plan: PlanArgs,
    /// OUT (the image `build` wrote, or its report), or with `--dropped`
    /// the Dockerfile.
    #[arg(value_name = "OUT|FILE")]
    pub out_or_file: PathBuf,
    /// PATH (a package name, report id or image path), or with `--dropped`
    /// the build context.
    #[arg(value_name = "PATH|CONTEXT")]
    pub what: Option<String>,
}

pub fn run(args: Args) -> CommandResult {
    match args.dropped.clone() {
        Some(name) => explain_dropped(&args, &name),
        None => {
            let Some(what) = args.what.as_deref() else {
                return Err(miette::miette!(
                    help = "scratchify explain OUT PATH, or scratchify explain --dropped NAME FILE [CONTEXT]",
                    "explain needs the PATH (or package) to explain"
                ));
            };
            explain_kept(&args.out_or_file, what)
        }
    }
}

/// The report of a built image: `out` itself when it is a JSON file, else
/// `<out>.report.json`.
pub fn read_report_for(out: &Path) -> miette::Result<(PathBuf, Report)> {
    let path = if is_json(out) && out.is_file() {
        out.to_path_buf()
    } else {
        report::report_path_for(out)
    };
    let text = std::fs::read_to_string(&path)
        .into_diagnostic()
        .map_err(|e| {
            e.wrap_err(format!(
                "reading {} (the report `scratchify build` writes next to {})",
                path.display(),
                out.display()
            ))
        })?;
    let report = report::from_json(&text)?;
    Ok((path, report))
}

fn is_json(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Write to standard output; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> miette::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).into_diagnostic(),
        _ => Ok(()),
    }
}

fn explain_kept(out: &Path, what: &str) -> CommandResult {
    let (_, report) = read_report_for(out)?;
    if let Some(text) = report::explain_kept(&report, what) {
        emit(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    // A file inside a package: find the layer that holds it.
    if out.is_dir()
        && let Some(found) = find_in_layout(out, what, &report)?
    {
        let mut text = format!(
            "{} is in layer {} ({})\n",
            what, found.layer_digest, found.content
        );
        let mut explained = false;
        for item in items_of_layer(&report, &found.content) {
            if let Some(t) = report::explain_kept(&report, &item) {
                text.push_str(&t);
                explained = true;
            }
        }
        if !explained {
            text.push_str("  the report has no item for that layer's content\n");
        }
        emit(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(text) = report::explain_dropped(&report, what) {
        emit(&format!("{what} is not in the image.\n{text}"))?;
        return Ok(ExitCode::from(1));
    }
    eprintln!(
        "{what} is neither in the image nor among the dropped items of {}",
        report.dockerfile.path
    );
    Ok(ExitCode::from(1))
}

fn explain_dropped(args: &Args, name: &str) -> CommandResult {
    let report = if is_json(&args.out_or_file) {
        read_report_for(&args.out_or_file)?.1
    } else {
        let context = args.what.as_deref().map(PathBuf::from);
        let (source, planned) = load_plan(&args.out_or_file, context.as_deref(), &args.plan)?;
        let resolved = resolve_debian(
            &planned.plan,
            &StoreOptions {
                mirror: args.mirror.clone(),
                keyring: args.keyring.clone(),
                offline: args.offline,
                ..StoreOptions::default()
            },
        )?;
        let context_dir = context.or_else(|| {
            (args.out_or_file.as_os_str() != "-").then(|| {
                args.out_or_file
                    .parent()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("."))
            })
        });
        let mut findings = Vec::new();
        let copied = measure_files(
            &planned.plan,
            context_dir.as_deref(),
            &source,
            &mut findings,
        );
        let inputs = ReportInputs {
            docker_closure: resolved.as_ref().map(|r| &r.docker_build),
            copied,
            findings,
            plan_warnings: planned.warnings.clone(),
            source_date_epoch: 0,
        };
        report::from_plan(
            &planned.plan,
            &source,
            resolved.as_ref().map(|r| &r.minimal),
            &inputs,
        )
    };
    if let Some(text) = report::explain_dropped(&report, name) {
        emit(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(text) = report::explain_kept(&report, name) {
        emit(&format!("{name} is not dropped.\n{text}"))?;
        return Ok(ExitCode::from(1));
    }
    eprintln!(
        "{name} is neither dropped nor kept in {}",
        report.dockerfile.path
    );
    Ok(ExitCode::from(1))
}

/// Ids of the kept packages whose names appear as words in a layer's
/// description (`nginx`, `libfoo, libbar`, `apt-get install nginx
/// (Dockerfile:5) [nginx=1.22.1-9:amd64]`), in report order.
pub fn items_of_layer(report: &Report, content: &str) -> Vec<String> {
    let words: std::collections::BTreeSet<&str> = content
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_')))
        .filter(|w| !w.is_empty())
        .collect();
    report
        .kept
        .iter()
        .filter(|k| k.kind == report::KeptKind::Package && words.contains(k.name.as_str()))
        .map(|k| k.id.clone())
        .collect()
}

/// The layer of an OCI layout that holds a path.
#[derive(Debug)]
pub struct FoundInLayer {
    pub layer_digest: String,
    /// The report's description of the layer (its `created_by`).
    pub content: String,
}

/// The largest manifest or index read (they are small JSON documents).
const MAX_JSON: u64 = 4 << 20;

/// Look for `path` in the layers of the OCI layout `dir`, topmost layer
/// first, and name the layer as the report describes it. `None` when no
/// layer has it (or the report does not describe the layer).
pub fn find_in_layout(
    dir: &Path,
    path: &str,
    report: &Report,
) -> miette::Result<Option<FoundInLayer>> {
    let Some(image) = &report.image else {
        return Ok(None);
    };
    let wanted = path.trim_start_matches("./").trim_matches('/');
    if wanted.is_empty() {
        return Ok(None);
    }
    let index: serde_json::Value = read_json(&dir.join("index.json"))?;
    let manifest_digest = index
        .get("manifests")
        .and_then(|m| m.as_array())
        .and_then(|m| {
            m.iter()
                .find_map(|d| d.get("digest").and_then(|d| d.as_str()))
        })
        .ok_or_else(|| miette::miette!("{}: index.json lists no manifest", dir.display()))?;
    let manifest: serde_json::Value = read_json(&blob_path(dir, manifest_digest)?)?;
    let layers = manifest
        .get("layers")
        .and_then(|l| l.as_array())
        .ok_or_else(|| miette::miette!("{}: the manifest lists no layers", dir.display()))?;
    for layer in layers.iter().rev() {
        let (Some(digest), media_type) = (
            layer.get("digest").and_then(|d| d.as_str()),
            layer
                .get("mediaType")
                .and_then(|m| m.as_str())
                .unwrap_or(""),
        ) else {
            continue;
        };
        if layer_has(&blob_path(dir, digest)?, media_type, wanted)? {
            let content = image
                .layers
                .iter()
                .find(|l| l.digest == digest)
                .map(|l| l.content.clone());
            return Ok(content.map(|content| FoundInLayer {
                layer_digest: digest.to_string(),
                content,
            }));
        }
    }
    Ok(None)
}

fn read_json(path: &Path) -> miette::Result<serde_json::Value> {
    let f = std::fs::File::open(path)
        .into_diagnostic()
        .map_err(|e| e.wrap_err(format!("reading {}", path.display())))?;
    let mut text = String::new();
    f.take(MAX_JSON)
        .read_to_string(&mut text)
        .into_diagnostic()
        .map_err(|e| e.wrap_err(format!("reading {}", path.display())))?;
    serde_json::from_str(&text)
        .into_diagnostic()
        .map_err(|e| e.wrap_err(format!("parsing {}", path.display())))
}

/// `blobs/sha256/<hex>`, for a well-formed sha256 digest only.
fn blob_path(dir: &Path, digest: &str) -> miette::Result<PathBuf> {
    match digest.strip_prefix("sha256:") {
        Some(hex)
            if hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            Ok(dir.join("blobs").join("sha256").join(hex))
        }
        _ => Err(miette::miette!(
            "{}: unsupported or malformed digest {digest:?}",
            dir.display()
        )),
    }
}

/// Whether a layer blob's tar holds `wanted` (a relative path).
fn layer_has(blob: &Path, media_type: &str, wanted: &str) -> miette::Result<bool> {
    let file = std::fs::File::open(blob)
        .into_diagnostic()
        .map_err(|e| e.wrap_err(format!("reading {}", blob.display())))?;
    let reader = std::io::BufReader::new(file);
    let decoded: Box<dyn Read> = if media_type.ends_with("+zstd") {
        Box::new(
            zstd::stream::read::Decoder::new(reader)
                .into_diagnostic()
                .map_err(|e| e.wrap_err(format!("reading {}", blob.display())))?,
        )
    } else if media_type.ends_with("+gzip") || media_type.ends_with(".gzip") {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let mut archive = tar::Archive::new(decoded);
    let entries = archive
        .entries()
        .into_diagnostic()
        .map_err(|e| e.wrap_err(format!("reading {}", blob.display())))?;
    for entry in entries {
        let entry = entry
            .into_diagnostic()
            .map_err(|e| e.wrap_err(format!("reading {}", blob.display())))?;
        let Ok(p) = entry.path() else { continue };
        let text = p.to_string_lossy();
        if text.trim_start_matches("./").trim_end_matches('/') == wanted {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: super::Args,
    }

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
        let cli = Cli::parse_from(["explain", "--dropped", "gcc", "Dockerfile", "ctx"]);
        assert_eq!(cli.args.dropped.as_deref(), Some("gcc"));
        assert_eq!(cli.args.what.as_deref(), Some("ctx"));
        let cli = Cli::parse_from(["explain", "out", "/usr/bin/x"]);
        assert_eq!(cli.args.out_or_file, std::path::PathBuf::from("out"));
    }
}
