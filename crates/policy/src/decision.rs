//! The outcome of an authorisation request: [`Decision`] for tables and explanations,
//! [`Allowed`] as the proof an operation requires, and [`Denied`] as the error a handler turns
//! into a refusal and a security event.
//!
//! A decision names the policies that determined it (their `@id`s), so a refusal can be explained
//! ("step-up-required") and an allowance audited ("adviser-own-meetings"). A denial says whether a
//! fresh second factor would turn it into an allowance ([`Denied::step_up_required`]), so the UI
//! knows when to ask for one instead of just saying no.
//!
//! What this module deliberately does not do: its `Display` output names only the action and
//! policy ids (never a person, team, address, device or resource id), so it can go into a log line
//! or a security event as it is; the caller adds pseudonymous ids where the event needs them.
//! Nothing here can make an [`Allowed`] except [`crate::PolicyEngine::authorize`].

use std::fmt;
use std::marker::PhantomData;

use crate::action::Action;
use crate::request::{PrincipalId, Resource, ResourceKind};

/// The ids of the policies that a fresh second factor can satisfy: a denial determined by these
/// alone is one where asking for step-up makes sense.
pub const STEP_UP_POLICY_IDS: [&str; 2] = ["step-up-required", "risk-step-up"];

/// What the policies say about one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    action: String,
    allowed: bool,
    determining_policies: Vec<String>,
    errors: Vec<DecisionError>,
    step_up_required: bool,
}

/// Something that went wrong while deciding. Any error makes the decision a denial (fail closed),
/// even where Cedar on its own would skip the policy that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionError {
    policy_id: Option<String>,
    message: String,
}

impl Decision {
    pub(crate) fn new(
        action: String,
        allowed: bool,
        mut determining_policies: Vec<String>,
        errors: Vec<DecisionError>,
        step_up_required: bool,
    ) -> Decision {
        determining_policies.sort_unstable();
        determining_policies.dedup();
        Decision {
            action,
            allowed: allowed && errors.is_empty(),
            determining_policies,
            errors,
            step_up_required,
        }
    }

    /// A denial before any policy was evaluated, because the request itself was unusable.
    pub(crate) fn unusable_request(action: String, message: String) -> Decision {
        Decision::new(
            action,
            false,
            Vec::new(),
            vec![DecisionError {
                policy_id: None,
                message,
            }],
            false,
        )
    }

    /// The action's Cedar name, or `"unknown action"` if the schema does not declare it.
    pub fn action(&self) -> &str {
        &self.action
    }

    pub fn is_allowed(&self) -> bool {
        self.allowed
    }

    /// The ids of the policies that determined the decision, sorted: for an allowance the
    /// permits that matched, for a denial the forbids that matched (empty when nothing permitted
    /// the request: deny by default).
    pub fn determining_policies(&self) -> &[String] {
        &self.determining_policies
    }

    /// Whether the request would be allowed with a fresh second factor: it was denied only by
    /// [`STEP_UP_POLICY_IDS`], and without those a permit matches.
    pub fn step_up_required(&self) -> bool {
        self.step_up_required
    }

    pub fn errors(&self) -> &[DecisionError] {
        &self.errors
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed { "allow" } else { "deny" };
        write!(formatter, "{verdict} {}", self.action)?;
        if self.determining_policies.is_empty() {
            if !self.allowed && self.errors.is_empty() {
                formatter.write_str(": no policy permits it")?;
            }
        } else {
            write!(
                formatter,
                ": determined by {}",
                self.determining_policies.join(", ")
            )?;
        }
        if self.step_up_required {
            formatter.write_str("; a fresh second factor would allow it")?;
        }
        if !self.errors.is_empty() {
            let errors: Vec<String> = self.errors.iter().map(ToString::to_string).collect();
            write!(formatter, "; failed closed on {}", errors.join(", "))?;
        }
        Ok(())
    }
}

impl DecisionError {
    pub(crate) fn in_policy(policy_id: String, message: String) -> DecisionError {
        DecisionError {
            policy_id: Some(policy_id),
            message,
        }
    }

    /// The policy whose evaluation failed; `None` if the request itself was unusable (unknown
    /// action, a resource of the wrong kind, a principal the action does not apply to).
    pub fn policy_id(&self) -> Option<&str> {
        self.policy_id.as_deref()
    }

