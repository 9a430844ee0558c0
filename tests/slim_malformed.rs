//! Hostile and broken inputs: random bytes, truncated and corrupted real
//! ELF files, oversized files, symlink and hard-link loops. Nothing panics,
//! a truncated file never yields wrong dependencies, and the on-disk and
//! in-memory readers agree.

mod slim_support;

use std::io::Write;
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use scratchify::store::slim::elf::{self, Inspection, MAX_DYNAMIC_STRINGS, MAX_FILE_BYTES};
use scratchify::store::slim::{self, Roots, SlimConfig, SlimPackage, SlimWarning};
use scratchify::tree::{EntryKind, FileSource, FileTree, TreeEntry};
use slim_support::p;

fn curl_bytes() -> &'static [u8] {
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    B.get_or_init(|| std::fs::read("/usr/bin/curl").expect("curl is installed"))
}

fn libc_bytes() -> &'static [u8] {
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    B.get_or_init(|| std::fs::read("/lib/x86_64-linux-gnu/libc.so.6").expect("libc is installed"))
}

fn full(data: &[u8]) -> elf::ElfInfo {
    match elf::inspect_bytes(data) {
        Inspection::Elf(info) => info,
        other => panic!("a real ELF file inspects as {other:?}"),
    }
}

/// A truncated file is either not ELF (under 4 bytes), malformed, or, once
/// every structure the loader reads is inside the prefix, exactly the
/// complete answer: never a different list of dependencies.
fn check_prefix(data: &[u8], len: usize) -> Result<(), TestCaseError> {
    let whole = full(data);
    let got = elf::inspect_bytes(&data[..len]);
    match got {
        Inspection::NotElf => prop_assert!(len < 4),
        Inspection::Malformed(_) => {}
        Inspection::Elf(info) => prop_assert_eq!(info, whole),
        Inspection::TooLarge(_) => prop_assert!(false, "a prefix is not too large"),
    }
    Ok(())
}

fn package_with(files: Vec<(&str, TreeEntry)>) -> SlimPackage {
    let mut tree = FileTree::new();
    tree.insert(p("usr"), TreeEntry::dir(0o755));
    tree.insert(p("usr/bin"), TreeEntry::dir(0o755));
    for (path, e) in files {
        tree.insert(p(path), e);
    }
    SlimPackage {
        name: "hostile".into(),
        depends: vec!["missing-package".into()],
        tree,
    }
}

fn roots_running(cmds: &[&str]) -> Roots {
    Roots {
        commands: cmds.iter().map(|c| vec![c.to_string()]).collect(),
        ..Roots::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..4096)) {
        let r = elf::inspect_bytes(&data);
        if data.get(..4) != Some(b"\x7fELF".as_slice()) {
            prop_assert_eq!(r, Inspection::NotElf);
        }
    }

    #[test]
    fn random_bytes_after_elf_magic_never_panic(
        class in 0u8..4,
        data_enc in 0u8..4,
        tail in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut data = b"\x7fELF".to_vec();
        data.push(class);
        data.push(data_enc);
        data.extend(tail);
        if let Inspection::Elf(info) = elf::inspect_bytes(&data) {
            prop_assert!(info.needed.len() <= MAX_DYNAMIC_STRINGS);
        }
    }

    #[test]
    fn truncated_curl_never_lies(len in 0usize..70_000) {
        let data = curl_bytes();
        check_prefix(data, len.min(data.len()))?;
    }

    #[test]
    fn truncated_libc_never_lies(len in 0usize..1_000_000) {
        let data = libc_bytes();
        check_prefix(data, len.min(data.len()))?;
    }

    #[test]
    fn corrupted_headers_never_panic_and_both_readers_agree(
        edits in prop::collection::vec((0usize..8192, any::<u8>()), 1..16),
    ) {
        let mut data = curl_bytes().to_vec();
        for (at, byte) in edits {
            if let Some(b) = data.get_mut(at) {
                *b = byte;
            }
        }
        let in_memory = elf::inspect_bytes(&data);
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&data).unwrap();
        f.flush().unwrap();
        let on_disk = elf::inspect_file(f.path()).unwrap();
        prop_assert_eq!(in_memory, on_disk);
    }

    #[test]
    fn slim_survives_hostile_programs(
        junk in prop::collection::vec(any::<u8>(), 0..512),
        cut in 0usize..20_000,
        edits in prop::collection::vec((0usize..4096, any::<u8>()), 0..8),
    ) {
        let mut corrupt = curl_bytes().to_vec();
        for (at, byte) in edits {
            if let Some(b) = corrupt.get_mut(at) {
                *b = byte;
            }
        }
        let mut elf_junk = b"\x7fELF\x02\x01\x01".to_vec();
        elf_junk.extend(&junk);
        let pkg = package_with(vec![
            ("usr/bin/junk", TreeEntry::bytes(junk.clone(), 0o755)),
            ("usr/bin/elfjunk", TreeEntry::bytes(elf_junk, 0o755)),
            ("usr/bin/cut", TreeEntry::bytes(curl_bytes()[..cut.min(curl_bytes().len())].to_vec(), 0o755)),
            ("usr/bin/corrupt", TreeEntry::bytes(corrupt, 0o755)),
            ("usr/bin/script", TreeEntry::bytes([b"#!".as_slice(), &junk].concat(), 0o755)),
        ]);
        let roots = roots_running(&["junk", "elfjunk", "cut", "corrupt", "script"]);
        let r = slim::slim(&[pkg], &roots, &SlimConfig::default());
        prop_assert!(r.is_ok(), "{:?}", r.err());
        let r = r.unwrap();
        prop_assert!(r.is_kept("hostile"));
    }
}

