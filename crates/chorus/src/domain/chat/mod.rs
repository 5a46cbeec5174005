//! Chat (PROTOCOL.md §7): direct, group and public rooms, messages with replies and
//! locations, typing, read positions, reactions, edits and soft deletes. The socket
//! commands and the REST routes both call these functions; every write is durable
//! before anything is published.
//!
//! Delivery: a message (and every other member-facing event) goes to the `user:` room
//! of each member in one emit, so it reaches all of a member's devices whether or not
//! they joined `chat:{roomId}`, and a socket in several of those rooms gets it once.
//! `chat:{roomId}` carries only what concerns the sockets looking at the room: joins,
//! leaves and typing.

pub mod model;
pub mod rules;

use crate::domain::moderation::{Moderation, Post, Surface};
use std::sync::Arc;
use std::time::Instant;

use self::model::{
    ChatMessage, ChatRoom, JoinedRoom, MessageKind, MessagePage, ReadState, RoomCreated, RoomKind, RoomRequest, SendInput, Sent,
};
use self::rules::{ChatRules, direct_key, message_body, named_members, page_size, within_edit_window};
use super::content::ReactionState;
use super::model::Actor;
use super::error::{DomainError, DomainResult};
use super::events::ChatEvent;
use super::model::UserSummary;
use super::text::{short_label, trimmed_text, valid_emoji, valid_id};
use super::time::Timestamp;
use super::typing::{TypingKey, TypingTracker};
use super::users::UserDirectory;
use crate::ports::chat_store::{ChatStore, MessageStored, NewMessage, NewRoom, RoomAccess};
use crate::ports::outbox::{Tells, Told};
use crate::ports::cluster::SessionRegistry;
use crate::ports::events::EventSink;
use crate::ports::publisher::{Audience, ConnectionId, EventPublisher, Room};

/// Prefix of chat places in the typing tracker.
const TYPING_PLACE: &str = "chat:";

/// The chat service.
pub struct ChatService {
    store: Arc<dyn ChatStore>,
    users: Arc<UserDirectory>,
    /// Joins and leaves of `chat:` rooms.
    publisher: Arc<dyn EventPublisher>,
    /// Where the room's events go.
    events: Arc<dyn EventSink>,
    /// Who is connected: offline members get a notification instead.
    sessions: Arc<dyn SessionRegistry>,
    typing: Arc<TypingTracker>,
    /// Guards message texts when `chat` is a moderated surface.
    moderation: Arc<Moderation>,
    rules: ChatRules,
}

/// The deepest offset `history` walks to.
pub const MAX_HISTORY_SKIP: i64 = 10_000;

