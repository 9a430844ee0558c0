//! Recognisers: from a command's expanded arguments to typed effects.
//!
//! [`Analyzer::dispatch`] first handles what changes the shell's own state
//! (`cd`, `export`, `unset`, `set`, `read`, `eval`, shell functions), then
//! looks the command up in the grammar (`grammar/commands/*.toml`), parses
//! its arguments with [`parse_argv`], and calls the recogniser the grammar
//! names. A command that is not in the grammar, an option the grammar does
//! not list, or a value that matters and is not known makes the command
//! [`Effect::Opaque`] with the reason.

mod accounts;
mod files;
mod net;
mod packages;
mod text;

use super::analyze::{Analyzer, Arg, Context, Line, Recognized, Stream, Unknown, VarValue};
use super::effect::Effect;
use super::grammar::{ArgvError, CommandSpec, ParsedArgs, parse_argv};
use super::parse::{is_name, parse_script};
use crate::source::Span;

pub(crate) fn opaque(span: Span, reason: impl Into<String>) -> Recognized {
    Recognized {
        effects: vec![Effect::Opaque {
            reason: reason.into(),
            span,
        }],
        stdout: Stream::Unknown {
            from: "a command that was not interpreted".into(),
        },
    }
}

pub(crate) fn noop(span: Span, reason: impl Into<String>) -> Recognized {
    Recognized::effect(Effect::NoOp {
        reason: reason.into(),
        span,
    })
}

/// The last path component of a command name (`/usr/bin/apt-get`).
pub(crate) fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// The value of an argument whose value matters, or why not.
pub(crate) fn need<'x>(arg: &'x Arg, what: &str) -> Result<&'x str, String> {
    match arg.known() {
        Some(v) if arg.glob => Err(format!(
            "the {what} `{v}` is a file name pattern, which only the filesystem can expand"
        )),
        Some(v) => Ok(v),
        None => Err(format!(
            "the {what} `{}` is not known{}",
            arg.text,
            because(arg)
        )),
    }
}

/// ` (because ...)` for an unknown argument.
pub(crate) fn because(arg: &Arg) -> String {
    match arg.unknown.first() {
        Some(Unknown::UnsetVariable { name }) => format!(" (${name} has no known value)"),
        Some(Unknown::CommandOutput { command, .. }) => {
            format!(" (it is the output of `{command}`)")
        }
        Some(Unknown::Arithmetic { expression, .. }) => {
            format!(" (it is the arithmetic `{expression}`)")
        }
        Some(Unknown::Parameter { name }) => format!(" (it uses ${name})"),
        Some(Unknown::ConditionalAssignment { name }) => {
            format!(" (${name} is set in a branch that may not run)")
        }
        Some(Unknown::LoopVariable { name }) => format!(" (${name} is a loop variable)"),
        Some(Unknown::HomeDirectory { .. }) => " (it uses a home directory)".to_string(),
        Some(Unknown::Stdin { from }) => format!(" (it is read from {from})"),
        Some(Unknown::Unsupported { text, .. }) => format!(" (`{text}` is not supported)"),
        None => String::new(),
    }
}

/// A recogniser's result from a value that may be missing.
pub(crate) fn or_opaque(span: Span, r: Result<Recognized, String>) -> Recognized {
    r.unwrap_or_else(|reason| opaque(span, reason))
}

fn argv_reason(name: &str, e: &ArgvError) -> String {
    match e {
        ArgvError::UnknownOption { option, .. } => {
            format!("`{name}` option `{option}` is not in scratchify's grammar for `{name}`")
        }
        ArgvError::UnknownSubcommand { name: sub, .. } => {
            format!("`{name} {sub}` is not a subcommand scratchify knows")
        }
        other => format!("`{name}`: {other}"),
    }
}

/// Command names with a version suffix (`pip3.11`, `python3.12`) are looked
/// up without it when the exact name is not in the grammar.
fn strip_version_suffix(name: &str) -> &str {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if base.is_empty() || base == name {
        name
    } else {
        base
    }
}

