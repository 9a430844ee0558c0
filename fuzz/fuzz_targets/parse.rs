//! Fuzz every layer of the Dockerfile front end: the line parser, the
//! BuildKit dump, the typed conversion of each node, the whole-file typed
//! parse and its JSON serialisation. Any panic, hang or out-of-memory is a
//! bug; errors are fine.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchify::dockerfile;
use scratchify::source::SourceFile;

fuzz_target!(|data: &[u8]| {
    // The front end reads UTF-8 text (`scratchify parse` refuses anything
    // else before parsing).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let src = SourceFile::new("Dockerfile", text);
    if let Ok(nodes) = dockerfile::parse_nodes(&src) {
        let _ = dockerfile::dump(&nodes);
        for node in &nodes.children {
            let _ = dockerfile::parse_instruction(node);
        }
    }
    if let Ok(df) = dockerfile::parse(&src) {
        let _ = serde_json::to_string(&df);
    }
});
