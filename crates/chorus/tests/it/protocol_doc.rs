//! docs/protocol.md and the code name the same client commands and server events: a
//! command table row for each command the router parses and no row for one it does
//! not, an event table row for each event the native encoder (or the socket door) can
//! send and none for one it cannot; and the generated contract (`/asyncapi.json`, the
//! TypeScript typings) names exactly those commands and events.

use std::collections::BTreeSet;

use chorus::transport::contract::Contract;

/// The event names in the first column of every table whose header starts with
/// `| {first_column} ` in the document.
fn first_column_names(doc: &str, first_column: &str) -> BTreeSet<String> {
    let header = format!("| {first_column} ");
    let mut names = BTreeSet::new();
    let mut in_table = false;
    for line in doc.lines() {
        if line.starts_with(&header) {
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        let first = line.split('|').nth(1).unwrap_or_default();
        // The spans between pairs of backticks: every other piece of the split.
        let quoted = first.split('`').enumerate().filter_map(|(i, piece)| (i % 2 == 1).then_some(piece));
        for quoted in quoted {
            // Event names: `area:name`, and the one bare `error`.
            if (quoted.contains(':') || quoted == "error") && !quoted.contains(' ') {
                names.insert(quoted.to_owned());
            }
        }
    }
    names
}

fn protocol_md() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md")).unwrap()
}

/// Fails with both differences named.
fn assert_same(code: &BTreeSet<String>, doc: &BTreeSet<String>, what: &str, code_side: &str) {
    let undocumented: Vec<_> = code.difference(doc).collect();
    let unknown: Vec<_> = doc.difference(code).collect();
    assert!(undocumented.is_empty(), "{what} with no row in a docs/protocol.md table: {undocumented:?}");
    assert!(unknown.is_empty(), "docs/protocol.md tables name {what} that {code_side} lacks: {unknown:?}");
}

#[test]
fn the_command_tables_of_protocol_md_name_exactly_the_commands_the_router_parses() {
    let documented = first_column_names(&protocol_md(), "command");
    let parsed: BTreeSet<String> = chorus::transport::commands::names().map(str::to_owned).collect();
    assert_same(&parsed, &documented, "commands", "the router");
}

#[test]
fn the_event_tables_of_protocol_md_name_exactly_the_events_the_server_sends() {
    let documented = first_column_names(&protocol_md(), "event");
    let sent: BTreeSet<String> = chorus::adapters::wire::native::events().map(|e| e.name.to_owned()).collect();
    assert_same(&sent, &documented, "events", "the native encoder");
}

#[test]
fn the_generated_contract_names_every_command_and_event_once() {
    let contract = Contract::build();
    let commands: Vec<&str> = contract.commands.iter().map(|c| c.name).collect();
    let events: Vec<&str> = contract.events.iter().map(|e| e.name).collect();
    assert_eq!(commands.len(), commands.iter().collect::<BTreeSet<_>>().len(), "a command twice: {commands:?}");
    assert_eq!(events.len(), events.iter().collect::<BTreeSet<_>>().len(), "an event twice: {events:?}");
    assert_eq!(commands.iter().copied().collect::<BTreeSet<_>>(), chorus::transport::commands::names().collect::<BTreeSet<_>>());

    let doc = protocol_md();
    let documented_commands = first_column_names(&doc, "command");
    let documented_events = first_column_names(&doc, "event");
    let asyncapi = contract.asyncapi();
    let messages = asyncapi["components"]["messages"].as_object().unwrap();
    let named = |prefix: &str| -> BTreeSet<String> {
        messages.iter().filter(|(id, _)| id.starts_with(prefix)).map(|(_, m)| m["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_same(&named("command."), &documented_commands, "AsyncAPI commands", "the AsyncAPI document");
    assert_same(&named("ack."), &documented_commands, "AsyncAPI acks", "the AsyncAPI document");
    assert_same(&named("event."), &documented_events, "AsyncAPI events", "the AsyncAPI document");

    let typings = contract.typescript();
    for name in documented_commands.iter().chain(&documented_events) {
        let key = if name == "error" { "  error: ".to_owned() } else { format!("  \"{name}\": ") };
        assert!(typings.contains(&key), "index.d.ts lacks {name}");
    }
}

#[test]
fn every_schema_the_contract_refers_to_is_defined() {
    let contract = Contract::build();
    let text = serde_json::to_string(&contract.asyncapi()).unwrap();
    let mut missing = BTreeSet::new();
    for piece in text.split("\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap();
        if !contract.schemas.contains_key(name) && name != "AckFailure" {
            missing.insert(name.to_owned());
        }
    }
    assert!(missing.is_empty(), "schemas referred to but not defined: {missing:?}");
}
