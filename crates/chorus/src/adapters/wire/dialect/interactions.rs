//! The `interactions` dialect: the universal content interactions of seed 000
//! (docs/dialects.md §1). Content rooms `content:${contentType}:${contentId}`, media
//! rooms `media:${mediaId}`, live streams, presence and private chats; each
//! interaction is broadcast under the name the client sent it with (I-R3).

use serde_json::{Map, Value, json};

use super::fields::{get, keep_seq, object, rename_id, with_seq};
use super::{Decoded, Encoded};
use crate::domain::error::{DomainError, DomainResult};
use crate::ports::publisher::Room;

/// The native command behind a client event of the app.
pub fn decode(event: &str, payload: Value) -> DomainResult<Option<Decoded>> {
    Ok(Some(match event {
        "join-content" => Decoded::run("content:join", ids(payload, &[("contentId", "contentId")])?),
        "leave-content" => Decoded::run("content:leave", ids(payload, &[("contentId", "contentId")])?),
        "join-media" => Decoded::run("content:join", ids(payload, &[("mediaId", "contentId")])?),
        "leave-media" => Decoded::run("content:leave", ids(payload, &[("mediaId", "contentId")])?),
        "content-reaction" => Decoded::run("content:like", like(payload, "contentId")?),
        "media-reaction" => Decoded::run("content:like", like(payload, "mediaId")?),
        "content-comment" => Decoded::run("content:comment", ids(payload, &[("contentId", "contentId"), ("parentId", "parentId")])?),
        "new-comment" => Decoded::run("content:comment", ids(payload, &[("mediaId", "contentId"), ("parentId", "parentId")])?),
        "comment-reaction" => Decoded::run("comment:react", ids(payload, &[("commentId", "commentId")])?),
        "join-stream" => Decoded::run("stream:join", ids(payload, &[("streamId", "streamId")])?),
        "leave-stream" => Decoded::run("stream:leave", ids(payload, &[("streamId", "streamId")])?),
        "stream-chat" | "live-chat-message" => Decoded::run("stream:chat", stream_chat(payload)?),
        "stream-status" | "stream-update" => Decoded::run("stream:status", ids(payload, &[("streamId", "streamId")])?),
        "user-presence" => Decoded::run("presence:set", presence(payload)?),
        "typing-start" => Decoded::run("comment:typing", typing(payload, "contentId", "contentId", Some(true))?),
        "typing-stop" => Decoded::run("comment:typing", typing(payload, "contentId", "contentId", Some(false))?),
        "typing-indicator" => {
            let map = object(payload)?;
            if map.contains_key("chatId") {
                Decoded::run("chat:typing", typing(Value::Object(map), "chatId", "roomId", None)?)
            } else {
                Decoded::run("comment:typing", typing(Value::Object(map), "contentId", "contentId", None)?)
            }
        }
        "send-message" => {
            let map = object(payload)?;
            if map.contains_key("chatId") {
                Decoded::run("chat:send", message(Value::Object(map))?)
            } else {
                // A direct message: open the pair's room, then send to it (I-R15).
                let mut open = map;
                rename_id(&mut open, "recipientId", "otherUserId");
                Decoded::run("chat:open", Value::Object(open)).then_answering(send_to_opened)
            }
        }
        // The chat's members become watched users, so their `user-presence` arrives (I-R12).
        "join-chat" => Decoded::run("chat:join", ids(payload, &[("chatId", "roomId")])?).then(watch_members),
        "leave-chat" => Decoded::run("chat:leave", ids(payload, &[("chatId", "roomId")])?),
        "chat-typing-start" => Decoded::run("chat:typing", typing(payload, "chatId", "roomId", Some(true))?),
        "chat-typing-stop" => Decoded::run("chat:typing", typing(payload, "chatId", "roomId", Some(false))?),
        _ => return Ok(None),
    }))
}

