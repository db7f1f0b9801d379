//! The full-text analyzer of the BM25 index: text to terms with positions
//! and byte offsets, and query parsing.
//!
//! # Rules
//!
//! **Chunks.** The text is cut into chunks at whitespace
//! (`char::is_whitespace`) and at the characters `(` `)` `[` `]` `{` `}`
//! `<` `>` `,` `;` `"` `` ` `` `|` `?` `!` `*` `“` `”` `‘` `«` `»` (so
//! `os.path.join(a,` gives the chunks `os.path.join` and `a`; the apostrophe
//! `’` does not cut). Each chunk is cut into words by Unicode word
//! segmentation (UAX #29, `unicode-segmentation`'s `unicode_word_indices`).
//! Chunks only matter for identifiers (below): the pieces (below) are the
//! same as on the whole text, all those characters being word breaks or
//! piece breaks.
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
//! (`rust-stemmers`; stems are cached per thread, at most 32768 of them). [`Analyzer::Simple`] neither stems nor removes stop
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
//! `@`, `#`, `\` right before the first alphanumeric character. So
//! punctuation around it (a leading `'`, a trailing `.`, `:`, `'`, `-`, …;
//! brackets, quotes, `,`, `;`, `?` and `!` already cut chunks) is not part
//! of it, but the leading `--` of
//! `--numeric-owner`, the `/` of `/etc/login.defs` and the `$` of
//! `$SSH_ASKPASS` are. The core is an *identifier* when, after its first alphanumeric
//! character, it holds only alphanumeric characters, combining marks and the
//! connectors `-` `_` `.` `/` `\` `:` `@` `#` `+` `~` `=` `&`, at least one
//! connector, and no CJK character. For an identifier, besides its pieces
//! (which are ordinary words, stemmed and stop-filtered with `En`), a
//! *whole* token (`whole: true`) is emitted: the folded core, not stemmed,
//! not stop-filtered, dropped when longer than [`MAX_TERM_BYTES`], at the
//! position of the first piece (emitted even when, with `En`, every piece is
//! a stop word: `the-a`), with the core's byte range. Also, each
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
//! before the token of its first piece (or before the identifier's next
//! whole token or piece token, when a stop word leaves the first piece
//! without one). Every non-whole token has a distinct position, increasing
//! with `start`.
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
//! term stays in `terms`); equal phrases are kept once. A stop-word-only or
//! empty query has no terms and no phrases. [`phrase_matches`] expects the
//! document's tokens from [`analyze`] with the query's analyzer.
//!
//! Whole tokens make exact identifier queries rank higher, but a query's
//! whole token need not be in a matching document: `etc/login.defs` (no
//! leading `/`) has the whole token `etc/login.defs`, which
//! `/etc/login.defs` lacks; its pieces match. So a search should rank by
//! the terms (BM25 over any of them) rather than require every term.

