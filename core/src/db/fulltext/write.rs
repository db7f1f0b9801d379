//! How a write batch changes the text index.
//!
//! [`TextChanges`] collects, while a batch is resolved, which documents
//! leave and join each text field's index; [`TextChanges::finish`] then
//! reads each touched term record once and writes it back once, so a batch
//! of many documents sharing terms rewrites each term's open block one time.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::postings::{decode_block, decode_block_into, encode_block, BlockMeta, Posting, BLOCK_LEN};
use super::{
    doc_terms, read_doc, read_ordinal, read_stats, read_term, text_fields, DocEntry, FieldKeys, FieldStats, TextField,
};
use crate::engine::{KvOp, View};
use crate::model::{Document, Schema, TextOptions};
use crate::{codec, Error, Result};

/// A document joining a field's index in this batch.
struct Added {
    id: String,
    len: u32,
    terms: BTreeMap<String, u32>,
}

/// A document of the view leaving a field's index.
struct Removed {
    ord: u32,
    len: u32,
    terms: Vec<String>,
}

/// One field's changes.
struct FieldChanges {
    keys: FieldKeys,
    name: String,
    removed: Vec<Removed>,
    /// Ids whose view entry is already removed by this batch.
    removed_ids: HashSet<String>,
    /// Documents added by this batch, by id.
    added: HashMap<String, Added>,
}

/// The text-index changes of one batch.
#[derive(Default)]
pub(crate) struct TextChanges {
    fields: BTreeMap<(u32, u16), FieldChanges>,
}

impl TextChanges {
    /// Records that document `old` (the version before this operation, if
    /// any) becomes `new` (`None`: deleted) in collection `coll`.
    pub fn document(
        &mut self,
        view: &View<'_>,
        coll: u32,
        schema: &Schema,
        old: Option<&Document>,
        new: Option<&Document>,
    ) -> Result<()> {
        for f in text_fields(schema) {
            let before = old.and_then(|d| d.get(&f.name));
            let after = new.and_then(|d| d.get(&f.name));
            if before == after {
                continue;
            }
            let ch = self.field(coll, &f);
            if let Some(old) = old {
                ch.remove(view, &f.opts, old)?;
            }
            if let Some(new) = new {
                if let Some((len, terms)) = doc_terms(&f.opts, new, &f.name) {
                    ch.added.insert(new.id.clone(), Added { id: new.id.clone(), len, terms });
                }
            }
        }
        Ok(())
    }

    /// Adds a document (not yet in it) to one field's index: for a field
    /// that just got its text index.
    pub fn add_to_field(&mut self, coll: u32, f: &TextField, doc: &Document) {
        if let Some((len, terms)) = doc_terms(&f.opts, doc, &f.name) {
            let ch = self.field(coll, f);
            ch.added.insert(doc.id.clone(), Added { id: doc.id.clone(), len, terms });
        }
    }

    fn field(&mut self, coll: u32, f: &TextField) -> &mut FieldChanges {
        self.fields.entry((coll, f.no)).or_insert_with(|| FieldChanges {
            keys: FieldKeys::new(coll, f.no),
            name: f.name.clone(),
            removed: Vec::new(),
            removed_ids: HashSet::new(),
            added: HashMap::new(),
        })
    }

    /// Forgets the changes to a collection dropped later in the batch.
    pub fn drop_collection(&mut self, coll: u32) {
        self.fields.retain(|(c, _), _| *c != coll);
    }

    /// Appends the key-value operations of every change.
    pub fn finish(self, view: &View<'_>, ops: &mut Vec<KvOp>) -> Result<()> {
        for ch in self.fields.into_values() {
            ch.finish(view, ops)?;
        }
        Ok(())
    }
}

impl FieldChanges {
    fn remove(&mut self, view: &View<'_>, opts: &TextOptions, old: &Document) -> Result<()> {
        if self.added.remove(&old.id).is_some() || self.removed_ids.contains(&old.id) {
            // Written earlier in this batch: that write already took the
            // view's version out.
            return Ok(());
        }
        self.removed_ids.insert(old.id.clone());
        // A document indexed before: its entry names its ordinal and length.
        // (A missing entry would be damage; verify reports it, a write
        // leaves it alone.)
        let Some(ord) = read_ordinal(view, &self.keys, &old.id)? else { return Ok(()) };
        let Some(entry) = read_doc(view, &self.keys, ord)? else { return Ok(()) };
        let terms = doc_terms(opts, old, &self.name).map(|(_, t)| t.into_keys().collect()).unwrap_or_default();
        self.removed.push(Removed { ord, len: entry.len, terms });
        Ok(())
    }

