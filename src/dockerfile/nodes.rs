//! Layer 1 output: BuildKit's parse tree, with spans.
//!
//! BuildKit's `Node` is one type used three ways: the root (whose children
//! are the instructions), an instruction (value = keyword, `Next` = its
//! arguments), and an argument (a value, or for ONBUILD an empty value whose
//! single child is the trigger instruction). Here the root is
//! [`ParsedNodes`], instructions are [`Node`] and arguments are
//! [`ArgNode`], with the `Next` chain stored as a vector. Every value keeps
//! the byte span it came from in the original text.
//!
//! The tree borrows from the source text: a value that is a contiguous
//! slice of the Dockerfile as written (nearly all of them) is a
//! [`Cow::Borrowed`] slice of it, and only values that differ from any
//! slice (joined continuation lines, decoded JSON strings, unquoted flags)
//! are owned. This is what makes parsing allocation-light; call
//! [`ParsedNodes::into_owned`] to detach a tree from its source.

use std::borrow::Cow;

use serde::Serialize;

use super::line_map::LineMap;
use crate::source::{SourceDiagnostic, SourceFile, Span};

/// A parsed Dockerfile at the line level: what BuildKit's `parser.Parse`
/// returns.
#[derive(Clone, Debug, Serialize)]
pub struct ParsedNodes<'a> {
    /// The instructions, in order.
    pub children: Vec<Node<'a>>,
    /// The escape token in effect (`\` unless an `escape` directive set a
    /// backtick).
    pub escape: char,
    /// The parser directives at the top of the file.
    pub directives: Vec<Directive>,
    /// Warnings (empty continuation lines).
    pub warnings: Vec<Warning>,
    /// First and last line covered by instructions (1-based).
    pub start_line: usize,
    pub end_line: usize,
}

pub use super::directives::Directive;

/// The instruction keywords BuildKit knows, matched case-insensitively.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Keyword {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
    /// Any other word (an error in the typed layer).
    Unknown,
}

/// The integers [`Keyword::of`] compares for a word of `3..=11` bytes
/// (`None` for another length): bytes `0..8` and `8..11`, little-endian
/// and zero-padded. Read with fixed-width loads that overlap inside the
/// word, not a byte loop (a copy of a short word of any length into a
/// window is a call to `memcpy`).
#[inline]
fn keyword_integers(b: &[u8]) -> Option<(u64, u32)> {
    let n = b.len();
    let u32_at = |i: usize| -> Option<u64> {
        Some(u64::from(u32::from_le_bytes(
            b.get(i..i + 4)?.try_into().ok()?,
        )))
    };
    match n {
        3 => Some((
            u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16,
            0,
        )),
        // Bytes `n - 4..4` are read twice, into the same places.
        4..=7 => Some((u32_at(0)? | u32_at(n - 4)? << (8 * (n - 4)), 0)),
        // The last four bytes, shifted down to the `n - 8` after byte 8.
        8..=11 => Some((
            u64::from_le_bytes(b.get(..8)?.try_into().ok()?),
            (u32_at(n - 4)? >> (8 * (12 - n))) as u32,
        )),
        _ => None,
    }
}

impl Keyword {
    /// The keyword a word names, by Go's `strings.ToLower` (so the Kelvin
    /// sign counts as `k`, as in BuildKit).
    pub fn of(word: &str) -> Keyword {
        // This runs for every instruction, so it is one table probe with
        // one well-predicted branch. The word's bytes, each with bit 0x20
        // set, are read as two little-endian integers (bytes 0..8 and
        // 8..11, zero-padded): setting that bit maps an ASCII upper-case
        // letter to its lower-case one and any byte that is not a letter
        // to a byte that is not a lower-case letter (never zero), unless it
        // was one already; keywords are letters only, so equality with a
        // keyword's integers is Go's `strings.ToLower` comparison for
        // ASCII words. The first integer times `HASH_MUL`, top five bits,
        // is a different slot for each keyword (a multiplier found by
        // search; `keywords_match_by_go_lower_case` checks the table).
        let b = word.as_bytes();
        if let Some((lo, hi)) = keyword_integers(b) {
            let keyword = Self::of_integers(lo, hi, b.len());
            if keyword != Keyword::Unknown {
                return keyword;
            }
        }
        if word.is_ascii() {
            Keyword::Unknown
        } else {
            // Go's lower-casing maps some non-ASCII characters to ASCII
            // letters (the Kelvin sign to `k`).
            Self::of_lower(&super::go_text::to_lower(word))
        }
    }

