//! The checks every request passes, in this order:
//!
//! 1. the connection's certificate is verified again against the current CA and CRLs (so a
//!    revocation loaded by SIGHUP applies to open connections too);
//! 2. the certificate is mapped to a [`Caller`] through the current roster;
//! 3. a request that is not GET or HEAD must come from a rostered person, from this site
//!    (`Sec-Fetch-Site`, `Origin`), with a body within [`limits::MAX_FORM_BODY_BYTES`], carrying
//!    a CSRF token issued to that same person — whatever its path, so no route can forget it.
//!    The body is read only once the route's access rule has passed and its size is reserved
//!    from the form budget (`server.form_budget_kib`; full: 503 with `Retry-After`);
//! 4. the route is looked up and its access rule applied ([`router::authorize`]);
//! 5. the page is produced ([`handlers::dispatch`]).
//!
//! Whatever the outcome, [`headers::SecurityHeaders`] sets the security headers and one log line records
//! who asked for what and the status — never the body.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, Uri};
use time::OffsetDateTime;
use tracing::{info, warn};

use super::csrf::CsrfError;
use super::error::HttpError;
use super::handlers::{self, Form, RequestContext};
use super::refusals::{self, RefusalKey, Refusals};
use super::router::{self, Lookup, Router};
use super::server::PeerConnection;
use super::{headers, limits};
use crate::audit::{Action, Actor, AuditEntry, Outcome};
use crate::identity::{Caller, Staff, identify};
use crate::media::upload::{Receiver, UploadLimits};
use crate::media::{BudgetRefusal, MediaBudget, MediaUpload, UploadError};
use crate::pages;
use crate::pages::layout::Viewer;
use crate::state::{AppState, Live};

/// What refusals at the TLS handshake are counted under in place of a route's pattern.
pub const HANDSHAKE: &str = "(handshake)";

/// The name of the form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";

/// Runs requests through the checks and the handlers.
pub struct Pipeline {
    state: Arc<AppState>,
    router: Router,
    headers: headers::SecurityHeaders,
    refusals: Refusals,
}

impl Pipeline {
    /// A pipeline over `state` with the compiled-in route table.
    pub fn new(state: Arc<AppState>) -> Self {
        // The route table is a constant checked by the router's unit tests.
        let router = Router::new().expect("the route table in http::router has conflicting paths");
        let headers = headers::SecurityHeaders::new(&state.config);
        Self { state, router, headers, refusals: Refusals::default() }
    }

    /// Produces the response to one request; errors become error pages here.
    pub async fn handle(&self, peer: &PeerConnection, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        // The log records the route's pattern, never the path: a path carries case IDs and may
        // carry whatever someone typed.
        let route = self.router.pattern(&path);
        // One snapshot of roster and CRLs for the whole request, even if SIGHUP swaps them.
        let live = self.state.live();
        // The server hands over only connections with a verified, non-empty chain.
        let caller = identify(&live.roster, &peer.chain[0]);

        let (mut response, refusal) = match self.respond(&live, peer, &caller, request).await {
            Ok(response) => (response, None),
            Err(err) => (error_response(&err, &caller, &path), Some(err)),
        };
        self.headers.apply(response.headers_mut());

        let who = match &caller {
            Caller::Staff(staff) => staff.id.to_string(),
            Caller::Unrostered(fingerprint) => format!("unrostered:{fingerprint}"),
        };
        let status = response.status().as_u16();
        if let Some(err) = &refusal {
            self.audit_refusal(&caller, &method, &path, route, err).await;
        }
        match refusal {
            Some(
                HttpError::Internal(detail)
                | HttpError::AuditUnavailable(detail)
                | HttpError::AuditLogAltered(detail),
            ) => {
                warn!(remote = %peer.remote, %who, %method, route, status, "internal error: {detail}")
            }
            Some(err) => info!(remote = %peer.remote, %who, %method, route, status, "refused: {err}"),
            None => info!(remote = %peer.remote, %who, %method, route, status),
        }
        response
    }

    /// Records a refused access in the audit log, coalesced per certificate, reason and route
    /// (see [`Refusals`]): a loop of refusals cannot flood the writer staff need. The request is
    /// already refused, so a failed append changes nothing for it; it is logged as an error for
    /// the operator.
    async fn audit_refusal(
        &self,
        caller: &Caller,
        method: &Method,
        path: &str,
        route: &'static str,
        err: &HttpError,
    ) {
        let request = format!("{method} {}", refusals::quote(path, refusals::MAX_QUOTED_PATH));
        self.audit_denial(caller, route, request, err).await;
    }

