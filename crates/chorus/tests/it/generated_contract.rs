//! The committed contract in `clients/typescript/` is what the code generates now, and
//! the server serves the same AsyncAPI document at `/asyncapi.json`.

use crate::support::spawn_app;

fn committed(name: &str) -> String {
    let path = format!("{}/../../clients/typescript/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_committed_typings_and_asyncapi_document_are_the_generated_ones() {
    for (name, generated) in chorus::transport::contract::files() {
        let committed = committed(name);
        if committed != generated {
            let first = committed.lines().zip(generated.lines()).position(|(a, b)| a != b).unwrap_or(committed.lines().count());
            panic!(
                "clients/typescript/{name} is stale (first difference at line {}): run `cargo run -p chorus -- contract` and commit the result",
                first + 1
            );
        }
    }
}

#[tokio::test]
async fn asyncapi_json_is_served_and_is_the_committed_document() {
    let app = spawn_app().await;
    let res = app.http.get(app.url("/asyncapi.json")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body = res.text().await.unwrap();
    assert_eq!(body, committed("asyncapi.json"));
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["asyncapi"], "3.0.0");
    app.stop().await;
}
