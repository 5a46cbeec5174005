//! The AsyncAPI 3.0 rendering of the contract, served at `GET /asyncapi.json`.
//!
//! The document describes the Chorus server. Client commands arrive on the `commands`
//! channel (the Socket.IO namespace `/`): one `receive` operation each, whose reply is
//! the ack on the `acks` channel. Server events go out on one channel per room kind
//! (`content:{contentId}`, `user:{userId}`, …, plus `everyone` and one `connection`):
//! one `send` operation per event and room. Socket.IO has no AsyncAPI binding, so
//! `x-chorus-*` fields carry what a Socket.IO client needs (the event name, the rooms).

use serde_json::{Map, Value, json};

use super::{Contract, delivered_payload, schema_ref};

/// A key usable as an AsyncAPI component or operation id (`^[A-Za-z0-9_.-]+$`).
pub fn id(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' { c } else { '_' }).collect()
}

/// The channel key of a room template (`content:{contentId}` → `content`).
fn room_channel(room: &str) -> String {
    id(room.split(':').next().unwrap_or(room))
}

/// The `{name}` parameters of a room template.
fn parameters(room: &str) -> Vec<&str> {
    room.split('{').skip(1).filter_map(|rest| rest.split('}').next()).collect()
}

/// The document.
pub fn document(contract: &Contract) -> Value {
    let mut messages = Map::new();
    let mut channels = Map::new();
    let mut operations = Map::new();

    let mut command_messages = Map::new();
    let mut ack_messages = Map::new();
    for command in &contract.commands {
        let command_id = format!("command.{}", id(command.name));
        let ack_id = format!("ack.{}", id(command.name));
        messages.insert(
            command_id.clone(),
            json!({
                "name": command.name,
                "title": command.name,
                "summary": command.summary,
                "payload": command.payload,
                "x-chorus-guests": command.guests,
                "x-chorus-posts-text": command.posts_text,
            }),
        );
        messages.insert(
            ack_id.clone(),
            json!({
                "name": command.name,
                "title": format!("ack of {}", command.name),
                "summary": format!("The ack of `{}`.", command.name),
                "payload": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["ok", "data"],
                            "properties": { "ok": { "const": true }, "data": command.ack },
                        },
                        schema_ref("AckFailure"),
                    ],
                },
            }),
        );
        command_messages.insert(command_id.clone(), json!({ "$ref": format!("#/components/messages/{command_id}") }));
        ack_messages.insert(ack_id.clone(), json!({ "$ref": format!("#/components/messages/{ack_id}") }));
        operations.insert(
            format!("receive.{}", id(command.name)),
            json!({
                "action": "receive",
                "title": command.name,
                "summary": command.summary,
                "channel": { "$ref": "#/channels/commands" },
                "messages": [{ "$ref": format!("#/channels/commands/messages/{command_id}") }],
                "reply": {
                    "channel": { "$ref": "#/channels/acks" },
                    "messages": [{ "$ref": format!("#/channels/acks/messages/{ack_id}") }],
                },
            }),
        );
    }
    channels.insert(
        "commands".into(),
        json!({
            "address": "/",
            "title": "Client commands",
            "description": "Every client-to-server event is a command on the default namespace: one JSON object, and an ack callback (docs/protocol.md §2).",
            "messages": command_messages,
        }),
    );
    channels.insert(
        "acks".into(),
        json!({
            "address": null,
            "title": "Acks",
            "description": "The ack callback of a command: `{ok: true, data}` or `{ok: false, error}`.",
            "messages": ack_messages,
        }),
    );

    let mut room_channels: Map<String, Value> = Map::new();
    for event in &contract.events {
        let message_id = format!("event.{}", id(event.name));
        messages.insert(
            message_id.clone(),
            json!({
                "name": event.name,
                "title": event.name,
                "summary": event.summary,
                "payload": delivered_payload(event),
                "x-chorus-rooms": event.rooms,
                "x-chorus-coalesced": event.coalesced,
                "x-chorus-sequenced": event.sequenced,
            }),
        );
        for room in &event.rooms {
            let key = room_channel(room);
            let channel = room_channels.entry(key.clone()).or_insert_with(|| room_channel_object(room));
            if let Some(Value::Object(listed)) = channel.get_mut("messages") {
                listed.insert(message_id.clone(), json!({ "$ref": format!("#/components/messages/{message_id}") }));
            }
            operations.insert(
                format!("send.{}.to.{key}", id(event.name)),
                json!({
                    "action": "send",
                    "title": format!("{} to {room}", event.name),
                    "summary": event.summary,
                    "channel": { "$ref": format!("#/channels/{key}") },
                    "messages": [{ "$ref": format!("#/channels/{key}/messages/{message_id}") }],
                }),
            );
        }
    }
    channels.extend(room_channels);

    let mut schemas: Map<String, Value> = contract.schemas.clone().into_iter().collect();
    schemas.insert(
        "AckFailure".into(),
        json!({
            "type": "object",
            "required": ["ok", "error"],
            "properties": { "ok": { "const": false }, "error": schema_ref("AckError") },
        }),
    );

    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Chorus",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The native Socket.IO protocol of Chorus: client commands with their acks, and server events with the rooms they go to. Generated from the server's own types; docs/protocol.md explains the rules. The server API's `POST /api/server/emit` may send further events named by the app's backend.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "chorus": {
                "host": "127.0.0.1:3000",
                "protocol": "ws",
                "pathname": "/socket.io/",
                "description": "Socket.IO v5 over Engine.IO v4 (WebSocket or HTTP long-polling), the JSON parser (or msgpack on a server whose `parser` is `msgpack`), default namespace; the token in the handshake `auth.token`.",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": { "schemas": schemas, "messages": messages },
    })
}

/// The channel of one room kind.
fn room_channel_object(room: &str) -> Value {
    let (address, description) = match room {
        "everyone" => (Value::Null, "every connected socket".to_owned()),
        "connection" => (Value::Null, "one connection: the socket concerned".to_owned()),
        _ => (Value::String((*room).to_owned()), format!("the Socket.IO room `{room}` (docs/protocol.md §3)")),
    };
    let mut channel = json!({ "address": address, "title": room, "description": description, "messages": {} });
    let params: Map<String, Value> =
        parameters(room).into_iter().map(|p| (p.to_owned(), json!({ "description": format!("the room's `{p}`") }))).collect();
    if !params.is_empty()
        && let Some(obj) = channel.as_object_mut()
    {
        obj.insert("parameters".into(), Value::Object(params));
    }
    channel
}
