//! Cleanup after a dead node. A node killed with SIGKILL never closes its sockets, so
//! its viewers, socket counts and online users would stay in Redis for good. Every
//! node's heartbeat task looks for registered nodes whose heartbeat expired; one
//! survivor claims each dead node (SET NX) and removes what it held, in batches. The
//! dead node's users with no socket elsewhere enter the grace period; the presence
//! tick of whichever node takes them from the grace set then announces them offline.

use std::time::Duration;

use super::node::ClusterNode;
use super::scripts;
use crate::domain::time::Timestamp;

/// Connections removed per script call (keeps each call short for Redis).
const BATCH: usize = 200;
/// How long one janitor holds its claim on a dead node.
const CLAIM_FOR: Duration = Duration::from_secs(30);

/// Sweeps every dead node this node can claim. Returns the viewer rooms whose counts
/// changed. Errors end the pass quietly: the next heartbeat tries again.
pub async fn sweep_dead_nodes(node: &ClusterNode) -> Vec<String> {
    let keys = &node.keys;
    let mut conn = node.link.conn();
    let nodes_key = keys.nodes();
    let Some(nodes) = node
        .call("janitor", async move { redis::cmd("SMEMBERS").arg(nodes_key).query_async::<Vec<String>>(&mut conn).await })
        .await
    else {
        return Vec::new();
    };
    let mut changed = Vec::new();
    for dead in nodes.iter().filter(|n| n.as_str() != node.id()) {
        let mut conn = node.link.conn();
        let alive_key = keys.node_alive(dead);
        let alive = node
            .call("janitor", async move { redis::cmd("EXISTS").arg(alive_key).query_async::<bool>(&mut conn).await })
            .await;
        if alive != Some(false) || !claim(node, dead).await {
            continue;
        }
        tracing::info!(dead, "a node stopped heartbeating: removing its connections from the cluster state");
        if let Some(rooms) = sweep(node, dead).await {
            changed.extend(rooms);
        }
    }
    changed.sort();
    changed.dedup();
    changed
}

async fn claim(node: &ClusterNode, dead: &str) -> bool {
    let mut conn = node.link.conn();
    let key = node.keys.janitor_claim(dead);
    let me = node.id().to_owned();
    let ms = CLAIM_FOR.as_millis() as u64;
    node.call("janitor", async move {
        redis::cmd("SET").arg(key).arg(me).arg("NX").arg("PX").arg(ms).query_async::<Option<String>>(&mut conn).await
    })
    .await
    .flatten()
    .is_some()
}

/// Removes one dead node's state; `None` if Redis failed or the node came back.
async fn sweep(node: &ClusterNode, dead: &str) -> Option<Vec<String>> {
    let keys = &node.keys;
    let deadline = Timestamp::now().plus_millis(node.timing.grace.as_millis() as i64).millis();
    let mut rooms = Vec::new();
    loop {
        let mut inv = scripts::SWEEP_DEAD_NODE.prepare_invoke();
        inv.key(keys.node_alive(dead))
            .key(keys.node_sessions(dead))
            .key(keys.node_viewing(dead))
            .key(keys.node_addresses(dead))
            .arg(keys.state_prefix())
            .arg(dead)
            .arg(deadline)
            .arg(BATCH);
        let mut conn = node.link.conn();
        let (work, touched): (i64, Vec<String>) =
            node.call("janitor", async move { inv.invoke_async(&mut conn).await }).await?;
        if work < 0 {
            tracing::info!(dead, "the node came back: cleanup stopped");
            return None;
        }
        rooms.extend(touched);
        if work == 0 {
            break;
        }
    }
    let mut inv = scripts::FORGET_NODE.prepare_invoke();
    inv.key(keys.node_alive(dead)).key(keys.nodes()).key(keys.janitor_claim(dead)).arg(dead);
    let mut conn = node.link.conn();
    node.call("janitor", async move { inv.invoke_async::<i64>(&mut conn).await }).await?;
    Some(rooms)
}
