//! Layer 1: from Dockerfile text to BuildKit's parse tree.
//!
//! This follows BuildKit's `parser.Parse` line by line:
//!
//! - a UTF-8 BOM is dropped from the first line;
//! - parser directives are read from the top (see [`super::directives`]);
//! - a line is an instruction unless it is empty or a comment (`#` after
//!   leading whitespace); its leading whitespace is dropped;
//! - a line ending in the escape token (optionally followed by spaces or
//!   tabs), not itself escaped, continues on the next line; the pieces are
//!   joined with nothing in between, continuation lines keep their leading
//!   whitespace, comment lines inside a continuation are skipped, and empty
//!   (all-whitespace) lines are skipped with a warning;
//! - RUN, COPY and ADD (also as ONBUILD triggers), when not in JSON form,
//!   read heredoc bodies after the line, one after the other, verbatim;
//! - a line (newline excluded) longer than 65535 bytes is an error, as it
//!   is for Go's line scanner, and a file without instructions is an error.
//!
//! Inputs over [`MAX_SOURCE_BYTES`] are refused before any work is done.

use std::borrow::Cow;
use std::cell::Cell;

use super::byte_masks::space_mask;
use super::directives::{Directive, DirectiveParser};
use super::go_text::{is_ascii_blank, is_ascii_space_byte, trim_space, trim_start_space};
use super::heredoc::heredocs_from_line;
use super::line_map::LineMap;
use super::line_parsers::{
    Args, Parsed, extract_builder_flags, flag_nodes, parse_health_config, parse_maybe_json,
    parse_maybe_json_to_list, parse_name_or_name_val, parse_name_val, parse_string,
    parse_strings_whitespace_delimited,
};
use super::newlines::Newlines;
use super::nodes::{ArgNode, Heredoc, Keyword, Node, ParsedNodes, Warning};
use crate::source::{SourceDiagnostic, SourceFile, Span};

/// The largest Dockerfile accepted (16 MiB); BuildKit's own frontend reads
/// much smaller files in practice.
pub const MAX_SOURCE_BYTES: usize = 16 << 20;

/// The longest line Go's `bufio.Scanner` accepts (its buffer is 64 KiB,
/// newline included).
pub const MAX_LINE_BYTES: usize = 65_535;

/// How deeply `ONBUILD ONBUILD ...` may nest in the parse tree. BuildKit's
/// line parser has no limit (its typed layer rejects any nesting); the
/// limit keeps recursion on hostile input bounded.
pub const MAX_ONBUILD_NESTING: usize = 64;

/// One physical line of the source. Offsets are stored as `u32` (the
/// source is at most [`MAX_SOURCE_BYTES`]).
#[derive(Clone, Copy)]
struct RawLine {
    start: u32,
    /// End of the text without trailing `\r`/`\n`.
    content_end: u32,
    /// End including the newline.
    end: u32,
    /// The first byte from `start` that is not ASCII white space, or
    /// `content_end` when there is none.
    lead: u32,
}

impl RawLine {
    fn start(self) -> usize {
        self.start as usize
    }

    fn content_end(self) -> usize {
        self.content_end as usize
    }

    fn end(self) -> usize {
        self.end as usize
    }

    fn lead(self) -> usize {
        self.lead as usize
    }
}

struct Lines<'a> {
    text: &'a str,
    pos: usize,
    /// The newlines of `text`, found in bulk (lines are short, so a search
    /// per line would spend more on setup than on searching).
    newlines: Newlines<'a>,
}

/// A line longer than [`MAX_LINE_BYTES`], starting at this offset.
struct LineTooLong(u32);

impl LineTooLong {
    fn diagnostic(self, src: &SourceFile) -> SourceDiagnostic {
        SourceDiagnostic::error(
            src,
            Span::new(self.0 as usize, self.0 as usize),
            "dockerfile::line-too-long",
            format!("dockerfile line greater than max allowed size of {MAX_LINE_BYTES}"),
        )
        .with_label("this line is too long")
    }
}

