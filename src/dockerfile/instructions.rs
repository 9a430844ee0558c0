//! Layer 2: typed instructions, converted from parse-tree nodes the way
//! BuildKit's `instructions.ParseInstruction` converts them.
//!
//! Every instruction and every flag BuildKit accepts is typed here; values
//! stay unexpanded [`Word`]s (text plus source span) because `${}`
//! expansion is a later pass. Checks and their messages follow BuildKit,
//! including what it leaves unchecked: STOPSIGNAL and ARG ignore flags, and
//! `HEALTHCHECK NONE` ignores its flags (each reported here as a warning
//! instead of silently).
//!
//! Choices where BuildKit gives no answer at parse time:
//! - an ONBUILD trigger is converted too; if that fails, the ONBUILD is kept
//!   with its text only and a warning (BuildKit only fails when an image
//!   built from this one runs the trigger);
//! - EXPOSE ports are sorted by their text, as BuildKit sorts them, before
//!   expansion.
//!
//! Values are [`Cow`]s that borrow from the source text whenever the value
//! is a slice of it (see [`super::nodes`]); the typed layer moves them out
//! of the nodes rather than copying.

use std::borrow::Cow;

use serde::Serialize;

use super::duration::{format_go_duration, parse_go_duration};
use super::flags::{FlagError, FlagKind, Flags, check_flags, suggest};
use super::go_text::{quote, to_lower, to_upper};
use super::heredoc::{chomp, parse_heredoc_word};
use super::line_map::LineMap;
use super::lines::joined_text;
use super::nodes::{Heredoc, Keyword, Node, Warning, cow_slice};
use super::run_flags::{NetworkMode, RunDevice, RunMount, SecurityMode};
pub use super::short_vec::ShortVec;
use crate::source::Span;

/// A value as written in the Dockerfile (quotes, escapes and `${}` not yet
/// processed), with its place in the source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Word<'a> {
    pub text: Cow<'a, str>,
    pub span: Span,
}

/// Where an instruction is in the source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstructionSource<'a> {
    /// The keyword as written.
    pub keyword: Word<'a>,
    /// The whole instruction, heredoc bodies included.
    pub span: Span,
    /// 1-based first and last line.
    pub start_line: usize,
    pub end_line: usize,
}

/// A command in shell form: the text handed to the shell ([`Self::text`]),
/// with its map back to the source (offsets count from the start of the
/// text).
///
/// The text of a command continued over lines is not copied out when the
/// Dockerfile is parsed: it is the source pieces its `map` names, joined
/// when [`Self::text`] is called. The multi-line RUN is the most common
/// multi-line instruction, and its joined text the largest copy a parse
/// would make; a reader that never looks at a command never pays for it.
/// Either way the text is the same, and so are equality, `Debug` and the
/// JSON form (`text`, `span`, `map`).
#[derive(Clone)]
pub struct ShellText<'a> {
    text: ShellSource<'a>,
    pub span: Span,
    pub map: LineMap,
}

#[derive(Clone)]
enum ShellSource<'a> {
    /// The text itself.
    Text(Cow<'a, str>),
    /// The pieces of this (whole) source text that the map names, joined.
    Pieces(&'a str),
}

impl<'a> ShellText<'a> {
    /// A command whose text is `text`.
    pub fn new(text: Cow<'a, str>, span: Span, map: LineMap) -> Self {
        ShellText {
            text: ShellSource::Text(text),
            span,
            map,
        }
    }

    /// A command whose text is the pieces of the source text `source` that
    /// `map` names, in order: joined only when asked for.
    pub(crate) fn from_pieces(source: &'a str, span: Span, map: LineMap) -> Self {
        ShellText {
            text: ShellSource::Pieces(source),
            span,
            map,
        }
    }

    /// The command's text: borrowed when it is one slice of the source (or
    /// was made owned at parse time), joined from its pieces otherwise.
    pub fn text(&self) -> Cow<'_, str> {
        match &self.text {
            ShellSource::Text(text) => Cow::Borrowed(text),
            ShellSource::Pieces(source) => join_pieces(source, &self.map),
        }
    }

    /// [`Self::text`], keeping what borrows from the source borrowed.
    pub fn into_text(self) -> Cow<'a, str> {
        match self.text {
            ShellSource::Text(text) => text,
            ShellSource::Pieces(source) => join_pieces(source, &self.map),
        }
    }

    /// Whether the command is empty.
    pub fn is_empty(&self) -> bool {
        match &self.text {
            ShellSource::Text(text) => text.is_empty(),
            ShellSource::Pieces(_) => self.map.is_empty(),
        }
    }
}

/// The pieces of `source` that `map` names, joined (borrowed when there is
/// one), as the line layer joins a continued line.
fn join_pieces<'s>(source: &'s str, map: &LineMap) -> Cow<'s, str> {
    let pieces = map.pieces().map(|p| (p.original, p.len));
    joined_text(source, pieces, map.len())
}

impl PartialEq for ShellText<'_> {
    /// Commands are equal when their text, span and map are, however the
    /// text is held.
    fn eq(&self, other: &Self) -> bool {
        self.span == other.span && self.map == other.map && self.text() == other.text()
    }
}

impl Eq for ShellText<'_> {}

impl std::fmt::Debug for ShellText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShellText")
            .field("text", &self.text())
            .field("span", &self.span)
            .field("map", &self.map)
            .finish()
    }
}

impl Serialize for ShellText<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("ShellText", 3)?;
        out.serialize_field("text", &self.text())?;
        out.serialize_field("span", &self.span)?;
        out.serialize_field("map", &self.map)?;
        out.end()
    }
}

/// RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD commands keep which form they
/// were written in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "form", rename_all = "lowercase")]
pub enum CommandLine<'a> {
    /// JSON array: run directly, no shell.
    Exec { args: Vec<Word<'a>> },
    /// Anything else: run with the instruction-time `SHELL`.
    Shell { command: ShellText<'a> },
}

impl CommandLine<'_> {
    /// BuildKit's `CmdLine`: the exec arguments, or the shell text as one
    /// element (none when empty).
    pub fn cmd_line(&self) -> Vec<String> {
        match self {
            CommandLine::Exec { args } => args.iter().map(|w| w.text.to_string()).collect(),
            CommandLine::Shell { command } if command.is_empty() => Vec::new(),
            CommandLine::Shell { command } => vec![command.text().into_owned()],
        }
    }

    /// BuildKit's `PrependShell`.
    pub fn prepend_shell(&self) -> bool {
        matches!(self, CommandLine::Shell { .. })
    }
}

