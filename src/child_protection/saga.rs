//! Sends an approved report to NCMEC as a saga: every call is journaled in the case (with its
//! audit entry, in one durable transaction) before its request leaves, and its outcome after.
//! Any failure once the report is open retracts it at once; a report left open by a process
//! that stopped is retracted by [`sweep`] at the next start, and again by the watchdog while
//! NCMEC would still keep it.
//!
//! The images come from the request's locked upload and go out as locked copies, one at a
//! time; nothing here keeps, logs or prints a byte of them.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::approval::{Approval, Sha1Waiver, WaiverDecision};
use super::journal::{
    APPROVAL, CRM, CallStatus, ChildCase, NcmecRecord, NcmecStep, REPORT, SHA1_WAIVER, SentFile, Submission,
    SubmissionState, WIKI, WIKI_DELETE, WIKI_SUPPRESS,
};
use super::model::{ChildReport, Environment};
use super::outbound::{file_details, ncmec_report, salesforce_fields};
use crate::audit::{Action, Actor, AuditEntry, Outcome};
use crate::cases::{CaseId, CaseKind, Change, Revision};
use crate::dmca::steps::{StepRecord, StepStatus};
use crate::egress::client::CallContext;
use crate::media::MediaBuffer;
use crate::services::call::CallError;
use crate::services::ncmec::client::NcmecClient;
use crate::services::ncmec::wire::{NcmecError, ReportResponse};
use crate::services::wiki::client::{Acting, WikiClient};
use crate::services::wiki::wire::{
    Delete, RevisionDelete, RevisionDeleteType, RevisionFields, SuppressMode, build_delete,
    build_revision_delete, parse_delete, parse_revision_delete,
};
use crate::state::AppState;
use crate::workflow::{RecordError, append, commit, create_case};

/// The index of reported images: keyed HMAC of the SHA-1, to the cases that reported it.
pub const REPORTED_SHA1: &str = "reported-sha1";
/// The index of NCMEC reports: keyed HMAC of `<environment>:<report ID>`, to the case whose
/// submission opened it (written in the transaction that journals the submit's answer), so a
/// retraction from the retraction page is recorded in that case.
pub const NCMEC_REPORT: &str = "ncmec-report";

/// The value [`NCMEC_REPORT`] indexes a report under.
pub fn report_key(environment: Environment, report_id: u64) -> Vec<u8> {
    format!("{}:{report_id}", environment.key()).into_bytes()
}

/// The cases whose submission is running in this process: the watchdog leaves their open
/// reports alone, and a second submission of the same case is refused while one runs.
#[derive(Default)]
pub struct InFlight(std::sync::Mutex<BTreeSet<CaseId>>);

/// A claim on a case's submission, released when dropped.
pub struct Claim<'a> {
    set: &'a InFlight,
    case: CaseId,
}

impl InFlight {
    /// Claims `case`, unless a submission of it is running.
    pub fn claim(&self, case: CaseId) -> Option<Claim<'_>> {
        let mut cases = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // The claim is made only once the case is inserted: a claim made and dropped here (as
        // an eager `then_some` would) locks the set again while this guard holds it, hanging
        // the thread, and would release the running submission's claim besides.
        if !cases.insert(case) {
            return None;
        }
        Some(Claim { set: self, case })
    }

    fn contains(&self, case: CaseId) -> bool {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains(&case)
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.set.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&self.case);
    }
}

/// One image of the request: its bytes (in the request's locked upload) and what is journaled.
pub struct Image<'a> {
    /// The bytes.
    pub data: &'a [u8],
    /// The type the browser claimed.
    pub content_type: &'static str,
    /// Names, size, hashes, the wiki comparison and prior reports.
    pub sent: SentFile,
}

/// Records a new report as a new case (audited) before anything else happens.
pub async fn record_report(
    state: &AppState,
    staff: &str,
    report: &ChildReport,
) -> Result<CaseId, RecordError> {
    let details = format!(
        "recorded a child-protection report ({} file(s), NCMEC {})",
        report.files.len(),
        report.environment.key()
    );
    create_case(state, CaseKind::ChildProtection, staff, serde_json::json!({ REPORT: report }), details).await
}

