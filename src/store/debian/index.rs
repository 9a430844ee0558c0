//! A compact, cached, lazily read form of a Packages index.
//!
//! A release's Packages file is ~45 MB of text; parsing it for every
//! resolve would cost more than the whole warm-resolve budget, and even
//! reading a 25 MB binary form costs tens of milliseconds in page faults.
//! So the verified Packages file is parsed once into this format, keyed in
//! the cache by its sha256, and read back lazily:
//!
//! ```text
//! header    magic "SCRIDX03", counts, section offsets, source sha256
//! records   variable-size records sorted by package name, in blocks of 32
//! provides  (provided name, providing package) pairs sorted by name, in blocks of 64
//! fences    per block: file offset, length, first name
//! ```
//!
//! Opening reads the header and the fences (tens of KB); a lookup binary
//! searches the fences and reads one block with a positioned read. Blocks
//! stay cached in memory for the index's lifetime. Only the fields
//! resolution and download need are kept; the control paragraph a package
//! database needs comes from the .deb when it is unpacked.
//!
//! The file is as trusted as the cache directory (like apt's lists
//! directory): it was derived from verified bytes. Every access is
//! bounds-checked, so a damaged file gives wrong answers or errors, never a
//! crash; a read error is remembered and reported by [`PackageIndex::check`];
//! .deb files are still checked against their own sha256 on use.

use std::cmp::Ordering;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use super::deb822::{self, Syntax};
use super::relation;
use super::version::Version;

const MAGIC: &[u8; 8] = b"SCRIDX03";
const HEADER_LEN: usize = 8 + 4 * 4 + 8 * 3 + 32;
const RECORDS_PER_BLOCK: usize = 32;
const PROVIDES_PER_BLOCK: usize = 64;
/// No block may claim more than this (a damaged fence must not make us
/// allocate gigabytes).
const MAX_BLOCK: u64 = 16 << 20;

/// String fields of a record, in storage order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Field {
    Name = 0,
    Version,
    Arch,
    PreDepends,
    Depends,
    Recommends,
    Provides,
    Conflicts,
    Breaks,
    Filename,
    Source,
}
/// Fixed part of a record: length u32, sha256, size u64, installed u64, flags.
const FIXED: usize = 4 + 32 + 8 + 8 + 4;

/// `Multi-Arch:` of a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MultiArch {
    No,
    Same,
    Foreign,
    Allowed,
}

struct Fence {
    offset: u64,
    len: u64,
    first: String,
}

/// An opened index.
pub struct PackageIndex {
    file: File,
    count: usize,
    record_fences: Vec<Fence>,
    provide_fences: Vec<Fence>,
    record_blocks: Vec<OnceLock<Box<[u8]>>>,
    provide_blocks: Vec<OnceLock<Box<[u8]>>>,
    error: Mutex<Option<String>>,
    /// sha256 of the Packages file it was built from.
    pub source_sha256: String,
}

impl std::fmt::Debug for PackageIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackageIndex")
            .field("packages", &self.count)
            .field("source_sha256", &self.source_sha256)
            .finish()
    }
}

/// One package version in an index.
#[derive(Clone, Copy)]
pub struct Entry<'i> {
    record: &'i [u8],
}

impl std::fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}:{}", self.name(), self.version_str(), self.arch())
    }
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    buf.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or(0)
}

fn u64_at(buf: &[u8], at: usize) -> u64 {
    buf.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0)
}

/// A length-prefixed string at `at`: (the string, the offset after it).
fn str_at(buf: &[u8], at: usize) -> (&str, usize) {
    let len = u32_at(buf, at) as usize;
    let start = at + 4;
    let end = start.saturating_add(len);
    let s = buf
        .get(start..end)
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or("");
    (s, end)
}

