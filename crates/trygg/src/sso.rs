//! Single sign-on with OpenID Connect: staff through the organisation's identity provider and
//! customers through an e-ID broker, both with the authorisation code flow, PKCE (S256), `state`
//! and `nonce`. The protocol checks are the `openidconnect` crate's (discovery, the code
//! exchange, the ID token's signature against the provider's JWKS, `iss`, `aud`, `exp`,
//! `nonce`); this module adds what it leaves to the client: `azp`, how old `iat` may be, the
//! RFC 9207 `iss` response parameter, and the decisions after a verified token:
//!
//! - **MFA.** A session needs [`MfaVerified`], and the only way this module gets one is
//!   [`MfaVerified::from_idp_assertion`] over the token's `amr`; an `acr` or `amr` value that the
//!   configuration lists as multi-factor counts as RFC 8176's `mfa`. Without it: no session.
//! - **Staff.** Only an existing account signs in. The provider's (issuer, subject) pair is
//!   linked to an account once, on the first sign-in, to the *active* staff account whose
//!   e-mail address the token asserts as verified; afterwards the link alone counts (a changed
//!   address at the provider moves nothing). Nobody is created, no disabled or pending account
//!   is reopened. With a role mapping configured, the session holds only the roles that both the
//!   account has and the provider asserts (the provider can withhold a role, never grant one).
//! - **Customers.** The verified name and personal identity number are stored encrypted under
//!   the customer's own data key, with a blind index of the number to recognise a returning
//!   customer; the number is only ever shown masked ([`meeting::MaskedPersonalNumber`]).
//!
//! Every success and refusal is audited with a reason code; no token, code, claim value or
//! personal identity number reaches a log line or the trail. The sign-ins under way (state,
//! nonce, PKCE verifier) are kept in memory for ten minutes and used once; a restart asks the
//! person to start again, which is the safe direction.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use audit::{Event, Outcome};
use edge::identity::{ApiError, NewSession, RequestContext};
use edge::sso::{
    CallbackParams, ProviderKind, ReturnPath, SsoApi, SsoAvailability, SsoRefusal, SsoSignedIn,
    SsoStart, VerifiedIdentityView,
};
use edge::BoxFuture;
use identity::session::SessionToken;
use identity::MfaVerified;
use meeting::MaskedPersonalNumber;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields,
    IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardErrorResponse, StandardTokenResponse, TokenResponse as _,
};
use policy::{Resource, SessionReadOwn};
use store::{AccountRow, SessionRow, VerifiedIdentityRow};

use crate::accounts::{
    internal, principal_of, random_id, source_key, subject_key_ref, AccountService, Authorised,
};
use crate::clock::now_ms;
use crate::keys::{open_value, seal};
use crate::locks::Locked;

/// How long a sign-in may take at the provider.
const PENDING_VALID_MS: i64 = 10 * 60 * 1000;
/// Sign-ins under way at most, so a flood of `start` requests cannot exhaust memory.
const MAX_PENDING: usize = 10_000;
/// Sign-ins under way at most from one source address (or IPv6 /64), so one client cannot
/// crowd everyone else out of [`MAX_PENDING`].
const MAX_PENDING_PER_SOURCE: usize = 20;
/// Clock difference tolerated between Trygg and the provider (`exp`, `iat`).
const LEEWAY_MS: i64 = 60 * 1000;
/// How old an ID token's `iat` may be: the token is fetched right after the person signs in.
const MAX_TOKEN_AGE_MS: i64 = 10 * 60 * 1000;
/// The provider's metadata and keys are fetched again after this long, or sooner when a token
/// names a key we do not know (key rotation).
const METADATA_MAX_AGE_MS: i64 = 60 * 60 * 1000;
/// Parameters longer than this are not a code or state any provider sends.
const MAX_PARAM_LEN: usize = 4096;
/// Purpose strings of the blind indexes this module keeps.
const SUBJECT_INDEX: &str = "federated-subject";
const PERSONAL_NUMBER_INDEX: &str = "personal-number";

/// Settings of one identity provider, from `[staff_idp]` or `[customer_idp]`.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: config::Secret,
    pub ca_file: Option<std::path::PathBuf>,
    pub scopes: Vec<String>,
    pub mfa_amr_values: Vec<String>,
    pub mfa_acr_values: Vec<String>,
    /// Staff: the claim with groups or roles and what they map to.
    pub roles_claim: String,
    pub role_mapping: BTreeMap<String, String>,
    /// Customers: the claims with the verified name and personal identity number.
    pub name_claim: String,
    pub personal_number_claim: String,
}

impl ProviderSettings {
    /// The staff provider's settings, if one is configured.
    pub fn staff(config: &config::Config) -> Option<ProviderSettings> {
        let section = &config.staff_idp;
        Some(ProviderSettings {
            issuer: section.issuer.clone()?,
            client_id: section.client_id.clone(),
            client_secret: section.client_secret.clone()?,
            ca_file: section.ca_file.clone(),
            scopes: section.scopes.clone(),
            mfa_amr_values: section.mfa_amr_values.clone(),
            mfa_acr_values: section.mfa_acr_values.clone(),
            roles_claim: section.roles_claim.clone(),
            role_mapping: section.role_mapping.clone(),
            name_claim: String::new(),
            personal_number_claim: String::new(),
        })
    }

