//! Runs a DMCA case's external steps as a saga: each step is recorded as started in the store
//! (with its audit entry, in one transaction) before its request leaves, and its outcome after.
//! A failure leaves the case showing what succeeded; a retry runs only a step that may run
//! ([`DmcaCase::may_run`]), so nothing is silently sent twice.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use super::edits;
use super::model::Takedown;
use super::notices::WikiNotice;
use super::outbound::{DocumentMismatch, Marks, in_recorded_order, lumen_notice, salesforce_fields};
use super::steps::{LUMEN, NOTICE_PREFIX, RefusedField, SALESFORCE, StepRecord, StepStatus};
use crate::audit::{Action, Actor, AuditEntry, Outcome};
use crate::cases::{CaseId, CaseKind, Change};
use crate::egress::client::CallContext;
use crate::services::call::CallError;
use crate::services::lumen::wire::LumenError;
use crate::services::wiki::client::Acting;
use crate::services::wiki::wire::{
    CaptchaAnswer, CaptchaChallenge, CreatePolicy, Edit, EditMode, EditOutcome,
};
use crate::state::AppState;
pub use crate::workflow::RecordError;
use crate::workflow::append;

/// The DMCA steps running in this process, by case and step: a step is claimed here before
/// its case is read and held until its outcome is recorded, so two clicks (or two staff
/// members) cannot both see it as ready to run and both send it.
#[derive(Default)]
pub struct StepsInFlight(Mutex<BTreeSet<(CaseId, String)>>);

/// A claim on one step of one case, released when dropped. [`Saga`]'s steps take one.
pub struct StepClaim<'a> {
    set: &'a StepsInFlight,
    case: CaseId,
    step: String,
}

impl StepsInFlight {
    /// Claims `step` of `case`, unless it is running.
    pub fn claim(&self, case: CaseId, step: &str) -> Option<StepClaim<'_>> {
        let mut running = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        running.insert((case, step.to_owned())).then(|| StepClaim { set: self, case, step: step.to_owned() })
    }
}

impl StepClaim<'_> {
    fn is_for(&self, case: CaseId, step: &str) -> bool {
        self.case == case && self.step == step
    }
}

impl Drop for StepClaim<'_> {
    fn drop(&mut self) {
        let mut running = self.set.0.lock().unwrap_or_else(PoisonError::into_inner);
        running.remove(&(self.case, std::mem::take(&mut self.step)));
    }
}

/// What posting a wiki notice came to.
pub enum Posted {
    /// Recorded as done, failed or unknown.
    Recorded(StepRecord),
    /// The wiki wants a CAPTCHA answered; nothing was saved, and the step stays as it was.
    Captcha(CaptchaChallenge),
}

/// One staff member working on one case.
pub struct Saga<'a> {
    state: &'a AppState,
    case: CaseId,
    staff: &'a str,
}

impl<'a> Saga<'a> {
    /// The saga of `case`, driven by `staff`.
    pub fn new(state: &'a AppState, case: CaseId, staff: &'a str) -> Self {
        Self { state, case, staff }
    }

    fn context(&self) -> CallContext {
        CallContext { actor: Actor::Staff(self.staff.to_owned()), case: Some(self.case) }
    }

    /// Records a new request as a new case (with its audit entry, in one durable transaction)
    /// before any step runs: every request is logged, whatever becomes of its steps.
    pub async fn record_request(
        state: &AppState,
        staff: &str,
        takedown: &Takedown,
    ) -> Result<CaseId, RecordError> {
        let details = format!(
            "recorded a DMCA request ({}{}, {} document(s))",
            takedown.decision.as_str(),
            if takedown.test { ", test" } else { "" },
            takedown.documents.len()
        );
        crate::workflow::create_case(
            state,
            CaseKind::Dmca,
            staff,
            serde_json::json!({ "dmca": takedown }),
            details,
        )
        .await
    }

    /// Records a corrected request as a new revision of the case (the old one stays).
    pub async fn record_correction(&self, takedown: &Takedown) -> Result<(), RecordError> {
        let entry = AuditEntry::now(
            Actor::Staff(self.staff.to_owned()),
            Action::ReviseCase,
            Some(self.case),
            Outcome::Done,
            "corrected the DMCA request",
        );
        let payload = serde_json::json!({ "dmca": takedown });
        append(self.state, self.case, Change::Correction, self.staff, payload, entry).await
    }

    /// Appends `record` to the case with its audit entry, in one durable transaction.
    pub async fn record(&self, record: &StepRecord) -> Result<(), RecordError> {
        let (action, outcome) = match (record.step.as_str(), record.status) {
            (_, StepStatus::Started) => (Action::ReviseCase, Outcome::Done),
            (step, status) => (
                if step.starts_with(NOTICE_PREFIX) { Action::Post } else { Action::Submit },
                match status {
                    StepStatus::Done | StepStatus::Skipped => Outcome::Done,
                    _ => Outcome::Failed,
                },
            ),
        };
        let details = format!("{} {}: {}", record.step, crate::audit::code(&record.status), record.detail);
        let entry =
            AuditEntry::now(Actor::Staff(self.staff.to_owned()), action, Some(self.case), outcome, details);
        append(self.state, self.case, Change::Outcome, self.staff, record.payload(), entry).await
    }

