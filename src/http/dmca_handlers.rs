//! What the DMCA routes do: the form, its submission (record first, then the chosen steps),
//! a correction, a step's retry, and posting a wiki notice with the staffer's own wiki grant.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

use super::error::HttpError;
use super::handlers::{RequestContext, html, see_other};
use super::router;
use crate::audit::{Action, Actor, AuditEntry, Outcome};
use crate::cases::{CaseId, CaseKind, Change};
use crate::dmca::form::{FieldError, RawForm};
use crate::dmca::model::Takedown;
use crate::dmca::notices::{self, NoticeSettings, TargetWiki, WikiNotice};
use crate::dmca::outbound::Marks;
use crate::dmca::saga::{Posted, RecordError, Saga};
use crate::dmca::shelf::{self, document_indexes};
use crate::dmca::steps::{DmcaCase, LUMEN, NOTICE_PREFIX, SALESFORCE, StepStatus};
use crate::pages::dmca::{CaseView, FormPage, render_case_steps, render_form};

/// `GET /dmca/new`: a blank form.
pub(super) async fn form(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let sites = sites(context).await;
    let csrf = context.csrf_token().unwrap_or_default();
    let raw = RawForm::blank();
    let page = FormPage {
        raw: &raw,
        errors: &[],
        sites: &sites,
        held: &[],
        held_key: &shelf::new_key(),
        csrf_token: &csrf,
        action: "/dmca/new",
        notice: None,
    };
    Ok(html(StatusCode::OK, render_form(context.viewer()?, &page)))
}

/// `POST /dmca/new`: checks the form; with errors, shows it again (documents kept); otherwise
/// records the case, then runs Lumen and Salesforce, and shows the case.
pub(super) async fn submit(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let staff = context.viewer()?.staff.id.to_string();
    let (raw, held_key) = read_submission(context, &staff);
    let sites = sites(context).await;
    let today = time::OffsetDateTime::now_utc().date();
    let mut takedown = match raw.check(&sites, &context.state.config.dmca, today) {
        Ok(takedown) => takedown,
        Err(errors) => return show_errors(context, &raw, &errors, &held_key, "/dmca/new", None).await,
    };
    takedown.documents = context.state.documents.records(&held_key, &staff);
    let summary = format!(
        "recorded a DMCA request ({}{}, {} document(s))",
        takedown.decision.as_str(),
        if takedown.test { ", test" } else { "" },
        takedown.documents.len()
    );
    let payload = serde_json::json!({ "dmca": &takedown });
    let store = context.state.store.clone();
    let author = staff.clone();
    let created = tokio::task::spawn_blocking(move || {
        store.commit(|batch| {
            let id = batch.create_case(CaseKind::Dmca, &author, payload)?;
            batch.audit(&AuditEntry::now(
                Actor::Staff(author.clone()),
                Action::CreateCase,
                Some(id),
                Outcome::Done,
                summary,
            ))?;
            Ok(id)
        })
    })
    .await
    .map_err(|err| HttpError::Internal(err.to_string()))?
    .map_err(|err| {
        HttpError::Internal(format!("the request could not be recorded ({err}); nothing was sent"))
    })?;
    context.state.documents.rename(&held_key, &created.to_string(), &staff);
    let saga = Saga::new(context.state, created, &staff);
    let lumen = saga.lumen(&takedown).await.map_err(record_error)?;
    let mut marks = Marks::default();
    if lumen.status == StepStatus::Done {
        marks.lumen_url = lumen.link.clone();
    }
    saga.salesforce(&takedown, &marks, raw.open_salesforce_case).await.map_err(record_error)?;
    if !takedown.post_wiki_notices {
        let reason =
            if takedown.decision.took_down() { "not chosen on the form" } else { "the request was denied" };
        for notice in
            prepare_notices(context, &Takedown { post_wiki_notices: true, ..takedown.clone() }, None)
        {
            let step = format!("{NOTICE_PREFIX}{}", notice.kind.key());
            saga.record(&crate::dmca::steps::StepRecord::new(&step, StepStatus::Skipped, reason))
                .await
                .map_err(record_error)?;
        }
    }
    context.state.documents.sweep();
    see_other(&format!("/cases/{created}"))
}

