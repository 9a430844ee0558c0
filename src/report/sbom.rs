//! `--sbom spdx` (SPDX 2.3 JSON) and `--sbom cyclonedx` (CycloneDX 1.5
//! JSON): what the minimal image contains.
//!
//! Both list the kept packages (with purls, licenses and digests), the kept
//! files (COPY) and the synthesized files, under one root element for the
//! image, with run-time dependency relationships from the closure edges
//! ([`KeptItem::depends_on`]) and the chains ([`KeptItem::chain`]: the first
//! link depends on the item).
//!
//! Choices the issue left open:
//! - Deterministic identity: the SPDX `documentNamespace` and the CycloneDX
//!   `serialNumber` embed a name-based (version 5) UUID of the image digest,
//!   or, for `audit` (no image), of the SHA-256 of the JSON report. The only
//!   timestamp is `source_date_epoch` (`SOURCE_DATE_EPOCH`, default 0 →
//!   `1970-01-01T00:00:00Z`).
//! - SPDX requires at least one checksum per file: files with a SHA-1 or
//!   SHA-256 become SPDX files, a file with neither becomes a package with
//!   `primaryPackagePurpose: FILE`.
//! - Licenses: a license string that parses as an SPDX license expression
//!   is written as one (identifiers are not checked against the SPDX list);
//!   anything else becomes a `LicenseRef-` with the original text in
//!   `hasExtractedLicensingInfos` (SPDX) or a named license (CycloneDX).
//! - Digests that are not well-formed lowercase hex are left out rather than
//!   written into a document that would not validate.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha1::{Digest, Sha1};

use super::json::to_json;
use super::model::{KeptItem, KeptKind, Report};
use super::util::{is_lower_hex, rfc3339_utc, sha256_hex};

/// The RFC 4122 namespace for URLs, used as the namespace of the v5 UUIDs.
const NAMESPACE_URL: [u8; 16] = [
    0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
];

/// A name-based (SHA-1, version 5) UUID, RFC 9562 section 5.5.
fn uuid_v5(namespace: &[u8; 16], name: &str) -> String {
    let mut hasher = Sha1::new();
    hasher.update(namespace);
    hasher.update(name.as_bytes());
    let digest = hasher.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// What the document's identity is derived from.
fn identity_seed(report: &Report) -> String {
    match &report.image {
        Some(image) => format!("scratchify:image:{}", image.digest),
        None => format!(
            "scratchify:report:sha256:{}",
            sha256_hex(to_json(report).as_bytes())
        ),
    }
}

/// The image digest's hex part, when it is a well-formed `sha256:` digest.
fn image_sha256(report: &Report) -> Option<String> {
    let digest = &report.image.as_ref()?.digest;
    let hex = digest.strip_prefix("sha256:")?;
    is_lower_hex(hex, 64).then(|| hex.to_string())
}

/// Dependency edges between kept items, by index: `(dependent, dependency)`.
/// From `depends_on` and from chains (the first link of an item's chain
/// depends on it); references to unknown ids and self-edges are ignored.
fn dependency_edges(report: &Report) -> BTreeSet<(usize, usize)> {
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, item) in report.kept.iter().enumerate() {
        index.entry(item.id.as_str()).or_insert(i);
    }
    let mut edges = BTreeSet::new();
    for (i, item) in report.kept.iter().enumerate() {
        for dep in &item.depends_on {
            if let Some(&j) = index.get(dep.as_str())
                && j != i
            {
                edges.insert((i, j));
            }
        }
        if let Some(first) = item.chain.first()
            && let Some(&j) = index.get(first.as_str())
            && j != i
        {
            edges.insert((j, i));
        }
    }
    edges
}

