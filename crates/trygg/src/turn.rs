//! The TURN relays of `[turn]` (coturn with `use-auth-secret`) and the credentials each person in
//! a meeting gets for them, in the TURN REST scheme ([`identity::turn`] derives them). Everyone
//! admitted to a meeting gets them with the meeting's other connection facts; nobody else does.
//!
//! The user part names only the person's number within a meeting (`p<n>`), never the meeting's
//! id, which is the secret of its link and would otherwise end up in the relay's logs.

use zeroize::Zeroizing;

use crate::meetings::wire::IceServerWire;

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
    pub fn credentials(&self, now_ms: i64, user: &str) -> IceServerWire {
        let issued =
            identity::turn::turn_credential(&self.secret, user, now_ms / 1000, self.ttl_secs);
        IceServerWire {
            urls: self.urls.clone(),
            username: issued.username,
            credential: issued.password,
            expires_at_ms: issued.expires_at_secs * 1000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
