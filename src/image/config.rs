//! The OCI image config, manifest and index, serialized canonically.
//!
//! All three are written with [`canonical_json`] (keys sorted at every
//! depth, no whitespace): the bytes produced here are the bytes hashed,
//! written and pushed. Field choices:
//! - `created` (config and every history entry) is `SOURCE_DATE_EPOCH` in
//!   RFC 3339 UTC.
//! - One history entry per layer (`created_by` = the layer's label), then
//!   [`ImageConfigSpec::extra_history`] as `empty_layer` entries.
//! - `Healthcheck` is Docker's extension of the config object (durations in
//!   nanoseconds); OCI runtimes ignore it, Docker and Podman honour it.
//! - Exposed ports without a protocol get `/tcp`, as Docker does.
//! - Media types are OCI 1.1's; the manifest has no `artifactType`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use super::ImageError;
use super::digest::{Digest, canonical_json, rfc3339};

pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_TYPE_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_TYPE_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Docker's health check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Healthcheck {
    /// `["NONE"]`, `["CMD", arg...]` or `["CMD-SHELL", command]`.
    pub test: Vec<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
    pub retries: Option<u32>,
}

/// A history entry that adds no layer (ENV, CMD, ...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryNote {
    pub created_by: String,
    pub comment: Option<String>,
}

/// The image configuration the plan decided on. `user` should already be
/// numeric (`uid:gid`; see `SynthesizedRootfs::resolve_user`), though a
/// name is written as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageConfigSpec {
    /// GOARCH-style: `amd64`, `arm64`, ...
    pub architecture: String,
    pub os: String,
    pub variant: Option<String>,
    pub author: Option<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    /// `NAME=value`, in order (a later one wins at run time).
    pub env: Vec<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    /// `80/tcp`, `53/udp`, or `8080` (becomes `8080/tcp`).
    pub exposed_ports: BTreeSet<String>,
    pub volumes: BTreeSet<String>,
    pub labels: BTreeMap<String, String>,
    pub stop_signal: Option<String>,
    pub healthcheck: Option<Healthcheck>,
    pub extra_history: Vec<HistoryNote>,
    /// Annotations of the manifest.
    pub annotations: BTreeMap<String, String>,
}

impl Default for ImageConfigSpec {
    fn default() -> Self {
        ImageConfigSpec {
            architecture: "amd64".into(),
            os: "linux".into(),
            variant: None,
            author: None,
            entrypoint: None,
            cmd: None,
            env: Vec::new(),
            user: None,
            working_dir: None,
            exposed_ports: BTreeSet::new(),
            volumes: BTreeSet::new(),
            labels: BTreeMap::new(),
            stop_signal: None,
            healthcheck: None,
            extra_history: Vec::new(),
            annotations: BTreeMap::new(),
        }
    }
}

/// A content descriptor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub platform: Option<Platform>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub variant: Option<String>,
}

/// One layer as the config and manifest see it.
pub(crate) struct LayerRef<'a> {
    pub descriptor: Descriptor,
    pub diff_id: &'a Digest,
    pub created_by: &'a str,
    pub comment: Option<&'a str>,
}

#[derive(Serialize)]
struct ConfigJson<'a> {
    created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<&'a str>,
    architecture: &'a str,
    os: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a str>,
    config: RuntimeConfig<'a>,
    rootfs: RootFs<'a>,
    history: Vec<History<'a>>,
}

#[derive(Serialize)]
struct RuntimeConfig<'a> {
    #[serde(rename = "User", skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(rename = "ExposedPorts", skip_serializing_if = "BTreeMap::is_empty")]
    exposed_ports: BTreeMap<String, Empty>,
    #[serde(rename = "Env", skip_serializing_if = "<[_]>::is_empty")]
    env: &'a [String],
    #[serde(rename = "Entrypoint", skip_serializing_if = "Option::is_none")]
    entrypoint: Option<&'a [String]>,
    #[serde(rename = "Cmd", skip_serializing_if = "Option::is_none")]
    cmd: Option<&'a [String]>,
    #[serde(rename = "Volumes", skip_serializing_if = "BTreeMap::is_empty")]
    volumes: BTreeMap<&'a str, Empty>,
    #[serde(rename = "WorkingDir", skip_serializing_if = "Option::is_none")]
    working_dir: Option<&'a str>,
    #[serde(rename = "Labels", skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
    #[serde(rename = "StopSignal", skip_serializing_if = "Option::is_none")]
    stop_signal: Option<&'a str>,
    #[serde(rename = "Healthcheck", skip_serializing_if = "Option::is_none")]
    healthcheck: Option<HealthJson<'a>>,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct HealthJson<'a> {
    #[serde(rename = "Test")]
    test: &'a [String],
    #[serde(rename = "Interval", skip_serializing_if = "Option::is_none")]
    interval: Option<u64>,
    #[serde(rename = "Timeout", skip_serializing_if = "Option::is_none")]
    timeout: Option<u64>,
    #[serde(rename = "StartPeriod", skip_serializing_if = "Option::is_none")]
    start_period: Option<u64>,
    #[serde(rename = "StartInterval", skip_serializing_if = "Option::is_none")]
    start_interval: Option<u64>,
    #[serde(rename = "Retries", skip_serializing_if = "Option::is_none")]
    retries: Option<u32>,
}

#[derive(Serialize)]
struct RootFs<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: Vec<&'a Digest>,
}

#[derive(Serialize)]
struct History<'a> {
    created: &'a str,
    created_by: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    empty_layer: bool,
}

fn invalid(field: &str, reason: impl Into<String>) -> ImageError {
    ImageError::Config {
        field: field.to_string(),
        reason: reason.into(),
    }
}

