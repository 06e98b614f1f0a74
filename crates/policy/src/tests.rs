//! The whole policy, as tables: every role against every action against three kinds of
//! ownership, and the guards (step-up, risk, status, session age) across all of them. A change to
//! a policy shows up here as a diff of an expectation table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::*;

fn engine() -> &'static PolicyEngine {
    static ENGINE: OnceLock<PolicyEngine> = OnceLock::new();
    ENGINE.get_or_init(|| match PolicyEngine::embedded() {
        Ok(engine) => engine,
        Err(error) => panic!("the embedded policies must load: {error}"),
    })
}

const TEAM: &str = "north";
const OTHER_TEAM: &str = "south";

/// Whose the resource is, seen from the principal asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ownership {
    /// The principal's own: they host the meeting, advise the customer, hold the session or
    /// account.
    Own,
    /// A colleague's in the principal's team.
    SameTeam,
    /// Someone's in another team.
    OtherTeam,
}

const OWNERSHIPS: [Ownership; 3] = [Ownership::Own, Ownership::SameTeam, Ownership::OtherTeam];

fn me() -> StaffId {
    StaffId::new("me")
}

fn staff(roles: &[Role]) -> Principal {
    Principal::staff(me(), roles.iter().copied(), TEAM, StaffStatus::Active)
}

fn customer() -> Principal {
    Principal::customer(CustomerId::new("customer-me"))
}

fn context() -> Context {
    Context {
        auth_method: "password+totp".into(),
        mfa_age_secs: 30,
        session_age_secs: 900,
        device_id: "device-1".into(),
        source: "198.51.100.7".parse().expect("address"),
        risk_score: 10,
        step_up_max_age_secs: 300,
    }
}

fn context_with(change: impl FnOnce(&mut Context)) -> Context {
    let mut context = context();
    change(&mut context);
    context
}

/// A resource of `kind` that belongs to the principal, a colleague or a stranger.
fn resource(kind: ResourceKind, principal: &Principal, ownership: Ownership) -> Resource {
    let (owner_id, team): (PrincipalId, &str) = match (principal, ownership) {
        (_, Ownership::Own) => (principal.id(), TEAM),
        (Principal::Staff(_), Ownership::SameTeam) => (StaffId::new("colleague").into(), TEAM),
        (Principal::Staff(_), Ownership::OtherTeam) => {
            (StaffId::new("stranger").into(), OTHER_TEAM)
        }
        // For a customer, "same team" is another customer and "other team" a member of staff.
        (Principal::Customer(_), Ownership::SameTeam) => {
            (CustomerId::new("customer-other").into(), TEAM)
        }
        (Principal::Customer(_), Ownership::OtherTeam) => {
            (StaffId::new("stranger").into(), OTHER_TEAM)
        }
    };
    let owner_staff = match &owner_id {
        PrincipalId::Staff(id) => id.clone(),
        // A customer owns no meeting or record; their "own" one is a stranger's.
        PrincipalId::Customer(_) => StaffId::new("stranger"),
    };
    match kind {
        ResourceKind::Session => Resource::session("session-1", owner_id),
        ResourceKind::Account => Resource::account("account-1", owner_id, team),
        ResourceKind::Meeting => Resource::meeting("meeting-1", owner_staff, team, []),
        ResourceKind::CustomerRecord => Resource::customer_record("customer-1", owner_staff, team),
        ResourceKind::Incident => Resource::incident("incident-1"),
        ResourceKind::DataSubjectRequest => Resource::data_subject_request("dsar-1"),
        ResourceKind::Integration => Resource::integration(IntegrationKind::Siem),
        ResourceKind::AuditTrail => Resource::singleton(Singleton::AuditTrail),
        ResourceKind::SecurityEvents => Resource::singleton(Singleton::SecurityEvents),
        ResourceKind::ConsentRegister => Resource::singleton(Singleton::ConsentRegister),
        ResourceKind::RetentionPolicy => Resource::singleton(Singleton::RetentionPolicy),
        ResourceKind::KeyVault => Resource::singleton(Singleton::KeyVault),
        ResourceKind::PolicySet => Resource::singleton(Singleton::PolicySet),
        ResourceKind::Backup => Resource::singleton(Singleton::Backup),
        ResourceKind::Organisation => Resource::singleton(Singleton::Organisation),
    }
}

