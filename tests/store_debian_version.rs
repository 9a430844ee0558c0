//! dpkg's version order, checked against `dpkg --compare-versions` itself.
//!
//! A generated set of versions (epochs, `~`, letters, digit runs with
//! leading zeros, revisions) is sorted with our comparator; every pair of
//! neighbours is then checked with dpkg (`lt` where we say less, `eq` where
//! we say equal). Since dpkg's order is a total preorder, agreement on
//! neighbours of a sequence our comparator orders consistently (checked
//! for all pairs, in process) means agreement on every pair. Validity is
//! compared with `dpkg --validate-version`: our hard errors are dpkg's
//! errors, our lint warnings are its warnings.

use std::cmp::Ordering;
use std::process::Command;

use scratchify::store::debian::version::Version;

fn dpkg_compare(a: &str, op: &str, b: &str) -> bool {
    let status = Command::new("dpkg")
        .args(["--compare-versions", a, op, b])
        .status()
        .expect("running dpkg --compare-versions");
    match status.code() {
        Some(0) => true,
        Some(1) => false,
        other => panic!("dpkg --compare-versions {a} {op} {b}: exit {other:?}"),
    }
}

fn versions() -> Vec<String> {
    let epochs = ["", "1:", "+1:", "10:"];
    let upstreams = [
        "0",
        "1",
        "01",
        "1.0",
        "1.00",
        "1.0.0",
        "1.0~rc1",
        "1.0~~",
        "1.0~",
        "1.0a",
        "1.0A",
        "1.0+",
        "1.0+dfsg",
        "1.0.",
        "1.a",
        "1.10",
        "1.9",
        "1~~a",
        "1+b1",
        "2.36",
        "1.0~beta.2",
        "9z",
    ];
    let revisions = [
        "",
        "-0",
        "-1",
        "-1~bpo12+1",
        "-1+deb12u1",
        "-1.1",
        "-0ubuntu1",
    ];
    let mut out = Vec::new();
    for e in epochs {
        for u in upstreams {
            for r in revisions {
                out.push(format!("{e}{u}{r}"));
            }
        }
    }
    // Hyphens and colons inside upstream.
    out.extend(
        [
            "1-0-1", "1:1:1", "2:1-2-3", "1.0-1-1", "0:0", "0:0-0", "00:1",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    out
}

#[test]
fn order_matches_dpkg() {
    let all = versions();
    let parsed: Vec<Version<'_>> = all
        .iter()
        .map(|v| Version::parse(v).unwrap_or_else(|e| panic!("{v}: {e}")))
        .collect();
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| parsed[a].cmp(&parsed[b]));
    // Our comparator is consistent with the sorted sequence for all pairs.
    let mut failures = Vec::new();
    for i in 0..order.len() {
        for j in i + 1..order.len() {
            let ord = parsed[order[i]].cmp(&parsed[order[j]]);
            if ord == Ordering::Greater {
                failures.push(format!(
                    "inconsistent: {} > {}",
                    all[order[i]], all[order[j]]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // dpkg agrees on every neighbour pair (in parallel: each call is a process).
    let pairs: Vec<(String, &str, String)> = order
        .windows(2)
        .map(|w| {
            let (a, b) = (w[0], w[1]);
            let op = if parsed[a].cmp(&parsed[b]) == Ordering::Equal {
                "eq"
            } else {
                "lt"
            };
            (all[a].clone(), op, all[b].clone())
        })
        .collect();
    let chunks: Vec<Vec<(String, &str, String)>> = pairs
        .chunks(pairs.len() / 4 + 1)
        .map(|c| c.to_vec())
        .collect();
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter(|(a, op, b)| !dpkg_compare(a, op, b))
                        .map(|(a, op, b)| format!("dpkg disagrees: {a} {op} {b}"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(failures.is_empty(), "{failures:#?}");
    // Some equalities really are equal and some orders really are strict.
    assert!(pairs.iter().any(|p| p.1 == "eq") && pairs.iter().any(|p| p.1 == "lt"));
}

#[test]
fn validity_matches_dpkg() {
    let cases = [
        "1.0",
        "a1",
        "1:",
        ":1",
        "1:a",
        "1.0-",
        "1 0",
        "1_0",
        "1:1:1",
        "1.0-1-1",
        "1:1.0-a:b",
        "1.0~",
        "99999999999999999999:1",
        "2147483647:1",
        "2147483648:1",
        "1.0-1:2",
        "1a:b",
        "0:1",
        "ab:1",
        "1.0-+",
        "1.0-~",
        "1.0-.",
        "1:-",
        "1$",
        "+1:0",
        "-1:0",
        " 1.0",
        "1.0 ",
        "01:1",
        "0x1:1",
        "1:1-",
        "1:1--1",
        "1-1:1",
        "~",
        "~1",
        "1:~1",
        "1.0+b1",
        "+",
        "1::",
        "1:1:",
        "-0:1",
        "1.0-1 ",
        "1\t0",
        "",
    ];
    let mut failures = Vec::new();
    for v in cases {
        let out = Command::new("dpkg")
            .args(["--validate-version", "--", v])
            .output()
            .expect("running dpkg --validate-version");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let dpkg = if out.status.success() {
            "ok"
        } else if stderr.contains("warning:") {
            "warning"
        } else if stderr.contains("error:") {
            "error"
        } else {
            panic!("{v:?}: unexpected dpkg output {stderr}");
        };
        let ours = match Version::parse(v) {
            Err(_) => "error",
            Ok(p) if p.lint().is_some() => "warning",
            Ok(_) => "ok",
        };
        if dpkg != ours {
            failures.push(format!("{v:?}: dpkg says {dpkg}, we say {ours} ({stderr})"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
