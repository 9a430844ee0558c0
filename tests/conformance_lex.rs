//! BuildKit's lexer vectors: `shell/envVarTest`, `shell/wordsTest` and every
//! case of `ported/lex.json`, run the way BuildKit's `lex_test.go` runs them.
//!
//! Each suite collects every failure with the case's id (or line number) and
//! asserts there are none, then asserts how many cases ran, so a vector that
//! silently stops running fails the test as surely as a wrong answer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use scratchify::dockerfile::lex::{
    Env, EnvList, LexError, Lexer, ShellPattern, reverse_pattern, reverse_string,
};
use serde_json::Value;

fn vectors(path: &str) -> String {
    let full: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests/conformance/buildkit",
        path,
    ]
    .iter()
    .collect();
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {}: {e}", full.display()))
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn check_word(
    failures: &mut Vec<String>,
    id: &str,
    via: &str,
    got: Result<String, LexError>,
    expected: &str,
) {
    match (got, expected) {
        (Err(_), "error") => {}
        (Ok(word), "error") => {
            failures.push(format!("{id} ({via}): expected an error, got {word:?}"))
        }
        (Ok(word), _) if word == expected => {}
        (Ok(word), _) => {
            failures.push(format!("{id} ({via}): expected {expected:?}, got {word:?}"))
        }
        (Err(e), _) => failures.push(format!(
            "{id} ({via}): expected {expected:?}, got error {e}"
        )),
    }
}

/// `envVarTest`: `PLATFORM|WORD|EXPECTED`, where PLATFORM is A (all), U
/// (Unix) or W (Windows, where `$pwd` is `$PWD`). Like the Go test on Linux,
/// A and U lines run, both with the `KEY=VALUE` list and with a map.
#[test]
fn env_var_test() {
    let text = vectors("shell/envVarTest");
    let envs = ["PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL="];
    let list = EnvList::from_entries(envs);
    let as_map = map(&[
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("KOREAN", "한국어"),
        ("NULL", ""),
    ]);
    let lexer = Lexer::new('\\');

    let mut failures = Vec::new();
    let (mut ran, mut windows_only, mut malformed) = (0usize, Vec::new(), Vec::new());
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.trim().split('|').collect();
        let [platform, source, expected] = fields.as_slice() else {
            malformed.push(line_no);
            continue;
        };
        let (platform, source, expected) = (platform.trim(), source.trim(), expected.trim());
        match platform {
            "A" | "U" => {
                ran += 1;
                let id = format!("envVarTest:{line_no} {source:?}");
                check_word(
                    &mut failures,
                    &id,
                    "list",
                    lexer.process_word(source, &list),
                    expected,
                );
                check_word(
                    &mut failures,
                    &id,
                    "map",
                    lexer.process_word(source, &as_map),
                    expected,
                );
            }
            "W" => windows_only.push(line_no),
            _ => malformed.push(line_no),
        }
    }
    assert!(malformed.is_empty(), "malformed lines: {malformed:?}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The two W lines (`he$pwd.` and `안녕$pwd.`) are the only ones not run:
    // they test Windows' case-insensitive variable names.
    assert_eq!(windows_only, [25, 94], "Windows-only lines");
    assert_eq!(ran, 228, "A and U cases run");
}

