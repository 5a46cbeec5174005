//! The `chatblog` dialect: the chat and blog app of seed 003 (docs/dialects.md §4).
//! `join-room` with a bare room id: `blog-room` is a channel the backend posts into,
//! `post-${postId}` a post's content room, any other id a chat room.

use serde_json::{Value, json};

use super::fields::{get, id_value, keep_seq, object, rename_id, with_seq};
use super::{Decoded, Encoded};
use crate::domain::error::{DomainError, DomainResult};
use crate::ports::publisher::Room;

/// The blog's channel (003:92).
pub const BLOG_ROOM: &str = "blog-room";

/// The native command behind a client event of the app.
pub fn decode(event: &str, payload: Value) -> DomainResult<Option<Decoded>> {
    Ok(Some(match event {
        "join-room" => match room_of(payload)? {
            Named::Channel(name) => Decoded::run("channel:join", json!({ "name": name })),
            Named::Post(id) => Decoded::run("content:join", json!({ "contentId": id })),
            Named::Chat(id) => Decoded::run("chat:join", json!({ "roomId": id })),
        },
        "leave-room" => match room_of(payload)? {
            Named::Channel(name) => Decoded::run("channel:leave", json!({ "name": name })),
            Named::Post(id) => Decoded::run("content:leave", json!({ "contentId": id })),
            Named::Chat(id) => Decoded::run("chat:leave", json!({ "roomId": id })),
        },
        "send-message" => {
            let mut message = object(payload)?;
            rename_id(&mut message, "roomId", "roomId");
            for alias in ["content", "message"] {
                if let Some(text) = message.remove(alias) {
                    message.entry("text").or_insert(text);
                }
            }
            // The seed sends no idempotency key: each event is a new message (B-R4).
            message.insert("clientMsgId".into(), new_key());
            Decoded::run("chat:send", Value::Object(message))
        }
        "typing-start" => Decoded::run("chat:typing", typing(payload, true)?),
        "typing-stop" => Decoded::run("chat:typing", typing(payload, false)?),
        "send-reaction" => {
            let mut reaction = object(payload)?;
            rename_id(&mut reaction, "messageId", "messageId");
            Decoded::run("chat:react", Value::Object(reaction))
        }
        "share-location" => {
            let mut message = object(payload)?;
            rename_id(&mut message, "roomId", "roomId");
            message.insert("kind".into(), Value::String("location".into()));
            message.insert("clientMsgId".into(), new_key());
            Decoded::run("chat:send", Value::Object(message))
        }
        "initiate-call" => {
            let mut call = object(payload)?;
            rename_id(&mut call, "roomId", "roomId");
            if let Some(media) = call.remove("type") {
                call.insert("media".into(), media);
            }
            Decoded::run("call:invite", Value::Object(call)).replying("call-initiated", |_, ack| json!({ "callId": get(&ack, "callId") }))
        }
        "like-post" => {
            let mut like = object(payload)?;
            rename_id(&mut like, "postId", "contentId");
            Decoded::run("content:like", Value::Object(like))
        }
        _ => return Ok(None),
    }))
}

/// A native server event as the app hears it.
pub fn encode(event: &str, native: &Value) -> Encoded {
    match event {
        "chat:user_joined" => Encoded::Renamed("user-joined"),
        "chat:user_left" => Encoded::Renamed("user-left"),
        "chat:message" => {
            let mut message = get(native, "message").clone();
            if let Some(fields) = message.as_object_mut() {
                let sender = fields.get("sender").cloned().unwrap_or(Value::Null);
                fields.insert("userId".into(), get(&sender, "id").clone());
                fields.insert("user".into(), sender);
            }
            keep_seq(native, &mut message);
            Encoded::Frames(vec![("new-message", message)])
        }
        "chat:typing" => {
            let name = if get(native, "typing") == &Value::Bool(true) { "typing-start" } else { "typing-stop" };
            Encoded::Frames(vec![(name, with_seq(native, [("roomId", get(native, "roomId").clone()), ("user", get(native, "user").clone())]))])
        }
        "chat:reaction" => Encoded::Renamed("message-reaction"),
        "call:incoming" => {
            let incoming = with_seq(native, [
                ("callId", get(native, "callId").clone()),
                ("roomId", get(native, "roomId").clone()),
                ("from", get(native, "from").clone()),
                ("type", get(native, "media").clone()),
            ]);
            Encoded::Frames(vec![("incoming-call", incoming)])
        }
        "content:like" => Encoded::Frames(vec![(
            "post-like",
            with_seq(native, [
                ("postId", get(native, "contentId").clone()),
                ("likesCount", get(native, "likesCount").clone()),
                ("userId", get(native, "userId").clone()),
                ("isLiked", get(native, "isLiked").clone()),
                ("timestamp", get(native, "timestamp").clone()),
            ]),
        )]),
        "content:comment" => Encoded::Frames(vec![(
            "new-comment",
            with_seq(native, [
                ("postId", get(native, "contentId").clone()),
                ("comment", get(native, "comment").clone()),
                ("commentsCount", get(native, "commentsCount").clone()),
            ]),
        )]),
        "comment:edited" => Encoded::Frames(vec![(
            "comment-updated",
            with_seq(native, [("postId", get(native, "contentId").clone()), ("comment", get(native, "comment").clone())]),
        )]),
        "notification:new" => Encoded::Frames(vec![("notification", notification(native))]),
        "system:announcement" => Encoded::Renamed("system-announcement"),
        // The message itself is the answer (`new-message`); the seed shows no edits,
        // deletions or read receipts, and post counts arrive in `post-like` and
        // `new-comment` (§4.2).
        "chat:edited" | "chat:deleted" | "chat:read" => Encoded::Drop,
        "content:counts" | "content:viewers" | "content:view" | "content:share" => Encoded::Drop,
        _ => Encoded::Same,
    }
}