impl Lines<'_> {
    #[inline(always)]
    fn next_line(&mut self) -> Result<Option<RawLine>, LineTooLong> {
        let text = self.text;
        if self.pos >= text.len() {
            return Ok(None);
        }
        let start = self.pos;
        let bytes = text.as_bytes();
        let (line_end, end) = match self.newlines.next() {
            Some(i) => (i, i + 1),
            None => (text.len(), text.len()),
        };
        // Offsets fit in `u32`: the source was checked against
        // `MAX_SOURCE_BYTES` before any line was read.
        if line_end - start > MAX_LINE_BYTES {
            return Err(LineTooLong(start as u32));
        }
        // Only `\r`s can precede the newline; trim them byte-wise. The `\r`
        // test comes first, nested so that the compiler keeps it first: it
        // is nearly always false, while the length test is not predictable
        // (empty lines are common). The byte before an empty line is the
        // newline that ends the line before it, never a `\r`.
        let mut content_end = line_end;
        if bytes.get(line_end.wrapping_sub(1)) == Some(&b'\r') {
            while content_end > start && bytes[content_end - 1] == b'\r' {
                content_end -= 1;
            }
        }
        // Leading white space is short (nearly always under 16 bytes), but
        // of every length: one mask of the line's first 16 bytes finds its
        // end, where a loop over its bytes would exit unpredictably.
        let scan_from = |from: usize| {
            from + bytes[from.min(content_end)..content_end]
                .iter()
                .take_while(|&&b| is_ascii_space_byte(b))
                .count()
        };
        let lead = match bytes.get(start..).and_then(|rest| rest.first_chunk::<16>()) {
            Some(window) => match (!space_mask(window)).trailing_zeros() as usize {
                16 => scan_from(start + 16),
                n => start + n,
            },
            None => scan_from(start),
        }
        .min(content_end);
        self.pos = end;
        Ok(Some(RawLine {
            start: start as u32,
            content_end: content_end as u32,
            end: end as u32,
            lead: lead as u32,
        }))
    }
}

/// The comments a node keeps, from the comment lines (`start..end` in
/// `text`) before its instruction: BuildKit drops the first byte of each
/// line (usually the `#`) and trims the rest (this drops the first
/// character), and an empty comment drops the comments before it.
fn comment_texts<'a>(text: &'a str, lines: &[(usize, usize)]) -> Vec<Cow<'a, str>> {
    let mut comments = Vec::new();
    for &(start, end) in lines {
        let mut chars = text[start..end].chars();
        chars.next();
        match trim_space(chars.as_str()) {
            "" => comments.clear(),
            comment => comments.push(Cow::Borrowed(comment)),
        }
    }
    comments
}

/// Where Go's `strings.TrimLeftFunc(unicode.IsSpace)` leaves the text
/// `..content_end` whose ASCII white space ends at `lead` (see
/// [`RawLine::lead`]): there, unless a character other than ASCII follows,
/// which may be white space too.
#[inline]
#[allow(clippy::collapsible_if, reason = "nested to keep the byte test first")]
fn after_space(text: &str, lead: usize, content_end: usize) -> usize {
    // The byte first: it is nearly always ASCII, while `lead` is at
    // `content_end` for every empty line. (Nested, so that the compiler
    // does not test the offsets first.)
    if let Some(&b) = text.as_bytes().get(lead)
        && b >= 0x80
    {
        if lead < content_end {
            return content_end - trim_start_space(&text[lead..content_end]).len();
        }
    }
    lead
}

