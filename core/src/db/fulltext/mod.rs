//! The full-text index: BM25 over the `string` and `string[]` fields a
//! schema marks `"text": true`.
//!
//! It lives in the key space beside the documents (tag 0x05, see
//! `keys.rs`) and is written by the same commit as the documents it
//! indexes, so the WAL, recovery, snapshots and checkpoints cover it like
//! any other record. Per text field:
//!
//! * **statistics** ([`FieldStats`]): documents holding the field, their
//!   total length in tokens, and the next document ordinal;
//! * a **term record** per term, with its document frequency and postings
//!   (`postings.rs`);
//! * a **document entry** per ordinal: the document id and length;
//! * a document's **ordinal** by id. Every write of a document that changes
//!   the field gives it a new ordinal, so postings only ever append.
//!
//! A document is in a field's index exactly when it holds the field; its
//! length is its number of tokens (`analyzer.rs`: words, CJK bigrams and
//! whole identifiers). For a `string[]` field the elements are analyzed one
//! by one, as one text whose positions jump by [`ELEMENT_GAP`] between
//! elements (so no phrase spans two).

pub(crate) mod leg;
pub(crate) mod postings;
pub(crate) mod query;
pub(crate) mod score;
pub(crate) mod verify;
pub(crate) mod write;

use std::collections::BTreeMap;

use crate::engine::View;
use crate::keys::{self, text as kind, TEXT_TAG};
use crate::model::{Document, Schema, TextOptions, Value};
use crate::text::analyzer::{analyze, Token, MAX_TERM_BYTES};
use crate::{codec, Error, Result};

/// Positions between the elements of a `string[]` field.
pub const ELEMENT_GAP: u32 = 1000;

/// A text field of a schema.
#[derive(Debug, Clone)]
pub(crate) struct TextField {
    /// Position in the schema.
    pub no: u16,
    /// Name.
    pub name: String,
    /// Analyzer and BM25 parameters.
    pub opts: TextOptions,
}

/// The text fields of a schema, in schema order.
pub(crate) fn text_fields(schema: &Schema) -> Vec<TextField> {
    schema
        .fields
        .iter()
        .enumerate()
        .filter_map(|(i, (name, def))| def.text.map(|opts| TextField { no: i as u16, name: name.clone(), opts }))
        .collect()
}

/// The text field a query uses: `name` if given (it must have a text
/// index), else the schema's only one.
pub(crate) fn text_field(schema: &Schema, name: Option<&str>) -> Result<TextField> {
    let fields = text_fields(schema);
    let bad = |m: String| Err(Error::InvalidArgument(m));
    match name {
        Some(n) => match fields.into_iter().find(|f| f.name == n) {
            Some(f) => Ok(f),
            None if schema.field(n).is_some() => {
                bad(format!("field {n:?} has no text index (declare it with \"text\": true)"))
            }
            None => bad(format!("unknown field {n:?}")),
        },
        None => match fields.len() {
            0 => bad("the collection has no text field (declare a string field with \"text\": true)".into()),
            1 => Ok(fields.into_iter().next().expect("one field")),
            _ => bad(format!(
                "the collection has several text fields ({}): name one",
                fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
            )),
        },
    }
}

/// A field's statistics record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct FieldStats {
    /// Documents holding the field.
    pub docs: u64,
    /// Their total length, in tokens.
    pub total_len: u64,
    /// The ordinal the next indexed document gets.
    pub next_ord: u32,
}

/// A document entry: the id and length of the document with an ordinal.
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct DocEntry {
    /// Document id.
    pub id: String,
    /// Length in tokens.
    pub len: u32,
}

/// Keys of one text field's records.
#[derive(Debug, Clone)]
pub(crate) struct FieldKeys {
    coll: u32,
    no: u16,
}

