//! The analysis: expansion, variables, control flow, redirections and the
//! recognisers, checked against a real shell where a shell can say.

mod shell_support;

use std::process::Command as Process;

use scratchify::shell::*;
use scratchify::source::{SourceFile, Span};
use shell_support::vars;

fn analyze(text: &str, v: &[(&str, &str)]) -> Analysis {
    let lookup = vars(v);
    analyze_script(text, &lookup)
}

fn effects(a: &Analysis) -> Vec<&Effect> {
    a.effects().map(|(_, e)| e).collect()
}

fn reasons(a: &Analysis) -> Vec<String> {
    a.opaque()
        .map(|(_, e)| match e {
            Effect::Opaque { reason, .. } => reason.clone(),
            _ => unreachable!(),
        })
        .collect()
}

/// What the analysis says ends up in the file `out`: the concatenated
/// known contents written to it, in order (an unknown write is an error).
fn predicted_out(a: &Analysis) -> Result<String, String> {
    let mut out = String::new();
    for (c, e) in a.effects() {
        if let Effect::WriteFile {
            path,
            content,
            append,
            ..
        } = e
        {
            if path.known() != Some("out") {
                continue;
            }
            let Some(content) = content else {
                return Err(format!("unknown content written by {:?}", c.argv));
            };
            if !append {
                out.clear();
            }
            out.push_str(content);
        }
    }
    Ok(out)
}

/// Runs `script` with /bin/dash in an empty directory with exactly the
/// given environment, and returns the content of the file `out`.
fn dash_out(script: &str, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut p = Process::new("/bin/dash");
    p.arg("-c").arg(script).current_dir(dir.path()).env_clear();
    for (k, v) in env {
        p.env(k, v);
    }
    let status = p
        .status()
        .expect("/bin/dash must be installed for this test");
    assert!(status.success(), "dash failed on {script:?}");
    std::fs::read_to_string(dir.path().join("out")).unwrap_or_default()
}

