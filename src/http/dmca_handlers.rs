//! What the DMCA routes do: the form, its submission (record first, then the chosen steps),
//! a correction, a step's retry, and posting a wiki notice with the staffer's own wiki grant.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

use super::case_handlers::case_id;
use super::error::HttpError;
use super::handlers::{RequestContext, html, see_other};
use crate::audit::Actor;
use crate::cases::{CaseId, CaseKind};
use crate::dmca::form::{FieldError, RawForm};
use crate::dmca::lookup::{self, LookupPlan};
use crate::dmca::model::Takedown;
use crate::dmca::notices::{self, NoticeSettings, WikiNotice};
use crate::dmca::outbound::{Marks, lumen_refusals};
use crate::dmca::saga::{Posted, Saga, StepClaim};
use crate::dmca::shelf::{self, document_indexes};
use crate::dmca::steps::{DmcaCase, LUMEN, NOTICE_PREFIX, SALESFORCE, StepStatus};
use crate::egress::client::CallContext;
use crate::pages::cases::Workflow;
use crate::pages::dmca::{CaseView, FormPage, render_case_steps, render_form};

/// `GET /dmca/new`: a blank form.
pub(super) async fn form(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    show_form(context, &RawForm::blank(), &[], &shelf::new_key(), "/dmca/new", StatusCode::OK).await
}

/// `POST /dmca/new`: checks the form; with errors, shows it again (documents kept); otherwise
/// records the case, then runs Lumen and Salesforce, and shows the case.
pub(super) async fn submit(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let staff = context.viewer()?.staff.id.to_string();
    // Read before the upload (which holds the fields) is taken.
    let lookup = looking_up(context);
    let (raw, held_key) = read_submission(context, &staff);
    if lookup {
        return look_up_files(context, &raw, &held_key, None, "/dmca/new").await;
    }
    let sites = sites(context).await;
    let today = time::OffsetDateTime::now_utc().date();
    let mut takedown = match raw.check(&sites, &context.state.config.dmca, today) {
        Ok(takedown) => takedown,
        Err(errors) => return show_errors(context, &raw, &errors, &held_key, "/dmca/new").await,
    };
    takedown.documents = context.state.documents.records(&held_key, &staff);
    takedown.wiki_lookup = context
        .state
        .documents
        .lookup(&held_key, &staff)
        .and_then(|lookup| lookup.narrowed_to(&takedown.affected_files));
    let created = Saga::record_request(context.state, &staff, &takedown).await?;
    context.state.documents.rename(&held_key, &created.to_string(), &staff);
    let lumen_claim = claim(context, created, LUMEN, "Lumen")?;
    let salesforce_claim = claim(context, created, SALESFORCE, "Salesforce")?;
    let saga = Saga::new(context.state, created, &staff);
    let lumen = saga.lumen(&lumen_claim, &takedown).await?;
    let marks =
        Marks { lumen_url: lumen.link.filter(|_| lumen.status == StepStatus::Done), ..Marks::default() };
    saga.salesforce(&salesforce_claim, &takedown, &marks, raw.open_salesforce_case).await?;
    context.state.documents.sweep();
    see_other(&format!("/cases/{created}"))
}

/// `GET /cases/{case}/edit`: the form filled from the case, for a correction.
pub(super) async fn edit_form(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let (id, case) = dmca_case(context).await?;
    let raw = RawForm::from_takedown(&case.takedown);
    let key = id.to_string();
    let staff = context.viewer()?.staff.id.to_string();
    let held = context.state.documents.records(&key, &staff);
    let sites = sites(context).await;
    let csrf = context.csrf_token().unwrap_or_default();
    let action = format!("/cases/{id}/edit");
    let lumen_failure = case.steps.get(LUMEN).filter(|r| r.status == StepStatus::Failed);
    let lumen_refusal = lumen_failure.map(|r| format!("Lumen's last answer: {}", r.detail));
    let refused =
        lumen_failure.map(|r| lumen_refusals(&r.refused_fields, &case.takedown)).unwrap_or_default();
    let lookup = context.state.documents.lookup(&key, &staff).or_else(|| case.takedown.wiki_lookup.clone());
    let page = FormPage {
        raw: &raw,
        errors: &refused,
        sites: &sites,
        held: &held,
        held_key: &key,
        csrf_token: &csrf,
        action: &action,
        notice: lumen_refusal.as_deref(),
        lookup: lookup.as_ref(),
    };
    Ok(html(StatusCode::OK, render_form(context.viewer()?, &page)))
}

