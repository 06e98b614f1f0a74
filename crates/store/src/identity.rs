//! Accounts, credentials, enrolment links and sessions as stored. Every secret arrives already
//! protected: passwords as Argon2id PHC strings, TOTP secrets and personal data encrypted by the
//! vault, tokens and recovery codes as SHA-256 lookup keys. Nothing here can log in anyone; the
//! identity service decides, this module only keeps what it decided.

use sqlx::Row;

use crate::{with_pool, with_tx, Store, StoreError, Tx};

/// An account as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    pub id: String,
    /// `staff` or `customer`.
    pub kind: String,
    /// Keyed hash of the normalised e-mail address.
    pub email_index: Vec<u8>,
    pub email_enc: Vec<u8>,
    pub display_name_enc: Vec<u8>,
    /// Comma-separated role names.
    pub roles: String,
    /// `pending`, `active` or `disabled`.
    pub status: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A session as stored. The token itself is never stored, only its lookup key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// Public id, for listing and revoking (never usable to authenticate).
    pub id: String,
    pub lookup_key: Vec<u8>,
    pub account_id: String,
    pub auth_method: String,
    pub mfa_at_ms: Option<i64>,
    /// A coarse description such as "Chrome on Linux", never the full user agent.
    pub device: String,
    pub risk: i64,
    pub created_at_ms: i64,
    pub last_seen_ms: i64,
    pub revoked_at_ms: Option<i64>,
    pub revoked_reason: Option<String>,
    /// Comma-separated roles this session is limited to (a subset of the account's), or `None`
    /// for all of the account's roles. Set by single sign-on from the roles the provider asserts.
    pub roles_limit: Option<String>,
}

pub(crate) const ACCOUNT_COLUMNS: &str =
    "id, kind, email_index, email_enc, display_name_enc, roles, status, \
                               created_at_ms, updated_at_ms";
const SESSION_COLUMNS: &str = "id, lookup_key, account_id, auth_method, mfa_at_ms, device, risk, \
                               created_at_ms, last_seen_ms, revoked_at_ms, revoked_reason, roles_limit";
/// [`SESSION_COLUMNS`] of the table aliased `s`, under their own names.
const SESSION_COLUMNS_OF_S: &str = "s.id, s.lookup_key, s.account_id, s.auth_method, s.mfa_at_ms, \
                                    s.device, s.risk, s.created_at_ms, s.last_seen_ms, \
                                    s.revoked_at_ms, s.revoked_reason, s.roles_limit";
/// [`ACCOUNT_COLUMNS`] of the table aliased `a`, named with the prefix `a_`.
const ACCOUNT_COLUMNS_AS_A: &str =
    "a.id AS a_id, a.kind AS a_kind, a.email_index AS a_email_index, \
                                    a.email_enc AS a_email_enc, \
                                    a.display_name_enc AS a_display_name_enc, a.roles AS a_roles, \
                                    a.status AS a_status, a.created_at_ms AS a_created_at_ms, \
                                    a.updated_at_ms AS a_updated_at_ms";

