//! The child-protection case as its revisions tell it: the report, its approval, and every
//! NCMEC submission as a journal of steps (submit, each upload and fileinfo, finish, retract),
//! each recorded as started before its request leaves and with its outcome after.
//!
//! A submission's state is folded from that journal alone, so a process that stopped mid-flow
//! leaves enough to act on at the next start: a report whose ID is known and that was neither
//! finished nor retracted is open, and is retracted (its images went with the old process). A
//! submit started without an outcome may have opened a report whose ID nobody knows: it is shown
//! as such, for the staffer to ask NCMEC.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::approval::Approval;
use super::model::{ChildReport, Environment};
use crate::cases::Revision;
use crate::dmca::lookup::{FileFacts, FileState};
use crate::dmca::steps::{StepRecord, StepStatus};

/// The payload key of the report (the case's first revision).
pub const REPORT: &str = "child_report";
/// The payload key of an approval decision.
pub const APPROVAL: &str = "cp_approval";
/// The payload key of an approver's decision on images whose SHA-1 differs from the wiki's
/// ([`super::approval::Sha1Waiver`]).
pub const SHA1_WAIVER: &str = "cp_sha1_waiver";
/// The payload key of an NCMEC journal entry.
pub const NCMEC: &str = "ncmec";
/// The payload key of the CRM step.
pub const CRM: &str = "cp_crm";
/// The payload key of a wiki action on a reported file.
pub const WIKI: &str = "cp_wiki";
/// The step of suppressing a file's old versions (followed by `:<file index>`).
pub const WIKI_SUPPRESS: &str = "suppress";
/// The step of deleting a file (followed by `:<file index>`).
pub const WIKI_DELETE: &str = "delete";

/// How long NCMEC keeps an unfinished report after it was opened, and after its last change
/// (protocols.md §2: it is deleted once both have passed).
pub const OPEN_FOR: time::Duration = time::Duration::hours(24);
/// See [`OPEN_FOR`].
pub const IDLE_FOR: time::Duration = time::Duration::hours(1);

/// One call of the NCMEC flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NcmecStep {
    /// `/submit`: opens the report.
    Submit,
    /// `/upload` of one file.
    Upload,
    /// `/fileinfo` of one file.
    FileInfo,
    /// `/finish`: files the report.
    Finish,
    /// `/retract`: cancels the unfinished report.
    Retract,
}

impl NcmecStep {
    /// How the case page names it.
    pub fn label(self) -> &'static str {
        match self {
            NcmecStep::Submit => "Open the report (submit)",
            NcmecStep::Upload => "Upload",
            NcmecStep::FileInfo => "File details (fileinfo)",
            NcmecStep::Finish => "File the report (finish)",
            NcmecStep::Retract => "Retract",
        }
    }
}

/// Where one call stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallStatus {
    /// About to leave (or left, and the process stopped before its answer).
    Started,
    /// NCMEC did it.
    Done,
    /// NCMEC did not do it.
    Failed,
    /// It may or may not have happened.
    Unknown,
}

/// What the wiki's own record says of a file's SHA-1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum WikiHash {
    /// A version of the file on the wiki (or in its deletion archive) has this SHA-1.
    Matches,
    /// The wiki has the file, but none of its versions has this SHA-1.
    Differs {
        /// The SHA-1s the wiki lists (hex).
        wiki: Vec<String>,
    },
    /// The comparison could not be made (no such file, the wiki did not answer, no wiki).
    Unchecked {
        /// Why, in plain words.
        why: String,
    },
}

impl WikiHash {
    /// Our SHA-1 (hex) against what the wiki says of the file (`None`: its answer did not
    /// cover it).
    pub fn compare(ours: &str, facts: Option<&FileFacts>) -> WikiHash {
        let Some(facts) = facts else {
            return WikiHash::Unchecked { why: "the wiki's answer did not cover this file".into() };
        };
        let wiki: Vec<String> = facts.versions.iter().filter_map(|v| v.sha1.clone()).collect();
        if wiki.iter().any(|sha1| sha1.eq_ignore_ascii_case(ours)) {
            WikiHash::Matches
        } else if wiki.is_empty() {
            let why = match facts.state {
                FileState::Live | FileState::Deleted => "the wiki hides this file's SHA-1".to_owned(),
                other => format!("the wiki has no record of it ({})", other.label()),
            };
            WikiHash::Unchecked { why }
        } else {
            WikiHash::Differs { wiki }
        }
    }
}