/// `GET /cases/{case}/edit`: the form filled from the case, for a correction.
pub(super) async fn edit_form(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let (id, case) = dmca_case(context).await?;
    let raw = raw_from(&case.takedown);
    let key = id.to_string();
    let staff = context.viewer()?.staff.id.to_string();
    let held = context.state.documents.records(&key, &staff);
    let sites = sites(context).await;
    let csrf = context.csrf_token().unwrap_or_default();
    let action = format!("/cases/{id}/edit");
    let lumen_refusal = case
        .steps
        .get(LUMEN)
        .filter(|r| r.status == StepStatus::Failed)
        .map(|r| format!("Lumen's last answer: {}", r.detail));
    let page = FormPage {
        raw: &raw,
        errors: &[],
        sites: &sites,
        held: &held,
        held_key: &key,
        csrf_token: &csrf,
        action: &action,
        notice: lumen_refusal.as_deref(),
    };
    Ok(html(StatusCode::OK, render_form(context.viewer()?, &page)))
}

/// `POST /cases/{case}/edit`: records the corrected request as a new revision, then runs the
/// steps that have not succeeded (never one that is done or may be).
pub(super) async fn edit_submit(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let (id, case) = dmca_case(context).await?;
    let staff = context.viewer()?.staff.id.to_string();
    let key = id.to_string();
    let (raw, _) = read_submission_into(context, &staff, &key);
    let sites = sites(context).await;
    let today = time::OffsetDateTime::now_utc().date();
    let action = format!("/cases/{id}/edit");
    let mut takedown = match raw.check(&sites, &context.state.config.dmca, today) {
        Ok(takedown) => takedown,
        Err(errors) => return show_errors(context, &raw, &errors, &key, &action, None).await,
    };
    let held = context.state.documents.records(&key, &staff);
    takedown.documents = if held.is_empty() { case.takedown.documents.clone() } else { held };
    let payload = serde_json::json!({ "dmca": &takedown });
    let store = context.state.store.clone();
    let author = staff.clone();
    tokio::task::spawn_blocking(move || {
        store.commit(|batch| {
            batch.revise_case(id, Change::Correction, &author, payload)?;
            batch.audit(&AuditEntry::now(
                Actor::Staff(author.clone()),
                Action::ReviseCase,
                Some(id),
                Outcome::Done,
                "corrected the DMCA request".to_owned(),
            ))
        })
    })
    .await
    .map_err(|err| HttpError::Internal(err.to_string()))?
    .map_err(|err| {
        HttpError::Internal(format!("the correction could not be recorded ({err}); nothing was sent"))
    })?;
    let saga = Saga::new(context.state, id, &staff);
    if case.may_run(LUMEN, false).is_ok() {
        saga.lumen(&takedown).await.map_err(record_error)?;
    }
    if case.may_run(SALESFORCE, false).is_ok() || case.status(SALESFORCE) == Some(StepStatus::Done) {
        let updated = load_case(context, id).await?;
        saga.salesforce(&takedown, &marks_of(&updated), raw.open_salesforce_case)
            .await
            .map_err(record_error)?;
    }
    see_other(&format!("/cases/{id}"))
}

