//! Passkeys (WebAuthn credentials) as stored. The credential that verifies assertions arrives
//! already encrypted by the vault, as does the name its holder gave it; the credential id is kept
//! in the clear because the authenticator presents it at sign-in and it must be found by it. What
//! a credential is worth is decided by the identity service, never here.

use sqlx::Row;

use crate::{with_pool, with_tx, Store, StoreError, Tx};

/// A passkey as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyRow {
    /// Public id, for listing and removing.
    pub id: String,
    pub account_id: String,
    /// The WebAuthn credential id (raw bytes).
    pub credential_id: Vec<u8>,
    /// The credential (public key, signature counter, flags), encrypted.
    pub passkey_enc: Vec<u8>,
    /// The name the holder gave it, encrypted.
    pub name_enc: Vec<u8>,
    pub created_at_ms: i64,
    pub last_used_ms: Option<i64>,
}

const PASSKEY_COLUMNS: &str =
    "id, account_id, credential_id, passkey_enc, name_enc, created_at_ms, last_used_ms";

impl Tx {
    /// Stores a new passkey. A credential id that is already registered (to anyone) is refused
    /// by the unique constraint, so one authenticator credential never serves two accounts.
    pub async fn insert_passkey(&mut self, row: &PasskeyRow) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query(&format!(
                "INSERT INTO passkeys ({PASSKEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ))
            .bind(&row.id)
            .bind(&row.account_id)
            .bind(&row.credential_id)
            .bind(&row.passkey_enc)
            .bind(&row.name_enc)
            .bind(row.created_at_ms)
            .bind(row.last_used_ms)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Replaces the stored credential after a sign-in (its signature counter moved) and records
    /// when it was used. Returns whether the passkey still exists.
    pub async fn update_passkey(
        &mut self,
        id: &str,
        passkey_enc: &[u8],
        used_at_ms: i64,
    ) -> Result<bool, StoreError> {
        let updated = with_tx!(self, |conn, Db| {
            sqlx::query("UPDATE passkeys SET passkey_enc = $1, last_used_ms = $2 WHERE id = $3")
                .bind(passkey_enc)
                .bind(used_at_ms)
                .bind(id)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        Ok(updated > 0)
    }

    /// Removes one passkey of `account_id`; returns whether it was there.
    pub async fn delete_passkey(&mut self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        let deleted = with_tx!(self, |conn, Db| {
            sqlx::query("DELETE FROM passkeys WHERE id = $1 AND account_id = $2")
                .bind(id)
                .bind(account_id)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        Ok(deleted > 0)
    }

    /// Removes every passkey of an account (a reset of its second factors); returns how many.
    pub async fn delete_passkeys_of(&mut self, account_id: &str) -> Result<u64, StoreError> {
        let deleted = with_tx!(self, |conn, Db| {
            sqlx::query("DELETE FROM passkeys WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        Ok(deleted)
    }
}

impl Store {
    /// The passkeys of an account, oldest first.
    pub async fn passkeys_of(&self, account_id: &str) -> Result<Vec<PasskeyRow>, StoreError> {
        let rows = with_pool!(self, |pool| {
            sqlx::query(&format!(
                "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE account_id = $1 \
                 ORDER BY created_at_ms, id"
            ))
            .bind(account_id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(decode_passkey)
            .collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }

    /// The passkey with this credential id, whoever holds it.
    pub async fn passkey_by_credential_id(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<PasskeyRow>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query(&format!(
                "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1"
            ))
            .bind(credential_id)
            .fetch_optional(pool)
            .await?
            .map(|row| decode_passkey(&row))
            .transpose()?
        });
        Ok(row)
    }
}

fn decode_passkey<R: Row>(row: &R) -> Result<PasskeyRow, sqlx::Error>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database>,
{
    Ok(PasskeyRow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        credential_id: row.try_get("credential_id")?,
        passkey_enc: row.try_get("passkey_enc")?,
        name_enc: row.try_get("name_enc")?,
        created_at_ms: row.try_get("created_at_ms")?,
        last_used_ms: row.try_get("last_used_ms")?,
    })
}
