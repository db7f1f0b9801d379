//! Mongo-style JSON filters, checked against a schema.
//!
//! ```json
//! {"year": {"$gte": 2000, "$lt": 2010}, "tags": {"$contains": "sf"},
//!  "$or": [{"ok": true}, {"price": {"$lt": 10}}]}
//! ```
//!
//! Top-level keys are ANDed; a plain value is `$eq` shorthand. Operators:
//! `$eq $ne $gt $gte $lt $lte $in $nin $contains $exists $not`, plus
//! top-level `$and`, `$or` (non-empty arrays) and `$not`. The field `"id"`
//! is filterable as a string. A field missing from a document fails every
//! comparison except `$ne` and `$nin`, which it passes.

use std::cmp::Ordering;

use serde_json::{Map, Value as Json};

use crate::model::{json_kind, Document, FieldType, Schema, Value};
use crate::{Error, Result};

/// Deepest allowed nesting of `$and`/`$or`/`$not`.
pub const MAX_FILTER_DEPTH: usize = 64;

/// A constant a field is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// Text (string, string[] element or id).
    String(String),
    /// Integer (compares numerically with floats).
    Int(i64),
    /// Float (compares numerically with integers).
    Float(f64),
    /// Boolean.
    Bool(bool),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `$eq`
    Eq,
    /// `$ne`
    Ne,
    /// `$gt`
    Gt,
    /// `$gte`
    Gte,
    /// `$lt`
    Lt,
    /// `$lte`
    Lte,
}

impl CmpOp {
    /// The operator's JSON name, e.g. `"$gte"`.
    pub fn name(self) -> &'static str {
        match self {
            CmpOp::Eq => "$eq",
            CmpOp::Ne => "$ne",
            CmpOp::Gt => "$gt",
            CmpOp::Gte => "$gte",
            CmpOp::Lt => "$lt",
            CmpOp::Lte => "$lte",
        }
    }

    fn from_name(s: &str) -> Option<CmpOp> {
        Some(match s {
            "$eq" => CmpOp::Eq,
            "$ne" => CmpOp::Ne,
            "$gt" => CmpOp::Gt,
            "$gte" => CmpOp::Gte,
            "$lt" => CmpOp::Lt,
            "$lte" => CmpOp::Lte,
            _ => return None,
        })
    }

    /// Whether the operator holds for `o`, the ordering of the document's
    /// value relative to the constant (`None`: incomparable).
    fn holds(self, o: Option<Ordering>) -> bool {
        match self {
            CmpOp::Eq => o == Some(Ordering::Equal),
            CmpOp::Ne => o != Some(Ordering::Equal),
            CmpOp::Gt => o == Some(Ordering::Greater),
            CmpOp::Gte => matches!(o, Some(Ordering::Greater | Ordering::Equal)),
            CmpOp::Lt => o == Some(Ordering::Less),
            CmpOp::Lte => matches!(o, Some(Ordering::Less | Ordering::Equal)),
        }
    }
}

/// A parsed, schema-checked filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Matches everything (the empty filter `{}`).
    All,
    /// All sub-filters match.
    And(Vec<Filter>),
    /// At least one sub-filter matches.
    Or(Vec<Filter>),
    /// The sub-filter does not match.
    Not(Box<Filter>),
    /// Compares a scalar field (or `id`) with a constant.
    Cmp {
        /// Field name.
        field: String,
        /// Operator.
        op: CmpOp,
        /// Constant.
        value: Scalar,
    },
    /// `$in` (some value, or for string[] some element, is in `values`) or,
    /// with `negate`, `$nin`.
    In {
        /// Field name.
        field: String,
        /// Candidate values.
        values: Vec<Scalar>,
        /// `true` for `$nin`.
        negate: bool,
    },
    /// `$contains`: a string[] field has `value` as an element.
    Contains {
        /// Field name.
        field: String,
        /// Element looked for.
        value: String,
    },
    /// `$exists`: the field is present (`exists`) or absent.
    Exists {
        /// Field name.
        field: String,
        /// Wanted presence.
        exists: bool,
    },
    /// `$eq`/`$ne` with an array on a string[] field: whole-array equality
    /// (order and duplicates matter), negated for `$ne`.
    ArrayEq {
        /// Field name.
        field: String,
        /// The whole expected array.
        values: Vec<String>,
        /// `true` for `$ne`.
        negate: bool,
    },
}

