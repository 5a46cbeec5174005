//! The rules of chat that need no storage: limits, the validation of what clients send,
//! the key of a direct room and the edit window.

use std::time::Duration;

use super::model::{Location, MessageKind};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::text::{short_label, trimmed_text, valid_id};
use crate::domain::time::Timestamp;

/// Limits of chat that deployments tune.
#[derive(Debug, Clone)]
pub struct ChatRules {
    /// A sender may edit a message for this long after sending it.
    pub edit_window: Duration,
    /// Longest message text, in characters after trimming.
    pub max_text_chars: usize,
    /// History page size when the client names none.
    pub default_page_size: u32,
    /// Largest history page.
    pub max_page_size: u32,
    /// Most members one request may name (room creation, adding members).
    pub max_members_per_request: usize,
    /// Longest room title, in characters.
    pub max_title_chars: usize,
}

impl Default for ChatRules {
    fn default() -> Self {
        Self {
            edit_window: Duration::from_secs(15 * 60),
            max_text_chars: 4000,
            default_page_size: 50,
            max_page_size: 100,
            max_members_per_request: 500,
            max_title_chars: 200,
        }
    }
}

/// The validated body of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageBody {
    pub kind: MessageKind,
    pub text: String,
    pub location: Option<Location>,
}

/// The key of the direct room of two users: the same whichever of them asks. Ids never
/// contain spaces, so the pair is unambiguous.
pub fn direct_key(a: &str, b: &str) -> String {
    if a <= b { format!("{a} {b}") } else { format!("{b} {a}") }
}

/// Checks a position: finite, latitude −90..90, longitude −180..180.
pub fn valid_location(location: Location) -> DomainResult<Location> {
    let Location { lat, lng } = location;
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(DomainError::bad_request("location.lat must be a number from -90 to 90"));
    }
    if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
        return Err(DomainError::bad_request("location.lng must be a number from -180 to 180"));
    }
    Ok(location)
}

/// Validates what a message carries. A text message needs 1–`max_chars` characters of
/// text and no location; a location message needs a valid location and may carry a
/// short label as text. Without `kind`, a message with a location is a location message.
pub fn message_body(kind: Option<&str>, text: Option<&str>, location: Option<Location>, max_chars: usize) -> DomainResult<MessageBody> {
    let kind = match kind {
        Some(k) => MessageKind::parse(k).ok_or_else(|| DomainError::bad_request("kind must be text or location"))?,
        None if location.is_some() => MessageKind::Location,
        None => MessageKind::Text,
    };
    match kind {
        MessageKind::Text => {
            if location.is_some() {
                return Err(DomainError::bad_request("a text message has no location (use kind: location)"));
            }
            let text = trimmed_text("text", text.unwrap_or_default(), max_chars)?;
            Ok(MessageBody { kind, text, location: None })
        }
        MessageKind::Location => {
            let location = location.ok_or_else(|| DomainError::bad_request("a location message needs location {lat, lng}"))?;
            let location = valid_location(location)?;
            let text = short_label("text", text, max_chars)?.unwrap_or_default();
            Ok(MessageBody { kind, text, location: Some(location) })
        }
    }
}

/// A history page size: 1–`max`, `default` when absent.
pub fn page_size(limit: Option<i64>, default: u32, max: u32) -> DomainResult<u32> {
    match limit {
        None => Ok(default),
        Some(l) if l >= 1 && l <= i64::from(max) => Ok(l as u32),
        Some(_) => Err(DomainError::bad_request(format!("limit must be 1-{max}"))),
    }
}

/// The members a request names, checked, without duplicates and without `creator`
/// (who is a member anyway).
pub fn named_members(creator: &str, ids: &[String], max: usize) -> DomainResult<Vec<String>> {
    if ids.len() > max {
        return Err(DomainError::bad_request(format!("at most {max} member ids per request")));
    }
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        let id = valid_id("memberIds", id)?;
        if id != creator && !out.iter().any(|o| o == id) {
            out.push(id.to_owned());
        }
    }
    Ok(out)
}

