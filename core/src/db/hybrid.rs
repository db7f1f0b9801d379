//! The query planner for `search(vector, k, filter, ef)`.
//!
//! * No filter: an HNSW search of the field's graph with `ef` (at least `k`).
//! * A filter: estimate how many documents match (a sample of 64 graph
//!   nodes; near the limit below, a capped count of a secondary index a
//!   predicate can use). If
//!   that is at most `max(256, sqrt(2 · ef · live))`, where scoring every
//!   match costs about as much as the traversal would, score the matches
//!   exactly (brute force through the index or a scan).
//! * If at least 1/16 match, search without the filter with `ef`
//!   raised to `ef · live / matches` (so about `ef` candidates match) and
//!   keep the candidates that match (post-filtering), when that yields `k`.
//! * Otherwise (or if post-filtering came up short) run a filtered
//!   traversal: it walks through nodes the filter rejects without returning
//!   them, and goes on until it holds `ef` matching nodes or has seen every
//!   reachable one.
//! * Every hit is checked against the search's snapshot (the document is
//!   there and holds the node's vector), so a search never returns a
//!   version it cannot see. If the graph yields fewer than `k` hits, the
//!   search falls back to the exact plan, so it returns `min(k, matches)`
//!   hits whenever the data has them.

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::Value as Json;

use super::estimate::Estimate;
use super::search::{check_query, SearchHit};
use super::vectors::{vector_fields, FieldIndex};
use super::{index, Db, DbSnapshot};
use crate::catalog::{doc_key, CollectionInfo};
use crate::engine::View;
use crate::filter::Filter;
use crate::model::{Document, Value};
use crate::{codec, Error, Result};

/// `ef` of a search that names none.
pub const DEFAULT_EF: usize = 64;
/// Largest `ef` a search accepts.
pub const MAX_EF: usize = 100_000;
/// Post-filtering runs while it needs at most this many times `ef`
/// unfiltered candidates: scoring a candidate costs less than testing a
/// node against the filter (a document read), which the filtered traversal
/// does for every node it queues.
const POST_FILTER_MAX: usize = 16;
/// Graph nodes a selectivity estimate samples.
const SAMPLE: usize = 64;

/// How to run a search, beyond the query itself.
#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    /// The vector field (the collection's only one when `None`).
    pub field: Option<String>,
    /// A filter on the documents (the same language as scans).
    pub filter: Option<Json>,
    /// Candidate list size of the graph search (default [`DEFAULT_EF`],
    /// raised to `k`): larger is slower and finds more of the true nearest.
    pub ef: Option<usize>,
    /// Score every matching document instead of using the graph.
    pub exact: bool,
}

/// How a search ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchPlan {
    /// Every matching document was scored.
    Exact {
        /// Why: `"requested"`, `"few matches"` or `"fallback"` (the graph gave
        /// fewer than `k` hits).
        reason: &'static str,
    },
    /// HNSW search.
    Graph {
        /// The `ef` used.
        ef: usize,
    },
    /// HNSW search without the filter, over-fetching (`ef` raised so that
    /// about the asked-for `ef` candidates match), then filtered: when most
    /// documents match.
    PostFilter {
        /// The `ef` used.
        ef: usize,
        /// Estimated matching documents.
        estimate: usize,
    },
    /// HNSW search walking through the nodes the filter rejects.
    FilteredGraph {
        /// The `ef` used.
        ef: usize,
        /// Estimated matching documents.
        estimate: usize,
    },
}

/// A document of the snapshot, by id.
fn fetch(view: &View<'_>, coll: u32, id: &str) -> Result<Option<Document>> {
    match view.get(&doc_key(coll, id))? {
        Some(b) => Ok(Some(codec::decode(&b, "document")?)),
        None => Ok(None),
    }
}

/// Whether `doc` is the version `node` stands for.
fn current(index: &FieldIndex, node: u32, doc: &Document, field: &str) -> bool {
    matches!(doc.get(field), Some(Value::Vector(v)) if index.holds(node, v))
}

/// Estimated documents matching `filter`: an index count if one is at most
/// `limit`, else a sample of the graph's live nodes.
fn estimate(
    snap: &DbSnapshot,
    info: &CollectionInfo,
    filter: &Filter,
    g: &FieldIndex,
    limit: usize,
    field: &str,
    in_sync: bool,
) -> Result<usize> {
    let view = snap.snapshot().view();
    let total = g.graph.len();
    let live = g.live();
    if live == 0 {
        return Ok(0);
    }
    let (mut seen, mut hits) = (0usize, 0usize);
    let step = (total / SAMPLE).max(1);
    let mut node = 0;
    while node < total && seen < SAMPLE {
        if !g.graph.is_deleted(node as u32) {
            if let Some(doc) = fetch(&view, info.id, g.id(node as u32))? {
                if in_sync || current(g, node as u32, &doc, field) {
                    seen += 1;
                    hits += filter.matches(&doc) as usize;
                }
            }
        }
        node += step;
    }
    // Half a hit when none: a rare filter is still estimated above zero.
    let sampled = ((hits as f64).max(0.5) / seen.max(1) as f64 * live as f64) as usize;
    // Near the limit, an index count (capped, so it stays cheap) decides.
    if sampled <= 4 * limit {
        match super::estimate::estimate(&view, info, filter, limit)? {
            Estimate::At(n, _) => return Ok(n),
            Estimate::Over => return Ok(sampled.max(limit + 1)),
            Estimate::NoIndex => {}
        }
    }
    Ok(sampled)
}