/// What a field holds, for checking filter constants.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    String,
    Number,
    Bool,
    StringArray,
    /// Vectors, matrices and bytes: only `$exists` applies.
    Opaque,
}

struct FieldInfo<'a> {
    name: &'a str,
    kind: Kind,
    ty: &'static str,
}

impl FieldInfo<'_> {
    fn err(&self, op: &str, needs: &str, got: &Json) -> Error {
        bad(format!("{op} on {} field {:?} needs {needs}, got {}", self.ty, self.name, json_kind(got)))
    }

    fn opaque(&self) -> Result<()> {
        if self.kind == Kind::Opaque {
            return Err(bad(format!("cannot compare {} field {:?} (only $exists is supported)", self.ty, self.name)));
        }
        Ok(())
    }

    /// The kind of constant the field takes ("string", "number", "bool").
    fn noun(&self) -> &'static str {
        match self.kind {
            Kind::String | Kind::StringArray => "string",
            Kind::Number => "number",
            Kind::Bool => "bool",
            Kind::Opaque => "value",
        }
    }

    /// A constant for this field, if `v` has the right type.
    fn scalar(&self, v: &Json) -> Option<Scalar> {
        match (self.kind, v) {
            (Kind::String | Kind::StringArray, Json::String(s)) => Some(Scalar::String(s.clone())),
            (Kind::Bool, Json::Bool(b)) => Some(Scalar::Bool(*b)),
            (Kind::Number, Json::Number(n)) => match n.as_i64() {
                Some(i) => Some(Scalar::Int(i)),
                None => n.as_f64().map(Scalar::Float),
            },
            _ => None,
        }
    }
}

fn bad(msg: impl Into<String>) -> Error {
    Error::InvalidFilter(msg.into())
}

fn field_info<'a>(schema: &Schema, name: &'a str) -> Result<FieldInfo<'a>> {
    if name == "id" {
        return Ok(FieldInfo { name, kind: Kind::String, ty: "string" });
    }
    let def = schema.field(name).ok_or_else(|| bad(format!("unknown field {name:?}")))?;
    let kind = match def.ty {
        FieldType::String => Kind::String,
        FieldType::Int | FieldType::Float => Kind::Number,
        FieldType::Bool => Kind::Bool,
        FieldType::StringArray => Kind::StringArray,
        FieldType::Vector { .. } | FieldType::Matrix { .. } | FieldType::Bytes => Kind::Opaque,
    };
    Ok(FieldInfo { name, kind, ty: def.ty.name() })
}

fn combine(mut parts: Vec<Filter>) -> Filter {
    match parts.len() {
        0 => Filter::All,
        1 => parts.pop().unwrap_or(Filter::All),
        _ => Filter::And(parts),
    }
}

fn check_depth(depth: usize) -> Result<()> {
    if depth > MAX_FILTER_DEPTH {
        return Err(bad(format!("filter is nested more than {MAX_FILTER_DEPTH} levels deep")));
    }
    Ok(())
}

/// Whether `v` is an operator object like `{"$gt": 5}`.
fn is_operator_object(v: &Json) -> bool {
    v.as_object().is_some_and(|o| o.keys().any(|k| k.starts_with('$')))
}

fn parse_filter(schema: &Schema, json: &Json, depth: usize) -> Result<Filter> {
    check_depth(depth)?;
    let obj =
        json.as_object().ok_or_else(|| bad(format!("a filter must be a JSON object, got {}", json_kind(json))))?;
    let mut parts = Vec::with_capacity(obj.len());
    for (key, v) in obj {
        parts.push(match key.as_str() {
            "$and" | "$or" => {
                let items = match v.as_array() {
                    Some(items) if !items.is_empty() => items,
                    _ => return Err(bad(format!("{key} needs a non-empty array of filters"))),
                };
                let subs = items.iter().map(|f| parse_filter(schema, f, depth + 1)).collect::<Result<Vec<_>>>()?;
                if key == "$and" {
                    Filter::And(subs)
                } else {
                    Filter::Or(subs)
                }
            }
            "$not" => Filter::Not(Box::new(parse_filter(schema, v, depth + 1)?)),
            k if k.starts_with('$') => return Err(bad(format!("unknown operator {k:?}"))),
            field => {
                let info = field_info(schema, field)?;
                match v.as_object() {
                    Some(ops) if is_operator_object(v) => parse_ops(&info, ops, depth + 1)?,
                    _ => parse_cmp(&info, CmpOp::Eq, v)?,
                }
            }
        });
    }
    Ok(combine(parts))
}

