//! Start-up, serving and shutdown of the server, shared by `trygg serve` and `trygg demo`.
//!
//! Start-up checks everything that can be checked before anything is written (configuration,
//! ports, database reachability, the keyring against the stored data keys), so a failure leaves
//! the data directory as it was, and then writes the start-up audit entries.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use audit::{Event, Outcome};
use config::Config;
use edge::tls::{CertificateOrigin, CertificateSource};
use store::{AuditWriter, GroupCommitter, Store, Tx};
use tokio::net::TcpListener;

use crate::accounts::AccountService;
use crate::clock::now_ms;
use crate::keys::{KeyService, Opened};
use crate::{demo, signing};

/// Everything a running server holds.
#[derive(Debug)]
pub struct Server {
    pub config: Config,
    pub store: Store,
    pub keys: Arc<KeyService>,
    pub audit: AuditWriter,
    pub audit_queue: GroupCommitter,
    pub accounts: Arc<AccountService>,
    pub sso: Arc<crate::sso::SsoService>,
    pub meetings: Arc<crate::meetings::MeetingService>,
    pub live: Arc<crate::meetings::live::LiveMeetings>,
    pub invitations: Arc<crate::invitations::InvitationService>,
    pub organisation: Option<String>,
    tls: edge::tls::TlsConfig,
    listener: TcpListener,
    redirect_listener: Option<TcpListener>,
    /// The address the HTTPS listener actually bound (port 0 resolved).
    pub local_addr: SocketAddr,
    /// Created on this start: shown in the start-up message.
    pub created: Vec<String>,
}

/// Whether to seed the demonstration organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Production,
    Demo,
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

impl Server {
    /// Checks and opens everything; see the module documentation for the order.
    pub async fn start(config: Config, mode: Mode) -> anyhow::Result<Server> {
        // Ports first: a busy port must fail before anything is created on disk.
        let listener = edge::bind(config.http.listen).await.map_err(port_hint)?;
        let local_addr = listener.local_addr()?;
        let redirect_listener = match config.http.redirect_listen {
            Some(addr) => Some(edge::bind(addr).await.map_err(port_hint)?),
            None => None,
        };

        let data_dir = &config.server.data_dir;
        // An operator's certificate is read before anything is written.
        let certificate = match (&config.http.tls_cert_file, &config.http.tls_key_file) {
            (Some(cert), Some(key)) => CertificateSource::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => CertificateSource::SelfSigned {
                dir: data_dir.clone(),
            },
        };
        let configured_tls = match &certificate {
            CertificateSource::Files { .. } => Some(load_tls(&certificate)?),
            CertificateSource::SelfSigned { .. } => None,
        };
        // So is the mail server's CA file.
        let mailer = crate::mail::Mailer::from_config(&config.smtp, &public_host(&config))?;
        create_private_dir(data_dir)?;
        let store = open_store(&config, true).await?;
        let (keys, keyring_opened) = open_keys(&config, &store).await?;

        let mut created = Vec::new();
        let applied = store.migrate(now_ms()).await?;
        if keyring_opened == Some(Opened::Created) {
            created.push(format!("keyring {}", config.keyring_path().display()));
        }
        let signing_path = config.audit_signing_key_path();
        let (signer, signer_created) = signing::load_or_create(&signing_path)?;
        if signer_created {
            created.push(format!("audit signing key {}", signing_path.display()));
        }
        let public_key = signer.public_key().to_hex();
        let audit = AuditWriter::new(Arc::new(signer), config.audit.checkpoint_interval);
        let (tls, origin) = match configured_tls {
            Some(loaded) => loaded,
            None => load_tls(&certificate)?,
        };
        if origin == CertificateOrigin::SelfSignedGenerated {
            created.push(format!(
                "self-signed TLS certificate {}",
                data_dir.join("tls-cert.pem").display()
            ));
        }

        let now = now_ms();
        let mut tx = store.begin().await?;
        let mut events = vec![
            Event::new(now, "system", "server.started", Outcome::Success)
                .detail("version", VERSION)
                .detail("store", format!("{:?}", store.kind()).to_lowercase())
                .detail("audit_public_key", public_key)
                .detail("mode", format!("{mode:?}").to_lowercase()),
        ];
        if !applied.is_empty() {
            let versions: Vec<String> = applied.iter().map(i64::to_string).collect();
            events.push(
                Event::new(now, "system", "store.migrated", Outcome::Success)
                    .detail("versions", versions.join(",")),
            );
        }
        if keyring_opened == Some(Opened::Created) {
            events.push(
                Event::new(now, "system", "keys.kek_created", Outcome::Success)
                    .detail("kek", keys.active_kek()),
            );
        }
        if origin == CertificateOrigin::SelfSignedGenerated {
            events.push(Event::new(
                now,
                "system",
                "tls.self_signed_created",
                Outcome::Success,
            ));
        }
        events.extend(config_change(&mut tx, &config, now).await?);
        audit.append(&mut tx, events, now).await?;
        tx.commit().await?;

        if mode == Mode::Demo {
            demo::seed(&store, &keys, &audit).await?;
        }
        let organisation = demo::organisation_name(&store, &keys).await?;
        let audit_queue = GroupCommitter::spawn(store.clone(), audit.clone(), now_ms);
        let accounts = Arc::new(
            AccountService::new(
                store.clone(),
                keys.clone(),
                audit.clone(),
                Some(audit_queue.clone()),
                account_settings(&config)?,
            )
            .await?,
        );
        let sso = Arc::new(crate::sso::SsoService::new(accounts.clone(), &config)?);
        let (media_bind, media_public) = config.media.addresses()?;
        let media = sfu::spawn(sfu::SfuConfig::new(media_bind, media_public))
            .await
            .with_context(|| format!("cannot open the media relay's UDP socket on {media_bind}"))?;
        tracing::info!(
            udp_port = media.0.local_addr().port(),
            "media relay listening"
        );
        let live = crate::meetings::live::LiveMeetings::new(
            accounts.clone(),
            crate::turn::Turn::from_config(&config),
            Some(media),
        );
        let meetings = Arc::new(crate::meetings::MeetingService::new(
            accounts.clone(),
            live.clone(),
            edge::sso::SsoApi::availability(sso.as_ref()).customer,
        ));
        let invitations = Arc::new(crate::invitations::InvitationService::new(
            accounts.clone(),
            meetings.clone(),
            mailer,
            config.server.public_url.clone(),
        ));
        Ok(Server {
            config,
            store,
            keys,
            audit,
            audit_queue,
            accounts,
            sso,
            meetings,
            live,
            invitations,
            organisation,
            tls,
            listener,
            redirect_listener,
            local_addr,
            created,
        })
    }

