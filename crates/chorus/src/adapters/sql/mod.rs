//! The SQL store: one implementation over sqlx's `Any` driver, for SQLite (the embedded
//! default, WAL, group commit through a single writer) and PostgreSQL (a pool; each
//! write is its own transaction). Both dialects accept `$n` placeholders.
//!
//! The shapes every store method is written in live here: [`transaction!`] for a write,
//! [`execute`] for one statement, [`update_then_read`] and [`write_then_read`] for a
//! write that answers with what it changed, and `reactions::toggle_row` for a row a
//! user turns on and off (likes, reactions).

/// Runs `body` as one durable write and evaluates to its result once committed: a
/// transaction of its own on PostgreSQL, a savepoint in the writer's next batch on
/// SQLite. `conn` names the write's `&mut AnyConnection`; what the body uses is moved
/// in, so the caller clones what it borrows first.
macro_rules! transaction {
    ($store:expr, |$conn:ident| $body:expr) => {
        $store.write.run(Box::new(move |$conn| Box::pin(async move { $body }))).await
    };
}

/// Runs `body` as one durable write that causes an event, like [`transaction!`]: the
/// body evaluates to the write's outcome, `tells` turns it into the event inside the
/// transaction, and the deliveries the event owes are recorded with the change
/// (`outbox::tell`). Evaluates to `StoreResult<Told<_>>` once committed.
macro_rules! telling {
    ($store:expr, $tells:expr, |$conn:ident| $body:expr) => {{
        let router = $store.outbox.clone();
        let tells = $tells;
        let told = $store
            .write
            .run(Box::new(move |$conn| {
                Box::pin(async move {
                    let outcome = async {
                        let $conn: &mut sqlx::AnyConnection = &mut *$conn;
                        $body
                    }
                    .await?;
                    $crate::adapters::sql::outbox::tell($conn, router.as_ref(), tells, outcome).await
                })
            }))
            .await;
        if let Ok((_, true)) = &told {
            $store.outbox.recorded();
        }
        told.map(|(told, _)| told)
    }};
}

/// The values of one statement, in placeholder order: `args![id.clone(), at.millis()]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::adapters::sql::Arg::from($value)),*]
    };
}

mod chat;
mod chat_cache;
mod collab;
mod content;
mod live;
mod outbox;
mod reactions;
mod sanctions;
mod social;
mod users;
mod wallet;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Executor};

use tokio_util::sync::CancellationToken;

use crate::lifecycle::{Stage, Tasks};
use crate::ports::outbox::{NoOutbox, OutboxRouter};
use crate::ports::store::{StoreCause, StoreError};
use writer::WriteGate;

/// A value bound to a statement run by [`execute`] or `SqlStore::write_one`.
pub(crate) enum Arg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bytes(Vec<u8>),
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}

impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Self::Text(v.clone())
    }
}

impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Self::OptText(v)
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Self::OptInt(v)
    }
}

impl From<Vec<u8>> for Arg {
    fn from(v: Vec<u8>) -> Self {
        Self::Bytes(v)
    }
}

/// `query` with `args` bound in order.
pub(crate) fn bind_all<'q>(mut query: Query<'q, Any, AnyArguments<'q>>, args: Vec<Arg>) -> Query<'q, Any, AnyArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Text(v) => query.bind(v),
            Arg::OptText(v) => query.bind(v),
            Arg::Int(v) => query.bind(v),
            Arg::OptInt(v) => query.bind(v),
            Arg::Bytes(v) => query.bind(v),
        };
    }
    query
}

/// Runs one statement on `conn` (inside the caller's write): how many rows it changed.
pub(crate) async fn execute(conn: &mut AnyConnection, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
    Ok(bind_all(sqlx::query(sql), args).execute(conn).await.map_err(store_error)?.rows_affected())
}