/// Split off a trailing continuation token: `Some(kept)` when `line` ends
/// with the escape token (plus spaces/tabs) that is not preceded by
/// another escape token. The escape token and the blanks are ASCII, so the
/// check works on bytes and every cut falls on a character boundary.
#[inline]
fn trim_continuation(line: &str, escape: u8) -> Option<&str> {
    let b = line.as_bytes();
    let mut end = b.len();
    while end > 0 && matches!(b[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    if end == 0 || b[end - 1] != escape {
        return None;
    }
    let kept = end - 1;
    if kept > 0 && b[kept - 1] == escape {
        return None;
    }
    line.get(..kept)
}

/// Whether `line` has a `<<` (the only way a heredoc can start); cheaper
/// than a substring search for a two-byte needle in short lines.
pub(crate) fn has_heredoc_marker(line: &str) -> bool {
    has_heredoc_marker_bytes(line.as_bytes())
}

/// [`has_heredoc_marker`] on bytes.
pub(crate) fn has_heredoc_marker_bytes(b: &[u8]) -> bool {
    memchr::memchr_iter(b'<', b).any(|i| b.get(i + 1) == Some(&b'<'))
}

/// Parse the lines of a Dockerfile into BuildKit's parse tree.
pub fn parse_nodes(src: &SourceFile) -> Result<ParsedNodes<'_>, SourceDiagnostic> {
    // Real Dockerfiles average well over 64 bytes per instruction.
    let mut children: Vec<Node> = Vec::with_capacity(src.text().len() / 64 + 1);
    let rest = scan_nodes(src, &mut children)?;
    Ok(ParsedNodes {
        children,
        escape: rest.escape,
        directives: rest.directives,
        warnings: rest.warnings,
        start_line: rest.start_line,
        end_line: rest.end_line,
    })
}

/// The line layer alone, for the parse benchmark's "lines only" row:
/// reads every line of `src` as [`parse_nodes`] does (directives,
/// continuations, comments, heredoc bodies; every continued instruction's
/// lines joined) and returns how many instructions it found, building
/// nothing for an instruction that cannot start a heredoc. Measures how
/// much of a typed parse the line layer is (`benches/README.md`); not an
/// API to build on.
#[doc(hidden)]
pub fn count_instruction_lines(src: &SourceFile) -> Result<usize, SourceDiagnostic> {
    struct Count(usize);
    impl<'a> NodeSink<'a> for Count {
        fn take_line(&mut self, line: &mut Cow<'a, str>, _: &LineMap, _: &LineSite<'a>) -> bool {
            // A line with a `<<` may open a heredoc, whose body only the
            // node path reads.
            let taken = !has_heredoc_marker(line);
            self.0 += usize::from(taken);
            taken
        }

        fn node(&mut self, _: Node<'a>) {
            self.0 += 1;
        }
    }
    let mut count = Count(0);
    scan_nodes(src, &mut count)?;
    Ok(count.0)
}

/// What [`scan_nodes`] finds besides the instructions.
pub(crate) struct NodesRest {
    pub escape: char,
    pub directives: Vec<Directive>,
    pub warnings: Vec<Warning>,
    pub start_line: usize,
    pub end_line: usize,
}

/// Where a complete instruction line lies, for [`NodeSink::take_line`].
pub(crate) struct LineSite<'a> {
    /// The whole source text.
    pub source: &'a str,
    /// Whether the whole source is ASCII (most Dockerfiles are): then so
    /// is every line, and a reader need not check each one again.
    pub source_is_ascii: bool,
    pub escape: char,
    /// The whole instruction in the source.
    pub span: Span,
    /// 1-based first and last line.
    pub start_line: usize,
    pub end_line: usize,
}

/// What [`scan_nodes`] hands each instruction to, as soon as it is
/// complete (so that [`super::parse`] can type it without first collecting
/// the whole tree).
pub(crate) trait NodeSink<'a> {
    /// Offered every instruction (its joined text `line`, whose map to the
    /// source is `map`) before it is made a node. Returning true takes it:
    /// no node is made and no heredoc body is read (so an instruction that
    /// may start one, with a `<<`, must not be taken).
    fn take_line(&mut self, line: &mut Cow<'a, str>, map: &LineMap, at: &LineSite<'a>) -> bool;

    /// Offered an instruction continued over lines before its lines are
    /// joined: `first` is its first line's piece (a slice of the source,
    /// starting at the keyword), `pieces` every line's piece as `(start,
    /// len)` in the source, and `map` the joined text's map. Returning true
    /// takes it, and its joined text is never made. The default declines:
    /// the lines are joined and offered to [`Self::take_line`].
    fn take_continued(
        &mut self,
        _first: &'a str,
        _pieces: &[(usize, usize)],
        _map: &LineMap,
        _at: &LineSite<'a>,
    ) -> bool {
        false
    }

    /// Every instruction not taken by [`Self::take_line`], as a node.
    fn node(&mut self, node: Node<'a>);
}

/// The parse tree collects every node.
impl<'a> NodeSink<'a> for Vec<Node<'a>> {
    fn take_line(&mut self, _: &mut Cow<'a, str>, _: &LineMap, _: &LineSite<'a>) -> bool {
        false
    }

    fn node(&mut self, node: Node<'a>) {
        self.push(node);
    }
}

/// The line reader's working vectors, kept from one parse to the next on a
/// thread so that a parse does not allocate them (a short file's parse
/// would otherwise spend a fair share of its allocator calls on them).
#[derive(Default)]
struct LineScratch {
    /// The source pieces of the instruction being read, one per line, as
    /// `(start, len)`.
    pieces: Vec<(usize, usize)>,
    /// The comment lines since the last instruction, as `start..end` in
    /// the source: their text is only a node's (an instruction typed
    /// straight from its line drops them), so it is cut out only for a
    /// node.
    comments: Vec<(usize, usize)>,
}

thread_local! {
    static LINE_SCRATCH: Cell<LineScratch> = const {
        Cell::new(LineScratch {
            pieces: Vec::new(),
            comments: Vec::new(),
        })
    };
}

