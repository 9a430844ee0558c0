//! `parse` types most instructions straight from their joined line and
//! the rest through BuildKit's parse tree; `parse_nodes` + `from_nodes`
//! types every instruction through the tree. Both must give the same typed
//! Dockerfile (spans, line maps and warnings included) or the same error,
//! on real Dockerfiles and on generated instruction lines built from the
//! pieces that steer the direct path (flags, quotes, escapes, JSON,
//! continuations, `=`, `AS`, non-ASCII text, heredoc markers).

#![allow(clippy::result_large_err)] // SourceDiagnostic: large, built once, on the failure path.

use std::path::Path;

use proptest::prelude::*;

mod parse_support;

use parse_support::parse_both_ways;
use scratchify::source::SourceFile;

/// Parse `text` both ways; panics with the difference if they disagree.
fn both_ways_agree(name: &str, text: &str) {
    let _ = parse_both_ways(&SourceFile::new(name, text));
}

fn files_in(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let file = if path.is_dir() {
            path.join("Dockerfile")
        } else {
            path.clone()
        };
        if keep(&path) && file.is_file() {
            out.push((
                file.display().to_string(),
                std::fs::read_to_string(&file).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn real_dockerfiles_type_the_same_both_ways() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = files_in(&root.join("benches/corpus"), |p| {
        p.extension().is_some_and(|e| e == "Dockerfile")
    });
    files.extend(files_in(
        &root.join("tests/conformance/buildkit/parser/testfiles"),
        |p| p.is_dir(),
    ));
    files.extend(files_in(
        &root.join("tests/conformance/buildkit/parser/testfiles-negative"),
        |p| p.is_dir(),
    ));
    assert!(files.len() > 80, "found only {} files", files.len());
    for (name, text) in &files {
        both_ways_agree(name, text);
        // The same file with a backtick escape directive, and with CRLF
        // line ends.
        both_ways_agree(name, &format!("# escape=`\n{text}"));
        both_ways_agree(name, &text.replace('\n', "\r\n"));
    }
}

const KEYWORDS: &[&str] = &[
    "RUN",
    "run",
    "Cmd",
    "ENTRYPOINT",
    "FROM",
    "from",
    "COPY",
    "ENV",
    "LABEL",
    "ARG",
    "WORKDIR",
    "USER",
    "EXPOSE",
    "ADD",
    "VOLUME",
    "SHELL",
    "ONBUILD",
    // ONBUILD with a trigger: the flags and arguments drawn are the
    // trigger's.
    "ONBUILD RUN",
    "onbuild COPY",
    "ONBUILD\tENV",
    "ONBUILD  ARG",
    "ONBUILD\x0bWORKDIR",
    "ONBUILD FROM",
    "ONBUILD ONBUILD",
    "ONBUILD HEALTHCHECK",
    "STOPSIGNAL",
    "HEALTHCHECK",
];

const FLAGS: &[&str] = &[
    "--from=build",
    "--link",
    "--link=false",
    "--chown=1:1",
    "--chmod=755",
    "--exclude=*.md",
    "--parents",
    "--platform=$BUILDPLATFORM",
    "--mount=type=cache,target=/root/.cache",
    "--mount=type=bind,from=x,source=/a,target=/b",
    "--mount=type=secret,id=tok",
    "--mount=type=cache,target=/x,sharing=locked,mode=0755",
    "--mount=type=tmpfs,target=/t,size=1g",
    "--mount=type=bogus",
    "--network=host",
    "--network=none",
    "--network=bogus",
    "--security=insecure",
    "--device=/dev/fuse",
    "--bogus",
    "--from",
    "--from=\"a b\"",
    "--chown=a\\ b",
    "--",
    // Continued inside a flag.
    "--mount=type=cache,\\\ntarget=/x",
    "--mount=type=cache,target=/x\\\n,sharing=locked",
    "--network=\\\n  host",
    "-\\\n-link",
];

const ARGS: &[&str] = &[
    "echo hello",
    "apt-get update && apt-get install -y curl",
    "a=b",
    "a=b c=d",
    "A=\"x y\" B='z w'",
    "a b c",
    "=x",
    "a= b=",
    "name",
    "name=default other",
    "\"quoted\"",
    "'single'",
    "x\\ y",
    "\\",
    "`",
    "alpine",
    "alpine AS build",
    "alpine as Build",
    "alpine AS 1bad",
    "alpine AS build extra",
    "golang:1.22 AS Builder",
    "src/ /dst/",
    "a b /dst/",
    "one",
    "[\"a\", \"b\"]",
    "[\"/bin/sh\", \"-c\", \"echo\"]",
    "[\"a\\\"b\", \"c\\u003c\\u003cEOF\"]",
    "[\"\\u003c\\u003cEOF\", \"/dst\"]",
    "[1, 2]",
    "[\"a\",]",
    "[]",
    "[ \"spaced\" ]",
    "[not json",
    "80/tcp 443 22",
    "/app",
    "1000:1000",
    "caf\u{e9} \u{e0}",
    "a\u{a0}b",
    "\u{a0}x",
    "x\u{a0}",
    "<<EOF",
    "x <<EOF",
    "$HOME ${PATH:-/bin}",
    "#notacomment",
    "a\tb\x0bc",
    // Continued inside an argument: a heredoc, JSON or a flag across two
    // lines, a command ending in a continuation.
    "x <\\\n<EOF",
    "[\\\n\"a\"]",
    "-\\\n-y",
    "echo \\\n",
    "\"a \\\n b\"",
];

/// Text between the pieces of an instruction: blanks, or a continuation
/// (with trailing blanks, a comment line or an empty line inside).
const JOINS: &[&str] = &[
    " ",
    "  ",
    "\t",
    " \\\n  ",
    "\\\n",
    " \\  \n\t",
    " \\\n# a comment\n  ",
    " \\\n\n  ",
    " `\n  ",
];

fn line() -> impl Strategy<Value = String> {
    (
        0..KEYWORDS.len(),
        proptest::collection::vec(0..FLAGS.len(), 0..3),
        proptest::collection::vec(0..ARGS.len(), 0..3),
        proptest::collection::vec(0..JOINS.len(), 6),
        any::<bool>(),
    )
        .prop_map(|(k, flags, args, joins, indent)| {
            let mut out = String::new();
            if indent {
                out.push_str("  ");
            }
            out.push_str(KEYWORDS[k]);
            let pieces = flags
                .iter()
                .map(|&f| FLAGS[f])
                .chain(args.iter().map(|&a| ARGS[a]));
            for (i, piece) in pieces.enumerate() {
                out.push_str(JOINS[joins[i % joins.len()]]);
                out.push_str(piece);
            }
            out.push('\n');
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_instructions_type_the_same_both_ways(
        backtick in any::<bool>(),
        global in proptest::collection::vec(line(), 0..3),
        body in proptest::collection::vec(line(), 1..12),
    ) {
        let mut text = String::new();
        if backtick {
            text.push_str("# escape=`\n");
        }
        for l in &global {
            text.push_str(l);
        }
        text.push_str("FROM base AS first\n");
        for l in &body {
            text.push_str(l);
        }
        both_ways_agree("generated", &text);
    }
}

/// A RUN, CMD or ENTRYPOINT continued over lines, its flags on the first
/// line or spread over the lines before the command: the shapes `parse`
/// types from the lines' pieces without joining them.
fn continued_command() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("RUN"), Just("run"), Just("CMD"), Just("ENTRYPOINT")],
        proptest::collection::vec(0..FLAGS.len(), 0..4),
        proptest::collection::vec(0..ARGS.len(), 1..4),
        proptest::collection::vec(0..JOINS.len(), 4),
        proptest::collection::vec(0..JOINS.len(), 4),
    )
        .prop_map(|(keyword, flags, args, joins, flag_joins)| {
            let mut out = String::from(keyword);
            for (i, &f) in flags.iter().enumerate() {
                // The first flag is on the keyword's line.
                out.push_str(if i == 0 { " " } else { JOINS[flag_joins[i]] });
                out.push_str(FLAGS[f]);
            }
            for (i, &a) in args.iter().enumerate() {
                // The first join is always a continuation.
                let join = if i == 0 { " \\\n  " } else { JOINS[joins[i]] };
                out.push_str(join);
                out.push_str(ARGS[a]);
            }
            out.push('\n');
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1024,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn continued_commands_type_the_same_both_ways(
        body in proptest::collection::vec(continued_command(), 1..6),
    ) {
        let mut text = String::from("FROM base\n");
        for l in &body {
            text.push_str(l);
        }
        both_ways_agree("generated", &text);
    }
}
