//! Text producers: echo, printf, cat, tee. Their output is computed when it
//! is fully known, so a file written with `echo ... > f`, `printf`, or a
//! here-document has known content.

use super::{Invocation, opaque};
use crate::shell::analyze::{Recognized, Stream};
use crate::shell::effect::Effect;

fn printed(span: crate::source::Span, stdout: Stream) -> Recognized {
    Recognized {
        effects: vec![Effect::NoOp {
            reason: "writes text to standard output".into(),
            span,
        }],
        stdout,
    }
}

/// `echo`. /bin/sh differs between images (dash interprets backslash
/// escapes and accepts only `-n`; bash and busybox do not interpret them
/// without `-e`), so output that would differ is unknown.
pub(crate) fn echo(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let mut args = inv.parsed.operands.as_slice();
    let mut newline = true;
    if let Some(first) = args.first().and_then(|a| a.known()) {
        if first == "-n" {
            newline = false;
            args = &args[1..];
        } else if first.len() > 1
            && first.starts_with('-')
            && first[1..].chars().all(|c| matches!(c, 'n' | 'e' | 'E'))
        {
            return printed(
                span,
                Stream::Unknown {
                    from: format!("`echo {first}`, which shells read differently"),
                },
            );
        }
    }
    let mut out = Vec::new();
    for a in args {
        match a.known() {
            Some(v) if !v.contains('\\') && !a.glob => out.push(v),
            Some(_) if a.glob => {
                return printed(
                    span,
                    Stream::Unknown {
                        from: "`echo` of a file name pattern".into(),
                    },
                );
            }
            Some(_) => {
                return printed(
                    span,
                    Stream::Unknown {
                        from: "`echo` of backslashes, which shells read differently".into(),
                    },
                );
            }
            None => {
                return printed(
                    span,
                    Stream::Unknown {
                        from: format!("`echo {}`", a.text),
                    },
                );
            }
        }
    }
    let mut s = out.join(" ");
    if newline {
        s.push('\n');
    }
    printed(span, Stream::Known(s))
}

/// Backslash escapes of printf formats and `%b` arguments. `None` for an
/// escape this does not interpret. The bool is true when `\c` stopped the
/// output.
fn unescape(s: &str, in_format: bool) -> Option<(String, bool)> {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('a') => out.push('\u{7}'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some('"') if in_format => out.push('"'),
            Some('\'') if in_format => out.push('\''),
            Some('c') if !in_format => return Some((out, true)),
            Some(d @ '0'..='7') => {
                // \NNN in formats, \0NNN in %b arguments.
                let mut n = if in_format { d.to_digit(8)? } else { 0 };
                let max = if in_format { 2 } else { 3 };
                if !in_format && d != '0' {
                    n = d.to_digit(8)?;
                }
                for _ in 0..max {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(x) => {
                            n = n * 8 + x;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(n)?);
            }
            _ => return None,
        }
    }
    Some((out, false))
}

/// `printf FORMAT [ARG...]` for `%s`, `%b`, `%d`/`%i`, `%c`, `%%` with
/// flags `-` and `0` and a width; the format is reused while arguments
/// remain, as POSIX says.
pub(crate) fn printf_output(format: &str, args: &[&str]) -> Option<String> {
    let (format, _) = unescape(format, true)?;
    let fmt: Vec<char> = format.chars().collect();
    let mut out = String::new();
    let mut next = 0usize;
    loop {
        let mut i = 0;
        let mut consumed = false;
        while i < fmt.len() {
            if fmt[i] != '%' {
                out.push(fmt[i]);
                i += 1;
                continue;
            }
            i += 1;
            let mut left = false;
            let mut zero = false;
            while let Some(&f) = fmt.get(i) {
                match f {
                    '-' => left = true,
                    '0' => zero = true,
                    _ => break,
                }
                i += 1;
            }
            let mut width = 0usize;
            while let Some(d) = fmt.get(i).and_then(|c| c.to_digit(10)) {
                width = width.checked_mul(10)?.checked_add(d as usize)?;
                if width > 4096 {
                    return None;
                }
                i += 1;
            }
            let conv = *fmt.get(i)?;
            i += 1;
            let arg = |next: &mut usize, consumed: &mut bool| {
                let a = args.get(*next).copied();
                if a.is_some() {
                    *next += 1;
                    *consumed = true;
                }
                a.unwrap_or("")
            };
            let text = match conv {
                '%' => "%".to_string(),
                's' => arg(&mut next, &mut consumed).to_string(),
                'b' => {
                    let (s, stop) = unescape(arg(&mut next, &mut consumed), false)?;
                    if stop {
                        out.push_str(&s);
                        return Some(out);
                    }
                    s
                }
                'c' => arg(&mut next, &mut consumed)
                    .chars()
                    .next()
                    .map(String::from)
                    .unwrap_or_default(),
                'd' | 'i' => {
                    let a = arg(&mut next, &mut consumed).trim();
                    let n: i64 = if a.is_empty() { 0 } else { a.parse().ok()? };
                    n.to_string()
                }
                _ => return None,
            };
            let pad = width.saturating_sub(text.chars().count());
            if left {
                out.push_str(&text);
                out.extend(std::iter::repeat_n(' ', pad));
            } else if zero && matches!(conv, 'd' | 'i') {
                let (sign, digits) = match text.strip_prefix('-') {
                    Some(d) => ("-", d),
                    None => ("", text.as_str()),
                };
                out.push_str(sign);
                out.extend(std::iter::repeat_n('0', pad));
                out.push_str(digits);
            } else {
                out.extend(std::iter::repeat_n(' ', pad));
                out.push_str(&text);
            }
        }
        if next >= args.len() || !consumed {
            return Some(out);
        }
    }
}

