//! `audit` thresholds: parsing `--fail-on-waste` and `--fail-on`, and the
//! verdicts (exit codes) over reports.

mod report_fixtures;

use std::collections::BTreeSet;

use scratchify::report::threshold::{
    Leftover, Policy, WasteThreshold, evaluate, parse_fail_on, parse_waste_threshold,
};
use scratchify::report::{Report, Totals};

#[test]
fn waste_thresholds_parse() {
    use WasteThreshold::{BasisPoints, Bytes};
    let cases: &[(&str, WasteThreshold)] = &[
        ("0", Bytes(0)),
        ("123456", Bytes(123_456)),
        ("512B", Bytes(512)),
        ("50MB", Bytes(50_000_000)),
        ("50mb", Bytes(50_000_000)),
        ("50 MB", Bytes(50_000_000)),
        ("50M", Bytes(50_000_000)),
        ("1.5kB", Bytes(1_500)),
        ("1.5GB", Bytes(1_500_000_000)),
        ("2TB", Bytes(2_000_000_000_000)),
        ("1KiB", Bytes(1_024)),
        ("1.5MiB", Bytes(1_572_864)),
        ("3GiB", Bytes(3 * (1 << 30))),
        ("1Ti", Bytes(1 << 40)),
        (" 7 k ", Bytes(7_000)),
        ("18446744073709551615", Bytes(u64::MAX)),
        ("30%", BasisPoints(3_000)),
        ("12.5%", BasisPoints(1_250)),
        ("0.01%", BasisPoints(1)),
        ("0%", BasisPoints(0)),
        ("100%", BasisPoints(10_000)),
        ("100.00%", BasisPoints(10_000)),
    ];
    let mut failures = Vec::new();
    for (input, expected) in cases {
        match parse_waste_threshold(input) {
            Ok(got) if got == *expected => {}
            other => failures.push(format!("{input:?}: expected {expected:?}, got {other:?}")),
        }
    }
    for bad in [
        "",
        "%",
        "MB",
        "-5MB",
        "5 parsecs",
        "1.5B",
        "0.1",
        "1.2.3MB",
        ".5GB",
        "5.GB",
        "101%",
        "30.125%",
        "18446744073709551616",
        "20000000TB",
        "5MB%",
        "1e6",
        "99999999999999999999999999999999999999999",
    ] {
        if let Ok(got) = parse_waste_threshold(bad) {
            failures.push(format!("{bad:?} accepted as {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn waste_thresholds_display() {
    assert_eq!(WasteThreshold::Bytes(50_000_000).to_string(), "50.0 MB");
    assert_eq!(WasteThreshold::BasisPoints(3_000).to_string(), "30%");
    assert_eq!(WasteThreshold::BasisPoints(1_250).to_string(), "12.5%");
    assert_eq!(WasteThreshold::BasisPoints(1).to_string(), "0.01%");
}

#[test]
fn fail_on_lists_parse() {
    use Leftover::{Compiler, PackageManager, Shell};
    let all: BTreeSet<_> = [Shell, PackageManager, Compiler].into();
    assert_eq!(
        parse_fail_on("shell,package-manager,compiler").unwrap(),
        all
    );
    assert_eq!(
        parse_fail_on("Compilers, shells").unwrap(),
        [Compiler, Shell].into()
    );
    assert_eq!(parse_fail_on("shell,,shell").unwrap(), [Shell].into());
    for bad in ["", ",", "shell,editor", "package manager"] {
        assert!(parse_fail_on(bad).is_err(), "{bad:?} accepted");
    }
    let err = parse_fail_on("shell,editor").unwrap_err().to_string();
    assert!(
        err.contains("editor") && err.contains("package-manager"),
        "{err}"
    );
}

fn with_totals(estimate: u64, minimal: u64) -> Report {
    let mut r = report_fixtures::nginx_debian();
    r.totals = Totals {
        docker_build_estimate_bytes: estimate,
        minimal_bytes: minimal,
        ..Totals::default()
    };
    r
}

fn policy(waste: &str) -> Policy {
    Policy {
        fail_on_waste: Some(parse_waste_threshold(waste).unwrap()),
        fail_on: BTreeSet::new(),
    }
}

#[test]
fn waste_verdicts_at_the_boundary() {
    // 100 MB estimate, 40 MB minimal: 60 MB (60 %) waste.
    let r = with_totals(100_000_000, 40_000_000);
    let mut failures = Vec::new();
    for (threshold, should_fail) in [
        ("59999999", true),
        ("60000000", false),
        ("60MB", false),
        ("59.9MB", true),
        ("1GB", false),
        ("0", true),
        ("59.99%", true),
        ("60%", false),
        ("100%", false),
        ("0%", true),
    ] {
        let verdict = evaluate(&r, &policy(threshold));
        if verdict.passed() == should_fail {
            failures.push(format!("{threshold}: {verdict:?}"));
        }
        let expected_code = if should_fail { 1 } else { 0 };
        if verdict.exit_code() != expected_code {
            failures.push(format!("{threshold}: exit code {}", verdict.exit_code()));
        }
    }
    // No waste passes even `0`; an empty estimate passes any percentage.
    assert!(evaluate(&with_totals(10, 10), &policy("0")).passed());
    assert!(evaluate(&with_totals(10, 20), &policy("0")).passed());
    assert!(evaluate(&with_totals(0, 0), &policy("0%")).passed());
    // Huge sizes do not overflow.
    assert!(!evaluate(&with_totals(u64::MAX, 0), &policy("99.99%")).passed());
    assert!(evaluate(&with_totals(u64::MAX, 0), &policy("100%")).passed());
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn verdicts_over_the_fixtures() {
    let nginx = report_fixtures::nginx_debian();
    let flask = report_fixtures::flask_alpine();
    let strict = Policy {
        fail_on_waste: None,
        fail_on: parse_fail_on("shell,package-manager,compiler").unwrap(),
    };
    // nginx leaves nothing behind; flask keeps busybox for `sh -c`.
    assert!(evaluate(&nginx, &strict).passed());
    let verdict = evaluate(&flask, &strict);
    assert_eq!(verdict.exit_code(), 1);
    assert_eq!(
        verdict.reasons,
        vec!["shells left in the image (--fail-on shell): busybox".to_string()]
    );
    let compilers_only = Policy {
        fail_on_waste: None,
        fail_on: parse_fail_on("compiler").unwrap(),
    };
    assert!(evaluate(&flask, &compilers_only).passed());

    // Both thresholds crossed: both reasons, waste first. The waste is the
    // dropped build-only bytes (126 906 416) plus the base image bytes the
    // closure does not use (700 000): 127.6 MB of 194.5 MB.
    let both = Policy {
        fail_on_waste: Some(parse_waste_threshold("50%").unwrap()),
        fail_on: parse_fail_on("shell").unwrap(),
    };
    let verdict = evaluate(&flask, &both);
    assert_eq!(verdict.reasons.len(), 2, "{verdict:?}");
    assert!(
        verdict.reasons[0].starts_with("waste of 127.6 MB (65.6% of the estimated docker build image, 194.5 MB) is more than --fail-on-waste 50%"),
        "{verdict:?}"
    );
    // No thresholds: always passes.
    assert!(evaluate(&flask, &Policy::default()).passed());
}
