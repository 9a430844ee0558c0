//! Every output format, read back by the real tools: skopeo (inspect, copy)
//! and umoci (unpack), plus gzip/sha256sum for the diff_ids, and the layer
//! tars checked entry by entry.

mod image_support;

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use image_support::*;
use scratchify::image::{
    AssembleOptions, Compression, Format, Image, Reference, WriteOptions, assemble, write,
};

fn write_all_formats(image: &Image, out: &Path) -> (String, String, String) {
    let wopts = WriteOptions {
        reference: Some(Reference::parse("scratchify-test/fixture:1.0").unwrap()),
    };
    let layout = out.join("layout");
    let oci_tar = out.join("image.oci.tar");
    let docker_tar = out.join("image.docker.tar");
    write(image, Format::Oci, &layout, &wopts).unwrap();
    write(image, Format::OciArchive, &oci_tar, &wopts).unwrap();
    write(image, Format::DockerArchive, &docker_tar, &wopts).unwrap();
    // Outputs are readable by other users and tools, not owner-only.
    use std::os::unix::fs::PermissionsExt;
    for (path, mode) in [(&layout, 0o755), (&oci_tar, 0o644), (&docker_tar, 0o644)] {
        let got = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, mode, "mode of {}", path.display());
    }
    (
        format!("oci:{}:1.0", layout.display()),
        format!("oci-archive:{}", oci_tar.display()),
        format!("docker-archive:{}", docker_tar.display()),
    )
}

