//! The host's apt sources: `/etc/apt/sources.list`,
//! `/etc/apt/sources.list.d/*.list` (one-line format) and
//! `/etc/apt/sources.list.d/*.sources` (deb822 format), read the way apt
//! reads them, so the repository host is never written into this program.

use std::path::{Path, PathBuf};

use super::deb822::{self, Syntax};

/// How an entry restricts the keys its Release may be signed with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignedBy {
    /// Keyring files (`Signed-By: /usr/share/keyrings/x.gpg`).
    Files(Vec<PathBuf>),
    /// An ASCII-armored key block written into the `.sources` file.
    Inline(String),
    /// Fingerprints of keys in apt's trusted keyrings.
    Fingerprints(Vec<String>),
}

/// One `deb` entry (a URI with its suites).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AptSource {
    pub uri: String,
    pub suites: Vec<String>,
    pub components: Vec<String>,
    pub signed_by: Option<SignedBy>,
    /// `arch=` / `Architectures:`; empty means apt's default.
    pub architectures: Vec<String>,
    /// The file the entry came from (for messages).
    pub file: PathBuf,
}

/// Read every enabled binary (`deb`) entry under `root` (normally `/`).
/// Unreadable or malformed files are skipped, as apt skips entries it does
/// not understand; the returned notes say which and why.
pub fn read_host_sources(root: &Path) -> (Vec<AptSource>, Vec<String>) {
    let etc = root.join("etc/apt");
    let mut files = vec![etc.join("sources.list")];
    if let Ok(dir) = std::fs::read_dir(etc.join("sources.list.d")) {
        let mut names: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        // apt reads sources.list.d in alphanumeric order.
        names.sort();
        files.extend(names);
    }
    let mut sources = Vec::new();
    let mut notes = Vec::new();
    for file in files {
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        let is_main = file.file_name().is_some_and(|n| n == "sources.list");
        if !(is_main || ext == "list" || ext == "sources") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let parsed = if ext == "sources" {
            parse_deb822(&text, &file)
        } else {
            Ok(parse_one_line(&text, &file))
        };
        match parsed {
            Ok(mut s) => sources.append(&mut s),
            Err(e) => notes.push(format!("{}: {e}", file.display())),
        }
    }
    (sources, notes)
}

/// The one-line format: `deb [opt=value ...] uri suite [component ...]`.
pub fn parse_one_line(text: &str, file: &Path) -> Vec<AptSource> {
    let mut out = Vec::new();
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or("").trim();
        let Some(rest) = line.strip_prefix("deb") else {
            continue;
        };
        if !rest.starts_with([' ', '\t', '[']) {
            continue; // deb-src and friends
        }
        let mut rest = rest.trim_start();
        let mut options: Vec<(String, String)> = Vec::new();
        if let Some(r) = rest.strip_prefix('[') {
            let Some(close) = r.find(']') else { continue };
            for opt in r[..close].split_ascii_whitespace() {
                if let Some((k, v)) = opt.split_once('=') {
                    options.push((k.to_ascii_lowercase(), v.to_string()));
                }
            }
            rest = &r[close + 1..];
        }
        let mut words = rest.split_ascii_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        let option = |k: &str| {
            options
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        out.push(AptSource {
            uri: uri.to_string(),
            suites: vec![suite.to_string()],
            components: words.map(str::to_string).collect(),
            signed_by: option("signed-by").map(parse_signed_by),
            architectures: option("arch")
                .map(|a| a.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
            file: file.to_path_buf(),
        });
    }
    out
}

/// The deb822 format of `.sources` files.
pub fn parse_deb822(text: &str, file: &Path) -> Result<Vec<AptSource>, deb822::BadControl> {
    let mut out = Vec::new();
    for para in deb822::paragraphs(text, Syntax { comments: true }) {
        let para = para?;
        let words = |f: &str| -> Vec<String> {
            para.get(f)
                .unwrap_or("")
                .split_ascii_whitespace()
                .map(str::to_string)
                .collect()
        };
        if para
            .get("Enabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("no"))
        {
            continue;
        }
        if !words("Types").iter().any(|t| t == "deb") {
            continue;
        }
        let signed_by = para.get("Signed-By").map(parse_signed_by);
        for uri in words("URIs") {
            out.push(AptSource {
                uri,
                suites: words("Suites"),
                components: words("Components"),
                signed_by: signed_by.clone(),
                architectures: words("Architectures"),
                file: file.to_path_buf(),
            });
        }
    }
    Ok(out)
}

fn parse_signed_by(value: &str) -> SignedBy {
    let value = value.trim();
    if value.contains("BEGIN PGP PUBLIC KEY BLOCK") {
        // deb822 folds the key block; a line holding only "." stands for an
        // empty line.
        let key: Vec<&str> = value
            .lines()
            .map(|l| {
                let l = l.trim();
                if l == "." { "" } else { l }
            })
            .collect();
        return SignedBy::Inline(key.join("\n") + "\n");
    }
    let items: Vec<&str> = value
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|s| !s.is_empty())
        .collect();
    if items.iter().all(|i| i.starts_with('/')) {
        SignedBy::Files(items.iter().map(PathBuf::from).collect())
    } else {
        SignedBy::Fingerprints(
            items
                .iter()
                .map(|s| s.trim_end_matches('!').to_ascii_uppercase())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_entries() {
        let text = "# comment\n\
            deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main contrib # c\n\
            deb-src http://m.example/debian bookworm main\n\
            deb http://s.example/sec bookworm-security main\n";
        let s = parse_one_line(text, Path::new("x.list"));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].uri, "http://m.example/debian");
        assert_eq!(s[0].components, ["main", "contrib"]);
        assert_eq!(s[0].architectures, ["amd64"]);
        assert_eq!(
            s[0].signed_by,
            Some(SignedBy::Files(vec![PathBuf::from("/k.gpg")]))
        );
        assert_eq!(s[1].suites, ["bookworm-security"]);
    }

    #[test]
    fn deb822_entries() {
        let text = "Types: deb deb-src\n# note\nURIs: http://a.example/d http://b.example/d\n\
            Suites: bookworm bookworm-updates\nComponents: main\n\
            Signed-By: -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n -----END PGP PUBLIC KEY BLOCK-----\n\n\
            Types: deb\nURIs: http://c.example\nSuites: x\nEnabled: no\n\n\
            Types: deb-src\nURIs: http://d.example\nSuites: y\n";
        let s = parse_deb822(text, Path::new("x.sources")).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].uri, "http://b.example/d");
        assert_eq!(s[0].suites, ["bookworm", "bookworm-updates"]);
        match &s[0].signed_by {
            Some(SignedBy::Inline(k)) => assert!(k.contains("\n\nabc\n")),
            other => panic!("{other:?}"),
        }
    }
}
