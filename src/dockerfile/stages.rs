//! Layer 2, whole file: typed instructions grouped into build stages, as
//! BuildKit's `instructions.Parse` groups them.
//!
//! ARG instructions before the first FROM are global (meta) args; any other
//! instruction before the first FROM is an error. Each FROM starts a stage.
//! Duplicate stage names are reported as a warning (BuildKit's linter rule
//! `DuplicateStageName`); a reference to a stage is resolved by the plan.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ops::Range;

use serde::Serialize;

use super::direct;
use super::directives::Directive;
use super::instructions::{ArgInstruction, FromInstruction, Instruction, convert};
use super::line_map::LineMap;
use super::lines::{LineSite, NodeSink, scan_nodes};
use super::nodes::{Keyword, Node, ParsedNodes, Warning};
use crate::source::{SourceDiagnostic, SourceFile, Span};

/// A Dockerfile, parsed and typed, expansion not yet applied. Its values
/// borrow from the [`SourceFile`] it was parsed from (`'a`), which must
/// outlive it.
///
/// The instructions of every stage after its FROM are kept in one vector,
/// in source order ([`Dockerfile::instructions`]), each stage naming its
/// part of it: one allocation per file instead of one per stage (and the
/// shrinking of each stage's vector once the next stage began). The JSON
/// form nests each stage's instructions in the stage.
#[derive(Clone, Debug)]
pub struct Dockerfile<'a> {
    /// Parser directives at the top of the file.
    pub directives: Vec<Directive>,
    /// The escape token (`\` or a backtick).
    pub escape: char,
    /// ARG instructions before the first FROM.
    pub global_args: Vec<ArgInstruction<'a>>,
    pub stages: Vec<Stage<'a>>,
    /// The instructions of all stages (FROMs aside), in source order.
    pub all_instructions: Vec<Instruction<'a>>,
    /// Non-fatal findings, in source order.
    pub warnings: Vec<Warning>,
}

/// One build stage: a FROM and the instructions up to the next FROM.
#[derive(Clone, Debug)]
pub struct Stage<'a> {
    /// 0-based position among the stages.
    pub index: usize,
    /// The `AS` name, lower-cased.
    pub name: Option<Cow<'a, str>>,
    pub from: FromInstruction<'a>,
    /// Where the stage's instructions after its FROM are in
    /// [`Dockerfile::all_instructions`] (see [`Dockerfile::instructions`]).
    pub instructions: Range<usize>,
    /// From the FROM to the end of the stage's last instruction.
    pub span: Span,
}

impl Serialize for Dockerfile<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("Dockerfile", 5)?;
        out.serialize_field("directives", &self.directives)?;
        out.serialize_field("escape", &self.escape)?;
        out.serialize_field("global_args", &self.global_args)?;
        let stages: Vec<StageJson> = self
            .stages
            .iter()
            .map(|stage| StageJson {
                index: stage.index,
                name: &stage.name,
                from: &stage.from,
                instructions: self.instructions(stage),
                span: stage.span,
            })
            .collect();
        out.serialize_field("stages", &stages)?;
        out.serialize_field("warnings", &self.warnings)?;
        out.end()
    }
}

/// A stage as the JSON form shows it: its instructions inside it.
#[derive(Serialize)]
struct StageJson<'s, 'a> {
    index: usize,
    name: &'s Option<Cow<'a, str>>,
    from: &'s FromInstruction<'a>,
    instructions: &'s [Instruction<'a>],
    span: Span,
}

impl<'a> Dockerfile<'a> {
    /// The instructions of `stage` (one of [`Self::stages`]) after its
    /// FROM.
    pub fn instructions(&self, stage: &Stage<'a>) -> &[Instruction<'a>] {
        self.all_instructions
            .get(stage.instructions.clone())
            .unwrap_or_default()
    }

    /// The warnings as diagnostics for display.
    pub fn diagnostics(&self, source: &SourceFile) -> Vec<SourceDiagnostic> {
        self.warnings
            .iter()
            .map(|w| w.to_diagnostic(source))
            .collect()
    }

    /// The stage named `name` (stage names are case-insensitive).
    pub fn stage(&self, name: &str) -> Option<&Stage<'a>> {
        let lower = name.to_ascii_lowercase();
        self.stages
            .iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
    }
}

/// Parse and type a Dockerfile.
///
/// Each instruction is typed as soon as the line parser completes it, so
/// the parse tree is never held whole. Errors are reported as
/// `parse_nodes` then `from_nodes` would report them: a line-level error
/// anywhere in the file wins over a typing error.
pub fn parse(src: &SourceFile) -> Result<Dockerfile<'_>, SourceDiagnostic> {
    let mut sink = TypingSink {
        builder: StagesBuilder::new(src),
        typing_error: None,
    };
    let rest = scan_nodes(src, &mut sink)?;
    match sink.typing_error {
        Some(e) => Err(e),
        None => sink
            .builder
            .finish(rest.warnings, rest.directives, rest.escape),
    }
}

