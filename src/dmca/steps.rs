//! The saga's record: each external step of a DMCA case (Lumen, the Salesforce case, each wiki
//! notice) as a sequence of outcome revisions, and the current state folded from them.
//!
//! A step is recorded as *started* before its request leaves, and as done, failed, unknown or
//! skipped after. A start with no outcome after it means the process stopped mid-call: the
//! request may or may not have arrived, so the step shows as unknown and is repeated only on
//! an explicit confirmation. Nothing is ever overwritten; the case page shows the history.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::model::Takedown;
use super::notices::NoticeKind;
use super::outbound::Marks;
use crate::cases::Revision;

/// The key of the Lumen step.
pub const LUMEN: &str = "lumen";
/// The key of the Salesforce step.
pub const SALESFORCE: &str = "salesforce";
/// The prefix of a wiki notice's step key (followed by the notice's key).
pub const NOTICE_PREFIX: &str = "notice:";

/// Where a step stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    /// The request is about to leave (or left, and the process stopped before its answer).
    Started,
    /// The service did it; `link` says where.
    Done,
    /// The service did not do it; safe to try again.
    Failed,
    /// It may or may not have been done: look before trying again.
    Unknown,
    /// Not done, on purpose (not chosen, or not applicable).
    Skipped,
}

/// One outcome revision's payload: `{"dmca_step": {...}}`. Its `Debug` leaves out the details,
/// the posted text and the service's messages, which may quote case data.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// `lumen`, `salesforce`, `notice:<key>`.
    pub step: String,
    /// What happened.
    pub status: StepStatus,
    /// In plain words, for the case page (never a secret; no quoted case data from services).
    pub detail: String,
    /// The Lumen notice, the Salesforce case, the wiki revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// A wiki revision's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// The wikitext as posted (notices are editable; the case keeps what went out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The wikitext as prepared, kept only when the staffer's edit (`text`) differs from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared: Option<String>,
    /// The fields the service refused, in its own names (Lumen's 422): the correction form
    /// shows each next to the field it came from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused_fields: Vec<RefusedField>,
}

/// A field a service refused, as it named it, with its reason (which may quote the value).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedField {
    /// The service's name for it (`title`, `entity_notice_roles.entity.name`).
    pub field: String,
    /// Its reason, as it wrote it (`can't be blank`).
    pub message: String,
}

impl std::fmt::Debug for StepRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepRecord")
            .field("step", &self.step.split(':').next().unwrap_or_default())
            .field("status", &self.status)
            .field("link", &self.link.is_some())
            .field("revision", &self.revision)
            .field("edited", &self.prepared.is_some())
            .field("refused_fields", &self.refused_fields)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RefusedField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefusedField").field("field", &self.field).finish_non_exhaustive()
    }
}

impl StepRecord {
    /// A record of `step` with `status` and `detail`.
    pub fn new(step: &str, status: StepStatus, detail: impl Into<String>) -> Self {
        Self {
            step: step.to_owned(),
            status,
            detail: detail.into(),
            link: None,
            revision: None,
            text: None,
            prepared: None,
            refused_fields: Vec::new(),
        }
    }

    /// The payload of the outcome revision that records it.
    pub fn payload(&self) -> serde_json::Value {
        serde_json::json!({ "dmca_step": self })
    }
}

/// A DMCA case as its revisions tell it.
#[derive(Clone, Debug)]
pub struct DmcaCase {
    /// The takedown as last recorded (corrections replace it).
    pub takedown: Takedown,
    /// Each step's latest record, by key.
    pub steps: BTreeMap<String, StepRecord>,
    /// Each step's earlier records with when they were recorded, oldest first.
    pub history: BTreeMap<String, Vec<(OffsetDateTime, StepRecord)>>,
    /// When each step's latest record was recorded.
    pub recorded_at: BTreeMap<String, OffsetDateTime>,
}

/// An earlier try at a step that did not succeed and was followed by another.
#[derive(Clone, Copy, Debug)]
pub struct EarlierAttempt<'c> {
    /// When its outcome (or, for an interrupted one, its start) was recorded.
    pub at: OffsetDateTime,
    /// Its record.
    pub record: &'c StepRecord,
    /// It started and the next try started without an outcome recorded between: the process
    /// stopped mid-call, so it may or may not have been done.
    pub interrupted: bool,
}