/// Exact search over the candidates of a secondary index (one whose count
/// is at most `limit`), scored with the graph's vectors, when the graph is
/// in step with the snapshot: documents are read only in distance order,
/// until `k` of them pass the whole filter. `None` when no index plan is
/// small enough.
#[allow(clippy::too_many_arguments)]
fn scored_candidates(
    snap: &DbSnapshot,
    info: &CollectionInfo,
    filter: &Filter,
    g: &FieldIndex,
    vector: &[f32],
    k: usize,
    limit: usize,
    want_docs: bool,
) -> Result<Option<Vec<Found>>> {
    let view = snap.snapshot().view();
    let Estimate::At(_, plan) = super::estimate::estimate(&view, info, filter, limit)? else { return Ok(None) };
    let plan = &plan;
    let q = g.graph.prepare(vector);
    let mut scored: Vec<(f32, u32)> = Vec::new();
    for id in index::candidate_ids(&view, plan)? {
        let id = std::str::from_utf8(&id).map_err(|_| Error::corrupt("document id is not UTF-8"))?;
        if let Some(node) = g.node(id) {
            scored.push((g.graph.distance_to(&q, node), node));
        }
    }
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| g.id(a.1).cmp(g.id(b.1))));
    let mut out = Vec::with_capacity(k);
    for (distance, node) in scored {
        if out.len() == k {
            break;
        }
        let Some(doc) = fetch(&view, info.id, g.id(node))? else { continue };
        if filter.matches(&doc) {
            out.push(Found { id: doc.id.clone(), distance, doc: want_docs.then_some(doc) });
        }
    }
    Ok(Some(out))
}

/// Results found with their documents, as hits.
fn hits_of(found: Vec<Found>) -> Vec<SearchHit> {
    found.into_iter().filter_map(|f| f.doc.map(|doc| SearchHit { doc, distance: f.distance })).collect()
}

/// One result before it becomes a [`SearchHit`] or an id.
struct Found {
    id: String,
    distance: f32,
    doc: Option<Document>,
}

impl Db {
    /// The `k` documents nearest to `vector` among those matching the
    /// filter, nearest first, with their distances (see [`SearchHit`]).
    /// Approximate unless `exact` is set or the planner chooses to score
    /// every match; returns `min(k, matching documents with the field)`.
    pub fn search_vector(
        &self,
        collection: &str,
        vector: &[f32],
        k: usize,
        opts: &SearchOptions,
    ) -> Result<Vec<SearchHit>> {
        Ok(self.search_explain(collection, vector, k, opts)?.0)
    }

    /// [`Db::search_vector`], also telling how it ran.
    pub fn search_explain(
        &self,
        collection: &str,
        vector: &[f32],
        k: usize,
        opts: &SearchOptions,
    ) -> Result<(Vec<SearchHit>, SearchPlan)> {
        let (found, plan) = self.run_search(&self.snapshot(), collection, vector, k, opts, true)?;
        Ok((hits_of(found), plan))
    }

    /// [`Db::search_vector`] returning only `(id, distance)`: when the graph is up
    /// to date with the snapshot and no filter is given, no document is read.
    pub fn search_ids(
        &self,
        collection: &str,
        vector: &[f32],
        k: usize,
        opts: &SearchOptions,
    ) -> Result<Vec<(String, f32)>> {
        let (found, _) = self.run_search(&self.snapshot(), collection, vector, k, opts, false)?;
        Ok(found.into_iter().map(|f| (f.id, f.distance)).collect())
    }

    /// The vector search of [`Db::search_vector`] on snapshot `snap` (the
    /// graph may be newer: hits are checked against the snapshot).
    pub(crate) fn vector_leg(
        &self,
        snap: &DbSnapshot,
        collection: &str,
        vector: &[f32],
        k: usize,
        opts: &SearchOptions,
    ) -> Result<Vec<SearchHit>> {
        let (found, _) = self.run_search(snap, collection, vector, k, opts, true)?;
        Ok(hits_of(found))
    }

