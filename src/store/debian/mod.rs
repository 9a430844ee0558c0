//! The Debian (and Ubuntu) store: apt repositories, verified end to end.
//!
//! Trust chain: the suite's `InRelease` is verified against the keyring
//! (apt's `Signed-By`, or `--keyring`); each Packages index is checked
//! against the SHA256 the signed Release lists for it (compressed and,
//! when listed, uncompressed); each .deb against the SHA256 its Packages
//! entry lists, before it is unpacked. A mismatch is an error naming the
//! file, and nothing unverified is kept in the cache.
//!
//! Where the repository is: [`DebianConfig::mirror`] (`--mirror`), else
//! `SCRATCHIFY_DEBIAN_MIRROR`, else the host's apt sources. See
//! [`DebianStore::new`] for how suites and keyrings are chosen.
//!
//! Index freshness: a verified Release is reused for
//! [`DebianConfig::index_max_age`] (default one hour), like a recent
//! `apt-get update`; `refresh` forces a fetch, `offline` never fetches. If
//! fetching fails on the network (not on verification) and a cached
//! Release exists, the cached one is used and a note says so.

pub mod deb822;
pub mod index;
pub mod policy;
pub mod relation;
pub mod release;
pub mod resolver;
pub mod sources;
pub mod trust;
pub mod unpack;
pub mod version;

use std::collections::HashMap;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;

use self::index::PackageIndex;
use self::policy::Policy;
use self::release::Release;
use self::sources::{AptSource, SignedBy};
use self::trust::Keyring;
use super::cache::{Cache, sha256_hex};
use super::fetch::{Fetcher, Retry, join_url};
use super::{
    Closure, Edge, IndexInfo, PackageRequest, PruneRule, ResolveOptions, Store, StoreError,
    StoreKind, StorePath, UnpackedPackage,
};
use crate::tree::{FileTree, ImagePath, TreeEntry};

/// Configuration of a [`DebianStore`].
#[derive(Clone, Debug)]
pub struct DebianConfig {
    /// The release (`bookworm`, `jammy`, ...). Its `-updates` and
    /// `-security` suites are used too.
    pub release: String,
    /// dpkg architecture name (`amd64`).
    pub arch: String,
    /// Repository base URI for the release and its updates suite.
    pub mirror: Option<String>,
    /// Repository base URI for the security suite.
    pub security_mirror: Option<String>,
    /// Keyring file(s) to verify Release files with, overriding the apt
    /// sources' `Signed-By`.
    pub keyring: Option<PathBuf>,
    /// Components (default: those of the matching apt source, else `main`).
    pub components: Option<Vec<String>>,
    /// Root whose `etc/apt` is read (normally `/`).
    pub apt_root: PathBuf,
    pub cache: Cache,
    pub index_max_age: Duration,
    pub refresh: bool,
    pub offline: bool,
    /// Show a progress bar while downloading (only when stderr is a
    /// terminal, whatever this says).
    pub progress: bool,
    /// How transfers that fail in passing are tried again.
    pub fetch_retry: Retry,
}

impl DebianConfig {
    /// Defaults for `release`: amd64, the cache at its usual place, the
    /// mirror from `SCRATCHIFY_DEBIAN_MIRROR` (and
    /// `SCRATCHIFY_DEBIAN_SECURITY_MIRROR`) if set, else apt's sources,
    /// and the tries per transfer from `SCRATCHIFY_FETCH_ATTEMPTS`.
    pub fn new(release: impl Into<String>) -> Result<DebianConfig, StoreError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Ok(DebianConfig {
            release: release.into(),
            arch: "amd64".into(),
            mirror: env("SCRATCHIFY_DEBIAN_MIRROR"),
            security_mirror: env("SCRATCHIFY_DEBIAN_SECURITY_MIRROR"),
            keyring: env("SCRATCHIFY_DEBIAN_KEYRING").map(PathBuf::from),
            components: None,
            apt_root: PathBuf::from("/"),
            cache: Cache::from_env()?,
            index_max_age: Duration::from_secs(3600),
            refresh: false,
            offline: false,
            progress: true,
            fetch_retry: Retry::from_env()?,
        })
    }
}

