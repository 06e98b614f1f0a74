//! Persistence for Trygg on SQLite (the embedded default) and PostgreSQL (scale-out), behind one
//! API. This is the only crate that knows SQL: every other part asks for data through the typed
//! methods here and never sees a query.
//!
//! The two backends share the same SQL text for reads and writes (both accept `$1` parameters,
//! `RETURNING` and `BIGINT`/`BLOB`-compatible types); only the schema migrations differ. A state
//! change and the audit entry that records it are written in the same [`Tx`], so one never lands
//! without the other.
//!
//! This crate deliberately holds no keys and does no cryptography beyond what the audit chain
//! needs: encrypted values and wrapped data keys arrive as opaque bytes.

#![forbid(unsafe_code)]

mod audit_log;
mod data_keys;
mod federation;
mod identity;
mod meetings;
mod migrations;
mod passkeys;
mod settings;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions as _, Connection as _};

pub use audit_log::{AuditLogSnapshot, AuditWriter, GroupCommitter};
pub use data_keys::WrappedKeyRow;
pub use federation::VerifiedIdentityRow;
pub use identity::{AccountRow, SessionRow};
pub use meetings::{ConsentRow, MeetingRow};
pub use migrations::MIGRATIONS;
pub use passkeys::PasskeyRow;
pub use settings::OrganisationRow;

/// A connection pool to one database.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A database transaction. Dropping it without [`Tx::commit`] rolls everything back.
#[derive(Debug)]
pub struct Tx {
    inner: TxInner,
}

#[derive(Debug)]
enum TxInner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Why a store operation failed. Messages never include a database password.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database at {location}: {message}")]
    Connect { location: String, message: String },
    #[error("database migration {version} ({name}) failed: {message}")]
    Migrate {
        version: i64,
        name: &'static str,
        message: String,
    },
    #[error(
        "the database schema is at version {found}, newer than this trygg knows ({known}); \
         run a newer trygg"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("database error: {}", one_line(&.0.to_string()))]
    Query(sqlx::Error),
    #[error("stored data is inconsistent: {0}")]
    Inconsistent(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Query(error)
    }
}

/// Runs the same body against whichever backend a transaction is on. Inside the body `$conn`
/// is the transaction's connection and `$db` the sqlx database type.
macro_rules! with_tx {
    ($tx:expr, |$conn:ident, $db:ident| $body:expr) => {
        match &mut $tx.inner {
            $crate::TxInner::Sqlite(transaction) => {
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                let $conn: &mut sqlx::SqliteConnection = &mut **transaction;
                $body
            }
            $crate::TxInner::Postgres(transaction) => {
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                let $conn: &mut sqlx::PgConnection = &mut **transaction;
                $body
            }
        }
    };
}

/// Like [`with_tx`] for a read outside a transaction: `$pool` is the connection pool.
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite($pool) => $body,
            $crate::Backend::Postgres($pool) => $body,
        }
    };
}

pub(crate) use {with_pool, with_tx};

impl Store {
    /// Opens a pool for `url`: `sqlite:PATH` or `postgres://...`. `create` allows creating a
    /// missing SQLite file (never wanted by a command that only reads, such as verification).
    ///
    /// SQLite runs with WAL, foreign keys, `secure_delete` (deleted data is overwritten, which
    /// erasure relies on) and `synchronous = FULL` (a committed audit entry survives power loss).
    pub async fn connect(
        url: &str,
        max_connections: u32,
        create: bool,
    ) -> Result<Store, StoreError> {
        let location = redacted_location(url);
        let connect_error = |error: sqlx::Error| StoreError::Connect {
            location: location.clone(),
            message: one_line(&error.to_string()),
        };
        let backend = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(connect_error)?
                .create_if_missing(create)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("secure_delete", "ON");
            // No ping before each use: an embedded database's connection cannot go stale the
            // way a network connection can, and the ping is a second round trip to the
            // connection's worker thread on every query (a third of an authenticated request).
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .test_before_acquire(false)
                .connect_with(options)
                .await
                .map_err(connect_error)?;
            Backend::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(connect_error)?;
            // One direct attempt first: the pool would retry until its timeout, and an
            // unreachable server should be reported at once.
            let probe = options.connect().await.map_err(connect_error)?;
            let _ = probe.close().await;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(connect_error)?;
            Backend::Postgres(pool)
        } else {
            return Err(StoreError::Connect {
                location,
                message: "expected a sqlite: or postgres:// URL".into(),
            });
        };
        Ok(Store { backend })
    }

    pub fn kind(&self) -> Kind {
        match self.backend {
            Backend::Sqlite(_) => Kind::Sqlite,
            Backend::Postgres(_) => Kind::Postgres,
        }
    }

    /// Answers whether the database is reachable right now (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Starts a transaction.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let inner = match &self.backend {
            Backend::Sqlite(pool) => TxInner::Sqlite(pool.begin().await?),
            Backend::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx { inner })
    }

    /// Runs raw SQL. Only for tests that play an attacker with database access (dropping the
    /// append-only triggers, editing audit rows) or set up fixtures; never call it elsewhere.
    #[doc(hidden)]
    pub async fn danger_execute_raw_for_tests(&self, sql: &str) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::raw_sql(sql).execute(pool).await?;
        });
        Ok(())
    }

    /// Closes every pooled connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        with_pool!(self, |pool| pool.close().await)
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite(transaction) => transaction.commit().await?,
            TxInner::Postgres(transaction) => transaction.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite(transaction) => transaction.rollback().await?,
            TxInner::Postgres(transaction) => transaction.rollback().await?,
        }
        Ok(())
    }
}

/// Where a database URL points, without user name or password.
fn redacted_location(url: &str) -> String {
    if let Some(path) = url.strip_prefix("sqlite:") {
        return format!("sqlite:{}", path.trim_start_matches("//"));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(unparseable database URL)".into();
    };
    let host_and_path = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let host_and_path = host_and_path.split('?').next().unwrap_or(host_and_path);
    format!("{scheme}://{host_and_path}")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::redacted_location;

    #[test]
    fn locations_never_show_credentials() {
        let cases = [
            (
                "sqlite:/var/lib/trygg/trygg.db",
                "sqlite:/var/lib/trygg/trygg.db",
            ),
            ("sqlite:///tmp/x.db", "sqlite:/tmp/x.db"),
            (
                "postgres://trygg:pa55@db:5432/trygg",
                "postgres://db:5432/trygg",
            ),
            (
                "postgresql://u:p@w@h/d?sslmode=require&password=x",
                "postgresql://h/d",
            ),
            ("postgres://h/d", "postgres://h/d"),
            ("nonsense", "(unparseable database URL)"),
        ];
        for (url, expected) in cases {
            assert_eq!(redacted_location(url), expected, "{url}");
        }
    }
}
