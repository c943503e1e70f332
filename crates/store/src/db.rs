//! The database: SQLite (embedded default) or PostgreSQL, picked by the URL.
//!
//! Both speak the same SQL here (integers for money and time, `$n` placeholders,
//! `ON CONFLICT` upserts), so one set of queries serves both through sqlx's `Any` driver;
//! one schema in `migrations/` fits both (SQLite reads `BIGINT` as an integer). Only bulk
//! writes and id lists take each backend's own fastest form (`bulk`).

pub mod bulk;
pub mod parameters;
pub mod profile;
pub mod transaction;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Pools of connections to the dashboard's database, migrated and ready.
#[derive(Clone, Debug)]
pub struct Db {
    /// For reads (and on PostgreSQL for writes too).
    pub pool: AnyPool,
    /// For writes: on SQLite a pool of one connection, so that the process's writers queue
    /// in order (the pool is fair) instead of racing for SQLite's lock, where the busy
    /// handler's polling lets a writer starve past the busy timeout and the lock idle
    /// between turns. On PostgreSQL the same pool as `pool`.
    writer: AnyPool,
}

/// The least a command-line job waits for a database connection.
pub const COMMAND_LINE_ACQUIRE: Duration = Duration::from_secs(30);

/// How long the database may keep a request waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DbTimeouts {
    /// Waiting for a connection, including connecting: while PostgreSQL is down, requests
    /// fail after this long.
    pub acquire: Duration,
    /// The longest a statement may run on PostgreSQL (`statement_timeout`), and the longest
    /// a write waits for its turn on SQLite. `None` for command-line jobs (imports, rebuilds)
    /// that may rightly take long and have nothing to queue behind.
    pub statement: Option<Duration>,
}

impl DbTimeouts {
    /// The defaults of the settings `database-acquire-timeout-seconds` and
    /// `statement-timeout-seconds`.
    pub const DEFAULT: DbTimeouts = DbTimeouts {
        acquire: Duration::from_secs(2),
        statement: Some(Duration::from_secs(10)),
    };

    /// For a command-line job: nobody queues behind it, and its first connection may
    /// create and migrate the database on a busy machine, so it waits for a connection at
    /// least [`COMMAND_LINE_ACQUIRE`] rather than give up as a request must.
    pub fn for_command_line(self) -> DbTimeouts {
        DbTimeouts {
            acquire: self.acquire.max(COMMAND_LINE_ACQUIRE),
            ..self
        }
    }

    /// The same without a statement limit, for command-line jobs.
    pub fn unlimited_statements(self) -> DbTimeouts {
        DbTimeouts {
            statement: None,
            ..self
        }
    }
}

/// A statement that runs longer is logged as a warning, with its text.
const SLOW_STATEMENT: Duration = Duration::from_secs(1);

/// How to connect to `url`. A statement past [`SLOW_STATEMENT`] is worth a warning where a
/// request waits for it; a job without a statement limit (an import, a rebuild) writes
/// in bulk on purpose, takes seconds per statement, and shows its own progress, so its
/// statements are not logged as slow.
fn connect_options(url: &str, timeouts: DbTimeouts) -> Result<AnyConnectOptions, DbError> {
    let slow = match timeouts.statement {
        Some(_) => tracing::log::LevelFilter::Warn,
        None => tracing::log::LevelFilter::Off,
    };
    Ok(AnyConnectOptions::from_str(url)
        .map_err(DbError::Connect)?
        .log_statements(tracing::log::LevelFilter::Trace)
        .log_slow_statements(slow, SLOW_STATEMENT))
}

/// When a commit on SQLite is on disk (PostgreSQL's own settings decide there). Either way
/// a crash of the process loses no commit and a power loss corrupts nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// A commit survives a power loss (`synchronous = FULL`): what the server answers `200`
    /// for must.
    PowerLoss,
    /// The last commits may be lost in a power loss (`synchronous = NORMAL`, a sync per
    /// checkpoint rather than per commit): for an import, whose file can be imported again.
    ProcessCrash,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Durability::PowerLoss => "PRAGMA synchronous = FULL",
            Durability::ProcessCrash => "PRAGMA synchronous = NORMAL",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Only the scheme is kept: the rest of an unknown URL may hold a password.
    #[error("DATABASE_URL starts with {0:?}, which is neither sqlite: nor postgres:")]
    UnknownBackend(String),
    #[error("cannot create the folder for the SQLite file {path}: {source}")]
    CreateFolder {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot fill in the failures' error groups: {0}")]
    ErrorGroups(sqlx::Error),
    #[error("cannot finish the tier moves left pending: {0}")]
    TierMoves(sqlx::Error),
}