    /// The address to print for people: a wildcard listen address becomes `localhost`.
    pub fn url(&self) -> String {
        if let Some(url) = &self.config.server.public_url {
            return url.clone();
        }
        let ip = self.local_addr.ip();
        let host = if ip.is_unspecified() {
            "localhost".to_owned()
        } else if ip.is_ipv6() {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        format!("https://{host}:{}/", self.local_addr.port())
    }

    /// Serves until `shutdown` completes, then records the stop and a final checkpoint.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let services = Arc::new(crate::services::Wired {
            store: self.store.clone(),
            keys: self.keys.clone(),
            accounts: self.accounts.clone(),
            sso: self.sso.clone(),
            meetings: self.meetings.clone(),
            live: self.live.clone(),
            invitations: self.invitations.clone(),
        });
        let state = edge::AppState::new(
            self.store.clone(),
            services,
            self.config.http.hsts_max_age_secs,
        );
        let app = edge::router(state);
        let (stop_sender, stop_receiver) = tokio::sync::watch::channel(false);
        let redirect = self.redirect_listener.map(|listener| {
            let mut stop = stop_receiver.clone();
            tokio::spawn(edge::serve_redirect(
                listener,
                self.config.server.public_url.clone(),
                self.local_addr.port(),
                async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                },
            ))
        });
        edge::serve(self.listener, self.tls, app, shutdown).await;
        let _ = stop_sender.send(true);
        if let Some(redirect) = redirect {
            let _ = redirect.await;
        }

        let now = now_ms();
        let mut tx = self.store.begin().await?;
        self.audit
            .append(
                &mut tx,
                vec![Event::new(
                    now,
                    "system",
                    "server.stopped",
                    Outcome::Success,
                )],
                now,
            )
            .await?;
        self.audit.checkpoint_now(&mut tx, now).await?;
        tx.commit().await?;
        self.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// This server's host name for the mail server (EHLO, Message-IDs): the host of
/// `server.public_url`, else `localhost`.
fn public_host(config: &Config) -> String {
    config
        .server
        .public_url
        .as_deref()
        .and_then(|url| url.strip_prefix("https://"))
        .and_then(|rest| rest.split(['/', ':']).next())
        .filter(|host| !host.is_empty())
        .unwrap_or("localhost")
        .to_owned()
}

