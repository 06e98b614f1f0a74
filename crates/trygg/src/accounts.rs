//! The identity service: the first administrator, enrolment (password and TOTP), sign-in with a
//! password and a second factor, sessions and their timeouts, throttling, and the audit events
//! of all of it. It joins the decisions of the `identity` crate to the store and the vault.
//!
//! A staff session can only come from [`AccountService::issue_session`], which takes an
//! [`MfaVerified`] proof by value; only a verified TOTP code or recovery code (and later a
//! passkey or an identity provider's MFA assertion) can produce one, so a session without a
//! second factor cannot be written, not merely is not.
//!
//! Answers to sign-in attempts are the same for an unknown address, a wrong password and a
//! disabled account, and cost the same Argon2 work, so they tell an attacker nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use audit::{Event, Outcome};
use base64::Engine as _;
use edge::admin::{AccountSummary, AccountsApi, Enrolment, InviteRequest, RolesRequest};
use edge::identity::{
    AccountView, ApiError, Current, EnrolmentDone, EnrolmentFinishRequest, EnrolmentStart,
    EnrolmentStartRequest, IdentityApi, MfaRequest, NewSession, PasswordChangeRequest,
    PasswordRequest, RequestContext, SessionListItem, SessionView, TotpSetup,
};
use edge::BoxFuture;
use identity::password::{PasswordHasher, PasswordPolicy, PasswordRejection};
use identity::session::{CsrfToken, SessionPolicy, SessionState, SessionToken};
use identity::throttle::{Decision, Throttle, ThrottlePolicy};
use identity::totp::{Totp, TotpSecret};
use identity::MfaVerified;
use policy::{
    AccountDisable, AccountInvite, AccountList, AccountResetMfa, AccountRevokeSessions,
    AccountSetRoles, Action, Allowed, PolicyEngine, Principal, Resource, SessionReadOwn,
    SessionRevokeOwn,
};
use store::{AccountRow, AuditWriter, GroupCommitter, SessionRow, Store, Tx};
use vault::DataKey;

use crate::clock::now_ms;
use crate::keys::{open_value, seal, KeyService};
use crate::locks::Locked;

mod passkeys;

pub use passkeys::RelyingParty;

/// The data key whose blind indexes find accounts by e-mail address.
const LOOKUP_KEY_REF: &str = "category:lookup-index";
/// From this risk score on, a session is ended at once (the policies' `risk-too-high` would
/// refuse everything anyway; ending it also stops it being renewed).
const RISK_REVOKE: u8 = 80;

/// What raising a session's risk did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskOutcome {
    Raised,
    Revoked,
}

/// Credential checks that may run at once for one account or one source address.
const MAX_IN_FLIGHT: u32 = 2;
/// How often a session's last activity is written at most (or a quarter of the idle timeout,
/// if that is shorter).
const TOUCH_INTERVAL_MS: i64 = 60 * 1000;
/// How long an enrolment link works.
pub const ENROLMENT_VALID_MS: i64 = 15 * 60 * 1000;
/// How long the second step of a sign-in may take after the password.
const PENDING_VALID_MS: i64 = 5 * 60 * 1000;
/// Wrong second-factor attempts allowed within one pending sign-in.
const PENDING_MAX_ATTEMPTS: u32 = 5;
/// Concurrent Argon2id computations (each takes 19 MiB): bounds memory under a flood.
const MAX_CONCURRENT_HASHES: usize = 4;
const ISSUER: &str = "Trygg";

/// The identity service of a running server (also used by `trygg admin bootstrap`).
#[derive(Debug)]
pub struct AccountService {
    store: Store,
    keys: Arc<KeyService>,
    audit: AuditWriter,
    audit_queue: Option<GroupCommitter>,
    hasher: PasswordHasher,
    password_policy: PasswordPolicy,
    session_policy: SessionPolicy,
    totp: Totp,
    throttle: Mutex<Throttle>,
    pending: Mutex<HashMap<[u8; 32], Pending>>,
    /// Credential checks under way per throttling key (see [`InFlight`]).
    in_flight: Arc<Mutex<HashMap<String, u32>>>,
    policy: PolicyEngine,
    step_up_max_age_secs: u64,
    /// The key of the e-mail blind index, opened once: it never changes (a key rotation
    /// re-wraps it, which leaves the key itself as it is).
    lookup: DataKey,
    passkeys: passkeys::Passkeys,
}

/// What the configuration sets about sign-in.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    pub sessions: SessionPolicy,
    /// How recent a second factor sensitive actions need (at most 300 s).
    pub step_up_max_age_secs: u64,
    /// Where passkeys are valid.
    pub relying_party: RelyingParty,
}

impl Default for AccountSettings {
    fn default() -> AccountSettings {
        AccountSettings {
            sessions: SessionPolicy::default(),
            step_up_max_age_secs: 300,
            relying_party: RelyingParty {
                id: "localhost".into(),
                origin: "https://localhost".into(),
                any_port: true,
            },
        }
    }
}

/// A sign-in that passed the password and waits for its second factor. Kept in memory: a
/// restart asks people to type their password again, which is the safe direction.
#[derive(Debug, Clone)]
struct Pending {
    account_id: String,
    created_at_ms: i64,
    failed_attempts: u32,
}

/// A request whose session is live and whose holder the policy allowed to do `A`.
#[derive(Debug)]
pub struct Authorised<A: Action> {
    pub account: AccountRow,
    pub session: SessionRow,
    pub allowed: Allowed<A>,
}

/// What bootstrap made: the account and its one-time enrolment token.
#[derive(Debug, serde::Serialize)]
pub struct Bootstrapped {
    pub account_id: String,
    pub token: String,
    pub expires_at_ms: i64,
}

impl AccountService {
    /// Sets the service up; creates the lookup-index key on first use.
    pub async fn new(
        store: Store,
        keys: Arc<KeyService>,
        audit: AuditWriter,
        audit_queue: Option<GroupCommitter>,
        settings: AccountSettings,
    ) -> anyhow::Result<AccountService> {
        let AccountSettings {
            sessions: session_policy,
            step_up_max_age_secs,
            relying_party,
        } = settings;
        session_policy
            .validate()
            .map_err(|error| anyhow::anyhow!("session timeouts: {error}"))?;
        let throttle = Throttle::new(ThrottlePolicy::default())
            .map_err(|error| anyhow::anyhow!("throttle policy: {error}"))?;
        let lookup = open_lookup_key(&store, &keys, &audit).await?;
        let service = AccountService {
            lookup,
            passkeys: passkeys::Passkeys::new(&relying_party)?,
            store,
            keys,
            audit,
            audit_queue,
            hasher: PasswordHasher::new(Default::default(), MAX_CONCURRENT_HASHES),
            password_policy: PasswordPolicy::default(),
            session_policy,
            step_up_max_age_secs: step_up_max_age_secs.clamp(1, 300),
            totp: Totp::default(),
            throttle: Mutex::new(throttle),
            pending: Mutex::new(HashMap::new()),
            in_flight: Arc::new(Mutex::new(HashMap::new())),
            policy: PolicyEngine::embedded()
                .map_err(|error| anyhow::anyhow!("the built-in authorisation policies: {error}"))?,
        };
        Ok(service)
    }

    /// The store, the key service and the audit writer, for the single sign-on service, which
    /// shares them (and this service's session rules) rather than keeping its own.
    pub(crate) fn parts(&self) -> (&Store, &Arc<KeyService>, &AuditWriter) {
        (&self.store, &self.keys, &self.audit)
    }

    /// The account as its holder sees it (name and address decrypted).
    pub(crate) async fn view_of(&self, account: &AccountRow) -> Result<AccountView, ApiError> {
        self.view(account).await
    }