fn nanos(d: Option<Duration>) -> Option<u64> {
    d.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn normalize_port(p: &str) -> Result<String, ImageError> {
    let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
    let proto = proto.to_ascii_lowercase();
    let valid_num = |n: &str| n.parse::<u16>().is_ok_and(|v| v > 0);
    // Docker accepts ranges (8000-8010); keep them as written.
    let num_ok = match num.split_once('-') {
        Some((a, b)) => valid_num(a) && valid_num(b),
        None => valid_num(num),
    };
    if !num_ok || !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(invalid(
            "ExposedPorts",
            format!("{p:?} is not PORT[/tcp|udp|sctp]"),
        ));
    }
    Ok(format!("{num}/{proto}"))
}

/// The config bytes.
pub(crate) fn config_json(
    spec: &ImageConfigSpec,
    layers: &[LayerRef<'_>],
    epoch: u64,
) -> Result<Vec<u8>, ImageError> {
    for e in &spec.env {
        match e.split_once('=') {
            Some((k, _)) if !k.is_empty() => {}
            _ => return Err(invalid("Env", format!("{e:?} is not NAME=value"))),
        }
    }
    if let Some(h) = &spec.healthcheck {
        let ok = match h.test.first().map(String::as_str) {
            Some("NONE") => h.test.len() == 1,
            Some("CMD") => h.test.len() >= 2,
            Some("CMD-SHELL") => h.test.len() == 2,
            _ => false,
        };
        if !ok {
            return Err(invalid(
                "Healthcheck",
                format!(
                    "test {:?} is not [\"NONE\"], [\"CMD\", args...] or [\"CMD-SHELL\", command]",
                    h.test
                ),
            ));
        }
    }
    if spec.architecture.is_empty() || spec.os.is_empty() {
        return Err(invalid("platform", "architecture and os are required"));
    }
    let mut ports = BTreeMap::new();
    for p in &spec.exposed_ports {
        ports.insert(normalize_port(p)?, Empty {});
    }
    let created = rfc3339(epoch);
    let mut history: Vec<History<'_>> = layers
        .iter()
        .map(|l| History {
            created: &created,
            created_by: l.created_by,
            comment: l.comment,
            empty_layer: false,
        })
        .collect();
    history.extend(spec.extra_history.iter().map(|n| History {
        created: &created,
        created_by: &n.created_by,
        comment: n.comment.as_deref(),
        empty_layer: true,
    }));
    let cfg = ConfigJson {
        created: created.clone(),
        author: spec.author.as_deref(),
        architecture: &spec.architecture,
        os: &spec.os,
        variant: spec.variant.as_deref(),
        config: RuntimeConfig {
            user: spec.user.as_deref(),
            exposed_ports: ports,
            env: &spec.env,
            entrypoint: spec.entrypoint.as_deref(),
            cmd: spec.cmd.as_deref(),
            volumes: spec
                .volumes
                .iter()
                .map(|v| (v.as_str(), Empty {}))
                .collect(),
            working_dir: spec.working_dir.as_deref(),
            labels: &spec.labels,
            stop_signal: spec.stop_signal.as_deref(),
            healthcheck: spec.healthcheck.as_ref().map(|h| HealthJson {
                test: &h.test,
                interval: nanos(h.interval),
                timeout: nanos(h.timeout),
                start_period: nanos(h.start_period),
                start_interval: nanos(h.start_interval),
                retries: h.retries,
            }),
        },
        rootfs: RootFs {
            kind: "layers",
            diff_ids: layers.iter().map(|l| l.diff_id).collect(),
        },
        history,
    };
    canonical_json(&cfg).map_err(ImageError::Json)
}

#[derive(Serialize)]
struct ManifestJson<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    config: &'a Descriptor,
    layers: Vec<&'a Descriptor>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

/// The manifest bytes.
pub(crate) fn manifest_json(
    config: &Descriptor,
    layers: &[&Descriptor],
    annotations: &BTreeMap<String, String>,
) -> Result<Vec<u8>, ImageError> {
    canonical_json(&ManifestJson {
        schema_version: 2,
        media_type: MEDIA_TYPE_MANIFEST,
        config,
        layers: layers.to_vec(),
        annotations,
    })
    .map_err(ImageError::Json)
}

#[derive(Serialize)]
struct IndexJson<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    manifests: Vec<&'a Descriptor>,
}

/// An index listing one manifest.
pub(crate) fn index_json(manifest: &Descriptor) -> Result<Vec<u8>, ImageError> {
    canonical_json(&IndexJson {
        schema_version: 2,
        media_type: MEDIA_TYPE_INDEX,
        manifests: vec![manifest],
    })
    .map_err(ImageError::Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_normalize_or_fail() {
        assert_eq!(normalize_port("80").unwrap(), "80/tcp");
        assert_eq!(normalize_port("53/UDP").unwrap(), "53/udp");
        assert_eq!(normalize_port("8000-8010/tcp").unwrap(), "8000-8010/tcp");
        for bad in ["", "0", "70000", "80/icmp", "x/tcp", "80-/tcp"] {
            assert!(normalize_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_env_and_healthcheck_are_errors() {
        let mut spec = ImageConfigSpec {
            env: vec!["NOEQUALS".into()],
            ..Default::default()
        };
        assert!(config_json(&spec, &[], 0).is_err());
        spec.env = vec!["A=b".into()];
        spec.healthcheck = Some(Healthcheck {
            test: vec!["CMD".into()],
            ..Default::default()
        });
        assert!(config_json(&spec, &[], 0).is_err());
    }
}
