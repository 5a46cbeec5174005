//! Notifications, follows and last-seen times in SQL.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::users::user_from_row;
use super::{SqlStore, execute, store_error};
use crate::domain::model::UserSummary;
use crate::domain::time::Timestamp;
use crate::ports::social_store::{FollowStore, InboxCursor, LastSeenStore, NewNotification, NotificationRecord, NotificationStore, Relationships};
use crate::domain::notification_draft::NotificationData;
use crate::ports::outbox::{Tells, Told};
use crate::ports::store::{StoreError, StoreResult};

const NOTIFICATION_SELECT: &str = "SELECT n.id, n.kind, n.actor_id, n.actor_count, n.subject_kind, n.subject_id, n.phrase,
    n.data, n.created_at, n.updated_at, n.read_at, u.id AS uid, u.username, u.avatar, u.verified
    FROM notifications n LEFT JOIN users u ON u.id = n.actor_id";

fn notification_from_row(row: &AnyRow) -> Result<NotificationRecord, sqlx::Error> {
    let actor_id: Option<String> = row.try_get("actor_id")?;
    let username: Option<String> = row.try_get("username")?;
    let actor = match (actor_id, username) {
        (Some(id), Some(username)) => Some(UserSummary {
            id,
            username,
            avatar: row.try_get("avatar")?,
            verified: row.try_get::<Option<i64>, _>("verified")?.unwrap_or(0) != 0,
        }),
        (Some(id), None) => Some(UserSummary::unknown(&id)),
        _ => None,
    };
    let data: String = row.try_get("data")?;
    Ok(NotificationRecord {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        actor,
        actor_count: row.try_get("actor_count")?,
        subject_kind: row.try_get("subject_kind")?,
        subject_id: row.try_get("subject_id")?,
        phrase: row.try_get("phrase")?,
        data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
        created_at: Timestamp(row.try_get("created_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
        read: row.try_get::<Option<i64>, _>("read_at")?.is_some(),
    })
}

async fn read_notification(conn: &mut AnyConnection, id: &str) -> StoreResult<NotificationRecord> {
    let row = sqlx::query(&format!("{NOTIFICATION_SELECT} WHERE n.id = $1"))
        .bind(id.to_owned())
        .fetch_one(conn)
        .await
        .map_err(store_error)?;
    notification_from_row(&row).map_err(store_error)
}

async fn count_unread(conn: &mut AnyConnection, user_id: &str) -> StoreResult<i64> {
    // Bounded: the cost stays constant however large an inbox grows (a follow burst
    // can add 100,000 unread notifications); clients show "999+" past the cap.
    sqlx::query(
        "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM notifications WHERE user_id = $1 AND read_at IS NULL LIMIT 1000) AS unread",
    )
        .bind(user_id.to_owned())
        .fetch_one(conn)
        .await
        .and_then(|r| r.try_get("n"))
        .map_err(store_error)
}

/// Cursor of the inbox: `{updated_at}:{id}`.
/// A notification's `data` as stored: its JSON text.
fn notification_data(data: &NotificationData) -> StoreResult<String> {
    serde_json::to_string(data).map_err(|e| StoreError::Failure { context: "notification data not encoded".into(), source: Some(std::sync::Arc::new(e)) })
}

#[async_trait]
impl NotificationStore for SqlStore {
    async fn store_notification(&self, n: &NewNotification, tells: Tells<(NotificationRecord, i64)>) -> StoreResult<Told<(NotificationRecord, i64)>> {
        let n = n.clone();
        telling!(self, tells, |conn| {
            let record = fold_or_insert(conn, &n).await?;
            Ok((record, count_unread(conn, &n.user_id).await?))
        })
    }

    async fn notifications(&self, user_id: &str, before: Option<&InboxCursor>, limit: u32, unread_only: bool) -> StoreResult<(Vec<NotificationRecord>, bool)> {
        // Without a cursor, "below the newest possible place": one statement either way.
        let (at, id) = match before {
            Some(c) => (c.updated_at.millis(), c.id.clone()),
            None => (i64::MAX, "~".to_owned()),
        };
        let unread = if unread_only { "AND n.read_at IS NULL" } else { "" };
        let sql = format!(
            "{NOTIFICATION_SELECT} WHERE n.user_id = $1 {unread} AND (n.updated_at < $2 OR (n.updated_at = $2 AND n.id < $3))
             ORDER BY n.updated_at DESC, n.id DESC LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id.to_owned())
            .bind(at)
            .bind(id)
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.read)
            .await
            .map_err(store_error)?;
        let has_more = rows.len() > limit as usize;
        let items = rows.iter().take(limit as usize).map(notification_from_row).collect::<Result<Vec<_>, _>>().map_err(store_error)?;
        Ok((items, has_more))
    }

    async fn inbox_position(&self, user_id: &str, notification_id: &str) -> StoreResult<Option<InboxCursor>> {
        let row = sqlx::query("SELECT updated_at FROM notifications WHERE user_id = $1 AND id = $2")
            .bind(user_id.to_owned())
            .bind(notification_id.to_owned())
            .fetch_optional(&self.read)
            .await
            .map_err(store_error)?;
        row.map(|r| r.try_get::<i64, _>("updated_at").map(|at| InboxCursor { updated_at: Timestamp(at), id: notification_id.to_owned() }))
            .transpose()
            .map_err(store_error)
    }

    async fn mark_read(&self, user_id: &str, ids: Option<&[String]>, at: Timestamp) -> StoreResult<i64> {
        let (user_id, ids) = (user_id.to_owned(), ids.map(<[String]>::to_vec));
        transaction!(self, |conn| {
            match &ids {
                None => {
                    let sql = "UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL";
                    execute(&mut *conn, sql, args![&user_id, at.millis()]).await?;
                }
                Some(ids) => {
                    for id in ids {
                        let sql = "UPDATE notifications SET read_at = $3 WHERE user_id = $1 AND id = $2 AND read_at IS NULL";
                        execute(&mut *conn, sql, args![&user_id, id, at.millis()]).await?;
                    }
                }
            }
            count_unread(conn, &user_id).await
        })
    }

    async fn unread_count(&self, user_id: &str) -> StoreResult<i64> {
        let mut conn = self.read.acquire().await.map_err(store_error)?;
        count_unread(&mut conn, user_id).await
    }
}

/// Stores `n`, or folds it into the recipient's matching unread group; the record as it
/// now reads.
async fn fold_or_insert(conn: &mut AnyConnection, n: &NewNotification) -> StoreResult<NotificationRecord> {
    let data = notification_data(&n.data)?;
    if let Some(key) = &n.group_key {
        let existing = sqlx::query(
            "SELECT id FROM notifications WHERE user_id = $1 AND group_key = $2 AND read_at IS NULL
             AND updated_at >= $3 ORDER BY updated_at DESC LIMIT 1",
        )
        .bind(n.user_id.clone())
        .bind(key.clone())
        .bind(n.window_start.millis())
        .fetch_optional(&mut *conn)
        .await
        .map_err(store_error)?;
        if let Some(row) = existing {
            let id: String = row.try_get("id").map_err(store_error)?;
            if let Some(actor) = &n.actor_id {
                let sql = "INSERT INTO notification_actors (notification_id, actor_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
                execute(&mut *conn, sql, args![&id, actor]).await?;
            }
            let sql = "UPDATE notifications SET actor_id = COALESCE($2, actor_id), updated_at = $3, phrase = $4, data = $5,
                 actor_count = (SELECT COUNT(*) FROM notification_actors WHERE notification_id = $1)
                 WHERE id = $1";
            execute(&mut *conn, sql, args![&id, n.actor_id.clone(), n.at.millis(), &n.phrase, data]).await?;
            return read_notification(conn, &id).await;
        }
    }
    let sql = "INSERT INTO notifications (id, user_id, kind, actor_id, actor_count, subject_kind, subject_id, body, phrase, data,
         group_key, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $6, '', $7, $8, $9, $10, $10)";
    let args = args![
        &n.id,
        &n.user_id,
        &n.kind,
        n.actor_id.clone(),
        n.subject_kind.clone(),
        n.subject_id.clone(),
        &n.phrase,
        data,
        n.group_key.clone(),
        n.at.millis(),
    ];
    execute(&mut *conn, sql, args).await?;
    if let Some(actor) = &n.actor_id {
        execute(&mut *conn, "INSERT INTO notification_actors (notification_id, actor_id) VALUES ($1, $2)", args![&n.id, actor]).await?;
    }
    read_notification(conn, &n.id).await
}