impl<'i> Entry<'i> {
    pub fn get(&self, field: Field) -> &'i str {
        let mut at = FIXED;
        for _ in 0..field as usize {
            at = str_at(self.record, at).1;
        }
        str_at(self.record, at).0
    }
    pub fn name(&self) -> &'i str {
        self.get(Field::Name)
    }
    pub fn version_str(&self) -> &'i str {
        self.get(Field::Version)
    }
    /// The version, parsed; index building drops entries whose version
    /// dpkg would refuse, so this only fails on a damaged cache file.
    pub fn version(&self) -> Option<Version<'i>> {
        Version::parse(self.version_str()).ok()
    }
    pub fn arch(&self) -> &'i str {
        self.get(Field::Arch)
    }
    pub fn filename(&self) -> &'i str {
        self.get(Field::Filename)
    }
    pub fn sha256(&self) -> String {
        hex::encode(self.record.get(4..36).unwrap_or(&[]))
    }
    pub fn size(&self) -> u64 {
        u64_at(self.record, 36)
    }
    /// `Installed-Size` in KiB.
    pub fn installed_kib(&self) -> u64 {
        u64_at(self.record, 44)
    }
    fn flag(&self, i: usize) -> u8 {
        self.record.get(52 + i).copied().unwrap_or(0)
    }
    pub fn multi_arch(&self) -> MultiArch {
        match self.flag(0) {
            1 => MultiArch::Same,
            2 => MultiArch::Foreign,
            3 => MultiArch::Allowed,
            _ => MultiArch::No,
        }
    }
    pub fn essential(&self) -> bool {
        self.flag(1) == 1
    }
}

/// Iterate the records of a block.
fn records(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let len = u32_at(block, at) as usize;
        if len < FIXED {
            return None;
        }
        let rec = block.get(at..at.checked_add(len)?)?;
        at += len;
        Some(rec)
    })
}

/// Iterate the (provided name, package) pairs of a provides block.
fn provide_pairs(block: &[u8]) -> impl Iterator<Item = (&str, &str)> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        if at >= block.len() {
            return None;
        }
        let (provided, next) = str_at(block, at);
        let (package, next) = str_at(block, next);
        if next <= at || next > block.len() {
            return None;
        }
        at = next;
        Some((provided, package))
    })
}

impl PackageIndex {
    /// Open a cached index; `None` if the file is not a valid index (the
    /// caller rebuilds it from the verified Packages file).
    pub fn open(path: &Path) -> Option<PackageIndex> {
        let file = File::open(path).ok()?;
        let file_len = file.metadata().ok()?.len();
        let mut header = [0u8; HEADER_LEN];
        file.read_exact_at(&mut header, 0).ok()?;
        if &header[..8] != MAGIC {
            return None;
        }
        let count = u32_at(&header, 8) as usize;
        let record_blocks = u32_at(&header, 16) as usize;
        let provide_blocks = u32_at(&header, 20) as usize;
        let fence_off = u64_at(&header, 32);
        let fence_len = u64_at(&header, 40);
        let source_sha256 = hex::encode(header.get(48..80)?);
        if fence_off.checked_add(fence_len)? != file_len || fence_len > MAX_BLOCK {
            return None;
        }
        let mut fences = vec![0u8; usize::try_from(fence_len).ok()?];
        file.read_exact_at(&mut fences, fence_off).ok()?;
        let mut at = 0usize;
        let mut read_fences = |n: usize| -> Option<Vec<Fence>> {
            let mut out = Vec::with_capacity(n.min(1 << 20));
            for _ in 0..n {
                let offset = u64_at(&fences, at);
                let len = u64_at(&fences, at + 8);
                let (first, next) = str_at(&fences, at + 16);
                if next > fences.len() || len > MAX_BLOCK || offset.checked_add(len)? > fence_off {
                    return None;
                }
                at = next;
                out.push(Fence {
                    offset,
                    len,
                    first: first.to_string(),
                });
            }
            Some(out)
        };
        let record_fences = read_fences(record_blocks)?;
        let provide_fences = read_fences(provide_blocks)?;
        Some(PackageIndex {
            file,
            count,
            record_blocks: record_fences.iter().map(|_| OnceLock::new()).collect(),
            provide_blocks: provide_fences.iter().map(|_| OnceLock::new()).collect(),
            record_fences,
            provide_fences,
            error: Mutex::new(None),
            source_sha256,
        })
    }

