//! The typed layer: every instruction and flag, the checks BuildKit makes,
//! stage grouping, and spans that point at the right source text.

// The front end's errors are `SourceDiagnostic`s; large, built once.
#![allow(clippy::result_large_err)]

use scratchify::dockerfile::{
    self, CacheSharing, CommandLine, Dockerfile, HealthTest, Instruction, MountType, NetworkMode,
    SecurityMode,
};
use scratchify::source::{SourceDiagnostic, SourceFile, Span};

/// Parses `text`. The typed tree borrows from its `SourceFile`; a test's
/// handful of small sources are leaked so that helpers can return trees.
fn parse(text: &str) -> Result<Dockerfile<'static>, SourceDiagnostic> {
    let source: &'static SourceFile = Box::leak(Box::new(SourceFile::new("Dockerfile", text)));
    dockerfile::parse(source)
}

fn error(text: &str) -> SourceDiagnostic {
    match parse(text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e,
    }
}

fn slice(text: &str, span: Span) -> &str {
    &text[span.start..span.end]
}

/// The instructions of the first stage.
fn first_stage(text: &str) -> Vec<Instruction<'static>> {
    let df = parse(text).unwrap();
    df.instructions(&df.stages[0]).to_vec()
}

#[test]
fn shell_form_text_maps_back_across_continuations() {
    let text = "FROM debian\nRUN apt-get update \\\n    && apt-get install -y curl\n";
    let instrs = first_stage(text);
    let Instruction::Run(run) = &instrs[0] else {
        panic!()
    };
    let CommandLine::Shell { command } = &run.command else {
        panic!()
    };
    assert_eq!(
        command.text(),
        "apt-get update     && apt-get install -y curl"
    );
    let at = command.text().find("curl").unwrap();
    assert_eq!(slice(text, command.map.span(at, at + 4)), "curl");
    assert_eq!(
        slice(text, command.span),
        "apt-get update \\\n    && apt-get install -y curl"
    );
    assert_eq!((run.source.start_line, run.source.end_line), (2, 3));
}

#[test]
fn exec_and_shell_forms_are_kept() {
    let instrs = first_stage(
        "FROM a\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\nENTRYPOINT /bin/sh -c x\nRUN [\"a\" 'b']\n",
    );
    let Instruction::Cmd(cmd) = &instrs[0] else {
        panic!()
    };
    assert_eq!(cmd.command.cmd_line(), vec!["nginx", "-g", "daemon off;"]);
    assert!(!cmd.command.prepend_shell());
    let Instruction::Entrypoint(ep) = &instrs[1] else {
        panic!()
    };
    assert!(ep.command.prepend_shell());
    // Invalid JSON falls back to the shell form, as in BuildKit.
    let Instruction::Run(run) = &instrs[2] else {
        panic!()
    };
    assert_eq!(run.command.cmd_line(), vec!["[\"a\" 'b']"]);
    // Valid JSON with a non-string element is an error.
    let e = error("FROM a\nCMD [\"a\", 1]\n");
    assert!(
        e.message
            .contains("arrays must be comprised of strings only")
    );
}

#[test]
fn unknown_flags_are_named_with_a_suggestion_and_a_span() {
    let text = "FROM a\nCOPY --form=build /x /y\n";
    let e = error(text);
    assert_eq!(e.message, "unknown flag: --form");
    assert_eq!(e.help.as_deref(), Some("did you mean --from?"));
    assert_eq!(slice(text, e.span), "--form=build");
    assert_eq!(e.one_line(), "Dockerfile:2: unknown flag: --form");
    let e = error("FROM a\nCOPY --link=maybe a b\n");
    assert!(
        e.message
            .contains("expecting boolean value for flag --link")
    );
    let e = error("FROM a\nCOPY --from a b\n");
    assert_eq!(e.message, "missing a value on flag: --from");
    let e = error("FROM a\nCOPY --from=x --from=y a b\n");
    assert_eq!(e.message, "duplicate flag specified: --from");
}

