//! A bounded reader of the ELF facts the dynamic loader acts on: the program
//! interpreter (`PT_INTERP`), the needed libraries (`DT_NEEDED`), the library
//! search paths (`DT_RPATH`, `DT_RUNPATH`) and the soname.
//!
//! Files come from unpacked packages, which are untrusted input. The reader
//! therefore never loads a whole file: it reads the ELF header, the program
//! header table, the `PT_INTERP` and `PT_DYNAMIC` segments and, for each
//! string it needs, at most [`MAX_STRING_BYTES`] of the dynamic string table,
//! each read capped (see the constants). Files larger than [`MAX_FILE_BYTES`]
//! are refused unread. Structures are decoded with `goblin`; every offset is
//! checked, and any inconsistency is a [`Inspection::Malformed`] answer, never
//! a panic.
//!
//! Section headers are not read: the loader does not use them, and a stripped
//! or hostile file may carry none or lie in them.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use goblin::container::{Container, Ctx};
use goblin::elf::Dynamic;
use goblin::elf::dynamic::{
    DT_NEEDED, DT_NULL, DT_RPATH, DT_RUNPATH, DT_SONAME, DT_STRSZ, DT_STRTAB,
};
use goblin::elf::header::{self, Header};
use goblin::elf::program_header::{PT_DYNAMIC, PT_INTERP, PT_LOAD, ProgramHeader};
use serde::Serialize;

/// Files larger than this are not inspected (1 GiB).
pub const MAX_FILE_BYTES: u64 = 1 << 30;
/// Cap on the program header table (65535 entries of 56 bytes fit in 4 MiB;
/// real files have a few dozen).
pub const MAX_PROGRAM_HEADER_BYTES: u64 = 1 << 20;
/// Cap on the `PT_DYNAMIC` segment (real files: a few hundred bytes).
pub const MAX_DYNAMIC_BYTES: u64 = 1 << 20;
/// Cap on one string read from the dynamic string table, and on the
/// interpreter path (Linux's `PATH_MAX`).
pub const MAX_STRING_BYTES: u64 = 4096;
/// Cap on the number of `DT_NEEDED`, `DT_RPATH`, `DT_RUNPATH` and `DT_SONAME`
/// strings taken from one file.
pub const MAX_DYNAMIC_STRINGS: usize = 1024;
/// How many leading bytes the shebang reader looks at (Linux's
/// `BINPRM_BUF_SIZE` since 5.1).
pub const SHEBANG_BYTES: usize = 256;

/// What a file is, as far as the loader is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inspection {
    /// Not an ELF file (no `\x7fELF` magic).
    NotElf,
    /// A well-formed ELF file.
    Elf(ElfInfo),
    /// ELF magic, but the structures the loader reads are inconsistent.
    Malformed(String),
    /// Larger than [`MAX_FILE_BYTES`]; not read.
    TooLarge(u64),
}

/// The loader-relevant facts of one ELF file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ElfInfo {
    /// `true` for ELFCLASS64.
    pub class64: bool,
    pub little_endian: bool,
    /// `e_machine` (62 is x86-64).
    pub machine: u16,
    /// `e_type` (2 executable, 3 shared object or position-independent executable).
    pub elf_type: u16,
    /// `PT_INTERP`, e.g. `/lib64/ld-linux-x86-64.so.2`.
    pub interpreter: Option<String>,
    /// `DT_NEEDED`, in file order.
    pub needed: Vec<String>,
    /// `DT_RPATH`, split on `:`.
    pub rpath: Vec<String>,
    /// `DT_RUNPATH`, split on `:`.
    pub runpath: Vec<String>,
    pub soname: Option<String>,
}

impl ElfInfo {
    /// Whether a library found on a search path can satisfy this object: the
    /// loader skips files of another class, byte order or machine.
    pub fn compatible(&self, other: &ElfInfo) -> bool {
        self.class64 == other.class64
            && self.little_endian == other.little_endian
            && self.machine == other.machine
    }
}

/// Random-access reads, short at the end of the data.
trait ReadAt {
    fn len(&self) -> u64;
    /// Up to `len` bytes at `offset`; fewer only at the end of the data.
    fn read_at(&mut self, offset: u64, len: u64) -> io::Result<Vec<u8>>;
}

struct Bytes<'a>(&'a [u8]);

impl ReadAt for Bytes<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_at(&mut self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.0.len());
        let want = usize::try_from(len).unwrap_or(usize::MAX);
        let end = start.saturating_add(want).min(self.0.len());
        Ok(self.0.get(start..end).unwrap_or_default().to_vec())
    }
}