/// Types each instruction as the line parser completes it: the common
/// shapes straight from their line ([`direct`]), the rest through a node.
/// After a typing error, lines are still parsed (a line-level error later
/// in the file wins) but no longer typed.
struct TypingSink<'s, 'a> {
    builder: StagesBuilder<'s, 'a>,
    typing_error: Option<SourceDiagnostic>,
}

/// Places what the direct path makes into its stage.
struct Placer<'b, 's, 'a> {
    builder: &'b mut StagesBuilder<'s, 'a>,
    /// The instruction's span (for the error of one before any FROM).
    span: Span,
    placed: Result<(), SourceDiagnostic>,
}

impl<'a> direct::Emit<'a> for &mut Placer<'_, '_, 'a> {
    #[inline(always)]
    fn emit_from(&mut self, make: impl FnOnce() -> FromInstruction<'a>) {
        self.builder.open_stage(make);
    }

    /// Never called for FROM (it goes to `emit_from`, and opens a stage);
    /// anything else joins the current stage, or is placed by `place`
    /// before the first one (where an ARG is global and anything else an
    /// error).
    #[inline(always)]
    fn emit_with(&mut self, make: impl FnOnce() -> Instruction<'a>) {
        match self.builder.stages.last_mut() {
            Some(stage) => {
                stage.span = stage.span.join(self.span);
                self.builder.instructions.push(make());
                debug_assert!(
                    !matches!(self.builder.instructions.last(), Some(Instruction::From(_))),
                    "a FROM opens a stage: it goes through `emit_from`"
                );
            }
            None => self.placed = self.builder.place(make(), self.span),
        }
    }
}

impl<'a> TypingSink<'_, 'a> {
    /// Runs a direct-path typing of the instruction at `at` (`typed`, which
    /// hands what it makes to the placer), keeping the first error; whether
    /// the instruction was taken.
    #[inline(always)]
    fn offer(
        &mut self,
        at: &LineSite<'a>,
        typed: impl for<'p> FnOnce(&'p mut Placer<'_, '_, 'a>) -> Option<()>,
    ) -> bool {
        if self.typing_error.is_some() {
            return false;
        }
        let mut placer = Placer {
            builder: &mut self.builder,
            span: at.span,
            placed: Ok(()),
        };
        let taken = typed(&mut placer).is_some();
        if let Err(e) = placer.placed {
            self.typing_error = Some(e);
        }
        taken
    }
}

impl<'a> NodeSink<'a> for TypingSink<'_, 'a> {
    fn take_line(&mut self, line: &mut Cow<'a, str>, map: &LineMap, at: &LineSite<'a>) -> bool {
        self.offer(at, |placer| direct::instruction(line, map, at, placer))
    }

    /// Not inlined (nor is [`Self::node`]): called once per continued or
    /// rare instruction, they would otherwise sit inside the line loop and
    /// spread the code every line runs over more of the instruction cache
    /// (the loop's function was 27 KB with them, 17 KB without).
    #[inline(never)]
    fn take_continued(
        &mut self,
        first: &'a str,
        pieces: &[(usize, usize)],
        map: &LineMap,
        at: &LineSite<'a>,
    ) -> bool {
        self.offer(at, |placer| {
            direct::continued_command(first, pieces, map, at, placer)
        })
    }

    #[inline(never)]
    fn node(&mut self, mut node: Node<'a>) {
        if self.typing_error.is_none()
            && let Err(e) = self.builder.push(&mut node)
        {
            self.typing_error = Some(e);
        }
    }
}

/// Type an already parsed tree.
pub fn from_nodes<'a>(
    src: &SourceFile,
    nodes: ParsedNodes<'a>,
) -> Result<Dockerfile<'a>, SourceDiagnostic> {
    let mut builder = StagesBuilder::new(src);
    for mut node in nodes.children {
        builder.push(&mut node)?;
    }
    builder.finish(nodes.warnings, nodes.directives, nodes.escape)
}

/// Converts a node, reporting a typing error as a diagnostic.
fn convert_node<'a>(
    src: &SourceFile,
    node: &mut Node<'a>,
    warnings: &mut Vec<Warning>,
) -> Result<Instruction<'a>, SourceDiagnostic> {
    let keyword = node.keyword;
    convert(node, warnings).map_err(|e| {
        let d = SourceDiagnostic::error(src, e.span, "dockerfile::instruction", e.message)
            .with_label(format!("in this {}", keyword.name()));
        match e.help {
            Some(h) => d.with_help(h),
            None => d,
        }
    })
}

