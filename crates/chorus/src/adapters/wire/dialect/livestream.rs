//! The `livestream` dialect: the live-streaming platform of seed 001
//! (docs/dialects.md §2). Its names are mostly native already (`stream:join`,
//! `gift:sent`, `throne:claimed`, `metrics:update`); what differs is stream chat
//! (`chat:new`), gifts and boosts sent without an idempotency key, the collaborative
//! `content_updated`, the join and leave notifications and the scores as `battle:boost`.

use serde_json::{Map, Value, json};

use super::fields::{get, id_value, object, rename_id, with_seq};
use super::{Decoded, Encoded};
use crate::domain::error::{DomainError, DomainResult, ErrorCode};
use crate::ports::publisher::Room;

/// The native command behind a client event of the app, and its reply event.
pub fn decode(event: &str, payload: Value) -> DomainResult<Option<Decoded>> {
    Ok(Some(match event {
        // Answered twice (L-R1): the joiner gets the stream info, the room (joiner
        // included) the join notification, `stream:viewer_joined` renamed.
        "stream:join" => Decoded::run("stream:join", in_stream(payload)?).replying("stream:join", |_, info| info),
        "stream:leave" => Decoded::run("stream:leave", in_stream(payload)?),
        "chat:new" => {
            let mut chat = object(in_stream(payload)?)?;
            let text = chat.remove("message").ok_or_else(|| DomainError::bad_request("message is required"))?;
            chat.insert("text".into(), text);
            // The strike's `ai:warning` is the seed's answer to a blocked message (L-R3).
            Decoded::run("stream:chat", Value::Object(chat)).silent_on(ErrorCode::Blocked)
        }
        "gift:sent" => {
            let mut gift = object(in_stream(payload)?)?;
            rename_id(&mut gift, "giftId", "giftId");
            with_client_tx_id(&mut gift);
            Decoded::run("gift:send", Value::Object(gift))
        }
        // The throne follows gifts (L-R5).
        "throne:claimed" => {
            return Err(DomainError::bad_request("the throne cannot be claimed: it goes to the stream's top gifter (send gift:sent)"));
        }
        "battle:boost" => {
            let mut boost = object(payload)?;
            rename_id(&mut boost, "battleId", "battleId");
            rename_id(&mut boost, "side", "side");
            rename_id(&mut boost, "boostId", "boostId");
            // No `boostId`: the native command buys the catalog's first boost (L-R6).
            with_client_tx_id(&mut boost);
            Decoded::run("battle:boost", Value::Object(boost))
        }
        "content_updated" => Decoded::run("collab:update", in_session(payload)?),
        "collab:join" => Decoded::run("collab:join", in_session(payload)?),
        "collab:leave" => Decoded::run("collab:leave", in_session(payload)?),
        _ => return Ok(None),
    }))
}

/// A native server event as the app hears it.
pub fn encode(event: &str, native: &Value) -> Encoded {
    match event {
        "stream:chat" => Encoded::Frames(vec![("chat:new", chat_message(native))]),
        "stream:viewer_joined" => Encoded::Renamed("stream:join"),
        "stream:viewer_left" => Encoded::Renamed("stream:leave"),
        // Viewers are in the join and leave notifications and `metrics:update` (L-R1).
        "stream:viewers" => Encoded::Drop,
        // `ai:warning` stands for it.
        "moderation:warning" => Encoded::Drop,
        // The coalesced scores: `{battleId, scores}` as natively (L-R6).
        "battle:update" => Encoded::Renamed("battle:boost"),
        "collab:update" => Encoded::Frames(vec![(
            "content_updated",
            with_seq(native, [
                ("sessionId", get(native, "docId").clone()),
                ("update", get(native, "update").clone()),
                ("userId", get(native, "userId").clone()),
            ]),
        )]),
        // Native pass-through (L-R8).
        _ => Encoded::Same,
    }
}

/// The native room a room name of the app stands for: `throne:123` is the stream room
/// (L-R5); `stream:123`, `user:1` and `collab:1` are native names already.
pub fn parse_room(name: &str) -> Option<Room> {
    let id = name.strip_prefix("throne:")?;
    Some(Room::Stream(id.to_owned()))
}

/// A payload naming a stream, with a numeric `streamId` as its decimal string.
fn in_stream(payload: Value) -> DomainResult<Value> {
    let mut map = object(payload)?;
    rename_id(&mut map, "streamId", "streamId");
    Ok(Value::Object(map))
}

/// A payload naming a collaborative session: `sessionId` is the native `docId`
/// (`docId` is taken too, L-R7).
fn in_session(payload: Value) -> DomainResult<Value> {
    let mut map = object(payload)?;
    rename_id(&mut map, "sessionId", "docId");
    rename_id(&mut map, "docId", "docId");
    Ok(Value::Object(map))
}