impl FieldKeys {
    pub fn new(coll: u32, no: u16) -> Self {
        FieldKeys { coll, no }
    }
    fn kind(&self, k: u8) -> Vec<u8> {
        keys::field_kind(TEXT_TAG, self.coll, self.no, k)
    }
    pub fn stats(&self) -> Vec<u8> {
        self.kind(kind::STATS)
    }
    /// Prefix of one record kind.
    pub fn prefix(&self, k: u8) -> Vec<u8> {
        self.kind(k)
    }
    pub fn term(&self, term: &str) -> Vec<u8> {
        let mut k = self.kind(kind::TERM);
        k.push(term.len() as u8);
        k.extend_from_slice(term.as_bytes());
        k
    }
    pub fn block(&self, term: &str, last: u32) -> Vec<u8> {
        let mut k = self.kind(kind::BLOCK);
        k.push(term.len() as u8);
        k.extend_from_slice(term.as_bytes());
        k.extend_from_slice(&last.to_be_bytes());
        k
    }
    pub fn doc(&self, ord: u32) -> Vec<u8> {
        let mut k = self.kind(kind::DOC);
        k.extend_from_slice(&ord.to_be_bytes());
        k
    }
    pub fn ordinal(&self, id: &str) -> Vec<u8> {
        let mut k = self.kind(kind::ORDINAL);
        k.extend_from_slice(id.as_bytes());
        k
    }
}

/// Reads a field's statistics (zero when it has none yet).
pub(crate) fn read_stats(view: &View<'_>, keys: &FieldKeys) -> Result<FieldStats> {
    match view.get(&keys.stats())? {
        Some(b) => codec::decode(&b, "text statistics"),
        None => Ok(FieldStats::default()),
    }
}

/// Reads a term record, checked.
pub(crate) fn read_term(view: &View<'_>, keys: &FieldKeys, term: &str) -> Result<Option<postings::TermRecord>> {
    match view.get(&keys.term(term))? {
        Some(b) => Ok(Some(postings::TermRecord::decode(&b)?)),
        None => Ok(None),
    }
}

/// Reads a document entry.
pub(crate) fn read_doc(view: &View<'_>, keys: &FieldKeys, ord: u32) -> Result<Option<DocEntry>> {
    match view.get(&keys.doc(ord))? {
        Some(b) => Ok(Some(codec::decode(&b, "text document entry")?)),
        None => Ok(None),
    }
}

/// Reads a document's ordinal.
pub(crate) fn read_ordinal(view: &View<'_>, keys: &FieldKeys, id: &str) -> Result<Option<u32>> {
    match view.get(&keys.ordinal(id))? {
        Some(b) => {
            let a: [u8; 4] = b[..].try_into().map_err(|_| Error::corrupt("text ordinal record is not 4 bytes"))?;
            Ok(Some(u32::from_le_bytes(a)))
        }
        None => Ok(None),
    }
}

/// The texts of a field's value: one for a string, one per element of a
/// string[]; `None` when the document does not hold the field as text.
pub(crate) fn texts_of<'d>(doc: &'d Document, field: &str) -> Option<Vec<&'d str>> {
    match doc.get(field) {
        Some(Value::String(s)) => Some(vec![s.as_str()]),
        Some(Value::StringArray(items)) => Some(items.iter().map(String::as_str).collect()),
        _ => None,
    }
}

/// Tokens of each text of a field's value (see [`texts_of`]), with the
/// positions of element `i` raised by `i * ELEMENT_GAP`.
pub(crate) fn field_tokens(opts: &TextOptions, texts: &[&str]) -> Vec<Vec<Token>> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut toks = analyze(opts.analyzer, t);
            let shift = (i as u32).saturating_mul(ELEMENT_GAP);
            for tok in &mut toks {
                tok.position = tok.position.saturating_add(shift);
            }
            toks
        })
        .collect()
}

/// A document's terms in one field: its length in tokens and each term's
/// frequency. `None` when the document does not hold the field.
pub(crate) fn doc_terms(opts: &TextOptions, doc: &Document, field: &str) -> Option<(u32, BTreeMap<String, u32>)> {
    let texts = texts_of(doc, field)?;
    let mut tf: BTreeMap<String, u32> = BTreeMap::new();
    let mut len: u32 = 0;
    for toks in field_tokens(opts, &texts) {
        for t in toks {
            debug_assert!(t.term.len() <= MAX_TERM_BYTES);
            len = len.saturating_add(1);
            *tf.entry(t.term).or_default() += 1;
        }
    }
    Some((len, tf))
}
