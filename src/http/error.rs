//! The one mapping from everything that can go wrong with a request to a status and a page.

use hyper::{Method, StatusCode};

use super::csrf::CsrfError;
use crate::identity::{Fingerprint, Role};

/// Why a request was not served.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The certificate passed the handshake but fails now (revoked, or its CA removed, since).
    #[error("client certificate no longer accepted: {0}")]
    CertificateRejected(String),
    /// A state-changing request came from another site (`Sec-Fetch-Site` or `Origin`).
    #[error("cross-site request refused: {0}")]
    CrossSite(String),
    /// The form's CSRF token was missing or wrong.
    #[error("csrf check failed: {0}")]
    Csrf(CsrfError),
    /// The action's audit entry could not be written, so the action was not done (fail closed).
    #[error("audit log unavailable: {0}")]
    AuditUnavailable(String),
    /// The audit log failed its full verification after start, so nothing more is recorded
    /// (and nothing that must be recorded is done) until it is investigated.
    #[error("audit log altered: {0}")]
    AuditLogAltered(String),
    /// A bug or an I/O failure on our side.
    #[error("internal error: {0}")]
    Internal(String),
    /// The path exists, but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed {
        /// Methods the path does answer.
        allowed: Vec<Method>,
    },
    /// The person lacks the role the route needs.
    #[error("missing role {needed}")]
    MissingRole {
        /// The role the route needs.
        needed: Role,
        /// Whom to ask for it.
        contact: String,
    },
    /// No such page.
    #[error("not found")]
    NotFound,
    /// The case ID is well formed but no case has it.
    #[error("no such case")]
    UnknownCase,
    /// The body is larger than the route accepts.
    #[error("request body over {limit} bytes")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body did not arrive in time.
    #[error("request body not received in time")]
    RequestTimeout,
    /// A valid certificate that is not on the roster.
    #[error("certificate {fingerprint} is not on the roster")]
    Unrostered {
        /// The certificate's fingerprint, which the administrator adds to the roster.
        fingerprint: Fingerprint,
        /// Whom to ask.
        contact: String,
    },
    /// A form was sent in an encoding this route does not read.
    #[error("unsupported body type")]
    UnsupportedMediaType,
    /// An external service refused or failed; the message (which names the service and says
    /// what to do) is shown.
    #[error("external service: {0}")]
    Upstream(String),
    /// An upload did not announce its length, so its memory cannot be reserved before reading.
    #[error("upload without Content-Length")]
    LengthRequired,
    /// An upload is larger than all the memory set aside for media.
    #[error("upload of {requested} bytes exceeds the media budget of {limit} bytes")]
    UploadTooLarge {
        /// The announced size.
        requested: usize,
        /// The whole budget.
        limit: usize,
    },
    /// Other uploads hold the media budget right now; nothing was read.
    #[error("media budget busy: {free} of {limit} bytes free, {requested} asked")]
    MediaBusy {
        /// The announced size.
        requested: usize,
        /// What is free now.
        free: usize,
        /// The whole budget.
        limit: usize,
    },
    /// Other requests' form bodies hold the whole form budget now (`server.form_budget_kib`).
    #[error("form budget busy: {requested} bytes do not fit, {free} of {limit} bytes free")]
    FormsBusy {
        /// What the form announced (or the largest form, when it announced nothing).
        requested: usize,
        /// What is free now.
        free: usize,
        /// The whole budget.
        limit: usize,
    },
    /// No lockable memory could be had for an upload (the detail goes to the log).
    #[error("no lockable memory for an upload: {0}")]
    MemoryUnavailable(String),
    /// The upload form could not be read.
    #[error("upload not readable: {0}")]
    BadUpload(String),
    /// The page needs a service the config leaves out.
    #[error("{0} is not configured")]
    NotConfigured(&'static str),
    /// The action does not fit the case's state (a step already done, or that may have been).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The submitted form is not usable; the message says why and what to do.
    #[error("bad request: {0}")]
    BadRequest(String),
}

/// What an error page says: a status, a title and paragraphs of explanation.
#[derive(Debug, PartialEq, Eq)]
pub struct ErrorPage {
    /// The HTTP status.
    pub status: StatusCode,
    /// A short title saying what did not happen.
    pub title: String,
    /// What happened and what to do, one paragraph each.
    pub paragraphs: Vec<String>,
}

impl HttpError {
    /// Whether the request was refused because of who sent it or from where (these are audited
    /// as denied access); the others are mistakes (404, 405, 413…) or our own failures.
    pub fn is_access_denial(&self) -> bool {
        matches!(
            self,
            HttpError::CertificateRejected(_)
                | HttpError::CrossSite(_)
                | HttpError::Csrf(_)
                | HttpError::MissingRole { .. }
                | HttpError::Unrostered { .. }
        )
    }

