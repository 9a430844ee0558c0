//! Shell-word lexing and `${}` expansion, as BuildKit does it.
//!
//! This is the third layer of the front end: given one word of an instruction
//! (after the line layer has joined continuations and the instruction layer
//! has split flags and arguments) and an environment, it removes quotes,
//! resolves escapes and expands `$NAME`, `${NAME}` and every `${NAME<op>...}`
//! form BuildKit's `frontend/dockerfile/shell` package accepts, with the same
//! results and the same error messages.
//!
//! Behaviour follows BuildKit's lexer exactly, including its corner cases,
//! because a "mostly right" expansion silently changes what an image
//! contains. The ones worth knowing about:
//!
//! * `$1`, `$@`, `$#`, `$$`, ... are looked up as variables of those names,
//!   so they expand to the empty string (nothing defines them).
//! * A `$` that is not followed by a name character stays literal (`$.`).
//! * In `${v:-w}` the word `w` is lexed recursively (quotes, escapes and
//!   nested expansions), and the first unescaped `}` closes it.
//! * Patterns in `${v#p}`, `${v%p}` and `${v/p/r}` keep their escapes while
//!   being read and then go through BuildKit's shell-pattern translation:
//!   `*` and `?` are wildcards, `\*`, `\?` and `\\` are literal, `\}` and `\/`
//!   stand for `}` and `/`, any other escape is an error, and there are no
//!   bracket expressions. Wildcards never match a newline (BuildKit compiles
//!   the pattern to a Go regular expression, where `.` excludes `\n`).
//! * `${v//p/r}` runs Go's `Regexp.ReplaceAllString`, so `$0` and `${0}` in
//!   the replacement stand for the matched text, `$$` for `$`, and any other
//!   `$name` for nothing; `${v/p/r}` (first match only) inserts `r`
//!   verbatim. BuildKit does exactly this.
//! * Word splitting ([`Lexer::process_words`]) reproduces BuildKit's shared
//!   word buffer: whenever a `${v<op>...}` form (anything but plain `$v` or
//!   `${v}`) is expanded, the part of the current word collected before it is
//!   discarded, so `8${X:-0}` splits into `["0"]` while its single-word form
//!   is `80`. This is how BuildKit (since v0.15, the buffer reuse in its
//!   lexer) splits `EXPOSE` arguments; we keep it because the words are what
//!   BuildKit puts into the image.
//! * A byte-order mark at the very start of a word or of a pattern is
//!   skipped (Go's `text/scanner` does that).
//!
//! Where BuildKit has no limits we set some, so that no input can exhaust
//! memory, time or stack: results longer than [`DEFAULT_MAX_EXPANSION_LEN`]
//! bytes are refused ([`LexErrorKind::TooLong`]; BuildKit would keep
//! allocating), pattern matching may spend [`DEFAULT_MAX_PATTERN_WORK`]
//! steps per word ([`LexErrorKind::TooComplex`]), and `${...}` forms nest at
//! most [`MAX_NESTING`] deep ([`LexErrorKind::TooDeep`]). Pattern matching
//! runs on a small Pike VM, linear in the value length times the pattern
//! length, where BuildKit uses Go's RE2 engine with the same leftmost-first
//! semantics.
//!
//! Letters and digits in names follow Go's `unicode.IsLetter` (category L)
//! and `unicode.IsDigit` (category Nd). The tables come from `regex-syntax`
//! (Unicode 16.0); Go 1.21 to 1.25 use Unicode 15.0, so only characters
//! added in Unicode 16 could classify differently.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::OnceLock;

use crate::source::Span;

/// The default limit on the length of one expanded word, in bytes.
///
/// Expansion multiplies text (`$A$A$A...` copies the value of `A` each time),
/// so without a limit a small Dockerfile could ask for gigabytes. 16 MiB is
/// far above anything a real Dockerfile word holds.
pub const DEFAULT_MAX_EXPANSION_LEN: usize = 16 << 20;

/// The default limit on the work pattern matching may do for one word, in
/// steps of the matcher (one step is one pattern position tried at one
/// character). Real patterns on real values need thousands; the limit only
/// stops adversarial inputs from running for minutes.
pub const DEFAULT_MAX_PATTERN_WORK: u64 = 1 << 30;

/// How deeply `${...}` forms may nest inside each other's words. BuildKit has
/// no limit (Go stacks grow); we need one so that no input can overflow the
/// stack. Real Dockerfiles nest two or three levels; 32 levels take under
/// 384 KiB of stack even in a debug build.
pub const MAX_NESTING: usize = 32;

/// A source of variable values for expansion.
///
/// `get` returns `None` for a variable that is not set, and `Some("")` for
/// one that is set to the empty string; the `${v-w}` and `${v:-w}` forms tell
/// the two apart.
pub trait Env {
    fn get(&self, name: &str) -> Option<&str>;
}

impl<S: BuildHasher> Env for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

impl Env for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(String::as_str)
    }
}

impl<E: Env + ?Sized> Env for &E {
    fn get(&self, name: &str) -> Option<&str> {
        (**self).get(name)
    }
}

impl<E: Env + ?Sized> Env for Box<E> {
    fn get(&self, name: &str) -> Option<&str> {
        (**self).get(name)
    }
}

/// The empty environment: every variable is unset.
///
/// BuildKit expands `COPY --from` against it to detect (and refuse)
/// variables there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoEnv;

impl Env for NoEnv {
    fn get(&self, _name: &str) -> Option<&str> {
        None
    }
}

/// An environment given as BuildKit's list of `KEY=VALUE` strings.
///
/// Each entry is split at its first `=`; an entry without `=` sets `KEY` to
/// the empty string; a later entry for the same key wins (BuildKit's
/// `EnvsFromSlice`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvList {
    values: BTreeMap<String, String>,
}

impl EnvList {
    pub fn new() -> Self {
        EnvList::default()
    }

    /// Builds the list from `KEY=VALUE` entries, later entries winning.
    pub fn from_entries<I, S>(entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = EnvList::new();
        for entry in entries {
            list.push(entry.as_ref());
        }
        list
    }