struct OnDisk {
    file: File,
    len: u64,
}

impl ReadAt for OnDisk {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&mut self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        if offset >= self.len {
            return Ok(Vec::new());
        }
        // Callers cap `len`; the file length caps it again.
        let len = len.min(self.len - offset);
        self.file.seek(SeekFrom::Start(offset))?;
        let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        (&mut self.file).take(len).read_to_end(&mut buf)?;
        Ok(buf)
    }
}

/// Inspect bytes held in memory.
pub fn inspect_bytes(data: &[u8]) -> Inspection {
    // Reads from memory cannot fail.
    inspect(&mut Bytes(data)).unwrap_or_else(|e| Inspection::Malformed(e.to_string()))
}

/// Inspect a file on disk. I/O errors (unreadable file) are errors; a file
/// that is merely not ELF or malformed is an answer.
pub fn inspect_file(path: &Path) -> io::Result<Inspection> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    inspect(&mut OnDisk { file, len })
}

/// The first [`SHEBANG_BYTES`] of a file on disk.
pub fn read_head(path: &Path) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let mut buf = Vec::with_capacity(SHEBANG_BYTES);
    file.take(SHEBANG_BYTES as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

fn inspect(src: &mut dyn ReadAt) -> io::Result<Inspection> {
    let head = src.read_at(0, header::header64::SIZEOF_EHDR as u64)?;
    if head.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Ok(Inspection::NotElf);
    }
    if src.len() > MAX_FILE_BYTES {
        return Ok(Inspection::TooLarge(src.len()));
    }
    Ok(match parse(src, &head)? {
        Ok(info) => Inspection::Elf(info),
        Err(why) => Inspection::Malformed(why),
    })
}

