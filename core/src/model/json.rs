//! Conversion between documents and their JSON form.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{Map, Number, Value as Json};

use super::schema::{FieldDef, FieldType, Schema};
use super::validate::{check_id, invalid, validate};
use super::value::{Document, Value};
use crate::{Error, Result};

/// A short name of a JSON value's kind, for error messages.
pub(crate) fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "integer",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// A JSON number as a finite `f32`, if it is one.
fn finite_f32(v: &Json) -> Option<f32> {
    let f = v.as_f64()? as f32;
    f.is_finite().then_some(f)
}

fn f32_list(items: &[Json], at: impl Fn(usize) -> String) -> std::result::Result<Vec<f32>, String> {
    let mut out = Vec::with_capacity(items.len());
    for (i, x) in items.iter().enumerate() {
        match finite_f32(x) {
            Some(f) => out.push(f),
            None if x.is_number() => return Err(format!("not a finite number {}", at(i))),
            None => return Err(format!("expected a number {}, got {}", at(i), json_kind(x))),
        }
    }
    Ok(out)
}

fn int_from_json(v: &Json) -> std::result::Result<i64, String> {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    match v {
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else if n.is_u64() {
                Err(format!("integer {n} is out of range for int (64-bit signed)"))
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() != 0.0 || !f.is_finite() {
                    Err(format!("expected an integer, got {n}"))
                } else if !(-LIMIT..LIMIT).contains(&f) {
                    Err(format!("integer {n} is out of range for int (64-bit signed)"))
                } else {
                    // Exact: f is integral and within i64 range.
                    Ok(f as i64)
                }
            }
        }
        other => Err(format!("expected an integer, got {}", json_kind(other))),
    }
}

fn matrix_from_json(rows: u32, cols: u32, v: &Json) -> std::result::Result<Value, String> {
    let cells = u64::from(rows) * u64::from(cols);
    let Some(arr) = v.as_array() else {
        return Err(format!(
            "expected a {rows}x{cols} matrix (an array of {rows} rows or a flat array of {cells} numbers), got {}",
            json_kind(v)
        ));
    };
    let data = if arr.first().is_some_and(Json::is_array) {
        if arr.len() as u64 != u64::from(rows) {
            return Err(format!("expected {rows} rows, got {}", arr.len()));
        }
        let mut data = Vec::with_capacity(arr.len());
        for (r, row) in arr.iter().enumerate() {
            let Some(row) = row.as_array() else {
                return Err(format!("row {r}: expected an array of {cols} numbers, got {}", json_kind(row)));
            };
            if row.len() as u64 != u64::from(cols) {
                return Err(format!("row {r}: expected {cols} numbers, got {}", row.len()));
            }
            data.extend(f32_list(row, |c| format!("at row {r}, column {c}"))?);
        }
        data
    } else {
        if arr.len() as u64 != cells {
            return Err(format!(
                "expected {rows} rows of {cols} numbers or a flat array of {cells} numbers, got {} numbers",
                arr.len()
            ));
        }
        f32_list(arr, |i| format!("at index {i}"))?
    };
    Ok(Value::Matrix { rows, cols, data })
}