/// Records an approval decision (audited).
pub async fn record_approval(
    state: &AppState,
    case: CaseId,
    staff: &str,
    approval: &Approval,
) -> Result<(), RecordError> {
    let payload = serde_json::json!({ APPROVAL: approval });
    let details = match approval {
        Approval::Approved { .. } => "approved the report's release to NCMEC".to_owned(),
        Approval::ApprovedOutOfBand { .. } => "recorded an approval given outside the appliance".to_owned(),
        Approval::Declined { .. } => "declined the report's release to NCMEC".to_owned(),
        Approval::Pending => "reset the approval".to_owned(),
    };
    record_decision(state, case, staff, payload, details).await
}

/// Records an approver's decision on held images whose SHA-1 differs from the wiki's (audited,
/// naming the approver and the sender, never a hash), before a confirmed upload is sent.
pub async fn record_sha1_waiver(
    state: &AppState,
    case: CaseId,
    staff: &str,
    waiver: &Sha1Waiver,
) -> Result<(), RecordError> {
    let payload = serde_json::json!({ SHA1_WAIVER: waiver });
    let verb = match waiver.decision {
        WaiverDecision::Confirm => "confirmed sending",
        WaiverDecision::Refuse => "refused sending",
    };
    let details = format!(
        "{verb} images whose SHA-1 differs from the wiki's record (file {}), chosen by {}",
        waiver.numbers(),
        waiver.sender
    );
    record_decision(state, case, staff, payload, details).await
}

/// Appends a staff member's decision on `case` as a note, audited as their revision of it.
async fn record_decision(
    state: &AppState,
    case: CaseId,
    staff: &str,
    payload: serde_json::Value,
    details: String,
) -> Result<(), RecordError> {
    let entry = AuditEntry::now(
        Actor::Staff(staff.to_owned()),
        Action::ReviseCase,
        Some(case),
        Outcome::Done,
        details,
    );
    append(state, case, Change::Note, staff, payload, entry).await
}

/// Who drives a submission or a retraction.
#[derive(Clone)]
pub struct Driver<'a> {
    state: &'a AppState,
    case: CaseId,
    actor: Actor,
    author: String,
}

impl<'a> Driver<'a> {
    /// `staff` working on `case`.
    pub fn staff(state: &'a AppState, case: CaseId, staff: &str) -> Self {
        Self { state, case, actor: Actor::Staff(staff.to_owned()), author: staff.to_owned() }
    }

    /// The appliance itself (the start-up sweep and the watchdog).
    pub fn system(state: &'a AppState, case: CaseId) -> Self {
        Self { state, case, actor: Actor::System, author: "takedown".to_owned() }
    }

    fn context(&self) -> CallContext {
        CallContext { actor: self.actor.clone(), case: Some(self.case) }
    }

    /// Appends `record` to the case's journal with its audit entry, durably.
    async fn journal(&self, record: &NcmecRecord) -> Result<(), RecordError> {
        let action = match (record.step, record.status) {
            (_, CallStatus::Started) => Action::ReviseCase,
            (NcmecStep::Retract, _) => Action::Retract,
            _ => Action::Submit,
        };
        let outcome = match record.status {
            CallStatus::Started | CallStatus::Done => Outcome::Done,
            CallStatus::Failed | CallStatus::Unknown => Outcome::Failed,
        };
        let details = format!(
            "NCMEC {} (submission {}, {}{}) {}: {}",
            crate::audit::code(&record.step),
            record.attempt,
            record.environment.key(),
            record.file.map(|i| format!(", file {}", i + 1)).unwrap_or_default(),
            crate::audit::code(&record.status),
            record.detail
        );
        let entry = AuditEntry::now(self.actor.clone(), action, Some(self.case), outcome, details);
        let change = if record.step == NcmecStep::Retract { Change::Retraction } else { Change::Outcome };
        // The answer that names a new report indexes it in the same transaction, so no report
        // of a case is ever journaled without being found by its ID.
        let opened = match (record.step, record.status, record.report_id) {
            (NcmecStep::Submit, CallStatus::Done, Some(id)) => Some(report_key(record.environment, id)),
            _ => None,
        };
        let (case, author, payload) = (self.case, self.author.clone(), record.payload());
        commit(self.state, move |batch| {
            batch.revise_case(case, change, &author, payload)?;
            batch.audit(&entry)?;
            if let Some(key) = &opened {
                batch.index(NCMEC_REPORT, key, case)?;
            }
            Ok(())
        })
        .await
    }

