//! The pipeline's file and config handling, on `FROM scratch` Dockerfiles
//! with generated build contexts (no package store, no network): COPY
//! semantics, `.dockerignore`, `--chown`/`--chmod`, heredocs, sources that
//! escape the context, `COPY --from` with and without `--stage-output`, RUN
//! file operations, shell-form commands, and the errors that stop a build,
//! each naming its Dockerfile line. The images are written and read back
//! from their layers.

mod build_support;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use build_support::*;
use scratchify::image::{self, Format, LayerCache, Reference, WriteOptions};
use scratchify::pipeline::{self, BuildOptions, Built, PipelineError};

fn write_file(dir: &Path, rel: &str, content: &str, mode: u32) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

struct Ctx {
    dir: tempfile::TempDir,
}

impl Ctx {
    fn new(dockerfile: &str) -> Ctx {
        let dir = tempfile::tempdir().unwrap();
        write_file(dir.path(), "Dockerfile", dockerfile, 0o644);
        write_file(dir.path(), "app", "#!/not/run\nbinary", 0o755);
        Ctx { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn opts(&self) -> BuildOptions {
        let mut o = options(LayerCache::Disabled);
        o.context = Some(self.path().to_path_buf());
        o
    }

    fn build_with(&self, opts: &BuildOptions) -> Result<Built, PipelineError> {
        pipeline::build(&self.path().join("Dockerfile"), opts)
    }

    fn build(&self) -> Result<Built, PipelineError> {
        self.build_with(&self.opts())
    }
}

fn ok(r: Result<Built, PipelineError>) -> Built {
    r.unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)))
}

/// The error's messages (all of them, for a multi-error failure), each
/// with its `file:line`.
fn messages(r: Result<Built, PipelineError>) -> Vec<String> {
    match r {
        Ok(_) => vec!["<built without error>".into()],
        Err(PipelineError::Dockerfile(f)) => f.errors.iter().map(|e| e.one_line()).collect(),
        Err(e) => vec![e.to_string()],
    }
}

fn layout_of(b: &Built) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    image::write(
        &b.image,
        Format::Oci,
        &layout,
        &WriteOptions {
            reference: Some(Reference::parse("t/t:latest").unwrap()),
        },
    )
    .unwrap();
    (tmp, layout)
}

fn file_content(b: &Built, path: &str) -> Vec<u8> {
    let (_tmp, layout) = layout_of(b);
    let bundle = umoci_unpack(&layout, "latest", _tmp.path()).unwrap();
    std::fs::read(bundle.join("rootfs").join(path)).unwrap_or_default()
}