/// `POST /cases/{case}/steps/{step}`: runs Lumen or Salesforce again (an unknown step only
/// when the staffer confirms they checked the service; Salesforce "again" updates the same
/// Case).
pub(super) async fn run_step(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let (id, case) = dmca_case(context).await?;
    let staff = context.viewer()?.staff.id.to_string();
    let step = context.param("step").unwrap_or_default().to_owned();
    let confirmed = context.values("confirm").iter().any(|v| v == "yes");
    let key = id.to_string();
    if let Some(upload) = context.take_upload() {
        let indexes = document_indexes(&upload);
        if !indexes.is_empty() {
            // Documents attached again replace any still held.
            context.state.documents.drop_key(&key);
            context.state.documents.put(&key, &staff, upload, indexes);
        }
    }
    let allowed = case.may_run(&step, confirmed);
    let saga = Saga::new(context.state, id, &staff);
    match step.as_str() {
        LUMEN => {
            allowed.map_err(|why| HttpError::Conflict(format!("Lumen: {why}")))?;
            saga.lumen(&case.takedown).await.map_err(record_error)?;
        }
        SALESFORCE => {
            if case.status(SALESFORCE) != Some(StepStatus::Done) {
                allowed.map_err(|why| HttpError::Conflict(format!("Salesforce: {why}")))?;
            }
            saga.salesforce(&case.takedown, &marks_of(&case), true).await.map_err(record_error)?;
        }
        _ => return Err(HttpError::NotFound),
    }
    see_other(&format!("/cases/{id}"))
}

/// `POST /cases/{case}/notices/{notice}`: posts one notice, as reviewed, with the staffer's
/// own wiki grant. A CAPTCHA shows the case page again with the question and the text kept.
pub(super) async fn post_notice(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let (id, case) = dmca_case(context).await?;
    let staff = context.viewer()?.staff.id.to_string();
    let key = context.param("notice").unwrap_or_default().to_owned();
    let prepared = prepare_notices(context, &case.takedown, case.lumen_url());
    let notice = prepared.iter().find(|n| n.kind.key() == key).ok_or(HttpError::NotFound)?;
    let confirmed = context.values("confirm").iter().any(|v| v == "yes");
    case.may_run(&format!("{NOTICE_PREFIX}{key}"), confirmed)
        .map_err(|why| HttpError::Conflict(format!("{}: {why}", notice.kind.label())))?;
    let text = context.values("text").into_iter().next().unwrap_or_default().replace("\r\n", "\n");
    if text.trim().is_empty() {
        return Err(HttpError::BadRequest("the notice's text is empty; nothing was posted".into()));
    }
    let captcha_id = context.values("captcha_id").into_iter().next().unwrap_or_default();
    let captcha_word = context.values("captcha_word").into_iter().next().unwrap_or_default();
    let captcha = (!captcha_id.is_empty()).then_some((captcha_id.as_str(), captcha_word.as_str()));
    let api = notice_api(context, &case.takedown, notice)?;
    match Saga::new(context.state, id, &staff)
        .post_notice(notice, &api, &text, captcha)
        .await
        .map_err(record_error)?
    {
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
) -> Option<maud::Markup> {
    let case = DmcaCase::from_revisions(revisions)?;
    Some(section(context, id, &case, None, None))
}

fn section(
    context: &RequestContext<'_>,
    id: CaseId,
    case: &DmcaCase,
    captcha: Option<(&str, &str, String)>,
    edited: Option<(&str, &str)>,
) -> maud::Markup {
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
    Ok(html(status, crate::pages::cases::render_case(context.viewer()?, id, revisions, None, Some(extra))))
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

fn notice_api(
    context: &RequestContext<'_>,
    takedown: &Takedown,
    notice: &WikiNotice,
) -> Result<url::Url, HttpError> {
    let settings = &context.state.config.dmca;
    match notice.wiki {
        TargetWiki::Foundation => Ok(settings.foundation_api.clone()),
        TargetWiki::Commons => Ok(settings.commons_api.clone()),
        TargetWiki::Project => url::Url::parse(&format!("https://{}/w/api.php", takedown.project.host))
            .map_err(|err| HttpError::Internal(format!("the project's host is not usable: {err}"))),
    }
}

fn marks_of(case: &DmcaCase) -> Marks {
    Marks {
        lumen_url: case.lumen_url().map(str::to_owned),
        wiki_revisions: case
            .steps
            .values()
            .filter(|r| r.step.starts_with(NOTICE_PREFIX) && r.status == StepStatus::Done)
            .filter_map(|r| {
                let kind = notices::NoticeKind::from_key(r.step.trim_start_matches(NOTICE_PREFIX))?;
                Some((kind.label(), r.detail.clone(), r.revision?))
            })
            .collect(),
    }
}

/// Reads the submitted form and holds its documents under the form's key (a new one if the
/// form carried none, or one that is not a key).
fn read_submission(context: &RequestContext<'_>, staff: &str) -> (RawForm, String) {
    let key = context
        .values("held_documents")
        .into_iter()
        .next()
        .filter(|k| k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(shelf::new_key);
    read_submission_into(context, staff, &key)
}

fn read_submission_into(context: &RequestContext<'_>, staff: &str, key: &str) -> (RawForm, String) {
    let raw = RawForm::read(|name| context.values(name));
    if let Some(upload) = context.take_upload() {
        let indexes = document_indexes(&upload);
        context.state.documents.put(key, staff, upload, indexes);
    }
    (raw, key.to_owned())
}

async fn show_errors(
    context: &RequestContext<'_>,
    raw: &RawForm,
    errors: &[FieldError],
    key: &str,
    action: &str,
    notice: Option<&str>,
) -> Result<Response<Full<Bytes>>, HttpError> {
    let staff = context.viewer()?.staff.id.to_string();
    let held = context.state.documents.records(key, &staff);
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
        notice,
    };
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, render_form(context.viewer()?, &page)))
}

