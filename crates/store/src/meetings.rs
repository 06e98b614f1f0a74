//! Meetings, their invitations and the consent register, as stored. Titles and invitees' e-mail
//! addresses arrive already encrypted by the vault and passcodes as Argon2id PHC strings; who may
//! read or change a meeting is decided by the policy engine before anything here is called.

use sqlx::Row;

use crate::{with_pool, with_tx, Store, StoreError, Tx};

/// A meeting as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingRow {
    /// 32 hex characters (128 random bits): the id in the meeting's link.
    pub id: String,
    pub host_account_id: String,
    pub title_enc: Vec<u8>,
    /// Argon2id PHC string, or `None` for a meeting without passcode.
    pub passcode_phc: Option<String>,
    /// Whether the join flow takes an identity proof (e-ID or a returning customer's passkey):
    /// required without a passcode, an alternative to it with one.
    pub identity_proof: bool,
    /// The validity window: the link lets nobody in before or after.
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    /// `scheduled`, `cancelled` or `ended`.
    pub status: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// One answer on the privacy notice: a purpose, the choice, the notice's version and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentRow {
    pub id: String,
    /// `guest:<random>` or `account:<id>`: pseudonymous, never a name or address.
    pub subject: String,
    pub meeting_id: Option<String>,
    pub purpose: String,
    pub notice_version: String,
    /// `given` or `refused`.
    pub choice: String,
    pub at_ms: i64,
}

const MEETING_COLUMNS: &str = "id, host_account_id, title_enc, passcode_phc, starts_at_ms, \
                               ends_at_ms, status, created_at_ms, updated_at_ms, identity_proof";

impl Tx {
    pub async fn insert_meeting(&mut self, row: &MeetingRow) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query(&format!(
                "INSERT INTO meetings ({MEETING_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))
            .bind(&row.id)
            .bind(&row.host_account_id)
            .bind(&row.title_enc)
            .bind(&row.passcode_phc)
            .bind(row.starts_at_ms)
            .bind(row.ends_at_ms)
            .bind(&row.status)
            .bind(row.created_at_ms)
            .bind(row.updated_at_ms)
            .bind(i64::from(row.identity_proof))
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Replaces a scheduled meeting's title, passcode and window; returns whether a scheduled
    /// meeting with this id was there.
    pub async fn update_meeting(&mut self, row: &MeetingRow) -> Result<bool, StoreError> {
        let updated = with_tx!(self, |conn, Db| {
            sqlx::query(
                "UPDATE meetings SET title_enc = $1, passcode_phc = $2, starts_at_ms = $3, \
                 ends_at_ms = $4, updated_at_ms = $5, identity_proof = $6 \
                 WHERE id = $7 AND status = 'scheduled'",
            )
            .bind(&row.title_enc)
            .bind(&row.passcode_phc)
            .bind(row.starts_at_ms)
            .bind(row.ends_at_ms)
            .bind(row.updated_at_ms)
            .bind(i64::from(row.identity_proof))
            .bind(&row.id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(updated > 0)
    }

    /// Moves a scheduled meeting to `status` (`cancelled` or `ended`); returns whether it was
    /// scheduled.
    pub async fn finish_meeting(
        &mut self,
        id: &str,
        status: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let updated = with_tx!(self, |conn, Db| {
            sqlx::query(
                "UPDATE meetings SET status = $1, updated_at_ms = $2 \
                 WHERE id = $3 AND status = 'scheduled'",
            )
            .bind(status)
            .bind(now_ms)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(updated > 0)
    }

    pub async fn insert_invitation(
        &mut self,
        id: &str,
        meeting_id: &str,
        email_enc: &[u8],
        sent_at_ms: i64,
    ) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query(
                "INSERT INTO meeting_invitations (id, meeting_id, email_enc, sent_at_ms) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(meeting_id)
            .bind(email_enc)
            .bind(sent_at_ms)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    pub async fn insert_consent(&mut self, row: &ConsentRow) -> Result<(), StoreError> {
        with_tx!(self, |conn, Db| {
            sqlx::query(
                "INSERT INTO consents (id, subject, meeting_id, purpose, notice_version, choice, \
                 at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&row.id)
            .bind(&row.subject)
            .bind(&row.meeting_id)
            .bind(&row.purpose)
            .bind(&row.notice_version)
            .bind(&row.choice)
            .bind(row.at_ms)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }
}

impl Store {
    pub async fn meeting(&self, id: &str) -> Result<Option<MeetingRow>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query(&format!(
                "SELECT {MEETING_COLUMNS} FROM meetings WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(pool)
            .await?
            .map(|row| decode_meeting(&row))
            .transpose()?
        });
        Ok(row)
    }

    /// The meetings `host_account_id` hosts, soonest first.
    pub async fn meetings_of_host(
        &self,
        host_account_id: &str,
    ) -> Result<Vec<MeetingRow>, StoreError> {
        let rows = with_pool!(self, |pool| {
            sqlx::query(&format!(
                "SELECT {MEETING_COLUMNS} FROM meetings WHERE host_account_id = $1 \
                 ORDER BY starts_at_ms, id"
            ))
            .bind(host_account_id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(decode_meeting)
            .collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }

    /// How many invitations have been sent for `meeting_id` (to throttle them).
    pub async fn invitation_count(&self, meeting_id: &str) -> Result<i64, StoreError> {
        let count: i64 = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM meeting_invitations WHERE meeting_id = $1")
                .bind(meeting_id)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    /// The consent register's entries for `subject`, oldest first.
    pub async fn consents_of(&self, subject: &str) -> Result<Vec<ConsentRow>, StoreError> {
        let rows = with_pool!(self, |pool| {
            sqlx::query(
                "SELECT id, subject, meeting_id, purpose, notice_version, choice, at_ms \
                 FROM consents WHERE subject = $1 ORDER BY at_ms, id",
            )
            .bind(subject)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| {
                Ok::<_, sqlx::Error>(ConsentRow {
                    id: row.try_get("id")?,
                    subject: row.try_get("subject")?,
                    meeting_id: row.try_get("meeting_id")?,
                    purpose: row.try_get("purpose")?,
                    notice_version: row.try_get("notice_version")?,
                    choice: row.try_get("choice")?,
                    at_ms: row.try_get("at_ms")?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }
}

fn decode_meeting<R: Row>(row: &R) -> Result<MeetingRow, sqlx::Error>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(MeetingRow {
        id: row.try_get("id")?,
        host_account_id: row.try_get("host_account_id")?,
        title_enc: row.try_get("title_enc")?,
        passcode_phc: row.try_get("passcode_phc")?,
        starts_at_ms: row.try_get("starts_at_ms")?,
        ends_at_ms: row.try_get("ends_at_ms")?,
        status: row.try_get("status")?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
        identity_proof: row.try_get::<i64, _>("identity_proof")? != 0,
    })
}
