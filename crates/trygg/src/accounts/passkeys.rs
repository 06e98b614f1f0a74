//! Passkeys: registering one on one's own account, listing and removing them, and signing in with
//! one alone. webauthn-rs checks every ceremony (challenge, origin, relying party, signature,
//! signature counter, user verification); this module keeps the ceremonies' state, stores the
//! credentials sealed with the holder's data key, and turns a verified assertion into a session.
//!
//! A passkey is a whole multi-factor sign-in only because user verification is required at
//! registration and at every sign-in: the authenticator checked a PIN or a biometric as well as
//! holding the key. [`MfaVerified::from_passkey_assertion`] is the only way from an assertion to
//! the proof that [`AccountService::issue_session`] takes, and it refuses an assertion without
//! that flag.
//!
//! Sign-in uses discoverable credentials: the browser offers whichever passkey of this site it
//! holds, and nobody types an e-mail address, so the ceremony reveals nothing about who has an
//! account. The user handle stored on the authenticator is the account's random id.

use std::collections::HashMap;
use std::sync::Mutex;

use audit::{Event, Outcome};
use edge::identity::{ApiError, NewSession, RequestContext};
use edge::passkey::{
    ceremony_expired, PasskeyApi, PasskeyView, RegisterFinishRequest, SignInFinishRequest,
    SignInStart,
};
use edge::BoxFuture;
use identity::session::SessionToken;
use identity::MfaVerified;
use policy::{CredentialReadOwn, CredentialRegisterOwn, CredentialRemoveOwn, Resource};
use store::{AccountRow, PasskeyRow};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use super::{
    internal, principal_of, random_id, source_key, valid_name, AccountService, Authorised, TEAM,
};
use crate::clock::now_ms;
use crate::keys::{open_value, seal};
use crate::locks::Locked;

/// How long a registration or sign-in ceremony may take.
const CEREMONY_VALID_MS: i64 = 5 * 60 * 1000;
/// Sign-in ceremonies waiting at once, at most: starting one needs no account, so the table is
/// bounded; when it is full, expired ceremonies are dropped and then new ones refused briefly.
const MAX_OPEN_CEREMONIES: usize = 10_000;
/// Passkeys one account may hold.
const MAX_PASSKEYS: usize = 10;

/// Where passkeys are valid: the relying party id (the host name) and the origin browsers must
/// report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelyingParty {
    /// A host name such as `trygg.example.se` (never an IP address: WebAuthn refuses those).
    pub id: String,
    /// `https://host[:port]`.
    pub origin: String,
    /// Accept the origin on any port: only for `localhost`, where the tests and the demo pick
    /// a free port at start.
    pub any_port: bool,
}

impl RelyingParty {
    /// The relying party for a server reached at `public_url`, or at `https://localhost` on
    /// any port when no public address is configured.
    pub fn for_public_url(public_url: Option<&str>) -> anyhow::Result<RelyingParty> {
        let Some(text) = public_url else {
            return Ok(RelyingParty {
                id: "localhost".into(),
                origin: "https://localhost".into(),
                any_port: true,
            });
        };
        let url = Url::parse(text)
            .map_err(|error| anyhow::anyhow!("server.public_url {text:?}: {error}"))?;
        let host = match url.host_str() {
            Some(host)
                if url.scheme() == "https"
                    && !host.starts_with('[')
                    && host.parse::<std::net::IpAddr>().is_err() =>
            {
                host.to_owned()
            }
            _ => anyhow::bail!(
                "server.public_url {text:?}: passkeys need an https:// address with a host name"
            ),
        };
        Ok(RelyingParty {
            origin: url.origin().ascii_serialization(),
            any_port: host == "localhost",
            id: host,
        })
    }
}

/// The passkey side of the identity service: the WebAuthn verifier and the ceremonies under way.
#[derive(Debug)]
pub(super) struct Passkeys {
    webauthn: Webauthn,
    /// Registration ceremonies by session id: one at a time per session.
    registrations: Mutex<HashMap<String, (PasskeyRegistration, i64)>>,
    /// Sign-in ceremonies by the lookup key of the ceremony cookie's token.
    sign_ins: Mutex<HashMap<[u8; 32], (DiscoverableAuthentication, i64)>>,
}