    /// Sends `report` with `images` (in the report's file order) as submission `attempt`.
    /// Returns once the report is filed, or retracted after a failure, or could not be opened.
    pub async fn submit(
        &self,
        client: &NcmecClient,
        attempt: u32,
        report: &ChildReport,
        images: &[Image<'_>],
    ) -> Result<SubmissionState, RecordError> {
        let environment = client.environment();
        let record =
            |step, status, detail: &str| NcmecRecord::new(attempt, environment, step, status, detail);
        let prior: Vec<u64> =
            images.iter().flat_map(|image| image.sent.prior.iter().filter_map(|p| p.report_id)).collect();
        let files: Vec<SentFile> = images.iter().map(|image| image.sent.clone()).collect();
        let mut opening = record(NcmecStep::Submit, CallStatus::Started, "opening the report");
        opening.files = files.clone();
        self.journal(&opening).await?;
        let report_id = match client.submit(&self.context(), &ncmec_report(report, &prior)).await {
            Ok(opened) => {
                let mut done = record(
                    NcmecStep::Submit,
                    CallStatus::Done,
                    &format!("report {} opened", opened.report_id),
                );
                done.report_id = Some(opened.report_id);
                done.response_code = Some(0);
                self.journal(&done).await?;
                opened.report_id
            }
            Err(err) => {
                let status = call_status(&err);
                let detail = match status {
                    CallStatus::Unknown => format!(
                        "{}; NCMEC may have opened a report whose ID we never received: ask NCMEC before \
                         sending again",
                        err.summary()
                    ),
                    _ => format!("{}; no report was opened", err.summary()),
                };
                let mut failed = record(NcmecStep::Submit, status, &detail);
                failed.response_code = response_code(&err);
                self.journal(&failed).await?;
                return Ok(if status == CallStatus::Unknown {
                    SubmissionState::SubmitUnknown
                } else {
                    SubmissionState::NotOpened
                });
            }
        };
        let mut uploaded: Vec<String> = Vec::new();
        for (index, image) in images.iter().enumerate() {
            match self.send_file(client, attempt, report, report_id, index, image).await? {
                Some(file_id) => uploaded.push(file_id),
                None => {
                    return self
                        .retract(client, attempt, report_id, "a step after the submit failed", &files)
                        .await;
                }
            }
        }
        let mut finishing = record(NcmecStep::Finish, CallStatus::Started, "filing the report");
        finishing.report_id = Some(report_id);
        self.journal(&finishing).await?;
        match client.finish(&self.context(), report_id).await {
            Ok(done) => {
                let expected: BTreeSet<&str> = uploaded.iter().map(String::as_str).collect();
                let listed: BTreeSet<&str> = done.file_ids.iter().map(String::as_str).collect();
                let detail = if expected == listed {
                    format!(
                        "report {report_id} filed with NCMEC; NCMEC lists the {} file(s) uploaded",
                        listed.len()
                    )
                } else {
                    format!(
                        "report {report_id} filed, but NCMEC lists {} file(s) where {} were uploaded: tell NCMEC \
                         (the report can no longer be retracted)",
                        listed.len(),
                        expected.len()
                    )
                };
                let mut filed = record(NcmecStep::Finish, CallStatus::Done, &detail);
                filed.report_id = Some(report_id);
                filed.response_code = Some(0);
                self.journal(&filed).await?;
                self.index_reported(&files).await?;
                Ok(SubmissionState::Filed(report_id))
            }
            Err(err) => {
                let status = call_status(&err);
                let mut failed = record(NcmecStep::Finish, status, &err.summary());
                failed.report_id = Some(report_id);
                failed.response_code = response_code(&err);
                self.journal(&failed).await?;
                // A finish that may have arrived is settled by the retraction's answer: 5102
                // means it was filed.
                self.retract(client, attempt, report_id, "the finish failed", &files).await
            }
        }
    }

    /// Uploads one image and sends its details. `None` when a step failed (journaled).
    async fn send_file(
        &self,
        client: &NcmecClient,
        attempt: u32,
        report: &ChildReport,
        report_id: u64,
        index: usize,
        image: &Image<'_>,
    ) -> Result<Option<String>, RecordError> {
        let environment = client.environment();
        let record = |step, status, detail: String| {
            let mut record = NcmecRecord::new(attempt, environment, step, status, detail);
            record.report_id = Some(report_id);
            record.file = Some(index);
            record
        };
        self.journal(&record(NcmecStep::Upload, CallStatus::Started, "uploading".into())).await?;
        let data = match MediaBuffer::locked_bytes(image.data) {
            Ok(data) => data,
            Err(err) => {
                let failed = record(NcmecStep::Upload, CallStatus::Failed, format!("not sent: {err}"));
                self.journal(&failed).await?;
                return Ok(None);
            }
        };
        let upload_name = upload_name(index, &image.sent.original_name);
        let file_id = match client
            .upload(&self.context(), report_id, &upload_name, image.content_type, data)
            .await
        {
            Ok(uploaded) => {
                let mut done = record(
                    NcmecStep::Upload,
                    CallStatus::Done,
                    format!("uploaded as file {}; NCMEC's MD5 matches ours", uploaded.file_id),
                );
                done.file_id = Some(uploaded.file_id.clone());
                done.response_code = Some(0);
                self.journal(&done).await?;
                uploaded.file_id
            }
            Err(err) => {
                let detail = match &err {
                    CallError::Service(NcmecError::HashMismatch { .. }) => format!(
                        "NCMEC's MD5 of what it received is not ours ({}): the file was not received intact",
                        err.summary()
                    ),
                    _ => err.summary(),
                };
                let status = call_status(&err);
                let mut failed = record(NcmecStep::Upload, status, detail);
                failed.response_code = response_code(&err);
                self.journal(&failed).await?;
                return Ok(None);
            }
        };
        self.journal(&record(NcmecStep::FileInfo, CallStatus::Started, "sending the file's details".into()))
            .await?;
        let details = file_details(report, index, &image.sent, report_id, &file_id);
        match client.fileinfo(&self.context(), &details).await {
            Ok(_) => {
                let mut done = record(NcmecStep::FileInfo, CallStatus::Done, "details recorded".into());
                done.file_id = Some(file_id.clone());
                done.response_code = Some(0);
                self.journal(&done).await?;
                Ok(Some(file_id))
            }
            Err(err) => {
                let status = call_status(&err);
                let mut failed = record(NcmecStep::FileInfo, status, err.summary());
                failed.response_code = response_code(&err);
                self.journal(&failed).await?;
                Ok(None)
            }
        }
    }

    /// Retracts report `report_id` of submission `attempt` and journals NCMEC's answer. A report
    /// NCMEC says was already filed (5102: a finish that went through unrecorded) is recorded
    /// as filed, and its `files` join the index of reported images.
    pub async fn retract(
        &self,
        client: &NcmecClient,
        attempt: u32,
        report_id: u64,
        why: &str,
        files: &[SentFile],
    ) -> Result<SubmissionState, RecordError> {
        Ok(self.retract_answered(client, attempt, report_id, why, files).await?.0)
    }

    /// [`Driver::retract`], also returning NCMEC's answer (for the retraction page).
    pub async fn retract_answered(
        &self,
        client: &NcmecClient,
        attempt: u32,
        report_id: u64,
        why: &str,
        files: &[SentFile],
    ) -> Result<(SubmissionState, Result<ReportResponse, CallError<NcmecError>>), RecordError> {
        let mut record = NcmecRecord::new(
            attempt,
            client.environment(),
            NcmecStep::Retract,
            CallStatus::Started,
            format!("retracting: {why}"),
        );
        record.report_id = Some(report_id);
        self.journal(&record).await?;
        let answer = client.retract(&self.context(), report_id).await;
        record.response_code = retraction_code(&answer);
        let state = match record.response_code {
            Some(0 | 5101 | 5001) => SubmissionState::Retracted(report_id),
            Some(5102) => SubmissionState::Filed(report_id),
            _ => SubmissionState::Open(report_id),
        };
        (record.status, record.detail) = match (&state, &answer) {
            (SubmissionState::Open(_), Err(err)) => (
                CallStatus::Failed,
                format!(
                    "{}; the report is still open at NCMEC: the watchdog retries, or retract it on the \
                     retraction page",
                    err.summary()
                ),
            ),
            (_, _) => (
                if matches!(state, SubmissionState::Open(_)) { CallStatus::Failed } else { CallStatus::Done },
                retraction_meaning(record.response_code.unwrap_or(-1)).to_owned(),
            ),
        };
        self.journal(&record).await?;
        if let SubmissionState::Filed(_) = state {
            self.index_reported(files).await?;
        }
        Ok((state, answer))
    }

    /// Adds the files' SHA-1s to the keyed index of reported images.
    async fn index_reported(&self, files: &[SentFile]) -> Result<(), RecordError> {
        let hashes: Vec<Vec<u8>> = files.iter().filter_map(|file| hex::decode(&file.sha1).ok()).collect();
        let case = self.case;
        commit(self.state, move |batch| {
            for hash in &hashes {
                batch.index(REPORTED_SHA1, hash, case)?;
            }
            Ok(())
        })
        .await
    }

    /// Opens (or updates) the Salesforce Case of a filed report: hashes, report ID and
    /// metadata only.
    pub async fn crm(
        &self,
        report: &ChildReport,
        report_id: u64,
        files: &[SentFile],
    ) -> Result<StepRecord, RecordError> {
        let record = match &self.state.services.salesforce {
            None => {
                StepRecord::new(CRM, StepStatus::Skipped, "Salesforce is not configured on this appliance")
            }
            Some(client) => {
                let case_url = format!("{}/cases/{}", self.state.config.public_origin(), self.case);
                let fields = salesforce_fields(report, self.case, &case_url, report_id, files);
                match client.upsert_case(&self.context(), &self.case.to_string(), &fields).await {
                    Ok(saved) => {
                        let mut record = StepRecord::new(
                            CRM,
                            StepStatus::Done,
                            if saved.created() {
                                "Salesforce case created"
                            } else {
                                "Salesforce case updated"
                            },
                        );
                        record.link = saved.id().map(|id| client.record_url(id.as_str()));
                        record
                    }
                    Err(err) => StepRecord::new(CRM, StepStatus::Failed, err.summary()),
                }
            }
        };
        self.record_step(CRM, &record, Action::Submit, "Salesforce case for the NCMEC report").await?;
        Ok(record)
    }

    /// Appends a CRM or wiki step's record under `key`, with its audit entry.
    async fn record_step(
        &self,
        key: &str,
        record: &StepRecord,
        action: Action,
        what: &str,
    ) -> Result<(), RecordError> {
        let payload = serde_json::json!({ key: record });
        let details = format!("{what}: {}: {}", crate::audit::code(&record.status), record.detail);
        let outcome = if record.status == StepStatus::Failed { Outcome::Failed } else { Outcome::Done };
        let entry = AuditEntry::now(self.actor.clone(), action, Some(self.case), outcome, details);
        append(self.state, self.case, Change::Outcome, &self.author, payload, entry).await
    }

    /// Suppresses the old versions of the report's file `index` (content, comment and uploader
    /// hidden from administrators too) and deletes the file, with the staffer's own wiki grant;
    /// each result is recorded as it comes.
    pub async fn suppress_on_wiki(
        &self,
        wiki: &WikiClient,
        api: &url::Url,
        index: usize,
        name: &str,
    ) -> Result<Vec<StepRecord>, RecordError> {
        let acting = Acting::Staff(&self.author);
        let context = self.context();
        let title = format!("File:{name}");
        let reason = "Child protection: removed and reported as required by law";
        let step = |action: &str| format!("{action}:{index}");
        let mut records = Vec::new();
        let versions = match wiki.file_info(&context, api, acting, &[title.as_str()]).await {
            Ok(page) => page
                .files
                .into_iter()
                .flat_map(|f| f.versions)
                .filter_map(|v| v.archive_name)
                .collect::<Vec<_>>(),
            Err(err) => {
                let record = StepRecord::new(
                    &step(WIKI_SUPPRESS),
                    StepStatus::Failed,
                    format!("the file's versions could not be read: {}; nothing was changed", err.summary()),
                );
                self.record_step(WIKI, &record, Action::Post, "wiki suppression").await?;
                return Ok(vec![record]);
            }
        };
        let ids: Vec<&str> = versions.iter().filter_map(|archive| archive.split('!').next()).collect();
        if !ids.is_empty() {
            let request = RevisionDelete {
                kind: RevisionDeleteType::OldImage,
                target: &title,
                ids: &ids,
                hide: RevisionFields { content: true, comment: true, user: true },
                show: RevisionFields::default(),
                suppress: SuppressMode::Yes,
                reason,
            };
            let record = match wiki
                .write(
                    &context,
                    api,
                    acting,
                    |auth, csrf| build_revision_delete(api, auth, csrf, &request),
                    |r| parse_revision_delete(r, &ids),
                )
                .await
            {
                Ok(done) => StepRecord::new(
                    &step(WIKI_SUPPRESS),
                    StepStatus::Done,
                    format!("{} old version(s) suppressed", done.ids.len()),
                ),
                Err(err) => StepRecord::new(&step(WIKI_SUPPRESS), StepStatus::Failed, err.summary()),
            };
            self.record_step(WIKI, &record, Action::Post, "wiki suppression").await?;
            records.push(record);
        }
        let delete = Delete { title: &title, reason, old_image: None };
        let record = match wiki
            .write(&context, api, acting, |auth, csrf| build_delete(api, auth, csrf, &delete), parse_delete)
            .await
        {
            Ok(done) => {
                StepRecord::new(&step(WIKI_DELETE), StepStatus::Done, format!("{} deleted", done.title))
            }
            Err(err) => StepRecord::new(&step(WIKI_DELETE), StepStatus::Failed, err.summary()),
        };
        self.record_step(WIKI, &record, Action::Post, "wiki deletion").await?;
        records.push(record);
        Ok(records)
    }
}

/// The name the file is uploaded under: its position and the uploaded name's extension only
/// (the original name goes in `fileinfo`, which is XML-escaped; a multipart header is not the
/// place for arbitrary text).
fn upload_name(index: usize, original: &str) -> String {
    let extension: String = original
        .rsplit_once('.')
        .map(|(_, ext)| ext.chars().filter(char::is_ascii_alphanumeric).take(8).collect())
        .unwrap_or_default();
    if extension.is_empty() {
        format!("file-{}", index + 1)
    } else {
        format!("file-{}.{extension}", index + 1)
    }
}

/// A failed call's status: unknown when the request may have been carried out.
fn call_status<E: crate::services::call::ServiceFailure>(err: &CallError<E>) -> CallStatus {
    if err.may_have_arrived() { CallStatus::Unknown } else { CallStatus::Failed }
}

fn response_code(err: &CallError<NcmecError>) -> Option<i64> {
    match err {
        CallError::Service(NcmecError::Rejected { code, .. }) => Some(code.code()),
        _ => None,
    }
}

/// NCMEC's `responseCode` for a retraction, whether it came as an answer (0, 5101, 5102) or a
/// refusal (5001, 2000, …); `None` when no code came.
pub fn retraction_code(answer: &Result<ReportResponse, CallError<NcmecError>>) -> Option<i64> {
    match answer {
        Ok(response) => Some(response.code.code()),
        Err(err) => response_code(err),
    }
}

/// What a retraction's `responseCode` means, in the retraction page's words.
pub fn retraction_meaning(code: i64) -> &'static str {
    match code {
        0 => "retracted: NCMEC cancelled the report",
        5101 => "already retracted: NCMEC had cancelled this report before",
        5102 => {
            "already finished: the report was filed and can no longer be retracted; to withdraw it, write to NCMEC"
        }
        5001 => {
            "unknown: NCMEC has no such open report (a wrong ID, another account's report, or one it deleted after expiry)"
        }
        2000 | 3000 | 3100 | 3300 => {
            "wrong user: this account may not change that report (check the ID and the environment)"
        }
        _ => "an unexpected answer from NCMEC",
    }
}