/// Whether a string is a syntactically valid SPDX license expression
/// (identifiers, `+`, `AND`/`OR`/`WITH`, parentheses; not checked against
/// the license list).
fn is_spdx_expression(s: &str) -> bool {
    let spaced = s.replace('(', " ( ").replace(')', " ) ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut depth = 0usize;
    // Expect an operand (true) or an operator (false).
    let mut want_operand = true;
    // `WITH` applies once per license; a second one needs an AND/OR first.
    let mut with_used = false;
    for token in &tokens {
        match *token {
            "(" if want_operand => depth += 1,
            ")" if !want_operand => {
                depth = match depth.checked_sub(1) {
                    Some(d) => d,
                    None => return false,
                };
            }
            "AND" | "OR" if !want_operand => {
                want_operand = true;
                with_used = false;
            }
            "WITH" if !want_operand && !with_used => {
                want_operand = true;
                with_used = true;
            }
            t if want_operand && is_license_id(t) => want_operand = false,
            _ => return false,
        }
    }
    !tokens.is_empty() && depth == 0 && !want_operand
}

/// A license string that can be written as an SPDX expression as it is:
/// a valid expression without `LicenseRef-`/`DocumentRef-` references,
/// which would need definitions this document does not have.
fn usable_expression(s: &str) -> bool {
    is_spdx_expression(s) && !s.contains("LicenseRef-") && !s.contains("DocumentRef-")
}

fn is_license_id(t: &str) -> bool {
    let t = t.strip_suffix('+').unwrap_or(t);
    !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !matches!(t, "AND" | "OR" | "WITH")
}

/// A string reduced to the characters SPDX allows in ids (`[A-Za-z0-9.-]`).
fn spdx_id_part(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "x".to_string() } else { out }
}

/// Hands out unique ids, suffixing `-2`, `-3`, ... on collision.
#[derive(Default)]
struct IdAllocator {
    used: BTreeSet<String>,
}

impl IdAllocator {
    fn allocate(&mut self, wanted: String) -> String {
        if self.used.insert(wanted.clone()) {
            return wanted;
        }
        let mut n = 2u64;
        loop {
            let candidate = format!("{wanted}-{n}");
            if self.used.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }
}

// ---------------------------------------------------------------- SPDX 2.3

/// The image's contents as an SPDX 2.3 JSON document (pretty, trailing newline).
pub fn render_spdx(report: &Report) -> String {
    let doc = spdx_document(report);
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| String::from("{}"));
    out.push('\n');
    out
}