fn parse_ops(info: &FieldInfo, ops: &Map<String, Json>, depth: usize) -> Result<Filter> {
    check_depth(depth)?;
    let field = info.name.to_string();
    let mut parts = Vec::with_capacity(ops.len());
    for (op, arg) in ops {
        parts.push(match op.as_str() {
            "$in" | "$nin" => parse_in(info, op, arg)?,
            "$contains" => {
                if info.kind != Kind::StringArray {
                    return Err(bad(format!(
                        "$contains is only for string[] fields, but {:?} is a {} field",
                        info.name, info.ty
                    )));
                }
                match arg {
                    Json::String(s) => Filter::Contains { field: field.clone(), value: s.clone() },
                    other => return Err(info.err(op, "a string", other)),
                }
            }
            "$exists" => match arg {
                Json::Bool(b) => Filter::Exists { field: field.clone(), exists: *b },
                other => return Err(info.err(op, "true or false", other)),
            },
            "$not" => match arg.as_object() {
                Some(inner) if is_operator_object(arg) => Filter::Not(Box::new(parse_ops(info, inner, depth + 1)?)),
                _ => return Err(info.err(op, "an operator object such as {\"$gt\": 5}", arg)),
            },
            name => match CmpOp::from_name(name) {
                Some(cmp) => parse_cmp(info, cmp, arg)?,
                None => return Err(bad(format!("unknown operator {name:?} on field {:?}", info.name))),
            },
        });
    }
    Ok(combine(parts))
}

fn parse_cmp(info: &FieldInfo, op: CmpOp, arg: &Json) -> Result<Filter> {
    let field = info.name.to_string();
    if arg.is_null() && matches!(op, CmpOp::Eq | CmpOp::Ne) {
        // `{"f": null}` matches documents without the field, as stored nulls mean absent.
        return Ok(Filter::Exists { field, exists: op == CmpOp::Ne });
    }
    info.opaque()?;
    let ordered = matches!(op, CmpOp::Eq | CmpOp::Ne);
    match info.kind {
        Kind::Bool if !ordered => Err(bad(format!("{} is not supported on bool field {:?}", op.name(), info.name))),
        Kind::StringArray if !ordered => Err(bad(format!(
            "{} is not supported on string[] field {:?} (use $contains, $in, $nin, $eq or $ne)",
            op.name(),
            info.name
        ))),
        Kind::StringArray => match arg {
            Json::Array(items) => {
                let values = items
                    .iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| info.err(op.name(), "an array of strings", arg))?;
                Ok(Filter::ArrayEq { field, values, negate: op == CmpOp::Ne })
            }
            Json::String(s) => {
                let c = Filter::Contains { field, value: s.clone() };
                Ok(if op == CmpOp::Ne { Filter::Not(Box::new(c)) } else { c })
            }
            other => Err(info.err(op.name(), "an array of strings or a string", other)),
        },
        _ => match info.scalar(arg) {
            Some(value) => Ok(Filter::Cmp { field, op, value }),
            None => Err(info.err(op.name(), &format!("a {}", info.noun()), arg)),
        },
    }
}

fn parse_in(info: &FieldInfo, op: &str, arg: &Json) -> Result<Filter> {
    info.opaque()?;
    let items = arg.as_array().ok_or_else(|| info.err(op, "an array", arg))?;
    let mut values = Vec::with_capacity(items.len());
    for (i, x) in items.iter().enumerate() {
        match info.scalar(x) {
            Some(s) => values.push(s),
            None => {
                return Err(bad(format!(
                    "{op} on {} field {:?} needs an array of {}s, got {} at index {i}",
                    info.ty,
                    info.name,
                    info.noun(),
                    json_kind(x)
                )))
            }
        }
    }
    Ok(Filter::In { field: info.name.to_string(), values, negate: op == "$nin" })
}

/// A document field as seen by a filter.
enum Slot<'a> {
    Missing,
    Id(&'a str),
    Val(&'a Value),
}

fn slot<'a>(doc: &'a Document, field: &str) -> Slot<'a> {
    if field == "id" {
        return Slot::Id(&doc.id);
    }
    match doc.get(field) {
        Some(v) => Slot::Val(v),
        None => Slot::Missing,
    }
}

