//! The four external services. Each has a pure wire module (`build_*` functions that return a
//! [`crate::egress::wire::WireRequest`], `parse_*` functions that read a
//! [`crate::egress::wire::WireResponse`]: bytes in, a typed value or a typed error out, no I/O,
//! no clock) and a thin client that sends through the egress client ([`call`] is what the clients
//! share). [`clients`] builds the configured ones at start and runs the background check whose
//! results the home page shows ([`status`]).

pub mod call;
pub mod clients;
pub mod lumen;
pub mod ncmec;
pub mod salesforce;
pub mod status;
pub mod wiki;