/// Retracts every report journaled as open, and returns how many are settled (retracted, or
/// found filed). At start-up (`at_start`), each is one whose images
/// went with the previous process, so its case needs the images uploaded again; later (the
/// watchdog), each is one whose retraction failed: it is tried again, and one close to NCMEC's
/// expiry is logged as a warning.
pub async fn sweep(state: &AppState, at_start: bool) -> usize {
    // The cases are read a chunk at a time: the sweep runs every few minutes, and all of a
    // large store at once would not fit the daemon's locked memory (sandbox::memory).
    let mut settled = 0;
    let mut from = Some(1);
    while let Some(start) = from {
        let store = state.store.clone();
        let chunk = tokio::task::spawn_blocking(move || {
            let (ids, next) = store.case_ids_from(start, SWEEP_CHUNK)?;
            store.cases(&ids).map(|cases| (cases, next))
        })
        .await;
        let cases = match chunk {
            Ok(Ok((cases, next))) => {
                from = next;
                cases
            }
            Ok(Err(err)) => {
                tracing::error!("the open-report sweep could not read the cases: {err}");
                return settled;
            }
            Err(err) => {
                tracing::error!("the open-report sweep stopped: {err}");
                return settled;
            }
        };
        settled += settle_open_reports(state, at_start, cases).await;
    }
    settled
}

