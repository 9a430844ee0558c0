//! Helpers shared by the shell tests: a readable rendering of an analysis
//! for snapshots (spans shown with the text they cover), and variable
//! lookups.

#![allow(dead_code)]

use scratchify::shell::Analysis;
use serde_json::{Map, Value};

/// A variable lookup from pairs.
pub fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name: &str| {
        owned
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

fn slice(text: &str, start: usize, end: usize) -> String {
    let s = text.get(start..end).unwrap_or("<out of range>");
    let collapsed: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > 70 {
        format!("{}...", collapsed.chars().take(67).collect::<String>())
    } else {
        collapsed
    }
}

fn span_of(v: &Value) -> Option<(usize, usize)> {
    let o = v.as_object()?;
    if o.len() != 2 {
        return None;
    }
    Some((
        o.get("start")?.as_u64()? as usize,
        o.get("end")?.as_u64()? as usize,
    ))
}

/// An `Arg` as one string: `value`, `value (from `text`)`, or
/// `?`text` (why)`.
fn arg_string(o: &Map<String, Value>) -> Option<String> {
    let text = o.get("text")?.as_str()?;
    o.get("span")?;
    let glob = o.get("glob").and_then(Value::as_bool).unwrap_or(false);
    let g = if glob { " [glob]" } else { "" };
    match o.get("value")? {
        Value::String(v) if v == text => Some(format!("{v}{g}")),
        Value::String(v) => Some(format!("{v}{g} (from `{text}`)")),
        Value::Null => {
            let why: Vec<String> = o
                .get("unknown")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|u| {
                            let kind = u.get("kind").and_then(Value::as_str).unwrap_or("?");
                            let detail = u
                                .get("name")
                                .or_else(|| u.get("command"))
                                .or_else(|| u.get("from"))
                                .or_else(|| u.get("text"))
                                .or_else(|| u.get("expression"))
                                .and_then(Value::as_str)
                                .map(|d| format!(" {d}"))
                                .unwrap_or_default();
                            format!("{kind}{detail}")
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(format!("?`{text}` ({})", why.join("; ")))
        }
        _ => None,
    }
}

fn compact(v: Value, text: &str) -> Value {
    if let Some((s, e)) = span_of(&v) {
        return Value::String(format!("{s}..{e} `{}`", slice(text, s, e)));
    }
    match v {
        Value::Object(o) => {
            if let Some(a) = arg_string(&o) {
                return Value::String(a);
            }
            Value::Object(o.into_iter().map(|(k, v)| (k, compact(v, text))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(|v| compact(v, text)).collect()),
        other => other,
    }
}

/// The analysis as a JSON value made for reading: one entry per command
/// with its expanded argv on one line, context, effects, and the
/// diagnostics, every span shown with its text.
pub fn render(text: &str, a: &Analysis) -> Value {
    let commands: Vec<Value> = a
        .commands
        .iter()
        .map(|c| {
            let mut o = Map::new();
            let argv: Vec<String> = c
                .argv
                .iter()
                .map(|a| match &a.value {
                    Some(v) if v.contains(char::is_whitespace) || v.is_empty() => format!("'{v}'"),
                    Some(v) => v.clone(),
                    None => format!("?{}", a.text),
                })
                .collect();
            o.insert("argv".into(), Value::String(argv.join(" ")));
            o.insert(
                "span".into(),
                Value::String(format!(
                    "{}..{} `{}`",
                    c.span.start,
                    c.span.end,
                    slice(text, c.span.start, c.span.end)
                )),
            );
            let ctx = serde_json::to_value(&c.context).unwrap_or(Value::Null);
            if ctx.as_object().is_some_and(|m| !m.is_empty()) {
                o.insert("context".into(), ctx);
            }
            if !c.cwd.is_workdir() {
                o.insert(
                    "cwd".into(),
                    serde_json::to_value(&c.cwd).unwrap_or(Value::Null),
                );
            }
            if !c.assignments.is_empty() {
                o.insert(
                    "assignments".into(),
                    compact(
                        serde_json::to_value(&c.assignments).unwrap_or(Value::Null),
                        text,
                    ),
                );
            }
            o.insert(
                "effects".into(),
                compact(
                    serde_json::to_value(&c.effects).unwrap_or(Value::Null),
                    text,
                ),
            );
            Value::Object(o)
        })
        .collect();
    let diagnostics: Vec<Value> = a
        .diagnostics
        .iter()
        .map(|d| {
            Value::String(format!(
                "{:?} {} at {}..{} `{}`: {}",
                d.severity,
                d.code,
                d.span.start,
                d.span.end,
                slice(text, d.span.start, d.span.end),
                d.message
            ))
        })
        .collect();
    serde_json::json!({ "commands": commands, "diagnostics": diagnostics })
}

/// Dockerfile-style joining of a RUN instruction's continuation lines, as
/// BuildKit does before the shell sees it: comment lines inside the
/// instruction are dropped and `\`-newline is removed.
pub fn dockerfile_run(raw: &str) -> String {
    let kept: Vec<&str> = raw
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    kept.join("\n").replace("\\\n", "")
}