/// The line parser proper: hands each instruction to `sink`.
pub(crate) fn scan_nodes<'a>(
    src: &'a SourceFile,
    sink: &mut impl NodeSink<'a>,
) -> Result<NodesRest, SourceDiagnostic> {
    // Taken for the parse and given back after it: a parse that panics, or
    // one nested in another's sink, simply starts from empty vectors.
    let mut scratch = LINE_SCRATCH.take();
    // (Sized for a long RUN, so that growing it is rare. Both vectors are
    // empty: cleared when given back.)
    scratch.pieces.reserve(64);
    let scanned = scan_nodes_with(src, sink, &mut scratch);
    // A thread keeps no more than this between parses, however long the
    // instructions or comment runs of one file were.
    // (Cleared first: a vector does not shrink below its length.)
    scratch.pieces.clear();
    scratch.pieces.shrink_to(LINE_SCRATCH_KEPT);
    scratch.comments.clear();
    scratch.comments.shrink_to(LINE_SCRATCH_KEPT);
    LINE_SCRATCH.set(scratch);
    scanned
}

/// The most entries of each [`LineScratch`] vector a thread keeps between
/// parses (16 KiB each).
const LINE_SCRATCH_KEPT: usize = 1024;

fn scan_nodes_with<'a>(
    src: &'a SourceFile,
    sink: &mut impl NodeSink<'a>,
    scratch: &mut LineScratch,
) -> Result<NodesRest, SourceDiagnostic> {
    let text = src.text();
    if text.len() > MAX_SOURCE_BYTES {
        return Err(SourceDiagnostic::error(
            src,
            Span::new(0, 0),
            "dockerfile::too-large",
            format!(
                "the Dockerfile is {} bytes, more than the {} bytes accepted",
                text.len(),
                MAX_SOURCE_BYTES
            ),
        ));
    }
    // One check of the whole text, whose loop runs long and is predicted,
    // instead of one per line, whose exit after a line's few bytes is not.
    let source_is_ascii = text.is_ascii();
    let mut lines = Lines {
        text,
        pos: 0,
        newlines: Newlines::new(text.as_bytes()),
    };
    let mut directive_parser = DirectiveParser::new("#");
    let mut escape = '\\';
    let mut line_no = 0usize;
    // (Reused from one instruction to the next.)
    let pieces = &mut scratch.pieces;
    // First and last line of the instructions, once there is one.
    let mut covered: Option<(usize, usize)> = None;
    let mut directives: Vec<Directive> = Vec::new();
    let mut warnings: Vec<Warning> = Vec::new();
    let comments = &mut scratch.comments;

    // The next line; a line that is too long ends the parse (its
    // diagnostic is only built then).
    macro_rules! next_line {
        () => {
            match lines.next_line() {
                Ok(line) => line,
                Err(e) => return Err(e.diagnostic(src)),
            }
        };
    }
    let bytes = text.as_bytes();
    while let Some(raw) = next_line!() {
        let mut start = raw.start();
        let content_end = raw.content_end();
        let token_start = if line_no == 0 && bytes[start..].starts_with("\u{feff}".as_bytes()) {
            start += '\u{feff}'.len_utf8();
            let content_end = content_end.max(start);
            content_end - trim_start_space(&text[start..content_end]).len()
        } else {
            after_space(text, raw.lead(), content_end)
        };
        let content_end = content_end.max(start);
        let token = &text[token_start..content_end];
        let comment_line = token.starts_with('#');
        if comment_line {
            // Read only if a node is made (see `comment_texts`).
            comments.push((start, raw.end()));
        }
        // Directives can only open the file; once a line is not one, no
        // later line is looked at.
        if !directive_parser.is_done() {
            let token_span = Span::new(token_start, token_start + token.len());
            match directive_parser.parse_line(token) {
                Err(message) => {
                    return Err(SourceDiagnostic::error(
                        src,
                        token_span,
                        "dockerfile::directive",
                        message,
                    )
                    .with_label("repeated directive"));
                }
                Ok(Some((name, value, _))) => {
                    if name == "escape" {
                        escape = match value.as_str() {
                            "\\" => '\\',
                            "`" => '`',
                            _ => {
                                return Err(SourceDiagnostic::error(
                                    src,
                                    token_span,
                                    "dockerfile::directive",
                                    format!(
                                        "invalid escape token '{value}' does not match ` or \\"
                                    ),
                                ));
                            }
                        };
                    }
                    comments.pop();
                    directives.push(Directive {
                        name,
                        value,
                        line: line_no + 1,
                        span: token_span,
                    });
                }
                Ok(None) => {}
            }
        }
        // The escape token is `\` or a backtick: one ASCII byte.
        let escape_byte = escape as u8;
        line_no += 1;
        let start_line = line_no;
        // (A comment line, whose piece is empty, is not looked at: its
        // empty piece is an exit the continuation check would mispredict.)
        let (piece, mut end_of_line) = match comment_line {
            true => ("", true),
            false => match trim_continuation(token, escape_byte) {
                Some(kept) => (kept, false),
                None => (token, true),
            },
        };
        if end_of_line && piece.is_empty() {
            continue;
        }
        let first_piece = piece;
        pieces.clear();
        pieces.push((token_start, piece.len()));
        let mut last_end = raw.content_end();
        let mut empty_line: Option<Span> = None;
        while !end_of_line {
            let Some(next) = next_line!() else {
                break;
            };
            line_no += 1;
            last_end = next.content_end();
            let rest = after_space(text, next.lead(), next.content_end());
            match bytes.get(rest) {
                Some(b'#') if rest < next.content_end() => continue,
                _ if rest >= next.content_end() => {
                    empty_line.get_or_insert(Span::new(next.start(), next.content_end()));
                    continue;
                }
                _ => {}
            }
            let content = &text[next.start()..next.content_end()];
            let piece = match trim_continuation(content, escape_byte) {
                Some(kept) => kept,
                None => {
                    end_of_line = true;
                    content
                }
            };
            pieces.push((next.start(), piece.len()));
        }
        let instr_span = |end: usize| Span::new(token_start, end.max(token_start));
        let site = LineSite {
            source: text,
            source_is_ascii,
            escape,
            span: instr_span(last_end),
            start_line,
            end_line: line_no,
        };
        // A one-line instruction (most of them) is its own source slice.
        let (map, mut joined) = match pieces.as_slice() {
            [(start, len)] if *len > 0 => (
                LineMap::contiguous(*start, *len),
                Cow::Borrowed(first_piece),
            ),
            _ => {
                let map = LineMap::from_pieces(token_start, pieces);
                // The sink may take a continued instruction as it stands
                // (a multi-line RUN), so that its lines are never joined;
                // but the warning of an empty continuation line quotes the
                // joined text.
                if empty_line.is_none() && sink.take_continued(first_piece, pieces, &map, &site) {
                    comments.clear();
                    covered = Some((covered.map_or(start_line, |c| c.0), line_no));
                    continue;
                }
                let joined = joined_text(text, pieces.iter().copied(), map.len());
                (map, joined)
            }
        };
        if let Some(span) = empty_line {
            warnings.push(Warning {
                code: "dockerfile::no-empty-continuation".into(),
                message: format!("Empty continuation line found in: {joined}"),
                span,
                help: Some(
                    "Empty continuation lines will become errors in a future release; \
                     remove the empty line or end the instruction before it"
                        .into(),
                ),
            });
        }
        if sink.take_line(&mut joined, &map, &site) {
            comments.clear();
            covered = Some((covered.map_or(start_line, |c| c.0), line_no));
            continue;
        }
        // A `match` rather than `map_err(..)?`: each of those would copy
        // the 248-byte node once more.
        let parsed = new_node_from_line(
            &joined,
            &map,
            text,
            escape,
            comment_texts(text, comments),
            0,
        );
        comments.clear();
        let mut node = match parsed {
            Ok(node) => node,
            Err(m) => {
                return Err(SourceDiagnostic::error(
                    src,
                    instr_span(last_end),
                    "dockerfile::syntax",
                    m,
                )
                .with_label("in this instruction"));
            }
        };
        let needs_heredocs = can_contain_heredoc(&node) && has_heredoc_marker(&joined);
        node.original = joined;
        node.line_map = map;

        if needs_heredocs {
            let docs = heredocs_from_line(&node.original).map_err(|m| {
                SourceDiagnostic::error(src, instr_span(last_end), "dockerfile::heredoc", m)
            })?;
            for doc in docs {
                let mut body: Option<Span> = None;
                let mut terminator: Option<Span> = None;
                while let Some(line) = next_line!() {
                    line_no += 1;
                    last_end = line.content_end();
                    let candidate = &text[line.start()..line.content_end()];
                    let candidate = if doc.chomp {
                        candidate.trim_start_matches('\t')
                    } else {
                        candidate
                    };
                    if candidate == doc.name {
                        terminator = Some(Span::new(line.start(), line.content_end()));
                        break;
                    }
                    let b = body.get_or_insert(Span::new(line.start(), line.start()));
                    b.end = line.end();
                }
                let Some(terminator_span) = terminator else {
                    return Err(SourceDiagnostic::error(
                        src,
                        instr_span(text.len()),
                        "dockerfile::unterminated-heredoc",
                        "unterminated heredoc",
                    )
                    .with_label(format!("no line `{}` ends this heredoc", doc.name))
                    .with_help(format!(
                        "add a line containing only `{}` after the heredoc body",
                        doc.name
                    )));
                };
                // The body lines are consecutive, so the body is one slice.
                let content = body.map_or("", |b| &text[b.start..b.end]);
                node.heredocs.push(Heredoc {
                    name: doc.name,
                    fd: doc.fd,
                    expand: doc.expand,
                    chomp: doc.chomp,
                    content: Cow::Borrowed(content),
                    body_span: body
                        .unwrap_or(Span::new(terminator_span.start, terminator_span.start)),
                    terminator_span,
                });
            }
        }
        node.start_line = start_line;
        node.end_line = line_no;
        node.span = instr_span(last_end);
        for arg in &mut node.next {
            for child in &mut arg.children {
                child.start_line = start_line;
                child.end_line = line_no;
            }
        }
        covered = Some((covered.map_or(start_line, |c| c.0), line_no));
        sink.node(node);
    }

    let Some((start_line, end_line)) = covered else {
        return Err(SourceDiagnostic::error(
            src,
            Span::new(text.len(), text.len()),
            "dockerfile::no-instructions",
            "file with no instructions",
        )
        .with_help("a Dockerfile needs at least a FROM instruction"));
    };
    Ok(NodesRest {
        escape,
        directives,
        warnings,
        start_line,
        end_line,
    })
}

