//! `--format json`: the model itself, versioned (see `SCHEMA.md`).

use super::{Report, ReportError, SCHEMA_VERSION};

/// The report as pretty-printed JSON with a trailing newline. Field order is
/// the declaration order of the model, so the output is stable.
pub fn to_json(report: &Report) -> String {
    // Serialising plain structs of strings, integers and vectors into a
    // String cannot fail; fall back to an empty object rather than panic.
    let mut out = serde_json::to_string_pretty(report).unwrap_or_else(|_| String::from("{}"));
    out.push('\n');
    out
}

/// Reads a report written by [`to_json`]. The schema version is checked
/// before the body, so a report from a newer scratchify gets a clear error
/// instead of a confusing missing-field one.
pub fn from_json(text: &str) -> Result<Report, ReportError> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    match value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(SCHEMA_VERSION) => Ok(serde_json::from_value(value)?),
        Some(found) => Err(ReportError::UnsupportedSchemaVersion { found }),
        None => Err(ReportError::Json(serde::de::Error::custom(
            "missing or non-integer `schema_version`",
        ))),
    }
}
