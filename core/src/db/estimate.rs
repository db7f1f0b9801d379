//! The one estimate every planner uses of how many documents a filter
//! matches: the scan planner (`read.rs`), the vector planner (`hybrid.rs`)
//! and the text planner (`retrieve.rs`).
//!
//! A filter predicate a secondary index can answer (the filter itself, or
//! a child of a top-level `$and`) has an index plan whose entries are a
//! superset of the matches. The estimate is the smallest such count, counted
//! only up to a cap, so it costs at most `cap` index entries per plan: a
//! count at or below the cap is exact for that plan; past it, the filter is
//! known to match "more than the cap" by that route.

use super::index::{self, IndexPlan};
use crate::catalog::CollectionInfo;
use crate::engine::View;
use crate::filter::Filter;
use crate::Result;

/// What the secondary indexes say about a filter.
pub(crate) enum Estimate {
    /// No predicate can use an index.
    NoIndex,
    /// Every usable plan holds more than the cap.
    Over,
    /// The smallest plan: its entry count (at most the cap) and the plan.
    At(usize, IndexPlan),
}

/// The smallest index plan for `filter` holding at most `cap` entries.
pub(crate) fn estimate(view: &View<'_>, info: &CollectionInfo, filter: &Filter, cap: usize) -> Result<Estimate> {
    let plans = index::plans(info.id, &info.schema, filter);
    if plans.is_empty() {
        return Ok(Estimate::NoIndex);
    }
    let mut best: Option<(usize, IndexPlan)> = None;
    for p in plans {
        let n = index::count(view, &p, best.as_ref().map_or(cap, |b| b.0))?;
        if n <= cap && best.as_ref().is_none_or(|b| n < b.0) {
            best = Some((n, p));
        }
    }
    Ok(match best {
        Some((n, p)) => Estimate::At(n, p),
        None => Estimate::Over,
    })
}