/// `chmod -x file`: GNU chmod reads a word like `-x` as a mode, not an
/// option. Such words (not made of chmod's own option letters) are moved
/// after a `--` so the generic option parser leaves them alone.
fn chmod_argv(argv: &[Arg]) -> Vec<Arg> {
    let is_mode = |a: &Arg| {
        a.known().is_some_and(|v| {
            v.len() > 1
                && v.starts_with('-')
                && v[1..].chars().all(|c| "rwxXstugoa+-=,".contains(c))
                && !v[1..].chars().all(|c| "Rvcf".contains(c))
        })
    };
    let Some(k) = argv.iter().position(is_mode) else {
        return argv.to_vec();
    };
    let mut out: Vec<Arg> = Vec::with_capacity(argv.len() + 1);
    out.extend(argv[..k].iter().cloned());
    out.extend(
        argv[k + 1..]
            .iter()
            .filter(|a| a.known().is_some_and(|v| v.starts_with('-') && v != "-"))
            .cloned(),
    );
    out.push(Arg::literal("--", argv[k].span));
    out.push(argv[k].clone());
    out.extend(
        argv[k + 1..]
            .iter()
            .filter(|a| !a.known().is_some_and(|v| v.starts_with('-') && v != "-"))
            .cloned(),
    );
    out
}