    /// Which of these sessions may no longer be used: revoked, expired (revoked now, and
    /// audited, as a request would), or gone. The others count as active: a live meeting
    /// connection is activity, so their last-seen time moves as a request's would.
    pub(crate) async fn ended_sessions_among(
        &self,
        ids: &[String],
    ) -> anyhow::Result<std::collections::HashSet<String>> {
        let rows = self.store.sessions_by_ids(ids).await?;
        let now = now_ms();
        let mut ended: std::collections::HashSet<String> = ids.iter().cloned().collect();
        let touch_interval = TOUCH_INTERVAL_MS.min(self.session_policy.idle_ms / 4);
        for row in rows {
            if row.revoked_at_ms.is_some() {
                continue;
            }
            match self
                .session_policy
                .evaluate(row.created_at_ms, row.last_seen_ms, now)
            {
                SessionState::Active => {
                    ended.remove(&row.id);
                    if now - row.last_seen_ms >= touch_interval {
                        self.store.touch_session(&row.id, now).await?;
                    }
                }
                SessionState::IdleExpired => {
                    self.revoke(&row, "idle_timeout", now)
                        .await
                        .map_err(|error| anyhow::anyhow!(error.message))?;
                }
                SessionState::AbsoluteExpired => {
                    self.revoke(&row, "absolute_timeout", now)
                        .await
                        .map_err(|error| anyhow::anyhow!(error.message))?;
                }
            }
        }
        Ok(ended)
    }

    /// The Argon2id hasher and its concurrency limit, shared with meeting passcodes so that the
    /// memory bound holds for all hashing together.
    pub(crate) fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// The blind-index key that finds accounts by e-mail address.
    pub(crate) fn lookup_key(&self) -> &DataKey {
        &self.lookup
    }

    /// Creates the first administrator with a one-time enrolment link. Refused once any
    /// administrator exists: later accounts are invited by administrators.
    pub async fn bootstrap(&self, email: &str, display_name: &str) -> anyhow::Result<Bootstrapped> {
        let email = normalise_email(email).ok_or_else(|| {
            anyhow::anyhow!("--email: expected an e-mail address such as name@example.com")
        })?;
        let display_name = valid_name(display_name).ok_or_else(|| {
            anyhow::anyhow!("--name: expected the person's name, 1 to 200 characters")
        })?;
        if self.store.count_accounts_with_role("admin").await? > 0 {
            anyhow::bail!(
                "an administrator already exists; administrators invite further accounts"
            );
        }
        let (account_id, token, expires_at_ms) = self
            .create_staff_account(
                &email,
                &display_name,
                &["admin".to_owned()],
                "system",
                "bootstrap",
            )
            .await
            .map_err(|error| anyhow::anyhow!("{}", error.message))?;
        Ok(Bootstrapped {
            account_id,
            token,
            expires_at_ms,
        })
    }

    /// Creates a pending staff account with an enrolment link, all in one transaction with its
    /// audit entries. Returns the account id, the link's token and when it expires.
    async fn create_staff_account(
        &self,
        email: &str,
        display_name: &str,
        roles: &[String],
        actor: &str,
        via: &str,
    ) -> Result<(String, String, i64), ApiError> {
        let now = now_ms();
        let account_id = random_id();
        let email_index = self.lookup.blind_index("email", email.as_bytes());
        if self
            .store
            .account_by_email_index(&email_index)
            .await
            .map_err(internal)?
            .is_some()
        {
            return Err(ApiError::new(
                409,
                "account_exists",
                "An account with that e-mail address already exists.",
            ));
        }
        let mut tx = self.store.begin().await.map_err(internal)?;
        let subject = self
            .keys
            .create(&mut tx, &subject_key_ref(&account_id))
            .await
            .map_err(internal)?;
        tx.insert_account(&AccountRow {
            id: account_id.clone(),
            kind: "staff".into(),
            email_index: email_index.to_vec(),
            email_enc: seal(&subject, "accounts", "email", &account_id, email.as_bytes()),
            display_name_enc: seal(
                &subject,
                "accounts",
                "display_name",
                &account_id,
                display_name.as_bytes(),
            ),
            roles: roles.join(","),
            status: "pending".into(),
            created_at_ms: now,
            updated_at_ms: now,
        })
        .await
        .map_err(internal)?;
        let (token, expires_at_ms) = self.issue_enrolment(&mut tx, &account_id, now).await?;
        let target = format!("account:{account_id}");
        let events = vec![
            Event::new(now, actor, "keys.data_key_created", Outcome::Success)
                .target(subject_key_ref(&account_id)),
            Event::new(now, actor, "account.created", Outcome::Success)
                .target(target.clone())
                .detail("roles", roles.join(","))
                .detail("via", via),
            Event::new(now, actor, "enrolment.issued", Outcome::Success).target(target),
        ];
        self.audit
            .append(&mut tx, events, now)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok((account_id, token, expires_at_ms))
    }

    /// A one-time enrolment token for `account_id`, stored only as its hash.
    async fn issue_enrolment(
        &self,
        tx: &mut Tx,
        account_id: &str,
        now: i64,
    ) -> Result<(String, i64), ApiError> {
        let token = SessionToken::generate();
        let expires_at_ms = now + ENROLMENT_VALID_MS;
        tx.insert_enrolment(&token.lookup_key(), account_id, expires_at_ms)
            .await
            .map_err(internal)?;
        Ok((token.to_cookie_value().to_string(), expires_at_ms))
    }

