//! `scratchify audit`: what a Dockerfile's image carries that it does not
//! need, without building anything.
//!
//! Parse and plan the Dockerfile, resolve the kept packages' run-time
//! closure and the closure `docker build` would leave against the package
//! index (index only: no package bodies are downloaded; the store's cache
//! is reused), measure the files COPY takes from the build context, and
//! render the report ([`crate::report::from_plan`]).
//!
//! Exit codes: 0 when no threshold is crossed, 1 when one is (after the
//! report is written), 2 on errors (`main` maps `Err` to 2 for audit).
//!
//! Choices the issue left open:
//! - `--sbom spdx|cyclonedx` writes the SBOM *instead of* the report (the
//!   two are separate documents; run audit twice for both). It cannot be
//!   combined with an explicit `--format`.
//! - `-o FILE` writes the output atomically (a temporary file in the same
//!   directory, then a rename); without it the output goes to standard
//!   output. Threshold verdicts and store notes always go to standard error.
//! - Human output is coloured only when it goes to a terminal and
//!   `NO_COLOR` is unset.
//! - The Debian release is the base image's (`FROM debian:bookworm-slim` is
//!   bookworm); a Debian package request on a non-Debian base uses the
//!   host's release.
//! - COPY sizes are measured in the build context as Docker would send it:
//!   `.dockerignore` patterns (Docker's syntax: `*`, `?`, `[...]`, `**`, `!`
//!   exceptions, the last matching line wins, a pattern that matches a
//!   directory excludes what is below it) are applied; symlinks are copied
//!   as links (0 bytes) and never followed; sources that climb out of the
//!   context are refused. At most [`MAX_CONTEXT_ENTRIES`] entries are
//!   looked at; a COPY of more than [`MAX_ITEMS_PER_COPY`] files is reported
//!   as one item for its destination. Sources of a consumed build input
//!   (the plan records them space-separated) are split at spaces. Files
//!   from other stages, images or URLs have unknown sizes (a note says so).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use miette::IntoDiagnostic;

use super::CommandResult;
use super::plan::{PlanArgs, load_plan};
use crate::plan::{CopySource, Ecosystem, FileOpKind, Plan};
use crate::report::threshold::{Policy, evaluate, parse_fail_on, parse_waste_threshold};
use crate::report::{
    self, CopiedFile, Finding, HumanOptions, MarkdownOptions, Report, ReportInputs, Severity,
};
use crate::source::Span;
use crate::store::Closure;
use crate::store::debian::{DebianConfig, DebianStore, host_release};
use crate::tree::ImagePath;

/// How many build-context entries an audit looks at, in all.
pub const MAX_CONTEXT_ENTRIES: usize = 200_000;
/// A COPY with more files than this is one report item.
pub const MAX_ITEMS_PER_COPY: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
    Sarif,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sbom {
    /// SPDX 2.3 JSON.
    Spdx,
    /// CycloneDX 1.5 JSON.
    Cyclonedx,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Report format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Write an SBOM of the minimal image instead of the report.
    #[arg(long, value_enum, conflicts_with = "format")]
    pub sbom: Option<Sbom>,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when the docker build image carries more than this over the
    /// minimal one: bytes (`50MB`, `1.5GiB`, `123456`) or a share of the
    /// docker build estimate (`30%`).
    #[arg(long, value_name = "BYTES|PERCENT")]
    pub fail_on_waste: Option<String>,
    /// Exit 1 when the minimal image still has any of these:
    /// `shell,package-manager,compiler` (any subset).
    #[arg(long, value_name = "LIST")]
    pub fail_on: Option<String>,
    /// Debian repository base URI (default: SCRATCHIFY_DEBIAN_MIRROR, else
    /// the host's apt sources).
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
    /// Repository base URI of the security suite.
    #[arg(long, value_name = "URL")]
    pub security_mirror: Option<String>,
    /// OpenPGP keyring to verify Release files with (default: the apt
    /// sources' Signed-By).
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,
    /// dpkg architecture.
    #[arg(long, default_value = "amd64")]
    pub arch: String,
    /// Never touch the network; use cached indices.
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub plan: PlanArgs,
    /// The Dockerfile (`-` reads standard input).
    pub file: PathBuf,
    /// The build context (default: the Dockerfile's directory).
    pub context: Option<PathBuf>,
}

