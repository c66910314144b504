//! What the child-protection routes do: the report form and its recording, the approval
//! decision, sending an approved report with its images to NCMEC, and the retraction page.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

use super::case_handlers::{case_id, case_of_kind, on_store};
use super::error::HttpError;
use super::handlers::{RequestContext, html, see_other};
use crate::cases::{CaseId, CaseKind, Revision};
use crate::child_protection::approval::{self, DifferingFile, Sha1Waiver, WaiverDecision};
use crate::child_protection::form::{RawFile, RawReport};
use crate::child_protection::held::{self, HeldUpload};
use crate::child_protection::journal::{ChildCase, PriorReport, SentFile, SubmissionState, WikiHash};
use crate::child_protection::model::{ChildReport, Environment};
use crate::child_protection::saga::{
    self, Driver, Image, REPORTED_SHA1, retraction_code, retraction_meaning,
};
use crate::dmca::form::{FieldError, canonical_title};
use crate::dmca::lookup::{self, LookupPlan};
use crate::egress::client::CallContext;
use crate::identity::Role;
use crate::media::MediaUpload;
use crate::pages::cases::Workflow;
use crate::pages::child_protection::{
    CaseView, FormPage, RetractResult, WikiView, render_case, render_form, render_retract,
};
use crate::services::ncmec::client::NcmecClient;
use crate::services::wiki::client::WikiConnection;

/// `GET /cp/new`: a blank report (test NCMEC, the staffer's name and address from the roster, the
/// current time).
pub(super) async fn form(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let viewer = context.viewer()?;
    let raw =
        RawReport::blank(&viewer.staff.display_name, &viewer.staff.email, time::OffsetDateTime::now_utc());
    show_form(context, &raw, &[], StatusCode::OK).await
}