    /// Continuous verification: the detection side raises a session's risk. From 80 on the
    /// session ends at once; from 50 on the policies refuse it sensitive actions. `reason` is a
    /// short code (letters, digits, `_`, `.`), never free text, since it goes into the audit trail.
    pub async fn raise_session_risk(
        &self,
        session_id: &str,
        score: u8,
        reason: &str,
    ) -> anyhow::Result<RiskOutcome> {
        let reason_ok = !reason.is_empty()
            && reason.len() <= 64
            && reason
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
        if !reason_ok {
            anyhow::bail!("--reason: expected a short code such as impossible_travel");
        }
        let score = score.min(100);
        let session = self
            .store
            .session_by_id(session_id)
            .await?
            .filter(|row| row.revoked_at_ms.is_none())
            .ok_or_else(|| anyhow::anyhow!("no live session with that id"))?;
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let outcome = if score >= RISK_REVOKE {
            tx.revoke_session(&session.account_id, &session.id, "risk", now)
                .await?;
            RiskOutcome::Revoked
        } else {
            tx.set_session_risk(&session.id, i64::from(score)).await?;
            RiskOutcome::Raised
        };
        let event = Event::new(now, "system", "session.risk_raised", Outcome::Success)
            .target(format!("session:{}", session.id))
            .detail("account", format!("account:{}", session.account_id))
            .detail("score", score.to_string())
            .detail("reason", reason)
            .detail("revoked", (outcome == RiskOutcome::Revoked).to_string());
        self.audit.append(&mut tx, vec![event], now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// The only way a session comes into being: it needs the proof of a second factor (or of a
    /// multi-factor sign-in at an identity provider). `roles_limit` narrows the session to some
    /// of the account's roles (single sign-on passes the roles the provider also asserted).
    // Each argument is one fact the session records; a struct for them would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn issue_session(
        &self,
        tx: &mut Tx,
        account_id: &str,
        proof: MfaVerified,
        first_factor: &str,
        context: &RequestContext,
        now: i64,
        roles_limit: Option<String>,
    ) -> Result<(SessionToken, SessionRow), ApiError> {
        let token = SessionToken::generate();
        // A passkey is both factors at once: its method is just "passkey".
        let method = match mfa_method_name(&proof) {
            second if second == first_factor => second.to_owned(),
            second => format!("{first_factor}+{second}"),
        };
        let row = SessionRow {
            id: random_id(),
            lookup_key: token.lookup_key().to_vec(),
            account_id: account_id.to_owned(),
            auth_method: method.clone(),
            mfa_at_ms: Some(proof.verified_at_ms()),
            device: describe_device(context.user_agent.as_deref()),
            risk: 0,
            created_at_ms: now,
            last_seen_ms: now,
            revoked_at_ms: None,
            revoked_reason: None,
            roles_limit: roles_limit.clone(),
        };
        tx.insert_session(&row).await.map_err(internal)?;
        let mut event = Event::new(
            now,
            format!("account:{account_id}"),
            "session.created",
            Outcome::Success,
        )
        .target(format!("session:{}", row.id))
        .detail("method", method);
        if let Some(roles) = roles_limit {
            event = event.detail("roles_limit", roles);
        }
        self.audit
            .append(tx, vec![event], now)
            .await
            .map_err(internal)?;
        Ok((token, row))
    }

    pub(crate) async fn subject_key(&self, account_id: &str) -> Result<DataKey, ApiError> {
        self.keys
            .open(&self.store, &subject_key_ref(account_id))
            .await
            .map_err(internal)?
            .ok_or_else(|| ApiError::new(410, "account_erased", "This account no longer exists."))
    }

    async fn view(&self, account: &AccountRow) -> Result<AccountView, ApiError> {
        let key = self.subject_key(&account.id).await?;
        let open = |column: &str, value: &[u8]| {
            open_value(&key, "accounts", column, &account.id, value)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .map_err(internal)
        };
        Ok(AccountView {
            id: account.id.clone(),
            kind: account.kind.clone(),
            display_name: open("display_name", &account.display_name_enc)?,
            email: open("email", &account.email_enc)?,
            roles: account
                .roles
                .split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }

    pub(crate) async fn current_of(
        &self,
        token: &SessionToken,
        row: &SessionRow,
        account: &AccountRow,
    ) -> Result<Current, ApiError> {
        let mut account_view = self.view(account).await?;
        if let Some(limit) = &row.roles_limit {
            account_view
                .roles
                .retain(|role| limit.split(',').any(|allowed| allowed == role));
        }
        Ok(Current {
            account: account_view,
            session: SessionView {
                id: row.id.clone(),
                auth_method: row.auth_method.clone(),
                created_at_ms: row.created_at_ms,
                mfa_at_ms: row.mfa_at_ms,
            },
            csrf_token: CsrfToken::for_session(&token.lookup_key())
                .expose()
                .to_owned(),
        })
    }

    /// The live session and account behind a session token, or 401. Expired sessions are
    /// revoked (and audited) on the spot.
    pub(crate) async fn authenticate(
        &self,
        token_text: &str,
    ) -> Result<(SessionToken, SessionRow, AccountRow), ApiError> {
        let token = SessionToken::parse(token_text).ok_or_else(ApiError::unauthenticated)?;
        let (row, account) = self
            .store
            .session_and_account_by_lookup(&token.lookup_key())
            .await
            .map_err(internal)?
            .ok_or_else(ApiError::unauthenticated)?;
        if row.revoked_at_ms.is_some() {
            return Err(ApiError::unauthenticated());
        }
        let now = now_ms();
        let reason = match self
            .session_policy
            .evaluate(row.created_at_ms, row.last_seen_ms, now)
        {
            SessionState::Active => None,
            SessionState::IdleExpired => Some("idle_timeout"),
            SessionState::AbsoluteExpired => Some("absolute_timeout"),
        };
        if let Some(reason) = reason {
            self.revoke(&row, reason, now).await?;
            return Err(ApiError::new(
                401,
                "session_expired",
                "Your session has ended. Sign in again.",
            ));
        }
        if account.status != "active" {
            self.revoke(&row, "account_not_active", now).await?;
            return Err(ApiError::unauthenticated());
        }
        // Activity is recorded at most once a minute: the idle timeout does not need finer
        // steps, and a durable write on every request would cost more than the request.
        let touch_interval = TOUCH_INTERVAL_MS.min(self.session_policy.idle_ms / 4);
        if now - row.last_seen_ms >= touch_interval {
            self.store
                .touch_session(&row.id, now)
                .await
                .map_err(internal)?;
        }
        Ok((token, row, account))
    }

    async fn revoke(&self, row: &SessionRow, reason: &str, now: i64) -> Result<(), ApiError> {
        let mut tx = self.store.begin().await.map_err(internal)?;
        if tx
            .revoke_session(&row.account_id, &row.id, reason, now)
            .await
            .map_err(internal)?
        {
            let event = Event::new(
                now,
                format!("account:{}", row.account_id),
                "session.revoked",
                Outcome::Success,
            )
            .target(format!("session:{}", row.id))
            .detail("reason", reason);
            self.audit
                .append(&mut tx, vec![event], now)
                .await
                .map_err(internal)?;
        }
        tx.commit().await.map_err(internal)
    }

    /// Writes an event that records no other change (a refused attempt) through group commit.
    pub(crate) async fn record(&self, event: Event) {
        let result = match &self.audit_queue {
            Some(queue) => queue.record(event).await,
            None => {
                let now = event.at_ms;
                async {
                    let mut tx = self.store.begin().await?;
                    self.audit.append(&mut tx, vec![event], now).await?;
                    tx.commit().await
                }
                .await
            }
        };
        if let Err(error) = result {
            tracing::error!(%error, "could not write a security event to the audit trail");
        }
    }

    fn throttle_check(&self, keys: &[String], now: i64) -> Result<(), ApiError> {
        let throttle = self.throttle.locked();
        for key in keys {
            match throttle.check(key, now) {
                Decision::Allowed => {}
                Decision::RetryAfter { ms } => return Err(throttled(ms)),
                Decision::Locked { until_ms } => return Err(throttled(until_ms - now)),
            }
        }
        Ok(())
    }

    /// Counts a failure against every key; returns the keys this failure locked.
    fn throttle_fail(&self, keys: &[String], now: i64) -> Vec<String> {
        let mut throttle = self.throttle.locked();
        throttle.prune(now);
        keys.iter()
            .filter(|key| {
                matches!(
                    throttle.record_failure(key, now),
                    identity::throttle::Event::Locked { .. }
                )
            })
            .cloned()
            .collect()
    }

    fn throttle_succeed(&self, keys: &[String]) {
        let mut throttle = self.throttle.locked();
        for key in keys {
            throttle.record_success(key);
        }
    }

    /// Admits a credential check only while fewer than [`MAX_IN_FLIGHT`] checks for any of
    /// `keys` are under way. Failures are counted when a check ends, so without this a burst
    /// of simultaneous guesses would all pass the throttle before the first failure counted.
    fn begin_attempt(&self, keys: &[String]) -> Result<InFlight, ApiError> {
        let mut in_flight = self.in_flight.locked();
        if keys
            .iter()
            .any(|key| in_flight.get(key).copied().unwrap_or(0) >= MAX_IN_FLIGHT)
        {
            return Err(throttled(1_000));
        }
        for key in keys {
            *in_flight.entry(key.clone()).or_insert(0) += 1;
        }
        Ok(InFlight {
            keys: keys.to_vec(),
            table: Arc::clone(&self.in_flight),
        })
    }

    /// Checks a TOTP code or a recovery code of `account_id` and, if it is right, uses it up in
    /// `tx` (the TOTP step is recorded, the recovery code deleted), so it cannot work twice.
    /// `Ok(None)` is a wrong or reused code.
    async fn verify_second_factor(
        &self,
        tx: &mut Tx,
        account_id: &str,
        request: &MfaRequest,
        now: i64,
    ) -> Result<Option<MfaVerified>, ApiError> {
        match (&request.totp_code, &request.recovery_code) {
            (Some(code), None) => {
                let Some((secret, last_step)) = self.totp_secret(account_id).await? else {
                    return Ok(None);
                };
                match self
                    .totp
                    .verify_for_login(&secret, code.trim(), unix_secs(now), last_step)
                {
                    // The database decides the race between two uses of one code.
                    Ok((step, proof)) => Ok(tx
                        .use_totp_step(account_id, i64::try_from(step).unwrap_or(i64::MAX))
                        .await
                        .map_err(internal)?
                        .then_some(proof)),
                    Err(_) => Ok(None),
                }
            }
            (None, Some(code)) => {
                let stored = self
                    .store
                    .recovery_code_hashes(account_id)
                    .await
                    .map_err(internal)?;
                match identity::recovery::find_for_login(account_id, code, &stored, now) {
                    Some((index, proof)) => Ok(tx
                        .consume_recovery_code(account_id, &stored[index])
                        .await
                        .map_err(internal)?
                        .then_some(proof)),
                    None => Ok(None),
                }
            }
            _ => Err(ApiError::new(
                400,
                "bad_request",
                "Give either a code from your app or a recovery code.",
            )),
        }
    }

    /// Authenticates `session_token` and asks the policy whether its holder may do `A` to the
    /// resource `resource` names (given the account and session, so ownership can be decided).
    /// This is the way in for every service outside this one: a live session, its account, and
    /// the proof the operation takes.
    pub async fn authorise<A: Action>(
        &self,
        session_token: &str,
        resource: impl FnOnce(&AccountRow, &SessionRow) -> Resource,
        context: &RequestContext,
    ) -> Result<Authorised<A>, ApiError> {
        let (_, session, account) = self.authenticate(session_token).await?;
        let resource = resource(&account, &session);
        let allowed = self
            .authorize::<A>(&account, &session, &resource, context)
            .await?;
        Ok(Authorised {
            account,
            session,
            allowed,
        })
    }

    /// Asks the policy whether `account`, on session `session`, may do `A` to `resource`. Every
    /// decision is a security event (with the policies that decided, never personal data); a
    /// refusal is also audited. The `Allowed<A>` it returns is what the operation requires.
    pub(crate) async fn authorize<A: Action>(
        &self,
        account: &AccountRow,
        session: &SessionRow,
        resource: &Resource,
        request: &RequestContext,
    ) -> Result<Allowed<A>, ApiError> {
        let now = now_ms();
        let principal = principal_limited(account, session.roles_limit.as_deref());
        let context = policy::Context {
            auth_method: session.auth_method.clone(),
            mfa_age_secs: session.mfa_at_ms.map_or(u64::MAX, |at| {
                u64::try_from((now - at).max(0) / 1000).unwrap_or(u64::MAX)
            }),
            session_age_secs: u64::try_from((now - session.created_at_ms).max(0) / 1000)
                .unwrap_or(u64::MAX),
            device_id: session.id.clone(),
            source: request
                .source
                .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            risk_score: u8::try_from(session.risk.clamp(0, 100)).unwrap_or(100),
            step_up_max_age_secs: self.step_up_max_age_secs,
        };
        match self.policy.authorize::<A>(&principal, resource, &context) {
            Ok(allowed) => {
                tracing::info!(
                    target: "trygg::security",
                    action = A::NAME,
                    decision = "allow",
                    policies = %allowed.determining_policies().join(","),
                    "authorisation"
                );
                Ok(allowed)
            }
            Err(denied) => {
                let policies = denied.determining_policies().join(",");
                tracing::warn!(
                    target: "trygg::security",
                    action = A::NAME,
                    decision = "deny",
                    policies = %policies,
                    "authorisation"
                );
                self.record(
                    Event::new(
                        now,
                        format!("account:{}", account.id),
                        "authz.denied",
                        Outcome::Denied,
                    )
                    .target(format!("{}:{}", resource.kind().as_str(), resource.id()))
                    .detail("action", A::NAME)
                    .detail("policies", policies),
                )
                .await;
                Err(if denied.step_up_required() {
                    ApiError::new(
                        403,
                        "step_up_required",
                        "Confirm with your second factor to do this.",
                    )
                } else {
                    ApiError::new(403, "forbidden", "You are not allowed to do this.")
                })
            }
        }
    }

    /// The live sessions of `account`; needs the policy's consent.
    async fn list_sessions(
        &self,
        _allowed: Allowed<SessionReadOwn>,
        account: &AccountRow,
        current: &SessionRow,
    ) -> Result<Vec<SessionListItem>, ApiError> {
        let now = now_ms();
        let rows = self
            .store
            .live_sessions_of(&account.id)
            .await
            .map_err(internal)?;
        Ok(rows
            .into_iter()
            .filter(|row| {
                self.session_policy
                    .evaluate(row.created_at_ms, row.last_seen_ms, now)
                    == SessionState::Active
            })
            .map(|row| SessionListItem {
                current: row.id == current.id,
                id: row.id,
                device: row.device,
                auth_method: row.auth_method,
                created_at_ms: row.created_at_ms,
                last_seen_ms: row.last_seen_ms,
            })
            .collect())
    }

    /// Ends one session; needs the policy's consent.
    async fn end_session(
        &self,
        _allowed: Allowed<SessionRevokeOwn>,
        target: &SessionRow,
    ) -> Result<(), ApiError> {
        let now = now_ms();
        let mut tx = self.store.begin().await.map_err(internal)?;
        if !tx
            .revoke_session(&target.account_id, &target.id, "revoked_by_user", now)
            .await
            .map_err(internal)?
        {
            return Err(ApiError::new(
                404,
                "not_found",
                "No such session. Reload the list.",
            ));
        }
        let event = Event::new(
            now,
            format!("account:{}", target.account_id),
            "session.revoked",
            Outcome::Success,
        )
        .target(format!("session:{}", target.id))
        .detail("reason", "revoked_by_user");
        self.audit
            .append(&mut tx, vec![event], now)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)
    }

    async fn enrolment_account(
        &self,
        token_text: &str,
    ) -> Result<(SessionToken, AccountRow), ApiError> {
        let invalid = || {
            ApiError::new(
                410,
                "enrolment_invalid",
                "This enrolment link has expired or has already been used. Ask your administrator for a new one.",
            )
        };
        let token = SessionToken::parse(token_text).ok_or_else(invalid)?;
        let mut tx = self.store.begin().await.map_err(internal)?;
        let account_id = tx
            .enrolment_account(&token.lookup_key(), now_ms())
            .await
            .map_err(internal)?
            .ok_or_else(invalid)?;
        tx.rollback().await.map_err(internal)?;
        let account = self
            .store
            .account(&account_id)
            .await
            .map_err(internal)?
            .ok_or_else(invalid)?;
        if account.status != "pending" {
            return Err(invalid());
        }
        Ok((token, account))
    }

    async fn totp_secret(
        &self,
        account_id: &str,
    ) -> Result<Option<(TotpSecret, Option<u64>)>, ApiError> {
        let Some((secret_enc, last_step)) = self.store.totp(account_id).await.map_err(internal)?
        else {
            return Ok(None);
        };
        let key = self.subject_key(account_id).await?;
        let bytes = open_value(&key, "totp_credentials", "secret", account_id, &secret_enc)
            .map_err(internal)?;
        let secret = TotpSecret::from_bytes(&bytes).map_err(internal)?;
        Ok(Some((
            secret,
            last_step.and_then(|step| u64::try_from(step).ok()),
        )))
    }
}

impl IdentityApi for AccountService {
    fn csrf_valid(&self, session_token: &str, presented: &str) -> bool {
        SessionToken::parse(session_token)
            .is_some_and(|token| identity::session::verify_csrf(&token.lookup_key(), presented))
    }

    fn current<'a>(
        &'a self,
        session_token: &'a str,
        _context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<Current, ApiError>> {
        Box::pin(async move {
            let (token, row, account) = self.authenticate(session_token).await?;
            self.current_of(&token, &row, &account).await
        })
    }

    fn password_step<'a>(
        &'a self,
        request: PasswordRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<String, ApiError>> {
        Box::pin(async move {
            let now = now_ms();
            let email = normalise_email(&request.email).unwrap_or_default();
            let email_index = self.lookup.blind_index("email", email.as_bytes());
            // Throttle by the address tried (known or not, so throttling reveals nothing) and by
            // the source network.
            let keys = vec![
                format!("email:{}", hex::encode(&email_index[..12])),
                source_key(context),
            ];
            self.throttle_check(&keys, now)?;
            let _in_flight = self.begin_attempt(&keys)?;

            let account = self
                .store
                .account_by_email_index(&email_index)
                .await
                .map_err(internal)?;
            let phc = match &account {
                Some(account) => self.store.password(&account.id).await.map_err(internal)?,
                None => None,
            };
            let password_ok = match &phc {
                Some(phc) => self
                    .hasher
                    .verify(phc, &request.password)
                    .await
                    .unwrap_or(false),
                None => {
                    self.hasher.verify_dummy(&request.password).await;
                    false
                }
            };
            let usable = account
                .as_ref()
                .filter(|account| account.status == "active" && password_ok);
            let Some(account) = usable else {
                let locked = self.throttle_fail(&keys, now);
                let actor = account
                    .as_ref()
                    .map_or_else(|| "unknown".to_owned(), |a| format!("account:{}", a.id));
                self.record(
                    Event::new(
                        now,
                        actor.clone(),
                        "session.sign_in_failed",
                        Outcome::Failure,
                    )
                    .detail("step", "password"),
                )
                .await;
                if !locked.is_empty() {
                    self.record(
                        Event::new(now, actor, "sign_in.locked", Outcome::Denied)
                            .detail("scope", scope_names(&locked)),
                    )
                    .await;
                }
                return Err(ApiError::new(
                    401,
                    "invalid_credentials",
                    "The e-mail address or password is wrong. Check them and try again.",
                ));
            };
            let pending_token = SessionToken::generate();
            let mut pending = self.pending.locked();
            pending.retain(|_, entry| now - entry.created_at_ms < PENDING_VALID_MS);
            pending.insert(
                pending_token.lookup_key(),
                Pending {
                    account_id: account.id.clone(),
                    created_at_ms: now,
                    failed_attempts: 0,
                },
            );
            Ok(pending_token.to_cookie_value().to_string())
        })
    }

    fn mfa_step<'a>(
        &'a self,
        pending_token: &'a str,
        request: MfaRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<NewSession, ApiError>> {
        Box::pin(async move {
            let now = now_ms();
            let expired = || {
                ApiError::new(
                    401,
                    "mfa_expired",
                    "Your sign-in took too long. Start again.",
                )
            };
            let pending_key = SessionToken::parse(pending_token)
                .ok_or_else(expired)?
                .lookup_key();
            let pending = {
                let map = self.pending.locked();
                map.get(&pending_key)
                    .filter(|entry| now - entry.created_at_ms < PENDING_VALID_MS)
                    .cloned()
                    .ok_or_else(expired)?
            };
            let account_id = pending.account_id.clone();
            let keys = vec![format!("mfa:{account_id}"), source_key(context)];
            self.throttle_check(&keys, now)?;
            let _in_flight = self.begin_attempt(&keys)?;

            let mut tx = self.store.begin().await.map_err(internal)?;
            let verified = self
                .verify_second_factor(&mut tx, &account_id, &request, now)
                .await?
                .map(|proof| (proof, "password"));
            let Some((proof, first_factor)) = verified else {
                tx.rollback().await.map_err(internal)?;
                let locked = self.throttle_fail(&keys, now);
                {
                    let mut map = self.pending.locked();
                    if let Some(entry) = map.get_mut(&pending_key) {
                        entry.failed_attempts += 1;
                        if entry.failed_attempts >= PENDING_MAX_ATTEMPTS {
                            map.remove(&pending_key);
                        }
                    }
                }
                let actor = format!("account:{account_id}");
                self.record(
                    Event::new(
                        now,
                        actor.clone(),
                        "session.sign_in_failed",
                        Outcome::Failure,
                    )
                    .detail(
                        "step",
                        if request.totp_code.is_some() {
                            "totp"
                        } else {
                            "recovery_code"
                        },
                    ),
                )
                .await;
                if !locked.is_empty() {
                    self.record(
                        Event::new(now, actor, "sign_in.locked", Outcome::Denied)
                            .detail("scope", scope_names(&locked)),
                    )
                    .await;
                }
                return Err(ApiError::new(
                    401,
                    "invalid_code",
                    "The code is wrong or has already been used. Wait for the next code and try again.",
                ));
            };
            let used_recovery = request.recovery_code.is_some();
            let (token, row) = self
                .issue_session(
                    &mut tx,
                    &account_id,
                    proof,
                    first_factor,
                    context,
                    now,
                    None,
                )
                .await?;
            if used_recovery {
                let event = Event::new(
                    now,
                    format!("account:{account_id}"),
                    "mfa.recovery_code_used",
                    Outcome::Success,
                );
                self.audit
                    .append(&mut tx, vec![event], now)
                    .await
                    .map_err(internal)?;
            }
            tx.commit().await.map_err(internal)?;
            self.pending.locked().remove(&pending_key);
            self.throttle_succeed(&keys[..1]);
            let account = self
                .store
                .account(&account_id)
                .await
                .map_err(internal)?
                .ok_or_else(ApiError::unauthenticated)?;
            let current = self.current_of(&token, &row, &account).await?;
            Ok(NewSession {
                token: token.to_cookie_value().to_string(),
                current,
            })
        })
    }

    fn sign_out<'a>(
        &'a self,
        session_token: &'a str,
        _context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let (_, row, _) = self.authenticate(session_token).await?;
            self.revoke(&row, "sign_out", now_ms()).await
        })
    }

    fn sessions<'a>(
        &'a self,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<Vec<SessionListItem>, ApiError>> {
        Box::pin(async move {
            let (_, current, account) = self.authenticate(session_token).await?;
            let resource = Resource::session(current.id.clone(), principal_of(&account).id());
            let allowed = self
                .authorize::<SessionReadOwn>(&account, &current, &resource, context)
                .await?;
            self.list_sessions(allowed, &account, &current).await
        })
    }

    fn revoke_session<'a>(
        &'a self,
        session_token: &'a str,
        session_id: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let (_, current, account) = self.authenticate(session_token).await?;
            let not_found = || ApiError::new(404, "not_found", "No such session. Reload the list.");
            let target = self
                .store
                .session_by_id(session_id)
                .await
                .map_err(internal)?
                .filter(|row| row.revoked_at_ms.is_none())
                .ok_or_else(not_found)?;
            let owner = self
                .store
                .account(&target.account_id)
                .await
                .map_err(internal)?
                .ok_or_else(not_found)?;
            let resource = Resource::session(target.id.clone(), principal_of(&owner).id());
            // Someone else's session answers as if it did not exist, after the refusal is audited.
            let allowed = self
                .authorize::<SessionRevokeOwn>(&account, &current, &resource, context)
                .await
                .map_err(|_| not_found())?;
            self.end_session(allowed, &target).await
        })
    }

    fn step_up<'a>(
        &'a self,
        session_token: &'a str,
        request: MfaRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<Current, ApiError>> {
        Box::pin(async move {
            let (token, row, account) = self.authenticate(session_token).await?;
            let now = now_ms();
            let actor = format!("account:{}", account.id);
            let keys = vec![format!("mfa:{}", account.id), source_key(context)];
            self.throttle_check(&keys, now)?;
            let _in_flight = self.begin_attempt(&keys)?;
            let mut tx = self.store.begin().await.map_err(internal)?;
            let Some(proof) = self
                .verify_second_factor(&mut tx, &account.id, &request, now)
                .await?
            else {
                tx.rollback().await.map_err(internal)?;
                self.throttle_fail(&keys, now);
                self.record(Event::new(
                    now,
                    actor,
                    "session.step_up_failed",
                    Outcome::Failure,
                ))
                .await;
                return Err(ApiError::new(
                    401,
                    "invalid_code",
                    "The code is wrong or has already been used. Wait for the next code and try again.",
                ));
            };
            if !tx
                .set_session_mfa(&row.id, proof.verified_at_ms())
                .await
                .map_err(internal)?
            {
                return Err(ApiError::unauthenticated());
            }
            let event = Event::new(now, actor, "session.stepped_up", Outcome::Success)
                .target(format!("session:{}", row.id))
                .detail("method", mfa_method_name(&proof));
            self.audit
                .append(&mut tx, vec![event], now)
                .await
                .map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            self.throttle_succeed(&keys[..1]);
            let row = SessionRow {
                mfa_at_ms: Some(proof.verified_at_ms()),
                ..row
            };
            self.current_of(&token, &row, &account).await
        })
    }

    fn change_password<'a>(
        &'a self,
        session_token: &'a str,
        request: PasswordChangeRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<NewSession, ApiError>> {
        Box::pin(async move {
            let (_, _, account) = self.authenticate(session_token).await?;
            let now = now_ms();
            let actor = format!("account:{}", account.id);
            let keys = vec![format!("mfa:{}", account.id), source_key(context)];
            self.throttle_check(&keys, now)?;
            let _in_flight = self.begin_attempt(&keys)?;
            let phc = self
                .store
                .password(&account.id)
                .await
                .map_err(internal)?
                .unwrap_or_default();
            let password_ok = self
                .hasher
                .verify(&phc, &request.current_password)
                .await
                .unwrap_or(false);
            let second_factor = match self.totp_secret(&account.id).await? {
                Some((secret, last_step)) if password_ok => self
                    .totp
                    .verify_for_login(&secret, request.totp_code.trim(), unix_secs(now), last_step)
                    .ok(),
                _ => None,
            };
            let Some((step, proof)) = second_factor else {
                self.throttle_fail(&keys, now);
                self.record(
                    Event::new(
                        now,
                        actor,
                        "credential.password_change_failed",
                        Outcome::Failure,
                    )
                    .detail("step", if password_ok { "totp" } else { "password" }),
                )
                .await;
                return Err(ApiError::new(
                    401,
                    "invalid_credentials",
                    "The current password or the code is wrong. Check them and try again.",
                ));
            };
            let view = self.view(&account).await?;
            let local_part = view.email.split('@').next().unwrap_or_default().to_owned();
            self.password_policy
                .check(
                    &request.new_password,
                    true,
                    &[&view.display_name, &local_part, &view.email],
                )
                .map_err(password_rejected)?;
            let new_phc = self
                .hasher
                .hash(&request.new_password)
                .await
                .map_err(internal)?;

            let mut tx = self.store.begin().await.map_err(internal)?;
            if !tx
                .use_totp_step(&account.id, i64::try_from(step).unwrap_or(i64::MAX))
                .await
                .map_err(internal)?
            {
                return Err(ApiError::new(401, "invalid_code", "The code is wrong or has already been used. Wait for the next code and try again."));
            }
            tx.set_password(&account.id, &new_phc, now)
                .await
                .map_err(internal)?;
            // Every session ends, this one included: a password change is exactly when an
            // attacker holding an old session must lose it.
            let ended = tx
                .revoke_sessions_of(&account.id, None, "password_changed", now)
                .await
                .map_err(internal)?;
            let events = vec![
                Event::new(
                    now,
                    actor.clone(),
                    "credential.password_changed",
                    Outcome::Success,
                ),
                Event::new(now, actor, "session.revoked_all", Outcome::Success)
                    .detail("reason", "password_changed")
                    .detail("count", ended.to_string()),
            ];
            self.audit
                .append(&mut tx, events, now)
                .await
                .map_err(internal)?;
            let (token, row) = self
                .issue_session(&mut tx, &account.id, proof, "password", context, now, None)
                .await?;
            tx.commit().await.map_err(internal)?;
            self.throttle_succeed(&keys[..1]);
            let current = self.current_of(&token, &row, &account).await?;
            Ok(NewSession {
                token: token.to_cookie_value().to_string(),
                current,
            })
        })
    }

    fn enrolment_start<'a>(
        &'a self,
        request: EnrolmentStartRequest,
        _context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<EnrolmentStart, ApiError>> {
        Box::pin(async move {
            let (_, account) = self.enrolment_account(&request.token).await?;
            let view = self.view(&account).await?;
            let now = now_ms();
            let key = self.subject_key(&account.id).await?;
            let secret = TotpSecret::generate();
            let mut tx = self.store.begin().await.map_err(internal)?;
            tx.set_totp(
                &account.id,
                &seal(
                    &key,
                    "totp_credentials",
                    "secret",
                    &account.id,
                    secret.expose_bytes(),
                ),
                now,
            )
            .await
            .map_err(internal)?;
            let event = Event::new(
                now,
                format!("account:{}", account.id),
                "enrolment.started",
                Outcome::Success,
            );
            self.audit
                .append(&mut tx, vec![event], now)
                .await
                .map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            let uri = self.totp.provisioning_uri(ISSUER, &view.email, &secret);
            let svg = identity::totp::qr_svg(&uri).map_err(internal)?;
            let qr_data_url = format!(
                "data:image/svg+xml;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(svg.as_bytes())
            );
            Ok(EnrolmentStart {
                email: view.email,
                display_name: view.display_name,
                min_password_length: identity::password::NIST_MIN_LEN_WITH_MFA
                    .max(self.password_policy.min_len_with_mfa),
                totp: TotpSetup {
                    secret: secret.to_base32().to_string(),
                    uri: uri.to_string(),
                    qr_data_url,
                },
            })
        })
    }

    fn enrolment_finish<'a>(
        &'a self,
        request: EnrolmentFinishRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<EnrolmentDone, ApiError>> {
        Box::pin(async move {
            let (token, account) = self.enrolment_account(&request.token).await?;
            let view = self.view(&account).await?;
            let local_part = view.email.split('@').next().unwrap_or_default().to_owned();
            self.password_policy
                .check(
                    &request.password,
                    true,
                    &[&view.display_name, &local_part, &view.email],
                )
                .map_err(password_rejected)?;
            let now = now_ms();
            let Some((secret, last_step)) = self.totp_secret(&account.id).await? else {
                return Err(ApiError::new(
                    409,
                    "enrolment_not_started",
                    "Reload the page to start enrolment again.",
                ));
            };
            let invalid_code = || {
                ApiError::new(401, "invalid_code", "The code is wrong or has already been used. Wait for the next code and try again.")
            };
            let (step, proof) = self
                .totp
                .verify_for_login(&secret, request.totp_code.trim(), unix_secs(now), last_step)
                .map_err(|_| invalid_code())?;
            let phc = self
                .hasher
                .hash(&request.password)
                .await
                .map_err(internal)?;
            let (codes, hashes) =
                identity::recovery::generate(&account.id, identity::recovery::DEFAULT_COUNT);

            let mut tx = self.store.begin().await.map_err(internal)?;
            if !tx
                .consume_enrolment(&token.lookup_key(), now)
                .await
                .map_err(internal)?
            {
                return Err(ApiError::new(410, "enrolment_invalid", "This enrolment link has expired or has already been used. Ask your administrator for a new one."));
            }
            if !tx
                .use_totp_step(&account.id, i64::try_from(step).unwrap_or(i64::MAX))
                .await
                .map_err(internal)?
            {
                return Err(invalid_code());
            }
            tx.set_password(&account.id, &phc, now)
                .await
                .map_err(internal)?;
            tx.replace_recovery_codes(&account.id, &hashes)
                .await
                .map_err(internal)?;
            tx.set_account_status(&account.id, "active", now)
                .await
                .map_err(internal)?;
            let actor = format!("account:{}", account.id);
            let events = vec![
                Event::new(
                    now,
                    actor.clone(),
                    "credential.password_set",
                    Outcome::Success,
                ),
                Event::new(now, actor.clone(), "mfa.totp_enrolled", Outcome::Success),
                Event::new(
                    now,
                    actor.clone(),
                    "mfa.recovery_codes_issued",
                    Outcome::Success,
                )
                .detail("count", hashes.len().to_string()),
                Event::new(now, actor, "enrolment.completed", Outcome::Success),
            ];
            self.audit
                .append(&mut tx, events, now)
                .await
                .map_err(internal)?;
            let (session_token, row) = self
                .issue_session(&mut tx, &account.id, proof, "password", context, now, None)
                .await?;
            tx.commit().await.map_err(internal)?;
            let account = self
                .store
                .account(&account.id)
                .await
                .map_err(internal)?
                .ok_or_else(ApiError::unauthenticated)?;
            let current = self.current_of(&session_token, &row, &account).await?;
            Ok(EnrolmentDone {
                recovery_codes: codes.iter().map(|code| code.expose().to_owned()).collect(),
                session: NewSession {
                    token: session_token.to_cookie_value().to_string(),
                    current,
                },
            })
        })
    }
}