impl Tx {
    pub async fn insert_account(&mut self, row: &AccountRow) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query(&format!(
                "INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ))
            .bind(row.id.as_str())
            .bind(row.kind.as_str())
            .bind(row.email_index.as_slice())
            .bind(row.email_enc.as_slice())
            .bind(row.display_name_enc.as_slice())
            .bind(row.roles.as_str())
            .bind(row.status.as_str())
            .bind(row.created_at_ms)
            .bind(row.updated_at_ms)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Changes an account's status; returns whether the account exists.
    pub async fn set_account_status(
        &mut self,
        account_id: &str,
        status: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let updated = with_tx!(self, |conn, Db| {
            sqlx::query("UPDATE accounts SET status = $1, updated_at_ms = $2 WHERE id = $3")
                .bind(status)
                .bind(now_ms)
                .bind(account_id)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        Ok(updated > 0)
    }

    /// Replaces an account's roles (comma-separated); returns whether the account exists.
    pub async fn set_account_roles(
        &mut self,
        account_id: &str,
        roles: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let updated = with_tx!(self, |conn, Db| {
            sqlx::query("UPDATE accounts SET roles = $1, updated_at_ms = $2 WHERE id = $3")
                .bind(roles)
                .bind(now_ms)
                .bind(account_id)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        Ok(updated > 0)
    }

    /// Removes an account's TOTP secret (a reset: the person enrols a new one).
    pub async fn delete_totp(&mut self, account_id: &str) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query("DELETE FROM totp_credentials WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }

    pub async fn set_password(
        &mut self,
        account_id: &str,
        phc: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query(
                "INSERT INTO password_credentials (account_id, phc, updated_at_ms) \
                 VALUES ($1, $2, $3) ON CONFLICT (account_id) DO UPDATE \
                 SET phc = excluded.phc, updated_at_ms = excluded.updated_at_ms",
            )
            .bind(account_id)
            .bind(phc)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Stores a new TOTP secret, replacing any earlier one (its last used step starts empty).
    pub async fn set_totp(
        &mut self,
        account_id: &str,
        secret_enc: &[u8],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query(
                "INSERT INTO totp_credentials (account_id, secret_enc, last_used_step, created_at_ms) \
                 VALUES ($1, $2, NULL, $3) ON CONFLICT (account_id) DO UPDATE \
                 SET secret_enc = excluded.secret_enc, last_used_step = NULL, \
                 created_at_ms = excluded.created_at_ms",
            )
            .bind(account_id)
            .bind(secret_enc)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Records that the TOTP code of `step` was used, but only if no code of that step or a
    /// later one was used before: of two concurrent sign-ins with the same code, one wins.
    pub async fn use_totp_step(&mut self, account_id: &str, step: i64) -> Result<bool, StoreError> {
        let updated = with_tx!(self, |conn, Db| {
            sqlx::query(
                "UPDATE totp_credentials SET last_used_step = $1 \
                 WHERE account_id = $2 AND (last_used_step IS NULL OR last_used_step < $1)",
            )
            .bind(step)
            .bind(account_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(updated > 0)
    }

    pub async fn replace_recovery_codes(
        &mut self,
        account_id: &str,
        hashes: &[[u8; 32]],
    ) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *conn)
                .await?;
            for hash in hashes {
                sqlx::query("INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)")
                    .bind(account_id)
                    .bind(hash.as_slice())
                    .execute(&mut *conn)
                    .await?;
            }
        });
        Ok(())
    }

    /// Deletes a recovery code; returns whether it was there (so it works exactly once).
    pub async fn consume_recovery_code(
        &mut self,
        account_id: &str,
        hash: &[u8; 32],
    ) -> Result<bool, StoreError> {
        let deleted = with_tx!(self, |conn, Db| {
            sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1 AND code_hash = $2")
                .bind(account_id)
                .bind(hash.as_slice())
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        Ok(deleted > 0)
    }

    pub async fn insert_enrolment(
        &mut self,
        lookup_key: &[u8; 32],
        account_id: &str,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query(
                "INSERT INTO enrolment_tokens (lookup_key, account_id, expires_at_ms) \
                 VALUES ($1, $2, $3)",
            )
            .bind(lookup_key.as_slice())
            .bind(account_id)
            .bind(expires_at_ms)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// The account an unexpired, unused enrolment link belongs to.
    pub async fn enrolment_account(
        &mut self,
        lookup_key: &[u8; 32],
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let account = with_tx!(self, |conn, Db| {
            sqlx::query_scalar(
                "SELECT account_id FROM enrolment_tokens \
                 WHERE lookup_key = $1 AND used_at_ms IS NULL AND expires_at_ms > $2",
            )
            .bind(lookup_key.as_slice())
            .bind(now_ms)
            .fetch_optional(&mut *conn)
            .await?
        });
        Ok(account)
    }

    /// Marks an enrolment link used; returns whether it was still usable (so it works once).
    pub async fn consume_enrolment(
        &mut self,
        lookup_key: &[u8; 32],
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let updated = with_tx!(self, |conn, Db| {
            sqlx::query(
                "UPDATE enrolment_tokens SET used_at_ms = $1 \
                 WHERE lookup_key = $2 AND used_at_ms IS NULL AND expires_at_ms > $1",
            )
            .bind(now_ms)
            .bind(lookup_key.as_slice())
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(updated > 0)
    }

    pub async fn insert_session(&mut self, row: &SessionRow) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query(&format!(
                "INSERT INTO sessions ({SESSION_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ))
            .bind(row.id.as_str())
            .bind(row.lookup_key.as_slice())
            .bind(row.account_id.as_str())
            .bind(row.auth_method.as_str())
            .bind(row.mfa_at_ms)
            .bind(row.device.as_str())
            .bind(row.risk)
            .bind(row.created_at_ms)
            .bind(row.last_seen_ms)
            .bind(row.revoked_at_ms)
            .bind(row.revoked_reason.as_deref())
            .bind(row.roles_limit.as_deref())
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Sets a live session's risk score (0 to 100); returns whether the session was live.
    pub async fn set_session_risk(
        &mut self,
        session_id: &str,
        risk: i64,
    ) -> Result<bool, StoreError> {
        let updated = with_tx!(self, |conn, Db| {
            sqlx::query("UPDATE sessions SET risk = $1 WHERE id = $2 AND revoked_at_ms IS NULL")
                .bind(risk)
                .bind(session_id)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        Ok(updated > 0)
    }

    /// Records a fresh second factor on a live session (step-up); returns whether it was live.
    pub async fn set_session_mfa(
        &mut self,
        session_id: &str,
        mfa_at_ms: i64,
    ) -> Result<bool, StoreError> {
        let updated = with_tx!(self, |conn, Db| {
            sqlx::query(
                "UPDATE sessions SET mfa_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL",
            )
            .bind(mfa_at_ms)
            .bind(session_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(updated > 0)
    }

    /// Revokes one session of `account_id` by its public id; returns whether one was revoked.
    pub async fn revoke_session(
        &mut self,
        account_id: &str,
        session_id: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let updated = with_tx!(self, |conn, Db| {
            sqlx::query(
                "UPDATE sessions SET revoked_at_ms = $1, revoked_reason = $2 \
                 WHERE id = $3 AND account_id = $4 AND revoked_at_ms IS NULL",
            )
            .bind(now_ms)
            .bind(reason)
            .bind(session_id)
            .bind(account_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(updated > 0)
    }

    /// Revokes every live session of `account_id` (except `keep`, a public session id);
    /// returns how many.
    pub async fn revoke_sessions_of(
        &mut self,
        account_id: &str,
        keep: Option<&str>,
        reason: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let updated = with_tx!(self, |conn, Db| {
            sqlx::query(
                "UPDATE sessions SET revoked_at_ms = $1, revoked_reason = $2 \
                 WHERE account_id = $3 AND revoked_at_ms IS NULL AND id <> $4",
            )
            .bind(now_ms)
            .bind(reason)
            .bind(account_id)
            .bind(keep.unwrap_or(""))
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(updated)
    }
}

impl Store {
    pub async fn account(&self, account_id: &str) -> Result<Option<AccountRow>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
            ))
            .bind(account_id)
            .fetch_optional(pool)
            .await?
            .map(|row| decode_account(&row))
            .transpose()?
        });
        Ok(row)
    }

    pub async fn account_by_email_index(
        &self,
        email_index: &[u8],
    ) -> Result<Option<AccountRow>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email_index = $1"
            ))
            .bind(email_index)
            .fetch_optional(pool)
            .await?
            .map(|row| decode_account(&row))
            .transpose()?
        });
        Ok(row)
    }

    /// Every account, oldest first.
    pub async fn accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let rows = with_pool!(self, |pool| {
            sqlx::query(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY created_at_ms, id"
            ))
            .fetch_all(pool)
            .await?
            .iter()
            .map(decode_account)
            .collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }

    /// How many accounts hold `role` (for the bootstrap rule: only the first admin is made by
    /// `trygg admin bootstrap`).
    pub async fn count_accounts_with_role(&self, role: &str) -> Result<i64, StoreError> {
        let accounts: Vec<String> = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT roles FROM accounts")
                .fetch_all(pool)
                .await?
        });
        let count = accounts
            .iter()
            .filter(|roles| roles.split(',').any(|held| held == role))
            .count();
        Ok(i64::try_from(count).unwrap_or(i64::MAX))
    }

    pub async fn password(&self, account_id: &str) -> Result<Option<String>, StoreError> {
        let phc = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT phc FROM password_credentials WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(phc)
    }

    /// The encrypted TOTP secret and the last step used, if the account has TOTP.
    pub async fn totp(
        &self,
        account_id: &str,
    ) -> Result<Option<(Vec<u8>, Option<i64>)>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query(
                "SELECT secret_enc, last_used_step FROM totp_credentials WHERE account_id = $1",
            )
            .bind(account_id)
            .fetch_optional(pool)
            .await?
            .map(|row| {
                Ok::<_, sqlx::Error>((row.try_get("secret_enc")?, row.try_get("last_used_step")?))
            })
            .transpose()?
        });
        Ok(row)
    }

    pub async fn recovery_code_hashes(
        &self,
        account_id: &str,
    ) -> Result<Vec<[u8; 32]>, StoreError> {
        let rows: Vec<Vec<u8>> = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT code_hash FROM recovery_codes WHERE account_id = $1")
                .bind(account_id)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|hash| {
                hash.try_into().map_err(|_| {
                    StoreError::Inconsistent("a recovery code hash is not 32 bytes".into())
                })
            })
            .collect()
    }

    /// The session whose token has this lookup key, revoked or not.
    pub async fn session_by_lookup(
        &self,
        lookup_key: &[u8; 32],
    ) -> Result<Option<SessionRow>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE lookup_key = $1"
            ))
            .bind(lookup_key.as_slice())
            .fetch_optional(pool)
            .await?
            .map(|row| decode_session(&row))
            .transpose()?
        });
        Ok(row)
    }

    /// The session whose token has this lookup key, revoked or not, with its account: what
    /// authenticating a request needs, in one round trip.
    pub async fn session_and_account_by_lookup(
        &self,
        lookup_key: &[u8; 32],
    ) -> Result<Option<(SessionRow, AccountRow)>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query(&format!(
                "SELECT {SESSION_COLUMNS_OF_S}, {ACCOUNT_COLUMNS_AS_A} \
                 FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.lookup_key = $1"
            ))
            .bind(lookup_key.as_slice())
            .fetch_optional(pool)
            .await?
            .map(|row| {
                Ok::<_, sqlx::Error>((decode_session(&row)?, decode_account_as(&row, "a_")?))
            })
            .transpose()?
        });
        Ok(row)
    }

    /// The sessions with these public ids, revoked or not (ids that do not exist are left out).
    pub async fn sessions_by_ids(&self, ids: &[String]) -> Result<Vec<SessionRow>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let placeholders = (1..=chunk.len())
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql =
                format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id IN ({placeholders})");
            let rows = with_pool!(self, |pool| {
                let mut query = sqlx::query(&sql);
                for id in chunk {
                    query = query.bind(id);
                }
                query
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(decode_session)
                    .collect::<Result<Vec<_>, _>>()?
            });
            found.extend(rows);
        }
        Ok(found)
    }

    /// A session by its public id, revoked or not.
    pub async fn session_by_id(&self, session_id: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
            ))
            .bind(session_id)
            .fetch_optional(pool)
            .await?
            .map(|row| decode_session(&row))
            .transpose()?
        });
        Ok(row)
    }

    /// Every live session of an account, newest first.
    pub async fn live_sessions_of(&self, account_id: &str) -> Result<Vec<SessionRow>, StoreError> {
        let rows = with_pool!(self, |pool| {
            sqlx::query(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions \
                 WHERE account_id = $1 AND revoked_at_ms IS NULL ORDER BY created_at_ms DESC, id"
            ))
            .bind(account_id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(decode_session)
            .collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }

    /// Records activity on a session (for the idle timeout). Outside any transaction: it is
    /// bookkeeping, not a security-relevant change.
    pub async fn touch_session(&self, session_id: &str, now_ms: i64) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE sessions SET last_seen_ms = $1 WHERE id = $2 AND last_seen_ms < $1",
            )
            .bind(now_ms)
            .bind(session_id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

pub(crate) fn decode_account<R: Row>(row: &R) -> Result<AccountRow, sqlx::Error>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    decode_account_as(row, "")
}

/// An account from columns named with `prefix` (see [`ACCOUNT_COLUMNS_AS_A`]).
fn decode_account_as<R: Row>(row: &R, prefix: &str) -> Result<AccountRow, sqlx::Error>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let column = |name: &str| format!("{prefix}{name}");
    Ok(AccountRow {
        id: row.try_get(column("id").as_str())?,
        kind: row.try_get(column("kind").as_str())?,
        email_index: row.try_get(column("email_index").as_str())?,
        email_enc: row.try_get(column("email_enc").as_str())?,
        display_name_enc: row.try_get(column("display_name_enc").as_str())?,
        roles: row.try_get(column("roles").as_str())?,
        status: row.try_get(column("status").as_str())?,
        created_at_ms: row.try_get(column("created_at_ms").as_str())?,
        updated_at_ms: row.try_get(column("updated_at_ms").as_str())?,
    })
}

fn decode_session<R: Row>(row: &R) -> Result<SessionRow, sqlx::Error>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(SessionRow {
        id: row.try_get("id")?,
        lookup_key: row.try_get("lookup_key")?,
        account_id: row.try_get("account_id")?,
        auth_method: row.try_get("auth_method")?,
        mfa_at_ms: row.try_get("mfa_at_ms")?,
        device: row.try_get("device")?,
        risk: row.try_get("risk")?,
        created_at_ms: row.try_get("created_at_ms")?,
        last_seen_ms: row.try_get("last_seen_ms")?,
        revoked_at_ms: row.try_get("revoked_at_ms")?,
        revoked_reason: row.try_get("revoked_reason")?,
        roles_limit: row.try_get("roles_limit")?,
    })
}