    /// [`Keyword::of`] the first `len` bytes of `window`, when they are
    /// ASCII (other bytes never match a keyword here; `of` then goes on to
    /// Go's lower-casing); without a loop over the bytes: the integers `of`
    /// compares are read from the window, folded and cut to `len` bytes.
    #[inline]
    pub(crate) fn of_ascii_prefix(window: &[u8; 16], len: usize) -> Keyword {
        if !(3..=11).contains(&len) {
            return Keyword::Unknown;
        }
        let [a, b, c, d, e, f, g, h, i, j, k, ..] = *window;
        let lo = u64::from_le_bytes([a, b, c, d, e, f, g, h]);
        let hi = u32::from_le_bytes([i, j, k, 0]);
        Self::of_integers(lo, hi, len)
    }

    /// [`Keyword::of`] the word of `3..=11` bytes whose first eight bytes
    /// (zero-padded) are `lo` and next three `hi`, as read, not yet folded
    /// to lower case: folded and cut to `len` bytes here.
    #[inline]
    fn of_integers(lo: u64, hi: u32, len: usize) -> Keyword {
        const LOWER: u64 = 0x2020_2020_2020_2020;
        let (lo, hi) = (lo | LOWER, hi | LOWER as u32);
        // Keep `len` bytes: all of `lo` and `len - 8` of `hi`, or `len` of
        // `lo` and none of `hi`.
        let (lo, hi) = if len >= 8 {
            // `len - 8` is at most 3: the shift stays in range.
            (lo, hi & ((1u32 << (8 * (len - 8))) - 1))
        } else {
            (lo & (u64::MAX >> (8 * (8 - len))), 0)
        };
        Self::probe(lo, hi)
    }

    /// The keyword whose integers (see [`Keyword::of`]) are `lo` and `hi`.
    #[inline]
    fn probe(lo: u64, hi: u32) -> Keyword {
        let (klo, khi, keyword) = KEYWORD_TABLE[keyword_slot(lo)];
        if (klo, khi) == (lo, hi) {
            keyword
        } else {
            Keyword::Unknown
        }
    }

    /// The instruction name in upper case (`INSTRUCTION` for an unknown
    /// one).
    pub fn name(self) -> &'static str {
        match self {
            Keyword::Add => "ADD",
            Keyword::Arg => "ARG",
            Keyword::Cmd => "CMD",
            Keyword::Copy => "COPY",
            Keyword::Entrypoint => "ENTRYPOINT",
            Keyword::Env => "ENV",
            Keyword::Expose => "EXPOSE",
            Keyword::From => "FROM",
            Keyword::Healthcheck => "HEALTHCHECK",
            Keyword::Label => "LABEL",
            Keyword::Maintainer => "MAINTAINER",
            Keyword::Onbuild => "ONBUILD",
            Keyword::Run => "RUN",
            Keyword::Shell => "SHELL",
            Keyword::Stopsignal => "STOPSIGNAL",
            Keyword::User => "USER",
            Keyword::Volume => "VOLUME",
            Keyword::Workdir => "WORKDIR",
            Keyword::Unknown => "INSTRUCTION",
        }
    }

    fn of_lower(s: &str) -> Keyword {
        match s {
            "add" => Keyword::Add,
            "arg" => Keyword::Arg,
            "cmd" => Keyword::Cmd,
            "copy" => Keyword::Copy,
            "entrypoint" => Keyword::Entrypoint,
            "env" => Keyword::Env,
            "expose" => Keyword::Expose,
            "from" => Keyword::From,
            "healthcheck" => Keyword::Healthcheck,
            "label" => Keyword::Label,
            "maintainer" => Keyword::Maintainer,
            "onbuild" => Keyword::Onbuild,
            "run" => Keyword::Run,
            "shell" => Keyword::Shell,
            "stopsignal" => Keyword::Stopsignal,
            "user" => Keyword::User,
            "volume" => Keyword::Volume,
            "workdir" => Keyword::Workdir,
            _ => Keyword::Unknown,
        }
    }
}

