//! Building the Debian examples against the real Debian repository named by
//! the host's apt sources (network on the first run; the download cache is
//! shared under the target directory). The images are checked with the
//! real tools: skopeo reads the archives, umoci unpacks the layouts, and the
//! rootfs must hold the entrypoint program and no shell or package manager.

mod build_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use build_support::*;
use scratchify::image::{self, Format, LayerCache, Reference, WriteOptions};
use scratchify::pipeline::{self, Built};
use sha2::{Digest, Sha256};

const EXAMPLES: [&str; 4] = ["nginx", "curl", "redis", "python-web"];

fn built(name: &str) -> &'static Built {
    static CELLS: OnceLock<BTreeMap<&'static str, OnceLock<Built>>> = OnceLock::new();
    let cells = CELLS.get_or_init(|| EXAMPLES.iter().map(|e| (*e, OnceLock::new())).collect());
    cells[name].get_or_init(|| build_example(name))
}

fn write(b: &Built, format: Format, dest: &Path) {
    image::write(
        &b.image,
        format,
        dest,
        &WriteOptions {
            reference: Some(Reference::parse("scratchify-test/example:latest").unwrap()),
        },
    )
    .unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
}

fn sha256_file(p: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(p).unwrap()))
}

#[test]
fn every_example_builds_a_minimal_runnable_rootfs() {
    let mut failures = Vec::new();
    for ex in EXAMPLES {
        let b = built(ex);
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("image.tar");
        write(b, Format::OciArchive, &archive);
        for transport in ["oci-archive", "docker-archive"] {
            match run(Command::new("skopeo")
                .arg("inspect")
                .arg(format!("{transport}:{}", archive.display())))
            {
                Ok(out) => {
                    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
                    if transport == "oci-archive"
                        && v["Digest"].as_str() != Some(&b.image.digest().to_string())
                    {
                        failures.push(format!(
                            "{ex}: skopeo sees digest {} but the build made {}",
                            v["Digest"],
                            b.image.digest()
                        ));
                    }
                }
                Err(e) => failures.push(format!("{ex}: {e}")),
            }
        }
        let layout = tmp.path().join("layout");
        write(b, Format::Oci, &layout);
        let bundle = match umoci_unpack(&layout, "latest", tmp.path()) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{ex}: {e}"));
                continue;
            }
        };
        let rootfs = bundle.join("rootfs");

        // The program the image runs is there, and is an ELF executable.
        let config = image_config(&layout);
        let argv: Vec<String> = config["config"]["Entrypoint"]
            .as_array()
            .or(config["config"]["Cmd"].as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let path_env: String = config["config"]["Env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.as_str()?.strip_prefix("PATH=").map(str::to_string))
            .next()
            .unwrap_or_default();
        let path: Vec<&str> = path_env.split(':').collect();
        match argv.first().and_then(|a| find_in_rootfs(&rootfs, a, &path)) {
            Some(host) => {
                let head = std::fs::read(&host).unwrap_or_default();
                if !head.starts_with(b"\x7fELF") {
                    failures.push(format!("{ex}: {} is not an ELF program", host.display()));
                }
            }
            None => failures.push(format!("{ex}: {argv:?}: argv[0] is not in the rootfs")),
        }
        let forbidden = forbidden_files(&rootfs);
        if !forbidden.is_empty() {
            failures.push(format!(
                "{ex}: shell or package manager in the image: {forbidden:?}"
            ));
        }
        // COPY'd files hold the context's bytes.
        for c in &b.copied {
            let want = std::fs::read(example_dir(ex).join(&c.from)).unwrap_or_default();
            let got = std::fs::read(rootfs.join(c.path.as_str())).unwrap_or_default();
            if want != got || want.is_empty() {
                failures.push(format!("{ex}: {} does not hold {}'s bytes", c.path, c.from));
            }
        }
        // umoci's runtime config runs the image as its config says.
        let rt: serde_json::Value =
            serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
        let user = config["config"]["User"].as_str().unwrap_or("0:0");
        let rt_user = format!(
            "{}:{}",
            rt["process"]["user"]["uid"], rt["process"]["user"]["gid"]
        );
        if rt_user != user && !(user == "0:0" && rt_user == "0:0") {
            failures.push(format!("{ex}: runtime user {rt_user}, image user {user}"));
        }
        // Nothing the slim pass dropped as a whole package is in the image.
        let entries = final_entries(&layout);
        for d in &b.slim.dropped_packages {
            let status = format!("var/lib/dpkg/status.d/{}", d.name);
            if entries.contains_key(&status) {
                failures.push(format!("{ex}: dropped package {} is registered", d.name));
            }
        }
        for k in &b.slim.kept_packages {
            let status = format!("var/lib/dpkg/status.d/{}", k.name);
            if !entries.contains_key(&status) {
                failures.push(format!(
                    "{ex}: kept package {} is not registered for scanners",
                    k.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn nginx_rootfs_matches_the_plan() {
    let b = built("nginx");
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    write(b, Format::Oci, &layout);
    let entries = final_entries(&layout);
    let config = image_config(&layout);
    let mut failures = Vec::new();

    let nginx = b
        .accounts
        .iter()
        .find(|a| a.name == "nginx")
        .expect("the plan's nginx user");
    let group = b
        .groups
        .iter()
        .find(|g| g.name == "nginx")
        .expect("nginx group");
    if nginx.gid != group.gid {
        failures.push(format!(
            "nginx's primary gid {} is not group nginx ({})",
            nginx.gid, group.gid
        ));
    }
    for dir in ["var/log/nginx", "var/cache/nginx", "run/nginx"] {
        match entries.get(dir) {
            Some(e)
                if e.kind == 'd'
                    && e.uid == u64::from(nginx.uid)
                    && e.gid == u64::from(group.gid) => {}
            other => failures.push(format!(
                "/{dir}: {other:?}, want a directory owned by nginx"
            )),
        }
    }
    match entries.get("tmp") {
        Some(e) if e.kind == 'd' && e.mode == 0o1777 => {}
        other => failures.push(format!("/tmp: {other:?}")),
    }
    for link in ["bin", "sbin", "lib", "lib64"] {
        match entries.get(link) {
            Some(e) if e.kind == 'l' && e.link.as_deref() == Some(&format!("usr/{link}")) => {}
            other => failures.push(format!("/{link}: {other:?}, want -> usr/{link}")),
        }
    }
    if config["config"]["User"].as_str() != Some(&format!("{}:{}", nginx.uid, nginx.gid)) {
        failures.push(format!("User {:?}", config["config"]["User"]));
    }
    if config["config"]["Cmd"] != serde_json::json!(["nginx", "-g", "daemon off;"]) {
        failures.push(format!("Cmd {:?}", config["config"]["Cmd"]));
    }
    if config["config"]["StopSignal"].as_str() != Some("SIGQUIT") {
        failures.push(format!("StopSignal {:?}", config["config"]["StopSignal"]));
    }
    let history: Vec<String> = config["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["created_by"].as_str().map(str::to_string))
        .collect();
    for want in [
        "apt-get install nginx (Dockerfile:5)",
        "COPY nginx.conf /etc/nginx/nginx.conf (Dockerfile:14)",
        "USER nginx (Dockerfile:17)",
    ] {
        if !history.iter().any(|h| h == want) {
            failures.push(format!("no history entry {want:?} in {history:#?}"));
        }
    }
    let os = &b.os_release.fields;
    let field = |k: &str| os.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if field("ID") != Some("debian")
        || field("VERSION_CODENAME") != Some("bookworm")
        || field("VERSION_ID") != Some("12")
    {
        failures.push(format!("os-release fields {os:?}"));
    }
    if !b
        .os_release
        .from_package
        .as_deref()
        .is_some_and(|p| p.starts_with("base-files="))
    {
        failures.push(format!(
            "os-release not from base-files: {:?}",
            b.os_release.from_package
        ));
    }
    // libc6 is kept, so name service works from files.
    if !entries.contains_key("etc/nsswitch.conf") {
        failures.push("no /etc/nsswitch.conf though libc6 is kept".into());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn curl_image_carries_the_ca_bundle_update_ca_certificates_would_write() {
    let b = built("curl");
    let bundle = b.ca_bundle.as_ref().expect("curl installs ca-certificates");
    let tree = &b.slim.kept_trees["ca-certificates"];
    let mut crts: Vec<&str> = tree
        .entries
        .keys()
        .map(|p| p.as_str())
        .filter(|p| p.starts_with("usr/share/ca-certificates/") && p.ends_with(".crt"))
        .collect();
    crts.sort();
    let listed: Vec<&str> = bundle
        .certificates
        .iter()
        .map(|c| c.path.as_str())
        .collect();
    assert_eq!(listed, crts, "bundle order is the sorted certificate list");
    assert!(crts.len() > 100, "{} certificates", crts.len());

    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    write(b, Format::Oci, &layout);
    let entries = final_entries(&layout);
    let e = entries
        .get("etc/ssl/certs/ca-certificates.crt")
        .expect("the bundle is in the image");
    assert_eq!(e.size, bundle.bytes);
    assert_eq!((e.mode, e.uid, e.gid), (0o644, 0, 0));
    let pem = String::from_utf8_lossy(&bundle.content);
    assert_eq!(
        pem.matches("-----BEGIN CERTIFICATE-----").count(),
        crts.len()
    );
    // That the concatenation is update-ca-certificates' own is checked
    // against this host's bundle in build_files.rs.
}

#[test]
fn builds_are_reproducible_whatever_the_cache_and_thread_count() {
    let dir = example_dir("nginx");
    let a = {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let opts = options(LayerCache::Disabled);
        pool.install(|| pipeline::build(&dir.join("Dockerfile"), &opts))
            .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)))
    };
    // The same Dockerfile and context elsewhere on disk, with a fresh
    // layer cache and the default thread pool.
    let fresh = tempfile::tempdir().unwrap();
    let moved = fresh.path().join("somewhere/else/nginx");
    std::fs::create_dir_all(&moved).unwrap();
    for f in ["Dockerfile", "index.html", "nginx.conf"] {
        std::fs::copy(dir.join(f), moved.join(f)).unwrap();
    }
    let b = pipeline::build(
        &moved.join("Dockerfile"),
        &options(LayerCache::Dir(fresh.path().join("layers"))),
    )
    .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    assert_eq!(a.image.digest(), b.image.digest());
    let tmp = tempfile::tempdir().unwrap();
    let (pa, pb) = (tmp.path().join("a.tar"), tmp.path().join("b.tar"));
    write(&a, Format::OciArchive, &pa);
    write(&b, Format::OciArchive, &pb);
    assert_eq!(sha256_file(&pa), sha256_file(&pb), "archives differ");
}

#[test]
fn a_layer_budget_groups_store_paths_without_changing_the_filesystem() {
    let dir = example_dir("curl");
    let mut opts = options(LayerCache::Dir(store_cache().join("layers")));
    opts.max_layers = 6;
    let grouped = pipeline::build(&dir.join("Dockerfile"), &opts)
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    let one_each = built("curl");
    assert!(
        grouped.image.layers.len() <= 6,
        "{} layers",
        grouped.image.layers.len()
    );
    assert!(one_each.image.layers.len() > 6);
    let mut members: Vec<String> = grouped
        .layers
        .iter()
        .flat_map(|l| match &l.kind {
            pipeline::BuiltLayerKind::Packages { members, .. } => members.clone(),
            _ => Vec::new(),
        })
        .collect();
    members.sort();
    let mut kept: Vec<String> = one_each.slim.kept_trees.keys().cloned().collect();
    kept.sort();
    assert_eq!(
        members, kept,
        "every kept store path is in exactly one layer"
    );
    assert!(matches!(
        grouped.layers.last().map(|l| &l.kind),
        Some(pipeline::BuiltLayerKind::Rootfs)
    ));
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write(&grouped, Format::Oci, &a);
    write(one_each, Format::Oci, &b);
    type Seen = BTreeMap<String, (char, u32, u64, u64, u64)>;
    let strip = |m: BTreeMap<String, FinalEntry>| -> Seen {
        m.into_iter()
            .map(|(k, e)| (k, (e.kind, e.mode, e.uid, e.gid, e.size)))
            .collect()
    };
    let (fa, fb) = (strip(final_entries(&a)), strip(final_entries(&b)));
    let differ: Vec<_> = fa
        .iter()
        .filter(|(k, v)| fb.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .chain(fb.keys().filter(|k| !fa.contains_key(*k)).cloned())
        .collect();
    assert!(differ.is_empty(), "filesystems differ at {differ:?}");
}

/// Issue 7's targets, uncompressed as `docker images` reports them
/// (decimal megabytes).
#[test]
fn images_are_smaller_than_the_published_targets() {
    let targets = [("nginx", 23.5), ("curl", 54.7), ("redis", 42.0)];
    let mut failures = Vec::new();
    for (ex, mb) in targets {
        let b = built(ex);
        let size = b.image.uncompressed_size();
        eprintln!(
            "{ex}: {size} bytes uncompressed, {} compressed",
            b.image.compressed_size()
        );
        if size as f64 >= mb * 1e6 {
            let mut biggest: Vec<_> = b
                .slim
                .kept_packages
                .iter()
                .map(|k| (k.bytes, k.name.as_str()))
                .collect();
            biggest.sort_unstable_by(|x, y| y.cmp(x));
            failures.push(format!(
                "{ex}: {size} bytes >= {mb} MB; largest packages {:?}",
                &biggest[..biggest.len().min(5)]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn cli_build_writes_the_archive_and_prints_a_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("redis.tar");
    let o = Command::new(env!("CARGO_BIN_EXE_scratchify"))
        .arg("build")
        .arg(example_dir("redis"))
        .arg("-o")
        .arg(&out)
        .args([
            "--format",
            "docker-archive",
            "-t",
            "scratchify-test/redis:1",
        ])
        .env("SCRATCHIFY_CACHE_DIR", store_cache())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let digest = stderr
        .lines()
        .find_map(|l| l.strip_prefix("image "))
        .unwrap_or_else(|| panic!("no digest line in {stderr}"));
    let layers_line = stderr.lines().find(|l| l.contains("layers,")).unwrap_or("");
    assert!(
        layers_line.contains("compressed") && layers_line.contains("uncompressed"),
        "{stderr}"
    );
    let pk = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("packages:"))
        .unwrap_or("");
    assert!(pk.contains("kept") && pk.contains("dropped"), "{stderr}");
    let inspect = run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("docker-archive:{}", out.display())))
    .unwrap();
    let _: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    // docker load names the image by the tag given.
    let manifest = run(Command::new("tar")
        .arg("-xOf")
        .arg(&out)
        .arg("manifest.json"))
    .unwrap();
    let m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(
        m[0]["RepoTags"],
        serde_json::json!(["scratchify-test/redis:1"]),
        "{manifest}"
    );
    let oci = run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci-archive:{}", out.display())))
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&oci).unwrap();
    assert_eq!(v["Digest"].as_str(), Some(digest.trim()));
}
