//! JSON in and out: schema arguments, filters, JSONL lines, document output.

use std::io::Write;
use std::path::Path;

use serde_json::Value as Json;

use super::error::{stdout_error, CliError};
use crate::{Document, Schema};

/// Reads a `--schema` argument: the path of a file holding the schema JSON,
/// or the JSON text itself.
pub fn read_schema(arg: &str) -> Result<Schema, CliError> {
    let path = Path::new(arg);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::failed(format!("reading schema file {arg:?} failed: {e}")))?;
        return Schema::parse(&text).map_err(|e| CliError::from(e).context(format_args!("schema file {arg:?}")));
    }
    let looks_like_json = arg.trim_start().starts_with(['{', '[', '"']);
    match Schema::parse(arg) {
        Ok(schema) => Ok(schema),
        Err(e) if looks_like_json => Err(e.into()),
        Err(e) => {
            Err(CliError::failed(format!("--schema {arg:?} is neither a readable file nor valid schema JSON ({e})")))
        }
    }
}

/// Parses a `--filter` argument as JSON (its schema check happens in the scan).
pub fn parse_filter(arg: &str) -> Result<Json, CliError> {
    serde_json::from_str(arg).map_err(|e| CliError::failed(format!("invalid filter: not valid JSON: {e}")))
}

/// Parses one JSONL input line into a document checked against `schema`.
/// `None` for a blank line.
pub fn parse_line(schema: &Schema, raw: &[u8]) -> Result<Option<Document>, CliError> {
    let text = std::str::from_utf8(raw).map_err(|e| CliError::failed(format!("not valid UTF-8: {e}")))?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let json: Json = serde_json::from_str(text).map_err(|e| CliError::failed(format!("invalid JSON: {e}")))?;
    // Every problem with a line's content is invalid input (exit status 2).
    Document::from_json(schema, &json).map(Some).map_err(|e| CliError::failed(e.to_string()))
}

/// Writes a document as one compact JSON line.
pub fn write_doc(out: &mut impl Write, doc: &Document) -> Result<(), CliError> {
    writeln!(out, "{}", doc.to_json()).map_err(stdout_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_from_text_or_file() {
        let text = r#"{"fields": {"n": {"type": "int"}}}"#;
        assert!(read_schema(text).unwrap().field("n").is_some());
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("s.json");
        std::fs::write(&path, text).unwrap();
        assert!(read_schema(path.to_str().unwrap()).unwrap().field("n").is_some());
        let err = read_schema("no/such/file.json").unwrap_err();
        assert!(err.message().contains("neither a readable file"), "{err}");
        let err = read_schema(r#"{"fields": 1}"#).unwrap_err();
        assert!(err.message().starts_with("invalid schema"), "{err}");
    }

    #[test]
    fn lines_and_filters() {
        let schema = Schema::parse(r#"{"fields": {"n": {"type": "int"}}}"#).unwrap();
        assert_eq!(parse_line(&schema, b"  \r\n").unwrap(), None);
        let doc = parse_line(&schema, b"{\"id\": \"a\", \"n\": 2}\n").unwrap().unwrap();
        assert_eq!(doc.id, "a");
        assert!(parse_line(&schema, b"{").unwrap_err().message().starts_with("invalid JSON"));
        assert!(parse_line(&schema, b"\xff").unwrap_err().message().contains("UTF-8"));
        assert!(parse_filter("{").unwrap_err().message().starts_with("invalid filter"));
        assert_eq!(parse_filter("{}").unwrap(), serde_json::json!({}));
    }
}