fn spdx_document(report: &Report) -> SpdxDocument {
    let uuid = uuid_v5(&NAMESPACE_URL, &identity_seed(report));
    let doc_name = match &report.image {
        Some(image) => format!("{}@{}", report.dockerfile.path, image.digest),
        None => report.dockerfile.path.clone(),
    };
    let mut ids = IdAllocator::default();
    let image_id = ids.allocate("SPDXRef-Image".to_string());
    let mut packages = vec![SpdxPackage {
        spdx_id: image_id.clone(),
        name: format!("minimal image of {}", report.dockerfile.path),
        version_info: report.image.as_ref().map(|i| i.digest.clone()),
        download_location: "NOASSERTION",
        files_analyzed: false,
        checksums: image_sha256(report)
            .map(|h| vec![checksum("SHA256", h)])
            .unwrap_or_default(),
        license_concluded: "NOASSERTION".to_string(),
        license_declared: "NOASSERTION".to_string(),
        copyright_text: "NOASSERTION",
        external_refs: Vec::new(),
        primary_package_purpose: Some("CONTAINER"),
        comment: Some(format!(
            "Built by {} {} from {}",
            report.tool.name, report.tool.version, report.dockerfile.path
        )),
    }];
    let mut files = Vec::new();
    // Keyed by the original license string; ids are unique even when two
    // strings reduce to the same id characters.
    let mut extracted: BTreeMap<String, SpdxExtractedLicense> = BTreeMap::new();
    let mut license_ids = IdAllocator::default();
    let mut element_of_item: Vec<String> = Vec::with_capacity(report.kept.len());
    let mut relationships = vec![SpdxRelationship {
        spdx_element_id: "SPDXRef-DOCUMENT".to_string(),
        relationship_type: "DESCRIBES",
        related_spdx_element: image_id.clone(),
    }];

    for item in &report.kept {
        let file_checksums = item_checksums(item);
        if item.kind == KeptKind::File && !file_checksums.is_empty() {
            let id = ids.allocate(format!("SPDXRef-File-{}", spdx_id_part(&item.name)));
            files.push(SpdxFile {
                spdx_id: id.clone(),
                file_name: spdx_file_name(&item.name),
                checksums: file_checksums,
                license_concluded: "NOASSERTION",
                copyright_text: "NOASSERTION",
                comment: item_comment(report, item),
            });
            element_of_item.push(id);
            continue;
        }
        let prefix = if item.kind == KeptKind::File {
            "File"
        } else {
            "Package"
        };
        let id = ids.allocate(format!("SPDXRef-{prefix}-{}", spdx_id_part(&item.id)));
        let license_declared = match item.license.as_deref() {
            None => "NOASSERTION".to_string(),
            Some(l) if usable_expression(l) => l.to_string(),
            Some(l) => match extracted.get(l) {
                Some(known) => known.license_id.clone(),
                None => {
                    let license_id =
                        license_ids.allocate(format!("LicenseRef-{}", spdx_id_part(l)));
                    extracted.insert(
                        l.to_string(),
                        SpdxExtractedLicense {
                            license_id: license_id.clone(),
                            name: l.to_string(),
                            extracted_text: format!(
                                "The package index names this license \"{l}\"; it is not an SPDX license expression."
                            ),
                        },
                    );
                    license_id
                }
            },
        };
        let name = if item.kind == KeptKind::File {
            spdx_file_name(&item.name)
        } else {
            item.name.clone()
        };
        packages.push(SpdxPackage {
            spdx_id: id.clone(),
            name,
            version_info: item.version.clone(),
            download_location: "NOASSERTION",
            files_analyzed: false,
            checksums: item_checksums(item),
            license_concluded: "NOASSERTION".to_string(),
            license_declared,
            copyright_text: "NOASSERTION",
            external_refs: item
                .purl
                .iter()
                .map(|p| SpdxExternalRef {
                    reference_category: "PACKAGE-MANAGER",
                    reference_type: "purl",
                    reference_locator: p.clone(),
                })
                .collect(),
            primary_package_purpose: (item.kind == KeptKind::File).then_some("FILE"),
            comment: item_comment(report, item),
        });
        element_of_item.push(id);
    }
    for synth in &report.synthesized {
        let mut sums = Vec::new();
        if let Some(h) = synth.sha1.as_deref().filter(|h| is_lower_hex(h, 40)) {
            sums.push(checksum("SHA1", h.to_string()));
        }
        if let Some(h) = synth.sha256.as_deref().filter(|h| is_lower_hex(h, 64)) {
            sums.push(checksum("SHA256", h.to_string()));
        }
        let comment = Some(format!("Synthesized by scratchify: {}", synth.reason));
        let id = if sums.is_empty() {
            let id = ids.allocate(format!("SPDXRef-File-{}", spdx_id_part(&synth.path)));
            packages.push(SpdxPackage {
                spdx_id: id.clone(),
                name: spdx_file_name(&synth.path),
                version_info: None,
                download_location: "NOASSERTION",
                files_analyzed: false,
                checksums: Vec::new(),
                license_concluded: "NOASSERTION".to_string(),
                license_declared: "NOASSERTION".to_string(),
                copyright_text: "NOASSERTION",
                external_refs: Vec::new(),
                primary_package_purpose: Some("FILE"),
                comment,
            });
            id
        } else {
            let id = ids.allocate(format!("SPDXRef-File-{}", spdx_id_part(&synth.path)));
            files.push(SpdxFile {
                spdx_id: id.clone(),
                file_name: spdx_file_name(&synth.path),
                checksums: sums,
                license_concluded: "NOASSERTION",
                copyright_text: "NOASSERTION",
                comment,
            });
            id
        };
        relationships.push(SpdxRelationship {
            spdx_element_id: image_id.clone(),
            relationship_type: "CONTAINS",
            related_spdx_element: id,
        });
    }
    for id in &element_of_item {
        relationships.push(SpdxRelationship {
            spdx_element_id: image_id.clone(),
            relationship_type: "CONTAINS",
            related_spdx_element: id.clone(),
        });
    }
    for (from, to) in dependency_edges(report) {
        if let (Some(a), Some(b)) = (element_of_item.get(from), element_of_item.get(to)) {
            relationships.push(SpdxRelationship {
                spdx_element_id: a.clone(),
                relationship_type: "DEPENDS_ON",
                related_spdx_element: b.clone(),
            });
        }
    }

    SpdxDocument {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: doc_name,
        document_namespace: format!(
            "https://spdx.org/spdxdocs/{}-{uuid}",
            spdx_id_part(&report.tool.name)
        ),
        creation_info: SpdxCreationInfo {
            created: rfc3339_utc(report.source_date_epoch),
            creators: vec![format!(
                "Tool: {}-{}",
                report.tool.name, report.tool.version
            )],
        },
        packages,
        files,
        relationships,
        has_extracted_licensing_infos: {
            let mut infos: Vec<_> = extracted.into_values().collect();
            infos.sort_by(|a, b| a.license_id.cmp(&b.license_id));
            infos
        },
    }
}

