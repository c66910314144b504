//! The DMCA takedown workflow: the request as typed and as checked, what it becomes for Lumen,
//! Salesforce and the wikis, and the saga that sends it and records each step.
//!
//! - [`model`]: the checked request ([`model::Takedown`]) as the case stores it.
//! - [`form`]: the form as typed, and the server-side check with errors per field.
//! - [`lookup`]: what the wiki says about the affected files and their uploaders.
//! - [`sites`]: the wikis the form offers (the meta wiki's site matrix, cached a day).
//! - [`outbound`]: the Lumen notice and the Salesforce Case fields (pure).
//! - [`notices`]: the four wiki notices in escaped wikitext (pure).
//! - [`edits`]: a staffer's edit of a prepared notice, line by line (pure).
//! - [`steps`]: each step's record and the state folded from a case's revisions.
//! - [`shelf`]: supporting documents held in locked memory between requests.
//! - [`saga`]: runs the steps, recording each before and after its call.

pub mod edits;
pub mod form;
pub mod lookup;
pub mod model;
pub mod notices;
pub mod outbound;
pub mod saga;
pub mod shelf;
pub mod sites;
pub mod steps;
