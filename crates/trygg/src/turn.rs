//! Credentials for the TURN relays (coturn with `use-auth-secret`), in the TURN REST scheme
//! coturn implements: the user name is `<expiry as Unix seconds>:<user>`, the password the
//! base64 of HMAC-SHA1 over that user name with the secret shared with coturn. coturn checks
//! both, so credentials need no store, cannot be stretched past their expiry, and are worthless
//! without the secret. Everyone admitted to a meeting gets them with the meeting's other
//! connection facts; nobody else does.
//!
//! The user part names only the person's number within a meeting (`p<n>`), never the meeting's
//! id, which is the secret of its link and would otherwise end up in the relay's logs.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use zeroize::Zeroizing;

/// One relay entry for a browser's `RTCPeerConnection`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
    pub expires_at_ms: i64,
}

/// The configured relays and the secret shared with them.
pub struct Turn {
    urls: Vec<String>,
    secret: Zeroizing<Vec<u8>>,
    ttl_secs: i64,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Turn")
            .field("urls", &self.urls)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl Turn {
    /// The relays of `[turn]`, or `None` when it is off (the configuration was validated).
    pub fn from_config(config: &config::Config) -> Option<Turn> {
        let section = &config.turn;
        if section.urls.is_empty() {
            return None;
        }
        let secret = section.shared_secret.as_ref()?;
        Some(Turn {
            urls: section.urls.clone(),
            secret: Zeroizing::new(secret.expose().as_bytes().to_vec()),
            ttl_secs: i64::try_from(section.credential_ttl_secs).unwrap_or(86_400),
        })
    }

    /// Credentials for `user`, valid from `now_ms` for the configured lifetime.
    pub fn credentials(&self, now_ms: i64, user: &str) -> IceServer {
        let expires = now_ms / 1000 + self.ttl_secs;
        let username = format!("{expires}:{user}");
        IceServer {
            urls: self.urls.clone(),
            credential: rest_password(&self.secret, &username),
            username,
            expires_at_ms: expires * 1000,
        }
    }
}

/// The TURN REST password of `username`: base64(HMAC-SHA1(secret, username)).
fn rest_password(secret: &[u8], username: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_the_rest_schemes_hmac_of_the_user_name() {
        // Computed independently with Python's hmac module:
        // base64(hmac.new(b"north-sea-turn-secret", b"1798761600:p7", sha1).digest())
        assert_eq!(
            rest_password(b"north-sea-turn-secret", "1798761600:p7"),
            "iR2g95qMLMGWRpNVgOXgQ9CWg9s="
        );
    }

    #[test]
    fn credentials_expire_after_the_configured_lifetime_and_name_no_meeting() {
        let turn = Turn {
            urls: vec!["turn:127.0.0.1:3478?transport=udp".into()],
            secret: Zeroizing::new(b"north-sea-turn-secret".to_vec()),
            ttl_secs: 600,
        };
        let issued = turn.credentials(1_798_761_000_123, "p7");
        assert_eq!(issued.username, "1798761600:p7");
        assert_eq!(issued.expires_at_ms, 1_798_761_600_000);
        assert_eq!(issued.credential, "iR2g95qMLMGWRpNVgOXgQ9CWg9s=");
        assert_eq!(issued.urls, ["turn:127.0.0.1:3478?transport=udp"]);
        assert!(
            !format!("{turn:?}").contains("north-sea"),
            "no secret in Debug"
        );
    }
}
