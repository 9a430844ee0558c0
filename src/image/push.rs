//! Registry push over the OCI distribution API (blocking, `ureq`).
//!
//! Flow: for each blob (layers, then config) `HEAD /v2/<repo>/blobs/<d>`;
//! a 200 (or a redirect to storage) means the registry has it and it is
//! skipped. Otherwise `POST /v2/<repo>/blobs/uploads/` opens a session and
//! the blob goes up either in one `PUT <location>?digest=<d>` (monolithic)
//! or as `PATCH` chunks with `Content-Range` followed by an empty
//! `PUT ?digest=` (chunked); [`UploadMode::Auto`] picks by size. Last, the
//! manifest is `PUT` with the exact bytes [`Image::manifest`] holds, so the
//! registry computes the same digest; the `Docker-Content-Digest` it answers
//! is checked against ours.
//!
//! Authentication: on a 401 the `WWW-Authenticate` challenge is followed.
//! `Basic` sends the credentials; `Bearer` asks the token endpoint (`realm`)
//! for `repository:<repo>:pull,push` (plus the challenge's own scope if it
//! differs), with basic credentials when there are any, and uses the
//! returned `token`/`access_token`. Credentials come from
//! `$DOCKER_CONFIG/config.json` or `~/.docker/config.json` (`auths.<host>`:
//! base64 `auth`, or `username`/`password`); credential helpers
//! (`credsStore`, `credHelpers`) and `identitytoken` are not supported yet —
//! the error says so when they are configured.
//!
//! Transport: HTTPS, except for loopback registries (`localhost`,
//! `127.0.0.1`, `[::1]`, any port), which are spoken to over plain HTTP, as
//! a local test or development registry usually is. A token realm over plain
//! HTTP is accepted only on loopback too, and credentials are never sent over
//! plain HTTP to another host. Redirects are not followed (a HEAD redirect
//! means "exists").

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use ureq::http::{self, StatusCode};
use ureq::{Agent, Body, SendBody};

use super::config::MEDIA_TYPE_MANIFEST;
use super::digest::{Digest, base64_decode, base64_encode};
use super::reference::{DOCKER_HUB, Reference};
use super::{Image, ImageError};

/// How blobs are uploaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadMode {
    /// Chunked when a blob is larger than `threshold`, else monolithic.
    Auto {
        threshold: u64,
        chunk_size: u64,
    },
    Monolithic,
    Chunked {
        chunk_size: u64,
    },
}

impl Default for UploadMode {
    fn default() -> Self {
        UploadMode::Auto {
            threshold: 64 << 20,
            chunk_size: 32 << 20,
        }
    }
}

/// Where credentials come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// `config.json` in this directory, else in `$DOCKER_CONFIG`, else in
    /// `~/.docker`. A missing file means anonymous.
    DockerConfig {
        dir: Option<PathBuf>,
    },
    Basic {
        username: String,
        password: String,
    },
    Anonymous,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials::DockerConfig { dir: None }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushOptions {
    pub upload: UploadMode,
    pub credentials: Credentials,
    /// Per-request timeout (default 10 minutes).
    pub timeout: Duration,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            upload: UploadMode::default(),
            credentials: Credentials::default(),
            timeout: Duration::from_secs(600),
        }
    }
}

/// What a push did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushReport {
    pub manifest_digest: Digest,
    /// Blobs sent, in push order.
    pub uploaded: Vec<Digest>,
    /// Blobs the registry already had.
    pub skipped: Vec<Digest>,
    /// `https://host/v2/repo/manifests/tag`.
    pub manifest_url: String,
}

/// Largest response body read (errors, tokens).
const MAX_RESPONSE: u64 = 1 << 20;

/// A request body that can be produced again (for a retry after a 401).
#[derive(Clone, Copy)]
enum Payload<'a> {
    Empty,
    Bytes(&'a [u8]),
    FileRange {
        path: &'a Path,
        offset: u64,
        len: u64,
    },
}

