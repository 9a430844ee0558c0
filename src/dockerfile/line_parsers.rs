//! BuildKit's per-instruction line parsers: how the text after the keyword
//! becomes the argument chain of a node.
//!
//! | parser | instructions |
//! |---|---|
//! | whole text as one value | MAINTAINER, STOPSIGNAL, USER, WORKDIR |
//! | split at blanks | FROM, EXPOSE |
//! | JSON array, else one value | RUN, CMD, ENTRYPOINT, SHELL |
//! | JSON array, else split at blanks | ADD, COPY, VOLUME |
//! | `k=v ...` or legacy `k v` | ENV, LABEL |
//! | words, `k` or `k=v` | ARG |
//! | type word, then JSON-or-one-value | HEALTHCHECK |
//! | a nested instruction | ONBUILD |
//!
//! Every function works on a slice of the joined line and records, for each
//! value, the byte range it came from so the caller can map it to a span.
//!
//! One deliberate difference from BuildKit: Go scans flags and the
//! HEALTHCHECK type word byte by byte, so a non-ASCII character there is
//! split into mis-decoded bytes; here they are scanned by character.

use std::borrow::Cow;

use super::byte_masks::{blank_mask, flag_stop_mask};
use super::go_text::{is_ascii_blank, is_ascii_space_byte, is_space, quote};
use super::json::{JsonArrayError, for_each_json_string};
use super::line_map::LineMap;
use super::nodes::{ArgNode, NodeFlag};

/// Context for turning ranges of an argument text into nodes with spans.
pub(crate) struct Args<'m, 'a> {
    pub map: &'m LineMap,
    /// The whole source text, which `map` points into: values that are a
    /// contiguous slice of it are borrowed instead of copied.
    pub source: &'a str,
    /// Offset of the argument text in the joined line.
    pub base: usize,
    pub escape: char,
}

impl<'a> Args<'_, 'a> {
    /// `value`, which is the joined text at `start..end`, as a slice of the
    /// source when it is one there, else as a copy.
    pub(crate) fn text(&self, value: &str, start: usize, end: usize) -> Cow<'a, str> {
        match self.borrowed(value, start, end) {
            Some(slice) => slice,
            None => Cow::Owned(value.to_owned()),
        }
    }

    /// [`Self::text`] when it borrows from the source; `None` where it
    /// would copy.
    #[inline(always)]
    pub(crate) fn borrowed(&self, value: &str, start: usize, end: usize) -> Option<Cow<'a, str>> {
        if let Some(slice) = self.source_slice(value) {
            return Some(Cow::Borrowed(slice));
        }
        let range = self
            .map
            .contiguous_range(self.base + start, self.base + end);
        // The slice equals `value` by construction (pieces are verbatim
        // source); it is compared anyway so that a mistake can only cost a
        // copy, never give a wrong value.
        match range.and_then(|r| self.source.get(r)) {
            Some(slice) if slice == value => Some(Cow::Borrowed(slice)),
            _ => None,
        }
    }

    /// `value` itself as a slice of the source, when it lies in the
    /// source's memory: the joined line of a one-line instruction is
    /// borrowed from the source, so its values are found by address,
    /// without a look-up in the map or a comparison.
    fn source_slice(&self, value: &str) -> Option<&'a str> {
        let source = self.source.as_bytes().as_ptr_range();
        let v = value.as_bytes().as_ptr_range();
        if v.start < source.start || v.end > source.end {
            return None;
        }
        let offset = v.start as usize - source.start as usize;
        self.source.get(offset..offset + value.len())
    }

    /// An argument whose value is the joined text at `start..end`.
    fn node(&self, value: &str, start: usize, end: usize) -> ArgNode<'a> {
        self.node_with(self.text(value, start, end), start, end)
    }

    /// An argument with a value that differs from its text (a decoded JSON
    /// string).
    fn node_with(&self, value: Cow<'a, str>, start: usize, end: usize) -> ArgNode<'a> {
        ArgNode {
            value,
            span: self.map.span(self.base + start, self.base + end),
            text_range: self.base + start..self.base + end,
            children: Vec::new(),
        }
    }

    /// A copy of this context for a sub-slice starting at `offset`.
    fn shifted(&self, offset: usize) -> Args<'_, 'a> {
        Args {
            map: self.map,
            source: self.source,
            base: self.base + offset,
            escape: self.escape,
        }
    }
}

/// The result of a line parser: the argument chain and whether it was a
/// JSON array.
pub(crate) type Parsed<'a> = (Vec<ArgNode<'a>>, bool);

