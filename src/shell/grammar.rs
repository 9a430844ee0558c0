//! Command-line grammars as data: `grammar/commands/*.toml`.
//!
//! Each file is a table of commands. A command names the Rust recogniser
//! that interprets it (where the semantics are typed), its option syntax
//! style, its options (short and long spellings, whether they take a value,
//! a stable `key` the recogniser reads, and what they do) and its
//! subcommands (each with its own options and an `action`). The argv parser
//! here ([`parse_argv`]) is generic: it knows getopt conventions (clustered
//! short flags `-yq`, attached values `-oFoo=1`, `--opt=value`, `--`), and
//! reports an option the grammar does not list as an error, which the
//! recogniser turns into an Opaque effect, so an unfamiliar flag is never
//! silently ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

use super::analyze::Arg;
use crate::source::Span;

/// The built-in grammar files, compiled into the binary.
const BUILTIN: &[(&str, &str)] = &[
    ("apt.toml", include_str!("../../grammar/commands/apt.toml")),
    ("apk.toml", include_str!("../../grammar/commands/apk.toml")),
    ("rpm.toml", include_str!("../../grammar/commands/rpm.toml")),
    (
        "python.toml",
        include_str!("../../grammar/commands/python.toml"),
    ),
    ("nix.toml", include_str!("../../grammar/commands/nix.toml")),
    (
        "node-ruby.toml",
        include_str!("../../grammar/commands/node-ruby.toml"),
    ),
    (
        "accounts.toml",
        include_str!("../../grammar/commands/accounts.toml"),
    ),
    (
        "files.toml",
        include_str!("../../grammar/commands/files.toml"),
    ),
    (
        "text.toml",
        include_str!("../../grammar/commands/text.toml"),
    ),
    (
        "network.toml",
        include_str!("../../grammar/commands/network.toml"),
    ),
    (
        "builtins.toml",
        include_str!("../../grammar/commands/builtins.toml"),
    ),
];

/// How a command's options are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Style {
    /// GNU getopt: options anywhere before `--`.
    #[default]
    Gnu,
    /// POSIX getopt: options end at the first operand.
    Posix,
    /// `tar`: like GNU, and the first argument may be a bundle of short
    /// options without a `-` (`tar xzf a.tgz`), whose values follow in order.
    Tar,
    /// No option parsing: every argument is an operand (`echo`, `printf`,
    /// `[`), the recogniser reads them itself.
    Raw,
}

