//! The actions Trygg authorises, as zero-sized marker types.
//!
//! Each API operation has one marker type (`MeetingReadContent`, `AccountSetRoles`, ...) that
//! implements the sealed [`Action`] trait: its Cedar name (`Action::"meeting.read_content"` in
//! policies, [`Action::NAME`] here), the kind of resource it acts on, and whether it is sensitive
//! (needs a fresh second factor and a low risk score). The operation takes an
//! [`crate::Allowed`]`<MeetingReadContent>` as an argument, so calling it without a positive
//! decision for exactly that action does not compile. [`ACTIONS`] lists them all for tables,
//! explanations and the schema consistency test.
//!
//! What this module deliberately does not do: it decides nothing (the policies do), and it cannot
//! be extended outside this crate (the trait is sealed), so every action a handler can ask for is
//! one that the schema declares and the tests cover.

use crate::request::ResourceKind;

/// An action that [`crate::PolicyEngine::authorize`] can decide. Sealed: only the marker types in
/// this module implement it.
pub trait Action: sealed::Sealed + Copy + Default + std::fmt::Debug + 'static {
    /// The Cedar action id, e.g. `"meeting.read_content"` for `Action::"meeting.read_content"`.
    const NAME: &'static str;
    /// The kind of resource this action is requested on.
    const RESOURCE: ResourceKind;
    /// Whether the action is in the schema's `"sensitive"` group: it needs a second factor
    /// verified in the last five minutes and a risk score below 50.
    const SENSITIVE: bool;
}

mod sealed {
    pub trait Sealed {}
}

/// What [`ACTIONS`] says about one action, for code that handles actions by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActionInfo {
    /// The Cedar action id.
    pub name: &'static str,
    /// The kind of resource the action is requested on.
    pub resource: ResourceKind,
    /// Whether the action needs step-up (see [`Action::SENSITIVE`]).
    pub sensitive: bool,
}

/// The [`ActionInfo`] of an action, by its Cedar name; `None` for a name that is not an action.
pub fn action_info(name: &str) -> Option<&'static ActionInfo> {
    ACTIONS.iter().find(|info| info.name == name)
}

macro_rules! actions {
    ($(
        $(#[$meta:meta])*
        $type_name:ident = $name:literal on $resource:ident $(, $sensitive:ident)?;
    )*) => {
        $(
            $(#[$meta])*
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
            pub struct $type_name;

            impl sealed::Sealed for $type_name {}

            impl Action for $type_name {
                const NAME: &'static str = $name;
                const RESOURCE: ResourceKind = ResourceKind::$resource;
                const SENSITIVE: bool = actions!(@sensitive $($sensitive)?);
            }
        )*

        /// Every action, in the order of the API.
        pub const ACTIONS: &[ActionInfo] = &[
            $(ActionInfo {
                name: $type_name::NAME,
                resource: $type_name::RESOURCE,
                sensitive: $type_name::SENSITIVE,
            },)*
        ];
    };
    (@sensitive sensitive) => { true };
    (@sensitive) => { false };
}

actions! {
    /// See one's own sessions (staff or customer).
    SessionReadOwn = "session.read_own" on Session;
    /// End one of one's own sessions.
    SessionRevokeOwn = "session.revoke_own" on Session;

    /// See the sign-in credentials (passkeys) of one's own account.
    CredentialReadOwn = "credential.read_own" on Account;
    /// Register a new passkey on one's own account.
    CredentialRegisterOwn = "credential.register_own" on Account, sensitive;
    /// Remove a passkey from one's own account.
    CredentialRemoveOwn = "credential.remove_own" on Account, sensitive;

    /// Invite a new staff member (the resource is the account about to be created).
    AccountInvite = "account.invite" on Account, sensitive;
    /// Change an account's roles.
    AccountSetRoles = "account.set_roles" on Account, sensitive;
    /// Disable an account (and so end its sessions).
    AccountDisable = "account.disable" on Account, sensitive;
    /// Remove an account's second factors so that it enrols again.
    AccountResetMfa = "account.reset_mfa" on Account, sensitive;
    /// End every session of an account.
    AccountRevokeSessions = "account.revoke_sessions" on Account;
    /// List the organisation's accounts.
    AccountList = "account.list" on Organisation;

    /// Book a meeting (the resource is the meeting about to be created).
    MeetingCreate = "meeting.create" on Meeting;
    /// See a meeting's metadata: who, when, how long, sizes.
    MeetingReadMetadata = "meeting.read_metadata" on Meeting;
    /// Take part in a meeting's content: join, media, chat and files.
    MeetingReadContent = "meeting.read_content" on Meeting;
    /// Change a meeting (time, passcode, admission mode) or use host controls.
    MeetingUpdate = "meeting.update" on Meeting;
    /// Cancel or end a meeting.
    MeetingCancel = "meeting.cancel" on Meeting;
    /// Admit someone waiting in the lobby.
    MeetingAdmit = "meeting.admit" on Meeting;

    /// Read what is held about a customer.
    CustomerRead = "customer.read" on CustomerRecord;
    /// Change what is held about a customer.
    CustomerUpdate = "customer.update" on CustomerRecord;

    /// Produce the export for a data-subject access request.
    DsarExport = "dsar.export" on DataSubjectRequest, sensitive;
    /// Carry out an erasure request (crypto-shredding).
    DsarErase = "dsar.erase" on DataSubjectRequest, sensitive;
    /// Read the consent register.
    ConsentRead = "consent.read" on ConsentRegister;
    /// Change retention periods.
    RetentionConfigure = "retention.configure" on RetentionPolicy, sensitive;

    /// Read the audit trail.
    AuditRead = "audit.read" on AuditTrail;
    /// Export the audit trail out of the system.
    AuditExport = "audit.export" on AuditTrail, sensitive;
    /// Verify the audit trail's hash chain and checkpoints.
    AuditVerify = "audit.verify" on AuditTrail;

    /// Read security events and alerts.
    SecurityReadEvents = "security.read_events" on SecurityEvents;
    /// Open, update and close incidents.
    IncidentManage = "incident.manage" on Incident;
    /// Run an incident's containment steps.
    IncidentContain = "incident.contain" on Incident;

    /// Rotate the key-encryption key.
    KeysRotate = "keys.rotate" on KeyVault, sensitive;
    /// Change the authorisation policies.
    PolicyChange = "policy.change" on PolicySet, sensitive;
    /// Configure an integration (IdP, SIEM, SMTP, TURN, scanner).
    IntegrationConfigure = "integration.configure" on Integration, sensitive;
    /// Start a backup.
    BackupRun = "backup.run" on Backup;
    /// Restore from a backup.
    BackupRestore = "backup.restore" on Backup, sensitive;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_dotted_lower_case() {
        let mut names: Vec<&str> = ACTIONS.iter().map(|info| info.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ACTIONS.len());
        for name in names {
            let (area, verb) = name.split_once('.').expect("dotted");
            for part in [area, verb] {
                assert!(!part.is_empty(), "{name}");
                assert!(
                    part.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn lookup_by_name() {
        assert_eq!(
            action_info("meeting.read_content"),
            Some(&ActionInfo {
                name: "meeting.read_content",
                resource: ResourceKind::Meeting,
                sensitive: false,
            })
        );
        assert!(action_info("keys.rotate").expect("known").sensitive);
        assert_eq!(action_info("sensitive"), None);
        assert_eq!(action_info("Meeting.Read_Content"), None);
    }
}
