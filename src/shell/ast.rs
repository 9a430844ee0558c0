//! The syntax tree of the sh subset (see `grammar/shell.ebnf`).
//!
//! Every node carries the [`Span`] of the bytes it was parsed from, relative
//! to the text given to [`parse_script`](super::parse_script). Nodes keep the
//! structure of the source (quotes, expansions, heredocs) and are expanded
//! later, against variables, by the analysis.

use serde::Serialize;

use crate::source::Span;

/// A list of commands: a whole script, or the body of a compound command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Script {
    pub items: Vec<ListItem>,
    pub span: Span,
}

/// One and-or list, terminated by `;`, `&` or a newline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListItem {
    pub and_or: AndOr,
    /// Terminated by `&`: runs in the background.
    pub background: bool,
    pub span: Span,
}

/// Pipelines joined by `&&` and `||`, left-associative as in sh.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AndOr {
    pub first: Pipeline,
    pub rest: Vec<(Connector, Pipeline)>,
    pub span: Span,
}

/// The operator between two pipelines of an and-or list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Connector {
    /// `&&`: run the right side when the left side succeeded.
    And,
    /// `||`: run the right side when the left side failed.
    Or,
}

/// Commands joined by `|`, optionally negated with `!`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pipeline {
    pub negated: bool,
    pub commands: Vec<CommandNode>,
    pub span: Span,
}

/// One element of a pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum CommandNode {
    Simple(SimpleCommand),
    Compound(Compound),
    /// `name() compound-command`: defines a shell function.
    FunctionDef {
        name: String,
        body: Box<Compound>,
        span: Span,
    },
}

impl CommandNode {
    pub fn span(&self) -> Span {
        match self {
            CommandNode::Simple(s) => s.span,
            CommandNode::Compound(c) => c.span,
            CommandNode::FunctionDef { span, .. } => *span,
        }
    }
}

/// Assignments, words and redirections, in source order per kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SimpleCommand {
    /// `NAME=value` words before the command name.
    pub assignments: Vec<AssignmentWord>,
    /// The command name and its arguments, unexpanded.
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
    pub span: Span,
}

/// `NAME=value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssignmentWord {
    pub name: String,
    pub value: Word,
    pub span: Span,
}

/// A compound command with the redirections that follow it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Compound {
    pub kind: CompoundKind,
    pub redirects: Vec<Redirect>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum CompoundKind {
    /// `{ list; }`
    BraceGroup(Script),
    /// `( list )`
    Subshell(Script),
    /// `if c; then b; elif c; then b; else b; fi`
    If {
        /// `(condition, body)` for the `if` and every `elif`.
        branches: Vec<(Script, Script)>,
        else_body: Option<Script>,
    },
    /// `for name [in words]; do body; done` (`None` words: the positional
    /// parameters).
    For {
        var: String,
        words: Option<Vec<Word>>,
        body: Script,
    },
    /// `while c; do b; done`
    While { condition: Script, body: Script },
    /// `until c; do b; done`
    Until { condition: Script, body: Script },
    /// `case word in pattern) list;; ... esac`
    Case { subject: Word, arms: Vec<CaseArm> },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseArm {
    pub patterns: Vec<Word>,
    pub body: Script,
    pub span: Span,
}

/// An unexpanded word: a sequence of literal, quoted and expansion parts
/// with no blank between them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Word {
    pub parts: Vec<WordPart>,
    pub span: Span,
}

