//! The sh parser: structure of every construct of the subset, spans, typed
//! errors, and robustness (no panic, linear time) on arbitrary input.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use scratchify::shell::ast::*;
use scratchify::shell::{ParseErrorKind, parse_script};
use scratchify::source::Span;

/// A compact rendering of a script, for exact structural assertions.
fn script(s: &Script) -> String {
    s.items
        .iter()
        .map(|i| {
            let mut t = and_or(&i.and_or);
            if i.background {
                t.push_str(" &");
            }
            t
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn and_or(a: &AndOr) -> String {
    let mut t = pipeline(&a.first);
    for (c, p) in &a.rest {
        t.push_str(match c {
            Connector::And => " && ",
            Connector::Or => " || ",
        });
        t.push_str(&pipeline(p));
    }
    t
}

fn pipeline(p: &Pipeline) -> String {
    let t = p
        .commands
        .iter()
        .map(command)
        .collect::<Vec<_>>()
        .join(" | ");
    if p.negated { format!("!{t}") } else { t }
}

fn command(c: &CommandNode) -> String {
    match c {
        CommandNode::Simple(s) => {
            let mut parts: Vec<String> = s
                .assignments
                .iter()
                .map(|a| format!("{}={}", a.name, word(&a.value)))
                .collect();
            parts.extend(s.words.iter().map(word));
            parts.extend(s.redirects.iter().map(redirect));
            format!("({})", parts.join(" "))
        }
        CommandNode::Compound(c) => {
            let mut t = match &c.kind {
                CompoundKind::BraceGroup(s) => format!("{{{}}}", script(s)),
                CompoundKind::Subshell(s) => format!("(sub {})", script(s)),
                CompoundKind::If {
                    branches,
                    else_body,
                } => {
                    let mut t = String::from("(if");
                    for (c, b) in branches {
                        t.push_str(&format!(" [{}]=>[{}]", script(c), script(b)));
                    }
                    if let Some(e) = else_body {
                        t.push_str(&format!(" else [{}]", script(e)));
                    }
                    t + ")"
                }
                CompoundKind::For { var, words, body } => format!(
                    "(for {var} {} [{}])",
                    match words {
                        Some(ws) =>
                            format!("in[{}]", ws.iter().map(word).collect::<Vec<_>>().join(" ")),
                        None => "in-args".into(),
                    },
                    script(body)
                ),
                CompoundKind::While { condition, body } => {
                    format!("(while [{}] [{}])", script(condition), script(body))
                }
                CompoundKind::Until { condition, body } => {
                    format!("(until [{}] [{}])", script(condition), script(body))
                }
                CompoundKind::Case { subject, arms } => format!(
                    "(case {} {})",
                    word(subject),
                    arms.iter()
                        .map(|a| format!(
                            "[{}]=>[{}]",
                            a.patterns.iter().map(word).collect::<Vec<_>>().join("|"),
                            script(&a.body)
                        ))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            };
            for r in &c.redirects {
                t.push(' ');
                t.push_str(&redirect(r));
            }
            t
        }
        CommandNode::FunctionDef { name, body, .. } => {
            format!(
                "(fn {name} {})",
                command(&CommandNode::Compound((**body).clone()))
            )
        }
    }
}

fn redirect(r: &Redirect) -> String {
    let fd = r.fd.map(|f| f.to_string()).unwrap_or_default();
    let op = match r.op {
        RedirectOp::Read => "<",
        RedirectOp::Write => ">",
        RedirectOp::Append => ">>",
        RedirectOp::Clobber => ">|",
        RedirectOp::ReadWrite => "<>",
        RedirectOp::DupIn => "<&",
        RedirectOp::DupOut => ">&",
        RedirectOp::WriteAll => "&>",
        RedirectOp::AppendAll => "&>>",
        RedirectOp::HereDoc { strip_tabs: false } => "<<",
        RedirectOp::HereDoc { strip_tabs: true } => "<<-",
        RedirectOp::HereString => "<<<",
    };
    match &r.target {
        RedirectTarget::Word(w) => format!("{fd}{op}{}", word(w)),
        RedirectTarget::HereDoc(h) => format!(
            "{fd}{op}{}{}[{}]",
            h.delimiter,
            if h.quoted { "(q)" } else { "" },
            word(&h.body)
        ),
    }
}

fn word(w: &Word) -> String {
    w.parts.iter().map(part).collect::<Vec<_>>().join("+")
}

fn part(p: &WordPart) -> String {
    match p {
        WordPart::Literal { text, .. } => text.clone(),
        WordPart::Escaped { ch, .. } => format!("\\{ch}"),
        WordPart::SingleQuoted { text, .. } => format!("'{text}'"),
        WordPart::DoubleQuoted { parts, .. } => {
            format!(
                "\"{}\"",
                parts.iter().map(part).collect::<Vec<_>>().join("+")
            )
        }
        WordPart::Param(pe) => {
            let op = match &pe.op {
                None => String::new(),
                Some(ParamOp::Length) => "#len".into(),
                Some(ParamOp::Default { colon, word: w }) => {
                    format!("{}-{}", if *colon { ":" } else { "" }, word(w))
                }
                Some(ParamOp::Assign { colon, word: w }) => {
                    format!("{}={}", if *colon { ":" } else { "" }, word(w))
                }
                Some(ParamOp::Error { colon, word: w }) => {
                    format!("{}?{}", if *colon { ":" } else { "" }, word(w))
                }
                Some(ParamOp::Alternative { colon, word: w }) => {
                    format!("{}+{}", if *colon { ":" } else { "" }, word(w))
                }
                Some(ParamOp::RemoveSuffix { longest, pattern }) => {
                    format!("{}{}", if *longest { "%%" } else { "%" }, word(pattern))
                }
                Some(ParamOp::RemovePrefix { longest, pattern }) => {
                    format!("{}{}", if *longest { "##" } else { "#" }, word(pattern))
                }
                Some(ParamOp::Unsupported { text }) => format!("?{text}"),
            };
            format!("${{{}{op}}}", pe.name)
        }
        WordPart::CommandSubst {
            script: s,
            backtick,
            ..
        } => {
            if *backtick {
                format!("`{}`", script(s))
            } else {
                format!("$({})", script(s))
            }
        }
        WordPart::Arithmetic { text, .. } => format!("$(({text}))"),
        WordPart::Unsupported { text, .. } => format!("?{text}"),
    }
}

fn parsed(text: &str) -> String {
    match parse_script(text) {
        Ok(s) => script(&s),
        Err(e) => panic!("{text:?} does not parse: {e} at {:?}", e.span),
    }
}

/// Checks a table of (input, expected rendering), collecting every failure.
fn check(cases: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (input, want) in cases {
        match parse_script(input) {
            Ok(s) => {
                let got = script(&s);
                if got != *want {
                    failures.push(format!("{input:?}\n   got: {got}\n  want: {want}"));
                }
            }
            Err(e) => failures.push(format!("{input:?}: error {e} at {:?}", e.span)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn lists_and_operators() {
    check(&[
        ("a", "(a)"),
        ("a b c", "(a b c)"),
        ("a && b || c", "(a) && (b) || (c)"),
        ("a; b\nc", "(a); (b); (c)"),
        ("a &\nb", "(a) &; (b)"),
        ("a & b", "(a) &; (b)"),
        ("a | b | c", "(a) | (b) | (c)"),
        ("a |& b", "(a) | (b)"),
        ("! a | b", "!(a) | (b)"),
        ("a &&\n  b", "(a) && (b)"),
        ("a ||\n\n b", "(a) || (b)"),
        ("a |\n b", "(a) | (b)"),
        ("\n\n a ;\n\n", "(a)"),
        ("a;b", "(a); (b)"),
        ("a&&b", "(a) && (b)"),
        ("", ""),
        ("# only a comment", ""),
        ("a # comment && b\nc", "(a); (c)"),
        ("a#b", "(a#b)"),
    ]);
}

#[test]
fn compound_commands() {
    check(&[
        ("(a; b)", "(sub (a); (b))"),
        ("( a && b ) || c", "(sub (a) && (b)) || (c)"),
        ("{ a; b; }", "{(a); (b)}"),
        ("{ a\n b\n}", "{(a); (b)}"),
        (
            "{ [ -z \"$x\" ] || a $x; }",
            "{([ -z \"${x}\" ]) || (a ${x})}",
        ),
        ("if a; then b; fi", "(if [(a)]=>[(b)])"),
        (
            "if a; then b; elif c; then d; else e; fi",
            "(if [(a)]=>[(b)] [(c)]=>[(d)] else [(e)])",
        ),
        ("if a\nthen\n b\nfi", "(if [(a)]=>[(b)])"),
        ("if ! a; then :; fi", "(if [!(a)]=>[(:)])"),
        (
            "for x in a b c; do echo $x; done",
            "(for x in[a b c] [(echo ${x})])",
        ),
        (
            "for x in a b\ndo\n echo $x\ndone",
            "(for x in[a b] [(echo ${x})])",
        ),
        ("for x; do :; done", "(for x in-args [(:)])"),
        ("for x do :; done", "(for x in-args [(:)])"),
        ("for x in; do :; done", "(for x in[] [(:)])"),
        ("while a; do b; done", "(while [(a)] [(b)])"),
        ("until a; do b; done", "(until [(a)] [(b)])"),
        (
            "case $x in a|b) c;; *) d ;; esac",
            "(case ${x} [a|b]=>[(c)] [*]=>[(d)])",
        ),
        (
            "case x in\n (a) b\n ;;\n c) d\nesac",
            "(case x [a]=>[(b)] [c]=>[(d)])",
        ),
        ("case x in a) ;; esac", "(case x [a]=>[])"),
        ("case x in esac", "(case x )"),
        (
            "case x in a) b;& c) d;; esac",
            "(case x [a]=>[(b)] [c]=>[(d)])",
        ),
        ("f() { a; }", "(fn f {(a)})"),
        ("f ()\n{ a; }", "(fn f {(a)})"),
        ("function f { a; }", "(fn f {(a)})"),
        ("{ a; } > /dev/null 2>&1", "{(a)} >/dev/null 2>&1"),
        (
            "while read l; do :; done < f",
            "(while [(read l)] [(:)]) <f",
        ),
        ("if a; then b; fi && c", "(if [(a)]=>[(b)]) && (c)"),
        (
            "a && case x in y) z;; esac && b",
            "(a) && (case x [y]=>[(z)]) && (b)",
        ),
        ("echo { } done fi", "(echo { } done fi)"),
    ]);
}

#[test]
fn words_and_quoting() {
    check(&[
        ("echo 'a b' \"c d\" e\\ f", "(echo 'a b' \"c d\" e+\\ +f)"),
        ("echo \"a\\\"b\\$c\\\\d\\e\"", "(echo \"a\"b$c\\d\\e\")"),
        ("echo 'it''s'", "(echo 'it'+'s')"),
        ("echo \"\"", "(echo \"\")"),
        ("echo a\"b\"'c'", "(echo a+\"b\"+'c')"),
        (
            "echo $a ${b} $1 $@ $# $? $$",
            "(echo ${a} ${b} ${1} ${@} ${#} ${?} ${$})",
        ),
        (
            "echo ${a:-x y} ${b-d} ${c:=e} ${d?f} ${e:+g}",
            "(echo ${a:-x y} ${b-d} ${c:=e} ${d?f} ${e:+g})",
        ),
        (
            "echo ${#a} ${a%.*} ${a%%[a-z]*} ${a#*/} ${a##*/}",
            "(echo ${a#len} ${a%.*} ${a%%[a-z]*} ${a#*/} ${a##*/})",
        ),
        (
            "echo ${a/b/c} ${a:1:2} ${a^^}",
            "(echo ${a?/b/c} ${a?:1:2} ${a?^^})",
        ),
        ("echo ${a:-\"$b\"}", "(echo ${a:-\"${b}\"})"),
        (
            "echo $(a b) \"$(c | d)\"",
            "(echo $((a b)) \"$((c) | (d))\")",
        ),
        ("echo `a \\`b\\``", "(echo `(a `(b)`)`)"),
        (
            "echo $((1 + $x)) $(( (2) ))",
            "(echo $((1 + $x)) $(( (2) )))",
        ),
        ("echo $( (a) )", "(echo $((sub (a))))"),
        ("echo $ a$ $/", "(echo $ a$ $/)"),
        ("echo $'a\\tb' $\"c\"", "(echo ?$'a\\tb' ?$\"c\")"),
        ("echo \"$'x'\"", "(echo \"$'x'\")"),
        ("echo ~ ~/x a=~", "(echo ~ ~/x a=~)"),
        ("echo \"a\nb\"", "(echo \"a\nb\")"),
        ("echo *.txt [ab] ?", "(echo *.txt [ab] ?)"),
        ("echo a{b,c}d", "(echo a{b,c}d)"),
        ("echo x=y", "(echo x=y)"),
        ("echo \"${x}\"", "(echo \"${x}\")"),
        ("echo é\"ü\"", "(echo é+\"ü\")"),
    ]);
}

#[test]
fn assignments() {
    check(&[
        ("A=1", "(A=1)"),
        ("A=1 B=\"x y\" cmd arg", "(A=1 B=\"x y\" cmd arg)"),
        ("A=$(cmd) B=", "(A=$((cmd)) B=)"),
        ("cmd A=1", "(cmd A=1)"),
        (
            "savedAptMark=\"$(apt-mark showmanual)\"",
            "(savedAptMark=\"$((apt-mark showmanual))\")",
        ),
        ("1A=x", "(1A=x)"),
        ("A+=x", "(A+=x)"),
        ("\\A=x", "(\\A+=x)"),
        ("export A=1 B", "(export A=1 B)"),
    ]);
    // The assignment's value word has its own span.
    let s = parse_script("A=\"x y\" cmd").unwrap();
    let CommandNode::Simple(c) = &s.items[0].and_or.first.commands[0] else {
        panic!()
    };
    assert_eq!(c.assignments[0].span, Span::new(0, 7));
    assert_eq!(c.assignments[0].value.span, Span::new(2, 7));
}

#[test]
fn redirections() {
    check(&[
        ("a > f", "(a >f)"),
        ("a >f 2>&1", "(a >f 2>&1)"),
        ("a >> f < g", "(a >>f <g)"),
        ("a >| f <> g", "(a >|f <>g)"),
        ("a 2> /dev/null 3>&- 0<&3", "(a 2>/dev/null 3>&- 0<&3)"),
        ("a &> f &>> g", "(a &>f &>>g)"),
        ("a <<< \"$x\"", "(a <<<\"${x}\")"),
        ("> f", "(>f)"),
        ("a>f", "(a >f)"),
        ("a 2>f", "(a 2>f)"),
        ("a 12>f", "(a 12>f)"),
        ("a x2>f", "(a x2 >f)"),
        ("a > \"$f\"", "(a >\"${f}\")"),
    ]);
}

#[test]
fn heredocs() {
    check(&[
        (
            "cat <<EOF\nhello $x\nEOF\n",
            "(cat <<EOF[\"hello +${x}+\n\"])",
        ),
        ("cat <<'EOF'\nhello $x\nEOF", "(cat <<EOF(q)['hello $x\n'])"),
        (
            "cat <<\"EOF\" > f\n$x\nEOF\necho",
            "(cat <<EOF(q)['$x\n'] >f); (echo)",
        ),
        ("cat <<\\EOF\n$x\nEOF", "(cat <<EOF(q)['$x\n'])"),
        (
            "cat <<-EOF\n\t\tindented $x\n\tEOF\n",
            "(cat <<-EOF[\"indented +${x}+\n\"])",
        ),
        ("cat <<-'E'\n\ta\n\tE\n", "(cat <<-E(q)['a\n'])"),
        ("cat <<EOF\nEOF", "(cat <<EOF[\"\"])"),
        (
            "cat <<A <<B\na\nA\nb\nB\n",
            "(cat <<A[\"a\n\"] <<B[\"b\n\"])",
        ),
        (
            "cat <<A | sh\necho hi\nA\nnext",
            "(cat <<A[\"echo hi\n\"]) | (sh); (next)",
        ),
        ("a <<EOF && b\nx\nEOF\nc", "(a <<EOF[\"x\n\"]) && (b); (c)"),
        (
            "cat <<EOF\n\\$x \\` \\\\ \\y\nEOF",
            "(cat <<EOF[\"$x ` \\ \\y\n\"])",
        ),
        ("cat <<EOF\na\\\nb\nEOF", "(cat <<EOF[\"ab\n\"])"),
        (
            "cat <<EOF\n$(echo hi)\nEOF",
            "(cat <<EOF[\"$((echo hi))+\n\"])",
        ),
        ("cat <<EOF\r\nx\r\nEOF\r\n", "(cat <<EOF[\"x\r\n\"])"),
        (
            "x=$(cat <<EOF\ninner\nEOF\n)",
            "(x=$((cat <<EOF[\"inner\n\"])))",
        ),
    ]);
}

#[test]
fn line_continuations() {
    check(&[
        (
            "apt-get install \\\n  -y \\\n  curl",
            "(apt-get install -y curl)",
        ),
        ("ec\\\nho hi", "(echo hi)"),
        ("echo \"a\\\nb\"", "(echo \"ab\")"),
        ("echo 'a\\\nb'", "(echo 'a\\\nb')"),
        ("a \\\n&& b", "(a) && (b)"),
        ("a && \\\n b", "(a) && (b)"),
        ("echo a\\\r\nb", "(echo ab)"),
        (
            "set -eux; \\\n\t\\\n\tapt-get update",
            "(set -eux); (apt-get update)",
        ),
    ]);
}

#[test]
fn double_brackets() {
    check(&[
        (
            "[[ -n $a && $b == x* ]] && c",
            "([[ -n ${a} && ${b} == x* ]]) && (c)",
        ),
        ("[[ ( a < b ) ]]", "([[ ( a < b ) ]])"),
        ("[ a = b ] && c", "([ a = b ]) && (c)"),
    ]);
}

/// Every word's span covers exactly its source text, for the words the
/// parser reads straight from the input.
#[test]
fn word_spans_cover_their_text() {
    let text = "set -eux; A=\"$(x y)\" apt-get install -y --no-install-recommends \\\n  ca-certificates 'quoted word' \"dq $v\" > /tmp/log 2>&1 && echo ${X:-d} | tee f";
    let s = parse_script(text).unwrap();
    let mut spans = Vec::new();
    fn collect(s: &Script, out: &mut Vec<Span>) {
        for i in &s.items {
            for p in std::iter::once(&i.and_or.first).chain(i.and_or.rest.iter().map(|(_, p)| p)) {
                for c in &p.commands {
                    if let CommandNode::Simple(sc) = c {
                        out.extend(sc.words.iter().map(|w| w.span));
                        out.extend(sc.assignments.iter().map(|a| a.span));
                        out.extend(sc.redirects.iter().map(|r| r.span));
                    }
                }
            }
        }
    }
    collect(&s, &mut spans);
    let texts: Vec<&str> = spans.iter().map(|sp| &text[sp.start..sp.end]).collect();
    assert_eq!(
        texts,
        vec![
            "set",
            "-eux",
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            "ca-certificates",
            "'quoted word'",
            "\"dq $v\"",
            "A=\"$(x y)\"",
            "> /tmp/log",
            "2>&1",
            "echo",
            "${X:-d}",
            "tee",
            "f",
        ]
    );
    // Spans nest: item ⊇ and-or ⊇ pipeline ⊇ command ⊇ word.
    let item = &s.items[1];
    assert_eq!(&text[item.span.start..item.span.end], &text[10..]);
}

#[test]
fn backtick_spans_map_back_into_the_source() {
    let text = "echo `printf '%s' \\`date\\`` tail";
    let s = parse_script(text).unwrap();
    let CommandNode::Simple(c) = &s.items[0].and_or.first.commands[0] else {
        panic!()
    };
    let WordPart::CommandSubst { script: inner, .. } = &c.words[1].parts[0] else {
        panic!()
    };
    let CommandNode::Simple(ic) = &inner.items[0].and_or.first.commands[0] else {
        panic!()
    };
    let w: Vec<&str> = ic
        .words
        .iter()
        .map(|w| &text[w.span.start..w.span.end])
        .collect();
    assert_eq!(w, vec!["printf", "'%s'", "\\`date\\`"]);
    assert_eq!(&text[c.words[2].span.start..c.words[2].span.end], "tail");
}

#[test]
fn heredoc_body_spans() {
    let text = "cat > /etc/x <<EOF\nport=$PORT\nEOF\n";
    let s = parse_script(text).unwrap();
    let CommandNode::Simple(c) = &s.items[0].and_or.first.commands[0] else {
        panic!()
    };
    let h = c
        .redirects
        .iter()
        .find_map(|r| match &r.target {
            RedirectTarget::HereDoc(h) => Some(h),
            _ => None,
        })
        .unwrap();
    assert_eq!(&text[h.body.span.start..h.body.span.end], "port=$PORT\n");
    let WordPart::DoubleQuoted { parts, .. } = &h.body.parts[0] else {
        panic!()
    };
    let WordPart::Param(p) = &parts[1] else {
        panic!()
    };
    assert_eq!(&text[p.span.start..p.span.end], "$PORT");
}

#[test]
fn errors_are_typed_with_spans() {
    use ParseErrorKind as K;
    type KindCheck = fn(&ParseErrorKind) -> bool;
    let cases: Vec<(&str, KindCheck, (usize, usize))> = vec![
        ("echo 'abc", |k| *k == K::UnterminatedSingleQuote, (5, 9)),
        ("echo \"abc", |k| *k == K::UnterminatedDoubleQuote, (5, 9)),
        ("echo `abc", |k| *k == K::UnterminatedBacktick, (5, 9)),
        (
            "echo $(abc",
            |k| *k == K::UnterminatedCommandSubstitution,
            (5, 10),
        ),
        (
            "echo ${abc",
            |k| *k == K::UnterminatedParameterExpansion,
            (5, 10),
        ),
        ("echo ${}", |k| *k == K::BadSubstitution, (5, 7)),
        ("echo ${a!b}", |k| *k == K::BadSubstitution, (5, 8)),
        (
            "cat <<EOF\nbody\n",
            |k| matches!(k, K::UnterminatedHereDoc { delimiter } if delimiter == "EOF"),
            (4, 9),
        ),
        (
            "cat <<EOF",
            |k| matches!(k, K::UnterminatedHereDoc { .. }),
            (4, 9),
        ),
        ("cat <<", |k| *k == K::MissingHereDocDelimiter, (4, 6)),
        (
            "a >",
            |k| matches!(k, K::MissingRedirectTarget { op } if op == ">"),
            (2, 3),
        ),
        (
            "a > | b",
            |k| matches!(k, K::MissingRedirectTarget { .. }),
            (2, 3),
        ),
        ("a &&", |k| matches!(k, K::ExpectedCommand { .. }), (4, 4)),
        ("a | ", |k| matches!(k, K::ExpectedCommand { .. }), (4, 4)),
        ("| a", |k| matches!(k, K::ExpectedCommand { .. }), (0, 1)),
        ("; a", |k| matches!(k, K::ExpectedCommand { .. }), (0, 1)),
        (
            "a ;; b",
            |k| matches!(k, K::Unexpected { found } if found == "`;;`"),
            (2, 4),
        ),
        ("a )", |k| matches!(k, K::Unexpected { .. }), (2, 3)),
        (
            "fi",
            |k| matches!(k, K::Unexpected { found } if found == "`fi`"),
            (0, 2),
        ),
        ("then a", |k| matches!(k, K::Unexpected { .. }), (0, 4)),
        (
            "if a; b; fi",
            |k| matches!(k, K::Expected { expected, .. } if expected == "`then`"),
            (9, 11),
        ),
        (
            "if a; then b",
            |k| matches!(k, K::Expected { expected, .. } if expected == "`fi`"),
            (12, 12),
        ),
        (
            "for x in a b; echo; done",
            |k| matches!(k, K::Expected { expected, .. } if expected == "`do`"),
            (14, 18),
        ),
        (
            "for 1 in a; do :; done",
            |k| matches!(k, K::Expected { .. }),
            (4, 5),
        ),
        (
            "for ((i=0;i<3;i++)); do :; done",
            |k| matches!(k, K::Unsupported { .. }),
            (4, 5),
        ),
        (
            "case x in a) b esac",
            |k| matches!(k, K::Expected { .. }),
            (19, 19),
        ),
        (
            "case x a) b;; esac",
            |k| matches!(k, K::Expected { expected, .. } if expected == "`in`"),
            (7, 8),
        ),
        (
            "case x in a b) c;; esac",
            |k| matches!(k, K::Expected { .. }),
            (12, 13),
        ),
        (
            "{ a }",
            |k| matches!(k, K::Expected { expected, .. } if expected == "`}`"),
            (5, 5),
        ),
        ("( a", |k| matches!(k, K::Expected { .. }), (3, 3)),
        ("echo (", |k| matches!(k, K::Expected { .. }), (6, 6)),
        ("f ( x", |k| matches!(k, K::Expected { .. }), (4, 5)),
        ("[[ a", |k| *k == K::UnterminatedDoubleBracket, (0, 2)),
        ("echo $'abc", |k| *k == K::UnterminatedAnsiCQuote, (5, 10)),
        (
            "for x in a; do done",
            |k| matches!(k, K::Unexpected { found } if found == "`done`"),
            (15, 19),
        ),
        (
            "if true; then fi",
            |k| matches!(k, K::Unexpected { found } if found == "`fi`"),
            (14, 16),
        ),
        ("{ }", |k| matches!(k, K::Unexpected { .. }), (2, 3)),
        ("( )", |k| matches!(k, K::Unexpected { .. }), (2, 3)),
        ("f() { }", |k| matches!(k, K::Unexpected { .. }), (6, 7)),
        (
            "if ; then :; fi",
            |k| matches!(k, K::ExpectedCommand { .. }),
            (3, 4),
        ),
    ];
    let mut failures = Vec::new();
    for (input, kind, (start, end)) in &cases {
        match parse_script(input) {
            Ok(s) => failures.push(format!("{input:?}: parsed as {}", script(&s))),
            Err(e) => {
                if !kind(&e.kind) || e.span != Span::new(*start, *end) {
                    failures.push(format!(
                        "{input:?}: got {:?} at {:?}, want span {start}..{end}",
                        e.kind, e.span
                    ));
                }
                // Messages and codes are there for every kind.
                if e.to_string().is_empty() || !e.kind.code().starts_with("shell::") {
                    failures.push(format!("{input:?}: empty message or bad code"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn errors_inside_backticks_point_into_the_source() {
    let text = "echo `a 'b`";
    let e = parse_script(text).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::UnterminatedSingleQuote);
    assert_eq!(&text[e.span.start..e.span.end], "'b");
}

#[test]
fn nesting_is_bounded() {
    let limit = scratchify::shell::parse::MAX_DEPTH;
    let ok = format!("{}a{}", "(".repeat(limit - 1), ")".repeat(limit - 1));
    assert!(parse_script(&ok).is_ok());
    for deep in [
        format!("{}a{}", "(".repeat(limit + 1), ")".repeat(limit + 1)),
        format!("{}{}", "$(".repeat(10_000), ")".repeat(10_000)),
        format!("{}{}", "${a:-".repeat(10_000), "}".repeat(10_000)),
        format!("{}a{}", "{ ".repeat(10_000), "; }".repeat(10_000)),
        "(".repeat(100_000),
    ] {
        match parse_script(&deep) {
            Err(e) => assert!(
                matches!(e.kind, ParseErrorKind::NestingTooDeep { .. }),
                "{:?} for {}...",
                e.kind,
                &deep[..20]
            ),
            Ok(_) => panic!("accepted {}...", &deep[..20]),
        }
    }
}

/// Large inputs parse in time linear in their size.
#[test]
fn large_inputs_are_linear() {
    let unit = "apt-get install -y \"$PKG\" 'x y' ${A:-b} $(c d) && ";
    let mut times = Vec::new();
    for n in [2_000usize, 8_000] {
        let text = format!("{}true", unit.repeat(n));
        let t = Instant::now();
        let s = parse_script(&text).unwrap();
        times.push(t.elapsed());
        assert_eq!(s.items[0].and_or.rest.len(), n);
    }
    // 4x the input may take at most ~12x the time (generous for noise).
    assert!(
        times[1] < times[0] * 12 + Duration::from_millis(50),
        "{times:?}"
    );
    // Pathological shapes that would be quadratic with naive rescanning.
    for text in [
        "$((".repeat(20_000),
        "\"$(".repeat(30),
        "a".repeat(200_000),
        "'".repeat(100_001),
        "\\\n".repeat(100_000),
        "x=$y ".repeat(50_000),
        "<<E ".repeat(10_000) + "\n",
    ] {
        let t = Instant::now();
        let _ = parse_script(&text);
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "{:?} for {}...",
            t.elapsed(),
            &text[..10]
        );
    }
}

fn shellish() -> impl Strategy<Value = String> {
    let atoms = prop::collection::vec(
        prop_oneof![
            Just(" ".to_string()),
            Just("\n".to_string()),
            Just("\\\n".to_string()),
            Just(";".to_string()),
            Just(";;".to_string()),
            Just("&&".to_string()),
            Just("||".to_string()),
            Just("|".to_string()),
            Just("&".to_string()),
            Just("(".to_string()),
            Just(")".to_string()),
            Just("{ ".to_string()),
            Just(" }".to_string()),
            Just("'".to_string()),
            Just("\"".to_string()),
            Just("`".to_string()),
            Just("\\".to_string()),
            Just("$".to_string()),
            Just("${".to_string()),
            Just("}".to_string()),
            Just("$(".to_string()),
            Just("$((".to_string()),
            Just("<<EOF".to_string()),
            Just("<<-'E'".to_string()),
            Just("EOF".to_string()),
            Just(">".to_string()),
            Just("2>&1".to_string()),
            Just("#".to_string()),
            Just("if ".to_string()),
            Just("then ".to_string()),
            Just("fi".to_string()),
            Just("for x in ".to_string()),
            Just("do ".to_string()),
            Just("done".to_string()),
            Just("case ".to_string()),
            Just(" in ".to_string()),
            Just("esac".to_string()),
            Just("[[ ".to_string()),
            Just(" ]]".to_string()),
            Just("f() ".to_string()),
            "[a-z=*?~\\[\\]:%#!-]{1,4}".prop_map(|s| s),
            any::<char>().prop_map(|c| c.to_string()),
        ],
        0..60,
    );
    atoms.prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// No input panics, errors carry in-range spans on char boundaries, and
    /// every parse finishes quickly.
    #[test]
    fn arbitrary_input_never_panics(text in shellish()) {
        let t = Instant::now();
        let r = parse_script(&text);
        prop_assert!(t.elapsed() < Duration::from_millis(500), "took {:?}", t.elapsed());
        if let Err(e) = r {
            prop_assert!(e.span.start <= e.span.end && e.span.end <= text.len(), "{:?}", e.span);
            prop_assert!(text.is_char_boundary(e.span.start) && text.is_char_boundary(e.span.end));
        }
    }

    /// Arbitrary bytes (as UTF-8 strings) are handled too.
    #[test]
    fn arbitrary_strings_never_panic(text in ".{0,200}") {
        let _ = parse_script(&text);
    }

    /// A script that parses has spans inside the text at char boundaries,
    /// and the analysis of it never panics either.
    #[test]
    fn analysis_of_arbitrary_input_never_panics(text in shellish()) {
        if let Ok(s) = parse_script(&text) {
            prop_assert!(s.span.end <= text.len());
        }
        let t = Instant::now();
        let a = scratchify::shell::analyze_script(&text, &|n: &str| (n == "X").then(|| "a b*".to_string()));
        prop_assert!(t.elapsed() < Duration::from_secs(2), "took {:?}", t.elapsed());
        for c in &a.commands {
            prop_assert!(c.span.end <= text.len());
            for e in &c.effects {
                let sp = e.span();
                prop_assert!(sp.end <= text.len() && text.is_char_boundary(sp.start) && text.is_char_boundary(sp.end));
            }
        }
        for d in &a.diagnostics {
            prop_assert!(d.span.end <= text.len());
        }
    }
}

#[test]
fn reserved_words_only_in_command_position() {
    assert_eq!(parsed("echo if then fi"), "(echo if then fi)");
    assert_eq!(parsed("if=1"), "(if=1)");
    assert_eq!(parsed("x=1 if"), "(x=1 if)");
    assert_eq!(parsed("iffy"), "(iffy)");
    assert_eq!(parsed("done=x echo"), "(done=x echo)");
}
