//! Helpers for the build tests: a download and layer cache shared by every
//! test run (under the target directory, so repeated runs are fast), image
//! inspection with the real tools (skopeo, umoci) and a reading of the
//! layers' tar headers (owners and modes as the final filesystem has them).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use scratchify::image::LayerCache;
use scratchify::pipeline::{self, BuildOptions, Built, StoreSettings};

/// The Debian download cache shared by the build tests and the e2e tier.
pub fn store_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scratchify-cache")
}

pub fn example_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

pub fn options(layers: LayerCache) -> BuildOptions {
    let mut o = BuildOptions {
        store: StoreSettings {
            cache_dir: Some(store_cache()),
            progress: false,
            ..Default::default()
        },
        ..Default::default()
    };
    o.assemble.cache = layers;
    o
}

/// Build an example with the shared caches.
pub fn build_example(name: &str) -> Built {
    let dir = example_dir(name);
    let opts = options(LayerCache::Dir(store_cache().join("layers")));
    match pipeline::build(&dir.join("Dockerfile"), &opts) {
        Ok(b) => b,
        Err(e) => panic!("building {name}: {:?}", miette::Report::new(e)),
    }
}

pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("running {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Unpack an OCI layout with umoci; returns the bundle directory.
pub fn umoci_unpack(layout: &Path, tag: &str, into: &Path) -> Result<PathBuf, String> {
    let bundle = into.join("bundle");
    let mut cmd = Command::new("umoci");
    cmd.arg("unpack");
    if !is_root() {
        cmd.arg("--rootless");
    }
    cmd.arg("--image")
        .arg(format!("{}:{tag}", layout.display()))
        .arg(&bundle);
    run(&mut cmd)?;
    Ok(bundle)
}

pub fn is_root() -> bool {
    run(Command::new("id").arg("-u"))
        .map(|s| s.trim() == "0")
        .unwrap_or(false)
}

/// Names no minimal image may carry.
pub const FORBIDDEN: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "busybox",
    "ash",
    "zsh",
    "apt",
    "apt-get",
    "apt-cache",
    "dpkg",
    "dpkg-deb",
    "dpkg-query",
    "apk",
    "rpm",
    "dnf",
    "yum",
];

/// Non-directories under `root` named like a shell or package manager.
pub fn forbidden_files(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(p);
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            if FORBIDDEN.contains(&name.as_str()) {
                found.push(
                    p.strip_prefix(root)
                        .map(|r| format!("/{}", r.display()))
                        .unwrap_or_default(),
                );
            }
        }
    }
    found.sort();
    found
}

/// What the final filesystem has at a path, from the layers' tar headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalEntry {
    pub kind: char,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub link: Option<String>,
}

/// Apply the layers of the image in an OCI layout, in order (no
/// whiteouts: scratchify never writes them), to a map of paths.
pub fn final_entries(layout: &Path) -> BTreeMap<String, FinalEntry> {
    let blob = |digest: &str| {
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(manifest_digest)).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for layer in manifest["layers"].as_array().unwrap() {
        let digest = layer["digest"].as_str().unwrap();
        let media = layer["mediaType"].as_str().unwrap();
        let file = std::fs::File::open(blob(digest)).unwrap();
        let reader: Box<dyn Read> = if media.ends_with("+zstd") {
            Box::new(zstd::stream::read::Decoder::new(file).unwrap())
        } else {
            Box::new(flate2::read::GzDecoder::new(file))
        };
        let mut archive = tar::Archive::new(reader);
        for e in archive.entries().unwrap() {
            let e = e.unwrap();
            let h = e.header();
            let path = e
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string();
            let kind = match h.entry_type() {
                tar::EntryType::Directory => 'd',
                tar::EntryType::Symlink => 'l',
                tar::EntryType::Link => 'h',
                _ => 'f',
            };
            let path_clone = path.clone();
            // A non-directory replaces what was below it.
            if kind != 'd' {
                let prefix = format!("{path_clone}/");
                out.retain(|k: &String, _| !k.starts_with(&prefix));
            }
            out.insert(
                path,
                FinalEntry {
                    kind,
                    mode: h.mode().unwrap() & 0o7777,
                    uid: h.uid().unwrap(),
                    gid: h.gid().unwrap(),
                    size: h.size().unwrap(),
                    link: e
                        .link_name()
                        .unwrap()
                        .map(|l| l.to_string_lossy().into_owned()),
                },
            );
        }
    }
    out
}

/// The image config JSON of an OCI layout.
pub fn image_config(layout: &Path) -> serde_json::Value {
    let blob = |digest: &str| {
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(blob(index["manifests"][0]["digest"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    serde_json::from_slice(&std::fs::read(blob(m["config"]["digest"].as_str().unwrap())).unwrap())
        .unwrap()
}

/// Where `arg0` is in an unpacked rootfs, searched through PATH (host
/// symlinks resolved inside the rootfs by following them by hand).
pub fn find_in_rootfs(rootfs: &Path, arg0: &str, path: &[&str]) -> Option<PathBuf> {
    let candidates: Vec<String> = if arg0.starts_with('/') {
        vec![arg0.to_string()]
    } else {
        path.iter().map(|d| format!("{d}/{arg0}")).collect()
    };
    candidates.into_iter().find_map(|c| resolve_in(rootfs, &c))
}

/// Resolve an absolute image path inside `rootfs`, following symlinks as
/// the kernel would with `rootfs` as `/`; the resolved host path if it is
/// a regular file.
pub fn resolve_in(rootfs: &Path, path: &str) -> Option<PathBuf> {
    let mut pending: Vec<String> = path
        .split('/')
        .filter(|c| !c.is_empty())
        .rev()
        .map(str::to_string)
        .collect();
    let mut done: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(c) = pending.pop() {
        if c == "." {
            continue;
        }
        if c == ".." {
            done.pop();
            continue;
        }
        done.push(c);
        let host = rootfs.join(done.join("/"));
        let meta = std::fs::symlink_metadata(&host).ok()?;
        if meta.file_type().is_symlink() {
            hops += 1;
            if hops > 40 {
                return None;
            }
            let t = std::fs::read_link(&host).ok()?;
            let t = t.to_string_lossy().into_owned();
            done.pop();
            if t.starts_with('/') {
                done.clear();
            }
            pending.extend(
                t.split('/')
                    .filter(|c| !c.is_empty())
                    .rev()
                    .map(str::to_string),
            );
        }
    }
    let host = rootfs.join(done.join("/"));
    std::fs::metadata(&host)
        .ok()
        .filter(|m| m.is_file())
        .map(|_| host)
}
