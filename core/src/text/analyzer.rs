//! The full-text analyzer of the BM25 index: text to terms with positions
//! and byte offsets, and query parsing.
//!
//! # Rules
//!
//! **Chunks.** The text is cut at whitespace (`char::is_whitespace`) into
//! chunks. Each chunk is cut into words by Unicode word segmentation
//! (UAX #29, `unicode-segmentation`'s `unicode_word_indices`).
//!
//! **Words.** Each UAX #29 word is cut further into *pieces*: maximal runs of
//! alphanumeric characters (`char::is_alphanumeric`) and the combining marks
//! that follow them, with apostrophes (`'`, `’`) kept inside a piece when
//! they stand between a piece character and an alphanumeric one. So
//! `don't` and `O’Neill` stay one word each (they are not identifiers),
//! while `SSH_ASKPASS`, `login.defs`, `3.14` and `U.S` (which UAX #29 keeps
//! whole) become the pieces `SSH`, `ASKPASS`, … Each piece takes the next
//! position (positions start at 0).
//!
//! **Folding.** A piece is folded: NFKD (compatibility decomposition),
//! combining marks dropped, lowercased, `ß` → `ss`, `’` → `'`. So `Café` →
//! `cafe`, `ﬁ` → `fi`, `Straße` → `strasse`, `İ` → `i`. ASCII pieces only
//! get ASCII lowercasing (fast path).
//!
//! **Dropping.** A piece whose folded form is longer than [`MAX_TERM_BYTES`]
//! is dropped (not truncated); it still takes its position. A piece that
//! folds to nothing (only marks) is dropped and takes no position. With
//! [`Analyzer::En`], a folded piece that is one of Lucene's classic English
//! stop words (see `stopwords.rs`) takes its position and emits no token;
//! the others are stemmed with the Snowball English stemmer
//! (`rust-stemmers`). [`Analyzer::Simple`] neither stems nor removes stop
//! words.
//!
//! **CJK.** Han, Hiragana, Katakana and Hangul characters are not folded;
//! each maximal run of them that is contiguous in the text (UAX #29 gives
//! Han and kana as single characters, Katakana and Hangul words whole; any
//! other character, whitespace included, ends a run) becomes overlapping
//! bigrams (`東京都` → `東京`, `京都`), each one position, its offsets
//! covering both characters; a run of one character is a unigram. No
//! stemming or stop words apply to them.
//!
//! **Identifiers.** A chunk's *core* is the chunk from its first
//! alphanumeric character to its last one (plus the combining marks after
//! it), extended backwards over the run of `-`, `/`, `.`, `$`, `~`, `_`,
//! `@`, `#`, `\` right before the first alphanumeric character. So sentence
//! punctuation around the chunk (`(`, `"`, a trailing `.`, `,`, `;`, `:`,
//! `)`, `?`, `!`, …) is not part of it, but the leading `--` of
//! `--numeric-owner`, the `/` of `/etc/login.defs` and the `$` of `$HOME`
//! are. The core is an *identifier* when, after its first alphanumeric
//! character, it holds only alphanumeric characters, combining marks and the
//! connectors `-` `_` `.` `/` `\` `:` `@` `#` `+` `~` `=` `&`, at least one
//! connector, and no CJK character. For an identifier, besides its pieces
//! (which are ordinary words, stemmed and stop-filtered with `En`), a
//! *whole* token (`whole: true`) is emitted: the folded core, not stemmed,
//! not stop-filtered, dropped when longer than [`MAX_TERM_BYTES`], at the
//! position of the first piece, with the core's byte range. Also, each
//! segment of the identifier between `/`, `\` or `:` separators that is
//! itself compound (from its first to its last alphanumeric character it
//! holds a connector) gets a whole token of its own (when it differs from
//! the identifier's), at the position of its first piece: `/etc/login.defs`
//! gives the whole tokens `/etc/login.defs` and `login.defs`, and the words
//! `etc`, `login`, `defs`; `std::fs::read_to_string` gives
//! `std::fs::read_to_string` and `read_to_string`. Examples: `e2e-test`,
//! `SSH_ASKPASS`, `os.path.join`, `U.S.` (core `U.S`) and `well-known` are
//! identifiers; `--verbose`, `$HOME` and `don't` are not (no connector
//! between alphanumeric characters).
//!
//! **Order.** Tokens come in order of `start`; a whole token comes right
//! before its first piece. Every non-whole token has a distinct position,
//! increasing with `start`.
//!
//! **Queries.** [`parse_query`]: text between double quotes (`"`, or `“`
//! and `”`, any of them opening or closing) is a phrase; an unmatched
//! opening quote makes the rest of the query a phrase. Everything is
//! analyzed as above; `terms` holds every distinct term (whole tokens and
//! phrase words included), sorted. A phrase is its non-whole tokens with
//! positions relative to its first one; stop words keep their gaps, so
//! `"state of the art"` is `(0, state), (3, art)` and matches
//! `the state of the art` (and any text with `state` three positions before
//! `art`). A phrase of fewer than two tokens is not kept as a phrase (its
//! term stays in `terms`); equal phrases are kept once.

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::char::{decompose_compatible, is_combining_mark};
use unicode_segmentation::UnicodeSegmentation;

