//! BuildKit's parser vectors (vendored in tests/conformance/buildkit).

use std::path::{Path, PathBuf};

use scratchify::dockerfile;
use scratchify::source::SourceFile;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/buildkit")
}

fn dirs(under: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(vectors().join(under))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn load(path: &Path) -> SourceFile {
    let text = std::fs::read_to_string(path).unwrap();
    SourceFile::new(path.display().to_string(), text)
}

#[test]
fn testfiles_dump_like_buildkit() {
    let cases = dirs("parser/testfiles");
    let mut failures = Vec::new();
    for dir in &cases {
        let src = load(&dir.join("Dockerfile"));
        let expected = std::fs::read_to_string(dir.join("result")).unwrap();
        match dockerfile::parse_nodes(&src) {
            Ok(nodes) => {
                let got = dockerfile::dump(&nodes);
                if got != expected {
                    failures.push(format!(
                        "{}:\n--- expected\n{expected}--- got\n{got}",
                        dir.display()
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: {}", dir.display(), e.one_line())),
        }
    }
    assert_eq!(cases.len(), 33, "the vendored set has 33 testfiles");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
