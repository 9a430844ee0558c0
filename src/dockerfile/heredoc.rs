//! Heredoc openers (`<<EOF`, `<<-'EOF'`, `3<<EOF`) on RUN, COPY and ADD
//! lines, found the way BuildKit finds them.
//!
//! BuildKit splits the whole instruction line into shell words with its
//! word lexer (quotes and escapes kept, unset variables kept as written),
//! matches every word against `^(\d*)<<(-?)\s*([^<]*)$`, and lexes the
//! terminator twice — with and without quote removal — to learn whether it
//! was quoted (quoted terminator = body not expanded).
//!
//! The lexer here is a port of just that part of BuildKit's word lexer: an
//! empty environment in which every variable is unset and kept verbatim
//! (`SkipUnsetEnv`), the escape token fixed to `\` (BuildKit uses `\` here
//! whatever the `escape` directive says), and `<<` taking the blanks that
//! follow it (and a `-` before them) into the same word, so that `<< EOF`
//! and `<<- EOF` are one word. Full `${}` expansion is the job of the
//! `lex` module; this module never substitutes anything.

use super::go_text::{is_ascii_space_byte, is_space};

/// A heredoc opener read from one word of an instruction line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeredocWord {
    /// The terminator, with quotes removed.
    pub name: String,
    /// The file descriptor written before `<<` (0 if none).
    pub fd: u64,
    /// False when any part of the terminator was quoted.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the body and the terminator.
    pub chomp: bool,
}

/// BuildKit's `ParseHeredoc`: read `word` as a heredoc opener. `Ok(None)`
/// for a word that is not one; an error for a malformed terminator
/// (an unterminated quote, a bad `${}`).
pub fn parse_heredoc_word(word: &str) -> Result<Option<HeredocWord>, String> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let Some(after) = word[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, after) = match after.strip_prefix('-') {
        Some(a) => (true, a),
        None => (false, after),
    };
    // Go's `\s`: tab, newline, form feed, carriage return, space.
    let rest = after.trim_start_matches(['\t', '\n', '\x0c', '\r', ' ']);
    if rest.contains('<') || rest.is_empty() {
        return Ok(None);
    }
    let fd = word[..digits].bytes().fold(0u64, |acc, d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });

    let mut words = split_words(rest, false, false)?;
    if words.len() != 1 {
        return Ok(None);
    }
    let Some(name) = words.pop() else {
        return Ok(None);
    };
    let raw = split_words(rest, true, false)?;
    if raw.len() != 1 {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        ));
    }
    let quotes = |s: &str| s.bytes().filter(|&b| b == b'\'' || b == b'"').count();
    let expand = quotes(&name) == quotes(&raw[0]);
    Ok(Some(HeredocWord {
        name,
        fd,
        expand,
        chomp,
    }))
}

/// BuildKit's `heredocsFromLine`: the heredoc openers among the shell
/// words of an instruction line, in order. A line that does not lex (an
/// unterminated quote) has none.
pub fn heredocs_from_line(line: &str) -> Result<Vec<HeredocWord>, String> {
    match plain_heredocs(line) {
        Some(docs) => docs,
        None => heredocs_by_lexer(line),
    }
}