/// The inner result is the malformation, the outer one an I/O error.
fn parse(src: &mut dyn ReadAt, head: &[u8]) -> io::Result<Result<ElfInfo, String>> {
    let header: Header = match goblin::elf::Elf::parse_header(head) {
        Ok(h) => h,
        Err(e) => return Ok(Err(format!("ELF header: {e}"))),
    };
    let (container, endian) = match (header.container(), header.endianness()) {
        (Ok(c), Ok(e)) => (c, e),
        (Err(e), _) | (_, Err(e)) => return Ok(Err(format!("ELF header: {e}"))),
    };
    let ctx = Ctx::new(container, endian);
    let class64 = container == Container::Big;
    let header_size = Header::size(ctx) as u64;
    if (head.len() as u64) < header_size {
        return Ok(Err("truncated ELF header".into()));
    }

    // Program headers.
    let phnum = u64::from(header.e_phnum);
    let phentsize = u64::from(header.e_phentsize);
    let mut phdrs = Vec::new();
    if phnum > 0 {
        if header.e_phnum == 0xffff {
            // PN_XNUM: the count lives in section header 0, which only
            // core dumps use; the loader refuses such files too.
            return Ok(Err(
                "e_phnum is PN_XNUM (program header count in section 0)".into(),
            ));
        }
        if phentsize != ProgramHeader::size(ctx) as u64 {
            return Ok(Err(format!(
                "e_phentsize {phentsize} is not the size of a program header"
            )));
        }
        let table = phnum * phentsize;
        if table > MAX_PROGRAM_HEADER_BYTES {
            return Ok(Err(format!("program header table of {table} bytes")));
        }
        let bytes = src.read_at(header.e_phoff, table)?;
        if (bytes.len() as u64) < table {
            return Ok(Err(
                "program header table runs past the end of the file".into()
            ));
        }
        phdrs = match ProgramHeader::parse(&bytes, 0, phnum as usize, ctx) {
            Ok(p) => p,
            Err(e) => return Ok(Err(format!("program headers: {e}"))),
        };
    }

    let mut info = ElfInfo {
        class64,
        little_endian: endian.is_little(),
        machine: header.e_machine,
        elf_type: header.e_type,
        interpreter: None,
        needed: Vec::new(),
        rpath: Vec::new(),
        runpath: Vec::new(),
        soname: None,
    };

    if let Some(ph) = phdrs.iter().find(|p| p.p_type == PT_INTERP) {
        if ph.p_filesz > MAX_STRING_BYTES {
            return Ok(Err(format!("PT_INTERP of {} bytes", ph.p_filesz)));
        }
        let bytes = src.read_at(ph.p_offset, ph.p_filesz)?;
        if (bytes.len() as u64) < ph.p_filesz {
            return Ok(Err("PT_INTERP runs past the end of the file".into()));
        }
        match c_string(&bytes) {
            Some(s) if !s.is_empty() => info.interpreter = Some(s),
            _ => return Ok(Err("PT_INTERP is not a NUL-terminated UTF-8 path".into())),
        }
    }

    let Some(dynamic_ph) = phdrs.iter().find(|p| p.p_type == PT_DYNAMIC) else {
        // A static executable, or an object with no dynamic section.
        return Ok(Ok(info));
    };
    if dynamic_ph.p_filesz > MAX_DYNAMIC_BYTES {
        return Ok(Err(format!("PT_DYNAMIC of {} bytes", dynamic_ph.p_filesz)));
    }
    let dyn_bytes = src.read_at(dynamic_ph.p_offset, dynamic_ph.p_filesz)?;
    if (dyn_bytes.len() as u64) < dynamic_ph.p_filesz {
        return Ok(Err("PT_DYNAMIC runs past the end of the file".into()));
    }
    // goblin reads the segment at its file offset within the buffer it is
    // given; hand it the segment alone, rebased to offset 0.
    let mut rebased = dynamic_ph.clone();
    rebased.p_offset = 0;
    let dyns = match Dynamic::parse(&dyn_bytes, &[rebased], ctx) {
        Ok(Some(d)) => d.dyns,
        Ok(None) => Vec::new(),
        Err(e) => return Ok(Err(format!("dynamic section: {e}"))),
    };

    let mut strtab_vaddr = None;
    let mut strsz = None;
    let mut wanted: Vec<(u64, u64)> = Vec::new();
    for d in &dyns {
        match d.d_tag {
            DT_NULL => break,
            DT_STRTAB => strtab_vaddr = Some(d.d_val),
            DT_STRSZ => strsz = Some(d.d_val),
            DT_NEEDED | DT_RPATH | DT_RUNPATH | DT_SONAME => {
                if wanted.len() >= MAX_DYNAMIC_STRINGS {
                    return Ok(Err(format!(
                        "more than {MAX_DYNAMIC_STRINGS} dynamic strings"
                    )));
                }
                wanted.push((d.d_tag, d.d_val));
            }
            _ => {}
        }
    }
    if wanted.is_empty() {
        return Ok(Ok(info));
    }
    let (Some(strtab_vaddr), Some(strsz)) = (strtab_vaddr, strsz) else {
        return Ok(Err("dynamic strings without DT_STRTAB and DT_STRSZ".into()));
    };
    let Some(strtab_offset) = vaddr_to_offset(&phdrs, strtab_vaddr) else {
        return Ok(Err(format!(
            "DT_STRTAB {strtab_vaddr:#x} is in no loaded file range"
        )));
    };

    for (tag, offset) in wanted {
        if offset >= strsz {
            return Ok(Err(format!(
                "dynamic string offset {offset:#x} beyond DT_STRSZ {strsz:#x}"
            )));
        }
        let Some(at) = strtab_offset.checked_add(offset) else {
            return Ok(Err("dynamic string offset overflows".into()));
        };
        let cap = (strsz - offset).min(MAX_STRING_BYTES);
        let bytes = src.read_at(at, cap)?;
        let Some(s) = c_string(&bytes) else {
            return Ok(Err(format!(
                "dynamic string at {at:#x} is not NUL-terminated UTF-8 within {cap} bytes"
            )));
        };
        match tag {
            DT_NEEDED => info.needed.push(s),
            DT_RPATH => info.rpath.extend(split_search_path(&s)),
            DT_RUNPATH => info.runpath.extend(split_search_path(&s)),
            _ => info.soname = Some(s),
        }
    }
    Ok(Ok(info))
}

/// The file offset of a virtual address, through the `PT_LOAD` segment that
/// maps it from the file (not from its zero-filled tail).
fn vaddr_to_offset(phdrs: &[ProgramHeader], vaddr: u64) -> Option<u64> {
    phdrs.iter().filter(|p| p.p_type == PT_LOAD).find_map(|p| {
        let delta = vaddr.checked_sub(p.p_vaddr)?;
        (delta < p.p_filesz).then(|| p.p_offset.checked_add(delta))?
    })
}

/// The string up to the first NUL, if there is one and it is UTF-8.
fn c_string(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|&b| b == 0)?;
    std::str::from_utf8(bytes.get(..end)?)
        .ok()
        .map(str::to_owned)
}