/// An update that answers with the updated thing: runs `sql` and, when it changed a
/// row, reads the result with `read` in the same transaction; `None` when nothing
/// matched (an unknown id, a condition that did not hold).
pub(crate) async fn update_then_read<T>(
    conn: &mut AnyConnection,
    sql: &str,
    args: Vec<Arg>,
    read: impl AsyncFnOnce(&mut AnyConnection) -> Result<Option<T>, StoreError>,
) -> Result<Option<T>, StoreError> {
    if execute(&mut *conn, sql, args).await? == 0 {
        return Ok(None);
    }
    read(conn).await
}

/// A write that answers with the row it wrote: runs `sql`, then reads the result with
/// `read` in the same transaction, where it cannot be missing (if it is, the store is
/// broken: `what` names the thing in the failure).
pub(crate) async fn write_then_read<T>(
    conn: &mut AnyConnection,
    sql: &str,
    args: Vec<Arg>,
    what: &str,
    read: impl AsyncFnOnce(&mut AnyConnection) -> Result<Option<T>, StoreError>,
) -> Result<T, StoreError> {
    execute(&mut *conn, sql, args).await?;
    read(conn).await?.ok_or_else(|| vanished(what))
}

/// A row this transaction wrote and could not read back.
pub(crate) fn vanished(what: &str) -> StoreError {
    StoreError::failure(format!("{what} vanished inside its own transaction"))
}

/// Which database the URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Storage of every area, over one database.
#[derive(Clone)]
pub struct SqlStore {
    read: AnyPool,
    write: Arc<WriteGate>,
    dialect: Dialect,
    /// `chat:send`'s reads, kept in memory; SQLite only (see `chat_cache`).
    chat_cache: Option<Arc<chat_cache::SendContextCache>>,
    /// Which deliveries an event owes (`ports::outbox`); none unless `with_outbox`.
    outbox: Arc<dyn OutboxRouter>,
}