    /// The customer e-ID broker's settings, if one is configured.
    pub fn customer(config: &config::Config) -> Option<ProviderSettings> {
        let section = &config.customer_idp;
        Some(ProviderSettings {
            issuer: section.issuer.clone()?,
            client_id: section.client_id.clone(),
            client_secret: section.client_secret.clone()?,
            ca_file: section.ca_file.clone(),
            scopes: section.scopes.clone(),
            mfa_amr_values: section.mfa_amr_values.clone(),
            mfa_acr_values: section.mfa_acr_values.clone(),
            roles_claim: String::new(),
            role_mapping: BTreeMap::new(),
            name_claim: section.name_claim.clone(),
            personal_number_claim: section.personal_number_claim.clone(),
        })
    }
}

/// Claims beyond the standard ones (groups, personal identity number, ...), kept as JSON.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct ExtraClaims {
    #[serde(flatten)]
    claims: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for ExtraClaims {}

type IdTokenClaims = openidconnect::IdTokenClaims<ExtraClaims, CoreGenderClaim>;
type TokenFields = IdTokenFields<
    ExtraClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenResponse = StandardTokenResponse<TokenFields, CoreTokenType>;
type OidcClient = openidconnect::Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// One configured provider: its settings, an HTTP client that trusts only the roots it should,
/// and the discovered metadata (fetched on first use, refreshed hourly or on an unknown key).
struct Provider {
    kind: ProviderKind,
    settings: ProviderSettings,
    http: reqwest::Client,
    discovered: tokio::sync::Mutex<Option<(OidcClient, i64)>>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("kind", &self.kind)
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

/// A sign-in waiting for the provider to send the browser back.
struct Pending {
    kind: ProviderKind,
    binding: [u8; 32],
    nonce: Nonce,
    pkce_verifier: PkceCodeVerifier,
    redirect_uri: RedirectUrl,
    created_at_ms: i64,
    /// The throttling key of the source that started it.
    source: String,
    /// Where a customer goes back to afterwards.
    return_to: Option<ReturnPath>,
}

/// The single sign-on service of a running server.
pub struct SsoService {
    accounts: Arc<AccountService>,
    staff: Option<Provider>,
    customer: Option<Provider>,
    public_url: Option<String>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl std::fmt::Debug for SsoService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoService")
            .field("staff", &self.staff)
            .field("customer", &self.customer)
            .finish_non_exhaustive()
    }
}

/// Why a sign-in was refused: the reason code for the audit trail and the code the sign-in
/// page explains to the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Refused {
    reason: &'static str,
    public: &'static str,
}

const fn refused(reason: &'static str, public: &'static str) -> Refused {
    Refused { reason, public }
}

impl SsoService {
    /// Sets up the configured providers. Reads CA files now, so a wrong path stops start-up;
    /// the providers themselves are contacted on first use.
    pub fn new(
        accounts: Arc<AccountService>,
        config: &config::Config,
    ) -> anyhow::Result<SsoService> {
        let provider = |kind, settings: Option<ProviderSettings>| -> anyhow::Result<_> {
            settings
                .map(|settings| {
                    Ok(Provider {
                        kind,
                        http: http_client(settings.ca_file.as_deref())?,
                        settings,
                        discovered: tokio::sync::Mutex::new(None),
                    })
                })
                .transpose()
        };
        Ok(SsoService {
            accounts,
            staff: provider(ProviderKind::Staff, ProviderSettings::staff(config))?,
            customer: provider(ProviderKind::Customer, ProviderSettings::customer(config))?,
            public_url: config.server.public_url.clone(),
            pending: Mutex::new(HashMap::new()),
        })
    }

    fn provider(&self, kind: ProviderKind) -> Option<&Provider> {
        match kind {
            ProviderKind::Staff => self.staff.as_ref(),
            ProviderKind::Customer => self.customer.as_ref(),
        }
    }

