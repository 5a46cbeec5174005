//! Content, interactions and comments in SQL. Counters live on the content row and
//! change in the same transaction as the row that justifies them, so they stay exact.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::reactions::{ReactionTable, ToggleRow, set_reaction, toggle_row};
use super::{SqlStore, execute, store_error, update_then_read, vanished, write_then_read};
use crate::domain::model::{
    Comment, CommentPage, CommentPaging, ContentAnalytics, ContentItem, Counts, ProgressReport, RankedItem, RankingScope, UserSummary,
};
use crate::domain::time::Timestamp;
use crate::ports::outbox::{Tells, Told};
use crate::ports::store::{
    ContentRegistration, ContentStore, LikeOutcome, NewComment, ReactionOutcome, StoreResult, ViewOutcome,
};

const CONTENT_COLUMNS: &str = "id, content_type, owner_id, title, created_at";
const COMMENT_SELECT: &str = "SELECT c.id, c.content_id, c.parent_id, c.author_id, c.body, c.created_at, c.edited_at,
    c.reply_count, u.username, u.avatar, u.verified
    FROM comments c LEFT JOIN users u ON u.id = c.author_id";

fn content_from_row(row: &AnyRow) -> Result<ContentItem, sqlx::Error> {
    Ok(ContentItem {
        id: row.try_get("id")?,
        content_type: row.try_get("content_type")?,
        owner_id: row.try_get("owner_id")?,
        title: row.try_get("title")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

fn comment_from_row(row: &AnyRow) -> Result<Comment, sqlx::Error> {
    let author_id: String = row.try_get("author_id")?;
    let username: Option<String> = row.try_get("username")?;
    let user = match username {
        Some(username) => UserSummary {
            id: author_id.clone(),
            username,
            avatar: row.try_get("avatar")?,
            verified: row.try_get::<Option<i64>, _>("verified")?.unwrap_or(0) != 0,
        },
        None => UserSummary::unknown(&author_id),
    };
    Ok(Comment {
        id: row.try_get("id")?,
        content_id: row.try_get("content_id")?,
        parent_id: row.try_get("parent_id")?,
        user,
        text: row.try_get("body")?,
        created_at: Timestamp(row.try_get("created_at")?),
        edited_at: row.try_get::<Option<i64>, _>("edited_at")?.map(Timestamp),
        reply_count: row.try_get("reply_count")?,
        reactions: BTreeMap::new(),
    })
}

async fn read_content(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<ContentItem>> {
    let row = sqlx::query(&format!("SELECT {CONTENT_COLUMNS} FROM content WHERE id = $1"))
        .bind(id.to_owned())
        .fetch_optional(conn)
        .await
        .map_err(store_error)?;
    row.map(|r| content_from_row(&r)).transpose().map_err(store_error)
}

async fn read_counts(conn: &mut AnyConnection, id: &str) -> StoreResult<Counts> {
    let row = sqlx::query("SELECT likes, comments, views, shares FROM content WHERE id = $1")
        .bind(id.to_owned())
        .fetch_optional(conn)
        .await
        .map_err(store_error)?;
    match row {
        None => Ok(Counts::default()),
        Some(r) => Ok(Counts {
            likes: r.try_get("likes").map_err(store_error)?,
            comments: r.try_get("comments").map_err(store_error)?,
            views: r.try_get("views").map_err(store_error)?,
            shares: r.try_get("shares").map_err(store_error)?,
        }),
    }
}

async fn read_comment(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<Comment>> {
    let row = sqlx::query(&format!("{COMMENT_SELECT} WHERE c.id = $1 AND c.deleted_at IS NULL"))
        .bind(id.to_owned())
        .fetch_optional(&mut *conn)
        .await
        .map_err(store_error)?;
    let Some(row) = row else { return Ok(None) };
    let mut comment = comment_from_row(&row).map_err(store_error)?;
    let mut reactions = read_reactions(conn, std::slice::from_ref(&comment.id)).await?;
    comment.reactions = reactions.remove(&comment.id).unwrap_or_default();
    Ok(Some(comment))
}

async fn read_reactions(conn: &mut AnyConnection, ids: &[String]) -> StoreResult<HashMap<String, BTreeMap<String, i64>>> {
    let mut out: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT comment_id, emoji, COUNT(*) AS n FROM comment_reactions WHERE comment_id IN ({}) GROUP BY comment_id, emoji",
        placeholders.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(id.clone());
    }
    for row in q.fetch_all(conn).await.map_err(store_error)? {
        let id: String = row.try_get("comment_id").map_err(store_error)?;
        let emoji: String = row.try_get("emoji").map_err(store_error)?;
        let n: i64 = row.try_get("n").map_err(store_error)?;
        out.entry(id).or_default().insert(emoji, n);
    }
    Ok(out)
}

/// Likes: one row per (content, user), the item's counter beside it.
fn like_row() -> ToggleRow {
    ToggleRow {
        lock_target: "UPDATE content SET likes = likes WHERE id = $1",
        insert: "INSERT INTO likes (content_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING".to_owned(),
        delete: "DELETE FROM likes WHERE content_id = $1 AND user_id = $2".to_owned(),
    }
}

#[async_trait]
impl ContentStore for SqlStore {
    async fn register_content(&self, reg: &ContentRegistration) -> StoreResult<ContentItem> {
        let reg = reg.clone();
        transaction!(self, |conn| {
            let sql = "INSERT INTO content (id, content_type, owner_id, title, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET content_type = excluded.content_type,
                   owner_id = COALESCE(excluded.owner_id, content.owner_id),
                   title = COALESCE(excluded.title, content.title)";
            let args = args![&reg.id, &reg.content_type, reg.owner_id.clone(), reg.title.clone(), Timestamp::now().millis()];
            write_then_read(conn, sql, args, "content", async |c| read_content(c, &reg.id).await).await
        })
    }

    async fn ensure_content(&self, id: &str, default_type: &str) -> StoreResult<ContentItem> {
        if let Some(item) = self.content(id).await? {
            return Ok(item);
        }
        let (id, default_type) = (id.to_owned(), default_type.to_owned());
        transaction!(self, |conn| {
            let sql = "INSERT INTO content (id, content_type, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING";
            write_then_read(conn, sql, args![&id, &default_type, Timestamp::now().millis()], "content", async |c| read_content(c, &id).await).await
        })
    }

    async fn content(&self, id: &str) -> StoreResult<Option<ContentItem>> {
        let mut conn = self.read.acquire().await.map_err(store_error)?;
        read_content(&mut conn, id).await
    }

    async fn counts(&self, id: &str) -> StoreResult<Counts> {
        let mut conn = self.read.acquire().await.map_err(store_error)?;
        read_counts(&mut conn, id).await
    }

    async fn is_liked(&self, content_id: &str, user_id: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM likes WHERE content_id = $1 AND user_id = $2")
            .bind(content_id.to_owned())
            .bind(user_id.to_owned())
            .fetch_optional(&self.read)
            .await
            .map_err(store_error)?;
        Ok(row.is_some())
    }

    async fn set_like(&self, content_id: &str, user_id: &str, like: Option<bool>, at: Timestamp, tells: Tells<LikeOutcome>) -> StoreResult<Told<LikeOutcome>> {
        let key = [content_id.to_owned(), user_id.to_owned()];
        telling!(self, tells, |conn| {
            let toggled = toggle_row(&mut *conn, &like_row(), &key, like, at).await?;
            if toggled.changed {
                let delta: i64 = if toggled.on { 1 } else { -1 };
                execute(&mut *conn, "UPDATE content SET likes = likes + $2 WHERE id = $1", args![&key[0], delta]).await?;
            }
            let counts = read_counts(conn, &key[0]).await?;
            Ok(LikeOutcome { changed: toggled.changed, is_liked: toggled.on, counts })
        })
    }

    async fn record_view(&self, content_id: &str, viewer_key: &str, at: Timestamp, window_start: Timestamp) -> StoreResult<ViewOutcome> {
        let (content_id, viewer_key) = (content_id.to_owned(), viewer_key.to_owned());
        transaction!(self, |conn| {
            let sql = "INSERT INTO views (content_id, viewer_key, last_counted_at) VALUES ($1, $2, $3)
                 ON CONFLICT (content_id, viewer_key) DO UPDATE SET last_counted_at = excluded.last_counted_at
                 WHERE views.last_counted_at <= $4";
            let counted = execute(&mut *conn, sql, args![&content_id, viewer_key, at.millis(), window_start.millis()]).await? == 1;
            if counted {
                execute(&mut *conn, "UPDATE content SET views = views + 1 WHERE id = $1", args![&content_id]).await?;
            }
            Ok(ViewOutcome { counted, counts: read_counts(conn, &content_id).await? })
        })
    }

    async fn record_share(&self, content_id: &str, user_id: &str, channel: Option<&str>, at: Timestamp, tells: Tells<Counts>) -> StoreResult<Told<Counts>> {
        let (content_id, user_id, channel) = (content_id.to_owned(), user_id.to_owned(), channel.map(str::to_owned));
        telling!(self, tells, |conn| {
            let sql = "INSERT INTO shares (id, content_id, user_id, channel, created_at) VALUES ($1, $2, $3, $4, $5)";
            execute(&mut *conn, sql, args![uuid::Uuid::now_v7().to_string(), &content_id, user_id, channel, at.millis()]).await?;
            execute(&mut *conn, "UPDATE content SET shares = shares + 1 WHERE id = $1", args![&content_id]).await?;
            read_counts(conn, &content_id).await
        })
    }

    async fn insert_comment(&self, c: &NewComment, tells: Tells<(Comment, Counts)>) -> StoreResult<Told<(Comment, Counts)>> {
        let c = c.clone();
        telling!(self, tells, |conn| {
            let sql = "INSERT INTO comments (id, content_id, parent_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
            execute(&mut *conn, sql, args![&c.id, &c.content_id, c.parent_id.clone(), &c.author_id, &c.text, c.at.millis()]).await?;
            execute(&mut *conn, "UPDATE content SET comments = comments + 1 WHERE id = $1", args![&c.content_id]).await?;
            if let Some(parent) = &c.parent_id {
                execute(&mut *conn, "UPDATE comments SET reply_count = reply_count + 1 WHERE id = $1", args![parent]).await?;
            }
            let comment = read_comment(&mut *conn, &c.id).await?.ok_or_else(|| vanished("comment"))?;
            let counts = read_counts(conn, &c.content_id).await?;
            Ok((comment, counts))
        })
    }

    async fn comment(&self, id: &str) -> StoreResult<Option<Comment>> {
        let mut conn = self.read.acquire().await.map_err(store_error)?;
        read_comment(&mut conn, id).await
    }

    async fn edit_comment(&self, id: &str, text: &str, at: Timestamp) -> StoreResult<Option<Comment>> {
        let (id, text) = (id.to_owned(), text.to_owned());
        transaction!(self, |conn| {
            let sql = "UPDATE comments SET body = $2, edited_at = $3 WHERE id = $1 AND deleted_at IS NULL";
            update_then_read(conn, sql, args![&id, text, at.millis()], async |c| read_comment(c, &id).await).await
        })
    }

    async fn delete_comment(&self, id: &str, at: Timestamp, tells: Tells<Option<Counts>>) -> StoreResult<Told<Option<Counts>>> {
        let id = id.to_owned();
        telling!(self, tells, |conn| {
            let row = sqlx::query("SELECT content_id, parent_id FROM comments WHERE id = $1 AND deleted_at IS NULL")
                .bind(id.clone())
                .fetch_optional(&mut *conn)
                .await
                .map_err(store_error)?;
            let Some(row) = row else { return Ok(None) };
            let content_id: String = row.try_get("content_id").map_err(store_error)?;
            let parent_id: Option<String> = row.try_get("parent_id").map_err(store_error)?;
            execute(&mut *conn, "UPDATE comments SET deleted_at = $2, body = '' WHERE id = $1", args![&id, at.millis()]).await?;
            execute(&mut *conn, "UPDATE content SET comments = comments - 1 WHERE id = $1", args![&content_id]).await?;
            if let Some(parent) = parent_id {
                execute(&mut *conn, "UPDATE comments SET reply_count = reply_count - 1 WHERE id = $1 AND reply_count > 0", args![parent]).await?;
            }
            Ok(Some(read_counts(conn, &content_id).await?))
        })
    }

    async fn comments(&self, content_id: &str, parent_id: Option<&str>, paging: &CommentPaging) -> StoreResult<CommentPage> {
        let mut conn = self.read.acquire().await.map_err(store_error)?;
        let thread = if parent_id.is_some() { "c.parent_id = $2" } else { "c.parent_id IS NULL AND $2 = ''" };
        let parent = parent_id.unwrap_or_default().to_owned();
        let (limit, rows) = match paging {
            CommentPaging::Page { page, limit } => {
                let sql = format!(
                    "{COMMENT_SELECT} WHERE c.content_id = $1 AND {thread} AND c.deleted_at IS NULL ORDER BY c.id DESC LIMIT $3 OFFSET $4"
                );
                let rows = sqlx::query(&sql)
                    .bind(content_id.to_owned())
                    .bind(parent.clone())
                    .bind(i64::from(*limit) + 1)
                    .bind(i64::from(page - 1) * i64::from(*limit))
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(store_error)?;
                (*limit, rows)
            }
            CommentPaging::Before { cursor, limit } => {
                let sql = format!(
                    "{COMMENT_SELECT} WHERE c.content_id = $1 AND {thread} AND c.deleted_at IS NULL AND c.id < $3 ORDER BY c.id DESC LIMIT $4"
                );
                // Ids are time-ordered UUIDs; "~" sorts after every one of them.
                let rows = sqlx::query(&sql)
                    .bind(content_id.to_owned())
                    .bind(parent.clone())
                    .bind(cursor.clone().unwrap_or_else(|| "~".to_owned()))
                    .bind(i64::from(*limit) + 1)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(store_error)?;
                (*limit, rows)
            }
        };
        let has_more = rows.len() > limit as usize;
        let mut comments = rows
            .iter()
            .take(limit as usize)
            .map(comment_from_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(store_error)?;
        let ids: Vec<String> = comments.iter().map(|c| c.id.clone()).collect();
        let mut reactions = read_reactions(&mut conn, &ids).await?;
        for c in &mut comments {
            c.reactions = reactions.remove(&c.id).unwrap_or_default();
        }
        let total: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM comments c WHERE c.content_id = $1 AND {thread} AND c.deleted_at IS NULL"
        ))
        .bind(content_id.to_owned())
        .bind(parent)
        .fetch_one(&mut *conn)
        .await
        .and_then(|r| r.try_get("n"))
        .map_err(store_error)?;
        let next_cursor = if has_more { comments.last().map(|c| c.id.clone()) } else { None };
        Ok(CommentPage { comments, has_more, next_cursor, total })
    }

    async fn set_comment_reaction(&self, comment_id: &str, user_id: &str, emoji: &str, on: Option<bool>, at: Timestamp) -> StoreResult<ReactionOutcome> {
        let (comment_id, user_id, emoji) = (comment_id.to_owned(), user_id.to_owned(), emoji.to_owned());
        transaction!(self, |conn| set_reaction(conn, ReactionTable::Comments, &comment_id, &user_id, &emoji, on, at).await)
    }

    async fn record_progress(&self, r: &ProgressReport) -> StoreResult<()> {
        let r = r.clone();
        transaction!(self, |conn| {
            // One row per viewer and item: repeated or late reports never add up twice.
            sqlx::query(
                "INSERT INTO watch_progress (content_id, viewer_id, watch_time_sec, completed, quality, buffering_sec, reports, updated_at, buffering_reports)
                 VALUES ($1, $2, $3, $4, $5, CASE WHEN $8 = 1 THEN $6 END, 1, $7, $9)
                 ON CONFLICT (content_id, viewer_id) DO UPDATE SET
                   watch_time_sec = CASE WHEN excluded.watch_time_sec > watch_progress.watch_time_sec
                                         THEN excluded.watch_time_sec ELSE watch_progress.watch_time_sec END,
                   completed = CASE WHEN excluded.completed = 1 THEN 1 ELSE watch_progress.completed END,
                   quality = COALESCE(excluded.quality, watch_progress.quality),
                   buffering_sec = CASE WHEN excluded.buffering_sec > COALESCE(watch_progress.buffering_sec, 0)
                                        THEN excluded.buffering_sec ELSE watch_progress.buffering_sec END,
                   reports = watch_progress.reports + 1,
                   buffering_reports = watch_progress.buffering_reports + excluded.buffering_reports,
                   updated_at = excluded.updated_at",
            )
            .bind(r.content_id.clone())
            .bind(r.viewer_id.clone())
            .bind(r.watch_time_sec)
            .bind(i64::from(r.completed))
            .bind(r.quality.clone())
            // sqlx's Any driver types a NULL f64 as float4 on PostgreSQL, which poisons
            // the cached statement for later non-NULL values: bind a number and a flag.
            .bind(r.buffering_sec.unwrap_or(0.0))
            .bind(r.at.millis())
            .bind(i64::from(r.buffering_sec.is_some()))
            .bind(i64::from(r.buffering_now == Some(true)))
            .execute(conn)
            .await
            .map_err(store_error)?;
            Ok(())
        })
    }

    async fn analytics(&self, content_id: &str) -> StoreResult<ContentAnalytics> {
        let mut conn = self.read.acquire().await.map_err(store_error)?;
        let counts = read_counts(&mut conn, content_id).await?;
        let unique_viewers: i64 = sqlx::query("SELECT COUNT(*) AS n FROM views WHERE content_id = $1")
            .bind(content_id.to_owned())
            .fetch_one(&mut *conn)
            .await
            .and_then(|r| r.try_get("n"))
            .map_err(store_error)?;
        // Portable aggregates: COUNT and SUM over doubles decode the same on both databases.
        let row = sqlx::query(
            "SELECT COUNT(*) AS viewers, COUNT(CASE WHEN completed = 1 THEN 1 END) AS completed,
                    COALESCE(SUM(watch_time_sec), 0.0) AS watch, COALESCE(SUM(COALESCE(buffering_sec, 0.0)), 0.0) AS buffering,
                    CAST(COALESCE(SUM(buffering_reports), 0) AS BIGINT) AS buffering_reports,
                    COUNT(CASE WHEN buffering_reports > 0 OR buffering_sec > 0 THEN 1 END) AS buffering_viewers
             FROM watch_progress WHERE content_id = $1",
        )
        .bind(content_id.to_owned())
        .fetch_one(&mut *conn)
        .await
        .map_err(store_error)?;
        let viewers: i64 = row.try_get("viewers").map_err(store_error)?;
        let completed: i64 = row.try_get("completed").map_err(store_error)?;
        let watch: f64 = row.try_get("watch").map_err(store_error)?;
        let buffering: f64 = row.try_get("buffering").map_err(store_error)?;
        let buffering_reports: i64 = row.try_get("buffering_reports").map_err(store_error)?;
        let buffering_viewers: i64 = row.try_get("buffering_viewers").map_err(store_error)?;
        let mut quality_distribution = BTreeMap::new();
        let rows = sqlx::query(
            "SELECT COALESCE(quality, 'unknown') AS quality, COUNT(*) AS n FROM watch_progress WHERE content_id = $1 GROUP BY COALESCE(quality, 'unknown')",
        )
        .bind(content_id.to_owned())
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)?;
        for r in rows {
            quality_distribution.insert(r.try_get("quality").map_err(store_error)?, r.try_get("n").map_err(store_error)?);
        }
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        Ok(ContentAnalytics {
            content_id: content_id.to_owned(),
            views: counts.views,
            unique_viewers,
            reporting_viewers: viewers,
            total_watch_time_sec: watch,
            average_watch_time_sec: ratio(watch, viewers as f64),
            completion_rate: ratio(completed as f64, viewers as f64),
            quality_distribution,
            buffering_ratio: ratio(buffering, watch),
            buffering_reports,
            buffering_viewers,
        })
    }

    async fn top_content(&self, scope: &RankingScope, limit: u32) -> StoreResult<Vec<RankedItem>> {
        let (column, value) = match scope {
            RankingScope::ContentType(t) => ("content_type", t.clone()),
            RankingScope::Owner(o) => ("owner_id", o.clone()),
        };
        let rows = sqlx::query(&format!(
            "SELECT id, likes FROM content WHERE {column} = $1 ORDER BY likes DESC, id ASC LIMIT $2"
        ))
        .bind(value)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(store_error)?;
        rows.iter()
            .enumerate()
            .map(|(i, row)| {
                Ok(RankedItem {
                    content_id: row.try_get("id")?,
                    likes: row.try_get("likes")?,
                    rank: i as u32 + 1,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(store_error)
    }
}

