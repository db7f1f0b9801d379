//! HNSW recall against brute force: each metric, after deletes and
//! upserts, and with filters of every selectivity.

use std::collections::HashSet;

use axon_core::model::Metric;
use axon_core::storage::crash::Rng;
use axon_core::vector::distance::{distance, normalize};
use axon_core::vector::hnsw::{Hnsw, HnswParams};

const DIM: usize = 24;

fn gauss(rng: &mut Rng) -> f32 {
    let u1 = (rng.below(1 << 30) as f64 + 1.0) / (1u64 << 30) as f64;
    let u2 = rng.below(1 << 30) as f64 / (1u64 << 30) as f64;
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// Clustered data (like real embeddings, unlike uniform noise): points
/// around 20 fixed cluster centres, drawn with `seed`.
fn dataset(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut crng = Rng::new(1000);
    let centers: Vec<Vec<f32>> = (0..20).map(|_| (0..DIM).map(|_| gauss(&mut crng) * 3.0).collect()).collect();
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let c = &centers[rng.below(centers.len() as u64) as usize];
            c.iter().map(|x| x + gauss(&mut rng)).collect()
        })
        .collect()
}

fn prepared(metric: Metric, v: &[f32]) -> Vec<f32> {
    let mut v = v.to_vec();
    if metric == Metric::Cosine {
        normalize(&mut v);
    }
    v
}

/// Exact top-k node numbers among `live` nodes accepted by `accept`.
fn brute(
    metric: Metric,
    data: &[Vec<f32>],
    live: &[bool],
    q: &[f32],
    k: usize,
    accept: &dyn Fn(u32) -> bool,
) -> Vec<u32> {
    let q = prepared(metric, q);
    let mut all: Vec<(f32, u32)> = (0..data.len() as u32)
        .filter(|&i| live[i as usize] && accept(i))
        .map(|i| (distance(metric, &q, &prepared(metric, &data[i as usize])), i))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter().take(k).map(|x| x.1).collect()
}

fn recall(found: &[(u32, f32)], truth: &[u32]) -> f64 {
    if truth.is_empty() {
        return 1.0;
    }
    let t: HashSet<u32> = truth.iter().copied().collect();
    found.iter().filter(|(n, _)| t.contains(n)).count() as f64 / truth.len() as f64
}

fn mean_recall(h: &Hnsw, metric: Metric, data: &[Vec<f32>], live: &[bool], queries: &[Vec<f32>], ef: usize) -> f64 {
    let all = |_: u32| true;
    let total: f64 = queries
        .iter()
        .map(|q| {
            let found = h.search(q, 10, ef, None).unwrap();
            assert!(found.windows(2).all(|w| w[0].1 <= w[1].1), "results must be sorted");
            assert!(found.iter().all(|(n, _)| live[*n as usize]), "a deleted node was returned");
            recall(&found, &brute(metric, data, live, q, 10, &all))
        })
        .sum();
    total / queries.len() as f64
}

#[test]
fn recall_for_each_metric_after_inserts_deletes_and_upserts() {
    for metric in [Metric::Cosine, Metric::L2, Metric::Dot] {
        let mut data = dataset(4000, 1);
        let queries = dataset(100, 2);
        let mut h = Hnsw::new(HnswParams::new(DIM, metric));
        for v in &data {
            h.insert(v).unwrap();
        }
        let mut live = vec![true; data.len()];
        let r = mean_recall(&h, metric, &data, &live, &queries, 100);
        assert!(r >= 0.95, "{metric:?}: recall@10 {r} after inserts");

        // Delete 30% of the points.
        let mut rng = Rng::new(3);
        for (i, l) in live.iter_mut().enumerate() {
            if rng.below(10) < 3 {
                assert!(h.delete(i as u32));
                *l = false;
            }
        }
        let gone = live.iter().position(|l| !l).unwrap() as u32;
        assert!(!h.delete(gone), "deleting a deleted node must be refused");
        assert!(!h.delete(u32::MAX), "deleting a missing node must be refused");
        assert_eq!(h.live(), live.iter().filter(|l| **l).count());
        let r = mean_recall(&h, metric, &data, &live, &queries, 100);
        assert!(r >= 0.95, "{metric:?}: recall@10 {r} after deleting 30%");

        // Upsert 500 points: delete the old node, insert the new vector.
        let fresh = dataset(500, 4);
        for (j, v) in fresh.into_iter().enumerate() {
            let old = j * 7 % 4000;
            if live[old] {
                h.delete(old as u32);
                live[old] = false;
            }
            let node = h.insert(&v).unwrap();
            assert_eq!(node as usize, data.len());
            data.push(v);
            live.push(true);
        }
        let r = mean_recall(&h, metric, &data, &live, &queries, 100);
        assert!(r >= 0.95, "{metric:?}: recall@10 {r} after upserts");
    }
}

#[test]
fn filtered_search_returns_min_k_matches_with_high_recall_at_every_selectivity() {
    let metric = Metric::L2;
    let data = dataset(5000, 7);
    let queries = dataset(50, 8);
    let mut h = Hnsw::new(HnswParams::new(DIM, metric));
    for v in &data {
        h.insert(v).unwrap();
    }
    let live = vec![true; data.len()];
    // Selectivity s: node i matches when a hash of i falls under s.
    for per_mille in [1u64, 10, 100, 500, 1000] {
        let accept = move |i: u32| (i as u64).wrapping_mul(2654435761) % 1000 < per_mille;
        let matches = (0..data.len() as u32).filter(|&i| accept(i)).count();
        let mut total = 0.0;
        for q in &queries {
            let found = h.search(q, 10, 64, Some(&accept)).unwrap();
            assert_eq!(found.len(), matches.min(10), "selectivity {per_mille}/1000: wrong count");
            assert!(found.iter().all(|(n, _)| accept(*n)), "a non-matching node was returned");
            total += recall(&found, &brute(metric, &data, &live, q, 10, &accept));
        }
        let r = total / queries.len() as f64;
        assert!(r >= 0.95, "selectivity {per_mille}/1000: recall@10 {r}");
    }
}