pub(crate) fn printf(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let ops = &inv.parsed.operands;
    let ops = match ops.first().and_then(|a| a.known()) {
        Some("--") => &ops[1..],
        _ => &ops[..],
    };
    let Some((format, args)) = ops.split_first() else {
        return opaque(span, "`printf` without a format");
    };
    let mut values = Vec::new();
    for a in std::iter::once(format).chain(args) {
        match a.known() {
            Some(v) if !a.glob => values.push(v),
            _ => {
                return printed(
                    span,
                    Stream::Unknown {
                        from: format!("`printf` of `{}`", a.text),
                    },
                );
            }
        }
    }
    let Some((f, rest)) = values.split_first() else {
        return opaque(span, "`printf` without a format");
    };
    match printf_output(f, rest) {
        Some(s) => printed(span, Stream::Known(s)),
        None => printed(
            span,
            Stream::Unknown {
                from: "a printf format this analysis does not compute".into(),
            },
        ),
    }
}

pub(crate) fn cat(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let p = inv.parsed;
    let from_stdin =
        p.operands.is_empty() || (p.operands.len() == 1 && p.operands[0].known() == Some("-"));
    let stdout = if !p.options.is_empty() {
        Stream::Unknown {
            from: "`cat` with options".into(),
        }
    } else if from_stdin {
        match inv.stdin {
            Stream::Inherited => Stream::Known(String::new()),
            s => s.clone(),
        }
    } else {
        Stream::Unknown {
            from: format!(
                "the file(s) {}",
                p.operands
                    .iter()
                    .map(|a| a.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    };
    Recognized {
        effects: vec![Effect::NoOp {
            reason: if from_stdin {
                "copies standard input to standard output".into()
            } else {
                "prints files (read-only)".into()
            },
            span,
        }],
        stdout,
    }
}

pub(crate) fn tee(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let p = inv.parsed;
    let content = match inv.stdin {
        Stream::Known(s) => Some(s.clone()),
        Stream::Inherited => Some(String::new()),
        _ => None,
    };
    let append = p.has("append");
    let mut effects = Vec::new();
    for a in &p.operands {
        if matches!(a.known(), Some("/dev/null" | "/dev/stdout" | "/dev/stderr")) {
            continue;
        }
        effects.push(Effect::WriteFile {
            path: a.clone(),
            content: content.clone(),
            append,
            span,
        });
    }
    if effects.is_empty() {
        return Recognized {
            effects: vec![Effect::NoOp {
                reason: "copies standard input to standard output".into(),
                span,
            }],
            stdout: inv.stdin.clone(),
        };
    }
    Recognized {
        effects,
        stdout: match inv.stdin {
            Stream::Inherited => Stream::Known(String::new()),
            s => s.clone(),
        },
    }
}

/// The characters of a `tr` set: literals, `a-z` ranges, `\\n`-style
/// escapes and the `[:upper:]`/`[:lower:]`/`[:digit:]` classes (ASCII).
/// `None` for other forms.
fn tr_set(s: &str) -> Option<Vec<char>> {
    let mut out = Vec::new();
    let mut chars: Vec<char> = Vec::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            chars.push(match it.next()? {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '\\' => '\\',
                '-' => '-',
                _ => return None,
            });
        } else {
            chars.push(c);
        }
    }
    let mut i = 0;
    while i < chars.len() {
        let rest: String = chars[i..].iter().collect();
        if rest.starts_with("[:") {
            let end = rest.find(":]")?;
            let class = &rest[2..end];
            let range = match class {
                "upper" => 'A'..='Z',
                "lower" => 'a'..='z',
                "digit" => '0'..='9',
                _ => return None,
            };
            out.extend(range);
            i += end + 2;
            continue;
        }
        if rest.starts_with('[') {
            return None;
        }
        if chars.get(i + 1) == Some(&'-') && i + 2 < chars.len() {
            let (a, b) = (chars[i], chars[i + 2]);
            if a > b {
                return None;
            }
            out.extend(a..=b);
            i += 3;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    Some(out)
}

/// `tr -d SET` and `tr SET1 SET2` over known input.
pub(crate) fn tr_output(
    input: &str,
    set1: &str,
    set2: Option<&str>,
    delete: bool,
) -> Option<String> {
    let s1 = tr_set(set1)?;
    if delete {
        if set2.is_some() {
            return None;
        }
        return Some(input.chars().filter(|c| !s1.contains(c)).collect());
    }
    let s2 = tr_set(set2?)?;
    let last = *s2.last()?;
    Some(
        input
            .chars()
            .map(|c| match s1.iter().rposition(|x| *x == c) {
                Some(k) => s2.get(k).copied().unwrap_or(last),
                None => c,
            })
            .collect(),
    )
}

pub(crate) fn tr(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let p = inv.parsed;
    let unknown = |from: String| Recognized {
        effects: vec![Effect::NoOp {
            reason: "filters text to standard output (read-only)".into(),
            span,
        }],
        stdout: Stream::Unknown { from },
    };
    if p.has("squeeze") || p.has("complement") || p.has("truncate") {
        return unknown("`tr` with -s, -c or -t".into());
    }
    let sets: Option<Vec<&str>> = p.operands.iter().map(|a| a.known()).collect();
    let Some(sets) = sets else {
        return unknown("`tr` with a set that is not known".into());
    };
    let input = match inv.stdin {
        Stream::Known(s) => s.as_str(),
        Stream::Inherited => "",
        _ => return unknown("`tr` of input that is not known".into()),
    };
    let out = match sets.as_slice() {
        [s1] => tr_output(input, s1, None, p.has("delete")),
        [s1, s2] => tr_output(input, s1, Some(s2), p.has("delete")),
        _ => None,
    };
    match out {
        Some(o) => printed(span, Stream::Known(o)),
        None => unknown("a `tr` this analysis does not compute".into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tr_sets() {
        assert_eq!(
            tr_output("pip3\n", "3", None, true).as_deref(),
            Some("pip\n")
        );
        assert_eq!(
            tr_output("Hello", "a-z", Some("A-Z"), false).as_deref(),
            Some("HELLO")
        );
        assert_eq!(
            tr_output("a-b", "-", Some("_"), false).as_deref(),
            Some("a_b")
        );
        assert_eq!(
            tr_output("x", "[:lower:]", Some("[:upper:]"), false).as_deref(),
            Some("X")
        );
        assert_eq!(tr_output("x", "[=a=]", None, true), None);
    }

    use super::*;

    #[test]
    fn printf_formats() {
        assert_eq!(
            printf_output("%s\\n", &["a", "b"]).as_deref(),
            Some("a\nb\n")
        );
        assert_eq!(
            printf_output("x=%s y=%s\\n", &["1"]).as_deref(),
            Some("x=1 y=\n")
        );
        assert_eq!(
            printf_output("%05d|%-3s|", &["42", "ab"]).as_deref(),
            Some("00042|ab |")
        );
        assert_eq!(printf_output("100%%", &[]).as_deref(), Some("100%"));
        assert_eq!(
            printf_output("%b", &["a\\tb\\c", "ignored"]).as_deref(),
            Some("a\tb")
        );
        assert_eq!(printf_output("\\101", &[]).as_deref(), Some("A"));
        assert_eq!(printf_output("%x", &["1"]), None);
        assert_eq!(printf_output("%d", &["x"]), None);
        assert_eq!(printf_output("plain", &["extra"]).as_deref(), Some("plain"));
    }
}