/// Converts a non-null JSON value to a field value. `def` is `None` for an
/// undeclared (extra) field, which becomes [`Value::Json`]. Returns the
/// failure reason.
pub(crate) fn value_from_json(def: Option<&FieldDef>, v: &Json) -> std::result::Result<Value, String> {
    let Some(def) = def else {
        return Ok(Value::Json(v.to_string()));
    };
    match &def.ty {
        FieldType::String => match v {
            Json::String(s) => Ok(Value::String(s.clone())),
            other => Err(format!("expected a string, got {}", json_kind(other))),
        },
        FieldType::Int => int_from_json(v).map(Value::Int),
        FieldType::Float => match v.as_f64() {
            Some(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(format!("expected a finite number, got {}", json_kind(v))),
        },
        FieldType::Bool => match v {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            other => Err(format!("expected a bool, got {}", json_kind(other))),
        },
        FieldType::StringArray => {
            let Some(arr) = v.as_array() else {
                return Err(format!("expected an array of strings, got {}", json_kind(v)));
            };
            let mut out = Vec::with_capacity(arr.len());
            for (i, x) in arr.iter().enumerate() {
                match x {
                    Json::String(s) => out.push(s.clone()),
                    other => return Err(format!("expected a string at index {i}, got {}", json_kind(other))),
                }
            }
            Ok(Value::StringArray(out))
        }
        FieldType::Vector { dim, .. } => {
            let Some(arr) = v.as_array() else {
                return Err(format!("expected an array of {dim} numbers, got {}", json_kind(v)));
            };
            if arr.len() as u64 != u64::from(*dim) {
                return Err(format!("expected {dim} numbers, got {}", arr.len()));
            }
            f32_list(arr, |i| format!("at index {i}")).map(Value::Vector)
        }
        FieldType::Matrix { rows, cols } => matrix_from_json(*rows, *cols, v),
        FieldType::Bytes => match v {
            Json::String(s) => BASE64.decode(s).map(Value::Bytes).map_err(|e| format!("invalid base64: {e}")),
            other => Err(format!("expected a base64 string, got {}", json_kind(other))),
        },
    }
}

/// An `f32` as a JSON number printed with the shortest `f32` text, so that
/// `0.1f32` becomes `0.1`. Non-finite values become `null`.
pub(crate) fn f32_to_json(f: f32) -> Json {
    f.to_string().parse::<f64>().ok().and_then(Number::from_f64).map_or(Json::Null, Json::Number)
}

fn f64_to_json(f: f64) -> Json {
    Number::from_f64(f).map_or(Json::Null, Json::Number)
}

/// The JSON form of a field value.
pub(crate) fn value_to_json(v: &Value) -> Json {
    match v {
        Value::String(s) => Json::String(s.clone()),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => f64_to_json(*f),
        Value::Bool(b) => Json::Bool(*b),
        Value::StringArray(items) => Json::Array(items.iter().cloned().map(Json::String).collect()),
        Value::Vector(data) => Json::Array(data.iter().copied().map(f32_to_json).collect()),
        Value::Matrix { cols, data, .. } => {
            let row = |r: &[f32]| Json::Array(r.iter().copied().map(f32_to_json).collect());
            match *cols as usize {
                0 => row(data),
                c => Json::Array(data.chunks(c).map(row).collect()),
            }
        }
        Value::Bytes(b) => Json::String(BASE64.encode(b)),
        Value::Json(text) => serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.clone())),
    }
}

/// Reads and checks the `"id"` member of a document object.
pub(crate) fn id_from_json(obj: &Map<String, Json>) -> Result<String> {
    let id = match obj.get("id") {
        None => return Err(Error::InvalidDocument("missing \"id\"".into())),
        Some(Json::String(s)) => s.clone(),
        Some(other) => {
            return Err(Error::InvalidDocument(format!("\"id\" must be a string, got {}", json_kind(other))))
        }
    };
    check_id(&id)?;
    Ok(id)
}

/// Converts one member of a document or patch object. `Ok(None)` means the
/// field is absent (JSON null).
pub(crate) fn field_from_json(schema: &Schema, id: &str, name: &str, v: &Json) -> Result<Option<Value>> {
    if v.is_null() {
        return Ok(None);
    }
    let def = schema.field(name);
    if def.is_none() && !schema.allow_extra {
        return Err(invalid(id, name, "unknown field (the schema does not allow extra fields)"));
    }
    value_from_json(def, v).map(Some).map_err(|reason| invalid(id, name, reason))
}

impl Document {
    /// Parses and fully validates a JSON object against the schema. "id" must
    /// be a non-empty string of at most [`super::MAX_ID_BYTES`] bytes.
    ///
    /// A JSON `null` for a field means the field is absent.
    pub fn from_json(schema: &Schema, json: &Json) -> Result<Document> {
        let Some(obj) = json.as_object() else {
            return Err(Error::InvalidDocument(format!("document must be a JSON object, got {}", json_kind(json))));
        };
        let mut doc = Document::new(id_from_json(obj)?);
        for (name, v) in obj.iter().filter(|(k, _)| k.as_str() != "id") {
            if let Some(value) = field_from_json(schema, &doc.id, name, v)? {
                doc.fields.insert(name.clone(), value);
            }
        }
        validate(schema, &doc)?;
        Ok(doc)
    }

