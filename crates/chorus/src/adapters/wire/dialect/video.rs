//! The `video` dialect: the TikTok-style video app of seed 002 (docs/dialects.md §3).
//! Video rooms `video_${contentId}`, the feed `feed_${userId}`, typing, watch progress;
//! likes, comments, views and shares arrive through REST and go out as `video:*`.

use serde_json::{Value, json};

use super::fields::{get, object, rename_id, with_seq};
use super::{Decoded, Encoded};
use crate::domain::error::DomainResult;
use crate::ports::publisher::Room;

/// The native command behind a client event of the app, and its reply event.
pub fn decode(event: &str, payload: Value) -> DomainResult<Option<Decoded>> {
    Ok(Some(match event {
        "video:join" => Decoded::run("content:join", content_ref(payload)?).replying("video:joined", joined),
        "video:leave" => Decoded::run("content:leave", content_ref(payload)?).replying("video:left", content_id_only),
        "feed:subscribe" => Decoded::run("feed:subscribe", payload).replying("feed:subscribed", |_, _| json!({})),
        "feed:new_content" => Decoded::run("feed:new_content", content_ref(payload)?).replying("feed:content_broadcasted", broadcasted),
        "video:comment_typing" => {
            let mut typing = object(content_ref(payload)?)?;
            typing.insert("typing".into(), Value::Bool(true));
            Decoded::run("comment:typing", Value::Object(typing))
        }
        "video:watch_progress" => Decoded::run("content:progress", content_ref(payload)?).replying("video:progress_tracked", content_id_only),
        "video:quality_change" => Decoded::run("content:progress", content_ref(payload)?),
        _ => return Ok(None),
    }))
}

/// A native server event as the app hears it.
pub fn encode(event: &str, native: &Value) -> Encoded {
    match event {
        "content:like" => Encoded::Renamed("video:like"),
        "content:view" => Encoded::Renamed("video:view"),
        "content:share" => Encoded::Renamed("video:share"),
        "content:comment" => Encoded::Frames(vec![("video:comment", comment_event(native))]),
        // The seed has no stop event; indicators end by themselves (V-R7).
        "comment:typing" if get(native, "typing") == &Value::Bool(true) => {
            let user = get(native, "user");
            let typing = with_seq(native, [
                ("contentId", get(native, "contentId").clone()),
                ("userId", get(user, "id").clone()),
                ("username", get(user, "username").clone()),
            ]);
            Encoded::Frames(vec![("video:user_typing", typing)])
        }
        "comment:typing" => Encoded::Drop,
        // The counts arrive one by one in `video:like`, `video:comment`, `video:view`, `video:share`.
        "content:counts" => Encoded::Drop,
        _ => Encoded::Same,
    }
}

/// The native room a room name of the app stands for: `video_123`, `user_456`,
/// `feed_456`, `livestream_789`.
pub fn parse_room(name: &str) -> Option<Room> {
    let (kind, id) = name.split_once('_')?;
    let id = id.to_owned();
    Some(match kind {
        "video" => Room::Content(id),
        "user" => Room::User(id),
        "feed" => Room::Feed(id),
        "livestream" => Room::Stream(id),
        _ => return None,
    })
}

/// A payload naming one item, with a numeric `contentId` as its decimal string.
fn content_ref(payload: Value) -> DomainResult<Value> {
    let mut map = object(payload)?;
    rename_id(&mut map, "contentId", "contentId");
    Ok(Value::Object(map))
}

/// `video:joined`: the item and its counts in the seed's field names (V-R1).
fn joined(_request: &Value, ack: Value) -> Value {
    let counts = get(&ack, "counts");
    json!({
        "contentId": get(&ack, "contentId"),
        "likesCount": get(counts, "likes"),
        "commentsCount": get(counts, "comments"),
        "viewsCount": get(counts, "views"),
        "sharesCount": get(counts, "shares"),
        "viewerCount": get(&ack, "viewerCount"),
        "isLiked": get(&ack, "likedByMe"),
    })
}

/// `video:left`, `video:progress_tracked`: `{contentId}`.
fn content_id_only(request: &Value, _ack: Value) -> Value {
    json!({ "contentId": get(request, "contentId") })
}

/// `feed:content_broadcasted`: `{contentId, followersNotified}` (V-R3).
fn broadcasted(request: &Value, ack: Value) -> Value {
    json!({ "contentId": get(request, "contentId"), "followersNotified": get(&ack, "followersNotified") })
}

