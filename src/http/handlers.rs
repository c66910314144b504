//! What each page does once the pipeline has let a request through.
//!
//! Handlers receive a [`RequestContext`] whose `viewer` holds the typed staff identity; they
//! never look at headers to decide who is asking.

use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use maud::Markup;

use super::csrf::CsrfKey;
use super::error::HttpError;
use super::router::Page;
use super::server::PeerConnection;
use super::{audit_handlers, case_handlers, child_protection_handlers, dmca_handlers, wiki_handlers};
use crate::audit::{Action, Actor, AuditEntry, Outcome};
use crate::cases::CaseId;
use crate::media::MediaUpload;
use crate::pages;
use crate::pages::layout::Viewer;
use crate::state::{AppState, Live};

/// A submitted URL-encoded form: its fields in order, names may repeat.
#[derive(Default)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    /// Parses `application/x-www-form-urlencoded` bytes.
    pub fn parse(body: &[u8]) -> Self {
        Self { fields: form_urlencoded::parse(body).into_owned().collect() }
    }

    /// The fields encoded again (`a=1&b=2`), in order, repeats kept.
    pub fn encoded(&self) -> String {
        let mut encoder = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.fields {
            encoder.append_pair(name, value);
        }
        encoder.finish()
    }

    /// The first value of field `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every value of field `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.fields.iter().filter(|(n, _)| n == name).map(|(_, v)| v.clone()).collect()
    }
}

/// Everything a handler may use.
pub struct RequestContext<'a> {
    /// The staff member and their navigation; `None` only on routes open to any certificate.
    pub viewer: Option<Viewer<'a>>,
    /// The connection the request came on.
    pub peer: &'a PeerConnection,
    /// The roster and TLS set in force for this request.
    pub live: &'a Live,
    /// Issues CSRF tokens for the forms a page renders.
    pub csrf: &'a CsrfKey,
    /// The submitted form, for requests other than GET (already CSRF-checked).
    pub form: Option<Form>,
    /// The upload, on pages that take them (already CSRF-checked; its bytes in locked memory).
    /// A handler that keeps it beyond the request takes it ([`RequestContext::take_upload`]).
    pub upload: std::sync::Mutex<Option<MediaUpload>>,
    /// The query string's fields (`?before=…`).
    pub query: Form,
    /// The path's parameters by name (`case` in `/cases/{case}`).
    pub params: Vec<(String, String)>,
    /// The daemon's configuration and store.
    pub state: &'a AppState,
}

impl RequestContext<'_> {
    /// A CSRF token for forms on the page being rendered.
    pub fn csrf_token(&self) -> Option<String> {
        self.viewer.as_ref().map(|v| self.csrf.issue(&v.staff.id, SystemTime::now()))
    }

    /// Appends an audit entry by the viewer; if it cannot be written, the action must not
    /// happen, and the caller returns the error.
    pub async fn audit(
        &self,
        action: Action,
        case: Option<CaseId>,
        outcome: Outcome,
        details: String,
    ) -> Result<(), HttpError> {
        let actor = Actor::Staff(self.viewer()?.staff.id.to_string());
        let entry = AuditEntry::now(actor, action, case, outcome, details);
        let written = self.state.store.audit_async(entry).await;
        written.map(drop).map_err(|err| match self.state.store.writes_refused() {
            Some(_) => HttpError::AuditLogAltered(err.to_string()),
            None => HttpError::AuditUnavailable(err.to_string()),
        })
    }

    /// Takes the upload out of the request (to hold its files beyond it).
    pub fn take_upload(&self) -> Option<MediaUpload> {
        self.upload.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }

    /// Every value of the submitted field `name`, from the form or the upload's text fields.
    pub fn values(&self, name: &str) -> Vec<String> {
        if let Some(form) = &self.form {
            return form.all(name);
        }
        let upload = self.upload.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        upload.as_ref().map(|upload| upload.fields_named(name)).unwrap_or_default()
    }

    /// The path parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The staff member making the request (every route but the stylesheet has one).
    pub fn viewer(&self) -> Result<&Viewer<'_>, HttpError> {
        self.viewer.as_ref().ok_or_else(|| {
            HttpError::Internal("a staff-only page was routed without a staff member".to_owned())
        })
    }
}

/// Produces the page for an allowed request.
pub async fn dispatch(page: Page, context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    match page {
        Page::Cases => case_handlers::list(context).await,
        Page::Case => case_handlers::show(context).await,
        Page::CaseExport => case_handlers::export(context).await,
        Page::WikiConnect => wiki_handlers::connect(context).await,
        Page::DmcaForm => dmca_handlers::form(context).await,
        Page::DmcaSubmit => dmca_handlers::submit(context).await,
        Page::DmcaEditForm => dmca_handlers::edit_form(context).await,
        Page::DmcaEdit => dmca_handlers::edit_submit(context).await,
        Page::DmcaStep => dmca_handlers::run_step(context).await,
        Page::DmcaNotice => dmca_handlers::post_notice(context).await,
        Page::WikiCallback => wiki_handlers::callback(context).await,
        Page::CpForm => child_protection_handlers::form(context).await,
        Page::CpSubmit => child_protection_handlers::submit(context).await,
        Page::CpApprove => child_protection_handlers::approve(context).await,
        Page::CpApproveOutOfBand => child_protection_handlers::approve_out_of_band(context).await,
        Page::CpSend => child_protection_handlers::send(context).await,
        Page::CpDiscardHeld => child_protection_handlers::discard_held(context).await,
        Page::CpDecideHeld => child_protection_handlers::decide_held(context).await,
        Page::CpSuppress => child_protection_handlers::suppress(context).await,
        Page::NcmecRetractForm => child_protection_handlers::retract_form(context).await,
        Page::NcmecRetract => child_protection_handlers::retract(context).await,
        Page::Home => {
            let viewer = context.viewer()?;
            let services = &context.state.services;
            let wiki = services.wiki.as_ref().map(|w| w.connection(&viewer.staff.id.to_string()));
            let home = pages::home::Home {
                fingerprint: &context.peer.fingerprint,
                services: services.board.snapshot(),
                wiki,
                csrf_token: context.csrf_token(),
                sandbox_warnings: context.state.sandbox.warnings(),
            };
            Ok(html(StatusCode::OK, pages::home::render(viewer, &home)))
        }
        Page::AuditLog => audit_handlers::show(context).await,
        Page::Roster => {
            Ok(html(StatusCode::OK, pages::roster::render(context.viewer()?, &context.live.roster)))
        }
        #[cfg(feature = "demo")]
        Page::MediaProbe => super::media_handlers::media_probe(context).await,
        #[cfg(feature = "demo")]
        Page::MediaProbeForm => super::media_handlers::media_probe_form(context),
        Page::Stylesheet => {
            Ok(with_type(StatusCode::OK, "text/css; charset=utf-8", pages::STYLESHEET.into()))
        }
    }
}

/// An HTML response, with typed bidirectional controls made visible ([`crate::pages::bidi`]).
pub fn html(status: StatusCode, markup: Markup) -> Response<Full<Bytes>> {
    with_type(status, "text/html; charset=utf-8", pages::bidi::reveal(markup.into_string()).into())
}

/// A `303 See Other` to `location`.
pub fn see_other(location: &str) -> Result<Response<Full<Bytes>>, HttpError> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    let value = HeaderValue::from_str(location).map_err(|e| HttpError::Internal(e.to_string()))?;
    response.headers_mut().insert(header::LOCATION, value);
    Ok(response)
}

fn with_type(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
