//! Benchmark driver for `benches/layer_gzip.sh` (not a test: it is ignored
//! unless the script runs it, because it needs a ~300 MB rootfs and times
//! things, which tests must not do).
//!
//! Reads `LAYER_BENCH_ROOTFS` (a directory) and `LAYER_BENCH_THREADS`,
//! splits the rootfs into units (one per `a/b/c` directory prefix, like
//! store paths), groups them with the layering policy (default budget), and
//! assembles gzip layers in a rayon pool of that many threads, cold (empty
//! cache). Then it changes one file of the last ("COPY") layer and rebuilds
//! with the cache. Prints machine-readable `KEY=value` lines.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use scratchify::image::{
    AssembleOptions, Compression, DEFAULT_MAX_LAYERS, ImageSpec, LayerCache, LayerInput, LayerUnit,
    assemble, plan_layers,
};
use scratchify::tree::{EntryKind, FileSource, FileTree, ImagePath, TreeEntry};

fn walk(root: &Path) -> BTreeMap<ImagePath, TreeEntry> {
    let mut out = BTreeMap::new();
    let mut seen_inodes: HashMap<(u64, u64), ImagePath> = HashMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let meta = fs::symlink_metadata(&path).unwrap();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let Ok(ip) = ImagePath::new(&rel) else {
                continue;
            };
            let kind = if meta.is_dir() {
                stack.push(path.clone());
                EntryKind::Dir
            } else if meta.file_type().is_symlink() {
                EntryKind::Symlink {
                    target: fs::read_link(&path).unwrap().to_string_lossy().into_owned(),
                }
            } else if meta.is_file() {
                match seen_inodes.get(&(meta.dev(), meta.ino())) {
                    Some(first) if meta.nlink() > 1 => EntryKind::Hardlink {
                        target: first.clone(),
                    },
                    _ => {
                        seen_inodes.insert((meta.dev(), meta.ino()), ip.clone());
                        EntryKind::File {
                            source: FileSource::Disk(path.clone()),
                            size: meta.len(),
                        }
                    }
                }
            } else {
                continue;
            };
            out.insert(
                ip,
                TreeEntry {
                    kind,
                    mode: meta.mode() & 0o7777,
                    uid: meta.uid(),
                    gid: meta.gid(),
                },
            );
        }
    }
    out
}

/// The unit a path belongs to: its first four components (roughly one
/// package's directory, e.g. `usr/share/doc/bash`).
fn unit_of(p: &ImagePath) -> String {
    p.as_str()
        .splitn(5, '/')
        .take(4)
        .collect::<Vec<_>>()
        .join("/")
}

/// CPU seconds (user + system, all threads) used by this process so far.
fn cpu_seconds() -> f64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are
    // fields 14 and 15 of the full line.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

#[test]
#[ignore = "benchmark driver: run benches/layer_gzip.sh"]
fn layer_gzip_bench() {
    let root = PathBuf::from(
        std::env::var("LAYER_BENCH_ROOTFS")
            .expect("set LAYER_BENCH_ROOTFS (run benches/layer_gzip.sh)"),
    );
    let threads: usize = std::env::var("LAYER_BENCH_THREADS")
        .expect("set LAYER_BENCH_THREADS")
        .parse()
        .unwrap();
    let work = PathBuf::from(std::env::var("LAYER_BENCH_WORK").expect("set LAYER_BENCH_WORK"));

    let all = walk(&root);
    let mut units: BTreeMap<String, FileTree> = BTreeMap::new();
    for (p, e) in all {
        units.entry(unit_of(&p)).or_default().insert(p, e);
    }
    // The "COPY" layer (rebuilt after a change) is the smallest unit with
    // a non-empty file, like application files next to a package closure.
    let copy_unit = units
        .iter()
        .filter(|(_, t)| t.file_bytes() > 0)
        .min_by_key(|(n, t)| (t.file_bytes(), (*n).clone()))
        .map(|(n, _)| n.clone())
        .unwrap();
    let copy_tree = units.remove(&copy_unit).unwrap();
    let unit_list: Vec<LayerUnit> = units
        .iter()
        .map(|(name, t)| LayerUnit {
            name: name.clone(),
            size: t.file_bytes(),
            depends_on: vec![],
        })
        .collect();
    let groups = plan_layers(&unit_list, 1, DEFAULT_MAX_LAYERS).unwrap();
    let mut layers: Vec<LayerInput> = groups
        .iter()
        .map(|g| {
            let mut tree = FileTree::new();
            for m in &g.members {
                for (p, e) in &units[m].entries {
                    tree.insert(p.clone(), e.clone());
                }
            }
            LayerInput {
                tree,
                created_by: g.members.join(" "),
                comment: None,
                content_key: Some(g.members.join(" ")),
            }
        })
        .collect();
    layers.push(LayerInput {
        tree: copy_tree,
        created_by: format!("COPY {copy_unit}"),
        comment: None,
        content_key: None,
    });
    let spec = ImageSpec {
        layers,
        config: Default::default(),
    };
    let total: u64 = spec.layers.iter().map(|l| l.tree.file_bytes()).sum();

    let cache = work.join("cache");
    let _ = fs::remove_dir_all(&cache);
    let opts = AssembleOptions {
        source_date_epoch: 0,
        compression: Compression::default(),
        cache: LayerCache::Dir(cache),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();

    let (t, c) = (Instant::now(), cpu_seconds());
    let image = pool.install(|| assemble(&spec, &opts)).unwrap();
    let cold = t.elapsed().as_secs_f64();
    println!("COLD_CPU_SECONDS={:.3}", cpu_seconds() - c);
    let compressed: u64 = image.layers.iter().map(|l| l.info.size).sum();
    println!("LAYERS={}", image.layers.len());
    println!("INPUT_BYTES={total}");
    println!("COMPRESSED_BYTES={compressed}");
    println!("COLD_SECONDS={cold:.3}");

    // Change one file of the COPY layer (same size) and rebuild.
    let copy_layer = spec.layers.last().unwrap();
    let changed = copy_layer
        .tree
        .entries
        .values()
        .find_map(|e| match &e.kind {
            EntryKind::File {
                source: FileSource::Disk(p),
                size,
            } if *size > 0 => Some(p.clone()),
            _ => None,
        })
        .expect("the COPY layer has a non-empty file");
    let mut bytes = fs::read(&changed).unwrap();
    bytes[0] ^= 0xff;
    fs::write(&changed, &bytes).unwrap();
    let (t, c) = (Instant::now(), cpu_seconds());
    let rebuilt = pool.install(|| assemble(&spec, &opts)).unwrap();
    println!("REBUILD_CPU_SECONDS={:.3}", cpu_seconds() - c);
    let warm = t.elapsed().as_secs_f64();
    let hits = rebuilt.layers.iter().filter(|l| l.info.from_cache).count();
    println!("REBUILD_SECONDS={warm:.3}");
    println!("REBUILD_CACHE_HITS={hits}/{}", rebuilt.layers.len());
}