/// What `principal` may do in `context`, as sorted lines "action" (whoever owns the resource)
/// or "action (own, team)" (only for those ownerships).
fn allowed_table(principal: &Principal, context: &Context) -> Vec<String> {
    let mut lines = Vec::new();
    for info in ACTIONS {
        let allowed: Vec<Ownership> = OWNERSHIPS
            .into_iter()
            .filter(|ownership| {
                let resource = resource(info.resource, principal, *ownership);
                engine()
                    .decide(principal, info.name, &resource, context)
                    .is_allowed()
            })
            .collect();
        if allowed.len() == OWNERSHIPS.len() {
            lines.push(info.name.to_owned());
        } else if !allowed.is_empty() {
            let names: Vec<&str> = allowed
                .iter()
                .map(|ownership| match ownership {
                    Ownership::Own => "own",
                    Ownership::SameTeam => "team",
                    Ownership::OtherTeam => "other",
                })
                .collect();
            lines.push(format!("{} ({})", info.name, names.join(", ")));
        }
    }
    lines.sort();
    lines
}

fn lines(expected: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = expected.iter().map(|line| (*line).to_owned()).collect();
    lines.sort();
    lines
}

/// Every principal the tables cover: each role alone, staff without a role, and a customer.
fn principals() -> Vec<(&'static str, Principal)> {
    let mut principals: Vec<(&'static str, Principal)> = Role::ALL
        .into_iter()
        .map(|role| (role.as_str(), staff(&[role])))
        .collect();
    principals.push(("no role", staff(&[])));
    principals.push(("customer", customer()));
    principals
}

#[test]
fn role_action_ownership_matrix() {
    let own_sessions = [
        "session.read_own (own)",
        "session.revoke_own (own)",
        "credential.read_own (own)",
        "credential.register_own (own)",
        "credential.remove_own (own)",
    ];
    let expected: [(&str, Vec<&str>); 8] = [
        (
            "admin",
            vec![
                "account.invite (team, other)",
                "account.set_roles (team, other)",
                "account.disable (team, other)",
                "account.reset_mfa (team, other)",
                "account.revoke_sessions",
                "account.list",
                "integration.configure",
                "backup.run",
                "backup.restore",
                "keys.rotate",
                "policy.change",
            ],
        ),
        (
            "security_officer",
            vec![
                "account.disable (team, other)",
                "account.revoke_sessions",
                "security.read_events",
                "incident.manage",
                "incident.contain",
                "audit.read",
                "audit.verify",
                "audit.export",
            ],
        ),
        (
            "dpo",
            vec![
                "consent.read",
                "dsar.export",
                "dsar.erase",
                "retention.configure",
                "audit.read",
            ],
        ),
        ("supervisor", vec!["meeting.read_metadata (own, team)"]),
        (
            "adviser",
            vec![
                "meeting.create (own)",
                "meeting.read_metadata (own)",
                "meeting.read_content (own)",
                "meeting.update (own)",
                "meeting.cancel (own)",
                "meeting.admit (own)",
                "customer.read (own)",
                "customer.update (own)",
            ],
        ),
        (
            "auditor",
            vec![
                "audit.read",
                "audit.verify",
                "audit.export",
                "security.read_events",
                "consent.read",
            ],
        ),
        ("no role", vec![]),
        ("customer", vec![]),
    ];
    let expected: BTreeMap<&str, Vec<String>> = expected
        .into_iter()
        .map(|(name, mut actions)| {
            actions.extend(own_sessions);
            (name, lines(&actions))
        })
        .collect();
    let actual: BTreeMap<&str, Vec<String>> = principals()
        .into_iter()
        .map(|(name, principal)| (name, allowed_table(&principal, &context())))
        .collect();
    assert_eq!(actual, expected);
}

#[test]
fn an_adviser_never_reaches_a_colleagues_customers_or_meetings() {
    let adviser = staff(&[Role::Adviser]);
    for host in ["colleague", "stranger"] {
        for team in [TEAM, OTHER_TEAM] {
            let meeting = Resource::meeting("m", StaffId::new(host), team, [StaffId::new("x")]);
            let record = Resource::customer_record("c", StaffId::new(host), team);
            for info in ACTIONS {
                let resource = match info.resource {
                    ResourceKind::Meeting => &meeting,
                    ResourceKind::CustomerRecord => &record,
                    _ => continue,
                };
                let decision = engine().decide(&adviser, info.name, resource, &context());
                assert!(!decision.is_allowed(), "{decision}");
            }
        }
    }
}

#[test]
fn an_adviser_taking_part_in_a_colleagues_meeting_reaches_it() {
    let adviser = staff(&[Role::Adviser]);
    let meeting = Resource::meeting(
        "m",
        StaffId::new("colleague"),
        OTHER_TEAM,
        [StaffId::new("colleague"), me()],
    );
    let allowed: Vec<&str> = ACTIONS
        .iter()
        .filter(|info| info.resource == ResourceKind::Meeting)
        .filter(|info| {
            engine()
                .decide(&adviser, info.name, &meeting, &context())
                .is_allowed()
        })
        .map(|info| info.name)
        .collect();
    // Not `meeting.create`: nobody creates a meeting for someone else to host.
    assert_eq!(
        allowed,
        [
            "meeting.read_metadata",
            "meeting.read_content",
            "meeting.update",
            "meeting.cancel",
            "meeting.admit",
        ]
    );
}

#[test]
fn an_adviser_creates_meetings_only_in_their_own_team() {
    let adviser = staff(&[Role::Adviser]);
    let elsewhere = Resource::meeting("m", me(), OTHER_TEAM, []);
    let decision = engine().decide(&adviser, "meeting.create", &elsewhere, &context());
    assert!(!decision.is_allowed(), "{decision}");
}

#[test]
fn administrators_and_security_officers_never_read_content_even_with_the_adviser_role() {
    let principals = [
        staff(&[Role::Admin]),
        staff(&[Role::SecurityOfficer]),
        staff(&[Role::Admin, Role::Adviser]),
        staff(&[Role::SecurityOfficer, Role::Adviser]),
        staff(&Role::ALL),
    ];
    for principal in &principals {
        for ownership in OWNERSHIPS {
            for (action, kind) in [
                ("meeting.read_content", ResourceKind::Meeting),
                ("customer.read", ResourceKind::CustomerRecord),
                ("customer.update", ResourceKind::CustomerRecord),
            ] {
                let resource = resource(kind, principal, ownership);
                let decision = engine().decide(principal, action, &resource, &context());
                assert!(!decision.is_allowed(), "{principal:?}: {decision}");
            }
        }
    }
    // With the adviser role the rest of the adviser's work is still there.
    let admin_adviser = staff(&[Role::Admin, Role::Adviser]);
    let own_meeting = resource(ResourceKind::Meeting, &admin_adviser, Ownership::Own);
    let decision = engine().decide(
        &admin_adviser,
        "meeting.read_content",
        &own_meeting,
        &context(),
    );
    assert_eq!(
        decision.determining_policies(),
        ["administrators-never-read-content"]
    );
    assert!(engine()
        .decide(&admin_adviser, "meeting.admit", &own_meeting, &context())
        .is_allowed());
}

#[test]
fn the_auditor_only_reads() {
    let auditor = staff(&[Role::Auditor]);
    for line in allowed_table(&auditor, &context()) {
        let name = line.split(' ').next().expect("an action name");
        // Everyone may end their own sessions and manage their own passkeys; that is signing
        // out and choosing how to sign in, not changing the system.
        if name.starts_with("session.") || name.starts_with("credential.") {
            continue;
        }
        let (_, verb) = name.split_once('.').expect("dotted");
        // Exporting the audit trail is reading it in bulk.
        assert!(
            verb.starts_with("read") || verb == "verify" || name == "audit.export",
            "the auditor may {name}"
        );
    }
}

#[test]
fn sensitive_actions_need_a_fresh_second_factor() {
    let stale = context_with(|context| context.mfa_age_secs = 600);
    let at_limit = context_with(|context| context.mfa_age_secs = 300);
    for (_, principal) in principals() {
        for info in ACTIONS {
            for ownership in OWNERSHIPS {
                let resource = resource(info.resource, &principal, ownership);
                let fresh = engine().decide(&principal, info.name, &resource, &context());
                let stale = engine().decide(&principal, info.name, &resource, &stale);
                let at_limit = engine().decide(&principal, info.name, &resource, &at_limit);
                assert_eq!(at_limit.is_allowed(), fresh.is_allowed(), "{at_limit}");
                if info.sensitive {
                    assert!(!stale.is_allowed(), "{stale}");
                    // Step-up is offered exactly where it would help.
                    assert_eq!(stale.step_up_required(), fresh.is_allowed(), "{stale}");
                    if fresh.is_allowed() {
                        assert_eq!(stale.determining_policies(), ["step-up-required"]);
                    }
                } else {
                    assert_eq!(stale.is_allowed(), fresh.is_allowed(), "{stale}");
                    assert!(!stale.step_up_required(), "{stale}");
                }
            }
        }
    }
}

#[test]
fn step_up_through_the_typed_api() {
    let admin = staff(&[Role::Admin]);
    let vault = Resource::singleton(Singleton::KeyVault);
    let stale = context_with(|context| context.mfa_age_secs = 600);
    let denied = engine()
        .authorize::<KeysRotate>(&admin, &vault, &stale)
        .expect_err("stale MFA");
    assert!(denied.step_up_required());
    assert_eq!(denied.determining_policies(), ["step-up-required"]);
    assert_eq!(
        denied.to_string(),
        "deny keys.rotate: determined by step-up-required; a fresh second factor would allow it"
    );
    let allowed = engine()
        .authorize::<KeysRotate>(&admin, &vault, &context())
        .expect("fresh MFA");
    assert_eq!(allowed.determining_policies(), ["admin-rotate-keys"]);

    // Someone who may not rotate keys at all is not asked for a second factor.
    let auditor = staff(&[Role::Auditor]);
    let denied = engine()
        .authorize::<KeysRotate>(&auditor, &vault, &stale)
        .expect_err("not permitted");
    assert!(!denied.step_up_required());
}

#[test]
fn high_risk_denies_everything_and_elevated_risk_the_sensitive_actions() {
    let high = context_with(|context| context.risk_score = 85);
    let at_high = context_with(|context| context.risk_score = 80);
    let elevated = context_with(|context| context.risk_score = 60);
    let at_elevated = context_with(|context| context.risk_score = 50);
    let below = context_with(|context| context.risk_score = 49);
    for (_, principal) in principals() {
        for info in ACTIONS {
            for ownership in OWNERSHIPS {
                let resource = resource(info.resource, &principal, ownership);
                let decide =
                    |context: &Context| engine().decide(&principal, info.name, &resource, context);
                let fresh = decide(&context());
                for context in [&high, &at_high] {
                    let decision = decide(context);
                    assert!(!decision.is_allowed(), "{decision}");
                    assert!(!decision.step_up_required(), "{decision}");
                    // (Unless the request was refused before any policy ran.)
                    if principal_is_active_staff_or_customer(&principal)
                        && decision.errors().is_empty()
                    {
                        assert!(
                            decision
                                .determining_policies()
                                .contains(&"risk-too-high".to_owned()),
                            "{decision}"
                        );
                    }
                }
                for context in [&elevated, &at_elevated] {
                    let decision = decide(context);
                    if info.sensitive {
                        assert!(!decision.is_allowed(), "{decision}");
                        assert_eq!(
                            decision.step_up_required(),
                            fresh.is_allowed(),
                            "{decision}"
                        );
                        let determining = decision.determining_policies();
                        if fresh.is_allowed() {
                            assert_eq!(determining, ["risk-step-up"]);
                        } else if decision.errors().is_empty() {
                            assert!(determining.contains(&"risk-step-up".to_owned()));
                        }
                    } else {
                        assert_eq!(decision.is_allowed(), fresh.is_allowed(), "{decision}");
                    }
                }
                assert_eq!(decide(&below).is_allowed(), fresh.is_allowed());
            }
        }
    }
}

fn principal_is_active_staff_or_customer(principal: &Principal) -> bool {
    match principal {
        Principal::Staff(staff) => staff.status == StaffStatus::Active,
        Principal::Customer(_) => true,
    }
}

#[test]
fn staff_who_are_not_active_may_do_nothing() {
    for status in [StaffStatus::Disabled, StaffStatus::Pending] {
        let principal = Principal::staff(me(), Role::ALL, TEAM, status);
        assert_eq!(allowed_table(&principal, &context()), Vec::<String>::new());
        let session = resource(ResourceKind::Session, &principal, Ownership::Own);
        let decision = engine().decide(&principal, "session.read_own", &session, &context());
        assert_eq!(decision.determining_policies(), ["staff-not-active"]);
    }
}

#[test]
fn sessions_older_than_twelve_hours_may_do_nothing() {
    let old = context_with(|context| context.session_age_secs = 12 * 3600 + 1);
    let at_limit = context_with(|context| context.session_age_secs = 12 * 3600);
    let everyone = staff(&Role::ALL);
    assert_eq!(allowed_table(&everyone, &old), Vec::<String>::new());
    assert_eq!(allowed_table(&customer(), &old), Vec::<String>::new());
    assert_eq!(
        allowed_table(&everyone, &at_limit),
        allowed_table(&everyone, &context())
    );
}

#[test]
fn customers_may_only_see_and_end_their_own_sessions() {
    let customer = customer();
    let own = Resource::session("s", customer.id());
    let allowed = engine()
        .authorize::<SessionRevokeOwn>(&customer, &own, &context())
        .expect("own session");
    assert_eq!(allowed.principal(), &customer.id());
    let someone_elses = Resource::session("s", CustomerId::new("customer-other").into());
    assert!(engine()
        .authorize::<SessionReadOwn>(&customer, &someone_elses, &context())
        .is_err());

    // A staff-only action is refused before any policy runs: the schema does not let customers
    // ask.
    let meeting = Resource::meeting("m", StaffId::new("host"), TEAM, []);
    let denied = engine()
        .authorize::<MeetingReadContent>(&customer, &meeting, &context())
        .expect_err("customers are not staff");
    assert_eq!(denied.errors().len(), 1);
    assert_eq!(denied.errors()[0].policy_id(), None);
    assert_eq!(
        denied.to_string(),
        "deny meeting.read_content; failed closed on a request that does not fit the schema"
    );
}

#[test]
fn a_resource_of_the_wrong_kind_is_refused() {
    let adviser = staff(&[Role::Adviser]);
    let record = Resource::customer_record("c", me(), TEAM);
    let denied = engine()
        .authorize::<MeetingReadContent>(&adviser, &record, &context())
        .expect_err("a record is not a meeting");
    assert!(denied.errors()[0]
        .message()
        .contains("not on a CustomerRecord"));
}

#[test]
fn unknown_actions_are_denied_without_echoing_the_name() {
    let admin = staff(&Role::ALL);
    let resource = Resource::singleton(Singleton::Organisation);
    for name in [
        "sensitive",
        "account.delete_everything",
        "alice@example.com",
    ] {
        let decision = engine().decide(&admin, name, &resource, &context());
        assert!(!decision.is_allowed());
        assert!(!decision.to_string().contains(name), "{decision}");
    }
}

#[test]
fn allowed_names_what_it_allows() {
    let adviser = staff(&[Role::Adviser]);
    let meeting = Resource::meeting("meeting-42", me(), TEAM, []);
    let allowed = engine()
        .authorize::<MeetingReadContent>(&adviser, &meeting, &context())
        .expect("own meeting");
    assert_eq!(allowed.action(), "meeting.read_content");
    assert_eq!(allowed.resource_kind(), ResourceKind::Meeting);
    assert_eq!(allowed.resource_id(), "meeting-42");
    assert_eq!(allowed.principal(), &PrincipalId::Staff(me()));
    assert_eq!(allowed.determining_policies(), ["adviser-own-meetings"]);
}

#[test]
fn decisions_display_no_personal_data() {
    let principal = Principal::staff(
        StaffId::new("alice@example.com"),
        [Role::Adviser, Role::Admin],
        "team-stockholm",
        StaffStatus::Active,
    );
    let context = Context {
        auth_method: "passkey".into(),
        mfa_age_secs: 900,
        session_age_secs: 60,
        device_id: "device-bob-phone".into(),
        source: "2001:db8::42".parse().expect("address"),
        risk_score: 55,
        step_up_max_age_secs: 300,
    };
    let secrets = [
        "alice@example.com",
        "team-stockholm",
        "device-bob-phone",
        "2001:db8",
        "customer-ada",
        "meeting-secret-id",
    ];
    let resources = [
        Resource::meeting(
            "meeting-secret-id",
            StaffId::new("alice@example.com"),
            "team-stockholm",
            [],
        ),
        Resource::customer_record("customer-ada", StaffId::new("alice@example.com"), "x"),
        Resource::account("customer-ada", CustomerId::new("customer-ada").into(), "x"),
    ];
    for info in ACTIONS {
        for resource in &resources {
            let decision = engine().decide(&principal, info.name, resource, &context);
            let shown = decision.to_string();
            for secret in secrets {
                assert!(!shown.contains(secret), "{shown}");
            }
        }
    }
}

#[test]
fn ipv6_and_mapped_ipv4_sources_are_accepted() {
    let adviser = staff(&[Role::Adviser]);
    let meeting = Resource::meeting("m", me(), TEAM, []);
    for source in ["2001:db8::1", "::ffff:192.0.2.1", "::1", "10.0.0.1"] {
        let context = context_with(|context| context.source = source.parse().expect("address"));
        let decision = engine().decide(&adviser, "meeting.read_content", &meeting, &context);
        assert!(decision.is_allowed(), "{source}: {decision:?}");
    }
}

// ---- The schema and the Rust types agree. ----

#[test]
fn the_schema_declares_exactly_the_rust_actions() {
    let (compiled, report) = load::compile(&load::EMBEDDED_SCHEMA, &load::EMBEDDED_POLICIES);
    assert!(report.is_ok(), "{report}");
    let schema = compiled.expect("valid").schema;
    let action_entities = schema.action_entities().expect("action entities");
    let sensitive_group = request::uid("Action", "sensitive");
    let groups: Vec<_> = schema.action_groups().cloned().collect();
    assert_eq!(groups, std::slice::from_ref(&sensitive_group));

    let mut declared: Vec<(String, Vec<String>, bool)> = schema
        .actions()
        .filter(|action| !groups.contains(action))
        .map(|action| {
            let resources = schema
                .resources_for_action(action)
                .expect("declared")
                .map(ToString::to_string)
                .collect();
            let sensitive = action_entities.is_ancestor_of(&sensitive_group, action);
            (action.id().unescaped().to_owned(), resources, sensitive)
        })
        .collect();
    declared.sort();
    let mut rust: Vec<(String, Vec<String>, bool)> = ACTIONS
        .iter()
        .map(|info| {
            (
                info.name.to_owned(),
                vec![info.resource.as_str().to_owned()],
                info.sensitive,
            )
        })
        .collect();
    rust.sort();
    assert_eq!(declared, rust);
}

#[test]
fn the_embedded_policies_validate_and_every_policy_has_an_id() {
    let engine = engine();
    let ids = engine.policy_ids();
    assert_eq!(
        ids,
        [
            "admin-accounts",
            "admin-backups",
            "admin-change-policy",
            "admin-integrations",
            "admin-list-accounts",
            "admin-rotate-keys",
            "administrators-never-read-content",
            "adviser-create-meeting",
            "adviser-own-customers",
            "adviser-own-meetings",
            "auditor-audit",
            "auditor-audit-export",
            "auditor-consent",
            "auditor-security-events",
            "dpo-audit",
            "dpo-consent",
            "dpo-data-subject-requests",
            "dpo-retention",
            "no-self-administration",
            "own-credentials",
            "own-sessions",
            "risk-step-up",
            "risk-too-high",
            "security-officer-audit",
            "security-officer-audit-export",
            "security-officer-containment",
            "security-officer-events",
            "security-officer-incidents",
            "session-too-old",
            "staff-not-active",
            "step-up-required",
            "supervisor-team-metadata",
        ]
    );
}

#[test]
fn embedded_list_matches_the_directory() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut on_disk: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("policies/")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&path).expect("text"))
        })
        .collect();
    on_disk.sort();
    let embedded: Vec<(String, String)> = load::EMBEDDED_POLICIES
        .iter()
        .map(|source| (source.name.to_owned(), source.text.to_owned()))
        .collect();
    assert_eq!(on_disk, embedded);
}