    /// The JSON form: an object with `"id"` and each field. Vectors and
    /// matrices print their `f32` values in shortest form; matrices are nested
    /// row arrays; bytes are standard base64.
    pub fn to_json(&self) -> Json {
        let mut obj = Map::new();
        for (name, v) in &self.fields {
            obj.insert(name.clone(), value_to_json(v));
        }
        obj.insert("id".into(), Json::String(self.id.clone()));
        Json::Object(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::parse(
            r#"{"fields": {"title": {"type": "string"}, "year": {"type": "int"},
            "price": {"type": "float"}, "ok": {"type": "bool"}, "tags": {"type": "string[]"},
            "v": {"type": "vector", "dim": 3}, "m": {"type": "matrix", "rows": 2, "cols": 3},
            "raw": {"type": "bytes"}}, "required": ["title"]}"#,
        )
        .unwrap()
    }

    fn parse(j: Json) -> Result<Document> {
        Document::from_json(&schema(), &j)
    }

    /// Parses `{"id": "d", "title": "t", field: v}` and returns the field error.
    fn field_err(field: &str, v: Json) -> String {
        let mut obj = json!({"id": "d", "title": "t"});
        obj[field] = v;
        match parse(obj) {
            Err(Error::Validation { id, field: f, reason }) => {
                assert_eq!((id.as_str(), f.as_str()), ("d", field));
                reason
            }
            other => panic!("expected Validation on {field}, got {other:?}"),
        }
    }

    #[test]
    fn full_round_trip() {
        let j = json!({"id": "d1", "title": "Dune", "year": 1965, "price": 9.5, "ok": true,
            "tags": ["a", "b"], "v": [0.1, 0.2, 0.3], "m": [[1, 2, 3], [4, 5, 6]], "raw": "AAH/"});
        let d = parse(j.clone()).unwrap();
        validate(&schema(), &d).unwrap();
        assert_eq!(d.id, "d1");
        assert_eq!(d.get("title"), Some(&Value::String("Dune".into())));
        assert_eq!(d.get("year"), Some(&Value::Int(1965)));
        assert_eq!(d.get("price"), Some(&Value::Float(9.5)));
        assert_eq!(d.get("ok"), Some(&Value::Bool(true)));
        assert_eq!(d.get("tags"), Some(&Value::StringArray(vec!["a".into(), "b".into()])));
        assert_eq!(d.get("v"), Some(&Value::Vector(vec![0.1, 0.2, 0.3])));
        assert_eq!(d.get("m"), Some(&Value::Matrix { rows: 2, cols: 3, data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0] }));
        assert_eq!(d.get("raw"), Some(&Value::Bytes(vec![0, 1, 255])));
        let out = d.to_json();
        assert_eq!(out["v"].to_string(), "[0.1,0.2,0.3]");
        assert_eq!(out["m"].to_string(), "[[1.0,2.0,3.0],[4.0,5.0,6.0]]");
        assert_eq!(out["raw"], json!("AAH/"));
        assert_eq!(out["year"], json!(1965));
        assert_eq!(parse(out).unwrap(), d);
    }

    #[test]
    fn f32_shortest_printing() {
        assert_eq!(f32_to_json(0.1).to_string(), "0.1");
        assert_eq!(f32_to_json(1.0 / 3.0).to_string(), "0.33333334");
        assert_eq!(f32_to_json(-2.5e-7).to_string(), "-2.5e-7");
        assert_eq!(f32_to_json(f32::NAN), Json::Null);
        assert_eq!(f32_to_json(f32::MAX).as_f64().unwrap() as f32, f32::MAX);
    }

    #[test]
    fn id_errors() {
        let bad = |j: Json| matches!(parse(j), Err(Error::InvalidDocument(_)));
        assert!(bad(json!([1])));
        assert!(bad(json!("x")));
        assert!(bad(json!({"title": "t"})));
        assert!(bad(json!({"id": 5, "title": "t"})));
        assert!(bad(json!({"id": null, "title": "t"})));
        assert!(bad(json!({"id": "", "title": "t"})));
        assert!(bad(json!({"id": "x".repeat(513), "title": "t"})));
        assert!(parse(json!({"id": "x".repeat(512), "title": "t"})).is_ok());
    }

    #[test]
    fn scalar_errors() {
        assert_eq!(field_err("title", json!(1)), "expected a string, got integer");
        assert_eq!(field_err("year", json!(3.5)), "expected an integer, got 3.5");
        assert_eq!(field_err("year", json!("3")), "expected an integer, got string");
        assert!(field_err("year", json!(u64::MAX)).contains("out of range"));
        assert!(field_err("year", json!(1e19)).contains("out of range"));
        assert_eq!(field_err("price", json!("1")), "expected a finite number, got string");
        assert_eq!(field_err("ok", json!(1)), "expected a bool, got integer");
        assert_eq!(field_err("tags", json!("a")), "expected an array of strings, got string");
        assert_eq!(field_err("tags", json!(["a", 1])), "expected a string at index 1, got integer");
    }

    #[test]
    fn numeric_conversions() {
        let d = parse(json!({"id": "d", "title": "t", "year": 3.0, "price": 2})).unwrap();
        assert_eq!(d.get("year"), Some(&Value::Int(3)));
        assert_eq!(d.get("price"), Some(&Value::Float(2.0)));
        let d = parse(json!({"id": "d", "title": "t", "year": i64::MIN})).unwrap();
        assert_eq!(d.get("year"), Some(&Value::Int(i64::MIN)));
    }

    #[test]
    fn vector_errors() {
        assert_eq!(field_err("v", json!([1, 2])), "expected 3 numbers, got 2");
        assert_eq!(field_err("v", json!("x")), "expected an array of 3 numbers, got string");
        assert_eq!(field_err("v", json!([1, 2, 1e39])), "not a finite number at index 2");
        assert_eq!(field_err("v", json!([1, "a", 3])), "expected a number at index 1, got string");
    }

    #[test]
    fn matrix_flat_and_nested() {
        let flat = parse(json!({"id": "d", "title": "t", "m": [1, 2, 3, 4, 5, 6]})).unwrap();
        let nested = parse(json!({"id": "d", "title": "t", "m": [[1, 2, 3], [4, 5, 6]]})).unwrap();
        assert_eq!(flat, nested);
        assert_eq!(flat.to_json()["m"], json!([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]));
        assert_eq!(field_err("m", json!([[1, 2, 3]])), "expected 2 rows, got 1");
        assert_eq!(field_err("m", json!([[1, 2, 3], [4, 5]])), "row 1: expected 3 numbers, got 2");
        assert_eq!(field_err("m", json!([[1, 2, 3], 4])), "row 1: expected an array of 3 numbers, got integer");
        assert_eq!(field_err("m", json!([[1, 2, 3], [4, 1e39, 6]])), "not a finite number at row 1, column 1");
        assert!(field_err("m", json!([1, 2, 3])).contains("got 3 numbers"));
        assert_eq!(field_err("m", json!([1, 2, 3, 4, 5, 1e40])), "not a finite number at index 5");
        assert!(field_err("m", json!([])).contains("got 0 numbers"));
        assert!(field_err("m", json!({})).contains("got object"));
    }

    #[test]
    fn bytes() {
        assert!(field_err("raw", json!("not base64!")).starts_with("invalid base64"));
        assert!(field_err("raw", json!("AAH")).starts_with("invalid base64"));
        assert_eq!(field_err("raw", json!([1])), "expected a base64 string, got array");
        let d = parse(json!({"id": "d", "title": "t", "raw": ""})).unwrap();
        assert_eq!(d.get("raw"), Some(&Value::Bytes(vec![])));
    }

    #[test]
    fn null_means_absent() {
        let d = parse(json!({"id": "d", "title": "t", "year": null, "v": null})).unwrap();
        assert_eq!(d.fields.len(), 1);
        assert_eq!(d.get("year"), None);
        assert_eq!(field_err("title", Json::Null), "required field is missing");
    }

    #[test]
    fn required_and_unknown() {
        match parse(json!({"id": "d"})) {
            Err(Error::Validation { field, reason, .. }) => {
                assert_eq!((field.as_str(), reason.as_str()), ("title", "required field is missing"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(field_err("zzz", json!(1)), "unknown field (the schema does not allow extra fields)");
    }

    #[test]
    fn extra_fields() {
        let mut s = schema();
        s.allow_extra = true;
        let j = json!({"id": "d", "title": "t", "meta": {"a": [1, 2.5, "x"], "b": null}, "n": 5, "gone": null});
        let d = Document::from_json(&s, &j).unwrap();
        assert_eq!(d.get("meta"), Some(&Value::Json(r#"{"a":[1,2.5,"x"],"b":null}"#.into())));
        assert_eq!(d.get("n"), Some(&Value::Json("5".into())));
        assert_eq!(d.get("gone"), None);
        validate(&s, &d).unwrap();
        let out = d.to_json();
        assert_eq!(out["meta"], json!({"a": [1, 2.5, "x"], "b": null}));
        assert_eq!(Document::from_json(&s, &out).unwrap(), d);
    }

    #[test]
    fn to_json_of_unvalidated_values_does_not_panic() {
        let d = Document::new("x")
            .with("f", Value::Float(f64::NAN))
            .with("j", Value::Json("{bad".into()))
            .with("m", Value::Matrix { rows: 0, cols: 0, data: vec![1.0] });
        let out = d.to_json();
        assert_eq!(out["f"], Json::Null);
        assert_eq!(out["j"], json!("{bad"));
        assert_eq!(out["m"], json!([1.0]));
    }
}
