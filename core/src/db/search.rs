//! Exact vector search over a snapshot: the brute-force side of the hybrid
//! planner (see `hybrid.rs`), used when a filter leaves few candidates.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use serde_json::Value as Json;

use super::read::DbSnapshot;
use crate::model::{Document, Metric, Schema, Value};
use crate::vector::distance::{distance, normalize};
use crate::{Error, Result};

/// Largest `k` a search accepts.
pub const MAX_K: usize = 10_000;

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The document.
    pub doc: Document,
    /// Its distance to the query under the field's metric (smaller is
    /// closer): `1 - cosine similarity`, squared Euclidean distance, or the
    /// negated inner product.
    pub distance: f32,
}

/// Checks a query against a schema: the vector field it names (or the only
/// one), `k` within `1..=MAX_K`, the vector's dimension and finiteness.
/// Returns the field's `(name, dimension, metric)`.
pub fn check_query(schema: &Schema, field: Option<&str>, vector: &[f32], k: usize) -> Result<(String, usize, Metric)> {
    let (name, dim, metric) = schema.vector_field(field)?;
    if k == 0 || k > MAX_K {
        return Err(Error::InvalidArgument(format!("k must be between 1 and {MAX_K}, not {k}")));
    }
    if vector.len() != dim {
        return Err(Error::InvalidArgument(format!(
            "query vector has {} numbers, field {name:?} has dimension {dim}",
            vector.len()
        )));
    }
    if let Some(i) = vector.iter().position(|x| !x.is_finite()) {
        return Err(Error::InvalidArgument(format!("query vector: value at index {i} is not a finite number")));
    }
    Ok((name, dim, metric))
}

struct Ranked(f32, Document);

impl PartialEq for Ranked {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ranked {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0).then_with(|| self.1.id.cmp(&o.1.id))
    }
}

impl DbSnapshot {
    /// The `k` documents nearest to `vector` in vector field `field` (the
    /// collection's only vector field when `None`) among those matching
    /// `filter`, nearest first. Exact: every candidate is scored. Returns
    /// `min(k, matching documents that have the field)` hits.
    pub fn search_exact(
        &self,
        collection: &str,
        field: Option<&str>,
        vector: &[f32],
        k: usize,
        filter: Option<&Json>,
    ) -> Result<Vec<SearchHit>> {
        let info = self.info(collection)?;
        let (name, dim, metric) = check_query(&info.schema, field, vector, k)?;
        let mut q = vector.to_vec();
        if metric == Metric::Cosine {
            normalize(&mut q);
        }
        let mut best: BinaryHeap<Ranked> = BinaryHeap::with_capacity(k + 1);
        let mut unit = Vec::with_capacity(dim);
        self.scan_each(collection, filter, None, &mut |doc| {
            let Some(Value::Vector(v)) = doc.get(&name) else {
                return Ok(true);
            };
            let d = if metric == Metric::Cosine {
                unit.clear();
                unit.extend_from_slice(v);
                normalize(&mut unit);
                distance(metric, &q, &unit)
            } else {
                distance(metric, &q, v)
            };
            if best.len() < k || best.peek().is_some_and(|w| d < w.0) {
                best.push(Ranked(d, doc));
                if best.len() > k {
                    best.pop();
                }
            }
            Ok(true)
        })?;
        Ok(best.into_sorted_vec().into_iter().map(|Ranked(distance, doc)| SearchHit { doc, distance }).collect())
    }
}
