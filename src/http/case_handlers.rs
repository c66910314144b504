//! What the case routes do: list cases, show one (audited before anything is shown), and hand
//! an exporter one case as an age file for legal counsel (audited before it is made).
//!
//! Store calls block (decryption, fsync), so they run on tokio's blocking pool.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::error::HttpError;
use super::handlers::{RequestContext, html};
use super::router;
use crate::audit::{Action, Outcome};
use crate::case_log::Filter;
use crate::cases::{CaseId, CaseKind};
use crate::export::{self, ExportError, Selection};
use crate::identity::Role;
use crate::pages::cases::{ExportOffer, ListView, render_case, render_list};
use crate::store::{Store, StoreError};

/// `GET /cases`: the case log the viewer's roles open, filtered, sorted and paged
/// ([`Filter`]); `?id=` opens one case by its ID.
pub(super) async fn list(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let viewer = context.viewer()?;
    let lookup = context.query.get("id").map(str::trim).filter(|id| !id.is_empty()).map(str::to_owned);
    if let Some(text) = &lookup
        && let Ok(id) = text.parse::<CaseId>()
        && let Some(summary) = on_store(context, move |store| store.case_summary(id)).await?
        && router::may_read(viewer.staff, summary.kind)
    {
        return super::handlers::see_other(&format!("/cases/{id}"));
    }
    let (filter, ignored) = Filter::from_query(|name| context.query.get(name).map(str::to_owned));
    // Cases the viewer's roles do not open are left out without a word: not even their number
    // is said (a DMCA agent learns nothing about child-protection reports). The index chooses
    // the page among the readable kinds only, and only the cases on it are decrypted.
    let kinds: Vec<CaseKind> =
        CaseKind::ALL.into_iter().filter(|kind| router::may_read(viewer.staff, *kind)).collect();
    let page_filter = filter.clone();
    let (rows, more) = on_store(context, move |store| store.case_page(&page_filter, &kinds)).await?;
    let view = ListView { filter: &filter, ignored: &ignored, more, not_found: lookup.as_deref() };
    Ok(html(StatusCode::OK, render_list(viewer, &rows, &view)))
}

/// `GET /cases/{case}`: one case. The view is audited first; if that fails nothing is shown.
pub(super) async fn show(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let viewer = context.viewer()?;
    let id = case_id(context)?;
    let revisions = on_store(context, move |store| store.case(id)).await?;
    let kind = revisions.first().ok_or(HttpError::UnknownCase)?.kind;
    router::authorize_case(kind, viewer.staff, &context.state.config.staff.access_contact)?;
    context.audit(Action::ViewCase, Some(id), Outcome::Done, "viewed the case page".to_owned()).await?;
    let offer = viewer.staff.has_role(Role::Exporter).then(|| ExportOffer {
        csrf_token: context.csrf_token().unwrap_or_default(),
        recipients: &context.state.config.export.legal_recipients,
    });
    let workflow = match kind {
        CaseKind::Dmca => super::dmca_handlers::case_section(context, id, &revisions),
        CaseKind::ChildProtection => super::child_protection_handlers::case_section(context, id, &revisions),
        CaseKind::Log => None,
    };
    Ok(html(StatusCode::OK, render_case(viewer, id, &revisions, offer, workflow, &staff_names(context))))
}

/// A login's name on the roster in force, for the case history.
pub(super) fn staff_names<'c>(context: &'c RequestContext<'_>) -> impl Fn(&str) -> Option<String> + 'c {
    move |login| {
        context.live.roster.staff().iter().find(|s| s.id.as_str() == login).map(|s| s.display_name.clone())
    }
}

/// `POST /cases/{case}/export`: one case as an age file encrypted to legal counsel. Audited
/// before it is made; a failure to make it is audited too.
pub(super) async fn export(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let id = case_id(context)?;
    if !on_store(context, move |store| store.contains_case(id)).await? {
        return Err(HttpError::UnknownCase);
    }
    let recipients = context.state.config.export.legal_recipients.clone();
    let to: Vec<String> = recipients.iter().map(ToString::to_string).collect();
    let details =
        format!("downloaded an export of this case, encrypted to legal counsel ({})", to.join(", "));
    context.audit(Action::Export, Some(id), Outcome::Done, details.clone()).await?;
    let made = on_store(context, move |store| {
        let mut bundle = Vec::new();
        export::write(store, &Selection::Cases(vec![id]), &recipients, &mut bundle)?;
        Ok::<_, ExportError>(bundle)
    })
    .await;
    let bundle = match made {
        Ok(bundle) => bundle,
        Err(err) => {
            context
                .audit(Action::Export, Some(id), Outcome::Failed, format!("{details}: failed, nothing sent"))
                .await?;
            return Err(err);
        }
    };
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut response = Response::new(Full::new(Bytes::from(bundle)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    let disposition = format!("attachment; filename=\"takedown-case-{id}-{stamp}.age\"");
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|e| HttpError::Internal(e.to_string()))?,
    );
    Ok(response)
}

/// The revisions of the case named in the path, which must be of `kind` (another kind is not
/// found here) and readable by the viewer (otherwise 403, audited by the pipeline).
pub(super) async fn case_of_kind(
    context: &RequestContext<'_>,
    kind: CaseKind,
) -> Result<(CaseId, Vec<crate::cases::Revision>), HttpError> {
    let id = case_id(context)?;
    let revisions = on_store(context, move |store| store.case(id)).await?;
    let found = revisions.first().ok_or(HttpError::UnknownCase)?.kind;
    router::authorize_case(found, context.viewer()?.staff, &context.state.config.staff.access_contact)?;
    if found != kind {
        return Err(HttpError::NotFound);
    }
    Ok((id, revisions))
}

pub(super) fn case_id(context: &RequestContext<'_>) -> Result<CaseId, HttpError> {
    context.param("case").and_then(|text| text.parse().ok()).ok_or(HttpError::UnknownCase)
}

/// Runs `work` on the store on the blocking pool; an unknown case becomes a 404.
pub(super) async fn on_store<T: Send + 'static, E: Into<HttpError> + Send + 'static>(
    context: &RequestContext<'_>,
    work: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
) -> Result<T, HttpError> {
    let store = context.state.store.clone();
    match tokio::task::spawn_blocking(move || work(&store)).await {
        Ok(result) => result.map_err(Into::into),
        Err(err) => Err(HttpError::Internal(err.to_string())),
    }
}

impl From<StoreError> for HttpError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::UnknownCase(_) => HttpError::UnknownCase,
            other => HttpError::Internal(other.to_string()),
        }
    }
}

impl From<crate::workflow::RecordError> for HttpError {
    fn from(err: crate::workflow::RecordError) -> Self {
        HttpError::Internal(err.to_string())
    }
}

impl From<ExportError> for HttpError {
    fn from(err: ExportError) -> Self {
        match err {
            ExportError::Store(err) => err.into(),
            other => HttpError::Internal(other.to_string()),
        }
    }
}