/// The Debian store options of an audit.
#[derive(Clone, Debug, Default)]
pub struct StoreOptions {
    pub mirror: Option<String>,
    pub security_mirror: Option<String>,
    pub keyring: Option<PathBuf>,
    pub arch: Option<String>,
    pub offline: bool,
}

/// The closures a report compares.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The kept packages' run-time closure, script-only dependencies pruned.
    pub minimal: Closure,
    /// What `docker build` would leave: see [`report::resolve_docker_build`].
    pub docker_build: Closure,
    /// Notes about the resolution (names the index lacks).
    pub findings: Vec<Finding>,
}

/// Resolve the closures of a plan's Debian packages, or `None` when the
/// plan has no Debian packages and no Debian base (Alpine, scratch).
pub fn resolve_debian(plan: &Plan, options: &StoreOptions) -> miette::Result<Option<Resolved>> {
    let debian_base = plan
        .base
        .as_ref()
        .filter(|b| b.family.ecosystem() == Some(Ecosystem::Debian));
    let has_debian_packages = plan
        .packages
        .iter()
        .any(|p| p.ecosystem == Ecosystem::Debian);
    if debian_base.is_none() && !has_debian_packages {
        return Ok(None);
    }
    let release = match debian_base {
        Some(b) => b.release.clone(),
        None => host_release(Path::new("/")).ok_or_else(|| {
            miette::miette!(
                "the plan installs Debian packages on a non-Debian base and the host's /etc/os-release names no release"
            )
        })?,
    };
    let mut config = DebianConfig::new(release)?;
    if options.mirror.is_some() {
        config.mirror = options.mirror.clone();
    }
    if options.security_mirror.is_some() {
        config.security_mirror = options.security_mirror.clone();
    }
    if options.keyring.is_some() {
        config.keyring = options.keyring.clone();
    }
    if let Some(a) = &options.arch {
        config.arch = a.clone();
    }
    config.offline = options.offline;
    config.progress = false;
    let store = DebianStore::new(config)?;
    let (docker_build, mut findings) = report::resolve_docker_build(&store, plan)?;
    let (minimal, more) = report::resolve_minimal(&store, plan, &docker_build)?;
    findings.extend(more);
    Ok(Some(Resolved {
        minimal,
        docker_build,
        findings,
    }))
}

pub fn run(args: Args) -> CommandResult {
    let mut policy = Policy::default();
    if let Some(w) = &args.fail_on_waste {
        policy.fail_on_waste = Some(parse_waste_threshold(w)?);
    }
    if let Some(list) = &args.fail_on {
        policy.fail_on = parse_fail_on(list)?;
    }
    let (source, planned) = load_plan(&args.file, args.context.as_deref(), &args.plan)?;
    let plan = &planned.plan;
    let resolved = resolve_debian(
        plan,
        &StoreOptions {
            mirror: args.mirror.clone(),
            security_mirror: args.security_mirror.clone(),
            keyring: args.keyring.clone(),
            arch: Some(args.arch.clone()),
            offline: args.offline,
        },
    )?;
    let context_dir = match (&args.context, args.file.as_os_str() == "-") {
        (Some(c), _) => Some(c.clone()),
        (None, false) => Some(
            args.file
                .parent()
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".")),
        ),
        (None, true) => None,
    };
    let mut findings = Vec::new();
    let copied = measure_files(plan, context_dir.as_deref(), &source, &mut findings);
    if let Some(r) = &resolved {
        for note in r.minimal.notes.iter().chain(&r.docker_build.notes) {
            eprintln!("note: {note}");
        }
        findings.extend(r.findings.iter().cloned());
    }
    let inputs = ReportInputs {
        docker_closure: resolved.as_ref().map(|r| &r.docker_build),
        copied,
        findings,
        plan_warnings: planned.warnings.clone(),
        source_date_epoch: source_date_epoch()?,
    };
    let report = report::from_plan(
        plan,
        &source,
        resolved.as_ref().map(|r| &r.minimal),
        &inputs,
    );
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let text = render(&report, args.format, args.sbom, to_terminal);
    match &args.output {
        Some(path) => write_atomic(path, text.as_bytes())?,
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                // `audit | head`: the reader has what it wanted.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.into_diagnostic()?,
            }
        }
    }
    let verdict = evaluate(&report, &policy);
    for reason in &verdict.reasons {
        eprintln!("scratchify audit: {reason}");
    }
    Ok(ExitCode::from(verdict.exit_code()))
}