/// One flag word found by [`extract_builder_flags`]: its byte range in the
/// line and, when quotes or escapes make BuildKit's text differ from the
/// written one, that text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FlagWord {
    pub start: usize,
    pub end: usize,
    pub unquoted: Option<String>,
}

#[cfg(test)]
impl FlagWord {
    /// The flag as BuildKit sees it, `line` being the text it was found in.
    pub fn text<'l>(&'l self, line: &'l str) -> &'l str {
        match &self.unquoted {
            Some(text) => text,
            None => line.get(self.start..self.end).unwrap_or_default(),
        }
    }
}

/// BuildKit's `extractBuilderFlags`: the leading `--flag` words of `line`.
/// Returns the offset where the remaining text starts (`line.len()` when
/// nothing remains) and the flags with their byte ranges in `line`.
/// A lone `--` ends the flags and is dropped.
pub(crate) fn extract_builder_flags(line: &str, escape: char) -> (usize, Vec<FlagWord>) {
    let first = super::go_text::trim_start_space(line);
    if !first.starts_with("--") {
        // No flags (the common case).
        return (line.len() - first.len(), Vec::new());
    }
    literal_flags(line, escape).unwrap_or_else(|| flags_by_char(line, escape))
}

/// [`extract_builder_flags`] for the usual flags, plain ASCII without
/// quotes or escapes, found byte by byte; `None` if anything else occurs,
/// and then [`flags_by_char`] does the work.
fn literal_flags(line: &str, escape: char) -> Option<(usize, Vec<FlagWord>)> {
    let mut words = Vec::new();
    let rest = scan_literal_flags(line, escape, |start, end| {
        words.push(FlagWord {
            start,
            end,
            unquoted: None,
        })
    })?;
    Some((rest, words))
}

/// The scan of [`literal_flags`]: each flag's byte range goes to
/// `on_flag`, and the offset where the remaining text starts is returned;
/// `None` (with some flags perhaps already handed over) when a flag has a
/// quote, an escape or a non-ASCII byte.
pub(crate) fn scan_literal_flags(
    line: &str,
    escape: char,
    mut on_flag: impl FnMut(usize, usize),
) -> Option<usize> {
    let b = line.as_bytes();
    let escape = escape_byte(escape);
    let special = |c: u8| is_flag_special(c, escape);
    let mut pos = 0;
    loop {
        while b.get(pos).is_some_and(|&c| is_ascii_space_byte(c)) {
            pos += 1;
        }
        match b.get(pos) {
            None => return Some(line.len()),
            Some(&c) if special(c) => return None,
            Some(_) if !b[pos..].starts_with(b"--") => return Some(pos),
            Some(_) => {}
        }
        let start = pos;
        // White space ends the flag; a special byte makes it one for
        // BuildKit's scan.
        pos = flag_stop(b, pos, escape);
        if b.get(pos).is_some_and(|&c| special(c)) {
            return None;
        }
        if pos - start == 2 {
            // A lone `--` ends the flags.
            return Some(pos);
        }
        on_flag(start, pos);
    }
}

/// Whether `c` makes a flag one that BuildKit's character scan must read:
/// a quote, the `escape` byte (see [`escape_byte`]), or a byte of a
/// non-ASCII character. (`flag_stop_mask` tests the same bytes, with
/// white space, 16 at a time.)
#[inline(always)]
fn is_flag_special(c: u8, escape: u8) -> bool {
    c >= 0x80 || c == b'\'' || c == b'"' || c == escape
}

/// The first byte of `b` at or after `pos` that ends a flag written as is
/// (white space) or makes it one BuildKit's scan must read (a quote, the
/// escape byte, a byte of a non-ASCII character); `b.len()` if none does.
/// Sixteen bytes at a time: a flag is tens of bytes, and a loop over them
/// would be mispredicted where it ends.
#[inline]
fn flag_stop(b: &[u8], mut pos: usize, escape: u8) -> usize {
    let len = b.len();
    if len < 16 {
        let is_stop = |c: u8| is_ascii_space_byte(c) || is_flag_special(c, escape);
        return b
            .iter()
            .skip(pos)
            .position(|&c| is_stop(c))
            .map_or(len, |i| pos + i);
    }
    while pos < len {
        // The last window ends at the end of `b`, overlapping the one
        // before; the bytes before `pos` are shifted out.
        let base = pos.min(len - 16);
        let Some(window) = b.get(base..).and_then(|w| w.first_chunk::<16>()) else {
            break;
        };
        let stops = flag_stop_mask(window, escape) >> (pos - base);
        if stops != 0 {
            return pos + stops.trailing_zeros() as usize;
        }
        pos = base + 16;
    }
    len
}