/// The release a host runs (`VERSION_CODENAME` of `/etc/os-release`).
pub fn host_release(root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(root.join("etc/os-release")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

/// Which keys a suite's Release must be signed with.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyringSource {
    Files(Vec<PathBuf>),
    Inline(String),
    /// Keys of apt's trusted keyrings, optionally restricted to these
    /// fingerprints.
    AptTrusted(Vec<String>),
}

/// One suite to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuiteSource {
    pub uri: String,
    pub suite: String,
    pub components: Vec<String>,
    pub keyring: KeyringSource,
    /// Whether a missing suite is an error (named in the configuration or
    /// apt sources) or just a note (derived by convention, like
    /// `<release>-security` on the release's mirror).
    pub required: bool,
}

struct LoadedIndex {
    index: PackageIndex,
    info: IndexInfo,
}

struct LoadedSuite {
    source: SuiteSource,
    indices: Vec<LoadedIndex>,
}

/// A suite (absent when an optional one does not exist) and notes.
type SuiteLoad = (Option<LoadedSuite>, Vec<String>);

struct Loaded {
    suites: Vec<LoadedSuite>,
    notes: Vec<String>,
}

/// Index loads started by any [`DebianStore`] of this process (see
/// [`DebianStore::index_loads`]).
static INDEX_LOADS: AtomicUsize = AtomicUsize::new(0);

/// The Debian store.
pub struct DebianStore {
    config: DebianConfig,
    sources: Vec<SuiteSource>,
    notes: Vec<String>,
    fetcher: Fetcher,
    policy: &'static Policy,
    loaded: Mutex<Option<Arc<Loaded>>>,
}

impl std::fmt::Debug for DebianStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DebianStore")
            .field("release", &self.config.release)
            .field("sources", &self.sources)
            .finish()
    }
}

impl DebianStore {
    /// Choose the suites to read:
    ///
    /// * With a mirror (option or environment): `<release>` (required) and
    ///   `<release>-updates` there; `<release>-security` on the security
    ///   mirror if one is given (required), else tried on the mirror.
    /// * Else from the host's apt sources: each of the three suites from
    ///   the entry that lists it (required); a suite no entry lists is
    ///   tried where convention puts it (updates on the release's URI,
    ///   security on the URI of any `*-security` entry). When no entry
    ///   lists the release itself (the host runs another release), the
    ///   URI of the host's release entry is used.
    ///
    /// Keyrings: `keyring` if given; else the `Signed-By` of the apt entry
    /// the URI came from (or of the host's release entry for a configured
    /// mirror); else apt's trusted keyrings.
    pub fn new(config: DebianConfig) -> Result<DebianStore, StoreError> {
        let (apt, mut notes) = sources::read_host_sources(&config.apt_root);
        let apt: Vec<AptSource> = apt
            .into_iter()
            .filter(|s| s.architectures.is_empty() || s.architectures.contains(&config.arch))
            .collect();
        let sources = plan_suites(&config, &apt, &mut notes)?;
        Ok(DebianStore {
            fetcher: Fetcher::new(config.fetch_retry),
            config,
            sources,
            notes,
            policy: Policy::builtin(),
            loaded: Mutex::new(None),
        })
    }

    pub fn config(&self) -> &DebianConfig {
        &self.config
    }

    /// The suites this store reads.
    pub fn suites(&self) -> &[SuiteSource] {
        &self.sources
    }

    fn debian_dir(&self) -> PathBuf {
        self.config.cache.root().join("debian")
    }

    /// How many times stores of this process have started to read and
    /// parse their Release files and Packages indices (seconds of work for
    /// a release with updates and security suites). A store does it once,
    /// on first use, and keeps the result; a second store of the same
    /// release does it again. Tests count with it that `scratchify build`
    /// loads the indices once; it counts every thread, so such a test must
    /// be alone in its test binary.
    pub fn index_loads() -> usize {
        INDEX_LOADS.load(Ordering::Relaxed)
    }

