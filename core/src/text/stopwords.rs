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

/// Whether `term` (lowercased and folded) is an English stop word (one of
/// [`ENGLISH`]).
pub fn is_english_stop_word(term: &str) -> bool {
    matches!(
        term,
        "a" | "an"
            | "and"
            | "are"
            | "as"
            | "at"
            | "be"
            | "but"
            | "by"
            | "for"
            | "if"
            | "in"
            | "into"
            | "is"
            | "it"
            | "no"
            | "not"
            | "of"
            | "on"
            | "or"
            | "such"
            | "that"
            | "the"
            | "their"
            | "then"
            | "there"
            | "these"
            | "they"
            | "this"
            | "to"
            | "was"
            | "will"
            | "with"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn list_and_match_agree() {
        assert!(super::ENGLISH.is_sorted());
        for w in super::ENGLISH {
            assert!(super::is_english_stop_word(w), "{w}");
        }
        for w in ["", "th", "thee", "is'", "The", "of ", "ofs", "with\0"] {
            assert!(!super::is_english_stop_word(w), "{w}");
        }
    }
}