/// A native server event as the app hears it.
pub fn encode(event: &str, native: &Value) -> Encoded {
    let content = || (get(native, "contentId").clone(), get(native, "contentType").clone());
    match event {
        "content:like" => {
            let (id, kind) = content();
            let fields = |key: &str, id: Value| {
                let mut pairs = vec![(key.to_owned(), id)];
                if key == "contentId" {
                    pairs.push(("contentType".into(), kind.clone()));
                }
                pairs.extend([
                    ("userId".into(), get(native, "userId").clone()),
                    ("isLiked".into(), get(native, "isLiked").clone()),
                    ("likeCount".into(), get(native, "likesCount").clone()),
                    ("timestamp".into(), get(native, "timestamp").clone()),
                ]);
                with_seq(native, pairs)
            };
            Encoded::Frames(vec![("content-reaction", fields("contentId", id.clone())), ("media-reaction", fields("mediaId", id))])
        }
        "content:comment" => {
            let (id, kind) = content();
            let comment = with_user_id(get(native, "comment"));
            let count = get(native, "commentsCount").clone();
            let at = get(native, "timestamp").clone();
            Encoded::Frames(vec![
                (
                    "content-comment",
                    with_seq(native, [("contentId", id.clone()), ("contentType", kind), ("comment", comment.clone()), ("commentCount", count.clone()), ("timestamp", at.clone())]),
                ),
                ("new-comment", with_seq(native, [("mediaId", id), ("comment", comment), ("commentCount", count), ("timestamp", at)])),
            ])
        }
        "content:counts" => {
            let (id, kind) = content();
            let counts = json!({
                "contentId": id, "contentType": kind,
                "likeCount": get(native, "likes"), "commentCount": get(native, "comments"), "shareCount": get(native, "shares"),
            });
            Encoded::Frames(vec![("count-update", counts)])
        }
        "content:viewers" => {
            let (id, kind) = content();
            Encoded::Frames(vec![("viewer-count-update", json!({ "contentId": id, "contentType": kind, "viewerCount": get(native, "viewerCount") }))])
        }
        "stream:viewers" => {
            Encoded::Frames(vec![("viewer-count-update", json!({ "streamId": get(native, "streamId"), "viewerCount": get(native, "viewerCount") }))])
        }
        "comment:reaction" => {
            let (id, kind) = content();
            Encoded::Frames(vec![(
                "comment-reaction",
                with_seq(native, [
                    ("contentId", id),
                    ("contentType", kind),
                    ("commentId", get(native, "commentId").clone()),
                    ("emoji", get(native, "emoji").clone()),
                    ("userId", get(native, "userId").clone()),
                    ("count", get(native, "count").clone()),
                ]),
            )])
        }
        "comment:typing" => {
            let (id, kind) = content();
            typing_frames(native, "typing-start", "typing-stop", [("contentId".into(), id), ("contentType".into(), kind)])
        }
        "chat:typing" => typing_frames(native, "chat-typing-start", "chat-typing-stop", [("chatId".into(), get(native, "roomId").clone())]),
        "stream:chat" => {
            let message = get(native, "message");
            let chat = with_seq(native, [
                ("streamId", get(native, "streamId").clone()),
                ("id", get(message, "id").clone()),
                ("user", with_user_id(get(message, "user"))),
                ("message", get(message, "text").clone()),
                ("createdAt", get(message, "createdAt").clone()),
            ]);
            Encoded::Frames(vec![("stream-chat", chat.clone()), ("live-chat-message", chat)])
        }
        "stream:status" => Encoded::Frames(vec![("stream-status", native.clone()), ("stream-update", native.clone())]),
        "presence:update" => Encoded::Renamed("user-presence"),
        "chat:message" => {
            let mut message = get(native, "message").clone();
            if let Some(fields) = message.as_object_mut() {
                let sender = fields.get("sender").map(with_user_id);
                if let Some(sender) = sender {
                    fields.insert("sender".into(), sender);
                }
            }
            Encoded::Frames(vec![("send-message", with_seq(native, [("chatId", get(native, "roomId").clone()), ("message", message)]))])
        }
        "notification:new" => notification(native),
        // Share and view counts reach the app in `count-update`; the seed has no events
        // for comment edits and deletions, rankings or the other chat events (§1.2).
        "content:share" | "content:view" | "comment:edited" | "comment:deleted" | "ranking:update" => Encoded::Drop,
        "chat:user_joined" | "chat:user_left" | "chat:edited" | "chat:deleted" | "chat:reaction" | "chat:read" => Encoded::Drop,
        _ => Encoded::Same,
    }
}

