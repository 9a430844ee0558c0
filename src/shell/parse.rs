//! A `nom` parser for the POSIX-sh subset of RUN lines (`grammar/shell.ebnf`).
//!
//! The parser is recursive descent over `&str` suffixes: every parse
//! function takes the rest of the input and returns the rest after what it
//! consumed, so the byte offset of any position is `text.len() - rest.len()`.
//! Choices are made by looking at the next characters (never by trying a
//! branch and backtracking over a nested construct), so the time is linear in
//! the input, and nesting is bounded by [`MAX_DEPTH`], so deep input cannot
//! exhaust the stack.
//!
//! Choices where POSIX is silent or shells differ:
//! - `\<newline>` is removed wherever sh removes it (between tokens, inside
//!   unquoted words, inside double quotes and unquoted here-documents) but
//!   not inside an operator (`&\<newline>&`) or a reserved word, which no
//!   RUN line writes.
//! - `\r\n` is accepted as a newline (Dockerfiles written on Windows).
//! - bash forms that RUN lines under `SHELL ["/bin/bash", ...]` use are
//!   parsed: `[[ ... ]]`, `&>`, `&>>`, `<<<`, `|&`, `function f { }`. The
//!   analysis notes when a form means something else under dash.
//! - `$'...'` and `$"..."` differ between bash and dash; they parse as
//!   [`WordPart::Unsupported`] (unknown value).
//! - A here-document that is not closed by its delimiter is an error (bash
//!   only warns), so a truncated script is never read as complete.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;

use nom::IResult;
use nom::bytes::complete::{tag, take_while};
use serde::Serialize;

use super::ast::*;
use crate::source::Span;

/// How deeply compound commands, substitutions and parameter expansions may
/// nest. Real RUN lines nest a handful of levels.
pub const MAX_DEPTH: usize = 64;

/// A syntax error with the span it is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{kind}")]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub span: Span,
}

impl miette::Diagnostic for ParseError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.kind.code()))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ParseErrorKind {
    UnterminatedSingleQuote,
    UnterminatedDoubleQuote,
    UnterminatedBacktick,
    UnterminatedCommandSubstitution,
    UnterminatedParameterExpansion,
    UnterminatedAnsiCQuote,
    UnterminatedDoubleBracket,
    /// `${...}` with no valid parameter name or operator.
    BadSubstitution,
    UnterminatedHereDoc {
        delimiter: String,
    },
    MissingHereDocDelimiter,
    MissingRedirectTarget {
        op: String,
    },
    /// A command was required here (after `&&`, `|`, at the start of a list).
    ExpectedCommand {
        found: String,
    },
    /// A specific token was required (`then`, `do`, `fi`, `)`, ...).
    Expected {
        expected: String,
        found: String,
    },
    Unexpected {
        found: String,
    },
    Unsupported {
        construct: String,
    },
    NestingTooDeep {
        limit: usize,
    },
}

impl ParseErrorKind {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ParseErrorKind::UnterminatedSingleQuote => "shell::unterminated-single-quote",
            ParseErrorKind::UnterminatedDoubleQuote => "shell::unterminated-double-quote",
            ParseErrorKind::UnterminatedBacktick => "shell::unterminated-backtick",
            ParseErrorKind::UnterminatedCommandSubstitution => {
                "shell::unterminated-command-substitution"
            }
            ParseErrorKind::UnterminatedParameterExpansion => {
                "shell::unterminated-parameter-expansion"
            }
            ParseErrorKind::UnterminatedAnsiCQuote => "shell::unterminated-ansi-c-quote",
            ParseErrorKind::UnterminatedDoubleBracket => "shell::unterminated-double-bracket",
            ParseErrorKind::BadSubstitution => "shell::bad-substitution",
            ParseErrorKind::UnterminatedHereDoc { .. } => "shell::unterminated-heredoc",
            ParseErrorKind::MissingHereDocDelimiter => "shell::missing-heredoc-delimiter",
            ParseErrorKind::MissingRedirectTarget { .. } => "shell::missing-redirect-target",
            ParseErrorKind::ExpectedCommand { .. } => "shell::expected-command",
            ParseErrorKind::Expected { .. } => "shell::expected-token",
            ParseErrorKind::Unexpected { .. } => "shell::unexpected-token",
            ParseErrorKind::Unsupported { .. } => "shell::unsupported-syntax",
            ParseErrorKind::NestingTooDeep { .. } => "shell::nesting-too-deep",
        }
    }
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::UnterminatedSingleQuote => write!(f, "unterminated single quote"),
            ParseErrorKind::UnterminatedDoubleQuote => write!(f, "unterminated double quote"),
            ParseErrorKind::UnterminatedBacktick => {
                write!(f, "unterminated backtick command substitution")
            }
            ParseErrorKind::UnterminatedCommandSubstitution => {
                write!(f, "unterminated command substitution `$(`")
            }
            ParseErrorKind::UnterminatedParameterExpansion => {
                write!(f, "unterminated parameter expansion `${{`")
            }
            ParseErrorKind::UnterminatedAnsiCQuote => write!(f, "unterminated `$'` quote"),
            ParseErrorKind::UnterminatedDoubleBracket => write!(f, "`[[` without `]]`"),
            ParseErrorKind::BadSubstitution => write!(f, "bad parameter substitution"),
            ParseErrorKind::UnterminatedHereDoc { delimiter } => {
                write!(f, "here-document is not closed by a `{delimiter}` line")
            }
            ParseErrorKind::MissingHereDocDelimiter => {
                write!(f, "`<<` needs a here-document delimiter")
            }
            ParseErrorKind::MissingRedirectTarget { op } => {
                write!(f, "`{op}` needs a file name or descriptor")
            }
            ParseErrorKind::ExpectedCommand { found } => {
                write!(f, "expected a command, found {found}")
            }
            ParseErrorKind::Expected { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            ParseErrorKind::Unexpected { found } => write!(f, "unexpected {found}"),
            ParseErrorKind::Unsupported { construct } => {
                write!(f, "{construct} is not supported")
            }
            ParseErrorKind::NestingTooDeep { limit } => {
                write!(f, "commands nest more than {limit} levels deep")
            }
        }
    }
}

/// Parses a script (the text of a shell-form RUN, a `RUN <<EOF` body, the
/// argument of `sh -c`).
pub fn parse_script(text: &str) -> Result<Script, ParseError> {
    parse_with_depth(text, 0)
}

fn parse_with_depth(text: &str, depth: usize) -> Result<Script, ParseError> {
    let parser = Parser::new(text, depth);
    let script = match parser.script(text) {
        Ok((_, script)) => script,
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => return Err(parser.to_error(e)),
        Err(nom::Err::Incomplete(_)) => {
            return Err(ParseError {
                kind: ParseErrorKind::Unexpected {
                    found: "end of input".into(),
                },
                span: Span::new(text.len(), text.len()),
            });
        }
    };
    let mut script = script;
    let mut bodies = parser.bodies.into_inner();
    attach_heredocs(&mut script, &mut bodies);
    Ok(script)
}

/// The parser's error: where (as the length of the rest of the input, which
/// is all a nom error constructor knows) and, for the errors this parser
/// raises itself, what and which span.
#[derive(Debug)]
struct PErr {
    rest_len: usize,
    kind: Option<ParseErrorKind>,
    span: Option<Span>,
}

impl<'a> nom::error::ParseError<&'a str> for PErr {
    fn from_error_kind(input: &'a str, _kind: nom::error::ErrorKind) -> Self {
        PErr {
            rest_len: input.len(),
            kind: None,
            span: None,
        }
    }

    fn append(_input: &'a str, _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

type PResult<'a, T> = IResult<&'a str, T, PErr>;

struct Pending {
    /// Start of the redirection, the key its body is stored under.
    key: usize,
    delimiter: String,
    quoted: bool,
    strip_tabs: bool,
    span: Span,
}

struct Parser<'s> {
    src: &'s str,
    depth: Cell<usize>,
    pending: RefCell<Vec<Pending>>,
    bodies: RefCell<BTreeMap<usize, HereDoc>>,
}

const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for", "{",
    "}", "!", "function",
];

/// Reserved words that end a list (the caller expects one of them).
const LIST_CLOSERS: &[&str] = &["then", "else", "elif", "fi", "do", "done", "esac", "}"];

fn is_meta(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>'
    )
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// True when `s` is a valid sh variable name.
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if is_name_start(c)) && chars.all(is_name_char)
}