impl AccountService {
    /// The administrator, their session, the account they act on, and the policy's consent to
    /// do `A` to it. A missing account is 404; a refusal is 403 (or `step_up_required`).
    async fn administrate<A: Action>(
        &self,
        session_token: &str,
        account_id: &str,
        context: &RequestContext,
    ) -> Result<(AccountRow, SessionRow, AccountRow, Allowed<A>), ApiError> {
        let (_, session, admin) = self.authenticate(session_token).await?;
        let target = self
            .store
            .account(account_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| ApiError::new(404, "not_found", "No such account. Reload the list."))?;
        let resource = Resource::account(target.id.clone(), principal_of(&target).id(), TEAM);
        let allowed = self
            .authorize::<A>(&admin, &session, &resource, context)
            .await?;
        Ok((admin, session, target, allowed))
    }

    async fn summary(&self, account: &AccountRow) -> Result<AccountSummary, ApiError> {
        let view = self.view(account).await?;
        Ok(AccountSummary {
            id: view.id,
            kind: view.kind,
            display_name: view.display_name,
            email: view.email,
            roles: view.roles,
            status: account.status.clone(),
            created_at_ms: account.created_at_ms,
        })
    }

    /// Changes an account in one transaction: `change` runs first, then every session of the
    /// account ends (so the change takes effect at once, not at the next sign-in), then `events`
    /// are audited.
    async fn change_account(
        &self,
        target: &AccountRow,
        reason: &str,
        events: Vec<Event>,
        change: impl for<'t> FnOnce(&'t mut Tx, i64) -> BoxFuture<'t, Result<(), ApiError>>,
    ) -> Result<u64, ApiError> {
        let now = now_ms();
        let mut tx = self.store.begin().await.map_err(internal)?;
        change(&mut tx, now).await?;
        let ended = tx
            .revoke_sessions_of(&target.id, None, reason, now)
            .await
            .map_err(internal)?;
        let mut events = events;
        events.push(
            Event::new(now, "system", "session.revoked_all", Outcome::Success)
                .target(format!("account:{}", target.id))
                .detail("reason", reason)
                .detail("count", ended.to_string()),
        );
        self.audit
            .append(&mut tx, events, now)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(ended)
    }

    async fn reload(&self, account_id: &str) -> Result<AccountSummary, ApiError> {
        let account = self
            .store
            .account(account_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| ApiError::new(404, "not_found", "No such account. Reload the list."))?;
        self.summary(&account).await
    }
}