/// Bytes copied per piece by [`joined_text`], whatever the piece's length
/// up to this.
const PIECE_WINDOW: usize = 64;

/// The text of the source `pieces` (`(start, len)`, `total` bytes in all),
/// joined: borrowed when at most one of them is non-empty, copied once at
/// its final size otherwise. (A piece out of range reads as empty.) Also
/// what a [`ShellText`](super::ShellText) kept as pieces reads as.
///
/// A piece (a line) of up to [`PIECE_WINDOW`] bytes is copied as a window
/// of exactly that many source bytes, and the string then cut back to the
/// piece's end (the next piece overwrites the rest). A copy of a known size
/// is a few vector moves; a `memcpy` of each piece's own length, which
/// varies from line to line, branches on it and was mispredicted about
/// once a piece. Longer pieces, and windows that would end inside a
/// character or past the text, are copied by length.
pub(crate) fn joined_text<'a>(
    text: &'a str,
    pieces: impl Iterator<Item = (usize, usize)> + Clone,
    total: usize,
) -> Cow<'a, str> {
    let slice = |(start, len): (usize, usize)| text.get(start..start + len).unwrap_or_default();
    let mut filled = pieces.clone().filter(|p| p.1 > 0);
    match (filled.next(), filled.next()) {
        (None, _) => Cow::Borrowed(""),
        (Some(only), None) => Cow::Borrowed(slice(only)),
        _ => {
            // Room for the last window's overhang: no push reallocates.
            let mut joined = String::with_capacity(total + PIECE_WINDOW);
            for p @ (start, len) in pieces {
                let window = (len <= PIECE_WINDOW)
                    .then(|| text.get(start..start + PIECE_WINDOW))
                    .flatten();
                match window {
                    Some(window) => {
                        let end = joined.len() + len;
                        joined.push_str(window);
                        // `joined[..end]` is whole pieces, so `end` is a
                        // character boundary.
                        joined.truncate(end);
                    }
                    _ => joined.push_str(slice(p)),
                }
            }
            Cow::Owned(joined)
        }
    }
}

