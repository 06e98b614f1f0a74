//! Booking meetings: an adviser creates, lists, changes and cancels the meetings they host. Each
//! meeting gets a random 128-bit id (the only id in its link), its own data key that seals the
//! title (shredding the key erases what the meeting was about), an optional passcode kept only as
//! an Argon2id hash, whether the join flow takes an identity proof (e-ID or a returning
//! customer's passkey; required without a passcode, an alternative with one), and a validity
//! window outside which the link lets nobody in. Every change is
//! authorised by the policy engine on the meeting as a resource (its host and team) and audited.
//!
//! What this module deliberately does not do: run a meeting (the live meetings and their
//! signalling are elsewhere) or say anything about a meeting to anyone but its host.

use std::sync::Arc;

pub mod live;
mod throttle;
pub mod wire;

use audit::{Event, Outcome};
use edge::identity::{ApiError, RequestContext};
use edge::meetings::{MeetingChange, MeetingRequest, MeetingView, MeetingsApi};
use edge::BoxFuture;
use policy::{
    Action, MeetingCancel, MeetingCreate, MeetingReadMetadata, MeetingUpdate, Resource, StaffId,
};
use store::MeetingRow;

use crate::accounts::{internal, AccountService, Authorised, TEAM};
use crate::clock::now_ms;
use crate::keys::{open_value, seal};

/// The longest a meeting's validity window may be.
const MAX_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// How far ahead a meeting may be booked.
const MAX_AHEAD_MS: i64 = 400 * 24 * 60 * 60 * 1000;
const PASSCODE_MIN: usize = 6;
const PASSCODE_MAX: usize = 64;
const TITLE_MAX: usize = 200;

/// The meeting-booking service.
#[derive(Debug)]
pub struct MeetingService {
    accounts: Arc<AccountService>,
    live: Arc<live::LiveMeetings>,
    /// Whether customers can prove who they are here (a customer e-ID provider is configured).
    identity_proofs: bool,
}

/// The data key of one meeting: it seals the title (and later what else belongs only to it).
pub(crate) fn meeting_key_ref(meeting_id: &str) -> String {
    format!("meeting:{meeting_id}")
}

/// The meeting as the policy engine sees it.
fn resource_of(row: &MeetingRow) -> Resource {
    Resource::meeting(
        row.id.clone(),
        StaffId::new(row.host_account_id.clone()),
        TEAM,
        [],
    )
}

fn not_found() -> ApiError {
    ApiError::new(404, "not_found", "No such meeting. Reload the list.")
}

impl MeetingService {
    pub fn new(
        accounts: Arc<AccountService>,
        live: Arc<live::LiveMeetings>,
        identity_proofs: bool,
    ) -> MeetingService {
        MeetingService {
            accounts,
            live,
            identity_proofs,
        }
    }

    /// An identity proof can be asked for only where customers have a way to give one.
    fn valid_identity_proof(&self, wanted: bool) -> Result<bool, ApiError> {
        if wanted && !self.identity_proofs {
            return Err(ApiError::new(
                400,
                "identity_proof_unavailable",
                "Customers cannot prove their identity on this server: no e-ID provider is \
                 configured. Use a passcode, or ask an administrator to set up [customer_idp].",
            ));
        }
        Ok(wanted)
    }

    /// The meeting `meeting_id`, with the policy's consent to do `A` to it. Anyone else's
    /// meeting answers as if it did not exist (after the refusal is audited).
    pub(crate) async fn authorised_meeting<A: Action>(
        &self,
        session_token: &str,
        meeting_id: &str,
        context: &RequestContext,
    ) -> Result<(Authorised<A>, MeetingRow), ApiError> {
        let (store, _, _) = self.accounts.parts();
        // Authenticate first, so that an unknown id and someone else's id look the same to a
        // signed-in caller and nobody learns anything without a session.
        let (_, session, account) = self.accounts.authenticate(session_token).await?;
        let row = store
            .meeting(meeting_id)
            .await
            .map_err(internal)?
            .ok_or_else(not_found)?;
        let allowed = self
            .accounts
            .authorize::<A>(&account, &session, &resource_of(&row), context)
            .await
            .map_err(|error| match error.code {
                "forbidden" => not_found(),
                _ => error,
            })?;
        Ok((
            Authorised {
                account,
                session,
                allowed,
            },
            row,
        ))
    }

    async fn view(&self, row: &MeetingRow) -> Result<MeetingView, ApiError> {
        let (store, keys, _) = self.accounts.parts();
        let key = keys
            .open(store, &meeting_key_ref(&row.id))
            .await
            .map_err(internal)?
            .ok_or_else(|| ApiError::new(410, "meeting_erased", "This meeting was erased."))?;
        let title =
            open_value(&key, "meetings", "title", &row.id, &row.title_enc).map_err(internal)?;
        Ok(MeetingView {
            id: row.id.clone(),
            title: String::from_utf8_lossy(&title).into_owned(),
            starts_at_ms: row.starts_at_ms,
            ends_at_ms: row.ends_at_ms,
            status: row.status.clone(),
            has_passcode: row.passcode_phc.is_some(),
            identity_proof: row.identity_proof,
            link_path: format!("/m/{}", row.id),
        })
    }

