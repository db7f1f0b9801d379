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
//! The term record lists each closed block's bound, posting count, largest
//! tf and smallest length ([`BlockMeta`]), from which a query bounds the
//! block's best BM25 score without reading it (block-max pruning).
//! Ordinals only grow (an updated document gets a new one), so new postings
//! always go to the open block; a delete rewrites the one block holding the
//! posting and drops it when it empties.
//!
//! Block encoding (LEB128 varints): `count`, then per posting the ordinal
//! (the first absolute, the rest as the gap to the previous one, never 0),
//! `tf` (at least 1) and `length` (at least `tf`).

use crate::{Error, Result};

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

/// What a term record says about one closed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct BlockMeta {
    /// Upper bound of its ordinals; the block's key.
    pub last: u32,
    /// Postings in it.
    pub count: u32,
    /// Largest tf in it.
    pub max_tf: u32,
    /// Smallest document length in it.
    pub min_len: u32,
}

impl BlockMeta {
    /// The meta of a non-empty block keyed `last`.
    pub fn of(last: u32, postings: &[Posting]) -> BlockMeta {
        BlockMeta {
            last,
            count: postings.len() as u32,
            max_tf: postings.iter().map(|p| p.tf).max().unwrap_or(0),
            min_len: postings.iter().map(|p| p.len).min().unwrap_or(0),
        }
    }
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

fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Result<u32> {
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

/// Encodes sorted postings.
pub(crate) fn encode_block(postings: &[Posting]) -> Vec<u8> {
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

/// Decodes a block into `out` (cleared first), checking everything a
/// block written by Axon satisfies; damage is [`Error::Corrupt`].
pub(crate) fn decode_block_into(bytes: &[u8], out: &mut Vec<Posting>) -> Result<()> {
    out.clear();
    if bytes.is_empty() {
        return Ok(());
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
    /// Checks what a term record written by Axon satisfies, beyond its
    /// encoding: closed blocks in order, non-empty and within the block size.
    pub fn check(&self) -> Result<()> {
        let mut prev: Option<u32> = None;
        let mut total: u64 = 0;
        for m in &self.closed {
            if m.count == 0 || m.count as usize > BLOCK_LEN || prev.is_some_and(|p| m.last <= p) || m.max_tf == 0 {
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
        assert_eq!(decode_block(&bytes).unwrap(), ps);
        assert_eq!(decode_block(&[]).unwrap(), vec![]);
        // Every truncation and every single-byte change either decodes to
        // something well-formed or is reported as corrupt; none panics.
        for cut in 0..bytes.len() {
            assert!(decode_block(&bytes[..cut]).is_err() || cut == 0);
        }
        for i in 0..bytes.len() {
            for v in [0u8, 0x7F, 0x80, 0xFF] {
                let mut b = bytes.clone();
                b[i] = v;
                if let Ok(d) = decode_block(&b) {
                    assert!(d.windows(2).all(|w| w[0].ord < w[1].ord));
                    assert!(d.iter().all(|p| p.tf >= 1 && p.len >= p.tf));
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
}
