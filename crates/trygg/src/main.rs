//! `trygg`: the command line. Every command loads the configuration the same way (file, then
//! `TRYGG_*` variables, then the command's own flags) and fails with one line saying what to fix.
//!
//! Exit codes: 0 success, 1 the command could not do its work, 2 bad usage, 3 `audit verify`
//! found the trail tampered with.

#![forbid(unsafe_code)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use config::{Config, LogFormat};
use trygg::app::{self, Mode, Server};
use trygg::{demo, logging, signing};

#[derive(Parser, Debug)]
#[command(
    name = "trygg",
    version,
    about = "Trygg: secure digital customer meetings",
    long_about = "Trygg: secure digital customer meetings. Video, chat and file exchange between \
                  an organisation's staff and its customers, end-to-end encrypted, audited and \
                  private by default."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (the production entry point).
    Serve {
        #[command(flatten)]
        target: Target,
    },
    /// Run a self-contained demonstration: SQLite, a self-signed certificate and a seeded
    /// organisation, in a data directory of its own.
    Demo {
        /// Directory for the demo's data; created if missing.
        #[arg(long, value_name = "DIR", default_value = ".trygg-demo")]
        data_dir: PathBuf,
        /// Address and port to serve HTTPS on (port 0 picks a free one).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        target: Target,
    },
    /// Accounts and administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Sessions.
    Sessions {
        #[command(subcommand)]
        command: SessionsCommand,
    },
    /// The tamper-evident audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Authorisation policies.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// The key vault.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Create the first administrator and print a one-time enrolment link, valid for 15
    /// minutes, through which they set a password and a second factor. Refused once an
    /// administrator exists.
    Bootstrap {
        #[command(flatten)]
        target: Target,
        /// The administrator's e-mail address.
        #[arg(long, value_name = "ADDRESS")]
        email: String,
        /// The administrator's name, as shown to others.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum SessionsCommand {
    /// Raise a session's risk score (continuous verification): from 50 the policies refuse it
    /// sensitive actions, from 80 it ends at once. Audited with the reason.
    RaiseRisk {
        #[command(flatten)]
        target: Target,
        /// The session's public id (as listed to its owner).
        #[arg(long, value_name = "ID")]
        session: String,
        /// The new risk score, 0 to 100.
        #[arg(long, value_name = "SCORE", value_parser = clap::value_parser!(u8).range(0..=100))]
        score: u8,
        /// A short code saying why, such as impossible_travel.
        #[arg(long, value_name = "CODE")]
        reason: String,
    },
}