    async fn start_inner(
        &self,
        kind: ProviderKind,
        origin: &str,
        return_to: Option<ReturnPath>,
        context: &RequestContext,
    ) -> Result<SsoStart, ApiError> {
        let provider = self.provider(kind).ok_or_else(|| {
            ApiError::new(
                404,
                "sso_not_configured",
                "Signing in with this identity provider is not set up on this server.",
            )
        })?;
        let client = provider.client(false).await.map_err(|error| {
            tracing::warn!(provider = kind.as_str(), %error, "identity provider unavailable");
            ApiError::new(
                503,
                "sso_unavailable",
                "The identity provider cannot be reached. Try again in a moment.",
            )
        })?;
        let base = self
            .public_url
            .as_deref()
            .unwrap_or(origin)
            .trim_end_matches('/');
        let redirect_uri =
            RedirectUrl::new(format!("{base}/api/v1/sso/{}/callback", kind.as_str())).map_err(
                |_| ApiError::new(400, "bad_request", "The request names no valid host."),
            )?;
        let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(pkce_challenge)
            .set_redirect_uri(std::borrow::Cow::Owned(redirect_uri.clone()));
        for scope in &provider.settings.scopes {
            if scope != "openid" {
                request = request.add_scope(Scope::new(scope.clone()));
            }
        }
        for acr in &provider.settings.mfa_acr_values {
            request = request.add_auth_context_value(AuthenticationContextClass::new(acr.clone()));
        }
        let (url, state, nonce) = request.url();
        let binding = SessionToken::generate();
        let now = now_ms();
        {
            let mut pending = self.pending.locked();
            pending.retain(|_, entry| now - entry.created_at_ms < PENDING_VALID_MS);
            let source = source_key(context);
            let from_source = pending
                .values()
                .filter(|entry| entry.source == source)
                .count();
            if pending.len() >= MAX_PENDING || from_source >= MAX_PENDING_PER_SOURCE {
                return Err(ApiError::new(
                    429,
                    "throttled",
                    "Too many sign-ins are under way. Try again in a few minutes.",
                )
                .with("retry_after_secs", 60));
            }
            pending.insert(
                state.secret().clone(),
                Pending {
                    kind,
                    binding: binding.lookup_key(),
                    nonce,
                    pkce_verifier,
                    redirect_uri,
                    created_at_ms: now,
                    source,
                    return_to,
                },
            );
        }
        Ok(SsoStart {
            authorization_url: url.to_string(),
            binding: binding.to_cookie_value().to_string(),
        })
    }

