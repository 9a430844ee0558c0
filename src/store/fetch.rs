//! Reading repository files over HTTP(S) or from `file:` URLs.
//!
//! Nothing read here is trusted: callers check every byte against a signed
//! index (or a signature) before using it, and every read is bounded.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::StoreError;

/// A repository client, shared by parallel downloads.
#[derive(Clone)]
pub struct Fetcher {
    agent: Arc<ureq::Agent>,
}

impl Default for Fetcher {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fetcher")
    }
}

impl Fetcher {
    pub fn new() -> Fetcher {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(30)))
            // Per read, not global: a large .deb on a slow link is fine as
            // long as bytes keep coming.
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .user_agent(concat!("scratchify/", env!("CARGO_PKG_VERSION")))
            // Repository files are checked byte for byte against their
            // signed checksums: ask for them exactly as stored.
            .accept_encoding("identity")
            .build();
        Fetcher {
            agent: Arc::new(ureq::Agent::new_with_config(config)),
        }
    }

    /// Open `url` for reading. A missing file is [`StoreError::NotFound`],
    /// so callers can tell "this suite does not exist" from a failure.
    pub fn open(&self, url: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        if let Some(path) = file_url_path(url) {
            return match std::fs::File::open(&path) {
                Ok(f) => Ok(Box::new(f)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NotFound {
                    url: url.to_string(),
                }),
                Err(e) => Err(StoreError::Fetch {
                    url: url.to_string(),
                    reason: e.to_string(),
                }),
            };
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(StoreError::Fetch {
                url: url.to_string(),
                reason: "unsupported URL scheme (use http, https or file)".into(),
            });
        }
        match self.agent.get(url).call() {
            Ok(resp) => Ok(Box::new(resp.into_body().into_reader())),
            Err(ureq::Error::StatusCode(404 | 410)) => Err(StoreError::NotFound {
                url: url.to_string(),
            }),
            Err(e) => Err(StoreError::Fetch {
                url: url.to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// Read a whole file of at most `max` bytes.
    pub fn get(&self, url: &str, max: u64) -> Result<Vec<u8>, StoreError> {
        let reader = self.open(url)?;
        let mut data = Vec::new();
        reader
            .take(max + 1)
            .read_to_end(&mut data)
            .map_err(|e| StoreError::Fetch {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        if data.len() as u64 > max {
            return Err(StoreError::Fetch {
                url: url.to_string(),
                reason: format!("larger than the {max}-byte limit"),
            });
        }
        Ok(data)
    }
}

/// The local path of a `file:` URL (`file:/p`, `file:///p`,
/// `file://localhost/p`), percent-decoded.
pub fn file_url_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("file:")?;
    let path = if let Some(r) = rest.strip_prefix("//") {
        let slash = r.find('/')?;
        let host = &r[..slash];
        if !(host.is_empty() || host == "localhost") {
            return None;
        }
        &r[slash..]
    } else {
        rest
    };
    Some(PathBuf::from(percent_decode(path)))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = bytes.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(h).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `base` + `/` + `rel`, with exactly one slash between them.
pub fn join_url(base: &str, rel: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        rel.trim_start_matches('/')
    )
}

/// Whether a repository-relative path (a `Filename:` from an index) is safe
/// to append to a base URL: relative, no `..`, no empty components, no
/// query or fragment characters.
pub fn safe_relative_path(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.starts_with('/')
        && rel
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
        && rel
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"?#%\\".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls() {
        assert_eq!(file_url_path("file:/a/b"), Some(PathBuf::from("/a/b")));
        assert_eq!(file_url_path("file:///a/b"), Some(PathBuf::from("/a/b")));
        assert_eq!(
            file_url_path("file://localhost/a%20b"),
            Some(PathBuf::from("/a b"))
        );
        assert_eq!(file_url_path("file://other/a"), None);
        assert_eq!(file_url_path("http://x/a"), None);
    }

    #[test]
    fn relative_paths() {
        assert!(safe_relative_path("pool/main/n/nginx/nginx_1.0_amd64.deb"));
        assert!(safe_relative_path("pool/main/g/g++-12/x+y~1.deb"));
        for bad in [
            "/etc/passwd",
            "pool/../x",
            "pool//x",
            "a?b",
            "a b",
            "",
            "./x",
        ] {
            assert!(!safe_relative_path(bad), "{bad}");
        }
        assert_eq!(join_url("http://h/d/", "/pool/x"), "http://h/d/pool/x");
    }
}
