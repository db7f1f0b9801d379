//! Secondary indexes: ordered ones on `int`, `float`, `string` and `bool`
//! fields, inverted ones on `string[]` fields, for every field the schema
//! marks `"index": true`.
//!
//! An index entry is a key with an empty value, kept in the same key space,
//! WAL and checkpoints as the documents and written in the same commit:
//! ```text
//! 0x03 | collection id u32 BE | field number u16 BE | encoded value | document id
//! ```
//! The field number is the field's position in the schema. Values encode so
//! that byte order is value order: integers as big-endian with the sign bit
//! flipped, floats as their IEEE bits flipped the same way (negatives fully
//! inverted, -0 stored as 0), booleans as one byte, strings with each 0x00
//! escaped as 0x00 0xFF and a 0x00 0x00 terminator. A string longer than
//! [`INDEX_PREFIX_BYTES`] is indexed by its first that many bytes (escaped),
//! a 0x00 0x01 marker and the xxh3-64 hash of the whole string (8 bytes BE),
//! so index keys stay within the page-size limits however long the value is.
//! A `string[]` field has one entry per distinct element.
//!
//! Such an entry still sorts by value against every other entry except one
//! sharing its prefix (those sort by hash), because cutting strings to a
//! byte prefix keeps their order and the marker sorts after a terminator.
//! Plans therefore stay exact supersets: equality finds the value's own
//! prefix and hash; a range bound on a long string widens to its whole
//! prefix group; callers apply the full filter to every candidate.

use std::collections::BTreeSet;
use std::ops::Range;

use crate::engine::View;
use crate::filter::{CmpOp, Filter, Scalar};
use crate::keys::{self, prefix_end};
use crate::limits::INDEX_PREFIX_BYTES;
use crate::model::{Document, FieldType, Schema, Value};
use crate::Result;

pub use crate::keys::INDEX_TAG;

/// Prefix of all index entries of a collection.
pub fn collection_prefix(coll: u32) -> [u8; 5] {
    keys::tagged(INDEX_TAG, coll)
}

fn field_prefix(coll: u32, field_no: u16) -> Vec<u8> {
    keys::field_prefix(INDEX_TAG, coll, field_no)
}

/// The indexed fields of a schema: `(field number, name, type)`.
pub fn indexed_fields(schema: &Schema) -> impl Iterator<Item = (u16, &str, &FieldType)> {
    schema
        .fields
        .iter()
        .enumerate()
        .filter(|(_, (_, def))| def.index)
        .map(|(i, (name, def))| (i as u16, name.as_str(), &def.ty))
}

fn encode_i64(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1 << 63)).to_be_bytes()
}

fn encode_f64(v: f64) -> [u8; 8] {
    let v = if v == 0.0 { 0.0 } else { v };
    let bits = v.to_bits();
    let ordered = if bits >> 63 == 1 { !bits } else { bits ^ (1 << 63) };
    ordered.to_be_bytes()
}

fn escape(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
}

/// Marker after the escaped prefix of a long string (a short one ends 0x00 0x00).
const LONG: [u8; 2] = [0, 1];

fn encode_str(s: &str, out: &mut Vec<u8>) {
    let b = s.as_bytes();
    if b.len() <= INDEX_PREFIX_BYTES {
        escape(b, out);
        out.extend_from_slice(&[0, 0]);
    } else {
        escape(&b[..INDEX_PREFIX_BYTES], out);
        out.extend_from_slice(&LONG);
        out.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(b).to_be_bytes());
    }
}

/// The start of the group of long strings sharing `s`'s prefix (`s` is long).
fn long_group(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    escape(&s.as_bytes()[..INDEX_PREFIX_BYTES], &mut out);
    out.extend_from_slice(&LONG);
    out
}

