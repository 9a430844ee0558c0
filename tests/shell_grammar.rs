//! The command grammars (`grammar/commands/*.toml`) and the generic argv
//! parser driven by them.

use std::collections::BTreeSet;

use scratchify::shell::grammar::{ArgvError, Grammar, parse_argv};
use scratchify::shell::{Arg, Effect, analyze_script};
use scratchify::source::Span;

fn args(words: &[&str]) -> Vec<Arg> {
    let mut off = 0;
    words
        .iter()
        .map(|w| {
            let a = Arg::literal(*w, Span::new(off, off + w.len()));
            off += w.len() + 1;
            a
        })
        .collect()
}

const TEST_GRAMMAR: &str = r#"
[tool]
recognizer = "noop"
doc = "a test tool"
options = [
  { key = "yes", short = ["y"], long = ["yes"], doc = "yes" },
  { key = "quiet", short = ["q"], doc = "quiet" },
  { key = "opt", short = ["o"], long = ["option"], value = "required", doc = "an option with a value" },
  { key = "color", long = ["color"], value = "optional", doc = "optional value" },
  { key = "nv", single = ["nv"], doc = "single-dash long option" },
  { key = "install", short = ["i"], action = "install", doc = "action option" },
  { key = "erase", short = ["e"], action = "erase", doc = "another action option" },
]
[tool.subcommands.run]
action = "run"
doc = "run"
aliases = ["r"]
options = [
  { key = "force", short = ["f"], long = ["force"], doc = "force" },
]
[tool.subcommands.group]
action = "group"
doc = "nested"
[tool.subcommands.group.subcommands.add]
action = "group-add"
doc = "nested add"

[posix]
recognizer = "noop"
doc = "options end at the first operand"
style = "posix"
options = [
  { key = "m", short = ["m"], value = "required", terminates = true, doc = "module" },
  { key = "v", short = ["v"], doc = "verbose" },
]

[archiver]
recognizer = "noop"
doc = "tar-like"
style = "tar"
options = [
  { key = "x", short = ["x"], doc = "extract" },
  { key = "z", short = ["z"], doc = "gzip" },
  { key = "f", short = ["f"], value = "required", doc = "file" },
  { key = "C", short = ["C"], value = "required", doc = "directory" },
]
"#;

fn grammar() -> Grammar {
    Grammar::from_files([("test.toml", TEST_GRAMMAR)]).expect("test grammar")
}

/// (subcommands, action, options as (key, value), operands)
type Parsed = (
    Vec<String>,
    Option<String>,
    Vec<(String, Option<String>)>,
    Vec<String>,
);

fn parse(cmd: &str, words: &[&str]) -> Result<Parsed, ArgvError> {
    let g = grammar();
    let (_, spec) = g.get(cmd).unwrap();
    let mut all = vec![cmd];
    all.extend_from_slice(words);
    let p = parse_argv(spec, &args(&all))?;
    Ok((
        p.subcommands.clone(),
        p.action.clone(),
        p.options
            .iter()
            .map(|o| {
                (
                    o.key.clone(),
                    o.value.as_ref().and_then(|v| v.value.clone()),
                )
            })
            .collect(),
        p.operands
            .iter()
            .map(|a| a.value.clone().unwrap_or_default())
            .collect(),
    ))
}

fn opts(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
        .collect()
}

