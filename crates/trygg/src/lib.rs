//! The `trygg` binary's library half: wiring of the parts into a running server, the key
//! service, the demo seed and the commands, so integration tests can drive the same code the
//! binary runs.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod app;
pub mod clock;
pub mod demo;
pub mod invitations;
pub mod keys;
mod locks;
pub mod logging;
pub mod mail;
pub mod meetings;
pub mod services;
pub mod signing;
pub mod sso;
pub mod turn;