#[test]
fn edge_cases() {
    let mut h = Hnsw::new(HnswParams::new(3, Metric::Cosine));
    assert!(h.search(&[1.0, 0.0, 0.0], 5, 10, None).unwrap().is_empty());
    let a = h.insert(&[1.0, 0.0, 0.0]).unwrap();
    let b = h.insert(&[0.0, 1.0, 0.0]).unwrap();
    h.insert(&[0.0, 0.0, 0.0]).unwrap(); // a zero vector is stored, far from everything
    assert!(h.search(&[1.0, 0.1, 0.0], 0, 10, None).unwrap().is_empty());
    let r = h.search(&[1.0, 0.1, 0.0], 10, 10, None).unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r[0].0, a);
    h.delete(a);
    assert_eq!(h.search(&[1.0, 0.1, 0.0], 1, 10, None).unwrap()[0].0, b);
    h.delete(b);
    h.delete(2);
    assert!(h.search(&[1.0, 0.0, 0.0], 3, 10, None).unwrap().is_empty());
    // Inserting after everything was deleted still links the new node.
    let c = h.insert(&[1.0, 1.0, 0.0]).unwrap();
    let d = h.insert(&[1.0, 0.9, 0.0]).unwrap();
    let r = h.search(&[1.0, 1.0, 0.0], 5, 10, None).unwrap();
    assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), vec![c, d]);
    // Bad input is an error and changes nothing.
    let n = h.len();
    assert!(h.insert(&[1.0, 0.0]).is_err(), "wrong dimension");
    assert!(h.insert(&[1.0, f32::NAN, 0.0]).is_err(), "NaN");
    assert!(h.insert(&[f32::INFINITY, 0.0, 0.0]).is_err(), "infinity");
    assert_eq!(h.len(), n);
    assert!(h.search(&[1.0, 0.0, 0.0, 0.0], 1, 10, None).is_err(), "wrong query dimension");
    assert!(h.search(&[f32::NAN, 0.0, 0.0], 1, 10, None).is_err(), "NaN query");
}

#[test]
fn batch_inserts_reach_the_same_recall() {
    for metric in [Metric::L2, Metric::Cosine, Metric::Dot] {
        let data = dataset(4000, 1);
        let queries = dataset(100, 2);
        let refs: Vec<&[f32]> = data.iter().map(|v| v.as_slice()).collect();
        let live = vec![true; data.len()];
        // Links found in turn here; native/tests/hnsw_parallel.rs finds them on threads.
        let mut h = Hnsw::new(HnswParams::new(DIM, metric));
        assert_eq!(h.insert_batch(&refs, None).unwrap(), 0..4000);
        let r = mean_recall(&h, metric, &data, &live, &queries, 100);
        assert!(r >= 0.95, "{metric:?}: recall@10 {r}");
    }
    // A bad vector anywhere in the batch: nothing is inserted.
    let mut h = Hnsw::new(HnswParams::new(3, Metric::L2));
    let bad: Vec<&[f32]> = vec![&[1.0, 2.0, 3.0], &[1.0, f32::NAN, 0.0]];
    assert!(h.insert_batch(&bad, None).is_err());
    assert_eq!(h.len(), 0);
}

#[test]
fn repair_reconnects_around_deleted_nodes() {
    for metric in [Metric::L2, Metric::Cosine] {
        let data = dataset(4000, 11);
        let queries = dataset(100, 12);
        let mut h = Hnsw::new(HnswParams::new(DIM, metric));
        for v in &data {
            h.insert(v).unwrap();
        }
        // Delete half, including (likely) the entry point's neighbourhood.
        let mut live = vec![true; data.len()];
        for (i, l) in live.iter_mut().enumerate() {
            if i % 2 == 0 {
                h.delete(i as u32);
                *l = false;
            }
        }
        let rewritten = h.repair();
        assert!(rewritten > 1000, "{metric:?}: only {rewritten} lists rewritten");
        for n in (0..data.len() as u32).filter(|n| live[*n as usize]) {
            assert!(
                h.neighbours(n, 0).iter().all(|m| live[*m as usize]),
                "{metric:?}: live node {n} still links to a deleted node"
            );
        }
        let r = mean_recall(&h, metric, &data, &live, &queries, 100);
        assert!(r >= 0.95, "{metric:?}: recall@10 {r} after deleting half and repairing");
        // The repaired graph keeps accepting inserts.
        let mut data = data;
        for v in dataset(200, 13) {
            h.insert(&v).unwrap();
            data.push(v);
            live.push(true);
        }
        let r = mean_recall(&h, metric, &data, &live, &queries, 100);
        assert!(r >= 0.95, "{metric:?}: recall@10 {r} after inserting into the repaired graph");
    }
    // Everything deleted: repair leaves no entry point, and the graph starts over.
    let mut h = Hnsw::new(HnswParams::new(2, Metric::L2));
    h.insert(&[0.0, 1.0]).unwrap();
    h.delete(0);
    h.repair();
    assert!(h.search(&[0.0, 1.0], 1, 10, None).unwrap().is_empty());
    let n = h.insert(&[1.0, 0.0]).unwrap();
    assert_eq!(h.search(&[1.0, 0.0], 1, 10, None).unwrap()[0].0, n);
}
