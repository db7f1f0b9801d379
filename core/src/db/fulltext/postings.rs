//! Posting blocks and term records of the full-text index.
//!
//! A term's postings are `(ordinal, tf, length)` triples sorted by document
//! ordinal: the document's ordinal in the field, how often the term occurs
//! in it, and the document's length in tokens (so a posting scores without
//! another read). They are kept in blocks of at most [`BLOCK_LEN`]:
//!
//! * the **open block**, the newest postings, inline in the term record;
//! * **closed blocks**, full when closed, each its own record keyed by an
//!   upper bound of its ordinals (its last ordinal when it was closed).
//!
//! The term record lists each closed block's bound, posting count and
//! *peaks* ([`BlockMeta`]): at most [`PEAKS`] `(tf, length)` pairs such that
//! every posting of the block has a tf at most, and a length at least, those
//! of one peak. BM25 grows with tf and falls with length, so the best peak
//! bounds the block's best score without reading it (block-max pruning), for
//! any collection statistics. The peaks are the block's Pareto frontier (for
//! each tf, the shortest document with at least that tf), which makes the
//! bound the block's exact best score; a frontier longer than [`PEAKS`] is
//! shortened by merging neighbours into the pair that dominates both.
//!
//! A term record is stored as the byte `0xFF` (never the first byte of a
//! bincode varint) and then its bincode encoding. A record without that
//! byte is the first layout of this index, whose metas had only the block's
//! largest tf and smallest length: it is read as one peak at that corner,
//! a looser but still valid bound, and is rewritten in the new layout when
//! its term next changes.
//! Ordinals only grow (an updated document gets a new one), so new postings
//! always go to the open block; a delete rewrites the one block holding the
//! posting and drops it when it empties.
//!
//! Block encodings:
//!
//! * **varints** (LEB128), for blocks of fewer than [`BLOCK_LEN`] postings
//!   (the open block, and closed blocks a delete shrank): `count`, then per
//!   posting the ordinal (the first absolute, the rest as the gap to the
//!   previous one, never 0), `tf` (at least 1) and `length` (at least `tf`);
//! * **packed**, for full blocks: `0xFF` (a varint count never starts with
//!   it: that would be at least 255), the bit widths of the three columns
//!   (u8 each), the first ordinal (u32 LE), then three columns of 128
//!   numbers bit-packed by the `bitpacking` crate's `BitPacker4x` (16 bytes
//!   per bit of width): the ordinals as gaps minus one, `tf - 1`, and
//!   `length - tf`. It decodes with SIMD where the CPU has it, several times
//!   faster than varints, and takes about 40% less room. Format 3 files hold
//!   full blocks as varints too, which still decode.

use bitpacking::{BitPacker, BitPacker4x};

use crate::{codec, Error, Result};

/// Most postings in a block.
pub(crate) const BLOCK_LEN: usize = 128;

/// One posting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Posting {
    /// Document ordinal.
    pub ord: u32,
    /// Occurrences of the term in the document.
    pub tf: u32,
    /// The document's length in tokens.
    pub len: u32,
}

/// Most peaks a block meta keeps.
pub(crate) const PEAKS: usize = 4;

/// First byte of a term record in the current layout.
const LAYOUT_MARK: u8 = 0xFF;

/// What a term record says about one closed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct BlockMeta {
    /// Upper bound of its ordinals; the block's key.
    pub last: u32,
    /// Postings in it.
    pub count: u32,
    /// `[tf, length]` pairs by ascending tf (and strictly ascending length)
    /// dominating every posting; unused ones are `[0, 0]`, at the end.
    pub peaks: [[u32; 2]; PEAKS],
}

impl BlockMeta {
    /// The meta of a non-empty block keyed `last`.
    pub fn of(last: u32, postings: &[Posting]) -> BlockMeta {
        BlockMeta { last, count: postings.len() as u32, peaks: peaks_of(postings) }
    }

    /// The peaks in use.
    pub fn used_peaks(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.peaks.iter().take_while(|p| p[0] > 0).map(|p| (p[0], p[1]))
    }

    /// Whether some peak has at least `tf` and at most `len`.
    pub fn dominates(&self, tf: u32, len: u32) -> bool {
        self.used_peaks().any(|(t, l)| t >= tf && l <= len)
    }
}