/// [`extract_builder_flags`] character by character, BuildKit's way.
fn flags_by_char(line: &str, escape: char) -> (usize, Vec<FlagWord>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    // The word as BuildKit builds it; `literal` while it equals the text.
    let mut word = String::new();
    let mut literal = true;
    let mut word_start = 0;
    let mut quote_char = '\0';
    let mut blank_ok = false;
    let mut finish = |word: &str, literal: bool, start: usize, end: usize| {
        words.push(FlagWord {
            start,
            end,
            unquoted: (!literal).then(|| word.to_owned()),
        })
    };
    let mut chars = line.char_indices().peekable();
    let rest = loop {
        let (pos, ch) = match chars.next() {
            Some((p, c)) => (p, Some(c)),
            None => (line.len(), None),
        };
        if phase == Phase::Spaces {
            let Some(c) = ch else { break line.len() };
            if is_space(c) {
                continue;
            }
            if c != '-' || !line[pos + 1..].starts_with('-') {
                break pos;
            }
            phase = Phase::Word;
            word_start = pos;
        }
        let Some(mut c) = ch else {
            if word != "--" && (blank_ok || !word.is_empty()) {
                finish(&word, literal, word_start, line.len());
            }
            break line.len();
        };
        if phase == Phase::Word {
            if is_space(c) {
                phase = Phase::Spaces;
                if word == "--" {
                    break pos;
                }
                if blank_ok || !word.is_empty() {
                    finish(&word, literal, word_start, pos);
                }
                word.clear();
                literal = true;
                blank_ok = false;
                continue;
            }
            if c == '\'' || c == '"' {
                quote_char = c;
                blank_ok = true;
                literal = false;
                phase = Phase::Quote;
                continue;
            }
            if c == escape {
                literal = false;
                match chars.next() {
                    None => {
                        // A trailing escape is dropped.
                        if word != "--" && (blank_ok || !word.is_empty()) {
                            finish(&word, literal, word_start, line.len());
                        }
                        break line.len();
                    }
                    Some((_, n)) => c = n,
                }
            }
            word.push(c);
            continue;
        }
        // In quotes.
        if c == quote_char {
            phase = Phase::Word;
            continue;
        }
        if c == escape {
            match chars.next() {
                None => {
                    if word != "--" && (blank_ok || !word.is_empty()) {
                        finish(&word, literal, word_start, line.len());
                    }
                    break line.len();
                }
                Some((_, n)) => c = n,
            }
        }
        word.push(c);
    };
    (rest, words)
}

/// The flags of an instruction as nodes with spans; `line` is the text the
/// flag ranges index into.
pub(crate) fn flag_nodes<'a>(
    line: &str,
    flags: Vec<FlagWord>,
    a: &Args<'_, 'a>,
) -> Vec<NodeFlag<'a>> {
    flags
        .into_iter()
        .map(|flag| {
            let written = line.get(flag.start..flag.end).unwrap_or_default();
            match flag.unquoted {
                Some(text) if text != written => {
                    let (s, e) = (a.base + flag.start, a.base + flag.end);
                    let span = a.map.span(s, e);
                    NodeFlag {
                        text: Cow::Owned(text),
                        span,
                        value_span: span,
                        text_range: s..e,
                        literal: false,
                    }
                }
                _ => literal_flag_node(line, flag.start, flag.end, a),
            }
        })
        .collect()
}

/// The node of a flag written as BuildKit reads it (no quotes or escapes)
/// at `start..end` of `line`.
pub(crate) fn literal_flag_node<'a>(
    line: &str,
    start: usize,
    end: usize,
    a: &Args<'_, 'a>,
) -> NodeFlag<'a> {
    let (s, e) = (a.base + start, a.base + end);
    let span = a.map.span(s, e);
    let text = a.text(line.get(start..end).unwrap_or_default(), start, end);
    let value_span = match flag_value_start(&text) {
        Some(v) => a.map.span(s + v, e),
        None => span,
    };
    NodeFlag {
        text,
        span,
        value_span,
        text_range: s..e,
        literal: true,
    }
}

/// Where a flag's value starts in its text (after its first `=`), if it
/// has one: the value span of every flag node, however it is made.
#[inline]
pub(crate) fn flag_value_start(flag: &str) -> Option<usize> {
    // A flag name is a few bytes: a plain scan beats the searcher.
    flag.bytes().position(|b| b == b'=').map(|eq| eq + 1)
}

/// BuildKit's `parseWords`: split at blanks outside quotes, keeping quotes
/// and escapes in the words. Each word is a contiguous range of `rest`.
#[cfg(test)]
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<(usize, usize)> {
    Words::new(rest, escape).collect()
}