impl AccountsApi for AccountService {
    fn list<'a>(
        &'a self,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<Vec<AccountSummary>, ApiError>> {
        Box::pin(async move {
            let (_, session, admin) = self.authenticate(session_token).await?;
            let resource = Resource::singleton(policy::Singleton::Organisation);
            let _allowed: Allowed<AccountList> =
                self.authorize(&admin, &session, &resource, context).await?;
            let mut summaries = Vec::new();
            for account in self.store.accounts().await.map_err(internal)? {
                summaries.push(self.summary(&account).await?);
            }
            Ok(summaries)
        })
    }

    fn invite<'a>(
        &'a self,
        session_token: &'a str,
        request: InviteRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<Enrolment, ApiError>> {
        Box::pin(async move {
            let (_, session, admin) = self.authenticate(session_token).await?;
            // The account does not exist yet; it is nobody's own.
            let newcomer = policy::PrincipalId::Staff(policy::StaffId::new("(new)"));
            let resource = Resource::account("(new)", newcomer, TEAM);
            let _allowed: Allowed<AccountInvite> =
                self.authorize(&admin, &session, &resource, context).await?;
            let email = normalise_email(&request.email).ok_or_else(|| {
                ApiError::new(
                    400,
                    "invalid_email",
                    "Enter an e-mail address such as name@example.com.",
                )
            })?;
            let name = valid_name(&request.display_name).ok_or_else(|| {
                ApiError::new(
                    400,
                    "invalid_name",
                    "Enter the person's name (1 to 200 characters).",
                )
            })?;
            let roles = valid_roles(&request.roles)?;
            let actor = format!("account:{}", admin.id);
            let (account_id, token, expires_at_ms) = self
                .create_staff_account(&email, &name, &roles, &actor, "invitation")
                .await?;
            Ok(Enrolment {
                account: self.reload(&account_id).await?,
                enrolment_path: format!("/enrol#{token}"),
                expires_at_ms,
            })
        })
    }

    fn set_roles<'a>(
        &'a self,
        session_token: &'a str,
        account_id: &'a str,
        request: RolesRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<AccountSummary, ApiError>> {
        Box::pin(async move {
            let (admin, _, target, _allowed) = self
                .administrate::<AccountSetRoles>(session_token, account_id, context)
                .await?;
            let roles = valid_roles(&request.roles)?.join(",");
            let event = Event::new(
                now_ms(),
                format!("account:{}", admin.id),
                "account.roles_changed",
                Outcome::Success,
            )
            .target(format!("account:{}", target.id))
            .detail("from", target.roles.clone())
            .detail("to", roles.clone());
            let id = target.id.clone();
            self.change_account(&target, "roles_changed", vec![event], move |tx, now| {
                Box::pin(async move {
                    tx.set_account_roles(&id, &roles, now)
                        .await
                        .map_err(internal)?;
                    Ok(())
                })
            })
            .await?;
            self.reload(account_id).await
        })
    }

    fn disable<'a>(
        &'a self,
        session_token: &'a str,
        account_id: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<AccountSummary, ApiError>> {
        Box::pin(async move {
            let (admin, _, target, _allowed) = self
                .administrate::<AccountDisable>(session_token, account_id, context)
                .await?;
            let event = Event::new(
                now_ms(),
                format!("account:{}", admin.id),
                "account.disabled",
                Outcome::Success,
            )
            .target(format!("account:{}", target.id));
            let id = target.id.clone();
            self.change_account(&target, "account_disabled", vec![event], move |tx, now| {
                Box::pin(async move {
                    tx.set_account_status(&id, "disabled", now)
                        .await
                        .map_err(internal)?;
                    Ok(())
                })
            })
            .await?;
            self.reload(account_id).await
        })
    }

    fn reset_mfa<'a>(
        &'a self,
        session_token: &'a str,
        account_id: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<Enrolment, ApiError>> {
        Box::pin(async move {
            let (admin, _, target, _allowed) = self
                .administrate::<AccountResetMfa>(session_token, account_id, context)
                .await?;
            // A reset hands out an enrolment link; for a disabled account that would be a way
            // back in, so it is refused rather than quietly re-opening the account.
            if target.status == "disabled" {
                return Err(ApiError::new(
                    409,
                    "account_disabled",
                    "This account is disabled; its second factor cannot be reset.",
                ));
            }
            let actor = format!("account:{}", admin.id);
            let events = vec![
                Event::new(now_ms(), actor.clone(), "mfa.reset", Outcome::Success)
                    .target(format!("account:{}", target.id)),
                Event::new(now_ms(), actor, "enrolment.issued", Outcome::Success)
                    .target(format!("account:{}", target.id)),
            ];
            let id = target.id.clone();
            let token = SessionToken::generate();
            let lookup = token.lookup_key();
            let expires_at_ms = now_ms() + ENROLMENT_VALID_MS;
            self.change_account(&target, "mfa_reset", events, move |tx, now| {
                Box::pin(async move {
                    tx.delete_totp(&id).await.map_err(internal)?;
                    tx.delete_passkeys_of(&id).await.map_err(internal)?;
                    tx.replace_recovery_codes(&id, &[])
                        .await
                        .map_err(internal)?;
                    tx.set_account_status(&id, "pending", now)
                        .await
                        .map_err(internal)?;
                    tx.insert_enrolment(&lookup, &id, expires_at_ms)
                        .await
                        .map_err(internal)?;
                    Ok(())
                })
            })
            .await?;
            let token = token.to_cookie_value().to_string();
            Ok(Enrolment {
                account: self.reload(account_id).await?,
                enrolment_path: format!("/enrol#{token}"),
                expires_at_ms,
            })
        })
    }

    fn revoke_sessions<'a>(
        &'a self,
        session_token: &'a str,
        account_id: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<u64, ApiError>> {
        Box::pin(async move {
            let (_, _, target, _allowed) = self
                .administrate::<AccountRevokeSessions>(session_token, account_id, context)
                .await?;
            self.change_account(&target, "revoked_by_administrator", Vec::new(), |_, _| {
                Box::pin(async { Ok(()) })
            })
            .await
        })
    }
}

