//! The one integration-test binary: each module is a scenario against the real daemon, started
//! as a child process on port 0 with a freshly generated PKI.

// A test binary is not a library: `pub` here only shares items between its modules.
#![allow(unreachable_pub, missing_docs)]
// Helpers shared by tests panic on setup failures by design.
#![allow(clippy::unwrap_used)]
// The tests play staff browsers and raw TCP clients of the daemon; the ban on building HTTP
// clients outside the egress module (clippy.toml) is a rule for the appliance, not its tests.
#![allow(clippy::disallowed_methods)]

mod access;
#[cfg(feature = "demo")]
mod browser;
mod cases;
#[cfg(feature = "demo")]
mod child_protection;
mod config;
mod corpus;
#[cfg(feature = "demo")]
mod demo;
#[cfg(feature = "demo")]
mod dmca;
mod documents;
#[cfg(feature = "demo")]
mod egress;
#[cfg(feature = "demo")]
mod faults;
mod forms;
mod harness;
mod lifecycle;
mod limits;
#[cfg(feature = "demo")]
mod load;
#[cfg(feature = "demo")]
mod media;
#[cfg(feature = "demo")]
mod mediawiki;
#[cfg(feature = "demo")]
mod memory;
#[cfg(feature = "demo")]
mod oauth;
mod pki;
#[cfg(feature = "demo")]
mod routes;
mod sandbox;
#[cfg(feature = "demo")]
mod sentinel;
mod store;
mod tls;
