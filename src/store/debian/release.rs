//! Release files: what a suite contains and the checksums of its indices.

use std::collections::HashMap;

use super::deb822::{self, Syntax};

/// A file listed in a Release's `SHA256` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub sha256: String,
    pub size: u64,
}

/// The parts of a Release file scratchify uses.
#[derive(Clone, Debug, Default)]
pub struct Release {
    pub suite: Option<String>,
    pub codename: Option<String>,
    pub date: Option<String>,
    pub valid_until: Option<String>,
    pub architectures: Vec<String>,
    pub components: Vec<String>,
    pub acquire_by_hash: bool,
    /// Path below the suite directory → checksum and size.
    pub files: HashMap<String, Listed>,
}

impl Release {
    pub fn parse(text: &str) -> Result<Release, String> {
        let para = deb822::paragraphs(text, Syntax::default())
            .next()
            .ok_or("empty Release file")?
            .map_err(|e| e.to_string())?;
        let words = |f: &str| -> Vec<String> {
            para.get(f)
                .unwrap_or("")
                .split_ascii_whitespace()
                .map(str::to_string)
                .collect()
        };
        let mut files = HashMap::new();
        for line in para.lines("SHA256") {
            let mut parts = line.split_ascii_whitespace();
            let (Some(sum), Some(size), Some(path), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(format!("malformed SHA256 line {line:?}"));
            };
            let size: u64 = size
                .parse()
                .map_err(|_| format!("bad size in SHA256 line {line:?}"))?;
            if sum.len() != 64 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("bad checksum in SHA256 line {line:?}"));
            }
            files.insert(
                path.to_string(),
                Listed {
                    sha256: sum.to_ascii_lowercase(),
                    size,
                },
            );
        }
        if files.is_empty() {
            return Err("no SHA256 checksums (apt refuses such a Release too)".into());
        }
        Ok(Release {
            suite: para.get("Suite").map(str::to_string),
            codename: para.get("Codename").map(str::to_string),
            date: para.get("Date").map(str::to_string),
            valid_until: para.get("Valid-Until").map(str::to_string),
            architectures: words("Architectures"),
            components: words("Components"),
            acquire_by_hash: para
                .get("Acquire-By-Hash")
                .is_some_and(|v| v.eq_ignore_ascii_case("yes")),
            files,
        })
    }

    /// Whether this Release is the one asked for (apt's check against a
    /// mirror serving another suite's file under this name).
    pub fn names_suite(&self, suite: &str) -> bool {
        self.suite.as_deref() == Some(suite) || self.codename.as_deref() == Some(suite)
    }
}

/// Parse an RFC 2822 date as Release files write it
/// (`Sat, 10 Aug 2024 09:17:38 UTC`, `... +0000`) into Unix seconds.
pub fn parse_date(text: &str) -> Option<i64> {
    let t = text.trim();
    let t = match t.split_once(',') {
        Some((_, rest)) => rest.trim(),
        None => t,
    };
    let mut parts = t.split_ascii_whitespace();
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let h: i64 = hms.next()?.parse().ok()?;
    let m: i64 = hms.next()?.parse().ok()?;
    let s: i64 = hms.next().unwrap_or("0").parse().ok()?;
    let offset = match parts.next() {
        None | Some("UTC" | "GMT" | "Z") => 0,
        Some(z) if z.len() == 5 && (z.starts_with('+') || z.starts_with('-')) => {
            let hh: i64 = z.get(1..3)?.parse().ok()?;
            let mm: i64 = z.get(3..5)?.parse().ok()?;
            let sign = if z.starts_with('-') { -1 } else { 1 };
            sign * (hh * 3600 + mm * 60)
        }
        Some(_) => return None,
    };
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + s - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("Thu, 01 Jan 1970 00:00:00 UTC"), Some(0));
        assert_eq!(
            parse_date("Sat, 10 Aug 2024 09:17:38 UTC"),
            Some(1_723_281_458)
        );
        assert_eq!(
            parse_date("Sat, 10 Aug 2024 11:17:38 +0200"),
            Some(1_723_281_458)
        );
        assert_eq!(parse_date("garbage"), None);
    }

    #[test]
    fn release_fields() {
        let text = "Origin: Debian\nSuite: stable\nCodename: bookworm\n\
            Date: Sat, 10 Aug 2024 09:17:38 UTC\nAcquire-By-Hash: yes\n\
            Architectures: all amd64\nComponents: main contrib\nSHA256:\n \
            0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef  1234 main/binary-amd64/Packages.xz\n";
        let r = Release::parse(text).unwrap();
        assert!(r.names_suite("bookworm") && r.names_suite("stable"));
        assert!(!r.names_suite("trixie"));
        assert!(r.acquire_by_hash);
        assert_eq!(r.files["main/binary-amd64/Packages.xz"].size, 1234);
        assert!(Release::parse("Suite: x\n").is_err());
    }
}
