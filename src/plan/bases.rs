//! Mapping FROM references to a distribution release and runtime packages,
//! driven by `grammar/bases.toml`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::ir::Family;

const BASES_TOML: &str = include_str!("../../grammar/bases.toml");

#[derive(Debug, Deserialize)]
struct BasesFile {
    families: BTreeMap<String, FamilyData>,
    image: Vec<ImageData>,
}

#[derive(Debug, Deserialize)]
struct FamilyData {
    default: String,
    releases: Vec<String>,
    versions: BTreeMap<String, String>,
    base_content: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ImageData {
    name: String,
    family: String,
    #[serde(default)]
    alpine_variants: bool,
    #[serde(default)]
    runtime: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    build_only: BTreeMap<String, Vec<String>>,
    note: Option<String>,
}

fn data() -> &'static BasesFile {
    static DATA: OnceLock<BasesFile> = OnceLock::new();
    // The file is compiled in and covered by tests; a parse failure is a bug
    // in the shipped data, not a user error.
    DATA.get_or_init(|| toml::from_str(BASES_TOML).expect("grammar/bases.toml is valid"))
}

fn family_from_name(s: &str) -> Option<Family> {
    Some(match s {
        "debian" => Family::Debian,
        "ubuntu" => Family::Ubuntu,
        "alpine" => Family::Alpine,
        "nix" => Family::Nix,
        "none" => Family::None,
        _ => return None,
    })
}

/// A FROM reference split into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host, when the first component looks like one.
    pub registry: Option<String>,
    /// Repository path without registry and without `library/`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// Split `[registry/]repo[:tag][@digest]` the way Docker's reference grammar
/// does: the first component is a registry when it contains `.` or `:` or is
/// `localhost`.
pub fn parse_reference(reference: &str) -> ImageRef {
    let (rest, digest) = match reference.split_once('@') {
        Some((r, d)) => (r, Some(d.to_string())),
        None => (reference, None),
    };
    let (registry, path) = match rest.split_once('/') {
        Some((first, tail))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first.to_string()), tail)
        }
        _ => (None, rest),
    };
    // A tag is after the last `:` that follows the last `/`.
    let last_slash = path.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match path[last_slash..].rfind(':') {
        Some(i) => (
            &path[..last_slash + i],
            Some(path[last_slash + i + 1..].to_string()),
        ),
        None => (path, None),
    };
    let repository = repo
        .strip_prefix("library/")
        .unwrap_or(repo)
        .to_ascii_lowercase();
    ImageRef {
        registry,
        repository,
        tag,
        digest,
    }
}

/// What a base image maps to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseMapping {
    pub family: Family,
    pub release: String,
    /// True when no tag part named a release and the family default was used.
    pub release_assumed: bool,
    /// Distribution packages that stand in for the image's runtime.
    pub runtime: Vec<String>,
    /// Toolchain packages the image carries that are build-only.
    pub build_only: Vec<String>,
    /// What the base image itself carries (shell, package manager, ...) and
    /// the final image does not, for the report.
    pub base_content: Vec<String>,
    pub note: Option<String>,
}