/// Whether a message sent at `sent_at` may still be edited at `now`.
pub fn within_edit_window(sent_at: Timestamp, now: Timestamp, window: Duration) -> bool {
    now.millis().saturating_sub(sent_at.millis()) <= window.as_millis() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_direct_key_is_the_same_from_both_sides() {
        assert_eq!(direct_key("bob", "alice"), direct_key("alice", "bob"));
        assert_eq!(direct_key("alice", "bob"), "alice bob");
    }

    #[test]
    fn coordinates_must_be_finite_and_on_earth() {
        assert!(valid_location(Location { lat: 48.85, lng: 2.35 }).is_ok());
        assert!(valid_location(Location { lat: -90.0, lng: 180.0 }).is_ok());
        for (lat, lng) in [(90.01, 0.0), (-91.0, 0.0), (0.0, 180.5), (0.0, -181.0), (f64::NAN, 0.0), (0.0, f64::INFINITY)] {
            assert!(valid_location(Location { lat, lng }).is_err(), "{lat},{lng}");
        }
    }

    #[test]
    fn a_text_message_needs_text_and_no_location() {
        let body = message_body(None, Some("  hi  "), None, 4000).unwrap();
        assert_eq!((body.kind, body.text.as_str(), body.location), (MessageKind::Text, "hi", None));
        assert!(message_body(Some("text"), Some("   "), None, 4000).is_err());
        assert!(message_body(Some("text"), None, None, 4000).is_err());
        assert!(message_body(Some("text"), Some(&"x".repeat(4001)), None, 4000).is_err());
        assert!(message_body(Some("text"), Some(&"é".repeat(4000)), None, 4000).is_ok());
        assert!(message_body(Some("text"), Some("hi"), Some(Location { lat: 1.0, lng: 1.0 }), 4000).is_err());
        assert!(message_body(Some("sticker"), Some("hi"), None, 4000).is_err());
    }

    #[test]
    fn a_location_message_needs_valid_coordinates_and_may_have_a_label() {
        let here = Location { lat: 51.5, lng: -0.12 };
        let body = message_body(None, None, Some(here), 4000).unwrap();
        assert_eq!((body.kind, body.text.as_str(), body.location), (MessageKind::Location, "", Some(here)));
        let labelled = message_body(Some("location"), Some(" meet here "), Some(here), 4000).unwrap();
        assert_eq!(labelled.text, "meet here");
        assert!(message_body(Some("location"), Some("x"), None, 4000).is_err());
        assert!(message_body(Some("location"), None, Some(Location { lat: 100.0, lng: 0.0 }), 4000).is_err());
    }

    #[test]
    fn page_sizes_default_and_stay_within_bounds() {
        assert_eq!(page_size(None, 50, 100), Ok(50));
        assert_eq!(page_size(Some(1), 50, 100), Ok(1));
        assert_eq!(page_size(Some(100), 50, 100), Ok(100));
        assert!(page_size(Some(0), 50, 100).is_err());
        assert!(page_size(Some(101), 50, 100).is_err());
        assert!(page_size(Some(-3), 50, 100).is_err());
    }

    #[test]
    fn named_members_are_checked_deduplicated_and_exclude_the_creator() {
        let ids = ["bob", "carol", "bob", "alice"].map(String::from);
        assert_eq!(named_members("alice", &ids, 10).unwrap(), ["bob", "carol"]);
        assert!(named_members("alice", &["has space".to_owned()], 10).is_err());
        assert!(named_members("alice", &ids, 3).is_err());
    }

    #[test]
    fn the_edit_window_includes_its_last_millisecond() {
        let window = Duration::from_secs(900);
        let sent = Timestamp(1_000_000);
        assert!(within_edit_window(sent, sent.plus_millis(900_000), window));
        assert!(!within_edit_window(sent, sent.plus_millis(900_001), window));
    }
}