/// `SOURCE_DATE_EPOCH`, default 0.
fn source_date_epoch() -> miette::Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map_err(|_| miette::miette!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds")),
        _ => Ok(0),
    }
}

/// The output text of an audit.
pub fn render(report: &Report, format: Format, sbom: Option<Sbom>, terminal: bool) -> String {
    match (sbom, format) {
        (Some(Sbom::Spdx), _) => report::render_spdx(report),
        (Some(Sbom::Cyclonedx), _) => report::render_cyclonedx(report),
        (None, Format::Human) => report::render_human(
            report,
            &HumanOptions {
                color: terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
                ..HumanOptions::default()
            },
        ),
        (None, Format::Json) => report::to_json(report),
        (None, Format::Markdown) => report::render_markdown(report, &MarkdownOptions::default()),
        (None, Format::Sarif) => report::render_sarif(report),
        (None, Format::Html) => report::render_html(report),
    }
}

/// Write `data` to `path` through a temporary file in the same directory.
pub fn write_atomic(path: &Path, data: &[u8]) -> miette::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".scratchify-")
        .tempfile_in(dir)
        .into_diagnostic()
        .map_err(|e| e.wrap_err(format!("creating a temporary file in {}", dir.display())))?;
    // tempfile creates 0600; a report is for reading, like any other output.
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .into_diagnostic()?;
    }
    tmp.write_all(data)
        .and_then(|()| tmp.as_file().sync_all())
        .into_diagnostic()
        .map_err(|e| e.wrap_err(format!("writing {}", path.display())))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .into_diagnostic()
        .map_err(|e| e.wrap_err(format!("writing {}", path.display())))?;
    Ok(())
}

