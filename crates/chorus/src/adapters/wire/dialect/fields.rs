//! Small JSON edits the dialects share: renamed keys, ids given as numbers, the `seq`
//! of sequenced events.

use serde_json::{Map, Value};

use crate::domain::error::{DomainError, DomainResult};
use crate::ports::publisher::Room;

/// An event name safe to echo back: at most 64 printable characters.
pub fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// The payload's object, or the native refusal of one that is not an object.
pub fn object(payload: Value) -> DomainResult<Map<String, Value>> {
    match payload {
        Value::Object(map) => Ok(map),
        _ => Err(DomainError::bad_request("payload must be a JSON object")),
    }
}

/// Moves `from` to `to` (a seed's field name to the native one); an integer id becomes
/// its decimal string, any other value is left for the native decoder to judge.
pub fn rename_id(map: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(value) = map.remove(from) {
        map.insert(to.to_owned(), id_value(value));
    }
}

/// An id as the native protocol takes it: an integer (0 to 2^53 − 1) as its decimal
/// string; anything else unchanged.
pub fn id_value(value: Value) -> Value {
    match &value {
        Value::Number(n) => match n.as_u64() {
            Some(id) if id < (1 << 53) => Value::String(id.to_string()),
            _ => value,
        },
        _ => value,
    }
}

/// A field of a native payload, or `Null`.
pub fn get<'a>(payload: &'a Value, key: &str) -> &'a Value {
    payload.get(key).unwrap_or(&Value::Null)
}

/// Builds an object from `(key, value)` pairs, with the native `seq` kept (sequenced
/// events carry it, so a dialect client can resume; seed clients ignore it).
pub fn with_seq<K: Into<String>>(native: &Value, pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
    let mut payload = Value::Object(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect());
    keep_seq(native, &mut payload);
    payload
}

/// Copies the native event's `seq`, if it has one, into a dialect payload (an object).
pub fn keep_seq(native: &Value, payload: &mut Value) {
    if let (Some(fields), Some(seq)) = (payload.as_object_mut(), native.get("seq")) {
        fields.insert("seq".to_owned(), seq.clone());
    }
}

/// Whether a room's id passes the native id rules (what `Room::parse` checks).
pub fn valid_room_id(room: &Room) -> bool {
    let id = match room {
        Room::User(id) | Room::Content(id) | Room::Stream(id) | Room::Chat(id) | Room::Feed(id) | Room::Collab(id) | Room::Battle(id) | Room::Presence(id) | Room::Channel(id) => id,
        Room::Ranking { scope, .. } => scope,
    };
    !id.is_empty() && id.len() <= 128 && !id.chars().any(|c| c.is_control() || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn integer_ids_become_strings_and_others_stay_for_the_native_checks() {
        assert_eq!(id_value(json!(123)), json!("123"));
        assert_eq!(id_value(json!("abc")), json!("abc"));
        assert_eq!(id_value(json!(-1)), json!(-1));
        assert_eq!(id_value(json!(1.5)), json!(1.5));
        assert_eq!(id_value(json!(9_007_199_254_740_992_u64)), json!(9_007_199_254_740_992_u64));
        let mut map = object(json!({ "chatRoomId": 7 })).unwrap();
        rename_id(&mut map, "chatRoomId", "roomId");
        assert_eq!(Value::Object(map), json!({ "roomId": "7" }));
    }

    #[test]
    fn seq_is_kept_when_the_native_event_has_one() {
        assert_eq!(with_seq(&json!({ "seq": 9 }), [("a", json!(1))]), json!({ "a": 1, "seq": 9 }));
        assert_eq!(with_seq(&json!({}), [("a", json!(1))]), json!({ "a": 1 }));
    }
}
