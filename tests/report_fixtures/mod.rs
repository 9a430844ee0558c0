//! Hand-built reports shared by the `report_*` tests: what `report::build`
//! would record for realistic Dockerfiles. Locations are computed from the
//! Dockerfile text (never typed in), so they stay right when the text moves.
//!
//! Package versions and installed sizes follow Debian bookworm and Alpine
//! 3.20 indexes; artifact digests are SHA-256 of the artifact file names
//! (stand-ins: the renderers only copy them).

#![allow(dead_code)]

use scratchify::report::{
    BaseImage, DockerfileSource, DroppedItem, DroppedKind, Finding, ImageSummary, KeptItem,
    KeptKind, LayerSummary, Location, Purl, Report, Request, Severity, SynthesizedItem, Tool,
    Totals,
};
use scratchify::source::{SourceFile, Span};
use sha2::{Digest, Sha256};

pub fn all() -> Vec<(&'static str, Report)> {
    vec![
        ("nginx_debian", nginx_debian()),
        ("flask_alpine", flask_alpine()),
        ("hostile", hostile()),
    ]
}

fn tool() -> Tool {
    Tool {
        name: "scratchify".into(),
        version: "0.1.0".into(),
    }
}

fn hex256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn hex1(s: &str) -> String {
    use sha1::Digest as _;
    hex::encode(sha1::Sha1::digest(s.as_bytes()))
}

/// The location of the `nth` (0-based) occurrence of `needle`.
pub fn loc_nth(src: &SourceFile, needle: &str, nth: usize) -> Location {
    let start = src
        .text()
        .match_indices(needle)
        .nth(nth)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("fixture: `{needle}` #{nth} not in {}", src.name()));
    Location::from_span(src, Span::new(start, start + needle.len()))
}

pub fn loc(src: &SourceFile, needle: &str) -> Location {
    loc_nth(src, needle, 0)
}

const KIB: u64 = 1024;

pub const NGINX_DOCKERFILE: &str = r#"# syntax=docker/dockerfile:1
FROM debian:12-slim

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --system --no-create-home --shell /usr/sbin/nologin web

COPY nginx.conf /etc/nginx/nginx.conf
COPY site/ /usr/share/nginx/html/

EXPOSE 8080
USER web
CMD ["nginx", "-g", "daemon off;"]
"#;

pub fn nginx_debian() -> Report {
    nginx_debian_with_prefix("")
}