/// `video:comment`: the native comment with the seed's `_id` and author fields
/// (`user._id`, `user.isVerified`) beside the native ones (V-R5).
fn comment_event(native: &Value) -> Value {
    let mut comment = get(native, "comment").clone();
    if let Some(fields) = comment.as_object_mut() {
        if let Some(id) = fields.get("id").cloned() {
            fields.insert("_id".into(), id);
        }
        if let Some(user) = fields.get_mut("user").and_then(Value::as_object_mut) {
            if let Some(id) = user.get("id").cloned() {
                user.insert("_id".into(), id);
            }
            let verified = user.get("verified").cloned().unwrap_or(Value::Bool(false));
            user.insert("isVerified".into(), verified);
        }
    }
    with_seq(native, [
        ("contentId", get(native, "contentId").clone()),
        ("comment", comment),
        ("commentsCount", get(native, "commentsCount").clone()),
        ("timestamp", get(native, "timestamp").clone()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(event: &str, payload: Value) -> Decoded {
        decode(event, payload).ok().flatten().expect("a video event")
    }

    #[test]
    fn client_events_run_their_native_commands() {
        let join = decoded("video:join", json!({ "contentId": 123 }));
        assert_eq!((join.command, join.payload), (Some("content:join"), json!({ "contentId": "123" })));
        let typing = decoded("video:comment_typing", json!({ "contentId": "123" }));
        assert_eq!((typing.command, typing.payload), (Some("comment:typing"), json!({ "contentId": "123", "typing": true })));
        let quality = decoded("video:quality_change", json!({ "contentId": "123", "quality": "720p", "buffering": false }));
        assert_eq!(quality.command, Some("content:progress"));
        assert!(quality.reply.is_none(), "the seed shows no reply to a quality change");
        assert!(decode("video:join", json!("123")).is_err(), "a bare string is not a payload");
        assert!(matches!(decode("feed:unsubscribe", json!({})), Ok(None)), "the native command as it is");
    }

    #[test]
    fn replies_take_the_seeds_field_names() {
        let join = decoded("video:join", json!({ "contentId": "123" }));
        let reply = join.reply.expect("video:joined");
        let ack = json!({ "contentId": "123", "contentType": "video", "counts": { "likes": 1, "comments": 2, "views": 3, "shares": 4 }, "viewerCount": 5, "likedByMe": true });
        assert_eq!(reply.event, "video:joined");
        assert_eq!(
            (reply.shape)(&join.payload, ack),
            json!({ "contentId": "123", "likesCount": 1, "commentsCount": 2, "viewsCount": 3, "sharesCount": 4, "viewerCount": 5, "isLiked": true })
        );
        let feed = decoded("feed:new_content", json!({ "contentId": "123", "contentType": "video" }));
        let reply = feed.reply.expect("feed:content_broadcasted");
        assert_eq!((reply.shape)(&feed.payload, json!({ "followersNotified": 2 })), json!({ "contentId": "123", "followersNotified": 2 }));
    }

    #[test]
    fn native_events_become_video_events() {
        assert_eq!(encode("content:like", &json!({})), Encoded::Renamed("video:like"));
        assert_eq!(encode("content:counts", &json!({})), Encoded::Drop);
        assert_eq!(encode("notification", &json!({})), Encoded::Same, "a backend's own event passes");
        let native = json!({
            "contentId": "123", "commentsCount": 1, "timestamp": "t", "seq": 7,
            "comment": { "id": "c1", "text": "Great video!", "user": { "id": "u1", "username": "@johndoe", "avatar": null, "verified": true }, "createdAt": "t", "parentId": null }
        });
        let Encoded::Frames(frames) = encode("content:comment", &native) else { panic!("a frame") };
        let (name, payload) = &frames[0];
        assert_eq!(*name, "video:comment");
        assert_eq!(payload["comment"]["_id"], "c1");
        assert_eq!(payload["comment"]["user"]["_id"], "u1");
        assert_eq!(payload["comment"]["user"]["isVerified"], true);
        assert_eq!(payload["seq"], 7);
        let typing = json!({ "contentId": "123", "user": { "id": "u1", "username": "ann" }, "typing": true });
        let Encoded::Frames(frames) = encode("comment:typing", &typing) else { panic!("a frame") };
        assert_eq!(frames[0], ("video:user_typing", json!({ "contentId": "123", "userId": "u1", "username": "ann" })));
        assert_eq!(encode("comment:typing", &json!({ "typing": false })), Encoded::Drop);
    }

    #[test]
    fn room_names_of_the_app_name_native_rooms() {
        assert_eq!(parse_room("video_123"), Some(Room::Content("123".into())));
        assert_eq!(parse_room("user_u_1"), Some(Room::User("u_1".into())));
        assert_eq!(parse_room("feed_9"), Some(Room::Feed("9".into())));
        assert_eq!(parse_room("livestream_4"), Some(Room::Stream("4".into())));
        assert_eq!(parse_room("photo_1"), None);
    }
}
