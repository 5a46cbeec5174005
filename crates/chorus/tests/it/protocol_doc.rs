//! docs/protocol.md and the code name the same client commands: a command table row for
//! each command the router parses, and no row for one it does not.

use std::collections::BTreeSet;

/// The event names in the first column of every `| command | …` table of the document.
fn documented_commands(doc: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_table = false;
    for line in doc.lines() {
        if line.starts_with("| command ") {
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
            if quoted.contains(':') && !quoted.contains(' ') {
                names.insert(quoted.to_owned());
            }
        }
    }
    names
}

#[test]
fn the_command_tables_of_protocol_md_name_exactly_the_commands_the_router_parses() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md")).unwrap();
    let documented = documented_commands(&doc);
    let parsed: BTreeSet<String> = chorus::transport::commands::names().map(str::to_owned).collect();
    let undocumented: Vec<_> = parsed.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&parsed).collect();
    assert!(undocumented.is_empty(), "commands with no row in a docs/protocol.md command table: {undocumented:?}");
    assert!(unknown.is_empty(), "docs/protocol.md command tables name commands the router does not parse: {unknown:?}");
}
