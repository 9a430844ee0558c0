//! The analysis: walks a parsed script as sh would run it, expanding words
//! against the variables known at each point, and records every simple
//! command with its expanded arguments, the context it runs in and the
//! effects its recogniser found.
//!
//! Choices where the issue was silent:
//! - Commands are listed in the order they complete: the commands of a
//!   command substitution (or of `sh -c`) come before the command that
//!   contains them.
//! - A variable the caller does not know (and the script did not assign) is
//!   unknown, never assumed empty: a base image may set it.
//! - Assignments in a branch that may not run (`if`, `case` with an unknown
//!   subject, after `||`, loop bodies) leave the variable unknown after the
//!   branch, unless its value is the same either way.
//! - `for` loops over a known list of at most [`MAX_LOOP_UNROLL`] words are
//!   analysed once per word; other loops once, with the loop variable
//!   unknown and the body conditional.
//! - `case` with a known subject analyses only the arm that matches (a note
//!   says which arms were skipped); with an unknown subject, every arm,
//!   conditionally.
//! - Shell functions are analysed where they are called (up to
//!   [`MAX_CALL_DEPTH`] nested calls).
//! - The analysis stops, with an error, after [`MAX_COMMANDS`] commands, so
//!   unrolled loops cannot make it unbounded.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ast::*;
use super::effect::*;
use super::grammar::Grammar;
use super::parse::{parse_script, split_assignment};
use crate::source::{SourceDiagnostic, SourceFile, Span};

/// At most this many commands are recorded for one script.
pub const MAX_COMMANDS: usize = 10_000;
/// `for` loops over at most this many known words are unrolled.
pub const MAX_LOOP_UNROLL: usize = 64;
/// At most this many steps (commands, loop iterations, function calls) are
/// taken for one script, so nested loops with empty bodies stay bounded.
pub const MAX_STEPS: usize = 100_000;
/// Shell functions calling functions are followed this deep.
pub const MAX_CALL_DEPTH: usize = 16;
/// Reasons kept per unknown value.
const MAX_UNKNOWN_REASONS: usize = 8;
/// Longest value `${x%pattern}`-style operators are applied to.
const MAX_PATTERN_SUBJECT: usize = 4096;

fn is_false(b: &bool) -> bool {
    !*b
}

/// An expanded argument: one field of a word after parameter expansion,
/// command substitution, field splitting and quote removal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Arg {
    /// The value, or `None` when a part of it is not known.
    pub value: Option<String>,
    /// The word as written in the source.
    pub text: String,
    /// The span of the word (all fields split from one word share it).
    pub span: Span,
    /// The value holds unquoted pattern characters: sh would replace it with
    /// the matching file names, which only the filesystem knows.
    #[serde(skip_serializing_if = "is_false")]
    pub glob: bool,
    /// Why the value is not known (empty when it is).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<Unknown>,
}

impl Arg {
    /// The value when it is known.
    pub fn known(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// The same word with another (known) value: an option's attached value
    /// (`--file=x`) or a part of a word.
    pub(crate) fn with_value(&self, value: &str) -> Arg {
        Arg {
            value: Some(value.to_string()),
            text: self.text.clone(),
            span: self.span,
            glob: self.glob && value.contains(['*', '?', '[']),
            unknown: Vec::new(),
        }
    }

    /// A known literal argument (exec-form words, synthesized names).
    pub fn literal(value: impl Into<String>, span: Span) -> Arg {
        let value = value.into();
        Arg {
            text: value.clone(),
            value: Some(value),
            span,
            glob: false,
            unknown: Vec::new(),
        }
    }

    /// An argument whose value is not known.
    pub(crate) fn unknown(text: impl Into<String>, span: Span, why: Vec<Unknown>) -> Arg {
        Arg {
            value: None,
            text: text.into(),
            span,
            glob: false,
            unknown: why,
        }
    }

    /// The value for messages: the known value, or the word as written.
    pub fn display(&self) -> &str {
        self.value.as_deref().unwrap_or(&self.text)
    }
}

/// Why a value is not known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Unknown {
    /// Neither the caller (ARG/ENV) nor the script gives the variable a
    /// value (the base image may).
    UnsetVariable { name: String },
    /// The output of a command substitution.
    CommandOutput { command: String, span: Span },
    /// An arithmetic expansion.
    Arithmetic { expression: String, span: Span },
    /// A positional or special parameter (`$1`, `$@`, `$$`, `$?`).
    Parameter { name: String },
    /// Assigned in a branch or loop that may or may not run.
    ConditionalAssignment { name: String },
    /// The variable of a loop whose words are not known.
    LoopVariable { name: String },
    /// A home directory (`~`, `~user`) with no known `HOME`.
    HomeDirectory {
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<String>,
    },
    /// Words read from standard input (`xargs`, `read`).
    Stdin { from: String },
    /// A construct whose value this analysis does not compute (bash-only
    /// expansions, ANSI-C quotes).
    Unsupported { text: String, span: Span },
}

/// The working directory a command runs in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "path", rename_all = "kebab-case")]
pub enum Cwd {
    /// The directory the script started in (the stage's WORKDIR).
    #[default]
    Workdir,
    /// An absolute directory (after `cd /x`).
    Absolute(String),
    /// A directory relative to the starting one (after `cd src`).
    WorkdirRelative(String),
    /// After a `cd` to a directory that is not known.
    Unknown,
}

impl Cwd {
    pub fn is_workdir(&self) -> bool {
        matches!(self, Cwd::Workdir)
    }

    /// The directory after `cd path`.
    pub fn join(&self, path: &str) -> Cwd {
        if path.starts_with('/') {
            return Cwd::Absolute(normalize_path(path));
        }
        match self {
            Cwd::Workdir => Cwd::WorkdirRelative(normalize_path(path)),
            Cwd::Absolute(base) => Cwd::Absolute(normalize_path(&format!("{base}/{path}"))),
            Cwd::WorkdirRelative(base) => {
                Cwd::WorkdirRelative(normalize_path(&format!("{base}/{path}")))
            }
            Cwd::Unknown => Cwd::Unknown,
        }
    }

    /// An absolute path for `path` given the stage's WORKDIR, or `None`
    /// when the directory is not known.
    pub fn resolve(&self, workdir: &str, path: &str) -> Option<String> {
        if path.starts_with('/') {
            return Some(normalize_path(path));
        }
        let base = match self {
            Cwd::Workdir => workdir.to_string(),
            Cwd::Absolute(b) => b.clone(),
            Cwd::WorkdirRelative(r) => format!("{workdir}/{r}"),
            Cwd::Unknown => return None,
        };
        Some(normalize_path(&format!("{base}/{path}")))
    }
}

/// `.` and `..` and repeated slashes removed; relative paths stay relative
/// (a leading `..` that cannot be resolved is kept).
pub fn normalize_path(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if matches!(out.last(), Some(l) if *l != "..") {
                    out.pop();
                } else if !absolute {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    let joined = out.join("/");
    if absolute {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

/// Where a command is in a pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PipelinePosition {
    pub index: usize,
    pub len: usize,
}

/// The control-flow context a command runs in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Context {
    /// The operator joining this command's pipeline to the previous one in
    /// its and-or list (`None` for the first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector: Option<Connector>,
    /// The command may not run: it follows `||` or a test joined with
    /// `&&` in its and-or list, or is in an `if`/`elif`/`else` body, an
    /// `elif` condition, a `case` arm of an unknown subject, or a loop body
    /// that may run zero times.
    #[serde(skip_serializing_if = "is_false")]
    pub conditional: bool,
    /// The command's failure does not fail the build: it is followed by
    /// `||`, is (part of) an `if`/`while`/`until` condition, or is negated
    /// with `!`.
    #[serde(skip_serializing_if = "is_false")]
    pub failure_handled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<PipelinePosition>,
    /// Runs in a subshell (`( )`, a pipeline, a substitution, `sh -c`):
    /// its variable and directory changes do not outlive it.
    #[serde(skip_serializing_if = "is_false")]
    pub subshell: bool,
    /// Runs in the background (`&`).
    #[serde(skip_serializing_if = "is_false")]
    pub background: bool,
    /// Runs inside a command substitution (`$(...)`): its output is a value.
    #[serde(skip_serializing_if = "is_false")]
    pub substitution: bool,
    /// Runs in a loop body.
    #[serde(skip_serializing_if = "is_false")]
    pub in_loop: bool,
    /// Runs in the body of this shell function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

/// A variable assignment before a command (`A=b cmd`) or on its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub name: String,
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<Unknown>,
    pub span: Span,
}

/// A redirection of a command, expanded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RedirectInfo {
    pub fd: u32,
    pub op: RedirectOp,
    /// The file or descriptor (`1`, `-`) redirected to; for here-documents
    /// and here-strings, the content (`value` `None` when not known).
    pub target: Arg,
    pub span: Span,
}

