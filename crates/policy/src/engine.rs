//! [`PolicyEngine`]: the schema and a validated policy set, and the one place where a request
//! becomes a decision.
//!
//! Every request is decided afresh from the principal's current facts, the resource's facts and
//! the request's context (zero trust: an earlier allowance counts for nothing). The decision is
//! Cedar's, with two additions: any evaluation error denies (fail closed, where Cedar alone would
//! skip the policy that failed, which for a forbid would allow), and a denial caused only by the
//! step-up guards is re-checked without them, so [`crate::Denied::step_up_required`] is true only
//! when a fresh second factor would actually help.
//!
//! What this module deliberately does not do: it loads nothing by itself after construction, keeps
//! no state between requests, reads no clock, and logs nothing; the caller records the decision
//! (its `Display` is safe for that).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use cedar_policy::{
    ActionConstraint, AuthorizationError, Authorizer, Entity, EntityTypeName, EntityUid, Policy,
    PolicySet, Response, Schema,
};

use crate::action::Action;
use crate::decision::{Allowed, Decision, DecisionError, Denied, STEP_UP_POLICY_IDS};
use crate::load::{self, id_str, Compiled, PolicyError};
use crate::request::{Context, Principal, Resource};

/// The schema, the policies and an authoriser. Cheap to share (`&PolicyEngine`) across
/// requests; build a new one to change policies.
pub struct PolicyEngine {
    schema: Schema,
    policies: PolicySet,
    /// The same policies without [`STEP_UP_POLICY_IDS`], to tell whether step-up would help.
    without_step_up: PolicySet,
    /// The actions the schema declares that can be requested (not action groups).
    actions: BTreeSet<String>,
    /// What the schema says of each action, prepared once rather than on every decision.
    prepared: HashMap<String, PreparedAction>,
    authorizer: Authorizer,
}

impl PolicyEngine {
    /// The schema and policies compiled into this crate, validated strictly. An error here is a
    /// bug in this crate (the tests validate the same files).
    pub fn embedded() -> Result<PolicyEngine, PolicyError> {
        let (compiled, report) = load::compile(&load::EMBEDDED_SCHEMA, &load::EMBEDDED_POLICIES);
        match compiled {
            Some(compiled) => Ok(PolicyEngine::new(compiled)),
            None => Err(PolicyError::Invalid(report)),
        }
    }

    /// The schema and policies in `dir`: exactly one `*.cedarschema` file and the `*.cedar`
    /// files beside it. Refused unless [`crate::check_dir`] would find no problem.
    pub fn load_dir(dir: &Path) -> Result<PolicyEngine, PolicyError> {
        let files = load::read_dir(dir)?;
        let (compiled, report) = load::compile(&files.schema(), &files.policies());
        match compiled {
            Some(compiled) => Ok(PolicyEngine::new(compiled)),
            None => Err(PolicyError::Invalid(report)),
        }
    }

    /// Decides whether `principal` may do `A` on `resource` in `context`. The `Allowed<A>` is
    /// what the operation takes as its proof.
    pub fn authorize<A: Action>(
        &self,
        principal: &Principal,
        resource: &Resource,
        context: &Context,
    ) -> Result<Allowed<A>, Denied> {
        if resource.kind() != A::RESOURCE {
            return Err(Denied::new(Decision::unusable_request(
                A::NAME.to_owned(),
                format!(
                    "{} is requested on a {}, not on a {}",
                    A::NAME,
                    A::RESOURCE,
                    resource.kind()
                ),
            )));
        }
        let decision = self.decide(principal, A::NAME, resource, context);
        if decision.is_allowed() {
            let policies = decision.determining_policies().to_vec();
            Ok(Allowed::new(principal.id(), resource, policies))
        } else {
            Err(Denied::new(decision))
        }
    }

    /// Decides a request by the action's Cedar name, for tables, explanations and tools. An
    /// action the schema does not declare, or a principal or resource it does not apply to, is
    /// denied with an error.
    pub fn decide(
        &self,
        principal: &Principal,
        action_name: &str,
        resource: &Resource,
        context: &Context,
    ) -> Decision {
        // Only a declared name goes into the decision, so its `Display` never echoes arbitrary
        // text from the caller.
        let action = if self.actions.contains(action_name) {
            action_name.to_owned()
        } else {
            "unknown action".to_owned()
        };
        let prepared = self
            .prepared
            .get(action_name)
            .filter(|prepared| prepared.applies_to(principal, resource));
        let built = match prepared {
            Some(prepared) => load::prepared_request(
                principal,
                &prepared.entities,
                action_name,
                resource,
                context,
            ),
            // Not an action, or not one for this kind of principal or resource: the checked path
            // explains what is wrong with the request, which then fails closed.
            None => load::cedar_request(&self.schema, principal, action_name, resource, context),
        };
        let (policies, without_step_up) = match prepared {
            Some(prepared) => (&prepared.policies, &prepared.without_step_up),
            None => (&self.policies, &self.without_step_up),
        };
        let (request, entities) = match built {
            Ok(built) => built,
            Err(message) => return Decision::unusable_request(action, message),
        };
        let response = self.authorizer.is_authorized(&request, policies, &entities);
        let (allowed, determining, errors) = outcome(&response);
        let step_up_required = !allowed
            && errors.is_empty()
            && !determining.is_empty()
            && determining
                .iter()
                .all(|id| STEP_UP_POLICY_IDS.contains(&id.as_str()))
            && {
                let without = self
                    .authorizer
                    .is_authorized(&request, without_step_up, &entities);
                let (allowed_without, _, errors_without) = outcome(&without);
                allowed_without && errors_without.is_empty()
            };
        Decision::new(action, allowed, determining, errors, step_up_required)
    }

