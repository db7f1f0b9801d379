//! Partial updates in JSON merge patch style (RFC 7396).

use serde_json::{Map, Value as Json};

use super::json::{field_from_json, json_kind};
use super::schema::Schema;
use super::validate::validate;
use super::value::{Document, Value};
use crate::{Error, Result};

/// Deepest nesting merged inside extra (JSON) fields.
const MAX_MERGE_DEPTH: usize = 128;

/// RFC 7396 merge of `patch` into `target` (both JSON objects).
fn merge(target: &mut Map<String, Json>, patch: &Map<String, Json>, depth: usize) {
    for (k, pv) in patch {
        match pv {
            Json::Null => {
                target.remove(k);
            }
            Json::Object(po) if depth < MAX_MERGE_DEPTH => {
                let slot = target.entry(k.clone()).or_insert_with(|| Json::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Json::Object(Map::new());
                }
                if let Json::Object(t) = slot {
                    merge(t, po, depth + 1);
                }
            }
            other => {
                target.insert(k.clone(), other.clone());
            }
        }
    }
}

impl Document {
    /// Applies a JSON merge patch and returns the updated, validated document;
    /// `self` is unchanged.
    ///
    /// The patch must be an object. `"id"` may appear only with this
    /// document's id. A `null` removes a field; other members are converted
    /// as in [`Document::from_json`] and replace the old value, except that an
    /// object patched onto an extra (JSON) object field is merged into it
    /// recursively. The result must still satisfy the schema (for example,
    /// required fields cannot be removed).
    pub fn apply_patch(&self, schema: &Schema, patch: &Json) -> Result<Document> {
        let Some(obj) = patch.as_object() else {
            return Err(Error::InvalidDocument(format!("patch must be a JSON object, got {}", json_kind(patch))));
        };
        if let Some(id) = obj.get("id") {
            if id.as_str() != Some(self.id.as_str()) {
                return Err(Error::InvalidDocument(format!(
                    "a patch cannot change \"id\" (document {:?}, patch has {id})",
                    self.id
                )));
            }
        }
        let mut doc = self.clone();
        for (name, pv) in obj.iter().filter(|(k, _)| k.as_str() != "id") {
            let merged;
            let mut pv = pv;
            if let (Json::Object(po), None) = (pv, schema.field(name)) {
                let mut target = match doc.fields.get(name) {
                    Some(Value::Json(old)) => match serde_json::from_str::<Json>(old) {
                        Ok(Json::Object(m)) => m,
                        _ => Map::new(),
                    },
                    _ => Map::new(),
                };
                merge(&mut target, po, 1);
                merged = Json::Object(target);
                pv = &merged;
            }
            match field_from_json(schema, &doc.id, name, pv)? {
                Some(v) => doc.fields.insert(name.clone(), v),
                None => doc.fields.remove(name),
            };
        }
        validate(schema, &doc)?;
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::parse(
            r#"{"fields": {"title": {"type": "string"}, "year": {"type": "int"},
            "v": {"type": "vector", "dim": 2}}, "required": ["title"], "allow_extra": true}"#,
        )
        .unwrap()
    }

    fn doc() -> Document {
        Document::from_json(&schema(), &json!({"id": "d", "title": "t", "year": 2000, "meta": {"a": 1, "b": {"c": 2}}}))
            .unwrap()
    }

    #[test]
    fn sets_replaces_and_removes() {
        let d = doc();
        let p = d.apply_patch(&schema(), &json!({"year": 2001, "v": [0.5, 1], "meta": null})).unwrap();
        assert_eq!(p.get("year"), Some(&Value::Int(2001)));
        assert_eq!(p.get("v"), Some(&Value::Vector(vec![0.5, 1.0])));
        assert_eq!(p.get("meta"), None);
        assert_eq!(p.get("title"), Some(&Value::String("t".into())));
        assert_eq!(d, doc(), "original untouched");
        let p = d.apply_patch(&schema(), &json!({"year": null})).unwrap();
        assert_eq!(p.get("year"), None);
        assert_eq!(d.apply_patch(&schema(), &json!({})).unwrap(), d);
    }

    #[test]
    fn id_rules() {
        let d = doc();
        assert_eq!(d.apply_patch(&schema(), &json!({"id": "d", "year": 1})).unwrap().id, "d");
        for bad in [json!({"id": "e"}), json!({"id": null}), json!({"id": 1})] {
            assert!(matches!(d.apply_patch(&schema(), &bad), Err(Error::InvalidDocument(_))));
        }
        assert!(matches!(d.apply_patch(&schema(), &json!([1])), Err(Error::InvalidDocument(_))));
    }

    #[test]
    fn validates_result() {
        let d = doc();
        match d.apply_patch(&schema(), &json!({"title": null})) {
            Err(Error::Validation { field, reason, .. }) => {
                assert_eq!((field.as_str(), reason.as_str()), ("title", "required field is missing"))
            }
            other => panic!("{other:?}"),
        }
        match d.apply_patch(&schema(), &json!({"v": [1]})) {
            Err(Error::Validation { field, reason, .. }) => {
                assert_eq!((field.as_str(), reason.as_str()), ("v", "expected 2 numbers, got 1"))
            }
            other => panic!("{other:?}"),
        }
        let mut strict = schema();
        strict.allow_extra = false;
        let d2 = Document::new("d").with("title", Value::String("t".into()));
        assert!(matches!(d2.apply_patch(&strict, &json!({"zzz": 1})), Err(Error::Validation { .. })));
    }

    #[test]
    fn merges_extra_json_objects() {
        let d = doc();
        let p =
            d.apply_patch(&schema(), &json!({"meta": {"a": null, "b": {"d": 3}, "e": {"f": null, "g": 1}}})).unwrap();
        let out = p.to_json();
        assert_eq!(out["meta"], json!({"b": {"c": 2, "d": 3}, "e": {"g": 1}}));
        // A non-object value replaces wholesale.
        let p = d.apply_patch(&schema(), &json!({"meta": [1]})).unwrap();
        assert_eq!(p.get("meta"), Some(&Value::Json("[1]".into())));
        // New extra field; nulls inside a new object are dropped.
        let p = d.apply_patch(&schema(), &json!({"x": "y", "o": {"k": null, "l": 1}})).unwrap();
        assert_eq!(p.get("x"), Some(&Value::Json("\"y\"".into())));
        assert_eq!(p.get("o"), Some(&Value::Json("{\"l\":1}".into())));
    }
}
