//! One store suite, run against SQLite and against PostgreSQL (a fresh database per
//! run on the local server; set CHORUS_TEST_PG_ADMIN_URL to point elsewhere).

use std::sync::Arc;

use chorus::adapters::sql::SqlStore;
use chorus::domain::chat::model::{MessageKind, RoomKind};
use chorus::domain::chat::rules::direct_key;
use chorus::domain::collab::model::DocRole;
use chorus::domain::live::model::{BattleStatus, StreamStatus, WalletState};
use chorus::domain::model::{CommentPaging, Counts, ProgressReport, RankingScope};
use chorus::domain::time::Timestamp;
use chorus::lifecycle::Tasks;
use chorus::ports::chat_members::ChatMembers;
use chorus::ports::chat_store::{ChatStore, MessageStored, NewMessage, NewRoom, ReadOutcome, RoomAccess};
use chorus::ports::collab_store::{CollabStore, DocAccess, LoggedUpdate, NewDoc};
use chorus::ports::live_store::{
    BattleStore, BoostOrder, BoostOutcome, CreditOrder, CreditOutcome, GiftOrder, GiftOutcome, NewBattle, NewSanction, NewStream,
    NewStreamMessage, NewStrike, SanctionKind, Sanctions, StreamStore, StrikeOutcome, WalletStore,
};
use chorus::ports::sanctions_store::{AuditEntry, SanctionRecord, SanctionStore};
use chorus::ports::social_store::{FollowStore, InboxCursor, LastSeenStore, NewNotification, NotificationStore, Relationships};
use chorus::ports::store::{ContentRegistration, ContentStore, NewComment, ProfileUpdate, UserStore};
use crate::support::{PgDatabase, silent};

/// Every method of every store trait (`ports/*store*.rs`), each asserted on what it
/// returns, on one database. Each step uses ids of its own, so they share one store.
async fn suite(store: SqlStore) {
    let store = Arc::new(store);
    likes_are_exact_under_concurrency(&store).await;
    a_failing_write_in_a_batch_undoes_only_itself(&store).await;
    views_count_once_per_window(&store).await;
    comments_thread_page_and_delete(&store).await;
    reactions_toggle(&store).await;
    progress_keeps_the_furthest_report(&store).await;
    rankings_order_by_likes(&store).await;
    profiles_keep_unset_fields(&store).await;
    toggles_in_flight_each_change_the_state(&store).await;
    the_inbox_pages_below_a_notification(&store).await;
    content_items_register_and_count_shares(&store).await;
    reaction_toggles_in_flight_each_change_the_state(&store).await;
    chat_rooms_keep_members_messages_and_read_positions(&store).await;
    collab_docs_keep_members_updates_and_snapshots(&store).await;
    sanctions_revocations_and_the_audit_log(&store).await;
    follows_last_seen_and_relationships(&store).await;
    notifications_group_and_mark_read(&store).await;
    streams_keep_status_chat_sanctions_and_strikes(&store).await;
    battles_reserve_streams_and_settle(&store).await;
    wallets_pay_gifts_thrones_and_boosts(&store).await;
    store.close().await;
}

/// Two toggles of one user's like in flight at once are two state changes (liked, then
/// unliked), never two identical acks.
async fn toggles_in_flight_each_change_the_state(store: &Arc<SqlStore>) {
    store.ensure_content("flip", "video").await.unwrap();
    for round in 0..20 {
        let (a, b) = tokio::join!(store.set_like("flip", "flipper", None, Timestamp::now(), silent()), store.set_like("flip", "flipper", None, Timestamp::now(), silent()));
        let (a, b) = (a.map(|t| t.outcome), b.map(|t| t.outcome));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a.changed && b.changed, "round {round}: {a:?} {b:?}");
        assert_ne!(a.is_liked, b.is_liked, "round {round}: both toggles saw the same state: {a:?} {b:?}");
        assert_eq!(store.counts("flip").await.unwrap().likes, 0, "round {round}: two toggles leave it as it was");
    }
}

/// `inbox_position` places a notification of the user's own, and of nobody else's.
async fn the_inbox_pages_below_a_notification(store: &Arc<SqlStore>) {
    let mut ids = Vec::new();
    for n in 0..3 {
        let at = Timestamp(1_000 + n);
        let stored = store
            .store_notification(&NewNotification {
                id: format!("n-{n}"),
                user_id: "inbox".into(),
                kind: "system".into(),
                actor_id: None,
                subject_kind: None,
                subject_id: None,
                phrase: format!("note {n}"),
                data: chorus::domain::notification_draft::NotificationData::Custom(serde_json::json!({})),
                group_key: None,
                window_start: at,
                at,
            }, silent())
            .await
            .unwrap()
            .outcome
            .0;
        ids.push(stored.id);
    }
    let newest = store.inbox_position("inbox", &ids[2]).await.unwrap().expect("the user's own notification");
    assert_eq!(newest, InboxCursor { updated_at: Timestamp(1_002), id: "n-2".into() });
    let (below, more) = store.notifications("inbox", Some(&newest), 10, false).await.unwrap();
    assert_eq!((below.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), more), (vec!["n-1", "n-0"], false));
    let (first, more) = store.notifications("inbox", None, 1, false).await.unwrap();
    assert_eq!((first[0].id.as_str(), more), ("n-2", true));
    assert_eq!(store.inbox_position("someone-else", &ids[2]).await.unwrap(), None);
    assert_eq!(store.inbox_position("inbox", "n-missing").await.unwrap(), None);
}

async fn likes_are_exact_under_concurrency(store: &Arc<SqlStore>) {
    store.ensure_content("viral", "video").await.unwrap();
    let n = 100;
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let s = store.clone();
            tokio::spawn(async move { s.set_like("viral", &format!("u{i}"), Some(true), Timestamp::now(), silent()).await.unwrap().outcome })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().changed);
    }
    assert_eq!(store.counts("viral").await.unwrap().likes, n);
    let again = store.set_like("viral", "u0", Some(true), Timestamp::now(), silent()).await.unwrap().outcome;
    assert!(!again.changed, "liking twice changes nothing");
    assert_eq!(again.counts.likes, n);
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let s = store.clone();
            tokio::spawn(async move { s.set_like("viral", &format!("u{i}"), Some(false), Timestamp::now(), silent()).await.unwrap().outcome })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(store.counts("viral").await.unwrap().likes, 0);
    assert!(!store.is_liked("viral", "u1").await.unwrap());
    // Concurrent toggles by one user are decided inside the write: each flips the state.
    let toggles: Vec<_> = (0..9)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.set_like("viral", "toggler", None, Timestamp::now(), silent()).await.unwrap().outcome })
        })
        .collect();
    let mut liked = 0;
    for t in toggles {
        let outcome = t.await.unwrap();
        assert!(outcome.changed, "every toggle changes the state");
        liked += usize::from(outcome.is_liked);
    }
    assert_eq!(liked, 5, "nine toggles: five likes, four unlikes");
    assert!(store.is_liked("viral", "toggler").await.unwrap());
    assert_eq!(store.counts("viral").await.unwrap().likes, 1);
}