use super::stopwords::is_english_stop_word;

/// Which analyzer a text field uses. Stored in schemas (bincode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, bincode::Encode, bincode::Decode)]
pub enum Analyzer {
    /// Segmentation, folding, English stop words and Snowball stemming.
    #[default]
    En,
    /// Segmentation and folding only.
    Simple,
}

impl Analyzer {
    /// The analyzer's name: `"en"` or `"simple"`.
    pub fn name(self) -> &'static str {
        match self {
            Analyzer::En => "en",
            Analyzer::Simple => "simple",
        }
    }

    /// The analyzer of a name (as [`Analyzer::name`] gives it, ASCII case
    /// ignored).
    pub fn from_name(s: &str) -> Option<Analyzer> {
        if s.eq_ignore_ascii_case("en") {
            Some(Analyzer::En)
        } else if s.eq_ignore_ascii_case("simple") {
            Some(Analyzer::Simple)
        } else {
            None
        }
    }
}

/// Longest term kept, in bytes (longer tokens are dropped, not truncated).
pub const MAX_TERM_BYTES: usize = 64;

/// One token of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The indexed form (lowercased, folded, stemmed for `En`).
    pub term: String,
    /// Word position.
    pub position: u32,
    /// Byte range in the original text (for highlights).
    pub start: usize,
    pub end: usize,
    /// True only for the extra whole-identifier token.
    pub whole: bool,
}

/// Tokens of a text, in order of `start` (a whole-identifier token comes
/// right before its first part).
pub fn analyze(analyzer: Analyzer, text: &str) -> Vec<Token> {
    let mut e = Emitter::new(analyzer, text);
    let mut chunk_start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = chunk_start.take() {
                e.chunk(s, i);
            }
        } else if chunk_start.is_none() {
            chunk_start = Some(i);
        }
    }
    if let Some(s) = chunk_start {
        e.chunk(s, text.len());
    }
    e.tokens
}

/// A parsed query: distinct terms and quoted phrases.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextQuery {
    /// Every distinct term of the query (phrase words included,
    /// whole-identifier tokens included), sorted, deduplicated.
    pub terms: Vec<String>,
    /// Each quoted phrase as its non-whole tokens: (position relative to the
    /// phrase's first token, term).
    pub phrases: Vec<Vec<(u32, String)>>,
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}')
}