    /// A short code for an access denial's reason (`unrostered`, `missing-role`, …), by which
    /// refusals are counted together in the audit log; `other` for anything else.
    pub fn denial_code(&self) -> &'static str {
        match self {
            HttpError::CertificateRejected(_) => "certificate-rejected",
            HttpError::CrossSite(_) => "cross-site",
            HttpError::Csrf(_) => "csrf",
            HttpError::MissingRole { .. } => "missing-role",
            HttpError::Unrostered { .. } => "unrostered",
            _ => "other",
        }
    }

    /// The status and text of the page for this error. Internal details are logged, not shown.
    pub fn page(&self) -> ErrorPage {
        let (status, title, paragraphs) = match self {
            HttpError::CertificateRejected(_) => (
                StatusCode::FORBIDDEN,
                "Certificate no longer accepted",
                vec![
                    "Your certificate was revoked or its issuer is no longer trusted since this \
                     connection opened."
                        .to_owned(),
                    "Close the browser and ask the tools administrators for a new certificate.".to_owned(),
                ],
            ),
            HttpError::CrossSite(_) => (
                StatusCode::FORBIDDEN,
                "Request from another site refused",
                vec![
                    "This request came from a page on another site. Changes can only be made \
                     from the appliance's own pages, so nothing was changed."
                        .to_owned(),
                    "If you meant to do this, open the appliance's address yourself and use the form \
                     there."
                        .to_owned(),
                ],
            ),
            HttpError::Csrf(reason) => (StatusCode::FORBIDDEN, "Form not accepted", vec![reason.to_string()]),
            HttpError::AuditUnavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Not done: the audit log could not record it",
                vec![
                    "Everything done here is recorded in the audit log first. Recording failed, so \
                     nothing was shown or changed."
                        .to_owned(),
                    "Try again in a minute; if it keeps failing, tell the tools team (the daemon's log \
                     has the cause)."
                        .to_owned(),
                ],
            ),
            HttpError::AuditLogAltered(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Not done: the audit log failed its integrity check",
                vec![
                    "The appliance found that its audit log was altered, and records nothing more \
                     until that is investigated. Nothing was shown or changed."
                        .to_owned(),
                    "Tell the tools team now: the daemon's log names the altered entry, and `takedown \
                     audit verify` shows it."
                        .to_owned(),
                ],
            ),
            HttpError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side",
                vec![
                    "The error has been logged. Try again; if it keeps happening, tell the tools team."
                        .to_owned(),
                ],
            ),
            HttpError::MethodNotAllowed { allowed } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "Not possible on this page",
                vec![
                    format!(
                        "This page accepts only {}.",
                        allowed.iter().map(Method::as_str).collect::<Vec<_>>().join(", ")
                    ),
                    "Use the links and buttons on the appliance's pages.".to_owned(),
                ],
            ),
            HttpError::MissingRole { needed, contact } => (
                StatusCode::FORBIDDEN,
                "You need another role for this page",
                vec![
                    format!(
                        "This page needs the {needed} role, which lets a person {}.",
                        needed.description()
                    ),
                    format!("If your work needs it, ask {contact}."),
                ],
            ),
            HttpError::NotFound => (
                StatusCode::NOT_FOUND,
                "No such page",
                vec!["Check the address, or start from the home page.".to_owned()],
            ),
            HttpError::UnknownCase => (
                StatusCode::NOT_FOUND,
                "No such case",
                vec!["No case has this ID. Check the link, or find the case in the case list.".to_owned()],
            ),
            HttpError::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much data",
                vec![format!("This form accepts at most {} KiB.", limit / 1024)],
            ),
            HttpError::RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "The form took too long to arrive",
                vec!["Check your connection and submit again.".to_owned()],
            ),
            HttpError::Unrostered { fingerprint, contact } => (
                StatusCode::FORBIDDEN,
                "Your certificate is not on the staff roster",
                vec![
                    "Your certificate was issued by the staff CA, but nobody has added it to the \
                     roster yet, so it opens nothing here."
                        .to_owned(),
                    format!("Ask {contact} to add it. Give them this fingerprint:"),
                    fingerprint.to_string(),
                ],
            ),
            HttpError::LengthRequired => (
                StatusCode::LENGTH_REQUIRED,
                "Upload size not announced",
                vec![
                    "Uploads must announce their size. Submit the form from the appliance's own page."
                        .to_owned(),
                ],
            ),
            HttpError::UploadTooLarge { requested, limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large to hold in memory",
                vec![
                    format!(
                        "Uploads are held only in locked memory, never on disk. This one ({}) is larger than all \
                         the memory set aside for uploads ({}). Nothing was read.",
                        mebibytes(*requested),
                        mebibytes(*limit)
                    ),
                    "Send the files in several smaller submissions, or ask the operator to raise \
                     hardening.media_budget_mib."
                        .to_owned(),
                ],
            ),
            HttpError::MediaBusy { requested, free, limit } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Busy with other uploads: try again in a minute",
                vec![
                    format!(
                        "Uploads are held only in locked memory. Other uploads hold it now: {} of {} is free, and \
                         this upload needs {}. Nothing was read or stored.",
                        mebibytes(*free),
                        mebibytes(*limit),
                        mebibytes(*requested)
                    ),
                    "Go back (your browser keeps what you typed and chose) and submit again in a minute."
                        .to_owned(),
                ],
            ),
            HttpError::FormsBusy { requested, free, limit } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Busy: try again in a minute",
                vec![
                    format!(
                        "Forms are read into locked memory, and other requests hold it now: {} of {} is free, and \
                         this form needs {}. Nothing was read or stored.",
                        mebibytes(*free),
                        mebibytes(*limit),
                        mebibytes(*requested)
                    ),
                    "Go back (your browser keeps what you typed) and submit again in a minute.".to_owned(),
                ],
            ),
            HttpError::MemoryUnavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "No safe memory for this upload",
                vec![
                    "Uploads are held only in memory that cannot be swapped to disk, and none could be had. \
                     Nothing was read or stored."
                        .to_owned(),
                    "Tell the tools team: the daemon's log says which limit to raise.".to_owned(),
                ],
            ),
            HttpError::BadUpload(reason) => (
                StatusCode::BAD_REQUEST,
                "The upload could not be read",
                vec![format!("{reason}."), "Nothing was kept. Go back and submit the form again.".to_owned()],
            ),
            HttpError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Form encoding not accepted",
                vec!["Submit the form from the appliance's own page.".to_owned()],
            ),
            HttpError::Conflict(message) => {
                // The title names what stands in the way, in the workflow's own words ("Not
                // done: another person with the approver role must decide on it").
                let reason = message.split(';').next().unwrap_or(message).trim();
                return ErrorPage {
                    status: StatusCode::CONFLICT,
                    title: format!("Not done: {reason}"),
                    paragraphs: vec![
                        sentence(message),
                        "Nothing was changed by this request. The case page shows where each step stands \
                         and what can be done next."
                            .to_owned(),
                    ],
                };
            }
            HttpError::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                "The form cannot be used as sent",
                vec![message.clone(), "Go back, correct it and send it again.".to_owned()],
            ),
            HttpError::Upstream(message) => (
                StatusCode::BAD_GATEWAY,
                "An external service did not do it",
                vec![message.clone(), "Nothing else was changed here.".to_owned()],
            ),
            HttpError::NotConfigured(service) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "This service is not set up",
                vec![format!(
                    "The configuration has no [{service}] section, so nothing can be sent to it. Ask the tools team."
                )],
            ),
        };
        ErrorPage { status, title: title.to_owned(), paragraphs }
    }
}

