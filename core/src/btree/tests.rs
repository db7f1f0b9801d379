//! Randomised tests of the tree against a `BTreeMap` model.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::freelist::Allocator;
use crate::storage::crash::Rng;
use crate::storage::{MemPageStore, PageId, PageStore};

fn collect(pages: &dyn PageStore, root: PageId) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut c = Cursor::seek(pages, root, b"").unwrap();
    let mut out = BTreeMap::new();
    while let Some(e) = c.next_entry().unwrap() {
        let v = read_value(pages, &e.val).unwrap();
        assert!(out.insert(e.key, v).is_none(), "a key appears twice");
    }
    out
}

/// Every page the tree uses, overflow chains included.
fn used_pages(pages: &dyn PageStore, id: PageId, out: &mut Vec<PageId>) {
    if id == 0 {
        return;
    }
    out.push(id);
    let mut buf = vec![0u8; pages.page_size()];
    match node::read(pages, id, &mut buf).unwrap() {
        Node::Branch(ch) => ch.iter().for_each(|(_, c)| used_pages(pages, *c, out)),
        Node::Leaf(es) => {
            for e in es {
                if let ValRef::Overflow { len, first } = e.val {
                    out.extend(read::overflow_pages(pages, len, first).unwrap());
                }
            }
        }
    }
}

#[test]
fn random_batches_match_a_model() {
    for seed in 0..6u64 {
        let store = MemPageStore::new(1024);
        let mut rng = Rng::new(seed);
        let mut alloc = Allocator::new([], 2);
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut root = 0;
        for round in 0..40 {
            let mut batch: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
            let n = 1 + rng.below(if round % 7 == 0 { 400 } else { 40 });
            for _ in 0..n {
                let k = format!("k{:05}", rng.below(3000)).into_bytes();
                if rng.below(4) == 0 {
                    batch.insert(k, None);
                } else {
                    let len = match rng.below(10) {
                        0 => 1000 + rng.below(5000) as usize, // overflow
                        1 => 0,
                        _ => rng.below(200) as usize,
                    };
                    batch.insert(k, Some((0..len).map(|i| (i as u64 ^ round) as u8).collect()));
                }
            }
            let changes: Vec<(&[u8], Change)> =
                batch.iter().map(|(k, v)| (k.as_slice(), v.as_deref().map_or(Change::Delete, Change::Put))).collect();
            let mut w = TreeWriter::new(&store, &mut alloc);
            let new_root = w.apply(root, &changes).unwrap();
            let freed = w.into_freed();
            for (k, v) in batch {
                match v {
                    Some(v) => model.insert(k, v),
                    None => model.remove(&k),
                };
            }
            // The new tree holds exactly the model; freed pages are not in it.
            assert_eq!(collect(&store, new_root), model, "seed {seed} round {round}");
            let mut used = Vec::new();
            used_pages(&store, new_root, &mut used);
            let used: BTreeSet<PageId> = used.into_iter().collect();
            assert!(freed.iter().all(|p| !used.contains(p)), "a freed page is still in use");
            assert!(used.iter().all(|p| !alloc.free_pages().contains(p)), "a used page is free");
            for (k, v) in model.iter().take(50) {
                let got = get(&store, new_root, k).unwrap().unwrap();
                assert_eq!(&read_value(&store, &got).unwrap(), v);
            }
            assert!(get(&store, new_root, b"zzz").unwrap().is_none());
            // Seek lands on the first key at or after the bound.
            let mut c = Cursor::seek(&store, new_root, b"k01500").unwrap();
            let first = c.next_entry().unwrap().map(|e| e.key);
            assert_eq!(first, model.range(b"k01500".to_vec()..).next().map(|(k, _)| k.clone()));
            alloc.release(freed);
            root = new_root;
        }
        // Delete everything: the tree becomes empty.
        let keys: Vec<Vec<u8>> = model.keys().cloned().collect();
        let changes: Vec<(&[u8], Change)> = keys.iter().map(|k| (k.as_slice(), Change::Delete)).collect();
        let mut w = TreeWriter::new(&store, &mut alloc);
        assert_eq!(w.apply(root, &changes).unwrap(), 0);
    }
}

#[test]
fn sequential_bulk_load_fills_pages() {
    let store = MemPageStore::new(4096);
    let mut alloc = Allocator::new([], 2);
    let mut root = 0;
    let val = vec![7u8; 100];
    for chunk in 0..20u32 {
        let keys: Vec<Vec<u8>> = (0..1000u32).map(|i| (chunk * 1000 + i).to_be_bytes().to_vec()).collect();
        let changes: Vec<(&[u8], Change)> = keys.iter().map(|k| (k.as_slice(), Change::Put(&val))).collect();
        let mut w = TreeWriter::new(&store, &mut alloc);
        root = w.apply(root, &changes).unwrap();
        let freed = w.into_freed();
        alloc.release(freed);
    }
    let mut used = Vec::new();
    used_pages(&store, root, &mut used);
    // 20k entries of 111 bytes fit about 36 per page: expect under 700 pages.
    assert!(used.len() < 700, "bulk load used {} pages", used.len());
    assert_eq!(collect(&store, root).len(), 20_000);
}

