//! Downloads (curl, wget), their verification (sha256sum -c, gpg --verify)
//! and archive extraction (tar -x, unzip).

use super::{Invocation, need, noop, opaque, or_opaque};
use crate::shell::analyze::{Arg, Recognized, Stream};
use crate::shell::effect::*;

/// The last path segment of a URL (the file `curl -O` and `wget` write).
fn url_file_name(url: &Arg) -> Arg {
    match url.known() {
        Some(u) => {
            let path = u.split(['?', '#']).next().unwrap_or(u);
            let path = path.split_once("://").map_or(path, |(_, rest)| rest);
            let name = path
                .split_once('/')
                .map(|(_, p)| p.rsplit('/').next().unwrap_or(""))
                .unwrap_or("");
            if name.is_empty() {
                Arg::unknown(
                    url.text.clone(),
                    url.span,
                    vec![crate::shell::analyze::Unknown::Unsupported {
                        text: format!("the URL {u} has no file name"),
                        span: url.span,
                    }],
                )
            } else {
                url.with_value(name)
            }
        }
        None => url.clone(),
    }
}

/// `file` inside `dir` (`wget -P`, `curl --output-dir`).
fn in_dir(dir: Option<&Arg>, file: Arg) -> Arg {
    let Some(dir) = dir else { return file };
    match (dir.known(), file.known()) {
        (Some(d), Some(f)) => file.with_value(&format!("{}/{f}", d.trim_end_matches('/'))),
        _ => Arg::unknown(
            format!("{}/{}", dir.text, file.text),
            file.span,
            [dir.unknown.clone(), file.unknown.clone()].concat(),
        ),
    }
}

pub(crate) fn curl(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let p = inv.parsed;
    or_opaque(
        span,
        (|| {
            let mut urls: Vec<Arg> = p.operands.clone();
            urls.extend(p.values("url").cloned());
            if urls.is_empty() {
                if p.has("version") {
                    return Ok(noop(span, "prints curl's version (read-only)"));
                }
                return Err("`curl` without a URL".into());
            }
            if p.has("head") {
                return Ok(noop(span, "fetches response headers only"));
            }
            if let Some(m) = p.last("request")
                && m.known() != Some("GET")
            {
                return Err(format!(
                    "`curl -X {}` sends a request other than GET",
                    m.display()
                ));
            }
            if p.has("continue-at") {
                return Err("`curl -C` resumes into an existing file".into());
            }
            let outputs: Vec<&Arg> = p.values("output").collect();
            let remote = p.count("remote-name");
            let all_remote = p.has("remote-name-all");
            let dir = p.last("output-dir");
            let insecure = p.has("insecure");
            let mut effects = Vec::new();
            let mut stdout = Stream::Known(String::new());
            for (k, url) in urls.iter().enumerate() {
                let dest = if let Some(o) = outputs.get(k) {
                    if o.known() == Some("-") {
                        DownloadDest::Stdout
                    } else {
                        DownloadDest::File {
                            path: in_dir(dir, (*o).clone()),
                        }
                    }
                } else if all_remote || k < outputs.len() + remote {
                    DownloadDest::File {
                        path: in_dir(dir, url_file_name(url)),
                    }
                } else {
                    DownloadDest::Stdout
                };
                if dest == DownloadDest::Stdout && matches!(stdout, Stream::Known(_)) {
                    stdout = Stream::Download { url: url.clone() };
                }
                effects.push(Effect::Download {
                    url: url.clone(),
                    dest,
                    insecure,
                    span,
                });
            }
            Ok(Recognized { effects, stdout })
        })(),
    )
}

pub(crate) fn wget(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let p = inv.parsed;
    or_opaque(
        span,
        (|| {
            if p.has("input-file") {
                return Err("`wget -i` reads URLs from a file".into());
            }
            let urls = &p.operands;
            if urls.is_empty() {
                if p.has("version") {
                    return Ok(noop(span, "prints wget's version (read-only)"));
                }
                return Err("`wget` without a URL".into());
            }
            if p.has("spider") {
                return Ok(noop(span, "checks that URLs exist without downloading"));
            }
            if p.has("continue") {
                return Err("`wget -c` resumes into an existing file".into());
            }
            let insecure = p.has("no-check-certificate");
            let dir = p.last("directory-prefix");
            let output = p.last("output-document");
            let mut effects = Vec::new();
            let mut stdout = Stream::Known(String::new());
            for url in urls {
                let dest = match output {
                    Some(o) if o.known() == Some("-") => DownloadDest::Stdout,
                    Some(o) => DownloadDest::File { path: o.clone() },
                    None => DownloadDest::File {
                        path: in_dir(dir, url_file_name(url)),
                    },
                };
                if dest == DownloadDest::Stdout && matches!(stdout, Stream::Known(_)) {
                    stdout = Stream::Download { url: url.clone() };
                }
                effects.push(Effect::Download {
                    url: url.clone(),
                    dest,
                    insecure,
                    span,
                });
            }
            Ok(Recognized { effects, stdout })
        })(),
    )
}