// ---- Loading and checking directories. ----

/// A scratch directory under the system's temporary directory, removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(name: &str) -> ScratchDir {
        let path =
            std::env::temp_dir().join(format!("trygg-policy-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("scratch directory");
        ScratchDir(path)
    }

    /// A directory with the embedded schema and policies.
    fn with_embedded(name: &str) -> ScratchDir {
        let dir = ScratchDir::new(name);
        dir.write(load::EMBEDDED_SCHEMA.name, load::EMBEDDED_SCHEMA.text);
        for source in &load::EMBEDDED_POLICIES {
            dir.write(source.name, source.text);
        }
        dir
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.0.join(name), text).expect("write");
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_directory_with_the_embedded_files_loads_and_decides_the_same() {
    let dir = ScratchDir::with_embedded("same");
    dir.write("README.md", "not a policy");
    let report = check_dir(&dir.0).expect("check runs");
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.schema_file, "trygg.cedarschema");
    assert_eq!(report.policy_files.len(), 10);
    assert_eq!(report.policy_ids, engine().policy_ids());
    assert!(report
        .to_string()
        .starts_with("ok: 32 policies in 10 files"));

    let loaded = PolicyEngine::load_dir(&dir.0).expect("loads");
    for (_, principal) in principals() {
        assert_eq!(
            allowed_table(&principal, &context()),
            allowed_table_with(&loaded, &principal, &context())
        );
    }
}

