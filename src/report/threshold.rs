//! CI thresholds for `scratchify audit`: `--fail-on-waste BYTES|PERCENT` and
//! `--fail-on shell,package-manager,compiler`, evaluated over a [`Report`].
//!
//! Choices the issue left open:
//! - Waste is `docker_build_estimate_bytes - minimal_bytes` (see
//!   [`Totals::waste_bytes`](super::Totals::waste_bytes)); a threshold is
//!   crossed when the waste is strictly *more* than it, so
//!   `--fail-on-waste 0` fails on any waste and passes on none.
//! - Sizes take decimal units as `docker images` prints them (`kB`, `MB`,
//!   `GB`, `TB`; `k`, `M`, `G`, `T` too) and binary ones (`KiB`, `MiB`,
//!   `GiB`, `TiB`), case-insensitively, with an optional `B` and optional
//!   space; a fraction must come to whole bytes (`1.5kB` is 1500,
//!   `1.5B` is an error). Percentages allow up to two decimals, 0 to 100.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::ReportError;
use super::model::Report;
use super::util::format_bytes;

/// A `--fail-on-waste` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WasteThreshold {
    /// Fail when the waste is more than this many bytes.
    Bytes(u64),
    /// Fail when the waste is more than this share of the `docker build`
    /// estimate, in hundredths of a percent (3000 = 30 %).
    BasisPoints(u32),
}

impl fmt::Display for WasteThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WasteThreshold::Bytes(n) => f.write_str(&format_bytes(*n)),
            WasteThreshold::BasisPoints(bp) => {
                let (whole, frac) = (bp / 100, bp % 100);
                if frac == 0 {
                    write!(f, "{whole}%")
                } else if frac % 10 == 0 {
                    write!(f, "{whole}.{}%", frac / 10)
                } else {
                    write!(f, "{whole}.{frac:02}%")
                }
            }
        }
    }
}

impl FromStr for WasteThreshold {
    type Err = ReportError;

    fn from_str(input: &str) -> Result<Self, ReportError> {
        parse_waste_threshold(input)
    }
}

/// Parses `50MB`, `1.5 GiB`, `123456`, `30%`, `12.5%`.
pub fn parse_waste_threshold(input: &str) -> Result<WasteThreshold, ReportError> {
    let err = |reason: &str| ReportError::InvalidThreshold {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let s = input.trim();
    if let Some(number) = s.strip_suffix('%') {
        let (whole, frac, frac_digits) = parse_decimal(number.trim_end())
            .ok_or_else(|| err("expected a number before `%`, e.g. `30%`"))?;
        if frac_digits > 2 {
            return Err(err("percentages take at most two decimals"));
        }
        let bp = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(frac * 10u128.pow(2 - frac_digits)))
            .filter(|&bp| bp <= 10_000)
            .ok_or_else(|| err("a percentage is at most 100%"))?;
        return u32::try_from(bp)
            .map(WasteThreshold::BasisPoints)
            .map_err(|_| err("a percentage is at most 100%"));
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let (whole, frac, frac_digits) = parse_decimal(number).ok_or_else(|| {
        err("expected a size such as `50MB`, `1.5GiB`, `123456` or a percentage such as `30%`")
    })?;
    let multiplier: u128 = match unit.trim_start().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "ki" | "kib" => 1 << 10,
        "mi" | "mib" => 1 << 20,
        "gi" | "gib" => 1 << 30,
        "ti" | "tib" => 1 << 40,
        _ => {
            return Err(err(
                "unknown unit: use B, kB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)",
            ));
        }
    };
    let scale = 10u128
        .checked_pow(frac_digits)
        .ok_or_else(|| err("too many decimals"))?;
    let frac_bytes = frac
        .checked_mul(multiplier)
        .ok_or_else(|| err("too many decimals"))?;
    if frac_bytes % scale != 0 {
        return Err(err("the size is not a whole number of bytes"));
    }
    let bytes = whole
        .checked_mul(multiplier)
        .and_then(|b| b.checked_add(frac_bytes / scale))
        .and_then(|b| u64::try_from(b).ok())
        .ok_or_else(|| err("the size is too large"))?;
    Ok(WasteThreshold::Bytes(bytes))
}