/// The multiplier of [`keyword_slot`].
const HASH_MUL: u64 = 0xbcfb_b050_acab_1a6b;

/// The slot of [`KEYWORD_TABLE`] for a word's first eight (folded) bytes.
const fn keyword_slot(lo: u64) -> usize {
    (lo.wrapping_mul(HASH_MUL) >> 59) as usize
}

/// A keyword's name as the two integers [`Keyword::of`] compares.
const fn keyword_key(name: &[u8]) -> (u64, u32) {
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 4];
    let mut i = 0;
    while i < name.len() {
        if i < 8 {
            lo[i] = name[i];
        } else {
            hi[i - 8] = name[i];
        }
        i += 1;
    }
    (u64::from_le_bytes(lo), u32::from_le_bytes(hi))
}

/// The keywords by slot; empty slots hold keys no word has (a folded byte
/// is never zero, and a word is at least three bytes).
const KEYWORD_TABLE: [(u64, u32, Keyword); 32] = {
    const NAMES: [(&[u8], Keyword); 18] = [
        (b"add", Keyword::Add),
        (b"arg", Keyword::Arg),
        (b"cmd", Keyword::Cmd),
        (b"copy", Keyword::Copy),
        (b"entrypoint", Keyword::Entrypoint),
        (b"env", Keyword::Env),
        (b"expose", Keyword::Expose),
        (b"from", Keyword::From),
        (b"healthcheck", Keyword::Healthcheck),
        (b"label", Keyword::Label),
        (b"maintainer", Keyword::Maintainer),
        (b"onbuild", Keyword::Onbuild),
        (b"run", Keyword::Run),
        (b"shell", Keyword::Shell),
        (b"stopsignal", Keyword::Stopsignal),
        (b"user", Keyword::User),
        (b"volume", Keyword::Volume),
        (b"workdir", Keyword::Workdir),
    ];
    let mut table = [(0, 0, Keyword::Unknown); 32];
    let mut i = 0;
    while i < NAMES.len() {
        let (lo, hi) = keyword_key(NAMES[i].0);
        let slot = keyword_slot(lo);
        // Two keywords in one slot would fail the build.
        assert!(table[slot].0 == 0, "keyword slots collide");
        table[slot] = (lo, hi, NAMES[i].1);
        i += 1;
    }
    table
};

/// One instruction.
#[derive(Clone, Debug, Serialize)]
pub struct Node<'a> {
    /// The keyword as written (`RUN`, `run`, ...); unknown keywords are kept.
    pub value: Cow<'a, str>,
    /// Which instruction `value` names.
    pub keyword: Keyword,
    pub value_span: Span,
    /// The instruction text with continuation lines joined, as BuildKit
    /// passes it on (`Original`).
    pub original: Cow<'a, str>,
    /// Flags (`--from=build`) in source order, quotes and escapes removed.
    pub flags: Vec<NodeFlag<'a>>,
    /// The arguments (BuildKit's `Next` chain).
    pub next: Vec<ArgNode<'a>>,
    /// Heredoc bodies that follow the instruction line.
    pub heredocs: Vec<Heredoc<'a>>,
    /// The arguments were a JSON array (exec form); BuildKit's `json`
    /// attribute.
    pub json: bool,
    /// Comment lines directly above the instruction (BuildKit's
    /// `PrevComment`).
    pub comments: Vec<Cow<'a, str>>,
    /// 1-based first and last line, heredoc bodies included.
    pub start_line: usize,
    pub end_line: usize,
    /// The whole instruction in the source, heredoc bodies included.
    pub span: Span,
    /// Maps offsets in `original` to offsets in the source.
    pub line_map: LineMap,
}

