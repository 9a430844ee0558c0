//! The POSIX-sh subset found in RUN instructions, and the recognisers that
//! turn commands into effects (package installs, accounts, file operations).
//!
//! - [`parse_script`] parses a script into the syntax tree of [`ast`]
//!   (`grammar/shell.ebnf` documents the accepted subset).
//! - [`analyze_script`] runs the script symbolically: it expands words
//!   against the stage's variables, follows `cd` and assignments, and
//!   records every simple command with its [`Effect`]s.
//! - [`analyze_argv`] does the same for an exec-form RUN.
//!
//! Command grammars (subcommands, options, what they do) are data in
//! `grammar/commands/*.toml` ([`grammar`]); the recognisers that give the
//! parsed command lines their typed meaning are in Rust. Spans are byte
//! ranges into the text given to the analysis; the caller maps them into
//! the Dockerfile. This module does not depend on the Dockerfile front end.

pub mod analyze;
pub mod ast;
pub mod effect;
pub mod grammar;
pub mod parse;
mod recognize;

pub use analyze::{
    Analysis, Arg, Assignment, Command, Context, Cwd, PipelinePosition, RedirectInfo, Severity,
    ShellDiagnostic, Unknown, analyze_argv, analyze_argv_with, analyze_script, analyze_script_with,
    normalize_path,
};
pub use ast::{Connector, RedirectOp};
pub use effect::{
    AptMarkMode, ArchiveSource, ChecksumEntry, ChecksumList, DownloadDest, Effect, HashAlgorithm,
    InstallOptions, Manager, PackageSource, PackageSpec, VersionClause, VersionConstraint,
    VersionOp,
};
pub use grammar::{Grammar, GrammarError};
pub use parse::{ParseError, ParseErrorKind, parse_script};