/// The Pareto frontier of a block's `(tf, length)` pairs (high tf, short
/// length), shortened to [`PEAKS`] by merging neighbours (the pair of the
/// closest lengths first) into the pair dominating both.
fn peaks_of(postings: &[Posting]) -> [[u32; 2]; PEAKS] {
    let mut pairs: Vec<(u32, u32)> = postings.iter().map(|p| (p.tf, p.len)).collect();
    // By tf descending, then length ascending: sweeping, a pair is on the
    // frontier when it is shorter than every pair of a higher tf.
    pairs.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut front: Vec<(u32, u32)> = Vec::new();
    for (tf, len) in pairs {
        if front.last().is_none_or(|&(_, l)| len < l) {
            front.push((tf, len));
        }
    }
    front.reverse(); // ascending tf, ascending length
    while front.len() > PEAKS {
        let i = (0..front.len() - 1)
            .min_by(|&i, &j| {
                let r = |i: usize| f64::from(front[i + 1].1) / f64::from(front[i].1.max(1));
                r(i).total_cmp(&r(j))
            })
            .unwrap_or(0);
        front[i] = (front[i + 1].0, front[i].1);
        front.remove(i + 1);
    }
    let mut out = [[0u32; 2]; PEAKS];
    for (slot, (tf, len)) in out.iter_mut().zip(front) {
        *slot = [tf, len];
    }
    out
}

/// A term's record.
#[derive(Debug, Clone, Default, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct TermRecord {
    /// Documents holding the term (every posting, closed and open).
    pub df: u32,
    /// Closed blocks, by ascending `last`.
    pub closed: Vec<BlockMeta>,
    /// The open block, encoded.
    pub open: Vec<u8>,
}

/// A block meta of the first layout.
#[derive(bincode::Decode)]
struct LegacyMeta {
    last: u32,
    count: u32,
    max_tf: u32,
    min_len: u32,
}

/// A term record of the first layout.
#[derive(bincode::Decode)]
struct LegacyRecord {
    df: u32,
    closed: Vec<LegacyMeta>,
    open: Vec<u8>,
}

fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint; one-byte numbers (most gaps, tfs and many lengths) take
/// the short path.
#[inline(always)]
fn get_varint(bytes: &[u8], at: &mut usize) -> Result<u32> {
    match bytes.get(*at) {
        Some(&b) if b < 0x80 => {
            *at += 1;
            Ok(u32::from(b))
        }
        _ => get_long_varint(bytes, at),
    }
}

#[inline(never)]
fn get_long_varint(bytes: &[u8], at: &mut usize) -> Result<u32> {
    let mut v: u64 = 0;
    for shift in (0..35).step_by(7) {
        let b = *bytes.get(*at).ok_or_else(|| Error::corrupt("posting block is truncated"))?;
        *at += 1;
        v |= u64::from(b & 0x7F) << shift;
        if b & 0x80 == 0 {
            return u32::try_from(v).map_err(|_| Error::corrupt("posting block: number out of range"));
        }
    }
    Err(Error::corrupt("posting block: number longer than 5 bytes"))
}

/// First byte of a packed block.
const PACKED: u8 = 0xFF;
/// Bytes before a packed block's columns.
const PACKED_HEADER: usize = 8;

/// Encodes sorted postings (ordinals strictly ascending, `1 <= tf <= len`).
pub(crate) fn encode_block(postings: &[Posting]) -> Vec<u8> {
    if postings.len() == BLOCK_LEN {
        return encode_packed(postings);
    }
    let mut out = Vec::with_capacity(1 + postings.len() * 4);
    put_varint(&mut out, postings.len() as u32);
    let mut prev = None;
    for p in postings {
        put_varint(&mut out, prev.map_or(p.ord, |q: u32| p.ord - q));
        put_varint(&mut out, p.tf);
        put_varint(&mut out, p.len);
        prev = Some(p.ord);
    }
    out
}

fn encode_packed(postings: &[Posting]) -> Vec<u8> {
    let packer = BitPacker4x::new();
    let ords: Vec<u32> = postings.iter().map(|p| p.ord).collect();
    let tfs: Vec<u32> = postings.iter().map(|p| p.tf - 1).collect();
    let lens: Vec<u32> = postings.iter().map(|p| p.len - p.tf).collect();
    let initial = ords[0].checked_sub(1);
    let widths = [packer.num_bits_strictly_sorted(initial, &ords), packer.num_bits(&tfs), packer.num_bits(&lens)];
    let mut out = vec![0u8; PACKED_HEADER + widths.iter().map(|&w| column_bytes(w)).sum::<usize>()];
    out[0] = PACKED;
    out[1..4].copy_from_slice(&widths);
    out[4..8].copy_from_slice(&ords[0].to_le_bytes());
    let mut at = PACKED_HEADER;
    at += packer.compress_strictly_sorted(initial, &ords, &mut out[at..], widths[0]);
    at += packer.compress(&tfs, &mut out[at..], widths[1]);
    at += packer.compress(&lens, &mut out[at..], widths[2]);
    debug_assert_eq!(at, out.len());
    out
}