    fn run_search(
        &self,
        snap: &DbSnapshot,
        collection: &str,
        vector: &[f32],
        k: usize,
        opts: &SearchOptions,
        want_docs: bool,
    ) -> Result<(Vec<Found>, SearchPlan)> {
        let snap = snap.clone();
        let info = snap.info(collection)?;
        let (name, _, _) = check_query(&info.schema, opts.field.as_deref(), vector, k)?;
        let filter = match &opts.filter {
            Some(f) => Some(Filter::parse(&info.schema, f)?).filter(|f| !matches!(f, Filter::All)),
            None => None,
        };
        if let Some(ef) = opts.ef {
            if ef == 0 || ef > MAX_EF {
                return Err(Error::InvalidArgument(format!("ef must be between 1 and {MAX_EF}, not {ef}")));
            }
        }
        let exact = |reason| {
            let hits = snap.search_exact(collection, Some(&name), vector, k, opts.filter.as_ref())?;
            let found =
                hits.into_iter().map(|h| Found { id: h.doc.id.clone(), distance: h.distance, doc: Some(h.doc) });
            Ok((found.collect(), SearchPlan::Exact { reason }))
        };
        if opts.exact {
            return exact("requested");
        }
        let field = vector_fields(&info.schema)
            .into_iter()
            .find(|f| f.name == name)
            .ok_or_else(|| Error::corrupt(format!("vector field {name:?} missing from its schema")))?;
        let shared = self.vectors.index(&self.engine, &info, &field)?;
        // Holds the graph's read lock to the end of the search; commits never
        // wait for it (see graphs.rs).
        let g = self.vectors.fresh(&self.engine, &shared)?;
        self.engine.fail("vectors.search")?;
        // No commit changed the graph after the snapshot: its nodes are
        // exactly the snapshot's documents, so hits need no re-check.
        let in_sync = g.changed_lsn <= snap.lsn();
        let ef = opts.ef.unwrap_or(DEFAULT_EF).max(k);
        let view = snap.snapshot().view();
        // Turns graph results into hits: each one's document as of the
        // snapshot, if it is still the node's version (and matches `post`).
        let collect = |found: Vec<(u32, f32)>,
                       accepted: &mut HashMap<u32, Document>,
                       post: Option<&Filter>|
         -> Result<Vec<Found>> {
            let mut hits = Vec::with_capacity(k);
            for (node, distance) in found {
                if hits.len() == k {
                    break;
                }
                if in_sync && post.is_none() && !want_docs {
                    hits.push(Found { id: g.id(node).to_string(), distance, doc: None });
                    continue;
                }
                let doc = match accepted.remove(&node) {
                    Some(doc) => doc,
                    None => match fetch(&view, info.id, g.id(node))? {
                        Some(doc)
                            if (in_sync || current(&g, node, &doc, &name)) && post.is_none_or(|f| f.matches(&doc)) =>
                        {
                            doc
                        }
                        _ => continue,
                    },
                };
                hits.push(Found { id: doc.id.clone(), distance, doc: Some(doc) });
            }
            Ok(hits)
        };
        let (hits, plan) = match &filter {
            None => {
                (collect(g.graph.search(vector, ef, ef, None)?, &mut HashMap::new(), None)?, SearchPlan::Graph { ef })
            }
            Some(f) => {
                let live = g.live();
                let limit = ((2.0 * ef as f64 * live as f64).sqrt() as usize).max(256);
                let estimate = estimate(&snap, &info, f, &g, limit, &name, in_sync)?;
                if estimate <= limit {
                    if in_sync {
                        if let Some(found) = scored_candidates(&snap, &info, f, &g, vector, k, limit, want_docs)? {
                            return Ok((found, SearchPlan::Exact { reason: "few matches" }));
                        }
                    }
                    drop(g);
                    return exact("few matches");
                }
                // Most documents match: fetch as many unfiltered candidates
                // as hold `ef` matches on average and filter them.
                let wide = (ef as f64 * live as f64 / estimate.max(1) as f64).ceil() as usize;
                let post = if wide <= POST_FILTER_MAX * ef && wide <= MAX_EF {
                    let hits = collect(g.graph.search(vector, wide, wide, None)?, &mut HashMap::new(), Some(f))?;
                    (hits.len() == k).then_some((hits, SearchPlan::PostFilter { ef: wide, estimate }))
                } else {
                    None
                };
                match post {
                    Some(done) => done,
                    None => {
                        let accepted: RefCell<HashMap<u32, Document>> = RefCell::new(HashMap::new());
                        let failure: RefCell<Option<Error>> = RefCell::new(None);
                        let accept = |node: u32| match fetch(&view, info.id, g.id(node)) {
                            Ok(Some(doc)) if (in_sync || current(&g, node, &doc, &name)) && f.matches(&doc) => {
                                accepted.borrow_mut().insert(node, doc);
                                true
                            }
                            Ok(_) => false,
                            Err(e) => {
                                failure.borrow_mut().get_or_insert(e);
                                false
                            }
                        };
                        let found = g.graph.search(vector, ef, ef, Some(&accept))?;
                        if let Some(e) = failure.into_inner() {
                            return Err(e);
                        }
                        let hits = collect(found, &mut accepted.into_inner(), None)?;
                        (hits, SearchPlan::FilteredGraph { ef, estimate })
                    }
                }
            }
        };
        let live = g.live();
        drop(g);
        if hits.len() < if filter.is_some() { k } else { k.min(live) } {
            let (exact_hits, _) = exact("fallback")?;
            if exact_hits.len() > hits.len() {
                return Ok((exact_hits, SearchPlan::Exact { reason: "fallback" }));
            }
        }
        Ok((hits, plan))
    }
}
