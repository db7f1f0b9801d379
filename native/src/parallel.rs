//! The native platform's parallel map for core's thread-free algorithms
//! (`axon_core::vector::hnsw::Hnsw::insert_batch` finds links through it).

use axon_core::vector::hnsw::LinkPlan;

/// A map that runs `f(0..n)` on up to `threads` scoped threads and returns
/// the results in order. `threads` of 0 means one per available core.
pub fn threaded_map(threads: usize) -> impl Fn(usize, &(dyn Fn(usize) -> LinkPlan + Sync)) -> Vec<LinkPlan> {
    let threads = if threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { threads };
    move |n, f| {
        let mut out: Vec<Option<LinkPlan>> = (0..n).map(|_| None).collect();
        std::thread::scope(|s| {
            let per = n.div_ceil(threads).max(1);
            for (t, slots) in out.chunks_mut(per).enumerate() {
                s.spawn(move || {
                    for (j, slot) in slots.iter_mut().enumerate() {
                        *slot = Some(f(t * per + j));
                    }
                });
            }
        });
        // Every slot was filled by its thread; a thread's panic already
        // propagated out of the scope above.
        out.into_iter().flatten().collect()
    }
}