/// Bytes of one packed column of `BLOCK_LEN` numbers `width` bits wide.
fn column_bytes(width: u8) -> usize {
    usize::from(width) * BLOCK_LEN / 8
}

fn decode_packed(bytes: &[u8], out: &mut Vec<Posting>) -> Result<()> {
    let bad = |m: &str| Error::corrupt(format!("packed posting block: {m}"));
    let header = bytes.get(..PACKED_HEADER).ok_or_else(|| bad("truncated header"))?;
    let widths = [header[1], header[2], header[3]];
    if widths.iter().any(|&w| w > 32) {
        return Err(bad("a column wider than 32 bits"));
    }
    if bytes.len() != PACKED_HEADER + widths.iter().map(|&w| column_bytes(w)).sum::<usize>() {
        return Err(bad("its length disagrees with its column widths"));
    }
    let first = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let packer = BitPacker4x::new();
    let mut cols = [[0u32; BLOCK_LEN]; 3];
    let mut at = PACKED_HEADER;
    let [ords, tfs, lens] = &mut cols;
    at += packer.decompress_strictly_sorted(first.checked_sub(1), &bytes[at..], ords, widths[0]);
    at += packer.decompress(&bytes[at..], tfs, widths[1]);
    packer.decompress(&bytes[at..], lens, widths[2]);
    // Gaps are added with wrapping arithmetic: damage can wrap around.
    if ords[0] != first || ords.windows(2).any(|w| w[0] >= w[1]) {
        return Err(bad("ordinals not increasing"));
    }
    out.reserve(BLOCK_LEN);
    for i in 0..BLOCK_LEN {
        let tf = tfs[i].checked_add(1).ok_or_else(|| bad("tf out of range"))?;
        let len = lens[i].checked_add(tf).ok_or_else(|| bad("length out of range"))?;
        out.push(Posting { ord: ords[i], tf, len });
    }
    Ok(())
}

/// Decodes a block into `out` (cleared first), checking everything a
/// block written by Axon satisfies; damage is [`Error::Corrupt`].
pub(crate) fn decode_block_into(bytes: &[u8], out: &mut Vec<Posting>) -> Result<()> {
    out.clear();
    if bytes.is_empty() {
        return Ok(());
    }
    if bytes[0] == PACKED {
        return decode_packed(bytes, out);
    }
    let mut at = 0;
    let n = get_varint(bytes, &mut at)? as usize;
    // An open block may briefly hold more than BLOCK_LEN only inside a
    // commit; never on disk.
    if n > BLOCK_LEN || n * 3 > bytes.len() {
        return Err(Error::corrupt(format!("posting block claims {n} postings in {} bytes", bytes.len())));
    }
    out.reserve(n);
    let mut prev: Option<u32> = None;
    for _ in 0..n {
        let d = get_varint(bytes, &mut at)?;
        let ord = match prev {
            None => d,
            Some(q) if d > 0 => q.checked_add(d).ok_or_else(|| Error::corrupt("posting block: ordinal overflow"))?,
            Some(_) => return Err(Error::corrupt("posting block: ordinals not increasing")),
        };
        let tf = get_varint(bytes, &mut at)?;
        let len = get_varint(bytes, &mut at)?;
        if tf == 0 || len < tf {
            return Err(Error::corrupt(format!("posting block: tf {tf} with document length {len}")));
        }
        out.push(Posting { ord, tf, len });
        prev = Some(ord);
    }
    if at != bytes.len() {
        return Err(Error::corrupt("posting block has trailing bytes"));
    }
    Ok(())
}

/// Decodes a block.
pub(crate) fn decode_block(bytes: &[u8]) -> Result<Vec<Posting>> {
    let mut out = Vec::new();
    decode_block_into(bytes, &mut out)?;
    Ok(out)
}

