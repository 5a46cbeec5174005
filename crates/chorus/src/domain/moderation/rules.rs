//! The built-in moderation rules: a blocklist matched on folded words, a link policy,
//! and spam shapes (long runs of one character, shouting in capitals). Each rule
//! looks at one text and says why it blocks it, or nothing.

use std::collections::HashSet;

use super::normalize::{fold_case_and_accents, spaced_runs, variants, words};
use super::{Severity, Verdict};

/// A text prepared once for every rule.
pub struct Prepared<'a> {
    pub raw: &'a str,
    /// Folded words (see `normalize::words`).
    pub words: Vec<String>,
}

impl<'a> Prepared<'a> {
    pub fn new(raw: &'a str) -> Self {
        Self { raw, words: words(raw) }
    }
}

/// One check of the pipeline.
pub trait Rule: Send + Sync {
    /// `Some(Block)` when the rule refuses the text.
    fn check(&self, text: &Prepared<'_>) -> Option<Verdict>;
}

fn block(reason: &str, severity: Severity) -> Option<Verdict> {
    Some(Verdict::Block { reason: reason.to_owned(), severity })
}

/// Words and phrases that are never allowed, compared after folding.
pub struct Blocklist {
    /// Folded entries (multi-word ones written together), as written and with long
    /// runs cut to two and to one character: a word matches at the same level.
    levels: [HashSet<String>; 3],
    /// Multi-word entries as folded word sequences.
    phrases: Vec<Vec<String>>,
}

impl Blocklist {
    /// From comma-separated entries (`CHORUS_BLOCKLIST`).
    pub fn parse(list: &str) -> Self {
        let mut levels: [HashSet<String>; 3] = Default::default();
        let mut phrases = Vec::new();
        for entry in list.split(',') {
            let w = words(entry);
            if w.is_empty() {
                continue;
            }
            for (level, form) in levels.iter_mut().zip(variants(&w.concat())) {
                level.insert(form);
            }
            if w.len() > 1 {
                phrases.push(w);
            }
        }
        Self { levels, phrases }
    }

    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    fn hit(&self, candidate: &str) -> bool {
        self.levels.iter().zip(variants(candidate)).any(|(level, form)| level.contains(&form))
    }
}

impl Rule for Blocklist {
    fn check(&self, text: &Prepared<'_>) -> Option<Verdict> {
        let words = &text.words;
        let word_hit = words.iter().any(|w| self.hit(w));
        // A word split in two (`bad word`), and multi-word entries however spaced.
        let phrase_hit = || {
            words.windows(2).any(|pair| self.hit(&pair.concat()))
                || self.phrases.iter().any(|p| words.windows(p.len()).any(|window| self.hit(&window.concat())))
        };
        // Spaced-out letters may run into neighbours (`f u c k y o u`): look inside the run.
        let spaced_hit = || {
            spaced_runs(words).iter().any(|run| {
                self.levels.iter().zip(variants(run)).any(|(level, form)| {
                    level.iter().any(|entry| entry.chars().count() >= 3 && form.contains(entry.as_str()))
                })
            })
        };
        if word_hit || phrase_hit() || spaced_hit() {
            return block("contains a blocked word", Severity::High);
        }
        None
    }
}

/// Top-level domains that mark a bare `name.tld` as a link.
const LINK_TLDS: &[&str] = &[
    "com", "net", "org", "io", "gg", "tv", "me", "co", "ly", "xyz", "info", "biz", "app", "dev", "link", "site", "online",
    "shop", "store", "live", "ru", "cn", "uk", "de", "fr", "es", "it", "nl", "br", "in", "us", "ca", "au", "to", "cc",
    "club", "top", "vip", "win", "bet", "fun", "ai",
];

/// What to do with links.
pub struct LinkPolicy {
    /// Domains (and their subdomains) whose links pass.
    allowed: Vec<String>,
}

impl LinkPolicy {
    /// Blocks links except to `allowed` (comma-separated domains).
    pub fn blocking_except(allowed: &str) -> Self {
        Self {
            allowed: allowed
                .split(',')
                .map(|d| d.trim().trim_start_matches("*.").trim_start_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
        }
    }

    fn allowed(&self, host: &str) -> bool {
        self.allowed.iter().any(|d| host == d || host.ends_with(&format!(".{d}")))
    }
}

/// The host a chunk of text links to, if it is a link.
fn link_host(chunk: &str) -> Option<String> {
    let chunk = chunk.trim_matches(|c: char| !c.is_alphanumeric() && c != '/');
    let rest = match chunk.find("://") {
        Some(i) => &chunk[i + 3..],
        None => chunk,
    };
    let has_scheme = rest.len() != chunk.len();
    let host = rest.split(['/', '?', '#', ':']).next().unwrap_or_default().trim_end_matches('.');
    let host = host.rsplit('@').next().unwrap_or_default();
    if host.is_empty() {
        return has_scheme.then(String::new);
    }
    if has_scheme || host.starts_with("www.") {
        return Some(host.to_owned());
    }
    let (name, tld) = host.rsplit_once('.')?;
    let label_ok = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    (label_ok && LINK_TLDS.contains(&tld)).then(|| host.to_owned())
}

impl Rule for LinkPolicy {
    fn check(&self, text: &Prepared<'_>) -> Option<Verdict> {
        let folded = fold_case_and_accents(text.raw);
        for chunk in folded.split_whitespace() {
            if let Some(host) = link_host(chunk)
                && !self.allowed(&host)
            {
                return block("links are not allowed", Severity::Medium);
            }
        }
        None
    }
}

/// The same character many times in a row (`!!!!!!!!!!!!`, `loooooooooool`).
pub struct RepeatedCharacters {
    /// Longest allowed run.
    pub max_run: usize,
}

impl Rule for RepeatedCharacters {
    fn check(&self, text: &Prepared<'_>) -> Option<Verdict> {
        let mut run = 0usize;
        let mut prev = None;
        for c in text.raw.chars() {
            if c.is_whitespace() {
                run = 0;
                prev = None;
                continue;
            }
            run = if Some(c) == prev { run + 1 } else { 1 };
            prev = Some(c);
            if run > self.max_run {
                return block("too many repeated characters", Severity::Low);
            }
        }
        None
    }
}

/// Shouting: a text of some length written almost entirely in capitals.
pub struct AllCaps {
    /// Shorter texts (in letters) are never shouting.
    pub min_letters: usize,
    /// Share of capitals, in percent, from which a text is shouting.
    pub min_percent: usize,
}

impl Rule for AllCaps {
    fn check(&self, text: &Prepared<'_>) -> Option<Verdict> {
        let (letters, upper) = text
            .raw
            .chars()
            .filter(|c| c.is_alphabetic())
            .fold((0usize, 0usize), |(l, u), c| (l + 1, u + usize::from(c.is_uppercase())));
        if letters >= self.min_letters && upper * 100 >= letters * self.min_percent {
            return block("too many capital letters", Severity::Low);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(rule: &dyn Rule, text: &str) -> bool {
        rule.check(&Prepared::new(text)).is_some()
    }

    #[test]
    fn the_blocklist_sees_through_case_accents_leetspeak_and_spacing() {
        let list = Blocklist::parse("badword, scam, kill yourself");
        for text in [
            "BADWORD",
            "bádwörd",
            "b4dw0rd!",
            "b a d w o r d",
            "b.a.d.w.o.r.d",
            "you b-a-d-w-o-r-d",
            "baaaaadword",
            "total $c4m here",
            "just Kill  Your$elf",
            "killyourself",
            "s c a m m e r s",
            "bad word",
        ] {
            assert!(blocked(&list, text), "{text} should be blocked");
        }
        for text in ["a good word", "scamper away", "skill yourself up", "a bad day for words"] {
            assert!(!blocked(&list, text), "{text} should pass");
        }
        assert!(Blocklist::parse(" , ,").is_empty());
    }

    #[test]
    fn the_blocklist_sees_through_cyrillic_and_greek_look_alikes() {
        let list = Blocklist::parse("spam, badword, kill yourself, scam");
        for text in [
            "ѕраm",                 // Cyrillic ѕ р а
            "sраm",                 // Cyrillic р а
            "buy my ЅРАМ",          // Cyrillic capitals
            "bаdwоrd",              // Cyrillic а о
            "bαdwοrd",              // Greek α ο
            "ΚΙll yourself",        // Greek capitals Κ Ι
            "κιll уоurѕеlf",        // Greek κ ι, Cyrillic у о ѕ е
            "ｓｐаｍ",              // full-width with a Cyrillic а
            "s\u{200B}р\u{200B}аm", // zero-width spaces around Cyrillic р а
            "5сам",                 // leetspeak 5, Cyrillic с а м
            "ѕ р а m",              // spaced out
            "bаааааdwоrd",          // long run of Cyrillic а
        ] {
            assert!(blocked(&list, text), "{text} should be blocked");
        }
        for text in [
            "Привет, как дела? Смотрю стрим",
            "Καλημέρα, τι κάνεις; Ωραία εκπομπή",
            "a spammy-looking but fine sentence about spa mornings",
            "scamper away, skill yourself up",
        ] {
            assert!(!blocked(&list, text), "{text} should pass");
        }
    }

    #[test]
    fn latin_is_not_remapped_so_rn_and_m_stay_apart() {
        let list = Blocklist::parse("bum, dick");
        assert!(!blocked(&list, "feel the burn"), "TR39 pairs m with rn; moderation does not");
        assert!(!blocked(&list, "click here"), "nor d with cl");
        assert!(blocked(&list, "bυm"), "a Greek υ in bum still reads as u");
    }

    #[test]
    fn a_look_alike_of_an_allowed_domain_is_still_a_link() {
        let policy = LinkPolicy::blocking_except("example.com");
        assert!(blocked(&policy, "see https://ехаmрlе.com/page"), "Cyrillic е х а р in the host: another domain");
        assert!(!blocked(&policy, "see https://example.com/page"));
    }

    #[test]
    fn links_are_blocked_unless_their_domain_is_allowed() {
        let policy = LinkPolicy::blocking_except("example.com, *.chorus.dev");
        for text in ["see https://evil.test/x", "www.spam.net", "go to free-coins.xyz now", "HTTP://Cheap.Shop"] {
            assert!(blocked(&policy, text), "{text} should be blocked");
        }
        for text in ["https://example.com/page", "docs.chorus.dev rocks", "end of sentence.Then more", "version 1.2 is out", "e.g. this"] {
            assert!(!blocked(&policy, text), "{text} should pass");
        }
    }

    #[test]
    fn spam_shapes_are_blocked() {
        let runs = RepeatedCharacters { max_run: 10 };
        assert!(blocked(&runs, "nooooooooooooo"));
        assert!(!blocked(&runs, "nooooo way!!!"));
        let caps = AllCaps { min_letters: 12, min_percent: 80 };
        assert!(blocked(&caps, "WHY IS NOBODY ANSWERING ME"));
        assert!(!blocked(&caps, "OMG LOL"), "short shouting passes");
        assert!(!blocked(&caps, "I like the NBA and the NFL a lot"));
    }
}
