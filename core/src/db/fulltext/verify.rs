//! `verify` for the text index: the records of each text field hold
//! exactly what the documents say (statistics, document entries, ordinals,
//! every posting with its tf and length, block metas), and nothing else.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::postings::{decode_block, TermRecord};
use super::{DocEntry, FieldKeys, FieldStats, TextField};
use crate::engine::View;
use crate::keys::{prefix_end, text as kind};
use crate::{codec, Error, Result};

/// What the documents say about one field: id -> (length, term -> tf).
pub(crate) type Expected = BTreeMap<String, (u32, BTreeMap<String, u32>)>;

/// Called with each record's key tail (after the kind byte) and value.
type Visit<'a> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'a;

fn scan_kind(view: &View<'_>, keys: &FieldKeys, k: u8, f: &mut Visit<'_>) -> Result<()> {
    let prefix = keys.prefix(k);
    let end = prefix_end(&prefix);
    let n = prefix.len();
    view.scan(&prefix, end.as_deref(), &mut |key, v| {
        f(&key[n..], v)?;
        Ok(true)
    })
}

/// Splits `len u8 | term | rest` (a term or block key's tail).
fn term_of(tail: &[u8]) -> Result<(String, &[u8])> {
    let (&len, rest) = tail.split_first().ok_or_else(|| Error::corrupt("text key without a term"))?;
    let (t, rest) = rest.split_at_checked(len as usize).ok_or_else(|| Error::corrupt("text key is truncated"))?;
    let term = std::str::from_utf8(t).map_err(|_| Error::corrupt("text term is not UTF-8"))?;
    Ok((term.to_string(), rest))
}

