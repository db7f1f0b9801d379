//! Validation of documents built in Rust against a schema.

use super::schema::{FieldDef, FieldType, Schema};
use super::value::{Document, Value, MAX_ID_BYTES};
use crate::{Error, Result};

/// Checks the document id rules: non-empty, at most [`MAX_ID_BYTES`] bytes.
pub(crate) fn check_id(id: &str) -> Result<()> {
    if id.is_empty() {
        Err(Error::InvalidDocument("\"id\" must not be empty".into()))
    } else if id.len() > MAX_ID_BYTES {
        Err(Error::InvalidDocument(format!(
            "\"id\" is {} bytes long, more than the maximum of {MAX_ID_BYTES}",
            id.len()
        )))
    } else {
        Ok(())
    }
}

/// Builds a [`Error::Validation`].
pub(crate) fn invalid(id: &str, field: &str, reason: impl Into<String>) -> Error {
    Error::Validation { id: id.to_string(), field: field.to_string(), reason: reason.into() }
}

fn check_floats(data: &[f32]) -> std::result::Result<(), String> {
    match data.iter().position(|f| !f.is_finite()) {
        Some(i) => Err(format!("not a finite number at index {i}")),
        None => Ok(()),
    }
}

/// Checks what every value must satisfy whatever its field: finite floats,
/// a consistent matrix shape, well-formed JSON text.
fn check_intrinsic(v: &Value) -> std::result::Result<(), String> {
    match v {
        Value::Float(f) if !f.is_finite() => Err("not a finite number".into()),
        Value::Vector(data) => check_floats(data),
        Value::Matrix { rows, cols, data } => {
            let cells = u64::from(*rows) * u64::from(*cols);
            if cells != data.len() as u64 {
                return Err(format!("matrix of {rows}x{cols} needs {cells} numbers, got {}", data.len()));
            }
            check_floats(data)
        }
        Value::Json(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("extra field holds invalid JSON text: {e}")),
        },
        _ => Ok(()),
    }
}

/// Checks that `v` fits the declared field type. Returns the failure reason.
pub(crate) fn check_typed(def: &FieldDef, v: &Value) -> std::result::Result<(), String> {
    let ok = matches!(
        (&def.ty, v),
        (FieldType::String, Value::String(_))
            | (FieldType::Int, Value::Int(_))
            | (FieldType::Float, Value::Float(_))
            | (FieldType::Bool, Value::Bool(_))
            | (FieldType::StringArray, Value::StringArray(_))
            | (FieldType::Vector { .. }, Value::Vector(_))
            | (FieldType::Matrix { .. }, Value::Matrix { .. })
            | (FieldType::Bytes, Value::Bytes(_))
    );
    if !ok {
        return Err(format!("expected a value of type {}, got {}", def.ty.name(), v.kind()));
    }
    match (&def.ty, v) {
        (FieldType::Vector { dim, .. }, Value::Vector(data)) if data.len() as u64 != u64::from(*dim) => {
            Err(format!("expected {dim} numbers, got {}", data.len()))
        }
        (FieldType::Matrix { rows, cols }, Value::Matrix { rows: r, cols: c, .. }) if (r, c) != (rows, cols) => {
            Err(format!("expected a {rows}x{cols} matrix, got {r}x{c}"))
        }
        _ => check_intrinsic(v),
    }
}

/// Checks one field value of a document against the schema.
pub(crate) fn check_field(schema: &Schema, id: &str, name: &str, v: &Value) -> Result<()> {
    if name == "id" {
        return Err(invalid(id, name, "\"id\" is reserved for the document id"));
    }
    let res = match schema.field(name) {
        Some(def) => check_typed(def, v),
        None if schema.allow_extra => check_intrinsic(v),
        None => Err("unknown field (the schema does not allow extra fields)".into()),
    };
    res.map_err(|reason| invalid(id, name, reason))
}

/// Checks that every required field is present.
pub(crate) fn check_required(schema: &Schema, doc: &Document) -> Result<()> {
    match schema.required.iter().find(|f| !doc.fields.contains_key(*f)) {
        Some(f) => Err(invalid(&doc.id, f, "required field is missing")),
        None => Ok(()),
    }
}

