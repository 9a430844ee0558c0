//! Same inputs, same bytes: across builds, thread counts, cache states and
//! compressions; and the layer cache reuses exactly the unchanged layers.

mod image_support;

use std::fs;
use std::path::Path;

use image_support::*;
use scratchify::image::{
    AssembleOptions, Compression, Format, Image, ImageSpec, LayerCache, LayerInput, Reference,
    WriteOptions, assemble, write,
};
use scratchify::tree::{FileTree, TreeEntry};

/// The fixture plus a 6 MiB layer (48 gzip blocks) so the block-parallel
/// compressor really runs blocks on several threads.
fn big_fixture() -> Fixture {
    let mut fx = fixture();
    let mut big = FileTree::new();
    let mut data = random_bytes(3 << 20, 11);
    // Half compressible, half random.
    data.extend(
        std::iter::repeat_n(b"scratchify layer text\n".as_slice(), 3 << 20 >> 4)
            .flatten()
            .take(3 << 20),
    );
    big.insert(
        p("usr/lib/big.bin"),
        disk_file(fx.src.path(), "big", &data, 0o644),
    );
    for i in 0..200 {
        big.insert(
            p(&format!("usr/share/many/file-{i:03}")),
            TreeEntry::bytes(format!("file {i}\n").repeat(i).into_bytes(), 0o644),
        );
    }
    fx.spec.layers.insert(
        1,
        LayerInput {
            tree: big,
            created_by: "apt-get install big (Dockerfile:4)".into(),
            comment: None,
            content_key: Some("sha256:big".into()),
        },
    );
    fx
}

fn build_in_pool(spec: &ImageSpec, threads: usize, opts: &AssembleOptions) -> Image {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| assemble(spec, opts).unwrap())
}

fn archive_bytes(image: &Image, dir: &Path, name: &str) -> Vec<u8> {
    let path = dir.join(name);
    write(
        image,
        Format::OciArchive,
        &path,
        &WriteOptions {
            reference: Some(Reference::parse("repro:1").unwrap()),
        },
    )
    .unwrap();
    fs::read(path).unwrap()
}