    /// Everything between the provider's answer and a verified ID token.
    async fn verified_claims(
        &self,
        kind: ProviderKind,
        params: CallbackParams,
        binding: Option<&str>,
    ) -> Result<(&Provider, IdTokenClaims), Refused> {
        let provider = self
            .provider(kind)
            .ok_or(refused("not_configured", "failed"))?;
        let too_long =
            |value: &Option<String>| value.as_ref().is_some_and(|v| v.len() > MAX_PARAM_LEN);
        if too_long(&params.code) || too_long(&params.state) || too_long(&params.iss) {
            return Err(refused("bad_request", "failed"));
        }
        // The sign-in under way is used up by any answer that names it, right or wrong.
        let pending = params
            .state
            .as_ref()
            .and_then(|state| self.pending.locked().remove(state));
        let Some(pending) = pending else {
            return Err(refused("unknown_state", "state"));
        };
        let bound = binding
            .and_then(SessionToken::parse)
            .is_some_and(|token| token.lookup_key() == pending.binding);
        if !bound || pending.kind != kind {
            return Err(refused("state_not_bound", "state"));
        }
        let now = now_ms();
        if now - pending.created_at_ms >= PENDING_VALID_MS {
            return Err(refused("state_expired", "state"));
        }
        if params.error.is_some() {
            return Err(refused("provider_error", "cancelled"));
        }
        if params
            .iss
            .as_deref()
            .is_some_and(|iss| iss != provider.settings.issuer)
        {
            return Err(refused("issuer_mismatch", "failed"));
        }
        let code = params.code.ok_or(refused("no_code", "failed"))?;
        let client = provider
            .client(false)
            .await
            .map_err(|_| refused("provider_unavailable", "unavailable"))?;
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|_| refused("no_token_endpoint", "failed"))?
            .set_pkce_verifier(pending.pkce_verifier)
            .set_redirect_uri(std::borrow::Cow::Owned(pending.redirect_uri))
            .request_async(&provider.http)
            .await
            .map_err(|error| {
                tracing::warn!(
                    provider = kind.as_str(),
                    error = token_error_kind(&error),
                    "the identity provider refused the code exchange"
                );
                refused("code_exchange_failed", "failed")
            })?;
        let id_token = response
            .id_token()
            .ok_or(refused("no_id_token", "failed"))?;
        let verify = |client: &OidcClient| {
            let verifier = client
                .id_token_verifier()
                .set_allowed_algs(ASYMMETRIC_ALGS.iter().cloned())
                .set_time_fn(move || from_ms(now - LEEWAY_MS))
                .set_issue_time_verifier_fn(move |issued| {
                    let issued_ms = issued.timestamp_millis();
                    if issued_ms > now + LEEWAY_MS || issued_ms < now - MAX_TOKEN_AGE_MS {
                        Err("the ID token was not issued just now".to_owned())
                    } else {
                        Ok(())
                    }
                });
            id_token.claims(&verifier, &pending.nonce).cloned()
        };
        let claims = match verify(&client) {
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
                // Perhaps the provider rotated its keys: fetch them again and retry once.
                let fresh = provider
                    .client(true)
                    .await
                    .map_err(|_| refused("provider_unavailable", "unavailable"))?;
                verify(&fresh)
            }
            other => other,
        }
        .map_err(|error| refused(claims_error_reason(&error), "failed"))?;
        check_authorized_party(&claims, &provider.settings.client_id)?;
        Ok((provider, claims))
    }

    async fn callback_inner(
        &self,
        kind: ProviderKind,
        params: CallbackParams,
        binding: Option<&str>,
        context: &RequestContext,
    ) -> Result<SsoSignedIn, SsoRefusal> {
        // Where the browser goes back to, success or not; the sign-in itself is judged below.
        let return_to = params.state.as_ref().and_then(|state| {
            self.pending
                .locked()
                .get(state)
                .and_then(|pending| pending.return_to.clone())
        });
        let result = async {
            let (provider, claims) = self.verified_claims(kind, params, binding).await?;
            let now = now_ms();
            let amr: Vec<String> = claims
                .auth_method_refs()
                .map(|values| values.iter().map(|value| value.to_string()).collect())
                .unwrap_or_default();
            let acr = claims.auth_context_ref().map(|acr| acr.to_string());
            let proof = mfa_proof(&amr, acr.as_deref(), &provider.settings, now)
                .map_err(|_| refused("mfa_missing", "mfa_required"))?;
            match kind {
                ProviderKind::Staff => self.staff_sign_in(provider, &claims, proof, context).await,
                ProviderKind::Customer => {
                    let mut signed_in = self
                        .customer_sign_in(provider, &claims, proof, context)
                        .await?;
                    if let Some(path) = &return_to {
                        signed_in.landing_path = path.as_str().to_owned();
                    }
                    Ok(signed_in)
                }
            }
        }
        .await;
        match result {
            Ok(signed_in) => Ok(signed_in),
            Err(refusal) => {
                self.accounts
                    .record(
                        Event::new(now_ms(), "unknown", "sso.sign_in_failed", Outcome::Failure)
                            .detail("provider", kind.as_str())
                            .detail("reason", refusal.reason),
                    )
                    .await;
                Err(SsoRefusal {
                    code: refusal.public,
                    return_to,
                })
            }
        }
    }

    async fn staff_sign_in(
        &self,
        provider: &Provider,
        claims: &IdTokenClaims,
        proof: MfaVerified,
        context: &RequestContext,
    ) -> Result<SsoSignedIn, Refused> {
        let failed = |_| refused("internal", "failed");
        let (store, _, audit) = self.accounts.parts();
        let subject_index = self.subject_index(provider, claims);
        let linked = store
            .account_by_federated_identity(&subject_index, "staff")
            .await
            .map_err(|e| failed(internal(e)))?;
        let (account, new_link) = match linked {
            Some(account) => (account, false),
            None => (self.account_to_link(claims).await?, true),
        };
        if account.kind != "staff" || account.status != "active" {
            return Err(refused("account_not_active", "no_account"));
        }
        let roles_limit = if provider.settings.role_mapping.is_empty() {
            None
        } else {
            let asserted = string_list(
                claims
                    .additional_claims()
                    .claims
                    .get(&provider.settings.roles_claim),
            );
            let roles = session_roles(&account.roles, &asserted, &provider.settings.role_mapping);
            if roles.is_empty() {
                return Err(refused("no_role", "no_role"));
            }
            Some(roles.join(","))
        };
        let now = now_ms();
        let actor = format!("account:{}", account.id);
        let mut tx = store.begin().await.map_err(|e| failed(internal(e)))?;
        if new_link {
            tx.insert_federated_identity(&subject_index, &account.id, "staff", now)
                .await
                .map_err(|e| failed(internal(e)))?;
            let event = Event::new(now, actor.clone(), "sso.account_linked", Outcome::Success)
                .target(actor.clone())
                .detail("provider", "staff")
                .detail("matched_by", "verified_email");
            audit
                .append(&mut tx, vec![event], now)
                .await
                .map_err(|e| failed(internal(e)))?;
        } else {
            tx.touch_federated_identity(&subject_index, now)
                .await
                .map_err(|e| failed(internal(e)))?;
        }
        let (token, row) = self
            .accounts
            .issue_session(
                &mut tx,
                &account.id,
                proof,
                "sso",
                context,
                now,
                roles_limit,
            )
            .await
            .map_err(|_| refused("internal", "failed"))?;
        tx.commit().await.map_err(|e| failed(internal(e)))?;
        let current = self
            .accounts
            .current_of(&token, &row, &account)
            .await
            .map_err(|_| refused("internal", "failed"))?;
        Ok(SsoSignedIn {
            session: NewSession {
                token: token.to_cookie_value().to_string(),
                current,
            },
            landing_path: "/account".to_owned(),
        })
    }

    /// The active staff account an unlinked subject may be linked to: the one whose e-mail
    /// address the token asserts as verified, if that account is not linked to another subject.
    async fn account_to_link(&self, claims: &IdTokenClaims) -> Result<AccountRow, Refused> {
        let (store, _, _) = self.accounts.parts();
        if claims.email_verified() != Some(true) {
            return Err(refused("email_not_verified", "no_account"));
        }
        let email = claims
            .email()
            .and_then(|email| crate::accounts::normalise_email(email))
            .ok_or(refused("no_email", "no_account"))?;
        let index = self
            .accounts
            .lookup_key()
            .blind_index("email", email.as_bytes());
        let account = store
            .account_by_email_index(&index)
            .await
            .map_err(|e| {
                internal(e);
                refused("internal", "failed")
            })?
            .ok_or(refused("unknown_account", "no_account"))?;
        if account.kind != "staff" || account.status != "active" {
            return Err(refused("account_not_active", "no_account"));
        }
        let already = store
            .has_federated_identity(&account.id, "staff")
            .await
            .map_err(|e| {
                internal(e);
                refused("internal", "failed")
            })?;
        if already {
            // The account is linked to another subject: a second identity at the provider with
            // the same address must not take it over.
            return Err(refused("linked_to_other_subject", "no_account"));
        }
        Ok(account)
    }

    async fn customer_sign_in(
        &self,
        provider: &Provider,
        claims: &IdTokenClaims,
        proof: MfaVerified,
        context: &RequestContext,
    ) -> Result<SsoSignedIn, Refused> {
        let failed = |_| refused("internal", "failed");
        let (store, keys, audit) = self.accounts.parts();
        let extra = &claims.additional_claims().claims;
        let personal_number = extra
            .get(&provider.settings.personal_number_claim)
            .and_then(|value| value.as_str())
            .and_then(normalise_personal_number)
            .ok_or(refused("no_personal_number", "claims_missing"))?;
        let name = claim_name(claims, &provider.settings.name_claim)
            .ok_or(refused("no_name", "claims_missing"))?;
        let index = self
            .accounts
            .lookup_key()
            .blind_index(PERSONAL_NUMBER_INDEX, personal_number.as_bytes());
        let existing = store
            .account_by_personal_number_index(&index)
            .await
            .map_err(|e| failed(internal(e)))?;
        let now = now_ms();
        let mut tx = store.begin().await.map_err(|e| failed(internal(e)))?;
        let mut events = Vec::new();
        let (account, subject) = match existing {
            Some(account) => {
                if account.kind != "customer" || account.status != "active" {
                    return Err(refused("account_not_active", "no_account"));
                }
                let key = self
                    .accounts
                    .subject_key(&account.id)
                    .await
                    .map_err(|_| refused("internal", "failed"))?;
                (account, key)
            }
            None => {
                let account_id = random_id();
                let subject = keys
                    .create(&mut tx, &subject_key_ref(&account_id))
                    .await
                    .map_err(|e| failed(internal(e)))?;
                let account = AccountRow {
                    id: account_id.clone(),
                    kind: "customer".into(),
                    // A customer identified by e-ID has no e-mail address here; a random index
                    // keeps the column unique and matches no address.
                    email_index: vault::random_bytes::<32>().to_vec(),
                    email_enc: seal(&subject, "accounts", "email", &account_id, b""),
                    display_name_enc: seal(
                        &subject,
                        "accounts",
                        "display_name",
                        &account_id,
                        name.as_bytes(),
                    ),
                    roles: String::new(),
                    status: "active".into(),
                    created_at_ms: now,
                    updated_at_ms: now,
                };
                tx.insert_account(&account)
                    .await
                    .map_err(|e| failed(internal(e)))?;
                let target = format!("account:{account_id}");
                events.push(
                    Event::new(now, "system", "keys.data_key_created", Outcome::Success)
                        .target(subject_key_ref(&account_id)),
                );
                events.push(
                    Event::new(now, "system", "account.created", Outcome::Success)
                        .target(target)
                        .detail("kind", "customer")
                        .detail("via", "eid"),
                );
                (account, subject)
            }
        };
        tx.upsert_verified_identity(&VerifiedIdentityRow {
            account_id: account.id.clone(),
            personal_number_index: index.to_vec(),
            name_enc: seal(
                &subject,
                "verified_identities",
                "name",
                &account.id,
                name.as_bytes(),
            ),
            personal_number_enc: seal(
                &subject,
                "verified_identities",
                "personal_number",
                &account.id,
                personal_number.as_bytes(),
            ),
            verified_at_ms: now,
        })
        .await
        .map_err(|e| failed(internal(e)))?;
        events.push(
            Event::new(
                now,
                format!("account:{}", account.id),
                "customer.identity_verified",
                Outcome::Success,
            )
            .detail("provider", "customer"),
        );
        audit
            .append(&mut tx, events, now)
            .await
            .map_err(|e| failed(internal(e)))?;
        let (token, row) = self
            .accounts
            .issue_session(&mut tx, &account.id, proof, "eid", context, now, None)
            .await
            .map_err(|_| refused("internal", "failed"))?;
        tx.commit().await.map_err(|e| failed(internal(e)))?;
        let current = self
            .accounts
            .current_of(&token, &row, &account)
            .await
            .map_err(|_| refused("internal", "failed"))?;
        Ok(SsoSignedIn {
            session: NewSession {
                token: token.to_cookie_value().to_string(),
                current,
            },
            landing_path: "/".to_owned(),
        })
    }

    /// The blind index of the provider's (issuer, subject) pair.
    fn subject_index(&self, provider: &Provider, claims: &IdTokenClaims) -> [u8; 32] {
        let pair = format!(
            "{}\u{0}{}\u{0}{}",
            provider.kind.as_str(),
            claims.issuer().as_str(),
            claims.subject().as_str()
        );
        self.accounts
            .lookup_key()
            .blind_index(SUBJECT_INDEX, pair.as_bytes())
    }
}