impl Passkeys {
    pub(super) fn new(relying_party: &RelyingParty) -> anyhow::Result<Passkeys> {
        let origin = Url::parse(&relying_party.origin)
            .map_err(|error| anyhow::anyhow!("passkey origin: {error}"))?;
        let webauthn = WebauthnBuilder::new(&relying_party.id, &origin)
            .and_then(|builder| {
                builder
                    .rp_name("Trygg")
                    .allow_any_port(relying_party.any_port)
                    .build()
            })
            .map_err(|error| {
                anyhow::anyhow!(
                    "passkeys: {error} (relying party {:?} at {:?})",
                    relying_party.id,
                    relying_party.origin
                )
            })?;
        Ok(Passkeys {
            webauthn,
            registrations: Mutex::new(HashMap::new()),
            sign_ins: Mutex::new(HashMap::new()),
        })
    }
}

/// The user handle authenticators keep for an account: its random 128-bit id.
fn user_handle(account_id: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(account_id).map_err(internal)
}

fn refused() -> ApiError {
    ApiError::new(
        401,
        "passkey_refused",
        "This passkey was not accepted. Try again, or sign in with your password and code.",
    )
}

impl AccountService {
    fn passkey_view(
        &self,
        row: &PasskeyRow,
        key: &vault::DataKey,
    ) -> Result<PasskeyView, ApiError> {
        let name = open_value(key, "passkeys", "name", &row.id, &row.name_enc).map_err(internal)?;
        Ok(PasskeyView {
            id: row.id.clone(),
            name: String::from_utf8_lossy(&name).into_owned(),
            created_at_ms: row.created_at_ms,
            last_used_ms: row.last_used_ms,
        })
    }

    /// The signed-in account as a resource of its own (for the `credential.*` actions).
    fn own_account(account: &AccountRow) -> Resource {
        Resource::account(account.id.clone(), principal_of(account).id(), TEAM)
    }

    /// Sign-in ceremony state for `token`, removed (a ceremony is finished at most once).
    fn take_sign_in(&self, token: &str, now: i64) -> Option<DiscoverableAuthentication> {
        let key = SessionToken::parse(token)?.lookup_key();
        let mut map = self.passkeys.sign_ins.locked();
        map.remove(&key)
            .filter(|(_, started)| now - started < CEREMONY_VALID_MS)
            .map(|(state, _)| state)
    }

    /// Checks the assertion against the stored passkey; on success returns the account, the
    /// passkey's row and the proof of multi-factor sign-in, with the counter already updated in
    /// `tx`. `Err` carries the audit detail of why it failed.
    async fn verify_assertion(
        &self,
        tx: &mut store::Tx,
        state: DiscoverableAuthentication,
        credential: &PublicKeyCredential,
        now: i64,
    ) -> Result<(AccountRow, PasskeyRow, MfaVerified), (&'static str, Option<String>)> {
        let webauthn = &self.passkeys.webauthn;
        let (handle, credential_id) = webauthn
            .identify_discoverable_authentication(credential)
            .map_err(|_| ("no_user_handle", None))?;
        let row = self
            .store
            .passkey_by_credential_id(credential_id)
            .await
            .map_err(|_| ("store", None))?
            .ok_or(("unknown_credential", None))?;
        let account_id = row.account_id.clone();
        let with_account = |reason| (reason, Some(account_id.clone()));
        if user_handle(&row.account_id).ok() != Some(handle) {
            return Err(with_account("user_handle_mismatch"));
        }
        let account = self
            .store
            .account(&row.account_id)
            .await
            .map_err(|_| with_account("store"))?
            .filter(|account| account.status == "active")
            .ok_or_else(|| with_account("account_not_active"))?;
        let key = self
            .subject_key(&account.id)
            .await
            .map_err(|_| with_account("account_erased"))?;
        let sealed = open_value(&key, "passkeys", "passkey", &row.id, &row.passkey_enc)
            .map_err(|_| with_account("unreadable"))?;
        let mut passkey: Passkey =
            serde_json::from_slice(&sealed).map_err(|_| with_account("unreadable"))?;
        let result = webauthn
            .finish_discoverable_authentication(
                credential,
                state,
                &[DiscoverableKey::from(&passkey)],
            )
            .map_err(|_| with_account("assertion_invalid"))?;
        let proof = MfaVerified::from_passkey_assertion(result.user_verified(), now)
            .map_err(|_| with_account("no_user_verification"))?;
        passkey.update_credential(&result);
        let json = serde_json::to_vec(&passkey).map_err(|_| with_account("store"))?;
        let resealed = seal(&key, "passkeys", "passkey", &row.id, &json);
        if !tx
            .update_passkey(&row.id, &resealed, now)
            .await
            .map_err(|_| with_account("store"))?
        {
            return Err(with_account("unknown_credential"));
        }
        Ok((account, row, proof))
    }
}