/// Word expansion, field splitting, quoting, parameter operators, command
/// substitution, arithmetic, here-documents, printf and control flow: the
/// analysis must predict byte for byte what dash writes.
#[test]
fn expansion_agrees_with_dash() {
    let env: &[(&str, &str)] = &[
        ("X", "a  b"),
        ("E", ""),
        ("V", "3.12.0rc1"),
        ("P", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
        ("N", "n"),
        ("X2", "4"),
        ("HOME", "/home/u"),
        ("GLOB", "*.nomatch"),
        ("PKGS", "\n   curl  wget\n  "),
    ];
    let p = "printf '<%s>\\n'";
    let scripts: Vec<String> = vec![
        format!("{p} a \"b c\" 'd e' f\\ g > out"),
        format!("{p} $X \"$X\" ${{X}}z x${{X}}y > out"),
        format!("{p} $E \"$E\" \"\" '' x$E > out"),
        format!(
            "unset U; {p} \"${{U:-def}}\" \"${{E:-empty}}\" \"${{E-unused}}\" \"${{N:+alt}}\" \"${{U+alt}}\" > out"
        ),
        format!(
            "{p} \"${{X%% *}}\" \"${{X#a}}\" \"${{#X}}\" \"${{V%%[a-z]*}}\" \"${{P##*/}}\" \"${{P%/*}}\" \"${{P#/usr}}\" > out"
        ),
        format!("{p} $(echo hi) \"$(printf 'a\\n\\n')\" $(echo a b) \"$(echo a b)\" > out"),
        format!("{p} $((1+2*3)) $((X2+1)) \"$(( (X2-1) % 2 ))\" > out"),
        format!("{p} ~ ~/x \"~\" > out"),
        format!("Y=1; Z=\"$Y $Y\"; {p} $Y $Z \"$Z\" > out"),
        format!("{p} \"a$X\"b \\$X '$X' \"\\$X\" \"a\\\\b\" > out"),
        format!("{p} $(echo pip3 | tr -d 3) $(echo abc | tr a-c A-C) > out"),
        format!("{p} \"$GLOB\" '*.nomatch' '*' \"[x]\" > out"),
        format!("{p} $PKGS > out"),
        format!("case $V in 3.*) R=three;; *) R=other;; esac; {p} $R > out"),
        format!("for i in a \"b c\" $X; do {p} \"$i\" >> out; done"),
        format!("f() {{ {p} \"in f\" >> out; }}; f; f"),
        "cat > out <<EOF\nv=$V x=${X} $(echo sub)\n\\$literal \\\\ tab\tend\nEOF".into(),
        "cat <<'EOF' >> out\n$V `x` \\n\nEOF".into(),
        "cat <<-EOF > out\n\t\tindented $N\n\tEOF".into(),
        "echo plain words \"$X\" >> out; echo -n no-newline >> out".into(),
        "printf '%s=%d|%-4s|%05d\\n' a 7 b 42 > out; printf '%b' 'x\\ty\\n' >> out".into(),
        "printf 'head\\n' > out; printf '%s,' a b c >> out".into(),
        "A=1; (A=2); B=$(A=3; echo $A); printf '%s %s\\n' $A $B > out".into(),
        "A=x; A=\"${A}y\"; export A; printf '%s\\n' \"$A\" > out".into(),
        "echo one > out; echo two > out".into(),
        "echo first > out 2>&1; echo second >> out".into(),
        "{ echo a; } > /dev/null; echo kept > out".into(),
        "echo \"x$(echo inner | tr i I)y\" > out".into(),
        "set -f; printf '<%s>\\n' * > out".into(),
    ];
    let mut failures = Vec::new();
    for s in &scripts {
        let want = dash_out(s, env);
        let a = analyze(s, env);
        match predicted_out(&a) {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!("{s:?}\n  dash: {want:?}\n  ours: {got:?}")),
            Err(e) => failures.push(format!("{s:?}\n  dash: {want:?}\n  ours: {e}")),
        }
        if let Some(d) = a.diagnostics.iter().find(|d| d.severity == Severity::Error) {
            failures.push(format!("{s:?}: error {}", d.message));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unknown_values_are_never_guessed() {
    let a = analyze("mkdir -p \"$DIR\"/sub && apt-get install -y $PKGS", &[]);
    let e = effects(&a);
    match e[0] {
        Effect::MakeDir { paths, .. } => {
            assert_eq!(paths[0].value, None);
            assert_eq!(paths[0].text, "\"$DIR\"/sub");
            assert_eq!(
                paths[0].unknown,
                vec![Unknown::UnsetVariable { name: "DIR".into() }]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(e[1], Effect::Opaque { reason, .. } if reason.contains("`$PKGS` is not known") && reason.contains("$PKGS has no known value"))
    );
    // Known once the caller knows it.
    let a = analyze("apt-get install -y $PKGS", &[("PKGS", "curl git")]);
    assert!(
        matches!(effects(&a)[0], Effect::PackageInstall { packages, .. } if packages.len() == 2)
    );
}

#[test]
fn variable_scoping() {
    // Prefix assignments apply only to their command.
    let a = analyze("A=1 true; mkdir $A", &[]);
    assert!(matches!(effects(&a)[1], Effect::MakeDir { paths, .. } if paths[0].value.is_none()));
    let cmd = &a.commands[0];
    assert_eq!(cmd.assignments[0].name, "A");
    assert_eq!(cmd.assignments[0].value.as_deref(), Some("1"));
    // Subshells and pipelines do not leak assignments or cd.
    let a = analyze(
        "A=/a; (A=/b; cd /x); echo | A=/c true; mkdir $A; touch f",
        &[],
    );
    let mk = a
        .commands
        .iter()
        .find(|c| c.name() == Some("mkdir"))
        .unwrap();
    assert!(
        matches!(&mk.effects[0], Effect::MakeDir { paths, .. } if paths[0].known() == Some("/a"))
    );
    assert_eq!(a.commands.last().unwrap().cwd, Cwd::Workdir);
    // A variable set in a branch is unknown after it.
    let a = analyze("A=/a; if test -f x; then A=/b; fi; mkdir $A", &[]);
    let mk = a
        .commands
        .iter()
        .find(|c| c.name() == Some("mkdir"))
        .unwrap();
    match &mk.effects[0] {
        Effect::MakeDir { paths, .. } => assert_eq!(
            paths[0].unknown,
            vec![Unknown::ConditionalAssignment { name: "A".into() }]
        ),
        other => panic!("{other:?}"),
    }
    // ...unless both ways give the same value.
    let a = analyze("A=/a; if test -f x; then A=/a; fi; mkdir $A", &[]);
    assert!(
        matches!(&a.commands.last().unwrap().effects[0], Effect::MakeDir { paths, .. } if paths[0].known() == Some("/a"))
    );
    // `unset` makes a variable empty (known), not unknown.
    let a = analyze("unset HOME; mkdir \"x${HOME}y\"", &[("HOME", "/root")]);
    assert!(
        matches!(&a.commands[1].effects[0], Effect::MakeDir { paths, .. } if paths[0].known() == Some("xy"))
    );
}

#[test]
fn child_shells_see_exported_variables_only() {
    let text = "A=/a; export B=/b; sh -c 'mkdir $A $B $C'";
    let a = analyze(text, &[("C", "/c")]);
    let mk = a
        .commands
        .iter()
        .find(|c| c.name() == Some("mkdir"))
        .unwrap();
    match &mk.effects[0] {
        Effect::MakeDir { paths, .. } => {
            let v: Vec<Option<&str>> = paths.iter().map(|p| p.known()).collect();
            assert_eq!(v, vec![None, Some("/b"), Some("/c")]);
        }
        other => panic!("{other:?}"),
    }
    // The inner words' spans point into the single-quoted script.
    assert_eq!(&text[mk.span.start..mk.span.end], "mkdir $A $B $C");
    assert!(mk.context.subshell);
    // A double-quoted script's commands get the span of the whole argument.
    let text = "sh -c \"mkdir /x\"";
    let a = analyze(text, &[]);
    assert_eq!(a.commands[0].span, Span::new(6, 16));
}

#[test]
fn working_directory_is_followed() {
    let a = analyze(
        "cd /usr/src && tar -xf a.tar && cd app && touch x; cd -; touch y; cd $UNSET; touch z",
        &[],
    );
    let touch: Vec<&Command> = a
        .commands
        .iter()
        .filter(|c| c.name() == Some("touch"))
        .collect();
    assert_eq!(touch[0].cwd, Cwd::Absolute("/usr/src/app".into()));
    assert_eq!(
        touch[0].resolve_path("/w", "x"),
        Some("/usr/src/app/x".into())
    );
    assert_eq!(touch[1].cwd, Cwd::Unknown);
    assert_eq!(touch[1].resolve_path("/w", "/abs"), Some("/abs".into()));
    assert_eq!(touch[1].resolve_path("/w", "y"), None);
    assert_eq!(touch[2].cwd, Cwd::Unknown);
    let tar = a.commands.iter().find(|c| c.name() == Some("tar")).unwrap();
    assert_eq!(tar.cwd, Cwd::Absolute("/usr/src".into()));
    // Relative to WORKDIR, and `cd` with no argument goes to $HOME.
    let a = analyze(
        "cd src/../lib && touch x && cd && touch y",
        &[("HOME", "/root")],
    );
    let touch: Vec<&Command> = a
        .commands
        .iter()
        .filter(|c| c.name() == Some("touch"))
        .collect();
    assert_eq!(touch[0].cwd, Cwd::WorkdirRelative("lib".into()));
    assert_eq!(
        touch[0].resolve_path("/app", "x"),
        Some("/app/lib/x".into())
    );
    assert_eq!(touch[1].cwd, Cwd::Absolute("/root".into()));
}

#[test]
fn control_flow_context() {
    let a = analyze(
        "a1 && a2 || a3; [ -f x ] && b1 && b2; if c1; then c2; elif c3; then c4; else c5; fi; ! d1; e1 || true",
        &[],
    );
    let ctx = |name: &str| {
        a.commands
            .iter()
            .find(|c| c.name() == Some(name))
            .map(|c| c.context.clone())
            .unwrap()
    };
    assert_eq!(ctx("a1").connector, None);
    assert!(!ctx("a1").conditional && !ctx("a1").failure_handled);
    assert_eq!(ctx("a2").connector, Some(Connector::And));
    assert!(!ctx("a2").conditional && ctx("a2").failure_handled);
    assert!(ctx("a3").conditional);
    assert!(ctx("b1").conditional && ctx("b2").conditional);
    assert!(!ctx("c1").conditional && ctx("c1").failure_handled);
    assert!(ctx("c2").conditional);
    assert!(ctx("c3").conditional && ctx("c3").failure_handled);
    assert!(ctx("c4").conditional && ctx("c5").conditional);
    assert!(ctx("d1").failure_handled);
    assert!(ctx("e1").failure_handled && !ctx("e1").conditional);
    let a = analyze("sleep 1 & wait; while w1; do w2; done; (s1); x=$(s2)", &[]);
    let ctx = |name: &str| {
        a.commands
            .iter()
            .find(|c| c.name() == Some(name))
            .map(|c| c.context.clone())
            .unwrap()
    };
    assert!(ctx("sleep").background);
    assert!(ctx("w1").in_loop && !ctx("w1").conditional);
    assert!(ctx("w2").in_loop && ctx("w2").conditional);
    assert!(ctx("s1").subshell);
    assert!(ctx("s2").substitution);
}

#[test]
fn case_with_known_subject_runs_one_arm() {
    let text =
        "case \"$ARCH\" in amd64|x86_64) mkdir /amd ;; arm*) mkdir /arm ;; *) mkdir /other ;; esac";
    let a = analyze(text, &[("ARCH", "arm64")]);
    let made: Vec<(String, bool)> = a
        .commands
        .iter()
        .map(|c| (c.argv[1].display().to_string(), c.context.conditional))
        .collect();
    assert_eq!(made, vec![("/arm".to_string(), false)]);
    let skipped: Vec<&str> = a
        .diagnostics
        .iter()
        .filter(|d| d.code == "shell::case-arm-skipped")
        .map(|d| &text[d.span.start..d.span.end])
        .collect();
    assert_eq!(skipped.len(), 2);
    assert!(skipped[0].starts_with("amd64|x86_64)"));
    // Unknown subject: every arm, conditionally.
    let a = analyze(text, &[]);
    assert_eq!(a.commands.len(), 3);
    assert!(a.commands.iter().all(|c| c.context.conditional));
}

#[test]
fn loops() {
    let a = analyze("for d in /a /b; do mkdir $d; done", &[]);
    let dirs: Vec<Option<&str>> = a.commands.iter().map(|c| c.argv[1].known()).collect();
    assert_eq!(dirs, vec![Some("/a"), Some("/b")]);
    assert!(
        a.commands
            .iter()
            .all(|c| c.context.in_loop && !c.context.conditional)
    );
    // Words not known: analysed once, conditionally, with the variable
    // unknown.
    let a = analyze("for d in $DIRS; do mkdir $d; done", &[]);
    assert_eq!(a.commands.len(), 1);
    assert!(a.commands[0].context.conditional);
    assert_eq!(
        a.commands[0].argv[1].unknown,
        vec![Unknown::LoopVariable { name: "d".into() }]
    );
    // Too many words: not unrolled.
    let many: Vec<String> = (0..=scratchify::shell::analyze::MAX_LOOP_UNROLL)
        .map(|i| i.to_string())
        .collect();
    let a = analyze(
        &format!("for i in {}; do touch $i; done", many.join(" ")),
        &[],
    );
    assert_eq!(a.commands.len(), 1);
    // Nested unrolled loops stop at the command budget, with an error.
    let w: Vec<String> = (0..60).map(|i| i.to_string()).collect();
    let w = w.join(" ");
    let text = format!(
        "for a in {w}; do for b in {w}; do for c in {w}; do touch $a$b$c; done; done; done"
    );
    let a = analyze(&text, &[]);
    assert!(a.commands.len() <= scratchify::shell::analyze::MAX_COMMANDS + 1);
    assert!(
        a.diagnostics
            .iter()
            .any(|d| d.code == "shell::too-many-commands" && d.severity == Severity::Error)
    );
    assert!(a.commands.last().unwrap().effects[0].is_opaque());
}

#[test]
fn functions_are_analysed_where_called() {
    let a = analyze("mk() { mkdir -p \"$1\"; }; mk; mk", &[]);
    let mk: Vec<&Command> = a
        .commands
        .iter()
        .filter(|c| c.name() == Some("mkdir"))
        .collect();
    assert_eq!(mk.len(), 2);
    assert_eq!(mk[0].context.function.as_deref(), Some("mk"));
    assert_eq!(
        mk[0].argv[2].unknown,
        vec![Unknown::Parameter { name: "1".into() }]
    );
    let a = analyze("f() { f; }; f", &[]);
    assert!(
        reasons(&a)
            .iter()
            .any(|r| r.contains("recurses too deeply"))
    );
}

#[test]
fn redirections_write_files() {
    let a = analyze(
        "> /empty; apt-get install -y x > /var/log/install.log 2>&1; make 2> /err; echo hi >> /f; echo x &> /both; echo y > /dev/null",
        &[],
    );
    let writes: Vec<(String, Option<String>, bool)> = a
        .effects()
        .filter_map(|(_, e)| match e {
            Effect::WriteFile {
                path,
                content,
                append,
                ..
            } => Some((path.display().to_string(), content.clone(), *append)),
            _ => None,
        })
        .collect();
    assert_eq!(
        writes,
        vec![
            ("/empty".to_string(), Some(String::new()), false),
            ("/var/log/install.log".into(), None, false),
            ("/err".into(), None, false),
            ("/f".into(), Some("hi\n".into()), true),
            ("/both".into(), Some("x\n".into()), false),
        ]
    );
    // `exec > file` sends the rest of the script's output to the file:
    // written, content not known.
    let a = analyze("exec > /log; echo x", &[]);
    assert!(matches!(
        effects(&a)[1],
        Effect::WriteFile { content: None, .. }
    ));
}

#[test]
fn echo_and_printf_content() {
    let content = |text: &str| -> Option<String> {
        let a = analyze(text, &[]);
        a.effects().find_map(|(_, e)| match e {
            Effect::WriteFile { content, .. } => Some(content.clone()),
            _ => None,
        })?
    };
    assert_eq!(content("echo a b > f").as_deref(), Some("a b\n"));
    assert_eq!(content("echo -n a > f").as_deref(), Some("a"));
    // dash and bash disagree: not known.
    assert_eq!(content("echo 'a\\nb' > f"), None);
    assert_eq!(content("echo -e a > f"), None);
    assert_eq!(content("printf 'a\\nb' > f").as_deref(), Some("a\nb"));
    assert_eq!(content("printf '%x' 255 > f"), None);
    assert_eq!(content("echo $UNSET > f"), None);
    assert_eq!(
        content("echo 'x' | tee /f > /dev/null").as_deref(),
        Some("x\n")
    );
    let a = analyze(
        "echo 'deb http://x y main' | tee -a /etc/apt/sources.list",
        &[],
    );
    assert!(a.effects().any(
        |(_, e)| matches!(e, Effect::WriteFile { path, content: Some(c), append: true, .. }
        if path.known() == Some("/etc/apt/sources.list") && c == "deb http://x y main\n")
    ));
}

#[test]
fn options_the_grammar_does_not_list_are_opaque() {
    let a = analyze(
        "apt-get install --frobnicate -y curl; apk add --bogus x; pip install --nope y; mkdir -Z /x",
        &[],
    );
    let r = reasons(&a);
    assert_eq!(r.len(), 4, "{r:?}");
    assert!(r[0].contains("`--frobnicate`"));
    assert!(r[1].contains("`--bogus`"));
    assert!(r[2].contains("`--nope`"));
    assert!(r[3].contains("`-Z`"));
    // Every opaque command has a warning diagnostic with its span.
    let warned: Vec<Span> = a
        .diagnostics
        .iter()
        .filter(|d| d.code == "shell::opaque-command")
        .map(|d| d.span)
        .collect();
    let opaque: Vec<Span> = a.opaque().map(|(_, e)| e.span()).collect();
    assert_eq!(warned, opaque);
}

#[test]
fn getopt_conventions() {
    let pkg = |text: &str| -> Vec<String> {
        let a = analyze(text, &[]);
        match effects(&a).first() {
            Some(Effect::PackageInstall {
                packages, options, ..
            }) => {
                let mut v: Vec<String> = packages.iter().map(|p| p.name.clone()).collect();
                v.extend(options.config.iter().cloned());
                v
            }
            other => vec![format!("{other:?}")],
        }
    };
    assert_eq!(pkg("apt-get -yq install a"), vec!["a"]);
    assert_eq!(
        pkg("apt-get install -oDebug::X=1 a"),
        vec!["a", "Debug::X=1"]
    );
    assert_eq!(
        pkg("apt-get install --option=A::B=c a"),
        vec!["a", "A::B=c"]
    );
    assert_eq!(
        pkg("apt-get -o A=1 install -o B=2 a"),
        vec!["a", "A=1", "B=2"]
    );
    let a = analyze("apt-get install -- a -b", &[]);
    assert!(reasons(&a)[0].contains("`-b` is not a package name apt understands"));
    let a = analyze(
        "apt-get install -y --no-install-recommends=yes x; apt-get install -o",
        &[],
    );
    let r = reasons(&a);
    assert!(r[0].contains("does not take a value"), "{r:?}");
    assert!(r[1].contains("needs a value"), "{r:?}");
    // tar's old-style bundle, wget's single-dash long options.
    let a = analyze(
        "tar xzf /tmp/a.tgz -C /opt; wget -nv -qO- https://x.invalid/a.tgz | tar xz",
        &[],
    );
    let e = effects(&a);
    assert!(
        matches!(e[0], Effect::Extract { archive: ArchiveSource::File { path }, dest: Some(d), .. }
        if path.known() == Some("/tmp/a.tgz") && d.known() == Some("/opt"))
    );
    assert!(matches!(
        e[1],
        Effect::Download {
            dest: DownloadDest::Pipe,
            ..
        }
    ));
    assert!(matches!(
        e[2],
        Effect::Extract {
            archive: ArchiveSource::Download { .. },
            dest: None,
            ..
        }
    ));
    // `chmod -x` is a mode.
    let a = analyze("chmod -R -x /a; chmod go-w /b", &[]);
    let e = effects(&a);
    assert!(matches!(e[0], Effect::Chmod { mode, recursive: true, .. } if mode == "-x"));
    assert!(matches!(e[1], Effect::Chmod { mode, recursive: false, .. } if mode == "go-w"));
}

#[test]
fn wrappers_and_pipes_into_commands() {
    let a = analyze(
        "DEBIAN_FRONTEND=noninteractive sudo -E apt-get install -y a; env A=1 apt-get install -y b; command -v curl; echo c d | xargs apt-get install -y; nice -n 5 mkdir /n",
        &[],
    );
    let inst: Vec<Vec<String>> = a
        .effects()
        .filter_map(|(_, e)| match e {
            Effect::PackageInstall { packages, .. } => {
                Some(packages.iter().map(|p| p.name.clone()).collect())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        inst,
        vec![
            vec!["a".to_string()],
            vec!["b".into()],
            vec!["c".into(), "d".into()]
        ]
    );
    assert!(a.opaque().next().is_none(), "{:?}", reasons(&a));
    let a = analyze(
        "sudo -u app mkdir /x; apt-mark showmanual | xargs apt-mark auto",
        &[],
    );
    assert!(reasons(&a)[0].contains("as another user"));
    assert!(
        matches!(effects(&a)[2], Effect::AptMark { mode: AptMarkMode::Auto, names, .. }
        if names[0].value.is_none() && matches!(&names[0].unknown[0], Unknown::Stdin { .. }))
    );
}

#[test]
fn shell_state_builtins() {
    let a = analyze("set -eux; set -o pipefail; true; :; exit 0", &[]);
    assert!(effects(&a).iter().all(|e| matches!(e, Effect::NoOp { .. })));
    let a = analyze("false; exit 3; exit $X", &[]);
    let e = effects(&a);
    assert!(matches!(
        e[0],
        Effect::Abort {
            status: Some(1),
            ..
        }
    ));
    assert!(matches!(
        e[1],
        Effect::Abort {
            status: Some(3),
            ..
        }
    ));
    assert!(matches!(e[2], Effect::Abort { status: None, .. }));
    let a = analyze(
        "eval \"mkdir /\"$D; . /etc/profile; umask 077",
        &[("D", "e")],
    );
    assert!(
        matches!(effects(&a)[0], Effect::MakeDir { paths, .. } if paths[0].known() == Some("/e"))
    );
    let r = reasons(&a);
    assert!(
        r[0].contains("/etc/profile") && r[1].contains("mode"),
        "{r:?}"
    );
    let a = analyze("read -r line < /etc/x; mkdir \"$line\"", &[]);
    assert!(
        matches!(effects(&a)[1], Effect::MakeDir { paths, .. } if matches!(&paths[0].unknown[0], Unknown::Stdin { .. }))
    );
}

#[test]
fn accounts() {
    let e = |text: &str| analyze(text, &[]).commands[0].effects[0].clone();
    match e("useradd -m -s /bin/bash -u 1000 -G sudo,docker app") {
        Effect::AddUser {
            name,
            uid,
            groups,
            create_home,
            shell,
            user_group,
            ..
        } => {
            assert_eq!(
                (name.as_str(), uid, create_home, user_group),
                ("app", Some(1000), Some(true), None)
            );
            assert_eq!(groups, vec!["sudo", "docker"]);
            assert_eq!(shell.as_deref(), Some("/bin/bash"));
        }
        other => panic!("{other:?}"),
    }
    match e("adduser --disabled-password --gecos '' --uid 1001 app") {
        Effect::AddUser {
            name,
            uid,
            gecos,
            create_home,
            no_password,
            system,
            ..
        } => {
            assert_eq!(
                (name.as_str(), uid, gecos.as_deref()),
                ("app", Some(1001), Some(""))
            );
            assert_eq!(
                (create_home, no_password, system),
                (Some(true), true, false)
            );
        }
        other => panic!("{other:?}"),
    }
    match e("adduser --system --group --no-create-home --home /nonexistent svc") {
        Effect::AddUser {
            system: true,
            create_home: Some(false),
            user_group: Some(true),
            home: Some(h),
            ..
        } => {
            assert_eq!(h, "/nonexistent");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(e("adduser app docker"), Effect::AddUserToGroup { user, group, .. } if user == "app" && group == "docker")
    );
    assert!(
        matches!(e("addgroup app wheel"), Effect::AddUserToGroup { user, group, .. } if user == "app" && group == "wheel")
    );
    assert!(
        matches!(e("usermod -aG docker app"), Effect::AddUserToGroup { user, group, .. } if user == "app" && group == "docker")
    );
    assert!(matches!(
        e("usermod -s /bin/sh -d /srv app"),
        Effect::ModifyUser {
            shell: Some(_),
            home: Some(_),
            ..
        }
    ));
    assert!(
        matches!(e("groupadd -g abc x"), Effect::Opaque { reason, .. } if reason.contains("not a number"))
    );
    assert!(matches!(e("useradd $USER"), Effect::Opaque { .. }));
    assert!(matches!(
        e("useradd -K MAIL_DIR=/dev/null -K CREATE_HOME=yes app"),
        Effect::AddUser {
            create_home: Some(true),
            ..
        }
    ));
}

#[test]
fn files() {
    let e = |text: &str| analyze(text, &[]).commands[0].effects.clone();
    assert!(
        matches!(&e("mkdir -p -m 0750 /a /b")[0], Effect::MakeDir { paths, parents: true, mode: Some(m), .. } if paths.len() == 2 && m == "0750")
    );
    assert!(matches!(&e("mkdir -m 999 /a")[0], Effect::Opaque { .. }));
    assert!(
        matches!(&e("chown -R :staff /srv")[0], Effect::Chown { user: None, group: Some(g), recursive: true, .. } if g == "staff")
    );
    assert!(
        matches!(&e("chgrp -R www-data /var/www")[0], Effect::Chown { user: None, group: Some(g), .. } if g == "www-data")
    );
    let links = e("ln -sf /opt/a /opt/b /usr/local/bin/");
    assert_eq!(links.len(), 2);
    assert!(
        matches!(&links[1], Effect::Symlink { target, link, force: true, .. }
        if target.known() == Some("/opt/b") && link.known() == Some("/usr/local/bin/"))
    );
    assert!(matches!(&e("ln /a /b")[0], Effect::HardLink { .. }));
    assert!(
        matches!(&e("ln -s /usr/bin/python3")[0], Effect::Symlink { link, .. } if link.known() == Some("python3"))
    );
    assert!(
        matches!(&e("cp -a src/. /app/")[0], Effect::CopyPath { recursive: true, preserve: true, sources, dest, .. }
        if sources[0].known() == Some("src/.") && dest.known() == Some("/app/"))
    );
    assert!(
        matches!(&e("mv -t /dst a b")[0], Effect::MovePath { sources, dest, .. } if sources.len() == 2 && dest.known() == Some("/dst"))
    );
    let rm = e("rm -rf /var/lib/apt/lists/* /root/.cache/pip /opt/build ~/.npm /tmp/*");
    assert!(
        matches!(&rm[0], Effect::CacheCleanup { manager: None, paths, .. } if paths.len() == 4)
    );
    assert!(
        matches!(&rm[1], Effect::RemovePaths { paths, recursive: true, .. } if paths[0].known() == Some("/opt/build"))
    );
    assert!(matches!(
        &e("rm -rf /var/cache/apk/*")[0],
        Effect::CacheCleanup {
            manager: Some(Manager::Apk),
            ..
        }
    ));
    let inst = e("install -d -m 0755 -o app -g app /data");
    assert!(matches!(&inst[0], Effect::MakeDir { mode: Some(m), .. } if m == "0755"));
    assert!(
        matches!(&inst[1], Effect::Chown { user: Some(u), group: Some(g), .. } if u == "app" && g == "app")
    );
    assert!(matches!(&e("touch /a /b")[0], Effect::Touch { paths, .. } if paths.len() == 2));
}

#[test]
fn downloads_and_checks() {
    let e = |text: &str| analyze(text, &[]).commands[0].effects.clone();
    assert!(
        matches!(&e("curl -fsSL https://x.invalid/a.sh -o /tmp/a.sh")[0], Effect::Download { dest: DownloadDest::File { path }, insecure: false, .. } if path.known() == Some("/tmp/a.sh"))
    );
    assert!(
        matches!(&e("curl -k https://x.invalid/a > /a")[0], Effect::Download { dest: DownloadDest::File { path }, insecure: true, .. } if path.known() == Some("/a"))
    );
    assert!(matches!(
        &e("curl https://x.invalid/a")[0],
        Effect::Download {
            dest: DownloadDest::Stdout,
            ..
        }
    ));
    assert!(matches!(
        &e("curl -X POST https://x.invalid/a")[0],
        Effect::Opaque { .. }
    ));
    assert!(
        matches!(&e("wget -P /opt https://x.invalid/dl/b.zip")[0], Effect::Download { dest: DownloadDest::File { path }, .. } if path.known() == Some("/opt/b.zip"))
    );
    assert!(
        matches!(&e("wget https://x.invalid/dl/b.zip?x=1")[0], Effect::Download { dest: DownloadDest::File { path }, .. } if path.known() == Some("b.zip"))
    );
    assert!(
        matches!(&e("sha256sum -c SHA256SUMS")[0], Effect::VerifyChecksum { list: ChecksumList::File { path }, .. } if path.known() == Some("SHA256SUMS"))
    );
    assert!(matches!(&e("sha256sum a.tgz")[0], Effect::NoOp { .. }));
    let d = "b".repeat(128);
    let a = analyze(
        &format!("echo \"{d} *x.tgz\" | sha512sum --check --strict"),
        &[],
    );
    assert!(
        matches!(effects(&a)[1], Effect::VerifyChecksum { algorithm: HashAlgorithm::Sha512, list: ChecksumList::Entries { entries }, .. } if entries[0].path == "x.tgz")
    );
    // A malformed list makes sha256sum fail: opaque, not guessed.
    let a = analyze("echo \"xyz  file\" | sha256sum -c -", &[]);
    assert!(effects(&a)[1].is_opaque());
    let a = analyze(
        "sha256sum -c - <<EOF\n0000000000000000000000000000000000000000000000000000000000000000  f\nEOF",
        &[],
    );
    assert!(matches!(
        effects(&a)[0],
        Effect::VerifyChecksum {
            list: ChecksumList::Entries { .. },
            ..
        }
    ));
    assert!(matches!(
        &e("gpgv key.sig file")[0],
        Effect::VerifySignature { file: Some(_), .. }
    ));
    assert!(
        matches!(&e("unzip -q /tmp/x.zip -d /opt")[0], Effect::Extract { dest: Some(d), .. } if d.known() == Some("/opt"))
    );
    assert!(
        matches!(&e("tar -xf a.tar --exclude '*.md' sub/dir")[0], Effect::Extract { members, exclude, .. } if members.len() == 1 && exclude == &["*.md".to_string()])
    );
}

#[test]
fn parse_failures_are_opaque_with_an_error() {
    let text = "apt-get install -y 'curl";
    let a = analyze(text, &[]);
    assert_eq!(a.commands.len(), 1);
    assert_eq!(a.commands[0].span, Span::new(0, text.len()));
    assert!(a.commands[0].effects[0].is_opaque());
    let d = &a.diagnostics[0];
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.code, "shell::unterminated-single-quote");
    assert_eq!(&text[d.span.start..d.span.end], "'curl");
    assert!(a.has_errors());
}

#[test]
fn diagnostics_map_into_the_dockerfile() {
    let dockerfile = "FROM debian\nRUN frobnicate --all\n";
    let offset = dockerfile.find("frobnicate").unwrap();
    let run = &dockerfile[offset..dockerfile.len() - 1];
    let a = analyze(run, &[]);
    let file = SourceFile::new("Dockerfile", dockerfile);
    let d = a.diagnostics[0].to_source_diagnostic(&file, &|s: Span| s.shifted(offset));
    assert_eq!(
        d.one_line(),
        "Dockerfile:2: cannot interpret `frobnicate`: `frobnicate` is not a command scratchify recognises"
    );
    assert_eq!(file.slice(d.span), "frobnicate --all");
    assert!(d.help.is_some());
}

#[test]
fn virtual_groups_created_in_the_script_are_named() {
    let a = analyze(
        "apk add --no-cache --virtual .build-deps gcc && apk del .build-deps .other musl-dev",
        &[],
    );
    assert!(
        matches!(effects(&a)[1], Effect::PackageRemove { names, virtual_groups, auto_remove: true, .. }
        if names.len() == 3 && virtual_groups == &[".build-deps".to_string()])
    );
}

#[test]
fn bash_only_syntax_is_noted() {
    let a = analyze(
        "make &> /log; [[ -f x ]] && cat <<< \"$v\"; echo $'\\n' ${x/a/b}",
        &[],
    );
    let notes: Vec<&str> = a
        .diagnostics
        .iter()
        .filter(|d| d.code == "shell::bash-only" && d.severity == Severity::Advice)
        .map(|d| {
            &"make &> /log; [[ -f x ]] && cat <<< \"$v\"; echo $'\\n' ${x/a/b}"
                [d.span.start..d.span.end]
        })
        .collect();
    assert_eq!(
        notes,
        vec!["&> /log", "[[ -f x ]]", "<<< \"$v\"", "$'\\n'", "${x/a/b}"]
    );
}

#[test]
fn empty_nested_loops_are_bounded() {
    let w: Vec<String> = (0..60).map(|i| i.to_string()).collect();
    let w = w.join(" ");
    let text = format!(
        "for a in {w}; do for b in {w}; do for c in {w}; do for d in {w}; do for e in {w}; do for f in {w}; do :; done; done; done; done; done; done"
    );
    let t = std::time::Instant::now();
    let a = analyze(&text, &[]);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        t.elapsed()
    );
    assert!(
        a.diagnostics
            .iter()
            .any(|d| d.code == "shell::too-many-commands")
    );
    // Bodies that run no simple command (a function definition) still
    // count as steps.
    let text = format!(
        "for a in {w}; do for b in {w}; do for c in {w}; do for d in {w}; do for e in {w}; do g() {{ :; }}; done; done; done; done; done"
    );
    let t = std::time::Instant::now();
    let a = analyze(&text, &[]);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        t.elapsed()
    );
    assert!(
        a.diagnostics
            .iter()
            .any(|d| d.code == "shell::too-many-commands")
    );
}