fn allowed_table_with(
    engine: &PolicyEngine,
    principal: &Principal,
    context: &Context,
) -> Vec<String> {
    let mut lines = Vec::new();
    for info in ACTIONS {
        let allowed: Vec<bool> = OWNERSHIPS
            .into_iter()
            .map(|ownership| {
                let resource = resource(info.resource, principal, ownership);
                engine
                    .decide(principal, info.name, &resource, context)
                    .is_allowed()
            })
            .collect();
        if allowed.iter().all(|allowed| *allowed) {
            lines.push(info.name.to_owned());
        } else if allowed.iter().any(|allowed| *allowed) {
            let names: Vec<&str> = ["own", "team", "other"]
                .into_iter()
                .zip(&allowed)
                .filter(|(_, allowed)| **allowed)
                .map(|(name, _)| name)
                .collect();
            lines.push(format!("{} ({})", info.name, names.join(", ")));
        }
    }
    lines.sort();
    lines
}

#[test]
fn check_names_the_file_and_policy_of_each_problem() {
    let dir = ScratchDir::with_embedded("problems");
    dir.write(
        "broken.cedar",
        r#"// A policy about an attribute that does not exist.
@id("uses-undefined-attribute")
permit (principal is Staff, action == Action::"meeting.read_content", resource is Meeting)
when { principal.clearance == "top" };

@id("uses-undefined-action")
permit (principal, action == Action::"meeting.record", resource);

@id("fine")
permit (principal is Staff, action == Action::"audit.read", resource is AuditTrail)
when { principal.roles.contains("auditor") };
"#,
    );
    let report = check_dir(&dir.0).expect("check runs");
    assert!(!report.is_ok());
    let found: Vec<(&str, Option<&str>, Option<usize>, Severity)> = report
        .problems
        .iter()
        .map(|problem| {
            (
                problem.file.as_str(),
                problem.policy_id.as_deref(),
                problem.line,
                problem.severity,
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "broken.cedar",
                Some("uses-undefined-attribute"),
                Some(4),
                Severity::Error
            ),
            (
                "broken.cedar",
                Some("uses-undefined-action"),
                Some(7),
                Severity::Error
            ),
            // The validator adds that a policy about an action that does not exist can never
            // apply; the location is where the policy starts.
            (
                "broken.cedar",
                Some("uses-undefined-action"),
                Some(6),
                Severity::Warning
            ),
            (
                "broken.cedar",
                Some("uses-undefined-action"),
                Some(6),
                Severity::Warning
            ),
        ],
        "{report}"
    );
    let text = report.to_string();
    assert!(
        text.contains("error: broken.cedar:4: policy uses-undefined-attribute: "),
        "{text}"
    );
    assert!(text.contains("clearance"), "{text}");
    assert!(text.contains("meeting.record"), "{text}");

    let error = PolicyEngine::load_dir(&dir.0).expect_err("problems refuse the load");
    assert!(matches!(error, PolicyError::Invalid(ref invalid) if *invalid == report));
}