    /// Records `record` and returns it.
    async fn finish(&self, record: StepRecord) -> Result<StepRecord, RecordError> {
        self.record(&record).await?;
        Ok(record)
    }

    /// The step `claim` is for must be `step` of this case.
    fn check_claim(&self, claim: &StepClaim<'_>, step: &str) -> Result<(), RecordError> {
        if claim.is_for(self.case, step) {
            Ok(())
        } else {
            Err(RecordError::refused("a step ran without its own claim"))
        }
    }

    /// Files the notice with Lumen, with every supporting document held for the case. The
    /// caller holds the step's claim and read the case after taking it.
    pub async fn lumen(&self, claim: &StepClaim<'_>, takedown: &Takedown) -> Result<StepRecord, RecordError> {
        self.check_claim(claim, LUMEN)?;
        if let Some(reason) = lumen_skip_reason(takedown) {
            return self.finish(StepRecord::new(LUMEN, StepStatus::Skipped, reason)).await;
        }
        let Some(client) = &self.state.services.lumen else {
            return self
                .finish(StepRecord::new(
                    LUMEN,
                    StepStatus::Failed,
                    "Lumen is not configured on this appliance; nothing was sent",
                ))
                .await;
        };
        let settings = &self.state.config.dmca;
        let shelf = &self.state.documents;
        let key = self.case.to_string();
        // Exactly the documents the case recorded (names and SHA-256), in its order.
        let notice = shelf.with(&key, self.staff, |held| {
            in_recorded_order(&takedown.documents, held)
                .map(|documents| lumen_notice(takedown, settings, &documents))
        });
        let refusal = match notice {
            Ok(Ok(notice)) => Ok(notice),
            Err(DocumentMismatch::NoneHeld) => Err(
                "the supporting documents are no longer held in memory (they are kept for an hour, for the person \
                 who uploaded them); attach them again and retry; nothing was sent",
            ),
            Err(DocumentMismatch::Other) => Err(
                "the documents attached are not the documents the case recorded (their names and SHA-256 are \
                 compared); attach those again, or correct the request to change them; nothing was sent",
            ),
            Ok(Err(err)) => Err({
                tracing::warn!("a Lumen notice's documents could not be copied for sending: {err}");
                "no locked memory could be had to send the documents from; nothing was sent — try again, and \
                 tell the operator if it persists"
            }),
        };
        let notice = match refusal {
            Ok(notice) => notice,
            Err(why) => return self.finish(StepRecord::new(LUMEN, StepStatus::Failed, why)).await,
        };
        self.record(&StepRecord::new(LUMEN, StepStatus::Started, "sending the notice to Lumen")).await?;
        let record = match client.create_notice(&self.context(), &notice).await {
            Ok(created) => {
                shelf.drop_key(&key, self.staff);
                let mut record =
                    StepRecord::new(LUMEN, StepStatus::Done, format!("Lumen notice {}", created.id));
                record.link = Some(created.url.to_string());
                record
            }
            Err(err) if err.may_have_arrived() => StepRecord::new(
                LUMEN,
                StepStatus::Unknown,
                format!(
                    "unknown — check Lumen: {}. Look for the notice on Lumen before sending it again; a second send \
                     files a second notice",
                    err.summary()
                ),
            ),
            Err(err) => {
                let mut record = StepRecord::new(LUMEN, StepStatus::Failed, err.summary());
                if let CallError::Service(LumenError::Validation(fields) | LumenError::Invalid(fields)) = &err
                {
                    record.refused_fields = fields
                        .iter()
                        .map(|f| RefusedField { field: f.field.clone(), message: f.message.clone() })
                        .collect();
                }
                record
            }
        };
        drop(notice);
        self.finish(record).await
    }

