//! BuildKit's Dockerfile parser vectors, vendored in
//! tests/conformance/buildkit: the `parser/testfiles` dumps, the negative
//! files, the line-number file, and the ported Go table tests in
//! `ported/{heredoc,directives,line_parsers,instructions}.json`.
//!
//! Every case runs; failures are collected with their ids and reported
//! together, and each test checks it ran as many cases as its file holds.

use std::path::{Path, PathBuf};

use serde_json::Value;

use scratchify::dockerfile::{
    self, ArgNode, Instruction, Keyword, Node, directives, flags, heredoc, instructions, json,
    line_parsers,
};
use scratchify::source::{SourceFile, Span};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/buildkit")
}

fn dirs(under: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(vectors().join(under))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn load(path: &Path) -> SourceFile {
    let text = std::fs::read_to_string(path).unwrap();
    SourceFile::new(path.display().to_string(), text)
}

fn binary() -> assert_cmd::Command {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_scratchify"))
}

fn check(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn testfiles_dump_like_buildkit() {
    let cases = dirs("parser/testfiles");
    let mut failures = Vec::new();
    for dir in &cases {
        let src = load(&dir.join("Dockerfile"));
        let expected = std::fs::read_to_string(dir.join("result")).unwrap();
        match dockerfile::parse_nodes(&src) {
            Ok(nodes) => {
                let got = dockerfile::dump(&nodes);
                if got != expected {
                    failures.push(format!(
                        "{}:\n--- expected\n{expected}--- got\n{got}",
                        dir.display()
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: {}", dir.display(), e.one_line())),
        }
    }
    assert_eq!(cases.len(), 33, "the vendored set has 33 testfiles");
    check(failures);
}

#[test]
fn testfiles_dump_through_the_binary() {
    let cases = dirs("parser/testfiles");
    let mut failures = Vec::new();
    for dir in &cases {
        let expected = std::fs::read_to_string(dir.join("result")).unwrap();
        let out = binary()
            .args(["parse", "--format", "buildkit"])
            .arg(dir.join("Dockerfile"))
            .output()
            .unwrap();
        if !out.status.success() || out.stdout != expected.as_bytes() {
            failures.push(format!(
                "{}: exit {:?}\n{}{}",
                dir.display(),
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert_eq!(cases.len(), 33);
    check(failures);
}

#[test]
fn stdin_is_read_for_dash() {
    let dir = vectors().join("parser/testfiles/docker");
    let expected = std::fs::read_to_string(dir.join("result")).unwrap();
    binary()
        .args(["parse", "--format", "buildkit", "-"])
        .write_stdin(std::fs::read(dir.join("Dockerfile")).unwrap())
        .assert()
        .success()
        .stdout(expected);
}

#[test]
fn json_format_prints_the_typed_tree() {
    let dir = vectors().join("parser/testfiles/brimstone-consuldock");
    let out = binary()
        .args(["parse", "--format", "json"])
        .arg(dir.join("Dockerfile"))
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let stage = &v["stages"][0];
    assert_eq!(stage["from"]["image"]["text"], "brimstone/ubuntu:14.04");
    let kinds: Vec<&str> = stage["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["instruction"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"run") && kinds.contains(&"entrypoint"),
        "{kinds:?}"
    );
}

#[test]
fn negative_testfiles_are_rejected() {
    let cases = dirs("parser/testfiles-negative");
    let mut failures = Vec::new();
    for dir in &cases {
        let file = dir.join("Dockerfile");
        if let Ok(nodes) = dockerfile::parse_nodes(&load(&file)) {
            failures.push(format!(
                "{}: accepted:\n{}",
                dir.display(),
                dockerfile::dump(&nodes)
            ));
        }
        for format in ["buildkit", "json"] {
            let out = binary()
                .args(["parse", "--format", format])
                .arg(&file)
                .output()
                .unwrap();
            if out.status.code() != Some(1) || out.stderr.is_empty() {
                failures.push(format!(
                    "{} ({format}): exit {:?}, stderr {:?}",
                    dir.display(),
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    assert_eq!(cases.len(), 4, "the vendored set has 4 negative files");
    check(failures);
}

/// BuildKit's `TestParseIncludesLineNumbers`.
#[test]
fn testfile_line_numbers_match_buildkit() {
    let src = load(&vectors().join("parser/testfile-line/Dockerfile"));
    let nodes = dockerfile::parse_nodes(&src).unwrap();
    assert_eq!((nodes.start_line, nodes.end_line), (5, 31));
    let lines: Vec<(usize, usize)> = nodes
        .children
        .iter()
        .map(|c| (c.start_line, c.end_line))
        .collect();
    assert_eq!(lines, vec![(5, 5), (11, 12), (17, 31)]);
    // The spans agree with the line numbers.
    for c in &nodes.children {
        assert_eq!(src.line_col(c.span.start).0, c.start_line);
        assert_eq!(src.line_col(c.span.end).0, c.end_line);
    }
}

// ---------------------------------------------------------------------------
// The ported Go table tests.

fn ported(name: &str) -> Vec<Value> {
    let path = vectors().join("ported").join(name);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|x| s(x).to_string()).collect())
        .unwrap_or_default()
}

/// Run every case through `run`, which returns the mismatches it found.
fn run_cases(file: &str, run: impl Fn(&Value) -> Result<(), String>) {
    let cases = ported(file);
    let mut failures = Vec::new();
    let mut ran = 0;
    for c in &cases {
        ran += 1;
        if let Err(e) = run(c) {
            failures.push(format!("{}: {e}", s(&c["id"])));
        }
    }
    assert_eq!(ran, cases.len());
    check(failures);
}

/// Compare an outcome with `expect.error`/`message_contains`/`message_equals`.
/// `Ok(true)` when an error was expected and found (nothing else to check).
fn check_error(expect: &Value, result: Result<(), String>) -> Result<bool, String> {
    let want_error = expect["error"].as_bool() == Some(true);
    match (want_error, result) {
        (true, Ok(())) => Err("expected an error, got success".into()),
        (false, Err(e)) => Err(format!("unexpected error: {e}")),
        (false, Ok(())) => Ok(false),
        (true, Err(e)) => {
            if let Some(sub) = expect["message_contains"].as_str()
                && !e.contains(sub)
            {
                return Err(format!("error {e:?} does not contain {sub:?}"));
            }
            if let Some(whole) = expect["message_equals"].as_str()
                && e != whole
            {
                return Err(format!("error {e:?} is not {whole:?}"));
            }
            Ok(true)
        }
    }
}

fn parse_text(text: &str) -> Result<dockerfile::ParsedNodes<'static>, String> {
    dockerfile::parse_nodes(&SourceFile::new("Dockerfile", text))
        .map(dockerfile::ParsedNodes::into_owned)
        .map_err(|e| e.message)
}

#[test]
fn ported_heredoc_cases() {
    run_cases("heredoc.json", |c| {
        let expect = &c["expect"];
        match s(&c["kind"]) {
            "parse" => {
                let nodes = parse_text(s(&c["input"]))?;
                for child in expect["children"].as_array().unwrap() {
                    let i = child["index"].as_u64().unwrap() as usize;
                    let node = nodes
                        .children
                        .get(i)
                        .ok_or_else(|| format!("no instruction {i}"))?;
                    let got: Vec<Value> = node
                        .heredocs
                        .iter()
                        .map(|h| {
                            serde_json::json!({
                                "name": h.name, "content": h.content, "expand": h.expand,
                                "chomp": h.chomp, "fd": h.fd,
                            })
                        })
                        .collect();
                    if got != *child["heredocs"].as_array().unwrap() {
                        return Err(format!("instruction {i}: heredocs {got:?}"));
                    }
                }
                Ok(())
            }
            "chomp" => {
                let got = heredoc::chomp(s(&c["input"]));
                (got == s(&expect["result"]))
                    .then_some(())
                    .ok_or(format!("got {got:?}"))
            }
            "parse_heredoc_word" => {
                let got = heredoc::parse_heredoc_word(s(&c["input"]));
                if check_error(expect, got.as_ref().map(|_| ()).map_err(|e| e.clone()))? {
                    return Ok(());
                }
                let got = got.unwrap_or_default().map(|h| h.name);
                let want = expect["heredoc"]["name"].as_str().map(str::to_string);
                (got == want)
                    .then_some(())
                    .ok_or(format!("got {got:?}, want {want:?}"))
            }
            "heredocs_from_line" => {
                let got: Vec<String> = heredoc::heredocs_from_line(s(&c["input"]))?
                    .into_iter()
                    .map(|h| h.name)
                    .collect();
                let want = strings(&expect["names"]);
                (got == want).then_some(()).ok_or(format!("got {got:?}"))
            }
            k => Err(format!("unknown kind {k}")),
        }
    });
}

fn check_directive(expect: &Value, got: Option<directives::DirectiveMatch>) -> Result<(), String> {
    let found = expect["found"].as_bool().unwrap();
    if got.is_some() != found {
        return Err(format!("found {:?}", got));
    }
    let (reference, cmdline) = got.as_ref().map_or((String::new(), String::new()), |m| {
        (m.reference.clone(), m.cmdline.clone())
    });
    if let Some(r) = expect["ref"].as_str()
        && r != reference
    {
        return Err(format!("ref {reference:?}"));
    }
    if let Some(c) = expect["cmdline"].as_str()
        && c != cmdline
    {
        return Err(format!("cmdline {cmdline:?}"));
    }
    if let Some(loc) = expect.get("location") {
        let m = got.ok_or("no location")?;
        let want = (
            loc["start_line"].as_u64().unwrap() as usize,
            loc["end_line"].as_u64().unwrap() as usize,
        );
        if (m.start_line, m.end_line) != want {
            return Err(format!("location {:?}", (m.start_line, m.end_line)));
        }
    }
    Ok(())
}

#[test]
fn ported_directive_cases() {
    run_cases("directives.json", |c| {
        let expect = &c["expect"];
        let input = s(&c["input"]);
        match s(&c["kind"]) {
            "parse_all" => {
                let got: Vec<Value> = directives::parse_all(input)?
                    .into_iter()
                    .map(|(n, v)| serde_json::json!({"name": n, "value": v}))
                    .collect();
                (got == *expect["directives"].as_array().unwrap())
                    .then_some(())
                    .ok_or(format!("got {got:?}"))
            }
            "detect_syntax" => check_directive(expect, directives::detect_syntax(input)),
            "parse_directive" => {
                check_directive(expect, directives::parse_directive(s(&c["key"]), input))
            }
            k => Err(format!("unknown kind {k}")),
        }
    });
}

#[test]
fn ported_line_parser_cases() {
    run_cases("line_parsers.json", |c| {
        let expect = &c["expect"];
        let input = s(&c["input"]);
        match s(&c["kind"]) {
            "parse_json" => {
                let got = json::parse_json_array(input);
                if let Some(kind) = expect["error_kind"].as_str() {
                    if kind != "not_string_array" {
                        return Err(format!("unknown error kind {kind}"));
                    }
                    return match got {
                        Err(json::JsonArrayError::NotStringArray) => Ok(()),
                        other => Err(format!("got {other:?}")),
                    };
                }
                if check_error(expect, got.as_ref().map(|_| ()).map_err(|e| e.to_string()))? {
                    return Ok(());
                }
                let got: Vec<String> = got
                    .unwrap_or_default()
                    .iter()
                    .map(|j| j.value(input).to_owned())
                    .collect();
                let want = strings(&expect["values"]);
                (got == want).then_some(()).ok_or(format!("got {got:?}"))
            }
            "parse_name_val" => {
                let got = line_parsers::name_val_values(input, s(&c["instruction"]), '\\');
                if check_error(expect, got.as_ref().map(|_| ()).map_err(|e| e.clone()))? {
                    return Ok(());
                }
                let got = got.unwrap_or_default();
                let want = strings(&expect["values"]);
                (got == want).then_some(()).ok_or(format!("got {got:?}"))
            }
            k => Err(format!("unknown kind {k}")),
        }
    });
}

/// A node built from the vector's `{value, original, next}`.
fn synthetic_node(v: &Value) -> Node<'static> {
    Node {
        value: s(&v["value"]).to_string().into(),
        keyword: Keyword::of(s(&v["value"])),
        value_span: Span::default(),
        original: s(&v["original"]).to_string().into(),
        flags: Vec::new(),
        next: strings(&v["next"])
            .into_iter()
            .map(|value| ArgNode {
                value: value.into(),
                span: Span::default(),
                text_range: 0..0,
                children: Vec::new(),
            })
            .collect(),
        heredocs: Vec::new(),
        json: false,
        comments: Vec::new(),
        start_line: 1,
        end_line: 1,
        span: Span::default(),
        line_map: dockerfile::LineMap::default(),
    }
}

fn check_instruction(expect: &Value, got: Instruction) -> Result<(), String> {
    if let Some(want) = expect.get("copy") {
        let Instruction::Copy(c) = &got else {
            return Err(format!("not a COPY: {}", got.name()));
        };
        if c.dest.text != s(&want["dest_path"]) {
            return Err(format!("dest {:?}", c.dest.text));
        }
        let paths: Vec<String> = c.sources.iter().map(|w| w.text.to_string()).collect();
        if paths != strings(&want["source_paths"]) {
            return Err(format!("source paths {paths:?}"));
        }
        let contents: Vec<Value> = c
            .inline_sources
            .iter()
            .map(|i| serde_json::json!({"path": i.path, "data": i.data, "expand": i.expand}))
            .collect();
        if contents != *want["source_contents"].as_array().unwrap() {
            return Err(format!("source contents {contents:?}"));
        }
    }
    if let Some(want) = expect.get("run") {
        let Instruction::Run(r) = &got else {
            return Err(format!("not a RUN: {}", got.name()));
        };
        if let Some(p) = want["prepend_shell"].as_bool()
            && p != r.command.prepend_shell()
        {
            return Err(format!("prepend_shell {}", r.command.prepend_shell()));
        }
        if want.get("cmd_line").is_some() && r.command.cmd_line() != strings(&want["cmd_line"]) {
            return Err(format!("cmd_line {:?}", r.command.cmd_line()));
        }
        if let Some(files) = want["files"].as_array() {
            let got: Vec<Value> = r
                .files
                .iter()
                .map(|f| serde_json::json!({"name": f.name, "data": f.content, "chomp": f.chomp}))
                .collect();
            if got != *files {
                return Err(format!("files {got:?}"));
            }
        }
        if want.get("flags_used").is_some() && r.flags_used != strings(&want["flags_used"]) {
            return Err(format!("flags_used {:?}", r.flags_used));
        }
    }
    if let Some(want) = expect.get("healthcheck") {
        let Instruction::Healthcheck(h) = &got else {
            return Err(format!("not a HEALTHCHECK: {}", got.name()));
        };
        if h.test() != strings(&want["test"]) {
            return Err(format!("test {:?}", h.test()));
        }
    }
    Ok(())
}

fn flag_decls(v: &Value) -> Vec<flags::FlagDecl> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| flags::FlagDecl {
            name: s(&d["name"]).to_string(),
            kind: match s(&d["type"]) {
                "bool" => flags::FlagKind::Bool,
                "strings" => flags::FlagKind::Strings,
                _ => flags::FlagKind::String,
            },
            default_bool: d["default"].as_bool().unwrap_or(false),
            default_string: d["default"].as_str().unwrap_or("").to_string(),
        })
        .collect()
}

#[test]
fn ported_instruction_cases() {
    run_cases("instructions.json", |c| {
        let expect = &c["expect"];
        match s(&c["kind"]) {
            "parse_instruction" | "parse_instruction_node" => {
                let node = if s(&c["kind"]) == "parse_instruction" {
                    parse_text(s(&c["input"]))?
                        .children
                        .into_iter()
                        .next()
                        .ok_or("no instruction")?
                } else {
                    synthetic_node(&c["input"])
                };
                let got = instructions::parse_instruction(&node);
                if check_error(
                    expect,
                    got.as_ref().map(|_| ()).map_err(|e| e.message.clone()),
                )? {
                    return Ok(());
                }
                check_instruction(expect, got.map_err(|e| e.message)?)
            }
            "healthcheck_interval" => {
                let got = instructions::healthcheck_interval(s(&c["flag"]), s(&c["input"]));
                check_error(expect, got.map(|_| ())).map(|_| ())
            }
            "bflags" => {
                let decls = flag_decls(&c["flags"]);
                let got = flags::parse_bflags(&decls, &strings(&c["input"]));
                if check_error(expect, got.as_ref().map(|_| ()).map_err(|e| e.clone()))? {
                    return Ok(());
                }
                let got = got.unwrap_or_default();
                if let Some(want) = expect["flags"].as_object() {
                    for (name, w) in want {
                        let (value, used) = got.get(name).ok_or(format!("no flag {name}"))?;
                        if let Some(u) = w["used"].as_bool()
                            && u != *used
                        {
                            return Err(format!("{name}: used {used}"));
                        }
                        let ok = match (&w["value"], value) {
                            (Value::Null, _) => true,
                            (Value::Bool(b), flags::FlagValue::Bool(v)) => b == v,
                            (Value::String(x), flags::FlagValue::String(v)) => x == v,
                            _ => false,
                        };
                        if !ok {
                            return Err(format!("{name}: value {value:?}"));
                        }
                    }
                }
                if let Some(want) = expect.get("used") {
                    let mut want = strings(want);
                    want.sort();
                    // `got` is a sorted map, so this is sorted too.
                    let used: Vec<String> = got
                        .iter()
                        .filter(|(_, (_, u))| *u)
                        .map(|(n, _)| n.clone())
                        .collect();
                    if used != want {
                        return Err(format!("used {used:?}"));
                    }
                }
                Ok(())
            }
            k => Err(format!("unknown kind {k}")),
        }
    });
}
