//! The vendored JSON schemas (tests/schemas) as validators, shared by every
//! test that checks SARIF, SPDX or CycloneDX output.

use std::path::Path;

use jsonschema::{Retrieve, Uri, Validator};
use serde_json::Value;

pub fn schema_file(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Resolves the CycloneDX schema's external `$ref`s to the vendored copies
/// and refuses everything else (no network).
struct Vendored;

impl Retrieve for Vendored {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        match uri.as_str() {
            "http://cyclonedx.org/schema/spdx.schema.json" => {
                Ok(schema_file("cyclonedx-spdx.schema.json"))
            }
            "http://cyclonedx.org/schema/jsf-0.82.schema.json" => {
                Ok(schema_file("cyclonedx-jsf-0.82.schema.json"))
            }
            other => Err(format!("not vendored (no network in tests): {other}").into()),
        }
    }
}

/// A validator for one vendored schema, with formats checked.
pub fn validator(name: &str) -> Validator {
    jsonschema::options()
        .with_retriever(Vendored)
        .should_validate_formats(true)
        .build(&schema_file(name))
        .unwrap_or_else(|e| panic!("compiling {name}: {e}"))
}