    /// Creates or updates the Salesforce Case whose external ID is this case's ID (so a retry
    /// updates the same Case, never a second one).
    pub async fn salesforce(
        &self,
        claim: &StepClaim<'_>,
        takedown: &Takedown,
        marks: &Marks,
        chosen: bool,
    ) -> Result<StepRecord, RecordError> {
        self.check_claim(claim, SALESFORCE)?;
        if !chosen {
            return self
                .finish(StepRecord::new(SALESFORCE, StepStatus::Skipped, "not chosen on the form"))
                .await;
        }
        let Some(client) = &self.state.services.salesforce else {
            return self
                .finish(StepRecord::new(
                    SALESFORCE,
                    StepStatus::Failed,
                    "Salesforce is not configured on this appliance; nothing was sent",
                ))
                .await;
        };
        let case_url = format!("{}/cases/{}", self.state.config.public_origin(), self.case);
        let fields = salesforce_fields(takedown, self.case, &case_url, self.staff, marks);
        self.record(&StepRecord::new(SALESFORCE, StepStatus::Started, "creating the Salesforce case"))
            .await?;
        let record = match client.upsert_case(&self.context(), &self.case.to_string(), &fields).await {
            Ok(saved) => {
                let id = match saved.id() {
                    Some(id) => Some(id.as_str().to_owned()),
                    None => client
                        .find_case(&self.context(), &self.case.to_string())
                        .await
                        .ok()
                        .map(|id| id.as_str().to_owned()),
                };
                let mut record = StepRecord::new(
                    SALESFORCE,
                    StepStatus::Done,
                    if saved.created() { "Salesforce case created" } else { "Salesforce case updated" },
                );
                record.link = id.map(|id| client.record_url(&id));
                record
            }
            // The upsert is keyed by our case ID: sending it again updates the same Case.
            Err(err) => StepRecord::new(SALESFORCE, StepStatus::Failed, err.summary()),
        };
        self.finish(record).await
    }

    /// Posts `notice` with `text` (as reviewed) to `api` using the staff member's own wiki
    /// grant. A text the staffer left as prepared ([`edits::is_unchanged`]) is posted exactly as
    /// prepared; an edited one as typed, and its records keep the prepared text beside it.
    pub async fn post_notice(
        &self,
        claim: &StepClaim<'_>,
        notice: &WikiNotice,
        api: &url::Url,
        text: &str,
        captcha: Option<(&str, &str)>,
    ) -> Result<Posted, RecordError> {
        let step = format!("{NOTICE_PREFIX}{}", notice.kind.key());
        self.check_claim(claim, &step)?;
        let Some(client) = &self.state.services.wiki else {
            return Ok(Posted::Recorded(
                self.finish(StepRecord::new(
                    &step,
                    StepStatus::Failed,
                    "no wiki is configured on this appliance; nothing was posted",
                ))
                .await?,
            ));
        };
        let edited = !edits::is_unchanged(&notice.text, text);
        let text = if edited { text } else { notice.text.as_str() };
        let how = if edited { ", edited by the staffer" } else { " as prepared" };
        let said = if edited { "edited by the staffer" } else { "as prepared" };
        let keep_texts = |mut record: StepRecord| {
            record.text = Some(text.to_owned());
            record.prepared = edited.then(|| notice.text.clone());
            record
        };
        let mode = match &notice.section_title {
            Some(title) => EditMode::NewSection { title, text },
            None => EditMode::Append { text },
        };
        let edit = Edit {
            title: &notice.page,
            mode,
            summary: &notice.summary,
            captcha: captcha.map(|(id, word)| CaptchaAnswer { id, word }),
            base_revision: None,
            create: CreatePolicy::Allow,
        };
        self.record(&StepRecord::new(&step, StepStatus::Started, format!("posting to {}{how}", notice.page)))
            .await?;
        let record = match client.edit(&self.context(), api, Acting::Staff(self.staff), &edit).await {
            Ok(EditOutcome::Saved(saved)) => {
                let mut record = keep_texts(StepRecord::new(
                    &step,
                    StepStatus::Done,
                    format!("posted to {}{how}", saved.title),
                ));
                record.revision = saved.new_rev;
                record.link = saved.new_rev.map(|rev| {
                    let mut link = api.clone();
                    link.set_path(&api.path().replace("api.php", "index.php"));
                    link.set_query(Some(&format!("oldid={rev}")));
                    link.to_string()
                });
                record
            }
            Ok(EditOutcome::Captcha(challenge)) => {
                // Nothing was saved: the step goes back to where it was before this attempt.
                let back = StepRecord::new(
                    &step,
                    StepStatus::Failed,
                    "the wiki asked for a CAPTCHA; nothing was saved yet",
                );
                self.record(&back).await?;
                return Ok(Posted::Captcha(challenge));
            }
            Err(err @ CallError::Build { .. }) | Err(err @ CallError::NotSent { .. }) => {
                StepRecord::new(&step, StepStatus::Failed, err.summary())
            }
            // It may have been saved: the case keeps what may be on the wiki.
            Err(err) if err.may_have_arrived() => keep_texts(StepRecord::new(
                &step,
                StepStatus::Unknown,
                format!(
                    "unknown — check the page's history before posting again (text {said}): {}",
                    err.summary()
                ),
            )),
            Err(err) => StepRecord::new(&step, StepStatus::Failed, err.summary()),
        };
        Ok(Posted::Recorded(self.finish(record).await?))
    }
}

/// Why Lumen is not sent for `takedown`, if it is not.
pub fn lumen_skip_reason(takedown: &Takedown) -> Option<&'static str> {
    if !takedown.decision.took_down() {
        Some("the request was denied; denied requests are logged, not published")
    } else if !takedown.send_to_lumen {
        Some("not chosen on the form")
    } else if takedown.test {
        Some("a test submission; Lumen has no test mode, so nothing was sent")
    } else {
        None
    }
}
