//! Registry push against a real `docker-registry` on 127.0.0.1: monolithic
//! and chunked uploads, skipping blobs the registry has, basic auth
//! (htpasswd) and bearer tokens (the registry's `token` auth with a token
//! server signing JWTs through openssl), read back with skopeo.

mod image_support;

use image_support::*;
use scratchify::image::{
    Credentials, Image, ImageError, PushOptions, Reference, UploadMode, assemble, push,
};

fn image() -> (Image, Fixture, tempfile::TempDir) {
    let fx = fixture();
    let cache = tempfile::tempdir().unwrap();
    let image = assemble(&fx.spec, &opts(cache.path())).unwrap();
    (image, fx, cache)
}

fn anonymous(upload: UploadMode) -> PushOptions {
    PushOptions {
        upload,
        credentials: Credentials::Anonymous,
        ..Default::default()
    }
}

/// `skopeo inspect` of a pushed image: (digest, raw manifest).
fn inspect(reference: &str, creds: Option<&str>) -> (String, Vec<u8>) {
    let src = format!("docker://{reference}");
    let mut args = vec!["inspect", "--tls-verify=false"];
    if let Some(c) = creds {
        args.extend(["--creds", c]);
    }
    let mut raw_args = args.clone();
    args.push(&src);
    let inspect = json(&tool_ok("skopeo", &args));
    raw_args.extend(["--raw", &src]);
    let raw = tool("skopeo", &raw_args);
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    (
        inspect["Digest"].as_str().unwrap_or("").to_string(),
        raw.stdout,
    )
}

/// Requests of `method` to blob upload URLs the registry logged.
fn upload_requests(reg: &Registry, method: &str) -> usize {
    reg.log()
        .lines()
        .filter(|l| {
            l.contains(&format!("http.request.method={method}")) && l.contains("/blobs/uploads/")
        })
        .filter(|l| l.contains("response completed"))
        .count()
}

#[test]
fn monolithic_push_then_everything_is_skipped() {
    let (image, _fx, _cache) = image();
    let reg = Registry::start(RegistryAuth::None);
    let name = format!("127.0.0.1:{}/scratchify/fixture:v1", reg.port);
    let r = Reference::parse(&name).unwrap();

    let first = push(&image, &r, &anonymous(UploadMode::Monolithic)).unwrap();
    assert_eq!(first.manifest_digest, *image.digest());
    assert_eq!(
        first.uploaded.len(),
        4,
        "3 layers and the config: {first:?}"
    );
    assert!(first.skipped.is_empty());
    assert_eq!(upload_requests(&reg, "PATCH"), 0, "monolithic: no PATCH");
    assert_eq!(upload_requests(&reg, "PUT"), 4);

    let (digest, raw) = inspect(&name, None);
    assert_eq!(digest, image.digest().to_string());
    assert_eq!(
        raw, image.manifest,
        "the registry serves our exact manifest bytes"
    );

    let second = push(&image, &r, &anonymous(UploadMode::Monolithic)).unwrap();
    assert!(second.uploaded.is_empty(), "{second:?}");
    assert_eq!(second.skipped.len(), 4);
    assert_eq!(
        upload_requests(&reg, "PUT"),
        4,
        "no new uploads the second time"
    );

    // skopeo copy verifies every blob it pulls against its digest.
    let out = tempfile::tempdir().unwrap();
    tool_ok(
        "skopeo",
        &[
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            &format!("docker://{name}"),
            &format!("oci:{}:v1", out.path().join("pulled").display()),
        ],
    );
}

