//! The typed parts of an authorisation request: who asks ([`Principal`]), about what
//! ([`Resource`]), and in which circumstances ([`Context`]), and their translation into Cedar
//! entities and context.
//!
//! Everything is built from already-parsed values ([`Role`], [`StaffStatus`], [`StaffId`], ...),
//! so a request cannot name a role or a status that the policies do not know, or put a customer
//! where the schema wants a member of staff. Resources are made only by small constructors, one
//! per kind, which fill exactly the attributes the schema declares.
//!
//! What this module deliberately does not do: it does not look anything up (the caller loads the
//! meeting, the record or the account and passes the facts in), it reads no clock (ages arrive as
//! seconds), and it keeps the source address and device id out of `Debug` output, so a request
//! logged by accident leaks no personal data.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use cedar_policy::{Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression as Expr};

/// A pseudonymous staff member id (the account id).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StaffId(String);

/// A pseudonymous customer id (the account id).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CustomerId(String);

impl StaffId {
    pub fn new(id: impl Into<String>) -> StaffId {
        StaffId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl CustomerId {
    pub fn new(id: impl Into<String>) -> CustomerId {
        CustomerId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who holds something that either staff or customers can hold (a session, an account).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PrincipalId {
    Staff(StaffId),
    Customer(CustomerId),
}

impl PrincipalId {
    /// The id itself, without saying whose.
    pub fn as_str(&self) -> &str {
        match self {
            PrincipalId::Staff(id) => id.as_str(),
            PrincipalId::Customer(id) => id.as_str(),
        }
    }

    pub(crate) fn uid(&self) -> EntityUid {
        match self {
            PrincipalId::Staff(id) => uid(STAFF, id.as_str()),
            PrincipalId::Customer(id) => uid(CUSTOMER, id.as_str()),
        }
    }
}

impl From<StaffId> for PrincipalId {
    fn from(id: StaffId) -> PrincipalId {
        PrincipalId::Staff(id)
    }
}

impl From<CustomerId> for PrincipalId {
    fn from(id: CustomerId) -> PrincipalId {
        PrincipalId::Customer(id)
    }
}

/// A staff role. The string forms are what the store keeps and the policies test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Admin,
    SecurityOfficer,
    Dpo,
    Supervisor,
    Adviser,
    Auditor,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::SecurityOfficer,
        Role::Dpo,
        Role::Supervisor,
        Role::Adviser,
        Role::Auditor,
    ];

    /// The stable name stored in the database and used in policies.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::SecurityOfficer => "security_officer",
            Role::Dpo => "dpo",
            Role::Supervisor => "supervisor",
            Role::Adviser => "adviser",
            Role::Auditor => "auditor",
        }
    }

    /// The inverse of [`Role::as_str`]; `None` for anything else (no case folding: the stored
    /// form is canonical).
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The state of a staff account. Only [`StaffStatus::Active`] may do anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StaffStatus {
    /// Invited, not yet enrolled.
    Pending,
    Active,
    Disabled,
}

impl StaffStatus {
    /// The stable name stored in the database and used in policies.
    pub fn as_str(&self) -> &'static str {
        match self {
            StaffStatus::Pending => "pending",
            StaffStatus::Active => "active",
            StaffStatus::Disabled => "disabled",
        }
    }

    /// The inverse of [`StaffStatus::as_str`]; `None` for anything else.
    pub fn parse(text: &str) -> Option<StaffStatus> {
        [
            StaffStatus::Pending,
            StaffStatus::Active,
            StaffStatus::Disabled,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// Who is asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Staff(Staff),
    Customer(CustomerId),
}

/// A member of staff as the policies see them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staff {
    pub id: StaffId,
    pub roles: BTreeSet<Role>,
    pub team: String,
    pub status: StaffStatus,
}

impl Principal {
    pub fn staff(
        id: StaffId,
        roles: impl IntoIterator<Item = Role>,
        team: impl Into<String>,
        status: StaffStatus,
    ) -> Principal {
        Principal::Staff(Staff {
            id,
            roles: roles.into_iter().collect(),
            team: team.into(),
            status,
        })
    }