/// BuildKit's `canContainHeredoc`: RUN, COPY and ADD not in JSON form,
/// also as the trigger of an ONBUILD.
fn can_contain_heredoc(node: &Node) -> bool {
    let mut n = node;
    if node.keyword == Keyword::Onbuild
        && let Some(child) = node.next.first().and_then(|a| a.children.first())
    {
        n = child;
    }
    matches!(n.keyword, Keyword::Run | Keyword::Copy | Keyword::Add) && !n.json
}

/// BuildKit's `newNodeFromLine`: split the keyword and flags off a joined
/// line and run the instruction's line parser on the rest. The node's
/// `original` and `line_map` are left empty for the caller to move in.
pub(crate) fn new_node_from_line<'a>(
    line: &str,
    map: &LineMap,
    source: &'a str,
    escape: char,
    comments: Vec<Cow<'a, str>>,
    depth: usize,
) -> Result<Node<'a>, String> {
    let whole = Args {
        map,
        source,
        base: 0,
        escape,
    };
    let trimmed = trim_space(line);
    let t_start = line.len() - trim_start_space(line).len();
    let (cmd, flags, args, args_start) = match trimmed.find(is_ascii_blank) {
        None => (trimmed, Vec::new(), "", t_start + trimmed.len()),
        Some(i) => {
            let after =
                i + trimmed[i..].len() - trimmed[i..].trim_start_matches(is_ascii_blank).len();
            let rest = &trimmed[after..];
            let (rest_off, flags) = extract_builder_flags(rest, escape);
            let raw_args = &rest[rest_off..];
            let args = trim_space(raw_args);
            let lead = raw_args.len() - trim_start_space(raw_args).len();
            let flag_args = Args {
                map,
                source,
                base: t_start + after,
                escape,
            };
            (
                &trimmed[..i],
                flag_nodes(rest, flags, &flag_args),
                args,
                t_start + after + rest_off + lead,
            )
        }
    };
    let a = Args {
        map,
        source,
        base: args_start,
        escape,
    };
    let keyword = Keyword::of(cmd);
    use Keyword as K;
    let (next, json): Parsed = match keyword {
        K::Add | K::Copy | K::Volume => parse_maybe_json_to_list(args, &a)?,
        K::Arg => parse_name_or_name_val(args, &a),
        K::Cmd | K::Entrypoint | K::Run | K::Shell => parse_maybe_json(args, &a)?,
        K::Env => parse_name_val(args, "ENV", &a)?,
        K::Label => parse_name_val(args, "LABEL", &a)?,
        K::Expose | K::From => parse_strings_whitespace_delimited(args, &a),
        K::Healthcheck => parse_health_config(args, &a)?,
        K::Maintainer | K::Stopsignal | K::User | K::Workdir => parse_string(args, &a),
        K::Onbuild => {
            if args.is_empty() {
                (Vec::new(), false)
            } else {
                if depth >= MAX_ONBUILD_NESTING {
                    return Err(format!(
                        "ONBUILD nested more than {MAX_ONBUILD_NESTING} levels deep"
                    ));
                }
                let sub_map = map.slice(args_start, args_start + args.len());
                let mut child =
                    new_node_from_line(args, &sub_map, source, escape, Vec::new(), depth + 1)?;
                child.original = whole.text(args, args_start, args_start + args.len());
                child.line_map = sub_map;
                let at = map.span(args_start, args_start);
                (
                    vec![ArgNode {
                        value: Cow::Borrowed(""),
                        span: at,
                        text_range: args_start..args_start + args.len(),
                        children: vec![child],
                    }],
                    false,
                )
            }
        }
        // BuildKit keeps unknown instructions with one empty argument; the
        // typed layer rejects them.
        K::Unknown => (
            vec![ArgNode {
                value: Cow::Borrowed(""),
                span: map.span(args_start, args_start),
                text_range: args_start..args_start,
                children: Vec::new(),
            }],
            false,
        ),
    };
    Ok(Node {
        value: whole.text(cmd, t_start, t_start + cmd.len()),
        keyword,
        value_span: map.span(t_start, t_start + cmd.len()),
        original: Cow::Borrowed(""),
        flags,
        next,
        heredocs: Vec::new(),
        json,
        comments,
        start_line: 0,
        end_line: 0,
        span: map.span(t_start, t_start + trimmed.len()),
        line_map: LineMap::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ParsedNodes<'static>, SourceDiagnostic> {
        parse_nodes(&SourceFile::new("Dockerfile", text)).map(ParsedNodes::into_owned)
    }

    #[test]
    fn joins_continuations_and_maps_spans() {
        let text = "FROM a\nRUN echo hello \\\n  world\n";
        let p = parse(text).unwrap();
        let run = &p.children[1];
        assert_eq!(run.original, "RUN echo hello   world");
        assert_eq!(run.next[0].value, "echo hello   world");
        let span = run.next[0].span;
        assert_eq!(&text[span.start..span.end], "echo hello \\\n  world");
        assert_eq!((run.start_line, run.end_line), (2, 3));
        // "world" maps back to its own position on line 3.
        let at = run.line_map.span(17, 22);
        assert_eq!(&text[at.start..at.end], "world");
    }

    /// BuildKit's `PrevComment`: the comment lines before an instruction,
    /// each without its line's first byte and trimmed; an empty comment
    /// drops those before it, a directive is not a comment, and an empty
    /// line keeps them.
    #[test]
    fn a_node_keeps_the_comments_before_it() {
        let p =
            parse("# syntax=x\n# one\n#\n# two\n  # three \nRUN a\n# four\n\nCOPY a b\nENV A=1\n")
                .unwrap();
        assert_eq!(p.children[0].comments, ["two", "# three"]);
        assert_eq!(p.children[1].comments, ["four"]);
        assert!(p.children[2].comments.is_empty());
    }

    /// The line reader's vectors are kept from one parse to the next on a
    /// thread: a parse that stopped at an error with comment lines pending
    /// (a bad directive is first read as a comment) leaves nothing for the
    /// next parse, whose offsets index another text.
    #[test]
    fn a_failed_parse_leaves_no_comments_to_the_next() {
        let failed = parse("# escape=x\n# one two three four five\nFROM a\n");
        assert!(failed.is_err());
        let p = parse("FROM b\n").unwrap();
        assert!(p.children[0].comments.is_empty());
        let p = parse("# kept\nFROM c\n").unwrap();
        assert_eq!(p.children[0].comments, ["kept"]);
    }

    /// However long one file's instructions and comment runs, a thread
    /// keeps a bounded room for the next parse.
    #[test]
    fn a_thread_keeps_bounded_room_between_parses() {
        let long = format!(
            "{}FROM a\nRUN x \\\n{}y\n",
            "# c\n".repeat(5000),
            "  z \\\n".repeat(5000)
        );
        let p = parse(&long).unwrap();
        assert_eq!(p.children[0].comments.len(), 5000);
        let kept = LINE_SCRATCH.take();
        assert!(kept.pieces.capacity() <= LINE_SCRATCH_KEPT);
        assert!(kept.comments.capacity() <= LINE_SCRATCH_KEPT);
        assert!(kept.pieces.capacity() >= 64);
    }

    /// Leading white space is Go's `unicode.IsSpace`, beyond ASCII too, and
    /// may be longer than the 16 bytes the line reader's mask covers.
    #[test]
    fn leading_white_space_of_any_kind_and_length() {
        let long = " ".repeat(40);
        let text = format!(
            "FROM a\nRUN x \\\n\u{a0}# c\n{long}\t\n \u{2003}\n y\n\u{2003} RUN z\n{long}# d\n{long}\tCMD w\n"
        );
        let p = parse(&text).unwrap();
        let originals: Vec<&str> = p.children.iter().map(|n| n.original.as_ref()).collect();
        assert_eq!(originals, ["FROM a", "RUN x  y", "RUN z", "CMD w"]);
        // (BuildKit drops the line's first byte, here a space, not the `#`.)
        assert_eq!(p.children[3].comments, ["# d"]);
        // The two blank lines in the RUN are empty continuation lines.
        assert_eq!(p.warnings.len(), 1);
        assert_eq!(p.warnings[0].code, "dockerfile::no-empty-continuation");
    }

    #[test]
    fn rejects_oversized_input_and_lines() {
        let big = "#".repeat(MAX_SOURCE_BYTES + 1);
        assert_eq!(parse(&big).unwrap_err().code, "dockerfile::too-large");
        let long = format!("FROM a\nLABEL a={}\n", "x".repeat(MAX_LINE_BYTES));
        assert_eq!(parse(&long).unwrap_err().code, "dockerfile::line-too-long");
        let ok = format!("FROM a\nLABEL a={}\n", "x".repeat(MAX_LINE_BYTES - 8));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn reads_heredocs_verbatim() {
        let text = "FROM a\nRUN <<-EOF cat\n\techo $x\n\tEOF\nRUN b\n";
        let p = parse(text).unwrap();
        let h = &p.children[1].heredocs[0];
        assert_eq!(h.content, "\techo $x\n");
        assert_eq!(h.data(), "echo $x\n");
        assert_eq!(&text[h.body_span.start..h.body_span.end], "\techo $x\n");
        assert_eq!(p.children[2].start_line, 5);
        let err = parse("FROM a\nRUN <<EOF\nx\n").unwrap_err();
        assert_eq!(err.code, "dockerfile::unterminated-heredoc");
    }

    proptest::proptest! {
        /// The windowed copy gives the plain concatenation: pieces short
        /// and long, empty, near the end of the text, and next to
        /// multi-byte characters.
        #[test]
        fn joins_pieces_like_concatenation(
            text in "[a-zé€ \\n]{0,300}",
            cuts in proptest::collection::vec((0usize..300, 0usize..120), 0..8),
        ) {
            let mut pieces = Vec::new();
            let mut expected = String::new();
            for (start, len) in cuts {
                let start = start.min(text.len());
                let end = (start + len).min(text.len());
                if text.is_char_boundary(start) && text.is_char_boundary(end) {
                    pieces.push((start, end - start));
                    expected.push_str(&text[start..end]);
                }
            }
            let total = expected.len();
            let joined = joined_text(&text, pieces.iter().copied(), total);
            proptest::prop_assert_eq!(joined.as_ref(), expected.as_str());
        }
    }

    #[test]
    fn warns_on_empty_continuation_lines() {
        let p = parse("FROM a\nRUN a \\\n\n  b\n").unwrap();
        assert_eq!(p.warnings.len(), 1);
        assert!(p.warnings[0].message.contains("RUN a   b"));
    }
}
