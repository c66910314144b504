//! The child-protection workflow: a report of child sexual abuse material to NCMEC's
//! CyberTipline, released only once a second person approves, with the images held in locked
//! memory for the one request that sends them.
//!
//! - [`model`]: the checked report ([`model::ChildReport`]) as the case stores it.
//! - [`form`]: the form as typed, and the server-side check with errors per field.
//! - [`approval`]: who released a report (a second person, or a recorded out-of-band approval).
//! - [`journal`]: the case's NCMEC journal, folded into submissions (open, filed, retracted).
//! - [`outbound`]: the `<report>`, each `<fileDetails>` and the CRM fields (pure).
//! - [`held`]: images held in locked memory after a SHA-1 mismatch, until an approver other
//!   than the preparer and the sender confirms or refuses them, the sender discards them, or
//!   they expire.
//! - [`saga`]: sends a report step by step, journaling each call, retracting on failure; the
//!   start-up sweep and the watchdog; deletion and suppression on the wiki.

pub mod approval;
pub mod form;
pub mod held;
pub mod journal;
pub mod model;
pub mod outbound;
pub mod saga;