impl SqlStore {
    /// Connects, creating a missing SQLite file, and applies the migrations. Its
    /// background tasks (SQLite's writer and checkpoints) start in the stores' stage of
    /// `tasks`; `close` still commits every queued write before the pools close.
    pub async fn connect(url: &str, tasks: &Tasks) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(StoreError::failure(format!(
                "unsupported database url scheme (use sqlite:// or postgres://): {}",
                url.split(':').next().unwrap_or_default()
            )));
        };
        match dialect {
            Dialect::Sqlite => Self::connect_sqlite(url, tasks).await,
            Dialect::Postgres => Self::connect_postgres(url).await,
        }
    }

    async fn connect_sqlite(url: &str, tasks: &Tasks) -> Result<Self, StoreError> {
        let url = with_create_mode(url);
        let options = AnyConnectOptions::from_str(&url)
            .map_err(unavailable)?
            .disable_statement_logging();
        // Durability: WAL with synchronous=FULL fsyncs each commit; the writer batches
        // concurrent writes into one commit, so the fsync is paid per batch.
        // A SQLite connection is a local file with no link to lose, and sqlx's ping is
        // a round trip to the connection's thread: skip it on every acquire.
        let writer = AnyPoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode=WAL").await?;
                    conn.execute("PRAGMA synchronous=FULL").await?;
                    conn.execute("PRAGMA busy_timeout=5000").await?;
                    // The writer's inserts touch index pages all over the b-trees: a
                    // 64 MiB page cache (default 2 MiB) keeps them off the disk reads.
                    conn.execute("PRAGMA cache_size=-65536").await?;
                    // Checkpoints run beside the writer (`checkpoint_loop`), not inside
                    // its commits where they stalled every caller of the batch; this
                    // higher threshold is only the fallback if that loop falls behind.
                    conn.execute(format!("PRAGMA wal_autocheckpoint={FALLBACK_AUTOCHECKPOINT_PAGES}").as_str()).await?;
                    Ok(())
                })
            })
            .connect_with(options.clone())
            .await
            .map_err(unavailable)?;
        run_migrations(&writer, Dialect::Sqlite).await?;
        let read = AnyPoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA busy_timeout=5000").await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        let checkpoints = read.clone();
        tasks.spawn_cooperative(Stage::Stores, "sqlite checkpoints", move |stop| checkpoint_loop(checkpoints, stop));
        Ok(Self {
            read,
            write: Arc::new(WriteGate::batched(writer, tasks)),
            dialect: Dialect::Sqlite,
            chat_cache: Some(Arc::default()),
            outbox: Arc::new(NoOutbox),
        })
    }

    async fn connect_postgres(url: &str) -> Result<Self, StoreError> {
        let options = AnyConnectOptions::from_str(url).map_err(unavailable)?.disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            // While PostgreSQL is unreachable a command fails with `unavailable` after
            // this long instead of hanging; connections are checked before use, so a
            // restarted server's dead connections are replaced, not handed out.
            .acquire_timeout(Duration::from_secs(3))
            .test_before_acquire(true)
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        run_migrations(&pool, Dialect::Postgres).await?;
        Ok(Self {
            read: pool.clone(),
            write: Arc::new(WriteGate::direct(pool)),
            dialect: Dialect::Postgres,
            chat_cache: None,
            outbox: Arc::new(NoOutbox),
        })
    }

    /// Records the deliveries `router` says each event owes, in the transaction of the
    /// write that causes it (webhooks).
    pub fn with_outbox(mut self, router: Arc<dyn OutboxRouter>) -> Self {
        self.outbox = router;
        self
    }

    /// Runs one statement as a durable write (group-committed like every write) and
    /// returns how many rows it changed: the shape of most single-statement writes.
    pub(crate) async fn write_one(&self, sql: &'static str, args: Vec<Arg>) -> Result<u64, StoreError> {
        transaction!(self, |conn| execute(conn, sql, args).await)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Waits for queued writes and closes the pools (graceful shutdown).
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// WAL pages past which the writer checkpoints inside its own commit (SQLite's
/// default is 1,000); normally `checkpoint_loop` keeps the WAL far below it.
const FALLBACK_AUTOCHECKPOINT_PAGES: u32 = 20_000;

/// How often `checkpoint_loop` copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies committed WAL frames into the database file on a read connection, beside the
/// writer: a PASSIVE checkpoint takes no write lock, so commits go on meanwhile.
/// Durability does not depend on it (each commit fsyncs the WAL); it keeps the WAL,
/// and so reads, small. Ends when the pool closes or its stage is stopped (never in
/// the middle of a checkpoint).
async fn checkpoint_loop(read: AnyPool, stop: CancellationToken) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        if read.is_closed() {
            return;
        }
        if let Err(e) = read.execute("PRAGMA wal_checkpoint(PASSIVE)").await {
            if read.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

async fn run_migrations(pool: &AnyPool, dialect: Dialect) -> Result<(), StoreError> {
    let migrator = match dialect {
        Dialect::Sqlite => sqlx::migrate!("migrations/sqlite"),
        Dialect::Postgres => sqlx::migrate!("migrations/postgres"),
    };
    migrator.run(pool).await.map_err(|e| StoreError::Failure { context: "migrations failed".into(), source: Some(Arc::new(e)) })
}

/// `sqlite://file.db` opens read-write and creates the file when it is missing.
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Maps a sqlx error to the port's error, separating outages (the database is down,
/// restarting or unreachable: the client may retry) from failures.
/// A driver error as a store error, kept as its source: an outage is `Unavailable`, a
/// unique violation `Conflict` (with the constraint's name), anything else `Failure`.
pub(crate) fn store_error(e: sqlx::Error) -> StoreError {
    let outage = match &e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| is_outage_state(&code)),
        _ => false,
    };
    let conflict = match &e {
        sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation => {
            Some(db.constraint().unwrap_or("a unique key").to_owned())
        }
        _ => None,
    };
    let context = e.to_string();
    let source: StoreCause = Arc::new(e);
    match conflict {
        Some(constraint) => StoreError::Conflict { constraint, source },
        None if outage => StoreError::Unavailable { context, source: Some(source) },
        None => StoreError::Failure { context, source: Some(source) },
    }
}