fn algorithm(invoked: &str) -> HashAlgorithm {
    match invoked {
        "md5sum" => HashAlgorithm::Md5,
        "sha1sum" => HashAlgorithm::Sha1,
        "sha224sum" => HashAlgorithm::Sha224,
        "sha384sum" => HashAlgorithm::Sha384,
        "sha512sum" => HashAlgorithm::Sha512,
        _ => HashAlgorithm::Sha256,
    }
}

fn hex_len(a: HashAlgorithm) -> usize {
    match a {
        HashAlgorithm::Md5 => 32,
        HashAlgorithm::Sha1 => 40,
        HashAlgorithm::Sha224 => 56,
        HashAlgorithm::Sha256 => 64,
        HashAlgorithm::Sha384 => 96,
        HashAlgorithm::Sha512 => 128,
    }
}

/// The lines of a checksum list: `DIGEST  FILE`, `DIGEST *FILE`, or the
/// BSD form `SHA256 (FILE) = DIGEST`. Blank lines are skipped.
pub(crate) fn parse_checksum_list(
    text: &str,
    algorithm: HashAlgorithm,
) -> Result<Vec<ChecksumEntry>, String> {
    let want = hex_len(algorithm);
    let mut entries = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let (digest, path) = if let Some((head, digest)) = line.rsplit_once(") = ") {
            let path = head
                .split_once(" (")
                .map(|(_, p)| p)
                .ok_or_else(|| format!("malformed checksum line `{line}`"))?;
            (digest.trim(), path)
        } else {
            let (digest, rest) = line
                .split_once(' ')
                .ok_or_else(|| format!("malformed checksum line `{line}`"))?;
            let path = rest
                .strip_prefix(' ')
                .or_else(|| rest.strip_prefix('*'))
                .unwrap_or(rest);
            (digest, path)
        };
        if digest.len() != want || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "`{digest}` is not a {want}-digit hex digest (line `{line}`)"
            ));
        }
        if path.is_empty() {
            return Err(format!("checksum line without a file: `{line}`"));
        }
        entries.push(ChecksumEntry {
            digest: digest.to_ascii_lowercase(),
            path: path.to_string(),
        });
    }
    if entries.is_empty() {
        return Err("the checksum list has no lines".into());
    }
    Ok(entries)
}

pub(crate) fn checksum(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let p = inv.parsed;
    let alg = algorithm(inv.invoked);
    if !p.has("check") {
        return Recognized {
            effects: vec![Effect::NoOp {
                reason: "computes digests (read-only)".into(),
                span,
            }],
            stdout: Stream::Unknown {
                from: format!("the output of `{}`", inv.invoked),
            },
        };
    }
    let lists: Vec<Option<&Arg>> = if p.operands.is_empty() {
        vec![None]
    } else {
        p.operands
            .iter()
            .map(|a| (a.known() != Some("-")).then_some(a))
            .collect()
    };
    let mut effects = Vec::new();
    for l in lists {
        let list = match l {
            Some(file) => ChecksumList::File { path: file.clone() },
            None => match inv.stdin {
                Stream::Known(s) => match parse_checksum_list(s, alg) {
                    Ok(entries) => ChecksumList::Entries { entries },
                    Err(e) => return opaque(span, e),
                },
                _ => ChecksumList::Unknown,
            },
        };
        effects.push(Effect::VerifyChecksum {
            algorithm: alg,
            list,
            span,
        });
    }
    Recognized {
        effects,
        stdout: Stream::Unknown {
            from: "checksum results".into(),
        },
    }
}