    fn load(&self) -> Result<Arc<Loaded>, StoreError> {
        let mut guard = self
            .loaded
            .lock()
            .map_err(|_| StoreError::Config("index loader poisoned by an earlier panic".into()))?;
        if let Some(l) = guard.as_ref() {
            return Ok(l.clone());
        }
        INDEX_LOADS.fetch_add(1, Ordering::Relaxed);
        let mut keyrings: HashMap<KeyringSource, Arc<Keyring>> = HashMap::new();
        for s in &self.sources {
            if !keyrings.contains_key(&s.keyring) {
                let k = self.load_keyring(&s.keyring)?;
                keyrings.insert(s.keyring.clone(), Arc::new(k));
            }
        }
        let results: Vec<Result<SuiteLoad, StoreError>> = self
            .sources
            .par_iter()
            .map(|s| {
                let keyring = keyrings
                    .get(&s.keyring)
                    .ok_or_else(|| StoreError::Config("keyring not loaded".into()))?;
                self.load_suite(s, keyring)
            })
            .collect();
        let mut suites = Vec::new();
        let mut notes = self.notes.clone();
        for r in results {
            let (suite, mut n) = r?;
            notes.append(&mut n);
            suites.extend(suite);
        }
        if suites.is_empty() {
            return Err(StoreError::Config(format!(
                "no suite of {} could be read",
                self.config.release
            )));
        }
        let loaded = Arc::new(Loaded { suites, notes });
        *guard = Some(loaded.clone());
        Ok(loaded)
    }

    fn load_keyring(&self, source: &KeyringSource) -> Result<Keyring, StoreError> {
        match source {
            KeyringSource::Files(files) => Keyring::load(files),
            KeyringSource::Inline(text) => Keyring::from_blobs(
                &[("Signed-By".into(), text.as_bytes().to_vec())],
                "inline Signed-By key".into(),
            ),
            KeyringSource::AptTrusted(fingerprints) => {
                let files = trust::apt_trusted_keyrings(&self.config.apt_root);
                if files.is_empty() {
                    return Err(StoreError::Config(
                        "no keyring: the source has no Signed-By and apt has no trusted keyrings; pass --keyring"
                            .into(),
                    ));
                }
                let mut k = Keyring::load(&files)?;
                if !fingerprints.is_empty() {
                    k.restrict_to(fingerprints);
                }
                Ok(k)
            }
        }
    }

    /// Fetch (or reuse) and verify one suite's Release, then its indices.
    fn load_suite(&self, source: &SuiteSource, keyring: &Keyring) -> Result<SuiteLoad, StoreError> {
        let mut notes = Vec::new();
        let Some(release_text) = self.release_text(source, keyring, &mut notes)? else {
            return Ok((None, notes));
        };
        let release_url = join_url(&source.uri, &format!("dists/{}/InRelease", source.suite));
        let release = Release::parse(&release_text).map_err(|reason| StoreError::BadIndex {
            file: release_url.clone(),
            reason,
        })?;
        if !release.names_suite(&source.suite) {
            return Err(StoreError::BadIndex {
                file: release_url,
                reason: format!(
                    "is the Release of {}, not {}",
                    release
                        .codename
                        .as_deref()
                        .or(release.suite.as_deref())
                        .unwrap_or("an unnamed suite"),
                    source.suite
                ),
            });
        }
        if let Some(until) = release.valid_until.as_deref().and_then(release::parse_date) {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            if until < now {
                return Err(StoreError::BadIndex {
                    file: release_url,
                    reason: format!(
                        "expired (Valid-Until: {}); a replayed or stale Release is refused",
                        release.valid_until.as_deref().unwrap_or("")
                    ),
                });
            }
        }
        if !release.architectures.is_empty() && !release.architectures.contains(&self.config.arch) {
            return Err(StoreError::BadIndex {
                file: release_url,
                reason: format!("does not list architecture {}", self.config.arch),
            });
        }
        let mut indices = Vec::new();
        for component in &source.components {
            match self.load_index(source, &release, component)? {
                Some(i) => indices.push(i),
                None => notes.push(format!(
                    "{} {}: no {component} component for {}",
                    source.uri, source.suite, self.config.arch
                )),
            }
        }
        Ok((
            Some(LoadedSuite {
                source: source.clone(),
                indices,
            }),
            notes,
        ))
    }