#[test]
fn a_truncated_program_is_reported_not_followed() {
    let cut = curl_bytes()[..1000].to_vec();
    let pkg = package_with(vec![("usr/bin/cut", TreeEntry::bytes(cut, 0o755))]);
    let r = slim::slim(&[pkg], &roots_running(&["cut"]), &SlimConfig::default()).unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| matches!(w, SlimWarning::MalformedElf { path, .. } if path.as_str() == "usr/bin/cut")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn files_over_one_gibibyte_are_refused_unread() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(&curl_bytes()[..4096]).unwrap();
    f.as_file().set_len(MAX_FILE_BYTES + 1).unwrap();
    assert_eq!(
        elf::inspect_file(f.path()).unwrap(),
        Inspection::TooLarge(MAX_FILE_BYTES + 1)
    );

    let pkg = package_with(vec![(
        "usr/bin/huge",
        TreeEntry {
            kind: EntryKind::File {
                source: FileSource::Disk(f.path().to_path_buf()),
                size: MAX_FILE_BYTES + 1,
            },
            mode: 0o755,
            uid: 0,
            gid: 0,
        },
    )]);
    let r = slim::slim(&[pkg], &roots_running(&["huge"]), &SlimConfig::default()).unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| matches!(w, SlimWarning::TooLarge { .. })),
        "{:?}",
        r.warnings
    );
}

#[test]
fn loops_and_dangling_links_end_in_warnings() {
    let pkg = package_with(vec![
        ("usr/bin/a", TreeEntry::symlink("b")),
        ("usr/bin/b", TreeEntry::symlink("/usr/bin/a")),
        ("usr/bin/dangling", TreeEntry::symlink("/nowhere/x")),
        (
            "usr/bin/h1",
            TreeEntry {
                kind: EntryKind::Hardlink {
                    target: p("usr/bin/h2"),
                },
                mode: 0o755,
                uid: 0,
                gid: 0,
            },
        ),
        (
            "usr/bin/h2",
            TreeEntry {
                kind: EntryKind::Hardlink {
                    target: p("usr/bin/h1"),
                },
                mode: 0o755,
                uid: 0,
                gid: 0,
            },
        ),
        (
            "usr/bin/self",
            TreeEntry::bytes(b"#!/usr/bin/self\n".to_vec(), 0o755),
        ),
    ]);
    let roots = roots_running(&[
        "/usr/bin/a",
        "/usr/bin/dangling",
        "/usr/bin/h1",
        "/usr/bin/self",
        "nonexistent",
    ]);
    let r = slim::slim(&[pkg], &roots, &SlimConfig::default()).unwrap();
    let unresolved: Vec<String> = r
        .warnings
        .iter()
        .filter_map(|w| match w {
            SlimWarning::Unresolved { what, .. } => Some(what.clone()),
            _ => None,
        })
        .collect();
    for want in ["/usr/bin/a", "/usr/bin/dangling", "nonexistent"] {
        assert!(
            unresolved.iter().any(|u| u == want),
            "{want} not reported: {:?}",
            r.warnings
        );
    }
    assert!(r.is_kept("hostile"));
}

#[test]
fn bytes_and_disk_sources_inspect_alike_for_real_files() {
    for path in [
        "/usr/bin/curl",
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/gconv/EUC-JP.so",
    ] {
        let bytes: Arc<[u8]> = std::fs::read(path).unwrap().into();
        let a = elf::inspect_bytes(&bytes);
        let b = elf::inspect_file(std::path::Path::new(path)).unwrap();
        assert_eq!(a, b, "{path}");
        assert!(matches!(a, Inspection::Elf(_)), "{path}: {a:?}");
    }
    let euc = full(&std::fs::read("/usr/lib/x86_64-linux-gnu/gconv/EUC-JP.so").unwrap());
    assert_eq!(euc.needed, ["libJIS.so", "libc.so.6"]);
    assert_eq!(euc.runpath, ["$ORIGIN"]);
}