/// The encoded values a document holds for one indexed field.
fn encoded_values(value: Option<&Value>) -> Vec<Vec<u8>> {
    match value {
        Some(Value::Int(i)) => vec![encode_i64(*i).to_vec()],
        Some(Value::Float(f)) => vec![encode_f64(*f).to_vec()],
        Some(Value::Bool(b)) => vec![vec![u8::from(*b)]],
        Some(Value::String(s)) => {
            let mut e = Vec::new();
            encode_str(s, &mut e);
            vec![e]
        }
        Some(Value::StringArray(items)) => items
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|s| {
                let mut e = Vec::new();
                encode_str(s, &mut e);
                e
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Every index key of `doc` in collection `coll`, sorted.
pub fn entries(coll: u32, schema: &Schema, doc: &Document) -> BTreeSet<Vec<u8>> {
    let mut out = BTreeSet::new();
    for (no, name, _) in indexed_fields(schema) {
        let prefix = field_prefix(coll, no);
        for v in encoded_values(doc.get(name)) {
            let mut k = prefix.clone();
            k.extend_from_slice(&v);
            k.extend_from_slice(doc.id.as_bytes());
            out.insert(k);
        }
    }
    out
}

/// The document id at the end of an index key whose value part has been
/// skipped: returns `None` if the key is malformed.
fn id_of<'k>(key: &'k [u8], ty: &FieldType) -> Option<&'k [u8]> {
    let rest = key.get(7..)?;
    let value_len = match ty {
        FieldType::Int | FieldType::Float => 8,
        FieldType::Bool => 1,
        FieldType::String | FieldType::StringArray => {
            let mut i = 0;
            loop {
                match (rest.get(i)?, rest.get(i + 1)) {
                    (0, Some(0)) => break i + 2,
                    (0, Some(1)) => break i + 2 + 8,
                    (0, Some(0xFF)) => i += 2,
                    (0, _) => return None,
                    _ => i += 1,
                }
            }
        }
        _ => return None,
    };
    rest.get(value_len..)
}

/// Key ranges of one field's index whose union holds every document that
/// can match a predicate (a superset: the caller still applies the filter).
#[derive(Debug, Clone)]
pub struct IndexPlan {
    /// The field's type (to parse ids out of keys).
    pub ty: FieldType,
    /// Ranges of index keys.
    pub ranges: Vec<Range<Vec<u8>>>,
}

/// A predicate `field op value` as an encoded bound, or `Nothing` when no
/// value of the field can satisfy it (an int field equal to 2.5).
enum Bound {
    Key(Vec<u8>, CmpOp),
    Nothing,
}

fn scalar_key(ty: &FieldType, s: &Scalar, op: CmpOp) -> Option<Bound> {
    Some(match (ty, s) {
        (FieldType::Int, Scalar::Int(i)) => Bound::Key(encode_i64(*i).to_vec(), op),
        (FieldType::Int, Scalar::Float(f)) => {
            // Integer bounds equivalent to a fractional one.
            let (bound, op) = match op {
                CmpOp::Eq if f.fract() != 0.0 => return Some(Bound::Nothing),
                CmpOp::Eq => (*f, CmpOp::Eq),
                CmpOp::Gt => (f.floor() + 1.0, CmpOp::Gte),
                CmpOp::Gte => (f.ceil(), CmpOp::Gte),
                CmpOp::Lt => (f.ceil() - 1.0, CmpOp::Lte),
                CmpOp::Lte => (f.floor(), CmpOp::Lte),
                CmpOp::Ne => return None,
            };
            Bound::Key(encode_i64(bound.clamp(i64::MIN as f64, i64::MAX as f64) as i64).to_vec(), op)
        }
        (FieldType::Float, Scalar::Float(f)) => Bound::Key(encode_f64(*f).to_vec(), op),
        (FieldType::Float, Scalar::Int(i)) => Bound::Key(encode_f64(*i as f64).to_vec(), op),
        (FieldType::Bool, Scalar::Bool(b)) => Bound::Key(vec![u8::from(*b)], op),
        (FieldType::String | FieldType::StringArray, Scalar::String(s)) if s.len() > INDEX_PREFIX_BYTES => {
            // A range bound on a long string takes its whole prefix group.
            match op {
                CmpOp::Eq => {
                    let mut e = Vec::new();
                    encode_str(s, &mut e);
                    Bound::Key(e, CmpOp::Eq)
                }
                CmpOp::Gt | CmpOp::Gte => Bound::Key(long_group(s), CmpOp::Gte),
                CmpOp::Lt | CmpOp::Lte => Bound::Key(long_group(s), CmpOp::Lte),
                CmpOp::Ne => return None,
            }
        }
        (FieldType::String | FieldType::StringArray, Scalar::String(s)) => {
            let mut e = Vec::new();
            encode_str(s, &mut e);
            Bound::Key(e, op)
        }
        _ => return None,
    })
}

fn range_for(prefix: &[u8], value: &[u8], op: CmpOp) -> Option<Range<Vec<u8>>> {
    let mut at = prefix.to_vec();
    at.extend_from_slice(value);
    let field_end = prefix_end(prefix)?;
    let after = prefix_end(&at)?;
    Some(match op {
        CmpOp::Eq => at..after,
        CmpOp::Gte => at..field_end,
        CmpOp::Gt => after..field_end,
        CmpOp::Lt => prefix.to_vec()..at,
        CmpOp::Lte => prefix.to_vec()..after,
        CmpOp::Ne => return None,
    })
}

/// Index plans for the predicates of `filter` that an index can answer:
/// the filter itself, or the children of a top-level `$and`.
pub fn plans(coll: u32, schema: &Schema, filter: &Filter) -> Vec<IndexPlan> {
    let preds: Vec<&Filter> = match filter {
        Filter::And(children) => children.iter().collect(),
        f => vec![f],
    };
    let field = |name: &str| indexed_fields(schema).find(|(_, n, _)| *n == name).map(|(no, _, ty)| (no, ty.clone()));
    let mut out = Vec::new();
    for p in preds {
        let plan = match p {
            Filter::Cmp { field: f, op, value } if *op != CmpOp::Ne => field(f).and_then(|(no, ty)| {
                let prefix = field_prefix(coll, no);
                let ranges = match scalar_key(&ty, value, *op)? {
                    Bound::Nothing => Vec::new(),
                    Bound::Key(key, op) => vec![range_for(&prefix, &key, op)?],
                };
                Some(IndexPlan { ty, ranges })
            }),
            Filter::In { field: f, values, negate: false } => field(f).and_then(|(no, ty)| {
                let prefix = field_prefix(coll, no);
                let mut ranges = Vec::new();
                for v in values {
                    if let Bound::Key(key, op) = scalar_key(&ty, v, CmpOp::Eq)? {
                        ranges.push(range_for(&prefix, &key, op)?);
                    }
                }
                Some(IndexPlan { ty, ranges })
            }),
            Filter::Contains { field: f, value } => field(f).and_then(|(no, ty)| {
                let prefix = field_prefix(coll, no);
                let Bound::Key(key, op) = scalar_key(&ty, &Scalar::String(value.clone()), CmpOp::Eq)? else {
                    return None;
                };
                Some(IndexPlan { ty, ranges: vec![range_for(&prefix, &key, op)?] })
            }),
            _ => None,
        };
        out.extend(plan);
    }
    out
}

/// Counts the index entries of a plan, stopping past `cap`.
pub fn count(view: &View<'_>, plan: &IndexPlan, cap: usize) -> Result<usize> {
    let mut n = 0;
    for r in &plan.ranges {
        view.scan(&r.start, Some(&r.end), &mut |_, _| {
            n += 1;
            Ok(n <= cap)
        })?;
        if n > cap {
            break;
        }
    }
    Ok(n)
}

/// The ids of the documents a plan's ranges hold, sorted and distinct.
pub fn candidate_ids(view: &View<'_>, plan: &IndexPlan) -> Result<BTreeSet<Vec<u8>>> {
    let mut ids = BTreeSet::new();
    for r in &plan.ranges {
        view.scan(&r.start, Some(&r.end), &mut |k, _| {
            match id_of(k, &plan.ty) {
                Some(id) => ids.insert(id.to_vec()),
                None => return Err(crate::Error::corrupt("malformed index key")),
            };
            Ok(true)
        })?;
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc_str(s: &str) -> Vec<u8> {
        let mut e = Vec::new();
        encode_str(s, &mut e);
        e
    }

    #[test]
    fn encodings_sort_like_values() {
        let ints = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        assert!(ints.windows(2).all(|w| encode_i64(w[0]) < encode_i64(w[1])));
        let floats = [f64::NEG_INFINITY, -1e300, -2.5, -1e-300, 0.0, 1e-300, 3.25, 1e300];
        assert!(floats.windows(2).all(|w| encode_f64(w[0]) < encode_f64(w[1])));
        assert_eq!(encode_f64(-0.0), encode_f64(0.0));
        let strs = ["", "\0", "\0a", "a", "a\0", "ab", "b"];
        let enc: Vec<Vec<u8>> = strs.iter().map(|s| enc_str(s)).collect();
        assert!(enc.windows(2).all(|w| w[0] < w[1]), "{enc:?}");
        // A value's encoding is never a prefix of another's.
        for (i, a) in enc.iter().enumerate() {
            for (j, b) in enc.iter().enumerate() {
                assert!(i == j || !b.starts_with(a), "{a:?} prefixes {b:?}");
            }
        }
    }

    /// Strings around the prefix length: byte order of the encodings is the
    /// strings' order except among long strings sharing a prefix, and no
    /// encoding is a prefix of another's.
    #[test]
    fn long_strings_keep_their_order_against_every_other_group() {
        let p = "p".repeat(INDEX_PREFIX_BYTES);
        let strs = [
            String::new(),
            "p".repeat(INDEX_PREFIX_BYTES - 1),
            "p".repeat(INDEX_PREFIX_BYTES - 1) + "\0",
            p.clone(),
            p.clone() + "\0",
            p.clone() + "a",
            p.clone() + "\u{e9}",
            "p".repeat(INDEX_PREFIX_BYTES - 1) + "q",
            "p".repeat(INDEX_PREFIX_BYTES - 1) + "q" + &"z".repeat(100),
            "q".to_string(),
        ];
        let enc: Vec<Vec<u8>> = strs.iter().map(|s| enc_str(s)).collect();
        let group = |s: &str| s.len() > INDEX_PREFIX_BYTES && s.as_bytes().starts_with(p.as_bytes());
        for i in 0..strs.len() {
            for j in i + 1..strs.len() {
                assert!(strs[i] < strs[j]);
                if !(group(&strs[i]) && group(&strs[j])) {
                    assert!(enc[i] < enc[j], "{:?} vs {:?}", strs[i], strs[j]);
                }
                assert!(!enc[j].starts_with(&enc[i]) && !enc[i].starts_with(&enc[j]));
            }
        }
        assert!(enc.iter().all(|e| e.len() <= crate::limits::MAX_INDEX_VALUE));
        let worst = enc_str(&"\0".repeat(5000));
        assert_eq!(worst.len(), crate::limits::MAX_INDEX_VALUE);
    }

    #[test]
    fn ids_parse_back_out_of_long_keys() {
        let schema = Schema::parse(r#"{"fields": {"t": {"type": "string[]", "index": true}}}"#).unwrap();
        let doc = Document::new("id\0x").with("t", Value::StringArray(vec!["y".repeat(5000), "\0".repeat(999)]));
        let keys = entries(9, &schema, &doc);
        assert_eq!(keys.len(), 2);
        for k in keys {
            assert!(k.len() <= 7 + crate::limits::MAX_INDEX_VALUE + 4);
            assert_eq!(id_of(&k, &FieldType::StringArray), Some(&b"id\0x"[..]));
        }
    }

    #[test]
    fn ids_parse_back_out_of_keys() {
        let schema = Schema::parse(r#"{"fields": {"s": {"type": "string", "index": true}}}"#).unwrap();
        let doc = Document::new("the\0id").with("s", Value::String("a\0b".into()));
        let keys = entries(9, &schema, &doc);
        assert_eq!(keys.len(), 1);
        let k = keys.into_iter().next().unwrap();
        assert_eq!(id_of(&k, &FieldType::String), Some(&b"the\0id"[..]));
    }
}
