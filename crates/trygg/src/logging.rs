//! Log output: human-readable for a terminal or JSON lines for a collector, on standard error
//! (standard output is kept for what a command prints for people and scripts).
//!
//! What may be logged is decided where the log lines are written: no content, secrets, tokens,
//! e-mail or IP addresses anywhere (see the redaction test, `tests/redaction.rs`).

use config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `RUST_LOG`, when set, overrides `level`.
pub fn init(format: LogFormat, level: &str) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(from_env) if !from_env.is_empty() => EnvFilter::try_new(from_env),
        _ => EnvFilter::try_new(level),
    }
    .map_err(|error| anyhow::anyhow!("config key `log.level`: {error}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    installed.map_err(|error| anyhow::anyhow!("cannot set up logging: {error}"))
}