/// Parses a query: quoted spans are phrases, the rest plain terms.
pub fn parse_query(analyzer: Analyzer, query: &str) -> TextQuery {
    let mut terms = Vec::new();
    let mut phrases: Vec<Vec<(u32, String)>> = Vec::new();
    let mut rest = query;
    let mut in_phrase = false;
    loop {
        let (span, next) = match rest.char_indices().find(|&(_, c)| is_quote(c)) {
            Some((i, c)) => (&rest[..i], Some(&rest[i + c.len_utf8()..])),
            None => (rest, None),
        };
        let tokens = analyze(analyzer, span);
        if in_phrase {
            let mut first = None;
            let phrase: Vec<(u32, String)> = tokens
                .iter()
                .filter(|t| !t.whole)
                .map(|t| {
                    let base = *first.get_or_insert(t.position);
                    (t.position - base, t.term.clone())
                })
                .collect();
            if phrase.len() >= 2 && !phrases.contains(&phrase) {
                phrases.push(phrase);
            }
        }
        terms.extend(tokens.into_iter().map(|t| t.term));
        match next {
            Some(n) => {
                rest = n;
                in_phrase = !in_phrase;
            }
            None => break,
        }
    }
    terms.sort_unstable();
    terms.dedup();
    TextQuery { terms, phrases }
}

/// Whether the tokens of a document field (from [`analyze`]) contain the
/// phrase: its non-whole tokens at the same relative positions. An empty
/// phrase is contained in anything.
pub fn phrase_matches(tokens: &[Token], phrase: &[(u32, String)]) -> bool {
    let Some((r0, t0)) = phrase.first() else {
        return true;
    };
    let mut words: Vec<(u32, &str)> =
        tokens.iter().filter(|t| !t.whole).map(|t| (t.position, t.term.as_str())).collect();
    if !words.is_sorted_by_key(|w| w.0) {
        words.sort_by_key(|w| w.0);
    }
    let has = |p: u32, term: &str| {
        let i = words.partition_point(|w| w.0 < p);
        words[i..].iter().take_while(|w| w.0 == p).any(|w| w.1 == term)
    };
    words.iter().any(|&(p, t)| {
        t == t0
            && p.checked_sub(*r0).is_some_and(|base| {
                phrase[1..].iter().all(|(r, term)| base.checked_add(*r).is_some_and(|q| has(q, term)))
            })
    })
}

/// Han, Hiragana, Katakana, Hangul (and their extensions, compatibility and
/// half-width forms, iteration marks).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF // Hangul Jamo
        | 0x2E80..=0x2FDF // CJK and Kangxi radicals
        | 0x3005..=0x3007 // 々 〆 〇
        | 0x3021..=0x3029 // Hangzhou numerals
        | 0x3031..=0x3035 // kana repeat marks
        | 0x303B..=0x303C
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x3130..=0x318F // Hangul compatibility Jamo
        | 0x31F0..=0x31FF // Katakana phonetic extensions
        | 0x3400..=0x4DBF // Han extension A
        | 0x4E00..=0x9FFF // Han
        | 0xA960..=0xA97F // Hangul Jamo extended A
        | 0xAC00..=0xD7FF // Hangul syllables, Jamo extended B
        | 0xF900..=0xFAFF // Han compatibility
        | 0xFF66..=0xFFDC // half-width Katakana and Hangul
        | 0x1B000..=0x1B16F // kana supplement and extensions
        | 0x20000..=0x3FFFF // Han extensions B and later
    )
}

fn is_connector(c: char) -> bool {
    matches!(c, '-' | '_' | '.' | '/' | '\\' | ':' | '@' | '#' | '+' | '~' | '=' | '&')
}

fn is_lead_keep(c: char) -> bool {
    matches!(c, '-' | '/' | '.' | '$' | '~' | '_' | '@' | '#' | '\\')
}

fn is_segment_separator(c: char) -> bool {
    matches!(c, '/' | '\\' | ':')
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}')
}