/// The native room a room name of the app stands for: `content:video:123` (the item
/// `123`, whatever its type: one item space, I-R2), `media:123`; the other names of
/// the seed (`user:`, `stream:`, `chat:`) are native names already.
pub fn parse_room(name: &str) -> Option<Room> {
    let (kind, rest) = name.split_once(':')?;
    match kind {
        "content" => {
            let (_content_type, id) = rest.split_once(':')?;
            Some(Room::Content(id.to_owned()))
        }
        "media" => Some(Room::Content(rest.to_owned())),
        _ => None,
    }
}

/// A payload with the seed's id fields moved to the native names (numbers as their
/// decimal strings).
fn ids(payload: Value, renames: &[(&str, &str)]) -> DomainResult<Value> {
    let mut map = object(payload)?;
    for (from, to) in renames {
        rename_id(&mut map, from, to);
    }
    Ok(Value::Object(map))
}

/// `content-reaction`, `media-reaction`: `action` `"like"` or `"unlike"`, absent
/// toggles (I-R5). An emoji on the item itself has no native backing (I-R7).
fn like(payload: Value, id_field: &str) -> DomainResult<Value> {
    let mut map = object(payload)?;
    if map.contains_key("emoji") {
        return Err(DomainError::bad_request("emoji reactions are for comments (comment-reaction); an item is liked or unliked"));
    }
    let like = match map.remove("action") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(a)) if a == "like" => Value::Bool(true),
        Some(Value::String(a)) if a == "unlike" => Value::Bool(false),
        Some(_) => return Err(DomainError::bad_request("action must be \"like\" or \"unlike\"")),
    };
    rename_id(&mut map, id_field, "contentId");
    map.insert("like".into(), like);
    Ok(Value::Object(map))
}

/// `stream-chat {streamId, message}` (`text` accepted) as `stream:chat` (I-R10).
fn stream_chat(payload: Value) -> DomainResult<Value> {
    let mut map = object(payload)?;
    rename_id(&mut map, "streamId", "streamId");
    if let Some(text) = map.remove("message") {
        map.entry("text").or_insert(text);
    }
    Ok(Value::Object(map))
}

/// `user-presence {status}`: `offline` is natively `invisible` (I-R12).
fn presence(payload: Value) -> DomainResult<Value> {
    let mut map = object(payload)?;
    if map.get("status").and_then(Value::as_str) == Some("offline") {
        map.insert("status".into(), Value::String("invisible".into()));
    }
    Ok(Value::Object(map))
}

/// A typing event: `typing` fixed by the event's name, or from `isTyping` (I-R14).
fn typing(payload: Value, id_field: &str, native_id: &str, typing: Option<bool>) -> DomainResult<Value> {
    let mut map = object(payload)?;
    rename_id(&mut map, id_field, native_id);
    let on = match typing {
        Some(on) => Value::Bool(on),
        None => map.remove("isTyping").unwrap_or(Value::Null),
    };
    map.insert("typing".into(), on);
    Ok(Value::Object(map))
}

/// `send-message {chatId, text}`: a new message each time (I-R15).
fn message(payload: Value) -> DomainResult<Value> {
    let mut map = object(payload)?;
    rename_id(&mut map, "chatId", "roomId");
    // The seed sends no idempotency key: each event is a new message.
    map.insert("clientMsgId".into(), Value::String(uuid::Uuid::now_v7().to_string()));
    Ok(Value::Object(map))
}