impl Db {
    /// Connects (creating a SQLite file and its folder on first start) and migrates; every
    /// commit survives a power loss.
    pub async fn connect(url: &str, timeouts: DbTimeouts) -> Result<Db, DbError> {
        Db::connect_with(url, timeouts, Durability::PowerLoss).await
    }

    /// [`Db::connect`] with commits as durable as `durability` says.
    pub async fn connect_with(
        url: &str,
        timeouts: DbTimeouts,
        durability: Durability,
    ) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
            let scheme: String = scheme.chars().take(20).collect();
            return Err(DbError::UnknownBackend(format!("{scheme}:")));
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = connect_options(&url, timeouts)?;
        let statement_timeout = timeouts.statement.map(|limit| limit.as_millis());
        let pool_options = |role: Role| {
            AnyPoolOptions::new()
                .acquire_timeout(timeouts.acquire)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        match backend {
                            Backend::Sqlite => configure_sqlite(conn, role, durability).await?,
                            Backend::Postgres => {
                                conn.execute(set_statement_timeout(statement_timeout).as_str())
                                    .await?;
                            }
                        }
                        Ok(())
                    })
                })
        };
        let pool = match pool_options(Role::Reads)
            .max_connections(8)
            .connect_with(options.clone())
            .await
        {
            Ok(pool) => pool,
            Err(error) => return Err(why_not(&options, timeouts, error).await),
        };
        let writer = match backend {
            Backend::Sqlite => pool_options(Role::Writes)
                .max_connections(1)
                // Waiting here is waiting for the writes queued ahead, not for a database
                // that is down. Without a statement limit nothing else in the process writes.
                .acquire_timeout(timeouts.statement.unwrap_or(timeouts.acquire))
                .connect_with(options)
                .await
                .map_err(DbError::Connect)?,
            Backend::Postgres => pool.clone(),
        };
        let mut conn = writer.acquire().await.map_err(DbError::Connect)?;
        if backend == Backend::Postgres {
            // A migration may rewrite large tables; the statement limit is for requests.
            conn.execute(set_statement_timeout(None).as_str())
                .await
                .map_err(DbError::Connect)?;
        }
        sqlx::migrate!("../../migrations").run(&mut *conn).await?;
        if backend == Backend::Postgres {
            // Back to the pool's limit, and to the pool, so that the first request or import
            // need not start another PostgreSQL server process.
            conn.execute(set_statement_timeout(statement_timeout).as_str())
                .await
                .map_err(DbError::Connect)?;
        }
        drop(conn);
        Ok(Db { pool, writer })
    }

    /// Closes every connection, waiting for those in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    /// Where writes go (see [`Db`]).
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// A read-only transaction whose statements all see one snapshot: SQLite's deferred
    /// transaction keeps the snapshot of its first read; PostgreSQL needs repeatable read.
    pub async fn begin_snapshot(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if !self.is_sqlite() {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// SQLite rather than PostgreSQL, for the few statements that differ (transactions).
    pub fn is_sqlite(&self) -> bool {
        self.pool.connect_options().database_url.scheme() == "sqlite"
    }
}

/// PostgreSQL's statement limit in milliseconds, `None` for none.
fn set_statement_timeout(milliseconds: Option<u128>) -> String {
    format!("SET statement_timeout = {}", milliseconds.unwrap_or(0))
}

/// What a pool's connections are for: SQLite's writer gets a larger page cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Reads,
    Writes,
}