    pub fn customer(id: CustomerId) -> Principal {
        Principal::Customer(id)
    }

    pub fn id(&self) -> PrincipalId {
        match self {
            Principal::Staff(staff) => PrincipalId::Staff(staff.id.clone()),
            Principal::Customer(id) => PrincipalId::Customer(id.clone()),
        }
    }

    pub(crate) fn uid(&self) -> EntityUid {
        self.id().uid()
    }

    /// The Cedar entity type of the principal: `Staff` or `Customer`.
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            Principal::Staff(_) => STAFF,
            Principal::Customer(_) => CUSTOMER,
        }
    }

    pub(crate) fn entity(&self) -> Result<Entity, String> {
        match self {
            Principal::Staff(staff) => {
                let roles = staff
                    .roles
                    .iter()
                    .map(|role| Expr::new_string(role.as_str().to_owned()));
                entity(
                    self.uid(),
                    [
                        ("roles", Expr::new_set(roles)),
                        ("team", Expr::new_string(staff.team.clone())),
                        ("status", Expr::new_string(staff.status.as_str().to_owned())),
                    ],
                    [],
                )
            }
            Principal::Customer(_) => Ok(Entity::with_uid(self.uid())),
        }
    }
}

/// The circumstances of a request, evaluated afresh for every request (zero trust: nothing is
/// trusted because an earlier request was allowed).
///
/// `Debug` leaves out the source address and the device id.
#[derive(Clone, PartialEq, Eq)]
pub struct Context {
    /// How the session was authenticated: `"password+totp"`, `"passkey"`, `"oidc"`, `"passcode"`.
    pub auth_method: String,
    /// Seconds since the last verified second factor; `u64::MAX` if there never was one.
    pub mfa_age_secs: u64,
    /// Seconds since the session was issued.
    pub session_age_secs: u64,
    /// The pseudonymous id of the device the session is bound to.
    pub device_id: String,
    /// Where the request came from.
    pub source: IpAddr,
    /// The detection module's risk score, 0 (normal) to 100 (certainly hostile).
    pub risk_score: u8,
    /// How recent a second factor sensitive actions need, in seconds: at most 300 whatever this
    /// says (the policy caps it), lower where the operator wants it stricter.
    pub step_up_max_age_secs: u64,
}

impl fmt::Debug for Context {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Context")
            .field("auth_method", &self.auth_method)
            .field("mfa_age_secs", &self.mfa_age_secs)
            .field("session_age_secs", &self.session_age_secs)
            .field("device_id", &"<redacted>")
            .field("source", &"<redacted>")
            .field("risk_score", &self.risk_score)
            .field("step_up_max_age_secs", &self.step_up_max_age_secs)
            .finish()
    }
}

impl Context {
    pub(crate) fn to_cedar(&self) -> Result<cedar_policy::Context, String> {
        // Cedar's `ip()` does not accept IPv4-mapped IPv6 addresses, and a dual-stack listener
        // reports IPv4 clients that way; they are IPv4 clients, so they are passed as such.
        let source = match self.source {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        cedar_policy::Context::from_pairs([
            (
                "auth_method".to_owned(),
                Expr::new_string(self.auth_method.clone()),
            ),
            ("mfa_age_secs".to_owned(), long(self.mfa_age_secs)),
            ("session_age_secs".to_owned(), long(self.session_age_secs)),
            (
                "device_id".to_owned(),
                Expr::new_string(self.device_id.clone()),
            ),
            ("source".to_owned(), Expr::new_ip(source.to_string())),
            ("risk_score".to_owned(), long(u64::from(self.risk_score))),
            (
                "step_up_max_age_secs".to_owned(),
                long(self.step_up_max_age_secs),
            ),
        ])
        .map_err(|error| format!("the context cannot be built: {error}"))
    }
}

/// The kinds of resource in the schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    Account,
    Session,
    Meeting,
    CustomerRecord,
    AuditTrail,
    SecurityEvents,
    Incident,
    ConsentRegister,
    DataSubjectRequest,
    RetentionPolicy,
    KeyVault,
    PolicySet,
    Integration,
    Backup,
    Organisation,
}

