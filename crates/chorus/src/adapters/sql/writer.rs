//! The write path. SQLite has one writer: concurrent writes queue here and run as
//! one transaction per batch (each in its own savepoint, so one failing write does
//! not undo the others); every caller is answered only after the batch commits.
//! PostgreSQL writes run directly, each in its own transaction.
//!
//! Chat messages, the hottest write, have a queue entry of their own: the batch's
//! messages are stored by one multi-row `INSERT` (`chat::insert_batch`). sqlx's SQLite
//! driver runs each connection on its own thread and every statement is a round trip
//! to it with a thread wake-up each way; with a statement plus a savepoint step per
//! message those hand-offs, not SQLite, capped the persisted rate (BENCHMARKS.md).

use futures_util::future::BoxFuture;
use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use std::sync::Arc;

use super::store_error;
use crate::lifecycle::{Stage, Tasks};
use crate::ports::chat_store::{MessageStored, NewMessage};
use crate::ports::outbox::{OutboxRouter, Tells, Told};
use crate::ports::store::{StoreError, StoreResult};

/// Largest number of writes committed together.
const MAX_BATCH: usize = 256;

/// A write: runs on a connection inside a transaction.
pub(crate) type WriteOp<T> = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, StoreResult<T>> + Send>;

/// Runs a type-erased write and returns the function that answers its caller once
/// the commit outcome is known.
type Finish = Box<dyn FnOnce(Option<&StoreError>) + Send>;
type ErasedJob = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, (bool, Finish)> + Send>;

/// A chat message waiting for its batch, the event it causes once stored (recorded in
/// the outbox by the same transaction), and who to answer once it is committed.
pub(crate) struct QueuedMessage {
    message: NewMessage,
    tells: Tells<MessageStored>,
    outbox: Arc<dyn OutboxRouter>,
    reply: oneshot::Sender<StoreResult<Told<MessageStored>>>,
}

pub(crate) enum Job {
    /// Any write: its own statements, in its own savepoint.
    Op(ErasedJob),
    /// A chat message, stored with the batch's other messages in one statement.
    Message(Box<QueuedMessage>),
}

pub(crate) enum WriteGate {
    Direct(AnyPool),
    Batched {
        /// Where writes queue for the writer task; taken at `close`.
        queue: parking_lot::Mutex<Option<mpsc::Sender<Job>>>,
        /// Resolves once the writer task has committed its last batch and ended.
        done: tokio::sync::Mutex<Option<oneshot::Receiver<()>>>,
        pool: AnyPool,
    },
}

impl WriteGate {
    pub(crate) fn direct(pool: AnyPool) -> Self {
        Self::Direct(pool)
    }

    /// Starts the writer task in the stores' shutdown stage of `tasks`.
    pub(crate) fn batched(pool: AnyPool, tasks: &Tasks) -> Self {
        let (tx, rx) = mpsc::channel::<Job>(4096);
        let (ended, done) = oneshot::channel::<()>();
        let writer = pool.clone();
        tasks.spawn_cooperative(Stage::Stores, "sql writer", move |stop| write_loop(writer, rx, stop, ended));
        Self::Batched { queue: parking_lot::Mutex::new(Some(tx)), done: tokio::sync::Mutex::new(Some(done)), pool }
    }

    /// Whether `insert_message` is available (the batched SQLite writer); otherwise
    /// messages are written with `run` like any other write.
    pub(crate) fn merges_messages(&self) -> bool {
        matches!(self, Self::Batched { .. })
    }

    /// Runs `op` in a transaction and returns its result once it is durable.
    pub(crate) async fn run<T: Send + 'static>(&self, op: WriteOp<T>) -> StoreResult<T> {
        match self {
            Self::Direct(pool) => {
                let mut tx = pool.begin().await.map_err(store_error)?;
                let out = op(&mut tx).await?;
                tx.commit().await.map_err(store_error)?;
                Ok(out)
            }
            Self::Batched { queue, .. } => {
                let (reply_tx, reply_rx) = oneshot::channel::<StoreResult<T>>();
                let job: ErasedJob = Box::new(move |conn| {
                    Box::pin(async move {
                        let result = op(conn).await;
                        let ok = result.is_ok();
                        let finish: Finish = Box::new(move |commit_error| {
                            let _ = reply_tx.send(after_commit(result, commit_error));
                        });
                        (ok, finish)
                    })
                });
                self.enqueue(queue, Job::Op(job)).await?;
                reply_rx.await.map_err(|_| StoreError::unavailable("writer stopped"))?
            }
        }
    }

    /// Stores a chat message in the next batch's multi-row insert (idempotent by
    /// `(sender, clientMsgId)`) and answers once it is durable. Only for the batched
    /// writer (`merges_messages`); a message that also adds its sender as a member
    /// goes through `run`.
    pub(crate) async fn insert_message(
        &self,
        message: NewMessage,
        tells: Tells<MessageStored>,
        outbox: Arc<dyn OutboxRouter>,
    ) -> StoreResult<Told<MessageStored>> {
        let Self::Batched { queue, .. } = self else {
            return Err(StoreError::failure("merged message inserts need the batched writer"));
        };
        let (reply, reply_rx) = oneshot::channel();
        self.enqueue(queue, Job::Message(Box::new(QueuedMessage { message, tells, outbox, reply }))).await?;
        reply_rx.await.map_err(|_| StoreError::unavailable("writer stopped"))?
    }

    async fn enqueue(&self, queue: &parking_lot::Mutex<Option<mpsc::Sender<Job>>>, job: Job) -> StoreResult<()> {
        let sender = queue.lock().clone().ok_or_else(|| StoreError::unavailable("store is closing"))?;
        sender.send(job).await.map_err(|_| StoreError::unavailable("store is closing"))
    }

    /// Stops taking writes, lets the queued ones commit, then closes the pool.
    pub(crate) async fn close(&self) {
        match self {
            Self::Direct(pool) => pool.close().await,
            Self::Batched { queue, done, pool } => {
                queue.lock().take();
                if let Some(done) = done.lock().await.take() {
                    // Answers once the writer has dropped its end: after its last commit.
                    let _ = done.await;
                }
                pool.close().await;
            }
        }
    }
}

