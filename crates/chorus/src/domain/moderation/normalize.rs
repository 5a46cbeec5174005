//! Text folding for matching: case and accents removed, cross-script look-alikes and
//! leetspeak mapped to letters, punctuation and spacing tricks undone. Blocklist
//! entries and incoming texts go through the same folding, so they compare equal.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::confusables::push_latin_lookalike;

/// A text decomposed for compatibility (NFKD, which also turns full-width and styled
/// letters into plain ones), combining marks dropped: still in its own case.
fn without_accents(text: &str) -> impl Iterator<Item = char> + '_ {
    text.nfkd().filter(|c| !is_combining_mark(*c))
}

/// Lowercase without accents.
pub fn fold_case_and_accents(text: &str) -> String {
    without_accents(text).flat_map(char::to_lowercase).collect()
}

/// Lowercase without accents, and non-Latin look-alikes of Latin letters (Cyrillic `а`,
/// Greek `ο`) read as those letters, in their own case (see `confusables`): what words
/// are compared on. Links are not folded this way, so a look-alike of an allowed domain
/// stays another domain.
pub fn fold_to_latin(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in without_accents(text) {
        if !push_latin_lookalike(&mut out, c) {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// The letter a leetspeak character stands for (`1`, `!` and `|` read as `i`).
fn canonical(c: char) -> char {
    match c {
        '0' => 'o',
        '1' | '!' | '|' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' | '+' => 't',
        '8' => 'b',
        '9' => 'g',
        other => other,
    }
}

/// The words of a text, folded (`fold_to_latin`): each whitespace-separated chunk
/// loses its outer punctuation; a chunk with a letter in it has its leetspeak mapped;
/// what is left of punctuation inside (`b.a.d`, `b-a-d`) is dropped.
pub fn words(text: &str) -> Vec<String> {
    fold_to_latin(text)
        .split(|c: char| c.is_whitespace())
        .filter_map(|chunk| {
            // `@` and `$` open words in leetspeak (`@ss`, `$hit`); other outer punctuation is not part of the word.
            let chunk = chunk.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '@' && c != '$');
            let chunk = chunk.trim_end_matches(|c: char| !c.is_alphanumeric());
            let has_letter = chunk.chars().any(char::is_alphabetic);
            let word: String = chunk
                .chars()
                .map(|c| if has_letter { canonical(c) } else { c })
                .filter(|c| c.is_alphanumeric())
                .collect();
            (!word.is_empty()).then_some(word)
        })
        .collect()
}

/// A word with every run of three or more equal characters cut to `keep` (1 or 2):
/// `fuuuck` → `fuck`, `buttt` → `butt`. Runs of two are real spelling and stay.
pub fn squeeze_runs(word: &str, keep: usize) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let mut j = i;
        while j < chars.len() && chars[j] == chars[i] {
            j += 1;
        }
        let run = j - i;
        let n = if run >= 3 { keep } else { run };
        out.extend(std::iter::repeat_n(chars[i], n));
        i = j;
    }
    out
}

/// The forms of a word a blocklist entry may match: as written and with long runs cut.
pub fn variants(word: &str) -> [String; 3] {
    [word.to_owned(), squeeze_runs(word, 2), squeeze_runs(word, 1)]
}

/// Runs of two or more consecutive one- or two-character words joined: spaced-out
/// writing (`b a d`, `ba d w o r d`) read as one word.
pub fn spaced_runs(words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    for w in words.iter().map(String::as_str).chain(std::iter::once("")) {
        if !w.is_empty() && w.chars().count() <= 2 {
            run.push(w);
            continue;
        }
        if run.len() >= 2 {
            out.push(run.concat());
        }
        run.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_accents_and_styled_letters_fold_to_plain_lowercase() {
        assert_eq!(fold_case_and_accents("CAFÉ Ñandú"), "cafe nandu");
        assert_eq!(fold_case_and_accents("ＢＡＤ"), "bad", "full-width letters");
    }

    #[test]
    fn look_alikes_from_other_scripts_fold_to_latin_in_their_own_case() {
        assert_eq!(fold_to_latin("ЅРАМ ѕраm"), "spam spam", "Cyrillic capitals and small letters");
        assert_eq!(fold_to_latin("ΚΙΝΟ καλό"), "kino kaλo", "Greek in its own case, accent dropped, λ has no Latin twin");
        assert_eq!(fold_to_latin("ｓｐ\u{200B}аm"), "sp\u{200B}am", "full-width, zero-width and Cyrillic together");
        assert_eq!(fold_case_and_accents("ѕраm"), "ѕраm", "the plain fold keeps scripts apart");
        assert_eq!(words("Ѕh!т, 5раm"), ["shit", "spam"], "leetspeak still maps once look-alikes are Latin");
        assert_eq!(words("modern burn"), ["modern", "burn"], "Latin is never remapped: rn stays rn");
    }

    #[test]
    fn leetspeak_and_punctuation_inside_words_are_undone() {
        assert_eq!(words("Sh!t, you're a B.A.D 5p4mm3r!!!"), ["shit", "youre", "a", "bad", "spammer"]);
        assert_eq!(words("@ss $hit"), ["ass", "shit"]);
        assert_eq!(words("k1ll sh1t"), ["kill", "shit"]);
        assert_eq!(words("call 2024 now"), ["call", "2024", "now"], "numbers alone stay numbers");
    }

    #[test]
    fn long_runs_are_squeezed_and_spaced_letters_joined() {
        assert_eq!(variants("fuuuuck"), ["fuuuuck".to_owned(), "fuuck".to_owned(), "fuck".to_owned()]);
        assert_eq!(squeeze_runs("butt", 1), "butt", "a double letter is spelling");
        let w = words("hey b a d w o r d there");
        assert_eq!(spaced_runs(&w), ["badword"]);
        assert!(spaced_runs(&words("a normal sentence")).is_empty());
    }
}
