//! Debian version numbers and dpkg's exact order.
//!
//! `[epoch:]upstream[-revision]`, compared as dpkg does (`lib/dpkg/version.c`):
//! epochs numerically, then upstream and revision with the "verrevcmp"
//! algorithm, where `~` sorts before everything (even the end of the
//! string), letters before other characters, and digit runs compare as
//! numbers. Validation follows dpkg's parser: the hard errors that make dpkg
//! refuse a version are errors here; the soft ones (dpkg only warns, and
//! still compares) are reported by [`Version::lint`].

use std::cmp::Ordering;
use std::fmt;

/// A parsed version. Borrowing parts of the original text keeps parsing
/// allocation-free, which matters in the resolver's inner loops.
#[derive(Clone, Copy, Debug)]
pub struct Version<'a> {
    pub epoch: u32,
    pub upstream: &'a str,
    /// Empty when the version has no `-revision` (dpkg compares it as "").
    pub revision: &'a str,
    original: &'a str,
}

/// Why dpkg refuses a version string.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("version {version:?} has bad syntax: {reason}")]
pub struct BadVersion {
    pub version: String,
    pub reason: &'static str,
}

impl<'a> Version<'a> {
    /// Parse like dpkg's `parseversion`: surrounding whitespace is ignored,
    /// embedded whitespace, an empty or non-numeric epoch, an empty upstream
    /// or revision are errors.
    pub fn parse(text: &'a str) -> Result<Version<'a>, BadVersion> {
        let bad = |reason| BadVersion {
            version: text.to_string(),
            reason,
        };
        let s = text.trim_matches(|c: char| c.is_ascii_whitespace());
        if s.is_empty() {
            return Err(bad("version string is empty"));
        }
        if s.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(bad("version string has embedded spaces"));
        }
        let (epoch, rest) = match s.find(':') {
            Some(colon) => {
                let epoch = parse_epoch(&s[..colon]).map_err(bad)?;
                let rest = &s[colon + 1..];
                if rest.is_empty() {
                    return Err(bad("nothing after colon in version number"));
                }
                (epoch, rest)
            }
            None => (0, s),
        };
        let (upstream, revision) = match rest.rfind('-') {
            Some(dash) => {
                let revision = &rest[dash + 1..];
                if revision.is_empty() {
                    return Err(bad("revision number is empty"));
                }
                (&rest[..dash], revision)
            }
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err(bad("version number is empty"));
        }
        Ok(Version {
            epoch,
            upstream,
            revision,
            original: s,
        })
    }

    /// The soft problems dpkg warns about but still accepts.
    pub fn lint(&self) -> Option<&'static str> {
        if !self.upstream.as_bytes()[0].is_ascii_digit() {
            return Some("version number does not start with digit");
        }
        let upstream_ok = |b: u8| b.is_ascii_alphanumeric() || b".-+~:".contains(&b);
        if !self.upstream.bytes().all(upstream_ok) {
            return Some("invalid character in version number");
        }
        let revision_ok = |b: u8| b.is_ascii_alphanumeric() || b".+~".contains(&b);
        if !self.revision.bytes().all(revision_ok) {
            return Some("invalid character in revision number");
        }
        None
    }

    /// The version as written (without surrounding whitespace).
    pub fn as_str(&self) -> &'a str {
        self.original
    }
}

/// dpkg reads the epoch with `strtol`: an optional sign, then digits.
fn parse_epoch(s: &str) -> Result<u32, &'static str> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let run = digits.bytes().take_while(u8::is_ascii_digit).count();
    if run == 0 {
        return Err("epoch in version is empty");
    }
    if run != digits.len() {
        return Err("epoch in version is not number");
    }
    // Leading zeros do not count towards the magnitude.
    let significant = digits.trim_start_matches('0');
    let value: u64 = if significant.len() > 10 {
        u64::MAX
    } else {
        significant.parse().unwrap_or(0)
    };
    if negative && value > 0 {
        return Err("epoch in version is negative");
    }
    if value > i32::MAX as u64 {
        return Err("epoch in version is too big");
    }
    Ok(value as u32)
}

