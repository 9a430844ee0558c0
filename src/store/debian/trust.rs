//! OpenPGP verification of Release files, with rpgp.
//!
//! The rules follow apt's use of gpgv: a Release is trusted when at least
//! one of its signatures verifies with a key of the keyring that is neither
//! revoked nor expired now; a signing subkey must be bound to its primary
//! key (with the back-signature); signatures over MD5 or SHA-1 are refused.
//! Signatures by keys not in the keyring are ignored, as gpgv does when
//! another signature is good (Debian signs each Release with two keys).

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use pgp::composed::{
    CleartextSignedMessage, Deserializable, DetachedSignature, SignedPublicKey, SignedPublicSubKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Signature, SignatureType};
use pgp::types::{KeyDetails, Tag};
use sha2::{Digest, Sha256};

use super::super::StoreError;

/// A set of trusted public keys.
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
    /// sha256 over the keyring's bytes: cached verification results are
    /// only reused with the same keyring.
    pub digest: String,
    /// Where the keys came from (for messages).
    pub description: String,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("keys", &self.keys.len())
            .field("description", &self.description)
            .finish()
    }
}

impl Keyring {
    /// Load keyring files: binary keyrings (`.gpg`, concatenated public
    /// keys) or ASCII-armored ones (`.asc`), detected by content.
    pub fn load(files: &[PathBuf]) -> Result<Keyring, StoreError> {
        let mut blobs = Vec::new();
        for f in files {
            let data = std::fs::read(f).map_err(|e| StoreError::io(f, e))?;
            blobs.push((f.display().to_string(), data));
        }
        let description = files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        Keyring::from_blobs(&blobs, description)
    }

    /// Parse keyrings held in memory: (name for messages, bytes).
    pub fn from_blobs(
        blobs: &[(String, Vec<u8>)],
        description: String,
    ) -> Result<Keyring, StoreError> {
        let mut keys = Vec::new();
        let mut hasher = Sha256::new();
        for (name, data) in blobs {
            hasher.update((data.len() as u64).to_le_bytes());
            hasher.update(data);
            let parsed = SignedPublicKey::from_reader_many(BufReader::new(data.as_slice()))
                .map_err(|e| StoreError::Config(format!("keyring {name}: {e}")))?;
            let (iter, _headers) = parsed;
            for key in iter {
                match key {
                    Ok(k) => keys.push(k),
                    // One unparsable key (an algorithm rpgp does not know)
                    // must not hide the others, as with gpgv.
                    Err(_) => continue,
                }
            }
        }
        if keys.is_empty() {
            return Err(StoreError::Config(format!(
                "keyring {description}: no usable public keys"
            )));
        }
        Ok(Keyring {
            keys,
            digest: hex::encode(hasher.finalize()),
            description,
        })
    }