async fn configure_sqlite(
    conn: &mut sqlx::AnyConnection,
    role: Role,
    durability: Durability,
) -> Result<(), sqlx::Error> {
    // WAL lets the dashboard read while an import writes; the busy timeout makes a writer of
    // another process (an import) wait its turn instead of failing.
    conn.execute("PRAGMA journal_mode = WAL").await?;
    conn.execute(durability.pragma()).await?;
    conn.execute("PRAGMA busy_timeout = 5000").await?;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    // Statement journals (every multi-row upsert has one) and sorts in memory, not in files:
    // a sixth of an import's time went to writing them.
    conn.execute("PRAGMA temp_store = MEMORY").await?;
    // Pages are read from the operating system's cache through a mapping, shared by all
    // connections, instead of being copied into each one's cache. Address space, not memory.
    conn.execute("PRAGMA mmap_size = 4294967296").await?;
    // A batch at tens of millions of rows touches pages of the user index all over: the
    // writer keeps them (512 MiB, taken as needed), the readers need less (64 MiB). The
    // WAL is copied back into the file every 80 MB instead of 4 MB, so a page written by
    // many batches is copied once.
    match role {
        Role::Reads => {
            conn.execute("PRAGMA cache_size = -65536").await?;
            // Every read has the index it needs. After `ANALYZE`, SQLite built a temporary
            // index on each load of the figures instead of reading the trend's pieces
            // through the totals' primary key (60 ms instead of 1 ms at 1 M generations).
            // Set once: changing it expires the connection's prepared statements.
            conn.execute("PRAGMA automatic_index = OFF").await?
        }
        Role::Writes => {
            conn.execute("PRAGMA cache_size = -524288").await?;
            conn.execute("PRAGMA wal_autocheckpoint = 20000").await?
        }
    };
    Ok(())
}

/// The first connection failed. Where sqlx says only that its pool timed out (it retries
/// a refused connection until then), one more attempt says why, for the admin.
async fn why_not(options: &AnyConnectOptions, timeouts: DbTimeouts, error: sqlx::Error) -> DbError {
    if matches!(error, sqlx::Error::PoolTimedOut) {
        if let Ok(Err(cause)) = tokio::time::timeout(timeouts.acquire, options.connect()).await {
            return DbError::Connect(cause);
        }
    }
    DbError::Connect(error)
}

/// Makes sure the file's folder exists and that SQLite creates the file if it is missing.
fn sqlite_url(url: &str) -> Result<String, DbError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty() || path == ":memory:";
    if !in_memory {
        if let Some(folder) = std::path::Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(folder).map_err(|source| DbError::CreateFolder {
                path: path.to_owned(),
                source,
            })?;
        }
    }
    Ok(if query.contains("mode=") {
        url.to_owned()
    } else if query.is_empty() {
        format!("{url}?mode=rwc")
    } else {
        format!("{url}&mode=rwc")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unknown_database_url_is_refused_without_its_password() {
        for url in [
            "mysql://app:s3cret@db:3306/usage",
            "app:s3cret@db/usage",
            "s3cret",
        ] {
            let error = Db::connect(url, DbTimeouts::DEFAULT).await.unwrap_err();
            let text = error.to_string();
            assert!(matches!(error, DbError::UnknownBackend(_)), "{text}");
            assert!(!text.contains("s3cret"), "{text}");
        }
    }

    #[tokio::test]
    async fn a_database_that_is_down_is_reported_with_its_reason_soon() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|probe| probe.local_addr())
            .unwrap()
            .port();
        let timeouts = DbTimeouts {
            acquire: Duration::from_secs(1),
            ..DbTimeouts::DEFAULT
        };
        let started = std::time::Instant::now();
        let url = format!("postgres://postgres@127.0.0.1:{port}/nothing_listens");
        let error = Db::connect(&url, timeouts).await.unwrap_err().to_string();
        assert!(error.contains("Connection refused"), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    /// What a statement of 1.2 s on a connection with `timeouts` logs.
    async fn logged_by_a_long_statement(timeouts: DbTimeouts) -> String {
        sqlx::any::install_default_drivers();
        // tracing caches whether anyone wants sqlx's warning when it is first emitted. If
        // another test emits it first (a slow statement on a busy machine), its "no one"
        // can land after this test's subscriber and rebuild below. Emitted here first
        // (every statement is slow on this connection), it is cached before them.
        let eager = AnyConnectOptions::from_str(&testing::postgres_admin_url())
            .unwrap()
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::ZERO);
        eager
            .connect()
            .await
            .unwrap()
            .execute("SELECT 1")
            .await
            .unwrap();
        let captured = testing::CapturedLog::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .finish();
        // The test's runtime has one thread, where PostgreSQL's connection does its work.
        let _logging = tracing::subscriber::set_default(subscriber);
        // sqlx asks whether its event is wanted; other tests' subscribers come and go.
        tracing::callsite::rebuild_interest_cache();
        let options = connect_options(&testing::postgres_admin_url(), timeouts).unwrap();
        let mut conn = options.connect().await.unwrap();
        conn.execute("SELECT COUNT(*) FROM (SELECT pg_sleep(1.2)) AS slept")
            .await
            .unwrap();
        captured.text()
    }

    #[tokio::test]
    async fn long_statements_are_logged_as_slow_except_in_jobs_without_a_statement_limit() {
        let request = logged_by_a_long_statement(DbTimeouts::DEFAULT).await;
        assert!(request.contains("slow statement"), "{request}");
        let import = logged_by_a_long_statement(DbTimeouts::DEFAULT.unlimited_statements()).await;
        assert!(!import.contains("slow statement"), "{import}");
    }

    /// `PRAGMA synchronous` on each pool: 2 is FULL, 1 NORMAL.
    async fn synchronous(db: &Db) -> [i64; 2] {
        let mut modes = [0; 2];
        for (pool, mode) in [&db.pool, db.writer()].into_iter().zip(&mut modes) {
            let row = sqlx::query("PRAGMA synchronous")
                .fetch_one(pool)
                .await
                .unwrap();
            *mode = sqlx::Row::get(&row, 0);
        }
        modes
    }

    #[tokio::test]
    async fn sqlite_commits_survive_a_power_loss_unless_asked_otherwise() {
        let (db, folder) = testing::fresh_sqlite().await;
        assert_eq!(synchronous(&db).await, [2, 2]);
        let url = format!("sqlite://{}/test.db", folder.path().display());
        let import = Db::connect_with(&url, DbTimeouts::DEFAULT, Durability::ProcessCrash)
            .await
            .unwrap();
        assert_eq!(synchronous(&import).await, [1, 1]);
        // Per connection: the server's stay as they are.
        assert_eq!(synchronous(&db).await, [2, 2]);
    }
}

