//! How audiences and rooms are written into Redis (stream entries, session records):
//! compact JSON, read back into the port's types on every node.

use serde::{Deserialize, Serialize};

use crate::ports::publisher::{Audience, ConnectionId, Room};

#[derive(Serialize, Deserialize)]
enum WireRoom {
    #[serde(rename = "u")]
    User(String),
    #[serde(rename = "c")]
    Content(String),
    #[serde(rename = "s")]
    Stream(String),
    #[serde(rename = "h")]
    Chat(String),
    #[serde(rename = "f")]
    Feed(String),
    #[serde(rename = "d")]
    Collab(String),
    #[serde(rename = "b")]
    Battle(String),
    #[serde(rename = "p")]
    Presence(String),
    #[serde(rename = "k")]
    Ranking(String, u32),
    #[serde(rename = "n")]
    Channel(String),
}

#[derive(Serialize, Deserialize)]
enum WireAudience {
    #[serde(rename = "r")]
    Room(WireRoom),
    #[serde(rename = "rs")]
    Rooms(Vec<WireRoom>),
    #[serde(rename = "rx")]
    RoomExcept(WireRoom, String),
    #[serde(rename = "c")]
    Connection(String),
    #[serde(rename = "all")]
    Everyone,
}

impl From<&Room> for WireRoom {
    fn from(room: &Room) -> Self {
        match room.clone() {
            Room::User(id) => Self::User(id),
            Room::Content(id) => Self::Content(id),
            Room::Stream(id) => Self::Stream(id),
            Room::Chat(id) => Self::Chat(id),
            Room::Feed(id) => Self::Feed(id),
            Room::Collab(id) => Self::Collab(id),
            Room::Battle(id) => Self::Battle(id),
            Room::Presence(id) => Self::Presence(id),
            Room::Ranking { scope, limit } => Self::Ranking(scope, limit),
            Room::Channel(name) => Self::Channel(name),
        }
    }
}

impl From<WireRoom> for Room {
    fn from(room: WireRoom) -> Self {
        match room {
            WireRoom::User(id) => Self::User(id),
            WireRoom::Content(id) => Self::Content(id),
            WireRoom::Stream(id) => Self::Stream(id),
            WireRoom::Chat(id) => Self::Chat(id),
            WireRoom::Feed(id) => Self::Feed(id),
            WireRoom::Collab(id) => Self::Collab(id),
            WireRoom::Battle(id) => Self::Battle(id),
            WireRoom::Presence(id) => Self::Presence(id),
            WireRoom::Ranking(scope, limit) => Self::Ranking { scope, limit },
            WireRoom::Channel(name) => Self::Channel(name),
        }
    }
}

pub fn encode_audience(to: &Audience) -> String {
    let wire = match to {
        Audience::Room(r) => WireAudience::Room(r.into()),
        Audience::Rooms(rs) => WireAudience::Rooms(rs.iter().map(Into::into).collect()),
        Audience::RoomExcept(r, c) => WireAudience::RoomExcept(r.into(), c.0.clone()),
        Audience::Connection(c) => WireAudience::Connection(c.0.clone()),
        Audience::Everyone => WireAudience::Everyone,
    };
    serde_json::to_string(&wire).unwrap_or_default()
}

pub fn decode_audience(text: &str) -> Option<Audience> {
    Some(match serde_json::from_str::<WireAudience>(text).ok()? {
        WireAudience::Room(r) => Audience::Room(r.into()),
        WireAudience::Rooms(rs) => Audience::Rooms(rs.into_iter().map(Into::into).collect()),
        WireAudience::RoomExcept(r, c) => Audience::RoomExcept(r.into(), ConnectionId(c)),
        WireAudience::Connection(c) => Audience::Connection(ConnectionId(c)),
        WireAudience::Everyone => Audience::Everyone,
    })
}

pub fn encode_rooms(rooms: &[Room]) -> String {
    serde_json::to_string(&rooms.iter().map(WireRoom::from).collect::<Vec<_>>()).unwrap_or_default()
}

pub fn decode_rooms(text: &str) -> Vec<Room> {
    serde_json::from_str::<Vec<WireRoom>>(text).map(|rs| rs.into_iter().map(Into::into).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_round_trip() {
        let all = [
            Audience::Room(Room::Ranking { scope: "tag:a:b".into(), limit: 10 }),
            Audience::Rooms(vec![Room::User("u".into()), Room::Presence("p".into())]),
            Audience::RoomExcept(Room::Chat("c".into()), ConnectionId("sid".into())),
            Audience::Connection(ConnectionId("sid".into())),
            Audience::Everyone,
        ];
        for a in all {
            assert_eq!(decode_audience(&encode_audience(&a)), Some(a));
        }
        let rooms = vec![Room::Content("v".into()), Room::Collab("d".into())];
        assert_eq!(decode_rooms(&encode_rooms(&rooms)), rooms);
    }
}