/// `POST /cases/{case}/edit`: records the corrected request as a new revision, then runs the
/// steps that have not succeeded (never one that is done or may be, nor one running now).
pub(super) async fn edit_submit(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let (id, _) = dmca_case(context).await?;
    let staff = context.viewer()?.staff.id.to_string();
    let key = id.to_string();
    let lookup = looking_up(context);
    let raw = read_submission_into(context, &staff, &key);
    let action = format!("/cases/{id}/edit");
    if lookup {
        return look_up_files(context, &raw, &key, Some(id), &action).await;
    }
    // Claimed before the case is read again, so what may run is decided on the latest record.
    let lumen_claim = claim(context, id, LUMEN, "Lumen")?;
    let salesforce_claim = claim(context, id, SALESFORCE, "Salesforce")?;
    let case = load_case(context, id).await?;
    let sites = sites(context).await;
    let today = time::OffsetDateTime::now_utc().date();
    let mut takedown = match raw.check(&sites, &context.state.config.dmca, today) {
        Ok(takedown) => takedown,
        Err(errors) => return show_errors(context, &raw, &errors, &key, &action).await,
    };
    let held = context.state.documents.records(&key, &staff);
    takedown.documents = if held.is_empty() { case.takedown.documents.clone() } else { held };
    // A new lookup replaces the recorded one; otherwise what was recorded stays (for the
    // files still named).
    takedown.wiki_lookup = context
        .state
        .documents
        .lookup(&key, &staff)
        .or_else(|| case.takedown.wiki_lookup.clone())
        .and_then(|lookup| lookup.narrowed_to(&takedown.affected_files));
    let saga = Saga::new(context.state, id, &staff);
    saga.record_correction(&takedown).await?;
    if case.may_run(LUMEN, false).is_ok() {
        saga.lumen(&lumen_claim, &takedown).await?;
    }
    if case.may_run(SALESFORCE, false).is_ok() {
        let updated = load_case(context, id).await?;
        saga.salesforce(&salesforce_claim, &takedown, &updated.marks(), raw.open_salesforce_case).await?;
    }
    see_other(&format!("/cases/{id}"))
}

/// `POST /cases/{case}/steps/{step}`: runs Lumen or Salesforce again (an unknown step only
/// when the staffer confirms they checked the service; Salesforce "again" updates the same
/// Case).
pub(super) async fn run_step(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let step = context.param("step").unwrap_or_default().to_owned();
    let label = match step.as_str() {
        LUMEN => "Lumen",
        SALESFORCE => "Salesforce",
        _ => return Err(HttpError::NotFound),
    };
    // One run of a step at a time, claimed before the case is read: a second click is refused,
    // and one that comes after the first has finished sees its outcome.
    let step_claim = claim(context, case_id(context)?, &step, label)?;
    let (id, case) = dmca_case(context).await?;
    let staff = context.viewer()?.staff.id.to_string();
    let confirmed = context.values("confirm").iter().any(|v| v == "yes");
    let key = id.to_string();
    if let Some(upload) = context.take_upload() {
        let indexes = document_indexes(&upload);
        if !indexes.is_empty() {
            // Documents attached again replace any still held.
            context.state.documents.drop_key(&key, &staff);
            context.state.documents.put(&key, &staff, upload, indexes);
        }
    }
    case.may_run(&step, confirmed).map_err(|why| HttpError::Conflict(format!("{label}: {why}")))?;
    let saga = Saga::new(context.state, id, &staff);
    if step == LUMEN {
        saga.lumen(&step_claim, &case.takedown).await?;
    } else {
        saga.salesforce(&step_claim, &case.takedown, &case.marks(), true).await?;
    }
    see_other(&format!("/cases/{id}"))
}