async fn sites(context: &RequestContext<'_>) -> Vec<crate::dmca::form::ProjectChoice> {
    context.state.sites.choices(context.state.services.wiki.as_ref(), &context.state.config.dmca).await
}

/// The case named in the path: it must be a DMCA case the viewer may read.
async fn dmca_case(context: &RequestContext<'_>) -> Result<(CaseId, DmcaCase), HttpError> {
    let id: CaseId = context.param("case").and_then(|t| t.parse().ok()).ok_or(HttpError::UnknownCase)?;
    let revisions = case_revisions(context, id).await?;
    let kind = revisions.first().ok_or(HttpError::UnknownCase)?.kind;
    router::authorize_case(kind, context.viewer()?.staff, &context.state.config.staff.access_contact)?;
    if kind != CaseKind::Dmca {
        return Err(HttpError::NotFound);
    }
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
    let store = context.state.store.clone();
    tokio::task::spawn_blocking(move || store.case(id))
        .await
        .map_err(|err| HttpError::Internal(err.to_string()))?
        .map_err(HttpError::from)
}

fn record_error(err: RecordError) -> HttpError {
    HttpError::Internal(err.to_string())
}

/// The form as the case holds it, for a correction.
fn raw_from(takedown: &Takedown) -> RawForm {
    RawForm {
        send_to_lumen: takedown.send_to_lumen,
        post_wiki_notices: takedown.post_wiki_notices,
        open_salesforce_case: true,
        test: takedown.test,
        project: takedown.project.dbname.clone(),
        project_other: if takedown.project.dbname == crate::dmca::form::OTHER_PROJECT {
            takedown.project.host.clone()
        } else {
            String::new()
        },
        sender: takedown.sender.clone(),
        date_sent: takedown.date_sent.clone(),
        method: takedown.method.clone(),
        to: takedown.to.clone(),
        from: takedown.from.clone(),
        subject: takedown.subject.clone(),
        body: takedown.body.clone(),
        involved_users: takedown.involved_users.join("\n"),
        affected_files: takedown.affected_files.join("\n"),
        affected_pages: takedown.affected_pages.join("\n"),
        original_urls: takedown.original_urls.join("\n"),
        decision: takedown.decision.as_str().to_owned(),
        statements: takedown.statements.iter().map(|s| s.as_str().to_owned()).collect(),
        strike_reasons: takedown.strike_reasons.iter().map(|r| r.as_str().to_owned()).collect(),
        strike_other: takedown.strike_other.clone(),
        lumen_title: takedown.lumen_title.clone(),
        commons_title: takedown.commons_title.clone(),
        wmf_title: takedown.wmf_title.clone(),
    }
}