/// `POST /cp/new`: more rows, or the check; with errors the form comes back as typed,
/// otherwise the report is recorded and waits for approval.
pub(super) async fn submit(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let mut raw = RawReport::read(|name| context.values(name));
    if context.values("action").iter().any(|a| a == "more") {
        raw.files.extend(std::iter::repeat_n(RawFile::default(), 3));
        return show_form(context, &raw, &[], StatusCode::OK).await;
    }
    let sites =
        context.state.sites.choices(context.state.services.wiki.as_ref(), &context.state.config.dmca).await;
    let report = match raw.check(&sites, &context.state.config.dmca, time::OffsetDateTime::now_utc()) {
        Ok(report) if context.state.services.ncmec(report.environment).is_none() => {
            let error = FieldError::new(
                "environment",
                format!(
                    "This appliance has no NCMEC {} account; choose the other environment.",
                    report.environment.key()
                ),
            );
            return show_form(context, &raw, &[error], StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Ok(report) => report,
        Err(errors) => return show_form(context, &raw, &errors, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    let staff = context.viewer()?.staff.id.to_string();
    let id = saga::record_report(context.state, &staff, &report).await?;
    see_other(&format!("/cases/{id}"))
}

async fn show_form(
    context: &RequestContext<'_>,
    raw: &RawReport,
    errors: &[FieldError],
    status: StatusCode,
) -> Result<Response<Full<Bytes>>, HttpError> {
    let sites =
        context.state.sites.choices(context.state.services.wiki.as_ref(), &context.state.config.dmca).await;
    let environments = environments(context);
    let csrf = context.csrf_token().unwrap_or_default();
    let page = FormPage { raw, errors, sites: &sites, environments: &environments, csrf_token: &csrf };
    Ok(html(status, render_form(context.viewer()?, &page)))
}

fn environments(context: &RequestContext<'_>) -> Vec<Environment> {
    context.state.services.ncmec.iter().map(|client| client.environment()).collect()
}

/// `POST /cases/{case}/approval`: an approver approves or declines (never their own report).
pub(super) async fn approve(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let (id, case) = child_case(context).await?;
    let staff = context.viewer()?.staff.id.to_string();
    let decline = context.values("decision").iter().any(|d| d == "decline");
    let reason = context.values("reason").into_iter().next().unwrap_or_default();
    let decided = match case.approval.decide(&case.preparer, &staff, decline.then_some(reason.as_str())) {
        Ok(decided) => decided,
        Err(err) => {
            // A refused decision (above all an approver's try at their own report) is audited
            // under their name, as SECURITY.md promises.
            let details = format!("approval refused: {err}");
            context
                .audit(crate::audit::Action::ReviseCase, Some(id), crate::audit::Outcome::Refused, details)
                .await?;
            return Err(HttpError::Conflict(err.to_string()));
        }
    };
    saga::record_approval(context.state, id, &staff, &decided).await?;
    see_other(&format!("/cases/{id}"))
}

/// `POST /cases/{case}/approval/out-of-band`: the preparer records an approval given outside
/// the appliance, where the deployment allows it.
pub(super) async fn approve_out_of_band(
    context: &RequestContext<'_>,
) -> Result<Response<Full<Bytes>>, HttpError> {
    let (id, case) = child_case(context).await?;
    let staff = context.viewer()?.staff.id.to_string();
    let name = context.values("approver_name").into_iter().next().unwrap_or_default();
    let allowed = context.state.config.child_protection.out_of_band_approval;
    let decided = case
        .approval
        .record_out_of_band(allowed, &case.preparer, &staff, &name)
        .map_err(|err| HttpError::Conflict(err.to_string()))?;
    saga::record_approval(context.state, id, &staff, &decided).await?;
    see_other(&format!("/cases/{id}"))
}

/// `POST /cases/{case}/ncmec`: the images of an approved report, in this request only: hashed,
/// compared with the wiki, checked against earlier reports, then sent as the journaled saga. An
/// image whose SHA-1 differs from the wiki's record holds the upload back under that staffer and
/// case: the sender cannot waive the difference; a person with the approver role who neither
/// prepared the report nor sent the images confirms or refuses it on the case page.
pub(super) async fn send(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    // One submission per case at a time, claimed before the case is read: a second click is
    // refused, and one that comes after the first has finished sees its submission.
    let _sending = context.state.in_flight.claim(case_id(context)?).ok_or_else(|| {
        HttpError::Conflict("this report is being sent right now; nothing more was sent".into())
    })?;
    let (id, case) = child_case(context).await?;
    let staff = context.viewer()?.staff.id.to_string();
    let client = ready_to_send(context, &case)?;
    let upload =
        context.take_upload().ok_or_else(|| HttpError::BadRequest("choose the images to send".into()))?;
    let chosen = choose_images(&upload, &case.report).map_err(HttpError::BadRequest)?;
    let wiki_hashes = compare_with_wiki(context, id, &case.report, &upload, &chosen).await;
    if wiki_hashes.iter().any(|h| matches!(h, WikiHash::Differs { .. })) {
        let held = HeldUpload { upload, chosen, wiki: wiki_hashes };
        // Files by number: error messages reach the log, names of reported files must not.
        context.state.held_images.put(&staff, id, held).map_err(|full| {
            HttpError::Conflict(format!(
                "an image's SHA-1 differs from the wiki's record, and the images could not be held for an \
                 approver to confirm: {full}; nothing was sent, send them again later"
            ))
        })?;
        return see_other(&format!("/cases/{id}#sha1-mismatch"));
    }
    deliver(context, id, &case, client, &staff, HeldUpload { upload, chosen, wiki: wiki_hashes }).await
}

fn nothing_held() -> HttpError {
    HttpError::Conflict(format!(
        "no such images are held on this case (they are dropped {} minutes after the upload, or when \
         replaced, refused or discarded); nothing was sent",
        held::HOLD_FOR.as_secs() / 60
    ))
}

/// `POST /cases/{case}/ncmec/held`: the sender discards the images their last upload held back
/// after a SHA-1 mismatch. Sending them is not theirs to decide: see [`decide_held`].
pub(super) async fn discard_held(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let (id, _) = child_case(context).await?;
    let staff = context.viewer()?.staff.id.to_string();
    if !context.values("action").iter().any(|a| a == "discard") {
        return Err(HttpError::Conflict(
            "an image's SHA-1 differs from the wiki's record, so an approver must confirm sending the held \
             images: a person with the approver role who neither prepared the report nor sent them, on the \
             case page; nothing was sent"
                .into(),
        ));
    }
    if !context.state.held_images.discard(&staff, id) {
        return Err(nothing_held());
    }
    see_other(&format!("/cases/{id}"))
}

/// `POST /cases/{case}/ncmec/held/waiver`: an approver who neither prepared the report nor sent
/// the images confirms sending the upload held under `hold` although an image's SHA-1 differs
/// from the wiki's (recorded in the case and audited, then sent from the held images, without a
/// second upload, as the journaled saga), or refuses it (recorded; the images are dropped).
pub(super) async fn decide_held(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let _sending = context.state.in_flight.claim(case_id(context)?).ok_or_else(|| {
        HttpError::Conflict("this report is being sent right now; nothing more was sent".into())
    })?;
    let (id, case) = child_case(context).await?;
    let staff = context.viewer()?.staff.id.to_string();
    let decision = match context.values("decision").first().map(String::as_str) {
        Some("confirm") => WaiverDecision::Confirm,
        Some("refuse") => WaiverDecision::Refuse,
        _ => return Err(HttpError::BadRequest("confirm or refuse sending the held images".into())),
    };
    let hold = context.values("hold").into_iter().next().unwrap_or_default();
    let holder = &context.state.held_images;
    let sender = holder.sender_of(id, &hold).ok_or_else(nothing_held)?;
    approval::may_decide_sha1_waiver(&case.preparer, &sender, &staff)
        .map_err(|err| HttpError::Conflict(err.to_string()))?;
    let client = match decision {
        WaiverDecision::Confirm => Some(ready_to_send(context, &case)?),
        WaiverDecision::Refuse => None,
    };
    // Taken only if it is still the upload the approver saw; dropped (and wiped) on any refusal
    // below.
    let held = holder.take(&sender, id, &hold).ok_or_else(nothing_held)?;
    if held.chosen.len() != case.report.files.len() || held.wiki.len() != held.chosen.len() {
        return Err(HttpError::Internal("the held images do not match the report's files".into()));
    }
    let files = held
        .chosen
        .iter()
        .zip(&held.wiki)
        .enumerate()
        .filter_map(|(file, (&index, wiki))| match wiki {
            WikiHash::Differs { wiki } => Some(DifferingFile {
                file,
                sha1: hex::encode(held.upload.files()[index].digests().sha1),
                wiki: wiki.clone(),
            }),
            _ => None,
        })
        .collect();
    let waiver = Sha1Waiver { decision, by: staff.clone(), sender, files };
    saga::record_sha1_waiver(context.state, id, &staff, &waiver).await?;
    match client {
        Some(client) => deliver(context, id, &case, client, &staff, held).await,
        None => see_other(&format!("/cases/{id}")),
    }
}

/// The NCMEC client for an approved report that no earlier submission blocks.
fn ready_to_send<'s>(context: &RequestContext<'s>, case: &ChildCase) -> Result<&'s NcmecClient, HttpError> {
    if !case.approval.releases() {
        return Err(HttpError::Conflict("this report is not approved; nothing was sent".into()));
    }
    if let Some(blocking) = case.blocking_submission() {
        let why = match blocking.state {
            SubmissionState::Filed(report) => format!("report {report} is already filed with NCMEC"),
            SubmissionState::Open(report) => {
                format!("report {report} is still open at NCMEC; it must be retracted first")
            }
            _ => "an earlier submit may have opened a report whose ID is unknown: ask NCMEC first".to_owned(),
        };
        return Err(HttpError::Conflict(format!("{why}; nothing was sent")));
    }
    context
        .state
        .services
        .ncmec(case.report.environment)
        .ok_or(HttpError::NotConfigured("the NCMEC account of this report's environment"))
}

/// Sends the chosen images (one per report file, in order) with their wiki comparisons as the
/// journaled saga, then the CRM step of a filed report.
async fn deliver(
    context: &RequestContext<'_>,
    id: CaseId,
    case: &ChildCase,
    client: &NcmecClient,
    staff: &str,
    images: HeldUpload,
) -> Result<Response<Full<Bytes>>, HttpError> {
    let HeldUpload { upload, chosen, wiki: wiki_hashes } = images;
    // Anything the staffer still held on this case is superseded by what is sent now.
    context.state.held_images.discard(staff, id);
    let report = &case.report;
    let mut images = Vec::new();
    for ((index, file), wiki_hash) in chosen.iter().zip(&report.files).zip(wiki_hashes) {
        let uploaded = &upload.files()[*index];
        let digests = uploaded.digests();
        let sha1 = hex::encode(digests.sha1);
        let prior = prior_reports(context, id, &digests.sha1).await?;
        images.push(Image {
            data: upload.bytes(uploaded),
            content_type: content_type(uploaded.content_type()),
            sent: SentFile {
                wiki_name: file.wiki_name.clone(),
                original_name: uploaded.file_name().to_owned(),
                size: uploaded.len() as u64,
                sha1,
                md5: hex::encode(digests.md5),
                sha256: hex::encode(digests.sha256),
                wiki_hash,
                prior,
            },
        });
    }
    let driver = Driver::staff(context.state, id, staff);
    let outcome = driver.submit(client, case.next_attempt(), report, &images).await?;
    let files: Vec<SentFile> = images.iter().map(|image| image.sent.clone()).collect();
    drop(images);
    drop(upload);
    if let SubmissionState::Filed(report_id) = outcome {
        driver.crm(report, report_id, &files).await?;
    }
    see_other(&format!("/cases/{id}"))
}

/// The index in `upload` of the image for each of the report's files (`image_0`, `image_1`,
/// …), or which are missing.
fn choose_images(upload: &MediaUpload, report: &ChildReport) -> Result<Vec<usize>, String> {
    let mut chosen = Vec::new();
    let mut missing = Vec::new();
    for i in 0..report.files.len() {
        let field = format!("image_{i}");
        match upload.files().iter().position(|f| f.field() == field && !f.is_empty()) {
            Some(index) => chosen.push(index),
            None => missing.push((i + 1).to_string()),
        }
    }
    if missing.is_empty() {
        Ok(chosen)
    } else {
        Err(format!("choose an image for each file; missing: file {}; nothing was sent", missing.join(", ")))
    }
}

/// The declared type, if it is one NCMEC takes as is; otherwise plain bytes.
fn content_type(declared: Option<&str>) -> &'static str {
    match declared.unwrap_or_default() {
        "image/jpeg" => "image/jpeg",
        "image/png" => "image/png",
        "image/gif" => "image/gif",
        "image/webp" => "image/webp",
        "video/mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// Each chosen image's SHA-1 against the wiki's record of its file (live versions, or the
/// deletion archive), read through the egress client as the staffer, for `case`.
async fn compare_with_wiki(
    context: &RequestContext<'_>,
    case: CaseId,
    report: &ChildReport,
    upload: &MediaUpload,
    chosen: &[usize],
) -> Vec<WikiHash> {
    let unchecked = |why: &str| vec![WikiHash::Unchecked { why: why.to_owned() }; chosen.len()];
    let Some(wiki) = &context.state.services.wiki else { return unchecked("no wiki is configured") };
    let Ok(project_api) = report.project.api() else { return unchecked("the project's host is not usable") };
    let Ok(staff) = context.viewer().map(|v| v.staff.id.to_string()) else {
        return unchecked("no staff member");
    };
    let plan = LookupPlan {
        project_api: &project_api,
        commons_api: &context.state.config.dmca.commons_api,
        archive_reader: lookup::archive_reader(wiki, &staff),
    };
    let names: Vec<String> = report.files.iter().map(|file| file.wiki_name.clone()).collect();
    let call = CallContext { actor: crate::audit::Actor::Staff(staff.clone()), case: Some(case) };
    let found = lookup::look_up(wiki, &call, &plan, &names).await;
    chosen
        .iter()
        .zip(&report.files)
        .map(|(index, file)| {
            let ours = hex::encode(upload.files()[*index].digests().sha1);
            let name = canonical_title(&file.wiki_name);
            WikiHash::compare(&ours, found.files.iter().find(|f| canonical_title(&f.name) == name))
        })
        .collect()
}

/// Earlier cases that reported an image with this SHA-1 (the keyed index), with their filed
/// report.
async fn prior_reports(
    context: &RequestContext<'_>,
    this: CaseId,
    sha1: &[u8; 20],
) -> Result<Vec<PriorReport>, HttpError> {
    let sha1 = *sha1;
    on_store(context, move |store| {
        let mut prior = Vec::new();
        for case in store.lookup(REPORTED_SHA1, &sha1)? {
            if case == this {
                continue;
            }
            let report_id = ChildCase::from_revisions(&store.case(case)?).and_then(|c| c.filed_report());
            prior.push(PriorReport { case: case.to_string(), report_id });
        }
        Ok::<_, crate::store::StoreError>(prior)
    })
    .await
}

/// `POST /cases/{case}/wiki/{file}`: deletes the report's file `file` (its index) on the wiki
/// and suppresses its old versions, with the staffer's own wiki grant, once.
pub(super) async fn suppress(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    if !context.state.config.child_protection.suppress_on_wiki {
        return Err(HttpError::NotFound);
    }
    let (id, case) = child_case(context).await?;
    let index: usize = context.param("file").and_then(|t| t.parse().ok()).ok_or(HttpError::NotFound)?;
    let file = case.report.files.get(index).ok_or(HttpError::NotFound)?;
    let wiki = context.state.services.wiki.as_ref().ok_or(HttpError::NotConfigured("the wiki"))?;
    let staff = context.viewer()?.staff.id.to_string();
    if !matches!(wiki.connection(&staff), WikiConnection::Connected { .. }) {
        return Err(HttpError::Conflict(
            "connect your wiki account first (on the home page): the file is deleted with your own rights"
                .into(),
        ));
    }
    if case.deleted_on_wiki(index) {
        return Err(HttpError::Conflict(format!("file {} is already deleted on the wiki", index + 1)));
    }
    let api = case
        .report
        .project
        .api()
        .map_err(|err| HttpError::Internal(format!("the project's host is not usable: {err}")))?;
    Driver::staff(context.state, id, &staff).suppress_on_wiki(wiki, &api, index, &file.wiki_name).await?;
    see_other(&format!("/cases/{id}"))
}

/// `GET /ncmec/retract`: the retraction page.
pub(super) async fn retract_form(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let csrf = context.csrf_token().unwrap_or_default();
    Ok(html(StatusCode::OK, render_retract(context.viewer()?, &csrf, &environments(context), &[], None)))
}

/// `POST /ncmec/retract`: retracts a report by its ID in the chosen environment (audited as an
/// egress call and as a retraction) and says what NCMEC's answer means.
pub(super) async fn retract(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let csrf = context.csrf_token().unwrap_or_default();
    let available = environments(context);
    let environment =
        context.values("environment").into_iter().next().and_then(|e| Environment::from_key(&e));
    let report_id = context.values("report_id").into_iter().next().and_then(|t| t.trim().parse::<u64>().ok());
    let mut errors = Vec::new();
    let client = environment.and_then(|e| context.state.services.ncmec(e));
    if client.is_none() {
        errors
            .push(FieldError::new("environment", "Choose an environment this appliance has an account for."));
    }
    if report_id.is_none() {
        errors.push(FieldError::new("report_id", "Give the report ID: digits only."));
    }
    let (Some(client), Some(environment), Some(report_id)) = (client, environment, report_id) else {
        return Ok(html(
            StatusCode::UNPROCESSABLE_ENTITY,
            render_retract(context.viewer()?, &csrf, &available, &errors, None),
        ));
    };
    let staff = context.viewer()?.staff.id.to_string();
    // A report one of our cases opened is retracted as that case's step: journaled in it before
    // the call and with NCMEC's answer after, so its page shows what became of it.
    let owner = case_of_report(context, environment, report_id).await?;
    let answer = match &owner {
        Some((case, attempt, files)) => {
            Driver::staff(context.state, *case, &staff)
                .retract_answered(client, *attempt, report_id, "asked on the retraction page", files)
                .await?
                .1
        }
        None => {
            let call = CallContext { actor: crate::audit::Actor::Staff(staff), case: None };
            client.retract(&call, report_id).await
        }
    };
    let code = retraction_code(&answer);
    let meaning = match (code, &answer) {
        (None, Err(err)) => format!("no answer from NCMEC: {}", err.summary()),
        (code, _) => retraction_meaning(code.unwrap_or(-1)).to_owned(),
    };
    let outcome =
        if matches!(code, Some(0)) { crate::audit::Outcome::Done } else { crate::audit::Outcome::Failed };
    context
        .audit(
            crate::audit::Action::Retract,
            None,
            outcome,
            format!("retraction page: report {report_id} ({}): {meaning}", environment.key()),
        )
        .await?;
    let result = RetractResult { report_id, environment, code, meaning, case: owner.map(|(case, ..)| case) };
    Ok(html(StatusCode::OK, render_retract(context.viewer()?, &csrf, &available, &[], Some(&result))))
}

/// The case whose submission `attempt` opened report `report_id` in `environment` and holds it
/// open or filed (found through the keyed index of reports), with that submission's files.
async fn case_of_report(
    context: &RequestContext<'_>,
    environment: Environment,
    report_id: u64,
) -> Result<Option<(CaseId, u32, Vec<SentFile>)>, HttpError> {
    on_store(context, move |store| {
        for case in store.lookup(saga::NCMEC_REPORT, &saga::report_key(environment, report_id))? {
            let Some(child) = ChildCase::from_revisions(&store.case(case)?) else { continue };
            let found = child.submissions.into_iter().find(|s| {
                s.environment == environment
                    && matches!(s.state, SubmissionState::Open(id) | SubmissionState::Filed(id) if id == report_id)
            });
            if let Some(submission) = found {
                return Ok(Some((case, submission.attempt, submission.files)));
            }
        }
        Ok::<_, crate::store::StoreError>(None)
    })
    .await
}

/// The case part of a child-protection case page.
pub(super) fn case_section(
    context: &RequestContext<'_>,
    id: CaseId,
    revisions: &[Revision],
) -> Option<Workflow> {
    let case = ChildCase::from_revisions(revisions)?;
    let viewer = context.viewer().ok()?;
    let staff = viewer.staff.id.to_string();
    let csrf = context.csrf_token().unwrap_or_default();
    // Held images of a case that can no longer be sent (filed or open since) are wiped now.
    let sendable = case.approval.releases() && case.blocking_submission().is_none();
    let held = if sendable {
        context.state.held_images.view(&staff, id)
    } else {
        context.state.held_images.discard(&staff, id);
        None
    };
    // What other staff hold for a second person's confirmation: shown only to an approver who
    // did not prepare the report, and never their own.
    let to_confirm = if sendable && viewer.staff.has_role(Role::Approver) && staff != case.preparer {
        context.state.held_images.on_case(id).into_iter().filter(|h| h.sender != staff).collect()
    } else {
        Vec::new()
    };
    let view = CaseView {
        id,
        case: &case,
        may_prepare: viewer.staff.has_role(Role::ChildProtection),
        may_approve: viewer.staff.has_role(Role::Approver) && staff != case.preparer,
        is_preparer: staff == case.preparer,
        out_of_band: context.state.config.child_protection.out_of_band_approval,
        environment_configured: context.state.services.ncmec(case.report.environment).is_some(),
        wiki: context.state.config.child_protection.suppress_on_wiki.then(|| WikiView {
            connected: context
                .state
                .services
                .wiki
                .as_ref()
                .is_some_and(|wiki| matches!(wiki.connection(&staff), WikiConnection::Connected { .. })),
        }),
        held,
        to_confirm,
        csrf_token: &csrf,
    };
    Some(render_case(&view))
}

/// The case named in the path: it must be a child-protection case the viewer may read.
async fn child_case(context: &RequestContext<'_>) -> Result<(CaseId, ChildCase), HttpError> {
    let (id, revisions) = case_of_kind(context, CaseKind::ChildProtection).await?;
    let case = ChildCase::from_revisions(&revisions)
        .ok_or_else(|| HttpError::Internal("the child-protection case cannot be read".into()))?;
    Ok((id, case))
}