/// The nginx report for the Dockerfile with `prefix` inserted before it
/// (to move every line down).
pub fn nginx_debian_with_prefix(prefix: &str) -> Report {
    let text = format!("{prefix}{NGINX_DOCKERFILE}");
    let src = SourceFile::new("Dockerfile", text.clone());
    let install_span = {
        let start = text.find("RUN apt-get update").expect("fixture");
        let end =
            text.find("/var/lib/apt/lists/*").expect("fixture") + "/var/lib/apt/lists/*".len();
        Location::from_span(&src, Span::new(start, end))
    };
    let from = loc(&src, "FROM debian:12-slim");
    let install = |what: &str| Request {
        text: format!("apt-get install {what}"),
        location: Some(install_span.clone()),
    };

    // (name, version, installed KiB, in base image, license, depends on)
    type Deb<'a> = (&'a str, &'a str, u64, bool, Option<&'a str>, &'a [&'a str]);
    let debs: [Deb; 10] = [
        (
            "nginx",
            "1.22.1-9+deb12u2",
            1374,
            false,
            Some("BSD-2-Clause"),
            &[
                "libc6",
                "libcrypt1",
                "libpcre2-8-0",
                "libssl3",
                "zlib1g",
                "nginx-common",
            ],
        ),
        (
            "nginx-common",
            "1.22.1-9+deb12u2",
            289,
            false,
            Some("BSD-2-Clause"),
            &[],
        ),
        (
            "libc6",
            "2.36-9+deb12u9",
            12987,
            true,
            Some("LGPL-2.1-or-later AND GPL-2.0-or-later"),
            &["libgcc-s1"],
        ),
        (
            "libgcc-s1",
            "12.2.0-14",
            140,
            true,
            Some("GPL-3+ with GCC-exception"),
            &["gcc-12-base", "libc6"],
        ),
        (
            "gcc-12-base",
            "12.2.0-14",
            264,
            true,
            Some("GPL-3+ with GCC-exception"),
            &[],
        ),
        (
            "libcrypt1",
            "1:4.4.33-2",
            233,
            true,
            Some("LGPL-2.1-or-later"),
            &["libc6"],
        ),
        (
            "libpcre2-8-0",
            "10.42-1",
            677,
            true,
            Some("BSD-3-Clause"),
            &["libc6"],
        ),
        (
            "libssl3",
            "3.0.15-1~deb12u1",
            6204,
            false,
            Some("Apache-2.0"),
            &["libc6"],
        ),
        (
            "zlib1g",
            "1:1.2.13.dfsg-1",
            168,
            true,
            Some("Zlib"),
            &["libc6"],
        ),
        (
            "ca-certificates",
            "20230311",
            386,
            false,
            Some("MPL-2.0 AND GPL-2+"),
            &[],
        ),
    ];
    // Chains: the closure's shortest path up to the requested package.
    let chain_of = |name: &str| -> Vec<String> {
        let via: &[&str] = match name {
            "nginx" | "ca-certificates" => &[],
            "gcc-12-base" => &["libgcc-s1", "libc6", "nginx"],
            "libgcc-s1" => &["libc6", "nginx"],
            _ => &["nginx"],
        };
        via.iter().map(|n| format!("deb:{n}")).collect()
    };
    let mut kept = Vec::new();
    let mut installed_new = 0u64;
    for (name, version, kib, in_base, license, deps) in debs {
        let chain = chain_of(name);
        let requested = match chain.last() {
            Some(top) => top.trim_start_matches("deb:").to_string(),
            None => name.to_string(),
        };
        if !in_base {
            installed_new += kib * KIB;
        }
        kept.push(KeptItem {
            id: format!("deb:{name}"),
            kind: KeptKind::Package,
            name: name.into(),
            version: Some(version.into()),
            arch: Some(
                if name.ends_with("-common") || name == "ca-certificates" {
                    "all"
                } else {
                    "amd64"
                }
                .into(),
            ),
            size_bytes: kib * KIB,
            files: Some(kib / 40 + 3),
            purl: Some(
                Purl::deb(
                    "debian",
                    name,
                    version,
                    if name.ends_with("-common") || name == "ca-certificates" {
                        "all"
                    } else {
                        "amd64"
                    },
                    "debian-12",
                )
                .to_string(),
            ),
            license: license.map(str::to_string),
            sha256: Some(hex256(&format!("{name}_{version}.deb"))),
            sha1: None,
            chain,
            request: Some(install(&requested)),
            depends_on: deps.iter().map(|d| format!("deb:{d}")).collect(),
        });
    }
    let copies = [
        (
            "/etc/nginx/nginx.conf",
            1_482u64,
            "COPY nginx.conf /etc/nginx/nginx.conf",
        ),
        (
            "/usr/share/nginx/html/index.html",
            4_310,
            "COPY site/ /usr/share/nginx/html/",
        ),
        (
            "/usr/share/nginx/html/style.css",
            2_051,
            "COPY site/ /usr/share/nginx/html/",
        ),
    ];
    let mut copied = 0;
    for (path, size, step) in copies {
        copied += size;
        kept.push(KeptItem {
            id: format!("file:{path}"),
            kind: KeptKind::File,
            name: path.into(),
            version: None,
            arch: None,
            size_bytes: size,
            files: Some(1),
            purl: None,
            license: None,
            sha256: Some(hex256(path)),
            sha1: Some(hex1(path)),
            chain: Vec::new(),
            request: Some(Request {
                text: step.into(),
                location: Some(loc(&src, step)),
            }),
            depends_on: Vec::new(),
        });
    }

    let curl = loc_nth(&src, "curl", 0);
    let pkg = |name: &str,
               version: &str,
               kib: u64,
               rule: &str,
               reason: &str,
               wanted_by: Option<&str>,
               at: &Location| DroppedItem {
        kind: DroppedKind::Package,
        name: name.into(),
        version: Some(version.into()),
        bytes_saved: kib * KIB,
        rule: rule.into(),
        reason: reason.into(),
        location: Some(at.clone()),
        wanted_by: wanted_by.map(str::to_string),
    };
    let base_pkg = |name: &str, version: &str, kib: u64, rule: &str, reason: &str| DroppedItem {
        kind: DroppedKind::BaseContent,
        ..pkg(name, version, kib, rule, reason, None, &from)
    };
    let mut dropped = vec![
        pkg(
            "curl",
            "7.88.1-10+deb12u8",
            500,
            "build-only/download-tool",
            "download tool; nothing at run time calls it",
            None,
            &curl,
        ),
        pkg(
            "libcurl4",
            "7.88.1-10+deb12u8",
            1180,
            "build-only/download-tool",
            "library of a dropped download tool",
            Some("curl"),
            &curl,
        ),
        pkg(
            "libnghttp2-14",
            "1.52.0-1+deb12u2",
            409,
            "build-only/download-tool",
            "library of a dropped download tool",
            Some("libcurl4"),
            &curl,
        ),
        pkg(
            "libssh2-1",
            "1.10.0-3+b1",
            284,
            "build-only/download-tool",
            "library of a dropped download tool",
            Some("libcurl4"),
            &curl,
        ),
        pkg(
            "librtmp1",
            "2.4+20151223.gitfa8646d.1-2+b2",
            144,
            "build-only/download-tool",
            "library of a dropped download tool",
            Some("libcurl4"),
            &curl,
        ),
        pkg(
            "libpsl5",
            "0.21.2-1",
            99,
            "build-only/download-tool",
            "library of a dropped download tool",
            Some("libcurl4"),
            &curl,
        ),
        pkg(
            "openssl",
            "3.0.15-1~deb12u1",
            2303,
            "script-only",
            "used only by the maintainer script of ca-certificates (update-ca-certificates); its result is synthesized",
            Some("ca-certificates"),
            &install_span,
        ),
        pkg(
            "debconf",
            "1.5.82",
            533,
            "script-only",
            "used only by maintainer scripts",
            Some("nginx-common"),
            &install_span,
        ),
        pkg(
            "perl-base",
            "5.36.0-7+deb12u1",
            7633,
            "script-only",
            "used only by maintainer scripts",
            Some("debconf"),
            &install_span,
        ),
        base_pkg(
            "bash",
            "5.2.15-2+b7",
            7185,
            "base/shell",
            "shell of the base image; the entrypoint runs nginx directly",
        ),
        base_pkg(
            "dash",
            "0.5.12-2",
            225,
            "base/shell",
            "/bin/sh of the base image; nothing at run time calls it",
        ),
        base_pkg(
            "apt",
            "2.6.1",
            4290,
            "base/package-manager",
            "package manager of the base image",
        ),
        base_pkg(
            "dpkg",
            "1.21.22",
            6604,
            "base/package-manager",
            "package manager of the base image",
        ),
        base_pkg(
            "coreutils",
            "9.1-1",
            18062,
            "base/content",
            "not in the run-time closure of nginx",
        ),
        base_pkg(
            "util-linux",
            "2.38.1-5+b1",
            3986,
            "base/content",
            "not in the run-time closure of nginx",
        ),
        DroppedItem {
            kind: DroppedKind::File,
            name: "/usr/share/doc".into(),
            version: None,
            bytes_saved: 1_912_000,
            rule: "prune/docs".into(),
            reason: "documentation inside kept packages".into(),
            location: None,
            wanted_by: None,
        },
        DroppedItem {
            kind: DroppedKind::File,
            name: "/usr/share/man".into(),
            version: None,
            bytes_saved: 402_000,
            rule: "prune/man".into(),
            reason: "manual pages inside kept packages".into(),
            location: None,
            wanted_by: None,
        },
        DroppedItem {
            kind: DroppedKind::RunStep,
            name: "rm -rf /var/lib/apt/lists/*".into(),
            version: None,
            bytes_saved: 0,
            rule: "run-step/cleanup".into(),
            reason: "removes apt's package lists, which a scratch image never has".into(),
            location: Some(loc(&src, "rm -rf /var/lib/apt/lists/*")),
            wanted_by: None,
        },
        DroppedItem {
            kind: DroppedKind::RunStep,
            name: "useradd --system --no-create-home --shell /usr/sbin/nologin web".into(),
            version: None,
            bytes_saved: 0,
            rule: "run-step/synthesized".into(),
            reason: "the account is written to /etc/passwd and /etc/group directly".into(),
            location: Some(loc(
                &src,
                "useradd --system --no-create-home --shell /usr/sbin/nologin web",
            )),
            wanted_by: None,
        },
    ];
    let installed_dropped: u64 = dropped
        .iter()
        .filter(|d| d.kind == DroppedKind::Package)
        .map(|d| d.bytes_saved)
        .sum();
    // debconf and perl-base come with the base image too.
    let installed_dropped = installed_dropped - (533 + 7633) * KIB;
    dropped.sort_by(|a, b| a.rule.cmp(&b.rule));

    let useradd = loc(&src, "RUN useradd");
    let synthesized = vec![
        SynthesizedItem {
            path: "/etc/ssl/certs/ca-certificates.crt".into(),
            size_bytes: 213_777,
            sha256: Some(hex256("ca-certificates.crt")),
            sha1: Some(hex1("ca-certificates.crt")),
            reason: "CA bundle from the certificates ca-certificates ships".into(),
            replaces: Some("update-ca-certificates (ca-certificates postinst)".into()),
            location: Some(loc(&src, "ca-certificates")),
        },
        SynthesizedItem {
            path: "/etc/passwd".into(),
            size_bytes: 101,
            sha256: Some(hex256("passwd")),
            sha1: Some(hex1("passwd")),
            reason: "users root, nobody and web".into(),
            replaces: Some("useradd".into()),
            location: Some(useradd.clone()),
        },
        SynthesizedItem {
            path: "/etc/group".into(),
            size_bytes: 47,
            sha256: Some(hex256("group")),
            sha1: Some(hex1("group")),
            reason: "groups root, nogroup and web".into(),
            replaces: Some("useradd".into()),
            location: Some(useradd),
        },
        SynthesizedItem {
            path: "/var/lib/dpkg/status.d/nginx".into(),
            size_bytes: 1_203,
            sha256: Some(hex256("status.d/nginx")),
            sha1: None,
            reason: "package record for vulnerability scanners".into(),
            replaces: None,
            location: None,
        },
    ];

    let base_bytes = 74_800_000;
    let kept_bytes: u64 = kept.iter().map(|k| k.size_bytes).sum();
    let synth_bytes: u64 = synthesized.iter().map(|s| s.size_bytes).sum();
    let minimal = kept_bytes + synth_bytes;
    let layers: Vec<LayerSummary> = kept
        .iter()
        .filter(|k| k.kind == KeptKind::Package)
        .map(|k| LayerSummary {
            digest: format!("sha256:{}", hex256(&format!("layer {}", k.name))),
            compressed_bytes: k.size_bytes * 2 / 5,
            uncompressed_bytes: k.size_bytes + 3 * 1024,
            content: k.name.clone(),
        })
        .chain([
            LayerSummary {
                digest: format!("sha256:{}", hex256("layer synthesized")),
                compressed_bytes: 98_112,
                uncompressed_bytes: 222_720,
                content: "synthesized: CA bundle, passwd, group, package records".into(),
            },
            LayerSummary {
                digest: format!("sha256:{}", hex256("layer copy 1")),
                compressed_bytes: 871,
                uncompressed_bytes: 3_584,
                content: "COPY nginx.conf /etc/nginx/nginx.conf (Dockerfile:11)".into(),
            },
            LayerSummary {
                digest: format!("sha256:{}", hex256("layer copy 2")),
                compressed_bytes: 2_519,
                uncompressed_bytes: 9_216,
                content: "COPY site/ /usr/share/nginx/html/ (Dockerfile:12)".into(),
            },
        ])
        .collect();
    let compressed = layers.iter().map(|l| l.compressed_bytes).sum();
    let uncompressed = layers.iter().map(|l| l.uncompressed_bytes).sum();

    Report {
        schema_version: scratchify::report::SCHEMA_VERSION,
        tool: tool(),
        source_date_epoch: 0,
        dockerfile: DockerfileSource {
            path: "Dockerfile".into(),
            text,
        },
        base: Some(BaseImage {
            reference: "debian:12-slim".into(),
            release: Some("debian-12".into()),
            size_bytes: base_bytes,
            packages: 87,
            location: Some(from),
        }),
        image: Some(ImageSummary {
            digest: format!("sha256:{}", hex256("nginx minimal image manifest")),
            compressed_bytes: compressed,
            uncompressed_bytes: uncompressed,
            layers,
        }),
        totals: Totals {
            docker_build_estimate_bytes: base_bytes + installed_new + installed_dropped + copied,
            minimal_bytes: minimal,
            packages_before: 87 + 4 + 7,
            packages_after: 10,
            files_before: 6_942,
            files_after: 412,
            shells_left: vec![],
            package_managers_left: vec![],
            compilers_left: vec![],
        },
        kept,
        dropped,
        synthesized,
        warnings: vec![Finding {
            severity: Severity::Note,
            code: "plan::no-shell-for-exec".into(),
            message: "the minimal image has no shell: `docker exec ... sh` will not work".into(),
            label: Some("runs nginx directly".into()),
            help: Some(
                "inspect a running container with `docker debug` or `kubectl debug` instead".into(),
            ),
            location: Some(loc(&src, r#"CMD ["nginx", "-g", "daemon off;"]"#)),
        }],
    }
}

pub const FLASK_DOCKERFILE: &str = r#"FROM python:3.12-alpine3.20
RUN apk add --no-cache gcc musl-dev libffi-dev
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY app.py .
ENV FLASK_APP=app.py
CMD ["sh", "-c", "exec gunicorn --bind 0.0.0.0:${PORT:-8000} app:app"]
"#;

pub fn flask_alpine() -> Report {
    let src = SourceFile::new("services/api/Dockerfile", FLASK_DOCKERFILE);
    let from = loc(&src, "FROM python:3.12-alpine3.20");
    let pip = loc(&src, "pip install --no-cache-dir -r requirements.txt");
    let cmd = loc(
        &src,
        r#"CMD ["sh", "-c", "exec gunicorn --bind 0.0.0.0:${PORT:-8000} app:app"]"#,
    );
    let runtime = Request {
        text: "python:3.12-alpine3.20 runtime".into(),
        location: Some(from.clone()),
    };
    let pip_req = |what: &str| Request {
        text: format!("pip install {what}"),
        location: Some(pip.clone()),
    };

    let mut kept = Vec::new();
    // (name, version, bytes, license, depends)
    let apks: [(&str, &str, u64, &str, &[&str]); 9] = [
        (
            "python3",
            "3.12.8-r1",
            54_784_000,
            "PSF-2.0",
            &[
                "musl",
                "libffi",
                "libbz2",
                "xz-libs",
                "zlib",
                "sqlite-libs",
                "libcrypto3",
                "libssl3",
            ],
        ),
        ("musl", "1.2.5-r0", 643_072, "MIT", &[]),
        ("libffi", "3.4.6-r0", 53_248, "MIT", &["musl"]),
        ("libbz2", "1.0.8-r6", 73_728, "bzip2-1.0.6", &["musl"]),
        (
            "xz-libs",
            "5.6.2-r0",
            217_088,
            "0BSD AND GPL-2.0-or-later AND LGPL-2.1-or-later",
            &["musl"],
        ),
        ("zlib", "1.3.1-r1", 102_400, "Zlib", &["musl"]),
        ("sqlite-libs", "3.45.3-r1", 1_474_560, "blessing", &["musl"]),
        ("libcrypto3", "3.3.2-r0", 4_575_232, "Apache-2.0", &["musl"]),
        (
            "libssl3",
            "3.3.2-r0",
            790_528,
            "Apache-2.0",
            &["musl", "libcrypto3"],
        ),
    ];
    for (name, version, bytes, license, deps) in apks {
        kept.push(KeptItem {
            id: format!("apk:{name}"),
            kind: KeptKind::Package,
            name: name.into(),
            version: Some(version.into()),
            arch: Some("x86_64".into()),
            size_bytes: bytes,
            files: Some(bytes / 20_000 + 2),
            purl: Some(Purl::apk(name, version, "x86_64", "alpine-3.20").to_string()),
            license: Some(license.into()),
            sha256: Some(hex256(&format!("{name}-{version}.apk"))),
            sha1: None,
            chain: if name == "python3" {
                vec![]
            } else {
                vec!["apk:python3".into()]
            },
            request: Some(runtime.clone()),
            depends_on: deps.iter().map(|d| format!("apk:{d}")).collect(),
        });
    }
    kept.push(KeptItem {
        id: "apk:busybox".into(),
        kind: KeptKind::Package,
        name: "busybox".into(),
        version: Some("1.36.1-r29".into()),
        arch: Some("x86_64".into()),
        size_bytes: 946_176,
        files: Some(3),
        purl: Some(Purl::apk("busybox", "1.36.1-r29", "x86_64", "alpine-3.20").to_string()),
        license: Some("GPL-2.0-only".into()),
        sha256: Some(hex256("busybox-1.36.1-r29.apk")),
        sha1: None,
        chain: vec![],
        request: Some(Request {
            text: "CMD runs `sh -c`".into(),
            location: Some(cmd.clone()),
        }),
        depends_on: vec!["apk:musl".into()],
    });
    // (name, version, bytes, license, depends)
    let wheels: [(&str, &str, u64, &str, &[&str]); 9] = [
        (
            "flask",
            "3.0.0",
            254_000,
            "BSD-3-Clause",
            &["werkzeug", "jinja2", "itsdangerous", "click", "blinker"],
        ),
        (
            "werkzeug",
            "3.0.1",
            1_022_000,
            "BSD-3-Clause",
            &["markupsafe"],
        ),
        ("jinja2", "3.1.2", 688_000, "BSD-3-Clause", &["markupsafe"]),
        ("markupsafe", "2.1.3", 61_000, "BSD-3-Clause", &[]),
        ("itsdangerous", "2.1.2", 52_000, "BSD-3-Clause", &[]),
        ("click", "8.1.7", 433_000, "BSD-3-Clause", &[]),
        ("blinker", "1.7.0", 31_000, "MIT", &[]),
        ("gunicorn", "21.2.0", 489_000, "MIT", &["packaging"]),
        (
            "packaging",
            "23.2",
            218_000,
            "Apache-2.0 OR BSD-2-Clause",
            &[],
        ),
    ];
    for (name, version, bytes, license, deps) in wheels {
        let chain: Vec<String> = match name {
            "flask" | "gunicorn" => vec![],
            "markupsafe" => vec!["pypi:jinja2".into(), "pypi:flask".into()],
            "packaging" => vec!["pypi:gunicorn".into()],
            _ => vec!["pypi:flask".into()],
        };
        let top = chain.last().map_or(name.to_string(), |c| {
            c.trim_start_matches("pypi:").to_string()
        });
        let mut all_deps: Vec<String> = deps.iter().map(|d| format!("pypi:{d}")).collect();
        all_deps.push("apk:python3".into());
        kept.push(KeptItem {
            id: format!("pypi:{name}"),
            kind: KeptKind::Package,
            name: name.into(),
            version: Some(version.into()),
            arch: None,
            size_bytes: bytes,
            files: Some(bytes / 8_000 + 4),
            purl: Some(Purl::pypi(name, version).to_string()),
            license: Some(license.into()),
            sha256: Some(hex256(&format!("{name}-{version}-py3-none-any.whl"))),
            sha1: None,
            chain,
            request: Some(pip_req(&format!("{top} (requirements.txt)"))),
            depends_on: all_deps,
        });
    }
    kept.push(KeptItem {
        id: "file:/app/app.py".into(),
        kind: KeptKind::File,
        name: "/app/app.py".into(),
        version: None,
        arch: None,
        size_bytes: 1_877,
        files: Some(1),
        purl: None,
        license: None,
        sha256: Some(hex256("app.py")),
        sha1: None, // exercises the SPDX fallback for files without SHA-1
        chain: vec![],
        request: Some(Request {
            text: "COPY app.py .".into(),
            location: Some(loc(&src, "COPY app.py .")),
        }),
        depends_on: vec![],
    });

    let gcc = loc(&src, "gcc");
    let dpkg = |name: &str,
                version: &str,
                bytes: u64,
                rule: &str,
                reason: &str,
                wanted: Option<&str>,
                at: &Location| DroppedItem {
        kind: DroppedKind::Package,
        name: name.into(),
        version: Some(version.into()),
        bytes_saved: bytes,
        rule: rule.into(),
        reason: reason.into(),
        location: Some(at.clone()),
        wanted_by: wanted.map(str::to_string),
    };
    let dropped = vec![
        dpkg(
            "gcc",
            "13.2.1_git20240309-r0",
            97_505_280,
            "build-only/compiler",
            "C compiler; used by pip to build wheels",
            None,
            &gcc,
        ),
        dpkg(
            "binutils",
            "2.42-r0",
            10_158_080,
            "build-only/compiler",
            "assembler and linker",
            Some("gcc"),
            &gcc,
        ),
        dpkg(
            "isl26",
            "0.26-r1",
            2_822_144,
            "build-only/compiler",
            "library of a dropped compiler",
            Some("gcc"),
            &gcc,
        ),
        dpkg(
            "mpc1",
            "1.3.1-r1",
            139_264,
            "build-only/compiler",
            "library of a dropped compiler",
            Some("gcc"),
            &gcc,
        ),
        dpkg(
            "mpfr4",
            "4.2.1-r0",
            499_712,
            "build-only/compiler",
            "library of a dropped compiler",
            Some("gcc"),
            &gcc,
        ),
        dpkg(
            "musl-dev",
            "1.2.5-r0",
            2_830_336,
            "build-only/headers",
            "C library headers",
            None,
            &loc(&src, "musl-dev"),
        ),
        dpkg(
            "libffi-dev",
            "3.4.6-r0",
            40_960,
            "build-only/headers",
            "libffi headers",
            None,
            &loc(&src, "libffi-dev"),
        ),
        dpkg(
            "pip",
            "24.0",
            12_910_592,
            "build-only/package-manager",
            "installs the requirements at build time",
            None,
            &pip,
        ),
        DroppedItem {
            kind: DroppedKind::File,
            name: "/app/requirements.txt".into(),
            version: None,
            bytes_saved: 48,
            rule: "build-only/build-input".into(),
            reason: "read only by pip install".into(),
            location: Some(loc(&src, "COPY requirements.txt .")),
            wanted_by: None,
        },
        DroppedItem {
            kind: DroppedKind::BaseContent,
            name: "apk-tools".into(),
            version: Some("2.14.4-r1".into()),
            bytes_saved: 307_200,
            rule: "base/package-manager".into(),
            reason: "package manager of the base image".into(),
            location: Some(from.clone()),
            wanted_by: None,
        },
        DroppedItem {
            kind: DroppedKind::BaseContent,
            name: "ssl_client".into(),
            version: Some("1.36.1-r29".into()),
            bytes_saved: 14_336,
            rule: "base/content".into(),
            reason: "not in the run-time closure".into(),
            location: Some(from.clone()),
            wanted_by: None,
        },
    ];

    let kept_bytes: u64 = kept.iter().map(|k| k.size_bytes).sum();
    let dropped_bytes: u64 = dropped
        .iter()
        .filter(|d| d.kind != DroppedKind::BaseContent)
        .map(|d| d.bytes_saved)
        .sum();
    Report {
        schema_version: scratchify::report::SCHEMA_VERSION,
        tool: tool(),
        source_date_epoch: 1_700_000_000,
        dockerfile: DockerfileSource {
            path: "services/api/Dockerfile".into(),
            text: FLASK_DOCKERFILE.into(),
        },
        base: Some(BaseImage {
            reference: "python:3.12-alpine3.20".into(),
            release: Some("alpine-3.20".into()),
            size_bytes: 64_700_000,
            packages: 37,
            location: Some(from),
        }),
        image: None,
        totals: Totals {
            // Base image, everything installed, requirements.txt and app.py;
            // the closure of the kept packages overlaps the base image.
            docker_build_estimate_bytes: 64_700_000 + (kept_bytes - 64_000_000) + dropped_bytes,
            minimal_bytes: kept_bytes,
            packages_before: 37 + 8 + 9 + 1,
            packages_after: 19,
            files_before: 9_315,
            files_after: 3_027,
            shells_left: vec!["busybox".into()],
            package_managers_left: vec![],
            compilers_left: vec![],
        },
        kept,
        dropped,
        synthesized: vec![SynthesizedItem {
            path: "/lib/apk/db/installed".into(),
            size_bytes: 0,
            sha256: None,
            sha1: None,
            reason: "package records for vulnerability scanners (written with the image)".into(),
            replaces: None,
            location: None,
        }],
        warnings: vec![
            Finding {
                severity: Severity::Warning,
                code: "plan::shell-entrypoint".into(),
                message: "CMD runs through `sh -c`, so busybox stays in the image for /bin/sh".into(),
                label: Some("needs /bin/sh".into()),
                help: Some(r#"use the exec form without a shell: CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]"#.into()),
                location: Some(loc(&src, r#"["sh", "-c""#)),
            },
            Finding {
                severity: Severity::Note,
                code: "plan::unpinned-requirement".into(),
                message: "requirements.txt does not pin click; resolved to 8.1.7".into(),
                label: None,
                help: Some("pin every requirement (pip-compile) so rebuilds give the same image".into()),
                location: Some(pip),
            },
        ],
    }
}

/// Hostile and degenerate values: markup and terminal escapes in names, a
/// path with spaces, spans that are out of range or point into the middle
/// of a character, zero totals, unknown rules, no image.
pub fn hostile() -> Report {
    let text = "FROM scratch\nCOPY --chmod=755 «app» /bin/app|x\nRUN echo \u{1b}[31mred\n";
    let src = SourceFile::new("docker/My Dockerfile", text);
    let copy = loc(&src, "«app»");
    let mid_char = Location {
        span: Some(Span::new(copy.span.expect("span").start + 1, 9_999)),
        ..copy.clone()
    };
    let beyond = Location {
        file: "docker/My Dockerfile".into(),
        line: 40,
        column: 3,
        end_line: 2,
        end_column: 1,
        span: None,
    };
    Report {
        schema_version: scratchify::report::SCHEMA_VERSION,
        tool: tool(),
        source_date_epoch: 0,
        dockerfile: DockerfileSource {
            path: "docker/My Dockerfile".into(),
            text: text.into(),
        },
        base: None,
        image: Some(ImageSummary {
            digest: "sha256:not-hex".into(),
            compressed_bytes: 0,
            uncompressed_bytes: 0,
            layers: vec![],
        }),
        totals: Totals::default(),
        kept: vec![
            KeptItem {
                id: "file:/bin/app|x".into(),
                kind: KeptKind::File,
                name: "/bin/app|x".into(),
                version: None,
                arch: None,
                size_bytes: 0,
                files: None,
                purl: None,
                license: Some("Proprietary <b>see LICENSE</b>".into()),
                sha256: Some("NOT-A-DIGEST".into()),
                sha1: None,
                chain: vec!["missing-id".into()],
                request: Some(Request {
                    text: "COPY «app» `x`".into(),
                    location: Some(mid_char),
                }),
                depends_on: vec!["file:/bin/app|x".into(), "nowhere".into()],
            },
            KeptItem {
                id: "file:/bin/app|x".into(),
                kind: KeptKind::Package,
                name: "<script>alert(1)</script>".into(),
                version: Some("1.0`|`".into()),
                arch: None,
                size_bytes: 0,
                files: None,
                purl: Some("pkg:generic/%3Cscript%3E@1.0".into()),
                license: None,
                sha256: None,
                sha1: None,
                chain: vec![],
                request: None,
                depends_on: vec![],
            },
        ],
        dropped: vec![DroppedItem {
            kind: DroppedKind::Stage,
            name: "\u{1b}]0;pwned\u{7}stage".into(),
            version: None,
            bytes_saved: 0,
            rule: "some-future/rule".into(),
            reason: "**bold** [link](http://x) | pipe".into(),
            location: Some(beyond.clone()),
            wanted_by: Some("`tick`".into()),
        }],
        synthesized: vec![],
        warnings: vec![
            Finding {
                severity: Severity::Error,
                code: "unsupported/run".into(),
                message: "cannot interpret `echo \u{1b}[31mred`".into(),
                label: Some("here".into()),
                help: None,
                location: Some(loc(&src, "RUN echo")),
            },
            Finding {
                severity: Severity::Warning,
                code: "x".into(),
                message: "a finding with a location past the end".into(),
                label: None,
                help: None,
                location: Some(beyond),
            },
        ],
    }
}