/// A signed-in customer and what their e-ID proved: the name, and the personal identity number
/// masked (the full number never leaves this function).
pub(crate) struct CustomerIdentity {
    pub account: AccountRow,
    pub session: SessionRow,
    pub name: String,
    pub personal_number: MaskedPersonalNumber,
    pub verified_at_ms: i64,
}

/// The signed-in customer's verified identity, for `session_token`. Reading one's own verified
/// identity is reading what one's own sign-in proved, so the policy is asked for
/// `session.read_own`. Used by the customer's own page and by a meeting's join flow.
pub(crate) async fn verified_identity_of(
    accounts: &AccountService,
    session_token: &str,
    context: &RequestContext,
) -> Result<CustomerIdentity, ApiError> {
    let Authorised {
        account, session, ..
    } = accounts
        .authorise::<SessionReadOwn>(
            session_token,
            |account, session| Resource::session(session.id.clone(), principal_of(account).id()),
            context,
        )
        .await?;
    let not_found = || {
        ApiError::new(
            404,
            "no_verified_identity",
            "There is no verified identity for this sign-in.",
        )
    };
    let (store, _, _) = accounts.parts();
    let row = store
        .verified_identity(&account.id)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    let key = accounts.subject_key(&account.id).await?;
    let open = |column: &str, value: &[u8]| {
        open_value(&key, "verified_identities", column, &account.id, value)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .map_err(internal)
    };
    let full = zeroize::Zeroizing::new(open("personal_number", &row.personal_number_enc)?);
    let personal_number = MaskedPersonalNumber::mask(&full).map_err(internal)?;
    Ok(CustomerIdentity {
        name: open("name", &row.name_enc)?,
        personal_number,
        verified_at_ms: row.verified_at_ms,
        account,
        session,
    })
}