impl ResourceKind {
    /// Every kind.
    pub const ALL: [ResourceKind; 15] = [
        ResourceKind::Account,
        ResourceKind::Session,
        ResourceKind::Meeting,
        ResourceKind::CustomerRecord,
        ResourceKind::AuditTrail,
        ResourceKind::SecurityEvents,
        ResourceKind::Incident,
        ResourceKind::ConsentRegister,
        ResourceKind::DataSubjectRequest,
        ResourceKind::RetentionPolicy,
        ResourceKind::KeyVault,
        ResourceKind::PolicySet,
        ResourceKind::Integration,
        ResourceKind::Backup,
        ResourceKind::Organisation,
    ];

    /// The Cedar entity type name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ResourceKind::Account => "Account",
            ResourceKind::Session => "Session",
            ResourceKind::Meeting => "Meeting",
            ResourceKind::CustomerRecord => "CustomerRecord",
            ResourceKind::AuditTrail => "AuditTrail",
            ResourceKind::SecurityEvents => "SecurityEvents",
            ResourceKind::Incident => "Incident",
            ResourceKind::ConsentRegister => "ConsentRegister",
            ResourceKind::DataSubjectRequest => "DataSubjectRequest",
            ResourceKind::RetentionPolicy => "RetentionPolicy",
            ResourceKind::KeyVault => "KeyVault",
            ResourceKind::PolicySet => "PolicySet",
            ResourceKind::Integration => "Integration",
            ResourceKind::Backup => "Backup",
            ResourceKind::Organisation => "Organisation",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The resources of which there is exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Singleton {
    AuditTrail,
    SecurityEvents,
    ConsentRegister,
    RetentionPolicy,
    KeyVault,
    PolicySet,
    Backup,
    Organisation,
}

impl Singleton {
    pub fn kind(&self) -> ResourceKind {
        match self {
            Singleton::AuditTrail => ResourceKind::AuditTrail,
            Singleton::SecurityEvents => ResourceKind::SecurityEvents,
            Singleton::ConsentRegister => ResourceKind::ConsentRegister,
            Singleton::RetentionPolicy => ResourceKind::RetentionPolicy,
            Singleton::KeyVault => ResourceKind::KeyVault,
            Singleton::PolicySet => ResourceKind::PolicySet,
            Singleton::Backup => ResourceKind::Backup,
            Singleton::Organisation => ResourceKind::Organisation,
        }
    }
}

/// Which integration's settings are being changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntegrationKind {
    /// The OpenID Connect identity provider(s).
    Idp,
    /// Security-event export (syslog, CEF, JSON, webhooks).
    Siem,
    /// Outgoing mail.
    Smtp,
    /// The TURN server.
    Turn,
    /// The malware scanner.
    Scanner,
}

impl IntegrationKind {
    /// The stable name used as the entity id and the `kind` attribute.
    pub fn as_str(&self) -> &'static str {
        match self {
            IntegrationKind::Idp => "idp",
            IntegrationKind::Siem => "siem",
            IntegrationKind::Smtp => "smtp",
            IntegrationKind::Turn => "turn",
            IntegrationKind::Scanner => "scanner",
        }
    }
}

/// What a request is about, with the attributes the policies need. Made by one constructor per
/// kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    kind: ResourceKind,
    id: String,
    facts: Facts,
}