    async fn hash_passcode(&self, passcode: &str) -> Result<String, ApiError> {
        self.accounts
            .hasher()
            .hash(passcode)
            .await
            .map_err(internal)
    }

    /// Writes a change to a meeting with its audit event, in one transaction.
    async fn audited(
        &self,
        actor: &str,
        meeting_id: &str,
        action: &str,
        change: impl for<'t> FnOnce(&'t mut store::Tx) -> BoxFuture<'t, Result<bool, ApiError>>,
    ) -> Result<bool, ApiError> {
        let (store, _, audit) = self.accounts.parts();
        let now = now_ms();
        let mut tx = store.begin().await.map_err(internal)?;
        if !change(&mut tx).await? {
            tx.rollback().await.map_err(internal)?;
            return Ok(false);
        }
        let event = Event::new(now, format!("account:{actor}"), action, Outcome::Success)
            .target(format!("meeting:{meeting_id}"));
        audit
            .append(&mut tx, vec![event], now)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(true)
    }
}

/// A title of 1 to 200 characters without control characters.
fn valid_title(text: &str) -> Result<String, ApiError> {
    let title = text.trim();
    if title.is_empty() || title.chars().count() > TITLE_MAX || title.chars().any(char::is_control)
    {
        return Err(ApiError::new(
            400,
            "invalid_title",
            "Give the meeting a title of 1 to 200 characters.",
        ));
    }
    Ok(title.to_owned())
}

/// A window that ends after it starts, lasts at most a day, has not ended and starts within
/// about a year.
fn valid_window(starts_at_ms: i64, ends_at_ms: i64, now: i64) -> Result<(), ApiError> {
    let valid = ends_at_ms > starts_at_ms
        && ends_at_ms - starts_at_ms <= MAX_WINDOW_MS
        && ends_at_ms > now
        && starts_at_ms < now.saturating_add(MAX_AHEAD_MS);
    if valid {
        Ok(())
    } else {
        Err(ApiError::new(
            400,
            "invalid_window",
            "Choose a time that ends after it starts, lasts at most 24 hours, has not passed and \
             is within a year.",
        ))
    }
}

/// A passcode of 6 to 64 characters without control characters.
fn valid_passcode(text: &str) -> Result<&str, ApiError> {
    let length = text.chars().count();
    if (PASSCODE_MIN..=PASSCODE_MAX).contains(&length) && !text.chars().any(char::is_control) {
        Ok(text)
    } else {
        Err(ApiError::new(
            400,
            "invalid_passcode",
            "A passcode has 6 to 64 characters. Leave it empty for a meeting without one.",
        ))
    }
}

impl MeetingsApi for MeetingService {
    fn create<'a>(
        &'a self,
        session_token: &'a str,
        request: MeetingRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<MeetingView, ApiError>> {
        Box::pin(async move {
            let now = now_ms();
            let authorised = self
                .accounts
                .authorise::<MeetingCreate>(
                    session_token,
                    |account, _| {
                        // The meeting about to be created, hosted by whoever asks.
                        Resource::meeting("(new)", StaffId::new(account.id.clone()), TEAM, [])
                    },
                    context,
                )
                .await?;
            let title = valid_title(&request.title)?;
            valid_window(request.starts_at_ms, request.ends_at_ms, now)?;
            let identity_proof = self.valid_identity_proof(request.identity_proof)?;
            let passcode_phc = match request.passcode.as_deref().filter(|p| !p.is_empty()) {
                Some(passcode) => Some(self.hash_passcode(valid_passcode(passcode)?).await?),
                None => None,
            };
            let id = hex::encode(vault::random_bytes::<16>());
            let (store, keys, audit) = self.accounts.parts();
            let mut tx = store.begin().await.map_err(internal)?;
            let key = keys
                .create(&mut tx, &meeting_key_ref(&id))
                .await
                .map_err(internal)?;
            let row = MeetingRow {
                id: id.clone(),
                host_account_id: authorised.account.id.clone(),
                title_enc: seal(&key, "meetings", "title", &id, title.as_bytes()),
                passcode_phc,
                identity_proof,
                starts_at_ms: request.starts_at_ms,
                ends_at_ms: request.ends_at_ms,
                status: "scheduled".into(),
                created_at_ms: now,
                updated_at_ms: now,
            };
            tx.insert_meeting(&row).await.map_err(internal)?;
            let event = Event::new(
                now,
                format!("account:{}", authorised.account.id),
                "meeting.created",
                Outcome::Success,
            )
            .target(format!("meeting:{id}"))
            .detail("passcode", row.passcode_phc.is_some().to_string())
            .detail("identity_proof", row.identity_proof.to_string());
            audit
                .append(&mut tx, vec![event], now)
                .await
                .map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            self.view(&row).await
        })
    }