/// The files each COPY/ADD (and file-writing step) of the plan puts in the
/// image, and the build inputs it consumes, keyed by instruction span.
pub fn measure_files(
    plan: &Plan,
    context: Option<&Path>,
    source: &crate::source::SourceFile,
    findings: &mut Vec<Finding>,
) -> BTreeMap<Span, Vec<CopiedFile>> {
    let mut out: BTreeMap<Span, Vec<CopiedFile>> = BTreeMap::new();
    let ignore = context.map(DockerIgnore::read).unwrap_or_default();
    let mut budget = MAX_CONTEXT_ENTRIES;
    let mut note = |span: Span, message: String| {
        findings.push(Finding {
            severity: Severity::Note,
            code: "audit::copy-size-unknown".into(),
            message,
            label: None,
            help: None,
            location: Some(report::Location::from_span(source, span)),
        });
    };
    for op in &plan.files {
        let span = op.provenance.span;
        match &op.kind {
            FileOpKind::Copy {
                source: copy_source,
                sources,
                dest,
                ..
            } => match copy_source {
                CopySource::Context => {
                    let Some(ctx) = context else {
                        note(
                            span,
                            "no build context (the Dockerfile came from standard input): sizes of COPY'd files are unknown".into(),
                        );
                        continue;
                    };
                    match measure_copy(ctx, sources, dest, &ignore, &mut budget) {
                        Ok(files) => out.entry(span).or_default().extend(files),
                        Err(reason) => note(span, reason),
                    }
                }
                CopySource::Heredoc { name, content } => {
                    let path = if sources.len() <= 1 && !dest.ends_with('/') {
                        absolute(dest)
                    } else {
                        join_image(dest, name)
                    };
                    out.entry(span)
                        .or_default()
                        .push(bytes_file(path, content.as_bytes()));
                }
                CopySource::Stage { name, .. } => note(
                    span,
                    format!(
                        "files copied from stage {name} have unknown sizes until the stage is built"
                    ),
                ),
                CopySource::Image { reference } => note(
                    span,
                    format!(
                        "files copied from image {reference} have unknown sizes (images are not pulled)"
                    ),
                ),
                CopySource::Url { url, .. } => note(
                    span,
                    format!("{url} is not downloaded by an audit; its size is unknown"),
                ),
            },
            FileOpKind::WriteFile { path, content, .. } => {
                out.entry(span)
                    .or_default()
                    .push(bytes_file(absolute(path), content.as_bytes()));
            }
            FileOpKind::Touch { path } => {
                out.entry(span)
                    .or_default()
                    .push(bytes_file(absolute(path), b""));
            }
            _ => {}
        }
    }
    // Build inputs a step consumes: in the docker build image, not in the
    // minimal one.
    if let Some(ctx) = context {
        for d in &plan.dropped {
            if let crate::plan::DroppedKind::File { path } = &d.what {
                let sources: Vec<String> = path.split_whitespace().map(str::to_string).collect();
                if sources.is_empty() || out.contains_key(&d.provenance.span) {
                    continue;
                }
                match measure_copy(ctx, &sources, "/", &ignore, &mut budget) {
                    Ok(files) => {
                        out.insert(d.provenance.span, files);
                    }
                    Err(reason) => note(d.provenance.span, reason),
                }
            }
        }
    }
    out
}

fn absolute(path: &str) -> String {
    ImagePath::new(path).map_or_else(|_| path.to_string(), |p| p.absolute())
}

fn join_image(dir: &str, rel: &str) -> String {
    ImagePath::new(dir)
        .and_then(|d| d.join(rel))
        .map_or_else(|_| format!("{dir}/{rel}"), |p| p.absolute())
}

fn bytes_file(path: String, data: &[u8]) -> CopiedFile {
    use sha1::Digest as _;
    use sha2::Digest as _;
    CopiedFile {
        path,
        size: data.len() as u64,
        files: 1,
        sha256: Some(hex::encode(sha2::Sha256::digest(data))),
        sha1: Some(hex::encode(sha1::Sha1::digest(data))),
    }
}