/// The native room a room name of the app stands for: `blog-room`, `post-123`; the
/// seed's chat rooms are named by their ids, which the server API takes as `chat:{id}`.
pub fn parse_room(name: &str) -> Option<Room> {
    match name {
        BLOG_ROOM => Some(Room::Channel(BLOG_ROOM.to_owned())),
        _ => name.strip_prefix("post-").map(|id| Room::Content(id.to_owned())),
    }
}

/// What a room id of `join-room` names (B-R1).
enum Named {
    Channel(String),
    Post(Value),
    Chat(Value),
}

/// The room id of `join-room`/`leave-room`: the seed's bare string (003:98), or
/// `{roomId}`; an integer id as its decimal string.
fn room_of(payload: Value) -> DomainResult<Named> {
    let id = match payload {
        Value::Object(mut map) => map.remove("roomId").unwrap_or(Value::Null),
        other => other,
    };
    Ok(match id_value(id) {
        Value::String(id) if id == BLOG_ROOM => Named::Channel(id),
        Value::String(id) => match id.strip_prefix("post-") {
            Some(post) => Named::Post(Value::String(post.to_owned())),
            None => Named::Chat(Value::String(id)),
        },
        _ => return Err(DomainError::bad_request("roomId must be a string: a chat room id, \"blog-room\" or \"post-<postId>\"")),
    })
}

/// `typing-start`/`typing-stop {roomId}` (B-R5).
fn typing(payload: Value, on: bool) -> DomainResult<Value> {
    let mut map = object(payload)?;
    rename_id(&mut map, "roomId", "roomId");
    map.insert("typing".into(), Value::Bool(on));
    Ok(Value::Object(map))
}

fn new_key() -> Value {
    Value::String(uuid::Uuid::now_v7().to_string())
}

/// `notification`: `{title, message, type}` for the app's toast (003:190-193), beside
/// the stored notification's `id`, `kind`, `data`, `createdAt` and `read` (B-R14).
fn notification(native: &Value) -> Value {
    let n = get(native, "notification");
    let data = get(n, "data");
    let kind = get(n, "type").as_str().unwrap_or("custom");
    let title = match get(data, "title") {
        Value::String(title) => title.clone(),
        _ => title_of(kind).to_owned(),
    };
    let variant = match get(data, "variant") {
        Value::String(variant) => variant.clone(),
        _ => "default".to_owned(),
    };
    with_seq(native, [
        ("id", get(n, "id").clone()),
        ("title", Value::String(title)),
        ("message", get(n, "text").clone()),
        ("type", Value::String(variant)),
        ("kind", Value::String(kind.to_owned())),
        ("data", data.clone()),
        ("createdAt", get(n, "createdAt").clone()),
        ("read", get(n, "read").clone()),
        ("unreadCount", get(native, "unreadCount").clone()),
    ])
}

