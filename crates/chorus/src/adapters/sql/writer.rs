//! The write path. SQLite has one writer: concurrent writes queue here and run as
//! one transaction per batch (each in its own savepoint, so one failing write does
//! not undo the others); every caller is answered only after the batch commits.
//! PostgreSQL writes run directly, each in its own transaction.

use futures_util::future::BoxFuture;
use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{mpsc, oneshot};

use super::store_error;
use crate::ports::store::{StoreError, StoreResult};

/// Largest number of writes committed together.
const MAX_BATCH: usize = 256;

/// A write: runs on a connection inside a transaction.
pub(crate) type WriteOp<T> = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, StoreResult<T>> + Send>;

/// Runs a type-erased write and returns the function that answers its caller once
/// the commit outcome is known.
type Finish = Box<dyn FnOnce(Option<&StoreError>) + Send>;
type ErasedJob = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, (bool, Finish)> + Send>;

pub(crate) enum WriteGate {
    Direct(AnyPool),
    Batched { queue: parking_lot::Mutex<Option<mpsc::Sender<ErasedJob>>>, done: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>, pool: AnyPool },
}

impl WriteGate {
    pub(crate) fn direct(pool: AnyPool) -> Self {
        Self::Direct(pool)
    }

    pub(crate) fn batched(pool: AnyPool) -> Self {
        let (tx, rx) = mpsc::channel::<ErasedJob>(4096);
        let task = tokio::spawn(write_loop(pool.clone(), rx));
        Self::Batched { queue: parking_lot::Mutex::new(Some(tx)), done: tokio::sync::Mutex::new(Some(task)), pool }
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
                            let answer = match (result, commit_error) {
                                (Ok(_), Some(e)) => Err(StoreError::Unavailable(format!("commit failed: {e}"))),
                                (r, _) => r,
                            };
                            let _ = reply_tx.send(answer);
                        });
                        (ok, finish)
                    })
                });
                let sender = queue.lock().clone().ok_or_else(|| StoreError::Unavailable("store is closing".into()))?;
                sender.send(job).await.map_err(|_| StoreError::Unavailable("store is closing".into()))?;
                reply_rx.await.map_err(|_| StoreError::Unavailable("writer stopped".into()))?
            }
        }
    }

    /// Stops taking writes, lets the queued ones commit, then closes the pool.
    pub(crate) async fn close(&self) {
        match self {
            Self::Direct(pool) => pool.close().await,
            Self::Batched { queue, done, pool } => {
                queue.lock().take();
                if let Some(task) = done.lock().await.take() {
                    let _ = task.await;
                }
                pool.close().await;
            }
        }
    }
}

async fn write_loop(pool: AnyPool, mut rx: mpsc::Receiver<ErasedJob>) {
    let mut batch: Vec<ErasedJob> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
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

async fn run_batch(pool: &AnyPool, batch: &mut Vec<ErasedJob>) {
    let mut conn = match pool.acquire().await {
        Ok(c) => c,
        Err(e) => {
            let err = store_error(e);
            for job in batch.drain(..) {
                fail_job(job, &err);
            }
            return;
        }
    };
    // One write alone needs no savepoint: its failure rolls the transaction back.
    // Several share one transaction, each inside a savepoint so a failure undoes only
    // itself; the savepoint statements travel in one round trip with their neighbours.
    let single = batch.len() == 1;
    let begin = if single { "BEGIN IMMEDIATE" } else { "BEGIN IMMEDIATE; SAVEPOINT chorus_write" };
    if let Err(e) = conn.execute(begin).await {
        let err = store_error(e);
        for job in batch.drain(..) {
            fail_job(job, &err);
        }
        return;
    }
    let mut finishes = Vec::with_capacity(batch.len());
    let mut all_ok = true;
    let count = batch.len();
    for (i, job) in batch.drain(..).enumerate() {
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
    let end = if single && !all_ok { "ROLLBACK" } else { "COMMIT" };
    let commit = conn.execute(end).await.err().map(store_error);
    if commit.is_some() {
        let _ = conn.execute("ROLLBACK").await;
    }
    for finish in finishes {
        finish(commit.as_ref());
    }
}

/// Answers a job that never ran because the batch could not start.
fn fail_job(job: ErasedJob, err: &StoreError) {
    // The job owns the reply channel; dropping it makes the caller see "writer stopped",
    // so log the real cause here.
    tracing::error!(error = %err, "write batch could not start");
    drop(job);
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
}
