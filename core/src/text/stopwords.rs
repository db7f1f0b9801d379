//! Stop words of the `En` analyzer.
//!
//! This is Lucene's classic English stop word set
//! (`EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`, 33 words): a data list, used
//! as is.

/// Lucene's classic English stop words, sorted.
pub const ENGLISH: [&str; 33] = [
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
];

/// Whether `term` (lowercased and folded) is an English stop word.
pub fn is_english_stop_word(term: &str) -> bool {
    term.len() <= 5 && ENGLISH.binary_search(&term).is_ok()
}