    fn list<'a>(
        &'a self,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<Vec<MeetingView>, ApiError>> {
        Box::pin(async move {
            let (_, session, account) = self.accounts.authenticate(session_token).await?;
            let (store, _, _) = self.accounts.parts();
            let rows = store
                .meetings_of_host(&account.id)
                .await
                .map_err(internal)?;
            let mut views = Vec::with_capacity(rows.len());
            for row in &rows {
                // Each meeting is shown only with the policy's consent to read its metadata
                // (the session was authenticated once, above).
                let _allowed = self
                    .accounts
                    .authorize::<MeetingReadMetadata>(
                        &account,
                        &session,
                        &resource_of(row),
                        context,
                    )
                    .await?;
                views.push(self.view(row).await?);
            }
            Ok(views)
        })
    }

    fn get<'a>(
        &'a self,
        session_token: &'a str,
        meeting_id: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<MeetingView, ApiError>> {
        Box::pin(async move {
            let (_, row) = self
                .authorised_meeting::<MeetingReadMetadata>(session_token, meeting_id, context)
                .await?;
            self.view(&row).await
        })
    }

    fn update<'a>(
        &'a self,
        session_token: &'a str,
        meeting_id: &'a str,
        change: MeetingChange,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<MeetingView, ApiError>> {
        Box::pin(async move {
            let now = now_ms();
            let (authorised, row) = self
                .authorised_meeting::<MeetingUpdate>(session_token, meeting_id, context)
                .await?;
            let title = valid_title(&change.title)?;
            valid_window(change.starts_at_ms, change.ends_at_ms, now)?;
            let identity_proof = match change.identity_proof {
                Some(wanted) => self.valid_identity_proof(wanted)?,
                None => row.identity_proof,
            };
            let passcode_phc = match (change.passcode.as_deref(), change.remove_passcode) {
                (Some(passcode), false) if !passcode.is_empty() => {
                    Some(self.hash_passcode(valid_passcode(passcode)?).await?)
                }
                (_, true) => None,
                _ => row.passcode_phc.clone(),
            };
            let (store, keys, _) = self.accounts.parts();
            let key = keys
                .open(store, &meeting_key_ref(&row.id))
                .await
                .map_err(internal)?
                .ok_or_else(not_found)?;
            let changed = MeetingRow {
                title_enc: seal(&key, "meetings", "title", &row.id, title.as_bytes()),
                passcode_phc,
                identity_proof,
                starts_at_ms: change.starts_at_ms,
                ends_at_ms: change.ends_at_ms,
                updated_at_ms: now,
                ..row
            };
            let stored = changed.clone();
            let done = self
                .audited(
                    &authorised.account.id,
                    meeting_id,
                    "meeting.updated",
                    move |tx| {
                        Box::pin(async move { tx.update_meeting(&stored).await.map_err(internal) })
                    },
                )
                .await?;
            if !done {
                return Err(ApiError::new(
                    409,
                    "meeting_closed",
                    "This meeting is cancelled or over and can no longer be changed.",
                ));
            }
            self.view(&changed).await
        })
    }

    fn cancel<'a>(
        &'a self,
        session_token: &'a str,
        meeting_id: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<MeetingView, ApiError>> {
        Box::pin(async move {
            let (authorised, row) = self
                .authorised_meeting::<MeetingCancel>(session_token, meeting_id, context)
                .await?;
            let now = now_ms();
            let id = row.id.clone();
            let done = self
                .audited(
                    &authorised.account.id,
                    meeting_id,
                    "meeting.cancelled",
                    move |tx| {
                        Box::pin(async move {
                            tx.finish_meeting(&id, "cancelled", now)
                                .await
                                .map_err(internal)
                        })
                    },
                )
                .await?;
            if !done {
                return Err(ApiError::new(
                    409,
                    "meeting_closed",
                    "This meeting is cancelled or over already.",
                ));
            }
            self.live.cancelled(meeting_id);
            self.view(&MeetingRow {
                status: "cancelled".into(),
                updated_at_ms: now,
                ..row
            })
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_windows_and_passcodes_are_checked() {
        assert_eq!(valid_title("  Bolån  ").unwrap(), "Bolån");
        for bad in ["", "   ", "a\u{7}b", &"x".repeat(201)] {
            assert_eq!(
                valid_title(bad).unwrap_err().code,
                "invalid_title",
                "{bad:?}"
            );
        }
        let now = 1_800_000_000_000;
        let hour = 3_600_000;
        assert!(valid_window(now, now + hour, now).is_ok());
        assert!(
            valid_window(now - hour, now + hour, now).is_ok(),
            "under way"
        );
        for (starts, ends) in [
            (now + hour, now + hour),
            (now + hour, now),
            (now - 2 * hour, now - hour),
            (now, now + 25 * hour),
            (now + 401 * 24 * hour, now + 401 * 24 * hour + hour),
        ] {
            assert_eq!(
                valid_window(starts, ends, now).unwrap_err().code,
                "invalid_window",
                "{starts} {ends}"
            );
        }
        assert!(valid_passcode("123456").is_ok());
        for bad in ["12345", "abc\ndef", &"9".repeat(65)] {
            assert_eq!(valid_passcode(bad).unwrap_err().code, "invalid_passcode");
        }
    }
}
