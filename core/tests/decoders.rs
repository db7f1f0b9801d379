//! Every on-disk decoder, and the schema and filter parsers, fed random and
//! mutated bytes: each returns `Ok` or a typed error, never panics, and
//! never asks for an allocation out of proportion to its input (a counting
//! allocator watches the largest single request).
//!
//! The fuzz loops use `arbtest`: each runs for `ARBTEST_BUDGET_MS`
//! (default below) and prints its executions; a failure prints the seed,
//! and `ARBTEST_SEED=0x... cargo test -p axon-core --test decoders NAME`
//! replays it. `scripts/fuzz.sh` runs them for longer.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use arbtest::arbitrary::{self, Unstructured};
use axon_core::btree::node::{self, LeafEntry, Node, ValRef};
use axon_core::btree::read::{overflow_pages, read_value};
use axon_core::catalog::Catalog;
use axon_core::engine::{EngineOptions, KvOp};
use axon_core::page::{self, PageKind};
use axon_core::storage::crash::SimDisk;
use axon_core::storage::{MemLogFile, MemPageStore, PageId, PageStore, StorageError, StorageResult};
use axon_core::superblock::{peek_page_size, Superblock, SIZE};
use axon_core::vector::hnsw::{GraphMeta, Hnsw, HnswParams};
use axon_core::{codec, freelist, wal, Db, Document, Error, Filter, Schema, Value};
use serde_json::{json, Value as Json};

// ---------------------------------------------------------------------------
// A global allocator that records, per thread, the largest request made
// while a decoder runs.

struct Tracking;