#[test]
fn copy_and_add_flags_are_typed() {
    let text = "FROM a\n\
        COPY --from=build --chown=app:app --chmod=0755 --link --parents --exclude=*.md --exclude=tmp ./src /app/\n\
        ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false --link=false https://x/y.tar /opt/\n";
    let instrs = first_stage(text);
    let Instruction::Copy(c) = &instrs[0] else {
        panic!()
    };
    assert_eq!(c.from.as_ref().unwrap().text, "build");
    assert_eq!(slice(text, c.from.as_ref().unwrap().span), "build");
    assert_eq!(c.chown.as_ref().unwrap().text, "app:app");
    assert_eq!(c.chmod.as_ref().unwrap().text, "0755");
    assert!(c.link && c.parents);
    let ex: Vec<&str> = c.exclude.iter().map(|w| w.text.as_ref()).collect();
    assert_eq!(ex, vec!["*.md", "tmp"]);
    assert_eq!(c.sources[0].text, "./src");
    assert_eq!(c.dest.text, "/app/");
    let Instruction::Add(a) = &instrs[1] else {
        panic!()
    };
    assert_eq!(a.checksum.as_ref().unwrap().text, "sha256:abc");
    assert!(a.keep_git_dir && !a.link);
    assert_eq!(a.unpack, Some(false));
    // ADD has no --from, COPY has no --checksum.
    assert_eq!(
        error("FROM a\nADD --from=b x y\n").message,
        "unknown flag: --from"
    );
    assert_eq!(
        error("FROM a\nCOPY --checksum=x a b\n").message,
        "unknown flag: --checksum"
    );
}

#[test]
fn copy_heredoc_sources() {
    let text = "FROM a\nCOPY <<-'EOF' <<B conf /etc/\n\tkey=$v\n\tEOF\nbody\nB\n";
    let instrs = first_stage(text);
    let Instruction::Copy(c) = &instrs[0] else {
        panic!()
    };
    assert_eq!(c.sources.len(), 1);
    assert_eq!(c.inline_sources.len(), 2);
    let a = &c.inline_sources[0];
    assert_eq!(
        (a.path.as_str(), a.data.as_ref(), a.expand),
        ("EOF", "key=$v\n", false)
    );
    assert_eq!(slice(text, a.body_span.unwrap()), "\tkey=$v\n");
    let b = &c.inline_sources[1];
    assert_eq!(
        (b.path.as_str(), b.data.as_ref(), b.expand),
        ("B", "body\n", true)
    );
    let e = error("FROM a\nCOPY x <<EOF\nEOF\n");
    assert_eq!(e.message, "COPY cannot accept a heredoc as a destination");
}

#[test]
fn run_mounts_are_typed_and_checked() {
    let text = "FROM a\n\
        RUN --mount=type=cache,target=/var/cache/apt,sharing=locked,id=apt \\\n\
            --mount=type=secret,id=token,env=TOKEN,required \\\n\
            --mount=type=ssh \\\n\
            --mount=type=tmpfs,target=/tmp,size=64m \\\n\
            --mount=type=bind,from=build,source=/out,target=/in,rw \\\n\
            --network=none --security=insecure make\n";
    let instrs = first_stage(text);
    let Instruction::Run(run) = &instrs[0] else {
        panic!()
    };
    let mounts: Vec<_> = run
        .mounts
        .iter()
        .map(|m| m.mount.clone().unwrap())
        .collect();
    assert_eq!(mounts[0].mount_type, MountType::Cache);
    assert_eq!(mounts[0].sharing, Some(CacheSharing::Locked));
    assert_eq!(mounts[0].id.as_deref(), Some("apt"));
    assert!(!mounts[0].read_only);
    assert_eq!(mounts[1].mount_type, MountType::Secret);
    assert_eq!(mounts[1].env.as_deref(), Some("TOKEN"));
    assert!(mounts[1].required && mounts[1].read_only);
    assert_eq!(mounts[2].mount_type, MountType::Ssh);
    assert_eq!(mounts[3].size_limit, Some(64 << 20));
    assert_eq!(mounts[4].from.as_deref(), Some("build"));
    assert!(!mounts[4].read_only);
    assert_eq!(run.network_mode, NetworkMode::None);
    assert_eq!(run.security_mode, SecurityMode::Insecure);
    assert_eq!(run.flags_used, vec!["mount", "network", "security"]);
    assert_eq!(run.command.cmd_line(), vec!["make"]);
    // Field spans point into the source, even across continuation lines.
    let target = run.mounts[3]
        .fields()
        .into_iter()
        .find(|f| f.key == "target")
        .unwrap();
    assert_eq!(slice(text, target.span), "target=/tmp");
    assert_eq!(slice(text, target.value.as_ref().unwrap().span), "/tmp");
}

