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

use super::go_text::{is_ascii_blank, is_space, quote};
use super::json::{JsonArrayError, parse_json_array};
use super::line_map::LineMap;
use super::nodes::{ArgNode, NodeFlag};

/// Context for turning ranges of an argument text into nodes with spans.
pub(crate) struct Args<'a> {
    pub map: &'a LineMap,
    /// Offset of the argument text in the joined line.
    pub base: usize,
    pub escape: char,
}

impl Args<'_> {
    fn node(&self, value: &str, start: usize, end: usize) -> ArgNode {
        ArgNode {
            value: value.to_string(),
            span: self.map.span(self.base + start, self.base + end),
            text_range: self.base + start..self.base + end,
            children: Vec::new(),
        }
    }

    /// A copy of this context for a sub-slice starting at `offset`.
    fn shifted(&self, offset: usize) -> Args<'_> {
        Args {
            map: self.map,
            base: self.base + offset,
            escape: self.escape,
        }
    }
}

/// The result of a line parser: the argument chain and whether it was a
/// JSON array.
pub(crate) type Parsed = (Vec<ArgNode>, bool);

/// BuildKit's `extractBuilderFlags`: the leading `--flag` words of `line`.
/// Returns the offset where the remaining text starts (`line.len()` when
/// nothing remains) and the flags with their byte ranges in `line`.
/// A lone `--` ends the flags and is dropped.
pub(crate) fn extract_builder_flags(
    line: &str,
    escape: char,
) -> (usize, Vec<(String, usize, usize)>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let first = super::go_text::trim_start_space(line);
    if !first.starts_with("--") {
        // No flags (the common case).
        return (line.len() - first.len(), Vec::new());
    }
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut word_start = 0;
    let mut quote_char = '\0';
    let mut blank_ok = false;
    let mut chars = line.char_indices().peekable();
    loop {
        let (pos, ch) = match chars.next() {
            Some((p, c)) => (p, Some(c)),
            None => (line.len(), None),
        };
        if phase == Phase::Spaces {
            let Some(c) = ch else { break };
            if is_space(c) {
                continue;
            }
            if c != '-' || !line[pos + 1..].starts_with('-') {
                return (pos, words);
            }
            phase = Phase::Word;
            word_start = pos;
        }
        let Some(mut c) = ch else {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push((word, word_start, line.len()));
            }
            break;
        };
        if phase == Phase::Word {
            if is_space(c) {
                phase = Phase::Spaces;
                if word == "--" {
                    return (pos, words);
                }
                if blank_ok || !word.is_empty() {
                    words.push((std::mem::take(&mut word), word_start, pos));
                }
                word.clear();
                blank_ok = false;
                continue;
            }
            if c == '\'' || c == '"' {
                quote_char = c;
                blank_ok = true;
                phase = Phase::Quote;
                continue;
            }
            if c == escape {
                match chars.next() {
                    None => {
                        // A trailing escape is dropped.
                        if word != "--" && (blank_ok || !word.is_empty()) {
                            words.push((word, word_start, line.len()));
                        }
                        break;
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
                        words.push((word, word_start, line.len()));
                    }
                    break;
                }
                Some((_, n)) => c = n,
            }
        }
        word.push(c);
    }
    (line.len(), words)
}

/// The flags of an instruction as nodes with spans; `line` is the text the
/// flag ranges index into.
pub(crate) fn flag_nodes(
    line: &str,
    flags: Vec<(String, usize, usize)>,
    a: &Args<'_>,
) -> Vec<NodeFlag> {
    flags
        .into_iter()
        .map(|(text, s, e)| {
            let (s, e) = (a.base + s, a.base + e);
            let span = a.map.span(s, e);
            let literal = line.get(s - a.base..e - a.base) == Some(text.as_str());
            let value_span = match text.find('=') {
                Some(eq) if literal => a.map.span(s + eq + 1, e),
                _ => span,
            };
            NodeFlag {
                text,
                span,
                value_span,
                text_range: s..e,
                literal,
            }
        })
        .collect()
}

/// BuildKit's `parseWords`: split at blanks outside quotes, keeping quotes
/// and escapes in the words. Each word is a contiguous range of `rest`.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<(usize, usize)> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote_char = '\0';
    let mut blank_ok = false;
    let (mut start, mut end) = (0, 0);
    let mut i = 0;
    let n = rest.len();
    loop {
        let ch = rest[i..].chars().next();
        if phase == Phase::Spaces {
            match ch {
                None => break,
                Some(c) if is_space(c) => {
                    i += c.len_utf8();
                    continue;
                }
                Some(_) => {
                    phase = Phase::Word;
                    start = i;
                    end = i;
                }
            }
        }
        let Some(c) = ch else {
            if blank_ok || end > start {
                words.push((start, end));
            }
            break;
        };
        let w = c.len_utf8();
        if phase == Phase::Word {
            if is_space(c) {
                phase = Phase::Spaces;
                if blank_ok || end > start {
                    words.push((start, end));
                }
                blank_ok = false;
                i += w;
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
                i += rest[i..].chars().next().map_or(0, char::len_utf8);
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
            i += rest[i..].chars().next().map_or(0, char::len_utf8);
            end = i;
            continue;
        }
        i += w;
        end = i;
    }
    words
}

