//! Integration tests of the `trygg` binary, in one test binary (one link, shared helpers): the
//! real process on a loopback port, real TLS, real signals, real files.

mod cli;
mod common;
mod redaction;
mod server;