/// An instruction flag such as `--mount=type=cache,target=/root/.cache`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeFlag<'a> {
    /// The flag as BuildKit sees it (`--name=value`, quotes removed).
    pub text: Cow<'a, str>,
    /// The flag as written.
    pub span: Span,
    /// The value after `=` as written (the whole flag when quotes or
    /// escapes make the written text differ from `text`).
    pub value_span: Span,
    /// Where the flag as written sits in the node's `original` text.
    pub text_range: std::ops::Range<usize>,
    /// The flag was written without quotes or escapes, so `text` equals
    /// `original[text_range]`.
    pub literal: bool,
}

/// One argument of an instruction.
#[derive(Clone, Debug, Serialize)]
pub struct ArgNode<'a> {
    pub value: Cow<'a, str>,
    pub span: Span,
    /// Where the value came from in the node's `original` text (for a JSON
    /// element, the string literal with its quotes).
    pub text_range: std::ops::Range<usize>,
    /// The trigger instruction of ONBUILD; empty otherwise.
    pub children: Vec<Node<'a>>,
}

/// A heredoc body attached to a RUN, COPY or ADD instruction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Heredoc<'a> {
    /// The terminator word, quotes removed.
    pub name: String,
    /// The file descriptor written before `<<` (0 if none).
    pub fd: u64,
    /// False when the terminator was quoted: the body is not expanded.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped (from the terminator while
    /// reading, from the body when it is used).
    pub chomp: bool,
    /// The body exactly as written, line endings included, tabs not
    /// stripped.
    pub content: Cow<'a, str>,
    /// The body in the source (empty at the terminator for an empty body).
    pub body_span: Span,
    /// The terminator line.
    pub terminator_span: Span,
}

impl<'a> Heredoc<'a> {
    /// The body as used: with leading tabs stripped for `<<-`.
    pub fn data(&self) -> Cow<'a, str> {
        if self.chomp {
            Cow::Owned(super::heredoc::chomp(&self.content))
        } else {
            self.content.clone()
        }
    }

    /// The same heredoc, owning its text.
    pub fn into_owned(self) -> Heredoc<'static> {
        Heredoc {
            content: Cow::Owned(self.content.into_owned()),
            ..self
        }
    }
}

/// The part `range` of `text`, borrowed when `text` is.
pub(crate) fn cow_slice<'a>(text: &Cow<'a, str>, range: std::ops::Range<usize>) -> Cow<'a, str> {
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(s.get(range).unwrap_or_default()),
        Cow::Owned(s) => Cow::Owned(s.get(range).unwrap_or_default().to_owned()),
    }
}

/// A copy of `text` that owns its bytes.
pub(crate) fn owned(text: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(text.into_owned())
}

impl ParsedNodes<'_> {
    /// The same tree, owning all its text (detached from the source).
    pub fn into_owned(self) -> ParsedNodes<'static> {
        ParsedNodes {
            children: self.children.into_iter().map(Node::into_owned).collect(),
            escape: self.escape,
            directives: self.directives,
            warnings: self.warnings,
            start_line: self.start_line,
            end_line: self.end_line,
        }
    }
}

impl Node<'_> {
    /// The same node, owning all its text.
    pub fn into_owned(self) -> Node<'static> {
        Node {
            value: owned(self.value),
            keyword: self.keyword,
            value_span: self.value_span,
            original: owned(self.original),
            flags: self.flags.into_iter().map(NodeFlag::into_owned).collect(),
            next: self.next.into_iter().map(ArgNode::into_owned).collect(),
            heredocs: self.heredocs.into_iter().map(Heredoc::into_owned).collect(),
            json: self.json,
            comments: self.comments.into_iter().map(owned).collect(),
            start_line: self.start_line,
            end_line: self.end_line,
            span: self.span,
            line_map: self.line_map,
        }
    }
}

impl NodeFlag<'_> {
    /// The same flag, owning its text.
    pub fn into_owned(self) -> NodeFlag<'static> {
        NodeFlag {
            text: owned(self.text),
            ..self
        }
    }
}

impl ArgNode<'_> {
    /// The same argument, owning its text.
    pub fn into_owned(self) -> ArgNode<'static> {
        ArgNode {
            value: owned(self.value),
            span: self.span,
            text_range: self.text_range,
            children: self.children.into_iter().map(Node::into_owned).collect(),
        }
    }
}

