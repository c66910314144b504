//! Cases as the store keeps them: an opaque identifier and a list of revisions that only grows.
//!
//! A correction, an outcome or a retraction is a new revision, never an overwrite. The
//! workflows (DMCA, child protection) put their own data in a revision's `payload`; this module
//! only fixes what every case has.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

/// A case's identifier: 128 random bits, shown as 32 hex digits. It reveals nothing about the
/// case, so it may appear in clear as a store key and in URLs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseId(pub [u8; 16]);

impl CaseId {
    /// A fresh random identifier.
    pub fn generate() -> Self {
        let mut bytes = [0; 16];
        // The system RNG failing means the kernel cannot give entropy; nothing secure can run.
        SystemRandom::new().fill(&mut bytes).expect("the system random number generator failed");
        Self(bytes)
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaseId({self})")
    }
}

impl FromStr for CaseId {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0; 16];
        hex::decode_to_slice(text, &mut bytes)
            .map_err(|_| format!("{text:?} is not a case ID; case IDs are 32 hex digits"))?;
        Ok(Self(bytes))
    }
}

impl Serialize for CaseId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for CaseId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Which workflow a case belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaseKind {
    /// A DMCA takedown request (granted, partially granted or denied).
    Dmca,
    /// A child-protection report to NCMEC.
    ChildProtection,
    /// A log entry that is not a workflow case (for example a release of information).
    Log,
}

impl CaseKind {
    /// Every workflow (the case log merges the ones a viewer may read).
    pub const ALL: [CaseKind; 3] = [CaseKind::Dmca, CaseKind::ChildProtection, CaseKind::Log];
}

/// Why a revision was added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// The first revision.
    Created,
    /// Typed data was corrected.
    Correction,
    /// A step of the workflow finished (submitted, posted, approved…).
    Outcome,
    /// A report or notice was retracted.
    Retraction,
    /// A free note.
    Note,
}

/// One revision of a case. Its `Debug` leaves the payload out: case data must never reach a
/// log line through a stray `{:?}`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    /// The case.
    pub case: CaseId,
    /// 1 for the first revision, then consecutive.
    pub number: u32,
    /// The workflow.
    pub kind: CaseKind,
    /// Why this revision exists.
    pub change: Change,
    /// When it was recorded (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who recorded it (a login, or `system`).
    pub author: String,
    /// The workflow's data for this revision.
    pub payload: serde_json::Value,
}

impl fmt::Debug for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revision")
            .field("case", &self.case)
            .field("number", &self.number)
            .field("kind", &self.kind)
            .field("change", &self.change)
            .field("at", &self.at)
            .field("author", &self.author)
            .field("payload", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids_are_random_and_round_trip_through_text_and_json() {
        let a = CaseId::generate();
        assert_ne!(a, CaseId::generate());
        assert_eq!(a.to_string().parse::<CaseId>().unwrap(), a);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<CaseId>(&json).unwrap(), a);
        assert!("xyz".parse::<CaseId>().is_err());
    }

    #[test]
    fn a_revisions_debug_output_never_shows_its_payload() {
        let revision = Revision {
            case: CaseId::generate(),
            number: 1,
            kind: CaseKind::ChildProtection,
            change: Change::Created,
            at: OffsetDateTime::UNIX_EPOCH,
            author: "cp-agent".into(),
            payload: serde_json::json!({ "checkuser": "203.0.113.7 secret" }),
        };
        let shown = format!("{revision:?}");
        assert!(shown.contains("cp-agent") && !shown.contains("203.0.113.7"), "{shown}");
    }
}