/// Whether an option takes a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueKind {
    #[default]
    None,
    /// `-o VALUE`, `-oVALUE`, `--opt VALUE`, `--opt=VALUE`.
    Required,
    /// Only attached: `--opt=VALUE` (or `-oVALUE`); `--opt` alone is valid.
    Optional,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionSpec {
    /// What the recogniser looks the option up by.
    pub key: String,
    /// What the option does.
    pub doc: String,
    /// Single-character spellings (`"y"` for `-y`).
    #[serde(default)]
    pub short: Vec<String>,
    /// Long spellings without the dashes.
    #[serde(default)]
    pub long: Vec<String>,
    /// Multi-letter spellings written with one dash (`-nv` for wget), which
    /// take precedence over reading the word as a cluster of short options.
    #[serde(default)]
    pub single: Vec<String>,
    #[serde(default)]
    pub value: ValueKind,
    /// The option selects what the command does (`dpkg -i`, `nix-env -iA`).
    #[serde(default)]
    pub action: Option<String>,
    /// Everything after this option (and its value) is an operand
    /// (`python -m MODULE ARGS`, `sh -c SCRIPT ARGS`).
    #[serde(default)]
    pub terminates: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubcommandSpec {
    /// What the recogniser dispatches on.
    pub action: String,
    pub doc: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub options: Vec<OptionSpec>,
    #[serde(default)]
    pub subcommands: BTreeMap<String, SubcommandSpec>,
}

/// A path that holds a cache or other debris when it is removed (`rm -rf
/// /var/lib/apt/lists/*`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CachePathSpec {
    /// The path; it and everything below it are covered.
    pub path: String,
    /// The package manager that owns it, if any.
    #[serde(default)]
    pub manager: Option<String>,
    pub doc: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// The Rust recogniser that interprets the parsed command line.
    pub recognizer: String,
    pub doc: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub style: Style,
    #[serde(default)]
    pub options: Vec<OptionSpec>,
    #[serde(default)]
    pub subcommands: BTreeMap<String, SubcommandSpec>,
    #[serde(default)]
    pub cache_paths: Vec<CachePathSpec>,
    /// For the `noop` recogniser: why the command has no effect on files.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The command grammars: every command by its name and aliases.
#[derive(Debug)]
pub struct Grammar {
    commands: BTreeMap<String, (String, Arc<CommandSpec>)>,
}

#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
pub enum GrammarError {
    #[error("{file}: {message}")]
    #[diagnostic(code(shell::grammar))]
    Toml { file: String, message: String },
    #[error("{file}: command `{name}` is defined twice")]
    #[diagnostic(code(shell::grammar))]
    Duplicate { file: String, name: String },
    #[error("{file}: `{command}`: {message}")]
    #[diagnostic(code(shell::grammar))]
    Invalid {
        file: String,
        command: String,
        message: String,
    },
}

impl Grammar {
    /// The grammar compiled into the binary, parsed on first use.
    pub fn builtin() -> Result<&'static Grammar, &'static GrammarError> {
        static BUILT: OnceLock<Result<Grammar, GrammarError>> = OnceLock::new();
        BUILT
            .get_or_init(|| Grammar::from_files(BUILTIN.iter().map(|(n, t)| (*n, *t))))
            .as_ref()
    }

    /// The built-in grammar files (`(file name, TOML text)`), to combine
    /// with user files in [`Grammar::from_files`].
    pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
        BUILTIN
    }

    /// A grammar from TOML files (`(file name, text)`); later files may not
    /// redefine a command.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Grammar, GrammarError> {
        let mut commands = BTreeMap::new();
        for (file, text) in files {
            let table: BTreeMap<String, CommandSpec> =
                toml::from_str(text).map_err(|e| GrammarError::Toml {
                    file: file.to_string(),
                    message: e.to_string(),
                })?;
            for (name, spec) in table {
                validate(file, &name, &spec)?;
                let spec = Arc::new(spec);
                for n in std::iter::once(&name).chain(spec.aliases.iter()) {
                    if commands
                        .insert(n.clone(), (name.clone(), Arc::clone(&spec)))
                        .is_some()
                    {
                        return Err(GrammarError::Duplicate {
                            file: file.to_string(),
                            name: n.clone(),
                        });
                    }
                }
            }
        }
        Ok(Grammar { commands })
    }

    /// The grammar of a command by name or alias: `(canonical name, spec)`.
    pub fn get(&self, name: &str) -> Option<(&str, &CommandSpec)> {
        self.commands.get(name).map(|(n, s)| (n.as_str(), &**s))
    }

    /// Every command name and alias with its recogniser.
    pub fn names(&self) -> impl Iterator<Item = (&str, &str)> {
        self.commands
            .iter()
            .map(|(n, (_, s))| (n.as_str(), s.recognizer.as_str()))
    }
}

fn validate(file: &str, name: &str, spec: &CommandSpec) -> Result<(), GrammarError> {
    let invalid = |message: String| GrammarError::Invalid {
        file: file.to_string(),
        command: name.to_string(),
        message,
    };
    fn check_options(
        options: &[OptionSpec],
        invalid: &dyn Fn(String) -> GrammarError,
    ) -> Result<(), GrammarError> {
        let mut seen = BTreeSet::new();
        for o in options {
            if o.short.is_empty() && o.long.is_empty() && o.single.is_empty() {
                return Err(invalid(format!("option `{}` has no spelling", o.key)));
            }
            for s in &o.short {
                if s.chars().count() != 1 {
                    return Err(invalid(format!(
                        "option `{}`: short spelling `{s}` is not one character",
                        o.key
                    )));
                }
                if !seen.insert(format!("-{s}")) {
                    return Err(invalid(format!("option `-{s}` is listed twice")));
                }
            }
            for l in &o.long {
                if l.is_empty() || l.starts_with('-') || l.contains('=') {
                    return Err(invalid(format!(
                        "option `{}`: bad long spelling `{l}`",
                        o.key
                    )));
                }
                if !seen.insert(format!("--{l}")) {
                    return Err(invalid(format!("option `--{l}` is listed twice")));
                }
            }
        }
        Ok(())
    }
    fn check_subs(
        subs: &BTreeMap<String, SubcommandSpec>,
        invalid: &dyn Fn(String) -> GrammarError,
    ) -> Result<(), GrammarError> {
        let mut names = BTreeSet::new();
        for (n, s) in subs {
            for a in std::iter::once(n).chain(s.aliases.iter()) {
                if !names.insert(a.clone()) {
                    return Err(invalid(format!("subcommand `{a}` is listed twice")));
                }
            }
            check_options(&s.options, invalid)?;
            check_subs(&s.subcommands, invalid)?;
        }
        Ok(())
    }
    check_options(&spec.options, &invalid)?;
    check_subs(&spec.subcommands, &invalid)?;
    Ok(())
}

