//! Cross-script look-alikes read as the Latin letters they imitate: Cyrillic `а о е р с`,
//! Greek `ο α ν ρ ι`, and any other character whose Unicode TR39 confusable skeleton is
//! plain Latin. ASCII is never remapped, so TR39's pairs inside Latin (`m` ~ `rn`,
//! `d` ~ `cl`, `I` ~ `l`) never merge two English words.

use unicode_normalization::char::is_combining_mark;
use unicode_security::skeleton;

/// Appends the lowercase Latin letters `c` looks like when it is a non-ASCII look-alike
/// of them, and says whether it did. `c` is read in its own case (Greek `Ν` is `n`,
/// `ν` is `v`); a small letter TR39 pairs only with a Latin small capital (Cyrillic
/// `к т н в м`, Greek `κ τ`) is read through its capital (`К` ~ `K`), as it reads on screen.
pub fn push_latin_lookalike(out: &mut String, c: char) -> bool {
    !c.is_ascii() && (push_latin_skeleton(out, c) || push_capital_skeleton(out, c))
}

/// The skeleton of `c`'s capital, when `c` has a one-character capital of its own.
fn push_capital_skeleton(out: &mut String, c: char) -> bool {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(capital), None) if capital != c => push_latin_skeleton(out, capital),
        _ => false,
    }
}

/// Appends the skeleton of `c` in lowercase when it is made of Latin letters (marks
/// dropped); appends nothing and says so otherwise. TR39 writes the stroke shared by
/// `I`, `l` and `1` as `l`; a capital's stroke is a capital `I`, so it becomes `i`, as
/// the Latin `I` does once lowercased.
fn push_latin_skeleton(out: &mut String, c: char) -> bool {
    let mut utf8 = [0u8; 4];
    let capital = c.is_uppercase();
    let start = out.len();
    for p in skeleton(c.encode_utf8(&mut utf8)).filter(|p| !is_combining_mark(*p)) {
        if !p.is_ascii_alphabetic() {
            out.truncate(start);
            return false;
        }
        out.push(if capital && p == 'l' { 'i' } else { p.to_ascii_lowercase() });
    }
    out.len() > start
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_latin(text: &str) -> String {
        let mut out = String::new();
        for c in text.chars() {
            if !push_latin_lookalike(&mut out, c) {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn cyrillic_and_greek_look_alikes_read_as_latin_letters() {
        assert_eq!(as_latin("а о е р с у х і ј ѕ һ ԁ"), "a o e p c y x i j s h d");
        assert_eq!(as_latin("АОЕРСХІЈЅ КТНВМ"), "aoepcxijs kthbm", "capitals");
        assert_eq!(as_latin("к т н в м"), "k t h b m", "small capitals read through their capitals");
        assert_eq!(as_latin("ο α ν ρ ι κ τ υ η"), "o a v p i k t u n");
        assert_eq!(as_latin("Ο Α Ν Ρ Ι Κ Τ Υ Η"), "o a n p i k t y h", "Greek capitals read as the Latin capitals they copy");
    }

    #[test]
    fn latin_stays_as_written_and_letters_without_a_latin_twin_stay_themselves() {
        assert_eq!(as_latin("m rn d cl l I 1 0 w vv"), "m rn d cl l I 1 0 w vv", "ASCII is never remapped");
        assert_eq!(as_latin("дж л ф ц ч щ я λ π ξ ψ ω ς"), "дж л ф ц ч щ я λ π ξ ψ ω ς");
        assert_eq!(as_latin("中文 🙂 \u{200B}"), "中文 🙂 \u{200B}");
    }
}