/// A non-fatal finding, serialisable, convertible to a
/// [`SourceDiagnostic`] for display.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Stable code, e.g. `dockerfile::no-empty-continuation`.
    pub code: String,
    pub message: String,
    pub span: Span,
    pub help: Option<String>,
}

impl Warning {
    pub fn to_diagnostic(&self, source: &SourceFile) -> SourceDiagnostic {
        let d = SourceDiagnostic::warning(source, self.span, &self.code, self.message.clone());
        match &self.help {
            Some(h) => d.with_help(h.clone()),
            None => d,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Keyword, keyword_integers};
    use crate::dockerfile::instructions::INSTRUCTION_NAMES;

    /// The overlapping loads read what a zero-padded window of the word
    /// holds, at every length, and nothing at other lengths.
    #[test]
    fn keyword_integers_are_the_zero_padded_window() {
        for n in 0..=16usize {
            for seed in 1..=40u8 {
                let word: Vec<u8> = (0..n as u8)
                    .map(|i| seed.wrapping_mul(i + 3).wrapping_add(i) | 1)
                    .collect();
                let expected = (3..=11).contains(&n).then(|| {
                    let mut window = [0u8; 16];
                    window[..n].copy_from_slice(&word);
                    let lo = u64::from_le_bytes(window[..8].try_into().unwrap());
                    let hi = u32::from_le_bytes([window[8], window[9], window[10], 0]);
                    (lo, hi)
                });
                assert_eq!(keyword_integers(&word), expected, "{word:?}");
            }
        }
    }

    #[test]
    fn keywords_from_a_window_match_by_go_lower_case() {
        // Every spelling `of` is tested with, and shorter and longer words,
        // followed in the window by a blank and other bytes.
        let mut words: Vec<String> = Vec::new();
        for name in INSTRUCTION_NAMES {
            words.push(name.to_string());
            words.push(name.to_ascii_lowercase());
            words.push(format!("{name}S"));
            words.push(name[1..].to_string());
            words.push(name[..name.len() - 1].to_string());
        }
        words.extend(
            ["a", "ab", "RUNX", "fromage", "ENTRYPOINTS", "HEALTHCHECK1"].map(String::from),
        );
        for word in &words {
            for tail in [" x", "\tRUN --mount=x", "", "\rFROMFROMFROM"] {
                let mut window = [0u8; 16];
                let line = format!("{word}{tail}");
                let n = line.len().min(16);
                window[..n].copy_from_slice(&line.as_bytes()[..n]);
                if word.len() <= 16 {
                    assert_eq!(
                        Keyword::of_ascii_prefix(&window, word.len()),
                        Keyword::of(word),
                        "{line:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn keywords_match_by_go_lower_case() {
        for name in INSTRUCTION_NAMES {
            let lower = name.to_ascii_lowercase();
            let mixed: String = name
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 1 {
                        c.to_ascii_lowercase()
                    } else {
                        c
                    }
                })
                .collect();
            for spelling in [name.to_string(), lower, mixed] {
                assert_eq!(Keyword::of(&spelling).name(), name, "{spelling}");
            }
            // One letter more or less is another word.
            assert_eq!(Keyword::of(&format!("{name}S")), Keyword::Unknown);
            assert_eq!(Keyword::of(&name[1..]), Keyword::Unknown);
        }
        // Every keyword has its own slot (the table is built at compile
        // time and would not build with a collision; this checks that
        // every keyword made it in).
        let in_table = super::KEYWORD_TABLE
            .iter()
            .filter(|(lo, _, _)| *lo != 0)
            .count();
        assert_eq!(in_table, INSTRUCTION_NAMES.len());
        // Go lower-cases the Kelvin sign to `k`, as BuildKit does.
        assert_eq!(Keyword::of("WOR\u{212a}DIR"), Keyword::Workdir);
        assert_eq!(Keyword::of("\u{212a}"), Keyword::Unknown);
        assert_eq!(Keyword::of(""), Keyword::Unknown);
        assert_eq!(Keyword::of("@DD"), Keyword::Unknown);
    }
}