    /// Records a handshake refused because the client's certificate (`leaf`) is revoked, under
    /// its holder, coalesced like every refusal (see [`Pipeline::audit_refusal`]). The handshake
    /// stops before the client proves it holds the certificate's key, and a certificate is not
    /// secret, so the entry says the certificate was presented, not that its holder connected.
    pub async fn audit_handshake_refusal(&self, leaf: &[u8], reason: &str) {
        let caller = identify(&self.state.live().roster, leaf);
        let err = HttpError::CertificateRejected(reason.to_owned());
        self.audit_denial(
            &caller,
            HANDSHAKE,
            "TLS handshake with this certificate (its key not proved)".to_owned(),
            &err,
        )
        .await;
    }

    /// Audits the refusal of `request` (what was asked: `GET /path`, or the handshake) for `err`.
    async fn audit_denial(&self, caller: &Caller, route: &'static str, request: String, err: &HttpError) {
        if !err.is_access_denial() {
            return;
        }
        let actor = match caller {
            Caller::Staff(staff) => Actor::Staff(staff.id.to_string()),
            Caller::Unrostered(fingerprint) => Actor::Unrostered(fingerprint.to_string()),
        };
        let key = RefusalKey { actor: actor.clone(), reason: err.denial_code(), route };
        let decision = self.refusals.note(key, Instant::now(), OffsetDateTime::now_utc());
        let mut entries = closed_windows(&decision);
        if decision.write {
            let mut details =
                format!("{request}: {}", refusals::quote(&err.to_string(), refusals::MAX_QUOTED_PATH));
            if decision.unitemised > 0 {
                details.push_str(&format!(
                    " ({} other refusal(s) counted, not itemised, while too many were open)",
                    decision.unitemised
                ));
            }
            entries.push(AuditEntry::now(actor, Action::AccessDenied, None, Outcome::Refused, details));
        }
        self.write_refusals(entries).await;
    }

    /// Writes the counts of refusal windows whose minute has closed (every window's when `all`,
    /// as the server stops), though no later refusal came to write them. The server calls it
    /// every [`refusals::FLUSH_EVERY`] and once after the last connection has drained.
    pub async fn flush_refusals(&self, all: bool) {
        let decision = self.refusals.flush(Instant::now(), all);
        let mut entries = closed_windows(&decision);
        if decision.unitemised > 0 {
            entries.push(AuditEntry::now(
                Actor::System,
                Action::AccessDenied,
                None,
                Outcome::Refused,
                format!("{} refusal(s) counted, not itemised, while too many were open", decision.unitemised),
            ));
        }
        self.write_refusals(entries).await;
    }

    /// Appends refusal entries; a failure is logged for the operator (the requests are refused
    /// whatever becomes of their entries).
    async fn write_refusals(&self, entries: Vec<AuditEntry>) {
        for entry in entries {
            if let Err(err) = self.state.store.audit_async(entry).await {
                tracing::error!("cannot audit a refused request: {err}");
            }
        }
    }