#[test]
fn chunked_and_automatic_uploads() {
    let (image, _fx, _cache) = image();
    let reg = Registry::start(RegistryAuth::None);

    // Every blob in 64 KiB chunks.
    let chunk = 64 * 1024;
    let name = format!("127.0.0.1:{}/scratchify/chunked:v1", reg.port);
    let report = push(
        &image,
        &Reference::parse(&name).unwrap(),
        &anonymous(UploadMode::Chunked { chunk_size: chunk }),
    )
    .unwrap();
    assert_eq!(report.uploaded.len(), 4);
    let sizes: Vec<u64> = image
        .layers
        .iter()
        .map(|l| l.info.size)
        .chain([image.config.len() as u64])
        .collect();
    let want_patches: usize = sizes.iter().map(|s| s.div_ceil(chunk) as usize).sum();
    assert!(
        want_patches > sizes.len(),
        "the fixture has a multi-chunk blob"
    );
    assert_eq!(upload_requests(&reg, "PATCH"), want_patches);
    let (digest, _) = inspect(&name, None);
    assert_eq!(digest, image.digest().to_string());

    // Auto: only blobs above the threshold are chunked.
    let threshold = 100 * 1024;
    let name = format!("127.0.0.1:{}/scratchify/auto:v1", reg.port);
    let before = upload_requests(&reg, "PATCH");
    // A different repository: blobs are not linked there, so all upload.
    let report = push(
        &image,
        &Reference::parse(&name).unwrap(),
        &anonymous(UploadMode::Auto {
            threshold,
            chunk_size: 128 * 1024,
        }),
    )
    .unwrap();
    assert_eq!(report.uploaded.len(), 4, "{report:?}");
    let want: usize = sizes
        .iter()
        .filter(|s| **s > threshold)
        .map(|s| s.div_ceil(128 * 1024) as usize)
        .sum();
    assert!(want > 0);
    assert_eq!(upload_requests(&reg, "PATCH") - before, want);
    let out = tempfile::tempdir().unwrap();
    tool_ok(
        "skopeo",
        &[
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            &format!("docker://{name}"),
            &format!("dir:{}", out.path().join("pulled").display()),
        ],
    );
}

#[test]
fn basic_auth_from_docker_config() {
    let (image, _fx, _cache) = image();
    let reg = Registry::start(RegistryAuth::Htpasswd {
        user: "pusher".into(),
        password: "s3cret:with:colons".into(),
    });
    let host = format!("127.0.0.1:{}", reg.port);
    let name = format!("{host}/scratchify/basic:v1");
    let r = Reference::parse(&name).unwrap();

    let anon = push(&image, &r, &anonymous(UploadMode::default())).unwrap_err();
    assert!(matches!(anon, ImageError::Auth { .. }), "{anon}");

    let wrong = docker_config(&host, "pusher", "nope");
    let err = push(
        &image,
        &r,
        &PushOptions {
            credentials: Credentials::DockerConfig {
                dir: Some(wrong.path().to_path_buf()),
            },
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, ImageError::Auth { .. }), "{err}");

    let good = docker_config(&host, "pusher", "s3cret:with:colons");
    let report = push(
        &image,
        &r,
        &PushOptions {
            credentials: Credentials::DockerConfig {
                dir: Some(good.path().to_path_buf()),
            },
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(report.uploaded.len(), 4);
    let (digest, _) = inspect(&name, Some("pusher:s3cret:with:colons"));
    assert_eq!(digest, image.digest().to_string());
}

#[test]
fn bearer_token_auth() {
    let (image, _fx, _cache) = image();
    let tokens = TokenServer::start("tokenuser", "tokenpass");
    let reg = Registry::start(RegistryAuth::Token {
        realm: tokens.realm(),
        service: TOKEN_SERVICE.into(),
        issuer: TOKEN_ISSUER.into(),
        cert: tokens.cert.clone(),
    });
    let name = format!("127.0.0.1:{}/scratchify/bearer:v1", reg.port);
    let r = Reference::parse(&name).unwrap();

    let err = push(
        &image,
        &r,
        &PushOptions {
            credentials: Credentials::Basic {
                username: "tokenuser".into(),
                password: "wrong".into(),
            },
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, ImageError::Auth { .. }), "{err}");

    let report = push(
        &image,
        &r,
        &PushOptions {
            credentials: Credentials::Basic {
                username: "tokenuser".into(),
                password: "tokenpass".into(),
            },
            upload: UploadMode::Chunked {
                chunk_size: 100 * 1024,
            },
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(report.uploaded.len(), 4);
    let issued = tokens.issued.lock().unwrap().clone();
    assert!(
        issued.iter().any(|i| i.starts_with("GRANTED")
            && i.contains("scope=repository%3Ascratchify%2Fbearer%3Apull%2Cpush")),
        "a push-scoped token was issued: {issued:#?}"
    );
    let (digest, raw) = inspect(&name, Some("tokenuser:tokenpass"));
    assert_eq!(digest, image.digest().to_string());
    assert_eq!(raw, image.manifest);
}