/// The one team every account is in until teams can be configured.
pub(crate) const TEAM: &str = "organisation";

/// A person's name as given, trimmed: 1 to 200 characters, no control characters.
fn valid_name(text: &str) -> Option<String> {
    let name = text.trim();
    let valid =
        !name.is_empty() && name.chars().count() <= 200 && !name.chars().any(char::is_control);
    valid.then(|| name.to_owned())
}

/// Known role names, at least one, without repeats, in a stable order.
fn valid_roles(roles: &[String]) -> Result<Vec<String>, ApiError> {
    let mut parsed = Vec::new();
    for role in roles {
        let role = policy::Role::parse(role.trim()).ok_or_else(|| {
            ApiError::new(
                400,
                "invalid_roles",
                "Choose roles from: admin, security_officer, dpo, supervisor, adviser, auditor.",
            )
        })?;
        if !parsed.contains(&role) {
            parsed.push(role);
        }
    }
    if parsed.is_empty() {
        return Err(ApiError::new(
            400,
            "invalid_roles",
            "Choose at least one role.",
        ));
    }
    parsed.sort_by_key(|role| role.as_str());
    Ok(parsed.iter().map(|role| role.as_str().to_owned()).collect())
}

/// Opens the key of the e-mail blind index, creating (and auditing) it on first use.
async fn open_lookup_key(
    store: &Store,
    keys: &KeyService,
    audit: &AuditWriter,
) -> anyhow::Result<DataKey> {
    if let Some(key) = keys.open(store, LOOKUP_KEY_REF).await? {
        return Ok(key);
    }
    let now = now_ms();
    let mut tx = store.begin().await?;
    let key = keys.create(&mut tx, LOOKUP_KEY_REF).await?;
    let event =
        Event::new(now, "system", "keys.data_key_created", Outcome::Success).target(LOOKUP_KEY_REF);
    audit.append(&mut tx, vec![event], now).await?;
    match tx.commit().await {
        Ok(()) => Ok(key),
        // Another process created it at the same moment: use theirs.
        Err(_) => keys
            .open(store, LOOKUP_KEY_REF)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the lookup-index key could not be created")),
    }
}

