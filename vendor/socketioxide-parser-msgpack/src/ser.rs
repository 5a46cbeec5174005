use bytes::BufMut;
use rmp::encode;
use socketioxide_core::{
    Value,
    packet::{Packet, PacketData},
};

/// Manual packet serialization.
pub fn serialize_packet(packet: Packet) -> Vec<u8> {
    let mut buff = Vec::new(); // TODO: with_capacity

    let map_len = get_packet_map_len(&packet);
    encode::write_map_len(&mut buff, map_len).unwrap();
    encode::write_str(&mut buff, "type").unwrap();
    encode::write_uint(&mut buff, packet.inner.index() as u64).unwrap();
    encode::write_str(&mut buff, "nsp").unwrap();
    encode::write_str(&mut buff, &packet.ns).unwrap();

    match packet.inner {
        PacketData::Event(Value::Bytes(data), id) => {
            encode::write_str(&mut buff, "data").unwrap();
            serialize_data(&data, &mut buff);
            if let Some(id) = id {
                serialize_id(&mut buff, id);
            }
        }
        PacketData::BinaryEvent(Value::Bytes(data), id) => {
            encode::write_str(&mut buff, "data").unwrap();
            serialize_data(&data, &mut buff);

            if let Some(id) = id {
                serialize_id(&mut buff, id);
            }
        }
        PacketData::EventAck(Value::Bytes(data), id) => {
            encode::write_str(&mut buff, "data").unwrap();
            serialize_data(&data, &mut buff);
            serialize_id(&mut buff, id);
        }
        PacketData::BinaryAck(Value::Bytes(data), id) => {
            encode::write_str(&mut buff, "data").unwrap();
            serialize_data(&data, &mut buff);
            serialize_id(&mut buff, id);
        }
        PacketData::Connect(Some(Value::Bytes(data))) => {
            encode::write_str(&mut buff, "data").unwrap();
            buff.put_slice(&data)
        }
        PacketData::ConnectError(data) => {
            encode::write_str(&mut buff, "data").unwrap();
            // Chorus patch: a message that is itself a JSON object `{"message": .., "data": ..}`
            // is written as the packet payload (as a msgpack map), so clients get `err.data`
            // (Socket.IO v5).
            if let Some(object) = error_object(&data) {
                buff.put_slice(&object);
            } else {
                encode::write_map_len(&mut buff, 1).unwrap();
                encode::write_str(&mut buff, "message").unwrap();
                encode::write_str(&mut buff, &data).unwrap();
            }
        }
        _ => (),
    };
    buff
}

/// Serialize event data in place to the following form: `[event, ...data]` if data is an array.
/// Or `[event, data]` if data is not an array.
/// ## Params:
/// - `event`: the event name
/// - `data`: preserialized msgpack data
/// - `buff`: a output buffer to write into
fn serialize_data(data: &[u8], buff: &mut Vec<u8>) {
    buff.put_slice(data)
}