/// One simple command as it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Command {
    /// The expanded words: the command name and its arguments (empty for a
    /// bare assignment or redirection).
    pub argv: Vec<Arg>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assignments: Vec<Assignment>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<RedirectInfo>,
    pub span: Span,
    pub context: Context,
    /// The working directory; relative paths in the effects are relative
    /// to it (see [`Cwd::resolve`]).
    #[serde(skip_serializing_if = "Cwd::is_workdir")]
    pub cwd: Cwd,
    pub effects: Vec<Effect>,
}

impl Command {
    /// The command name (the first word), when known.
    pub fn name(&self) -> Option<&str> {
        self.argv.first().and_then(Arg::known)
    }

    /// An absolute path for a path in one of the command's effects, given
    /// the stage's WORKDIR.
    pub fn resolve_path(&self, workdir: &str, path: &str) -> Option<String> {
        self.cwd.resolve(workdir, path)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Error,
    Warning,
    Advice,
}

/// A diagnostic about the analysed text; its span is relative to that text
/// (see [`ShellDiagnostic::to_source_diagnostic`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShellDiagnostic {
    pub severity: Severity,
    /// A stable code, e.g. `shell::opaque-command`.
    pub code: String,
    pub message: String,
    pub span: Span,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl ShellDiagnostic {
    /// This diagnostic in a source file, with `map` taking a span of the
    /// analysed text to a span of the file.
    pub fn to_source_diagnostic(
        &self,
        source: &SourceFile,
        map: &dyn Fn(Span) -> Span,
    ) -> SourceDiagnostic {
        let span = map(self.span);
        let mut d = match self.severity {
            Severity::Error => SourceDiagnostic::error(source, span, &self.code, &self.message),
            Severity::Warning => SourceDiagnostic::warning(source, span, &self.code, &self.message),
            Severity::Advice => SourceDiagnostic {
                severity: miette::Severity::Advice,
                ..SourceDiagnostic::warning(source, span, &self.code, &self.message)
            },
        };
        if let Some(h) = &self.help {
            d = d.with_help(h.clone());
        }
        d
    }
}

/// The result of analysing a script or an exec-form command.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Analysis {
    pub commands: Vec<Command>,
    pub diagnostics: Vec<ShellDiagnostic>,
}

impl Analysis {
    /// Every effect with the command it belongs to, in order.
    pub fn effects(&self) -> impl Iterator<Item = (&Command, &Effect)> {
        self.commands
            .iter()
            .flat_map(|c| c.effects.iter().map(move |e| (c, e)))
    }

