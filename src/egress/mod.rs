//! Egress: the only way out of the process. This first piece is the allowlist itself
//! ([`policy`]), read from the reviewed file `policy/egress.toml`, and the address rule applied
//! after DNS ([`address`]). The client that enforces both on every request builds on them.

pub mod address;
pub mod policy;
