//! Loading and checking policies: the schema and policy files compiled into the binary, or a
//! directory of them (`trygg policy check DIR`), parsed, given their `@id`s and validated
//! strictly against the schema.
//!
//! Every problem found is reported with the file it is in, the policy's `@id` where there is one
//! and a line where Cedar gives a location, and the check goes on after a problem so that one run
//! lists them all. A policy set is only used if it has no problem at all: validator warnings
//! (a policy that can never apply, confusable characters) count too, because a forbid that
//! silently never applies is a hole. The schema is also checked against the typed requests of this
//! crate, so a replacement schema that would make every request fail is caught here and not in
//! production.
//!
//! What this module deliberately does not do: it reads only the top level of the directory it is
//! given (no recursion, no includes), writes nothing, and never evaluates a request for real.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use cedar_policy::{
    Entities, Entity, PolicyId, PolicySet, Request, Schema, ValidationMode, Validator,
};

use crate::action::ACTIONS;
use crate::request::{
    uid, Context, CustomerId, IntegrationKind, Principal, PrincipalId, Resource, ResourceKind,
    Role, Singleton, StaffId, StaffStatus,
};

/// Why policies could not be loaded or checked.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} has no *.cedarschema file; a policy directory needs exactly one schema beside its \
         *.cedar files",
        dir.display()
    )]
    NoSchema { dir: PathBuf },
    #[error(
        "{} has several *.cedarschema files ({}); a policy directory needs exactly one",
        dir.display(),
        files.join(", ")
    )]
    SeveralSchemas { dir: PathBuf, files: Vec<String> },
    #[error("the policies do not pass the check:\n{0}")]
    Invalid(CheckReport),
}

/// The result of checking a schema and its policies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// The schema's file name.
    pub schema_file: String,
    /// The policy files' names, sorted.
    pub policy_files: Vec<String>,
    /// The `@id`s of the policies that parsed, sorted.
    pub policy_ids: Vec<String>,
    /// Everything wrong, in file order.
    pub problems: Vec<Problem>,
}

/// One thing wrong with a schema or a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    /// The file's name within the directory.
    pub file: String,
    /// The `@id` of the policy, where the problem is in one that has an id.
    pub policy_id: Option<String>,
    /// The 1-based line, where Cedar gives a location.
    pub line: Option<usize>,
    pub message: String,
}

/// How bad a problem is. Both kinds stop a policy set from being used; the difference is only
/// in what the validator thinks of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

impl CheckReport {
    /// Whether the policies can be used: no problem at all.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return write!(
                formatter,
                "ok: {} policies in {} files, valid against {}",
                self.policy_ids.len(),
                self.policy_files.len(),
                self.schema_file
            );
        }
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                formatter.write_str("\n")?;
            }
            write!(formatter, "{problem}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(formatter, "{severity}: {}", self.file)?;
        if let Some(line) = self.line {
            write!(formatter, ":{line}")?;
        }
        if let Some(id) = &self.policy_id {
            write!(formatter, ": policy {id}")?;
        }
        write!(formatter, ": {}", self.message)
    }
}

/// Checks the schema and policies in `dir` (one `*.cedarschema` file and any number of `*.cedar`
/// files at its top level) and reports every problem. An `Err` means the check could not run at
/// all (unreadable directory, no schema, several schemas); problems in the files are in the
/// report.
pub fn check_dir(dir: &Path) -> Result<CheckReport, PolicyError> {
    let files = read_dir(dir)?;
    Ok(compile(&files.schema(), &files.policies()).1)
}

/// One file's name and text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// The schema and policies compiled into the binary.
pub(crate) const EMBEDDED_SCHEMA: Source<'static> = Source {
    name: "trygg.cedarschema",
    text: include_str!("../schema/trygg.cedarschema"),
};

/// Every file in `policies/`; `embedded_list_matches_the_directory` keeps this list complete.
pub(crate) const EMBEDDED_POLICIES: [Source<'static>; 10] = [
    embedded("admin.cedar", include_str!("../policies/admin.cedar")),
    embedded("adviser.cedar", include_str!("../policies/adviser.cedar")),
    embedded("auditor.cedar", include_str!("../policies/auditor.cedar")),
    embedded(
        "credentials.cedar",
        include_str!("../policies/credentials.cedar"),
    ),
    embedded("dpo.cedar", include_str!("../policies/dpo.cedar")),
    embedded("guards.cedar", include_str!("../policies/guards.cedar")),
    embedded(
        "security_officer.cedar",
        include_str!("../policies/security_officer.cedar"),
    ),
    embedded(
        "separation.cedar",
        include_str!("../policies/separation.cedar"),
    ),
    embedded("sessions.cedar", include_str!("../policies/sessions.cedar")),
    embedded(
        "supervisor.cedar",
        include_str!("../policies/supervisor.cedar"),
    ),
];

