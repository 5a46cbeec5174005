//! The contract, generated: every client command with its payload and ack, and every
//! server event with its payload and rooms, read from the same tables and Rust types
//! the server runs on (`transport/commands` for commands and acks, the native encoder's
//! `native_events!` tables for events). Two renderings: the AsyncAPI 3.0 document
//! served at `GET /asyncapi.json` (`asyncapi.rs`) and the TypeScript typings for
//! socket.io-client committed under `clients/typescript/` (`typescript.rs`), written by
//! `chorus contract`.
//!
//! The JSON Schemas come from schemars: payloads as the server reads them (its
//! deserialize contract: a field with a default is optional), acks and events as it
//! writes them (its serialize contract: an `Option` is present and may be `null`).

pub mod asyncapi;
pub mod typescript;

use std::collections::BTreeMap;

use schemars::generate::{Contract as SchemaContract, SchemaSettings};
use serde_json::{Map, Value, json};

use crate::adapters::wire::native::{self, EventSpec};
use crate::adapters::wire::native::session::AckError;
use crate::transport::commands::{self, CommandKind};

/// Where the shared schemas live in the AsyncAPI document; `$ref`s point there.
pub const SCHEMAS_PATH: &str = "/components/schemas";

/// One client command.
#[derive(Debug, Clone)]
pub struct CommandContract {
    /// The Socket.IO event name.
    pub name: &'static str,
    pub summary: String,
    /// The schema of the payload the client sends.
    pub payload: Value,
    /// The schema of the `data` of a successful ack.
    pub ack: Value,
    /// Whether a guest may send it.
    pub guests: bool,
    /// Whether it posts text, so a muted sender is refused.
    pub posts_text: bool,
}

/// One server event.
#[derive(Debug, Clone)]
pub struct EventContract {
    /// The Socket.IO event name.
    pub name: &'static str,
    pub summary: String,
    /// The schema of its payload, without `seq`.
    pub payload: Value,
    /// The rooms (or `everyone`, `connection`) it goes to.
    pub rooms: Vec<&'static str>,
    /// A coalesced snapshot, sent by each node each tick.
    pub coalesced: bool,
    /// Carries `seq`.
    pub sequenced: bool,
}

/// Every command and event, and the schemas they name.
#[derive(Debug, Clone)]
pub struct Contract {
    pub commands: Vec<CommandContract>,
    pub events: Vec<EventContract>,
    /// Named schemas, by name; `$ref`s are `#/components/schemas/{name}`.
    pub schemas: BTreeMap<String, Value>,
}

impl Contract {
    /// Builds the contract from the command tables and the native event tables.
    pub fn build() -> Self {
        let settings = |contract: SchemaContract| {
            SchemaSettings::draft07().with(|s| {
                s.definitions_path = SCHEMAS_PATH.into();
                s.contract = contract;
                s.meta_schema = None;
            })
        };
        let mut reading = settings(SchemaContract::Deserialize).into_generator();
        let mut writing = settings(SchemaContract::Serialize).into_generator();

        let mut commands: Vec<CommandContract> = commands::all()
            .map(|kind: CommandKind| CommandContract {
                name: kind.name(),
                summary: kind.summary(),
                payload: kind.payload_schema(&mut reading).to_value(),
                ack: kind.ack_schema(&mut writing).to_value(),
                guests: kind.policy().guests,
                posts_text: kind.policy().posts_text,
            })
            .collect();
        let events: Vec<EventContract> = native::events()
            .map(|spec: &EventSpec| EventContract {
                name: spec.name,
                summary: spec.summary.iter().map(|line| line.trim()).collect::<Vec<_>>().join(" "),
                payload: (spec.schema)(&mut writing).to_value(),
                rooms: spec.rooms.to_vec(),
                coalesced: spec.coalesced,
                sequenced: spec.sequenced,
            })
            .collect();
        // The failed ack's `error`, shared by every command.
        writing.subschema_for::<AckError<'static>>();

        let mut schemas: BTreeMap<String, Value> = writing.take_definitions(true).into_iter().collect();
        // A type read and written alike is one schema; one whose two contracts differ
        // (an optional field with a default) keeps its written name, and its read form
        // is `{name}Input`.
        let mut renamed = BTreeMap::new();
        for (name, schema) in reading.take_definitions(true) {
            match schemas.get(&name) {
                Some(written) if *written == schema => {}
                Some(_) => {
                    renamed.insert(name.clone(), format!("{name}Input"));
                    schemas.insert(format!("{name}Input"), schema);
                }
                None => {
                    schemas.insert(name, schema);
                }
            }
        }
        if !renamed.is_empty() {
            for command in &mut commands {
                rename_refs(&mut command.payload, &renamed);
            }
            for name in renamed.values() {
                if let Some(schema) = schemas.get_mut(name) {
                    rename_refs(schema, &renamed);
                }
            }
        }
        Self { commands, events, schemas }
    }

    /// The AsyncAPI 3.0 document.
    pub fn asyncapi(&self) -> Value {
        asyncapi::document(self)
    }

    /// `index.d.ts` of `clients/typescript/`.
    pub fn typescript(&self) -> String {
        typescript::declarations(self)
    }
}

/// The generated files of `clients/typescript/`, by file name: the typings and, for
/// reading and diffing, the AsyncAPI document that `/asyncapi.json` serves.
pub fn files() -> Vec<(&'static str, String)> {
    let contract = Contract::build();
    vec![("index.d.ts", contract.typescript()), ("asyncapi.json", asyncapi_text(&contract))]
}

/// The AsyncAPI document as served and committed: pretty JSON with a final newline.
pub fn asyncapi_text(contract: &Contract) -> String {
    let mut text = serde_json::to_string_pretty(&contract.asyncapi()).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes `files()` into `dir` (created when missing); returns the paths written.
pub fn write_files(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    files()
        .into_iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text).map(|()| path)
        })
        .collect()
}

/// The `$ref` to a named schema.
pub fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#{SCHEMAS_PATH}/{name}") })
}

/// The name a `$ref` points to, if it is one of ours.
pub fn ref_name(reference: &str) -> Option<&str> {
    reference.strip_prefix('#')?.strip_prefix(SCHEMAS_PATH)?.strip_prefix('/')
}

/// Rewrites `$ref`s to the schemas in `renamed` (old name to new) inside `schema`.
fn rename_refs(schema: &mut Value, renamed: &BTreeMap<String, String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref")
                && let Some(new) = ref_name(reference).and_then(|name| renamed.get(name))
            {
                *reference = format!("#{SCHEMAS_PATH}/{new}");
            }
            for value in map.values_mut() {
                rename_refs(value, renamed);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rename_refs(item, renamed)),
        _ => {}
    }
}

/// The payload schema of `event` as it reaches a client: with `seq` when sequenced.
pub fn delivered_payload(event: &EventContract) -> Value {
    if !event.sequenced {
        return event.payload.clone();
    }
    let mut seq = Map::new();
    seq.insert(
        "seq".into(),
        json!({
            "type": "integer",
            "description": "The event's place in the deployment-wide order (docs/protocol.md §1.1); keep the highest for resume.",
        }),
    );
    json!({ "allOf": [event.payload, { "type": "object", "properties": seq }] })
}
