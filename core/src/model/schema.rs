//! Collection schemas: the declared fields, their types and index flags.
//!
//! A schema is written as JSON:
//!
//! ```json
//! {"fields": {"title": {"type": "string"},
//!             "year": {"type": "int", "index": true},
//!             "v": {"type": "vector", "dim": 384, "metric": "cosine"}},
//!  "required": ["title"], "allow_extra": false}
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value as Json};

use crate::text::analyzer::Analyzer;
use crate::{Error, Result};

/// Longest allowed field name, in bytes.
pub const MAX_FIELD_NAME_BYTES: usize = 128;
/// Largest allowed vector dimension.
pub const MAX_VECTOR_DIM: u32 = 65536;
/// Largest allowed number of matrix cells (`rows * cols`).
pub const MAX_MATRIX_CELLS: u64 = 1 << 20;

/// Distance metric of a vector field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub enum Metric {
    /// Cosine distance (`1 - cos`).
    Cosine,
    /// Euclidean distance.
    L2,
    /// Negative dot product.
    Dot,
}

impl Metric {
    /// The score a hit is reported with, from its distance: the cosine
    /// similarity (higher is closer), the inner product (higher is closer),
    /// or the Euclidean distance (smaller is closer).
    pub fn score(self, distance: f32) -> f64 {
        let d = f64::from(distance);
        match self {
            Metric::Cosine => 1.0 - d,
            Metric::Dot => -d,
            Metric::L2 => d.max(0.0).sqrt(),
        }
    }

    /// The schema JSON name of the metric (`cosine`, `l2`, `dot`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::L2 => "l2",
            Metric::Dot => "dot",
        }
    }

    /// The metric named `s` in schema JSON, if any.
    pub fn from_name(s: &str) -> Option<Metric> {
        match s {
            "cosine" => Some(Metric::Cosine),
            "l2" => Some(Metric::L2),
            "dot" => Some(Metric::Dot),
            _ => None,
        }
    }
}

/// Default HNSW links per node of a vector field.
pub const DEFAULT_M: u32 = 16;
/// Default HNSW candidate list size while inserting.
pub const DEFAULT_EF_CONSTRUCTION: u32 = 200;
/// Largest `m` a schema accepts.
pub const MAX_M: u32 = 128;
/// Largest `ef_construction` a schema accepts.
pub const MAX_EF_CONSTRUCTION: u32 = 4096;

/// The type of a declared field.
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub enum FieldType {
    /// UTF-8 text.
    String,
    /// 64-bit signed integer.
    Int,
    /// 64-bit finite float.
    Float,
    /// Boolean.
    Bool,
    /// Array of strings (`"string[]"` in JSON).
    StringArray,
    /// Fixed-dimension `f32` vector.
    Vector {
        /// Number of components.
        dim: u32,
        /// Distance metric for similarity search.
        metric: Metric,
        /// HNSW links per node (twice as many on level 0); JSON `"m"`.
        m: u32,
        /// HNSW candidate list size while inserting; JSON `"ef_construction"`.
        ef_construction: u32,
    },
    /// Fixed-shape `f32` matrix, stored row-major.
    Matrix {
        /// Number of rows.
        rows: u32,
        /// Number of columns.
        cols: u32,
    },
    /// Binary data (base64 in JSON).
    Bytes,
}

impl FieldType {
    /// The schema JSON type name (`string`, `int`, `string[]`, `vector`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Int => "int",
            FieldType::Float => "float",
            FieldType::Bool => "bool",
            FieldType::StringArray => "string[]",
            FieldType::Vector { .. } => "vector",
            FieldType::Matrix { .. } => "matrix",
            FieldType::Bytes => "bytes",
        }
    }

    /// Whether a secondary index may be declared on fields of this type.
    pub fn indexable(&self) -> bool {
        !matches!(self, FieldType::Vector { .. } | FieldType::Matrix { .. } | FieldType::Bytes)
    }
}

/// Default BM25 `k1` of a text field.
pub const DEFAULT_K1: f32 = 1.2;
/// Default BM25 `b` of a text field.
pub const DEFAULT_B: f32 = 0.75;
/// Largest BM25 `k1` a schema accepts.
pub const MAX_K1: f32 = 10.0;

