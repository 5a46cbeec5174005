//! A client event's payload as a JSON value, whichever parser carried it (`parser`).
//! The JSON parser gives serde exactly what `serde_json::Value` reads. Msgpack adds two
//! kinds of value that JSON lacks. The first is binary, which is refused as with the JSON
//! parser's attachments: no command takes it. The second is extension types. The
//! official `socket.io-msgpack-parser` (notepack.io) writes three things as extension
//! type 0: `undefined` (one zero byte), a `Date` (eight bytes) and an `ArrayBuffer` or
//! typed array (its bytes). `undefined` is read as `null`, which is what the JSON
//! parser's `JSON.stringify` makes of an `undefined` argument or array item (both drop
//! `undefined` object fields). The rest is refused: binary as binary, and a `Date`,
//! which JSON would have sent as its ISO string, which the client should then send
//! itself. serde does not say which msgpack header an extension came with, so a
//! one-byte `ArrayBuffer` holding 0 reads as `null` too.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// `undefined` as `socket.io-msgpack-parser` (notepack.io) writes it: `fixext 1` of
/// extension type 0, holding one zero byte.
const UNDEFINED: (i8, &[u8]) = (0, &[0]);

/// A payload decoded by either parser into the JSON value the commands read.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload(pub Value);

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PayloadVisitor).map(Payload)
    }
}

/// `serde_json::Value`'s own reading, plus the msgpack-only kinds.
struct PayloadVisitor;

impl<'de> Visitor<'de> for PayloadVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // NaN and the infinities have no JSON form; serde_json reads them as null too.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Value, S::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(Payload(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Value, M::Error> {
        let mut fields = Map::new();
        while let Some((key, Payload(value))) = map.next_entry::<String, Payload>()? {
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Value, E> {
        Err(E::custom("binary data is not accepted"))
    }

    /// rmp_serde hands a msgpack extension over as a newtype of `(type, data)`.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        let Extension(kind, data) = Extension::deserialize(deserializer)?;
        match (kind, data.as_slice()) {
            UNDEFINED => Ok(Value::Null),
            (0, _) => Err(de::Error::custom("a Date or binary data is not accepted")),
            _ => Err(de::Error::custom(format_args!("msgpack extension type {kind} is not accepted"))),
        }
    }
}

/// A msgpack extension: its type and its bytes.
struct Extension(i8, Vec<u8>);

impl<'de> Deserialize<'de> for Extension {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExtensionVisitor;
        impl<'de> Visitor<'de> for ExtensionVisitor {
            type Value = Extension;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a msgpack extension")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Extension, S::Error> {
                let kind = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let ExtensionData(data) = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
                Ok(Extension(kind, data))
            }
        }
        deserializer.deserialize_any(ExtensionVisitor)
    }
}

/// The bytes of an extension.
struct ExtensionData(Vec<u8>);

impl<'de> Deserialize<'de> for ExtensionData {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl Visitor<'_> for BytesVisitor {
            type Value = ExtensionData;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the bytes of a msgpack extension")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<ExtensionData, E> {
                Ok(ExtensionData(v.to_vec()))
            }
        }
        deserializer.deserialize_bytes(BytesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use bytes::Bytes;
    use serde_json::json;
    use socketioxide_core::Value as Packet;
    use socketioxide_core::parser::Parse;
    use socketioxide_parser_common::CommonParser;
    use socketioxide_parser_msgpack::MsgPackParser;

    use super::*;

    /// The payload of an event packet `[event, payload]`, read as the router reads it
    /// (`TryData<Payload>`: the first argument after the event name).
    fn read<P: Parse>(parser: P, mut packet: Packet) -> Result<Value, String> {
        parser.decode_value::<Payload>(&mut packet, true).map(|p| p.0).map_err(|e| e.to_string())
    }

    fn msgpack_event(bytes: &[u8]) -> Packet {
        Packet::Bytes(Bytes::copy_from_slice(bytes))
    }

    #[test]
    fn a_payload_reads_the_same_with_either_parser() {
        let payload = json!({
            "contentId": "video-1", "like": true, "n": -3, "big": 9_007_199_254_740_991u64, "ratio": 0.25,
            "tags": ["a", null, {"deep": [1, 2]}], "none": null, "text": "é😀",
        });
        for (name, packet) in [
            ("json", CommonParser.encode_value(&payload, Some("content:like")).unwrap()),
            ("msgpack", MsgPackParser.encode_value(&payload, Some("content:like")).unwrap()),
        ] {
            let json_reads = matches!(packet, Packet::Str(..));
            let read = if json_reads { read(CommonParser, packet) } else { read(MsgPackParser, packet) };
            assert_eq!(read, Ok(payload.clone()), "{name}");
        }
    }

    #[test]
    fn msgpack_undefined_reads_as_null_as_json_stringify_makes_it() {
        // emit("ev", undefined) as socket.io-msgpack-parser writes it: fixarray 2, "ev",
        // fixext 1 of type 0 holding a zero byte.
        assert_eq!(read(MsgPackParser, msgpack_event(&[0x92, 0xa2, b'e', b'v', 0xd4, 0x00, 0x00])), Ok(Value::Null));
        // emit("ev", {list: [1, undefined]})
        let list = [0x92, 0xa2, b'e', b'v', 0x81, 0xa4, b'l', b'i', b's', b't', 0x92, 0x01, 0xd4, 0x00, 0x00];
        assert_eq!(read(MsgPackParser, msgpack_event(&list)), Ok(json!({"list": [1, null]})));
    }

    #[test]
    fn binary_is_refused_with_either_parser_and_other_extensions_with_msgpack() {
        // emit("ev", {id: <bin 1 2 3>})
        let bin = [0x92, 0xa2, b'e', b'v', 0x81, 0xa2, b'i', b'd', 0xc4, 3, 1, 2, 3];
        assert!(read(MsgPackParser, msgpack_event(&bin)).is_err_and(|e| e.contains("binary data is not accepted")));
        let attachment = Packet::Str(
            r#"["ev",{"id":{"_placeholder":true,"num":0}}]"#.to_owned().into(),
            Some(VecDeque::from([Bytes::from_static(&[1, 2, 3])])),
        );
        assert!(read(CommonParser, attachment).is_err_and(|e| e.contains("binary data is not accepted")));
        // emit("ev", new Date(1)) and emit("ev", new Uint8Array([1, 2])), as notepack.io writes them.
        let date = [0x92, 0xa2, b'e', b'v', 0xd7, 0x00, 0, 0, 0, 0, 0, 0, 0, 1];
        assert!(read(MsgPackParser, msgpack_event(&date)).is_err_and(|e| e.contains("a Date or binary data is not accepted")));
        let array = [0x92, 0xa2, b'e', b'v', 0xc7, 2, 0x00, 1, 2];
        assert!(read(MsgPackParser, msgpack_event(&array)).is_err_and(|e| e.contains("a Date or binary data is not accepted")));
        // emit("ev", <timestamp extension, type -1>), as other encoders write a Date.
        let date = [0x92, 0xa2, b'e', b'v', 0xd6, 0xff, 0, 0, 0, 1];
        assert!(read(MsgPackParser, msgpack_event(&date)).is_err_and(|e| e.contains("msgpack extension type -1 is not accepted")));
        // emit("ev", {1: 2}): a map key that is not a string.
        assert!(read(MsgPackParser, msgpack_event(&[0x92, 0xa2, b'e', b'v', 0x81, 0x01, 0x02])).is_err());
    }
}