/// The words of [`parse_words`], one at a time (no vector for callers that
/// use each word once).
pub(crate) struct Words<'s> {
    rest: &'s str,
    escape: char,
    i: usize,
    done: bool,
}

impl<'s> Words<'s> {
    pub(crate) fn new(rest: &'s str, escape: char) -> Self {
        Words {
            rest,
            escape,
            i: 0,
            done: false,
        }
    }
}

/// The character at byte `i` of `s` and its length in bytes; ASCII, by far
/// the most common, is read without UTF-8 decoding.
#[inline]
fn char_at(s: &str, i: usize) -> Option<(char, usize)> {
    match *s.as_bytes().get(i)? {
        b if b.is_ascii() => Some((char::from(b), 1)),
        _ => s.get(i..)?.chars().next().map(|c| (c, c.len_utf8())),
    }
}

/// `escape` as the byte it is when ASCII; a non-ASCII escape gets a byte
/// value that no ASCII byte equals, so byte scans leave it to the
/// character path.
fn escape_byte(escape: char) -> u8 {
    u8::try_from(escape)
        .ok()
        .filter(u8::is_ascii)
        .unwrap_or(0xff)
}

/// The bytes that only extend a word outside quotes: ASCII other than
/// white space and quotes (the escape is checked on its own).
const WORD_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = !matches!(
            b as u8,
            b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | b'\'' | b'"'
        );
        b += 1;
    }
    table
};

impl Iterator for Words<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        #[derive(PartialEq)]
        enum Phase {
            Spaces,
            Word,
            Quote,
        }
        if self.done {
            return None;
        }
        let rest = self.rest;
        let bytes = rest.as_bytes();
        let escape = self.escape;
        let escape_b = escape_byte(escape);
        let n = rest.len();
        let mut phase = Phase::Spaces;
        let mut quote_char = '\0';
        let mut blank_ok = false;
        let (mut start, mut end) = (0, 0);
        let mut i = self.i;
        loop {
            // Runs of ASCII bytes that only extend the word are skipped
            // without the character-by-character logic below: in a word,
            // anything but a blank, a quote or the escape; in quotes,
            // anything but the closing quote or an escape that counts.
            let run_start = i;
            match phase {
                Phase::Spaces => {}
                Phase::Word => {
                    while bytes
                        .get(i)
                        .is_some_and(|&b| WORD_BYTE[usize::from(b)] && b != escape_b)
                    {
                        i += 1;
                    }
                }
                Phase::Quote => {
                    // The escape counts in double quotes only.
                    let quote = quote_char as u8;
                    let escape_here = if quote_char == '"' { escape_b } else { quote };
                    while bytes
                        .get(i)
                        .is_some_and(|&b| b.is_ascii() && b != quote && b != escape_here)
                    {
                        i += 1;
                    }
                }
            }
            if i > run_start {
                end = i;
            }
            let ch = char_at(rest, i);
            if phase == Phase::Spaces {
                match ch {
                    None => {
                        self.done = true;
                        return None;
                    }
                    Some((c, w)) if is_space(c) => {
                        i += w;
                        continue;
                    }
                    Some(_) => {
                        phase = Phase::Word;
                        start = i;
                        end = i;
                    }
                }
            }
            let Some((c, w)) = ch else {
                self.done = true;
                return (blank_ok || end > start).then_some((start, end));
            };
            if phase == Phase::Word {
                if is_space(c) {
                    i += w;
                    if blank_ok || end > start {
                        self.i = i;
                        return Some((start, end));
                    }
                    phase = Phase::Spaces;
                    blank_ok = false;
                    continue;
                }
                if c == '\'' || c == '"' {
                    quote_char = c;
                    blank_ok = true;
                    phase = Phase::Quote;
                }
                if c == escape {
                    if i + w == n {
                        // An escape at the very end is skipped.
                        i += w;
                        continue;
                    }
                    i += w;
                    i += char_at(rest, i).map_or(0, |(_, w)| w);
                    end = i;
                    continue;
                }
                i += w;
                end = i;
                continue;
            }
            // In quotes.
            if c == quote_char {
                phase = Phase::Word;
            }
            if c == escape && quote_char != '\'' {
                if i + w == n {
                    phase = Phase::Word;
                    i += w;
                    continue;
                }
                i += w;
                i += char_at(rest, i).map_or(0, |(_, w)| w);
                end = i;
                continue;
            }
            i += w;
            end = i;
        }
    }
}

/// The first run of `[\t\v\f\r ]` in `s` from byte `from`, as a byte
/// range. The blanks are ASCII and UTF-8 never uses ASCII bytes inside a
/// multi-byte character, so the search is done on bytes.
pub(crate) fn find_blank_run(s: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = s.as_bytes();
    let blank = |b: &u8| is_ascii_blank(char::from(*b));
    let start = from + bytes.get(from..)?.iter().position(blank)?;
    let len = bytes[start..]
        .iter()
        .position(|b| !blank(b))
        .unwrap_or(s.len() - start);
    Some((start, start + len))
}