    fn finish(self, view: &View<'_>, ops: &mut Vec<KvOp>) -> Result<()> {
        let mut stats: FieldStats = read_stats(view, &self.keys)?;
        // Postings to remove and to append, by term.
        let mut gone: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for r in &self.removed {
            for t in &r.terms {
                gone.entry(t).or_default().push(r.ord);
            }
            ops.push(KvOp::Delete { key: self.keys.doc(r.ord) });
            stats.docs = stats.docs.saturating_sub(1);
            stats.total_len = stats.total_len.saturating_sub(u64::from(r.len));
        }
        for id in &self.removed_ids {
            if !self.added.contains_key(id) {
                ops.push(KvOp::Delete { key: self.keys.ordinal(id) });
            }
        }
        // New ordinals in id order, so a batch is deterministic.
        let mut added: Vec<&Added> = self.added.values().collect();
        added.sort_by(|a, b| a.id.cmp(&b.id));
        let mut new: BTreeMap<&str, Vec<Posting>> = BTreeMap::new();
        for a in added {
            let ord = stats.next_ord;
            stats.next_ord = ord.checked_add(1).filter(|n| *n < u32::MAX).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "the text index of field {:?} has used every document ordinal (4 billion writes): \
                     recreate the collection",
                    self.name
                ))
            })?;
            for (t, tf) in &a.terms {
                new.entry(t).or_default().push(Posting { ord, tf: *tf, len: a.len });
            }
            ops.push(KvOp::Put {
                key: self.keys.doc(ord),
                value: codec::encode(&DocEntry { id: a.id.clone(), len: a.len })?,
            });
            ops.push(KvOp::Put { key: self.keys.ordinal(&a.id), value: ord.to_le_bytes().to_vec() });
            stats.docs += 1;
            stats.total_len += u64::from(a.len);
        }
        let mut terms: Vec<&str> = gone.keys().chain(new.keys()).copied().collect();
        terms.sort_unstable();
        terms.dedup();
        for term in terms {
            let mut dead = gone.remove(term).unwrap_or_default();
            dead.sort_unstable();
            self.rewrite_term(view, term, &dead, new.remove(term).unwrap_or_default(), ops)?;
        }
        ops.push(KvOp::Put { key: self.keys.stats(), value: codec::encode(&stats)? });
        Ok(())
    }

    /// Rewrites one term's record and blocks: removes the postings of
    /// ordinals `dead` (sorted), appends `fresh` (sorted, above every
    /// ordinal it holds).
    fn rewrite_term(
        &self,
        view: &View<'_>,
        term: &str,
        dead: &[u32],
        fresh: Vec<Posting>,
        ops: &mut Vec<KvOp>,
    ) -> Result<()> {
        let mut rec = read_term(view, &self.keys, term)?.unwrap_or_default();
        let mut open = decode_block(&rec.open)?;
        let mut removed: u32 = 0;
        let mut i = 0;
        while i < dead.len() {
            let ord = dead[i];
            match rec.closed.iter().position(|m| m.last >= ord) {
                Some(b) => {
                    // Every dead ordinal within this block, at once.
                    let last = rec.closed[b].last;
                    let j = dead[i..].iter().position(|o| *o > last).map_or(dead.len(), |n| i + n);
                    let key = self.keys.block(term, last);
                    let bytes = view
                        .get(&key)?
                        .ok_or_else(|| Error::corrupt(format!("text index: block of {term:?} is missing")))?;
                    let mut ps = Vec::new();
                    decode_block_into(&bytes, &mut ps)?;
                    let before = ps.len();
                    ps.retain(|p| dead[i..j].binary_search(&p.ord).is_err());
                    removed += (before - ps.len()) as u32;
                    if ps.is_empty() {
                        ops.push(KvOp::Delete { key });
                        rec.closed.remove(b);
                    } else {
                        rec.closed[b] = BlockMeta::of(last, &ps);
                        ops.push(KvOp::Put { key, value: encode_block(&ps) });
                    }
                    i = j;
                }
                None => {
                    let before = open.len();
                    open.retain(|p| dead[i..].binary_search(&p.ord).is_err());
                    removed += (before - open.len()) as u32;
                    break;
                }
            }
        }
        rec.df = rec.df.saturating_sub(removed).saturating_add(fresh.len() as u32);
        open.extend(fresh);
        while open.len() >= BLOCK_LEN {
            let rest = open.split_off(BLOCK_LEN);
            let last = open[BLOCK_LEN - 1].ord;
            rec.closed.push(BlockMeta::of(last, &open));
            ops.push(KvOp::Put { key: self.keys.block(term, last), value: encode_block(&open) });
            open = rest;
        }
        rec.open = encode_block(&open);
        if rec.df == 0 && rec.closed.is_empty() {
            ops.push(KvOp::Delete { key: self.keys.term(term) });
        } else {
            ops.push(KvOp::Put { key: self.keys.term(term), value: rec.encode()? });
        }
        Ok(())
    }
}
