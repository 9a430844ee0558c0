//! `scratchify build --push` against a real registry (the Debian package
//! `docker-registry`, started on 127.0.0.1 by the image tests' harness):
//! the pushed manifest is the built image, and skopeo reads it back.

mod build_support;
mod image_support;

use std::process::Command;

use build_support::{example_dir, run, store_cache};
use image_support::{Registry, RegistryAuth};

#[test]
fn build_pushes_the_image_it_built() {
    let registry = Registry::start(RegistryAuth::None);
    let reference = format!("127.0.0.1:{}/scratchify/redis:pushed", registry.port);
    let tmp = tempfile::tempdir().unwrap();
    let docker_config = tmp.path().join("docker");
    std::fs::create_dir_all(&docker_config).unwrap();
    let out = tmp.path().join("redis.tar");
    let o = Command::new(env!("CARGO_BIN_EXE_scratchify"))
        .arg("build")
        .arg(example_dir("redis"))
        .arg("-o")
        .arg(&out)
        .arg("--push")
        .arg(&reference)
        .env("SCRATCHIFY_CACHE_DIR", store_cache())
        .env("DOCKER_CONFIG", &docker_config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "{stderr}\nregistry log:\n{}",
        registry.log()
    );
    let digest = stderr
        .lines()
        .find_map(|l| l.strip_prefix("image "))
        .unwrap_or_else(|| panic!("no digest in {stderr}"))
        .trim()
        .to_string();
    assert!(stderr.contains("pushed "), "{stderr}");
    let inspect = run(Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(format!("docker://{reference}")))
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(v["Digest"].as_str(), Some(digest.as_str()), "{inspect}");
    // The archive written alongside holds the same image.
    let local = run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci-archive:{}", out.display())))
    .unwrap();
    let l: serde_json::Value = serde_json::from_str(&local).unwrap();
    assert_eq!(l["Digest"], v["Digest"]);
    assert_eq!(l["Layers"], v["Layers"]);
}
