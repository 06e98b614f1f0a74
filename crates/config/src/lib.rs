//! Trygg's configuration: one TOML file, then `TRYGG_<SECTION>__<KEY>` environment variables on
//! top, and every secret also as `<key>_file` (in the file) or `TRYGG_<SECTION>__<KEY>_FILE` (in
//! the environment) so secrets never have to sit in the file or the process environment.
//!
//! Every section is declared once with the [`section!`] macro, which turns the fields' doc
//! comments into the documentation of the generated example (`docs/trygg.example.toml`) and gives
//! each field one parser, so the file, the environment and the example cannot disagree. Unknown
//! keys and bad values are refused with a message naming the key and what is expected.
//!
//! This crate deliberately does no validation that needs IO beyond reading the files it is told
//! to read (it does not check that a certificate parses or a database answers); the parts that use
//! a value check it where they use it.

#![forbid(unsafe_code)]

mod value;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use value::{ConfigValue, Secret};

/// The whole configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub server: Server,
    pub http: Http,
    pub database: Database,
    pub vault: Vault,
    pub audit: Audit,
    pub sessions: Sessions,
    pub staff_idp: StaffIdp,
    pub customer_idp: CustomerIdp,
    pub smtp: Smtp,
    pub turn: Turn,
    pub media: Media,
    pub log: Log,
}

