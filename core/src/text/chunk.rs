//! Splitting text into passages for embedding: paragraph- and
//! sentence-aware, bounded by a token budget, with overlap.
//!
//! The text is cut into *units*: sentences, within paragraphs (blank lines
//! separate paragraphs). A unit longer than the budget is cut at whitespace,
//! and a word longer than the budget at character boundaries. Units are then
//! packed greedily into chunks of at most `max_tokens`; a chunk closes early
//! at a paragraph boundary once it is half full. Each next chunk starts with
//! the trailing units of the previous one that fit in `overlap_tokens`.
//!
//! Chunks are spans of the original text (byte offsets on `char`
//! boundaries), trimmed of surrounding whitespace, so a passage can be shown
//! in place. Token counts come from the caller (the embedder's tokenizer);
//! counting units separately can differ slightly from counting their join,
//! which the embedder's own truncation absorbs.

use std::ops::Range;

/// Chunking limits, in tokens of the caller's counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    /// Most tokens in a chunk (at least 1).
    pub max_tokens: usize,
    /// Tokens of the previous chunk's tail repeated at the start of the next
    /// (less than `max_tokens`; 0 for none).
    pub overlap_tokens: usize,
}

/// One passage: a byte range of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Byte offsets in the text (on `char` boundaries).
    pub range: Range<usize>,
    /// Tokens, as the sum of its units' counts.
    pub tokens: usize,
}

#[derive(Debug, Clone)]
struct Unit {
    range: Range<usize>,
    tokens: usize,
    /// Whether a new paragraph starts with this unit.
    para_start: bool,
}

/// Whitespace-trimmed sub-range of `r` in `text`.
fn trim(text: &str, r: Range<usize>) -> Range<usize> {
    let s = &text[r.clone()];
    let start = r.start + (s.len() - s.trim_start().len());
    let end = r.end - (s.len() - s.trim_end().len());
    start..end.max(start)
}

/// Paragraph ranges: separated by lines that are empty or only whitespace.
fn paragraphs(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    let mut blank_run = false;
    for line in text.split_inclusive('\n') {
        let blank = line.trim().is_empty();
        if blank && !blank_run && pos > start {
            out.push(start..pos);
        }
        if blank {
            start = pos + line.len();
        }
        blank_run = blank;
        pos += line.len();
    }
    if pos > start {
        out.push(start..pos);
    }
    out.into_iter().map(|r| trim(text, r)).filter(|r| !r.is_empty()).collect()
}

/// Sentence ranges within `para`: a sentence ends after `.`, `!`, `?` (or
/// their CJK forms) followed by whitespace, or after a CJK stop.
fn sentences(text: &str, para: Range<usize>) -> Vec<Range<usize>> {
    let s = &text[para.clone()];
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = i + c.len_utf8();
        let cut = match c {
            '。' | '！' | '？' => true,
            '.' | '!' | '?' => chars.peek().is_some_and(|(_, n)| n.is_whitespace()),
            _ => false,
        };
        if cut {
            out.push(para.start + start..para.start + end);
            start = end;
        }
    }
    if start < s.len() {
        out.push(para.start + start..para.end);
    }
    out.into_iter().map(|r| trim(text, r)).filter(|r| !r.is_empty()).collect()
}

/// Cuts `r` into pieces of at most `max` tokens: at whitespace, and inside
/// a word at `char` boundaries when the word alone is too long.
fn split_long(text: &str, r: Range<usize>, max: usize, count: &dyn Fn(&str) -> usize) -> Vec<(Range<usize>, usize)> {
    let mut words: Vec<Range<usize>> = Vec::new();
    let s = &text[r.clone()];
    let mut word_start: Option<usize> = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), word_start) {
            (false, None) => word_start = Some(i),
            (true, Some(ws)) => {
                words.push(r.start + ws..r.start + i);
                word_start = None;
            }
            _ => {}
        }
    }
    if let Some(ws) = word_start {
        words.push(r.start + ws..r.end);
    }
    let mut pieces: Vec<(Range<usize>, usize)> = Vec::new();
    let mut cur: Option<Range<usize>> = None;
    for w in words {
        let wt = count(&text[w.clone()]);
        if wt > max {
            if let Some(c) = cur.take() {
                pieces.push((c.clone(), count(&text[c])));
            }
            // A word too long on its own: cut at char boundaries.
            let mut start = w.start;
            while start < w.end {
                let mut end = start;
                for (i, ch) in text[start..w.end].char_indices() {
                    let next = start + i + ch.len_utf8();
                    if end > start && count(&text[start..next]) > max {
                        break;
                    }
                    end = next;
                }
                pieces.push((start..end, count(&text[start..end])));
                start = end;
            }
            continue;
        }
        cur = match cur {
            None => Some(w),
            Some(c) => {
                let joined = c.start..w.end;
                if count(&text[joined.clone()]) <= max {
                    Some(joined)
                } else {
                    pieces.push((c.clone(), count(&text[c])));
                    Some(w)
                }
            }
        };
    }
    if let Some(c) = cur {
        pieces.push((c.clone(), count(&text[c])));
    }
    pieces
}