async fn user_list(store: &SqlStore, sql: &str, user_id: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<UserSummary>> {
    let rows = sqlx::query(sql)
        .bind(user_id.to_owned())
        .bind(after.unwrap_or_default().to_owned())
        .bind(i64::from(limit))
        .fetch_all(&store.read)
        .await
        .map_err(store_error)?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("other_id")?;
            match r.try_get::<Option<String>, _>("username")? {
                Some(_) => user_from_row(r),
                None => Ok(UserSummary::unknown(&id)),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(store_error)
}

#[async_trait]
impl FollowStore for SqlStore {
    async fn follow(&self, follower: &str, followee: &str, at: Timestamp, tells: Tells<bool>) -> StoreResult<Told<bool>> {
        let (follower, followee) = (follower.to_owned(), followee.to_owned());
        telling!(self, tells, |conn| {
            let sql = "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
            Ok(execute(conn, sql, args![follower, followee, at.millis()]).await? == 1)
        })
    }

    async fn unfollow(&self, follower: &str, followee: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2";
        Ok(self.write_one(sql, args![follower, followee]).await? == 1)
    }

    async fn is_following(&self, follower: &str, followee: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM follows WHERE follower_id = $1 AND followee_id = $2")
            .bind(follower.to_owned())
            .bind(followee.to_owned())
            .fetch_optional(&self.read)
            .await
            .map_err(store_error)?;
        Ok(row.is_some())
    }

    async fn followers(&self, user_id: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<UserSummary>> {
        user_list(
            self,
            "SELECT f.follower_id AS other_id, u.id, u.username, u.avatar, u.verified FROM follows f
             LEFT JOIN users u ON u.id = f.follower_id WHERE f.followee_id = $1 AND f.follower_id > $2
             ORDER BY f.follower_id LIMIT $3",
            user_id,
            after,
            limit,
        )
        .await
    }

    async fn following(&self, user_id: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<UserSummary>> {
        user_list(
            self,
            "SELECT f.followee_id AS other_id, u.id, u.username, u.avatar, u.verified FROM follows f
             LEFT JOIN users u ON u.id = f.followee_id WHERE f.follower_id = $1 AND f.followee_id > $2
             ORDER BY f.followee_id LIMIT $3",
            user_id,
            after,
            limit,
        )
        .await
    }

    async fn follower_ids(&self, user_id: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT follower_id FROM follows WHERE followee_id = $1 AND follower_id > $2 ORDER BY follower_id LIMIT $3")
            .bind(user_id.to_owned())
            .bind(after.unwrap_or_default().to_owned())
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await
            .map_err(store_error)?;
        rows.iter().map(|r| r.try_get("follower_id")).collect::<Result<Vec<_>, _>>().map_err(store_error)
    }

    async fn follower_count(&self, user_id: &str) -> StoreResult<i64> {
        sqlx::query("SELECT COUNT(*) AS n FROM follows WHERE followee_id = $1")
            .bind(user_id.to_owned())
            .fetch_one(&self.read)
            .await
            .and_then(|r| r.try_get("n"))
            .map_err(store_error)
    }
}

#[async_trait]
impl LastSeenStore for SqlStore {
    async fn set_last_seen(&self, user_id: &str, at: Timestamp) -> StoreResult<()> {
        let sql = "INSERT INTO last_seen (user_id, seen_at) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET seen_at = excluded.seen_at";
        self.write_one(sql, args![user_id, at.millis()]).await?;
        Ok(())
    }

    async fn last_seen(&self, user_id: &str) -> StoreResult<Option<Timestamp>> {
        let row = sqlx::query("SELECT seen_at FROM last_seen WHERE user_id = $1")
            .bind(user_id.to_owned())
            .fetch_optional(&self.read)
            .await
            .map_err(store_error)?;
        row.map(|r| r.try_get::<i64, _>("seen_at").map(Timestamp)).transpose().map_err(store_error)
    }
}

#[async_trait]
impl Relationships for SqlStore {
    async fn may_watch(&self, watcher: &str, target: &str) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM follows WHERE follower_id = $1 AND followee_id = $2
             UNION ALL
             SELECT 1 AS one FROM chat_members a JOIN chat_members b ON a.room_id = b.room_id
             JOIN chat_rooms r ON r.id = a.room_id
             WHERE a.user_id = $1 AND b.user_id = $2 AND r.kind <> 'public'
             LIMIT 1",
        )
        .bind(watcher.to_owned())
        .bind(target.to_owned())
        .fetch_optional(&self.read)
        .await
        .map_err(store_error)?;
        Ok(row.is_some())
    }
}