/// The files of one COPY from the context, with their image paths.
fn measure_copy(
    context: &Path,
    sources: &[String],
    dest: &str,
    ignore: &DockerIgnore,
    budget: &mut usize,
) -> Result<Vec<CopiedFile>, String> {
    let is_glob = |s: &str| s.contains(['*', '?', '[']);
    // Context-relative sources (a leading `/` is the context root, as in Docker).
    let mut matched: Vec<ImagePath> = Vec::new();
    for s in sources {
        let rel = ImagePath::new(s).map_err(|e| format!("COPY source {s:?}: {e}"))?;
        if is_glob(rel.as_str()) {
            let glob = globset::GlobBuilder::new(rel.as_str())
                .literal_separator(true)
                .build()
                .map_err(|e| format!("COPY source {s:?}: {e}"))?
                .compile_matcher();
            let mut all = Vec::new();
            list_tree(context, &ImagePath::root(), ignore, budget, &mut all)?;
            let mut any = false;
            for (p, _) in all {
                if glob.is_match(p.as_str()) {
                    any = true;
                    matched.push(p);
                }
            }
            if !any {
                return Err(format!(
                    "COPY source {s:?} matches nothing in the build context"
                ));
            }
        } else {
            matched.push(rel);
        }
    }
    let into_dir = dest.ends_with('/') || matched.len() > 1 || sources.iter().any(|s| is_glob(s));
    let mut files = Vec::new();
    for rel in matched {
        let on_disk = context.join(rel.as_str());
        let meta = std::fs::symlink_metadata(&on_disk)
            .map_err(|e| format!("COPY source {}: {e}", rel.absolute()))?;
        if ignore.excludes(&rel) && !rel.is_root() {
            return Err(format!(
                "COPY source {} is excluded by .dockerignore",
                rel.absolute()
            ));
        }
        if meta.is_dir() {
            let mut entries = Vec::new();
            list_tree(context, &rel, ignore, budget, &mut entries)?;
            for (p, is_link) in entries {
                let below = p
                    .as_str()
                    .strip_prefix(rel.as_str())
                    .unwrap_or(p.as_str())
                    .trim_start_matches('/');
                files.push(measure_file(context, &p, is_link, join_image(dest, below))?);
            }
        } else {
            take_budget(budget)?;
            let path = if into_dir {
                join_image(dest, rel.file_name())
            } else {
                absolute(dest)
            };
            files.push(measure_file(
                context,
                &rel,
                meta.file_type().is_symlink(),
                path,
            )?);
        }
    }
    if files.len() > MAX_ITEMS_PER_COPY {
        let total = files.iter().map(|f| f.size).sum();
        return Ok(vec![CopiedFile {
            path: absolute(dest),
            size: total,
            files: files.len() as u64,
            sha256: None,
            sha1: None,
        }]);
    }
    Ok(files)
}

fn take_budget(budget: &mut usize) -> Result<(), String> {
    *budget = budget.checked_sub(1).ok_or_else(|| {
        format!("the build context has more than {MAX_CONTEXT_ENTRIES} entries; sizes are left out")
    })?;
    Ok(())
}

/// Regular files and symlinks below `dir` (context-relative), not following
/// symlinks, skipping what `.dockerignore` excludes; sorted.
fn list_tree(
    context: &Path,
    dir: &ImagePath,
    ignore: &DockerIgnore,
    budget: &mut usize,
    out: &mut Vec<(ImagePath, bool)>,
) -> Result<(), String> {
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let on_disk = context.join(d.as_str());
        let read =
            std::fs::read_dir(&on_disk).map_err(|e| format!("{}: {e}", on_disk.display()))?;
        let mut names: Vec<String> = Vec::new();
        for entry in read {
            let entry = entry.map_err(|e| format!("{}: {e}", on_disk.display()))?;
            take_budget(budget)?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        for name in names.into_iter().rev() {
            let Ok(p) = d.join(&name) else { continue };
            if ignore.excludes(&p) {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(context.join(p.as_str())) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() || meta.file_type().is_symlink() {
                out.push((p, meta.file_type().is_symlink()));
            }
        }
    }
    out.sort();
    Ok(())
}

fn measure_file(
    context: &Path,
    rel: &ImagePath,
    is_link: bool,
    image_path: String,
) -> Result<CopiedFile, String> {
    use sha1::Digest as _;
    use sha2::Digest as _;
    if is_link {
        return Ok(CopiedFile {
            path: image_path,
            size: 0,
            files: 1,
            sha256: None,
            sha1: None,
        });
    }
    let on_disk = context.join(rel.as_str());
    let mut f = std::fs::File::open(&on_disk).map_err(|e| format!("{}: {e}", on_disk.display()))?;
    let mut s256 = sha2::Sha256::new();
    let mut s1 = sha1::Sha1::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("{}: {e}", on_disk.display()))?;
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).unwrap_or_default();
        s256.update(chunk);
        s1.update(chunk);
        size += n as u64;
    }
    Ok(CopiedFile {
        path: image_path,
        size,
        files: 1,
        sha256: Some(hex::encode(s256.finalize())),
        sha1: Some(hex::encode(s1.finalize())),
    })
}

