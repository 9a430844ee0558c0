//! Shared fixtures and harnesses for the `image_*` integration tests: file
//! trees with every entry kind, the real tools (skopeo, umoci, gzip,
//! docker-registry, htpasswd, openssl) and a comparison of an unpacked
//! rootfs with the trees it came from.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scratchify::image::{
    Account, AssembleOptions, Compression, DirSpec, ImageConfigSpec, ImageSpec, LayerCache,
    LayerInput, RootfsSpec, synthesize_rootfs,
};
use scratchify::tree::{EntryKind, FileSource, FileTree, ImagePath, TreeEntry};
use sha2::{Digest as _, Sha256};

/// Run a tool; a missing tool is a test failure naming the package.
pub fn tool(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {program}: {e}. It is required by the image tests; \
             tests/run installs it (Debian package: {})",
                package_of(program)
            )
        })
}

fn package_of(program: &str) -> &'static str {
    match program {
        "skopeo" => "skopeo",
        "umoci" => "umoci",
        "docker-registry" => "docker-registry",
        "htpasswd" => "apache2-utils",
        "openssl" => "openssl",
        "gzip" => "gzip",
        "zstd" => "zstd",
        "sha256sum" => "coreutils",
        _ => "?",
    }
}

/// Run a tool and require success; returns stdout.
pub fn tool_ok(program: &str, args: &[&str]) -> String {
    let out = tool(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Deterministic pseudo-random bytes (xorshift), incompressible enough.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

pub fn p(s: &str) -> ImagePath {
    ImagePath::new(s).unwrap()
}

pub fn disk_file(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> TreeEntry {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    TreeEntry {
        kind: EntryKind::File {
            source: FileSource::Disk(path),
            size: bytes.len() as u64,
        },
        mode,
        uid: 0,
        gid: 0,
    }
}

pub fn hardlink(target: &str) -> TreeEntry {
    TreeEntry {
        kind: EntryKind::Hardlink { target: p(target) },
        mode: 0o755,
        uid: 0,
        gid: 0,
    }
}

pub const LONG_DIR: &str = "usr/share/dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";

pub fn long_path() -> String {
    format!("{LONG_DIR}/{}", "f".repeat(150))
}

pub const UNICODE_PATH: &str = "usr/share/doc/ünïcödé/日本語 ファイル.txt";

/// The fixture image: a synthesized rootfs layer, a "store path" layer with
/// every entry kind, and a COPY layer with a hard link into the store layer.
pub struct Fixture {
    pub spec: ImageSpec,
    /// Keeps disk sources alive.
    pub src: tempfile::TempDir,
}

pub fn fixture() -> Fixture {
    let src = tempfile::tempdir().unwrap();
    let d = src.path();

    let rootfs = synthesize_rootfs(&RootfsSpec {
        accounts: vec![Account {
            name: "app".into(),
            uid: 1000,
            gid: 1000,
            home: "/home/app".into(),
            shell: None,
            gecos: None,
        }],
        groups: vec![],
        dirs: vec![DirSpec {
            path: p("home/app"),
            mode: 0o750,
            uid: 1000,
            gid: 1000,
        }],
        os_release: Some(vec![
            ("ID".into(), "debian".into()),
            ("VERSION_ID".into(), "12".into()),
        ]),
        nsswitch: true,
        ca_bundle: None,
    })
    .unwrap();

    let mut store = FileTree::new();
    store.insert(
        p("usr/bin/hello"),
        disk_file(d, "hello", b"#!hello\n", 0o755),
    );
    store.insert(
        p("usr/bin/su-helper"),
        TreeEntry::bytes(b"suid".to_vec(), 0o4755),
    );
    store.insert(
        p("usr/bin/sg-helper"),
        TreeEntry::bytes(b"sgid".to_vec(), 0o2711),
    );
    store.insert(
        p("usr/lib/libx.so.1.2"),
        disk_file(d, "libx", &random_bytes(300 * 1024, 7), 0o644),
    );
    store.insert(p("usr/lib/libx.so.1"), TreeEntry::symlink("libx.so.1.2"));
    store.insert(
        p("usr/lib/libx.so"),
        TreeEntry::symlink("/usr/lib/libx.so.1"),
    );
    store.insert(
        p(UNICODE_PATH),
        TreeEntry::bytes("ünïcödé\n".as_bytes().to_vec(), 0o644),
    );
    store.insert(p(&long_path()), TreeEntry::bytes(b"long\n".to_vec(), 0o600));
    store.insert(
        p("usr/bin/hard-a"),
        TreeEntry::bytes(b"same inode\n".to_vec(), 0o755),
    );
    store.insert(p("usr/bin/hard-b"), hardlink("usr/bin/hard-a"));
    // Sorts before its target: the writer must re-root the group.
    store.insert(p("usr/bin/aaa-link"), hardlink("usr/bin/hard-a"));
    store.insert(p("usr/share/empty"), TreeEntry::bytes(Vec::new(), 0o644));
    store.insert(p("var/lib/app"), TreeEntry::dir(0o750).owned(1000, 1000));
    store.insert(
        p("var/lib/app/state"),
        TreeEntry::bytes(b"state\n".to_vec(), 0o640).owned(1000, 1000),
    );
    store.insert(p("opt/private"), TreeEntry::dir(0o700));

    let mut copy = FileTree::new();
    copy.insert(
        p("app/main"),
        disk_file(d, "main", &random_bytes(4096, 9), 0o755),
    );
    copy.insert(
        p("app/config.json"),
        TreeEntry::bytes(br#"{"a":1}"#.to_vec(), 0o644),
    );
    // A hard link to a file of another layer: written as a copy.
    copy.insert(p("app/libx-copy"), hardlink("usr/lib/libx.so.1.2"));

    let mut labels = BTreeMap::new();
    labels.insert("org.opencontainers.image.title".into(), "fixture".into());
    let config = ImageConfigSpec {
        entrypoint: Some(vec!["/app/main".into()]),
        cmd: Some(vec!["--serve".into()]),
        env: vec!["PATH=/usr/bin".into(), "MODE=test".into()],
        user: Some(rootfs.resolve_user("app").unwrap()),
        working_dir: Some("/app".into()),
        exposed_ports: ["8080".to_string(), "53/udp".to_string()].into(),
        volumes: ["/var/lib/app".to_string()].into(),
        labels,
        stop_signal: Some("SIGTERM".into()),
        healthcheck: Some(scratchify::image::Healthcheck {
            test: vec!["CMD".into(), "/app/main".into(), "--health".into()],
            interval: Some(Duration::from_secs(30)),
            timeout: Some(Duration::from_secs(5)),
            start_period: None,
            start_interval: None,
            retries: Some(3),
        }),
        extra_history: vec![scratchify::image::HistoryNote {
            created_by: "CMD [\"--serve\"] (Dockerfile:9)".into(),
            comment: None,
        }],
        ..Default::default()
    };

    let spec = ImageSpec {
        layers: vec![
            LayerInput {
                tree: rootfs.tree,
                created_by: "synthesized: passwd, group, /tmp, os-release".into(),
                comment: None,
                content_key: None,
            },
            LayerInput {
                tree: store,
                created_by: "apt-get install hello (Dockerfile:5)".into(),
                comment: Some("hello_1.0_amd64".into()),
                content_key: Some("sha256:deb-artifact-of-hello".into()),
            },
            LayerInput {
                tree: copy,
                created_by: "COPY app/ /app/ (Dockerfile:7)".into(),
                comment: None,
                content_key: None,
            },
        ],
        config,
    };
    Fixture { spec, src }
}

pub fn opts(cache: &Path) -> AssembleOptions {
    AssembleOptions {
        source_date_epoch: 1_700_000_000,
        compression: Compression::default(),
        cache: LayerCache::Dir(cache.to_path_buf()),
    }
}

/// What a path should be after unpacking every layer in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Dir,
    File(Vec<u8>),
    Symlink(String),
}

#[derive(Debug, Clone)]
pub struct Expected {
    pub what: Expect,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// The union of the layers' trees (later layers win), with hard links
/// resolved to their content and missing parents as `0755 root` dirs.
pub fn expected_rootfs(spec: &ImageSpec) -> BTreeMap<String, Expected> {
    let mut out: BTreeMap<String, Expected> = BTreeMap::new();
    let all: Vec<&FileTree> = spec.layers.iter().map(|l| &l.tree).collect();
    let content = |source: &FileSource| match source {
        FileSource::Bytes(b) => b.to_vec(),
        FileSource::Disk(p) => fs::read(p).unwrap(),
    };
    let find = |target: &ImagePath| -> TreeEntry {
        let mut cur = target.clone();
        for _ in 0..10 {
            let e = all
                .iter()
                .rev()
                .find_map(|t| t.entries.get(&cur))
                .unwrap_or_else(|| panic!("fixture link target {cur} missing"))
                .clone();
            match &e.kind {
                EntryKind::Hardlink { target } => cur = target.clone(),
                _ => return e,
            }
        }
        panic!("link loop in fixture")
    };
    for tree in &all {
        for (path, e) in &tree.entries {
            for anc in path.ancestors() {
                out.entry(anc.as_str().to_string()).or_insert(Expected {
                    what: Expect::Dir,
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                });
            }
            let (what, mode, uid, gid) = match &e.kind {
                EntryKind::Dir => (Expect::Dir, e.mode, e.uid, e.gid),
                EntryKind::File { source, .. } => {
                    (Expect::File(content(source)), e.mode, e.uid, e.gid)
                }
                EntryKind::Symlink { target } => {
                    (Expect::Symlink(target.clone()), e.mode, e.uid, e.gid)
                }
                EntryKind::Hardlink { target } => {
                    let t = find(target);
                    let EntryKind::File { source, .. } = &t.kind else {
                        panic!("fixture hard link to a non-file")
                    };
                    (Expect::File(content(source)), t.mode, t.uid, t.gid)
                }
            };
            out.insert(
                path.as_str().to_string(),
                Expected {
                    what,
                    mode: mode & 0o7777,
                    uid,
                    gid,
                },
            );
        }
    }
    out
}

/// Compare an unpacked rootfs with the expectation; returns every mismatch.
pub fn compare_rootfs(
    rootfs: &Path,
    expected: &BTreeMap<String, Expected>,
    check_owner: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, want) in expected {
        let full = rootfs.join(path);
        let meta = match fs::symlink_metadata(&full) {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!("/{path}: missing ({e})"));
                continue;
            }
        };
        match &want.what {
            Expect::Dir if !meta.is_dir() => problems.push(format!("/{path}: not a directory")),
            Expect::File(bytes) => {
                if !meta.is_file() {
                    problems.push(format!("/{path}: not a regular file"));
                } else if fs::read(&full).map(|b| Sha256::digest(&b)).ok()
                    != Some(Sha256::digest(bytes))
                {
                    problems.push(format!("/{path}: content differs"));
                }
            }
            Expect::Symlink(t) => match fs::read_link(&full) {
                Ok(got) if got == Path::new(t) => {}
                other => problems.push(format!("/{path}: symlink {other:?}, want {t}")),
            },
            Expect::Dir => {}
        }
        if !meta.file_type().is_symlink() {
            let mode = meta.permissions().mode() & 0o7777;
            if mode != want.mode {
                problems.push(format!("/{path}: mode {mode:o}, want {:o}", want.mode));
            }
        }
        if check_owner && (meta.uid(), meta.gid()) != (want.uid, want.gid) {
            problems.push(format!(
                "/{path}: owner {}:{}, want {}:{}",
                meta.uid(),
                meta.gid(),
                want.uid,
                want.gid
            ));
        }
    }
    // Nothing extra.
    let mut stack = vec![rootfs.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(rootfs)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if !expected.contains_key(&rel) {
                problems.push(format!("/{rel}: unexpected"));
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
    problems
}

pub fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, child: &mut Child, log: &Path) {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "docker-registry exited ({status}) before listening:\n{}",
                fs::read_to_string(log).unwrap_or_default()
            );
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if start.elapsed() > Duration::from_secs(30) {
            panic!(
                "docker-registry did not listen on {port} within 30s:\n{}",
                fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How the test registry authenticates.
pub enum RegistryAuth {
    None,
    Htpasswd {
        user: String,
        password: String,
    },
    Token {
        realm: String,
        service: String,
        issuer: String,
        cert: PathBuf,
    },
}

/// A real `docker-registry` on 127.0.0.1, stopped on drop.
pub struct Registry {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Registry {
    pub fn start(auth: RegistryAuth) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let storage = dir.path().join("storage");
        fs::create_dir_all(&storage).unwrap();
        let auth_yaml = match auth {
            RegistryAuth::None => String::new(),
            RegistryAuth::Htpasswd { user, password } => {
                let line = tool_ok("htpasswd", &["-Bbn", &user, &password]);
                let file = dir.path().join("htpasswd");
                fs::write(&file, line.trim_end().to_string() + "\n").unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: scratchify-test\n    path: {}\n",
                    file.display()
                )
            }
            RegistryAuth::Token {
                realm,
                service,
                issuer,
                cert,
            } => format!(
                "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
                cert.display()
            ),
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth_yaml}",
            storage.display()
        );
        let cfg_path = dir.path().join("config.yml");
        fs::write(&cfg_path, config).unwrap();
        let log = dir.path().join("registry.log");
        let log_file = fs::File::create(&log).unwrap();
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(&cfg_path)
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start docker-registry: {e}. tests/run installs it (Debian package: docker-registry)"
                )
            });
        wait_for_port(port, &mut child, &log);
        Registry { child, port, dir }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Blob upload requests the registry has logged so far.
    pub fn count_in_log(&self, needle: &str) -> usize {
        self.log().matches(needle).count()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn b64url(data: &[u8]) -> String {
    scratchify::image::base64_encode(data)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// A token server for the registry's `token` auth: checks basic
/// credentials, then issues an RS256 JWT signed by `openssl` with a
/// self-signed certificate the registry trusts (`x5c` header).
pub struct TokenServer {
    pub port: u16,
    pub cert: PathBuf,
    pub issued: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
    handle: Option<std::thread::JoinHandle<()>>,
}

pub const TOKEN_SERVICE: &str = "scratchify-test-registry";
pub const TOKEN_ISSUER: &str = "scratchify-test-issuer";

impl TokenServer {
    pub fn start(user: &str, password: &str) -> TokenServer {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let cert = dir.path().join("cert.pem");
        tool_ok(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                key.to_str().unwrap(),
                "-out",
                cert.to_str().unwrap(),
                "-subj",
                "/CN=scratchify-test-token",
                "-days",
                "2",
            ],
        );
        let der = tool(
            "openssl",
            &["x509", "-in", cert.to_str().unwrap(), "-outform", "DER"],
        );
        assert!(der.status.success());
        let x5c = scratchify::image::base64_encode(&der.stdout);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let issued = Arc::new(Mutex::new(Vec::new()));
        let expected_auth = format!(
            "Basic {}",
            scratchify::image::base64_encode(format!("{user}:{password}").as_bytes())
        );
        let (stop2, issued2, key2) = (stop.clone(), issued.clone(), key.clone());
        let handle = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = serve_token(stream, &expected_auth, &key2, &x5c, &issued2);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        TokenServer {
            port,
            cert,
            issued,
            stop,
            _dir: dir,
            handle: Some(handle),
        }
    }

    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve_token(
    mut stream: TcpStream,
    expected_auth: &str,
    key: &Path,
    x5c: &str,
    issued: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = Vec::new();
    let mut buf = [0u8; 4096];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 || req.len() > 64 * 1024 {
            return Ok(());
        }
        req.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&req).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let target = request_line.split(' ').nth(1).unwrap_or("");
    let auth = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.trim().to_string());
    let respond = |stream: &mut TcpStream, status: &str, body: &str| {
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(resp.as_bytes())
    };
    if auth.as_deref() != Some(expected_auth) {
        issued.lock().unwrap().push(format!("DENIED {target}"));
        return respond(
            &mut stream,
            "401 Unauthorized",
            r#"{"details":"bad credentials"}"#,
        );
    }
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut service = String::new();
    let mut access = Vec::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = url_decode(v);
        match k {
            "service" => service = v,
            "scope" => {
                // repository:<name>:<actions>
                let mut parts = v.splitn(3, ':');
                let (t, name, actions) = (
                    parts.next().unwrap_or(""),
                    parts.next().unwrap_or(""),
                    parts.next().unwrap_or(""),
                );
                access.push(serde_json::json!({
                    "type": t, "name": name,
                    "actions": actions.split(',').collect::<Vec<_>>(),
                }));
            }
            _ => {}
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [x5c]});
    let claims = serde_json::json!({
        "iss": TOKEN_ISSUER, "sub": "tester", "aud": service,
        "exp": now + 600, "nbf": now - 60, "iat": now - 60,
        "jti": format!("jti-{now}-{}", issued.lock().unwrap().len()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(signing_input.as_bytes())?;
    let out = child.wait_with_output()?;
    let jwt = format!("{signing_input}.{}", b64url(&out.stdout));
    issued.lock().unwrap().push(format!("GRANTED {target}"));
    let body = serde_json::json!({"token": jwt, "expires_in": 600}).to_string();
    respond(&mut stream, "200 OK", &body)
}

/// A docker `config.json` directory with an `auths` entry.
pub fn docker_config(registry: &str, user: &str, password: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let auth = scratchify::image::base64_encode(format!("{user}:{password}").as_bytes());
    fs::write(
        dir.path().join("config.json"),
        format!(r#"{{"auths":{{"{registry}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    dir
}

pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}
