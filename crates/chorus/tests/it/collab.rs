//! Collaborative documents (PROTOCOL.md §10): Yjs updates merged, stored, relayed;
//! awareness; members; durability across a restart. Each editor in these tests is a
//! real yrs document, as a browser editor is a Yjs one.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chorus::adapters::sql::SqlStore;
use chorus::domain::time::Timestamp;
use chorus::ports::chat_members::ChatMembers;
use chorus::ports::collab_store::{CollabStore, LoggedUpdate, NewDoc};
use reqwest::Method;
use serde_json::{Value, json};
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Text, TextRef, Transact, Update};

use crate::support::{TestApp, TestSocket, spawn_app, spawn_app_on, spawn_app_with};

/// A client-side editor: its own yrs document bound to the shared text `content`.
struct Editor {
    doc: Doc,
    text: TextRef,
}

impl Editor {
    /// An editor starting from the `state` of a `collab:join` ack.
    fn joined(ack: &Value) -> Self {
        let doc = Doc::new();
        let text = doc.get_or_insert_text("content");
        let editor = Self { doc, text };
        editor.apply(ack["state"].as_str().expect("state is base64"));
        editor
    }

    /// Types `s` at `index` (clamped to the end); returns the update, base64.
    fn type_at(&self, index: u32, s: &str) -> String {
        let mut txn = self.doc.transact_mut();
        let len = self.text.len(&txn);
        self.text.insert(&mut txn, index.min(len), s);
        B64.encode(txn.encode_update_v1())
    }

    fn apply(&self, update_b64: &str) {
        let bytes = B64.decode(update_b64).expect("base64");
        self.doc.transact_mut().apply_update(Update::decode_v1(&bytes).expect("a Yjs update")).expect("applies");
    }

    fn text(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }
}

/// Creates a document owned by `owner` over REST; returns its id.
async fn create_doc(app: &TestApp, owner: &str, editors: &[&str], viewers: &[&str]) -> String {
    let (status, body) = app
        .rest(Method::POST, "/api/docs", Some(&app.token(owner)), Some(json!({"title": "Notes", "editorIds": editors, "viewerIds": viewers})))
        .await;
    assert_eq!(status, 201, "{body}");
    body["data"]["id"].as_str().unwrap().to_owned()
}

/// Waits for the next `collab:update` from `user` and applies it to `editor`.
async fn receive(socket: &mut TestSocket, editor: &Editor, user: &str) {
    let relayed = socket.expect("collab:update", |v| v["userId"] == user).await;
    editor.apply(relayed["update"].as_str().unwrap());
}

#[tokio::test]
async fn two_editors_typing_at_once_converge_and_a_late_joiner_gets_the_merged_state() {
    let app = spawn_app().await;
    let doc = create_doc(&app, "ann", &["bob"], &["cat"]).await;
    let mut ann = app.socket("ann").await;
    let mut bob = app.socket("bob").await;
    let ann_ack = ann.ok("collab:join", json!({"docId": doc})).await;
    assert_eq!((ann_ack["canEdit"].clone(), ann_ack["role"].clone()), (json!(true), json!("owner")));
    let bob_ack = bob.ok("collab:join", json!({"docId": doc})).await;
    assert_eq!(bob_ack["canEdit"], true);
    let (ann_ed, bob_ed) = (Editor::joined(&ann_ack), Editor::joined(&bob_ack));

    for round in 0..5 {
        // Both type before seeing the other's keystrokes, and both send at once.
        let a = ann_ed.type_at(0, &format!("A{round}"));
        let b = bob_ed.type_at(u32::MAX, &format!("b{round}"));
        let (ack_a, ack_b) = tokio::join!(
            ann.call("collab:update", json!({"docId": doc, "update": a})),
            bob.call("collab:update", json!({"docId": doc, "update": b})),
        );
        assert_eq!((ack_a["ok"].clone(), ack_b["ok"].clone()), (json!(true), json!(true)), "{ack_a} {ack_b}");
        receive(&mut ann, &ann_ed, "bob").await;
        receive(&mut bob, &bob_ed, "ann").await;
    }
    let text = ann_ed.text();
    assert_eq!(text, bob_ed.text(), "both editors hold the same text");
    for round in 0..5 {
        assert!(text.contains(&format!("A{round}")) && text.contains(&format!("b{round}")), "{text}");
    }
    // Nobody hears their own updates back.
    ann.expect_none("collab:update", Duration::from_millis(150)).await;

    let cat = app.socket("cat").await;
    let cat_ack = cat.ok("collab:join", json!({"docId": doc})).await;
    assert_eq!((cat_ack["canEdit"].clone(), cat_ack["role"].clone()), (json!(false), json!("viewer")));
    assert_eq!(Editor::joined(&cat_ack).text(), text, "the late joiner gets the merged state");
    app.stop().await;
}

