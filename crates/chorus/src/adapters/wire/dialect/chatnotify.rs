//! The `chatnotify` dialect: the chat and notifications app of seed 004
//! (docs/dialects.md §5). Rooms by `chatRoomId`, persisted messages with Mongo-style
//! fields (`_id`, `chatRoomId`, `senderId`), history by offset, stored notifications.

use serde_json::{Map, Value, json};

use super::fields::{get, keep_seq, object, rename_id, with_seq};
use super::{Decoded, Encoded};
use crate::domain::error::DomainResult;

/// The native command behind a client event of the app, and its reply event.
pub fn decode(event: &str, payload: Value) -> DomainResult<Option<Decoded>> {
    Ok(Some(match event {
        "join_room" => Decoded::run("chat:join", in_room(payload)?),
        "leave_room" => Decoded::run("chat:leave", in_room(payload)?),
        "send_message" => {
            let mut message = object(in_room(payload)?)?;
            // The seed sends no idempotency key: each event is a new message (C-R1).
            message.insert("clientMsgId".into(), Value::String(uuid::Uuid::now_v7().to_string()));
            Decoded::run("chat:send", Value::Object(message))
        }
        "get_history" => Decoded::run("chat:history", in_room(payload)?).replying("message_history", history),
        // Every socket of a user hears its notifications from the start (C-R3).
        "subscribe_notifications" => Decoded::nothing(),
        "typing" => {
            let mut typing = object(in_room(payload)?)?;
            if let Some(on) = typing.remove("isTyping") {
                typing.insert("typing".into(), on);
            }
            Decoded::run("chat:typing", Value::Object(typing))
        }
        "mark_read" => Decoded::run("chat:read", in_room(payload)?),
        _ => return Ok(None),
    }))
}

/// A native server event as the app hears it.
pub fn encode(event: &str, native: &Value) -> Encoded {
    match event {
        "chat:message" => {
            let mut message = message(get(native, "message"));
            keep_seq(native, &mut message);
            Encoded::Frames(vec![("receive_message", message)])
        }
        "chat:typing" => Encoded::Frames(vec![(
            "typing",
            with_seq(native, [
                ("chatRoomId", get(native, "roomId").clone()),
                ("userId", get(get(native, "user"), "id").clone()),
                ("isTyping", get(native, "typing").clone()),
            ]),
        )]),
        "chat:read" => Encoded::Frames(vec![(
            "message_read",
            with_seq(native, [
                ("chatRoomId", get(native, "roomId").clone()),
                ("userId", get(native, "userId").clone()),
                ("messageId", get(native, "messageId").clone()),
                ("readAt", get(native, "readAt").clone()),
            ]),
        )]),
        "notification:new" => Encoded::Frames(vec![("notification", notification(native))]),
        _ => Encoded::Same,
    }
}

/// A payload naming a room by `chatRoomId` (a number as its decimal string), as the
/// native `roomId`; `messageId` likewise.
fn in_room(payload: Value) -> DomainResult<Value> {
    let mut map = object(payload)?;
    rename_id(&mut map, "chatRoomId", "roomId");
    rename_id(&mut map, "messageId", "messageId");
    Ok(Value::Object(map))
}

/// `message_history`: `{chatRoomId, messages, hasMore}`, newest first (C-R2); also the
/// `data` of the dialect's REST history, `GET /api/chat/messages/{chatRoomId}`.
pub fn history(request: &Value, ack: Value) -> Value {
    let messages: Vec<Value> = get(&ack, "messages").as_array().map(|all| all.iter().map(message).collect()).unwrap_or_default();
    json!({ "chatRoomId": get(request, "roomId"), "messages": messages, "hasMore": get(&ack, "hasMore") })
}