#[test]
fn run_flag_errors_match_buildkit() {
    let cases = [
        (
            "--mount=type=nfs,target=/x",
            "unsupported mount type \"nfs\"",
        ),
        (
            "--mount=type=bind,target=/x,sharing=shared",
            "invalid cache sharing set for bind mount",
        ),
        (
            "--mount=type=secret,from=x,id=a",
            "secret mount should not have a from",
        ),
        (
            "--mount=type=secret,source=a,id=b",
            "both source and id can't be set",
        ),
        (
            "--mount=type=cache,target=/x,size=1m",
            "unexpected key 'size' for mount type 'cache'",
        ),
        (
            "--mount=type=cache,target=/x,uid=abc",
            "invalid value abc for uid",
        ),
        (
            "--mount=type=tmpfs,target=/x,mode=0700",
            "mode not allowed for \"tmpfs\" type mounts",
        ),
        (
            "--mount=target=/x,nonsense",
            "invalid field 'nonsense' must be a key=value pair",
        ),
        (
            "--mount=type=cache,from=$STAGE,target=/x",
            "'from' doesn't support variable expansion",
        ),
        ("--network=bridge", "invalid network mode \"bridge\""),
        (
            "--security=privileged",
            "security \"privileged\" is not valid",
        ),
        ("--device=a,b", "invalid field 'b' must be a key=value pair"),
    ];
    for (flag, message) in cases {
        let text = format!("FROM a\nRUN {flag} true\n");
        let e = error(&text);
        assert!(e.message.contains(message), "{flag}: {}", e.message);
        let at = slice(&text, e.span);
        assert!(
            !at.is_empty() && flag.contains(at),
            "{flag}: span {:?} is {at:?}",
            e.span
        );
    }
}

#[test]
fn mounts_with_variables_are_resolved_later() {
    let instrs = first_stage("FROM a\nARG D=/cache\nRUN --mount=type=cache,target=$D true\n");
    let Instruction::Run(run) = &instrs[1] else {
        panic!()
    };
    let m = &run.mounts[0];
    assert!(m.mount.is_none());
    let resolved = m.resolve(|w| Ok(w.text.replace("$D", "/cache"))).unwrap();
    assert_eq!(resolved.target.as_deref(), Some("/cache"));
}

#[test]
fn healthcheck_options_and_none() {
    let text = "FROM a\n\
        HEALTHCHECK --interval=30s --timeout=5s --start-period=1m --start-interval=2s --retries=3 CMD curl -f http://localhost/\n\
        HEALTHCHECK NONE\n\
        HEALTHCHECK CMD [\"/bin/check\", \"--fast\"]\n";
    let instrs = first_stage(text);
    let Instruction::Healthcheck(h) = &instrs[0] else {
        panic!()
    };
    assert_eq!(h.interval.as_ref().unwrap().nanos, 30_000_000_000);
    assert_eq!(h.timeout.as_ref().unwrap().nanos, 5_000_000_000);
    assert_eq!(h.start_period.as_ref().unwrap().nanos, 60_000_000_000);
    assert_eq!(h.start_interval.as_ref().unwrap().nanos, 2_000_000_000);
    assert_eq!(h.retries, Some(3));
    assert_eq!(h.test(), vec!["CMD-SHELL", "curl -f http://localhost/"]);
    let Instruction::Healthcheck(none) = &instrs[1] else {
        panic!()
    };
    assert_eq!(none.test, HealthTest::None);
    let Instruction::Healthcheck(exec) = &instrs[2] else {
        panic!()
    };
    assert_eq!(exec.test(), vec!["CMD", "/bin/check", "--fast"]);

    assert!(
        error("FROM a\nHEALTHCHECK --interval=5 CMD x\n")
            .message
            .contains("missing unit")
    );
    assert!(
        error("FROM a\nHEALTHCHECK --timeout=10us CMD x\n")
            .message
            .contains("cannot be less than 1ms")
    );
    assert!(
        error("FROM a\nHEALTHCHECK --retries=-1 CMD x\n")
            .message
            .contains("cannot be negative")
    );
    assert!(
        error("FROM a\nHEALTHCHECK PING x\n")
            .message
            .contains("Unknown type \"PING\"")
    );
    assert_eq!(
        error("FROM a\nHEALTHCHECK NONE x\n").message,
        "HEALTHCHECK NONE takes no arguments"
    );
    assert_eq!(
        error("FROM a\nHEALTHCHECK CMD\n").message,
        "Missing command after HEALTHCHECK CMD"
    );
}

