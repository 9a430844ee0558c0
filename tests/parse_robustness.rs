//! No input makes the Dockerfile front end panic, hang or overflow its
//! stack, and every span it reports lies inside the text on character
//! boundaries.
//!
//! Property tests run a few hundred cases each over arbitrary text,
//! arbitrary bytes (made UTF-8), and BuildKit's testfiles mutated with the
//! tokens the parser treats specially; hand-written cases cover inputs
//! built to be hostile (deep nesting, huge lines, huge files).

#![allow(clippy::result_large_err)] // SourceDiagnostic: large, built once, on the failure path.

use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;

mod parse_support;

use parse_support::parse_both_ways;
use scratchify::dockerfile::{self, Node};
use scratchify::source::{SourceFile, Span};

fn check_span(text: &str, span: Span, what: &str) {
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "{what}: span {span:?} outside 0..{}",
        text.len()
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{what}: span {span:?} splits a character"
    );
}

fn check_node(text: &str, n: &Node) {
    check_span(text, n.span, "node");
    check_span(text, n.value_span, "keyword");
    for f in &n.flags {
        check_span(text, f.span, "flag");
        check_span(text, f.value_span, "flag value");
    }
    for a in &n.next {
        check_span(text, a.span, "argument");
        for c in &a.children {
            check_node(text, c);
        }
    }
    for h in &n.heredocs {
        check_span(text, h.body_span, "heredoc body");
        check_span(text, h.terminator_span, "heredoc terminator");
    }
    // Offsets of the joined text (at character boundaries) map into the
    // source.
    let len = n.line_map.len();
    assert_eq!(len, n.original.len(), "line map covers the joined text");
    let mut probes: Vec<usize> = n
        .original
        .char_indices()
        .map(|(i, _)| i)
        .step_by(7)
        .collect();
    probes.push(len);
    for &i in &probes {
        check_span(text, n.line_map.span(i, len), "line map");
    }
}

/// Spans anywhere in the typed tree (serialised as `{"start", "end"}`).
fn check_json_spans(text: &str, v: &Value) {
    match v {
        Value::Object(m) => {
            if m.len() == 2
                && let (Some(s), Some(e)) = (m.get("start"), m.get("end"))
                && let (Some(s), Some(e)) = (s.as_u64(), e.as_u64())
            {
                check_span(text, Span::new(s as usize, e as usize), "typed");
            }
            m.values().for_each(|x| check_json_spans(text, x));
        }
        Value::Array(a) => a.iter().for_each(|x| check_json_spans(text, x)),
        _ => {}
    }
}

/// Run every layer on `text`; panics are the failure.
fn exercise(text: &str) {
    let src = SourceFile::new("Dockerfile", text);
    if let Ok(nodes) = dockerfile::parse_nodes(&src) {
        let dump = dockerfile::dump(&nodes);
        assert!(dump.ends_with('\n'));
        for n in &nodes.children {
            check_node(text, n);
            let _ = dockerfile::parse_instruction(n);
        }
        for w in &nodes.warnings {
            check_span(text, w.span, "warning");
        }
    }
    // `parse` types instructions while the lines are read; it must give
    // exactly what typing the whole parse tree gives, errors included.
    let streamed = parse_both_ways(&src);
    match streamed {
        Ok(df) => {
            let v = serde_json::to_value(&df).expect("the typed tree serialises");
            check_json_spans(text, &v);
        }
        Err(e) => check_span(text, e.span, "error"),
    }
}

fn testfiles() -> Vec<String> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/buildkit/parser/testfiles");
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path().join("Dockerfile")).unwrap())
        .collect();
    out.sort();
    out
}