/// An instruction other than ARG before the first FROM.
fn no_stage(src: &SourceFile, span: Span) -> SourceDiagnostic {
    SourceDiagnostic::error(
        src,
        span,
        "dockerfile::no-stage",
        "no build stage in current context",
    )
    .with_help("only ARG may come before the first FROM")
}

/// Types instructions one by one and groups them into stages.
struct StagesBuilder<'s, 'a> {
    src: &'s SourceFile,
    /// Warnings of the typing layer.
    warnings: Vec<Warning>,
    global_args: Vec<ArgInstruction<'a>>,
    /// The stages so far; the last one's instruction range is closed when
    /// the next opens, or at the end.
    stages: Vec<Stage<'a>>,
    /// The instructions of every stage (see [`Dockerfile::all_instructions`]).
    instructions: Vec<Instruction<'a>>,
    /// The first stage of each name, once there are more stages than
    /// [`NAMES_SCANNED`] (see [`StagesBuilder::first_stage_named`]).
    first_stage_of_name: Option<HashMap<Cow<'a, str>, usize>>,
}

/// Room for the instructions of a file of `text_len` bytes, made when its
/// first stage opens: an `Instruction` is over 300 bytes, and each
/// regrowth of the vector copies all of them. Nine real Dockerfiles in
/// ten take 45 bytes or more per instruction (their median is 120), so a
/// file rarely outgrows this; the room is capped so that a large file's
/// first allocation stays within the allocator's heap (glibc maps 128 KiB
/// and more on its own, at a system call and page faults each time) and
/// grows from there.
fn instruction_room(text_len: usize) -> usize {
    (text_len / 45).clamp(4, 192)
}

/// Up to this many stages, an earlier stage of the same name is found by
/// looking at each: no allocation, and cheaper than hashing every name
/// (moby's Dockerfile, 37 stages, parses faster this way); past it,
/// through a map, so that a file of many stages is not quadratic in them
/// (100,000 stages would be 5·10⁹ name comparisons).
const NAMES_SCANNED: usize = 64;

impl<'s, 'a> StagesBuilder<'s, 'a> {
    fn new(src: &'s SourceFile) -> Self {
        StagesBuilder {
            src,
            warnings: Vec::new(),
            global_args: Vec::new(),
            stages: Vec::new(),
            instructions: Vec::new(),
            first_stage_of_name: None,
        }
    }

    fn push(&mut self, node: &mut Node<'a>) -> Result<(), SourceDiagnostic> {
        let src = self.src;
        let node_span = node.span;
        let opens_or_global = node.keyword == Keyword::From
            || (node.keyword == Keyword::Arg && self.stages.is_empty());
        if !opens_or_global {
            // The common case, converted straight into its stage's vector:
            // an `Instruction` is about 400 bytes, and every intermediate
            // binding of it would be one more copy.
            return match self.stages.last_mut() {
                Some(stage) => {
                    let instruction = convert_node(src, node, &mut self.warnings)?;
                    stage.span = stage.span.join(instruction.span());
                    self.instructions.push(instruction);
                    Ok(())
                }
                None => {
                    // A typing error in the instruction is reported first.
                    convert_node(src, node, &mut self.warnings)?;
                    Err(no_stage(src, node_span))
                }
            };
        }
        let instruction = convert_node(src, node, &mut self.warnings)?;
        self.place(instruction, node_span)
    }

    /// Adds a typed instruction: a FROM opens a stage, an ARG before the
    /// first FROM is global, anything else joins the current stage (and is
    /// an error before the first FROM, at `span`).
    #[inline(always)]
    fn place(&mut self, instruction: Instruction<'a>, span: Span) -> Result<(), SourceDiagnostic> {
        let opens_or_global = match &instruction {
            Instruction::From(_) => true,
            Instruction::Arg(_) => self.stages.is_empty(),
            _ => false,
        };
        if !opens_or_global {
            // The common case, tested by reference so that the instruction
            // (about 400 bytes) is moved once, into its stage.
            let Some(stage) = self.stages.last_mut() else {
                return Err(no_stage(self.src, span));
            };
            stage.span = stage.span.join(instruction.span());
            self.instructions.push(instruction);
            return Ok(());
        }
        match instruction {
            Instruction::From(from) => self.open_stage(move || from),
            Instruction::Arg(arg) if self.stages.is_empty() => self.global_args.push(arg),
            other => match self.stages.last_mut() {
                Some(stage) => {
                    stage.span = stage.span.join(other.span());
                    self.instructions.push(other);
                }
                None => return Err(no_stage(self.src, span)),
            },
        }
        Ok(())
    }

