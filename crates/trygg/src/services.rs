//! The operations the HTTP edge calls, wired to the store and the key service. Each answer is
//! computed from the stored state when asked (the organisation's name is decrypted per request),
//! so a key rotation or an erasure takes effect at once, without a cache to go stale.

use std::sync::Arc;

use edge::{BoxFuture, Info};
use store::Store;

use crate::accounts::AccountService;
use crate::demo;
use crate::keys::KeyService;
use crate::sso::SsoService;

/// The services of a running server.
#[derive(Debug)]
pub struct Wired {
    pub store: Store,
    pub keys: Arc<KeyService>,
    pub accounts: Arc<AccountService>,
    pub sso: Arc<SsoService>,
    pub meetings: Arc<crate::meetings::MeetingService>,
    pub live: Arc<crate::meetings::live::LiveMeetings>,
    pub invitations: Arc<crate::invitations::InvitationService>,
}

impl edge::Services for Wired {
    fn info(&self) -> BoxFuture<'_, Info> {
        Box::pin(async move {
            let organisation = match demo::organisation_name(&self.store, &self.keys).await {
                Ok(name) => name,
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "cannot read the organisation's name");
                    None
                }
            };
            Info {
                product: "Trygg".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                organisation,
                sso: edge::sso::SsoApi::availability(&*self.sso),
            }
        })
    }

    fn identity(&self) -> &dyn edge::identity::IdentityApi {
        &*self.accounts
    }

    fn accounts(&self) -> &dyn edge::admin::AccountsApi {
        &*self.accounts
    }

    fn passkeys(&self) -> &dyn edge::passkey::PasskeyApi {
        &*self.accounts
    }

    fn meetings(&self) -> &dyn edge::meetings::MeetingsApi {
        &*self.meetings
    }

    fn signalling(&self) -> &dyn edge::signalling::SignallingApi {
        &*self.live
    }

    fn invitations(&self) -> &dyn edge::invitations::InvitationsApi {
        &*self.invitations
    }

    fn sso(&self) -> &dyn edge::sso::SsoApi {
        &*self.sso
    }
}