/// A credential check under way; ends (and frees its place) when dropped.
#[derive(Debug)]
struct InFlight {
    keys: Vec<String>,
    table: Arc<Mutex<HashMap<String, u32>>>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut table = self.table.locked();
        for key in &self.keys {
            if let Some(count) = table.get_mut(key) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    table.remove(key);
                }
            }
        }
    }
}

/// Lower-cased and trimmed, if it looks like an address: one `@`, something either side, a dot
/// in the domain, no spaces, at most 254 characters.
pub fn normalise_email(text: &str) -> Option<String> {
    let email = text.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let valid = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    valid.then_some(email)
}

/// The account as a policy principal. Unknown role names are dropped (they grant nothing);
/// teams arrive with account management, until then everyone is in the organisation's one team.
pub(crate) fn principal_of(account: &AccountRow) -> Principal {
    principal_limited(account, None)
}

/// The account as a policy principal acting through a session limited to `roles_limit` (a
/// comma-separated subset of its roles; `None` for all of them).
fn principal_limited(account: &AccountRow, roles_limit: Option<&str>) -> Principal {
    if account.kind == "customer" {
        return Principal::customer(policy::CustomerId::new(account.id.clone()));
    }
    let roles = account
        .roles
        .split(',')
        .filter(|role| roles_limit.is_none_or(|limit| limit.split(',').any(|r| r == *role)))
        .filter_map(policy::Role::parse);
    let status =
        policy::StaffStatus::parse(&account.status).unwrap_or(policy::StaffStatus::Disabled);
    Principal::staff(
        policy::StaffId::new(account.id.clone()),
        roles,
        "organisation",
        status,
    )
}

