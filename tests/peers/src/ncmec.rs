//! A simulated NCMEC CyberTipline reporting API ("ISPWS") under the base path `/ispws` (any
//! host), with HTTP Basic auth on every call:
//!
//! - `GET /ispws/status`: `reportResponse` code 0, `Remote User : NAME, Remote Ip : 127.0.0.1`.
//! - `GET /ispws/xsd`: NCMEC's schema (the repository's fixture copy).
//! - `POST /ispws/submit` (`text/xml`): parses the `<report>` (a DOCTYPE, an undeclared entity or
//!   broken XML is 4110), checks it against the schema's rules that matter (root element, the
//!   order of `<report>`'s children and of the main nested sequences, `incidentSummary` with one
//!   of the eight incident types and an `xs:dateTime`, `internetDetails` holding exactly one
//!   incident element, `reporter/reportingPerson` with an `email` as the documentation demands,
//!   country codes, a default namespace) — 4100 with the problem in `responseDescription` — and
//!   opens a report whose id comes from a counter starting at 4564654.
//! - `POST /ispws/upload` (multipart `id` + file part `file` with a file name): `fileId` (32
//!   lower-case hex, from a counter) and `hash` (MD5 of the bytes received); 4200 without a
//!   usable file part (or with an empty file).
//! - `POST /ispws/fileinfo` (`text/xml`, `<fileDetails>`): 5002 for a file that is not the
//!   report's, 4100 for `potentialMeme` together with `fileAnnotations` or another schema slip.
//! - `POST /ispws/finish` (form `id`, urlencoded or multipart): `reportDoneResponse` listing every
//!   `fileId` (an empty `<files/>` when there are none).
//! - `POST /ispws/retract` (form `id`).
//!
//! Report lifecycle: open → finished or retracted. A change to a report that is finished is 5102,
//! retracted 5101, unknown or expired 5001 (so `retract` after a crash tells "filed" from "gone").
//! An unfinished report expires once both `Options::ncmec_open_for` since it was opened and
//! `Options::ncmec_idle_for` since its last change (upload, fileinfo) have passed.
//!
//! Missing or wrong credentials: 401 with an empty body and `WWW-Authenticate: Basic
//! realm="ispws"`. Application answers are HTTP 200 with the code in the body (the service
//! reports failures inside a 200); a wrong method is 405, a wrong body type 415, an unknown path
//! 404, each with a small HTML page. Answers are `text/xml` with the prolog
//! `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` and no namespace.
//!
//! Not simulated from state (use a fault with `status: Some(200)`, `content_type: text/xml` and
//! the XML as `body` instead): the 200 + code 2000 variant of a refused login, codes 3000/3100
//! (account not authorised), 1111 (upload failed), a `hash` that does not match, a success
//! without `reportId`, a `reportDoneResponse` without `files`, HTML on 200. Not checked: the
//! whole schema (e.g. the US `state` enumeration, the inside of each incident kind) — the tests
//! validate the client's XML with `xmllint --schema` for that.
//!
//! Endpoint names for faults: `status`, `xsd`, `submit`, `upload`, `fileinfo`, `finish`,
//! `retract` (and `unknown` for any other path).

mod schema;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http::Method;
use md5::{Digest, Md5};
use serde_json::{Value, json};

use crate::lock;
use crate::request::{Exchange, Peer, PeerRequest, PeerResponse, hex, upload_summary};

/// The first report id issued.
const FIRST_REPORT_ID: i64 = 4_564_654;

const PROLOG: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;

const SUCCESS: i32 = 0;
const INVALID_REQUEST: i32 = 4000;
const VALIDATION_FAILED: i32 = 4100;
const MALFORMED_XML: i32 = 4110;
const MALFORMED_FILE: i32 = 4200;
const NO_SUCH_REPORT: i32 = 5001;
const NO_SUCH_FILE: i32 = 5002;
const ALREADY_RETRACTED: i32 = 5101;
const ALREADY_FINISHED: i32 = 5102;

pub(crate) struct Ncmec {
    user: (String, String),
    open_for: Duration,
    idle_for: Duration,
    state: Mutex<State>,
}

