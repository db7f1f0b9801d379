//! `Hnsw::insert_batch` with the native threaded map: same nodes and recall
//! as finding links in turn.

use axon::parallel::threaded_map;
use axon_core::model::Metric;
use axon_core::storage::crash::Rng;
use axon_core::vector::distance::distance;
use axon_core::vector::hnsw::{Hnsw, HnswParams};

fn data(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed);
    let centers: Vec<Vec<f32>> = (0..10).map(|_| (0..16).map(|_| rng.below(100) as f32 / 10.0).collect()).collect();
    (0..n)
        .map(|_| {
            let c = &centers[rng.below(10) as usize];
            c.iter().map(|x| x + rng.below(100) as f32 / 50.0).collect()
        })
        .collect()
}

#[test]
fn threaded_batch_insert_matches_brute_force() {
    let base = data(3000, 1);
    let queries = data(50, 2);
    let refs: Vec<&[f32]> = base.iter().map(|v| v.as_slice()).collect();
    let mut h = Hnsw::new(HnswParams::new(16, Metric::L2));
    let map = threaded_map(2);
    assert_eq!(h.insert_batch(&refs, Some(&map)).unwrap(), 0..3000);
    let mut hits = 0;
    for q in &queries {
        let mut exact: Vec<(f32, u32)> =
            base.iter().enumerate().map(|(i, v)| (distance(Metric::L2, q, v), i as u32)).collect();
        exact.sort_by(|a, b| a.0.total_cmp(&b.0));
        let truth: Vec<u32> = exact.iter().take(10).map(|e| e.1).collect();
        let found = h.search(q, 10, 100, None).unwrap();
        hits += found.iter().filter(|(n, _)| truth.contains(n)).count();
    }
    let recall = hits as f64 / (10 * queries.len()) as f64;
    assert!(recall >= 0.95, "recall@10 {recall}");
    // One result per index, also for no work and for n not a multiple of the threads.
    let order = threaded_map(3);
    assert_eq!(order(0, &|_| h.plan(0)).len(), 0);
    assert_eq!(order(7, &|_| h.plan(0)).len(), 7);
}