/// Pieces of syntax the parser treats specially.
const TOKENS: &[&str] = &[
    "\\",
    "\\\n",
    "`",
    "`\n",
    "\n",
    "\r\n",
    "\n\n",
    "#",
    "# escape=`\n",
    "# syntax=x\n",
    "<<",
    "<<-",
    "<<EOF\n",
    "\nEOF\n",
    "'",
    "\"",
    "[",
    "]",
    "[\"a\", 1]",
    "${",
    "}",
    "$",
    "--",
    "--mount=type=cache,target=/x ",
    "--from=",
    "=",
    " ",
    "\t",
    "ONBUILD ",
    "RUN ",
    "COPY ",
    "HEALTHCHECK ",
    "ENV ",
    "ARG ",
    "FROM ",
    "\u{feff}",
    "é",
    "\u{a0}",
    "\u{2028}",
    "\0",
];

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, usize),
    Delete(usize, usize),
    DuplicateLine(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(p, t)| Mutation::Insert(p, t)),
        (any::<usize>(), 1usize..16).prop_map(|(p, n)| Mutation::Delete(p, n)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let boundaries: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let at = |p: usize| boundaries[p % boundaries.len()];
    match *m {
        Mutation::Insert(p, t) => {
            let i = at(p);
            format!("{}{}{}", &text[..i], TOKENS[t], &text[i..])
        }
        Mutation::Delete(p, n) => {
            let i = at(p);
            let j = boundaries
                .iter()
                .copied()
                .find(|&b| b >= i + n)
                .unwrap_or(text.len());
            format!("{}{}", &text[..i], &text[j..])
        }
        Mutation::DuplicateLine(p) => {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            if lines.is_empty() {
                return text.to_string();
            }
            let k = p % lines.len();
            let mut out = String::with_capacity(text.len() * 2);
            for (i, l) in lines.iter().enumerate() {
                out.push_str(l);
                if i == k {
                    out.push_str(l);
                }
            }
            out
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        exercise(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup_never_panics(parts in proptest::collection::vec(0..TOKENS.len(), 0..64)) {
        let text: String = parts.into_iter().map(|i| TOKENS[i]).collect();
        exercise(&text);
    }

    #[test]
    fn mutated_testfiles_never_panic(
        file in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..8),
    ) {
        let files = testfiles();
        let mut text = files[file % files.len()].clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        exercise(&text);
    }
}

#[test]
fn deep_onbuild_nesting_is_an_error_not_a_crash() {
    let text = format!("FROM a\n{}RUN x\n", "ONBUILD ".repeat(5_000));
    let err = dockerfile::parse_nodes(&SourceFile::new("Dockerfile", text)).unwrap_err();
    assert!(err.message.contains("nested"), "{}", err.message);
    let ok = format!("FROM a\n{}RUN x\n", "ONBUILD ".repeat(10));
    exercise(&ok);
}

#[test]
fn deep_substitutions_in_heredoc_lines_are_bounded() {
    let text = format!(
        "FROM a\nRUN <<EOF {}x{}\nEOF\n",
        "${a:-".repeat(10_000),
        "}".repeat(10_000)
    );
    exercise(&text);
}

#[test]
fn deep_json_is_bounded() {
    let text = format!("FROM a\nCMD {}{}\n", "[".repeat(30_000), "]".repeat(30_000));
    let source = SourceFile::new("Dockerfile", text.as_str());
    let nodes = dockerfile::parse_nodes(&source).unwrap();
    // Too deep for Go's decoder: shell form, like BuildKit.
    assert!(!nodes.children[1].json);
    exercise(&text);
}

#[test]
fn huge_inputs_are_refused_quickly() {
    let big = format!(
        "FROM a\n{}",
        "RUN x\n".repeat(dockerfile::MAX_SOURCE_BYTES / 6 + 1)
    );
    let err = dockerfile::parse(&SourceFile::new("Dockerfile", big)).unwrap_err();
    assert_eq!(err.code, "dockerfile::too-large");
    let long = format!("FROM a\nRUN {}\n", "x".repeat(dockerfile::MAX_LINE_BYTES));
    let err = dockerfile::parse(&SourceFile::new("Dockerfile", long)).unwrap_err();
    assert_eq!(err.code, "dockerfile::line-too-long");
}

#[test]
fn many_continuation_lines_stay_linear() {
    let text = format!("FROM a\nRUN x \\\n{}y\n", "  && z \\\n".repeat(100_000));
    let start = std::time::Instant::now();
    exercise(&text);
    // Generous bound: this takes milliseconds; a quadratic pass would not.
    assert!(start.elapsed().as_secs() < 20);
}