/// `message` as a sentence: a capital first letter and a full stop.
fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let mut text: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

/// A size for people: MiB with one decimal.
fn mebibytes(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_its_status_and_says_what_to_do() {
        let fingerprint = Fingerprint::of_certificate(b"c");
        let cases = [
            (HttpError::CertificateRejected("Revoked".into()), 403, "ask the tools administrators"),
            (HttpError::CrossSite("Origin: x".into()), 403, "appliance's own pages"),
            (HttpError::Csrf(CsrfError::Expired), 403, "reload the page"),
            (HttpError::Internal("disk full".into()), 500, "try again"),
            (HttpError::MethodNotAllowed { allowed: vec![Method::GET] }, 405, "accepts only GET"),
            (HttpError::MissingRole { needed: Role::Exporter, contact: "Kim".into() }, 403, "ask Kim"),
            (HttpError::NotFound, 404, "home page"),
            (HttpError::PayloadTooLarge { limit: 2048 }, 413, "at most 2 KiB"),
            (HttpError::RequestTimeout, 408, "submit again"),
            (HttpError::Unrostered { fingerprint, contact: "Kim".into() }, 403, "Ask Kim"),
            (HttpError::UnsupportedMediaType, 415, "appliance's own page"),
            (HttpError::Upstream("wiki: refused; try again".into()), 502, "try again"),
            (HttpError::NotConfigured("wiki"), 503, "ask the tools team"),
        ];
        for (error, status, advice) in cases {
            let page = error.page();
            assert_eq!(page.status.as_u16(), status, "{error}");
            let text = page.paragraphs.join(" ").to_lowercase();
            assert!(text.contains(&advice.to_lowercase()), "{error}: {text}");
        }
    }

    #[test]
    fn a_conflict_is_titled_with_what_stands_in_the_way() {
        let page = HttpError::Conflict(
            "you prepared this report, so another person with the approver role must decide on it".into(),
        )
        .page();
        assert_eq!(
            page.title,
            "Not done: you prepared this report, so another person with the approver role must decide on it"
        );
        assert!(page.paragraphs[0].starts_with("You prepared this report"), "{:?}", page.paragraphs);
        assert!(page.paragraphs[1].contains("case page shows where each step stands"));
        let page = HttpError::Conflict("this report is not approved; nothing was sent".into()).page();
        assert_eq!(page.title, "Not done: this report is not approved");
        assert_eq!(page.paragraphs[0], "This report is not approved; nothing was sent.");
    }

    #[test]
    fn internal_details_never_reach_the_page() {
        let page = HttpError::Internal("/var/lib/takedown/secret path".into()).page();
        assert!(!page.paragraphs.join(" ").contains("/var/lib"));
    }
}