async fn a_failing_write_in_a_batch_undoes_only_itself(store: &Arc<SqlStore>) {
    store.ensure_content("batchy", "video").await.unwrap();
    let ids: Vec<String> = (0..10).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    // Every id twice, all at once: the second insert of each id fails on the primary key
    // and must take its counter update with it, whatever batch it shared.
    let tasks: Vec<_> = ids
        .iter()
        .chain(ids.iter())
        .map(|id| {
            let (s, id) = (store.clone(), id.clone());
            tokio::spawn(async move {
                s.insert_comment(&NewComment { id, content_id: "batchy".into(), parent_id: None, author_id: "b".into(), text: "x".into(), at: Timestamp::now() }, silent())
                    .await
                    .is_ok()
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap());
    }
    assert_eq!(ok, 10, "one insert per id succeeds");
    assert_eq!(store.counts("batchy").await.unwrap().comments, 10);
}

async fn views_count_once_per_window(store: &Arc<SqlStore>) {
    store.ensure_content("clip", "video").await.unwrap();
    let t0 = Timestamp(1_000_000);
    assert!(store.record_view("clip", "v1", t0, Timestamp(0)).await.unwrap().counted);
    assert!(!store.record_view("clip", "v1", t0.plus_millis(10), t0.plus_millis(-100)).await.unwrap().counted);
    let later = store.record_view("clip", "v1", t0.plus_millis(5000), t0.plus_millis(1)).await.unwrap();
    assert!(later.counted, "a new window counts again");
    assert_eq!(later.counts.views, 2);
}

async fn comments_thread_page_and_delete(store: &Arc<SqlStore>) {
    store.ensure_content("post", "blog").await.unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = uuid::Uuid::now_v7().to_string();
        store
            .insert_comment(&NewComment { id: id.clone(), content_id: "post".into(), parent_id: None, author_id: "w".into(), text: format!("c{i}"), at: Timestamp::now() }, silent())
            .await
            .unwrap();
        ids.push(id);
    }
    let reply_id = uuid::Uuid::now_v7().to_string();
    let (reply, counts) = store
        .insert_comment(&NewComment { id: reply_id.clone(), content_id: "post".into(), parent_id: Some(ids[0].clone()), author_id: "r".into(), text: "re".into(), at: Timestamp::now() }, silent())
        .await
        .unwrap().outcome;
    assert_eq!(reply.parent_id.as_deref(), Some(ids[0].as_str()));
    assert_eq!(counts.comments, 6);
    assert_eq!(store.comment(&ids[0]).await.unwrap().unwrap().reply_count, 1);
    let page = store.comments("post", None, &CommentPaging::Page { page: 1, limit: 2 }).await.unwrap();
    assert_eq!(page.comments.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(), ["c4", "c3"]);
    assert!(page.has_more);
    assert_eq!(page.total, 5);
    let next = store.comments("post", None, &CommentPaging::Before { cursor: page.next_cursor.clone(), limit: 10 }).await.unwrap();
    assert_eq!(next.comments.len(), 3);
    assert!(!next.has_more);
    let replies = store.comments("post", Some(&ids[0]), &CommentPaging::Page { page: 1, limit: 10 }).await.unwrap();
    assert_eq!(replies.comments.len(), 1);
    let edited = store.edit_comment(&ids[1], "changed", Timestamp::now()).await.unwrap().unwrap();
    assert_eq!(edited.text, "changed");
    assert!(edited.edited_at.is_some());
    let after = store.delete_comment(&reply_id, Timestamp::now(), silent()).await.unwrap().outcome.unwrap();
    assert_eq!(after.comments, 5);
    assert!(store.delete_comment(&reply_id, Timestamp::now(), silent()).await.unwrap().outcome.is_none(), "deleting twice finds nothing");
    assert!(store.comment(&reply_id).await.unwrap().is_none());
    assert_eq!(store.comment(&ids[0]).await.unwrap().unwrap().reply_count, 0);
}

async fn reactions_toggle(store: &Arc<SqlStore>) {
    let id = uuid::Uuid::now_v7().to_string();
    store
        .insert_comment(&NewComment { id: id.clone(), content_id: "post".into(), parent_id: None, author_id: "w".into(), text: "react to me".into(), at: Timestamp::now() }, silent())
        .await
        .unwrap();
    let on = store.set_comment_reaction(&id, "a", "👍", Some(true), Timestamp::now()).await.unwrap();
    assert_eq!((on.reacted, on.count), (true, 1));
    let twice = store.set_comment_reaction(&id, "a", "👍", Some(true), Timestamp::now()).await.unwrap();
    assert_eq!((twice.reacted, twice.count), (true, 1));
    store.set_comment_reaction(&id, "b", "👍", None, Timestamp::now()).await.unwrap();
    let toggled = store.set_comment_reaction(&id, "b", "👍", None, Timestamp::now()).await.unwrap();
    assert_eq!((toggled.reacted, toggled.count), (false, 1));
    assert_eq!(store.comment(&id).await.unwrap().unwrap().reactions.get("👍"), Some(&1));
}

async fn progress_keeps_the_furthest_report(store: &Arc<SqlStore>) {
    store.ensure_content("film", "video").await.unwrap();
    for (t, done) in [(30.0, false), (10.0, false), (60.0, true), (45.0, false)] {
        let r = ProgressReport { content_id: "film".into(), viewer_id: "p".into(), watch_time_sec: t, completed: done, quality: Some("1080p".into()), buffering_sec: Some(0.5), buffering_now: None, at: Timestamp::now() };
        store.record_progress(&r).await.unwrap();
    }
    for (viewer, t, done, quality, buffering) in [("q", 20.0, false, "720p", 2.0), ("r", 10.0, true, "720p", 0.0)] {
        let r = ProgressReport { content_id: "film".into(), viewer_id: viewer.into(), watch_time_sec: t, completed: done, quality: Some(quality.into()), buffering_sec: Some(buffering), buffering_now: None, at: Timestamp::now() };
        store.record_progress(&r).await.unwrap();
    }
    // Late or repeated reports never add up: p counts once with its furthest report.
    let a = store.analytics("film").await.unwrap();
    assert_eq!(a.reporting_viewers, 3);
    assert!((a.total_watch_time_sec - 90.0).abs() < 1e-9, "60 + 20 + 10, got {}", a.total_watch_time_sec);
    assert!((a.average_watch_time_sec - 30.0).abs() < 1e-9);
    assert!((a.completion_rate - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(a.quality_distribution.get("1080p"), Some(&1));
    assert_eq!(a.quality_distribution.get("720p"), Some(&2));
    assert!((a.buffering_ratio - 2.5 / 90.0).abs() < 1e-9, "buffering {}", a.buffering_ratio);
    assert_eq!((a.buffering_reports, a.buffering_viewers), (0, 2), "p and q spent seconds buffering, r none");

    // A player that says whether it is buffering now: each `true` report counts, and a
    // quality change without a position keeps the furthest one.
    for (now, t) in [(Some(true), 5.0), (Some(false), 0.0), (Some(true), 0.0)] {
        let r = ProgressReport { content_id: "film".into(), viewer_id: "s".into(), watch_time_sec: t, completed: false, quality: Some("480p".into()), buffering_sec: None, buffering_now: now, at: Timestamp::now() };
        store.record_progress(&r).await.unwrap();
    }
    let a = store.analytics("film").await.unwrap();
    assert_eq!((a.reporting_viewers, a.buffering_reports, a.buffering_viewers), (4, 2, 3));
    assert!((a.total_watch_time_sec - 95.0).abs() < 1e-9, "s keeps its 5 s, got {}", a.total_watch_time_sec);
    assert!((a.buffering_ratio - 2.5 / 95.0).abs() < 1e-9, "buffering {}", a.buffering_ratio);
}

async fn rankings_order_by_likes(store: &Arc<SqlStore>) {
    for (id, n) in [("rank-a", 1), ("rank-b", 3), ("rank-c", 2)] {
        store.register_content(&ContentRegistration { id: id.into(), content_type: "short".into(), owner_id: Some("maker".into()), title: None }).await.unwrap();
        for i in 0..n {
            store.set_like(id, &format!("liker{i}"), Some(true), Timestamp::now(), silent()).await.unwrap();
        }
    }
    let top = store.top_content(&RankingScope::ContentType("short".into()), 2).await.unwrap();
    assert_eq!(top.iter().map(|r| (r.content_id.as_str(), r.likes, r.rank)).collect::<Vec<_>>(), [("rank-b", 3, 1), ("rank-c", 2, 2)]);
    let by_owner = store.top_content(&RankingScope::Owner("maker".into()), 10).await.unwrap();
    assert_eq!(by_owner.len(), 3);
}

async fn profiles_keep_unset_fields(store: &Arc<SqlStore>) {
    let first = store.upsert_profile(&ProfileUpdate { id: "pf".into(), username: Some("Pat".into()), avatar: Some("a.png".into()), verified: Some(true), authoritative: true }).await.unwrap();
    assert_eq!(first.username, "Pat");
    let second = store.upsert_profile(&ProfileUpdate { id: "pf".into(), username: None, avatar: None, verified: None, authoritative: true }).await.unwrap();
    assert_eq!((second.username.as_str(), second.avatar.as_deref(), second.verified), ("Pat", Some("a.png"), true));
    // Token claims never overwrite what the backend set, but fill a new profile.
    let claimed = store.upsert_profile(&ProfileUpdate { id: "pf".into(), username: Some("Claimed".into()), avatar: Some("b.png".into()), verified: None, authoritative: false }).await.unwrap();
    assert_eq!((claimed.username.as_str(), claimed.avatar.as_deref()), ("Pat", Some("a.png")));
    let fresh = store.upsert_profile(&ProfileUpdate { id: "pf2".into(), username: Some("Fresh".into()), avatar: None, verified: None, authoritative: false }).await.unwrap();
    assert_eq!(fresh.username, "Fresh");
    assert_eq!(store.user_by_username("Pat").await.unwrap().map(|u| u.id), Some("pf".to_owned()));
}

fn uuid7() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Registering sets type, owner and title; an unknown item reads as nothing with zero
/// counts; shares count one by one; `ensure_content` leaves a registered item alone.
async fn content_items_register_and_count_shares(store: &Arc<SqlStore>) {
    let reg = ContentRegistration { id: "reg-1".into(), content_type: "blog".into(), owner_id: Some("author".into()), title: Some("Hello".into()) };
    let item = store.register_content(&reg).await.unwrap();
    assert_eq!((item.content_type.as_str(), item.owner_id.as_deref(), item.title.as_deref()), ("blog", Some("author"), Some("Hello")));
    let retitled = store.register_content(&ContentRegistration { title: None, content_type: "video".into(), ..reg.clone() }).await.unwrap();
    assert_eq!((retitled.content_type.as_str(), retitled.title.as_deref()), ("video", Some("Hello")), "an unset title is kept");
    assert_eq!(store.ensure_content("reg-1", "short").await.unwrap().content_type, "video");
    assert_eq!(ContentStore::content(store.as_ref(), "reg-1").await.unwrap().map(|c| c.owner_id), Some(Some("author".to_owned())));
    assert_eq!(ContentStore::content(store.as_ref(), "reg-missing").await.unwrap(), None);
    assert_eq!(store.counts("reg-missing").await.unwrap(), Counts::default());
    assert_eq!(store.record_share("reg-1", "sharer", Some("whatsapp"), Timestamp::now(), silent()).await.unwrap().outcome.shares, 1);
    assert_eq!(store.record_share("reg-1", "sharer", None, Timestamp::now(), silent()).await.unwrap().outcome.shares, 2);
    assert!(!store.is_liked("reg-1", "fan").await.unwrap());
    let liked = store.set_like("reg-1", "fan", None, Timestamp::now(), silent()).await.unwrap().outcome;
    assert_eq!((liked.changed, liked.is_liked, liked.counts.likes, liked.counts.shares), (true, true, 1, 2));
    assert!(store.is_liked("reg-1", "fan").await.unwrap());
}

/// Two toggles of one user's reaction in flight at once are two state changes, on a
/// comment and on a chat message alike.
async fn reaction_toggles_in_flight_each_change_the_state(store: &Arc<SqlStore>) {
    store.ensure_content("react-flip", "video").await.unwrap();
    let comment = uuid7();
    store
        .insert_comment(&NewComment { id: comment.clone(), content_id: "react-flip".into(), parent_id: None, author_id: "w".into(), text: "t".into(), at: Timestamp::now() }, silent())
        .await
        .unwrap();
    let room = new_room("react-room", RoomKind::Group, &["flipper", "other"]);
    store.create_room(&room).await.unwrap();
    let message = new_message("react-room", "other", "m-react");
    ChatStore::insert_message(store.as_ref(), &message, silent()).await.unwrap();
    for round in 0..10 {
        let (a, b) = tokio::join!(
            store.set_comment_reaction(&comment, "flipper", "🔥", None, Timestamp::now()),
            store.set_comment_reaction(&comment, "flipper", "🔥", None, Timestamp::now())
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_ne!(a.reacted, b.reacted, "round {round}: both comment toggles saw the same state: {a:?} {b:?}");
        let (a, b) = tokio::join!(
            ChatStore::set_reaction(store.as_ref(), &message.id, "flipper", "🔥", None, Timestamp::now()),
            ChatStore::set_reaction(store.as_ref(), &message.id, "flipper", "🔥", None, Timestamp::now())
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_ne!(a.reacted, b.reacted, "round {round}: both message toggles saw the same state: {a:?} {b:?}");
    }
    assert!(store.comment(&comment).await.unwrap().unwrap().reactions.is_empty(), "an even number of toggles leaves none");
    assert!(store.message(&message.id).await.unwrap().unwrap().reactions.is_empty());
}

fn new_room(id: &str, kind: RoomKind, members: &[&str]) -> NewRoom {
    NewRoom {
        id: id.into(),
        kind,
        title: Some(format!("{id} title")),
        created_by: members[0].into(),
        member_ids: members.iter().map(|m| (*m).to_owned()).collect(),
        direct_key: (kind == RoomKind::Direct).then(|| direct_key(members[0], members[1])),
        at: Timestamp::now(),
    }
}

fn new_message(room: &str, sender: &str, client_msg_id: &str) -> NewMessage {
    NewMessage {
        id: uuid7(),
        room_id: room.into(),
        sender_id: sender.into(),
        client_msg_id: client_msg_id.into(),
        kind: MessageKind::Text,
        text: format!("{client_msg_id} text"),
        location: None,
        reply_to: None,
        at: Timestamp::now(),
        join_sender: false,
    }
}

/// Rooms, members, messages, history, read positions, edits, deletes and reactions.
async fn chat_rooms_keep_members_messages_and_read_positions(store: &Arc<SqlStore>) {
    store.upsert_profile(&ProfileUpdate { id: "chat-a".into(), username: Some("Ann".into()), avatar: None, verified: None, authoritative: true }).await.unwrap();
    let (room, created) = store.create_room(&new_room("chat-g", RoomKind::Group, &["chat-a", "chat-c", "chat-b"])).await.unwrap();
    assert!(created);
    assert_eq!((room.kind, room.title.as_deref(), room.member_ids.clone()), (RoomKind::Group, Some("chat-g title"), vec!["chat-a".to_owned(), "chat-b".into(), "chat-c".into()]));
    let (direct, _) = store.create_room(&new_room("chat-d1", RoomKind::Direct, &["chat-a", "chat-b"])).await.unwrap();
    let (again, created) = store.create_room(&new_room("chat-d2", RoomKind::Direct, &["chat-b", "chat-a"])).await.unwrap();
    assert_eq!((again.id.as_str(), created), (direct.id.as_str(), false), "one direct room per pair");
    assert_eq!(store.room("chat-g").await.unwrap().map(|r| r.member_ids.len()), Some(3));
    assert_eq!(store.room("chat-missing").await.unwrap(), None);
    assert_eq!(ChatStore::access(store.as_ref(), "chat-g", "chat-a").await.unwrap(), Some(RoomAccess { kind: RoomKind::Group, is_member: true }));
    assert_eq!(ChatStore::access(store.as_ref(), "chat-g", "chat-z").await.unwrap(), Some(RoomAccess { kind: RoomKind::Group, is_member: false }));
    assert_eq!(ChatStore::access(store.as_ref(), "chat-missing", "chat-a").await.unwrap(), None);
    let context = store.send_context("chat-g", "chat-a").await.unwrap().expect("a known room");
    assert_eq!((context.kind, context.member_ids.len(), context.sender.username.as_str()), (RoomKind::Group, 3, "Ann"));
    assert_eq!(store.send_context("chat-missing", "chat-a").await.unwrap(), None);
    assert_eq!(store.chat_room_members("chat-g").await.unwrap().map(|m| m.len()), Some(3));
    assert_eq!(store.chat_room_members("chat-missing").await.unwrap(), None);

    let mut ids = Vec::new();
    for n in 0..3 {
        let m = new_message("chat-g", "chat-a", &format!("cm-{n}"));
        assert_eq!(ChatStore::insert_message(store.as_ref(), &m, silent()).await.unwrap().outcome, MessageStored::New);
        ids.push(m.id);
    }
    let resent = new_message("chat-g", "chat-a", "cm-0");
    match ChatStore::insert_message(store.as_ref(), &resent, silent()).await.unwrap().outcome {
        MessageStored::Duplicate(stored) => assert_eq!((stored.id.as_str(), stored.text.as_str()), (ids[0].as_str(), "cm-0 text")),
        other => panic!("a resent clientMsgId is a duplicate: {other:?}"),
    }
    let stored = store.message(&ids[1]).await.unwrap().expect("stored");
    assert_eq!((stored.sender.username.as_str(), stored.kind, stored.deleted), ("Ann", MessageKind::Text, false));
    let (newest, more) = store.history("chat-g", None, 2).await.unwrap();
    assert_eq!((newest.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), more), (vec![ids[2].clone(), ids[1].clone()], true));
    let (older, more) = store.history("chat-g", Some(&ids[1]), 10).await.unwrap();
    assert_eq!((older.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), more), (vec![ids[0].clone()], false));

    let read = ChatStore::mark_read(store.as_ref(), "chat-g", "chat-b", &ids[1], Timestamp::now()).await.unwrap();
    assert_eq!(read, ReadOutcome { moved: true, unread_count: 1 });
    let back = ChatStore::mark_read(store.as_ref(), "chat-g", "chat-b", &ids[0], Timestamp::now()).await.unwrap();
    assert_eq!(back, ReadOutcome { moved: false, unread_count: 1 }, "a read position never moves back");
    let rooms = store.rooms_of("chat-b", None).await.unwrap();
    let group = rooms.iter().find(|r| r.id == "chat-g").expect("a member's room");
    assert_eq!((group.unread_count, group.last_message.as_ref().map(|m| m.id.clone())), (1, Some(ids[2].clone())));
    assert_eq!(rooms[0].id, "chat-g", "the room with the newest message comes first");
    assert_eq!(store.rooms_of("chat-b", Some(&direct.id)).await.unwrap().len(), 1);
    assert!(store.rooms_of("chat-z", None).await.unwrap().is_empty());

    let edited = store.edit_message(&ids[2], "edited", Timestamp::now()).await.unwrap().expect("editable");
    assert_eq!((edited.text.as_str(), edited.edited_at.is_some()), ("edited", true));
    let on = ChatStore::set_reaction(store.as_ref(), &ids[2], "chat-b", "👍", Some(true), Timestamp::now()).await.unwrap();
    let toggled = ChatStore::set_reaction(store.as_ref(), &ids[2], "chat-c", "👍", None, Timestamp::now()).await.unwrap();
    assert_eq!((on.reacted, on.count, toggled.reacted, toggled.count), (true, 1, true, 2));
    let off = ChatStore::set_reaction(store.as_ref(), &ids[2], "chat-b", "👍", Some(false), Timestamp::now()).await.unwrap();
    assert_eq!((off.reacted, off.count), (false, 1));
    assert!(ChatStore::delete_message(store.as_ref(), &ids[2], Timestamp::now(), silent()).await.unwrap().outcome);
    assert!(!ChatStore::delete_message(store.as_ref(), &ids[2], Timestamp::now(), silent()).await.unwrap().outcome, "deleting twice finds nothing");
    let gone = store.message(&ids[2]).await.unwrap().expect("the row stays");
    assert_eq!((gone.deleted, gone.text.as_str(), gone.reactions.len()), (true, "", 0));
    assert_eq!(store.edit_message(&ids[2], "again", Timestamp::now()).await.unwrap(), None);
    assert_eq!(ChatStore::mark_read(store.as_ref(), "chat-g", "chat-b", &ids[1], Timestamp::now()).await.unwrap().unread_count, 0, "a deleted message is not unread");

    assert_eq!(store.add_members("chat-g", &["chat-c".into(), "chat-d".into()], Timestamp::now()).await.unwrap(), vec!["chat-d".to_owned()]);
    assert!(store.remove_member("chat-g", "chat-d").await.unwrap());
    assert!(!store.remove_member("chat-g", "chat-d").await.unwrap());
    // A first message in a public room makes its sender a member, in the same write.
    store.create_room(&new_room("chat-p", RoomKind::Public, &["chat-a"])).await.unwrap();
    let joining = NewMessage { join_sender: true, ..new_message("chat-p", "chat-e", "cm-join") };
    assert_eq!(ChatStore::insert_message(store.as_ref(), &joining, silent()).await.unwrap().outcome, MessageStored::New);
    assert_eq!(ChatStore::access(store.as_ref(), "chat-p", "chat-e").await.unwrap().map(|a| a.is_member), Some(true));
}

/// Documents, their members and roles, the update log and its snapshots.
async fn collab_docs_keep_members_updates_and_snapshots(store: &Arc<SqlStore>) {
    let doc = NewDoc { id: "doc-1".into(), title: "Plan".into(), owner_id: "doc-o".into(), editor_ids: vec!["doc-e".into()], viewer_ids: vec!["doc-v".into()], at: Timestamp::now() };
    let created = store.create_doc(&doc).await.unwrap();
    assert_eq!((created.title.as_str(), created.editor_ids.clone(), created.viewer_ids.clone()), ("Plan", vec!["doc-e".to_owned()], vec!["doc-v".to_owned()]));
    assert_eq!(store.doc("doc-1").await.unwrap(), Some(created));
    assert_eq!(store.doc("doc-missing").await.unwrap(), None);
    assert_eq!(CollabStore::access(store.as_ref(), "doc-1", "doc-e").await.unwrap(), Some(DocAccess { owner_id: "doc-o".into(), role: Some(DocRole::Editor) }));
    assert_eq!(CollabStore::access(store.as_ref(), "doc-1", "doc-x").await.unwrap(), Some(DocAccess { owner_id: "doc-o".into(), role: None }));
    assert_eq!(CollabStore::access(store.as_ref(), "doc-missing", "doc-e").await.unwrap(), None);
    let swapped = store.set_members("doc-1", &["doc-v".into()], &["doc-e".into(), "doc-w".into()], Timestamp::now()).await.unwrap().expect("a known doc");
    assert_eq!((swapped.editor_ids, swapped.viewer_ids), (vec!["doc-v".to_owned()], vec!["doc-e".to_owned(), "doc-w".to_owned()]));
    assert_eq!(store.set_members("doc-missing", &[], &[], Timestamp::now()).await.unwrap(), None);

    for seq in 1..=3 {
        store.append_update(&LoggedUpdate { doc_id: "doc-1".into(), seq, body: vec![seq as u8; 3], user_id: "doc-e".into(), at: Timestamp::now() }).await.unwrap();
    }
    let content = CollabStore::content(store.as_ref(), "doc-1").await.unwrap();
    assert_eq!((content.snapshot, content.updates.iter().map(|u| u.0).collect::<Vec<_>>()), (None, vec![1, 2, 3]));
    assert_eq!(content.updates[1].1, vec![2, 2, 2]);
    store.store_snapshot("doc-1", &[9, 9], 2, Timestamp::now()).await.unwrap();
    let compacted = CollabStore::content(store.as_ref(), "doc-1").await.unwrap();
    assert_eq!((compacted.snapshot, compacted.updates), (Some((vec![9, 9], 2)), vec![(3, vec![3, 3, 3])]));
    store.store_snapshot("doc-1", &[1], 1, Timestamp::now()).await.unwrap();
    assert_eq!(CollabStore::content(store.as_ref(), "doc-1").await.unwrap().snapshot, Some((vec![9, 9], 2)), "an older snapshot never replaces a newer one");
}

/// Server-wide sanctions, token revocations and the audit log.
async fn sanctions_revocations_and_the_audit_log(store: &Arc<SqlStore>) {
    let now = Timestamp(5_000_000);
    let ban = SanctionRecord { user_id: "sx-1".into(), kind: "ban".into(), until: None, reason: Some("spam".into()) };
    store.put_sanction(&ban, now, silent()).await.unwrap();
    store.put_sanction(&SanctionRecord { user_id: "sx-2".into(), kind: "mute".into(), until: Some(now.plus_millis(-1)), reason: None }, now, silent()).await.unwrap();
    store.put_sanction(&SanctionRecord { user_id: "sx-3".into(), kind: "mute".into(), until: Some(now.plus_millis(60_000)), reason: None }, now, silent()).await.unwrap();
    let mut active: Vec<_> = store.active_sanctions(now).await.unwrap().into_iter().filter(|s| s.user_id.starts_with("sx-")).collect();
    active.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    assert_eq!(active.iter().map(|s| s.user_id.as_str()).collect::<Vec<_>>(), ["sx-1", "sx-3"], "an expired mute is not in force");
    assert_eq!(active[0], ban);
    assert!(store.remove_sanction("sx-1", "ban").await.unwrap());
    assert!(!store.remove_sanction("sx-1", "ban").await.unwrap());
    store.revoke_tokens_before("sx-1", now).await.unwrap();
    store.revoke_tokens_before("sx-1", now.plus_millis(10)).await.unwrap();
    let revoked: Vec<_> = store.revocations().await.unwrap().into_iter().filter(|(u, _)| u == "sx-1").collect();
    assert_eq!(revoked, vec![("sx-1".to_owned(), now.plus_millis(10))], "the newest revocation replaces the older");
    let mut ids = Vec::new();
    for action in ["ban", "unban", "mute"] {
        let entry = AuditEntry { id: uuid7(), actor: "backend".into(), action: action.into(), user_id: "sx-1".into(), scope: "global".into(), reason: None, duration_sec: Some(60), at: now };
        store.append_audit(&entry).await.unwrap();
        ids.push(entry.id);
    }
    let newest = store.audit(None, 2).await.unwrap();
    assert_eq!(newest.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["mute", "unban"]);
    assert_eq!(newest[0].duration_sec, Some(60));
    let before = store.audit(Some(&ids[1]), 10).await.unwrap();
    assert_eq!(before.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), vec![ids[0].clone()]);
}

/// The follow graph, last-seen times, and who may watch whom.
async fn follows_last_seen_and_relationships(store: &Arc<SqlStore>) {
    store.upsert_profile(&ProfileUpdate { id: "fo-a".into(), username: Some("Ada".into()), avatar: None, verified: None, authoritative: true }).await.unwrap();
    assert!(store.follow("fo-a", "fo-star", Timestamp::now(), silent()).await.unwrap().outcome);
    assert!(!store.follow("fo-a", "fo-star", Timestamp::now(), silent()).await.unwrap().outcome, "following twice changes nothing");
    for f in ["fo-c", "fo-b"] {
        store.follow(f, "fo-star", Timestamp::now(), silent()).await.unwrap();
    }
    assert!(store.is_following("fo-a", "fo-star").await.unwrap());
    assert!(!store.is_following("fo-star", "fo-a").await.unwrap());
    let followers = store.followers("fo-star", None, 2).await.unwrap();
    assert_eq!(followers.iter().map(|u| (u.id.as_str(), u.username.as_str())).collect::<Vec<_>>(), [("fo-a", "Ada"), ("fo-b", "fo-b")]);
    assert_eq!(store.followers("fo-star", Some("fo-b"), 10).await.unwrap().iter().map(|u| u.id.clone()).collect::<Vec<_>>(), ["fo-c"]);
    assert_eq!(store.following("fo-a", None, 10).await.unwrap().iter().map(|u| u.id.clone()).collect::<Vec<_>>(), ["fo-star"]);
    assert_eq!(store.follower_ids("fo-star", Some("fo-a"), 10).await.unwrap(), ["fo-b", "fo-c"]);
    assert_eq!(store.follower_count("fo-star").await.unwrap(), 3);
    assert!(store.unfollow("fo-c", "fo-star").await.unwrap());
    assert!(!store.unfollow("fo-c", "fo-star").await.unwrap());
    assert_eq!(store.follower_count("fo-star").await.unwrap(), 2);

    assert_eq!(store.last_seen("fo-a").await.unwrap(), None);
    store.set_last_seen("fo-a", Timestamp(1_000)).await.unwrap();
    store.set_last_seen("fo-a", Timestamp(2_000)).await.unwrap();
    assert_eq!(store.last_seen("fo-a").await.unwrap(), Some(Timestamp(2_000)));

    assert!(store.may_watch("fo-a", "fo-star").await.unwrap(), "a follower may watch");
    assert!(!store.may_watch("fo-star", "fo-a").await.unwrap(), "being followed is not enough");
    store.create_room(&new_room("fo-group", RoomKind::Group, &["fo-x", "fo-y"])).await.unwrap();
    store.create_room(&new_room("fo-public", RoomKind::Public, &["fo-x", "fo-z"])).await.unwrap();
    assert!(store.may_watch("fo-y", "fo-x").await.unwrap(), "a shared private room");
    assert!(!store.may_watch("fo-z", "fo-x").await.unwrap(), "a public room is no relationship");
}

fn notification(id: &str, user: &str, actor: &str, group_key: Option<&str>, at: Timestamp) -> NewNotification {
    NewNotification {
        id: id.into(),
        user_id: user.into(),
        kind: "like".into(),
        actor_id: Some(actor.into()),
        subject_kind: Some("content".into()),
        subject_id: Some("post".into()),
        phrase: "liked your post".into(),
        data: chorus::domain::notification_draft::NotificationData::Custom(serde_json::json!({"n": id})),
        group_key: group_key.map(str::to_owned),
        window_start: at.plus_millis(-60_000),
        at,
    }
}

/// A grouped notification folds into the unread one; marking read counts down.
async fn notifications_group_and_mark_read(store: &Arc<SqlStore>) {
    let t = Timestamp(10_000_000);
    let (first, unread) = store.store_notification(&notification("nr-1", "nr-user", "nr-a", Some("like:post"), t), silent()).await.unwrap().outcome;
    assert_eq!(unread, 1, "the unread count is read in the same transaction");
    assert_eq!((first.actor_count, first.read, first.actor.map(|a| a.id)), (1, false, Some("nr-a".to_owned())));
    let (folded, unread) = store.store_notification(&notification("nr-2", "nr-user", "nr-b", Some("like:post"), t.plus_millis(10)), silent()).await.unwrap().outcome;
    assert_eq!(unread, 1, "folded into the unread one");
    assert_eq!((folded.id.as_str(), folded.actor_count, folded.updated_at), ("nr-1", 2, t.plus_millis(10)));
    assert_eq!(folded.data, serde_json::json!({"n": "nr-2"}));
    store.store_notification(&notification("nr-3", "nr-user", "nr-c", None, t.plus_millis(20)), silent()).await.unwrap();
    store.store_notification(&notification("nr-4", "nr-user", "nr-c", None, t.plus_millis(30)), silent()).await.unwrap();
    assert_eq!(store.unread_count("nr-user").await.unwrap(), 3);
    assert_eq!(NotificationStore::mark_read(store.as_ref(), "nr-user", Some(&["nr-3".to_owned()]), t).await.unwrap(), 2);
    let (unread, _) = store.notifications("nr-user", None, 10, true).await.unwrap();
    assert_eq!(unread.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["nr-4", "nr-1"]);
    assert_eq!(NotificationStore::mark_read(store.as_ref(), "nr-user", None, t).await.unwrap(), 0);
    let (all, _) = store.notifications("nr-user", None, 10, false).await.unwrap();
    assert!(all.iter().all(|n| n.read), "{all:?}");
    assert_eq!(store.unread_count("nr-nobody").await.unwrap(), 0);
}

fn new_stream(id: &str, owner: &str) -> NewStream {
    NewStream { id: id.into(), owner_id: owner.into(), title: format!("{id} title"), at: Timestamp::now() }
}

/// Streams: status, slow mode, likes, peak, chat, sanctions, strikes and slots.
async fn streams_keep_status_chat_sanctions_and_strikes(store: &Arc<SqlStore>) {
    let created = store.create_stream(&new_stream("st-1", "st-owner")).await.unwrap();
    assert_eq!((created.status, created.owner_id.as_str(), created.started_at), (StreamStatus::Idle, "st-owner", None));
    assert_eq!(store.stream("st-missing").await.unwrap(), None);
    let t = Timestamp(20_000_000);
    let live = StreamStore::set_status(store.as_ref(), "st-1", StreamStatus::Live, t, silent()).await.unwrap().outcome.expect("live");
    assert_eq!((live.status, live.started_at), (StreamStatus::Live, Some(t)));
    let live_ids: Vec<_> = store.streams_with_status(&[StreamStatus::Live], 100).await.unwrap().into_iter().map(|s| s.id).collect();
    assert!(live_ids.contains(&"st-1".to_owned()), "{live_ids:?}");
    assert!(store.streams_with_status(&[], 10).await.unwrap().is_empty());
    assert_eq!(store.set_slow_mode("st-1", 5).await.unwrap().map(|s| s.slow_mode_sec), Some(5));
    assert_eq!(store.add_likes("st-1", 3).await.unwrap(), Some(3));
    assert_eq!(store.add_likes("st-1", 2).await.unwrap(), Some(5));
    store.raise_peak("st-1", 10).await.unwrap();
    store.raise_peak("st-1", 4).await.unwrap();
    assert_eq!(store.stream("st-1").await.unwrap().map(|s| (s.likes, s.peak_viewers)), Some((5, 10)), "a peak is never lowered");

    let message = NewStreamMessage { id: uuid7(), stream_id: "st-1".into(), user_id: "st-fan".into(), text: "hi".into(), at: t };
    assert!(StreamStore::insert_message(store.as_ref(), &message).await.unwrap());
    assert!(StreamStore::delete_message(store.as_ref(), "st-1", &message.id, "st-owner", t).await.unwrap());
    assert!(!StreamStore::delete_message(store.as_ref(), "st-1", &message.id, "st-owner", t).await.unwrap(), "hidden once");
    assert!(!StreamStore::delete_message(store.as_ref(), "st-other", &message.id, "st-owner", t).await.unwrap(), "only in its own stream");

    let sanction = |kind, until| NewSanction { stream_id: "st-1".into(), user_id: "st-fan".into(), kind, until, reason: None, by: Some("st-owner".into()), at: t };
    store.sanction(&sanction(SanctionKind::Mute, Some(t.plus_millis(1_000))), silent()).await.unwrap();
    store.sanction(&sanction(SanctionKind::Ban, None), silent()).await.unwrap();
    assert_eq!(store.sanctions("st-1", "st-fan", t).await.unwrap(), Sanctions { muted: Some(Some(t.plus_millis(1_000))), banned: Some(None) });
    assert_eq!(store.sanctions("st-1", "st-fan", t.plus_millis(2_000)).await.unwrap().muted, None, "an expired mute is not in force");
    assert!(store.lift_sanction("st-1", "st-fan", SanctionKind::Ban).await.unwrap());
    assert!(!store.lift_sanction("st-1", "st-fan", SanctionKind::Ban).await.unwrap());
    assert_eq!(store.sanctions("st-1", "st-fan", t).await.unwrap().banned, None);

    let strike = |n: u32| NewStrike {
        id: uuid7(),
        scope: "st-1".into(),
        user_id: "st-troll".into(),
        reason: "toxic".into(),
        severity: "high".into(),
        at: t.plus_millis(i64::from(n)),
        window_start: t.plus_millis(-60_000),
        limit: 2,
        mute_until: t.plus_millis(300_000),
    };
    assert_eq!(store.record_strike(&strike(1)).await.unwrap(), StrikeOutcome { strikes: 1, muted_until: None });
    assert_eq!(store.record_strike(&strike(2)).await.unwrap(), StrikeOutcome { strikes: 2, muted_until: Some(t.plus_millis(300_000)) });
    assert_eq!(store.sanctions("st-1", "st-troll", t).await.unwrap().muted, Some(Some(t.plus_millis(300_000))));

    assert_eq!(store.take_slow_mode_slot("st-1", "st-fan", t, 5_000).await.unwrap(), None, "the first message takes the slot");
    assert_eq!(store.take_slow_mode_slot("st-1", "st-fan", t.plus_millis(1_000), 5_000).await.unwrap(), Some(t.plus_millis(5_000)));
    assert_eq!(store.take_slow_mode_slot("st-1", "st-fan", t.plus_millis(5_000), 5_000).await.unwrap(), None);

    let ended = StreamStore::set_status(store.as_ref(), "st-1", StreamStatus::Ended, t.plus_millis(9), silent()).await.unwrap().outcome.expect("ended");
    assert_eq!(ended.ended_at, Some(t.plus_millis(9)));
    assert_eq!(StreamStore::set_status(store.as_ref(), "st-1", StreamStatus::Live, t, silent()).await.unwrap().outcome, None, "an ended stream stays ended");
    assert_eq!(store.set_slow_mode("st-1", 1).await.unwrap(), None);
    assert_eq!(store.add_likes("st-1", 1).await.unwrap(), None);
    assert!(!StreamStore::insert_message(store.as_ref(), &NewStreamMessage { id: uuid7(), ..message }).await.unwrap(), "an ended stream takes no message");
}

async fn live_stream(store: &Arc<SqlStore>, id: &str, owner: &str) {
    store.create_stream(&new_stream(id, owner)).await.unwrap();
    StreamStore::set_status(store.as_ref(), id, StreamStatus::Live, Timestamp::now(), silent()).await.unwrap().outcome.expect("live");
}

fn new_battle(id: &str, a: &str, b: &str, at: Timestamp) -> NewBattle {
    NewBattle {
        id: id.into(),
        challenger_stream: a.into(),
        challenger_owner: format!("{a}-owner"),
        opponent_stream: b.into(),
        opponent_owner: format!("{b}-owner"),
        duration_sec: 60,
        at,
        invite_expires_at: at.plus_millis(30_000),
    }
}

/// Battles: one per stream at a time, accepted, ended, or closed while pending.
async fn battles_reserve_streams_and_settle(store: &Arc<SqlStore>) {
    live_stream(store, "bt-a", "bt-a-owner").await;
    live_stream(store, "bt-b", "bt-b-owner").await;
    live_stream(store, "bt-c", "bt-c-owner").await;
    let t = Timestamp::now();
    let pending = store.create_battle(&new_battle("bt-1", "bt-a", "bt-b", t)).await.unwrap().expect("both streams free");
    assert_eq!((pending.status, pending.challenger.stream_id.as_str(), pending.opponent.score), (BattleStatus::Pending, "bt-a", 0));
    assert_eq!(store.create_battle(&new_battle("bt-2", "bt-c", "bt-b", t)).await.unwrap(), None, "bt-b is in a battle");
    assert_eq!(store.stream("bt-c").await.unwrap().and_then(|s| s.battle_id), None, "a refused battle reserves nothing");
    assert_eq!(store.battle("bt-1").await.unwrap(), Some(pending.clone()));
    assert!(store.open_battles().await.unwrap().iter().any(|b| b.id == "bt-1"));
    let active = store.accept_battle("bt-1", t, t.plus_millis(60_000)).await.unwrap().expect("accepted");
    assert_eq!((active.status, active.ends_at), (BattleStatus::Active, Some(t.plus_millis(60_000))));
    assert_eq!(store.accept_battle("bt-1", t, t.plus_millis(60_000)).await.unwrap(), None, "accepted once");
    assert!(store.close_pending("bt-1", BattleStatus::Ended, t).await.is_err(), "a pending battle cannot close as ended");
    assert_eq!(store.close_pending("bt-1", BattleStatus::Declined, t).await.unwrap(), None, "an active battle is not pending");
    let ended = store.end_battle("bt-1", t.plus_millis(1), silent()).await.unwrap().outcome.expect("ended");
    assert_eq!((ended.status, ended.ended_at), (BattleStatus::Ended, Some(t.plus_millis(1))));
    assert_eq!(store.end_battle("bt-1", t, silent()).await.unwrap().outcome, None);
    assert_eq!(store.stream("bt-a").await.unwrap().and_then(|s| s.battle_id), None, "ending releases both streams");
    store.create_battle(&new_battle("bt-3", "bt-c", "bt-b", t)).await.unwrap().expect("bt-b is free again");
    let declined = store.close_pending("bt-3", BattleStatus::Declined, t).await.unwrap().expect("declined");
    assert_eq!(declined.status, BattleStatus::Declined);
    assert!(!store.open_battles().await.unwrap().iter().any(|b| b.id.starts_with("bt-")));
}

/// Credits once per reference, gifts with the throne and supporter totals, boosts.
async fn wallets_pay_gifts_thrones_and_boosts(store: &Arc<SqlStore>) {
    live_stream(store, "wl-s", "wl-owner").await;
    live_stream(store, "wl-t", "wl-rival").await;
    let t = Timestamp::now();
    let credit = |user: &str, amount, reference: &str| CreditOrder { tx_id: uuid7(), user_id: user.into(), amount, reference: reference.into(), at: t };
    let CreditOutcome::Applied(tx) = store.credit(&credit("wl-fan", 100, "ref-1")).await.unwrap() else { panic!("a new reference is applied") };
    assert_eq!((tx.amount, tx.balance_after), (100, 100));
    assert!(matches!(store.credit(&credit("wl-fan", 100, "ref-1")).await.unwrap(), CreditOutcome::Replay(earlier) if earlier.id == tx.id));
    store.credit(&credit("wl-rich", 500, "ref-2")).await.unwrap();
    assert_eq!(store.wallet("wl-fan").await.unwrap(), WalletState { balance: 100, earnings: 0 });

    let gift = |sender: &str, stream: &str, client: &str, coins| GiftOrder {
        tx_id: uuid7(),
        sender_id: sender.into(),
        stream_id: stream.into(),
        gift_id: "rose".into(),
        count: 2,
        coins,
        client_tx_id: client.into(),
        at: t,
    };
    let GiftOutcome::Applied(first) = store.send_gift(&gift("wl-fan", "wl-s", "g-1", 30), silent()).await.unwrap().outcome else { panic!("paid") };
    assert_eq!((first.balance, first.stream.coins, first.stream.gifts), (70, 30, 2));
    assert_eq!((first.throne_taken_from.clone(), first.stream.throne.clone()), (Some(None), Some(("wl-fan".to_owned(), 30))));
    assert_eq!((first.supporter_before, first.supporter_after, first.battle.clone()), (0, 30, None));
    assert_eq!(first.transaction.recipient_id.as_deref(), Some("wl-owner"));
    let GiftOutcome::Applied(tie) = store.send_gift(&gift("wl-rich", "wl-s", "g-2", 30), silent()).await.unwrap().outcome else { panic!("paid") };
    assert_eq!((tie.throne_taken_from.clone(), tie.stream.throne.clone()), (None, Some(("wl-fan".to_owned(), 30))), "a tie keeps the throne");
    let GiftOutcome::Applied(passed) = store.send_gift(&gift("wl-rich", "wl-s", "g-3", 10), silent()).await.unwrap().outcome else { panic!("paid") };
    assert_eq!((passed.throne_taken_from.clone(), passed.stream.throne.clone()), (Some(Some(("wl-fan".to_owned(), 30))), Some(("wl-rich".to_owned(), 40))));
    assert!(matches!(store.send_gift(&gift("wl-fan", "wl-s", "g-1", 30), silent()).await.unwrap().outcome, GiftOutcome::Replay(earlier) if earlier.id == first.transaction.id));
    assert_eq!(store.send_gift(&gift("wl-fan", "wl-s", "g-4", 71), silent()).await.unwrap().outcome, GiftOutcome::Insufficient);
    assert_eq!(store.send_gift(&gift("wl-fan", "wl-missing", "g-5", 1), silent()).await.unwrap().outcome, GiftOutcome::StreamClosed);
    assert_eq!(store.wallet("wl-fan").await.unwrap().balance, 70, "refused gifts cost nothing");
    assert_eq!(store.wallet("wl-owner").await.unwrap().earnings, 70);
    assert_eq!(store.supporter_coins("wl-owner", "wl-rich").await.unwrap(), 40);
    assert_eq!(store.supporter_coins("wl-owner", "wl-nobody").await.unwrap(), 0);

    store.create_battle(&new_battle("wl-b", "wl-s", "wl-t", t)).await.unwrap().expect("battle");
    store.accept_battle("wl-b", t, t.plus_millis(600_000)).await.unwrap().expect("active");
    let GiftOutcome::Applied(scored) = store.send_gift(&gift("wl-fan", "wl-t", "g-6", 5), silent()).await.unwrap().outcome else { panic!("paid") };
    assert_eq!(scored.battle.map(|b| (b.challenger.score, b.opponent.score)), Some((0, 5)), "a gift scores for its stream's side");
    let boost = |client: &str| BoostOrder {
        tx_id: uuid7(),
        sender_id: "wl-fan".into(),
        battle_id: "wl-b".into(),
        side_stream_id: "wl-s".into(),
        boost_id: "x2".into(),
        points: 50,
        coins: 10,
        client_tx_id: client.into(),
        at: t,
    };
    let BoostOutcome::Applied(boosted) = store.boost(&boost("b-1")).await.unwrap() else { panic!("paid") };
    // The boost pays the side's owner as the battle recorded it.
    assert_eq!((boosted.balance, boosted.battle.challenger.score, boosted.transaction.recipient_id.as_deref()), (55, 50, Some("wl-s-owner")));
    assert!(matches!(store.boost(&boost("b-1")).await.unwrap(), BoostOutcome::Replay(_)));
    store.end_battle("wl-b", t, silent()).await.unwrap().outcome.expect("ended");
    assert_eq!(store.boost(&boost("b-2")).await.unwrap(), BoostOutcome::BattleClosed);
    StreamStore::set_status(store.as_ref(), "wl-s", StreamStatus::Ended, t, silent()).await.unwrap().outcome.expect("ended");
    assert_eq!(store.send_gift(&gift("wl-fan", "wl-s", "g-7", 1), silent()).await.unwrap().outcome, GiftOutcome::StreamClosed);
    assert_eq!(store.wallet("wl-fan").await.unwrap(), WalletState { balance: 55, earnings: 0 });
}

#[tokio::test]
async fn the_store_suite_passes_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("suite.db").display());
    suite(SqlStore::connect(&url, &Tasks::new()).await.expect("sqlite store")).await;
    // The file was created and reopening applies no migration twice.
    SqlStore::connect(&url, &Tasks::new()).await.expect("reopen").close().await;
}