/// Compares an integer with a float exactly (no rounding of large integers).
fn cmp_int_float(a: i64, b: f64) -> Option<Ordering> {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if b.is_nan() {
        None
    } else if b >= LIMIT {
        Some(Ordering::Less)
    } else if b < -LIMIT {
        Some(Ordering::Greater)
    } else {
        let t = b.trunc();
        // Exact: t is integral and within i64 range.
        Some(a.cmp(&(t as i64)).then_with(|| {
            let frac = b - t;
            0.0f64.partial_cmp(&frac).unwrap_or(Ordering::Equal)
        }))
    }
}

/// The ordering of a document value relative to a constant.
fn compare(s: &Slot, c: &Scalar) -> Option<Ordering> {
    match (s, c) {
        (Slot::Id(a), Scalar::String(b)) => Some((*a).cmp(b.as_str())),
        (Slot::Val(v), c) => match (v, c) {
            (Value::String(a), Scalar::String(b)) => Some(a.as_str().cmp(b.as_str())),
            (Value::Int(a), Scalar::Int(b)) => Some(a.cmp(b)),
            (Value::Int(a), Scalar::Float(b)) => cmp_int_float(*a, *b),
            (Value::Float(a), Scalar::Int(b)) => cmp_int_float(*b, *a).map(Ordering::reverse),
            (Value::Float(a), Scalar::Float(b)) => a.partial_cmp(b),
            (Value::Bool(a), Scalar::Bool(b)) => Some(a.cmp(b)),
            _ => None,
        },
        _ => None,
    }
}

impl Filter {
    /// Parses a filter and checks it against the schema; problems are
    /// [`Error::InvalidFilter`].
    pub fn parse(schema: &Schema, json: &Json) -> Result<Filter> {
        parse_filter(schema, json, 0)
    }

