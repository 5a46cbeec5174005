//! The tick task: coalesced broadcasts, ranking refreshes, typing expiry and token
//! expiry, once per tick, until shutdown. In a cluster each tick first swaps dirty
//! marks with the other nodes, so every node's coalesced updates cover changes made
//! anywhere (see `ports::dirty`).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::adapters::wire::native::session::AuthExpired;
use crate::adapters::wire::native::wire;
use crate::ports::dirty::DirtyMarks;
use crate::ports::publisher::{Audience, ConnectionId};
use crate::state::App;

/// Runs until `stop` is cancelled; a tick in progress is finished first.
pub async fn run_ticks(app: App, stop: CancellationToken) {
    let mut tick = tokio::time::interval(app.settings.content.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    loop {
        ticks += 1;
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => break,
        }
        exchange_marks(&app).await;
        app.content_counts.flush().await;
        app.rankings.flush().await;
        app.content.expire_typing().await;
        app.chat.expire_typing().await;
        app.presence.expire_grace().await;
        app.location.expire().await;
        app.calls.expire_ringing().await;
        app.live_streams.tick().await;
        disconnect_expired(&app).await;
        // Once a minute or so: rate-limit buckets that filled up again are forgotten.
        if ticks.is_multiple_of(ticks_per_minute(app.settings.content.tick)) {
            app.limits.forget_idle();
        }
    }
}

/// Ticks in a minute, at least one.
fn ticks_per_minute(tick: Duration) -> u64 {
    let per_minute = Duration::from_secs(60).as_millis() / tick.as_millis().max(1);
    u64::try_from(per_minute).unwrap_or(u64::MAX).max(1)
}

/// Sends the marks made here since the last tick to the other nodes (one message) and
/// takes in theirs. On a single node the local marks are already pending: dropped here.
async fn exchange_marks(app: &App) {
    let mut mine = DirtyMarks::default();
    app.content_counts.share_into(&mut mine);
    app.rankings.share_into(&mut mine);
    app.live_streams.share_into(&mut mine);
    let Some(bus) = &app.dirty else { return };
    bus.send(&mine).await;
    let theirs = bus.take_received();
    if theirs.is_empty() {
        return;
    }
    app.content_counts.absorb(&theirs);
    app.rankings.absorb(&theirs);
    app.live_streams.absorb(&theirs).await;
}

async fn disconnect_expired(app: &App) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for sid in app.expiry.due(now) {
        tracing::debug!(%sid, "token expired: disconnecting");
        let connection = ConnectionId(sid.to_string());
        let (name, payload) = wire(&AuthExpired {});
        app.publisher.publish(Audience::Connection(connection.clone()), name, payload).await;
        app.publisher.disconnect(&connection);
    }
}
