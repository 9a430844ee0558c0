//! Shell-form commands without a shell.
//!
//! A shell-form `CMD nginx -g "daemon off;"` runs `/bin/sh -c '...'`; a
//! scratch image usually has no shell. When the text is a *simple command*
//! the shell would only have split into words, it becomes exec form:
//! `["nginx", "-g", "daemon off;"]`.
//!
//! Simple means: one command (no `;`, `&&`, `||`, `|`, `&`, compound
//! commands or functions), no redirections, no `NAME=value` prefixes, and
//! every word made only of unquoted literal text without pattern
//! characters (`*`, `?`, `[`) or a leading `~`, single-quoted text,
//! backslash escapes, and double-quoted literal text: no parameter,
//! command or arithmetic expansion. A leading `exec` is dropped (the
//! process replaces the shell either way). The first word must not be a
//! shell builtin (`cd`, `export`, `.`, ...), which has no program to run.

use crate::shell::ast::{CommandNode, WordPart};

/// Builtins that exist only inside a shell (POSIX special and regular
/// builtins, plus `source` and `local`).
const BUILTINS: &[&str] = &[
    ".", ":", "alias", "bg", "break", "cd", "command", "continue", "eval", "exit", "export", "fc",
    "fg", "getopts", "hash", "jobs", "local", "read", "readonly", "return", "set", "shift",
    "source", "times", "trap", "type", "ulimit", "umask", "unalias", "unset", "wait",
];

/// Why a shell-form command needs a shell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeedsShell(pub String);

/// The argv of a shell-form command that is a simple command.
pub fn simple_argv(text: &str) -> Result<Vec<String>, NeedsShell> {
    let need = |why: &str| Err(NeedsShell(why.to_string()));
    let script = match crate::shell::parse_script(text) {
        Ok(s) => s,
        Err(e) => return Err(NeedsShell(format!("the shell text does not parse: {e}"))),
    };
    let [item] = script.items.as_slice() else {
        return need(if script.items.is_empty() {
            "it is empty"
        } else {
            "it is a list of commands"
        });
    };
    if item.background {
        return need("it runs in the background (`&`)");
    }
    if !item.and_or.rest.is_empty() {
        return need("it uses `&&` or `||`");
    }
    let pipeline = &item.and_or.first;
    if pipeline.negated {
        return need("it negates a status (`!`)");
    }
    let [node] = pipeline.commands.as_slice() else {
        return need("it is a pipeline");
    };
    let CommandNode::Simple(cmd) = node else {
        return need("it is a compound command or function");
    };
    if !cmd.assignments.is_empty() {
        return need("it sets variables (`NAME=value cmd`)");
    }
    if !cmd.redirects.is_empty() {
        return need("it redirects input or output");
    }
    let mut argv = Vec::new();
    for w in &cmd.words {
        let mut s = String::new();
        for (i, part) in w.parts.iter().enumerate() {
            match part {
                WordPart::Literal { text, .. } => {
                    if text.contains(['*', '?', '[']) {
                        return need("a word has a pattern (`*`, `?`, `[`)");
                    }
                    if i == 0 && text.starts_with('~') {
                        return need("a word starts with `~`");
                    }
                    s.push_str(text);
                }
                WordPart::Escaped { ch, .. } => s.push(*ch),
                WordPart::SingleQuoted { text, .. } => s.push_str(text),
                WordPart::DoubleQuoted { parts, .. } => {
                    for p in parts {
                        match p {
                            WordPart::Literal { text, .. } => s.push_str(text),
                            WordPart::Escaped { ch, .. } => s.push(*ch),
                            _ => return need("a word has an expansion (`$`, `` ` ``)"),
                        }
                    }
                }
                _ => return need("a word has an expansion (`$`, `` ` ``)"),
            }
        }
        argv.push(s);
    }
    if argv.first().map(String::as_str) == Some("exec") {
        argv.remove(0);
    }
    match argv.first() {
        None => need("it runs no program"),
        Some(first) if BUILTINS.contains(&first.as_str()) => Err(NeedsShell(format!(
            "`{first}` is a shell builtin, not a program"
        ))),
        Some(_) => Ok(argv),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_commands_split_like_sh() {
        let cases: &[(&str, &[&str])] = &[
            ("nginx -g 'daemon off;'", &["nginx", "-g", "daemon off;"]),
            ("nginx -g \"daemon off;\"", &["nginx", "-g", "daemon off;"]),
            (
                "exec python3 -m http.server",
                &["python3", "-m", "http.server"],
            ),
            ("a\\ b  c", &["a b", "c"]),
            ("redis-server --save ''", &["redis-server", "--save", ""]),
        ];
        let mut bad = Vec::new();
        for (text, want) in cases {
            match simple_argv(text) {
                Ok(argv) if argv == *want => {}
                other => bad.push(format!("{text:?}: {other:?}")),
            }
        }
        assert!(bad.is_empty(), "{bad:#?}");
    }

    #[test]
    fn shell_syntax_needs_a_shell() {
        let cases = [
            "a && b",
            "a; b",
            "a | b",
            "a > log",
            "FOO=1 a",
            "echo $HOME",
            "echo $(date)",
            "ls *.txt",
            "cd /x",
            "exec",
            "~/bin/app",
            "a &",
            "if true; then a; fi",
            "",
        ];
        let accepted: Vec<_> = cases.iter().filter(|c| simple_argv(c).is_ok()).collect();
        assert!(accepted.is_empty(), "treated as simple: {accepted:?}");
    }
}