/// After `chat:open` for `send-message {recipientId, text}`: the message, to the room.
fn send_to_opened(request: &Value, ack: &Value) -> Option<(&'static str, Value)> {
    let mut text = request.as_object()?.clone();
    text.remove("otherUserId");
    text.insert("chatId".into(), get(get(ack, "room"), "id").clone());
    message(Value::Object(text)).ok().map(|payload| ("chat:send", payload))
}

/// After `join-chat`: watch the presence of the chat's other members.
fn watch_members(_request: &Value, ack: &Value) -> Option<(&'static str, Value)> {
    let members = get(get(ack, "room"), "memberIds").as_array()?.clone();
    (!members.is_empty()).then(|| ("presence:subscribe", json!({ "userIds": members })))
}

/// A user summary with the seed's `userId` beside the native `id` (I-R16); a comment
/// or message gets it in its `user`.
fn with_user_id(value: &Value) -> Value {
    let mut value = value.clone();
    if let Some(fields) = value.as_object_mut() {
        if let Some(user) = fields.get_mut("user").and_then(Value::as_object_mut) {
            add_user_id(user);
        } else if fields.contains_key("id") {
            add_user_id(fields);
        }
    }
    value
}

fn add_user_id(user: &mut Map<String, Value>) {
    if let Some(id) = user.get("id").cloned() {
        user.insert("userId".into(), id);
    }
}

/// `typing-start`/`typing-stop` (or the chat ones) and the generic `user-typing`.
fn typing_frames<const N: usize>(native: &Value, start: &'static str, stop: &'static str, place: [(String, Value); N]) -> Encoded {
    let user = get(native, "user");
    let typing = get(native, "typing").clone();
    let mut pairs: Vec<(String, Value)> = place.into_iter().collect();
    pairs.push(("userId".into(), get(user, "id").clone()));
    pairs.push(("username".into(), get(user, "username").clone()));
    let specific = with_seq(native, pairs.clone());
    pairs.push(("isTyping".into(), typing.clone()));
    let generic = with_seq(native, pairs);
    let name = if typing == Value::Bool(true) { start } else { stop };
    Encoded::Frames(vec![(name, specific), ("user-typing", generic)])
}