/// Declares a configuration section: a struct whose fields, defaults and doc comments are the
/// single source for parsing, defaults, environment overrides and the generated example.
macro_rules! section {
    (
        $(#[doc = $section_doc:literal])*
        struct $name:ident in $key:literal {
            $( $(#[doc = $doc:literal])* $field:ident : $ty:ty = $default:expr ),* $(,)?
        }
    ) => {
        $(#[doc = $section_doc])*
        #[derive(Debug, Clone, serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $( $field: $default, )* }
            }
        }

        impl $name {
            /// The table name of this section in the TOML file.
            pub const KEY: &'static str = $key;

            fn describe() -> SectionDoc {
                let defaults = Self::default();
                SectionDoc {
                    key: $key,
                    docs: &[$($section_doc),*],
                    fields: vec![$(
                        FieldDoc {
                            key: stringify!($field),
                            docs: &[$($doc),*],
                            example: ConfigValue::example(&defaults.$field),
                            secret: <$ty as ConfigValue>::SECRET,
                            from_env: <$ty as ConfigValue>::from_env,
                        }
                    ),*],
                }
            }

            fn effective(&self) -> Vec<(String, String)> {
                vec![$(
                    (format!("{}.{}", $key, stringify!($field)), ConfigValue::fingerprint(&self.$field))
                ),*]
            }
        }
    };
}

section! {
    /// The server as a whole.
    struct Server in "server" {
        /// Directory for everything Trygg keeps on disk: the SQLite database, the key-encryption
        /// keyring, the audit signing key and the generated TLS certificate. Created if missing.
        data_dir: PathBuf = PathBuf::from("/var/lib/trygg"),
        /// The address users reach Trygg at, used in links and e-mails. Defaults to
        /// `https://<http.listen>/` when unset. Passkeys are bound to its host name, which must
        /// then be a name, not an IP address; without it, passkeys work at https://localhost.
        public_url: Option<String> = None,
    }
}

section! {
    /// The HTTPS listener. Trygg serves HTTPS only (TLS 1.2 and 1.3 via rustls).
    struct Http in "http" {
        /// Address and port of the HTTPS listener.
        listen: SocketAddr = SocketAddr::from(([0, 0, 0, 0], 8443)),
        /// Optional plain-HTTP listener that only redirects to HTTPS (for example `0.0.0.0:80`).
        redirect_listen: Option<SocketAddr> = None,
        /// PEM certificate chain. When neither this nor `tls_key_file` is set, a self-signed
        /// certificate is generated into the data directory on first run (for local use only).
        tls_cert_file: Option<PathBuf> = None,
        /// PEM private key belonging to `tls_cert_file`.
        tls_key_file: Option<PathBuf> = None,
        /// `Strict-Transport-Security` max-age in seconds (two years by default).
        hsts_max_age_secs: u64 = 63_072_000,
    }
}

section! {
    /// Where state is stored.
    struct Database in "database" {
        /// Database URL. Unset means the embedded SQLite database `trygg.db` in the data
        /// directory; `postgres://user@host/db` selects PostgreSQL. A secret, since URLs may carry
        /// a password: give it as `url_file` or `TRYGG_DATABASE__URL_FILE` in production.
        url: Option<Secret> = None,
        /// Largest number of pooled database connections.
        max_connections: u32 = 16,
    }
}

section! {
    /// The key vault: a key-encryption key (KEK) wraps every data key.
    struct Vault in "vault" {
        /// Keyring file holding the KEK, created with mode 0600 on first run. Defaults to
        /// `keyring` in the data directory. Ignored when `kek` is set.
        key_file: Option<PathBuf> = None,
        /// The KEK itself, base64 of 32 random bytes, for deployments that inject keys (give it
        /// as `kek_file` or `TRYGG_VAULT__KEK_FILE`). Rotation then happens by the operator
        /// providing a new key to `trygg keys rotate --new-kek-file`.
        kek: Option<Secret> = None,
        /// Identifier recorded with every data key wrapped under `kek`.
        kek_id: String = String::from("env-kek-1"),
    }
}

section! {
    /// The tamper-evident audit trail.
    struct Audit in "audit" {
        /// Write an Ed25519-signed checkpoint after this many new entries.
        checkpoint_interval: u64 = 1000,
        /// Ed25519 key that signs checkpoints, created with mode 0600 on first run. Defaults to
        /// `audit-signing.key` in the data directory; its public half is written beside it as
        /// `audit-signing.pub` for offline verification.
        signing_key_file: Option<PathBuf> = None,
    }
}

section! {
    /// Staff sessions. Both limits may be lowered, never raised beyond NIST SP 800-63B AAL2.
    struct Sessions in "sessions" {
        /// A session ends after this many seconds without a request (at most 1800).
        idle_timeout_secs: u64 = 1800,
        /// A session ends this many seconds after sign-in, whatever happens (at most 43200).
        absolute_timeout_secs: u64 = 43_200,
        /// Sensitive actions (roles, exports, erasure, key rotation, ...) need a second factor
        /// from at most this many seconds ago, or the person confirms it again (at most 300).
        step_up_max_age_secs: u64 = 300,
    }
}

section! {
    /// Single sign-on for staff with OpenID Connect (authorisation code flow with PKCE). Off
    /// unless `issuer` is set. The provider must assert multi-factor authentication (`amr` per
    /// RFC 8176, or one of `mfa_acr_values`); sign-ins without it are refused. Only existing staff
    /// accounts can sign in: the first sign-in links the provider's subject to the active account
    /// with the same verified e-mail address; nobody is created by signing in.
    struct StaffIdp in "staff_idp" {
        /// Issuer URL of the identity provider (https only), for example
        /// `https://login.example.se/realms/staff`; its `/.well-known/openid-configuration`
        /// is read at start-up.
        issuer: Option<String> = None,
        /// The client id Trygg is registered with at the provider.
        client_id: String = String::new(),
        /// The client secret (give it as `client_secret_file` or
        /// `TRYGG_STAFF_IDP__CLIENT_SECRET_FILE`).
        client_secret: Option<Secret> = None,
        /// PEM file of certificate authorities to trust for the provider instead of the system's
        /// (for a provider with a private CA).
        ca_file: Option<PathBuf> = None,
        /// Scopes to ask for; `openid` is always included.
        scopes: Vec<String> = vec!["openid".into(), "email".into(), "profile".into()],
        /// The ID token claim that lists the person's groups or roles at the provider.
        roles_claim: String = String::from("groups"),
        /// Which provider group or role value grants which Trygg role (admin, security_officer,
        /// dpo, supervisor, adviser, auditor). When set, a session gets only the roles that both
        /// the Trygg account holds and the provider asserts; empty means the provider's groups
        /// are not consulted and the account's roles apply.
        role_mapping: BTreeMap<String, String> = BTreeMap::new(),
        /// `amr` values that by themselves mean multi-factor at this provider, on top of RFC 8176
        /// (`mfa`, or two kinds of factor such as `pwd` and `otp`).
        mfa_amr_values: Vec<String> = Vec::new(),
        /// `acr` values that mean multi-factor at this provider; they are also requested.
        mfa_acr_values: Vec<String> = Vec::new(),
    }
}

section! {
    /// Customer identification with an e-ID broker over OpenID Connect (authorisation code flow
    /// with PKCE). Off unless `issuer` is set. The verified name and personal identity number
    /// are stored encrypted under the customer's own data key and shown masked to the host. The
    /// e-ID must be multi-factor (as BankID and Freja eID+ are), asserted as for `staff_idp`.
    struct CustomerIdp in "customer_idp" {
        /// Issuer URL of the e-ID broker (https only).
        issuer: Option<String> = None,
        /// The client id Trygg is registered with at the broker.
        client_id: String = String::new(),
        /// The client secret (give it as `client_secret_file` or
        /// `TRYGG_CUSTOMER_IDP__CLIENT_SECRET_FILE`).
        client_secret: Option<Secret> = None,
        /// PEM file of certificate authorities to trust for the broker instead of the system's.
        ca_file: Option<PathBuf> = None,
        /// Scopes to ask for; `openid` is always included.
        scopes: Vec<String> = vec!["openid".into(), "profile".into()],
        /// The ID token claim with the person's verified full name.
        name_claim: String = String::from("name"),
        /// The ID token claim with the verified Swedish personal identity number (12 digits).
        personal_number_claim: String = String::from("personal_identity_number"),
        /// `amr` values that by themselves mean multi-factor at this broker, on top of RFC 8176.
        mfa_amr_values: Vec<String> = Vec::new(),
        /// `acr` values that mean multi-factor at this broker (for example the Swedish
        /// `http://id.elegnamnden.se/loa/1.0/loa3`); they are also requested.
        mfa_acr_values: Vec<String> = Vec::new(),
    }
}

section! {
    /// Outgoing e-mail (meeting invitations to customers) over SMTP. Off unless `host` is set;
    /// without it, inviting by e-mail answers "e-mail is not configured". Invitations carry the
    /// meeting's link and time, never its title or other content.
    struct Smtp in "smtp" {
        /// Host name of the mail server (the submission server of the organisation's mail system).
        host: Option<String> = None,
        /// Port. Defaults to 587 for `starttls`, 465 for `tls` and 25 for `none`.
        port: Option<u16> = None,
        /// `starttls` (the default: the connection must be upgraded to TLS before anything is
        /// sent, or nothing is sent), `tls` (TLS from the first byte, usually port 465), or `none`
        /// (plain text: only allowed to a loopback host, such as a local relay or a test server).
        tls: SmtpTls = SmtpTls::Starttls,
        /// User name for SMTP authentication; unset means no authentication. Credentials are
        /// only ever sent over TLS.
        username: Option<String> = None,
        /// Password for SMTP authentication (give it as `password_file` or
        /// `TRYGG_SMTP__PASSWORD_FILE`).
        password: Option<Secret> = None,
        /// The sender address of invitations, for example `moten@bank.example.se`; the
        /// organisation's name is shown as the sender's name.
        from: Option<String> = None,
        /// PEM file of certificate authorities to trust for the mail server instead of the
        /// system's (for a server with a private CA).
        ca_file: Option<PathBuf> = None,
    }
}

section! {
    /// The media relay (SFU): one UDP socket that carries every meeting's audio and video, as
    /// SFrame ciphertext it cannot read. By default it listens on loopback only, so media works
    /// for browsers on this machine (the demo) and nowhere else until it is set up.
    struct Media in "media" {
        /// UDP address to listen on, for example `0.0.0.0:3479` (port 0 picks a free one).
        udp_listen: String = String::from("127.0.0.1:0"),
        /// The address browsers reach that socket at (the ICE candidate). Required when
        /// `udp_listen` is an unspecified address such as `0.0.0.0`.
        public_ip: Option<String> = None,
    }
}

section! {
    /// TURN relays (coturn with `use-auth-secret`) for participants whose network blocks UDP to
    /// the media relay. Off unless `urls` is set. Everyone admitted to a meeting is given
    /// credentials of the TURN REST scheme: a user name holding the expiry time and an HMAC-SHA1
    /// password derived from `shared_secret` (coturn's `static-auth-secret`), never stored.
    struct Turn in "turn" {
        /// TURN URLs for browsers, for example `turn:turn.bank.example.se:3478?transport=udp`
        /// and `turns:turn.bank.example.se:5349?transport=tcp`.
        urls: Vec<String> = Vec::new(),
        /// The secret shared with coturn (give it as `shared_secret_file` or
        /// `TRYGG_TURN__SHARED_SECRET_FILE`).
        shared_secret: Option<Secret> = None,
        /// How long credentials stay valid, in seconds (60 to 604800). Make it longer than the
        /// longest meeting: a relay allocation cannot be refreshed once they expire.
        credential_ttl_secs: u64 = 86_400,
    }
}

section! {
    /// Logging. Logs never contain content, secrets, tokens, e-mail or IP addresses.
    struct Log in "log" {
        /// `human` for a terminal, `json` for a log collector.
        format: LogFormat = LogFormat::Human,
        /// Filter in `tracing` syntax, for example `info` or `info,store=debug`.
        level: String = String::from("info"),
    }
}

impl Media {
    /// The socket address to bind and the IP to announce to browsers.
    pub fn addresses(&self) -> Result<(std::net::SocketAddr, std::net::IpAddr), ConfigError> {
        let key_error = |key: &str, message: &str| ConfigError::Key {
            key: format!("media.{key}"),
            message: message.into(),
        };
        let bind: std::net::SocketAddr = self.udp_listen.parse().map_err(|_| {
            key_error(
                "udp_listen",
                "expected an IP address and port, e.g. 0.0.0.0:3479",
            )
        })?;
        let public = match &self.public_ip {
            Some(text) => text
                .parse::<std::net::IpAddr>()
                .map_err(|_| key_error("public_ip", "expected an IP address, e.g. 203.0.113.7"))?,
            None if bind.ip().is_unspecified() => {
                return Err(key_error(
                    "public_ip",
                    "set the address browsers reach the media relay at when udp_listen is \
                     0.0.0.0 or [::]",
                ))
            }
            None => bind.ip(),
        };
        if public.is_unspecified() {
            return Err(key_error(
                "public_ip",
                "0.0.0.0 is not an address browsers can reach",
            ));
        }
        Ok((bind, public))
    }
}

impl Turn {
    /// Off without URLs; with them each must be a `turn:` or `turns:` URL, the secret is
    /// required, and the lifetime is between a minute and a week.
    fn validate(&self) -> Result<(), ConfigError> {
        let key_error = |key: &str, message: &str| ConfigError::Key {
            key: format!("turn.{key}"),
            message: message.into(),
        };
        if self.urls.is_empty() {
            return Ok(());
        }
        for url in &self.urls {
            let valid = (url.starts_with("turn:") || url.starts_with("turns:"))
                && url.len() <= 256
                && url.bytes().all(|b| b.is_ascii_graphic());
            if !valid {
                return Err(key_error(
                    "urls",
                    "expected turn: or turns: URLs, e.g. turn:turn.example.se:3478?transport=udp",
                ));
            }
        }
        if self.shared_secret.is_none() {
            return Err(key_error(
                "shared_secret",
                "TURN needs the secret shared with coturn (static-auth-secret): set \
                 turn.shared_secret_file",
            ));
        }
        if !(60..=604_800).contains(&self.credential_ttl_secs) {
            return Err(key_error(
                "credential_ttl_secs",
                "expected 60 to 604800 seconds",
            ));
        }
        Ok(())
    }
}

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required: no upgrade, no mail.
    Starttls,
    /// TLS from the first byte (implicit TLS, RFC 8314).
    Tls,
    /// No TLS at all; only to a loopback host.
    None,
}

impl SmtpTls {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::Starttls => "starttls",
            SmtpTls::Tls => "tls",
            SmtpTls::None => "none",
        }
    }
}