/// Cases the sweep reads and decrypts at a time.
const SWEEP_CHUNK: usize = 64;

/// [`sweep`] over one chunk of cases.
async fn settle_open_reports(state: &AppState, at_start: bool, cases: Vec<(CaseId, Vec<Revision>)>) -> usize {
    let mut settled = 0;
    for (id, revisions) in cases {
        if revisions.first().map(|r| r.kind) != Some(CaseKind::ChildProtection) {
            continue;
        }
        if !at_start && state.in_flight.contains(id) {
            continue;
        }
        let Some(case) = ChildCase::from_revisions(&revisions) else { continue };
        let open: Vec<&Submission> = case.open_submissions().collect();
        for submission in open {
            let Some(report_id) = submission.report_id() else { continue };
            if let Some(expires) = submission.expires_at()
                && expires - OffsetDateTime::now_utc() < time::Duration::minutes(15)
            {
                tracing::warn!(case = %id, report_id, "an open NCMEC report is near its expiry and could not be retracted yet");
            }
            let Some(client) = state.services.ncmec(submission.environment) else {
                tracing::error!(case = %id, report_id, "an open NCMEC report's environment has no account configured; retract it by hand");
                continue;
            };
            let why = if at_start {
                "the appliance restarted while the report was open; its images went with the old process, so upload them again to resubmit"
            } else {
                "the watchdog retries a retraction that failed"
            };
            match Driver::system(state, id)
                .retract(client, submission.attempt, report_id, why, &submission.files)
                .await
            {
                Ok(SubmissionState::Retracted(_) | SubmissionState::Filed(_)) => settled += 1,
                Ok(_) => {
                    tracing::warn!(case = %id, report_id, "the retraction of an open NCMEC report failed; retrying later")
                }
                Err(err) => tracing::error!(case = %id, "{err}"),
            }
        }
    }
    settled
}