struct State {
    next_report: i64,
    files_issued: u64,
    reports: BTreeMap<i64, Report>,
    /// Added to the clock (tests move time forward with it).
    clock_offset: Duration,
    /// Every `<report>` and `<fileDetails>` accepted, as received: kept in memory only (the
    /// journal on disk holds no personal data), for tests that validate them with `xmllint`.
    documents: Vec<String>,
}

struct Report {
    state: ReportState,
    opened: Instant,
    changed: Instant,
    incident_type: String,
    files: Vec<StoredFile>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ReportState {
    Open,
    Finished,
    Retracted,
    Expired,
}

impl ReportState {
    fn name(self) -> &'static str {
        match self {
            ReportState::Open => "open",
            ReportState::Finished => "finished",
            ReportState::Retracted => "retracted",
            ReportState::Expired => "expired",
        }
    }
}

struct StoredFile {
    file_id: String,
    bytes: usize,
    md5: String,
    has_fileinfo: bool,
}

/// Why a report cannot be changed: the code, its description, and whether the answer names the
/// report (it does when the report exists).
struct Refusal {
    code: i32,
    description: String,
    report_id: Option<i64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Status,
    Xsd,
    Submit,
    Upload,
    FileInfo,
    Finish,
    Retract,
}

impl Route {
    fn of(path: &str) -> Option<Route> {
        Some(match path.strip_prefix("/ispws")? {
            "/status" => Route::Status,
            "/xsd" => Route::Xsd,
            "/submit" => Route::Submit,
            "/upload" => Route::Upload,
            "/fileinfo" => Route::FileInfo,
            "/finish" => Route::Finish,
            "/retract" => Route::Retract,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Route::Status => "status",
            Route::Xsd => "xsd",
            Route::Submit => "submit",
            Route::Upload => "upload",
            Route::FileInfo => "fileinfo",
            Route::Finish => "finish",
            Route::Retract => "retract",
        }
    }

    fn method(self) -> Method {
        match self {
            Route::Status | Route::Xsd => Method::GET,
            _ => Method::POST,
        }
    }
}

impl Ncmec {
    pub(crate) fn new(options: &crate::Options) -> Self {
        Self {
            user: options.credentials.ncmec_user.clone(),
            open_for: options.ncmec_open_for,
            idle_for: options.ncmec_idle_for,
            state: Mutex::new(State {
                next_report: FIRST_REPORT_ID,
                files_issued: 0,
                reports: BTreeMap::new(),
                clock_offset: Duration::ZERO,
                documents: Vec::new(),
            }),
        }
    }
}

impl Peer for Ncmec {
    fn endpoint(&self, request: &PeerRequest) -> String {
        Route::of(&request.path).map_or("unknown", Route::name).into()
    }

    fn handle(&self, request: &PeerRequest) -> Exchange {
        let (response, received) = self.answer(request);
        Exchange { response, received }
    }

    fn snapshot(&self) -> Value {
        let mut state = lock(&self.state);
        let now = now(&state);
        let reports: Vec<Value> = state
            .reports
            .iter_mut()
            .map(|(id, report)| {
                self.expire(report, now);
                let files: Vec<Value> = report
                    .files
                    .iter()
                    .map(|f| {
                        json!({"file_id": f.file_id, "bytes": f.bytes, "md5": f.md5, "has_fileinfo": f.has_fileinfo})
                    })
                    .collect();
                json!({
                    "id": id,
                    "state": report.state.name(),
                    "files": files,
                    "incident_type": report.incident_type,
                })
            })
            .collect();
        json!({ "reports": reports, "documents": state.documents })
    }
}

impl Ncmec {
    fn answer(&self, request: &PeerRequest) -> (PeerResponse, Value) {
        let Some(route) = Route::of(&request.path) else {
            return (html(404, "Not Found"), json!({"refused": "unknown path"}));
        };
        if let Err(reason) = self.authenticate(request) {
            let response = PeerResponse { status: 401, headers: Vec::new(), body: Bytes::new() }
                .with_header("www-authenticate", "Basic realm=\"ispws\"");
            return (response, json!({"refused": reason}));
        }
        if request.method != route.method() {
            let response = html(405, "Method Not Allowed").with_header("allow", route.method().as_str());
            return (response, json!({"refused": format!("method {}", request.method)}));
        }
        match route {
            Route::Status => {
                let description = format!("Remote User : {}, Remote Ip : 127.0.0.1", self.user.0);
                (report_response(SUCCESS, &description, None, None), json!({"response_code": SUCCESS}))
            }
            Route::Xsd => (PeerResponse::typed(200, "text/xml", schema::XSD), json!({})),
            Route::Submit => self.submit(request),
            Route::Upload => self.upload(request),
            Route::FileInfo => self.file_info(request),
            Route::Finish => self.finish(request),
            Route::Retract => self.retract(request),
        }
    }