    /// Parses a filter from JSON text; syntax errors are [`Error::InvalidFilter`].
    pub fn parse_str(schema: &Schema, text: &str) -> Result<Filter> {
        let v: Json = serde_json::from_str(text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        Filter::parse(schema, &v)
    }

    /// Whether the document matches.
    pub fn matches(&self, doc: &Document) -> bool {
        match self {
            Filter::All => true,
            Filter::And(fs) => fs.iter().all(|f| f.matches(doc)),
            Filter::Or(fs) => fs.iter().any(|f| f.matches(doc)),
            Filter::Not(f) => !f.matches(doc),
            Filter::Cmp { field, op, value } => match slot(doc, field) {
                Slot::Missing => *op == CmpOp::Ne,
                s => op.holds(compare(&s, value)),
            },
            Filter::In { field, values, negate } => {
                let found = match slot(doc, field) {
                    Slot::Missing => false,
                    Slot::Val(Value::StringArray(items)) => {
                        items.iter().any(|i| values.iter().any(|v| matches!(v, Scalar::String(s) if s == i)))
                    }
                    s => values.iter().any(|v| compare(&s, v) == Some(Ordering::Equal)),
                };
                found != *negate
            }
            Filter::Contains { field, value } => matches!(
                slot(doc, field),
                Slot::Val(Value::StringArray(items)) if items.contains(value)
            ),
            Filter::Exists { field, exists } => !matches!(slot(doc, field), Slot::Missing) == *exists,
            Filter::ArrayEq { field, values, negate } => {
                let equal = matches!(
                    slot(doc, field),
                    Slot::Val(Value::StringArray(items)) if items == values
                );
                equal != *negate
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::parse(
            r#"{"fields": {"title": {"type": "string"}, "year": {"type": "int", "index": true},
            "price": {"type": "float"}, "ok": {"type": "bool"}, "tags": {"type": "string[]"},
            "v": {"type": "vector", "dim": 2}, "m": {"type": "matrix", "rows": 1, "cols": 1},
            "raw": {"type": "bytes"}}}"#,
        )
        .unwrap()
    }

    fn f(j: Json) -> Filter {
        Filter::parse(&schema(), &j).unwrap()
    }

    fn err(j: Json) -> String {
        match Filter::parse(&schema(), &j) {
            Err(Error::InvalidFilter(m)) => m,
            other => panic!("expected InvalidFilter for {j}, got {other:?}"),
        }
    }

    /// A full document and one with only an id.
    fn docs() -> (Document, Document) {
        let full = Document::new("b2")
            .with("title", Value::String("Dune".into()))
            .with("year", Value::Int(1965))
            .with("price", Value::Float(9.5))
            .with("ok", Value::Bool(true))
            .with("tags", Value::StringArray(vec!["sf".into(), "classic".into()]))
            .with("v", Value::Vector(vec![1.0, 2.0]));
        (full, Document::new("a1"))
    }

    /// Whether the filter matches the full and the empty document.
    fn check(j: Json) -> (bool, bool) {
        let (full, empty) = docs();
        let flt = f(j);
        (flt.matches(&full), flt.matches(&empty))
    }

    #[test]
    fn structure() {
        assert_eq!(f(json!({})), Filter::All);
        assert_eq!(
            f(json!({"year": 2020})),
            Filter::Cmp { field: "year".into(), op: CmpOp::Eq, value: Scalar::Int(2020) }
        );
        assert_eq!(
            f(json!({"year": {"$gte": 2000, "$lt": 2010.5}})),
            Filter::And(vec![
                Filter::Cmp { field: "year".into(), op: CmpOp::Gte, value: Scalar::Int(2000) },
                Filter::Cmp { field: "year".into(), op: CmpOp::Lt, value: Scalar::Float(2010.5) },
            ])
        );
        assert_eq!(
            f(json!({"tags": {"$nin": ["a"]}})),
            Filter::In { field: "tags".into(), values: vec![Scalar::String("a".into())], negate: true }
        );
        assert_eq!(
            f(json!({"ok": {"$not": {"$eq": true}}})),
            Filter::Not(Box::new(Filter::Cmp { field: "ok".into(), op: CmpOp::Eq, value: Scalar::Bool(true) }))
        );
        assert_eq!(f(json!({"year": null})), Filter::Exists { field: "year".into(), exists: false });
        assert!(matches!(f(json!({"$or": [{"ok": true}]})), Filter::Or(v) if v.len() == 1));
        assert!(matches!(f(json!({"$and": [{"ok": true}, {}]})), Filter::And(v) if v.len() == 2));
        assert!(matches!(f(json!({"ok": true, "year": 1})), Filter::And(v) if v.len() == 2));
    }

    #[test]
    fn parse_str_works_and_rejects_bad_json() {
        let (full, _) = docs();
        assert!(Filter::parse_str(&schema(), r#"{"title": "Dune"}"#).unwrap().matches(&full));
        assert!(matches!(
            Filter::parse_str(&schema(), "{"),
            Err(Error::InvalidFilter(m)) if m.contains("not valid JSON")
        ));
    }

    #[test]
    fn eq_and_ne() {
        assert_eq!(check(json!({"title": "Dune"})), (true, false));
        assert_eq!(check(json!({"title": {"$eq": "Dun"}})), (false, false));
        assert_eq!(check(json!({"title": {"$ne": "Dune"}})), (false, true));
        assert_eq!(check(json!({"title": {"$ne": "x"}})), (true, true));
        assert_eq!(check(json!({"ok": true})), (true, false));
        assert_eq!(check(json!({"ok": {"$ne": false}})), (true, true));
        assert_eq!(check(json!({"year": 1965.0})), (true, false));
        assert_eq!(check(json!({"price": 9.5})), (true, false));
    }

    #[test]
    fn ranges_and_mixed_numbers() {
        assert_eq!(check(json!({"year": {"$gt": 1964}})), (true, false));
        assert_eq!(check(json!({"year": {"$gt": 1965}})), (false, false));
        assert_eq!(check(json!({"year": {"$gte": 1965}})), (true, false));
        assert_eq!(check(json!({"year": {"$lt": 1965.5}})), (true, false));
        assert_eq!(check(json!({"year": {"$lte": 1964.9}})), (false, false));
        assert_eq!(check(json!({"year": {"$gt": 1964.9, "$lt": 1966}})), (true, false));
        assert_eq!(check(json!({"price": {"$gt": 9}})), (true, false));
        assert_eq!(check(json!({"price": {"$lt": 10}})), (true, false));
        assert_eq!(check(json!({"price": {"$lte": 9}})), (false, false));
        assert_eq!(check(json!({"title": {"$gt": "A", "$lt": "E"}})), (true, false));
        assert_eq!(check(json!({"year": {"$lt": 1e300}})), (true, false));
        assert_eq!(check(json!({"year": {"$gt": u64::MAX}})), (false, false));
    }

    #[test]
    fn exact_int_float_comparison() {
        let big = i64::MAX;
        assert_eq!(cmp_int_float(big, i64::MAX as f64), Some(Ordering::Less));
        assert_eq!(cmp_int_float(-3, -2.5), Some(Ordering::Less));
        assert_eq!(cmp_int_float(-2, -2.5), Some(Ordering::Greater));
        assert_eq!(cmp_int_float(2, 2.0), Some(Ordering::Equal));
        assert_eq!(cmp_int_float(i64::MAX - 1, 4611686018427387904.0), Some(Ordering::Greater));
        assert_eq!(cmp_int_float(i64::MIN, i64::MIN as f64), Some(Ordering::Equal));
        assert_eq!(cmp_int_float(0, f64::NAN), None);
        assert_eq!(cmp_int_float(0, f64::NEG_INFINITY), Some(Ordering::Greater));
        // 2^53 + 1 must not round to 2^53.
        assert_eq!(cmp_int_float((1 << 53) + 1, 9007199254740992.0), Some(Ordering::Greater));
    }

    #[test]
    fn in_and_nin() {
        assert_eq!(check(json!({"year": {"$in": [1, 1965]}})), (true, false));
        assert_eq!(check(json!({"year": {"$in": [1965.0]}})), (true, false));
        assert_eq!(check(json!({"year": {"$in": []}})), (false, false));
        assert_eq!(check(json!({"year": {"$nin": [1, 2]}})), (true, true));
        assert_eq!(check(json!({"year": {"$nin": [1965]}})), (false, true));
        assert_eq!(check(json!({"title": {"$in": ["Dune", "x"]}})), (true, false));
        assert_eq!(check(json!({"ok": {"$in": [false]}})), (false, false));
        assert_eq!(check(json!({"tags": {"$in": ["x", "sf"]}})), (true, false));
        assert_eq!(check(json!({"tags": {"$in": ["x"]}})), (false, false));
        assert_eq!(check(json!({"tags": {"$nin": ["x"]}})), (true, true));
        assert_eq!(check(json!({"tags": {"$nin": ["classic"]}})), (false, true));
        assert_eq!(check(json!({"id": {"$in": ["a1"]}})), (false, true));
    }

    #[test]
    fn string_array_ops() {
        assert_eq!(check(json!({"tags": {"$contains": "sf"}})), (true, false));
        assert_eq!(check(json!({"tags": {"$contains": "x"}})), (false, false));
        assert_eq!(check(json!({"tags": ["sf", "classic"]})), (true, false));
        assert_eq!(check(json!({"tags": ["classic", "sf"]})), (false, false));
        assert_eq!(check(json!({"tags": {"$ne": ["sf", "classic"]}})), (false, true));
        assert_eq!(check(json!({"tags": {"$ne": ["sf"]}})), (true, true));
        // A single string is element containment, Mongo style.
        assert_eq!(check(json!({"tags": "classic"})), (true, false));
        assert_eq!(check(json!({"tags": {"$ne": "classic"}})), (false, true));
    }

    #[test]
    fn exists_and_null() {
        assert_eq!(check(json!({"year": {"$exists": true}})), (true, false));
        assert_eq!(check(json!({"year": {"$exists": false}})), (false, true));
        assert_eq!(check(json!({"v": {"$exists": true}})), (true, false));
        assert_eq!(check(json!({"raw": {"$exists": false}})), (true, true));
        assert_eq!(check(json!({"id": {"$exists": true}})), (true, true));
        assert_eq!(check(json!({"title": null})), (false, true));
        assert_eq!(check(json!({"title": {"$ne": null}})), (true, false));
    }

    #[test]
    fn id_field() {
        assert_eq!(check(json!({"id": "a1"})), (false, true));
        assert_eq!(check(json!({"id": {"$gte": "b"}})), (true, false));
        assert!(err(json!({"id": 1})).contains("needs a string, got integer"));
    }

    #[test]
    fn logic() {
        assert_eq!(check(json!({"$or": [{"year": 1}, {"title": "Dune"}]})), (true, false));
        assert_eq!(check(json!({"$or": [{"year": 1}, {"title": {"$ne": "Dune"}}]})), (false, true));
        assert_eq!(check(json!({"$and": [{"year": 1965}, {"ok": true}]})), (true, false));
        assert_eq!(check(json!({"$and": [{"year": 1965}, {"ok": false}]})), (false, false));
        assert_eq!(check(json!({"$not": {"year": 1965}})), (false, true));
        assert_eq!(check(json!({"year": {"$not": {"$gt": 2000}}})), (true, true));
        assert_eq!(check(json!({"year": {"$not": {"$gt": 1900, "$lt": 2000}}})), (false, true));
        assert_eq!(check(json!({"year": 1965, "ok": false})), (false, false));
        assert_eq!(check(json!({})), (true, true));
    }

    #[test]
    fn schema_errors() {
        assert_eq!(err(json!({"nope": 1})), "unknown field \"nope\"");
        assert_eq!(err(json!({"year": {"$foo": 1}})), "unknown operator \"$foo\" on field \"year\"");
        assert_eq!(err(json!({"$foo": []})), "unknown operator \"$foo\"");
        assert_eq!(err(json!({"year": {"$gt": "x"}})), "$gt on int field \"year\" needs a number, got string");
        assert_eq!(err(json!({"title": 5})), "$eq on string field \"title\" needs a string, got integer");
        assert_eq!(err(json!({"ok": "yes"})), "$eq on bool field \"ok\" needs a bool, got string");
        assert_eq!(err(json!({"ok": {"$gt": true}})), "$gt is not supported on bool field \"ok\"");
        assert!(err(json!({"tags": {"$lt": "a"}})).contains("not supported on string[] field"));
        assert!(err(json!({"tags": ["a", 1]})).contains("needs an array of strings"));
        assert!(err(json!({"tags": 3})).contains("needs an array of strings or a string"));
        assert!(err(json!({"year": {}})).contains("got object"));
        assert!(err(json!({"price": {"a": 1}})).contains("got object"));
    }

    #[test]
    fn operator_errors() {
        for field in ["v", "m", "raw"] {
            let m = err(json!({ field: [1.0, 2.0] }));
            assert!(m.starts_with("cannot compare") && m.contains(field), "{m}");
            assert!(err(json!({ field: {"$in": []} })).starts_with("cannot compare"));
        }
        assert_eq!(err(json!({"year": {"$in": 5}})), "$in on int field \"year\" needs an array, got integer");
        assert_eq!(
            err(json!({"year": {"$nin": [1, "a"]}})),
            "$nin on int field \"year\" needs an array of numbers, got string at index 1"
        );
        assert!(err(json!({"title": {"$contains": "a"}})).contains("only for string[] fields"));
        assert!(err(json!({"tags": {"$contains": 1}})).contains("needs a string, got integer"));
        assert!(err(json!({"year": {"$exists": 1}})).contains("needs true or false"));
        assert!(err(json!({"year": {"$not": 5}})).contains("operator object"));
        assert!(err(json!({"year": {"$not": {}}})).contains("operator object"));
        assert!(err(json!({"year": {"$gt": null}})).contains("got null"));
    }

    #[test]
    fn logic_errors() {
        assert!(err(json!([])).contains("must be a JSON object"));
        assert!(err(json!({"$and": []})).contains("non-empty array"));
        assert!(err(json!({"$or": {}})).contains("non-empty array"));
        assert!(err(json!({"$or": [1]})).contains("must be a JSON object"));
        assert!(err(json!({"$not": 1})).contains("must be a JSON object"));
        assert!(err(json!({"$and": [{"nope": 1}]})).contains("unknown field"));
    }

    #[test]
    fn depth_limit() {
        let mut j = json!({"year": 1});
        for _ in 0..100 {
            j = json!({"$not": j});
        }
        assert!(err(j).contains("nested more than"));
        let mut j = json!({"year": 1965});
        for _ in 0..10 {
            j = json!({"$not": j});
        }
        assert_eq!(check(j), (true, false));
    }

    #[test]
    fn type_mismatch_in_document_never_matches() {
        // A document not validated against the schema: comparisons are simply false.
        let d = Document::new("x").with("year", Value::String("1965".into()));
        assert!(!f(json!({"year": 1965})).matches(&d));
        assert!(f(json!({"year": {"$ne": 1965}})).matches(&d));
        assert!(!f(json!({"year": {"$gt": 0}})).matches(&d));
        assert!(!f(json!({"tags": {"$contains": "a"}})).matches(&d));
        let nan = Document::new("x").with("price", Value::Float(f64::NAN));
        assert!(!f(json!({"price": {"$lte": 1}})).matches(&nan));
        assert!(!f(json!({"price": {"$gte": 1.5}})).matches(&nan));
    }
}