/// `POST /cases/{case}/notices/{notice}`: posts one notice, as reviewed, with the staffer's
/// own wiki grant. A CAPTCHA shows the case page again with the question and the text kept.
pub(super) async fn post_notice(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let key = context.param("notice").unwrap_or_default().to_owned();
    let (id, case) = dmca_case(context).await?;
    let staff = context.viewer()?.staff.id.to_string();
    let prepared = prepare_notices(context, &case.takedown, case.lumen_url());
    let index = notices::handles(&prepared).iter().position(|h| *h == key).ok_or(HttpError::NotFound)?;
    let notice = &prepared[index];
    // The handle is a position: the form also names the notice it was shown for (in the body,
    // which is never logged), so a correction that reordered the users cannot redirect it.
    if context.values("notice").first().is_some_and(|shown| *shown != notice.kind.key()) {
        return Err(HttpError::Conflict(format!(
            "{}: the notices changed since the page was shown; reload the case page",
            notice.kind.kind_label()
        )));
    }
    // The handle names the step only through the case, so the step is claimed once it is known,
    // and whether it may run is decided on a read taken under the claim (see `run_step`): a
    // concurrent post of the same notice is refused, and one that finished meanwhile is seen.
    let step = format!("{NOTICE_PREFIX}{}", notice.kind.key());
    let step_claim = claim(context, id, &step, "This notice")?;
    let (_, case) = dmca_case(context).await?;
    let confirmed = context.values("confirm").iter().any(|v| v == "yes");
    // Errors name the kind of notice, never the user: they reach the system log.
    case.may_run(&step, confirmed)
        .map_err(|why| HttpError::Conflict(format!("{}: {why}", notice.kind.kind_label())))?;
    let text = context.values("text").into_iter().next().unwrap_or_default().replace("\r\n", "\n");
    if text.trim().is_empty() {
        return Err(HttpError::BadRequest("the notice's text is empty; nothing was posted".into()));
    }
    let captcha_id = context.values("captcha_id").into_iter().next().unwrap_or_default();
    let captcha_word = context.values("captcha_word").into_iter().next().unwrap_or_default();
    let captcha = (!captcha_id.is_empty()).then_some((captcha_id.as_str(), captcha_word.as_str()));
    let api = notice
        .wiki
        .api(&case.takedown, &context.state.config.dmca)
        .map_err(|err| HttpError::Internal(format!("the project's host is not usable: {err}")))?;
    match Saga::new(context.state, id, &staff).post_notice(&step_claim, notice, &api, &text, captcha).await? {
        Posted::Recorded(_) => see_other(&format!("/cases/{id}")),
        Posted::Captcha(challenge) => {
            let prompt = match (&challenge.question, challenge.absolute_url(&api)) {
                (Some(question), _) => question.clone(),
                (None, Some(url)) => format!("open {url} and type what the image shows"),
                (None, None) => "the wiki gave no question; post this notice by hand".into(),
            };
            let case = load_case(context, id).await?;
            let revisions = case_revisions(context, id).await?;
            render_dmca_case(
                context,
                id,
                &revisions,
                &case,
                Some((&key, &challenge.id, prompt)),
                Some((&key, &text)),
                StatusCode::OK,
            )
            .await
        }
    }
}

/// The DMCA part of a case page (steps, notices), or `None` for other kinds.
pub(super) fn case_section(
    context: &RequestContext<'_>,
    id: CaseId,
    revisions: &[crate::cases::Revision],
) -> Option<Workflow> {
    let case = DmcaCase::from_revisions(revisions)?;
    Some(section(context, id, &case, None, None))
}