/// [`heredocs_from_line`] of an ASCII line with no quote, `$` or `\`
/// (nearly every line that opens a heredoc), without the lexer: its words
/// are then its runs of non-blanks, except that a `<<` takes a `-` and the
/// blanks after it into its word, as the lexer's
/// `process_possible_heredoc` does. `None` for any other line.
///
/// The lexer copies every character of the line into owned words to find
/// the few that open a heredoc (about 9,000 instructions for a RUN with
/// two `--mount` flags); here the line is read once, and only the words
/// with a `<<` are looked at.
fn plain_heredocs(line: &str) -> Option<Result<Vec<HeredocWord>, String>> {
    let b = line.as_bytes();
    if b.iter()
        .any(|&c| !c.is_ascii() || matches!(c, b'\'' | b'"' | b'$' | b'\\'))
    {
        return None;
    }
    let mut docs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if is_ascii_space_byte(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_ascii_space_byte(b[i]) {
            if b[i] == b'<' && b.get(i + 1) == Some(&b'<') {
                i += 2;
                if b.get(i) == Some(&b'-') {
                    i += 1;
                }
                while b.get(i).is_some_and(|&c| is_ascii_space_byte(c)) {
                    i += 1;
                }
            } else {
                i += 1;
            }
        }
        // Only a word that starts with digits and `<<` opens a heredoc.
        let word = &line[start..i];
        if word.contains("<<") {
            match parse_heredoc_word(word) {
                Ok(Some(doc)) => docs.push(doc),
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
    Some(Ok(docs))
}

/// [`heredocs_from_line`] by the ported lexer: every line's way.
fn heredocs_by_lexer(line: &str) -> Result<Vec<HeredocWord>, String> {
    let words = split_words(line, true, true).unwrap_or_default();
    let mut docs = Vec::new();
    for w in &words {
        if let Some(h) = parse_heredoc_word(w)? {
            docs.push(h);
        }
    }
    Ok(docs)
}

/// BuildKit's `ChompHeredocContent`: strip the leading tabs of every line.
pub fn chomp(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    for (i, line) in content.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(line.trim_start_matches('\t'));
    }
    out
}

/// Split `input` into shell words the way BuildKit's lexer does with an
/// empty environment and unset variables kept.
pub fn split_words(
    input: &str,
    raw_quotes: bool,
    raw_escapes: bool,
) -> Result<Vec<String>, String> {
    let mut lx = Lexer {
        s: input,
        pos: 0,
        raw_quotes,
        raw_escapes,
        depth: 0,
    };
    lx.process_stop_on(None, raw_escapes)
        .map(|(_, words)| words)
}

const ESCAPE: char = '\\';

/// How deeply `${...}` may nest before lexing gives up (BuildKit has no
/// limit; this keeps recursion bounded on hostile input, and a line that
/// hits it is treated like any line that does not lex: no heredocs).
const MAX_NESTING: usize = 256;

struct Lexer<'a> {
    s: &'a str,
    pos: usize,
    raw_quotes: bool,
    raw_escapes: bool,
    depth: usize,
}

#[derive(Default)]
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, c: char) {
        if is_space(c) {
            if self.in_word && !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(c);
        }
    }
    fn add_raw_char(&mut self, c: char) {
        self.word.push(c);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        for c in s.chars() {
            self.add_char(c);
        }
    }
    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(self.word);
        }
        self.words
    }
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn process_stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), String> {
        if self.depth >= MAX_NESTING {
            return Err("substitutions nested too deeply".into());
        }
        self.depth += 1;
        let saved = self.raw_escapes;
        self.raw_escapes = raw_escapes;
        let r = self.stop_on(stop);
        self.raw_escapes = saved;
        self.depth -= 1;
        r
    }

    fn stop_on(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), String> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if stop == Some(ch) {
                self.next();
                return Ok((result, words.finish()));
            }
            match ch {
                '$' => {
                    let tmp = self.process_dollar()?;
                    result.push_str(&tmp);
                    words.add_string(&tmp);
                }
                '\'' | '"' | '<' => {
                    let tmp = match ch {
                        '\'' => self.process_single_quote()?,
                        '"' => self.process_double_quote()?,
                        _ => self.process_possible_heredoc(),
                    };
                    result.push_str(&tmp);
                    words.add_raw_string(&tmp);
                }
                _ => {
                    self.next();
                    let mut c = ch;
                    if c == ESCAPE {
                        if self.raw_escapes {
                            words.add_raw_char(c);
                            result.push(c);
                        }
                        match self.next() {
                            None => break,
                            Some(n) => c = n,
                        }
                        words.add_raw_char(c);
                    } else {
                        words.add_char(c);
                    }
                    result.push(c);
                }
            }
        }
        if let Some(s) = stop {
            return Err(format!(
                "unexpected end of statement while looking for matching {s}"
            ));
        }
        Ok((result, words.finish()))
    }

    fn process_single_quote(&mut self) -> Result<String, String> {
        let mut result = String::new();
        let q = self.next();
        if self.raw_quotes {
            result.extend(q);
        }
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    );
                }
                Some('\'') => {
                    if self.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(c) => result.push(c),
            }
        }
    }

    fn process_double_quote(&mut self) -> Result<String, String> {
        let mut result = String::new();
        let q = self.next();
        if self.raw_quotes {
            result.extend(q);
        }
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    );
                }
                Some('"') => {
                    self.next();
                    if self.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let v = self.process_dollar()?;
                    result.push_str(&v);
                }
                Some(_) => {
                    let mut c = self.next().unwrap_or(ESCAPE);
                    if c == ESCAPE {
                        if self.raw_escapes {
                            result.push(c);
                        }
                        match self.peek() {
                            // A trailing escape is dropped; the loop then
                            // reports the missing quote.
                            None => continue,
                            Some('"' | '$' | ESCAPE) => c = self.next().unwrap_or(ESCAPE),
                            Some(_) => {}
                        }
                    }
                    result.push(c);
                }
            }
        }
    }

    /// `<` is plain unless it starts `<<`, which absorbs an optional `-`
    /// and the blanks after it so the terminator stays in the same word.
    fn process_possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".into();
        }
        self.next();
        let mut out = String::from("<<");
        if self.peek() == Some('-') {
            self.next();
            out.push('-');
        }
        while let Some(c) = self.peek().filter(|&c| is_space(c)) {
            self.next();
            out.push(c);
        }
        out
    }

    fn process_dollar(&mut self) -> Result<String, String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.process_name();
            // Every variable is unset: `$name` stays as written.
            return Ok(format!("${name}"));
        }
        self.next();
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            _ => {}
        }
        let name = self.process_name();
        let ch = self.next();
        let mut chs: String = ch.map_or_else(|| "\u{FFFD}".to_string(), String::from);
        match ch {
            Some('}') => Ok(format!("${{{name}}}")),
            Some(':' | '+' | '-' | '?' | '#' | '%') => {
                let mut modifier = ch;
                if ch == Some(':') {
                    modifier = self.next();
                    chs.push_str(&modifier.map_or_else(|| "\u{FFFD}".to_string(), String::from));
                }
                let raw = matches!(modifier, Some('#' | '%'));
                match self.process_stop_on(Some('}'), raw) {
                    Ok((word, _)) => Ok(format!("${{{name}{chs}{word}}}")),
                    Err(e) => {
                        if self.peek().is_none() {
                            Err("syntax error: missing '}'".into())
                        } else {
                            Err(e)
                        }
                    }
                }
            }
            Some('/') => {
                if self.peek() == Some('/') {
                    self.next();
                }
                let pattern = match self.process_stop_on(Some('/'), true) {
                    Ok((p, _)) => p,
                    Err(e) if self.peek().is_none() => {
                        let _ = e;
                        return Err("syntax error: missing '/' in ${}".into());
                    }
                    Err(e) => return Err(e),
                };
                let replacement = match self.process_stop_on(Some('}'), true) {
                    Ok((r, _)) => r,
                    Err(_) if self.peek().is_none() => {
                        return Err("syntax error: missing '}'".into());
                    }
                    Err(e) => return Err(e),
                };
                Ok(format!("${{{name}/{pattern}/{replacement}}}"))
            }
            _ => Err(format!("unsupported modifier ({chs}) in substitution")),
        }
    }

    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if name.is_empty() && c.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    self.next();
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                name.push(c);
                return name;
            }
            if !c.is_alphanumeric() && c != '_' {
                break;
            }
            self.next();
            name.push(c);
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(w: &str) -> Option<String> {
        parse_heredoc_word(w).unwrap().map(|h| h.name)
    }

    #[test]
    fn reads_openers() {
        assert_eq!(name("<<EOF").as_deref(), Some("EOF"));
        assert_eq!(name("<<- 'EOF'").as_deref(), Some("EOF"));
        assert_eq!(name("<<EOF sh"), None);
        assert_eq!(name("<<<EOF"), None);
        let h = parse_heredoc_word("3<<'e'o\\'f").unwrap().unwrap();
        assert_eq!((h.name.as_str(), h.fd, h.expand), ("eo'f", 3, false));
        assert!(parse_heredoc_word("<<'EOF").is_err());
    }

    #[test]
    fn finds_openers_in_lines() {
        let names = |l: &str| -> Vec<String> {
            heredocs_from_line(l)
                .unwrap()
                .into_iter()
                .map(|h| h.name)
                .collect()
        };
        assert_eq!(names("RUN <<  EOF  > foo"), vec!["EOF"]);
        assert_eq!(names("RUN << -EOF"), vec!["-EOF"]);
        assert_eq!(names("COPY <<A <<B /d"), vec!["A", "B"]);
        assert_eq!(names("RUN \"<<EOF\""), Vec::<String>::new());
        assert_eq!(names("RUN <<$EOF"), vec!["$EOF"]);
        assert_eq!(names("RUN <<EOF 'unterminated"), Vec::<String>::new());
    }

    proptest::proptest! {
        /// The lexer-free path finds what the lexer finds, on the lines it
        /// takes, and takes the plain ones.
        #[test]
        fn plain_lines_find_what_the_lexer_finds(
            pieces in proptest::collection::vec(proptest::sample::select(&[
                "<<", "<", "-", " ", "  ", "\t", "\x0b", "EOF", "E", "3", "12", "a", "/d",
                "<<-", "<<<", "\n", "'", "\"", "$", "\\", "\u{e9}",
            ][..]), 0..12),
        ) {
            let line: String = pieces.concat();
            let plain = !line.bytes().any(|c| {
                !c.is_ascii() || matches!(c, b'\'' | b'"' | b'$' | b'\\')
            });
            match plain_heredocs(&line) {
                Some(found) => {
                    proptest::prop_assert!(plain);
                    proptest::prop_assert_eq!(found, heredocs_by_lexer(&line), "{:?}", line);
                }
                None => proptest::prop_assert!(!plain),
            }
        }
    }

    #[test]
    fn chomps_leading_tabs() {
        assert_eq!(chomp("\thello\n\t\tworld\n"), "hello\nworld\n");
    }
}
