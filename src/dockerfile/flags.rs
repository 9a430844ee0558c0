//! Instruction flags, checked the way BuildKit's `BFlags` checks them.
//!
//! Each instruction declares the flags it accepts; then every `--name` or
//! `--name=value` of the instruction is matched against them. An unknown
//! flag is an error naming it (with a suggestion when one is close), a
//! string flag needs `=value` (an empty value is allowed), a bool flag is
//! bare or `=true`/`=false` (any case), only multi-value flags (`--mount`,
//! `--exclude`) may repeat, and a lone `--` ends the flags.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use super::nodes::{NodeFlag, cow_slice};
use super::short_vec::ShortVec;
use crate::source::Span;

/// The kind of value a flag takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagKind {
    Bool,
    String,
    /// A string flag that may be given several times.
    Strings,
}

/// One occurrence of a flag on an instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagUse<'a> {
    /// The value after `=`, or `None` for a bare flag.
    pub value: Option<Cow<'a, str>>,
    /// The value in the source (the whole flag when quoting or escapes
    /// make the two differ).
    pub value_span: Span,
    /// Offset of the value in the instruction's joined text, when the flag
    /// was written without quotes or escapes (so that offsets inside the
    /// value map back to the source).
    pub value_offset: Option<usize>,
    /// The whole flag in the source.
    pub span: Span,
}

/// A flag error, with the flag it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagError {
    pub message: String,
    pub span: Span,
    pub help: Option<String>,
}

/// The flags of one instruction after checking, in the order given. An
/// instruction has a handful of flags at most, so lookups scan; the usual
/// one is held in place.
#[derive(Clone, Debug, Default)]
pub struct Flags<'a, 'd> {
    uses: ShortVec<(&'d str, FlagUse<'a>)>,
}

impl<'a, 'd> Flags<'a, 'd> {
    /// The last occurrence of a string flag.
    pub fn string(&self, name: &str) -> Option<&FlagUse<'a>> {
        self.uses
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, u)| u)
    }

    /// All occurrences of a multi-value flag, in order.
    pub fn strings<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s FlagUse<'a>> + 's {
        self.uses
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, u)| u)
    }

    /// The value of a bool flag (`default` when absent).
    pub fn bool(&self, name: &str, default: bool) -> bool {
        match self.string(name) {
            None => default,
            Some(u) => u
                .value
                .as_deref()
                .is_none_or(|v| v.eq_ignore_ascii_case("true")),
        }
    }

    /// Whether no flag was given.
    pub fn is_empty(&self) -> bool {
        self.uses.is_empty()
    }

    /// Whether a flag was given.
    pub fn is_used(&self, name: &str) -> bool {
        self.uses.iter().any(|(n, _)| *n == name)
    }
}