fn section(
    context: &RequestContext<'_>,
    id: CaseId,
    case: &DmcaCase,
    captcha: Option<(&str, &str, String)>,
    edited: Option<(&str, &str)>,
) -> Workflow {
    let viewer = context.viewer.as_ref();
    let staff = viewer.map(|v| v.staff.id.to_string()).unwrap_or_default();
    let may_act = viewer.is_some_and(|v| v.staff.has_role(crate::identity::Role::Dmca));
    let notices = if case.takedown.post_wiki_notices {
        prepare_notices(context, &case.takedown, case.lumen_url())
    } else {
        Vec::new()
    };
    let csrf = context.csrf_token().unwrap_or_default();
    let view = CaseView {
        id,
        case,
        notices: &notices,
        may_act,
        wiki: context.state.services.wiki.as_ref().map(|w| w.connection(&staff)),
        csrf_token: &csrf,
        captcha,
        edited,
    };
    render_case_steps(&view)
}

async fn render_dmca_case(
    context: &RequestContext<'_>,
    id: CaseId,
    revisions: &[crate::cases::Revision],
    case: &DmcaCase,
    captcha: Option<(&str, &str, String)>,
    edited: Option<(&str, &str)>,
    status: StatusCode,
) -> Result<Response<Full<Bytes>>, HttpError> {
    let extra = section(context, id, case, captcha, edited);
    let names = super::case_handlers::staff_names(context);
    let page = crate::pages::cases::render_case(context.viewer()?, id, revisions, None, Some(extra), &names);
    Ok(html(status, page))
}

fn prepare_notices(
    context: &RequestContext<'_>,
    takedown: &Takedown,
    lumen_url: Option<&str>,
) -> Vec<WikiNotice> {
    let settings = NoticeSettings {
        year: time::OffsetDateTime::now_utc().year(),
        legal_email: &context.state.config.dmca.legal_email,
        lumen_url,
        sent_display: &takedown.date_sent,
    };
    notices::prepare(takedown, &settings)
}

/// Reads the submitted form and holds its documents under the form's key, for this staff
/// member (a new key if the form carried none, or one that is not a form's key: a case ID is
/// not).
fn read_submission(context: &RequestContext<'_>, staff: &str) -> (RawForm, String) {
    let key = context
        .values("held_documents")
        .into_iter()
        .next()
        .filter(|k| shelf::is_form_key(k))
        .unwrap_or_else(shelf::new_key);
    (read_submission_into(context, staff, &key), key)
}

fn read_submission_into(context: &RequestContext<'_>, staff: &str, key: &str) -> RawForm {
    let raw = RawForm::read(|name| context.values(name));
    if let Some(upload) = context.take_upload() {
        let indexes = document_indexes(&upload);
        context.state.documents.put(key, staff, upload, indexes);
    }
    raw
}