/// [`find_blank_run`] of the text that is `source[at..at + len]`, read 16
/// bytes at a time from `source` (whose bytes after the text are masked
/// off): words are a few to a few tens of bytes, and a loop over their
/// bytes is mispredicted where it ends. Falls back to [`find_blank_run`]
/// where `source` has fewer than 16 bytes left.
pub(crate) fn find_blank_run_in(
    source: &str,
    at: usize,
    len: usize,
    from: usize,
) -> Option<(usize, usize)> {
    let bytes = source.as_bytes();
    let mut pos = from;
    let mut run_start = None;
    while pos < len {
        let Some(window) = bytes.get(at + pos..).and_then(|w| w.first_chunk::<16>()) else {
            let text = source.get(at..at + len)?;
            return match run_start {
                None => find_blank_run(text, pos),
                // The run goes on to the first byte that is not a blank.
                Some(start) => Some((start, find_blank_run(text, start)?.1)),
            };
        };
        // The window's bytes that are the text's (all 16 but at its end).
        let in_text: u16 = match len - pos {
            n if n >= 16 => u16::MAX,
            n => (1 << n) - 1,
        };
        let blanks = blank_mask(window) & in_text;
        // Where the run starts, and its first bit in this window.
        let (start, first_bit) = match run_start {
            Some(start) => (start, 0),
            None if blanks == 0 => {
                if in_text != u16::MAX {
                    return None;
                }
                pos += 16;
                continue;
            }
            None => {
                let bit = blanks.trailing_zeros();
                (pos + bit as usize, bit)
            }
        };
        // Bytes of the text from the run's start on that are not blanks.
        let after = !blanks & in_text & (u16::MAX << first_bit);
        if after != 0 {
            return Some((start, pos + after.trailing_zeros() as usize));
        }
        run_start = Some(start);
        pos += 16;
    }
    run_start.map(|start| (start, len))
}

/// The words of a text of at most 64 bytes, split at runs of blanks, as
/// two masks: bit `i` of `starts` marks a byte that starts a word, bit `i`
/// of `lasts` one that ends it (its last byte), in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WordBounds {
    pub starts: u64,
    pub lasts: u64,
}

impl Iterator for WordBounds {
    /// The next word, as the byte range `start..end` of the text.
    type Item = (usize, usize);

    #[inline]
    fn next(&mut self) -> Option<(usize, usize)> {
        if self.starts == 0 {
            return None;
        }
        let start = self.starts.trailing_zeros() as usize;
        let end = self.lasts.trailing_zeros() as usize + 1;
        self.starts &= self.starts - 1;
        self.lasts &= self.lasts.wrapping_sub(1);
        Some((start, end))
    }
}

/// The blank-separated words of the text `source[at..at + len]`, read off
/// one mask of its bytes (no loop over words or bytes, whose exits the
/// branch predictor cannot know): what splitting at [`find_blank_run`]
/// gives, for a text of 1 to 64 bytes that starts and ends with a byte
/// that is not a blank. `None` for any other text.
#[inline]
pub(crate) fn blank_separated_in(source: &str, at: usize, len: usize) -> Option<WordBounds> {
    if len == 0 || len > 64 {
        return None;
    }
    let bytes = source.as_bytes();
    let mut block = [0u8; 64];
    let window: &[u8; 64] = match bytes.get(at..).and_then(|rest| rest.first_chunk::<64>()) {
        Some(window) => window,
        None => {
            let rest = bytes.get(at..at + len)?;
            block[..len].copy_from_slice(rest);
            &block
        }
    };
    let mut blanks = 0u64;
    for (i, chunk) in window.as_chunks::<16>().0.iter().enumerate() {
        blanks |= u64::from(blank_mask(chunk)) << (16 * i);
    }
    let in_text = if len == 64 {
        u64::MAX
    } else {
        (1u64 << len) - 1
    };
    let word = !blanks & in_text;
    // The text must start and end inside a word.
    if word & 1 == 0 || word >> (len - 1) & 1 == 0 {
        return None;
    }
    Some(WordBounds {
        starts: word & !(word << 1),
        lasts: word & !(word >> 1),
    })
}