fn split_search_path(s: &str) -> impl Iterator<Item = String> + '_ {
    // An empty element means the current directory to the loader; it is
    // meaningless for an image and skipped.
    s.split(':').filter(|p| !p.is_empty()).map(str::to_owned)
}

/// A parsed `#!` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shebang {
    /// The interpreter path as written.
    pub interpreter: String,
    /// The optional argument (Linux passes the rest of the line as one).
    pub argument: Option<String>,
}

/// Parse the `#!` line at the start of `head`, as Linux's `binfmt_script`
/// does: optional blanks, the interpreter up to a blank, the rest of the line
/// (trimmed) as one argument. `None` when there is no `#!` or no interpreter.
pub fn parse_shebang(head: &[u8]) -> Option<Shebang> {
    let rest = head.strip_prefix(b"#!")?;
    let line_end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let line = std::str::from_utf8(rest.get(..line_end)?).ok()?;
    let line = line.trim_matches(|c| c == ' ' || c == '\t' || c == '\r');
    let (interpreter, argument) = match line.find([' ', '\t']) {
        Some(i) => (&line[..i], line[i..].trim_matches([' ', '\t'])),
        None => (line, ""),
    };
    if interpreter.is_empty() {
        return None;
    }
    Some(Shebang {
        interpreter: interpreter.to_string(),
        argument: (!argument.is_empty()).then(|| argument.to_string()),
    })
}

/// The program that `env` runs, from the shebang argument of
/// `#!/usr/bin/env ARG`: options (including `-S`/`--split-string`, whose
/// value is split into words) and `NAME=VALUE` assignments are skipped.
pub fn env_program(argument: &str) -> Option<String> {
    let mut words: Vec<String> = argument.split_whitespace().map(str::to_owned).collect();
    let mut i = 0;
    while let Some(word) = words.get(i).cloned() {
        if let Some(split) = word.strip_prefix("-S").filter(|s| !s.is_empty()) {
            // `-Spython3 -u`: the value is the next words.
            words[i] = split.to_string();
            continue;
        }
        if let Some(split) = word.strip_prefix("--split-string=") {
            words[i] = split.to_string();
            continue;
        }
        if word.starts_with('-') || word.contains('=') {
            i += 1;
            continue;
        }
        return Some(word);
    }
    None
}

/// The Debian multiarch triplet for an ELF machine, which names the
/// default library directories (`/usr/lib/<triplet>`).
pub fn multiarch_triplet(info: &ElfInfo) -> Option<&'static str> {
    use goblin::elf::header::{EM_386, EM_AARCH64, EM_ARM, EM_PPC64, EM_RISCV, EM_S390, EM_X86_64};
    Some(match (info.machine, info.class64, info.little_endian) {
        (EM_X86_64, true, _) => "x86_64-linux-gnu",
        (EM_386, false, _) => "i386-linux-gnu",
        (EM_AARCH64, true, _) => "aarch64-linux-gnu",
        (EM_ARM, false, _) => "arm-linux-gnueabihf",
        (EM_PPC64, true, true) => "powerpc64le-linux-gnu",
        (EM_S390, true, _) => "s390x-linux-gnu",
        (EM_RISCV, true, _) => "riscv64-linux-gnu",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_forms() {
        let s = parse_shebang(b"#!/bin/sh\necho").unwrap();
        assert_eq!(s.interpreter, "/bin/sh");
        assert_eq!(s.argument, None);
        let s = parse_shebang(b"#! /usr/bin/env  python3 -u \r\n").unwrap();
        assert_eq!(s.interpreter, "/usr/bin/env");
        assert_eq!(s.argument.as_deref(), Some("python3 -u"));
        assert_eq!(parse_shebang(b"#!\n"), None);
        assert_eq!(parse_shebang(b"\x7fELF"), None);
        assert_eq!(env_program("python3").as_deref(), Some("python3"));
        assert_eq!(env_program("-S python3 -u").as_deref(), Some("python3"));
        assert_eq!(env_program("-Spython3 -u").as_deref(), Some("python3"));
        assert_eq!(env_program("-i A=b perl").as_deref(), Some("perl"));
        assert_eq!(
            env_program("--split-string=node --x").as_deref(),
            Some("node")
        );
        assert_eq!(env_program("-i"), None);
    }

    #[test]
    fn not_elf_and_short() {
        assert_eq!(inspect_bytes(b""), Inspection::NotElf);
        assert_eq!(inspect_bytes(b"\x7fEL"), Inspection::NotElf);
        assert!(matches!(
            inspect_bytes(b"\x7fELF"),
            Inspection::Malformed(_)
        ));
    }
}
