//! `scratchify parse`: print a Dockerfile's syntax tree.
//!
//! `--format buildkit` prints BuildKit's AST dump, byte for byte what
//! BuildKit's own dumper prints: it runs the line-level parser only, as
//! BuildKit's dumper does, so an unknown instruction is dumped rather than
//! rejected. `--format json` (the default) prints the typed AST with spans
//! and runs every check of the typed layer. Warnings go to standard error.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use miette::{IntoDiagnostic, WrapErr};

use super::CommandResult;
use crate::dockerfile;
use crate::source::SourceFile;

/// Output formats of `scratchify parse`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The typed syntax tree, with byte spans, as JSON.
    #[default]
    Json,
    /// BuildKit's parse-tree dump (`(keyword ["--flag"] "arg" ...)`).
    Buildkit,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// The Dockerfile to parse (`-` reads standard input).
    pub file: PathBuf,
}

pub fn run(args: Args) -> CommandResult {
    let (name, text) = read_dockerfile(&args.file)?;
    let src = SourceFile::new(name, text);
    let out = match args.format {
        Format::Buildkit => {
            let nodes = dockerfile::parse_nodes(&src)?;
            report_warnings(nodes.warnings.iter().map(|w| w.to_diagnostic(&src)));
            dockerfile::dump(&nodes)
        }
        Format::Json => {
            let df = dockerfile::parse(&src)?;
            report_warnings(df.diagnostics(&src));
            let mut s = serde_json::to_string_pretty(&df).into_diagnostic()?;
            s.push('\n');
            s
        }
    };
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    lock.write_all(out.as_bytes())
        .and_then(|()| lock.flush())
        .into_diagnostic()
        .wrap_err("writing to standard output")?;
    Ok(ExitCode::SUCCESS)
}

fn report_warnings(diags: impl IntoIterator<Item = crate::source::SourceDiagnostic>) {
    for d in diags {
        eprintln!("{:?}", miette::Report::new(d));
    }
}

/// Read the file (or standard input for `-`), refusing more than
/// [`dockerfile::MAX_SOURCE_BYTES`] without reading it all, and text that
/// is not UTF-8.
fn read_dockerfile(path: &std::path::Path) -> miette::Result<(String, String)> {
    let limit = dockerfile::MAX_SOURCE_BYTES as u64;
    let (name, reader): (String, Box<dyn Read>) = if path.as_os_str() == "-" {
        ("<stdin>".into(), Box::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(path)
            .into_diagnostic()
            .wrap_err_with(|| format!("reading {}", path.display()))?;
        (path.display().to_string(), Box::new(f))
    };
    let mut bytes = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .into_diagnostic()
        .wrap_err_with(|| format!("reading {name}"))?;
    if bytes.len() as u64 > limit {
        return Err(miette::miette!(
            code = "dockerfile::too-large",
            help = "a Dockerfile this large is almost certainly not one",
            "{name} is larger than {} bytes",
            limit
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        miette::miette!(
            code = "dockerfile::not-utf8",
            help = "convert the file to UTF-8",
            "{name} is not valid UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    Ok((name, text))
}