/// An earlier report of the same image, found through the keyed index of reported hashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorReport {
    /// The earlier case.
    pub case: String,
    /// Its CyberTipline report ID, if it was filed.
    pub report_id: Option<u64>,
}

/// One image as sent: names, size and hashes, never its bytes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentFile {
    /// The wiki's name for it (the report's file row).
    pub wiki_name: String,
    /// The name of the file the staffer uploaded.
    pub original_name: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-1, hex.
    pub sha1: String,
    /// MD5, hex.
    pub md5: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// The comparison with the wiki's SHA-1.
    pub wiki_hash: WikiHash,
    /// Earlier reports of the same image.
    #[serde(default)]
    pub prior: Vec<PriorReport>,
}

impl std::fmt::Debug for SentFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentFile").field("size", &self.size).finish_non_exhaustive()
    }
}

/// One journal entry: `{"ncmec": {...}}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NcmecRecord {
    /// Which submission of the case (1, 2, … — a retracted one may be followed by another).
    pub attempt: u32,
    /// Where it goes; every call of a submission uses the same.
    pub environment: Environment,
    /// The call.
    pub step: NcmecStep,
    /// Where it stands.
    pub status: CallStatus,
    /// The file (an index into the submission's files), for upload and fileinfo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<usize>,
    /// The report ID (known from the submit's answer on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_id: Option<u64>,
    /// NCMEC's file ID, from the upload's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// NCMEC's `responseCode`, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_code: Option<i64>,
    /// In plain words, for the case page (no case data).
    pub detail: String,
    /// The files, on the submission's first entry (journaled before anything is sent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<SentFile>,
}

impl std::fmt::Debug for NcmecRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NcmecRecord")
            .field("attempt", &self.attempt)
            .field("step", &self.step)
            .field("status", &self.status)
            .field("file", &self.file)
            .field("report_id", &self.report_id)
            .field("response_code", &self.response_code)
            .finish_non_exhaustive()
    }
}

impl NcmecRecord {
    /// An entry of `attempt` to `environment`.
    pub fn new(
        attempt: u32,
        environment: Environment,
        step: NcmecStep,
        status: CallStatus,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            attempt,
            environment,
            step,
            status,
            file: None,
            report_id: None,
            file_id: None,
            response_code: None,
            detail: detail.into(),
            files: Vec::new(),
        }
    }

    /// The revision payload.
    pub fn payload(&self) -> serde_json::Value {
        serde_json::json!({ NCMEC: self })
    }
}

/// Where a submission stands, folded from its journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmissionState {
    /// The submit was started and its answer never recorded: NCMEC may hold a report whose ID
    /// is unknown here.
    SubmitUnknown,
    /// NCMEC opened no report (the submit failed).
    NotOpened,
    /// The report is open at NCMEC: not finished, not retracted.
    Open(u64),
    /// Filed with NCMEC.
    Filed(u64),
    /// Retracted (or gone: NCMEC no longer knows it).
    Retracted(u64),
}

/// One submission to NCMEC.
#[derive(Clone, Debug)]
pub struct Submission {
    /// Its number within the case.
    pub attempt: u32,
    /// Where it went.
    pub environment: Environment,
    /// The files, as journaled before the submit.
    pub files: Vec<SentFile>,
    /// Each entry with when it was recorded, in order.
    pub entries: Vec<(OffsetDateTime, NcmecRecord)>,
    /// Where it stands.
    pub state: SubmissionState,
    /// When the report was opened, and last changed (for NCMEC's expiry).
    pub opened_at: Option<OffsetDateTime>,
    /// The last upload or fileinfo NCMEC confirmed.
    pub changed_at: Option<OffsetDateTime>,
}