impl Word {
    /// The word's text when it is a single run of unquoted literal characters
    /// (what reserved words and assignment names are made of).
    pub fn as_plain_literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [WordPart::Literal { text, .. }] => Some(text),
            _ => None,
        }
    }

    /// True when any part is quoted or escaped (for heredoc delimiters).
    pub fn has_quoting(&self) -> bool {
        self.parts.iter().any(|p| {
            matches!(
                p,
                WordPart::SingleQuoted { .. }
                    | WordPart::DoubleQuoted { .. }
                    | WordPart::Escaped { .. }
            )
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum WordPart {
    /// Unquoted characters. Subject to field splitting (when produced by an
    /// expansion) and pathname expansion (`*`, `?`, `[`).
    Literal { text: String, span: Span },
    /// A character quoted by a backslash.
    Escaped { ch: char, span: Span },
    /// `'text'`
    SingleQuoted { text: String, span: Span },
    /// `"parts"`: the parts inside are literal (`Literal` here means quoted
    /// text), parameter expansions and substitutions.
    DoubleQuoted { parts: Vec<WordPart>, span: Span },
    /// `$name`, `${name}`, `${name:-word}`, ...
    Param(ParamExpansion),
    /// `$(script)` or `` `script` ``.
    CommandSubst {
        script: Box<Script>,
        backtick: bool,
        span: Span,
    },
    /// `$((expression))`, kept as text.
    Arithmetic { text: String, span: Span },
    /// A construct whose value this subset does not compute (`$'...'`,
    /// `$"..."`): its value is unknown.
    Unsupported { text: String, span: Span },
}

impl WordPart {
    pub fn span(&self) -> Span {
        match self {
            WordPart::Literal { span, .. }
            | WordPart::Escaped { span, .. }
            | WordPart::SingleQuoted { span, .. }
            | WordPart::DoubleQuoted { span, .. }
            | WordPart::CommandSubst { span, .. }
            | WordPart::Arithmetic { span, .. }
            | WordPart::Unsupported { span, .. } => *span,
            WordPart::Param(p) => p.span,
        }
    }
}

/// A parameter expansion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParamExpansion {
    /// A variable name, a positional parameter (`1`) or a special parameter
    /// (`@`, `*`, `#`, `?`, `-`, `$`, `!`, `0`).
    pub name: String,
    pub op: Option<ParamOp>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ParamOp {
    /// `${#name}`
    Length,
    /// `${name-word}` / `${name:-word}`
    Default { colon: bool, word: Word },
    /// `${name=word}` / `${name:=word}`
    Assign { colon: bool, word: Word },
    /// `${name?word}` / `${name:?word}`
    Error { colon: bool, word: Word },
    /// `${name+word}` / `${name:+word}`
    Alternative { colon: bool, word: Word },
    /// `${name%pattern}` / `${name%%pattern}`
    RemoveSuffix { longest: bool, pattern: Word },
    /// `${name#pattern}` / `${name##pattern}`
    RemovePrefix { longest: bool, pattern: Word },
    /// A bash-only form (`${a/b/c}`, `${a:1:2}`, `${a^^}`, ...): the value is
    /// treated as unknown.
    Unsupported { text: String },
}

/// A redirection: `[fd]op target`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Redirect {
    /// The explicit file descriptor number, if written (`2>`).
    pub fd: Option<u32>,
    pub op: RedirectOp,
    pub target: RedirectTarget,
    pub span: Span,
}

impl Redirect {
    /// The descriptor the redirection applies to (explicit or the default
    /// for its operator).
    pub fn effective_fd(&self) -> u32 {
        self.fd.unwrap_or(match self.op {
            RedirectOp::Read
            | RedirectOp::ReadWrite
            | RedirectOp::DupIn
            | RedirectOp::HereDoc { .. }
            | RedirectOp::HereString => 0,
            _ => 1,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RedirectOp {
    /// `<`
    Read,
    /// `>`
    Write,
    /// `>>`
    Append,
    /// `>|`
    Clobber,
    /// `<>`
    ReadWrite,
    /// `<&`
    DupIn,
    /// `>&`
    DupOut,
    /// `&>` (bash): stdout and stderr to a file.
    WriteAll,
    /// `&>>` (bash)
    AppendAll,
    /// `<<` / `<<-`
    HereDoc { strip_tabs: bool },
    /// `<<<` (bash)
    HereString,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum RedirectTarget {
    Word(Word),
    HereDoc(HereDoc),
}

/// A here-document and its body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HereDoc {
    /// The delimiter with quotes removed.
    pub delimiter: String,
    /// The delimiter was quoted: the body is literal (no expansion).
    pub quoted: bool,
    /// The body (without the delimiter line), as a word: a single quoted
    /// literal when `quoted`, otherwise literal text and expansions. Leading
    /// tabs are already removed for `<<-`.
    pub body: Word,
}

/// Applies a span transformation to every span of a node, recursively (used
/// to move the spans of a re-parsed backtick substitution back into the
/// text they came from).
pub(crate) trait MapSpans {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span);
}

impl MapSpans for Span {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        *self = f(*self);
    }
}

impl<T: MapSpans> MapSpans for Vec<T> {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        for x in self {
            x.map_spans(f);
        }
    }
}

impl<T: MapSpans> MapSpans for Option<T> {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        if let Some(x) = self {
            x.map_spans(f);
        }
    }
}

impl MapSpans for Script {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        self.span.map_spans(f);
        self.items.map_spans(f);
    }
}

impl MapSpans for ListItem {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        self.span.map_spans(f);
        self.and_or.map_spans(f);
    }
}