    /// The verified text of a suite's Release, from the cache when fresh.
    /// `None` when an optional suite does not exist.
    fn release_text(
        &self,
        source: &SuiteSource,
        keyring: &Keyring,
        notes: &mut Vec<String>,
    ) -> Result<Option<String>, StoreError> {
        let key =
            sha256_hex(format!("{}\n{}\n{}", source.uri, source.suite, keyring.digest).as_bytes());
        let cached = self
            .debian_dir()
            .join("dists")
            .join(&key[..32])
            .join("Release");
        let age = std::fs::metadata(&cached)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        let read_cached = || std::fs::read_to_string(&cached).ok();
        if let Some(age) = age
            && (self.config.offline || (!self.config.refresh && age <= self.config.index_max_age))
            && let Some(text) = read_cached()
        {
            return Ok(Some(text));
        }
        if self.config.offline {
            return Err(StoreError::Config(format!(
                "offline, and no cached Release for {} {}",
                source.uri, source.suite
            )));
        }
        let dist = join_url(&source.uri, &format!("dists/{}", source.suite));
        let fetched = self.fetch_release(&dist, keyring);
        let text = match fetched {
            Ok(t) => t,
            Err(StoreError::NotFound { url }) if !source.required => {
                notes.push(format!("{} not found; suite {} skipped", url, source.suite));
                return Ok(None);
            }
            Err(StoreError::Fetch { url, reason }) if read_cached().is_some() => {
                notes.push(format!(
                    "fetching {url} failed ({reason}); using the cached Release"
                ));
                return Ok(read_cached());
            }
            Err(e) => return Err(e),
        };
        self.config.cache.write_atomic(&cached, |f| {
            use std::io::Write;
            f.write_all(text.as_bytes())
                .map_err(|e| StoreError::io(&cached, e))
        })?;
        Ok(Some(text))
    }