const fn embedded(name: &'static str, text: &'static str) -> Source<'static> {
    Source { name, text }
}

/// A schema and policy set that passed every check.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub schema: Schema,
    pub policies: PolicySet,
}

/// Parses, names and validates; returns the compiled set only if the report has no problem.
pub(crate) fn compile(
    schema: &Source<'_>,
    policies: &[Source<'_>],
) -> (Option<Compiled>, CheckReport) {
    let mut report = CheckReport {
        schema_file: schema.name.to_owned(),
        policy_files: policies
            .iter()
            .map(|source| source.name.to_owned())
            .collect(),
        policy_ids: Vec::new(),
        problems: Vec::new(),
    };
    report.policy_files.sort();

    let parsed_schema = match Schema::from_cedarschema_str(schema.text) {
        Ok((parsed, warnings)) => {
            for warning in warnings {
                report
                    .problems
                    .push(problem(Severity::Warning, schema, &warning));
            }
            check_schema_fits_requests(&parsed, schema, &mut report);
            Some(parsed)
        }
        Err(error) => {
            report
                .problems
                .push(problem(Severity::Error, schema, &error));
            None
        }
    };

    let (policy_set, files_by_id) = parse_policies(policies, &mut report);
    report.policy_ids = files_by_id.keys().cloned().collect();
    if policy_set.is_empty() && report.problems.is_empty() {
        report.problems.push(Problem {
            severity: Severity::Error,
            file: schema.name.to_owned(),
            policy_id: None,
            line: None,
            message: "there are no policies, so every request would be denied".to_owned(),
        });
    }

    let Some(parsed_schema) = parsed_schema else {
        return (None, report);
    };
    let validation =
        Validator::new(parsed_schema.clone()).validate(&policy_set, ValidationMode::Strict);
    let source_of = |id: &PolicyId| {
        files_by_id
            .get(id_str(id))
            .and_then(|index| policies.get(*index))
    };
    for error in validation.validation_errors() {
        report.problems.push(policy_problem(
            Severity::Error,
            source_of(error.policy_id()),
            error.policy_id(),
            error,
        ));
    }
    for warning in validation.validation_warnings() {
        report.problems.push(policy_problem(
            Severity::Warning,
            source_of(warning.policy_id()),
            warning.policy_id(),
            warning,
        ));
    }

    if report.is_ok() {
        let compiled = Compiled {
            schema: parsed_schema,
            policies: policy_set,
        };
        (Some(compiled), report)
    } else {
        (None, report)
    }
}

/// Parses every file, gives each policy its `@id` as its Cedar id, and returns the set with the
/// index of each id's file.
fn parse_policies(
    policies: &[Source<'_>],
    report: &mut CheckReport,
) -> (PolicySet, BTreeMap<String, usize>) {
    let mut policy_set = PolicySet::new();
    let mut files_by_id: BTreeMap<String, usize> = BTreeMap::new();
    for (file_index, source) in policies.iter().enumerate() {
        let parsed = match PolicySet::from_str(source.text) {
            Ok(parsed) => parsed,
            Err(errors) => {
                for error in errors.iter() {
                    report
                        .problems
                        .push(problem(Severity::Error, source, error));
                }
                continue;
            }
        };
        for template in parsed.templates() {
            let message = "templates (policies with ?principal or ?resource slots) are not used \
                           by Trygg; write a static policy"
                .to_owned();
            report.problems.push(Problem {
                severity: Severity::Error,
                file: source.name.to_owned(),
                policy_id: template.annotation("id").map(str::to_owned),
                line: None,
                message,
            });
        }
        // Cedar numbers the policies of one text "policy0", "policy1", ... in order.
        let mut numbered: Vec<_> = parsed.policies().collect();
        numbered.sort_by_key(|policy| {
            id_str(policy.id())
                .strip_prefix("policy")
                .and_then(|number| number.parse::<usize>().ok())
        });
        for (position, policy) in numbered.into_iter().enumerate() {
            let id = match policy.annotation("id") {
                Some(id) if valid_id(id) => id.to_owned(),
                Some(id) => {
                    report.problems.push(Problem {
                        severity: Severity::Error,
                        file: source.name.to_owned(),
                        policy_id: None,
                        line: None,
                        message: format!(
                            "policy number {} has the @id {id:?}; an id is 1 to 64 characters \
                             from a-z, 0-9, '-', '_' and '.'",
                            position + 1
                        ),
                    });
                    continue;
                }
                None => {
                    report.problems.push(Problem {
                        severity: Severity::Error,
                        file: source.name.to_owned(),
                        policy_id: None,
                        line: None,
                        message: format!(
                            "policy number {} has no @id(\"...\") annotation; every policy needs \
                             one so that decisions can name it",
                            position + 1
                        ),
                    });
                    continue;
                }
            };
            if let Some(first) = files_by_id.get(&id) {
                let first_file = policies.get(*first).map_or("?", |first| first.name);
                report.problems.push(Problem {
                    severity: Severity::Error,
                    file: source.name.to_owned(),
                    policy_id: Some(id.clone()),
                    line: None,
                    message: format!("the id is already used in {first_file}; ids must be unique"),
                });
                continue;
            }
            let renamed = policy.new_id(PolicyId::new(id.clone()));
            match policy_set.add(renamed) {
                Ok(()) => {
                    files_by_id.insert(id, file_index);
                }
                Err(error) => report.problems.push(Problem {
                    severity: Severity::Error,
                    file: source.name.to_owned(),
                    policy_id: Some(id),
                    line: None,
                    message: error.to_string(),
                }),
            }
        }
    }
    (policy_set, files_by_id)
}

/// A policy id as text.
pub(crate) fn id_str(id: &PolicyId) -> &str {
    AsRef::<str>::as_ref(id)
}

/// Policy ids go into decisions, logs and security events as they are, so they are kept to a
/// plain alphabet.
fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

/// Builds one sample request per action, as this crate builds requests, and checks it against
/// the schema: a replacement schema that renamed an attribute or an action would otherwise make
/// those requests fail (closed, but for everyone) at run time.
fn check_schema_fits_requests(schema: &Schema, source: &Source<'_>, report: &mut CheckReport) {
    let staff_id = StaffId::new("probe-staff");
    let staff = Principal::staff(
        staff_id.clone(),
        Role::ALL,
        "probe-team",
        StaffStatus::Active,
    );
    let customer = Principal::customer(CustomerId::new("probe-customer"));
    let context = Context {
        auth_method: "probe".to_owned(),
        mfa_age_secs: 0,
        session_age_secs: 0,
        device_id: "probe-device".to_owned(),
        source: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        risk_score: 0,
        step_up_max_age_secs: 300,
    };
    for info in ACTIONS {
        let owner = PrincipalId::Staff(staff_id.clone());
        let resource = sample_resource(info.resource, owner, &staff_id);
        let mut principals = vec![&staff];
        if info.resource == ResourceKind::Session {
            principals.push(&customer);
        }
        for principal in principals {
            if let Err(message) = cedar_request(schema, principal, info.name, &resource, &context) {
                report.problems.push(Problem {
                    severity: Severity::Error,
                    file: source.name.to_owned(),
                    policy_id: None,
                    line: None,
                    message: format!(
                        "the schema does not fit Trygg's requests for action {}: {message}",
                        info.name
                    ),
                });
            }
        }
    }
}

fn sample_resource(kind: ResourceKind, owner: PrincipalId, staff_id: &StaffId) -> Resource {
    match kind {
        ResourceKind::Account => Resource::account("probe", owner, "probe-team"),
        ResourceKind::Session => Resource::session("probe", owner),
        ResourceKind::Meeting => {
            Resource::meeting("probe", staff_id.clone(), "probe-team", [staff_id.clone()])
        }
        ResourceKind::CustomerRecord => {
            Resource::customer_record("probe", staff_id.clone(), "probe-team")
        }
        ResourceKind::Incident => Resource::incident("probe"),
        ResourceKind::DataSubjectRequest => Resource::data_subject_request("probe"),
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

/// Builds the Cedar request and entities for the engine's hot path, without checking them against
/// the schema: `action` holds the requested action's entity and its groups, taken from the schema
/// once. The principal, resource and context are built by this crate's typed constructors, whose
/// shapes [`cedar_request`] checks against the schema in the tests for every action, resource
/// kind and principal kind, and which decide the same (see `the_fast_path_decides_as_the_checked_path`).
pub(crate) fn prepared_request(
    principal: &Principal,
    action: &[Entity],
    action_name: &str,
    resource: &Resource,
    context: &Context,
) -> Result<(Request, Entities), String> {
    let entities = Entities::from_entities(
        [principal.entity()?, resource.entity()?]
            .into_iter()
            .chain(action.iter().cloned()),
        None,
    )
    .map_err(|error| format!("the entities cannot be combined: {error}"))?;
    let request = Request::new(
        principal.uid(),
        uid("Action", action_name),
        resource.uid(),
        context.to_cedar()?,
        None,
    )
    .map_err(|error| format!("the request cannot be built: {error}"))?;
    Ok((request, entities))
}

/// Builds the Cedar request and entities, checked against `schema`.
pub(crate) fn cedar_request(
    schema: &Schema,
    principal: &Principal,
    action_name: &str,
    resource: &Resource,
    context: &Context,
) -> Result<(Request, Entities), String> {
    let entities = Entities::from_entities([principal.entity()?, resource.entity()?], Some(schema))
        .map_err(|error| format!("the entities do not fit the schema: {error}"))?;
    let request = Request::new(
        principal.uid(),
        uid("Action", action_name),
        resource.uid(),
        context.to_cedar()?,
        Some(schema),
    )
    .map_err(|error| format!("the request does not fit the schema: {error}"))?;
    Ok((request, entities))
}

fn policy_problem(
    severity: Severity,
    source: Option<&Source<'_>>,
    policy_id: &PolicyId,
    diagnostic: &(impl miette::Diagnostic + fmt::Display),
) -> Problem {
    let (file, line) = match source {
        Some(source) => (source.name.to_owned(), line_of(diagnostic, source.text)),
        None => ("?".to_owned(), None),
    };
    // Cedar's validator starts its messages with "for policy `ID`, "; the report names the
    // policy already.
    let id = id_str(policy_id);
    let message = diagnostic.to_string();
    let message = message
        .strip_prefix(&format!("for policy `{id}`, "))
        .map_or_else(|| message.clone(), str::to_owned);
    Problem {
        severity,
        file,
        policy_id: Some(id.to_owned()),
        line,
        message,
    }
}

fn problem(
    severity: Severity,
    source: &Source<'_>,
    diagnostic: &(impl miette::Diagnostic + fmt::Display + ?Sized),
) -> Problem {
    Problem {
        severity,
        file: source.name.to_owned(),
        policy_id: None,
        line: line_of(diagnostic, source.text),
        message: diagnostic.to_string(),
    }
}

/// The 1-based line of the diagnostic's first labelled location in `text`.
fn line_of(diagnostic: &(impl miette::Diagnostic + ?Sized), text: &str) -> Option<usize> {
    let offset = diagnostic.labels()?.next()?.offset();
    let before = text.as_bytes().get(..offset)?;
    Some(before.iter().filter(|byte| **byte == b'\n').count() + 1)
}

/// The files of a policy directory.
#[derive(Debug)]
pub(crate) struct DirFiles {
    schema: (String, String),
    policies: Vec<(String, String)>,
}

impl DirFiles {
    pub(crate) fn schema(&self) -> Source<'_> {
        Source {
            name: &self.schema.0,
            text: &self.schema.1,
        }
    }

    pub(crate) fn policies(&self) -> Vec<Source<'_>> {
        self.policies
            .iter()
            .map(|(name, text)| Source { name, text })
            .collect()
    }
}

/// Reads the one `*.cedarschema` file and every `*.cedar` file at the top level of `dir`,
/// sorted by name. Other files are ignored.
pub(crate) fn read_dir(dir: &Path) -> Result<DirFiles, PolicyError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PolicyError::Io { path, source }
    };
    let mut schemas = Vec::new();
    let mut policies = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        let name = name.to_owned();
        let is_schema = name.ends_with(".cedarschema");
        let is_policy = name.ends_with(".cedar");
        if !is_schema && !is_policy {
            continue;
        }
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
        if is_schema {
            schemas.push((name, text));
        } else {
            policies.push((name, text));
        }
    }
    schemas.sort();
    policies.sort();
    let mut schemas = schemas.into_iter();
    match (schemas.next(), schemas.next()) {
        (None, _) => Err(PolicyError::NoSchema {
            dir: dir.to_path_buf(),
        }),
        (Some(schema), None) => Ok(DirFiles { schema, policies }),
        (Some(first), Some(second)) => {
            let mut files = vec![first.0, second.0];
            files.extend(schemas.map(|(name, _)| name));
            Err(PolicyError::SeveralSchemas {
                dir: dir.to_path_buf(),
                files,
            })
        }
    }
}
