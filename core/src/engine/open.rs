//! Opening an engine: superblock choice, free list, WAL replay, tail repair.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, RwLock};

use super::commit::apply;
use super::state::{Changes, State, TreeVersion};
use super::{CkptState, Engine, EngineOptions, KvOp, Shared, WalState, Writer};
use crate::catalog::{Catalog, CATALOG_KEY};
use crate::freelist::{self, Allocator};
use crate::storage::{PageStore, Storage};
use crate::superblock::{Superblock, FIRST_DATA_PAGE};
use crate::wal::{self, Segment};
use crate::{btree, codec, Error, Result};

fn read_slot(pages: &dyn PageStore, slot: u64) -> Result<Option<Superblock>> {
    let mut buf = vec![0u8; pages.page_size()];
    pages.read_page(slot, &mut buf)?;
    Superblock::decode(&buf, slot)
}

/// Writes superblock `sb` into its slot (`generation % 2`).
pub(super) fn write_superblock(pages: &dyn PageStore, sb: &Superblock) -> Result<()> {
    let mut buf = vec![0u8; pages.page_size()];
    sb.encode(&mut buf);
    pages.write_page(sb.generation % 2, &buf)?;
    Ok(())
}

/// Picks the durable superblock, creating the database if it is new.
fn load_superblock(pages: &dyn PageStore) -> Result<Superblock> {
    let count = pages.page_count()?;
    let slots = if count >= 2 { (read_slot(pages, 0), read_slot(pages, 1)) } else { (Ok(None), Ok(None)) };
    let sb = match slots {
        (Ok(Some(a)), Ok(Some(b))) => Some(if a.generation >= b.generation { a } else { b }),
        // One slot torn by a crash while it was being written: the other one rules.
        (Ok(Some(a)), Err(_)) | (Err(_), Ok(Some(a))) => Some(a),
        (Ok(Some(a)), Ok(None)) => Some(a),
        // Slot 0 is written when a database is created; with nothing checkpointed
        // yet (page count 2), all data is in the WAL, so start from empty pages.
        (Ok(None), Ok(None)) => None,
        (Err(_), Ok(None)) if count <= FIRST_DATA_PAGE => None,
        (Err(e), _) | (_, Err(e)) => return Err(e),
        (Ok(None), Ok(Some(_))) => return Err(Error::corrupt("superblock 0 is missing but superblock 1 exists")),
    };
    if let Some(sb) = sb {
        return Ok(sb);
    }
    let sb = Superblock {
        page_size: pages.page_size() as u32,
        generation: 0,
        checkpoint_lsn: 0,
        root: 0,
        freelist_head: 0,
        freelist_len: 0,
        page_count: FIRST_DATA_PAGE,
    };
    pages.grow(FIRST_DATA_PAGE)?;
    write_superblock(pages, &sb)?;
    pages.sync()?;
    Ok(sb)
}