impl SsoApi for SsoService {
    fn availability(&self) -> SsoAvailability {
        SsoAvailability {
            staff: self.staff.is_some(),
            customer: self.customer.is_some(),
        }
    }

    fn start<'a>(
        &'a self,
        kind: ProviderKind,
        origin: &'a str,
        return_to: Option<ReturnPath>,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<SsoStart, ApiError>> {
        Box::pin(self.start_inner(kind, origin, return_to, context))
    }

    fn callback<'a>(
        &'a self,
        kind: ProviderKind,
        params: CallbackParams,
        binding: Option<&'a str>,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<SsoSignedIn, SsoRefusal>> {
        Box::pin(self.callback_inner(kind, params, binding, context))
    }

    fn customer_identity<'a>(
        &'a self,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<VerifiedIdentityView, ApiError>> {
        Box::pin(async move {
            let identity = verified_identity_of(&self.accounts, session_token, context).await?;
            Ok(VerifiedIdentityView {
                personal_number_masked: identity.personal_number.as_str().to_owned(),
                name: identity.name,
                verified_at_ms: identity.verified_at_ms,
            })
        })
    }
}

impl Provider {
    /// The client built from the provider's discovered metadata; fetched when missing, older
    /// than an hour, or when `refresh` asks (a token signed with a key we do not know).
    async fn client(&self, refresh: bool) -> anyhow::Result<OidcClient> {
        let mut discovered = self.discovered.lock().await;
        let now = now_ms();
        if let Some((client, fetched_at_ms)) = discovered.as_ref() {
            // A forced refresh happens at most once a minute, so forged tokens cannot make us
            // hammer the provider.
            let fresh = now - fetched_at_ms < METADATA_MAX_AGE_MS;
            if fresh && (!refresh || now - fetched_at_ms < 60_000) {
                return Ok(client.clone());
            }
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone())?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|error| {
                anyhow::anyhow!("discovery failed: {}", discovery_error_kind(&error))
            })?;
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(
                self.settings.client_secret.expose().to_owned(),
            )),
        );
        *discovered = Some((client.clone(), now));
        Ok(client)
    }
}

/// Signature algorithms accepted for ID tokens: asymmetric only, so the client secret (which
/// HS256 would use as its key) can never sign one.
const ASYMMETRIC_ALGS: &[CoreJwsSigningAlgorithm] = &[
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// An HTTPS-only client that follows no redirects (a redirect at the token endpoint would be a
/// way to send the code elsewhere) and, with `ca_file`, trusts exactly those roots.
fn http_client(ca_file: Option<&std::path::Path>) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(15));
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|error| {
            anyhow::anyhow!(
                "cannot read the identity provider CA file {}: {error}",
                path.display()
            )
        })?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|_| anyhow::anyhow!("{} holds no PEM certificate", path.display()))?;
        if roots.is_empty() {
            anyhow::bail!("{} holds no PEM certificate", path.display());
        }
        builder = builder.tls_built_in_root_certs(false);
        for root in roots {
            builder = builder.add_root_certificate(root);
        }
    }
    Ok(builder.build()?)
}