impl fmt::Display for Version<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.original)
    }
}

impl PartialEq for Version<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Version<'_> {}

impl PartialOrd for Version<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream.as_bytes(), other.upstream.as_bytes()))
            .then_with(|| verrevcmp(self.revision.as_bytes(), other.revision.as_bytes()))
    }
}

/// The weight of a non-digit character: `~` first, then the end of the
/// string and digits, then letters, then everything else.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(b'~') => -1,
        Some(c) => c as i32 + 256,
    }
}

fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0usize, 0usize);
    let is_digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        // Non-digit prefixes, character by character.
        while (i < a.len() && !is_digit(a, i)) || (j < b.len() && !is_digit(b, j)) {
            let ac = order(a.get(i).copied());
            let bc = order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        // Digit runs, as numbers of any length.
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while is_digit(a, i) && is_digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if is_digit(a, i) {
            return Ordering::Greater;
        }
        if is_digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

/// Compare two version strings; an unparsable one sorts below any valid
/// one (and two unparsable ones compare as text), so a broken index entry
/// can never win a "highest version" choice.
pub fn compare_str(a: &str, b: &str) -> Ordering {
    match (Version::parse(a), Version::parse(b)) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Greater,
        (Err(_), Ok(_)) => Ordering::Less,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// A version relation of a dependency field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Relation {
    /// `<<`
    Less,
    /// `<=` (and the obsolete `<`, which dpkg reads as `<=`)
    LessEq,
    /// `=`
    Eq,
    /// `>=` (and the obsolete `>`)
    GreaterEq,
    /// `>>`
    Greater,
}

impl Relation {
    /// Parse an operator as dpkg does, including the obsolete `<` and `>`.
    pub fn parse(op: &str) -> Option<Relation> {
        Some(match op {
            "<<" => Relation::Less,
            "<=" | "<" => Relation::LessEq,
            "=" => Relation::Eq,
            ">=" | ">" => Relation::GreaterEq,
            ">>" => Relation::Greater,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Less => "<<",
            Relation::LessEq => "<=",
            Relation::Eq => "=",
            Relation::GreaterEq => ">=",
            Relation::Greater => ">>",
        }
    }

    /// Whether `have <op> want` holds.
    pub fn holds(self, have: &Version<'_>, want: &Version<'_>) -> bool {
        let ord = have.cmp(want);
        match self {
            Relation::Less => ord == Ordering::Less,
            Relation::LessEq => ord != Ordering::Greater,
            Relation::Eq => ord == Ordering::Equal,
            Relation::GreaterEq => ord != Ordering::Less,
            Relation::Greater => ord == Ordering::Greater,
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        Version::parse(a).unwrap().cmp(&Version::parse(b).unwrap())
    }

    #[test]
    fn dpkg_order_basics() {
        use Ordering::*;
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "0:1.0", Equal),
            ("1.0", "1.0-0", Equal),
            ("1.0~rc1", "1.0", Less),
            ("1.0~~", "1.0~", Less),
            ("1.0", "1.0a", Less),
            ("1.0a", "1.0+", Less),
            ("1:0.1", "2.0", Greater),
            ("1.10", "1.9", Greater),
            ("1.001", "1.1", Equal),
            ("2.36-9+deb12u4", "2.36-9", Greater),
            ("1.0-1~bpo1", "1.0-1", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn hard_and_soft_errors() {
        assert!(Version::parse("1:").is_err());
        assert!(Version::parse(":1").is_err());
        assert!(Version::parse("1.0-").is_err());
        assert!(Version::parse("1 0").is_err());
        assert!(Version::parse("2147483648:1").is_err());
        assert_eq!(Version::parse("+1:0").unwrap().epoch, 1);
        assert_eq!(
            Version::parse("a1").unwrap().lint(),
            Some("version number does not start with digit")
        );
        assert_eq!(Version::parse("1.0+b1").unwrap().lint(), None);
    }
}
