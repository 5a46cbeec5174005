//! The Socket.IO server itself: its engine settings, and the adapter that carries room
//! broadcasts (in-process on a single node; the Redis adapter of socketioxide-redis,
//! over the node's `RedisLink`, in cluster mode). The adapter type is fixed here, so
//! the rest of Chorus sees only the `EventPublisher` port.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use socketioxide::adapter::LocalAdapter;
use socketioxide::{ParserConfig, SocketIo, SocketIoBuilder};
use socketioxide_redis::{CustomRedisAdapter, RedisAdapterConfig, RedisAdapterCtr};

use crate::adapters::redis::adapter_driver::LinkDriver;
use crate::adapters::redis::link::RedisLink;
use crate::adapters::socketio_publisher::SocketIoPublisher;
use crate::adapters::wire::dialect::census::DialectCensus;
use crate::config::{PacketParser, Settings};
use crate::ports::publisher::EventPublisher;
use crate::state::App;

/// The Redis adapter over our reconnecting driver.
type ClusterAdapter = CustomRedisAdapter<socketioxide::adapter::Emitter, LinkDriver>;
type Mount = Box<dyn FnOnce(App, Router) -> Pin<Box<dyn Future<Output = anyhow::Result<Router>> + Send>> + Send>;

/// A Socket.IO server, built but not yet mounted on the HTTP router.
pub struct SocketDoor {
    pub publisher: Arc<dyn EventPublisher>,
    mount: Mount,
}

impl SocketDoor {
    /// Builds the server; cluster mode when a Redis link is given.
    pub fn build(settings: &Settings, redis: Option<&RedisLink>, census: Arc<DialectCensus>) -> Self {
        let builder = configured(settings);
        match redis {
            None => {
                let (layer, io) = builder.build_layer();
                let publisher = Arc::new(SocketIoPublisher::new(io.clone(), census, false));
                let mount: Mount = Box::new(move |app, router| {
                    Box::pin(async move {
                        super::connect::register(&io, app);
                        Ok(router.layer(layer))
                    })
                });
                Self { publisher, mount }
            }
            Some(link) => {
                let config = RedisAdapterConfig::new()
                    .with_prefix(format!("{}-socket.io", settings.cluster.redis_prefix))
                    .with_request_timeout(Duration::from_secs(2));
                let ctr = RedisAdapterCtr::new_with_driver(LinkDriver::new(link.clone()), config);
                let (layer, io) = builder.with_adapter::<ClusterAdapter>(ctr).build_layer();
                let publisher = Arc::new(SocketIoPublisher::new(io.clone(), census, true));
                let mount: Mount = Box::new(move |app, router| {
                    Box::pin(async move {
                        // Subscribes the namespace's channels before the node serves.
                        super::connect::register(&io, app)
                            .await
                            .map_err(|e| anyhow::anyhow!("starting the Redis adapter: {e}"))?;
                        Ok(router.layer(layer))
                    })
                });
                Self { publisher, mount }
            }
        }
    }

    /// Registers the namespace handlers and mounts the Socket.IO layer on `router`.
    pub async fn mount(self, app: App, router: Router) -> anyhow::Result<Router> {
        (self.mount)(app, router).await
    }
}

/// Engine and parser settings shared by both adapters.
fn configured(settings: &Settings) -> SocketIoBuilder<LocalAdapter> {
    let max_payload = settings.server.max_payload_bytes;
    let builder = SocketIo::builder()
        .ping_interval(settings.server.ping_interval)
        .ping_timeout(settings.server.ping_timeout)
        .connect_timeout(settings.server.connect_timeout)
        .max_payload(max_payload)
        .ws_max_message_size(max_payload as usize)
        .ws_max_frame_size(max_payload as usize)
        .max_buffer_size(settings.server.socket_buffer_packets.max(16))
        .ws_read_buffer_size(settings.server.ws_read_buffer_bytes.max(256));
    match settings.server.parser {
        // Chorus takes no binary payloads; a few small attachments are tolerated
        // (clients may send them), more close the connection.
        PacketParser::Json => builder.with_parser(
            ParserConfig::common()
                .max_incoming_binaries(10)
                .max_incoming_binary_buf_size(max_payload as usize)
                .packet_completion_timeout(Duration::from_secs(10)),
        ),
        // Binary travels inside the packet, bounded by `max_payload_bytes` alone, and is
        // refused where the payload is read (payload.rs).
        PacketParser::Msgpack => builder.with_parser(ParserConfig::msgpack()),
    }
}