/// The session timeouts, step-up window and passkey relying party the configuration sets.
pub fn account_settings(config: &Config) -> anyhow::Result<crate::accounts::AccountSettings> {
    let millis = |secs: u64| i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    Ok(crate::accounts::AccountSettings {
        sessions: identity::session::SessionPolicy {
            idle_ms: millis(config.sessions.idle_timeout_secs),
            absolute_ms: millis(config.sessions.absolute_timeout_secs),
        },
        step_up_max_age_secs: config.sessions.step_up_max_age_secs,
        relying_party: crate::accounts::RelyingParty::for_public_url(
            config.server.public_url.as_deref(),
        )?,
    })
}

/// Opens the database named by the configuration. `create` allows creating a new SQLite file.
pub async fn open_store(config: &Config, create: bool) -> anyhow::Result<Store> {
    let url = config.database_url();
    if !create && url.starts_with("sqlite:") {
        let path = PathBuf::from(url.trim_start_matches("sqlite:"));
        if !path.exists() {
            bail!(
                "there is no Trygg database at {}; check --data-dir or database.url",
                path.display()
            );
        }
    }
    Store::connect(&url, config.database.max_connections, create)
        .await
        .map_err(|error| {
            anyhow::anyhow!("{error}; check database.url and that the database server is running")
        })
}

/// Opens the key-encryption key: the injected one, or the keyring file.
pub async fn open_keys(
    config: &Config,
    store: &Store,
) -> anyhow::Result<(Arc<KeyService>, Option<Opened>)> {
    match &config.vault.kek {
        Some(kek) => {
            let id = vault::KekId::parse(&config.vault.kek_id)
                .map_err(|error| anyhow::anyhow!("vault.kek_id: {error}"))?;
            let keyring = vault::Keyring::from_base64_key(id, kek.expose())
                .map_err(|error| anyhow::anyhow!("vault.kek: {error}"))?;
            Ok((Arc::new(KeyService::injected(keyring, store).await?), None))
        }
        None => {
            let (service, opened) = KeyService::open_file(&config.keyring_path(), store).await?;
            Ok((Arc::new(service), Some(opened)))
        }
    }
}

/// Notices a configuration that differs from the one the server last ran with and returns the
/// audit event naming the changed keys (never their values: some are secrets).
async fn config_change(tx: &mut Tx, config: &Config, now: i64) -> anyhow::Result<Option<Event>> {
    const SETTING: &str = "config.effective";
    let effective = config.effective();
    let current = serde_json::to_string(&effective)?;
    let previous = tx.setting(SETTING).await?;
    if previous.as_deref() == Some(current.as_str()) {
        return Ok(None);
    }
    let event = match previous {
        None => Event::new(now, "system", "config.recorded", Outcome::Success),
        Some(previous) => {
            let previous: std::collections::BTreeMap<String, String> =
                serde_json::from_str(&previous).unwrap_or_default();
            let changed: Vec<&str> = effective
                .iter()
                .filter(|(key, value)| previous.get(*key) != Some(value))
                .map(|(key, _)| key.as_str())
                .chain(
                    previous
                        .keys()
                        .map(String::as_str)
                        .filter(|key| !effective.contains_key(*key)),
                )
                .collect();
            Event::new(now, "system", "config.changed", Outcome::Success)
                .detail("keys", changed.join(","))
        }
    };
    tx.set_setting(SETTING, &current, now).await?;
    Ok(Some(event))
}

fn load_tls(
    source: &CertificateSource,
) -> anyhow::Result<(edge::tls::TlsConfig, CertificateOrigin)> {
    edge::tls::load(source).map_err(|error| anyhow::anyhow!("{error}"))
}

fn port_hint(error: edge::HttpError) -> anyhow::Error {
    match &error {
        edge::HttpError::Bind { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse => {
            anyhow::anyhow!(
                "{error}; another program uses that port: stop it or set http.listen to a free one"
            )
        }
        _ => anyhow::anyhow!("{error}; check http.listen"),
    }
}

/// Creates the data directory readable by its owner only.
fn create_private_dir(path: &std::path::Path) -> anyhow::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(path).with_context(|| {
        format!(
            "cannot create the data directory {}; check server.data_dir and its parent's permissions",
            path.display()
        )
    })
}

/// Registers for SIGTERM and SIGINT at once (so a signal that arrives while the server is still
/// starting is not lost to the default action) and returns a future that resolves on either.
pub fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {},
            _ = interrupt.recv() => {},
        }
        tracing::info!("shutting down");
    })
}
