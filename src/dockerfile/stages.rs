//! Layer 2, whole file: typed instructions grouped into build stages, as
//! BuildKit's `instructions.Parse` groups them.
//!
//! ARG instructions before the first FROM are global (meta) args; any other
//! instruction before the first FROM is an error. Each FROM starts a stage.
//! Duplicate stage names are reported as a warning (BuildKit's linter rule
//! `DuplicateStageName`); a reference to a stage is resolved by the plan.

use serde::Serialize;

use super::directives::Directive;
use super::instructions::{ArgInstruction, FromInstruction, Instruction, convert};
use super::lines::parse_nodes;
use super::nodes::{ParsedNodes, Warning};
use crate::source::{SourceDiagnostic, SourceFile, Span};

/// A Dockerfile, parsed and typed, expansion not yet applied.
#[derive(Clone, Debug, Serialize)]
pub struct Dockerfile {
    /// Parser directives at the top of the file.
    pub directives: Vec<Directive>,
    /// The escape token (`\` or a backtick).
    pub escape: char,
    /// ARG instructions before the first FROM.
    pub global_args: Vec<ArgInstruction>,
    pub stages: Vec<Stage>,
    /// Non-fatal findings, in source order.
    pub warnings: Vec<Warning>,
}

/// One build stage: a FROM and the instructions up to the next FROM.
#[derive(Clone, Debug, Serialize)]
pub struct Stage {
    /// 0-based position among the stages.
    pub index: usize,
    /// The `AS` name, lower-cased.
    pub name: Option<String>,
    pub from: FromInstruction,
    pub instructions: Vec<Instruction>,
    /// From the FROM to the end of the stage's last instruction.
    pub span: Span,
}

impl Dockerfile {
    /// The warnings as diagnostics for display.
    pub fn diagnostics(&self, source: &SourceFile) -> Vec<SourceDiagnostic> {
        self.warnings
            .iter()
            .map(|w| w.to_diagnostic(source))
            .collect()
    }

    /// The stage named `name` (stage names are case-insensitive).
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        let lower = name.to_ascii_lowercase();
        self.stages
            .iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
    }
}

/// Parse and type a Dockerfile.
pub fn parse(src: &SourceFile) -> Result<Dockerfile, SourceDiagnostic> {
    let nodes = parse_nodes(src)?;
    from_nodes(src, nodes)
}

/// Type an already parsed tree.
pub fn from_nodes(src: &SourceFile, nodes: ParsedNodes) -> Result<Dockerfile, SourceDiagnostic> {
    let mut warnings = nodes.warnings;
    let mut global_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for node in nodes.children {
        let node_span = node.span;
        let keyword = node.keyword;
        let instruction = convert(node, &mut warnings).map_err(|e| {
            let d = SourceDiagnostic::error(src, e.span, "dockerfile::instruction", e.message)
                .with_label(format!("in this {}", keyword.name()));
            match e.help {
                Some(h) => d.with_help(h),
                None => d,
            }
        })?;
        match instruction {
            Instruction::From(from) => {
                if let Some(name) = &from.stage_name
                    && let Some(prev) = stages
                        .iter()
                        .find(|s| s.name.as_deref() == Some(name.text.as_str()))
                {
                    warnings.push(Warning {
                        code: "dockerfile::duplicate-stage-name".into(),
                        message: format!(
                            "duplicate stage name {:?}, first defined on line {}",
                            name.text, prev.from.source.start_line
                        ),
                        span: name.span,
                        help: Some("give every stage its own name".into()),
                    });
                }
                stages.push(Stage {
                    index: stages.len(),
                    name: from.stage_name.as_ref().map(|w| w.text.clone()),
                    span: from.source.span,
                    from,
                    instructions: Vec::new(),
                });
            }
            Instruction::Arg(arg) if stages.is_empty() => global_args.push(arg),
            other => {
                let Some(stage) = stages.last_mut() else {
                    return Err(SourceDiagnostic::error(
                        src,
                        node_span,
                        "dockerfile::no-stage",
                        "no build stage in current context",
                    )
                    .with_help("only ARG may come before the first FROM"));
                };
                stage.span = stage.span.join(other.span());
                stage.instructions.push(other);
            }
        }
    }
    if stages.is_empty() {
        return Err(SourceDiagnostic::error(
            src,
            Span::new(src.text().len(), src.text().len()),
            "dockerfile::no-stage",
            "dockerfile contains no stages to build",
        )
        .with_help("add a FROM instruction"));
    }
    warnings.sort_by_key(|w| w.span.start);
    Ok(Dockerfile {
        directives: nodes.directives,
        escape: nodes.escape,
        global_args,
        stages,
        warnings,
    })
}