impl Engine {
    /// Opens (or creates) the database held in `storage`, replaying every
    /// committed WAL frame after the last checkpoint and cutting off a torn
    /// WAL tail. Damage anywhere else is an error.
    pub fn open(storage: Storage, opts: EngineOptions) -> Result<Engine> {
        let Storage { pages, logs } = storage;
        // The superblock read below may sit in the OS cache only: written by
        // a checkpoint whose sync failed (or a process that died before it
        // synced). Recovery trusts it and a later checkpoint cuts the WAL it
        // covers, so it must be durable first (found by core/tests/fuzz_model.rs:
        // a failed sync, a reopen, a checkpoint, a power cut lost commits).
        pages.sync()?;
        let sb = load_superblock(&*pages)?;
        if sb.page_size as usize != pages.page_size() {
            return Err(Error::corrupt(format!(
                "the database has {}-byte pages, the store was opened with {}",
                sb.page_size,
                pages.page_size()
            )));
        }
        let count = pages.page_count()?;
        if sb.page_count > count || sb.root >= sb.page_count.max(FIRST_DATA_PAGE) && sb.root != 0 {
            return Err(Error::corrupt(format!(
                "page file is truncated: the superblock uses {} pages, the file has {count}",
                sb.page_count
            )));
        }
        let (free, chain) = freelist::read(&*pages, sb.freelist_head, sb.freelist_len, sb.page_count)?;
        let alloc = Allocator::new(free, sb.page_count);
        let tree = Arc::new(TreeVersion { root: sb.root, generation: sb.generation });
        let catalog = match btree::get(&*pages, sb.root, CATALOG_KEY)? {
            Some(v) => Catalog::decode(&btree::read_value(&*pages, &v)?)?,
            None => Catalog::default(),
        };
        let mut state = State {
            tree: tree.clone(),
            frozen: None,
            active: Changes::default(),
            catalog: Arc::new(catalog),
            lsn: sb.checkpoint_lsn,
        };

        // Replay the WAL, older segment first.
        let segs = [wal::read_segment(&*logs[0], "wal-0")?, wal::read_segment(&*logs[1], "wal-1")?];
        let mut order = [0usize, 1];
        order.sort_by_key(|&i| segs[i].seq);
        let mut max_lsn = [None, None];
        let mut replayed_bytes = 0u64;
        for &i in &order {
            for f in &segs[i].frames {
                if f.lsn <= sb.checkpoint_lsn {
                    continue;
                }
                if f.lsn != state.lsn + 1 {
                    return Err(Error::corrupt(format!(
                        "WAL is missing commits: expected LSN {}, found {} in wal-{i}",
                        state.lsn + 1,
                        f.lsn
                    )));
                }
                let ops: Vec<KvOp> = codec::decode(&f.payload, &format!("WAL frame {} in wal-{i}", f.lsn))?;
                state = apply(&state, &ops, f.lsn)?;
                max_lsn[i] = Some(f.lsn);
                replayed_bytes += (wal::FRAME_HEADER + f.payload.len()) as u64;
            }
        }
        // Every segment starts after a commit that the checkpoint plus the
        // frames replayed must reach; otherwise commits are missing (say, the
        // newest superblock was damaged after the WAL it replaced was cut).
        if let Some(base) = segs.iter().filter(|s| s.seq.is_some()).map(|s| s.base).max() {
            if state.lsn < base {
                return Err(Error::corrupt(format!(
                    "commits {}..={base} are neither in the checkpoint (generation {}) nor in the WAL; \
                     a newer superblock is damaged",
                    state.lsn + 1,
                    sb.generation
                )));
            }
        }
        let mut seq = [segs[0].seq, segs[1].seq];
        repair_tails(&logs, &segs)?;
        // What was replayed may sit in the OS cache only (after a crash of
        // the process): make it durable, as later frames will record it so.
        for log in &logs {
            log.sync()?;
        }
        let active = match (seq[0], seq[1]) {
            (None, None) => {
                logs[0].truncate(0)?;
                logs[0].append(&wal::segment_header(1, state.lsn))?;
                logs[0].sync()?;
                seq[0] = Some(1);
                0
            }
            (a, b) => usize::from(b > a),
        };
        let lsn = state.lsn;
        let state = Arc::new(state);
        let shared = Shared {
            pages,
            logs,
            opts,
            writer: Mutex::new(Writer {
                state: state.clone(),
                wal: WalState { active, seq, max_lsn, since_checkpoint: replayed_bytes },
            }),
            published: RwLock::new(state),
            syncing: AtomicBool::new(false),
            waiters: Mutex::new(Vec::new()),
            ckpt: Mutex::new(CkptState { sb, alloc, pending: Vec::new(), chain, frozen: None }),
            versions: Mutex::new(vec![Arc::downgrade(&tree)]),
            poisoned: AtomicBool::new(false),
            poison_cause: Mutex::new(None),
            ckpt_requested: AtomicBool::new(false),
            in_commit: AtomicUsize::new(0),
            appended_lsn: AtomicU64::new(lsn),
            synced_lsn: AtomicU64::new(lsn),
            peak_committers: AtomicUsize::new(0),
            freeze_hook: RwLock::new(None),
            failpoint: RwLock::new(None),
            ckpt_report: Mutex::new(Default::default()),
            ckpt_unreported: AtomicBool::new(false),
        };
        Ok(Engine { shared: Arc::new(shared) })
    }
}

/// Cuts torn tails (and segments whose header never became durable) so new
/// frames follow the last valid one directly.
fn repair_tails(logs: &[Box<dyn crate::storage::LogFile>; 2], segs: &[Segment; 2]) -> Result<()> {
    for (log, seg) in logs.iter().zip(segs) {
        let keep = if seg.seq.is_some() { seg.valid_end } else { 0 };
        if seg.len > keep {
            log.truncate(keep)?;
            log.sync()?;
        }
    }
    Ok(())
}