#[derive(Subcommand, Debug)]
enum PolicyCommand {
    /// Validate a directory of Cedar policy files (`*.cedar`) against its schema
    /// (one `*.cedarschema`); exit 0 when valid, 1 listing every problem with file and policy id.
    Check {
        /// The directory holding the schema and the policies.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Verify the hash chain and signed checkpoints; exit 0 if intact, 3 naming the first
    /// entry that was modified, deleted, inserted or reordered.
    Verify {
        #[command(flatten)]
        target: Target,
        /// The checkpoint public key (64 hex digits). Defaults to the `.pub` file beside the
        /// audit signing key; pass it from a trusted copy to verify a database you do not trust.
        #[arg(long, value_name = "HEX")]
        public_key: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Re-wrap every data key under a new key-encryption key, while servers keep serving.
    Rotate {
        #[command(flatten)]
        target: Target,
        /// For an injected key (vault.kek): file holding the new key, base64 of 32 bytes.
        #[arg(long, value_name = "FILE")]
        new_kek_file: Option<PathBuf>,
        /// Identifier for the new injected key.
        #[arg(long, value_name = "ID", requires = "new_kek_file")]
        new_kek_id: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Print an example configuration with every key, its default and its documentation.
    Example,
    /// Load and check the configuration, then print the effective values (secrets hidden).
    Check {
        #[command(flatten)]
        target: Target,
    },
}

/// Which installation a command works on.
#[derive(Args, Debug)]
struct Target {
    /// Configuration file (TOML).
    #[arg(long, short, value_name = "FILE", env = "TRYGG_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory; overrides server.data_dir.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL; overrides database.url (for example postgres://trygg@db/trygg).
    #[arg(
        long,
        value_name = "URL",
        env = "TRYGG_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
}

impl Target {
    fn load(&self) -> anyhow::Result<Config> {
        let mut config = Config::load(self.config.as_deref(), std::env::vars())?;
        if let Some(dir) = &self.data_dir {
            config.server.data_dir = dir.clone();
        }
        if let Some(url) = &self.database_url {
            config.database.url = Some(config::Secret::new(url.clone()));
        }
        Ok(config)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", one_line_message(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, leaving out a cause whose text its parent already
/// repeats (many library errors print their source in their own message).
fn one_line_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
    }
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { target } => {
            let config = target.load()?;
            logging::init(config.log.format, &config.log.level)?;
            let shutdown = app::shutdown_signal()?;
            let server = Server::start(config, Mode::Production).await?;
            // Ignored if nobody reads standard output: the server must not stop over it.
            let _ = writeln!(std::io::stdout(), "Trygg is serving at {}", server.url());
            tracing::info!(port = server.local_addr.port(), "serving");
            server.run(shutdown).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { data_dir, listen } => {
            let mut config = Config::load(None, std::env::vars())?;
            config.server.data_dir = data_dir;
            config.http.listen = listen;
            logging::init(config.log.format, &config.log.level)?;
            let shutdown = app::shutdown_signal()?;
            let server = Server::start(config, Mode::Demo).await?;
            print_demo_banner(&server);
            server.run(shutdown).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { target } => {
            let config = target.load()?;
            logging::init(config.log.format, &config.log.level)?;
            let store = app::open_store(&config, true).await?;
            let applied = store.migrate(trygg::clock::now_ms()).await?;
            let version = store.schema_version().await?;
            if applied.is_empty() {
                println!("The database is up to date (schema version {version}).");
            } else {
                println!("Applied migrations {applied:?}; schema version is now {version}.");
            }
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin {
            command:
                AdminCommand::Bootstrap {
                    target,
                    email,
                    name,
                    json,
                },
        } => bootstrap(target, &email, &name, json).await,
        Command::Sessions {
            command:
                SessionsCommand::RaiseRisk {
                    target,
                    session,
                    score,
                    reason,
                },
        } => {
            let config = target.load()?;
            let (store, accounts) = account_service(&config).await?;
            let outcome = accounts.raise_session_risk(&session, score, &reason).await;
            store.close().await;
            match outcome? {
                trygg::accounts::RiskOutcome::Raised => {
                    println!("Raised the session's risk to {score}.")
                }
                trygg::accounts::RiskOutcome::Revoked => {
                    println!("The session's risk is {score}: it has been ended.")
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy {
            command: PolicyCommand::Check { dir },
        } => {
            let report = policy::check_dir(&dir).map_err(|error| anyhow::anyhow!("{error}"))?;
            println!("{report}");
            Ok(if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Audit {
            command:
                AuditCommand::Verify {
                    target,
                    public_key,
                    json,
                },
        } => verify_audit(target, public_key, json).await,
        Command::Keys {
            command:
                KeysCommand::Rotate {
                    target,
                    new_kek_file,
                    new_kek_id,
                    json,
                },
        } => rotate_keys(target, new_kek_file, new_kek_id, json).await,
        Command::Config {
            command: ConfigCommand::Example,
        } => {
            print!("{}", config::example_toml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Config {
            command: ConfigCommand::Check { target },
        } => {
            let config = target.load()?;
            for (key, value) in config.effective() {
                println!("{key} = {value}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints the demo's welcome. Written so that a closed standard output (a launcher that stopped
/// reading) cannot bring the server down: the banner is a courtesy, not a requirement.
fn print_demo_banner(server: &Server) {
    let data_dir = server.config.server.data_dir.display();
    let organisation = server
        .organisation
        .as_deref()
        .unwrap_or(demo::DEMO_ORGANISATION);
    let mut text = format!(
        "\nTrygg is running at {url}\n\n\
         \x20 Organisation:   {organisation}\n\
         \x20 Data directory: {data_dir}\n\
         \x20 Certificate:    self-signed; your browser will ask you to accept it.\n\
         \x20 Sign-in:        no account and no default password exists. Create the first\n\
         \x20                 administrator, then open the link it prints:\n\
         \x20                 trygg admin bootstrap --data-dir {data_dir} --email you@example.com --name \"Your Name\"\n",
        url = server.url(),
    );
    for created in &server.created {
        text.push_str(&format!("  Created:        {created}\n"));
    }
    text.push_str("\nPress Ctrl+C to stop.\n");
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// The identity service for a command that works on the database directly (no server).
async fn account_service(
    config: &Config,
) -> anyhow::Result<(store::Store, trygg::accounts::AccountService)> {
    logging::init(LogFormat::Human, "warn")?;
    let store = app::open_store(config, true).await?;
    store.migrate(trygg::clock::now_ms()).await?;
    let (keys, _) = app::open_keys(config, &store).await?;
    let (signer, _) = signing::load_or_create(&config.audit_signing_key_path())?;
    let writer = store::AuditWriter::new(
        std::sync::Arc::new(signer),
        config.audit.checkpoint_interval,
    );
    let accounts = trygg::accounts::AccountService::new(
        store.clone(),
        keys,
        writer,
        None,
        app::account_settings(config)?,
    )
    .await?;
    Ok((store, accounts))
}

async fn bootstrap(
    target: Target,
    email: &str,
    name: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let config = target.load()?;
    let (store, accounts) = account_service(&config).await?;
    let made = accounts.bootstrap(email, name).await?;
    store.close().await;
    let base = config
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("https://localhost:{}/", config.http.listen.port()));
    let url = format!("{}/enrol#{}", base.trim_end_matches('/'), made.token);
    if json {
        println!(
            "{}",
            serde_json::json!({
                "account_id": made.account_id,
                "enrolment_url": url,
                "token": made.token,
                "expires_at_ms": made.expires_at_ms,
            })
        );
    } else {
        println!("Created the administrator account. Open this link within 15 minutes to set a");
        println!("password and a second factor (it works once):");
        println!();
        println!("  {url}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn verify_audit(
    target: Target,
    public_key: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let config = target.load()?;
    let store = app::open_store(&config, false).await?;
    let public_key = match public_key {
        Some(hex_text) => signing::parse_public(&hex_text)?,
        None => signing::load_public(&config.audit_signing_key_path())?,
    };
    let snapshot = store.audit_snapshot().await?;
    store.close().await;
    let result = audit::verify(
        &snapshot.entries,
        &snapshot.checkpoints,
        Some(snapshot.head),
        &public_key,
    );
    match result {
        Ok(report) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "intact": true,
                        "entries": report.entries,
                        "checkpoints": report.checkpoints,
                        "head_seq": report.head.seq,
                        "head_hash": hex::encode(report.head.hash),
                    })
                );
            } else {
                println!(
                    "The audit trail is intact: {} entries, {} signed checkpoints, head {} ({}).",
                    report.entries,
                    report.checkpoints,
                    report.head.seq,
                    hex::encode(report.head.hash)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(tamper) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "intact": false, "finding": tamper.to_string() })
                );
            } else {
                println!("The audit trail has been tampered with: {tamper}.");
            }
            Ok(ExitCode::from(3))
        }
    }
}

async fn rotate_keys(
    target: Target,
    new_kek_file: Option<PathBuf>,
    new_kek_id: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let config = target.load()?;
    logging::init(LogFormat::Human, "warn")?;
    let store = app::open_store(&config, false).await?;
    let (keys, _) = app::open_keys(&config, &store).await?;
    let signing_path = config.audit_signing_key_path();
    let (signer, _) = signing::load_or_create(&signing_path)?;
    let writer = store::AuditWriter::new(
        std::sync::Arc::new(signer),
        config.audit.checkpoint_interval,
    );
    let injected_new = match new_kek_file {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the new key file {}", path.display()))?;
            let id = match new_kek_id {
                Some(id) => vault::KekId::parse(&id)
                    .map_err(|error| anyhow::anyhow!("--new-kek-id: {error}"))?,
                None => vault::KekId::dated(trygg::clock::now_ms() / 1000),
            };
            Some(
                vault::Keyring::from_base64_key(id, text.trim())
                    .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?,
            )
        }
        None => None,
    };
    let rotation = keys.rotate(&store, &writer, injected_new).await?;
    store.close().await;
    if json {
        println!("{}", serde_json::to_string(&rotation)?);
    } else {
        println!(
            "Rotated to key-encryption key {}: re-wrapped {} data keys; retired {}.",
            rotation.new_kek,
            rotation.rewrapped,
            rotation.old_keks.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
