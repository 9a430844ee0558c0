//! Package URLs (purl), for [`KeptItem::purl`](super::KeptItem::purl) and the SBOMs.
//!
//! Encoding follows the purl specification's character-encoding section:
//! the type is lowercase; namespace segments, name, version and qualifier
//! values are percent-encoded except for ASCII letters, digits, `.`, `-`,
//! `_`, `~` and `:` (the colon is never encoded, so a Debian epoch reads
//! `1:1.2.13`); qualifier keys are lowercase and sorted; empty qualifier
//! values are left out.

use std::collections::BTreeMap;
use std::fmt;

/// A package URL under construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purl {
    ty: String,
    namespace: Vec<String>,
    name: String,
    version: Option<String>,
    qualifiers: BTreeMap<String, String>,
}

impl Purl {
    /// A purl of any type; the type is lowercased.
    pub fn new(ty: &str, name: &str) -> Purl {
        Purl {
            ty: ty.to_ascii_lowercase(),
            namespace: Vec::new(),
            name: name.to_string(),
            version: None,
            qualifiers: BTreeMap::new(),
        }
    }

    /// Namespace segments separated by `/`; empty segments are ignored.
    pub fn namespace(mut self, namespace: &str) -> Purl {
        self.namespace = namespace
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        self
    }

    pub fn version(mut self, version: &str) -> Purl {
        self.version = Some(version.to_string()).filter(|v| !v.is_empty());
        self
    }

    /// Adds a qualifier (keys are case-insensitive; an empty value removes it).
    pub fn qualifier(mut self, key: &str, value: &str) -> Purl {
        let key = key.to_ascii_lowercase();
        if value.is_empty() {
            self.qualifiers.remove(&key);
        } else {
            self.qualifiers.insert(key, value.to_string());
        }
        self
    }

    /// A Debian-family package: `pkg:deb/<vendor>/<name>@<version>?arch=<arch>&distro=<distro>`,
    /// e.g. vendor `debian`, distro `debian-12`. The vendor is lowercased.
    pub fn deb(vendor: &str, name: &str, version: &str, arch: &str, distro: &str) -> Purl {
        Purl::new("deb", name)
            .namespace(&vendor.to_ascii_lowercase())
            .version(version)
            .qualifier("arch", arch)
            .qualifier("distro", distro)
    }

    /// An Alpine package: `pkg:apk/alpine/<name>@<version>?arch=<arch>&distro=<distro>`,
    /// e.g. distro `alpine-3.20`.
    pub fn apk(name: &str, version: &str, arch: &str, distro: &str) -> Purl {
        Purl::new("apk", name)
            .namespace("alpine")
            .version(version)
            .qualifier("arch", arch)
            .qualifier("distro", distro)
    }

    /// A Python package: the name is normalised as the purl spec requires
    /// for `pypi` (lowercase, `_` and `.` runs become `-`).
    pub fn pypi(name: &str, version: &str) -> Purl {
        let mut normalized = String::with_capacity(name.len());
        let mut last_dash = false;
        for c in name.chars() {
            if matches!(c, '-' | '_' | '.') {
                if !last_dash {
                    normalized.push('-');
                }
                last_dash = true;
            } else {
                normalized.extend(c.to_lowercase());
                last_dash = false;
            }
        }
        Purl::new("pypi", &normalized).version(version)
    }
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pkg:{}/", encode(&self.ty))?;
        for segment in &self.namespace {
            write!(f, "{}/", encode(segment))?;
        }
        f.write_str(&encode(&self.name))?;
        if let Some(version) = &self.version {
            write!(f, "@{}", encode(version))?;
        }
        let mut sep = '?';
        for (key, value) in &self.qualifiers {
            write!(f, "{sep}{}={}", encode(key), encode(value))?;
            sep = '&';
        }
        Ok(())
    }
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples() {
        assert_eq!(
            Purl::deb("Debian", "nginx", "1.22.1-9", "amd64", "debian-12").to_string(),
            "pkg:deb/debian/nginx@1.22.1-9?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            Purl::deb("debian", "zlib1g", "1:1.2.13.dfsg-1", "amd64", "debian-12").to_string(),
            "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            Purl::deb("debian", "libc6", "2.36-9+deb12u7", "amd64", "").to_string(),
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64"
        );
        assert_eq!(
            Purl::pypi("Flask_SQLAlchemy", "3.1.1").to_string(),
            "pkg:pypi/flask-sqlalchemy@3.1.1"
        );
        assert_eq!(
            Purl::apk("musl", "1.2.5-r0", "x86_64", "alpine-3.20").to_string(),
            "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20"
        );
        assert_eq!(
            Purl::new("Generic", "a b/c")
                .version("1@2")
                .qualifier("Z", "x&y")
                .to_string(),
            "pkg:generic/a%20b%2Fc@1%402?z=x%26y"
        );
    }
}