impl Submission {
    /// The report ID, once known.
    pub fn report_id(&self) -> Option<u64> {
        match self.state {
            SubmissionState::Open(id) | SubmissionState::Filed(id) | SubmissionState::Retracted(id) => {
                Some(id)
            }
            SubmissionState::SubmitUnknown | SubmissionState::NotOpened => None,
        }
    }

    /// Each file's NCMEC file ID, once uploaded.
    pub fn file_ids(&self) -> Vec<Option<String>> {
        let mut ids = vec![None; self.files.len()];
        for (_, entry) in &self.entries {
            if entry.step == NcmecStep::Upload
                && entry.status == CallStatus::Done
                && let (Some(index), Some(id)) = (entry.file, &entry.file_id)
                && let Some(slot) = ids.get_mut(index)
            {
                *slot = Some(id.clone());
            }
        }
        ids
    }

    /// When NCMEC deletes the report if it stays unfinished (the later of 24 hours after it
    /// was opened and 1 hour after its last change).
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        let opened = self.opened_at?;
        let changed = self.changed_at.unwrap_or(opened);
        Some((opened + OPEN_FOR).max(changed + IDLE_FOR))
    }

    fn fold(attempt: u32, entries: Vec<(OffsetDateTime, NcmecRecord)>) -> Submission {
        let environment = entries.first().map(|(_, e)| e.environment).unwrap_or_default();
        let files = entries.iter().find(|(_, e)| !e.files.is_empty()).map(|(_, e)| e.files.clone());
        let mut state = SubmissionState::NotOpened;
        let (mut opened_at, mut changed_at) = (None, None);
        for (at, entry) in &entries {
            state = match (entry.step, entry.status, &state) {
                (NcmecStep::Submit, CallStatus::Done, _) => match entry.report_id {
                    Some(id) => {
                        opened_at = Some(*at);
                        SubmissionState::Open(id)
                    }
                    None => SubmissionState::SubmitUnknown,
                },
                (NcmecStep::Submit, CallStatus::Failed, _) => SubmissionState::NotOpened,
                (NcmecStep::Submit, _, _) => SubmissionState::SubmitUnknown,
                (NcmecStep::Upload | NcmecStep::FileInfo, CallStatus::Done, SubmissionState::Open(_)) => {
                    changed_at = Some(*at);
                    state.clone()
                }
                (NcmecStep::Finish, CallStatus::Done, SubmissionState::Open(id)) => {
                    SubmissionState::Filed(*id)
                }
                (NcmecStep::Retract, CallStatus::Done, SubmissionState::Open(id)) => {
                    match entry.response_code {
                        // NCMEC says the report was already filed: the finish went through.
                        Some(5102) => SubmissionState::Filed(*id),
                        _ => SubmissionState::Retracted(*id),
                    }
                }
                _ => state.clone(),
            };
        }
        Submission {
            attempt,
            environment,
            files: files.unwrap_or_default(),
            entries,
            state,
            opened_at,
            changed_at,
        }
    }
}

/// A child-protection case as its revisions tell it.
#[derive(Clone, Debug)]
pub struct ChildCase {
    /// The report as recorded.
    pub report: ChildReport,
    /// Who prepared it (the case's creator).
    pub preparer: String,
    /// Where its approval stands.
    pub approval: Approval,
    /// Every submission to NCMEC, in order.
    pub submissions: Vec<Submission>,
    /// The Salesforce step's latest record.
    pub crm: Option<StepRecord>,
    /// The latest record of each wiki step (`suppress:<i>`, `delete:<i>`), by step.
    pub wiki: BTreeMap<String, StepRecord>,
}

