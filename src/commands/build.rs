//! `scratchify build`: the whole pipeline, from a Dockerfile to an image on
//! disk or in a registry, ending with a short summary on stderr.
//!
//! Choices:
//! - As with `docker build`, CONTEXT defaults to `.` and the Dockerfile to
//!   `CONTEXT/Dockerfile`.
//! - The name recorded in the output (`--tag`, else `--push`'s reference,
//!   else `<context directory name>:latest`) is what `oci:DIR:TAG`,
//!   `umoci --image DIR:TAG` and `docker load` find the image by.
//! - `-o` or `--push` (or both) must be given: a build that goes nowhere
//!   is a mistake.
//! - With `-o OUT` the report is written (atomically, after the image) to
//!   `OUT.report.json` ([`report::report_path_for`]), where `scratchify
//!   explain OUT` reads it. A push alone writes no report file; `--report
//!   FORMAT` prints it in any case.
//! - The report's docker-build side is resolved against the store the
//!   build took its packages from ([`Built::store`], indices already
//!   loaded: one build loads them once); the minimal side is the closure
//!   the image was built from.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use super::CommandResult;
use super::audit::{self, write_atomic};
use super::plan::PlanArgs;
use crate::image::{self, AssembleOptions, Compression, Format, LayerCache, Reference};
use crate::pipeline::{self, BuildOptions, Built, StoreSettings};
use crate::report::{self, Location, Report, ReportInputs, format_bytes};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// An OCI image layout directory.
    Oci,
    /// A tar of the OCI layout (also loadable by `docker load`).
    OciArchive,
    /// A tar `docker load` accepts (the same bytes as oci-archive).
    DockerArchive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompressionArg {
    Gzip,
    Zstd,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Dockerfile (default: CONTEXT/Dockerfile; `-` reads standard input).
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// The build context directory.
    #[arg(default_value = ".")]
    pub context: PathBuf,
    /// Where to write the image.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "oci-archive")]
    pub format: OutputFormat,
    /// Push the image to this reference (OCI distribution API).
    #[arg(long, value_name = "REF")]
    pub push: Option<String>,
    /// The name recorded in the output (default: the --push reference, else
    /// `<context dir>:latest`).
    #[arg(short = 't', long = "tag", value_name = "REF")]
    pub tag: Option<String>,
    /// Layer compression.
    #[arg(long, value_enum, default_value = "gzip")]
    pub compression: CompressionArg,
    /// Most layers the image may have (store paths, rootfs and COPY layers).
    #[arg(long, default_value_t = image::DEFAULT_MAX_LAYERS)]
    pub max_layers: usize,
    /// Debian repository base URI (default: SCRATCHIFY_DEBIAN_MIRROR, else
    /// the host's apt sources).
    #[arg(long)]
    pub mirror: Option<String>,
    /// Repository base URI of the security suite.
    #[arg(long)]
    pub security_mirror: Option<String>,
    /// OpenPGP keyring to verify Release files with.
    #[arg(long)]
    pub keyring: Option<PathBuf>,
    /// dpkg architecture of the image.
    #[arg(long, default_value = "amd64")]
    pub arch: String,
    /// STAGE=DIR: a directory holding the filesystem a build stage (name or
    /// index) or an external image produced, for `COPY --from` (repeatable).
    #[arg(long = "stage-output", value_name = "STAGE=DIR")]
    pub stage_output: Vec<String>,
    /// Never touch the network; use cached indices and packages.
    #[arg(long, conflicts_with = "refresh")]
    pub offline: bool,
    /// Fetch Release files even if the cached ones are fresh.
    #[arg(long)]
    pub refresh: bool,
    /// Do not use (or fill) the layer cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Also print the report to standard output in this format (it is
    /// written as JSON next to `-o OUT` in any case).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub report: Option<audit::Format>,
    #[command(flatten)]
    pub plan: PlanArgs,
}

fn stage_outputs(args: &[String]) -> miette::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for a in args {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| miette::miette!("--stage-output {a:?}: expected STAGE=DIR"))?;
        if k.is_empty() || v.is_empty() {
            return Err(miette::miette!("--stage-output {a:?}: expected STAGE=DIR"));
        }
        let dir = PathBuf::from(v);
        if !dir.is_dir() {
            return Err(miette::miette!("--stage-output {k}={v}: not a directory"));
        }
        out.insert(k.to_string(), dir);
    }
    Ok(out)
}