impl MapSpans for AndOr {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        self.span.map_spans(f);
        self.first.map_spans(f);
        for (_, p) in &mut self.rest {
            p.map_spans(f);
        }
    }
}

impl MapSpans for Pipeline {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        self.span.map_spans(f);
        self.commands.map_spans(f);
    }
}

impl MapSpans for CommandNode {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        match self {
            CommandNode::Simple(s) => s.map_spans(f),
            CommandNode::Compound(c) => c.map_spans(f),
            CommandNode::FunctionDef { body, span, .. } => {
                span.map_spans(f);
                body.map_spans(f);
            }
        }
    }
}

impl MapSpans for SimpleCommand {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        self.span.map_spans(f);
        self.assignments.map_spans(f);
        self.words.map_spans(f);
        self.redirects.map_spans(f);
    }
}

impl MapSpans for AssignmentWord {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        self.span.map_spans(f);
        self.value.map_spans(f);
    }
}

impl MapSpans for Compound {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        self.span.map_spans(f);
        self.redirects.map_spans(f);
        match &mut self.kind {
            CompoundKind::BraceGroup(s) | CompoundKind::Subshell(s) => s.map_spans(f),
            CompoundKind::If {
                branches,
                else_body,
            } => {
                for (c, b) in branches {
                    c.map_spans(f);
                    b.map_spans(f);
                }
                else_body.map_spans(f);
            }
            CompoundKind::For { words, body, .. } => {
                words.map_spans(f);
                body.map_spans(f);
            }
            CompoundKind::While { condition, body } | CompoundKind::Until { condition, body } => {
                condition.map_spans(f);
                body.map_spans(f);
            }
            CompoundKind::Case { subject, arms } => {
                subject.map_spans(f);
                arms.map_spans(f);
            }
        }
    }
}

impl MapSpans for CaseArm {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        self.span.map_spans(f);
        self.patterns.map_spans(f);
        self.body.map_spans(f);
    }
}

impl MapSpans for Word {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        self.span.map_spans(f);
        self.parts.map_spans(f);
    }
}

impl MapSpans for WordPart {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        match self {
            WordPart::Literal { span, .. }
            | WordPart::Escaped { span, .. }
            | WordPart::SingleQuoted { span, .. }
            | WordPart::Arithmetic { span, .. }
            | WordPart::Unsupported { span, .. } => span.map_spans(f),
            WordPart::DoubleQuoted { parts, span } => {
                span.map_spans(f);
                parts.map_spans(f);
            }
            WordPart::Param(p) => p.map_spans(f),
            WordPart::CommandSubst { script, span, .. } => {
                span.map_spans(f);
                script.map_spans(f);
            }
        }
    }
}

impl MapSpans for ParamExpansion {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        self.span.map_spans(f);
        match &mut self.op {
            Some(
                ParamOp::Default { word, .. }
                | ParamOp::Assign { word, .. }
                | ParamOp::Error { word, .. }
                | ParamOp::Alternative { word, .. },
            ) => word.map_spans(f),
            Some(ParamOp::RemovePrefix { pattern, .. } | ParamOp::RemoveSuffix { pattern, .. }) => {
                pattern.map_spans(f)
            }
            Some(ParamOp::Length | ParamOp::Unsupported { .. }) | None => {}
        }
    }
}

impl MapSpans for Redirect {
    fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        self.span.map_spans(f);
        match &mut self.target {
            RedirectTarget::Word(w) => w.map_spans(f),
            RedirectTarget::HereDoc(h) => h.body.map_spans(f),
        }
    }
}
