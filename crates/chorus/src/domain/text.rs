//! Validation of the texts and ids that clients send.

use super::error::{DomainError, DomainResult};

/// Longest id (content, comment, user) accepted from a client.
pub const MAX_ID_LEN: usize = 128;

/// Checks an id: 1–128 characters, no control characters or whitespace.
pub fn valid_id<'a>(field: &str, id: &'a str) -> DomainResult<&'a str> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(DomainError::bad_request(format!("{field} must be 1-{MAX_ID_LEN} characters")));
    }
    if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(DomainError::bad_request(format!("{field} must not contain spaces or control characters")));
    }
    Ok(id)
}

/// Trims a text and checks its length in characters.
pub fn trimmed_text(field: &str, text: &str, max_chars: usize) -> DomainResult<String> {
    let t = text.trim();
    let n = t.chars().count();
    if n == 0 {
        return Err(DomainError::bad_request(format!("{field} must not be empty")));
    }
    if n > max_chars {
        return Err(DomainError::bad_request(format!("{field} must be at most {max_chars} characters")));
    }
    Ok(t.to_owned())
}

/// An optional short label (a share channel, a video quality): at most `max` characters.
pub fn short_label(field: &str, label: Option<&str>, max: usize) -> DomainResult<Option<String>> {
    match label.map(str::trim) {
        None | Some("") => Ok(None),
        Some(l) if l.chars().count() > max || l.chars().any(char::is_control) => {
            Err(DomainError::bad_request(format!("{field} must be at most {max} printable characters")))
        }
        Some(l) => Ok(Some(l.to_owned())),
    }
}

/// An emoji reaction: 1–16 characters, no whitespace.
pub fn valid_emoji(emoji: &str) -> DomainResult<&str> {
    let n = emoji.chars().count();
    if n == 0 || n > 16 || emoji.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DomainError::bad_request("emoji must be 1-16 characters without spaces"));
    }
    Ok(emoji)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded_in_characters_not_bytes() {
        assert_eq!(trimmed_text("text", "  hi  ", 5).as_deref(), Ok("hi"));
        assert!(trimmed_text("text", "   ", 5).is_err());
        assert_eq!(trimmed_text("text", "ééééé", 5).as_deref(), Ok("ééééé"));
        assert!(trimmed_text("text", "ééééééé", 5).is_err());
    }

    #[test]
    fn ids_reject_empty_long_and_spaced_values() {
        assert!(valid_id("contentId", "").is_err());
        assert!(valid_id("contentId", "a b").is_err());
        assert!(valid_id("contentId", &"x".repeat(129)).is_err());
        assert!(valid_id("contentId", "video-1").is_ok());
    }
}