pub fn run(args: Args) -> CommandResult {
    if args.output.is_none() && args.push.is_none() {
        return Err(miette::miette!(
            help = "write it with -o FILE (or a directory with --format oci), or push it with --push REF",
            "scratchify build needs -o or --push"
        ));
    }
    let dockerfile = args
        .file
        .clone()
        .unwrap_or_else(|| args.context.join("Dockerfile"));
    let compression = match args.compression {
        CompressionArg::Gzip => Compression::default(),
        CompressionArg::Zstd => Compression::default_zstd(),
    };
    let mut assemble = AssembleOptions::from_env()?;
    assemble.compression = compression;
    if args.no_cache {
        assemble.cache = LayerCache::Disabled;
    }
    let opts = BuildOptions {
        plan: args.plan.options()?,
        context: Some(args.context.clone()),
        stage_outputs: stage_outputs(&args.stage_output)?,
        store: StoreSettings {
            mirror: args.mirror.clone(),
            security_mirror: args.security_mirror.clone(),
            keyring: args.keyring.clone(),
            arch: Some(args.arch.clone()),
            cache_dir: None,
            offline: args.offline,
            refresh: args.refresh,
            progress: true,
        },
        max_layers: args.max_layers,
        assemble,
        ..Default::default()
    };
    let built = pipeline::build(&dockerfile, &opts)?;
    let source_date_epoch = opts.assemble.source_date_epoch;
    for w in &built.warnings {
        eprintln!("{:?}", miette::Report::new(w.clone()));
    }
    for n in &built.notes {
        eprintln!("note: {n}");
    }

    let reference = match args.tag.as_deref().or(args.push.as_deref()) {
        Some(r) => Reference::parse(r)?,
        None => {
            let name = std::fs::canonicalize(&args.context)
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_lowercase()))
                .map(|n| {
                    n.chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                                c
                            } else {
                                '-'
                            }
                        })
                        .collect::<String>()
                })
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "image".into());
            Reference::parse(&format!("{name}:latest"))
                .or_else(|_| Reference::parse("image:latest"))?
        }
    };
    if let Some(out) = &args.output {
        let format = match args.format {
            OutputFormat::Oci => Format::Oci,
            OutputFormat::OciArchive => Format::OciArchive,
            OutputFormat::DockerArchive => Format::DockerArchive,
        };
        image::write(
            &built.image,
            format,
            out,
            &image::WriteOptions {
                reference: Some(reference.clone()),
            },
        )?;
    }
    let report = if args.output.is_some() || args.report.is_some() {
        Some(build_report(&built, source_date_epoch)?)
    } else {
        None
    };
    if let (Some(out), Some(r)) = (&args.output, &report) {
        write_atomic(&report::report_path_for(out), report::to_json(r).as_bytes())?;
    }
    if let Some(p) = &args.push {
        let r = Reference::parse(p)?;
        let report = image::push(&built.image, &r, &image::PushOptions::default())?;
        eprintln!(
            "pushed {} ({} blobs uploaded, {} already there)",
            report.manifest_url,
            report.uploaded.len(),
            report.skipped.len()
        );
    }

    let img = &built.image;
    let script_only = built.closure.as_ref().map_or(0, |c| c.pruned.len());
    let unreachable = built.slim.dropped_packages.len();
    let file_drops: u64 = built.slim.dropped_files.iter().map(|f| f.bytes).sum();
    let mut summary = format!(
        "image {}\n  {} layers, {} compressed, {} uncompressed\n  packages: {} kept, {} dropped ({} script-only, {} unreachable); {} of files dropped from kept packages",
        img.digest(),
        img.layers.len(),
        format_bytes(img.compressed_size()),
        format_bytes(img.uncompressed_size()),
        built.kept_packages(),
        built.dropped_packages(),
        script_only,
        unreachable,
        format_bytes(file_drops),
    );
    if let Some(out) = &args.output {
        summary.push_str(&format!(
            "\n  written to {} (report: {})",
            out.display(),
            report::report_path_for(out).display()
        ));
    }
    eprintln!("{summary}");
    if let (Some(format), Some(r)) = (args.report, &report) {
        use std::io::IsTerminal;
        let text = audit::render(r, format, None, std::io::stdout().is_terminal());
        let mut stdout = std::io::stdout().lock();
        match std::io::Write::write_all(&mut stdout, text.as_bytes())
            .and_then(|()| std::io::Write::flush(&mut stdout))
        {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(miette::miette!("writing the report: {e}"));
            }
            _ => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The report of a build: the plan against the docker-build closure (resolved
/// here, against the build's own store and its loaded indices) and the
/// closure the image was built from, then what slim dropped, the
/// synthesized files and the image.
pub fn build_report(built: &Built, source_date_epoch: u64) -> miette::Result<Report> {
    let mut findings = Vec::new();
    let docker = match &built.store {
        Some(s) => {
            let (closure, notes) = report::resolve_docker_build(s, &built.plan)?;
            findings.extend(notes);
            Some(closure)
        }
        None => None,
    };
    let mut copied: BTreeMap<crate::source::Span, Vec<report::CopiedFile>> = BTreeMap::new();
    for c in &built.copied {
        let Some(op) = built.plan.files.get(c.op) else {
            continue;
        };
        copied
            .entry(op.provenance.span)
            .or_default()
            .push(report::CopiedFile {
                path: c.path.absolute(),
                size: c.size,
                files: 1,
                sha256: Some(c.sha256.clone()),
                sha1: Some(c.sha1.clone()),
            });
    }
    let inputs = ReportInputs {
        docker_closure: docker.as_ref(),
        copied,
        findings,
        plan_warnings: built.warnings.clone(),
        source_date_epoch,
    };
    let mut r = report::from_plan(&built.plan, &built.source, built.closure.as_ref(), &inputs);
    report::with_slim(&mut r, &built.slim);
    // A file a RUN step wrote stands in for that step.
    let written_by: BTreeMap<String, Location> = built
        .applied
        .iter()
        .filter_map(|a| {
            let op = built.plan.files.get(a.op)?;
            Some(a.paths.iter().map(move |p| (p.absolute(), op)))
        })
        .flatten()
        .filter(|(_, op)| op.provenance.instruction.starts_with("RUN"))
        .map(|(p, op)| (p, Location::from_span(&built.source, op.provenance.span)))
        .collect();
    let rootfs = image::SynthesizedRootfs {
        tree: built.rootfs_tree.clone(),
        items: built.synthesized.clone(),
        accounts: built.accounts.clone(),
        groups: built.groups.clone(),
    };
    report::with_synthesized(
        &mut r,
        report::synthesized_items(&rootfs, |p| written_by.get(p).cloned()),
    );
    report::with_image(&mut r, &built.image);
    Ok(r)
}