    /// InRelease, or Release + Release.gpg when there is no InRelease.
    fn fetch_release(&self, dist: &str, keyring: &Keyring) -> Result<String, StoreError> {
        const MAX: u64 = 64 << 20;
        let inrelease = join_url(dist, "InRelease");
        match self.fetcher.get(&inrelease, MAX) {
            Ok(data) => keyring.verify_cleartext(&data, &inrelease),
            Err(StoreError::NotFound { .. }) => {
                let release_url = join_url(dist, "Release");
                let data = self.fetcher.get(&release_url, MAX)?;
                let sig_url = join_url(dist, "Release.gpg");
                let sig = match self.fetcher.get(&sig_url, 1 << 20) {
                    Ok(s) => s,
                    Err(StoreError::NotFound { .. }) => {
                        return Err(StoreError::Signature {
                            file: release_url,
                            reason: "unsigned: neither InRelease nor Release.gpg exists".into(),
                        });
                    }
                    Err(e) => return Err(e),
                };
                keyring.verify_detached(&data, &sig, &release_url)?;
                String::from_utf8(data).map_err(|_| StoreError::BadIndex {
                    file: release_url,
                    reason: "not UTF-8".into(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// One component's Packages index: from the index cache, else
    /// downloaded, verified, parsed and cached. `None` if the Release does
    /// not list it.
    fn load_index(
        &self,
        source: &SuiteSource,
        release: &Release,
        component: &str,
    ) -> Result<Option<LoadedIndex>, StoreError> {
        let base = format!("{component}/binary-{}/Packages", self.config.arch);
        let uncompressed = release.files.get(&base);
        let Some((suffix, listed)) = ["xz", "gz", "zst"]
            .iter()
            .find_map(|ext| {
                release
                    .files
                    .get(&format!("{base}.{ext}"))
                    .map(|l| (format!(".{ext}"), l))
            })
            .or_else(|| uncompressed.map(|l| (String::new(), l)))
        else {
            return Ok(None);
        };
        let info = IndexInfo {
            repository: source.uri.clone(),
            suite: source.suite.clone(),
            component: component.to_string(),
            date: release.date.clone().unwrap_or_default(),
            packages_sha256: listed.sha256.clone(),
            packages_size: listed.size,
            packages_uncompressed_size: uncompressed.map(|l| l.size),
        };
        let idx_path = self
            .debian_dir()
            .join("index")
            .join(format!("{}-{}.idx", listed.sha256, self.config.arch));
        if let Some(index) = PackageIndex::open(&idx_path)
            && index.source_sha256 == listed.sha256
        {
            return Ok(Some(LoadedIndex { index, info }));
        }
        let dist = join_url(&source.uri, &format!("dists/{}", source.suite));
        let plain_url = join_url(&dist, &format!("{base}{suffix}"));
        let data = {
            let by_hash = release.acquire_by_hash.then(|| {
                join_url(
                    &dist,
                    &format!(
                        "{component}/binary-{}/by-hash/SHA256/{}",
                        self.config.arch, listed.sha256
                    ),
                )
            });
            let first = match &by_hash {
                Some(u) => self.fetcher.get(u, listed.size),
                None => self.fetcher.get(&plain_url, listed.size),
            };
            match first {
                Err(StoreError::NotFound { .. }) if by_hash.is_some() => {
                    self.fetcher.get(&plain_url, listed.size)?
                }
                other => other?,
            }
        };
        verify_bytes(&data, listed, &plain_url)?;
        let limit = uncompressed.map(|l| l.size).unwrap_or(4 << 30);
        let text = decompress(&suffix, &data, limit, &plain_url)?;
        if let Some(u) = uncompressed {
            verify_bytes(&text, u, &join_url(&dist, &base))?;
        }
        let text = String::from_utf8(text).map_err(|_| StoreError::BadIndex {
            file: plain_url.clone(),
            reason: "not UTF-8".into(),
        })?;
        let (bytes, _skipped) = PackageIndex::build(&text, &self.config.arch, &listed.sha256)
            .map_err(|reason| StoreError::BadIndex {
                file: plain_url.clone(),
                reason,
            })?;
        self.config.cache.write_atomic(&idx_path, |f| {
            use std::io::Write;
            f.write_all(&bytes)
                .map_err(|e| StoreError::io(&idx_path, e))
        })?;
        let index = PackageIndex::open(&idx_path).ok_or_else(|| StoreError::BadIndex {
            file: plain_url,
            reason: "index did not round-trip".into(),
        })?;
        Ok(Some(LoadedIndex { index, info }))
    }

    /// Resolve without pruning (the closure apt would install).
    fn resolve_full(&self, requests: &[PackageRequest]) -> Result<Closure, StoreError> {
        let loaded = self.load()?;
        let suites: Vec<resolver::Suite<'_>> = loaded
            .suites
            .iter()
            .flat_map(|s| {
                s.indices.iter().map(move |i| resolver::Suite {
                    index: &i.index,
                    suite: &s.source.suite,
                    repository: &s.source.uri,
                })
            })
            .collect();
        let resolved = resolver::resolve(&suites, &self.config.arch, requests)?;
        Ok(Closure {
            store: StoreKind::Debian,
            release: self.config.release.clone(),
            arch: self.config.arch.clone(),
            requests: resolved.requests,
            paths: resolved.paths,
            pruned: Vec::new(),
            recommendations: resolved.recommendations,
            indices: loaded
                .suites
                .iter()
                .flat_map(|s| s.indices.iter().map(|i| i.info.clone()))
                .collect(),
            notes: loaded.notes.clone(),
        })
    }

    /// The script-only rule for one edge (see grammar/packages/debian.toml).
    fn script_edge(&self, from: &StorePath, edge: &Edge) -> Option<PruneRule> {
        if let Some(rule) = self.policy.script_only.get(&edge.to)
            && !rule.needed_at_run_time_by(&from.name)
        {
            return Some(PruneRule::ScriptOnly {
                reason: rule.reason.clone(),
            });
        }
        for alternative in edge.relation.split('|') {
            let name = alternative
                .trim()
                .split(|c: char| c.is_ascii_whitespace() || c == '(' || c == ':')
                .next()
                .unwrap_or("");
            if let Some(rule) = self.policy.script_only.get(name)
                && rule.marks_group
                && !rule.needed_at_run_time_by(&from.name)
            {
                return Some(PruneRule::ScriptGroup {
                    marker: name.to_string(),
                    reason: rule.reason.clone(),
                });
            }
        }
        None
    }

    /// The top-level directories this release's layout turns into
    /// symlinks into /usr: none for a split-/usr release; `bin`, `sbin`,
    /// `lib`, and `lib64` on architectures whose dynamic loader lives there
    /// (Debian's usrmerge links the directories a system has, and only
    /// those ship files). `lib32`/`libx32` multilib trees stay real
    /// directories.
    fn merged_dirs(&self) -> Vec<&'static str> {
        if !self.policy.merged_usr(&self.config.release) {
            return Vec::new();
        }
        let mut dirs = vec!["bin", "sbin", "lib"];
        if ["amd64", "ppc64el", "loong64", "sparc64"].contains(&self.config.arch.as_str()) {
            dirs.push("lib64");
        }
        dirs
    }

    fn download(&self, paths: &[&StorePath]) -> Result<(), StoreError> {
        if paths.is_empty() {
            return Ok(());
        }
        let total: u64 = paths.iter().map(|p| p.download_size).sum();
        let bar = (self.config.progress && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(format!("downloading {} packages", paths.len()));
            bar
        });
        let results: Vec<Result<(), StoreError>> = download_pool()?.install(|| {
            paths
                .par_iter()
                .map(|p| {
                    let url = p.url();
                    self.fetcher.read_with(&url, |body| {
                        let mut body = Progress {
                            inner: body,
                            bar: bar.as_ref(),
                            counted: 0,
                        };
                        let ingested = self.config.cache.ingest_blob(
                            &mut body,
                            &p.sha256,
                            Some(p.download_size),
                            &url,
                        );
                        if ingested.is_err()
                            && let Some(b) = body.bar
                        {
                            // A retry counts the file again from its start.
                            b.dec(body.counted);
                        }
                        ingested.map(|_| ())
                    })
                })
                .collect()
        });
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        results.into_iter().collect()
    }
}

/// Downloads wait on the network, not the CPU: they get their own pool,
/// wider than the machine, made once.
fn download_pool() -> Result<&'static rayon::ThreadPool, StoreError> {
    static POOL: std::sync::OnceLock<Result<rayon::ThreadPool, String>> =
        std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(8)
            .thread_name(|i| format!("scratchify-download-{i}"))
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| StoreError::Config(format!("download threads: {e}")))
}

struct Progress<'b, R> {
    inner: R,
    bar: Option<&'b indicatif::ProgressBar>,
    /// Bytes this transfer added to the bar.
    counted: u64,
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(b) = self.bar {
            b.inc(n as u64);
            self.counted += n as u64;
        }
        Ok(n)
    }
}

