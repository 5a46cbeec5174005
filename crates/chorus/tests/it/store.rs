//! One store suite, run against SQLite and against PostgreSQL (a fresh database per
//! run on the local server; set CHORUS_TEST_PG_ADMIN_URL to point elsewhere).

use std::sync::Arc;

use chorus::adapters::sql::SqlStore;
use chorus::domain::model::{CommentPaging, ProgressReport, RankingScope};
use chorus::domain::time::Timestamp;
use chorus::ports::social_store::{InboxCursor, NewNotification, NotificationStore};
use chorus::ports::store::{ContentRegistration, ContentStore, NewComment, ProfileUpdate, UserStore};
use crate::support::PgDatabase;



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
    store.close().await;
}

/// Two toggles of one user's like in flight at once are two state changes (liked, then
/// unliked), never two identical acks.
async fn toggles_in_flight_each_change_the_state(store: &Arc<SqlStore>) {
    store.ensure_content("flip", "video").await.unwrap();
    for round in 0..20 {
        let (a, b) = tokio::join!(store.set_like("flip", "flipper", None, Timestamp::now()), store.set_like("flip", "flipper", None, Timestamp::now()));
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
                data: chorus::ports::notify::NotificationData::Custom(serde_json::json!({})),
                group_key: None,
                window_start: at,
                at,
            })
            .await
            .unwrap();
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
            tokio::spawn(async move { s.set_like("viral", &format!("u{i}"), Some(true), Timestamp::now()).await.unwrap() })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().changed);
    }
    assert_eq!(store.counts("viral").await.unwrap().likes, n);
    let again = store.set_like("viral", "u0", Some(true), Timestamp::now()).await.unwrap();
    assert!(!again.changed, "liking twice changes nothing");
    assert_eq!(again.counts.likes, n);
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let s = store.clone();
            tokio::spawn(async move { s.set_like("viral", &format!("u{i}"), Some(false), Timestamp::now()).await.unwrap() })
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
            tokio::spawn(async move { s.set_like("viral", "toggler", None, Timestamp::now()).await.unwrap() })
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
                s.insert_comment(&NewComment { id, content_id: "batchy".into(), parent_id: None, author_id: "b".into(), text: "x".into(), at: Timestamp::now() })
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
            .insert_comment(&NewComment { id: id.clone(), content_id: "post".into(), parent_id: None, author_id: "w".into(), text: format!("c{i}"), at: Timestamp::now() })
            .await
            .unwrap();
        ids.push(id);
    }
    let reply_id = uuid::Uuid::now_v7().to_string();
    let (reply, counts) = store
        .insert_comment(&NewComment { id: reply_id.clone(), content_id: "post".into(), parent_id: Some(ids[0].clone()), author_id: "r".into(), text: "re".into(), at: Timestamp::now() })
        .await
        .unwrap();
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
    let after = store.delete_comment(&reply_id, Timestamp::now()).await.unwrap().unwrap();
    assert_eq!(after.comments, 5);
    assert!(store.delete_comment(&reply_id, Timestamp::now()).await.unwrap().is_none(), "deleting twice finds nothing");
    assert!(store.comment(&reply_id).await.unwrap().is_none());
    assert_eq!(store.comment(&ids[0]).await.unwrap().unwrap().reply_count, 0);
}

async fn reactions_toggle(store: &Arc<SqlStore>) {
    let id = uuid::Uuid::now_v7().to_string();
    store
        .insert_comment(&NewComment { id: id.clone(), content_id: "post".into(), parent_id: None, author_id: "w".into(), text: "react to me".into(), at: Timestamp::now() })
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
            store.set_like(id, &format!("liker{i}"), Some(true), Timestamp::now()).await.unwrap();
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

#[tokio::test]
async fn the_store_suite_passes_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("suite.db").display());
    suite(SqlStore::connect(&url).await.expect("sqlite store")).await;
    // The file was created and reopening applies no migration twice.
    SqlStore::connect(&url).await.expect("reopen").close().await;
}

#[tokio::test]
async fn the_store_suite_passes_on_postgres() {
    let db = PgDatabase::create().await;
    let url = db.url.clone();
    suite(SqlStore::connect(&url).await.expect("postgres store")).await;
    SqlStore::connect(&url).await.expect("reopen").close().await;
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