pub(crate) fn gpg(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let p = inv.parsed;
    let action = if inv.invoked == "gpgv" {
        Some("verify")
    } else {
        p.action.as_deref()
    };
    match action {
        Some("verify") => match p.operands.as_slice() {
            [] => opaque(span, "`gpg --verify` without a signature"),
            [sig] => Recognized::effect(Effect::VerifySignature {
                signature: sig.clone(),
                file: None,
                span,
            }),
            [sig, file] => Recognized::effect(Effect::VerifySignature {
                signature: sig.clone(),
                file: Some(file.clone()),
                span,
            }),
            _ => opaque(span, "`gpg --verify` with more than one signed file"),
        },
        Some("recv-keys" | "import") => noop(
            span,
            "imports public keys into the GnuPG keyring (used to verify downloads)",
        ),
        Some("query") => Recognized {
            effects: vec![Effect::NoOp {
                reason: "lists keys (read-only)".into(),
                span,
            }],
            stdout: Stream::Unknown {
                from: "a gpg key listing".into(),
            },
        },
        Some("export" | "dearmor") => match p.last("output") {
            Some(o) => Recognized::effect(Effect::WriteFile {
                path: o.clone(),
                content: None,
                append: false,
                span,
            }),
            None => Recognized {
                effects: vec![Effect::NoOp {
                    reason: "writes key data to standard output".into(),
                    span,
                }],
                stdout: Stream::Unknown {
                    from: "key data from gpg".into(),
                },
            },
        },
        _ => opaque(
            span,
            "a gpg operation other than verifying, importing or exporting keys",
        ),
    }
}

pub(crate) fn tar(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let p = inv.parsed;
    or_opaque(
        span,
        (|| {
            match p.action.as_deref() {
                Some("extract") => {}
                Some("query") => {
                    return Ok(Recognized {
                        effects: vec![Effect::NoOp {
                            reason: "lists an archive (read-only)".into(),
                            span,
                        }],
                        stdout: Stream::Unknown {
                            from: "an archive listing".into(),
                        },
                    });
                }
                Some("create") => return Err("`tar -c` creates an archive".into()),
                _ => return Err("`tar` without -x, -c or -t".into()),
            }
            if p.has("use-compress-program") {
                return Err("`tar -I` filters through another program".into());
            }
            let archive = match p.last("file") {
                Some(f) if f.known() != Some("-") => ArchiveSource::File { path: f.clone() },
                _ => match inv.stdin {
                    Stream::Download { url } => ArchiveSource::Download { url: url.clone() },
                    _ => ArchiveSource::Stdin,
                },
            };
            let strip_components = match p.last("strip-components") {
                Some(a) => {
                    let v = need(a, "--strip-components count")?;
                    Some(
                        v.parse::<u32>()
                            .map_err(|_| format!("`{v}` is not a --strip-components count"))?,
                    )
                }
                None => None,
            };
            let exclude = p
                .values("exclude")
                .map(|a| need(a, "exclude pattern").map(str::to_string))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Recognized::effect(Effect::Extract {
                archive,
                dest: p.last("directory").cloned(),
                strip_components,
                members: p.operands.clone(),
                exclude,
                span,
            }))
        })(),
    )
}

pub(crate) fn unzip(inv: &Invocation<'_>) -> Recognized {
    let span = inv.span;
    let p = inv.parsed;
    if p.has("junk-paths") {
        return opaque(span, "`unzip -j` drops directory names");
    }
    let Some((archive, members)) = p.operands.split_first() else {
        return opaque(span, "`unzip` without an archive");
    };
    Recognized::effect(Effect::Extract {
        archive: ArchiveSource::File {
            path: archive.clone(),
        },
        dest: p.last("dest").cloned(),
        strip_components: None,
        members: members.to_vec(),
        exclude: Vec::new(),
        span,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    #[test]
    fn checksum_lists() {
        let d = "a".repeat(64);
        let e =
            parse_checksum_list(&format!("{d}  redis.tar.gz\n"), HashAlgorithm::Sha256).unwrap();
        assert_eq!(
            e,
            vec![ChecksumEntry {
                digest: d.clone(),
                path: "redis.tar.gz".into()
            }]
        );
        let e = parse_checksum_list(&format!("{d} *python.tar.xz"), HashAlgorithm::Sha256).unwrap();
        assert_eq!(e[0].path, "python.tar.xz");
        let e =
            parse_checksum_list(&format!("SHA256 (x.tgz) = {d}"), HashAlgorithm::Sha256).unwrap();
        assert_eq!(e[0].path, "x.tgz");
        assert!(parse_checksum_list(&format!("{d}  x"), HashAlgorithm::Sha512).is_err());
        assert!(parse_checksum_list("", HashAlgorithm::Sha256).is_err());
        assert!(parse_checksum_list("zz  x", HashAlgorithm::Md5).is_err());
    }

    #[test]
    fn url_names() {
        let a = Arg::literal(
            "https://example.invalid/a/b/redis-7.0.tar.gz?x=1",
            Span::new(0, 1),
        );
        assert_eq!(url_file_name(&a).known(), Some("redis-7.0.tar.gz"));
        let a = Arg::literal("https://example.invalid/", Span::new(0, 1));
        assert_eq!(url_file_name(&a).known(), None);
    }
}
