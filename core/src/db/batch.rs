//! Atomic write batches and how they become key-value operations.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use super::fulltext::write::TextChanges;
use super::fulltext::TextField;
use super::index;
use crate::catalog::{count_key, doc_key, doc_prefix, Catalog, CollectionInfo, CATALOG_KEY};
use crate::engine::{KvOp, View};
use crate::model::{validate, Document, FieldType, Schema, TextOptions};
use crate::{codec, limits, Error, Result};
use std::sync::Arc;

/// Longest collection name, in bytes.
pub const MAX_COLLECTION_NAME: usize = 128;

/// One operation of a [`WriteBatch`].
#[derive(Debug, Clone)]
pub enum BatchOp {
    /// Create a collection.
    CreateCollection { name: String, schema: Schema },
    /// Drop a collection and all its documents.
    DropCollection { name: String },
    /// Add a document whose id must be new.
    Insert { collection: String, doc: Document },
    /// Add or replace a document.
    Upsert { collection: String, doc: Document },
    /// Merge a JSON patch into an existing document (null removes a field).
    Update { collection: String, id: String, patch: Json },
    /// Remove a document if it exists.
    Delete { collection: String, id: String },
    /// Give a `string` or `string[]` field a full-text index and index every
    /// document already there. Commits alone (a batch holding it holds
    /// nothing else); `existed` says whether the field already had one (then
    /// nothing changes).
    AddTextIndex { collection: String, field: String, options: TextOptions },
}

/// Operations that commit together or not at all, across collections.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    pub(crate) ops: Vec<BatchOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds an operation.
    pub fn push(&mut self, op: BatchOp) -> &mut Self {
        self.ops.push(op);
        self
    }
    /// Adds an insert.
    pub fn insert(&mut self, collection: &str, doc: Document) -> &mut Self {
        self.push(BatchOp::Insert { collection: collection.into(), doc })
    }
    /// Adds an upsert.
    pub fn upsert(&mut self, collection: &str, doc: Document) -> &mut Self {
        self.push(BatchOp::Upsert { collection: collection.into(), doc })
    }
    /// Adds a partial update.
    pub fn update(&mut self, collection: &str, id: &str, patch: Json) -> &mut Self {
        self.push(BatchOp::Update { collection: collection.into(), id: id.into(), patch })
    }
    /// Adds a delete.
    pub fn delete(&mut self, collection: &str, id: &str) -> &mut Self {
        self.push(BatchOp::Delete { collection: collection.into(), id: id.into() })
    }
    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// What each operation of a committed batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// LSN of the commit.
    pub lsn: u64,
    /// Per operation: whether it changed an existing document (upsert
    /// replaced, update applied, delete removed something).
    pub existed: Vec<bool>,
}

/// Checks a collection name: 1 to 128 bytes of ASCII letters, digits, `_`, `-`, `.`.
pub fn check_collection_name(name: &str) -> Result<()> {
    let bad = |reason: &str| Err(Error::InvalidCollectionName { name: name.into(), reason: reason.into() });
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_COLLECTION_NAME {
        return bad("longer than 128 bytes");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)) {
        return bad("only ASCII letters, digits, '_', '-' and '.' are allowed");
    }
    Ok(())
}

/// Whether writes need the old version of a document: to update its
/// secondary-index entries or its text-index postings.
fn has_index(schema: &Schema) -> bool {
    schema.fields.values().any(|f| f.index || f.text.is_some())
}

/// Appends the index operations that turn `old`'s entries into `new`'s.
fn index_changes(coll: u32, schema: &Schema, old: Option<&Document>, new: Option<&Document>, ops: &mut Vec<KvOp>) {
    let before = old.map(|d| index::entries(coll, schema, d)).unwrap_or_default();
    let after = new.map(|d| index::entries(coll, schema, d)).unwrap_or_default();
    ops.extend(before.difference(&after).map(|k| KvOp::Delete { key: k.clone() }));
    ops.extend(after.difference(&before).map(|k| KvOp::Put { key: k.clone(), value: Vec::new() }));
}

