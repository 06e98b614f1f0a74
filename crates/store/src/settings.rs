//! Small named values the server keeps about itself (the fingerprint of the last configuration
//! it ran with, the demo seed marker) and organisations.

use sqlx::Row;

use crate::{with_pool, with_tx, Store, StoreError, Tx};

/// An organisation as stored: its name is ciphertext under the organisation's data key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganisationRow {
    pub id: String,
    pub name_enc: Vec<u8>,
    pub created_at_ms: i64,
}

impl Tx {
    pub async fn set_setting(
        &mut self,
        key: &str,
        value: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
                 updated_at_ms = excluded.updated_at_ms",
            )
            .bind(key)
            .bind(value)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    pub async fn setting(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        let value = with_tx!(self, |conn, Db| {
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut *conn)
                .await?
        });
        Ok(value)
    }

    pub async fn insert_organisation(&mut self, row: &OrganisationRow) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query(
                "INSERT INTO organisations (id, name_enc, created_at_ms) VALUES ($1, $2, $3)",
            )
            .bind(row.id.as_str())
            .bind(row.name_enc.as_slice())
            .bind(row.created_at_ms)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }
}

impl Store {
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let value = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(value)
    }

    /// Every organisation, oldest first.
    pub async fn organisations(&self) -> Result<Vec<OrganisationRow>, StoreError> {
        let rows = with_pool!(self, |pool| {
            sqlx::query(
                "SELECT id, name_enc, created_at_ms FROM organisations ORDER BY created_at_ms, id",
            )
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| {
                Ok::<_, sqlx::Error>(OrganisationRow {
                    id: row.try_get("id")?,
                    name_enc: row.try_get("name_enc")?,
                    created_at_ms: row.try_get("created_at_ms")?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }
}
