//! Graceful shutdown of the command path: once the node starts stopping, new commands
//! are refused with `unavailable`, and the commands already running finish and send
//! their acks before the sockets are closed.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Counts running commands and refuses new ones while draining.
#[derive(Default)]
pub struct CommandGate {
    draining: AtomicBool,
    running: AtomicUsize,
    idle: Notify,
}

/// Held while one command runs.
pub struct CommandPass<'a> {
    gate: &'a CommandGate,
}

impl CommandGate {
    /// A pass for one command, or `None` once the node is shutting down.
    pub fn enter(&self) -> Option<CommandPass<'_>> {
        self.running.fetch_add(1, Ordering::AcqRel);
        if self.draining.load(Ordering::Acquire) {
            self.leave();
            return None;
        }
        Some(CommandPass { gate: self })
    }

    /// Refuses new commands and waits (at most `limit`) for the running ones.
    /// Returns how many were still running when the wait ended.
    pub async fn drain(&self, limit: Duration) -> usize {
        self.draining.store(true, Ordering::Release);
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let idle = self.idle.notified();
            let running = self.running.load(Ordering::Acquire);
            if running == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.running.load(Ordering::Acquire);
            }
        }
    }

    fn leave(&self) {
        if self.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }
}

impl Drop for CommandPass<'_> {
    fn drop(&mut self) {
        self.gate.leave();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::CommandGate;

    #[tokio::test]
    async fn draining_waits_for_running_commands_and_refuses_new_ones() {
        let gate = Arc::new(CommandGate::default());
        let running = gate.clone();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let command = tokio::spawn(async move {
            let _pass = running.enter();
            let _ = started_tx.send(());
            tokio::time::sleep(Duration::from_millis(100)).await;
        });
        started_rx.await.unwrap();
        assert_eq!(gate.drain(Duration::from_secs(5)).await, 0);
        assert!(command.is_finished());
        assert!(gate.enter().is_none());
    }

    #[tokio::test]
    async fn draining_gives_up_after_the_limit() {
        let gate = CommandGate::default();
        let _stuck = gate.enter();
        assert_eq!(gate.drain(Duration::from_millis(50)).await, 1);
    }
}