/// A message with the seed model's fields (`_id`, `chatRoomId`, `senderId`,
/// `updatedAt`) beside the native ones (C-R4).
pub fn message(native: &Value) -> Value {
    let mut fields = native.as_object().cloned().unwrap_or_default();
    let copy = |fields: &mut Map<String, Value>, from: &str, to: &str| {
        let value = fields.get(from).cloned().unwrap_or(Value::Null);
        fields.insert(to.to_owned(), value);
    };
    copy(&mut fields, "id", "_id");
    copy(&mut fields, "roomId", "chatRoomId");
    let sender = get(native, "sender").get("id").cloned().unwrap_or(Value::Null);
    fields.insert("senderId".into(), sender);
    let updated = match get(native, "editedAt") {
        Value::Null => get(native, "createdAt").clone(),
        edited => edited.clone(),
    };
    fields.insert("updatedAt".into(), updated);
    Value::Object(fields)
}

/// `notification`: the stored notification with `_id`, its type in capitals, and the
/// unread count (C-R5).
fn notification(native: &Value) -> Value {
    let mut fields = get(native, "notification").as_object().cloned().unwrap_or_default();
    if let Some(id) = fields.get("id").cloned() {
        fields.insert("_id".into(), id);
    }
    if let Some(kind) = fields.get("type").and_then(Value::as_str).map(str::to_uppercase) {
        fields.insert("type".into(), Value::String(kind));
    }
    fields.insert("unreadCount".into(), get(native, "unreadCount").clone());
    let mut payload = Value::Object(fields);
    keep_seq(native, &mut payload);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(event: &str, payload: Value) -> Decoded {
        decode(event, payload).ok().flatten().expect("a chatnotify event")
    }

    #[test]
    fn client_events_run_their_native_commands() {
        let join = decoded("join_room", json!({ "chatRoomId": "R1" }));
        assert_eq!((join.command, join.payload), (Some("chat:join"), json!({ "roomId": "R1" })));
        let send = decoded("send_message", json!({ "chatRoomId": "R1", "text": "Hello!" }));
        assert_eq!(send.command, Some("chat:send"));
        assert_eq!(send.payload["roomId"], "R1");
        assert!(send.payload["clientMsgId"].as_str().is_some_and(|k| !k.is_empty()));
        let again = decoded("send_message", json!({ "chatRoomId": "R1", "text": "Hello!" }));
        assert_ne!(send.payload["clientMsgId"], again.payload["clientMsgId"], "each event is a new message");
        let typing = decoded("typing", json!({ "chatRoomId": 5, "isTyping": true }));
        assert_eq!(typing.payload, json!({ "roomId": "5", "typing": true }));
        let subscribe = decoded("subscribe_notifications", json!({}));
        assert!(subscribe.command.is_none());
        let history = decoded("get_history", json!({ "chatRoomId": "R1", "limit": 20, "skip": 40 }));
        assert_eq!(history.payload, json!({ "roomId": "R1", "limit": 20, "skip": 40 }));
    }

    #[test]
    fn messages_and_notifications_carry_the_seed_models_fields() {
        let native = json!({ "roomId": "R1", "seq": 3, "message": { "id": "m1", "roomId": "R1", "sender": { "id": "u1" }, "text": "Hello!", "createdAt": "t1", "editedAt": null } });
        let Encoded::Frames(frames) = encode("chat:message", &native) else { panic!("a frame") };
        let (name, message) = &frames[0];
        assert_eq!(*name, "receive_message");
        assert_eq!((&message["_id"], &message["chatRoomId"], &message["senderId"], &message["updatedAt"]), (&json!("m1"), &json!("R1"), &json!("u1"), &json!("t1")));
        assert_eq!(message["seq"], 3);
        let native = json!({ "notification": { "id": "n1", "type": "like", "text": "ann liked" }, "unreadCount": 2 });
        let Encoded::Frames(frames) = encode("notification:new", &native) else { panic!("a frame") };
        assert_eq!(frames[0].1, json!({ "id": "n1", "_id": "n1", "type": "LIKE", "text": "ann liked", "unreadCount": 2 }));
        let history = decoded("get_history", json!({ "chatRoomId": "R1" }));
        let reply = history.reply.expect("message_history");
        let page = (reply.shape)(&history.payload, json!({ "messages": [{ "id": "m1", "roomId": "R1", "createdAt": "t" }], "hasMore": false }));
        assert_eq!(page["chatRoomId"], "R1");
        assert_eq!(page["messages"][0]["_id"], "m1");
        assert_eq!(page["hasMore"], false);
    }
}