#[cfg(any(test, feature = "testing"))]
pub mod testing {
    //! Fresh databases for tests: a SQLite file in a temporary folder, and a PostgreSQL
    //! database of its own on the server named by `TEST_POSTGRES_URL`
    //! (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards; and a
    //! PostgreSQL server of a test's own, which it may stop and start.

    use super::*;
    use futures::FutureExt;
    use std::future::Future;
    use std::panic::AssertUnwindSafe;

    /// A log writer whose text a test reads back.
    #[derive(Clone, Default)]
    pub struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl CapturedLog {
        pub fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl std::io::Write for CapturedLog {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The tests' timeouts: generous, because the machine running them may be busy
    /// (several test binaries, a build beside them), and a test that waits longer for a
    /// connection still tests the same thing. Tests of the timeouts themselves set their own.
    pub const TIMEOUTS: DbTimeouts = DbTimeouts {
        acquire: Duration::from_secs(30),
        statement: Some(Duration::from_secs(30)),
    };

    pub fn postgres_admin_url() -> String {
        std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
    }

    /// A name for a fresh database on the PostgreSQL server of [`postgres_admin_url`],
    /// unique to this process and call.
    pub fn fresh_database_name() -> String {
        format!(
            "usage_monitor_test_{}_{}",
            std::process::id(),
            fastrand::u64(..)
        )
    }

    /// The address of database `name` on the PostgreSQL server of [`postgres_admin_url`].
    pub fn database_url(name: &str) -> String {
        let admin_url = postgres_admin_url();
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        format!("{base}/{name}")
    }

    /// Runs `test` once on a fresh SQLite database and once on a fresh PostgreSQL one.
    pub async fn on_each_backend<F, Fut>(test: F)
    where
        F: Fn(Db) -> Fut,
        Fut: Future<Output = ()>,
    {
        let (sqlite, _folder) = fresh_sqlite().await;
        test(sqlite).await;

        let (db, drop_database) = fresh_postgres().await;
        let outcome = AssertUnwindSafe(test(db)).catch_unwind().await;
        drop_database.await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    /// A fresh SQLite database in a folder that is deleted when the folder value is dropped.
    pub async fn fresh_sqlite() -> (Db, tempfile::TempDir) {
        let folder = tempfile::tempdir().unwrap();
        let db = Db::connect(
            &format!("sqlite://{}/test.db", folder.path().display()),
            TIMEOUTS,
        )
        .await
        .expect("fresh SQLite database");
        (db, folder)
    }

    /// What SQLite says it does for `sql`, its numbered parameters bound to `values`: each
    /// step's text, in order.
    pub async fn sqlite_plan(
        conn: &mut sqlx::AnyConnection,
        sql: &str,
        values: &[i64],
    ) -> Vec<String> {
        use sqlx::Row;
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        crate::db::parameters::bind_all(sqlx::query(&explain), values)
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<String, _>("detail").unwrap())
            .collect()
    }

    async fn fresh_postgres() -> (Db, impl Future<Output = ()>) {
        sqlx::any::install_default_drivers();
        let admin_url = postgres_admin_url();
        let admin = AnyPool::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is needed for the tests: {e}"));
        let name = fresh_database_name();
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let db = Db::connect(&database_url(&name), TIMEOUTS)
            .await
            .expect("fresh PostgreSQL database");
        let closing = db.clone();
        let drop_database = async move {
            closing.close().await;
            admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await
                .unwrap();
        };
        (db, drop_database)
    }

    /// A PostgreSQL server of the test's own, made with `initdb` in a temporary folder and
    /// run with `pg_ctl` on a free loopback port (trust authentication), so that the test
    /// can stop it and start it again. Dropping it stops the server and deletes the folder,
    /// also when the test fails. PostgreSQL refuses to run as root: as root, its commands
    /// run as the `postgres` user, who then owns the folder. The binaries are found with
    /// `pg_config --bindir`, or in `PG_BIN`.
    pub struct OwnPostgres {
        folder: tempfile::TempDir,
        bin: std::path::PathBuf,
        pub port: u16,
    }

    impl OwnPostgres {
        pub fn start() -> OwnPostgres {
            let bin = std::env::var_os("PG_BIN")
                .map(Into::into)
                .unwrap_or_else(|| {
                    let output = std::process::Command::new("pg_config")
                        .arg("--bindir")
                        .output()
                        .expect("pg_config (or PG_BIN naming PostgreSQL's binaries)");
                    String::from_utf8_lossy(&output.stdout).trim().into()
                });
            let folder = tempfile::tempdir().unwrap();
            if is_root() {
                let chown = std::process::Command::new("chown")
                    .arg("postgres:")
                    .arg(folder.path())
                    .status();
                assert!(chown.is_ok_and(|s| s.success()), "chown of {folder:?}");
            }
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|probe| probe.local_addr())
                .unwrap()
                .port();
            let server = OwnPostgres { folder, bin, port };
            server.pg(
                "initdb",
                &[
                    "-D",
                    &server.data(),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ],
            );
            server.resume();
            server
        }

        /// `postgres://postgres@127.0.0.1:PORT/postgres`
        pub fn url(&self) -> String {
            format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
        }

        /// Starts the server (again), on the same port and data; returns once it accepts
        /// connections.
        pub fn resume(&self) {
            let folder = self.folder.path().to_string_lossy();
            let options = format!(
                "-p {} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port
            );
            let log = format!("{folder}/log");
            self.pg(
                "pg_ctl",
                &[
                    "-D",
                    &self.data(),
                    "-l",
                    &log,
                    "-o",
                    &options,
                    "-w",
                    "start",
                ],
            );
        }

        /// Stops the server as an administrator would (`pg_ctl stop -m fast`): sessions are
        /// ended, open transactions rolled back.
        pub fn stop(&self) {
            self.pg("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
        }

        fn data(&self) -> String {
            format!("{}/data", self.folder.path().display())
        }

        /// Runs one of PostgreSQL's programs; panics with its output if it fails.
        fn pg(&self, program: &str, args: &[&str]) {
            let output = self
                .command(program, args)
                .output()
                .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
            assert!(
                output.status.success(),
                "{program} {args:?} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }

        fn command(&self, program: &str, args: &[&str]) -> std::process::Command {
            let program = self.bin.join(program);
            let mut command = if is_root() {
                let mut as_postgres = std::process::Command::new("runuser");
                as_postgres.args(["-u", "postgres", "--"]).arg(program);
                as_postgres
            } else {
                std::process::Command::new(program)
            };
            command.args(args);
            command
        }
    }

    impl Drop for OwnPostgres {
        fn drop(&mut self) {
            // Whatever state the test left it in; the folder goes with `self.folder`.
            let _ = self
                .command(
                    "pg_ctl",
                    &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
                )
                .output();
        }
    }

    fn is_root() -> bool {
        std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
    }
}