#[tokio::test]
async fn bad_updates_viewers_and_strangers_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let doc = create_doc(&app, "owner", &[], &["viewer"]).await;
    let owner = app.socket("owner").await;
    let viewer = app.socket("viewer").await;
    let stranger = app.socket("stranger").await;
    let ed = Editor::joined(&owner.ok("collab:join", json!({"docId": doc})).await);
    owner.ok("collab:update", json!({"docId": doc, "update": ed.type_at(0, "kept")})).await;

    let garbage = B64.encode(b"definitely not a yjs update");
    assert_eq!(owner.err("collab:update", json!({"docId": doc, "update": garbage})).await, "bad_request");
    assert_eq!(owner.err("collab:update", json!({"docId": doc, "update": "%%% not base64 %%%"})).await, "bad_request");
    assert_eq!(owner.err("collab:update", json!({"docId": doc})).await, "bad_request", "update missing");
    assert_eq!(owner.err("collab:update", json!({"docId": doc, "update": ""})).await, "bad_request");

    let viewer_ack = viewer.ok("collab:join", json!({"docId": doc})).await;
    let viewer_ed = Editor::joined(&viewer_ack);
    let sneaky = viewer_ed.type_at(0, "vandal ");
    assert_eq!(viewer.err("collab:update", json!({"docId": doc, "update": sneaky})).await, "forbidden");
    assert_eq!(stranger.err("collab:join", json!({"docId": doc})).await, "forbidden");
    assert_eq!(stranger.err("collab:update", json!({"docId": doc, "update": sneaky})).await, "forbidden");
    assert_eq!(stranger.err("collab:awareness", json!({"docId": doc, "state": {"cursor": 1}})).await, "forbidden");
    assert_eq!(stranger.err("collab:join", json!({"docId": "no-such-doc"})).await, "not_found");
    assert_eq!(stranger.err("collab:join", json!({"docId": ""})).await, "bad_request");
    let huge = json!({"docId": doc, "state": {"blob": "x".repeat(20_000)}});
    assert_eq!(viewer.err("collab:awareness", huge).await, "payload_too_large");

    let fresh = app.socket("owner").await;
    let state = Editor::joined(&fresh.ok("collab:join", json!({"docId": doc})).await);
    assert_eq!(state.text(), "kept", "nothing refused was merged or stored");
    app.stop().await;
}

#[tokio::test]
async fn awareness_reaches_the_others_and_is_forgotten_when_a_client_leaves() {
    let app = spawn_app().await;
    let doc = create_doc(&app, "ann", &["bob"], &["cat"]).await;
    let mut ann = app.socket("ann").await;
    let mut bob = app.socket("bob").await;
    let cat = app.socket("cat").await;
    for s in [&ann, &bob, &cat] {
        s.ok("collab:join", json!({"docId": doc})).await;
    }
    ann.ok("collab:awareness", json!({"docId": doc, "state": {"cursor": {"anchor": 3, "head": 5}, "name": "Ann"}})).await;
    let seen = bob.expect("collab:awareness", |v| v["userId"] == "ann").await;
    assert_eq!(crate::support::checked_seq(&seen), json!({"docId": doc, "userId": "ann", "state": {"cursor": {"anchor": 3, "head": 5}, "name": "Ann"}}));
    // A viewer shares a cursor too.
    cat.ok("collab:awareness", json!({"docId": doc, "state": {"cursor": 1}})).await;
    ann.expect("collab:awareness", |v| v["userId"] == "cat" && v["state"]["cursor"] == 1).await;
    bob.expect("collab:awareness", |v| v["userId"] == "cat" && v["state"]["cursor"] == 1).await;

    bob.ok("collab:leave", json!({"docId": doc})).await;
    ann.expect("collab:awareness", |v| v["userId"] == "bob" && v["state"].is_null()).await;
    cat.close();
    ann.expect("collab:awareness", |v| v["userId"] == "cat" && v["state"].is_null()).await;
    // Bob left the room: he no longer hears the others.
    ann.ok("collab:awareness", json!({"docId": doc, "state": {"cursor": 9}})).await;
    bob.expect_none("collab:awareness", Duration::from_millis(150)).await;
    app.stop().await;
}