use std::cell::RefCell;
use std::collections::HashMap;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::char::{decompose_compatible, is_combining_mark};
use unicode_segmentation::UnicodeSegmentation;
use xxhash_rust::xxh3::Xxh3DefaultBuilder;

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
/// right before its first part; see the module doc for the rules).
pub fn analyze(analyzer: Analyzer, text: &str) -> Vec<Token> {
    let mut e = Emitter::new(analyzer, text);
    let mut chunk_start = None;
    for (i, c) in text.char_indices() {
        if is_chunk_break(c) {
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

/// Whitespace, brackets, quotes (not apostrophes) and sentence punctuation
/// other than the connectors: they end a chunk.
fn is_chunk_break(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '(' | ')'
                | '['
                | ']'
                | '{'
                | '}'
                | '<'
                | '>'
                | ','
                | ';'
                | '"'
                | '`'
                | '|'
                | '?'
                | '!'
                | '*'
                | '\u{201C}'
                | '\u{201D}'
                | '\u{2018}'
                | '\u{00AB}'
                | '\u{00BB}'
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
    // Every connector is ASCII: a quick look first.
    if !chunk.bytes().any(|b| b.is_ascii() && is_connector(b as char)) {
        return None;
    }
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

/// Most stems kept per thread; the cache is emptied when full.
const STEM_CACHE_MAX: usize = 1 << 15;

thread_local! {
    /// Stems of recent words (stemming is most of `En`'s cost, and the words
    /// of a corpus repeat).
    static STEMS: RefCell<HashMap<Box<str>, Box<str>, Xxh3DefaultBuilder>> =
        const { RefCell::new(HashMap::with_hasher(Xxh3DefaultBuilder)) };
}

/// `stemmer.stem(word)`, through the cache.
fn stem_cached(stemmer: &Stemmer, word: &str) -> String {
    STEMS.with_borrow_mut(|stems| {
        if let Some(stem) = stems.get(word) {
            return String::from(&**stem);
        }
        let stem = stemmer.stem(word).into_owned();
        if stems.len() >= STEM_CACHE_MAX {
            stems.clear();
        }
        stems.insert(word.into(), stem.as_str().into());
        stem
    })
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
            tokens: Vec::with_capacity((text.len() / 6).min(4096)),
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
                stem_cached(stemmer, &self.buf)
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

    /// (term, position, text at the offsets, whole)
    fn detail(a: Analyzer, text: &str) -> Vec<(String, u32, String, bool)> {
        analyze(a, text).into_iter().map(|t| (t.term, t.position, text[t.start..t.end].to_owned(), t.whole)).collect()
    }

    fn tok(term: &str, pos: u32, src: &str, whole: bool) -> (String, u32, String, bool) {
        (term.to_owned(), pos, src.to_owned(), whole)
    }

    fn q(a: Analyzer, query: &str) -> TextQuery {
        parse_query(a, query)
    }

    /// Whether a document has every term and phrase of the query.
    fn matches_query(a: Analyzer, doc: &str, query: &str) -> bool {
        let tokens = analyze(a, doc);
        let parsed = parse_query(a, query);
        !parsed.terms.is_empty()
            && parsed.terms.iter().all(|t| tokens.iter().any(|d| &d.term == t))
            && parsed.phrases.iter().all(|p| phrase_matches(&tokens, p))
    }

    /// Whether a document has every non-whole term of the query, and its
    /// phrases (how a search ranking by BM25 over terms sees it).
    fn matches_words(a: Analyzer, doc: &str, query: &str) -> bool {
        let tokens = analyze(a, doc);
        let words: Vec<Token> = analyze(a, query).into_iter().filter(|t| !t.whole).collect();
        let parsed = parse_query(a, query);
        !words.is_empty()
            && words.iter().all(|w| tokens.iter().any(|d| d.term == w.term))
            && parsed.phrases.iter().all(|p| phrase_matches(&tokens, p))
    }

    #[test]
    fn names_round_trip() {
        for a in [Analyzer::En, Analyzer::Simple] {
            assert_eq!(Analyzer::from_name(a.name()), Some(a));
        }
        assert_eq!(Analyzer::En.name(), "en");
        assert_eq!(Analyzer::Simple.name(), "simple");
        assert_eq!(Analyzer::from_name("SIMPLE"), Some(Analyzer::Simple));
        assert_eq!(Analyzer::from_name("english"), None);
        assert_eq!(Analyzer::default(), Analyzer::En);
    }

    #[test]
    fn bincode_round_trip() {
        let config = bincode::config::standard();
        for a in [Analyzer::En, Analyzer::Simple] {
            let bytes = bincode::encode_to_vec(a, config).unwrap();
            let (back, _): (Analyzer, usize) = bincode::decode_from_slice(&bytes, config).unwrap();
            assert_eq!(back, a);
        }
    }

    #[test]
    fn stems_and_stop_words() {
        assert_eq!(terms(Analyzer::En, "The quick brown foxes are running"), ["quick", "brown", "fox", "run"]);
        assert_eq!(terms(Analyzer::En, "runs running run"), ["run", "run", "run"]);
        assert_eq!(terms(Analyzer::En, "Connections"), ["connect"]);
        assert_eq!(terms(Analyzer::Simple, "The foxes are running"), ["the", "foxes", "are", "running"]);
        // Positions: stop words take theirs.
        let d = detail(Analyzer::En, "the state of the art");
        assert_eq!(d, [tok("state", 1, "state", false), tok("art", 4, "art", false)]);
    }

    #[test]
    fn folding() {
        assert_eq!(terms(Analyzer::Simple, "Café CAFÉ cafe\u{301}"), ["cafe", "cafe", "cafe"]);
        assert_eq!(terms(Analyzer::Simple, "ﬁle Ⅸ"), ["file", "ix"]);
        assert_eq!(terms(Analyzer::Simple, "Straße STRASSE"), ["strasse", "strasse"]);
        assert_eq!(terms(Analyzer::Simple, "Ελληνικά"), ["ελληνικα"]);
        assert_eq!(terms(Analyzer::Simple, "İstanbul"), ["istanbul"]);
        assert_eq!(terms(Analyzer::En, "naïve résumés"), ["naiv", "resum"]);
        // Offsets are in the original text, accents included.
        let d = detail(Analyzer::Simple, "un café noir");
        assert_eq!(d[1], tok("cafe", 1, "café", false));
    }

    #[test]
    fn apostrophes_are_ordinary_words() {
        let d = detail(Analyzer::Simple, "don't O’Neill's");
        assert_eq!(d, [tok("don't", 0, "don't", false), tok("o'neill's", 1, "O’Neill's", false)]);
        assert!(analyze(Analyzer::En, "don't").iter().all(|t| !t.whole));
        assert!(matches_query(Analyzer::En, "O’Neill's house", "o'neill"));
    }

    #[test]
    fn cjk_bigrams() {
        let d = detail(Analyzer::En, "東京都");
        assert_eq!(d, [tok("東京", 0, "東京", false), tok("京都", 1, "京都", false)]);
        assert_eq!(detail(Analyzer::En, "東"), [tok("東", 0, "東", false)]);
        let d = detail(Analyzer::En, "Rust语言编程 test");
        assert_eq!(
            d,
            [
                tok("rust", 0, "Rust", false),
                tok("语言", 1, "语言", false),
                tok("言编", 2, "言编", false),
                tok("编程", 3, "编程", false),
                tok("test", 4, "test", false),
            ]
        );
        // Katakana (one UAX #29 word) and Hiragana (single characters);
        // punctuation ends a run.
        assert_eq!(terms(Analyzer::En, "カタカナ、ひらがな"), ["カタ", "タカ", "カナ", "ひら", "らが", "がな"]);
        // Hangul words are bigrammed too; a space ends a run.
        assert_eq!(terms(Analyzer::En, "한국어 문"), ["한국", "국어", "문"]);
        // Two separate single characters are unigrams.
        assert_eq!(terms(Analyzer::En, "東 京"), ["東", "京"]);
        assert!(matches_query(Analyzer::En, "東京都に住む", "\"東京都\""));
        assert!(!matches_query(Analyzer::En, "京都と東京", "\"東京都\""));
    }

    #[test]
    fn identifier_numeric_owner() {
        let text = "use tar --numeric-owner.";
        let d = detail(Analyzer::En, text);
        assert_eq!(
            d,
            [
                tok("use", 0, "use", false),
                tok("tar", 1, "tar", false),
                tok("--numeric-owner", 2, "--numeric-owner", true),
                tok("numer", 2, "numeric", false),
                tok("owner", 3, "owner", false),
            ]
        );
        assert!(matches_query(Analyzer::En, text, "--numeric-owner"));
        assert!(matches_query(Analyzer::En, text, "numeric owner"));
        assert!(matches_query(Analyzer::En, text, "\"numeric owner\""));
        assert!(matches_query(Analyzer::En, text, "\"--numeric-owner\""));
        assert!(!matches_query(Analyzer::En, text, "\"owner numeric\""));
        assert_eq!(q(Analyzer::En, "--numeric-owner").terms, ["--numeric-owner", "numer", "owner"]);
    }

    #[test]
    fn identifier_env_var() {
        let text = "Set SSH_ASKPASS, then run.";
        let d = detail(Analyzer::En, text);
        assert_eq!(
            d,
            [
                tok("set", 0, "Set", false),
                tok("ssh_askpass", 1, "SSH_ASKPASS", true),
                tok("ssh", 1, "SSH", false),
                tok("askpass", 2, "ASKPASS", false),
                tok("run", 4, "run", false),
            ]
        );
        for query in ["SSH_ASKPASS", "ssh_askpass", "ssh", "askpass", "ssh askpass"] {
            assert!(matches_query(Analyzer::En, text, query), "{query}");
        }
    }

    #[test]
    fn identifier_path() {
        let text = "See (/etc/login.defs).";
        let d = detail(Analyzer::En, text);
        assert_eq!(
            d,
            [
                tok("see", 0, "See", false),
                tok("/etc/login.defs", 1, "/etc/login.defs", true),
                tok("etc", 1, "etc", false),
                tok("login.defs", 2, "login.defs", true),
                tok("login", 2, "login", false),
                tok("def", 3, "defs", false),
            ]
        );
        for query in ["login.defs", "/etc/login.defs", "login", "defs", "etc", "\"etc login defs\""] {
            assert!(matches_query(Analyzer::En, text, query), "{query}");
        }
        assert!(!matches_query(Analyzer::En, text, "/etc/passwd"));
        // A query with another prefix finds the parts (not the whole).
        assert!(!matches_query(Analyzer::En, text, "etc/login.defs"));
        assert!(matches_words(Analyzer::En, text, "etc/login.defs"));
    }

    #[test]
    fn identifier_more() {
        let d = detail(Analyzer::Simple, "os.path.join std::fs::read_to_string e2e-test");
        assert_eq!(
            d,
            [
                tok("os.path.join", 0, "os.path.join", true),
                tok("os", 0, "os", false),
                tok("path", 1, "path", false),
                tok("join", 2, "join", false),
                tok("std::fs::read_to_string", 3, "std::fs::read_to_string", true),
                tok("std", 3, "std", false),
                tok("fs", 4, "fs", false),
                tok("read_to_string", 5, "read_to_string", true),
                tok("read", 5, "read", false),
                tok("to", 6, "to", false),
                tok("string", 7, "string", false),
                tok("e2e-test", 8, "e2e-test", true),
                tok("e2e", 8, "e2e", false),
                tok("test", 9, "test", false),
            ]
        );
        // Not identifiers: no connector between alphanumeric characters.
        for text in ["--verbose", "$HOME", "don't", "\"quoted\"", "end.", "a,b"] {
            assert!(analyze(Analyzer::Simple, text).iter().all(|t| !t.whole), "{text}");
        }
        // A stop word as the first part: the whole token keeps its position.
        let d = detail(Analyzer::En, "the-thing");
        assert_eq!(d, [tok("the-thing", 0, "the-thing", true), tok("thing", 1, "thing", false)]);
        // CJK in a chunk: no whole token.
        assert!(analyze(Analyzer::En, "東京-tokyo").iter().all(|t| !t.whole));
        // Whole tokens are folded, not stemmed.
        let d = detail(Analyzer::En, "Café-Connections");
        assert_eq!(d[0], tok("cafe-connections", 0, "Café-Connections", true));
        assert_eq!(d[2], tok("connect", 1, "Connections", false));
    }

    #[test]
    fn identifiers_in_code_and_markup() {
        let wholes = |text: &str| -> Vec<String> {
            analyze(Analyzer::Simple, text)
                .into_iter()
                .filter(|t| t.whole)
                .map(|t| text[t.start..t.end].to_owned())
                .collect()
        };
        assert_eq!(wholes("os.path.join(a, b)"), ["os.path.join"]);
        assert_eq!(wholes("call foo_bar() and self.x[i]"), ["foo_bar", "self.x"]);
        assert_eq!(
            wholes("[docs](https://example.com/a/b.html)"),
            ["https://example.com/a/b.html", "example.com", "b.html"]
        );
        assert_eq!(wholes("`SSH_ASKPASS`, \"e2e-test\"; 'a.b'"), ["SSH_ASKPASS", "e2e-test", "a.b"]);
        assert_eq!(wholes("Vec<std::string::String>"), ["std::string::String"]);
        assert_eq!(wholes("tar --owner=root x"), ["--owner=root"]);
        assert_eq!(wholes("echo $SSH_ASKPASS:"), ["$SSH_ASKPASS"]);
        assert_eq!(wholes("mail me@example.com."), ["me@example.com"]);
        assert_eq!(wholes("‘state-of-the-art’ U.S."), ["state-of-the-art", "U.S"]);
        // Fullwidth letters fold to ASCII.
        assert_eq!(terms(Analyzer::Simple, "Ｒｕｓｔ"), ["rust"]);
        // Numbers with commas are pieces, consistently.
        assert!(matches_query(Analyzer::En, "costs 1,000,000 dollars", "\"1,000,000\""));
    }

    #[test]
    fn stem_cache_agrees_with_the_stemmer() {
        let stemmer = Stemmer::create(Algorithm::English);
        // More distinct words than the cache holds, twice: misses, hits and
        // clearing.
        for round in 0..2 {
            for i in 0..STEM_CACHE_MAX + 100 {
                let word = format!("connection{i}s");
                let word = if i % 3 == 0 { "running" } else { word.as_str() };
                assert_eq!(stem_cached(&stemmer, word), stemmer.stem(word), "{round} {word}");
            }
        }
        assert!(STEMS.with_borrow(|s| s.len()) <= STEM_CACHE_MAX);
    }

    #[test]
    fn stop_word_and_empty_queries() {
        assert_eq!(q(Analyzer::En, "the of and"), TextQuery::default());
        assert_eq!(q(Analyzer::En, "\"the of\" and"), TextQuery::default());
        assert_eq!(q(Analyzer::En, ""), TextQuery::default());
        assert_eq!(q(Analyzer::En, "  \"\" ,;! "), TextQuery::default());
        assert_eq!(q(Analyzer::Simple, "the of and").terms, ["and", "of", "the"]);
        assert!(q(Analyzer::Simple, "the of and").phrases.is_empty());
    }

    #[test]
    fn query_terms_and_phrases() {
        let parsed = q(Analyzer::En, "Running \"state of the art\" runs dogs");
        assert_eq!(parsed.terms, ["art", "dog", "run", "state"]);
        assert_eq!(parsed.phrases, [vec![(0, "state".to_owned()), (3, "art".to_owned())]]);
        // A one-token phrase is just a term; equal phrases are kept once.
        let parsed = q(Analyzer::En, "\"the dogs\" \"new york\" x \"new  York\"");
        assert_eq!(parsed.terms, ["dog", "new", "x", "york"]);
        assert_eq!(parsed.phrases, [vec![(0, "new".to_owned()), (1, "york".to_owned())]]);
        // An unmatched quote: the rest is a phrase.
        let parsed = q(Analyzer::En, "x \"new york");
        assert_eq!(parsed.phrases, [vec![(0, "new".to_owned()), (1, "york".to_owned())]]);
        // Curly quotes.
        let parsed = q(Analyzer::En, "“new york”");
        assert_eq!(parsed.phrases.len(), 1);
    }

    #[test]
    fn phrases_with_stop_words() {
        let a = Analyzer::En;
        assert!(matches_query(a, "the state of the art", "\"state of the art\""));
        assert!(matches_query(a, "The State-of-the-Art method", "\"state of the art\""));
        assert!(!matches_query(a, "state of art", "\"state of the art\""));
        assert!(!matches_query(a, "the state of the fine art", "\"state of the art\""));
        assert!(!matches_query(a, "art of the state", "\"state of the art\""));
        // Simple keeps every word, so the order of stop words matters.
        let s = Analyzer::Simple;
        assert!(matches_query(s, "the state of the art", "\"state of the art\""));
        assert!(!matches_query(s, "state the of art", "\"state of the art\""));
    }

    #[test]
    fn phrase_matches_direct() {
        let tokens = analyze(Analyzer::En, "new york is a big city in new jersey");
        let phrase = |p: &[(u32, &str)]| -> Vec<(u32, String)> { p.iter().map(|&(r, t)| (r, t.to_owned())).collect() };
        assert!(phrase_matches(&tokens, &phrase(&[(0, "new"), (1, "york")])));
        assert!(phrase_matches(&tokens, &phrase(&[(0, "new"), (1, "jersey")])));
        assert!(phrase_matches(&tokens, &phrase(&[(0, "big"), (1, "citi")])));
        assert!(phrase_matches(&tokens, &phrase(&[(0, "york"), (3, "big")])));
        assert!(!phrase_matches(&tokens, &phrase(&[(0, "york"), (2, "big")])));
        assert!(!phrase_matches(&tokens, &phrase(&[(0, "york"), (1, "new")])));
        assert!(!phrase_matches(&tokens, &phrase(&[(0, "new"), (1, "city")])));
        assert!(!phrase_matches(&[], &phrase(&[(0, "new"), (1, "york")])));
        assert!(phrase_matches(&tokens, &[]));
        // Whole tokens don't count as phrase words.
        let tokens = analyze(Analyzer::Simple, "a-b c");
        assert!(!phrase_matches(&tokens, &phrase(&[(0, "a-b"), (1, "c")])));
        assert!(phrase_matches(&tokens, &phrase(&[(0, "b"), (1, "c")])));
    }

    #[test]
    fn max_term_bytes() {
        let long = "a".repeat(MAX_TERM_BYTES + 1);
        let exact = "b".repeat(MAX_TERM_BYTES);
        let text = format!("x {long} {exact} y");
        let d = detail(Analyzer::Simple, &text);
        assert_eq!(d, [tok("x", 0, "x", false), tok(&exact, 2, &exact, false), tok("y", 3, "y", false)]);
        // Folding counts: 33 × "é" is 66 bytes raw but 33 folded.
        let accented = "é".repeat(33);
        assert_eq!(terms(Analyzer::Simple, &accented), ["e".repeat(33)]);
        // A long identifier loses its whole token but keeps its parts.
        let ident = format!("{}-{}", "c".repeat(40), "d".repeat(40));
        let t = analyze(Analyzer::Simple, &ident);
        assert_eq!(t.len(), 2);
        assert!(t.iter().all(|t| !t.whole));
    }

    #[test]
    fn degenerate_inputs() {
        for text in [
            "",
            " ",
            "\u{301}",
            "\u{301}\u{302} \u{345}",
            "\0\u{7}\u{1b}[31m",
            "---",
            "...",
            "'x'",
            "\"",
            "a\u{200d}b",
            "\u{feff}",
            "🦀🦀 rust🦀",
            "--",
            "-a-",
            "\u{10FFFF}",
        ] {
            let _ = analyze(Analyzer::En, text);
            let _ = analyze(Analyzer::Simple, text);
            let _ = parse_query(Analyzer::En, text);
        }
        assert!(analyze(Analyzer::En, "").is_empty());
        assert!(analyze(Analyzer::En, "!!! ... ---").is_empty());
    }

    /// A small deterministic PRNG (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const PIECES: &[&str] = &[
        "a", "The", "running", "of", " ", "  ", "\n", "\t", "-", "--", "_", ".", "/", ":", "::", ",", ";", "!", "?",
        "\"", "'", "’", "(", ")", "$", "~", "@", "#", "\\", "+", "=", "é", "e\u{301}", "\u{301}", "ß", "ﬁ", "İ", "東",
        "京", "都", "カ", "ひ", "한국", "語", "🦀", "\u{200d}", "\u{0}", "3", "42", "x", "SSH", "ASKPASS", "Ⅸ",
        "\u{345}", "ǅ", "١٢", "Ω", "\u{feff}", "Straße", "don't", "U.S.", "e2e", "“", "”",
    ];

    fn random_text(rng: &mut Rng) -> String {
        let n = rng.below(30);
        let mut s = String::new();
        for _ in 0..n {
            if rng.below(8) == 0 {
                // An arbitrary scalar value.
                let c = loop {
                    if let Some(c) = char::from_u32((rng.next() % 0x11_0000) as u32) {
                        break c;
                    }
                };
                s.push(c);
            } else {
                s.push_str(PIECES[rng.below(PIECES.len())]);
            }
        }
        s
    }

    fn check_invariants(a: Analyzer, text: &str) {
        let tokens = analyze(a, text);
        let mut last_start = 0;
        let mut last_pos: Option<u32> = None;
        for (i, t) in tokens.iter().enumerate() {
            assert!(t.start < t.end && t.end <= text.len(), "{text:?} {t:?}");
            assert!(text.is_char_boundary(t.start) && text.is_char_boundary(t.end));
            assert!(t.start >= last_start, "not in order of start: {text:?}");
            last_start = t.start;
            assert!(!t.term.is_empty() && t.term.len() <= MAX_TERM_BYTES, "{t:?}");
            if t.whole {
                // Right before its first part (or another whole token of the
                // same identifier), at the same position.
                // (With En, a stop word as the first part leaves a gap, and
                // all parts may be stop words.)
                let Some(next) = tokens.get(i + 1) else {
                    assert_eq!(a, Analyzer::En, "a whole token last: {text:?}");
                    continue;
                };
                assert!(next.position >= t.position, "{text:?}");
                if a == Analyzer::Simple {
                    assert_eq!(next.position, t.position, "{text:?}");
                    assert!(next.start >= t.start && next.end <= t.end, "{text:?}");
                }
            } else {
                if let Some(p) = last_pos {
                    assert!(t.position > p, "positions not increasing: {text:?}");
                }
                last_pos = Some(t.position);
            }
        }
        // Analysis is deterministic.
        assert_eq!(analyze(a, text), tokens);
        // The text, as a query, has the document's terms.
        let unquoted = text.replace(['"', '\u{201C}', '\u{201D}'], " ");
        let doc = analyze(a, &unquoted);
        let parsed = parse_query(a, &unquoted);
        let doc_terms: Vec<&String> = doc.iter().map(|t| &t.term).collect();
        for t in &doc_terms {
            assert!(parsed.terms.binary_search(t).is_ok(), "{text:?} {t:?}");
        }
        for t in &parsed.terms {
            assert!(doc_terms.contains(&t), "{text:?} {t:?}");
        }
        // As a phrase, it matches itself.
        let parsed = parse_query(a, &format!("\"{unquoted}\""));
        for p in &parsed.phrases {
            assert!(phrase_matches(&doc, p), "{text:?}");
        }
    }

    #[test]
    fn random_texts_keep_invariants() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..3000 {
            let text = random_text(&mut rng);
            check_invariants(Analyzer::En, &text);
            check_invariants(Analyzer::Simple, &text);
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_strings_keep_invariants(text in "\\PC{0,40}") {
            check_invariants(Analyzer::En, &text);
            check_invariants(Analyzer::Simple, &text);
        }
    }

    #[test]
    fn deterministic_and_independent_of_context() {
        let text = "Tokio's runtime — spawn(async move { /etc/hosts }) 東京都 naïve";
        assert_eq!(analyze(Analyzer::En, text), analyze(Analyzer::En, text));
        // A chunk's tokens don't depend on the chunks around it (except
        // positions): the same word analyzed alone gives the same terms.
        for word in text.split_whitespace() {
            let alone = terms(Analyzer::En, word);
            let in_text: Vec<String> = analyze(Analyzer::En, text)
                .into_iter()
                .filter(|t| {
                    let ws = word.as_ptr() as usize - text.as_ptr() as usize;
                    t.start >= ws && t.end <= ws + word.len()
                })
                .map(|t| t.term)
                .collect();
            assert_eq!(alone, in_text, "{word}");
        }
    }

    #[test]
    fn huge_input() {
        let text = "word ".repeat(50_000) + &"x".repeat(100_000) + " 東京" + &"語".repeat(10_000);
        let tokens = analyze(Analyzer::En, &text);
        assert_eq!(tokens.len(), 50_000 + 1 + 10_000);
        assert_eq!(tokens[50_000].term, "東京");
        assert_eq!(tokens[50_000].position, 50_001);
    }

    /// Throughput, for a look (`cargo test -p axon-core --lib throughput --
    /// --ignored --nocapture`).
    #[test]
    #[ignore]
    fn throughput() {
        let passage = "The quick brown fox jumps over the lazy dog, running --numeric-owner \
            with SSH_ASKPASS set and /etc/login.defs read; connections were established. \
            Café naïve résumé 東京都 ";
        let text = passage.repeat(10);
        for a in [Analyzer::En, Analyzer::Simple] {
            let start = std::time::Instant::now();
            let mut n = 0;
            for _ in 0..5_000 {
                n += analyze(a, &text).len();
            }
            let elapsed = start.elapsed();
            let mb = (text.len() * 5_000) as f64 / 1e6;
            eprintln!("{}: {n} tokens, {mb:.1} MB in {elapsed:?}: {:.1} MB/s", a.name(), mb / elapsed.as_secs_f64());
        }
    }
}
