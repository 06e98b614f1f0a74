//! Credentials for TURN relays in the TURN REST scheme that coturn implements as
//! `use-auth-secret`: the user name is `<expiry as Unix seconds>:<user>`, the password the base64
//! of HMAC-SHA1 over that user name, keyed with the secret shared with the relay. The relay
//! recomputes the password and refuses expired user names, so credentials need no store and
//! cannot be stretched past their expiry or made without the secret.
//!
//! Time comes in as a value; nothing is stored.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// A user name and password for a TURN relay.
#[derive(Clone, PartialEq, Eq)]
pub struct TurnCredential {
    pub username: String,
    pub password: String,
    /// When the relay stops accepting them, as Unix seconds.
    pub expires_at_secs: i64,
}

/// The password is a credential: never in `Debug` output.
impl std::fmt::Debug for TurnCredential {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TurnCredential")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Credentials for `user`, valid from `now_secs` for `ttl_secs`, under `secret`.
pub fn turn_credential(secret: &[u8], user: &str, now_secs: i64, ttl_secs: i64) -> TurnCredential {
    let expires_at_secs = now_secs.saturating_add(ttl_secs);
    let username = format!("{expires_at_secs}:{user}");
    TurnCredential {
        password: rest_password(secret, &username),
        username,
        expires_at_secs,
    }
}

/// The TURN REST password of `username`: base64(HMAC-SHA1(secret, username)).
fn rest_password(secret: &[u8], username: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
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
        let issued = turn_credential(b"north-sea-turn-secret", "p7", 1_798_761_000, 600);
        assert_eq!(issued.username, "1798761600:p7");
        assert_eq!(issued.expires_at_secs, 1_798_761_600);
        assert_eq!(issued.password, "iR2g95qMLMGWRpNVgOXgQ9CWg9s=");
        assert!(
            !format!("{issued:?}").contains("iR2g"),
            "no password in Debug"
        );
    }
}
