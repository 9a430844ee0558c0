//! Reading repository files over HTTP(S) or from `file:` URLs.
//!
//! Nothing read here is trusted: callers check every byte against a signed
//! index (or a signature) before using it, and every read is bounded.
//!
//! Networks fail in passing (a resolver that times out, a connection reset
//! mid-body, a mirror answering 503 while it syncs), so a transfer that
//! fails for such a reason is tried again, from the start, after a delay
//! that doubles each time ([`Retry`]; apt does the same with
//! `Acquire::Retries`). A failure no retry can mend (404, 403, a checksum
//! or size mismatch, a TLS error, a bad URL) is reported at once.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::StoreError;

/// How often a transfer that failed in passing is tried, and how long to
/// wait between tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Tries in all, the first included (at least 1).
    pub attempts: u32,
    /// The wait before the second try; each later wait doubles it, up to
    /// `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for Retry {
    /// Five tries, 1 + 2 + 4 + 8 = 15 s of waiting at most: long enough to
    /// ride out a resolver or mirror blip, short enough that a mirror that
    /// is really down is reported within a CI step's patience.
    fn default() -> Self {
        Retry {
            attempts: 5,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl Retry {
    /// The default, with the number of tries from `SCRATCHIFY_FETCH_ATTEMPTS`
    /// if set (`1` turns retries off).
    pub fn from_env() -> Result<Retry, StoreError> {
        let mut retry = Retry::default();
        if let Some(v) = std::env::var_os("SCRATCHIFY_FETCH_ATTEMPTS").filter(|v| !v.is_empty()) {
            retry.attempts = v
                .to_str()
                .and_then(|s| s.trim().parse::<u32>().ok())
                .filter(|&n| n >= 1)
                .ok_or_else(|| {
                    StoreError::Config(format!(
                        "SCRATCHIFY_FETCH_ATTEMPTS={}: expected a whole number of tries, at least 1",
                        v.to_string_lossy()
                    ))
                })?;
        }
        Ok(retry)
    }

    /// The wait after failed try number `attempt` (1-based).
    fn delay_after(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.first_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay)
    }
}

/// A repository client, shared by parallel downloads.
#[derive(Clone)]
pub struct Fetcher {
    agent: Arc<ureq::Agent>,
    retry: Retry,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("retry", &self.retry)
            .finish()
    }
}

/// Why one try failed.
enum Failure {
    /// Another try may succeed.
    Passing(StoreError),
    /// No retry will mend it.
    Final(StoreError),
}

impl Fetcher {
    pub fn new(retry: Retry) -> Fetcher {
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
            retry: Retry {
                attempts: retry.attempts.max(1),
                ..retry
            },
        }
    }

    /// Open `url` and hand its body to `consume`, trying again (from a
    /// fresh request) while the request or the body's transfer fails in
    /// passing. `consume` must start over on each call: it sees the body
    /// from its first byte each time.
    ///
    /// A missing file is [`StoreError::NotFound`], so callers can tell
    /// "this suite does not exist" from a failure. An error of `consume`'s
    /// own (a checksum mismatch, a full disk) ends the transfer at once;
    /// only a failed read of the body is retried.
    pub fn read_with<T>(
        &self,
        url: &str,
        mut consume: impl FnMut(&mut dyn Read) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut attempt = 1;
        loop {
            let failure = match self.open_once(url) {
                Ok(mut body) => match consume(&mut body) {
                    Ok(v) => return Ok(v),
                    Err(e) if body.read_failed_in_passing => Failure::Passing(e),
                    Err(e) => Failure::Final(e),
                },
                Err(f) => f,
            };
            let error = match failure {
                Failure::Final(e) => return Err(e),
                Failure::Passing(e) if attempt >= self.retry.attempts => {
                    return Err(after_attempts(e, attempt));
                }
                Failure::Passing(e) => e,
            };
            let delay = self.retry.delay_after(attempt);
            eprintln!(
                "note: {error}; trying again in {delay:?} (try {} of {})",
                attempt + 1,
                self.retry.attempts
            );
            std::thread::sleep(delay);
            attempt += 1;
        }
    }

    /// Read a whole file of at most `max` bytes.
    pub fn get(&self, url: &str, max: u64) -> Result<Vec<u8>, StoreError> {
        self.read_with(url, |body| {
            let mut data = Vec::new();
            body.take(max + 1)
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
        })
    }

    /// One request for `url`.
    fn open_once(&self, url: &str) -> Result<WatchedBody, Failure> {
        let fetch_error = |reason: String| StoreError::Fetch {
            url: url.to_string(),
            reason,
        };
        if let Some(path) = file_url_path(url) {
            // A local file's errors do not pass with time.
            return match std::fs::File::open(&path) {
                Ok(f) => Ok(WatchedBody::new(Box::new(f), false)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(Failure::Final(StoreError::NotFound {
                        url: url.to_string(),
                    }))
                }
                Err(e) => Err(Failure::Final(fetch_error(e.to_string()))),
            };
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Failure::Final(fetch_error(
                "unsupported URL scheme (use http, https or file)".into(),
            )));
        }
        match self.agent.get(url).call() {
            Ok(resp) => Ok(WatchedBody::new(
                Box::new(resp.into_body().into_reader()),
                true,
            )),
            Err(ureq::Error::StatusCode(404 | 410)) => Err(Failure::Final(StoreError::NotFound {
                url: url.to_string(),
            })),
            Err(e) if passes(&e) => Err(Failure::Passing(fetch_error(e.to_string()))),
            Err(e) => Err(Failure::Final(fetch_error(e.to_string()))),
        }
    }
}