/// The full-text index settings of a `string` or `string[]` field
/// (`"text": true` in JSON, with optional `"analyzer"`, `"k1"` and `"b"`).
#[derive(Debug, Clone, Copy, PartialEq, bincode::Encode, bincode::Decode)]
pub struct TextOptions {
    /// How text becomes terms (`"en"` by default, or `"simple"`).
    pub analyzer: Analyzer,
    /// BM25 term-frequency saturation, `0..=10` (default 1.2).
    pub k1: f32,
    /// BM25 length normalisation, `0..=1` (default 0.75).
    pub b: f32,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions { analyzer: Analyzer::En, k1: DEFAULT_K1, b: DEFAULT_B }
    }
}

// `k1` and `b` are checked finite when parsed and decoded.
impl Eq for TextOptions {}

/// One declared field.
///
/// Its encoding (in the catalog) is the type, then one flag byte, then the
/// text options if the flag's bit 1 is set. Bit 0 is the secondary-index
/// flag, so a field without a text index encodes exactly as before text
/// indexes existed (the byte was a bool): older databases read unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// The field's type.
    pub ty: FieldType,
    /// Whether a secondary index is kept on the field.
    pub index: bool,
    /// The full-text index kept on the field, if any.
    pub text: Option<TextOptions>,
}

impl FieldDef {
    /// A field of type `ty` without indexes.
    pub fn new(ty: FieldType) -> FieldDef {
        FieldDef { ty, index: false, text: None }
    }
    /// The same field with a secondary index.
    pub fn indexed(mut self) -> FieldDef {
        self.index = true;
        self
    }
    /// The same field with a full-text index.
    pub fn with_text(mut self, options: TextOptions) -> FieldDef {
        self.text = Some(options);
        self
    }
}

impl bincode::Encode for FieldDef {
    fn encode<E: bincode::enc::Encoder>(&self, e: &mut E) -> std::result::Result<(), bincode::error::EncodeError> {
        self.ty.encode(e)?;
        let flags = u8::from(self.index) | (u8::from(self.text.is_some()) << 1);
        flags.encode(e)?;
        if let Some(t) = &self.text {
            t.encode(e)?;
        }
        Ok(())
    }
}

impl<C> bincode::Decode<C> for FieldDef {
    fn decode<D: bincode::de::Decoder<Context = C>>(
        d: &mut D,
    ) -> std::result::Result<Self, bincode::error::DecodeError> {
        let ty = FieldType::decode(d)?;
        let flags = u8::decode(d)?;
        if flags > 3 {
            return Err(bincode::error::DecodeError::Other("field flags out of range"));
        }
        let text = if flags & 2 != 0 {
            let t = TextOptions::decode(d)?;
            if !(t.k1.is_finite() && (0.0..=MAX_K1).contains(&t.k1) && t.b.is_finite() && (0.0..=1.0).contains(&t.b)) {
                return Err(bincode::error::DecodeError::Other("text options out of range"));
            }
            Some(t)
        } else {
            None
        };
        Ok(FieldDef { ty, index: flags & 1 != 0, text })
    }
}
bincode::impl_borrow_decode!(FieldDef);

/// A collection schema.
#[derive(Debug, Clone, PartialEq, Eq, Default, bincode::Encode, bincode::Decode)]
pub struct Schema {
    /// Declared fields by name.
    pub fields: BTreeMap<String, FieldDef>,
    /// Names of fields every document must have.
    pub required: BTreeSet<String>,
    /// Whether undeclared fields are accepted (stored as [`crate::model::Value::Json`]).
    pub allow_extra: bool,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::InvalidSchema(msg.into())
}

/// Checks a field name: non-empty, at most 128 bytes, not `id`, not starting with `$`.
pub(crate) fn check_field_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        Err("field name is empty".into())
    } else if name.len() > MAX_FIELD_NAME_BYTES {
        Err(format!("field name {name:?} is longer than {MAX_FIELD_NAME_BYTES} bytes"))
    } else if name == "id" {
        Err("field name \"id\" is reserved for the document id".into())
    } else if name.starts_with('$') {
        Err(format!("field name {name:?} must not start with '$' (reserved for filter operators)"))
    } else {
        Ok(())
    }
}