    /// The effects that could not be interpreted.
    pub fn opaque(&self) -> impl Iterator<Item = (&Command, &Effect)> {
        self.effects().filter(|(_, e)| e.is_opaque())
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Analyses the text of a shell-form RUN (or a `RUN <<EOF` body, or any sh
/// script). `vars` gives the values of the stage's ARG and ENV variables
/// (`None`: not known). Spans are byte ranges into `text`.
pub fn analyze_script(text: &str, vars: &dyn Fn(&str) -> Option<String>) -> Analysis {
    match Grammar::builtin() {
        Ok(g) => analyze_script_with(text, vars, g),
        Err(e) => grammar_failure(text.len(), &e.to_string()),
    }
}

/// [`analyze_script`] with another command grammar.
pub fn analyze_script_with(
    text: &str,
    vars: &dyn Fn(&str) -> Option<String>,
    grammar: &Grammar,
) -> Analysis {
    let mut a = Analyzer::new(text, vars, grammar);
    match parse_script(text) {
        Ok(script) => a.script(&script, &Context::default()),
        Err(e) => {
            a.diagnostics.push(ShellDiagnostic {
                severity: Severity::Error,
                code: e.kind.code().to_string(),
                message: format!("cannot parse the shell script: {}", e.kind),
                span: e.span,
                help: None,
            });
            let span = Span::new(0, text.len());
            a.commands.push(Command {
                argv: Vec::new(),
                assignments: Vec::new(),
                redirects: Vec::new(),
                span,
                context: Context::default(),
                cwd: Cwd::Workdir,
                effects: vec![Effect::Opaque {
                    reason: format!("the script does not parse: {}", e.kind),
                    span,
                }],
            });
        }
    }
    a.finish()
}

/// Analyses an exec-form RUN (`RUN ["apt-get", "install", "-y", "x"]`): no
/// shell runs, so nothing is expanded, but `["sh", "-c", "script"]` has its
/// script analysed. Spans are byte ranges into `argv.join(" ")`: element `i`
/// starts at the sum of the lengths of the elements before it plus `i`.
pub fn analyze_argv(argv: &[String]) -> Analysis {
    analyze_argv_with(argv, &|_| None)
}

/// [`analyze_argv`] with the stage's variables, which a `sh -c` script
/// given in exec form sees in its environment.
pub fn analyze_argv_with(argv: &[String], vars: &dyn Fn(&str) -> Option<String>) -> Analysis {
    let joined = argv.join(" ");
    let grammar = match Grammar::builtin() {
        Ok(g) => g,
        Err(e) => return grammar_failure(joined.len(), &e.to_string()),
    };
    let mut a = Analyzer::new(&joined, vars, grammar);
    let mut off = 0;
    let args: Vec<Arg> = argv
        .iter()
        .map(|s| {
            let arg = Arg::literal(s.clone(), Span::new(off, off + s.len()));
            off += s.len() + 1;
            arg
        })
        .collect();
    let span = Span::new(0, joined.len());
    if args.is_empty() {
        a.diagnostics.push(ShellDiagnostic {
            severity: Severity::Error,
            code: "shell::empty-command".into(),
            message: "the exec-form command is empty".into(),
            span,
            help: None,
        });
    } else {
        let line = Line {
            argv: args,
            assignments: Vec::new(),
            declarations: Vec::new(),
            redirects: Vec::new(),
            span,
        };
        a.run(line, &Context::default(), Stream::Inherited, false);
    }
    a.finish()
}

fn grammar_failure(len: usize, message: &str) -> Analysis {
    let span = Span::new(0, len);
    Analysis {
        commands: vec![Command {
            argv: Vec::new(),
            assignments: Vec::new(),
            redirects: Vec::new(),
            span,
            context: Context::default(),
            cwd: Cwd::Workdir,
            effects: vec![Effect::Opaque {
                reason: format!("the command grammar is broken: {message}"),
                span,
            }],
        }],
        diagnostics: vec![ShellDiagnostic {
            severity: Severity::Error,
            code: "shell::grammar".into(),
            message: format!("the command grammar is broken: {message}"),
            span,
            help: None,
        }],
    }
}

/// A value during the analysis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum VarValue {
    Known(String),
    Unknown(Vec<Unknown>),
}

impl VarValue {
    fn known(&self) -> Option<&str> {
        match self {
            VarValue::Known(s) => Some(s),
            VarValue::Unknown(_) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct VarState {
    /// `None`: unset (by `unset`).
    value: Option<VarValue>,
    exported: bool,
}

/// Data flowing into a command's standard input or out of its standard
/// output.
#[derive(Clone, Debug)]
pub(crate) enum Stream {
    /// Not redirected: the build's standard input (which is empty).
    Inherited,
    Known(String),
    /// The body of a download.
    Download {
        url: Arg,
    },
    Unknown {
        from: String,
    },
}

/// A redirection target, expanded.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    File(Arg),
    Fd(String),
    Content(VarValue),
}

#[derive(Clone, Debug)]
pub(crate) struct ExpandedRedirect {
    pub fd: u32,
    pub op: RedirectOp,
    pub target: Target,
    pub span: Span,
    pub text: String,
}

/// A command line after expansion.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub argv: Vec<Arg>,
    pub assignments: Vec<(String, VarValue, Span)>,
    /// `NAME=value` arguments of `export`/`readonly`/`local`/`declare`.
    pub declarations: Vec<(String, VarValue)>,
    pub redirects: Vec<ExpandedRedirect>,
    pub span: Span,
}

/// What a recogniser found.
pub(crate) struct Recognized {
    pub effects: Vec<Effect>,
    pub stdout: Stream,
}

impl Recognized {
    /// One effect; the command's output is not known (recognisers that
    /// know it, like `echo`, say so).
    pub fn effect(e: Effect) -> Self {
        Recognized {
            effects: vec![e],
            stdout: Stream::Unknown {
                from: "the output of a command".into(),
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum FdTarget {
    Inherited,
    Pipe,
    DevNull,
    File { path: Arg, append: bool },
    Closed,
}

/// A pattern: characters, each either literal (quoted) or live.
type Pattern = Vec<(char, bool)>;

pub(crate) struct Analyzer<'a> {
    pub(crate) src: &'a str,
    caller: &'a dyn Fn(&str) -> Option<String>,
    pub(crate) grammar: &'a Grammar,
    vars: BTreeMap<String, VarState>,
    functions: BTreeMap<String, Compound>,
    pub(crate) cwd: Cwd,
    noglob: bool,
    pub(crate) commands: Vec<Command>,
    pub(crate) diagnostics: Vec<ShellDiagnostic>,
    call_depth: usize,
    exhausted: bool,
    steps: usize,
    /// Virtual package groups created (`apk add --virtual NAME`) so far.
    virtual_groups: std::collections::BTreeSet<String>,
}

struct Saved {
    vars: BTreeMap<String, VarState>,
    cwd: Cwd,
    noglob: bool,
    functions: BTreeMap<String, Compound>,
}

impl<'a> Analyzer<'a> {
    fn new(src: &'a str, caller: &'a dyn Fn(&str) -> Option<String>, grammar: &'a Grammar) -> Self {
        Analyzer {
            src,
            caller,
            grammar,
            vars: BTreeMap::new(),
            functions: BTreeMap::new(),
            cwd: Cwd::Workdir,
            noglob: false,
            commands: Vec::new(),
            diagnostics: Vec::new(),
            call_depth: 0,
            exhausted: false,
            steps: 0,
            virtual_groups: std::collections::BTreeSet::new(),
        }
    }

    fn finish(self) -> Analysis {
        Analysis {
            commands: self.commands,
            diagnostics: self.diagnostics,
        }
    }

    pub(crate) fn text(&self, span: Span) -> String {
        self.src.get(span.start..span.end).unwrap_or("").to_string()
    }

    fn save(&self) -> Saved {
        Saved {
            vars: self.vars.clone(),
            cwd: self.cwd.clone(),
            noglob: self.noglob,
            functions: self.functions.clone(),
        }
    }

    fn restore(&mut self, s: Saved) {
        self.vars = s.vars;
        self.cwd = s.cwd;
        self.noglob = s.noglob;
        self.functions = s.functions;
    }

    /// After a region that may or may not have run: what it changed is no
    /// longer known.
    fn merge_conditional(&mut self, before: &Saved) {
        let names: Vec<String> = self
            .vars
            .keys()
            .chain(before.vars.keys())
            .cloned()
            .collect();
        for name in names {
            let now = self.vars.get(&name);
            let then = before.vars.get(&name);
            if now.map(|v| &v.value) != then.map(|v| &v.value) {
                let exported = now.is_some_and(|v| v.exported) || then.is_some_and(|v| v.exported);
                self.vars.insert(
                    name.clone(),
                    VarState {
                        value: Some(VarValue::Unknown(vec![Unknown::ConditionalAssignment {
                            name,
                        }])),
                        exported,
                    },
                );
            }
        }
        if self.cwd != before.cwd {
            self.cwd = Cwd::Unknown;
        }
        for (name, f) in &before.functions {
            self.functions
                .entry(name.clone())
                .or_insert_with(|| f.clone());
        }
    }

    /// Counts one step; false once the budget is spent (and says so once).
    fn budget_ok(&mut self, span: Span) -> bool {
        self.steps += 1;
        if self.commands.len() < MAX_COMMANDS && self.steps <= MAX_STEPS {
            return true;
        }
        if !self.exhausted {
            self.exhausted = true;
            self.diagnostics.push(ShellDiagnostic {
                severity: Severity::Error,
                code: "shell::too-many-commands".into(),
                message: format!(
                    "the script runs more than {MAX_COMMANDS} commands or {MAX_STEPS} steps; the rest is not analysed"
                ),
                span,
                help: None,
            });
            self.commands.push(Command {
                argv: Vec::new(),
                assignments: Vec::new(),
                redirects: Vec::new(),
                span,
                context: Context::default(),
                cwd: self.cwd.clone(),
                effects: vec![Effect::Opaque {
                    reason: "the analysis stopped here: too many commands".into(),
                    span,
                }],
            });
        }
        false
    }

    // ----- walking -----

    pub(crate) fn script(&mut self, s: &Script, ctx: &Context) {
        for item in &s.items {
            if self.exhausted {
                return;
            }
            if item.background {
                let saved = self.save();
                let mut c = ctx.clone();
                c.background = true;
                c.subshell = true;
                self.and_or(&item.and_or, &c);
                self.restore(saved);
            } else {
                self.and_or(&item.and_or, ctx);
            }
        }
    }

    /// The script's output (for `$(...)`): known when it is a sequence of
    /// pipelines (no `&&`, `||` or `&`, whose outcome decides what runs)
    /// whose outputs are all known.
    fn script_output(&mut self, s: &Script, ctx: &Context) -> Option<Stream> {
        let simple = s
            .items
            .iter()
            .all(|i| !i.background && i.and_or.rest.is_empty());
        if !simple {
            self.script(s, ctx);
            return None;
        }
        let mut out = Some(String::new());
        for item in &s.items {
            match self.pipeline(&item.and_or.first, ctx) {
                Stream::Known(t) => {
                    if let Some(o) = &mut out {
                        o.push_str(&t);
                    }
                }
                _ => out = None,
            }
        }
        out.map(Stream::Known)
    }

    fn and_or(&mut self, ao: &AndOr, ctx: &Context) {
        let mut conditional = false;
        let mut before: Option<Saved> = None;
        let mut prev_test = is_test(&ao.first);
        let mut c = ctx.clone();
        c.connector = None;
        c.failure_handled =
            ctx.failure_handled || matches!(ao.rest.first(), Some((Connector::Or, _)));
        self.pipeline(&ao.first, &c);
        for (k, (op, p)) in ao.rest.iter().enumerate() {
            conditional |= *op == Connector::Or || prev_test;
            if conditional && before.is_none() {
                before = Some(self.save());
            }
            let mut c = ctx.clone();
            c.connector = Some(*op);
            c.conditional = ctx.conditional || conditional;
            c.failure_handled =
                ctx.failure_handled || matches!(ao.rest.get(k + 1), Some((Connector::Or, _)));
            self.pipeline(p, &c);
            prev_test = is_test(p);
        }
        if let Some(b) = before {
            self.merge_conditional(&b);
        }
    }

    fn pipeline(&mut self, p: &Pipeline, ctx: &Context) -> Stream {
        let mut ctx = ctx.clone();
        if p.negated {
            ctx.failure_handled = true;
        }
        let n = p.commands.len();
        if n == 1 {
            return match p.commands.first() {
                Some(c) => self.command(c, &ctx, Stream::Inherited, false),
                None => Stream::Known(String::new()),
            };
        }
        let mut input = Stream::Inherited;
        for (k, c) in p.commands.iter().enumerate() {
            let mut ck = ctx.clone();
            ck.pipeline = Some(PipelinePosition { index: k, len: n });
            ck.subshell = true;
            let saved = self.save();
            input = self.command(c, &ck, input, k + 1 < n);
            self.restore(saved);
        }
        input
    }

    fn command(&mut self, c: &CommandNode, ctx: &Context, stdin: Stream, piped: bool) -> Stream {
        match c {
            CommandNode::Simple(s) => self.simple(s, ctx, stdin, piped),
            CommandNode::Compound(c) => self.compound(c, ctx),
            CommandNode::FunctionDef { name, body, .. } => {
                self.functions.insert(name.clone(), (**body).clone());
                Stream::Known(String::new())
            }
        }
    }

    /// A compound command. Its redirections apply to everything inside: a
    /// file it writes is recorded as written with unknown content, and the
    /// commands inside do not see piped or redirected input (their standard
    /// input is treated as not known where it matters).
    fn compound(&mut self, c: &Compound, ctx: &Context) -> Stream {
        let redirects: Vec<ExpandedRedirect> = c
            .redirects
            .iter()
            .map(|r| self.expand_redirect(r, ctx))
            .collect();
        match &c.kind {
            CompoundKind::BraceGroup(s) => self.script(s, ctx),
            CompoundKind::Subshell(s) => {
                let saved = self.save();
                let mut ci = ctx.clone();
                ci.subshell = true;
                self.script(s, &ci);
                self.restore(saved);
            }
            CompoundKind::If {
                branches,
                else_body,
            } => {
                let before = self.save();
                for (k, (cond, body)) in branches.iter().enumerate() {
                    let mut cc = ctx.clone();
                    cc.failure_handled = true;
                    cc.conditional = ctx.conditional || k > 0;
                    self.script(cond, &cc);
                    let mut cb = ctx.clone();
                    cb.conditional = true;
                    self.script(body, &cb);
                }
                if let Some(e) = else_body {
                    let mut cb = ctx.clone();
                    cb.conditional = true;
                    self.script(e, &cb);
                }
                self.merge_conditional(&before);
            }
            CompoundKind::For { var, words, body } => {
                self.for_loop(var, words.as_deref(), body, ctx)
            }
            CompoundKind::While { condition, body } | CompoundKind::Until { condition, body } => {
                let before = self.save();
                let mut cc = ctx.clone();
                cc.failure_handled = true;
                cc.in_loop = true;
                self.script(condition, &cc);
                let mut cb = ctx.clone();
                cb.conditional = true;
                cb.in_loop = true;
                self.script(body, &cb);
                self.merge_conditional(&before);
            }
            CompoundKind::Case { subject, arms } => self.case(subject, arms, ctx),
        }
        if !redirects.is_empty() {
            let effects = self.redirect_effects(&redirects, c.span, None);
            if !effects.is_empty() {
                let infos = self.redirect_infos(&redirects);
                self.push_command(Vec::new(), Vec::new(), infos, c.span, ctx, effects);
            }
        }
        Stream::Unknown {
            from: "the output of a compound command".into(),
        }
    }

    fn for_loop(&mut self, var: &str, words: Option<&[Word]>, body: &Script, ctx: &Context) {
        let before = self.save();
        let values: Option<Vec<Arg>> =
            words.map(|ws| ws.iter().flat_map(|w| self.expand_fields(w, ctx)).collect());
        let unrollable = values.as_ref().filter(|vs| {
            vs.len() <= MAX_LOOP_UNROLL && vs.iter().all(|a| a.value.is_some() && !a.glob)
        });
        let mut cb = ctx.clone();
        cb.in_loop = true;
        match unrollable {
            Some(vs) => {
                // After a `break`, `continue`, `return` or `exit` in the
                // body, the later iterations may not run.
                let exits = contains_loop_exit(body);
                for (k, v) in vs.iter().enumerate() {
                    if !self.budget_ok(body.span) {
                        break;
                    }
                    let value = v.value.clone().unwrap_or_default();
                    self.set_var(var, VarValue::Known(value));
                    let mut ci = cb.clone();
                    ci.conditional |= exits && k > 0;
                    self.script(body, &ci);
                    if self.exhausted {
                        break;
                    }
                }
            }
            None => {
                self.set_var(
                    var,
                    VarValue::Unknown(vec![Unknown::LoopVariable {
                        name: var.to_string(),
                    }]),
                );
                cb.conditional = true;
                self.script(body, &cb);
            }
        }
        self.merge_conditional(&before);
    }

    fn case(&mut self, subject: &Word, arms: &[CaseArm], ctx: &Context) {
        let value = self.expand_value(subject, ctx);
        if let VarValue::Known(s) = &value {
            let chars: Vec<char> = s.chars().collect();
            let mut chosen = None;
            let mut undecidable = false;
            'arms: for (k, arm) in arms.iter().enumerate() {
                for p in &arm.patterns {
                    match self.expand_pattern(p, ctx) {
                        Some(pat) => {
                            if glob_match(&pat, &chars) {
                                chosen = Some(k);
                                break 'arms;
                            }
                        }
                        None => {
                            undecidable = true;
                            break 'arms;
                        }
                    }
                }
            }
            if !undecidable {
                for (k, arm) in arms.iter().enumerate() {
                    if Some(k) != chosen {
                        self.diagnostics.push(ShellDiagnostic {
                            severity: Severity::Advice,
                            code: "shell::case-arm-skipped".into(),
                            message: format!("this case arm does not run: the subject is `{s}`"),
                            span: arm.span,
                            help: None,
                        });
                    }
                }
                if let Some(arm) = chosen.and_then(|k| arms.get(k)) {
                    self.script(&arm.body, ctx);
                }
                return;
            }
        }
        let before = self.save();
        let mut cb = ctx.clone();
        cb.conditional = true;
        for arm in arms {
            self.script(&arm.body, &cb);
        }
        self.merge_conditional(&before);
    }

    fn simple(&mut self, sc: &SimpleCommand, ctx: &Context, stdin: Stream, piped: bool) -> Stream {
        if sc.words.first().and_then(Word::as_plain_literal) == Some("[[") {
            self.bash_only(sc.span, "`[[ ... ]]`", "`[[` is not a command");
        }
        if !self.budget_ok(sc.span) {
            return Stream::Unknown {
                from: "a command that was not analysed".into(),
            };
        }
        let decl = matches!(
            sc.words.first().and_then(Word::as_plain_literal),
            Some("export" | "readonly" | "local" | "declare" | "typeset")
        );
        let mut argv = Vec::new();
        let mut declarations = Vec::new();
        for (k, w) in sc.words.iter().enumerate() {
            if decl
                && k > 0
                && let Some(a) = split_assignment(w)
            {
                let v = self.expand_value(&a.value, ctx);
                let text = self.text(w.span);
                declarations.push((a.name.clone(), v.clone()));
                argv.push(match v {
                    VarValue::Known(s) => Arg {
                        value: Some(format!("{}={s}", a.name)),
                        text,
                        span: w.span,
                        glob: false,
                        unknown: Vec::new(),
                    },
                    VarValue::Unknown(u) => Arg::unknown(text, w.span, u),
                });
                continue;
            }
            argv.extend(self.expand_fields(w, ctx));
        }
        let redirects: Vec<ExpandedRedirect> = sc
            .redirects
            .iter()
            .map(|r| self.expand_redirect(r, ctx))
            .collect();
        let assignments: Vec<(String, VarValue, Span)> = sc
            .assignments
            .iter()
            .map(|a| (a.name.clone(), self.expand_value(&a.value, ctx), a.span))
            .collect();
        let line = Line {
            argv,
            assignments,
            declarations,
            redirects,
            span: sc.span,
        };
        self.run(line, ctx, stdin, piped)
    }

    /// Runs an expanded command line: redirections, recognition, effects.
    pub(crate) fn run(&mut self, line: Line, ctx: &Context, stdin: Stream, piped: bool) -> Stream {
        let mut stdin = stdin;
        for r in &line.redirects {
            if r.fd != 0 {
                continue;
            }
            stdin = match (&r.op, &r.target) {
                (RedirectOp::HereDoc { .. } | RedirectOp::HereString, Target::Content(v)) => {
                    match v {
                        VarValue::Known(s) => Stream::Known(s.clone()),
                        VarValue::Unknown(_) => Stream::Unknown {
                            from: "a here-document whose content is not known".into(),
                        },
                    }
                }
                (_, Target::File(a)) => Stream::Unknown {
                    from: format!("the file {}", a.display()),
                },
                _ => Stream::Unknown {
                    from: format!("`{}`", r.text),
                },
            };
        }
        let cwd = self.cwd.clone();
        let mut rec = if line.argv.is_empty() {
            let names: Vec<&str> = line
                .assignments
                .iter()
                .map(|(n, _, _)| n.as_str())
                .collect();
            for (n, v, _) in &line.assignments {
                self.set_var(n, v.clone());
            }
            if names.is_empty() {
                Recognized {
                    effects: Vec::new(),
                    stdout: Stream::Known(String::new()),
                }
            } else {
                Recognized {
                    effects: vec![Effect::NoOp {
                        reason: format!("sets the shell variable(s) {}", names.join(", ")),
                        span: line.span,
                    }],
                    stdout: Stream::Known(String::new()),
                }
            }
        } else {
            self.dispatch(&line, ctx, &stdin)
        };
        if let (Stream::Unknown { from }, Some(name)) = (
            &mut rec.stdout,
            line.argv.first().map(|a| a.display().to_string()),
        ) && from == "the output of a command"
        {
            *from = format!("the output of `{name}`");
        }
        for e in &mut rec.effects {
            match e {
                Effect::PackageInstall {
                    manager: Manager::Apk,
                    options,
                    ..
                } => {
                    if let Some(v) = &options.virtual_group {
                        self.virtual_groups.insert(v.clone());
                    }
                }
                Effect::PackageRemove {
                    manager: Manager::Apk,
                    names,
                    virtual_groups,
                    ..
                } => {
                    virtual_groups.extend(
                        names
                            .iter()
                            .filter(|n| self.virtual_groups.contains(*n))
                            .cloned(),
                    );
                }
                _ => {}
            }
        }
        let file_effects = self.redirect_effects(&line.redirects, line.span, Some(&mut rec));
        rec.effects.extend(file_effects);
        let fd1 = self.fd_table(&line.redirects, piped).remove(&1);
        let out = match fd1 {
            Some(FdTarget::Pipe) | Some(FdTarget::Inherited) | None => {
                std::mem::replace(&mut rec.stdout, Stream::Known(String::new()))
            }
            _ => Stream::Known(String::new()),
        };
        // A download to standard output: where it went.
        let dest = match self.fd_table(&line.redirects, piped).remove(&1) {
            Some(FdTarget::Pipe) => Some(DownloadDest::Pipe),
            Some(FdTarget::File { path, .. }) => Some(DownloadDest::File { path }),
            _ => None,
        };
        if let Some(dest) = dest {
            for e in &mut rec.effects {
                if let Effect::Download { dest: d, .. } = e
                    && *d == DownloadDest::Stdout
                {
                    *d = dest.clone();
                }
            }
        }
        let assignments = line
            .assignments
            .iter()
            .map(|(n, v, s)| Assignment {
                name: n.clone(),
                value: v.known().map(str::to_string),
                unknown: match v {
                    VarValue::Unknown(u) => u.clone(),
                    VarValue::Known(_) => Vec::new(),
                },
                span: *s,
            })
            .collect();
        let infos = self.redirect_infos(&line.redirects);
        self.push_command(line.argv, assignments, infos, line.span, ctx, rec.effects);
        if let Some(c) = self.commands.last_mut() {
            c.cwd = cwd;
        }
        out
    }

    pub(crate) fn push_command(
        &mut self,
        argv: Vec<Arg>,
        assignments: Vec<Assignment>,
        redirects: Vec<RedirectInfo>,
        span: Span,
        ctx: &Context,
        effects: Vec<Effect>,
    ) {
        for e in &effects {
            if let Effect::Opaque { reason, span } = e {
                let name = argv.first().map(|a| a.display().to_string());
                self.diagnostics.push(ShellDiagnostic {
                    severity: Severity::Warning,
                    code: "shell::opaque-command".into(),
                    message: match name {
                        Some(n) => format!("cannot interpret `{n}`: {reason}"),
                        None => format!("cannot interpret this command: {reason}"),
                    },
                    span: *span,
                    help: Some(
                        "describe its effect with a COPY or another step scratchify understands, or allow unsupported steps"
                            .into(),
                    ),
                });
            }
        }
        self.commands.push(Command {
            argv,
            assignments,
            redirects,
            span,
            context: ctx.clone(),
            cwd: self.cwd.clone(),
            effects,
        });
    }

    fn redirect_infos(&self, redirects: &[ExpandedRedirect]) -> Vec<RedirectInfo> {
        redirects
            .iter()
            .map(|r| RedirectInfo {
                fd: r.fd,
                op: r.op,
                target: match &r.target {
                    Target::File(a) => a.clone(),
                    Target::Fd(s) => Arg::literal(s.clone(), r.span),
                    Target::Content(VarValue::Known(s)) => Arg {
                        value: Some(s.clone()),
                        text: r.text.clone(),
                        span: r.span,
                        glob: false,
                        unknown: Vec::new(),
                    },
                    Target::Content(VarValue::Unknown(u)) => {
                        Arg::unknown(r.text.clone(), r.span, u.clone())
                    }
                },
                span: r.span,
            })
            .collect()
    }

    fn fd_table(&self, redirects: &[ExpandedRedirect], piped: bool) -> BTreeMap<u32, FdTarget> {
        let mut fds = BTreeMap::new();
        fds.insert(
            1,
            if piped {
                FdTarget::Pipe
            } else {
                FdTarget::Inherited
            },
        );
        fds.insert(2, FdTarget::Inherited);
        let file = |a: &Arg, append: bool, fds: &BTreeMap<u32, FdTarget>| match a.known() {
            Some("/dev/null") => FdTarget::DevNull,
            Some("/dev/stdout") => fds.get(&1).cloned().unwrap_or(FdTarget::Inherited),
            Some("/dev/stderr") => fds.get(&2).cloned().unwrap_or(FdTarget::Inherited),
            _ => FdTarget::File {
                path: a.clone(),
                append,
            },
        };
        for r in redirects {
            match (&r.op, &r.target) {
                (RedirectOp::Write | RedirectOp::Clobber, Target::File(a)) => {
                    let t = file(a, false, &fds);
                    fds.insert(r.fd, t);
                }
                (RedirectOp::Append, Target::File(a)) => {
                    let t = file(a, true, &fds);
                    fds.insert(r.fd, t);
                }
                (RedirectOp::ReadWrite, Target::File(a)) if r.fd != 0 => {
                    let t = file(a, true, &fds);
                    fds.insert(r.fd, t);
                }
                (RedirectOp::WriteAll | RedirectOp::AppendAll, Target::File(a)) => {
                    let t = file(a, r.op == RedirectOp::AppendAll, &fds);
                    fds.insert(1, t.clone());
                    fds.insert(2, t);
                }
                (RedirectOp::DupOut, Target::Fd(s)) => {
                    let t = if s == "-" {
                        FdTarget::Closed
                    } else {
                        s.parse::<u32>()
                            .ok()
                            .and_then(|m| fds.get(&m).cloned())
                            .unwrap_or(FdTarget::Inherited)
                    };
                    fds.insert(r.fd, t);
                }
                (RedirectOp::DupOut, Target::File(a)) => {
                    // bash `>&file`: both streams to the file.
                    let t = file(a, false, &fds);
                    fds.insert(1, t.clone());
                    fds.insert(2, t);
                }
                _ => {}
            }
        }
        fds
    }

    /// The files a command's redirections write, with the content of
    /// standard output when it is known.
    fn redirect_effects(
        &self,
        redirects: &[ExpandedRedirect],
        span: Span,
        rec: Option<&mut Recognized>,
    ) -> Vec<Effect> {
        let fds = self.fd_table(redirects, false);
        let mut effects = Vec::new();
        let mut seen: Vec<(Option<String>, String)> = Vec::new();
        let stdout_known = match rec.as_ref().map(|r| &r.stdout) {
            Some(Stream::Known(s)) => Some(s.clone()),
            _ => None,
        };
        let stdout_is_download = matches!(
            rec.as_ref().map(|r| &r.stdout),
            Some(Stream::Download { .. })
        );
        // Every file opened for writing is created (or truncated), even when
        // no descriptor ends up pointing at it.
        for r in redirects {
            let (append, a) = match (&r.op, &r.target) {
                (
                    RedirectOp::Write | RedirectOp::Clobber | RedirectOp::WriteAll,
                    Target::File(a),
                ) => (false, a),
                (RedirectOp::Append | RedirectOp::AppendAll, Target::File(a)) => (true, a),
                (RedirectOp::ReadWrite, Target::File(a)) => (true, a),
                (RedirectOp::DupOut, Target::File(a)) => (false, a),
                _ => continue,
            };
            if matches!(a.known(), Some("/dev/null" | "/dev/stdout" | "/dev/stderr")) {
                continue;
            }
            let key = (a.value.clone(), a.text.clone());
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            let is_stdout = matches!(fds.get(&1), Some(FdTarget::File { path, .. }) if path == a);
            if is_stdout && stdout_is_download {
                // The Download effect records this file as its destination.
                continue;
            }
            let content = if is_stdout && r.op != RedirectOp::ReadWrite {
                stdout_known.clone()
            } else if matches!(r.op, RedirectOp::Write | RedirectOp::Clobber)
                && !fds
                    .values()
                    .any(|t| matches!(t, FdTarget::File { path, .. } if path == a))
            {
                // Opened and then redirected elsewhere: left empty.
                Some(String::new())
            } else {
                None
            };
            effects.push(Effect::WriteFile {
                path: a.clone(),
                content,
                append,
                span,
            });
        }
        effects
    }

    // ----- variables -----

    pub(crate) fn set_var(&mut self, name: &str, value: VarValue) {
        let exported = self.vars.get(name).is_some_and(|v| v.exported);
        self.vars.insert(
            name.to_string(),
            VarState {
                value: Some(value),
                exported,
            },
        );
    }

    pub(crate) fn export_var(&mut self, name: &str, value: Option<VarValue>) {
        let current = self.vars.get(name).and_then(|v| v.value.clone());
        let value = match value {
            Some(v) => Some(v),
            None => current.or_else(|| {
                Some(match (self.caller)(name) {
                    Some(s) => VarValue::Known(s),
                    None => VarValue::Unknown(vec![Unknown::UnsetVariable {
                        name: name.to_string(),
                    }]),
                })
            }),
        };
        self.vars.insert(
            name.to_string(),
            VarState {
                value,
                exported: true,
            },
        );
    }

    pub(crate) fn unset_var(&mut self, name: &str) {
        self.vars.insert(
            name.to_string(),
            VarState {
                value: None,
                exported: false,
            },
        );
    }

    pub(crate) fn set_noglob(&mut self, on: bool) {
        self.noglob = on;
    }

    /// The variables a child process (`sh -c`) sees: the caller's, plus the
    /// ones the script exported. Variables the script set without
    /// exporting are unknown to the child (they may shadow an environment
    /// variable of the same name).
    pub(crate) fn child_env(&self) -> BTreeMap<String, Option<VarValue>> {
        self.vars
            .iter()
            .map(|(n, v)| {
                let value = if v.exported {
                    v.value.clone()
                } else {
                    Some(VarValue::Unknown(vec![Unknown::UnsetVariable {
                        name: n.clone(),
                    }]))
                };
                (n.clone(), value)
            })
            .collect()
    }

    /// Replaces the script-local variables (for a child shell).
    pub(crate) fn set_child_env(&mut self, env: BTreeMap<String, Option<VarValue>>) {
        self.vars = env
            .into_iter()
            .map(|(n, value)| {
                (
                    n,
                    VarState {
                        value,
                        exported: true,
                    },
                )
            })
            .collect();
    }

    pub(crate) fn functions_call(&mut self, name: &str, ctx: &Context) -> Option<Result<(), ()>> {
        let body = self.functions.get(name)?.clone();
        if self.call_depth >= MAX_CALL_DEPTH {
            return Some(Err(()));
        }
        if !self.budget_ok(body.span) {
            return Some(Ok(()));
        }
        self.call_depth += 1;
        let mut c = ctx.clone();
        c.function = Some(name.to_string());
        self.compound(&body, &c);
        self.call_depth -= 1;
        Some(Ok(()))
    }

    /// The value of a variable when it is known.
    pub(crate) fn peek_var(&self, name: &str) -> Option<String> {
        match self.lookup(name) {
            Lookup::Set(s) => Some(s),
            _ => None,
        }
    }

    fn lookup(&self, name: &str) -> Lookup {
        if name.chars().all(|c| c.is_ascii_digit())
            || matches!(name, "@" | "*" | "#" | "?" | "-" | "$" | "!")
        {
            return Lookup::Unknown(vec![Unknown::Parameter {
                name: name.to_string(),
            }]);
        }
        match self.vars.get(name) {
            Some(VarState {
                value: Some(VarValue::Known(s)),
                ..
            }) => Lookup::Set(s.clone()),
            Some(VarState {
                value: Some(VarValue::Unknown(u)),
                ..
            }) => Lookup::Unknown(u.clone()),
            Some(VarState { value: None, .. }) => Lookup::Unset,
            None => match (self.caller)(name) {
                Some(s) => Lookup::Set(s),
                None => Lookup::Unknown(vec![Unknown::UnsetVariable {
                    name: name.to_string(),
                }]),
            },
        }
    }

    // ----- expansion -----

    /// Notes syntax that only bash reads as written (RUN uses /bin/sh, which
    /// is dash on Debian and Ubuntu, unless SHELL says otherwise).
    fn bash_only(&mut self, span: Span, what: &str, under_sh: &str) {
        self.diagnostics.push(ShellDiagnostic {
            severity: Severity::Advice,
            code: "shell::bash-only".into(),
            message: format!("{what} is bash syntax; under /bin/sh (dash) {under_sh}"),
            span,
            help: Some(
                "read as bash; set SHELL [\"/bin/bash\", \"-c\"] if that is what the build uses"
                    .into(),
            ),
        });
    }

    fn expand_redirect(&mut self, r: &Redirect, ctx: &Context) -> ExpandedRedirect {
        match r.op {
            RedirectOp::WriteAll | RedirectOp::AppendAll => self.bash_only(
                r.span,
                "`&>`",
                "the command runs in the background and the file is only truncated",
            ),
            RedirectOp::HereString => self.bash_only(r.span, "`<<<`", "it is a syntax error"),
            _ => {}
        }
        let fd = r.effective_fd();
        let text = self.text(r.span);
        let target = match (&r.op, &r.target) {
            (RedirectOp::HereDoc { .. }, RedirectTarget::HereDoc(h)) => {
                Target::Content(self.expand_value(&h.body, ctx))
            }
            (RedirectOp::HereString, RedirectTarget::Word(w)) => {
                Target::Content(match self.expand_value(w, ctx) {
                    VarValue::Known(s) => VarValue::Known(format!("{s}\n")),
                    u => u,
                })
            }
            (RedirectOp::DupIn | RedirectOp::DupOut, RedirectTarget::Word(w)) => {
                match self.expand_value(w, ctx) {
                    VarValue::Known(s) if s == "-" || s.chars().all(|c| c.is_ascii_digit()) => {
                        Target::Fd(s)
                    }
                    _ => Target::File(self.single_arg(w, ctx)),
                }
            }
            (_, RedirectTarget::Word(w)) => Target::File(self.single_arg(w, ctx)),
            (_, RedirectTarget::HereDoc(h)) => Target::Content(self.expand_value(&h.body, ctx)),
        };
        ExpandedRedirect {
            fd,
            op: r.op,
            target,
            span: r.span,
            text,
        }
    }

    /// A word that must expand to one field (a redirection target).
    fn single_arg(&mut self, w: &Word, ctx: &Context) -> Arg {
        let mut fields = self.expand_fields(w, ctx);
        if fields.len() == 1 {
            fields.pop().unwrap_or_else(|| Arg::literal("", w.span))
        } else {
            let text = self.text(w.span);
            Arg::unknown(
                text.clone(),
                w.span,
                vec![Unknown::Unsupported {
                    text: format!("`{text}` expands to {} words", fields.len()),
                    span: w.span,
                }],
            )
        }
    }

    /// A word expanded without field splitting or pathname expansion (an
    /// assignment value, a here-document body, a case subject).
    pub(crate) fn expand_value(&mut self, w: &Word, ctx: &Context) -> VarValue {
        let mut exp = Expansion::default();
        self.expand_parts(&w.parts, false, true, ctx, &mut exp);
        if exp.unknown.is_empty() {
            VarValue::Known(exp.pieces.into_iter().map(|p| p.text).collect())
        } else {
            VarValue::Unknown(exp.unknown)
        }
    }

    /// A word expanded into fields, as for a command's arguments.
    pub(crate) fn expand_fields(&mut self, w: &Word, ctx: &Context) -> Vec<Arg> {
        let mut exp = Expansion::default();
        self.expand_parts(&w.parts, false, true, ctx, &mut exp);
        let text = self.text(w.span);
        if !exp.unknown.is_empty() {
            return vec![Arg::unknown(text, w.span, exp.unknown)];
        }
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut started = false;
        let mut live_star = false;
        let mut live_bracket = false;
        let noglob = self.noglob;
        let mut finish = |cur: &mut String, star: &mut bool, bracket: &mut bool| {
            let glob = !noglob && (*star || (*bracket && cur.contains(']')));
            fields.push(Arg {
                value: Some(std::mem::take(cur)),
                text: text.clone(),
                span: w.span,
                glob,
                unknown: Vec::new(),
            });
            *star = false;
            *bracket = false;
        };
        for p in &exp.pieces {
            if p.splittable {
                for c in p.text.chars() {
                    if matches!(c, ' ' | '\t' | '\n') {
                        if started {
                            finish(&mut cur, &mut live_star, &mut live_bracket);
                            started = false;
                        }
                    } else {
                        cur.push(c);
                        started = true;
                        live_star |= matches!(c, '*' | '?');
                        live_bracket |= c == '[';
                    }
                }
            } else {
                cur.push_str(&p.text);
                started = true;
                if !p.quoted {
                    live_star |= p.text.contains(['*', '?']);
                    live_bracket |= p.text.contains('[');
                }
            }
        }
        if started {
            finish(&mut cur, &mut live_star, &mut live_bracket);
        }
        fields
    }

    fn expand_pattern(&mut self, w: &Word, ctx: &Context) -> Option<Pattern> {
        let mut exp = Expansion::default();
        self.expand_parts(&w.parts, false, false, ctx, &mut exp);
        if !exp.unknown.is_empty() {
            return None;
        }
        Some(
            exp.pieces
                .iter()
                .flat_map(|p| p.text.chars().map(move |c| (c, p.quoted)))
                .collect(),
        )
    }

    fn expand_parts(
        &mut self,
        parts: &[WordPart],
        quoted: bool,
        tilde: bool,
        ctx: &Context,
        out: &mut Expansion,
    ) {
        for (k, part) in parts.iter().enumerate() {
            match part {
                WordPart::Literal { text, .. } => {
                    if tilde && k == 0 && !quoted && text.starts_with('~') {
                        let end = text.find('/').unwrap_or(text.len());
                        let user = &text[1..end];
                        let home = if user.is_empty() {
                            match self.lookup("HOME") {
                                Lookup::Set(h) => Some(h),
                                _ => None,
                            }
                        } else {
                            None
                        };
                        match home {
                            Some(h) => {
                                out.push(h, true, false);
                                out.push(text[end..].to_string(), quoted, false);
                            }
                            None => out.unknown(vec![Unknown::HomeDirectory {
                                user: (!user.is_empty()).then(|| user.to_string()),
                            }]),
                        }
                    } else {
                        out.push(text.clone(), quoted, false);
                    }
                }
                WordPart::Escaped { ch, .. } => out.push(ch.to_string(), true, false),
                WordPart::SingleQuoted { text, .. } => out.push(text.clone(), true, false),
                WordPart::DoubleQuoted { parts, .. } => {
                    out.push(String::new(), true, false);
                    self.expand_parts(parts, true, false, ctx, out);
                }
                WordPart::Param(pe) => match self.param_value(pe, ctx) {
                    VarValue::Known(s) => out.push(s, quoted, !quoted),
                    VarValue::Unknown(u) => out.unknown(u),
                },
                WordPart::CommandSubst { script, span, .. } => {
                    match self.substitution(script, *span, ctx) {
                        VarValue::Known(s) => out.push(s, quoted, !quoted),
                        VarValue::Unknown(u) => out.unknown(u),
                    }
                }
                WordPart::Arithmetic { text, span } => {
                    if text.contains("$(") || text.contains('`') {
                        self.diagnostics.push(ShellDiagnostic {
                            severity: Severity::Warning,
                            code: "shell::substitution-in-arithmetic".into(),
                            message: "commands inside an arithmetic expansion are not analysed"
                                .into(),
                            span: *span,
                            help: None,
                        });
                    }
                    match eval_arithmetic(text, &|n| match self.lookup(n) {
                        Lookup::Set(s) => Some(s),
                        Lookup::Unset => Some(String::new()),
                        Lookup::Unknown(_) => None,
                    }) {
                        Some(v) => out.push(v.to_string(), quoted, !quoted),
                        None => out.unknown(vec![Unknown::Arithmetic {
                            expression: text.clone(),
                            span: *span,
                        }]),
                    }
                }
                WordPart::Unsupported { text, span } => {
                    let form: String = text.chars().take(2).collect();
                    self.bash_only(
                        *span,
                        &format!("`{form}...`"),
                        "it is a `$` followed by a quoted string",
                    );
                    out.unknown(vec![Unknown::Unsupported {
                        text: text.clone(),
                        span: *span,
                    }]);
                }
            }
        }
    }

    fn param_value(&mut self, pe: &ParamExpansion, ctx: &Context) -> VarValue {
        let base = self.lookup(&pe.name);
        let set_nonempty = |colon: bool, b: &Lookup| match b {
            Lookup::Set(s) => Some(!(colon && s.is_empty())),
            Lookup::Unset => Some(false),
            Lookup::Unknown(_) => None,
        };
        match &pe.op {
            None => match base {
                Lookup::Set(s) => VarValue::Known(s),
                Lookup::Unset => VarValue::Known(String::new()),
                Lookup::Unknown(u) => VarValue::Unknown(u),
            },
            Some(ParamOp::Length) => match base {
                Lookup::Set(s) => VarValue::Known(s.chars().count().to_string()),
                Lookup::Unset => VarValue::Known("0".into()),
                Lookup::Unknown(u) => VarValue::Unknown(u),
            },
            Some(ParamOp::Default { colon, word } | ParamOp::Assign { colon, word }) => {
                match set_nonempty(*colon, &base) {
                    Some(true) => match base {
                        Lookup::Set(s) => VarValue::Known(s),
                        _ => VarValue::Known(String::new()),
                    },
                    Some(false) => {
                        let v = self.expand_value(word, ctx);
                        if matches!(pe.op, Some(ParamOp::Assign { .. })) {
                            self.set_var(&pe.name, v.clone());
                        }
                        v
                    }
                    None => match base {
                        Lookup::Unknown(u) => VarValue::Unknown(u),
                        _ => VarValue::Unknown(Vec::new()),
                    },
                }
            }
            Some(ParamOp::Error { colon, .. }) => match (set_nonempty(*colon, &base), base) {
                (Some(true), Lookup::Set(s)) => VarValue::Known(s),
                (_, Lookup::Unknown(u)) => VarValue::Unknown(u),
                _ => VarValue::Unknown(vec![Unknown::UnsetVariable {
                    name: pe.name.clone(),
                }]),
            },
            Some(ParamOp::Alternative { colon, word }) => match set_nonempty(*colon, &base) {
                Some(true) => self.expand_value(word, ctx),
                Some(false) => VarValue::Known(String::new()),
                None => match base {
                    Lookup::Unknown(u) => VarValue::Unknown(u),
                    _ => VarValue::Unknown(Vec::new()),
                },
            },
            Some(ParamOp::RemovePrefix { longest, pattern })
            | Some(ParamOp::RemoveSuffix { longest, pattern }) => {
                let s = match base {
                    Lookup::Set(s) => s,
                    Lookup::Unset => String::new(),
                    Lookup::Unknown(u) => return VarValue::Unknown(u),
                };
                let Some(pat) = self.expand_pattern(pattern, ctx) else {
                    return VarValue::Unknown(vec![Unknown::Unsupported {
                        text: self.text(pe.span),
                        span: pe.span,
                    }]);
                };
                if s.chars().count() > MAX_PATTERN_SUBJECT {
                    return VarValue::Unknown(vec![Unknown::Unsupported {
                        text: self.text(pe.span),
                        span: pe.span,
                    }]);
                }
                let prefix = matches!(pe.op, Some(ParamOp::RemovePrefix { .. }));
                VarValue::Known(remove_pattern(&s, &pat, prefix, *longest))
            }
            Some(ParamOp::Unsupported { .. }) => {
                self.bash_only(
                    pe.span,
                    "this parameter expansion",
                    "it is a bad substitution",
                );
                VarValue::Unknown(vec![Unknown::Unsupported {
                    text: self.text(pe.span),
                    span: pe.span,
                }])
            }
        }
    }

    /// Analyses a command substitution and returns its output.
    fn substitution(&mut self, script: &Script, span: Span, ctx: &Context) -> VarValue {
        let saved = self.save();
        let mut c = ctx.clone();
        c.substitution = true;
        c.subshell = true;
        c.connector = None;
        c.pipeline = None;
        let out = self.script_output(script, &c);
        self.restore(saved);
        match out {
            Some(Stream::Known(s)) => VarValue::Known(s.trim_end_matches('\n').to_string()),
            _ => {
                let mut command = self.text(script.span).trim().to_string();
                if command.chars().count() > 80 {
                    command = command.chars().take(77).collect::<String>() + "...";
                }
                VarValue::Unknown(vec![Unknown::CommandOutput { command, span }])
            }
        }
    }

    /// Parses and analyses a script given as a string (`sh -c`), as a child
    /// shell. `word` is the argument it came from: when the script is that
    /// argument's text exactly (a single-quoted or plain word), its spans
    /// are mapped into the source; otherwise every span is the argument's.
    pub(crate) fn child_script(
        &mut self,
        script: &str,
        word: &Arg,
        ctx: &Context,
    ) -> Result<(), String> {
        let mut parsed = parse_script(script).map_err(|e| e.kind.to_string())?;
        let raw = self.text(word.span);
        let offset = if raw == script {
            Some(word.span.start)
        } else if raw.len() == script.len() + 2
            && raw.starts_with('\'')
            && raw.ends_with('\'')
            && &raw[1..raw.len() - 1] == script
        {
            Some(word.span.start + 1)
        } else {
            None
        };
        let outer = word.span;
        parsed.map_spans(&mut |s: Span| match offset {
            Some(o) => s.shifted(o),
            None => outer,
        });
        let saved = self.save();
        let env = self.child_env();
        self.set_child_env(env);
        self.functions.clear();
        let mut c = ctx.clone();
        c.subshell = true;
        c.connector = None;
        c.pipeline = None;
        self.script(&parsed, &c);
        self.restore(saved);
        Ok(())
    }
}

enum Lookup {
    Set(String),
    Unset,
    Unknown(Vec<Unknown>),
}

struct Piece {
    text: String,
    quoted: bool,
    splittable: bool,
}

#[derive(Default)]
struct Expansion {
    pieces: Vec<Piece>,
    unknown: Vec<Unknown>,
}

impl Expansion {
    fn push(&mut self, text: String, quoted: bool, splittable: bool) {
        self.pieces.push(Piece {
            text,
            quoted,
            splittable,
        });
    }

    fn unknown(&mut self, why: Vec<Unknown>) {
        for u in why {
            if self.unknown.len() >= MAX_UNKNOWN_REASONS {
                break;
            }
            if !self.unknown.contains(&u) {
                self.unknown.push(u);
            }
        }
        if self.unknown.is_empty() {
            // An unknown with no recorded reason still makes the value
            // unknown.
            self.unknown.push(Unknown::Unsupported {
                text: "a value that is not known".into(),
                span: Span::default(),
            });
        }
    }
}

/// True when a script contains `break`, `continue`, `return` or `exit` as a
/// command name anywhere.
fn contains_loop_exit(s: &Script) -> bool {
    fn script(s: &Script) -> bool {
        s.items.iter().any(|i| {
            std::iter::once(&i.and_or.first)
                .chain(i.and_or.rest.iter().map(|(_, p)| p))
                .flat_map(|p| p.commands.iter())
                .any(node)
        })
    }
    fn node(c: &CommandNode) -> bool {
        match c {
            CommandNode::Simple(s) => matches!(
                s.words.first().and_then(Word::as_plain_literal),
                Some("break" | "continue" | "return" | "exit")
            ),
            CommandNode::Compound(c) => compound(c),
            CommandNode::FunctionDef { .. } => false,
        }
    }
    fn compound(c: &Compound) -> bool {
        match &c.kind {
            CompoundKind::BraceGroup(s) | CompoundKind::Subshell(s) => script(s),
            CompoundKind::If {
                branches,
                else_body,
            } => {
                branches.iter().any(|(a, b)| script(a) || script(b))
                    || else_body.as_ref().is_some_and(script)
            }
            CompoundKind::For { body, .. } => script(body),
            CompoundKind::While { condition, body } | CompoundKind::Until { condition, body } => {
                script(condition) || script(body)
            }
            CompoundKind::Case { arms, .. } => arms.iter().any(|a| script(&a.body)),
        }
    }
    script(s)
}

/// A test command, whose failure is an expected outcome (`[ -f x ] && rm x`).
fn is_test(p: &Pipeline) -> bool {
    p.negated
        || matches!(
            p.commands.as_slice(),
            [CommandNode::Simple(s)] if matches!(
                s.words.first().and_then(Word::as_plain_literal),
                Some("[" | "test" | "[[")
            )
        )
}

/// Removes the shortest or longest prefix or suffix matching `pat`.
fn remove_pattern(s: &str, pat: &Pattern, prefix: bool, longest: bool) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let cut = |k: usize| -> String {
        if prefix {
            chars[k..].iter().collect()
        } else {
            chars[..k].iter().collect()
        }
    };
    if prefix {
        let ks: Box<dyn Iterator<Item = usize>> = if longest {
            Box::new((0..=n).rev())
        } else {
            Box::new(0..=n)
        };
        for k in ks {
            if glob_match(pat, &chars[..k]) {
                return cut(k);
            }
        }
    } else {
        let ks: Box<dyn Iterator<Item = usize>> = if longest {
            Box::new(0..=n)
        } else {
            Box::new((0..=n).rev())
        };
        for k in ks {
            if glob_match(pat, &chars[k..]) {
                return cut(k);
            }
        }
    }
    s.to_string()
}

/// sh pattern matching (`*`, `?`, `[...]` with ranges, `!`/`^` negation and
/// character classes); quoted characters match themselves. Runs in
/// O(pattern × text) time.
pub(crate) fn glob_match(pat: &[(char, bool)], text: &[char]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        let step = match pat.get(p) {
            Some(('*', false)) => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            Some(('?', false)) => Some(p + 1),
            Some(('[', false)) => match match_bracket(pat, p, text[t]) {
                Some((true, next)) => Some(next),
                Some((false, _)) => None,
                None => (text[t] == '[').then_some(p + 1),
            },
            Some((c, _)) => (*c == text[t]).then_some(p + 1),
            None => None,
        };
        match step {
            Some(next) => {
                p = next;
                t += 1;
            }
            None => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    while let Some(('*', false)) = pat.get(p) {
        p += 1;
    }
    p == pat.len()
}

/// Matches `c` against the bracket expression starting at `pat[start]`
/// (`[`): `Some((matched, index after ']'))`, or `None` when there is no
/// closing bracket (the `[` is then literal).
fn match_bracket(pat: &[(char, bool)], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(pat.get(i), Some(('!' | '^', false)));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let (pc, quoted) = *pat.get(i)?;
        if pc == ']' && !quoted && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if pc == '[' && !quoted && matches!(pat.get(i + 1), Some((':', false))) {
            // [:class:]
            let rest: String = pat[i + 2..].iter().map(|(c, _)| *c).collect();
            if let Some(end) = rest.find(":]") {
                let class = &rest[..end];
                matched |= match class {
                    "alpha" => c.is_alphabetic(),
                    "digit" => c.is_ascii_digit(),
                    "alnum" => c.is_alphanumeric(),
                    "upper" => c.is_uppercase(),
                    "lower" => c.is_lowercase(),
                    "space" => c.is_whitespace(),
                    "blank" => c == ' ' || c == '\t',
                    "punct" => c.is_ascii_punctuation(),
                    "xdigit" => c.is_ascii_hexdigit(),
                    "cntrl" => c.is_control(),
                    "print" => !c.is_control(),
                    "graph" => !c.is_control() && c != ' ',
                    _ => false,
                };
                i += 2 + rest[..end].chars().count() + 2;
                continue;
            }
        }
        if matches!(pat.get(i + 1), Some(('-', false)))
            && matches!(pat.get(i + 2), Some((e, q)) if *e != ']' || *q)
        {
            let hi = pat.get(i + 2).map_or(pc, |x| x.0);
            matched |= pc <= c && c <= hi;
            i += 3;
        } else {
            matched |= pc == c;
            i += 1;
        }
    }
}

/// Evaluates the integer arithmetic seen in RUN lines (`+ - * / %`,
/// parentheses, variables), or `None`.
fn eval_arithmetic(text: &str, var: &dyn Fn(&str) -> Option<String>) -> Option<i64> {
    struct P<'t> {
        s: &'t [u8],
        i: usize,
        var: &'t dyn Fn(&str) -> Option<String>,
        depth: usize,
    }
    impl P<'_> {
        fn ws(&mut self) {
            while self.s.get(self.i).is_some_and(|b| b.is_ascii_whitespace()) {
                self.i += 1;
            }
        }
        fn expr(&mut self) -> Option<i64> {
            let mut v = self.term()?;
            loop {
                self.ws();
                match self.s.get(self.i) {
                    Some(b'+') => {
                        self.i += 1;
                        v = v.checked_add(self.term()?)?;
                    }
                    Some(b'-') => {
                        self.i += 1;
                        v = v.checked_sub(self.term()?)?;
                    }
                    _ => return Some(v),
                }
            }
        }
        fn term(&mut self) -> Option<i64> {
            let mut v = self.atom()?;
            loop {
                self.ws();
                match self.s.get(self.i) {
                    Some(b'*') => {
                        self.i += 1;
                        v = v.checked_mul(self.atom()?)?;
                    }
                    Some(b'/') => {
                        self.i += 1;
                        v = v.checked_div(self.atom()?)?;
                    }
                    Some(b'%') => {
                        self.i += 1;
                        v = v.checked_rem(self.atom()?)?;
                    }
                    _ => return Some(v),
                }
            }
        }
        fn atom(&mut self) -> Option<i64> {
            self.ws();
            self.depth += 1;
            if self.depth > 64 {
                return None;
            }
            let r = match *self.s.get(self.i)? {
                b'(' => {
                    self.i += 1;
                    let v = self.expr()?;
                    self.ws();
                    (self.s.get(self.i) == Some(&b')')).then_some(())?;
                    self.i += 1;
                    Some(v)
                }
                b'-' => {
                    self.i += 1;
                    self.atom()?.checked_neg()
                }
                b'+' => {
                    self.i += 1;
                    self.atom()
                }
                b'0'..=b'9' => {
                    let start = self.i;
                    while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                        self.i += 1;
                    }
                    std::str::from_utf8(&self.s[start..self.i])
                        .ok()?
                        .parse()
                        .ok()
                }
                b'$' | b'A'..=b'Z' | b'a'..=b'z' | b'_' => {
                    if self.s.get(self.i) == Some(&b'$') {
                        self.i += 1;
                    }
                    let start = self.i;
                    while self
                        .s
                        .get(self.i)
                        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                    {
                        self.i += 1;
                    }
                    let name = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                    if name.is_empty() {
                        return None;
                    }
                    let v = (self.var)(name)?;
                    let v = v.trim();
                    if v.is_empty() {
                        Some(0)
                    } else {
                        v.parse().ok()
                    }
                }
                _ => None,
            };
            self.depth -= 1;
            r
        }
    }
    let mut p = P {
        s: text.as_bytes(),
        i: 0,
        var,
        depth: 0,
    };
    let v = p.expr()?;
    p.ws();
    (p.i == p.s.len()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> Pattern {
        s.chars().map(|c| (c, false)).collect()
    }

    fn m(p: &str, t: &str) -> bool {
        glob_match(&pat(p), &t.chars().collect::<Vec<_>>())
    }

    #[test]
    fn glob_matching() {
        assert!(m("*", ""));
        assert!(m("x86_64|aarch64", "x86_64|aarch64"));
        assert!(m("amd64", "amd64"));
        assert!(!m("amd64", "arm64"));
        assert!(m("*-*", "linux-amd64"));
        assert!(m("[a-z]*", "rc1"));
        assert!(!m("[a-z]*", "3.11"));
        assert!(m("[!0-9]*", "a1"));
        assert!(m("a?c", "abc"));
        assert!(m("[[:digit:]]x", "7x"));
        assert!(m("[", "["));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("a*b*c", "aXXbYYc"));
    }

    #[test]
    fn pattern_removal() {
        assert_eq!(
            remove_pattern("3.11.12", &pat("[a-z]*"), false, true),
            "3.11.12"
        );
        assert_eq!(
            remove_pattern("3.12.0rc1", &pat("[a-z]*"), false, true),
            "3.12.0"
        );
        assert_eq!(
            remove_pattern("linux-amd64", &pat("*-"), true, true),
            "amd64"
        );
        assert_eq!(remove_pattern("a/b/c", &pat("*/"), true, false), "b/c");
        assert_eq!(remove_pattern("a/b/c", &pat("/*"), false, false), "a/b");
        assert_eq!(remove_pattern("a/b/c", &pat("/*"), false, true), "a");
    }

    #[test]
    fn arithmetic() {
        let none = |_: &str| None;
        assert_eq!(eval_arithmetic("1 + 2 * 3", &none), Some(7));
        assert_eq!(eval_arithmetic("(1 + 2) * 3", &none), Some(9));
        assert_eq!(
            eval_arithmetic("x + 1", &|_: &str| Some("4".into())),
            Some(5)
        );
        assert_eq!(eval_arithmetic("$(nproc) + 1", &none), None);
        assert_eq!(eval_arithmetic("1 / 0", &none), None);
        assert_eq!(eval_arithmetic("x++", &|_: &str| Some("1".into())), None);
    }

    #[test]
    fn paths() {
        assert_eq!(normalize_path("/a/./b/../c//d/"), "/a/c/d");
        assert_eq!(normalize_path("../x"), "../x");
        assert_eq!(normalize_path("/.."), "/");
        assert_eq!(
            Cwd::Workdir.join("src").join("../lib"),
            Cwd::WorkdirRelative("lib".into())
        );
        assert_eq!(
            Cwd::Absolute("/usr/src".into()).resolve("/app", "x.tar"),
            Some("/usr/src/x.tar".into())
        );
        assert_eq!(Cwd::Unknown.resolve("/app", "x"), None);
        assert_eq!(Cwd::Unknown.resolve("/app", "/x"), Some("/x".into()));
    }
}
