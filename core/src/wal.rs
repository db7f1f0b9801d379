//! The write-ahead log: two segments used in turn, each a header and frames.
//!
//! ```text
//! segment header (32 bytes): magic "AXONWAL\x01" | format version u32 | sequence u64 |
//!     base LSN u64 (the LSN of the last commit before this segment) | crc32 of bytes 0..28
//! frame (28-byte header + payload):
//!     magic u32 "AXFR" | payload length u32 | LSN u64 | synced LSN u64 |
//!     crc32 of (length, LSN, synced LSN, payload) | payload
//! ```
//! A frame is one atomic commit: its payload is the codec-encoded list of
//! operations. LSNs increase by one from frame to frame, across segments in
//! sequence order. A frame is valid only if its magic, length, checksum and
//! LSN all check out.
//!
//! The synced LSN of a frame is the newest LSN known durable (fsynced) when
//! the frame was written. Reading a segment stops at the first invalid
//! frame. If an intact later frame says that the invalid one had already
//! been synced, the log is damaged before its tail and reading fails.
//! Otherwise the invalid bytes are a tail that a power cut left incomplete
//! (unsynced writes may reach the disk in any order, so later unsynced
//! frames may survive a lost one) and everything from them on is cut off:
//! none of it was durable, so none of it was acknowledged as durable.

use crate::codec::{readable_version, FORMAT_VERSION, OLDEST_READABLE_VERSION};
use crate::storage::LogFile;
use crate::{Error, Result};

/// Magic bytes of a segment header.
pub const SEGMENT_MAGIC: &[u8; 8] = b"AXONWAL\x01";
/// Bytes of a segment header.
pub const SEGMENT_HEADER: usize = 32;
/// Magic number opening every frame ("AXFR").
pub const FRAME_MAGIC: u32 = u32::from_le_bytes(*b"AXFR");
/// Bytes of a frame header.
pub const FRAME_HEADER: usize = 28;
/// Largest payload a frame may carry.
pub const MAX_PAYLOAD: usize = 1 << 30;
/// Largest LSN (and checkpoint generation) a log or superblock may hold: a
/// larger one is damage. It leaves room for `+ 1` anywhere LSNs are counted.
pub const MAX_LSN: u64 = i64::MAX as u64;

/// Encodes a segment header.
/// Encodes a segment header. `base` is the LSN of the last commit before
/// the segment: recovery checks that the WAL and the checkpoint reach it.
pub fn segment_header(seq: u64, base: u64) -> [u8; SEGMENT_HEADER] {
    let mut h = [0u8; SEGMENT_HEADER];
    h[..8].copy_from_slice(SEGMENT_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..20].copy_from_slice(&seq.to_le_bytes());
    h[20..28].copy_from_slice(&base.to_le_bytes());
    let crc = crc32fast::hash(&h[..28]);
    h[28..].copy_from_slice(&crc.to_le_bytes());
    h
}