/// Folds `s` into `out` (cleared first): NFKD, combining marks dropped,
/// lowercased, `ß` → `ss`, `’` → `'`. Returns false (with `out` partial) as
/// soon as the result is longer than [`MAX_TERM_BYTES`].
fn fold_into(s: &str, out: &mut String) -> bool {
    out.clear();
    if s.is_ascii() {
        if s.len() > MAX_TERM_BYTES {
            return false;
        }
        out.push_str(s);
        out.make_ascii_lowercase();
        return true;
    }
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            decompose_compatible(c, |d| {
                if is_combining_mark(d) {
                    return;
                }
                for l in d.to_lowercase() {
                    match l {
                        'ß' => out.push_str("ss"),
                        '\u{2019}' => out.push('\''),
                        l => out.push(l),
                    }
                }
            });
        }
        if out.len() > MAX_TERM_BYTES {
            return false;
        }
    }
    true
}

/// The core of a chunk (see the module doc), as a byte range of `chunk`,
/// when it is an identifier.
fn identifier_core(chunk: &str) -> Option<(usize, usize)> {
    let first = chunk.char_indices().find(|(_, c)| c.is_alphanumeric())?.0;
    let end = alnum_end(chunk);
    let mut has_connector = false;
    for c in chunk[first..end].chars() {
        if is_cjk(c) {
            return None;
        }
        if c.is_alphanumeric() || is_combining_mark(c) {
            continue;
        }
        if !is_connector(c) {
            return None;
        }
        has_connector = true;
    }
    if !has_connector {
        return None;
    }
    let mut start = first;
    for (i, c) in chunk[..first].char_indices().rev() {
        if !is_lead_keep(c) {
            break;
        }
        start = i;
    }
    Some((start, end))
}

/// The end of the last alphanumeric character of `s` and the combining
/// marks right after it (0 when there is none).
fn alnum_end(s: &str) -> usize {
    let mut end = 0;
    for (i, c) in s.char_indices() {
        if c.is_alphanumeric() || (is_combining_mark(c) && end == i && end > 0) {
            end = i + c.len_utf8();
        }
    }
    end
}

struct Emitter<'a> {
    text: &'a str,
    stemmer: Option<Stemmer>,
    tokens: Vec<Token>,
    /// The next position.
    pos: u32,
    buf: String,
    /// The last CJK character of the current run, and the run's length.
    cjk_prev: (usize, usize),
    cjk_len: usize,
    /// Whole tokens waiting for their first piece: (start, end, term), by
    /// start; `pending_next` is the first not emitted.
    pending: Vec<(usize, usize, String)>,
    pending_next: usize,
}

impl<'a> Emitter<'a> {
    fn new(analyzer: Analyzer, text: &'a str) -> Self {
        Emitter {
            text,
            stemmer: match analyzer {
                Analyzer::En => Some(Stemmer::create(Algorithm::English)),
                Analyzer::Simple => None,
            },
            tokens: Vec::with_capacity(text.len() / 6 + 1),
            pos: 0,
            buf: String::with_capacity(MAX_TERM_BYTES + 8),
            cjk_prev: (0, 0),
            cjk_len: 0,
            pending: Vec::new(),
            pending_next: 0,
        }
    }

    fn next_pos(&mut self) -> u32 {
        let p = self.pos;
        self.pos = self.pos.saturating_add(1);
        p
    }

    fn push(&mut self, term: String, position: u32, start: usize, end: usize, whole: bool) {
        self.tokens.push(Token { term, position, start, end, whole });
    }

    /// One whitespace-free chunk, `text[cs..ce]`.
    fn chunk(&mut self, cs: usize, ce: usize) {
        let chunk = &self.text[cs..ce];
        if let Some((s, e)) = identifier_core(chunk) {
            self.identifier(cs + s, cs + e);
        }
        for (wo, w) in chunk.unicode_word_indices() {
            self.word(cs + wo, w);
        }
        self.flush_cjk();
        self.pending.clear();
        self.pending_next = 0;
    }

