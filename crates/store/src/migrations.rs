//! Versioned schema migrations, one SQL script per backend and version. A migration runs in one
//! transaction together with the row that records it, so a failed migration leaves nothing
//! half-applied. Applied migrations are never edited: a change is a new version.

use crate::{one_line, with_tx, Backend, Store, StoreError};

/// One schema version.
#[derive(Debug)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "identity",
        sqlite: include_str!("../migrations/sqlite/0002_identity.sql"),
        postgres: include_str!("../migrations/postgres/0002_identity.sql"),
    },
    Migration {
        version: 3,
        name: "passkeys",
        sqlite: include_str!("../migrations/sqlite/0003_passkeys.sql"),
        postgres: include_str!("../migrations/postgres/0003_passkeys.sql"),
    },
    Migration {
        version: 4,
        name: "federation",
        sqlite: include_str!("../migrations/sqlite/0004_federation.sql"),
        postgres: include_str!("../migrations/postgres/0004_federation.sql"),
    },
    Migration {
        version: 5,
        name: "meetings",
        sqlite: include_str!("../migrations/sqlite/0005_meetings.sql"),
        postgres: include_str!("../migrations/postgres/0005_meetings.sql"),
    },
    Migration {
        version: 6,
        name: "identity_proof",
        sqlite: include_str!("../migrations/sqlite/0006_identity_proof.sql"),
        postgres: include_str!("../migrations/postgres/0006_identity_proof.sql"),
    },
];

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
     version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)";

impl Store {
    /// Applies every migration not yet applied and returns the versions it applied.
    ///
    /// On PostgreSQL an advisory lock serialises nodes that start at the same time; SQLite's
    /// single writer does the same there.
    pub async fn migrate(&self, now_ms: i64) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin().await?;
        with_tx!(tx, |conn, Db| {
            sqlx::raw_sql(CREATE_LEDGER).execute(&mut *conn).await?;
        });
        if let Backend::Postgres(_) = self.backend {
            with_tx!(tx, |conn, Db| {
                // 0x7472796767 is "trygg": a fixed key shared by every node.
                sqlx::query("SELECT pg_advisory_xact_lock(500422911847)")
                    .execute(&mut *conn)
                    .await?;
            });
        }
        tx.commit().await?;

        let known = MIGRATIONS.last().map_or(0, |migration| migration.version);
        let found = self.schema_version().await?;
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
        let mut applied = Vec::new();
        for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
            let script = match self.backend {
                Backend::Sqlite(_) => migration.sqlite,
                Backend::Postgres(_) => migration.postgres,
            };
            let failed = |error: sqlx::Error| StoreError::Migrate {
                version: migration.version,
                name: migration.name,
                message: one_line(&error.to_string()),
            };
            let mut tx = self.begin().await?;
            if let Backend::Postgres(_) = self.backend {
                with_tx!(tx, |conn, Db| {
                    sqlx::query("SELECT pg_advisory_xact_lock(500422911847)")
                        .execute(&mut *conn)
                        .await?;
                });
            }
            // Another node may have applied it while we waited for the lock.
            let already: Option<i64> = with_tx!(tx, |conn, Db| {
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(migration.version)
                    .fetch_optional(&mut *conn)
                    .await?
            });
            if already.is_some() {
                continue;
            }
            with_tx!(tx, |conn, Db| {
                sqlx::raw_sql(script)
                    .execute(&mut *conn)
                    .await
                    .map_err(failed)?;
                sqlx::query(
                    "INSERT INTO schema_migrations (version, name, applied_at_ms) \
                     VALUES ($1, $2, $3)",
                )
                .bind(migration.version)
                .bind(migration.name)
                .bind(now_ms)
                .execute(&mut *conn)
                .await
                .map_err(failed)?;
            });
            tx.commit().await?;
            tracing::info!(
                version = migration.version,
                name = migration.name,
                "applied migration"
            );
            applied.push(migration.version);
        }
        Ok(applied)
    }

    /// The newest applied migration, 0 for a database Trygg has never migrated.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let ledger_exists: bool = match &self.backend {
            Backend::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) > 0 FROM sqlite_master \
                 WHERE type = 'table' AND name = 'schema_migrations'",
                )
                .fetch_one(pool)
                .await?
            }
            Backend::Postgres(pool) => {
                sqlx::query_scalar("SELECT to_regclass('schema_migrations') IS NOT NULL")
                    .fetch_one(pool)
                    .await?
            }
        };
        if !ledger_exists {
            return Ok(0);
        }
        let version: Option<i64> = crate::with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
                .fetch_one(pool)
                .await?
        });
        Ok(version.unwrap_or(0))
    }
}
