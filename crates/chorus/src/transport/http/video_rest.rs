//! The content routes of the `video` dialect (seed 002, docs/dialects.md §3.6), served
//! instead of the native ones on a server whose `dialect` is `video`: the same service
//! calls, answered as the native `data` plus the seed's fields and a top-level `message`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use serde_json::{Map, Value, json};

use super::content_routes::{self, CommentBody, comment_paging};
use super::envelope::{ApiResult, created, ok};
use super::extract::{AuthUser, Body};
use crate::domain::model::{Comment, CommentPage, CommentPaging, UserSummary};
use crate::state::App;

/// `POST /api/content/{id}/like` toggles: the seed's one "Like/Unlike" route (V-R15).
pub(super) async fn like(State(app): State<App>, user: AuthUser, Path(id): Path<String>) -> ApiResult<Value> {
    let state = app.content.like(&user.actor(), &id, None).await?;
    let message = if state.is_liked { "Content liked" } else { "Content unliked" };
    Ok(ok(json!(state)).with_message(message))
}

/// `POST /api/content/{id}/share`: the native share with `message`.
pub(super) async fn share(app: State<App>, user: AuthUser, id: Path<String>, body: axum::body::Bytes) -> ApiResult<Value> {
    Ok(content_routes::share(app, user, id, body).await?.with_message("Share recorded"))
}

/// `POST /api/content/{id}/comments`: `{comment, commentsCount}` with the comment in the
/// seed's shape, and `message`.
pub(super) async fn comment(State(app): State<App>, user: AuthUser, Path(id): Path<String>, Body(body): Body<CommentBody>) -> ApiResult<Value> {
    let posted = app.content.comment(&user.actor(), &id, &body.text, body.parent_id.as_deref()).await?;
    let data = json!({ "comment": seed_comment(&posted.comment), "commentsCount": posted.comments_count });
    Ok(created(data).with_message("Comment created"))
}

/// `GET /api/content/{id}/comments`: the native page, each comment in the seed's shape,
/// and `pagination` when paged by `page`.
pub(super) async fn list_comments(State(app): State<App>, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> ApiResult<Value> {
    let paging = comment_paging(&q)?;
    let page = app.content.comments(&id, q.get("parentId").map(String::as_str), paging.clone()).await?;
    Ok(ok(seed_page(&page, &paging)))
}

/// A comment with the seed model's `_id` and populated author `userId` beside the
/// native fields (V-R16).
fn seed_comment(comment: &Comment) -> Value {
    let mut fields = match json!(comment) {
        Value::Object(fields) => fields,
        _ => Map::new(),
    };
    fields.insert("_id".into(), json!(comment.id));
    fields.insert("userId".into(), author(&comment.user));
    Value::Object(fields)
}

/// The author as the seed's user model: `{_id, username, avatar, isVerified}`.
fn author(user: &UserSummary) -> Value {
    json!({ "_id": user.id, "username": user.username, "avatar": user.avatar, "isVerified": user.verified })
}

/// The native page with seed comments and `pagination: {total, page, limit, pages}`
/// (`pages = ceil(total / limit)`); a page asked for by cursor has no page number and
/// so no `pagination`.
fn seed_page(page: &CommentPage, paging: &CommentPaging) -> Value {
    let mut fields = match json!(page) {
        Value::Object(fields) => fields,
        _ => Map::new(),
    };
    fields.insert("comments".into(), Value::Array(page.comments.iter().map(seed_comment).collect()));
    if let CommentPaging::Page { page: number, limit } = paging {
        let limit = i64::from(*limit);
        let pages = if limit > 0 { (page.total.max(0) + limit - 1) / limit } else { 0 };
        fields.insert("pagination".into(), json!({ "total": page.total, "page": number, "limit": limit, "pages": pages }));
    }
    Value::Object(fields)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::time::Timestamp;

    fn a_comment(id: &str) -> Comment {
        Comment {
            id: id.into(),
            content_id: "123".into(),
            parent_id: None,
            user: UserSummary { id: "u1".into(), username: "@johndoe".into(), avatar: None, verified: true },
            text: "Great video!".into(),
            created_at: Timestamp::now(),
            edited_at: None,
            reply_count: 0,
            reactions: BTreeMap::new(),
        }
    }

    #[test]
    fn comments_carry_the_seed_id_and_author_beside_the_native_fields() {
        let shaped = seed_comment(&a_comment("c1"));
        assert_eq!(shaped["_id"], "c1");
        assert_eq!(shaped["id"], "c1");
        assert_eq!(shaped["userId"], json!({ "_id": "u1", "username": "@johndoe", "avatar": null, "isVerified": true }));
        assert_eq!(shaped["user"]["id"], "u1", "the native author stays");
    }

    #[test]
    fn pages_count_up_to_the_last_partial_page() {
        let page = |total| CommentPage { comments: vec![a_comment("c1")], has_more: false, next_cursor: None, total };
        let paging = CommentPaging::Page { page: 2, limit: 20 };
        assert_eq!(seed_page(&page(345), &paging)["pagination"], json!({ "total": 345, "page": 2, "limit": 20, "pages": 18 }));
        assert_eq!(seed_page(&page(40), &paging)["pagination"]["pages"], 2);
        assert_eq!(seed_page(&page(0), &paging)["pagination"]["pages"], 0);
        assert_eq!(seed_page(&page(1), &paging)["comments"][0]["_id"], "c1");
        let by_cursor = seed_page(&page(1), &CommentPaging::Before { cursor: None, limit: 20 });
        assert!(by_cursor.get("pagination").is_none());
    }
}