/// A stored notification as the seed's events (I-R19); the types it names no event
/// for pass under the native name.
fn notification(native: &Value) -> Encoded {
    let n = get(native, "notification");
    let data = get(n, "data");
    let author = with_user_id(get(n, "actor"));
    let (name, mut frame) = match get(n, "type").as_str() {
        Some("comment" | "reply") => {
            let comment = json!({ "id": get(data, "commentId"), "text": get(data, "text"), "user": author });
            let frame = json!({ "contentId": get(data, "contentId"), "contentType": get(data, "contentType"), "comment": comment, "author": author });
            ("new-comment-notification", frame)
        }
        Some("like") => ("new-like-notification", json!({ "contentId": get(data, "contentId"), "contentType": get(data, "contentType"), "author": author })),
        Some("follow") => ("new-follower-notification", json!({ "follower": author })),
        _ => return Encoded::Same,
    };
    keep_seq(native, &mut frame);
    Encoded::Frames(vec![(name, frame)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(event: &str, payload: Value) -> Decoded {
        decode(event, payload).ok().flatten().expect("an interactions event")
    }

    #[test]
    fn client_events_run_their_native_commands() {
        let join = decoded("join-content", json!({ "contentId": 123, "contentType": "video" }));
        assert_eq!((join.command, join.payload), (Some("content:join"), json!({ "contentId": "123", "contentType": "video" })));
        let media = decoded("join-media", json!({ "mediaId": "m1" }));
        assert_eq!((media.command, media.payload), (Some("content:join"), json!({ "contentId": "m1" })));
        let like = decoded("content-reaction", json!({ "contentId": "c", "contentType": "post", "action": "unlike" }));
        assert_eq!((like.command, like.payload["like"].clone()), (Some("content:like"), json!(false)));
        assert_eq!(decoded("media-reaction", json!({ "mediaId": "m" })).payload, json!({ "contentId": "m", "like": null }), "absent: toggle");
        assert!(decode("content-reaction", json!({ "contentId": "c", "action": "love" })).is_err());
        assert!(decode("media-reaction", json!({ "mediaId": "m", "emoji": "🔥" })).is_err(), "no emoji on items (I-R7)");
        let comment = decoded("new-comment", json!({ "mediaId": 5, "text": "hi", "parentId": 9 }));
        assert_eq!((comment.command, comment.payload), (Some("content:comment"), json!({ "contentId": "5", "text": "hi", "parentId": "9" })));
        let chat = decoded("stream-chat", json!({ "streamId": "s", "message": "hello" }));
        assert_eq!((chat.command, chat.payload), (Some("stream:chat"), json!({ "streamId": "s", "text": "hello" })));
        assert_eq!(decoded("user-presence", json!({ "status": "offline" })).payload, json!({ "status": "invisible" }));
        let typing = decoded("typing-indicator", json!({ "chatId": "r", "isTyping": true }));
        assert_eq!((typing.command, typing.payload), (Some("chat:typing"), json!({ "roomId": "r", "typing": true })));
        let typing = decoded("typing-indicator", json!({ "contentId": "c", "contentType": "video", "isTyping": false }));
        assert_eq!((typing.command, typing.payload["typing"].clone()), (Some("comment:typing"), json!(false)));
        let stop = decoded("chat-typing-stop", json!({ "chatId": "r" }));
        assert_eq!(stop.payload, json!({ "roomId": "r", "typing": false }));
        let send = decoded("send-message", json!({ "chatId": "r", "text": "yo" }));
        assert_eq!(send.payload["roomId"], "r");
        assert!(send.payload["clientMsgId"].as_str().is_some_and(|k| !k.is_empty()));
        let direct = decoded("send-message", json!({ "recipientId": 7, "text": "yo" }));
        assert_eq!((direct.command, direct.payload.clone()), (Some("chat:open"), json!({ "otherUserId": "7", "text": "yo" })));
        let then = direct.then.expect("the send after the room is open");
        assert!(then.answers, "the message answers, not the room");
        let (next, payload) = (then.make)(&direct.payload, &json!({ "room": { "id": "r9" }, "created": true })).expect("a send");
        assert_eq!((next, payload["roomId"].clone(), payload["text"].clone()), ("chat:send", json!("r9"), json!("yo")));
        assert!(payload.get("otherUserId").is_none());
        assert!(decode("join-content", json!("123")).is_err(), "a bare string is not a payload");
        assert!(matches!(decode("presence:subscribe", json!({})), Ok(None)), "the native command as it is");
    }

    #[test]
    fn joining_a_chat_watches_its_members() {
        let join = decoded("join-chat", json!({ "chatId": "r" }));
        assert_eq!((join.command, join.payload.clone()), (Some("chat:join"), json!({ "roomId": "r" })));
        let then = join.then.expect("a follow-up");
        assert!(!then.answers, "the room answers join-chat");
        let ack = json!({ "room": { "id": "r", "memberIds": ["a", "b"] }, "onlineMemberIds": [] });
        assert_eq!((then.make)(&join.payload, &ack), Some(("presence:subscribe", json!({ "userIds": ["a", "b"] }))));
        assert_eq!((then.make)(&join.payload, &json!({ "room": { "memberIds": [] } })), None);
    }

    #[test]
    fn interactions_go_out_under_the_names_they_came_in_with() {
        let like = json!({ "contentId": "c", "contentType": "post", "userId": "u", "isLiked": true, "likesCount": 2, "timestamp": 5, "seq": 3 });
        let Encoded::Frames(frames) = encode("content:like", &like) else { panic!("frames") };
        assert_eq!(frames[0], ("content-reaction", json!({ "contentId": "c", "contentType": "post", "userId": "u", "isLiked": true, "likeCount": 2, "timestamp": 5, "seq": 3 })));
        assert_eq!(frames[1], ("media-reaction", json!({ "mediaId": "c", "userId": "u", "isLiked": true, "likeCount": 2, "timestamp": 5, "seq": 3 })));
        let counts = json!({ "contentId": "c", "contentType": "video", "likes": 1, "comments": 2, "views": 3, "shares": 4 });
        assert_eq!(
            encode("content:counts", &counts),
            Encoded::Frames(vec![("count-update", json!({ "contentId": "c", "contentType": "video", "likeCount": 1, "commentCount": 2, "shareCount": 4 }))])
        );
        let typing = json!({ "contentId": "c", "contentType": "video", "user": { "id": "u", "username": "ann" }, "typing": true });
        let Encoded::Frames(frames) = encode("comment:typing", &typing) else { panic!("frames") };
        assert_eq!(frames[0].0, "typing-start");
        assert_eq!(frames[1], ("user-typing", json!({ "contentId": "c", "contentType": "video", "userId": "u", "username": "ann", "isTyping": true })));
        let chat = json!({ "streamId": "s", "message": { "id": "m", "streamId": "s", "user": { "id": "u", "username": "ann" }, "text": "hi", "createdAt": 1 } });
        let Encoded::Frames(frames) = encode("stream:chat", &chat) else { panic!("frames") };
        assert_eq!(frames[0].1, json!({ "streamId": "s", "id": "m", "user": { "id": "u", "userId": "u", "username": "ann" }, "message": "hi", "createdAt": 1 }));
        assert_eq!(frames[1].0, "live-chat-message");
        assert_eq!(encode("presence:update", &json!({})), Encoded::Renamed("user-presence"));
        assert_eq!(encode("content:share", &json!({})), Encoded::Drop);
        assert_eq!(encode("system:announcement", &json!({})), Encoded::Same);
    }

    #[test]
    fn stored_notifications_become_the_seeds_notification_events() {
        let comment = json!({ "notification": { "type": "comment", "actor": { "id": "u", "username": "ann" },
            "data": { "contentId": "c", "contentType": "post", "commentId": "k", "text": "nice" } }, "unreadCount": 1, "seq": 4 });
        let Encoded::Frames(frames) = encode("notification:new", &comment) else { panic!("frames") };
        assert_eq!(frames[0].0, "new-comment-notification");
        assert_eq!(frames[0].1["contentType"], "post");
        assert_eq!(frames[0].1["comment"]["text"], "nice");
        assert_eq!(frames[0].1["author"]["userId"], "u");
        assert_eq!(frames[0].1["seq"], 4);
        let follow = json!({ "notification": { "type": "follow", "actor": { "id": "f" }, "data": {} } });
        let Encoded::Frames(frames) = encode("notification:new", &follow) else { panic!("frames") };
        assert_eq!(frames[0], ("new-follower-notification", json!({ "follower": { "id": "f", "userId": "f" } })));
        assert_eq!(encode("notification:new", &json!({ "notification": { "type": "gift" } })), Encoded::Same);
    }

    #[test]
    fn room_names_of_the_app_name_native_rooms() {
        assert_eq!(parse_room("content:video:123"), Some(Room::Content("123".into())));
        assert_eq!(parse_room("content:post:a:b"), Some(Room::Content("a:b".into())));
        assert_eq!(parse_room("media:9"), Some(Room::Content("9".into())));
        assert_eq!(parse_room("content:123"), None, "a native name, read natively");
        assert_eq!(parse_room("stream:1"), None);
    }
}