/// Checks a document against a schema: id rules, field types, vector and
/// matrix shapes, finite floats, unknown fields (unless `allow_extra`, where
/// any value is accepted for undeclared fields) and required fields.
pub fn validate(schema: &Schema, doc: &Document) -> Result<()> {
    check_id(&doc.id)?;
    for (name, v) in &doc.fields {
        check_field(schema, &doc.id, name, v)?;
    }
    check_required(schema, doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::parse(
            r#"{"fields": {"title": {"type": "string"}, "year": {"type": "int"},
            "price": {"type": "float"}, "ok": {"type": "bool"}, "tags": {"type": "string[]"},
            "v": {"type": "vector", "dim": 3}, "m": {"type": "matrix", "rows": 2, "cols": 2},
            "raw": {"type": "bytes"}}, "required": ["title"]}"#,
        )
        .unwrap()
    }

    fn base() -> Document {
        Document::new("d1").with("title", Value::String("t".into()))
    }

    fn reason(r: Result<()>) -> (String, String) {
        match r {
            Err(Error::Validation { id, field, reason }) => {
                assert_eq!(id, "d1");
                (field, reason)
            }
            other => panic!("expected Validation, got {other:?}"),
        }
    }

    #[test]
    fn accepts_full_document() {
        let d = base()
            .with("year", Value::Int(2020))
            .with("price", Value::Float(1.5))
            .with("ok", Value::Bool(false))
            .with("tags", Value::StringArray(vec!["a".into()]))
            .with("v", Value::Vector(vec![1.0, 2.0, 3.0]))
            .with("m", Value::Matrix { rows: 2, cols: 2, data: vec![1.0; 4] })
            .with("raw", Value::Bytes(vec![1, 2]));
        validate(&schema(), &d).unwrap();
    }

    #[test]
    fn id_rules() {
        let s = schema();
        let d = Document::new("").with("title", Value::String("t".into()));
        assert!(matches!(validate(&s, &d), Err(Error::InvalidDocument(_))));
        let mut d = base();
        d.id = "x".repeat(MAX_ID_BYTES + 1);
        assert!(matches!(validate(&s, &d), Err(Error::InvalidDocument(_))));
        d.id = "x".repeat(MAX_ID_BYTES);
        validate(&s, &d).unwrap();
    }

    #[test]
    fn type_mismatch() {
        let (f, r) = reason(validate(&schema(), &base().with("year", Value::Float(1.0))));
        assert_eq!(f, "year");
        assert_eq!(r, "expected a value of type int, got float");
        let (f, _) = reason(validate(&schema(), &base().with("title", Value::Json("\"t\"".into()))));
        assert_eq!(f, "title");
    }

    #[test]
    fn non_finite_floats() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let (f, r) = reason(validate(&schema(), &base().with("price", Value::Float(bad))));
            assert_eq!((f.as_str(), r.as_str()), ("price", "not a finite number"));
        }
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let (_, r) = reason(validate(&schema(), &base().with("v", Value::Vector(vec![0.0, 1.0, bad]))));
            assert_eq!(r, "not a finite number at index 2");
            let m = Value::Matrix { rows: 2, cols: 2, data: vec![0.0, bad, 0.0, 0.0] };
            let (f, r) = reason(validate(&schema(), &base().with("m", m)));
            assert_eq!((f.as_str(), r.as_str()), ("m", "not a finite number at index 1"));
        }
    }

    #[test]
    fn shapes() {
        let (_, r) = reason(validate(&schema(), &base().with("v", Value::Vector(vec![1.0]))));
        assert_eq!(r, "expected 3 numbers, got 1");
        let m = Value::Matrix { rows: 1, cols: 4, data: vec![0.0; 4] };
        let (_, r) = reason(validate(&schema(), &base().with("m", m)));
        assert_eq!(r, "expected a 2x2 matrix, got 1x4");
        let m = Value::Matrix { rows: 2, cols: 2, data: vec![0.0; 3] };
        let (_, r) = reason(validate(&schema(), &base().with("m", m)));
        assert_eq!(r, "matrix of 2x2 needs 4 numbers, got 3");
    }

    #[test]
    fn required_and_unknown() {
        let (f, r) = reason(validate(&schema(), &Document::new("d1")));
        assert_eq!((f.as_str(), r.as_str()), ("title", "required field is missing"));
        let (f, r) = reason(validate(&schema(), &base().with("zzz", Value::Int(1))));
        assert_eq!(f, "zzz");
        assert!(r.contains("unknown field"));
        let (f, _) = reason(validate(&schema(), &base().with("id", Value::String("x".into()))));
        assert_eq!(f, "id");
    }

    #[test]
    fn extra_fields_when_allowed() {
        let mut s = schema();
        s.allow_extra = true;
        validate(&s, &base().with("zzz", Value::Int(1))).unwrap();
        validate(&s, &base().with("j", Value::Json("{\"a\":[1]}".into()))).unwrap();
        let (f, r) = reason(validate(&s, &base().with("j", Value::Json("{oops".into()))));
        assert_eq!(f, "j");
        assert!(r.contains("invalid JSON"));
        let (_, r) = reason(validate(&s, &base().with("z", Value::Float(f64::NAN))));
        assert_eq!(r, "not a finite number");
        assert!(validate(&s, &base().with("id", Value::Int(1))).is_err());
    }
}