#[tokio::test]
async fn the_store_suite_passes_on_postgres() {
    let db = PgDatabase::create().await;
    let url = db.url.clone();
    suite(SqlStore::connect(&url, &Tasks::new()).await.expect("postgres store")).await;
    SqlStore::connect(&url, &Tasks::new()).await.expect("reopen").close().await;
    db.drop_now().await;
}

#[tokio::test]
async fn a_node_on_postgres_serves_the_video_flow() {
    let db = PgDatabase::create().await;
    let url = db.url.clone();
    let app = crate::support::spawn_app_with(|s| s.store.database_url = url.clone().into()).await;
    let mut watcher = app.socket("pg-watcher").await;
    watcher.ok("content:join", serde_json::json!({"contentId": "pg-video"})).await;
    let mut likers = Vec::new();
    for i in 0..20 {
        likers.push(app.socket(&format!("pg-fan-{i}")).await);
    }
    let acks = futures_util::future::join_all(likers.iter().map(|s| s.call("content:like", serde_json::json!({"contentId": "pg-video"})))).await;
    assert!(acks.iter().all(|a| a["ok"] == true));
    watcher.expect("content:counts", |v| v["likes"] == 20).await;
    let posted = likers[0].ok("content:comment", serde_json::json!({"contentId": "pg-video", "text": "on postgres"})).await;
    assert_eq!(posted["commentsCount"], 1);
    watcher.expect("content:comment", |v| v["comment"]["text"] == "on postgres").await;
    drop(likers);
    drop(watcher);
    app.stop().await;
    db.drop_now().await;
}

#[tokio::test]
async fn a_test_database_is_dropped_even_when_its_test_fails() {
    let (name_tx, name_rx) = tokio::sync::oneshot::channel();
    let failing = tokio::spawn(async move {
        let db = PgDatabase::create().await;
        name_tx.send(db.name().to_owned()).unwrap();
        assert!(PgDatabase::exists(db.name()).await);
        panic!("a failing test");
    });
    assert!(failing.await.unwrap_err().is_panic());
    let name = name_rx.await.unwrap();
    assert!(!PgDatabase::exists(&name).await, "{name} was left behind");
}
