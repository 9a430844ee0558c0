//! Image references: `[registry[:port]/]repository[:tag][@sha256:digest]`,
//! read the way Docker reads them (a first component with `.` or `:`, or
//! `localhost`, is a registry; otherwise the registry is `docker.io` and a
//! one-component repository gets `library/`).

use std::fmt;

use super::ImageError;
use super::digest::Digest;

pub const DOCKER_HUB: &str = "docker.io";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// `docker.io`, `ghcr.io`, `127.0.0.1:5000`, ...
    pub registry: String,
    /// `library/nginx`, `team/app`, ...
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

fn bad(reference: &str, reason: impl Into<String>) -> ImageError {
    ImageError::Reference {
        reference: reference.to_string(),
        reason: reason.into(),
    }
}

fn valid_component(c: &str) -> bool {
    // [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
    if c.is_empty() {
        return false;
    }
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&x| x.is_ascii_alphanumeric() || matches!(x, b'_' | b'.' | b'-'))
}

fn valid_registry(r: &str) -> bool {
    let (host, port) = if let Some(rest) = r.strip_prefix('[') {
        // [v6 address]:port
        let Some((addr, after)) = rest.split_once(']') else {
            return false;
        };
        if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(p) => return p.parse::<u16>().is_ok(),
                None => return false,
            },
        }
    } else {
        match r.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (r, None),
        }
    };
    if let Some(p) = port
        && p.parse::<u16>().is_err()
    {
        return false;
    }
    !host.is_empty()
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|x| x.is_ascii_alphanumeric() || x == b'-'))
}

impl Reference {
    pub fn parse(s: &str) -> Result<Self, ImageError> {
        if s.is_empty() || s.len() > 512 {
            return Err(bad(s, "empty or longer than 512 characters"));
        }
        let (name_tag, digest) = match s.split_once('@') {
            Some((n, d)) => (
                n,
                Some(Digest::parse(d).map_err(|e| bad(s, e.to_string()))?),
            ),
            None => (s, None),
        };
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => (
                &name_tag[..last_slash + i],
                Some(&name_tag[last_slash + i + 1..]),
            ),
            None => (name_tag, None),
        };
        if let Some(t) = tag
            && !valid_tag(t)
        {
            return Err(bad(
                s,
                format!("tag {t:?} is not [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}"),
            ));
        }
        let (registry, repo) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        if !valid_registry(&registry) {
            return Err(bad(s, format!("registry {registry:?} is not host[:port]")));
        }
        let repository = if registry == DOCKER_HUB && !repo.contains('/') {
            format!("library/{repo}")
        } else {
            repo
        };
        if let Some(c) = repository.split('/').find(|c| !valid_component(c)) {
            return Err(bad(
                s,
                format!(
                    "repository component {c:?} must be lowercase letters and digits separated by '.', '_', '__' or '-'"
                ),
            ));
        }
        Ok(Reference {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The tag, `latest` when neither a tag nor a digest was given.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    /// Host the registry API is served from (`docker.io` → `registry-1.docker.io`).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }

    /// Whether the registry is this machine's loopback (`localhost`,
    /// `127.0.0.1`, `[::1]`, any port): those are spoken to over plain
    /// HTTP, every other registry over HTTPS only.
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => &self.registry,
        };
        matches!(host, "localhost" | "127.0.0.1" | "[::1]")
    }

    /// The name with tag, as Docker shows it (`nginx:1.25`, `ghcr.io/a/b:v1`).
    pub fn familiar(&self) -> String {
        let name = if self.registry == DOCKER_HUB {
            self.repository
                .strip_prefix("library/")
                .unwrap_or(&self.repository)
                .to_string()
        } else {
            format!("{}/{}", self.registry, self.repository)
        };
        format!("{name}:{}", self.tag_or_latest())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_docker() {
        let cases = [
            ("nginx", "docker.io", "library/nginx", None),
            ("nginx:1.25", "docker.io", "library/nginx", Some("1.25")),
            ("team/app:v1", "docker.io", "team/app", Some("v1")),
            ("ghcr.io/a/b/c:x", "ghcr.io", "a/b/c", Some("x")),
            ("localhost/app", "localhost", "app", None),
            (
                "127.0.0.1:5000/my-app:dev_1",
                "127.0.0.1:5000",
                "my-app",
                Some("dev_1"),
            ),
            ("[::1]:5000/app", "[::1]:5000", "app", None),
        ];
        let mut failures = Vec::new();
        for (s, reg, repo, tag) in cases {
            match Reference::parse(s) {
                Ok(r) if r.registry == reg && r.repository == repo && r.tag.as_deref() == tag => {}
                other => failures.push(format!("{s}: {other:?}")),
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
        let d = format!("app@sha256:{}", "a".repeat(64));
        assert!(Reference::parse(&d).unwrap().digest.is_some());
        assert!(Reference::parse("127.0.0.1:5000/x").unwrap().is_loopback());
        assert!(Reference::parse("localhost:1/x").unwrap().is_loopback());
        assert!(!Reference::parse("example.com/x").unwrap().is_loopback());
        assert_eq!(
            Reference::parse("nginx").unwrap().familiar(),
            "nginx:latest"
        );
    }

    #[test]
    fn rejects_bad_references() {
        let bad = [
            "",
            "UPPER/case",
            "app:",
            "app:-tag",
            "a//b",
            "app@sha256:zz",
            "host:99999/app",
            "app/",
            "a..b/c",
        ];
        let accepted: Vec<_> = bad.iter().filter(|s| Reference::parse(s).is_ok()).collect();
        assert!(accepted.is_empty(), "accepted {accepted:?}");
    }
}