/// PostgreSQL SQLSTATEs of an outage rather than a bad statement: connection
/// exceptions (08…), shutdown and crash recovery (57P01–57P03), too many connections
/// and other resource exhaustion (53…).
fn is_outage_state(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03") || code.starts_with("53")
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable { context: e.to_string(), source: Some(Arc::new(e)) }
}

#[cfg(test)]
mod tests {
    use super::{StoreError, store_error};

    /// Makes a unique violation on `pool` and maps it.
    async fn duplicate_key_error(pool: &sqlx::AnyPool, table: &str) -> StoreError {
        use sqlx::Executor;
        let mut conn = pool.acquire().await.unwrap();
        conn.execute(format!("CREATE TEMPORARY TABLE {table} (id TEXT, CONSTRAINT {table}_id_key UNIQUE (id))").as_str()).await.unwrap();
        conn.execute(format!("INSERT INTO {table} (id) VALUES ('a')").as_str()).await.unwrap();
        let e = conn.execute(format!("INSERT INTO {table} (id) VALUES ('a')").as_str()).await.unwrap_err();
        store_error(e)
    }

    fn assert_conflict_keeps_its_cause(e: &StoreError, constraint: Option<&str>) {
        let StoreError::Conflict { constraint: named, .. } = e else { panic!("not a conflict: {e:?}") };
        if let Some(c) = constraint {
            assert_eq!(named, c);
        }
        let cause = std::error::Error::source(e).expect("the driver's error is kept as the source");
        assert!(cause.to_string().to_lowercase().contains("unique"), "{cause}");
        assert!(e.chain().contains(&cause.to_string()), "{}", e.chain());
        let refusal = crate::domain::error::DomainError::from(e.clone());
        assert_eq!(refusal.code, crate::domain::error::ErrorCode::Conflict);
    }

    #[tokio::test]
    async fn a_unique_violation_is_a_conflict_that_keeps_its_cause_on_sqlite() {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
        assert_conflict_keeps_its_cause(&duplicate_key_error(&pool, "dup_sqlite").await, None);
    }

    #[tokio::test]
    async fn a_unique_violation_is_a_conflict_that_names_its_constraint_on_postgres() {
        sqlx::any::install_default_drivers();
        let url = std::env::var("CHORUS_TEST_PG_ADMIN_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL is required at {url} (scripts/ensure-services.sh): {e}"));
        assert_conflict_keeps_its_cause(&duplicate_key_error(&pool, "dup_pg").await, Some("dup_pg_id_key"));
    }

    #[test]
    fn a_missing_row_has_no_driver_cause() {
        let e = StoreError::failure("row vanished");
        assert!(std::error::Error::source(&e).is_none());
        assert_eq!(e.chain(), "store failure: row vanished");
    }

    #[test]
    fn outage_states_are_told_from_bad_statements() {
        assert!(super::is_outage_state("08006"));
        assert!(super::is_outage_state("57P01"));
        assert!(super::is_outage_state("53300"));
        assert!(!super::is_outage_state("23505"));
        assert!(!super::is_outage_state("42P01"));
    }

    use super::with_create_mode;

    #[test]
    fn sqlite_urls_get_create_mode_unless_they_choose_one() {
        assert_eq!(with_create_mode("sqlite://a.db"), "sqlite://a.db?mode=rwc");
        assert_eq!(with_create_mode("sqlite://a.db?x=1"), "sqlite://a.db?x=1&mode=rwc");
        assert_eq!(with_create_mode("sqlite://a.db?mode=ro"), "sqlite://a.db?mode=ro");
    }
}