impl fmt::Display for SmtpTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// Why a configuration was refused. The message names the key and says what is expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("config key `{key}`: {message}")]
    Key { key: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

impl Config {
    /// Loads the file at `path` (if any), then applies the `TRYGG_*` variables in `env`.
    ///
    /// `env` is passed in rather than read here so tests and callers decide what the
    /// environment is.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = match path {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
                        path: path.to_owned(),
                        source,
                    })?;
                text.parse::<toml::Table>()
                    .map_err(|error| ConfigError::Syntax {
                        path: path.to_owned(),
                        message: one_line(&error.to_string()),
                    })?
            }
            None => toml::Table::new(),
        };
        let sections = describe();
        resolve_secret_files(&mut table, &sections)?;
        apply_env(&mut table, &sections, env)?;
        Self::from_table(table)
    }

    fn from_table(table: toml::Table) -> Result<Config, ConfigError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        #[derive(Default)]
        struct Whole {
            server: Server,
            http: Http,
            database: Database,
            vault: Vault,
            audit: Audit,
            sessions: Sessions,
            staff_idp: StaffIdp,
            customer_idp: CustomerIdp,
            smtp: Smtp,
            turn: Turn,
            media: Media,
            log: Log,
        }
        let whole: Whole =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|error| {
                let key = error.path().to_string();
                ConfigError::Key {
                    key: if key == "." {
                        "(top level)".into()
                    } else {
                        key
                    },
                    message: one_line(&error.inner().to_string()),
                }
            })?;
        let config = Config {
            server: whole.server,
            http: whole.http,
            database: whole.database,
            vault: whole.vault,
            audit: whole.audit,
            sessions: whole.sessions,
            staff_idp: whole.staff_idp,
            customer_idp: whole.customer_idp,
            smtp: whole.smtp,
            turn: whole.turn,
            media: whole.media,
            log: whole.log,
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let key_error = |key: &str, message: &str| ConfigError::Key {
            key: key.into(),
            message: message.into(),
        };
        match (&self.http.tls_cert_file, &self.http.tls_key_file) {
            (Some(_), None) => {
                return Err(key_error(
                    "http.tls_key_file",
                    "must be set together with http.tls_cert_file",
                ))
            }
            (None, Some(_)) => {
                return Err(key_error(
                    "http.tls_cert_file",
                    "must be set together with http.tls_key_file",
                ))
            }
            _ => {}
        }
        if self.audit.checkpoint_interval == 0 {
            return Err(key_error(
                "audit.checkpoint_interval",
                "expected a number of entries of at least 1",
            ));
        }
        if !(1..=1800).contains(&self.sessions.idle_timeout_secs) {
            return Err(key_error(
                "sessions.idle_timeout_secs",
                "expected 1 to 1800 seconds (NIST AAL2 allows at most 30 minutes)",
            ));
        }
        if !(1..=43_200).contains(&self.sessions.absolute_timeout_secs) {
            return Err(key_error(
                "sessions.absolute_timeout_secs",
                "expected 1 to 43200 seconds (NIST AAL2 allows at most 12 hours)",
            ));
        }
        if !(1..=300).contains(&self.sessions.step_up_max_age_secs) {
            return Err(key_error(
                "sessions.step_up_max_age_secs",
                "expected 1 to 300 seconds",
            ));
        }
        if self.sessions.idle_timeout_secs > self.sessions.absolute_timeout_secs {
            return Err(key_error(
                "sessions.idle_timeout_secs",
                "expected at most sessions.absolute_timeout_secs",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(key_error(
                "database.max_connections",
                "expected at least 1 connection",
            ));
        }
        if let Some(url) = &self.server.public_url {
            if !url.starts_with("https://") {
                return Err(key_error(
                    "server.public_url",
                    "expected an https:// address; Trygg is served over HTTPS only",
                ));
            }
        }
        if let Some(url) = &self.database.url {
            let url = url.expose();
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return Err(key_error(
                    "database.url",
                    "expected a sqlite:PATH or postgres:// URL",
                ));
            }
        }
        validate_idp(
            "staff_idp",
            self.staff_idp.issuer.as_deref(),
            &self.staff_idp.client_id,
            self.staff_idp.client_secret.is_some(),
        )?;
        validate_idp(
            "customer_idp",
            self.customer_idp.issuer.as_deref(),
            &self.customer_idp.client_id,
            self.customer_idp.client_secret.is_some(),
        )?;
        const ROLES: &[&str] = &[
            "admin",
            "security_officer",
            "dpo",
            "supervisor",
            "adviser",
            "auditor",
        ];
        for (group, role) in &self.staff_idp.role_mapping {
            if !ROLES.contains(&role.as_str()) {
                return Err(key_error(
                    &format!("staff_idp.role_mapping.{group}"),
                    "expected one of admin, security_officer, dpo, supervisor, adviser, auditor",
                ));
            }
        }
        for (key, claim) in [
            ("staff_idp.roles_claim", &self.staff_idp.roles_claim),
            ("customer_idp.name_claim", &self.customer_idp.name_claim),
            (
                "customer_idp.personal_number_claim",
                &self.customer_idp.personal_number_claim,
            ),
        ] {
            if claim.is_empty() {
                return Err(key_error(key, "expected the name of an ID token claim"));
            }
        }
        self.smtp.validate()?;
        self.turn.validate()?;
        self.media.addresses()?;
        if self.vault.kek.is_some() && !is_identifier(&self.vault.kek_id) {
            return Err(key_error(
                "vault.kek_id",
                "expected 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-'",
            ));
        }
        Ok(())
    }

    /// Every effective value by dotted key, secrets shown only as set or unset. Used to notice
    /// and audit configuration changes without ever recording a secret.
    pub fn effective(&self) -> BTreeMap<String, String> {
        [
            self.server.effective(),
            self.http.effective(),
            self.database.effective(),
            self.vault.effective(),
            self.audit.effective(),
            self.sessions.effective(),
            self.staff_idp.effective(),
            self.customer_idp.effective(),
            self.smtp.effective(),
            self.turn.effective(),
            self.media.effective(),
            self.log.effective(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The SQLite or PostgreSQL URL to use: the configured one or the embedded default.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite:{}", self.server.data_dir.join("trygg.db").display()),
        }
    }

    pub fn keyring_path(&self) -> PathBuf {
        self.vault
            .key_file
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("keyring"))
    }

    pub fn audit_signing_key_path(&self) -> PathBuf {
        self.audit
            .signing_key_file
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("audit-signing.key"))
    }
}