impl ChildCase {
    /// Folds a case's revisions; `None` if the first is not a child-protection report.
    pub fn from_revisions(revisions: &[Revision]) -> Option<ChildCase> {
        let first = revisions.first()?;
        let report: ChildReport = serde_json::from_value(first.payload.get(REPORT)?.clone()).ok()?;
        let mut approval = Approval::Pending;
        let mut entries: Vec<(OffsetDateTime, NcmecRecord)> = Vec::new();
        let (mut crm, mut wiki) = (None, BTreeMap::new());
        for revision in &revisions[1..] {
            if let Some(value) = revision.payload.get(APPROVAL)
                && let Ok(decided) = serde_json::from_value(value.clone())
            {
                approval = decided;
            }
            if let Some(value) = revision.payload.get(NCMEC)
                && let Ok(record) = serde_json::from_value::<NcmecRecord>(value.clone())
            {
                entries.push((revision.at, record));
            }
            if let Some(value) = revision.payload.get(CRM)
                && let Ok(record) = serde_json::from_value::<StepRecord>(value.clone())
            {
                crm = Some(record);
            }
            if let Some(value) = revision.payload.get(WIKI)
                && let Ok(record) = serde_json::from_value::<StepRecord>(value.clone())
            {
                wiki.insert(record.step.clone(), record);
            }
        }
        let attempts: BTreeSet<u32> = entries.iter().map(|(_, e)| e.attempt).collect();
        let submissions = attempts
            .into_iter()
            .map(|attempt| {
                let mine = entries.iter().filter(|(_, e)| e.attempt == attempt).cloned().collect();
                Submission::fold(attempt, mine)
            })
            .collect();
        Some(ChildCase { report, preparer: first.author.clone(), approval, submissions, crm, wiki })
    }

    /// The submission that blocks a new one, if any: one open, filed, or whose submit's fate is
    /// unknown.
    pub fn blocking_submission(&self) -> Option<&Submission> {
        self.submissions.iter().find(|s| {
            matches!(
                s.state,
                SubmissionState::Open(_) | SubmissionState::Filed(_) | SubmissionState::SubmitUnknown
            )
        })
    }

    /// The submissions still open at NCMEC (to be retracted).
    pub fn open_submissions(&self) -> impl Iterator<Item = &Submission> {
        self.submissions.iter().filter(|s| matches!(s.state, SubmissionState::Open(_)))
    }

    /// The filed report, if any.
    pub fn filed_report(&self) -> Option<u64> {
        self.submissions.iter().find_map(|s| match s.state {
            SubmissionState::Filed(id) => Some(id),
            _ => None,
        })
    }

    /// Whether the report's file `index` was deleted on the wiki.
    pub fn deleted_on_wiki(&self, index: usize) -> bool {
        self.wiki.get(&format!("{WIKI_DELETE}:{index}")).is_some_and(|r| r.status == StepStatus::Done)
    }