/// Checks BM25 parameters given through the API (the schema parser checks
/// its own).
fn check_text_options(field: &str, o: &TextOptions) -> Result<()> {
    let ok = o.k1.is_finite()
        && (0.0..=crate::model::schema::MAX_K1).contains(&o.k1)
        && o.b.is_finite()
        && (0.0..=1.0).contains(&o.b);
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "field {field:?}: k1 must be from 0 to {} and b from 0 to 1, not {} and {}",
            crate::model::schema::MAX_K1,
            o.k1,
            o.b
        )))
    }
}

/// Reads a document count record.
pub(crate) fn decode_count(bytes: &[u8]) -> Result<u64> {
    let a: [u8; 8] = bytes.try_into().map_err(|_| Error::corrupt("document count record is not 8 bytes"))?;
    Ok(u64::from_le_bytes(a))
}

/// Turns a batch into key-value operations against `view`, checking every
/// operation first: any error means nothing is written.
/// Validates and encodes the batch's documents against `catalog` (a recent
/// snapshot's), before the writer lock is taken. `None` where that cannot be
/// done ahead (unknown collection, invalid document: `resolve` then does it
/// under the lock and reports the error).
pub(crate) fn prepare(catalog: &Catalog, batch: &WriteBatch) -> Vec<Option<Vec<u8>>> {
    batch
        .ops
        .iter()
        .map(|op| match op {
            BatchOp::Insert { collection, doc } | BatchOp::Upsert { collection, doc } => {
                let info = catalog.collections.get(collection)?;
                validate(&info.schema, doc).ok()?;
                codec::encode(doc).ok()
            }
            _ => None,
        })
        .collect()
}