    /// Adds one `KEY=VALUE` (or bare `KEY`) entry, replacing an earlier value.
    pub fn push(&mut self, entry: &str) {
        let (key, value) = entry.split_once('=').unwrap_or((entry, ""));
        self.values.insert(key.to_owned(), value.to_owned());
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The variables, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl Env for EnvList {
    fn get(&self, name: &str) -> Option<&str> {
        EnvList::get(self, name)
    }
}

/// The result of expanding one word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The word after quote removal, escapes and expansion.
    pub result: String,
    /// The same word split into words the way BuildKit splits it: at
    /// unquoted whitespace, including whitespace that came from unquoted
    /// expansions.
    pub words: Vec<String>,
    /// Names of the variables the word referred to that were set.
    pub matched: BTreeSet<String>,
    /// Names of the variables the word referred to that were not set.
    pub unmatched: BTreeSet<String>,
}

/// What went wrong while expanding a word. The `Display` text is BuildKit's
/// message for the same failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexErrorKind {
    /// A `'` without its closing quote.
    UnterminatedSingleQuote,
    /// A `"` without its closing quote.
    UnterminatedDoubleQuote,
    /// The end of the word was reached while looking for `stop`. BuildKit
    /// reports this as [`LexErrorKind::MissingBrace`] or
    /// [`LexErrorKind::MissingSlash`] in every case it can arise; the variant
    /// exists so that no failure is ever dropped.
    UnexpectedEnd { stop: char },
    /// `${` without its closing `}`.
    MissingBrace,
    /// `${v/p` without the `/` that ends the pattern.
    MissingSlash,
    /// `${}`, `${{...`, `${:...`.
    BadSubstitution,
    /// `${v<modifier>...}` with a modifier BuildKit does not support (`=`,
    /// `:=`, `:#`, `.`...). `modifier` is the text after the name, as
    /// BuildKit quotes it (a missing character shows as U+FFFD).
    UnsupportedModifier { modifier: String },
    /// `${v?msg}` or `${v:?msg}` on an unset (or empty) variable.
    Required { name: String, message: String },
    /// A `#`, `%` or `/` pattern that is not a valid shell pattern.
    InvalidPattern {
        pattern: String,
        reason: PatternError,
    },
    /// The expansion grew beyond the lexer's limit.
    TooLong { limit: usize },
    /// Pattern matching needed more work than the lexer allows.
    TooComplex { limit: u64 },
    /// `${...}` forms nested deeper than [`MAX_NESTING`].
    TooDeep { limit: usize },
}

impl fmt::Display for LexErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LexErrorKind::UnterminatedSingleQuote => {
                f.write_str("unexpected end of statement while looking for matching single-quote")
            }
            LexErrorKind::UnterminatedDoubleQuote => {
                f.write_str("unexpected end of statement while looking for matching double-quote")
            }
            LexErrorKind::UnexpectedEnd { stop } => write!(
                f,
                "unexpected end of statement while looking for matching {stop}"
            ),
            LexErrorKind::MissingBrace => f.write_str("syntax error: missing '}'"),
            LexErrorKind::MissingSlash => f.write_str("syntax error: missing '/' in ${}"),
            LexErrorKind::BadSubstitution => f.write_str("syntax error: bad substitution"),
            LexErrorKind::UnsupportedModifier { modifier } => {
                write!(f, "unsupported modifier ({modifier}) in substitution")
            }
            LexErrorKind::Required { name, message } => write!(f, "{name}: {message}"),
            LexErrorKind::InvalidPattern { pattern, reason } => {
                write!(f, "invalid pattern ({pattern}) in substitution: {reason}")
            }
            LexErrorKind::TooLong { limit } => {
                write!(f, "expansion is longer than the limit of {limit} bytes")
            }
            LexErrorKind::TooComplex { limit } => {
                write!(f, "pattern matching needs more than {limit} steps")
            }
            LexErrorKind::TooDeep { limit } => {
                write!(f, "substitutions nested deeper than {limit} levels")
            }
        }
    }
}

/// A word that could not be expanded.
///
/// Displays as BuildKit does: `failed to process "<word>": <reason>`, the
/// word quoted like Go's `%q`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("failed to process {}: {kind}", go_quote(word))]
#[diagnostic(code(dockerfile::expansion))]
pub struct LexError {
    pub kind: LexErrorKind,
    /// Byte range in the word of the construct that failed: from the `$` of
    /// the expansion (or the opening quote) to where reading stopped.
    pub range: Range<usize>,
    /// The word as it was given.
    pub word: String,
}

impl LexError {
    /// Byte offset in the word where the failing construct starts.
    pub fn offset(&self) -> usize {
        self.range.start
    }

    /// The failing construct as a span in a source text, given where the
    /// word starts in it. Only meaningful when the word is a verbatim slice
    /// of that text (no joined continuation lines).
    pub fn span_at(&self, word_start: usize) -> Span {
        Span::new(self.range.start, self.range.end).shifted(word_start)
    }
}

/// BuildKit's shell-word lexer.
///
/// Options mirror BuildKit's `shell.Lex`: the escape token (`\` by default,
/// or the backtick chosen by the `escape` parser directive), `raw_quotes`
/// (keep the quote characters in the result), `raw_escapes` (keep the escape
/// token in the result), `skip_unset_env` (leave references to unset
/// variables as written) and `skip_process_quotes` (quotes are ordinary
/// characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexer {
    escape: char,
    raw_quotes: bool,
    raw_escapes: bool,
    skip_unset_env: bool,
    skip_process_quotes: bool,
    max_len: usize,
    max_pattern_work: u64,
}

impl Default for Lexer {
    fn default() -> Self {
        Lexer::new('\\')
    }
}

impl Lexer {
    /// A lexer with the given escape token and every option off.
    ///
    /// Dockerfiles only allow `\` and `` ` `` (the `escape` directive); any
    /// other character is accepted here and simply acts as the escape token.
    pub const fn new(escape: char) -> Self {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset_env: false,
            skip_process_quotes: false,
            max_len: DEFAULT_MAX_EXPANSION_LEN,
            max_pattern_work: DEFAULT_MAX_PATTERN_WORK,
        }
    }

    /// The lexer BuildKit uses for COPY/ADD heredoc bodies whose delimiter is
    /// not quoted: escape token `\` whatever the `escape` directive says, and
    /// quotes left alone.
    pub const fn for_heredoc() -> Self {
        Lexer::new('\\').with_skip_process_quotes(true)
    }

    pub const fn with_raw_quotes(mut self, on: bool) -> Self {
        self.raw_quotes = on;
        self
    }

    pub const fn with_raw_escapes(mut self, on: bool) -> Self {
        self.raw_escapes = on;
        self
    }

    pub const fn with_skip_unset_env(mut self, on: bool) -> Self {
        self.skip_unset_env = on;
        self
    }

    pub const fn with_skip_process_quotes(mut self, on: bool) -> Self {
        self.skip_process_quotes = on;
        self
    }

    /// Sets the limit on the length of an expanded word (see
    /// [`DEFAULT_MAX_EXPANSION_LEN`]).
    pub const fn with_max_expansion_len(mut self, bytes: usize) -> Self {
        self.max_len = bytes;
        self
    }

    /// Sets the limit on pattern-matching work for one word (see
    /// [`DEFAULT_MAX_PATTERN_WORK`]).
    pub const fn with_max_pattern_work(mut self, steps: u64) -> Self {
        self.max_pattern_work = steps;
        self
    }

    pub const fn escape(&self) -> char {
        self.escape
    }

    pub const fn raw_quotes(&self) -> bool {
        self.raw_quotes
    }

    pub const fn raw_escapes(&self) -> bool {
        self.raw_escapes
    }

    pub const fn skip_unset_env(&self) -> bool {
        self.skip_unset_env
    }

    pub const fn skip_process_quotes(&self) -> bool {
        self.skip_process_quotes
    }

    pub const fn max_expansion_len(&self) -> usize {
        self.max_len
    }

    /// Expands `word` and returns everything BuildKit computes for it: the
    /// word, its split form and the variables it referred to.
    pub fn process<E: Env + ?Sized>(&self, word: &str, env: &E) -> Result<Expansion, LexError> {
        let mut state = WordState::new(self, word, env);
        let raw_escapes = self.raw_escapes;
        match state.process_stop_on(None, raw_escapes) {
            Ok((result, words)) => Ok(Expansion {
                result,
                words,
                matched: state.matched,
                unmatched: state.unmatched,
            }),
            Err(inner) => Err(LexError {
                kind: inner.kind,
                range: inner.range,
                word: word.to_owned(),
            }),
        }
    }

    /// Expands `word` as one word (BuildKit's `ProcessWord`).
    pub fn process_word<E: Env + ?Sized>(&self, word: &str, env: &E) -> Result<String, LexError> {
        self.process(word, env).map(|e| e.result)
    }

    /// Expands `word` and splits it into words (BuildKit's `ProcessWords`,
    /// used for `EXPOSE`).
    pub fn process_words<E: Env + ?Sized>(
        &self,
        word: &str,
        env: &E,
    ) -> Result<Vec<String>, LexError> {
        self.process(word, env).map(|e| e.words)
    }

    /// Expands `word` and reports which referenced variables were set
    /// (`matched`) and which were not (`unmatched`), as BuildKit's
    /// `ProcessWordWithMatches` does for its lint checks.
    pub fn process_word_with_matches<E: Env + ?Sized>(
        &self,
        word: &str,
        env: &E,
    ) -> Result<(String, BTreeSet<String>, BTreeSet<String>), LexError> {
        self.process(word, env)
            .map(|e| (e.result, e.matched, e.unmatched))
    }
}