    /// Cedar's description of the problem. It may quote values from the request, so it is for
    /// debugging, not for logs or security events (use `Display` there).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for DecisionError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.policy_id {
            Some(id) => write!(formatter, "an evaluation error in policy {id}"),
            None => formatter.write_str("a request that does not fit the schema"),
        }
    }
}

/// Proof that the policies allowed action `A`, for the principal and resource named inside.
///
/// Only [`crate::PolicyEngine::authorize`] makes one, and it is neither `Clone` nor `Default`,
/// so an operation that takes an `Allowed<A>` cannot be reached without a positive decision for
/// exactly `A`. The operation should still check that [`Allowed::resource_id`] is the resource
/// it is about to touch.
#[must_use = "an authorisation exists to be handed to the operation it allows"]
pub struct Allowed<A: Action> {
    principal: PrincipalId,
    resource_kind: ResourceKind,
    resource_id: String,
    determining_policies: Vec<String>,
    action: PhantomData<fn() -> A>,
}

impl<A: Action> Allowed<A> {
    pub(crate) fn new(
        principal: PrincipalId,
        resource: &Resource,
        determining_policies: Vec<String>,
    ) -> Allowed<A> {
        Allowed {
            principal,
            resource_kind: resource.kind(),
            resource_id: resource.id().to_owned(),
            determining_policies,
            action: PhantomData,
        }
    }

    /// The Cedar name of the allowed action.
    pub fn action(&self) -> &'static str {
        A::NAME
    }

    /// Who was allowed.
    pub fn principal(&self) -> &PrincipalId {
        &self.principal
    }

    pub fn resource_kind(&self) -> ResourceKind {
        self.resource_kind
    }

    /// The id of the resource the action was allowed on.
    pub fn resource_id(&self) -> &str {
        &self.resource_id
    }

    /// The permits that allowed it, for the audit event.
    pub fn determining_policies(&self) -> &[String] {
        &self.determining_policies
    }
}

impl<A: Action> fmt::Debug for Allowed<A> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Allowed")
            .field("action", &A::NAME)
            .field("principal", &self.principal)
            .field("resource_kind", &self.resource_kind)
            .field("resource_id", &self.resource_id)
            .field("determining_policies", &self.determining_policies)
            .finish()
    }
}

/// A refusal from [`crate::PolicyEngine::authorize`]. `Display` names the action and the
/// policies only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    decision: Decision,
}

impl Denied {
    pub(crate) fn new(decision: Decision) -> Denied {
        debug_assert!(!decision.is_allowed());
        Denied { decision }
    }

    pub fn action(&self) -> &str {
        self.decision.action()
    }

    /// The forbids that matched; empty if nothing permitted the request.
    pub fn determining_policies(&self) -> &[String] {
        self.decision.determining_policies()
    }

    /// Whether asking for a fresh second factor (step-up) would help; see
    /// [`Decision::step_up_required`].
    pub fn step_up_required(&self) -> bool {
        self.decision.step_up_required()
    }

    pub fn errors(&self) -> &[DecisionError] {
        self.decision.errors()
    }

    pub fn decision(&self) -> &Decision {
        &self.decision
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.decision.fmt(formatter)
    }
}

impl std::error::Error for Denied {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_action_and_policies_only() {
        let allowed = Decision::new(
            "meeting.read_content".into(),
            true,
            vec!["adviser-own-meetings".into()],
            Vec::new(),
            false,
        );
        assert_eq!(
            allowed.to_string(),
            "allow meeting.read_content: determined by adviser-own-meetings"
        );

        let by_default = Decision::new("customer.read".into(), false, vec![], vec![], false);
        assert_eq!(
            by_default.to_string(),
            "deny customer.read: no policy permits it"
        );

        let step_up = Decision::new(
            "keys.rotate".into(),
            false,
            vec!["step-up-required".into(), "risk-step-up".into()],
            vec![],
            true,
        );
        assert_eq!(
            step_up.to_string(),
            "deny keys.rotate: determined by risk-step-up, step-up-required; \
             a fresh second factor would allow it"
        );

        let failed = Decision::new(
            "audit.read".into(),
            true,
            vec![],
            vec![DecisionError::in_policy(
                "dpo-audit".into(),
                "secret detail 203.0.113.9".into(),
            )],
            false,
        );
        assert!(!failed.is_allowed(), "errors fail closed");
        assert_eq!(
            failed.to_string(),
            "deny audit.read; failed closed on an evaluation error in policy dpo-audit"
        );
    }
}