thread_local! {
    static TRACK: Cell<bool> = const { Cell::new(false) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = TRACK.try_with(|on| {
        if on.get() {
            let _ = PEAK.try_with(|p| p.set(p.get().max(size)));
        }
    });
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Tracking = Tracking;

/// Runs `f` and returns its result and the largest allocation it requested.
fn peak_alloc<R>(f: impl FnOnce() -> R) -> (R, usize) {
    PEAK.with(|p| p.set(0));
    TRACK.with(|t| t.set(true));
    let r = f();
    TRACK.with(|t| t.set(false));
    (r, PEAK.with(|p| p.get()))
}

/// What a decoder of `input` bytes may allocate at once: a fixed allowance
/// plus a constant factor of its input.
fn allowance(input: usize) -> usize {
    (1 << 20) + input * 64
}

/// Runs a decoder under the allocation check.
fn bounded<R>(what: &str, input: usize, f: impl FnOnce() -> R) -> R {
    let (r, peak) = peak_alloc(f);
    assert!(peak <= allowance(input), "{what}: an input of {input} bytes made an allocation of {peak} bytes");
    r
}

// ---------------------------------------------------------------------------
// Fuzz loop plumbing.

/// Runs `prop` for the budget (`ARBTEST_BUDGET_MS`, else `default_ms`) and
/// prints how many inputs it tried.
fn fuzz(name: &str, default_ms: u64, mut prop: impl FnMut(&mut Unstructured<'_>) -> arbitrary::Result<()>) {
    let runs = AtomicU64::new(0);
    let budget = std::env::var("ARBTEST_BUDGET_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(default_ms);
    arbtest::arbtest(|u| {
        runs.fetch_add(1, Ordering::Relaxed);
        prop(u)
    })
    .size_max(1 << 17)
    .budget_ms(budget)
    .run();
    eprintln!("fuzz {name}: {} executions", runs.load(Ordering::Relaxed));
}

/// Mutates `bytes` in place: bit flips, byte sets, boundary values written
/// over small integers, cuts and extensions (cuts and extensions only when
/// `resize`).
fn mutate(u: &mut Unstructured<'_>, bytes: &mut Vec<u8>, resize: bool) -> arbitrary::Result<()> {
    let n = u.int_in_range(1..=8u8)?;
    for _ in 0..n {
        if bytes.is_empty() {
            if resize {
                bytes.extend({
                    let n = u.int_in_range(0..=64usize)?;
                    u.bytes(n)
                }?);
            }
            continue;
        }
        let at = u.choose_index(bytes.len())?;
        match u.int_in_range(0..=6u8)? {
            0 => bytes[at] ^= 1 << u.int_in_range(0..=7u8)?,
            1 => bytes[at] = u.arbitrary()?,
            2 | 3 => {
                let w = [0u64, 1, 2, 0x7F, 0xFF, 0x100, 0x3FF, 0x400, 0xFFFF, 0x1_0000, u32::MAX as u64, u64::MAX];
                let v = w[u.choose_index(w.len())?].wrapping_add(u.int_in_range(0..=2u64)?);
                let width = [1usize, 2, 4, 8][u.choose_index(4)?];
                let le = v.to_le_bytes();
                let w = width.min(bytes.len() - at);
                bytes[at..at + w].copy_from_slice(&le[..w]);
            }
            4 if resize => bytes.truncate(at),
            5 if resize => {
                let extra = u.int_in_range(0..=300usize)?;
                for _ in 0..extra {
                    bytes.push(u.arbitrary()?);
                }
            }
            _ => {
                let len = u.int_in_range(0..=16usize)?.min(bytes.len() - at);
                let from = u.choose_index(bytes.len())?;
                let chunk: Vec<u8> = bytes[from..].iter().take(len).copied().collect();
                bytes[at..at + chunk.len()].copy_from_slice(&chunk);
            }
        }
    }
    Ok(())
}

/// A small checkpointed database with every kind of record: catalog,
/// documents (some in overflow chains), index entries, vector graphs, a
/// free list. Returns its disk and the WAL holding more commits after it.
fn sample_disk(page_size: usize) -> SimDisk {
    let disk = SimDisk::new(page_size);
    let db = Db::open(disk.storage(), EngineOptions { checkpoint_bytes: u64::MAX, ..Default::default() }).unwrap();
    db.create_collection("c", fuzz_schema()).unwrap();
    for round in 0..3 {
        for i in 0..40u32 {
            let mut d = Document::new(format!("doc{i:03}"))
                .with("n", Value::Int(i64::from(i) * 7 - 100))
                .with("s", Value::String(format!("s{}", i % 5)))
                .with("tags", Value::StringArray(vec![format!("t{}", i % 3), "all".into()]))
                .with("v", Value::Vector(vec![i as f32, 1.0, (i % 7) as f32, 0.5]));
            if i % 9 == round {
                d = d.with("blob", Value::Bytes(vec![i as u8; 3000 + i as usize * 50]));
            }
            db.upsert("c", d).unwrap();
        }
        for i in (round..40).step_by(5) {
            db.delete("c", &format!("doc{i:03}")).unwrap();
        }
        db.checkpoint().unwrap();
    }
    for i in 0..6u32 {
        db.upsert("c", Document::new(format!("wal{i}")).with("n", Value::Int(i.into()))).unwrap();
    }
    disk
}

fn fuzz_schema() -> Schema {
    Schema::from_json(&json!({
        "fields": {
            "n": {"type": "int", "index": true},
            "s": {"type": "string", "index": true},
            "tags": {"type": "string[]", "index": true},
            "v": {"type": "vector", "dim": 4, "metric": "l2"},
            "blob": {"type": "bytes"}
        }
    }))
    .unwrap()
}

fn kind_of(b: u8) -> Option<PageKind> {
    Some(match b {
        1 => PageKind::Leaf,
        2 => PageKind::Branch,
        3 => PageKind::Overflow,
        4 => PageKind::FreeList,
        _ => return None,
    })
}

/// A page store over fixed bytes, counting reads (to show that a length is
/// rejected before anything is read or allocated).
struct Bytes {
    ps: usize,
    bytes: Vec<u8>,
    claimed_pages: u64,
    reads: AtomicU64,
}

impl Bytes {
    fn new(ps: usize, bytes: Vec<u8>) -> Self {
        let claimed_pages = (bytes.len() / ps) as u64;
        Bytes { ps, bytes, claimed_pages, reads: AtomicU64::new(0) }
    }
}

impl PageStore for Bytes {
    fn page_size(&self) -> usize {
        self.ps
    }
    fn page_count(&self) -> StorageResult<u64> {
        Ok(self.claimed_pages)
    }
    fn read_page(&self, id: PageId, buf: &mut [u8]) -> StorageResult<()> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let start = usize::try_from(id).ok().and_then(|i| i.checked_mul(self.ps));
        match start.and_then(|s| self.bytes.get(s..s + self.ps)) {
            Some(p) => {
                buf.copy_from_slice(p);
                Ok(())
            }
            None => {
                buf.fill(0);
                Ok(())
            }
        }
    }
    fn write_page(&self, _: PageId, _: &[u8]) -> StorageResult<()> {
        Err(StorageError::Io { op: "write_page", message: "read-only".into() })
    }
    fn grow(&self, _: u64) -> StorageResult<()> {
        Err(StorageError::Io { op: "grow", message: "read-only".into() })
    }
    fn sync(&self) -> StorageResult<()> {
        Ok(())
    }
}

fn corrupt<T: std::fmt::Debug>(r: axon_core::Result<T>, what: &str) {
    match r {
        Err(Error::Corrupt(_)) => {}
        other => panic!("{what}: expected a Corrupt error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Bugs found by reading the decoders: each test failed before its fix.

fn superblock_page(page_size: u32, generation: u64) -> Vec<u8> {
    let sb = Superblock {
        page_size,
        generation,
        checkpoint_lsn: 3,
        root: 0,
        freelist_head: 0,
        freelist_len: 0,
        page_count: 2,
    };
    let mut page = vec![0u8; 4096];
    sb.encode(&mut page);
    page
}

#[test]
fn superblock_page_size_must_be_a_power_of_two_from_1k_to_64k() {
    for bad in [0u32, 1, 512, 1000, 3000, 4095, 131072, 1 << 31, u32::MAX] {
        let page = superblock_page(bad, 2);
        corrupt(Superblock::decode(&page, 0), &format!("page size {bad}"));
        assert_eq!(peek_page_size(&page), None, "page size {bad} must not be peeked");
    }
    for good in [1024u32, 2048, 4096, 65536] {
        let page = superblock_page(good, 2);
        assert_eq!(Superblock::decode(&page, 0).unwrap().unwrap().page_size, good);
        assert_eq!(peek_page_size(&page), Some(good as usize));
    }
}

#[test]
fn superblock_generation_must_match_its_slot() {
    corrupt(Superblock::decode(&superblock_page(4096, 3), 0), "generation 3 in slot 0");
    corrupt(Superblock::decode(&superblock_page(4096, 4), 1), "generation 4 in slot 1");
    assert!(Superblock::decode(&superblock_page(4096, 3), 1).unwrap().is_some());
    // A database whose slot 1 claims an even (newer) generation opens from slot 0.
    let disk = SimDisk::new(1024);
    let db = Db::open(disk.storage(), Default::default()).unwrap();
    db.create_collection("c", fuzz_schema()).unwrap();
    db.upsert("c", Document::new("a").with("n", Value::Int(1))).unwrap();
    db.checkpoint().unwrap(); // generation 1, slot 1
    drop(db);
    let mut bad = superblock_page(1024, 10);
    bad.truncate(1024);
    disk.corrupt_page_bytes(1024, &bad);
    // Slot 1 is now rejected and slot 0 (generation 0) is older than the
    // WAL's base: the open must fail cleanly, not trust generation 10.
    match Db::open(disk.storage(), Default::default()) {
        Err(Error::Corrupt(_)) => {}
        Ok(db) => panic!("opened with a misplaced superblock: {:?}", db.count("c")),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[test]
fn superblock_checkpoint_lsn_and_generation_are_bounded() {
    let mut page = superblock_page(4096, 2);
    page[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
    let crc = crc32fast::hash(&page[..64]);
    page[64..68].copy_from_slice(&crc.to_le_bytes());
    corrupt(Superblock::decode(&page, 0), "checkpoint LSN u64::MAX");
    corrupt(Superblock::decode(&superblock_page(4096, u64::MAX - 1), 0), "generation near u64::MAX");
    corrupt(Superblock::decode(&page[..40], 0), "a short slot");
}

#[test]
fn overflow_length_past_the_format_limit_is_rejected_before_reading() {
    // A store that claims to be huge: only the format's limit can stop a
    // 3 GiB length (the old bound was 4 GiB).
    let mut store = Bytes::new(65536, vec![0u8; 65536 * 4]);
    store.claimed_pages = 1 << 40;
    for len in [(1u64 << 30) + 1, 3 << 30, 1 << 32, u64::MAX] {
        let val = ValRef::Overflow { len, first: 2 };
        let (r, peak) = peak_alloc(|| read_value(&store, &val));
        corrupt(r, &format!("overflow value of {len} bytes"));
        assert!(peak < 1 << 20, "a length of {len} sized an allocation of {peak} bytes");
        corrupt(overflow_pages(&store, len, 2), &format!("overflow chain of {len} bytes"));
    }
    assert_eq!(store.reads.load(Ordering::Relaxed), 0, "pages were read for a length past the limit");
}

#[test]
fn codec_length_prefixes_cannot_size_huge_allocations() {
    // A 6-byte record whose bytes field claims about 1 GiB.
    let mut doc = codec::encode(&Document::new("x").with("b", Value::Bytes(vec![]))).unwrap();
    let claim = [0xFC, 0x00, 0x00, 0x00, 0x3F]; // varint u32 0x3F00_0000
    let n = doc.len();
    doc.truncate(n - 1);
    doc.extend(claim);
    let (r, peak) = peak_alloc(|| codec::decode::<Document>(&doc, "document"));
    corrupt(r, "a document claiming a 1 GiB field");
    assert!(peak <= allowance(doc.len()), "{} bytes made an allocation of {peak} bytes", doc.len());
    // And a list of operations claiming 2^24 entries.
    let ops = [0xFCu8, 0x00, 0x00, 0x00, 0x01];
    let (r, peak) = peak_alloc(|| codec::decode::<Vec<KvOp>>(&ops, "ops"));
    corrupt(r, "ops claiming 2^24 entries");
    assert!(peak <= allowance(ops.len()), "{} bytes made an allocation of {peak} bytes", ops.len());
}

#[test]
fn graph_restore_checks_record_sizes_before_reserving() {
    // 1,000 chunks of empty records for a graph that claims 64,000 nodes of
    // dimension 65,536: about 16 GiB of vectors that no record backs.
    let meta = GraphMeta {
        dim: 65536,
        metric: axon_core::model::Metric::L2,
        m: 16,
        ef_construction: 100,
        seed: 1,
        rng: 1,
        entry: Some(0),
        len: 64_000,
    };
    let chunks: Vec<(&[u8], &[u8])> = vec![(&[][..], &[][..]); 1000];
    let (r, peak) = peak_alloc(|| Hnsw::restore(&meta, chunks.iter().copied()));
    corrupt(r.map(|g| g.len()), "a graph whose records are empty");
    assert!(peak < 1 << 20, "empty records made an allocation of {peak} bytes");
}

#[test]
fn node_entry_counts_are_bounded_by_the_page() {
    let mut buf = vec![0u8; 1024];
    node::encode(&Node::Leaf(vec![LeafEntry { key: b"k".to_vec(), val: ValRef::Inline(b"v".to_vec()) }]), 7, &mut buf)
        .unwrap();
    buf[6..8].copy_from_slice(&u16::MAX.to_le_bytes());
    page::seal(7, PageKind::Leaf, &mut buf);
    let (r, peak) = peak_alloc(|| node::decode(7, &buf));
    corrupt(r, "a leaf claiming 65535 entries");
    assert!(peak < 64 * 1024, "an entry count sized an allocation of {peak} bytes");
    corrupt(node::decode(7, &buf[..3]), "a three-byte page");
    corrupt(page::check(7, &buf[..2], PageKind::Leaf), "a two-byte page");
}

#[test]
fn free_list_counts_are_bounded_by_the_page_and_the_superblock() {
    let store = MemPageStore::new(1024);
    let mut alloc = freelist::Allocator::new([], 2);
    let ids: Vec<PageId> = (2..300).collect();
    let (head, _) = freelist::write(&store, &mut alloc, &ids).unwrap();
    let mut buf = vec![0u8; 1024];
    store.read_page(head, &mut buf).unwrap();
    buf[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    page::seal(head, PageKind::FreeList, &mut buf);
    store.write_page(head, &buf).unwrap();
    corrupt(freelist::read(&store, head, ids.len() as u64, 10_000).map(|r| r.0.len()), "a huge count");
}

// ---------------------------------------------------------------------------
// Fuzz targets.

#[test]
fn fuzz_superblock() {
    let real = superblock_page(4096, 6);
    fuzz("superblock", 1500, |u| {
        let mut b = if u.arbitrary()? {
            real.clone()
        } else {
            {
                let n = u.int_in_range(0..=200usize)?;
                u.bytes(n)
            }?
            .to_vec()
        };
        mutate(u, &mut b, true)?;
        if u.arbitrary()? && b.len() >= SIZE {
            let crc = crc32fast::hash(&b[..64]);
            b[64..68].copy_from_slice(&crc.to_le_bytes());
        }
        let slot = u.int_in_range(0..=1u64)?;
        let n = b.len();
        if let Ok(Some(sb)) = bounded("superblock", n, || Superblock::decode(&b, slot)) {
            assert!(axon_core::superblock::valid_page_size(sb.page_size as usize));
            assert_eq!(sb.generation % 2, slot);
        }
        let _ = bounded("peek_page_size", n, || peek_page_size(&b));
        Ok(())
    });
}

#[test]
fn fuzz_pages_and_nodes() {
    let images: Vec<(usize, Vec<u8>)> =
        [1024usize, 4096].iter().map(|&ps| (ps, sample_disk(ps).page_bytes())).collect();
    fuzz("pages and nodes", 3000, |u| {
        let (ps, image) = &images[u.choose_index(images.len())?];
        let ps = *ps;
        let pages = image.len() / ps;
        let id = u.int_in_range(2..=pages as u64 - 1)?;
        let start = id as usize * ps;
        let mut buf = image[start..start + ps].to_vec();
        mutate(u, &mut buf, false)?;
        let kind = kind_of(buf[4]).unwrap_or(PageKind::Leaf);
        if u.ratio(7, 8)? {
            page::seal(id, kind, &mut buf);
        }
        let node = bounded("node decode", ps, || node::decode(id, &buf));
        if let Ok(Node::Leaf(entries)) = &node {
            assert!(entries.windows(2).all(|w| w[0].key < w[1].key));
        }
        if let Ok(Node::Branch(ch)) = &node {
            assert!(!ch.is_empty());
        }
        let _ = page::check(id, &buf, kind);
        Ok(())
    });
}

#[test]
fn fuzz_overflow_and_free_list_reads() {
    let disk = sample_disk(1024);
    let image = disk.page_bytes();
    fuzz("overflow and free list", 2000, |u| {
        let mut img = image.clone();
        // Damage a few pages, resealing most of them so the checks behind
        // the checksum are reached.
        for _ in 0..u.int_in_range(1..=4u8)? {
            let id = u.int_in_range(2..=(img.len() / 1024) as u64 - 1)?;
            let s = id as usize * 1024;
            let mut p = img[s..s + 1024].to_vec();
            mutate(u, &mut p, false)?;
            if u.ratio(7, 8)? {
                page::seal(id, kind_of(p[4]).unwrap_or(PageKind::Overflow), &mut p);
            }
            img[s..s + 1024].copy_from_slice(&p);
        }
        let store = Bytes::new(1024, img);
        let len = match u.int_in_range(0..=3u8)? {
            0 => u.int_in_range(0..=20_000u64)?,
            1 => u.arbitrary()?,
            _ => u.int_in_range(0..=(1u64 << 31))?,
        };
        let first = u.int_in_range(0..=store.claimed_pages + 2)?;
        let n = store.bytes.len();
        let _ = bounded("read_value", n, || read_value(&store, &ValRef::Overflow { len, first }));
        let _ = bounded("overflow_pages", n, || overflow_pages(&store, len, first));
        let flen = u.int_in_range(0..=5000u64)?;
        let _ = bounded("free list", n, || freelist::read(&store, first, flen, store.claimed_pages));
        Ok(())
    });
}

#[test]
fn fuzz_wal_segments() {
    let disk = sample_disk(1024);
    let logs = [disk.log_bytes(0), disk.log_bytes(1)];
    fuzz("wal segments", 2500, |u| {
        let mut b = logs[u.choose_index(2)?].clone();
        if b.len() < wal::SEGMENT_HEADER || u.ratio(1, 8)? {
            b = wal::segment_header(u.arbitrary()?, u.int_in_range(0..=10u64)?).to_vec();
        }
        // Sometimes append a frame made from arbitrary bytes, with a real checksum.
        if u.arbitrary()? {
            let lsn = u.int_in_range(0..=20u64)?;
            let payload = {
                let n = u.int_in_range(0..=200usize)?;
                u.bytes(n)
            }?
            .to_vec();
            b.extend(wal::encode_frame(lsn, lsn.saturating_sub(1), &payload).unwrap());
        }
        mutate(u, &mut b, true)?;
        let n = b.len();
        let seg = bounded("read_segment", n, || wal::read_segment(&MemLogFile::from_bytes(b.clone()), "fuzz"));
        if let Ok(seg) = seg {
            assert!(seg.valid_end <= seg.len);
            assert!(seg.frames.windows(2).all(|w| w[1].lsn == w[0].lsn + 1));
            for f in &seg.frames {
                let _ = bounded("ops", f.payload.len(), || codec::decode::<Vec<KvOp>>(&f.payload, "ops"));
            }
        }
        Ok(())
    });
}

#[test]
fn fuzz_codec_records() {
    let doc = Document::new("some-id")
        .with("n", Value::Int(-5))
        .with("s", Value::String("hello".into()))
        .with("tags", Value::StringArray(vec!["a".into(), "".into()]))
        .with("v", Value::Vector(vec![1.0, 2.0]))
        .with("m", Value::Matrix { rows: 1, cols: 2, data: vec![0.5, 0.25] })
        .with("b", Value::Bytes(vec![1, 2, 3]));
    let mut cat = Catalog { next_id: 3, ..Default::default() };
    cat.collections.insert("c".into(), axon_core::catalog::CollectionInfo { id: 2, schema: fuzz_schema() });
    let ops = vec![
        KvOp::Put { key: b"k".to_vec(), value: b"v".to_vec() },
        KvOp::Delete { key: vec![] },
        KvOp::Purge { prefix: vec![2, 0, 0, 0, 1] },
    ];
    let seeds = [codec::encode(&doc).unwrap(), cat.encode().unwrap(), codec::encode(&ops).unwrap()];
    fuzz("codec records", 2500, |u| {
        let mut b = seeds[u.choose_index(seeds.len())?].clone();
        if u.ratio(1, 6)? {
            b = {
                let n = u.int_in_range(0..=64usize)?;
                u.bytes(n)
            }?
            .to_vec();
        }
        mutate(u, &mut b, true)?;
        let n = b.len();
        let _ = bounded("document", n, || codec::decode::<Document>(&b, "document"));
        let _ = bounded("catalog", n, || Catalog::decode(&b));
        let _ = bounded("ops", n, || codec::decode::<Vec<KvOp>>(&b, "ops"));
        let _ = bounded("graph meta", n, || codec::decode::<GraphMeta>(&b, "meta"));
        let _ = bounded("ids", n, || codec::decode::<Vec<String>>(&b, "ids"));
        Ok(())
    });
}

#[test]
fn fuzz_graph_restore() {
    let mut g = Hnsw::new(HnswParams { m: 4, ef_construction: 20, ..HnswParams::new(3, axon_core::model::Metric::L2) });
    for i in 0..150 {
        let x = i as f32;
        g.insert(&[x.sin(), x.cos(), x * 0.01]).unwrap();
    }
    g.delete(7);
    let recs: Vec<(Vec<u8>, Vec<u8>)> =
        (0..g.chunk_count()).map(|c| (g.encode_links(c), g.encode_vectors(c))).collect();
    let meta = g.meta();
    fuzz("graph restore", 2500, |u| {
        let mut recs = recs.clone();
        let mut meta = meta.clone();
        match u.int_in_range(0..=4u8)? {
            0 => meta.len = u.arbitrary()?,
            1 => meta.entry = u.arbitrary()?,
            2 => meta.dim = u.int_in_range(0..=70_000u32)?,
            3 => meta.m = u.int_in_range(0..=200u32)?,
            _ => {}
        }
        for _ in 0..u.int_in_range(0..=3u8)? {
            let c = u.choose_index(recs.len())?;
            if u.arbitrary()? {
                mutate(u, &mut recs[c].0, true)?;
            } else {
                mutate(u, &mut recs[c].1, true)?;
            }
        }
        if u.ratio(1, 10)? {
            recs.pop();
        }
        let n: usize = recs.iter().map(|(l, v)| l.len() + v.len()).sum();
        let r = bounded("graph restore", n * 8, || Hnsw::restore(&meta, recs.iter().map(|(l, v)| (&l[..], &v[..]))));
        if let Ok(g) = r {
            let q = [0.1, 0.2, 0.3];
            let _ = g.search(&q, 5, 20, None);
        }
        Ok(())
    });
}

/// Random JSON built from the words schemas and filters use.
fn json_value(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Json> {
    const WORDS: &[&str] = &[
        "fields",
        "type",
        "index",
        "dim",
        "metric",
        "m",
        "ef_construction",
        "required",
        "allow_extra",
        "rows",
        "cols",
        "int",
        "float",
        "string",
        "string[]",
        "bool",
        "vector",
        "matrix",
        "bytes",
        "l2",
        "cosine",
        "dot",
        "n",
        "s",
        "tags",
        "v",
        "id",
        "$eq",
        "$ne",
        "$gt",
        "$gte",
        "$lt",
        "$lte",
        "$in",
        "$nin",
        "$contains",
        "$exists",
        "$not",
        "$and",
        "$or",
        "",
        "x",
    ];
    let word = |u: &mut Unstructured<'_>| -> arbitrary::Result<String> {
        if u.ratio(1, 10)? {
            let s: String = u.arbitrary()?;
            Ok(s)
        } else {
            Ok(WORDS[u.choose_index(WORDS.len())?].to_string())
        }
    };
    let pick = if depth == 0 { u.int_in_range(0..=5u8)? } else { u.int_in_range(0..=7u8)? };
    Ok(match pick {
        0 => Json::Null,
        1 => Json::Bool(u.arbitrary()?),
        2 => {
            let w = [0i64, 1, -1, 4, 1024, 65536, 65537, i64::MAX, i64::MIN, 1 << 53];
            json!(if u.arbitrary()? { w[u.choose_index(w.len())?] } else { u.arbitrary::<i64>()? })
        }
        3 => json!(u.arbitrary::<f64>()?),
        4 | 5 => Json::String(word(u)?),
        6 => Json::Array((0..u.int_in_range(0..=4u8)?).map(|_| json_value(u, depth - 1)).collect::<Result<_, _>>()?),
        _ => {
            let mut m = serde_json::Map::new();
            for _ in 0..u.int_in_range(0..=4u8)? {
                m.insert(word(u)?, json_value(u, depth - 1)?);
            }
            Json::Object(m)
        }
    })
}

#[test]
fn fuzz_schema_and_filter_json() {
    let schema = fuzz_schema();
    fuzz("schema and filter json", 2500, |u| {
        let depth = u.int_in_range(0..=6u32)?;
        let v = json_value(u, depth)?;
        // Schemas: Ok or InvalidSchema; an accepted one round-trips.
        let wrapped = if u.arbitrary()? { json!({ "fields": v.clone() }) } else { v.clone() };
        match Schema::from_json(&wrapped) {
            Ok(s) => assert_eq!(Schema::from_json(&s.to_json()).unwrap(), s),
            Err(Error::InvalidSchema(_)) => {}
            Err(e) => panic!("schema {wrapped}: unexpected error {e}"),
        }
        // Filters: Ok or InvalidFilter, and an accepted one evaluates.
        match Filter::parse(&schema, &v) {
            Ok(f) => {
                let d = Document::new("a").with("n", Value::Int(3)).with("tags", Value::StringArray(vec!["x".into()]));
                let _ = f.matches(&d);
            }
            Err(Error::InvalidFilter(_)) => {}
            Err(e) => panic!("filter {v}: unexpected error {e}"),
        }
        let text = String::from_utf8_lossy({
            let n = u.int_in_range(0..=40usize)?;
            u.bytes(n)
        }?)
        .into_owned();
        let _ = Schema::parse(&text);
        let _ = Filter::parse_str(&schema, &text);
        Ok(())
    });
}

#[test]
fn fuzz_whole_database_damage() {
    // Damaged pages and logs under a full open: recovery, reads through
    // every index, scans, counts, search and verify return errors, never panic.
    let disk = sample_disk(1024);
    fuzz("whole database damage", 6000, |u| {
        let d = disk.reboot(0);
        let image = d.page_bytes();
        let pages = (image.len() / 1024) as u64;
        for _ in 0..u.int_in_range(1..=3u8)? {
            let id = u.int_in_range(0..=pages - 1)?;
            let s = id as usize * 1024;
            let mut p = image[s..s + 1024].to_vec();
            mutate(u, &mut p, false)?;
            if id >= 2 && u.ratio(7, 8)? {
                page::seal(id, kind_of(p[4]).unwrap_or(PageKind::Leaf), &mut p);
            } else if id < 2 {
                let crc = crc32fast::hash(&p[..64]);
                p[64..68].copy_from_slice(&crc.to_le_bytes());
            }
            d.corrupt_page_bytes(s, &p);
        }
        if u.ratio(1, 4)? {
            let w = u.choose_index(2)?;
            let mut l = d.log_bytes(w);
            mutate(u, &mut l, true)?;
            d.set_log_bytes(w, l);
        }
        let Ok(db) = Db::open(d.storage(), EngineOptions { checkpoint_bytes: u64::MAX, ..Default::default() }) else {
            return Ok(());
        };
        let _ = db.get("c", "doc001");
        let _ = db.count("c");
        let filters = [
            json!({"n": {"$gte": -50, "$lt": 100}}),
            json!({"s": "s1"}),
            json!({"tags": {"$contains": "t2"}}),
            json!({"s": {"$in": ["s0", "s4"]}}),
            json!({"n": {"$ne": 3}}),
        ];
        let _ = db.scan("c", Some(&filters[u.choose_index(filters.len())?]), None);
        let _ = db.scan("c", None, None);
        let _ = db.search_vector("c", &[1.0, 1.0, 1.0, 1.0], 5, &Default::default());
        let _ = db.verify();
        let _ = db.upsert("c", Document::new("new").with("n", Value::Int(1)));
        let _ = db.checkpoint();
        Ok(())
    });
}