    /// Queues the whole tokens of the identifier `text[s..e]`.
    fn identifier(&mut self, s: usize, e: usize) {
        let core = &self.text[s..e];
        let mut buf = String::new();
        if !fold_into(core, &mut buf) {
            buf.clear();
        }
        let whole = buf;
        let has_segments = core.contains(is_segment_separator);
        if !whole.is_empty() {
            self.pending.push((s, e, whole.clone()));
        }
        if !has_segments {
            return;
        }
        let mut seg_start = 0;
        for seg in core.split(is_segment_separator) {
            let st = seg_start;
            seg_start += seg.len() + 1;
            let Some((first, _)) = seg.char_indices().find(|(_, c)| c.is_alphanumeric()) else {
                continue;
            };
            let end = alnum_end(seg);
            if !seg[first..end].contains(is_connector) {
                continue;
            }
            let mut term = String::new();
            if fold_into(&seg[first..end], &mut term) && term != whole {
                self.pending.push((s + st + first, s + st + end, term));
            }
        }
    }

    /// One UAX #29 word at `text[ws..]`: its pieces and CJK characters.
    fn word(&mut self, ws: usize, w: &str) {
        let mut piece_start = None;
        let mut chars = w.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let at = ws + i;
            if is_cjk(c) {
                if let Some(st) = piece_start.take() {
                    self.piece(st, at);
                }
                self.cjk(at, at + c.len_utf8());
            } else if c.is_alphanumeric() {
                piece_start.get_or_insert(at);
            } else if piece_start.is_some()
                && (is_combining_mark(c)
                    || (is_apostrophe(c) && chars.peek().is_some_and(|&(_, n)| n.is_alphanumeric() && !is_cjk(n))))
            {
                // part of the piece
            } else if let Some(st) = piece_start.take() {
                self.piece(st, at);
            }
        }
        if let Some(st) = piece_start {
            self.piece(st, ws + w.len());
        }
    }

    /// One piece, `text[s..e]`.
    fn piece(&mut self, s: usize, e: usize) {
        self.flush_cjk();
        let fits = fold_into(&self.text[s..e], &mut self.buf);
        if fits && self.buf.is_empty() {
            return;
        }
        let p = self.next_pos();
        while let Some((ws, we, _)) = self.pending.get(self.pending_next) {
            if *ws > s {
                break;
            }
            let (ws, we) = (*ws, *we);
            let term = std::mem::take(&mut self.pending[self.pending_next].2);
            self.pending_next += 1;
            self.push(term, p, ws, we, true);
        }
        if !fits {
            return;
        }
        let term = match &self.stemmer {
            Some(stemmer) => {
                if is_english_stop_word(&self.buf) {
                    return;
                }
                stemmer.stem(&self.buf).into_owned()
            }
            None => self.buf.clone(),
        };
        if !term.is_empty() && term.len() <= MAX_TERM_BYTES {
            self.push(term, p, s, e, false);
        }
    }

    /// One CJK character, `text[s..e]`.
    fn cjk(&mut self, s: usize, e: usize) {
        if self.cjk_len > 0 && self.cjk_prev.1 == s {
            let p = self.next_pos();
            let ps = self.cjk_prev.0;
            self.push(self.text[ps..e].to_owned(), p, ps, e, false);
            self.cjk_len += 1;
        } else {
            self.flush_cjk();
            self.cjk_len = 1;
        }
        self.cjk_prev = (s, e);
    }

    /// Ends the current CJK run (a run of one character is a unigram).
    fn flush_cjk(&mut self) {
        if self.cjk_len == 1 {
            let (s, e) = self.cjk_prev;
            let p = self.next_pos();
            self.push(self.text[s..e].to_owned(), p, s, e, false);
        }
        self.cjk_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(a: Analyzer, text: &str) -> Vec<String> {
        analyze(a, text).into_iter().map(|t| t.term).collect()
    }

    #[test]
    fn basic_en() {
        assert_eq!(terms(Analyzer::En, "The quick brown foxes are running"), ["quick", "brown", "fox", "run"]);
    }
}
