//! BuildKit's AST dump: the format of the parser test vectors' `result`
//! files and of `scratchify parse --format buildkit`.
//!
//! One `(keyword ["--flag" ...] "arg" ...)` line per instruction: the
//! keyword in lower case, the flags as Go's `%q` prints a string slice, each
//! argument as a Go-quoted string, and an ONBUILD trigger nested as
//! `(onbuild (run "..."))`.

use super::go_text::{push_quoted, to_lower, trim_space};
use super::nodes::{ArgNode, Node, ParsedNodes};

/// The dump of a whole file, newline-terminated (BuildKit's
/// `result.AST.Dump() + "\n"`).
pub fn dump(nodes: &ParsedNodes) -> String {
    let mut out = String::with_capacity(nodes.children.len() * 48);
    for (i, child) in nodes.children.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push('(');
        out.push_str(&dump_node(child));
        out.push(')');
    }
    out.push('\n');
    out
}

/// BuildKit's `Node.Dump` for one instruction.
pub fn dump_node(node: &Node) -> String {
    let mut s = to_lower(&node.value);
    if !node.flags.is_empty() {
        s.push_str(" [");
        for (i, f) in node.flags.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            push_quoted(&mut s, &f.text);
        }
        s.push(']');
    }
    for arg in &node.next {
        s.push(' ');
        if arg.children.is_empty() {
            push_quoted(&mut s, &arg.value);
        } else {
            s.push_str(&dump_arg(arg));
        }
    }
    trimmed(s)
}

fn dump_arg(arg: &ArgNode) -> String {
    let mut s = to_lower(&arg.value);
    for child in &arg.children {
        s.push('(');
        s.push_str(&dump_node(child));
        s.push_str(")\n");
    }
    trimmed(s)
}

fn trimmed(s: String) -> String {
    let t = trim_space(&s);
    if t.len() == s.len() { s } else { t.to_string() }
}