/// `wordsTest`: `WORD|W1,W2,...` split with `process_words`, where `ENV
/// K=V` lines add to the environment as they go (as the Go test's `envs`
/// slice) and `error` means the word must fail.
///
/// BuildKit's test then means to run the file a second time with raw quotes
/// and unset variables left alone, but that pass reads the already exhausted
/// file and checks nothing; there is nothing to port from it.
#[test]
fn words_test() {
    let text = vectors("shell/wordsTest");
    let lexer = Lexer::new('\\');
    let mut envs: Vec<String> = Vec::new();
    let mut failures = Vec::new();
    let mut ran = 0usize;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        if line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("ENV ") {
            envs.push(rest.trim_start_matches(' ').to_owned());
            continue;
        }
        let fields: Vec<&str> = line.split('|').collect();
        let [word, expected] = fields.as_slice() else {
            failures.push(format!(
                "wordsTest:{line_no}: not exactly one `|`: {line:?}"
            ));
            continue;
        };
        let word = word.trim();
        let expected: Vec<&str> = expected.trim_start_matches(' ').split(',').collect();
        ran += 1;

        let list = EnvList::from_entries(&envs);
        let as_map: BTreeMap<String, String> = list
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        for (via, env) in [("list", &list as &dyn Env), ("map", &as_map as &dyn Env)] {
            let got = lexer
                .process_words(word, env)
                .unwrap_or_else(|_| vec!["error".to_owned()]);
            if got != expected {
                failures.push(format!(
                    "wordsTest:{line_no} ({via}) {word:?}: expected {expected:?}, got {got:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(ran, 24, "word cases run");
    assert_eq!(envs.len(), 4, "ENV lines read");
}

fn str_set(v: &Value) -> Option<BTreeSet<String>> {
    v.as_array().map(|a| {
        a.iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    })
}

fn escape_of(case: &Value) -> Result<char, String> {
    let escape = case["escape"].as_str().unwrap_or("\\");
    let mut chars = escape.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(format!("escape {escape:?} is not one character")),
    }
}

/// The environment of a case: `env` (an object) or `env_list` (`KEY=VALUE`
/// strings).
fn env_of(case: &Value) -> Result<Box<dyn Env>, String> {
    if let Some(list) = case.get("env_list") {
        let entries = list.as_array().ok_or("env_list is not an array")?;
        let entries: Vec<&str> = entries.iter().filter_map(Value::as_str).collect();
        return Ok(Box::new(EnvList::from_entries(entries)));
    }
    let object = case
        .get("env")
        .and_then(Value::as_object)
        .ok_or("neither env nor env_list")?;
    let mut env = BTreeMap::new();
    for (k, v) in object {
        env.insert(
            k.clone(),
            v.as_str().ok_or("env value is not a string")?.to_owned(),
        );
    }
    Ok(Box::new(env))
}

/// Checks an `expect` with `error`, `message_contains` and
/// `message_equals` against an error's BuildKit text.
fn check_error(expect: &Value, err: &str) -> Result<(), String> {
    if expect["error"] != Value::Bool(true) {
        return Err(format!("unexpected error: {err}"));
    }
    if let Some(part) = expect["message_contains"].as_str()
        && !err.contains(part)
    {
        return Err(format!("error {err:?} does not contain {part:?}"));
    }
    if let Some(whole) = expect["message_equals"].as_str()
        && err != whole
    {
        return Err(format!("error {err:?} is not {whole:?}"));
    }
    Ok(())
}

fn expect_no_error(expect: &Value) -> Result<(), String> {
    if expect["error"] == Value::Bool(true) {
        Err("expected an error, got success".to_owned())
    } else {
        Ok(())
    }
}

fn check_str(expect: &Value, field: &str, got: &str) -> Result<(), String> {
    match expect.get(field) {
        None => Ok(()),
        Some(Value::String(want)) if want == got => Ok(()),
        Some(want) => Err(format!("{field}: expected {want}, got {got:?}")),
    }
}

fn run_lex_case(case: &Value) -> Result<(), String> {
    let expect = &case["expect"];
    let input = case["input"].as_str().ok_or("input is not a string")?;
    match case["kind"].as_str().unwrap_or("") {
        "process_word" => {
            let lexer = Lexer::new(escape_of(case)?);
            match lexer.process_word(input, &env_of(case)?) {
                Ok(word) => {
                    expect_no_error(expect)?;
                    check_str(expect, "result", &word)
                }
                Err(e) => check_error(expect, &e.to_string()),
            }
        }
        "process_word_with_matches" => {
            let lexer = Lexer::new(escape_of(case)?);
            match lexer.process_word_with_matches(input, &env_of(case)?) {
                Ok((word, matched, unmatched)) => {
                    expect_no_error(expect)?;
                    check_str(expect, "result", &word)?;
                    for (field, got) in [("matched", &matched), ("unmatched", &unmatched)] {
                        if let Some(want) = expect.get(field) {
                            let want = str_set(want).ok_or(format!("{field} is not a list"))?;
                            if &want != got {
                                return Err(format!("{field}: expected {want:?}, got {got:?}"));
                            }
                        }
                    }
                    Ok(())
                }
                Err(e) => check_error(expect, &e.to_string()),
            }
        }
        "get_env" => {
            let env = env_of(case)?;
            check_str(expect, "result", env.get(input).unwrap_or(""))
        }
        "shell_pattern_to_regex" => {
            let greedy = case["greedy"].as_bool().ok_or("greedy missing")?;
            let anchored = case["anchored"].as_bool().ok_or("anchored missing")?;
            match ShellPattern::compile(input, greedy, anchored) {
                Ok(p) => {
                    expect_no_error(expect)?;
                    check_str(expect, "regex", &p.to_regex())
                }
                Err(e) => check_error(expect, &e.to_string()),
            }
        }
        "reverse_string" => check_str(expect, "result", &reverse_string(input)),
        "reverse_pattern" => check_str(expect, "result", &reverse_pattern(input)),
        other => Err(format!("unknown kind {other:?}")),
    }
}

/// Every case of `ported/lex.json`, including the helper kinds
/// (`shell_pattern_to_regex`, `reverse_string`, `reverse_pattern`): the
/// lexer has the same helpers, so none is skipped.
#[test]
fn ported_lex_json() {
    let doc: Value = serde_json::from_str(&vectors("ported/lex.json")).expect("lex.json parses");
    let cases = doc["cases"].as_array().expect("cases is an array");
    let mut failures = Vec::new();
    let mut ids = BTreeSet::new();
    for case in cases {
        let id = case["id"].as_str().unwrap_or("<no id>").to_owned();
        if !ids.insert(id.clone()) {
            failures.push(format!("{id}: duplicate id"));
        }
        if let Err(why) = run_lex_case(case) {
            failures.push(format!("{id}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(ids.len(), 77, "lex.json cases run");
}