#[test]
fn onbuild_triggers_are_typed() {
    let text = "FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\nONBUILD COPY --bogus a b\n";
    let df = parse(text).unwrap();
    let instrs = df.instructions(&df.stages[0]);
    let Instruction::Onbuild(o) = &instrs[0] else {
        panic!()
    };
    assert_eq!(o.expression, "RUN <<EOF\necho hi\nEOF");
    let Some(trigger) = &o.trigger else { panic!() };
    let Instruction::Run(run) = trigger.as_ref() else {
        panic!()
    };
    assert_eq!(run.files[0].content, "echo hi\n");
    // A trigger that will fail is kept, with a warning.
    let Instruction::Onbuild(bad) = &instrs[1] else {
        panic!()
    };
    assert!(bad.trigger.is_none());
    assert!(
        df.warnings
            .iter()
            .any(|w| w.code == "dockerfile::onbuild-trigger")
    );
    assert!(
        error("FROM a\nONBUILD FROM b\n")
            .message
            .contains("isn't allowed as an ONBUILD trigger")
    );
}

#[test]
fn stages_and_global_args() {
    let text = "ARG BASE=debian VERSION\nFROM --platform=$BUILDPLATFORM ${BASE} AS Build\nRUN make\n\
        FROM scratch AS final\nCOPY --from=build /out /\nFROM scratch AS final\n";
    let df = parse(text).unwrap();
    assert_eq!(df.global_args.len(), 1);
    let names: Vec<_> = df.global_args[0]
        .args
        .iter()
        .map(|a| a.name.text.as_ref())
        .collect();
    assert_eq!(names, vec!["BASE", "VERSION"]);
    assert_eq!(
        df.global_args[0].args[0].default.as_ref().unwrap().text,
        "debian"
    );
    assert_eq!(df.stages.len(), 3);
    assert_eq!(df.stages[0].name.as_deref(), Some("build"));
    assert_eq!(df.stages[0].from.image.text, "${BASE}");
    assert_eq!(
        df.stages[0].from.platform.as_ref().unwrap().text,
        "$BUILDPLATFORM"
    );
    assert_eq!(df.instructions(&df.stages[0]).len(), 1);
    assert_eq!(
        slice(text, df.stages[0].span),
        "FROM --platform=$BUILDPLATFORM ${BASE} AS Build\nRUN make"
    );
    assert!(df.stage("BUILD").is_some());
    assert!(
        df.warnings
            .iter()
            .any(|w| w.code == "dockerfile::duplicate-stage-name")
    );

    assert_eq!(
        error("RUN x\nFROM a\n").message,
        "no build stage in current context"
    );
    // As in BuildKit, an instruction before the first FROM is typed first:
    // its own error wins over the missing stage.
    assert_eq!(
        error("WORKDIR\nFROM a\n").message,
        "WORKDIR requires exactly one argument"
    );
    assert!(
        error("FROM a AS 1st\n")
            .message
            .contains("invalid name for build stage")
    );
    assert_eq!(
        error("FROM a b\n").message,
        "FROM requires either one or three arguments"
    );
    assert_eq!(
        error("ARG x\n").message,
        "dockerfile contains no stages to build"
    );
}

