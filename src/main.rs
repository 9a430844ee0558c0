//! The `scratchify` command line. Logic lives in the library
//! (`scratchify::commands`); this file only parses arguments and renders
//! errors.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use scratchify::commands;

#[derive(Parser)]
#[command(name = "scratchify", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse a Dockerfile and print its syntax tree.
    Parse(commands::parse::Args),
    /// Show what the final image keeps and drops, with reasons and lines.
    Plan(commands::plan::Args),
    /// Resolve packages to their runtime closure in a package repository.
    Resolve(commands::resolve::Args),
    /// Build the minimal image a Dockerfile meant.
    Build(commands::build::Args),
    /// Report what a Dockerfile's image carries as build debris.
    Audit(commands::audit::Args),
    /// Explain why a file or package is in an image, or why it was dropped.
    Explain(commands::explain::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (result, error_code) = match cli.command {
        Command::Parse(a) => (commands::parse::run(a), 1),
        Command::Plan(a) => (commands::plan::run(a), 1),
        Command::Resolve(a) => (commands::resolve::run(a), 1),
        Command::Build(a) => (commands::build::run(a), 1),
        // audit keeps exit 1 for "threshold crossed"; errors are 2.
        Command::Audit(a) => (commands::audit::run(a), 2),
        Command::Explain(a) => (commands::explain::run(a), 1),
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(error_code)
        }
    }
}