/// The example configuration, rendered from the sections' doc comments and defaults.
pub fn example_toml() -> String {
    let mut out = String::new();
    out.push_str(
        "# Trygg configuration: every key with its default.\n\
         # Generated from the doc comments in crates/config/src/lib.rs by\n\
         # `cargo xtask config-example`; do not edit by hand.\n\
         #\n\
         # Every key can also be set in the environment as TRYGG_<SECTION>__<KEY>\n\
         # (for example TRYGG_HTTP__LISTEN=127.0.0.1:8443). Secrets can be read from a file:\n\
         # `<key>_file = \"/run/secrets/x\"` here, or TRYGG_<SECTION>__<KEY>_FILE.\n",
    );
    for section in describe() {
        out.push('\n');
        for line in section.docs {
            out.push_str(&format!("#{line}\n"));
        }
        out.push_str(&format!("[{}]\n", section.key));
        for field in &section.fields {
            for line in field.docs {
                out.push_str(&format!("#{line}\n"));
            }
            match &field.example {
                Some(value) => out.push_str(&format!("{} = {value}\n", field.key)),
                None => out.push_str(&format!("# {} =\n", field.key)),
            }
            if field.secret {
                out.push_str(&format!("# {}_file =\n", field.key));
            }
        }
    }
    out
}