fn starts_newline(i: &str) -> bool {
    i.starts_with('\n') || i.starts_with("\r\n")
}

/// The operator or word at the start of `i`, for messages.
fn describe(i: &str) -> String {
    if i.is_empty() {
        return "end of input".into();
    }
    if starts_newline(i) {
        return "newline".into();
    }
    for op in [
        ";;&", ";;", ";&", "&&", "||", "<<-", "<<", ">>", "&>", ";", "&", "|", "(", ")", "<", ">",
    ] {
        if i.starts_with(op) {
            return format!("`{op}`");
        }
    }
    let word: String = i
        .chars()
        .take_while(|&c| !is_meta(c) && c != '\r')
        .take(24)
        .collect();
    format!("`{word}`")
}

/// The length of the operator or word at the start of `i` (at least one byte
/// unless `i` is empty), for error spans.
fn token_len(i: &str) -> usize {
    if i.is_empty() {
        return 0;
    }
    if i.starts_with("\r\n") {
        return 2;
    }
    for op in [";;&", ";;", ";&", "&&", "||", "<<-", "<<", ">>", "&>"] {
        if i.starts_with(op) {
            return op.len();
        }
    }
    let n = i.find(|c: char| is_meta(c) || c == '\r').unwrap_or(i.len());
    if n == 0 {
        i.chars().next().map_or(1, char::len_utf8)
    } else {
        n
    }
}

/// `token` at the start of `i` as a whole token (followed by a blank, an
/// operator, a newline or the end); the rest after it.
fn strip_token<'a>(i: &'a str, token: &str) -> Option<&'a str> {
    i.strip_prefix(token)
        .filter(|r| r.is_empty() || r.starts_with(|c: char| is_meta(c)) || starts_newline(r))
}