impl DmcaCase {
    /// Folds a case's revisions; `None` if the first is not a DMCA takedown.
    pub fn from_revisions(revisions: &[Revision]) -> Option<DmcaCase> {
        let mut takedown: Option<Takedown> = None;
        let mut steps: BTreeMap<String, StepRecord> = BTreeMap::new();
        let mut history: BTreeMap<String, Vec<(OffsetDateTime, StepRecord)>> = BTreeMap::new();
        let mut recorded_at: BTreeMap<String, OffsetDateTime> = BTreeMap::new();
        for revision in revisions {
            if let Some(value) = revision.payload.get("dmca") {
                takedown = Some(serde_json::from_value(value.clone()).ok()?);
            }
            if let Some(value) = revision.payload.get("dmca_step")
                && let Ok(record) = serde_json::from_value::<StepRecord>(value.clone())
            {
                let step = record.step.clone();
                let previous_at = recorded_at.insert(step.clone(), revision.at);
                if let (Some(previous), Some(at)) = (steps.insert(step.clone(), record), previous_at) {
                    history.entry(step).or_default().push((at, previous));
                }
            }
        }
        Some(DmcaCase { takedown: takedown?, steps, history, recorded_at })
    }

    /// The tries at `step` before its latest that did not succeed and were tried again,
    /// oldest first: a failure, an unknown outcome, or a start the next start followed without
    /// an outcome. A start followed by its own outcome is not a try of its own, and an earlier
    /// success (a Salesforce case updated since) is no failed try.
    pub fn earlier_attempts(&self, step: &str) -> Vec<EarlierAttempt<'_>> {
        let earlier = self.history.get(step).map(Vec::as_slice).unwrap_or_default();
        let latest = self.steps.get(step);
        earlier
            .iter()
            .enumerate()
            .filter_map(|(i, (at, record))| {
                let next = earlier.get(i + 1).map(|(_, r)| r).or(latest);
                let interrupted = record.status == StepStatus::Started
                    && next.is_some_and(|n| n.status == StepStatus::Started);
                let failed = matches!(record.status, StepStatus::Failed | StepStatus::Unknown);
                (failed || interrupted).then_some(EarlierAttempt { at: *at, record, interrupted })
            })
            .collect()
    }

    /// Where `step` stands: a start without an outcome is unknown.
    pub fn status(&self, step: &str) -> Option<StepStatus> {
        self.steps.get(step).map(|record| match record.status {
            StepStatus::Started => StepStatus::Unknown,
            other => other,
        })
    }

    /// Whether `step` may be run now: never run, failed, or (with `confirmed`) unknown. The
    /// Salesforce step may always run again unless it was skipped: it is an upsert by the case
    /// ID, so running it again updates the same Case.
    pub fn may_run(&self, step: &str, confirmed: bool) -> Result<(), &'static str> {
        if step == SALESFORCE && self.status(step) != Some(StepStatus::Skipped) {
            return Ok(());
        }
        match self.status(step) {
            None | Some(StepStatus::Failed) => Ok(()),
            Some(StepStatus::Unknown) if confirmed => Ok(()),
            Some(StepStatus::Unknown) => {
                Err("this step may already have been done; check the service, then confirm to send it again")
            }
            Some(StepStatus::Done) => Err("this step is already done; doing it again would duplicate it"),
            Some(StepStatus::Skipped) => Err("this step was skipped for this case"),
            Some(StepStatus::Started) => Err("this step is running"),
        }
    }

    /// What the Lumen and wiki steps left for the CRM case: the notice's URL, and each posted
    /// notice's page and revision.
    pub fn marks(&self) -> Marks {
        Marks {
            lumen_url: self.lumen_url().map(str::to_owned),
            wiki_revisions: self
                .steps
                .values()
                .filter(|r| r.status == StepStatus::Done)
                .filter_map(|r| {
                    let kind = NoticeKind::from_key(r.step.strip_prefix(NOTICE_PREFIX)?)?;
                    Some((kind.label(), r.detail.clone(), r.revision?))
                })
                .collect(),
        }
    }

    /// The Lumen notice's URL, once filed.
    pub fn lumen_url(&self) -> Option<&str> {
        self.steps.get(LUMEN).filter(|r| r.status == StepStatus::Done).and_then(|r| r.link.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::{CaseId, CaseKind, Change};

    fn revision(number: u32, payload: serde_json::Value) -> Revision {
        Revision {
            case: CaseId([1; 16]),
            number,
            kind: CaseKind::Dmca,
            change: if number == 1 { Change::Created } else { Change::Outcome },
            at: OffsetDateTime::UNIX_EPOCH,
            author: "dmca-agent".into(),
            payload,
        }
    }

    #[test]
    fn a_start_without_an_outcome_is_unknown_and_runs_again_only_when_confirmed() {
        let takedown = crate::dmca::outbound::tests::takedown();
        let started = StepRecord::new(LUMEN, StepStatus::Started, "sending");
        let failed = StepRecord::new(SALESFORCE, StepStatus::Failed, "down");
        let revisions = [
            revision(1, serde_json::json!({ "dmca": takedown })),
            revision(2, started.payload()),
            revision(3, failed.payload()),
        ];
        let case = DmcaCase::from_revisions(&revisions).unwrap();
        assert_eq!(case.status(LUMEN), Some(StepStatus::Unknown));
        assert!(case.may_run(LUMEN, false).is_err() && case.may_run(LUMEN, true).is_ok());
        assert!(case.may_run(SALESFORCE, false).is_ok());
        assert!(case.marks().lumen_url.is_none());
        assert!(case.may_run("notice:village-pump", false).is_ok());
        let mut done = StepRecord::new(LUMEN, StepStatus::Done, "filed");
        done.link = Some("https://lumen.example/notices/1".into());
        let revisions = [revisions[0].clone(), revisions[1].clone(), revision(3, done.payload())];
        let case = DmcaCase::from_revisions(&revisions).unwrap();
        assert!(case.may_run(LUMEN, true).is_err(), "a done step never runs again");
        assert_eq!(case.lumen_url(), Some("https://lumen.example/notices/1"));
        assert_eq!(case.history[LUMEN].len(), 1);
        assert!(case.earlier_attempts(LUMEN).is_empty(), "its own start is not an earlier attempt");
    }

    #[test]
    fn only_failed_unknown_or_interrupted_tries_followed_by_another_are_earlier_attempts() {
        let takedown = crate::dmca::outbound::tests::takedown();
        let record = |step: &str, status, detail: &str| StepRecord::new(step, status, detail).payload();
        let revisions = [
            revision(1, serde_json::json!({ "dmca": takedown })),
            // Salesforce: created, then updated: no failed try.
            revision(2, record(SALESFORCE, StepStatus::Started, "creating")),
            revision(3, record(SALESFORCE, StepStatus::Done, "created")),
            revision(4, record(SALESFORCE, StepStatus::Started, "updating")),
            revision(5, record(SALESFORCE, StepStatus::Done, "updated")),
            // Lumen: no answer, interrupted, then done.
            revision(6, record(LUMEN, StepStatus::Started, "sending")),
            revision(7, record(LUMEN, StepStatus::Unknown, "HTTP 500: check Lumen")),
            revision(8, record(LUMEN, StepStatus::Started, "sending again")),
            revision(9, record(LUMEN, StepStatus::Started, "sending a third time")),
            revision(10, record(LUMEN, StepStatus::Done, "Lumen notice 7")),
            // A notice: failed, then failed again (the latest is no earlier attempt).
            revision(11, record("notice:village-pump", StepStatus::Started, "posting")),
            revision(12, record("notice:village-pump", StepStatus::Failed, "protected page")),
            revision(13, record("notice:village-pump", StepStatus::Started, "posting")),
            revision(14, record("notice:village-pump", StepStatus::Failed, "still protected")),
        ];
        let case = DmcaCase::from_revisions(&revisions).unwrap();
        assert!(case.earlier_attempts(SALESFORCE).is_empty());
        let lumen: Vec<(&str, bool)> =
            case.earlier_attempts(LUMEN).iter().map(|a| (a.record.detail.as_str(), a.interrupted)).collect();
        assert_eq!(lumen, [("HTTP 500: check Lumen", false), ("sending again", true)]);
        let notice: Vec<&str> =
            case.earlier_attempts("notice:village-pump").iter().map(|a| a.record.detail.as_str()).collect();
        assert_eq!(notice, ["protected page"]);
    }

    #[test]
    fn a_step_record_prints_no_detail_text_or_message() {
        let mut record =
            StepRecord::new("notice:user-talk:Uploader-sentinel", StepStatus::Failed, "detail-sentinel");
        record.text = Some("text-sentinel".into());
        record.refused_fields =
            vec![RefusedField { field: "title".into(), message: "'message-sentinel' is taken".into() }];
        let shown = format!("{record:?}");
        assert!(!shown.contains("sentinel"), "{shown}");
        assert!(shown.contains("Failed") && shown.contains("title"), "{shown}");
    }
}