/// A write's answer once its batch's commit outcome is known: a failed commit turns
/// success into `unavailable` (nothing of the batch is stored).
fn after_commit<T>(result: StoreResult<T>, commit_error: Option<&StoreError>) -> StoreResult<T> {
    match (result, commit_error) {
        (Ok(_), Some(e)) => Err(StoreError::Unavailable { context: "commit failed".into(), source: Some(std::sync::Arc::new(e.clone())) }),
        (r, _) => r,
    }
}

/// Commits queued writes batch by batch until the queue closes (`close`) or its stage
/// is stopped; either way the writes already queued are committed first, never dropped.
/// `_ended` is dropped when it returns, which is what `close` waits for.
async fn write_loop(pool: AnyPool, mut rx: mpsc::Receiver<Job>, stop: CancellationToken, _ended: oneshot::Sender<()>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    loop {
        let next = tokio::select! {
            biased;
            job = rx.recv() => job,
            () = stop.cancelled() => {
                // Take no new writes; what is queued still commits.
                rx.close();
                rx.recv().await
            }
        };
        let Some(first) = next else { return };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&pool, &mut batch).await;
    }
}

async fn run_batch(pool: &AnyPool, batch: &mut Vec<Job>) {
    let mut ops = Vec::new();
    let mut messages = Vec::new();
    for job in batch.drain(..) {
        match job {
            Job::Op(op) => ops.push(op),
            Job::Message(m) => messages.push(*m),
        }
    }
    let mut conn = match pool.acquire().await {
        Ok(c) => c,
        Err(e) => {
            fail_batch(ops, messages, &store_error(e));
            return;
        }
    };
    // One write alone needs no savepoint: its failure rolls the transaction back.
    // Otherwise each op runs inside a savepoint so a failure undoes only itself; the
    // savepoint statements travel in one round trip with their neighbours. The
    // messages' insert is one statement, atomic by itself, so it needs none.
    let single = ops.len() == 1 && messages.is_empty();
    let begin = if single || ops.is_empty() { "BEGIN IMMEDIATE" } else { "BEGIN IMMEDIATE; SAVEPOINT chorus_write" };
    if let Err(e) = conn.execute(begin).await {
        fail_batch(ops, messages, &store_error(e));
        return;
    }
    let mut finishes = Vec::with_capacity(ops.len());
    let mut all_ok = true;
    let count = ops.len();
    for (i, job) in ops.into_iter().enumerate() {
        let (ok, finish) = job(&mut conn).await;
        all_ok &= ok;
        finishes.push(finish);
        if single {
            continue;
        }
        let last = i + 1 == count;
        let step = match (ok, last) {
            (true, false) => "RELEASE chorus_write; SAVEPOINT chorus_write",
            (false, false) => "ROLLBACK TO chorus_write; RELEASE chorus_write; SAVEPOINT chorus_write",
            (true, true) => "RELEASE chorus_write",
            (false, true) => "ROLLBACK TO chorus_write; RELEASE chorus_write",
        };
        if let Err(e) = conn.execute(step).await {
            tracing::error!(error = %e, "savepoint handling failed");
        }
    }
    let mut new_messages = Vec::with_capacity(messages.len());
    let mut waiting = Vec::with_capacity(messages.len());
    for m in messages {
        new_messages.push(m.message);
        waiting.push((m.tells, m.outbox, m.reply));
    }
    let stored = super::chat::insert_batch(&mut conn, &new_messages).await;
    let (told, outbox) = tell_messages(&mut conn, waiting, stored).await;
    let commit = match outbox {
        // The outbox rows of stored messages could not be written: nothing of the
        // batch commits, so nothing stored goes untold.
        Err(e) => {
            let _ = conn.execute("ROLLBACK").await;
            Some(e)
        }
        Ok(_) => {
            let end = if single && !all_ok { "ROLLBACK" } else { "COMMIT" };
            let commit = conn.execute(end).await.err().map(store_error);
            if commit.is_some() {
                let _ = conn.execute("ROLLBACK").await;
            }
            commit
        }
    };
    for finish in finishes {
        finish(commit.as_ref());
    }
    let mut woken = false;
    for (reply, outbox, result) in told {
        if commit.is_none() && !woken && matches!(&result, Ok((_, true))) {
            outbox.recorded();
            woken = true;
        }
        let _ = reply.send(after_commit(result.map(|(told, _)| told), commit.as_ref()));
    }
}