    /// Parse a Packages file (already verified) for `arch`, keeping its
    /// own packages and `Architecture: all` ones, into the bytes of an
    /// index file. Entries dpkg could not install (bad version, no SHA256,
    /// unsafe Filename) are skipped and counted in the returned number.
    pub fn build(text: &str, arch: &str, source_sha256: &str) -> Result<(Vec<u8>, usize), String> {
        let source = hex::decode(source_sha256).map_err(|e| e.to_string())?;
        if source.len() != 32 {
            return Err("source checksum is not a sha256".into());
        }
        let mut recs: Vec<(String, Vec<u8>, String)> = Vec::new();
        let mut skipped = 0usize;
        for para in deb822::paragraphs(text, Syntax::default()) {
            let para = para.map_err(|e| e.to_string())?;
            let get = |f| para.get(f).unwrap_or("");
            let (name, version, pkg_arch) = (get("Package"), get("Version"), get("Architecture"));
            let filename = get("Filename");
            let usable = relation::valid_package_name(name)
                && Version::parse(version).is_ok()
                && (pkg_arch == arch || pkg_arch == "all")
                && super::super::fetch::safe_relative_path(filename);
            let sha = hex::decode(get("SHA256")).ok().filter(|s| s.len() == 32);
            let size = get("Size").parse::<u64>().ok();
            let (Some(sha), Some(size), true) = (sha, size, usable) else {
                skipped += 1;
                continue;
            };
            let flat = |s: &str| normalize_space(s);
            let strings: [String; 11] = [
                name.to_string(),
                version.to_string(),
                pkg_arch.to_string(),
                flat(get("Pre-Depends")),
                flat(get("Depends")),
                flat(get("Recommends")),
                flat(get("Provides")),
                flat(get("Conflicts")),
                flat(get("Breaks")),
                filename.to_string(),
                get("Source").to_string(),
            ];
            let multi_arch: u8 = match get("Multi-Arch") {
                "same" => 1,
                "foreign" => 2,
                "allowed" => 3,
                _ => 0,
            };
            let mut rec = Vec::with_capacity(128);
            rec.extend_from_slice(&[0; 4]);
            rec.extend_from_slice(&sha);
            rec.extend_from_slice(&size.to_le_bytes());
            let installed: u64 = get("Installed-Size").parse().unwrap_or(0);
            rec.extend_from_slice(&installed.to_le_bytes());
            rec.extend_from_slice(&[multi_arch, u8::from(get("Essential") == "yes"), 0, 0]);
            for s in &strings {
                push_str(&mut rec, s)?;
            }
            let len = u32::try_from(rec.len()).map_err(|_| "record too large")?;
            rec[..4].copy_from_slice(&len.to_le_bytes());
            recs.push((name.to_string(), rec, strings[6].clone()));
        }
        // Sorted by name; stable, so the file's order is kept among versions.
        recs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut provides: Vec<(String, String)> = Vec::new();
        for (name, _, p) in &recs {
            for dep in relation::parse(p, arch)
                .unwrap_or_default()
                .iter()
                .flatten()
            {
                provides.push((dep.name.to_string(), name.clone()));
            }
        }
        provides.sort();
        provides.dedup();

        let mut out = vec![0u8; HEADER_LEN];
        let mut fences = Vec::new();
        let mut record_blocks = 0u32;
        for chunk in recs.chunks(RECORDS_PER_BLOCK) {
            let offset = out.len() as u64;
            for (_, rec, _) in chunk {
                out.extend_from_slice(rec);
            }
            push_fence(&mut fences, offset, out.len() as u64 - offset, &chunk[0].0)?;
            record_blocks += 1;
        }
        let mut provide_blocks = 0u32;
        for chunk in provides.chunks(PROVIDES_PER_BLOCK) {
            let offset = out.len() as u64;
            for (provided, package) in chunk {
                push_str(&mut out, provided)?;
                push_str(&mut out, package)?;
            }
            push_fence(&mut fences, offset, out.len() as u64 - offset, &chunk[0].0)?;
            provide_blocks += 1;
        }
        let fence_off = out.len() as u64;
        out.extend_from_slice(&fences);
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(recs.len() as u32).to_le_bytes());
        header.extend_from_slice(&(provides.len() as u32).to_le_bytes());
        header.extend_from_slice(&record_blocks.to_le_bytes());
        header.extend_from_slice(&provide_blocks.to_le_bytes());
        header.extend_from_slice(&(HEADER_LEN as u64).to_le_bytes());
        header.extend_from_slice(&fence_off.to_le_bytes());
        header.extend_from_slice(&(fences.len() as u64).to_le_bytes());
        header.extend_from_slice(&source);
        out[..HEADER_LEN].copy_from_slice(&header);
        Ok((out, skipped))
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The first read error met, if any: lookups treat an unreadable block
    /// as empty, so callers check this before trusting a "not found".
    pub fn check(&self) -> Result<(), String> {
        match self.error.lock() {
            Ok(e) => e.clone().map_or(Ok(()), Err),
            Err(_) => Err("index poisoned".into()),
        }
    }

