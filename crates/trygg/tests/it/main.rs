//! Integration tests of the `trygg` binary, in one test binary (one link, shared helpers): the
//! real process on a loopback port, real TLS, real signals, real files, and PostgreSQL.

mod admin;
mod audit_events;
mod cli;
mod common;
mod identity;
mod invitations;
mod meetings;
mod passkeys;
mod postgres;
mod redaction;
mod server;
mod signalling;
mod sso;