/// `KEY=value` of ENV or LABEL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyValue<'a> {
    pub key: Word<'a>,
    pub value: Word<'a>,
    /// Written in the legacy `KEY value` form.
    pub legacy: bool,
}

/// One name of an ARG, with its default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArgDecl<'a> {
    pub name: Word<'a>,
    pub default: Option<Word<'a>>,
}

/// A COPY/ADD source given inline as a heredoc.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InlineSource<'a> {
    /// The `<<EOF` argument.
    pub word: Word<'a>,
    /// The file name (the heredoc terminator).
    pub path: String,
    /// The content, leading tabs stripped for `<<-`.
    pub data: Cow<'a, str>,
    /// False when the terminator was quoted.
    pub expand: bool,
    /// The body in the source, when it was read.
    pub body_span: Option<Span>,
}

/// A duration flag of HEALTHCHECK.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DurationFlag<'a> {
    pub word: Word<'a>,
    pub nanos: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FromInstruction<'a> {
    pub source: InstructionSource<'a>,
    /// The base image reference (or earlier stage name).
    pub image: Word<'a>,
    /// `AS name`, lower-cased as BuildKit does.
    pub stage_name: Option<Word<'a>>,
    pub platform: Option<Word<'a>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunInstruction<'a> {
    pub source: InstructionSource<'a>,
    pub command: CommandLine<'a>,
    /// Heredoc bodies: scripts or stdin for the command.
    pub files: Vec<Heredoc<'a>>,
    pub mounts: Vec<RunMount<'a>>,
    pub network: Option<Word<'a>>,
    pub network_mode: NetworkMode,
    pub security: Option<Word<'a>>,
    pub security_mode: SecurityMode,
    pub devices: Vec<RunDevice<'a>>,
    /// The flag names given, sorted.
    pub flags_used: &'static [&'static str],
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CmdInstruction<'a> {
    pub source: InstructionSource<'a>,
    pub command: CommandLine<'a>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntrypointInstruction<'a> {
    pub source: InstructionSource<'a>,
    pub command: CommandLine<'a>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShellInstruction<'a> {
    pub source: InstructionSource<'a>,
    pub shell: Vec<Word<'a>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnvInstruction<'a> {
    pub source: InstructionSource<'a>,
    pub pairs: ShortVec<KeyValue<'a>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LabelInstruction<'a> {
    pub source: InstructionSource<'a>,
    pub pairs: ShortVec<KeyValue<'a>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArgInstruction<'a> {
    pub source: InstructionSource<'a>,
    pub args: ShortVec<ArgDecl<'a>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CopyInstruction<'a> {
    pub source: InstructionSource<'a>,
    /// Source paths (context, stage or image paths).
    pub sources: ShortVec<Word<'a>>,
    /// Sources given as heredocs.
    pub inline_sources: Vec<InlineSource<'a>>,
    pub dest: Word<'a>,
    /// Written as a JSON array.
    pub json: bool,
    pub from: Option<Word<'a>>,
    pub chown: Option<Word<'a>>,
    pub chmod: Option<Word<'a>>,
    pub link: bool,
    pub parents: bool,
    pub exclude: Vec<Word<'a>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AddInstruction<'a> {
    pub source: InstructionSource<'a>,
    pub sources: ShortVec<Word<'a>>,
    pub inline_sources: Vec<InlineSource<'a>>,
    pub dest: Word<'a>,
    pub json: bool,
    pub chown: Option<Word<'a>>,
    pub chmod: Option<Word<'a>>,
    pub link: bool,
    pub keep_git_dir: bool,
    pub checksum: Option<Word<'a>>,
    /// `--unpack`, when given.
    pub unpack: Option<bool>,
    pub exclude: Vec<Word<'a>>,
}

/// What a HEALTHCHECK runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum HealthTest<'a> {
    /// `HEALTHCHECK NONE`: disable the inherited check.
    None,
    Cmd {
        command: CommandLine<'a>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HealthcheckInstruction<'a> {
    pub source: InstructionSource<'a>,
    pub test: HealthTest<'a>,
    pub interval: Option<DurationFlag<'a>>,
    pub timeout: Option<DurationFlag<'a>>,
    pub start_period: Option<DurationFlag<'a>>,
    pub start_interval: Option<DurationFlag<'a>>,
    pub retries: Option<i32>,
}

impl HealthcheckInstruction<'_> {
    /// BuildKit's `Test` slice: `["NONE"]`, `["CMD", args...]` or
    /// `["CMD-SHELL", command]`.
    pub fn test(&self) -> Vec<String> {
        match &self.test {
            HealthTest::None => vec!["NONE".into()],
            HealthTest::Cmd { command } => {
                let kind = if command.prepend_shell() {
                    "CMD-SHELL"
                } else {
                    "CMD"
                };
                std::iter::once(kind.to_string())
                    .chain(command.cmd_line())
                    .collect()
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OnbuildInstruction<'a> {
    pub source: InstructionSource<'a>,
    /// The trigger text as BuildKit stores it (heredoc bodies appended).
    pub expression: String,
    /// The trigger, converted; `None` when it does not convert.
    pub trigger: Option<Box<Instruction<'a>>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StopSignalInstruction<'a> {
    pub source: InstructionSource<'a>,
    pub signal: Word<'a>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MaintainerInstruction<'a> {
    pub source: InstructionSource<'a>,
    pub maintainer: Word<'a>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExposeInstruction<'a> {
    pub source: InstructionSource<'a>,
    pub ports: Vec<Word<'a>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VolumeInstruction<'a> {
    pub source: InstructionSource<'a>,
    pub volumes: Vec<Word<'a>>,
    pub json: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserInstruction<'a> {
    pub source: InstructionSource<'a>,
    pub user: Word<'a>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkdirInstruction<'a> {
    pub source: InstructionSource<'a>,
    pub path: Word<'a>,
}

/// Every Dockerfile instruction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "instruction", rename_all = "lowercase")]
pub enum Instruction<'a> {
    From(FromInstruction<'a>),
    Run(RunInstruction<'a>),
    Cmd(CmdInstruction<'a>),
    Entrypoint(EntrypointInstruction<'a>),
    Shell(ShellInstruction<'a>),
    Env(EnvInstruction<'a>),
    Label(LabelInstruction<'a>),
    Arg(ArgInstruction<'a>),
    Copy(CopyInstruction<'a>),
    Add(AddInstruction<'a>),
    /// Boxed: its four duration flags make it the largest instruction,
    /// and every `Instruction` is as large as the largest (HEALTHCHECK is
    /// rare, and a stage holds its instructions in one vector).
    Healthcheck(Box<HealthcheckInstruction<'a>>),
    Onbuild(OnbuildInstruction<'a>),
    StopSignal(StopSignalInstruction<'a>),
    Maintainer(MaintainerInstruction<'a>),
    Expose(ExposeInstruction<'a>),
    Volume(VolumeInstruction<'a>),
    User(UserInstruction<'a>),
    Workdir(WorkdirInstruction<'a>),
}

impl<'a> Instruction<'a> {
    /// Where the instruction is.
    pub fn source(&self) -> &InstructionSource<'a> {
        match self {
            Instruction::From(i) => &i.source,
            Instruction::Run(i) => &i.source,
            Instruction::Cmd(i) => &i.source,
            Instruction::Entrypoint(i) => &i.source,
            Instruction::Shell(i) => &i.source,
            Instruction::Env(i) => &i.source,
            Instruction::Label(i) => &i.source,
            Instruction::Arg(i) => &i.source,
            Instruction::Copy(i) => &i.source,
            Instruction::Add(i) => &i.source,
            Instruction::Healthcheck(i) => &i.source,
            Instruction::Onbuild(i) => &i.source,
            Instruction::StopSignal(i) => &i.source,
            Instruction::Maintainer(i) => &i.source,
            Instruction::Expose(i) => &i.source,
            Instruction::Volume(i) => &i.source,
            Instruction::User(i) => &i.source,
            Instruction::Workdir(i) => &i.source,
        }
    }

    pub fn span(&self) -> Span {
        self.source().span
    }

    /// The instruction name in upper case (`RUN`).
    pub fn name(&self) -> &'static str {
        match self {
            Instruction::From(_) => "FROM",
            Instruction::Run(_) => "RUN",
            Instruction::Cmd(_) => "CMD",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::Shell(_) => "SHELL",
            Instruction::Env(_) => "ENV",
            Instruction::Label(_) => "LABEL",
            Instruction::Arg(_) => "ARG",
            Instruction::Copy(_) => "COPY",
            Instruction::Add(_) => "ADD",
            Instruction::Healthcheck(_) => "HEALTHCHECK",
            Instruction::Onbuild(_) => "ONBUILD",
            Instruction::StopSignal(_) => "STOPSIGNAL",
            Instruction::Maintainer(_) => "MAINTAINER",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::Volume(_) => "VOLUME",
            Instruction::User(_) => "USER",
            Instruction::Workdir(_) => "WORKDIR",
        }
    }
}

/// All instruction names, for suggestions.
pub const INSTRUCTION_NAMES: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Why a node does not convert to an instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstructionError {
    /// BuildKit's message.
    pub message: String,
    /// What it is about (a flag, an argument, or the instruction).
    pub span: Span,
    pub help: Option<String>,
}

impl std::fmt::Display for InstructionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InstructionError {}

impl From<FlagError> for InstructionError {
    fn from(e: FlagError) -> Self {
        InstructionError {
            message: e.message,
            span: e.span,
            help: e.help,
        }
    }
}

/// Convert one node (BuildKit's `ParseInstruction`).
pub fn parse_instruction<'a>(node: &Node<'a>) -> Result<Instruction<'a>, InstructionError> {
    let mut warnings = Vec::new();
    convert(&mut node.clone(), &mut warnings)
}

/// Convert one node, collecting warnings. The node's strings are moved into
/// the instruction (the node is left hollow); taking it by reference saves
/// moving a large struct for every instruction.
pub(crate) fn convert<'a>(
    node: &mut Node<'a>,
    warnings: &mut Vec<Warning>,
) -> Result<Instruction<'a>, InstructionError> {
    Converter {
        node,
        warnings,
        arg_ranges: [None, None],
    }
    .run()
}

struct Converter<'a, 'n, 'w> {
    node: &'n mut Node<'a>,
    warnings: &'w mut Vec<Warning>,
    /// Span and text range of the node's first two arguments, kept when
    /// their values are moved out (for [`Self::command`]).
    arg_ranges: [Option<(Span, std::ops::Range<usize>)>; 2],
}

const S: FlagKind = FlagKind::String;
const B: FlagKind = FlagKind::Bool;
const SS: FlagKind = FlagKind::Strings;

impl<'a> Converter<'a, '_, '_> {
    fn err(&self, message: impl Into<String>) -> InstructionError {
        InstructionError {
            message: message.into(),
            span: self.node.span,
            help: None,
        }
    }

    fn err_at(&self, span: Span, message: impl Into<String>) -> InstructionError {
        InstructionError {
            message: message.into(),
            span,
            help: None,
        }
    }

    /// Where the instruction is; moves the keyword and map out of the node,
    /// so it is called last.
    fn source(&mut self) -> InstructionSource<'a> {
        let n = &mut self.node;
        InstructionSource {
            keyword: Word {
                text: std::mem::take(&mut n.value),
                span: n.value_span,
            },
            span: n.span,
            start_line: n.start_line,
            end_line: n.end_line,
        }
    }

    /// BuildKit's `nodeArgs` for a node without a nested trigger: the
    /// argument values, moved out of the node into the vector that held
    /// them (their first ranges are kept for [`Self::command`]).
    fn take_plain_args(&mut self) -> Vec<Word<'a>> {
        for (slot, a) in self.arg_ranges.iter_mut().zip(&self.node.next) {
            *slot = Some((a.span, a.text_range.clone()));
        }
        // Words are smaller than argument nodes, so the collection reuses
        // the allocation.
        std::mem::take(&mut self.node.next)
            .into_iter()
            .map(|a| Word {
                text: a.value,
                span: a.span,
            })
            .collect()
    }

    /// BuildKit's `nodeArgs`: argument values, with an ONBUILD trigger
    /// flattened into its keyword and arguments.
    fn take_args(node: &mut Node<'a>) -> Vec<Word<'a>> {
        let mut out = Vec::with_capacity(node.next.len());
        for a in &mut node.next {
            match a.children.as_slice() {
                [] => out.push(Word {
                    text: std::mem::take(&mut a.value),
                    span: a.span,
                }),
                [child] => {
                    out.push(Word {
                        text: child.value.clone(),
                        span: child.value_span,
                    });
                    let mut c = child.clone();
                    out.extend(Self::take_args(&mut c));
                }
                _ => {}
            }
        }
        out
    }

    fn flags<'d>(
        &self,
        declared: &[(&'d str, FlagKind)],
    ) -> Result<Flags<'a, 'd>, InstructionError> {
        Ok(check_flags(&self.node.flags, declared)?)
    }

    fn warn_ignored_flags(&mut self, what: &str) {
        if let (Some(first), Some(last)) = (self.node.flags.first(), self.node.flags.last()) {
            self.warnings.push(Warning {
                code: "dockerfile::ignored-flags".into(),
                message: format!("BuildKit ignores flags on {what}"),
                span: first.span.join(last.span),
                help: Some("remove the flags; they have no effect".into()),
            });
        }
    }

    /// The command of RUN/CMD/ENTRYPOINT/HEALTHCHECK from its arguments
    /// (BuildKit's `handleJSONArgs`); `first` is the index of `args[0]` in
    /// the node's argument list.
    fn command(&self, args: Vec<Word<'a>>, first: usize) -> CommandLine<'a> {
        if self.node.json {
            return CommandLine::Exec { args };
        }
        let end = self.node.span.end;
        let mut args = args;
        let command = match args.len() {
            0 => ShellText::new(
                Cow::Borrowed(""),
                Span::new(end, end),
                LineMap::starting_at(end),
            ),
            1 => {
                let one = args.pop().unwrap_or(Word {
                    text: Cow::Borrowed(""),
                    span: Span::new(end, end),
                });
                let map = match self.arg_ranges.get(first).cloned().flatten() {
                    Some((span, range)) if span == one.span => {
                        self.node.line_map.slice(range.start, range.end)
                    }
                    _ => LineMap::contiguous(one.span.start, one.text.len()),
                };
                ShellText::new(one.text, one.span, map)
            }
            _ => {
                let text = args.iter().map(|w| &*w.text).collect::<Vec<_>>().join(" ");
                let span = args[0].span.join(args[args.len() - 1].span);
                let map = LineMap::contiguous(span.start, text.len());
                ShellText::new(Cow::Owned(text), span, map)
            }
        };
        CommandLine::Shell { command }
    }

    fn run(mut self) -> Result<Instruction<'a>, InstructionError> {
        let keyword = self.node.keyword;
        if keyword == Keyword::Unknown {
            let upper = to_upper(&self.node.value);
            let help = suggest(&upper, &INSTRUCTION_NAMES).map(|s| format!("did you mean {s}?"));
            return Err(InstructionError {
                message: format!("unknown instruction: {}", self.node.value),
                span: self.node.value_span,
                help,
            });
        }
        if keyword == Keyword::Onbuild {
            // The trigger node is needed whole, so its arguments are copied.
            let args = Self::take_args(&mut self.node.clone());
            return self.onbuild(&args);
        }
        let args = self.take_plain_args();
        use Keyword as K;
        Ok(match keyword {
            K::Env => {
                self.flags(&[])?;
                let pairs = self.key_values(args, "ENV")?;
                Instruction::Env(EnvInstruction {
                    pairs,
                    source: self.source(),
                })
            }
            K::Label => {
                self.flags(&[])?;
                let pairs = self.key_values(args, "LABEL")?;
                Instruction::Label(LabelInstruction {
                    pairs,
                    source: self.source(),
                })
            }
            K::Maintainer => {
                let maintainer = self.exactly_one(args, "MAINTAINER")?;
                self.flags(&[])?;
                Instruction::Maintainer(MaintainerInstruction {
                    maintainer,
                    source: self.source(),
                })
            }
            K::From => self.from(args)?,
            K::Run => self.run_instruction(args)?,
            K::Cmd => {
                self.flags(&[])?;
                let command = self.command(args, 0);
                Instruction::Cmd(CmdInstruction {
                    command,
                    source: self.source(),
                })
            }
            K::Entrypoint => {
                self.flags(&[])?;
                let command = self.command(args, 0);
                Instruction::Entrypoint(EntrypointInstruction {
                    command,
                    source: self.source(),
                })
            }
            K::Copy => self.copy(args)?,
            K::Add => self.add(args)?,
            K::Workdir => {
                let path = self.exactly_one(args, "WORKDIR")?;
                self.flags(&[])?;
                Instruction::Workdir(WorkdirInstruction {
                    path,
                    source: self.source(),
                })
            }
            K::User => {
                let user = self.exactly_one(args, "USER")?;
                self.flags(&[])?;
                Instruction::User(UserInstruction {
                    user,
                    source: self.source(),
                })
            }
            K::Stopsignal => {
                let signal = self.exactly_one(args, "STOPSIGNAL")?;
                self.warn_ignored_flags("STOPSIGNAL");
                Instruction::StopSignal(StopSignalInstruction {
                    signal,
                    source: self.source(),
                })
            }
            K::Expose => {
                if args.is_empty() {
                    return Err(self.err("EXPOSE requires at least one argument"));
                }
                self.flags(&[])?;
                let mut ports = args;
                ports.sort_by(|a, b| a.text.cmp(&b.text));
                Instruction::Expose(ExposeInstruction {
                    ports,
                    source: self.source(),
                })
            }
            K::Volume => {
                if args.is_empty() {
                    return Err(self.err("VOLUME requires at least one argument"));
                }
                self.flags(&[])?;
                let mut volumes = Vec::with_capacity(args.len());
                for mut w in args {
                    let t = super::go_text::trim_space(&w.text);
                    if t.is_empty() {
                        return Err(
                            self.err_at(w.span, "VOLUME specified can not be an empty string")
                        );
                    }
                    if t.len() != w.text.len() {
                        let start = t.as_ptr() as usize - w.text.as_ptr() as usize;
                        w.text = cow_slice(&w.text, start..start + t.len());
                    }
                    volumes.push(w);
                }
                Instruction::Volume(VolumeInstruction {
                    volumes,
                    json: self.node.json,
                    source: self.source(),
                })
            }
            K::Arg => self.arg(args)?,
            K::Shell => {
                self.flags(&[])?;
                if args.is_empty() {
                    return Err(self.err("SHELL requires at least one argument"));
                }
                if !self.node.json {
                    return Err(self.not_json("SHELL"));
                }
                Instruction::Shell(ShellInstruction {
                    shell: args,
                    source: self.source(),
                })
            }
            K::Healthcheck => self.healthcheck(args)?,
            // Handled above.
            K::Onbuild | K::Unknown => return self.onbuild(&[]),
        })
    }

    fn exactly_one(
        &self,
        mut args: Vec<Word<'a>>,
        name: &str,
    ) -> Result<Word<'a>, InstructionError> {
        match (args.pop(), args.is_empty()) {
            (Some(one), true) => Ok(one),
            _ => Err(self.err(format!("{name} requires exactly one argument"))),
        }
    }

    /// BuildKit's `parseKvps`: the (key, value, separator) triples of ENV
    /// and LABEL.
    fn key_values(
        &self,
        args: Vec<Word<'a>>,
        name: &str,
    ) -> Result<ShortVec<KeyValue<'a>>, InstructionError> {
        if args.is_empty() {
            return Err(self.err(format!("{name} requires at least one argument")));
        }
        if !args.len().is_multiple_of(3) {
            return Err(self.err(format!("Bad input to {name}, too many arguments")));
        }
        let mut out = ShortVec::with_capacity(args.len() / 3);
        let mut it = args.into_iter();
        while let (Some(key), Some(value), Some(sep)) = (it.next(), it.next(), it.next()) {
            if key.text.is_empty() {
                return Err(self.err_at(key.span, format!("{name} names can not be blank")));
            }
            out.push(KeyValue {
                key,
                value,
                legacy: sep.text.is_empty(),
            });
        }
        Ok(out)
    }

    fn not_json(&self, name: &str) -> InstructionError {
        let original = to_lower(&self.node.original);
        let looks_like_path = original.match_indices('"').any(|(i, _)| {
            let b = original.as_bytes();
            b.get(i + 1).is_some_and(u8::is_ascii_lowercase)
                && b.get(i + 2) == Some(&b':')
                && b.get(i + 3) == Some(&b'\\')
        }) && !original.contains("\\\\")
            && original.contains('[')
            && original.contains(']');
        let mut e = self.err(format!("{name} requires the arguments to be in JSON form"));
        if looks_like_path {
            e.help = Some(
                "the arguments seem to include a file path without an escaped back-slash; \
                 JSON requires back-slashes to be escaped, as in [\"c:\\\\path\\\\to\\\\file.exe\", \"/parameter\"]"
                    .into(),
            );
        }
        e
    }

    fn from(&mut self, args: Vec<Word<'a>>) -> Result<Instruction<'a>, InstructionError> {
        let stage_name = match args.as_slice() {
            [_, as_kw, name] if as_kw.text.eq_ignore_ascii_case("as") => {
                Some(stage_name(name.clone())?)
            }
            [_] => None,
            _ => return Err(self.err("FROM requires either one or three arguments")),
        };
        let flags = self.flags(FROM_FLAGS)?;
        let Some(image) = args.into_iter().next() else {
            return Err(self.err("FROM requires either one or three arguments"));
        };
        Ok(Instruction::From(FromInstruction {
            image,
            stage_name,
            platform: string_flag(&flags, "platform"),
            source: self.source(),
        }))
    }

    fn run_instruction(
        &mut self,
        args: Vec<Word<'a>>,
    ) -> Result<Instruction<'a>, InstructionError> {
        let flags = self.flags(RUN_FLAGS)?;
        let command = self.command(args, 0);
        let options = run_options(&flags, &self.node.line_map)?;
        let files = std::mem::take(&mut self.node.heredocs);
        Ok(options.instruction(command, files, self.source()))
    }

    /// BuildKit's `parseSourcesAndDest`.
    fn sources_and_dest(
        &self,
        mut args: Vec<Word<'a>>,
        name: &str,
    ) -> Result<(Vec<Word<'a>>, Vec<InlineSource<'a>>, Word<'a>), InstructionError> {
        let dest = match args.pop() {
            Some(d) if !args.is_empty() => d,
            _ => {
                return Err(self.err(format!(
                    "{name} requires at least two arguments, but only one was provided. Destination could not be determined"
                )));
            }
        };
        if let Ok(Some(_)) = parse_heredoc_word(&dest.text) {
            return Err(self.err_at(
                dest.span,
                format!("{name} cannot accept a heredoc as a destination"),
            ));
        }
        // Plain sources stay in `args`, in order; heredoc ones move out.
        let mut inline = Vec::new();
        let mut sources = args;
        if !self.node.heredocs.is_empty() || sources.iter().any(|w| w.text.contains("<<")) {
            let mut plain = Vec::with_capacity(sources.len());
            for src in sources {
                match parse_heredoc_word(&src.text) {
                    Ok(Some(h)) => {
                        let doc = self.node.heredocs.iter().rev().find(|d| d.name == h.name);
                        let content = doc.map_or(Cow::Borrowed(""), |d| d.content.clone());
                        inline.push(InlineSource {
                            word: src,
                            data: if h.chomp {
                                Cow::Owned(chomp(&content))
                            } else {
                                content
                            },
                            path: h.name,
                            expand: h.expand,
                            body_span: doc.map(|d| d.body_span),
                        });
                    }
                    _ => plain.push(src),
                }
            }
            sources = plain;
        }
        Ok((sources, inline, dest))
    }

    fn copy(&mut self, args: Vec<Word<'a>>) -> Result<Instruction<'a>, InstructionError> {
        if args.len() < 2 {
            return Err(self.err(
                "COPY requires at least two arguments, but only one was provided. Destination could not be determined",
            ));
        }
        let flags = self.flags(COPY_FLAGS)?;
        let (sources, inline_sources, dest) = self.sources_and_dest(args, "COPY")?;
        Ok(copy_instruction(
            sources.into(),
            inline_sources,
            dest,
            self.node.json,
            &flags,
            self.source(),
        ))
    }

    fn add(&mut self, args: Vec<Word<'a>>) -> Result<Instruction<'a>, InstructionError> {
        if args.len() < 2 {
            return Err(self.err(
                "ADD requires at least two arguments, but only one was provided. Destination could not be determined",
            ));
        }
        let flags = self.flags(ADD_FLAGS)?;
        let (sources, inline_sources, dest) = self.sources_and_dest(args, "ADD")?;
        Ok(add_instruction(
            sources.into(),
            inline_sources,
            dest,
            self.node.json,
            &flags,
            self.source(),
        ))
    }

    fn onbuild(&mut self, args: &[Word]) -> Result<Instruction<'a>, InstructionError> {
        let Some(first) = args.first() else {
            return Err(self.err("ONBUILD requires at least one argument"));
        };
        self.flags(&[])?;
        let trigger = to_upper(super::go_text::trim_space(&first.text));
        match trigger.as_str() {
            "ONBUILD" => {
                return Err(self.err_at(
                    first.span,
                    "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
                ));
            }
            "MAINTAINER" | "FROM" => {
                return Err(self.err_at(
                    first.span,
                    format!("{trigger} isn't allowed as an ONBUILD trigger"),
                ));
            }
            _ => {}
        }
        let mut expression = onbuild_expression(&self.node.original);
        for h in &self.node.heredocs {
            expression.push('\n');
            expression.push_str(&h.content);
            expression.push_str(&h.name);
        }
        let child = self.node.next.first().and_then(|a| a.children.first());
        let trigger = match child {
            Some(c) => {
                let mut with_heredocs = c.clone();
                with_heredocs.heredocs = self.node.heredocs.clone();
                match convert(&mut with_heredocs, self.warnings) {
                    Ok(i) => Some(Box::new(i)),
                    Err(e) => {
                        self.warnings.push(Warning {
                            code: "dockerfile::onbuild-trigger".into(),
                            message: format!(
                                "this ONBUILD trigger will fail in images built from this one: {}",
                                e.message
                            ),
                            span: e.span,
                            help: e.help,
                        });
                        None
                    }
                }
            }
            None => None,
        };
        Ok(Instruction::Onbuild(OnbuildInstruction {
            expression,
            trigger,
            source: self.source(),
        }))
    }

    fn arg(&mut self, args: Vec<Word<'a>>) -> Result<Instruction<'a>, InstructionError> {
        if args.is_empty() {
            return Err(self.err("ARG requires at least one argument"));
        }
        self.warn_ignored_flags("ARG");
        let mut decls = ShortVec::with_capacity(args.len());
        for w in args {
            decls.push(arg_decl(w)?);
        }
        Ok(Instruction::Arg(ArgInstruction {
            args: decls,
            source: self.source(),
        }))
    }

    fn healthcheck(
        &mut self,
        mut args: Vec<Word<'a>>,
    ) -> Result<Instruction<'a>, InstructionError> {
        if args.is_empty() {
            return Err(self.err("HEALTHCHECK requires at least one argument"));
        }
        let first = args.remove(0);
        let kind = to_upper(&first.text);
        let rest = args;
        if kind == "NONE" {
            if !rest.is_empty() {
                return Err(self.err("HEALTHCHECK NONE takes no arguments"));
            }
            self.warn_ignored_flags("HEALTHCHECK NONE");
            return Ok(Instruction::Healthcheck(Box::new(HealthcheckInstruction {
                test: HealthTest::None,
                interval: None,
                timeout: None,
                start_period: None,
                start_interval: None,
                retries: None,
                source: self.source(),
            })));
        }
        let flags = self.flags(&[
            ("interval", S),
            ("timeout", S),
            ("start-period", S),
            ("start-interval", S),
            ("retries", S),
        ])?;
        if kind != "CMD" {
            return Err(self.err_at(
                first.span,
                format!("Unknown type {} in HEALTHCHECK (try CMD)", quote(&kind)),
            ));
        }
        if rest.is_empty() {
            return Err(self.err("Missing command after HEALTHCHECK CMD"));
        }
        let command = self.command(rest, 1);
        let duration = |name: &str| -> Result<Option<DurationFlag<'a>>, InstructionError> {
            let Some(w) = string_flag(&flags, name) else {
                return Ok(None);
            };
            if w.text.is_empty() {
                return Ok(None);
            }
            let nanos = healthcheck_interval(name, &w.text).map_err(|m| self.err_at(w.span, m))?;
            Ok(Some(DurationFlag { word: w, nanos }))
        };
        let interval = duration("interval")?;
        let timeout = duration("timeout")?;
        let start_period = duration("start-period")?;
        let start_interval = duration("start-interval")?;
        let retries = match string_flag(&flags, "retries") {
            Some(w) if !w.text.is_empty() => {
                let v = parse_go_int32(&w.text).map_err(|m| self.err_at(w.span, m))?;
                if v < 0 {
                    return Err(self.err_at(w.span, format!("--retries cannot be negative ({v})")));
                }
                Some(v)
            }
            _ => None,
        };
        Ok(Instruction::Healthcheck(Box::new(HealthcheckInstruction {
            test: HealthTest::Cmd { command },
            interval,
            timeout,
            start_period,
            start_interval,
            retries,
            source: self.source(),
        })))
    }
}

/// The expression BuildKit stores for an ONBUILD whose joined line is
/// `original`: the line with `(?i)^\s*ONBUILD\s*` removed (heredoc
/// bodies, if any, are appended by the caller).
pub(crate) fn onbuild_expression(original: &str) -> String {
    let is_re_space = |c: char| matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ');
    let trimmed = original.trim_start_matches(is_re_space);
    match trimmed.get(..7) {
        Some(k) if k.eq_ignore_ascii_case("onbuild") => {
            trimmed[7..].trim_start_matches(is_re_space).to_string()
        }
        _ => original.to_string(),
    }
}

/// The flags RUN accepts.
pub(crate) const RUN_FLAGS: &[(&str, FlagKind)] = &[
    ("device", SS),
    ("mount", SS),
    ("network", S),
    ("security", S),
];

/// Every sorted set of RUN's flag names, at the bit mask of their
/// positions in [`RUN_FLAGS`] (which is sorted): a RUN's `flags_used` is
/// one of these, so it needs no allocation.
const RUN_FLAG_SETS: [&[&str]; 16] = [
    &[],
    &["device"],
    &["mount"],
    &["device", "mount"],
    &["network"],
    &["device", "network"],
    &["mount", "network"],
    &["device", "mount", "network"],
    &["security"],
    &["device", "security"],
    &["mount", "security"],
    &["device", "mount", "security"],
    &["network", "security"],
    &["device", "network", "security"],
    &["mount", "network", "security"],
    &["device", "mount", "network", "security"],
];

/// The names of the RUN flags used, sorted, each once.
fn run_flags_used(flags: &Flags<'_, 'static>) -> &'static [&'static str] {
    let mask = RUN_FLAGS
        .iter()
        .enumerate()
        .filter(|(_, (name, _))| flags.is_used(name))
        .fold(0, |m, (i, _)| m | 1 << i);
    RUN_FLAG_SETS[mask]
}

/// The flags COPY accepts.
pub(crate) const COPY_FLAGS: &[(&str, FlagKind)] = &[
    ("chown", S),
    ("from", S),
    ("chmod", S),
    ("link", B),
    ("exclude", SS),
    ("parents", B),
];

/// The flags ADD accepts.
pub(crate) const ADD_FLAGS: &[(&str, FlagKind)] = &[
    ("exclude", SS),
    ("chown", S),
    ("chmod", S),
    ("link", B),
    ("keep-git-dir", B),
    ("checksum", S),
    ("unpack", B),
];

/// The flags FROM accepts.
pub(crate) const FROM_FLAGS: &[(&str, FlagKind)] = &[("platform", S)];

/// A flag's value as a word.
fn flag_word<'a>(u: &super::flags::FlagUse<'a>) -> Word<'a> {
    Word {
        text: u.value.clone().unwrap_or_default(),
        span: u.value_span,
    }
}

/// The last value of a string flag.
pub(crate) fn string_flag<'a>(f: &Flags<'a, '_>, name: &str) -> Option<Word<'a>> {
    f.string(name).map(flag_word)
}

/// Every value of a multi-value flag.
pub(crate) fn strings_flag<'a>(f: &Flags<'a, '_>, name: &str) -> Vec<Word<'a>> {
    f.strings(name).map(flag_word).collect()
}

fn error_at(span: Span, message: impl Into<String>) -> InstructionError {
    InstructionError {
        message: message.into(),
        span,
        help: None,
    }
}

/// The `AS` name of a FROM, checked and lower-cased as BuildKit does (most
/// names are written in lower case already, and are not copied).
pub(crate) fn stage_name(name: Word<'_>) -> Result<Word<'_>, InstructionError> {
    let lower: Cow<'_, str> = if name
        .text
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        Cow::Borrowed(&*name.text)
    } else {
        Cow::Owned(to_lower(&name.text))
    };
    let valid = lower.bytes().next().is_some_and(|c| c.is_ascii_lowercase())
        && lower.bytes().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_' | b'.')
        });
    if !valid {
        return Err(error_at(
            name.span,
            format!(
                "invalid name for build stage: {}, name can't start with a number or contain symbols",
                quote(&name.text)
            ),
        ));
    }
    let text = match lower {
        Cow::Owned(lower) if lower != *name.text => Cow::Owned(lower),
        _ => return Ok(name),
    };
    Ok(Word {
        text,
        span: name.span,
    })
}

/// What a RUN's flags say, checked and typed (`--mount`, `--network`,
/// `--security`, `--device`).
pub(crate) struct RunOptions<'a> {
    mounts: Vec<RunMount<'a>>,
    network: Option<Word<'a>>,
    network_mode: NetworkMode,
    security: Option<Word<'a>>,
    security_mode: SecurityMode,
    devices: Vec<RunDevice<'a>>,
    flags_used: &'static [&'static str],
}

impl RunOptions<'_> {
    /// The options of a RUN without flags.
    pub(crate) const FLAGLESS: Self = RunOptions {
        mounts: Vec::new(),
        network: None,
        network_mode: NetworkMode::Default,
        security: None,
        security_mode: SecurityMode::Sandbox,
        devices: Vec::new(),
        flags_used: &[],
    };
}

/// Check and type a RUN's flags; `map` is the instruction's line map.
pub(crate) fn run_options<'a>(
    flags: &Flags<'a, 'static>,
    map: &LineMap,
) -> Result<RunOptions<'a>, InstructionError> {
    let mut options = RunOptions::FLAGLESS;
    run_options_into(flags, map, &mut options)?;
    Ok(options)
}

/// [`run_options`] into `options` ([`RunOptions::FLAGLESS`]), which the
/// caller keeps where it builds the RUN from: a `RunOptions` returned in a
/// `Result` is copied out of it, a `memcpy` of its 150 bytes for every
/// RUN.
#[inline(always)]
pub(crate) fn run_options_into<'a>(
    flags: &Flags<'a, 'static>,
    map: &LineMap,
    options: &mut RunOptions<'a>,
) -> Result<(), InstructionError> {
    // Most RUNs have no flags: their options are the defaults, found
    // without running (or fetching into the instruction cache) the code
    // that reads flags.
    if flags.is_empty() {
        return Ok(());
    }
    run_options_from_flags(flags, map, options)
}

/// [`run_options_into`] for a RUN with flags: kept out of line, so that
/// the flagless RUN's path stays small.
#[inline(never)]
fn run_options_from_flags<'a>(
    flags: &Flags<'a, 'static>,
    map: &LineMap,
    options: &mut RunOptions<'a>,
) -> Result<(), InstructionError> {
    let mut devices = Vec::new();
    for u in flags.strings("device") {
        devices.push(RunDevice::parse(flag_word(u)).map_err(|m| error_at(u.span, m))?);
    }
    let mut mounts = Vec::new();
    for u in flags.strings("mount") {
        let value = flag_word(u);
        // A value inside one line of a continued instruction maps by a
        // fixed shift: its fields' spans then need no search of the map.
        let within = u
            .value_offset
            .and_then(|o| map.within_piece(o, o + value.text.len()));
        match &within {
            Some(local) => RunMount::parse_into(value, Some(0), local, &mut mounts),
            None => RunMount::parse_into(value, u.value_offset, map, &mut mounts),
        }
        .map_err(|m| error_at(u.span, m))?;
    }
    let network = string_flag(flags, "network");
    let network_mode = match &network {
        Some(w) => NetworkMode::parse(&w.text).map_err(|m| error_at(w.span, m))?,
        None => NetworkMode::Default,
    };
    let security = string_flag(flags, "security");
    let security_mode = match &security {
        Some(w) => SecurityMode::parse(&w.text).map_err(|m| error_at(w.span, m))?,
        None => SecurityMode::Sandbox,
    };
    *options = RunOptions {
        mounts,
        network,
        network_mode,
        security,
        security_mode,
        devices,
        flags_used: run_flags_used(flags),
    };
    Ok(())
}

impl<'a> RunOptions<'a> {
    /// The RUN with these options, its command and heredoc bodies.
    pub(crate) fn instruction(
        self,
        command: CommandLine<'a>,
        files: Vec<Heredoc<'a>>,
        source: InstructionSource<'a>,
    ) -> Instruction<'a> {
        Instruction::Run(RunInstruction {
            command,
            files,
            mounts: self.mounts,
            network: self.network,
            network_mode: self.network_mode,
            security: self.security,
            security_mode: self.security_mode,
            devices: self.devices,
            flags_used: self.flags_used,
            source,
        })
    }
}

/// A COPY from its sources, destination and checked flags.
pub(crate) fn copy_instruction<'a>(
    sources: ShortVec<Word<'a>>,
    inline_sources: Vec<InlineSource<'a>>,
    dest: Word<'a>,
    json: bool,
    flags: &Flags<'a, '_>,
    source: InstructionSource<'a>,
) -> Instruction<'a> {
    Instruction::Copy(CopyInstruction {
        sources,
        inline_sources,
        dest,
        json,
        from: string_flag(flags, "from"),
        chown: string_flag(flags, "chown"),
        chmod: string_flag(flags, "chmod"),
        link: flags.bool("link", false),
        parents: flags.bool("parents", false),
        exclude: strings_flag(flags, "exclude"),
        source,
    })
}

/// An ADD from its sources, destination and checked flags.
pub(crate) fn add_instruction<'a>(
    sources: ShortVec<Word<'a>>,
    inline_sources: Vec<InlineSource<'a>>,
    dest: Word<'a>,
    json: bool,
    flags: &Flags<'a, '_>,
    source: InstructionSource<'a>,
) -> Instruction<'a> {
    Instruction::Add(AddInstruction {
        sources,
        inline_sources,
        dest,
        json,
        chown: string_flag(flags, "chown"),
        chmod: string_flag(flags, "chmod"),
        link: flags.bool("link", false),
        keep_git_dir: flags.bool("keep-git-dir", false),
        checksum: string_flag(flags, "checksum"),
        unpack: flags.is_used("unpack").then(|| flags.bool("unpack", false)),
        exclude: strings_flag(flags, "exclude"),
        source,
    })
}

/// One name of an ARG, split at its first `=` into name and default.
pub(crate) fn arg_decl(w: Word<'_>) -> Result<ArgDecl<'_>, InstructionError> {
    // A word is short: a byte scan beats the searcher's set-up.
    let Some(eq) = w.text.bytes().position(|b| b == b'=') else {
        return Ok(ArgDecl {
            name: w,
            default: None,
        });
    };
    if eq == 0 {
        return Err(error_at(w.span, "ARG names can not be blank"));
    }
    // Spans inside the word only when it was written as its text.
    let exact = w.span.len() == w.text.len();
    let (ns, vs) = if exact {
        (
            Span::new(w.span.start, w.span.start + eq),
            Span::new(w.span.start + eq + 1, w.span.end),
        )
    } else {
        (w.span, w.span)
    };
    Ok(ArgDecl {
        name: Word {
            text: cow_slice(&w.text, 0..eq),
            span: ns,
        },
        default: Some(Word {
            text: cow_slice(&w.text, eq + 1..w.text.len()),
            span: vs,
        }),
    })
}

/// BuildKit's `parseOptInterval`: a HEALTHCHECK duration flag must be 0 or
/// at least 1ms. Returns nanoseconds.
pub fn healthcheck_interval(flag: &str, value: &str) -> Result<i64, String> {
    let d = parse_go_duration(value)?;
    if d != 0 && d < 1_000_000 {
        return Err(format!(
            "Interval {} cannot be less than {}",
            quote(flag),
            format_go_duration(1_000_000)
        ));
    }
    Ok(d)
}

/// Go's `strconv.ParseInt(s, 10, 32)` with its error messages.
fn parse_go_int32(s: &str) -> Result<i32, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.ParseInt: parsing {}: invalid syntax",
            quote(s)
        ));
    }
    s.parse::<i32>()
        .map_err(|_| format!("strconv.ParseInt: parsing {}: value out of range", quote(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entry `m` of `RUN_FLAG_SETS` is the sorted set of the names at the
    /// bits of `m`.
    #[test]
    fn run_flag_sets_are_the_sorted_subsets() {
        assert!(RUN_FLAGS.is_sorted_by_key(|(name, _)| *name));
        assert_eq!(RUN_FLAG_SETS.len(), 1 << RUN_FLAGS.len());
        for (mask, set) in RUN_FLAG_SETS.iter().enumerate() {
            let want: Vec<&str> = RUN_FLAGS
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, (name, _))| *name)
                .collect();
            assert_eq!(*set, want, "mask {mask}");
        }
    }
}