/// SPDX file names are relative to the root of what is described: `./app/app.py`.
fn spdx_file_name(path: &str) -> String {
    format!("./{}", path.trim_start_matches('/'))
}

fn checksum(algorithm: &'static str, value: String) -> SpdxChecksum {
    SpdxChecksum {
        algorithm,
        checksum_value: value,
    }
}

fn item_checksums(item: &KeptItem) -> Vec<SpdxChecksum> {
    let mut sums = Vec::new();
    if let Some(h) = item.sha1.as_deref().filter(|h| is_lower_hex(h, 40)) {
        sums.push(checksum("SHA1", h.to_string()));
    }
    if let Some(h) = item.sha256.as_deref().filter(|h| is_lower_hex(h, 64)) {
        sums.push(checksum("SHA256", h.to_string()));
    }
    sums
}

fn item_comment(report: &Report, item: &KeptItem) -> Option<String> {
    Some(format!("Kept because: {}", report.chain_text(item)))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxDocument {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: SpdxCreationInfo,
    packages: Vec<SpdxPackage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<SpdxFile>,
    relationships: Vec<SpdxRelationship>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<SpdxExtractedLicense>,
}

#[derive(Serialize)]
struct SpdxCreationInfo {
    created: String,
    creators: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    download_location: &'static str,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<SpdxChecksum>,
    license_concluded: String,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<SpdxExternalRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_package_purpose: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxFile {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    file_name: String,
    checksums: Vec<SpdxChecksum>,
    license_concluded: &'static str,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxChecksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxRelationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxExtractedLicense {
    license_id: String,
    name: String,
    extracted_text: String,
}

// ----------------------------------------------------------- CycloneDX 1.5

/// The image's contents as a CycloneDX 1.5 JSON BOM (pretty, trailing newline).
pub fn render_cyclonedx(report: &Report) -> String {
    let bom = cyclonedx_bom(report);
    let mut out = serde_json::to_string_pretty(&bom).unwrap_or_else(|_| String::from("{}"));
    out.push('\n');
    out
}

fn cyclonedx_bom(report: &Report) -> CdxBom {
    let uuid = uuid_v5(&NAMESPACE_URL, &identity_seed(report));
    let mut refs = IdAllocator::default();
    let image_ref = refs.allocate("scratchify:image".to_string());
    let mut components = Vec::new();
    let mut ref_of_item = Vec::with_capacity(report.kept.len());
    for item in &report.kept {
        let bom_ref = refs.allocate(if item.id.is_empty() {
            "item".to_string()
        } else {
            item.id.clone()
        });
        let licenses = match item.license.as_deref() {
            None => None,
            Some(l) if usable_expression(l) => Some(vec![CdxLicenseChoice::Expression {
                expression: l.to_string(),
            }]),
            Some(l) => Some(vec![CdxLicenseChoice::License {
                license: CdxLicense {
                    name: l.to_string(),
                },
            }]),
        };
        let mut properties = vec![CdxProperty {
            name: "scratchify:size_bytes",
            value: item.size_bytes.to_string(),
        }];
        properties.push(CdxProperty {
            name: "scratchify:chain",
            value: report.chain_text(item),
        });
        if let Some(files) = item.files {
            properties.push(CdxProperty {
                name: "scratchify:files",
                value: files.to_string(),
            });
        }
        if let Some(arch) = &item.arch {
            properties.push(CdxProperty {
                name: "scratchify:arch",
                value: arch.clone(),
            });
        }
        components.push(CdxComponent {
            ty: match item.kind {
                KeptKind::Package => "library",
                KeptKind::File => "file",
            },
            bom_ref: bom_ref.clone(),
            name: item.name.clone(),
            version: item.version.clone(),
            purl: item.purl.clone(),
            hashes: cdx_hashes(item.sha1.as_deref(), item.sha256.as_deref()),
            licenses,
            properties,
        });
        ref_of_item.push(bom_ref);
    }
    let mut synthesized_refs = Vec::new();
    for synth in &report.synthesized {
        let bom_ref = refs.allocate(format!("synthesized:{}", synth.path));
        let mut properties = vec![
            CdxProperty {
                name: "scratchify:size_bytes",
                value: synth.size_bytes.to_string(),
            },
            CdxProperty {
                name: "scratchify:synthesized",
                value: synth.reason.clone(),
            },
        ];
        if let Some(replaces) = &synth.replaces {
            properties.push(CdxProperty {
                name: "scratchify:replaces",
                value: replaces.clone(),
            });
        }
        components.push(CdxComponent {
            ty: "file",
            bom_ref: bom_ref.clone(),
            name: synth.path.clone(),
            version: None,
            purl: None,
            hashes: cdx_hashes(synth.sha1.as_deref(), synth.sha256.as_deref()),
            licenses: None,
            properties,
        });
        synthesized_refs.push(bom_ref);
    }

    // The image depends on what the Dockerfile requested (items without a
    // chain) and on every file; packages on their closure edges.
    let edges = dependency_edges(report);
    let mut depends: Vec<BTreeSet<String>> = vec![BTreeSet::new(); report.kept.len()];
    for (from, to) in &edges {
        if let (Some(set), Some(r)) = (depends.get_mut(*from), ref_of_item.get(*to)) {
            set.insert(r.clone());
        }
    }
    let mut image_deps: BTreeSet<String> = report
        .kept
        .iter()
        .zip(&ref_of_item)
        .filter(|(item, _)| item.chain.is_empty())
        .map(|(_, r)| r.clone())
        .collect();
    image_deps.extend(synthesized_refs.iter().cloned());
    let mut dependencies = vec![CdxDependency {
        reference: image_ref.clone(),
        depends_on: image_deps.into_iter().collect(),
    }];
    for (r, deps) in ref_of_item.iter().zip(depends) {
        dependencies.push(CdxDependency {
            reference: r.clone(),
            depends_on: deps.into_iter().collect(),
        });
    }
    for r in synthesized_refs {
        dependencies.push(CdxDependency {
            reference: r,
            depends_on: Vec::new(),
        });
    }

    CdxBom {
        bom_format: "CycloneDX",
        spec_version: "1.5",
        serial_number: format!("urn:uuid:{uuid}"),
        version: 1,
        metadata: CdxMetadata {
            timestamp: rfc3339_utc(report.source_date_epoch),
            tools: CdxTools {
                components: vec![CdxToolComponent {
                    ty: "application",
                    name: report.tool.name.clone(),
                    version: report.tool.version.clone(),
                }],
            },
            component: CdxComponent {
                ty: "container",
                bom_ref: image_ref,
                name: report.dockerfile.path.clone(),
                version: report.image.as_ref().map(|i| i.digest.clone()),
                purl: None,
                hashes: cdx_hashes(None, image_sha256(report).as_deref()),
                licenses: None,
                properties: vec![
                    CdxProperty {
                        name: "scratchify:minimal_bytes",
                        value: report.totals.minimal_bytes.to_string(),
                    },
                    CdxProperty {
                        name: "scratchify:docker_build_estimate_bytes",
                        value: report.totals.docker_build_estimate_bytes.to_string(),
                    },
                ],
            },
        },
        components,
        dependencies,
    }
}

fn cdx_hashes(sha1: Option<&str>, sha256: Option<&str>) -> Vec<CdxHash> {
    let mut hashes = Vec::new();
    if let Some(h) = sha1.filter(|h| is_lower_hex(h, 40)) {
        hashes.push(CdxHash {
            alg: "SHA-1",
            content: h.to_string(),
        });
    }
    if let Some(h) = sha256.filter(|h| is_lower_hex(h, 64)) {
        hashes.push(CdxHash {
            alg: "SHA-256",
            content: h.to_string(),
        });
    }
    hashes
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CdxBom {
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: CdxMetadata,
    components: Vec<CdxComponent>,
    dependencies: Vec<CdxDependency>,
}

#[derive(Serialize)]
struct CdxMetadata {
    timestamp: String,
    tools: CdxTools,
    component: CdxComponent,
}

#[derive(Serialize)]
struct CdxTools {
    components: Vec<CdxToolComponent>,
}

#[derive(Serialize)]
struct CdxToolComponent {
    #[serde(rename = "type")]
    ty: &'static str,
    name: String,
    version: String,
}

#[derive(Serialize)]
struct CdxComponent {
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<CdxHash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    licenses: Option<Vec<CdxLicenseChoice>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<CdxProperty>,
}

#[derive(Serialize)]
struct CdxHash {
    alg: &'static str,
    content: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum CdxLicenseChoice {
    Expression { expression: String },
    License { license: CdxLicense },
}

#[derive(Serialize)]
struct CdxLicense {
    name: String,
}

#[derive(Serialize)]
struct CdxProperty {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CdxDependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v5_matches_rfc_example() {
        // RFC 9562 appendix A.4: v5 of "www.example.com" in the DNS namespace.
        let dns = [
            0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4,
            0x30, 0xc8,
        ];
        assert_eq!(
            uuid_v5(&dns, "www.example.com"),
            "2ed6657d-e927-568b-95e1-2665a8aea6a2"
        );
    }

    #[test]
    fn license_expressions() {
        for ok in [
            "MIT",
            "GPL-2.0-or-later",
            "GPL-2.0+",
            "Apache-2.0 AND (MIT OR GPL-2.0-only)",
            "GPL-3.0-only WITH Classpath-exception-2.0",
            "LicenseRef-foo",
        ] {
            assert!(is_spdx_expression(ok), "{ok}");
        }
        assert!(usable_expression("MIT OR Apache-2.0"));
        assert!(!usable_expression("MIT OR LicenseRef-foo"));
        for bad in [
            "",
            "MIT AND",
            "(MIT",
            "MIT)",
            "BSD 3-clause",
            "GPL (any version)",
            "MIT WITH WITH X",
            "MIT WITH X WITH Y",
            "Public Domain",
            "AND",
        ] {
            assert!(!is_spdx_expression(bad), "{bad}");
        }
    }

    #[test]
    fn spdx_ids() {
        assert_eq!(spdx_id_part("deb:libssl3"), "deb-libssl3");
        assert_eq!(spdx_id_part("/app/app.py"), "app-app.py");
        assert_eq!(spdx_id_part("???"), "x");
        let mut ids = IdAllocator::default();
        assert_eq!(ids.allocate("a".into()), "a");
        assert_eq!(ids.allocate("a".into()), "a-2");
        assert_eq!(ids.allocate("a".into()), "a-3");
    }
}