/// Whether a request that failed this way may succeed if sent again: the
/// transport failed (name resolution, connect, reset, timeout, a cut-off
/// response), or the server said it could not answer now (408, 425, 429,
/// 5xx but 501 and 505, which no retry changes).
fn passes(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::StatusCode(code) => {
            matches!(code, 408 | 425 | 429)
                || (500..600).contains(code) && !matches!(code, 501 | 505)
        }
        ureq::Error::Io(_)
        | ureq::Error::Timeout(_)
        | ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::Protocol(_)
        | ureq::Error::BodyStalled => true,
        _ => false,
    }
}

/// `e`, saying how many tries it took.
fn after_attempts(e: StoreError, attempts: u32) -> StoreError {
    match e {
        StoreError::Fetch { url, reason } if attempts > 1 => StoreError::Fetch {
            url,
            reason: format!("{reason} (after {attempts} tries)"),
        },
        e => e,
    }
}

/// A response body that remembers whether a read of it failed in a way
/// that may pass, so a failure of the transfer can be told from the
/// consumer's own.
struct WatchedBody {
    inner: Box<dyn Read + Send>,
    /// Read over the network: a failed read may pass (a local file's
    /// read errors do not).
    remote: bool,
    read_failed_in_passing: bool,
}

impl WatchedBody {
    fn new(inner: Box<dyn Read + Send>, remote: bool) -> Self {
        WatchedBody {
            inner,
            remote,
            read_failed_in_passing: false,
        }
    }
}

impl Read for WatchedBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let result = self.inner.read(buf);
        if let Err(e) = &result
            && e.kind() != std::io::ErrorKind::Interrupted
            && self.remote
        {
            self.read_failed_in_passing = true;
        }
        result
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
    fn retry_waits_double_up_to_their_cap() {
        let r = Retry::default();
        let waits: Vec<u64> = (1..=7).map(|a| r.delay_after(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(r.delay_after(u32::MAX), r.max_delay);
    }

    #[test]
    fn which_failures_pass() {
        for code in [408, 425, 429, 500, 502, 503, 504, 599] {
            assert!(passes(&ureq::Error::StatusCode(code)), "{code}");
        }
        for code in [400, 401, 403, 404, 410, 416, 501, 505] {
            assert!(!passes(&ureq::Error::StatusCode(code)), "{code}");
        }
        assert!(passes(&ureq::Error::HostNotFound));
        assert!(passes(&ureq::Error::ConnectionFailed));
        assert!(!passes(&ureq::Error::BadUri("x".into())));
        assert!(!passes(&ureq::Error::TooManyRedirects));
    }

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