/// The toast title of a notification type the backend gave no title.
fn title_of(kind: &str) -> &'static str {
    match kind {
        "like" => "New like",
        "comment" => "New comment",
        "reply" => "New reply",
        "mention" => "New mention",
        "follow" => "New follower",
        "message" => "New message",
        "gift" => "New gift",
        _ => "Notification",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(event: &str, payload: Value) -> Decoded {
        decode(event, payload).ok().flatten().expect("a chatblog event")
    }

    #[test]
    fn a_bare_room_id_names_the_blog_channel_a_post_or_a_chat_room() {
        let blog = decoded("join-room", json!("blog-room"));
        assert_eq!((blog.command, blog.payload), (Some("channel:join"), json!({ "name": "blog-room" })));
        let post = decoded("join-room", json!("post-42"));
        assert_eq!((post.command, post.payload), (Some("content:join"), json!({ "contentId": "42" })));
        let chat = decoded("join-room", json!({ "roomId": 7 }));
        assert_eq!((chat.command, chat.payload), (Some("chat:join"), json!({ "roomId": "7" })));
        let left = decoded("leave-room", json!("room-id"));
        assert_eq!((left.command, left.payload), (Some("chat:leave"), json!({ "roomId": "room-id" })));
        assert!(decode("join-room", json!(["blog-room"])).is_err());
        assert!(decode("join-room", json!({})).is_err());
    }

    #[test]
    fn client_events_run_their_native_commands() {
        let send = decoded("send-message", json!({ "roomId": "r", "content": "Hello everyone!" }));
        assert_eq!(send.command, Some("chat:send"));
        assert_eq!(send.payload["text"], "Hello everyone!");
        assert!(send.payload["clientMsgId"].as_str().is_some_and(|k| !k.is_empty()));
        assert_eq!(decoded("typing-start", json!({ "roomId": "r" })).payload, json!({ "roomId": "r", "typing": true }));
        let place = decoded("share-location", json!({ "roomId": "r", "location": { "lat": 35.6762, "lng": 139.6503 } }));
        assert_eq!((place.command, place.payload["kind"].clone()), (Some("chat:send"), json!("location")));
        let call = decoded("initiate-call", json!({ "roomId": "r", "type": "video" }));
        assert_eq!((call.command, call.payload), (Some("call:invite"), json!({ "roomId": "r", "media": "video" })));
        let reply = call.reply.expect("call-initiated");
        assert_eq!((reply.event, (reply.shape)(&json!({}), json!({ "callId": "c1" }))), ("call-initiated", json!({ "callId": "c1" })));
        assert_eq!(decoded("like-post", json!({ "postId": 5 })).payload, json!({ "contentId": "5" }));
        assert!(matches!(decode("collab:join", json!({})), Ok(None)), "the native command as it is");
    }

    #[test]
    fn native_events_become_the_apps_events() {
        let message = json!({ "roomId": "r", "seq": 3, "message": { "id": "m", "roomId": "r", "sender": { "id": "u", "username": "ann" }, "text": "hi" } });
        let Encoded::Frames(frames) = encode("chat:message", &message) else { panic!("frames") };
        assert_eq!(frames[0].0, "new-message");
        assert_eq!(frames[0].1["user"]["id"], "u");
        assert_eq!(frames[0].1["userId"], "u");
        assert_eq!(frames[0].1["seq"], 3);
        let typing = json!({ "roomId": "r", "user": { "id": "u" }, "typing": false });
        assert_eq!(encode("chat:typing", &typing), Encoded::Frames(vec![("typing-stop", json!({ "roomId": "r", "user": { "id": "u" } }))]));
        let like = json!({ "contentId": "p", "likesCount": 2, "userId": "u", "isLiked": true, "timestamp": "t" });
        let Encoded::Frames(frames) = encode("content:like", &like) else { panic!("frames") };
        assert_eq!(frames[0], ("post-like", json!({ "postId": "p", "likesCount": 2, "userId": "u", "isLiked": true, "timestamp": "t" })));
        assert_eq!(encode("chat:user_joined", &json!({})), Encoded::Renamed("user-joined"));
        assert_eq!(encode("system:announcement", &json!({})), Encoded::Renamed("system-announcement"));
        assert_eq!(encode("content:counts", &json!({})), Encoded::Drop);
        assert_eq!(encode("collab:update", &json!({})), Encoded::Same);
    }

    #[test]
    fn notifications_are_toasts_with_a_title() {
        let stored = json!({ "notification": { "id": "n", "type": "follow", "text": "ann followed you", "data": { "followerId": "a" }, "read": false, "createdAt": "t" }, "unreadCount": 2 });
        let Encoded::Frames(frames) = encode("notification:new", &stored) else { panic!("frames") };
        let toast = &frames[0].1;
        assert_eq!((toast["title"].clone(), toast["message"].clone(), toast["type"].clone()), (json!("New follower"), json!("ann followed you"), json!("default")));
        assert_eq!(toast["kind"], "follow");
        let custom = json!({ "notification": { "type": "custom", "text": "Your post is live", "data": { "title": "Published", "variant": "success" } } });
        let Encoded::Frames(frames) = encode("notification:new", &custom) else { panic!("frames") };
        assert_eq!((frames[0].1["title"].clone(), frames[0].1["type"].clone()), (json!("Published"), json!("success")));
    }

    #[test]
    fn room_names_of_the_app_name_native_rooms() {
        assert_eq!(parse_room("blog-room"), Some(Room::Channel("blog-room".into())));
        assert_eq!(parse_room("post-9"), Some(Room::Content("9".into())));
        assert_eq!(parse_room("chat:9"), None, "a native name, read natively");
    }
}
