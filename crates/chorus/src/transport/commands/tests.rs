//! The command tables as a specification: every command parses its shape, refuses
//! anything else with a short `bad_request`, and carries the policy the router applied
//! before the tables existed.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::*;
use crate::domain::error::ErrorCode;
use crate::ports::limits::LimitClass;

/// A payload of the right shape for each command.
fn examples() -> HashMap<&'static str, Value> {
    let id = "x1";
    HashMap::from([
        ("content:join", json!({"contentId": id})),
        ("content:leave", json!({"contentId": id})),
        ("content:view", json!({"contentId": id})),
        ("content:like", json!({"contentId": id, "like": true})),
        ("content:comment", json!({"contentId": id, "text": "hi", "parentId": id})),
        ("content:share", json!({"contentId": id, "channel": "sms"})),
        ("content:progress", json!({"contentId": id, "watchTime": 3.5, "completed": true})),
        ("comment:react", json!({"commentId": id, "emoji": "+1"})),
        ("comment:edit", json!({"commentId": id, "text": "hi"})),
        ("comment:delete", json!({"commentId": id})),
        ("comment:typing", json!({"contentId": id, "typing": true})),
        ("ranking:subscribe", json!({"scope": "type:video", "limit": 5})),
        ("ranking:unsubscribe", json!({"scope": "type:video"})),
        ("auth:refresh", json!({"token": "t"})),
        ("notifications:list", json!({"limit": 5, "unreadOnly": true})),
        ("notifications:read", json!({"ids": [id]})),
        ("feed:subscribe", json!({})),
        ("feed:unsubscribe", json!({})),
        ("channel:join", json!({"name": id})),
        ("channel:leave", json!({"name": id})),
        ("feed:new_content", json!({"contentId": id, "contentType": "video"})),
        ("presence:set", json!({"status": "away"})),
        ("presence:subscribe", json!({"userIds": [id]})),
        ("presence:unsubscribe", json!({"userIds": [id]})),
        ("location:share", json!({"roomId": id, "lat": 1.0, "lng": 2.0})),
        ("location:stop", json!({"roomId": id})),
        ("chat:open", json!({"otherUserId": id})),
        ("chat:join", json!({"roomId": id})),
        ("chat:leave", json!({"roomId": id})),
        ("chat:send", json!({"roomId": id, "clientMsgId": "m1", "text": "hi"})),
        ("chat:history", json!({"roomId": id, "limit": 5})),
        ("chat:typing", json!({"roomId": id, "typing": false})),
        ("chat:read", json!({"roomId": id, "messageId": id})),
        ("chat:react", json!({"messageId": id, "emoji": "+1"})),
        ("chat:edit", json!({"messageId": id, "text": "hi"})),
        ("chat:delete", json!({"messageId": id})),
        ("collab:join", json!({"docId": id})),
        ("collab:leave", json!({"docId": id})),
        ("collab:update", json!({"docId": id, "update": "AA=="})),
        ("collab:awareness", json!({"docId": id, "state": {"cursor": 1}})),
        ("call:invite", json!({"toUserId": id, "media": "audio"})),
        ("call:accept", json!({"callId": id})),
        ("call:reject", json!({"callId": id})),
        ("call:end", json!({"callId": id})),
        ("call:signal", json!({"callId": id, "toUserId": id, "signal": {"sdp": "v=0"}})),
        ("stream:join", json!({"streamId": id})),
        ("stream:leave", json!({"streamId": id})),
        ("stream:status", json!({"streamId": id, "status": "live"})),
        ("stream:chat", json!({"streamId": id, "text": "hi"})),
        ("stream:chat_delete", json!({"streamId": id, "messageId": id})),
        ("stream:like", json!({"streamId": id, "count": 3})),
        ("stream:slow_mode", json!({"streamId": id, "seconds": 5})),
        ("stream:moderate", json!({"streamId": id, "userId": id, "action": "mute"})),
        ("gift:send", json!({"streamId": id, "giftId": "rose", "count": 1, "clientTxId": "t1"})),
        ("gift:catalog", json!({})),
        ("wallet:balance", json!({})),
        ("battle:start", json!({"streamId": id, "opponentStreamId": id, "durationSec": 60})),
        ("battle:accept", json!({"battleId": id})),
        ("battle:decline", json!({"battleId": id})),
        ("battle:get", json!({"battleId": id})),
        ("battle:boost", json!({"battleId": id, "side": "a", "boostId": "boost", "clientTxId": "t2"})),
    ])
}

/// Every command of the tables with its example payload: a command without one fails here.
fn commands() -> Vec<(&'static str, Value)> {
    let mut examples = examples();
    let commands: Vec<_> = names()
        .map(|event| (event, examples.remove(event).unwrap_or_else(|| panic!("{event} has no payload example"))))
        .collect();
    assert!(examples.is_empty(), "examples of no command: {:?}", examples.keys());
    commands
}

/// What the router does with `payload`: the parsed command's name, or the refusal.
fn parse(event: &str, payload: &Value) -> DomainResult<&'static str> {
    Command::parse(event, payload.clone()).map(|command| command.name())
}