struct SectionDoc {
    key: &'static str,
    docs: &'static [&'static str],
    fields: Vec<FieldDoc>,
}

struct FieldDoc {
    key: &'static str,
    docs: &'static [&'static str],
    example: Option<String>,
    secret: bool,
    from_env: fn(&str) -> Result<toml::Value, String>,
}

fn describe() -> Vec<SectionDoc> {
    vec![
        Server::describe(),
        Http::describe(),
        Database::describe(),
        Vault::describe(),
        Audit::describe(),
        Sessions::describe(),
        StaffIdp::describe(),
        CustomerIdp::describe(),
        Smtp::describe(),
        Turn::describe(),
        Media::describe(),
        Log::describe(),
    ]
}

/// Replaces `<secret>_file = "path"` by the secret read from that file.
fn resolve_secret_files(
    table: &mut toml::Table,
    sections: &[SectionDoc],
) -> Result<(), ConfigError> {
    for section in sections {
        let Some(toml::Value::Table(section_table)) = table.get_mut(section.key) else {
            continue;
        };
        for field in sections_secret_fields(section) {
            let file_key = format!("{}_file", field.key);
            let Some(value) = section_table.remove(&file_key) else {
                continue;
            };
            let dotted = format!("{}.{file_key}", section.key);
            if section_table.contains_key(field.key) {
                return Err(ConfigError::Key {
                    key: dotted,
                    message: format!("give either `{}` or `{file_key}`, not both", field.key),
                });
            }
            let toml::Value::String(path) = value else {
                return Err(ConfigError::Key {
                    key: dotted,
                    message: "expected the path of a file holding the secret".into(),
                });
            };
            let secret =
                read_secret_file(Path::new(&path)).map_err(|message| ConfigError::Key {
                    key: dotted,
                    message,
                })?;
            section_table.insert(field.key.to_owned(), toml::Value::String(secret));
        }
    }
    Ok(())
}