fn verify_bytes(data: &[u8], listed: &release::Listed, url: &str) -> Result<(), StoreError> {
    if data.len() as u64 != listed.size {
        return Err(StoreError::Size {
            file: url.to_string(),
            expected: listed.size,
            actual: data.len() as u64,
        });
    }
    let actual = sha256_hex(data);
    if actual != listed.sha256 {
        return Err(StoreError::Checksum {
            file: url.to_string(),
            expected: listed.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

fn decompress(suffix: &str, data: &[u8], limit: u64, url: &str) -> Result<Vec<u8>, StoreError> {
    let reader: Box<dyn Read + '_> =
        match suffix {
            "" => Box::new(data),
            ".xz" => Box::new(liblzma::read::XzDecoder::new_multi_decoder(data)),
            ".gz" => Box::new(flate2::read::MultiGzDecoder::new(data)),
            ".zst" => Box::new(zstd::stream::read::Decoder::new(data).map_err(|e| {
                StoreError::BadIndex {
                    file: url.to_string(),
                    reason: e.to_string(),
                }
            })?),
            _ => {
                return Err(StoreError::BadIndex {
                    file: url.to_string(),
                    reason: "unknown compression".into(),
                });
            }
        };
    let mut out = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| StoreError::BadIndex {
            file: url.to_string(),
            reason: format!("decompressing: {e}"),
        })?;
    if out.len() as u64 > limit {
        return Err(StoreError::BadIndex {
            file: url.to_string(),
            reason: "decompresses to more than the size the Release lists".into(),
        });
    }
    Ok(out)
}

/// Suite planning (see [`DebianStore::new`]).
fn plan_suites(
    config: &DebianConfig,
    apt: &[AptSource],
    notes: &mut Vec<String>,
) -> Result<Vec<SuiteSource>, StoreError> {
    let release = config.release.as_str();
    let updates = format!("{release}-updates");
    let security = format!("{release}-security");
    let entry_for = |suite: &str| apt.iter().find(|s| s.suites.iter().any(|x| x == suite));
    // The host's own release entry: lists a suite that is not an
    // -updates/-security/-backports/-proposed pocket.
    let pocket = |s: &str| {
        ["-updates", "-security", "-backports", "-proposed"]
            .iter()
            .any(|p| s.ends_with(p))
    };
    let host_entry = apt
        .iter()
        .find(|s| s.suites.iter().any(|x| !pocket(x) && !x.ends_with('/')));
    let keyring_of = |entry: Option<&AptSource>| -> KeyringSource {
        if let Some(k) = &config.keyring {
            return KeyringSource::Files(vec![k.clone()]);
        }
        match entry.and_then(|e| e.signed_by.clone()) {
            Some(SignedBy::Files(f)) => KeyringSource::Files(f),
            Some(SignedBy::Inline(t)) => KeyringSource::Inline(t),
            Some(SignedBy::Fingerprints(f)) => KeyringSource::AptTrusted(f),
            None => KeyringSource::AptTrusted(Vec::new()),
        }
    };
    let components_of = |entry: Option<&AptSource>| -> Vec<String> {
        if let Some(c) = &config.components {
            return c.clone();
        }
        match entry {
            Some(e) if !e.components.is_empty() => e.components.clone(),
            _ => vec!["main".to_string()],
        }
    };
    let suite = |uri: &str, suite: &str, entry: Option<&AptSource>, required: bool| SuiteSource {
        uri: uri.trim_end_matches('/').to_string(),
        suite: suite.to_string(),
        components: components_of(entry),
        keyring: keyring_of(entry),
        required,
    };
    let mut out = Vec::new();
    if let Some(mirror) = &config.mirror {
        let entry = entry_for(release).or(host_entry);
        out.push(suite(mirror, release, entry, true));
        out.push(suite(mirror, &updates, entry, false));
        match &config.security_mirror {
            Some(sec) => out.push(suite(sec, &security, entry_for(&security).or(entry), true)),
            None => out.push(suite(mirror, &security, entry, false)),
        }
        return Ok(out);
    }
    let main_entry = entry_for(release);
    let main = main_entry.or(host_entry).ok_or_else(|| {
        StoreError::Config(
            "no Debian mirror: pass --mirror, set SCRATCHIFY_DEBIAN_MIRROR, or configure apt sources"
                .into(),
        )
    })?;
    if main_entry.is_none() {
        notes.push(format!(
            "apt sources do not list {release}; using {} from {}",
            main.uri,
            main.file.display()
        ));
    }
    out.push(suite(&main.uri, release, Some(main), true));
    match entry_for(&updates) {
        Some(e) => out.push(suite(&e.uri, &updates, Some(e), true)),
        None => out.push(suite(&main.uri, &updates, Some(main), false)),
    }
    if let Some(sec) = &config.security_mirror {
        out.push(suite(
            sec,
            &security,
            entry_for(&security).or(Some(main)),
            true,
        ));
    } else if let Some(e) = entry_for(&security) {
        out.push(suite(&e.uri, &security, Some(e), true));
    } else if let Some(e) = apt
        .iter()
        .find(|s| s.suites.iter().any(|x| x.ends_with("-security")))
    {
        out.push(suite(&e.uri, &security, Some(e), false));
    } else {
        out.push(suite(&main.uri, &security, Some(main), false));
    }
    Ok(out)
}

impl Store for DebianStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Debian
    }

    fn resolve(
        &self,
        requests: &[PackageRequest],
        options: &ResolveOptions,
    ) -> Result<Closure, StoreError> {
        let mut closure = self.resolve_full(requests)?;
        if options.prune {
            closure.prune_edges(|from, edge| self.script_edge(from, edge));
        }
        Ok(closure)
    }

    fn fetch(&self, paths: &[StorePath]) -> Result<(), StoreError> {
        let missing: Vec<&StorePath> = paths
            .iter()
            .filter(|p| !self.config.cache.blob_path(&p.sha256).is_file())
            .collect();
        self.download(&missing)
    }

    fn unpack(&self, path: &StorePath) -> Result<UnpackedPackage, StoreError> {
        if path.sha256.len() != 64 || !path.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::Request {
                request: path.id(),
                reason: "not a sha256".into(),
            });
        }
        let dir = unpack::unpacked_dir(self.config.cache.root(), &path.sha256);
        let merged = self.merged_dirs();
        if dir.is_dir() {
            match unpack::load(&dir, &merged, &path.name, &path.version) {
                Ok(u) => return Ok(u),
                // A damaged entry (interrupted writer, disk trouble) is
                // rebuilt from the verified .deb.
                Err(_) => {
                    let _ = std::fs::remove_dir_all(&dir);
                }
            }
        }
        let deb = match self.config.cache.verify_blob(&path.sha256) {
            Ok(Some(p)) => p,
            Ok(None) | Err(StoreError::Checksum { .. }) => {
                self.download(&[path])?;
                self.config
                    .cache
                    .verify_blob(&path.sha256)?
                    .ok_or_else(|| StoreError::NotFound { url: path.url() })?
            }
            Err(e) => return Err(e),
        };
        let parent = dir.parent().unwrap_or(self.config.cache.root());
        std::fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e))?;
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-unpack-")
            .tempdir_in(parent)
            .map_err(|e| StoreError::io(parent, e))?;
        let work = tmp.path().join("pkg");
        unpack::unpack_deb(&deb, &work, &path.url())?;
        match std::fs::rename(&work, &dir) {
            Ok(()) => {}
            // Another build unpacked the same package meanwhile: use theirs.
            Err(_) if dir.join("manifest.json").is_file() => {}
            Err(e) => return Err(StoreError::io(&dir, e)),
        }
        drop(tmp);
        unpack::load(&dir, &merged, &path.name, &path.version)
    }

    fn layout(&self) -> FileTree {
        let mut tree = FileTree::new();
        let merged = self.merged_dirs();
        if merged.is_empty() {
            return tree;
        }
        if let Ok(usr) = ImagePath::new("usr") {
            tree.insert(usr, TreeEntry::dir(0o755));
        }
        for d in merged {
            let target = format!("usr/{d}");
            if let (Ok(link), Ok(dir)) = (ImagePath::new(d), ImagePath::new(&target)) {
                tree.insert(dir, TreeEntry::dir(0o755));
                tree.insert(link, TreeEntry::symlink(target));
            }
        }
        tree
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apt(uri: &str, suites: &[&str], key: &str) -> AptSource {
        AptSource {
            uri: uri.into(),
            suites: suites.iter().map(|s| s.to_string()).collect(),
            components: vec!["main".into()],
            signed_by: Some(SignedBy::Files(vec![PathBuf::from(key)])),
            architectures: vec![],
            file: PathBuf::from("x.sources"),
        }
    }

    fn config(release: &str) -> DebianConfig {
        DebianConfig {
            release: release.into(),
            arch: "amd64".into(),
            mirror: None,
            security_mirror: None,
            keyring: None,
            components: None,
            apt_root: PathBuf::from("/nonexistent"),
            cache: Cache::at("/nonexistent"),
            index_max_age: Duration::from_secs(1),
            refresh: false,
            offline: false,
            progress: false,
            fetch_retry: Retry::default(),
        }
    }

    #[test]
    fn suites_from_apt_sources() {
        let apt = vec![
            apt(
                "http://m.example/debian",
                &["bookworm", "bookworm-updates"],
                "/k1",
            ),
            apt(
                "http://s.example/debian-security",
                &["bookworm-security"],
                "/k2",
            ),
        ];
        let mut notes = vec![];
        let s = plan_suites(&config("bookworm"), &apt, &mut notes).unwrap();
        assert_eq!(s.len(), 3);
        assert!(s.iter().all(|s| s.required));
        assert_eq!(s[2].uri, "http://s.example/debian-security");
        assert_eq!(
            s[2].keyring,
            KeyringSource::Files(vec![PathBuf::from("/k2")])
        );
        // Another release: same mirrors, updates and security optional.
        let s = plan_suites(&config("trixie"), &apt, &mut notes).unwrap();
        assert_eq!(
            s.iter()
                .map(|s| (s.suite.as_str(), s.required))
                .collect::<Vec<_>>(),
            [
                ("trixie", true),
                ("trixie-updates", false),
                ("trixie-security", false)
            ]
        );
        assert_eq!(s[2].uri, "http://s.example/debian-security");
        assert!(!notes.is_empty());
    }

    #[test]
    fn explicit_mirror_wins() {
        let apt = vec![apt("http://m.example/debian", &["bookworm"], "/k1")];
        let mut c = config("bookworm");
        c.mirror = Some("file:/repo/".into());
        c.keyring = Some(PathBuf::from("/test.gpg"));
        let s = plan_suites(&c, &apt, &mut vec![]).unwrap();
        assert!(s.iter().all(|s| s.uri == "file:/repo"));
        assert!(
            s.iter()
                .all(|s| s.keyring == KeyringSource::Files(vec!["/test.gpg".into()]))
        );
        assert!(plan_suites(&config("bookworm"), &[], &mut vec![]).is_err());
    }
}