/// An error inside the lexer, before the word is attached.
struct Inner {
    kind: LexErrorKind,
    range: Range<usize>,
}

impl Inner {
    fn new(kind: LexErrorKind, range: Range<usize>) -> Self {
        Inner { kind, range }
    }
}

/// The words being collected while a word is expanded.
///
/// The partial word lives in a buffer owned by [`WordState`] and shared by
/// every nested `process_stop_on` call, as in BuildKit (see the module
/// documentation): each call empties it when it starts.
#[derive(Default)]
struct Words {
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, buf: &mut String, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !buf.is_empty() {
                self.words.push(std::mem::take(buf));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(buf, ch);
        }
    }

    fn add_raw_char(&mut self, buf: &mut String, ch: char) {
        buf.push(ch);
        self.in_word = true;
    }

    fn add_string(&mut self, buf: &mut String, s: &str) {
        for ch in s.chars() {
            self.add_char(buf, ch);
        }
    }

    fn add_raw_string(&mut self, buf: &mut String, s: &str) {
        buf.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self, buf: &mut String) -> Vec<String> {
        if !buf.is_empty() {
            self.words.push(std::mem::take(buf));
        }
        self.words
    }
}

/// The state of one expansion: a cursor over the word plus what has been
/// recorded so far.
struct WordState<'a, E: ?Sized> {
    lex: &'a Lexer,
    env: &'a E,
    src: &'a str,
    pos: usize,
    raw_escapes: bool,
    words_buf: String,
    matched: BTreeSet<String>,
    unmatched: BTreeSet<String>,
    /// Pattern-matching steps left for this word.
    work_left: u64,
    /// How many `${...}` words are being read inside each other.
    depth: usize,
}

impl<'a, E: Env + ?Sized> WordState<'a, E> {
    fn new(lex: &'a Lexer, src: &'a str, env: &'a E) -> Self {
        // Go's text/scanner drops a byte-order mark at the start of its input.
        let pos = if src.starts_with('\u{FEFF}') {
            '\u{FEFF}'.len_utf8()
        } else {
            0
        };
        WordState {
            lex,
            env,
            src,
            pos,
            raw_escapes: lex.raw_escapes,
            words_buf: String::new(),
            matched: BTreeSet::new(),
            unmatched: BTreeSet::new(),
            work_left: lex.max_pattern_work,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.src
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
    }

    fn next(&mut self) -> Option<char> {
        let ch = self.peek();
        if let Some(c) = ch {
            self.pos += c.len_utf8();
        }
        ch
    }

    fn check_len(&self, len: usize, start: usize) -> Result<(), Inner> {
        if len > self.lex.max_len {
            Err(Inner::new(
                LexErrorKind::TooLong {
                    limit: self.lex.max_len,
                },
                start..self.pos,
            ))
        } else {
            Ok(())
        }
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        match self.env.get(name) {
            Some(value) => {
                if !self.matched.contains(name) {
                    self.matched.insert(name.to_owned());
                }
                Some(value.to_owned())
            }
            None => {
                if !self.unmatched.contains(name) {
                    self.unmatched.insert(name.to_owned());
                }
                None
            }
        }
    }

    /// Reads up to `stop` (consumed) or to the end of the word when `stop` is
    /// `None`, returning the expanded text and its words.
    fn process_stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), Inner> {
        if stop.is_some() && self.depth >= MAX_NESTING {
            let at = self.pos;
            return Err(Inner::new(
                LexErrorKind::TooDeep { limit: MAX_NESTING },
                at..at,
            ));
        }
        let nested = usize::from(stop.is_some());
        let saved = self.raw_escapes;
        self.raw_escapes = raw_escapes;
        self.depth += nested;
        let out = self.stop_on(stop);
        self.depth -= nested;
        self.raw_escapes = saved;
        out
    }