impl ChatService {
    /// Wires the service to its store, the profiles, the publisher (room joins), the
    /// event sink, the session registry (who is online) and a typing tracker of its own.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn ChatStore>,
        users: Arc<UserDirectory>,
        publisher: Arc<dyn EventPublisher>,
        events: Arc<dyn EventSink>,
        sessions: Arc<dyn SessionRegistry>,
        typing: Arc<TypingTracker>,
        moderation: Arc<Moderation>,
        rules: ChatRules,
    ) -> Self {
        Self { store, users, publisher, events, sessions, typing, moderation, rules }
    }

    /// The limits this service enforces.
    pub fn rules(&self) -> &ChatRules {
        &self.rules
    }

    /// `POST /api/chat/rooms`: a direct room with `otherUserId` (create-or-get, one per
    /// pair), or a group or public room with a title and members.
    pub async fn create_room(&self, actor: &Actor, request: &RoomRequest) -> DomainResult<RoomCreated> {
        let me = &actor.identity.user_id;
        let now = Timestamp::now();
        let new_room = match &request.other_user_id {
            Some(other) => {
                let other = valid_id("otherUserId", other)?;
                if other == me {
                    return Err(DomainError::bad_request("a direct room needs another user"));
                }
                if request.kind.as_deref().is_some_and(|k| k != "direct") {
                    return Err(DomainError::bad_request("otherUserId makes a direct room; send kind and memberIds for others"));
                }
                NewRoom {
                    id: uuid::Uuid::now_v7().to_string(),
                    kind: RoomKind::Direct,
                    title: None,
                    created_by: me.clone(),
                    member_ids: vec![me.clone(), other.to_owned()],
                    direct_key: Some(direct_key(me, other)),
                    at: now,
                }
            }
            None => {
                let kind = match request.kind.as_deref() {
                    Some("group") => RoomKind::Group,
                    Some("public") => RoomKind::Public,
                    Some("direct") => return Err(DomainError::bad_request("a direct room needs otherUserId")),
                    _ => return Err(DomainError::bad_request("send otherUserId, or kind group or public")),
                };
                let title = short_label("title", request.title.as_deref(), self.rules.max_title_chars)?;
                if kind == RoomKind::Public && title.is_none() {
                    return Err(DomainError::bad_request("a public room needs a title"));
                }
                let mut member_ids = vec![me.clone()];
                member_ids.extend(named_members(me, &request.member_ids, self.rules.max_members_per_request)?);
                NewRoom {
                    id: uuid::Uuid::now_v7().to_string(),
                    kind,
                    title,
                    created_by: me.clone(),
                    member_ids,
                    direct_key: None,
                    at: now,
                }
            }
        };
        let (record, created) = self.store.create_room(&new_room).await?;
        let room = self.view_of(me, &record.id).await?;
        Ok(RoomCreated { room, created })
    }

    /// `GET /api/chat/rooms`: the caller's rooms, most recently active first.
    pub async fn rooms(&self, actor: &Actor) -> DomainResult<Vec<ChatRoom>> {
        Ok(self.store.rooms_of(&actor.identity.user_id, None).await?)
    }

    /// `chat:history` and `GET /api/chat/rooms/{id}/messages`: newest first, paged by
    /// message id.
    /// `skip` passes over that many messages first (newest first), page by page.
    pub async fn history(&self, actor: &Actor, room_id: &str, before: Option<&str>, limit: Option<i64>, skip: Option<i64>) -> DomainResult<MessagePage> {
        let room_id = valid_id("roomId", room_id)?;
        let limit = page_size(limit, self.rules.default_page_size, self.rules.max_page_size)?;
        if let Some(b) = before {
            valid_id("before", b)?;
        }
        let mut skip = match skip.unwrap_or(0) {
            n @ 0..=MAX_HISTORY_SKIP => n,
            _ => return Err(DomainError::bad_request(format!("skip must be between 0 and {MAX_HISTORY_SKIP}"))),
        };
        self.require_access(room_id, &actor.identity.user_id, "read").await?;
        let mut before = before.map(str::to_owned);
        while skip > 0 {
            let step = u32::try_from(skip).unwrap_or(u32::MAX).min(self.rules.max_page_size);
            let (passed, more) = self.store.history(room_id, before.as_deref(), step).await?;
            let Some(last) = passed.last() else { break };
            before = Some(last.id.clone());
            skip -= passed.len() as i64;
            if !more {
                return Ok(MessagePage { messages: Vec::new(), has_more: false, next_cursor: None });
            }
        }
        let (messages, has_more) = self.store.history(room_id, before.as_deref(), limit).await?;
        let next_cursor = if has_more { messages.last().map(|m| m.id.clone()) } else { None };
        Ok(MessagePage { messages, has_more, next_cursor })
    }

    /// `POST /api/chat/rooms/{id}/members`: members of a group add people; anyone may add
    /// themself to a public room (members may add others). Direct rooms keep their pair.
    pub async fn add_members(&self, actor: &Actor, room_id: &str, user_ids: &[String]) -> DomainResult<ChatRoom> {
        let room_id = valid_id("roomId", room_id)?;
        let me = &actor.identity.user_id;
        if user_ids.is_empty() {
            return Err(DomainError::bad_request("userIds must name at least one user"));
        }
        // No creator to leave out here: the caller may add themself (public rooms).
        let ids = named_members("", user_ids, self.rules.max_members_per_request)?;
        let access = self.store.access(room_id, me).await?.ok_or_else(unknown_room)?;
        match (access.kind, access.is_member) {
            (RoomKind::Direct, _) => return Err(DomainError::bad_request("a direct room has exactly its two members")),
            (RoomKind::Group, false) => return Err(not_a_member("add members to")),
            (RoomKind::Public, false) if ids.iter().any(|id| id != me) => {
                return Err(DomainError::forbidden("only members add others to a public room; join it first"));
            }
            _ => {}
        }
        self.store.add_members(room_id, &ids, Timestamp::now()).await?;
        self.view_of(me, room_id).await
    }

    /// `DELETE /api/chat/rooms/{id}/members/me`: leave a group or public room for good.
    pub async fn leave_room(&self, actor: &Actor, room_id: &str) -> DomainResult<()> {
        let room_id = valid_id("roomId", room_id)?;
        let me = &actor.identity.user_id;
        let access = self.store.access(room_id, me).await?.ok_or_else(unknown_room)?;
        if access.kind == RoomKind::Direct {
            return Err(DomainError::bad_request("a direct room cannot be left"));
        }
        if !self.store.remove_member(room_id, me).await? {
            return Err(not_a_member("leave"));
        }
        let left = ChatEvent::MemberLeft { room_id: room_id.to_owned(), user_id: me.clone() };
        self.events.emit(Audience::Room(Room::Chat(room_id.to_owned())), left.into()).await;
        Ok(())
    }

    /// `chat:join`: watch a room (its joins, leaves and typing). Joining a public room
    /// makes the caller a member.
    pub async fn join(&self, actor: &Actor, room_id: &str) -> DomainResult<JoinedRoom> {
        let room_id = valid_id("roomId", room_id)?;
        let connection = actor.connection.as_ref().ok_or_else(|| DomainError::bad_request("join needs a socket"))?;
        let me = &actor.identity.user_id;
        let access = self.require_access(room_id, me, "join").await?;
        if !access.is_member {
            self.store.add_members(room_id, std::slice::from_ref(me), Timestamp::now()).await?;
        }
        let room = self.view_of(me, room_id).await?;
        let user = self.users.summary(me).await?;
        // Announced before the socket joins, so the joiner does not hear of itself.
        let joined = ChatEvent::MemberJoined { room_id: room_id.to_owned(), user };
        self.events.emit(Audience::Room(Room::Chat(room_id.to_owned())), joined.into()).await;
        self.publisher.join(connection, Room::Chat(room_id.to_owned()));
        let online = self.sessions.online_among(&room.member_ids).await;
        let online_member_ids = room.member_ids.iter().zip(online).filter(|(_, on)| *on).map(|(id, _)| id.clone()).collect();
        Ok(JoinedRoom { room, online_member_ids })
    }

    /// `chat:leave`: stop watching a room (membership stays).
    pub async fn leave(&self, actor: &Actor, room_id: &str) -> DomainResult<()> {
        let room_id = valid_id("roomId", room_id)?;
        let connection = actor.connection.as_ref().ok_or_else(|| DomainError::bad_request("leave needs a socket"))?;
        self.stop_typing(actor, room_id).await;
        self.publisher.leave(connection, Room::Chat(room_id.to_owned()));
        // Only someone with access to the room is announced to it: a stranger's leave
        // (of a room they could never watch) is silent.
        let access = self.store.access(room_id, &actor.identity.user_id).await?;
        if !access.is_some_and(|a| a.is_member || a.kind == RoomKind::Public) {
            return Ok(());
        }
        let left = ChatEvent::MemberLeft { room_id: room_id.to_owned(), user_id: actor.identity.user_id.clone() };
        self.events.emit(Audience::Room(Room::Chat(room_id.to_owned())), left.into()).await;
        Ok(())
    }

    /// `chat:send`: one read (room, members, sender; on SQLite the store serves it from
    /// memory), one write (idempotent by `(sender, clientMsgId)`; on SQLite one row of
    /// the writer's batch insert), one emit to the members' `user:` rooms. The same
    /// `clientMsgId` again returns the stored message with `duplicate: true`.
    pub async fn send(&self, actor: &Actor, input: &SendInput) -> DomainResult<Sent> {
        self.moderation.ensure_may_post(&actor.identity.user_id)?;
        let room_id = valid_id("roomId", &input.room_id)?;
        let client_msg_id = valid_id("clientMsgId", &input.client_msg_id)?;
        let body = message_body(input.kind.as_deref(), input.text.as_deref(), input.location, self.rules.max_text_chars)?;
        if !body.text.is_empty() {
            let post = Post { surface: Surface::Chat, place: room_id, author: &actor.identity.user_id };
            self.moderation.guard(post, &body.text).await?;
        }
        if let Some(reply_to) = &input.reply_to {
            valid_id("replyTo", reply_to)?;
        }
        let me = &actor.identity.user_id;
        let context = self.store.send_context(room_id, me).await?.ok_or_else(unknown_room)?;
        let is_member = context.member_ids.iter().any(|m| m == me);
        if !is_member && context.kind != RoomKind::Public {
            return Err(not_a_member("send to"));
        }
        if let Some(reply_to) = &input.reply_to {
            let target = self.store.message(reply_to).await?.ok_or_else(|| DomainError::not_found("unknown replyTo message"))?;
            if target.room_id != room_id {
                return Err(DomainError::bad_request("replyTo must be a message of the same room"));
            }
        }
        let message = ChatMessage {
            id: uuid::Uuid::now_v7().to_string(),
            room_id: room_id.to_owned(),
            sender: context.sender,
            kind: body.kind,
            text: body.text,
            location: body.location,
            reply_to: input.reply_to.clone(),
            client_msg_id: client_msg_id.to_owned(),
            created_at: Timestamp::now(),
            edited_at: None,
            deleted: false,
            reactions: Default::default(),
        };
        let mut members = context.member_ids;
        if !is_member {
            members.push(me.clone());
        }
        let to = members_of(&members);
        let private = context.kind != RoomKind::Public;
        let sent = message.clone();
        let tells: Tells<MessageStored> = Box::new(move |stored| {
            matches!(stored, MessageStored::New).then(|| ChatEvent::MessageSent { message: sent, members, private }.into())
        });
        let new = NewMessage {
            id: message.id.clone(),
            room_id: message.room_id.clone(),
            sender_id: me.clone(),
            client_msg_id: message.client_msg_id.clone(),
            kind: message.kind,
            text: message.text.clone(),
            location: message.location,
            reply_to: message.reply_to.clone(),
            at: message.created_at,
            join_sender: !is_member,
        };
        let Told { outcome, event } = self.store.insert_message(&new, tells).await?;
        if let MessageStored::Duplicate(original) = outcome {
            return Ok(Sent { message: *original, duplicate: true });
        }
        if let Some(sent) = event {
            self.events.emit(to, sent).await;
        }
        self.stop_typing(actor, room_id).await;
        Ok(Sent { message, duplicate: false })
    }

    /// `chat:typing`: announced to the others watching the room; expires by itself.
    pub async fn typing(&self, actor: &Actor, room_id: &str, typing: bool) -> DomainResult<()> {
        let room_id = valid_id("roomId", room_id)?;
        let connection = actor.connection.as_ref().ok_or_else(|| DomainError::bad_request("typing needs a socket"))?;
        let me = &actor.identity.user_id;
        if !typing {
            // Stopping needs no check: only a running indicator is announced.
            self.stop_typing(actor, room_id).await;
            return Ok(());
        }
        self.require_access(room_id, me, "type in").await?;
        let user = self.users.summary(me).await?;
        let key = TypingKey { place: typing_place(room_id), user_id: me.clone() };
        if self.typing.set(key, user.clone(), connection.clone(), true) {
            self.tell_typing(room_id, &user, true, connection).await;
        }
        Ok(())
    }

    /// Ends the chat typing indicators that ran out (called by the tick task).
    pub async fn expire_typing(&self) {
        for t in self.typing.expire(Instant::now()) {
            if let Some(room_id) = t.place.strip_prefix(TYPING_PLACE) {
                self.tell_typing(room_id, &t.user, false, &t.connection).await;
            }
        }
    }

    /// A closed connection stops typing everywhere.
    pub async fn connection_closed(&self, connection: &ConnectionId) {
        for t in self.typing.drop_connection(connection) {
            if let Some(room_id) = t.place.strip_prefix(TYPING_PLACE) {
                self.tell_typing(room_id, &t.user, false, &t.connection).await;
            }
        }
    }

    async fn stop_typing(&self, actor: &Actor, room_id: &str) {
        let Some(connection) = &actor.connection else { return };
        let key = TypingKey { place: typing_place(room_id), user_id: actor.identity.user_id.clone() };
        let user = UserSummary::unknown(&actor.identity.user_id);
        if self.typing.set(key, user.clone(), connection.clone(), false) {
            self.tell_typing(room_id, &user, false, connection).await;
        }
    }

    async fn tell_typing(&self, room_id: &str, user: &UserSummary, typing: bool, except: &ConnectionId) {
        let event = ChatEvent::Typing { room_id: room_id.to_owned(), user: user.clone(), typing };
        self.events.emit(Audience::RoomExcept(Room::Chat(room_id.to_owned()), except.clone()), event.into()).await;
    }

    /// `chat:read`: moves the caller's read position forward to `message_id`; the
    /// members' devices hear of it when it moved.
    pub async fn read(&self, actor: &Actor, room_id: &str, message_id: &str) -> DomainResult<ReadState> {
        let room_id = valid_id("roomId", room_id)?;
        let message_id = valid_id("messageId", message_id)?;
        let me = &actor.identity.user_id;
        let room = self.store.room(room_id).await?.ok_or_else(unknown_room)?;
        if !room.member_ids.iter().any(|m| m == me) {
            return Err(not_a_member("mark read in"));
        }
        let message = self.store.message(message_id).await?.ok_or_else(|| DomainError::not_found("unknown message"))?;
        if message.room_id != room_id {
            return Err(DomainError::bad_request("the message belongs to another room"));
        }
        let now = Timestamp::now();
        let outcome = self.store.mark_read(room_id, me, message_id, now).await?;
        if outcome.moved {
            // Read receipts of a public room would flood every member: there only the
            // reader's own devices hear of them.
            let audience = match room.kind {
                RoomKind::Public => Audience::Room(Room::User(me.clone())),
                _ => members_of(&room.member_ids),
            };
            let read = ChatEvent::ReadMoved {
                room_id: room_id.to_owned(),
                user_id: me.clone(),
                message_id: message_id.to_owned(),
                read_at: now,
            };
            self.events.emit(audience, read.into()).await;
        }
        Ok(ReadState { unread_count: outcome.unread_count })
    }

    /// `chat:react`: `on = None` toggles.
    pub async fn react(&self, actor: &Actor, message_id: &str, emoji: &str, on: Option<bool>) -> DomainResult<ReactionState> {
        let message_id = valid_id("messageId", message_id)?;
        let emoji = valid_emoji(emoji)?;
        let me = &actor.identity.user_id;
        let (message, members) = self.message_for(me, message_id, "react in").await?;
        if message.deleted {
            return Err(DomainError::conflict("the message was deleted"));
        }
        let outcome = self.store.set_reaction(message_id, me, emoji, on, Timestamp::now()).await?;
        let reacted = ChatEvent::MessageReacted {
            room_id: message.room_id,
            message_id: message_id.to_owned(),
            emoji: emoji.to_owned(),
            user_id: me.clone(),
            count: outcome.count,
        };
        self.events.emit(members_of(&members), reacted.into()).await;
        Ok(ReactionState { emoji: emoji.to_owned(), count: outcome.count, reacted: outcome.reacted })
    }

    /// `chat:edit`: the sender, within the edit window, text messages only.
    pub async fn edit(&self, actor: &Actor, message_id: &str, text: &str) -> DomainResult<ChatMessage> {
        self.moderation.ensure_may_post(&actor.identity.user_id)?;
        let message_id = valid_id("messageId", message_id)?;
        let text = trimmed_text("text", text, self.rules.max_text_chars)?;
        let me = &actor.identity.user_id;
        let (message, members) = self.message_for(me, message_id, "edit in").await?;
        if message.sender.id != *me {
            return Err(DomainError::forbidden("only the sender edits a message"));
        }
        self.moderation.guard(Post { surface: Surface::Chat, place: &message.room_id, author: me }, &text).await?;
        if message.deleted {
            return Err(DomainError::conflict("the message was deleted"));
        }
        if message.kind != MessageKind::Text {
            return Err(DomainError::bad_request("only text messages can be edited"));
        }
        let now = Timestamp::now();
        if !within_edit_window(message.created_at, now, self.rules.edit_window) {
            return Err(DomainError::conflict(format!(
                "the edit window of {} seconds has passed",
                self.rules.edit_window.as_secs()
            )));
        }
        let edited = self
            .store
            .edit_message(message_id, &text, now)
            .await?
            .ok_or_else(|| DomainError::conflict("the message was deleted"))?;
        self.events.emit(members_of(&members), ChatEvent::MessageEdited { message: edited.clone() }.into()).await;
        Ok(edited)
    }

    /// `chat:delete`: the sender (or a moderator); the message keeps its place, its
    /// text goes. Deleting again changes nothing and announces nothing.
    pub async fn delete(&self, actor: &Actor, message_id: &str) -> DomainResult<()> {
        let message_id = valid_id("messageId", message_id)?;
        let me = &actor.identity.user_id;
        let (message, members) = self.message_for(me, message_id, "delete in").await?;
        if message.sender.id != *me && !actor.identity.is_moderator() {
            return Err(DomainError::forbidden("only the sender deletes a message"));
        }
        let (room_id, id) = (message.room_id, message_id.to_owned());
        let tells: Tells<bool> = Box::new(move |deleted| deleted.then(|| ChatEvent::MessageDeleted { room_id, message_id: id }.into()));
        if let Told { event: Some(deleted), .. } = self.store.delete_message(message_id, Timestamp::now(), tells).await? {
            self.events.emit(members_of(&members), deleted).await;
        }
        Ok(())
    }

    /// A message and the members of its room, when `user_id` may act in that room.
    async fn message_for(&self, user_id: &str, message_id: &str, what: &str) -> DomainResult<(ChatMessage, Vec<String>)> {
        let message = self.store.message(message_id).await?.ok_or_else(|| DomainError::not_found("unknown message"))?;
        let room = self.store.room(&message.room_id).await?.ok_or_else(unknown_room)?;
        if room.kind != RoomKind::Public && !room.member_ids.iter().any(|m| m == user_id) {
            return Err(not_a_member(what));
        }
        Ok((message, room.member_ids))
    }

    /// The room's access for `user_id`: members always, anyone for a public room.
    async fn require_access(&self, room_id: &str, user_id: &str, what: &str) -> DomainResult<RoomAccess> {
        let access = self.store.access(room_id, user_id).await?.ok_or_else(unknown_room)?;
        if !access.is_member && access.kind != RoomKind::Public {
            return Err(not_a_member(what));
        }
        Ok(access)
    }

    /// One room as a member sees it.
    async fn view_of(&self, user_id: &str, room_id: &str) -> DomainResult<ChatRoom> {
        self.store
            .rooms_of(user_id, Some(room_id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| DomainError::internal(&"a member's room is missing from their room list"))
    }
}

/// The devices of every member: their `user:` rooms, in one emit.
fn members_of(member_ids: &[String]) -> Audience {
    Audience::Rooms(member_ids.iter().map(|m| Room::User(m.clone())).collect())
}

fn typing_place(room_id: &str) -> String {
    format!("{TYPING_PLACE}{room_id}")
}

fn unknown_room() -> DomainError {
    DomainError::not_found("unknown chat room")
}

fn not_a_member(what: &str) -> DomainError {
    DomainError::forbidden(format!("only members {what} this room"))
}