    /// Checks the Basic credentials; the error says why they fail (never what they were).
    fn authenticate(&self, request: &PeerRequest) -> Result<(), &'static str> {
        let header = request.header("authorization").ok_or("no credentials")?;
        let (scheme, encoded) = header.trim().split_once(' ').ok_or("malformed Authorization header")?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err("not Basic credentials");
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| "malformed Basic credentials")?;
        let decoded = String::from_utf8(decoded).map_err(|_| "malformed Basic credentials")?;
        let (user, password) = decoded.split_once(':').ok_or("malformed Basic credentials")?;
        if user == self.user.0 && password == self.user.1 { Ok(()) } else { Err("wrong credentials") }
    }

    fn submit(&self, request: &PeerRequest) -> (PeerResponse, Value) {
        if !is_xml(request) {
            return unsupported(request);
        }
        let root = match schema::parse(&request.body) {
            Ok(root) => root,
            Err(schema::Malformed(problem)) => {
                return refuse(MALFORMED_XML, &format!("Malformed XML: {problem}"));
            }
        };
        let summary = match schema::check_report(&root) {
            Ok(summary) => summary,
            Err(problem) => return refuse(VALIDATION_FAILED, &format!("Validation failed: {problem}")),
        };
        let mut state = lock(&self.state);
        let now = now(&state);
        let id = state.next_report;
        state.next_report += 1;
        let report = Report {
            state: ReportState::Open,
            opened: now,
            changed: now,
            incident_type: summary.incident_type.clone(),
            files: Vec::new(),
        };
        state.reports.insert(id, report);
        let received = json!({
            "response_code": SUCCESS,
            "incident_type": summary.incident_type,
            "internet_details": summary.internet_details,
            "persons_or_users_reported": summary.persons_or_users_reported,
            "report_id": id,
        });
        state.documents.push(String::from_utf8_lossy(&request.body).into_owned());
        (report_response(SUCCESS, "Success", Some(id), None), received)
    }

    fn upload(&self, request: &PeerRequest) -> (PeerResponse, Value) {
        if request.media_type() != "multipart/form-data" {
            return unsupported(request);
        }
        let Some(parts) = &request.form else {
            return refuse(MALFORMED_FILE, "Malformed file submittal: the multipart body could not be read");
        };
        let id = parts
            .iter()
            .find(|p| p.name == "id" && p.file_name.is_none())
            .map(|p| String::from_utf8_lossy(&p.data));
        let id = match report_id(id.as_deref()) {
            Ok(id) => id,
            Err(problem) => return refuse(INVALID_REQUEST, &problem),
        };
        let file = parts.iter().find(|p| p.name == "file" && p.file_name.is_some());
        let mut received = json!({
            "report_id": id,
            "file_name": file.and_then(|f| f.file_name.as_deref()),
            "file": file.map(|f| upload_summary(&f.data)),
        });
        let mut guard = lock(&self.state);
        let now = now(&guard);
        let state = &mut *guard;
        let report = match self.open_report(&mut state.reports, id, now) {
            Ok(report) => report,
            Err(refusal) => return refused(refusal, received),
        };
        let Some(file) = file.filter(|f| !f.data.is_empty()) else {
            let problem = match file {
                Some(_) => "Malformed file submittal: the file is empty",
                None => "Malformed file submittal: no file part named \"file\" with a file name",
            };
            received["response_code"] = json!(MALFORMED_FILE);
            received["problem"] = json!(problem);
            return (report_response(MALFORMED_FILE, problem, Some(id), None), received);
        };
        let file_id = hex(&Md5::digest(format!("simulated ncmec file {}", state.files_issued)));
        state.files_issued += 1;
        let hash = hex(&Md5::digest(&file.data));
        report.files.push(StoredFile {
            file_id: file_id.clone(),
            bytes: file.data.len(),
            md5: hash.clone(),
            has_fileinfo: false,
        });
        report.changed = now;
        received["response_code"] = json!(SUCCESS);
        received["file_id"] = json!(file_id);
        (report_response(SUCCESS, "Success", Some(id), Some((&file_id, &hash))), received)
    }

    fn file_info(&self, request: &PeerRequest) -> (PeerResponse, Value) {
        if !is_xml(request) {
            return unsupported(request);
        }
        let root = match schema::parse(&request.body) {
            Ok(root) => root,
            Err(schema::Malformed(problem)) => {
                return refuse(MALFORMED_XML, &format!("Malformed XML: {problem}"));
            }
        };
        let details = match schema::check_file_details(&root) {
            Ok(details) => details,
            Err(problem) => return refuse(VALIDATION_FAILED, &format!("Validation failed: {problem}")),
        };
        let mut received = json!({
            "report_id": details.report_id,
            "file_id": details.file_id,
            "elements": details.present,
        });
        let mut state = lock(&self.state);
        state.documents.push(String::from_utf8_lossy(&request.body).into_owned());
        let now = now(&state);
        let report = match self.open_report(&mut state.reports, details.report_id, now) {
            Ok(report) => report,
            Err(refusal) => return refused(refusal, received),
        };
        let Some(file) = report.files.iter_mut().find(|f| f.file_id == details.file_id) else {
            let refusal = Refusal {
                code: NO_SUCH_FILE,
                description: format!(
                    "File {} does not exist in report {}",
                    details.file_id, details.report_id
                ),
                report_id: Some(details.report_id),
            };
            return refused(refusal, received);
        };
        file.has_fileinfo = true;
        report.changed = now;
        received["response_code"] = json!(SUCCESS);
        (report_response(SUCCESS, "Success", Some(details.report_id), None), received)
    }

    fn finish(&self, request: &PeerRequest) -> (PeerResponse, Value) {
        let id = match form_id(request) {
            Ok(id) => id,
            Err(problem) => return refuse(INVALID_REQUEST, &problem),
        };
        let received = json!({"report_id": id});
        let mut state = lock(&self.state);
        let now = now(&state);
        let report = match self.open_report(&mut state.reports, id, now) {
            Ok(report) => report,
            Err(refusal) => return refused(refusal, received),
        };
        report.state = ReportState::Finished;
        let files: Vec<&str> = report.files.iter().map(|f| f.file_id.as_str()).collect();
        let mut body = format!(
            "{PROLOG}<reportDoneResponse><responseCode>{SUCCESS}</responseCode><reportId>{id}</reportId>"
        );
        if files.is_empty() {
            body.push_str("<files/>");
        } else {
            body.push_str("<files>");
            for file in &files {
                body.push_str(&format!("<fileId>{}</fileId>", escape(file)));
            }
            body.push_str("</files>");
        }
        body.push_str("</reportDoneResponse>");
        let received =
            json!({"report_id": id, "response_code": SUCCESS, "outcome": "finished", "files": files.len()});
        (PeerResponse::typed(200, "text/xml", body), received)
    }

    fn retract(&self, request: &PeerRequest) -> (PeerResponse, Value) {
        let id = match form_id(request) {
            Ok(id) => id,
            Err(problem) => return refuse(INVALID_REQUEST, &problem),
        };
        let received = json!({"report_id": id});
        let mut state = lock(&self.state);
        let now = now(&state);
        let report = match self.open_report(&mut state.reports, id, now) {
            Ok(report) => report,
            Err(refusal) => return refused(refusal, received),
        };
        report.state = ReportState::Retracted;
        let received = json!({"report_id": id, "response_code": SUCCESS, "outcome": "retracted"});
        (report_response(SUCCESS, "Success", Some(id), None), received)
    }

    /// The open report `id`, or why it cannot be changed.
    fn open_report<'a>(
        &self,
        reports: &'a mut BTreeMap<i64, Report>,
        id: i64,
        now: Instant,
    ) -> Result<&'a mut Report, Refusal> {
        let gone = || Refusal {
            code: NO_SUCH_REPORT,
            description: format!("Report {id} does not exist"),
            report_id: None,
        };
        let report = reports.get_mut(&id).ok_or_else(gone)?;
        self.expire(report, now);
        match report.state {
            ReportState::Open => Ok(report),
            ReportState::Expired => Err(gone()),
            ReportState::Finished => Err(Refusal {
                code: ALREADY_FINISHED,
                description: format!("Report {id} has already been finished"),
                report_id: Some(id),
            }),
            ReportState::Retracted => Err(Refusal {
                code: ALREADY_RETRACTED,
                description: format!("Report {id} has already been retracted"),
                report_id: Some(id),
            }),
        }
    }

    /// An open report expires once both spans have passed: `open_for` since it was opened and
    /// `idle_for` since its last change.
    fn expire(&self, report: &mut Report, now: Instant) {
        let passed = |since: Instant, span: Duration| since.checked_add(span).is_some_and(|end| now >= end);
        if report.state == ReportState::Open
            && passed(report.opened, self.open_for)
            && passed(report.changed, self.idle_for)
        {
            report.state = ReportState::Expired;
        }
    }

    /// Moves the peer's clock forward.
    #[cfg(test)]
    fn advance(&self, by: Duration) {
        lock(&self.state).clock_offset += by;
    }
}

