//! Bare socketioxide server with the benchmark's join + like + comment behaviour and no
//! application logic: the floor Chorus's own overhead is measured against.
//!
//! Wire behaviour (the same as `bench/reference-node/server.js`):
//! * any handshake auth is accepted; the socket id stands in for the user id;
//! * `content:join {contentId}` joins `content:{contentId}` and acks
//!   `{ok:true, data:{contentId, contentType, counts, viewerCount, likedByMe}}`;
//! * `content:like {contentId, like?}` toggles (or sets) the socket's like, acks
//!   `{ok:true, data:{isLiked, likesCount}}` and broadcasts `content:like` to the room;
//! * `content:comment {contentId, text}` counts a comment (shaped like a Chorus comment), acks
//!   `{ok:true, data:{comment, commentsCount}}` and broadcasts `content:comment`;
//! * anything malformed or unknown acks `{ok:false, error:{code:"bad_request", ...}}`.
//!
//! State is in memory only. Usage: `reference-socketioxide [--port N]` (or `PORT`),
//! listening on 127.0.0.1.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{LazyLock, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;

/// Counters of one content item.
#[derive(Default)]
struct Content {
    /// Socket ids that currently like the item.
    likers: HashSet<String>,
    /// Number of comments posted.
    comments: u64,
}

/// All content items, keyed by content id.
#[derive(Default)]
struct Store {
    items: Mutex<HashMap<String, Content>>,
}

/// The server's only state; a static keeps handlers free of the `state` feature.
static STORE: LazyLock<Store> = LazyLock::new(Store::default);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContentRef {
    content_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LikeCmd {
    content_id: String,
    like: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentCmd {
    content_id: String,
    text: String,
}

fn bad_request(message: &str) -> Value {
    json!({"ok": false, "error": {"code": "bad_request", "message": message}})
}

/// Sends the ack if the client asked for one (`AckSender` is a no-op otherwise).
fn send_ack(ack: AckSender, body: &Value) {
    let _ = ack.send(body);
}

fn room(content_id: &str) -> String {
    format!("content:{content_id}")
}

/// Registers the handlers before the namespace CONNECT ack goes out: socketioxide sends
/// the ack before the connect handler runs, so handlers set there can miss early events.
async fn register(socket: SocketRef) -> Result<(), Infallible> {
    socket.on("content:join", on_join);
    socket.on("content:like", on_like);
    socket.on("content:comment", on_comment);
    socket.on_fallback(on_unknown);
    Ok(())
}

async fn on_connect(_socket: SocketRef) {}

async fn on_join(socket: SocketRef, TryData(data): TryData<ContentRef>, ack: AckSender) {
    let Ok(cmd) = data else {
        return send_ack(ack, &bad_request("contentId is required"));
    };
    socket.join(room(&cmd.content_id));
    let me = socket.id.to_string();
    let body = {
        let mut items = STORE.items.lock().unwrap_or_else(|e| e.into_inner());
        let item = items.entry(cmd.content_id.clone()).or_default();
        json!({"ok": true, "data": {
            "contentId": cmd.content_id,
            "contentType": "video",
            "counts": {"likes": item.likers.len(), "comments": item.comments, "views": 0, "shares": 0},
            "viewerCount": 0,
            "likedByMe": item.likers.contains(&me),
        }})
    };
    send_ack(ack, &body);
}

async fn on_like(socket: SocketRef, TryData(data): TryData<LikeCmd>, ack: AckSender) {
    let Ok(cmd) = data else {
        return send_ack(ack, &bad_request("contentId is required"));
    };
    let me = socket.id.to_string();
    let (is_liked, likes_count) = {
        let mut items = STORE.items.lock().unwrap_or_else(|e| e.into_inner());
        let item = items.entry(cmd.content_id.clone()).or_default();
        let want = cmd.like.unwrap_or(!item.likers.contains(&me));
        if want {
            item.likers.insert(me.clone());
        } else {
            item.likers.remove(&me);
        }
        (want, item.likers.len())
    };
    send_ack(
        ack,
        &json!({"ok": true, "data": {"isLiked": is_liked, "likesCount": likes_count}}),
    );
    let event = json!({
        "contentId": cmd.content_id,
        "userId": me,
        "isLiked": is_liked,
        "likesCount": likes_count,
        "timestamp": rfc3339_now(),
    });
    let _ = socket
        .within(room(&cmd.content_id))
        .emit("content:like", &event)
        .await;
}

async fn on_comment(socket: SocketRef, TryData(data): TryData<CommentCmd>, ack: AckSender) {
    let Ok(cmd) = data else {
        return send_ack(ack, &bad_request("contentId and text are required"));
    };
    let me = socket.id.to_string();
    let count = {
        let mut items = STORE.items.lock().unwrap_or_else(|e| e.into_inner());
        let item = items.entry(cmd.content_id.clone()).or_default();
        item.comments += 1;
        item.comments
    };
    let now = rfc3339_now();
    // The shape (and so the size) of a Chorus comment: PROTOCOL.md's user summary and
    // a UUID-long id, so the broadcast costs the same bytes as Chorus's.
    let comment = json!({
        "id": format!("00000000-0000-7000-8000-{count:012x}"),
        "contentId": cmd.content_id,
        "parentId": null,
        "user": {"id": me, "username": me, "avatar": null, "verified": false},
        "text": cmd.text,
        "createdAt": now,
        "editedAt": null,
        "replyCount": 0,
        "reactions": {},
    });
    send_ack(
        ack,
        &json!({"ok": true, "data": {"comment": comment, "commentsCount": count}}),
    );
    let event = json!({
        "contentId": cmd.content_id,
        "comment": comment,
        "commentsCount": count,
        "timestamp": now,
    });
    let _ = socket
        .within(room(&cmd.content_id))
        .emit("content:comment", &event)
        .await;
}

async fn on_unknown(Event(event): Event, ack: AckSender) {
    send_ack(ack, &bad_request(&format!("unknown event {event}")));
}

/// The current UTC time as RFC 3339 with milliseconds, like JavaScript's `toISOString()`.
fn rfc3339_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

fn port_from_args() -> Result<u16, String> {
    let mut args = std::env::args().skip(1);
    let mut port = std::env::var("PORT").ok();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = args.next(),
            other => {
                if let Some(v) = other.strip_prefix("--port=") {
                    port = Some(v.to_string());
                } else {
                    return Err(format!("unknown argument {other}; usage: --port N"));
                }
            }
        }
    }
    port.as_deref()
        .unwrap_or("3001")
        .parse()
        .map_err(|e| format!("bad port: {e}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = port_from_args()?;
    let (layer, io) = SocketIo::builder().build_layer();
    io.ns("/", on_connect.with(register));
    let app = axum::Router::new().layer(layer);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("reference-socketioxide listening on 127.0.0.1:{port}");
    axum::serve(listener, app).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_now_has_the_iso_shape() {
        let s = super::rfc3339_now();
        assert_eq!(s.len(), 24, "{s}");
        assert!(s.ends_with('Z'));
        assert_eq!(&s[10..11], "T");
    }
}
