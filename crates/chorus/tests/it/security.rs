//! Origin policy of the handshakes (cross-site WebSocket hijacking).

use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::spawn_app_with;

async fn ws_handshake(addr: std::net::SocketAddr, origin: Option<&str>) -> Result<(), u16> {
    let mut req = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket").into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("unexpected handshake error: {e}"),
    }
}

#[tokio::test]
async fn only_allowed_origins_open_sockets_on_either_transport() {
    let app = spawn_app_with(|s| s.server.allowed_origins = "https://app.example".into()).await;
    assert_eq!(ws_handshake(app.addr, Some("https://app.example")).await, Ok(()));
    assert_eq!(ws_handshake(app.addr, Some("https://evil.example")).await, Err(403));
    assert_eq!(ws_handshake(app.addr, None).await, Ok(()), "native apps send no Origin");
    let polling = |origin: &'static str| {
        app.http.get(app.url("/socket.io/?EIO=4&transport=polling")).header("origin", origin).send()
    };
    assert_eq!(polling("https://evil.example").await.unwrap().status().as_u16(), 403);
    assert_eq!(polling("https://app.example").await.unwrap().status().as_u16(), 200);
    app.stop().await;
}

#[tokio::test]
async fn without_a_list_only_the_servers_own_origin_passes_and_missing_origins_can_be_refused() {
    let app = spawn_app_with(|s| s.server.allow_missing_origin = false).await;
    let own = format!("http://{}", app.addr);
    assert_eq!(ws_handshake(app.addr, Some(&own)).await, Ok(()));
    assert_eq!(ws_handshake(app.addr, Some("http://elsewhere.example")).await, Err(403));
    assert_eq!(ws_handshake(app.addr, None).await, Err(403));
    app.stop().await;
}