    /// Keep only keys whose primary or subkey fingerprint is listed
    /// (apt's `Signed-By: <fingerprint>`).
    pub fn restrict_to(&mut self, fingerprints: &[String]) {
        let wanted = |fp: String| fingerprints.iter().any(|w| w.eq_ignore_ascii_case(&fp));
        self.keys.retain(|k| {
            wanted(hex::encode(k.primary_key.fingerprint().as_bytes()))
                || k.public_subkeys
                    .iter()
                    .any(|s| wanted(hex::encode(s.key.fingerprint().as_bytes())))
        });
        let mut h = Sha256::new();
        h.update(self.digest.as_bytes());
        for f in fingerprints {
            h.update(f.as_bytes());
        }
        self.digest = hex::encode(h.finalize());
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Verify an InRelease (cleartext-signed) file and return the signed
    /// text with `\n` line ends. Text outside the signed block is refused:
    /// only what the signature covers is ever parsed.
    pub fn verify_cleartext(&self, data: &[u8], file: &str) -> Result<String, StoreError> {
        let fail = |reason: String| StoreError::Signature {
            file: file.to_string(),
            reason,
        };
        let text = std::str::from_utf8(data).map_err(|_| fail("not UTF-8 text".into()))?;
        let trimmed = text.trim_start_matches(['\n', '\r']);
        if !trimmed.starts_with("-----BEGIN PGP SIGNED MESSAGE-----") {
            return Err(fail(
                "does not start with a cleartext signature header".into(),
            ));
        }
        let end_marker = "-----END PGP SIGNATURE-----";
        match trimmed.rfind(end_marker) {
            Some(i) if trimmed[i + end_marker.len()..].trim().is_empty() => {}
            _ => return Err(fail("text after the signature".into())),
        }
        if trimmed
            .matches("-----BEGIN PGP SIGNED MESSAGE-----")
            .count()
            != 1
        {
            return Err(fail("more than one signed message".into()));
        }
        let (msg, _) = CleartextSignedMessage::from_string(trimmed)
            .map_err(|e| fail(format!("malformed: {e}")))?;
        let signed = msg.signed_text();
        let mut reasons = Vec::new();
        for sig in msg.signatures() {
            match self.check_signature(sig, signed.as_bytes()) {
                Ok(()) => return Ok(signed.replace("\r\n", "\n")),
                Err(r) => reasons.push(r),
            }
        }
        if reasons.is_empty() {
            reasons.push("no signatures".into());
        }
        Err(fail(format!(
            "{} (keyring: {})",
            reasons.join("; "),
            self.description
        )))
    }

    /// Verify a detached signature (`Release.gpg`) over `data`.
    pub fn verify_detached(
        &self,
        data: &[u8],
        signature: &[u8],
        file: &str,
    ) -> Result<(), StoreError> {
        let fail = |reason: String| StoreError::Signature {
            file: file.to_string(),
            reason,
        };
        let (sig, _) = DetachedSignature::from_reader_single(BufReader::new(signature))
            .map_err(|e| fail(format!("malformed signature: {e}")))?;
        self.check_signature(&sig.signature, data)
            .map_err(|r| fail(format!("{r} (keyring: {})", self.description)))
    }

    /// One signature: find its key, check the key is usable now, verify.
    fn check_signature(&self, sig: &Signature, data: &[u8]) -> Result<(), String> {
        match sig.hash_alg() {
            Some(HashAlgorithm::Md5 | HashAlgorithm::Sha1) | None => {
                return Err("signature uses a weak digest (MD5/SHA-1)".into());
            }
            Some(_) => {}
        }
        if !matches!(sig.typ(), Some(SignatureType::Binary | SignatureType::Text)) {
            return Err("not a document signature".into());
        }
        let now = now_secs();
        let fingerprints: Vec<Vec<u8>> = sig
            .issuer_fingerprint()
            .iter()
            .map(|f| f.as_bytes().to_vec())
            .collect();
        let key_ids: Vec<[u8; 8]> = sig
            .issuer_key_id()
            .iter()
            .filter_map(|k| <[u8; 8]>::try_from(k.as_ref()).ok())
            .collect();
        let issued_by = |fp: &[u8], id: &[u8]| {
            fingerprints.iter().any(|f| f == fp) || key_ids.iter().any(|k| k == id)
        };
        let mut why_not = format!("signed by unknown key {}", describe_issuer(sig));
        for key in &self.keys {
            let pk = &key.primary_key;
            if issued_by(pk.fingerprint().as_bytes(), pk.legacy_key_id().as_ref()) {
                match primary_usable(key, now) {
                    Err(r) => why_not = r,
                    Ok(()) => match sig.verify(pk, data) {
                        Ok(()) => return Ok(()),
                        Err(e) => why_not = format!("bad signature: {e}"),
                    },
                }
            }
            for sub in &key.public_subkeys {
                let sk = &sub.key;
                if !issued_by(sk.fingerprint().as_bytes(), sk.legacy_key_id().as_ref()) {
                    continue;
                }
                let usable = primary_usable(key, now).and_then(|()| subkey_usable(key, sub, now));
                match usable {
                    Err(r) => why_not = r,
                    Ok(()) => match sig.verify(sk, data) {
                        Ok(()) => return Ok(()),
                        Err(e) => why_not = format!("bad signature: {e}"),
                    },
                }
            }
        }
        Err(why_not)
    }
}

fn describe_issuer(sig: &Signature) -> String {
    if let Some(fp) = sig.issuer_fingerprint().first() {
        return hex::encode_upper(fp.as_bytes());
    }
    sig.issuer_key_id()
        .first()
        .map(|k| hex::encode_upper(k.as_ref()))
        .unwrap_or_else(|| "(no issuer)".into())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The primary key is not revoked and, by its newest valid
/// self-signature, not expired.
fn primary_usable(key: &SignedPublicKey, now: u64) -> Result<(), String> {
    let pk = &key.primary_key;
    let name = hex::encode_upper(pk.fingerprint().as_bytes());
    for rev in &key.details.revocation_signatures {
        if rev.verify_key(pk).is_ok() {
            return Err(format!("key {name} is revoked"));
        }
    }
    // Newest verified self-signature (user id certification or direct key
    // signature) carries the key's current expiration.
    let mut newest: Option<&Signature> = None;
    let certifications = key.details.users.iter().flat_map(|user| {
        user.signatures
            .iter()
            .filter(move |s| s.verify_certification(pk, Tag::UserId, &user.id).is_ok())
    });
    let direct = key
        .details
        .direct_signatures
        .iter()
        .filter(|s| s.verify_key(pk).is_ok());
    for s in certifications.chain(direct) {
        if newest.is_none_or(|n| created(s) >= created(n)) {
            newest = Some(s);
        }
    }
    let Some(selfsig) = newest else {
        return Err(format!("key {name} has no valid self-signature"));
    };
    check_expiry(pk.created_at().as_secs(), selfsig, now, &name)
}

/// The subkey is bound to the primary (with a back-signature, as a signing
/// subkey must be), may sign, is not revoked and not expired.
fn subkey_usable(key: &SignedPublicKey, sub: &SignedPublicSubKey, now: u64) -> Result<(), String> {
    let pk = &key.primary_key;
    let sk = &sub.key;
    let name = hex::encode_upper(sk.fingerprint().as_bytes());
    let mut binding: Option<&Signature> = None;
    for s in &sub.signatures {
        match s.typ() {
            Some(SignatureType::SubkeyRevocation) if s.verify_subkey_binding(pk, sk).is_ok() => {
                return Err(format!("subkey {name} is revoked"));
            }
            Some(SignatureType::SubkeyBinding) => {
                if s.verify_subkey_binding(pk, sk).is_err() {
                    continue;
                }
                if binding.is_none_or(|b| created(s) >= created(b)) {
                    binding = Some(s);
                }
            }
            _ => {}
        }
    }
    let Some(binding) = binding else {
        return Err(format!("subkey {name} is not bound to its primary key"));
    };
    if !binding.key_flags().sign() {
        return Err(format!("subkey {name} is not a signing key"));
    }
    match binding.embedded_signature() {
        Some(back) if back.verify_primary_key_binding(sk, pk).is_ok() => {}
        _ => {
            return Err(format!(
                "signing subkey {name} lacks a valid back-signature"
            ));
        }
    }
    check_expiry(sk.created_at().as_secs(), binding, now, &name)
}

fn created(sig: &Signature) -> u32 {
    sig.created().map(|t| t.as_secs()).unwrap_or(0)
}

fn check_expiry(created: u32, selfsig: &Signature, now: u64, name: &str) -> Result<(), String> {
    if let Some(validity) = selfsig.key_expiration_time() {
        let secs = validity.as_secs();
        if secs != 0 && u64::from(created) + u64::from(secs) < now {
            return Err(format!("key {name} has expired"));
        }
    }
    Ok(())
}

/// Keyring files apt trusts when a source has no `Signed-By`.
pub fn apt_trusted_keyrings(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let legacy = root.join("etc/apt/trusted.gpg");
    if legacy.is_file() {
        files.push(legacy);
    }
    if let Ok(dir) = std::fs::read_dir(root.join("etc/apt/trusted.gpg.d")) {
        let mut more: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "gpg" || e == "asc"))
            .collect();
        more.sort();
        files.extend(more);
    }
    files
}