#[test]
fn check_reports_parse_errors_missing_and_duplicate_ids() {
    let dir = ScratchDir::with_embedded("syntax");
    dir.write(
        "syntax.cedar",
        "@id(\"half\")\npermit (principal, action, resource)\nwhen { context.risk_score < };\n",
    );
    dir.write(
        "ids.cedar",
        r#"permit (principal, action == Action::"audit.read", resource);

@id("admin-accounts")
permit (principal, action == Action::"audit.read", resource);

@id("Has Spaces")
permit (principal, action == Action::"audit.read", resource);
"#,
    );
    let report = check_dir(&dir.0).expect("check runs");
    let text = report.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].starts_with("error: ids.cedar: policy number 1 has no @id"),
        "{text}"
    );
    assert!(
        lines[1].starts_with(
            "error: ids.cedar: policy admin-accounts: the id is already used in admin.cedar"
        ),
        "{text}"
    );
    assert!(
        lines[2].starts_with("error: ids.cedar: policy number 3 has the @id \"Has Spaces\""),
        "{text}"
    );
    assert!(lines[3].starts_with("error: syntax.cedar:3: "), "{text}");
}

#[test]
fn check_reports_a_policy_that_can_never_apply() {
    let dir = ScratchDir::with_embedded("impossible");
    dir.write(
        "impossible.cedar",
        r#"@id("never")
forbid (principal is Customer, action == Action::"keys.rotate", resource);
"#,
    );
    let report = check_dir(&dir.0).expect("check runs");
    // "No action applies to a customer" and "so the policy is impossible".
    assert_eq!(report.problems.len(), 2, "{report}");
    for problem in &report.problems {
        assert_eq!(problem.severity, Severity::Warning, "{report}");
        assert_eq!(problem.policy_id.as_deref(), Some("never"), "{report}");
        assert_eq!(problem.line, Some(1), "{report}");
    }
    assert!(report.to_string().contains("impossible"), "{report}");
    assert!(PolicyEngine::load_dir(&dir.0).is_err());
}