impl TermRecord {
    /// Encodes the record in the current layout.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let body = codec::encode(self)?;
        let mut out = Vec::with_capacity(body.len() + 1);
        out.push(LAYOUT_MARK);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decodes and checks a record of either layout.
    pub fn decode(bytes: &[u8]) -> Result<TermRecord> {
        const WHAT: &str = "text term record";
        let rec = match bytes.split_first() {
            Some((&LAYOUT_MARK, body)) => codec::decode(body, WHAT)?,
            _ => {
                let old: LegacyRecord = codec::decode(bytes, WHAT)?;
                let closed = old
                    .closed
                    .iter()
                    .map(|m| {
                        let mut peaks = [[0u32; 2]; PEAKS];
                        peaks[0] = [m.max_tf, m.min_len];
                        BlockMeta { last: m.last, count: m.count, peaks }
                    })
                    .collect();
                TermRecord { df: old.df, closed, open: old.open }
            }
        };
        rec.check()?;
        Ok(rec)
    }

    /// Checks what a term record written by Axon satisfies, beyond its
    /// encoding: closed blocks in order, non-empty and within the block
    /// size, each with at least one peak, peaks in order.
    pub fn check(&self) -> Result<()> {
        let mut prev: Option<u32> = None;
        let mut total: u64 = 0;
        for m in &self.closed {
            let used = m.used_peaks().count();
            let ordered = m.peaks[..used].windows(2).all(|w| w[0][0] < w[1][0] && w[0][1] < w[1][1])
                && m.peaks[used..].iter().all(|p| *p == [0, 0]);
            if m.count == 0
                || m.count as usize > BLOCK_LEN
                || prev.is_some_and(|p| m.last <= p)
                || used == 0
                || !ordered
            {
                return Err(Error::corrupt("term record: malformed block list"));
            }
            prev = Some(m.last);
            total += u64::from(m.count);
        }
        if total > u64::from(self.df) {
            return Err(Error::corrupt("term record: more closed postings than its document frequency"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_reject_damage() {
        let ps: Vec<Posting> =
            (0..BLOCK_LEN as u32).map(|i| Posting { ord: i * 3 + 1_000_000, tf: i % 5 + 1, len: 40 + i }).collect();
        let bytes = encode_block(&ps);
        assert_eq!(bytes[0], PACKED, "a full block is packed");
        assert_eq!(decode_block(&bytes).unwrap(), ps);
        // Smaller than varints: gaps 2 bits, tf 3, length - tf 8.
        assert_eq!(bytes.len(), PACKED_HEADER + 16 * (2 + 3 + 8));
        // A full block as format 3 wrote it (varints) still decodes.
        let mut varints = Vec::new();
        put_varint(&mut varints, BLOCK_LEN as u32);
        let mut prev = None;
        for p in &ps {
            put_varint(&mut varints, prev.map_or(p.ord, |q: u32| p.ord - q));
            put_varint(&mut varints, p.tf);
            put_varint(&mut varints, p.len);
            prev = Some(p.ord);
        }
        assert_eq!(decode_block(&varints).unwrap(), ps);
        // Ordinal 0 first, and the widest numbers.
        let edge: Vec<Posting> = (0..BLOCK_LEN as u32)
            .map(|i| Posting { ord: if i == 0 { 0 } else { u32::MAX - 200 + i }, tf: u32::MAX - i, len: u32::MAX })
            .collect();
        assert_eq!(decode_block(&encode_block(&edge)).unwrap(), edge);
        let small = encode_block(&ps[..5]);
        assert_ne!(small[0], PACKED);
        assert_eq!(decode_block(&small).unwrap(), ps[..5]);
        assert_eq!(decode_block(&[]).unwrap(), vec![]);
        // Every truncation and every single-byte change either decodes to
        // something well-formed or is reported as corrupt; none panics.
        for bytes in [&bytes, &varints] {
            for cut in 0..bytes.len() {
                assert!(decode_block(&bytes[..cut]).is_err() || cut == 0);
            }
            for i in 0..bytes.len() {
                for v in [0u8, 0x7F, 0x80, 0xFF, 33, 32] {
                    let mut b = bytes.clone();
                    b[i] = v;
                    if let Ok(d) = decode_block(&b) {
                        assert!(d.windows(2).all(|w| w[0].ord < w[1].ord));
                        assert!(d.iter().all(|p| p.tf >= 1 && p.len >= p.tf));
                    }
                }
            }
        }
        let two = [Posting { ord: 5, tf: 1, len: 2 }, Posting { ord: 6, tf: 2, len: 2 }];
        let mut dup = encode_block(&two);
        assert_eq!(dup, [2, 5, 1, 2, 1, 2, 2]);
        dup[4] = 0; // the second ordinal's gap
        assert!(decode_block(&dup).is_err());
        let mut short = encode_block(&two);
        short[6] = 1; // length below tf
        assert!(decode_block(&short).is_err());
    }

    /// Best BM25-like score of a pair: grows with tf, falls with length.
    fn score(tf: u32, len: u32, avgdl: f64) -> f64 {
        let tf = f64::from(tf);
        tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * f64::from(len) / avgdl))
    }

    #[test]
    fn peaks_are_the_frontier_and_bound_every_posting() {
        let p = |ord, tf, len| Posting { ord, tf, len };
        // (1, 5) and (4, 40) are the frontier; (2, 50) and (1, 9) are dominated.
        let m = BlockMeta::of(9, &[p(1, 1, 9), p(2, 4, 40), p(3, 1, 5), p(4, 2, 50)]);
        assert_eq!(m.peaks, [[1, 5], [4, 40], [0, 0], [0, 0]]);
        assert_eq!(m.count, 4);
        // Random blocks, including frontiers longer than PEAKS: every posting
        // is dominated, and when the frontier fits, the best peak is the
        // block's best score for any average length.
        let mut seed = 7u64;
        let mut next = |n: u32| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as u32) % n
        };
        for _ in 0..500 {
            let n = 1 + next(BLOCK_LEN as u32);
            let ps: Vec<Posting> = (0..n)
                .map(|i| {
                    let tf = 1 + next(12);
                    p(i, tf, tf + next(400))
                })
                .collect();
            let m = BlockMeta::of(n, &ps);
            TermRecord { df: n, closed: vec![m], open: vec![] }.check().unwrap();
            assert!(ps.iter().all(|q| m.dominates(q.tf, q.len)));
            let exact = m.peaks.iter().all(|pk| pk[0] == 0 || ps.iter().any(|q| q.tf == pk[0] && q.len == pk[1]));
            for avgdl in [1.0, 30.0, 150.0, 2000.0] {
                let best = ps.iter().map(|q| score(q.tf, q.len, avgdl)).fold(0.0, f64::max);
                let bound = m.used_peaks().map(|(t, l)| score(t, l, avgdl)).fold(0.0, f64::max);
                assert!(bound >= best);
                if exact {
                    assert_eq!(bound, best);
                }
            }
        }
    }

