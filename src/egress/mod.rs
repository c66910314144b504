//! Egress: the only way out of the process.
//!
//! | piece | module |
//! |---|---|
//! | the allowlist, read from the reviewed file `policy/egress.toml` | [`policy`] |
//! | which addresses count as the public internet | [`address`] |
//! | DNS with that rule applied to every answer | [`resolve`] |
//! | the request/response shapes the pure API modules build and parse | [`wire`] |
//! | the one client that sends, enforcing all of the above and auditing each call | [`client`] |

pub mod address;
pub mod client;
pub mod policy;
pub mod resolve;
pub mod wire;
