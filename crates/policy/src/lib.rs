//! Authorisation for Trygg: a Cedar schema of the whole product, policies in files, and a typed
//! API whose positive answer is a proof value the operation requires.
//!
//! Every request is decided from three things: who asks ([`Principal`]: a member of staff with
//! roles, team and status, or a customer), what about ([`Resource`], built by one constructor per
//! kind with the facts the policies need, such as a meeting's host and participants), and in
//! which circumstances ([`Context`]: authentication method, age of the last second factor, age of
//! the session, device, source address, risk score). Deny is the default; least privilege is
//! written down once, in `policies/*.cedar`, validated strictly against
//! `schema/trygg.cedarschema`; each policy has an `@id` that decisions name.
//!
//! The modules:
//!
//! - [`action`]: one zero-sized marker type per API operation (`MeetingReadContent`, ...),
//!   implementing the sealed [`Action`] trait.
//! - [`request`]: [`Principal`], [`Resource`], [`Context`] and the parsed values they are made of.
//! - [`decision`]: [`Decision`], [`Allowed`] and [`Denied`].
//! - [`engine`]: [`PolicyEngine`], which decides.
//! - [`load`]: loading and checking the schema and policies ([`check_dir`] for
//!   `trygg policy check DIR`).
//!
//! An operation takes the proof as an argument, so it cannot be called without a positive
//! decision for exactly its action:
//!
//! ```
//! use policy::{
//!     Allowed, Context, MeetingReadContent, PolicyEngine, Principal, Resource, Role, StaffId,
//!     StaffStatus,
//! };
//!
//! fn open_meeting(_allowed: Allowed<MeetingReadContent>, meeting_id: &str) -> String {
//!     format!("joined {meeting_id}")
//! }
//!
//! let engine = PolicyEngine::embedded().expect("the embedded policies are valid");
//! let adviser = Principal::staff(StaffId::new("s-1"), [Role::Adviser], "north", StaffStatus::Active);
//! let meeting = Resource::meeting("m-1", StaffId::new("s-1"), "north", []);
//! let context = Context {
//!     auth_method: "passkey".into(),
//!     mfa_age_secs: 30,
//!     session_age_secs: 600,
//!     device_id: "d-1".into(),
//!     source: "192.0.2.10".parse().expect("an address"),
//!     risk_score: 5,
//!     step_up_max_age_secs: 300,
//! };
//! let allowed = engine
//!     .authorize::<MeetingReadContent>(&adviser, &meeting, &context)
//!     .expect("an adviser reads the meetings they host");
//! assert_eq!(allowed.resource_id(), "m-1");
//! open_meeting(allowed, "m-1");
//! ```
//!
//! A proof cannot be made outside [`PolicyEngine::authorize`]:
//!
//! ```compile_fail,E0451
//! use policy::{Allowed, MeetingReadContent};
//! let forged: Allowed<MeetingReadContent> = Allowed {
//!     principal: unreachable!(), resource_kind: unreachable!(), resource_id: String::new(),
//!     determining_policies: Vec::new(), action: std::marker::PhantomData,
//! };
//! ```
//!
//! A proof for one action is not a proof for another:
//!
//! ```compile_fail,E0308
//! use policy::{Allowed, MeetingReadContent, MeetingReadMetadata};
//! fn open_meeting(_allowed: Allowed<MeetingReadContent>) {}
//! fn supervise(allowed: Allowed<MeetingReadMetadata>) {
//!     open_meeting(allowed);
//! }
//! ```
//!
//! And it cannot be copied to authorise a second operation:
//!
//! ```compile_fail,E0599
//! use policy::{Allowed, MeetingReadContent};
//! fn twice(allowed: Allowed<MeetingReadContent>) {
//!     let _again = allowed.clone();
//! }
//! ```
//!
//! (Each snippet above was checked to fail with exactly the error code it names; rustdoc on
//! stable does not check the codes itself.)
//!
//! What this crate deliberately does not do: it does no IO except reading a policy directory
//! when asked ([`PolicyEngine::load_dir`], [`check_dir`]); no network, no clock (ages come in the
//! context as seconds), no store lookups (the caller passes the facts), no logging and no audit
//! (the caller records the [`Decision`], whose `Display` names only the action and policy ids).
//! It does not authenticate anyone: a [`Principal`] is whoever the identity service says it is.

#![forbid(unsafe_code)]

pub mod action;
pub mod decision;
pub mod engine;
pub mod load;
pub mod request;

#[cfg(test)]
mod tests;

pub use action::*;
pub use decision::{Allowed, Decision, DecisionError, Denied, STEP_UP_POLICY_IDS};
pub use engine::PolicyEngine;
pub use load::{check_dir, CheckReport, PolicyError, Problem, Severity};
pub use request::{
    Context, CustomerId, IntegrationKind, Principal, PrincipalId, Resource, ResourceKind, Role,
    Singleton, Staff, StaffId, StaffStatus,
};