fn sections_secret_fields(section: &SectionDoc) -> impl Iterator<Item = &FieldDoc> {
    section.fields.iter().filter(|field| field.secret)
}

/// Applies `TRYGG_<SECTION>__<KEY>` (and `..._FILE` for secrets). A variable shaped like a
/// configuration key that names no key is refused, so a typo cannot silently leave a default.
fn apply_env(
    table: &mut toml::Table,
    sections: &[SectionDoc],
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (var, raw) in env {
        let Some(rest) = var.strip_prefix("TRYGG_") else {
            continue;
        };
        let Some((section_name, field_name)) = rest.split_once("__") else {
            continue;
        };
        let section_name = section_name.to_ascii_lowercase();
        let mut field_name = field_name.to_ascii_lowercase();
        let unknown = || ConfigError::Env {
            var: var.clone(),
            message: "names no configuration key; see docs/trygg.example.toml".into(),
        };
        let section = sections
            .iter()
            .find(|section| section.key == section_name)
            .ok_or_else(unknown)?;
        let mut from_file = false;
        if section.fields.iter().all(|field| field.key != field_name) {
            if let Some(stem) = field_name.strip_suffix("_file") {
                from_file = true;
                field_name = stem.to_owned();
            }
        }
        let field = section
            .fields
            .iter()
            .find(|field| field.key == field_name)
            .ok_or_else(unknown)?;
        let text = if from_file {
            if !field.secret {
                return Err(ConfigError::Env {
                    var,
                    message: "only secrets can be read from a file".into(),
                });
            }
            read_secret_file(Path::new(&raw)).map_err(|message| ConfigError::Env {
                var: var.clone(),
                message,
            })?
        } else {
            raw
        };
        let value = (field.from_env)(&text).map_err(|message| ConfigError::Env {
            var: var.clone(),
            message,
        })?;
        let section_table = table
            .entry(section.key)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(section_table) = section_table else {
            return Err(ConfigError::Key {
                key: section.key.into(),
                message: "expected a table".into(),
            });
        };
        section_table.insert(field.key.to_owned(), value);
    }
    Ok(())
}