pub(crate) fn subject_key_ref(account_id: &str) -> String {
    format!("subject:{account_id}")
}

pub(crate) fn random_id() -> String {
    let bytes: [u8; 16] = vault::random_bytes();
    hex::encode(bytes)
}

fn unix_secs(ms: i64) -> u64 {
    u64::try_from(ms / 1000).unwrap_or(0)
}

fn mfa_method_name(proof: &MfaVerified) -> &'static str {
    match proof.method() {
        identity::MfaMethod::Totp => "totp",
        identity::MfaMethod::RecoveryCode => "recovery_code",
        identity::MfaMethod::Passkey => "passkey",
        identity::MfaMethod::IdentityProvider => "identity_provider",
    }
}

/// The throttling key of a request's source: the address, or its /64 for IPv6 (one host usually
/// has a whole /64).
pub(crate) fn source_key(context: &RequestContext) -> String {
    match context.source {
        Some(std::net::IpAddr::V4(ip)) => format!("source:{ip}"),
        Some(std::net::IpAddr::V6(ip)) => {
            let segments = ip.segments();
            format!(
                "source:{:x}:{:x}:{:x}:{:x}::/64",
                segments[0], segments[1], segments[2], segments[3]
            )
        }
        None => "source:unknown".into(),
    }
}

/// The kinds of throttling key that were locked, for the audit trail (never the keys themselves,
/// which hold addresses).
fn scope_names(keys: &[String]) -> String {
    let mut scopes: Vec<&str> = keys
        .iter()
        .filter_map(|key| key.split(':').next())
        .collect();
    scopes.dedup();
    scopes.join(",")
}

/// "Chrome on Linux" from a user agent: browser family and platform only.
fn describe_device(user_agent: Option<&str>) -> String {
    let agent = user_agent.unwrap_or_default();
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(marker, _)| agent.contains(marker))
    .map_or("Unknown browser", |(_, name)| name);
    let platform = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| agent.contains(marker))
    .map_or("an unknown system", |(_, name)| name);
    format!("{browser} on {platform}")
}

fn throttled(ms: i64) -> ApiError {
    let secs = (ms.max(0) + 999) / 1000;
    ApiError::new(
        429,
        "throttled",
        format!(
            "Too many attempts. Wait {} minutes and try again.",
            (secs + 59) / 60
        ),
    )
    .with("retry_after_secs", secs.max(1))
}

fn password_rejected(rejection: PasswordRejection) -> ApiError {
    let reason = match rejection {
        PasswordRejection::TooShort { .. } => "too_short",
        PasswordRejection::TooLong { .. } => "too_long",
        PasswordRejection::Common => "common",
        PasswordRejection::ContextSpecific => "context_specific",
        PasswordRejection::Repetitive => "repetitive",
    };
    let error =
        ApiError::new(400, "password_rejected", rejection.to_string()).with("reason", reason);
    match rejection {
        PasswordRejection::TooShort { min } => error.with("min_length", min),
        PasswordRejection::TooLong { max } => error.with("max_length", max),
        _ => error,
    }
}

/// Logs the cause (never request content) and answers with a generic 500.
pub(crate) fn internal(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(%error, "identity operation failed");
    ApiError::new(
        500,
        "internal",
        "Something went wrong on the server. Try again in a moment.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_normalised_or_refused() {
        let cases = [
            ("  Ada.Admin@Example.SE ", Some("ada.admin@example.se")),
            ("a@b.c", Some("a@b.c")),
            ("no-at.example", None),
            ("@example.se", None),
            ("a@localhost", None),
            ("a@b@c.se", None),
            ("a b@c.se", None),
            ("a@.se", None),
        ];
        for (input, expected) in cases {
            assert_eq!(normalise_email(input).as_deref(), expected, "{input:?}");
        }
    }

    #[test]
    fn devices_are_described_coarsely() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        assert_eq!(describe_device(Some(chrome)), "Chrome on Linux");
        assert_eq!(
            describe_device(None),
            "Unknown browser on an unknown system"
        );
    }

    #[test]
    fn throttling_answers_round_up_to_whole_minutes() {
        let error = throttled(61_000);
        assert_eq!(error.status, 429);
        assert!(
            error.message.contains("Wait 2 minutes"),
            "{}",
            error.message
        );
        assert_eq!(
            error.extra,
            vec![("retry_after_secs", serde_json::json!(61))]
        );
    }
}
