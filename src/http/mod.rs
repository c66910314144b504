//! The HTTP side: accepting mTLS connections, checking each request, routing it to a page.
//!
//! - [`server`]: the accept loop, connection cap, timeouts, graceful shutdown.
//! - [`pipeline`]: the checks every request passes, in order (certificate, identity, same-origin,
//!   body size, CSRF, route, role).
//! - [`handlers`]: what each page does once a request is allowed; [`case_handlers`] for the
//!   case pages.
//! - [`router`]: the route table with each route's access rule.
//! - [`error`], [`headers`], [`csrf`], [`limits`]: the pieces those share.

mod audit_handlers;
pub mod case_handlers;
mod child_protection_handlers;
pub mod csrf;
mod dmca_handlers;
pub mod error;
pub mod handlers;
pub mod headers;
pub mod limits;
#[cfg(feature = "demo")]
mod media_handlers;
pub mod pipeline;
pub mod refusals;
pub mod router;
pub mod server;
pub mod wiki_handlers;