/// Problems of one field's records against `expected`.
pub(crate) fn check_field(view: &View<'_>, coll: u32, field: &TextField, expected: &Expected) -> Result<Vec<String>> {
    let keys = FieldKeys::new(coll, field.no);
    let mut problems = Vec::new();
    // Document entries and ordinals.
    let mut entries: BTreeMap<u32, DocEntry> = BTreeMap::new();
    scan_kind(view, &keys, kind::DOC, &mut |tail, v| {
        let ord = u32::from_be_bytes(tail.try_into().map_err(|_| Error::corrupt("text document key"))?);
        entries.insert(ord, codec::decode(v, "text document entry")?);
        Ok(())
    })?;
    let mut ordinals: HashMap<String, u32> = HashMap::new();
    scan_kind(view, &keys, kind::ORDINAL, &mut |tail, v| {
        let id = std::str::from_utf8(tail).map_err(|_| Error::corrupt("text ordinal key is not UTF-8"))?;
        let ord = u32::from_le_bytes(v.try_into().map_err(|_| Error::corrupt("text ordinal record is not 4 bytes"))?);
        ordinals.insert(id.to_string(), ord);
        Ok(())
    })?;
    let mut by_id: HashMap<&str, u32> = HashMap::new();
    for (ord, e) in &entries {
        if by_id.insert(&e.id, *ord).is_some() {
            problems.push(format!("document {:?} has two text entries", e.id));
        }
        if ordinals.get(&e.id) != Some(ord) {
            problems.push(format!("document {:?}: its ordinal record does not name entry {ord}", e.id));
        }
        match expected.get(&e.id) {
            None => problems.push(format!("text entry for {:?}, which does not hold the field", e.id)),
            Some((len, _)) if *len != e.len => {
                problems.push(format!("document {:?}: text length {} recorded, {len} in the document", e.id, e.len))
            }
            Some(_) => {}
        }
    }
    if ordinals.len() != entries.len() {
        problems.push(format!("{} ordinal records for {} text entries", ordinals.len(), entries.len()));
    }
    for id in expected.keys() {
        if !by_id.contains_key(id.as_str()) {
            problems.push(format!("document {id:?} holds the field but is not in its text index"));
        }
    }
    // Statistics.
    let stats: FieldStats = match view.get(&keys.stats())? {
        Some(b) => codec::decode(&b, "text statistics")?,
        None => FieldStats::default(),
    };
    let total: u64 = expected.values().map(|(l, _)| u64::from(*l)).sum();
    if stats.docs != expected.len() as u64 || stats.total_len != total {
        problems.push(format!(
            "statistics say {} documents of {} tokens, the documents {} of {total}",
            stats.docs,
            stats.total_len,
            expected.len()
        ));
    }
    if entries.keys().next_back().is_some_and(|&m| m >= stats.next_ord) {
        problems.push(format!("an ordinal at or above the next one ({})", stats.next_ord));
    }
    // Postings.
    let mut blocks: BTreeMap<(String, u32), Vec<u8>> = BTreeMap::new();
    scan_kind(view, &keys, kind::BLOCK, &mut |tail, v| {
        let (term, rest) = term_of(tail)?;
        let last = u32::from_be_bytes(rest.try_into().map_err(|_| Error::corrupt("text block key"))?);
        blocks.insert((term, last), v.to_vec());
        Ok(())
    })?;
    let mut postings: usize = 0;
    let mut terms: BTreeSet<String> = BTreeSet::new();
    scan_kind(view, &keys, kind::TERM, &mut |tail, v| {
        let (term, rest) = term_of(tail)?;
        if !rest.is_empty() {
            return Err(Error::corrupt("text term key has trailing bytes"));
        }
        let rec = TermRecord::decode(v)?;
        let mut all = Vec::new();
        let mut prev_last: Option<u32> = None;
        for m in &rec.closed {
            let Some(bytes) = blocks.remove(&(term.clone(), m.last)) else {
                problems.push(format!("term {term:?}: block {} is missing", m.last));
                continue;
            };
            let ps = decode_block(&bytes)?;
            // A meta must bound its block: its count, and a peak over every
            // posting. (A record of the first layout has one peak at the
            // block's corner, looser than the frontier but as sound.)
            if ps.is_empty() || ps.len() != m.count as usize || ps.iter().any(|p| !m.dominates(p.tf, p.len)) {
                problems.push(format!("term {term:?}: block {} disagrees with its meta", m.last));
            }
            if ps.iter().any(|p| p.ord > m.last || prev_last.is_some_and(|l| p.ord <= l)) {
                problems.push(format!("term {term:?}: block {} holds ordinals outside its range", m.last));
            }
            prev_last = Some(m.last);
            all.extend(ps);
        }
        let open = decode_block(&rec.open)?;
        if open.first().is_some_and(|p| prev_last.is_some_and(|l| p.ord <= l)) {
            problems.push(format!("term {term:?}: the open block overlaps a closed one"));
        }
        all.extend(open);
        if all.len() != rec.df as usize {
            problems.push(format!("term {term:?}: document frequency {} for {} postings", rec.df, all.len()));
        }
        for p in all {
            let doc = entries.get(&p.ord).and_then(|e| expected.get(&e.id).map(|x| (e, x)));
            match doc {
                Some((e, (len, tfs))) if tfs.get(&term) == Some(&p.tf) && *len == p.len => {
                    let _ = e;
                    postings += 1;
                }
                Some((e, _)) => problems.push(format!("term {term:?}: wrong posting for document {:?}", e.id)),
                None => problems.push(format!("term {term:?}: a posting for ordinal {} of no document", p.ord)),
            }
        }
        terms.insert(term);
        Ok(())
    })?;
    if !blocks.is_empty() {
        problems.push(format!("{} posting blocks no term record lists", blocks.len()));
    }
    let want: usize = expected.values().map(|(_, t)| t.len()).sum();
    if postings != want {
        problems.push(format!("{postings} correct postings, the documents have {want}"));
    }
    let missing_terms = expected.values().flat_map(|(_, t)| t.keys()).filter(|t| !terms.contains(*t)).count();
    if missing_terms > 0 {
        problems.push(format!("{missing_terms} postings of terms without a term record"));
    }
    Ok(problems)
}