/// The seed sends no idempotency key: without one, each event is a new payment (L-R4).
fn with_client_tx_id(map: &mut Map<String, Value>) {
    match map.get("clientTxId") {
        None | Some(Value::Null) => {
            map.insert("clientTxId".into(), Value::String(uuid::Uuid::now_v7().to_string()));
        }
        Some(_) => {
            if let Some(key) = map.remove("clientTxId") {
                map.insert("clientTxId".into(), id_value(key));
            }
        }
    }
}

/// `chat:new`: the stream message flattened (L-R9).
fn chat_message(native: &Value) -> Value {
    let message = get(native, "message");
    let text = get(message, "text");
    let mentions: Vec<Value> = text.as_str().map(mentions).unwrap_or_default().into_iter().map(Value::String).collect();
    with_seq(native, [
        ("id", get(message, "id").clone()),
        ("streamId", get(native, "streamId").clone()),
        ("user", get(message, "user").clone()),
        ("message", text.clone()),
        ("type", json!("text")),
        ("mentions", Value::Array(mentions)),
        ("createdAt", get(message, "createdAt").clone()),
    ])
}

/// The `@names` of a text as written, without the `@`, each once, in order. A name is
/// letters, digits, `_`, `.` and `-` after an `@` that starts a word (so an e-mail
/// address mentions nobody); a trailing `.` or `-` is punctuation, not the name's.
fn mentions(text: &str) -> Vec<String> {
    let is_name = |c: char| c.is_alphanumeric() || matches!(c, '_' | '.' | '-');
    let mut found: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    for (i, c) in text.char_indices() {
        let starts_word = previous.is_none_or(|p| !is_name(p) && p != '@');
        if c == '@' && starts_word {
            let rest = &text[i + 1..];
            let end = rest.find(|c: char| !is_name(c)).unwrap_or(rest.len());
            let name = rest[..end].trim_end_matches(['.', '-']);
            if !name.is_empty() && !found.iter().any(|n| n == name) {
                found.push(name.to_owned());
            }
        }
        previous = Some(c);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(event: &str, payload: Value) -> Decoded {
        decode(event, payload).ok().flatten().expect("a livestream event")
    }

    #[test]
    fn joining_runs_the_native_join_and_replies_with_the_stream_info() {
        let join = decoded("stream:join", json!({ "streamId": 123 }));
        assert_eq!((join.command, &join.payload), (Some("stream:join"), &json!({ "streamId": "123" })));
        let reply = join.reply.expect("the stream info");
        assert_eq!(reply.event, "stream:join");
        let info = json!({ "stream": { "id": "123" }, "viewerCount": 1, "throne": null, "battle": null, "gifts": [], "og": { "tier": null, "coins": 0 } });
        assert_eq!((reply.shape)(&join.payload, info.clone()), info, "the native ack data as it is");
        let leave = decoded("stream:leave", json!({ "streamId": "123" }));
        assert_eq!((leave.command, leave.reply.is_none()), (Some("stream:leave"), true));
    }

    #[test]
    fn chat_new_posts_to_stream_chat_and_a_blocked_message_is_answered_by_the_warning_alone() {
        let chat = decoded("chat:new", json!({ "streamId": "s1", "message": "hi @ann" }));
        assert_eq!((chat.command, chat.payload), (Some("stream:chat"), json!({ "streamId": "s1", "text": "hi @ann" })));
        assert_eq!(chat.silent_refusal, Some(ErrorCode::Blocked));
        assert!(chat.reply.is_none(), "the sender hears the broadcast");
        let missing = decode("chat:new", json!({ "streamId": "s1" })).err().map(|e| (e.code, e.message));
        assert_eq!(missing, Some((ErrorCode::BadRequest, "message is required".into())));
        assert!(decode("chat:new", json!("hi")).is_err(), "a bare string is not a payload");
    }

    #[test]
    fn gifts_and_boosts_get_a_fresh_client_tx_id_when_the_app_sends_none() {
        let gift = decoded("gift:sent", json!({ "streamId": 7, "giftId": "rose", "count": 3 }));
        assert_eq!(gift.command, Some("gift:send"));
        assert_eq!((&gift.payload["streamId"], &gift.payload["giftId"], &gift.payload["count"]), (&json!("7"), &json!("rose"), &json!(3)));
        let again = decoded("gift:sent", json!({ "streamId": 7, "giftId": "rose" }));
        assert!(gift.payload["clientTxId"].as_str().is_some_and(|k| !k.is_empty()));
        assert_ne!(gift.payload["clientTxId"], again.payload["clientTxId"], "each event is a new gift");
        let keyed = decoded("gift:sent", json!({ "streamId": "s", "giftId": "rose", "clientTxId": "tx-1" }));
        assert_eq!(keyed.payload["clientTxId"], "tx-1", "the app's own key is kept");
        let boost = decoded("battle:boost", json!({ "battleId": "b1", "side": "s1" }));
        assert_eq!(boost.command, Some("battle:boost"));
        assert!(boost.payload.get("boostId").is_none(), "the native command picks the catalog's first boost");
        assert!(boost.payload["clientTxId"].as_str().is_some_and(|k| !k.is_empty()));
        let named = decoded("battle:boost", json!({ "battleId": "b1", "side": 12, "boostId": "turbo", "clientTxId": "k" }));
        assert_eq!(named.payload, json!({ "battleId": "b1", "side": "12", "boostId": "turbo", "clientTxId": "k" }));
    }

    #[test]
    fn the_throne_cannot_be_claimed_by_a_client() {
        let refused = decode("throne:claimed", json!({ "streamId": "s1" })).err().map(|e| e.code);
        assert_eq!(refused, Some(ErrorCode::BadRequest));
    }

    #[test]
    fn sessions_are_collab_documents() {
        let update = decoded("content_updated", json!({ "sessionId": "doc-1", "update": "AQID" }));
        assert_eq!((update.command, update.payload), (Some("collab:update"), json!({ "docId": "doc-1", "update": "AQID" })));
        let join = decoded("collab:join", json!({ "sessionId": 5 }));
        assert_eq!((join.command, join.payload), (Some("collab:join"), json!({ "docId": "5" })));
        let native = decoded("collab:leave", json!({ "docId": "doc-1" }));
        assert_eq!((native.command, native.payload), (Some("collab:leave"), json!({ "docId": "doc-1" })));
        assert!(matches!(decode("stream:like", json!({ "streamId": "s" })), Ok(None)), "native pass-through");
    }

    #[test]
    fn stream_chat_goes_out_as_chat_new_with_its_mentions() {
        let user = json!({ "id": "u1", "username": "ann", "name": null, "avatar": null, "verified": false });
        let native = json!({
            "streamId": "s1", "seq": 4,
            "message": { "id": "m1", "streamId": "s1", "user": user, "text": "hey @bob and @cara.j, mail me at x@y.z, @bob!", "createdAt": "t" }
        });
        let Encoded::Frames(frames) = encode("stream:chat", &native) else { panic!("a frame") };
        assert_eq!(frames, vec![(
            "chat:new",
            json!({
                "id": "m1", "streamId": "s1", "user": user, "message": "hey @bob and @cara.j, mail me at x@y.z, @bob!",
                "type": "text", "mentions": ["bob", "cara.j"], "createdAt": "t", "seq": 4
            })
        )]);
    }

    #[test]
    fn native_events_become_the_apps_or_pass_through() {
        assert_eq!(encode("stream:viewer_joined", &json!({})), Encoded::Renamed("stream:join"));
        assert_eq!(encode("stream:viewer_left", &json!({})), Encoded::Renamed("stream:leave"));
        assert_eq!(encode("battle:update", &json!({ "battleId": "b", "scores": {} })), Encoded::Renamed("battle:boost"));
        assert_eq!(encode("stream:viewers", &json!({})), Encoded::Drop);
        assert_eq!(encode("moderation:warning", &json!({})), Encoded::Drop);
        for same in ["ai:warning", "gift:sent", "throne:claimed", "metrics:update", "og:changed", "stream:status", "wallet:updated"] {
            assert_eq!(encode(same, &json!({})), Encoded::Same, "{same}");
        }
        let update = json!({ "docId": "d1", "update": "AQID", "userId": "u1" });
        assert_eq!(
            encode("collab:update", &update),
            Encoded::Frames(vec![("content_updated", json!({ "sessionId": "d1", "update": "AQID", "userId": "u1" }))])
        );
    }

    #[test]
    fn throne_rooms_are_stream_rooms() {
        assert_eq!(parse_room("throne:123"), Some(Room::Stream("123".into())));
        assert_eq!(parse_room("stream:123"), None, "a native name, parsed natively");
        assert_eq!(parse_room("throne_123"), None);
    }

    #[test]
    fn mentions_are_the_names_after_an_at_sign() {
        assert_eq!(mentions("@ann hi"), ["ann"]);
        assert_eq!(mentions("no mentions, a@b.c, @ alone, @@x"), Vec::<String>::new());
        assert_eq!(mentions("(@zoë) @dan-."), ["zoë", "dan"]);
    }
}