#[tokio::test]
async fn the_owner_manages_members_and_roles_apply_to_joined_clients() {
    let app = spawn_app().await;
    let owner_token = app.token("own");
    let (status, body) = app.rest(Method::POST, "/api/docs", Some(&owner_token), Some(json!({"editorIds": ["ed"]}))).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!("bad_request")), "title missing: {body}");
    let (status, body) =
        app.rest(Method::POST, "/api/docs", Some(&owner_token), Some(json!({"title": "T", "editorIds": ["x"], "viewerIds": ["x"]}))).await;
    assert_eq!(status, 400, "both editor and viewer: {body}");
    let (status, body) = app.rest(Method::POST, "/api/docs", None, Some(json!({"title": "T"}))).await;
    assert_eq!(status, 401, "{body}");

    let doc = create_doc(&app, "own", &["ed"], &["vi"]).await;
    let (status, body) = app.rest(Method::GET, &format!("/api/docs/{doc}"), Some(&app.token("vi")), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["ownerId"], "own");
    assert_eq!(body["data"]["editorIds"], json!(["ed"]));
    assert_eq!(body["data"]["viewerIds"], json!(["vi"]));
    assert_eq!((body["data"]["role"].clone(), body["data"]["canEdit"].clone()), (json!("viewer"), json!(false)));
    let (status, _) = app.rest(Method::GET, &format!("/api/docs/{doc}"), Some(&app.token("nobody")), None).await;
    assert_eq!(status, 403);
    let (status, _) = app.rest(Method::GET, "/api/docs/unknown-doc", Some(&owner_token), None).await;
    assert_eq!(status, 404);
    let members = format!("/api/docs/{doc}/members");
    let (status, _) = app.rest(Method::POST, &members, Some(&app.token("ed")), Some(json!({"editorIds": ["ed", "pal"]}))).await;
    assert_eq!(status, 403, "only the owner manages members");
    let (status, _) = app.rest(Method::POST, &members, Some(&owner_token), Some(json!({}))).await;
    assert_eq!(status, 400);

    let ed = app.socket("ed").await;
    let vi = app.socket("vi").await;
    let ed_doc = Editor::joined(&ed.ok("collab:join", json!({"docId": doc})).await);
    let vi_ack = vi.ok("collab:join", json!({"docId": doc})).await;
    let refused = Editor::joined(&vi_ack);
    assert_eq!(vi.err("collab:update", json!({"docId": doc, "update": refused.type_at(0, "v")})).await, "forbidden");
    let vi_doc = Editor::joined(&vi_ack);

    // The viewer becomes an editor, the editor is removed: both take effect at once.
    let (status, body) = app.rest(Method::POST, &members, Some(&owner_token), Some(json!({"editorIds": ["vi"]}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["data"]["editorIds"].clone(), body["data"]["viewerIds"].clone()), (json!(["vi"]), json!([])));
    vi.ok("collab:update", json!({"docId": doc, "update": vi_doc.type_at(0, "promoted")})).await;
    assert_eq!(ed.err("collab:update", json!({"docId": doc, "update": ed_doc.type_at(0, "gone")})).await, "forbidden");
    assert_eq!(ed.err("collab:join", json!({"docId": doc})).await, "forbidden");

    // An editor may send updates without joining first.
    let other = app.socket("own").await;
    let fresh = Editor::joined(&other.ok("collab:join", json!({"docId": doc})).await);
    assert_eq!(fresh.text(), "promoted");
    app.stop().await;
}

#[tokio::test]
async fn a_restart_loses_nothing_acknowledged_and_the_log_is_compacted() {
    let data = tempfile::tempdir().unwrap();
    let compact = |s: &mut chorus::Settings| s.collab.compact_every = 5;
    let app = spawn_app_on(data.path(), compact).await;
    let doc = create_doc(&app, "ann", &["bob"], &[]).await;
    let ann = app.socket("ann").await;
    let bob = app.socket("bob").await;
    let ann_ed = Editor::joined(&ann.ok("collab:join", json!({"docId": doc})).await);
    let bob_ed = Editor::joined(&bob.ok("collab:join", json!({"docId": doc})).await);
    // 12 acknowledged updates from two authors: compactions at 5 and 10, two logged after.
    for i in 0..6 {
        ann.ok("collab:update", json!({"docId": doc, "update": ann_ed.type_at(0, &format!("a{i} "))})).await;
        bob.ok("collab:update", json!({"docId": doc, "update": bob_ed.type_at(0, &format!("b{i} "))})).await;
    }
    let before = {
        let late = app.socket("ann").await;
        Editor::joined(&late.ok("collab:join", json!({"docId": doc})).await).text()
    };
    assert_eq!(before.len(), 36, "{before}");
    app.stop().await;

    let url = format!("sqlite://{}", data.path().join("chorus.db").display());
    let store = SqlStore::connect(&url, &chorus::lifecycle::Tasks::new()).await.unwrap();
    let content = store.content(&doc).await.unwrap();
    assert_eq!(content.snapshot.as_ref().map(|s| s.1), Some(10), "the log was folded into a snapshot");
    assert_eq!(content.updates.iter().map(|u| u.0).collect::<Vec<_>>(), [11, 12]);
    store.close().await;

    let app = spawn_app_on(data.path(), compact).await;
    let ann = app.socket("ann").await;
    let after = Editor::joined(&ann.ok("collab:join", json!({"docId": doc})).await);
    assert_eq!(after.text(), before, "the restarted node serves every acknowledged update");
    // Editing continues where the log left off.
    ann.ok("collab:update", json!({"docId": doc, "update": after.type_at(0, "more ")})).await;
    let again = app.socket("bob").await;
    assert_eq!(Editor::joined(&again.ok("collab:join", json!({"docId": doc})).await).text(), format!("more {before}"));
    app.stop().await;
}