    fn block<'s>(
        &'s self,
        cells: &'s [OnceLock<Box<[u8]>>],
        fences: &[Fence],
        i: usize,
    ) -> &'s [u8] {
        let (Some(cell), Some(fence)) = (cells.get(i), fences.get(i)) else {
            return &[];
        };
        if let Some(b) = cell.get() {
            return b;
        }
        let mut buf = vec![0u8; fence.len as usize];
        if let Err(e) = self.file.read_exact_at(&mut buf, fence.offset) {
            if let Ok(mut err) = self.error.lock() {
                err.get_or_insert(format!("reading index block: {e}"));
            }
            return &[];
        }
        // Another thread may have filled it meanwhile; either copy is fine.
        let _ = cell.set(buf.into_boxed_slice());
        cell.get().map(|b| &b[..]).unwrap_or(&[])
    }

    /// Blocks that may hold `name`: from the last block starting before it
    /// to the last block starting with it.
    fn candidate_blocks(fences: &[Fence], name: &str) -> std::ops::Range<usize> {
        let first = fences
            .partition_point(|f| f.first.as_str().cmp(name) == Ordering::Less)
            .saturating_sub(1);
        let end = fences.partition_point(|f| f.first.as_str() <= name);
        first..end.max(first)
    }

    /// Every entry named `name` (all versions), in index order.
    pub fn lookup<'s, 'n>(
        &'s self,
        name: &'n str,
    ) -> impl Iterator<Item = Entry<'s>> + use<'s, 'n> {
        Self::candidate_blocks(&self.record_fences, name)
            .flat_map(move |b| records(self.block(&self.record_blocks, &self.record_fences, b)))
            .map(|record| Entry { record })
            .filter(move |e| e.name() == name)
    }

    /// Names of the packages whose Provides names `name` (any version of
    /// them; the caller checks its chosen version provides it).
    pub fn providers<'s, 'n>(
        &'s self,
        name: &'n str,
    ) -> impl Iterator<Item = &'s str> + use<'s, 'n> {
        Self::candidate_blocks(&self.provide_fences, name)
            .flat_map(move |b| {
                provide_pairs(self.block(&self.provide_blocks, &self.provide_fences, b))
            })
            .filter(move |(provided, _)| *provided == name)
            .map(|(_, package)| package)
    }

    /// Every entry (for tools and benchmarks); reads the whole index.
    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        (0..self.record_fences.len())
            .flat_map(move |b| records(self.block(&self.record_blocks, &self.record_fences, b)))
            .map(|record| Entry { record })
    }
}