/// MFA as the provider asserted it: RFC 8176 `amr` values, where an `acr` or `amr` value the
/// configuration lists as multi-factor counts as `mfa`. The proof can only come from
/// [`MfaVerified::from_idp_assertion`].
fn mfa_proof(
    amr: &[String],
    acr: Option<&str>,
    settings: &ProviderSettings,
    now_ms: i64,
) -> Result<MfaVerified, identity::proof::NotMultiFactor> {
    let mut values: Vec<&str> = amr.iter().map(String::as_str).collect();
    let configured = acr.is_some_and(|acr| settings.mfa_acr_values.iter().any(|v| v == acr))
        || amr
            .iter()
            .any(|value| settings.mfa_amr_values.contains(value));
    if configured {
        values.push("mfa");
    }
    MfaVerified::from_idp_assertion(&values, now_ms)
}

/// The roles a session gets: those of the account (`account_roles`, comma-separated) that some
/// asserted group maps to. Sorted, without repeats.
fn session_roles(
    account_roles: &str,
    asserted: &[String],
    mapping: &BTreeMap<String, String>,
) -> Vec<String> {
    let granted: Vec<&str> = asserted
        .iter()
        .filter_map(|group| mapping.get(group).map(String::as_str))
        .collect();
    let mut roles: Vec<String> = account_roles
        .split(',')
        .filter(|role| !role.is_empty() && granted.contains(role))
        .map(str::to_owned)
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

/// A claim that holds a list of strings, or one string.
fn string_list(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        Some(serde_json::Value::String(text)) => vec![text.clone()],
        _ => Vec::new(),
    }
}

/// The verified name: the configured claim, or the standard `name`, or given and family name.
fn claim_name(claims: &IdTokenClaims, name_claim: &str) -> Option<String> {
    let from_extra = claims
        .additional_claims()
        .claims
        .get(name_claim)
        .and_then(|value| value.as_str())
        .map(str::to_owned);
    let standard = || {
        claims
            .name()
            .and_then(|name| name.get(None))
            .map(|name| name.to_string())
    };
    let parts = || {
        let given = claims.given_name()?.get(None)?.to_string();
        let family = claims.family_name()?.get(None)?.to_string();
        Some(format!("{given} {family}"))
    };
    let name = from_extra.or_else(standard).or_else(parts)?;
    let name = name.trim();
    let valid =
        !name.is_empty() && name.chars().count() <= 200 && !name.chars().any(char::is_control);
    valid.then(|| name.to_owned())
}

/// OpenID Connect Core 3.1.3.7 steps 4 and 5, which `openidconnect` leaves to the client: with
/// several audiences an `azp` must be present, and any `azp` must be this client.
fn check_authorized_party(claims: &IdTokenClaims, client_id: &str) -> Result<(), Refused> {
    match claims.authorized_party() {
        Some(party) if party.as_str() != client_id => {
            Err(refused("wrong_authorized_party", "failed"))
        }
        None if claims.audiences().len() > 1 => Err(refused("wrong_authorized_party", "failed")),
        _ => Ok(()),
    }
}

/// A Swedish personal identity number (personnummer) or co-ordination number
/// (samordningsnummer, day + 60) as 12 digits `YYYYMMDDNNNN`, from 12 digits with or without a
/// `-` before the last four. The Luhn check digit must be right. 10-digit forms are refused:
/// their century is ambiguous and a broker asserts the full number.
pub fn normalise_personal_number(text: &str) -> Option<String> {
    let digits: String = text
        .trim()
        .chars()
        .enumerate()
        .filter(|(index, c)| !(*index == 8 && *c == '-'))
        .map(|(_, c)| c)
        .collect();
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| digits[range].parse::<u32>().ok();
    let month = number(4..6)?;
    let day = number(6..8)?;
    let day = if day > 60 { day - 60 } else { day };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let luhn: u32 = digits[2..]
        .bytes()
        .enumerate()
        .map(|(index, b)| {
            let digit = u32::from(b - b'0');
            let doubled = if index % 2 == 0 { digit * 2 } else { digit };
            doubled / 10 + doubled % 10
        })
        .sum();
    luhn.is_multiple_of(10).then_some(digits)
}

fn from_ms(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A reason code for a failed ID token check (never the token or the claim values).
fn claims_error_reason(error: &openidconnect::ClaimsVerificationError) -> &'static str {
    use openidconnect::ClaimsVerificationError as E;
    match error {
        E::Expired(_) => "token_expired",
        E::InvalidAudience(_) => "wrong_audience",
        E::InvalidIssuer(_) => "wrong_issuer",
        E::InvalidNonce(_) => "wrong_nonce",
        E::SignatureVerification(_) => "bad_signature",
        E::InvalidAuthContext(_) | E::InvalidAuthTime(_) => "auth_context_refused",
        _ => "token_refused",
    }
}