/// Chorus patch: the msgpack form of a connect error message that is a JSON object with a
/// string `message` (the connect middleware's `{"message", "data"}`); `None` for any other
/// message, which is written as upstream does.
fn error_object(message: &str) -> Option<Vec<u8>> {
    if !message.starts_with('{') {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(message).ok()?;
    if !value.get("message").is_some_and(serde_json::Value::is_string) {
        return None;
    }
    rmp_serde::to_vec_named(&value).ok()
}

fn serialize_id(buff: &mut Vec<u8>, id: i64) {
    encode::write_str(buff, "id").unwrap();
    encode::write_sint(buff, id).unwrap();
}

fn get_packet_map_len(packet: &Packet) -> u32 {
    2 + match packet.inner {
        PacketData::Connect(Some(_)) => 1,
        PacketData::Connect(None) => 0,
        PacketData::Disconnect => 0,
        PacketData::Event(_, Some(_)) | PacketData::BinaryEvent(_, Some(_)) => 2,
        PacketData::Event(_, None) | PacketData::BinaryEvent(_, None) => 1,
        PacketData::EventAck(_, _) | PacketData::BinaryAck(_, _) => 2,
        PacketData::ConnectError(_) => 1,
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use ::bytes::Bytes;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    const BIN: Bytes = Bytes::from_static(&[1, 2, 3, 4]);
    #[derive(Serialize, Deserialize)]
    struct StubPacket<T: serde::Serialize> {
        r#type: usize,
        nsp: &'static str,
        data: T,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<i64>,
    }

    fn packet(
        r#type: usize,
        nsp: &'static str,
        data: impl serde::Serialize,
        id: Option<i64>,
    ) -> Vec<u8> {
        rmp_serde::to_vec_named(&StubPacket {
            r#type,
            nsp,
            id,
            data,
        })
        .unwrap()
    }

    fn to_value(value: impl serde::Serialize) -> Value {
        Value::Bytes(rmp_serde::to_vec_named(&value).unwrap().into())
    }

    #[test]
    fn serialize_packet_event() {
        let data = serialize_packet(Packet {
            ns: "/test".into(),
            inner: PacketData::Event(to_value(("test_event", vec![1, 2, 3])), Some(42)),
        });
        assert_eq!(
            data,
            packet(2, "/test", ("test_event", vec![1, 2, 3]), Some(42))
        );
    }

    #[test]
    fn serialize_packet_binary_event() {
        let data = serialize_packet(Packet {
            ns: "/binary".into(),
            inner: PacketData::BinaryEvent(to_value(("bin_event", 1, 2, 3, BIN, BIN)), Some(99)),
        });
        assert_eq!(
            data,
            packet(5, "/binary", ("bin_event", 1, 2, 3, BIN, BIN), Some(99))
        );
    }

    #[test]
    fn serialize_packet_event_ack() {
        let data = serialize_packet(Packet {
            ns: "/ack".into(),
            inner: PacketData::EventAck(to_value([vec![4, 5, 6]]), 100),
        });
        assert_eq!(data, packet(3, "/ack", (vec![4, 5, 6],), Some(100)));
    }

    #[test]
    fn serialize_packet_connect_error() {
        let data = serialize_packet(Packet {
            ns: "/error".into(),
            inner: PacketData::ConnectError("Error message".into()),
        });
        assert_eq!(
            data,
            packet(4, "/error", json!({ "message": "Error message" }), None)
        );
    }

    #[test]
    fn serialize_packet_connect_error_with_data() {
        let message = r#"{"message":"unauthorized","data":{"code":"auth_expired"}}"#;
        let data = serialize_packet(Packet {
            ns: "/".into(),
            inner: PacketData::ConnectError(message.into()),
        });
        assert_eq!(
            data,
            packet(4, "/", json!({ "message": "unauthorized", "data": { "code": "auth_expired" } }), None)
        );
    }

    #[test]
    fn serialize_packet_connect_error_text_that_is_not_an_error_object() {
        for message in [r#"{"data":1}"#, r#"{"message":5}"#, "{not json", "[1]"] {
            let data = serialize_packet(Packet {
                ns: "/".into(),
                inner: PacketData::ConnectError(message.into()),
            });
            assert_eq!(data, packet(4, "/", json!({ "message": message }), None), "{message}");
        }
    }

    #[test]
    fn serialize_packet_ack() {
        let data = serialize_packet(Packet {
            ns: "/ack".into(),
            inner: PacketData::EventAck(to_value((1, 2, "test")), 132),
        });
        assert_eq!(data, packet(3, "/ack", (1, 2, "test"), Some(132)));
    }

    #[test]
    fn serialize_packet_ack_binary() {
        let data = serialize_packet(Packet {
            ns: "/ack".into(),
            inner: PacketData::BinaryAck(to_value((1, 2, "test", BIN)), 132),
        });
        assert_eq!(data, packet(6, "/ack", (1, 2, "test", BIN), Some(132)));
    }
}