/// The attributes and parents of a resource, per kind.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Facts {
    None,
    Session {
        owner: PrincipalId,
    },
    Account {
        holder: PrincipalId,
        team: String,
    },
    Meeting {
        host: StaffId,
        team: String,
        participants: BTreeSet<StaffId>,
    },
    CustomerRecord {
        adviser: StaffId,
        team: String,
    },
    Integration,
}

/// The entity id of every singleton.
const SINGLETON_ID: &str = "organisation";

impl Resource {
    /// A session, held by `owner`.
    pub fn session(id: impl Into<String>, owner: PrincipalId) -> Resource {
        Resource::new(ResourceKind::Session, id, Facts::Session { owner })
    }

    /// A staff or customer account, held by `holder`, in `team`. For `account.invite` this is the
    /// account about to be created.
    pub fn account(
        id: impl Into<String>,
        holder: PrincipalId,
        team: impl Into<String>,
    ) -> Resource {
        let team = team.into();
        Resource::new(ResourceKind::Account, id, Facts::Account { holder, team })
    }

    /// A meeting with its host, the team it belongs to and the staff taking part. For
    /// `meeting.create` this is the meeting about to be created.
    pub fn meeting(
        id: impl Into<String>,
        host: StaffId,
        team: impl Into<String>,
        participants: impl IntoIterator<Item = StaffId>,
    ) -> Resource {
        let facts = Facts::Meeting {
            host,
            team: team.into(),
            participants: participants.into_iter().collect(),
        };
        Resource::new(ResourceKind::Meeting, id, facts)
    }

    /// What is held about one customer, with the adviser responsible for them.
    pub fn customer_record(
        id: impl Into<String>,
        adviser: StaffId,
        team: impl Into<String>,
    ) -> Resource {
        let team = team.into();
        Resource::new(
            ResourceKind::CustomerRecord,
            id,
            Facts::CustomerRecord { adviser, team },
        )
    }

    /// One data-subject request.
    pub fn data_subject_request(id: impl Into<String>) -> Resource {
        Resource::new(ResourceKind::DataSubjectRequest, id, Facts::None)
    }

    /// One security incident.
    pub fn incident(id: impl Into<String>) -> Resource {
        Resource::new(ResourceKind::Incident, id, Facts::None)
    }

    /// The settings of one integration.
    pub fn integration(kind: IntegrationKind) -> Resource {
        Resource::new(ResourceKind::Integration, kind.as_str(), Facts::Integration)
    }

    /// A resource of which there is only one: the audit trail, the key vault, ...
    pub fn singleton(singleton: Singleton) -> Resource {
        Resource::new(singleton.kind(), SINGLETON_ID, Facts::None)
    }

    pub fn kind(&self) -> ResourceKind {
        self.kind
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn new(kind: ResourceKind, id: impl Into<String>, facts: Facts) -> Resource {
        Resource {
            kind,
            id: id.into(),
            facts,
        }
    }

    pub(crate) fn uid(&self) -> EntityUid {
        uid(self.kind.as_str(), &self.id)
    }

    pub(crate) fn entity(&self) -> Result<Entity, String> {
        let uid = self.uid();
        match &self.facts {
            Facts::None => Ok(Entity::with_uid(uid)),
            Facts::Session { owner } => entity(uid, [], [owner.uid()]),
            Facts::Account { holder, team } => entity(
                uid,
                [("team", Expr::new_string(team.clone()))],
                [holder.uid()],
            ),
            Facts::Meeting {
                host,
                team,
                participants,
            } => {
                let participants = participants
                    .iter()
                    .map(|id| Expr::new_entity_uid(uid_of_staff(id)));
                entity(
                    uid,
                    [
                        ("host", Expr::new_entity_uid(uid_of_staff(host))),
                        ("team", Expr::new_string(team.clone())),
                        ("participants", Expr::new_set(participants)),
                    ],
                    [],
                )
            }
            Facts::CustomerRecord { adviser, team } => entity(
                uid,
                [
                    ("adviser", Expr::new_entity_uid(uid_of_staff(adviser))),
                    ("team", Expr::new_string(team.clone())),
                ],
                [],
            ),
            Facts::Integration => entity(uid, [("kind", Expr::new_string(self.id.clone()))], []),
        }
    }
}

const STAFF: &str = "Staff";
const CUSTOMER: &str = "Customer";

fn uid_of_staff(id: &StaffId) -> EntityUid {
    uid(STAFF, id.as_str())
}

/// The uid of an entity of one of the schema's types. Ids are taken as they are: Cedar entity ids
/// are arbitrary strings, and building the uid from parts (not from text) needs no escaping.
pub(crate) fn uid(type_name: &str, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name_of(type_name), EntityId::new(id))
}