/// Turns a batch into key-value operations against `view`, checking every
/// operation first: any error means nothing is written. `prepared` (from
/// [`prepare`] against `prepared_for`) is used while the catalog is still the
/// one it was made against.
pub(crate) fn resolve(
    view: &View<'_>,
    batch: &WriteBatch,
    prepared_for: &Arc<Catalog>,
    mut prepared: Vec<Option<Vec<u8>>>,
    page_size: usize,
) -> Result<(Vec<KvOp>, Vec<bool>)> {
    let max_id = limits::max_id(page_size);
    let base: &Catalog = &view.state.catalog;
    let prepared_valid = Arc::ptr_eq(prepared_for, &view.state.catalog);
    // A copy of the catalog, made only when the batch creates or drops.
    let mut changed: Option<Catalog> = None;
    // Documents written earlier in this batch: key -> index of their Put in
    // `ops` (None: deleted), so later operations see them without copies.
    let mut docs: HashMap<Vec<u8>, Option<usize>> = HashMap::new();
    let mut deltas: BTreeMap<u32, i64> = BTreeMap::new();
    let mut ops = Vec::with_capacity(batch.ops.len() + 2);
    let mut existed = Vec::with_capacity(batch.ops.len());
    let mut text = TextChanges::default();

    let load = |docs: &HashMap<Vec<u8>, Option<usize>>, ops: &[KvOp], key: &[u8]| -> Result<Option<Vec<u8>>> {
        match docs.get(key) {
            Some(Some(i)) => match &ops[*i] {
                KvOp::Put { value, .. } => Ok(Some(value.clone())),
                _ => Err(Error::corrupt("batch overlay points at a non-put")),
            },
            Some(None) => Ok(None),
            None => Ok(view.get(key)?.map(|b| b.to_vec())),
        }
    };
    let exists = |docs: &HashMap<Vec<u8>, Option<usize>>, key: &[u8]| -> Result<bool> {
        match docs.get(key) {
            Some(v) => Ok(v.is_some()),
            None => Ok(view.get(key)?.is_some()),
        }
    };
    let lookup = |changed: &Option<Catalog>, name: &str| -> Result<(u32, Schema)> {
        match changed.as_ref().unwrap_or(base).collections.get(name) {
            Some(info) => Ok((info.id, info.schema.clone())),
            None => Err(Error::CollectionNotFound(name.into())),
        }
    };

    for (i, op) in batch.ops.iter().enumerate() {
        match op {
            BatchOp::CreateCollection { name, schema } => {
                check_collection_name(name)?;
                if schema.fields.len() > limits::MAX_FIELDS {
                    return Err(Error::InvalidSchema(format!(
                        "{} fields, more than the limit of {}",
                        schema.fields.len(),
                        limits::MAX_FIELDS
                    )));
                }
                let cat = changed.get_or_insert_with(|| base.clone());
                if cat.collections.contains_key(name) {
                    return Err(Error::CollectionExists(name.clone()));
                }
                if cat.collections.len() >= limits::MAX_COLLECTIONS {
                    return Err(Error::InvalidArgument(format!(
                        "cannot create collection {name:?}: the database holds {} collections, the most it may \
                         (drop one first)",
                        cat.collections.len()
                    )));
                }
                let id = cat.next_id.max(1);
                cat.next_id =
                    id.checked_add(1).ok_or_else(|| Error::InvalidArgument("collection ids exhausted".into()))?;
                cat.collections.insert(name.clone(), CollectionInfo { id, schema: schema.clone() });
                existed.push(false);
            }
            BatchOp::DropCollection { name } => {
                let cat = changed.get_or_insert_with(|| base.clone());
                let Some(info) = cat.collections.remove(name) else {
                    return Err(Error::CollectionNotFound(name.clone()));
                };
                for prefix in crate::keys::collection_prefixes(info.id) {
                    ops.push(KvOp::Purge { prefix: prefix.to_vec() });
                }
                ops.push(KvOp::Delete { key: count_key(info.id).to_vec() });
                deltas.remove(&info.id);
                text.drop_collection(info.id);
                existed.push(true);
            }
            BatchOp::Insert { collection, doc } | BatchOp::Upsert { collection, doc } => {
                let cat = changed.as_ref().unwrap_or(base);
                let Some(info) = cat.collections.get(collection) else {
                    return Err(Error::CollectionNotFound(collection.clone()));
                };
                let ready =
                    if prepared_valid && changed.is_none() { prepared.get_mut(i).and_then(Option::take) } else { None };
                let bytes = match ready {
                    Some(bytes) => bytes,
                    None => {
                        validate(&info.schema, doc)?;
                        codec::encode(doc)?
                    }
                };
                if doc.id.len() > max_id {
                    return Err(Error::LimitExceeded {
                        what: "document id".into(),
                        size: doc.id.len(),
                        limit: max_id,
                        hint: format!(
                            " on this database's {page_size}-byte pages (ids may be longer with 4 KiB or larger pages)"
                        ),
                    });
                }
                let key = doc_key(info.id, &doc.id);
                let indexed = has_index(&info.schema);
                let old = if indexed { load(&docs, &ops, &key)? } else { None };
                let was = if indexed { old.is_some() } else { exists(&docs, &key)? };
                if was && matches!(op, BatchOp::Insert { .. }) {
                    return Err(Error::DuplicateId { collection: collection.clone(), id: doc.id.clone() });
                }
                if indexed {
                    let old: Option<Document> = old.map(|b| codec::decode(&b, "document")).transpose()?;
                    index_changes(info.id, &info.schema, old.as_ref(), Some(doc), &mut ops);
                    text.document(view, info.id, &info.schema, old.as_ref(), Some(doc))?;
                }
                docs.insert(key.clone(), Some(ops.len()));
                ops.push(KvOp::Put { key, value: bytes });
                if !was {
                    *deltas.entry(info.id).or_default() += 1;
                }
                existed.push(was);
            }
            BatchOp::AddTextIndex { collection, field, options } => {
                if batch.ops.len() != 1 {
                    return Err(Error::InvalidArgument(
                        "adding a text index commits alone: put nothing else in its batch".into(),
                    ));
                }
                let cat = changed.get_or_insert_with(|| base.clone());
                let info =
                    cat.collections.get_mut(collection).ok_or_else(|| Error::CollectionNotFound(collection.clone()))?;
                let no = info.schema.fields.keys().position(|k| k == field);
                let def = info
                    .schema
                    .fields
                    .get_mut(field)
                    .ok_or_else(|| Error::InvalidArgument(format!("unknown field {field:?}")))?;
                if !matches!(def.ty, FieldType::String | FieldType::StringArray) {
                    return Err(Error::InvalidArgument(format!(
                        "field {field:?} is {}: only string and string[] fields can have a text index",
                        def.ty.name()
                    )));
                }
                check_text_options(field, options)?;
                if def.text.is_some() {
                    existed.push(true);
                    changed = None;
                    continue;
                }
                def.text = Some(*options);
                let tf = TextField { no: no.unwrap_or(0) as u16, name: field.clone(), opts: *options };
                let (coll, prefix) = (info.id, doc_prefix(info.id));
                let end = crate::keys::prefix_end(&prefix);
                view.scan(&prefix, end.as_deref(), &mut |_, v| {
                    let doc: Document = codec::decode(v, "document")?;
                    text.add_to_field(coll, &tf, &doc);
                    Ok(true)
                })?;
                existed.push(false);
            }
            BatchOp::Update { collection, id, patch } => {
                let (coll_id, schema) = lookup(&changed, collection)?;
                let key = doc_key(coll_id, id);
                let Some(old) = load(&docs, &ops, &key)? else {
                    return Err(Error::NotFound { collection: collection.clone(), id: id.clone() });
                };
                let old: Document = codec::decode(&old, "document")?;
                let new = old.apply_patch(&schema, patch)?;
                let bytes = codec::encode(&new)?;
                index_changes(coll_id, &schema, Some(&old), Some(&new), &mut ops);
                text.document(view, coll_id, &schema, Some(&old), Some(&new))?;
                docs.insert(key.clone(), Some(ops.len()));
                ops.push(KvOp::Put { key, value: bytes });
                existed.push(true);
            }
            BatchOp::Delete { collection, id } => {
                let cat = changed.as_ref().unwrap_or(base);
                let Some(info) = cat.collections.get(collection) else {
                    return Err(Error::CollectionNotFound(collection.clone()));
                };
                let key = doc_key(info.id, id);
                let was = if has_index(&info.schema) {
                    match load(&docs, &ops, &key)? {
                        Some(b) => {
                            let old: Document = codec::decode(&b, "document")?;
                            index_changes(info.id, &info.schema, Some(&old), None, &mut ops);
                            text.document(view, info.id, &info.schema, Some(&old), None)?;
                            true
                        }
                        None => false,
                    }
                } else {
                    exists(&docs, &key)?
                };
                if was {
                    docs.insert(key.clone(), None);
                    ops.push(KvOp::Delete { key });
                    *deltas.entry(info.id).or_default() -= 1;
                }
                existed.push(was);
            }
        }
    }
    text.finish(view, &mut ops)?;
    let cat = changed.as_ref().unwrap_or(base);
    for (coll, delta) in deltas {
        if delta == 0 || !cat.collections.values().any(|c| c.id == coll) {
            continue;
        }
        let key = count_key(coll);
        let n = match view.get(&key)? {
            Some(b) => decode_count(&b)?,
            None => 0,
        };
        let n = (n as i64 + delta).max(0) as u64;
        ops.push(KvOp::Put { key: key.to_vec(), value: n.to_le_bytes().to_vec() });
    }
    if let Some(cat) = &changed {
        ops.push(KvOp::Put { key: CATALOG_KEY.to_vec(), value: cat.encode()? });
    }
    Ok((ops, existed))
}