#[test]
fn every_command_accepts_its_shape_with_unknown_fields_and_refuses_anything_but_an_object() {
    for (event, payload) in commands() {
        assert_eq!(parse(event, &payload), Ok(event), "{event} {payload}");
        let mut extra = payload.clone();
        if let Some(o) = extra.as_object_mut() {
            o.insert("unknownField".into(), json!({"deep": [1, 2]}));
        }
        assert_eq!(parse(event, &extra), Ok(event), "{event}: unknown fields are ignored");
        for bad in [json!(5), json!("x"), json!(null), json!([]), json!([payload.clone()]), json!(true)] {
            let e = parse(event, &bad).expect_err(event);
            assert_eq!((e.code, e.message.as_str()), (ErrorCode::BadRequest, "payload must be a JSON object"));
        }
    }
}

#[test]
fn a_field_of_the_wrong_type_is_a_bad_request() {
    for (event, payload) in commands() {
        let Some(fields) = payload.as_object() else { continue };
        for key in fields.keys() {
            // Opaque fields take any JSON value.
            if matches!(key.as_str(), "state" | "signal") {
                continue;
            }
            let mut bad = payload.clone();
            bad[key.as_str()] = json!({"not": "a scalar"});
            let e = parse(event, &bad).expect_err(&format!("{event}.{key}"));
            assert_eq!(e.code, ErrorCode::BadRequest, "{event}.{key}");
        }
    }
}

#[test]
fn unknown_and_reserved_event_names_are_refused_without_echoing_control_characters() {
    for event in ["", "connect", "disconnect", "error", "connect_error", "newListener", "chat:", "chat:nope", "stream:\u{7}x", "x".repeat(10_000).as_str()] {
        let e = parse(event, &json!({})).expect_err(event);
        assert!(e.message.starts_with("unknown event"), "{event}: {}", e.message);
        assert!(!e.message.chars().any(char::is_control) && e.message.len() < 100);
        assert_eq!(CommandKind::of(event), None);
    }
}

#[test]
fn a_refusal_never_echoes_a_long_value() {
    let long = "a".repeat(100_000);
    for payload in [json!({"contentId": "x", "like": long}), json!({"contentId": [long]}), json!({"contentId": {long.as_str(): 1}})] {
        let e = parse("content:like", &payload).expect_err("wrong types");
        assert!(e.message.chars().count() < 300, "{} chars", e.message.len());
    }
}

#[test]
fn deeply_nested_payloads_are_refused() {
    let mut deep = json!("leaf");
    for _ in 0..100 {
        deep = json!([deep]);
    }
    let e = parse("collab:awareness", &json!({"docId": "d", "update": deep.clone(), "state": "x"}));
    assert_eq!(e, Ok("collab:awareness"), "an opaque field may nest");
    assert!(parse("content:like", &json!({"contentId": deep})).is_err());
}

#[test]
fn every_event_name_is_listed_once_and_names_its_own_kind() {
    let all: Vec<_> = names().collect();
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), all.len(), "an event name in two rows");
    assert_eq!(all.len(), 61);
    for event in all {
        assert_eq!(CommandKind::of(event).map(CommandKind::name), Some(event));
    }
}

/// The rules the router applied by event name before the tables: each command's
/// policy must say the same.
#[test]
fn each_policy_is_the_one_the_router_applied_by_name() {
    fn limit_class(event: &str) -> LimitClass {
        match event {
            "chat:send" | "stream:chat" | "location:share" => LimitClass::Chat,
            "content:comment" | "comment:edit" | "comment:delete" | "chat:edit" | "chat:delete" => LimitClass::Comments,
            "content:like" | "comment:react" | "chat:react" | "stream:like" | "content:view" | "content:share" => LimitClass::Likes,
            e if e.ends_with(":join") || e.ends_with(":subscribe") => LimitClass::Joins,
            e if e.ends_with(":typing") || e == "collab:awareness" => LimitClass::Typing,
            e if e.starts_with("presence:") => LimitClass::Presence,
            _ => LimitClass::Commands,
        }
    }
    const POSTING_EVENTS: &[&str] = &["content:comment", "comment:edit", "chat:send", "chat:edit", "stream:chat"];
    const GUEST_EVENTS: &[&str] = &["content:join", "content:leave", "content:view", "channel:join", "channel:leave", "stream:join", "stream:leave"];
    for event in names() {
        let Some(kind) = CommandKind::of(event) else { panic!("{event} has no kind") };
        let expected = Policy {
            limit: limit_class(event),
            posts_text: POSTING_EVENTS.contains(&event),
            guests: GUEST_EVENTS.contains(&event),
            joins_room: event.ends_with(":join") || event.ends_with(":subscribe"),
        };
        assert_eq!(kind.policy(), expected, "{event}");
    }
    assert_eq!(guest_events(), GUEST_EVENTS);
    assert_eq!(Policy::UNKNOWN, Policy { limit: LimitClass::Commands, posts_text: false, guests: false, joins_room: false });
}