type MessageReply = oneshot::Sender<StoreResult<Told<MessageStored>>>;
type ToldMessage = (MessageReply, Arc<dyn OutboxRouter>, StoreResult<(Told<MessageStored>, bool)>);

/// Decides the event of each message the batch stored and records the deliveries it
/// owes, inside the batch's transaction; an error when an outbox row failed.
async fn tell_messages(
    conn: &mut AnyConnection,
    waiting: Vec<(Tells<MessageStored>, Arc<dyn OutboxRouter>, MessageReply)>,
    stored: Vec<StoreResult<MessageStored>>,
) -> (Vec<ToldMessage>, StoreResult<()>) {
    let mut told = Vec::with_capacity(waiting.len());
    let mut outcome = Ok(());
    for ((tells, outbox, reply), result) in waiting.into_iter().zip(stored) {
        let result = match result {
            Ok(stored) if outcome.is_ok() => super::outbox::tell(conn, outbox.as_ref(), tells, stored).await,
            Ok(_) => Err(StoreError::unavailable("the batch's outbox rows were not written")),
            Err(e) => Err(e),
        };
        if let (Err(e), Ok(())) = (&result, &outcome)
            && !matches!(e, StoreError::Conflict { .. })
        {
            outcome = Err(e.clone());
        }
        told.push((reply, outbox, result));
    }
    (told, outcome)
}

/// Answers the writes of a batch that could not start.
fn fail_batch(ops: Vec<ErasedJob>, messages: Vec<QueuedMessage>, err: &StoreError) {
    tracing::error!(error = %err, "write batch could not start");
    // An op owns its reply channel: dropping it makes the caller see "writer stopped"
    // (the real cause is logged above). Messages are answered with the cause.
    drop(ops);
    for m in messages {
        let _ = m.reply.send(Err(err.clone()));
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{Executor, Row};

    #[tokio::test]
    async fn one_execute_runs_every_statement_of_the_string() {
        // The batch relies on this to send a savepoint's release and the next one together.
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("w.db").display());
        let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        conn.execute("CREATE TABLE t (x BIGINT); BEGIN IMMEDIATE; SAVEPOINT s; INSERT INTO t VALUES (1); RELEASE s; SAVEPOINT s; INSERT INTO t VALUES (2); ROLLBACK TO s; RELEASE s; COMMIT")
            .await
            .unwrap();
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM t").fetch_one(&mut *conn).await.unwrap().try_get("n").unwrap();
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn stopping_the_stores_stage_commits_the_queued_writes_before_the_writer_ends() {
        use std::sync::Arc;
        use std::time::Duration;

        use super::WriteGate;
        use crate::adapters::sql::execute;
        use crate::lifecycle::{Stage, Tasks};

        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
        let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        pool.execute("CREATE TABLE t (x BIGINT)").await.unwrap();
        let tasks = Tasks::new();
        let gate = Arc::new(WriteGate::batched(pool.clone(), &tasks));
        let writes: Vec<_> = (0..50_i64)
            .map(|i| {
                let gate = gate.clone();
                tokio::spawn(async move { gate.run(Box::new(move |conn| Box::pin(async move { execute(conn, "INSERT INTO t (x) VALUES ($1)", args![i]).await }))).await })
            })
            .collect();
        // Every write is queued (this runtime has one thread: the spawned tasks run now).
        tokio::task::yield_now().await;
        assert_eq!(tasks.stop(Stage::Stores, Duration::from_secs(5)).await, 0, "the writer ends once the queue is empty");
        for w in writes {
            assert_eq!(w.await.unwrap().unwrap(), 1, "a queued write is committed, not dropped");
        }
        let late = gate.run(Box::new(|conn| Box::pin(async move { execute(conn, "INSERT INTO t (x) VALUES (0)", Vec::new()).await }))).await;
        assert!(matches!(late, Err(crate::ports::store::StoreError::Unavailable { .. })), "{late:?}");
        gate.close().await;
        let reader = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM t").fetch_one(&reader).await.unwrap().try_get("n").unwrap();
        assert_eq!(n, 50);
    }
}