#[test]
fn copy_follows_docker_rules() {
    let ctx = Ctx::new(
        "FROM scratch\n\
         COPY app /usr/local/bin/app\n\
         COPY --chown=1000:2000 --chmod=0750 conf/ /etc/app/\n\
         COPY <<EOF /etc/app/motd\nhello\nEOF\n\
         COPY . /ctx/\n\
         COPY *.txt /texts/\n\
         CMD [\"/usr/local/bin/app\"]\n",
    );
    let d = ctx.path();
    write_file(d, "conf/a.conf", "a", 0o644);
    write_file(d, "conf/sub/b.conf", "b", 0o600);
    write_file(d, "secret.key", "s", 0o600);
    write_file(d, "debug.log", "d", 0o644);
    write_file(d, "keep.log", "k", 0o644);
    write_file(d, "one.txt", "1", 0o644);
    write_file(d, "two.txt", "2", 0o644);
    write_file(d, "node_modules/x/index.js", "x", 0o644);
    write_file(
        d,
        ".dockerignore",
        "# no secrets\nsecret.key\n*.log\n!keep.log\n/node_modules\n",
        0o644,
    );
    let b = ok(ctx.build());
    let (_tmp, layout) = layout_of(&b);
    let e = final_entries(&layout);
    let mut failures = Vec::new();
    let mut expect = |path: &str, kind: char, mode: u32, uid: u64, gid: u64| match e.get(path) {
        Some(x) if x.kind == kind && x.mode == mode && x.uid == uid && x.gid == gid => {}
        other => failures.push(format!(
            "/{path}: {other:?}, want {kind} {mode:o} {uid}:{gid}"
        )),
    };
    expect("usr/local/bin/app", 'f', 0o755, 0, 0);
    expect("etc/app", 'd', 0o750, 1000, 2000);
    expect("etc/app/a.conf", 'f', 0o750, 1000, 2000);
    expect("etc/app/sub", 'd', 0o750, 1000, 2000);
    expect("etc/app/sub/b.conf", 'f', 0o750, 1000, 2000);
    expect("etc/app/motd", 'f', 0o644, 0, 0);
    expect("ctx/keep.log", 'f', 0o644, 0, 0);
    expect("ctx/conf/sub/b.conf", 'f', 0o600, 0, 0);
    expect("ctx/Dockerfile", 'f', 0o644, 0, 0);
    expect("texts/one.txt", 'f', 0o644, 0, 0);
    expect("texts/two.txt", 'f', 0o644, 0, 0);
    expect("tmp", 'd', 0o1777, 0, 0);
    for gone in [
        "ctx/secret.key",
        "ctx/debug.log",
        "ctx/node_modules",
        "ctx/node_modules/x/index.js",
        "texts/keep.log",
    ] {
        if e.contains_key(gone) {
            failures.push(format!(
                "/{gone} is in the image though .dockerignore or the pattern excludes it"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(file_content(&b, "etc/app/motd"), b"hello\n");
    // One layer per COPY, after the rootfs layer, each naming its line.
    let labels: Vec<&str> = b.layers.iter().map(|l| l.created_by.as_str()).collect();
    assert_eq!(labels.len(), 6, "{labels:#?}");
    assert!(labels[0].starts_with("scratchify rootfs:"), "{labels:#?}");
    assert_eq!(labels[1], "COPY app /usr/local/bin/app (Dockerfile:2)");
    assert!(labels[3].ends_with("(Dockerfile:4)"), "{labels:#?}");
    // Recorded copies carry their source and checksums.
    let app = b
        .copied
        .iter()
        .find(|c| c.path.as_str() == "usr/local/bin/app")
        .unwrap();
    assert_eq!(app.from, "app");
    assert_eq!(
        app.sha256,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            b"#!/not/run\nbinary"
        ))
    );
}

#[test]
fn sources_that_escape_the_context_or_are_ignored_are_errors() {
    let cases: Vec<(&str, &str)> = vec![
        ("COPY ../outside /x", "climbs out of the build context"),
        ("COPY abs/passwd /x", "leaves the build context"),
        ("COPY up/passwd /x", "climbs out of the build context"),
        ("COPY secret.key /x", "is excluded by"),
        ("COPY missing.txt /x", "is not in the build context"),
        (
            "COPY one.txt two.txt /notadir",
            "needs a directory destination",
        ),
        (
            "COPY --from=builder /out /x",
            "the build stage's output is not available: scratchify does not run build steps",
        ),
        (
            "COPY --from=nginx:1.27 /etc/nginx /x",
            "scratchify does not pull images",
        ),
        ("COPY --chown=ghost app /x", "no user named \"ghost\""),
        ("COPY --chmod=u+q app /x", "--chmod"),
    ];
    let mut failures = Vec::new();
    for (line, want) in cases {
        let ctx = Ctx::new(&format!(
            "FROM scratch AS builder\nCOPY app /out/app\n\nFROM scratch\n{line}\nCMD [\"/x\"]\n"
        ));
        let d = ctx.path();
        symlink("/etc", d.join("abs")).unwrap();
        symlink("../../..", d.join("up")).unwrap();
        write_file(d, "secret.key", "s", 0o600);
        write_file(d, "one.txt", "1", 0o644);
        write_file(d, "two.txt", "2", 0o644);
        write_file(d, ".dockerignore", "secret.key\n", 0o644);
        let got = messages(ctx.build());
        let hit = got
            .iter()
            .any(|m| m.contains(want) && m.contains("Dockerfile:5"));
        if !hit {
            failures.push(format!(
                "{line}: want {want:?} at Dockerfile:5, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn stage_output_supplies_copy_from() {
    let ctx = Ctx::new(
        "FROM debian:bookworm AS builder\n\
         RUN make\n\
         FROM scratch\n\
         COPY --from=builder /out/app /app\n\
         COPY --from=builder /out/link /app2\n\
         COPY --from=builder /out/dir/ /srv/\n\
         CMD [\"/app\"]\n",
    );
    let stage = tempfile::tempdir().unwrap();
    write_file(stage.path(), "out/app", "built", 0o755);
    write_file(stage.path(), "out/dir/a", "A", 0o644);
    // An absolute link inside a stage's filesystem means that filesystem's
    // root, not the host's.
    symlink("/out/app", stage.path().join("out/link")).unwrap();
    symlink("/etc/passwd", stage.path().join("out/dir/hostlink")).unwrap();
    let mut opts = ctx.opts();
    opts.stage_outputs
        .insert("builder".into(), stage.path().to_path_buf());
    let b = ok(ctx.build_with(&opts));
    assert_eq!(file_content(&b, "app"), b"built");
    assert_eq!(file_content(&b, "app2"), b"built");
    let (_tmp, layout) = layout_of(&b);
    let e = final_entries(&layout);
    assert_eq!(e["srv/a"].kind, 'f');
    // Links inside a copied directory stay links.
    assert_eq!(e["srv/hostlink"].kind, 'l');
    assert_eq!(e["srv/hostlink"].link.as_deref(), Some("/etc/passwd"));
    assert!(
        b.copied.iter().any(|c| c.from == "builder:out/app"),
        "{:?}",
        b.copied
    );
}

#[test]
fn run_file_operations_apply_in_order() {
    let ctx = Ctx::new(
        "FROM scratch\n\
         COPY app /usr/local/bin/app\n\
         COPY conf/ /etc/app/\n\
         RUN mkdir -p /data /var/log/app \\\n\
          && chown -R 1000:1000 /data \\\n\
          && chmod 0700 /data \\\n\
          && ln -s /data /srv \\\n\
          && echo hello > /etc/greeting \\\n\
          && rm /etc/app/unwanted.conf \\\n\
          && chmod +x /etc/app/run.conf\n\
         CMD [\"/usr/local/bin/app\"]\n",
    );
    write_file(ctx.path(), "conf/unwanted.conf", "u", 0o644);
    write_file(ctx.path(), "conf/run.conf", "r", 0o644);
    let b = ok(ctx.build());
    let (_tmp, layout) = layout_of(&b);
    let e = final_entries(&layout);
    let mut failures = Vec::new();
    match e.get("data") {
        Some(x) if x.kind == 'd' && x.mode == 0o700 && x.uid == 1000 && x.gid == 1000 => {}
        other => failures.push(format!("/data {other:?}")),
    }
    match e.get("srv") {
        Some(x) if x.kind == 'l' && x.link.as_deref() == Some("/data") => {}
        other => failures.push(format!("/srv {other:?}")),
    }
    if e.contains_key("etc/app/unwanted.conf") {
        failures.push("rm /etc/app/unwanted.conf did not remove it".into());
    }
    match e.get("etc/app/run.conf") {
        Some(x) if x.mode == 0o755 => {}
        other => failures.push(format!("/etc/app/run.conf {other:?}")),
    }
    if !e.contains_key("var/log/app") {
        failures.push("/var/log/app missing".into());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(file_content(&b, "etc/greeting"), b"hello\n");
    assert!(
        b.synthesized
            .iter()
            .any(|s| s.path.as_str() == "data" && s.description.contains("1000:1000")),
        "{:#?}",
        b.synthesized
    );
}

#[test]
fn shell_form_commands_become_exec_form_or_fail_without_a_shell() {
    let ctx = Ctx::new(
        "FROM scratch\nCOPY app /app\nENTRYPOINT /app --flag \"a b\"\nCMD [\"ignored\"]\n\
         HEALTHCHECK --interval=5s CMD /app check\n",
    );
    let b = ok(ctx.build());
    assert_eq!(
        b.config.entrypoint,
        Some(vec!["/app".into(), "--flag".into(), "a b".into()])
    );
    assert_eq!(b.config.cmd, None, "a shell-form ENTRYPOINT never saw CMD");
    assert!(b.warnings.iter().any(|w| w.code == "pipeline::cmd-ignored"));
    let h = b.config.healthcheck.as_ref().unwrap();
    assert_eq!(h.test, vec!["CMD", "/app", "check"]);
    assert_eq!(h.interval, Some(std::time::Duration::from_secs(5)));
    let (_tmp, layout) = layout_of(&b);
    let cfg = image_config(&layout);
    assert_eq!(
        cfg["config"]["Entrypoint"],
        serde_json::json!(["/app", "--flag", "a b"])
    );

    let cases = [
        (
            "CMD /app && echo done",
            "pipeline::needs-shell",
            "needs a shell",
        ),
        ("CMD echo $HOME", "pipeline::needs-shell", "needs a shell"),
        (
            "CMD [\"/missing\"]",
            "pipeline::command-not-found",
            "runs /missing, which is not in the image",
        ),
        (
            "CMD [\"python3\"]",
            "pipeline::command-not-found",
            "runs python3",
        ),
        ("USER ghost\nCMD [\"/app\"]", "pipeline::user", "ghost"),
    ];
    let mut failures = Vec::new();
    for (lines, _code, want) in cases {
        let ctx = Ctx::new(&format!("FROM scratch\nCOPY app /app\n{lines}\n"));
        let got = messages(ctx.build());
        if !got
            .iter()
            .any(|m| m.contains(want) && m.contains("Dockerfile:3"))
        {
            failures.push(format!(
                "{lines:?}: want {want:?} at Dockerfile:3, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn other_ecosystems_are_a_clear_error_naming_the_line() {
    // The alpine examples plan fine; building them needs a store we lack.
    let dir = example_dir("alpine-nginx");
    let got = messages(pipeline::build(
        &dir.join("Dockerfile"),
        &options(LayerCache::Disabled),
    ));
    assert!(
        got.iter()
            .any(|m| m.contains("no alpine store yet") && m.contains("Dockerfile:3")),
        "{got:?}"
    );
    let dir = example_dir("alpine-flask");
    let got = messages(pipeline::build(
        &dir.join("Dockerfile"),
        &options(LayerCache::Disabled),
    ));
    assert!(
        got.iter().any(|m| m.contains("no alpine store yet")),
        "{got:?}"
    );
    assert!(
        got.iter().any(|m| m.contains("no pypi store yet")),
        "{got:?}"
    );
}

#[test]
fn accounts_get_ids_like_useradd() {
    let ctx = Ctx::new(
        "FROM scratch\nCOPY app /app\n\
         RUN groupadd --system web && useradd --system --gid web web \\\n\
          && useradd --system worker && useradd alice && useradd -u 1500 bob\n\
         USER worker\nCMD [\"/app\"]\n",
    );
    let b = ok(ctx.build());
    let user = |n: &str| {
        b.accounts
            .iter()
            .find(|a| a.name == n)
            .map(|a| (a.uid, a.gid))
    };
    let group = |n: &str| b.groups.iter().find(|g| g.name == n).map(|g| g.gid);
    assert_eq!(group("web"), Some(999));
    assert_eq!(user("web"), Some((999, 999)));
    // A system user without -g gets its own group, gid = uid when free.
    assert_eq!(user("worker"), Some((998, 998)));
    assert_eq!(group("worker"), Some(998));
    assert_eq!(user("alice"), Some((1000, 1000)));
    assert_eq!(user("bob"), Some((1500, 1500)));
    assert_eq!(b.config.user.as_deref(), Some("998:998"));
}

/// The CA bundle algorithm against the real `update-ca-certificates`
/// output of this host: the host's certificate files, as a tree, must give
/// the host's `/etc/ssl/certs/ca-certificates.crt` byte for byte.
#[test]
fn ca_bundle_matches_update_ca_certificates_on_this_host() {
    use scratchify::tree::{EntryKind, FileSource, FileTree, ImagePath, TreeEntry};
    let conf = std::fs::read_to_string("/etc/ca-certificates.conf")
        .expect("this host has ca-certificates installed");
    let disabled: Vec<String> = conf
        .lines()
        .filter_map(|l| l.strip_prefix('!'))
        .map(|l| format!("usr/share/ca-certificates/{l}"))
        .collect();
    let mut tree = FileTree::new();
    for root in [
        "/usr/share/ca-certificates",
        "/usr/local/share/ca-certificates",
    ] {
        let mut stack = vec![PathBuf::from(root)];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                let meta = std::fs::metadata(&p).unwrap();
                if meta.is_dir() {
                    stack.push(p);
                } else {
                    let ip = ImagePath::new(p.to_str().unwrap()).unwrap();
                    if disabled.iter().any(|d| d == ip.as_str()) {
                        continue;
                    }
                    tree.insert(
                        ip,
                        TreeEntry {
                            kind: EntryKind::File {
                                source: FileSource::Disk(p.clone()),
                                size: meta.len(),
                            },
                            mode: 0o644,
                            uid: 0,
                            gid: 0,
                        },
                    );
                }
            }
        }
    }
    let bundle = pipeline::cabundle::build(&[("host".into(), &tree)])
        .unwrap()
        .expect("certificates found");
    let host = std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap();
    assert!(bundle.certificates.len() > 100);
    assert!(
        bundle.content == host,
        "our bundle ({} bytes, {} certificates) differs from update-ca-certificates' ({} bytes)",
        bundle.bytes,
        bundle.certificates.len(),
        host.len()
    );
}

fn tar_gz(path: &Path, entries: &[(&str, &[u8])]) {
    let f = std::fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o640);
        h.set_uid(7);
        h.set_gid(8);
        // Written raw: the tar crate refuses `..` in set_path.
        let bytes = name.as_bytes();
        h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
}

#[test]
fn add_unpacks_local_archives_and_refuses_escaping_entries() {
    let ctx = Ctx::new(
        "FROM scratch\nCOPY app /app\nADD bundle.tar.gz /opt/\nADD notes.txt /opt/\nCMD [\"/app\"]\n",
    );
    tar_gz(
        &ctx.path().join("bundle.tar.gz"),
        &[("lib/x.so", b"elf"), ("etc/y.conf", b"y")],
    );
    write_file(ctx.path(), "notes.txt", "plain", 0o644);
    let b = ok(ctx.build());
    let (_tmp, layout) = layout_of(&b);
    let e = final_entries(&layout);
    match e.get("opt/lib/x.so") {
        Some(x) if x.kind == 'f' && x.mode == 0o640 && x.uid == 7 && x.gid == 8 && x.size == 3 => {}
        other => panic!("/opt/lib/x.so: {other:?}"),
    }
    assert_eq!(e["opt/notes.txt"].kind, 'f');
    assert!(
        !e.contains_key("opt/bundle.tar.gz"),
        "the archive was unpacked, not copied"
    );

    let ctx = Ctx::new("FROM scratch\nCOPY app /app\nADD evil.tar.gz /opt/\nCMD [\"/app\"]\n");
    tar_gz(
        &ctx.path().join("evil.tar.gz"),
        &[("../../etc/passwd", b"x")],
    );
    let got = messages(ctx.build());
    assert!(
        got.iter()
            .any(|m| m.contains("climbs out") && m.contains("Dockerfile:3")),
        "{got:?}"
    );
}

/// A one-shot HTTP server on 127.0.0.1 serving `body` to every request.
fn serve(body: &'static [u8]) -> (u16, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        for _ in 0..2 {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(body);
        }
    });
    (port, handle)
}

#[test]
fn add_url_is_downloaded_and_checked_against_its_checksum() {
    const BODY: &[u8] = b"downloaded content\n";
    let (port, server) = serve(BODY);
    let good = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(BODY));
    let ctx = Ctx::new(&format!(
        "FROM scratch\nCOPY app /app\n\
         ADD --checksum=sha256:{good} http://127.0.0.1:{port}/files/data.txt /srv/\n\
         ADD --checksum=sha256:{} http://127.0.0.1:{port}/files/data.txt /srv/bad\n\
         CMD [\"/app\"]\n",
        "0".repeat(64)
    ));
    let got = messages(ctx.build());
    server.join().unwrap();
    assert!(
        got.iter()
            .any(|m| m.contains("checksum mismatch") && m.contains("Dockerfile:4")),
        "{got:?}"
    );
    assert!(!got.iter().any(|m| m.contains("Dockerfile:3")), "{got:?}");

    let (port, server) = serve(BODY);
    let ctx = Ctx::new(&format!(
        "FROM scratch\nCOPY app /app\n\
         ADD --checksum=sha256:{good} http://127.0.0.1:{port}/files/data.txt /srv/\n\
         CMD [\"/app\"]\n"
    ));
    let b = ok(ctx.build());
    drop(server);
    let (_tmp, layout) = layout_of(&b);
    let e = final_entries(&layout);
    match e.get("srv/data.txt") {
        Some(x) if x.kind == 'f' && x.mode == 0o600 && x.size == BODY.len() as u64 => {}
        other => panic!("/srv/data.txt: {other:?}"),
    }
}