/// One option found on a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedOption {
    pub key: String,
    /// The spelling used (`-y`, `--yes`).
    pub spelling: String,
    pub value: Option<Arg>,
    pub span: Span,
}

/// A command line parsed against its grammar.
#[derive(Clone, Debug)]
pub struct ParsedArgs {
    /// The chosen subcommands, outermost first (`nix profile install`).
    pub subcommands: Vec<String>,
    /// The action selected by the innermost subcommand or by an action
    /// option.
    pub action: Option<String>,
    pub options: Vec<ParsedOption>,
    pub operands: Vec<Arg>,
}

impl ParsedArgs {
    pub fn has(&self, key: &str) -> bool {
        self.options.iter().any(|o| o.key == key)
    }

    pub fn count(&self, key: &str) -> usize {
        self.options.iter().filter(|o| o.key == key).count()
    }

    /// The values of every occurrence of an option, in order.
    pub fn values(&self, key: &str) -> impl Iterator<Item = &Arg> {
        self.options
            .iter()
            .filter(move |o| o.key == key)
            .filter_map(|o| o.value.as_ref())
    }

    /// The value of the last occurrence of an option.
    pub fn last(&self, key: &str) -> Option<&Arg> {
        self.values(key).last()
    }
}

/// Why a command line does not fit its grammar.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArgvError {
    #[error("unknown option `{option}`")]
    UnknownOption { option: String, span: Span },
    #[error("option `{option}` needs a value")]
    MissingValue { option: String, span: Span },
    #[error("option `{option}` does not take a value")]
    UnexpectedValue { option: String, span: Span },
    #[error("unknown subcommand `{name}`")]
    UnknownSubcommand { name: String, span: Span },
    #[error("the subcommand or option `{text}` has a value that is not known")]
    UnknownValued { text: String, span: Span },
    #[error("conflicting actions `{first}` and `{second}`")]
    ConflictingActions { first: String, second: String },
}

