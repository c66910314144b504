//! The child-protection workflow: the report as typed and as checked. Still being built
//! (issue 7): approval by a second person, images in locked memory, the NCMEC saga with
//! automatic retraction, the retraction page, the CRM case and optional suppression.
//!
//! - [`approval`]: who released a report (a second person, or a recorded out-of-band approval).
//! - [`model`]: the checked report ([`model::ChildReport`]) as the case stores it.
//! - [`form`]: the form as typed, and the server-side check with errors per field.

pub mod approval;
pub mod form;
pub mod journal;
pub mod model;
pub mod outbound;
pub mod saga;