fn token_error_kind<E: std::error::Error + 'static>(
    error: &openidconnect::RequestTokenError<E, StandardErrorResponse<CoreErrorResponseType>>,
) -> &'static str {
    use openidconnect::RequestTokenError as E;
    match error {
        E::ServerResponse(_) => "refused",
        E::Request(_) => "unreachable",
        E::Parse(_, _) => "unparseable",
        E::Other(_) => "other",
    }
}

fn discovery_error_kind<E: std::error::Error + 'static>(
    error: &openidconnect::DiscoveryError<E>,
) -> String {
    use openidconnect::DiscoveryError as E;
    match error {
        E::Request(inner) => format!("cannot reach the provider ({inner})"),
        E::Response(status, _, _) => format!("the provider answered {status}"),
        E::Parse(_) => "the provider's metadata does not parse".into(),
        E::Validation(message) => format!("the provider's metadata is invalid: {message}"),
        E::UrlParse(_) => "the issuer is not a URL".into(),
        E::Other(message) => message.clone(),
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ProviderSettings {
        ProviderSettings {
            issuer: "https://idp.example".into(),
            client_id: "trygg".into(),
            client_secret: config::Secret::new("s"),
            ca_file: None,
            scopes: vec![],
            mfa_amr_values: vec!["vendor-mfa".into()],
            mfa_acr_values: vec!["loa3".into()],
            roles_claim: "groups".into(),
            role_mapping: BTreeMap::new(),
            name_claim: "name".into(),
            personal_number_claim: "pin".into(),
        }
    }

    #[test]
    fn mfa_is_the_providers_assertion_or_a_configured_value() {
        let s = settings();
        let strings = |values: &[&str]| values.iter().map(|v| v.to_string()).collect::<Vec<_>>();
        assert!(mfa_proof(&strings(&["pwd", "otp"]), None, &s, 1).is_ok());
        assert!(mfa_proof(&strings(&["mfa"]), None, &s, 1).is_ok());
        assert!(mfa_proof(&strings(&["pwd"]), None, &s, 1).is_err());
        assert!(mfa_proof(&strings(&["pwd"]), Some("loa2"), &s, 1).is_err());
        assert!(mfa_proof(&strings(&["pwd"]), Some("loa3"), &s, 1).is_ok());
        assert!(mfa_proof(&strings(&[]), Some("loa3"), &s, 1).is_ok());
        assert!(mfa_proof(&strings(&["vendor-mfa"]), None, &s, 1).is_ok());
        assert!(mfa_proof(&strings(&[]), None, &s, 1).is_err());
        let proof = mfa_proof(&strings(&["mfa"]), None, &s, 7).unwrap();
        assert_eq!(proof.method(), identity::MfaMethod::IdentityProvider);
        assert_eq!(proof.verified_at_ms(), 7);
    }

    #[test]
    fn the_provider_can_withhold_roles_but_never_grant_them() {
        let mapping: BTreeMap<String, String> = [
            ("g-admins", "admin"),
            ("g-advisers", "adviser"),
            ("g-auditors", "auditor"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let groups = |values: &[&str]| values.iter().map(|v| v.to_string()).collect::<Vec<_>>();
        assert_eq!(
            session_roles("admin,adviser", &groups(&["g-advisers"]), &mapping),
            ["adviser"]
        );
        assert_eq!(
            session_roles("adviser", &groups(&["g-admins", "g-advisers"]), &mapping),
            ["adviser"],
            "a group the account lacks in Trygg grants nothing"
        );
        assert!(session_roles("adviser", &groups(&["g-auditors", "other"]), &mapping).is_empty());
        assert!(session_roles("adviser", &[], &mapping).is_empty());
        assert_eq!(
            string_list(Some(&serde_json::json!(["a", 1, "b"]))),
            ["a", "b"]
        );
        assert_eq!(string_list(Some(&serde_json::json!("a"))), ["a"]);
        assert!(string_list(Some(&serde_json::json!({"a": 1}))).is_empty());
    }

    #[test]
    fn personal_identity_numbers_are_checked_and_masked() {
        let cases = [
            ("198112289874", Some("198112289874")),
            ("19811228-9874", Some("198112289874")),
            (" 198112289874 ", Some("198112289874")),
            ("198112289875", None),  // wrong check digit
            ("8112289874", None),    // ten digits: century unknown
            ("198113289871", None),  // month 13
            ("19811228+9874", None), // only '-' is accepted
            ("1981122898a4", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                normalise_personal_number(input).as_deref(),
                expected,
                "{input:?}"
            );
        }
        // A co-ordination number: day of birth plus 60.
        assert!(normalise_personal_number("197010632391").is_some());
        assert_eq!(
            MaskedPersonalNumber::mask("198112289874").unwrap().as_str(),
            "19811228-****"
        );
    }
}
