//! A deterministic tar writer: POSIX ustar headers, with PAX extended
//! headers only where ustar cannot say something.
//!
//! Choices (the issue leaves them open):
//! - Every header has the same mtime (`SOURCE_DATE_EPOCH`), empty user and
//!   group names, numeric uid/gid, device numbers 0.
//! - A PAX `x` header precedes an entry whose path does not fit ustar's
//!   name/prefix split, whose link target is longer than 100 bytes, or
//!   whose path or link target is not ASCII (as Go's archive/tar does, which
//!   is what containerd, umoci and skopeo read with); also for uid/gid,
//!   size or mtime beyond ustar's octal fields. Its own name is
//!   `PaxHeaders/<file name truncated to 90 bytes>` — no pid or counter, so
//!   it is the same on every run. GNU `././@LongLink` is never written.
//! - The archive ends with two zero blocks (1024 bytes), no record padding.

use std::io::{self, Read, Write};

use tar::{EntryType, Header};

const BLOCK: usize = 512;
const USTAR_NAME: usize = 100;
const USTAR_PREFIX: usize = 155;
const USTAR_LINK: usize = 100;
/// Largest value of a 7-digit octal field (uid, gid, mode).
const MAX_OCTAL7: u64 = 0o7_777_777;
/// Largest value of an 11-digit octal field (size, mtime).
const MAX_OCTAL11: u64 = 0o77_777_777_777;