    /// Opens a stage with the FROM `make` builds, built in place in the
    /// stage vector (a `Stage` is about 300 bytes; each move is a copy).
    #[inline(always)]
    fn open_stage(&mut self, make: impl FnOnce() -> FromInstruction<'a>) {
        let index = self.stages.len();
        let start = self.instructions.len();
        match self.stages.last_mut() {
            Some(done) => done.instructions.end = start,
            None => self
                .instructions
                .reserve_exact(instruction_room(self.src.text().len())),
        }
        let from = make();
        self.stages.push(Stage {
            index,
            name: from.stage_name.as_ref().map(|w| w.text.clone()),
            instructions: start..start,
            span: from.source.span,
            from,
        });
        if let Some(first) = self.first_stage_named(index)
            && let (Some(prev), Some(stage)) = (self.stages.get(first), self.stages.get(index))
            && let Some(name) = &stage.from.stage_name
        {
            self.warnings.push(Warning {
                code: "dockerfile::duplicate-stage-name".into(),
                message: format!(
                    "duplicate stage name {:?}, first defined on line {}",
                    name.text, prev.from.source.start_line
                ),
                span: name.span,
                help: Some("give every stage its own name".into()),
            });
        }
    }

    /// The first stage before stage `index` with its name, if it has one.
    fn first_stage_named(&mut self, index: usize) -> Option<usize> {
        let (earlier, [stage, ..]) = self.stages.split_at(index) else {
            return None;
        };
        let name = stage.name.as_ref()?;
        if index <= NAMES_SCANNED {
            return earlier.iter().position(|s| s.name.as_ref() == Some(name));
        }
        let first = self.first_stage_of_name.get_or_insert_with(|| {
            let mut first = HashMap::with_capacity(2 * index);
            for (i, s) in earlier.iter().enumerate() {
                if let Some(n) = &s.name {
                    first.entry(n.clone()).or_insert(i);
                }
            }
            first
        });
        match first.entry(name.clone()) {
            Entry::Occupied(e) => Some(*e.get()),
            Entry::Vacant(e) => {
                e.insert(index);
                None
            }
        }
    }

    /// The Dockerfile, with the line parser's `line_warnings` merged in.
    fn finish(
        self,
        line_warnings: Vec<Warning>,
        directives: Vec<Directive>,
        escape: char,
    ) -> Result<Dockerfile<'a>, SourceDiagnostic> {
        let src = self.src;
        if self.stages.is_empty() {
            return Err(SourceDiagnostic::error(
                src,
                Span::new(src.text().len(), src.text().len()),
                "dockerfile::no-stage",
                "dockerfile contains no stages to build",
            )
            .with_help("add a FROM instruction"));
        }
        let mut warnings = line_warnings;
        warnings.extend(self.warnings);
        warnings.sort_by_key(|w| w.span.start);
        let mut stages = self.stages;
        if let Some(last) = stages.last_mut() {
            last.instructions.end = self.instructions.len();
        }
        Ok(Dockerfile {
            directives,
            escape,
            global_args: self.global_args,
            stages,
            all_instructions: self.instructions,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stages' instructions lie in one vector, each stage's part of
    /// it in source order and tiling it, with room for about what they
    /// are (a stage with none has an empty part).
    #[test]
    fn stages_name_their_parts_of_one_instruction_vector() {
        let mut text = String::new();
        for stage in 0..40 {
            text.push_str(&format!("FROM alpine AS s{stage}\n"));
            for i in 0..3 {
                text.push_str(&format!("WORKDIR /app{stage}\nENV A={i}\n"));
            }
        }
        text.push_str("FROM scratch\n");
        let src = SourceFile::new("Dockerfile", text);
        let parsed = parse(&src).unwrap();
        assert_eq!(parsed.stages.len(), 41);
        let mut next = 0;
        for stage in &parsed.stages[..40] {
            assert_eq!(stage.instructions, next..next + 6);
            next += 6;
            let instructions = parsed.instructions(stage);
            let Some(Instruction::Workdir(w)) = instructions.first() else {
                panic!("stage {}: {instructions:?}", stage.index);
            };
            assert_eq!(w.path.text, format!("/app{}", stage.index));
            assert!(matches!(instructions.last(), Some(Instruction::Env(_))));
        }
        let last = &parsed.stages[40];
        assert_eq!(last.instructions, 240..240);
        assert!(parsed.instructions(last).is_empty());
        assert_eq!(parsed.all_instructions.len(), 240);
        assert!(
            parsed.all_instructions.capacity() < 2 * 240,
            "room for {}",
            parsed.all_instructions.capacity()
        );
    }
}