fn check_keys(obj: &Map<String, Json>, allowed: &[&str], what: &str) -> Result<()> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(bad(format!("unknown key {k:?} in {what} (allowed: {})", allowed.join(", ")))),
        None => Ok(()),
    }
}

fn get_u32(obj: &Map<String, Json>, key: &str, field: &str) -> Result<u32> {
    let v = obj.get(key).ok_or_else(|| bad(format!("field {field:?}: missing {key:?}")))?;
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| bad(format!("field {field:?}: {key:?} must be a positive integer")))
}

fn parse_field(name: &str, v: &Json) -> Result<FieldDef> {
    check_field_name(name).map_err(bad)?;
    let obj = v.as_object().ok_or_else(|| bad(format!("field {name:?}: definition must be an object")))?;
    let ty_name = obj
        .get("type")
        .ok_or_else(|| bad(format!("field {name:?}: missing \"type\"")))?
        .as_str()
        .ok_or_else(|| bad(format!("field {name:?}: \"type\" must be a string")))?;
    let index = match obj.get("index") {
        None => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => return Err(bad(format!("field {name:?}: \"index\" must be a bool"))),
    };
    let what = format!("field {name:?}");
    let text = parse_text(name, ty_name, obj)?;
    let ty = match ty_name {
        "string" | "string[]" => {
            check_keys(obj, &["type", "index", "text", "analyzer", "k1", "b"], &what)?;
            if ty_name == "string" {
                FieldType::String
            } else {
                FieldType::StringArray
            }
        }
        "int" | "float" | "bool" | "bytes" => {
            check_keys(obj, &["type", "index"], &what)?;
            match ty_name {
                "int" => FieldType::Int,
                "float" => FieldType::Float,
                "bool" => FieldType::Bool,
                _ => FieldType::Bytes,
            }
        }
        "vector" => {
            check_keys(obj, &["type", "index", "dim", "metric", "m", "ef_construction"], &what)?;
            let dim = get_u32(obj, "dim", name)?;
            if !(1..=MAX_VECTOR_DIM).contains(&dim) {
                return Err(bad(format!(
                    "field {name:?}: \"dim\" must be between 1 and {MAX_VECTOR_DIM}, got {dim}"
                )));
            }
            let metric = match obj.get("metric") {
                None => Metric::Cosine,
                Some(m) => m.as_str().and_then(Metric::from_name).ok_or_else(|| {
                    bad(format!(
                        "field {name:?}: \"metric\" must be \"cosine\", \"l2\" or \"dot\", got {m}"
                    ))
                })?,
            };
            let m = match obj.get("m") {
                None => DEFAULT_M,
                Some(_) => get_u32(obj, "m", name)?,
            };
            if !(2..=MAX_M).contains(&m) {
                return Err(bad(format!("field {name:?}: \"m\" must be between 2 and {MAX_M}, got {m}")));
            }
            let ef_construction = match obj.get("ef_construction") {
                None => DEFAULT_EF_CONSTRUCTION,
                Some(_) => get_u32(obj, "ef_construction", name)?,
            };
            if !(m..=MAX_EF_CONSTRUCTION).contains(&ef_construction) {
                return Err(bad(format!(
                    "field {name:?}: \"ef_construction\" must be between m ({m}) and {MAX_EF_CONSTRUCTION}, got {ef_construction}"
                )));
            }
            FieldType::Vector { dim, metric, m, ef_construction }
        }
        "matrix" => {
            check_keys(obj, &["type", "index", "rows", "cols"], &what)?;
            let rows = get_u32(obj, "rows", name)?;
            let cols = get_u32(obj, "cols", name)?;
            if rows == 0 || cols == 0 {
                return Err(bad(format!(
                    "field {name:?}: \"rows\" and \"cols\" must be at least 1"
                )));
            }
            if u64::from(rows) * u64::from(cols) > MAX_MATRIX_CELLS {
                return Err(bad(format!(
                    "field {name:?}: rows*cols must be at most {MAX_MATRIX_CELLS}, got {}",
                    u64::from(rows) * u64::from(cols)
                )));
            }
            FieldType::Matrix { rows, cols }
        }
        other => {
            return Err(bad(format!(
                "field {name:?}: unknown type {other:?} (expected string, int, float, bool, string[], vector, matrix or bytes)"
            )))
        }
    };
    if index && !ty.indexable() {
        return Err(bad(format!("field {name:?}: {} fields cannot be indexed", ty.name())));
    }
    Ok(FieldDef { ty, index, text })
}