#[tokio::test]
async fn idle_documents_leave_memory_and_come_back_intact() {
    let app = spawn_app_with(|s| {
        s.collab.max_open_docs = 2;
        s.collab.idle = Duration::ZERO;
    })
    .await;
    let ann = app.socket("ann").await;
    let mut texts = Vec::new();
    for i in 0..4 {
        let doc = create_doc(&app, "ann", &[], &[]).await;
        let ed = Editor::joined(&ann.ok("collab:join", json!({"docId": doc})).await);
        ann.ok("collab:update", json!({"docId": doc, "update": ed.type_at(0, &format!("doc {i}"))})).await;
        ann.ok("collab:leave", json!({"docId": doc})).await;
        texts.push((doc, format!("doc {i}")));
    }
    for (doc, text) in texts {
        let ed = Editor::joined(&ann.ok("collab:join", json!({"docId": doc})).await);
        assert_eq!(ed.text(), text);
    }
    app.stop().await;
}

/// The collaboration store on one database: members, log, snapshots, room members.
async fn store_suite(store: &SqlStore) {
    let at = Timestamp::now();
    let doc = store
        .create_doc(&NewDoc {
            id: "d1".into(),
            title: "Doc".into(),
            owner_id: "o".into(),
            editor_ids: vec!["e1".into(), "e2".into()],
            viewer_ids: vec!["v1".into()],
            at,
        })
        .await
        .unwrap();
    assert_eq!((doc.editor_ids.len(), doc.viewer_ids.clone()), (2, vec!["v1".to_owned()]));
    let access = store.access("d1", "v1").await.unwrap().unwrap();
    assert_eq!(access.role.map(|r| r.as_str()), Some("viewer"));
    assert_eq!(store.access("d1", "x").await.unwrap().unwrap().role, None);
    assert!(store.access("nope", "x").await.unwrap().is_none());
    let doc = store.set_members("d1", &["v1".into(), "e2".into()], &["e1".into()], at).await.unwrap().unwrap();
    assert_eq!(doc.viewer_ids, ["e1"]);
    let mut editors = doc.editor_ids.clone();
    editors.sort();
    assert_eq!(editors, ["e2", "v1"]);
    assert!(store.set_members("nope", &[], &[], at).await.unwrap().is_none());

    let bodies: Vec<Vec<u8>> = (0u8..4).map(|i| vec![i, 0, 255, i]).collect();
    for (i, body) in bodies.iter().enumerate() {
        let seq = i as i64 + 1;
        store.append_update(&LoggedUpdate { doc_id: "d1".into(), seq, body: body.clone(), user_id: "o".into(), at }).await.unwrap();
    }
    let content = store.content("d1").await.unwrap();
    assert_eq!(content.updates.iter().map(|u| u.1.clone()).collect::<Vec<_>>(), bodies, "binary bodies round-trip");
    store.store_snapshot("d1", &[9, 9, 0, 9], 3, at).await.unwrap();
    // An older snapshot arriving late never replaces a newer one.
    store.store_snapshot("d1", &[1], 2, at).await.unwrap();
    let content = store.content("d1").await.unwrap();
    assert_eq!(content.snapshot, Some((vec![9, 9, 0, 9], 3)));
    assert_eq!(content.updates, vec![(4, bodies[3].clone())]);

    assert_eq!(store.chat_room_members("no-room").await.unwrap(), None);
}

#[tokio::test]
async fn the_collab_store_works_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::connect(&format!("sqlite://{}", dir.path().join("c.db").display()), &chorus::lifecycle::Tasks::new()).await.unwrap();
    store_suite(&store).await;
    store.close().await;
}

#[tokio::test]
async fn the_collab_store_works_on_postgres() {
    let db = crate::support::PgDatabase::create().await;
    let url = db.url.clone();
    let store = SqlStore::connect(&url, &chorus::lifecycle::Tasks::new()).await.unwrap();
    store_suite(&store).await;
    store.close().await;
    db.drop_now().await;
}