/// Keys as long as the page size allows, in numbers that need several
/// levels, with empty, small and overflowing values: every apply ends and
/// the tree holds exactly the model (with ids near 500 bytes on 1 KiB pages,
/// this used to loop forever; an empty value with a long key panicked).
#[test]
fn longest_keys_build_deep_trees_on_every_page_size() {
    for ps in [1024usize, 2048, 4096, 65536] {
        let store = MemPageStore::new(ps);
        let mut alloc = Allocator::new([], 2);
        let mut rng = Rng::new(ps as u64);
        let limit = max_key(ps);
        let mut model = BTreeMap::new();
        let mut root = 0;
        for round in 0..4u64 {
            let mut batch: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            for i in 0..150u64 {
                let len = limit - rng.below(3) as usize;
                let mut k = vec![b'k'; len];
                k[..16].copy_from_slice(format!("{:08}{:08}", round, i * 7919 % 1000).as_bytes());
                let v = match rng.below(3) {
                    0 => Vec::new(),
                    1 => vec![round as u8; 10],
                    _ => vec![i as u8; ps + 100],
                };
                batch.insert(k, v);
            }
            let changes: Vec<(&[u8], Change<'_>)> =
                batch.iter().map(|(k, v)| (k.as_slice(), Change::Put(v.as_slice()))).collect();
            let mut tw = TreeWriter::new(&store, &mut alloc);
            root = tw.apply(root, &changes).unwrap();
            model.extend(batch);
        }
        assert_eq!(collect(&store, root), model, "page size {ps}");
    }
}

#[test]
fn a_key_past_the_limit_is_an_error_and_writes_nothing() {
    for ps in [1024usize, 4096] {
        let store = MemPageStore::new(ps);
        let mut alloc = Allocator::new([], 2);
        let long = vec![1u8; max_key(ps) + 1];
        let ok = vec![2u8; 4];
        let changes = [(ok.as_slice(), Change::Put(b"v")), (long.as_slice(), Change::Put(b""))];
        let mut tw = TreeWriter::new(&store, &mut alloc);
        match tw.apply(0, &changes) {
            Err(crate::Error::LimitExceeded { size, limit, .. }) => {
                assert_eq!((size, limit), (max_key(ps) + 1, max_key(ps)));
            }
            other => panic!("expected LimitExceeded, got {other:?}"),
        }
        assert_eq!(store.page_count().unwrap(), 0, "nothing was written");
        let unsorted = [(ok.as_slice(), Change::Delete), (long[..10].as_ref(), Change::Delete)];
        assert!(matches!(TreeWriter::new(&store, &mut alloc).apply(0, &unsorted), Err(crate::Error::Internal(_))));
    }
}

/// Lookups through a [`PageCache`] (a small one, so it empties and refills,
/// and one that keeps nothing) find exactly what plain lookups find, and a
/// page damaged before it is cached is still reported as damage.
#[test]
fn cached_lookups_match_plain_ones_and_still_check_pages() {
    let store = MemPageStore::new(1024);
    let mut alloc = Allocator::new([], 2);
    let keys: Vec<Vec<u8>> = (0..3000u32).map(|i| format!("key{:06}", i * 7).into_bytes()).collect();
    let vals: Vec<Vec<u8>> = (0..3000usize).map(|i| vec![(i % 251) as u8; i % 90]).collect();
    let changes: Vec<(&[u8], Change)> = keys.iter().zip(&vals).map(|(k, v)| (k.as_slice(), Change::Put(v))).collect();
    let root = TreeWriter::new(&store, &mut alloc).apply(0, &changes).unwrap();
    for cap in [0, 3, 1000] {
        let mut cache = PageCache::new(cap);
        for i in (0..21_000u32).step_by(5) {
            let k = format!("key{i:06}").into_bytes();
            let want = get(&store, root, &k).unwrap().map(|v| read_value(&store, &v).unwrap());
            let got = get_cached(&store, root, &k, &mut cache).unwrap().map(|v| read_value(&store, &v).unwrap());
            assert_eq!(got, want, "cap {cap}, key {i}");
            assert_eq!(want.is_some(), i % 7 == 0 && i / 7 < 3000);
        }
    }
    // Damage the root's checksummed bytes: a fresh cache reports it.
    let mut page = vec![0u8; store.page_size()];
    store.read_page(root, &mut page).unwrap();
    page[20] ^= 0xff;
    store.write_page(root, &page).unwrap();
    let err = get_cached(&store, root, b"key000007", &mut PageCache::new(16)).unwrap_err();
    assert!(matches!(err, crate::Error::Corrupt(_)), "{err:?}");
}
