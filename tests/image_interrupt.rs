//! An interrupted write leaves no output: a staged output dropped before
//! commit, and a writer process killed half way.

mod image_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use image_support::*;
use scratchify::image::{
    Format, ImageConfigSpec, ImageSpec, LayerInput, WriteOptions, assemble, stage, write,
};
use scratchify::tree::FileTree;

/// Entries of `dir` other than `keep`.
fn others(dir: &Path, keep: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect();
    v.sort();
    v
}

#[test]
fn dropping_a_staged_output_leaves_nothing() {
    let fx = fixture();
    let cache = tempfile::tempdir().unwrap();
    let image = assemble(&fx.spec, &opts(cache.path())).unwrap();
    let out = tempfile::tempdir().unwrap();
    for (format, name) in [
        (Format::Oci, "layout"),
        (Format::OciArchive, "a.tar"),
        (Format::DockerArchive, "d.tar"),
    ] {
        let dest = out.path().join(name);
        let staged = stage(&image, format, &dest, &WriteOptions::default()).unwrap();
        let staging: PathBuf = staged.staging_path().to_path_buf();
        assert!(
            staging.exists(),
            "{name}: staging copy exists while writing"
        );
        assert_eq!(
            staging.parent(),
            Some(out.path()),
            "staged next to the destination"
        );
        assert!(
            !dest.exists(),
            "{name}: nothing at the destination before commit"
        );
        drop(staged);
        assert!(!staging.exists(), "{name}: staging copy removed on drop");
        assert!(!dest.exists(), "{name}: still nothing at the destination");
        assert_eq!(others(out.path(), &[]), Vec::<String>::new());
    }
}

#[test]
fn rewriting_replaces_the_output_whole() {
    let fx = fixture();
    let cache = tempfile::tempdir().unwrap();
    let a = assemble(&fx.spec, &opts(cache.path())).unwrap();
    let mut spec_b = fx.spec.clone();
    spec_b.config.env.push("EXTRA=1".into());
    let b = assemble(&spec_b, &opts(cache.path())).unwrap();
    assert_ne!(a.digest(), b.digest());
    let out = tempfile::tempdir().unwrap();
    for (format, name) in [(Format::Oci, "layout"), (Format::OciArchive, "a.tar")] {
        let dest = out.path().join(name);
        write(&a, format, &dest, &WriteOptions::default()).unwrap();
        write(&b, format, &dest, &WriteOptions::default()).unwrap();
        let src = match format {
            Format::Oci => format!("oci:{}", dest.display()),
            _ => format!("oci-archive:{}", dest.display()),
        };
        let inspect = json(&tool_ok("skopeo", &["inspect", &src]));
        assert_eq!(inspect["Digest"], b.digest().to_string(), "{name}");
    }
    if let Ok(entries) = fs::read_dir(out.path().join("layout/blobs/sha256")) {
        let n = entries.count();
        // b's blobs only: 3 layers + config + manifest.
        assert_eq!(n, 5, "the old layout was replaced, not merged into");
    }
    assert_eq!(
        others(out.path(), &["layout", "a.tar"]),
        Vec::<String>::new()
    );
}

const CHILD_ENV: &str = "SCRATCHIFY_TEST_INTERRUPT";

/// ~48 MiB of incompressible layers, so writing takes long enough to be
/// interrupted.
fn large_spec(src: &Path) -> ImageSpec {
    let layers = (0..3)
        .map(|i| {
            let mut t = FileTree::new();
            let name = format!("blob{i}");
            let path = src.join(&name);
            let entry = if path.exists() {
                let len = fs::metadata(&path).unwrap().len();
                scratchify::tree::TreeEntry {
                    kind: scratchify::tree::EntryKind::File {
                        source: scratchify::tree::FileSource::Disk(path),
                        size: len,
                    },
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                }
            } else {
                // A random MiB repeated: still incompressible to deflate's
                // 32 KiB window, and cheap to generate.
                let chunk = random_bytes(1 << 20, 100 + i);
                disk_file(src, &name, &chunk.repeat(16), 0o644)
            };
            t.insert(p(&format!("data/{name}")), entry);
            LayerInput {
                tree: t,
                created_by: format!("layer {i}"),
                comment: None,
                content_key: Some(format!("blob{i}")),
            }
        })
        .collect();
    ImageSpec {
        layers,
        config: ImageConfigSpec::default(),
    }
}

/// Run by `killed_writer_leaves_no_output` in a child process.
#[test]
#[ignore = "child process of killed_writer_leaves_no_output, which runs it"]
fn child_writes_a_large_image() {
    let Ok(args) = std::env::var(CHILD_ENV) else {
        panic!("run only by killed_writer_leaves_no_output (needs {CHILD_ENV})");
    };
    let mut parts = args.split('\n');
    let (src, cache, format, dest) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let image = assemble(&large_spec(Path::new(src)), &opts(Path::new(cache))).unwrap();
    write(
        &image,
        format.parse().unwrap(),
        Path::new(dest),
        &WriteOptions::default(),
    )
    .unwrap();
}

#[test]
fn killed_writer_leaves_no_output() {
    let src = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    // Build the layers here so the child only verifies the cache and writes.
    let image = assemble(&large_spec(src.path()), &opts(cache.path())).unwrap();
    assert_eq!(image.layers.len(), 3);
    let exe = std::env::current_exe().unwrap();
    let mut failures = Vec::new();
    for (format, name) in [("oci-archive", "big.tar"), ("oci", "big-layout")] {
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join(name);
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "child_writes_a_large_image",
                "--ignored",
                "--nocapture",
            ])
            .env(
                CHILD_ENV,
                format!(
                    "{}\n{}\n{format}\n{}",
                    src.path().display(),
                    cache.path().display(),
                    dest.display()
                ),
            )
            .spawn()
            .unwrap();
        // Wait until the staging copy has data, then kill.
        let start = Instant::now();
        let staging_prefix = format!(".{name}.tmp-");
        let mut killed_mid_write = false;
        while start.elapsed() < Duration::from_secs(120) {
            let staged: Vec<PathBuf> = fs::read_dir(out.path())
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with(&staging_prefix))
                .map(|e| e.path())
                .collect();
            let has_data = staged.iter().any(|s| {
                if s.is_dir() {
                    fs::read_dir(s.join("blobs/sha256"))
                        .map(|d| d.count() > 0)
                        .unwrap_or(false)
                } else {
                    fs::metadata(s)
                        .map(|m| m.len() > (1 << 20))
                        .unwrap_or(false)
                }
            });
            if has_data {
                child.kill().unwrap();
                killed_mid_write = true;
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let status = child.wait().unwrap();
        if !killed_mid_write {
            failures.push(format!(
                "{format}: the child ended ({status}) before it could be killed mid-write"
            ));
            continue;
        }
        if dest.exists() {
            failures.push(format!(
                "{format}: {} exists after the kill",
                dest.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