#[test]
fn thread_count_does_not_change_a_byte() {
    let fx = big_fixture();
    let out = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for compression in [Compression::default(), Compression::default_zstd()] {
        let mut seen: Vec<(usize, Image, Vec<u8>)> = Vec::new();
        let mut caches = Vec::new();
        for threads in [1, 2, 4] {
            // Fresh cache each time: every layer is really built.
            let cache = tempfile::tempdir().unwrap();
            let opts = AssembleOptions {
                compression,
                ..opts(cache.path())
            };
            let image = build_in_pool(&fx.spec, threads, &opts);
            assert!(image.layers.iter().all(|l| !l.info.from_cache));
            let bytes = archive_bytes(&image, out.path(), &format!("{threads}.tar"));
            seen.push((threads, image, bytes));
            caches.push(cache);
        }
        let (_, first, first_bytes) = &seen[0];
        for (threads, image, bytes) in &seen[1..] {
            if image.digest() != first.digest() {
                failures.push(format!(
                    "{compression:?}: {threads} threads gave {} vs {}",
                    image.digest(),
                    first.digest()
                ));
            }
            for (a, b) in image.layers.iter().zip(&first.layers) {
                if a.info.digest != b.info.digest
                    || fs::read(&a.blob).unwrap() != fs::read(&b.blob).unwrap()
                {
                    failures.push(format!(
                        "{compression:?}: layer {} differs at {threads} threads",
                        a.info.created_by
                    ));
                }
            }
            if bytes != first_bytes {
                failures.push(format!(
                    "{compression:?}: archive bytes differ at {threads} threads"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn two_builds_give_identical_outputs_with_and_without_cache() {
    let fx = fixture();
    let out = tempfile::tempdir().unwrap();
    let c1 = tempfile::tempdir().unwrap();
    let a = assemble(&fx.spec, &opts(c1.path())).unwrap();
    let b = assemble(
        &fx.spec,
        &AssembleOptions {
            cache: LayerCache::Disabled,
            ..opts(c1.path())
        },
    )
    .unwrap();
    assert_eq!(a.digest(), b.digest());
    assert_eq!(a.config, b.config);
    assert_eq!(a.manifest, b.manifest);
    assert_eq!(
        archive_bytes(&a, out.path(), "a.tar"),
        archive_bytes(&b, out.path(), "b.tar")
    );

    // Layout directories: same files, same bytes.
    let wo = WriteOptions::default();
    write(&a, Format::Oci, &out.path().join("la"), &wo).unwrap();
    write(&b, Format::Oci, &out.path().join("lb"), &wo).unwrap();
    let list = |d: &Path| {
        let mut v = Vec::new();
        for sub in ["", "blobs/sha256"] {
            for e in fs::read_dir(d.join(sub)).unwrap() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_file() {
                    v.push((
                        format!("{sub}/{}", e.file_name().to_string_lossy()),
                        fs::read(e.path()).unwrap(),
                    ));
                }
            }
        }
        v.sort();
        v
    };
    assert_eq!(list(&out.path().join("la")), list(&out.path().join("lb")));
}

#[test]
fn source_date_epoch_sets_every_timestamp() {
    let fx = fixture();
    let cache = tempfile::tempdir().unwrap();
    let a = assemble(&fx.spec, &opts(cache.path())).unwrap();
    let b = assemble(
        &fx.spec,
        &AssembleOptions {
            source_date_epoch: 0,
            ..opts(cache.path())
        },
    )
    .unwrap();
    assert_ne!(a.digest(), b.digest());
    let cfg = json(std::str::from_utf8(&b.config).unwrap());
    assert_eq!(cfg["created"], "1970-01-01T00:00:00Z");
    assert!(
        cfg["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["created"] == "1970-01-01T00:00:00Z")
    );
}

#[test]
fn rebuild_reuses_every_unchanged_layer() {
    let mut fx = fixture();
    let cache = tempfile::tempdir().unwrap();
    let first = assemble(&fx.spec, &opts(cache.path())).unwrap();
    assert!(first.layers.iter().all(|l| !l.info.from_cache));

    let again = assemble(&fx.spec, &opts(cache.path())).unwrap();
    assert!(
        again.layers.iter().all(|l| l.info.from_cache),
        "second build is all cache hits"
    );
    assert_eq!(again.digest(), first.digest());

    // Change one COPY'd disk file (same size, so only the content hash
    // can tell): only the COPY layer is rebuilt.
    let main = fx.src.path().join("main");
    let mut bytes = fs::read(&main).unwrap();
    bytes[0] ^= 0xff;
    fs::write(&main, &bytes).unwrap();
    let changed = assemble(&fx.spec, &opts(cache.path())).unwrap();
    let hits: Vec<bool> = changed.layers.iter().map(|l| l.info.from_cache).collect();
    assert_eq!(hits, [true, true, false]);
    assert_ne!(changed.layers[2].info.digest, first.layers[2].info.digest);
    assert_ne!(changed.digest(), first.digest());

    // A changed mode is a changed layer too.
    let copy = &mut fx.spec.layers[2].tree;
    copy.entries.get_mut(&p("app/config.json")).unwrap().mode = 0o600;
    let moded = assemble(&fx.spec, &opts(cache.path())).unwrap();
    assert_eq!(
        moded
            .layers
            .iter()
            .map(|l| l.info.from_cache)
            .collect::<Vec<_>>(),
        [true, true, false]
    );
}

#[test]
fn a_corrupted_cache_blob_is_rebuilt_not_trusted() {
    let fx = fixture();
    let cache = tempfile::tempdir().unwrap();
    let first = assemble(&fx.spec, &opts(cache.path())).unwrap();
    let victim = &first.layers[1].blob;
    let mut bytes = fs::read(victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    fs::write(victim, &bytes).unwrap();
    let second = assemble(&fx.spec, &opts(cache.path())).unwrap();
    assert!(
        !second.layers[1].info.from_cache,
        "corrupt blob must not be a hit"
    );
    assert!(second.layers[0].info.from_cache && second.layers[2].info.from_cache);
    assert_eq!(second.digest(), first.digest());
    let out = tempfile::tempdir().unwrap();
    write(
        &second,
        Format::OciArchive,
        &out.path().join("x.tar"),
        &WriteOptions::default(),
    )
    .unwrap();
}

#[test]
fn an_altered_blob_fails_the_write() {
    let fx = fixture();
    let cache = tempfile::tempdir().unwrap();
    let image = assemble(&fx.spec, &opts(cache.path())).unwrap();
    let victim = &image.layers[2].blob;
    let mut bytes = fs::read(victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(victim, &bytes).unwrap();
    let out = tempfile::tempdir().unwrap();
    for (format, name) in [(Format::OciArchive, "x.tar"), (Format::Oci, "layout")] {
        let dest = out.path().join(name);
        let err = write(&image, format, &dest, &WriteOptions::default()).unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        assert!(!dest.exists(), "{name}: no output after a failed write");
    }
}

#[test]
fn changed_file_size_is_an_error_naming_the_file() {
    let fx = fixture();
    let cache = tempfile::tempdir().unwrap();
    fs::write(fx.src.path().join("hello"), b"grown since listing\n").unwrap();
    let err = assemble(&fx.spec, &opts(cache.path())).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("/usr/bin/hello"), "{msg}");
}
