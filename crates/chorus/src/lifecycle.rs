//! Background tasks: each is started by name through one registry, in one of the
//! shutdown stages, and shutdown stops the stages in a known order, logged: the tick
//! first (it publishes), then, once the doors have closed every socket, the publishers,
//! then the writers, and the stores last (what the others write goes through them).

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// When a task stops at shutdown, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The tick and what follows other nodes' changes into this node's caches: stopped
    /// first, before the doors drain, so nothing new is published while sockets close.
    Ticks,
    /// Delivery of events to this node's sockets (the event log's follower, its outbox,
    /// the dirty-mark bus, the node heartbeat, feed fan-outs): stopped once every socket
    /// is closed.
    Publishers,
    /// Writes that trail a command (session records of the event log).
    Writers,
    /// The connections to the stores (SQLite's writer and its WAL checkpoints, the
    /// Redis link's probe): stopped last; the writer commits what is queued before it
    /// ends.
    Stores,
}

impl Stage {
    const ALL: [Stage; 4] = [Stage::Ticks, Stage::Publishers, Stage::Writers, Stage::Stores];

    fn index(self) -> usize {
        match self {
            Self::Ticks => 0,
            Self::Publishers => 1,
            Self::Writers => 2,
            Self::Stores => 3,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Ticks => "ticks",
            Self::Publishers => "publishers",
            Self::Writers => "writers",
            Self::Stores => "stores",
        }
    }
}

/// The tasks of one stage and the token that asks them to stop.
#[derive(Default)]
struct StageTasks {
    tracker: TaskTracker,
    stop: CancellationToken,
}

/// The registry every background task is started through.
#[derive(Default)]
pub struct Tasks {
    stages: [StageTasks; 4],
}

impl Tasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts `task` in `stage`. It runs until it ends by itself or its stage is
    /// stopped, whichever comes first (then it is dropped at its next await).
    pub fn spawn<F>(&self, stage: Stage, name: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let StageTasks { tracker, stop } = &self.stages[stage.index()];
        let stop = stop.clone();
        tracker.spawn(async move {
            tokio::select! {
                () = task => tracing::debug!(task = name, "background task ended"),
                () = stop.cancelled() => tracing::debug!(task = name, "background task stopped"),
            }
        });
    }

    /// Starts a task that watches its stage's stop token itself and ends at a point of
    /// its choosing (the tick finishes the tick it is in).
    pub fn spawn_cooperative<F, Fut>(&self, stage: Stage, name: &'static str, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let StageTasks { tracker, stop } = &self.stages[stage.index()];
        let run = task(stop.clone());
        tracker.spawn(async move {
            run.await;
            tracing::debug!(task = name, "background task ended");
        });
    }

    /// A token that turns cancelled when `stage` is stopped.
    pub fn stop_token(&self, stage: Stage) -> CancellationToken {
        self.stages[stage.index()].stop.clone()
    }

    /// Stops the tasks of `stage` and waits (at most `limit`) for them to end; returns
    /// how many were still running when the wait ended.
    pub async fn stop(&self, stage: Stage, limit: Duration) -> usize {
        let StageTasks { tracker, stop } = &self.stages[stage.index()];
        let running = tracker.len();
        stop.cancel();
        tracker.close();
        let left = match tokio::time::timeout(limit, tracker.wait()).await {
            Ok(()) => 0,
            Err(_) => tracker.len(),
        };
        if left > 0 {
            tracing::warn!(stage = stage.name(), running, left, "background tasks did not stop in time");
        } else {
            tracing::info!(stage = stage.name(), tasks = running, "background tasks stopped");
        }
        left
    }

    /// Stops every stage not stopped yet, in order (for a start-up that failed, or a
    /// shutdown that skipped some).
    pub async fn stop_all(&self, limit: Duration) {
        for stage in Stage::ALL {
            if !self.stages[stage.index()].stop.is_cancelled() {
                self.stop(stage, limit).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn stages_stop_in_the_order_asked_and_a_stopped_task_is_dropped() {
        let tasks = Tasks::new();
        let stopped = Arc::new(AtomicUsize::new(0));
        struct CountOnDrop(Arc<AtomicUsize>);
        impl Drop for CountOnDrop {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        for stage in [Stage::Ticks, Stage::Publishers] {
            let guard = CountOnDrop(stopped.clone());
            tasks.spawn(stage, "forever", async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
        }
        tasks.spawn(Stage::Stores, "short", async {});
        assert_eq!(tasks.stop(Stage::Ticks, Duration::from_secs(1)).await, 0);
        assert_eq!(stopped.load(Ordering::SeqCst), 1, "only the tick stage stopped");
        assert!(!tasks.stop_token(Stage::Publishers).is_cancelled());
        tasks.stop_all(Duration::from_secs(1)).await;
        assert_eq!(stopped.load(Ordering::SeqCst), 2);
        assert!(tasks.stop_token(Stage::Stores).is_cancelled());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_task_that_will_not_stop_is_counted_after_the_limit() {
        let tasks = Tasks::new();
        let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = started.clone();
        tasks.spawn(Stage::Writers, "stubborn", async move {
            flag.store(true, Ordering::SeqCst);
            // Reaches no await the stop could drop it at in time.
            std::thread::sleep(Duration::from_millis(300));
        });
        while !started.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        assert_eq!(tasks.stop(Stage::Writers, Duration::from_millis(50)).await, 1);
    }
}
