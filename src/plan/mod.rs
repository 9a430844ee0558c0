//! The plan: what the final image needs, what is dropped, and why.
//!
//! [`plan`] interprets the stages of a parsed Dockerfile into the IR of
//! [`ir`]: package requests, file operations, accounts, the image config and
//! the dropped items, each with its provenance. It does no I/O: the data it
//! needs (base image mappings, build-only classifications) is compiled in
//! from `grammar/`, and the few build-context files it reads (requirements
//! files that `pip install -r` consumes) come through [`ContextFiles`].

use std::collections::BTreeMap;
use std::fmt;

use miette::Diagnostic;

use crate::dockerfile::Dockerfile;
use crate::source::{SourceDiagnostic, SourceFile};

pub mod bases;
pub mod classify;
pub mod commands_data;
mod interpret;
pub mod ir;
pub mod render;

pub use ir::*;

/// What the user decides on the command line.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// `--build-arg K=V`.
    pub build_args: BTreeMap<String, String>,
    /// `--target STAGE`: the stage the image is built from (default: last).
    pub target: Option<String>,
    /// `--keep NAME`: keep a package a rule would drop.
    pub keep: Vec<String>,
    /// `--drop NAME`: drop a package the plan would keep.
    pub drop: Vec<String>,
    /// `--allow-unsupported`: a step scratchify cannot interpret is dropped
    /// (and reported) instead of failing the plan.
    pub allow_unsupported: bool,
}

/// Read access to small text files of the build context (requirements
/// files). Paths are as written in the Dockerfile, relative to the context.
pub trait ContextFiles {
    fn read_text(&self, path: &str) -> Option<String>;
}

/// No build context: every read fails (the plan then reports the step).
pub struct NoContext;

impl ContextFiles for NoContext {
    fn read_text(&self, _path: &str) -> Option<String> {
        None
    }
}

/// A build-context directory on disk. Paths that climb out of it are refused.
pub struct ContextDir(pub std::path::PathBuf);

impl ContextFiles for ContextDir {
    fn read_text(&self, path: &str) -> Option<String> {
        let rel = crate::tree::ImagePath::new(path).ok()?;
        let full = self.0.join(rel.as_str());
        // Refuse symlinks that lead outside the context.
        let canon = full.canonicalize().ok()?;
        let root = self.0.canonicalize().ok()?;
        if !canon.starts_with(&root) {
            return None;
        }
        let meta = std::fs::metadata(&canon).ok()?;
        // Requirements files are small; refuse anything that is not.
        if !meta.is_file() || meta.len() > 4 << 20 {
            return None;
        }
        std::fs::read_to_string(canon).ok()
    }
}

/// A plan and the warnings found while making it.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    pub warnings: Vec<SourceDiagnostic>,
}

/// The plan could not be made: every error found, with its place.
#[derive(Debug)]
pub struct PlanFailure {
    pub errors: Vec<SourceDiagnostic>,
    pub file: String,
}

impl fmt::Display for PlanFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "{}: {} step{} cannot be interpreted",
            self.file,
            n,
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for PlanFailure {}

impl Diagnostic for PlanFailure {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("plan::failed"))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.errors.iter().map(|e| e as &dyn Diagnostic)))
    }
}

/// Interpret a parsed Dockerfile into a plan.
pub fn plan(
    dockerfile: &Dockerfile,
    source: &SourceFile,
    options: &PlanOptions,
    context: &dyn ContextFiles,
) -> Result<Planned, PlanFailure> {
    let outcome = interpret::Interpreter::new(dockerfile, source, options, context).run();
    let mut warnings = dockerfile.diagnostics(source);
    warnings.extend(outcome.warnings);
    if outcome.errors.is_empty() {
        Ok(Planned {
            plan: outcome.plan,
            warnings,
        })
    } else {
        Err(PlanFailure {
            errors: outcome.errors,
            file: source.name().to_string(),
        })
    }
}