/// `.dockerignore` patterns, matched as Docker does: against the
/// context-relative path and each of its parents, the last matching line
/// deciding (`!` lines re-include).
#[derive(Debug, Default)]
struct DockerIgnore {
    patterns: Vec<(globset::GlobMatcher, bool)>,
}

impl DockerIgnore {
    fn read(context: &Path) -> DockerIgnore {
        let Ok(text) = std::fs::read_to_string(context.join(".dockerignore")) else {
            return DockerIgnore::default();
        };
        let mut patterns = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negated, pat) = match line.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, line),
            };
            let pat = pat.trim_start_matches('/').trim_end_matches('/');
            let pat = pat.strip_prefix("./").unwrap_or(pat);
            if pat.is_empty() {
                continue;
            }
            if let Ok(g) = globset::GlobBuilder::new(pat)
                .literal_separator(true)
                .build()
            {
                patterns.push((g.compile_matcher(), negated));
            }
        }
        DockerIgnore { patterns }
    }

    fn excludes(&self, path: &ImagePath) -> bool {
        let mut excluded = false;
        let candidates: Vec<ImagePath> = path
            .ancestors()
            .filter(|p| !p.is_root())
            .chain(std::iter::once(path.clone()))
            .collect();
        for (glob, negated) in &self.patterns {
            if candidates.iter().any(|c| glob.is_match(c.as_str())) {
                excluded = !negated;
            }
        }
        excluded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_consistent() {
        use clap::{CommandFactory, Parser};
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        Cli::command().debug_assert();
        let cli = Cli::parse_from(["audit", "--sbom", "spdx", "-o", "x.json", "Dockerfile"]);
        assert_eq!(cli.args.sbom, Some(Sbom::Spdx));
        assert!(Cli::try_parse_from(["audit", "--sbom", "spdx", "--format", "json", "D"]).is_err());
    }

    #[test]
    fn dockerignore_matches_parents_and_exceptions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".dockerignore"),
            "# comment\n/.git\n*.md\n!README.md\nbuild/**/*.o\n",
        )
        .unwrap();
        let ig = DockerIgnore::read(dir.path());
        let p = |s: &str| ImagePath::new(s).unwrap();
        assert!(ig.excludes(&p(".git/config")));
        assert!(ig.excludes(&p("notes.md")));
        assert!(!ig.excludes(&p("README.md")));
        assert!(!ig.excludes(&p("docs/notes.md")), "* does not cross /");
        assert!(ig.excludes(&p("build/a/b/x.o")));
        assert!(!ig.excludes(&p("src/main.rs")));
    }

    #[test]
    fn copy_paths_follow_docker() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("site/css")).unwrap();
        std::fs::write(dir.path().join("site/index.html"), "hi").unwrap();
        std::fs::write(dir.path().join("site/css/a.css"), "abc").unwrap();
        std::fs::write(dir.path().join("app.py"), "print(1)\n").unwrap();
        let ig = DockerIgnore::default();
        let mut budget = 100;
        let files = measure_copy(dir.path(), &["site/".into()], "/srv/", &ig, &mut budget).unwrap();
        let got: Vec<(&str, u64)> = files.iter().map(|f| (f.path.as_str(), f.size)).collect();
        assert_eq!(got, [("/srv/css/a.css", 3), ("/srv/index.html", 2)]);
        let files = measure_copy(
            dir.path(),
            &["app.py".into()],
            "/app/main.py",
            &ig,
            &mut budget,
        )
        .unwrap();
        assert_eq!(files[0].path, "/app/main.py");
        let files = measure_copy(dir.path(), &["*.py".into()], "/app", &ig, &mut budget).unwrap();
        assert_eq!(files[0].path, "/app/app.py");
        assert!(measure_copy(dir.path(), &["../x".into()], "/", &ig, &mut budget).is_err());
        assert!(measure_copy(dir.path(), &["nope".into()], "/", &ig, &mut budget).is_err());
        let mut tiny = 1;
        assert!(measure_copy(dir.path(), &["site".into()], "/", &ig, &mut tiny).is_err());
    }
}
