//! Small formatting helpers shared by the renderers.

use sha2::{Digest, Sha256};

/// A byte count in decimal units with one decimal place, the way `docker
/// images` counts: `812 B`, `1.5 kB`, `146.1 MB`, `2.0 GB`. Rounds half up
/// and moves to the next unit rather than printing `1000.0`.
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let n = u128::from(n);
    let mut unit: u128 = 1000;
    let mut index = 0;
    // Move up while the rounded value would print as 1000.0 or more; u64
    // stops below 18.5 EB, so the last unit always fits.
    let mut tenths = (n * 10 + unit / 2) / unit;
    while tenths >= 10_000 && index + 1 < UNITS.len() {
        unit *= 1000;
        index += 1;
        tenths = (n * 10 + unit / 2) / unit;
    }
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[index])
}

/// The last second RFC 3339 can write: 9999-12-31T23:59:59Z.
const MAX_RFC3339_SECONDS: u64 = 253_402_300_799;

/// `SOURCE_DATE_EPOCH` seconds as an RFC 3339 UTC timestamp,
/// `1970-01-01T00:00:00Z` for 0. Times after the year 9999 (which RFC 3339
/// cannot write) are clamped to its last second.
pub fn rfc3339_utc(epoch_seconds: u64) -> String {
    let epoch_seconds = epoch_seconds.min(MAX_RFC3339_SECONDS);
    let days = epoch_seconds / 86_400;
    let secs = epoch_seconds % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), after
/// Howard Hinnant's `civil_from_days`, for non-negative day counts.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// `1 item`, `2 items`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Lowercase hex SHA-256 of some bytes.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether a string is `len` lowercase hex digits.
pub(crate) fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// HTML/XML text and attribute escaping.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Control characters (terminal escapes above all) replaced, so that text
/// from a report cannot drive the terminal it is printed on.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(999), "999 B");
        assert_eq!(format_bytes(1000), "1.0 kB");
        assert_eq!(format_bytes(1049), "1.0 kB");
        assert_eq!(format_bytes(1050), "1.1 kB");
        assert_eq!(format_bytes(999_949), "999.9 kB");
        assert_eq!(format_bytes(999_950), "1.0 MB");
        assert_eq!(format_bytes(146_100_000), "146.1 MB");
        assert_eq!(format_bytes(u64::MAX), "18.4 EB");
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_utc(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(rfc3339_utc(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339_utc(u64::MAX), "9999-12-31T23:59:59Z");
    }
}
