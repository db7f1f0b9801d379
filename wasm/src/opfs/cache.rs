//! A bounded page cache with CLOCK eviction, in front of OPFS reads (each
//! sync-handle read costs a round trip into the browser's file code).

use std::collections::HashMap;

use axon_core::storage::PageId;

struct Slot {
    id: PageId,
    data: Box<[u8]>,
    referenced: bool,
}

/// Page copies, at most `capacity` of them.
pub struct PageCache {
    slots: Vec<Slot>,
    index: HashMap<PageId, usize>,
    hand: usize,
    capacity: usize,
}

impl PageCache {
    /// A cache of at most `capacity` pages (0 disables it).
    pub fn new(capacity: usize) -> Self {
        PageCache { slots: Vec::new(), index: HashMap::new(), hand: 0, capacity }
    }

    /// Copies page `id` into `buf` if it is cached.
    pub fn get(&mut self, id: PageId, buf: &mut [u8]) -> bool {
        match self.index.get(&id) {
            Some(&i) => {
                let slot = &mut self.slots[i];
                slot.referenced = true;
                buf.copy_from_slice(&slot.data);
                true
            }
            None => false,
        }
    }

    /// Caches `data` as the content of page `id`, replacing an older copy.
    pub fn put(&mut self, id: PageId, data: &[u8]) {
        if self.capacity == 0 {
            return;
        }
        if let Some(&i) = self.index.get(&id) {
            let slot = &mut self.slots[i];
            slot.data.copy_from_slice(data);
            slot.referenced = true;
            return;
        }
        if self.slots.len() < self.capacity {
            self.index.insert(id, self.slots.len());
            self.slots.push(Slot { id, data: data.into(), referenced: false });
            return;
        }
        // CLOCK: skip (and clear) referenced slots, replace the first that is not.
        loop {
            let slot = &mut self.slots[self.hand];
            if slot.referenced {
                slot.referenced = false;
                self.hand = (self.hand + 1) % self.capacity;
                continue;
            }
            self.index.remove(&slot.id);
            slot.id = id;
            slot.data.copy_from_slice(data);
            self.index.insert(id, self.hand);
            self.hand = (self.hand + 1) % self.capacity;
            return;
        }
    }

    /// Forgets every page.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.index.clear();
        self.hand = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_most_capacity_and_returns_latest_copy() {
        let mut c = PageCache::new(2);
        let mut buf = [0u8; 4];
        c.put(1, &[1; 4]);
        c.put(2, &[2; 4]);
        c.put(1, &[9; 4]);
        assert!(c.get(1, &mut buf));
        assert_eq!(buf, [9; 4]);
        c.put(3, &[3; 4]);
        assert_eq!(c.slots.len(), 2);
        // Page 1 was referenced, so page 2 was evicted.
        assert!(c.get(1, &mut buf));
        assert!(!c.get(2, &mut buf));
        assert!(c.get(3, &mut buf));
        assert_eq!(buf, [3; 4]);
        let mut off = PageCache::new(0);
        off.put(1, &[1; 4]);
        assert!(!off.get(1, &mut buf));
    }
}