/// Removes quotes and backslashes from a here-document delimiter word, as sh
/// does (`'EOF'`, `"EOF"`, `\EOF`, `E"O"F` all mean `EOF`).
fn quote_removed(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '\'' => {
                for n in chars.by_ref() {
                    if n == '\'' {
                        break;
                    }
                    out.push(n);
                }
            }
            '"' => {
                while let Some(n) = chars.next() {
                    match n {
                        '"' => break,
                        '\\' => {
                            if let Some(m) = chars.next() {
                                if !matches!(m, '$' | '`' | '"' | '\\') {
                                    out.push('\\');
                                }
                                out.push(m);
                            }
                        }
                        _ => out.push(n),
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

struct DepthGuard<'p> {
    depth: &'p Cell<usize>,
}

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        self.depth.set(self.depth.get().saturating_sub(1));
    }
}

impl<'s> Parser<'s> {
    fn new(src: &'s str, depth: usize) -> Self {
        Parser {
            src,
            depth: Cell::new(depth),
            pending: RefCell::new(Vec::new()),
            bodies: RefCell::new(BTreeMap::new()),
        }
    }

    fn off(&self, i: &str) -> usize {
        self.src.len().saturating_sub(i.len())
    }

    fn span(&self, start: usize, i: &str) -> Span {
        Span::new(start, self.off(i))
    }

    fn to_error(&self, e: PErr) -> ParseError {
        let at = self.src.len().saturating_sub(e.rest_len);
        let span = e
            .span
            .unwrap_or_else(|| Span::new(at, (at + 1).min(self.src.len()).max(at)));
        let kind = e.kind.unwrap_or_else(|| ParseErrorKind::Unexpected {
            found: describe(self.src.get(at..).unwrap_or("")),
        });
        ParseError { kind, span }
    }

    fn fail<T>(&self, i: &str, kind: ParseErrorKind, span: Span) -> PResult<'s, T> {
        Err(nom::Err::Failure(PErr {
            rest_len: i.len(),
            kind: Some(kind),
            span: Some(span),
        }))
    }

    /// A failure about the token at `i`.
    fn fail_here<T>(&self, i: &str, kind: ParseErrorKind) -> PResult<'s, T> {
        let start = self.off(i);
        let end = (start + token_len(i)).min(self.src.len());
        self.fail(i, kind, Span::new(start, end))
    }

    fn enter(&self, i: &str) -> Result<DepthGuard<'_>, nom::Err<PErr>> {
        let d = self.depth.get() + 1;
        if d > MAX_DEPTH {
            let start = self.off(i);
            return Err(nom::Err::Failure(PErr {
                rest_len: i.len(),
                kind: Some(ParseErrorKind::NestingTooDeep { limit: MAX_DEPTH }),
                span: Some(Span::new(start, (start + 1).min(self.src.len()))),
            }));
        }
        self.depth.set(d);
        Ok(DepthGuard { depth: &self.depth })
    }

    // ----- blanks, comments, newlines -----

    /// Skips spaces, tabs and line continuations.
    fn blanks(&self, mut i: &'s str) -> &'s str {
        loop {
            let (rest, _) =
                take_while::<_, _, PErr>(|c| c == ' ' || c == '\t')(i).unwrap_or((i, ""));
            i = rest;
            if let Some(r) = i.strip_prefix("\\\n") {
                i = r;
            } else if let Some(r) = i.strip_prefix("\\\r\n") {
                i = r;
            } else {
                return i;
            }
        }
    }

    /// Skips a comment (up to, not including, the newline).
    fn comment(&self, i: &'s str) -> &'s str {
        if i.starts_with('#') {
            let end = i.find('\n').unwrap_or(i.len());
            let end = if end > 0 && i.as_bytes().get(end - 1) == Some(&b'\r') {
                end - 1
            } else {
                end
            };
            &i[end..]
        } else {
            i
        }
    }

    /// Consumes one newline, then the bodies of the here-documents that
    /// were started on the line it ends.
    fn newline(&self, i: &'s str) -> PResult<'s, ()> {
        let rest = if let Ok((r, _)) = tag::<_, _, PErr>("\n")(i) {
            r
        } else if let Ok((r, _)) = tag::<_, _, PErr>("\r\n")(i) {
            r
        } else {
            return Err(nom::Err::Error(PErr {
                rest_len: i.len(),
                kind: None,
                span: None,
            }));
        };
        let rest = self.heredoc_bodies(rest)?;
        Ok((rest, ()))
    }

    /// Skips blanks, comments and newlines (POSIX `linebreak`).
    fn linebreak(&self, mut i: &'s str) -> PResult<'s, ()> {
        loop {
            i = self.comment(self.blanks(i));
            match self.newline(i) {
                Ok((r, ())) => i = r,
                Err(nom::Err::Error(_)) => return Ok((i, ())),
                Err(e) => return Err(e),
            }
        }
    }

    /// The reserved word at `i`, if the next token is one.
    fn peek_reserved(&self, i: &'s str) -> Option<(&'static str, &'s str)> {
        let end = i
            .find(|c: char| is_meta(c) || matches!(c, '\\' | '\'' | '"' | '$' | '`' | '\r'))
            .unwrap_or(i.len());
        let (word, rest) = i.split_at(end);
        let delimited = rest.is_empty()
            || rest.starts_with(|c: char| is_meta(c))
            || starts_newline(rest)
            || rest.starts_with("\r\n");
        if !delimited || word.is_empty() {
            return None;
        }
        RESERVED.iter().find(|r| **r == word).map(|r| (*r, rest))
    }

    fn expect_reserved(&self, i: &'s str, word: &'static str) -> PResult<'s, Span> {
        let i = self.blanks(i);
        match self.peek_reserved(i) {
            Some((w, rest)) if w == word => {
                let start = self.off(i);
                Ok((rest, self.span(start, rest)))
            }
            _ => self.fail_here(
                i,
                ParseErrorKind::Expected {
                    expected: format!("`{word}`"),
                    found: describe(i),
                },
            ),
        }
    }

    // ----- lists -----

    fn script(&self, i: &'s str) -> PResult<'s, Script> {
        let (i, script) = self.compound_list(i)?;
        let (i, ()) = self.linebreak(i)?;
        if !i.is_empty() {
            return self.fail_here(i, ParseErrorKind::Unexpected { found: describe(i) });
        }
        if let Some(p) = self.pending.borrow().first() {
            return self.fail(
                i,
                ParseErrorKind::UnterminatedHereDoc {
                    delimiter: p.delimiter.clone(),
                },
                p.span,
            );
        }
        Ok((i, script))
    }

    fn at_list_end(&self, i: &'s str) -> bool {
        i.is_empty()
            || i.starts_with(')')
            || i.starts_with(";;")
            || i.starts_with(";&")
            || matches!(self.peek_reserved(i), Some((w, _)) if LIST_CLOSERS.contains(&w))
    }

    /// A list of and-or lists separated by `;`, `&` or newlines; stops before
    /// a token that closes the enclosing construct.
    fn compound_list(&self, i: &'s str) -> PResult<'s, Script> {
        let (mut i, ()) = self.linebreak(i)?;
        let start = self.off(i);
        let mut items = Vec::new();
        loop {
            let j = self.blanks(i);
            if self.at_list_end(j) {
                i = j;
                break;
            }
            let item_start = self.off(j);
            let (j, and_or) = self.and_or(j)?;
            let k = self.blanks(j);
            let (k, background, separated) = if k.starts_with('&') && !k.starts_with("&&") {
                (&k[1..], true, true)
            } else if k.starts_with(';') && !k.starts_with(";;") && !k.starts_with(";&") {
                (&k[1..], false, true)
            } else if starts_newline(k) || k.starts_with('#') {
                (k, false, true)
            } else {
                (k, false, false)
            };
            let item_span = self.span(item_start, if background { k } else { j });
            items.push(ListItem {
                and_or,
                background,
                span: item_span,
            });
            if !separated {
                i = k;
                break;
            }
            let (k, ()) = self.linebreak(k)?;
            i = k;
        }
        let end = items.last().map_or(start, |it| it.span.end);
        Ok((
            i,
            Script {
                items,
                span: Span::new(start, end),
            },
        ))
    }

    /// A list that must hold at least one command (the body or condition
    /// of a compound command: sh rejects `{ }`, `then fi`, `do done`).
    fn nonempty_list(&self, i: &'s str) -> PResult<'s, Script> {
        let (r, script) = self.compound_list(i)?;
        if script.items.is_empty() {
            let at = self.blanks(r);
            return self.fail_here(
                at,
                ParseErrorKind::Unexpected {
                    found: describe(at),
                },
            );
        }
        Ok((r, script))
    }

    fn and_or(&self, i: &'s str) -> PResult<'s, AndOr> {
        let start = self.off(i);
        let (mut i, first) = self.pipeline(i)?;
        let mut rest = Vec::new();
        loop {
            let j = self.blanks(i);
            let op = if j.starts_with("&&") {
                Connector::And
            } else if j.starts_with("||") {
                Connector::Or
            } else {
                break;
            };
            let (j, ()) = self.linebreak(&j[2..])?;
            let (j, p) = self.pipeline(j)?;
            rest.push((op, p));
            i = j;
        }
        let end = rest.last().map_or(first.span.end, |(_, p)| p.span.end);
        Ok((
            i,
            AndOr {
                first,
                rest,
                span: Span::new(start, end),
            },
        ))
    }

    fn pipeline(&self, i: &'s str) -> PResult<'s, Pipeline> {
        let i = self.blanks(i);
        let start = self.off(i);
        let (i, negated) = match self.peek_reserved(i) {
            Some(("!", rest)) => (self.blanks(rest), true),
            _ => (i, false),
        };
        let (mut i, first) = self.command(i)?;
        let mut commands = vec![first];
        loop {
            let j = self.blanks(i);
            if !j.starts_with('|') || j.starts_with("||") {
                break;
            }
            let j = j[1..].strip_prefix('&').unwrap_or(&j[1..]);
            let (j, ()) = self.linebreak(j)?;
            let (j, c) = self.command(j)?;
            commands.push(c);
            i = j;
        }
        let end = commands.last().map_or(start, |c| c.span().end);
        Ok((
            i,
            Pipeline {
                negated,
                commands,
                span: Span::new(start, end),
            },
        ))
    }

    fn command(&self, i: &'s str) -> PResult<'s, CommandNode> {
        let i = self.blanks(i);
        if i.is_empty()
            || starts_newline(i)
            || i.starts_with([';', '&', '|', ')'])
            || i.starts_with('#')
        {
            return self.fail_here(i, ParseErrorKind::ExpectedCommand { found: describe(i) });
        }
        if i.starts_with('(') {
            let (i, c) = self.compound(i)?;
            return Ok((i, CommandNode::Compound(c)));
        }
        match self.peek_reserved(i) {
            Some(("{" | "if" | "for" | "while" | "until" | "case", _)) => {
                let (i, c) = self.compound(i)?;
                Ok((i, CommandNode::Compound(c)))
            }
            Some(("function", rest)) => self.function_keyword(i, rest),
            Some((w, _)) if w != "!" => self.fail_here(
                i,
                ParseErrorKind::Unexpected {
                    found: format!("`{w}`"),
                },
            ),
            Some(_) => self.fail_here(i, ParseErrorKind::Unexpected { found: describe(i) }),
            None => {
                if let Some(r) = self.function_def(i)? {
                    return Ok(r);
                }
                let (i, s) = self.simple_command(i)?;
                Ok((i, CommandNode::Simple(s)))
            }
        }
    }

    /// `name ( ) compound-command`, when the input has that shape.
    fn function_def(&self, i: &'s str) -> Result<Option<(&'s str, CommandNode)>, nom::Err<PErr>> {
        let start = self.off(i);
        let end = i
            .find(|c: char| is_meta(c) || matches!(c, '\\' | '\'' | '"' | '$' | '`' | '\r'))
            .unwrap_or(i.len());
        let name = &i[..end];
        if !is_name(name) {
            return Ok(None);
        }
        let rest = self.blanks(&i[end..]);
        let Some(rest) = rest.strip_prefix('(') else {
            return Ok(None);
        };
        let rest = self.blanks(rest);
        let Some(rest) = rest.strip_prefix(')') else {
            return self
                .fail_here(
                    rest,
                    ParseErrorKind::Expected {
                        expected: "`)` after a function name".into(),
                        found: describe(rest),
                    },
                )
                .map(|_: (&str, ())| None);
        };
        let (rest, body) = self.function_body(rest)?;
        Ok(Some((
            rest,
            CommandNode::FunctionDef {
                name: name.to_string(),
                body: Box::new(body),
                span: self.span(start, rest),
            },
        )))
    }

    /// bash `function name [()] compound-command`.
    fn function_keyword(&self, i: &'s str, rest: &'s str) -> PResult<'s, CommandNode> {
        let start = self.off(i);
        let rest = self.blanks(rest);
        let end = rest
            .find(|c: char| is_meta(c) || matches!(c, '\\' | '\'' | '"' | '$' | '`' | '\r'))
            .unwrap_or(rest.len());
        let name = &rest[..end];
        if name.is_empty() {
            return self.fail_here(
                rest,
                ParseErrorKind::Expected {
                    expected: "a function name".into(),
                    found: describe(rest),
                },
            );
        }
        let mut r = self.blanks(&rest[end..]);
        if let Some(x) = r.strip_prefix('(') {
            let x = self.blanks(x);
            match x.strip_prefix(')') {
                Some(x) => r = x,
                None => {
                    return self.fail_here(
                        x,
                        ParseErrorKind::Expected {
                            expected: "`)`".into(),
                            found: describe(x),
                        },
                    );
                }
            }
        }
        let (r, body) = self.function_body(r)?;
        Ok((
            r,
            CommandNode::FunctionDef {
                name: name.to_string(),
                body: Box::new(body),
                span: self.span(start, r),
            },
        ))
    }

    fn function_body(&self, i: &'s str) -> PResult<'s, Compound> {
        let (i, ()) = self.linebreak(i)?;
        let is_compound = i.starts_with('(')
            || matches!(
                self.peek_reserved(i),
                Some(("{" | "if" | "for" | "while" | "until" | "case", _))
            );
        if !is_compound {
            return self.fail_here(
                i,
                ParseErrorKind::Expected {
                    expected: "a compound command as the function body".into(),
                    found: describe(i),
                },
            );
        }
        self.compound(i)
    }

    // ----- compound commands -----

    fn compound(&self, i: &'s str) -> PResult<'s, Compound> {
        let _guard = self.enter(i)?;
        let start = self.off(i);
        let (i, kind) = if let Some(rest) = i.strip_prefix('(') {
            let (rest, body) = self.nonempty_list(rest)?;
            let (rest, ()) = self.linebreak(rest)?;
            match rest.strip_prefix(')') {
                Some(r) => (r, CompoundKind::Subshell(body)),
                None => {
                    return self.fail_here(
                        rest,
                        ParseErrorKind::Expected {
                            expected: "`)` closing the subshell".into(),
                            found: describe(rest),
                        },
                    );
                }
            }
        } else {
            match self.peek_reserved(i) {
                Some(("{", rest)) => {
                    let (rest, body) = self.nonempty_list(rest)?;
                    let (rest, _) = self.expect_reserved(rest, "}")?;
                    (rest, CompoundKind::BraceGroup(body))
                }
                Some(("if", rest)) => self.if_clause(rest)?,
                Some(("for", rest)) => self.for_clause(rest)?,
                Some(("while", rest)) => {
                    let (rest, condition) = self.nonempty_list(rest)?;
                    let (rest, body) = self.do_group(rest)?;
                    (rest, CompoundKind::While { condition, body })
                }
                Some(("until", rest)) => {
                    let (rest, condition) = self.nonempty_list(rest)?;
                    let (rest, body) = self.do_group(rest)?;
                    (rest, CompoundKind::Until { condition, body })
                }
                Some(("case", rest)) => self.case_clause(rest)?,
                _ => {
                    return self
                        .fail_here(i, ParseErrorKind::ExpectedCommand { found: describe(i) });
                }
            }
        };
        let (i, redirects) = self.trailing_redirects(i)?;
        Ok((
            i,
            Compound {
                kind,
                redirects,
                span: self.span(start, i),
            },
        ))
    }

    fn trailing_redirects(&self, mut i: &'s str) -> PResult<'s, Vec<Redirect>> {
        let mut redirects = Vec::new();
        loop {
            let j = self.blanks(i);
            match self.redirect(j)? {
                Some((k, r)) => {
                    redirects.push(r);
                    i = k;
                }
                None => return Ok((i, redirects)),
            }
        }
    }

    fn if_clause(&self, i: &'s str) -> PResult<'s, CompoundKind> {
        let mut branches = Vec::new();
        let (i, cond) = self.nonempty_list(i)?;
        let (i, _) = self.expect_reserved(i, "then")?;
        let (mut i, body) = self.nonempty_list(i)?;
        branches.push((cond, body));
        let mut else_body = None;
        loop {
            let j = self.blanks(i);
            match self.peek_reserved(j) {
                Some(("elif", rest)) => {
                    let (rest, cond) = self.nonempty_list(rest)?;
                    let (rest, _) = self.expect_reserved(rest, "then")?;
                    let (rest, body) = self.nonempty_list(rest)?;
                    branches.push((cond, body));
                    i = rest;
                }
                Some(("else", rest)) => {
                    let (rest, body) = self.nonempty_list(rest)?;
                    else_body = Some(body);
                    i = rest;
                    break;
                }
                _ => break,
            }
        }
        let (i, _) = self.expect_reserved(i, "fi")?;
        Ok((
            i,
            CompoundKind::If {
                branches,
                else_body,
            },
        ))
    }

    fn do_group(&self, i: &'s str) -> PResult<'s, Script> {
        let (i, ()) = self.linebreak(i)?;
        let (i, _) = self.expect_reserved(i, "do")?;
        let (i, body) = self.nonempty_list(i)?;
        let (i, _) = self.expect_reserved(i, "done")?;
        Ok((i, body))
    }

    fn for_clause(&self, i: &'s str) -> PResult<'s, CompoundKind> {
        let i = self.blanks(i);
        if i.starts_with("((") {
            return self.fail_here(
                i,
                ParseErrorKind::Unsupported {
                    construct: "the C-style `for ((...))` loop".into(),
                },
            );
        }
        let end = i
            .find(|c: char| is_meta(c) || matches!(c, '\\' | '\'' | '"' | '$' | '`' | '\r'))
            .unwrap_or(i.len());
        let var = &i[..end];
        if !is_name(var) {
            return self.fail_here(
                i,
                ParseErrorKind::Expected {
                    expected: "a variable name after `for`".into(),
                    found: describe(i),
                },
            );
        }
        let (after_lb, ()) = self.linebreak(&i[end..])?;
        let mut j = after_lb;
        let mut word_list = None;
        // `in` is only reserved here, so it is checked for as a plain token.
        if let Some(rest) = strip_token(after_lb, "in") {
            let mut words = Vec::new();
            let mut k = rest;
            loop {
                k = self.blanks(k);
                if k.is_empty() || starts_newline(k) || k.starts_with(';') || k.starts_with('#') {
                    break;
                }
                if k.starts_with(|c: char| is_meta(c)) {
                    return self.fail_here(k, ParseErrorKind::Unexpected { found: describe(k) });
                }
                let (r, w) = self.word(k)?;
                words.push(w);
                k = r;
            }
            word_list = Some(words);
            j = k;
        }
        let j = self.comment(self.blanks(j));
        let j = j.strip_prefix(';').unwrap_or(j);
        let (j, body) = self.do_group(j)?;
        Ok((
            j,
            CompoundKind::For {
                var: var.to_string(),
                words: word_list,
                body,
            },
        ))
    }

    fn case_clause(&self, i: &'s str) -> PResult<'s, CompoundKind> {
        let i = self.blanks(i);
        if i.is_empty() || i.starts_with(|c: char| is_meta(c)) {
            return self.fail_here(
                i,
                ParseErrorKind::Expected {
                    expected: "a word after `case`".into(),
                    found: describe(i),
                },
            );
        }
        let (i, subject) = self.word(i)?;
        let (i, ()) = self.linebreak(i)?;
        let i = self.blanks(i);
        let Some(mut i) = strip_token(i, "in") else {
            return self.fail_here(
                i,
                ParseErrorKind::Expected {
                    expected: "`in`".into(),
                    found: describe(i),
                },
            );
        };
        let mut arms = Vec::new();
        loop {
            let (j, ()) = self.linebreak(i)?;
            let j = self.blanks(j);
            if let Some(("esac", rest)) = self.peek_reserved(j) {
                i = rest;
                break;
            }
            let arm_start = self.off(j);
            let mut j = j.strip_prefix('(').map(|r| self.blanks(r)).unwrap_or(j);
            let mut patterns = Vec::new();
            loop {
                if j.is_empty() || j.starts_with(|c: char| is_meta(c)) || starts_newline(j) {
                    return self.fail_here(
                        j,
                        ParseErrorKind::Expected {
                            expected: "a case pattern".into(),
                            found: describe(j),
                        },
                    );
                }
                let (k, w) = self.word(j)?;
                patterns.push(w);
                let k = self.blanks(k);
                if let Some(r) = k.strip_prefix('|') {
                    j = self.blanks(r);
                    continue;
                }
                match k.strip_prefix(')') {
                    Some(r) => {
                        j = r;
                        break;
                    }
                    None => {
                        return self.fail_here(
                            k,
                            ParseErrorKind::Expected {
                                expected: "`)` after the case pattern".into(),
                                found: describe(k),
                            },
                        );
                    }
                }
            }
            let (j, body) = self.compound_list(j)?;
            let j = self.blanks(j);
            let (j, terminated) = if let Some(r) = j.strip_prefix(";;&") {
                (r, true)
            } else if let Some(r) = j.strip_prefix(";;") {
                (r, true)
            } else if let Some(r) = j.strip_prefix(";&") {
                (r, true)
            } else {
                (j, false)
            };
            arms.push(CaseArm {
                patterns,
                body,
                span: self.span(arm_start, j),
            });
            i = j;
            if !terminated {
                let (j, ()) = self.linebreak(i)?;
                let j = self.blanks(j);
                match self.peek_reserved(j) {
                    Some(("esac", rest)) => {
                        i = rest;
                        break;
                    }
                    _ => {
                        return self.fail_here(
                            j,
                            ParseErrorKind::Expected {
                                expected: "`;;` or `esac`".into(),
                                found: describe(j),
                            },
                        );
                    }
                }
            }
        }
        Ok((i, CompoundKind::Case { subject, arms }))
    }

    // ----- simple commands -----

    fn simple_command(&self, i: &'s str) -> PResult<'s, SimpleCommand> {
        let start = self.off(i);
        let mut assignments = Vec::new();
        let mut words: Vec<Word> = Vec::new();
        let mut redirects = Vec::new();
        let mut i = i;
        let mut end = start;
        loop {
            let j = self.blanks(i);
            if j.is_empty()
                || starts_newline(j)
                || j.starts_with([';', '|', ')'])
                || (j.starts_with('&') && !j.starts_with("&>"))
                || j.starts_with('#')
            {
                break;
            }
            if j.starts_with('(') {
                return self.fail_here(j, ParseErrorKind::Unexpected { found: describe(j) });
            }
            if let Some((k, r)) = self.redirect(j)? {
                redirects.push(r);
                end = self.off(k);
                i = k;
                continue;
            }
            let (k, w) = self.word(j)?;
            end = self.off(k);
            i = k;
            if words.is_empty() {
                if let Some(a) = split_assignment(&w) {
                    assignments.push(a);
                    continue;
                }
                if w.as_plain_literal() == Some("[[") {
                    words.push(w);
                    let (k, rest) = self.double_bracket(i, start)?;
                    words.extend(rest);
                    end = self.off(k);
                    i = k;
                    continue;
                }
            }
            words.push(w);
        }
        if words.is_empty() && assignments.is_empty() && redirects.is_empty() {
            return self.fail_here(i, ParseErrorKind::ExpectedCommand { found: describe(i) });
        }
        Ok((
            i,
            SimpleCommand {
                assignments,
                words,
                redirects,
                span: Span::new(start, end),
            },
        ))
    }

    /// The words of a bash `[[ ... ]]` test, in which `&&`, `||`, `<`, `>`,
    /// `(` and `)` are operands of the test rather than shell operators.
    fn double_bracket(&self, mut i: &'s str, start: usize) -> PResult<'s, Vec<Word>> {
        let mut words = Vec::new();
        loop {
            let j = self.blanks(i);
            if j.is_empty() || starts_newline(j) {
                return self.fail(
                    j,
                    ParseErrorKind::UnterminatedDoubleBracket,
                    Span::new(start, (start + 2).min(self.src.len())),
                );
            }
            let op = ["&&", "||", "(", ")", "<", ">", "!"]
                .into_iter()
                .find(|op| j.starts_with(op));
            if let Some(op) = op {
                let s = self.off(j);
                let rest = &j[op.len()..];
                let span = self.span(s, rest);
                words.push(Word {
                    parts: vec![WordPart::Literal {
                        text: op.to_string(),
                        span,
                    }],
                    span,
                });
                i = rest;
                continue;
            }
            if j.starts_with([';', '&', '|']) {
                return self.fail_here(j, ParseErrorKind::Unexpected { found: describe(j) });
            }
            let (k, w) = self.word(j)?;
            let closing = w.as_plain_literal() == Some("]]");
            words.push(w);
            i = k;
            if closing {
                return Ok((i, words));
            }
        }
    }

    /// A redirection at `i`, if there is one.
    fn redirect(&self, i: &'s str) -> Result<Option<(&'s str, Redirect)>, nom::Err<PErr>> {
        let start = self.off(i);
        let digits_len = i.find(|c: char| !c.is_ascii_digit()).unwrap_or(i.len());
        let (fd, j) = if digits_len > 0 && i[digits_len..].starts_with(['<', '>']) {
            match i[..digits_len].parse::<u32>() {
                Ok(n) => (Some(n), &i[digits_len..]),
                Err(_) => return Ok(None),
            }
        } else {
            (None, i)
        };
        const OPS: &[(&str, RedirectOp)] = &[
            ("<<<", RedirectOp::HereString),
            ("<<-", RedirectOp::HereDoc { strip_tabs: true }),
            ("<<", RedirectOp::HereDoc { strip_tabs: false }),
            ("<>", RedirectOp::ReadWrite),
            ("<&", RedirectOp::DupIn),
            ("<", RedirectOp::Read),
            (">>", RedirectOp::Append),
            (">|", RedirectOp::Clobber),
            (">&", RedirectOp::DupOut),
            (">", RedirectOp::Write),
            ("&>>", RedirectOp::AppendAll),
            ("&>", RedirectOp::WriteAll),
        ];
        let Some((op_text, op)) = OPS.iter().find(|(t, _)| j.starts_with(t)).copied() else {
            return Ok(None);
        };
        if matches!(op, RedirectOp::WriteAll | RedirectOp::AppendAll) && fd.is_some() {
            return Ok(None);
        }
        let rest = self.blanks(&j[op_text.len()..]);
        if rest.is_empty()
            || rest.starts_with(|c: char| is_meta(c))
            || starts_newline(rest)
            || rest.starts_with('#')
        {
            let kind = if matches!(op, RedirectOp::HereDoc { .. }) {
                ParseErrorKind::MissingHereDocDelimiter
            } else {
                ParseErrorKind::MissingRedirectTarget {
                    op: op_text.to_string(),
                }
            };
            let at = self.off(&j[op_text.len()..]);
            return self
                .fail(rest, kind, Span::new(start, at))
                .map(|_: (&str, ())| None);
        }
        let (rest, word) = self.word(rest)?;
        let span = self.span(start, rest);
        let target = if let RedirectOp::HereDoc { strip_tabs } = op {
            let raw = self.src.get(word.span.start..word.span.end).unwrap_or("");
            let delimiter = quote_removed(raw);
            let quoted = word.has_quoting();
            let mut pending = self.pending.borrow_mut();
            if !pending.iter().any(|p| p.key == start) {
                pending.push(Pending {
                    key: start,
                    delimiter: delimiter.clone(),
                    quoted,
                    strip_tabs,
                    span,
                });
            }
            RedirectTarget::HereDoc(HereDoc {
                delimiter,
                quoted,
                body: Word {
                    parts: Vec::new(),
                    span: Span::new(span.end, span.end),
                },
            })
        } else {
            RedirectTarget::Word(word)
        };
        Ok(Some((
            rest,
            Redirect {
                fd,
                op,
                target,
                span,
            },
        )))
    }

    /// Reads the bodies of all pending here-documents, starting at `i` (the
    /// line after the one that started them).
    fn heredoc_bodies(&self, mut i: &'s str) -> Result<&'s str, nom::Err<PErr>> {
        let pending: Vec<Pending> = std::mem::take(&mut *self.pending.borrow_mut());
        for p in pending {
            let body_start = self.off(i);
            let body_end;
            loop {
                if i.is_empty() {
                    return self
                        .fail(
                            i,
                            ParseErrorKind::UnterminatedHereDoc {
                                delimiter: p.delimiter.clone(),
                            },
                            p.span,
                        )
                        .map(|_: (&str, ())| i);
                }
                let (line, rest) = match i.find('\n') {
                    Some(n) => (&i[..n], &i[n + 1..]),
                    None => (i, ""),
                };
                let line = line.strip_suffix('\r').unwrap_or(line);
                let cmp = if p.strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                if cmp == p.delimiter {
                    body_end = self.off(i);
                    i = rest;
                    break;
                }
                i = rest;
            }
            let body = self.heredoc_body(body_start, body_end, &p)?;
            self.bodies.borrow_mut().insert(p.key, body);
        }
        Ok(i)
    }

    fn heredoc_body(
        &self,
        start: usize,
        end: usize,
        p: &Pending,
    ) -> Result<HereDoc, nom::Err<PErr>> {
        let raw = self.src.get(start..end).unwrap_or("");
        let span = Span::new(start, end);
        let body = if p.quoted {
            let text = if p.strip_tabs {
                strip_leading_tabs(raw)
            } else {
                raw.to_string()
            };
            Word {
                parts: vec![WordPart::SingleQuoted { text, span }],
                span,
            }
        } else {
            let mut parts =
                heredoc_parts(raw, start, self.depth.get(), p.strip_tabs).map_err(|e| {
                    nom::Err::Failure(PErr {
                        rest_len: self.src.len().saturating_sub(e.span.start),
                        kind: Some(e.kind),
                        span: Some(e.span),
                    })
                })?;
            if parts.is_empty() {
                parts.push(WordPart::Literal {
                    text: String::new(),
                    span,
                });
            }
            Word {
                parts: vec![WordPart::DoubleQuoted { parts, span }],
                span,
            }
        };
        Ok(HereDoc {
            delimiter: p.delimiter.clone(),
            quoted: p.quoted,
            body,
        })
    }

    // ----- words -----

    fn word(&self, i: &'s str) -> PResult<'s, Word> {
        let start = self.off(i);
        let mut parts: Vec<WordPart> = Vec::new();
        let mut i = i;
        while let Some(c) = i.chars().next() {
            if is_meta(c) || (c == '\r' && i[1..].starts_with('\n')) {
                break;
            }
            match c {
                '\\' => {
                    let rest = &i[1..];
                    if let Some(r) = rest.strip_prefix('\n') {
                        i = r;
                    } else if let Some(r) = rest.strip_prefix("\r\n") {
                        i = r;
                    } else if let Some(n) = rest.chars().next() {
                        let s = self.off(i);
                        i = &rest[n.len_utf8()..];
                        parts.push(WordPart::Escaped {
                            ch: n,
                            span: self.span(s, i),
                        });
                    } else {
                        let s = self.off(i);
                        i = rest;
                        push_literal(&mut parts, "\\", self.span(s, i));
                    }
                }
                '\'' => {
                    let (r, p) = self.single_quoted(i)?;
                    parts.push(p);
                    i = r;
                }
                '"' => {
                    let (r, p) = self.double_quoted(i)?;
                    parts.push(p);
                    i = r;
                }
                '$' => {
                    let (r, p) = self.dollar(i, false)?;
                    push_part(&mut parts, p);
                    i = r;
                }
                '`' => {
                    let (r, p) = self.backtick(i)?;
                    parts.push(p);
                    i = r;
                }
                _ => {
                    let s = self.off(i);
                    let n = i
                        .find(|c: char| {
                            is_meta(c) || matches!(c, '\\' | '\'' | '"' | '$' | '`' | '\r')
                        })
                        .unwrap_or(i.len());
                    let n = if n == 0 { c.len_utf8() } else { n };
                    let (text, r) = i.split_at(n);
                    i = r;
                    push_literal(&mut parts, text, self.span(s, i));
                }
            }
        }
        let span = self.span(start, i);
        if span.is_empty() {
            return Err(nom::Err::Error(PErr {
                rest_len: i.len(),
                kind: None,
                span: None,
            }));
        }
        if parts.is_empty() {
            // Only line continuations: an empty unquoted literal.
            parts.push(WordPart::Literal {
                text: String::new(),
                span,
            });
        }
        Ok((i, Word { parts, span }))
    }

    fn single_quoted(&self, i: &'s str) -> PResult<'s, WordPart> {
        let start = self.off(i);
        let body = &i[1..];
        match body.find('\'') {
            Some(n) => {
                let rest = &body[n + 1..];
                Ok((
                    rest,
                    WordPart::SingleQuoted {
                        text: body[..n].to_string(),
                        span: self.span(start, rest),
                    },
                ))
            }
            None => self.fail(
                "",
                ParseErrorKind::UnterminatedSingleQuote,
                Span::new(start, self.src.len()),
            ),
        }
    }

    fn double_quoted(&self, i: &'s str) -> PResult<'s, WordPart> {
        let start = self.off(i);
        let mut i = &i[1..];
        let mut parts: Vec<WordPart> = Vec::new();
        loop {
            let Some(c) = i.chars().next() else {
                return self.fail(
                    i,
                    ParseErrorKind::UnterminatedDoubleQuote,
                    Span::new(start, self.src.len()),
                );
            };
            match c {
                '"' => {
                    i = &i[1..];
                    break;
                }
                '\\' => {
                    let s = self.off(i);
                    let rest = &i[1..];
                    if let Some(r) = rest.strip_prefix('\n') {
                        i = r;
                    } else if let Some(r) = rest.strip_prefix("\r\n") {
                        i = r;
                    } else {
                        match rest.chars().next() {
                            Some(n @ ('$' | '`' | '"' | '\\')) => {
                                i = &rest[1..];
                                push_literal(&mut parts, &n.to_string(), self.span(s, i));
                            }
                            Some(_) | None => {
                                i = rest;
                                push_literal(&mut parts, "\\", self.span(s, i));
                            }
                        }
                    }
                }
                '$' => {
                    let (r, p) = self.dollar(i, true)?;
                    push_part(&mut parts, p);
                    i = r;
                }
                '`' => {
                    let (r, p) = self.backtick(i)?;
                    parts.push(p);
                    i = r;
                }
                _ => {
                    let s = self.off(i);
                    let n = i.find(['"', '\\', '$', '`']).unwrap_or(i.len());
                    let (text, r) = i.split_at(n);
                    i = r;
                    push_literal(&mut parts, text, self.span(s, i));
                }
            }
        }
        Ok((
            i,
            WordPart::DoubleQuoted {
                parts,
                span: self.span(start, i),
            },
        ))
    }

    /// A `$` construct. `quoted`: inside double quotes (where `$'` and `$"`
    /// are a literal `$`).
    fn dollar(&self, i: &'s str, quoted: bool) -> PResult<'s, WordPart> {
        let start = self.off(i);
        let rest = &i[1..];
        if rest.starts_with("((")
            && let Some(n) = arithmetic_end(&rest[2..])
        {
            let text = &rest[2..2 + n];
            let after = &rest[2 + n + 2..];
            return Ok((
                after,
                WordPart::Arithmetic {
                    text: text.to_string(),
                    span: self.span(start, after),
                },
            ));
        }
        if let Some(body) = rest.strip_prefix('(') {
            let _guard = self.enter(i)?;
            let (r, script) = self.compound_list(body)?;
            let (r, ()) = self.linebreak(r)?;
            return match r.strip_prefix(')') {
                Some(after) => Ok((
                    after,
                    WordPart::CommandSubst {
                        script: Box::new(script),
                        backtick: false,
                        span: self.span(start, after),
                    },
                )),
                None if r.is_empty() => self.fail(
                    r,
                    ParseErrorKind::UnterminatedCommandSubstitution,
                    Span::new(start, self.src.len()),
                ),
                None => self.fail_here(r, ParseErrorKind::Unexpected { found: describe(r) }),
            };
        }
        if let Some(body) = rest.strip_prefix('{') {
            let _guard = self.enter(i)?;
            return self.braced_param(start, body);
        }
        let mut chars = rest.chars();
        match chars.next() {
            Some(c) if is_name_start(c) => {
                let n = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
                let after = &rest[n..];
                Ok((
                    after,
                    WordPart::Param(ParamExpansion {
                        name: rest[..n].to_string(),
                        op: None,
                        span: self.span(start, after),
                    }),
                ))
            }
            Some(c)
                if c.is_ascii_digit() || matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!') =>
            {
                let after = &rest[1..];
                Ok((
                    after,
                    WordPart::Param(ParamExpansion {
                        name: c.to_string(),
                        op: None,
                        span: self.span(start, after),
                    }),
                ))
            }
            Some('\'') if !quoted => {
                // bash ANSI-C quoting: find the closing quote, honouring `\'`.
                let body = &rest[1..];
                let mut end = None;
                let mut it = body.char_indices();
                while let Some((k, c)) = it.next() {
                    match c {
                        '\\' => {
                            it.next();
                        }
                        '\'' => {
                            end = Some(k);
                            break;
                        }
                        _ => {}
                    }
                }
                match end {
                    Some(k) => {
                        let after = &body[k + 1..];
                        Ok((
                            after,
                            WordPart::Unsupported {
                                text: format!("$'{}'", &body[..k]),
                                span: self.span(start, after),
                            },
                        ))
                    }
                    None => self.fail(
                        "",
                        ParseErrorKind::UnterminatedAnsiCQuote,
                        Span::new(start, self.src.len()),
                    ),
                }
            }
            Some('"') if !quoted => {
                let (after, _) = self.double_quoted(rest)?;
                let span = self.span(start, after);
                Ok((
                    after,
                    WordPart::Unsupported {
                        text: self.src.get(span.start..span.end).unwrap_or("").to_string(),
                        span,
                    },
                ))
            }
            _ => Ok((
                rest,
                WordPart::Literal {
                    text: "$".into(),
                    span: self.span(start, rest),
                },
            )),
        }
    }

    /// `${...}` after the `{`.
    fn braced_param(&self, start: usize, body: &'s str) -> PResult<'s, WordPart> {
        let bad = |at: &'s str| {
            if at.is_empty() {
                self.fail(
                    at,
                    ParseErrorKind::UnterminatedParameterExpansion,
                    Span::new(start, self.src.len()),
                )
            } else {
                self.fail(
                    at,
                    ParseErrorKind::BadSubstitution,
                    Span::new(start, self.off(at).max(start + 2).min(self.src.len())),
                )
            }
        };
        // `${#name}`: length. `${#}` alone is the parameter `#`.
        let (body, length) = match body.strip_prefix('#') {
            Some(r) if !r.starts_with('}') && !r.is_empty() => (r, true),
            _ => (body, false),
        };
        let name_len = match body.chars().next() {
            Some(c) if is_name_start(c) => {
                body.find(|c: char| !is_name_char(c)).unwrap_or(body.len())
            }
            Some(c) if c.is_ascii_digit() => body
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(body.len()),
            Some('@' | '*' | '#' | '?' | '-' | '$' | '!') => 1,
            _ => return bad(body),
        };
        let name = body[..name_len].to_string();
        let rest = &body[name_len..];
        if length {
            return match rest.strip_prefix('}') {
                Some(after) => Ok((
                    after,
                    WordPart::Param(ParamExpansion {
                        name,
                        op: Some(ParamOp::Length),
                        span: self.span(start, after),
                    }),
                )),
                None => bad(rest),
            };
        }
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((
                after,
                WordPart::Param(ParamExpansion {
                    name,
                    op: None,
                    span: self.span(start, after),
                }),
            ));
        }
        enum Kind {
            Default,
            Assign,
            Error,
            Alternative,
            Suffix(bool),
            Prefix(bool),
        }
        let ops: &[(&str, Kind, bool)] = &[
            (":-", Kind::Default, true),
            (":=", Kind::Assign, true),
            (":?", Kind::Error, true),
            (":+", Kind::Alternative, true),
            ("-", Kind::Default, false),
            ("=", Kind::Assign, false),
            ("?", Kind::Error, false),
            ("+", Kind::Alternative, false),
            ("%%", Kind::Suffix(true), false),
            ("%", Kind::Suffix(false), false),
            ("##", Kind::Prefix(true), false),
            ("#", Kind::Prefix(false), false),
        ];
        let Some((op_text, kind, colon)) = ops.iter().find(|(t, _, _)| rest.starts_with(t)) else {
            if rest.starts_with([':', '/', '^', ',', '@']) {
                // bash-only forms: keep the text, value unknown.
                return match matching_brace(rest) {
                    Some(n) => {
                        let after = &rest[n + 1..];
                        Ok((
                            after,
                            WordPart::Param(ParamExpansion {
                                name,
                                op: Some(ParamOp::Unsupported {
                                    text: rest[..n].to_string(),
                                }),
                                span: self.span(start, after),
                            }),
                        ))
                    }
                    None => bad(""),
                };
            }
            return bad(rest);
        };
        let (after, word) = self.param_word(&rest[op_text.len()..], start)?;
        let colon = *colon;
        let op = match kind {
            Kind::Default => ParamOp::Default { colon, word },
            Kind::Assign => ParamOp::Assign { colon, word },
            Kind::Error => ParamOp::Error { colon, word },
            Kind::Alternative => ParamOp::Alternative { colon, word },
            Kind::Suffix(longest) => ParamOp::RemoveSuffix {
                longest: *longest,
                pattern: word,
            },
            Kind::Prefix(longest) => ParamOp::RemovePrefix {
                longest: *longest,
                pattern: word,
            },
        };
        Ok((
            after,
            WordPart::Param(ParamExpansion {
                name,
                op: Some(op),
                span: self.span(start, after),
            }),
        ))
    }

    /// The word operand of `${name op word}`, up to and including the `}`.
    /// Blanks and operators are literal here.
    fn param_word(&self, i: &'s str, param_start: usize) -> PResult<'s, Word> {
        let start = self.off(i);
        let mut parts: Vec<WordPart> = Vec::new();
        let mut i = i;
        loop {
            let Some(c) = i.chars().next() else {
                return self.fail(
                    i,
                    ParseErrorKind::UnterminatedParameterExpansion,
                    Span::new(param_start, self.src.len()),
                );
            };
            match c {
                '}' => break,
                '\\' => {
                    let s = self.off(i);
                    let rest = &i[1..];
                    if let Some(r) = rest.strip_prefix('\n') {
                        i = r;
                    } else if let Some(n) = rest.chars().next() {
                        i = &rest[n.len_utf8()..];
                        parts.push(WordPart::Escaped {
                            ch: n,
                            span: self.span(s, i),
                        });
                    } else {
                        i = rest;
                    }
                }
                '\'' => {
                    let (r, p) = self.single_quoted(i)?;
                    parts.push(p);
                    i = r;
                }
                '"' => {
                    let (r, p) = self.double_quoted(i)?;
                    parts.push(p);
                    i = r;
                }
                '$' => {
                    let (r, p) = self.dollar(i, false)?;
                    push_part(&mut parts, p);
                    i = r;
                }
                '`' => {
                    let (r, p) = self.backtick(i)?;
                    parts.push(p);
                    i = r;
                }
                _ => {
                    let s = self.off(i);
                    let n = i.find(['}', '\\', '\'', '"', '$', '`']).unwrap_or(i.len());
                    let (text, r) = i.split_at(n);
                    i = r;
                    push_literal(&mut parts, text, self.span(s, i));
                }
            }
        }
        let span = self.span(start, i);
        let after = &i[1..];
        Ok((after, Word { parts, span }))
    }

    /// `` `...` ``: the text between the backticks, with `\$`, `` \` `` and
    /// `\\` unescaped, parsed as a script whose spans are mapped back.
    fn backtick(&self, i: &'s str) -> PResult<'s, WordPart> {
        let start = self.off(i);
        let _guard = self.enter(i)?;
        let body = &i[1..];
        let body_off = start + 1;
        let mut inner = String::new();
        // map[k] = offset in `src` of inner byte k.
        let mut map: Vec<usize> = Vec::new();
        let mut close = None;
        let mut it = body.char_indices().peekable();
        while let Some((k, c)) = it.next() {
            match c {
                '`' => {
                    close = Some(k);
                    break;
                }
                '\\' => match it.peek().copied() {
                    Some((_, n @ ('$' | '`' | '\\'))) => {
                        it.next();
                        inner.push(n);
                        // An escaped character maps to its backslash, so a span
                        // that starts with it covers the escape.
                        map.push(body_off + k);
                    }
                    Some((_, '\n')) => {
                        it.next();
                    }
                    _ => {
                        inner.push('\\');
                        map.push(body_off + k);
                    }
                },
                _ => {
                    inner.push(c);
                    map.extend((0..c.len_utf8()).map(|b| body_off + k + b));
                }
            }
        }
        let Some(close) = close else {
            return self.fail(
                "",
                ParseErrorKind::UnterminatedBacktick,
                Span::new(start, self.src.len()),
            );
        };
        let close_off = body_off + close;
        let after = &body[close + 1..];
        let remap = |o: usize| map.get(o).copied().unwrap_or(close_off);
        let mut script = match parse_with_depth(&inner, self.depth.get()) {
            Ok(s) => s,
            Err(e) => {
                let span = Span::new(
                    remap(e.span.start),
                    remap(e.span.end).max(remap(e.span.start)),
                );
                return self.fail(after, e.kind, span);
            }
        };
        script.map_spans(&mut |s: Span| {
            let a = remap(s.start);
            Span::new(a, remap(s.end).max(a))
        });
        Ok((
            after,
            WordPart::CommandSubst {
                script: Box::new(script),
                backtick: true,
                span: self.span(start, after),
            },
        ))
    }
}

/// Parses the body of an unquoted here-document: `$` expansions and
/// backticks are live, `\` escapes only `$`, `` ` ``, `\` and newline.
fn heredoc_parts(
    raw: &str,
    base: usize,
    depth: usize,
    strip_tabs: bool,
) -> Result<Vec<WordPart>, ParseError> {
    let parser = Parser::new(raw, depth);
    let mut parts: Vec<WordPart> = Vec::new();
    let mut i = raw;
    let mut at_line_start = true;
    let shift = |s: Span| s.shifted(base);
    let err = |e: PErr| {
        let mut pe = parser.to_error(e);
        pe.span = pe.span.shifted(base);
        pe
    };
    while !i.is_empty() {
        if strip_tabs && at_line_start {
            i = i.trim_start_matches('\t');
            at_line_start = false;
            continue;
        }
        let Some(c) = i.chars().next() else { break };
        match c {
            '\\' => {
                let s = parser.off(i);
                let rest = &i[1..];
                if let Some(r) = rest.strip_prefix('\n') {
                    i = r;
                } else if let Some(n @ ('$' | '`' | '\\')) = rest.chars().next() {
                    i = &rest[1..];
                    push_literal(&mut parts, &n.to_string(), shift(parser.span(s, i)));
                } else {
                    i = rest;
                    push_literal(&mut parts, "\\", shift(parser.span(s, i)));
                }
            }
            '$' => {
                let (r, mut p) = match parser.dollar(i, true) {
                    Ok(x) => x,
                    Err(nom::Err::Error(e) | nom::Err::Failure(e)) => return Err(err(e)),
                    Err(nom::Err::Incomplete(_)) => break,
                };
                p.map_spans(&mut |s| s.shifted(base));
                push_part(&mut parts, p);
                i = r;
            }
            '`' => {
                let (r, mut p) = match parser.backtick(i) {
                    Ok(x) => x,
                    Err(nom::Err::Error(e) | nom::Err::Failure(e)) => return Err(err(e)),
                    Err(nom::Err::Incomplete(_)) => break,
                };
                p.map_spans(&mut |s| s.shifted(base));
                parts.push(p);
                i = r;
            }
            _ => {
                let s = parser.off(i);
                let mut n = i.find(['\\', '$', '`', '\n']).unwrap_or(i.len());
                if i[n..].starts_with('\n') {
                    n += 1;
                    at_line_start = true;
                }
                let n = n.max(c.len_utf8());
                let (text, r) = i.split_at(n);
                i = r;
                push_literal(&mut parts, text, shift(parser.span(s, i)));
            }
        }
    }
    if !parser.pending.borrow().is_empty() {
        return Err(ParseError {
            kind: ParseErrorKind::Unsupported {
                construct: "a here-document inside a here-document substitution".into(),
            },
            span: Span::new(base, base + raw.len()),
        });
    }
    Ok(parts)
}

fn strip_leading_tabs(raw: &str) -> String {
    raw.split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

/// Offset of the `))` closing a `$((` (given the text after it), if the
/// parentheses balance as arithmetic; `None` means "a subshell inside a
/// command substitution" or unterminated.
fn arithmetic_end(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = s.as_bytes();
    let mut k = 0;
    while k < bytes.len() {
        match bytes[k] {
            b'(' => depth += 1,
            b')' => {
                if depth == 0 {
                    return (bytes.get(k + 1) == Some(&b')')).then_some(k);
                }
                depth -= 1;
            }
            _ => {}
        }
        k += 1;
    }
    None
}

/// Offset of the `}` that closes a bash-only `${...}` form, counting nested
/// braces.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (k, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                if depth == 0 {
                    return Some(k);
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    None
}

/// Appends literal text, merging with a literal just before it (two runs of
/// the same word separated only by a line continuation are one literal).
fn push_literal(parts: &mut Vec<WordPart>, text: &str, span: Span) {
    if let Some(WordPart::Literal { text: t, span: s }) = parts.last_mut() {
        t.push_str(text);
        *s = s.join(span);
        return;
    }
    parts.push(WordPart::Literal {
        text: text.to_string(),
        span,
    });
}

fn push_part(parts: &mut Vec<WordPart>, p: WordPart) {
    match p {
        WordPart::Literal { text, span } => push_literal(parts, &text, span),
        other => parts.push(other),
    }
}

/// `NAME=value` as an assignment, when the word starts with an unquoted
/// valid name followed by `=`.
pub(crate) fn split_assignment(w: &Word) -> Option<AssignmentWord> {
    let WordPart::Literal { text, span } = w.parts.first()? else {
        return None;
    };
    let eq = text.find('=')?;
    let name = &text[..eq];
    if !is_name(name) {
        return None;
    }
    let value_start = span.start + eq + 1;
    let mut parts = Vec::new();
    let rest = &text[eq + 1..];
    if !rest.is_empty() {
        parts.push(WordPart::Literal {
            text: rest.to_string(),
            span: Span::new(value_start, span.end),
        });
    }
    parts.extend(w.parts.iter().skip(1).cloned());
    Some(AssignmentWord {
        name: name.to_string(),
        value: Word {
            parts,
            span: Span::new(value_start.min(w.span.end), w.span.end),
        },
        span: w.span,
    })
}

/// Moves the here-document bodies read at newlines into their redirections.
fn attach_heredocs(script: &mut Script, bodies: &mut BTreeMap<usize, HereDoc>) {
    fn redirects(rs: &mut [Redirect], bodies: &mut BTreeMap<usize, HereDoc>) {
        for r in rs {
            if let RedirectTarget::HereDoc(h) = &mut r.target
                && let Some(b) = bodies.remove(&r.span.start)
            {
                *h = b;
            }
        }
    }
    fn word(w: &mut Word, bodies: &mut BTreeMap<usize, HereDoc>) {
        for p in &mut w.parts {
            part(p, bodies);
        }
    }
    fn part(p: &mut WordPart, bodies: &mut BTreeMap<usize, HereDoc>) {
        match p {
            WordPart::DoubleQuoted { parts, .. } => {
                for p in parts {
                    part(p, bodies);
                }
            }
            WordPart::CommandSubst { script, .. } => attach_heredocs(script, bodies),
            WordPart::Param(pe) => {
                if let Some(
                    ParamOp::Default { word: w, .. }
                    | ParamOp::Assign { word: w, .. }
                    | ParamOp::Error { word: w, .. }
                    | ParamOp::Alternative { word: w, .. }
                    | ParamOp::RemovePrefix { pattern: w, .. }
                    | ParamOp::RemoveSuffix { pattern: w, .. },
                ) = &mut pe.op
                {
                    word(w, bodies)
                }
            }
            _ => {}
        }
    }
    fn compound(c: &mut Compound, bodies: &mut BTreeMap<usize, HereDoc>) {
        redirects(&mut c.redirects, bodies);
        match &mut c.kind {
            CompoundKind::BraceGroup(s) | CompoundKind::Subshell(s) => attach_heredocs(s, bodies),
            CompoundKind::If {
                branches,
                else_body,
            } => {
                for (a, b) in branches {
                    attach_heredocs(a, bodies);
                    attach_heredocs(b, bodies);
                }
                if let Some(e) = else_body {
                    attach_heredocs(e, bodies);
                }
            }
            CompoundKind::For { words, body, .. } => {
                for w in words.iter_mut().flatten() {
                    word(w, bodies);
                }
                attach_heredocs(body, bodies);
            }
            CompoundKind::While { condition, body } | CompoundKind::Until { condition, body } => {
                attach_heredocs(condition, bodies);
                attach_heredocs(body, bodies);
            }
            CompoundKind::Case { subject, arms } => {
                word(subject, bodies);
                for a in arms {
                    for p in &mut a.patterns {
                        word(p, bodies);
                    }
                    attach_heredocs(&mut a.body, bodies);
                }
            }
        }
    }
    for item in &mut script.items {
        let ao = &mut item.and_or;
        for p in std::iter::once(&mut ao.first).chain(ao.rest.iter_mut().map(|(_, p)| p)) {
            for c in &mut p.commands {
                match c {
                    CommandNode::Simple(s) => {
                        for a in &mut s.assignments {
                            word(&mut a.value, bodies);
                        }
                        for w in &mut s.words {
                            word(w, bodies);
                        }
                        redirects(&mut s.redirects, bodies);
                        for r in &mut s.redirects {
                            if let RedirectTarget::Word(w) = &mut r.target {
                                word(w, bodies);
                            }
                        }
                    }
                    CommandNode::Compound(c) => compound(c, bodies),
                    CommandNode::FunctionDef { body, .. } => compound(body, bodies),
                }
            }
        }
    }
}
