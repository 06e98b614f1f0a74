//! Outgoing e-mail over SMTP with `lettre`: one transport built from `[smtp]` at start-up, and
//! one operation, [`Mailer::send`], that hands a finished plain-text message to the mail server.
//!
//! TLS is required unless the configuration allows plain text to a loopback host (checked by the
//! config crate): `starttls` refuses to go on when the server offers no upgrade, `tls` speaks TLS
//! from the first byte. The server's certificate is checked against the system's roots, or
//! against exactly the certificates of `ca_file` when set, with TLS 1.2 at least.
//!
//! What this module deliberately does not do: decide what a message says (the callers do), queue
//! or retry (a failed send is the caller's answer to give), or log anything about a message. A
//! mail server's reply can quote the recipient's address, so errors are reduced to a kind and
//! an SMTP code before anyone sees them.

use std::time::Duration;

use anyhow::Context as _;
use config::{Smtp, SmtpTls};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{
    Certificate, CertificateStore, Tls, TlsParameters, TlsVersion,
};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

/// How long connecting, each SMTP command and the TLS handshake may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// The configured mail server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Address,
    /// The domain for Message-IDs and the EHLO greeting.
    domain: String,
    tls: SmtpTls,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// A message to send: plain text, UTF-8.
#[derive(Debug)]
pub struct OutgoingMail {
    /// The sender's display name (the organisation's name).
    pub from_name: String,
    pub to: Address,
    pub subject: String,
    pub body: String,
}

/// Why a message was not sent, without anything the mail server said in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// The message could not be built (an address or header lettre refused).
    Message,
    /// The server could not be reached, or the connection or TLS failed.
    Connection,
    /// The server answered with a temporary failure (4xx).
    Transient(Option<u16>),
    /// The server refused (5xx): the recipient, the sender or the authentication.
    Permanent(Option<u16>),
}

impl SendFailure {
    /// A short code for the audit trail and logs.
    pub fn reason(self) -> &'static str {
        match self {
            SendFailure::Message => "message_invalid",
            SendFailure::Connection => "smtp_unreachable",
            SendFailure::Transient(_) => "smtp_transient",
            SendFailure::Permanent(_) => "smtp_refused",
        }
    }
}

impl Mailer {
    /// The mail server of `[smtp]`, or `None` when no host is configured. `public_host` names
    /// this server in the EHLO greeting and in Message-IDs. Fails if `ca_file` is unreadable or
    /// holds no certificate.
    pub fn from_config(smtp: &Smtp, public_host: &str) -> anyhow::Result<Option<Mailer>> {
        let Some(host) = smtp.host.as_deref() else {
            return Ok(None);
        };
        // Invariant: the config crate accepts `from` only when it is set and looks like an
        // address; lettre's parser has the last word.
        let from: Address = smtp
            .from
            .as_deref()
            .unwrap_or_default()
            .parse()
            .context("smtp.from: expected the sender's e-mail address")?;
        let tls = match smtp.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(tls_parameters(host, smtp)?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters(host, smtp)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(smtp.effective_port())
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT))
            .hello_name(ClientId::Domain(public_host.to_owned()));
        if let (Some(username), Some(password)) = (&smtp.username, &smtp.password) {
            builder = builder.credentials(Credentials::new(
                username.clone(),
                password.expose().to_owned(),
            ));
        }
        Ok(Some(Mailer {
            transport: builder.build(),
            from,
            domain: public_host.to_owned(),
            tls: smtp.tls,
        }))
    }

    /// Sends `mail`; nothing is retried.
    pub async fn send(&self, mail: OutgoingMail) -> Result<(), SendFailure> {
        let message_id = format!(
            "<{}@{}>",
            hex::encode(vault::random_bytes::<16>()),
            self.domain
        );
        let message = Message::builder()
            .from(Mailbox::new(Some(mail.from_name), self.from.clone()))
            .to(Mailbox::new(None, mail.to))
            .subject(mail.subject)
            .message_id(Some(message_id))
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body)
            .map_err(|_| SendFailure::Message)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) => {
                let code = error.status().map(u16::from);
                let failure = if error.is_permanent() {
                    SendFailure::Permanent(code)
                } else if error.is_transient() {
                    SendFailure::Transient(code)
                } else {
                    SendFailure::Connection
                };
                // The kind and the code only: the server's words may quote the recipient.
                tracing::warn!(
                    reason = failure.reason(),
                    smtp_code = code,
                    tls = %self.tls,
                    "the mail server did not take a message"
                );
                Err(failure)
            }
        }
    }
}

fn tls_parameters(host: &str, smtp: &Smtp) -> anyhow::Result<TlsParameters> {
    let mut builder =
        TlsParameters::builder(host.to_owned()).set_min_tls_version(TlsVersion::Tlsv12);
    if let Some(path) = &smtp.ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("smtp.ca_file: cannot read {}", path.display()))?;
        // An empty list would trust nothing and fail every send; say so at start-up instead.
        anyhow::ensure!(
            pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----"),
            "smtp.ca_file: {} holds no PEM certificate",
            path.display()
        );
        let certificate = Certificate::from_pem(&pem)
            .map_err(|_| anyhow::anyhow!("smtp.ca_file: {} is not valid PEM", path.display()))?;
        // Exactly these authorities, not the system's as well.
        builder = builder
            .certificate_store(CertificateStore::None)
            .add_root_certificate(certificate);
    }
    builder
        .build_rustls()
        .context("smtp: cannot set up TLS for the mail server")
}
