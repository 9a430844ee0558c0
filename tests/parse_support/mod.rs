//! Helpers shared by the Dockerfile parser tests.

#![allow(clippy::result_large_err)] // SourceDiagnostic: large, built once, on the failure path.

use scratchify::dockerfile::{self, Dockerfile};
use scratchify::source::{SourceDiagnostic, SourceFile};

/// `parse` of `src`, checked against `parse_nodes` + `from_nodes`: `parse`
/// types most instructions straight from their line and the rest through
/// BuildKit's parse tree, the other way types every instruction through
/// the tree, and both must give the same typed Dockerfile (spans, line maps
/// and warnings included) or the same error. Panics with the difference if
/// they disagree.
pub fn parse_both_ways(src: &SourceFile) -> Result<Dockerfile<'_>, SourceDiagnostic> {
    let (name, text) = (src.name(), src.text());
    let direct = dockerfile::parse(src);
    let layered = dockerfile::parse_nodes(src).and_then(|n| dockerfile::from_nodes(src, n));
    match (&direct, &layered) {
        (Ok(a), Ok(b)) => {
            let (a, b) = (
                serde_json::to_string_pretty(a).expect("the typed tree serialises"),
                serde_json::to_string_pretty(b).expect("the typed tree serialises"),
            );
            if a != b {
                let at = a
                    .lines()
                    .zip(b.lines())
                    .position(|(x, y)| x != y)
                    .unwrap_or(0);
                let context = |s: &str| {
                    s.lines()
                        .skip(at.saturating_sub(8))
                        .take(12)
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                panic!(
                    "{name}: parse and parse_nodes + from_nodes differ on {text:?}\n--- parse:\n{}\n--- nodes:\n{}",
                    context(&a),
                    context(&b)
                );
            }
        }
        (Err(a), Err(b)) => assert_eq!(
            (&a.code, &a.message, a.span),
            (&b.code, &b.message, b.span),
            "{name}: the two paths fail differently on {text:?}"
        ),
        _ => panic!(
            "{name}: one path fails on {text:?}: {:?} vs {:?}",
            direct.as_ref().err().map(|e| &e.message),
            layered.as_ref().err().map(|e| &e.message)
        ),
    }
    direct
}