    /// The number the next submission takes.
    pub fn next_attempt(&self) -> u32 {
        self.submissions.iter().map(|s| s.attempt).max().unwrap_or(0) + 1
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cases::{CaseId, CaseKind, Change};

    pub(crate) fn revision(number: u32, minutes: i64, payload: serde_json::Value) -> Revision {
        Revision {
            case: CaseId([7; 16]),
            number,
            kind: CaseKind::ChildProtection,
            change: if number == 1 { Change::Created } else { Change::Outcome },
            at: OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(minutes),
            author: if number == 1 { "cp-agent".into() } else { "approver".into() },
            payload,
        }
    }

    fn entry(step: NcmecStep, status: CallStatus, report_id: Option<u64>) -> NcmecRecord {
        let mut record = NcmecRecord::new(1, Environment::Test, step, status, "x");
        record.report_id = report_id;
        record
    }

    fn case_with(entries: &[NcmecRecord]) -> ChildCase {
        let report = super::super::form::tests::filled_report();
        let mut revisions = vec![revision(1, 0, serde_json::json!({ REPORT: report }))];
        for (i, e) in entries.iter().enumerate() {
            revisions.push(revision(i as u32 + 2, i as i64 + 1, e.payload()));
        }
        ChildCase::from_revisions(&revisions).unwrap()
    }

    #[test]
    fn a_report_opened_and_never_finished_or_retracted_is_open_and_expires() {
        let case = case_with(&[
            entry(NcmecStep::Submit, CallStatus::Started, None),
            entry(NcmecStep::Submit, CallStatus::Done, Some(42)),
            entry(NcmecStep::Upload, CallStatus::Started, Some(42)),
        ]);
        let open: Vec<u64> = case.open_submissions().filter_map(Submission::report_id).collect();
        assert_eq!(open, [42]);
        assert!(case.blocking_submission().is_some());
        let opened = OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(2);
        assert_eq!(case.submissions[0].expires_at(), Some(opened + OPEN_FOR));
    }

    #[test]
    fn retraction_closes_a_report_and_5102_means_it_was_filed() {
        let mut retracted = entry(NcmecStep::Retract, CallStatus::Done, Some(42));
        retracted.response_code = Some(0);
        let case = case_with(&[entry(NcmecStep::Submit, CallStatus::Done, Some(42)), retracted.clone()]);
        assert_eq!(case.submissions[0].state, SubmissionState::Retracted(42));
        assert!(case.blocking_submission().is_none(), "a retracted report may be submitted again");
        assert_eq!(case.next_attempt(), 2);
        retracted.response_code = Some(5102);
        let case = case_with(&[entry(NcmecStep::Submit, CallStatus::Done, Some(42)), retracted]);
        assert_eq!(case.submissions[0].state, SubmissionState::Filed(42));
        assert_eq!(case.filed_report(), Some(42));
    }

    #[test]
    fn a_submit_without_an_answer_is_unknown_and_blocks_another() {
        let case = case_with(&[entry(NcmecStep::Submit, CallStatus::Started, None)]);
        assert_eq!(case.submissions[0].state, SubmissionState::SubmitUnknown);
        assert!(case.blocking_submission().is_some());
        assert_eq!(case.open_submissions().count(), 0, "nothing to retract without an ID");
        let case = case_with(&[entry(NcmecStep::Submit, CallStatus::Failed, None)]);
        assert_eq!(case.submissions[0].state, SubmissionState::NotOpened);
        assert!(case.blocking_submission().is_none());
    }

    #[test]
    fn a_record_prints_no_file_names_or_hashes() {
        let mut record = entry(NcmecStep::Submit, CallStatus::Started, None);
        record.files = vec![SentFile {
            wiki_name: "wiki-sentinel.jpg".into(),
            original_name: "name-sentinel.jpg".into(),
            size: 3,
            sha1: "sha1-sentinel".into(),
            md5: "md5-sentinel".into(),
            sha256: "sha256-sentinel".into(),
            wiki_hash: WikiHash::Matches,
            prior: Vec::new(),
        }];
        let shown = format!("{record:?} {:?}", record.files);
        assert!(!shown.contains("sentinel"), "{shown}");
    }

    #[test]
    fn our_sha1_is_compared_with_every_version_the_wiki_shows() {
        use crate::dmca::lookup::VersionFacts;
        let version = |sha1: Option<&str>| VersionFacts {
            uploaded: None,
            uploader: None,
            sha1: sha1.map(str::to_owned),
            hidden: sha1.is_none(),
        };
        let facts = |state, versions| FileFacts {
            name: "A.jpg".into(),
            wiki: "commons.wikimedia.org".into(),
            state,
            versions,
            note: String::new(),
        };
        let two = facts(FileState::Live, vec![version(Some("aa11")), version(Some("bb22"))]);
        assert_eq!(WikiHash::compare("BB22", Some(&two)), WikiHash::Matches, "any version, any case");
        assert_eq!(
            WikiHash::compare("cc33", Some(&two)),
            WikiHash::Differs { wiki: vec!["aa11".into(), "bb22".into()] }
        );
        let hidden = facts(FileState::Deleted, vec![version(None)]);
        assert!(
            matches!(WikiHash::compare("cc33", Some(&hidden)), WikiHash::Unchecked { why } if why.contains("hides"))
        );
        let missing = facts(FileState::NotFound, Vec::new());
        assert!(
            matches!(WikiHash::compare("cc33", Some(&missing)), WikiHash::Unchecked { why } if why.contains("no record"))
        );
        assert!(matches!(WikiHash::compare("cc33", None), WikiHash::Unchecked { .. }));
    }
}