#[test]
fn env_label_arg_and_simple_instructions() {
    let text = "FROM a\nENV PATH /usr/bin:$PATH\nENV A=1 B=\"two words\"\nLABEL a=b c=d\n\
        EXPOSE 8080 443/tcp 80\nVOLUME [\"/data\", \"/logs\"]\nUSER app:app\nWORKDIR /srv\n\
        STOPSIGNAL --x SIGTERM\nMAINTAINER me\nSHELL [\"/bin/bash\", \"-c\"]\n";
    let df = parse(text).unwrap();
    let i = df.instructions(&df.stages[0]);
    let Instruction::Env(e) = &i[0] else { panic!() };
    assert!(e.pairs[0].legacy);
    assert_eq!(
        (e.pairs[0].key.text.as_ref(), e.pairs[0].value.text.as_ref()),
        ("PATH", "/usr/bin:$PATH")
    );
    let Instruction::Env(e) = &i[1] else { panic!() };
    assert_eq!(e.pairs[1].value.text, "\"two words\"");
    assert_eq!(slice(text, e.pairs[1].value.span), "\"two words\"");
    let Instruction::Label(l) = &i[2] else {
        panic!()
    };
    assert_eq!(l.pairs.len(), 2);
    let Instruction::Expose(x) = &i[3] else {
        panic!()
    };
    let ports: Vec<_> = x.ports.iter().map(|w| w.text.as_ref()).collect();
    assert_eq!(ports, vec!["443/tcp", "80", "8080"]);
    let Instruction::Volume(v) = &i[4] else {
        panic!()
    };
    assert!(v.json && v.volumes.len() == 2);
    let Instruction::User(u) = &i[5] else {
        panic!()
    };
    assert_eq!(u.user.text, "app:app");
    let Instruction::Workdir(w) = &i[6] else {
        panic!()
    };
    assert_eq!(w.path.text, "/srv");
    let Instruction::StopSignal(s) = &i[7] else {
        panic!()
    };
    assert_eq!(s.signal.text, "SIGTERM");
    assert!(
        df.warnings
            .iter()
            .any(|w| w.code == "dockerfile::ignored-flags")
    );
    let Instruction::Shell(sh) = &i[9] else {
        panic!()
    };
    assert_eq!(sh.shell.len(), 2);

    assert_eq!(
        error("FROM a\nSHELL /bin/bash -c\n").message,
        "SHELL requires the arguments to be in JSON form"
    );
    assert_eq!(
        error("FROM a\nUSER\n").message,
        "USER requires exactly one argument"
    );
    assert_eq!(
        error("FROM a\nENV =x\n").message,
        "ENV names can not be blank"
    );
    assert_eq!(
        error("FROM a\nARG =x\n").message,
        "ARG names can not be blank"
    );
    assert_eq!(
        error("FROM a\nVOLUME [\" \"]\n").message,
        "VOLUME specified can not be an empty string"
    );
    let e = error("FROM a\nRUNN x\n");
    assert_eq!(e.message, "unknown instruction: RUNN");
    assert_eq!(e.help.as_deref(), Some("did you mean RUN?"));
}

#[test]
fn escape_directive_bom_and_crlf() {
    let text = "\u{feff}# escape=`\r\nFROM mcr.microsoft.com/windows\r\nRUN dir C:\\ `\r\n    && echo done\r\n";
    let df = parse(text).unwrap();
    assert_eq!(df.escape, '`');
    assert_eq!(df.directives[0].name, "escape");
    assert_eq!(df.directives[0].line, 1);
    let Instruction::Run(run) = &df.instructions(&df.stages[0])[0] else {
        panic!()
    };
    assert_eq!(run.command.cmd_line(), vec!["dir C:\\     && echo done"]);

    let e = error("# escape=x\nFROM a\n");
    assert!(e.message.contains("invalid escape token"));
    let e = error("# syntax=a\n# syntax=b\nFROM a\n");
    assert_eq!(e.message, "only one syntax parser directive can be used");
}