/// Check `flags` against the declared `(name, kind)` pairs.
pub fn check_flags<'a, 'd>(
    flags: &[NodeFlag<'a>],
    declared: &[(&'d str, FlagKind)],
) -> Result<Flags<'a, 'd>, FlagError> {
    let mut out = Flags::default();
    check_flags_into(flags, declared, &mut out)?;
    Ok(out)
}

/// [`check_flags`] into `out` (empty), which the caller keeps where it
/// will use it: a returned `Flags`, written to the stack by this function
/// and copied out of its `Result` at once by the caller, stalls that copy
/// on the stores just made.
pub(crate) fn check_flags_into<'a, 'd>(
    flags: &[NodeFlag<'a>],
    declared: &[(&'d str, FlagKind)],
    out: &mut Flags<'a, 'd>,
) -> Result<(), FlagError> {
    // Room up front (in place for one flag, else one allocation), rather
    // than growing on a push.
    out.uses = ShortVec::with_capacity(flags.len());
    for f in flags {
        let text: &str = &f.text;
        let err = |message: String| FlagError {
            message,
            span: f.span,
            help: None,
        };
        let Some(body) = text.strip_prefix("--") else {
            return Err(err(format!("arg should start with -- : {text}")));
        };
        if body.is_empty() {
            break;
        }
        // Flag names are short: a plain byte scan is cheaper here than the
        // searcher behind `split_once`.
        let (name, value) = match body.bytes().position(|b| b == b'=') {
            Some(eq) => (body.get(..eq).unwrap_or_default(), body.get(eq + 1..)),
            None => (body, None),
        };
        let Some(&(decl, kind)) = declared.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = declared.iter().map(|(n, _)| *n).collect();
            return Err(FlagError {
                help: suggest(name, &names).map(|s| format!("did you mean --{s}?")),
                ..err(format!("unknown flag: --{name}"))
            });
        };
        if kind != FlagKind::Strings && out.is_used(decl) {
            return Err(err(format!("duplicate flag specified: --{name}")));
        }
        match kind {
            FlagKind::Bool => {
                if let Some(v) = value {
                    if v.is_empty() {
                        return Err(err(format!("missing a value on flag: --{name}")));
                    }
                    if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
                        return Err(err(format!(
                            "expecting boolean value for flag --{name}, not: {v}"
                        )));
                    }
                }
            }
            FlagKind::String | FlagKind::Strings => {
                if value.is_none() {
                    return Err(err(format!("missing a value on flag: --{name}")));
                }
            }
        }
        let value_offset = match value {
            Some(v) if f.literal => Some(f.text_range.end.saturating_sub(v.len())),
            _ => None,
        };
        out.uses.push((
            decl,
            FlagUse {
                value: value.map(|v| cow_slice(&f.text, text.len() - v.len()..text.len())),
                value_span: f.value_span,
                value_offset,
                span: f.span,
            },
        ));
    }
    Ok(())
}

/// The closest name within two edits, for "did you mean" hints.
pub fn suggest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A flag declaration for [`parse_bflags`], BuildKit's `AddBool`,
/// `AddString` and `AddStrings`.
#[derive(Clone, Debug)]
pub struct FlagDecl {
    pub name: String,
    pub kind: FlagKind,
    /// Default of a bool flag.
    pub default_bool: bool,
    /// Default of a string flag.
    pub default_string: String,
}

/// The value of a flag after [`parse_bflags`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlagValue {
    Bool(bool),
    String(String),
    Strings(Vec<String>),
}

/// BuildKit's `BFlags` on bare strings: declare `decls`, parse `args`, and
/// return each flag's value (its default when unused) and whether it was
/// used.
pub fn parse_bflags(
    decls: &[FlagDecl],
    args: &[String],
) -> Result<BTreeMap<String, (FlagValue, bool)>, String> {
    let declared: Vec<(&str, FlagKind)> = decls.iter().map(|d| (d.name.as_str(), d.kind)).collect();
    let flags: Vec<NodeFlag> = args
        .iter()
        .map(|a| NodeFlag {
            text: Cow::Borrowed(a.as_str()),
            span: Span::default(),
            value_span: Span::default(),
            text_range: 0..0,
            literal: false,
        })
        .collect();
    let flags = check_flags(&flags, &declared).map_err(|e| e.message)?;
    let mut out = BTreeMap::new();
    for d in decls {
        let n = d.name.as_str();
        let value = match d.kind {
            FlagKind::Bool => FlagValue::Bool(flags.bool(n, d.default_bool)),
            FlagKind::String => FlagValue::String(
                flags
                    .string(n)
                    .and_then(|u| u.value.as_deref().map(str::to_owned))
                    .unwrap_or_else(|| d.default_string.clone()),
            ),
            FlagKind::Strings => FlagValue::Strings(
                flags
                    .strings(n)
                    .filter_map(|u| u.value.as_deref().map(str::to_owned))
                    .collect(),
            ),
        };
        out.insert(d.name.clone(), (value, flags.is_used(n)));
    }
    Ok(out)
}