    #[test]
    fn term_records_of_both_layouts_decode() {
        let ps: Vec<Posting> = (0..BLOCK_LEN as u32).map(|i| Posting { ord: i, tf: 1 + i % 3, len: 10 + i }).collect();
        let rec = TermRecord { df: 130, closed: vec![BlockMeta::of(127, &ps)], open: encode_block(&ps[..2]) };
        let bytes = rec.encode().unwrap();
        assert_eq!(bytes[0], 0xFF);
        assert_eq!(TermRecord::decode(&bytes).unwrap(), rec);
        // The first layout: df, then (last, count, max_tf, min_len) per
        // block, then the open block; read as one peak at the corner.
        let legacy = [130, 1, 127, 128, 3, 10, 1, 0xAA];
        let old = TermRecord::decode(&legacy).unwrap();
        assert_eq!(old.closed[0].peaks, [[3, 10], [0, 0], [0, 0], [0, 0]]);
        assert_eq!((old.df, old.closed[0].last, old.closed[0].count, old.open.clone()), (130, 127, 128, vec![0xAA]));
        assert!(ps.iter().all(|q| old.closed[0].dominates(q.tf, q.len)));
        // Damage: truncation, a bad peak order, the mark alone.
        for cut in 1..bytes.len() {
            assert!(TermRecord::decode(&bytes[..cut]).is_err());
        }
        assert!(TermRecord::decode(&[0xFF]).is_err());
        let mut bad = rec.clone();
        bad.closed[0].peaks = [[3, 10], [2, 20], [0, 0], [0, 0]];
        assert!(TermRecord::decode(&bad.encode().unwrap()).is_err());
        bad.closed[0].peaks = [[0, 0], [2, 20], [0, 0], [0, 0]];
        assert!(TermRecord::decode(&bad.encode().unwrap()).is_err());
    }
}
