//! `scratchify plan`: what the final image keeps and drops, with reasons and
//! Dockerfile lines.

use std::path::PathBuf;
use std::process::ExitCode;

use miette::IntoDiagnostic;

use super::{CommandResult, read_input};
use crate::plan::{self, ContextDir, NoContext, PlanOptions};
use crate::source::SourceFile;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Options shared by every command that plans (plan, build, audit).
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// `--build-arg KEY=VALUE`, as for docker build.
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// Build this stage instead of the last one.
    #[arg(long)]
    pub target: Option<String>,
    /// Keep a package a rule would drop (repeatable).
    #[arg(long, value_name = "NAME")]
    pub keep: Vec<String>,
    /// Drop a package the plan would keep (repeatable).
    #[arg(long, value_name = "NAME")]
    pub drop: Vec<String>,
    /// Drop (and report) steps scratchify cannot interpret instead of failing.
    #[arg(long)]
    pub allow_unsupported: bool,
}

impl PlanArgs {
    pub fn options(&self) -> miette::Result<PlanOptions> {
        let mut build_args = std::collections::BTreeMap::new();
        for a in &self.build_args {
            match a.split_once('=') {
                Some((k, v)) => build_args.insert(k.to_string(), v.to_string()),
                // Like docker build: `--build-arg K` takes K from the environment.
                None => build_args.insert(a.clone(), std::env::var(a).unwrap_or_default()),
            };
        }
        Ok(PlanOptions {
            build_args,
            target: self.target.clone(),
            keep: self.keep.clone(),
            drop: self.drop.clone(),
            allow_unsupported: self.allow_unsupported,
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    #[command(flatten)]
    pub plan: PlanArgs,
    /// The Dockerfile (`-` reads standard input).
    pub file: PathBuf,
    /// The build context (default: the Dockerfile's directory).
    pub context: Option<PathBuf>,
}

/// Parse and plan a Dockerfile: the shared first half of plan, build and audit.
pub fn load_plan(
    file: &std::path::Path,
    context: Option<&std::path::Path>,
    args: &PlanArgs,
) -> miette::Result<(SourceFile, plan::Planned)> {
    let text = read_input(file)?;
    let name = if file.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        file.display().to_string()
    };
    let source = SourceFile::new(name, text);
    let df = crate::dockerfile::parse(&source)?;
    let options = args.options()?;
    let context_dir = match context {
        Some(c) => Some(c.to_path_buf()),
        None if file.as_os_str() != "-" => Some(
            file.parent()
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".")),
        ),
        None => None,
    };
    let planned = match context_dir {
        Some(dir) => plan::plan(&df, &source, &options, &ContextDir(dir)),
        None => plan::plan(&df, &source, &options, &NoContext),
    }?;
    Ok((source, planned))
}

pub fn run(args: Args) -> CommandResult {
    let (_source, planned) = load_plan(&args.file, args.context.as_deref(), &args.plan)?;
    for w in &planned.warnings {
        eprintln!("{:?}", miette::Report::new(w.clone()));
    }
    match args.format {
        Format::Human => print!("{}", plan::render::human(&planned.plan)),
        Format::Json => {
            let json = serde_json::to_string_pretty(&planned.plan).into_diagnostic()?;
            println!("{json}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