#[test]
fn a_directory_without_exactly_one_schema_is_a_clear_error() {
    let dir = ScratchDir::new("no-schema");
    dir.write("sessions.cedar", load::EMBEDDED_POLICIES[7].text);
    let error = check_dir(&dir.0).expect_err("no schema");
    assert!(matches!(error, PolicyError::NoSchema { .. }), "{error:?}");
    assert!(
        error.to_string().contains("has no *.cedarschema file"),
        "{error}"
    );
    assert!(PolicyEngine::load_dir(&dir.0).is_err());

    dir.write("a.cedarschema", load::EMBEDDED_SCHEMA.text);
    dir.write("b.cedarschema", load::EMBEDDED_SCHEMA.text);
    let error = check_dir(&dir.0).expect_err("two schemas");
    assert_eq!(
        error.to_string(),
        format!(
            "{} has several *.cedarschema files (a.cedarschema, b.cedarschema); a policy \
             directory needs exactly one",
            dir.0.display()
        )
    );

    let missing = dir.0.join("does-not-exist");
    assert!(matches!(check_dir(&missing), Err(PolicyError::Io { .. })));
}

#[test]
fn a_broken_or_unfitting_schema_is_reported() {
    let dir = ScratchDir::with_embedded("bad-schema");
    dir.write(
        load::EMBEDDED_SCHEMA.name,
        &load::EMBEDDED_SCHEMA
            .text
            .replace("entity Customer;", "entity Customer {;"),
    );
    let report = check_dir(&dir.0).expect("check runs");
    assert!(!report.is_ok());
    assert_eq!(report.problems[0].file, "trygg.cedarschema");
    assert!(report.problems[0].line.is_some(), "{report}");

    // A schema that parses but no longer fits the requests this crate builds.
    dir.write(
        load::EMBEDDED_SCHEMA.name,
        &load::EMBEDDED_SCHEMA
            .text
            .replace("  status: String,\n};", "};"),
    );
    let report = check_dir(&dir.0).expect("check runs");
    assert!(
        report
            .problems
            .iter()
            .any(|problem| problem.file == "trygg.cedarschema"
                && problem.message.contains("does not fit")),
        "{report}"
    );
}