/// The first run of `[\t\v\f\r ]` in `s`, as a byte range.
fn find_blank_run(s: &str, from: usize) -> Option<(usize, usize)> {
    let start = from + s[from..].find(is_ascii_blank)?;
    let len = s[start..]
        .find(|c: char| !is_ascii_blank(c))
        .unwrap_or(s.len() - start);
    Some((start, start + len))
}

/// BuildKit's `parseNameVal` (ENV, LABEL): `k=v k2=v2` gives key, value,
/// `=` per pair; the legacy `k v w` gives key `k`, value `v w` and an empty
/// separator.
pub(crate) fn parse_name_val(rest: &str, key: &str, a: &Args<'_>) -> Result<Parsed, String> {
    let words = parse_words(rest, a.escape);
    let Some(&(s0, e0)) = words.first() else {
        return Ok((Vec::new(), false));
    };
    if !rest[s0..e0].contains('=') {
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
    let mut out = Vec::with_capacity(words.len() * 3);
    for (s, e) in words {
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
pub(crate) fn parse_name_or_name_val(rest: &str, a: &Args<'_>) -> Parsed {
    let nodes = parse_words(rest, a.escape)
        .into_iter()
        .map(|(s, e)| a.node(&rest[s..e], s, e))
        .collect();
    (nodes, false)
}

/// BuildKit's `parseStringsWhitespaceDelimited` (FROM, EXPOSE): split at
/// runs of `[\t\v\f\r ]`.
pub(crate) fn parse_strings_whitespace_delimited(rest: &str, a: &Args<'_>) -> Parsed {
    if rest.is_empty() {
        return (Vec::new(), false);
    }
    let mut out = Vec::new();
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
pub(crate) fn parse_string(rest: &str, a: &Args<'_>) -> Parsed {
    if rest.is_empty() {
        return (Vec::new(), false);
    }
    (vec![a.node(rest, 0, rest.len())], false)
}

/// BuildKit's `parseJSON`: `Ok(Some)` for a JSON string array, `Ok(None)`
/// for text that is not a (decodable) JSON array.
fn parse_json(rest: &str, a: &Args<'_>) -> Result<Option<Parsed>, String> {
    match parse_json_array(rest) {
        Ok(items) => Ok(Some((
            items
                .into_iter()
                .map(|j| a.node(&j.value, j.start, j.end))
                .collect(),
            true,
        ))),
        Err(e @ JsonArrayError::NotStringArray) => Err(e.to_string()),
        Err(_) => Ok(None),
    }
}

/// BuildKit's `parseMaybeJSON` (RUN, CMD, ENTRYPOINT, SHELL).
pub(crate) fn parse_maybe_json(rest: &str, a: &Args<'_>) -> Result<Parsed, String> {
    if rest.is_empty() {
        return Ok((Vec::new(), false));
    }
    if let Some(p) = parse_json(rest, a)? {
        return Ok(p);
    }
    Ok((vec![a.node(rest, 0, rest.len())], false))
}

/// BuildKit's `parseMaybeJSONToList` (ADD, COPY, VOLUME).
pub(crate) fn parse_maybe_json_to_list(rest: &str, a: &Args<'_>) -> Result<Parsed, String> {
    if let Some(p) = parse_json(rest, a)? {
        return Ok(p);
    }
    Ok(parse_strings_whitespace_delimited(rest, a))
}

/// BuildKit's `parseHealthConfig`: the first word (`CMD`, `NONE`, ...),
/// then the rest like `parseMaybeJSON`.
pub(crate) fn parse_health_config(rest: &str, a: &Args<'_>) -> Result<Parsed, String> {
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
        base: 0,
        escape,
    };
    parse_name_val(rest, instruction, &a).map(|(n, _)| n.into_iter().map(|n| n.value).collect())
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
    }

    #[test]
    fn extracts_flags() {
        let (rest, flags) = extract_builder_flags("--a=1 --b=\"x y\" -- foo", '\\');
        let texts: Vec<_> = flags.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(texts, vec!["--a=1", "--b=x y"]);
        assert_eq!(rest, 18);
        let (rest, flags) = extract_builder_flags("--doit [ \"a\" ]", '\\');
        assert_eq!(flags[0].0, "--doit");
        assert_eq!(rest, 7);
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