fn frame_crc(len: u32, lsn: u64, synced: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&len.to_le_bytes());
    h.update(&lsn.to_le_bytes());
    h.update(&synced.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Builds one frame whose payload `write` appends to the buffer it is
/// given (right after the header, so the payload is written once).
/// `synced` is the newest LSN known durable now.
pub fn frame(lsn: u64, synced: u64, write: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<Vec<u8>> {
    let mut f = vec![0u8; FRAME_HEADER];
    write(&mut f)?;
    let payload_len = f.len() - FRAME_HEADER;
    if payload_len > MAX_PAYLOAD {
        return Err(Error::InvalidArgument(format!(
            "a commit of {payload_len} bytes exceeds the {MAX_PAYLOAD}-byte limit"
        )));
    }
    let len = payload_len as u32;
    let crc = frame_crc(len, lsn, synced, &f[FRAME_HEADER..]);
    f[0..4].copy_from_slice(&FRAME_MAGIC.to_le_bytes());
    f[4..8].copy_from_slice(&len.to_le_bytes());
    f[8..16].copy_from_slice(&lsn.to_le_bytes());
    f[16..24].copy_from_slice(&synced.to_le_bytes());
    f[24..28].copy_from_slice(&crc.to_le_bytes());
    Ok(f)
}

/// Builds one frame around an already encoded payload.
pub fn encode_frame(lsn: u64, synced: u64, payload: &[u8]) -> Result<Vec<u8>> {
    frame(lsn, synced, |f| {
        f.extend_from_slice(payload);
        Ok(())
    })
}

/// A valid frame read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its LSN.
    pub lsn: u64,
    /// The newest LSN known durable when it was written.
    pub synced: u64,
    /// The encoded operations.
    pub payload: Vec<u8>,
}

/// What reading one segment found.
#[derive(Debug, Default)]
pub struct Segment {
    /// Sequence number from the header; `None` for an empty segment or one
    /// whose header never became durable.
    pub seq: Option<u64>,
    /// Base LSN from the header.
    pub base: u64,
    /// The valid frames, in order.
    pub frames: Vec<Frame>,
    /// Offset just past the last valid frame (or the header).
    pub valid_end: u64,
    /// Total length; more than `valid_end` when a torn tail was found.
    pub len: u64,
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

/// Parses a frame at `pos`, or `None` if the bytes there are not a valid frame.
///
/// Every offset is computed with checked arithmetic: a length read from the
/// log must not wrap `usize` (32 bits on wasm32) into a smaller offset, and
/// a length above [`MAX_PAYLOAD`] is not a frame whatever follows it.
fn frame_at(bytes: &[u8], pos: usize) -> Option<(Frame, usize)> {
    let start = pos.checked_add(FRAME_HEADER)?;
    let head = bytes.get(pos..start)?;
    if u32_at(head, 0) != FRAME_MAGIC {
        return None;
    }
    let len = u32_at(head, 4);
    if len as usize > MAX_PAYLOAD {
        return None;
    }
    let lsn = u64_at(head, 8);
    let synced = u64_at(head, 16);
    if lsn > MAX_LSN || synced > MAX_LSN {
        return None;
    }
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    let payload = bytes.get(start..end)?;
    if frame_crc(len, lsn, synced, payload) != u32_at(head, 24) {
        return None;
    }
    Some((Frame { lsn, synced, payload: payload.to_vec() }, end))
}

/// The first intact frame at or after `from` with an LSN above `after`.
/// The first intact frame at or after `from`, with an LSN above `after`,
/// that records LSN `needed` or a later one as already synced: proof that
/// the bytes before it held a durable commit.
fn later_frame(bytes: &[u8], from: usize, after: u64, needed: u64) -> Option<(usize, u64)> {
    let magic = FRAME_MAGIC.to_le_bytes();
    (from..bytes.len().saturating_sub(FRAME_HEADER - 1))
        .filter(|&p| bytes.get(p..p.saturating_add(4)) == Some(&magic[..]))
        .find_map(|p| frame_at(bytes, p).filter(|(f, _)| f.lsn > after && f.synced >= needed).map(|(f, _)| (p, f.lsn)))
}

/// The LSN that the first invalid frame would have held. Saturates: an LSN
/// of `u64::MAX` read from disk must not overflow.
fn needed_lsn(last: Option<u64>, base: u64) -> u64 {
    last.unwrap_or(base).saturating_add(1)
}

/// Reads a segment. `name` labels it in errors.
pub fn read_segment(log: &dyn LogFile, name: &str) -> Result<Segment> {
    let len = log.len()?;
    let size = usize::try_from(len).map_err(|_| Error::corrupt(format!("{name}: too large")))?;
    let mut bytes = vec![0u8; size];
    log.read_at(0, &mut bytes)?;
    let mut seg = Segment { len, ..Segment::default() };
    let header_ok =
        size >= SEGMENT_HEADER && &bytes[..8] == SEGMENT_MAGIC && crc32fast::hash(&bytes[..28]) == u32_at(&bytes, 28);
    if !header_ok {
        // An empty file, or a header that was being written when power failed.
        // Intact frames behind a bad header mean real damage.
        if let Some((pos, lsn)) = later_frame(&bytes, 0, 0, 0) {
            return Err(Error::corrupt(format!(
                "{name}: damaged segment header, but an intact frame (LSN {lsn}) follows at offset {pos}"
            )));
        }
        return Ok(seg);
    }
    let version = u32_at(&bytes, 8);
    if !readable_version(version) {
        return Err(Error::corrupt(format!(
            "{name}: format version {version}, this build reads {OLDEST_READABLE_VERSION} to {FORMAT_VERSION}"
        )));
    }
    seg.seq = Some(u64_at(&bytes, 12));
    seg.base = u64_at(&bytes, 20);
    let mut pos = SEGMENT_HEADER;
    let mut last: Option<u64> = None;
    while pos < size {
        match frame_at(&bytes, pos) {
            Some((f, end)) if last.is_none_or(|l| l.checked_add(1) == Some(f.lsn)) => {
                last = Some(f.lsn);
                seg.frames.push(f);
                pos = end;
            }
            _ => {
                let needed = needed_lsn(last, seg.base);
                if let Some((at, lsn)) = later_frame(&bytes, pos.saturating_add(1), last.unwrap_or(0), needed) {
                    return Err(Error::corrupt(format!(
                        "{name}: damaged frame at offset {pos}, but the intact frame at offset {at} (LSN {lsn}) \
                         records LSN {needed} as already durable"
                    )));
                }
                break;
            }
        }
    }
    seg.valid_end = pos as u64;
    Ok(seg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemLogFile;

    /// A segment with base LSN 4 holding frames `(lsn, payload)`, each
    /// recording `lsn - 1` as synced (as under `Durability::Sync`).
    fn log_with(frames: &[(u64, &[u8])]) -> Vec<u8> {
        let mut b = segment_header(3, 4).to_vec();
        for (lsn, p) in frames {
            b.extend(encode_frame(*lsn, lsn - 1, p).unwrap());
        }
        b
    }

    #[test]
    fn reads_frames_and_cuts_any_torn_tail() {
        let full = log_with(&[(5, b"one"), (6, b"two"), (7, b"three")]);
        let two = log_with(&[(5, b"one"), (6, b"two")]).len();
        for cut in two..full.len() {
            let seg = read_segment(&MemLogFile::from_bytes(full[..cut].to_vec()), "t").unwrap();
            assert_eq!(seg.frames.len(), 2, "cut at {cut}");
            assert_eq!(seg.valid_end as usize, two);
        }
        let seg = read_segment(&MemLogFile::from_bytes(full.clone()), "t").unwrap();
        assert_eq!(seg.frames.iter().map(|f| f.lsn).collect::<Vec<_>>(), vec![5, 6, 7]);
        assert_eq!(seg.seq, Some(3));
        let mut garbage = full.clone();
        garbage.extend((0..500u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
        assert_eq!(read_segment(&MemLogFile::from_bytes(garbage), "t").unwrap().frames.len(), 3);
    }

    #[test]
    fn damage_before_the_tail_is_an_error() {
        let full = log_with(&[(5, b"one"), (6, b"two"), (7, b"three")]);
        let two = log_with(&[(5, b"one"), (6, b"two")]).len();
        for at in SEGMENT_HEADER..two {
            let mut bad = full.clone();
            bad[at] ^= 0x10;
            match read_segment(&MemLogFile::from_bytes(bad), "t") {
                Err(Error::Corrupt(_)) => {}
                Ok(seg) => panic!("flip at {at} read {} frames", seg.frames.len()),
                Err(e) => panic!("flip at {at}: {e}"),
            }
        }
    }

    #[test]
    fn frame_offsets_never_overflow() {
        // Offsets near usize::MAX (as a 4 GiB length makes them on wasm32)
        // are "no frame", not an arithmetic overflow.
        let f = encode_frame(5, 4, b"x").unwrap();
        assert!(frame_at(&f, usize::MAX - 3).is_none());
        assert!(frame_at(&f, usize::MAX).is_none());
        assert_eq!(frame_at(&f, 0).map(|(fr, end)| (fr.lsn, end)), Some((5, f.len())));
        // A header claiming more than MAX_PAYLOAD is not a frame.
        let mut big = f.clone();
        big[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(frame_at(&big, 0).is_none());
        // LSNs past MAX_LSN are damage, and the LSN checks do not overflow.
        let mut b = segment_header(3, u64::MAX - 1).to_vec();
        b.extend(encode_frame(u64::MAX, u64::MAX, b"a").unwrap());
        b.extend(encode_frame(u64::MAX, u64::MAX, b"b").unwrap());
        b.extend([0u8; 40]);
        assert!(read_segment(&MemLogFile::from_bytes(b), "t").unwrap().frames.is_empty());
        assert_eq!(needed_lsn(Some(u64::MAX), 0), u64::MAX);
    }

    #[test]
    fn segments_of_formats_3_and_4_are_read_and_others_refused() {
        for (version, readable) in [(2u32, false), (3, true), (4, true), (5, false)] {
            let mut h = segment_header(7, 0).to_vec();
            h[8..12].copy_from_slice(&version.to_le_bytes());
            let crc = crc32fast::hash(&h[..28]);
            h[28..].copy_from_slice(&crc.to_le_bytes());
            match read_segment(&MemLogFile::from_bytes(h), "t") {
                Ok(seg) => assert!(readable && seg.seq == Some(7), "version {version}"),
                Err(e) => assert!(!readable && e.to_string().contains(&format!("format version {version}")), "{e}"),
            }
        }
    }

    #[test]
    fn empty_and_torn_header() {
        assert_eq!(read_segment(&MemLogFile::new(), "t").unwrap().seq, None);
        let h = segment_header(1, 0);
        for cut in 0..SEGMENT_HEADER {
            assert_eq!(read_segment(&MemLogFile::from_bytes(h[..cut].to_vec()), "t").unwrap().seq, None);
        }
    }

    #[test]
    fn lost_unsynced_frames_are_a_tail_even_with_later_frames_after_them() {
        // Batch or none durability: nothing after LSN 4 was synced.
        let mut b = segment_header(3, 4).to_vec();
        let mut starts = Vec::new();
        for (lsn, p) in [(5u64, &b"one"[..]), (6, b"two"), (7, b"three")] {
            starts.push(b.len());
            b.extend(encode_frame(lsn, 4, p).unwrap());
        }
        // Frame 6 never reached the disk (a hole of zeros); frame 7 did.
        let mut holed = b.clone();
        holed[starts[1]..starts[2]].fill(0);
        let seg = read_segment(&MemLogFile::from_bytes(holed.clone()), "t").unwrap();
        assert_eq!(seg.frames.iter().map(|f| f.lsn).collect::<Vec<_>>(), vec![5]);
        assert_eq!(seg.valid_end as usize, starts[1]);
        // The same hole before a frame that records LSN 6 as synced is damage.
        let mut b2 = b[..starts[2]].to_vec();
        b2.extend(encode_frame(7, 6, b"three").unwrap());
        b2[starts[1]..starts[2]].fill(0);
        assert!(matches!(read_segment(&MemLogFile::from_bytes(b2), "t"), Err(Error::Corrupt(_))));
    }
}