impl Payload<'_> {
    fn len(&self) -> u64 {
        match self {
            Payload::Empty => 0,
            Payload::Bytes(b) => b.len() as u64,
            Payload::FileRange { len, .. } => *len,
        }
    }

    fn body(&self) -> io::Result<SendBody<'static>> {
        Ok(match *self {
            Payload::Empty => SendBody::none(),
            Payload::Bytes(b) => SendBody::from_owned_reader(io::Cursor::new(b.to_vec())),
            Payload::FileRange { path, offset, len } => {
                let mut f = File::open(path)?;
                f.seek(SeekFrom::Start(offset))?;
                SendBody::from_owned_reader(f.take(len))
            }
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Auth {
    None,
    Basic(String),
    Bearer(String),
}

struct Client {
    agent: Agent,
    base: String,
    reference: Reference,
    credentials: Option<(String, String)>,
    helper_note: Option<String>,
    auth: Auth,
}

fn registry_err(url: &str, message: impl Into<String>) -> ImageError {
    ImageError::Registry {
        url: url.to_string(),
        message: message.into(),
    }
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Body,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The response text (bounded), with the registry's error messages
    /// pulled out when it is the distribution error JSON.
    fn describe(mut self) -> String {
        let text = self
            .body
            .with_config()
            .limit(MAX_RESPONSE)
            .read_to_string()
            .unwrap_or_default();
        #[derive(Deserialize)]
        struct Errors {
            errors: Vec<ErrorItem>,
        }
        #[derive(Deserialize)]
        struct ErrorItem {
            code: Option<String>,
            message: Option<String>,
        }
        let detail = match serde_json::from_str::<Errors>(&text) {
            Ok(e) if !e.errors.is_empty() => e
                .errors
                .iter()
                .map(|i| {
                    format!(
                        "{}: {}",
                        i.code.as_deref().unwrap_or("ERROR"),
                        i.message.as_deref().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            _ => text.chars().take(500).collect(),
        };
        format!("HTTP {}: {}", self.status.as_u16(), detail.trim())
    }
}

impl Client {
    fn new(reference: &Reference, opts: &PushOptions) -> Result<Self, ImageError> {
        let scheme = if reference.is_loopback() {
            "http"
        } else {
            "https"
        };
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(opts.timeout))
            .user_agent(concat!("scratchify/", env!("CARGO_PKG_VERSION")))
            .build();
        let (credentials, helper_note) = match &opts.credentials {
            Credentials::Anonymous => (None, None),
            Credentials::Basic { username, password } => {
                (Some((username.clone(), password.clone())), None)
            }
            Credentials::DockerConfig { dir } => {
                docker_config_credentials(dir.as_deref(), reference)?
            }
        };
        Ok(Client {
            agent: config.into(),
            base: format!("{scheme}://{}", reference.api_host()),
            reference: reference.clone(),
            credentials,
            helper_note,
            auth: Auth::None,
        })
    }

    fn repo_url(&self, tail: &str) -> String {
        format!("{}/v2/{}/{tail}", self.base, self.reference.repository)
    }

    fn send_once(
        &self,
        method: &http::Method,
        url: &str,
        headers: &[(&str, String)],
        payload: Payload<'_>,
    ) -> Result<Reply, ImageError> {
        let mut b = http::Request::builder().method(method.clone()).uri(url);
        match &self.auth {
            Auth::None => {}
            Auth::Basic(v) => b = b.header("Authorization", format!("Basic {v}")),
            Auth::Bearer(t) => b = b.header("Authorization", format!("Bearer {t}")),
        }
        for (k, v) in headers {
            b = b.header(*k, v.as_str());
        }
        if !matches!(*method, http::Method::GET | http::Method::HEAD) {
            b = b.header("Content-Length", payload.len().to_string());
        }
        let body = payload
            .body()
            .map_err(|e| registry_err(url, format!("reading the blob to send: {e}")))?;
        let req = b
            .body(body)
            .map_err(|e| registry_err(url, format!("building the request: {e}")))?;
        let resp = self
            .agent
            .run(req)
            .map_err(|e| registry_err(url, e.to_string()))?;
        let (parts, body) = resp.into_parts();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// Send, answering one authentication challenge.
    fn send(
        &mut self,
        method: http::Method,
        url: &str,
        headers: &[(&str, String)],
        payload: Payload<'_>,
    ) -> Result<Reply, ImageError> {
        let reply = self.send_once(&method, url, headers, payload)?;
        if reply.status != StatusCode::UNAUTHORIZED {
            return Ok(reply);
        }
        let challenge = reply.header("www-authenticate").unwrap_or("").to_string();
        let previous = self.auth.clone();
        self.authenticate(&challenge, url)?;
        if self.auth == previous && previous != Auth::None && matches!(previous, Auth::Basic(_)) {
            return Err(self.auth_error("the registry rejected the credentials"));
        }
        let reply = self.send_once(&method, url, headers, payload)?;
        if reply.status == StatusCode::UNAUTHORIZED {
            let msg = reply.describe();
            return Err(self.auth_error(&msg));
        }
        Ok(reply)
    }

    fn auth_error(&self, message: &str) -> ImageError {
        let mut message = message.to_string();
        if let Some(n) = &self.helper_note {
            message.push_str("; ");
            message.push_str(n);
        }
        ImageError::Auth {
            registry: self.reference.registry.clone(),
            message,
        }
    }

    fn basic_value(&self) -> Option<String> {
        self.credentials
            .as_ref()
            .map(|(u, p)| base64_encode(format!("{u}:{p}").as_bytes()))
    }

    fn authenticate(&mut self, challenge: &str, url: &str) -> Result<(), ImageError> {
        let Some((scheme, params)) = parse_challenge(challenge) else {
            return Err(self.auth_error(&format!(
                "401 without a usable WWW-Authenticate challenge ({challenge:?}) for {url}"
            )));
        };
        match scheme.as_str() {
            "basic" => {
                let Some(v) = self.basic_value() else {
                    return Err(self
                        .auth_error("the registry requires credentials and none are configured"));
                };
                self.auth = Auth::Basic(v);
                Ok(())
            }
            "bearer" => {
                let realm = params
                    .iter()
                    .find(|(k, _)| k == "realm")
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| self.auth_error("Bearer challenge without a realm"))?;
                let plain = realm.starts_with("http://");
                if !(realm.starts_with("https://") || plain) {
                    return Err(
                        self.auth_error(&format!("token realm {realm:?} is not an http(s) URL"))
                    );
                }
                if plain && !url_is_loopback(&realm) {
                    return Err(self.auth_error(&format!(
                        "token realm {realm:?} is plain HTTP on a non-loopback host; refusing"
                    )));
                }
                let mut query = Vec::new();
                if let Some((_, s)) = params.iter().find(|(k, _)| k == "service") {
                    query.push(format!("service={}", url_encode(s)));
                }
                let ours = format!("repository:{}:pull,push", self.reference.repository);
                query.push(format!("scope={}", url_encode(&ours)));
                if let Some((_, s)) = params.iter().find(|(k, _)| k == "scope")
                    && *s != ours
                {
                    for one in s.split(' ').filter(|x| !x.is_empty() && *x != ours) {
                        query.push(format!("scope={}", url_encode(one)));
                    }
                }
                let sep = if realm.contains('?') { '&' } else { '?' };
                let token_url = format!("{realm}{sep}{}", query.join("&"));
                let mut b = http::Request::builder().method("GET").uri(&token_url);
                if let Some(v) = self.basic_value() {
                    b = b.header("Authorization", format!("Basic {v}"));
                }
                let req = b
                    .body(())
                    .map_err(|e| registry_err(&token_url, e.to_string()))?;
                let resp = self
                    .agent
                    .run(req)
                    .map_err(|e| registry_err(&token_url, e.to_string()))?;
                let (parts, body) = resp.into_parts();
                let reply = Reply {
                    status: parts.status,
                    headers: parts.headers,
                    body,
                };
                if !reply.status.is_success() {
                    let msg = format!("token endpoint {token_url}: {}", reply.describe());
                    return Err(self.auth_error(&msg));
                }
                let mut body = reply.body;
                let text = body
                    .with_config()
                    .limit(MAX_RESPONSE)
                    .read_to_string()
                    .map_err(|e| registry_err(&token_url, e.to_string()))?;
                #[derive(Deserialize)]
                struct TokenReply {
                    token: Option<String>,
                    access_token: Option<String>,
                }
                let t: TokenReply = serde_json::from_str(&text).map_err(|e| {
                    self.auth_error(&format!("token endpoint answered non-JSON: {e}"))
                })?;
                let token = t
                    .token
                    .or(t.access_token)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| self.auth_error("token endpoint returned no token"))?;
                self.auth = Auth::Bearer(token);
                Ok(())
            }
            other => Err(self.auth_error(&format!("unsupported authentication scheme {other:?}"))),
        }
    }

    /// `Some(true)`: the registry has the blob.
    fn blob_exists(&mut self, d: &Digest) -> Result<bool, ImageError> {
        let url = self.repo_url(&format!("blobs/{d}"));
        let reply = self.send(http::Method::HEAD, &url, &[], Payload::Empty)?;
        match reply.status.as_u16() {
            200 | 307 | 302 | 303 | 308 => Ok(true),
            404 => Ok(false),
            _ => Err(registry_err(&url, reply.describe())),
        }
    }

    fn resolve_location(&self, url: &str, reply: &Reply) -> Result<String, ImageError> {
        let loc = reply
            .header("location")
            .ok_or_else(|| registry_err(url, "upload response without a Location"))?;
        if loc.starts_with("https://") || loc.starts_with("http://") {
            if loc.starts_with("http://") && !self.reference.is_loopback() {
                return Err(registry_err(
                    url,
                    format!("upload location {loc:?} is plain HTTP"),
                ));
            }
            Ok(loc.to_string())
        } else if loc.starts_with('/') {
            Ok(format!("{}{loc}", self.base))
        } else {
            Err(registry_err(
                url,
                format!("unusable upload location {loc:?}"),
            ))
        }
    }

    fn upload(
        &mut self,
        d: &Digest,
        size: u64,
        source: Payload<'_>,
        mode: UploadMode,
    ) -> Result<(), ImageError> {
        let start_url = self.repo_url("blobs/uploads/");
        let reply = self.send(http::Method::POST, &start_url, &[], Payload::Empty)?;
        if reply.status != StatusCode::ACCEPTED {
            return Err(registry_err(&start_url, reply.describe()));
        }
        let mut location = self.resolve_location(&start_url, &reply)?;
        let chunk = match mode {
            UploadMode::Monolithic => None,
            UploadMode::Chunked { chunk_size } => Some(chunk_size.max(1)),
            UploadMode::Auto {
                threshold,
                chunk_size,
            } => (size > threshold).then_some(chunk_size.max(1)),
        };
        let octet = ("Content-Type", "application/octet-stream".to_string());
        let final_payload = match chunk {
            None => source,
            Some(chunk) => {
                let mut offset = 0;
                while offset < size {
                    let len = chunk.min(size - offset);
                    let part = match source {
                        Payload::FileRange {
                            path, offset: base, ..
                        } => Payload::FileRange {
                            path,
                            offset: base + offset,
                            len,
                        },
                        Payload::Bytes(b) => {
                            let s = usize::try_from(offset).unwrap_or(usize::MAX);
                            let e = usize::try_from(offset + len).unwrap_or(usize::MAX);
                            Payload::Bytes(b.get(s..e).unwrap_or(&[]))
                        }
                        Payload::Empty => Payload::Empty,
                    };
                    let range = ("Content-Range", format!("{}-{}", offset, offset + len - 1));
                    let reply = self.send(
                        http::Method::PATCH,
                        &location,
                        &[octet.clone(), range],
                        part,
                    )?;
                    if reply.status != StatusCode::ACCEPTED {
                        return Err(registry_err(&location, reply.describe()));
                    }
                    location = self.resolve_location(&location, &reply)?;
                    offset += len;
                }
                Payload::Empty
            }
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put_url = format!("{location}{sep}digest={}", url_encode(&d.to_string()));
        let reply = self.send(http::Method::PUT, &put_url, &[octet], final_payload)?;
        if reply.status != StatusCode::CREATED {
            return Err(registry_err(&put_url, reply.describe()));
        }
        Ok(())
    }
}

/// Push `image` to `reference` (its tag, else its digest, else `latest`).
pub fn push(
    image: &Image,
    reference: &Reference,
    opts: &PushOptions,
) -> Result<PushReport, ImageError> {
    let mut client = Client::new(reference, opts)?;
    if let Some(d) = &reference.digest
        && d != image.digest()
    {
        return Err(ImageError::Reference {
            reference: reference.to_string(),
            reason: format!("names digest {d} but the image is {}", image.digest()),
        });
    }
    let mut uploaded = Vec::new();
    let mut skipped = Vec::new();
    let mut blobs: Vec<(&Digest, u64, Payload<'_>)> = image
        .layers
        .iter()
        .map(|l| {
            (
                &l.info.digest,
                l.info.size,
                Payload::FileRange {
                    path: &l.blob,
                    offset: 0,
                    len: l.info.size,
                },
            )
        })
        .collect();
    blobs.push((
        &image.config_descriptor.digest,
        image.config.len() as u64,
        Payload::Bytes(&image.config),
    ));
    for (d, size, payload) in blobs {
        if uploaded.contains(d) || skipped.contains(d) {
            continue;
        }
        if client.blob_exists(d)? {
            skipped.push(d.clone());
        } else {
            client.upload(d, size, payload, opts.upload)?;
            uploaded.push(d.clone());
        }
    }
    let target = match (&reference.tag, &reference.digest) {
        (Some(t), _) => t.clone(),
        (None, Some(d)) => d.to_string(),
        (None, None) => "latest".to_string(),
    };
    let url = client.repo_url(&format!("manifests/{target}"));
    let reply = client.send(
        http::Method::PUT,
        &url,
        &[("Content-Type", MEDIA_TYPE_MANIFEST.to_string())],
        Payload::Bytes(&image.manifest),
    )?;
    if reply.status != StatusCode::CREATED && reply.status != StatusCode::OK {
        return Err(registry_err(&url, reply.describe()));
    }
    if let Some(got) = reply.header("docker-content-digest")
        && got != image.digest().to_string()
    {
        return Err(registry_err(
            &url,
            format!(
                "registry stored the manifest as {got}, expected {}",
                image.digest()
            ),
        ));
    }
    Ok(PushReport {
        manifest_digest: image.digest().clone(),
        uploaded,
        skipped,
        manifest_url: url,
    })
}

fn url_is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host_port = rest.split(['/', '?']).next().unwrap_or("");
    let host = match host_port.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host_port,
    };
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// Percent-encode everything but unreserved characters (RFC 3986).
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parse `Scheme k="v", k2=v2` into a lowercase scheme and its parameters.
fn parse_challenge(h: &str) -> Option<(String, Vec<(String, String)>)> {
    let h = h.trim();
    let (scheme, rest) = match h.split_once(char::is_whitespace) {
        Some((s, r)) => (s, r),
        None => (h, ""),
    };
    if scheme.is_empty() {
        return None;
    }
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.trim().is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            return None;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => return None,
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        params.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Some((scheme.to_ascii_lowercase(), params))
}

#[derive(Deserialize, Default)]
struct DockerConfigFile {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, DockerAuth>,
    #[serde(rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(rename = "credHelpers", default)]
    cred_helpers: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct DockerAuth {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// The registry host a docker config `auths` key names.
fn auth_key_host(key: &str) -> String {
    let k = key.split_once("://").map_or(key, |(_, r)| r);
    let host = k.split('/').next().unwrap_or(k).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => DOCKER_HUB.into(),
        _ => host,
    }
}

type CredsAndNote = (Option<(String, String)>, Option<String>);

fn docker_config_credentials(
    dir: Option<&Path>,
    reference: &Reference,
) -> Result<CredsAndNote, ImageError> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => match std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
                Some(h) => PathBuf::from(h).join(".docker"),
                None => return Ok((None, None)),
            },
        },
    };
    let path = dir.join("config.json");
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((None, None)),
        Err(e) => return Err(super::io_err(format!("reading {}", path.display()), e)),
    };
    let mut text = Vec::new();
    file.take(16 << 20)
        .read_to_end(&mut text)
        .map_err(|e| super::io_err(format!("reading {}", path.display()), e))?;
    let cfg: DockerConfigFile = serde_json::from_slice(&text).map_err(|e| ImageError::Auth {
        registry: reference.registry.clone(),
        message: format!("{} is not valid JSON: {e}", path.display()),
    })?;
    let registry = reference.registry.to_ascii_lowercase();
    let note = if cfg.cred_helpers.contains_key(&reference.registry) || cfg.creds_store.is_some() {
        Some(format!(
            "{} configures a credential helper, which scratchify does not run yet; add an `auths` entry",
            path.display()
        ))
    } else {
        None
    };
    for (key, entry) in &cfg.auths {
        if auth_key_host(key) != registry {
            continue;
        }
        if let Some(a) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
            let raw = base64_decode(a).ok_or_else(|| ImageError::Auth {
                registry: reference.registry.clone(),
                message: format!("{}: auths.{key}.auth is not base64", path.display()),
            })?;
            let s = String::from_utf8(raw).map_err(|_| ImageError::Auth {
                registry: reference.registry.clone(),
                message: format!("{}: auths.{key}.auth is not UTF-8", path.display()),
            })?;
            let Some((u, p)) = s.split_once(':') else {
                return Err(ImageError::Auth {
                    registry: reference.registry.clone(),
                    message: format!("{}: auths.{key}.auth is not user:password", path.display()),
                });
            };
            return Ok((Some((u.to_string(), p.to_string())), note));
        }
        if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
            return Ok((Some((u.clone(), p.clone())), note));
        }
    }
    Ok((None, note))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse() {
        let (s, p) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(s, "bearer");
        assert_eq!(
            p,
            [
                (
                    "realm".to_string(),
                    "https://auth.example/token".to_string()
                ),
                ("service".to_string(), "registry.example".to_string()),
                ("scope".to_string(), "repository:a/b:pull,push".to_string()),
            ]
        );
        let (s, p) = parse_challenge(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!((s.as_str(), p.len()), ("basic", 1));
        assert!(parse_challenge(r#"Bearer realm="unterminated"#).is_none());
        assert!(parse_challenge("").is_none());
    }

    #[test]
    fn docker_config_auths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            format!(
                r#"{{"auths": {{"https://index.docker.io/v1/": {{"auth": "{}"}},
                    "127.0.0.1:5000": {{"auth": "{}"}},
                    "http://other.example:8080/": {{"username": "u", "password": "p"}} }}}}"#,
                base64_encode(b"hub:secret"),
                base64_encode(b"local:pa:ss")
            ),
        )
        .unwrap();
        let get = |r: &str| {
            docker_config_credentials(Some(dir.path()), &Reference::parse(r).unwrap())
                .unwrap()
                .0
        };
        assert_eq!(get("nginx"), Some(("hub".into(), "secret".into())));
        assert_eq!(
            get("127.0.0.1:5000/x"),
            Some(("local".into(), "pa:ss".into()))
        );
        assert_eq!(get("other.example:8080/x"), Some(("u".into(), "p".into())));
        assert_eq!(get("ghcr.io/x"), None);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            docker_config_credentials(Some(empty.path()), &Reference::parse("x").unwrap())
                .unwrap()
                .0,
            None
        );
    }

    #[test]
    fn loopback_and_encoding() {
        assert!(url_is_loopback("http://127.0.0.1:5001/token"));
        assert!(url_is_loopback("http://localhost/token?x=1"));
        assert!(!url_is_loopback("http://127.0.0.1.evil.example/token"));
        assert_eq!(url_encode("sha256:ab"), "sha256%3Aab");
        assert_eq!(
            url_encode("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }
}
