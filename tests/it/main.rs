//! The one integration-test binary: each module is a scenario against the real daemon, started
//! as a child process on port 0 with a freshly generated PKI.

// A test binary is not a library: `pub` here only shares items between its modules.
#![allow(unreachable_pub, missing_docs)]
// Helpers shared by tests panic on setup failures by design.
#![allow(clippy::unwrap_used)]

mod access;
mod cases;
mod config;
mod corpus;
#[cfg(feature = "demo")]
mod demo;
mod forms;
mod harness;
mod lifecycle;
mod limits;
mod store;
mod tls;