fn type_name_of(type_name: &str) -> EntityTypeName {
    // Only ever called with the constant names in this module and `ResourceKind::as_str`, all
    // plain identifiers; `every_type_name_parses` checks each.
    EntityTypeName::from_str(type_name).expect("invariant: entity type names are identifiers")
}

fn entity<const N: usize, const M: usize>(
    uid: EntityUid,
    attributes: [(&str, Expr); N],
    parents: [EntityUid; M],
) -> Result<Entity, String> {
    Entity::new(
        uid,
        attributes
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
        parents.into_iter().collect(),
    )
    .map_err(|error| format!("an entity cannot be built: {error}"))
}

/// Cedar's `Long` is an `i64`; ages beyond it (such as `u64::MAX` for "never") are as good as
/// infinite, so they saturate.
fn long(value: u64) -> Expr {
    Expr::new_long(i64::try_from(value).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_name_parses() {
        for kind in ResourceKind::ALL {
            assert_eq!(type_name_of(kind.as_str()).to_string(), kind.as_str());
        }
        assert_eq!(type_name_of(STAFF).to_string(), STAFF);
        assert_eq!(type_name_of(CUSTOMER).to_string(), CUSTOMER);
    }

    #[test]
    fn roles_and_statuses_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Admin"), None);
        assert_eq!(Role::parse("root"), None);
        for status in [
            StaffStatus::Pending,
            StaffStatus::Active,
            StaffStatus::Disabled,
        ] {
            assert_eq!(StaffStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(StaffStatus::parse("ACTIVE"), None);
    }

    #[test]
    fn ids_with_any_characters_stay_one_entity_id() {
        let tricky = r#"a"::Staff::"b"#;
        let uid = uid(STAFF, tricky);
        assert_eq!(uid.id().unescaped(), tricky);
        assert_eq!(uid.type_name().to_string(), STAFF);
    }

    #[test]
    fn debug_of_context_has_no_address_or_device() {
        let context = Context {
            auth_method: "passkey".into(),
            mfa_age_secs: 30,
            session_age_secs: 60,
            device_id: "device-7f3a".into(),
            source: "203.0.113.9".parse().expect("address"),
            risk_score: 10,
            step_up_max_age_secs: 300,
        };
        let debug = format!("{context:?}");
        assert!(!debug.contains("203.0.113.9"), "{debug}");
        assert!(!debug.contains("device-7f3a"), "{debug}");
        assert!(debug.contains("passkey"), "{debug}");
    }

    #[test]
    fn ages_beyond_a_long_saturate() {
        let context = Context {
            auth_method: "passcode".into(),
            mfa_age_secs: u64::MAX,
            session_age_secs: 0,
            device_id: String::new(),
            source: "::ffff:192.0.2.1".parse().expect("address"),
            risk_score: 0,
            step_up_max_age_secs: 300,
        };
        let cedar = context.to_cedar().expect("context builds");
        let mfa_age = cedar.get("mfa_age_secs").expect("present");
        assert_eq!(mfa_age, cedar_policy::EvalResult::Long(i64::MAX));
    }
}