/// BuildKit's `parseNameVal` (ENV, LABEL): `k=v k2=v2` gives key, value,
/// `=` per pair; the legacy `k v w` gives key `k`, value `v w` and an empty
/// separator.
pub(crate) fn parse_name_val<'a>(
    rest: &str,
    key: &str,
    a: &Args<'_, 'a>,
) -> Result<Parsed<'a>, String> {
    let mut words = Words::new(rest, a.escape);
    let Some(first) = words.next() else {
        return Ok((Vec::new(), false));
    };
    if !rest[first.0..first.1].contains('=') {
        let Some((bs, be)) = find_blank_run(rest, 0) else {
            return Err(format!("{key} must have two arguments"));
        };
        return Ok((
            vec![
                a.node(&rest[..bs], 0, bs),
                a.node(&rest[be..], be, rest.len()),
                a.node("", be, be),
            ],
            false,
        ));
    }
    // Three nodes per `k=v` word; every such word holds at least one `=`,
    // so this is enough and usually exact.
    let equals = rest.bytes().filter(|&b| b == b'=').count();
    let mut out = Vec::with_capacity(3 * equals);
    for (s, e) in std::iter::once(first).chain(words) {
        let word = &rest[s..e];
        let Some(eq) = word.find('=') else {
            return Err(format!(
                "Syntax error - can't find = in {}. Must be of the form: name=value",
                quote(word)
            ));
        };
        out.push(a.node(&word[..eq], s, s + eq));
        out.push(a.node(&word[eq + 1..], s + eq + 1, e));
        out.push(a.node("=", s + eq, s + eq + 1));
    }
    Ok((out, false))
}

/// BuildKit's `parseNameOrNameVal` (ARG): one node per word.
pub(crate) fn parse_name_or_name_val<'a>(rest: &str, a: &Args<'_, 'a>) -> Parsed<'a> {
    let nodes = Words::new(rest, a.escape)
        .map(|(s, e)| a.node(&rest[s..e], s, e))
        .collect();
    (nodes, false)
}

/// BuildKit's `parseStringsWhitespaceDelimited` (FROM, EXPOSE): split at
/// runs of `[\t\v\f\r ]`.
pub(crate) fn parse_strings_whitespace_delimited<'a>(rest: &str, a: &Args<'_, 'a>) -> Parsed<'a> {
    if rest.is_empty() {
        return (Vec::new(), false);
    }
    // FROM has one or three words, COPY two or more.
    let mut out = Vec::with_capacity(4);
    let mut piece = 0;
    let mut from = 0;
    while let Some((bs, be)) = find_blank_run(rest, from) {
        out.push(a.node(&rest[piece..bs], piece, bs));
        piece = be;
        from = be;
    }
    out.push(a.node(&rest[piece..], piece, rest.len()));
    (out, false)
}

/// BuildKit's `parseString`: the whole text as one value.
pub(crate) fn parse_string<'a>(rest: &str, a: &Args<'_, 'a>) -> Parsed<'a> {
    if rest.is_empty() {
        return (Vec::new(), false);
    }
    (vec![a.node(rest, 0, rest.len())], false)
}

/// BuildKit's `parseJSON`: `Ok(Some)` for a JSON string array, `Ok(None)`
/// for text that is not a (decodable) JSON array.
fn parse_json<'a>(rest: &str, a: &Args<'_, 'a>) -> Result<Option<Parsed<'a>>, String> {
    let mut nodes = Vec::new();
    let found = for_each_json_string(rest, |j| {
        nodes.push(match j.value {
            // No escapes: the value is the literal between the quotes.
            None => a.node(&rest[j.start + 1..j.end - 1], j.start, j.end),
            Some(decoded) => a.node_with(Cow::Owned(decoded), j.start, j.end),
        })
    });
    match found {
        Ok(()) => Ok(Some((nodes, true))),
        Err(e @ JsonArrayError::NotStringArray) => Err(e.to_string()),
        Err(_) => Ok(None),
    }
}

/// BuildKit's `parseMaybeJSON` (RUN, CMD, ENTRYPOINT, SHELL).
pub(crate) fn parse_maybe_json<'a>(rest: &str, a: &Args<'_, 'a>) -> Result<Parsed<'a>, String> {
    if rest.is_empty() {
        return Ok((Vec::new(), false));
    }
    if let Some(p) = parse_json(rest, a)? {
        return Ok(p);
    }
    Ok((vec![a.node(rest, 0, rest.len())], false))
}

/// BuildKit's `parseMaybeJSONToList` (ADD, COPY, VOLUME).
pub(crate) fn parse_maybe_json_to_list<'a>(
    rest: &str,
    a: &Args<'_, 'a>,
) -> Result<Parsed<'a>, String> {
    if let Some(p) = parse_json(rest, a)? {
        return Ok(p);
    }
    Ok(parse_strings_whitespace_delimited(rest, a))
}