/// The text options of a field definition: `"text": true` (string and
/// string[] fields only), with optional `"analyzer"`, `"k1"` and `"b"`.
fn parse_text(name: &str, ty_name: &str, obj: &Map<String, Json>) -> Result<Option<TextOptions>> {
    let on = match obj.get("text") {
        None => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => return Err(bad(format!("field {name:?}: \"text\" must be a bool"))),
    };
    if !on {
        if let Some(k) = ["analyzer", "k1", "b"].into_iter().find(|k| obj.contains_key(*k)) {
            return Err(bad(format!("field {name:?}: {k:?} needs \"text\": true")));
        }
        return Ok(None);
    }
    if ty_name != "string" && ty_name != "string[]" {
        return Err(bad(format!(
            "field {name:?}: only string and string[] fields can have a text index, not {ty_name}"
        )));
    }
    let mut t = TextOptions::default();
    if let Some(a) = obj.get("analyzer") {
        t.analyzer = a
            .as_str()
            .and_then(Analyzer::from_name)
            .ok_or_else(|| bad(format!("field {name:?}: \"analyzer\" must be \"en\" or \"simple\", got {a}")))?;
    }
    let num = |key: &str, max: f64| -> Result<Option<f32>> {
        match obj.get(key) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(x) if (0.0..=max).contains(&x) => Ok(Some(x as f32)),
                _ => Err(bad(format!("field {name:?}: {key:?} must be a number from 0 to {max}, got {v}"))),
            },
        }
    };
    if let Some(k1) = num("k1", f64::from(MAX_K1))? {
        t.k1 = k1;
    }
    if let Some(b) = num("b", 1.0)? {
        t.b = b;
    }
    Ok(Some(t))
}

impl Schema {
    /// Parses a schema from its JSON form, rejecting anything malformed with
    /// [`Error::InvalidSchema`].
    pub fn from_json(v: &Json) -> Result<Schema> {
        let obj = v.as_object().ok_or_else(|| bad("schema must be a JSON object"))?;
        check_keys(obj, &["fields", "required", "allow_extra"], "schema")?;
        let fields_obj = obj
            .get("fields")
            .ok_or_else(|| bad("missing key \"fields\""))?
            .as_object()
            .ok_or_else(|| bad("\"fields\" must be an object"))?;
        if fields_obj.len() > crate::limits::MAX_FIELDS {
            return Err(bad(format!(
                "{} fields, more than the limit of {}",
                fields_obj.len(),
                crate::limits::MAX_FIELDS
            )));
        }
        let mut fields = BTreeMap::new();
        for (name, def) in fields_obj {
            fields.insert(name.clone(), parse_field(name, def)?);
        }
        let mut required = BTreeSet::new();
        match obj.get("required") {
            None => {}
            Some(Json::Array(items)) => {
                for item in items {
                    let name = item.as_str().ok_or_else(|| bad("\"required\" must be an array of field names"))?;
                    if !fields.contains_key(name) {
                        return Err(bad(format!("\"required\" names undefined field {name:?}")));
                    }
                    required.insert(name.to_string());
                }
            }
            Some(_) => return Err(bad("\"required\" must be an array of field names")),
        }
        let allow_extra = match obj.get("allow_extra") {
            None => false,
            Some(Json::Bool(b)) => *b,
            Some(_) => return Err(bad("\"allow_extra\" must be a bool")),
        };
        Ok(Schema { fields, required, allow_extra })
    }