fn read_secret_file(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read secret file {}: {error}", path.display()))?;
    // A trailing newline is an artefact of how the file was written, never part of a secret.
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// An identity provider is off without an issuer; with one it needs https, a client id and a
/// client secret (Trygg is a confidential client).
fn validate_idp(
    section: &str,
    issuer: Option<&str>,
    client_id: &str,
    has_secret: bool,
) -> Result<(), ConfigError> {
    let Some(issuer) = issuer else {
        return Ok(());
    };
    let key_error = |key: &str, message: &str| ConfigError::Key {
        key: format!("{section}.{key}"),
        message: message.into(),
    };
    let host = issuer.strip_prefix("https://").unwrap_or_default();
    if host.is_empty() || host.starts_with('/') || issuer.contains(['?', '#', ' ']) {
        return Err(key_error(
            "issuer",
            "expected the provider's https:// issuer URL (no query or fragment)",
        ));
    }
    if client_id.is_empty() {
        return Err(key_error(
            "client_id",
            "expected the client id Trygg is registered with at the provider",
        ));
    }
    if !has_secret {
        return Err(key_error(
            "client_secret",
            "expected the client secret (as client_secret_file in production)",
        ));
    }
    Ok(())
}

impl Smtp {
    /// The port to connect to: the configured one or the usual one for the TLS mode.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        })
    }

    /// Off without a host; with one it needs a sender, a port that is not 0, credentials in
    /// pairs and only over TLS, and TLS unless the host is this machine.
    fn validate(&self) -> Result<(), ConfigError> {
        let key_error = |key: &str, message: &str| ConfigError::Key {
            key: format!("smtp.{key}"),
            message: message.into(),
        };
        let Some(host) = &self.host else {
            return Ok(());
        };
        let plausible_host = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
        if !plausible_host {
            return Err(key_error(
                "host",
                "expected the mail server's host name or IP address, without scheme or port",
            ));
        }
        if self.port == Some(0) {
            return Err(key_error("port", "expected a port from 1 to 65535"));
        }
        if self.tls == SmtpTls::None && !is_loopback_host(host) {
            return Err(key_error(
                "tls",
                "`none` sends mail in plain text and is only allowed to a loopback host                  (localhost, 127.0.0.1, ::1); use `starttls` or `tls`",
            ));
        }
        match (&self.username, &self.password) {
            (Some(_), None) => {
                return Err(key_error(
                    "password",
                    "must be set together with smtp.username (as password_file in production)",
                ))
            }
            (None, Some(_)) => {
                return Err(key_error(
                    "username",
                    "must be set together with smtp.password",
                ))
            }
            (Some(_), Some(_)) if self.tls == SmtpTls::None => {
                return Err(key_error(
                    "username",
                    "credentials are only sent over TLS; use `starttls` or `tls`",
                ))
            }
            _ => {}
        }
        let from_ok = self.from.as_deref().is_some_and(|from| {
            from.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.contains('@')
            }) && !from
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        });
        if !from_ok {
            return Err(key_error(
                "from",
                "expected the sender's e-mail address, such as moten@bank.example.se",
            ));
        }
        Ok(())
    }
}

/// Whether `host` names this machine: `localhost`, an address in 127.0.0.0/8, or `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn is_identifier(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Human => "human",
            LogFormat::Json => "json",
        })
    }
}

#[cfg(test)]
mod tests;