/// Parses `argv` (whose first element is the command name) against `spec`.
pub fn parse_argv(spec: &CommandSpec, argv: &[Arg]) -> Result<ParsedArgs, ArgvError> {
    let mut parsed = ParsedArgs {
        subcommands: Vec::new(),
        action: None,
        options: Vec::new(),
        operands: Vec::new(),
    };
    let mut tables: Vec<&[OptionSpec]> = vec![&spec.options];
    let mut subs: &BTreeMap<String, SubcommandSpec> = &spec.subcommands;
    let mut only_operands = spec.style == Style::Raw;
    let mut idx = 1;
    let set_action = |parsed: &mut ParsedArgs, action: &str| -> Result<(), ArgvError> {
        match &parsed.action {
            Some(a) if a != action && parsed.subcommands.is_empty() => {
                Err(ArgvError::ConflictingActions {
                    first: a.clone(),
                    second: action.to_string(),
                })
            }
            _ => {
                parsed.action = Some(action.to_string());
                Ok(())
            }
        }
    };
    while let Some(arg) = argv.get(idx) {
        idx += 1;
        let Some(text) = arg.value.as_deref() else {
            if !subs.is_empty() {
                return Err(ArgvError::UnknownValued {
                    text: arg.text.clone(),
                    span: arg.span,
                });
            }
            parsed.operands.push(arg.clone());
            if spec.style == Style::Posix {
                only_operands = true;
            }
            continue;
        };
        if only_operands {
            parsed.operands.push(arg.clone());
            continue;
        }
        if text == "--" {
            only_operands = true;
            continue;
        }
        if let Some(long) = text.strip_prefix("--").filter(|l| !l.is_empty()) {
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let Some(opt) = find_long(&tables, name) else {
                return Err(ArgvError::UnknownOption {
                    option: format!("--{name}"),
                    span: arg.span,
                });
            };
            let spelling = format!("--{name}");
            let value = match (opt.value, attached) {
                (ValueKind::None, Some(_)) => {
                    return Err(ArgvError::UnexpectedValue {
                        option: spelling,
                        span: arg.span,
                    });
                }
                (ValueKind::None, None) | (ValueKind::Optional, None) => None,
                (_, Some(v)) => Some(arg.with_value(v)),
                (ValueKind::Required, None) => match argv.get(idx) {
                    Some(v) => {
                        idx += 1;
                        Some(v.clone())
                    }
                    None => {
                        return Err(ArgvError::MissingValue {
                            option: spelling,
                            span: arg.span,
                        });
                    }
                },
            };
            if let Some(a) = &opt.action {
                set_action(&mut parsed, a)?;
            }
            parsed.options.push(ParsedOption {
                key: opt.key.clone(),
                spelling,
                span: value.as_ref().map_or(arg.span, |v| arg.span.join(v.span)),
                value,
            });
            if opt.terminates {
                only_operands = true;
            }
            continue;
        }
        if let Some(opt) = text
            .strip_prefix('-')
            .filter(|t| t.len() > 1 && !t.starts_with('-'))
            .and_then(|t| find_single(&tables, t))
        {
            if let Some(a) = &opt.action {
                set_action(&mut parsed, a)?;
            }
            parsed.options.push(ParsedOption {
                key: opt.key.clone(),
                spelling: text.to_string(),
                value: None,
                span: arg.span,
            });
            continue;
        }
        let old_style_bundle = spec.style == Style::Tar
            && idx == 2
            && !text.starts_with('-')
            && !text.is_empty()
            && text.chars().all(|c| find_short(&tables, c).is_some());
        if (text.starts_with('-') && text.len() > 1) || old_style_bundle {
            let cluster = text.strip_prefix('-').unwrap_or(text);
            for (k, c) in cluster.char_indices() {
                let Some(opt) = find_short(&tables, c) else {
                    return Err(ArgvError::UnknownOption {
                        option: format!("-{c}"),
                        span: arg.span,
                    });
                };
                let spelling = format!("-{c}");
                let rest = &cluster[k + c.len_utf8()..];
                let mut value = None;
                let mut stop = false;
                match opt.value {
                    ValueKind::None => {}
                    ValueKind::Optional => {
                        if !rest.is_empty() && !old_style_bundle {
                            value = Some(arg.with_value(rest));
                            stop = true;
                        }
                    }
                    ValueKind::Required => {
                        if !rest.is_empty() && !old_style_bundle {
                            value = Some(arg.with_value(rest));
                            stop = true;
                        } else {
                            match argv.get(idx) {
                                Some(v) => {
                                    idx += 1;
                                    value = Some(v.clone());
                                }
                                None => {
                                    return Err(ArgvError::MissingValue {
                                        option: spelling,
                                        span: arg.span,
                                    });
                                }
                            }
                        }
                    }
                }
                if let Some(a) = &opt.action {
                    set_action(&mut parsed, a)?;
                }
                parsed.options.push(ParsedOption {
                    key: opt.key.clone(),
                    spelling,
                    span: value.as_ref().map_or(arg.span, |v| arg.span.join(v.span)),
                    value,
                });
                if opt.terminates {
                    only_operands = true;
                }
                if stop || only_operands {
                    break;
                }
            }
            continue;
        }
        if !subs.is_empty() {
            let Some((name, sub)) = subs
                .iter()
                .find(|(n, s)| *n == text || s.aliases.iter().any(|a| a == text))
            else {
                return Err(ArgvError::UnknownSubcommand {
                    name: text.to_string(),
                    span: arg.span,
                });
            };
            parsed.subcommands.push(name.clone());
            parsed.action = Some(sub.action.clone());
            tables.push(&sub.options);
            subs = &sub.subcommands;
            continue;
        }
        parsed.operands.push(arg.clone());
        if spec.style == Style::Posix {
            only_operands = true;
        }
    }
    Ok(parsed)
}

fn find_long<'s>(tables: &[&'s [OptionSpec]], name: &str) -> Option<&'s OptionSpec> {
    tables
        .iter()
        .rev()
        .flat_map(|t| t.iter())
        .find(|o| o.long.iter().any(|l| l == name))
}

fn find_single<'s>(tables: &[&'s [OptionSpec]], name: &str) -> Option<&'s OptionSpec> {
    tables
        .iter()
        .rev()
        .flat_map(|t| t.iter())
        .find(|o| o.single.iter().any(|l| l == name))
}

fn find_short<'s>(tables: &[&'s [OptionSpec]], c: char) -> Option<&'s OptionSpec> {
    let mut buf = [0u8; 4];
    let s: &str = c.encode_utf8(&mut buf);
    tables
        .iter()
        .rev()
        .flat_map(|t| t.iter())
        .find(|o| o.short.iter().any(|x| x == s))
}