    /// Parses a schema from JSON text; syntax errors are [`Error::InvalidSchema`].
    pub fn parse(text: &str) -> Result<Schema> {
        let v: Json = serde_json::from_str(text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        Schema::from_json(&v)
    }

    /// The schema's JSON form; [`Schema::from_json`] reads it back unchanged.
    pub fn to_json(&self) -> Json {
        let mut fields = Map::new();
        for (name, def) in &self.fields {
            let mut f = Map::new();
            f.insert("type".into(), json!(def.ty.name()));
            match &def.ty {
                FieldType::Vector { dim, metric, m, ef_construction } => {
                    f.insert("dim".into(), json!(dim));
                    f.insert("metric".into(), json!(metric.name()));
                    if *m != DEFAULT_M {
                        f.insert("m".into(), json!(m));
                    }
                    if *ef_construction != DEFAULT_EF_CONSTRUCTION {
                        f.insert("ef_construction".into(), json!(ef_construction));
                    }
                }
                FieldType::Matrix { rows, cols } => {
                    f.insert("rows".into(), json!(rows));
                    f.insert("cols".into(), json!(cols));
                }
                _ => {}
            }
            if def.index {
                f.insert("index".into(), json!(true));
            }
            if let Some(t) = &def.text {
                f.insert("text".into(), json!(true));
                f.insert("analyzer".into(), json!(t.analyzer.name()));
                if t.k1 != DEFAULT_K1 {
                    f.insert("k1".into(), json!(t.k1));
                }
                if t.b != DEFAULT_B {
                    f.insert("b".into(), json!(t.b));
                }
            }
            fields.insert(name.clone(), Json::Object(f));
        }
        json!({
            "fields": fields,
            "required": self.required.iter().collect::<Vec<_>>(),
            "allow_extra": self.allow_extra,
        })
    }

    /// The vector field a search uses, as `(name, dimension, metric)`:
    /// `field` if given (it must be a vector field), else the schema's only
    /// vector field.
    pub fn vector_field(&self, field: Option<&str>) -> Result<(String, usize, Metric)> {
        let bad = |msg: String| Err(crate::Error::InvalidArgument(msg));
        if let Some(name) = field {
            return match self.field(name).map(|f| &f.ty) {
                Some(FieldType::Vector { dim, metric, .. }) => Ok((name.to_string(), *dim as usize, *metric)),
                Some(_) => bad(format!("field {name:?} is not a vector field")),
                None => bad(format!("unknown field {name:?}")),
            };
        }
        let mut vectors = self.fields.iter().filter_map(|(n, f)| match f.ty {
            FieldType::Vector { dim, metric, .. } => Some((n.clone(), dim as usize, metric)),
            _ => None,
        });
        match (vectors.next(), vectors.next()) {
            (Some(one), None) => Ok(one),
            (None, _) => bad("the collection has no vector field".into()),
            (Some(_), Some(_)) => bad("the collection has several vector fields: name one".into()),
        }
    }

    /// The definition of a declared field.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match Schema::parse(text) {
            Err(Error::InvalidSchema(m)) => m,
            other => panic!("expected InvalidSchema for {text}, got {other:?}"),
        }
    }

    const FULL: &str = r#"{"fields": {"title": {"type": "string"}, "year": {"type": "int", "index": true},
        "price": {"type": "float"}, "ok": {"type": "bool"}, "tags": {"type": "string[]", "index": true},
        "v": {"type": "vector", "dim": 384, "metric": "cosine"}, "w": {"type": "vector", "dim": 2, "metric": "l2"},
        "d": {"type": "vector", "dim": 3, "metric": "dot"}, "m": {"type": "matrix", "rows": 4, "cols": 4},
        "raw": {"type": "bytes"}}, "required": ["title"], "allow_extra": false}"#;

    #[test]
    fn parses_all_types() {
        let s = Schema::parse(FULL).unwrap();
        assert_eq!(s.fields.len(), 10);
        assert_eq!(s.field("year"), Some(&FieldDef::new(FieldType::Int).indexed()));
        assert_eq!(s.field("title").unwrap().ty, FieldType::String);
        assert!(!s.field("title").unwrap().index);
        assert_eq!(s.field("price").unwrap().ty, FieldType::Float);
        assert_eq!(s.field("ok").unwrap().ty, FieldType::Bool);
        assert_eq!(s.field("tags").unwrap().ty, FieldType::StringArray);
        assert_eq!(
            s.field("v").unwrap().ty,
            FieldType::Vector { dim: 384, metric: Metric::Cosine, m: 16, ef_construction: 200 }
        );
        assert_eq!(
            s.field("w").unwrap().ty,
            FieldType::Vector { dim: 2, metric: Metric::L2, m: 16, ef_construction: 200 }
        );
        assert_eq!(
            s.field("d").unwrap().ty,
            FieldType::Vector { dim: 3, metric: Metric::Dot, m: 16, ef_construction: 200 }
        );
        assert_eq!(s.field("m").unwrap().ty, FieldType::Matrix { rows: 4, cols: 4 });
        assert_eq!(s.field("raw").unwrap().ty, FieldType::Bytes);
        assert!(s.field("nope").is_none());
        assert_eq!(s.required, BTreeSet::from(["title".to_string()]));
        assert!(!s.allow_extra);
    }

    #[test]
    fn defaults() {
        let s = Schema::parse(r#"{"fields": {"v": {"type": "vector", "dim": 3}}}"#).unwrap();
        assert!(s.required.is_empty());
        assert!(!s.allow_extra);
        assert_eq!(
            s.field("v").unwrap().ty,
            FieldType::Vector { dim: 3, metric: Metric::Cosine, m: 16, ef_construction: 200 }
        );
        let s = Schema::parse(r#"{"fields": {}, "allow_extra": true}"#).unwrap();
        assert!(s.allow_extra);
        assert!(s.fields.is_empty());
    }

    #[test]
    fn graph_parameters() {
        let s = Schema::parse(r#"{"fields": {"v": {"type": "vector", "dim": 3, "m": 8, "ef_construction": 100}}}"#)
            .unwrap();
        assert_eq!(
            s.field("v").unwrap().ty,
            FieldType::Vector { dim: 3, metric: Metric::Cosine, m: 8, ef_construction: 100 }
        );
        assert_eq!(Schema::from_json(&s.to_json()).unwrap(), s);
        assert_eq!(s.to_json()["fields"]["v"]["m"], 8);
        for bad in
            [r#""m": 1"#, r#""m": 1000"#, r#""ef_construction": 4"#, r#""ef_construction": 100000"#, r#""m": "x""#]
        {
            let text = format!(r#"{{"fields": {{"v": {{"type": "vector", "dim": 3, {bad}}}}}}}"#);
            assert!(matches!(Schema::parse(&text), Err(Error::InvalidSchema(_))), "{bad}");
        }
    }

    #[test]
    fn round_trips() {
        let s = Schema::parse(FULL).unwrap();
        let back = Schema::from_json(&s.to_json()).unwrap();
        assert_eq!(s, back);
        let s2 = Schema::parse(r#"{"fields": {"a": {"type": "int"}}, "allow_extra": true}"#).unwrap();
        assert_eq!(Schema::from_json(&s2.to_json()).unwrap(), s2);
        // Text round trip too.
        assert_eq!(Schema::parse(&s.to_json().to_string()).unwrap(), s);
    }

    #[test]
    fn bincode_round_trip() {
        let s = Schema::parse(FULL).unwrap();
        let cfg = bincode::config::standard();
        let bytes = bincode::encode_to_vec(&s, cfg).unwrap();
        let (back, _): (Schema, usize) = bincode::decode_from_slice(&bytes, cfg).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn rejects_non_object_and_bad_json() {
        assert!(err("[1]").contains("object"));
        assert!(err("42").contains("object"));
        assert!(err("{\"fields\": ").contains("not valid JSON"));
        assert!(err("{}").contains("\"fields\""));
        assert!(err(r#"{"fields": []}"#).contains("\"fields\""));
    }

    #[test]
    fn rejects_unknown_keys() {
        assert!(err(r#"{"fields": {}, "extra": 1}"#).contains("\"extra\""));
        let m = err(r#"{"fields": {"a": {"type": "int", "dim": 3}}}"#);
        assert!(m.contains("\"dim\"") && m.contains("\"a\""), "{m}");
        let m = err(r#"{"fields": {"v": {"type": "vector", "dim": 3, "rows": 1}}}"#);
        assert!(m.contains("\"rows\""), "{m}");
        let m = err(r#"{"fields": {"m": {"type": "matrix", "rows": 1, "cols": 1, "metric": "l2"}}}"#);
        assert!(m.contains("\"metric\""), "{m}");
    }

    #[test]
    fn rejects_bad_types() {
        let m = err(r#"{"fields": {"a": {"type": "integer"}}}"#);
        assert!(m.contains("unknown type") && m.contains("\"integer\""), "{m}");
        assert!(err(r#"{"fields": {"a": {}}}"#).contains("missing \"type\""));
        assert!(err(r#"{"fields": {"a": {"type": 1}}}"#).contains("\"type\""));
        assert!(err(r#"{"fields": {"a": "int"}}"#).contains("\"a\""));
        assert!(err(r#"{"fields": {"a": {"type": "int", "index": "yes"}}}"#).contains("\"index\""));
    }

    #[test]
    fn rejects_bad_vector_and_matrix() {
        assert!(err(r#"{"fields": {"v": {"type": "vector"}}}"#).contains("missing \"dim\""));
        assert!(err(r#"{"fields": {"v": {"type": "vector", "dim": 0}}}"#).contains("between 1 and"));
        assert!(err(r#"{"fields": {"v": {"type": "vector", "dim": 65537}}}"#).contains("65536"));
        assert!(Schema::parse(r#"{"fields": {"v": {"type": "vector", "dim": 65536}}}"#).is_ok());
        assert!(err(r#"{"fields": {"v": {"type": "vector", "dim": -1}}}"#).contains("\"dim\""));
        assert!(err(r#"{"fields": {"v": {"type": "vector", "dim": 2.5}}}"#).contains("\"dim\""));
        assert!(err(r#"{"fields": {"v": {"type": "vector", "dim": 3, "metric": "hamming"}}}"#).contains("\"metric\""));
        assert!(err(r#"{"fields": {"m": {"type": "matrix", "cols": 2}}}"#).contains("missing \"rows\""));
        assert!(err(r#"{"fields": {"m": {"type": "matrix", "rows": 2}}}"#).contains("missing \"cols\""));
        assert!(err(r#"{"fields": {"m": {"type": "matrix", "rows": 0, "cols": 2}}}"#).contains("at least 1"));
        assert!(err(r#"{"fields": {"m": {"type": "matrix", "rows": 2, "cols": 0}}}"#).contains("at least 1"));
        assert!(err(r#"{"fields": {"m": {"type": "matrix", "rows": 1025, "cols": 1024}}}"#).contains("rows*cols"));
        assert!(Schema::parse(r#"{"fields": {"m": {"type": "matrix", "rows": 1024, "cols": 1024}}}"#).is_ok());
        assert!(err(r#"{"fields": {"m": {"type": "matrix", "rows": 4294967296, "cols": 1}}}"#).contains("\"rows\""));
    }

    #[test]
    fn rejects_index_on_unindexable() {
        for def in [
            r#"{"type": "vector", "dim": 3, "index": true}"#,
            r#"{"type": "matrix", "rows": 1, "cols": 1, "index": true}"#,
            r#"{"type": "bytes", "index": true}"#,
        ] {
            let m = err(&format!(r#"{{"fields": {{"x": {def}}}}}"#));
            assert!(m.contains("cannot be indexed") && m.contains("\"x\""), "{m}");
        }
        assert!(Schema::parse(r#"{"fields": {"x": {"type": "bytes", "index": false}}}"#).is_ok());
    }

    #[test]
    fn rejects_bad_field_names() {
        assert!(err(r#"{"fields": {"": {"type": "int"}}}"#).contains("empty"));
        assert!(err(r#"{"fields": {"id": {"type": "int"}}}"#).contains("reserved"));
        assert!(err(r#"{"fields": {"$x": {"type": "int"}}}"#).contains("'$'"));
        let long = "a".repeat(129);
        assert!(err(&format!(r#"{{"fields": {{"{long}": {{"type": "int"}}}}}}"#)).contains("128"));
        let ok = "a".repeat(128);
        assert!(Schema::parse(&format!(r#"{{"fields": {{"{ok}": {{"type": "int"}}}}}}"#)).is_ok());
    }

    #[test]
    fn rejects_bad_required_and_allow_extra() {
        let m = err(r#"{"fields": {"a": {"type": "int"}}, "required": ["b"]}"#);
        assert!(m.contains("undefined field \"b\""), "{m}");
        assert!(err(r#"{"fields": {"a": {"type": "int"}}, "required": "a"}"#).contains("\"required\""));
        assert!(err(r#"{"fields": {"a": {"type": "int"}}, "required": [1]}"#).contains("\"required\""));
        assert!(err(r#"{"fields": {}, "allow_extra": 1}"#).contains("\"allow_extra\""));
    }
}