    fn stop_on(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), Inner> {
        let mut result = String::new();
        self.words_buf.clear();
        let mut words = Words::default();

        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok((result, words.finish(&mut self.words_buf)));
            }
            let start = self.pos;
            let quotes = !self.lex.skip_process_quotes;
            if ch == '$' {
                let value = self.process_dollar()?;
                result.push_str(&value);
                self.check_len(result.len(), start)?;
                words.add_string(&mut self.words_buf, &value);
            } else if quotes && ch == '\'' {
                let value = self.process_single_quote()?;
                result.push_str(&value);
                words.add_raw_string(&mut self.words_buf, &value);
            } else if quotes && ch == '"' {
                let value = self.process_double_quote()?;
                result.push_str(&value);
                self.check_len(result.len(), start)?;
                words.add_raw_string(&mut self.words_buf, &value);
            } else {
                self.next();
                let mut ch = ch;
                if ch == self.lex.escape {
                    if self.raw_escapes {
                        words.add_raw_char(&mut self.words_buf, ch);
                        result.push(ch);
                    }
                    // The escape token escapes any character; at the end of
                    // the word it is dropped.
                    match self.next() {
                        None => break,
                        Some(escaped) => ch = escaped,
                    }
                    words.add_raw_char(&mut self.words_buf, ch);
                } else {
                    words.add_char(&mut self.words_buf, ch);
                }
                result.push(ch);
            }
        }
        if let Some(stop) = stop {
            let end = self.pos;
            return Err(Inner::new(LexErrorKind::UnexpectedEnd { stop }, end..end));
        }
        Ok((result, words.finish(&mut self.words_buf)))
    }

    fn process_single_quote(&mut self) -> Result<String, Inner> {
        // Everything up to the next ' is literal; nothing escapes it.
        let start = self.pos;
        let mut result = String::new();
        let open = self.next();
        if self.lex.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.next() {
                None => {
                    return Err(Inner::new(
                        LexErrorKind::UnterminatedSingleQuote,
                        start..self.pos,
                    ));
                }
                Some('\'') => {
                    if self.lex.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(ch) => result.push(ch),
            }
        }
    }

    fn process_double_quote(&mut self) -> Result<String, Inner> {
        // Everything up to the next unescaped " is literal except `$`
        // expansions; the escape token escapes only `"`, `$` and itself.
        let start = self.pos;
        let mut result = String::new();
        let open = self.next();
        if self.lex.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.peek() {
                None => {
                    return Err(Inner::new(
                        LexErrorKind::UnterminatedDoubleQuote,
                        start..self.pos,
                    ));
                }
                Some('"') => {
                    self.next();
                    if self.lex.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let dollar = self.pos;
                    let value = self.process_dollar()?;
                    result.push_str(&value);
                    self.check_len(result.len(), dollar)?;
                }
                Some(_) => {
                    let Some(mut ch) = self.next() else { continue };
                    if ch == self.lex.escape {
                        if self.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            // An escape token at the very end: the next turn
                            // reports the missing quote.
                            None => continue,
                            Some(next) if next == '"' || next == '$' || next == self.lex.escape => {
                                self.next();
                                ch = next;
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    /// Reads a variable name: a run of digits, one special parameter
    /// character, or letters, digits and `_`.
    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && go_is_digit(ch) {
                while let Some(d) = self.peek() {
                    if !go_is_digit(d) {
                        break;
                    }
                    self.next();
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && is_special_param(ch) {
                self.next();
                name.push(ch);
                return name;
            }
            if !go_is_letter(ch) && !go_is_digit(ch) && ch != '_' {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }

    fn process_dollar(&mut self) -> Result<String, Inner> {
        let dollar = self.pos;
        self.next();

        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".to_owned());
            }
            return Ok(match self.lookup(&name) {
                Some(value) => value,
                None if self.lex.skip_unset_env => format!("${name}"),
                None => String::new(),
            });
        }

        self.next();
        match self.peek() {
            None => {
                return Err(Inner::new(LexErrorKind::MissingBrace, dollar..self.pos));
            }
            Some('{' | '}' | ':') => {
                return Err(Inner::new(LexErrorKind::BadSubstitution, dollar..self.pos));
            }
            Some(_) => {}
        }
        let name = self.process_name();
        let mut ch = self.next();
        let mut modifier = String::from(ch.unwrap_or(char::REPLACEMENT_CHARACTER));

        match ch {
            Some('}') => Ok(match self.lookup(&name) {
                Some(value) => value,
                None if self.lex.skip_unset_env => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some(':' | '+' | '-' | '?' | '#' | '%') => {
                let null_is_unset = ch == Some(':');
                if null_is_unset {
                    ch = self.next();
                    modifier.push(ch.unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                let raw_escapes = matches!(ch, Some('#' | '%'));
                if null_is_unset && raw_escapes {
                    return Err(Inner::new(
                        LexErrorKind::UnsupportedModifier { modifier },
                        dollar..self.pos,
                    ));
                }
                let word = match self.process_stop_on(Some('}'), raw_escapes) {
                    Ok((word, _)) => word,
                    Err(err) => {
                        return Err(self.missing_or(err, LexErrorKind::MissingBrace, dollar));
                    }
                };

                let value = self.lookup(&name);
                if self.lex.skip_unset_env && value.is_none() {
                    return Ok(format!("${{{name}{modifier}{word}}}"));
                }
                let is_null = |v: &Option<String>| match v {
                    None => true,
                    Some(v) => null_is_unset && v.is_empty(),
                };

                match ch {
                    Some('-') => Ok(if is_null(&value) {
                        word
                    } else {
                        value.unwrap_or_default()
                    }),
                    Some('+') => Ok(if is_null(&value) { String::new() } else { word }),
                    Some('?') => match value {
                        None => Err(Inner::new(
                            LexErrorKind::Required {
                                name,
                                message: required_message(word, "is not allowed to be unset"),
                            },
                            dollar..self.pos,
                        )),
                        Some(v) if null_is_unset && v.is_empty() => Err(Inner::new(
                            LexErrorKind::Required {
                                name,
                                message: required_message(word, "is not allowed to be empty"),
                            },
                            dollar..self.pos,
                        )),
                        Some(v) => Ok(v),
                    },
                    Some(op @ ('#' | '%')) => {
                        let value = value.unwrap_or_default();
                        // `##` and `%%` match the longest string, one `#`/`%`
                        // the shortest.
                        let (pattern, greedy) = match word.strip_prefix(op) {
                            Some(rest) => (rest, true),
                            None => (word.as_str(), false),
                        };
                        let work = &mut self.work_left;
                        let trimmed = if op == '%' {
                            trim_suffix(pattern, &value, greedy, work)
                        } else {
                            trim_prefix(pattern, &value, greedy, work)
                        };
                        trimmed.map_err(|kind| Inner::new(kind, dollar..self.pos))
                    }
                    _ => Err(Inner::new(
                        LexErrorKind::UnsupportedModifier { modifier },
                        dollar..self.pos,
                    )),
                }
            }
            Some('/') => {
                let replace_all = self.peek() == Some('/');
                if replace_all {
                    self.next();
                }
                let pattern = match self.process_stop_on(Some('/'), true) {
                    Ok((pattern, _)) => pattern,
                    Err(err) => {
                        return Err(self.missing_or(err, LexErrorKind::MissingSlash, dollar));
                    }
                };
                let replacement = match self.process_stop_on(Some('}'), true) {
                    Ok((replacement, _)) => replacement,
                    Err(err) => {
                        return Err(self.missing_or(err, LexErrorKind::MissingBrace, dollar));
                    }
                };
                let value = self.lookup(&name);
                if self.lex.skip_unset_env && value.is_none() {
                    // BuildKit writes a single `/` back even for `//`.
                    return Ok(format!("${{{name}/{pattern}/{replacement}}}"));
                }
                let value = value.unwrap_or_default();
                let re = ShellPattern::compile(&pattern, true, false).map_err(|reason| {
                    Inner::new(
                        LexErrorKind::InvalidPattern {
                            pattern: pattern.clone(),
                            reason,
                        },
                        dollar..self.pos,
                    )
                })?;
                let limits = (self.lex.max_len, self.lex.max_pattern_work);
                let replaced = if replace_all {
                    replace_all_go(&re, &value, &replacement, limits, &mut self.work_left)
                } else {
                    match re.search(&value, 0, &mut self.work_left) {
                        Ok(Some((s, e))) => {
                            let mut out = String::new();
                            out.push_str(value.get(..s).unwrap_or(""));
                            out.push_str(&replacement);
                            out.push_str(value.get(e..).unwrap_or(""));
                            Ok(out)
                        }
                        Ok(None) => Ok(value),
                        Err(OutOfWork) => Err(LexErrorKind::TooComplex { limit: limits.1 }),
                    }
                };
                match replaced {
                    Ok(out) => {
                        self.check_len(out.len(), dollar)?;
                        Ok(out)
                    }
                    Err(kind) => Err(Inner::new(kind, dollar..self.pos)),
                }
            }
            _ => Err(Inner::new(
                LexErrorKind::UnsupportedModifier { modifier },
                dollar..self.pos,
            )),
        }
    }

    /// BuildKit reports any failure inside `${...}` that ran to the end of
    /// the word as the missing delimiter; other failures pass through.
    fn missing_or(&self, err: Inner, missing: LexErrorKind, dollar: usize) -> Inner {
        if self.peek().is_none() {
            Inner::new(missing, dollar..self.pos)
        } else {
            err
        }
    }
}

fn required_message(word: String, default: &str) -> String {
    if word.is_empty() {
        default.to_owned()
    } else {
        word
    }
}

/// `$@ $* $# $? $- $$ $! $0`: POSIX special parameters, read as one-character
/// names (and never set in a Dockerfile).
fn is_special_param(ch: char) -> bool {
    matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
}

fn trim_prefix(
    pattern: &str,
    value: &str,
    greedy: bool,
    work: &mut u64,
) -> Result<String, LexErrorKind> {
    let re = ShellPattern::compile(pattern, greedy, true).map_err(|reason| {
        LexErrorKind::InvalidPattern {
            pattern: pattern.to_owned(),
            reason,
        }
    })?;
    let limit = *work;
    match re.search(value, 0, work) {
        Ok(Some((_, end))) => Ok(value.get(end..).unwrap_or("").to_owned()),
        Ok(None) => Ok(value.to_owned()),
        Err(OutOfWork) => Err(LexErrorKind::TooComplex { limit }),
    }
}

/// BuildKit finds the shortest or longest matching suffix by reversing both
/// the pattern and the value and trimming a prefix. Errors therefore name the
/// reversed pattern, as BuildKit's do.
fn trim_suffix(
    pattern: &str,
    value: &str,
    greedy: bool,
    work: &mut u64,
) -> Result<String, LexErrorKind> {
    let reversed = trim_prefix(
        &reverse_pattern(pattern),
        &reverse_string(value),
        greedy,
        work,
    )?;
    Ok(reverse_string(&reversed))
}

/// Reverses a string by characters (BuildKit's `reverseString`).
pub fn reverse_string(s: &str) -> String {
    s.chars().rev().collect()
}

/// Reverses a shell pattern while keeping each `\x` escape pair in order, so
/// `a\*c` becomes `c\*a` (BuildKit's `reversePattern`). A trailing lone `\`
/// is moved like any other character.
pub fn reverse_pattern(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut units: Vec<&[char]> = Vec::with_capacity(chars.len());
    let mut rest = chars.as_slice();
    while let Some((&first, tail)) = rest.split_first() {
        if first == '\\' && !tail.is_empty() {
            let (pair, tail) = rest.split_at(2);
            units.push(pair);
            rest = tail;
        } else {
            let (one, tail) = rest.split_at(1);
            units.push(one);
            rest = tail;
        }
    }
    units.iter().rev().flat_map(|u| u.iter()).collect()
}

/// Why a shell pattern was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternError {
    /// `\` followed by something other than `*`, `?`, `\`, `}` or `/`
    /// (`None`: the pattern ended after the `\`).
    InvalidEscape(Option<char>),
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatternError::InvalidEscape(c) => write!(
                f,
                "invalid escape '\\{}'",
                c.unwrap_or(char::REPLACEMENT_CHARACTER)
            ),
        }
    }
}

impl std::error::Error for PatternError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatternToken {
    Literal(char),
    /// `?`: any one character except newline.
    AnyChar,
    /// `*`: any run of characters without a newline.
    AnyString,
}

/// A compiled shell pattern of `${v#p}`, `${v%p}` and `${v/p/r}`: BuildKit's
/// `convertShellPatternToRegex`, matched with leftmost-first semantics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellPattern {
    tokens: Vec<PatternToken>,
    greedy: bool,
    anchored: bool,
}

impl ShellPattern {
    /// Compiles `pattern`. `greedy` makes `*` match the longest run (else the
    /// shortest); `anchored` makes the pattern match only at the start of the
    /// text.
    pub fn compile(pattern: &str, greedy: bool, anchored: bool) -> Result<Self, PatternError> {
        let body = pattern.strip_prefix('\u{FEFF}').unwrap_or(pattern);
        let mut tokens = Vec::with_capacity(body.len());
        let mut chars = body.chars().peekable();
        while let Some(c) = chars.next() {
            let token = match c {
                '*' => PatternToken::AnyString,
                '?' => PatternToken::AnyChar,
                '\\' => {
                    // `\}` and `\/` are how `}` and `/` are written inside
                    // `${}`; the escape is not part of the pattern.
                    if matches!(chars.peek(), Some('}' | '/')) {
                        continue;
                    }
                    match chars.next() {
                        Some(e @ ('*' | '?' | '\\')) => PatternToken::Literal(e),
                        other => return Err(PatternError::InvalidEscape(other)),
                    }
                }
                c => PatternToken::Literal(c),
            };
            tokens.push(token);
        }
        Ok(ShellPattern {
            tokens,
            greedy,
            anchored,
        })
    }

    /// The Go regular expression BuildKit builds for this pattern, for
    /// diagnostics and conformance tests.
    pub fn to_regex(&self) -> String {
        let mut out = String::with_capacity(self.tokens.len() + 4);
        if self.anchored {
            out.push('^');
        }
        for token in &self.tokens {
            match token {
                PatternToken::AnyString => out.push_str(if self.greedy { ".*" } else { ".*?" }),
                PatternToken::AnyChar => out.push('.'),
                PatternToken::Literal(c) => {
                    if "*?\\[]{}.+()|^$".contains(*c) {
                        out.push('\\');
                    }
                    out.push(*c);
                }
            }
        }
        out
    }

    /// The leftmost match in `haystack` starting at or after byte `start`,
    /// as a byte range; among matches at the same start, the one a
    /// backtracking engine would find first (Go's and Perl's semantics).
    pub fn find_at(&self, haystack: &str, start: usize) -> Option<(usize, usize)> {
        let mut unlimited = u64::MAX;
        self.search(haystack, start, &mut unlimited).unwrap_or(None)
    }

    /// [`ShellPattern::find_at`] that spends at most `work` steps (one per
    /// thread per character), reducing `work` by what it spent.
    fn search(
        &self,
        haystack: &str,
        start: usize,
        work: &mut u64,
    ) -> Result<Option<(usize, usize)>, OutOfWork> {
        if start > haystack.len() || !haystack.is_char_boundary(start) {
            return Ok(None);
        }
        if self.anchored && start != 0 {
            return Ok(None);
        }
        let accept = self.tokens.len();
        let mut seen = vec![0usize; accept + 1];
        let mut generation = 1usize;
        // Threads in priority order: (token index, start of the match).
        let mut current: Vec<(usize, usize)> = Vec::new();
        let mut next: Vec<(usize, usize)> = Vec::new();
        let mut found = None;
        let mut pos = start;
        loop {
            if found.is_none() && (!self.anchored || pos == start) {
                self.add_thread(&mut current, &mut seen, generation, 0, pos);
            }
            if current.is_empty() {
                break;
            }
            // Each step costs its threads, plus one for the position itself.
            let cost = current.len() as u64 + 1;
            *work = work.checked_sub(cost).ok_or(OutOfWork)?;
            let ch = haystack.get(pos..).and_then(|rest| rest.chars().next());
            next.clear();
            let next_generation = generation + 1;
            for &(at, from) in &current {
                if at == accept {
                    // Lower-priority threads lose to this match.
                    found = Some((from, pos));
                    break;
                }
                let Some(c) = ch else { continue };
                match self.tokens.get(at) {
                    Some(PatternToken::Literal(l)) if *l == c => {
                        self.add_thread(&mut next, &mut seen, next_generation, at + 1, from);
                    }
                    Some(PatternToken::AnyChar) if c != '\n' => {
                        self.add_thread(&mut next, &mut seen, next_generation, at + 1, from);
                    }
                    Some(PatternToken::AnyString) if c != '\n' => {
                        self.add_thread(&mut next, &mut seen, next_generation, at, from);
                    }
                    _ => {}
                }
            }
            std::mem::swap(&mut current, &mut next);
            generation = next_generation;
            match ch {
                Some(c) => pos += c.len_utf8(),
                None => break,
            }
        }
        Ok(found)
    }

    /// Adds the threads reachable from token `at` without consuming input,
    /// in priority order. A `*` is a loop that prefers another character
    /// (greedy) or leaving (lazy); `seen` keeps only the first, highest
    /// priority, thread per token.
    fn add_thread(
        &self,
        list: &mut Vec<(usize, usize)>,
        seen: &mut [usize],
        generation: usize,
        at: usize,
        from: usize,
    ) {
        let mut i = at;
        let mut stars_end = at;
        let mut terminal = None;
        loop {
            match seen.get_mut(i) {
                Some(mark) if *mark != generation => *mark = generation,
                _ => break,
            }
            if self.tokens.get(i) == Some(&PatternToken::AnyString) {
                if self.greedy {
                    list.push((i, from));
                }
                i += 1;
                stars_end = i;
            } else {
                terminal = Some(i);
                break;
            }
        }
        if self.greedy {
            if let Some(t) = terminal {
                list.push((t, from));
            }
        } else {
            if let Some(t) = terminal {
                list.push((t, from));
            }
            for star in (at..stars_end).rev() {
                list.push((star, from));
            }
        }
    }
}

/// The pattern matcher ran out of its work allowance.
struct OutOfWork;

/// Go's `Regexp.ReplaceAllString` with BuildKit's pattern: every
/// non-overlapping match replaced, an empty match right after a previous
/// match skipped, and the replacement expanded as a Go template (`$0`,
/// `${0}` and `$$`). `limits` are the longest result and the most matching
/// work allowed.
fn replace_all_go(
    re: &ShellPattern,
    src: &str,
    template: &str,
    limits: (usize, u64),
    work: &mut u64,
) -> Result<String, LexErrorKind> {
    let (max_len, max_work) = limits;
    let too_long = LexErrorKind::TooLong { limit: max_len };
    let mut out = String::new();
    let mut last_end = 0usize;
    let mut search = 0usize;
    while search <= src.len() {
        let found = re
            .search(src, search, work)
            .map_err(|OutOfWork| LexErrorKind::TooComplex { limit: max_work })?;
        let Some((start, end)) = found else {
            break;
        };
        out.push_str(src.get(last_end..start).unwrap_or(""));
        if end > last_end || start == 0 {
            expand_go_template(&mut out, template, src.get(start..end).unwrap_or(""));
        }
        if out.len() > max_len {
            return Err(too_long);
        }
        last_end = end;
        let width = src
            .get(search..)
            .and_then(|rest| rest.chars().next())
            .map_or(0, char::len_utf8);
        if search + width > end {
            search += width;
        } else if search + 1 > end {
            search += 1;
        } else {
            search = end;
        }
    }
    out.push_str(src.get(last_end..).unwrap_or(""));
    if out.len() > max_len {
        Err(too_long)
    } else {
        Ok(out)
    }
}

/// Go's `Regexp.Expand` for a pattern without capture groups: `$$` is `$`,
/// `$0`/`${0}` the match, any other well-formed `$name`/`${name}` nothing,
/// and a malformed `$` stays literal.
fn expand_go_template(out: &mut String, template: &str, matched: &str) {
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        match go_template_name(rest) {
            None => out.push('$'),
            Some((name, after)) => {
                if name == "0" {
                    out.push_str(matched);
                }
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

/// The name of a `name` or `{name}` reference at the start of `s` and the
/// text after it (Go's `extract`).
fn go_template_name(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(body) => (true, body),
        None => (false, s),
    };
    let len: usize = body
        .chars()
        .take_while(|&c| go_is_letter(c) || go_is_digit(c) || c == '_')
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    let name = body.get(..len)?;
    let after = body.get(len..)?;
    if braced {
        let after = after.strip_prefix('}')?;
        Some((name, after))
    } else {
        Some((name, after))
    }
}

/// A sorted table of inclusive character ranges.
fn class_ranges(pattern: &str) -> Vec<(char, char)> {
    use regex_syntax::hir::{Class, HirKind};
    match regex_syntax::parse(pattern).map(|hir| hir.into_kind()) {
        Ok(HirKind::Class(Class::Unicode(class))) => class
            .ranges()
            .iter()
            .map(|r| (r.start(), r.end()))
            .collect(),
        _ => Vec::new(),
    }
}

fn in_ranges(ranges: &[(char, char)], c: char) -> bool {
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Go's `unicode.IsLetter`: general category L.
pub(crate) fn go_is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    static LETTERS: OnceLock<Vec<(char, char)>> = OnceLock::new();
    in_ranges(LETTERS.get_or_init(|| class_ranges(r"\p{L}")), c)
}

/// Go's `unicode.IsDigit`: general category Nd.
pub(crate) fn go_is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    static DIGITS: OnceLock<Vec<(char, char)>> = OnceLock::new();
    in_ranges(DIGITS.get_or_init(|| class_ranges(r"\p{Nd}")), c)
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and
/// the ASCII space.
fn go_is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    static PRINT: OnceLock<Vec<(char, char)>> = OnceLock::new();
    in_ranges(
        PRINT.get_or_init(|| class_ranges(r"[\p{L}\p{M}\p{N}\p{P}\p{S}]")),
        c,
    )
}

/// Quotes a string the way Go's `%q` (`strconv.Quote`) does, so error
/// messages read exactly like BuildKit's.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if go_is_print(c) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn unicode_tables_are_loaded() {
        assert!(go_is_letter('é'));
        assert!(go_is_letter('한'));
        assert!(!go_is_letter('٣'));
        assert!(go_is_digit('٣'));
        assert!(!go_is_digit('²'), "superscript two is No, not Nd");
        assert!(
            !go_is_letter('\u{0345}'),
            "a combining mark is not a letter"
        );
        assert!(go_is_print('é'));
        assert!(
            !go_is_print('\u{a0}'),
            "no-break space is not printable in Go"
        );
    }

    #[test]
    fn go_quote_matches_strconv_quote() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\t\n\u{1}\u{7f}"), r#""\t\n\x01\x7f""#);
        assert_eq!(go_quote("한\u{a0}\u{1F596}"), "\"한\\u00a0\u{1F596}\"");
        assert_eq!(go_quote("\u{e0001}"), r#""\U000e0001""#);
    }

    #[test]
    fn error_display_is_buildkits() {
        let err = Lexer::new('\\')
            .process_word("x${VAR:?need it}", &NoEnv)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"failed to process "x${VAR:?need it}": VAR: need it"#
        );
        assert_eq!(err.range, 1..16);
        let err = Lexer::new('\\').process_word("a'b", &NoEnv).unwrap_err();
        assert_eq!(err.kind, LexErrorKind::UnterminatedSingleQuote);
        assert_eq!(err.offset(), 1);
        assert_eq!(err.span_at(10), Span::new(11, 13));
    }

    #[test]
    fn error_messages_for_each_form() {
        let lex = Lexer::new('\\');
        let cases: &[(&str, &str)] = &[
            ("${}", "syntax error: bad substitution"),
            ("${a", "unsupported modifier (\u{FFFD}) in substitution"),
            ("${a:", "syntax error: missing '}'"),
            ("${a:-b", "syntax error: missing '}'"),
            ("${a/b", "syntax error: missing '/' in ${}"),
            ("${a=b}", "unsupported modifier (=) in substitution"),
            ("${a:=b}", "unsupported modifier (:=) in substitution"),
            ("${a:#b}", "unsupported modifier (:#) in substitution"),
            ("${a?}", "a: is not allowed to be unset"),
            ("${a:-${}}", "syntax error: bad substitution"),
            ("${a:-'x}", "syntax error: missing '}'"),
            (
                "\"abc",
                "unexpected end of statement while looking for matching double-quote",
            ),
            (
                "${a#\\x}",
                "invalid pattern (\\x) in substitution: invalid escape '\\x'",
            ),
            (
                "${a%x\\y}",
                "invalid pattern (\\yx) in substitution: invalid escape '\\y'",
            ),
        ];
        for (word, message) in cases {
            let err = lex.process_word(word, &NoEnv).unwrap_err();
            assert_eq!(err.kind.to_string(), *message, "word {word:?}");
        }
        let err = lex.process_word("${e:?}", &env(&[("e", "")])).unwrap_err();
        assert_eq!(err.kind.to_string(), "e: is not allowed to be empty");
    }

    #[test]
    fn skip_unset_env_writes_references_back() {
        let lex = Lexer::new('\\').with_skip_unset_env(true);
        let e = env(&[("SET", "v")]);
        assert_eq!(lex.process_word("$X ${X} $SET", &e).unwrap(), "$X ${X} v");
        assert_eq!(lex.process_word("${X:-a$SET}", &e).unwrap(), "${X:-av}");
        assert_eq!(lex.process_word("${X//a/b}", &e).unwrap(), "${X/a/b}");
    }

    #[test]
    fn raw_quotes_and_raw_escapes_keep_characters() {
        let e = env(&[("A", "x")]);
        let lex = Lexer::new('\\').with_raw_quotes(true);
        assert_eq!(lex.process_word(r#"'a' "b$A""#, &e).unwrap(), r#"'a' "bx""#);
        let lex = Lexer::new('\\').with_raw_escapes(true);
        assert_eq!(lex.process_word(r"a\ b", &e).unwrap(), r"a\ b");
        // Inside double quotes a non-escaping backslash is written twice when
        // escapes are raw: once as the escape, once as the character.
        assert_eq!(lex.process_word(r#""\t""#, &e).unwrap(), r"\\t");
    }

    #[test]
    fn backtick_escape() {
        let lex = Lexer::new('`');
        let e = env(&[("A", "x")]);
        assert_eq!(lex.process_word(r"c:\dir `$A", &e).unwrap(), r"c:\dir $A");
        assert_eq!(lex.process_word(r"\$A", &e).unwrap(), r"\x");
        assert_eq!(lex.process_word("\"a`\"b\"", &e).unwrap(), "a\"b");
    }

    #[test]
    fn heredoc_lexer_leaves_quotes() {
        let lex = Lexer::for_heredoc();
        let e = env(&[("A", "x")]);
        assert_eq!(
            lex.process_word("echo '$A' \"$A\"", &e).unwrap(),
            "echo 'x' \"x\""
        );
        assert_eq!(lex.process_word(r"printf a\nb", &e).unwrap(), "printf anb");
    }

    #[test]
    fn word_splitting_matches_buildkit_buffer_sharing() {
        let lex = Lexer::new('\\');
        let e = env(&[("P", "80 443"), ("E", "")]);
        assert_eq!(lex.process_words("$P", &e).unwrap(), ["80", "443"]);
        assert_eq!(lex.process_words("8${X:-0}", &e).unwrap(), ["0"]);
        assert_eq!(lex.process_word("8${X:-0}", &e).unwrap(), "80");
        assert_eq!(lex.process_words("a${X}b", &e).unwrap(), ["ab"]);
        assert_eq!(lex.process_words("a\"${X:-q} r\"", &e).unwrap(), ["q r"]);
        assert!(lex.process_words("$E", &e).unwrap().is_empty());
    }

    #[test]
    fn replacement_is_a_go_template_only_for_replace_all() {
        let lex = Lexer::new('\\');
        let e = env(&[("V", "abcabc"), ("R", "<$0|$$|${0}|$1|$x|${|$>")]);
        assert_eq!(
            lex.process_word("${V//b/$R}", &e).unwrap(),
            "a<b|$|b|||${|$>ca<b|$|b|||${|$>c"
        );
        assert_eq!(
            lex.process_word("${V/b/$R}", &e).unwrap(),
            "a<$0|$$|${0}|$1|$x|${|$>cabc"
        );
    }

    #[test]
    fn replace_all_with_empty_matches_follows_go() {
        let lex = Lexer::new('\\');
        let e = env(&[("V", "héllo"), ("N", "ab\ncd")]);
        // The empty pattern matches between every two characters.
        assert_eq!(lex.process_word("${V///-}", &e).unwrap(), "-h-é-l-l-o-");
        assert_eq!(lex.process_word("${V/?/-}", &e).unwrap(), "-éllo");
        assert_eq!(lex.process_word("${V//l/-}", &e).unwrap(), "hé--o");
        // `*` stops at the newline; the empty matches right after each
        // match are not replaced (Go skips them).
        assert_eq!(lex.process_word("${N//*/-}", &e).unwrap(), "-\n-");
    }

    #[test]
    fn wildcards_do_not_cross_newlines() {
        let lex = Lexer::new('\\');
        let e = env(&[("V", "ab\ncd")]);
        assert_eq!(lex.process_word("${V##*}", &e).unwrap(), "\ncd");
        assert_eq!(lex.process_word("${V%%*}", &e).unwrap(), "ab\n");
        assert_eq!(lex.process_word("${V#a?b}", &e).unwrap(), "ab\ncd");
    }

    #[test]
    fn expansion_limit_is_enforced() {
        let lex = Lexer::new('\\').with_max_expansion_len(10);
        let e = env(&[("A", "123456")]);
        assert_eq!(lex.process_word("$A", &e).unwrap(), "123456");
        let err = lex.process_word("$A$A", &e).unwrap_err();
        assert_eq!(err.kind, LexErrorKind::TooLong { limit: 10 });
        let err = lex.process_word("${A//?/xxx}", &e).unwrap_err();
        assert_eq!(err.kind, LexErrorKind::TooLong { limit: 10 });
    }

    #[test]
    fn pattern_work_is_bounded() {
        let e = env(&[("V", &"a".repeat(2000))]);
        // Each search walks the 2000 characters with two or three threads.
        let lex = Lexer::new('\\').with_max_pattern_work(1000);
        let err = lex.process_word("${V//*b/x}", &e).unwrap_err();
        assert_eq!(err.kind, LexErrorKind::TooComplex { limit: 1000 });
        let err = lex.process_word("${V%%b*}", &e).unwrap_err();
        assert_eq!(err.kind, LexErrorKind::TooComplex { limit: 1000 });
        let err = lex.process_word("${V#*b}", &e).unwrap_err();
        assert_eq!(err.kind, LexErrorKind::TooComplex { limit: 1000 });
        // The default allowance is plenty for the same word.
        let ok = Lexer::new('\\').process_word("${V//*b/x}", &e).unwrap();
        assert_eq!(ok.len(), 2000);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let lex = Lexer::new('\\');
        let nested = |levels: usize, quoted: bool| {
            let open = if quoted { "\"${a:-" } else { "${a:-" };
            let close = if quoted { "}\"" } else { "}" };
            format!("{}x{}", open.repeat(levels), close.repeat(levels))
        };
        for quoted in [false, true] {
            assert_eq!(
                lex.process_word(&nested(MAX_NESTING, quoted), &NoEnv)
                    .unwrap(),
                "x"
            );
            let err = lex
                .process_word(&nested(MAX_NESTING + 1, quoted), &NoEnv)
                .unwrap_err();
            assert_eq!(err.kind, LexErrorKind::TooDeep { limit: MAX_NESTING });
            // Far deeper input is refused just the same.
            let err = lex
                .process_word(&nested(100_000, quoted), &NoEnv)
                .unwrap_err();
            assert_eq!(err.kind, LexErrorKind::TooDeep { limit: MAX_NESTING });
        }
    }

    #[test]
    fn byte_order_mark_is_skipped_at_start_only() {
        let lex = Lexer::new('\\');
        assert_eq!(
            lex.process_word("\u{FEFF}a\u{FEFF}", &NoEnv).unwrap(),
            "a\u{FEFF}"
        );
    }

    #[test]
    fn env_list_later_entries_win() {
        let list = EnvList::from_entries(["a=1", "b", "a=2=3"]);
        assert_eq!(list.get("a"), Some("2=3"));
        assert_eq!(list.get("b"), Some(""));
        assert_eq!(list.get("c"), None);
    }

    /// Go regexp syntax from BuildKit's translation, in the `regex` crate's
    /// dialect (identical for what the translation can produce).
    fn reference_find(p: &ShellPattern, hay: &str) -> Option<(usize, usize)> {
        let re = regex::Regex::new(&p.to_regex()).ok()?;
        re.find(hay).map(|m| (m.start(), m.end()))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

        #[test]
        fn lexer_never_panics(word in "\\PC{0,40}", value in "\\PC{0,12}") {
            let e = env(&[("A", &value), ("B", "")]);
            for lex in [
                Lexer::new('\\'),
                Lexer::new('`'),
                Lexer::new('\\').with_raw_quotes(true).with_skip_unset_env(true),
                Lexer::for_heredoc().with_raw_escapes(true),
            ] {
                let _ = lex.process(&word, &e);
            }
        }

        #[test]
        fn lexer_never_panics_on_any_string(word in any::<String>(), value in any::<String>()) {
            let e = env(&[("A", &value)]);
            let _ = Lexer::new('\\').process(&word, &e);
            let _ = Lexer::new('\\').with_skip_unset_env(true).process(&word, &e);
        }

        #[test]
        fn lexer_never_panics_on_expansion_syntax(
            word in "[${}:#%/?*+\\-\\\\'\"aAB\n é]{0,30}",
            value in "[ab*?/\\\\\n é]{0,8}",
        ) {
            let e = env(&[("A", &value), ("B", "")]);
            let _ = Lexer::new('\\').process(&word, &e);
            let _ = Lexer::new('`').with_raw_escapes(true).process(&word, &e);
        }

        #[test]
        fn pattern_matches_like_a_regex_engine(
            pattern in "[ab?*\n]{0,8}",
            hay in "[ab\n]{0,12}",
            greedy in any::<bool>(),
            anchored in any::<bool>(),
        ) {
            let p = ShellPattern::compile(&pattern, greedy, anchored).unwrap();
            prop_assert_eq!(p.find_at(&hay, 0), reference_find(&p, &hay), "regex {}", p.to_regex());
        }

        #[test]
        fn reverse_pattern_is_an_involution_without_lone_escapes(p in "[ab*?]{0,10}") {
            prop_assert_eq!(reverse_pattern(&reverse_pattern(&p)), p);
        }
    }

    #[test]
    fn many_stars_stay_fast() {
        let pattern = "*a".repeat(2000);
        let hay = "a".repeat(3000) + "b";
        let start = std::time::Instant::now();
        for greedy in [true, false] {
            let p = ShellPattern::compile(&pattern, greedy, true).unwrap();
            assert_eq!(p.find_at(&hay, 0), reference_find(&p, &hay));
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }
}