#[test]
fn a_directory_without_policies_is_reported() {
    let dir = ScratchDir::new("empty");
    dir.write(load::EMBEDDED_SCHEMA.name, load::EMBEDDED_SCHEMA.text);
    let report = check_dir(&dir.0).expect("check runs");
    assert_eq!(report.problems.len(), 1, "{report}");
    assert!(report.problems[0].message.contains("no policies"));
}

#[test]
fn the_step_up_window_can_be_shortened_but_never_lengthened() {
    let admin = staff(&[Role::Admin]);
    let resource = Resource::singleton(crate::Singleton::KeyVault);
    let decide = |mfa_age_secs, step_up_max_age_secs| {
        let context = context_with(|context| {
            context.mfa_age_secs = mfa_age_secs;
            context.step_up_max_age_secs = step_up_max_age_secs;
        });
        engine().decide(&admin, "keys.rotate", &resource, &context)
    };
    assert!(decide(30, 300).is_allowed());
    let shortened = decide(30, 10);
    assert!(
        !shortened.is_allowed() && shortened.step_up_required(),
        "{shortened}"
    );
    assert!(decide(5, 10).is_allowed());
    let lengthened = decide(400, 100_000);
    assert!(
        !lengthened.is_allowed() && lengthened.step_up_required(),
        "{lengthened}"
    );
}