/// Splits `text` into chunks (see the module docs). `count` gives the tokens
/// of a piece of text. Empty or all-whitespace text gives no chunks.
pub fn chunk(text: &str, opts: &ChunkOptions, count: &dyn Fn(&str) -> usize) -> Vec<Chunk> {
    let max = opts.max_tokens.max(1);
    let overlap = opts.overlap_tokens.min(max - 1);
    let mut units: Vec<Unit> = Vec::new();
    for para in paragraphs(text) {
        let mut first = true;
        for s in sentences(text, para) {
            let t = count(&text[s.clone()]);
            let pieces = if t > max { split_long(text, s, max, count) } else { vec![(s, t)] };
            for (range, tokens) in pieces {
                units.push(Unit { range, tokens, para_start: first });
                first = false;
            }
        }
    }
    let mut chunks = Vec::new();
    let mut i = 0;
    // The first unit no chunk holds yet: every chunk takes it.
    let mut first_new = 0;
    while i < units.len() {
        // Pack units i..j.
        let mut j = i;
        let mut tokens = 0;
        while j < units.len() {
            let u = &units[j];
            if j > first_new && (tokens + u.tokens > max || (u.para_start && tokens * 2 >= max)) {
                break;
            }
            tokens += u.tokens;
            j += 1;
        }
        first_new = j;
        chunks.push(Chunk { range: units[i].range.start..units[j - 1].range.end, tokens });
        if j >= units.len() {
            break;
        }
        // The next chunk starts with the tail of this one that fits in the
        // overlap, but always moves forward.
        // The tail must leave room for unit j, so the next chunk ends later.
        let room = overlap.min(max - units[j].tokens.min(max));
        let mut k = j;
        let mut tail = 0;
        while k > i + 1 && tail + units[k - 1].tokens <= room {
            tail += units[k - 1].tokens;
            k -= 1;
        }
        i = k;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> usize {
        s.split_whitespace().count()
    }

    fn texts<'a>(text: &'a str, chunks: &[Chunk]) -> Vec<&'a str> {
        chunks.iter().map(|c| &text[c.range.clone()]).collect()
    }

    const OPTS: ChunkOptions = ChunkOptions { max_tokens: 12, overlap_tokens: 4 };

    #[test]
    fn empty_and_blank_text_give_nothing() {
        assert!(chunk("", &OPTS, &words).is_empty());
        assert!(chunk(" \n\n\t \n", &OPTS, &words).is_empty());
    }

    #[test]
    fn short_text_is_one_chunk_even_shorter_than_the_overlap() {
        let c = chunk("  Hi there.  ", &OPTS, &words);
        assert_eq!(texts("  Hi there.  ", &c), ["Hi there."]);
        assert_eq!(c[0].tokens, 2);
    }

    #[test]
    fn sentences_pack_with_overlap_and_paragraphs_break() {
        let text = "One two three. Four five six. Seven eight nine. Ten eleven twelve.\n\n\
                    New paragraph here. And more of it.";
        let c = chunk(text, &OPTS, &words);
        let t = texts(text, &c);
        assert_eq!(t[0], "One two three. Four five six. Seven eight nine. Ten eleven twelve.");
        // The overlap repeats the last sentence (3 tokens <= 4), then the
        // next paragraph follows.
        assert_eq!(t[1], "Ten eleven twelve.\n\nNew paragraph here. And more of it.");
        for c in &c {
            assert!(c.tokens <= 12);
        }
    }

    #[test]
    fn every_word_is_covered_in_order() {
        let text: String = (0..500).map(|i| format!("w{i}{}", if i % 7 == 6 { ". " } else { " " })).collect();
        let c = chunk(&text, &OPTS, &words);
        let mut seen: Vec<&str> = Vec::new();
        for piece in texts(&text, &c) {
            assert!(words(piece) <= 12, "{piece:?}");
            for w in piece.split_whitespace() {
                if seen.last() != Some(&w) && !seen.contains(&w) {
                    seen.push(w);
                }
            }
        }
        let all: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(seen, all);
        // Consecutive chunks move forward.
        for w in c.windows(2) {
            assert!(w[1].range.start > w[0].range.start && w[1].range.end > w[0].range.end);
        }
    }

    #[test]
    fn one_huge_paragraph_without_punctuation_is_cut_at_words() {
        let text = "word ".repeat(100);
        let c = chunk(&text, &OPTS, &words);
        assert!(c.len() >= 9);
        assert!(c.iter().all(|c| c.tokens <= 12 && c.tokens > 0));
        assert_eq!(c.last().unwrap().range.end, text.trim_end().len());
    }

    #[test]
    fn unicode_and_a_word_longer_than_the_budget() {
        // Count characters as tokens: a 40-character word must be cut inside.
        let chars = |s: &str| s.chars().count();
        let opts = ChunkOptions { max_tokens: 10, overlap_tokens: 0 };
        let text = "日本語の文です。ÉtÉ à Zürich! naïve-ünïcödé-wörd-that-is-much-longer-than-ten";
        let c = chunk(text, &opts, &chars);
        let t = texts(text, &c);
        assert!(c.iter().all(|c| c.tokens <= 10), "{t:?}");
        assert_eq!(t[0], "日本語の文です。");
        let joined: String = t.concat();
        let expect: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(joined.chars().filter(|c| !c.is_whitespace()).collect::<String>(), expect);
    }

    #[test]
    fn random_texts_keep_every_rule() {
        let mut rng = crate::storage::crash::Rng::new(5);
        let pieces =
            ["alpha", "beta.", "Gamma!", "δέλτα", "日本。", "x", "\n\n", "\n", "  ", "long-word-with-many-parts"];
        for round in 0..300 {
            let n = rng.below(80) as usize;
            let text: String =
                (0..n).map(|_| format!("{} ", pieces[rng.below(pieces.len() as u64) as usize])).collect();
            let max = 1 + rng.below(15) as usize;
            let opts = ChunkOptions { max_tokens: max, overlap_tokens: rng.below(max as u64 + 3) as usize };
            let chars = |s: &str| s.chars().filter(|c| !c.is_whitespace()).count().div_ceil(4);
            let c = chunk(&text, &opts, &chars);
            assert_eq!(c.is_empty(), text.trim().is_empty(), "round {round}");
            for (i, ch) in c.iter().enumerate() {
                let piece = &text[ch.range.clone()];
                assert!(ch.tokens <= max, "round {round}: {piece:?} has {} > {max}", ch.tokens);
                assert_eq!(piece, piece.trim(), "round {round}: untrimmed");
                assert!(!piece.is_empty());
                if i > 0 {
                    let prev = &c[i - 1];
                    assert!(ch.range.start > prev.range.start && ch.range.end > prev.range.end, "round {round}");
                    // No gap: every non-space byte between chunks is covered.
                    assert!(
                        text[prev.range.end..ch.range.start.max(prev.range.end)].trim().is_empty(),
                        "round {round}"
                    );
                }
            }
            if let (Some(first), Some(last)) = (c.first(), c.last()) {
                assert!(text[..first.range.start].trim().is_empty() && text[last.range.end..].trim().is_empty());
            }
        }
    }

    #[test]
    fn overlap_never_stalls_and_zero_budget_is_clamped() {
        let text = "a. b. c. d. e. f.";
        let c = chunk(text, &ChunkOptions { max_tokens: 1, overlap_tokens: 5 }, &words);
        assert_eq!(texts(text, &c), ["a.", "b.", "c.", "d.", "e.", "f."]);
        let c = chunk(text, &ChunkOptions { max_tokens: 0, overlap_tokens: 0 }, &words);
        assert_eq!(c.len(), 6);
    }
}