/// Map a FROM reference (already expanded) to a distribution. `None` when the
/// image is not in `grammar/bases.toml`.
pub fn map_base(reference: &str) -> Option<BaseMapping> {
    let r = parse_reference(reference);
    let data = data();
    let image = data.image.iter().find(|i| i.name == r.repository)?;
    let mut family_name = image.family.as_str();
    let tag = r.tag.as_deref().unwrap_or("latest");
    let mut release: Option<String> = None;

    let alpine_aware = image.alpine_variants || image.family == "alpine";
    for part in tag.split('-').filter(|_| alpine_aware) {
        if let Some(v) = part.strip_prefix("alpine") {
            family_name = "alpine";
            if !v.is_empty() {
                release = Some(v.to_string());
            }
            break;
        }
    }
    let fam = data.families.get(family_name)?;
    if release.is_none() {
        release = tag.split('-').find_map(|part| {
            if fam.releases.iter().any(|r| r == part) {
                Some(part.to_string())
            } else if let Some(codename) = fam.versions.get(part) {
                Some(codename.clone())
            } else {
                // `12.5` -> `12`, `24.04.1` -> `24.04` for versioned tags.
                fam.versions
                    .iter()
                    .find(|(v, _)| {
                        part.strip_prefix(v.as_str())
                            .is_some_and(|rest| rest.starts_with('.'))
                    })
                    .map(|(_, c)| c.clone())
            }
        });
        // Alpine tags are release numbers themselves (`3.20`, `3.20.1`).
        if release.is_none() && family_name == "alpine" && image.family == "alpine" {
            release = fam
                .releases
                .iter()
                .find(|rel| {
                    tag == rel.as_str()
                        || tag
                            .strip_prefix(rel.as_str())
                            .is_some_and(|rest| rest.starts_with('.'))
                })
                .cloned();
        }
    }
    let release_assumed = release.is_none();
    let release = release.unwrap_or_else(|| fam.default.clone());
    let family = family_from_name(family_name)?;
    let pick = |m: &BTreeMap<String, Vec<String>>| {
        m.get(family_name)
            .or_else(|| {
                // Ubuntu-based images list Debian-format names under their family.
                if family == Family::Ubuntu {
                    m.get("debian")
                } else {
                    None
                }
            })
            .cloned()
            .unwrap_or_default()
    };
    Some(BaseMapping {
        family,
        release,
        release_assumed,
        runtime: pick(&image.runtime),
        build_only: pick(&image.build_only),
        base_content: fam.base_content.clone(),
        note: image.note.clone(),
    })
}

/// The image names `grammar/bases.toml` knows, for the "unknown base" help.
pub fn known_images() -> Vec<&'static str> {
    data().image.iter().map(|i| i.name.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_parses() {
        assert!(known_images().contains(&"debian"));
    }

    #[test]
    fn references_split_like_docker() {
        let r = parse_reference("docker.io/library/debian:bookworm-slim@sha256:abc");
        assert_eq!(r.registry.as_deref(), Some("docker.io"));
        assert_eq!(r.repository, "debian");
        assert_eq!(r.tag.as_deref(), Some("bookworm-slim"));
        assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
        let r = parse_reference("localhost:5000/team/app");
        assert_eq!(r.registry.as_deref(), Some("localhost:5000"));
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag, None);
        let r = parse_reference("nixos/nix:2.24.1");
        assert_eq!(r.repository, "nixos/nix");
    }

    fn mapped(r: &str) -> (Family, String, bool, Vec<String>) {
        let m = map_base(r).unwrap_or_else(|| panic!("{r} maps"));
        (m.family, m.release, m.release_assumed, m.runtime)
    }

    #[test]
    fn maps_common_bases() {
        assert_eq!(mapped("debian:bookworm-slim").1, "bookworm");
        assert_eq!(mapped("debian:12").1, "bookworm");
        assert_eq!(mapped("debian:12.5-slim").1, "bookworm");
        assert_eq!(mapped("debian:11").1, "bullseye");
        assert!(
            mapped("debian").2,
            "bare debian assumes the default release"
        );
        assert_eq!(mapped("ubuntu:22.04").1, "jammy");
        assert_eq!(mapped("ubuntu:jammy").1, "jammy");
        assert_eq!(mapped("alpine:3.19").1, "3.19");
        assert_eq!(mapped("alpine:3.19.1").1, "3.19");
        assert_eq!(mapped("alpine").0, Family::Alpine);
        let (f, rel, _, rt) = mapped("python:3.12-slim-bookworm");
        assert_eq!((f, rel.as_str()), (Family::Debian, "bookworm"));
        assert_eq!(rt, ["python3"]);
        let (f, rel, _, _) = mapped("python:3.12-alpine3.20");
        assert_eq!((f, rel.as_str()), (Family::Alpine, "3.20"));
        let (f, _, assumed, rt) = mapped("nginx:alpine");
        assert_eq!(f, Family::Alpine);
        assert!(assumed);
        assert_eq!(rt, ["nginx"]);
        assert_eq!(mapped("redis:7-bookworm").3, ["redis-server"]);
        assert_eq!(mapped("node:20-bullseye-slim").1, "bullseye");
        assert_eq!(mapped("eclipse-temurin:17-jre-jammy").1, "jammy");
        assert_eq!(mapped("golang:1.22").0, Family::Debian);
        assert_eq!(mapped("nixos/nix").0, Family::Nix);
        assert_eq!(mapped("scratch").0, Family::None);
        assert!(map_base("mycorp/base:1").is_none());
    }
}
