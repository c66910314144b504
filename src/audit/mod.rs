//! The audit log: what every person (and the appliance itself) did, encrypted and chained.
//!
//! An [`AuditEntry`] is serialised to JSON, encrypted like every other value, and appended
//! under the next sequence number together with its chain link ([`chain`]). The entry is written
//! in the same transaction as the action it records, so an action whose audit entry cannot be
//! written does not happen.

pub mod chain;
pub mod checkpoint;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cases::CaseId;

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "name")]
pub enum Actor {
    /// A staff member, by login.
    Staff(String),
    /// Someone whose certificate is valid but not on the roster, by certificate fingerprint.
    Unrostered(String),
    /// An operator at the command line, by the Unix user name running the command.
    Operator(String),
    /// The appliance itself (start-up, scheduled work).
    System,
}

/// What was done. The names are stable codes: auditors filter on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A request was refused (role, roster, CSRF, cross-site, revoked certificate).
    AccessDenied,
    /// A case page was viewed.
    ViewCase,
    /// A case was created.
    CreateCase,
    /// A revision (correction, outcome, note) was added to a case.
    ReviseCase,
    /// Something was submitted to an external service.
    Submit,
    /// Something was posted to a wiki.
    Post,
    /// A report was retracted.
    Retract,
    /// Cases were exported for lawyers.
    Export,
    /// The store's keys were rotated.
    RotateKeys,
    /// An outbound call to an external service.
    EgressCall,
    /// A staff member connected (or tried to connect) their wiki account by OAuth.
    ConnectWiki,
    /// Media were uploaded into the appliance's memory.
    UploadMedia,
    /// The store's layout was upgraded (its entry commits what the upgrade found).
    UpgradeStore,
    /// The audit log was viewed (`/audit`).
    ViewAudit,
}

/// How it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// It happened.
    Done,
    /// It was not allowed.
    Refused,
    /// It was attempted and failed.
    Failed,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Staff(login) => write!(f, "staff:{login}"),
            Actor::Unrostered(fingerprint) => write!(f, "unrostered:{fingerprint}"),
            Actor::Operator(user) => write!(f, "operator:{user}"),
            Actor::System => f.write_str("system"),
        }
    }
}

/// The stable code of an enum serialised as a kebab-case string (`access-denied`, `done`).
pub fn code<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(code)) => code,
        _ => "?".to_owned(),
    }
}

/// One audit entry, as encrypted into the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who.
    pub actor: Actor,
    /// What.
    pub action: Action,
    /// Which case, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseId>,
    /// How it ended.
    pub outcome: Outcome,
    /// A short description (never a request body or case content).
    pub details: String,
}

/// Longest `details` kept; longer text is cut, so an entry stays a line, not a document.
pub const MAX_DETAILS_CHARS: usize = 500;

impl AuditEntry {
    /// An entry stamped now, with `details` cut to [`MAX_DETAILS_CHARS`].
    pub fn now(
        actor: Actor,
        action: Action,
        case: Option<CaseId>,
        outcome: Outcome,
        details: impl Into<String>,
    ) -> Self {
        let mut details = details.into();
        if let Some((cut, _)) = details.char_indices().nth(MAX_DETAILS_CHARS) {
            details.truncate(cut);
        }
        Self { at: OffsetDateTime::now_utc(), actor, action, case, outcome, details }
    }
}