/// `12.50` -> (12, 50, 2). None unless digits with at most one `.` that has
/// digits on both sides (`5.` and `.5` are rejected as likely typos).
fn parse_decimal(s: &str) -> Option<(u128, u128, u32)> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.len() <= 30 && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) {
        return None;
    }
    let w = whole.parse().ok()?;
    match frac {
        None => Some((w, 0, 0)),
        Some(f) if digits(f) => Some((w, f.parse().ok()?, u32::try_from(f.len()).ok()?)),
        Some(_) => None,
    }
}

/// Something the goal says should not be left in the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Leftover {
    Shell,
    PackageManager,
    Compiler,
}

impl Leftover {
    pub const ALL: [Leftover; 3] = [
        Leftover::Shell,
        Leftover::PackageManager,
        Leftover::Compiler,
    ];

    /// The `--fail-on` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Leftover::Shell => "shell",
            Leftover::PackageManager => "package-manager",
            Leftover::Compiler => "compiler",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Leftover::Shell => "shells",
            Leftover::PackageManager => "package managers",
            Leftover::Compiler => "compilers",
        }
    }

    fn left(self, report: &Report) -> &[String] {
        match self {
            Leftover::Shell => &report.totals.shells_left,
            Leftover::PackageManager => &report.totals.package_managers_left,
            Leftover::Compiler => &report.totals.compilers_left,
        }
    }
}

impl fmt::Display for Leftover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses `shell,package-manager,compiler` (any subset, any order, plurals
/// accepted, case-insensitive, empty entries ignored).
pub fn parse_fail_on(input: &str) -> Result<BTreeSet<Leftover>, ReportError> {
    let mut set = BTreeSet::new();
    for word in input.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let leftover = match word.to_ascii_lowercase().as_str() {
            "shell" | "shells" => Leftover::Shell,
            "package-manager" | "package-managers" => Leftover::PackageManager,
            "compiler" | "compilers" => Leftover::Compiler,
            _ => {
                return Err(ReportError::InvalidThreshold {
                    input: input.to_string(),
                    reason: format!(
                        "unknown item `{word}`; expected a comma-separated list of shell, package-manager, compiler"
                    ),
                });
            }
        };
        set.insert(leftover);
    }
    if set.is_empty() {
        return Err(ReportError::InvalidThreshold {
            input: input.to_string(),
            reason: "expected a comma-separated list of shell, package-manager, compiler".into(),
        });
    }
    Ok(set)
}

/// The thresholds `audit` was given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub fail_on_waste: Option<WasteThreshold>,
    pub fail_on: BTreeSet<Leftover>,
}

/// The outcome: passed when no reason was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// One sentence per crossed threshold, in a fixed order (waste, then
    /// shells, package managers, compilers).
    pub reasons: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.reasons.is_empty()
    }

    /// `audit`'s exit code for a report it could make: 0 passed, 1 a
    /// threshold crossed (2, for errors, is the caller's).
    pub fn exit_code(&self) -> u8 {
        if self.passed() { 0 } else { 1 }
    }
}

/// Checks a report against the thresholds.
pub fn evaluate(report: &Report, policy: &Policy) -> Verdict {
    let mut reasons = Vec::new();
    let totals = &report.totals;
    let waste = totals.waste_bytes();
    if let Some(threshold) = policy.fail_on_waste {
        let crossed = match threshold {
            WasteThreshold::Bytes(limit) => waste > limit,
            WasteThreshold::BasisPoints(bp) => {
                u128::from(waste) * 10_000
                    > u128::from(bp) * u128::from(totals.docker_build_estimate_bytes)
            }
        };
        if crossed {
            reasons.push(format!(
                "waste of {} ({} of the estimated docker build image, {}) is more than --fail-on-waste {threshold}",
                format_bytes(waste),
                totals.waste_percent_text(),
                format_bytes(totals.docker_build_estimate_bytes),
            ));
        }
    }
    for leftover in Leftover::ALL {
        if !policy.fail_on.contains(&leftover) {
            continue;
        }
        let left = leftover.left(report);
        if !left.is_empty() {
            reasons.push(format!(
                "{} left in the image (--fail-on {leftover}): {}",
                leftover.plural(),
                left.join(", ")
            ));
        }
    }
    Verdict { reasons }
}