impl Analyzer<'_> {
    /// Interprets one expanded command line.
    pub(crate) fn dispatch(&mut self, line: &Line, ctx: &Context, stdin: &Stream) -> Recognized {
        let span = line.span;
        let Some(first) = line.argv.first() else {
            return noop(span, "no command");
        };
        let Some(full) = first.known() else {
            return opaque(
                span,
                format!(
                    "the command name `{}` is not known{}",
                    first.text,
                    because(first)
                ),
            );
        };
        let name = basename(full);
        match name {
            "cd" => return self.cd(line),
            "export" | "readonly" | "local" | "declare" | "typeset" => {
                return self.declare(name, line);
            }
            "unset" => return self.unset(line),
            "set" => return self.set(line),
            "read" => return self.read(line),
            "eval" => return self.eval(line, ctx),
            "." | "source" => {
                let file = line.argv.get(1).map_or("", |a| a.display());
                return opaque(
                    span,
                    format!("runs the script file `{file}` in the current shell"),
                );
            }
            "exec" => {
                if line.argv.len() == 1 {
                    return noop(span, "redirects the shell's own input or output");
                }
                return self.recognize_argv(&line.argv[1..], span, ctx, stdin);
            }
            "trap" => return opaque(span, "sets a trap whose commands run later"),
            "umask" => {
                return opaque(span, "changes the mode of every file created afterwards");
            }
            "alias" => return opaque(span, "defines an alias"),
            "ulimit" | "shopt" | "getopts" => {
                return noop(
                    span,
                    format!("`{name}` changes only the shell's own settings"),
                );
            }
            _ => {}
        }
        if !full.contains('/') {
            match self.functions_call(name, ctx) {
                Some(Ok(())) => {
                    return noop(
                        span,
                        format!(
                            "calls the shell function `{name}` (its commands are listed separately)"
                        ),
                    );
                }
                Some(Err(())) => {
                    return opaque(span, format!("shell function `{name}` recurses too deeply"));
                }
                None => {}
            }
        }
        self.recognize_argv(&line.argv, span, ctx, stdin)
    }

    /// Interprets an argument vector through the grammar (also used by
    /// wrappers like `sudo`, `env`, `xargs`).
    pub(crate) fn recognize_argv(
        &mut self,
        argv: &[Arg],
        span: Span,
        ctx: &Context,
        stdin: &Stream,
    ) -> Recognized {
        let Some(first) = argv.first() else {
            return noop(span, "no command");
        };
        let Some(full) = first.known() else {
            return opaque(
                span,
                format!(
                    "the command name `{}` is not known{}",
                    first.text,
                    because(first)
                ),
            );
        };
        let invoked = basename(full).to_string();
        let grammar = self.grammar;
        let found = grammar
            .get(&invoked)
            .or_else(|| grammar.get(strip_version_suffix(&invoked)));
        let Some((_, spec)) = found else {
            if argv.len() == 2 && matches!(argv[1].known(), Some("--version" | "-version")) {
                return noop(
                    span,
                    format!(
                        "prints the version of `{invoked}` (a `--version` query is assumed read-only)"
                    ),
                );
            }
            return opaque(
                span,
                format!("`{full}` is not a command scratchify recognises"),
            );
        };
        let argv_owned;
        let argv = if spec.recognizer == "chmod" {
            argv_owned = chmod_argv(argv);
            &argv_owned[..]
        } else {
            argv
        };
        let parsed = match parse_argv(spec, argv) {
            Ok(p) => p,
            Err(e) => return opaque(span, argv_reason(&invoked, &e)),
        };
        let inv = Invocation {
            invoked: &invoked,
            spec,
            parsed: &parsed,
            span,
            stdin,
        };
        self.recognize(&inv, ctx)
    }

    fn recognize(&mut self, inv: &Invocation<'_>, ctx: &Context) -> Recognized {
        let span = inv.span;
        match inv.spec.recognizer.as_str() {
            "apt" => packages::apt(inv),
            "apt-mark" => packages::apt_mark(inv),
            "dpkg" => packages::dpkg(inv),
            "apk" => packages::apk(inv),
            "dnf" => packages::dnf(inv),
            "pip" => packages::pip(inv),
            "python" => self.python(inv, ctx),
            "nix-env" => packages::nix_env(inv),
            "nix" => packages::nix(inv),
            "nix-channel" => packages::nix_channel(inv),
            "nix-collect-garbage" => packages::nix_gc(inv),
            "npm" => packages::npm(inv),
            "gem" => packages::gem(inv),
            "useradd" => accounts::useradd(inv),
            "groupadd" => accounts::groupadd(inv),
            "usermod" => accounts::usermod(inv),
            "adduser" => accounts::adduser(inv),
            "addgroup" => accounts::addgroup(inv),
            "gpasswd" => accounts::gpasswd(inv),
            "mkdir" => files::mkdir(inv),
            "chown" => files::chown(inv, false),
            "chgrp" => files::chown(inv, true),
            "chmod" => files::chmod(inv),
            "ln" => files::ln(inv),
            "touch" => files::touch(inv),
            "cp" => files::cp(inv),
            "mv" => files::mv(inv),
            "rm" => files::rm(inv),
            "install" => files::install(inv),
            "echo" => text::echo(inv),
            "printf" => text::printf(inv),
            "cat" => text::cat(inv),
            "tee" => text::tee(inv),
            "tr" => text::tr(inv),
            "curl" => net::curl(inv),
            "wget" => net::wget(inv),
            "checksum" => net::checksum(inv),
            "gpg" => net::gpg(inv),
            "tar" => net::tar(inv),
            "unzip" => net::unzip(inv),
            "noop" => noop(
                span,
                inv.spec
                    .reason
                    .clone()
                    .unwrap_or_else(|| format!("`{}` has no effect on files", inv.invoked)),
            ),
            "false" => Recognized::effect(Effect::Abort {
                status: Some(1),
                span,
            }),
            "exit" => exit(inv),
            "env" => self.env(inv, ctx),
            "wrapper" => self.wrapper(inv, ctx),
            "command" => {
                if inv.parsed.has("lookup") || inv.parsed.has("describe") {
                    return noop(span, "looks a command up (read-only)");
                }
                let rest = inv.parsed.operands.clone();
                self.recognize_argv(&rest, span, ctx, inv.stdin)
            }
            "xargs" => self.xargs(inv, ctx),
            "shell" => self.shell(inv, ctx),
            other => opaque(
                span,
                format!("the grammar names a recogniser `{other}` that does not exist"),
            ),
        }
    }

    // ----- builtins that change the shell's state -----

    fn cd(&mut self, line: &Line) -> Recognized {
        let span = line.span;
        let args: Vec<&Arg> = line
            .argv
            .iter()
            .skip(1)
            .filter(|a| !matches!(a.known(), Some("-L" | "-P" | "-e" | "-@" | "--")))
            .collect();
        let target = match args.as_slice() {
            [] => {
                let home = self.peek_var("HOME");
                match home {
                    Some(h) => Arg::literal(h, span),
                    None => {
                        Arg::unknown("$HOME", span, vec![Unknown::HomeDirectory { user: None }])
                    }
                }
            }
            [a] => (*a).clone(),
            _ => return opaque(span, "`cd` with more than one directory"),
        };
        self.cwd = match target.known() {
            Some("-") => crate::shell::analyze::Cwd::Unknown,
            Some(p) if !target.glob => self.cwd.join(p),
            _ => crate::shell::analyze::Cwd::Unknown,
        };
        Recognized::effect(Effect::ChangeDir { path: target, span })
    }

    fn declare(&mut self, name: &str, line: &Line) -> Recognized {
        let span = line.span;
        let mut names = Vec::new();
        for a in line.argv.iter().skip(1) {
            match a.known() {
                Some(v) if v.starts_with('-') || v.starts_with('+') => {}
                Some(v) if is_name(v) => {
                    if name == "export" {
                        self.export_var(v, None);
                    } else if matches!(name, "local" | "declare" | "typeset") {
                        self.set_var(v, VarValue::Known(String::new()));
                    }
                    names.push(v.to_string());
                }
                _ => {}
            }
        }
        for (n, v) in &line.declarations {
            if name == "export" {
                self.export_var(n, Some(v.clone()));
            } else {
                self.set_var(n, v.clone());
            }
            names.push(n.clone());
        }
        let verb = if name == "export" { "exports" } else { "sets" };
        noop(
            span,
            format!("{verb} the shell variable(s) {}", names.join(", ")),
        )
    }

    fn unset(&mut self, line: &Line) -> Recognized {
        let mut functions = false;
        let mut names = Vec::new();
        for a in line.argv.iter().skip(1) {
            match a.known() {
                Some("-f") => functions = true,
                Some("-v") => functions = false,
                Some(v) if is_name(v) => {
                    if !functions {
                        self.unset_var(v);
                    }
                    names.push(v.to_string());
                }
                _ => {}
            }
        }
        noop(line.span, format!("unsets {}", names.join(", ")))
    }

    fn set(&mut self, line: &Line) -> Recognized {
        let mut args = line.argv.iter().skip(1).peekable();
        while let Some(a) = args.next() {
            let Some(v) = a.known() else { continue };
            if v == "--" || v == "-" {
                return noop(line.span, "sets the positional parameters");
            }
            if v == "-o" || v == "+o" {
                if let Some(opt) = args.next().and_then(Arg::known)
                    && opt == "noglob"
                {
                    self.set_noglob(v == "-o");
                }
                continue;
            }
            if let Some(flags) = v.strip_prefix('-') {
                if flags.contains('f') {
                    self.set_noglob(true);
                }
            } else if let Some(flags) = v.strip_prefix('+') {
                if flags.contains('f') {
                    self.set_noglob(false);
                }
            } else {
                return noop(line.span, "sets the positional parameters");
            }
        }
        noop(line.span, "sets shell options")
    }

    fn read(&mut self, line: &Line) -> Recognized {
        let mut names = Vec::new();
        let mut args = line.argv.iter().skip(1);
        while let Some(a) = args.next() {
            match a.known() {
                Some("-p" | "-d" | "-t" | "-n" | "-N" | "-u" | "-i") => {
                    args.next();
                }
                Some(v) if v.starts_with('-') => {}
                Some(v) if is_name(v) => names.push(v.to_string()),
                _ => {}
            }
        }
        if names.is_empty() {
            names.push("REPLY".into());
        }
        for n in &names {
            self.set_var(
                n,
                VarValue::Unknown(vec![Unknown::Stdin {
                    from: "`read`".into(),
                }]),
            );
        }
        noop(
            line.span,
            format!("reads a line of standard input into {}", names.join(", ")),
        )
    }

    fn eval(&mut self, line: &Line, ctx: &Context) -> Recognized {
        let span = line.span;
        let mut words = Vec::new();
        for a in line.argv.iter().skip(1) {
            match need(a, "argument of eval") {
                Ok(v) => words.push(v.to_string()),
                Err(e) => return opaque(span, e),
            }
        }
        let script = words.join(" ");
        let mut parsed = match parse_script(&script) {
            Ok(p) => p,
            Err(e) => {
                return opaque(
                    span,
                    format!("the script given to eval does not parse: {}", e.kind),
                );
            }
        };
        use crate::shell::ast::MapSpans;
        parsed.map_spans(&mut |_| span);
        self.script(&parsed, ctx);
        noop(
            span,
            "evaluates its arguments as a script (its commands are listed separately)",
        )
    }

    // ----- wrappers -----

    fn env(&mut self, inv: &Invocation<'_>, ctx: &Context) -> Recognized {
        let span = inv.span;
        if inv.parsed.has("chdir") {
            return opaque(span, "`env -C` runs the command in another directory");
        }
        let ops = &inv.parsed.operands;
        let k = ops
            .iter()
            .position(|a| {
                !a.known()
                    .is_some_and(|v| v.split_once('=').is_some_and(|(n, _)| is_name(n)))
            })
            .unwrap_or(ops.len());
        if k == ops.len() {
            return Recognized {
                effects: vec![Effect::NoOp {
                    reason: "prints the environment (read-only)".into(),
                    span,
                }],
                stdout: Stream::Unknown {
                    from: "the environment".into(),
                },
            };
        }
        let rest = ops[k..].to_vec();
        self.recognize_argv(&rest, span, ctx, inv.stdin)
    }

    fn wrapper(&mut self, inv: &Invocation<'_>, ctx: &Context) -> Recognized {
        let span = inv.span;
        if inv.parsed.has("user") {
            return opaque(
                span,
                format!("`{}` runs the command as another user", inv.invoked),
            );
        }
        if inv.parsed.operands.is_empty() {
            return opaque(span, format!("`{}` without a command", inv.invoked));
        }
        let rest = inv.parsed.operands.clone();
        self.recognize_argv(&rest, span, ctx, inv.stdin)
    }

    fn xargs(&mut self, inv: &Invocation<'_>, ctx: &Context) -> Recognized {
        let span = inv.span;
        let p = inv.parsed;
        if p.has("replace") {
            return opaque(span, "`xargs -I` builds commands from a template");
        }
        let mut argv = p.operands.clone();
        if argv.is_empty() {
            argv.push(Arg::literal("echo", span));
        }
        match inv.stdin {
            Stream::Known(s)
                if !s.contains(['"', '\'', '\\']) && !p.has("null") && !p.has("delimiter") =>
            {
                let items: Vec<&str> = s.split_whitespace().collect();
                if items.is_empty() && p.has("no-run-if-empty") {
                    return noop(span, "runs nothing: its input is empty");
                }
                argv.extend(items.into_iter().map(|i| Arg::literal(i, span)));
            }
            Stream::Known(_) => {
                return opaque(span, "xargs input with quotes or custom delimiters");
            }
            other => {
                let from = match other {
                    Stream::Unknown { from } => from.clone(),
                    Stream::Download { url } => format!("a download of {}", url.display()),
                    _ => "standard input".into(),
                };
                argv.push(Arg::unknown(
                    "(standard input)",
                    span,
                    vec![Unknown::Stdin { from }],
                ));
            }
        }
        let inner = Stream::Known(String::new());
        self.recognize_argv(&argv, span, ctx, &inner)
    }

    fn shell(&mut self, inv: &Invocation<'_>, ctx: &Context) -> Recognized {
        let span = inv.span;
        let ops = &inv.parsed.operands;
        if inv.parsed.has("command") {
            let Some(script) = ops.first() else {
                return opaque(span, format!("`{} -c` without a script", inv.invoked));
            };
            let text = match need(script, "script") {
                Ok(t) => t.to_string(),
                Err(e) => return opaque(span, e),
            };
            return match self.child_script(&text, script, ctx) {
                Ok(()) => noop(
                    span,
                    format!(
                        "runs the script given to `{} -c` (its commands are listed separately)",
                        inv.invoked
                    ),
                ),
                Err(e) => opaque(
                    span,
                    format!(
                        "the script given to `{} -c` does not parse: {e}",
                        inv.invoked
                    ),
                ),
            };
        }
        if let Some(file) = ops.first().filter(|_| !inv.parsed.has("stdin")) {
            return opaque(span, format!("runs the script file `{}`", file.display()));
        }
        match inv.stdin {
            Stream::Known(s) => {
                let word = Arg::unknown(s.clone(), span, Vec::new());
                match self.child_script(s, &word, ctx) {
                    Ok(()) => noop(
                        span,
                        "runs the script on its standard input (its commands are listed separately)",
                    ),
                    Err(e) => opaque(
                        span,
                        format!("the script on standard input does not parse: {e}"),
                    ),
                }
            }
            Stream::Download { url } => opaque(
                span,
                format!("runs a script downloaded from {}", url.display()),
            ),
            _ => opaque(span, "runs a script read from standard input"),
        }
    }

    fn python(&mut self, inv: &Invocation<'_>, ctx: &Context) -> Recognized {
        let span = inv.span;
        let p = inv.parsed;
        if let Some(m) = p.last("module") {
            return match m.known() {
                Some("pip") => {
                    let mut argv = vec![Arg::literal("pip", m.span)];
                    argv.extend(p.operands.iter().cloned());
                    let grammar = self.grammar;
                    match grammar.get("pip") {
                        Some((_, spec)) => match parse_argv(spec, &argv) {
                            Ok(parsed) => {
                                let inner = Invocation {
                                    invoked: "pip",
                                    spec,
                                    parsed: &parsed,
                                    span,
                                    stdin: inv.stdin,
                                };
                                self.recognize(&inner, ctx)
                            }
                            Err(e) => opaque(span, argv_reason("pip", &e)),
                        },
                        None => opaque(span, "the grammar has no `pip`"),
                    }
                }
                Some(other) => opaque(span, format!("runs the Python module `{other}`")),
                None => opaque(span, format!("the Python module `{}` is not known", m.text)),
            };
        }
        if p.has("command") {
            return opaque(span, "runs Python code given with -c");
        }
        if p.has("version") {
            return noop(span, "prints the Python version (read-only)");
        }
        match p.operands.first() {
            Some(f) => opaque(span, format!("runs the Python script `{}`", f.display())),
            None => opaque(span, "starts an interactive Python interpreter"),
        }
    }
}

fn exit(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    match inv.parsed.operands.first() {
        None => noop(span, "leaves the script with the last command's status"),
        Some(a) => match a.known().map(str::parse::<i32>) {
            Some(Ok(0)) => noop(span, "leaves the script with status 0"),
            Some(Ok(n)) => Recognized::effect(Effect::Abort {
                status: Some(n),
                span,
            }),
            _ => Recognized::effect(Effect::Abort { status: None, span }),
        },
    }
}

/// A command line parsed against its grammar, for a recogniser.
pub(crate) struct Invocation<'x> {
    /// The name it was called by (`yum`, `pip3`).
    pub invoked: &'x str,
    pub spec: &'x CommandSpec,
    pub parsed: &'x ParsedArgs,
    pub span: Span,
    pub stdin: &'x Stream,
}