#[test]
fn the_fast_path_decides_as_the_checked_path() {
    // The engine builds requests without the schema (its action entities come from the schema
    // once). Here every principal, action and ownership, in a fresh and a stale context, is built
    // once more with every check against the schema; that must succeed and decide the same.
    let engine = engine();
    let compiled = crate::load::compile(
        &crate::load::EMBEDDED_SCHEMA,
        &crate::load::EMBEDDED_POLICIES,
    )
    .0
    .expect("the embedded policies compile");
    let (schema, policies) = (compiled.schema, compiled.policies);
    let stale = context_with(|context| context.mfa_age_secs = 3_600);
    let risky = context_with(|context| context.risk_score = 60);
    let authorizer = cedar_policy::Authorizer::new();
    let mut compared = 0;
    for (name, principal) in principals() {
        for info in ACTIONS {
            for ownership in OWNERSHIPS {
                let resource = resource(info.resource, &principal, ownership);
                for context in [context(), stale.clone(), risky.clone()] {
                    let fast = engine.decide(&principal, info.name, &resource, &context);
                    let checked = crate::load::cedar_request(
                        &schema, &principal, info.name, &resource, &context,
                    );
                    let Ok((request, entities)) = checked else {
                        // A request the schema does not allow (a customer asking for a
                        // staff-only action) fails closed on both paths.
                        assert!(!fast.is_allowed(), "{name} {}", info.name);
                        assert_eq!(fast.errors().len(), 1, "{name} {}", info.name);
                        compared += 1;
                        continue;
                    };
                    let checked = authorizer.is_authorized(&request, &policies, &entities);
                    assert_eq!(
                        fast.is_allowed(),
                        checked.decision() == cedar_policy::Decision::Allow,
                        "{name} {} {ownership:?}",
                        info.name
                    );
                    assert!(checked.diagnostics().errors().next().is_none());
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 1_000, "{compared}");
}
