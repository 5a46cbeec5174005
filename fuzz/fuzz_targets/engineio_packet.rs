//! Fuzzes what a client's frames go through before a command runs: Engine.IO packet
//! parsing (`engineioxide-core`), the vendored Socket.IO packet decoder
//! (`socketioxide-parser-common`, with Chorus's limits: 10 attachments, 10 s), the
//! event name and payload extraction the router uses, and the command parser.
//!
//! The input is a sequence of frames separated by 0xFF bytes (never valid UTF-8, so
//! never inside a text frame); a frame starting with 0x00 is a binary frame (the rest
//! of its bytes), any other a text frame. The frames share one parser state, as the
//! frames of one connection do. Invariant: no panic, whatever the frames.
#![no_main]

use std::time::Duration;

use bytes::Bytes;
use chorus::transport::commands::Command;
use chorus::transport::socket::connect::HandshakeAuth;
use engineioxide_core::{Packet as EioPacket, ProtocolVersion};
use libfuzzer_sys::fuzz_target;
use socketioxide_core::packet::PacketData;
use socketioxide_core::parser::{Parse, ParseConfig, ParserState};
use socketioxide_parser_common::CommonParser;

fn config() -> ParseConfig {
    let mut config = ParseConfig::default();
    config.max_incoming_binaries = 10;
    config.max_incoming_binary_buf_size = 1_000_000;
    config.packet_completion_timeout = Duration::from_secs(10);
    config
}

fn handle(data: PacketData) {
    let parser = CommonParser;
    match data {
        PacketData::Connect(Some(auth)) => {
            let _ = parser.decode_default::<Option<HandshakeAuth>>(Some(&auth));
        }
        PacketData::Event(mut value, _) | PacketData::BinaryEvent(mut value, _) => {
            let Ok(event) = parser.read_event(&value).map(str::to_owned) else { return };
            if let Ok(payload) = parser.decode_value::<serde_json::Value>(&mut value, true) {
                let _ = Command::parse(&event, payload);
            }
        }
        PacketData::EventAck(mut value, _) | PacketData::BinaryAck(mut value, _) => {
            let _ = parser.decode_value::<serde_json::Value>(&mut value, false);
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let config = config();
    let state = ParserState::default();
    for frame in data.split(|b| *b == 0xFF).take(32) {
        let decoded = match frame.split_first() {
            Some((0, bin)) => CommonParser.decode_bin(&config, &state, Bytes::copy_from_slice(bin)),
            _ => {
                let Ok(text) = std::str::from_utf8(frame) else { continue };
                match EioPacket::parse(ProtocolVersion::V4, text.to_owned()) {
                    Ok(EioPacket::Message(msg)) => CommonParser.decode_str(&config, &state, msg),
                    Ok(EioPacket::Binary(bin)) => CommonParser.decode_bin(&config, &state, bin),
                    _ => continue,
                }
            }
        };
        if let Ok(packet) = decoded {
            handle(packet.inner);
        }
    }
});