#[test]
fn skopeo_inspects_and_copies_every_format() {
    let fx = fixture();
    let cache = tempfile::tempdir().unwrap();
    let image = assemble(&fx.spec, &opts(cache.path())).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (oci, oci_archive, docker_archive) = write_all_formats(&image, out.path());
    let layer_digests: Vec<String> = image
        .layers
        .iter()
        .map(|l| l.info.digest.to_string())
        .collect();
    let diff_ids: Vec<String> = image
        .layers
        .iter()
        .map(|l| l.info.diff_id.to_string())
        .collect();

    let mut failures = Vec::new();
    for (i, source) in [&oci, &oci_archive, &docker_archive]
        .into_iter()
        .enumerate()
    {
        let inspect = json(&tool_ok("skopeo", &["inspect", source]));
        let layers: Vec<String> = inspect["Layers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if source.starts_with("docker-archive:") {
            // skopeo presents a docker-archive's layers uncompressed, by diff_id.
            if layers != diff_ids {
                failures.push(format!(
                    "{source}: layers {layers:?}, want diff_ids {diff_ids:?}"
                ));
            }
        } else {
            if inspect["Digest"].as_str() != Some(&image.digest().to_string()) {
                failures.push(format!("{source}: digest {}", inspect["Digest"]));
            }
            if layers != layer_digests {
                failures.push(format!("{source}: layers {layers:?}"));
            }
            let raw_manifest = tool("skopeo", &["inspect", "--raw", source]);
            if raw_manifest.stdout != image.manifest {
                failures.push(format!(
                    "{source}: raw manifest differs from the written bytes"
                ));
            }
        }
        let raw_config = tool("skopeo", &["inspect", "--config", "--raw", source]);
        if raw_config.stdout != image.config {
            failures.push(format!(
                "{source}: raw config differs from the written bytes"
            ));
        }
        for (k, want) in [
            ("Architecture", "amd64"),
            ("Os", "linux"),
            ("Created", "2023-11-14T22:13:20Z"),
        ] {
            if inspect[k].as_str() != Some(want) {
                failures.push(format!("{source}: {k} = {}", inspect[k]));
            }
        }
        let env: Vec<&str> = inspect["Env"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        if env != ["PATH=/usr/bin", "MODE=test"] {
            failures.push(format!("{source}: Env {env:?}"));
        }

        // Copies verify every blob against its digest.
        let dir_dest = out.path().join(format!("copy-dir-{i}"));
        let oci_dest = out.path().join(format!("copy-oci-{i}"));
        for dest in [
            format!("dir:{}", dir_dest.display()),
            format!("oci:{}:copied", oci_dest.display()),
        ] {
            let o = tool("skopeo", &["copy", "--quiet", source, &dest]);
            if !o.status.success() {
                failures.push(format!(
                    "skopeo copy {source} {dest}: {}",
                    String::from_utf8_lossy(&o.stderr)
                ));
            }
        }
        if !dir_dest.join("manifest.json").is_file() {
            failures.push(format!(
                "{source}: skopeo copy to dir: wrote no manifest.json"
            ));
        }
        let copied = tool(
            "skopeo",
            &["inspect", &format!("oci:{}:copied", oci_dest.display())],
        );
        if !copied.status.success() {
            failures.push(format!("{source}: the oci: copy does not inspect"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn umoci_unpacks_the_layout_to_the_input_trees() {
    let fx = fixture();
    let cache = tempfile::tempdir().unwrap();
    let image = assemble(&fx.spec, &opts(cache.path())).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (oci, _, docker_archive) = write_all_formats(&image, out.path());
    let layout = oci.trim_start_matches("oci:");
    let bundle = out.path().join("bundle");
    let root = is_root();
    let mut args = vec!["unpack"];
    if !root {
        // Without root, ownership cannot be applied; modes and content are
        // still checked.
        eprintln!("not root: umoci --rootless, ownership not compared");
        args.push("--rootless");
    }
    args.extend(["--image", layout, bundle.to_str().unwrap()]);
    tool_ok("umoci", &args);
    let rootfs = bundle.join("rootfs");
    let expected = expected_rootfs(&fx.spec);
    let mut problems = compare_rootfs(&rootfs, &expected, root);

    // Hard links in one layer share an inode; the cross-layer one is a copy.
    let ino = |p: &str| fs::metadata(rootfs.join(p)).map(|m| m.ino()).ok();
    let group: BTreeSet<_> = ["usr/bin/hard-a", "usr/bin/hard-b", "usr/bin/aaa-link"]
        .iter()
        .map(|p| ino(p))
        .collect();
    if group.len() != 1 || group.contains(&None) {
        problems.push(format!("hard-link group not one inode: {group:?}"));
    }
    if ino("app/libx-copy") == ino("usr/lib/libx.so.1.2") {
        problems.push("cross-layer hard link was not copied".into());
    }

    // umoci also writes the runtime config from the image config.
    let config = json(&fs::read_to_string(bundle.join("config.json")).unwrap());
    let args: Vec<&str> = config["process"]["args"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    if args != ["/app/main", "--serve"] {
        problems.push(format!("runtime args {args:?}"));
    }
    if config["process"]["cwd"].as_str() != Some("/app") {
        problems.push(format!("runtime cwd {}", config["process"]["cwd"]));
    }
    if root && config["process"]["user"]["uid"].as_u64() != Some(1000) {
        problems.push(format!("runtime user {}", config["process"]["user"]));
    }
    assert!(problems.is_empty(), "{problems:#?}");

    // The docker-archive, converted by skopeo to a layout, unpacks the same.
    let from_docker = out.path().join("from-docker");
    tool_ok(
        "skopeo",
        &[
            "copy",
            "--quiet",
            &docker_archive,
            &format!("oci:{}:d", from_docker.display()),
        ],
    );
    let bundle2 = out.path().join("bundle2");
    let image_arg = format!("{}:d", from_docker.display());
    let mut args = vec!["unpack"];
    if !root {
        args.push("--rootless");
    }
    args.extend(["--image", &image_arg, bundle2.to_str().unwrap()]);
    tool_ok("umoci", &args);
    let problems = compare_rootfs(&bundle2.join("rootfs"), &expected, root);
    assert!(problems.is_empty(), "docker-archive: {problems:#?}");
}

#[test]
fn layer_blobs_decompress_to_their_diff_ids_with_system_tools() {
    let fx = fixture();
    let cache = tempfile::tempdir().unwrap();
    let image = assemble(&fx.spec, &opts(cache.path())).unwrap();
    let mut failures = Vec::new();
    for l in &image.layers {
        let cmd = format!("gzip -dc < '{}' | sha256sum", l.blob.display());
        let out = tool_ok("sh", &["-c", &cmd]);
        let got = out.split_whitespace().next().unwrap_or("");
        if got != l.info.diff_id.hex() {
            failures.push(format!(
                "{}: gzip -dc | sha256sum = {got}, diff_id {}",
                l.info.created_by, l.info.diff_id
            ));
        }
        let sum = tool_ok("sha256sum", &[l.blob.to_str().unwrap()]);
        if sum.split_whitespace().next() != Some(l.info.digest.hex()) {
            failures.push(format!(
                "{}: blob sha256 differs from digest",
                l.info.created_by
            ));
        }
        if fs::metadata(&l.blob).unwrap().len() != l.info.size {
            failures.push(format!("{}: size differs", l.info.created_by));
        }
    }
    let config = json(std::str::from_utf8(&image.config).unwrap());
    let want: Vec<String> = image
        .layers
        .iter()
        .map(|l| l.info.diff_id.to_string())
        .collect();
    let got: Vec<String> = config["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    if got != want {
        failures.push(format!("config diff_ids {got:?}"));
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn layer_tars_are_sorted_normalized_and_complete() {
    let fx = fixture();
    let cache = tempfile::tempdir().unwrap();
    let image = assemble(&fx.spec, &opts(cache.path())).unwrap();
    let store = &image.layers[1];
    let mut data = Vec::new();
    flate2::read::GzDecoder::new(fs::File::open(&store.blob).unwrap())
        .read_to_end(&mut data)
        .unwrap();
    let mut ar = tar::Archive::new(&data[..]);
    let mut names = Vec::new();
    let mut problems = Vec::new();
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header();
        let name = String::from_utf8(e.path_bytes().into_owned()).unwrap();
        if h.mtime().unwrap() != 1_700_000_000 {
            problems.push(format!("{name}: mtime {}", h.mtime().unwrap()));
        }
        if h.username_bytes().is_some_and(|u| !u.is_empty())
            || h.groupname_bytes().is_some_and(|g| !g.is_empty())
        {
            problems.push(format!("{name}: has user/group names"));
        }
        if name.starts_with('/') || name.split('/').any(|c| c == "..") {
            problems.push(format!("{name}: escapes the root"));
        }
        names.push(name.trim_end_matches('/').to_string());
    }
    let mut sorted = names.clone();
    sorted.sort();
    if names != sorted {
        problems.push(format!("entries not sorted: {names:?}"));
    }
    for must in [
        "usr",
        "usr/bin",
        "usr/share/doc/ünïcödé",
        &long_path(),
        UNICODE_PATH,
    ] {
        if !names.iter().any(|n| n == must) {
            problems.push(format!("missing entry {must}"));
        }
    }
    // Report metadata.
    let setid: Vec<String> = store
        .info
        .setid_files
        .iter()
        .map(|s| s.path.absolute())
        .collect();
    if setid != ["/usr/bin/sg-helper", "/usr/bin/su-helper"] {
        problems.push(format!("setid files {setid:?}"));
    }
    let copied: Vec<(String, String)> = image.layers[2]
        .info
        .hardlinks_copied
        .iter()
        .map(|c| (c.path.absolute(), c.target.absolute()))
        .collect();
    if copied
        != [(
            "/app/libx-copy".to_string(),
            "/usr/lib/libx.so.1.2".to_string(),
        )]
    {
        problems.push(format!("copied hard links {copied:?}"));
    }
    if !store
        .info
        .parents_added
        .iter()
        .any(|p| p.as_str() == "usr/bin")
    {
        problems.push(format!("parents added {:?}", store.info.parents_added));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn archive_is_both_oci_and_docker_and_names_the_image() {
    let fx = fixture();
    let cache = tempfile::tempdir().unwrap();
    let image = assemble(&fx.spec, &opts(cache.path())).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (_, oci_archive, docker_archive) = write_all_formats(&image, out.path());
    let a = fs::read(oci_archive.trim_start_matches("oci-archive:")).unwrap();
    let b = fs::read(docker_archive.trim_start_matches("docker-archive:")).unwrap();
    assert_eq!(a, b, "one archive serves both formats");
    let mut ar = tar::Archive::new(&a[..]);
    let mut index = None;
    let mut manifest = None;
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut s = String::new();
        if name == "index.json" {
            e.read_to_string(&mut s).unwrap();
            index = Some(json(&s));
        } else if name == "manifest.json" {
            e.read_to_string(&mut s).unwrap();
            manifest = Some(json(&s));
        }
    }
    let index = index.expect("index.json");
    let m = &index["manifests"][0];
    assert_eq!(m["annotations"]["org.opencontainers.image.ref.name"], "1.0");
    assert_eq!(
        m["annotations"]["io.containerd.image.name"],
        "docker.io/scratchify-test/fixture:1.0"
    );
    assert_eq!(m["digest"], image.digest().to_string());
    assert_eq!(m["platform"]["architecture"], "amd64");
    let manifest = manifest.expect("manifest.json");
    assert_eq!(manifest[0]["RepoTags"][0], "scratchify-test/fixture:1.0");
    assert_eq!(manifest[0]["Layers"].as_array().unwrap().len(), 3);

    // The OCI types agree with what we wrote.
    let parsed: oci_spec::image::ImageManifest = serde_json::from_slice(&image.manifest).unwrap();
    assert_eq!(parsed.layers().len(), 3);
    let cfg: oci_spec::image::ImageConfiguration = serde_json::from_slice(&image.config).unwrap();
    assert_eq!(cfg.history().as_ref().map(|h| h.len()), Some(4));
    let h = &cfg.history().as_ref().unwrap()[1];
    assert_eq!(
        h.created_by().as_deref(),
        Some("apt-get install hello (Dockerfile:5)")
    );
    let config = json(std::str::from_utf8(&image.config).unwrap());
    assert_eq!(
        config["config"]["Healthcheck"]["Interval"],
        30_000_000_000u64
    );
    assert_eq!(
        config["config"]["ExposedPorts"]["8080/tcp"],
        serde_json::json!({})
    );
    assert_eq!(config["config"]["User"], "1000:1000");
    assert_eq!(config["history"][3]["empty_layer"], true);
}

#[test]
fn zstd_layers_are_read_by_skopeo_and_unpack_to_the_input_trees() {
    let fx = fixture();
    let cache = tempfile::tempdir().unwrap();
    let opts = AssembleOptions {
        compression: Compression::default_zstd(),
        ..opts(cache.path())
    };
    let image = assemble(&fx.spec, &opts).unwrap();
    assert!(
        image
            .layers
            .iter()
            .all(|l| l.info.media_type.ends_with("+zstd"))
    );
    let out = tempfile::tempdir().unwrap();
    let layout = out.path().join("layout");
    write(
        &image,
        Format::Oci,
        &layout,
        &WriteOptions {
            reference: Some(Reference::parse("z:latest").unwrap()),
        },
    )
    .unwrap();
    let src = format!("oci:{}:latest", layout.display());
    let inspect = json(&tool_ok("skopeo", &["inspect", &src]));
    assert_eq!(inspect["Digest"], image.digest().to_string());
    // umoci 0.4 cannot read zstd layers: let skopeo decompress them (it
    // verifies every digest on the way) and recompress as gzip, then
    // unpack that with umoci.
    let converted = out.path().join("converted");
    tool_ok(
        "skopeo",
        &[
            "copy",
            "--quiet",
            "--dest-compress",
            "--dest-compress-format",
            "gzip",
            &src,
            &format!("oci:{}:latest", converted.display()),
        ],
    );
    let bundle = out.path().join("bundle");
    let mut args = vec!["unpack"];
    if !is_root() {
        args.push("--rootless");
    }
    let image_arg = format!("{}:latest", converted.display());
    args.extend(["--image", &image_arg, bundle.to_str().unwrap()]);
    tool_ok("umoci", &args);
    let problems = compare_rootfs(
        &bundle.join("rootfs"),
        &expected_rootfs(&fx.spec),
        is_root(),
    );
    assert!(problems.is_empty(), "{problems:#?}");
}