    async fn respond(
        &self,
        live: &Live,
        peer: &PeerConnection,
        caller: &Caller,
        request: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, HttpError> {
        live.tls
            .reverify_cached(&peer.chain, &peer.verified)
            .map_err(|err| HttpError::CertificateRejected(err.to_string()))?;
        let contact = &self.state.config.staff.access_contact;
        let (parts, body) = request.into_parts();

        let safe = parts.method == Method::GET || parts.method == Method::HEAD;
        let mut upload = None;
        let form = if safe {
            None
        } else {
            let Caller::Staff(staff) = caller else {
                return Err(HttpError::Unrostered {
                    fingerprint: peer.fingerprint,
                    contact: contact.clone(),
                });
            };
            check_same_origin(&parts.headers, &parts.uri)?;
            if let Some(boundary) = multipart_boundary(&parts.headers) {
                // Uploads: who may send one is decided before a byte of it is read.
                let route = match self.router.lookup(&parts.method, parts.uri.path()) {
                    Lookup::Found(route, _) if route.page.takes_uploads() => route,
                    _ => return Err(HttpError::UnsupportedMediaType),
                };
                router::authorize(route, caller, contact)?;
                let documents = route.page.takes_documents();
                upload = Some(self.receive_upload(&parts.headers, body, &boundary, staff, documents).await?);
                None
            } else {
                // Forms too: who may send one, and how large it is, are known before a byte of it
                // is read, and its size is reserved from the form budget (busy: 503).
                if let Lookup::Found(route, _) = self.router.lookup(&parts.method, parts.uri.path()) {
                    router::authorize(route, caller, contact)?;
                }
                let form = read_form(&parts.headers, body, &self.state.forms).await?;
                self.state
                    .csrf
                    .verify(&staff.id, form.get(CSRF_FIELD), SystemTime::now())
                    .map_err(HttpError::Csrf)?;
                Some(form)
            }
        };

        // HEAD is GET without the body; hyper leaves the body out on the wire.
        let method = if parts.method == Method::HEAD { Method::GET } else { parts.method.clone() };
        let (route, params) = match self.router.lookup(&method, parts.uri.path()) {
            Lookup::Found(route, params) => (route, params),
            // Someone not on the roster learns nothing about which pages exist.
            _ if matches!(caller, Caller::Unrostered(_)) => {
                return Err(HttpError::Unrostered {
                    fingerprint: peer.fingerprint,
                    contact: contact.clone(),
                });
            }
            Lookup::MethodNotAllowed(allowed) => return Err(HttpError::MethodNotAllowed { allowed }),
            Lookup::NotFound => return Err(HttpError::NotFound),
        };
        let staff = router::authorize(route, caller, contact)?;
        let context = RequestContext {
            viewer: staff.map(|staff| viewer(staff, parts.uri.path())),
            peer,
            live,
            csrf: &self.state.csrf,
            form,
            upload: std::sync::Mutex::new(upload),
            query: parts.uri.query().map(|query| Form::parse(query.as_bytes())).unwrap_or_default(),
            params,
            state: &self.state,
        };
        handlers::dispatch(route.page, &context).await
    }
}

impl Pipeline {
    /// Streams an upload into locked memory: its announced length is reserved from the media
    /// budget first (DMCA `documents` from their share of it; refused at once if it does not
    /// fit), and its first field must be a CSRF token issued to `staff`, checked before any
    /// file is read.
    async fn receive_upload(
        &self,
        headers: &HeaderMap,
        body: Incoming,
        boundary: &str,
        staff: &Staff,
        documents: bool,
    ) -> Result<MediaUpload, HttpError> {
        let declared = content_length(headers).ok_or(HttpError::LengthRequired)?;
        let declared = usize::try_from(declared).unwrap_or(usize::MAX);
        let reserved = if documents {
            self.state.media.reserve_documents(declared)
        } else {
            self.state.media.reserve(declared)
        };
        let reservation = reserved.map_err(|refusal| match refusal {
            BudgetRefusal::TooLarge { requested, limit } => HttpError::UploadTooLarge { requested, limit },
            BudgetRefusal::Busy { requested, free, limit } => HttpError::MediaBusy { requested, free, limit },
        })?;
        let mut receiver =
            Receiver::new(body.into_data_stream(), boundary, reservation, UploadLimits::default())
                .map_err(upload_error)?;
        // The token is tiny: it must arrive whole within its own deadline, not merely keep
        // trickling under the stall limit.
        let token =
            tokio::time::timeout(limits::UPLOAD_LEADING_FIELD_TIMEOUT, receiver.leading_field(CSRF_FIELD))
                .await
                .map_err(|_| HttpError::RequestTimeout)?
                .map_err(upload_error)?;
        self.state
            .csrf
            .verify(&staff.id, Some(token.as_str()), SystemTime::now())
            .map_err(HttpError::Csrf)?;
        tokio::time::timeout(limits::UPLOAD_READ_TIMEOUT, receiver.finish())
            .await
            .map_err(|_| HttpError::RequestTimeout)?
            .map_err(upload_error)
    }
}

fn upload_error(err: UploadError) -> HttpError {
    match err {
        UploadError::Memory(err) => HttpError::MemoryUnavailable(err.to_string()),
        UploadError::Stalled(_) => HttpError::RequestTimeout,
        UploadError::MissingLeadingField(_) => HttpError::Csrf(CsrfError::Missing),
        other => HttpError::BadUpload(other.to_string()),
    }
}

/// The boundary of a `multipart/form-data` body, if the request is one.
fn multipart_boundary(headers: &HeaderMap) -> Option<String> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = content_type.split(';').next()?.trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    // A multipart type without a usable boundary is refused as an unsupported body later.
    multer::parse_boundary(content_type).ok()
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok())
}

fn viewer<'a>(staff: &'a Staff, path: &'a str) -> Viewer<'a> {
    Viewer { staff, nav: router::navigation(staff), current_path: path }
}

