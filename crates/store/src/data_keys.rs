//! Wrapped data keys: one row per data subject or organisation-wide category. The vault wraps
//! and unwraps; this module stores the opaque result. Deleting a row is crypto-shredding.

use sqlx::Row;

use crate::{with_pool, with_tx, Store, StoreError, Tx};

/// A data key as stored: wrapped under the key-encryption key named by `kek_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKeyRow {
    pub key_ref: String,
    pub kek_id: String,
    pub wrapped: Vec<u8>,
}

impl Tx {
    /// Stores a new data key. Fails if `key_ref` already has one.
    pub async fn insert_data_key(
        &mut self,
        row: &WrappedKeyRow,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query(
                "INSERT INTO data_keys (key_ref, kek_id, wrapped, created_at_ms) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(row.key_ref.as_str())
            .bind(row.kek_id.as_str())
            .bind(row.wrapped.as_slice())
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Reads a data key inside the transaction.
    pub async fn data_key(&mut self, key_ref: &str) -> Result<Option<WrappedKeyRow>, StoreError> {
        let row = with_tx!(self, |conn, Db| {
            sqlx::query("SELECT key_ref, kek_id, wrapped FROM data_keys WHERE key_ref = $1")
                .bind(key_ref)
                .fetch_optional(&mut *conn)
                .await?
                .map(|row| decode(&row))
                .transpose()?
        });
        Ok(row)
    }

    /// Destroys a data key (crypto-shredding). Returns whether there was one.
    pub async fn delete_data_key(&mut self, key_ref: &str) -> Result<bool, StoreError> {
        let deleted = with_tx!(self, |conn, Db| {
            sqlx::query("DELETE FROM data_keys WHERE key_ref = $1")
                .bind(key_ref)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        Ok(deleted > 0)
    }

    /// Replaces a wrapping, but only if the key is still wrapped under `expected_kek_id`, so a
    /// rotation never overwrites a concurrent change. Returns whether the row was replaced.
    pub async fn rewrap_data_key(
        &mut self,
        key_ref: &str,
        expected_kek_id: &str,
        new_kek_id: &str,
        wrapped: &[u8],
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let updated = with_tx!(self, |conn, Db| {
            sqlx::query(
                "UPDATE data_keys SET kek_id = $1, wrapped = $2, rewrapped_at_ms = $3 \
                 WHERE key_ref = $4 AND kek_id = $5",
            )
            .bind(new_kek_id)
            .bind(wrapped)
            .bind(now_ms)
            .bind(key_ref)
            .bind(expected_kek_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(updated > 0)
    }
}

impl Store {
    /// Reads a data key.
    pub async fn data_key(&self, key_ref: &str) -> Result<Option<WrappedKeyRow>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query("SELECT key_ref, kek_id, wrapped FROM data_keys WHERE key_ref = $1")
                .bind(key_ref)
                .fetch_optional(pool)
                .await?
                .map(|row| decode(&row))
                .transpose()?
        });
        Ok(row)
    }

    /// Up to `limit` data keys not wrapped under `kek_id`, for rotation in batches.
    pub async fn data_keys_not_under(
        &self,
        kek_id: &str,
        limit: i64,
    ) -> Result<Vec<WrappedKeyRow>, StoreError> {
        let rows = with_pool!(self, |pool| {
            sqlx::query(
                "SELECT key_ref, kek_id, wrapped FROM data_keys WHERE kek_id <> $1 \
                 ORDER BY key_ref LIMIT $2",
            )
            .bind(kek_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(decode)
            .collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }

    /// How many data keys are wrapped under each key-encryption key (none before the first
    /// migration).
    pub async fn data_key_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        if self.schema_version().await? == 0 {
            return Ok(Vec::new());
        }
        let rows = with_pool!(self, |pool| {
            sqlx::query(
                "SELECT kek_id, COUNT(*) AS n FROM data_keys GROUP BY kek_id ORDER BY kek_id",
            )
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| Ok::<_, sqlx::Error>((row.try_get("kek_id")?, row.try_get("n")?)))
            .collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }
}

fn decode<R: Row>(row: &R) -> Result<WrappedKeyRow, sqlx::Error>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(WrappedKeyRow {
        key_ref: row.try_get("key_ref")?,
        kek_id: row.try_get("kek_id")?,
        wrapped: row.try_get("wrapped")?,
    })
}

impl Store {
    /// One data key wrapped under `kek_id`, to check that a keyring really opens them.
    pub async fn first_data_key_under(
        &self,
        kek_id: &str,
    ) -> Result<Option<WrappedKeyRow>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query(
                "SELECT key_ref, kek_id, wrapped FROM data_keys WHERE kek_id = $1 \
                 ORDER BY key_ref LIMIT 1",
            )
            .bind(kek_id)
            .fetch_optional(pool)
            .await?
            .map(|row| decode(&row))
            .transpose()?
        });
        Ok(row)
    }
}