#[test]
fn diagnostics_render_with_the_offending_line() {
    let src = SourceFile::new("Dockerfile", "FROM a\nRUN <<EOF\necho\n");
    let e = dockerfile::parse(&src).unwrap_err();
    assert_eq!(e.code, "dockerfile::unterminated-heredoc");
    let mut rendered = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut rendered, &e)
        .unwrap();
    assert!(rendered.contains("unterminated heredoc"), "{rendered}");
    assert!(rendered.contains("RUN <<EOF"), "{rendered}");
    assert!(rendered.contains("Dockerfile:2"), "{rendered}");
}

#[test]
fn a_continued_command_reads_the_same_however_its_text_is_held() {
    // Typed from its lines' pieces (the text joined only when read), it
    // must equal, print and serialise like a command holding its text.
    let text = "FROM debian\nRUN set -eux; \\\n    apt-get update \\\n# note\n && echo ok\n";
    let instrs = first_stage(text);
    let Instruction::Run(run) = &instrs[0] else {
        panic!()
    };
    let CommandLine::Shell { command } = &run.command else {
        panic!()
    };
    let joined = "set -eux;     apt-get update  && echo ok";
    assert_eq!(command.text(), joined);
    assert_eq!(command.clone().into_text(), joined);
    assert!(!command.is_empty());
    let held = scratchify::dockerfile::ShellText::new(
        std::borrow::Cow::Owned(joined.to_string()),
        command.span,
        command.map.clone(),
    );
    assert_eq!(command, &held);
    assert_eq!(format!("{command:?}"), format!("{held:?}"));
    let json = serde_json::to_value(command).unwrap();
    assert_eq!(json, serde_json::to_value(&held).unwrap());
    assert_eq!(json["text"], joined);
    let at = joined.find("echo").unwrap();
    assert_eq!(slice(text, command.map.span(at, at + 4)), "echo");
    // A different text is a different command.
    let other = scratchify::dockerfile::ShellText::new(
        std::borrow::Cow::Borrowed("set -eux;"),
        command.span,
        command.map.clone(),
    );
    assert_ne!(command, &other);
}

mod duplicate_stage_names {
    use super::parse;
    use proptest::prelude::*;

    /// Stage names with repeats in both cases, and unnamed stages.
    const NAMES: &[&str] = &[
        "", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "A", "B", "Build", "build",
    ];

    proptest! {
        /// Each stage whose name an earlier stage has (names compare
        /// lower-cased) is warned about once, pointing at the first stage
        /// of that name, whether the file has few stages (compared one by
        /// one) or many (through a map).
        #[test]
        fn each_repeat_points_at_the_first_stage_of_its_name(
            names in proptest::collection::vec(proptest::sample::select(NAMES), 0..150),
        ) {
            let mut text = String::new();
            for name in &names {
                if name.is_empty() {
                    text.push_str("FROM x\n");
                } else {
                    text.push_str(&format!("FROM x AS {name}\n"));
                }
            }
            if names.is_empty() {
                return Ok(());
            }
            let df = parse(&text).unwrap();
            let source = scratchify::source::SourceFile::new("Dockerfile", text.clone());
            let got: Vec<(usize, String)> = df
                .warnings
                .iter()
                .filter(|w| w.code == "dockerfile::duplicate-stage-name")
                .map(|w| (source.line_col(w.span.start).0, w.message.clone()))
                .collect();
            let mut want = Vec::new();
            for (i, name) in names.iter().enumerate() {
                if name.is_empty() {
                    continue;
                }
                let lower = name.to_ascii_lowercase();
                if let Some(first) = names[..i].iter().position(|n| n.to_ascii_lowercase() == lower) {
                    want.push((
                        i + 1,
                        format!("duplicate stage name {lower:?}, first defined on line {}", first + 1),
                    ));
                }
            }
            prop_assert_eq!(got, want);
        }
    }
}