async fn show_errors(
    context: &RequestContext<'_>,
    raw: &RawForm,
    errors: &[FieldError],
    key: &str,
    action: &str,
) -> Result<Response<Full<Bytes>>, HttpError> {
    show_form(context, raw, errors, key, action, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// The form as typed, with its errors, its held documents and its last lookup.
async fn show_form(
    context: &RequestContext<'_>,
    raw: &RawForm,
    errors: &[FieldError],
    key: &str,
    action: &str,
    status: StatusCode,
) -> Result<Response<Full<Bytes>>, HttpError> {
    let staff = context.viewer()?.staff.id.to_string();
    let held = context.state.documents.records(key, &staff);
    let lookup = context.state.documents.lookup(key, &staff);
    let sites = sites(context).await;
    let csrf = context.csrf_token().unwrap_or_default();
    let page = FormPage {
        raw,
        errors,
        sites: &sites,
        held: &held,
        held_key: key,
        csrf_token: &csrf,
        action,
        notice: None,
        lookup: lookup.as_ref(),
    };
    Ok(html(status, render_form(context.viewer()?, &page)))
}

/// Whether the form was sent with "Look up these files on the wiki".
fn looking_up(context: &RequestContext<'_>) -> bool {
    context.values("action").iter().any(|v| v == "lookup")
}

/// Looks the form's affected files up on the project's wiki (through egress, as the staffer),
/// keeps the result with the form, and shows the form again with it. Nothing is recorded.
async fn look_up_files(
    context: &RequestContext<'_>,
    raw: &RawForm,
    key: &str,
    case: Option<CaseId>,
    action: &str,
) -> Result<Response<Full<Bytes>>, HttpError> {
    let staff = context.viewer()?.staff.id.to_string();
    let settings = &context.state.config.dmca;
    let sites = sites(context).await;
    let mut errors = Vec::new();
    let project = raw.chosen_project(&sites, settings).map_err(|e| errors.extend(e)).ok();
    let names = raw.file_names().map_err(|e| errors.extend(e)).unwrap_or_default();
    if names.is_empty() && errors.iter().all(|e| e.field != "affected_files") {
        errors.push(FieldError {
            field: "affected_files",
            message: "Type at least one file name to look it up.".into(),
        });
    }
    let Some(wiki) = context.state.services.wiki.as_ref() else {
        errors.push(FieldError {
            field: "affected_files",
            message: "No wiki is configured on this appliance, so nothing can be looked up.".into(),
        });
        return show_errors(context, raw, &errors, key, action).await;
    };
    let project_api = project.as_ref().map(|p| p.api());
    let (Some(Ok(project_api)), true) = (project_api, errors.is_empty()) else {
        return show_errors(context, raw, &errors, key, action).await;
    };
    let plan = LookupPlan {
        project_api: &project_api,
        commons_api: &settings.commons_api,
        archive_reader: lookup::archive_reader(wiki, &staff),
    };
    let call = CallContext { actor: Actor::Staff(staff.clone()), case };
    let found = lookup::look_up(wiki, &call, &plan, &names).await;
    context.state.documents.keep_lookup(key, &staff, found);
    show_form(context, raw, &[], key, action, StatusCode::OK).await
}

/// Claims `step` of `case` for this request, or refuses: it is running in another request
/// (this staffer's or another's). `label` names the step for the page and the log.
fn claim<'s>(
    context: &RequestContext<'s>,
    case: CaseId,
    step: &str,
    label: &str,
) -> Result<StepClaim<'s>, HttpError> {
    context.state.dmca_steps.claim(case, step).ok_or_else(|| {
        HttpError::Conflict(format!(
            "{label}: this step is running right now (started by you or another staff member); nothing more \
             was sent. Open the case again in a moment to see how it ended"
        ))
    })
}

async fn sites(context: &RequestContext<'_>) -> Vec<crate::dmca::form::ProjectChoice> {
    context.state.sites.choices(context.state.services.wiki.as_ref(), &context.state.config.dmca).await
}

/// The case named in the path: it must be a DMCA case the viewer may read.
async fn dmca_case(context: &RequestContext<'_>) -> Result<(CaseId, DmcaCase), HttpError> {
    let (id, revisions) = super::case_handlers::case_of_kind(context, CaseKind::Dmca).await?;
    let case = DmcaCase::from_revisions(&revisions)
        .ok_or_else(|| HttpError::Internal("the DMCA case cannot be read".into()))?;
    Ok((id, case))
}

async fn load_case(context: &RequestContext<'_>, id: CaseId) -> Result<DmcaCase, HttpError> {
    let revisions = case_revisions(context, id).await?;
    DmcaCase::from_revisions(&revisions)
        .ok_or_else(|| HttpError::Internal("the DMCA case cannot be read".into()))
}

async fn case_revisions(
    context: &RequestContext<'_>,
    id: CaseId,
) -> Result<Vec<crate::cases::Revision>, HttpError> {
    super::case_handlers::on_store(context, move |store| store.case(id)).await
}