fn now(state: &State) -> Instant {
    let real = Instant::now();
    real.checked_add(state.clock_offset).unwrap_or(real)
}

/// The report id of a form (`id`), urlencoded or multipart.
fn form_id(request: &PeerRequest) -> Result<i64, String> {
    let pairs = request.form_pairs();
    report_id(pairs.iter().find(|(k, _)| k == "id").map(|(_, v)| v.as_str()))
}

fn report_id(value: Option<&str>) -> Result<i64, String> {
    let value = value.ok_or("Invalid request: no report id (form field \"id\")")?;
    value
        .trim()
        .parse()
        .map_err(|_| format!("Invalid request: report id \"{}\" is not a number", value.trim()))
}

fn is_xml(request: &PeerRequest) -> bool {
    matches!(request.media_type().as_str(), "text/xml" | "application/xml")
}

fn unsupported(request: &PeerRequest) -> (PeerResponse, Value) {
    let media = request.media_type();
    (html(415, "Unsupported Media Type"), json!({"refused": "content type", "content_type": media}))
}

/// An error answer that names no report.
fn refuse(code: i32, description: &str) -> (PeerResponse, Value) {
    (report_response(code, description, None, None), json!({"response_code": code, "problem": description}))
}

fn refused(refusal: Refusal, mut received: Value) -> (PeerResponse, Value) {
    received["response_code"] = json!(refusal.code);
    received["problem"] = json!(refusal.description);
    (report_response(refusal.code, &refusal.description, refusal.report_id, None), received)
}

/// A `reportResponse`, children in the schema's order.
fn report_response(
    code: i32,
    description: &str,
    report_id: Option<i64>,
    file: Option<(&str, &str)>,
) -> PeerResponse {
    let mut body = format!(
        "{PROLOG}<reportResponse><responseCode>{code}</responseCode><responseDescription>{}</responseDescription>",
        escape(description)
    );
    if let Some(id) = report_id {
        body.push_str(&format!("<reportId>{id}</reportId>"));
    }
    if let Some((file_id, hash)) = file {
        body.push_str(&format!("<fileId>{}</fileId><hash>{}</hash>", escape(file_id), escape(hash)));
    }
    body.push_str("</reportResponse>");
    PeerResponse::typed(200, "text/xml", body)
}

/// The servlet container's error page.
fn html(status: u16, reason: &str) -> PeerResponse {
    let body = format!(
        "<html><head><title>Error {status} {reason}</title></head><body><h2>HTTP ERROR {status}</h2><p>{reason}</p></body></html>"
    );
    PeerResponse::typed(status, "text/html;charset=utf-8", body)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}
