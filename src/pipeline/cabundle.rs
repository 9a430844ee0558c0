//! The CA bundle `update-ca-certificates` would have written.
//!
//! ca-certificates' postinst writes `/etc/ca-certificates.conf` listing
//! every `*.crt` below `/usr/share/ca-certificates` (paths relative to it,
//! sorted), then `update-ca-certificates` concatenates them in that order,
//! followed by the `*.crt` files below `/usr/local/share/ca-certificates`
//! (sorted), each ending with a newline, into
//! `/etc/ssl/certs/ca-certificates.crt`. We do the same from the image's
//! trees. Certificates are taken as files (PEM); a file without a PEM
//! certificate block is skipped and listed, as `update-ca-certificates`
//! warns about it. The per-certificate `/etc/ssl/certs/*.pem` symlinks and
//! hash links are not made: OpenSSL, GnuTLS and curl in Debian read the
//! bundle file.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::Digest as _;

use crate::tree::{EntryKind, FileSource, FileTree, ImagePath, TreeEntry};

/// Largest certificate file read.
const MAX_CERT: u64 = 1 << 20;

/// One certificate in the bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BundledCertificate {
    pub path: ImagePath,
    /// The tree (package name, or `COPY`) it came from.
    pub from: String,
}

/// The synthesized bundle, for the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaBundle {
    pub path: ImagePath,
    pub certificates: Vec<BundledCertificate>,
    /// Files that hold no PEM certificate, skipped.
    pub skipped: Vec<ImagePath>,
    pub bytes: u64,
    pub sha256: String,
    #[serde(skip)]
    pub content: Vec<u8>,
}

fn read(entry: &TreeEntry) -> Option<Vec<u8>> {
    match &entry.kind {
        EntryKind::File { source, size } if *size <= MAX_CERT => match source {
            FileSource::Bytes(b) => Some(b.to_vec()),
            FileSource::Disk(p) => std::fs::read(p).ok(),
        },
        _ => None,
    }
}

/// Build the bundle from `trees` (name, tree), bottom to top: a path in a
/// later tree wins. `None` when there is no certificate at all.
pub fn build(trees: &[(String, &FileTree)]) -> Result<Option<CaBundle>, String> {
    let mut found: BTreeMap<(u8, ImagePath), (String, TreeEntry)> = BTreeMap::new();
    for (name, tree) in trees {
        for (path, entry) in &tree.entries {
            let p = path.as_str();
            let rank = if p.starts_with("usr/share/ca-certificates/") {
                0
            } else if p.starts_with("usr/local/share/ca-certificates/") {
                1
            } else {
                continue;
            };
            if !p.ends_with(".crt") {
                continue;
            }
            if matches!(entry.kind, EntryKind::File { .. }) {
                found.insert((rank, path.clone()), (name.clone(), entry.clone()));
            } else {
                found.remove(&(rank, path.clone()));
            }
        }
    }
    if found.is_empty() {
        return Ok(None);
    }
    let mut content = Vec::new();
    let mut certificates = Vec::new();
    let mut skipped = Vec::new();
    for ((_, path), (from, entry)) in found {
        let data = read(&entry).ok_or_else(|| format!("cannot read {path}"))?;
        if !data
            .windows(27)
            .any(|w| w == b"-----BEGIN CERTIFICATE-----")
        {
            skipped.push(path);
            continue;
        }
        content.extend_from_slice(&data);
        if !data.ends_with(b"\n") {
            content.push(b'\n');
        }
        certificates.push(BundledCertificate { path, from });
    }
    if certificates.is_empty() {
        return Ok(None);
    }
    let path = ImagePath::new("etc/ssl/certs/ca-certificates.crt").map_err(|e| e.to_string())?;
    Ok(Some(CaBundle {
        path,
        bytes: content.len() as u64,
        sha256: hex::encode(sha2::Sha256::digest(&content)),
        certificates,
        skipped,
        content,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &[u8] = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";

    #[test]
    fn concatenates_in_update_ca_certificates_order() {
        let p = |s: &str| ImagePath::new(s).unwrap();
        let mut pkg = FileTree::new();
        pkg.insert(
            p("usr/share/ca-certificates/mozilla/B.crt"),
            TreeEntry::bytes(PEM.to_vec(), 0o644),
        );
        pkg.insert(
            p("usr/share/ca-certificates/mozilla/A.crt"),
            TreeEntry::bytes([PEM, b"\n"].concat(), 0o644),
        );
        pkg.insert(
            p("usr/share/ca-certificates/mozilla/README"),
            TreeEntry::bytes(b"x".to_vec(), 0o644),
        );
        let mut local = FileTree::new();
        local.insert(
            p("usr/local/share/ca-certificates/corp.crt"),
            TreeEntry::bytes(b"not a cert".to_vec(), 0o644),
        );
        local.insert(
            p("usr/local/share/ca-certificates/a-corp.crt"),
            TreeEntry::bytes(PEM.to_vec(), 0o644),
        );
        let b = build(&[("ca-certificates".into(), &pkg), ("COPY".into(), &local)])
            .unwrap()
            .unwrap();
        let order: Vec<_> = b.certificates.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            order,
            [
                "usr/share/ca-certificates/mozilla/A.crt",
                "usr/share/ca-certificates/mozilla/B.crt",
                "usr/local/share/ca-certificates/a-corp.crt"
            ]
        );
        assert_eq!(
            b.skipped,
            vec![p("usr/local/share/ca-certificates/corp.crt")]
        );
        let one = [PEM, b"\n"].concat();
        assert_eq!(b.content, [one.clone(), one.clone(), one].concat());
        assert!(build(&[("x".into(), &FileTree::new())]).unwrap().is_none());
    }
}