/// What an entry is, with the parts its header needs.
pub(crate) enum TarKind<'a> {
    Dir,
    File { size: u64, data: &'a mut dyn Read },
    Symlink { target: &'a str },
    Hardlink { target: &'a str },
}

/// Failure to produce an entry: I/O, or a file whose length changed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TarError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("declared {declared} bytes but the source has {actual}{more}")]
    SizeChanged {
        declared: u64,
        actual: u64,
        more: &'static str,
    },
}

pub(crate) struct TarWriter<W: Write> {
    out: W,
    mtime: u64,
    buf: Vec<u8>,
}

impl<W: Write> TarWriter<W> {
    pub(crate) fn new(out: W, mtime: u64) -> Self {
        TarWriter {
            out,
            mtime,
            buf: Vec::new(),
        }
    }

    /// Append one entry. `name` is the path inside the archive without a
    /// leading `/`; directories get their trailing `/` here.
    pub(crate) fn append(
        &mut self,
        name: &str,
        kind: TarKind<'_>,
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<(), TarError> {
        let name = match kind {
            TarKind::Dir if !name.ends_with('/') => format!("{name}/"),
            _ => name.to_string(),
        };
        let (entry_type, size, link) = match &kind {
            TarKind::Dir => (EntryType::Directory, 0, None),
            TarKind::File { size, .. } => (EntryType::Regular, *size, None),
            TarKind::Symlink { target } => (EntryType::Symlink, 0, Some(*target)),
            TarKind::Hardlink { target } => (EntryType::Link, 0, Some(*target)),
        };

        let mut pax: Vec<(&str, String)> = Vec::new();
        let split = if name.is_ascii() {
            split_ustar(&name)
        } else {
            None
        };
        if split.is_none() {
            pax.push(("path", name.clone()));
        }
        if let Some(l) = link
            && (!l.is_ascii() || l.len() > USTAR_LINK)
        {
            pax.push(("linkpath", l.to_string()));
        }
        let (uid, gid) = (u64::from(uid), u64::from(gid));
        if uid > MAX_OCTAL7 {
            pax.push(("uid", uid.to_string()));
        }
        if gid > MAX_OCTAL7 {
            pax.push(("gid", gid.to_string()));
        }
        if size > MAX_OCTAL11 {
            pax.push(("size", size.to_string()));
        }
        if self.mtime > MAX_OCTAL11 {
            pax.push(("mtime", self.mtime.to_string()));
        }
        // Keys in a fixed (sorted) order so the PAX data never varies.
        pax.sort_by(|a, b| a.0.cmp(b.0));
        if !pax.is_empty() {
            self.write_pax(&name, &pax)?;
        }

        let mut h = Header::new_ustar();
        match &split {
            Some((prefix, rest)) => set_ustar_name(&mut h, prefix, rest),
            None => {
                let short = truncate_ascii(&name, USTAR_NAME);
                set_ustar_name(&mut h, "", &short);
            }
        }
        if let Some(l) = link
            && l.is_ascii()
            && l.len() <= USTAR_LINK
            && let Some(u) = h.as_ustar_mut()
        {
            u.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
        h.set_entry_type(entry_type);
        h.set_mode(mode & 0o7777);
        h.set_uid(if uid > MAX_OCTAL7 { 0 } else { uid });
        h.set_gid(if gid > MAX_OCTAL7 { 0 } else { gid });
        h.set_size(if size > MAX_OCTAL11 { 0 } else { size });
        h.set_mtime(if self.mtime > MAX_OCTAL11 {
            0
        } else {
            self.mtime
        });
        // Device fields as "0000000\0" like GNU tar and Go write them.
        h.set_device_major(0)?;
        h.set_device_minor(0)?;
        h.set_cksum();
        self.out.write_all(h.as_bytes())?;

        if let TarKind::File { size, data } = kind {
            self.copy_exact(data, size)?;
        }
        Ok(())
    }

    /// Append a regular file held in memory.
    pub(crate) fn append_bytes(
        &mut self,
        name: &str,
        bytes: &[u8],
        mode: u32,
    ) -> Result<(), TarError> {
        let mut data = bytes;
        self.append(
            name,
            TarKind::File {
                size: bytes.len() as u64,
                data: &mut data,
            },
            mode,
            0,
            0,
        )
    }

    fn write_pax(&mut self, name: &str, records: &[(&str, String)]) -> Result<(), TarError> {
        let mut data = Vec::new();
        for (k, v) in records {
            data.extend_from_slice(pax_record(k, v).as_bytes());
        }
        let base = name.trim_end_matches('/');
        let base = base.rsplit('/').next().unwrap_or(base);
        let pax_name = format!("PaxHeaders/{}", truncate_ascii(base, 90));
        let mut h = Header::new_ustar();
        set_ustar_name(&mut h, "", &pax_name);
        h.set_entry_type(EntryType::XHeader);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(data.len() as u64);
        h.set_mtime(self.mtime.min(MAX_OCTAL11));
        h.set_device_major(0)?;
        h.set_device_minor(0)?;
        h.set_cksum();
        self.out.write_all(h.as_bytes())?;
        self.out.write_all(&data)?;
        self.pad(data.len() as u64)?;
        Ok(())
    }

    /// Copy exactly `size` bytes, then check the source is exhausted: a
    /// file that grew or shrank since the tree was listed would otherwise
    /// give a corrupt archive or silently truncated content.
    fn copy_exact(&mut self, data: &mut dyn Read, size: u64) -> Result<(), TarError> {
        if self.buf.is_empty() {
            self.buf = vec![0; 256 * 1024];
        }
        let mut left = size;
        while left > 0 {
            let want = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            let n = match data.read(&mut self.buf[..want]) {
                Ok(0) => {
                    return Err(TarError::SizeChanged {
                        declared: size,
                        actual: size - left,
                        more: "",
                    });
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            self.out.write_all(&self.buf[..n])?;
            left -= n as u64;
        }
        let mut probe = [0u8; 1];
        loop {
            match data.read(&mut probe) {
                Ok(0) => break,
                Ok(_) => {
                    return Err(TarError::SizeChanged {
                        declared: size,
                        actual: size + 1,
                        more: " or more",
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
        self.pad(size)?;
        Ok(())
    }

    fn pad(&mut self, len: u64) -> io::Result<()> {
        let rem = (len % BLOCK as u64) as usize;
        if rem != 0 {
            self.out.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }

    /// Write the end-of-archive marker and return the writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0u8; 2 * BLOCK])?;
        Ok(self.out)
    }
}

/// One PAX record, `"<len> <key>=<value>\n"`, where `<len>` counts itself.
fn pax_record(key: &str, value: &str) -> String {
    let body = key.len() + value.len() + 3;
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    format!("{len} {key}={value}\n")
}

/// Split an ASCII name into ustar's (prefix, name), or `None` when it cannot
/// be represented (then a PAX `path` carries it).
fn split_ustar(name: &str) -> Option<(&str, &str)> {
    if name.len() <= USTAR_NAME {
        return Some(("", name));
    }
    // The prefix ends at a `/` (not stored); the name part must be non-empty.
    // Prefer the longest prefix, which leaves the shortest name.
    let bytes = name.as_bytes();
    let trimmed_len = name.trim_end_matches('/').len();
    (1..trimmed_len.min(USTAR_PREFIX + 1))
        .rev()
        .filter(|&i| bytes.get(i) == Some(&b'/'))
        .map(|i| (&name[..i], &name[i + 1..]))
        .find(|(_, rest)| !rest.is_empty() && rest.len() <= USTAR_NAME)
}

fn set_ustar_name(h: &mut Header, prefix: &str, name: &str) {
    if let Some(u) = h.as_ustar_mut() {
        let n = name.len().min(USTAR_NAME);
        u.name[..n].copy_from_slice(&name.as_bytes()[..n]);
        let p = prefix.len().min(USTAR_PREFIX);
        u.prefix[..p].copy_from_slice(&prefix.as_bytes()[..p]);
    }
}

/// The longest prefix of `s` of at most `max` bytes with non-ASCII
/// characters replaced by `_`, for header fields that a PAX record overrides.
fn truncate_ascii(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_ascii() && c != '\0' { c } else { '_' })
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_length_counts_itself() {
        for (k, v) in [("path", "a"), ("path", &"x".repeat(93)), ("uid", "1")] {
            let r = pax_record(k, v);
            let (len, _) = r.split_once(' ').unwrap();
            assert_eq!(len.parse::<usize>().unwrap(), r.len(), "{r:?}");
        }
    }

    #[test]
    fn ustar_split_prefers_longest_prefix() {
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(10));
        assert_eq!(
            split_ustar(&long),
            Some((&long[..120], &long[121..])),
            "split at the last slash"
        );
        assert_eq!(split_ustar("short"), Some(("", "short")));
        assert_eq!(split_ustar(&"x".repeat(101)), None);
        let too_long = format!("{}/{}", "d".repeat(200), "f".repeat(10));
        assert_eq!(split_ustar(&too_long), None);
    }

    fn read_back(bytes: &[u8]) -> Vec<(String, u8, Option<String>, Vec<u8>)> {
        let mut ar = tar::Archive::new(bytes);
        ar.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let path = String::from_utf8(e.path_bytes().to_vec()).unwrap();
                let link = e
                    .link_name_bytes()
                    .map(|l| String::from_utf8(l.to_vec()).unwrap());
                let t = e.header().entry_type().as_byte();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (path, t, link, data)
            })
            .collect()
    }

    #[test]
    fn long_and_unicode_names_round_trip_through_pax() {
        let long_dir = "a".repeat(180);
        let long_file = format!("{long_dir}/{}", "b".repeat(120));
        let uni = "usr/share/ünïcödé/日本語.txt";
        let long_link = "t".repeat(150);
        let mut w = TarWriter::new(Vec::new(), 0);
        w.append(&long_dir, TarKind::Dir, 0o755, 0, 0).unwrap();
        w.append_bytes(&long_file, b"hello", 0o644).unwrap();
        w.append_bytes(uni, b"x", 0o644).unwrap();
        w.append(
            "l",
            TarKind::Symlink { target: &long_link },
            0o777,
            3_000_000,
            0,
        )
        .unwrap();
        let bytes = w.finish().unwrap();
        let got = read_back(&bytes);
        assert_eq!(got[0].0, format!("{long_dir}/"));
        assert_eq!(got[1].0, long_file);
        assert_eq!(got[1].3, b"hello");
        assert_eq!(got[2].0, uni);
        assert_eq!(got[3].2.as_deref(), Some(long_link.as_str()));
        let mut ar = tar::Archive::new(&bytes[..]);
        let uids: Vec<u64> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().header().uid().unwrap())
            .collect();
        // The tar crate reads the ustar field; the PAX record carries the
        // real uid. Check it is there.
        assert_eq!(uids.len(), 4);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("uid=3000000\n"));
    }

    #[test]
    fn size_mismatch_is_an_error() {
        let mut w = TarWriter::new(Vec::new(), 0);
        let mut short: &[u8] = b"abc";
        let e = w
            .append(
                "f",
                TarKind::File {
                    size: 5,
                    data: &mut short,
                },
                0o644,
                0,
                0,
            )
            .unwrap_err();
        assert!(matches!(e, TarError::SizeChanged { actual: 3, .. }), "{e}");
        let mut long: &[u8] = b"abcdef";
        let e = w
            .append(
                "g",
                TarKind::File {
                    size: 5,
                    data: &mut long,
                },
                0o644,
                0,
                0,
            )
            .unwrap_err();
        assert!(matches!(e, TarError::SizeChanged { .. }), "{e}");
    }
}