/// BuildKit's `parseHealthConfig`: the first word (`CMD`, `NONE`, ...),
/// then the rest like `parseMaybeJSON`.
pub(crate) fn parse_health_config<'a>(rest: &str, a: &Args<'_, 'a>) -> Result<Parsed<'a>, String> {
    let sep = rest.find(is_space).unwrap_or(rest.len());
    if sep == 0 {
        return Ok((Vec::new(), false));
    }
    let next = rest.len() - rest[sep..].trim_start_matches(is_space).len();
    let (cmd, json) = parse_maybe_json(&rest[next..], &a.shifted(next))?;
    let mut out = Vec::with_capacity(cmd.len() + 1);
    out.push(a.node(&rest[..sep], 0, sep));
    out.extend(cmd);
    Ok((out, json))
}

/// The flattened values `parse_name_val` gives for `rest` (for tests and
/// tools that work on bare strings).
pub fn name_val_values(rest: &str, instruction: &str, escape: char) -> Result<Vec<String>, String> {
    let map = LineMap::contiguous(0, rest.len());
    let a = Args {
        map: &map,
        source: rest,
        base: 0,
        escape,
    };
    parse_name_val(rest, instruction, &a)
        .map(|(n, _)| n.into_iter().map(|n| n.value.into_owned()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<&str> {
        parse_words(s, '\\')
            .into_iter()
            .map(|(a, b)| &s[a..b])
            .collect()
    }

    #[test]
    fn splits_words_like_buildkit() {
        assert_eq!(words("foo bar"), vec!["foo", "bar"]);
        assert_eq!(words("foo\\ bar"), vec!["foo\\ bar"]);
        assert_eq!(words("foo bar 'abc xyz'"), vec!["foo", "bar", "'abc xyz'"]);
        assert_eq!(
            words(r#"föo bàr "âbc xÿz""#),
            vec!["föo", "bàr", r#""âbc xÿz""#]
        );
        assert_eq!(words("a\\"), vec!["a"]);
        // Go's unicode.IsSpace also splits at non-ASCII white space.
        assert_eq!(words("a\u{a0}b\u{85}c\u{3000} d"), vec!["a", "b", "c", "d"]);
        // The escape counts in double quotes, not in single ones.
        assert_eq!(words(r#""a\" b" c"#), vec![r#""a\" b""#, "c"]);
        assert_eq!(words(r"'a\' b"), vec![r"'a\'", "b"]);
        assert_eq!(words("'a b'c d"), vec!["'a b'c", "d"]);
        // An empty quoted word is still a word.
        assert_eq!(words("'' x"), vec!["''", "x"]);
        assert_eq!(
            parse_words("a`b c` é`", '`')
                .into_iter()
                .map(|(s, e)| &"a`b c` é`"[s..e])
                .collect::<Vec<_>>(),
            vec!["a`b", "c` é"]
        );
    }

    #[test]
    fn extracts_flags() {
        let (rest, flags) = extract_builder_flags("--a=1 --b=\"x y\" -- foo", '\\');
        let line = "--a=1 --b=\"x y\" -- foo";
        let texts: Vec<_> = flags.iter().map(|f| f.text(line)).collect();
        assert_eq!(texts, vec!["--a=1", "--b=x y"]);
        assert!(flags[0].unquoted.is_none());
        assert_eq!(flags[1].unquoted.as_deref(), Some("--b=x y"));
        assert_eq!(rest, 18);
        let line = "--doit [ \"a\" ]";
        let (rest, flags) = extract_builder_flags(line, '\\');
        assert_eq!(flags[0].text(line), "--doit");
        assert_eq!(rest, 7);
    }

    proptest::proptest! {
        /// `find_blank_run_in` finds what `find_blank_run` finds, for texts
        /// anywhere in a longer source (window reads past the text's end,
        /// and the fallback near the source's end), from any position.
        #[test]
        fn find_blank_run_in_agrees(
            bytes in proptest::collection::vec(
                proptest::sample::select(&b" \t\x0b\r\naa/"[..]),
                0..80,
            ),
            cut in (0usize..80, 0usize..80),
            from in 0usize..90,
        ) {
            let source = String::from_utf8(bytes).unwrap();
            let at = cut.0.min(source.len());
            let end = (at + cut.1).min(source.len());
            let text = &source[at..end];
            proptest::prop_assert_eq!(
                find_blank_run_in(&source, at, text.len(), from),
                find_blank_run(text, from),
                "text {:?} at {} from {}", text, at, from
            );
        }
    }

    proptest::proptest! {
        /// `blank_separated_in` gives the words splitting at
        /// `find_blank_run` gives, where it gives any.
        #[test]
        fn blank_separated_in_agrees(
            bytes in proptest::collection::vec(
                proptest::sample::select(&b" \t\x0b\x0c\r\naa/"[..]),
                0..150,
            ),
            cut in (0usize..150, 0usize..80),
        ) {
            let source = String::from_utf8(bytes).unwrap();
            let at = cut.0.min(source.len());
            let end = (at + cut.1).min(source.len());
            let text = &source[at..end];
            let mut expected = Vec::new();
            let mut from = Some(0);
            while let Some(start) = from {
                let (end, next) = match find_blank_run(text, start) {
                    Some((bs, be)) => (bs, Some(be)),
                    None => (text.len(), None),
                };
                expected.push((start, end));
                from = next;
            }
            let blank = |b: &u8| b" \t\x0b\x0c\r".contains(b);
            let takes = !text.is_empty()
                && text.len() <= 64
                && !blank(&text.as_bytes()[0])
                && !blank(&text.as_bytes()[text.len() - 1]);
            match blank_separated_in(&source, at, text.len()) {
                Some(bounds) => {
                    proptest::prop_assert!(takes, "{:?}", text);
                    proptest::prop_assert_eq!(bounds.collect::<Vec<_>>(), expected, "{:?}", text);
                }
                None => proptest::prop_assert!(!takes, "{:?}", text),
            }
        }
    }

    proptest::proptest! {
        /// `flag_stop` finds the first stop byte, in lines shorter and
        /// longer than its window, from any position.
        #[test]
        fn flag_stop_finds_the_first_stop(
            bytes in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just(b' '), proptest::strategy::Just(b'\t'),
                proptest::strategy::Just(b'-'), proptest::strategy::Just(b'='),
                proptest::strategy::Just(b'a'), proptest::strategy::Just(b'a'),
                proptest::strategy::Just(b'a'), proptest::strategy::Just(b'"'),
                proptest::strategy::Just(b'\''), proptest::strategy::Just(b'\\'),
                proptest::strategy::Just(b'`'), proptest::strategy::Just(0xc3u8),
                proptest::arbitrary::any::<u8>(),
            ], 0..70),
            pos in 0usize..80,
            backtick: bool,
        ) {
            let escape = if backtick { b'`' } else { b'\\' };
            let is_stop = |c: u8| {
                is_ascii_space_byte(c) || c >= 0x80 || c == b'\'' || c == b'"' || c == escape
            };
            let expected = (pos..bytes.len())
                .find(|&i| is_stop(bytes[i]))
                .unwrap_or(bytes.len());
            proptest::prop_assert_eq!(flag_stop(&bytes, pos, escape), expected);
        }

        /// Where the byte scan takes a line's flags, it takes what
        /// BuildKit's character scan does.
        #[test]
        fn literal_flags_agree_on_generated_lines(
            words in proptest::collection::vec(proptest::sample::select(&[
                "--mount=type=cache,target=/root/.cache/go-build", "--network=none", "--",
                "--a=\"x y\"", "--b=\\ c", "--c=`d", "--d=caf\u{e9}", "--\"q\"", "--\\e",
                "make", "-x", " ", "\t",
            ][..]), 0..8),
            backtick: bool,
        ) {
            let line = words.join(" ");
            let escape = if backtick { '`' } else { '\\' };
            if let Some(flags) = literal_flags(&line, escape) {
                proptest::prop_assert_eq!(flags, flags_by_char(&line, escape));
            }
        }
    }

    #[test]
    fn literal_flags_agree_with_the_character_scan() {
        for line in [
            "--a=1 --b=2 rest",
            "--a=1\t--mount=type=cache,target=/x   cmd --c",
            "--a -- --b",
            "--a=1 --",
            "--a=1 --b",
            "  --x=y",
            "--x=y -",
            "--x=y \t ",
            "--from=build /src /dst",
        ] {
            assert_eq!(
                literal_flags(line, '\\'),
                Some(flags_by_char(line, '\\')),
                "{line:?}"
            );
        }
        for line in ["--a=\"x\"", "--a=\\ b", "--a=é", "--a='1'", "--a=`b"] {
            let escape = if line.contains('`') { '`' } else { '\\' };
            assert_eq!(literal_flags(line, escape), None, "{line:?}");
        }
    }

    #[test]
    fn parses_name_values() {
        assert_eq!(
            name_val_values("foo bar", "LABEL", '\\').unwrap(),
            vec!["foo", "bar", ""]
        );
        assert_eq!(
            name_val_values("a=b c=\"d e\"", "ENV", '\\').unwrap(),
            vec!["a", "b", "=", "c", "\"d e\"", "="]
        );
        assert!(name_val_values("foo", "ENV", '\\').is_err());
    }
}