    /// The `@id`s of the policies in force, sorted.
    pub fn policy_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .policies
            .policies()
            .map(|policy| id_str(policy.id()).to_owned())
            .collect();
        ids.sort_unstable();
        ids
    }

    fn new(compiled: Compiled) -> PolicyEngine {
        let Compiled { schema, policies } = compiled;
        let without_step_up = PolicySet::from_policies(
            policies
                .policies()
                .filter(|policy| !STEP_UP_POLICY_IDS.contains(&id_str(policy.id())))
                .cloned(),
        );
        // The policies came out of one valid set, so their ids are unique and nothing in a subset
        // of them can conflict.
        let without_step_up =
            without_step_up.expect("invariant: a subset of a valid policy set is a valid set");
        let groups: BTreeSet<_> = schema.action_groups().cloned().collect();
        let actions: BTreeSet<String> = schema
            .actions()
            .filter(|action| !groups.contains(*action))
            .map(|action| action.id().unescaped().to_owned())
            .collect();
        let all_action_entities = schema
            .action_entities()
            .expect("invariant: a validated schema's actions form a hierarchy");
        let prepared = schema
            .actions()
            .filter(|action| !groups.contains(*action))
            .map(|uid| {
                let related: Vec<&EntityUid> = all_action_entities
                    .ancestors(uid)
                    .into_iter()
                    .flatten()
                    .chain([uid])
                    .collect();
                let entities = related
                    .iter()
                    .filter_map(|related| all_action_entities.get(related).cloned())
                    .collect();
                let subset = |set: &PolicySet| {
                    PolicySet::from_policies(
                        set.policies()
                            .filter(|policy| may_apply(policy, &related))
                            .cloned(),
                    )
                    .expect("invariant: a subset of a valid policy set is a valid set")
                };
                let types = |names: Option<Box<dyn Iterator<Item = &EntityTypeName> + '_>>| {
                    names
                        .into_iter()
                        .flatten()
                        .map(ToString::to_string)
                        .collect()
                };
                let prepared = PreparedAction {
                    policies: subset(&policies),
                    without_step_up: subset(&without_step_up),
                    entities,
                    principal_types: types(
                        schema
                            .principals_for_action(uid)
                            .map(|names| Box::new(names) as Box<dyn Iterator<Item = _>>),
                    ),
                    resource_types: types(
                        schema
                            .resources_for_action(uid)
                            .map(|names| Box::new(names) as Box<dyn Iterator<Item = _>>),
                    ),
                };
                (uid.id().unescaped().to_owned(), prepared)
            })
            .collect();
        PolicyEngine {
            schema,
            policies,
            without_step_up,
            actions,
            prepared,
            authorizer: Authorizer::new(),
        }
    }
}

/// Whether `policy` can apply to an action that is, or is in, one of `action_and_groups`: its
/// action scope allows any action or names one of them. A policy whose scope names none of them
/// is never satisfied for the action, so leaving it out decides the same, faster.
fn may_apply(policy: &Policy, action_and_groups: &[&EntityUid]) -> bool {
    match policy.action_constraint() {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(uid) => action_and_groups.contains(&&uid),
        ActionConstraint::In(uids) => uids.iter().any(|uid| action_and_groups.contains(&uid)),
    }
}

/// One action as the schema declares it, prepared for deciding: its entity with the groups it is
/// in, the kinds of principal and resource it applies to, and the policies that can apply to it.
struct PreparedAction {
    policies: PolicySet,
    without_step_up: PolicySet,
    entities: Vec<Entity>,
    principal_types: BTreeSet<String>,
    resource_types: BTreeSet<String>,
}

impl PreparedAction {
    fn applies_to(&self, principal: &Principal, resource: &Resource) -> bool {
        self.principal_types.contains(principal.kind_name())
            && self.resource_types.contains(resource.kind().as_str())
    }
}

impl fmt::Debug for PolicyEngine {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("PolicyEngine")
            .field("policies", &self.policy_ids())
            .field("actions", &self.actions.len())
            .finish_non_exhaustive()
    }
}

/// Cedar's decision, the policies that determined it, and the evaluation errors.
fn outcome(response: &Response) -> (bool, Vec<String>, Vec<DecisionError>) {
    let allowed = response.decision() == cedar_policy::Decision::Allow;
    let diagnostics = response.diagnostics();
    let determining = diagnostics
        .reason()
        .map(|id| id_str(id).to_owned())
        .collect();
    let errors = diagnostics
        .errors()
        .map(|error| match error {
            AuthorizationError::PolicyEvaluationError(error) => DecisionError::in_policy(
                id_str(error.policy_id()).to_owned(),
                error.inner().to_string(),
            ),
        })
        .collect();
    (allowed, determining, errors)
}