fn strs(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn getopt_forms() {
    let (subs, action, o, ops) = parse(
        "tool",
        &[
            "-yq",
            "run",
            "-f",
            "a",
            "--yes",
            "b",
            "-oX=1",
            "-o",
            "Y",
            "--option=Z",
            "--option",
            "W",
        ],
    )
    .unwrap();
    assert_eq!(subs, strs(&["run"]));
    assert_eq!(action.as_deref(), Some("run"));
    assert_eq!(
        o,
        opts(&[
            ("yes", None),
            ("quiet", None),
            ("force", None),
            ("yes", None),
            ("opt", Some("X=1")),
            ("opt", Some("Y")),
            ("opt", Some("Z")),
            ("opt", Some("W")),
        ])
    );
    assert_eq!(ops, strs(&["a", "b"]));
    // `--` ends options; `-` is an operand; aliases of subcommands.
    let (subs, _, o, ops) = parse("tool", &["r", "--", "-y", "-"]).unwrap();
    assert_eq!((subs, o, ops), (strs(&["run"]), vec![], strs(&["-y", "-"])));
    // Optional values only attach with `=`.
    let (_, _, o, _) = parse("tool", &["--color", "--color=never", "run"]).unwrap();
    assert_eq!(o, opts(&[("color", None), ("color", Some("never"))]));
    // Single-dash long options win over clusters.
    let (_, _, o, _) = parse("tool", &["-nv", "run"]).unwrap();
    assert_eq!(o, opts(&[("nv", None)]));
    // Nested subcommands.
    let (subs, action, _, ops) = parse("tool", &["group", "add", "x"]).unwrap();
    assert_eq!(
        (subs, action.as_deref(), ops),
        (strs(&["group", "add"]), Some("group-add"), strs(&["x"]))
    );
    // Action options.
    let (_, action, _, _) = parse("tool", &["-i"]).unwrap();
    assert_eq!(action.as_deref(), Some("install"));
}

#[test]
fn getopt_errors() {
    assert!(
        matches!(parse("tool", &["-z"]), Err(ArgvError::UnknownOption { option, .. }) if option == "-z")
    );
    assert!(
        matches!(parse("tool", &["--nope"]), Err(ArgvError::UnknownOption { option, .. }) if option == "--nope")
    );
    assert!(matches!(
        parse("tool", &["run", "-o"]),
        Err(ArgvError::MissingValue { .. })
    ));
    assert!(matches!(
        parse("tool", &["--yes=1"]),
        Err(ArgvError::UnexpectedValue { .. })
    ));
    assert!(
        matches!(parse("tool", &["walk"]), Err(ArgvError::UnknownSubcommand { name, .. }) if name == "walk")
    );
    assert!(matches!(
        parse("tool", &["-ie"]),
        Err(ArgvError::ConflictingActions { .. })
    ));
    // A subcommand whose value is not known.
    let g = grammar();
    let (_, spec) = g.get("tool").unwrap();
    let mut a = args(&["tool"]);
    a.push(Arg {
        value: None,
        text: "$CMD".into(),
        span: Span::new(5, 9),
        glob: false,
        unknown: vec![],
    });
    assert!(
        matches!(parse_argv(spec, &a), Err(ArgvError::UnknownValued { text, .. }) if text == "$CMD")
    );
    // The subcommand's own options are not valid before it.
    assert!(matches!(
        parse("tool", &["-f", "run"]),
        Err(ArgvError::UnknownOption { .. })
    ));
}

#[test]
fn styles() {
    // posix: options stop at the first operand; `terminates` ends them.
    let (_, _, o, ops) = parse("posix", &["-v", "script", "-v"]).unwrap();
    assert_eq!((o, ops), (opts(&[("v", None)]), strs(&["script", "-v"])));
    let (_, _, o, ops) = parse("posix", &["-m", "pip", "install", "-v"]).unwrap();
    assert_eq!(
        (o, ops),
        (opts(&[("m", Some("pip"))]), strs(&["install", "-v"]))
    );
    let (_, _, o, ops) = parse("posix", &["-mpip", "-v"]).unwrap();
    assert_eq!((o, ops), (opts(&[("m", Some("pip"))]), strs(&["-v"])));
    // tar: a first word without a dash is a bundle whose values follow.
    let (_, _, o, ops) = parse("archiver", &["xzfC", "a.tgz", "/opt", "member"]).unwrap();
    assert_eq!(
        (o, ops),
        (
            opts(&[
                ("x", None),
                ("z", None),
                ("f", Some("a.tgz")),
                ("C", Some("/opt"))
            ]),
            strs(&["member"])
        )
    );
    let (_, _, o, _) = parse("archiver", &["-xzf", "a.tgz"]).unwrap();
    assert_eq!(o, opts(&[("x", None), ("z", None), ("f", Some("a.tgz"))]));
    // Not a bundle when it is not made of option letters.
    let (_, _, o, ops) = parse("archiver", &["file"]).unwrap();
    assert_eq!((o, ops), (vec![], strs(&["file"])));
}

#[test]
fn grammar_files_are_validated() {
    let bad: &[(&str, &str)] = &[
        ("[a]\nrecognizer = \"noop\"\n", "missing field `doc`"),
        (
            "[a]\nrecognizer = \"noop\"\ndoc = \"x\"\nbogus = 1\n",
            "unknown field `bogus`",
        ),
        (
            "[a]\nrecognizer = \"noop\"\ndoc = \"x\"\noptions = [ { key = \"k\", doc = \"d\", short = [\"ab\"] } ]\n",
            "not one character",
        ),
        (
            "[a]\nrecognizer = \"noop\"\ndoc = \"x\"\noptions = [ { key = \"k\", doc = \"d\" } ]\n",
            "has no spelling",
        ),
        (
            "[a]\nrecognizer = \"noop\"\ndoc = \"x\"\noptions = [ { key = \"k\", doc = \"d\", long = [\"x=y\"] } ]\n",
            "bad long spelling",
        ),
        (
            "[a]\nrecognizer = \"noop\"\ndoc = \"x\"\noptions = [ { key = \"k\", doc = \"d\", short = [\"v\"] }, { key = \"l\", doc = \"d\", short = [\"v\"] } ]\n",
            "listed twice",
        ),
        (
            "[a]\nrecognizer = \"noop\"\ndoc = \"x\"\naliases = [\"b\"]\n[b]\nrecognizer = \"noop\"\ndoc = \"y\"\n",
            "defined twice",
        ),
        (
            "[a]\nrecognizer = \"noop\"\ndoc = \"x\"\noptions = [ { key = \"k\", doc = \"d\", short = [\"v\"], value = \"sometimes\" } ]\n",
            "unknown variant",
        ),
        ("[a\n", "TOML"),
    ];
    let mut failures = Vec::new();
    for (text, want) in bad {
        match Grammar::from_files([("bad.toml", *text)]) {
            Ok(_) => failures.push(format!("accepted: {text:?}")),
            Err(e) => {
                let msg = e.to_string();
                let matched =
                    msg.contains(want) || (*want == "TOML" && msg.starts_with("bad.toml:"));
                if !matched {
                    failures.push(format!("{text:?}: {msg} (want {want})"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn builtin_grammar_covers_the_commands_of_the_issue() {
    let g = Grammar::builtin().expect("the built-in grammar parses");
    let want = [
        "apt-get",
        "apt",
        "apt-mark",
        "dpkg",
        "apk",
        "dnf",
        "yum",
        "microdnf",
        "pip",
        "pip3",
        "python",
        "python3",
        "nix-env",
        "nix",
        "npm",
        "gem",
        "useradd",
        "groupadd",
        "usermod",
        "adduser",
        "addgroup",
        "mkdir",
        "chown",
        "chmod",
        "ln",
        "touch",
        "cp",
        "mv",
        "echo",
        "printf",
        "rm",
        "curl",
        "wget",
        "sha256sum",
        "gpg",
        "tar",
        "true",
        ":",
        "test",
        "[",
        "exit",
    ];
    let missing: Vec<&str> = want
        .iter()
        .copied()
        .filter(|n| g.get(n).is_none())
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
    // Every command, subcommand and option says what it does.
    let mut undocumented = Vec::new();
    let mut seen = BTreeSet::new();
    for (name, _) in g.names() {
        let (canonical, spec) = g.get(name).unwrap();
        if !seen.insert(canonical.to_string()) {
            continue;
        }
        if spec.doc.trim().is_empty() {
            undocumented.push(canonical.to_string());
        }
        for o in &spec.options {
            if o.doc.trim().is_empty() {
                undocumented.push(format!("{canonical} {}", o.key));
            }
        }
        let mut stack: Vec<(String, &scratchify::shell::grammar::SubcommandSpec)> = spec
            .subcommands
            .iter()
            .map(|(n, s)| (n.clone(), s))
            .collect();
        while let Some((n, s)) = stack.pop() {
            if s.doc.trim().is_empty() {
                undocumented.push(format!("{canonical} {n}"));
            }
            for o in &s.options {
                if o.doc.trim().is_empty() {
                    undocumented.push(format!("{canonical} {n} {}", o.key));
                }
            }
            stack.extend(s.subcommands.iter().map(|(m, t)| (format!("{n} {m}"), t)));
        }
        if spec.recognizer == "noop" && spec.reason.is_none() {
            undocumented.push(format!("{canonical}: a noop without a reason"));
        }
    }
    assert!(undocumented.is_empty(), "{undocumented:?}");
}

/// Every recogniser the grammar names exists: running each command never
/// yields "the grammar names a recogniser that does not exist".
#[test]
fn every_recognizer_exists() {
    let g = Grammar::builtin().unwrap();
    let mut failures = Vec::new();
    for (name, recognizer) in g.names() {
        if name == ":" || name == "[" || name == "[[" {
            continue;
        }
        let a = analyze_script(&format!("{name} x"), &|_| None);
        for (_, e) in a.effects() {
            if let Effect::Opaque { reason, .. } = e
                && reason.contains("does not exist")
            {
                failures.push(format!("{name} ({recognizer}): {reason}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Every option key a recogniser reads is declared in the grammar (a typo
/// would silently read as "option absent").
#[test]
fn recognizers_read_declared_keys() {
    let g = Grammar::builtin().unwrap();
    let mut declared = BTreeSet::new();
    for (name, _) in g.names() {
        let (_, spec) = g.get(name).unwrap();
        let mut stack = vec![(&spec.options, &spec.subcommands)];
        while let Some((options, subs)) = stack.pop() {
            declared.extend(options.iter().map(|o| o.key.clone()));
            stack.extend(subs.values().map(|s| (&s.options, &s.subcommands)));
        }
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/shell/recognize");
    let mut undeclared = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for call in [
            ".has(\"",
            ".values(\"",
            ".last(\"",
            ".count(\"",
            "values(inv, \"",
        ] {
            for (i, _) in text.match_indices(call) {
                let rest = &text[i + call.len()..];
                let key = &rest[..rest.find('"').unwrap()];
                checked += 1;
                if !declared.contains(key) {
                    undeclared.push(format!("{}: {key}", path.display()));
                }
            }
        }
        // Keys checked in loops over `(key, message)` pairs.
        for (i, _) in text.match_indices("for (key, what) in [") {
            let block = &text[i..];
            let block = &block[..block.find("] {").unwrap()];
            for (j, _) in block.match_indices("(\"") {
                let rest = &block[j + 2..];
                let key = &rest[..rest.find('"').unwrap()];
                checked += 1;
                if !declared.contains(key) {
                    undeclared.push(format!("{}: {key}", path.display()));
                }
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} key reads found: the scan is broken"
    );
    assert!(undeclared.is_empty(), "{undeclared:#?}");
}