/// Renders the page for `err`, with the navigation when the caller is on the roster.
fn error_response(err: &HttpError, caller: &Caller, path: &str) -> Response<Full<Bytes>> {
    let staff = match (caller, err) {
        // A certificate that no longer passes gets no personal header.
        (_, HttpError::CertificateRejected(_)) | (Caller::Unrostered(_), _) => None,
        (Caller::Staff(staff), _) => Some(staff),
    };
    let viewer = staff.map(|staff| viewer(staff, path));
    let page = err.page();
    let mut response =
        handlers::html(page.status, pages::errors::render(&page, viewer.as_ref(), case_in_path(path)));
    if let HttpError::MediaBusy { .. } | HttpError::FormsBusy { .. } = err {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    }
    if let HttpError::MethodNotAllowed { allowed } = err {
        let allow = allowed.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
        if let Ok(value) = HeaderValue::from_str(&allow) {
            response.headers_mut().insert(header::ALLOW, value);
        }
    }
    response
}

/// The case ID in a path under `/cases/{id}/…` (32 lower-case hex digits), if any.
fn case_in_path(path: &str) -> Option<&str> {
    let id = path.strip_prefix("/cases/")?.split('/').next()?;
    (id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(id)
}

/// Refuses state-changing requests that a browser marks as coming from another site.
fn check_same_origin(headers: &HeaderMap, uri: &Uri) -> Result<(), HttpError> {
    if let Some(site) = headers.get("sec-fetch-site") {
        // `none` is a user-initiated navigation (typed address, bookmark); anything else but
        // same-origin means another page caused this request.
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return Err(HttpError::CrossSite(format!(
                "Sec-Fetch-Site: {}",
                String::from_utf8_lossy(site.as_bytes())
            )));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let authority = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()));
        let same =
            authority.is_some_and(|authority| origin.as_bytes() == format!("https://{authority}").as_bytes());
        if !same {
            return Err(HttpError::CrossSite(format!(
                "Origin: {}",
                String::from_utf8_lossy(origin.as_bytes())
            )));
        }
    }
    Ok(())
}

/// Reads a URL-encoded form body within the size and time limits.
async fn read_form(
    headers: &HeaderMap,
    body: Incoming,
    budget: &Arc<MediaBudget>,
) -> Result<Form, HttpError> {
    const LIMIT: usize = limits::MAX_FORM_BODY_BYTES;
    let declared = content_length(headers);
    // Refuse before reading anything when the client announces too much.
    if declared.is_some_and(|n| n > LIMIT as u64) {
        return Err(HttpError::PayloadTooLarge { limit: LIMIT });
    }
    let is_urlencoded = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    if !is_urlencoded {
        return Err(HttpError::UnsupportedMediaType);
    }
    // What it announced, or the most a form may be when it announced nothing (chunked); held
    // until the form is parsed.
    let requested = declared.map_or(LIMIT, |n| usize::try_from(n).unwrap_or(LIMIT));
    let _reservation = budget.reserve(requested).map_err(|refusal| match refusal {
        BudgetRefusal::TooLarge { limit, .. } => HttpError::PayloadTooLarge { limit },
        BudgetRefusal::Busy { requested, free, limit } => HttpError::FormsBusy { requested, free, limit },
    })?;
    // Into one buffer of the reserved size, each frame dropped as it is copied: collecting the
    // frames and then joining them would hold the body twice at the end of the read.
    let mut buffer = Vec::with_capacity(requested.min(LIMIT));
    let mut limited = Limited::new(body, requested.max(1));
    let read = async {
        while let Some(frame) = limited.frame().await {
            if let Ok(data) = frame?.into_data() {
                buffer.extend_from_slice(&data);
            }
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    };
    tokio::time::timeout(limits::BODY_READ_TIMEOUT, read)
        .await
        .map_err(|_| HttpError::RequestTimeout)?
        .map_err(|err| {
            if err.downcast_ref::<LengthLimitError>().is_some() {
                HttpError::PayloadTooLarge { limit: LIMIT }
            } else {
                HttpError::Internal(format!("reading the request body: {err}"))
            }
        })?;
    Ok(Form::parse(&buffer))
}

/// One entry per closed refusal window: how many more refusals it counted, and when.
fn closed_windows(decision: &refusals::Decision) -> Vec<AuditEntry> {
    decision
        .closed
        .iter()
        .map(|(closed, tally)| {
            AuditEntry::now(
                closed.actor.clone(),
                Action::AccessDenied,
                None,
                Outcome::Refused,
                format!(
                    "{} more refusal(s) ({} on {}) from {} to {}",
                    tally.count,
                    closed.reason,
                    closed.route,
                    rfc3339(tally.first),
                    rfc3339(tally.last)
                ),
            )
        })
        .collect()
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
