//! Federated sign-in as stored: links from an identity provider's (issuer, subject) pair to an
//! account, and the verified identity of a customer identified by an e-ID. The pair arrives as a
//! keyed hash and the name and personal identity number as vault ciphertext, so this module holds
//! nothing a database reader could use to recognise a person; it only keeps what the single
//! sign-on service decided.

use sqlx::Row;

use crate::identity::{decode_account, ACCOUNT_COLUMNS};
use crate::{with_pool, with_tx, AccountRow, Store, StoreError, Tx};

/// A customer's identity as verified by an e-ID, encrypted under the customer's data key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedIdentityRow {
    pub account_id: String,
    /// Keyed hash of the normalised personal identity number.
    pub personal_number_index: Vec<u8>,
    pub name_enc: Vec<u8>,
    pub personal_number_enc: Vec<u8>,
    pub verified_at_ms: i64,
}

impl Tx {
    /// Links an identity provider's subject (as its keyed hash) to `account_id`. `provider` is
    /// `staff` or `customer`. Fails if the subject is already linked (to anyone).
    pub async fn insert_federated_identity(
        &mut self,
        lookup_key: &[u8],
        account_id: &str,
        provider: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query(
                "INSERT INTO federated_identities \
                 (lookup_key, account_id, provider, created_at_ms, last_used_at_ms) \
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(lookup_key)
            .bind(account_id)
            .bind(provider)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Records a sign-in through a linked subject.
    pub async fn touch_federated_identity(
        &mut self,
        lookup_key: &[u8],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query(
                "UPDATE federated_identities SET last_used_at_ms = $1 WHERE lookup_key = $2",
            )
            .bind(now_ms)
            .bind(lookup_key)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Stores (or replaces, on a later sign-in) a customer's verified identity.
    pub async fn upsert_verified_identity(
        &mut self,
        row: &VerifiedIdentityRow,
    ) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query(
                "INSERT INTO verified_identities \
                 (account_id, personal_number_index, name_enc, personal_number_enc, verified_at_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id) DO UPDATE \
                 SET personal_number_index = excluded.personal_number_index, \
                 name_enc = excluded.name_enc, \
                 personal_number_enc = excluded.personal_number_enc, \
                 verified_at_ms = excluded.verified_at_ms",
            )
            .bind(row.account_id.as_str())
            .bind(row.personal_number_index.as_slice())
            .bind(row.name_enc.as_slice())
            .bind(row.personal_number_enc.as_slice())
            .bind(row.verified_at_ms)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }
}

impl Store {
    /// The account linked to an identity provider's subject (by its keyed hash) for `provider`.
    pub async fn account_by_federated_identity(
        &self,
        lookup_key: &[u8],
        provider: &str,
    ) -> Result<Option<AccountRow>, StoreError> {
        let columns = ACCOUNT_COLUMNS
            .split(',')
            .map(|column| format!("a.{}", column.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let row = with_pool!(self, |pool| {
            sqlx::query(&format!(
                "SELECT {columns} FROM federated_identities f JOIN accounts a ON a.id = f.account_id \
                 WHERE f.lookup_key = $1 AND f.provider = $2"
            ))
            .bind(lookup_key)
            .bind(provider)
            .fetch_optional(pool)
            .await?
            .map(|row| decode_account(&row))
            .transpose()?
        });
        Ok(row)
    }

    /// Whether `account_id` is linked to any subject of `provider` (an account links once).
    pub async fn has_federated_identity(
        &self,
        account_id: &str,
        provider: &str,
    ) -> Result<bool, StoreError> {
        let count: i64 = with_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM federated_identities WHERE account_id = $1 AND provider = $2",
            )
            .bind(account_id)
            .bind(provider)
            .fetch_one(pool)
            .await?
        });
        Ok(count > 0)
    }

    /// The customer account whose verified personal identity number has this keyed hash.
    pub async fn account_by_personal_number_index(
        &self,
        index: &[u8],
    ) -> Result<Option<AccountRow>, StoreError> {
        let account_id: Option<String> = with_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT account_id FROM verified_identities WHERE personal_number_index = $1",
            )
            .bind(index)
            .fetch_optional(pool)
            .await?
        });
        match account_id {
            Some(id) => self.account(&id).await,
            None => Ok(None),
        }
    }

    /// A customer's verified identity, if they have one.
    pub async fn verified_identity(
        &self,
        account_id: &str,
    ) -> Result<Option<VerifiedIdentityRow>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query(
                "SELECT account_id, personal_number_index, name_enc, personal_number_enc, \
                 verified_at_ms FROM verified_identities WHERE account_id = $1",
            )
            .bind(account_id)
            .fetch_optional(pool)
            .await?
            .map(|row| {
                Ok::<_, sqlx::Error>(VerifiedIdentityRow {
                    account_id: row.try_get("account_id")?,
                    personal_number_index: row.try_get("personal_number_index")?,
                    name_enc: row.try_get("name_enc")?,
                    personal_number_enc: row.try_get("personal_number_enc")?,
                    verified_at_ms: row.try_get("verified_at_ms")?,
                })
            })
            .transpose()?
        });
        Ok(row)
    }
}