fn push_str(out: &mut Vec<u8>, s: &str) -> Result<(), String> {
    let len = u32::try_from(s.len()).map_err(|_| "field larger than 4 GiB")?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn push_fence(fences: &mut Vec<u8>, offset: u64, len: u64, first: &str) -> Result<(), String> {
    if len > MAX_BLOCK {
        return Err("index block too large".into());
    }
    fences.extend_from_slice(&offset.to_le_bytes());
    fences.extend_from_slice(&len.to_le_bytes());
    push_str(fences, first)
}

/// Folded dependency fields become one line.
fn normalize_space(s: &str) -> String {
    if s.contains(['\n', '\r', '\t']) {
        s.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn sample(extra: usize) -> String {
        let mut s = format!(
            "Package: b\nVersion: 1.0\nArchitecture: amd64\nProvides: v (= 2), w\nDepends: a (>= 1),\n c\n\
             Filename: pool/b.deb\nSize: 10\nSHA256: {SHA}\nInstalled-Size: 4\nMulti-Arch: allowed\n\n\
             Package: a\nVersion: 2:1\nArchitecture: all\nEssential: yes\nFilename: pool/a.deb\nSize: 5\nSHA256: {SHA}\n\n\
             Package: a\nVersion: 1\nArchitecture: all\nFilename: pool/a1.deb\nSize: 5\nSHA256: {SHA}\n\n\
             Package: c\nVersion: 1\nArchitecture: i386\nFilename: pool/c.deb\nSize: 5\nSHA256: {SHA}\n\n\
             Package: d\nVersion: 1\nArchitecture: amd64\nFilename: ../d.deb\nSize: 5\nSHA256: {SHA}\n"
        );
        // Many versions of one name and many providers, to cross blocks.
        for i in 0..extra {
            s.push_str(&format!(
                "\nPackage: m\nVersion: {i}\nArchitecture: amd64\nProvides: w\nFilename: pool/m{i}.deb\nSize: 1\nSHA256: {SHA}\n\
                 \nPackage: p{i:03}\nVersion: 1\nArchitecture: amd64\nProvides: w\nFilename: pool/p{i}.deb\nSize: 1\nSHA256: {SHA}\n"
            ));
        }
        s
    }

    fn open(text: &str) -> (PackageIndex, usize, tempfile::TempDir) {
        let (bytes, skipped) = PackageIndex::build(text, "amd64", SHA).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.idx");
        std::fs::write(&path, &bytes).unwrap();
        (PackageIndex::open(&path).unwrap(), skipped, dir)
    }

    #[test]
    fn build_open_query() {
        let (idx, skipped, _d) = open(&sample(0));
        assert_eq!(skipped, 2); // foreign arch, unsafe filename
        assert_eq!(idx.len(), 3);
        let a: Vec<_> = idx.lookup("a").map(|e| e.version_str()).collect();
        assert_eq!(a, ["2:1", "1"]);
        let b = idx.lookup("b").next().unwrap();
        assert_eq!(b.get(Field::Depends), "a (>= 1), c");
        assert_eq!(b.get(Field::Filename), "pool/b.deb");
        assert_eq!(b.multi_arch(), MultiArch::Allowed);
        assert_eq!((b.size(), b.installed_kib()), (10, 4));
        assert_eq!(b.sha256(), SHA);
        assert!(idx.lookup("a").next().unwrap().essential());
        assert_eq!(idx.providers("v").collect::<Vec<_>>(), ["b"]);
        assert_eq!(idx.providers("zzz").count(), 0);
        assert_eq!(idx.lookup("zzz").count(), 0);
        assert_eq!(idx.lookup("").count(), 0);
        assert!(idx.check().is_ok());
    }

    #[test]
    fn lookups_cross_block_boundaries() {
        let (idx, _, _d) = open(&sample(100));
        assert_eq!(idx.lookup("m").count(), 100);
        // b, m (once for its 100 versions) and p000..p099.
        assert_eq!(idx.providers("w").count(), 102);
        for i in [0, 31, 32, 63, 64, 99] {
            let name = format!("p{i:03}");
            assert_eq!(idx.lookup(&name).count(), 1, "{name}");
        }
        assert_eq!(idx.entries().count(), 203);
    }

    #[test]
    fn damaged_files_are_rejected_not_trusted() {
        let (bytes, _) = PackageIndex::build(&sample(3), "amd64", SHA).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.idx");
        for bad in [
            bytes[..bytes.len() - 1].to_vec(),
            b"SCRIDX03".to_vec(),
            [b"X".as_slice(), &bytes[1..]].concat(),
        ] {
            std::fs::write(&path, &bad).unwrap();
            assert!(PackageIndex::open(&path).is_none());
        }
        // Garbage inside a block: answers may be wrong, but nothing panics.
        let mut bad = bytes.clone();
        for b in bad.iter_mut().skip(HEADER_LEN).take(200) {
            *b = 0xff;
        }
        std::fs::write(&path, &bad).unwrap();
        if let Some(idx) = PackageIndex::open(&path) {
            let _ = idx.lookup("a").count();
            let _ = idx
                .entries()
                .map(|e| e.get(Field::Source).len())
                .sum::<usize>();
        }
    }
}