impl PasskeyApi for AccountService {
    fn register_start<'a>(
        &'a self,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<serde_json::Value, ApiError>> {
        Box::pin(async move {
            let Authorised {
                session, account, ..
            } = self
                .authorise::<CredentialRegisterOwn>(
                    session_token,
                    |account, _| Self::own_account(account),
                    context,
                )
                .await?;
            let existing = self
                .store
                .passkeys_of(&account.id)
                .await
                .map_err(internal)?;
            if existing.len() >= MAX_PASSKEYS {
                return Err(ApiError::new(
                    409,
                    "too_many_passkeys",
                    format!("An account holds at most {MAX_PASSKEYS} passkeys. Remove one first."),
                ));
            }
            let view = self.view(&account).await?;
            let exclude = existing
                .iter()
                .map(|row| row.credential_id.clone().into())
                .collect();
            // The name the authenticator files the passkey under: the e-mail address, or for a
            // customer identified by e-ID (who has none here) the name the e-ID verified.
            let user_name = if view.email.is_empty() {
                &view.display_name
            } else {
                &view.email
            };
            let (options, state) = self
                .passkeys
                .webauthn
                .start_passkey_registration(
                    user_handle(&account.id)?,
                    user_name,
                    &view.display_name,
                    Some(exclude),
                )
                .map_err(internal)?;
            self.passkeys
                .registrations
                .locked()
                .insert(session.id.clone(), (state, now_ms()));
            let mut options = serde_json::to_value(options).map_err(internal)?;
            // Ask for a discoverable credential, so that the passkey alone signs in later
            // without an e-mail address. webauthn-rs leaves the choice to the authenticator.
            if let Some(selection) = options
                .pointer_mut("/publicKey/authenticatorSelection")
                .and_then(serde_json::Value::as_object_mut)
            {
                selection.insert("residentKey".into(), "required".into());
                selection.insert("requireResidentKey".into(), true.into());
            }
            Ok(options)
        })
    }

    fn register_finish<'a>(
        &'a self,
        session_token: &'a str,
        request: RegisterFinishRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<PasskeyView, ApiError>> {
        Box::pin(async move {
            let Authorised {
                session, account, ..
            } = self
                .authorise::<CredentialRegisterOwn>(
                    session_token,
                    |account, _| Self::own_account(account),
                    context,
                )
                .await?;
            let now = now_ms();
            let name = valid_name(&request.name).ok_or_else(|| {
                ApiError::new(
                    400,
                    "invalid_name",
                    "Give the passkey a name of 1 to 200 characters, such as \"Work laptop\".",
                )
            })?;
            let state = self
                .passkeys
                .registrations
                .locked()
                .remove(&session.id)
                .filter(|(_, started)| now - started < CEREMONY_VALID_MS)
                .map(|(state, _)| state)
                .ok_or_else(|| {
                    ApiError::new(
                        409,
                        "registration_expired",
                        "The passkey registration took too long. Start again.",
                    )
                })?;
            let actor = format!("account:{}", account.id);
            let failed = |reason: &'static str| {
                Event::new(
                    now,
                    actor.clone(),
                    "passkey.register_failed",
                    Outcome::Failure,
                )
                .detail("reason", reason)
            };
            let credential: RegisterPublicKeyCredential =
                match serde_json::from_value(request.credential) {
                    Ok(credential) => credential,
                    Err(_) => {
                        self.record(failed("malformed")).await;
                        return Err(ApiError::new(
                            400,
                            "passkey_malformed",
                            "The browser's answer could not be read. Try again.",
                        ));
                    }
                };
            let passkey = match self
                .passkeys
                .webauthn
                .finish_passkey_registration(&credential, &state)
            {
                Ok(passkey) => passkey,
                Err(_) => {
                    self.record(failed("attestation_invalid")).await;
                    return Err(ApiError::new(
                        400,
                        "passkey_refused",
                        "The authenticator's answer was not accepted. Use a passkey that asks \
                         for your PIN or biometric, and try again.",
                    ));
                }
            };
            let key = self.subject_key(&account.id).await?;
            let id = random_id();
            let json = serde_json::to_vec(&passkey).map_err(internal)?;
            let row = PasskeyRow {
                id: id.clone(),
                account_id: account.id.clone(),
                credential_id: passkey.cred_id().to_vec(),
                passkey_enc: seal(&key, "passkeys", "passkey", &id, &json),
                name_enc: seal(&key, "passkeys", "name", &id, name.as_bytes()),
                created_at_ms: now,
                last_used_ms: None,
            };
            let mut tx = self.store.begin().await.map_err(internal)?;
            if tx.insert_passkey(&row).await.is_err() {
                tx.rollback().await.map_err(internal)?;
                self.record(failed("already_registered")).await;
                return Err(ApiError::new(
                    409,
                    "passkey_exists",
                    "This passkey is already registered.",
                ));
            }
            let event = Event::new(now, actor, "passkey.registered", Outcome::Success)
                .target(format!("passkey:{id}"));
            self.audit
                .append(&mut tx, vec![event], now)
                .await
                .map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            self.passkey_view(&row, &key)
        })
    }

    fn list<'a>(
        &'a self,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<Vec<PasskeyView>, ApiError>> {
        Box::pin(async move {
            let Authorised { account, .. } = self
                .authorise::<CredentialReadOwn>(
                    session_token,
                    |account, _| Self::own_account(account),
                    context,
                )
                .await?;
            let rows = self
                .store
                .passkeys_of(&account.id)
                .await
                .map_err(internal)?;
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            let key = self.subject_key(&account.id).await?;
            rows.iter()
                .map(|row| self.passkey_view(row, &key))
                .collect()
        })
    }

    fn remove<'a>(
        &'a self,
        session_token: &'a str,
        passkey_id: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let Authorised {
                session, account, ..
            } = self
                .authorise::<CredentialRemoveOwn>(
                    session_token,
                    |account, _| Self::own_account(account),
                    context,
                )
                .await?;
            let now = now_ms();
            let mut tx = self.store.begin().await.map_err(internal)?;
            if !tx
                .delete_passkey(&account.id, passkey_id)
                .await
                .map_err(internal)?
            {
                return Err(ApiError::new(
                    404,
                    "not_found",
                    "No such passkey. Reload the list.",
                ));
            }
            // A way into the account is gone: whoever signed in with it elsewhere is signed out.
            let ended = tx
                .revoke_sessions_of(&account.id, Some(&session.id), "passkey_removed", now)
                .await
                .map_err(internal)?;
            let actor = format!("account:{}", account.id);
            let events = vec![
                Event::new(now, actor.clone(), "passkey.removed", Outcome::Success)
                    .target(format!("passkey:{passkey_id}")),
                Event::new(now, actor, "session.revoked_all", Outcome::Success)
                    .detail("reason", "passkey_removed")
                    .detail("count", ended.to_string()),
            ];
            self.audit
                .append(&mut tx, events, now)
                .await
                .map_err(internal)?;
            tx.commit().await.map_err(internal)
        })
    }

    fn sign_in_start<'a>(
        &'a self,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<SignInStart, ApiError>> {
        Box::pin(async move {
            let now = now_ms();
            self.throttle_check(&[source_key(context)], now)?;
            let (options, state) = self
                .passkeys
                .webauthn
                .start_discoverable_authentication()
                .map_err(internal)?;
            let token = SessionToken::generate();
            {
                let mut map = self.passkeys.sign_ins.locked();
                if map.len() >= MAX_OPEN_CEREMONIES {
                    map.retain(|_, (_, started)| now - *started < CEREMONY_VALID_MS);
                }
                if map.len() >= MAX_OPEN_CEREMONIES {
                    return Err(ApiError::new(
                        503,
                        "busy",
                        "Too many sign-ins are under way. Try again in a minute.",
                    )
                    .with("retry_after_secs", 60));
                }
                map.insert(token.lookup_key(), (state, now));
            }
            let mut options = serde_json::to_value(options).map_err(internal)?;
            // webauthn-rs marks this ceremony for autofill ("conditional") UI; the sign-in page
            // asks on a button press instead.
            if let Some(object) = options.as_object_mut() {
                object.remove("mediation");
            }
            Ok(SignInStart {
                ceremony_token: token.to_cookie_value().to_string(),
                options,
            })
        })
    }

    fn sign_in_finish<'a>(
        &'a self,
        ceremony_token: &'a str,
        request: SignInFinishRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<NewSession, ApiError>> {
        Box::pin(async move {
            let now = now_ms();
            let state = self
                .take_sign_in(ceremony_token, now)
                .ok_or_else(ceremony_expired)?;
            let source = vec![source_key(context)];
            self.throttle_check(&source, now)?;
            let _in_flight = self.begin_attempt(&source)?;
            let Ok(credential) = serde_json::from_value::<PublicKeyCredential>(request.credential)
            else {
                self.throttle_fail(&source, now);
                return Err(refused());
            };
            let mut tx = self.store.begin().await.map_err(internal)?;
            let verified = self
                .verify_assertion(&mut tx, state, &credential, now)
                .await;
            let (account, proof) = match verified {
                Ok((account, _, proof)) => (account, proof),
                Err((reason, account_id)) => {
                    tx.rollback().await.map_err(internal)?;
                    let mut keys = source.clone();
                    if let Some(id) = &account_id {
                        keys.push(format!("mfa:{id}"));
                    }
                    self.throttle_fail(&keys, now);
                    let actor = account_id
                        .map_or_else(|| "anonymous".to_owned(), |id| format!("account:{id}"));
                    self.record(
                        Event::new(now, actor, "session.sign_in_failed", Outcome::Failure)
                            .detail("step", "passkey")
                            .detail("reason", reason),
                    )
                    .await;
                    return Err(refused());
                }
            };
            let keys = vec![format!("mfa:{}", account.id)];
            self.throttle_check(&keys, now)?;
            let (token, row) = self
                .issue_session(&mut tx, &account.id, proof, "passkey", context, now, None)
                .await?;
            tx.commit().await.map_err(internal)?;
            self.throttle_succeed(&keys);
            let current = self.current_of(&token, &row, &account).await?;
            Ok(NewSession {
                token: token.to_cookie_value().to_string(),
                current,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_comes_from_the_public_address() {
        let local = RelyingParty::for_public_url(None).unwrap();
        assert_eq!(
            (local.id.as_str(), local.origin.as_str(), local.any_port),
            ("localhost", "https://localhost", true)
        );
        let public =
            RelyingParty::for_public_url(Some("https://moten.bank.example:8443/x")).unwrap();
        assert_eq!(
            (public.id.as_str(), public.origin.as_str(), public.any_port),
            (
                "moten.bank.example",
                "https://moten.bank.example:8443",
                false
            )
        );
        for refused in [
            "http://moten.bank.example",
            "https://192.0.2.7",
            "https://[2001:db8::1]",
            "not a url",
        ] {
            let error = RelyingParty::for_public_url(Some(refused)).unwrap_err();
            assert!(
                error.to_string().contains("server.public_url"),
                "{refused}: {error}"
            );
        }
        // Every accepted relying party builds a verifier.
        Passkeys::new(&public).unwrap();
        Passkeys::new(&local).unwrap();
    }
}
